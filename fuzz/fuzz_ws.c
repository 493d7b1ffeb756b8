/* ws_reader_feed: the same frames fed whole and split at fuzzer-chosen
 * points must give the same events and the same final state. */
#include "fuzz.h"

#define KEEP 64

struct trace {
	int ev[4096];
	int n;
	uint64_t msg_len[4096];
	int failed;
};

static void
run(const unsigned char *b, size_t n, unsigned seed, int split, struct trace *t,
    struct ws_reader *r, unsigned char *keep)
{
	size_t off = 0;

	memset(t, 0, sizeof(*t));
	ws_reader_init(r, keep, KEEP, 1u << 20);
	while (off < n) {
		size_t k = n - off;
		unsigned char *piece;
		const char *why = NULL;
		int ev = 99;
		long c;

		if (split) {
			k = 1 + seed % 11;
			seed = seed * 1103515245u + 12345u;
			if (k > n - off)
				k = n - off;
		}
		piece = (unsigned char *)fz_dup(b + off, k);
		c = ws_reader_feed(r, piece, k, &ev, &why);
		free(piece);
		FZ_ASSERT(c >= 0 && (size_t)c <= k);
		FZ_ASSERT(ev == WS_MORE || ev == WS_MSG_DONE || ev == WS_CONTROL ||
		    ev == WS_ERROR);
		FZ_ASSERT(r->kept <= KEEP && r->ctl_len <= WS_CTL_MAX_BYTES);
		if (ev == WS_ERROR) {
			FZ_ASSERT(why != NULL);
			t->failed = 1;
			return;
		}
		if (ev == WS_MORE)
			FZ_ASSERT((size_t)c == k);
		else if (t->n < 4096) {
			t->msg_len[t->n] = ev == WS_MSG_DONE ? r->msg_len : r->ctl_len;
			t->ev[t->n++] = ev;
		}
		off += (size_t)c;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct trace a, s;
	struct ws_reader ra, rs;
	unsigned char ka[KEEP], ks[KEEP];
	unsigned seed;

	if (n < 2)
		return 0;
	seed = d[0] | (unsigned)d[1] << 8;
	run(d + 2, n - 2, 0, 0, &a, &ra, ka);
	run(d + 2, n - 2, seed, 1, &s, &rs, ks);
	FZ_ASSERT(a.failed == s.failed);
	FZ_ASSERT(a.n == s.n);
	FZ_ASSERT(memcmp(a.ev, s.ev, sizeof(int) * (size_t)a.n) == 0);
	FZ_ASSERT(memcmp(a.msg_len, s.msg_len, sizeof(uint64_t) * (size_t)a.n) == 0);
	if (!a.failed) {
		FZ_ASSERT(ra.kept == rs.kept && memcmp(ka, ks, ra.kept) == 0);
		FZ_ASSERT(ra.msg_len == rs.msg_len);
	}
	return 0;
}
