#!/usr/bin/python3
"""Check every test/configs/*.cfg.in with Debian's haproxy and with waxlb, and write test/configs/STATUS.md.

    /usr/bin/python3 test/configs/status.py [--waxlb PATH] [--out PATH]

Each config is filled with loopback ports (nothing needs to listen for `-c`), real test certificates
(test/tlsutil.py) and a temporary @DIR@, then checked with `haproxy -c -f FILE` and `waxlb -c -f FILE`.
waxlb's `file:line: [warning: ]message` lines are grouped by the keyword of the config line they point at.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TEST = os.path.dirname(HERE)
REPO = os.path.dirname(TEST)
sys.path.insert(0, TEST)

import guidecfg  # noqa: E402
import tlsutil  # noqa: E402

# What test_guides.py finds at run time (kept by hand in step with its KNOWN reasons), most configs first.
RUNTIME = [
    "**CORS headers missing** (8 configs: the 7 EOSphere/WAX guide configs and the Oiac wiki one): "
    "`http-response set-header Access-Control-Allow-Origin \"*\"` / `Access-Control-Allow-Headers` are ignored, "
    "so browsers' dApp calls (simple GETs and OPTIONS preflights) fail behind waxlb.",
    "**`daemon` under `-db`** (8 configs): haproxy -db stays in the foreground; waxlb forks into the background "
    "anyway (`-db` is accepted but does not override `daemon`).",
    "**`errorfile`** (9 configs, Debian's /etc/haproxy/errors/*.http): haproxy sends those files (HTTP/1.0, "
    "`Connection: close`, no Content-Length); waxlb sends its built-in page, keep-alive with Content-Length.",
    "**syslog tag** (every config logging to /dev/log): `waxlb[pid]:` instead of `haproxy[pid]:`; Debian's "
    "/etc/rsyslog.d/49-haproxy.conf routes on `$programname startswith 'haproxy'`, so the lines miss "
    "/var/log/haproxy.log and Filebeat's haproxy module.",
    "**rate limiting** (2 configs): with track-sc0/sc_http_req_rate unavailable, a burst of 205 requests in "
    "5 s gets 200 throughout where haproxy answers 429 from the 187th (deny) or tarpits (tarpit).",
    "**`capture request/response header`** (1): haproxy's httplog lines carry `{Referer}` `{Content-length|"
    "Location}` blocks that Filebeat's haproxy module parses; waxlb's do not.",
    "**logging of probes** (configs without dontlognull): haproxy logs a connection closed before any request "
    "as `<BADREQ>` 400 `CR--`; waxlb never logs it. waxlb logs `listen stats` requests haproxy does not log.",
    "**redirects** (1): waxlb's `redirect scheme https code 301` answer adds `Cache-Control: no-cache` and is "
    "logged `PR--` where haproxy logs `LR--`.",
    "What matches: Host/path ACL routing (the twelve route-specific rules), roundrobin/leastconn node "
    "sequences, ws:// upgrades to SHIP and Hyperion-streaming nodes, X-Forwarded-For/-Proto, 503 status "
    "and text when no backend matches.",
]

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)


def fill_for_check(name, tmp, certs):
    text = guidecfg.template(name)
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    guidecfg.prepare_dir(d, text)
    values = {"DIR": d, "CRT": certs.wax, "CRTDIR": certs.dir, "DNS": 1053}
    port = 20000
    for ph in guidecfg.placeholders(text):
        if ph not in values:
            port += 1
            values[ph] = port
    path = os.path.join(d, name + ".cfg")
    with open(path, "w") as f:
        f.write(guidecfg.fill(text, values))
    return path, text


def run(cmd):
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def keyword_of(line):
    """The keyword a config line is about: `http-response set-header`, `option http-use-htx`, `bind ... ssl`..."""
    w = line.split("#", 1)[0].split()
    if not w:
        return "?"
    if w[0] in ("option", "no", "http-request", "http-response", "http-check", "tcp-check", "stats",
                "timeout", "external-check", "capture", "tune.ssl.default-dh-param", "log") and len(w) > 1:
        if w[0] == "no" and len(w) > 2:
            return " ".join(w[:3])
        if w[0] == "log":
            return "log " + ("stdout/stderr" if w[1] in ("stdout", "stderr") else "global" if w[1] == "global" else "TARGET")
        return " ".join(w[:2])
    return w[0]


FEATURE_RX = [
    (r"alpn 'h2' is not offered", "bind alpn h2 (HTTP/2)"),
    (r"cipher '.*' is not available|no usable cipher", "ssl ciphers in OpenSSL notation (ssl-default-bind-ciphers)"),
    (r"unknown fetch method '([^']+)'", r"fetch \1"),
    (r"no such ACL : '(OR|or)'", "condition operator OR (uppercase)"),
    (r"only literal values are supported \(no %\[", "%[...] expressions in header values"),
    (r"server option '([^']+)' is ignored", r"server \1"),
    (r"unknown keyword '([^']+)' in '([^']+)' section", r"\1 (\2)"),
    (r"'(http-request [a-z0-9.-]+)' is not supported", r"\1"),
    (r"'(http-request tarpit)' is handled as 'deny'", r"\1"),
    (r"unknown timeout '([^']+)'", r"timeout \1"),
    (r"section '([^']+)' is ignored", r"\1 section"),
    (r"'http-response' is ignored", "http-response set-header / rules"),
]


def feature_of(kw, msg):
    for rx, rep in FEATURE_RX:
        m = re.search(rx, msg)
        if m:
            return m.expand(rep)
    return kw


LINE_RX = re.compile(r"^(?P<file>/[^:]+):(?P<line>\d+): (?P<warn>warning: )?(?P<msg>.*)$")


def waxlb_findings(out, cfg_path):
    """-> list of (kind 'error'|'warning', keyword, message, line text)."""
    with open(cfg_path) as f:
        lines = f.read().splitlines()
    res = []
    for l in out.splitlines():
        m = LINE_RX.match(l)
        if not m or m.group("file") != cfg_path:
            continue
        n = int(m.group("line"))
        text = lines[n - 1].strip() if 0 < n <= len(lines) else ""
        msg = m.group("msg")
        res.append(("warning" if m.group("warn") else "error", feature_of(keyword_of(text), msg), msg, text))
    return res


def peel(waxlb, path, max_rounds=6):
    """waxlb reports some problems (e.g. TLS ciphers) only once the whole file parsed. Run `waxlb -c`, comment
    out the lines it errors on, run again, up to max_rounds: -> (rc of the first run, its output, all
    findings, rounds). Findings of later rounds have their message suffixed with ' [round N]'."""
    with open(path) as f:
        lines = f.read().splitlines()
    rc0 = out0 = None
    found, seen = [], set()
    cur = path + ".peel"
    text = list(lines)
    for rnd in range(1, max_rounds + 1):
        with open(cur, "w") as f:
            f.write("\n".join(text) + "\n")
        rc, out = run([waxlb, "-c", "-f", cur])
        if rc0 is None:
            rc0, out0 = rc, out.replace(cur, path)
        new_err = []
        for kind, kw, msg, ltext in waxlb_findings(out, cur):
            key = (kind, msg, ltext)
            if key in seen:
                continue
            seen.add(key)
            found.append((kind, kw, msg + ("" if rnd == 1 else " [round %d]" % rnd), ltext))
        for l in out.splitlines():
            m = LINE_RX.match(l)
            if m and m.group("file") == cur and not m.group("warn"):
                new_err.append(int(m.group("line")))
        if rc == 0 or not new_err:
            break
        for n in new_err:
            if 0 < n <= len(text) and not text[n - 1].lstrip().startswith("#"):
                text[n - 1] = "#" + text[n - 1]
    os.unlink(cur)
    return rc0, out0, found, rnd


def haproxy_summary(out):
    keep = [l for l in out.splitlines() if re.search(r"\[(ALERT|WARNING)\]", l)]
    return keep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--waxlb", default=os.path.join(REPO, "waxlb"))
    ap.add_argument("--out", default=os.path.join(HERE, "STATUS.md"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="waxlb-guides-")
    os.chmod(tmp, 0o755)
    try:
        certs = tlsutil.make_certs(os.path.join(tmp, "certs"))
        for p in [certs.wax, certs.dir] + [os.path.join(certs.dir, x) for x in os.listdir(certs.dir)]:
            os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)
        rows, details = [], []
        refused = collections.Counter()      # keyword -> configs where waxlb errors on it
        ignored = collections.Counter()      # keyword -> configs where waxlb warns (accepted, not implemented)
        refused_cfgs = collections.defaultdict(set)
        ignored_cfgs = collections.defaultdict(set)
        hap_version = run([HAPROXY, "-v"])[1].splitlines()[0] if HAPROXY else "absent"
        for name in guidecfg.names():
            path, text = fill_for_check(name, tmp, certs)
            hrc, hout = run([HAPROXY, "-c", "-f", path]) if HAPROXY else (None, "")
            wrc, wout, found, rounds = peel(a.waxlb, path)
            found = [(k, kw, m.replace(tmp, "@TMP@"), t.replace(tmp, "@TMP@"))
                     for k, kw, m, t in found]
            for kind, kw, msg, ltext in found:
                (refused if kind == "error" else ignored)[kw] += 0  # make the key exist
                (refused_cfgs if kind == "error" else ignored_cfgs)[kw].add(name)
            rows.append((name, hrc, wrc, sum(1 for f in found if f[0] == "error"),
                         sum(1 for f in found if f[0] == "warning")))
            by_kw = collections.OrderedDict()
            for kind, kw, msg, ltext in found:
                by_kw.setdefault((kind, kw), []).append((msg, ltext))
            details.append((name, hrc, hout, wrc, wout, by_kw, path))
        out = []
        out.append("# Operators' configurations: `haproxy -c` and `waxlb -c`\n")
        out.append("Generated by `/usr/bin/python3 test/configs/status.py` (do not edit by hand). Each "
                   "`test/configs/*.cfg.in` filled with loopback ports, the test certificates of "
                   "`test/tlsutil.py` and a temporary `@DIR@`, then checked with `haproxy -c -f FILE` "
                   "(%s) and `./waxlb -c -f FILE`. Sources and what each config exercises: "
                   "[README.md](README.md). What they answer at run time: `test/test_guides.py`.\n"
                   % hap_version)
        out.append("| config | haproxy -c | waxlb -c | waxlb errors | waxlb warnings |")
        out.append("| --- | --- | --- | --- | --- |")
        for name, hrc, wrc, ne, nw in rows:
            out.append("| [%s](%s.cfg.in) | %s | %s | %d | %d |" % (
                name, name, "absent" if hrc is None else ("accepts" if hrc == 0 else "**refuses** (exit %d)" % hrc),
                "accepts" if wrc == 0 else "**refuses** (exit %d)" % wrc, ne, nw))
        out.append("")
        out.append("## Ranked: what these configs need that waxlb refuses or ignores\n")
        out.append("Counted in configs (a keyword used on several lines of one config counts once). "
                   "\"refuses\": waxlb stops with an error (the config cannot run unchanged); \"ignores\": "
                   "waxlb accepts the line with a warning and does not do what HAProxy does. Configs that "
                   "HAProxy itself refuses are counted too (marked `*`), since operators paste them.\n")
        hap_refuses = {n for n, hrc, wrc, ne, nw in rows if hrc not in (0, None)}
        allkw = set(refused_cfgs) | set(ignored_cfgs)
        ranked = sorted(allkw, key=lambda k: (-(len(refused_cfgs[k]) * 2 + len(ignored_cfgs[k])),
                                              -len(refused_cfgs[k]), k))
        out.append("| rank | keyword | refused in | ignored in | configs |")
        out.append("| --- | --- | --- | --- | --- |")
        for i, kw in enumerate(ranked, 1):
            cfgs = sorted(refused_cfgs[kw] | ignored_cfgs[kw])
            out.append("| %d | `%s` | %d | %d | %s |" % (
                i, kw, len(refused_cfgs[kw]), len(ignored_cfgs[kw]),
                ", ".join(c + ("*" if c in hap_refuses else "") for c in cfgs)))
        out.append("")
        out.append("Ranking: 2 points per config that refuses, 1 per config that ignores. waxlb reports some "
                   "problems (TLS ciphers, for one) only once the whole file parses, so `status.py` comments "
                   "out the lines waxlb errors on and checks again, up to 6 rounds; what only a later round "
                   "found is marked `[round N]` below and counted too.\n")
        out.append("### Run-time differences (test_guides.py, not visible to `-c`)\n")
        out.append("Seen when `test/test_guides.py` ran haproxy and waxlb on these configs (waxlb with its "
                   "refused lines commented out); each config's xfail reason there has the details.\n")
        for line in RUNTIME:
            out.append("- " + line)
        out.append("")
        out.append("## Per config\n")
        for name, hrc, hout, wrc, wout, by_kw, path in details:
            out.append("### %s\n" % name)
            hs = haproxy_summary(hout)
            out.append("haproxy -c: %s" % ("accepts" if hrc == 0 else "absent" if hrc is None else
                                            "refuses (exit %d)" % hrc))
            if hs:
                out.append("")
                out.append("```")
                out.extend(l.replace(path, name + ".cfg") for l in hs[:30])
                out.append("```")
            out.append("")
            out.append("waxlb -c: %s" % ("accepts" if wrc == 0 else "refuses (exit %d)" % wrc))
            out.append("")
            if by_kw:
                out.append("| kind | keyword | message (config line) |")
                out.append("| --- | --- | --- |")
                for (kind, kw), items in by_kw.items():
                    seen, parts = set(), []
                    for m, t in items:
                        if (m, t) not in seen:
                            seen.add((m, t))
                            parts.append("%s (`%s`)" % (m.replace("|", "\\|"), t.replace("|", "\\|")[:90]))
                    if len(parts) > 4:
                        parts = parts[:4] + ["... %d more" % (len(parts) - 4)]
                    msgs = "<br>".join(parts)
                    out.append("| %s | `%s` | %s |" % (kind, kw, msgs))
                out.append("")
            other = [l for l in wout.splitlines() if not LINE_RX.match(l) and l.strip()]
            if other:
                out.append("```")
                out.extend(l.replace(path, name + ".cfg") for l in other[:10])
                out.append("```")
                out.append("")
        with open(a.out, "w") as f:
            f.write("\n".join(out).rstrip() + "\n")
        print("wrote %s" % a.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
