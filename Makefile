# waxlb - build, test, demo.
#
#   make          ./waxlb, static, musl (installs missing Debian packages)
#   make ARCH=aarch64   ./waxlb-aarch64, static musl cross build (Debian arm64 packages)
#   make ARCH=armv7     ./waxlb-armv7, static musl cross build (Debian armhf: ARMv7-A hard-float)
#   make sizes    builds all three, prints stripped sizes, fails if one exceeds 512 KiB
#   make test     unit tests (plain and ASan/UBSan) and the integration suite
#   make demo     waxlb in front of local fake API and SHIP nodes
#   make lint     long functions, sections, references to later sections (a report)
#   make walk     the functions one keep-alive request runs through (traced build)
#   make clean
#
# Build dependencies are Debian packages; they are installed with apt-get
# when missing, so a fresh Debian 12 machine needs nothing by hand.

CC_MUSL  ?= musl-gcc
CC_HOST  ?= gcc
PYTHON   ?= /usr/bin/python3
CFLAGS   ?= -Os -fno-asynchronous-unwind-tables -fno-unwind-tables
WARN     := -Wall -Wextra
LDFLAGS  ?= -static -s -Wl,--gc-sections -Wl,-z,noseparate-code
BUILD_PKGS := musl-tools libbearssl-dev
TLS_INC  := -I/usr/include/bearssl
BEARSSL_A := /usr/lib/x86_64-linux-gnu/libbearssl.a
TEST_PKGS  := python3-pytest python3-websockets haproxy curl socat wrk openssl busybox chromium

.PHONY: all deps test-deps unit test demo clean

# ---------------------------------------------------------------- cross builds
# make ARCH=aarch64 -> ./waxlb-aarch64, make ARCH=armv7 -> ./waxlb-armv7.
# No ARCH (or the host's x86_64/amd64) builds ./waxlb as before.
ARCH ?=
CROSS_ARCHES := aarch64 armv7
ifeq ($(filter-out x86_64 amd64,$(ARCH)),)
DEFAULT_BIN := waxlb
else ifneq ($(filter $(ARCH),$(CROSS_ARCHES)),)
DEFAULT_BIN := waxlb-$(ARCH)
else
$(error unknown ARCH=$(ARCH): use aarch64 or armv7 (or none for the host))
endif

# Per target: Debian architecture, packages, compiler (the distro cross gcc with
# musl's specs file, i.e. what the aarch64-linux-musl-gcc wrapper runs), the
# target's libbearssl.a, and the qemu-user binary the tests use.
DEB_ARCH_aarch64 := arm64
DEB_ARCH_armv7   := armhf
CROSS_PKGS_aarch64 := gcc-aarch64-linux-gnu musl-dev:arm64 libbearssl-dev:arm64 qemu-user-static
CROSS_PKGS_armv7   := gcc-arm-linux-gnueabihf musl-dev:armhf libbearssl-dev:armhf qemu-user-static
CROSS_CC_aarch64 ?= aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs
CROSS_CC_armv7   ?= arm-linux-gnueabihf-gcc -specs /usr/lib/arm-linux-musleabihf/musl-gcc.specs
CROSS_BEARSSL_A_aarch64 := /usr/lib/aarch64-linux-gnu/libbearssl.a
CROSS_BEARSSL_A_armv7   := /usr/lib/arm-linux-gnueabihf/libbearssl.a
CROSS_CFLAGS  ?= -Os -fno-asynchronous-unwind-tables -fno-unwind-tables
# noseparate-code: no page-aligned split of the code segment (saves 8 KB on x86_64;
# Debian's aarch64/armhf ld already default to it). norelro: a static non-PIE binary has no
# relocations for RELRO to protect, and its 64 KB alignment on aarch64 cost 60 KB of padding.
# The unwind tables the libraries' objects bring (libc, BearSSL) are dropped
# at link time: nothing unwinds in a C program without backtraces (-12 KB to
# -16 KB; ARM's .ARM.exidx stays). The script is the linker's own default one
# (ld --verbose, with the same options) with .eh_frame discarded; a linker
# that prints none links with its default.
NOEH_SED := sed -n '/^=====/,/^=====/{/^=====/d;p;}' | sed \
	-e 's/^  \.eh_frame_hdr .*/  \/DISCARD\/ : { *(.eh_frame_hdr) *(.eh_frame_entry .eh_frame_entry.*) }/' \
	-e 's/^  \.eh_frame  *: ONLY_IF_RO .*/  \/DISCARD\/ : { *(.eh_frame) *(.eh_frame.*) }/'
# $(call noeh_ld,CC,LDFLAGS) writes the script for this link; $(NOEH_T) passes it
noeh_ld = $(1) $(2) -Wl,--verbose -x c /dev/null -o /dev/null 2>/dev/null | $(NOEH_SED) > $@.ld || true
NOEH_T = $$(test -s $@.ld && echo -Wl,-T,$@.ld)
# Static, stripped, unused sections dropped.
CROSS_LDFLAGS ?= -static -s -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-z,norelro
SIZE_LIMIT := 524288

.PHONY: cross-deps-aarch64 cross-deps-armv7 sizes clean-cross

all: $(DEFAULT_BIN)

# dpkg --add-architecture only when missing; apt_ensure then runs "apt-get update"
# (retried once, a failure tolerated: the armhf security index is sometimes briefly
# inconsistent) and installs what is missing. Nothing is run when all is present.
cross-deps-aarch64 cross-deps-armv7: cross-deps-%:
	@dpkg --print-foreign-architectures | grep -qx '$(DEB_ARCH_$*)' || \
		{ echo "dpkg --add-architecture $(DEB_ARCH_$*)"; dpkg --add-architecture $(DEB_ARCH_$*); }
	$(call apt_ensure,$(CROSS_PKGS_$*))

waxlb-aarch64 waxlb-armv7: waxlb-%: waxlb.c waxlb.h | cross-deps-%
	$(call noeh_ld,$(CROSS_CC_$*),$(CROSS_LDFLAGS))
	$(CROSS_CC_$*) $(CROSS_CFLAGS) $(WARN) $(TLS_INC) -DWAXLB_FORTIFY_SHIMS -ffunction-sections \
		-fdata-sections -o $@ waxlb.c $(CROSS_BEARSSL_A_$*) $(CROSS_LDFLAGS) $(NOEH_T)
	rm -f $@.ld

# One after the other (apt/dpkg hold a lock), whatever -j says.
sizes:
	@$(MAKE) --no-print-directory waxlb
	@$(MAKE) --no-print-directory ARCH=aarch64
	@$(MAKE) --no-print-directory ARCH=armv7
	@fail=0; for b in waxlb waxlb-aarch64 waxlb-armv7; do \
		n=$$(stat -c %s $$b); \
		if [ $$n -le $(SIZE_LIMIT) ]; then ok="ok (<= $(SIZE_LIMIT))"; else ok="TOO BIG (> $(SIZE_LIMIT))"; fail=1; fi; \
		printf '%-14s %7d bytes  %s\n' $$b $$n "$$ok"; \
	done; exit $$fail

clean-cross:
	rm -f waxlb-aarch64 waxlb-armv7

# apt-get only when a package is missing; "apt-get update" once, tolerated
# when a mirror index is briefly inconsistent. With arm64/armhf enabled for the
# cross builds, a Multi-Arch: same package (libbearssl-dev) is ambiguous to
# "dpkg -s NAME": it is then checked as NAME:<native arch>.
define apt_ensure
	@missing=""; na=$$(dpkg --print-architecture); for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || \
		dpkg -s $$p:$$na >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		(apt-get update -qq || apt-get update -qq || true) && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps:
	$(call apt_ensure,$(BUILD_PKGS))

test-deps: deps
	$(call apt_ensure,$(TEST_PKGS))

waxlb: waxlb.c waxlb.h | deps
	$(call noeh_ld,$(CC_MUSL),$(LDFLAGS))
	$(CC_MUSL) $(CFLAGS) $(WARN) $(TLS_INC) -DWAXLB_FORTIFY_SHIMS -ffunction-sections \
		-fdata-sections -o $@ waxlb.c $(BEARSSL_A) $(LDFLAGS) $(NOEH_T)
	rm -f $@.ld

# Unit tests: waxlb.c with main() compiled out, linked into test/unit.c.
test/unit: test/unit.c waxlb.c waxlb.h
	$(CC_HOST) -O1 -g $(WARN) $(TLS_INC) -DWAXLB_NO_MAIN -o $@ test/unit.c waxlb.c -lbearssl

test/unit-asan: test/unit.c waxlb.c waxlb.h
	$(CC_HOST) -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=all \
		$(TLS_INC) -DWAXLB_NO_MAIN -o $@ test/unit.c waxlb.c -lbearssl

unit: test/unit test/unit-asan
	./test/unit
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./test/unit-asan

test: waxlb test-deps unit fuzz-quick
	$(PYTHON) -m pytest -q -p no:cacheprovider test

demo: waxlb test-deps
	sh test/demo.sh

clean: clean-cross clean-bench
	rm -f waxlb test/unit test/unit-asan
	rm -rf test/__pycache__

# ---------------------------------------------------------------- bench
# make bench: waxlb against Debian's haproxy on the seed configuration, loopback only; prints a table of
# figures and ratios, never fails on a timing. BENCH_SECS=N seconds per run (default 5); BENCH_ONLY=ka,close,
# stream,upg,mem,tls,scale selects tests; BENCH_IDLE=N idle tunnels (default 10000, capped by the fd limit).
# The load tools in bench/ are test tools built with the host gcc, not part of waxlb.
BENCH_TOOLS := bench/apinode bench/shipnode bench/wsload

.PHONY: bench clean-bench

bench/apinode bench/shipnode bench/wsload: bench/%: bench/%.c | deps
	$(CC_HOST) -O2 $(WARN) $(TLS_INC) -o $@ $< -lbearssl

bench: waxlb test-deps $(BENCH_TOOLS)
	$(PYTHON) bench/run.py

clean-bench:
	rm -f $(BENCH_TOOLS)

# ---------------------------------------------------------------- fuzzing
# make fuzz        every libFuzzer target in fuzz/ for FUZZ_SECS seconds (default 60) each
# make fuzz-quick  the same for FUZZ_QUICK_SECS (default 3) each; part of `make test`
# Seeds are in fuzz/corpus/<target> (kept in the repo, read only); what libFuzzer finds goes to
# fuzz/work/<target> and crashes to fuzz/work/crash-<target>-* (both ignored by git). A crash, leak or
# broken invariant fails the run. FUZZ_TARGETS=request,chunk selects targets.
FUZZ_CC      ?= clang
FUZZ_PKGS    := clang libclang-rt-14-dev libbearssl-dev
FUZZ_ALL     := request response chunk config acl nodeos ship ws agent pem lf ciphers
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SECS    ?= 60
FUZZ_QUICK_SECS ?= 3
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) $(TLS_INC) -DWAXLB_NO_MAIN
FUZZ_BINS    := $(FUZZ_ALL:%=fuzz/fuzz_%)
FUZZ_SEL     = $(subst $(comma), ,$(FUZZ_TARGETS))
comma := ,

.PHONY: fuzz fuzz-quick fuzz-deps fuzz-build clean-fuzz

fuzz-deps:
	$(call apt_ensure,$(FUZZ_PKGS))

fuzz/waxlb-fuzz.o: waxlb.c waxlb.h | fuzz-deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ waxlb.c

$(FUZZ_BINS): fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h fuzz/waxlb-fuzz.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< fuzz/waxlb-fuzz.o -lbearssl

fuzz-build: $(FUZZ_BINS)

# $(1): seconds per target
define fuzz_run
	@fail=""; for t in $(FUZZ_SEL); do \
		mkdir -p fuzz/work/$$t; \
		dict=""; [ -f fuzz/$$t.dict ] && dict="-dict=fuzz/$$t.dict"; \
		echo "fuzz $$t: $(1)s"; \
		ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
		./fuzz/fuzz_$$t -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
			-print_final_stats=1 -artifact_prefix=fuzz/work/crash-$$t- $$dict \
			fuzz/work/$$t fuzz/corpus/$$t >fuzz/work/$$t.log 2>&1 \
			|| { fail="$$fail $$t"; tail -40 fuzz/work/$$t.log; }; \
		grep -h '^stat::number_of_executed_units' fuzz/work/$$t.log | sed "s/^/  $$t /"; \
	done; \
	if [ -n "$$fail" ]; then echo "FUZZ FAILURES:$$fail (see fuzz/work/)"; exit 1; fi
endef

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_SECS))

fuzz-quick: fuzz-build
	$(call fuzz_run,$(FUZZ_QUICK_SECS))

clean-fuzz:
	rm -rf fuzz/work fuzz/waxlb-fuzz.o $(FUZZ_BINS)

# ---------------------------------------------------------------- sanitizer build of the whole program
# ./waxlb-asan: glibc, ASan+UBSan (gitignored via /waxlb-*). test/test_asan.py runs part of the
# integration suite on it; `make test-asan` runs just that.
.PHONY: test-asan

waxlb-asan: waxlb.c waxlb.h | deps
	$(CC_HOST) -O1 -g -fno-omit-frame-pointer $(WARN) -fsanitize=address,undefined \
		-fno-sanitize-recover=all $(TLS_INC) -o $@ waxlb.c -lbearssl

test-asan: waxlb-asan test-deps
	$(PYTHON) -m pytest -q -p no:cacheprovider test/test_asan.py

.PHONY: clean-asan
clean-asan:
	rm -f waxlb-asan

clean: clean-fuzz clean-asan

# ---------------------------------------------------------------- structure: lint and walk
# make lint  function lengths, sections and references to later sections in waxlb.c; a report
#            that never fails the build ("test/lint.py --strict" exits 1 on findings)
# make walk  the functions, sections and loop turns of one keep-alive request, from accept to
#            response, traced in test/waxlb-walk (host gcc, glibc, -O0 -finstrument-functions,
#            gitignored); test/walk.py drives it. Both are measurement tools, not part of waxlb.
# Only the waits waxlb.c really calls (nm on the object) are wrapped: walk_trace.c defines
# __wrap_X, which calls __real_X, only for those (WRAP_poll, WRAP_epoll_wait).
WALK_CFLAGS := -O0 -g -finstrument-functions $(WARN) $(TLS_INC)
WALK_WAITS  := poll epoll_wait

.PHONY: lint walk clean-walk

lint:
	$(PYTHON) test/lint.py waxlb.c

test/waxlb-walk: waxlb.c waxlb.h test/walk_trace.c
	$(CC_HOST) $(WALK_CFLAGS) -c -o test/waxlb-walk.o waxlb.c
	@wrap=""; defs=""; for s in $(WALK_WAITS); do \
		if nm -u test/waxlb-walk.o | awk -v s=$$s '$$2 == s { f = 1 } END { exit !f }'; then \
			wrap="$$wrap -Wl,--wrap=$$s"; defs="$$defs -DWRAP_$$s"; fi; \
	done; \
	set -x; $(CC_HOST) -O0 -g $(WARN) $$defs -no-pie -o $@ test/waxlb-walk.o test/walk_trace.c \
		-lbearssl $$wrap
	rm -f test/waxlb-walk.o

walk: test/waxlb-walk
	$(PYTHON) test/walk.py --binary test/waxlb-walk --source waxlb.c

clean-walk:
	rm -f test/waxlb-walk test/waxlb-walk.o

clean: clean-walk
