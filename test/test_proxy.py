"""Proxy behaviour beyond the seed: queueing, health checks, retries, headers, deny, tcp mode, HTTP/1.1 framing.
Every test here except those marked waxlb_only passes on Debian's haproxy (WAXLB=test/haproxy-shim)."""
import asyncio
import hashlib
import json
import socket
import threading
import time

import pytest
import websockets

import fakenodes
from conftest import (API_HOST, Conn, free_port_fn, http, parse_all, raw, req, status_of, wait_until)

ERR_BODY = {
    403: b"<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n",
    429: b"<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n",
    502: b"<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
    503: b"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
    504: b"<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
}


def config(port, backend, frontend="", defaults="", mode="http"):
    return """global
    maxconn 1000
defaults
    mode %s
    timeout connect 1s
    timeout client 5s
    timeout server 5s
%s
frontend fe
    bind 127.0.0.1:%d
%s
    default_backend be
backend be
%s
""" % (mode, defaults, port, frontend, backend)


def servers(nodes, names, opts=""):
    return "\n".join("    server %s 127.0.0.1:%d %s" % (n, nodes.port(n), opts) for n in names)


def concurrently(fns, timeout=15):
    """Run callables in threads started together; -> list of (result|exception, t_start, t_end)."""
    out = [None] * len(fns)

    def run(i, f):
        t0 = time.time()
        try:
            r = f()
        except Exception as e:  # noqa
            r = e
        out[i] = (r, t0, time.time())

    ts = [threading.Thread(target=run, args=(i, f), daemon=True) for i, f in enumerate(fns)]
    for i, t in enumerate(ts):
        t.start()
        time.sleep(0.05)  # keep arrival order deterministic (not synchronisation: order of arrival)
    for t in ts:
        t.join(timeout)
    return out


# ------------------------------------------------------------------ queueing
def test_maxconn_queue_waits(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"], "maxconn 1"), defaults="    timeout queue 5s"), port)
    res = concurrently([lambda: http(port, "GET", "/slow?ms=800"), lambda: http(port, "GET", "/slow?ms=800")])
    (r1, s1, e1), (r2, s2, e2) = res
    assert r1.status == 200 and r2.status == 200, res
    # the second waited in the queue for the first one's 800 ms
    assert e2 - s2 >= 1.4, "second request did not wait: %.2fs" % (e2 - s2)
    assert e1 - s1 < 1.4


def test_maxconn_queue_timeout_503(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"], "maxconn 1"), defaults="    timeout queue 300"), port)
    res = concurrently([lambda: http(port, "GET", "/slow?ms=1000")] + [lambda: http(port, "GET", "/x")] * 2)
    r1 = res[0][0]
    assert r1.status == 200, res
    for r, s, e in res[1:]:
        assert r.status == 503, res
        assert r.body == ERR_BODY[503]
        assert 0.2 <= e - s < 0.95, "queue timeout not applied: %.2fs" % (e - s)


# ------------------------------------------------------------------ health checks
def test_health_down_up(proxy, nodes):
    for n in ("a1", "a2", "a3"):
        nodes.api(n)
    port = free_port_fn()
    p = proxy(config(port, "    balance roundrobin\n"
                           + servers(nodes, ["a1", "a2", "a3"], "check inter 200 fall 2 rise 2")), port)
    seen = {http(port, "GET", "/x").node for _ in range(6)}
    assert seen == {"a1", "a2", "a3"}
    mark = p.mark()
    t0 = time.time()
    nodes.stop("a2")
    p.wait_for_log(r"Server be/a2 is DOWN", timeout=3.0, since=mark)
    took = time.time() - t0
    assert took < 2.0, "DOWN after %.2fs (inter 200 x fall 2)" % took
    assert not p.find_log(r"Server be/a[13] is DOWN")
    got = [http(port, "GET", "/x") for _ in range(12)]
    assert all(r.status == 200 for r in got), got
    assert {r.node for r in got} == {"a1", "a3"}
    mark = p.mark()
    t0 = time.time()
    nodes.restart("a2")
    p.wait_for_log(r"Server be/a2 is UP", timeout=3.0, since=mark)
    assert time.time() - t0 < 2.0
    got = [http(port, "GET", "/x") for _ in range(6)]
    assert all(r.status == 200 for r in got)
    assert {r.node for r in got} == {"a1", "a2", "a3"}


def test_all_down_503(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    p = proxy(config(port, servers(nodes, ["a1"], "check inter 200 fall 1 rise 1")), port)
    assert http(port, "GET", "/x").status == 200
    nodes.stop("a1")
    p.wait_for_log(r"Server be/a1 is DOWN", timeout=3.0)
    r = http(port, "GET", "/x")
    assert r.status == 503 and r.body == ERR_BODY[503]
    # HAProxy also says the backend has no server left
    p.wait_for_log(r"backend '?be'? has no server available", timeout=2.0)


def test_backup_server(proxy, nodes):
    nodes.api("a1")
    nodes.api("b1")
    port = free_port_fn()
    p = proxy(config(port, servers(nodes, ["a1"], "check inter 200 fall 1 rise 1") + "\n"
                     + servers(nodes, ["b1"], "check inter 200 backup")), port)
    assert {http(port, "GET", "/x").node for _ in range(4)} == {"a1"}
    nodes.stop("a1")
    p.wait_for_log(r"Server be/a1 is DOWN", timeout=3.0)
    assert {http(port, "GET", "/x").node for _ in range(4)} == {"b1"}


# ------------------------------------------------------------------ retries / redispatch / errors
def test_redispatch_dead_server(proxy, nodes):
    nodes.api("a2")
    dead = free_port_fn()  # nothing listens there
    port = free_port_fn()
    proxy(config(port, "    balance roundrobin\n    retries 2\n    option redispatch\n"
                       "    server a1 127.0.0.1:%d\n" % dead + servers(nodes, ["a2"])), port)
    for _ in range(4):
        r = http(port, "GET", "/x", timeout=8)
        assert r.status == 200 and r.node == "a2", r


def test_no_redispatch_dead_server_503(proxy, nodes):
    dead = free_port_fn()
    port = free_port_fn()
    proxy(config(port, "    retries 1\n    server a1 127.0.0.1:%d\n" % dead), port)
    r = http(port, "GET", "/x", timeout=8)
    assert r.status == 503 and r.body == ERR_BODY[503]


def test_502_bad_response(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"])), port)
    for path in ("/garbage", "/drop"):
        r = http(port, "GET", path)
        assert r.status == 502 and r.body == ERR_BODY[502], (path, r)


def test_504_server_timeout(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"]), defaults="    timeout server 300"), port)
    t = time.time()
    r = http(port, "GET", "/slow?ms=2000")
    assert r.status == 504 and r.body == ERR_BODY[504]
    assert 0.25 <= time.time() - t < 1.5


# ------------------------------------------------------------------ headers, deny
def test_forwardfor(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"]), defaults="    option forwardfor"), port)
    assert http(port, "GET", "/x").json()["xff"] == "127.0.0.1"
    # an existing header is kept; the client's address is added after it
    xff = http(port, "GET", "/x", headers=["X-Forwarded-For: 10.1.2.3"]).json()["xff"]
    assert [v.strip() for v in xff.split(",")] == ["10.1.2.3", "127.0.0.1"]


def test_no_forwardfor_by_default(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"])), port)
    assert http(port, "GET", "/x").json()["xff"] is None


def test_deny(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"]), frontend="    http-request deny if { path_beg /admin }\n"
                 "    http-request deny deny_status 429 if { path_beg /rate }\n"
                 "    acl bad_ua hdr_sub(user-agent) -i evilbot\n    http-request deny if bad_ua"), port)
    r = http(port, "GET", "/admin/x")
    assert (r.status, r.reason, r.body) == (403, "Forbidden", ERR_BODY[403])
    r = http(port, "GET", "/rate")
    assert (r.status, r.body) == (429, ERR_BODY[429])
    assert http(port, "GET", "/x", headers=["User-Agent: Mozilla EvilBot/1"]).status == 403
    r = http(port, "GET", "/x")
    assert r.status == 200 and r.node == "a1"
    assert nodes["a1"].log == [("GET", "/x")], "denied requests must not reach the server"


# HAProxy 2.6's http_err_codes[]: the statuses `deny_status` may name without errorfiles
DENY_PAGES = (200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504)


def test_deny_status_pages_as_haproxy(proxy, haproxy):
    """Every status HAProxy has a page for, answered by `http-request deny deny_status N`: the same bytes from
    Debian's haproxy and the binary under test (status line and reason, e.g. 401 Unauthorized and 407
    Unauthorized, header order, page text, Content-Length), for a request that asks to close."""
    rules = "".join("    http-request deny deny_status %d if { path /%d }\n" % (s, s) for s in DENY_PAGES)
    ports = {}
    for name, binary in (("haproxy", haproxy), ("tested", None)):
        ports[name] = free_port_fn()
        proxy(config(ports[name], "    server s1 127.0.0.1:1", frontend=rules), ports[name], binary=binary,
              name=name)
    for s in DENY_PAGES:
        data = req("GET /%d HTTP/1.1" % s, "Host: a", "Connection: close")
        got = {name: raw(port, data, until_close=True) for name, port in ports.items()}
        assert got["tested"].startswith(b"HTTP/1.1 %d " % s), got["tested"][:100]
        assert got["tested"] == got["haproxy"], "deny_status %d:\nhaproxy: %r\ntested:  %r" % (
            s, got["haproxy"], got["tested"])


def test_acl_routing(proxy, nodes):
    for n in ("a1", "b1", "c1"):
        nodes.api(n)
    port = free_port_fn()
    cfg = """defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    acl is_b path_beg /b/
    acl is_post method POST
    acl local src 127.0.0.0/8
    acl jsonp path_end .json
    use_backend bb if is_b !is_post
    use_backend cc if is_post jsonp local
    use_backend cc if { hdr_beg(host) -i api. }
    default_backend aa
backend aa
%s
backend bb
%s
backend cc
%s
""" % (port, servers(nodes, ["a1"]), servers(nodes, ["b1"]), servers(nodes, ["c1"]))
    proxy(cfg, port)
    assert http(port, "GET", "/b/x").node == "b1"
    assert http(port, "POST", "/b/x", body=b"x").node == "a1"
    assert http(port, "POST", "/b/x.json", body=b"x").node == "c1"
    assert http(port, "GET", "/x", host="API.example.com").node == "c1"
    assert http(port, "GET", "/x").node == "a1"


# ------------------------------------------------------------------ tcp mode
def test_tcp_mode_websocket(proxy, nodes):
    nodes.ship("s1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["s1"]), mode="tcp", defaults="    timeout tunnel 30s"), port)

    async def go():
        async with websockets.connect("ws://127.0.0.1:%d/" % port, max_size=None, compression=None,
                                      open_timeout=5) as ws:
            abi = await asyncio.wait_for(ws.recv(), 5)
            assert abi == fakenodes.ABI
            await ws.send(b"\x00")
            assert fakenodes.decode_status(await asyncio.wait_for(ws.recv(), 5))["chain_id"] == fakenodes.WAX_CHAIN_ID
            msg = b"\xf1" + bytes(range(256)) * 1000
            await ws.send(msg)
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["sha256"] == hashlib.sha256(msg).hexdigest()
    asyncio.run(asyncio.wait_for(go(), 20))


def test_tcp_mode_raw_bytes(proxy, nodes):
    """Bytes that are not HTTP at all pass a tcp-mode proxy untouched (the fake node answers 400 to them)."""
    nodes.ship("s1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["s1"]), mode="tcp"), port)
    data = raw(port, b"NOT HTTP AT ALL\r\n\r\n", timeout=3, until_close=True)
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\nX-Node: s1\r\n"), data


# ------------------------------------------------------------------ HTTP/1.1 framing
@pytest.fixture
def one(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"])), port)
    return port


def test_pipelined_in_order(one):
    data = b"".join(req("GET /p%d HTTP/1.1" % i, "Host: " + API_HOST) for i in range(6))
    data += req("POST /p6 HTTP/1.1", "Host: " + API_HOST, "Content-Length: 5", body=b"hello")
    data += req("GET /p7 HTTP/1.1", "Host: " + API_HOST)
    rs = parse_all(raw(one, data, n=8, timeout=5))
    assert [r.json()["path"] for r in rs] == ["/p%d" % i for i in range(8)]
    assert rs[6].json()["body_len"] == 5


def test_chunked_request_body(one):
    parts = [b"a" * 10, b"b" * 5000, b"c" * 70000, b"d"]
    body = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
    with Conn(one) as c:
        for _ in range(2):  # twice on the same connection: the body framing must be exact
            c.send(req("POST /chunk HTTP/1.1", "Host: " + API_HOST, "Transfer-Encoding: chunked", body=body))
            j = c.response().json()
            assert j["body_len"] == sum(map(len, parts))
            assert j["body_sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


def test_chunked_response(one):
    with Conn(one) as c:
        r = c.request("GET", "/chunked?n=7&size=3000")
        assert r.body == b"".join(b"".join(fakenodes.stream_blob(3000, i)) for i in range(7))
        assert c.request("GET", "/x").status == 200


def test_large_response(one):
    r = http(one, "GET", "/big?size=5000000", timeout=10)
    assert r.body == b"".join(fakenodes.stream_blob(5000000, 9))


def test_expect_100_continue(one):
    with Conn(one) as c:
        c.send(req("POST /e HTTP/1.1", "Host: " + API_HOST, "Content-Length: 11", "Expect: 100-continue"))
        r = c.response()
        assert r.status == 100, r
        c.send(b"hello world")
        r = c.response()
        assert r.status == 200 and r.json()["body_len"] == 11


def test_head(one):
    with Conn(one) as c:
        r = c.request("HEAD", "/v1/chain/get_info")
        assert r.status == 200 and int(r.header("Content-Length")) > 500 and r.body == b""
        r = c.request("GET", "/after-head")  # no stray body bytes between the two
        assert r.status == 200 and r.json()["path"] == "/after-head"


def test_204(one):
    with Conn(one) as c:
        r = c.request("GET", "/status?code=204")
        assert r.status == 204 and r.body == b""
        assert c.request("GET", "/after").json()["path"] == "/after"


def test_close_delimited_response(one):
    data = raw(one, req("GET /noclen?size=100000 HTTP/1.1", "Host: " + API_HOST), until_close=True, timeout=5)
    rs = parse_all(data)
    assert len(rs) == 1 and rs[0].status == 200
    assert rs[0].body == b"".join(fakenodes.stream_blob(100000, 7))


def test_http10_client(one):
    data = raw(one, b"GET /old HTTP/1.0\r\nHost: wax.eosphere.io\r\n\r\n", until_close=True, timeout=5)
    rs = parse_all(data)
    assert len(rs) == 1 and rs[0].status == 200 and rs[0].json()["path"] == "/old", data[:300]
    # and with no Host at all (legal in HTTP/1.0)
    rs = parse_all(raw(one, b"GET /old2 HTTP/1.0\r\n\r\n", until_close=True, timeout=5))
    assert rs[0].status == 200


def test_connection_close_honoured(one):
    with Conn(one) as c:
        r = c.request("GET", "/x", "Connection: close")
        assert r.status == 200
        assert c.is_closed(2.0)


def test_keepalive_reuse(one, nodes):
    with Conn(one) as c:
        for i in range(10):
            r = c.request("GET", "/k%d" % i)
            assert r.status == 200 and r.json()["path"] == "/k%d" % i
        assert not c.is_closed(0.2)
    # server side: the proxy kept its connection to the node too (HAProxy: http-reuse safe)
    assert nodes["a1"].connections <= 2, nodes["a1"].connections


def test_http_server_close(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"]), defaults="    option http-server-close"), port)
    with Conn(port) as c:
        for i in range(4):
            assert c.request("GET", "/k%d" % i).status == 200
        assert not c.is_closed(0.2)
    # one server connection per request
    assert wait_until(lambda: nodes["a1"].connections == 4, 2), nodes["a1"].connections


@pytest.mark.waxlb_only
def test_one_log_line_per_request(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    p = proxy(config(port, servers(nodes, ["a1"])), port)
    mark = p.mark()
    with Conn(port) as c:
        for i in range(5):
            assert c.request("GET", "/logged-%d" % i).status == 200
    assert http(port, "GET", "/nosuch-denied", host="x").status == 200
    p.wait_for_log(r"/nosuch-denied", 3, since=mark)
    for i in range(5):
        assert len(p.find_log(r"/logged-%d\b" % i, since=mark)) == 1, p.log()


# ------------------------------------------------------------------ more HAProxy semantics
ACL_CFG = """defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%(port)d
    acl h_exact   hdr(host) -i Exact.example
    acl h_end     hdr_end(host) -i .wax.io
    acl h_dom     hdr_dom(host) -i dom.example
    acl h_sub     hdr_sub(x-tag) blue
    acl p_exact   path /exact
    acl p_dir     path_dir api
    acl p_sub     path_sub needle
    acl p_end     path_end .png
    acl m_put     method PUT DELETE
    acl from_net  src 10.0.0.0/8
    acl from_lo   src 127.0.0.1
    use_backend r1 if h_exact
    use_backend r2 if h_end
    use_backend r3 if h_dom
    use_backend r4 if h_sub
    use_backend r5 if p_exact
    use_backend r6 if p_dir
    use_backend r7 if p_sub
    use_backend r8 if p_end m_put
    use_backend r9 if from_net
    use_backend r10 if { path_beg /or1 } || { path_beg /or2 }
    use_backend r11 unless from_lo
    use_backend r12 if !p_exact { path_beg /neg }
    default_backend r0
%(backends)s
"""

ACL_ROWS = [
    ("GET", "/x", "exact.EXAMPLE", [], "r1"),
    ("GET", "/x", "Exact.example:80", [], "r0"),     # hdr() compares the whole value, port included
    ("GET", "/x", "node.WAX.io", [], "r2"),
    ("GET", "/x", "wax.io", [], "r0"),
    ("GET", "/x", "a.dom.example", [], "r3"),
    ("GET", "/x", "dom.example", [], "r3"),
    ("GET", "/x", "xdom.example", [], "r0"),
    ("GET", "/x", "h", ["X-Tag: light-blue-ish"], "r4"),
    ("GET", "/x", "h", ["X-Tag: BLUE"], "r0"),        # no -i: case sensitive
    ("GET", "/exact", "h", [], "r5"),
    ("GET", "/exact?q=1", "h", [], "r5"),            # path excludes the query string
    ("GET", "/exact/", "h", [], "r0"),
    ("GET", "/v1/api/x", "h", [], "r6"),
    ("GET", "/v1/apix", "h", [], "r0"),
    ("GET", "/hay/needle/stack", "h", [], "r7"),
    ("PUT", "/img.png", "h", [], "r8"),
    ("GET", "/img.png", "h", [], "r0"),
    ("DELETE", "/img.png", "h", [], "r8"),
    ("GET", "/or2/x", "h", [], "r10"),
    ("GET", "/neg", "h", [], "r12"),
]


def test_acl_table(proxy, nodes):
    names = sorted({r[4] for r in ACL_ROWS} | {"r9", "r11"})
    for n in names:
        nodes.api(n)
    port = free_port_fn()
    backends = "\n".join("backend %s\n    server %s 127.0.0.1:%d" % (n, n, nodes.port(n)) for n in names)
    proxy(ACL_CFG % dict(port=port, backends=backends), port)
    bad = []
    for method, path, host, hdrs, want in ACL_ROWS:
        r = http(port, method, path, headers=hdrs, host=host, body=b"x" if method == "PUT" else b"")
        if r.node != want:
            bad.append((method, path, host, hdrs, want, r.node, r.status))
    assert not bad, bad


def test_balance_first(proxy, nodes):
    for n in ("a1", "a2", "a3"):
        nodes.api(n)
    port = free_port_fn()
    proxy(config(port, "    balance first\n" + servers(nodes, ["a1", "a2", "a3"], "maxconn 1"),
                  defaults="    timeout queue 5s"), port)
    assert [http(port, "GET", "/x").node for _ in range(4)] == ["a1"] * 4
    res = concurrently([lambda: http(port, "GET", "/slow?ms=600"), lambda: http(port, "GET", "/slow?ms=600"),
                        lambda: http(port, "GET", "/x")])
    assert [r.node for r, s, e in res] == ["a1", "a2", "a3"], res


def test_leastconn_http(proxy, nodes):
    for n in ("a1", "a2"):
        nodes.api(n)
    port = free_port_fn()
    proxy(config(port, "    balance leastconn\n" + servers(nodes, ["a1", "a2"])), port)
    # a long request holds one server; the following short ones all go to the other
    res = concurrently([lambda: http(port, "GET", "/slow?ms=1000")]
                       + [lambda: http(port, "GET", "/x") for _ in range(4)])
    busy = res[0][0].node
    assert all(r.status == 200 and r.node != busy for r, s, e in res[1:]), res


def test_disabled_and_weight0(proxy, nodes):
    for n in ("a1", "a2", "a3"):
        nodes.api(n)
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"]) + "\n" + servers(nodes, ["a2"], "disabled") + "\n"
                 + servers(nodes, ["a3"], "weight 0")), port)
    assert {http(port, "GET", "/x").node for _ in range(6)} == {"a1"}


# HAProxy 2.6 (weights 2:3:5, fresh start), period 10
HAPROXY_235 = ["a3", "a2", "a3", "a1", "a3", "a2", "a3", "a2", "a3", "a1"]


def test_weighted_roundrobin_2_3_5(proxy, nodes):
    for n in ("a1", "a2", "a3"):
        nodes.api(n)
    port = free_port_fn()
    proxy(config(port, "    balance roundrobin\n" + servers(nodes, ["a1"], "weight 2") + "\n"
                 + servers(nodes, ["a2"], "weight 3") + "\n" + servers(nodes, ["a3"], "weight 5")), port)
    with Conn(port) as c:
        seq = [c.request("GET", "/x").node for _ in range(20)]
    # HAProxy 2.6's sequence from a fresh start
    assert seq[:10] == HAPROXY_235, ",".join(seq)
    assert seq[10:] == seq[:10]


def test_httpclose(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"]), defaults="    option httpclose"), port)
    with Conn(port) as c:
        assert c.request("GET", "/x").status == 200
        assert c.is_closed(2.0)


def test_keepalive_timeout(proxy, nodes):
    nodes.api("a1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["a1"]), defaults="    timeout http-keep-alive 300"), port)
    with Conn(port) as c:
        assert c.request("GET", "/x").status == 200
        t = time.time()
        assert c.is_closed(3.0)
        assert 0.2 <= time.time() - t < 2.0
        assert c.buf == b"", "an idle keep-alive close sends nothing"


def test_tunnel_timeout(proxy, nodes):
    """After the upgrade, `timeout tunnel` replaces the client/server timeouts (the seed uses 35 s)."""
    nodes.ship("s1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["s1"]), defaults="    timeout client 500\n    timeout server 500\n"
                 "    timeout tunnel 2500"), port)

    async def go():
        async with websockets.connect("ws://127.0.0.1:%d/" % port, max_size=None, compression=None,
                                      ping_interval=None, open_timeout=5) as ws:
            await asyncio.wait_for(ws.recv(), 5)
            await asyncio.sleep(1.2)  # idle longer than client/server timeouts: the tunnel survives
            await ws.send(b"\x00")
            assert len(await asyncio.wait_for(ws.recv(), 5)) == 121
            t = time.time()
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 6)  # idle longer than timeout tunnel: closed
            return time.time() - t
    idle = asyncio.run(asyncio.wait_for(go(), 15))
    assert 2.0 <= idle < 4.5, idle


def test_ipv6_loopback(proxy):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        pytest.skip("no ::1")
    n = fakenodes.Nodes(host="::1")
    try:
        a = n.api("a6")
        port = free_port_fn()
        cfg = config(port, "    server a6 [::1]:%d" % a).replace("bind 127.0.0.1:%d" % port,
                                                                    "bind [::1]:%d" % port)
        p = proxy(cfg, None)
        assert __import__("conftest").wait_port(port, 10, p.proc, host="::1")
        data = raw(port, req("GET /v6 HTTP/1.1", "Host: x"), host="::1")
        r = parse_all(data)[0]
        assert r.status == 200 and r.node == "a6" and r.json()["xff"] is None
    finally:
        n.close()


def test_ws_close_propagates(proxy, nodes):
    """A SHIP node that dies closes its clients' tunnels promptly; a client that leaves frees the server side."""
    nodes.ship("s1")
    port = free_port_fn()
    proxy(config(port, servers(nodes, ["s1"]), defaults="    timeout tunnel 30s"), port)

    async def go():
        a = await websockets.connect("ws://127.0.0.1:%d/" % port, max_size=None, compression=None,
                                     ping_interval=None, open_timeout=5)
        b = await websockets.connect("ws://127.0.0.1:%d/" % port, max_size=None, compression=None,
                                     ping_interval=None, open_timeout=5)
        await asyncio.wait_for(a.recv(), 5)
        await asyncio.wait_for(b.recv(), 5)
        assert nodes.ws_active() == {"s1": 2}
        # the client goes away without a close handshake: the node's session ends
        b.transport.abort()
        for _ in range(100):
            if nodes.ws_active()["s1"] == 1:
                break
            await asyncio.sleep(0.02)
        assert nodes.ws_active()["s1"] == 1
        # the node dies: the client's tunnel is closed, not left hanging until timeout tunnel
        t = time.time()
        await asyncio.get_running_loop().run_in_executor(None, nodes.stop, "s1")
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(a.recv(), 5)
        return time.time() - t
    took = asyncio.run(asyncio.wait_for(go(), 20))
    assert took < 2.0, took
