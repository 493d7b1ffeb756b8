"""Error pages (errorfile, errorloc, errorloc303, http-errors + errorfiles, http-error), waxlb next to HAProxy 2.6.

One configuration, run by waxlb and by Debian's haproxy side by side, each in front of its own scripted backend.
Every source of an error waxlb answers itself is provoked on both (http-request deny with and without deny_status,
503 with no route and with no usable server, 502 bad response, 504 timeout, 400 bad request, 408 request
timeout) and the bytes the client gets are compared: status line, the headers that matter (content-type,
content-length, location, cache-control) and the body. The Connection header and whether the connection stays
open are left out: waxlb keeps its own rules there (HAProxy keeps more connections open after an error).

Which page: the backend's, else the frontend's, else the built-in one (HAProxy's http_error_message()); a
frontend's page for errors met while the head is read. HAProxy 2.6.12 sends its built-in page for those early
400/408 even with an errorfile (a bug fixed in 3.3, whose manual states the errorfile is used): waxlb sends the
file, the test pins both behaviours. The malformed forms of every keyword are refused by `waxlb -c` with
file:line: and a non-zero exit (most by haproxy -c too)."""
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import HAPROXY, WAXLB, Proxy, free_port_fn, parse_all, raw, req, waxlb_cmd

H = "Host: wax.eosphere.io"

FILES = {
    "400.http": b"HTTP/1.1 400 Custom Bad\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nbad one\n",
    "408.http": b"HTTP/1.1 408 Custom Late\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nlate\n",
    "403.http": b"HTTP/1.1 403 Site Forbidden\r\nContent-Type: text/html\r\nCache-Control: no-cache\r\n"
                b"Connection: close\r\nContent-Length: 12\r\n\r\n<p>site 403\n",
    "502site.http": b"HTTP/1.1 502 Site Gateway\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nsite 502\n",
    "502.http": b"HTTP/1.1 502 Files Gateway\r\nContent-Type: text/plain\r\nX-Page: files\r\n"
                b"Content-Length: 10\r\n\r\nfiles 502\n",
    "504.http": b"HTTP/1.1 504 Files Slow\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nfiles 504\n",
    "503def.http": b"HTTP/1.1 503 Defaults\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\ndefaults 503\n",
    "503fe.http": b"HTTP/1.1 503 Frontend\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nfrontend 503\n",
    "503be.http": b"HTTP/1.1 503 Backend\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nbackend 503\n",
    "empty.http": b"",
}

CFG = """defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 500
    timeout http-request 500
    retries 0
    errorfile 503 {d}/503def.http
http-errors site
    errorfile 403 {d}/403.http
    errorfile 502 {d}/502site.http
frontend fe
    bind 127.0.0.1:{port}
    errorfile 400 {d}/400.http
    errorfile 408 {d}/408.http
    errorfile 503 {d}/503fe.http
    errorfiles site 403
    http-error status 429 content-type text/plain string "slow down"
    errorloc303 404 /notfound
    http-request deny if {{ path /deny }}
    http-request deny deny_status 429 if {{ path /deny429 }}
    http-request deny deny_status 404 if {{ path /deny404 }}
    http-request deny deny_status 410 if {{ path /deny410 }}
    use_backend be_files if {{ path_beg /f/ }}
    use_backend be_site if {{ path_beg /s/ }}
    use_backend be_he if {{ path_beg /h/ }}
    use_backend be_none if {{ path_beg /none }}
    use_backend be_reset if {{ path_beg /reset }}
    use_backend be_inherit if {{ path_beg /i/ }}
    use_backend be_plain if {{ path_beg /p/ }}
frontend fe_empty
    bind 127.0.0.1:{port2}
    errorfile 400 /dev/null
    errorfile 408 {d}/empty.http
    default_backend be_files
backend be_files
    errorfile 502 {d}/502.http
    errorfile 504 {d}/504.http
    errorfile 503 {d}/503be.http
    server s1 127.0.0.1:{bport}
backend be_site
    errorfiles site
    errorloc 504 http://errors.example/504?x=1
    server s1 127.0.0.1:{bport}
backend be_he
    http-error status 502 content-type application/json string '{{"error":"bad gateway"}}'
    http-error status 504 errorfile {d}/504.http
    server s1 127.0.0.1:{bport}
backend be_none
    http-error status 503 content-type text/plain string "nobody home"
    server s1 127.0.0.1:{bport} disabled
backend be_reset
    http-error status 503 default-errorfiles
    server s1 127.0.0.1:{bport} disabled
backend be_inherit
    http-request deny if {{ path /i/deny }}
    server s1 127.0.0.1:{bport} disabled
backend be_plain
    server s1 127.0.0.1:{bport}
"""

BUILTIN_408 = (b"<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n"
               b"</body></html>\n")
BUILTIN_400 = b"<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"


class Backend:
    """/.../bad: a response that is not HTTP; /.../slow: no answer (504); anything else: 200."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
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
        c.settimeout(5)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                path = head.split(b" ")[1]
                if path.endswith(b"/bad"):
                    c.sendall(b"\x01garbage, not HTTP\r\n\r\n")
                    return
                if path.endswith(b"/slow"):
                    while c.recv(65536):
                        pass
                    return
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    if not HAPROXY:
        pytest.skip("Debian's haproxy is not installed")
    d = tmp_path_factory.mktemp("errors")
    for name, data in FILES.items():
        (d / name).write_bytes(data)
    out = {}
    for name, cmd in (("wax", waxlb_cmd(WAXLB)), ("ha", [HAPROXY, "-db"])):
        be, port, port2 = Backend(), free_port_fn(), free_port_fn()
        cfg = CFG.format(d=d, port=port, port2=port2, bport=be.port)
        p = Proxy(cmd, cfg, d, port=port, name=name).start()
        out[name] = dict(proxy=p, be=be, port=port, port2=port2)
    yield out
    for e in out.values():
        e["proxy"].stop()
        e["be"].close()


def both(env, data, port_key="port", timeout=3, head=False):
    """Send the same bytes to both proxies at once -> {"wax": bytes, "ha": bytes}."""
    got = {}

    def one(k):
        got[k] = raw(env[k][port_key], data, timeout=timeout, head=head)

    ts = [threading.Thread(target=one, args=(k,)) for k in ("wax", "ha")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return got


MATTERS = ("content-type", "content-length", "location", "cache-control", "x-page")


def view(data, head=False):
    """What is compared of an answer: (status line, headers that matter, body)."""
    rs = parse_all(data, head=head)
    assert rs, "no answer: %r" % data[:300]
    r = rs[0]
    hdrs = sorted((k.lower(), v) for k, v in r.headers if k.lower() in MATTERS)
    return "%s %d %s" % (r.version, r.status, r.reason), hdrs, r.body


# (path, what the client must get: status line, a header, the body)
CASES = [
    # frontend rules: the frontend's pages
    ("/deny", "HTTP/1.1 403 Site Forbidden", ("content-length", "12"), b"<p>site 403\n"),
    ("/deny429", "HTTP/1.1 429 Too Many Requests", ("content-type", "text/plain"), b"slow down"),
    ("/deny404", "HTTP/1.1 303 See Other", ("location", "/notfound"), b""),
    ("/deny410", "HTTP/1.1 410 Gone", ("content-type", "text/html"),
     b"<html><body><h1>410 Gone</h1>\nThe resource is no longer available and will not be available again.\n"
     b"</body></html>\n"),
    ("/nowhere", "HTTP/1.1 503 Frontend", ("content-length", "13"), b"frontend 503\n"),   # no route
    # a backend's own pages
    ("/f/bad", "HTTP/1.1 502 Files Gateway", ("x-page", "files"), b"files 502\n"),
    ("/f/slow", "HTTP/1.1 504 Files Slow", ("content-type", "text/plain"), b"files 504\n"),
    ("/s/bad", "HTTP/1.1 502 Site Gateway", ("content-type", "text/html"), b"site 502\n"),
    ("/s/slow", "HTTP/1.1 302 Found", ("location", "http://errors.example/504?x=1"), b""),
    ("/h/bad", "HTTP/1.1 502 Bad Gateway or Proxy Error", ("content-type", "application/json"),
     b'{"error":"bad gateway"}'),
    ("/h/slow", "HTTP/1.1 504 Files Slow", ("content-length", "10"), b"files 504\n"),
    ("/none", "HTTP/1.1 503 Service Unavailable", ("content-type", "text/plain"), b"nobody home"),
    # default-errorfiles: the backend forgets the defaults' 503, the frontend's serves
    ("/reset", "HTTP/1.1 503 Frontend", ("content-length", "13"), b"frontend 503\n"),
    # no page of its own: the defaults' 503; a deny of its own rules: the frontend's 403
    ("/i/x", "HTTP/1.1 503 Defaults", ("content-length", "13"), b"defaults 503\n"),
    ("/i/deny", "HTTP/1.1 403 Site Forbidden", ("content-type", "text/html"), b"<p>site 403\n"),
    # neither the backend nor the frontend has a 502: the built-in page
    ("/p/bad", "HTTP/1.1 502 Bad Gateway", ("content-length", "107"),
     b"<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n"
     b"</body></html>\n"),
    ("/p/ok", "HTTP/1.1 200 OK", ("content-length", "2"), b"ok"),
]


@pytest.mark.parametrize("path,line,hdr,body", CASES, ids=[c[0] for c in CASES])
def test_error_page_as_haproxy(env, path, line, hdr, body):
    got = both(env, req("GET %s HTTP/1.1" % path, H))
    w, h = view(got["wax"]), view(got["ha"])
    assert h[0] == line and hdr in h[1] and h[2] == body, "HAProxy: %r" % (h,)
    assert w == h, "waxlb %r\nHAProxy %r" % (w, h)


def test_head_request_gets_no_body(env):
    got = both(env, req("HEAD /deny429 HTTP/1.1", H), head=True)
    for k in ("wax", "ha"):
        assert got[k].endswith(b"\r\n\r\n"), (k, got[k])
        assert view(got[k], head=True)[0] == "HTTP/1.1 429 Too Many Requests"
        assert ("content-length", "9") in view(got[k], head=True)[1]


def test_page_headers_as_haproxy_emits_them(env):
    """A file goes out as HAProxy re-emits it: names in lower case, its Connection: close honoured."""
    got = both(env, req("GET /deny HTTP/1.1", H), timeout=3)
    for k in ("wax", "ha"):
        head = got[k].split(b"\r\n\r\n")[0]
        assert b"content-type: text/html\r\n" in head and b"cache-control: no-cache\r\n" in head, (k, head)
        assert head.lower().count(b"connection:") == 1 and b"connection: close" in head, (k, head)


def test_early_400_and_408(env):
    """Errors met while the head is read: waxlb sends the frontend's errorfile (HAProxy's manual, HAProxy
    3.3); HAProxy 2.6.12 sends its built-in page."""
    got = both(env, req("GET / HTTP/1.1", H, "no colon here"))
    assert view(got["wax"]) == ("HTTP/1.1 400 Custom Bad", [("content-length", "8"), ("content-type", "text/plain")],
                                b"bad one\n")
    assert view(got["ha"])[2] == BUILTIN_400
    t = time.time()
    got = both(env, req("GET / HTTP/1.1", H)[:-2])
    assert time.time() - t < 2.5
    assert view(got["wax"]) == ("HTTP/1.1 408 Custom Late", [("content-length", "5"), ("content-type", "text/plain")],
                                b"late\n")
    assert view(got["ha"])[2] == BUILTIN_408


@pytest.mark.parametrize("data", [req("GET / HTTP/1.1", H, "no colon here"), req("GET / HTTP/1.1", H)[:-2]],
                         ids=["400", "408"])
def test_empty_errorfile_sends_nothing(env, data):
    """errorfile 400 /dev/null, errorfile 408 <empty file>: the connection is closed without an answer, by both
    (the manual's workaround for browsers' pre-connections)."""
    got = {}
    for k in ("wax", "ha"):
        t = time.time()
        got[k] = raw(env[k]["port2"], data, timeout=3, until_close=True)
        assert time.time() - t < 2.5, k
    assert got == {"wax": b"", "ha": b""}


def test_error_page_logged_with_its_status(env):
    p = env["wax"]["proxy"]
    since = p.mark()
    raw(env["wax"]["port"], req("GET /s/slow HTTP/1.1", H), timeout=3)
    p.wait_for_log(r' fe be_site/s1 .* 302 .*"GET /s/slow HTTP/1.1"', since=since)


# ------------------------------------------------------------------ malformed forms: file:line: and exit 1
BAD = [
    # name, the line (in a backend), HAProxy 2.6 refuses it too
    ("code_not_handled", "errorfile 418 {d}/503fe.http", True),
    ("code_not_a_number", "errorfile abc {d}/503fe.http", True),
    ("missing_file", "errorfile 503 {d}/nosuch.http", True),
    ("file_too_large", "errorfile 503 {d}/big.http", True),
    ("chunked_file", "errorfile 503 {d}/chunked.http", True),
    ("length_mismatch", "errorfile 503 {d}/mismatch.http", True),
    ("not_http", "errorfile 503 {d}/garbage.http", True),
    ("interim_status", "errorfile 503 {d}/100.http", True),
    ("no_file", "errorfile 503", True),
    ("extra_word", "errorfile 503 {d}/503fe.http extra", False),
    ("errorloc_no_url", "errorloc 503", True),
    ("errorloc_code", "errorloc302 418 /x", True),
    ("errorloc303_code", "errorloc303 999 /x", True),
    ("errorfiles_no_name", "errorfiles", True),
    ("errorfiles_unknown", "errorfiles nosuch", True),
    ("errorfiles_code", "errorfiles site 418", True),
    ("http_error_no_status", "http-error", True),
    ("http_error_status_418", "http-error status 418", True),
    ("http_error_status_100", "http-error status 100", True),
    ("http_error_no_ctype", "http-error status 503 string x", True),
    ("http_error_two_payloads", "http-error status 503 content-type t string x file {d}/503fe.http", True),
    ("http_error_unknown_word", "http-error status 503 bogus", True),
    ("http_error_unknown_section", "http-error status 503 errorfiles nosuch", True),
    ("http_error_missing_file", "http-error status 503 content-type t file {d}/nosuch", True),
    ("http_error_lf_string", "http-error status 503 content-type t lf-string %[src]", False),
    ("http_error_lf_file", "http-error status 503 content-type t lf-file {d}/503fe.http", False),
    ("http_error_hdr", "http-error status 503 hdr X-A %[src]", False),
    # a section of its own after the backend ("@": not indented); the error is on its "!" line
    ("section_keyword", "@http-errors site2\n!    errorloc 503 /x", True),
    ("section_duplicate", "@!http-errors site\n    errorfile 403 {d}/403.http", True),
]


def check(binary, text, tmp_path):
    path = tmp_path / ("%s.cfg" % os.path.basename(binary))
    path.write_text(text)
    cmd = [binary, "-c", "-f", str(path)]
    r = subprocess.run(cmd, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace"), str(path)


@pytest.mark.parametrize("name,line,ha_refuses", BAD, ids=[b[0] for b in BAD])
def test_malformed_error_page_config(waxlb, tmp_path, name, line, ha_refuses):
    d = tmp_path
    for fname, data in FILES.items():
        (d / fname).write_bytes(data)
    (d / "big.http").write_bytes(b"HTTP/1.1 503 X\r\nContent-Length: 20000\r\n\r\n" + b"a" * 20000)
    (d / "chunked.http").write_bytes(b"HTTP/1.1 503 X\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    (d / "mismatch.http").write_bytes(b"HTTP/1.1 503 X\r\nContent-Length: 5\r\n\r\nab")
    (d / "garbage.http").write_bytes(b"garbage")
    (d / "100.http").write_bytes(b"HTTP/1.1 100 Continue\r\n\r\n")
    head = "http-errors site\n    errorfile 403 %s/403.http\n" % d
    body = "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n" \
           "backend b\n    server s 127.0.0.1:1\n"
    line = line.format(d=d)
    lines = (line[1:] if line.startswith("@") else "    " + line).split("\n")
    at = [i for i, l in enumerate(lines) if l.startswith("!")] or [len(lines) - 1]
    text = head + body + "\n".join(l.lstrip("!") for l in lines) + "\n"
    bad_line = len((head + body).split("\n")) + at[0]
    rc, out, path = check(WAXLB, text, tmp_path)
    assert rc != 0, "%s accepted:\n%s" % (name, out)
    assert re.search(r"(^|\n)%s:%d: " % (re.escape(path), bad_line), out), "no %s:%d: in\n%s" % (path, bad_line, out)
    if HAPROXY:
        # haproxy -c exits 1 on errors (2: valid, but no listener)
        hrc, hout, _ = check(HAPROXY, text, tmp_path)
        assert (hrc == 1) == ha_refuses, "HAProxy: rc %d\n%s" % (hrc, hout)


def test_error_page_warnings(waxlb, tmp_path):
    """A code listed for a section that lacks it, a content-type that cannot apply: warnings only."""
    (tmp_path / "403.http").write_bytes(FILES["403.http"])
    text = ("http-errors site\n    errorfile 403 %s/403.http\n"
            "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
            "backend b\n    errorfiles site 404\n    http-error status 503 content-type t\n"
            "    server s 127.0.0.1:1\n") % tmp_path
    rc, out, path = check(waxlb, text, tmp_path)
    assert rc == 0, out
    assert re.search(r"%s:9: warning: .*'404' not declared" % re.escape(path), out), out
    assert re.search(r"%s:10: warning: .*content-type 't' ignored" % re.escape(path), out), out
