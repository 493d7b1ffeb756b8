"""retry-on, retries and option redispatch, side by side with Debian's haproxy 2.6 on one configuration: fake API
nodes fail on purpose (fakenodes' `fail` control: answer a status, close without answering, answer junk, or never
answer) and each test asserts which server answered, what the client got and how many requests each node saw, for
waxlb and for haproxy, which must agree.

nodeos answers 503 when http-max-bytes-in-flight-mb is exceeded: with `retry-on 503` and `option redispatch` a
read goes to the next node and the client never sees the error."""
import os
import socket
import tempfile

import pytest

from conftest import Conn, free_port_fn, http, parse_all, raw, req, show_stat, wait_stats_sock

BODY_FITS = 15000        # head + body within tune.bufsize - tune.maxrewrite (15360): replayed
BODY_TOO_BIG = 16000     # over it (though within the 16384-byte buffer): HAProxy does not replay it either


def config(port, backend, frontend="", timeouts="    timeout server 5s\n"):
    """@SOCK@: side_by_side() puts each proxy's own stats socket there."""
    return """global
    maxconn 1000
    stats socket @SOCK@ level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
%s
frontend fe
    bind 127.0.0.1:%d
%s    default_backend be
backend be
%s""" % (timeouts, port, frontend, backend)


def servers(nodes, names):
    return "".join("    server %s 127.0.0.1:%d\n" % (n, nodes.port(n)) for n in names)


def side_by_side(proxy, haproxy, make_cfg, scenario):
    """Run scenario(port, sock) against waxlb, then against haproxy, each on make_cfg(port) with its stats socket
    -> {"waxlb": r, "haproxy": r}. One proxy runs at a time, so the fake nodes see one proxy's requests only."""
    out = {}
    for name, binary in (("waxlb", None), ("haproxy", haproxy)):
        port = free_port_fn()
        sock = os.path.join(tempfile.mkdtemp(prefix="retry-"), name + ".sock")
        p = proxy(make_cfg(port).replace("@SOCK@", sock), port, binary=binary, name=name)
        try:
            wait_stats_sock(sock)
            out[name] = scenario(port, sock)
        finally:
            p.stop()
    return out


class Seen:
    """How many requests each node answered (or failed) since it was made."""

    def __init__(self, nodes, names):
        self.nodes, self.names = nodes, names
        self.base = {n: nodes[n].requests for n in names}

    def __call__(self):
        return {n: self.nodes[n].requests - self.base[n] for n in self.names}


def answer(r):
    return r.status, r.node


def fail(nodes, name, mode, count=None):
    nodes.reset(name)
    nodes.set(name, fail=mode, fail_count=count)


# ------------------------------------------------------------------ status codes
def test_503_redispatched_to_next_server(proxy, haproxy, nodes):
    """The nodeos case: a1 answers 503 to everything; each request that lands on it goes to a2 instead."""
    nodes.api("a1")
    nodes.api("a2")
    be = ("    balance roundrobin\n    retries 3\n    option redispatch\n    retry-on 503\n"
          + servers(nodes, ["a1", "a2"]))

    def scenario(port, sock):
        fail(nodes, "a1", 503)
        nodes.reset("a2")
        seen = Seen(nodes, ["a1", "a2"])
        got = [answer(http(port, "GET", "/v1/chain/get_info")) for _ in range(2)]
        got += [answer(http(port, "POST", "/v1/chain/get_block", body=b'{"block_num_or_id":%d}' % i))
                for i in range(2)]
        return got, seen()

    out = side_by_side(proxy, haproxy, lambda port: config(port, be), scenario)
    assert out["waxlb"] == out["haproxy"]
    got, seen = out["waxlb"]
    assert got == [(200, "a2")] * 4
    assert seen["a1"] >= 1 and seen["a2"] == 4, seen     # a1 was tried, every answer came from a2


def test_503_retried_on_same_server(proxy, haproxy, nodes):
    """Without option redispatch the request goes to the same server again, at once; when every attempt fails the
    client gets the server's own last 503."""
    nodes.api("a1")
    be = "    retries 2\n    retry-on 503\n" + servers(nodes, ["a1"])

    def scenario(port, sock):
        fail(nodes, "a1", 503, count=1)
        seen = Seen(nodes, ["a1"])
        once = answer(http(port, "GET", "/x")), seen()
        fail(nodes, "a1", 503)
        seen = Seen(nodes, ["a1"])
        r = http(port, "GET", "/x")
        always = answer(r), r.json(), seen()
        return once, always

    out = side_by_side(proxy, haproxy, lambda port: config(port, be), scenario)
    assert out["waxlb"] == out["haproxy"]
    once, always = out["waxlb"]
    assert once == ((200, "a1"), {"a1": 2})
    assert always[0] == (503, "a1") and always[1]["node"] == "a1"      # the server's answer, not the proxy's page
    assert always[2] == {"a1": 3}                                        # 1 + retries


def test_status_not_listed_is_not_retried(proxy, haproxy, nodes):
    nodes.api("a1")
    nodes.api("a2")
    be = "    balance first\n    option redispatch\n    retry-on 500 502 504\n" + servers(nodes, ["a1", "a2"])

    def scenario(port, sock):
        fail(nodes, "a1", 503)
        seen = Seen(nodes, ["a1", "a2"])
        return answer(http(port, "GET", "/x")), seen()

    out = side_by_side(proxy, haproxy, lambda port: config(port, be), scenario)
    assert out["waxlb"] == out["haproxy"] == ((503, "a1"), {"a1": 1, "a2": 0})


# ------------------------------------------------------------------ empty, junk, no response
FAILURES = [("drop", "empty-response", 502), ("junk", "junk-response", 502), ("hang", "response-timeout", 504)]


@pytest.mark.parametrize("mode,word,status", FAILURES, ids=[f[1] for f in FAILURES])
def test_failure_retried_only_when_listed(proxy, haproxy, nodes, mode, word, status):
    """a1 closes without answering / answers bytes that are not HTTP / never answers. With its retry-on word the
    request goes to a2; with HAProxy's default (conn-failure) the client gets 502 or 504 and a2 sees nothing."""
    nodes.api("a1")
    nodes.api("a2")
    tmo = "    timeout server 300ms\n"

    def make(retry_on):
        be = ("    balance first\n    option redispatch\n    retry-on %s\n" % retry_on
              + servers(nodes, ["a1", "a2"]))
        return lambda port: config(port, be, timeouts=tmo)

    def scenario(port, sock):
        fail(nodes, "a1", mode)
        seen = Seen(nodes, ["a1", "a2"])
        got = [answer(http(port, "POST", "/v1/chain/get_block", body=b'{"block_num_or_id":7}', timeout=8))]
        return got, seen()

    retried = side_by_side(proxy, haproxy, make(word), scenario)
    assert retried["waxlb"] == retried["haproxy"] == ([(200, "a2")], {"a1": 1, "a2": 1})
    plain = side_by_side(proxy, haproxy, make("conn-failure"), scenario)
    assert plain["waxlb"] == plain["haproxy"] == ([(status, None)], {"a1": 1, "a2": 0})


def test_all_retryable_errors(proxy, haproxy, nodes):
    """all-retryable-errors covers 503 and an empty response; every attempt failing ends with the last failure."""
    nodes.api("a1")
    be = "    retries 2\n    retry-on all-retryable-errors\n" + servers(nodes, ["a1"])

    def scenario(port, sock):
        fail(nodes, "a1", "drop", count=2)
        seen = Seen(nodes, ["a1"])
        ok = answer(http(port, "GET", "/x")), seen()
        fail(nodes, "a1", "drop")
        seen = Seen(nodes, ["a1"])
        bad = answer(http(port, "GET", "/x")), seen()
        return ok, bad

    out = side_by_side(proxy, haproxy, lambda port: config(port, be), scenario)
    assert out["waxlb"] == out["haproxy"] == (((200, "a1"), {"a1": 3}), ((502, None), {"a1": 3}))


# ------------------------------------------------------------------ what is replayed
def test_body_larger_than_buffer_not_replayed(proxy, haproxy, nodes):
    """Only a request entirely in the buffer when it first goes out is replayed: one with a body over the buffer
    (less its rewrite reserve) gets a1's 503 although a2 is there; smaller ones, chunked too, go to a2."""
    nodes.api("a1")
    nodes.api("a2")
    be = ("    balance first\n    option redispatch\n    retry-on 503\n" + servers(nodes, ["a1", "a2"]))
    chunked = req("POST /v1/chain/get_block HTTP/1.1", "Host: x", "Transfer-Encoding: chunked",
                  body=b"16\r\n{\"block_num_or_id\":10}\r\n0\r\n\r\n")

    def scenario(port, sock):
        fail(nodes, "a1", 503)
        nodes.reset("a2")
        got = {}
        for size in (1000, BODY_FITS, BODY_TOO_BIG, 65536):
            seen = Seen(nodes, ["a1", "a2"])
            r = http(port, "POST", "/v1/chain/push_transaction", body=b"z" * size)
            got[size] = answer(r), seen()
            if r.node == "a2":
                assert r.json()["body_len"] == size     # the replay carried the whole body
        rs = [x for x in parse_all(raw(port, chunked)) if x.status >= 200]
        got["chunked"] = answer(rs[0]), rs[0].json()["body_len"]
        return got

    out = side_by_side(proxy, haproxy, lambda port: config(port, be), scenario)
    assert out["waxlb"] == out["haproxy"]
    got = out["waxlb"]
    assert got[1000] == got[BODY_FITS] == ((200, "a2"), {"a1": 1, "a2": 1})
    assert got[BODY_TOO_BIG] == got[65536] == ((503, "a1"), {"a1": 1, "a2": 0})
    assert got["chunked"] == ((200, "a2"), 22)


def test_disable_l7_retry(proxy, haproxy, nodes):
    """http-request disable-l7-retry: HAProxy's way to keep requests such as POSTs from being replayed."""
    nodes.api("a1")
    nodes.api("a2")
    be = ("    balance first\n    option redispatch\n    retry-on 503\n" + servers(nodes, ["a1", "a2"]))
    fe = "    http-request disable-l7-retry if METH_POST\n"

    def scenario(port, sock):
        fail(nodes, "a1", 503)
        return answer(http(port, "GET", "/x")), answer(http(port, "POST", "/x", body=b"{}"))

    out = side_by_side(proxy, haproxy, lambda port: config(port, be, frontend=fe), scenario)
    assert out["waxlb"] == out["haproxy"] == ((200, "a2"), (503, "a1"))


def test_keepalive_after_retry(proxy, haproxy, nodes):
    """A retried request leaves the client connection as usable as any other (the replayed bytes are let go once
    the answer comes): the next requests on it are answered in order."""
    nodes.api("a1")
    nodes.api("a2")
    be = ("    balance first\n    option redispatch\n    retry-on 503\n" + servers(nodes, ["a1", "a2"]))

    def scenario(port, sock):
        fail(nodes, "a1", 503, count=1)
        with Conn(port) as c:
            got = [(answer(r), r.json().get("path")) for r in
                   (c.request("POST", "/p%d" % i, body=b"x" * (i + 1)) for i in range(3))]
            # pipelined: both in one segment, the first one retried
            fail(nodes, "a1", 503, count=1)
            c.send(req("GET /q1 HTTP/1.1", "Host: x") + req("GET /q2 HTTP/1.1", "Host: x"))
            got += [(answer(r), r.json().get("path")) for r in (c.response(), c.response())]
        return got

    out = side_by_side(proxy, haproxy, lambda port: config(port, be), scenario)
    assert out["waxlb"] == out["haproxy"]
    assert out["waxlb"] == [((200, "a2"), "/p0"), ((200, "a1"), "/p1"), ((200, "a1"), "/p2"),
                            ((200, "a2"), "/q1"), ((200, "a1"), "/q2")]


# ------------------------------------------------------------------ connection failures
def test_retry_on_without_conn_failure(proxy, haproxy, nodes):
    """retry-on replaces the default: without conn-failure a refused connection is not retried at all."""
    nodes.api("a2")
    dead = free_port_fn()

    def make(retry_on):
        be = ("    balance first\n    retries 3\n    option redispatch\n    retry-on %s\n" % retry_on
              + "    server d1 127.0.0.1:%d\n" % dead + servers(nodes, ["a2"]))
        return lambda port: config(port, be)

    scenario = lambda port, sock: answer(http(port, "GET", "/x"))   # noqa: E731
    out = side_by_side(proxy, haproxy, make("503"), scenario)
    assert out["waxlb"] == out["haproxy"] == (503, None)
    out = side_by_side(proxy, haproxy, make("conn-failure 503"), scenario)
    assert out["waxlb"] == out["haproxy"] == (200, "a2")


def test_leastconn_redispatches_at_once(proxy, haproxy, nodes):
    """HAProxy 2.6 redispatches on every retry for any non-hash algorithm while several servers are active, not
    only with roundrobin: with leastconn a dead server costs a redispatch (wredis), never a retry on it (wretr),
    which would also wait out a turn-around pause."""
    nodes.api("a2")
    dead = free_port_fn()
    be = ("    balance leastconn\n    retries 3\n    option redispatch\n"
          + "    server d1 127.0.0.1:%d\n" % dead + servers(nodes, ["a2"]))

    def scenario(port, sock):
        got = [answer(http(port, "GET", "/x")) for _ in range(3)]
        d1 = show_stat(sock)[("be", "d1")]
        return got, d1["wretr"], int(d1["wredis"]) > 0

    out = side_by_side(proxy, haproxy, lambda port: config(port, be), scenario)
    assert out["waxlb"] == out["haproxy"] == ([(200, "a2")] * 3, "0", True)


def test_connect_timeout_retried(proxy, haproxy):
    """A server that never completes the handshake (its accept queue is full, so SYNs are dropped): each attempt
    ends at timeout connect, the same server is tried again after the turn-around, and the client gets 503 once
    the retries are spent (found: waxlb lost the turn-around deadline after a connect timeout and hung)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    filler = socket.create_connection(lsock.getsockname(), timeout=2)   # the one queued connection
    try:
        be = "    retries 2\n    timeout connect 200ms\n    server s 127.0.0.1:%d\n" % lsock.getsockname()[1]
        scenario = lambda port, sock: parse_all(raw(port, req("GET /x HTTP/1.1", "Host: x"), timeout=8))  # noqa: E731
        out = side_by_side(proxy, haproxy, lambda port: config(port, be), scenario)
        assert [r.status for r in out["waxlb"]] == [r.status for r in out["haproxy"]] == [503]
    finally:
        filler.close()
        lsock.close()
