/* h1_chunk_feed: whole-buffer feed vs the same bytes split at fuzzer-chosen
 * points must agree (where the message ends, or that it is malformed). */
#include "fuzz.h"

static long
feed_all(const char *b, size_t n, struct chunk_dec *d)
{
	memset(d, 0, sizeof(*d));
	return h1_chunk_feed(d, b, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct chunk_dec a, s;
	unsigned seed;
	char *b;
	long ra, got = 0, r;
	size_t off = 0;
	int bad = 0;

	if (n < 2)
		return 0;
	seed = d[0] | (unsigned)d[1] << 8;
	d += 2;
	n -= 2;
	b = fz_dup(d, n);
	ra = feed_all(b, n, &a);
	FZ_ASSERT(ra >= -1 && ra <= (long)n);
	if (ra >= 0 && h1_chunk_done(&a))
		FZ_ASSERT(ra > 0 && b[ra - 1] == '\n');
	if (ra >= 0 && !h1_chunk_done(&a))
		FZ_ASSERT(ra == (long)n);
	/* split feeding, piece sizes from the seed */
	memset(&s, 0, sizeof(s));
	while (off < n) {
		size_t k = 1 + (seed % 7);
		char *piece;

		seed = seed * 1103515245u + 12345u;
		if (k > n - off)
			k = n - off;
		piece = fz_dup((const uint8_t *)b + off, k);
		r = h1_chunk_feed(&s, piece, k);
		free(piece);
		if (r < 0) {
			bad = 1;
			break;
		}
		FZ_ASSERT((size_t)r <= k);
		got += r;
		off += k;
		if (h1_chunk_done(&s))
			break;
		FZ_ASSERT((size_t)r == k);
	}
	if (ra < 0)
		FZ_ASSERT(bad);
	else {
		FZ_ASSERT(!bad);
		FZ_ASSERT(h1_chunk_done(&s) == h1_chunk_done(&a));
		FZ_ASSERT(got == ra);
	}
	free(b);
	return 0;
}
