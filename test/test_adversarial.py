"""Adversarial clients and backends, on raw sockets.

* Request smuggling: every case goes through waxlb and through Debian's HAProxy, both on the seed
  configuration (timeouts shortened), each in front of its own RawBackend: a strict HTTP/1.1 server that records
  exactly the bytes it receives and parses them with no leniency (CRLF only, one framing header, chunk lines
  CRLF-terminated, trailers as fields). A case passes when the proxy rejects it (4xx/5xx or a close, nothing
  reaching the backend) or when the backend sees well-framed requests only, as many as the client got answers.
  waxlb must never be looser than HAProxy: if HAProxy rejects, waxlb rejects. Where waxlb is stricter it is
  printed (run with -s) and collected in STRICTER.
* Size limits (414/431/400 as the README documents), slowloris, maxconn and fd-exhaustion floods,
  misbehaving backends and clients, fd count back to baseline and RSS bounded over 100 000 requests.

Tests that need no HAProxy run on waxlb only (marked waxlb_only)."""
import asyncio
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import (HAPROXY, Conn, Proxy, free_port_fn, http, parse_all, raw, req, seed_config, status_of,
                      wait_port, wait_until, waxlb_cmd)

HOST = "wax.eosphere.io"
H = "Host: " + HOST
STRICTER = []   # (case, waxlb status, haproxy status)


# ------------------------------------------------------------------ process helpers
def fd_count(pid):
    """Open fds, not counting pipes: waxlb keeps up to 256 empty splice pipes pooled for reuse (by design)."""
    n = 0
    for f in os.listdir("/proc/%d/fd" % pid):
        try:
            if not os.readlink("/proc/%d/fd/%s" % (pid, f)).startswith("pipe:"):
                n += 1
        except OSError:
            pass
    return n


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])   # utime + stime (fields 14, 15)


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(n, hard) if hard != resource.RLIM_INFINITY else n
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ------------------------------------------------------------------ the strict recording backend
class StrictError(Exception):
    pass


def _line(buf, p):
    """CRLF-terminated line at p -> (line, next) or None; a bare LF or CR is an error."""
    j = buf.find(b"\r\n", p)
    k = buf.find(b"\n", p)
    if k >= 0 and (j < 0 or k < j + 1) and not (j >= 0 and k == j + 1):
        raise StrictError("bare LF")
    if j < 0:
        return None
    line = bytes(buf[p:j])
    if b"\r" in line or b"\n" in line or b"\x00" in line:
        raise StrictError("bare CR/LF/NUL in line %r" % line[:80])
    return line, j + 2


def strict_parse(buf):
    """One request at the start of buf -> None (incomplete) or (dict, consumed); raises StrictError."""
    got = _line(buf, 0)
    if got is None:
        if len(buf) > 65536:
            raise StrictError("head too long")
        return None
    rl, p = got
    m = re.match(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/1\.[01]$", rl)
    if not m:
        raise StrictError("bad request line %r" % rl[:100])
    hdrs = []
    while True:
        got = _line(buf, p)
        if got is None:
            return None
        line, p = got
        if line == b"":
            break
        mm = re.match(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$", line)
        if not mm:
            raise StrictError("bad field line %r" % line[:100])
        hdrs.append((mm.group(1).decode("latin1").lower(), mm.group(2).decode("latin1")))
    cl = [v for k, v in hdrs if k == "content-length"]
    te = [v for k, v in hdrs if k == "transfer-encoding"]
    if cl and te:
        raise StrictError("both Content-Length and Transfer-Encoding")
    if len(cl) > 1 or len(te) > 1:
        raise StrictError("repeated framing header %r %r" % (cl, te))
    body = b""
    if te:
        if te[0].lower() != "chunked":
            raise StrictError("Transfer-Encoding %r" % te[0])
        out = bytearray()
        while True:
            got = _line(buf, p)
            if got is None:
                return None
            line, p = got
            mm = re.match(rb"^([0-9A-Fa-f]{1,15})(;[\x21-\x7e \t]*)?$", line)
            if not mm:
                raise StrictError("bad chunk-size line %r" % line[:80])
            n = int(mm.group(1), 16)
            if n == 0:
                while True:
                    got = _line(buf, p)
                    if got is None:
                        return None
                    line, p = got
                    if line == b"":
                        break
                    if not re.match(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+:", line):
                        raise StrictError("bad trailer line %r" % line[:80])
                body = bytes(out)
                break
            if len(buf) < p + n + 2:
                return None
            out += buf[p:p + n]
            if buf[p + n:p + n + 2] != b"\r\n":
                raise StrictError("chunk data not followed by CRLF")
            p += n + 2
    elif cl:
        if not re.match(r"^[0-9]{1,18}$", cl[0]):
            raise StrictError("Content-Length %r" % cl[0])
        n = int(cl[0])
        if len(buf) < p + n:
            return None
        body = bytes(buf[p:p + n])
        p += n
    return dict(method=m.group(1).decode(), target=m.group(2).decode("latin1"), headers=hdrs, body=body,
                raw=bytes(buf[:p])), p


class RawBackend:
    """A strict HTTP/1.1 server on 127.0.0.1 (threads). Records raw bytes per connection, parsed requests and
    framing errors; answers 200 "ok" to each well-formed request, 400 + close to anything else. Connections
    that send nothing (health checks) are not recorded."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.requests, self.errors, self.conns = [], [], []
        self.open = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        with self.lock:
            self.requests, self.errors, self.conns = [], [], []

    def snapshot(self):
        with self.lock:
            return list(self.requests), list(self.errors), [bytes(c) for c in self.conns if c]

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.open.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = bytearray()
        rec = bytearray()
        with self.lock:
            self.conns.append(rec)
        c.settimeout(30)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                with self.lock:
                    rec += d
                buf += d
                while buf:
                    try:
                        got = strict_parse(buf)
                    except StrictError as e:
                        with self.lock:
                            self.errors.append("%s in %r" % (e, bytes(rec[-300:])))
                        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        return
                    if got is None:
                        break
                    r, n = got
                    del buf[:n]
                    with self.lock:
                        self.requests.append(r)
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Strict: %d\r\n\r\nok" % len(r["body"]))
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stopped = True
        self.sock.close()
        for c in self.open:
            try:
                c.close()
            except OSError:
                pass


# ------------------------------------------------------------------ smuggling cases
P = "/v1/chain/get_info"
SMUG = "GET /v1/chain/smuggled HTTP/1.1\r\n" + H + "\r\n\r\n"


def post(*hdrs, body=""):
    return req("POST %s HTTP/1.1" % P, H, *hdrs, body=body)


CHUNKED_SMUG = "0\r\n\r\n" + SMUG
# name, bytes, what waxlb must do: "reject", "forward" or "either" (always with the framing invariants)
SMUGGLING = [
    ("baseline_cl", post("Content-Length: 5", body="hello"), "forward"),
    ("baseline_chunked", post("Transfer-Encoding: chunked", body="5\r\nhello\r\n0\r\n\r\n"), "forward"),
    ("cl_te", post("Content-Length: %d" % len(CHUNKED_SMUG), "Transfer-Encoding: chunked", body=CHUNKED_SMUG),
     "reject"),
    ("te_cl", post("Transfer-Encoding: chunked", "Content-Length: 4", body="5c\r\n" + SMUG + "\r\n0\r\n\r\n"),
     "reject"),
    ("te_trailing_space", post("Transfer-Encoding: chunked ", "Content-Length: 3", body="0\r\n\r\n"), "reject"),
    ("te_trailing_space_alone", post("Transfer-Encoding: chunked ", body="0\r\n\r\n"), "either"),
    ("te_Chunked", post("Transfer-Encoding: Chunked", body="0\r\n\r\n"), "either"),
    ("te_x_chunked", post("Transfer-Encoding: x-chunked", "Content-Length: 5", body="0\r\n\r\n"), "reject"),
    ("te_x_chunked_alone", post("Transfer-Encoding: x-chunked", body="0\r\n\r\n"), "reject"),
    ("te_dup_headers", post("Transfer-Encoding: chunked", "Transfer-Encoding: chunked", body="0\r\n\r\n"),
     "either"),
    ("te_dup_identity", post("Transfer-Encoding: chunked", "Transfer-Encoding: identity", body="0\r\n\r\n"),
     "reject"),
    ("te_list_chunked_chunked", post("Transfer-Encoding: chunked, chunked", body="0\r\n\r\n"), "either"),
    ("te_gzip_chunked", post("Transfer-Encoding: gzip, chunked", body="0\r\n\r\n"), "either"),
    ("te_chunked_gzip", post("Transfer-Encoding: chunked, gzip", body="0\r\n\r\n"), "reject"),
    ("te_tab_chunked", post("Transfer-Encoding:\tchunked", body="0\r\n\r\n"), "either"),
    ("te_vtab_chunked", post("Transfer-Encoding:\x0bchunked", body="0\r\n\r\n"), "reject"),
    ("te_space_before_colon", post("Transfer-Encoding : chunked", body="0\r\n\r\n" + SMUG), "reject"),
    ("te_obs_fold", post("Transfer-Encoding:", " chunked", body="0\r\n\r\n"), "reject"),
    ("te_empty_and_cl", post("Transfer-Encoding: ", "Content-Length: 5", body="hello"), "reject"),
    ("te_http10", req("POST %s HTTP/1.0" % P, H, "Transfer-Encoding: chunked", body="0\r\n\r\n"), "reject"),
    ("cl_dup_same", post("Content-Length: 5", "Content-Length: 5", body="hello"), "either"),
    ("cl_list_same", post("Content-Length: 5, 5", body="hello"), "either"),
    ("cl_dup_diff", post("Content-Length: 5", "Content-Length: 40", body="hello" + SMUG[:35]), "reject"),
    ("cl_negative", post("Content-Length: -5", body="hello"), "reject"),
    ("cl_plus", post("Content-Length: +5", body="hello"), "reject"),
    ("cl_overflow", post("Content-Length: 18446744073709551621", body="hello"), "reject"),
    ("cl_19_digits", post("Content-Length: 9999999999999999999", body="hello"), "reject"),
    ("cl_space_inside", post("Content-Length: 1 5", body="hello"), "reject"),
    ("chunk_size_overflow", post("Transfer-Encoding: chunked", body="10000000000000005\r\nhello\r\n0\r\n\r\n"),
     "reject"),
    ("chunk_size_16f", post("Transfer-Encoding: chunked", body="ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), "reject"),
    ("chunk_size_leading_zeros", post("Transfer-Encoding: chunked", body="0000000005\r\nhello\r\n0\r\n\r\n"),
     "either"),
    ("chunk_ext", post("Transfer-Encoding: chunked", body="5;name=val;q=\"x y\"\r\nhello\r\n0\r\n\r\n"), "either"),
    ("chunk_size_negative", post("Transfer-Encoding: chunked", body="-5\r\nhello\r\n0\r\n\r\n"), "reject"),
    ("chunk_size_0x", post("Transfer-Encoding: chunked", body="0x5\r\nhello\r\n0\r\n\r\n"), "reject"),
    # bare LF as a chunk line terminator: HAProxy accepts it and writes its own lines, waxlb refuses it
    ("chunk_bare_lf_size", post("Transfer-Encoding: chunked", body="5\nhello\r\n0\r\n\r\n"), "either"),
    ("chunk_bare_lf_data", post("Transfer-Encoding: chunked", body="5\r\nhello\n0\r\n\r\n"), "either"),
    ("chunk_bare_lf_ext", post("Transfer-Encoding: chunked", body="5;a\nhello\r\n0\r\n\r\n"), "either"),
    ("chunk_bare_lf_last", post("Transfer-Encoding: chunked", body="0\n\n"), "either"),
    ("chunk_bare_cr", post("Transfer-Encoding: chunked", body="5\rhello\r\n0\r\n\r\n"), "reject"),
    ("chunk_data_too_long", post("Transfer-Encoding: chunked", body="3\r\nhello\r\n0\r\n\r\n"), "reject"),
    ("trailer_field", post("Transfer-Encoding: chunked", body="5\r\nhello\r\n0\r\nX-Trailer: a\r\n\r\n"), "either"),
    ("trailer_not_a_field", post("Transfer-Encoding: chunked", body="0\r\nGET /v1/chain/smuggled HTTP/1.1\r\n\r\n"),
     "either"),
    ("bare_cr_header", post("X-A: a\rTransfer-Encoding: chunked", "Content-Length: 5", body="hello"), "reject"),
    ("nul_header", post("X-A: a\x00b", "Content-Length: 5", body="hello"), "reject"),
    ("obs_fold_x", post("X-A: a", "\tb", "Content-Length: 5", body="hello"), "reject"),
    ("bare_lf_head", ("POST %s HTTP/1.1\n%s\nContent-Length: 5\n\nhello" % (P, H)).encode(), "either"),
    ("abs_form_other_host", req("GET http://evil.example%s HTTP/1.1" % P, H), "reject"),
    ("abs_form_same_host", req("GET http://%s%s HTTP/1.1" % (HOST, P), H), "either"),
    ("abs_form_userinfo", req("GET http://%s@evil.example%s HTTP/1.1" % (HOST, P), H), "reject"),
    ("two_hosts", req("GET %s HTTP/1.1" % P, H, "Host: evil.example"), "reject"),
    ("get_with_cl_body", req("GET %s HTTP/1.1" % P, H, "Content-Length: %d" % len(SMUG), body=SMUG), "either"),
    ("pipelined_after_chunked", post("Transfer-Encoding: chunked", body="0\r\n\r\n" + SMUG), "either"),
]


def seed_for_test(port, backend_port):
    ports = dict(A1=backend_port, A2=backend_port, A3=backend_port, S1=backend_port, S2=backend_port)
    cfg = seed_config(port, ports)
    # the seed's 10 s client/server timeouts would make every case wait; idle keep-alive closes quickly
    cfg = cfg.replace("timeout client 10s", "timeout client 2s\n    timeout http-request 1s\n"
                      "    timeout http-keep-alive 300")
    return cfg.replace("timeout server 10s", "timeout server 2s")


def send_case(port, data):
    """Send, read until the proxy closes (keep-alive idle 300 ms) -> (bytes, list of responses)."""
    got = raw(port, data, timeout=2.5, until_close=True)
    try:
        rs = parse_all(got)
    except Exception:
        rs = []
    return got, rs


def outcome(port, backend, data):
    backend.reset()
    got, rs = send_case(port, data)
    time.sleep(0.05)
    reqs, errs, conns = backend.snapshot()
    st = status_of(got)
    forwarded = bool(reqs) or bool(errs)
    return dict(status=st, responses=rs, reqs=reqs, errs=errs, conns=conns, raw=got,
                rejected=not forwarded and (st is None or st >= 400))


@pytest.fixture(scope="module")
def smuggle_env(tmp_path_factory):
    if not HAPROXY:
        pytest.skip("Debian's haproxy is not installed")
    from conftest import WAXLB, IS_SHIM
    if IS_SHIM or not os.path.exists(WAXLB):
        pytest.skip("needs waxlb (not the shim) and haproxy")
    d = tmp_path_factory.mktemp("smuggle")
    bw, bh = RawBackend(), RawBackend()
    pw, ph = free_port_fn(), free_port_fn()
    wax = Proxy(waxlb_cmd(WAXLB), seed_for_test(pw, bw.port), d, port=pw, name="wax").start()
    ha = Proxy([HAPROXY, "-db"], seed_for_test(ph, bh.port), d, port=ph, name="haproxy").start()
    yield dict(wax=wax, ha=ha, bw=bw, bh=bh)
    wax.stop()
    ha.stop()
    bw.close()
    bh.close()
    if STRICTER:
        print("\nwaxlb stricter than HAProxy 2.6 (case: waxlb status / haproxy status / haproxy backend saw):")
        for row in STRICTER:
            print("  %-28s %s / %s / %s" % row)


def check_forwarded(name, o, hs=""):
    """The framing invariants on what the backend saw."""
    assert not o["errs"], "%s: waxlb forwarded framing a strict backend refuses: %s\n(%s)" % (name, o["errs"], hs)
    finals = [r for r in o["responses"] if r.status >= 200]
    oks = [r for r in finals if r.status == 200]
    assert len(oks) == len(o["reqs"]), "%s: backend saw %d requests, client got %d answers (%s); raw %r" % (
        name, len(o["reqs"]), len(oks), [r.status for r in finals], o["conns"])
    for r in o["reqs"]:
        names = [k for k, v in r["headers"]]
        assert names.count("host") <= 1, (name, r["headers"])


@pytest.mark.parametrize("name,data,want", SMUGGLING, ids=[c[0] for c in SMUGGLING])
def test_smuggling(smuggle_env, name, data, want):
    env = smuggle_env
    res = {}

    def run(key, port, be):
        res[key] = outcome(port, be, data)

    # both proxies at once (separate backends): the case costs one keep-alive idle period
    t = threading.Thread(target=run, args=("ha", env["ha"].port, env["bh"]))
    t.start()
    run("wax", env["wax"].port, env["bw"])
    t.join()
    w, h = res["wax"], res["ha"]
    if want == "reject":
        assert w["rejected"], "%s: waxlb should reject; status %s, backend saw %r" % (
            name, w["status"], [r["raw"] for r in w["reqs"]] or w["conns"])
        assert w["status"] in (400, 501, None), (name, w["status"])
    elif want == "forward":
        assert not w["rejected"], "%s: waxlb rejected a valid request (%s)" % (name, w["status"])
    # never looser than HAProxy
    if h["rejected"]:
        assert w["rejected"], "%s: HAProxy rejects (%s) but waxlb forwarded: backend saw %r" % (
            name, h["status"], w["conns"])
    elif w["rejected"]:
        STRICTER.append((name, w["status"], h["status"], "%d req %s" % (len(h["reqs"]), h["errs"])))
        print("\n[stricter] %s: waxlb %s, haproxy %s" % (name, w["status"], h["status"]))
    if not w["rejected"]:
        hs = "HAProxy: %s, its backend saw %r %s" % (h["status"], [r["raw"] for r in h["reqs"]], h["errs"])
        check_forwarded(name, w, hs)
        assert all(r["target"] != "/v1/chain/smuggled" or name in ("get_with_cl_body", "pipelined_after_chunked")
                   for r in w["reqs"]), (name, w["reqs"])


# ------------------------------------------------------------------ a simple target (waxlb only)
def simple_cfg(port, be_port, extra_defaults="", extra_global=""):
    return """global
%s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 1s
    timeout http-request 2s
%s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server a1 127.0.0.1:%d
""" % (extra_global, extra_defaults, port, be_port)


@pytest.fixture
def fdguard():
    """Register a proxy; at teardown its fd count must come back to the value seen after warm-up."""
    reg = []

    def add(p):
        time.sleep(0.1)
        reg.append((p, fd_count(p.pid)))
        return p
    yield add
    for p, base in reg:
        if p.alive():
            assert wait_until(lambda: fd_count(p.pid) <= base, 5.0), "fd leak: %d open, baseline %d\n%s" % (
                fd_count(p.pid), base, os.listdir("/proc/%d/fd" % p.pid))


@pytest.fixture
def strict_target(proxy, fdguard):
    be = RawBackend()
    port = free_port_fn()
    p = proxy(simple_cfg(port, be.port), port)
    assert http(p.port, "GET", "/warm").status == 200
    fdguard(p)
    yield p, be
    be.close()


# ------------------------------------------------------------------ size limits
LIMIT_ROWS = [
    ("request_line_fills_buffer", req("GET /" + "a" * 16000 + " HTTP/1.1", H), {414}),
    ("uri_long_but_fits", req("GET /" + "a" * 12000 + " HTTP/1.1", H), {200}),
    ("head_too_large", req("GET / HTTP/1.1", H, *["X-H%d: %s" % (i, "v" * 400) for i in range(40)]), {431}),
    # tune.http.maxhdr 101 (HAProxy's default) counts the request line: 100 headers pass, 101 are a 400
    ("header_count_100", req("GET / HTTP/1.1", *["X-H%d: v" % i for i in range(99)] + [H]), {200}),
    ("header_count_101", req("GET / HTTP/1.1", H, *["X-H%d: v" % i for i in range(100)]), {400}),
    ("header_line_too_long", req("GET / HTTP/1.1", H, "X-Big: " + "b" * 20000), {431}),
    ("chunk_ext_4096", post("Transfer-Encoding: chunked", body="5;" + "e" * 5000 + "\r\nhello\r\n0\r\n\r\n"), {400}),
    ("trailers_too_large", post("Transfer-Encoding: chunked",
                                body="0\r\n" + "".join("X-T%d: %s\r\n" % (i, "t" * 1000) for i in range(20)) + "\r\n"),
     {400}),
    ("trailers_fit", post("Transfer-Encoding: chunked", body="0\r\n" + "X-T: " + "t" * 8000 + "\r\n\r\n"), {200}),
]


@pytest.mark.waxlb_only
@pytest.mark.parametrize("name,data,want", LIMIT_ROWS, ids=[r[0] for r in LIMIT_ROWS])
def test_size_limits(strict_target, name, data, want):
    p, be = strict_target
    got = raw(p.port, data, timeout=3)
    st = status_of(got)
    assert st in want, "%s: got %s, want %s: %r" % (name, st, want, got[:200])
    assert http(p.port, "GET", "/after").status == 200


# ------------------------------------------------------------------ slowloris
@pytest.mark.waxlb_only
def test_slowloris_1000(proxy, fdguard, nodes):
    n = 1000
    if raise_nofile(n + 200) < n + 100:
        pytest.skip("cannot raise RLIMIT_NOFILE")
    nodes.api("a1")
    port = free_port_fn()
    p = proxy(simple_cfg(port, nodes.port("a1")), port)
    assert http(port, "GET", "/warm").status == 200
    fdguard(p)
    statuses = {}
    lat = []

    async def slow(i):
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            statuses[i] = "connect:%s" % e.errno
            return
        data = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        buf = b""
        for k in range(len(data)):
            try:
                w.write(data[k:k + 1])
                await w.drain()
            except OSError:
                break
            try:
                buf += await asyncio.wait_for(r.read(4096), 1.0)
                if buf:
                    break
            except asyncio.TimeoutError:
                continue
        try:
            while True:
                d = await asyncio.wait_for(r.read(4096), 3.0)
                if not d:
                    break
                buf += d
        except (asyncio.TimeoutError, OSError):
            pass
        w.close()
        statuses[i] = status_of(buf)

    async def normal(stop):
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t = time.time()
            r = await loop.run_in_executor(None, lambda: http(port, "GET", "/normal", timeout=5))
            lat.append((time.time() - t, r.status))
            await asyncio.sleep(0.2)

    async def main():
        stop = asyncio.Event()
        nt = asyncio.create_task(normal(stop))
        await asyncio.gather(*(slow(i) for i in range(n)))
        stop.set()
        await nt

    t0 = time.time()
    asyncio.run(main())
    took = time.time() - t0
    got = {}
    for v in statuses.values():
        got[v] = got.get(v, 0) + 1
    print("\nslowloris: %d clients, %.1fs, statuses %s; normal client: %d requests, latency max %.3fs avg %.3fs"
          % (n, took, got, len(lat), max(x for x, _ in lat), sum(x for x, _ in lat) / len(lat)))
    assert got.get(408, 0) == n, got
    assert lat and all(s == 200 for _, s in lat), lat
    assert max(x for x, _ in lat) < 2.0, lat


# ------------------------------------------------------------------ floods
@pytest.mark.waxlb_only
def test_maxconn_backlog_then_served(proxy, fdguard, nodes):
    nodes.api("a1")
    port = free_port_fn()
    p = proxy(simple_cfg(port, nodes.port("a1"), extra_global="    maxconn 20"), port)
    assert http(port, "GET", "/warm").status == 200
    fdguard(p)
    hold = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")   # incomplete: holds a slot (until http-request 2s)
        hold.append(s)
    time.sleep(0.2)
    waiting = []
    for i in range(10):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)   # completes in the kernel backlog
        s.sendall(req("GET /queued%d HTTP/1.1" % i, H, "Connection: close"))
        waiting.append(s)
    # not served while the 20 slots are taken
    waiting[0].settimeout(0.5)
    with pytest.raises(socket.timeout):
        waiting[0].recv(100)
    for s in hold:
        s.close()
    for s in waiting:
        s.settimeout(5)
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        assert status_of(buf) == 200, buf[:200]
        s.close()


class LowFdProxy(Proxy):
    """A Proxy started with a low RLIMIT_NOFILE (soft and hard), set in the child before exec."""

    nofile = 64

    def start(self, timeout=10.0):
        with open(self.path, "w") as f:
            f.write(self.cfg)
        n = self.nofile
        self.proc = subprocess.Popen(self.cmd + self.args + ["-f", self.path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        assert wait_port(self.port, timeout, self.proc), self.log()
        return self


@pytest.mark.waxlb_only
def test_emfile_no_busy_loop(waxlb, tmp_path, nodes):
    raise_nofile(600)
    nodes.api("a1")
    port = free_port_fn()
    p = LowFdProxy(waxlb_cmd(waxlb), simple_cfg(port, nodes.port("a1")), tmp_path, port=port, name="lowfd").start()
    try:
        assert http(port, "GET", "/warm").status == 200
        time.sleep(0.1)
        base = fd_count(p.pid)
        flood = []
        for _ in range(300):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                s.sendall(b"GET / HTTP/1.1\r\n")
                flood.append(s)
            except OSError:
                break
        time.sleep(0.3)
        hz = os.sysconf("SC_CLK_TCK")
        c0, t0 = cpu_ticks(p.pid), time.time()
        time.sleep(2.0)
        cpu = (cpu_ticks(p.pid) - c0) / hz / (time.time() - t0)
        print("\nEMFILE flood: %d connections, fds %d (limit 64), proxy CPU %.1f%% of a core"
              % (len(flood), fd_count(p.pid), cpu * 100))
        assert cpu < 0.5, "busy loop on EMFILE: %.0f%% CPU" % (cpu * 100)
        assert p.alive()
        for s in flood:
            s.close()
        # service resumes
        assert wait_until(lambda: _ok(port), 8.0), p.log()[-2000:]
        assert wait_until(lambda: fd_count(p.pid) <= base, 5.0), (fd_count(p.pid), base)
    finally:
        p.stop()


def _ok(port):
    try:
        return http(port, "GET", "/resumed", timeout=2).status == 200
    except Exception:
        return False


# ------------------------------------------------------------------ misbehaving backends
class ScriptBackend:
    """Each accepted connection runs handler(conn) in a thread."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            self.handler(c)
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def read_head(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return buf
        buf += d
    return buf


def rst(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def h_reset_mid_response(c):
    read_head(c)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
    time.sleep(0.1)
    rst(c)


def h_reset_before_response(c):
    read_head(c)
    rst(c)


def h_never(c):
    read_head(c)
    time.sleep(5)


def h_garbage(c):
    read_head(c)
    c.sendall(b"\x00\x01garbage that is not HTTP\r\n\r\n")
    time.sleep(0.5)


def h_unasked_101(c):
    read_head(c)
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nTUNNEL")
    time.sleep(0.5)


def h_huge_header(c):
    read_head(c)
    c.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"h" * 20000 + b"\r\nContent-Length: 2\r\n\r\nok")
    time.sleep(0.5)


def h_tunnel_reset(c):
    head = read_head(c)
    key = re.search(rb"(?i)sec-websocket-key: *(\S+)", head)
    import base64
    import hashlib
    acc = base64.b64encode(hashlib.sha1(key.group(1) + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n\x82\x02hi")
    c.recv(100)   # the client's first frame
    rst(c)


def h_both_cl_te(c):
    read_head(c)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    time.sleep(0.5)


BACKEND_ROWS = [
    # name, handler, expected client statuses (None: closed without an answer / truncated)
    ("reset_mid_response", h_reset_mid_response, {200}),   # head came through; the body is cut, then close
    ("reset_before_response", h_reset_before_response, {502}),
    ("never_answers", h_never, {504}),
    ("garbage", h_garbage, {502}),
    ("unasked_101", h_unasked_101, {502}),
    ("oversized_header", h_huge_header, {502}),
    ("cl_and_te_response", h_both_cl_te, {502}),
]


@pytest.mark.waxlb_only
@pytest.mark.parametrize("name,handler,want", BACKEND_ROWS, ids=[r[0] for r in BACKEND_ROWS])
def test_bad_backend(proxy, fdguard, name, handler, want):
    be = ScriptBackend(handler)
    port = free_port_fn()
    p = proxy(simple_cfg(port, be.port), port)
    fdguard(p)
    try:
        t = time.time()
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(req("GET /x HTTP/1.1", H))
        buf = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        except ConnectionResetError:
            pass
        except socket.timeout:
            pytest.fail("%s: the client connection hangs; got %r" % (name, buf[:200]))
        s.close()
        took = time.time() - t
        st = status_of(buf)
        assert st in want, "%s: got %s %r" % (name, st, buf[:200])
        if name == "reset_mid_response":
            assert len(buf) < 100000, "truncated body must not look complete"
        assert took < 4.0
        assert p.alive()
    finally:
        be.close()


@pytest.mark.waxlb_only
def test_backend_reset_mid_tunnel(proxy, fdguard):
    be = ScriptBackend(h_tunnel_reset)
    port = free_port_fn()
    p = proxy(simple_cfg(port, be.port), port)
    fdguard(p)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(req("GET /ws HTTP/1.1", H, "Connection: Upgrade", "Upgrade: websocket",
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"))
        buf = b""
        while b"hi" not in buf:
            d = s.recv(65536)
            assert d, buf
            buf += d
        assert status_of(buf) == 101
        s.sendall(b"\x82\x82\x00\x00\x00\x00hi")
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        s.close()
    finally:
        be.close()


# ------------------------------------------------------------------ misbehaving clients
@pytest.mark.waxlb_only
def test_client_half_close_gets_response(strict_target):
    p, be = strict_target
    got = raw(p.port, req("GET /half HTTP/1.1", H), shut=True, timeout=3)
    assert status_of(got) == 200
    got = raw(p.port, post("Content-Length: 5", body="hello"), shut=True, timeout=3)
    assert status_of(got) == 200


@pytest.mark.waxlb_only
def test_client_reset_mid_request(strict_target):
    p, be = strict_target
    for data in (b"GET / HTTP/1.1\r\nHost: x\r\n", post("Content-Length: 100000", body="x" * 5000),
                 post("Transfer-Encoding: chunked", body="100\r\nabc")):
        s = socket.create_connection(("127.0.0.1", p.port))
        s.sendall(data)
        time.sleep(0.05)
        rst(s)
    assert http(p.port, "GET", "/after").status == 200


@pytest.mark.waxlb_only
def test_client_never_reads_rss_bounded(proxy, fdguard):
    total = 256 << 20

    def streamer(c):
        read_head(c)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        blk = b"z" * (1 << 20)
        c.settimeout(8)
        sent = 0
        while sent < total:
            sent += c.send(blk)
    be = ScriptBackend(streamer)
    port = free_port_fn()
    p = proxy(simple_cfg(port, be.port).replace("timeout server 1s", "timeout server 10s")
              .replace("timeout client 5s", "timeout client 10s"), port)
    fdguard(p)
    try:
        base = rss_kb(p.pid)
        clients = []
        for _ in range(4):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(req("GET /big HTTP/1.1", H))
            clients.append(s)
        peak = 0
        for _ in range(15):
            time.sleep(0.1)
            peak = max(peak, rss_kb(p.pid))
        print("\nnever-reading clients: RSS %d kB at start, peak %d kB" % (base, peak))
        assert peak - base < 16 * 1024, "RSS grew by %d kB" % (peak - base)
        for s in clients:
            rst(s)
    finally:
        be.close()


# ------------------------------------------------------------------ 100 000 keep-alive requests
KALOOP_C = r"""
#define _GNU_SOURCE
/* kaloop PROXYPORT LISTENFD N: a one-connection keep-alive client through the proxy, and the backend
 * behind it (threads). Prints the number of good answers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void *serve(void *arg)
{
	int c = (int)(long)arg, one = 1, m = 0;
	char buf[65536];
	ssize_t n, i;

	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while ((n = read(c, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++) {   /* one answer per "\r\n\r\n" (GET, no bodies) */
			m = (buf[i] == (m % 2 ? '\n' : '\r')) ? m + 1 : (buf[i] == '\r');
			if (m == 4) {
				m = 0;
				if (write(c, RESP, sizeof(RESP) - 1) < 0)
					goto out;
			}
		}
out:
	close(c);
	return NULL;
}

static void *acceptor(void *arg)
{
	int l = (int)(long)arg, c;
	pthread_t t;

	while ((c = accept(l, NULL, NULL)) >= 0) {
		pthread_create(&t, NULL, serve, (void *)(long)c);
		pthread_detach(t);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int port = atoi(argv[1]), l = atoi(argv[2]), n = atoi(argv[3]), s, one = 1, ok = 0, i;
	struct sockaddr_in a;
	pthread_t t;
	static const char REQ[] = "GET /v1/chain/get_info HTTP/1.1\r\nHost: wax.eosphere.io\r\n\r\n";
	char buf[8192];
	size_t have = 0;

	pthread_create(&t, NULL, acceptor, (void *)(long)l);
	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (void *)&a, sizeof(a)) < 0)
		return 2;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (i = 0; i < n; i++) {
		char *e, *cl;
		if (write(s, REQ, sizeof(REQ) - 1) < 0)
			break;
		for (;;) {   /* one response: head, then Content-Length bytes */
			ssize_t r;
			buf[have] = 0;
			if ((e = strstr(buf, "\r\n\r\n")) != NULL && (cl = strcasestr(buf, "content-length:")) != NULL &&
			    cl < e) {
				size_t need = (size_t)(e + 4 - buf) + (size_t)atoi(cl + 15);
				if (have >= need) {
					if (strncmp(buf, "HTTP/1.1 200", 12) == 0)
						ok++;
					memmove(buf, buf + need, have - need);
					have -= need;
					break;
				}
			}
			r = read(s, buf + have, sizeof(buf) - 1 - have);
			if (r <= 0)
				goto done;
			have += (size_t)r;
		}
		if (i % 10000 == 0) {
			printf("progress %d\n", i);
			fflush(stdout);
		}
	}
done:
	printf("ok %d\n", ok);
	return 0;
}
"""


@pytest.mark.waxlb_only
def test_rss_100k_keepalive(proxy, fdguard, tmp_path):
    gcc = shutil.which("gcc") or shutil.which("cc")
    if not gcc:
        pytest.skip("no C compiler")
    src = tmp_path / "kaloop.c"
    src.write_text(KALOOP_C)
    exe = tmp_path / "kaloop"
    subprocess.run([gcc, "-O2", "-o", str(exe), str(src), "-lpthread"], check=True)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    port = free_port_fn()
    p = proxy(simple_cfg(port, lsock.getsockname()[1]).replace("timeout client 5s", "timeout client 30s"), port)
    fdguard(p)
    n = 100000
    t0 = time.time()
    k = subprocess.Popen([str(exe), str(port), str(lsock.fileno()), str(n)], pass_fds=(lsock.fileno(),),
                         stdout=subprocess.PIPE)
    samples = []
    out = b""
    base = None
    for line in iter(k.stdout.readline, b""):
        out += line
        if line.startswith(b"progress"):
            samples.append(rss_kb(p.pid))
            if base is None and int(line.split()[1]) >= 10000:
                base = samples[-1]
        if time.time() - t0 > 40:
            k.kill()
            break
    k.wait(10)
    lsock.close()
    took = time.time() - t0
    m = re.search(rb"ok (\d+)", out)
    done = int(m.group(1)) if m else 0
    print("\n100k keep-alive: %d answers in %.1fs (%.0f req/s); RSS samples kB %s" % (
        done, took, done / took, samples))
    assert done == n, out[-500:]
    base = base or samples[0]
    assert max(samples) - base < 4096, "RSS grew from %d to %d kB" % (base, max(samples))
