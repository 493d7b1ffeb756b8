/* h1_chunk_feed: whole-buffer feed vs the same bytes split at fuzzer-chosen
 * points must agree (where the message ends, or that it is malformed).
 * h1_chunk_canon: refuses exactly what h1_chunk_feed refuses, ends where it
 * ends, and writes a body that frames the same and is canonical (a second
 * pass changes nothing), whether it gets the bytes whole or in pieces. */
#include "fuzz.h"

static long
feed_all(const char *b, size_t n, struct chunk_dec *d)
{
	memset(d, 0, sizeof(*d));
	return h1_chunk_feed(d, b, n);
}

/* The split feed; returns the bytes consumed or -1. */
static long
feed_split(const char *b, size_t n, unsigned seed, struct chunk_dec *s)
{
	size_t off = 0;
	long got = 0, r;

	memset(s, 0, sizeof(*s));
	while (off < n) {
		size_t k = 1 + (seed % 7);
		char *piece;

		seed = seed * 1103515245u + 12345u;
		if (k > n - off)
			k = n - off;
		piece = fz_dup((const uint8_t *)b + off, k);
		r = h1_chunk_feed(s, piece, k);
		free(piece);
		if (r < 0)
			return -1;
		FZ_ASSERT((size_t)r <= k);
		got += r;
		off += k;
		if (h1_chunk_done(s))
			break;
		FZ_ASSERT((size_t)r == k);
	}
	return got;
}

/* Canon in pieces, as the session does: the unconsumed rest stays in the
 * buffer for the next read.  Output appended to out; its length or -1. */
static long
canon_split(const char *b, size_t n, unsigned seed, char *out, int *done)
{
	struct chunk_dec d;
	char *buf = malloc(n ? n : 1);
	size_t have = 0, off = 0, o = 0, ol;
	long r;

	memset(&d, 0, sizeof(d));
	while (off < n) {
		size_t k = 1 + (seed % 11);

		seed = seed * 1103515245u + 12345u;
		if (k > n - off)
			k = n - off;
		memcpy(buf + have, b + off, k);
		have += k;
		off += k;
		if ((r = h1_chunk_canon(&d, buf, have, &ol)) < 0) {
			free(buf);
			return -1;
		}
		FZ_ASSERT(ol <= (size_t)r && (size_t)r <= have);
		memcpy(out + o, buf, ol);
		o += ol;
		memmove(buf, buf + r, have - (size_t)r);
		have -= (size_t)r;
		if (h1_chunk_done(&d))
			break;
	}
	*done = h1_chunk_done(&d);
	free(buf);
	return (long)o;
}

static void
check_canon(const char *b, size_t n, unsigned seed, long ra, int a_done)
{
	struct chunk_dec c, c2;
	char *w = fz_dup((const uint8_t *)b, n), *out = malloc(n ? n : 1);
	size_t ol, ol2;
	long rc, rs, rc2;
	int done;

	memset(&c, 0, sizeof(c));
	rc = h1_chunk_canon(&c, w, n, &ol);
	if (ra < 0) {
		FZ_ASSERT(rc < 0);
		FZ_ASSERT(canon_split(b, n, seed, out, &done) < 0);
		goto out;
	}
	FZ_ASSERT(rc >= 0 && ol <= (size_t)rc);
	FZ_ASSERT(h1_chunk_done(&c) == a_done);
	if (a_done) {
		FZ_ASSERT(rc == ra);
		/* the rewritten body frames alike and is already canonical */
		memset(&c2, 0, sizeof(c2));
		FZ_ASSERT(h1_chunk_feed(&c2, w, ol) == (long)ol && h1_chunk_done(&c2));
		memcpy(out, w, ol);
		memset(&c2, 0, sizeof(c2));
		rc2 = h1_chunk_canon(&c2, out, ol, &ol2);
		FZ_ASSERT(rc2 == (long)ol && ol2 == ol && memcmp(out, w, ol) == 0);
	}
	rs = canon_split(b, n, seed, out, &done);
	FZ_ASSERT(rs == (long)ol && done == a_done);
	FZ_ASSERT(memcmp(out, w, ol) == 0);
out:
	free(w);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct chunk_dec a, s;
	unsigned seed;
	char *b;
	long ra, got;

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
	got = feed_split(b, n, seed, &s);
	if (ra < 0)
		FZ_ASSERT(got < 0);
	else {
		FZ_ASSERT(got >= 0);
		FZ_ASSERT(h1_chunk_done(&s) == h1_chunk_done(&a));
		FZ_ASSERT(got == ra);
	}
	check_canon(b, n, seed, ra, ra >= 0 && h1_chunk_done(&a));
	free(b);
	return 0;
}
