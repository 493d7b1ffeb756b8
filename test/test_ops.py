"""Operations: reload (SIGHUP) under a 200 MB websocket stream, soft stop (SIGUSR1) and hard-stop-after, the
BusyBox init script (waxlb.init), the runtime API on the stats socket (socat), the status page rendered in
headless Chromium (screenshot in test/artifacts/status.png), Prometheus metrics, and syslog/stdout/stderr
logging.

Artifacts (test/artifacts/, git-ignored): status.png (the status page as Chromium draws it), status.html (its
DOM), reload.json (bytes, SHA-256 and timings of the reload-under-load test).
"""
import asyncio
import csv
import hashlib
import html.parser
import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest
import websockets

import fakenodes
from conftest import REPO, Conn, http, wait_port, wait_until

pytestmark = pytest.mark.waxlb_only

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS = os.path.join(HERE, "artifacts")
INIT = os.path.join(REPO, "waxlb.init")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SOCAT = shutil.which("socat")
BUSYBOX = shutil.which("busybox")
MB = 1024 * 1024


# ------------------------------------------------------------------ helpers
def artifact(name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.join(ARTIFACTS, name)


def api_cmd(sock, line, timeout=5):
    """One command line on the stats socket, as an operator types it: echo LINE | socat stdio UNIX:PATH."""
    if not SOCAT:
        pytest.skip("socat not installed")
    r = subprocess.run([SOCAT, "stdio", "UNIX:" + sock], input=(line + "\n").encode(), capture_output=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def wait_sock(path, timeout=5):
    """The TCP listeners accept (in the kernel) before the stats socket is bound: wait for it too."""
    def ok():
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()
    assert wait_until(ok, timeout), "stats socket %s never accepted" % path


def stat_rows(sock):
    """`show stat` -> (header names, {(pxname, svname): row dict})."""
    text = api_cmd(sock, "show stat")
    assert text.startswith("# pxname,svname,"), text[:200]
    rows = list(csv.reader(io.StringIO(text[2:].strip())))
    hdr = rows[0]
    out = {}
    for r in rows[1:]:
        if r:
            out[(r[0], r[1])] = dict(zip(hdr, r))
    return hdr, out


def srv_status(sock, be, sv):
    return stat_rows(sock)[1][(be, sv)]["status"]


def node_of(port, path="/x"):
    return http(port, "GET", path).node


def nodes_seen(port, n, path="/x"):
    return [node_of(port, path) for _ in range(n)]


def counts(names):
    c = {}
    for n in names:
        c[n] = c.get(n, 0) + 1
    return c


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def pid_alive(pid):
    """Running and not a zombie (a daemon's parent may reap it late)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return st not in ("Z", "X")


class Ws:
    """A websocket through the proxy, driven by a private asyncio loop in a thread, so that a synchronous test can
    keep it open while it does other things."""

    def __init__(self, port, timeout=5.0):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="ws")
        self.thread.start()
        self.got = 0
        async def connect():   # made inside the loop: the legacy client binds to the loop it is created in
            return await websockets.connect("ws://127.0.0.1:%d/" % port, max_size=None, compression=None,
                                            ping_interval=None, open_timeout=timeout)
        self.ws = self.run(connect(), timeout)
        self.abi = self.run(self.ws.recv(), timeout)

    def run(self, coro, timeout=10.0):
        return self.submit(asyncio.wait_for(coro, timeout)).result(timeout + 2)

    def submit(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def name(self):
        async def go():
            await self.ws.send(b"\xf2")
            return await self.ws.recv()
        return self.run(go())

    async def _stream(self, n, seed, pause_at, paused, resume):
        await self.ws.send(b"\xf0" + struct.pack("<QQ", n, seed))
        h, got, msgs = hashlib.sha256(), 0, 0
        self.got = 0
        while True:
            m = await asyncio.wait_for(self.ws.recv(), 30)
            if isinstance(m, str):
                break
            h.update(m)
            got += len(m)
            msgs += 1
            self.got = got
            if pause_at is not None and got >= pause_at and not paused.is_set():
                paused.set()   # the reader stops: backpressure through waxlb holds the node mid-stream
                await self.loop.run_in_executor(None, resume.wait, 60)
        return got, h.hexdigest(), m, msgs

    def stream_async(self, n, seed=1, pause_at=None):
        """Start an 0xF0 stream; -> (future of (bytes, sha256 seen, sha256 the node reports, messages),
        paused event, resume event)."""
        paused, resume = threading.Event(), threading.Event()
        return self.submit(self._stream(n, seed, pause_at, paused, resume)), paused, resume

    def stream(self, n, seed=1):
        fut, _, _ = self.stream_async(n, seed)
        return fut.result(60)

    def is_closed(self, timeout=3.0):
        async def go():
            try:
                await asyncio.wait_for(self.ws.recv(), timeout)
            except websockets.exceptions.ConnectionClosed:
                return True
            except asyncio.TimeoutError:
                return False
            return False
        return self.run(go(), timeout + 1)

    def close(self):
        try:
            self.run(self.ws.close(), 3)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(3)


def expected_sha(n, seed):
    h = hashlib.sha256()
    for c in fakenodes.stream_blob(n, seed):
        h.update(c)
    return h.hexdigest()


def base_cfg(port, nodes, api=("a1", "a2"), ship=("s1",), glob="", fe="", api_opts="check inter 200",
             ship_opts="check inter 200", extra="", binds=()):
    api_lines = "".join("    server %s 127.0.0.1:%d %s\n" % (n, nodes.port(n), api_opts) for n in api)
    ship_lines = "".join("    server %s 127.0.0.1:%d %s\n" % (n, nodes.port(n), ship_opts) for n in ship)
    bind_lines = "".join("    bind 127.0.0.1:%d\n" % b for b in (port,) + tuple(binds))
    return ("global\n%s"
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 20s\n    timeout server 20s\n"
            "    timeout tunnel 60s\n"
            "frontend fe\n%s%s"
            "    use_backend ship if { hdr(upgrade) -i websocket }\n"
            "    default_backend api\n"
            "backend api\n    balance roundrobin\n%s"
            "backend ship\n    balance roundrobin\n%s%s") % (glob, bind_lines, fe, api_lines, ship_lines, extra)


def start_nodes(nodes, api=("a1", "a2"), ship=("s1",)):
    for n in api:
        nodes.api(n)
    for n in ship:
        nodes.ship(n)


# ------------------------------------------------------------------ reload under load
@pytest.mark.slow
def test_reload_during_200mb_stream(proxy, nodes, free_port, tmp_path):
    """SIGHUP while a 200 MB SHIP stream runs: the stream ends byte-exact (SHA-256); new requests follow the new
    config (weights, an ACL, listeners, a keep-alive client's next request); admin state and counters carry over;
    a bad config changes nothing and is logged."""
    start_nodes(nodes, api=("a1", "a2", "a3"))
    port, p_old, p_new = free_port(), free_port(), free_port()
    sock = str(tmp_path / "admin.sock")
    glob = "    stats socket %s level admin\n" % sock
    v1 = base_cfg(port, nodes, api=("a1", "a2", "a3"), glob=glob, binds=(p_old,))
    v2 = base_cfg(port, nodes, api=("a1", "a2", "a3"), glob=glob, binds=(p_new,),
                  fe="    http-request deny if { path_beg /blocked }\n").replace(
        "server a2 127.0.0.1:%d check inter 200" % nodes.port("a2"),
        "server a2 127.0.0.1:%d check inter 200 weight 3" % nodes.port("a2"))
    p = proxy(v1, port)
    wait_sock(sock)
    # v1: a1/a2 1:1, a3 put in maintenance through the runtime API (must survive the reload)
    assert api_cmd(sock, "set server api/a3 state maint").strip() == ""
    seen = counts(nodes_seen(port, 8))
    assert seen == {"a1": 4, "a2": 4}, seen
    assert http(port, "GET", "/blocked").status == 200
    assert not refused(p_old)
    stot_before = int(stat_rows(sock)[1][("api", "a1")]["stot"])
    ka = Conn(port)
    assert ka.request("GET", "/blocked").status == 200   # a keep-alive client, before the reload

    N = 200 * MB + 4321
    ws = Ws(port)
    resume = threading.Event()
    try:
        assert ws.name() == "s1"
        fut, paused, resume = ws.stream_async(N, seed=2024, pause_at=120 * MB)
        t0 = time.time()
        assert wait_until(lambda: ws.got >= 16 * MB, 20), "the stream does not flow (%d bytes)" % ws.got
        # 1. a good reload while bytes are flowing
        with open(p.path, "w") as f:
            f.write(v2)
        mark = p.mark()
        got_at_hup = ws.got
        t_hup = time.time()
        os.kill(p.pid, signal.SIGHUP)
        p.wait_for_log(r"Reload complete: \d+ connection\(s\) continue", 10, since=mark)
        reload_s = time.time() - t_hup
        got_at_done = ws.got
        errors = p.find_log(r"ALERT|rror", since=mark)
        assert not errors, errors
        # 2. while the stream is held mid-way: the new config answers
        assert paused.wait(30), "the stream never reached the pause point (%d bytes)" % ws.got
        assert not fut.done()
        seen = counts(nodes_seen(port, 16))
        assert seen == {"a1": 4, "a2": 12}, seen                  # new weights; a3 still in maintenance
        assert http(port, "GET", "/blocked").status == 403       # new ACL
        assert http(port, "GET", "/ok").status == 200
        assert ka.request("GET", "/blocked").status == 403       # the keep-alive client's next request
        assert wait_port(p_new, 3), "listener added by the reload does not accept"
        assert http(p_new, "GET", "/x").status == 200
        assert refused(p_old), "listener removed by the reload still accepts"
        rows = stat_rows(sock)[1]
        assert rows[("api", "a3")]["status"] == "MAINT"
        assert rows[("api", "a2")]["weight"] == "3"
        assert int(rows[("api", "a1")]["stot"]) >= stot_before + 4   # counters carried over, not reset
        # 3. a bad config: refused, logged, nothing changes
        with open(p.path, "w") as f:
            f.write(v2.replace("    default_backend api\n", "    default_backend api\n    no_such_keyword 1\n"))
        mark = p.mark()
        t_bad = time.time()
        os.kill(p.pid, signal.SIGHUP)
        p.wait_for_log(r"Reload failed: the configuration has errors", 10, since=mark)
        bad_s = time.time() - t_bad
        assert p.find_log(r"no_such_keyword", since=mark), p.log()[-2000:]
        assert http(port, "GET", "/blocked").status == 403
        seen = counts(nodes_seen(port, 8))
        assert seen == {"a1": 2, "a2": 6}, seen
        assert not refused(p_new) and refused(p_old)
        assert api_cmd(sock, "show info").startswith("Name: waxlb")
        # 4. let the stream finish
        resume.set()
        got, sha_seen, sha_node, msgs = fut.result(120)
        elapsed = time.time() - t0
    finally:
        resume.set()
        ws.close()
        ka.close()
    sha_exp = expected_sha(N, 2024)
    result = {"bytes": got, "expected_bytes": N, "messages": msgs, "sha256": sha_seen,
              "sha256_node": sha_node, "sha256_expected": sha_exp, "sha_ok": sha_seen == sha_node == sha_exp,
              "stream_seconds": round(elapsed, 3), "reload_seconds": round(reload_s, 4),
              "bad_reload_seconds": round(bad_s, 4), "bytes_at_sighup": got_at_hup,
              "bytes_at_reload_complete": got_at_done, "reload_errors": errors}
    with open(artifact("reload.json"), "w") as f:
        json.dump(result, f, indent=2)
    print("reload under load: %s" % json.dumps(result))
    assert got == N
    assert sha_seen == sha_node == sha_exp
    assert p.alive(), p.log()[-3000:]
    assert reload_s < 2.0, "reload took %.3fs" % reload_s


def test_reload_removing_backend_keeps_its_tunnel(proxy, nodes, free_port):
    """A reload that drops the backend (and rule) of an open tunnel: the tunnel goes on under the old config, which
    is released when it ends; a later reload bringing the backend back works."""
    start_nodes(nodes)
    port = free_port()
    v1 = base_cfg(port, nodes)
    v2 = v1.replace("    use_backend ship if { hdr(upgrade) -i websocket }\n", "").split("backend ship")[0]
    p = proxy(v1, port)
    ws = Ws(port)
    try:
        assert ws.name() == "s1"
        with open(p.path, "w") as f:
            f.write(v2)
        mark = p.mark()
        os.kill(p.pid, signal.SIGHUP)
        p.wait_for_log(r"Reload complete: 1 connection", 5, since=mark)
        got, sha, sha_node, _ = ws.stream(20 * MB + 1, seed=3)
        assert got == 20 * MB + 1 and sha == sha_node == expected_sha(20 * MB + 1, 3)
        assert ws.name() == "s1"
    finally:
        ws.close()
    p.wait_for_log(r"fe ship/s1 .* 101 ", 5)
    assert all(http(port, "GET", "/x").status == 200 for _ in range(4))
    with open(p.path, "w") as f:
        f.write(v1)
    mark = p.mark()
    os.kill(p.pid, signal.SIGHUP)
    p.wait_for_log(r"Reload complete", 5, since=mark)
    ws = Ws(port)
    try:
        assert ws.name() == "s1"
    finally:
        ws.close()
    assert p.alive()


# ------------------------------------------------------------------ soft stop
def test_soft_stop_finishes_tunnel_and_slow_request(proxy, nodes, free_port):
    """SIGUSR1 with an open tunnel and an in-flight /slow request: listeners close, an idle keep-alive client is
    closed, the request and the tunnel run to their end, then waxlb exits 0."""
    start_nodes(nodes)
    port = free_port()
    p = proxy(base_cfg(port, nodes, glob="    hard-stop-after 20s\n", api_opts=""), port)
    idle = Conn(port)
    assert idle.request("GET", "/x").status == 200
    ws = Ws(port)
    out = {}
    try:
        t = threading.Thread(target=lambda: out.update(r=http(port, "GET", "/slow?ms=800", timeout=10)))
        t.start()
        assert wait_until(lambda: ("GET", "/slow") in nodes["a1"].log + nodes["a2"].log, 5)
        mark = p.mark()
        assert t.is_alive(), "the slow request must still be in flight at SIGUSR1"
        os.kill(p.pid, signal.SIGUSR1)
        p.wait_for_log(r"Stopping: finishing", 5, since=mark)
        assert wait_until(lambda: refused(port), 3), "still accepting after SIGUSR1"
        assert idle.is_closed(2), "an idle keep-alive client is kept open during soft stop"
        t.join(5)
        assert out["r"].status == 200 and json.loads(out["r"].body)["path"] == "/slow?ms=800"
        assert p.alive(), "exited with a tunnel open"
        # the tunnel still carries data both ways
        assert ws.name() == "s1"
        got, sha, sha_node, _ = ws.stream(8 * MB + 3, seed=5)
        assert got == 8 * MB + 3 and sha == sha_node == expected_sha(8 * MB + 3, 5)
        assert p.alive()
    finally:
        ws.close()
        idle.close()
    assert p.proc.wait(5) == 0
    assert not p.find_log(r"hard-stop-after expired")


def test_hard_stop_after_bounds_soft_stop(proxy, nodes, free_port):
    start_nodes(nodes)
    port = free_port()
    p = proxy(base_cfg(port, nodes, glob="    hard-stop-after 600ms\n", api_opts=""), port)
    ws = Ws(port)
    try:
        assert ws.name() == "s1"
        t = time.time()
        os.kill(p.pid, signal.SIGUSR1)
        rc = p.proc.wait(5)
        took = time.time() - t
        assert rc == 0
        assert 0.5 <= took < 3.0, took
        p.wait_for_log(r"hard-stop-after expired: closing 1 connection", 2)
        assert ws.is_closed(3)
    finally:
        ws.close()


# ------------------------------------------------------------------ init script under busybox ash
def init_env(tmp_path, variant, conf, pidfile):
    if not BUSYBOX:
        pytest.skip("busybox not installed")
    if variant == "busybox-applets":       # a BusyBox appliance: every tool is an applet link
        d = tmp_path / "bb"
        d.mkdir()
        subprocess.run([BUSYBOX, "--install", "-s", str(d)], check=True)
        path = str(d)
    elif variant == "busybox-only":        # no start-stop-daemon on PATH: the script calls busybox's applet
        d = tmp_path / "bbonly"
        d.mkdir()
        for tool in ("busybox", "rm", "sleep"):
            os.symlink(BUSYBOX, str(d / tool))
        path = str(d)
    else:                                  # Debian: /usr/sbin/start-stop-daemon
        path = "/usr/sbin:/usr/bin:/sbin:/bin"
    return {"PATH": path, "WAXLB_DEFAULTS": "", "WAXLB_BIN": os.path.join(REPO, "waxlb"),
            "WAXLB_CONF": str(conf), "WAXLB_PID": str(pidfile), "WAXLB_STOP_TIMEOUT": "5"}


def init(env, cmd, timeout=20):
    r = subprocess.run([BUSYBOX, "sh", INIT, cmd], env=env, capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return r.returncode, (r.stdout + r.stderr).decode()


def read_pid(path):
    with open(path) as f:
        return int(f.read().strip())


@pytest.mark.parametrize("variant", ["busybox-applets", "busybox-only", "debian-ssd"])
def test_init_script(nodes, free_port, tmp_path, variant, waxlb):
    assert os.access(INIT, os.X_OK), "waxlb.init must be executable"
    # ash parses it
    assert subprocess.run([BUSYBOX or "busybox", "sh", "-n", INIT]).returncode == 0
    nodes.api("a1")
    port = free_port()
    conf, pidfile = tmp_path / "waxlb.conf", tmp_path / "run" / "waxlb.pid"
    (tmp_path / "run").mkdir()
    good = ("global\n    maxconn 256\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n"
            "    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:%d\n%%s    default_backend api\n"
            "backend api\n    server a1 127.0.0.1:%d\n") % (port, nodes.port("a1"))
    v1, v2 = good % "", good % "    http-request deny if { path_beg /blocked }\n"
    bad = v2 + "    this_is_not_a_keyword\n"
    conf.write_text(v1)
    env = init_env(tmp_path, variant, conf, pidfile)
    pids = []
    try:
        # check
        rc, out = init(env, "check")
        assert rc == 0 and "Configuration file is valid" in out, out
        conf.write_text(bad)
        rc, out = init(env, "check")
        assert rc != 0 and "this_is_not_a_keyword" in out, out
        rc, out = init(env, "start")                         # refuses to start on a bad config
        assert rc != 0 and not pidfile.exists(), out
        conf.write_text(v1)
        rc, out = init(env, "status")
        assert rc == 3, out
        # start
        rc, out = init(env, "start")
        assert rc == 0, out
        pid = read_pid(pidfile)
        pids.append(pid)
        assert pid_alive(pid)
        with open("/proc/%d/comm" % pid) as f:
            assert f.read().strip() == "waxlb"
        assert http(port, "GET", "/x").node == "a1"           # answers as soon as start returns
        rc, out = init(env, "start")                         # already running: nothing
        assert rc == 0 and "already running" in out and read_pid(pidfile) == pid, out
        rc, out = init(env, "status")
        assert rc == 0 and str(pid) in out, out
        # reload
        assert http(port, "GET", "/blocked").status == 200
        conf.write_text(v2)
        rc, out = init(env, "reload")
        assert rc == 0, out
        assert wait_until(lambda: http(port, "GET", "/blocked").status == 403, 5), "reload not applied"
        conf.write_text(bad)
        rc, out = init(env, "reload")
        assert rc != 0 and "this_is_not_a_keyword" in out, out
        assert pid_alive(pid) and read_pid(pidfile) == pid
        assert http(port, "GET", "/blocked").status == 403 and http(port, "GET", "/x").status == 200
        rc, out = init(env, "restart")                       # a bad config does not take it down
        assert rc != 0 and pid_alive(pid), out
        conf.write_text(v1)
        rc, out = init(env, "restart")
        assert rc == 0, out
        assert not pid_alive(pid)
        pid = read_pid(pidfile)
        pids.append(pid)
        assert pid_alive(pid) and http(port, "GET", "/blocked").status == 200
        # stop
        rc, out = init(env, "stop")
        assert rc == 0, out
        assert not pid_alive(pid) and not pidfile.exists()
        assert refused(port)
        rc, out = init(env, "status")
        assert rc == 3, out
        rc, out = init(env, "stop")                          # stopping a stopped service is fine
        assert rc == 0, out
        rc, out = init(env, "reload")
        assert rc == 7, out
        # stale pidfiles: a dead pid, then a live process that is not waxlb
        dead = subprocess.Popen(["true"])
        dead.wait()
        pidfile.write_text("%d\n" % dead.pid)
        rc, out = init(env, "status")
        assert rc == 3 and "stale" in out, out
        pidfile.write_text("%d\n" % dead.pid)
        rc, out = init(env, "start")
        assert rc == 0, out
        pid = read_pid(pidfile)
        pids.append(pid)
        assert pid != dead.pid and pid_alive(pid) and http(port, "GET", "/x").status == 200
        rc, out = init(env, "stop")
        assert rc == 0 and not pid_alive(pid), out
        other = subprocess.Popen(["sleep", "30"])
        try:
            pidfile.write_text("%d\n" % other.pid)
            rc, out = init(env, "status")
            assert rc == 3, out
            rc, out = init(env, "stop")
            assert rc == 0 and other.poll() is None, "stop killed a process that is not waxlb: " + out
            pidfile.write_text("%d\n" % other.pid)
            rc, out = init(env, "start")
            assert rc == 0, out
            pid = read_pid(pidfile)
            pids.append(pid)
            assert pid != other.pid and pid_alive(pid)
            rc, out = init(env, "stop")
            assert rc == 0 and not pid_alive(pid) and other.poll() is None, out
        finally:
            other.kill()
            other.wait()
        # a pidfile that cannot be written: start fails, nothing is left running
        env2 = dict(env, WAXLB_PID=str(tmp_path / "missing-dir" / "waxlb.pid"))
        rc, out = init(env2, "start")
        assert rc != 0 and "cannot write pidfile" in out, out
        assert refused(port)
        rc, out = init(env, "bogus")
        assert rc == 2 and "usage" in out
    finally:
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


# ------------------------------------------------------------------ runtime API
def api_setup(proxy, nodes, free_port, tmp_path, api=("a1", "a2", "a3"), ship=("s1", "s2"), stimeout="5s"):
    start_nodes(nodes, api=api, ship=ship)
    port = free_port()
    socks = {lvl: str(tmp_path / ("%s.sock" % lvl)) for lvl in ("admin", "operator", "user")}
    glob = ("    stats socket %s mode 600 level admin\n    stats socket %s\n    stats socket %s level user\n"
            "    stats timeout %s\n") % (socks["admin"], socks["operator"], socks["user"], stimeout)
    p = proxy(base_cfg(port, nodes, api=api, ship=ship, glob=glob), port)
    for path in socks.values():
        wait_sock(path)
    return p, port, socks


HELP_CMDS = ["help", "show info", "show stat", "show servers state", "disable server", "enable server",
             "set server <bk>/<srv> state", "set server <bk>/<srv> weight", "shutdown sessions server",
             "enable health", "disable health"]


def test_runtime_api_show_commands(proxy, nodes, free_port, tmp_path):
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path)
    assert oct(os.stat(socks["admin"]).st_mode & 0o777) == "0o600"
    for lvl, s in socks.items():
        h = api_cmd(s, "help")
        for c in HELP_CMDS:
            assert c in h, (lvl, c, h)
    info = dict(l.split(": ", 1) for l in api_cmd(socks["user"], "show info").splitlines() if ": " in l)
    assert info["Name"] == "waxlb" and int(info["Pid"]) == p.pid
    assert int(info["CurrConns"]) == 0 and "Uptime_sec" in info
    http(port, "GET", "/x")
    hdr, rows = stat_rows(socks["operator"])
    assert list(rows) == [("fe", "FRONTEND"), ("api", "a1"), ("api", "a2"), ("api", "a3"), ("api", "BACKEND"),
                          ("ship", "s1"), ("ship", "s2"), ("ship", "BACKEND")]
    assert all(rows[("api", s)]["status"] == "UP" for s in ("a1", "a2", "a3"))
    assert rows[("api", "BACKEND")]["act"] == "3" and rows[("api", "BACKEND")]["weight"] == "3"
    assert rows[("fe", "FRONTEND")]["status"] == "OPEN" and int(rows[("fe", "FRONTEND")]["stot"]) >= 1
    assert sum(int(rows[("api", s)]["stot"]) for s in ("a1", "a2", "a3")) == 1
    assert sum(int(rows[("api", s)]["bout"]) for s in ("a1", "a2", "a3")) > 0
    assert int(rows[("api", "a1")]["pid"]) == p.pid
    assert [rows[k]["type"] for k in rows] == ["0", "2", "2", "2", "1", "2", "2", "1"]
    st = api_cmd(socks["user"], "show servers state").splitlines()
    assert st[0] == "1" and st[1].startswith("# be_id be_name srv_id srv_name srv_addr srv_op_state")
    body = [l.split() for l in st[2:] if l.strip()]
    assert [(r[1], r[3]) for r in body] == [("api", "a1"), ("api", "a2"), ("api", "a3"), ("ship", "s1"),
                                             ("ship", "s2")]
    assert all(r[4] == "127.0.0.1" and r[5] == "2" and r[6] == "0" for r in body)
    assert int(body[0][18]) == nodes.port("a1")
    only = [l for l in api_cmd(socks["user"], "show servers state ship").splitlines()[2:] if l.strip()]
    assert [l.split()[3] for l in only] == ["s1", "s2"]
    # several commands on one line
    both = api_cmd(socks["user"], "show info;show servers state api")
    assert both.startswith("Name: waxlb") and "\n1\n# be_id" in both and " a3 " in both and " s1 " not in both
    # unknown commands and bad arguments
    unk = api_cmd(socks["admin"], "show nothing")
    assert unk.startswith("Unknown command. Please enter one of the following commands only :") and "show stat" in unk
    assert api_cmd(socks["admin"], "disable server api").strip() == "Require 'backend/server'."
    assert api_cmd(socks["admin"], "disable server nope/a1").strip() == "No such backend."
    assert api_cmd(socks["admin"], "disable server api/nope").strip() == "No such server."
    assert "expects 'ready', 'drain' and 'maint'" in api_cmd(socks["admin"], "set server api/a1 state sleepy")
    assert api_cmd(socks["admin"], "set server api/a1 weight 999").strip() == "Invalid weight."
    assert api_cmd(socks["admin"], "set server api/a1 weight 101%").strip() == "Invalid weight."
    assert srv_status(socks["admin"], "api", "a1") == "UP"


def test_runtime_api_stats_timeout(proxy, nodes, free_port, tmp_path):
    """An idle runtime API client (nothing sent, or half a line) is closed after "stats timeout"."""
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path, api=("a1",), ship=("s1",), stimeout="300ms")
    for data in (b"", b"show in"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(socks["user"])
        s.settimeout(5)
        t = time.time()
        if data:
            s.sendall(data)
        assert s.recv(100) == b""
        assert 0.25 <= time.time() - t < 2.5, time.time() - t
        s.close()
    assert api_cmd(socks["user"], "show info").startswith("Name: waxlb")


def test_runtime_api_levels(proxy, nodes, free_port, tmp_path):
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path)
    changes = ["disable server api/a1", "enable server api/a1", "set server api/a1 state maint",
               "set server api/a1 weight 0", "shutdown sessions server api/a1", "disable health api/a1",
               "enable health api/a1"]
    for lvl in ("user", "operator"):
        for c in changes:
            assert api_cmd(socks[lvl], c).strip() == "Permission denied", (lvl, c)
        assert api_cmd(socks[lvl], "show stat").startswith("# pxname")
    assert counts(nodes_seen(port, 6)) == {"a1": 2, "a2": 2, "a3": 2}
    assert srv_status(socks["admin"], "api", "a1") == "UP"
    # admin may
    mark = p.mark()
    assert api_cmd(socks["admin"], "disable server api/a1").strip() == ""
    p.wait_for_log(r"Server api/a1.*maintenance", 3, since=mark)
    assert srv_status(socks["user"], "api", "a1") == "MAINT"
    assert "a1" not in nodes_seen(port, 12)
    assert api_cmd(socks["admin"], "enable server api/a1").strip() == ""
    assert srv_status(socks["user"], "api", "a1") == "UP"
    assert "a1" in nodes_seen(port, 6)
    api_cmd(socks["admin"], "set server api/a2 state maint")
    assert srv_status(socks["user"], "api", "a2") == "MAINT"
    assert "a2" not in nodes_seen(port, 12)
    st = [l.split() for l in api_cmd(socks["user"], "show servers state api").splitlines()[2:] if l.strip()]
    assert [int(r[6]) & 1 for r in st] == [0, 1, 0]       # srv_admin_state: forced maintenance on a2
    api_cmd(socks["admin"], "set server api/a2 state ready")
    assert srv_status(socks["user"], "api", "a2") == "UP"
    assert "a2" in nodes_seen(port, 6)


# (level, command): answered as Debian's haproxy answers them, byte for byte
SET_SERVER_ANSWERS = [(lvl, c) for lvl in ("user", "operator") for c in (
    "set server api/a1 bogus x", "set server api/a1 bogus", "set server api/a1", "set server api/a1 weight",
    "set server api/zz bogus x", "set server nosuch/a1 bogus x", "set server api/a1 state bogus")] + [
    ("admin", c) for c in ("set server api/a1 state bogus", "set server api/a1 state", "set server api/a1 weight",
                           "set server api/zz state ready", "set server nosuch/a1 state ready")]


def test_runtime_api_set_server_answers_as_haproxy(proxy, nodes, free_port, tmp_path, haproxy):
    """`set server` below level admin is "Permission denied" whatever follows (HAProxy's cli_parse_set_server
    checks the level first; waxlb answered "Unknown command" to a sub-command it lacks, or too few words).
    At admin level, the server is looked up before the sub-command, and a missing weight or state is named."""
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path)
    hport = free_port()
    hsocks = {lvl: str(tmp_path / ("ha-%s.sock" % lvl)) for lvl in socks}
    cfg = open(p.path).read().replace("127.0.0.1:%d\n" % port, "127.0.0.1:%d\n" % hport)
    for lvl in socks:
        cfg = cfg.replace(socks[lvl], hsocks[lvl])
    ha = haproxy_stat(haproxy, cfg, hport, tmp_path)
    try:
        for path in hsocks.values():
            wait_sock(path)
        for lvl, c in SET_SERVER_ANSWERS:
            assert api_cmd(socks[lvl], c) == api_cmd(hsocks[lvl], c), (lvl, c)
        assert api_cmd(socks["operator"], "set server api/a1 bogus") == "Permission denied\n\n"
    finally:
        ha.terminate()
        ha.wait(5)
    assert srv_status(socks["user"], "api", "a1") == "UP"


def test_runtime_api_drain_keeps_tunnel(proxy, nodes, free_port, tmp_path):
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path)
    t1 = Ws(port)
    others = []
    try:
        first = t1.name()
        other = {"s1": "s2", "s2": "s1"}[first]
        assert api_cmd(socks["admin"], "set server ship/%s state drain" % first).strip() == ""
        assert srv_status(socks["user"], "ship", first) == "DRAIN"
        # no new websocket goes to the draining server
        for _ in range(6):
            w = Ws(port)
            others.append(w)
            assert w.name() == other
        # the tunnel through it continues, both ways
        assert t1.name() == first
        got, sha, sha_node, _ = t1.stream(6 * MB + 11, seed=9)
        assert got == 6 * MB + 11 and sha == sha_node == expected_sha(6 * MB + 11, 9)
        rows = stat_rows(socks["user"])[1]
        assert rows[("ship", first)]["scur"] == "1" and rows[("ship", other)]["scur"] == "6"
        # shutdown sessions ends it
        assert api_cmd(socks["admin"], "shutdown sessions server ship/%s" % first).strip() == ""
        assert t1.is_closed(3), "shutdown sessions left the tunnel open"
        assert others[0].name() == other                   # the other server's sessions are untouched
        assert wait_until(lambda: stat_rows(socks["user"])[1][("ship", first)]["scur"] == "0", 3)
        api_cmd(socks["admin"], "set server ship/%s state ready" % first)
        assert srv_status(socks["user"], "ship", first) == "UP"
        w = Ws(port)
        others.append(w)
        names = [w.name()]
        w2 = Ws(port)
        others.append(w2)
        names.append(w2.name())
        assert first in names
    finally:
        t1.close()
        for w in others:
            w.close()


def test_runtime_api_weight_roundrobin(proxy, nodes, free_port, tmp_path):
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path)
    assert counts(nodes_seen(port, 9)) == {"a1": 3, "a2": 3, "a3": 3}
    assert api_cmd(socks["admin"], "set server api/a1 weight 3").strip() == ""
    hdr, rows = stat_rows(socks["user"])
    assert rows[("api", "a1")]["weight"] == "3" and rows[("api", "BACKEND")]["weight"] == "5"
    c = counts(nodes_seen(port, 40))
    assert abs(c["a1"] - 24) <= 2 and abs(c["a2"] - 8) <= 1 and abs(c["a3"] - 8) <= 1, c
    assert api_cmd(socks["admin"], "set server api/a1 weight 0").strip() == ""
    assert "a1" not in nodes_seen(port, 10)
    assert api_cmd(socks["admin"], "set server api/a1 weight 100%").strip() == ""
    assert srv_status(socks["user"], "api", "a1") == "UP"
    st = [l.split() for l in api_cmd(socks["user"], "show servers state api").splitlines()[2:] if l.strip()]
    assert (st[0][3], st[0][7], st[0][8]) == ("a1", "1", "1")   # srv_uweight back to the configured 1
    c = counts(nodes_seen(port, 30))
    assert all(9 <= c.get(n, 0) <= 11 for n in ("a1", "a2", "a3")), c


def test_runtime_api_health_toggle(proxy, nodes, free_port, tmp_path):
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path)
    assert wait_until(lambda: stat_rows(socks["user"])[1][("api", "a3")]["check_status"] == "L4OK", 3)
    assert api_cmd(socks["admin"], "disable health api/a3").strip() == ""
    mark = p.mark()
    nodes.stop("a3")
    # checks off: a3 is not seen failing (5 check intervals), it stays UP
    time.sleep(1.0)
    assert not p.find_log(r"Server api/a3 is DOWN", since=mark)
    assert srv_status(socks["user"], "api", "a3") == "UP"
    assert api_cmd(socks["admin"], "enable health api/a3").strip() == ""
    p.wait_for_log(r"Server api/a3 is DOWN", 5, since=mark)
    assert srv_status(socks["user"], "api", "a3") == "DOWN"
    nodes.restart("a3")
    p.wait_for_log(r"Server api/a3 is UP", 5, since=mark)


def haproxy_stat(haproxy, cfg, port, tmp_path):
    path = str(tmp_path / "ha.cfg")
    with open(path, "w") as f:
        f.write(cfg)
    proc = subprocess.Popen([haproxy, "-db", "-f", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_port(port, 10, proc), proc.stdout.read().decode() if proc.poll() is not None else ""
        return proc
    except Exception:
        proc.kill()
        raise


def test_show_stat_header_matches_haproxy(proxy, nodes, free_port, tmp_path, haproxy):
    """`show stat` header: waxlb's columns are HAProxy 2.6's first columns, in order; rows for the same config
    name the same proxies and servers, with the same status/weight/act/bck/check values."""
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path)
    hport, hsock = free_port(), str(tmp_path / "ha.sock")
    cfg = open(p.path).read().replace(socks["admin"], hsock).replace("127.0.0.1:%d\n" % port,
                                                                      "127.0.0.1:%d\n" % hport)
    cfg = "\n".join(l for l in cfg.splitlines() if socks["operator"] not in l and socks["user"] not in l) + "\n"
    ha = haproxy_stat(haproxy, cfg, hport, tmp_path)
    try:
        wait_sock(hsock)
        def ready(s):
            r = stat_rows(s)[1]
            return all(r[k]["check_status"] == "L4OK" for k in r if k[1] not in ("FRONTEND", "BACKEND"))
        assert wait_until(lambda: ready(socks["admin"]) and ready(hsock), 5)
        wh, wr = stat_rows(socks["admin"])
        hh, hr = stat_rows(hsock)
        assert len(wh) >= 30
        assert wh[:30] == ["pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout",
                           "dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act",
                           "bck", "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid", "sid",
                           "throttle"]
        names = wh[:-1] if wh[-1] == "" else wh          # the line ends with a comma, as HAProxy's
        assert names[-4:] == ["addr", "cookie", "mode", "algo"]
        assert hh[:len(names)] == names, "waxlb's header is not a prefix of HAProxy's:\n%s\n%s" % (wh, hh)
        assert list(wr) == list(hr)
        for k in wr:
            for col in ("qcur", "scur", "status", "weight", "act", "bck", "chkfail", "type", "check_status"):
                assert wr[k][col] == hr[k][col], (k, col, wr[k][col], hr[k][col])
    finally:
        ha.terminate()
        ha.wait(5)


def test_show_stat_rows_align_with_header(proxy, nodes, free_port, tmp_path):
    """Every `show stat` row has the header's fields (found: server rows had one extra before check_desc, FRONTEND
    rows one and BACKEND rows two too few, shifting check_rise/fall, addr, cookie, mode and algo)."""
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path)
    text = api_cmd(socks["user"], "show stat")
    rows = [r for r in csv.reader(io.StringIO(text[2:].strip())) if r]
    assert [len(r) for r in rows[1:]] == [len(rows[0])] * (len(rows) - 1), [len(r) for r in rows]
    hdr, d = stat_rows(socks["user"])
    a1, be, fe = d[("api", "a1")], d[("api", "BACKEND")], d[("fe", "FRONTEND")]
    assert (a1["check_rise"], a1["check_fall"]) == ("2", "3")
    assert a1["addr"] == "127.0.0.1:%d" % nodes.port("a1") and a1["cookie"] == ""
    assert a1["mode"] == be["mode"] == fe["mode"] == "http"
    assert be["algo"] == "roundrobin"


def stat_after_one_request(sock, port, be, sv):
    r = http(port, "POST", "/x", body=b"z" * 1000)
    assert r.status == 200 and r.node == sv
    return stat_rows(sock)[1][(be, sv)]


def test_show_stat_bin_counts_http_requests(proxy, nodes, free_port, tmp_path):
    """bin counts what clients send in HTTP mode too (found: only tunnels added to it, so bin, the page's bytes in
    and haproxy_server_bytes_in_total stayed 0 for API traffic)."""
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path, api=("a1",))
    row = stat_after_one_request(socks["user"], port, "api", "a1")
    assert int(row["bout"]) > 0
    assert int(row["bin"]) >= 1000, "bin %s after a request with a 1000-byte body" % row["bin"]


def test_show_stat_slim_empty_without_maxconn(proxy, nodes, free_port, tmp_path):
    """slim is empty for a server without maxconn, as in HAProxy (found: 0, which reads as 'limit 0')."""
    p, port, socks = api_setup(proxy, nodes, free_port, tmp_path, api=("a1",))
    assert stat_rows(socks["user"])[1][("api", "a1")]["slim"] == ""


# ------------------------------------------------------------------ status page, CSV, Prometheus
class DomRows(html.parser.HTMLParser):
    """Collects the backend tables and server rows of the status page."""

    def __init__(self):
        super().__init__()
        self.tables, self.rows, self.meta = [], [], []
        self._row, self._cell, self._backend = None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "backend" in (a.get("class") or "").split():
            self._backend = a.get("data-backend")
            self.tables.append(self._backend)
        elif tag == "tr" and a.get("data-server"):
            self._row = {"backend": self._backend, "server": a["data-server"], "class": a.get("class"), "cells": []}
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "meta":
            self.meta.append(a)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None


def chromium(tmp_path, *args, timeout=60):
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium not installed")
    udd = tmp_path / ("chromium-%d" % len(os.listdir(str(tmp_path))))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--user-data-dir=" + str(udd), "--window-size=1200,900"] + list(args)
    return subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$')
PROM_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse_prometheus(text):
    """Prometheus text format 0.0.4 -> ({name: type}, {(name, frozenset(labels)): value}). Strict: every sample
    is preceded by its TYPE, HELP/TYPE appear once per name, labels and values are well formed, no duplicates."""
    types, helps, samples = {}, set(), {}
    for ln in text.splitlines():
        if not ln.strip():
            continue
        if ln.startswith("#"):
            parts = ln.split(None, 3)
            if len(parts) >= 3 and parts[1] == "HELP":
                assert parts[2] not in helps, "HELP twice: " + ln
                helps.add(parts[2])
            elif len(parts) >= 4 and parts[1] == "TYPE":
                assert parts[2] not in types, "TYPE twice: " + ln
                assert parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), ln
                types[parts[2]] = parts[3]
            continue
        m = PROM_LINE.match(ln)
        assert m, "bad sample line %r" % ln
        name, lab, val = m.group(1), m.group(2), m.group(3)
        assert name in types, "sample before its TYPE: %r" % ln
        labels = {}
        if lab:
            pos = 0
            while pos < len(lab):
                lm = PROM_LABEL.match(lab, pos)
                assert lm and lm.end() > pos, "bad labels in %r" % ln
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        key = (name, frozenset(labels.items()))
        assert key not in samples, "duplicate sample %r" % ln
        samples[key] = float(val)
    return types, samples


def prom_get(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def stats_setup(proxy, nodes, free_port, tmp_path):
    start_nodes(nodes, api=("a1", "a2", "a3"), ship=("s1",))
    port, sport = free_port(), free_port()
    fe = ("    stats enable\n    stats uri /stats\n    stats auth admin:s3cret\n    stats refresh 7s\n"
          "    http-request use-service prometheus-exporter if { path /metrics }\n")
    extra = ("frontend statsonly\n    bind 127.0.0.1:%d\n    stats enable\n    stats uri /\n"
             "    stats prometheus-uri /prom\n") % sport
    cfg = base_cfg(port, nodes, api=("a1", "a2", "a3"), fe=fe, extra=extra,
                   api_opts="check inter 200 fall 1 rise 1")
    p = proxy(cfg, port)
    return p, port, sport


def test_status_page_chromium(proxy, nodes, free_port, tmp_path):
    p, port, sport = stats_setup(proxy, nodes, free_port, tmp_path)
    mark = p.mark()
    nodes.stop("a3")
    p.wait_for_log(r"Server api/a3 is DOWN", 5, since=mark)
    for _ in range(4):
        http(port, "GET", "/x")
    ws = Ws(port)
    try:
        url = "http://127.0.0.1:%d/" % sport
        png = artifact("status.png")
        if os.path.exists(png):
            os.unlink(png)
        r = chromium(tmp_path, "--screenshot=" + png, url)
        assert r.returncode == 0 and os.path.exists(png), r.stderr.decode()[-2000:]
        with open(png, "rb") as f:
            head = f.read(32)
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", head[16:24]) == (1200, 900)
        assert os.path.getsize(png) > 5000
        r = chromium(tmp_path, "--dump-dom", url)
        assert r.returncode == 0, r.stderr.decode()[-2000:]
        dom = r.stdout.decode()
        with open(artifact("status.html"), "w") as f:
            f.write(dom)
    finally:
        ws.close()
    d = DomRows()
    d.feed(dom)
    assert d.tables == ["api", "ship"]
    rows = {(r["backend"], r["server"]): r for r in d.rows}
    assert set(rows) == {("api", "a1"), ("api", "a2"), ("api", "a3"), ("ship", "s1")}
    assert rows[("api", "a3")]["class"] == "down" and rows[("api", "a3")]["cells"][1] == "DOWN"
    assert "Connection refused" in rows[("api", "a3")]["cells"][9] or "Layer4" in rows[("api", "a3")]["cells"][9]
    for k in (("api", "a1"), ("api", "a2"), ("ship", "s1")):
        assert rows[k]["class"] == "up" and rows[k]["cells"][1] == "UP", rows[k]
    # cells: server status weight cur max total queue bytes-in bytes-out last-check check-ms head lag since
    assert rows[("api", "a1")]["cells"][5] == "2" and rows[("api", "a2")]["cells"][5] == "2"
    assert rows[("ship", "s1")]["cells"][3] == "1"          # the open tunnel
    assert not any(m.get("http-equiv") == "refresh" for m in d.meta)   # no "stats refresh" on this frontend


def test_status_page_auth_csv_refresh(proxy, nodes, free_port, tmp_path):
    import base64
    p, port, sport = stats_setup(proxy, nodes, free_port, tmp_path)
    r = http(port, "GET", "/stats")
    assert r.status == 401 and r.header("www-authenticate", "").startswith("Basic realm=")
    bad = "Authorization: Basic " + base64.b64encode(b"admin:wrong").decode()
    assert http(port, "GET", "/stats", headers=[bad]).status == 401
    good = "Authorization: Basic " + base64.b64encode(b"admin:s3cret").decode()
    r = http(port, "GET", "/stats", headers=[good])
    assert r.status == 200 and r.header("content-type").startswith("text/html")
    page = r.body.decode()
    assert '<meta http-equiv="refresh" content="7">' in page
    assert '<table class="backend" data-backend="api">' in page
    assert http(port, "GET", "/stats;csv").status == 401
    r = http(port, "GET", "/stats;csv", headers=[good])
    assert r.status == 200 and r.header("content-type").startswith("text/plain")
    rows = list(csv.reader(io.StringIO(r.body.decode()[2:])))
    assert rows[0][:10] == ["pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout"]
    names = [(x[0], x[1]) for x in rows[1:] if x]
    assert ("api", "a3") in names and ("statsonly", "FRONTEND") in names
    # the status page is answered by waxlb: no server saw those requests
    assert not any(path.startswith("/stats") for n in ("a1", "a2", "a3") for _, path in nodes[n].log)


def test_prometheus_metrics(proxy, nodes, free_port, tmp_path):
    p, port, sport = stats_setup(proxy, nodes, free_port, tmp_path)
    mark = p.mark()
    nodes.stop("a3")
    p.wait_for_log(r"Server api/a3 is DOWN", 5, since=mark)
    for _ in range(4):
        assert http(port, "GET", "/x").status == 200
    ws = Ws(port)
    try:
        r = http(port, "GET", "/metrics")
        assert r.status == 200 and r.header("content-type").startswith("text/plain")
        types, s = parse_prometheus(r.body.decode())
        # the waxlb spelling on another frontend gives the same series
        t2, s2 = parse_prometheus(http(sport, "GET", "/prom").body.decode())
        assert set(t2) == set(types)
    finally:
        ws.close()
    expect = {
        "haproxy_process_current_connections": "gauge", "haproxy_process_max_connections": "gauge",
        "haproxy_process_connections_total": "counter", "haproxy_process_start_time_seconds": "gauge",
        "haproxy_frontend_current_sessions": "gauge", "haproxy_frontend_sessions_total": "counter",
        "haproxy_backend_status": "gauge", "haproxy_backend_active_servers": "gauge",
        "haproxy_backend_current_queue": "gauge", "haproxy_backend_current_sessions": "gauge",
        "haproxy_server_status": "gauge", "haproxy_server_current_sessions": "gauge",
        "haproxy_server_max_sessions": "gauge", "haproxy_server_sessions_total": "counter",
        "haproxy_server_bytes_in_total": "counter", "haproxy_server_bytes_out_total": "counter",
        "haproxy_server_weight": "gauge", "haproxy_server_check_failures_total": "counter",
        "haproxy_server_check_duration_seconds": "gauge", "waxlb_server_chain_head": "gauge",
        "waxlb_server_chain_lag_blocks": "gauge"}
    for name, typ in expect.items():
        assert types.get(name) == typ, (name, types.get(name))
    for sv in ("a1", "a2"):
        assert prom_get(s, "haproxy_server_status", proxy="api", server=sv, state="UP") == 1
        assert prom_get(s, "haproxy_server_status", proxy="api", server=sv, state="DOWN") == 0
        assert prom_get(s, "haproxy_server_sessions_total", proxy="api", server=sv) == 2
        assert prom_get(s, "haproxy_server_bytes_out_total", proxy="api", server=sv) > 0
        assert prom_get(s, "haproxy_server_bytes_in_total", proxy="api", server=sv) > 0   # the requests
        assert prom_get(s, "haproxy_server_weight", proxy="api", server=sv) == 1
        assert prom_get(s, "haproxy_server_check_failures_total", proxy="api", server=sv) == 0
    assert prom_get(s, "haproxy_server_status", proxy="api", server="a3", state="DOWN") == 1
    assert prom_get(s, "haproxy_server_status", proxy="api", server="a3", state="UP") == 0
    assert sum(v for (n, l), v in s.items() if n == "haproxy_server_status" and ("server", "a3") in l) == 1
    assert prom_get(s, "haproxy_server_check_failures_total", proxy="api", server="a3") >= 1
    assert prom_get(s, "haproxy_backend_status", proxy="api", state="UP") == 1   # HAProxy: per state
    assert prom_get(s, "haproxy_backend_status", proxy="api", state="DOWN") == 0
    assert prom_get(s, "haproxy_backend_active_servers", proxy="api") == 2
    assert prom_get(s, "haproxy_backend_active_servers", proxy="ship") == 1
    assert prom_get(s, "haproxy_backend_current_queue", proxy="api") == 0
    # the open tunnel
    assert prom_get(s, "haproxy_server_current_sessions", proxy="ship", server="s1") == 1
    assert prom_get(s, "haproxy_backend_current_sessions", proxy="ship") == 1
    assert prom_get(s, "haproxy_server_max_sessions", proxy="ship", server="s1") == 1
    assert prom_get(s, "haproxy_server_bytes_out_total", proxy="ship", server="s1") > 25000   # ABI at least
    assert prom_get(s, "haproxy_server_current_sessions", proxy="api", server="a1") == 0
    assert prom_get(s, "haproxy_frontend_current_sessions", proxy="fe") >= 2   # the tunnel and the scrape
    assert prom_get(s, "haproxy_frontend_sessions_total", proxy="fe") >= 6
    assert prom_get(s, "haproxy_process_current_connections") >= 2
    assert prom_get(s, "haproxy_process_max_connections") == 4096
    assert abs(prom_get(s, "haproxy_process_start_time_seconds") - time.time()) < 60
    assert 0 <= prom_get(s, "haproxy_server_check_duration_seconds", proxy="api", server="a1") < 1
    assert prom_get(s, "waxlb_server_chain_head", proxy="api", server="a1") == 0   # TCP checks read no chain
    # after the tunnel closed
    def cur():
        _, x = parse_prometheus(http(sport, "GET", "/prom").body.decode())
        return prom_get(x, "haproxy_server_current_sessions", proxy="ship", server="s1") == 0 and x
    s3 = wait_until(cur, 3)
    assert s3, "current sessions still counted after the tunnel closed"
    assert prom_get(s3, "haproxy_server_sessions_total", proxy="ship", server="s1") == 1


# ------------------------------------------------------------------ syslog, stdout, stderr
class Syslog:
    def __init__(self, kind="udp", path=None):
        if kind == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(path)
            self.addr = path
        self.sock.settimeout(0.1)
        self.msgs = []

    def _drain(self):
        while True:
            try:
                self.msgs.append(self.sock.recv(65536))
            except (socket.timeout, BlockingIOError):
                return

    def wait(self, regex, timeout=5.0):
        rx = re.compile(regex.encode() if isinstance(regex, str) else regex)
        end = time.time() + timeout
        i = 0
        while True:
            self._drain()
            for m in self.msgs[i:]:
                if rx.search(m):
                    return m
            i = len(self.msgs)
            if time.time() > end:
                raise AssertionError("no syslog message matching %r; got %r" % (regex, self.msgs[-10:]))

    def find(self, regex):
        self._drain()
        rx = re.compile(regex.encode() if isinstance(regex, str) else regex)
        return [m for m in self.msgs if rx.search(m)]

    def close(self):
        self.sock.close()


def wait_file(path, regex, timeout=5.0):
    rx = re.compile(regex)
    end = time.time() + timeout
    while True:
        with open(path, errors="replace") as f:
            for ln in f:
                if rx.search(ln):
                    return ln
        if time.time() > end:
            with open(path, errors="replace") as f:
                raise AssertionError("no line matching %r in %s:\n%s" % (regex, path, f.read()[-3000:]))
        time.sleep(0.02)


RFC3164 = r"^<%d>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d waxlb\[%d\]: "


def test_syslog_stdout_stderr(nodes, free_port, tmp_path, waxlb):
    start_nodes(nodes, api=("a1", "a2"))
    udp, udp_warn = Syslog(), Syslog()
    unix = Syslog("unix", str(tmp_path / "log.sock"))
    ports = {k: free_port() for k in ("glob", "out", "err", "none")}
    backend = "".join("    server %s 127.0.0.1:%d check inter 200 fall 1 rise 1\n" % (n, nodes.port(n))
                      for n in ("a1", "a2"))
    cfg = ("global\n    log %s local0\n    log %s len 100 local0 warning\n    log %s local3 info\n"
           "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
           "frontend glob\n    bind 127.0.0.1:%d\n    log global\n    option httplog\n    default_backend api\n"
           "frontend out\n    bind 127.0.0.1:%d\n    log stdout local1\n    option httplog\n    default_backend api\n"
           "frontend err\n    bind 127.0.0.1:%d\n    log stderr local2\n    default_backend api\n"
           "frontend none\n    bind 127.0.0.1:%d\n    default_backend api\n"
           "backend api\n    balance first\n%s") % (udp.addr, udp_warn.addr, unix.addr, ports["glob"], ports["out"],
                                                    ports["err"], ports["none"], backend)
    cfgp = tmp_path / "log.cfg"
    cfgp.write_text(cfg)
    outp, errp = str(tmp_path / "stdout"), str(tmp_path / "stderr")
    with open(outp, "w") as fo, open(errp, "w") as fe:
        proc = subprocess.Popen([waxlb, "-f", str(cfgp)], stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
    try:
        for pt in ports.values():
            assert wait_port(pt, 10, proc)
        pid = proc.pid
        udp.wait(RFC3164 % (133, pid) + r"waxlb \S+ started \(pid %d" % pid)   # notice: local0*8+5
        # a request on a "log global" frontend: info (6) on local0 -> <134>
        assert http(ports["glob"], "GET", "/syslog-probe").status == 200
        m = udp.wait(r"/syslog-probe")
        assert re.match((RFC3164 % (134, pid)).encode() + rb"127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] "
                        rb"glob api/a1 \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- [\d/]+ [\d/]+ "
                        rb"\"GET /syslog-probe HTTP/1\.1\"$", m), m
        um = unix.wait(r"/syslog-probe")
        assert re.match((RFC3164 % (158, pid)).encode(), um), um                     # local3.info: 19*8+6
        # the other frontends
        assert http(ports["out"], "GET", "/stdout-probe").status == 200
        assert http(ports["err"], "GET", "/stderr-probe").status == 200
        assert http(ports["none"], "GET", "/none-probe").status == 200
        ln = wait_file(outp, r"/stdout-probe")      # RFC 3164 framing on stdout too, as HAProxy: local1.info
        assert re.match((RFC3164 % (142, pid)) + r"127\.0\.0\.1:\d+ \[[^\]]+\] out api/a1 .* 200 .*"
                        r"\"GET /stdout-probe HTTP/1\.1\"$", ln), ln
        # a frontend that logs without a format: HAProxy's line at accept
        ln = wait_file(errp, (RFC3164 % (150, pid)) + r"Connect from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:%d "
                       r"\(err/HTTP\)$" % ports["err"])
        wait_file(errp, r"\] none api/a1 .*/none-probe")          # no log target: stderr
        # (lines are written in order, once per loop turn: anything misrouted would be there by now)
        stdout_text, stderr_text = open(outp).read(), open(errp).read()
        assert "syslog-probe" not in stderr_text and "syslog-probe" not in stdout_text   # syslog only
        assert "stdout-probe" not in stderr_text and "stderr-probe" not in stdout_text
        assert not udp.find(r"stdout-probe|stderr-probe|none-probe")   # those frontends have no "log global"
        assert not udp_warn.find(r"probe")                              # info is above "warning"
        # a server going DOWN: alert (1) -> <129>, also on the "warning" target, cut at 100 bytes there
        nodes.stop("a2")
        m = udp.wait(RFC3164 % (129, pid) + r"Server api/a2 is DOWN, reason: Layer4")
        w = udp_warn.wait(RFC3164 % (129, pid) + r"Server api/a2 is DOWN")
        assert len(w) <= 100 and len(m) > 100, (len(w), len(m))
        nodes.stop("a1")
        udp.wait(RFC3164 % (129, pid) + r"backend 'api' has no server available!")
        nodes.restart("a1")
        udp.wait(RFC3164 % (133, pid) + r"Server api/a1 is UP")                  # notice: <133>
        assert not udp_warn.find(r"is UP")
        wait_file(errp, r"\[WARNING\] +\(%d\) : Server api/a2 is DOWN" % pid)  # and HAProxy's line on stderr
    finally:
        proc.terminate()
        proc.wait(5)
        for s in (udp, udp_warn, unix):
            s.close()


def test_db_overrides_daemon(waxlb, tmp_path, free_port):
    """`-db` keeps waxlb in the foreground even with `daemon` in global, as HAProxy's -db does (the guides'
    configs say `daemon` and operators run them under systemd or a test harness with -db)."""
    port = free_port()
    cfgp = tmp_path / "d.cfg"
    cfgp.write_text("global\n    daemon\ndefaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n"
                    "    timeout connect 1s\nfrontend f\n    bind 127.0.0.1:%d\n    default_backend b\n"
                    "backend b\n    server s 127.0.0.1:1\n" % port)
    proc = subprocess.Popen([waxlb, "-db", "-f", str(cfgp)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_port(port, 10, proc)
        assert proc.poll() is None          # the listening process is the one started: no fork
        pids = subprocess.run(["pgrep", "-f", str(cfgp)], capture_output=True, text=True).stdout.split()
        assert pids == [str(proc.pid)], pids
    finally:
        proc.terminate()
        proc.wait(5)
