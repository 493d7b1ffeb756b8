"""Reloads (SIGHUP) with work in flight: what runs on the old configuration after the new one took over.

The old and the new configuration share each server's runtime state (counters, health, in-flight count) but each
keeps its own balancer; a request still on the old configuration (a redispatch, a pipelined request, one queued
where it could not move) is served by it; a request that moved to the new configuration keeps that one alive;
a TLS handshake begun before the reload finishes with the certificate it began with; a connect timeout with
retries left retries. Several of these were use-after-free bugs: test_asan.py runs this file on ./waxlb-asan,
where any sanitizer report fails it.

Readiness is observed, never slept for: the servers here record what they received and answer when the test
says so, the stats socket shows slots and queues, and the log says when a reload is complete."""
import csv
import io
import os
import signal
import socket
import ssl
import threading

import pytest

import tlsutil
from conftest import parse_response, wait_until

pytestmark = pytest.mark.waxlb_only


# ------------------------------------------------------------------ helpers
class HeldServer:
    """An HTTP/1.1 server (keep-alive) whose answers wait: each request's path is recorded on arrival, and it is
    answered (200, body "served PATH", X-Node: NAME) once the test releases that path."""

    def __init__(self, name="held"):
        self.name = name
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.got = []
        self.released = set()
        self.closing = False
        self.cond = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        d = c.recv(65536)
                    except OSError:
                        return
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                path = head.split(b" ")[1].decode()
                with self.cond:
                    self.got.append(path)
                    self.cond.notify_all()
                    self.cond.wait_for(lambda: path in self.released or self.closing)
                    if self.closing:
                        return
                body = ("served %s\n" % path).encode()
                try:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Node: %s\r\n\r\n%s"
                              % (len(body), self.name.encode(), body))
                except OSError:
                    return

    def wait_got(self, path, timeout=10):
        with self.cond:
            assert self.cond.wait_for(lambda: path in self.got, timeout), \
                "%s never reached the server (got %s)" % (path, self.got)

    def release(self, path):
        with self.cond:
            self.released.add(path)
            self.cond.notify_all()

    def close(self):
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self.sock.close()


class Blackhole:
    """A port whose accept queue is full and never drained: a connect to it stays pending (its SYNs are dropped)
    until the connecting side gives up. Filled until a probe connect no longer completes."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(0)
        self.port = self.lsock.getsockname()[1]
        self.fill = []
        for _ in range(16):
            probe = socket.socket()
            probe.settimeout(0.5)
            try:
                probe.connect(("127.0.0.1", self.port))
            except socket.timeout:
                probe.close()
                return
            self.fill.append(probe)     # it took a place in the queue: keep it there
        raise AssertionError("the accept queue of port %d never filled" % self.port)

    def close(self):
        for s in self.fill:
            s.close()
        self.lsock.close()


@pytest.fixture
def held():
    made = []

    def make(name="held"):
        made.append(HeldServer(name))
        return made[-1]
    yield make
    for h in made:
        h.close()


@pytest.fixture
def blackhole():
    b = Blackhole()
    yield b
    b.close()


def api(path, line):
    """One runtime API command on the stats socket; the answer (the socket closes after it)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall(line.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


def stat(path, px, sv):
    """One row of `show stat` as a dict."""
    text = api(path, "show stat")
    rows = list(csv.reader(io.StringIO(text[2:].strip())))
    for r in rows[1:]:
        if r and r[0] == px and r[1] == sv:
            return dict(zip(rows[0], r))
    raise AssertionError("no %s/%s row in:\n%s" % (px, sv, text))


def info(path, field):
    for line in api(path, "show info").splitlines():
        k, _, v = line.partition(": ")
        if k == field:
            return v
    raise AssertionError("no %s in show info" % field)


def loop_barrier(path):
    """Return once waxlb has dispatched what was readable before this call: two runtime API commands one after
    the other are read in two later poll turns, and the first of those turns saw every fd already readable."""
    api(path, "show info")
    api(path, "show info")


def reload(p, cfg=None):
    if cfg is not None:
        with open(p.path, "w") as f:
            f.write(cfg)
    mark = p.mark()
    os.kill(p.pid, signal.SIGHUP)
    p.wait_for_log(r"Reload complete", 10, since=mark)


def read_response(sock, timeout=10):
    """One whole response from a connected socket (keep-alive: stops at its end)."""
    sock.settimeout(timeout)
    buf = b""
    while True:
        got = parse_response(buf)
        if got:
            return got[0]
        d = sock.recv(65536)
        if not d:
            got = parse_response(buf, closed=True)
            assert got, "closed before a whole response: %r" % buf
            return got[0]
        buf += d


def glob(sock):
    return "global\n    stats socket %s level admin\n" % sock


def wait_sock(path):
    def ok():
        try:
            api(path, "show info")
            return True
        except OSError:
            return False
    assert wait_until(ok, 5), "stats socket %s never answered" % path


# ------------------------------------------------------------------ the old config's own balancer
@pytest.mark.parametrize("algo", ["leastconn", "first"])
def test_redispatch_after_reload_changing_balance(proxy, nodes, free_port, tmp_path, blackhole, algo):
    """A request connecting to a blackholed server when a reload changes `balance` redispatches, on its old
    config, to the other server (the old config's roundrobin sets are its own; sharing them with the new
    config's balancer left it no server, and the request in a queue nothing served: 503 sQ)."""
    api_port = nodes.api("b")
    port = free_port()
    sock = str(tmp_path / "s.sock")
    cfg = glob(sock) + """defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    timeout queue 3s
    retries 1
    option redispatch
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    balance %%s
    server a 127.0.0.1:%d
    server b 127.0.0.1:%d
""" % (port, blackhole.port, api_port)
    p = proxy(cfg % "roundrobin", port)
    wait_sock(sock)
    c = socket.create_connection(("127.0.0.1", port))
    try:
        c.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")     # roundrobin's first pick: a, which never answers
        assert wait_until(lambda: stat(sock, "be", "a")["scur"] == "1", 5)
        reload(p, cfg % algo)
        r = read_response(c)
        assert r.status == 200 and r.node == "b", r
    finally:
        c.close()
    p.wait_for_log(r" fe be/b .* 200 ", 5)


# ------------------------------------------------------------------ use after free across reloads
def test_three_reloads_renamed_server_tunnel_ends(proxy, nodes, free_port, tmp_path):
    """A tunnel opened on config A; reload to B (same server), then to C (server renamed): B is freed at once,
    A lives on for the tunnel. The server state A and B shared must not point into B once B is gone: the tunnel's
    end gave its slot back through B's freed server."""
    api_port = nodes.api("n1")
    port = free_port()
    sock = str(tmp_path / "s.sock")
    cfg = glob(sock) + """defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server %%s 127.0.0.1:%d
""" % (port, api_port)
    p = proxy(cfg % "s1", port)
    wait_sock(sock)
    t = socket.create_connection(("127.0.0.1", port))
    t.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
    assert read_response(t).status == 200        # the tunnel runs on A
    reload(p)                                     # B
    reload(p, cfg % "s2")                         # C: B had no session and is freed
    t.close()
    assert wait_until(lambda: info(sock, "CurrConns") == "0", 5)
    for _ in range(3):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"GET /y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert read_response(c).status == 200
        c.close()
    assert stat(sock, "be", "s2")["stot"] == "3"
    assert p.alive()


def test_requeued_request_keeps_its_new_config(proxy, held, free_port, tmp_path):
    """maxconn 1: request 2 waits behind request 1 when a reload (B) moves it to B's queue; it then runs on B's
    server, and a second reload (C) must not free B under it (it used to hold only A)."""
    h = held()
    port = free_port()
    sock = str(tmp_path / "s.sock")
    cfg = glob(sock) + """defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout queue 30s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d maxconn 1
""" % (port, h.port)
    p = proxy(cfg, port)
    wait_sock(sock)
    c1 = socket.create_connection(("127.0.0.1", port))
    c2 = socket.create_connection(("127.0.0.1", port))
    try:
        c1.sendall(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        h.wait_got("/one")
        c2.sendall(b"GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
        assert wait_until(lambda: stat(sock, "be", "BACKEND")["qcur"] == "1", 5)
        reload(p)                                  # B: request 2 moves to B's queue
        assert stat(sock, "be", "BACKEND")["qcur"] == "1"
        h.release("/one")
        assert read_response(c1).body == b"served /one\n"
        c1.close()                                 # nothing else holds B (a keep-alive client would adopt it)
        h.wait_got("/two")                         # request 2 runs on B's server
        assert wait_until(lambda: info(sock, "CurrConns") == "1", 5)
        reload(p)                                  # C
        h.release("/two")
        r = read_response(c2)
        assert r.status == 200 and r.body == b"served /two\n"
    finally:
        c1.close()
        c2.close()
    p.wait_for_log(r" fe be/s1 .* 200 .*GET /two", 5)
    assert p.alive()


def test_tls_handshake_across_reload(proxy, nodes, free_port, tmp_path):
    """A TCP connection to a TLS bind, a reload, then the handshake: it must finish with the certificate and key
    of the config it was accepted under (with RSA key exchange the key decrypts the premaster after the
    ClientHello; the old config used to be freed, and its key wiped, as soon as the ClientHello arrived)."""
    certs = tlsutil.make_certs(str(tmp_path))
    api_port = nodes.api("n1")
    port = free_port()
    sock = str(tmp_path / "s.sock")
    cfg = glob(sock) + """defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    option dontlognull          # the harness's port probe closes during the handshake
frontend fe
    bind 127.0.0.1:%d ssl crt %s ciphers AES128-GCM-SHA256
    default_backend be
backend be
    server n1 127.0.0.1:%d
""" % (port, certs.wax, api_port)
    p = proxy(cfg, port)
    wait_sock(sock)
    ctx = ssl.create_default_context(cafile=certs.ca)
    ctx.check_hostname = False
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-GCM-SHA256")         # RSA key exchange: the key is used after the ClientHello
    for _ in range(3):
        raw = socket.create_connection(("127.0.0.1", port))
        try:
            assert wait_until(lambda: info(sock, "CurrConns") == "1", 5)
            reload(p)
            s = ctx.wrap_socket(raw, server_hostname="wax.eosphere.io")
            s.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            r = read_response(s)
            assert r.status == 200 and r.node == "n1"
            s.close()
        finally:
            raw.close()
        assert wait_until(lambda: info(sock, "CurrConns") == "0", 5)
    assert not p.find_log(r"SSL handshake|TLS error")
    assert p.alive()


# ------------------------------------------------------------------ retries and queues
def test_connect_timeout_retries_then_503(proxy, free_port, blackhole):
    """Connect timeouts with retries left: each retry comes after the turn-around pause, and the last failure is
    answered 503 (the pause used to be erased as soon as it was armed: no retry, no answer)."""
    port = free_port()
    cfg = """defaults
    mode http
    timeout connect 300ms
    timeout client 20s
    timeout server 20s
    retries 2
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d
""" % (port, blackhole.port)
    p = proxy(cfg, port, args=("-d",))
    c = socket.create_connection(("127.0.0.1", port))
    try:
        c.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        r = read_response(c, timeout=15)
        assert r.status == 503
    finally:
        c.close()
    p.wait_for_log(r" fe be/s1 .* 503 .* SC-- ", 5)
    assert len(p.find_log(r"connect to be/s1 timed out")) == 3    # the first attempt and two retries


def test_request_queued_on_old_config_is_served(proxy, held, free_port, tmp_path):
    """A keep-alive client's next request, begun before a reload, is routed on the old config; the server's one
    slot is taken by a request of the new config, so it waits in the old config's queue, and must be served when
    the slot frees (only the running config's queues used to be served: it waited for `timeout queue`)."""
    h = held()
    port = free_port()
    sock = str(tmp_path / "s.sock")
    cfg = glob(sock) + """defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 60s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d maxconn 1
""" % (port, h.port)
    p = proxy(cfg, port)
    wait_sock(sock)
    x = socket.create_connection(("127.0.0.1", port))
    y = socket.create_connection(("127.0.0.1", port))
    try:
        # request 1 and the start of request 2 (not a whole head: it is not routed yet)
        x.sendall(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\n")
        h.wait_got("/one")
        reload(p)
        y.sendall(b"GET /three HTTP/1.1\r\nHost: a\r\n\r\n")     # new config: queued behind /one
        assert wait_until(lambda: stat(sock, "be", "BACKEND")["qcur"] == "1", 5)
        h.release("/one")
        assert read_response(x).body == b"served /one\n"
        h.wait_got("/three")                                      # /three holds the slot now
        x.sendall(b"Host: a\r\n\r\n")        # request 2 routed on the old config: no slot, queued there
        loop_barrier(sock)
        assert h.got == ["/one", "/three"]
        h.release("/two")
        h.release("/three")
        assert read_response(y).body == b"served /three\n"
        r = read_response(x, timeout=20)
        assert r.status == 200 and r.body == b"served /two\n"
    finally:
        x.close()
        y.close()
    assert p.alive()


def test_queued_request_whose_frontend_is_gone_stays_on_old_config(proxy, held, free_port, tmp_path):
    """A reload renames the frontend of a queued request: it cannot move to the new config (no frontend of its
    name), so it stays queued on the old one, which serves it when the slot frees."""
    h = held()
    port = free_port()
    sock = str(tmp_path / "s.sock")
    cfg = glob(sock) + """defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 60s
frontend %%s
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d maxconn 1
""" % (port, h.port)
    p = proxy(cfg % "fe", port)
    wait_sock(sock)
    c1 = socket.create_connection(("127.0.0.1", port))
    c2 = socket.create_connection(("127.0.0.1", port))
    try:
        c1.sendall(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        h.wait_got("/one")
        c2.sendall(b"GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
        assert wait_until(lambda: stat(sock, "be", "BACKEND")["qcur"] == "1", 5)
        reload(p, cfg % "fe2")
        assert stat(sock, "be", "BACKEND")["qcur"] == "0"     # not moved: the new backend's queue is empty
        h.release("/one")
        h.release("/two")
        assert read_response(c1).body == b"served /one\n"
        r = read_response(c2, timeout=20)
        assert r.status == 200 and r.body == b"served /two\n"
    finally:
        c1.close()
        c2.close()
    p.wait_for_log(r" fe be/s1 .* 200 .*GET /two", 5)
    assert p.alive()
