"""Keywords that were accepted without effect before issue 11, side by side with Debian's haproxy on the same
configuration: the status page's stats realm / hide-version / show-node / show-desc / scope / admin (HAProxy's
form posts), global node and description (show info), proxy and server ids, monitor-uri and monitor fail with the
nbsrv() fetch, log-send-hostname and log-format-sd on syslog datagrams, option log-health-checks with
http-check disable-on-404 and send-state, http-check connect, spread-checks, server-state files, and SIGUSR2
(HAProxy's master-worker reload signal)."""
import csv
import http.server
import io
import os
import re
import signal
import socket
import socketserver
import threading
import time

import pytest

import fakenodes
from conftest import HAPROXY, Proxy, free_port_fn, parse_all, raw, show_stat, stats_cmd, wait_stats_sock, \
    wait_until, waxlb_cmd
from test_rules import BASE, get, pair  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not HAPROXY, reason="Debian's haproxy is needed as the reference")


@pytest.fixture(scope="module")
def api():
    n = fakenodes.Nodes()
    n.api("a1")
    n.api("a2")
    yield n
    n.close()


def csv_rows(text):
    rows = list(csv.reader(io.StringIO(text.lstrip("# ").strip())))
    return [dict(zip(rows[0], r)) for r in rows[1:] if r]


def socks(p, tmp_path):
    return str(tmp_path / ("s%d.sock" % p.pw)), str(tmp_path / ("s%d.sock" % p.ph))


# ------------------------------------------------------------------ status page
STATS = BASE.replace("global\n", "global\n    node nodename\n    description the global text\n") + """listen st
    bind 127.0.0.1:@PORT@
    stats enable
    stats uri /st
    stats realm Our\\ Statistics
    stats auth u:p
    stats hide-version
    stats show-node
    stats show-desc
    stats scope b1
    stats scope .
    stats admin if { hdr(x-admin) yes }
backend b1
    id 7
    description first backend
    server s1 127.0.0.1:@NODE1@ id 9
    server s2 127.0.0.1:@NODE2@
backend b2
    server s1 127.0.0.1:@NODE1@
"""


def test_stats_realm_scope_and_ids(pair):
    p = pair(STATS)
    a, b = p.responses(get("/st"))
    assert a.status == b.status == 401
    assert a.header("www-authenticate") == b.header("www-authenticate") == 'Basic realm="Our Statistics"'
    auth = "Authorization: Basic dTpw"
    a, b = p.responses(get("/st;csv", auth))
    ra, rb = csv_rows(a.body.decode()), csv_rows(b.body.decode())
    # scope: b1 and the page's own proxy only; ids: forced ones kept, the others numbered as HAProxy does
    key = lambda rows: sorted((r["pxname"], r["svname"], r["iid"], r["sid"]) for r in rows)
    assert key(ra) == key(rb), (key(ra), key(rb))
    assert {r["pxname"] for r in ra} == {"st", "b1"}
    assert ("b1", "s1", "7", "9") in key(ra)
    a, _ = p.responses(get("/st", auth))
    page = a.body.decode()
    assert "nodename" in page and "the global text" in page and "first backend" in page
    assert "0.1.0" not in page          # hide-version
    assert 'data-backend="b2"' not in page and 'data-backend="b1"' in page


def test_stats_admin_form_posts(pair):
    p = pair(STATS)
    auth = "Authorization: Basic dTpw"
    form = b"s=s1&s=s2&action=drain&b=%237"
    # without the admin condition: HAProxy answers 303 to ;st=DENY and changes nothing
    a, b = p.responses(get("/st", auth, method="POST", body=form))
    assert a.status == b.status == 303
    assert a.header("location") == b.header("location") == "/st;st=DENY"
    for body, want in ((form, "DONE"), (b"s=zz&s=s1&action=maint&b=b1", "PART"), (b"s=s1&action=bogus&b=b1", "ERRP"),
                       (b"action=ready&b=b1", "NONE")):
        a, b = p.responses(get("/st", auth, "X-Admin: yes", method="POST", body=body))
        assert a.status == b.status == 303, body
        assert a.header("location") == b.header("location") == "/st;st=" + want, body
    a, b = p.responses(get("/st;csv", auth))
    st = lambda r: {(x["pxname"], x["svname"]): x["status"] for x in csv_rows(r.body.decode())}
    sa, sb = st(a), st(b)
    assert sa[("b1", "s1")] == sb[("b1", "s1")] == "MAINT"
    assert sa[("b1", "s2")] == sb[("b1", "s2")] == "DRAIN"
    a, _ = p.responses(get("/st;st=DONE", auth, "X-Admin: yes"))
    assert "Action processed successfully." in a.body.decode()
    assert 'name="action"' in a.body.decode().replace("name=action", 'name="action"')


def test_show_info_node_and_description(pair, tmp_path):
    cfg = STATS.replace("global\n", "global\n    stats socket @DIR@/s@PORT@.sock level admin\n")
    p = pair(cfg)
    sw, sh = socks(p, tmp_path)
    wait_stats_sock(sw)
    wait_stats_sock(sh)
    for sock in (sw, sh):
        info = stats_cmd(sock, "show info")
        assert re.search(r"^node: nodename$", info, re.M), info
        assert re.search(r"^description: the global text$", info, re.M), info
    ids = lambda s: sorted((k, v["iid"], v["sid"]) for k, v in show_stat(s).items())
    assert ids(sw) == ids(sh)       # the stats socket's GLOBAL proxy takes id 1 in both


# ------------------------------------------------------------------ monitor-uri, monitor fail, nbsrv
def test_monitor_uri_and_fail(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    log global
    option httplog
    monitor-uri /health
    monitor fail if { nbsrv(down) lt 1 }
    http-request deny if { path /health }
    http-request set-header X-Nb %[nbsrv(b)]
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
    server s2 127.0.0.1:@NODE2@ backup
backend down
    server d 127.0.0.1:1 check inter 100
""")
    p.w.wait_for_log(r"Server down/d is DOWN")
    p.h.wait_for_log(r"Server down/d is DOWN")
    mw, mh = p.w.mark(), p.h.mark()
    # before the rules (the deny does not apply), on the exact URI only, kept alive as HAProxy
    data = get("/health").replace(b"Connection: close\r\n", b"") + get("/health?x")
    a, b = p.both(data, n=2)
    ra, rb = parse_all(a), parse_all(b)
    assert [r.status for r in ra] == [r.status for r in rb] == [503, 403]
    assert ra[0].body == rb[0].body
    a, b = p.responses(get("/x"))
    for r in (a, b):        # one usable active server (the backup does not count then)
        assert ("x-nb", "1") in [(k.lower(), v) for k, v in r.json()["headers"]], r.json()

    # not logged (the /health?x and /x requests are)
    wait_until(lambda: len(p.w.find_log(r'"GET /x ', since=mw)) and len(p.h.find_log(r'"GET /x ', since=mh)))
    for px, m in ((p.w, mw), (p.h, mh)):
        assert not px.find_log(r'"GET /health HTTP', since=m), px.log()
        assert px.find_log(r'"GET /health\?x HTTP', since=m), px.log()


def test_monitor_uri_200_page(pair):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    monitor-uri /alive
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
""")
    a, b = p.responses(get("/alive"))
    assert a.status == b.status == 200
    assert a.body == b.body == b"<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n"
    low = lambda r: sorted((k.lower(), v) for k, v in r.headers if k.lower() != "connection")
    assert low(a) == low(b)


# ------------------------------------------------------------------ syslog datagrams
class Udp:
    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(5)
        self.port = self.s.getsockname()[1]

    def until(self, pred, n=50):
        for _ in range(n):
            d = self.s.recv(65536).decode()
            if pred(d):
                return d
        raise AssertionError("no matching datagram")


def syslog_pair(cfg, api, tmp_path):
    uw, uh = Udp(), Udp()
    w, h = free_port_fn(), free_port_fn()
    sub = lambda p, u: cfg.replace("@PORT@", str(p)).replace("@UDP@", str(u.port)).replace(
        "@NODE1@", str(api.port("a1")))
    pw = Proxy(waxlb_cmd(), sub(w, uw), tmp_path, port=w, name="w").start()
    ph = Proxy([HAPROXY, "-db"], sub(h, uh), tmp_path, port=h, name="h").start()
    return (pw, uw, w), (ph, uh, h)


SYSLOG = """global
    log-send-hostname %s
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:@PORT@
    log 127.0.0.1:@UDP@ %s local0
    log-format "%%ST %%HP"
    log-format-sd "[exampleSDID@32473 path=\\"%%HP\\"]  "
    default_backend b
backend b
    server s1 127.0.0.1:@NODE1@
"""


@pytest.mark.parametrize("fmt", ["rfc3164", "rfc5424"])
@pytest.mark.parametrize("host", ["some.host", ""])
def test_log_send_hostname_and_sd(api, tmp_path, fmt, host):
    sides = syslog_pair(SYSLOG % (host, "format " + fmt), api, tmp_path)
    got = []
    try:
        for px, u, port in sides:
            raw(port, get("/v1/x"))
            d = u.until(lambda d: "/v1/x" in d)
            got.append(d)
    finally:
        for px, _, _ in sides:
            px.stop()
    name = host or socket.gethostname()
    norm = lambda d: re.sub(r"(waxlb|haproxy)\[\d+\]|(waxlb|haproxy) \d+ ", "TAG ",
                            re.sub(r"\w{3} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.+-]+", "DATE", d))
    assert norm(got[0]) == norm(got[1]), got
    assert (" %s " % name) in got[0]
    if fmt == "rfc5424":
        assert '[exampleSDID@32473 path="/v1/x"] 200 /v1/x' in got[0]


# ------------------------------------------------------------------ health checks
class CheckTarget:
    """A tiny HTTP server answering checks with a settable status; keeps X-Haproxy-Server-State values."""

    def __init__(self):
        self.code = 200
        self.states = []
        me = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                v = self.headers.get("X-Haproxy-Server-State")
                if v:
                    me.states.append(v)
                self.send_response(me.code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


CHECKS = """global
    node nd
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:@PORT@
    stats uri /st
    default_backend b
backend b
    option httpchk GET /chk
    option log-health-checks
    http-check disable-on-404
    http-check send-state
    http-check comment "a comment"
    server s1 127.0.0.1:@T@ check inter 150 rise 2 fall 2
"""


def check_lines(px):
    return [re.sub(r"\(\d+\)|duration: \d+ms", "", l) for l in px.lines
            if re.search(r"Health check for|Server b/s1 is|has no server", l) and l.startswith("[")]


def test_log_health_checks_disable_on_404_send_state(tmp_path):
    tw, th = CheckTarget(), CheckTarget()
    pw, ph = free_port_fn(), free_port_fn()
    w = Proxy(waxlb_cmd(), CHECKS.replace("@PORT@", str(pw)).replace("@T@", str(tw.port)), tmp_path, port=pw,
              name="w").start()
    h = Proxy([HAPROXY, "-db"], CHECKS.replace("@PORT@", str(ph)).replace("@T@", str(th.port)), tmp_path,
              port=ph, name="h").start()
    try:
        for px in (w, h):
            px.wait_for_log(r"Health check for server b/s1 succeeded.*status: 2/2 UP")
        for code, rx in ((404, r"Server b/s1 is stopping"), (200, r"Server b/s1 is UP"),
                         (503, r"Server b/s1 is DOWN")):
            marks = (w.mark(), h.mark())
            tw.code = th.code = code
            for px, m in zip((w, h), marks):
                px.wait_for_log(rx, since=m)
            if code == 404:
                assert show_status(pw) == show_status(ph) == "NOLB"
        time.sleep(0.3)     # a few more unchanged failures: HAProxy logs nothing for them either
        assert check_lines(w) == check_lines(h), "\n".join(check_lines(w) + ["--"] + check_lines(h))
        norm = lambda v: re.sub(r"port=\d+", "port=P", v)
        assert set(map(norm, tw.states)) == set(map(norm, th.states)), (tw.states, th.states)
        assert norm(tw.states[0]).endswith("name=b/s1; node=nd; weight=1/1; scur=0/0; qcur=0")
        assert any(v.startswith("NOLB;") for v in tw.states)
    finally:
        w.stop()
        h.stop()
        tw.close()
        th.close()


def show_status(port):
    """The status of b/s1 in the CSV of frontend f's status page."""
    r = parse_all(raw(port, get("/st;csv")))[-1]
    return {(x["pxname"], x["svname"]): x["status"] for x in csv_rows(r.body.decode())}[("b", "s1")]


def test_http_check_connect_port_and_refusals(pair, api, tmp_path):
    p = pair(BASE + """frontend f
    bind 127.0.0.1:@PORT@
    default_backend b
backend b
    option httpchk GET /v1/chain/get_info
    option log-health-checks
    http-check connect port @NODE1@
    server s1 127.0.0.1:1 check inter 100
""")
    # the server's own port is closed, the check port is a live node
    for px in (p.w, p.h):
        px.wait_for_log(r"Health check for server b/s1 succeeded, reason: Layer7 check passed, code: 200")
        assert not px.find_log(r"Server b/s1 is DOWN"), px.log()
    bad = BASE + """backend b
    http-check comment "a comment"
    option httpchk
    http-check connect ssl
    server s1 127.0.0.1:1 check
"""
    path = tmp_path / "bad.cfg"
    path.write_text(bad)
    import subprocess
    r = subprocess.run(waxlb_cmd() + ["-c", "-f", str(path)], capture_output=True, text=True)
    assert r.returncode != 0
    assert re.search(r"bad\.cfg:\d+: .*'ssl' is not supported", r.stdout + r.stderr), r.stdout + r.stderr


def test_spread_checks(tmp_path):
    t = CheckTarget()
    got = []
    orig = t.srv.RequestHandlerClass.do_GET

    def stamp(self):
        got.append(time.monotonic())
        orig(self)
    t.srv.RequestHandlerClass.do_GET = stamp
    pw = free_port_fn()
    cfg = CHECKS.replace("global\n", "global\n    spread-checks 50\n").replace("@PORT@", str(pw)).replace(
        "@T@", str(t.port)).replace("inter 150", "inter 200")
    w = Proxy(waxlb_cmd(), cfg, tmp_path, port=pw, name="w").start()
    try:
        assert wait_until(lambda: len(got) >= 10, timeout=8)
    finally:
        w.stop()
        t.close()
    gaps = [b - a for a, b in zip(got, got[1:])][1:]
    # +/- 50 % of 200 ms: gaps spread over [100, 300] ms, not all within a few ms of 200
    assert max(gaps) - min(gaps) > 0.04, gaps
    assert min(gaps) > 0.08, gaps


# ------------------------------------------------------------------ server-state files
STATE_CFG = """global
    stats socket @DIR@/s@PORT@.sock level admin
    server-state-base @DIR@
    server-state-file state.txt
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    load-server-state-from-file global
frontend f
    bind 127.0.0.1:@PORT@
    default_backend b1
backend b1
    server s1 127.0.0.1:@NODE1@ weight 10
    server s2 127.0.0.1:@NODE2@
    server s3 127.0.0.1:@NODE1@
backend b2
    load-server-state-from-file local
    server-state-file-name b2.state
    server x 127.0.0.1:@NODE1@
"""

STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord
3 b1 1 s1 127.0.0.1 2 0 5 10 30 0 3 4 0 0 0 0 - 1 -
3 b1 2 s2 127.0.0.1 2 1 1 1 30 0 3 4 0 0 0 0 - 1 -
3 b1 3 s3 127.0.0.1 2 8 1 1 30 0 3 4 0 0 0 0 - 1 -
"""


@pytest.mark.parametrize("b2", ["4 b2 1 x 127.0.0.1 2 1 1 1 0 0 3 4 0 0 0 0 - 1 -\n",
                                "4 b2 1 x 127.0.0.1 2 1 1 1 0 0 3 4 0 0 0 0 - 1 -\n4 b2 1 x 1 2\n"])
def test_server_state_file(pair, tmp_path, b2):
    (tmp_path / "state.txt").write_text(STATE)
    (tmp_path / "b2.state").write_text("1\n# comment\n" + b2)
    p = pair(STATE_CFG)
    sw, sh = socks(p, tmp_path)
    wait_stats_sock(sw)
    wait_stats_sock(sh)
    # admin state (MAINT 0x01, DRAIN 0x08) and the runtime weight of an unchanged configured weight
    pick = lambda s: sorted(tuple(l.split()[1:2] + l.split()[3:4] + l.split()[6:9])
                            for l in stats_cmd(s, "show servers state").splitlines()[2:] if l.strip())
    assert pick(sw) == pick(sh), (pick(sw), pick(sh))
    assert ("b1", "s1", "0", "5", "10") in pick(sw)
    corrupt = "1 2\n" in b2
    assert ("b2", "x", "0" if corrupt else "1", "1", "1") in pick(sw)
    for px in (p.w, p.h):
        px.wait_for_log(r"Server b1/s3 remains in forced drain mode")
        if corrupt:
            px.wait_for_log(r"Proxy 'b2': corrupted server state file '.*b2.state' at line 3")


# ------------------------------------------------------------------ master-worker's reload signal
@pytest.mark.waxlb_only
def test_sigusr2_reloads(api, tmp_path):
    port = free_port_fn()
    cfg = BASE + """frontend f
    bind 127.0.0.1:%d
    default_backend b
backend b
    server s1 127.0.0.1:%d
""" % (port, api.port("a1"))
    w = Proxy(waxlb_cmd(), "global\n    master-worker\n" + cfg[len("global\n"):], tmp_path, port=port,
              name="w").start()
    try:
        m = w.mark()
        w.proc.send_signal(signal.SIGUSR2)
        w.wait_for_log(r"Reloading the configuration \(SIGUSR2\)", since=m)
        w.wait_for_log(r"Reload complete", since=m)
        assert w.alive()
        assert parse_all(raw(port, get("/v1/x")))[-1].status == 200
    finally:
        w.stop()
