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
    GET  /trunc?size=S&send=K  announces Content-Length S, sends K bytes of it, then closes
    anything else              200 JSON echo {"node","method","path","version","body_len","body_sha256",
                               "xff","headers","peer","conn_req"}: peer is the port the request came from
                               (which proxy-side connection), conn_req its rank on that connection (1, 2...)
  HEAD gives the headers without a body; `Connection: close` (or HTTP/1.0 without keep-alive) closes.
    GET  /health               the echo answer, or the `health_status`/`health_body` controls when set
* SHIP node: a State-History websocket server (RFC 6455 by hand). On upgrade it sends the ABI (~30 KB JSON)
  as a TEXT message split in 3 frames, then answers:
    0x00                       get_status_request_v0 -> binary get_status_result_v0 (121 bytes)
    0xF0 N(u64 le) SEED(u64 le) streams N pseudo-random bytes as 256 KiB binary messages, then a text
                               message with the hex sha256 of everything sent
    0xF1 payload...            text JSON {"sha256": hex of the whole message, "len": its length}
    0xF2                       text message with the node's NAME
    0x01 get_blocks_request_v0 -> get_blocks_result_v0 (150 bytes each, this_block/prev_block only), one at
                               once, then one per new block while max_messages_in_flight credit lasts
    0x02 get_blocks_ack_request_v0 (u32) -> adds credit
  ping -> pong, close -> close. Anything else closes the connection (as a real node does).

Test controls (per node; `Nodes.set(name, **kw)` or `Node.set(**kw)`, thread-safe; see Node.CONTROLS):
  both kinds  head (None: follows the wall clock; N: N now, advancing from there), frozen (head and its time
              stop), lag_s / lag_blocks (head behind the wall-clock head), chain_id, hang (accept, never answer)
  api         status (get_info HTTP status), garbage (get_info is malformed: see garbage_info), numbers_as_strings,
              drop_fields (get_info field names to leave out),
              health_status / health_body (GET /health),
              fail (every request, once its body is read: an HTTP status N to answer instead, "drop" to close
              without answering, "junk" to answer bytes that are not HTTP and close, "hang" to never answer),
              fail_count (None: fail every request; N: only the next N, then answer normally again)
  ship        trace_end / chain_state_end (None: head+1; int: that block, 0 = log disabled; "head+3" or
              "head-20": relative to head), leap404 (both ends = head+3), eosio20 (89-byte status),
              no_blocks (get_blocks requests get nothing; "empty": one result without this_block),
              garbage_status (bytes, or True: a short garbage binary reply to get_status),
              abi_frames (default 3), abi_size (ABI text of about that many bytes)

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


def get_info(name, head=None, chain_id=WAX_CHAIN_ID, numbers_as_strings=False):
    head = head_block_num() if head is None else head
    lib = max(head - 330, 0)
    d = {
        "server_version": "8fd8f21f",
        "chain_id": chain_id,
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
    if numbers_as_strings:  # 64-bit fields as JSON strings, as nodeos writes numbers above 2^32
        for k, v in d.items():
            if isinstance(v, int):
                d[k] = str(v)
    return d


def garbage_info(mode, info):
    """A malformed get_info body. mode True/"syntax": every field there, but not JSON (a comma missing, an
    unclosed brace); "truncated": cut in the middle; "html": an HTML error page; "empty": nothing;
    "array": a JSON array holding the object."""
    text = json.dumps(info)
    if mode in (True, "syntax"):
        return ("{" + text[1:].replace(', "head_block_producer"', ' "head_block_producer"', 1)[:-1]).encode()
    if mode == "truncated":
        return text[:len(text) // 2].encode()
    if mode == "html":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>\n"
    if mode == "empty":
        return b""
    if mode == "array":
        return ("[" + text + "]").encode()
    raise ValueError("garbage mode %r" % (mode,))


def status_result(head=None, trace_end=None, chain_state_end=None, chain_id=WAX_CHAIN_ID, eosio20=False):
    """get_status_result_v0, 121 bytes (with chain_id), or 89 (EOSIO 2.0: no chain_id).
    trace_end / chain_state_end: None = head + 1; 0 = that log is disabled (its begin is 0 too)."""
    head = head_block_num() if head is None else head
    lib = max(head - 330, 0)
    te = head + 1 if trace_end is None else trace_end
    ce = head + 1 if chain_state_end is None else chain_state_end
    out = (b"\x00" + struct.pack("<I", head) + block_id(head) + struct.pack("<I", lib) + block_id(lib)
           + struct.pack("<IIII", 1 if te else 0, te, 1 if ce else 0, ce))
    if not eosio20:
        out += bytes.fromhex(chain_id)
    assert len(out) == (89 if eosio20 else 121)
    return out


def block_pos(num):
    return struct.pack("<I", num) + block_id(num)


def blocks_result(head, this_block=None):
    """get_blocks_result_v0: head and lib positions, this_block and prev_block when this_block is given,
    block/traces/deltas absent. 150 bytes with this_block, 78 without."""
    lib = max(head - 330, 0)
    out = b"\x01" + block_pos(head) + block_pos(lib)
    if this_block is not None:
        out += b"\x01" + block_pos(this_block) + b"\x01" + block_pos(max(this_block - 1, 0))
    else:
        out += b"\x00\x00"
    return out + b"\x00\x00\x00"


def decode_blocks_result(msg):
    """Decode a get_blocks_result_v0 as blocks_result writes it -> dict (this_block None when absent)."""
    if msg[:1] != b"\x01" or len(msg) < 76:
        raise ValueError("not a get_blocks_result_v0 (%d bytes)" % len(msg))
    head, = struct.unpack_from("<I", msg, 1)
    lib, = struct.unpack_from("<I", msg, 37)
    d = {"head": head, "lib": lib, "this_block": None, "prev_block": None}
    p = 73
    for k in ("this_block", "prev_block"):
        if msg[p]:
            d[k], = struct.unpack_from("<I", msg, p + 1)
            p += 37
        else:
            p += 1
    return d


def blocks_request(start, end, max_in_flight=1, positions=(), irreversible_only=False, fetch_block=False,
                   fetch_traces=False, fetch_deltas=False):
    """get_blocks_request_v0 bytes (positions: block numbers)."""
    assert len(positions) < 128
    return (b"\x01" + struct.pack("<III", start, end, max_in_flight) + bytes([len(positions)])
            + b"".join(block_pos(n) for n in positions)
            + bytes([irreversible_only, fetch_block, fetch_traces, fetch_deltas]))


def read_varuint32(b, p):
    v, shift = 0, 0
    for _ in range(5):
        if p >= len(b):
            raise ValueError("truncated varuint32")
        c = b[p]
        p += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, p
    raise ValueError("varuint32 too long")


def parse_blocks_request(m):
    """-> (start, end, max_messages_in_flight); raises ValueError when malformed."""
    if len(m) < 13:
        raise ValueError("short get_blocks_request_v0")
    start, end, credit = struct.unpack_from("<III", m, 1)
    n, p = read_varuint32(m, 13)
    p += 36 * n
    if len(m) != p + 4:
        raise ValueError("bad get_blocks_request_v0 length %d" % len(m))
    return start, end, credit


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
_ABIS = {}


def abi_text(size=None):
    """The ABI (size None), or an ABI-like JSON text of about `size` bytes (padded with more structs)."""
    if size is None:
        return ABI
    if size not in _ABIS:
        abi = json.loads(ABI)
        structs = abi["structs"]
        rng = random.Random(size)
        i = 0
        while len(json.dumps(abi, separators=(",", ":"))) < size - 200 and i < 10 ** 6:
            structs.append({"name": "pad_v%d" % i, "fields": [{"name": "f%d" % j, "type": rng.choice(
                ["uint32", "name", "bytes", "string", "checksum256"])} for j in range(rng.randint(2, 8))]})
            i += 1
        while len(json.dumps(abi, separators=(",", ":"))) > size and len(structs) > 3:
            structs.pop()
        _ABIS[size] = json.dumps(abi, separators=(",", ":"))
    return _ABIS[size]


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
    """One listening fake node. kind: 'api' or 'ship'. Test controls: see CONTROLS and set()."""

    # control -> default. Read by the node's loop through ctl()/head(); changed by set() from any thread.
    CONTROLS = {
        "head": None, "frozen": False, "lag_s": 0.0, "lag_blocks": 0, "chain_id": WAX_CHAIN_ID, "hang": False,
        # api
        "status": 200, "garbage": False, "numbers_as_strings": False, "drop_fields": (), "health_status": None,
        "health_body": None, "fail": None, "fail_count": None,
        # ship
        "trace_end": None, "chain_state_end": None, "leap404": False, "eosio20": False, "no_blocks": False,
        "garbage_status": False, "abi_frames": 3, "abi_size": None,
    }

    def __init__(self, kind, name, port, host="127.0.0.1"):
        assert kind in ("api", "ship")
        self.kind, self.name, self.port, self.host = kind, name, port, host
        self.server = None
        self.writers = set()
        self.requests = 0        # HTTP requests answered (api) / upgrades accepted (ship)
        self.connections = 0     # TCP connections accepted in total
        self.ws_active = 0       # currently open websocket sessions (ship)
        self.log = []            # (method, path) of each API request
        self.get_info_headers = None  # the headers of the last get_info request (api)
        self.ship_log = []       # (kind, detail) of each SHIP request: ("status", None), ("blocks", (s, e, n)) ...
        self.blocks_sent = 0     # get_blocks_result_v0 messages sent
        self.hanging = 0         # connections currently held by `hang`
        self._lock = threading.Lock()
        self._ctl = dict(self.CONTROLS)
        self._offset = 0         # blocks added to the wall-clock head (set by head=N)
        self._frozen_head = None

    # ------------------------------------------------------------ controls
    def _head_locked(self, now=None):
        if self._frozen_head is not None:
            return self._frozen_head
        c = self._ctl
        return head_block_num(now) + self._offset - int(round(c["lag_s"] * 2)) - int(c["lag_blocks"])

    def set(self, **kw):
        """Change test controls (thread-safe). head=N: the head is N now and advances from there (None: back to
        the wall clock); frozen=True stops the head (and its time) where it is, False lets it follow the clock
        again; lag_s / lag_blocks move the advancing head back. Unknown names raise KeyError. Returns the head."""
        bad = set(kw) - set(self.CONTROLS)
        if bad:
            raise KeyError("unknown fake node control(s): %s" % ", ".join(sorted(bad)))
        with self._lock:
            frozen = self._frozen_head
            self._frozen_head = None
            for k, v in kw.items():
                if k in ("lag_s", "lag_blocks"):
                    v = v or 0
                self._ctl[k] = v
            if "head" in kw:
                self._offset = 0
                if kw["head"] is not None:
                    self._offset = int(kw["head"]) - self._head_locked()
                    if frozen is not None:
                        frozen = int(kw["head"])
            if self._ctl["frozen"]:
                self._frozen_head = frozen if frozen is not None else self._head_locked()
            return self._head_locked()

    def reset(self):
        """All controls back to their defaults."""
        with self._lock:
            self._ctl = dict(self.CONTROLS)
            self._offset = 0
            self._frozen_head = None

    def ctl(self):
        """A consistent snapshot of the controls, with "head" the current head block number."""
        with self._lock:
            c = dict(self._ctl)
            c["head"] = self._head_locked()
            return c

    def head(self):
        with self._lock:
            return self._head_locked()

    def take_fail(self):
        """The `fail` mode for the request being answered (None: answer normally); counts down fail_count."""
        with self._lock:
            c = self._ctl
            if c["fail"] is None or c["fail_count"] == 0:
                return None
            if c["fail_count"] is not None:
                c["fail_count"] -= 1
            return c["fail"]

    def log_end(self, value, head, leap404):
        if leap404 and value is None:
            return head + 3
        if value is None:
            return head + 1
        if isinstance(value, str):  # "head+3", "head-20", "head"
            v = value.replace(" ", "")
            if not v.startswith("head"):
                raise ValueError("log end %r" % value)
            return head + (int(v[4:]) if v[4:] else 0)
        return int(value)

    async def _hang(self, reader):
        """Hold the connection, answer nothing, until the peer closes or the node stops."""
        self.hanging += 1
        try:
            while await reader.read(65536):
                pass
        finally:
            self.hanging -= 1

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
        peer = (writer.get_extra_info("peername") or ("", 0))[1]
        for conn_req in range(1, 10 ** 6):
            try:
                head = await read_head(reader, buf)
                if head is None:
                    return
                if self.ctl()["hang"]:
                    self.log.append(("HANG", None))
                    await self._hang(reader)
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
            fail = self.take_fail()
            if fail == "drop":
                return
            if fail == "junk":
                writer.write(b"this is not HTTP\r\n\r\n")
                await writer.drain()
                return
            if fail == "hang":
                await self._hang(reader)
                return
            if fail is not None:
                status = int(fail)
                rbody = json.dumps({"node": self.name, "status": status}).encode()
            if url.path == "/garbage":      # not HTTP at all: a proxy answers 502
                writer.write(b"this is not HTTP\r\n\r\n")
                await writer.drain()
                return
            if url.path == "/drop":         # close without answering: a proxy answers 502
                return
            if rbody is not None:           # a `fail` status answers instead
                pass
            elif url.path == "/v1/chain/get_info":
                c = self.ctl()
                status = int(c["status"])
                if c["garbage"]:
                    rbody = garbage_info(c["garbage"], get_info(self.name, c["head"], c["chain_id"]))
                else:
                    gi = get_info(self.name, c["head"], c["chain_id"], c["numbers_as_strings"])
                    for k in c["drop_fields"] or ():
                        gi.pop(k, None)
                    rbody = json.dumps(gi).encode()
                self.get_info_headers = hdrs
                if status in (204, 304):
                    rbody = b""
            elif url.path == "/health" and (self.ctl()["health_status"] is not None
                                            or self.ctl()["health_body"] is not None):
                c = self.ctl()
                status = int(c["health_status"] if c["health_status"] is not None else 200)
                hb = c["health_body"] if c["health_body"] is not None else "OK\n"
                rbody = b"" if status in (204, 304) else (hb.encode() if isinstance(hb, str) else hb)
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
            elif url.path == "/trunc":
                size, send = int(q.get("size", "100000")), int(q.get("send", "1000"))
                writer.write(("HTTP/1.1 200 OK\r\nX-Node: %s\r\nContent-Length: %d\r\n\r\n"
                              % (self.name, size)).encode() + b"".join(stream_blob(send, 9))[:send])
                await writer.drain()
                return
            else:
                if url.path == "/slow":
                    await asyncio.sleep(int(q.get("ms", "500")) / 1000.0)
                rbody = json.dumps({
                    "node": self.name, "method": method, "path": target, "version": version,
                    "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                    "xff": hget(hdrs, "x-forwarded-for"), "headers": hdrs, "peer": peer,
                    "conn_req": conn_req}).encode()
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
        if ok and self.ctl()["hang"]:  # accepts, reads the upgrade, never sends the 101
            self.ship_log.append(("hang", None))
            await self._hang(reader)
            return
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
            # the ABI, as text, in abi_frames fragments (3 by default)
            c = self.ctl()
            abi = abi_text(c["abi_size"]).encode()
            nf = max(1, int(c["abi_frames"]))
            cuts = [len(abi) * i // nf for i in range(nf + 1)]
            writer.write(b"".join(ws_frame(abi[cuts[i]:cuts[i + 1]], 1 if i == 0 else 0, fin=(i == nf - 1))
                                  for i in range(nf)))
            await writer.drain()
            # the client may have sent frames together with the upgrade
            if buf:
                pre = asyncio.StreamReader()
                pre.feed_data(bytes(buf))
                reader = _ChainReader(pre, reader)
            await self._ship_loop(reader, writer)
        finally:
            self.ws_active -= 1

    def _status_reply(self):
        c = self.ctl()
        if c["garbage_status"]:
            g = c["garbage_status"]
            return g if isinstance(g, (bytes, bytearray)) else b"\x00\x07garbage"
        h = c["head"]
        return status_result(h, self.log_end(c["trace_end"], h, c["leap404"]),
                             self.log_end(c["chain_state_end"], h, c["leap404"]), c["chain_id"], c["eosio20"])

    async def _stream_blocks(self, writer, sess):
        """Send one get_blocks_result_v0 per block from sess["next"] (below sess["end"]) while credit lasts,
        waiting for the head to advance."""
        while not writer.is_closing():
            if sess["credit"] <= 0 or sess["next"] >= sess["end"]:
                sess["wake"].clear()
                await sess["wake"].wait()  # set by a blocks request or an ack
                continue
            if not self.ctl()["no_blocks"]:
                h = self.head()
                if sess["next"] <= h:
                    writer.write(ws_frame(blocks_result(h, sess["next"]), 2))
                    self.blocks_sent += 1
                    sess["next"] += 1
                    sess["credit"] -= 1
                    await writer.drain()
                    continue
            await asyncio.sleep(0.05)  # wait for the next block

    async def _ship_loop(self, reader, writer):
        sess = {"next": 0, "end": 0, "credit": 0, "wake": asyncio.Event()}
        streamer = asyncio.ensure_future(self._stream_blocks(writer, sess))
        try:
            await self._ship_loop2(reader, writer, sess)
        finally:
            streamer.cancel()

    async def _ship_loop2(self, reader, writer, sess):
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
                self.ship_log.append(("status", None))
                writer.write(ws_frame(self._status_reply(), 2))
            elif m[:1] == b"\x01":  # get_blocks_request_v0
                start, end, credit = parse_blocks_request(m)
                self.ship_log.append(("blocks", (start, end, credit)))
                sess.update(next=start, end=end, credit=credit)
                nb = self.ctl()["no_blocks"]
                if credit > 0 and nb == "empty":  # answers, but never with a block
                    writer.write(ws_frame(blocks_result(self.head()), 2))
                    sess["credit"] = 0
                elif credit > 0 and not nb:
                    # answered at once: with this_block when start is already there, else without
                    h = self.head()
                    if start <= h and start < end:
                        writer.write(ws_frame(blocks_result(h, start), 2))
                        sess["next"] = start + 1
                    else:
                        writer.write(ws_frame(blocks_result(h), 2))
                    sess["credit"] -= 1
                    self.blocks_sent += 1
                sess["wake"].set()
            elif m[:1] == b"\x02" and len(m) == 5:  # get_blocks_ack_request_v0
                n, = struct.unpack_from("<I", m, 1)
                self.ship_log.append(("ack", n))
                sess["credit"] += n
                sess["wake"].set()
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

    def set(self, name, **kw):
        """Change a node's test controls while it runs (see Node.CONTROLS); -> its head after the change."""
        return self.nodes[name].set(**kw)

    def reset(self, name):
        self.nodes[name].reset()

    def head(self, name):
        return self.nodes[name].head()

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
