"""HAProxy's traffic counters, compared with Debian's haproxy 2.6 after identical traffic on one configuration and
the same fake nodes: the `show stat` columns hrsp_1xx..hrsp_other, req_tot, cli_abrt, srv_abrt, wretr, wredis,
eresp (and stot, econ) on every FRONTEND, BACKEND and server row, which rows leave them empty, and the Prometheus
series haproxy_{frontend,backend,server}_http_responses_total{code=...}, *_http_requests_total,
*_client_aborts_total, *_server_aborts_total, *_retry_warnings_total, *_redispatch_warnings_total,
*_response_errors_total (and *_connection_errors_total, *_sessions_total). Values are compared as differences
over the traffic, so that what each proxy counted while starting (the readiness probe) drops out."""
import os
import re
import socket
import tempfile

import pytest

from conftest import (Conn, free_port_fn, http, parse_all, raw, req, show_stat, wait_stats_sock, wait_until)

COLS = ["stot", "econ", "eresp", "wretr", "wredis", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx",
        "hrsp_other", "req_tot", "cli_abrt", "srv_abrt"]
PROM = re.compile(r"^haproxy_(frontend|backend|server)_(http_responses_total|http_requests_total|"
                  r"client_aborts_total|server_aborts_total|retry_warnings_total|redispatch_warnings_total|"
                  r"response_errors_total|connection_errors_total|sessions_total)(\{[^}]*\})? (\S+)$")

CONFIG = """global
    maxconn 1000
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 200ms
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    http-request deny if {{ path /deny }}
    use_backend rb if {{ path_beg /r/ }}
    use_backend eb if {{ path_beg /e/ }}
    use_backend sb if {{ path_beg /slow }}
    use_backend db if {{ path_beg /d/ }}
    use_backend dead if {{ path_beg /dead/ }}
    use_backend none if {{ path_beg /none/ }}
    default_backend be
frontend metrics
    bind 127.0.0.1:{mport}
    http-request use-service prometheus-exporter
backend be
    balance roundrobin
    server a1 127.0.0.1:{a1}
    server a2 127.0.0.1:{a2}
backend rb
    balance roundrobin
    option redispatch
    retry-on 503
    server r1 127.0.0.1:{r1}
    server r2 127.0.0.1:{a2}
backend eb
    retries 2
    retry-on empty-response
    server e1 127.0.0.1:{e1}
backend sb
    timeout server 300ms
    server s1 127.0.0.1:{a1}
backend db
    balance roundrobin
    option redispatch
    retries 2
    server d1 127.0.0.1:{dead}
    server d2 127.0.0.1:{a2}
backend dead
    retries 1
    server x1 127.0.0.1:{dead}
backend none
    server n1 127.0.0.1:{a1} disabled
listen tcpx
    mode tcp
    bind 127.0.0.1:{tport}
    server t1 127.0.0.1:{a1}
"""


def counters(sock):
    return show_stat(sock)


def prometheus(mport):
    out = {}
    for line in http(mport, "GET", "/metrics").body.decode().splitlines():
        m = PROM.match(line)
        if m:
            out[(m.group(1), m.group(2), m.group(3) or "")] = float(m.group(4))
    return out


def quiet(sock):
    """Every session is over: no frontend or backend has one open (haproxy too has ended its streams)."""
    def done():
        rows = show_stat(sock)
        return all(r["scur"] == "0" for k, r in rows.items() if k[1] in ("FRONTEND", "BACKEND"))
    assert wait_until(done, 5), show_stat(sock)


def delta(before, after):
    """Per row: each column's growth, or '' where the proxy leaves the column empty."""
    out = {}
    for k, row in after.items():
        out[k] = {c: (int(row[c]) - int(before[k][c] or 0)) if row[c] != "" else "" for c in COLS}
    return out


def run(proxy, binary, nodes, name, traffic):
    ports = dict(port=free_port_fn(), mport=free_port_fn(), tport=free_port_fn(), dead=free_port_fn())
    sock = os.path.join(tempfile.mkdtemp(prefix="counters-"), name + ".sock")
    cfg = CONFIG.format(sock=sock, a1=nodes.port("a1"), a2=nodes.port("a2"), r1=nodes.port("r1"),
                        e1=nodes.port("e1"), **ports)
    p = proxy(cfg, ports["port"], binary=binary, name=name)
    try:
        wait_stats_sock(sock)
        for n in ("a1", "a2", "r1", "e1"):
            nodes.reset(n)
        nodes.set("r1", fail=503)
        quiet(sock)
        s0, m0 = counters(sock), prometheus(ports["mport"])
        traffic(ports, nodes)
        quiet(sock)
        s1, m1 = counters(sock), prometheus(ports["mport"])
    finally:
        p.stop()
    return delta(s0, s1), {k: v - m0.get(k, 0) for k, v in m1.items()}


def both(proxy, haproxy, nodes, traffic):
    for n in ("a1", "a2", "r1", "e1"):
        if n not in nodes.nodes:
            nodes.api(n)
    w = run(proxy, None, nodes, "waxlb", traffic)
    h = run(proxy, haproxy, nodes, "haproxy", traffic)
    return w, h


def compare(w, h):
    (ws, wm), (hs, hm) = w, h
    assert sorted(ws) == sorted(hs)
    diffs = ["%s/%s %s: waxlb %r, haproxy %r" % (k[0], k[1], c, ws[k][c], hs[k][c])
             for k in sorted(hs) for c in COLS if ws[k][c] != hs[k][c]]
    assert not diffs, "show stat differs:\n" + "\n".join(diffs)
    assert sorted(wm) == sorted(hm), "Prometheus series differ: only waxlb %s, only haproxy %s" % (
        sorted(set(wm) - set(hm)), sorted(set(hm) - set(wm)))
    diffs = ["%s %s%s: waxlb %s, haproxy %s" % (k[0], k[1], k[2], wm[k], hm[k]) for k in sorted(hm) if wm[k] != hm[k]]
    assert not diffs, "Prometheus differs:\n" + "\n".join(diffs)


# ------------------------------------------------------------------ traffic
def responses(ports, nodes):
    """Answers of every class from the servers and from the proxy itself."""
    port = ports["port"]
    for _ in range(3):
        assert http(port, "GET", "/x").status == 200
    for code in (404, 302, 500):
        assert http(port, "GET", "/status?code=%d" % code).status == code
    rs = parse_all(raw(port, req("POST /x HTTP/1.1", "Host: x", "Content-Length: 3", "Expect: 100-continue",
                                 body=b"abc")))
    assert [r.status for r in rs] == [100, 200]                  # a 1xx counted on the server only
    with Conn(port) as c:                                        # keep-alive: one count per request
        for i in range(3):
            assert c.request("GET", "/k%d" % i).status == 200
    assert http(port, "GET", "/deny").status == 403              # the frontend only
    assert raw(port, b"GET / HTTP/1.1\r\nno colon\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert http(port, "GET", "/none/").status == 503             # no usable server: the backend's econ
    raw(port, b"", timeout=0.5)                                  # a probe: counted as a 400 by haproxy
    # tcp mode: no HTTP columns, sessions counted
    with socket.create_connection(("127.0.0.1", ports["tport"])) as s:
        s.sendall(b"GET /t HTTP/1.0\r\n\r\n")
        while s.recv(65536):
            pass


def errors(ports, nodes):
    """Invalid, truncated and late responses; clients that leave mid-response or mid-request."""
    port = ports["port"]
    assert http(port, "GET", "/garbage").status == 502                     # eresp
    assert http(port, "GET", "/drop").status == 502
    assert http(port, "GET", "/slow?ms=1500").status == 504                # eresp, no abort
    assert raw(port, req("GET /trunc?size=100000&send=1000 HTTP/1.1", "Host: x"),
               until_close=True).startswith(b"HTTP/1.1 200")               # srv_abrt and eresp
    with socket.create_connection(("127.0.0.1", port)) as s:               # client leaves mid-response
        s.sendall(req("GET /big?size=50000000 HTTP/1.1", "Host: x"))
        assert s.recv(1000).startswith(b"HTTP/1.1 200")
    with socket.create_connection(("127.0.0.1", port)) as s:               # ... and mid-request body
        s.sendall(req("POST /x HTTP/1.1", "Host: x", "Content-Length: 100000") + b"x" * 1000)


def retries(ports, nodes):
    """Retries and redispatches: a 503 replayed elsewhere, an empty response replayed on the same server,
    refused connections redispatched or given up."""
    port = ports["port"]
    for i in range(3):
        r = http(port, "GET", "/r/%d" % i)
        assert (r.status, r.node) == (200, "a2")
    nodes.set("e1", fail="drop", fail_count=1)
    r = http(port, "GET", "/e/1")
    assert (r.status, r.node) == (200, "e1")
    for i in range(2):
        assert http(port, "GET", "/d/%d" % i).status == 200
    assert http(port, "GET", "/dead/").status == 503


@pytest.mark.parametrize("traffic", [responses, errors, retries], ids=["responses", "errors", "retries"])
def test_counters_match_haproxy(proxy, haproxy, nodes, traffic):
    w, h = both(proxy, haproxy, nodes, traffic)
    compare(w, h)
    # and they counted something: the comparison is not between two zeros
    ws = w[0]
    if traffic is responses:
        assert ws[("fe", "FRONTEND")]["hrsp_2xx"] >= 7 and ws[("be", "BACKEND")]["req_tot"] >= 10
        assert ws[("be", "a1")]["hrsp_1xx"] + ws[("be", "a2")]["hrsp_1xx"] == 1
        assert ws[("tcpx", "FRONTEND")]["hrsp_2xx"] == "" and ws[("tcpx", "t1")]["stot"] == 1
    elif traffic is errors:
        assert ws[("be", "BACKEND")]["eresp"] >= 3 and ws[("be", "BACKEND")]["srv_abrt"] == 1
        assert ws[("be", "BACKEND")]["cli_abrt"] == 2 and ws[("fe", "FRONTEND")]["hrsp_other"] == 1
    else:
        assert ws[("rb", "r1")]["wredis"] >= 1 and ws[("eb", "e1")]["wretr"] == 2
        assert ws[("db", "d1")]["wredis"] >= 1 and ws[("dead", "x1")]["econ"] == 1


@pytest.mark.waxlb_only
def test_counters_survive_reload(proxy, nodes, tmp_path):
    """The counters are kept by proxy and server name over a reload (SIGHUP), like the others."""
    import signal
    for n in ("a1", "a2", "r1", "e1"):
        if n not in nodes.nodes:
            nodes.api(n)
    nodes.set("r1", fail=503)
    sock = str(tmp_path / "s.sock")
    ports = dict(port=free_port_fn(), mport=free_port_fn(), tport=free_port_fn(), dead=free_port_fn())
    cfg = CONFIG.format(sock=sock, a1=nodes.port("a1"), a2=nodes.port("a2"), r1=nodes.port("r1"),
                        e1=nodes.port("e1"), **ports)
    p = proxy(cfg, ports["port"])
    wait_stats_sock(sock)
    for i in range(2):
        assert http(ports["port"], "GET", "/r/%d" % i).status == 200
    before = show_stat(sock)
    mark = p.mark()
    p.proc.send_signal(signal.SIGHUP)
    p.wait_for_log(r"Reload complete", 5, since=mark)
    wait_stats_sock(sock)
    after = show_stat(sock)
    for k in (("fe", "FRONTEND"), ("rb", "BACKEND"), ("rb", "r1"), ("rb", "r2")):
        for c in ("hrsp_2xx", "req_tot", "wretr", "wredis"):
            if before[k].get(c, "") != "":
                assert after[k][c] == before[k][c], (k, c)
    assert int(after[("rb", "BACKEND")]["wredis"]) >= 1


@pytest.mark.parametrize("ignore", [False, True], ids=["probes", "ignore-probes"])
def test_probes_counted_as_haproxy(proxy, haproxy, nodes, tmp_path, ignore):
    """A connection that sends nothing, closing or timing out (timeout http-request): HAProxy counts each as a
    request answered 400 or 408 on the frontend, unless option http-ignore-probes, with which the timeout also
    closes quietly instead of answering 408."""
    nodes.api("a1")
    got = {}
    for name, binary in (("waxlb", None), ("haproxy", haproxy)):
        port, sock = free_port_fn(), str(tmp_path / (name + ".sock"))
        cfg = ("global\n    stats socket %s level admin\ndefaults\n    mode http\n    timeout connect 1s\n"
               "    timeout client 5s\n    timeout server 5s\n    timeout http-request 300ms\n%s"
               "frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\nbackend be\n"
               "    server a1 127.0.0.1:%d\n") % (sock, "    option http-ignore-probes\n" if ignore else "", port,
                                                   nodes.port("a1"))
        p = proxy(cfg, port, binary=binary, name=name)
        try:
            wait_stats_sock(sock)
            quiet(sock)
            before = show_stat(sock)
            raw(port, b"", shut=True)                                  # closes at once
            answer = raw(port, b"", until_close=True, timeout=5)       # waits for timeout http-request
            quiet(sock)
            d = delta(before, show_stat(sock))[("fe", "FRONTEND")]
            got[name] = answer[:12], d["req_tot"], d["hrsp_4xx"]
        finally:
            p.stop()
    assert got["waxlb"] == got["haproxy"] == ((b"", 0, 0) if ignore else (b"HTTP/1.1 408", 2, 2))
