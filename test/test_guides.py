"""The operators' configurations (test/configs/*.cfg.in) on Debian's haproxy and on waxlb, side by side.

For each config: fake backends (test/fakenodes.py; Hyperion and Atomic stand-ins are plain fake API nodes,
a Hyperion streaming server is a fake SHIP node), then haproxy and waxlb on the same filled config (own bind
ports and @DIR@ each, the same backends), then the same requests to both, answers compared:

  status and reason; the headers that matter (Access-Control-*, Location, Content-Type, Set-Cookie, Server,
  Cache-Control, Vary, Connection, and Content-Length for answers the proxy generates); the body of answers
  the proxy generates; which backend node served (X-Node); the X-Forwarded-* headers the node received;
  whether the proxy closed the connection after the answer; websocket upgrades (101 and the node behind);
  a burst where the config rate-limits; the stats and metrics URIs it defines; and the request log lines
  when the config logs to /dev/log (captured on a datagram socket in @DIR@) or stdout, field by field with
  timings, dates, ports and pids masked.

A config waxlb refuses is still compared: its refused lines are commented out (as test/configs/status.py
does) so that the report also lists the run-time differences behind the refusal. A config haproxy itself
refuses must be refused by waxlb too.

Each config whose answers differ today carries pytest.mark.xfail with the differences seen when this file
was written (KNOWN below); the failing assertion prints the live list. A config that matches is a plain test.
Needs Debian's haproxy (skips otherwise) and the waxlb binary.
"""
import asyncio
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest
import websockets

import fakenodes
import guidecfg
import tlsutil
from conftest import HAPROXY, WAXLB, Conn, free_port_fn, parse_response, req, wait_port

SNI = "wax.eosphere.io"          # the test certificate's name (tlsutil's "wax" leaf)
ORIGIN = "https://dapp.example.org"
HDR_MATTER = ("location", "content-type", "set-cookie", "server", "cache-control", "vary", "connection")
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
HAP_CMD = None                   # set by the env fixture

# What differs today, per config (the xfail reasons). Regenerate by running this file with
# GUIDES_REPORT=1 and `-s`: each test then prints its live difference list.
KNOWN = {
    'eosamsterdam-eosio-haproxy':
        "waxlb refuses global `external-check` (external checks: issue 13)",
    'eosphere-abuse-deny':
        "waxlb refuses `http-request track-sc0` and `sc_http_req_rate(0)` (stick tables: issue 12): no 429 in a "
        "burst of 205",
    'eosphere-abuse-tarpit':
        "waxlb refuses `http-request track-sc0`, `sc_http_req_rate(0)` (stick tables: issue 12): no tarpit/429 in "
        "a burst of 205",
}


class Differs(AssertionError):
    """waxlb answers differently from haproxy (the only failure the xfail marks accept)."""


# ------------------------------------------------------------------ processes
FD_LIMIT = 262144


def _raise_fd_limit():
    """The guides set `maxconn 100000`: HAProxy then needs 2*maxconn+ fds and refuses to start below that.
    Operators' hosts allow it; a test container may not. Root may raise its own hard limit."""
    import resource
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))
    except (ValueError, OSError):
        pass


def _pids_with(needle):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if needle.encode() in cmd:
            out.append(int(d))
    return out


class Runner:
    """haproxy or waxlb on a config file; output collected; survives `daemon` (found by its config path)."""

    def __init__(self, cmd, path, ports):
        self.cmd, self.path, self.ports = cmd, path, ports
        self.lines, self.proc, self.lock = [], None, threading.Lock()

    def start(self, timeout=10.0):
        self.proc = subprocess.Popen(self.cmd + ["-f", self.path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     preexec_fn=_raise_fd_limit)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        end = time.time() + timeout
        for p in self.ports:
            if not wait_port(p, max(0.1, end - time.time())):
                return False
        return True

    def _read(self):
        for line in iter(self.proc.stdout.readline, b""):
            with self.lock:
                self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    def output(self):
        with self.lock:
            return list(self.lines)

    def daemonized(self):
        return self.proc.poll() == 0

    def stop(self):
        if self.proc is None:
            return
        pids = [p for p in _pids_with(self.path) if p != os.getpid()]
        if self.proc.poll() is None:
            pids.append(self.proc.pid)
        for p in set(pids):
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        end = time.time() + 5
        while time.time() < end and any(os.path.exists("/proc/%d" % p) and not _zombie(p) for p in pids):
            if self.proc.poll() is None:
                try:
                    self.proc.wait(0.05)
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(0.02)
        for p in set(pids):
            if os.path.exists("/proc/%d" % p) and not _zombie(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            pass
        self.reader.join(2)


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


class LogSink:
    """A unix datagram socket standing in for /dev/log."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)
        self.sock.settimeout(0.1)
        self.lines, self.lock, self.stopped = [], threading.Lock(), False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopped:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self.lines.append(d.decode("utf-8", "replace").rstrip("\n"))

    def get(self):
        with self.lock:
            return list(self.lines)

    def close(self):
        self.stopped = True
        self.t.join(2)
        self.sock.close()


# ------------------------------------------------------------------ one side (haproxy or waxlb)
class Side:
    def __init__(self, label, cmd, name, text, nodes_ports, certs, base):
        self.label, self.name, self.text = label, name, text
        self.dir = os.path.join(base, label)
        os.makedirs(self.dir)
        guidecfg.prepare_dir(self.dir, text)
        values = dict(nodes_ports)
        values.update(DIR=self.dir, CRT=certs.wax, CRTDIR=certs.dir, DNS=guidecfg.free_udp_port())
        self.ports = {}
        for ph in guidecfg.port_placeholders(text):
            self.ports[ph] = free_port_fn()
        values.update(self.ports)
        self.path = os.path.join(self.dir, name + ".cfg")
        with open(self.path, "w") as f:
            f.write(guidecfg.fill(text, values))
        lp = guidecfg.dev_log_path(text, self.dir)
        self.sink = LogSink(lp) if lp else None
        self.runner = Runner(cmd, self.path, list(self.ports.values()))
        self.started = False

    def start(self):
        self.started = self.runner.start()
        return self.started

    def log_lines(self):
        if self.sink:
            return self.sink.get()
        if guidecfg.logs_to_stdout(self.text):
            return self.runner.output()
        return []

    def stop(self):
        self.runner.stop()
        if self.sink:
            self.sink.close()


def check_only(cmd, path):
    r = subprocess.run(cmd + ["-c", "-f", path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def comment_out_errors(path, out, rounds=6):
    """Comment out the lines `waxlb -c` errors on (repeatedly, as status.py does). -> list of removed lines."""
    removed = []
    for _ in range(rounds):
        rc, out = check_only([WAXLB], path)
        if rc == 0:
            break
        with open(path) as f:
            lines = f.read().splitlines()
        bad = sorted({int(m.group(1)) for m in re.finditer(r"^%s:(\d+): (?!warning:)" % re.escape(path), out, re.M)})
        if not bad:
            break
        for n in bad:
            if 0 < n <= len(lines) and not lines[n - 1].lstrip().startswith("#"):
                removed.append(lines[n - 1].strip())
                lines[n - 1] = "#" + lines[n - 1]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
    return removed


# ------------------------------------------------------------------ requests
def build_cases(text):
    """[(case name, port placeholder, tls, kind, request bytes or data)] for one config."""
    f = guidecfg.features(text)
    host = f["host"]
    cases = []
    stats_ports = []
    for fe in f["frontends"]:
        if not fe["binds"]:
            continue
        if fe["mode"] == "tcp":
            ph = fe["binds"][0][0]
            if re.search(r"backend\s+waxshipbe", text) and fe["name"] == "waxshipfe":
                cases.append(("%s.ws" % fe["name"], ph, False, "ws", host))
            else:
                cases.append(("%s.get_info" % fe["name"], ph, False, "http",
                              req("GET /v1/chain/get_info HTTP/1.1", "Host: " + host)))
            continue
        is_stats = fe["name"] == "stats" or (
            re.search(r"(frontend|listen)\s+%s\b[^\n]*\n(?:(?!\n(frontend|backend|listen)\s).)*stats\s+enable"
                      % re.escape(fe["name"]), text, re.S) is not None)
        if is_stats:
            stats_ports.append(fe["binds"][0][0])
            continue
        for ph, tls in fe["binds"]:
            pre = "%s%s." % (fe["name"], ".tls" if tls else "")
            H = "Host: " + host
            cases += [
                (pre + "get_info", ph, tls, "http", req("GET /v1/chain/get_info HTTP/1.1", H)),
                (pre + "get_info_origin", ph, tls, "http",
                 req("GET /v1/chain/get_info HTTP/1.1", H, "Origin: " + ORIGIN)),
                (pre + "preflight", ph, tls, "http",
                 req("OPTIONS /v1/chain/get_block HTTP/1.1", H, "Origin: " + ORIGIN,
                     "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: content-type")),
            ]
            if tls and not f["ssl"]:
                continue
            if not tls:
                body = b'{"block_num_or_id":10}'
                cases += [
                    (pre + "post_get_block", ph, tls, "http",
                     req("POST /v1/chain/get_block HTTP/1.1", H, "Content-Type: application/json",
                         "Content-Length: %d" % len(body), body=body)),
                    (pre + "history", ph, tls, "http", req("GET /v2/history/get_actions?limit=1 HTTP/1.1", H)),
                    (pre + "v1_history", ph, tls, "http",
                     req("POST /v1/history/get_actions HTTP/1.1", H, "Content-Length: 2", body=b"{}")),
                    (pre + "atomic", ph, tls, "http", req("GET /atomicassets/v1/assets?limit=1 HTTP/1.1", H)),
                    (pre + "atomic_health", ph, tls, "http", req("GET /health HTTP/1.1", H)),
                    (pre + "producer_api", ph, tls, "http", req("GET /v1/producer/paused HTTP/1.1", H)),
                    (pre + "acme", ph, tls, "http", req("GET /.well-known/acme-challenge/x HTTP/1.1", H)),
                    (pre + "no_host", ph, tls, "http", req("GET /v1/chain/get_info HTTP/1.0")),
                ]
                for other in sorted(set(f["hosts"]) - {host}):
                    cases.append((pre + "host_" + other, ph, tls, "http",
                                  req("GET /v1/chain/get_info HTTP/1.1", "Host: " + other)))
            if f["ws"]:
                cases.append((pre + "ws", ph, tls, "ws", host))
                cases.append((pre + "ws_other_host", ph, tls, "ws", "example.com"))
    for ph in stats_ports:
        for uri in f["stats_uris"]:
            cases.append(("stats" + uri, ph, False, "stats", req("GET %s HTTP/1.1" % uri, "Host: localhost")))
        for uri in f["metrics_uris"]:
            cases.append(("metrics" + uri, ph, False, "metrics", req("GET %s HTTP/1.1" % uri, "Host: localhost")))
    return cases


def tls_ctx(certs):
    ctx = tlsutil.client_ctx(certs.ca)
    ctx.check_hostname = False
    return ctx


def connect(port, tls, certs, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        s = tls_ctx(certs).wrap_socket(s, server_hostname=SNI)
    s.settimeout(timeout)
    return s


def http_exchange(port, tls, data, certs, timeout=5.0):
    """One request on a new connection -> (Response | error string, closed_after)."""
    try:
        s = connect(port, tls, certs, timeout)
    except (OSError, ssl.SSLError) as e:
        return "connect failed: %s" % type(e).__name__, None
    buf = bytearray()
    head = data.startswith(b"HEAD")
    end = time.time() + timeout
    closed = False
    try:
        s.sendall(data)
        r = None
        while time.time() < end:
            try:
                got = parse_response(buf, head=head, closed=closed)
            except Exception as e:  # noqa
                return "unparsable answer: %s" % e, None
            if got is not None:
                r = got[0]
                if r.status >= 200 or r.status == 101:
                    break
                del buf[:got[1]]
                r = None
                continue
            if closed:
                return ("closed without an answer" if not buf else "truncated answer"), True
            s.settimeout(max(0.01, end - time.time()))
            try:
                d = s.recv(1 << 20)
            except (socket.timeout, ssl.SSLError, ConnectionResetError):
                d = b""
                if time.time() >= end:
                    break
            if not d:
                closed = True
            buf += d
        if r is None:
            return "no answer in %.0fs" % timeout, None
        if closed:
            return r, True
        # did the proxy close after the answer? (bounded wait)
        s.settimeout(0.15)
        try:
            more = s.recv(1)
            closed_after = not more
        except socket.timeout:
            closed_after = False
        except (OSError, ssl.SSLError):
            closed_after = True
        return r, closed_after
    finally:
        s.close()


def view_http(r, closed_after, port=None):
    if isinstance(r, str):
        return {"error": r}
    v = {"status": "%d %s" % (r.status, r.reason), "closed_after": closed_after}
    for k, val in r.headers:
        lk = k.lower()
        if lk.startswith("access-control-") or lk in HDR_MATTER:
            v.setdefault("hdr " + lk, []).append(val)
    node = r.header("X-Node")
    v["node"] = node
    if node is None:
        v["body"] = r.body
        v["hdr content-length"] = r.header("Content-Length")
    else:
        try:
            echo = r.json()
        except Exception:  # noqa
            echo = None
        if isinstance(echo, dict) and "headers" in echo:
            # each proxy listens on its own port: the port it was reached on is masked
            fwd = sorted((k.lower(), "<port>" if val == str(port) else val) for k, val in echo["headers"]
                         if k.lower().startswith("x-forwarded"))
            v["forwarded to node"] = fwd
    return v


async def _ws(port, tls, host, certs):
    # the Host header comes from the URI (extra_headers would add a second one: a 400 from both proxies);
    # the socket goes to loopback whatever the name
    kw = dict(max_size=None, compression=None, ping_interval=None, open_timeout=5, host="127.0.0.1", port=port)
    if tls:
        kw["ssl"] = tls_ctx(certs)
        kw["server_hostname"] = SNI
    uri = "%s://%s:%d/" % ("wss" if tls else "ws", host or "127.0.0.1", port)
    try:
        ws = await asyncio.wait_for(websockets.connect(uri, **kw), 6)
    except websockets.exceptions.InvalidStatusCode as e:
        return {"status": e.status_code}
    except Exception as e:  # noqa
        return {"error": "%s" % type(e).__name__}
    try:
        await asyncio.wait_for(ws.recv(), 5)               # the ABI
        await ws.send(b"\xf2")
        name = await asyncio.wait_for(ws.recv(), 5)
        return {"status": 101, "node": name}
    except Exception as e:  # noqa
        return {"status": 101, "error": type(e).__name__}
    finally:
        await ws.close()


def ws_exchange(port, tls, host, certs):
    return asyncio.run(asyncio.wait_for(_ws(port, tls, host, certs), 20))


METRIC_RX = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)", re.M)


def run_cases(side, cases, certs, nodes):
    out = {}
    for name, ph, tls, kind, data in cases:
        port = side.ports[ph]
        if kind == "ws":
            out[name] = ws_exchange(port, tls, data, certs)
            fakenodes_wait_idle(nodes)
            continue
        r, closed = http_exchange(port, tls, data, certs)
        if kind in ("stats", "metrics"):
            if isinstance(r, str):
                out[name] = {"error": r}
                continue
            v = {"status": "%d %s" % (r.status, r.reason), "hdr content-type": r.header("Content-Type")}
            if kind == "metrics":
                # waxlb's own series (waxlb_*, README "Status page and Prometheus") are extras by design
                v["metric names"] = sorted(n for n in set(METRIC_RX.findall(r.body.decode("utf-8", "replace")))
                                           if not n.startswith("waxlb_"))
            out[name] = v
        else:
            out[name] = view_http(r, closed, port)
    return out


def fakenodes_wait_idle(nodes, timeout=3.0):
    end = time.time() + timeout
    while time.time() < end and any(nodes.ws_active().values()):
        time.sleep(0.02)


def burst(side, text, certs, count):
    """`count` requests on keep-alive connections to the main frontend; -> run-length list of statuses, and
    how long the last answer took."""
    f = guidecfg.features(text)
    ph = next(fe["binds"][0][0] for fe in f["frontends"] if fe["mode"] == "http" and fe["binds"]
              and fe["name"] != "stats")
    port = side.ports[ph]
    statuses, last_t = [], None
    path = "/v1/chain/push_transaction" if "push_transaction" in text else "/v1/chain/get_info"
    c = None
    for i in range(count):
        t0 = time.time()
        try:
            if c is None:
                c = Conn(port, timeout=15)
            r = c.request("GET", path, host=f["host"])
            statuses.append(r.status)
            if r.header("Connection", "").lower() == "close":
                c.close()
                c = None
        except (OSError, ConnectionError, TimeoutError) as e:
            statuses.append(type(e).__name__)
            if c:
                c.close()
            c = None
        last_t = time.time() - t0
    if c:
        c.close()
    rl = []
    for s in statuses:
        if rl and rl[-1][0] == s:
            rl[-1][1] += 1
        else:
            rl.append([s, 1])
    return {"statuses": ["%sx%d" % (s, n) for s, n in rl], "last answer slow (>5s)": last_t > 5}


# ------------------------------------------------------------------ logs
HTTPLOG = re.compile(
    r"(?P<client>[\d.]+):\d+ \[[^\]]+\] (?P<rest>.*)$")
SYSLOG = re.compile(r"^<(?P<pri>\d+)>(?:\w{3} [ \d]\d \d\d:\d\d:\d\d )?(?P<tag>[^\[: ]+)(?:\[\d+\])?: (?P<msg>.*)$")


def mask_log(line):
    """-> (syslog pri, tag, masked fields) for a request log line, or None if it is not one."""
    pri = tag = None
    m = SYSLOG.match(line)
    if m:
        pri, tag, line = m.group("pri"), m.group("tag"), m.group("msg")
    m = HTTPLOG.search(line)
    if not m or '"' not in line:
        return None
    rest = m.group("rest")
    words = rest.split(" ")
    masked = []
    for i, w in enumerate(words):
        if i == 4 and re.fullmatch(r"\+?\d+", w):
            # a backend's get_info length follows the chain head; and HAProxy counts its internal form of a
            # message where waxlb counts the wire's bytes (README, Logging): not comparable
            masked.append("<bytes>")
            continue
        if re.fullmatch(r"-?\d+/-?\d+/-?\d+/-?\d+/\+?-?\d+", w) or re.fullmatch(r"-?\d+/-?\d+/\+?-?\d+", w):
            masked.append("<timers>")
        else:
            masked.append(w)
    return pri, tag, masked


def compare_logs(ref_lines, cand_lines):
    diffs = []
    r = [x for x in (mask_log(l) for l in ref_lines) if x]
    c = [x for x in (mask_log(l) for l in cand_lines) if x]
    badreq = lambda xs: [x for x in xs if '"<BADREQ>"' in x[2]]  # noqa: E731
    rb, cb = badreq(r), badreq(c)
    if len(rb) != len(cb):
        diffs.append("log: %d <BADREQ> lines from haproxy (connections closed before a request, e.g. a "
                     "port probe, logged when dontlognull is off), %d from waxlb" % (len(rb), len(cb)))
    r = [x for x in r if x not in rb]
    c = [x for x in c if x not in cb]
    # align by request line (method + target), in order
    key = lambda x: " ".join(w.strip('"') for w in x[2] if w.startswith('"') or w.startswith("/"))  # noqa: E731
    ck = [key(x) for x in c]
    pairs, used = [], set()
    for a in r:
        k = key(a)
        j = next((j for j, kk in enumerate(ck) if kk == k and j not in used), None)
        if j is None:
            diffs.append("log: haproxy logged %s, waxlb did not" % k)
            continue
        used.add(j)
        pairs.append((a, c[j]))
    for j, b in enumerate(c):
        if j not in used:
            diffs.append("log: waxlb logged %s, haproxy did not" % key(b))
    r, c = [p[0] for p in pairs], [p[1] for p in pairs]
    # the default tag is the program's name in both (README, Logging: `log-tag haproxy` for rsyslog rules)
    same_tag = lambda x, y: x == y or (x, y) == ("haproxy", "waxlb")  # noqa: E731
    tags = sorted({"<%s>%s vs <%s>%s" % (a[0], a[1], b[0], b[1]) for a, b in zip(r, c)
                   if a[0] != b[0] or not same_tag(a[1], b[1])})
    if tags:
        diffs.append("log: syslog priority/tag haproxy vs waxlb: %s" % ", ".join(tags))
    for i, (a, b) in enumerate(zip(r, c)):
        fa, fb = a[2], b[2]
        if fa != fb:
            n = max(len(fa), len(fb))
            fields = [(j, fa[j] if j < len(fa) else None, fb[j] if j < len(fb) else None) for j in range(n)]
            bad = [(j, x, y) for j, x, y in fields if x != y]
            diffs.append("log %s: fields differ: %s" % (key(a), "; ".join(
                "#%d %r vs %r" % (j + 1, x, y) for j, x, y in bad[:6])))
        if len(diffs) > 12:
            break
    return diffs


def first_log_wait(sides, expected, timeout=3.0):
    end = time.time() + timeout
    while time.time() < end:
        if all(len([l for l in s.log_lines() if mask_log(l)]) >= expected for s in sides):
            return
        time.sleep(0.05)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def env():
    if not HAPROXY:
        pytest.skip("Debian's haproxy is not installed")
    if not (os.path.isfile(WAXLB) and os.access(WAXLB, os.X_OK)):
        pytest.skip("waxlb binary %s not built" % WAXLB)
    base = tempfile.mkdtemp(prefix="waxlb-guides-")
    os.chmod(base, 0o755)
    # The guides' `maxconn 100000` makes haproxy ask for ~200k fds, and haproxy 2.6 refuses to start when the
    # hard limit is lower (strict-limits is on by default). Operators' hosts allow it; where this one does not
    # (and root cannot raise it), haproxy gets a first file `global / no strict-limits`: it then starts with a
    # warning. Nothing else is added to the reference, and waxlb gets the config alone.
    import resource
    global HAP_CMD
    HAP_CMD = [HAPROXY, "-db"]
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < FD_LIMIT:
        shim = os.path.join(base, "haproxy-env.cfg")
        with open(shim, "w") as f:
            f.write("# test host: fd hard limit below what maxconn needs\nglobal\n    no strict-limits\n")
        HAP_CMD = [HAPROXY, "-db", "-f", shim]
    certs = tlsutil.make_certs(os.path.join(base, "certs"))
    nodes = fakenodes.Nodes()
    ports = {}
    yield base, certs, nodes, ports
    nodes.close()
    shutil.rmtree(base, ignore_errors=True)


def node_ports(env, text):
    base, certs, nodes, ports = env
    out = {}
    for ph in guidecfg.node_placeholders(text):
        kind = guidecfg.node_kind(ph, text)
        key = (ph, kind)
        if key not in ports:
            ports[key] = nodes.ship(ph) if kind == "ship" else nodes.api(ph)
        out[ph] = ports[key]
    return out


def params():
    out = []
    for n in guidecfg.names():
        marks = [pytest.mark.xfail(reason=KNOWN[n], raises=Differs, strict=False)] if n in KNOWN else []
        out.append(pytest.param(n, marks=marks, id=n))
    return out


def compare(ref, cand):
    diffs = []
    for case in ref:
        a, b = ref[case], cand.get(case)
        if a == b:
            continue
        keys = sorted(set(a) | set(b or {}))
        parts = []
        for k in keys:
            x, y = a.get(k), (b or {}).get(k)
            if x != y:
                if k == "metric names":
                    missing = sorted(set(x or []) - set(y or []))
                    extra = sorted(set(y or []) - set(x or []))
                    parts.append("metric names: %d of haproxy's %d missing (e.g. %s), %d extra (e.g. %s)" % (
                        len(missing), len(x or []), ", ".join(missing[:3]), len(extra), ", ".join(extra[:3])))
                elif k == "body":
                    parts.append("body %r vs %r" % ((x or b"")[:80], (y or b"")[:80]))
                else:
                    parts.append("%s: %r vs %r" % (k, x, y))
        diffs.append("%s: %s" % (case, "; ".join(parts)))
    return diffs


@pytest.mark.parametrize("name", params())
def test_guide_config(env, name, tmp_path):
    base, certs, nodes, _ = env
    text = guidecfg.template(name)
    np = node_ports(env, text)
    run_dir = tempfile.mkdtemp(prefix=name + "-", dir=base)
    os.chmod(run_dir, 0o755)
    ref = Side("haproxy", HAP_CMD, name, text, np, certs, run_dir)
    cand = Side("waxlb", [WAXLB, "-db"], name, text, np, certs, run_dir)
    hrc, hout = check_only([HAPROXY] + HAP_CMD[2:], ref.path)
    wrc, wout = check_only([WAXLB], cand.path)
    problems = []
    if hrc != 0:
        # the reference refuses the config as published: waxlb must refuse it too
        for s in (ref, cand):
            if s.sink:
                s.sink.close()
        if wrc == 0:
            raise Differs("haproxy -c refuses %s but waxlb -c accepts it:\n%s\n--- waxlb:\n%s" % (
                name, "\n".join(l for l in hout.splitlines() if "ALERT" in l), wout))
        return
    if wrc != 0:
        errs = [l.replace(cand.path, name + ".cfg") for l in wout.splitlines()
                if re.match(r"^%s:\d+: (?!warning:)" % re.escape(cand.path), l)]
        problems.append("waxlb -c refuses it: " + " | ".join(errs))
        removed = comment_out_errors(cand.path, wout)
        problems.append("compared with these lines commented out for waxlb: %s" % removed)
        with open(cand.path) as fh:
            live = "\n".join(l for l in fh.read().splitlines() if not l.lstrip().startswith("#"))
        cand.runner.ports = [p for p in cand.ports.values()
                             if re.search(r"^\s*(bind\s+|listen\s+\S+\s+)\S*:%d\b" % p, live, re.M)]
    sides = [ref, cand]
    try:
        ok_ref = ref.start()
        if not ok_ref:
            pytest.fail("haproxy did not start on %s:\n%s" % (name, "\n".join(ref.runner.output()[-20:])))
        ok_cand = cand.start()
        if not ok_cand:
            problems.append("waxlb did not start: %s" % " | ".join(cand.runner.output()[-8:]))
        else:
            if cand.runner.daemonized() and not ref.runner.daemonized():
                problems.append("waxlb went to the background (`daemon` in global) although started with -db, "
                                "as haproxy -db stays in the foreground")
            cases = build_cases(text)
            results = {}
            errors = []

            def go(side):
                try:
                    results[side.label] = run_cases(side, cases, certs, nodes)
                except Exception as e:  # noqa
                    errors.append("%s: %r" % (side.label, e))
                    results[side.label] = {}
            ts = [threading.Thread(target=go, args=(s,)) for s in sides]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
            if errors:
                pytest.fail("the harness failed: %s" % errors)
            problems += compare(results["haproxy"], results["waxlb"])
            f = guidecfg.features(text)
            if f["rate_limit"]:
                count = 205 if not re.search(r"gt 20\b", text) else 25
                br = {}
                ts = [threading.Thread(target=lambda s=s: br.__setitem__(s.label, burst(s, text, certs, count)))
                      for s in sides]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join(60)
                if br.get("haproxy") != br.get("waxlb"):
                    problems.append("burst of %d: haproxy %s, waxlb %s" % (count, br.get("haproxy"), br.get("waxlb")))
            if ref.sink or guidecfg.logs_to_stdout(text):
                n_http = len([c for c in cases if c[3] != "ws"])
                first_log_wait(sides, min(n_http, 1))
                first_log_wait(sides, n_http, timeout=2.0)
                problems += compare_logs(ref.log_lines(), cand.log_lines())
    finally:
        for s in sides:
            s.stop()
    if os.environ.get("GUIDES_REPORT"):
        print("\n== %s\n%s" % (name, "\n".join(problems) or "no difference"))
    if problems:
        raise Differs("%s: waxlb differs from haproxy:\n  %s" % (name, "\n  ".join(problems)))
