#!/usr/bin/python3
"""walk.py - walk one keep-alive request through waxlb, from accept to response.

Usage:  make walk
        /usr/bin/python3 test/walk.py [--binary test/waxlb-walk] [--source waxlb.c] [--keep]

What it measures: the functions waxlb executes, in call order, for ONE
HTTP/1.1 request on a NEW keep-alive client connection, from the loop turn
that accepts it to the turn that has written the response, and from that:
the distinct functions, the function entries, the loop turns (returns from
poll()/epoll_wait()), and the section changes between consecutive function
entries (how many go to a section later in the file, how many to an earlier
one), plus the entries per section.

How:
  * test/waxlb-walk is waxlb.c built by "make test/waxlb-walk" with the host
    gcc at -O0 -finstrument-functions, -no-pie, linked with
    test/walk_trace.c, which appends a 16-byte record per function entry and
    exit, and one per return from the (ld --wrap'ed) poll()/epoll_wait(), to
    the file named by $WAXLB_TRACE.
  * This script starts a tiny keep-alive HTTP/1.1 backend (a thread,
    "HTTP/1.1 200 OK", content-length: 2, "ok") and waxlb on a minimal
    configuration in a temporary directory (global maxconn 100; defaults
    mode http and 5 s timeouts; frontend fe on 127.0.0.1:<free port>,
    default_backend be; backend be with one server, no health check, so no
    timer of its own fires).
  * Readiness: connecting to the frontend until it accepts.  That connection
    carries one warm-up request and is closed, so that the proxy is in a
    running state (its server connection then sits in the idle pool, and the
    measured request may reuse it: the output says whether it did).
  * While the pool holds a connection, waxlb wakes once a second to purge it.
    The script waits for one such wake-up and for the trace to be quiet
    (200 ms without growth), so that the next one falls well after the
    measurement; a turn in which poll() returned 0 (a timer) is flagged.
  * The measurement is a slice of the trace: its size just before a NEW
    client socket connects, and its size once the whole response (by its
    content-length) has been read and the trace has been quiet for 200 ms
    again.  The client socket stays open (keep-alive).
  * Addresses are resolved with addr2line (names and source lines); a name
    is mapped to its section with test/lint.py's parser (imported, not
    copied), i.e. the section holding its definition.  Code outside waxlb.c
    (waxlb.h, included at the top) counts as "(top)".

Output: "turn N: function (section)" per entry, indented by call depth, then
the summary.  Exit status 0 on a completed walk, 1 when it could not be done.
"""

import argparse
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lint  # noqa: E402  (the section parser shared with test/lint.py)

REC = struct.Struct("=IiQ")		# kind, val, addr: see test/walk_trace.c
K_ENTER, K_EXIT, K_POLL, K_EPOLL = 1, 2, 3, 4
QUIET = 0.2				# seconds without trace growth = idle
RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


# ------------------------------------------------------------------ backend

class Backend:
    """Keep-alive HTTP/1.1 server: one thread per connection, one fixed
    response per request; it remembers which connection served each request
    and how many connections are still open."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = 0			# connections accepted
        self.open = 0			# of which not closed yet
        self.requests = []		# connection number per request, in order
        self.cond = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                self.conns += 1
                self.open += 1
                n = self.conns
            threading.Thread(target=self._serve, args=(c, n), daemon=True).start()

    def _serve(self, c, n):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                _, buf = buf.split(b"\r\n\r\n", 1)	# GET: no body
                with self.cond:
                    self.requests.append(n)
                c.sendall(RESPONSE)
        except OSError:
            return
        finally:
            c.close()
            with self.cond:
                self.open -= 1
                self.cond.notify_all()

    def wait_all_closed(self, limit):
        """True once every connection to the backend has been closed."""
        with self.cond:
            return self.cond.wait_for(lambda: self.open == 0, limit)

    def close(self):
        self.sock.close()


# ------------------------------------------------------------------ client side

def read_response(s, timeout=5.0):
    """Read one response with a content-length body; returns the bytes."""
    s.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise RuntimeError("connection closed before the response head: %r" % buf)
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    clen = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v.strip())
    while len(body) < clen:
        d = s.recv(65536)
        if not d:
            raise RuntimeError("connection closed in the body")
        body += d
    return head + b"\r\n\r\n" + body


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def size(path):
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def wait_quiet(path, proc, limit=10.0):
    """Trace size once it has not grown for QUIET seconds."""
    start = time.monotonic()
    last, since = size(path), time.monotonic()
    while True:
        time.sleep(0.01)
        if proc.poll() is not None:
            raise RuntimeError("waxlb exited (status %s)" % proc.returncode)
        now, cur = time.monotonic(), size(path)
        if cur != last:
            last, since = cur, now
        elif now - since >= QUIET:
            return cur
        if now - start > limit:
            raise RuntimeError("waxlb never went idle (trace keeps growing)")


def wait_growth(path, base, limit):
    """True when the trace grew beyond base within limit seconds."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if size(path) > base:
            return True
        time.sleep(0.005)
    return False


def connect_ready(port, proc, limit=10.0):
    """Connect to the frontend, retrying while waxlb starts up."""
    end = time.monotonic() + limit
    while True:
        if proc.poll() is not None:
            raise RuntimeError("waxlb exited at startup (status %s)" % proc.returncode)
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except (ConnectionRefusedError, OSError):
            if time.monotonic() > end:
                raise RuntimeError("waxlb does not accept on port %d" % port)
            time.sleep(0.02)	# retry interval while it binds, not a synchronisation


# ------------------------------------------------------------------ trace

def read_slice(path, a, b):
    a -= a % REC.size
    b -= b % REC.size
    with open(path, "rb") as f:
        f.seek(a)
        data = f.read(b - a)
    return list(REC.iter_unpack(data[:len(data) - len(data) % REC.size]))


def resolve(binary, addrs):
    """addr -> (function name, file, line) via addr2line."""
    addrs = sorted(addrs)
    if not addrs:
        return {}
    out = subprocess.run(["addr2line", "-f", "-e", binary] + ["0x%x" % a for a in addrs],
                         check=True, capture_output=True, text=True).stdout.split("\n")
    res = {}
    for i, a in enumerate(addrs):
        name, loc = out[2 * i].strip(), out[2 * i + 1].strip()
        fn, _, ln = loc.rpartition(":")
        ln = ln.split()[0] if ln else "0"
        res[a] = (name, fn, int(ln) if ln.isdigit() else 0)
    return res


class SectionOf:
    """Function name (or file:line) -> lint.Section, as test/lint.py sees it."""

    def __init__(self, source):
        lines = lint.read_source(source)
        self.sections, self.style, _ = lint.parse_sections(lines)
        self.at = lint.SectionMap(self.sections)
        self.defs = {f.name: f for f in lint.parse_functions(lines)}
        self.source = os.path.basename(source)

    def __call__(self, name, fn, line):
        f = self.defs.get(name)
        if f is not None:
            return self.at(f.open_line)
        if os.path.basename(fn) == self.source and line:
            return self.at(line)
        return self.sections[0]		# waxlb.h and the like: included at the top


def walk(records, names, section_of):
    """The entries as (turn, depth, name, section) and the turns' poll info."""
    entries, turns = [], []
    turn, depth = 0, 0
    for kind, val, addr in records:
        if kind == K_ENTER:
            name, fn, line = names[addr]
            entries.append((turn, depth, name, section_of(name, fn, line)))
            depth += 1
        elif kind == K_EXIT:
            depth = max(depth - 1, 0)
        elif kind in (K_POLL, K_EPOLL):
            turn += 1
            depth = 0
            timeout = struct.unpack("=q", struct.pack("=Q", addr))[0]
            turns.append((turn, "poll" if kind == K_POLL else "epoll_wait", val, timeout))
    return entries, turns


# ------------------------------------------------------------------ main

CONFIG = """\
global
    maxconn 100

defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:{fport}
    default_backend be

backend be
    server s1 127.0.0.1:{bport}
"""


def run(binary, source, keep, new_server_conn):
    tmp = tempfile.mkdtemp(prefix="waxlb-walk.")
    trace = os.path.join(tmp, "trace.bin")
    backend = Backend()
    fport = free_port()
    cfg = os.path.join(tmp, "walk.cfg")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(fport=fport, bport=backend.port))
    env = dict(os.environ, WAXLB_TRACE=trace)
    log = open(os.path.join(tmp, "waxlb.log"), "wb")
    proc = subprocess.Popen([binary, "-f", cfg], env=env, stdout=log, stderr=subprocess.STDOUT)
    notes = []
    client = None
    try:
        # readiness = the warm-up connection
        warm = connect_ready(fport, proc)
        warm.sendall(REQUEST)
        read_response(warm)
        warm.close()
        base = wait_quiet(trace, proc)
        if new_server_conn:
            # the pool purges a connection idle for over 2 s (POOL_IDLE_MS):
            # wait until the backend sees it closed, then for quiet
            if not backend.wait_all_closed(6.0):
                raise RuntimeError("the idle server connection was not closed within 6 s")
            wait_quiet(trace, proc)
            notes.append("--new-server-conn: the warm-up's idle server connection was purged"
                         " first, so the request connects to the server")
        # while the pool holds a connection, waxlb wakes once a second to
        # purge it: let one wake-up pass so that the next is far away
        elif wait_growth(trace, base, 1.5):
            base = wait_quiet(trace, proc)
        else:
            notes.append("no idle-pool wake-up seen after the warm-up (pool empty?)")
        nreq_before = len(backend.requests)

        # the measured exchange
        start = size(trace)
        client = socket.create_connection(("127.0.0.1", fport), timeout=5)
        client.sendall(REQUEST)
        rsp = read_response(client)
        stop = wait_quiet(trace, proc)
        if not rsp.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("unexpected response: %r" % rsp[:80])
        served = backend.requests[nreq_before:]
    finally:
        if client is not None:
            client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        backend.close()

    records = read_slice(trace, start, stop)
    names = resolve(binary, {a for k, v, a in records if k in (K_ENTER, K_EXIT)})
    section_of = SectionOf(source)
    entries, turns = walk(records, names, section_of)
    if keep:
        with open(os.path.join(tmp, "slice.txt"), "w") as f:
            f.write("%d %d\n" % (start, stop))	# byte offsets of the slice in trace.bin
    else:
        for fn in os.listdir(tmp):
            os.unlink(os.path.join(tmp, fn))
        os.rmdir(tmp)
    return entries, turns, served, backend, section_of, notes, (stop - start) // REC.size, tmp


def report(entries, turns, served, backend, section_of, notes, nrec, tmp, keep, binary, source):
    p = print
    p("walk: one HTTP/1.1 request on a new keep-alive client connection, accept to response")
    p("  binary %s (-O0 -finstrument-functions), sections of %s (%s-style markers)"
      % (binary, source, section_of.style))
    p("  trace slice: %d records; from just before connect() to 200 ms after the full"
      " response was read; the client connection stays open" % nrec)
    if served:
        reused = served[0] == 1
        p("  backend: %d connection(s) in all; the measured request went over backend connection #%d"
          " (%s)" % (backend.conns, served[0],
                     "reused from waxlb's idle pool, opened by the warm-up request" if reused
                     else "a new server connection"))
    else:
        p("  backend: the measured request did not reach the backend")
    for n in notes:
        p("  note: " + n)
    if keep:
        p("  files kept in %s (trace.bin, slice.txt = its byte offsets, walk.cfg, waxlb.log)" % tmp)
    p("")

    tinfo = {t: (w, n, to) for t, w, n, to in turns}
    cur = None
    for turn, depth, name, sec in entries:
        if turn != cur:
            cur = turn
            if turn in tinfo:
                w, n, to = tinfo[turn]
                flag = "  <- timer wake-up, not the request" if n == 0 else ""
                p("-- loop turn %d: %s() returned %d (timeout %d ms)%s" % (turn, w, n, to, flag))
            else:
                p("-- before the first loop wait in the slice")
        p("turn %d: %s%s (%s)" % (turn, "  " * depth, name, sec.name))
    for t, w, n, to in turns:		# turns without any function entry
        if not any(e[0] == t for e in entries):
            p("-- loop turn %d: %s() returned %d (timeout %d ms), no function entered" % (t, w, n, to))

    changes = later = earlier = 0
    for a, b in zip(entries, entries[1:]):
        if a[3] is not b[3]:
            changes += 1
            if b[3].index > a[3].index:
                later += 1
            else:
                earlier += 1
    per = {}
    for _, _, name, sec in entries:
        d = per.setdefault(sec.index, [sec, 0, set()])
        d[1] += 1
        d[2].add(name)
    p("")
    p("== Summary")
    p("distinct functions: %d" % len({e[2] for e in entries}))
    p("total entries: %d" % len(entries))
    p("loop turns: %d (%s)" % (len(turns), ", ".join(
        "turn %d: %s() = %d" % (t, w, n) for t, w, n, _ in turns)))
    p("section changes: %d" % changes)
    p("changes to a later section: %d" % later)
    p("changes to an earlier section: %d" % earlier)
    top = {}
    for _, depth, name, _ in entries:
        if depth == 0:
            top[name] = top.get(name, 0) + 1
    p("called by the loop itself (depth 0: the fd callbacks and the per-turn calls): "
      + ", ".join("%s x%d" % kv for kv in top.items()))
    # calls by caller: the function one level up the stack made each entry;
    # depth 0 is the loop itself calling its hooks, waits and fd callbacks
    stack, same, up, down, downs = [], 0, 0, 0, {}
    for _, depth, name, sec in entries:
        del stack[depth:]
        caller = stack[depth - 1] if 0 < depth <= len(stack) else None
        stack.append((name, sec))
        if caller is None:
            continue
        if caller[1] is sec:
            same += 1
        elif sec.index < caller[1].index:
            up += 1
        else:
            down += 1
            k = "%s (%s) -> %s (%s)" % (caller[0], caller[1].name, name, sec.name)
            downs[k] = downs.get(k, 0) + 1
    p("calls made by the program's functions (not the loop's own dispatch): %d" % (same + up + down))
    p("  within a section: %d, to an earlier section: %d, to a later section: %d" % (same, up, down))
    for k in sorted(downs):
        p("  to a later section: %s x%d" % (k, downs[k]))
    p("entries per section (section: entries, distinct functions):")
    w = max([len(d[0].name) for d in per.values()] + [8])
    for idx in sorted(per):
        sec, n, fs = per[idx]
        p("  %2d  %-*s %5d %4d" % (idx, w, sec.name, n, len(fs)))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Walk one keep-alive request through a traced "
                                 "waxlb (see the docstring).")
    root = os.path.dirname(HERE)
    ap.add_argument("--binary", default=os.path.join(root, "test", "waxlb-walk"))
    ap.add_argument("--source", default=os.path.join(root, "waxlb.c"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (trace, log)")
    ap.add_argument("--new-server-conn", action="store_true",
                    help="let the warm-up's pooled server connection expire first, so that the "
                         "measured request opens a new one (connect included in the walk)")
    a = ap.parse_args(argv)
    if not os.access(a.binary, os.X_OK):
        print("walk: %s missing: run 'make test/waxlb-walk'" % a.binary, file=sys.stderr)
        return 1
    if os.path.getmtime(a.source) > os.path.getmtime(a.binary):
        print("walk: warning: %s is newer than %s: run 'make test/waxlb-walk'"
              % (a.source, a.binary), file=sys.stderr)
    try:
        res = run(a.binary, a.source, a.keep, a.new_server_conn)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        print("walk: %s" % e, file=sys.stderr)
        return 1
    report(*res, keep=a.keep, binary=a.binary, source=a.source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
