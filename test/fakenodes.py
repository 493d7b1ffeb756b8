#!/usr/bin/python3
"""Fake WAX (Antelope/EOSIO) nodes for waxlb's tests and demo.

* API node: a nodeos-like HTTP/1.1 server (keep-alive, Content-Length and chunked request bodies,
  Expect: 100-continue). Every response carries `X-Node: NAME`.
    GET  /v1/chain/get_info    realistic get_info JSON (head advancing at 2 blocks/s with wall time)
    ANY  /slow?ms=N            the echo answer, after N ms
    ANY  /garbage              answers bytes that are not HTTP, then closes
    ANY  /drop                 closes without answering
    ANY  /status?code=N        an answer with that status (204/304 and 1xx-free: no body)
    GET  /chunked?n=N&size=S   a chunked response of N chunks of S bytes (deterministic content)
    GET  /noclen?size=S        a close-delimited response (no Content-Length, no chunking)
    GET  /big?size=S           a Content-Length response of S bytes (deterministic content)
    anything else              200 JSON echo {"node","method","path","version","body_len","body_sha256",
                               "xff","headers"}
  HEAD gives the headers without a body; `Connection: close` (or HTTP/1.0 without keep-alive) closes.
* SHIP node: a State-History websocket server (RFC 6455 by hand). On upgrade it sends the ABI (~30 KB JSON)
  as a TEXT message split in 3 frames, then answers:
    0x00                       get_status_request_v0 -> binary get_status_result_v0 (121 bytes)
    0xF0 N(u64 le) SEED(u64 le) streams N pseudo-random bytes as 256 KiB binary messages, then a text
                               message with the hex sha256 of everything sent
    0xF1 payload...            text JSON {"sha256": hex of the whole message, "len": its length}
    0xF2                       text message with the node's NAME
  ping -> pong, close -> close. Anything else closes the connection (as a real node does).

CLI: fakenodes.py api:NAME:PORT ship:NAME:PORT ...   prints "ready" once every node listens.
Module: `Nodes` runs nodes in a background asyncio thread; stop()/restart() one node on the same port.
"""
import asyncio
import base64
import hashlib
import json
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse

WAX_CHAIN_ID = "1064487b3cd1a897ce03ae5b6a865651747e2e152090f99c1d19d44e01aea5a4"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
EPOCH = 1561334400.0  # block 0 of the fake chain; WAX makes a block every 0.5 s
PRODUCERS = ["eosriobrazil", "eosphereiobp", "bountyblokbp", "cryptolions1", "guild.nefty",
             "waxswedenorg", "blokcrafters", "eosdublinwow", "amsterdamwax", "3dkrenderwax"]
CHUNK = 256 * 1024
MAX_HEAD = 64 * 1024


# ---------------------------------------------------------------- chain state
def head_block_num(now=None):
    return int(((now if now is not None else time.time()) - EPOCH) * 2)


def block_id(num):
    return num.to_bytes(4, "big") + hashlib.sha256(b"wax-block-%d" % num).digest()[4:]


def block_time(num):
    t = EPOCH + num / 2.0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + (".500" if num % 2 else ".000")


def get_info(name):
    head = head_block_num()
    lib = head - 330
    return {
        "server_version": "8fd8f21f",
        "chain_id": WAX_CHAIN_ID,
        "head_block_num": head,
        "last_irreversible_block_num": lib,
        "last_irreversible_block_id": block_id(lib).hex(),
        "head_block_id": block_id(head).hex(),
        "head_block_time": block_time(head),
        "head_block_producer": PRODUCERS[(head // 12) % len(PRODUCERS)],
        "virtual_block_cpu_limit": 200000000,
        "virtual_block_net_limit": 1048576000,
        "block_cpu_limit": 200000,
        "block_net_limit": 1048576,
        "server_version_string": "v5.0.3wax01",
        "fork_db_head_block_num": head,
        "fork_db_head_block_id": block_id(head).hex(),
        "server_full_version_string": "v5.0.3wax01-8fd8f21f8b0b8a3a8a5e5e4d6f2c3b1a0e9d8c7b",
        "total_cpu_weight": "38170927634532512",
        "total_net_weight": "9470911346640170",
        "earliest_available_block_num": 1,
        "last_irreversible_block_time": block_time(lib),
    }


def status_result(head=None):
    """get_status_result_v0, 121 bytes (with chain_id)."""
    head = head_block_num() if head is None else head
    lib = head - 330
    out = (b"\x00" + struct.pack("<I", head) + block_id(head) + struct.pack("<I", lib) + block_id(lib)
           + struct.pack("<IIII", 1, head + 1, 1, head + 1) + bytes.fromhex(WAX_CHAIN_ID))
    assert len(out) == 121
    return out


def decode_status(msg):
    """Decode a get_status_result_v0 (89 or 121+ bytes) into a dict."""
    if len(msg) < 89 or msg[0] != 0:
        raise ValueError("not a get_status_result_v0 (%d bytes)" % len(msg))
    head, = struct.unpack_from("<I", msg, 1)
    lib, = struct.unpack_from("<I", msg, 37)
    tb, te, cb, ce = struct.unpack_from("<IIII", msg, 73)
    d = {"head": head, "head_id": msg[5:37].hex(), "lib": lib, "lib_id": msg[41:73].hex(),
         "trace_begin": tb, "trace_end": te, "chain_state_begin": cb, "chain_state_end": ce}
    if len(msg) >= 121:
        d["chain_id"] = msg[89:121].hex()
    return d


def make_abi():
    """A deterministic ABI-like JSON document of about 30 KB, shaped like the state-history ABI."""
    rng = random.Random(4242)
    tables = ["account", "account_metadata", "code", "contract_table", "contract_row", "contract_index64",
              "contract_index128", "contract_index256", "contract_index_double", "key_value", "global_property",
              "generated_transaction", "protocol_state", "permission", "permission_link", "resource_limits",
              "resource_usage", "resource_limits_state", "resource_limits_config"]
    structs = [{"name": "get_status_request_v0", "fields": []},
               {"name": "block_position", "fields": [{"name": "block_num", "type": "uint32"},
                                                     {"name": "block_id", "type": "checksum256"}]},
               {"name": "get_status_result_v0", "fields": [
                   {"name": "head", "type": "block_position"},
                   {"name": "last_irreversible", "type": "block_position"},
                   {"name": "trace_begin_block", "type": "uint32"},
                   {"name": "trace_end_block", "type": "uint32"},
                   {"name": "chain_state_begin_block", "type": "uint32"},
                   {"name": "chain_state_end_block", "type": "uint32"},
                   {"name": "chain_id", "type": "checksum256$"}]}]
    types = ["uint8", "uint16", "uint32", "uint64", "int64", "bool", "name", "checksum256", "bytes", "string",
             "time_point", "block_timestamp_type", "public_key", "signature", "varuint32", "asset"]
    i = 0
    while len(json.dumps({"structs": structs})) < 30500:
        base = tables[i % len(tables)]
        structs.append({"name": "%s_v%d" % (base, i // len(tables)), "fields": [
            {"name": "f%d_%s" % (j, rng.choice(["owner", "scope", "payer", "value", "primary_key", "code",
                                                 "table", "limit", "weight", "permission"])),
             "type": rng.choice(types) + rng.choice(["", "", "?", "[]"])} for j in range(rng.randint(2, 8))]})
        i += 1
    abi = {"version": "eosio::abi/1.1", "types": [], "structs": structs, "actions": [],
           "tables": [{"name": t, "type": t, "key_names": [], "key_types": []} for t in tables],
           "ricardian_clauses": [], "error_messages": [], "abi_extensions": [],
           "variants": [{"name": "request", "types": ["get_status_request_v0", "get_blocks_request_v0",
                                                      "get_blocks_ack_request_v0"]},
                        {"name": "result", "types": ["get_status_result_v0", "get_blocks_result_v0"]}]}
    return json.dumps(abi, separators=(",", ":"))


ABI = make_abi()


def stream_blob(n, seed):
    """The exact bytes an 0xF0 command streams (for the tests' own checks): generator of chunks."""
    rng = random.Random(seed)
    left = n
    while left > 0:
        k = min(CHUNK, left)
        yield rng.randbytes(k)
        left -= k


# ---------------------------------------------------------------- websocket framing
def ws_frame(payload, opcode=2, fin=True, mask=None):
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        hdr = bytes([b0, mbit | n])
    elif n < 65536:
        hdr = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        hdr = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if mask is not None:
        return hdr + mask + xor_mask(payload, mask)
    return hdr + payload


def xor_mask(data, mask):
    n = len(data)
    if n == 0:
        return b""
    m = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(m, "little")).to_bytes(n, "little")


async def ws_read_frame(reader):
    """-> (fin, opcode, payload) ; raises IncompleteReadError on EOF."""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await reader.readexactly(8), "big")
    mask = await reader.readexactly(4) if b1 & 0x80 else None
    payload = await reader.readexactly(n) if n else b""
    if mask:
        payload = xor_mask(payload, mask)
    return bool(b0 & 0x80), b0 & 0x0F, payload


# ---------------------------------------------------------------- HTTP helpers
class BadRequest(Exception):
    pass


async def read_head(reader, buf):
    """Read up to the end of a request head. buf: bytearray of already-read bytes. -> head bytes or None."""
    while True:
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            head = bytes(buf[:i])
            del buf[:i + 4]
            return head
        if len(buf) > MAX_HEAD:
            raise BadRequest("head too large")
        d = await reader.read(65536)
        if not d:
            return None
        buf += d


async def read_exact(reader, buf, n):
    while len(buf) < n:
        d = await reader.read(max(65536, n - len(buf)))
        if not d:
            raise BadRequest("eof in body")
        buf += d
    out = bytes(buf[:n])
    del buf[:n]
    return out


async def read_line(reader, buf):
    for _ in range(1000):
        i = buf.find(b"\r\n")
        if i >= 0:
            line = bytes(buf[:i])
            del buf[:i + 2]
            return line
        if len(buf) > MAX_HEAD:
            break
        d = await reader.read(65536)
        if not d:
            break
        buf += d
    raise BadRequest("bad chunk line")


async def read_chunked(reader, buf):
    body = bytearray()
    for _ in range(10 ** 7):
        line = await read_line(reader, buf)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            for _ in range(1000):  # trailers
                if await read_line(reader, buf) == b"":
                    return bytes(body)
            raise BadRequest("too many trailers")
        body += await read_exact(reader, buf, size)
        if await read_exact(reader, buf, 2) != b"\r\n":
            raise BadRequest("bad chunk end")
    raise BadRequest("too many chunks")


def parse_head(head):
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise BadRequest("bad request line")
    method, target, version = (p.decode("latin1") for p in parts)
    hdrs = []
    for l in lines[1:]:
        if b":" not in l:
            raise BadRequest("bad header")
        k, v = l.split(b":", 1)
        hdrs.append((k.decode("latin1").strip(), v.decode("latin1").strip()))
    return method, target, version, hdrs


def hget(hdrs, name):
    vals = [v for k, v in hdrs if k.lower() == name]
    return ",".join(vals) if vals else None


def tokens(v):
    return [t.strip().lower() for t in (v or "").split(",") if t.strip()]


REASONS = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
           404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}


# ---------------------------------------------------------------- nodes
class Node:
    """One listening fake node. kind: 'api' or 'ship'."""

    def __init__(self, kind, name, port, host="127.0.0.1"):
        assert kind in ("api", "ship")
        self.kind, self.name, self.port, self.host = kind, name, port, host
        self.server = None
        self.writers = set()
        self.requests = 0        # HTTP requests answered (api) / upgrades accepted (ship)
        self.connections = 0     # TCP connections accepted in total
        self.ws_active = 0       # currently open websocket sessions (ship)
        self.log = []            # (method, path) of each API request

    async def start(self):
        h = self.handle_api if self.kind == "api" else self.handle_ship
        self.server = await asyncio.start_server(self._wrap(h), self.host, self.port, reuse_address=True,
                                                 backlog=1024)
        if self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self):
        """Stop listening and abort every open connection (like a crashed node)."""
        if self.server:
            self.server.close()
            for w in list(self.writers):
                w.transport.abort()
            await self.server.wait_closed()
            self.server = None

    def _wrap(self, h):
        async def run(reader, writer):
            self.writers.add(writer)
            self.connections += 1
            try:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                await h(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, BadRequest, asyncio.CancelledError, ValueError):
                pass
            finally:
                self.writers.discard(writer)
                try:
                    writer.close()
                except Exception:
                    pass
        return run

    # ------------------------------------------------------------ API
    async def handle_api(self, reader, writer):
        buf = bytearray()
        for _ in range(10 ** 6):
            try:
                head = await read_head(reader, buf)
                if head is None:
                    return
                method, target, version, hdrs = parse_head(head)
            except BadRequest:
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            te = tokens(hget(hdrs, "transfer-encoding"))
            cl = hget(hdrs, "content-length")
            if "100-continue" in tokens(hget(hdrs, "expect")) and version == "HTTP/1.1":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
            if te and te[-1] == "chunked":
                body = await read_chunked(reader, buf)
            elif cl is not None:
                body = await read_exact(reader, buf, int(cl.split(",")[0]))
            else:
                body = b""
            conn = tokens(hget(hdrs, "connection"))
            close = "close" in conn or (version == "HTTP/1.0" and "keep-alive" not in conn)
            self.requests += 1
            url = urllib.parse.urlsplit(target)
            q = dict(urllib.parse.parse_qsl(url.query))
            self.log.append((method, url.path))
            status, extra, rbody, mode = 200, [], None, "length"
            if url.path == "/garbage":      # not HTTP at all: a proxy answers 502
                writer.write(b"this is not HTTP\r\n\r\n")
                await writer.drain()
                return
            if url.path == "/drop":         # close without answering: a proxy answers 502
                return
            if url.path == "/v1/chain/get_info":
                rbody = json.dumps(get_info(self.name)).encode()
            elif url.path == "/status":
                status = int(q.get("code", "200"))
                rbody = b"" if status in (204, 304) else json.dumps({"node": self.name, "status": status}).encode()
            elif url.path == "/chunked":
                mode = "chunked"
                n, size = int(q.get("n", "5")), int(q.get("size", "1000"))
                rbody = b"".join(b"".join(stream_blob(size, i)) for i in range(n))
                chunks = [rbody[i * size:(i + 1) * size] for i in range(n)]
            elif url.path == "/noclen":
                mode = "close"
                rbody = b"".join(stream_blob(int(q.get("size", "100000")), 7))
            elif url.path == "/big":
                rbody = b"".join(stream_blob(int(q.get("size", "1000000")), 9))
            else:
                if url.path == "/slow":
                    await asyncio.sleep(int(q.get("ms", "500")) / 1000.0)
                rbody = json.dumps({
                    "node": self.name, "method": method, "path": target, "version": version,
                    "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                    "xff": hget(hdrs, "x-forwarded-for"), "headers": hdrs}).encode()
            if mode == "close":
                close = True
            h = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Other")), "Server: fakenodeos",
                 "X-Node: " + self.name]
            if status not in (204, 304):
                h.append("Content-Type: " + ("application/json" if mode == "length" else "application/octet-stream"))
            if mode == "length" and status not in (204, 304):
                h.append("Content-Length: %d" % len(rbody))
            elif mode == "chunked":
                h.append("Transfer-Encoding: chunked")
            h += extra
            if close:
                h.append("Connection: close")
            elif version == "HTTP/1.0":
                h.append("Connection: keep-alive")
            writer.write(("\r\n".join(h) + "\r\n\r\n").encode("latin1"))
            if method != "HEAD" and status not in (204, 304):
                if mode == "chunked":
                    for c in chunks:
                        writer.write(b"%x\r\n" % len(c) + c + b"\r\n")
                    writer.write(b"0\r\n\r\n")
                else:
                    writer.write(rbody)
            await writer.drain()
            if close:
                return

    # ------------------------------------------------------------ SHIP
    async def handle_ship(self, reader, writer):
        buf = bytearray()
        try:
            head = await read_head(reader, buf)
            if head is None:
                return
            method, target, version, hdrs = parse_head(head)
        except BadRequest:
            head = None
        ok = (head is not None and method == "GET" and version == "HTTP/1.1" and hget(hdrs, "host")
              and "upgrade" in tokens(hget(hdrs, "connection")) and "websocket" in tokens(hget(hdrs, "upgrade"))
              and hget(hdrs, "sec-websocket-key") and hget(hdrs, "sec-websocket-version") == "13")
        if not ok:
            body = b"WebSocket upgrade required"
            writer.write(b"HTTP/1.1 400 Bad Request\r\nX-Node: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                         % (self.name.encode(), len(body)) + body)
            await writer.drain()
            return
        key = hget(hdrs, "sec-websocket-key").encode()
        acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + acc + b"\r\nX-Node: " + self.name.encode() + b"\r\n\r\n")
        self.requests += 1
        self.ws_active += 1
        try:
            # the ABI, as text, in 3 fragments
            abi = ABI.encode()
            a, b = len(abi) // 3, 2 * len(abi) // 3
            writer.write(ws_frame(abi[:a], 1, fin=False) + ws_frame(abi[a:b], 0, fin=False)
                         + ws_frame(abi[b:], 0, fin=True))
            await writer.drain()
            # the client may have sent frames together with the upgrade
            if buf:
                pre = asyncio.StreamReader()
                pre.feed_data(bytes(buf))
                reader = _ChainReader(pre, reader)
            await self._ship_loop(reader, writer)
        finally:
            self.ws_active -= 1

    async def _ship_loop(self, reader, writer):
        msg, mop = bytearray(), None
        for _ in range(10 ** 9):
            fin, op, payload = await ws_read_frame(reader)
            if op == 8:
                writer.write(ws_frame(payload[:2], 8))
                await writer.drain()
                return
            if op == 9:
                writer.write(ws_frame(payload, 0xA))
                await writer.drain()
                continue
            if op == 0xA:
                continue
            if op in (1, 2):
                msg, mop = bytearray(payload), op
            elif op == 0 and mop is not None:
                msg += payload
            else:
                return
            if not fin:
                continue
            m, mop = bytes(msg), None
            msg = bytearray()
            if m == b"\x00":
                writer.write(ws_frame(status_result(), 2))
            elif m[:1] == b"\xf0" and len(m) >= 17:
                n, seed = struct.unpack_from("<QQ", m, 1)
                h = hashlib.sha256()
                for c in stream_blob(n, seed):
                    h.update(c)
                    writer.write(ws_frame(c, 2))
                    await writer.drain()
                writer.write(ws_frame(h.hexdigest().encode(), 1))
            elif m[:1] == b"\xf1":
                writer.write(ws_frame(json.dumps({"sha256": hashlib.sha256(m).hexdigest(), "len": len(m)}).encode(), 1))
            elif m[:1] == b"\xf2":
                writer.write(ws_frame(self.name.encode(), 1))
            else:
                return  # unknown request: a real node closes the connection
            await writer.drain()


class _ChainReader:
    """Read first from a pre-filled StreamReader, then from the socket's."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    async def readexactly(self, n):
        out = b""
        if self.first is not None:
            avail = len(self.first._buffer)
            if avail:
                out = await self.first.readexactly(min(n, avail))
            if len(self.first._buffer) == 0:
                self.first = None
        if len(out) < n:
            out += await self.second.readexactly(n - len(out))
        return out


class Nodes:
    """Fake nodes in a background thread with its own asyncio loop.

        with Nodes() as nodes:
            a1 = nodes.api("api1")            # -> port (a free one unless port= is given)
            s1 = nodes.ship("shp1")
            nodes.stop("api1"); nodes.restart("api1")   # same port
    """

    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.nodes = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="fakenodes")
        self.thread.start()

    def _run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def add(self, kind, name, port=0):
        n = Node(kind, name, port, self.host)
        self._run(n.start())
        self.nodes[name] = n
        return n.port

    def api(self, name, port=0):
        return self.add("api", name, port)

    def ship(self, name, port=0):
        return self.add("ship", name, port)

    def __getitem__(self, name):
        return self.nodes[name]

    def port(self, name):
        return self.nodes[name].port

    def stop(self, name):
        """Kill one node: stop listening (connections refused) and abort its open connections."""
        self._run(self.nodes[name].stop())

    def restart(self, name):
        n = self.nodes[name]
        for _ in range(50):  # the port may linger for a moment after close
            try:
                self._run(n.start())
                return n.port
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("cannot restart %s on port %d" % (name, n.port))

    def ws_active(self):
        return {k: n.ws_active for k, n in self.nodes.items() if n.kind == "ship"}

    def close(self):
        for n in list(self.nodes.values()):
            try:
                self._run(n.stop())
            except Exception:
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


async def _main(specs):
    nodes = []
    for spec in specs:
        kind, name, port = spec.split(":")
        n = Node(kind, name, int(port))
        await n.start()
        nodes.append(n)
        print("%s %s listening on 127.0.0.1:%d" % (kind, name, n.port), file=sys.stderr)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if len(sys.argv) < 2 or any(a.count(":") != 2 or a.split(":")[0] not in ("api", "ship") for a in sys.argv[1:]):
        print("usage: fakenodes.py api:NAME:PORT|ship:NAME:PORT ...", file=sys.stderr)
        sys.exit(2)
    try:
        asyncio.run(_main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
