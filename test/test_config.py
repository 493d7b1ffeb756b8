"""waxlb's command line and configuration diagnostics (waxlb only: HAProxy words these differently).
Config errors are `FILE:LINE: message` on stderr with a non-zero exit, with and without -c."""
import os
import re
import socket
import subprocess

import pytest

from conftest import free_port_fn, http, Proxy, waxlb_cmd, REPO, WAXLB

pytestmark = pytest.mark.waxlb_only

GOOD = """global
    maxconn 1000

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:{port}
    acl is_api path_beg /v1/chain
    use_backend api if is_api
    default_backend api

backend api
    balance roundrobin
    server a1 127.0.0.1:{a1} check
"""


def good(port=None, a1=1):
    return GOOD.format(port=port or free_port_fn(), a1=a1)


def line_of(text, needle):
    for i, l in enumerate(text.split("\n"), 1):
        if needle in l:
            return i
    raise AssertionError("%r not in config" % needle)


def run(waxlb, *args, timeout=10):
    r = subprocess.run([waxlb] + list(args), capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def write(tmp_path, text, name="waxlb.cfg"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_check_good(waxlb, tmp_path):
    rc, out, err = run(waxlb, "-c", "-f", write(tmp_path, good()))
    assert rc == 0, err
    assert not re.search(r":\d+: (?!warning)", err), err


# (name, the good config's line to replace, its replacement)
BAD = [
    ("unknown_keyword", "    balance roundrobin", "    frobnicate yes"),
    ("bad_time", "    timeout client 10s", "    timeout client 10x"),
    ("unknown_timeout", "    timeout client 10s", "    timeout clientele 10s"),
    ("no_such_backend", "    use_backend api if is_api", "    use_backend nosuch if is_api"),
    ("no_such_default_backend", "    default_backend api", "    default_backend nosuch"),
    ("undefined_acl", "    use_backend api if is_api", "    use_backend api if is_nothing"),
    ("bad_bind_address", "    bind 127.0.0.1:{port}", "    bind 300.1.2.3:{port}"),
    ("bad_bind_port", "    bind 127.0.0.1:{port}", "    bind 127.0.0.1:99999"),
    ("bad_server_address", "    server a1 127.0.0.1:{a1} check", "    server a1 127.0.0.1:notaport check"),
    ("bad_server_ip", "    server a1 127.0.0.1:{a1} check", "    server a1 999.0.0.1:80 check"),
    ("bad_server_option", "    server a1 127.0.0.1:{a1} check", "    server a1 127.0.0.1:{a1} chekc"),
    ("bad_weight", "    server a1 127.0.0.1:{a1} check", "    server a1 127.0.0.1:{a1} weight many"),
    ("balance_nosuch", "    balance roundrobin", "    balance nosuch"),
    ("bad_mode", "    mode http", "    mode udp"),
    ("unknown_option", "    timeout server 10s", "    timeout server 10s\n    option frobnicate"),
    ("unterminated_quote", "    acl is_api path_beg /v1/chain", "    acl is_api path_beg \"/v1/chain"),
    ("unknown_fetch", "    acl is_api path_beg /v1/chain", "    acl is_api nosuchfetch /v1/chain"),
    ("server_in_frontend", "    default_backend api", "    default_backend api\n    server x 127.0.0.1:1"),
    ("bad_deny_status", "    default_backend api", "    http-request deny deny_status abc\n    default_backend api"),
    # HAProxy has no page for these (without errorfiles it refuses them): 3xx, 418, 451, 599
    ("deny_status_no_page", "    default_backend api", "    http-request deny deny_status 418\n    default_backend api"),
    ("deny_status_redirect", "    default_backend api", "    http-request deny deny_status 302\n    default_backend api"),
    ("bad_maxconn", "    maxconn 1000", "    maxconn lots"),
    ("retry_on_unknown", "    balance roundrobin", "    balance roundrobin\n    retry-on 503 sometimes"),
    ("retry_on_none_not_alone", "    balance roundrobin", "    balance roundrobin\n    retry-on none 503"),
    ("retry_on_in_frontend", "    default_backend api", "    default_backend api\n    retry-on 503"),
    ("http_reuse_unknown", "    balance roundrobin", "    balance roundrobin\n    http-reuse sometimes"),
]


@pytest.mark.parametrize("name,old,new", BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("check", [True, False], ids=["check", "run"])
def test_config_error(waxlb, tmp_path, name, old, new, check):
    port = free_port_fn()
    text = GOOD.replace(old, new).format(port=port, a1=1)
    assert text != good(port)
    needle = [l for l in new.format(port=port, a1=1).split("\n") if l not in old.format(port=port, a1=1)][0]
    bad_line = line_of(text, needle.strip())
    path = write(tmp_path, text)
    args = (["-c"] if check else []) + ["-f", path]
    rc, out, err = run(waxlb, *args)
    assert rc != 0, "%s accepted:\n%s" % (name, err)
    assert re.search(r"(^|\n)%s:%d: " % (re.escape(path), bad_line), err), \
        "expected %s:%d: in stderr:\n%s" % (path, bad_line, err)
    if not check:
        # it did not start serving
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


NOCAP_CFG = """defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:1
%s
    default_backend be
backend be
%s
    server s 127.0.0.1:1
"""
# (frontend line, backend line, haproxy -c fails): keywords a proxy lacks the capability for are ignored with a
# warning, but HAProxy parses their arguments all the same and fails on what it cannot parse
NOCAP = [
    ("", "    maxconn abc", False), ("", "    maxconn", True), ("", "    maxconn 1 2", True),
    ("", "    default_backend", True), ("", "    default_backend a b", True),
    ("    balance bogus", "", True), ("    balance", "", False), ("    balance roundrobin x", "", False),
    ("    balance source", "", False), ("    balance hash", "", True), ("    balance url_param", "", True),
    ("    balance uri bogus", "", True), ("    balance uri len 3 whole", "", False),
]


@pytest.mark.parametrize("fe,be,fails", NOCAP, ids=["%s|%s" % (f.strip(), b.strip()) for f, b, _ in NOCAP])
def test_keyword_without_capability_as_haproxy(waxlb, haproxy, tmp_path, fe, be, fails):
    """haproxy -c and waxlb -c agree (error or warning) on a keyword in a proxy without its capability; waxlb
    also warns that it is ignored."""
    path = write(tmp_path, NOCAP_CFG % (fe, be))
    hrc = run(haproxy, "-c", "-f", path)[0]
    rc, out, err = run(waxlb, "-c", "-f", path)
    assert (hrc != 0, rc != 0) == (fails, fails), (hrc, rc, err)
    assert re.search(r":(8|11): warning: '\w+' ignored because proxy '(fe|be)' has no", err), err


def test_ignored_keyword_warns(waxlb, tmp_path):
    text = good().replace("    balance roundrobin", "    balance roundrobin\n    hash-type consistent")
    path = write(tmp_path, text)
    rc, out, err = run(waxlb, "-c", "-f", path)
    assert rc == 0, err
    assert re.search(r"%s:%d: warning" % (re.escape(path), line_of(text, "hash-type")), err), err


def test_common_haproxy_boilerplate_accepted(waxlb, tmp_path):
    """Lines found in nearly every real haproxy.cfg must not stop waxlb (a warning is fine)."""
    text = good().replace("global\n", "global\n    log /dev/log local0\n    daemon\n    nbthread 1\n").replace(
        "defaults\n", "defaults\n    log global\n    option httplog\n    option dontlognull\n")
    rc, out, err = run(waxlb, "-c", "-f", write(tmp_path, text))
    assert rc == 0, err


def test_errors_counted_all(waxlb, tmp_path):
    """Several errors in one file: each one is reported with its own line."""
    text = good().replace("    timeout client 10s", "    timeout client 10x").replace(
        "    balance roundrobin", "    balance nosuch")
    path = write(tmp_path, text)
    rc, out, err = run(waxlb, "-c", "-f", path)
    assert rc != 0
    for needle in ("timeout client 10x", "balance nosuch"):
        assert "%s:%d:" % (path, line_of(text, needle)) in err, err


def test_missing_file(waxlb, tmp_path):
    rc, out, err = run(waxlb, "-c", "-f", str(tmp_path / "nope.cfg"))
    assert rc != 0
    assert "nope.cfg" in err


def test_multiple_files(waxlb, tmp_path, nodes):
    a1 = nodes.api("a1")
    port = free_port_fn()
    text = good(port, a1)
    i = text.index("\nbackend api") + 1
    f1 = write(tmp_path, text[:i], "1.cfg")
    f2 = write(tmp_path, text[i:], "2.cfg")
    rc, out, err = run(waxlb, "-c", "-f", f1, "-f", f2)
    assert rc == 0, err
    # alone, the first file refers to a backend it does not define
    rc, out, err = run(waxlb, "-c", "-f", f1)
    assert rc != 0 and "1.cfg:" in err
    # an error in the second file names the second file and its own line
    f3 = write(tmp_path, text[i:].replace("balance roundrobin", "balance nosuch"), "3.cfg")
    rc, out, err = run(waxlb, "-c", "-f", f1, "-f", f3)
    assert rc != 0 and "%s:2:" % f3 in err, err
    p = Proxy([waxlb], "", tmp_path, port=port, name="multi", args=["-f", f1])
    p.path = f2  # Proxy adds "-f <path>" last
    p.cfg = open(f2).read()
    p.start()
    try:
        assert http(port, "GET", "/v1/chain/get_info").node == "a1"
    finally:
        p.stop()


def test_version(waxlb):
    rc, out, err = run(waxlb, "-v")
    assert rc == 0
    assert re.search(r"waxlb.*\d+\.\d+", out + err, re.I), out + err


def test_help(waxlb):
    rc, out, err = run(waxlb, "-h")
    text = out + err
    assert re.search(r"usage", text, re.I), text
    assert "-f" in text and "-c" in text


def test_unknown_flag(waxlb):
    rc, out, err = run(waxlb, "-Z")
    assert rc != 0
    assert re.search(r"usage", out + err, re.I)


def test_no_config(waxlb):
    rc, out, err = run(waxlb)
    assert rc != 0


def test_bind_in_use(waxlb, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        rc, out, err = run(waxlb, "-f", write(tmp_path, good(port)), timeout=10)
        assert rc != 0
        assert str(port) in err, err
    finally:
        s.close()


def test_sigterm_exits_cleanly(waxlb, tmp_path, nodes):
    a1 = nodes.api("a1")
    port = free_port_fn()
    p = Proxy([waxlb], good(port, a1), tmp_path, port=port, name="term").start()
    try:
        assert http(port, "GET", "/x").status == 200
        p.proc.terminate()
        p.proc.wait(5)  # raises if it did not exit
    finally:
        p.stop()


def test_readme_lists_every_ignored_keyword():
    """`waxlb -vv` prints the keywords accepted without effect from the keyword tables; the README's table
    "Keywords accepted and ignored" must hold exactly those rows (context, keyword)."""
    out = subprocess.run([WAXLB, "-vv"], capture_output=True, text=True, check=True).stdout
    listed = set()
    for line in out.splitlines():
        m = re.match(r"^(section|global|proxy|option|bind|server|stats|http-check)\s+(\S+)\s+\S", line)
        if m:
            listed.add((m.group(1), m.group(2)))
    assert len(listed) > 100, out
    readme = open(os.path.join(REPO, "README.md")).read()
    part = readme.split("#### Keywords accepted and ignored", 1)[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"^\| ([a-z-]+) \| `([^`]+)` \|", part, re.M))
    assert listed - documented == set(), "missing in README: %s" % sorted(listed - documented)
    assert documented - listed == set(), "README lists keywords waxlb no longer ignores: %s" % sorted(
        documented - listed)
