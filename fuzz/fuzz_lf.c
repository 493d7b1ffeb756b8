/* Log-format strings and the sample expressions in them: a fuzzed format,
 * parsed as a log line's and as a header value's, rendered against a
 * fixed request (and a fuzzed one, after the first NUL of the input). */
#include "fuzz.h"

static const char req_text[] =
    "GET /v1/chain/get_info?a=1&b=x%20y HTTP/1.1\r\nHost: Wax.Example:8080\r\n"
    "X-Forwarded-For: 10.1.2.3, 192.168.0.1\r\nCookie: a=1; sid=abc\r\n"
    "Authorization: Basic dXNlcjpwYXNz\r\nX-List: aa:bb:cc\r\n\r\n";

static void
render(const char *fmt, const struct smp_ctx *c)
{
	char out[512];
	int k, n;

	for (k = 0; k < 2; k++) {
		n = lf_test(fmt, k, c, out, sizeof(out), fz_devnull());
		FZ_ASSERT(n >= -1 && n < (int)sizeof(out));
		if (n >= 0)
			FZ_ASSERT(strlen(out) == (size_t)n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct http_msg m, m2;
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (void *)&ss;
	struct smp_ctx c;
	char *b = fz_dup(d, n), *fmt;
	const char *z;
	size_t fl;

	z = memchr(b, 0, n);
	fl = z ? (size_t)(z - b) : n;
	fmt = malloc(fl + 1);
	memcpy(fmt, b, fl);
	fmt[fl] = 0;
	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(4242);
	in->sin_addr.s_addr = htonl(0x7f000001);
	memset(&c, 0, sizeof(c));
	c.cli_fd = -1;
	c.src = &ss;
	FZ_ASSERT(h1_parse_request(req_text, sizeof(req_text) - 1, &m) > 0);
	c.msg = &m;
	render(fmt, &c);
	if (z && h1_parse_request(z + 1, n - fl - 1, &m2) > 0) {
		c.msg = &m2;
		c.rsp = &m2;
		render(fmt, &c);
	}
	free(fmt);
	free(b);
	return 0;
}
