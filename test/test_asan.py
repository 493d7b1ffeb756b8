"""Part of the integration suite on ./waxlb-asan (glibc, ASan + UBSan; `make waxlb-asan`).

Each run re-invokes pytest on selected test files with WAXLB=./waxlb-asan. The sanitizers write their reports
to files (ASAN_OPTIONS/UBSAN_OPTIONS log_path) in a fresh directory, so a report is seen even when the test
that triggered it passed (the proxy's output is not checked by the integration tests). A test fails when the
inner pytest fails or when any report ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
was written. test_selftest_detects_a_report proves the plumbing: a waxlb-asan with a deliberately broken
preloaded library must be caught.

./waxlb-asan is built with `make waxlb-asan` when missing or stale (skipped if that fails); `make test-asan`
runs only this file."""
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ASAN_BIN = os.path.join(REPO, "waxlb-asan")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# A representative subset: HTTP proxying and framing, malformed input, TLS, the seed routing, health checks,
# retries, connection reuse and counters, reloads with work in flight (use-after-free regressions), and the
# adversarial cases (smuggling, floods, resets). Selected with -k where a file is long.
SUBSETS = [
    ("proxy", ["test_proxy.py"], None),
    ("malformed", ["test_malformed.py"], None),
    ("tls", ["test_tls.py"], None),
    ("seed", ["test_seed.py"], None),
    ("checks", ["test_checks.py"], None),
    ("retry", ["test_retry.py", "test_reuse.py", "test_counters.py"], None),
    ("reload", ["test_reload.py"], None),
    ("adversarial", ["test_adversarial.py"], "not rss_100k and not slowloris" + "".join(
        " and not %s" % k for k in ("chunk_bare_lf", "trailer_not_a_field"))),
]
# (chunk_bare_lf*, trailer_not_a_field: open smuggling findings that fail on any build; deselected here so the
# inner pytest's exit status reflects the sanitizer build only. Drop them from the -k once fixed.)

REPORT_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "SUMMARY: UndefinedBehavior")


_built = []


def _need_bin():
    """./waxlb-asan, built (or brought up to date) with `make waxlb-asan` once per session."""
    if not _built:
        _built.append(subprocess.run(["make", "-s", "-C", REPO, "waxlb-asan"], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT).returncode)
    if not (os.path.isfile(ASAN_BIN) and os.access(ASAN_BIN, os.X_OK)):
        pytest.skip("%s not built (make waxlb-asan failed: %s)" % (ASAN_BIN, _built))


def sanitizer_env(logdir, binary):
    env = dict(os.environ)
    env["WAXLB"] = binary
    base = os.path.join(logdir, "san")
    env["ASAN_OPTIONS"] = ("halt_on_error=1:abort_on_error=1:detect_leaks=1:log_path=%s" % base)
    env["UBSAN_OPTIONS"] = "halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=%s" % base
    env["LSAN_OPTIONS"] = "log_path=%s" % base
    return env


def reports(logdir):
    """Sanitizer reports written under logdir: list of (file, first matching lines)."""
    out = []
    for name in sorted(os.listdir(logdir)):
        with open(os.path.join(logdir, name), errors="replace") as f:
            text = f.read()
        if any(m in text for m in REPORT_MARKERS):
            out.append((name, text[:4000]))
    return out


def run_subset(files, kexpr, logdir, binary=ASAN_BIN, timeout=900):
    args = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if kexpr:
        args += ["-k", kexpr]
    args += [os.path.join(HERE, f) for f in files]
    r = subprocess.run(args, cwd=REPO, env=sanitizer_env(logdir, binary), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace")


@pytest.mark.parametrize("name,files,kexpr", SUBSETS, ids=[s[0] for s in SUBSETS])
def test_suite_under_sanitizers(tmp_path, name, files, kexpr):
    _need_bin()
    if not all(os.path.exists(os.path.join(HERE, f)) for f in files):
        pytest.skip("missing %s" % files)
    logdir = tmp_path / "san"
    logdir.mkdir()
    rc, out = run_subset(files, kexpr, str(logdir))
    found = reports(str(logdir))
    assert not found, "sanitizer reports in %s:\n%s" % (name, "\n\n".join("%s:\n%s" % f for f in found))
    # rc 5: nothing collected (every test deselected/skipped) is fine
    assert rc in (0, 5), "inner pytest failed under waxlb-asan (%s), rc %d:\n%s" % (name, rc, out[-6000:])


SELFTEST_C = r"""
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
/* Preloaded into waxlb-asan: a heap overflow at start-up, which ASan must report. */
__attribute__((constructor)) static void waxlb_asan_selftest(void)
{
	volatile char *p = malloc(8);
	p[8] = 'x';
	free((void *)p);
}
"""


def test_selftest_detects_a_report(tmp_path):
    """The harness fails when waxlb-asan reports: a deliberately broken library is preloaded into it (through a
    wrapper used as WAXLB), one integration test is run, and the report must be found and the run failed."""
    _need_bin()
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no gcc")
    src = tmp_path / "selftest.c"
    src.write_text(SELFTEST_C)
    so = tmp_path / "selftest.so"
    subprocess.run([gcc, "-shared", "-fPIC", "-O0", "-fsanitize=address", "-o", str(so), str(src)], check=True)
    libasan = subprocess.run([gcc, "-print-file-name=libasan.so"], stdout=subprocess.PIPE,
                             check=True).stdout.decode().strip()
    wrapper = tmp_path / "waxlb-asan-selftest"
    wrapper.write_text("#!/bin/sh\nLD_PRELOAD=%s:%s exec %s \"$@\"\n" % (libasan, so, ASAN_BIN))
    wrapper.chmod(0o755)
    logdir = tmp_path / "san"
    logdir.mkdir()
    rc, out = run_subset(["test_malformed.py"], "test_connect_and_close_no_error", str(logdir),
                         binary=str(wrapper), timeout=120)
    found = reports(str(logdir))
    assert found, "the deliberate heap overflow was not reported; pytest rc %d:\n%s" % (rc, out[-3000:])
    assert "heap-buffer-overflow" in found[0][1]
    assert rc not in (0, 5), "inner pytest passed although waxlb-asan aborted"
