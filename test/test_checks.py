"""Chain-aware and HTTP health checks: option nodeos-check, option ship-check (ref-backend, probe-blocks),
on-marked-down shutdown-sessions, agent-check, option httpchk / http-check.

The nodeos and SHIP tests are waxlb-only and share one waxlb (fixture `chain`): each test breaks its own
fake node through the node's test controls (fakenodes.Node.set), waits for the DOWN line, checks traffic and
restores it. The agent and httpchk tests (fixture `l7`) also pass on Debian's haproxy
(WAXLB=test/haproxy-shim). Every check runs with inter 200 (300 for SHIP), fall 2, rise 2, timeout check 500.
"""
import asyncio
import os
import re
import socket
import threading
import time

import pytest
import websockets
import websockets.exceptions

import fakenodes
from conftest import IS_SHIM, Proxy, free_port_fn, http, wait_until, waxlb_cmd

WAX = fakenodes.WAX_CHAIN_ID
EOS = "aca376f206b8fc25a6ed44dbdc66547c36c6c33e3a119ffbeaef943642f0e906"  # EOS mainnet: "another chain"
API_SRV = "check inter 200 fall 2 rise 2"
SHIP_SRV = "check inter 300 fall 2 rise 2"
MARGIN = 1.0  # seconds allowed beyond the nominal detection time

waxlb_only = pytest.mark.waxlb_only


# ------------------------------------------------------------------ helpers
class WrongReason(AssertionError):
    """The behaviour is right but the log gives another reason: raised last, so that a test can be marked
    xfail(raises=WrongReason) for a wrong log line without hiding a wrong behaviour."""


class Lab:
    """A proxy, its fake nodes and the frontend ports."""

    def __init__(self, proxy, nodes, ports):
        self.p, self.nodes, self.ports = proxy, nodes, ports

    def state(self, sv):
        """'UP' or 'DOWN' from the last state line of BACKEND/SERVER (servers start UP)."""
        lines = self.p.find_log(r"Server %s is (UP|DOWN|going DOWN)" % re.escape(sv))
        return "DOWN" if lines and "DOWN" in lines[-1] else "UP"

    def wait_down(self, sv, since, timeout=4.0):
        """-> the DOWN line's reason."""
        m = self.p.wait_for_log(r"Server %s is (?:going )?DOWN(?:, reason: (.*?)(?:, check duration|$))?"
                                % re.escape(sv), timeout, since)
        return m.group(1) or ""

    def wait_up(self, sv, since, timeout=4.0):
        return self.p.wait_for_log(r"Server %s is UP" % re.escape(sv), timeout, since)

    def downs(self, sv, since):
        return self.p.find_log(r"Server %s is (going )?DOWN" % re.escape(sv), since)

    def restore(self, sv, *names):
        """Reset the nodes' controls; wait (without failing) until the server is UP again."""
        for n in names:
            self.nodes.reset(n)
        wait_until(lambda: self.state(sv) == "UP", 5.0)

    def checks(self, name):
        """Health checks the node has answered so far (get_info requests / SHIP status requests)."""
        n = self.nodes[name]
        if n.kind == "api":
            return sum(1 for m, path in list(n.log) if path == "/v1/chain/get_info")
        return sum(1 for k, _ in list(n.ship_log) if k == "status")

    def wait_checks_total(self, names, total, timeout=6.0):
        """Wait until each node has answered at least `total` checks since it started."""
        assert wait_until(lambda: all(self.checks(n) >= total for n in names), timeout), \
            "%r\n%s" % ({n: self.checks(n) for n in names}, self.p.log()[-3000:])

    def wait_checks(self, name, more, timeout=6.0):
        """Wait until the node has answered `more` further checks."""
        base = self.checks(name)
        assert wait_until(lambda: self.checks(name) >= base + more, timeout), \
            "%s: fewer than %d checks in %.0fs\n%s" % (name, more, timeout, self.p.log()[-3000:])


def api_nodes_seen(port, n, lab=None):
    """Send n requests (new connection each) -> list of X-Node (all must succeed)."""
    out = []
    for i in range(n):
        t = time.time()
        try:
            r = http(port, "GET", "/x")
        except ConnectionError as e:
            raise AssertionError("request %d of %d failed after %.2fs: %s\n%s" % (
                i + 1, n, time.time() - t, e, lab.p.log()[-4000:] if lab else ""))
        assert r.status == 200, r
        out.append(r.node)
    return out


async def ws_open(port):
    ws = await websockets.connect("ws://127.0.0.1:%d/" % port, max_size=None, compression=None,
                                  ping_interval=None, open_timeout=5)
    abi = await asyncio.wait_for(ws.recv(), 5)
    assert isinstance(abi, str) and abi.startswith('{"version":"eosio::abi/1.1"')
    return ws


async def ws_name(ws):
    await ws.send(b"\xf2")
    return await asyncio.wait_for(ws.recv(), 5)


def ship_names(port, n):
    """Open n websocket sessions at once through the proxy (all held open) -> sorted node names."""
    async def go():
        wss = await asyncio.gather(*[ws_open(port) for _ in range(n)])
        try:
            return sorted([await ws_name(ws) for ws in wss])
        finally:
            await asyncio.gather(*[ws.close() for ws in wss])
    return asyncio.run(asyncio.wait_for(go(), 20))


def server_lines(nodes, names, opts):
    return "\n".join("    server %s 127.0.0.1:%d %s" % (n, nodes.port(n), opts) for n in names)


def start_proxy(tmp_path_factory, cfg, port, name):
    p = Proxy(waxlb_cmd(), cfg, tmp_path_factory.mktemp(name), port=port, name=name)
    return p.start()


# ------------------------------------------------------------------ the chain-aware lab
API = ["a1", "a2", "a_lag", "a_ahead", "a_chain", "a_503", "a_garbage", "a_missing", "a_frozen", "a_hang",
       "a_strings"]
SHIP = ["s1", "s_trace", "s_cs", "s_edge", "s_chain", "s_hang", "s_garbage", "s_badidx", "s_frozen"]
# SHIP nodes that must stay UP, configured before the proxy starts
SHIP_UP = {
    "u_eosio20": dict(eosio20=True),
    "u_logoff": dict(trace_end=0),
    "u_csoff": dict(chain_state_end=0),
    "u_leap404": dict(leap404=True),
    "u_edge": dict(trace_end="head-2", chain_state_end="head-2"),  # end = head + 1 - 3: still fine
    "u_abi5": dict(abi_frames=5),
    "u_abi35": dict(abi_size=35700, abi_frames=4),
    "u_lagok": dict(lag_blocks=6),  # 3 s behind the others, max-lag 5s
}


@pytest.fixture(scope="module")
def chain(waxlb, tmp_path_factory):
    if IS_SHIM:
        pytest.skip("waxlb-only")
    nodes = fakenodes.Nodes()
    try:
        for n in API + ["r1"]:
            nodes.api(n)
        for n in SHIP + list(SHIP_UP) + ["l1", "l2", "p1", "p2", "p3", "sr1", "sn1", "sd1", "nd1"]:
            nodes.ship(n)
        for n, kw in SHIP_UP.items():
            nodes.set(n, **kw)
        ports = {k: free_port_fn() for k in ("api", "ship", "lag", "sd", "nd")}
        cfg = """global
    maxconn 2000
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout tunnel 30s
    timeout check 500
frontend fe_api
    bind 127.0.0.1:{api}
    default_backend api
frontend fe_ship
    bind 127.0.0.1:{ship}
    default_backend ship
frontend fe_lag
    bind 127.0.0.1:{lag}
    default_backend ship_lag
frontend fe_sd
    bind 127.0.0.1:{sd}
    default_backend ship_sd
frontend fe_nd
    bind 127.0.0.1:{nd}
    default_backend ship_nd
backend api
    balance roundrobin
    option nodeos-check max-lag 60s stall 1s chain-id {wax}
{api_servers}
backend ship
    balance leastconn
    option ship-check max-lag 5s stall 1500ms chain-id {wax}
{ship_servers}
backend ship_lag
    balance leastconn
    option ship-check max-lag 5s
{lag_servers}
backend ship_probe
    option ship-check probe-blocks
{probe_servers}
backend api_ref
    option nodeos-check
{ref_servers}
backend ship_ref
    option ship-check max-lag 5s ref-backend api_ref block-interval 500ms
{sr_servers}
backend ship_noref
    option ship-check max-lag 5s
{sn_servers}
backend ship_sd
    option ship-check
{sd_servers}
backend ship_nd
    option ship-check
{nd_servers}
""".format(wax=WAX, api_servers=server_lines(nodes, API, API_SRV),
           ship_servers=server_lines(nodes, SHIP + list(SHIP_UP), SHIP_SRV),
           lag_servers=server_lines(nodes, ["l1", "l2"], SHIP_SRV),
           probe_servers=server_lines(nodes, ["p1", "p2", "p3"], SHIP_SRV),
           ref_servers=server_lines(nodes, ["r1"], API_SRV),
           sr_servers=server_lines(nodes, ["sr1"], SHIP_SRV),
           sn_servers=server_lines(nodes, ["sn1"], SHIP_SRV),
           sd_servers=server_lines(nodes, ["sd1"], SHIP_SRV + " on-marked-down shutdown-sessions"),
           nd_servers=server_lines(nodes, ["nd1"], SHIP_SRV), **ports)
        p = start_proxy(tmp_path_factory, cfg, ports["api"], "chain")
        yield Lab(p, nodes, ports)
        p.stop()
    finally:
        nodes.close()


# ------------------------------------------------------------------ nodeos-check
@waxlb_only
def test_nodeos_healthy_up(chain):
    chain.wait_checks_total(API, 4)
    assert not chain.p.find_log(r"Server api/\S+ is DOWN"), chain.p.log()[-3000:]
    assert set(api_nodes_seen(chain.ports["api"], 2 * len(API), chain)) == set(API)
    # GET /v1/chain/get_info with Host = the server's address
    n = chain.nodes["a1"]
    assert dict(n.get_info_headers).get("Host") == "127.0.0.1:%d" % n.port, n.get_info_headers


NODEOS_FAULTS = [
    # (server, controls, reason regex, seconds before DOWN beyond fall x inter)
    ("a_lag", dict(lag_s=75), r"^nodeos head \d+ is 7[4-6]\.\ds behind the clock \(max-lag 60s\)$", 0),
    ("a_ahead", dict(lag_s=-75), r"^nodeos head \d+ is 7[4-6]\.\ds ahead", 0),
    ("a_chain", dict(chain_id=EOS), r"^nodeos is on another chain", 0),
    ("a_503", dict(status=503), r"^nodeos get_info answered 503$", 0),
    ("a_garbage", dict(garbage="syntax"), r"^nodeos get_info: \S", 0),
    ("a_garbage", dict(garbage="truncated"), r"^nodeos get_info: \S", 0),
    ("a_garbage", dict(garbage="html"), r"^nodeos get_info: \S", 0),
    ("a_garbage", dict(garbage="empty"), r"^nodeos get_info: \S", 0),
    ("a_garbage", dict(garbage="array"), r"^nodeos get_info: \S", 0),
    ("a_missing", dict(drop_fields=["head_block_time"]), r"^nodeos get_info: .*head_block_time", 0),
    ("a_frozen", dict(frozen=True), r"^(nodeos )?head \d+ has not advanced for \d+(\.\d+)?s", 1.0),
    ("a_hang", dict(hang=True), r"(?i)timeout", 2 * 0.5),
]


@waxlb_only
@pytest.mark.parametrize("srv,ctl,reason,extra", NODEOS_FAULTS,
                         ids=[f[0] + ("-" + f[1]["garbage"] if "garbage" in f[1] else "") for f in NODEOS_FAULTS])
def test_nodeos_fault_down_then_up(chain, srv, ctl, reason, extra):
    sv = "api/" + srv
    others = [n for n in API if n != srv]
    try:
        assert chain.state(sv) == "UP"
        mark = chain.p.mark()
        t0 = time.time()
        chain.nodes.set(srv, **ctl)
        why = chain.wait_down(sv, mark, timeout=2 * 0.2 + extra + MARGIN + 2)
        took = time.time() - t0
        assert re.search(reason, why), why
        assert took < 2 * 0.2 + extra + MARGIN, "DOWN after %.2fs" % took
        # no request goes to it; the others share the traffic
        seen = api_nodes_seen(chain.ports["api"], 2 * len(others), chain)
        assert srv not in seen and set(seen) == set(others), seen
        assert chain.p.alive()
        # caught up: UP after rise checks
        mark = chain.p.mark()
        t0 = time.time()
        chain.nodes.reset(srv)
        chain.wait_up(sv, mark, timeout=4.0)
        assert time.time() - t0 < 2 * 0.2 + MARGIN + (0.5 if srv == "a_hang" else 0)
        assert srv in api_nodes_seen(chain.ports["api"], 2 * len(API), chain)
    finally:
        chain.restore(sv, srv)


@waxlb_only
def test_nodeos_numbers_as_strings_stay_up(chain):
    mark = chain.p.mark()
    try:
        chain.nodes.set("a_strings", numbers_as_strings=True)
        chain.wait_checks("a_strings", 5)
        assert not chain.downs("api/a_strings", mark), chain.p.log()[-3000:]
        assert "a_strings" in api_nodes_seen(chain.ports["api"], 2 * len(API), chain)
    finally:
        chain.restore("api/a_strings", "a_strings")


# ------------------------------------------------------------------ ship-check
@waxlb_only
@pytest.mark.parametrize("srv", ["s1"] + list(SHIP_UP))
def test_ship_stays_up(chain, srv):
    """Healthy 121-byte, EOSIO 2.0 89-byte, a log disabled, Leap 4.0.4 log ends ahead of head, log ends exactly
    3 blocks short, ABI in 5 frames, a 35.7 KB ABI, a head 6 blocks (3 s) behind the others: all UP."""
    chain.wait_checks_total([srv], 5)
    assert not chain.downs("ship/" + srv, 0), chain.p.log()[-3000:]


SHIP_FAULTS = [
    ("s_trace", dict(trace_end="head-20"), r"^SHIP trace log ends at (\d+), head (\d+)", 0),
    ("s_cs", dict(chain_state_end="head-20"), r"^SHIP chain.state log ends at (\d+), head (\d+)", 0),
    ("s_edge", dict(trace_end="head-3"), r"^SHIP trace log ends at (\d+), head (\d+)", 0),
    ("s_chain", dict(chain_id=EOS), r"^SHIP node is on another chain", 0),
    ("s_hang", dict(hang=True), r"(?i)timeout", 2 * 0.5),
    ("s_garbage", dict(garbage_status=True), r".", 0),
    ("s_badidx", dict(garbage_status=b"\x05" + bytes(120)), r".", 0),
    ("s_frozen", dict(frozen=True), r"head \d+ has not advanced for \d+(\.\d+)?s|lags reference", 1.5),
]


@waxlb_only
@pytest.mark.parametrize("srv,ctl,reason,extra", SHIP_FAULTS, ids=[f[0] for f in SHIP_FAULTS])
def test_ship_fault_down_then_up(chain, srv, ctl, reason, extra):
    sv = "ship/" + srv
    try:
        assert chain.state(sv) == "UP"
        mark = chain.p.mark()
        t0 = time.time()
        chain.nodes.set(srv, **ctl)
        why = chain.wait_down(sv, mark, timeout=2 * 0.3 + extra + MARGIN + 2)
        took = time.time() - t0
        m = re.search(reason, why)
        assert m, why
        if srv in ("s_trace", "s_cs"):
            assert int(m.group(2)) - int(m.group(1)) == 20, why
        if srv == "s_edge":
            assert int(m.group(2)) - int(m.group(1)) == 3, why
        assert took < 2 * 0.3 + extra + MARGIN, "DOWN after %.2fs" % took
        assert chain.p.alive()
        # the proxy still serves the others
        assert ship_names(chain.ports["ship"], 2)
        mark = chain.p.mark()
        t0 = time.time()
        chain.nodes.reset(srv)
        chain.wait_up(sv, mark, timeout=4.0)
        assert time.time() - t0 < 2 * 0.3 + MARGIN + (0.5 if srv == "s_hang" else 0)
    finally:
        chain.restore(sv, srv)


@waxlb_only
def test_ship_lag_behind_other_server(chain):
    """l2 falls 40 blocks (20 s) behind l1 with max-lag 5s: DOWN 'lags reference', no new sessions; back: UP."""
    port = chain.ports["lag"]
    try:
        assert ship_names(port, 2) == ["l1", "l2"]
        mark = chain.p.mark()
        t0 = time.time()
        chain.nodes.set("l2", lag_blocks=40)
        why = chain.wait_down("ship_lag/l2", mark)
        assert time.time() - t0 < 2 * 0.3 + MARGIN
        m = re.match(r"SHIP head (\d+) lags reference (\d+) by (\d+) blocks", why)
        assert m, why
        head, ref, by = map(int, m.groups())
        assert ref - head == by and 38 <= by <= 42, why
        assert not chain.downs("ship_lag/l1", 0)
        assert ship_names(port, 3) == ["l1", "l1", "l1"]
        mark = chain.p.mark()
        t0 = time.time()
        chain.nodes.reset("l2")
        chain.wait_up("ship_lag/l2", mark)
        assert time.time() - t0 < 2 * 0.3 + MARGIN
        assert ship_names(port, 2) == ["l1", "l2"]
    finally:
        chain.restore("ship_lag/l2", "l2")


@waxlb_only
def test_ship_ref_backend(chain):
    """A lone SHIP node 40 blocks behind the clock: with ref-backend (a nodeos backend at the clock's head) it
    lags its reference and goes DOWN; without one it is its own reference and stays UP."""
    try:
        mark = chain.p.mark()
        chain.nodes.set("sr1", lag_blocks=40)
        chain.nodes.set("sn1", lag_blocks=40)
        why = chain.wait_down("ship_ref/sr1", mark)
        m = re.match(r"SHIP head (\d+) lags reference (\d+) by (\d+) blocks", why)
        assert m and 38 <= int(m.group(3)) <= 42, why
        chain.wait_checks("sn1", 4)
        assert not chain.downs("ship_noref/sn1", 0), chain.p.log()[-3000:]
        mark = chain.p.mark()
        chain.nodes.reset("sr1")
        chain.wait_up("ship_ref/sr1", mark)
    finally:
        chain.restore("ship_ref/sr1", "sr1", "sn1")


@waxlb_only
def test_ship_probe_blocks_healthy(chain):
    """probe-blocks: after the status, a get_blocks_request_v0 for [head, head+1) with credit 1; answered with
    this_block: UP."""
    chain.wait_checks_total(["p1"], 4)
    assert not chain.downs("ship_probe/", 0)
    probes = [d for k, d in list(chain.nodes["p1"].ship_log) if k == "blocks"]
    assert len(probes) >= 3, chain.nodes["p1"].ship_log[-5:]
    start, end, credit = probes[-1]
    assert end == start + 1 and credit == 1 and abs(start - fakenodes.head_block_num()) < 10, probes[-1]


PROBE_FAULTS = [
    pytest.param("p2", "empty", id="empty-result"),
    # a node that answers the request with nothing (Leap issue 1358). 0a75e46 logged "Layer7 timeout"
    # here (fixed in 1d1e239); the reason must say the node serves no blocks.
    pytest.param("p3", True, id="silent"),
]


@waxlb_only
@pytest.mark.parametrize("srv,mode", PROBE_FAULTS)
def test_ship_probe_no_blocks(chain, srv, mode):
    sv = "ship_probe/" + srv
    try:
        assert chain.state(sv) == "UP"
        mark = chain.p.mark()
        t0 = time.time()
        chain.nodes.set(srv, no_blocks=mode)
        why = chain.wait_down(sv, mark, timeout=2 * (0.3 + 0.5) + MARGIN + 2)
        assert time.time() - t0 < 2 * (0.3 + 0.5) + MARGIN
        mark = chain.p.mark()
        chain.nodes.reset(srv)
        chain.wait_up(sv, mark)
        assert not chain.downs("ship_probe/p1", 0)
        if not re.match(r"SHIP node serves no blocks", why):
            raise WrongReason(why)
    finally:
        chain.restore(sv, srv)


# ------------------------------------------------------------------ on-marked-down shutdown-sessions
@waxlb_only
def test_on_marked_down_shutdown_sessions(chain):
    """A streaming SHIP session through the proxy: with `on-marked-down shutdown-sessions` the proxy closes it
    when its server goes DOWN; without, it keeps streaming blocks after the DOWN line."""
    async def stream(port, node):
        ws = await ws_open(port)
        h = chain.nodes.head(node)
        await ws.send(fakenodes.blocks_request(h - 3, 0xFFFFFFFF, 10000))
        for _ in range(4):
            assert fakenodes.decode_blocks_result(await asyncio.wait_for(ws.recv(), 5))["this_block"] is not None
        return ws

    async def go():
        sd = await stream(chain.ports["sd"], "sd1")
        nd = await stream(chain.ports["nd"], "nd1")
        mark = chain.p.mark()
        chain.nodes.set("sd1", trace_end="head-20")
        chain.nodes.set("nd1", trace_end="head-20")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, chain.wait_down, "ship_sd/sd1", mark)
        t_down = time.time()
        await loop.run_in_executor(None, chain.wait_down, "ship_nd/nd1", mark)
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            while True:  # buffered blocks may come first
                await asyncio.wait_for(sd.recv(), 3)
        closed_after = time.time() - t_down
        # without the option the session goes on: new blocks after the DOWN line, and get_status
        t = time.time()
        got = []
        while len(got) < 3 and time.time() - t < 5:
            d = fakenodes.decode_blocks_result(await asyncio.wait_for(nd.recv(), 3))
            got.append(d["this_block"])
        assert len(got) == 3 and got == sorted(got)
        await nd.send(b"\xf2")
        while True:
            m = await asyncio.wait_for(nd.recv(), 3)
            if isinstance(m, str):
                assert m == "nd1"
                break
        await nd.close()
        return closed_after

    try:
        closed_after = asyncio.run(asyncio.wait_for(go(), 30))
        assert closed_after < 1.0, closed_after
    finally:
        chain.restore("ship_sd/sd1", "sd1")
        chain.restore("ship_nd/nd1", "nd1")


# ------------------------------------------------------------------ agent-check and httpchk (also HAProxy)
class Agent:
    """An HAProxy agent on loopback: each connection gets `reply` (a line), then whatever the checker sent
    is recorded."""

    def __init__(self, reply="up"):
        self.reply = reply
        self.received = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        data = b""
        try:
            c.settimeout(1.0)
            c.sendall(self.reply.encode() + b"\n")
            c.shutdown(socket.SHUT_WR)
            while True:
                d = c.recv(4096)
                if not d:
                    break
                data += d
        except OSError:
            pass
        finally:
            self.received.append(data)
            c.close()

    def say(self, reply):
        """Change the reply; returns once a checker has received it (a connection accepted after the change)."""
        self.reply = reply
        n = self.connections
        assert wait_until(lambda: self.connections >= n + 1, 3.0), "the agent is not polled"

    def close(self):
        self.closed = True
        self.sock.close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


@pytest.fixture(scope="module")
def l7(waxlb, tmp_path_factory):
    nodes = fakenodes.Nodes()
    agent = Agent("up")
    agent2 = Agent("up")
    try:
        for n in ("g1", "g2", "u1", "h1", "h2", "k1", "d1", "q1"):
            nodes.api(n)
        nodes.ship("w1")
        nodes.set("k1", health_body="I am healthy\n")
        nodes.set("d1", health_status=200)
        ports = {k: free_port_fn() for k in ("ag", "agn", "agw", "hc", "hs", "hd", "hq")}
        g1 = nodes.port("g1")
        cfg = """global
    maxconn 1000
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 500
frontend fe_ag
    bind 127.0.0.1:{ag}
    default_backend ag
frontend fe_agn
    bind 127.0.0.1:{agn}
    default_backend agn
frontend fe_agw
    bind 127.0.0.1:{agw}
    default_backend agw
frontend fe_hc
    bind 127.0.0.1:{hc}
    default_backend hc
frontend fe_hs
    bind 127.0.0.1:{hs}
    default_backend hs
frontend fe_hd
    bind 127.0.0.1:{hd}
    default_backend hd
frontend fe_hq
    bind 127.0.0.1:{hq}
    default_backend hq
backend ag
    balance roundrobin
    server g1 127.0.0.1:{g1} {srv} weight 10 agent-check agent-port {ap} agent-inter 200 agent-send "v1|http://127.0.0.1:{g1}|10\\n"
    server g2 127.0.0.1:{g2} {srv} weight 10
backend agn
    server u1 127.0.0.1:{u1} {srv} agent-check agent-port {dead} agent-inter 200
backend agw
    timeout tunnel 30s
    server w1 127.0.0.1:{w1} {srv} agent-check agent-port {ap2} agent-inter 200 on-marked-down shutdown-sessions
backend hc
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    server h1 127.0.0.1:{h1} {srv}
    server h2 127.0.0.1:{h2} {srv}
backend hs
    option httpchk GET /health HTTP/1.1
    http-check expect string healthy
    server k1 127.0.0.1:{k1} {srv}
backend hd
    option httpchk GET /health
    server d1 127.0.0.1:{d1} {srv}
backend hq
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host wax.check.local
    http-check expect rstring wax.check.local
    server q1 127.0.0.1:{q1} {srv}
""".format(srv=API_SRV, ap=agent.port, ap2=agent2.port, dead=closed_port(), g1=g1,
           **{n: nodes.port(n) for n in ("g2", "u1", "h1", "h2", "k1", "d1", "q1", "w1")}, **ports)
        p = start_proxy(tmp_path_factory, cfg, ports["ag"], "l7")
        lab = Lab(p, nodes, ports)
        lab.agent, lab.agent2 = agent, agent2
        yield lab
        p.stop()
    finally:
        agent2.close()
        agent.close()
        nodes.close()


def health_checks(lab, name):
    return sum(1 for m, path in list(lab.nodes[name].log) if path == "/health")


def wait_health_checks(lab, name, more):
    base = health_checks(lab, name)
    assert wait_until(lambda: health_checks(lab, name) >= base + more, 6.0)


def test_httpchk_healthy(l7):
    for n in ("h1", "h2", "k1", "d1", "q1"):
        wait_health_checks(l7, n, 3)
    assert not l7.p.find_log(r"Server (hc|hs|hd|hq)/\S+ is DOWN"), l7.p.log()[-3000:]
    assert sorted(api_nodes_seen(l7.ports["hc"], 4)) == ["h1", "h1", "h2", "h2"]
    assert api_nodes_seen(l7.ports["hq"], 1) == ["q1"]


def test_httpchk_expect_status_200(l7):
    try:
        mark = l7.p.mark()
        t0 = time.time()
        l7.nodes.set("h1", health_status=503)
        why = l7.wait_down("hc/h1", mark)
        assert time.time() - t0 < 2 * 0.2 + MARGIN
        assert re.search(r'Layer7 wrong status.*503', why), why
        assert api_nodes_seen(l7.ports["hc"], 4) == ["h2"] * 4
        mark = l7.p.mark()
        l7.nodes.reset("h1")
        l7.wait_up("hc/h1", mark)
        assert sorted(api_nodes_seen(l7.ports["hc"], 4)) == ["h1", "h1", "h2", "h2"]
    finally:
        l7.restore("hc/h1", "h1")


def test_httpchk_expect_string(l7):
    try:
        mark = l7.p.mark()
        l7.nodes.set("k1", health_body="I am sick\n")
        why = l7.wait_down("hs/k1", mark)
        assert re.search(r"Layer7", why), why
        mark = l7.p.mark()
        l7.nodes.set("k1", health_body="healthy again\n")
        l7.wait_up("hs/k1", mark)
    finally:
        l7.nodes.set("k1", health_body="I am healthy\n")
        l7.restore("hs/k1")


def test_httpchk_default_expect_2xx_3xx(l7):
    """No http-check expect: any 2xx or 3xx passes, 4xx/5xx fail."""
    try:
        mark = l7.p.mark()
        l7.nodes.set("d1", health_status=302)
        wait_health_checks(l7, "d1", 4)
        assert not l7.downs("hd/d1", mark)
        l7.nodes.set("d1", health_status=404)
        why = l7.wait_down("hd/d1", mark)
        assert re.search(r'Layer7 wrong status.*404', why), why
        mark = l7.p.mark()
        l7.nodes.set("d1", health_status=204)
        l7.wait_up("hd/d1", mark)
    finally:
        l7.nodes.set("d1", health_status=200)
        l7.restore("hd/d1")


def test_agent_send_received(l7):
    l7.agent.say("up")
    assert wait_until(lambda: any(r for r in l7.agent.received), 3.0)
    got = [r for r in l7.agent.received if r][-1]
    assert got == b"v1|http://127.0.0.1:%d|10\n" % l7.nodes.port("g1"), got


@pytest.mark.parametrize("word", ["down", "fail", "stopped #maintenance window"])
def test_agent_down_up(l7, word):
    try:
        mark = l7.p.mark()
        l7.agent.say(word)
        l7.wait_down("ag/g1", mark)
        assert api_nodes_seen(l7.ports["ag"], 4) == ["g2"] * 4
        mark = l7.p.mark()
        l7.agent.say("up")
        l7.wait_up("ag/g1", mark)
        assert sorted(api_nodes_seen(l7.ports["ag"], 4)) == ["g1", "g1", "g2", "g2"]
    finally:
        l7.agent.reply = "up"
        l7.restore("ag/g1")


# Both drain tests failed on commit 0a75e46 (drain was handled as DOWN: "is DOWN, reason: Agent says drain" and
# shutdown-sessions cut the open sessions); fixed in 1d1e239.
@pytest.mark.parametrize("word", ["drain", "maint"])
def test_agent_drain_maint_ready(l7, word):
    try:
        mark = l7.p.mark()
        l7.agent.say(word)
        l7.agent.say(word)  # applied by now
        assert api_nodes_seen(l7.ports["ag"], 6) == ["g2"] * 6
        drain_down = word == "drain" and l7.downs("ag/g1", mark)
        l7.agent.say("ready")
        assert wait_until(lambda: "g1" in api_nodes_seen(l7.ports["ag"], 2), 3.0)
        assert sorted(api_nodes_seen(l7.ports["ag"], 4)) == ["g1", "g1", "g2", "g2"]
        if drain_down:  # HAProxy: "Server ag/g1 enters drain state"; the server stays UP
            raise WrongReason(drain_down[0])
    finally:
        l7.agent.reply = "ready"
        l7.agent.say("ready")
        l7.agent.say("up")


def test_agent_weight_percent(l7):
    """`50%` halves g1's weight (10 -> 5; HAProxy rounds weight 1 x 50% down to 0): ~1:2 over 60 requests."""
    try:
        l7.agent.say("50%")
        l7.agent.say("50%")
        seen = api_nodes_seen(l7.ports["ag"], 60)
        g1 = seen.count("g1")
        assert 16 <= g1 <= 24, "g1 got %d of 60 at 50%% weight (expected ~20)" % g1
        l7.agent.say("100%")
        l7.agent.say("100%")
        seen = api_nodes_seen(l7.ports["ag"], 60)
        assert 27 <= seen.count("g1") <= 33, seen.count("g1")
    finally:
        l7.agent.reply = "100%"
        l7.agent.say("100%")
        l7.agent.reply = "up"


def test_agent_unreachable_changes_nothing(l7):
    time.sleep(0.6)  # several agent-inter periods with the agent port closed
    assert not l7.downs("agn/u1", 0), l7.p.log()[-3000:]
    assert api_nodes_seen(l7.ports["agn"], 3) == ["u1"] * 3


def test_agent_drain_keeps_sessions(l7):
    """`drain` stops new traffic but is not DOWN: `on-marked-down shutdown-sessions` must not cut the sessions
    already open (HAProxy keeps them; draining is how an operator lets SHIP clients finish)."""
    async def go():
        ws = await ws_open(l7.ports["agw"])
        assert await ws_name(ws) == "w1"
        l7.agent2.say("drain")
        l7.agent2.say("drain")
        await asyncio.sleep(0.3)
        assert await ws_name(ws) == "w1"
        await ws.close()
    try:
        asyncio.run(asyncio.wait_for(go(), 15))
    finally:
        l7.agent2.say("ready")
        l7.agent2.say("ready")
        l7.agent2.reply = "up"


# ------------------------------------------------------------------ check_status in the stats
def stat_csv(path):
    """`show stat` on a stats socket -> {(pxname, svname): row dict}."""
    import csv
    import io
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall(b"show stat\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    rows = list(csv.reader(io.StringIO(out.decode()[2:].strip())))
    return {(r[0], r[1]): dict(zip(rows[0], r)) for r in rows[1:] if len(r) > 1}


def check_status_run(proxy, nodes, tmp_path, binary, tag, opt, fail):
    """Server f (fall 100) and server r (rise 100 fall 1) of one backend, checked every 100 ms. r is taken DOWN,
    then f's node starts failing while r's recovers. -> (f's row while still UP after failed checks, r's row while
    still DOWN after passing ones), each the first row seen in that state; None if never seen."""
    nf, nr = tag + "f", tag + "r"
    ports = {n: nodes.api(n) for n in (nf, nr)}
    sock = str(tmp_path / (tag + ".sock"))
    cfg = """global
    stats socket %s level admin
defaults
    timeout connect 500ms
    timeout check 500ms
    timeout client 5s
    timeout server 5s
backend be
    %s
    server f 127.0.0.1:%d check inter 100 rise 2 fall 100
    server r 127.0.0.1:%d check inter 100 rise 100 fall 1
""" % (sock, opt, ports[nf], ports[nr])
    proxy(cfg, binary=binary, name=tag)
    assert wait_until(lambda: os.path.exists(sock) and all(
        stat_csv(sock)[("be", s)]["check_status"] == ("L7OK") for s in ("f", "r")), 10), "checks never passed"

    def row_when(sv, status, code):
        def seen():
            r = stat_csv(sock)[("be", sv)]
            return r if r["status"].startswith(status) and r["check_status"] == code else None
        return wait_until(seen, 8)

    nodes.set(nr, **fail)
    assert wait_until(lambda: stat_csv(sock)[("be", "r")]["status"].startswith("DOWN"), 8)
    nodes.set(nf, **fail)
    nodes.reset(nr)
    code = "L7STS" if "health_status" in fail else "L7RSP"
    return row_when("f", "UP", code), row_when("r", "DOWN", "L7OK")


def test_check_status_is_the_last_checks_httpchk_as_haproxy(proxy, nodes, tmp_path, haproxy):
    """HAProxy's check_status is the status of the last check (stats.c: get_check_status_info(check.status)),
    whatever the server's state: a failed check of a server still UP reads L7STS, a passing check of a server
    still DOWN reads L7OK. Debian's haproxy and waxlb side by side on the same httpchk backend."""
    for binary, tag in ((haproxy, "h"), (None, "w")):
        up_failing, down_passing = check_status_run(proxy, nodes, tmp_path, binary, tag,
                                                    "option httpchk GET /health", {"health_status": 503})
        assert up_failing, "%s: no row with f UP and check_status L7STS" % (binary or "waxlb")
        assert down_passing, "%s: no row with r DOWN and check_status L7OK" % (binary or "waxlb")


@waxlb_only
def test_check_status_is_the_last_checks_nodeos(proxy, nodes, tmp_path):
    """The same for option nodeos-check (a waxlb extension: its failures are HAProxy's L7RSP, "Layer7 invalid
    response", its passes L7OK). fb58a6d's predecessor derived the code from the state for these (L7OK for a
    failed check while UP, L7RSP for a passing one while DOWN), unlike HAProxy."""
    up_failing, down_passing = check_status_run(proxy, nodes, tmp_path, None, "n", "option nodeos-check",
                                                {"status": 500})
    assert up_failing, "no row with f UP and check_status L7RSP"
    assert down_passing, "no row with r DOWN and check_status L7OK"
