/* h1_parse_response and ws_check_upgrade (server heads). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct http_msg m, m2;
	static const unsigned char key[16] = "0123456789abcdef";
	char *b = fz_dup(d, n);
	const char *why = NULL;
	int r = h1_parse_response(b, n, &m), i;

	if (r > 0) {
		FZ_ASSERT((size_t)r <= n && b[r - 1] == '\n');
		FZ_ASSERT(m.status >= 100 && m.status <= 999);
		FZ_ASSERT(m.nhdr >= 0 && m.nhdr <= HDR_MAX);
		for (i = 0; i < m.nhdr; i++) {
			FZ_ASSERT(m.hdr[i].name >= b && m.hdr[i].name + m.hdr[i].name_len <= b + r);
			FZ_ASSERT(m.hdr[i].value >= b && m.hdr[i].value + m.hdr[i].value_len <= b + r);
		}
		FZ_ASSERT(!((m.flags & MSG_CHUNKED) && (m.flags & MSG_CLEN)));
		FZ_ASSERT(h1_parse_response(b, (size_t)r - 1, &m2) == 0);
	} else if (r < 0)
		FZ_ASSERT(m.err == 502);
	r = ws_check_upgrade(b, n, key, &why);
	FZ_ASSERT(r >= -1 && (r <= 0 || (size_t)r <= n));
	if (r < 0)
		FZ_ASSERT(why != NULL);
	if (r > 0)
		FZ_ASSERT(ws_check_upgrade(b, (size_t)r - 1, key, &why) == 0);
	free(b);
	return 0;
}
