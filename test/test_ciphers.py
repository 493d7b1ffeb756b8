"""OpenSSL cipher lists (the ciph module of waxlb.c) against Debian's `openssl ciphers` (OpenSSL 3.0).

Nothing is built here; three checks, from the sources and the unit-test binary:
  - the suite table of waxlb.c (ciph_suites[]): names, ids, algorithms, versions, FIPS/DEFAULT membership and order
    are those of `openssl ciphers -v/-V ALL:COMPLEMENTOFALL` (OpenSSL's order before it reads a list);
  - the expectations of test/unit.c (ciph_tests[], which `make unit` checks waxlb against) are still what the
    installed openssl prints: `openssl ciphers -V LIST` below the TLS 1.3 suites, and for BearSSL's part
    `openssl ciphers -s -tls1_2 LIST` restricted to the suites waxlb runs;
  - when test/unit is built (`make unit`), waxlb's own selection (`test/unit --ciphers LIST...`) for those lists and
    for seeded random ones equals openssl's."""
import os
import random
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
UNIT = os.path.join(HERE, "unit")
OPENSSL = shutil.which("openssl")

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")

KX = {"RSA": "RSA", "DH": "DHE", "ECDH": "ECDHE", "PSK": "PSK", "RSAPSK": "RSAPSK", "DHEPSK": "DHEPSK",
      "ECDHEPSK": "ECDHEPSK", "SRP": "SRP"}
AU = {"RSA": "RSA", "DSS": "DSS", "None": "NULL", "ECDSA": "ECDSA", "PSK": "PSK", "SRP": "SRP"}
ENC = {"None": "eNULL", "AES(128)": "AES128", "AES(256)": "AES256", "Camellia(128)": "CAMELLIA128",
       "Camellia(256)": "CAMELLIA256", "AESGCM(128)": "AES128GCM", "AESGCM(256)": "AES256GCM",
       "AESCCM(128)": "AES128CCM", "AESCCM(256)": "AES256CCM", "AESCCM8(128)": "AES128CCM8",
       "AESCCM8(256)": "AES256CCM8", "CHACHA20/POLY1305(256)": "CHACHA20", "ARIAGCM(128)": "ARIA128GCM",
       "ARIAGCM(256)": "ARIA256GCM"}
VER = {"SSLv3": "1", "TLSv1": "2", "TLSv1.2": "3"}


def openssl(*args):
    """`openssl ciphers ARGS` -> its stdout lines, or None when it refuses the list."""
    r = subprocess.run([OPENSSL, "ciphers"] + list(args), capture_output=True, text=True)
    return None if r.returncode else r.stdout.splitlines()


def openssl_v(lst):
    """`openssl ciphers -V` below TLS 1.3 -> ["0xC0,0x2C/NAME", ...] or None."""
    out = openssl("-V", "--", lst)
    if out is None:
        return None
    got = []
    for line in out:
        m = re.match(r"\s*(0x..,0x..) - (\S+)\s+(\S+)", line)
        if m and m.group(3) != "TLSv1.3":
            got.append(m.group(1) + "/" + m.group(2))
    return got


def openssl_offered(lst, bear):
    """What OpenSSL would offer in TLS 1.2 at the list's security level, restricted to <bear>."""
    out = openssl("-s", "-tls1_2", "--", lst)
    return [n for n in (out[0].split(":") if out else []) if n in bear]


def c_strings(text):
    """The C string literals of <text>, decoded (only \\" and \\\\ occur)."""
    return [s.replace('\\"', '"').replace("\\\\", "\\") for s in re.findall(r'"((?:[^"\\]|\\.)*)"', text)]


def waxlb_table():
    """ciph_suites[] of waxlb.c -> [(id, version, kx, au, enc, mac, flags, name)] in table order."""
    src = open(os.path.join(REPO, "waxlb.c")).read()
    body = src.split("static const struct ciph_suite ciph_suites[CIPH_COUNT] = {", 1)[1].split("\n};", 1)[0]
    rows = []
    for m in re.finditer(r"^\tS\((0x[0-9A-F]{4}), (\d), (\w+), (\w+), (\w+), (\w+), ([A-Z |0]+), ([\w, ]+)\),$",
                         body, re.M):
        pieces = ["NULL" if p == "eNULL" else p for p in m.group(8).split(", ")]
        rows.append((int(m.group(1), 16), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6),
                     set(m.group(7).replace(" ", "").split("|")) - {"0"}, "-".join(pieces)))
    assert len(rows) == len(re.findall(r"^\tS\(", body, re.M)), "a row of ciph_suites[] was not understood"
    return rows


def unit_table():
    """ciph_tests[] of test/unit.c -> [(line, list, all or None, bear or None)]."""
    src = open(os.path.join(HERE, "unit.c")).read()
    body = src.split("} ciph_tests[] = {", 1)[1].split("\n};", 1)[0]
    entries = []
    for chunk in body.split("{ __LINE__,")[1:]:
        chunk = re.sub(r"/\*.*?\*/", "", chunk, flags=re.S).rsplit("},", 1)[0]
        fields = []
        for part in re.findall(r'((?:\s*"(?:[^"\\]|\\.)*")+|\s*NULL)\s*(?:,|$)', chunk):
            fields.append(None if part.strip() == "NULL" else "".join(c_strings(part)))
        assert len(fields) == 3, chunk
        entries.append(tuple(fields))
    assert len(entries) >= 15
    return entries


TABLE = waxlb_table()
BEAR = {r[7] for r in TABLE if "BR" in r[6]}
UNIT_LISTS = unit_table()


def test_suite_table_is_openssls():
    v = openssl("-v", "--", "ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    vv = openssl_v("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    want = []
    for line, idname in zip([x for x in v if not x.startswith("TLS_")], vv):
        name, ver, kx, au, enc, mac = re.match(r"(\S+)\s+(\S+)\s+Kx=(\S+)\s+Au=(\S+)\s+Enc=(\S+)\s+Mac=(\S+)",
                                               line).groups()
        assert idname.endswith("/" + name)
        cid = int(idname[2:4], 16) << 8 | int(idname[7:9], 16)
        want.append((cid, VER[ver], KX[kx], AU[au], ENC[enc], "SHA1" if mac == "SHA1" else mac, name))
    got = [(r[0], r[1], r[2], r[3], r[4], r[5], r[7]) for r in TABLE]
    # OpenSSL's order before it reads a list: ALL and COMPLEMENTOFALL in one pass of that order
    assert [g[6] for g in got if g[4] != "eNULL"] == [w[6] for w in want if w[4] != "eNULL"]
    assert sorted(got) == sorted(want)
    fips = set(openssl("FIPS:@SECLEVEL=0")[0].split(":"))
    notdef = set(openssl("COMPLEMENTOFDEFAULT:@SECLEVEL=0")[0].split(":"))
    for r in TABLE:
        if r[4] != "eNULL":     # OpenSSL's FIPS alias never selects NULL encryption
            assert ("FIPS" in r[6]) == (r[7] in fips), r[7]
        assert ("NDEF" in r[6]) == (r[7] in notdef), r[7]
    assert len(BEAR) == 20


def test_default_order_eNULL_positions():
    """Where the NULL-encryption suites sit among the others (one alias pass each: kRSA, kECDHE, SHA1...)."""
    order = [r[7] for r in TABLE]
    for alias in ("kRSA", "kECDHE", "kPSK", "kRSAPSK", "kDHEPSK", "kECDHEPSK", "SHA1", "SHA256", "SHA384",
                  "TLSv1.2", "TLSv1", "SSLv3", "aRSA", "aPSK", "MD5"):
        names = openssl("--", alias + ":@SECLEVEL=0")[0].split(":")
        names = [n for n in names if not n.startswith("TLS_")]
        assert names == [n for n in order if n in set(names)], alias


@pytest.mark.parametrize("line,lst,want,bear", [(i, e[0], e[1], e[2]) for i, e in enumerate(UNIT_LISTS)],
                         ids=[e[0][:40] for e in UNIT_LISTS])
def test_unit_table_matches_openssl(line, lst, want, bear):
    got = openssl_v(lst)
    assert (None if got is None else ":".join(g.split("/")[1] for g in got)) == want
    if want is not None:
        assert ":".join(openssl_offered(lst, BEAR)) == bear


def random_lists(n, seed=20240601):
    words = [r[7] for r in TABLE] + re.findall(r'^\tA\("([^"]+)"', open(os.path.join(REPO, "waxlb.c")).read(),
                                               re.M)
    words += ["DEFAULT", "FOO", "RC4", "kGOST", "EXPORT", "DES", "SEED", "TLSv1.3", "TLS_AES_128_GCM_SHA256"]
    specials = ["@STRENGTH", "@SECLEVEL=0", "@SECLEVEL=3", "@SECLEVEL=4", "@SECLEVEL=9", "@FOO"]
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rnd.randint(1, 7)):
            if rnd.random() < 0.08:
                parts.append(rnd.choice(specials))
            else:
                parts.append(rnd.choice(["", "", "", "+", "-", "!"]) +
                             "+".join(rnd.choice(words) for _ in range(rnd.choice([1, 1, 2, 3]))))
        s = "".join(p + rnd.choice([":", ":", " ", ",", ";"]) for p in parts)[:-1]
        if rnd.random() < 0.1:
            s = rnd.choice(["DEFAULT", "DEFAULT:", "SUITEB128"]) + s
        out.append(s)
    return out


def test_waxlb_selection_is_openssls():
    if not os.access(UNIT, os.X_OK):
        pytest.skip("test/unit is not built (make unit)")
    lists = [e[0] for e in UNIT_LISTS] + random_lists(300)
    r = subprocess.run([UNIT, "--ciphers"] + lists, capture_output=True, text=True, check=True)
    lines = r.stdout.split("\n")
    bad = []
    for k, lst in enumerate(lists):
        got_all, got_bear = lines[2 * k], lines[2 * k + 1]
        want = openssl_v(lst)
        if (got_all == "refused") != (want is None) or (want is not None and got_all.split() != want):
            bad.append((lst, "selection", got_all[:200], want and " ".join(want)[:200]))
        elif want is not None and got_bear != ":".join(openssl_offered(lst, BEAR)):
            bad.append((lst, "BearSSL part", got_bear, openssl_offered(lst, BEAR)))
    assert not bad, "\n".join(repr(b) for b in bad[:10])
