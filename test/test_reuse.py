"""http-reuse never|safe|aggressive|always, side by side with Debian's haproxy 2.6: the fake node reports, for each
request, the port the proxy's connection came from (which server connection carried it) and its rank on that
connection. Clients A, B and C each open a connection; then D and E come after they have left."""
import pytest

from conftest import Conn, free_port_fn

MODES = ["never", "safe", "aggressive", "always"]


def config(port, mode, a1):
    # one thread in haproxy, so that its idle connections are not split between threads (waxlb has one)
    return """global
    maxconn 1000
    nbthread 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    http-reuse %s
    server a1 127.0.0.1:%d
""" % (port, mode, a1)


def traffic(port, node):
    """-> ({request: (server connection, its rank)}, server connections opened). Requests are sequential."""
    seen, base = {}, node.connections

    def rq(name, c):
        j = c.request("GET", "/" + name).json()
        seen[name] = (j["peer"], j["conn_req"])

    a, b = Conn(port), Conn(port)
    rq("A1", a)
    rq("B1", b)
    rq("B2", b)
    rq("A2", a)
    c = Conn(port)
    rq("C1", c)
    for x in (a, b, c):
        x.close()
    d = Conn(port)
    rq("D1", d)
    e = Conn(port)
    rq("E1", e)
    d.close()
    e.close()
    return seen, node.connections - base


def new(seen, *names):
    return all(seen[n][1] == 1 for n in names)


def same(seen, x, y):
    return seen[x][0] == seen[y][0]


def check(mode, seen, opened):
    """What the manual (and connect_server()) promise, true of both proxies."""
    if mode == "never":
        # nothing is shared between client connections; each keeps its own
        assert new(seen, "A1", "B1", "C1", "D1", "E1") and not same(seen, "A1", "B1"), seen
        assert same(seen, "B1", "B2") and same(seen, "A1", "A2") and seen["B2"][1] == seen["A2"][1] == 2, seen
        assert opened == 5
    elif mode == "safe":
        # a first request always gets a connection of its own; later ones reuse idle ones (which one depends on
        # how many idle connections the proxy keeps: haproxy keeps fewer than waxlb)
        assert new(seen, "A1", "B1", "C1", "D1", "E1"), seen
        assert seen["B2"][1] >= 2 and seen["A2"][1] >= 2, seen
        assert opened == 5
    elif mode == "aggressive":
        # a first request may take a connection that already carried several requests (never one that carried one)
        assert new(seen, "A1", "B1") and not same(seen, "A1", "B1"), seen
        assert seen["B2"][1] >= 2 and seen["A2"][1] >= 2, seen
        assert min(seen["C1"][1], seen["D1"][1], seen["E1"][1]) >= 3, seen
        assert opened == 2
    else:
        # always: any idle connection, even for a first request
        assert new(seen, "A1") and all(same(seen, "A1", n) for n in seen), seen
        assert sorted(r for _, r in seen.values()) == list(range(1, 8))
        assert opened == 1


@pytest.mark.parametrize("mode", MODES)
def test_http_reuse(proxy, haproxy, nodes, mode):
    nodes.api("a1")
    for binary in (None, haproxy):
        port = free_port_fn()
        p = proxy(config(port, mode, nodes.port("a1")), port, binary=binary, name="haproxy" if binary else "waxlb")
        try:
            seen, opened = traffic(port, nodes["a1"])
        finally:
            p.stop()
        check(mode, seen, opened)


@pytest.mark.waxlb_only
def test_never_drops_connection_closed_by_server(proxy, nodes):
    """http-reuse never: the connection a client connection keeps is watched while it waits; when the server
    closes it (here: the node is killed), it is dropped, and the client's next request gets a new one."""
    nodes.api("a1")
    port = free_port_fn()
    p = proxy(config(port, "never", nodes.port("a1")), port)
    from conftest import wait_until
    with Conn(port) as c:
        j1 = c.request("GET", "/1").json()
        assert wait_until(lambda: p.fd_count() > 0)
        held = p.fd_count()
        nodes.stop("a1")
        assert wait_until(lambda: p.fd_count() == held - 1, 3), "kept connection not dropped"
        nodes.restart("a1")
        j2 = c.request("GET", "/2").json()
    assert j1["conn_req"] == 1 and j2["conn_req"] == 1 and j1["peer"] != j2["peer"]
