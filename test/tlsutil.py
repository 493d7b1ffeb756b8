"""TLS helpers for waxlb's integration tests (test_tls.py).

Certificates are generated at test time with the `openssl` CLI in a temporary directory; nothing is committed.

    certs = make_certs(dir)   -> Certs with paths:
      ca         the throwaway CA certificate (EC P-256), for clients' CAfile
      wax        RSA-2048 leaf  wax.eosphere.io (SAN), key PKCS#1       file = leaf + CA + key
      ws         EC P-256 leaf  ws-wax.eosphere.io (SAN), key SEC1      file = leaf + CA + key
      wild       EC P-256 leaf  *.wax.test (SAN), key SEC1              file = leaf + CA + key
      p384       EC P-384 leaf  p384.wax.example (SAN), key PKCS#8      file = leaf + CA + key
      mismatch   the wax leaf + CA with the ws leaf's key (a key that does not match)
      nokey      the wax leaf + CA, no key
      garbage    not PEM at all
      dir        a directory holding copies of the wax, ws and wild files (for `crt DIR`)

Helpers:
    s_client(port, servername, ca, *extra, timeout) -> (returncode, combined output)
    client_ctx(ca)                                   -> ssl.SSLContext verifying the test CA (TLS 1.2)
    tls_request(port, sni, data, ca, ...)            -> bytes received (one connection, bounded)
"""
import os
import shutil
import socket
import ssl
import subprocess
import time

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def _run(args, cwd):
    r = subprocess.run([OPENSSL] + args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed:\n%s" % (" ".join(args), r.stdout.decode(errors="replace")))
    return r.stdout


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


class Certs:
    pass


def _leaf(d, name, sans, keycmd, keyfile):
    """Make a key with keycmd, a CSR, and a CA-signed leaf with the SANs. -> (cert path, key path)"""
    _run(keycmd, d)
    _run(["req", "-new", "-key", keyfile, "-subj", "/O=waxlb test/CN=" + sans[0], "-out", name + ".csr"], d)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=" + ",".join("DNS:" + s for s in sans) + "\n")
    _run(["x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
          "-days", "30", "-sha256", "-extfile", ext, "-out", name + ".crt"], d)
    return os.path.join(d, name + ".crt"), os.path.join(d, keyfile)


def make_certs(d):
    d = str(d)
    os.makedirs(d, exist_ok=True)
    c = Certs()
    # the CA: EC P-256
    _run(["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "ca.key"], d)
    _run(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "30", "-subj", "/O=waxlb test/CN=waxlb test CA",
          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
          "-out", "ca.pem"], d)
    c.ca = os.path.join(d, "ca.pem")
    ca = _read(c.ca)

    def combine(name, crt, key):
        leaf, k = _read(crt), _read(key)
        path = os.path.join(d, name + ".pem")
        _write(path, leaf + ca + k)
        return path, leaf, k

    # RSA-2048, PKCS#1 key ("BEGIN RSA PRIVATE KEY")
    crt, key = _leaf(d, "wax", ["wax.eosphere.io"],
                     ["genrsa", "-traditional", "-out", "wax.key", "2048"], "wax.key")
    assert b"BEGIN RSA PRIVATE KEY" in _read(key)
    c.wax, wax_leaf, wax_key = combine("wax", crt, key)
    # EC P-256, SEC1 key ("BEGIN EC PRIVATE KEY")
    crt, key = _leaf(d, "ws", ["ws-wax.eosphere.io"],
                     ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "ws.key"], "ws.key")
    assert b"BEGIN EC PRIVATE KEY" in _read(key)
    c.ws, ws_leaf, ws_key = combine("ws", crt, key)
    # wildcard, EC P-256
    crt, key = _leaf(d, "wild", ["*.wax.test"],
                     ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "wild.key"], "wild.key")
    c.wild, _, _ = combine("wild", crt, key)
    # EC P-384, PKCS#8 key ("BEGIN PRIVATE KEY")
    crt, key = _leaf(d, "p384", ["p384.wax.example"],
                     ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "p384.key"],
                     "p384.key")
    assert b"BEGIN PRIVATE KEY" in _read(key)
    c.p384, _, _ = combine("p384", crt, key)
    # broken files
    c.mismatch = os.path.join(d, "mismatch.pem")
    _write(c.mismatch, wax_leaf + ca + ws_key)
    c.nokey = os.path.join(d, "nokey.pem")
    _write(c.nokey, wax_leaf + ca)
    c.garbage = os.path.join(d, "garbage.pem")
    _write(c.garbage, b"this is not a certificate\n" * 4)
    c.missing = os.path.join(d, "does-not-exist.pem")
    # a crt directory
    c.dir = os.path.join(d, "crtdir")
    os.makedirs(c.dir, exist_ok=True)
    for name, src in (("1-wax.pem", c.wax), ("2-ws.pem", c.ws), ("3-wild.pem", c.wild)):
        shutil.copy(src, os.path.join(c.dir, name))
    return c


def s_client(port, servername, ca, *extra, timeout=10.0, host="127.0.0.1", stdin=b""):
    """Run `openssl s_client` once (stdin closed so it ends after the handshake). -> (rc, output text)."""
    args = [OPENSSL, "s_client", "-connect", "%s:%d" % (host, port), "-CAfile", ca]
    if servername:
        args += ["-servername", servername]
    else:
        args += ["-noservername"]
    args += list(extra)
    r = subprocess.run(args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def client_ctx(ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def tls_connect(port, sni, ca, timeout=5.0, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        return client_ctx(ca).wrap_socket(s, server_hostname=sni)
    except BaseException:
        s.close()
        raise


def tls_request(port, sni, data, ca, timeout=5.0, until_close=True, host="127.0.0.1"):
    """One TLS connection: send data, read until the peer closes or timeout. -> bytes."""
    s = tls_connect(port, sni, ca, timeout, host)
    buf = bytearray()
    end = time.time() + timeout
    try:
        s.sendall(data)
        while time.time() < end:
            s.settimeout(max(0.01, end - time.time()))
            try:
                d = s.recv(1 << 20)
            except socket.timeout:
                break
            except (ssl.SSLEOFError, ConnectionResetError):
                break
            if not d:
                break
            buf += d
    finally:
        s.close()
    return bytes(buf)
