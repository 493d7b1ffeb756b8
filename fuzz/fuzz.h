/* Shared helpers for waxlb's libFuzzer targets (see fuzz/README). */
#ifndef WAXLB_FUZZ_H
#define WAXLB_FUZZ_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../waxlb.h"

/* An invariant the target checks: a violation is a crash libFuzzer keeps. */
#define FZ_ASSERT(c) do { if (!(c)) { \
	fprintf(stderr, "FUZZ INVARIANT %s:%d: %s\n", __FILE__, __LINE__, #c); \
	abort(); } } while (0)

/* An exact-size heap copy, so ASan sees any read past the input. */
static inline char *
fz_dup(const uint8_t *d, size_t n)
{
	char *b = malloc(n ? n : 1);

	if (n)
		memcpy(b, d, n);
	return b;
}

static inline FILE *
fz_devnull(void)
{
	static FILE *f;

	if (f == NULL)
		f = fopen("/dev/null", "w");
	return f;
}
#endif
