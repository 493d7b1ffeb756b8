#!/usr/bin/python3
"""Write the seed corpus of every fuzz target to fuzz/corpus/<target>/ (files named by content hash).
Run once when seeds change; the output is kept in the repo. PEM seeds are generated with openssl."""
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "test"))
import fakenodes  # noqa: E402

OUT = os.path.join(HERE, "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode("latin1")
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


H = "Host: wax.eosphere.io"


def rq(line, *hdrs, body=""):
    return line + "\r\n" + "".join(h + "\r\n" for h in hdrs) + "\r\n" + body


REQUESTS = [
    rq("GET / HTTP/1.1", H),
    rq("GET /v1/chain/get_info HTTP/1.1", H, "User-Agent: curl/7.88", "Accept: */*"),
    rq("POST /v1/chain/get_block HTTP/1.1", H, "Content-Length: 5", body="hello"),
    rq("POST / HTTP/1.1", H, "Transfer-Encoding: chunked", body="5\r\nhello\r\n0\r\n\r\n"),
    rq("POST / HTTP/1.1", H, "Transfer-Encoding: chunked", "Content-Length: 5"),
    rq("POST / HTTP/1.1", H, "Transfer-Encoding: chunked ", "Transfer-Encoding: chunked"),
    rq("POST / HTTP/1.1", H, "Transfer-Encoding: gzip, chunked"),
    rq("POST / HTTP/1.1", H, "Transfer-Encoding:\tchunked"),
    rq("POST / HTTP/1.1", H, "Content-Length: 5, 5"),
    rq("POST / HTTP/1.1", H, "Content-Length: 5", "Content-Length: 6"),
    rq("POST / HTTP/1.0", H, "Transfer-Encoding: chunked"),
    rq("GET http://wax.eosphere.io/v1/chain HTTP/1.1", H),
    rq("GET https://evil.example/ HTTP/1.1", H),
    rq("GET / HTTP/1.1", H, "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
       "Sec-WebSocket-Version: 13"),
    rq("GET / HTTP/1.1", H, "Connection: keep-alive, close", "Keep-Alive: timeout=5", "Proxy-Connection: close"),
    rq("GET / HTTP/1.1", H, "Expect: 100-continue", "Content-Length: 1", body="x"),
    rq("OPTIONS * HTTP/1.1", H),
    rq("CONNECT wax.eosphere.io:443 HTTP/1.1", H),
    rq("GET / HTTP/1.0"),
    rq("GET / HTTP/2.0", H),
    "\r\nGET /lf HTTP/1.1\nHost: x\n\n",
    rq("GET / HTTP/1.1", H, "X-Foo: a", " folded"),
    rq("GET /?a=b&json=1 HTTP/1.1", H, "X-Dup: 1", "X-Dup: 2", "X-Found: ", "X-Path: /v1/chain"),
    # line ends: CRLF and bare LF mixed (400), a CR without its LF (400 at once)
    "GET / HTTP/1.1\r\nHost: a\n\n",
    "GET / HTTP/1.1\nHost: a\r\n\r\n",
    "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\rX",
    "GET / HTTP/1.1\r\nHost: a\rX",
    "GET / HTTP/1.1\rX",
    "GET / HTTP/1.1\r\nHost: a\r\n\r",
]


def requests():
    for r in REQUESTS:
        put("request", r)
        # acl: 18 bytes (family, ssl, address) before the request
        put("acl", b"\x00\x00\x0a\x01\x02\x03" + bytes(12) + r.encode("latin1"))
        put("acl", b"\x01\x01" + bytes(15) + b"\x01" + r.encode("latin1"))


def responses():
    for r in [
        rq("HTTP/1.1 200 OK", "Content-Length: 2", body="ok"),
        rq("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", body="2\r\nok\r\n0\r\n\r\n"),
        rq("HTTP/1.1 204 No Content"),
        rq("HTTP/1.0 200 OK", "Connection: keep-alive"),
        rq("HTTP/1.1 100 Continue"),
        rq("HTTP/1.1 502 Bad Gateway", "Content-Length: 1", "Transfer-Encoding: chunked"),
        rq("HTTP/1.1 200", "Transfer-Encoding: gzip"),
    ]:
        put("response", r)
    import base64
    key = b"0123456789abcdef"
    acc = base64.b64encode(hashlib.sha1(base64.b64encode(key) + fakenodes.GUID).digest()).decode()
    put("response", rq("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                       "Sec-WebSocket-Accept: " + acc))


def chunks():
    for b in ["5\r\nhello\r\n0\r\n\r\n", "5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
              "a\nhelloworld\n0\n\n", "fffffffffffffff\r\n", "0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
              "3 \r\nabc\r\n0;a=\"b\"\r\nX: y\r\nZ: w\r\n\r\n", "0\r\n\r\n",
              # rewritten to HAProxy's form (upper-case hex, no zeros, no extension) or refused
              "2;\r\nab\r\n0\r\n\r\n", "a \r\n0123456789\r\n0\r\n\r\n", "1;a=\"b\r\nx\r\n0\r\n\r\n",
              "0000a\r\n0123456789\r\n000;x\r\n\r\n", "fffffffffffff\r\n", "10000000000000\r\n",
              "1;a\x01\r\nx\r\n0\r\n\r\n", "1 x\r\nx\r\n0\r\n\r\n"]:
        put("chunk", b"\x03\x00" + b.encode())


# error pages that need no file (errorloc, http-error strings, /dev/null)
ERRPAGES = """http-errors site
    errorfile 408 /dev/null
defaults
    mode http
    errorloc 503 http://errors.example/503
    http-error status 429 content-type text/plain string "slow down"
frontend fe
    bind 127.0.0.1:8080
    errorfiles site
    errorloc303 404 /notfound
    http-error status 503 default-errorfiles
    http-error status 502 content-type application/json string '{"e":1}'
    http-error status 504
    http-error status 500 errorfiles site
    default_backend be
backend be
    errorfiles site 408
    server s1 127.0.0.1:9001
"""


def configs():
    for name in ("waxlb.conf", "test/demo.cfg"):
        p = os.path.join(REPO, name)
        if os.path.exists(p):
            put("config", open(p, "rb").read())
    seed = open(os.path.join(REPO, "test/seed.cfg.in")).read().replace("@PORT@", "8080")
    for k, v in dict(A1=9001, A2=9002, A3=9003, S1=9101, S2=9102).items():
        seed = seed.replace("@%s@" % k, str(v))
    put("config", seed)
    put("config", ERRPAGES)
    put("config", """global
    maxconn 100
    log stdout format raw local0
    stats socket /tmp/x.sock mode 600 level admin
defaults
    mode http
    option httplog
    option forwardfor
    timeout connect 1s
    timeout client 2s
    timeout server 2s
    timeout http-request 2s
    timeout queue 1s
frontend fe
    bind 127.0.0.1:8080
    bind [::1]:8081
    maxconn 50
    acl a hdr(host) -i -m dom example.com
    acl b src 10.0.0.0/255.0.0.0
    http-request deny deny_status 429 if !b { path_beg /admin }
    http-request set-header X-A b if a
    http-request del-header X-B
    redirect scheme https code 301 if { hdr(x-proto) http }
    stats enable
    stats uri /stats
    stats auth u:p
    use_backend be if a || b
    default_backend be2
backend be
    balance leastconn
    option httpchk GET /v1/chain/get_info
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 slowstart 5s
    server s1 127.0.0.1:9001 check weight 10 maxconn 5 agent-check agent-port 9999
    server s2 127.0.0.1:9002 check backup
backend be2
    mode http
    balance first
    server s3 127.0.0.1:9003 disabled
listen tcp
    mode tcp
    bind 127.0.0.1:9443
    server t 127.0.0.1:9444
""")


def healthchecks():
    import json
    info = fakenodes.get_info("n")
    put("nodeos", json.dumps(info))
    put("nodeos", json.dumps(fakenodes.get_info("n", numbers_as_strings=True)))
    put("nodeos", '{"head_block_num":1,"head_block_num":2}')
    put("nodeos", '{"a":[{"b":"\\u00e9\\""}],"head_block_time":"2019-06-24T00:00:00.500"}')
    put("ship", fakenodes.status_result(head=1000))
    put("ship", fakenodes.status_result(head=1000, eosio20=True))
    put("ship", fakenodes.blocks_result(1000, this_block=999))
    put("ship", fakenodes.blocks_result(1000))
    fr = fakenodes.ws_frame
    put("ws", b"\x05\x00" + fr(b"x" * 10, 1, fin=False) + fr(b"\x00\x01", 9) + fr(b"y" * 200, 0) + fr(b"\x03\xe8", 8))
    put("ws", b"\x01\x00" + fr(fakenodes.status_result(head=5)) + fr(b"z" * 70000, 2))
    for line in ["up 75% maxconn:30\n", "drain #maintenance\n", "down\n", "ready 100%", "stopped, fail #x",
                 "maint 0%\r\nup"]:
        put("agent", line)


def pems():
    tmp = tempfile.mkdtemp()
    try:
        def run(*a):
            subprocess.run(["openssl"] + list(a), cwd=tmp, check=True, capture_output=True)
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ec.key",
            "-out", "ec.crt", "-days", "3650", "-subj", "/CN=wax.eosphere.io",
            "-addext", "subjectAltName=DNS:wax.eosphere.io,DNS:*.eosphere.io")
        run("req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", "rsa.key", "-out", "rsa.crt", "-days", "3650",
            "-subj", "/CN=rsa.example")
        run("pkcs8", "-topk8", "-nocrypt", "-in", "ec.key", "-out", "ec8.key")
        run("ec", "-in", "ec.key", "-out", "ecsec1.key")
        rd = lambda n: open(os.path.join(tmp, n), "rb").read()
        put("pem", rd("ec.crt") + rd("ec.key"))
        put("pem", rd("ec.crt") + rd("ecsec1.key"))
        put("pem", rd("rsa.key") + rd("rsa.crt"))
        put("pem", rd("ec.crt") + rd("rsa.crt") + rd("ec8.key"))
        put("pem", rd("rsa.crt"))
    finally:
        shutil.rmtree(tmp)


CIPHER_LISTS = [
    "ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:RSA+AESGCM:RSA+AES:!aNULL:!MD5:!DSS",
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256",
    "EECDH+ECDSA+AESGCM:EECDH+aRSA+AESGCM:EECDH+ECDSA+SHA384:EECDH+ECDSA+SHA256:EECDH+aRSA+SHA384:"
    "EECDH+aRSA+SHA256:EECDH+aRSA+RC4:EECDH:EDH+aRSA:!aNULL:!eNULL:!LOW:!3DES:!MD5:!EXP:!PSK:!SRP:!DSS:!RC4",
    "HIGH:!aNULL:!MD5", "DEFAULT", "ALL", "ALL:COMPLEMENTOFALL", "ECDHE+AESGCM", "EECDH+AESGCM:EDH+AESGCM",
    "ECDHE-RSA-AES128-GCM-SHA256:@STRENGTH", "!ECDSA:ALL", "AES256+EECDH:AES256+EDH", "kECDHE:+AES128:!SHA1",
    "HIGH:@SECLEVEL=2", "ALL:-AES128:AES:@STRENGTH", "ECDHE:-ECDSA:ECDSA", "TLSv1.2+kRSA:SSLv3",
    "COMPLEMENTOFDEFAULT", "SUITEB128:AES", "ALL:@SECLEVEL=3", "AES:@SECLEVEL=4", "AES128!SHA1",
    "FOO:ECDHE-RSA-AES128-GCM-SHA256+FOO:AES256-SHA", "ECDHE-ECDSA-AES128-GCM-SHA256 kRSA+AESGCM;+AES256",
    "!ALL", "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256", "HIGH:#", "HIGH:@FOO", "AES+",
]


def ciphers():
    for s in CIPHER_LISTS:
        put("ciphers", s)


if __name__ == "__main__":
    ciphers()
    requests()
    responses()
    chunks()
    configs()
    healthchecks()
    pems()
    for t in sorted(os.listdir(OUT)):
        print(t, len(os.listdir(os.path.join(OUT, t))))
