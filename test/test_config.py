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


VV_ROW = r"^(section|global|proxy|option|bind|server|stats|http-check)\s+(\S+)\s+(.*\S)"


def vv_rows(part):
    """The rows of `waxlb -vv`: part 0 the keywords accepted without effect, part 1 the refused ones (context,
    keyword, reason or message)."""
    out = subprocess.run([WAXLB, "-vv"], capture_output=True, text=True, check=True).stdout
    text = out.split("\nRefused (", 1)[part]
    return [m.groups() for m in (re.match(VV_ROW, l) for l in text.splitlines()) if m]


def readme_rows(heading):
    readme = open(os.path.join(REPO, "README.md")).read()
    part = readme.split(heading, 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| ([a-z-]+) \| `([^`]+)` \|", part, re.M))


@pytest.mark.parametrize("part, heading", [(0, "#### Keywords accepted and ignored"),
                                           (1, "#### Keywords refused")])
def test_readme_lists_every_ignored_keyword(part, heading):
    """`waxlb -vv` prints the keywords accepted without effect, then the refused ones, from the keyword
    tables; the README's tables "Keywords accepted and ignored" and "Keywords refused" must hold exactly
    those rows (context, keyword)."""
    listed = set((c, k) for c, k, _ in vv_rows(part))
    assert len(listed) > 20, listed
    documented = readme_rows(heading)
    assert listed - documented == set(), "missing in README: %s" % sorted(listed - documented)
    assert documented - listed == set(), "README lists keywords waxlb no longer has: %s" % sorted(
        documented - listed)


# Where each context's keyword goes in a valid config ("@" is the keyword, given a value "x" in case it
# wants one: the refusal comes first).
REFUSED_AT = {
    "section": ("global\n", "@ x\n    foo bar\n"),
    "global": ("global\n", "    @ x\n"),
    "proxy": ("backend api\n", "    @ x\n"),
    "option": ("backend api\n", "    option @\n"),
    "bind": ("    bind 127.0.0.1:{port}\n", "    bind 127.0.0.1:1 @ x\n"),
    "server": ("    server a1 127.0.0.1:{a1} check\n", "    server a2 127.0.0.1:2 @ x\n"),
    "stats": ("frontend fe\n", "    stats @ x\n"),
    "http-check": ("backend api\n", "    http-check @ x\n"),
}


REFUSED = vv_rows(1) if os.path.exists(WAXLB) else []


@pytest.mark.parametrize("ctx, kw, msg", REFUSED, ids=["%s-%s" % r[:2] for r in REFUSED])
def test_refused_keyword(waxlb, tmp_path, ctx, kw, msg):
    """Every refused keyword of `waxlb -vv`: `file:line: message` on its own line, and a non-zero exit (the
    rest of the file still read: a second error is reported too)."""
    after, line = REFUSED_AT[ctx]
    text = good()
    anchor = after.format(port=re.search(r"bind 127.0.0.1:(\d+)", text).group(1), a1=1)
    assert anchor in text, (anchor, text)
    line = line.replace("@", kw)
    text = text.replace(anchor, anchor + line, 1) + "    timeout server 10x\n"
    path = write(tmp_path, text)
    rc, out, err = run(waxlb, "-c", "-f", path)
    assert rc != 0
    n = line_of(text, line.split("\n")[0])
    assert "%s:%d: %s" % (path, n, msg) in err, err
    assert "%s:%d:" % (path, line_of(text, "10x")) in err, err
    assert "warning" not in err.split("%s:%d:" % (path, n), 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize("line, refused", [
    ("    server a2 127.0.0.1:2 proto h1", False),
    ("    server a2 127.0.0.1:2 proto h2", "server option 'proto h2' is not supported: waxlb speaks HTTP/1.1"),
    ("    server a2 127.0.0.1:2 check resolvers dns", False),
    ("    server a2 [::1]:2 check resolvers dns", False),
    ("    server a2 localhost:2 check resolvers dns", "server 'a2': 'resolvers' is not supported: waxlb "
     "resolves 'localhost:2' at start-up and at each reload (SIGHUP) only"),
    ("    default-server resolvers dns\n    server a2 localhost:2", "server 'a2': 'resolvers' is not supported"),
    ("    no option transparent", False),
    ("    no option http-buffer-request", False),
    ("    no option http-use-htx", "'option http-use-htx' was removed in HAProxy 2.1"),
    ("    option httpchk\n    http-check set-var(check.x) str(a)", "'http-check set-var' is not supported"),
    ("    option httpchk\n    http-check unset-var(check.x)", "'http-check unset-var' is not supported"),
    ("    server a2 127.0.0.1:2 on-error mark-down error-limit 3", False),
    ("    email-alert level info", "'email-alert' is not supported"),
])
def test_refused_forms(waxlb, haproxy, tmp_path, line, refused):
    """The keywords refused for some values or forms only; haproxy -c accepts each of these lines (with a
    resolvers section), except `no option http-use-htx` that it refuses too."""
    text = good().replace("    server a1", line + "\n    server a1") + "resolvers dns\n    nameserver n 127.0.0.1:53\n"
    path = write(tmp_path, text)
    rc, out, err = run(waxlb, "-c", "-f", path)
    hrc = run(haproxy, "-c", "-f", path)[0]
    assert (hrc != 0) == ("http-use-htx" in line), hrc
    if not refused:
        assert rc == 0, err
        return
    assert rc != 0
    n = line_of(text, line.split("\n")[-1].strip())
    assert "%s:%d: %s" % (path, n, refused) in err, err


def test_program_section_refused_once(waxlb, tmp_path):
    """A `program` section is refused on its first line; its own lines add no errors."""
    text = good() + "program api-helper\n    command /bin/true\n    option start-on-reload\n"
    path = write(tmp_path, text)
    rc, out, err = run(waxlb, "-c", "-f", path)
    assert rc != 0
    assert re.findall(r"^%s:(\d+): " % re.escape(path), err, re.M) == [str(line_of(text, "program"))], err


def test_env_bind_port_as_haproxy(waxlb, haproxy, tmp_path, nodes, monkeypatch):
    """`bind 127.0.0.1:"${PORT}"` listens on the port from the environment; "${NAME-default}", "$NAME",
    "${NAME[*]}", .LINE/.SECTION and setenv/presetenv/unsetenv apply in order; waxlb and haproxy answer
    the same headers."""
    a1 = nodes.api("a1")
    cfg = """global
    setenv WAX_NODE 127.0.0.1:%d
    presetenv WAX_ORIGIN "https://ignored.example"
    setenv WAX_GONE x
    unsetenv WAX_GONE
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:"${PORT}"
    http-response set-header Access-Control-Allow-Origin "${WAX_ORIGIN}"
    http-response set-header X-Where "${.SECTION}:${.LINE}"
    http-response set-header X-Default "${WAX_GONE-none}|$WAX_GONE|${WAX_EMPTY-unset}|\\$X"
    http-response set-header X-Literal '${PORT}'
    http-request set-header X-Words "${WAX_WORDS[*]}"
    default_backend api
backend api
    server a1 "${WAX_NODE}"
""" % a1
    monkeypatch.setenv("WAX_ORIGIN", "https://dapp.example")
    monkeypatch.setenv("WAX_EMPTY", "")
    monkeypatch.setenv("WAX_WORDS", "a")
    got = []
    for name, cmd in (("w", waxlb_cmd(waxlb)), ("h", [haproxy, "-db"])):
        port = free_port_fn()
        monkeypatch.setenv("PORT", str(port))
        p = Proxy(cmd, cfg, tmp_path, port=port, name=name).start()
        try:
            r = http(port, "GET", "/v1/chain/get_info")
        finally:
            p.stop()
        assert r.status == 200 and r.node == "a1"
        got.append(sorted((k.lower(), v) for k, v in r.headers if k.lower().startswith(("x-w", "x-d", "x-l", "acc"))))
    assert got[0] == got[1], got
    assert ("x-where", "fe:14") in got[0] and ("x-default", "none|||$X") in got[0], got[0]
    assert ("access-control-allow-origin", "https://dapp.example") in got[0], got[0]
    assert ("x-literal", "${PORT}") in got[0], got[0]
