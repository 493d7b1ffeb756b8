"""HAProxy's rule language, side by side with Debian's haproxy on the same configuration (issue 11):
http-request / http-response / http-after-response actions with log-format values and %[...] sample
expressions, conditions (OR, -m methods, integer ranges), answers made by rules (deny, return, redirect,
tarpit, auth), userlists, tcp-request rules, captures, unique ids and log-format lines.

Each test starts the binary under test and haproxy on one config (ports aside), sends the same requests to
both and compares what the client gets and what the fake node received; header names are compared
case-insensitively (haproxy writes them in lower case, waxlb as configured or received)."""
import os
import re
import socket
import time

import pytest

import fakenodes
from conftest import HAPROXY, Conn, Proxy, free_port_fn, parse_all, raw, waxlb_cmd

pytestmark = pytest.mark.skipif(not HAPROXY, reason="Debian's haproxy is needed as the reference")

# the fake node's own headers, which the comparisons leave aside
NODE_HDRS = {"date", "server", "x-node", "content-length", "content-type", "connection"}


@pytest.fixture(scope="module")
def api():
    n = fakenodes.Nodes()
    n.api("a1")
    n.api("a2")
    yield n
    n.close()


class Pair:
    """The binary under test and haproxy on one config (PORT replaced, NODE1/NODE2 the fake nodes)."""

    def __init__(self, cfg, api, tmp_path, ready=True):
        self.pw, self.ph = free_port_fn(), free_port_fn()
        sub = lambda c, p: (c.replace("@PORT@", str(p)).replace("@NODE1@", str(api.port("a1")))
                            .replace("@NODE2@", str(api.port("a2"))).replace("@DIR@", str(tmp_path)))
        self.w = Proxy(waxlb_cmd(), sub(cfg, self.pw), tmp_path, port=self.pw if ready else None, name="w")
        self.h = Proxy([HAPROXY, "-db"], sub(cfg, self.ph), tmp_path, port=self.ph if ready else None,
                       name="h")

    def start(self):
        self.w.start()
        self.h.start()
        return self

    def stop(self):
        self.w.stop()
        self.h.stop()

    def both(self, data, **kw):
        return raw(self.pw, data, **kw), raw(self.ph, data, **kw)

    def responses(self, data, **kw):
        a, b = self.both(data, **kw)
        ra, rb = parse_all(a), parse_all(b)
        assert ra and rb, (a, b)
        return ra[-1], rb[-1]


@pytest.fixture
def pair(api, tmp_path):
    made = []

    def make(cfg, ready=True):
        p = Pair(cfg, api, tmp_path, ready)
        made.append(p)
        return p.start()

    yield make
    for p in made:
        p.stop()


def get(path, *hdrs, host="wax.example", method="GET", body=b""):
    h = ["Host: " + host] + list(hdrs) + ["Connection: close"]
    if body:
        h.append("Content-Length: %d" % len(body))
    return ("%s %s HTTP/1.1\r\n%s\r\n\r\n" % (method, path, "\r\n".join(h))).encode() + body


def hdrs(r, skip=NODE_HDRS):
    """A response's headers as sorted (lower-case name, value) pairs, the node's own ones left aside."""
    return sorted((k.lower(), v) for k, v in r.headers if k.lower() not in skip)


def seen(r):
    """The headers the fake node received (from its JSON echo), lower-case names, without Host/X-F-F."""
    return sorted((k.lower(), v) for k, v in r.json()["headers"] if k.lower() not in ("connection",))


BASE = """global
    log stdout format raw local0
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
"""


# ------------------------------------------------------------------ response rules: the guides' CORS
def test_cors_http_response_set_header(pair):
    """The WAX guide's CORS lines: every answer from a node gets them, once, whatever the node sent."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-response set-header Access-Control-Allow-Origin "*"
    http-response set-header Access-Control-Allow-Headers "Origin, X-Requested-With, Content-Type, Accept"
    http-response add-header X-Added one
    http-response add-header X-Added two
    http-response del-header X-Node
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    for path in ("/v1/chain/get_info", "/status?code=404", "/status?code=500"):
        a, b = p.responses(get(path, "Origin: https://dapp.example"))
        assert a.status == b.status
        assert hdrs(a, NODE_HDRS - {"x-node"}) == hdrs(b, NODE_HDRS - {"x-node"}), (a.headers, b.headers)
        assert a.header_all("Access-Control-Allow-Origin") == ["*"]
        assert a.header_all("X-Added") == ["one", "two"]
        assert a.header("X-Node") is None


def test_response_conditions_and_edits(pair):
    """Conditions over status, res.hdr(), res.hdr_cnt() and request fetches; replace-header,
    replace-value, set-status with and without a reason, del-header -m."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-request set-var(txn.origin) req.hdr(origin)
    http-response set-header X-Was-Error yes if { status ge 400 }
    http-response set-header X-Chain yes if { path_beg /v1/chain }
    http-response set-header X-CT %[res.hdr(content-type)] if { res.hdr_cnt(content-type) eq 1 }
    http-response set-header Access-Control-Allow-Origin %[var(txn.origin)] if { var(txn.origin) -m found }
    http-response replace-header Server (.*)nodeos \\1-proxied
    http-response add-header X-List "a, bb, a"
    http-response replace-value X-List ^a$ z
    http-response set-status 299 if { status 201 }
    http-response set-status 298 reason "Fine Anyway" if { status 202 }
    http-response del-header ^x-n -m reg
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    cases = [get("/v1/chain/get_info", "Origin: https://a.example"), get("/status?code=404"),
             get("/status?code=201"), get("/status?code=202"), get("/x")]
    # Request fetches in response rules: waxlb evaluates them on the request the response answers (as
    # issue 11 asks); HAProxy 2.6 has released the request by then and finds nothing (X-Chain differs).
    skip = NODE_HDRS - {"server", "x-node"} | {"x-chain"}
    for c in cases:
        a, b = p.responses(c)
        assert (a.status, a.reason) == (b.status, b.reason), c
        assert hdrs(a, skip) == hdrs(b, skip), c
    a, b = p.responses(get("/v1/chain/get_info"))
    assert a.header("X-Chain") == "yes" and b.header("X-Chain") is None
    a, _ = p.responses(get("/status?code=202"))
    assert (a.status, a.reason) == (298, "Fine Anyway")
    assert a.header("Server") == "fake-proxied"
    assert a.header("X-List") == "z, bb,z"     # a replaced value loses its blanks, as in HAProxy


def test_http_response_deny_and_redirect(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-response deny if { status 500 }
    http-response deny deny_status 403 if { status 404 }
    http-response redirect location /moved code 302 if { status 201 }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    for code, want in (("500", 502), ("404", 403), ("201", 302), ("200", 200)):
        a, b = p.responses(get("/status?code=" + code))
        assert a.status == b.status == want, code
        assert hdrs(a) == hdrs(b), (a.headers, b.headers)
        assert a.body == b.body


# ------------------------------------------------------------------ request rules with expressions
def test_request_edits_with_expressions(pair):
    """What the node receives after set-header/add-header/del-header with %[...] values and converters,
    set-path/set-query/set-uri/replace-path/set-method, and variables."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-request set-header X-Forwarded-Port %[dst_port]
    http-request set-header X-Client %[src]-%[str(abc),length]
    http-request set-header X-Host %[req.hdr(host),lower]
    http-request set-header X-Up %[hdr(x-in),upper]
    http-request set-header X-B64 %[hdr(x-in),base64]
    http-request set-header X-Hex %[hdr(x-in),hex]
    http-request set-header X-Len %[hdr(x-in),length]
    http-request set-header X-Field %[hdr(x-list),field(2,:)]
    http-request set-header X-Word %[hdr(x-list),word(2,:)]
    http-request set-header X-Bytes %[hdr(x-in),bytes(1,3)]
    http-request set-header X-Regsub %[path,regsub(/+,_,g)]
    http-request set-header X-Text "literal %% and %[method] %[req.ver]"
    http-request set-var(txn.p) path
    http-request set-header X-Var %[var(txn.p)]
    http-request set-header X-Default %[var(txn.nothere,none)]
    http-request add-header X-Two a
    http-request add-header X-Two b
    http-request del-header X-Drop
    http-request set-header X-Url %[url]
    http-request set-header X-Query %[query]
    http-request set-header X-Base %[base]
    http-request set-path /p%[path] if { path_beg /a }
    http-request set-query q=1&%[query] if { path_beg /q }
    http-request set-uri /uri/x?y=2 if { path_beg /u }
    http-request replace-path /r/(.*) /replaced/\\1
    http-request set-method POST if { path_beg /m }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    for path in ("/a/b", "/q?x=1", "/q", "/u/old?z=9", "/r/one/two", "/m", "/plain"):
        a, b = p.responses(get(path, "X-In: Hello", "X-List: aa:bb:cc", "X-Drop: 1"))
        assert a.status == b.status == 200, path
        ja, jb = a.json(), b.json()
        assert (ja["method"], ja["path"]) == (jb["method"], jb["path"]), path
        sa, sb = dict(seen(a)), dict(seen(b))
        assert sa.pop("x-forwarded-port") == str(p.pw) and sb.pop("x-forwarded-port") == str(p.ph)
        assert sa == sb, path
    a, _ = p.responses(get("/a/b", "X-In: Hello", "X-List: aa:bb:cc"))
    got = dict((k.lower(), v) for k, v in a.json()["headers"])
    assert got["x-host"] == "wax.example" and got["x-up"] == "HELLO" and got["x-b64"] == "SGVsbG8="
    assert got["x-hex"] == "48656C6C6F" and got["x-field"] == "bb" and got["x-text"] == "literal % and GET 1.1"


def test_header_value_injection_is_encoded(pair):
    """A sample with CR/LF put in a header value is %-encoded, as HAProxy's LOG_OPT_HTTP does."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-request set-header X-Dec %[hdr(x-in),url_dec]
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    a, b = p.responses(get("/", "X-In: a%0d%0aEvil:%20yes%09x"))
    assert seen(a) == seen(b)
    got = dict((k.lower(), v) for k, v in a.json()["headers"])
    assert got["x-dec"] == "a%0D%0AEvil: yes\tx" and "evil" not in got


def test_map_converters(pair, tmp_path):
    (tmp_path / "hosts.map").write_text("# comment\nwax.example b1\n.api.example b2\napi.example b2\n")
    (tmp_path / "nets.map").write_text("127.0.0.0/8 loopback\n10.0.0.0/8 ten\n")
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-request set-header X-Net %[src,map_ip(@DIR@/nets.map,none)]
    http-request set-header X-Be %[req.hdr(host),lower,map_dom(@DIR@/hosts.map,dflt)]
    use_backend %[req.hdr(host),lower,map_str(@DIR@/hosts.map,b1)]
    default_backend b1
backend b1
    server s1 127.0.0.1:@NODE1@
backend b2
    server s2 127.0.0.1:@NODE2@
""")
    for host in ("wax.example", "API.example", "x.api.example", "other.example"):
        a, b = p.responses(get("/", host=host))
        assert a.node == b.node, host
        assert seen(a) == seen(b), host
    assert p.responses(get("/", host="API.example"))[0].node == "a2"
    assert p.responses(get("/", host="other.example"))[0].node == "a1"


# ------------------------------------------------------------------ conditions
def test_conditions(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    acl a1 path_beg /one
    acl a2 path_beg /two
    acl many hdr_cnt(x-n) gt 1
    acl range hdr_val(x-v) 10:20
    acl lt hdr_val(x-v) lt 5
    acl short path_len le 3
    acl dotdom hdr(host) -m dom example
    acl endtxt path -m end .txt
    acl sub path -m sub mid
    acl regi path -i -m reg ^/CASE
    acl found hdr(x-f) -m found
    acl ipm hdr_ip(x-ip) 10.0.0.0/8 192.168.1.1
    http-request return status 201 if a1 OR a2
    http-request return status 202 if many || range
    http-request return status 203 if lt or short
    http-request return status 204 if !dotdom
    http-request return status 205 if endtxt sub
    http-request return status 206 if regi
    http-request return status 207 if found { hdr(x-f) yes }
    http-request return status 208 if ipm
    http-request return status 209 if { method POST } { req.ver 1.1 }
    http-request return status 210 if METH_OPTIONS
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    cases = [get("/one"), get("/two"), get("/three"), get("/xx", "X-N: 1", "X-N: 2"),
             get("/xxxx", "X-V: 15"), get("/xxxx", "X-V: 25"), get("/xxxx", "X-V: 3"), get("/a"),
             get("/xxxx", host="other.org"), get("/a-mid.txt"), get("/a.txt"), get("/case/x"),
             get("/xxxx", "X-F: yes"), get("/xxxx", "X-F: no"), get("/xxxx", "X-IP: 10.1.2.3"),
             get("/xxxx", "X-IP: 192.168.1.1:80"), get("/xxxx", "X-IP: 8.8.8.8"),
             get("/xxxx", method="POST", body=b"x"), get("/xxxx", method="OPTIONS")]
    for c in cases:
        a, b = p.responses(c)
        assert a.status == b.status, c


# ------------------------------------------------------------------ answers made by rules
def test_deny_return_redirect(pair, tmp_path):
    (tmp_path / "body.txt").write_text("from a file\n")
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-request deny if { path /deny }
    http-request deny deny_status 429 if { path /deny429 }
    http-request deny status 400 content-type text/plain string "no way" if { path /denybody }
    http-request return if { path /empty }
    http-request return status 404 content-type "text/plain" string "not here" hdr X-A a hdr X-B %[path] if { path /ret }
    http-request return status 200 content-type application/json lf-string "{\\"ip\\":\\"%[src]\\"}" if { path /lf }
    http-request return status 200 content-type text/plain file @DIR@/body.txt if { path /file }
    http-request redirect location https://other.example%[path] code 301 if { path_beg /loc }
    http-request redirect prefix /new if { path_beg /pre }
    http-request redirect prefix /new drop-query if { path_beg /dq }
    http-request redirect scheme https if { path_beg /sch }
    http-request redirect location /x code 307 if { path /t307 }
    redirect location /old-style code 303 if { path /old }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    for path in ("/deny", "/deny429", "/denybody", "/empty", "/ret", "/lf", "/file", "/loc/a?b=1",
                 "/pre/a?b=1", "/dq/a?b=1", "/sch/x", "/t307", "/old", "/pass"):
        a, b = p.both(get(path))
        ra, rb = parse_all(a)[-1], parse_all(b)[-1]
        assert (ra.status, ra.reason) == (rb.status, rb.reason), path
        assert hdrs(ra, {"date", "server", "x-node"} if path == "/pass" else set()) == \
            hdrs(rb, {"date", "server", "x-node"} if path == "/pass" else set()), (path, ra.headers, rb.headers)
        if path != "/pass":
            assert ra.body == rb.body, path


def test_answers_keep_alive_like_haproxy(pair):
    """Which rule answers keep the client connection (a second request on it is served)."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-request deny if { path /deny }
    http-request return status 200 content-type text/plain string ok if { path /ret }
    http-request redirect location /x if { path /red }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    for path in ("/deny", "/ret", "/red"):
        out = []
        for port in (p.pw, p.ph):
            with Conn(port) as c:
                c.send(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
                first = c.response()
                c.send(b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
                try:
                    second = c.response().status
                except Exception:
                    second = None
                out.append((first.status, second))
        assert out[0] == out[1], (path, out)


def test_after_response_on_answers_made_here(pair):
    """http-after-response applies to responses from nodes and to answers made by the proxy (deny,
    redirect, return, no server: 503), not to early parser errors (400)."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-after-response set-header Strict-Transport-Security "max-age=31536000"
    http-after-response set-header X-Status %[status]
    http-after-response set-status 203 if { status 200 } { res.hdr(x-node) a1 }
    http-request deny if { path /deny }
    http-request redirect location /x if { path /red }
    use_backend none if { path /none }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
backend none
""")
    for data in (get("/ok"), get("/deny"), get("/red"), get("/none"), b"GET / HTTP/1.1\r\nHost x\r\n\r\n"):
        a, b = p.responses(data)
        assert (a.status, a.reason) == (b.status, b.reason), data
        assert a.header("Strict-Transport-Security") == b.header("Strict-Transport-Security"), data
        assert a.header("X-Status") == b.header("X-Status"), data


def test_tarpit(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    timeout tarpit 300ms
    http-request tarpit if { path /t }
    http-request tarpit deny_status 429 if { path /t429 }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    for path, want in (("/t", 500), ("/t429", 429)):
        a, b = p.responses(get(path), timeout=5)
        assert a.status == b.status == want
        assert hdrs(a) == hdrs(b) and a.body == b.body


def test_reject_closes_without_answer(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-request reject if { path /r }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    a, b = p.both(get("/r"))
    assert a == b == b""


# ------------------------------------------------------------------ basic authentication
AUTH = """userlist users
    group admins
    user alice password $6$saltsalt$fxtrgNr0//Ip0B6ss2a/TCLvMdsw5Nx6dknvHShinRxCFbPDFOF1FjlGij8xWCb0jfJjN/ydBgMw3Go6NrTo21 groups admins
    user bob password $5$rounds=2000$salt$sHfnSZFKbPHUVVyzHVL9i7ZLdoqThF5yDL.LMjpCKv0
    user carol password $1$saltsalt$SIUp203xg6fAS.jaqq/oJ.
    user dave insecure-password plain
userlist others
    user eve insecure-password x
"""


def basic(user, pw):
    import base64
    return "Authorization: Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def test_basic_auth(pair):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    for line in AUTH.splitlines():
        m = re.match(r"\s+user (\w+) password (\S+)", line)
        if m:   # the hashes above are what glibc's crypt() makes of "<user>pw"
            assert crypt.crypt(m.group(1) + "pw", m.group(2)) == m.group(2), m.group(1)
    p = pair(BASE + AUTH + """frontend f
    bind 127.0.0.1:@PORT@
    acl ok http_auth(users)
    acl admin http_auth_group(users) admins
    http-request auth realm Wax if !ok
    http-request return status 200 content-type text/plain string admin if admin
    http-request auth if { path /other } !{ http_auth(others) }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    cases = [get("/"), get("/", basic("alice", "alicepw")), get("/", basic("alice", "wrong")),
             get("/", basic("bob", "bobpw")), get("/", basic("carol", "carolpw")),
             get("/", basic("dave", "plain")), get("/", basic("dave", "plainx")),
             get("/", basic("nobody", "x")), get("/", "Authorization: Basic !!!"),
             get("/other", basic("dave", "plain")), get("/other", basic("eve", "x"))]
    for c in cases:
        a, b = p.responses(c)
        assert a.status == b.status, c
        assert a.body == b.body or a.status == 200, c
        assert a.header_all("WWW-Authenticate") == b.header_all("WWW-Authenticate"), c


# ------------------------------------------------------------------ tcp-request rules
def test_tcp_request_rules(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    tcp-request connection reject if { src 10.0.0.0/8 }
    tcp-request connection accept if { src 127.0.0.1 }
    tcp-request connection reject
    tcp-request inspect-delay 2s
    tcp-request content reject if { path /refused }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
listen t
    mode tcp
    bind 127.0.0.2:@PORT@
    tcp-request content reject if { dst_port @PORT@ } { src 127.0.0.3 }
    tcp-request connection reject if { dst 127.0.0.9 }
    server s1 127.0.0.1:@NODE1@
""")
    a, b = p.responses(get("/ok"))
    assert a.status == b.status == 200
    assert p.both(get("/refused")) == (b"", b"")
    ra = raw(p.pw, get("/v1/chain/get_info"), host="127.0.0.2")
    rb = raw(p.ph, get("/v1/chain/get_info"), host="127.0.0.2")
    assert parse_all(ra)[-1].status == parse_all(rb)[-1].status == 200


# ------------------------------------------------------------------ logs
def log_line(proxy, needle):
    return proxy.wait_for_log(re.escape(needle)).string


def fields(line):
    """A log line without what differs between runs: ports, dates, timers, byte counts."""
    line = re.sub(r":\d{4,5}\b", ":PORT", line)
    line = re.sub(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d(\.\d{3})?( [+-]\d{4})?\]", "[DATE]", line)
    return line


def test_httplog_with_captures_matches_haproxy(pair):
    p = pair(BASE + """defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:@PORT@
    capture request header Host len 32
    capture request header X-Long len 4
    capture response header Content-Type len 10
    http-request capture req.hdr(x-cap) len 6
    http-request deny if { path /deny }
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    for path in ("/v1/chain/get_info", "/deny", "/status?code=404"):
        p.both(get(path, "X-Long: abcdefgh", "X-Cap: captured-value"))
        la, lb = log_line(p.w, path), log_line(p.h, path)
        # timers and %B (HAProxy counts its internal representation, waxlb the bytes sent) aside
        ta = re.sub(r" [-\d]+/[-\d]+/[-\d]+/[-\d]+/[-\d]+ (\d+) \d+ ", r" T \1 B ", fields(la))
        tb = re.sub(r" [-\d]+/[-\d]+/[-\d]+/[-\d]+/[-\d]+ (\d+) \d+ ", r" T \1 B ", fields(lb))
        assert ta == tb, (la, lb)


def test_log_format_variables_match_haproxy(pair):
    fmt = ('%{+Q}o %ci %f %b %s %ST %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{-Q}r %HM %HU %HP %HPO %HQ %HV '
           '%[capture.req.hdr(0),lower] %[var(txn.q)] %ID %{+X}Ts-check %{+Q,+E}[var(txn.q)] %fp %{+X}ci')
    p = pair(BASE + """defaults
    mode http
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:@PORT@
    unique-id-format %{+X}o%ci-%[req.hdr(x-id)]
    unique-id-header X-Request-ID
    capture request header Host len 20
    http-request set-var(txn.q) req.hdr(x-q)
    log-format "@FMT@"
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""".replace("@FMT@", fmt.replace('"', '\\"')))
    for path in ("/a/b?c=d", "/x"):
        a, b = p.responses(get(path, "X-Id: 42", 'X-Q: say "hi"', host="WAX.Example"))
        assert seen(a) == seen(b)
        la, lb = log_line(p.w, path), log_line(p.h, path)
        la = re.sub(r"\b[0-9A-F]{8}-check", "TS", fields(la))
        lb = re.sub(r"\b[0-9A-F]{8}-check", "TS", fields(lb))
        assert la.replace(str(p.pw), "P") == lb.replace(str(p.ph), "P"), (la, lb)


def test_tcplog_matches_haproxy(pair):
    p = pair(BASE + """listen t
    mode tcp
    log global
    option tcplog
    bind 127.0.0.1:@PORT@
    server s1 127.0.0.1:@NODE1@
""")
    a, b = p.both(get("/tcp-probe"))
    assert parse_all(a)[-1].status == parse_all(b)[-1].status == 200
    la = p.w.wait_for_log(r" t t/s1 ").string
    lb = p.h.wait_for_log(r" t t/s1 ").string
    # timers, bytes and the connection counters aside (the harness's port probe may still be open)
    norm = lambda l: re.sub(r" \d+/\d+/\d+ \d+ (\S+) [\d/]+ ", r" T B \1 C ", fields(l))
    assert norm(la) == norm(lb), (la, lb)


def test_connect_from_without_format(pair):
    """A frontend that logs without a format: HAProxy's "Connect from" line at accept."""
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    log global
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    p.both(get("/"))
    la = p.w.wait_for_log(r"^Connect from ").string
    lb = p.h.wait_for_log(r"^Connect from ").string
    assert fields(la).replace(str(p.pw), "P") == fields(lb).replace(str(p.ph), "P")


# ------------------------------------------------------------------ configuration errors
@pytest.mark.parametrize("line,needle", [
    ("http-request set-header X %[nosuchfetch]", "unknown fetch method 'nosuchfetch'"),
    ("http-request set-header X %[req.hdr(host),nosuchconv]", "unknown converter 'nosuchconv'"),
    ("http-request set-header X %[req.hdr(host)", "missing ']'"),
    ("http-request set-header X %[req.hdr(host,0)]", "occurrence"),
    ("http-request set-header X %[path,regsub((,x)]", "regex"),
    ("http-request set-header X %[path,field(0,:)]", "index"),
    ("http-request set-header X %Tzz", "no such format variable"),
    ("http-request set-header X %[res.hdr(x)]", "response"),
    ("http-request set-var(sess.x) path", "sess."),
    ("http-request set-var(bad) path", "expected proc., txn., req. or res."),
    ("http-request frob", "not supported"),
    ("http-response set-path /x", "not supported"),
    ("http-request auth realm", "realm"),
    ("http-request deny deny_status 1000", "status code"),
    ("http-request capture req.hdr(x) len", "len"),
    ("http-request return status 200 string x", "content-type"),
    ("http-request set-status 200", "not supported"),
    ("http-response set-status abc", "status code"),
    ("acl a hdr_cnt(x) gt", "integer"),
    ("acl a path -m frob x", "frob"),
    ("log-format a b", "only one argument"),
    ("capture request header Host", "len"),
    ("tcp-request session accept", "tcp-request session"),
])
def test_rule_errors_have_file_line(waxlb, tmp_path, line, needle):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("defaults\n    mode http\nfrontend f\n    bind 127.0.0.1:1\n    %s\n" % line)
    import subprocess
    r = subprocess.run([waxlb, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0, r
    out = r.stdout + r.stderr
    assert "bad.cfg:5:" in out and needle in out, out


def test_log_target_formats_match_haproxy(pair):
    """The framing of each `log ... format F` (and the LF HAProxy ends every datagram with), on UDP targets
    receiving the same request line from both proxies."""
    fmts = ["", "rfc3164", "rfc5424", "short", "raw", "priority", "timed", "iso", "local"]
    socks = []
    for f in fmts:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        socks.append(s)
    glob = "".join("    log 127.0.0.1:%d %s local0\n" % (s.getsockname()[1], "format " + f if f else "")
                   for s, f in zip(socks, fmts))
    p = pair("global\n    log-tag haproxy\n" + glob + BASE.split("\n", 2)[2] + """    log global
    option httplog
frontend f
    bind 127.0.0.1:@PORT@
    http-request return status 200
""")
    norm = lambda d: re.sub(rb" (\d{3}) \d+ - - ", rb" \1 B - - ", re.sub(rb"\[\d+\]|\b\d{4,6}\b", b"N", re.sub(
        rb"\w{3} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d|\[\d\d/\w{3}/\d{4}:[\d:.]+\]|"
        rb":\d{4,5} ", b"T", d)))
    for port in (p.pw, p.ph):
        raw(port, get("/fmt-probe"))
        got = []
        for s, f in zip(socks, fmts):
            while True:
                d = s.recv(4096)
                if b"/fmt-probe" in d:
                    break
            got.append(norm(d))
        if port == p.pw:
            mine = got
    for f, a, b in zip(fmts, mine, got):
        assert a == b, (f, a, b)
    assert all(g.endswith(b"\n") for g in got)
    for s in socks:
        s.close()
