"""The Prometheus exporter (`http-request use-service prometheus-exporter`) against Debian's haproxy on one
config: the same families in the same order with the same HELP/TYPE lines, the same samples (names and
label sets), the same filtering (HTTP-only families, servers whose check runs, `scope`, `no-maint`), and
the values waxlb keeps (responses by class, server states)."""
import re
import time

from conftest import parse_all, raw
from test_rules import BASE, api, get, pair  # noqa: F401  (fixtures)

CFG = BASE + """frontend f
    bind 127.0.0.1:@PORT@
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend b
backend b
    balance roundrobin
    server up1 127.0.0.1:@NODE1@ check inter 100
    server up2 127.0.0.1:@NODE2@ check inter 100 maxconn 10
    server down 127.0.0.1:1 check inter 100
    server m1 127.0.0.1:@NODE1@ check disabled
    server bk 127.0.0.1:@NODE2@ check inter 100 backup
    server nc 127.0.0.1:@NODE1@
backend t
    mode tcp
    stick-table type ip size 50k expire 30s store http_req_rate(5s)
    server t1 127.0.0.1:@NODE1@ check inter 100
"""

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def metrics(port, query=""):
    r = parse_all(raw(port, get("/metrics" + query)))[-1]
    return r


def samples(body):
    """{name{labels}: value} of a page, waxlb's own series and the version label left aside."""
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, line
        if m.group(1).startswith("waxlb_") or m.group(1) == "haproxy_process_build_info":
            continue
        out[m.group(1) + (m.group(2) or "")] = m.group(3)
    return out


def settled(p):
    """Every check has run once on both (haproxy spreads the first ones over the interval)."""
    for px in (p.w, p.h):
        px.wait_for_log(r"Server b/down is DOWN")
    want = {'haproxy_backend_agg_check_status{proxy="b",state="L4OK"}': "3",
            'haproxy_backend_agg_check_status{proxy="t",state="L4OK"}': "1"}
    for port in (p.pw, p.ph):
        deadline = time.time() + 10
        while True:
            s = samples(metrics(port, "?scope=backend").body)
            if all(s.get(k) == v for k, v in want.items()):
                break
            assert time.time() < deadline, s
            time.sleep(0.05)


def headers(body):
    return [l for l in body.decode().splitlines() if l.startswith("#") and " waxlb_" not in l]


def test_metrics_match_haproxy(pair):
    p = pair(CFG)
    settled(p)
    codes = [200, 200, 200, 404, 404, 503]
    for port in (p.pw, p.ph):
        for c in codes:
            assert parse_all(raw(port, get("/status?code=%d" % c)))[-1].status == c
    w, h = metrics(p.pw), metrics(p.ph)
    assert w.status == h.status == 200
    assert w.header("Content-Type") == h.header("Content-Type") == "text/plain; version=0.0.4"
    # families, their order, HELP and TYPE lines
    assert headers(w.body) == headers(h.body)
    sw, sh = samples(w.body), samples(h.body)
    assert sorted(sw) == sorted(sh), (sorted(set(sh) - set(sw))[:10], sorted(set(sw) - set(sh))[:10])
    assert "haproxy_process_build_info{version=" in w.body.decode()
    assert "waxlb_server_chain_head{proxy=\"b\",server=\"up1\"}" in w.body.decode()
    for s in (sw, sh):
        for code, n in (("1xx", 0), ("2xx", 3), ("3xx", 0), ("4xx", 2), ("5xx", 1), ("other", 0)):
            assert s['haproxy_backend_http_responses_total{proxy="b",code="%s"}' % code] == str(n), code
        # the frontend also answered settled()'s polls, and counts the harness's port probe as a 400
        assert s['haproxy_frontend_http_responses_total{proxy="f",code="4xx"}'] == "3"
        assert s['haproxy_frontend_http_responses_total{proxy="f",code="5xx"}'] == "1"
        assert s['haproxy_backend_http_requests_total{proxy="b"}'] == "6"
        assert sum(int(s['haproxy_server_http_responses_total{proxy="b",server="%s",code="2xx"}' % n])
                   for n in ("up1", "up2", "nc")) == 3
        for srv, state in (("up1", "UP"), ("down", "DOWN"), ("m1", "MAINT"), ("bk", "UP"), ("nc", "UP")):
            for st in ("DOWN", "UP", "MAINT", "DRAIN", "NOLB"):
                key = 'haproxy_server_status{proxy="b",server="%s",state="%s"}' % (srv, st)
                assert s[key] == ("1" if st == state else "0"), key
        for st, n in (("DOWN", 1), ("UP", 4), ("MAINT", 1), ("DRAIN", 0), ("NOLB", 0)):
            assert s['haproxy_backend_agg_server_status{proxy="b",state="%s"}' % st] == str(n), st
        assert s['haproxy_backend_agg_check_status{proxy="b",state="L4OK"}'] == "3"
        assert s['haproxy_backend_agg_check_status{proxy="b",state="L4CON"}'] == "1"
        assert s['haproxy_server_check_status{proxy="b",server="down",state="L4CON"}'] == "1"
        assert s['haproxy_server_limit_sessions{proxy="b",server="up2"}'] == "10"
        assert s['haproxy_server_limit_sessions{proxy="b",server="up1"}'] == "NaN"
        assert s['haproxy_server_check_failures_total{proxy="b",server="nc"}'] == "NaN"
        assert s['haproxy_backend_active_servers{proxy="b"}'] == "3"
        assert s['haproxy_backend_backup_servers{proxy="b"}'] == "1"
        assert s['haproxy_backend_weight{proxy="b"}'] == "3"
        assert s['haproxy_sticktable_size{name="t",type="ip"}'] == "51200"
        assert s['haproxy_sticktable_used{name="t",type="ip"}'] == "0"
        assert s['haproxy_process_nbproc'] == "1"


def test_metrics_scope_and_no_maint(pair):
    p = pair(CFG)
    settled(p)
    for q in ("?scope=server&no-maint", "?scope=backend&scope=global", "?scope=", "?scope=*&scope=frontend",
              "?scope=sticktable", "?no-maint"):
        w, h = metrics(p.pw, q), metrics(p.ph, q)
        assert w.status == h.status == 200, q
        assert headers(w.body) == headers(h.body), q
        assert sorted(samples(w.body)) == sorted(samples(h.body)), q
    body = metrics(p.pw, "?scope=server&no-maint").body.decode()
    assert 'server="m1"' not in body and 'server="up1"' in body and "haproxy_backend_" not in body
    for q in ("?scope=nope", "?scope", "?scope=a=b"):
        w, h = metrics(p.pw, q), metrics(p.ph, q)
        assert w.status == h.status == 400, q
