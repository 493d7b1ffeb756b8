# waxlb - build, test, demo.
#
#   make          ./waxlb, static, musl (installs missing Debian packages)
#   make test     unit tests (plain and ASan/UBSan) and the integration suite
#   make demo     waxlb in front of local fake API and SHIP nodes
#   make clean
#
# Build dependencies are Debian packages; they are installed with apt-get
# when missing, so a fresh Debian 12 machine needs nothing by hand.

CC_MUSL  ?= musl-gcc
CC_HOST  ?= gcc
PYTHON   ?= /usr/bin/python3
CFLAGS   ?= -Os
WARN     := -Wall -Wextra
LDFLAGS  ?= -static -s -Wl,--gc-sections
BUILD_PKGS := musl-tools libbearssl-dev
TLS_INC  := -I/usr/include/bearssl
BEARSSL_A := /usr/lib/x86_64-linux-gnu/libbearssl.a
TEST_PKGS  := python3-pytest python3-websockets haproxy curl socat wrk openssl

.PHONY: all deps test-deps unit test demo clean

all: waxlb

# apt-get only when a package is missing; "apt-get update" once, tolerated
# when a mirror index is briefly inconsistent.
define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
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
	$(CC_MUSL) $(CFLAGS) $(WARN) $(TLS_INC) -DWAXLB_FORTIFY_SHIMS -ffunction-sections \
		-fdata-sections -o $@ waxlb.c $(BEARSSL_A) $(LDFLAGS)

# Unit tests: waxlb.c with main() compiled out, linked into test/unit.c.
test/unit: test/unit.c waxlb.c waxlb.h
	$(CC_HOST) -O1 -g $(WARN) $(TLS_INC) -DWAXLB_NO_MAIN -o $@ test/unit.c waxlb.c -lbearssl

test/unit-asan: test/unit.c waxlb.c waxlb.h
	$(CC_HOST) -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=all \
		$(TLS_INC) -DWAXLB_NO_MAIN -o $@ test/unit.c waxlb.c -lbearssl

unit: test/unit test/unit-asan
	./test/unit
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./test/unit-asan

test: waxlb test-deps unit
	$(PYTHON) -m pytest -q -p no:cacheprovider test

demo: waxlb test-deps
	sh test/demo.sh

clean:
	rm -f waxlb test/unit test/unit-asan
	rm -rf test/__pycache__
