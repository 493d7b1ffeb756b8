#!/usr/bin/python3
"""waxlb benchmark: waxlb against Debian's haproxy on the same configuration, loopback only.

Started by `make bench` after bench/{apinode,shipnode,wsload} are built. Prints figures, never fails on a
timing (exit status is non-zero only when the bench itself cannot run).

Environment:
  BENCH_SECS   seconds per measured run (default 5)
  BENCH_IDLE   idle tunnels for the "10 000" figures (default 10000; capped by the fd hard limit)
  BENCH_ONLY   comma list of tests to run: ka,rules,close,stream,upg,mem,tls,scale (default: all)
  WAXLB        waxlb binary (default ./waxlb);  HAPROXY  haproxy binary (default haproxy)
  BENCH_KEEP   1: keep the temporary directory (configs, proxy logs)

Placement: the proxy is pinned to CPU 1 (BENCH_PROXY_CPU), backends and load generators to CPU 0
(BENCH_LOAD_CPU). Each figure is measured waxlb, haproxy, waxlb (A, B, A); waxlb's figure is the mean of its
two runs. A proxy's CPU time is utime+stime from /proc/PID/stat, before and after the run.
"""
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECS = float(os.environ.get("BENCH_SECS", "5"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "ka,rules,close,stream,upg,mem,tls,scale").split(",")))
WAXLB = os.environ.get("WAXLB", os.path.join(ROOT, "waxlb"))
HAPROXY = os.environ.get("HAPROXY", shutil.which("haproxy") or "/usr/sbin/haproxy")
PCPU = os.environ.get("BENCH_PROXY_CPU", "1")
LCPU = os.environ.get("BENCH_LOAD_CPU", "0")
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
BIN = HERE
TLS12 = "ECDHE-ECDSA-AES128-GCM-SHA256"

odd = []          # anything unusual, printed at the end
rows = []         # (figure, waxlb, haproxy, ratio, target, ok)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])      # utime, stime (fields 14 and 15)


def cores():
    """/proc/stat per-CPU jiffies: {cpu: (busy, total)}; busy includes irq/softirq (loopback TCP work)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                v = [int(x) for x in line.split()[1:]]
                out[line.split()[0][3:]] = (sum(v) - v[3] - v[4], sum(v))
    return out


def busy(a, b):
    """'proxy core N% / load core M%' between two cores() snapshots."""
    def pct(c):
        if c not in a or c not in b or b[c][1] == a[c][1]:
            return 0
        return 100.0 * (b[c][0] - a[c][0]) / (b[c][1] - a[c][1])
    return "cores busy: proxy %.0f%% load %.0f%%" % (pct(PCPU), pct(LCPU))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def load(cmd, timeout, **kw):
    """Run a load tool pinned to the load CPU, bounded in time; returns stdout."""
    r = subprocess.run(["taskset", "-c", LCPU] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True, **kw)
    if r.returncode != 0:
        odd.append("load tool %s exited %d: %s" % (cmd[0], r.returncode, r.stderr.strip()[-300:]))
    return r.stdout


def kv(out):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", out)}


class Proxy:
    def __init__(self, name, cfg, tmp):
        self.name, self.cfg, self.tmp = name, cfg, tmp
        self.logpath = os.path.join(tmp, "%s.%d.log" % (name, int(time.time() * 1000)))
        argv = [WAXLB, "-f", cfg] if name == "waxlb" else [HAPROXY, "-db", "-f", cfg]
        # waxlb logs every request on stderr and cannot be told not to; HAProxy logs nothing without a
        # `log` line. Default: stderr to /dev/null (cheapest sink); BENCH_PROXY_LOG=file keeps the logs.
        if os.environ.get("BENCH_PROXY_LOG") != "file":
            self.logpath = os.devnull
        self.logf = open(self.logpath, "w")
        self.p = subprocess.Popen(["taskset", "-c", PCPU] + argv, stdin=subprocess.DEVNULL,
                                  stdout=self.logf, stderr=self.logf)
        self.pid = self.p.pid   # taskset execs the proxy: same pid

    def wait_port(self, port, secs=5):
        """Wait until the proxy answers a get_info on the plain port (a connect alone only proves the
        kernel backlog), then let the first health checks run."""
        end = time.time() + secs
        last = ""
        while time.time() < end:
            if self.p.poll() is not None:
                raise RuntimeError("%s exited at start-up (%s):\n%s" % (self.name, self.p.returncode, self.tail()))
            try:
                with socket.create_connection(("127.0.0.1", PLAIN_PORT), timeout=1) as s:
                    s.sendall(b"GET /v1/chain/get_info HTTP/1.1\r\nHost: wax.eosphere.io\r\nConnection: close\r\n\r\n")
                    last = s.recv(64).decode(errors="replace")
                if last.startswith("HTTP/1.1 200"):
                    time.sleep(0.3)
                    return
            except OSError as e:
                last = str(e)
            time.sleep(0.05)
        odd.append("%s did not answer a get_info within %d s of start (last: %r)" % (self.name, secs, last[:40]))
        raise RuntimeError("%s does not answer on %d" % (self.name, PLAIN_PORT))

    def alive(self, what):
        if self.p.poll() is not None:
            odd.append("%s DIED during %s: exit status %s; log tail:\n%s" % (self.name, what, self.p.returncode,
                                                                             self.tail()))
            return False
        return True

    def tail(self, n=15):
        try:
            with open(self.logpath, errors="replace") as f:
                lines = f.readlines()
            return "".join(lines[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                odd.append("%s did not exit within 5 s of SIGTERM; killed" % self.name)
                self.p.kill()
                self.p.wait()
        self.logf.close()


def aba(fn):
    """Run fn(proxy_name) as waxlb, haproxy, waxlb. -> (list of waxlb results, list of haproxy results)"""
    w, h = [], []
    for name in ("waxlb", "haproxy", "waxlb"):
        try:
            r = fn(name)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            odd.append("%s: run aborted: %s" % (name, e))
            r = None
        if r is not None:
            (w if name == "waxlb" else h).append(r)
    return w, h


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 10000:
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.1f" % v
    if abs(v) >= 1:
        return "%.2f" % v
    return "%.3f" % v


def row(fig, w, h, target="", better="hi"):
    ratio = (w / h) if (w is not None and h) else None
    ok = ""
    if ratio is not None and target:
        m = re.match(r"(>=|<=)([\d.]+)", target)
        if m:
            t = float(m.group(2))
            ok = "ok" if (ratio >= t if m.group(1) == ">=" else ratio <= t) else "MISS"
    rows.append((fig, fmt(w), fmt(h), ("%.2f" % ratio) if ratio is not None else "-", target, ok))
    log("  %-34s waxlb %-10s haproxy %-10s ratio %s" % (fig, fmt(w), fmt(h), rows[-1][3]))


def row_abs(fig, w, h, target="", ok=""):
    rows.append((fig, fmt(w), fmt(h), ("%.2f" % (w / h)) if (w is not None and h) else "-", target, ok))
    log("  %-34s waxlb %-10s haproxy %-10s" % (fig, fmt(w), fmt(h)))


# ---------------------------------------------------------------- setup
def make_cfgs(tmp, ports, maxconn):
    with open(os.path.join(ROOT, "test", "seed.cfg.in")) as f:
        seed = f.read()
    for k in ("PORT", "A1", "A2", "A3", "S1", "S2"):
        seed = seed.replace("@%s@" % k, str(ports[k]))
    assert "maxconn 200" in seed
    seed = seed.replace("maxconn 200", "maxconn 10000")
    cfg = "# waxlb bench: the seed config with loopback ports\nglobal\n    maxconn %d\n\n%s" % (maxconn, seed)
    plain = os.path.join(tmp, "bench.cfg")
    with open(plain, "w") as f:
        f.write(cfg)
    # TLS: a throwaway EC P-256 certificate; cert + key in one PEM file (HAProxy's crt format)
    crt, key, pem = (os.path.join(tmp, n) for n in ("cert.pem", "key.pem", "site.pem"))
    subprocess.run(["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", key],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-new", "-key", key, "-sha256", "-days", "2",
                    "-subj", "/CN=ws-wax.eosphere.io", "-addext",
                    "subjectAltName=DNS:ws-wax.eosphere.io,DNS:wax.eosphere.io", "-out", crt],
                   check=True, capture_output=True)
    with open(pem, "w") as f:
        f.write(open(crt).read() + open(key).read())
    tlscfg = os.path.join(tmp, "bench-tls.cfg")
    bind = "    bind 127.0.0.1:%d\n" % ports["PORT"]
    assert bind in cfg
    with open(tlscfg, "w") as f:
        f.write(cfg.replace(bind, bind + "    bind 127.0.0.1:%d ssl crt %s\n" % (ports["TLS"], pem), 1))
    # the guides' CORS header on every response and a request header made of a sample expression
    rules = os.path.join(tmp, "bench-rules.cfg")
    with open(rules, "w") as f:
        f.write(cfg.replace(bind, bind + '    http-response set-header Access-Control-Allow-Origin "*"\n'
                            "    http-request set-header X-Client-IP %[src]\n", 1))
    return plain, tlscfg, rules


# ---------------------------------------------------------------- tests
def wrk_run(name, cfg, port, close):
    px = Proxy(name, cfg, TMP)
    try:
        px.wait_port(port)
        hdrs = ["-H", "Host: wax.eosphere.io"] + (["-H", "Connection: close"] if close else [])
        c0, k0 = cpu_ticks(px.pid), cores()
        out = load(["wrk", "-t1", "-c50", "-d%ds" % max(1, int(SECS)), "--latency"] + hdrs +
                   ["http://127.0.0.1:%d/v1/chain/get_info" % port], SECS + 30)
        c1, k1 = cpu_ticks(px.pid), cores()
        px.alive("wrk %s" % ("close" if close else "keep-alive"))
    finally:
        px.stop()
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    p = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    se = re.search(r"Socket errors: (.*)", out)
    if bad:
        odd.append("%s %s: %s non-2xx responses" % (name, "close" if close else "keep-alive", bad.group(1)))
    if se:
        odd.append("%s %s: wrk socket errors: %s" % (name, "close" if close else "keep-alive", se.group(1)))
    if n and int(n.group(1)) == 0:
        odd.append("%s %s: STALL, wrk got no response at all" % (name, "close" if close else "keep-alive"))
    if not m or not n:
        odd.append("%s: cannot parse wrk output: %s" % (name, out[-300:]))
        return None
    rps, reqs = float(m.group(1)), int(n.group(1))
    p99 = float(p.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p.group(2)] if p else None
    cpu_us = (c1 - c0) / TICK * 1e6 / reqs if reqs else None
    log("    %-7s %s: %.0f req/s p99 %s ms, %.1f us CPU/req; %s" % (name, "close" if close else "ka", rps, p99,
                                                                   cpu_us or 0, busy(k0, k1)))
    return rps, p99, cpu_us


def t_wrk(cfg, port, close, label=None):
    label = label or ("close" if close else "keep-alive")
    log("== get_info %s (wrk -t1 -c50, %ss)" % (label, int(SECS)))
    w, h = aba(lambda n: wrk_run(n, cfg, port, close))
    w = [x for x in w if x]
    h = [x for x in h if x]
    g = lambda xs, i: mean([x[i] for x in xs])
    row("%s req/s" % label, g(w, 0), g(h, 0), ">=1.3")
    row("%s p99 ms" % label, g(w, 1), g(h, 1), "")
    row("%s CPU us/req" % label, g(w, 2), g(h, 2), "<=0.75" if not close else "")


def stream_run(name, cfg, port, nconn=1):
    px = Proxy(name, cfg, TMP)
    try:
        px.wait_port(port)
        c0, k0 = cpu_ticks(px.pid), cores()
        r = kv(load([os.path.join(BIN, "wsload"), "stream", str(port), str(nconn), str(SECS)], SECS + 30))
        c1, k1 = cpu_ticks(px.pid), cores()
        px.alive("websocket stream")
    finally:
        px.stop()
    if "gbps" not in r:
        return None
    if int(r.get("fails", 0)):
        odd.append("%s stream: %s tunnels failed" % (name, r["fails"]))
    gbps = float(r["gbps"])
    gb = int(r["bytes"]) / 1e9
    if gb == 0:
        odd.append("%s stream: STALL, no byte received in %s s" % (name, SECS))
    cpu = (c1 - c0) / TICK / gb if gb else None
    log("    %-7s %.3f GB/s, %.2f s CPU/GB; %s" % (name, gbps, cpu or 0, busy(k0, k1)))
    return gbps, cpu


def t_stream(cfg, port, s1):
    log("== websocket stream, 256 KiB binary frames, 1 tunnel (%ss)" % SECS)
    r = kv(load([os.path.join(BIN, "wsload"), "stream", str(s1), "1", str(SECS)], SECS + 30))
    direct = float(r["gbps"]) if "gbps" in r else None
    log("    direct  %s GB/s (client and backend both on CPU %s)" % (direct, LCPU))
    w, h = aba(lambda n: stream_run(n, cfg, port))
    w = [x for x in w if x]
    h = [x for x in h if x]
    gw, gh = mean([x[0] for x in w]), mean([x[0] for x in h])
    row("ws stream GB/s", gw, gh, ">=2.0")
    row("ws stream CPU s/GB", mean([x[1] for x in w]), mean([x[1] for x in h]), "")
    if direct:
        rows.append(("ws stream direct GB/s (no proxy)", fmt(direct), fmt(direct), "-", "", ""))
        rows.append(("ws stream / direct", fmt(gw / direct if gw else None), fmt(gh / direct if gh else None),
                     "-", "waxlb>=0.7", ("ok" if gw and gw / direct >= 0.7 else "MISS")))


def upg_run(name, cfg, port):
    px = Proxy(name, cfg, TMP)
    try:
        px.wait_port(port)
        c0, k0 = cpu_ticks(px.pid), cores()
        r = kv(load([os.path.join(BIN, "wsload"), "upgrades", str(port), "50", str(SECS), "2000000"], SECS + 30))
        c1, k1 = cpu_ticks(px.pid), cores()
        px.alive("websocket upgrades")
    finally:
        px.stop()
    if "rate" not in r:
        return None
    if int(r.get("fails", 0)):
        odd.append("%s upgrades: %s failed" % (name, r["fails"]))
    cnt = int(r["count"])
    cpu = (c1 - c0) / TICK * 1e6 / cnt if cnt else None
    log("    %-7s %.0f upgrades/s, %.1f us CPU/upgrade; %s" % (name, float(r["rate"]), cpu or 0, busy(k0, k1)))
    return float(r["rate"]), cpu


def t_upg(cfg, port):
    log("== websocket upgrades/s (50 parallel: connect, upgrade, 101, ABI frame, close; %ss)" % SECS)
    w, h = aba(lambda n: upg_run(n, cfg, port))
    w = [x for x in w if x]
    h = [x for x in h if x]
    row("ws upgrades/s", mean([x[0] for x in w]), mean([x[0] for x in h]), ">=1.3")
    row("ws upgrade CPU us", mean([x[1] for x in w]), mean([x[1] for x in h]), "")


def open_idle(port, n):
    """Start a wsload holding n idle tunnels; returns (process, ready count)."""
    p = subprocess.Popen(["taskset", "-c", LCPU, os.path.join(BIN, "wsload"), "idle", str(port), str(n), "60", "120"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    r = kv(line)
    ready = int(r.get("ready", 0))
    if ready != n:
        time.sleep(0.2)
        odd.append("idle tunnels: wanted %d, got %s (%s)" % (n, ready, line.strip()))
    return p, ready


def close_idle(p):
    try:
        p.stdin.close()
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def mem_run(name, cfg, port, counts):
    res = {}
    for n in counts:
        px = Proxy(name, cfg, TMP)
        try:
            px.wait_port(port)
            time.sleep(0.5)
            r0 = rss_kb(px.pid)
            res.setdefault("idle", []).append(r0)
            p, ready = open_idle(port, n)
            time.sleep(1.0)
            r1 = rss_kb(px.pid)
            close_idle(p)
            px.alive("%d idle tunnels" % n)
        finally:
            px.stop()
        per = (r1 - r0) * 1024 / ready if ready else None
        res[n] = per
        log("    %-7s idle RSS %d kB; %d tunnels: RSS %d kB -> %.0f B/tunnel" % (name, r0, ready, r1, per or 0))
    res["idle"] = mean(res["idle"])
    return res


def t_mem(cfg, port, nbig):
    log("== memory per idle tunnel (1000 and %d) and idle RSS" % nbig)
    counts = [1000, nbig]
    w, h = aba(lambda n: mem_run(n, cfg, port, counts))
    for n in counts:
        row("RSS/idle tunnel B, %d" % n, mean([x[n] for x in w]), mean([x[n] for x in h]), "<=0.5")
    wi, hi = mean([x["idle"] for x in w]), mean([x["idle"] for x in h])
    row("idle RSS kB", wi, hi, "")
    rows.append(("  (absolute targets)", "<=2048 B/tunnel, idle <=1024 kB", "", "", "",
                 "ok" if (w and all((x[n] or 0) <= 2048 for x in w for n in counts) and wi <= 1024) else "MISS"))


def wss_stream(port, secs):
    """One wss stream reader (Python ssl, TLS 1.2 ECDHE-ECDSA-AES128-GCM): bytes/s."""
    code = r'''
import socket, ssl, sys, time
port, secs, cipher = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2; ctx.set_ciphers(cipher)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="ws-wax.eosphere.io")
s.sendall(b"GET /stream HTTP/1.1\r\nHost: ws-wax.eosphere.io\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
buf = bytearray(1 << 20); mv = memoryview(buf)
n = s.recv_into(mv)
assert buf[:12] == b"HTTP/1.1 101", bytes(buf[:60])
t0 = time.monotonic(); end = t0 + secs; tot = 0
while True:
    r = s.recv_into(mv)
    if not r: break
    tot += r
    if time.monotonic() >= end: break
el = time.monotonic() - t0
print("bytes=%d secs=%.3f gbps=%.4f cipher=%s" % (tot, el, tot / el / 1e9, s.cipher()[0]))
'''
    return kv(load([sys.executable, "-c", code, str(port), str(secs), TLS12], secs + 30))


def s_time(port, mode, secs):
    t0 = time.monotonic()
    out = load(["openssl", "s_time", "-connect", "127.0.0.1:%d" % port, mode, "-time", str(max(1, int(secs))),
                "-tls1_2", "-cipher", TLS12], secs + 30, stdin=subprocess.DEVNULL)
    el = time.monotonic() - t0
    m = re.search(r"(\d+) connections in [\d.]+s", out)
    if not m:
        odd.append("s_time %s: cannot parse: %s" % (mode, out[-300:]))
        return None, None
    n = int(m.group(1))
    # s_time prints one character per connection: '*' new session, 'r' resumed
    marks = "".join(l for l in out.splitlines() if l and set(l) <= set("r*"))
    return n, n / el, marks.count("r"), marks.count("*")


def tls_run(name, cfg, port):
    px = Proxy(name, cfg, TMP)
    res = {}
    try:
        px.wait_port(port)
        c0 = cpu_ticks(px.pid)
        r = wss_stream(port, SECS)
        c1 = cpu_ticks(px.pid)
        if "gbps" in r:
            gb = int(r["bytes"]) / 1e9
            res["wss"] = float(r["gbps"])
            res["wss_cpu"] = (c1 - c0) / TICK / gb if gb else None
            res["cipher"] = r.get("cipher")
        else:
            odd.append("%s wss stream failed" % name)
        for mode in ("-new", "-reuse"):
            c0 = cpu_ticks(px.pid)
            t = s_time(port, mode, SECS)
            c1 = cpu_ticks(px.pid)
            if t[0]:
                n, rate, nr, nn = t
                res[mode] = rate
                res[mode + "cpu"] = (c1 - c0) / TICK * 1e6 / n
                if mode == "-reuse" and nr < n * 0.9:
                    odd.append("%s s_time -reuse: only %d of %d handshakes were resumed" % (name, nr, n))
        px.alive("TLS tests")
    finally:
        px.stop()
    log("    %-7s wss %.3f GB/s (%s) %.2f s CPU/GB; full %.0f/s %.0f us CPU; resumed %.0f/s %.0f us CPU" % (
        name, res.get("wss", 0), res.get("cipher"), res.get("wss_cpu") or 0, res.get("-new") or 0,
        res.get("-newcpu") or 0, res.get("-reuse") or 0, res.get("-reusecpu") or 0))
    return res


def t_tls(cfg, tport):
    log("== TLS: wss stream (Python ssl, TLS 1.2 %s) and handshakes (openssl s_time, %ss)" % (TLS12, SECS))
    w, h = aba(lambda n: tls_run(n, cfg, tport))
    g = lambda xs, k: mean([x.get(k) for x in xs])
    row("wss stream GB/s", g(w, "wss"), g(h, "wss"), "report")
    row("wss stream CPU s/GB", g(w, "wss_cpu"), g(h, "wss_cpu"), "report")
    row("TLS full handshakes/s", g(w, "-new"), g(h, "-new"), "report")
    row("TLS full handshake CPU us", g(w, "-newcpu"), g(h, "-newcpu"), "report")
    row("TLS resumed handshakes/s", g(w, "-reuse"), g(h, "-reuse"), "report")
    row("TLS resumed handshake CPU us", g(w, "-reusecpu"), g(h, "-reusecpu"), "report")


def scale_run(name, cfg, port, nidle):
    px = Proxy(name, cfg, TMP)
    res = {}
    try:
        px.wait_port(port)
        for label, n in (("none", 0), ("idle", nidle)):
            p = None
            if n:
                p, ready = open_idle(port, n)
                time.sleep(0.5)
            c0, k0 = cpu_ticks(px.pid), cores()
            r = kv(load([os.path.join(BIN, "wsload"), "stream", str(port), "100", str(SECS)], SECS + 30))
            c1, k1 = cpu_ticks(px.pid), cores()
            log("    %-7s 100 streams, %d idle: %s GB/s; %s" % (name, n, r.get("gbps"), busy(k0, k1)))
            if r.get("bytes") == "0":
                odd.append("%s: 100 streams with %d idle tunnels: STALL, no byte received" % (name, n))
            if p:
                close_idle(p)
                time.sleep(0.5)
            if "gbps" in r:
                res[label] = float(r["gbps"])
                gb = int(r["bytes"]) / 1e9
                res[label + "cpu"] = (c1 - c0) / TICK / gb if gb else None
                if int(r.get("fails", 0)):
                    odd.append("%s 100 streams (%s idle): %s tunnels failed" % (name, n, r["fails"]))
            if not px.alive("100 streams with %d idle tunnels" % n):
                break
    finally:
        px.stop()
    log("    %-7s 100 streams: %.3f GB/s alone, %.3f GB/s with %d idle" % (name, res.get("none", 0),
                                                                        res.get("idle", 0), nidle))
    return res


def t_scale(cfg, port, nidle):
    log("== 100 active tunnels, alone and with %d idle ones (%ss each)" % (nidle, SECS))
    w, h = aba(lambda n: scale_run(n, cfg, port, nidle))
    g = lambda xs, k: mean([x.get(k) for x in xs])
    row("100 streams GB/s, 0 idle", g(w, "none"), g(h, "none"), "")
    row("100 streams GB/s, %d idle" % nidle, g(w, "idle"), g(h, "idle"), "")
    row("  CPU s/GB, 0 idle", g(w, "nonecpu"), g(h, "nonecpu"), "")
    row("  CPU s/GB, %d idle" % nidle, g(w, "idlecpu"), g(h, "idlecpu"), "")
    wr = g(w, "idle") / g(w, "none") if g(w, "none") and g(w, "idle") else None
    hr = g(h, "idle") / g(h, "none") if g(h, "none") and g(h, "idle") else None
    row("  with idle / alone", wr, hr, "")


# ---------------------------------------------------------------- main
def main():
    global TMP
    t_start = time.time()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    # HAProxy refuses to start when it cannot raise its fd limit to about 2*maxconn+22: the global maxconn
    # is 30000 when the hard limit allows it, less otherwise; the idle-tunnel count follows.
    maxconn = min(30000, (hard - 100) // 2)
    nbig = min(int(os.environ.get("BENCH_IDLE", "10000")), maxconn - 150)
    notes = ["fd hard limit %d: global maxconn %d, %d idle tunnels for the '10 000' figures" % (hard, maxconn, nbig)]
    if maxconn < 30000 or nbig < 10000:
        notes.append("(the requested maxconn 30000 / 10000 tunnels need a hard RLIMIT_NOFILE >= 60100;"
                     " raising it needs CAP_SYS_RESOURCE)")
    for tool in ("wrk", "taskset", "openssl"):
        if not shutil.which(tool):
            sys.exit("bench: %s not found" % tool)
    if os.cpu_count() < 2:
        notes.append("only one CPU: proxy and load share it")
    TMP = tempfile.mkdtemp(prefix="waxlb-bench.")
    ports = {k: free_port() for k in ("PORT", "TLS", "A1", "A2", "A3", "S1", "S2")}
    global PLAIN_PORT, WAXLB
    PLAIN_PORT = ports["PORT"]
    plain, tlscfg, rulescfg = make_cfgs(TMP, ports, maxconn)
    # a snapshot of the binary: ./waxlb may be rebuilt while the bench runs
    snap = os.path.join(TMP, "waxlb")
    shutil.copy2(WAXLB, snap)
    wver = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%h %cd", "--date=iso"], capture_output=True,
                          text=True).stdout.strip()
    wdirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "waxlb.c", "waxlb.h"],
                            capture_output=True, text=True).stdout.strip()
    notes.append("waxlb: %s, %d bytes, HEAD %s%s" % (WAXLB, os.path.getsize(snap), wver,
                                                     " + uncommitted waxlb.c/h changes" if wdirty else ""))
    WAXLB = snap
    for name, argv in (("waxlb", [WAXLB, "-c", "-f", tlscfg]), ("haproxy", [HAPROXY, "-c", "-f", tlscfg])):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            sys.exit("bench: %s rejects the bench config:\n%s%s" % (name, r.stdout, r.stderr))
    backs = [subprocess.Popen(["taskset", "-c", LCPU, os.path.join(BIN, "apinode"),
                               str(ports["A1"]), str(ports["A2"]), str(ports["A3"])],
                              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL),
             subprocess.Popen(["taskset", "-c", LCPU, os.path.join(BIN, "shipnode"), str(ports["S1"]), str(ports["S2"])],
                              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)]
    try:
        for b in backs:
            if b.stdout.readline().strip() != b"ready":
                sys.exit("bench: a backend did not start")
        log("waxlb bench: %s s per run, proxy on CPU %s, load on CPU %s; %s" % (SECS, PCPU, LCPU, "; ".join(notes)))
        log("waxlb: %s   haproxy: %s   work dir %s" % (WAXLB, HAPROXY, TMP))
        if "ka" in ONLY:
            t_wrk(plain, ports["PORT"], False)
        if "rules" in ONLY:
            t_wrk(rulescfg, ports["PORT"], False, "CORS+%[src] keep-alive")
        if "close" in ONLY:
            t_wrk(plain, ports["PORT"], True)
        if "stream" in ONLY:
            t_stream(plain, ports["PORT"], ports["S1"])
        if "upg" in ONLY:
            t_upg(plain, ports["PORT"])
        if "mem" in ONLY:
            t_mem(plain, ports["PORT"], nbig)
        if "tls" in ONLY:
            t_tls(tlscfg, ports["TLS"])
        if "scale" in ONLY:
            t_scale(plain, ports["PORT"], nbig)
    finally:
        for b in backs:
            b.terminate()
            b.wait()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(TMP, ignore_errors=True)
    print()
    print("waxlb vs HAProxy %s, same config, loopback; %s s runs, order waxlb/haproxy/waxlb (waxlb = mean of 2)"
          % (subprocess.run([HAPROXY, "-v"], capture_output=True, text=True).stdout.split()[2], SECS))
    for n in notes:
        print("note: " + n)
    print("%-36s %-12s %-12s %-7s %-10s %s" % ("figure", "waxlb", "haproxy", "ratio", "target", ""))
    for r in rows:
        print("%-36s %-12s %-12s %-7s %-10s %s" % r)
    if odd:
        print("\nodd:")
        for o in odd:
            print("  - " + o)
    print("\nbench took %.0f s" % (time.time() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
