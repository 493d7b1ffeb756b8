"""TLS termination (BearSSL): `bind ... ssl crt ...`, SNI certificate choice, versions and suites, session
resumption, ssl_fc rules and redirects, wss:// tunnels, hostile clients, and certificate configuration errors.

Certificates are made at test time with the openssl CLI (tlsutil.make_certs) in a session tmp dir.
Clients: `openssl s_client`, `curl`, Python's ssl module and python3-websockets 10.4 (asyncio API)."""
import asyncio
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time

import pytest
import websockets

import fakenodes
from conftest import (HAPROXY, IS_SHIM, Proxy, free_port_fn, parse_all, parse_response, raw, req, seed_config,
                      start_seed_nodes, wait_port, wait_until, waxlb_cmd)
import tlsutil
from tlsutil import client_ctx, s_client, tls_connect, tls_request

WS_HOST = "ws-wax.eosphere.io"
CIPHER_OK = re.compile(r"^ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$")


def need(tool):
    if not shutil.which(tool):
        pytest.skip("%s is not installed" % tool)


# ------------------------------------------------------------------ s_client output
def hs_ok(out):
    """True if s_client's output shows a completed handshake."""
    return re.search(r"Cipher is (?!\(NONE\))\S+", out) is not None


def field(out, name):
    m = re.search(r"^\s*%s\s*:\s*(.*?)\s*$" % re.escape(name), out, re.M)
    return m.group(1) if m else None


def subject_cn(out):
    m = re.search(r"^subject=.*?CN\s*=\s*([^,\n]+?)\s*$", out, re.M)
    return m.group(1) if m else None


def peer_key(out):
    m = re.search(r"Server public key is (\d+) bit", out)
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    need("openssl")
    return tlsutil.make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def seed_nodes():
    n = fakenodes.Nodes()
    ports = start_seed_nodes(n)
    yield n, ports
    n.close()


def all_crts(c):
    return "crt %s crt %s crt %s crt %s" % (c.wax, c.ws, c.wild, c.p384)


@pytest.fixture(scope="module")
def tls_seed(waxlb, seed_nodes, certs, tmp_path_factory):
    """The seed config with a TLS bind next to the plain one, X-Forwarded-Proto and del-header rules.
    -> (Proxy, plain port, tls port, nodes)"""
    n, ports = seed_nodes
    port, tport = free_port_fn(), free_port_fn()
    cfg = seed_config(port, ports)
    plain_bind = "    bind 127.0.0.1:%d\n" % port
    assert plain_bind in cfg
    cfg = cfg.replace(plain_bind, plain_bind +
                      "    bind 127.0.0.1:%d ssl %s alpn http/1.1\n" % (tport, all_crts(certs)) +
                      "    http-request set-header X-Forwarded-Proto https if { ssl_fc }\n"
                      "    http-request del-header X-Secret\n")
    cfg = "global\n    tune.ssl.cachesize 1000\n\n" + cfg
    p = Proxy(waxlb_cmd(), cfg, tmp_path_factory.mktemp("tlsseed"), port=tport, name="tlsseed")
    p.start()
    assert wait_port(port, 5.0)
    yield p, port, tport, n
    p.stop()


def simple_cfg(bind_lines, backend_port, extra="", timeouts=None, fe_extra=""):
    t = timeouts or {"connect": "2s", "client": "10s", "server": "10s"}
    return ("defaults\n    mode http\n" + "".join("    timeout %s %s\n" % kv for kv in t.items()) + "\n"
            + extra + "frontend fe\n" + "".join("    bind %s\n" % b for b in bind_lines) + fe_extra
            + "    default_backend be\n\nbackend be\n    server n1 127.0.0.1:%d\n" % backend_port)


@pytest.fixture(scope="module")
def api_node():
    n = fakenodes.Nodes()
    port = n.api("api1")
    yield n, port
    n.close()


# ------------------------------------------------------------------ handshakes with openssl s_client
SNI_CASES = [
    # servername, expected CN, expected key bits, hostname to verify (None: the default cert, no name check)
    ("wax.eosphere.io", "wax.eosphere.io", 2048, "wax.eosphere.io"),
    ("ws-wax.eosphere.io", "ws-wax.eosphere.io", 256, "ws-wax.eosphere.io"),
    ("api.wax.test", "*.wax.test", 256, "api.wax.test"),
    ("p384.wax.example", "p384.wax.example", 384, "p384.wax.example"),
    ("WS-WAX.EOSPHERE.IO", "ws-wax.eosphere.io", 256, None),      # SNI is case-insensitive
    ("unknown.example.com", "wax.eosphere.io", 2048, None),      # unknown: the first cert
    ("a.b.wax.test", "wax.eosphere.io", 2048, None),             # '*.' covers one label only
    ("wax.test", "wax.eosphere.io", 2048, None),                 # ... and not the bare domain
    (None, "wax.eosphere.io", 2048, None),                       # no SNI: the first cert
]


@pytest.mark.parametrize("sni,cn,bits,verify", SNI_CASES, ids=[str(c[0]) for c in SNI_CASES])
def test_sclient_sni_choice(tls_seed, certs, sni, cn, bits, verify):
    p, _, tport, _ = tls_seed
    extra = ["-verify_hostname", verify] if verify else []
    if IS_SHIM:
        extra.append("-tls1_2")     # HAProxy would negotiate TLS 1.3
    rc, out = s_client(tport, sni, certs.ca, *extra)
    assert rc == 0 and hs_ok(out), out
    assert field(out, "Protocol") == "TLSv1.2", out
    cipher = field(out, "Cipher")
    assert CIPHER_OK.match(cipher or ""), cipher
    # the suite's authentication matches the certificate's key type
    assert cipher.startswith("ECDHE-RSA-" if bits == 2048 else "ECDHE-ECDSA-"), cipher
    assert subject_cn(out) == cn, out
    assert peer_key(out) == bits, out
    assert re.search(r"Verify return code: 0 \(ok\)", out), out
    assert p.alive()


def test_crt_directory(proxy, certs, api_node):
    """`crt DIR` loads every file of the directory; the first one (by name) is the default."""
    need("openssl")
    _, a1 = api_node
    tport = free_port_fn()
    proxy(simple_cfg(["127.0.0.1:%d ssl crt %s" % (tport, certs.dir)], a1), tport)
    for sni, cn in (("wax.eosphere.io", "wax.eosphere.io"), ("ws-wax.eosphere.io", "ws-wax.eosphere.io"),
                    ("x.wax.test", "*.wax.test"), ("nothing.example", "wax.eosphere.io")):
        rc, out = s_client(tport, sni, certs.ca)
        assert rc == 0 and hs_ok(out), out
        assert subject_cn(out) == cn, (sni, out)
        assert re.search(r"Verify return code: 0 \(ok\)", out), out


def test_strict_sni_refuses_unknown_name(proxy, certs, api_node, is_shim):
    _, a1 = api_node
    tport = free_port_fn()
    p = proxy(simple_cfg(["127.0.0.1:%d ssl crt %s crt %s strict-sni" % (tport, certs.wax, certs.ws)], a1), tport)
    rc, out = s_client(tport, WS_HOST, certs.ca, "-verify_hostname", WS_HOST)
    assert rc == 0 and hs_ok(out) and subject_cn(out) == WS_HOST, out
    mark = p.mark()
    rc, out = s_client(tport, "unknown.example.com", certs.ca)
    assert rc != 0 and not hs_ok(out), out
    if not is_shim:
        p.wait_for_log(r"\] fe/\d+: SSL handshake failure$", since=mark)
    # still serving
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca)
    assert rc == 0 and hs_ok(out) and subject_cn(out) == "wax.eosphere.io", out


def test_strict_sni_refuses_missing_sni(proxy, certs, api_node):
    _, a1 = api_node
    tport = free_port_fn()
    proxy(simple_cfg(["127.0.0.1:%d ssl crt %s crt %s strict-sni" % (tport, certs.wax, certs.ws)], a1), tport)
    rc, out = s_client(tport, None, certs.ca)
    assert rc != 0 and not hs_ok(out), out


LOW = ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]   # Debian's OpenSSL offers no TLS 1.1 otherwise


def test_tls11_refused_by_default(tls_seed, certs, proxy, api_node):
    p, _, tport, _ = tls_seed
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, *LOW)
    assert rc != 0 and not hs_ok(out), out
    assert "CONNECTED" in out, out     # it reached waxlb: the refusal is the server's
    # control: the same client completes a TLS 1.1 handshake when the config allows it (OpenSSL 3.0 under
    # HAProxy only does below TLS 1.2 at @SECLEVEL=0, and so does waxlb)
    _, a1 = api_node
    t2 = free_port_fn()
    proxy(simple_cfg(["127.0.0.1:%d ssl crt %s ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:"
                      "@SECLEVEL=0" % (t2, certs.wax)], a1,
                     extra="global\n    ssl-default-bind-options ssl-min-ver TLSv1.1\n\n"), t2)
    rc, out = s_client(t2, "wax.eosphere.io", certs.ca, *LOW)
    assert rc == 0 and hs_ok(out), out
    assert field(out, "Protocol") == "TLSv1.1", out
    assert field(out, "Cipher") == "ECDHE-RSA-AES128-SHA", out
    # and TLS 1.2 on that bind picks the GCM suite
    rc, out = s_client(t2, "wax.eosphere.io", certs.ca, "-tls1_2")
    assert rc == 0 and field(out, "Protocol") == "TLSv1.2", out
    assert field(out, "Cipher") == "ECDHE-RSA-AES128-GCM-SHA256", out


def test_bind_ssl_min_ver_tls11(proxy, certs, api_node):
    """A bind's own ssl-min-ver (an early build set the MAX version from it: k[8] is 'v' in both keywords)."""
    _, a1 = api_node
    t2 = free_port_fn()
    proxy(simple_cfg(["127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.1 ciphers ECDHE-RSA-AES128-GCM-SHA256:"
                      "ECDHE-RSA-AES128-SHA:@SECLEVEL=0" % (t2, certs.wax)], a1), t2)
    rc, out = s_client(t2, "wax.eosphere.io", certs.ca, *LOW)
    assert rc == 0 and field(out, "Protocol") == "TLSv1.1", out
    rc, out = s_client(t2, "wax.eosphere.io", certs.ca, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0")
    assert rc != 0 and not hs_ok(out), out      # TLS 1.0 stays below the minimum
    rc, out = s_client(t2, "wax.eosphere.io", certs.ca, "-tls1_2")
    assert rc == 0 and field(out, "Protocol") == "TLSv1.2", out


def test_bind_ssl_max_ver_tls13_accepted(waxlb, certs, tmp_path):
    """`ssl-max-ver TLSv1.3` is valid HAProxy: waxlb warns (BearSSL stops at 1.2) but must not fail."""
    path = str(tmp_path / "maxver.cfg")
    with open(path, "w") as f:
        f.write(simple_cfg(["127.0.0.1:%d ssl crt %s ssl-max-ver TLSv1.3" % (free_port_fn(), certs.wax)], 1))
    rc, out, err = run_cfg(waxlb, path, "-c")
    assert rc == 0, err


def test_no_tlsv10_does_not_enable_tls11(proxy, certs, api_node):
    """HAProxy's default minimum is TLSv1.2; `no-tlsv10` only removes a version, it never adds TLS 1.1."""
    _, a1 = api_node
    t2 = free_port_fn()
    proxy(simple_cfg(["127.0.0.1:%d ssl crt %s no-tlsv10 ciphers ECDHE-RSA-AES128-GCM-SHA256:"
                      "ECDHE-RSA-AES128-SHA" % (t2, certs.wax)], a1), t2)
    rc, out = s_client(t2, "wax.eosphere.io", certs.ca, *LOW)
    assert rc != 0 and not hs_ok(out), out


@pytest.mark.waxlb_only     # waxlb's default suites (HAProxy's are OpenSSL's)
@pytest.mark.parametrize("client_ciphers", ["ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA",  # CBC
                                            "AES128-GCM-SHA256:AES256-GCM-SHA384"])           # no ECDHE
def test_default_suites_refuse_weak(tls_seed, certs, client_ciphers):
    _, _, tport, _ = tls_seed
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-tls1_2", "-cipher", client_ciphers)
    assert rc != 0 and not hs_ok(out), out
    # the same client with a default suite in its list succeeds
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-tls1_2", "-cipher",
                       client_ciphers + ":ECDHE-RSA-CHACHA20-POLY1305")
    assert rc == 0 and field(out, "Cipher") == "ECDHE-RSA-CHACHA20-POLY1305", out


@pytest.mark.waxlb_only     # HAProxy would negotiate TLS 1.3 suites
def test_ciphers_option(proxy, certs, api_node):
    _, a1 = api_node
    tport = free_port_fn()
    proxy(simple_cfg(["127.0.0.1:%d ssl crt %s crt %s ciphers ECDHE-ECDSA-CHACHA20-POLY1305:"
                      "ECDHE-RSA-AES256-GCM-SHA384" % (tport, certs.wax, certs.ws)], a1), tport)
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca)
    assert rc == 0 and field(out, "Cipher") == "ECDHE-RSA-AES256-GCM-SHA384", out
    rc, out = s_client(tport, WS_HOST, certs.ca)
    assert rc == 0 and field(out, "Cipher") == "ECDHE-ECDSA-CHACHA20-POLY1305", out
    # a suite not in the list is refused
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
    assert rc != 0 and not hs_ok(out), out


GUIDE_CIPHERS = ("ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:RSA+AESGCM:RSA+AES:"
                 "!aNULL:!MD5:!DSS")


def test_guide_cipher_string(proxy, certs, api_node):
    """The WAX guide's ssl-default-bind-ciphers (OpenSSL's language, once refused by waxlb): OpenSSL's selection in
    its order, restricted to BearSSL's suites, is the server's preference. HAProxy 2.6 with OpenSSL 3.0 and waxlb
    pick the same suites (-tls1_2: HAProxy would negotiate TLS 1.3)."""
    _, a1 = api_node
    t_rsa, t_ec = free_port_fn(), free_port_fn()
    p = proxy(simple_cfg(["127.0.0.1:%d ssl crt %s" % (t_rsa, certs.wax), "127.0.0.1:%d ssl crt %s" % (t_ec, certs.ws)],
                         a1, extra="global\n    ssl-default-bind-ciphers %s\n\n" % GUIDE_CIPHERS), t_rsa)
    if not IS_SHIM:     # HAProxy warns about DH parameters
        assert not p.find_log(r"warning|WARNING"), p.log()
    cases = [
        (t_rsa, "wax.eosphere.io", [], "ECDHE-RSA-AES256-GCM-SHA384"),
        (t_ec, WS_HOST, [], "ECDHE-ECDSA-AES256-GCM-SHA384"),
        # the server's order wins over the client's: GCM before CBC, AES-128-GCM before static RSA
        (t_rsa, "wax.eosphere.io", ["-cipher", "AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256"],
         "ECDHE-RSA-AES128-GCM-SHA256"),
        (t_ec, WS_HOST, ["-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384"], "ECDHE-ECDSA-AES256-SHA384"),
        (t_rsa, "wax.eosphere.io", ["-cipher", "AES128-SHA"], "AES128-SHA"),
        # ChaCha20 is not in the guide's list
        (t_rsa, "wax.eosphere.io", ["-cipher", "ECDHE-RSA-CHACHA20-POLY1305"], None),
    ]
    for port, host, extra, want in cases:
        rc, out = s_client(port, host, certs.ca, "-tls1_2", *extra)
        if want is None:
            assert rc != 0 and not hs_ok(out), (extra, out)
        else:
            assert rc == 0 and field(out, "Cipher") == want, (extra, out)


@pytest.mark.waxlb_only     # HAProxy does not warn
def test_ciphers_mozilla_intermediate(proxy, certs, api_node):
    """Mozilla's intermediate list names DHE suites BearSSL lacks: one warning line, the ECDHE ones in its order."""
    _, a1 = api_node
    tport = free_port_fn()
    moz = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
           "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
           "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305")
    p = proxy(simple_cfg(["127.0.0.1:%d ssl crt %s ciphers %s ciphersuites TLS_AES_128_GCM_SHA256"
                          % (tport, certs.wax, moz)], a1), tport)
    # stderr is read by a thread: wait for the lines
    assert wait_until(lambda: p.find_log(r"ciphers: DHE-RSA-AES128-GCM-SHA256, DHE-RSA-AES256-GCM-SHA384, "
                                         r"DHE-RSA-CHACHA20-POLY1305 not in BearSSL, skipped")), p.log()
    assert wait_until(lambda: p.find_log(r"bind option 'ciphersuites' is ignored by waxlb "
                                         r"\(BearSSL has no TLS 1\.3\)")), p.log()
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-tls1_2")
    assert rc == 0 and field(out, "Cipher") == "ECDHE-RSA-AES128-GCM-SHA256", out
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256")
    assert rc != 0 and not hs_ok(out), out


def test_alpn(tls_seed, certs):
    _, _, tport, _ = tls_seed
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-alpn", "h2,http/1.1")
    assert rc == 0 and hs_ok(out), out
    assert re.search(r"^ALPN protocol: http/1\.1$", out, re.M), out


@pytest.mark.waxlb_only     # TLS 1.2 session ids (HAProxy speaks TLS 1.3 and tickets)
def test_session_resumption(tls_seed, certs, tmp_path):
    _, _, tport, _ = tls_seed
    sess = str(tmp_path / "sess.pem")
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-sess_out", sess)
    assert rc == 0 and re.search(r"^New, TLSv1\.2, Cipher is ", out, re.M), out
    assert os.path.getsize(sess) > 0
    for _ in range(2):
        rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-sess_in", sess)
        assert rc == 0 and re.search(r"^Reused, TLSv1\.2, Cipher is ", out, re.M), out
    # a fresh client (no session) gets a new one
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca)
    assert rc == 0 and re.search(r"^New, TLSv1\.2", out, re.M), out


def test_session_cache_disabled(proxy, certs, api_node, tmp_path):
    """tune.ssl.cachesize 0 disables the session cache (HAProxy): no resumption, handshakes still work.
    (no-tls-tickets and -tls1_2 make HAProxy comparable: waxlb has neither tickets nor TLS 1.3.)"""
    _, a1 = api_node
    tport = free_port_fn()
    proxy(simple_cfg(["127.0.0.1:%d ssl crt %s no-tls-tickets" % (tport, certs.wax)], a1,
                     extra="global\n    tune.ssl.cachesize 0\n\n"), tport)
    sess = str(tmp_path / "sess.pem")
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-tls1_2", "-sess_out", sess)
    assert rc == 0 and re.search(r"^New, TLSv1\.2", out, re.M), out
    if not os.path.exists(sess):
        return      # no session id at all (HAProxy): nothing to resume
    rc, out = s_client(tport, "wax.eosphere.io", certs.ca, "-tls1_2", "-sess_in", sess)
    assert rc == 0 and re.search(r"^New, TLSv1\.2", out, re.M), out


# ------------------------------------------------------------------ HTTP over TLS
def curl(url, ca, resolve, *extra, timeout=10):
    need("curl")
    args = ["curl", "-sS", "--max-time", "8", "--cacert", ca, "--resolve", resolve, "-D", "-", "-o", "-"]
    r = subprocess.run(args + list(extra) + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def test_curl_get_info(tls_seed, certs):
    p, port, tport, _ = tls_seed
    rc, out, err = curl("https://wax.eosphere.io:%d/v1/chain/get_info" % tport, certs.ca,
                        "wax.eosphere.io:%d:127.0.0.1" % tport, "-H", "Host: wax.eosphere.io")
    assert rc == 0, err
    rs = parse_all(out)
    assert rs and rs[-1].status == 200, out[:500]
    r = rs[-1]
    assert r.node in ("api1", "api2", "api3"), r
    info = json.loads(r.body)
    assert info["chain_id"] == fakenodes.WAX_CHAIN_ID
    assert abs(info["head_block_num"] - fakenodes.head_block_num()) < 20
    # Host with the port does not match the seed's exact hdr(host) ACL: no backend (503), as HAProxy
    rc, out, err = curl("https://wax.eosphere.io:%d/v1/chain/get_info" % tport, certs.ca,
                        "wax.eosphere.io:%d:127.0.0.1" % tport)
    assert rc == 0, err
    assert parse_all(out)[-1].status == 503


def echo_headers(r):
    return [(k.lower(), v) for k, v in json.loads(r.body)["headers"]]


def test_x_forwarded_proto_and_del_header(tls_seed, certs):
    p, port, tport, _ = tls_seed
    data = req("GET /v1/chain/echo?q=1 HTTP/1.1", "Host: wax.eosphere.io", "X-Forwarded-Proto: http",
               "X-Secret: hunter2", "X-Keep: yes", "Connection: close")
    rs = parse_all(tls_request(tport, "wax.eosphere.io", data, certs.ca))
    assert rs and rs[-1].status == 200, rs
    h = echo_headers(rs[-1])
    assert [v for k, v in h if k == "x-forwarded-proto"] == ["https"], h   # replaced, not added
    assert not [v for k, v in h if k == "x-secret"], h
    assert ("x-keep", "yes") in h, h
    # plain HTTP: no https, the client's own value passes; del-header still applies
    rs = parse_all(raw(port, data))
    assert rs and rs[-1].status == 200, rs
    h = echo_headers(rs[-1])
    assert [v for k, v in h if k == "x-forwarded-proto"] == ["http"], h
    assert not [v for k, v in h if k == "x-secret"], h
    assert ("x-keep", "yes") in h, h


def test_keepalive_over_tls(tls_seed, certs):
    """Several requests on one TLS connection, including a 1 MB response."""
    _, _, tport, _ = tls_seed
    s = tlsutil.tls_connect(tport, "wax.eosphere.io", certs.ca)
    try:
        buf = bytearray()
        for i in range(3):
            s.sendall(req("GET /v1/chain/get_info HTTP/1.1", "Host: wax.eosphere.io"))
            s.sendall(req("POST /v1/chain/x HTTP/1.1", "Host: wax.eosphere.io", "Content-Length: 200000",
                          body=b"z" * 200000))
        got = []
        end = time.time() + 10
        while len(got) < 6 and time.time() < end:
            r = parse_response(buf)
            if r:
                got.append(r[0])
                del buf[:r[1]]
                continue
            d = s.recv(1 << 20)
            assert d, "closed after %d responses" % len(got)
            buf += d
        assert [r.status for r in got] == [200] * 6
        for r in got[1::2]:
            assert json.loads(r.body)["body_sha256"] == hashlib.sha256(b"z" * 200000).hexdigest()
    finally:
        s.close()


@pytest.fixture
def redirect_proxy(proxy, certs, api_node):
    _, a1 = api_node
    p1, t1, p2, t2 = (free_port_fn() for _ in range(4))
    cfg = simple_cfg(["127.0.0.1:%d" % p1, "127.0.0.1:%d ssl crt %s" % (t1, certs.wax)], a1,
                     fe_extra="    redirect scheme https code 301 if !{ ssl_fc }\n")
    cfg += ("\nfrontend fe2\n    bind 127.0.0.1:%d\n    bind 127.0.0.1:%d ssl crt %s\n"
            "    http-request redirect scheme https if !{ ssl_fc }\n    default_backend be\n" % (p2, t2, certs.wax))
    p = proxy(cfg, t1)
    assert wait_port(p1) and wait_port(p2) and wait_port(t2)
    return p, p1, t1, p2, t2


def test_redirect_scheme_https(redirect_proxy, certs):
    p, p1, t1, p2, t2 = redirect_proxy
    data = req("GET /v1/chain/get_info?a=1&b=x%20y HTTP/1.1", "Host: wax.eosphere.io", "Connection: close")
    for port, code in ((p1, 301), (p2, 302)):   # frontend `redirect` with code; http-request redirect default
        rs = parse_all(raw(port, data))
        assert rs and rs[-1].status == code, rs
        assert rs[-1].header("Location") == "https://wax.eosphere.io/v1/chain/get_info?a=1&b=x%20y", rs[-1].headers
        assert rs[-1].node is None
    for port in (t1, t2):                       # on TLS: no redirect, the backend answers
        rs = parse_all(tls_request(port, "wax.eosphere.io", data, certs.ca))
        assert rs and rs[-1].status == 200 and rs[-1].node == "api1", rs
        assert json.loads(rs[-1].body)["chain_id"] == fakenodes.WAX_CHAIN_ID


# ------------------------------------------------------------------ wss:// through waxlb
def wss_connect(port, ca, sni=WS_HOST):
    return websockets.connect("wss://%s:%d/" % (sni, port), ssl=client_ctx(ca), host="127.0.0.1", port=port,
                              server_hostname=sni, max_size=None, compression=None, ping_interval=None,
                              open_timeout=5)


async def stream_check(ws, n, seed):
    await ws.send(b"\xf0" + struct.pack("<QQ", n, seed))
    h, got = hashlib.sha256(), 0
    for _ in range(n // fakenodes.CHUNK + 10):
        try:
            m = await asyncio.wait_for(ws.recv(), 10)
        except asyncio.TimeoutError:
            raise AssertionError("stream stalled after %d of %d bytes" % (got, n)) from None
        if isinstance(m, str):
            return got, h.hexdigest(), m
        h.update(m)
        got += len(m)
    raise AssertionError("no final hash message")


@pytest.mark.slow
def test_wss_abi_stream_upload(tls_seed, certs):
    _, _, tport, n = tls_seed
    N = 100 * 1024 * 1024 + 12345

    async def go():
        async with wss_connect(tport, certs.ca) as ws:
            abi = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(abi, str) and abi == fakenodes.ABI and len(abi) > 25000
            await ws.send(b"\xf2")
            node = await asyncio.wait_for(ws.recv(), 5)
            assert node in ("shp1", "shp2")
            t0 = time.time()
            got, mine, theirs = await stream_check(ws, N, 77)
            dt = time.time() - t0
            assert got == N
            assert mine == theirs
            for size in (1, 125, 126, 65535, 65536, 65537, 200000, 1 << 20, (1 << 20) + 3):
                msg = b"\xf1" + os.urandom(size - 1)
                try:
                    await ws.send(msg)
                    rep = json.loads(await asyncio.wait_for(ws.recv(), 10))
                except (asyncio.TimeoutError, websockets.ConnectionClosed) as e:
                    raise AssertionError("no answer to a %d-byte upstream message: %r" % (size, e)) from None
                assert rep == {"sha256": hashlib.sha256(msg).hexdigest(), "len": size}, size
            return dt
    dt = asyncio.run(asyncio.wait_for(go(), 60))
    print("100 MB over wss in %.2fs" % dt)


def test_wss_verifies_certificate(tls_seed, certs):
    """The wss client sees the ws-wax certificate (hostname check on); a wrong name fails verification."""
    _, _, tport, _ = tls_seed

    async def go():
        async with wss_connect(tport, certs.ca) as ws:
            cert = ws.transport.get_extra_info("peercert")
            assert ("DNS", WS_HOST) in cert["subjectAltName"]
            assert await asyncio.wait_for(ws.recv(), 5) == fakenodes.ABI
        with pytest.raises(ssl.SSLCertVerificationError):
            # unknown SNI -> default cert (wax.eosphere.io) -> hostname mismatch for the client
            async with wss_connect(tport, certs.ca, sni="nope.example.com"):
                pass
    asyncio.run(asyncio.wait_for(go(), 20))


# ------------------------------------------------------------------ hostile clients
@pytest.fixture
def hostile(proxy, certs, nodes):
    """A TLS frontend with 1 s client/http-request timeouts, an API and a SHIP backend, no health checks."""
    a1, s1 = nodes.api("api1"), nodes.ship("shp1")
    tport = free_port_fn()
    cfg = ("defaults\n    mode http\n    timeout connect 2s\n    timeout client 1s\n    timeout http-request 1s\n"
           "    timeout server 10s\n    timeout tunnel 30s\n\n"
           "frontend tls-in\n    bind 127.0.0.1:%d ssl %s\n"
           "    acl ws hdr(Upgrade) -i websocket\n    use_backend ship if ws\n    default_backend api\n\n"
           "backend api\n    server a1 127.0.0.1:%d\n\nbackend ship\n    server s1 127.0.0.1:%d\n"
           % (tport, all_crts(certs), a1, s1))
    p = proxy(cfg, tport)
    return p, tport, nodes


def get_info_tls(port, ca):
    data = req("GET /v1/chain/get_info HTTP/1.1", "Host: wax.eosphere.io", "Connection: close")
    rs = parse_all(tls_request(port, "wax.eosphere.io", data, ca))
    assert rs and rs[-1].status == 200 and json.loads(rs[-1].body)["chain_id"] == fakenodes.WAX_CHAIN_ID, rs
    return rs[-1]


def read_until_close(s, timeout):
    """Read and discard until the peer closes. -> seconds waited, or None if still open at timeout."""
    t0 = time.time()
    end = t0 + timeout
    while True:
        left = end - time.time()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            return None
        except (ConnectionResetError, ConnectionAbortedError):
            return time.time() - t0
        if not d:
            return time.time() - t0


def fd_settles(p, want, timeout=5.0):
    """Wait until the proxy holds no more fds than its baseline (a leak keeps it above)."""
    return wait_until(lambda: p.fd_count() <= want, timeout)


def settled_fds(p, quiet=0.3, timeout=3.0):
    """The proxy's fd count once it has not changed for `quiet` seconds (closes of finished connections
    may trail the client's view by a moment)."""
    end = time.time() + timeout
    last, since = p.fd_count(), time.time()
    while time.time() < end:
        time.sleep(0.02)
        n = p.fd_count()
        if n != last:
            last, since = n, time.time()
        elif time.time() - since >= quiet:
            break
    return last


def client_hello(sni):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = out.read()
    assert hello[:1] == b"\x16" and len(hello) > 100
    return hello


class BioTLS:
    """A TLS client over a raw socket (ssl.MemoryBIO), so that records can be cut and the socket reset."""

    def __init__(self, port, sni, ca, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = client_ctx(ca).wrap_bio(self.inc, self.out, server_hostname=sni)
        self.timeout = timeout

    def handshake(self):
        end = time.time() + self.timeout
        for _ in range(100):
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending = self.out.read()
                if pending:
                    self.sock.sendall(pending)
                self.sock.settimeout(max(0.01, end - time.time()))
                d = self.sock.recv(65536)
                assert d, "closed during the handshake"
                self.inc.write(d)
        pending = self.out.read()
        if pending:
            self.sock.sendall(pending)
        assert self.obj.version() == "TLSv1.2"

    def records(self, data):
        self.obj.write(data)
        return self.out.read()

    def reset(self):
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


@pytest.mark.waxlb_only
@pytest.mark.parametrize("name,payload", [
    ("garbage", b"\x00\x01\x02 this is not TLS at all \xff" * 20),
    ("plain_http", req("GET /v1/chain/get_info HTTP/1.1", "Host: wax.eosphere.io")),
    ("bad_record_len", b"\x16\x03\x01\xff\xff" + b"\x01" * 300),
    ("alert_first", b"\x15\x03\x03\x00\x02\x02\x28"),
    ("sslv2_hello", b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + b"\x00" * 37),
], ids=lambda v: v if isinstance(v, str) else "")
def test_garbage_on_tls_port(hostile, certs, name, payload):
    p, tport, _ = hostile
    get_info_tls(tport, certs.ca)
    base = settled_fds(p)
    for i in range(3):
        mark = p.mark()
        s = socket.create_connection(("127.0.0.1", tport), timeout=3)
        try:
            s.sendall(payload)
            waited = read_until_close(s, 3.0)
            assert waited is not None, "%s: connection still open after 3 s" % name
        finally:
            s.close()
        p.wait_for_log(r"^127\.0\.0\.1:\d+ \[[^\]]+\] tls-in/\d+: (SSL handshake failure|Connection (closed|error) during SSL handshake)$", since=mark)
        assert fd_settles(p, base), "fds: %d, baseline %d" % (p.fd_count(), base)
    get_info_tls(tport, certs.ca)
    assert p.alive()


@pytest.mark.waxlb_only
@pytest.mark.parametrize("what", ["nothing", "half_client_hello", "hello_then_silence"])
def test_stalled_handshake_times_out(hostile, certs, what):
    p, tport, _ = hostile
    get_info_tls(tport, certs.ca)
    base = settled_fds(p)
    hello = client_hello("wax.eosphere.io")
    s = socket.create_connection(("127.0.0.1", tport), timeout=5)
    try:
        if what == "half_client_hello":
            s.sendall(hello[:len(hello) // 2])
        elif what == "hello_then_silence":
            s.sendall(hello)     # waxlb answers ServerHello...; the client never sends its key exchange
        waited = read_until_close(s, 5.0)
    finally:
        s.close()
    assert waited is not None, "waxlb kept a stalled handshake open for 5 s (timeouts are 1 s)"
    assert 0.7 <= waited <= 3.0, "closed after %.2fs; timeouts are 1 s" % waited
    assert fd_settles(p, base)
    get_info_tls(tport, certs.ca)


@pytest.mark.waxlb_only
def test_vanishing_clients_do_not_hurt_tunnels(hostile, certs):
    """Clients that reset mid-handshake or mid-record while a wss tunnel is open: the tunnel keeps
    streaming, requests keep working, and the proxy's fd count returns to its baseline after each case."""
    p, tport, nodes = hostile
    get_info_tls(tport, certs.ca)
    base = settled_fds(p)
    hello = client_hello("wax.eosphere.io")

    def case_half_hello_rst():
        s = socket.create_connection(("127.0.0.1", tport), timeout=3)
        s.sendall(hello[:len(hello) // 2])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()

    def case_after_handshake_rst():
        c = BioTLS(tport, "wax.eosphere.io", certs.ca)
        c.handshake()
        c.reset()

    def case_partial_record_rst():
        c = BioTLS(tport, "wax.eosphere.io", certs.ca)
        c.handshake()
        recs = c.records(req("POST /v1/chain/x HTTP/1.1", "Host: wax.eosphere.io", "Content-Length: 12000",
                             body=b"q" * 12000))
        assert len(recs) > 12000
        c.sock.sendall(recs[:len(recs) // 2 + 7])   # cuts a record in the middle
        c.reset()

    def case_partial_header_rst():
        c = BioTLS(tport, "wax.eosphere.io", certs.ca)
        c.handshake()
        recs = c.records(b"GET /v1/chain/get_info HTTP/1.1\r\nHost: wax")
        c.sock.sendall(recs[:3])                     # 3 bytes of a 5-byte record header
        c.reset()

    def case_mid_response_rst():
        c = BioTLS(tport, "wax.eosphere.io", certs.ca)
        c.handshake()
        c.sock.sendall(c.records(req("GET /big?size=20000000 HTTP/1.1", "Host: wax.eosphere.io")))
        c.sock.settimeout(5)
        assert c.sock.recv(65536)
        c.reset()

    cases = [case_half_hello_rst, case_after_handshake_rst, case_partial_record_rst, case_partial_header_rst,
             case_mid_response_rst]

    async def go():
        loop = asyncio.get_running_loop()
        async with wss_connect(tport, certs.ca) as ws:
            assert await asyncio.wait_for(ws.recv(), 5) == fakenodes.ABI
            await ws.send(b"\xf2")
            assert await asyncio.wait_for(ws.recv(), 5) == "shp1"
            with_tunnel = await loop.run_in_executor(None, settled_fds, p)
            assert with_tunnel > base
            for case in cases:
                await loop.run_in_executor(None, case)
                ok = await loop.run_in_executor(None, fd_settles, p, with_tunnel)
                assert ok, "%s: fds %d, expected %d" % (case.__name__, p.fd_count(), with_tunnel)
                # the tunnel is still alive after each case
                await ws.send(b"\xf1" + b"x" * 70000)
                rep = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert rep["len"] == 70001, case.__name__
            got, mine, theirs = await stream_check(ws, 20 * 1024 * 1024, 5)
            assert got == 20 * 1024 * 1024 and mine == theirs
        await loop.run_in_executor(None, get_info_tls, tport, certs.ca)
    asyncio.run(asyncio.wait_for(go(), 40))
    assert fd_settles(p, base), "fds %d, baseline %d" % (p.fd_count(), base)
    assert wait_until(lambda: nodes.ws_active()["shp1"] == 0, 5)
    assert p.alive()


# ------------------------------------------------------------------ configuration errors
def run_cfg(waxlb, path, *args, timeout=5.0):
    proc = subprocess.Popen([waxlb] + list(args) + ["-f", path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail("waxlb %s did not exit within %.0fs (it started?). stderr:\n%s"
                    % (" ".join(args), timeout, err.decode(errors="replace")))
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


BAD_BINDS = {
    "missing_crt": lambda c: "ssl crt " + c.missing,
    "key_mismatch": lambda c: "ssl crt " + c.mismatch,
    "no_key": lambda c: "ssl crt " + c.nokey,
    "not_pem": lambda c: "ssl crt " + c.garbage,
    "second_crt_missing": lambda c: "ssl crt %s crt %s" % (c.wax, c.missing),
    "ssl_without_crt": lambda c: "ssl",
    "min_ver_tls13": lambda c: "ssl crt %s ssl-min-ver TLSv1.3" % c.wax,
    "crt_without_value": lambda c: "ssl crt",
    "ciphers_none_in_bearssl": lambda c: "ssl crt %s ciphers DHE-RSA-AES128-GCM-SHA256:CAMELLIA" % c.wax,
    "ciphers_tls13_names": lambda c: "ssl crt %s ciphers TLS_AES_128_GCM_SHA256" % c.wax,
    "force_tlsv13": lambda c: "ssl crt %s force-tlsv13" % c.wax,
    # OpenSSL 3.0 does TLS 1.1 only at @SECLEVEL=0: HAProxy would start and fail every handshake
    "force_tlsv11_seclevel2": lambda c: "ssl crt %s force-tlsv11" % c.wax,
    "curves_unknown": lambda c: "ssl crt %s curves X25519:nosuch" % c.wax,
}


@pytest.mark.waxlb_only
@pytest.mark.parametrize("case", sorted(BAD_BINDS))
@pytest.mark.parametrize("mode", ["check", "start"])
def test_config_errors(waxlb, certs, tmp_path, case, mode):
    port = free_port_fn()
    lines = ["defaults", "    mode http", "    timeout client 5s", "    timeout server 5s", "    timeout connect 1s",
             "", "frontend fe", "    bind 127.0.0.1:%d %s" % (port, BAD_BINDS[case](certs)),
             "    default_backend be", "", "backend be", "    server a 127.0.0.1:1", ""]
    bind_line = lines.index([l for l in lines if "bind " in l][0]) + 1
    path = str(tmp_path / "bad.cfg")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    rc, out, err = run_cfg(waxlb, path, *(["-c"] if mode == "check" else []))
    assert rc != 0, (out, err)
    assert re.search(r"%s:%d: " % (re.escape(path), bind_line), err), err
    assert "Configuration file is valid" not in out
    if mode == "start":
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


@pytest.mark.waxlb_only
def test_config_valid_controls(waxlb, certs, tmp_path):
    """The same files, well formed, pass -c (the error tests above can fail), including PKCS#8 and a crt dir."""
    port = free_port_fn()
    for i, b in enumerate(["ssl crt " + certs.wax, "ssl crt %s crt %s" % (certs.p384, certs.ws),
                           "ssl crt " + certs.dir, "ssl crt %s ssl-min-ver TLSv1.2 alpn http/1.1 strict-sni"
                           % certs.wild]):
        path = str(tmp_path / ("ok%d.cfg" % i))
        with open(path, "w") as f:
            f.write("defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n"
                    "    timeout connect 1s\n\nfrontend fe\n    bind 127.0.0.1:%d %s\n    default_backend be\n\n"
                    "backend be\n    server a 127.0.0.1:1\n" % (port, b))
        rc, out, err = run_cfg(waxlb, path, "-c")
        assert rc == 0, (b, out, err)


# ------------------------------------------------------------------ TLS keywords side by side with HAProxy 2.6
IMPLS = ["waxlb", "haproxy"]


def start_impl(proxy, impl, cfg, port):
    """The config under waxlb, or under Debian's haproxy (the reference) on the same ports."""
    if impl == "haproxy" and not HAPROXY:
        pytest.skip("Debian's haproxy is not installed")
    return proxy(cfg, port, binary=HAPROXY if impl == "haproxy" else None, name=impl)


def handshake(port, certs, *extra):
    """-> the negotiated protocol, or None when the handshake failed."""
    rc, out = s_client(port, "wax.eosphere.io", certs.ca, *extra)
    return field(out, "Protocol") if rc == 0 and hs_ok(out) else None


LOW0 = "DEFAULT:@SECLEVEL=0"    # OpenSSL 3.0 (HAProxy's and the client's) only does TLS < 1.2 at level 0


@pytest.mark.parametrize("impl", IMPLS)
def test_force_tls_versions(proxy, certs, api_node, impl):
    """force-tlsv1x sets both ends (HAProxy's min = max); a later ssl-min-ver moves the minimum again; below
    TLS 1.2 nothing works unless the cipher list says @SECLEVEL=0 (OpenSSL 3.0's rule, kept by waxlb)."""
    _, a1 = api_node
    ports = [free_port_fn() for _ in range(5)]
    binds = ["ssl-min-ver TLSv1.0 force-tlsv12 ciphers " + LOW0,      # TLS 1.2 only
             "force-tlsv12 ssl-min-ver TLSv1.0 ciphers " + LOW0,      # 1.0 .. 1.2
             "ssl-min-ver TLSv1.0 ciphers " + LOW0,                   # control: 1.0 works
             "ssl-min-ver TLSv1.0",                                   # security level 2: 1.2 only
             "force-tlsv10 ciphers " + LOW0]                          # TLS 1.0 only
    start_impl(proxy, impl, simple_cfg(["127.0.0.1:%d ssl crt %s %s" % (p, certs.wax, b)
                                        for p, b in zip(ports, binds)], a1), ports[0])
    got = [(handshake(p, certs, "-tls1", "-cipher", LOW0), handshake(p, certs, "-tls1_2", "-cipher", LOW0))
           for p in ports]
    assert got == [(None, "TLSv1.2"), ("TLSv1", "TLSv1.2"), ("TLSv1", "TLSv1.2"), (None, "TLSv1.2"),
                   ("TLSv1", None)], got


@pytest.mark.parametrize("impl", IMPLS)
def test_force_tls_in_default_bind_options(proxy, certs, api_node, impl):
    """ssl-default-bind-options force-tlsv12 / prefer-client-ciphers: for every bind line, which may move one end
    again (its ssl-min-ver)."""
    _, a1 = api_node
    p1, p2 = free_port_fn(), free_port_fn()
    g = ("global\n    ssl-default-bind-options force-tlsv12 prefer-client-ciphers\n"
         "    ssl-default-bind-ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
         "ECDHE-RSA-AES128-SHA:@SECLEVEL=0\n\n")
    start_impl(proxy, impl, simple_cfg(["127.0.0.1:%d ssl crt %s" % (p1, certs.wax),
                                        "127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.0" % (p2, certs.wax)],
                                       a1, extra=g), p1)
    assert handshake(p1, certs, "-tls1", "-cipher", LOW0) is None
    assert handshake(p2, certs, "-tls1", "-cipher", LOW0) == "TLSv1"
    rc, out = s_client(p1, "wax.eosphere.io", certs.ca, "-tls1_2", "-cipher",
                       "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
    assert rc == 0 and field(out, "Cipher") == "ECDHE-RSA-AES128-GCM-SHA256", out     # the client's choice


@pytest.mark.parametrize("impl", IMPLS)
def test_prefer_client_ciphers(proxy, certs, api_node, impl):
    """The server's order by default; the client's with prefer-client-ciphers."""
    _, a1 = api_node
    p1, p2 = free_port_fn(), free_port_fn()
    lst = "ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"
    start_impl(proxy, impl, simple_cfg(["127.0.0.1:%d ssl crt %s %s" % (p1, certs.wax, lst),
                                        "127.0.0.1:%d ssl crt %s %s prefer-client-ciphers" % (p2, certs.wax, lst)],
                                       a1), p1)
    client = ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"]
    got = []
    for p in (p1, p2):
        rc, out = s_client(p, "wax.eosphere.io", certs.ca, *client)
        assert rc == 0, out
        got.append(field(out, "Cipher"))
    assert got == ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"], got


def temp_key(port, certs, curves):
    rc, out = s_client(port, "wax.eosphere.io", certs.ca, "-tls1_2", "-curves", curves)
    if rc != 0 or not hs_ok(out):
        return None
    k = field(out, "Server Temp Key") or ""
    return k.split(",")[1].strip() if k.startswith("ECDH,") else k.split(",")[0]


@pytest.mark.parametrize("impl", IMPLS)
def test_curves(proxy, certs, api_node, impl):
    """curves: only those, the server's order first; ecdhe: only without curves; ssl-default-bind-curves for lines
    without their own; without any, OpenSSL 3.0's order (X25519, P-256, P-521, P-384)."""
    _, a1 = api_node
    ports = [free_port_fn() for _ in range(5)]
    binds = ["curves P-384:X25519", "curves secp521r1 ecdhe prime256v1", "ecdhe secp384r1", "", "curves X448:P-256"]
    # ECDHE suites only: HAProxy's default list would fall back to static RSA without a common curve
    cfg = simple_cfg(["127.0.0.1:%d ssl crt %s ciphers ECDHE+AESGCM %s" % (p, certs.wax, b)
                      for p, b in zip(ports, binds)], a1)
    start_impl(proxy, impl, cfg, ports[0])
    got = [temp_key(ports[0], certs, "X25519:P-384"), temp_key(ports[0], certs, "P-256"),
           temp_key(ports[1], certs, "P-256:P-521"), temp_key(ports[1], certs, "P-256"),
           temp_key(ports[2], certs, "X25519:P-384"),
           temp_key(ports[3], certs, "P-384:P-521"), temp_key(ports[3], certs, "P-384:P-256"),
           temp_key(ports[4], certs, "X25519:P-256")]
    assert got == ["secp384r1", None, "secp521r1", None, "secp384r1", "secp521r1", "prime256v1", "prime256v1"], got
    # ssl-default-bind-curves, and a line's own curves over it
    p, q = free_port_fn(), free_port_fn()
    start_impl(proxy, impl, simple_cfg(["127.0.0.1:%d ssl crt %s" % (p, certs.wax),
                                        "127.0.0.1:%d ssl crt %s curves P-256" % (q, certs.wax)], a1,
                                       extra="global\n    ssl-default-bind-curves X25519\n"
                                       "    ssl-default-bind-ciphers ECDHE+AESGCM\n\n"), p)
    assert [temp_key(p, certs, "X25519:P-256"), temp_key(p, certs, "P-256"), temp_key(q, certs, "X25519:P-256")] \
        == ["X25519", None, "prime256v1"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("line", ["curves X25519:nosuch", "curves P-256:P-256", "curves p-256", "ecdhe foo",
                                  "curves X25519:"])
def test_curves_refused(waxlb, certs, tmp_path, impl, line):
    """What OpenSSL refuses stops HAProxy; waxlb says where (file:line)."""
    binary = waxlb if impl == "waxlb" else HAPROXY
    if binary is None:
        pytest.skip("Debian's haproxy is not installed")
    path = str(tmp_path / "c.cfg")
    with open(path, "w") as f:
        f.write(simple_cfg(["127.0.0.1:%d ssl crt %s %s" % (free_port_fn(), certs.wax, line)], 1))
    rc, out, err = run_cfg(binary, path, "-c")
    assert rc != 0, (out, err)
    if impl == "waxlb" and not IS_SHIM:
        assert re.search(r"%s:\d+: .*(curve|'%s')" % (re.escape(path), line.split()[0]), err), err


@pytest.mark.waxlb_only
def test_curves_messages(waxlb, certs, tmp_path):
    path = str(tmp_path / "c.cfg")
    with open(path, "w") as f:
        f.write(simple_cfg(["127.0.0.1:%d ssl crt %s curves X448:brainpoolP256r1:P-384" % (free_port_fn(),
                                                                                         certs.wax)], 1))
    rc, out, err = run_cfg(waxlb, path, "-c")
    assert rc == 0 and "curves: X448, brainpoolP256r1 not in BearSSL, skipped" in err, err
    with open(path, "w") as f:
        f.write(simple_cfg(["127.0.0.1:%d ssl crt %s curves X448" % (free_port_fn(), certs.wax)], 1))
    rc, out, err = run_cfg(waxlb, path, "-c")
    assert rc != 0 and "none of its curves is in BearSSL" in err, err


def resumed(port, certs, sess, save):
    """A TLS 1.2 handshake offering the session in <sess> (when not <save>) -> True when it was resumed."""
    rc, out = s_client(port, "wax.eosphere.io", certs.ca, "-tls1_2", "-sess_out" if save else "-sess_in", sess)
    assert rc == 0 and hs_ok(out), out
    return out.count("\nReused, ") == 1


@pytest.mark.parametrize("impl", IMPLS)
def test_ssl_lifetime(proxy, certs, api_node, impl, tmp_path):
    """tune.ssl.lifetime: a session older than that is not resumed (HAProxy: OpenSSL's session timeout, tickets
    included); 300 s when unset.  The only wait is for expiry, which can only get surer with time."""
    _, a1 = api_node
    p1, p2 = free_port_fn(), free_port_fn()
    start_impl(proxy, impl, simple_cfg(["127.0.0.1:%d ssl crt %s" % (p1, certs.wax)], a1), p1)
    start_impl(proxy, impl, simple_cfg(["127.0.0.1:%d ssl crt %s" % (p2, certs.wax)], a1,
                                       extra="global\n    tune.ssl.lifetime 1\n\n"), p2)
    s1, s2 = str(tmp_path / "s1.pem"), str(tmp_path / "s2.pem")
    assert not resumed(p1, certs, s1, True) and not resumed(p2, certs, s2, True)
    assert resumed(p1, certs, s1, False)        # default lifetime: 300 s
    time.sleep(2.5)
    assert not resumed(p2, certs, s2, False)    # older than 1 s
    assert resumed(p1, certs, s1, False)


@pytest.mark.waxlb_only     # HAProxy 2.6 accepts the connection over maxsslconn and never answers it
def test_maxsslconn(proxy, certs, api_node):
    """maxsslconn 1: the TLS listeners pause while one TLS connection is open (the next client waits in the
    backlog and is served once it closes); the plain listener keeps accepting."""
    import threading
    _, a1 = api_node
    tport, port = free_port_fn(), free_port_fn()
    proxy(simple_cfg(["127.0.0.1:%d ssl crt %s" % (tport, certs.wax), "127.0.0.1:%d" % port], a1,
                     extra="global\n    maxsslconn 1\n\n"), tport)
    first = tls_connect(tport, "wax.eosphere.io", certs.ca)
    done = []

    def second():
        try:
            done.append(tls_connect(tport, "wax.eosphere.io", certs.ca, timeout=10.0))
        except OSError as e:
            done.append(e)
    t = threading.Thread(target=second)
    t.start()
    t.join(1.0)
    assert not done, done       # still waiting in the backlog
    rs = parse_all(raw(port, req("GET /v1/chain/get_info HTTP/1.1", "Host: wax.eosphere.io")))
    assert rs and rs[0].status == 200, rs
    first.close()
    t.join(10.0)
    assert done and isinstance(done[0], ssl.SSLSocket), done
    done[0].close()
