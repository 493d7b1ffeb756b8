"""The aarch64 and armv7 cross builds (./waxlb-aarch64, ./waxlb-armv7), run under qemu-user-static.

For each target: the binary is built with `make ARCH=...` from the repo root when it is missing or older than
waxlb.c/waxlb.h (the Makefile installs the Debian cross toolchain, the target's libbearssl-dev and qemu-user-static
when missing; the tests are skipped only when that install cannot happen). Then, under qemu:
  -v prints a version; -c -f accepts the seed config; the seed config proxies GET /v1/chain/get_info to a fake API
  node; a TLS 1.2 handshake with a throwaway CA + EC P-256 leaf verifies (openssl s_client and curl) and a request
  over it returns 200.
Emulation is slow: every step has a generous, bounded timeout; readiness is "the port accepts", never a sleep."""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import API_HOST, REPO, Proxy, free_port_fn, http, seed_config, start_seed_nodes

TIMEOUT = 30          # seconds for one step under emulation
BUILD_TIMEOUT = 1800  # apt-get install of the cross toolchain on a fresh machine, then the compile

TARGETS = {
    "aarch64": dict(binary="waxlb-aarch64", qemu="qemu-aarch64-static", cc="aarch64-linux-gnu-gcc",
                    lib="/usr/lib/aarch64-linux-gnu/libbearssl.a",
                    specs="/usr/lib/aarch64-linux-musl/musl-gcc.specs", elf="ARM aarch64"),
    "armv7": dict(binary="waxlb-armv7", qemu="qemu-arm-static", cc="arm-linux-gnueabihf-gcc",
                  lib="/usr/lib/arm-linux-gnueabihf/libbearssl.a",
                  specs="/usr/lib/arm-linux-musleabihf/musl-gcc.specs", elf="32-bit LSB executable, ARM"),
}

_built = {}


def _stale(path):
    if not os.path.isfile(path):
        return True
    t = os.path.getmtime(path)
    return any(os.path.getmtime(os.path.join(REPO, s)) > t for s in ("waxlb.c", "waxlb.h"))


def _toolchain_missing(t):
    missing = [x for x in (t["lib"], t["specs"]) if not os.path.exists(x)]
    missing += [x for x in (t["cc"], t["qemu"]) if shutil.which(x) is None]
    return missing


def _build(arch):
    """-> (qemu path, binary path); skips only when the toolchain cannot be installed."""
    if arch in _built:
        return _built[arch]
    t = TARGETS[arch]
    path = os.path.join(REPO, t["binary"])
    if _stale(path):
        try:
            r = subprocess.run(["make", "ARCH=" + arch], cwd=REPO, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
            out, rc = r.stdout.decode("utf-8", "replace"), r.returncode
        except subprocess.TimeoutExpired:
            out, rc = "make ARCH=%s timed out after %ds" % (arch, BUILD_TIMEOUT), -1
        if rc != 0:
            missing = _toolchain_missing(t)
            if missing:
                _built[arch] = pytest.skip.Exception(
                    "%s toolchain could not be installed (missing %s); make ARCH=%s said:\n%s"
                    % (arch, ", ".join(missing), arch, out[-2000:]))
            else:
                _built[arch] = AssertionError("make ARCH=%s failed (exit %d):\n%s" % (arch, rc, out[-4000:]))
    if arch not in _built:
        qemu = shutil.which(t["qemu"])
        if qemu is None:
            # make installs qemu-user-static with the toolchain; only an already built binary gets here
            subprocess.run(["make", "cross-deps-" + arch], cwd=REPO, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=BUILD_TIMEOUT)
            qemu = shutil.which(t["qemu"])
        if qemu is None:
            _built[arch] = pytest.skip.Exception("%s not installed and qemu-user-static could not be installed"
                                                 % t["qemu"])
        else:
            _built[arch] = (qemu, path)
    got = _built[arch]
    if isinstance(got, pytest.skip.Exception):
        pytest.skip(str(got))
    if isinstance(got, AssertionError):
        pytest.fail(str(got))
    return got


@pytest.fixture(params=sorted(TARGETS), scope="module")
def cross(request):
    """-> (arch, command prefix [qemu, binary])."""
    qemu, path = _build(request.param)
    return request.param, [qemu, path]


def assert_emulated(p, cmd):
    """The listening process is the qemu-user binary running the cross build, not some host waxlb."""
    exe = os.readlink("/proc/%d/exe" % p.pid)
    assert os.path.basename(exe).startswith("qemu-"), exe
    assert os.path.realpath(cmd[1]) in open("/proc/%d/cmdline" % p.pid, "rb").read().decode().split("\0")


def run(cmd, timeout=TIMEOUT, **kw):
    return subprocess.run(cmd, stdin=kw.pop("stdin", subprocess.DEVNULL), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, **kw)


def test_binary_is_static_and_stripped(cross):
    arch, cmd = cross
    if shutil.which("file") is None:
        pytest.skip("file(1) not installed")
    out = run(["file", "-b", cmd[1]]).stdout.decode()
    assert TARGETS[arch]["elf"] in out, out
    assert "statically linked" in out and "stripped" in out and "not stripped" not in out, out
    assert os.path.getsize(cmd[1]) <= 524288, "%s is %d bytes" % (cmd[1], os.path.getsize(cmd[1]))


def test_version(cross):
    arch, cmd = cross
    r = run(cmd + ["-v"])
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, (r.returncode, out, r.stderr)
    assert re.search(r"waxlb version \S+", out), out


def test_check_seed_config(cross, tmp_path):
    arch, cmd = cross
    cfg = seed_config(free_port_fn(), {k: free_port_fn() for k in ("A1", "A2", "A3", "S1", "S2")})
    path = tmp_path / "seed.cfg"
    path.write_text(cfg)
    r = run(cmd + ["-c", "-f", str(path)])
    assert r.returncode == 0, (r.returncode, r.stdout.decode(), r.stderr.decode())


def test_proxy_get_info(cross, nodes, tmp_path):
    arch, cmd = cross
    ports = start_seed_nodes(nodes)
    port = free_port_fn()
    p = Proxy(cmd, seed_config(port, ports), tmp_path, port=port, name="seed-" + arch).start(timeout=TIMEOUT)
    try:
        assert_emulated(p, cmd)
        r = http(port, "GET", "/v1/chain/get_info", host=API_HOST, timeout=TIMEOUT)
        assert r.status == 200, (r, p.log())
        assert r.node in ("api1", "api2", "api3"), r
        assert "chain_id" in r.json(), r.body[:300]
        assert p.alive(), p.log()
    finally:
        p.stop()


# ------------------------------------------------------------------ TLS
CA_CNF = """[req]
distinguished_name = dn
x509_extensions = v3_ca
prompt = no
[dn]
CN = waxlb throwaway test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

LEAF_EXT = """basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:%s
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
""" % API_HOST


def make_certs(d):
    """Throwaway CA + EC P-256 leaf for API_HOST. -> (ca.pem, crt file: leaf cert + CA cert + leaf key)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed (make test-deps installs it)")
    (d / "ca.cnf").write_text(CA_CNF)
    (d / "leaf.ext").write_text(LEAF_EXT)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["openssl", "req", "-x509", "-config", "ca.cnf"] + ec + ["-keyout", "ca.key", "-out", "ca.pem",
                                                              "-days", "2", "-sha256"],
        ["openssl", "req", "-new", "-subj", "/CN=" + API_HOST] + ec + ["-keyout", "leaf.key", "-out", "leaf.csr"],
        ["openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "0x%x" % int.from_bytes(os.urandom(8), "big"), "-days", "2", "-sha256",
         "-extfile", "leaf.ext", "-out", "leaf.pem"],
    ]
    for s in steps:
        r = run(s, cwd=str(d))
        assert r.returncode == 0, (s, r.stderr.decode())
    crt = d / "wax.pem"
    crt.write_text((d / "leaf.pem").read_text() + (d / "ca.pem").read_text() + (d / "leaf.key").read_text())
    return str(d / "ca.pem"), str(crt)


def test_tls_handshake_and_request(cross, nodes, tmp_path):
    arch, cmd = cross
    ca, crt = make_certs(tmp_path)
    api = nodes.api("api1")
    port = free_port_fn()
    cfg = """defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend https-in
    bind 127.0.0.1:%d ssl crt %s
    default_backend api

backend api
    server api1 127.0.0.1:%d
""" % (port, crt, api)
    p = Proxy(cmd, cfg, tmp_path, port=port, name="tls-" + arch).start(timeout=TIMEOUT)
    try:
        assert_emulated(p, cmd)
        # 1. openssl s_client: TLSv1.2, chain verified against the throwaway CA, then one request over it
        request = ("GET /v1/chain/get_info HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % API_HOST).encode()
        t0 = time.monotonic()
        r = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", API_HOST,
                 "-CAfile", ca, "-verify_return_error", "-verify_hostname", API_HOST, "-tls1_2", "-ign_eof"],
                timeout=TIMEOUT, stdin=None, input=request)
        t_sclient = time.monotonic() - t0
        out = r.stdout.decode("utf-8", "replace")
        why = "s_client exit %d in %.1fs\nstdout:\n%s\nstderr:\n%s\nproxy log:\n%s" % (
            r.returncode, t_sclient, out[-3000:], r.stderr.decode("utf-8", "replace")[-2000:], p.log())
        assert r.returncode == 0, why
        assert re.search(r"Protocol\s*:\s*TLSv1\.2", out), why
        assert "Verify return code: 0 (ok)" in out, why
        assert re.search(r"^HTTP/1\.1 200 ", out, re.M), why
        assert re.search(r"^X-Node: api1\s*$", out, re.M) and '"chain_id"' in out, why

        # 2. curl --cacert: verification of name and chain, and the request, by another client
        t0 = time.monotonic()
        r = run(["curl", "-sS", "--max-time", str(TIMEOUT), "--tlsv1.2", "--cacert", ca,
                 "--resolve", "%s:%d:127.0.0.1" % (API_HOST, port), "-D", "-", "-o", str(tmp_path / "body"),
                 "-w", "\ncode=%{http_code} verify=%{ssl_verify_result} handshake=%{time_appconnect}\n",
                 "https://%s:%d/v1/chain/get_info" % (API_HOST, port)], timeout=TIMEOUT + 5)
        t_curl = time.monotonic() - t0
        out = r.stdout.decode("utf-8", "replace")
        assert r.returncode == 0, (r.returncode, out, r.stderr.decode(), p.log())
        assert "code=200 verify=0" in out, out
        assert b'"chain_id"' in (tmp_path / "body").read_bytes()
        hs = re.search(r"handshake=([\d.]+)", out).group(1)
        print("%s under qemu: s_client handshake+request %.2fs, curl %.2fs (TCP+TLS handshake %ss)"
              % (arch, t_sclient, t_curl, hs))
        assert p.alive(), p.log()
    finally:
        p.stop()
