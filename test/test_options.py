"""Proxy options that were accepted without effect before issue 11, side by side with Debian's haproxy:
forwardfor's arguments, originalto, allbackups, http-pretend-keepalive, abortonclose, logasap, and
the TLS handshake failure lines (HAProxy's embryonic-session log)."""
import re
import socket
import time

import pytest

from conftest import HAPROXY, parse_all, raw
from test_rules import BASE, api, fields, get, pair, seen  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not HAPROXY, reason="Debian's haproxy is needed as the reference")


def test_forwardfor_arguments_and_originalto(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    option forwardfor header X-Client if-none
    option originalto header X-Dst
    use_backend ex if { path_beg /ex }
    use_backend ifn if { path_beg /ifn }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
backend ex
    option forwardfor except 127.0.0.0/8
    option originalto except 127.0.0.1
    server s1 127.0.0.1:@NODE1@
backend ifn
    server s1 127.0.0.1:@NODE1@
""")
    for c in (get("/x"), get("/x", "X-Client: 9.9.9.9"), get("/ex"), get("/ifn", "X-Client: 1.1.1.1"),
              get("/ifn")):
        a, b = p.responses(c)
        assert seen(a) == seen(b), (c, seen(a), seen(b))
    a, _ = p.responses(get("/x"))
    assert ("x-client", "127.0.0.1") in seen(a) and ("x-dst", "127.0.0.1") in seen(a)


def test_allbackups(pair, api):
    """With every active server down, allbackups balances over all the backups (roundrobin), where the
    default sends everything to the first one."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    use_backend all if { path_beg /all }
    default_backend first
backend first
    server down 127.0.0.1:1 check inter 100
    server b1 127.0.0.1:@NODE1@ backup
    server b2 127.0.0.1:@NODE2@ backup
backend all
    option allbackups
    server down 127.0.0.1:1 check inter 100
    server b1 127.0.0.1:@NODE1@ backup
    server b2 127.0.0.1:@NODE2@ backup
""")
    p.w.wait_for_log(r"Server all/down is DOWN")
    p.h.wait_for_log(r"Server all/down is DOWN")
    for path, want in (("/first", {"a1"}), ("/all", {"a1", "a2"})):
        got = []
        for port in (p.pw, p.ph):
            nodes = [parse_all(raw(port, get(path)))[-1].node for _ in range(6)]
            got.append(nodes)
        assert got[0] == got[1], (path, got)
        assert set(got[0]) == want, (path, got)


def test_http_pretend_keepalive(pair):
    """http-server-close tells the server "Connection: close"; with pretend-keepalive it does not."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    option http-server-close
    use_backend pretend if { path_beg /p }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
backend pretend
    option http-pretend-keepalive
    server s1 127.0.0.1:@NODE1@
""")
    for path in ("/x", "/p"):
        req = ("GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % path).encode()
        a, b = (parse_all(raw(port, req))[-1] for port in (p.pw, p.ph))
        ca = dict((k.lower(), v) for k, v in a.json()["headers"]).get("connection")
        cb = dict((k.lower(), v) for k, v in b.json()["headers"]).get("connection")
        assert ca == cb, (path, ca, cb)
    r = parse_all(raw(p.pw, b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n"))[-1]
    assert "connection" not in dict((k.lower(), v) for k, v in r.json()["headers"])


def test_abortonclose_drops_a_queued_request(pair):
    """A client that half-closes while its request waits in the queue: dropped with abortonclose (logged
    CQ, the manual's meaning), served without it. HAProxy 2.6's H1 path does not watch a client whose request
    is complete: it serves it, or (when its multiplexer happened to see the shutdown) aborts it once its turn
    comes (CC after the queue wait): not asserted for haproxy (README, option abortonclose)."""
    cfg = BASE + """defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout queue 5s
frontend f
    bind 127.0.0.1:@PORT@
    use_backend abort if { hdr(x-be) abort }
    default_backend keep
backend keep
    server s1 127.0.0.1:@NODE1@ maxconn 1
backend abort
    option abortonclose
    server s1 127.0.0.1:@NODE1@ maxconn 1
"""
    p = pair(cfg)
    for port, proxy, want_abort in ((p.pw, p.w, "CQ"), (p.ph, p.h, None)):
        for path, want in (("/abort", want_abort), ("/keep", "--")):
            be = path[1:]
            hold = socket.create_connection(("127.0.0.1", port))
            hold.sendall(("GET /slow?ms=1500 HTTP/1.1\r\nHost: h\r\nX-Be: %s\r\n\r\n" % be).encode())
            time.sleep(0.2)     # the slot is taken (a timing assumption of the setup, not of the check)
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(("GET %s-queued HTTP/1.1\r\nHost: h\r\nX-Be: %s\r\nConnection: close\r\n\r\n"
                       % (path, be)).encode())
            c.shutdown(socket.SHUT_WR)
            line = proxy.wait_for_log(r"%s-queued" % path, timeout=8).string
            assert want is None or (" %s" % want) in line, ("waxlb" if port == p.pw else "haproxy", path, line)
            c.close()
            hold.close()


def test_logasap(pair):
    p = pair(BASE + """defaults
    mode http
    log global
    option httplog
    option logasap
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:@PORT@
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    p.both(get("/asap"))
    la, lb = p.w.wait_for_log(r"/asap").string, p.h.wait_for_log(r"/asap").string
    # "+" before Ta and the bytes, as HAProxy writes a line logged before the end
    pat = r" \d+/\d+/\d+/\d+/\+\d+ 200 \+\d+ "
    assert re.search(pat, la) and re.search(pat, lb), (la, lb)


def test_tls_handshake_failures_logged_as_haproxy(pair, tmp_path):
    import tlsutil
    c = tlsutil.make_certs(str(tmp_path))
    p = pair(BASE + """defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 1s
    timeout server 5s
frontend f
    bind 127.0.0.2:@PORT@
    bind 127.0.0.1:@PORT@ ssl crt %s
    http-request return status 200
""" % c.wax)
    lines = []
    for port, proxy in ((p.ph, p.h), (p.pw, p.w)):
        mark = proxy.mark()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")          # not TLS: a handshake failure
        try:
            s.recv(100)
        except ConnectionResetError:
            pass
        s.close()
        s = socket.create_connection(("127.0.0.1", port))
        s.close()                                       # closed during the handshake
        s = socket.create_connection(("127.0.0.1", port))
        got = [proxy.wait_for_log(r"f/2: %s" % w, since=mark, timeout=5).string for w in
               ("SSL handshake failure", "Connection closed during SSL handshake",
                "Timeout during SSL handshake")]
        s.close()
        lines.append([fields(g) for g in got])
    assert lines[0] == lines[1], lines
