"""The operators' configurations of test/configs/*.cfg.in: placeholders, filling, and what each one exercises.

Placeholders (see test/configs/README.md):
  @PORT@ @PORT2@ ...   bind ports (a fresh free loopback port each, per proxy)
  @A1@ ...             nodeos API nodes          (fakenodes API node named A1 ...)
  @S1@ ...             State-History (SHIP) nodes (fakenodes SHIP node named S1 ...)
  @H1@ ...             Hyperion API / streaming   (fakenodes SHIP node for a streaming backend, else API node)
  @AT1@ ...            Atomic API                 (fakenodes API node)
  @P1@ ...             nodeos p2p endpoints       (fakenodes API node: only a TCP listener is needed)
  @CRT@                a certificate+key PEM file (tlsutil's wax.eosphere.io)
  @CRTDIR@             a directory of PEM files   (tlsutil's crtdir)
  @DIR@                a per-proxy temporary directory (chroot, stats socket, dev/log, check scripts, lua)
  @DNS@                a UDP port nobody answers on (DNS resolvers)

Every fake node echoes its name in `X-Node` (API nodes) or in answer to 0xF2 (SHIP nodes), so a response
says which backend served it.
"""
import os
import re
import shutil
import socket

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_DIR = os.path.join(HERE, "configs")
PLACEHOLDER = re.compile(r"@([A-Z]+[0-9]*)@")
NODE_PREFIXES = ("A", "S", "H", "AT", "P")


def names():
    return sorted(f[:-len(".cfg.in")] for f in os.listdir(CONFIG_DIR) if f.endswith(".cfg.in"))


def template(name):
    with open(os.path.join(CONFIG_DIR, name + ".cfg.in")) as f:
        return f.read()


def placeholders(text):
    return sorted(set(PLACEHOLDER.findall(text)))


def split_ph(ph):
    m = re.match(r"([A-Z]+?)([0-9]*)$", ph)
    return m.group(1), m.group(2)


def port_placeholders(text):
    """Bind placeholders in order: PORT, PORT2, PORT3 ..."""
    out = [p for p in placeholders(text) if p.startswith("PORT")]
    return sorted(out, key=lambda p: int(p[4:] or 1))


def node_placeholders(text):
    return [p for p in placeholders(text) if split_ph(p)[0] in NODE_PREFIXES]


def streaming_hyperion(text):
    """True when the @H@ servers are the Hyperion streaming (websocket) servers."""
    return "wax_hyperion_streaming_servers" in text


def node_kind(ph, text):
    prefix = split_ph(ph)[0]
    if prefix == "S" or (prefix == "H" and streaming_hyperion(text)):
        return "ship"
    return "api"


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


CHECK_SCRIPT = "#!/bin/sh\n# stand-in for an operator's external-check script: always healthy\nexit 0\n"


def prepare_dir(d, text):
    """Lay out what the config expects in its @DIR@: dev/ (for log /dev/log in a chroot or @DIR@/dev/log),
    external-check scripts, the cors.lua stand-in. The dir must be reachable by the `haproxy` user."""
    os.makedirs(os.path.join(d, "dev"), exist_ok=True)
    os.chmod(d, 0o755)
    os.chmod(os.path.join(d, "dev"), 0o777)
    for m in re.finditer(r"external-check command @DIR@/(\S+)", text):
        p = os.path.join(d, m.group(1))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.chmod(os.path.dirname(p), 0o755)
        with open(p, "w") as f:
            f.write(CHECK_SCRIPT)
        os.chmod(p, 0o755)
    if "@DIR@/cors.lua" in text:
        shutil.copy(os.path.join(CONFIG_DIR, "cors-stub.lua"), os.path.join(d, "cors.lua"))
        os.chmod(os.path.join(d, "cors.lua"), 0o644)


def fill(text, values):
    """Replace every @NAME@ with values[NAME]; every placeholder must have a value."""
    missing = [p for p in placeholders(text) if p not in values]
    if missing:
        raise KeyError("no value for placeholders %s" % missing)
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def dev_log_path(text, d):
    """Where the config's `log /dev/log` lines end up for a proxy whose @DIR@ is d, or None."""
    if re.search(r"^\s*log\s+@DIR@/dev/log\b", text, re.M):
        return os.path.join(d, "dev", "log")
    if re.search(r"^\s*log\s+/dev/log\b", text, re.M) and re.search(r"^\s*chroot\s+@DIR@\s*$", text, re.M):
        return os.path.join(d, "dev", "log")
    return None


def logs_to_stdout(text):
    return bool(re.search(r"^\s*log\s+(stdout|stderr)\b", text, re.M))


# ------------------------------------------------------------------ what a config is about
def features(text):
    """What the config exercises, read from its text (drives the request list of test_guides)."""
    body = "\n".join(l.split("#", 1)[0] if not l.lstrip().startswith("##") else "" for l in text.splitlines())
    hosts = re.findall(r"hdr\(host\)\s+-i\s+(\S+)", body)
    f = {
        "hosts": hosts,
        "host": hosts[0] if hosts else "localhost",
        "ssl": bool(re.search(r"^\s*bind\s.*\bssl\b", body, re.M)),
        "ws": bool(re.search(r"hdr\(Upgrade\)", body)),
        "rate_limit": "sc_http_req_rate" in body,
        "tarpit": "http-request tarpit" in body,
        "stats_uris": re.findall(r"^\s*stats\s+uri\s+(\S+)", body, re.M),
        "metrics_uris": re.findall(r"use-service prometheus-exporter if \{ path (\S+) \}", body),
        "tcp_frontends": [],
    }
    # the first bind port of each frontend/listen, with its mode
    fe = []
    cur = None
    default_mode = "tcp"
    for line in body.splitlines():
        w = line.split()
        if not w:
            continue
        if w[0] in ("frontend", "listen", "backend", "defaults", "global", "resolvers"):
            if w[0] == "defaults":
                cur = {"kind": "defaults"}
            else:
                cur = {"kind": w[0], "name": w[1] if len(w) > 1 else "", "binds": [], "mode": default_mode}
                if w[0] in ("frontend", "listen"):
                    fe.append(cur)
            continue
        if cur is None:
            continue
        if cur["kind"] == "defaults" and w[0] == "mode" and len(w) > 1:
            default_mode = w[1]
        elif cur["kind"] in ("frontend", "listen"):
            if w[0] == "mode" and len(w) > 1:
                cur["mode"] = w[1]
            elif w[0] == "bind" and len(w) > 1:
                m = PLACEHOLDER.search(w[1])
                if m:
                    cur["binds"].append((m.group(1), "ssl" in w[2:]))
    f["frontends"] = fe
    return f
