/* h1_parse_request: memory safety plus invariants a smuggling-safe parser keeps. */
#include "fuzz.h"

static void
check_views(const char *b, int r, const struct http_msg *m)
{
	int i;

	FZ_ASSERT(m->nhdr >= 0 && m->nhdr <= HDR_MAX);
	for (i = 0; i < m->nhdr; i++) {
		const struct http_hdr *h = &m->hdr[i];

		FZ_ASSERT(h->name >= b && h->name + h->name_len <= b + r);
		FZ_ASSERT(h->value >= b && h->value + h->value_len <= b + r);
		FZ_ASSERT(h->name_len > 0);
		FZ_ASSERT(memchr(h->value, '\r', h->value_len) == NULL);
		FZ_ASSERT(memchr(h->value, '\n', h->value_len) == NULL);
		FZ_ASSERT(memchr(h->value, '\0', h->value_len) == NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct http_msg m, m2;
	char *b = fz_dup(d, n);
	int r = h1_parse_request(b, n, &m);

	if (r > 0) {
		FZ_ASSERT((size_t)r <= n && b[r - 1] == '\n');
		FZ_ASSERT(m.method >= b && m.method + m.method_len <= b + r);
		FZ_ASSERT(m.uri >= b && m.uri + m.uri_len <= b + r);
		FZ_ASSERT(m.minor == 0 || m.minor == 1);
		check_views(b, r, &m);
		/* one framing only: never both a length and chunked */
		FZ_ASSERT(!((m.flags & MSG_CHUNKED) && (m.flags & MSG_CLEN)));
		FZ_ASSERT(!(m.flags & MSG_CLEN) || m.clen >= 0);
		FZ_ASSERT(m.clen >= -1);
		/* an HTTP/1.0 request never gets chunked framing */
		FZ_ASSERT(!((m.flags & MSG_CHUNKED) && m.minor == 0));
		/* framing does not depend on how the bytes arrived: every
		 * strict prefix of a complete head is "need more" */
		FZ_ASSERT(h1_parse_request(b, (size_t)r - 1, &m2) == 0);
		if (r > 2)
			FZ_ASSERT(h1_parse_request(b, (size_t)r / 2, &m2) >= 0);
		/* bytes after the head do not change the head */
		h1_find_hdr(&m, "host", 0);
	} else if (r < 0) {
		FZ_ASSERT(m.err == 400 || m.err == 414 || m.err == 431 ||
		    m.err == 501 || m.err == 505);
		FZ_ASSERT(m.err_what != NULL);
	}
	free(b);
	return 0;
}
