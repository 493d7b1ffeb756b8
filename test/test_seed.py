"""The seed configuration (test/seed.cfg.in, the WAX guide's haproxy.cfg) with its five backends.

The routing table is run against the binary under test AND Debian's haproxy in the same test, and each answer
is classified as the check tool (shared/seed-routing/check) does: which node answered, or the error class."""
import asyncio
import hashlib
import json
import os
import struct
import subprocess
import time

import pytest
import websockets

import fakenodes
from conftest import (API_HOST, HAPROXY, Conn, Proxy, free_port_fn, parse_all, raw, req, seed_config,
                      start_seed_nodes, waxlb_cmd, wait_until)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
H = "Host: wax.eosphere.io"
WS = ("Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: " + KEY)

# The cases of shared/seed-routing/check, unchanged.
CASES = [
    ("get_info", req("GET /v1/chain/get_info HTTP/1.1", H)),
    ("post_get_block", req("POST /v1/chain/get_block HTTP/1.1", H, "Content-Length: 22", body=b'{"block_num_or_id":10}')),
    ("supported_apis", req("GET /v1/node/get_supported_apis HTTP/1.1", H)),
    ("query_string", req("GET /v1/chain/get_info?x=1 HTTP/1.1", H)),
    ("chainfoo", req("GET /v1/chainfoo HTTP/1.1", H)),
    ("history_path", req("GET /v1/history/get_actions HTTP/1.1", H)),
    ("root", req("GET / HTTP/1.1", H)),
    ("host_upper", req("GET /v1/chain/get_info HTTP/1.1", "Host: WAX.EOSPHERE.IO")),
    ("host_ws_wax", req("GET /v1/chain/get_info HTTP/1.1", "Host: ws-wax.eosphere.io")),
    ("host_other", req("GET /v1/chain/get_info HTTP/1.1", "Host: example.com")),
    ("ws_plain", req("GET / HTTP/1.1", H, *WS)),
    ("ws_other_host", req("GET /anything HTTP/1.1", "Host: example.com", *WS)),
    ("ws_chain_path", req("GET /v1/chain/get_info HTTP/1.1", H, *WS)),
    ("ws_firefox_conn", req("GET / HTTP/1.1", H, "Connection: keep-alive, Upgrade", "Upgrade: websocket",
                            "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: " + KEY)),
    ("ws_no_conn", req("GET / HTTP/1.1", H, "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: " + KEY)),
    ("upgrade_h2c", req("GET / HTTP/1.1", H, "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
                        "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA")),
    ("head_chain", req("HEAD /v1/chain/get_info HTTP/1.1", H)),
    ("chunked_post", req("POST /v1/chain/get_block HTTP/1.1", H, "Transfer-Encoding: chunked",
                         body=b"16\r\n{\"block_num_or_id\":10}\r\n0\r\n\r\n")),
    ("no_colon", req("GET /v1/chain/get_info HTTP/1.1", H, "garbage line")),
    ("huge_header", req("GET /v1/chain/get_info HTTP/1.1", H, "X-Big: " + "a" * 40000)),
]

# What HAProxy 2.6 answers with the fake nodes (group only; the node names are compared between the proxies).
# ws_chain_path goes to the API backend: the fake API node ignores the upgrade and answers 200.
EXPECTED_GROUP = {
    "get_info": "http", "post_get_block": "http", "supported_apis": "http", "query_string": "http",
    "chainfoo": "http", "history_path": "err5", "root": "err5", "host_upper": "http", "host_ws_wax": "http",
    "host_other": "err5", "ws_plain": "ws", "ws_other_host": "ws", "ws_chain_path": "http",
    "ws_firefox_conn": "ws", "ws_no_conn": "err5", "upgrade_h2c": "err5", "head_chain": "http",
    "chunked_post": "http", "no_colon": "err4", "huge_header": "err4",
}

# Same rules as the check tool's `agrees`.
LENIENT = {"lf_only", "bad_version", "space_before_colon", "obs_fold", "cl_and_te", "dup_cl_diff",
           "neg_cl", "bad_te", "nul_in_header", "no_colon", "huge_header", "two_hosts_diff",
           "ctl_in_path", "empty_request"}


def agrees(name, r, c):
    if r == c or (r.startswith("err4") and c.startswith("err4")):
        return True
    if name in LENIENT:
        return c.startswith("err4") or c == "closed" or (name == "bad_version" and c == "err5xx")
    return False


def classify(data, head=False):
    if not data:
        return "closed"
    try:
        rs = [r for r in parse_all(data, head=head) if r.status >= 200 or r.status == 101]
    except Exception:
        return "garbage"
    if not rs:
        return "garbage"
    r = rs[0]
    if r.status == 101:
        return "ws:%s" % r.node
    if r.status == 200:
        return "http:%s" % r.node if r.node else "200?"
    return "err%dxx" % (r.status // 100)


def group(c):
    return c.split(":")[0] if ":" in c else c[:4]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def seed_nodes():
    n = fakenodes.Nodes()
    ports = start_seed_nodes(n)
    yield n, ports
    n.close()


@pytest.fixture(scope="module")
def seed(waxlb, seed_nodes, tmp_path_factory):
    """The binary under test on the seed config: (Proxy, nodes, ports)."""
    n, ports = seed_nodes
    port = free_port_fn()
    p = Proxy(waxlb_cmd(), seed_config(port, ports), tmp_path_factory.mktemp("seed"), port=port, name="seed")
    p.start()
    yield p, n, ports
    p.stop()


def send_case(port, data, nodes):
    out = raw(port, data, timeout=3.0, head=data.startswith(b"HEAD"))
    # leastconn depends on when the proxy has released the previous tunnel: wait for the SHIP nodes to see it
    wait_until(lambda: not any(nodes.ws_active().values()), 3.0)
    return out


# ------------------------------------------------------------------ routing table
def test_seed_routing_table(waxlb, seed_nodes, tmp_path):
    """Every check-tool case, on the binary under test and on haproxy, classified the same way."""
    n, ports = seed_nodes
    pc = free_port_fn()
    cand = Proxy(waxlb_cmd(), seed_config(pc, ports), tmp_path, port=pc, name="cand").start()
    ref = None
    if HAPROXY:
        pr = free_port_fn()
        ref = Proxy([HAPROXY, "-db"], seed_config(pr, ports), tmp_path, port=pr, name="ref").start()
    try:
        rows, bad = [], []
        for name, data in CASES:
            hd = data.startswith(b"HEAD")
            c = classify(send_case(pc, data, n), hd)
            r = classify(send_case(pr, data, n), hd) if ref else None
            ok = agrees(name, r, c) if ref else True
            exp_ok = group(c) == EXPECTED_GROUP[name] or (name in LENIENT and (c == "closed" or c.startswith("err4")))
            rows.append("%-18s haproxy=%-11s candidate=%-11s %s" % (name, r, c, "" if ok and exp_ok else "MISMATCH"))
            if not (ok and exp_ok):
                bad.append(name)
        print("\n".join(rows))
        assert not bad, "cases answered differently from HAProxy: %s\n%s" % (bad, "\n".join(rows))
    finally:
        cand.stop()
        if ref:
            ref.stop()


@pytest.mark.waxlb_only
def test_check_mode_accepts_seed(waxlb, tmp_path):
    path = tmp_path / "seed.cfg"
    path.write_text(seed_config(free_port_fn(), dict(A1=1, A2=2, A3=3, S1=4, S2=5)))
    r = subprocess.run([waxlb, "-c", "-f", str(path)], capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr.decode()


def test_curl_get_info(seed):
    p, n, ports = seed
    out = subprocess.run(["curl", "-s", "-m", "5", "-H", "Host: wax.eosphere.io",
                          "http://127.0.0.1:%d/v1/chain/get_info" % p.port], capture_output=True, timeout=10)
    assert out.returncode == 0
    info = json.loads(out.stdout)
    assert info["chain_id"] == fakenodes.WAX_CHAIN_ID
    assert abs(info["head_block_num"] - fakenodes.head_block_num()) < 20
    assert info["last_irreversible_block_num"] < info["head_block_num"]
    assert len(info["head_block_time"]) == 23 and info["head_block_time"][10] == "T"


def rr_sequence(port, count):
    seq = []
    with Conn(port) as c:
        for _ in range(count):
            r = c.request("GET", "/v1/chain/get_info")
            assert r.status == 200, r
            seq.append(r.node)
        assert not c.is_closed(0.05)
    return seq


def test_roundrobin_keepalive_60(waxlb, seed_nodes, tmp_path):
    """60 requests on ONE keep-alive connection: 10/10/40, in HAProxy's weighted order."""
    n, ports = seed_nodes
    port = free_port_fn()
    p = Proxy(waxlb_cmd(), seed_config(port, ports), tmp_path, port=port, name="rr").start()
    try:
        seq = rr_sequence(port, 60)
    finally:
        p.stop()
    counts = {k: seq.count(k) for k in set(seq)}
    assert counts == {"api1": 10, "api2": 10, "api3": 40}, counts
    # HAProxy 2.6's weighted round robin for weights 1:1:4, fresh start
    assert seq[:12] == ["api3", "api3", "api1", "api3", "api3", "api2"] * 2, seq[:12]
    assert seq == seq[:6] * 10


def test_roundrobin_same_as_haproxy(waxlb, haproxy, seed_nodes, tmp_path):
    n, ports = seed_nodes
    seqs = []
    for name, cmd in (("cand", waxlb_cmd()), ("ref", [haproxy, "-db"])):
        port = free_port_fn()
        p = Proxy(cmd, seed_config(port, ports), tmp_path, port=port, name=name).start()
        try:
            # one request per connection this time
            seqs.append([parse_all(raw(port, req("GET /v1/chain/get_info HTTP/1.1", H)))[0].node for _ in range(18)])
        finally:
            p.stop()
    assert seqs[0] == seqs[1]


# ------------------------------------------------------------------ websockets through the seed tunnel
def ws_uri(port):
    return "ws://127.0.0.1:%d/" % port


async def ws_open(port):
    ws = await asyncio.wait_for(websockets.connect(ws_uri(port), max_size=None, compression=None,
                                                   ping_interval=None, open_timeout=5), 5)
    abi = await asyncio.wait_for(ws.recv(), 5)
    return ws, abi


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_ws_abi_and_status(seed):
    p, n, ports = seed

    async def go():
        ws, abi = await ws_open(p.port)
        try:
            assert isinstance(abi, str), "the ABI must arrive as a text message"
            assert 25000 <= len(abi) <= 40000, len(abi)
            assert abi == fakenodes.ABI
            assert json.loads(abi)["version"].startswith("eosio::abi/")
            await ws.send(b"\x00")
            st = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(st, bytes) and len(st) == 121
            d = fakenodes.decode_status(st)
            assert d["chain_id"] == fakenodes.WAX_CHAIN_ID
            assert abs(d["head"] - fakenodes.head_block_num()) < 20
            assert d["trace_end"] == d["chain_state_end"] == d["head"] + 1
            # a ping through the tunnel is answered by the node
            pong = await ws.ping()
            await asyncio.wait_for(pong, 5)
        finally:
            await ws.close()
    run(go())


@pytest.mark.slow
def test_ws_stream_100mb_downstream(seed):
    p, n, ports = seed
    N = 100 * 1024 * 1024 + 12345

    async def go():
        ws, abi = await ws_open(p.port)
        try:
            await ws.send(b"\xf0" + struct.pack("<QQ", N, 77))
            h, got, msgs = hashlib.sha256(), 0, 0
            for _ in range(N // fakenodes.CHUNK + 10):
                m = await asyncio.wait_for(ws.recv(), 20)
                if isinstance(m, str):
                    break
                h.update(m)
                got += len(m)
                msgs += 1
            assert got == N
            assert m == h.hexdigest(), "node's sha256 differs from what arrived"
            # and it is what the node was asked to send
            exp = hashlib.sha256()
            for c in fakenodes.stream_blob(N, 77):
                exp.update(c)
            assert m == exp.hexdigest()
            assert msgs == (N + fakenodes.CHUNK - 1) // fakenodes.CHUNK
        finally:
            await ws.close()
    t = time.time()
    run(go(), 120)
    print("100 MB through the tunnel in %.2fs" % (time.time() - t))


def test_ws_upstream_integrity(seed):
    p, n, ports = seed
    sizes = [1, 100, 125, 126, 127, 1000, 65535, 65536, 65537, 200000, 1 << 20, 5 << 20]

    async def go():
        ws, abi = await ws_open(p.port)
        try:
            for i, size in enumerate(sizes):
                msg = b"\xf1" + os.urandom(size - 1) if size > 1 else b"\xf1"
                await ws.send(msg)
                rep = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert rep == {"sha256": hashlib.sha256(msg).hexdigest(), "len": size}, size
            # a fragmented client message (websockets sends an iterable as fragments)
            parts = [b"\xf1" + os.urandom(70000), os.urandom(10), os.urandom(300000)]
            await ws.send(iter(parts))
            rep = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert rep["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()
            # status still works on the same session
            await ws.send(b"\x00")
            assert len(await asyncio.wait_for(ws.recv(), 5)) == 121
        finally:
            await ws.close()
    run(go())


def test_ws_leastconn_long_lived(seed):
    """6 tunnels -> 3/3; close 2 on one server, open 2 more -> both go to that server."""
    p, n, ports = seed
    assert wait_until(lambda: not any(n.ws_active().values()), 5)

    async def where(ws):
        await ws.send(b"\xf2")
        return await asyncio.wait_for(ws.recv(), 5)

    async def go():
        socks = []
        try:
            for _ in range(6):
                ws, abi = await ws_open(p.port)
                socks.append((ws, await where(ws)))
            names = [w for _, w in socks]
            assert sorted(names) == ["shp1"] * 3 + ["shp2"] * 3, names
            assert n.ws_active() == {"shp1": 3, "shp2": 3}
            victim = names[0]
            closing = [s for s in socks if s[1] == victim][:2]
            for s in closing:
                await s[0].close()
                socks.remove(s)
            # the proxy has released them once the node sees them gone
            for _ in range(250):
                if n.ws_active()[victim] == 1:
                    break
                await asyncio.sleep(0.02)
            assert n.ws_active()[victim] == 1
            for _ in range(2):
                ws, abi = await ws_open(p.port)
                socks.append((ws, await where(ws)))
            assert [w for _, w in socks[-2:]] == [victim, victim]
            assert sorted(n.ws_active().values()) == [3, 3]
        finally:
            for ws, _ in socks:
                await ws.close()
    run(go())


HAPROXY_503 = (b"<html><body><h1>503 Service Unavailable</h1>\n"
               b"No server is available to handle this request.\n</body></html>\n")


@pytest.mark.parametrize("data", [
    req("GET / HTTP/1.1", H),
    req("GET /v1/chain/get_info HTTP/1.1", "Host: example.com"),
    req("GET / HTTP/1.1", H, "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: " + KEY),
], ids=["root", "other_host", "ws_no_conn"])
def test_no_route_is_haproxy_503(seed, data):
    """No use_backend matches and there is no default_backend: HAProxy's 503 page, byte for byte."""
    p, n, ports = seed
    r = parse_all(raw(p.port, data))[0]
    assert (r.status, r.reason) == (503, "Service Unavailable")
    assert r.body == HAPROXY_503
    assert int(r.header("Content-Length")) == len(HAPROXY_503)
    assert r.header("Cache-Control") == "no-cache" and r.header("Content-Type") == "text/html"


def test_concurrent_keepalive_weights(seed):
    """20 keep-alive clients x 30 requests at once: no errors, and exactly 100/100/400 (100 full rounds)."""
    import threading
    p, n, ports = seed
    counts, errors, lock = {}, [], threading.Lock()

    def client():
        try:
            with Conn(p.port, timeout=10) as c:
                for _ in range(30):
                    r = c.request("GET", "/v1/chain/get_info")
                    with lock:
                        if r.status != 200:
                            errors.append(r)
                        counts[r.node] = counts.get(r.node, 0) + 1
        except Exception as e:  # noqa
            with lock:
                errors.append(e)

    ts = [threading.Thread(target=client, daemon=True) for _ in range(20)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert not errors, errors[:3]
    assert counts == {"api1": 100, "api2": 100, "api3": 400}, counts
