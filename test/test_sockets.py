"""Socket-level keywords that were accepted without effect before issue 11, side by side with Debian's
haproxy where the effect shows from outside: bind v6only/v4v6, defer-accept, interface, mss, backlog,
maxconn, transparent; option clitcpka/srvtcpka (and their -cnt/-idle/-intvl), nolinger,
idle-close-on-response, http-restrict-req-hdr-names, prefer-last-server; rate-limit sessions,
tune.http.maxhdr, nosplice; server pool-max-conn, pool-purge-delay, max-reuse, init-addr, redir."""
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import HAPROXY, Conn, Proxy, free_port_fn, parse_all, raw, waxlb_cmd
from test_rules import BASE, Pair, api, get, seen  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not HAPROXY, reason="Debian's haproxy is needed as the reference")

RET = "    http-request return status 200 content-type text/plain string %s\n"


class Pair2(Pair):
    """Pair with a second port per binary: @PORT2@ (p.qw for waxlb, p.qh for haproxy)."""

    def __init__(self, cfg, api, tmp_path, ready=True):
        self.pw, self.ph, self.qw, self.qh = (free_port_fn() for _ in range(4))
        sub = lambda c, p, q: (c.replace("@PORT@", str(p)).replace("@PORT2@", str(q))
                               .replace("@NODE1@", str(api.port("a1"))).replace("@NODE2@", str(api.port("a2"))))
        self.w = Proxy(waxlb_cmd(), sub(cfg, self.pw, self.qw), tmp_path, port=self.pw, name="w")
        self.h = Proxy([HAPROXY, "-db"], sub(cfg, self.ph, self.qh), tmp_path, port=self.ph, name="h")

    def ports(self):
        return ((self.w, self.pw, self.qw), (self.h, self.ph, self.qh))


@pytest.fixture
def pair(api, tmp_path):
    made = []

    def make(cfg, ready=True):
        p = Pair2(cfg, api, tmp_path, ready)
        made.append(p)
        return p.start()

    yield make
    for p in made:
        p.stop()


def ss(*args):
    return subprocess.run(["ss", "-H"] + list(args), capture_output=True, text=True, timeout=10).stdout


def has_ipv6():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def body(port, host="127.0.0.1", family=socket.AF_INET):
    s = socket.socket(family)
    s.settimeout(5)
    s.connect((host, port))
    s.sendall(get("/"))
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    return parse_all(buf)[-1].body


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 on loopback")
def test_v6only_dual_stack_pair(pair):
    """`bind :P` + `bind [::]:P v6only`, HAProxy's usual dual-stack pair, starts; each family reaches its
    own frontend. Without v6only (Linux's default bindv6only=0) the second bind conflicts."""
    p = pair(BASE + """frontend f4
    bind :@PORT@
""" + RET % "v4" + """frontend f6
    bind [::]:@PORT@ v6only
""" + RET % "v6" + """frontend f46
    bind [::1]:@PORT2@ v4v6
""" + RET % "v46")
    for _, port, port2 in p.ports():
        assert body(port) == b"v4"
        assert body(port, "::1", socket.AF_INET6) == b"v6"
        assert body(port2, "::1", socket.AF_INET6) == b"v46"


def test_interface_mss_backlog(pair):
    """interface lo: the socket is bound to the device (ss shows 127.0.0.1%lo); mss: the SYN-ACK
    advertises it (the client's MSS is no larger); backlog: ss shows it as the listener's Send-Q, and
    without it the backlog is the frontend's maxconn, as HAProxy's listener_backlog()."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@ interface lo mss 1200 backlog 17
    bind 127.0.0.1:@PORT2@
    maxconn 77
""" + RET % "ok")
    for _, port, port2 in p.ports():
        lines = ss("-ltn", "sport = :%d" % port).splitlines()
        assert len(lines) == 1 and "%lo:" in lines[0], lines
        assert lines[0].split()[2] == "17", lines
        other = ss("-ltn", "sport = :%d" % port2).split()
        assert other[2] == "77", other
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        mss = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
        c.close()
        assert 0 < mss <= 1200, mss


def test_defer_accept(pair):
    """defer-accept: a connection that sends nothing does not take the frontend's only slot; without it,
    a silent client holds the slot and the next one waits in the backlog."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@ defer-accept
    bind 127.0.0.1:@PORT2@
    maxconn 1
    timeout http-request 10s
    log stdout format raw local0
""" + RET % "ok")
    for proc, port, port2 in p.ports():
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)
        assert raw(port, get("/"), timeout=5).startswith(b"HTTP/1.1 200")
        silent.close()
        if proc is p.h:
            continue    # haproxy logs no "Connect from" for a silent client: nothing to wait on
        mark = proc.mark()
        silent = socket.create_connection(("127.0.0.1", port2), timeout=5)
        proc.wait_for_log(r"Connect from", since=mark)
        assert raw(port2, get("/"), timeout=1.5) == b""
        silent.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="IP_TRANSPARENT needs CAP_NET_ADMIN")
def test_transparent_binds_a_foreign_address(pair, tmp_path):
    """transparent: an address the machine does not have can be bound (TPROXY); without it, not."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    bind 198.51.100.7:@PORT@ transparent
""" + RET % "ok")
    for port in (p.pw, p.ph):
        assert ss("-ltn", "sport = :%d" % port).count("198.51.100.7") == 1
    cfg = tmp_path / "plain.cfg"
    cfg.write_text(BASE + "frontend f\n    bind 198.51.100.7:%d\n" % free_port_fn() + RET % "ok")
    out = subprocess.run(waxlb_cmd() + ["-f", str(cfg)], capture_output=True, text=True, timeout=10)
    assert out.returncode != 0 and "cannot bind socket" in out.stdout + out.stderr, out


def test_bind_maxconn_pauses_that_listener(pair):
    """bind maxconn 1: a second client of that listener waits until the first leaves; the frontend's
    other listener still serves."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@ maxconn 1
    bind 127.0.0.1:@PORT2@
    timeout http-keep-alive 10s
""" + RET % "ok")
    for _, port, port2 in p.ports():
        a = Conn(port)
        a.send(get("/").replace(b"Connection: close\r\n", b""))
        assert a.response().status == 200
        assert raw(port, get("/"), timeout=1.0) == b""
        assert raw(port2, get("/"), timeout=5).startswith(b"HTTP/1.1 200")
        b = socket.create_connection(("127.0.0.1", port), timeout=5)
        b.sendall(get("/"))
        a.sock.close()
        assert b.recv(100).startswith(b"HTTP/1.1 200")
        b.close()


def keepalive_timers(port, local):
    """ss timers of the established sockets whose local (or remote) port is <port>."""
    return ss("-tno", "state", "established", "%s = :%d" % ("sport" if local else "dport", port))


def test_tcpka_sets_keepalive_timers(pair, api):
    """option clitcpka on the client sockets (clitcpka-idle is the first probe's delay), srvtcpka on the
    server ones: ss shows a keepalive timer on each."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    option clitcpka
    clitcpka-idle 70
    default_backend b
backend b
    option srvtcpka
    srvtcpka-idle 2m
    http-reuse always
    server s1 127.0.0.1:@NODE1@
""")
    for port in (p.pw, p.ph):
        c = Conn(port)
        c.send(get("/").replace(b"Connection: close\r\n", b""))
        assert c.response().status == 200
        cli = keepalive_timers(port, True)
        assert re.search(r"timer:\(keepalive,1min(9|10)", cli), cli
        srv = [l for l in keepalive_timers(api.port("a1"), False).splitlines() if "keepalive" in l]
        assert any(re.search(r"timer:\(keepalive,(1min5\d|2min)", l) for l in srv), srv
        c.sock.close()


def read_to_eof(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(get("/"))
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            return s, buf
        buf += d


def test_nolinger_resets(pair):
    """option nolinger: after the response and its FIN, the connection is reset (SO_LINGER 0) without
    waiting for the client; without it the client may still send (its close ends the connection)."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    option nolinger
""" + RET % "ok" + """frontend g
    bind 127.0.0.1:@PORT2@
""" + RET % "ok")
    for _, port, port2 in p.ports():
        s, buf = read_to_eof(port)
        assert buf.startswith(b"HTTP/1.1 200")
        end = time.time() + 3
        while s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 and time.time() < end:
            time.sleep(0.02)
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            s.sendall(b"x")
        s.close()
        s, buf = read_to_eof(port2)
        assert buf.startswith(b"HTTP/1.1 200")
        time.sleep(0.3)
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        s.sendall(b"x")
        s.close()


def test_idle_close_on_response(pair):
    """At a soft stop (SIGUSR1) idle keep-alive clients are closed; with idle-close-on-response they are
    kept for one more request, answered with Connection: close."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    option idle-close-on-response
    timeout http-keep-alive 10s
""" + RET % "ok" + """frontend g
    bind 127.0.0.1:@PORT2@
    timeout http-keep-alive 10s
""" + RET % "ok")
    ka = get("/").replace(b"Connection: close\r\n", b"")
    conns = {}
    for proc, port, port2 in p.ports():
        kept, plain = Conn(port), Conn(port2)
        for c in (kept, plain):
            c.send(ka)
            assert c.response().status == 200
        conns[proc] = (kept, plain)
    for proc in conns:
        os.kill(proc.pid, signal.SIGUSR1)
    for proc, (kept, plain) in conns.items():
        plain.sock.settimeout(5)
        assert plain.sock.recv(100) == b""
        kept.send(ka)
        r = kept.response()
        assert r.status == 200 and (r.header("Connection") or "").lower() == "close"
        kept.sock.settimeout(5)
        assert kept.sock.recv(100) == b""


def test_http_restrict_req_hdr_names(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    use_backend del if { path_beg /del }
    use_backend rej if { path_beg /rej }
    default_backend keep
backend keep
    server s1 127.0.0.1:@NODE1@
backend del
    option http-restrict-req-hdr-names delete
    server s1 127.0.0.1:@NODE1@
backend rej
    option http-restrict-req-hdr-names reject
    server s1 127.0.0.1:@NODE1@
""")
    h = ("X_Under: 1", "X-Ok: 2", "X.Dot: 3")
    a, b = p.responses(get("/keep", *h))
    assert seen(a) == seen(b) and ("x_under", "1") in seen(a)
    a, b = p.responses(get("/del", *h))
    assert seen(a) == seen(b)
    names = [k for k, _ in seen(a)]
    assert "x-ok" in names and "x_under" not in names and "x.dot" not in names
    a, b = p.responses(get("/rej", *h))
    assert a.status == b.status == 403
    a, b = p.responses(get("/rej", "X-Ok: 2"))
    assert a.status == b.status == 200


def test_prefer_last_server(pair):
    """http-reuse never keeps the session's server connection; prefer-last-server sends the client's next
    requests to that server instead of balancing them."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    use_backend pref if { path_beg /pref }
    default_backend rr
backend rr
    http-reuse never
    server s1 127.0.0.1:@NODE1@
    server s2 127.0.0.1:@NODE2@
backend pref
    http-reuse never
    option prefer-last-server
    server s1 127.0.0.1:@NODE1@
    server s2 127.0.0.1:@NODE2@
""")
    for port in (p.pw, p.ph):
        for path, distinct in (("/rr", 2), ("/pref", 1)):
            c = Conn(port)
            nodes = set()
            for _ in range(4):
                c.send(get(path).replace(b"Connection: close\r\n", b""))
                nodes.add(c.response().json()["node"])
            c.sock.close()
            assert len(nodes) == distinct, (port, path, nodes)


def test_tune_http_maxhdr(pair):
    """tune.http.maxhdr N counts the request line: N-1 headers pass, one more is a 400. As in HAProxy, a
    Connection header of close/keep-alive tokens only does not count (HAProxy's parser drops it)."""
    p = pair(BASE.replace("global\n", "global\n    tune.http.maxhdr 5\n") + """frontend f
    bind 127.0.0.1:@PORT@
""" + RET % "ok")
    for k, status in ((3, 200), (4, 400), (6, 400)):   # get() adds Host and Connection: close
        a, b = p.responses(get("/", *["X-H%d: v" % i for i in range(k)]))
        assert a.status == b.status == status, (k, a.status, b.status)
    a, b = p.responses(get("/", "X-A: 1", "X-B: 2", "X-C: 3", "Connection: upgrade"))
    assert a.status == b.status == 400


def test_default_maxhdr_is_haproxys(pair):
    p = pair(BASE + "frontend f\n    bind 127.0.0.1:@PORT@\n" + RET % "ok")
    for k, status in ((99, 200), (100, 400)):
        a, b = p.responses(get("/", *["X-H%d: v" % i for i in range(k)]))
        assert a.status == b.status == status, (k, a.status, b.status)


@pytest.mark.waxlb_only
def test_rate_limit_sessions(proxy, free_port):
    """rate-limit sessions 2: the third connection of a burst is accepted in the next second only."""
    port = free_port()
    proxy(BASE + "frontend f\n    bind 127.0.0.1:%d\n    rate-limit sessions 2\n" % port + RET % "ok", port)
    time.sleep(1.1)   # the readiness probe's connection counted in the current second
    start = time.time()
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    for s in socks:
        s.sendall(get("/"))
    done = []
    for s in socks:
        assert s.recv(100).startswith(b"HTTP/1.1 200")
        done.append(time.time() - start)
        s.close()
    assert done[2] >= 0.9, done


@pytest.mark.waxlb_only
def test_maxconnrate(proxy, free_port):
    port = free_port()
    proxy("global\n    maxconnrate 1\n" + BASE[len("global\n"):] + "frontend f\n    bind 127.0.0.1:%d\n" % port
          + RET % "ok", port)
    time.sleep(1.1)
    start = time.time()
    a = raw(port, get("/"), timeout=5)
    b = raw(port, get("/"), timeout=5)
    assert a.startswith(b"HTTP/1.1 200") and b.startswith(b"HTTP/1.1 200")
    assert time.time() - start >= 0.9


def pipes(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("pipe:")
        except OSError:
            pass
    return n


@pytest.mark.waxlb_only
@pytest.mark.parametrize("nosplice", [False, True])
def test_nosplice(proxy, free_port, nosplice):
    """A plain tunnel is spliced through kernel pipes, unless the global section says nosplice."""
    port, upport = free_port(), free_port()
    cfg = ("global\n" + ("    nosplice\n" if nosplice else "") + "defaults\n    mode tcp\n    retries 0\n    timeout connect 2s\n"
           "    timeout client 5s\n    timeout server 5s\nlisten t\n    bind 127.0.0.1:%d\n    server s 127.0.0.1:%d\n"
           % (port, upport))
    pr = proxy(cfg, port)
    # listening only now: the readiness probe's tunnel found no server
    up = socket.socket()
    up.bind(("127.0.0.1", upport))
    up.listen(1)
    up.settimeout(5)
    before = pipes(pr.pid)
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    data = os.urandom(1 << 20)
    got, sender = b"", threading.Thread(target=c.sendall, args=(data,), daemon=True)
    sender.start()
    for _ in range(3):   # the readiness probe's tunnel may come first: it brings nothing
        s, _ = up.accept()
        s.settimeout(5)
        for _ in range(10000):
            d = s.recv(1 << 20)
            got += d
            if not d or len(got) >= len(data):
                break
        if got:
            break
        s.close()
    assert got == data
    grew = pipes(pr.pid) - before
    c.close()
    s.close()
    up.close()
    assert (grew == 0) if nosplice else (grew > 0), grew


def test_pool_max_conn_and_max_reuse(pair):
    """pool-max-conn 0 keeps no idle server connection; max-reuse 1 lets one carry two requests."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    use_backend none if { path_beg /none }
    default_backend two
backend none
    http-reuse always
    server s1 127.0.0.1:@NODE1@ pool-max-conn 0
backend two
    http-reuse always
    server s1 127.0.0.1:@NODE2@ max-reuse 1
""")
    for port in (p.pw, p.ph):
        peers = [raw_json(port, "/none")["conn_req"] for _ in range(3)]
        assert peers == [1, 1, 1], peers
    # HAProxy 2.6 applies max-reuse to HTTP/2 and FastCGI server connections only (its manual: "not
    # necessarily respected by the lower layers"); waxlb's are HTTP/1.1 and it applies it to them
    ranks = [raw_json(p.pw, "/two")["conn_req"] for _ in range(4)]
    assert ranks == [1, 2, 1, 2], ranks


def test_pool_purge_delay_zero(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    default_backend b
backend b
    http-reuse always
    server s1 127.0.0.1:@NODE1@ pool-purge-delay 0
""")
    for port in (p.pw, p.ph):
        assert [raw_json(port, "/")["conn_req"] for _ in range(3)] == [1, 1, 1]


def raw_json(port, path):
    return parse_all(raw(port, get(path), timeout=5))[-1].json()


def test_server_redir(pair):
    """redir PREFIX: GET and HEAD routed to the server get a 302 to PREFIX + path; other methods go to it."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@ redir http://img.example
""")
    a, b = p.responses(get("/a/b?c=d"))
    assert a.status == b.status == 302
    assert a.header("Location") == b.header("Location") == "http://img.example/a/b?c=d"
    assert (a.header("Cache-Control"), a.header("Connection")) == (b.header("Cache-Control"),
                                                                    b.header("Connection"))
    a, b = p.responses(get("/p", method="POST", body=b"x"))
    assert a.status == b.status == 200 and a.json()["node"] == "a1"


def test_init_addr(pair, tmp_path):
    """init-addr: an unresolvable name falls back to the IP given, or starts the server in maintenance
    ("none"); with the default (last,libc) it is an error."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    use_backend ip if { path_beg /ip }
    default_backend none
backend ip
    server s1 unresolvable.invalid:@NODE1@ init-addr last,libc,127.0.0.1
backend none
    server s1 unresolvable.invalid:@NODE1@ init-addr libc,none
""")
    a, b = p.responses(get("/ip"))
    assert a.status == b.status == 200 and a.json()["node"] == "a1"
    a, b = p.responses(get("/x"))
    assert a.status == b.status == 503
    cfg = tmp_path / "unres.cfg"
    cfg.write_text(BASE + "backend b\n    server s1 unresolvable.invalid:80\n")
    for cmd in ([HAPROXY], waxlb_cmd()):
        out = subprocess.run(cmd + ["-c", "-f", str(cfg)], capture_output=True, text=True, timeout=20)
        assert out.returncode != 0 and "could not resolve address 'unresolvable.invalid'" in \
            out.stdout + out.stderr, out


@pytest.mark.parametrize("line,msg", [
    ("bind 127.0.0.1:1 mss 0", "absolute value between 1 and 65535"),
    ("bind 127.0.0.1:1 backlog lots", "bind option 'backlog' expects a positive integer"),
    ("bind 127.0.0.1:1 interface an-interface-name-too-long", "is not an interface name"),
    ("option http-restrict-req-hdr-names sometimes", "expects 'preserve', 'delete' or 'reject'"),
    ("rate-limit connections 5", "'rate-limit' expects 'sessions'"),
    ("clitcpka-idle 10ms", "a time of at least 1s"),
])
def test_refused_values(tmp_path, line, msg):
    cfg = tmp_path / "r.cfg"
    cfg.write_text("defaults\n    mode http\nfrontend f\n    bind 127.0.0.1:2\n    %s\n" % line)
    out = subprocess.run(waxlb_cmd() + ["-c", "-f", str(cfg)], capture_output=True, text=True, timeout=10)
    assert out.returncode != 0 and "%s:5: " % cfg in out.stderr and msg in out.stderr, out.stderr


@pytest.mark.waxlb_only
def test_maxhdr_above_the_table_is_refused(tmp_path):
    cfg = tmp_path / "m.cfg"
    cfg.write_text("global\n    tune.http.maxhdr 102\n")
    out = subprocess.run(waxlb_cmd() + ["-c", "-f", str(cfg)], capture_output=True, text=True, timeout=10)
    assert out.returncode != 0 and "%s:2: 'tune.http.maxhdr 102' is not supported" % cfg in out.stderr, out.stderr
    assert "use 101" in out.stderr


@pytest.mark.waxlb_only
@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 on loopback")
def test_reload_retunes_kept_sockets(proxy, free_port):
    """A reload keeps a listener on the same address and applies its new backlog; changing v6only on it
    is refused (a bound socket cannot change it) and the running configuration stays."""
    port, port6 = free_port(), free_port()
    cfg = BASE + "frontend f\n    bind 127.0.0.1:%d backlog 17\n    bind [::]:%d\n" % (port, port6) + RET % "ok"
    pr = proxy(cfg, port)
    with open(pr.path, "w") as f:
        f.write(cfg.replace("backlog 17", "backlog 23"))
    mark = pr.mark()
    os.kill(pr.pid, signal.SIGHUP)
    pr.wait_for_log(r"Reload complete", since=mark)
    assert ss("-ltn", "sport = :%d" % port).split()[2] == "23"
    with open(pr.path, "w") as f:
        f.write(cfg.replace("bind [::]:%d" % port6, "bind [::]:%d v6only" % port6))
    mark = pr.mark()
    os.kill(pr.pid, signal.SIGHUP)
    pr.wait_for_log(r"'v6only' on \[\[::\]:%d\] cannot change on a listening socket" % port6, since=mark)
    pr.wait_for_log(r"Reload failed", since=mark)
    assert ss("-ltn", "sport = :%d" % port).split()[2] == "23"
    assert raw(port, get("/"), timeout=5).startswith(b"HTTP/1.1 200")
