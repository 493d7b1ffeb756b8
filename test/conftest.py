"""pytest fixtures and helpers for waxlb's integration tests.

Binary under test: $WAXLB (default <repo>/waxlb). `WAXLB=test/haproxy-shim` runs the same tests on Debian's
haproxy (the reference): tests marked `waxlb_only` are then skipped.

Fixtures
  waxlb          absolute path of the binary under test (skips the test if it does not exist)
  is_shim        True when the binary under test is HAProxy (the shim)
  haproxy        absolute path of Debian's haproxy, or skips the test if absent
  nodes          a fakenodes.Nodes (fake API/SHIP nodes in a background thread), closed at teardown
  proxy          factory: proxy(cfg_text, port, binary=None, args=(), name=None) -> started Proxy
  free_port      function returning a fresh free loopback port (never the same twice in one session)
Helpers (import from conftest)
  req(line, *headers, body=b"")        raw request bytes
  raw(port, data, timeout=3, n=1, head=False, until_close=False, shut=False) -> bytes received
  parse_response(buf, head=False, closed=False) -> (Response, consumed) | None
  parse_all(buf, head=False)           -> list of Response (interim 1xx included), closed-delimited ok
  Conn(port)                           persistent connection: .send(bytes), .response(head=False)
  http(port, method, path, headers=(), body=b"", host=...) -> Response (one request, Connection: close)
  seed_config(port, ports)             the seed config with its placeholders filled
  stats_cmd(sock, line)                one runtime API command on a stats socket -> its answer (text)
  show_stat(sock)                      `show stat` -> {(pxname, svname): {column: value}}
  wait_stats_sock(sock)                wait until a stats socket accepts
"""
import atexit
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import fakenodes  # noqa: E402

WAXLB = os.path.abspath(os.environ.get("WAXLB") or os.path.join(REPO, "waxlb"))
HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
HAPROXY_CMD = [HAPROXY, "-db"] if HAPROXY else None


def binary_is_haproxy(path):
    return "haproxy" in os.path.basename(path)


IS_SHIM = binary_is_haproxy(WAXLB)
API_HOST = "wax.eosphere.io"


# ------------------------------------------------------------------ pytest hooks
def pytest_configure(config):
    config.addinivalue_line("markers", "waxlb_only: waxlb-specific behaviour (skipped when WAXLB is haproxy)")
    config.addinivalue_line("markers", "slow: streams large amounts of data")


def pytest_collection_modifyitems(config, items):
    if IS_SHIM:
        skip = pytest.mark.skip(reason="waxlb-only behaviour; WAXLB is haproxy")
        for it in items:
            if "waxlb_only" in it.keywords:
                it.add_marker(skip)


def pytest_report_header(config):
    return "waxlb under test: %s%s; reference haproxy: %s" % (
        WAXLB, " (haproxy shim)" if IS_SHIM else "", HAPROXY or "absent")


# ------------------------------------------------------------------ ports
_used_ports = set()
_port_lock = threading.Lock()


def free_port_fn():
    with _port_lock:
        for _ in range(200):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
            s.close()
            if p not in _used_ports:
                _used_ports.add(p)
                return p
    raise RuntimeError("no free port")


@pytest.fixture
def free_port():
    return free_port_fn


def wait_port(port, timeout=10.0, proc=None, host="127.0.0.1"):
    """Poll until host:port accepts a connection. False on timeout or if proc exited."""
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


# ------------------------------------------------------------------ the proxy process
_live_proxies = set()


@atexit.register
def _stop_leftovers():
    for p in list(_live_proxies):
        try:
            p.stop()
        except Exception:
            pass


class Proxy:
    """A waxlb (or haproxy) process on a config. Output (stdout+stderr) is collected line by line."""

    def __init__(self, cmd, cfg, tmpdir, port=None, name="proxy", args=(), host="127.0.0.1"):
        self.cmd = list(cmd)
        self.cfg = cfg
        self.port = port
        self.host = host
        self.name = name
        self.args = list(args)
        self.path = os.path.join(str(tmpdir), name + ".cfg")
        self.lines = []
        self.proc = None
        self._cond = threading.Condition()

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=10.0):
        with open(self.path, "w") as f:
            f.write(self.cfg)
        self.proc = subprocess.Popen(self.cmd + self.args + ["-f", self.path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _live_proxies.add(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if self.port is not None and not wait_port(self.port, timeout, self.proc, self.host):
            self.stop()
            pytest.fail("%s did not start listening on %s:%s (exit %s). Output:\n%s"
                        % (self.cmd[0], self.host, self.port, self.proc.returncode, self.log()))
        return self

    def _read(self):
        for line in iter(self.proc.stdout.readline, b""):
            with self._cond:
                self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def log(self):
        with self._cond:
            return "\n".join(self.lines)

    def mark(self):
        """Current number of log lines; pass as since= to wait_for_log to look only at later lines."""
        with self._cond:
            return len(self.lines)

    def wait_for_log(self, regex, timeout=5.0, since=0):
        """Wait until a log line (index >= since) matches regex; returns the match or fails the test."""
        rx = re.compile(regex)
        end = time.time() + timeout
        with self._cond:
            i = since
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                left = end - time.time()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
        pytest.fail("no log line matching %r within %.1fs. Log:\n%s" % (regex, timeout, self.log()[-5000:]))

    def find_log(self, regex, since=0):
        rx = re.compile(regex)
        with self._cond:
            return [l for l in self.lines[since:] if rx.search(l)]

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)
        self._reader.join(2)
        _live_proxies.discard(self)


@pytest.fixture(scope="session")
def waxlb():
    if not (os.path.isfile(WAXLB) and os.access(WAXLB, os.X_OK)):
        pytest.skip("binary under test %s not built" % WAXLB)
    return WAXLB


@pytest.fixture(scope="session")
def is_shim():
    return IS_SHIM


@pytest.fixture(scope="session")
def haproxy():
    if not HAPROXY:
        pytest.skip("Debian's haproxy is not installed")
    return HAPROXY


def waxlb_cmd(binary=None):
    b = binary or WAXLB
    # the shim already adds -db; a bare haproxy binary needs it
    if os.path.basename(b) == "haproxy":
        return [b, "-db"]
    return [b]


@pytest.fixture
def proxy(waxlb, tmp_path):
    """Factory: proxy(cfg, port, binary=None, args=(), name=None) -> started Proxy (stopped at teardown)."""
    made = []

    def make(cfg, port=None, binary=None, args=(), name=None, start=True):
        p = Proxy(waxlb_cmd(binary), cfg, tmp_path, port=port, name=name or "p%d" % len(made), args=args)
        made.append(p)
        return p.start() if start else p

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def nodes():
    n = fakenodes.Nodes()
    yield n
    n.close()


# ------------------------------------------------------------------ configs
def seed_template():
    with open(os.path.join(HERE, "seed.cfg.in")) as f:
        return f.read()


def seed_config(port, ports):
    """ports: dict with keys A1 A2 A3 S1 S2."""
    cfg = seed_template().replace("@PORT@", str(port))
    for k, v in ports.items():
        cfg = cfg.replace("@%s@" % k, str(v))
    assert "@" not in cfg
    return cfg


def start_seed_nodes(n):
    """Start the seed's five nodes (names as in the check tool) -> ports dict."""
    return dict(A1=n.api("api1"), A2=n.api("api2"), A3=n.api("api3"), S1=n.ship("shp1"), S2=n.ship("shp2"))


# ------------------------------------------------------------------ raw HTTP
def req(line, *hdrs, body=b""):
    if isinstance(body, str):
        body = body.encode()
    return line.encode() + b"\r\n" + b"".join(h.encode("latin1") + b"\r\n" for h in hdrs) + b"\r\n" + body


class Response:
    def __init__(self, version, status, reason, headers, body, raw):
        self.version, self.status, self.reason = version, status, reason
        self.headers, self.body, self.raw = headers, body, raw

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        return json.loads(self.body)

    @property
    def node(self):
        return self.header("X-Node")

    def __repr__(self):
        return "<Response %s %s %r node=%s body=%d>" % (self.status, self.reason, self.headers[:6], self.node,
                                                       len(self.body))


class ParseError(Exception):
    pass


def parse_response(buf, head=False, closed=False):
    """Parse one response at the start of buf. -> (Response, consumed) or None when incomplete.
    A response delimited by close is complete only if closed=True."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        if closed and buf:
            raise ParseError("truncated head: %r" % bytes(buf[:200]))
        return None
    lines = bytes(buf[:i]).split(b"\r\n")
    m = re.match(rb"(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
    if not m:
        raise ParseError("bad status line: %r" % lines[0])
    version, status, reason = m.group(1).decode(), int(m.group(2)), (m.group(3) or b"").decode("latin1")
    headers = []
    for l in lines[1:]:
        if b":" not in l:
            raise ParseError("bad header line %r" % l)
        k, v = l.split(b":", 1)
        headers.append((k.decode("latin1").strip(), v.decode("latin1").strip()))
    r = Response(version, status, reason, headers, b"", b"")
    pos = i + 4
    te = (r.header("Transfer-Encoding") or "").lower()
    cl = r.header("Content-Length")
    if head or status in (204, 304) or 100 <= status < 200:
        end = pos
    elif "chunked" in te:
        body = bytearray()
        p = pos
        for _ in range(10 ** 6):
            j = buf.find(b"\r\n", p)
            if j < 0:
                return None
            size = int(bytes(buf[p:j]).split(b";")[0], 16)
            p = j + 2
            if size == 0:
                for _ in range(1000):
                    k = buf.find(b"\r\n", p)
                    if k < 0:
                        return None
                    line = buf[p:k]
                    p = k + 2
                    if not line:
                        break
                r.body = bytes(body)
                end = p
                break
            if len(buf) < p + size + 2:
                return None
            body += buf[p:p + size]
            p += size + 2
        else:
            raise ParseError("too many chunks")
    elif cl is not None:
        n = int(cl)
        if len(buf) < pos + n:
            return None
        r.body = bytes(buf[pos:pos + n])
        end = pos + n
    else:
        if not closed:
            return None
        r.body = bytes(buf[pos:])
        end = len(buf)
    r.raw = bytes(buf[:end])
    return r, end


def parse_all(buf, head=False):
    """All responses in a buffer received up to a close (interim 1xx included)."""
    out = []
    buf = bytes(buf)
    for _ in range(10000):
        if not buf:
            break
        got = parse_response(buf, head=head, closed=True)
        if got is None:
            break
        r, n = got
        out.append(r)
        buf = buf[n:]
        if r.status == 101:
            r.body = buf
            break
    return out


def raw(port, data, timeout=3.0, n=1, head=False, until_close=False, shut=False, host="127.0.0.1"):
    """Send data on a new connection; return all bytes received once n final (non-1xx) responses are
    complete, the peer closed, or timeout passed. until_close: keep reading until close/timeout.
    shut: half-close (SHUT_WR) after sending."""
    s = socket.create_connection((host, port), timeout=timeout)
    buf = bytearray()
    end = time.time() + timeout
    try:
        if data:
            s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        while time.time() < end:
            s.settimeout(max(0.01, end - time.time()))
            try:
                d = s.recv(1 << 20)
            except socket.timeout:
                break
            if not d:
                break
            buf += d
            if not until_close and _complete(buf, n, head):
                break
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return bytes(buf)


def _complete(buf, n, head):
    done, p = 0, 0
    b = bytes(buf)
    for _ in range(n + 100):
        try:
            got = parse_response(b[p:], head=head)
        except (ParseError, ValueError):
            return False
        if got is None:
            return False
        r, k = got
        p += k
        if r.status == 101:
            return True
        if r.status >= 200:
            done += 1
            if done >= n:
                return True
    return False


def status_of(data):
    """Status code of the first final response in data, or None (closed / nothing)."""
    try:
        for r in parse_all(data):
            if r.status >= 200 or r.status == 101:
                return r.status
    except (ParseError, ValueError):
        pass
    m = re.match(rb"HTTP/\d\.\d (\d{3})", data)
    return int(m.group(1)) if m else None


class Conn:
    """A persistent client connection for keep-alive / pipelining tests."""

    def __init__(self, port, timeout=5.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.closed = False

    def send(self, data):
        self.sock.sendall(data)

    def response(self, head=False, timeout=None):
        """Next response (interim 1xx responses are returned too). Raises on timeout/close."""
        end = time.time() + (timeout or self.timeout)
        while True:
            got = parse_response(self.buf, head=head, closed=self.closed)
            if got is not None:
                r, k = got
                del self.buf[:k]
                return r
            if self.closed:
                raise ConnectionError("closed with %d unparsed bytes: %r" % (len(self.buf), bytes(self.buf[:300])))
            left = end - time.time()
            if left <= 0:
                raise TimeoutError("no complete response; have %r" % bytes(self.buf[:300]))
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(1 << 20)
            except ConnectionResetError:
                d = b""
            if not d:
                self.closed = True
            self.buf += d

    def request(self, method, path, *hdrs, body=b"", host=API_HOST):
        h = ["Host: " + host] if host else []
        if body:
            h.append("Content-Length: %d" % len(body))
        self.send(req("%s %s HTTP/1.1" % (method, path), *(h + list(hdrs)), body=body))
        return self.response(head=(method == "HEAD"))

    def is_closed(self, timeout=1.0):
        """True if the peer closes within timeout (no data expected)."""
        if self.closed:
            return True
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if d:
            self.buf += d
            return False
        self.closed = True
        return True

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def http(port, method, path, headers=(), body=b"", host=API_HOST, timeout=5.0):
    h = (["Host: " + host] if host else []) + list(headers)
    if body:
        h.append("Content-Length: %d" % len(body))
    data = raw(port, req("%s %s HTTP/1.1" % (method, path), *h, body=body), timeout=timeout,
               head=(method == "HEAD"))
    rs = [r for r in parse_all(data, head=(method == "HEAD")) if r.status >= 200 or r.status == 101]
    if not rs:
        raise ConnectionError("no response: %r" % data[:300])
    return rs[0]


def wait_until(pred, timeout=5.0, interval=0.02):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


# ------------------------------------------------------------------ runtime API
def stats_cmd(sock, line, timeout=5.0):
    """One command line on a stats socket (waxlb's or haproxy's); the answer, read until the peer closes."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall(line.encode() + b"\n")
        buf = bytearray()
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    finally:
        s.close()
    return buf.decode()


def show_stat(sock):
    """`show stat` -> {(pxname, svname): {column: value}}; empty fields stay ''."""
    text = stats_cmd(sock, "show stat")
    assert text.startswith("# pxname,svname,"), text[:200]
    rows = list(csv.reader(io.StringIO(text[2:].strip())))
    hdr = rows[0]
    return {(r[0], r[1]): dict(zip(hdr, r)) for r in rows[1:] if r}


def wait_stats_sock(sock, timeout=5.0):
    def ok():
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sock)
            return True
        except OSError:
            return False
        finally:
            s.close()
    assert wait_until(ok, timeout), "stats socket %s never accepted" % sock
