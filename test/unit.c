/*
 * test/unit.c - unit tests for waxlb's pure parts: time values, the HTTP
 * head parser, chunked framing, the configuration loader, ACLs and
 * conditions, server selection (FWRR, FWLC, first) and OpenSSL cipher
 * lists.
 *
 * Built by "make unit" with waxlb.c (main compiled out), plain and with
 * ASan/UBSan/LSan.  Every failed check prints file:line and what differed;
 * the last line is "unit: N passed, M failed" and the exit status is 1
 * when anything failed.
 */
#define _GNU_SOURCE
#include "../waxlb.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Check helpers                                                        */

static int npass, nfail;

static void
report(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		npass++;
		return;
	}
	nfail++;
	printf("%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Generic condition with a message. */
#define CHECK(c, ...)	report(!!(c), __FILE__, __LINE__, __VA_ARGS__)

/* Integers: prints both expressions and values. */
#define EQI_AT(file, line, got, want, ctx) do {				\
	long long g_ = (long long)(got), w_ = (long long)(want);		\
	report(g_ == w_, file, line, "%s: %s is %lld, expected %s = %lld",	\
	    ctx, #got, g_, #want, w_);						\
} while (0)
#define EQI(got, want, ctx)	EQI_AT(__FILE__, __LINE__, got, want, ctx)

/* A (pointer, length) view against a C string. */
static void
eq_view(const char *file, int line, const char *ctx, const char *what,
    const char *p, size_t n, const char *want)
{
	int ok = p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;

	report(ok, file, line, "%s: %s is \"%.*s\", expected \"%s\"", ctx, what,
	    p ? (int)n : 6, p ? p : "(null)", want);
}
#define EQV(p, n, want, ctx)	eq_view(__FILE__, __LINE__, ctx, #p, p, n, want)

static void
eq_str(const char *file, int line, const char *ctx, const char *what,
    const char *got, const char *want)
{
	int ok = (got == NULL && want == NULL) ||
	    (got && want && strcmp(got, want) == 0);

	report(ok, file, line, "%s: %s is \"%s\", expected \"%s\"", ctx, what,
	    got ? got : "(null)", want ? want : "(null)");
}
#define EQS(got, want, ctx)	eq_str(__FILE__, __LINE__, ctx, #got, got, want)

/* Strings that may hold NUL bytes: text and length. */
#define S(lit)		lit, sizeof(lit) - 1

/* Printable form of a buffer, for messages. */
static const char *
shown(const char *s, size_t n)
{
	static char out[4][256];
	static int k;
	char *o = out[k++ & 3];
	size_t i, j = 0;

	for (i = 0; i < n && j + 5 < sizeof(out[0]); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r') {
			o[j++] = '\\';
			o[j++] = 'r';
		} else if (c == '\n') {
			o[j++] = '\\';
			o[j++] = 'n';
		} else if (c < 0x20 || c >= 0x7f) {
			j += (size_t)snprintf(o + j, 5, "\\x%02x", c);
		} else
			o[j++] = (char)c;
	}
	if (i < n && j + 3 < sizeof(out[0]))
		o[j++] = '.', o[j++] = '.', o[j++] = '.';
	o[j] = 0;
	return o;
}

/* ------------------------------------------------------------------ */
/* 1. u_parse_time                                                        */

static void
test_parse_time(void)
{
	static const struct {
		int		 line;
		const char	*in;
		int		 rc;
		unsigned	 ms;
	} t[] = {
		{ __LINE__, "150", 0, 150 },
		{ __LINE__, "10ms", 0, 10 },
		{ __LINE__, "10s", 0, 10000 },
		{ __LINE__, "2m", 0, 120000 },
		{ __LINE__, "1h", 0, 3600000 },
		{ __LINE__, "1d", 0, 86400000 },
		{ __LINE__, "24d", 0, 2073600000 },
		{ __LINE__, "500us", 0, 1 },
		{ __LINE__, "1us", 0, 1 },
		{ __LINE__, "1000us", 0, 1 },
		{ __LINE__, "1001us", 0, 2 },
		{ __LINE__, "1500us", 0, 2 },
		{ __LINE__, "0us", 0, 0 },
		{ __LINE__, "0", 0, 0 },
		{ __LINE__, "35000", 0, 35000 },
		{ __LINE__, "2147483647", 0, 2147483647u },
		/* errors */
		{ __LINE__, "", -1, 0 },
		{ __LINE__, "10x", -1, 0 },
		{ __LINE__, "s", -1, 0 },
		{ __LINE__, "-1", -1, 0 },
		{ __LINE__, "+1", -1, 0 },
		{ __LINE__, "1.5s", -1, 0 },
		{ __LINE__, " 10", -1, 0 },
		{ __LINE__, "10 s", -1, 0 },
		{ __LINE__, "10sec", -1, 0 },
		{ __LINE__, "10ss", -1, 0 },
		{ __LINE__, "2147483648", -1, 0 },	/* > INT_MAX ms */
		{ __LINE__, "24855d", -1, 0 },
		{ __LINE__, "99999999999d", -1, 0 },
		{ __LINE__, "99999999999999999999999", -1, 0 },
		/* v * 86400000 wraps modulo 2^64 to 34448384: must not be
		 * accepted as 34448384 ms */
		{ __LINE__, "213503982335d", -1, 0 },
		{ __LINE__, "4294967295000d", -1, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned ms = 0xdeadbeef;
		int rc = u_parse_time(t[i].in, &ms);
		char ctx[96];

		snprintf(ctx, sizeof(ctx), "u_parse_time(\"%s\")", t[i].in);
		EQI_AT(__FILE__, t[i].line, rc, t[i].rc, ctx);
		if (t[i].rc == 0 && rc == 0)
			EQI_AT(__FILE__, t[i].line, ms, t[i].ms, ctx);
		else if (rc == 0)
			report(0, __FILE__, t[i].line, "%s: accepted as %u ms",
			    ctx, ms);
	}
}

/* ------------------------------------------------------------------ */
/* 2. h1_parse_request                                                */

/* Every proper prefix of a valid head must ask for more bytes. */
static void
check_prefixes(int line, const char *buf, size_t len, int response)
{
	struct http_msg m;
	size_t n;
	int bad = 0;

	for (n = 0; n < len; n++) {
		int r = response ? h1_parse_response(buf, n, &m) :
		    h1_parse_request(buf, n, &m);

		if (r != 0 && bad++ < 3)
			report(0, __FILE__, line, "prefix %zu/%zu of \"%s\" gave %d "
			    "(err %d), expected 0", n, len, shown(buf, len), r, m.err);
	}
	report(bad == 0, __FILE__, line, "%d incomplete prefixes not answered 0",
	    bad);
}

static void
test_request_valid(void)
{
	static const char get[] =
	    "GET /v1/chain/get_info?x=1 HTTP/1.1\r\n"
	    "Host: wax.eosphere.io\r\n"
	    "User-Agent: curl/8.0\r\n"
	    "Accept:  */*  \r\n"
	    "X-Empty:\r\n"
	    "\r\n";
	char buf[512];
	struct http_msg m;
	int r;

	/* the head, with body bytes after it that are not part of it */
	snprintf(buf, sizeof(buf), "%sBODYBYTES", get);
	r = h1_parse_request(buf, strlen(buf), &m);
	EQI(r, sizeof(get) - 1, "GET head length");
	EQV(m.method, m.method_len, "GET", "GET");
	EQV(m.uri, m.uri_len, "/v1/chain/get_info?x=1", "GET");
	EQI(m.minor, 1, "GET");
	EQI(m.nhdr, 4, "GET");
	EQI(m.clen, -1, "GET without body");
	EQI(m.flags & (MSG_CLEN | MSG_CHUNKED), 0, "GET without body");
	CHECK(m.flags & MSG_HOST, "GET: MSG_HOST not set (flags %#x)", m.flags);
	EQV(m.hdr[0].name, m.hdr[0].name_len, "Host", "hdr 0");
	EQV(m.hdr[0].value, m.hdr[0].value_len, "wax.eosphere.io", "hdr 0");
	EQV(m.hdr[1].name, m.hdr[1].name_len, "User-Agent", "hdr 1");
	EQV(m.hdr[1].value, m.hdr[1].value_len, "curl/8.0", "hdr 1");
	EQV(m.hdr[2].value, m.hdr[2].value_len, "*/*", "hdr 2 (blanks trimmed)");
	EQV(m.hdr[3].name, m.hdr[3].name_len, "X-Empty", "hdr 3");
	EQI(m.hdr[3].value_len, 0, "hdr 3 empty value");
	CHECK(m.hdr[0].name == buf + strlen("GET /v1/chain/get_info?x=1 HTTP/1.1\r\n"),
	    "header views must point into the buffer");
	EQI(h1_find_hdr(&m, "user-agent", 0), 1, "h1_find_hdr");
	EQI(h1_find_hdr(&m, "HOST", 0), 0, "h1_find_hdr");
	EQI(h1_find_hdr(&m, "host", 1), -1, "h1_find_hdr from 1");
	EQI(h1_find_hdr(&m, "cookie", 0), -1, "h1_find_hdr absent");
	check_prefixes(__LINE__, get, sizeof(get) - 1, 0);

	/* LF-only line endings */
	{
		static const char lf[] = "GET /lf HTTP/1.1\nHost: a\nX-A: b\n\n";

		r = h1_parse_request(S(lf), &m);
		EQI(r, sizeof(lf) - 1, "LF-only request");
		EQV(m.uri, m.uri_len, "/lf", "LF-only");
		EQI(m.nhdr, 2, "LF-only");
		EQV(m.hdr[1].value, m.hdr[1].value_len, "b", "LF-only");
		check_prefixes(__LINE__, S(lf), 0);
	}
	/* HTTP/1.0 */
	r = h1_parse_request(S("GET / HTTP/1.0\r\n\r\n"), &m);
	EQI(r, 18, "HTTP/1.0 request");
	EQI(m.minor, 0, "HTTP/1.0 request");
	EQI(m.nhdr, 0, "HTTP/1.0 request");
	/* an empty line before the request is ignored (RFC 9112 2.2) */
	r = h1_parse_request(S("\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"), &m);
	EQI(r, sizeof("\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n") - 1, "leading CRLF");
	EQV(m.uri, m.uri_len, "/x", "leading CRLF");
	/* ...whatever its line end: it is not part of the head, which may
	 * not mix line ends but does not have to match it */
	r = h1_parse_request(S("\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"), &m);
	EQI(r, sizeof("\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n") - 1, "leading LF");
	r = h1_parse_request(S("\r\nGET /x HTTP/1.1\nHost: a\n\n"), &m);
	EQI(r, sizeof("\r\nGET /x HTTP/1.1\nHost: a\n\n") - 1, "leading CRLF, LF head");
	/* a CR as the last byte so far may still get its LF: need more */
	EQI(h1_parse_request(S("GET / HTTP/1.1\r\nHost: a\r\n\r"), &m), 0, "final CR");
	EQI(h1_parse_request(S("GET / HTTP/1.1\r"), &m), 0, "CR after the request line");
	EQI(h1_parse_request(S("GET / HTTP/1.1\r\nHost: a\r"), &m), 0, "CR after a field");

	/* POST with Content-Length */
	{
		static const char post[] = "POST /v1/chain/push_transaction HTTP/1.1\r\n"
		    "Host: a\r\nContent-Length: 42\r\nExpect: 100-continue\r\n\r\n";

		r = h1_parse_request(S(post), &m);
		EQI(r, sizeof(post) - 1, "POST");
		EQV(m.method, m.method_len, "POST", "POST");
		EQI(m.clen, 42, "POST clen");
		CHECK(m.flags & MSG_CLEN, "POST: MSG_CLEN missing (flags %#x)", m.flags);
		CHECK(!(m.flags & MSG_CHUNKED), "POST: MSG_CHUNKED set");
		CHECK(m.flags & MSG_EXPECT100, "POST: MSG_EXPECT100 missing");
		check_prefixes(__LINE__, S(post), 0);
	}
	r = h1_parse_request(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), &m);
	CHECK(r > 0 && m.clen == 0 && (m.flags & MSG_CLEN), "CL 0: r %d clen %lld flags %#x",
	    r, (long long)m.clen, m.flags);
	r = h1_parse_request(S("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 999999999999999999\r\n\r\n"), &m);
	CHECK(r > 0 && m.clen == 999999999999999999LL, "18-digit CL: r %d clen %lld",
	    r, (long long)m.clen);

	/* chunked */
	{
		static const char ch[] = "POST /up HTTP/1.1\r\nHost: a\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n";

		r = h1_parse_request(S(ch), &m);
		EQI(r, sizeof(ch) - 1, "chunked POST");
		CHECK(m.flags & MSG_CHUNKED, "chunked: MSG_CHUNKED missing (flags %#x)", m.flags);
		CHECK(!(m.flags & MSG_CLEN), "chunked: MSG_CLEN set");
		EQI(m.clen, -1, "chunked");
	}
	r = h1_parse_request(S("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: CHUNKED\r\n\r\n"), &m);
	CHECK(r > 0 && (m.flags & MSG_CHUNKED), "TE CHUNKED (case): r %d err %d", r, m.err);
}

static void
test_request_flags(void)
{
	static const struct {
		int		 line;
		const char	*req;
		unsigned	 set, clear;	/* flags that must be set / clear */
	} t[] = {
		{ __LINE__, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		  MSG_CONN_CLOSE, MSG_CONN_KA | MSG_CONN_UPG },
		{ __LINE__, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		  MSG_CONN_KA, MSG_CONN_CLOSE | MSG_CONN_UPG },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n\r\n",
		  MSG_CONN_KA | MSG_CONN_UPG, MSG_CONN_CLOSE | MSG_UPGRADE | MSG_WS },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo,,close , bar\r\n\r\n",
		  MSG_CONN_CLOSE, MSG_CONN_KA | MSG_CONN_UPG },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n",
		  0, MSG_CONN_CLOSE },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
		  "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Version: 13\r\n\r\n",
		  MSG_CONN_UPG | MSG_UPGRADE | MSG_WS | MSG_WS_KEY, MSG_CONN_CLOSE },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n",
		  MSG_UPGRADE, MSG_WS | MSG_CONN_UPG },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\n\r\n",
		  MSG_UPGRADE | MSG_WS, MSG_CONN_UPG | MSG_WS_KEY },
		{ __LINE__, "GET / HTTP/1.1\r\n\r\n", 0, MSG_HOST },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct http_msg m;
		int r = h1_parse_request(t[i].req, strlen(t[i].req), &m);

		report(r == (int)strlen(t[i].req), __FILE__, t[i].line,
		    "\"%s\": returned %d (err %d %s), expected %zu",
		    shown(t[i].req, strlen(t[i].req)), r, m.err,
		    m.err_what ? m.err_what : "", strlen(t[i].req));
		report((m.flags & t[i].set) == t[i].set, __FILE__, t[i].line,
		    "flags %#x lack %#x", m.flags, t[i].set & ~m.flags);
		report((m.flags & t[i].clear) == 0, __FILE__, t[i].line,
		    "flags %#x have unexpected %#x", m.flags, m.flags & t[i].clear);
	}
}

/* Accepted requests with duplicated-but-consistent headers. */
static void
test_request_dups_ok(void)
{
	static const struct {
		int		 line;
		const char	*req;
		long long	 clen;
	} t[] = {
		{ __LINE__, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		  "Content-Length: 5\r\n\r\n", 5 },
		{ __LINE__, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 5 },
		{ __LINE__, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:5,5 ,5\r\n\r\n", 5 },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: wax.eosphere.io\r\n"
		  "Host: wax.eosphere.io\r\n\r\n", -1 },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: wax.eosphere.io\r\n"
		  "host: WAX.eosphere.IO\r\n\r\n", -1 },
		{ __LINE__, "GET http://wax.eosphere.io/v1/x HTTP/1.1\r\n"
		  "Host: wax.eosphere.io\r\n\r\n", -1 },
		{ __LINE__, "GET * HTTP/1.1\r\nHost: a\r\n\r\n", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct http_msg m;
		int r = h1_parse_request(t[i].req, strlen(t[i].req), &m);

		report(r == (int)strlen(t[i].req), __FILE__, t[i].line,
		    "\"%s\": returned %d (err %d %s), expected %zu",
		    shown(t[i].req, strlen(t[i].req)), r, m.err,
		    m.err_what ? m.err_what : "", strlen(t[i].req));
		EQI_AT(__FILE__, t[i].line, m.clen, t[i].clen, "clen");
	}
}

/*
 * Status for a Transfer-Encoding with any coding but chunked ("gzip",
 * "x-chunked", "gzip, chunked").  The unit brief asked for 501 (RFC 9112
 * 6.1 allows it for unknown codings); waxlb answers 400 as HAProxy 2.6
 * does (commit 1692233), which test/test_malformed.py and the
 * seed-routing check tool require ("never 501").
 */
#define TE_BAD_STATUS	400

static void
test_request_errors(void)
{
	static char many[8192];
	static const struct {
		int		 line;
		const char	*req;
		size_t		 len;
		int		 err;
	} t[] = {
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\ngarbage line\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nX-Foo : bar\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nX\tFoo: bar\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\n: bar\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nX-Foo: a\r\n b\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nX-Foo: a\r\n\tb\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nX-Foo: a\rb\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nX-Foo: a\0b\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nX-Foo: a\x7f" "b\r\n\r\n"), 400 },
		/* Content-Length */
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		  "Content-Length: 5\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		  "Content-Length: 6\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ,\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\n"
		  "Content-Length: 1234567890123456789\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\n"
		  "Content-Length: 99999999999999999999999\r\n\r\n"), 400 },
		/* Transfer-Encoding */
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
		  TE_BAD_STATUS },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x-chunked\r\n\r\n"),
		  TE_BAD_STATUS },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\n"
		  "Transfer-Encoding: gzip, chunked\r\n\r\n"), TE_BAD_STATUS },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n"), TE_BAD_STATUS },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\n"
		  "Transfer-Encoding: chunked, gzip\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\n"
		  "Transfer-Encoding: chunked, chunked\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n"), 400 },
		{ __LINE__, S("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
		  400 },
		/* Host */
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: wax.eosphere.io\r\n"
		  "Host: example.com\r\n\r\n"), 400 },
		{ __LINE__, S("GET http://example.com/ HTTP/1.1\r\nHost: wax.eosphere.io\r\n\r\n"),
		  400 },
		{ __LINE__, S("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET http://user@a/x HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		/* request line */
		{ __LINE__, S("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505 },
		{ __LINE__, S("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505 },
		{ __LINE__, S("GET / HTTP/1.x\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET / http/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET / FOO/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET /\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET / \r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET /a\x01" "b HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET /a\x80 HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET foo HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"), 400 },
		/* websocket upgrade without a key */
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
		  "Upgrade: websocket\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
		  "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
		  "Upgrade: websocket\r\nSec-WebSocket-Key:\r\n\r\n"), 400 },
		/* CONNECT */
		{ __LINE__, S("CONNECT wax.eosphere.io:443 HTTP/1.1\r\n"
		  "Host: wax.eosphere.io:443\r\n\r\n"), 501 },
		/* CRLF and bare LF in one head */
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\n\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\nHost: a\n\r\n"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\nHost: a\r\nX-A: b\n\n"), 400 },
		/* ...refused as soon as both are seen, head complete or not */
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\nX-A: b"), 400 },
		/* a CR not followed by LF: refused at once, not at the timeout */
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\n\rX"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\r\n\rGET / HTTP/1.1"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\r\nHost: a\rX"), 400 },
		{ __LINE__, S("GET / HTTP/1.1\rX"), 400 },
		{ __LINE__, S("GET /\rX"), 400 },
		{ __LINE__, S("\rX"), 400 },
		{ __LINE__, S("\r\n\rGET / HTTP/1.1\r\n\r\n"), 400 },
		/* too many headers: filled in below */
		{ __LINE__, many, 0, 431 },
	};
	size_t i;

	/* 102 header lines: one more than tune.http.maxhdr (101) */
	{
		size_t o = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\nHost: a\r\n");

		for (i = 0; i < 101; i++)
			o += (size_t)snprintf(many + o, sizeof(many) - o, "X-H%zu: v\r\n", i);
		o += (size_t)snprintf(many + o, sizeof(many) - o, "\r\n");
	}

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct http_msg m;
		size_t len = t[i].len ? t[i].len : strlen(t[i].req);
		int r = h1_parse_request(t[i].req, len, &m);

		report(r == -1 && m.err == t[i].err, __FILE__, t[i].line,
		    "\"%s\": returned %d err %d (%s), expected -1 err %d",
		    shown(t[i].req, len), r, m.err, m.err_what ? m.err_what : "-",
		    t[i].err);
		if (r == -1)
			report(m.err_what != NULL, __FILE__, t[i].line, "no err_what");
	}

	/* exactly 101 headers is the limit and is accepted */
	{
		char ok[8192];
		struct http_msg m;
		size_t o = (size_t)snprintf(ok, sizeof(ok), "GET / HTTP/1.1\r\nHost: a\r\n");
		int r;

		for (i = 0; i < 100; i++)
			o += (size_t)snprintf(ok + o, sizeof(ok) - o, "X-H%zu: v\r\n", i);
		o += (size_t)snprintf(ok + o, sizeof(ok) - o, "\r\n");
		r = h1_parse_request(ok, o, &m);
		EQI(r, o, "101 headers accepted");
		EQI(m.nhdr, 101, "101 headers");
		EQV(m.hdr[100].name, m.hdr[100].name_len, "X-H99", "last of 101");
	}
}

/* ------------------------------------------------------------------ */
/* 3. h1_parse_response                                               */

static void
test_response(void)
{
	static const struct {
		int		 line;
		const char	*rsp;
		int		 status, minor;
		unsigned	 set, clear;
		long long	 clen;
		int		 nhdr;
	} ok[] = {
		{ __LINE__, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\n",
		  200, 1, MSG_CLEN, MSG_CHUNKED, 12, 2 },
		{ __LINE__, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		  200, 1, MSG_CHUNKED, MSG_CLEN, -1, 1 },
		{ __LINE__, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n",
		  200, 0, 0, MSG_CLEN | MSG_CHUNKED, -1, 1 },
		{ __LINE__, "HTTP/1.1 204 No Content\r\n\r\n",
		  204, 1, 0, MSG_CLEN | MSG_CHUNKED, -1, 0 },
		{ __LINE__, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		  "Upgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		  101, 1, MSG_CONN_UPG | MSG_UPGRADE | MSG_WS, MSG_CLEN | MSG_CHUNKED, -1, 3 },
		{ __LINE__, "HTTP/1.1 100 Continue\r\n\r\n",
		  100, 1, 0, MSG_CLEN | MSG_CHUNKED, -1, 0 },
		{ __LINE__, "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
		  404, 1, MSG_CLEN, MSG_CHUNKED, 0, 1 },
		{ __LINE__, "HTTP/1.1 503 Service Unavailable\nConnection: close\n\n",
		  503, 1, MSG_CONN_CLOSE, MSG_CLEN, -1, 1 },
		{ __LINE__, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		  200, 1, 0, MSG_CLEN | MSG_CHUNKED, -1, 1 },
	};
	static const struct {
		int		 line;
		const char	*rsp;
	} bad[] = {
		{ __LINE__, "HTTP/1.1 20 OK\r\n\r\n" },
		{ __LINE__, "HTTP/1.1 2000 OK\r\n\r\n" },
		{ __LINE__, "HTTP/1.1 abc OK\r\n\r\n" },
		{ __LINE__, "HTTP/1.1 099 Low\r\n\r\n" },
		{ __LINE__, "HTTP/1.1  200 OK\r\n\r\n" },
		{ __LINE__, "HTTP/2.0 200 OK\r\n\r\n" },
		{ __LINE__, "HTTP/1.x 200 OK\r\n\r\n" },
		{ __LINE__, "HTTX/1.1 200 OK\r\n\r\n" },
		{ __LINE__, "http/1.1 200 OK\r\n\r\n" },
		{ __LINE__, "HTTP/1.1\r\n\r\n" },
		{ __LINE__, "garbage\r\n\r\n" },
		{ __LINE__, "\r\n\r\n" },
		{ __LINE__, "HTTP/1.1 200 O\x01K\r\n\r\n" },
		{ __LINE__, "HTTP/1.1 200 OK\r\nbad header line\r\n\r\n" },
		{ __LINE__, "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n" },
		{ __LINE__, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n" },
		/* a CR not followed by LF: refused before the head is whole */
		{ __LINE__, "HTTP/1.1 200 OK\rX" },
		{ __LINE__, "HTTP/1.1 200 OK\r\nServer: x\r\n\rX" },
		{ __LINE__, "HTTP/1.1 200 OK\r\nServer: x\rX" },
	};
	static const struct {
		int		 line;
		const char	*rsp;
	} badlen[] = {
		{ __LINE__, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n" },
		{ __LINE__, "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n" },
		{ __LINE__, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n" },
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct http_msg m;
		size_t len = strlen(ok[i].rsp);
		int r = h1_parse_response(ok[i].rsp, len, &m);

		report(r == (int)len, __FILE__, ok[i].line, "\"%s\": returned %d "
		    "(err %d %s), expected %zu", shown(ok[i].rsp, len), r, m.err,
		    m.err_what ? m.err_what : "-", len);
		EQI_AT(__FILE__, ok[i].line, m.status, ok[i].status, "status");
		EQI_AT(__FILE__, ok[i].line, m.minor, ok[i].minor, "minor");
		EQI_AT(__FILE__, ok[i].line, m.clen, ok[i].clen, "clen");
		EQI_AT(__FILE__, ok[i].line, m.nhdr, ok[i].nhdr, "nhdr");
		report((m.flags & ok[i].set) == ok[i].set, __FILE__, ok[i].line,
		    "flags %#x lack %#x", m.flags, ok[i].set & ~m.flags);
		report((m.flags & ok[i].clear) == 0, __FILE__, ok[i].line,
		    "flags %#x have unexpected %#x", m.flags, m.flags & ok[i].clear);
		check_prefixes(ok[i].line, ok[i].rsp, len, 1);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_msg m;
		size_t len = strlen(bad[i].rsp);
		int r = h1_parse_response(bad[i].rsp, len, &m);

		report(r == -1 && m.err == 502, __FILE__, bad[i].line,
		    "\"%s\": returned %d err %d (%s), expected -1 err 502",
		    shown(bad[i].rsp, len), r, m.err, m.err_what ? m.err_what : "-");
	}
	/* invalid lengths: refused (m.err is 400 here, the request status,
	 * but the proxy answers 502 to any unparsable response) */
	for (i = 0; i < sizeof(badlen) / sizeof(badlen[0]); i++) {
		struct http_msg m;
		size_t len = strlen(badlen[i].rsp);
		int r = h1_parse_response(badlen[i].rsp, len, &m);

		report(r == -1, __FILE__, badlen[i].line, "\"%s\": returned %d, expected -1",
		    shown(badlen[i].rsp, len), r);
	}
	/* the head length excludes the body that follows */
	{
		static const char rb[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
		struct http_msg m;

		EQI(h1_parse_response(S(rb), &m), sizeof(rb) - 1 - 5, "response head length");
	}
}

/* ------------------------------------------------------------------ */
/* 4. h1_chunk_feed / h1_chunk_done                                           */

/* Feed <body> whole, then byte by byte; both must consume <want> bytes
 * (-1: an error) and be done exactly at the end. */
static void
chunk_case(int line, const char *body, size_t len, long want)
{
	struct chunk_dec d;
	long r, total = 0;
	size_t i;
	int err = 0;

	memset(&d, 0, sizeof(d));
	r = h1_chunk_feed(&d, body, len);
	report(r == want, __FILE__, line, "\"%s\" in one go: consumed %ld, expected %ld",
	    shown(body, len), r, want);
	if (want >= 0)
		report(h1_chunk_done(&d), __FILE__, line, "\"%s\": not done after one feed",
		    shown(body, len));

	memset(&d, 0, sizeof(d));
	for (i = 0; i < len; i++) {
		int was_done = h1_chunk_done(&d);

		r = h1_chunk_feed(&d, body + i, 1);
		if (r < 0) {
			err = 1;
			break;
		}
		if (was_done && r != 0) {
			report(0, __FILE__, line, "byte %zu consumed after the end", i);
			break;
		}
		if (!was_done && r != 1) {
			report(0, __FILE__, line, "byte %zu: consumed %ld before the end", i, r);
			break;
		}
		total += r;
		if (want >= 0 && h1_chunk_done(&d) != (total == want)) {
			report(0, __FILE__, line, "byte by byte: done=%d after %ld bytes "
			    "(end at %ld)", h1_chunk_done(&d), total, want);
			break;
		}
	}
	if (want < 0)
		report(err, __FILE__, line, "\"%s\" byte by byte: no error (consumed %ld)",
		    shown(body, len), total);
	else
		report(!err && total == want && h1_chunk_done(&d), __FILE__, line,
		    "\"%s\" byte by byte: consumed %ld err %d, expected %ld",
		    shown(body, len), total, err, want);
}

static void
test_chunked(void)
{
	static const char wiki[] = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
	static const struct {
		int		 line;
		const char	*body;
		int		 ok;		/* 0: malformed */
		const char	*after;		/* bytes after the message */
	} t[] = {
		{ __LINE__, wiki, 1, "GET /next HTTP/1.1\r\n\r\n" },
		{ __LINE__, wiki, 1, "" },
		{ __LINE__, "0\r\n\r\n", 1, "X" },
		{ __LINE__, "0\n\n", 0, "X" },		/* framing is CRLF only */
		{ __LINE__, "3\nabc\n0\n\n", 0, "" },
		{ __LINE__, "4;name=value\r\nWiki\r\n0;last\r\n\r\n", 1, "zz" },
		{ __LINE__, "4 ;a=\"b c\"\r\nWiki\r\n0\r\n\r\n", 1, "" },
		{ __LINE__, "4  \r\nWiki\r\n0\r\n\r\n", 1, "" },
		{ __LINE__, "0\r\nX-Trailer: v\r\nX-Other: w\r\n\r\n", 1, "NEXT" },
		{ __LINE__, "2\r\nab\r\n0\r\nChecksum: 1\n\n", 0, "" },
		{ __LINE__, "0\r\nnot a field\r\n\r\n", 0, "" },
		{ __LINE__, "0\r\n: empty name\r\n\r\n", 0, "" },
		{ __LINE__, "A\r\n0123456789\r\n0\r\n\r\n", 1, "" },
		{ __LINE__, "a\r\n0123456789\r\nF6\r\n"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "012345678901234567890123456789012345\r\n0\r\n\r\n", 1, "" },
		{ __LINE__, "0004\r\nWiki\r\n000\r\n\r\n", 1, "" },
		{ __LINE__, "fF;x\r\n"		/* 255 bytes */
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "012345678901234567890123456789012345678901234\r\n0\r\n\r\n", 1, "" },
		/* errors */
		{ __LINE__, "zz\r\nab\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "\r\nab\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, ";x\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "4\r\nWikiX\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "4\r\nWiki\rX0\r\n\r\n", 0, "" },
		{ __LINE__, "4\rX\nWiki\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "4x\r\nWiki\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "-4\r\nWiki\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "10000000000000000\r\n", 0, "" },		/* 17 digits */
		{ __LINE__, "1000000000000000\r\n", 0, "" },		/* 16 digits */
		{ __LINE__, "10000000000000\r\n", 0, "" },	/* 2^52, as HAProxy */
		{ __LINE__, "ffffffffffffffffffff\r\n", 0, "" },
		{ __LINE__, "1\t\x01\r\nx\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "1;a\rb\r\nx\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, " 1\r\nx\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "1 x\r\nx\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "0x1\r\nx\r\n0\r\n\r\n", 0, "" },
		{ __LINE__, "0\r\nX-T: a\x01" "b\r\n\r\n", 0, "" },
		{ __LINE__, "0\r\n\rX", 0, "" },
		{ __LINE__, "1;\x01\r\na\r\n0\r\n\r\n", 0, "" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[1024];
		size_t len;

		len = (size_t)snprintf(buf, sizeof(buf), "%s%s", t[i].body, t[i].after);
		chunk_case(t[i].line, buf, len, t[i].ok ? (long)strlen(t[i].body) : -1);
	}

	/* 13 hex digits (2^52 - 1, HAProxy's largest) still fit: consumed,
	 * waiting for the data; leading zeros do not count */
	{
		struct chunk_dec d;
		static const char big[] = "fffffffffffff\r\nabc";
		static const char zeros[] = "00000000000000000000fffffffffffff\r\nabc";

		memset(&d, 0, sizeof(d));
		EQI(h1_chunk_feed(&d, S(big)), sizeof(big) - 1, "13-digit chunk size");
		CHECK(!h1_chunk_done(&d), "13-digit chunk: done too early");
		memset(&d, 0, sizeof(d));
		EQI(h1_chunk_feed(&d, S(zeros)), sizeof(zeros) - 1, "leading zeros");
	}
	/* a size line is bounded whatever it is made of (blanks too) */
	{
		static char blanks[CHUNK_LINE_MAX + 8];
		struct chunk_dec d;

		memset(blanks, ' ', sizeof(blanks));
		blanks[0] = '1';
		memset(&d, 0, sizeof(d));
		EQI(h1_chunk_feed(&d, blanks, sizeof(blanks)), -1, "endless blanks");
		memset(&d, 0, sizeof(d));
		EQI(h1_chunk_feed(&d, blanks, CHUNK_LINE_MAX), CHUNK_LINE_MAX,
		    "blanks up to the line limit");
	}
	/* split in two feeds in the middle of a chunk's data */
	{
		struct chunk_dec d;
		long a, b;

		memset(&d, 0, sizeof(d));
		a = h1_chunk_feed(&d, wiki, 13);
		b = h1_chunk_feed(&d, wiki + 13, sizeof(wiki) - 1 - 13 + 3);
		EQI(a, 13, "first half");
		EQI(b, (long)sizeof(wiki) - 1 - 13, "second half stops at the end");
		CHECK(h1_chunk_done(&d), "two feeds: not done");
		EQI(h1_chunk_feed(&d, "more", 4), 0, "feed after done");
	}
	/* incomplete: everything consumed, not done */
	{
		struct chunk_dec d;

		memset(&d, 0, sizeof(d));
		EQI(h1_chunk_feed(&d, S("4\r\nWiki\r\n0\r\n")), 12, "incomplete end");
		CHECK(!h1_chunk_done(&d), "\"...0\\r\\n\" must not be done");
		EQI(h1_chunk_feed(&d, S("\r\n")), 2, "final CRLF");
		CHECK(h1_chunk_done(&d), "not done after the final CRLF");
	}
}

/* h1_chunk_canon as the session uses it: bytes come <step> at a time
 * into a buffer, the consumed part is rewritten, the rest moved down
 * behind it.  Returns the output length, -1 on an error; *done. */
static long
canon_steps(const char *in, size_t len, size_t step, char *out, size_t cap,
    int *done)
{
	struct chunk_dec d;
	char buf[4096];
	size_t have = 0, fed = 0, o = 0, ol;
	long n;

	memset(&d, 0, sizeof(d));
	*done = 0;
	while (fed < len || have) {
		size_t k = len - fed < step ? len - fed : step;

		if (have + k > sizeof(buf))
			return -2;
		memcpy(buf + have, in + fed, k);
		have += k;
		fed += k;
		if ((n = h1_chunk_canon(&d, buf, have, &ol)) < 0)
			return -1;
		if (ol > (size_t)n || o + ol > cap)
			return -2;
		memcpy(out + o, buf, ol);	/* what would be sent */
		o += ol;
		memmove(buf, buf + n, have - (size_t)n);
		have -= (size_t)n;
		if (h1_chunk_done(&d)) {
			*done = 1;
			break;
		}
		if (fed == len)
			break;	/* a line cut short stays behind */
	}
	return (long)o;
}

static void
test_chunk_canon(void)
{
	static const struct {
		int		 line;
		const char	*in;
		const char	*out;		/* NULL: refused */
	} t[] = {
		/* already canonical: passed as it is */
		{ __LINE__, "5\r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n" },
		{ __LINE__, "A\r\n0123456789\r\n0\r\n\r\n", "A\r\n0123456789\r\n0\r\n\r\n" },
		/* HAProxy writes upper-case hex, without leading zeros */
		{ __LINE__, "a\r\n0123456789\r\n0\r\n\r\n", "A\r\n0123456789\r\n0\r\n\r\n" },
		{ __LINE__, "0000a\r\n0123456789\r\n000\r\n\r\n",
		  "A\r\n0123456789\r\n0\r\n\r\n" },
		{ __LINE__, "00000000000000000001\r\nx\r\n0\r\n\r\n", "1\r\nx\r\n0\r\n\r\n" },
		/* extensions and blanks are dropped, whatever they hold */
		{ __LINE__, "2;\r\nab\r\n0\r\n\r\n", "2\r\nab\r\n0\r\n\r\n" },
		{ __LINE__, "a \r\n0123456789\r\n0\r\n\r\n", "A\r\n0123456789\r\n0\r\n\r\n" },
		{ __LINE__, "1;a=\"b\r\nx\r\n0\r\n\r\n", "1\r\nx\r\n0\r\n\r\n" },
		{ __LINE__, "1 ; a = b\r\nx\r\n0;last=1\r\n\r\n", "1\r\nx\r\n0\r\n\r\n" },
		{ __LINE__, "1\t;a\r\nx\r\n0\t\r\n\r\n", "1\r\nx\r\n0\r\n\r\n" },
		{ __LINE__, "3;x\r\nabc\r\n2;y\r\nde\r\n1;z\r\nf\r\n0\r\n\r\n",
		  "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n" },
		/* trailers are kept */
		{ __LINE__, "1;e\r\nx\r\n0;e\r\nX-T: v\r\n\r\n", "1\r\nx\r\n0\r\nX-T: v\r\n\r\n" },
		/* refused */
		{ __LINE__, "zz\r\nab\r\n0\r\n\r\n", NULL },
		{ __LINE__, "1;a\x01\r\nx\r\n0\r\n\r\n", NULL },
		{ __LINE__, "1;a\rb\r\nx\r\n0\r\n\r\n", NULL },
		{ __LINE__, "1;a\nx\r\n0\r\n\r\n", NULL },
		{ __LINE__, "1\r\nxy\r\n0\r\n\r\n", NULL },
		{ __LINE__, "10000000000000\r\nx", NULL },
		{ __LINE__, "1 x\r\nx\r\n0\r\n\r\n", NULL },
	};
	static const size_t steps[] = { 1, 2, 3, 7, 4096 };
	size_t i, k;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char in[256], out[256];
		size_t len = (size_t)snprintf(in, sizeof(in), "%sNEXT", t[i].in);
		size_t body = strlen(t[i].in);
		int done;

		for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			long o = canon_steps(in, len, steps[k], out, sizeof(out), &done);

			if (t[i].out == NULL) {
				report(o == -1, __FILE__, t[i].line, "\"%s\" by %zu: not "
				    "refused (%ld)", shown(t[i].in, body), steps[k], o);
				continue;
			}
			report(o == (long)strlen(t[i].out) &&
			    memcmp(out, t[i].out, (size_t)o) == 0, __FILE__, t[i].line,
			    "\"%s\" by %zu: out \"%s\" (%ld), expected \"%s\"",
			    shown(t[i].in, body), steps[k], o < 0 ? "" :
			    shown(out, (size_t)o), o, shown(t[i].out, strlen(t[i].out)));
			report(done, __FILE__, t[i].line, "\"%s\" by %zu: not done "
			    "(\"NEXT\" is not part of it)", shown(t[i].in, body), steps[k]);
		}
	}
	/* a size line is taken only whole, but garbage is refused at once */
	{
		struct chunk_dec d;
		char b[32];
		size_t ol = 99;

		memset(&d, 0, sizeof(d));
		memcpy(b, "1;ext", 5);
		EQI(h1_chunk_canon(&d, b, 5, &ol), 0, "incomplete size line held back");
		EQI(ol, 0, "nothing out for an incomplete line");
		memcpy(b, "1;ext\r\nx", 8);
		EQI(h1_chunk_canon(&d, b, 8, &ol), 8, "the line, once whole");
		EQI(ol, 4, "\"1\\r\\nx\"");
		CHECK(memcmp(b, "1\r\nx", 4) == 0, "rewritten in place: \"%s\"", shown(b, 4));
		memset(&d, 0, sizeof(d));
		EQI(h1_chunk_canon(&d, b, (size_t)snprintf(b, sizeof(b), "z"), &ol), -1,
		    "garbage without its LF");
		memset(&d, 0, sizeof(d));
		EQI(h1_chunk_canon(&d, b, (size_t)snprintf(b, sizeof(b), "1;a\x01"), &ol),
		    -1, "bad extension without its LF");
	}
	/* data after a shortened line moves down; bytes after the end stay */
	{
		struct chunk_dec d;
		char b[64];
		size_t n = (size_t)snprintf(b, sizeof(b), "003;x\r\nabc\r\n0\r\n\r\nGET"), ol;

		memset(&d, 0, sizeof(d));
		EQI(h1_chunk_canon(&d, b, n, &ol), n - 3, "stops at the end");
		EQI(ol, 13, "output length");
		CHECK(memcmp(b, "3\r\nabc\r\n0\r\n\r\n", 13) == 0, "out \"%s\"", shown(b, ol));
		CHECK(h1_chunk_done(&d), "not done");
	}
}

/* ------------------------------------------------------------------ */
/* 5. Configuration                                                     */

/* Parse <text> as "t.cfg"; *out gets the messages (free it). */
static struct config *
cfg_parse(const char *text, char **out)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	struct config *c;

	if (f == NULL) {
		perror("open_memstream");
		exit(2);
	}
	c = cfg_parse_string(text, "t.cfg", f);
	fclose(f);
	*out = buf;
	return c;
}

static struct server *
find_srv(struct proxy *be, const char *name)
{
	struct server *s;

	for (s = be ? be->srv : NULL; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static const char good_cfg[] =
    "# a valid configuration\n"				/* 1 */
    "global\n"						/* 2 */
    "    maxconn 100\n"					/* 3 */
    "    log 127.0.0.1:514 local0\n"			/* 4 */
    "defaults\n"					/* 5 */
    "    mode http\n"					/* 6 */
    "    timeout connect 2s\n"				/* 7 */
    "    timeout client 10s\n"				/* 8 */
    "    timeout server 1m\n"				/* 9 */
    "    timeout tunnel 35000\n"			/* 10 */
    "    option httplog\n"				/* 11 */
    "    log global\n"					/* 12 */
    "\n"						/* 13 */
    "frontend http-in\n"				/* 14 */
    "    bind 127.0.0.1:8080,[::1]:8081\n"		/* 15 */
    "    timeout client 20s\n"				/* 16 */
    "    acl is_api path_beg /v1/chain   # comment\n"	/* 17 */
    "    use_backend api if is_api\n"			/* 18 */
    "    use_backend ship\n"				/* 19 */
    "    default_backend api\n"				/* 20 */
    "\n"						/* 21 */
    "backend api\n"					/* 22 */
    "    balance roundrobin\n"				/* 23 */
    "    default-server check maxconn 10000 inter 3s rise 3 fall 4\n"	/* 24 */
    "    server a 127.0.0.1:9001 cookie s1 weight 1\n"	/* 25 */
    "    server b 127.0.0.1:9002 weight 4 maxconn 5 inter 500 rise 1 fall 2\n" /* 26 */
    "    server c 127.0.0.1:9003 backup no-check\n"	/* 27 */
    "    server d [::1]:9004 disabled weight 0\n"	/* 28 */
    "\n"						/* 29 */
    "backend ship\n"					/* 30 */
    "    balance leastconn\n"				/* 31 */
    "    timeout server 2h\n"				/* 32 */
    "    server s1 127.0.0.1:9101\n"			/* 33 */
    "\n"						/* 34 */
    "defaults\n"					/* 35 */
    "    mode tcp\n"					/* 36 */
    "    timeout connect 5s\n"				/* 37 */
    "\n"						/* 38 */
    "listen tcpl 127.0.0.1:7000\n"			/* 39 */
    "    balance first\n"				/* 40 */
    "    server x [::1]:80 maxconn 2\n"		/* 41 */
    "    server y 127.0.0.1:81\n";			/* 42 */

static void
test_config_good(void)
{
	char *msg;
	struct config *c = cfg_parse(good_cfg, &msg);
	struct proxy *fe, *api, *ship, *l;
	struct server *s;

	CHECK(c != NULL, "valid config rejected: %s", msg);
	CHECK(strstr(msg, "t.cfg:") == NULL, "valid config printed messages: %s", msg);
	free(msg);
	if (c == NULL)
		return;
	EQI(c->maxconn, 100, "global maxconn");
	fe = cfg_find_proxy(c, "http-in", CAP_FE);
	api = cfg_find_proxy(c, "api", CAP_BE);
	ship = cfg_find_proxy(c, "ship", CAP_BE);
	l = cfg_find_proxy(c, "tcpl", CAP_FE);
	CHECK(fe && api && ship && l, "proxies missing: fe %p api %p ship %p listen %p",
	    (void *)fe, (void *)api, (void *)ship, (void *)l);
	CHECK(cfg_find_proxy(c, "api", CAP_FE) == NULL, "backend found as a frontend");
	CHECK(cfg_find_proxy(c, "http-in", CAP_BE) == NULL, "frontend found as a backend");
	CHECK(cfg_find_proxy(c, "nosuch", CAP_FE | CAP_BE) == NULL, "nosuch found");
	if (!(fe && api && ship && l)) {
		cfg_free(c);
		return;
	}
	/* frontend */
	EQI(fe->cap, CAP_FE, "frontend cap");
	EQI(fe->line, 14, "frontend line");
	EQI(fe->mode, MODE_HTTP, "frontend mode from defaults");
	EQI(fe->timeout[T_CONNECT], 2000, "frontend timeout connect");
	EQI(fe->timeout[T_CLIENT], 20000, "frontend timeout client (own)");
	EQI(fe->timeout[T_SERVER], 60000, "frontend timeout server");
	EQI(fe->timeout[T_TUNNEL], 35000, "frontend timeout tunnel");
	EQI(fe->timeout[T_HTTP_REQ], 0, "unset timeout");
	CHECK(fe->logfmt != NULL && fe->logfmt_src && strncmp(fe->logfmt_src, "%ci:%cp [%tr]",
	    13) == 0, "option httplog not inherited");
	CHECK(fe->binds && fe->binds->next && !fe->binds->next->next,
	    "two binds expected");
	if (fe->binds && fe->binds->next) {
		const struct sockaddr_in *in = (const void *)&fe->binds->addr;
		const struct sockaddr_in6 *in6 = (const void *)&fe->binds->next->addr;

		EQI(in->sin_family, AF_INET, "bind 1");
		EQI(ntohs(in->sin_port), 8080, "bind 1 port");
		EQI(ntohl(in->sin_addr.s_addr), 0x7f000001, "bind 1 addr");
		EQI(in6->sin6_family, AF_INET6, "bind 2");
		EQI(ntohs(in6->sin6_port), 8081, "bind 2 port");
		EQS(fe->binds->next->text, "[::1]:8081", "bind 2 text");
	}
	CHECK(fe->rules && fe->rules->next && !fe->rules->next->next, "two rules");
	if (fe->rules && fe->rules->next) {
		CHECK(fe->rules->be == api, "rule 1 not resolved to api");
		CHECK(fe->rules->cond != NULL, "rule 1 has no condition");
		EQI(fe->rules->line, 18, "rule 1 line");
		CHECK(fe->rules->next->be == ship, "rule 2 not resolved to ship");
		CHECK(fe->rules->next->cond == NULL, "rule 2: unconditional expected");
	}
	CHECK(fe->default_be == api, "default_backend not resolved");

	/* backend api */
	EQI(api->cap, CAP_BE, "backend cap");
	EQI(api->mode, MODE_HTTP, "backend mode from defaults");
	EQI(api->timeout[T_SERVER], 60000, "backend timeout server");
	EQI(api->timeout[T_CLIENT], 10000, "backend timeout client (defaults)");
	CHECK(strcmp(api->lb->name, "roundrobin") == 0, "balance roundrobin");
	CHECK(strcmp(ship->lb->name, "leastconn") == 0, "balance leastconn");
	EQI(ship->timeout[T_SERVER], 7200000, "timeout server 2h");
	EQI(api->nsrv, 4, "api servers");
	if ((s = find_srv(api, "a")) != NULL) {
		EQI(s->id, 1, "a id");
		EQI(s->line, 25, "a line");
		EQI(s->weight, 1, "a weight");
		EQI(s->maxconn, 10000, "a maxconn (default-server)");
		EQI(s->check, 1, "a check (default-server)");
		EQI(s->inter, 3000, "a inter (default-server)");
		EQI(s->fastinter, 3000, "a fastinter = inter");
		EQI(s->downinter, 3000, "a downinter = inter");
		EQI(s->rise, 3, "a rise");
		EQI(s->fall, 4, "a fall");
		EQI(s->backup, 0, "a backup");
		EQS(s->cookie, "s1", "a cookie");
		CHECK(s->be == api, "a->be");
		EQI(((struct sockaddr_in *)&s->addr)->sin_family, AF_INET, "a family");
		EQI(ntohs(((struct sockaddr_in *)&s->addr)->sin_port), 9001, "a port");
		EQS(s->addr_text, "127.0.0.1:9001", "a addr_text");
	} else
		CHECK(0, "server a missing");
	if ((s = find_srv(api, "b")) != NULL) {
		EQI(s->id, 2, "b id");
		EQI(s->weight, 4, "b weight");
		EQI(s->maxconn, 5, "b maxconn");
		EQI(s->inter, 500, "b inter");
		EQI(s->rise, 1, "b rise");
		EQI(s->fall, 2, "b fall");
		EQI(s->check, 1, "b check");
	} else
		CHECK(0, "server b missing");
	if ((s = find_srv(api, "c")) != NULL) {
		EQI(s->backup, 1, "c backup");
		EQI(s->check, 0, "c no-check");
		EQI(s->weight, 1, "c default weight");
		EQI(s->maxconn, 10000, "c maxconn");
		CHECK(s->cookie == NULL, "c cookie must not be inherited from a");
	} else
		CHECK(0, "server c missing");
	if ((s = find_srv(api, "d")) != NULL) {
		EQI(s->disabled, 1, "d disabled");
		EQI(s->weight, 0, "d weight 0");
		EQI(((struct sockaddr_in6 *)&s->addr)->sin6_family, AF_INET6, "d family");
	} else
		CHECK(0, "server d missing");
	if ((s = find_srv(ship, "s1")) != NULL) {
		EQI(s->check, 0, "s1: no default-server in ship");
		EQI(s->weight, 1, "s1 weight default");
		EQI(s->inter, 2000, "s1 default inter");
		EQI(s->rise, 2, "s1 default rise");
		EQI(s->fall, 3, "s1 default fall");
		EQI(s->maxconn, 0, "s1 maxconn unlimited");
	} else
		CHECK(0, "server s1 missing");

	/* listen after a second defaults section, which starts afresh */
	EQI(l->cap, CAP_FE | CAP_BE, "listen cap");
	EQI(l->mode, MODE_TCP, "listen mode from 2nd defaults");
	EQI(l->timeout[T_CONNECT], 5000, "listen timeout connect");
	EQI(l->timeout[T_CLIENT], 0, "listen timeout client (new defaults)");
	CHECK(strcmp(l->lb->name, "first") == 0, "balance first");
	CHECK(l->default_be == l, "listen is its own default backend");
	CHECK(cfg_find_proxy(c, "tcpl", CAP_BE) == l, "listen as backend");
	CHECK(l->binds != NULL && l->binds->next == NULL, "listen bind");
	if (l->binds)
		EQI(ntohs(((struct sockaddr_in *)&l->binds->addr)->sin_port), 7000, "listen port");
	EQI(l->nsrv, 2, "listen servers");
	if ((s = find_srv(l, "x")) != NULL)
		EQI(s->maxconn, 2, "x maxconn");
	cfg_free(c);
}

/* default-server and options given in a defaults section */
static void
test_config_defaults(void)
{
	static const char text[] =
	    "defaults\n"
	    "    mode http\n"
	    "    default-server inter 1s fall 5 maxconn 7\n"
	    "    option http-server-close\n"
	    "    option forwardfor\n"
	    "    retries 5\n"
	    "backend b1\n"
	    "    default-server rise 9\n"
	    "    no option forwardfor\n"
	    "    server s 127.0.0.1:80\n"
	    "    server t 127.0.0.1:81 inter 250 fastinter 100 downinter 5s\n"
	    "listen l1\n"
	    "    bind 127.0.0.1:8000\n"
	    "    option httpclose\n"
	    "    server u 127.0.0.1:82\n";
	char *msg;
	struct config *c = cfg_parse(text, &msg);
	struct proxy *b1, *l1;
	struct server *s;

	CHECK(c != NULL, "defaults config rejected: %s", msg);
	free(msg);
	if (c == NULL)
		return;
	b1 = cfg_find_proxy(c, "b1", CAP_BE);
	l1 = cfg_find_proxy(c, "l1", CAP_BE);
	CHECK(b1 && l1, "proxies missing");
	if (b1 && l1) {
		EQI(b1->mode, MODE_HTTP, "b1 mode");
		EQI(b1->retries, 5, "b1 retries from defaults");
		EQI(b1->http_mode, HTTP_SCL, "b1 http-server-close from defaults");
		CHECK(!(b1->options & OPT_FORWARDFOR), "b1: no option forwardfor ignored");
		CHECK(l1->options & OPT_FORWARDFOR, "l1: forwardfor from defaults lost");
		EQI(l1->http_mode, HTTP_CLO, "l1 httpclose");
		if ((s = find_srv(b1, "s")) != NULL) {
			EQI(s->inter, 1000, "s inter from defaults' default-server");
			EQI(s->fall, 5, "s fall from defaults");
			EQI(s->rise, 9, "s rise from the backend's default-server");
			EQI(s->maxconn, 7, "s maxconn from defaults");
		} else
			CHECK(0, "server s missing");
		if ((s = find_srv(b1, "t")) != NULL) {
			EQI(s->inter, 250, "t inter");
			EQI(s->fastinter, 100, "t fastinter");
			EQI(s->downinter, 5000, "t downinter");
		} else
			CHECK(0, "server t missing");
		if ((s = find_srv(l1, "u")) != NULL) {
			EQI(s->rise, 2, "u rise: b1's default-server must not leak");
			EQI(s->inter, 1000, "u inter from defaults");
		} else
			CHECK(0, "server u missing");
	}
	cfg_free(c);
}

static void
test_config_errors(void)
{
	static const struct {
		int		 line;
		const char	*text;
		int		 errline;	/* 0: valid */
		const char	*needle;	/* in the message */
	} t[] = {
		{ __LINE__, "frontend f\n    bind :80\n    bogus_kw 1\n", 3, "unknown keyword" },
		{ __LINE__, "global\n    frobnicate\n", 2, "unknown keyword" },
		{ __LINE__, "defaults\n    mode http\n    timeout client 10x\n", 3, "10x" },
		{ __LINE__, "defaults\n    timeout client 1.5s\n", 2, "invalid time" },
		{ __LINE__, "defaults\n    timeout client\n", 2, "timeout" },
		{ __LINE__, "defaults\n    timeout nosuch 1s\n", 2, "unknown timeout" },
		{ __LINE__, "defaults\n    mode udp\n", 2, "mode" },
		{ __LINE__, "frontend f\n    bind :80\n\n    use_backend nosuch\n", 4, "nosuch" },
		{ __LINE__, "frontend f\n    bind :80\n    default_backend nosuch\n", 3, "nosuch" },
		{ __LINE__, "frontend f\n    bind :80\n    use_backend b if undefined_acl\n"
		  "backend b\n    server s 127.0.0.1:80\n", 3, "undefined_acl" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a path_beg /\n"
		  "    use_backend b if a !undefined_acl\nbackend b\n", 4, "no such ACL" },
		{ __LINE__, "frontend f\n    bind :80\n    use_backend b if a ||\n"
		  "backend b\n", 3, "t.cfg:3:" },
		{ __LINE__, "frontend f\n    bind :80\n    use_backend b if { path_beg /x\n"
		  "backend b\n", 3, "'}'" },
		{ __LINE__, "frontend f\n    bind :80\n    use_backend b when x\nbackend b\n",
		  3, "if" },
		{ __LINE__, "frontend f\n    bind 127.0.0.1\n", 2, "port" },
		{ __LINE__, "frontend f\n    bind 127.0.0.1:70000\n", 2, "port" },
		{ __LINE__, "frontend f\n    bind 127.0.0.1:0\n", 2, "port" },
		{ __LINE__, "frontend f\n    bind ::1:80\n", 2, "IPv6" },
		{ __LINE__, "frontend f\n    bind /tmp/sock\n", 2, "bind" },
		{ __LINE__, "frontend f\n    bind 127.0.0.1:80-90\n", 2, "range" },
		{ __LINE__, "frontend f\n    bind :80 nosuchopt\n", 2, "nosuchopt" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:0\n", 2, "invalid address" },
		{ __LINE__, "backend b\n    server s 127.0.0.1\n", 2, "invalid address" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:abc\n", 2, "invalid port" },
		{ __LINE__, "backend b\n    server s :80\n", 2, "invalid address" },
		{ __LINE__, "backend b\n    server s *:80\n", 2, "invalid address" },
		{ __LINE__, "backend b\n    server s\n", 2, "server" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 weight 300\n", 2, "weight" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 weight\n", 2, "weight" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 maxconn x\n", 2, "maxconn" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 inter 0\n", 2, "inter" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 rise 0\n", 2, "rise" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 frob\n", 2, "frob" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 ssl\n", 2, "ssl" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80\n    server s 127.0.0.1:81\n",
		  3, "already defined" },
		{ __LINE__, "backend b\n    default-server weight 999\n", 2, "weight" },
		{ __LINE__, "backend b\n    balance nosuch\n", 2, "nosuch" },
		{ __LINE__, "backend b\n    balance source\n", 2, "source" },
		{ __LINE__, "backend b\n    balance roundrobin extra\n", 2, "argument" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a hdr(x) \"abc\n", 3, "quote" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a hdr(x) 'abc\n", 3, "quote" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a hdr(x) abc\\\n", 3, "backslash" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a hdr(x) \\xZZ\n", 3, "\\x" },
		{ __LINE__, "frontend f\n    bind :80\n    server s 127.0.0.1:80\n", 3, "frontend" },
		{ __LINE__, "defaults\n    server s 127.0.0.1:80\n", 2, "defaults" },
		{ __LINE__, "backend b\n    bind :80\n", 2, "bind" },
		{ __LINE__, "defaults\n    acl a path /\n", 2, "acl" },
		{ __LINE__, "global\n\nfrontend nobind\n    mode http\n", 3, "bind" },
		{ __LINE__, "listen nobind\n    server s 127.0.0.1:80\n", 1, "bind" },
		{ __LINE__, "frontend f\n    bind :80\nfrontend f\n    bind :81\n", 3, "same name" },
		{ __LINE__, "frontend\n", 1, "name" },
		{ __LINE__, "    bind :80\n", 1, "outside" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a nosuchfetch x\n", 3, "nosuchfetch" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a hdr(host\n", 3, "')'" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a path_beg\n", 3, "pattern" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a\n", 3, "acl" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a path_beg -i\n", 3, "pattern" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a src 10.0.0.0/33\n", 3, "10.0.0.0/33" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a src nothost\n", 3, "nothost" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a path_reg (\n", 3, "regex" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a path -m nosuch x\n", 3, "nosuch" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a path -f /etc/x\n", 3, "pattern file" },
		{ __LINE__, "userlist u\n    user admin password x\n", 2, "mkpasswd" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a$b path /\n", 3, "ACL name" },
		{ __LINE__, "frontend f\n    bind :80\n    option nosuchopt\n", 3, "nosuchopt" },
		{ __LINE__, "frontend f\n    bind :80\n    http-request frob\n", 3, "frob" },
		{ __LINE__, "frontend f\n    bind :80\n    mode http\n    default_backend b\n"
		  "backend b\n    mode tcp\n", 4, "mode" },
		{ __LINE__, "frontend f\n    bind :80\n    mode http\n    use_backend b\n"
		  "backend b\n    mode tcp\n", 4, "mode" },
		{ __LINE__, "global\n    maxconn 0\n", 2, "maxconn" },
		{ __LINE__, "frontend f\n    bind :80\n    maxconn -1\n", 3, "maxconn" },
		{ __LINE__, "backend b\n    retry-on 503 bogus\n", 2, "bogus" },
		{ __LINE__, "backend b\n    retry-on\n", 2, "at least one keyword" },
		{ __LINE__, "backend b\n    retry-on none 503\n", 2, "alone" },
		{ __LINE__, "backend b\n    retry-on 505\n", 2, "505" },
		{ __LINE__, "frontend f\n    bind :80\n    retry-on 503\n", 3, "frontend" },
		{ __LINE__, "backend b\n    http-reuse sometimes\n", 2, "http-reuse" },
		{ __LINE__, "backend b\n    http-reuse\n", 2, "http-reuse" },
		{ __LINE__, "global\n    ssl-default-bind-ciphers DHE-RSA-AES128-GCM-SHA256\n",
		  2, "no usable cipher in 'DHE-RSA-AES128-GCM-SHA256': it selects only "
		  "DHE-RSA-AES128-GCM-SHA256 (not in BearSSL)" },
		{ __LINE__, "global\n    ssl-default-bind-ciphers TLS_AES_128_GCM_SHA256\n",
		  2, "invalid cipher list" },
		{ __LINE__, "global\n    ssl-default-bind-ciphers\n", 2, "cipher list" },
		{ __LINE__, "frontend f\n    bind :80 ciphers !ALL\n", 2, "invalid cipher list" },
		{ __LINE__, "frontend f\n    bind :80 ciphers HIGH:@SECLEVEL=7\n", 2,
		  "@SECLEVEL=7" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 ciphers\n", 2, "ciphers" },
		{ __LINE__, "global\n    ssl-default-bind-options frob\n", 2,
		  "unknown option 'frob' on global statement 'ssl-default-bind-options'" },
		{ __LINE__, "global\n    ssl-default-bind-options force-tlsv13\n", 2,
		  "BearSSL has no TLSv1.3" },
		{ __LINE__, "global\n    ssl-default-bind-options ssl-max-ver TLSv9\n", 2,
		  "ssl-max-ver 'TLSv9'" },
		{ __LINE__, "global\n    ssl-default-bind-options\n", 2, "expects an option" },
		{ __LINE__, "global\n    ssl-default-bind-curves nosuch\n", 2,
		  "unknown curve 'nosuch'" },
		{ __LINE__, "global\n    ssl-default-bind-curves X448\n", 2,
		  "none of its curves is in BearSSL" },
		{ __LINE__, "global\n    tune.ssl.lifetime 5x\n", 2, "lifetime" },
		{ __LINE__, "global\n    tune.ssl.lifetime\n", 2, "lifetime" },
		{ __LINE__, "global\n    maxsslconn -1\n", 2, "maxsslconn" },
		{ __LINE__, "frontend f\n    bind :80 curves\n", 2, "expects a value" },
		{ __LINE__, "frontend f\n    bind :80 ecdhe P-256:P-256\n", 2, "twice" },
		{ __LINE__, "frontend f\n    bind :80 force-sslv3\n", 2, "BearSSL has no SSLv3" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *msg, want[32];
		struct config *c = cfg_parse(t[i].text, &msg);

		snprintf(want, sizeof(want), "t.cfg:%d:", t[i].errline);
		report(c == NULL, __FILE__, t[i].line, "config accepted, messages: %s", msg);
		report(strstr(msg, want) != NULL, __FILE__, t[i].line,
		    "message lacks \"%s\": %s", want, msg);
		report(strstr(msg, t[i].needle) != NULL, __FILE__, t[i].line,
		    "message lacks \"%s\": %s", t[i].needle, msg);
		cfg_free(c);
		free(msg);
	}

	/* every error of the input is reported, not just the first */
	{
		char *msg;
		struct config *c = cfg_parse("frontend f\n    bind :80\n    bogus1\n"
		    "    bogus2\n    timeout client zz\n", &msg);

		CHECK(c == NULL, "config with 3 errors accepted");
		CHECK(strstr(msg, "t.cfg:3:") && strstr(msg, "t.cfg:4:") &&
		    strstr(msg, "t.cfg:5:"), "not all errors reported: %s", msg);
		cfg_free(c);
		free(msg);
	}
}

/* retry-on and http-reuse: HAProxy's defaults, its words, inheritance
 * from defaults, and "retry-on" replacing what was set before. */
static void
test_config_retry_reuse(void)
{
	static const char text[] =
	    "defaults\n"
	    "    mode http\n"
	    "    retry-on 503 empty-response\n"
	    "    http-reuse always\n"
	    "backend inherits\n"
	    "backend own\n"
	    "    retry-on conn-failure 404 response-timeout junk-response\n"
	    "    retry-on 502 504\n"
	    "    http-reuse never\n"
	    "backend all\n"
	    "    retry-on all-retryable-errors\n"
	    "    http-reuse aggressive\n"
	    "backend none\n"
	    "    retry-on none\n"
	    "    http-reuse safe\n"
	    "defaults\n"
	    "backend plain\n";
	char *msg;
	struct config *c = cfg_parse(text, &msg);
	const struct proxy *p;

	CHECK(c != NULL, "retry-on/http-reuse config rejected: %s", msg);
	free(msg);
	if (c == NULL)
		return;
	if ((p = cfg_find_proxy(c, "inherits", CAP_BE)) != NULL) {
		EQI(p->retry_on, RE_503 | RE_EMPTY, "retry-on from defaults");
		EQI(p->reuse, REUSE_ALWAYS, "http-reuse from defaults");
	}
	if ((p = cfg_find_proxy(c, "own", CAP_BE)) != NULL) {
		EQI(p->retry_on, RE_502 | RE_504, "a later retry-on replaces");
		EQI(p->reuse, REUSE_NEVER, "http-reuse never");
	}
	if ((p = cfg_find_proxy(c, "all", CAP_BE)) != NULL) {
		EQI(p->retry_on, RE_CONN | RE_EMPTY | RE_TIMEOUT | RE_JUNK | RE_0RTT |
		    RE_500 | RE_502 | RE_503 | RE_504, "all-retryable-errors");
		EQI(p->reuse, REUSE_AGGRESSIVE, "http-reuse aggressive");
	}
	if ((p = cfg_find_proxy(c, "none", CAP_BE)) != NULL) {
		EQI(p->retry_on, 0, "retry-on none");
		EQI(p->reuse, REUSE_SAFE, "http-reuse safe");
	}
	if ((p = cfg_find_proxy(c, "plain", CAP_BE)) != NULL) {
		EQI(p->retry_on, RE_CONN, "HAProxy's default retry-on");
		EQI(p->reuse, REUSE_SAFE, "HAProxy's default http-reuse");
	}
	cfg_free(c);
}

/* ------------------------------------------------------------------ */
/* Error pages: h1_page_parse / h1_page_write, and their configuration   */

static void
test_pages(void)
{
	static const struct {
		int		 line;
		const char	*raw;
		const char	*why;		/* NULL: valid */
	} bad[] = {
		{ __LINE__, "garbage", "incomplete" },
		{ __LINE__, "HTTP/1.1 100 Continue\r\n\r\n", "status code" },
		{ __LINE__, "HTTP/1.1 503 X\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		  "chunk" },
		{ __LINE__, "HTTP/1.1 503 X\r\nContent-Length: 5\r\n\r\nab", "content-length" },
		{ __LINE__, "HTTP/1.1 503 X\r\nContent-Length: 0\r\n\r\nab", "payload" },
		{ __LINE__, "HTTP/1.1 204 X\r\n\r\nab", "payload" },
		{ __LINE__, "HTTP/2.0 503 X\r\nContent-Length: 0\r\n\r\n", "status line" },
		{ __LINE__, "HTTP/1.1 503 X\r\nbad line\r\n\r\n", "header" },
	};
	char out[512], wire[512];
	struct h1_page pg;
	const char *why;
	size_t i;
	int n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		n = h1_page_parse(bad[i].raw, strlen(bad[i].raw), out, sizeof(out), &pg, &why);
		report(n == -1 && why && strstr(why, bad[i].why), __FILE__, bad[i].line,
		    "\"%s\": %d (%s), expected an error about %s", shown(bad[i].raw,
		    strlen(bad[i].raw)), n, why ? why : "-", bad[i].why);
	}
	/* laid out as HAProxy sends it: lower-case names, no Connection */
	{
		static const char raw[] = "HTTP/1.0 503 Custom\nX-Big: A\nConnection: close\n"
		    "Content-Length: 4\n\nbody";

		EQI(h1_page_parse(S(raw), out, sizeof(out), &pg, &why), 0, "page");
		EQI(pg.status, 503, "page status");
		CHECK(pg.close && pg.v10 && !pg.empty, "flags %d %d %d", pg.close, pg.v10,
		    pg.empty);
		n = h1_page_write(&pg, H1_CONN_CLOSE, 0, wire, sizeof(wire));
		EQV(wire, (size_t)(n < 0 ? 0 : n), "HTTP/1.0 503 Custom\r\nx-big: A\r\n"
		    "content-length: 4\r\nconnection: close\r\n\r\nbody", "written");
		n = h1_page_write(&pg, H1_CONN_KA, 1, wire, sizeof(wire));
		EQV(wire, (size_t)(n < 0 ? 0 : n), "HTTP/1.0 503 Custom\r\nx-big: A\r\n"
		    "content-length: 4\r\nconnection: keep-alive\r\n\r\n", "HEAD, keep-alive");
		EQI(h1_page_write(&pg, H1_CONN_NONE, 0, wire, 20), -1, "too small");
	}
	/* a body without a length closes; an empty file is an empty page */
	EQI(h1_page_parse(S("HTTP/1.1 403 F\r\n\r\nno length"), out, sizeof(out), &pg,
	    &why), 0, "no length");
	CHECK(pg.close && pg.body_len == 9, "close %d body %u", pg.close, pg.body_len);
	EQI(h1_page_parse("", 0, out, sizeof(out), &pg, &why), 0, "empty");
	CHECK(pg.empty && h1_page_write(&pg, H1_CONN_NONE, 0, wire, sizeof(wire)) == 0,
	    "empty page writes nothing");
	EQI(h1_err_slot(503), 17, "slot of 503");
	EQI(h1_err_slot(418), -1, "418 has no slot");
	EQI(h1_err_status(h1_err_slot(421)), 421, "421");
	EQS(h1_gen_reason(400), "Bad Request", "http-error reason");
	EQS(h1_gen_reason(599), "Server Error", "unknown 5xx");
}

/* Files for the error-page configuration tests, in a fresh directory. */
static char errdir[64];

static void
errfile(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", errdir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static void
test_config_errpages_bad(void)
{
	static const struct {
		int		 line;
		const char	*text;		/* %s: the files' directory */
		int		 errline;
		const char	*needle;
	} t[] = {
		{ __LINE__, "defaults\n    errorfile 418 %s/503.http\n", 2, "'418' not handled" },
		{ __LINE__, "defaults\n    errorfile abc %s/503.http\n", 2, "'abc' not handled" },
		{ __LINE__, "defaults\n    errorfile 503 %s/nosuch\n", 2, "error opening" },
		{ __LINE__, "defaults\n    errorfile 503 %s\n", 2, "error reading" },
		{ __LINE__, "defaults\n    errorfile 503 %s/big.http\n", 2, "exceeds tune.bufsize" },
		{ __LINE__, "global\n    tune.bufsize 4096\ndefaults\n    errorfile 503 %s/4k.http\n",
		  4, "does not fit in tune.bufsize" },
		{ __LINE__, "defaults\n    errorfile 503 %s/chunked.http\n", 2, "chunk-encoded" },
		{ __LINE__, "defaults\n    errorfile 503 %s/mismatch.http\n", 2, "content-length" },
		{ __LINE__, "defaults\n    errorfile 503 %s/garbage.http\n", 2, "garbage.http" },
		{ __LINE__, "defaults\n    errorfile 503\n", 2, "expects <status_code> and <file>" },
		{ __LINE__, "defaults\n    errorfile 503 %s/503.http x\n", 2, "nothing more" },
		{ __LINE__, "defaults\n    errorloc 503\n", 2, "expects <status_code> and <url>" },
		{ __LINE__, "defaults\n    errorloc302 999 /x\n", 2, "not handled" },
		{ __LINE__, "defaults\n    errorloc303 503 /x y\n", 2, "nothing more" },
		{ __LINE__, "defaults\n    errorfiles\n", 2, "expects <name>" },
		{ __LINE__, "defaults\n    errorfiles site 418\n", 2, "not handled" },
		{ __LINE__, "frontend f\n    bind :80\n    errorfiles nosuch\n", 3,
		  "unknown http-errors section 'nosuch'" },
		{ __LINE__, "defaults\n    http-error\n", 2, "at least a <status>" },
		{ __LINE__, "defaults\n    http-error status\n", 2, "'status' expects" },
		{ __LINE__, "defaults\n    http-error status 100\n", 2, "unexpected status" },
		{ __LINE__, "defaults\n    http-error status 418\n", 2, "'418' not handled" },
		{ __LINE__, "defaults\n    http-error status 503 string x\n", 2, "content type" },
		{ __LINE__, "defaults\n    http-error status 503 content-type t string\n", 2,
		  "'string' expects" },
		{ __LINE__, "defaults\n    http-error status 503 string x string y\n", 2,
		  "already defined" },
		{ __LINE__, "defaults\n    http-error status 503 errorfile %s/503.http string y\n", 2,
		  "already defined" },
		{ __LINE__, "defaults\n    http-error status 503 bogus\n", 2, "unknown keyword 'bogus'" },
		{ __LINE__, "defaults\n    http-error status 503 content-type t lf-string %%[src]\n",
		  2, "log-format error pages are not supported yet" },
		{ __LINE__, "defaults\n    http-error status 503 content-type t lf-file %s/503.http\n",
		  2, "log-format error pages are not supported yet" },
		{ __LINE__, "defaults\n    http-error status 503 hdr x y\n", 2,
		  "log-format error pages are not supported yet" },
		{ __LINE__, "defaults\n    http-error status 503 hdr x\n", 2, "<name> and <fmt>" },
		{ __LINE__, "defaults\n    http-error status 503 file %s/nosuch\n", 2, "error opening" },
		{ __LINE__, "defaults\n    http-error status 503 errorfile %s/nosuch\n", 2,
		  "error opening" },
		{ __LINE__, "frontend f\n    bind :80\n    http-error status 503 errorfiles nosuch\n",
		  3, "unknown http-errors section" },
		{ __LINE__, "http-errors\n", 1, "missing name" },
		{ __LINE__, "http-errors a/b\n", 1, "not permitted" },
		{ __LINE__, "http-errors s\nhttp-errors s\n", 2, "already exists" },
		{ __LINE__, "http-errors s\n    errorloc 503 /x\n", 2, "unknown keyword 'errorloc'" },
		{ __LINE__, "http-errors s\n    errorfile 418 %s/503.http\n", 2, "not handled" },
		{ __LINE__, "http-errors s\n    errorfile 503\n", 2, "expects" },
		{ __LINE__, "http-errors s\n    errorfile 503 %s/nosuch\n", 2, "error opening" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char text[512], *msg, want[32];
		struct config *c;

		snprintf(text, sizeof(text), t[i].text, errdir);
		c = cfg_parse(text, &msg);
		snprintf(want, sizeof(want), "t.cfg:%d:", t[i].errline);
		report(c == NULL, __FILE__, t[i].line, "config accepted, messages: %s", msg);
		report(strstr(msg, want) != NULL && strstr(msg, t[i].needle) != NULL,
		    __FILE__, t[i].line, "message lacks \"%s\" or \"%s\": %s", want,
		    t[i].needle, msg);
		cfg_free(c);
		free(msg);
	}
}

static const struct h1_page *
page_of(const struct config *c, const char *px, int status)
{
	const struct proxy *p = cfg_find_proxy(c, px, CAP_FE | CAP_BE);

	return p ? p->errpage[h1_err_slot(status)] : NULL;
}

static void
test_config_errpages(void)
{
	static const char cfg[] =
	    "http-errors site\n"
	    "    errorfile 403 %1$s/403.http\n"
	    "    errorfile 404 %1$s/404.http\n"
	    "defaults\n"
	    "    mode http\n"
	    "    errorfile 503 %1$s/503.http\n"
	    "    errorloc 502 http://x/y\n"
	    "frontend f\n"
	    "    bind :80\n"
	    "    errorfile 503 %1$s/503b.http\n"	/* overrides the defaults' */
	    "    errorfiles site 403\n"
	    "    errorfiles late\n"			/* declared below */
	    "    http-error status 429 content-type text/plain string slow\n"
	    "    http-error status 502 default-errorfiles\n"
	    "    http-error status 408 errorfile /dev/null\n"
	    "    default_backend b\n"
	    "backend b\n"
	    "    errorfiles site\n"
	    "    errorloc303 500 /oops\n"
	    "    http-error status 504\n"
	    "http-errors late\n"
	    "    errorfile 410 %1$s/404.http\n";
	char text[2048], *msg;
	const struct h1_page *pg;
	struct config *c;

	snprintf(text, sizeof(text), cfg, errdir);
	c = cfg_parse(text, &msg);
	CHECK(c != NULL, "error-page config refused: %s", msg);
	free(msg);
	if (c == NULL)
		return;
	pg = page_of(c, "f", 503);
	CHECK(pg && pg->whole && pg->body_len == 1 && pg->data[pg->head_len] == 'b',
	    "frontend's own 503 wins over the defaults'");
	CHECK(page_of(c, "b", 503) && page_of(c, "b", 503)->data[page_of(c, "b",
	    503)->head_len] == 'a', "backend keeps the defaults' 503");
	CHECK(page_of(c, "f", 403) && page_of(c, "f", 403)->status == 403, "site 403");
	CHECK(page_of(c, "f", 404) == NULL, "only the listed code is imported");
	CHECK(page_of(c, "b", 404) != NULL, "errorfiles without codes takes all");
	CHECK(page_of(c, "f", 410) != NULL, "a section declared later");
	pg = page_of(c, "f", 429);
	CHECK(pg && !pg->whole && pg->status == 429 && pg->body_len == 4, "http-error string");
	CHECK(pg && strncmp(pg->data, "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 4\r\n"
	    "content-type: text/plain\r\n", pg->head_len) == 0, "http-error head: %.*s",
	    pg ? (int)pg->head_len : 0, pg ? pg->data : "");
	CHECK(page_of(c, "f", 502) == NULL, "default-errorfiles drops the defaults' 502");
	CHECK(page_of(c, "b", 502) && page_of(c, "b", 502)->status == 302, "errorloc is a 302");
	CHECK(page_of(c, "b", 500) && page_of(c, "b", 500)->status == 303, "errorloc303");
	CHECK(page_of(c, "f", 408) && page_of(c, "f", 408)->empty, "/dev/null: empty page");
	pg = page_of(c, "b", 504);
	CHECK(pg && !pg->close && pg->body_len == 0 && strncmp(pg->data,
	    "HTTP/1.1 504 Gateway Time-out\r\ncontent-length: 0\r\n", pg->head_len) == 0,
	    "http-error without payload");
	/* one read per path: the same file is one page */
	CHECK(page_of(c, "f", 403) == page_of(c, "b", 403), "page shared");
	cfg_free(c);

	/* a listed code the section lacks is a warning, not an error */
	snprintf(text, sizeof(text), "http-errors s\n    errorfile 403 %s/403.http\n"
	    "defaults\n    errorfiles s 404\nbackend b\n", errdir);
	c = cfg_parse(text, &msg);
	CHECK(c != NULL && strstr(msg, "t.cfg:4: warning:") && strstr(msg, "'404' not "
	    "declared"), "missing code: %s", msg);
	cfg_free(c);
	free(msg);
}

static void
test_config_errpages_all(void)
{
	char big[20000];

	snprintf(errdir, sizeof(errdir), "/tmp/waxlb-unit-XXXXXX");
	if (mkdtemp(errdir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	errfile("503.http", "HTTP/1.1 503 A\r\nContent-Length: 1\r\n\r\na");
	errfile("503b.http", "HTTP/1.1 503 B\r\nContent-Length: 1\r\n\r\nb");
	errfile("403.http", "HTTP/1.1 403 F\r\nContent-Length: 0\r\n\r\n");
	errfile("404.http", "HTTP/1.1 404 N\r\nContent-Length: 0\r\n\r\n");
	errfile("chunked.http", "HTTP/1.1 503 X\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	errfile("mismatch.http", "HTTP/1.1 503 X\r\nContent-Length: 5\r\n\r\nab");
	errfile("garbage.http", "garbage");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "HTTP/1.1 503 X\r\n\r\n", 18);
	errfile("big.http", big);
	big[4090] = 0;	/* under 4096 bytes, but no room for a Connection header */
	errfile("4k.http", big);
	test_pages();
	test_config_errpages_bad();
	test_config_errpages();
	{
		static const char *const names[] = { "503.http", "503b.http", "403.http",
		    "404.http", "chunked.http", "mismatch.http", "garbage.http", "big.http",
		    "4k.http" };
		char path[128];
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", errdir, names[i]);
			unlink(path);
		}
		rmdir(errdir);
	}
}

/* The tokenizer: words joined by '|' (so that splits show), or the error. */
static const char *
tokens(const char *line, const struct cfg_pos *pos)
{
	static char joined[1024];
	char words[1024], *args[16];
	const char *why = NULL;
	int n, i;
	size_t o = 0;

	if ((n = cfg_tokenize(line, words, sizeof(words), args, 16, pos, &why)) < 0)
		return why;
	joined[0] = 0;
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s",
		    i ? "|" : "", args[i]);
	return joined;
}

/* Environment variables as HAProxy 2.6's parse_line(): only inside double
 * quotes, unset ones expand to nothing, defaults only for unset ones,
 * [*] splits words, .FILE/.LINE/.SECTION from the position. */
static void
test_tokenize_env(void)
{
	static const struct {
		int		 line;
		const char	*in, *want;
	} t[] = {
		{ __LINE__, "bind 127.0.0.1:\"${T_PORT}\"", "bind|127.0.0.1:8123" },
		{ __LINE__, "x \"$T_PORT\" \"${T_PORT}x\" \"$T_PORTx\"", "x|8123|8123x|" },
		{ __LINE__, "x ${T_PORT} '${T_PORT}' $T_PORT", "x|${T_PORT}|${T_PORT}|$T_PORT" },
		{ __LINE__, "x \"${T_UNSET}\" y", "x||y" },
		{ __LINE__, "x \"${T_UNSET-a b}\" \"${T_EMPTY-d}\" \"${T_PORT-d}\"", "x|a b||8123" },
		{ __LINE__, "x \"${T_LIST[*]}\" y", "x|a|b|c|y" },
		{ __LINE__, "x \"${T_LIST}\"", "x|a  b c" },
		{ __LINE__, "x \"p${T_UNSET[*]-1 2}q\"", "x|p1|2q" },
		{ __LINE__, "x \"\\$T_PORT\" \\$T_PORT", "x|$T_PORT|\\$T_PORT" },
		{ __LINE__, "x \"${.LINE}:${.FILE}:${.SECTION}\"", "x|7:f.cfg:be" },
		{ __LINE__, "x \"${T_PORT}\" # \"${T_PORT}\"", "x|8123" },
		{ __LINE__, "x \"$1\"", "forbidden first char in environment variable name at position 5" },
		{ __LINE__, "x \"a$\"", "forbidden first char in environment variable name at position 6" },
		{ __LINE__, "x \"${T_PORT\"", "unmatched brace in environment variable name at position 5" },
		{ __LINE__, "x \"${T_PORT-8\"", "unmatched brace in environment variable name at position 5" },
		{ __LINE__, "x \"${T_PORT[x]}\"", "truncated or invalid word expansion sequence at position 12" },
		{ __LINE__, "x \"${.FOO}\"", "forbidden first char in environment variable name at position 6" },
	};
	struct cfg_pos pos = { "f.cfg", 7, "be" };
	extern char **environ;
	char *msg, *saved[256];
	struct config *c;
	size_t i;

	setenv("T_PORT", "8123", 1);
	setenv("T_EMPTY", "", 1);
	setenv("T_LIST", "a  b c", 1);
	unsetenv("T_UNSET");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *got = tokens(t[i].in, &pos);

		report(strcmp(got, t[i].want) == 0, __FILE__, t[i].line,
		    "tokens of <%s>: \"%s\", expected \"%s\"", t[i].in, got, t[i].want);
	}
	/* setenv and friends apply to the lines after them, in order */
	c = cfg_parse("global\n    setenv T_MAXC 55\n    presetenv T_PORT 1\n"
	    "    presetenv T_NEW 9\n    maxconn \"${T_MAXC}${T_NEW}\"\n"
	    "    unsetenv T_MAXC T_NEW\n    setenv T_S \"${T_MAXC-x}\"\n"
	    "    setenv T_X\n", &msg);
	CHECK(c == NULL && strstr(msg, "t.cfg:8: 'setenv' expects a name and a value"),
	    "setenv without a value: %s", msg);
	EQS(getenv("T_PORT"), "8123", "presetenv keeps a set value");
	EQS(getenv("T_S"), "x", "unsetenv, then the default");
	free(msg);
	c = cfg_parse("global\n    setenv T_MAXC 55\n    maxconn \"${T_MAXC}\"\n", &msg);
	CHECK(c != NULL && c->maxconn == 55, "maxconn from setenv: %s", msg);
	cfg_free(c);
	free(msg);
	for (i = 0; environ[i] && i < 255; i++)	/* for after resetenv */
		saved[i] = strdup(environ[i]);
	saved[i] = NULL;
	c = cfg_parse("global\n    resetenv T_PORT\n    maxconn 3\n", &msg);
	CHECK(c != NULL && getenv("T_PORT") && !getenv("T_LIST") && !getenv("T_S"),
	    "resetenv keeps only T_PORT: %s", msg);
	cfg_free(c);
	free(msg);
	for (i = 0; saved[i]; i++)
		putenv(saved[i]);	/* the environment keeps them */
	c = cfg_parse("frontend fe\n    bind :80\n    http-request set-header X "
	    "\"${.SECTION}\"\nbackend be\n    unsetenv X\n", &msg);
	CHECK(c == NULL && strstr(msg, "t.cfg:5: unknown keyword 'unsetenv'"),
	    "unsetenv outside global: %s", msg);
	free(msg);
}

/* Warnings: the configuration stays valid. */
static void
test_config_warnings(void)
{
	static const struct {
		int		 line;
		const char	*text;
		const char	*want;	/* NULL: no message at all */
	} t[] = {
		{ __LINE__, "frontend f\n    bind :80\n    option httplog\n", "t.cfg:3: warning" },
		{ __LINE__, "frontend f\n    bind :80\n    http-request deny\n", "t.cfg:1: warning" },
		{ __LINE__, "frontend f\n    bind :80\n    log global\n", NULL },
		{ __LINE__, "defaults\n    log global\n    option dontlognull\n"
		  "    option forwardfor\n    option redispatch\n    retries 3\n"
		  "    option http-server-close\n", NULL },
		{ __LINE__, "frontend f\n    bind :80\n    stats enable\n", NULL },
		{ __LINE__, "frontend f\n    bind :80\n    log 127.0.0.1 local0\n", NULL },
		{ __LINE__, "frontend f\n    bind :80\n\n    http-reuse safe\n", "t.cfg:4: warning" },
		{ __LINE__, "global\n    daemon\n", NULL },
		{ __LINE__, "backend b\n    option httpchk GET /\n", NULL },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 slowstart 10s\n", NULL },
		{ __LINE__, "frontend f\n    bind :80 name x\n", "t.cfg:2: warning" },
		{ __LINE__, "backend b\n    maxconn 10\n", "t.cfg:2: warning" },
		{ __LINE__, "frontend f\n    bind :80\n    acl a path -n /\n", NULL },
		/* cipher lists: the WAX guide's is quiet, named suites BearSSL
		 * lacks and words OpenSSL does not know warn; TLS 1.3 and
		 * server lists are checked, then ignored */
		{ __LINE__, "global\n    ssl-default-bind-ciphers ECDH+AESGCM:DH+AESGCM:"
		  "ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:RSA+AESGCM:RSA+AES:!aNULL:"
		  "!MD5:!DSS\n", NULL },
		{ __LINE__, "global\n    ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256:"
		  "DHE-RSA-AES128-GCM-SHA256\n", "t.cfg:2: warning: ssl-default-bind-ciphers: "
		  "DHE-RSA-AES128-GCM-SHA256 not in BearSSL, skipped" },
		{ __LINE__, "frontend f\n    bind :80 ciphers HIGH:FOO\n",
		  "t.cfg:2: warning: ciphers: unknown to OpenSSL, ignored: 'FOO'" },
		{ __LINE__, "global\n    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256\n",
		  "ignored by waxlb (BearSSL has no TLS 1.3)" },
		{ __LINE__, "global\n    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:"
		  "AES128-SHA\n", "'AES128-SHA' is not a TLS 1.3 suite name" },
		{ __LINE__, "global\n    ssl-default-server-ciphers !ALL\n",
		  "OpenSSL would refuse '!ALL'" },
		{ __LINE__, "frontend f\n    bind :80 ciphersuites TLS_AES_256_GCM_SHA384\n",
		  "t.cfg:2: warning: bind option 'ciphersuites' is ignored" },
		{ __LINE__, "backend b\n    server s 127.0.0.1:80 ciphers HIGH ciphersuites "
		  "TLS_AES_256_GCM_SHA384\n", "server option 'ciphersuites' is ignored by "
		  "waxlb (no TLS towards servers)" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *msg;
		struct config *c = cfg_parse(t[i].text, &msg);

		report(c != NULL, __FILE__, t[i].line, "config rejected: %s", msg);
		if (t[i].want == NULL)
			report(msg[0] == 0, __FILE__, t[i].line, "unexpected messages: %s", msg);
		else
			report(strstr(msg, t[i].want) != NULL, __FILE__, t[i].line,
			    "message lacks \"%s\": %s", t[i].want, msg);
		cfg_free(c);
		free(msg);
	}
}

/* ------------------------------------------------------------------ */
/* 6. ACLs and conditions                                               */

static struct acl *
find_acl(struct proxy *px, const char *name)
{
	struct acl *a;

	for (a = px ? px->acls : NULL; a; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

static struct switch_rule *
nth_rule(struct proxy *px, int n)
{
	struct switch_rule *r = px ? px->rules : NULL;

	while (r && n-- > 0)
		r = r->next;
	return r;
}

static void
mk_addr(struct sockaddr_storage *ss, const char *ip)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, ip, &in6->sin6_addr) != 1) {
			fprintf(stderr, "bad test address %s\n", ip);
			exit(2);
		}
	} else {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		if (inet_pton(AF_INET, ip, &in->sin_addr) != 1) {
			fprintf(stderr, "bad test address %s\n", ip);
			exit(2);
		}
	}
}

/* A request and its context; <src> may be NULL. */
struct tctx {
	struct http_msg		 m;
	struct sockaddr_storage	 ss;
	struct smp_ctx		 ctx;
	int			 ok;
};

static void
mk_ctx(struct tctx *t, const char *req, const char *src)
{
	int r = h1_parse_request(req, strlen(req), &t->m);

	t->ok = r > 0;
	if (!t->ok)
		printf("test request rejected (%d, err %d %s): %s\n", r, t->m.err,
		    t->m.err_what ? t->m.err_what : "-", shown(req, strlen(req)));
	memset(&t->ctx, 0, sizeof(t->ctx));
	t->ctx.cli_fd = -1;
	t->ctx.msg = &t->m;
	t->ctx.ssl = 0;
	if (src) {
		mk_addr(&t->ss, src);
		t->ctx.src = &t->ss;
	} else
		t->ctx.src = NULL;
}

/* Which backend the frontend's rules choose, as the proxy does. */
static const char *
route(struct proxy *fe, const struct smp_ctx *ctx)
{
	struct switch_rule *r;

	for (r = fe->rules; r; r = r->next)
		if (acl_cond_exec(r->cond, ctx))
			return r->be_name;
	return fe->default_be_name ? fe->default_be_name : "(none)";
}

static const char seed_cfg[] =
    "defaults\n"
    "    mode http\n"
    "    timeout connect 2s\n"
    "    timeout client 10s\n"
    "    timeout server 10s\n"
    "    timeout tunnel 35000\n"
    "\n"
    "frontend http-in\n"
    "    bind 127.0.0.1:8080\n"
    "    acl wax_acl hdr(host) -i wax.eosphere.io\n"
    "\n"
    "    acl wax_con_upg_acl hdr(Connection)  -i upgrade\n"
    "    acl wax_ws_upg_acl  hdr(Upgrade)     -i websocket\n"
    "\n"
    "    acl wax_acl hdr(host) -i ws-wax.eosphere.io\n"
    "\n"
    "    use_backend wax_api_servers if wax_acl { path_beg /v1/chain }\n"
    "    use_backend wax_api_servers if wax_acl { path_beg /v1/node/get_supported_apis }\n"
    "\n"
    "    use_backend wax_ship_servers if wax_con_upg_acl wax_ws_upg_acl\n"
    "\n"
    "backend wax_api_servers\n"
    "    balance roundrobin\n"
    "    default-server check maxconn 10000\n"
    "    server wax-pn-1 127.0.0.1:9001 cookie server1 weight 1\n"
    "    server wax-pn-2 127.0.0.1:9002 cookie server2 weight 1\n"
    "    server wax-pn-3 127.0.0.1:9003 cookie server3 weight 4\n"
    "\n"
    "backend wax_ship_servers\n"
    "    balance leastconn\n"
    "    default-server check maxconn 200\n"
    "    server wax-state-history-1 127.0.0.1:9101 cookie server1 weight 1\n"
    "    server wax-state-history-2 127.0.0.1:9102 cookie server2 weight 1\n";

static void
test_acl_seed(void)
{
	static const struct {
		int		 line;
		const char	*req;
		const char	*be;
	} t[] = {
		{ __LINE__, "GET /v1/chain/get_info HTTP/1.1\r\nHost: wax.eosphere.io\r\n\r\n",
		  "wax_api_servers" },
		{ __LINE__, "GET /v1/chain/get_info HTTP/1.1\r\nHost: WAX.EOSphere.io\r\n\r\n",
		  "wax_api_servers" },
		{ __LINE__, "POST /v1/chain/get_block HTTP/1.1\r\nHost: ws-wax.eosphere.io\r\n"
		  "Content-Length: 2\r\n\r\n", "wax_api_servers" },
		{ __LINE__, "GET /v1/node/get_supported_apis HTTP/1.1\r\nHost: wax.eosphere.io\r\n\r\n",
		  "wax_api_servers" },
		{ __LINE__, "GET /v1/chainx?a=b HTTP/1.1\r\nHost: wax.eosphere.io\r\n\r\n",
		  "wax_api_servers" },	/* path_beg is a plain prefix */
		{ __LINE__, "GET /v1/history/get_actions HTTP/1.1\r\nHost: wax.eosphere.io\r\n\r\n",
		  "(none)" },
		{ __LINE__, "GET /v1/chain/get_info HTTP/1.1\r\nHost: other.io\r\n\r\n", "(none)" },
		{ __LINE__, "GET /v1/chain/get_info HTTP/1.1\r\nHost: wax.eosphere.io:443\r\n\r\n",
		  "(none)" },
		{ __LINE__, "GET /v1/chain/get_info HTTP/1.1\r\n\r\n", "(none)" },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: wax.eosphere.io\r\nConnection: Upgrade\r\n"
		  "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		  "wax_ship_servers" },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n"
		  "Upgrade: WebSocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		  "wax_ship_servers" },
		/* websocket on an API path: the API rules come first */
		{ __LINE__, "GET /v1/chain/x HTTP/1.1\r\nHost: wax.eosphere.io\r\nConnection: Upgrade\r\n"
		  "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		  "wax_api_servers" },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n"
		  "Upgrade: websocket\r\n\r\n", "(none)" },
		{ __LINE__, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
		  "Upgrade: h2c\r\n\r\n", "(none)" },
	};
	char *msg;
	struct config *c = cfg_parse(seed_cfg, &msg);
	struct proxy *fe;
	struct acl *wax;
	size_t i;

	CHECK(c != NULL, "seed config rejected: %s", msg);
	free(msg);
	if (c == NULL)
		return;
	fe = cfg_find_proxy(c, "http-in", CAP_FE);
	wax = find_acl(fe, "wax_acl");
	CHECK(wax != NULL && wax->tests && wax->tests->next && !wax->tests->next->next,
	    "wax_acl must have two tests (two lines)");
	for (i = 0; fe && i < sizeof(t) / sizeof(t[0]); i++) {
		struct tctx x;

		mk_ctx(&x, t[i].req, "192.0.2.1");
		report(x.ok, __FILE__, t[i].line, "request not parsed");
		if (x.ok)
			eq_str(__FILE__, t[i].line, shown(t[i].req, strlen(t[i].req)),
			    "route", route(fe, &x.ctx), t[i].be);
	}
	/* the two-line ACL is an OR of its lines */
	if (wax) {
		struct tctx x;

		mk_ctx(&x, "GET / HTTP/1.1\r\nHost: ws-wax.eosphere.io\r\n\r\n", NULL);
		CHECK(acl_exec(wax, &x.ctx) == 1, "wax_acl: second line not ORed");
		mk_ctx(&x, "GET / HTTP/1.1\r\nHost: wax.eosphere.io\r\n\r\n", NULL);
		CHECK(acl_exec(wax, &x.ctx) == 1, "wax_acl: first line");
		mk_ctx(&x, "GET / HTTP/1.1\r\nHost: xwax.eosphere.io\r\n\r\n", NULL);
		CHECK(acl_exec(wax, &x.ctx) == 0, "wax_acl: matched xwax.eosphere.io");
		/* no message (TCP mode): an HTTP fetch finds nothing */
		x.ctx.msg = NULL;
		CHECK(acl_exec(wax, &x.ctx) == 0, "wax_acl without a message");
	}
	cfg_free(c);
}

static const char acl_cfg[] =
    "defaults\n"
    "    mode http\n"
    "frontend f\n"
    "    bind :80\n"
    "    acl host_i    hdr(host) -i wax.eosphere.io\n"
    "    acl host_cs   hdr(host) wax.eosphere.io\n"
    "    acl conn_upg  hdr(Connection) -i upgrade\n"
    "    acl p_beg     path_beg /v1/chain\n"
    "    acl p_exact   path /v1/chain/get_info\n"
    "    acl p_end     path_end .json\n"
    "    acl p_sub     path_sub chain\n"
    "    acl p_dir     path_dir chain\n"
    "    acl p_upper   path_beg /V1\n"
    "    acl p_upper_i path_beg -i /V1\n"
    "    acl p_multi   path /a /b /c\n"
    "    acl p_reg     path_reg ^/v[0-9]+/\n"
    "    acl u_end     url_end .json\n"
    "    acl u_sub     url_sub x=1\n"
    "    acl h_beg     hdr_beg(host) -i wax.\n"
    "    acl h_end     hdr_end(host) -i .io\n"
    "    acl h_sub     hdr_sub(user-agent) curl\n"
    "    acl h_dom     hdr_dom(host) -i eosphere.io\n"
    "    acl h_found   hdr(x-api-key) -m found\n"
    "    acl h_cnt2    hdr_cnt(x-h) ge 2\n"
    "    acl m_post    method POST\n"
    "    acl m_get     method GET HEAD\n"
    "    acl src4      src 10.0.0.0/8 192.168.1.1\n"
    "    acl src6      src 2001:db8::/32\n"
    "    acl src_mask  src 172.16.0.0/255.240.0.0\n"
    "    acl src_odd   src 198.51.100.128/25\n"
    "    acl q_dq      hdr(x) -i \"two words\"\n"
    "    acl q_sq      hdr(x) 'single quoted'\n"
    "    acl q_bs      hdr(x) back\\ slash\n"
    "    acl q_esc     hdr(x) \"say \\\"hi\\\"\"\n"
    "    acl q_lit     hdr(x) 'a\\b'\n"
    "    acl q_hex     hdr(x) \\x41BC\n"
    "    acl q_dash    hdr(x) -- -i\n"
    "    acl v10       req.ver 1.0\n";

static void
test_acl_fetches(void)
{
	static const char *const get =
	    "GET /v1/chain/get_info?x=1.json HTTP/1.1\r\n"
	    "Host: wax.eosphere.io\r\n"
	    "User-Agent: curl/8.0\r\n"
	    "Connection: keep-alive, Upgrade\r\n\r\n";
	static const struct {
		int		 line;
		const char	*acl;
		const char	*req;	/* NULL: the GET above */
		const char	*src;
		int		 want;
	} t[] = {
		{ __LINE__, "host_i", NULL, NULL, 1 },
		{ __LINE__, "host_i", "GET / HTTP/1.1\r\nHost: Wax.EOSPHERE.io\r\n\r\n", NULL, 1 },
		{ __LINE__, "host_cs", "GET / HTTP/1.1\r\nHost: Wax.EOSPHERE.io\r\n\r\n", NULL, 0 },
		{ __LINE__, "host_cs", NULL, NULL, 1 },
		{ __LINE__, "conn_upg", NULL, NULL, 1 },
		{ __LINE__, "conn_upg", "GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", NULL, 0 },
		{ __LINE__, "conn_upg", "GET / HTTP/1.1\r\nconnection: UPGRADE\r\n\r\n", NULL, 1 },
		{ __LINE__, "conn_upg", "GET / HTTP/1.1\r\nConnection: upgraded\r\n\r\n", NULL, 0 },
		{ __LINE__, "conn_upg", "GET / HTTP/1.1\r\nConnection: close\r\n"
		  "Connection: Upgrade\r\n\r\n", NULL, 1 },
		{ __LINE__, "p_beg", NULL, NULL, 1 },
		{ __LINE__, "p_beg", "GET /v1/cha HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "p_beg", "GET /x/v1/chain HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "p_beg", "GET http://a/v1/chain/x HTTP/1.1\r\nHost: a\r\n\r\n", NULL, 1 },
		{ __LINE__, "p_exact", NULL, NULL, 1 },	/* the query is not in path */
		{ __LINE__, "p_exact", "GET /v1/chain/get_info/ HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "p_end", NULL, NULL, 0 },	/* ".json" is in the query */
		{ __LINE__, "p_end", "GET /a/b.json?x HTTP/1.1\r\n\r\n", NULL, 1 },
		{ __LINE__, "u_end", NULL, NULL, 1 },
		{ __LINE__, "u_sub", NULL, NULL, 1 },
		{ __LINE__, "p_sub", NULL, NULL, 1 },
		{ __LINE__, "p_sub", "GET /blockchainx HTTP/1.1\r\n\r\n", NULL, 1 },
		{ __LINE__, "p_sub", "GET /?chain HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "p_dir", NULL, NULL, 1 },
		{ __LINE__, "p_dir", "GET /chain HTTP/1.1\r\n\r\n", NULL, 1 },
		{ __LINE__, "p_dir", "GET /blockchain/x HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "p_dir", "GET /v1/chainz HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "p_upper", NULL, NULL, 0 },
		{ __LINE__, "p_upper", "GET /V1/x HTTP/1.1\r\n\r\n", NULL, 1 },
		{ __LINE__, "p_upper_i", NULL, NULL, 1 },
		{ __LINE__, "p_multi", "GET /b HTTP/1.1\r\n\r\n", NULL, 1 },
		{ __LINE__, "p_multi", "GET /c?q HTTP/1.1\r\n\r\n", NULL, 1 },
		{ __LINE__, "p_multi", "GET /d HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "p_reg", NULL, NULL, 1 },
		{ __LINE__, "p_reg", "GET /vx/ HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "h_beg", NULL, NULL, 1 },
		{ __LINE__, "h_beg", "GET / HTTP/1.1\r\nHost: ws-wax.eosphere.io\r\n\r\n", NULL, 0 },
		{ __LINE__, "h_end", NULL, NULL, 1 },
		{ __LINE__, "h_end", "GET / HTTP/1.1\r\nHost: a.io:80\r\n\r\n", NULL, 0 },
		{ __LINE__, "h_sub", NULL, NULL, 1 },
		{ __LINE__, "h_sub", "GET / HTTP/1.1\r\nUser-Agent: xCurl\r\n\r\n", NULL, 0 },
		{ __LINE__, "h_sub", "GET / HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "h_dom", NULL, NULL, 1 },
		{ __LINE__, "h_dom", "GET / HTTP/1.1\r\nHost: eosphere.io\r\n\r\n", NULL, 1 },
		{ __LINE__, "h_dom", "GET / HTTP/1.1\r\nHost: eosphere.io:8080\r\n\r\n", NULL, 1 },
		{ __LINE__, "h_dom", "GET / HTTP/1.1\r\nHost: xeosphere.io\r\n\r\n", NULL, 0 },
		{ __LINE__, "h_dom", "GET / HTTP/1.1\r\nHost: eosphere.iox\r\n\r\n", NULL, 0 },
		{ __LINE__, "h_found", "GET / HTTP/1.1\r\nX-Api-Key:\r\n\r\n", NULL, 1 },
		{ __LINE__, "h_found", NULL, NULL, 0 },
		{ __LINE__, "h_cnt2", "GET / HTTP/1.1\r\nX-H: a, b\r\n\r\n", NULL, 1 },
		{ __LINE__, "h_cnt2", "GET / HTTP/1.1\r\nX-H: a\r\n\r\n", NULL, 0 },
		{ __LINE__, "h_cnt2", "GET / HTTP/1.1\r\nX-H: a\r\nx-h: c\r\n\r\n", NULL, 1 },
		{ __LINE__, "m_post", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", NULL, 1 },
		{ __LINE__, "m_post", NULL, NULL, 0 },
		{ __LINE__, "m_post", "post / HTTP/1.1\r\n\r\n", NULL, 0 },
		{ __LINE__, "m_get", "HEAD / HTTP/1.1\r\n\r\n", NULL, 1 },
		{ __LINE__, "m_get", NULL, NULL, 1 },
		{ __LINE__, "v10", "GET / HTTP/1.0\r\n\r\n", NULL, 1 },
		{ __LINE__, "v10", NULL, NULL, 0 },
		/* src */
		{ __LINE__, "src4", NULL, "10.1.2.3", 1 },
		{ __LINE__, "src4", NULL, "10.255.255.255", 1 },
		{ __LINE__, "src4", NULL, "11.0.0.1", 0 },
		{ __LINE__, "src4", NULL, "9.255.255.255", 0 },
		{ __LINE__, "src4", NULL, "192.168.1.1", 1 },
		{ __LINE__, "src4", NULL, "192.168.1.2", 0 },
		{ __LINE__, "src4", NULL, "::ffff:10.9.8.7", 1 },	/* v4-mapped */
		{ __LINE__, "src4", NULL, "2001:db8::1", 0 },
		{ __LINE__, "src4", NULL, NULL, 0 },
		{ __LINE__, "src6", NULL, "2001:db8::1", 1 },
		{ __LINE__, "src6", NULL, "2001:db8:ffff::1", 1 },
		{ __LINE__, "src6", NULL, "2001:db9::1", 0 },
		{ __LINE__, "src6", NULL, "10.1.2.3", 0 },
		{ __LINE__, "src_mask", NULL, "172.31.255.1", 1 },
		{ __LINE__, "src_mask", NULL, "172.32.0.1", 0 },
		{ __LINE__, "src_odd", NULL, "198.51.100.200", 1 },
		{ __LINE__, "src_odd", NULL, "198.51.100.127", 0 },
		/* quoting and escapes */
		{ __LINE__, "q_dq", "GET / HTTP/1.1\r\nX: Two Words\r\n\r\n", NULL, 1 },
		{ __LINE__, "q_dq", "GET / HTTP/1.1\r\nX: two\r\n\r\n", NULL, 0 },
		{ __LINE__, "q_sq", "GET / HTTP/1.1\r\nX: single quoted\r\n\r\n", NULL, 1 },
		{ __LINE__, "q_sq", "GET / HTTP/1.1\r\nX: 'single quoted'\r\n\r\n", NULL, 0 },
		{ __LINE__, "q_bs", "GET / HTTP/1.1\r\nX: back slash\r\n\r\n", NULL, 1 },
		{ __LINE__, "q_bs", "GET / HTTP/1.1\r\nX: back\r\n\r\n", NULL, 0 },
		{ __LINE__, "q_esc", "GET / HTTP/1.1\r\nX: say \"hi\"\r\n\r\n", NULL, 1 },
		{ __LINE__, "q_lit", "GET / HTTP/1.1\r\nX: a\\b\r\n\r\n", NULL, 1 },
		{ __LINE__, "q_lit", "GET / HTTP/1.1\r\nX: ab\r\n\r\n", NULL, 0 },
		{ __LINE__, "q_hex", "GET / HTTP/1.1\r\nX: ABC\r\n\r\n", NULL, 1 },
		{ __LINE__, "q_dash", "GET / HTTP/1.1\r\nX: -i\r\n\r\n", NULL, 1 },
	};
	char *msg;
	struct config *c = cfg_parse(acl_cfg, &msg);
	struct proxy *fe;
	size_t i;

	CHECK(c != NULL, "ACL config rejected: %s", msg);
	free(msg);
	if (c == NULL)
		return;
	fe = cfg_find_proxy(c, "f", CAP_FE);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct acl *a = find_acl(fe, t[i].acl);
		const char *req = t[i].req ? t[i].req : get;
		struct tctx x;
		int r;

		if (a == NULL) {
			report(0, __FILE__, t[i].line, "ACL %s not found", t[i].acl);
			continue;
		}
		mk_ctx(&x, req, t[i].src);
		report(x.ok, __FILE__, t[i].line, "request not parsed");
		r = acl_exec(a, &x.ctx);
		report(r == t[i].want, __FILE__, t[i].line, "acl %s on \"%s\" src %s: %d, "
		    "expected %d", t[i].acl, shown(req, strlen(req)),
		    t[i].src ? t[i].src : "-", r, t[i].want);
	}
	cfg_free(c);
}

static const char cond_cfg[] =
    "defaults\n"
    "    mode http\n"
    "frontend f\n"
    "    bind :80\n"
    "    acl is_get   method GET\n"
    "    acl is_api   path_beg /api\n"
    "    acl is_admin path_beg /admin\n"
    "    acl from_lan src 10.0.0.0/8\n"
    "    use_backend b if is_get is_api\n"			/* 0 */
    "    use_backend b if is_api || is_admin\n"		/* 1 */
    "    use_backend b if is_api or is_admin\n"		/* 2 */
    "    use_backend b if !is_get\n"				/* 3 */
    "    use_backend b if ! is_get\n"				/* 4 */
    "    use_backend b unless is_api\n"			/* 5 */
    "    use_backend b if { path_beg /x }\n"			/* 6 */
    "    use_backend b if is_get { path_end .json }\n"		/* 7 */
    "    use_backend b if is_admin from_lan || is_api is_get\n"	/* 8 */
    "    use_backend b unless is_api || is_admin\n"		/* 9 */
    "    use_backend b if TRUE\n"				/* 10 */
    "    use_backend b if FALSE || !!is_get\n"			/* 11 */
    "    use_backend b if METH_POST\n"				/* 12 */
    "    use_backend b if LOCALHOST\n"				/* 13 */
    "    use_backend b if !{ src 10.0.0.0/8 } is_admin\n"	/* 14 */
    "    use_backend b if { hdr(host) -i A.example } !is_admin\n" /* 15 */
    "    use_backend b unless is_get !is_api\n"		/* 16 */
    "    use_backend b if HTTP_1.0\n"				/* 17 */
    "backend b\n"
    "    server s 127.0.0.1:80\n";

static void
test_conditions(void)
{
	static const struct {
		int		 line;
		int		 rule;
		const char	*method, *path, *src;
		int		 want;
	} t[] = {
		{ __LINE__, 0, "GET", "/api/x", "1.2.3.4", 1 },
		{ __LINE__, 0, "POST", "/api/x", "1.2.3.4", 0 },
		{ __LINE__, 0, "GET", "/web", "1.2.3.4", 0 },
		{ __LINE__, 1, "POST", "/api", "1.2.3.4", 1 },
		{ __LINE__, 1, "POST", "/admin", "1.2.3.4", 1 },
		{ __LINE__, 1, "POST", "/other", "1.2.3.4", 0 },
		{ __LINE__, 2, "GET", "/admin", "1.2.3.4", 1 },
		{ __LINE__, 2, "GET", "/", "1.2.3.4", 0 },
		{ __LINE__, 3, "GET", "/", "1.2.3.4", 0 },
		{ __LINE__, 3, "PUT", "/", "1.2.3.4", 1 },
		{ __LINE__, 4, "GET", "/", "1.2.3.4", 0 },
		{ __LINE__, 4, "DELETE", "/", "1.2.3.4", 1 },
		{ __LINE__, 5, "GET", "/api", "1.2.3.4", 0 },
		{ __LINE__, 5, "GET", "/web", "1.2.3.4", 1 },
		{ __LINE__, 6, "GET", "/x/y", "1.2.3.4", 1 },
		{ __LINE__, 6, "GET", "/y/x", "1.2.3.4", 0 },
		{ __LINE__, 7, "GET", "/a.json", "1.2.3.4", 1 },
		{ __LINE__, 7, "POST", "/a.json", "1.2.3.4", 0 },
		{ __LINE__, 7, "GET", "/a.xml", "1.2.3.4", 0 },
		/* (is_admin AND from_lan) OR (is_api AND is_get) */
		{ __LINE__, 8, "POST", "/admin", "10.0.0.1", 1 },
		{ __LINE__, 8, "POST", "/admin", "1.2.3.4", 0 },
		{ __LINE__, 8, "GET", "/api", "1.2.3.4", 1 },
		{ __LINE__, 8, "POST", "/api", "10.0.0.1", 0 },
		{ __LINE__, 8, "GET", "/admin", "1.2.3.4", 0 },
		{ __LINE__, 9, "GET", "/api", "1.2.3.4", 0 },
		{ __LINE__, 9, "GET", "/admin", "1.2.3.4", 0 },
		{ __LINE__, 9, "GET", "/", "1.2.3.4", 1 },
		{ __LINE__, 10, "PUT", "/", "1.2.3.4", 1 },
		{ __LINE__, 11, "GET", "/", "1.2.3.4", 1 },
		{ __LINE__, 11, "PUT", "/", "1.2.3.4", 0 },
		{ __LINE__, 12, "POST", "/", "1.2.3.4", 1 },
		{ __LINE__, 12, "GET", "/", "1.2.3.4", 0 },
		{ __LINE__, 13, "GET", "/", "127.0.0.2", 1 },
		{ __LINE__, 13, "GET", "/", "::1", 1 },
		{ __LINE__, 13, "GET", "/", "1.2.3.4", 0 },
		{ __LINE__, 14, "GET", "/admin", "1.2.3.4", 1 },
		{ __LINE__, 14, "GET", "/admin", "10.1.1.1", 0 },
		{ __LINE__, 14, "GET", "/", "1.2.3.4", 0 },
		{ __LINE__, 15, "GET", "/", "1.2.3.4", 1 },	/* Host: a.example below */
		{ __LINE__, 15, "GET", "/admin", "1.2.3.4", 0 },
		/* unless (is_get AND NOT is_api) */
		{ __LINE__, 16, "GET", "/web", "1.2.3.4", 0 },
		{ __LINE__, 16, "GET", "/api", "1.2.3.4", 1 },
		{ __LINE__, 16, "POST", "/web", "1.2.3.4", 1 },
		{ __LINE__, 17, "GET", "/", "1.2.3.4", 0 },
	};
	char *msg;
	struct config *c = cfg_parse(cond_cfg, &msg);
	struct proxy *fe;
	size_t i;

	CHECK(c != NULL, "condition config rejected: %s", msg);
	free(msg);
	if (c == NULL)
		return;
	fe = cfg_find_proxy(c, "f", CAP_FE);
	{
		struct switch_rule *r = nth_rule(fe, 8);

		CHECK(r && r->cond && r->cond->nterm == 4 && !r->cond->unless &&
		    r->cond->term[2].or_before && !r->cond->term[1].or_before,
		    "rule 8: expected 4 terms, OR before the third");
		r = nth_rule(fe, 5);
		CHECK(r && r->cond && r->cond->unless, "rule 5: unless not set");
		r = nth_rule(fe, 3);
		CHECK(r && r->cond && r->cond->nterm == 1 && r->cond->term[0].neg,
		    "rule 3: negation not set");
		r = nth_rule(fe, 11);
		CHECK(r && r->cond && r->cond->nterm == 2 && !r->cond->term[1].neg,
		    "rule 11: '!!' must cancel");
		CHECK(nth_rule(fe, 17) != NULL && nth_rule(fe, 18) == NULL, "18 rules expected");
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct switch_rule *r = nth_rule(fe, t[i].rule);
		char req[256];
		struct tctx x;
		int got;

		if (r == NULL) {
			report(0, __FILE__, t[i].line, "rule %d missing", t[i].rule);
			continue;
		}
		snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: a.example\r\n%s\r\n",
		    t[i].method, t[i].path,
		    strcmp(t[i].method, "GET") ? "Content-Length: 0\r\n" : "");
		mk_ctx(&x, req, t[i].src);
		report(x.ok, __FILE__, t[i].line, "request not parsed");
		got = acl_cond_exec(r->cond, &x.ctx);
		report(got == t[i].want, __FILE__, t[i].line, "rule %d, %s %s from %s: %d, "
		    "expected %d", t[i].rule, t[i].method, t[i].path, t[i].src, got,
		    t[i].want);
	}
	CHECK(acl_cond_exec(NULL, NULL) == 1, "a NULL condition is always true");
	cfg_free(c);
}

/* ------------------------------------------------------------------ */
/* 7. Balancing                                                         */

struct lbt {
	struct config	*c;
	struct proxy	*be;
	struct server	*s[16];
	int		 n;
};

/* A backend "b" with <algo> and one "server" line per entry of <lines>
 * (options after the address); servers are s1, s2, ...  Bound after the
 * config of <old> when given, as a reload does. */
static int
lb_setup_after(struct lbt *t, const char *algo, const char *const *lines, int n,
    const struct lbt *old)
{
	char text[4096], *msg;
	size_t o;
	int i;
	struct server *s;

	memset(t, 0, sizeof(*t));
	o = (size_t)snprintf(text, sizeof(text), "backend b\n    balance %s\n", algo);
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "    server s%d 127.0.0.1:%d %s\n", i + 1, 9000 + i, lines[i]);
	t->c = cfg_parse(text, &msg);
	if (t->c == NULL) {
		CHECK(0, "backend config rejected: %s\n%s", msg, text);
		free(msg);
		return -1;
	}
	free(msg);
	t->be = cfg_find_proxy(t->c, "b", CAP_BE);
	/* runtime state for every server, then lb_init */
	srv_bind(t->c, old ? old->c : NULL);
	for (s = t->be->srv; s && t->n < 16; s = s->next)
		t->s[t->n++] = s;
	return 0;
}

static int
lb_setup(struct lbt *t, const char *algo, const char *const *lines, int n)
{
	return lb_setup_after(t, algo, lines, n, NULL);
}

static void
lb_teardown(struct lbt *t)
{
	int i;

	(void)i;
	srv_unbind(t->c);
	cfg_free(t->c);
}

/* Index (0-based) of a picked server, -1 for NULL. */
static int
pick_idx(struct lbt *t, struct server *avoid)
{
	struct server *s = lb_pick(t->be, avoid);
	int i;

	for (i = 0; i < t->n; i++)
		if (t->s[i] == s)
			return i;
	return s ? -2 : -1;
}

static void
set_up(struct lbt *t, int i, int up)
{
	t->s[i]->st->up = up;
	lb_update(t->s[i]);
}

/* Picks as a string of server numbers, e.g. "331332". */
static void
picks(struct lbt *t, int n, char *out)
{
	int i;

	for (i = 0; i < n; i++) {
		int k = pick_idx(t, NULL);

		out[i] = k >= 0 ? (char)('1' + k) : k == -1 ? '-' : '?';
	}
	out[n] = 0;
}

static void
test_rr_order(void)
{
	static const char *const w114[] = { "weight 1", "weight 1", "weight 4" };
	struct lbt t;
	char got[128], want[128];
	int i;

	if (lb_setup(&t, "roundrobin", w114, 3) < 0)
		return;
	picks(&t, 60, got);
	for (i = 0; i < 10; i++)
		memcpy(want + 6 * i, "331332", 6);
	want[60] = 0;
	CHECK(strcmp(got, want) == 0, "roundrobin 1:1:4: got %s, expected %s", got, want);
	/* never four of s3 in a row, even across periods */
	CHECK(strstr(got, "3333") == NULL, "roundrobin 1:1:4: four s3 in a row: %s", got);
	lb_teardown(&t);
}

static void
test_rr_windows(void)
{
	static const struct {
		int		 line;
		int		 n;
		int		 w[6];
	} t[] = {
		{ __LINE__, 3, { 1, 1, 4 } },
		{ __LINE__, 3, { 1, 2, 3 } },
		{ __LINE__, 2, { 5, 1 } },
		{ __LINE__, 4, { 1, 1, 1, 1 } },
		{ __LINE__, 3, { 3, 7, 2 } },
		{ __LINE__, 1, { 3 } },
		{ __LINE__, 2, { 256, 1 } },
		{ __LINE__, 3, { 2, 2, 2 } },
	};
	size_t k;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		char lines[6][32];
		const char *lp[6];
		struct lbt lb;
		int i, j, sum = 0, total, bad = 0, seq[3000];

		for (i = 0; i < t[k].n; i++) {
			snprintf(lines[i], sizeof(lines[i]), "weight %d", t[k].w[i]);
			lp[i] = lines[i];
			sum += t[k].w[i];
		}
		if (lb_setup(&lb, "roundrobin", lp, t[k].n) < 0)
			continue;
		total = 4 * sum;
		for (i = 0; i < total; i++)
			seq[i] = pick_idx(&lb, NULL);
		/* every window of sum(weights) consecutive picks */
		for (i = 0; i + sum <= total && bad < 3; i++) {
			int cnt[6] = { 0 };

			for (j = i; j < i + sum; j++)
				if (seq[j] >= 0)
					cnt[seq[j]]++;
			for (j = 0; j < t[k].n; j++)
				if (cnt[j] != t[k].w[j]) {
					report(0, __FILE__, t[k].line, "window at pick %d: s%d picked "
					    "%d times, weight %d", i, j + 1, cnt[j], t[k].w[j]);
					bad++;
					break;
				}
		}
		report(bad == 0, __FILE__, t[k].line, "%d weight windows differ", bad);
		lb_teardown(&lb);
	}
}

static void
test_rr_states(void)
{
	struct lbt t;
	char got[128];
	int i, c[4];

	/* weight 0 is never picked */
	{
		static const char *const l[] = { "weight 1", "weight 0", "weight 2" };

		if (lb_setup(&t, "roundrobin", l, 3) == 0) {
			picks(&t, 30, got);
			CHECK(strchr(got, '2') == NULL, "weight 0 picked: %s", got);
			CHECK(strchr(got, '1') && strchr(got, '3'), "picks: %s", got);
			CHECK(!lb_usable(t.s[1]), "weight 0 server usable");
			lb_teardown(&t);
		}
	}
	/* a disabled server is never picked */
	{
		static const char *const l[] = { "weight 1 disabled", "weight 1" };

		if (lb_setup(&t, "roundrobin", l, 2) == 0) {
			picks(&t, 10, got);
			CHECK(strcmp(got, "2222222222") == 0, "disabled picked: %s", got);
			lb_teardown(&t);
		}
	}
	/* down / up */
	{
		static const char *const l[] = { "weight 1", "weight 1", "weight 4" };

		if (lb_setup(&t, "roundrobin", l, 3) == 0) {
			picks(&t, 5, got);
			set_up(&t, 2, 0);
			CHECK(!lb_usable(t.s[2]), "s3 usable while down");
			picks(&t, 20, got);
			CHECK(strchr(got, '3') == NULL, "down s3 picked: %s", got);
			/* after the switch (positions are kept, as in HAProxy,
			 * so s2 may come twice), s1 and s2 alternate */
			for (i = 4; i + 1 < 20; i += 2)
				if (got[i] == got[i + 1])
					break;
			CHECK(i >= 19, "s1/s2 should alternate while s3 is down: %s", got);
			CHECK(strstr(got, "111") == NULL && strstr(got, "222") == NULL,
			    "s3 down: three in a row: %s", got);
			set_up(&t, 2, 1);
			picks(&t, 60, got);
			memset(c, 0, sizeof(c));
			for (i = 0; i < 60; i++)
				if (got[i] >= '1' && got[i] <= '3')
					c[got[i] - '1']++;
			CHECK(strchr(got, '3') && strchr(got, '3') - got < 3,
			    "s3 back up but not picked soon: %s", got);
			CHECK(c[2] >= 38 && c[2] <= 42 && c[0] >= 8 && c[0] <= 12 &&
			    c[1] >= 8 && c[1] <= 12, "after s3 came back, 60 picks gave "
			    "%d/%d/%d: %s", c[0], c[1], c[2], got);
			/* all down */
			set_up(&t, 0, 0);
			set_up(&t, 1, 0);
			set_up(&t, 2, 0);
			EQI(pick_idx(&t, NULL), -1, "all down: NULL");
			set_up(&t, 1, 1);
			picks(&t, 5, got);
			CHECK(strcmp(got, "22222") == 0, "only s2 up: %s", got);
			lb_teardown(&t);
		}
	}
	/* backup servers */
	{
		static const char *const l[] = { "weight 1", "weight 1", "backup", "backup" };

		if (lb_setup(&t, "roundrobin", l, 4) == 0) {
			picks(&t, 20, got);
			CHECK(strchr(got, '3') == NULL && strchr(got, '4') == NULL,
			    "backup picked while actives are up: %s", got);
			set_up(&t, 0, 0);
			picks(&t, 6, got);
			CHECK(strcmp(got, "222222") == 0, "one active left: %s", got);
			set_up(&t, 1, 0);
			picks(&t, 6, got);
			CHECK(strcmp(got, "333333") == 0, "first backup expected: %s", got);
			set_up(&t, 2, 0);
			picks(&t, 6, got);
			CHECK(strcmp(got, "444444") == 0, "second backup expected: %s", got);
			set_up(&t, 0, 1);
			picks(&t, 6, got);
			CHECK(strcmp(got, "111111") == 0, "active back: %s", got);
			lb_teardown(&t);
		}
	}
	/* maxconn: a full server is skipped */
	{
		static const char *const l[] = { "weight 1 maxconn 1", "weight 1", "weight 1" };

		if (lb_setup(&t, "roundrobin", l, 3) == 0) {
			t.s[0]->st->cur = 1;
			picks(&t, 30, got);
			CHECK(strchr(got, '1') == NULL, "full s1 picked: %s", got);
			CHECK(strchr(got, '2') && strchr(got, '3'), "s2/s3 not both used: %s", got);
			t.s[0]->st->cur = 0;
			picks(&t, 30, got);
			memset(c, 0, sizeof(c));
			for (i = 0; i < 30; i++)
				if (got[i] >= '1' && got[i] <= '3')
					c[got[i] - '1']++;
			CHECK(c[0] >= 8 && c[0] <= 12, "s1 with a free slot picked %d/30: %s",
			    c[0], got);
			/* everything full */
			t.s[0]->st->cur = 1;
			lb_teardown(&t);
		}
	}
	{
		static const char *const l[] = { "maxconn 1", "maxconn 2" };

		if (lb_setup(&t, "roundrobin", l, 2) == 0) {
			t.s[0]->st->cur = 1;
			t.s[1]->st->cur = 2;
			EQI(pick_idx(&t, NULL), -1, "all full: NULL");
			t.s[1]->st->cur = 1;
			EQI(pick_idx(&t, NULL), 1, "s2 has a slot again");
			lb_teardown(&t);
		}
	}
	/* avoid */
	{
		static const char *const l[] = { "weight 1", "weight 1", "weight 4" };

		if (lb_setup(&t, "roundrobin", l, 3) == 0) {
			int bad = 0;

			for (i = 0; i < 30; i++)
				if (pick_idx(&t, t.s[2]) == 2)
					bad++;
			EQI(bad, 0, "avoided s3 picked");
			set_up(&t, 0, 0);
			set_up(&t, 1, 0);
			EQI(pick_idx(&t, t.s[2]), 2, "avoid: the only server is still picked");
			lb_teardown(&t);
		}
	}
}

static void
take(struct server *s)
{
	s->st->cur++;
	lb_taken(s);
}

static void
release(struct server *s)
{
	s->st->cur--;
	lb_released(s);
}

static void
test_leastconn(void)
{
	struct lbt t;
	int i;

	/* ties rotate */
	{
		static const char *const l[] = { "weight 1", "weight 1" };

		if (lb_setup(&t, "leastconn", l, 2) == 0) {
			EQI(pick_idx(&t, NULL), 0, "idle pair: first pick");
			EQI(pick_idx(&t, NULL), 0, "picking alone does not rotate");
			take(t.s[0]);
			release(t.s[0]);
			EQI(pick_idx(&t, NULL), 1, "after a's request, b");
			take(t.s[1]);
			release(t.s[1]);
			EQI(pick_idx(&t, NULL), 0, "after b's request, a");
			/* fewest in flight */
			take(t.s[0]);
			EQI(pick_idx(&t, NULL), 1, "a busy: b");
			take(t.s[1]);
			take(t.s[1]);
			EQI(pick_idx(&t, NULL), 0, "a 1 vs b 2: a");
			take(t.s[0]);
			take(t.s[0]);
			EQI(pick_idx(&t, NULL), 1, "a 3 vs b 2: b");
			release(t.s[0]);
			release(t.s[0]);
			release(t.s[0]);
			EQI(pick_idx(&t, NULL), 0, "a 0 vs b 2: a");
			/* avoid */
			EQI(pick_idx(&t, t.s[0]), 1, "avoid a: b");
			lb_teardown(&t);
		}
	}
	/* a sequence of concurrent requests spreads evenly */
	{
		static const char *const l[] = { "weight 1", "weight 1", "weight 1" };

		if (lb_setup(&t, "leastconn", l, 3) == 0) {
			int cnt[3] = { 0 };

			for (i = 0; i < 9; i++) {
				int k = pick_idx(&t, NULL);

				if (k < 0) {
					CHECK(0, "no server");
					break;
				}
				cnt[k]++;
				take(t.s[k]);
			}
			CHECK(cnt[0] == 3 && cnt[1] == 3 && cnt[2] == 3,
			    "9 concurrent over 3: %d/%d/%d", cnt[0], cnt[1], cnt[2]);
			lb_teardown(&t);
		}
	}
	/* per weight */
	{
		static const char *const l[] = { "weight 1", "weight 3" };

		if (lb_setup(&t, "leastconn", l, 2) == 0) {
			take(t.s[0]);
			take(t.s[1]);
			take(t.s[1]);
			/* a: 1/1, b: 2/3 */
			EQI(pick_idx(&t, NULL), 1, "per weight: b (2 of 3) before a (1 of 1)");
			take(t.s[1]);
			take(t.s[1]);
			/* b: 4/3 (key 5/3) vs a: 1/1 (key 2/1) -> b; b: 6/3 -> a */
			take(t.s[1]);
			take(t.s[1]);
			EQI(pick_idx(&t, NULL), 0, "per weight: a (1 of 1) before b (6 of 3)");
			lb_teardown(&t);
		}
	}
	/* maxconn: a full server is skipped */
	{
		static const char *const l[] = { "maxconn 1", "weight 1" };

		if (lb_setup(&t, "leastconn", l, 2) == 0) {
			take(t.s[1]);
			take(t.s[1]);
			take(t.s[1]);
			EQI(pick_idx(&t, NULL), 0, "s1 idle");
			take(t.s[0]);
			EQI(pick_idx(&t, NULL), 1, "s1 full (maxconn 1): s2 despite 3 in flight");
			take(t.s[1]);
			release(t.s[0]);
			EQI(pick_idx(&t, NULL), 0, "s1 free again");
			lb_teardown(&t);
		}
	}
	/* down, and backup */
	{
		static const char *const l[] = { "weight 1", "weight 1", "backup" };

		if (lb_setup(&t, "leastconn", l, 3) == 0) {
			int bad = 0;

			set_up(&t, 0, 0);
			for (i = 0; i < 5; i++) {
				int k = pick_idx(&t, NULL);

				if (k != 1)
					bad++;
				take(t.s[1]);
			}
			EQI(bad, 0, "s1 down: only s2");
			set_up(&t, 1, 0);
			EQI(pick_idx(&t, NULL), 2, "actives down: backup");
			set_up(&t, 0, 1);
			EQI(pick_idx(&t, NULL), 0, "s1 back");
			lb_teardown(&t);
		}
	}
}

static void
test_first(void)
{
	static const char *const l[] = { "maxconn 2", "maxconn 2", "maxconn 1 backup" };
	struct lbt t;

	if (lb_setup(&t, "first", l, 3) < 0)
		return;
	EQI(pick_idx(&t, NULL), 0, "first: s1");
	take(t.s[0]);
	EQI(pick_idx(&t, NULL), 0, "first: s1 until full");
	take(t.s[0]);
	EQI(pick_idx(&t, NULL), 1, "first: s1 full, s2");
	take(t.s[1]);
	EQI(pick_idx(&t, NULL), 1, "first: s2 has one slot");
	take(t.s[1]);
	EQI(pick_idx(&t, NULL), -1, "first: all full (backup unused)");
	release(t.s[0]);
	EQI(pick_idx(&t, NULL), 0, "first: back to s1");
	EQI(pick_idx(&t, t.s[0]), 0, "first: avoid s1 but s2 full -> s1");
	release(t.s[1]);
	EQI(pick_idx(&t, t.s[0]), 1, "first: avoid s1 -> s2");
	set_up(&t, 0, 0);
	set_up(&t, 1, 0);
	EQI(pick_idx(&t, NULL), 2, "first: backup when actives are down");
	lb_teardown(&t);
}

/* A reload: the old and the new config share each server's runtime state
 * (counters, health) but never a balancer position.  Sessions from before
 * the reload (a redispatch, a request routed before they adopt the new
 * config) pick from the old config's sets, which the new one's lb_init
 * must neither reset nor advance. */
static void
lb_reload_algo(const char *from, const char *to, const char *want_old)
{
	static const char *const two[] = { "", "" };
	struct lbt a, b;
	char got[16], ctx[64];

	snprintf(ctx, sizeof(ctx), "reload %s -> %s", from, to);
	if (lb_setup(&a, from, two, 2) < 0)
		return;
	if (lb_setup_after(&b, to, two, 2, &a) < 0) {
		lb_teardown(&a);
		return;
	}
	CHECK(a.s[0]->st == b.s[0]->st, "%s: s1's runtime state carried by name", ctx);
	picks(&a, 4, got);
	EQS(got, want_old, ctx);
	picks(&b, 2, got);
	CHECK(strchr(got, '-') == NULL, "%s: new config picks %s", ctx, got);
	lb_teardown(&b);
	lb_teardown(&a);
}

static void
test_lb_reload(void)
{
	static const char *const w311[] = { "weight 3", "weight 1", "weight 1" };
	struct lbt a, b, a_alone, b_alone;
	char got[32], want[32], got_old[8], want_old[8];

	lb_reload_algo("roundrobin", "leastconn", "1212");
	lb_reload_algo("roundrobin", "first", "1212");
	lb_reload_algo("leastconn", "roundrobin", "1111");
	lb_reload_algo("first", "roundrobin", "1111");

	/* same algorithm: each config's sequence is what it would be alone */
	if (lb_setup(&a, "roundrobin", w311, 3) < 0 ||
	    lb_setup(&a_alone, "roundrobin", w311, 3) < 0)
		return;
	picks(&a, 7, got);
	picks(&a_alone, 7, want);
	if (lb_setup_after(&b, "roundrobin", w311, 3, &a) < 0 ||
	    lb_setup(&b_alone, "roundrobin", w311, 3) < 0)
		return;
	picks(&b, 3, got);
	picks(&a, 3, got_old);		/* old-config sessions redispatch */
	picks(&b, 21, got + 3);
	picks(&b_alone, 24, want);
	picks(&a_alone, 3, want_old);
	EQS(got, want, "reload, roundrobin 3:1:1: the new config's picks");
	EQS(got_old, want_old, "reload, roundrobin 3:1:1: the old config's picks");
	lb_teardown(&b_alone);
	lb_teardown(&b);
	lb_teardown(&a_alone);
	lb_teardown(&a);
}

/* Three configs A -> B -> C, C without the server A and B have: B goes
 * first (no session), A lives on.  The state A still uses must not point
 * at B's server, which is freed with B (it was the newest holder). */
static void
test_srv_unbind_three_configs(void)
{
	static const char *const one[] = { "" };
	struct lbt a, b;
	struct config *c;
	struct srv_state *st;
	char *msg;

	if (lb_setup(&a, "roundrobin", one, 1) < 0)
		return;
	if (lb_setup_after(&b, "roundrobin", one, 1, &a) < 0)
		return;
	st = a.s[0]->st;
	CHECK(st == b.s[0]->st && st->srv == b.s[0], "B's server holds the state");
	c = cfg_parse("backend b\n    server other 127.0.0.1:9000\n", &msg);
	free(msg);
	if (c == NULL) {
		CHECK(0, "config C rejected");
		return;
	}
	srv_bind(c, b.c);
	CHECK(st->srv == b.s[0], "C has no server of that name: still B's");
	lb_teardown(&b);
	CHECK(a.s[0]->st == st && st->refs == 1, "A keeps the state");
	CHECK(st->srv == NULL, "the state points at no freed server (B's was)");
	srv_unbind(c);
	cfg_free(c);
	lb_teardown(&a);
}

/* ------------------------------------------------------------------ */
/* 9. OpenSSL cipher lists                                              */

/*
 * What `openssl ciphers -V LIST` prints below the TLS 1.3 suites (OpenSSL
 * 3.0, Debian 12's), and of that what BearSSL runs at the list's security
 * level (what `openssl ciphers -s -tls1_2 LIST` offers, restricted to
 * BearSSL's suites); NULL: OpenSSL refuses the list.  Generated with
 * Debian's openssl; test/test_ciphers.py checks this table against the
 * installed openssl, and waxlb against it.
 */
static const struct {
	int		 line;
	const char	*list;
	const char	*all;
	const char	*bear;
} ciph_tests[] = {
	/* the WAX guide (HAProxy's 'modern' of old) */
	{ __LINE__, "ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:"
	    "RSA+AESGCM:RSA+AES:!aNULL:!MD5:!DSS",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-CCM8:ECDHE-ECDSA-AES256-CCM:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES256-CCM8:"
	  "DHE-RSA-AES256-CCM:DHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-CCM8:"
	  "DHE-RSA-AES128-CCM:DHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA:"
	  "AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-CCM8:AES256-CCM:"
	  "AES128-CCM8:AES128-CCM:AES256-SHA256:AES128-SHA256:AES256-SHA:"
	  "AES128-SHA",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:"
	  "AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:"
	  "AES128-SHA" },
	/* Mozilla 5.8 intermediate */
	{ __LINE__, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
	    "DHE-RSA-CHACHA20-POLY1305",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
	  "DHE-RSA-CHACHA20-POLY1305",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305" },
	/* test/configs/oiac-wiki-cors-ratelimit.cfg.in (Mozilla 5.6 intermediate) */
	{ __LINE__, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305" },
	/* Mozilla 5.8 old */
	{ __LINE__, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
	    "DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA256:"
	    "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:"
	    "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:"
	    "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:"
	    "ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:"
	    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:"
	    "AES128-SHA:AES256-SHA:DES-CBC3-SHA",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
	  "DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:"
	  "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:"
	  "ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:"
	  "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:"
	  "AES128-SHA:AES256-SHA",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:"
	  "AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:"
	  "AES256-SHA" },
	/* Mozilla 4.0 modern */
	{ __LINE__, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	    "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256" },
	/* Mozilla 4.0 intermediate */
	{ __LINE__, "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
	    "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:"
	    "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:"
	    "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:"
	    "DHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA:"
	    "ECDHE-ECDSA-DES-CBC3-SHA:ECDHE-RSA-DES-CBC3-SHA:"
	    "EDH-RSA-DES-CBC3-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:"
	    "AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA:"
	    "!DSS",
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA:"
	  "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:"
	  "AES128-SHA:AES256-SHA",
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:"
	  "AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:"
	  "AES256-SHA" },
	/* Mozilla 4.0 old */
	{ __LINE__, "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:"
	    "DHE-RSA-AES128-GCM-SHA256:DHE-DSS-AES128-GCM-SHA256:kEDH+AESGCM:"
	    "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256:"
	    "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA:"
	    "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA384:"
	    "ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES256-SHA:DHE-RSA-AES128-SHA256:"
	    "DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA256:DHE-RSA-AES256-SHA256:"
	    "DHE-DSS-AES256-SHA:DHE-RSA-AES256-SHA:ECDHE-RSA-DES-CBC3-SHA:"
	    "ECDHE-ECDSA-DES-CBC3-SHA:EDH-RSA-DES-CBC3-SHA:AES128-GCM-SHA256:"
	    "AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:"
	    "AES256-SHA:AES:DES-CBC3-SHA:HIGH:SEED:!aNULL:!eNULL:!EXPORT:!DES:"
	    "!RC4:!MD5:!PSK:!RSAPSK:!aDH:!aECDH:!EDH-DSS-DES-CBC3-SHA:"
	    "!KRB5-DES-CBC3-SHA:!SRP",
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:"
	  "DHE-RSA-AES128-GCM-SHA256:DHE-DSS-AES128-GCM-SHA256:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA:"
	  "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES256-SHA:DHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA256:DHE-RSA-AES256-SHA256:"
	  "DHE-DSS-AES256-SHA:DHE-RSA-AES256-SHA:AES128-GCM-SHA256:"
	  "AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:"
	  "AES256-SHA:ECDHE-ECDSA-AES256-CCM8:ECDHE-ECDSA-AES256-CCM:"
	  "DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:ECDHE-ECDSA-AES128-CCM8:"
	  "ECDHE-ECDSA-AES128-CCM:DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:"
	  "DHE-DSS-AES256-SHA256:DHE-DSS-AES128-SHA:AES256-CCM8:AES256-CCM:"
	  "AES128-CCM8:AES128-CCM:DHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "DHE-DSS-ARIA256-GCM-SHA384:DHE-RSA-ARIA256-GCM-SHA384:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:"
	  "DHE-DSS-ARIA128-GCM-SHA256:DHE-RSA-ARIA128-GCM-SHA256:"
	  "ECDHE-ECDSA-CAMELLIA256-SHA384:ECDHE-RSA-CAMELLIA256-SHA384:"
	  "DHE-RSA-CAMELLIA256-SHA256:DHE-DSS-CAMELLIA256-SHA256:"
	  "ECDHE-ECDSA-CAMELLIA128-SHA256:ECDHE-RSA-CAMELLIA128-SHA256:"
	  "DHE-RSA-CAMELLIA128-SHA256:DHE-DSS-CAMELLIA128-SHA256:"
	  "DHE-RSA-CAMELLIA256-SHA:DHE-DSS-CAMELLIA256-SHA:"
	  "DHE-RSA-CAMELLIA128-SHA:DHE-DSS-CAMELLIA128-SHA:"
	  "ARIA256-GCM-SHA384:ARIA128-GCM-SHA256:CAMELLIA256-SHA256:"
	  "CAMELLIA128-SHA256:CAMELLIA256-SHA:CAMELLIA128-SHA",
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:"
	  "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA:"
	  "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES256-SHA:AES128-GCM-SHA256:"
	  "AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:"
	  "AES256-SHA" },
	/* a common hardening guide */
	{ __LINE__, "EECDH+ECDSA+AESGCM:EECDH+aRSA+AESGCM:EECDH+ECDSA+SHA384:"
	    "EECDH+ECDSA+SHA256:EECDH+aRSA+SHA384:EECDH+aRSA+SHA256:"
	    "EECDH+aRSA+RC4:EECDH:EDH+aRSA:!aNULL:!eNULL:!LOW:!3DES:!MD5:!EXP:"
	    "!PSK:!SRP:!DSS:!RC4",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-CAMELLIA256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-CAMELLIA128-SHA256:"
	  "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-CAMELLIA256-SHA384:"
	  "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-CAMELLIA128-SHA256:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES256-CCM8:ECDHE-ECDSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
	  "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:DHE-RSA-ARIA256-GCM-SHA384:"
	  "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:"
	  "DHE-RSA-ARIA128-GCM-SHA256:DHE-RSA-AES256-SHA256:"
	  "DHE-RSA-CAMELLIA256-SHA256:DHE-RSA-AES128-SHA256:"
	  "DHE-RSA-CAMELLIA128-SHA256:DHE-RSA-AES256-SHA:"
	  "DHE-RSA-CAMELLIA256-SHA:DHE-RSA-AES128-SHA:"
	  "DHE-RSA-CAMELLIA128-SHA",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA" },
	{ __LINE__, "HIGH:!aNULL:!MD5",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-CCM8:"
	  "ECDHE-ECDSA-AES256-CCM:DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "DHE-DSS-ARIA256-GCM-SHA384:DHE-RSA-ARIA256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "DHE-DSS-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:"
	  "DHE-DSS-ARIA128-GCM-SHA256:DHE-RSA-ARIA128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "DHE-RSA-AES256-SHA256:DHE-DSS-AES256-SHA256:"
	  "ECDHE-ECDSA-CAMELLIA256-SHA384:ECDHE-RSA-CAMELLIA256-SHA384:"
	  "DHE-RSA-CAMELLIA256-SHA256:DHE-DSS-CAMELLIA256-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA256:DHE-DSS-AES128-SHA256:"
	  "ECDHE-ECDSA-CAMELLIA128-SHA256:ECDHE-RSA-CAMELLIA128-SHA256:"
	  "DHE-RSA-CAMELLIA128-SHA256:DHE-DSS-CAMELLIA128-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES256-SHA:"
	  "DHE-DSS-AES256-SHA:DHE-RSA-CAMELLIA256-SHA:"
	  "DHE-DSS-CAMELLIA256-SHA:ECDHE-ECDSA-AES128-SHA:"
	  "ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:"
	  "DHE-RSA-CAMELLIA128-SHA:DHE-DSS-CAMELLIA128-SHA:"
	  "RSA-PSK-AES256-GCM-SHA384:DHE-PSK-AES256-GCM-SHA384:"
	  "RSA-PSK-CHACHA20-POLY1305:DHE-PSK-CHACHA20-POLY1305:"
	  "ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES256-CCM8:"
	  "DHE-PSK-AES256-CCM:RSA-PSK-ARIA256-GCM-SHA384:"
	  "DHE-PSK-ARIA256-GCM-SHA384:AES256-GCM-SHA384:AES256-CCM8:"
	  "AES256-CCM:ARIA256-GCM-SHA384:PSK-AES256-GCM-SHA384:"
	  "PSK-CHACHA20-POLY1305:PSK-AES256-CCM8:PSK-AES256-CCM:"
	  "PSK-ARIA256-GCM-SHA384:RSA-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:"
	  "RSA-PSK-ARIA128-GCM-SHA256:DHE-PSK-ARIA128-GCM-SHA256:"
	  "AES128-GCM-SHA256:AES128-CCM8:AES128-CCM:ARIA128-GCM-SHA256:"
	  "PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:PSK-AES128-CCM:"
	  "PSK-ARIA128-GCM-SHA256:AES256-SHA256:CAMELLIA256-SHA256:"
	  "AES128-SHA256:CAMELLIA128-SHA256:ECDHE-PSK-AES256-CBC-SHA384:"
	  "ECDHE-PSK-AES256-CBC-SHA:SRP-DSS-AES-256-CBC-SHA:"
	  "SRP-RSA-AES-256-CBC-SHA:SRP-AES-256-CBC-SHA:"
	  "RSA-PSK-AES256-CBC-SHA384:DHE-PSK-AES256-CBC-SHA384:"
	  "RSA-PSK-AES256-CBC-SHA:DHE-PSK-AES256-CBC-SHA:"
	  "ECDHE-PSK-CAMELLIA256-SHA384:RSA-PSK-CAMELLIA256-SHA384:"
	  "DHE-PSK-CAMELLIA256-SHA384:AES256-SHA:CAMELLIA256-SHA:"
	  "PSK-AES256-CBC-SHA384:PSK-AES256-CBC-SHA:PSK-CAMELLIA256-SHA384:"
	  "ECDHE-PSK-AES128-CBC-SHA256:ECDHE-PSK-AES128-CBC-SHA:"
	  "SRP-DSS-AES-128-CBC-SHA:SRP-RSA-AES-128-CBC-SHA:"
	  "SRP-AES-128-CBC-SHA:RSA-PSK-AES128-CBC-SHA256:"
	  "DHE-PSK-AES128-CBC-SHA256:RSA-PSK-AES128-CBC-SHA:"
	  "DHE-PSK-AES128-CBC-SHA:ECDHE-PSK-CAMELLIA128-SHA256:"
	  "RSA-PSK-CAMELLIA128-SHA256:DHE-PSK-CAMELLIA128-SHA256:AES128-SHA:"
	  "CAMELLIA128-SHA:PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA:"
	  "PSK-CAMELLIA128-SHA256",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:"
	  "AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:"
	  "AES128-SHA" },
	{ __LINE__, "DEFAULT",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
	  "ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "DHE-RSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
	  "DHE-RSA-AES128-SHA:RSA-PSK-AES256-GCM-SHA384:"
	  "DHE-PSK-AES256-GCM-SHA384:RSA-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305:"
	  "AES256-GCM-SHA384:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:"
	  "RSA-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-GCM-SHA256:"
	  "AES128-GCM-SHA256:PSK-AES128-GCM-SHA256:AES256-SHA256:"
	  "AES128-SHA256:ECDHE-PSK-AES256-CBC-SHA384:"
	  "ECDHE-PSK-AES256-CBC-SHA:SRP-RSA-AES-256-CBC-SHA:"
	  "SRP-AES-256-CBC-SHA:RSA-PSK-AES256-CBC-SHA384:"
	  "DHE-PSK-AES256-CBC-SHA384:RSA-PSK-AES256-CBC-SHA:"
	  "DHE-PSK-AES256-CBC-SHA:AES256-SHA:PSK-AES256-CBC-SHA384:"
	  "PSK-AES256-CBC-SHA:ECDHE-PSK-AES128-CBC-SHA256:"
	  "ECDHE-PSK-AES128-CBC-SHA:SRP-RSA-AES-128-CBC-SHA:"
	  "SRP-AES-128-CBC-SHA:RSA-PSK-AES128-CBC-SHA256:"
	  "DHE-PSK-AES128-CBC-SHA256:RSA-PSK-AES128-CBC-SHA:"
	  "DHE-PSK-AES128-CBC-SHA:AES128-SHA:PSK-AES128-CBC-SHA256:"
	  "PSK-AES128-CBC-SHA",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:"
	  "AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:"
	  "AES128-SHA" },
	{ __LINE__, "ALL",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-CCM8:"
	  "ECDHE-ECDSA-AES256-CCM:DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "DHE-DSS-ARIA256-GCM-SHA384:DHE-RSA-ARIA256-GCM-SHA384:"
	  "ADH-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES128-GCM-SHA256:DHE-DSS-AES128-GCM-SHA256:"
	  "DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-CCM8:"
	  "ECDHE-ECDSA-AES128-CCM:DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:"
	  "DHE-DSS-ARIA128-GCM-SHA256:DHE-RSA-ARIA128-GCM-SHA256:"
	  "ADH-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:"
	  "DHE-DSS-AES256-SHA256:ECDHE-ECDSA-CAMELLIA256-SHA384:"
	  "ECDHE-RSA-CAMELLIA256-SHA384:DHE-RSA-CAMELLIA256-SHA256:"
	  "DHE-DSS-CAMELLIA256-SHA256:ADH-AES256-SHA256:"
	  "ADH-CAMELLIA256-SHA256:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:"
	  "DHE-DSS-AES128-SHA256:ECDHE-ECDSA-CAMELLIA128-SHA256:"
	  "ECDHE-RSA-CAMELLIA128-SHA256:DHE-RSA-CAMELLIA128-SHA256:"
	  "DHE-DSS-CAMELLIA128-SHA256:ADH-AES128-SHA256:"
	  "ADH-CAMELLIA128-SHA256:ECDHE-ECDSA-AES256-SHA:"
	  "ECDHE-RSA-AES256-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:"
	  "DHE-RSA-CAMELLIA256-SHA:DHE-DSS-CAMELLIA256-SHA:AECDH-AES256-SHA:"
	  "ADH-AES256-SHA:ADH-CAMELLIA256-SHA:ECDHE-ECDSA-AES128-SHA:"
	  "ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:"
	  "DHE-RSA-CAMELLIA128-SHA:DHE-DSS-CAMELLIA128-SHA:AECDH-AES128-SHA:"
	  "ADH-AES128-SHA:ADH-CAMELLIA128-SHA:RSA-PSK-AES256-GCM-SHA384:"
	  "DHE-PSK-AES256-GCM-SHA384:RSA-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-AES256-CCM8:DHE-PSK-AES256-CCM:RSA-PSK-ARIA256-GCM-SHA384:"
	  "DHE-PSK-ARIA256-GCM-SHA384:AES256-GCM-SHA384:AES256-CCM8:"
	  "AES256-CCM:ARIA256-GCM-SHA384:PSK-AES256-GCM-SHA384:"
	  "PSK-CHACHA20-POLY1305:PSK-AES256-CCM8:PSK-AES256-CCM:"
	  "PSK-ARIA256-GCM-SHA384:RSA-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:"
	  "RSA-PSK-ARIA128-GCM-SHA256:DHE-PSK-ARIA128-GCM-SHA256:"
	  "AES128-GCM-SHA256:AES128-CCM8:AES128-CCM:ARIA128-GCM-SHA256:"
	  "PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:PSK-AES128-CCM:"
	  "PSK-ARIA128-GCM-SHA256:AES256-SHA256:CAMELLIA256-SHA256:"
	  "AES128-SHA256:CAMELLIA128-SHA256:ECDHE-PSK-AES256-CBC-SHA384:"
	  "ECDHE-PSK-AES256-CBC-SHA:SRP-DSS-AES-256-CBC-SHA:"
	  "SRP-RSA-AES-256-CBC-SHA:SRP-AES-256-CBC-SHA:"
	  "RSA-PSK-AES256-CBC-SHA384:DHE-PSK-AES256-CBC-SHA384:"
	  "RSA-PSK-AES256-CBC-SHA:DHE-PSK-AES256-CBC-SHA:"
	  "ECDHE-PSK-CAMELLIA256-SHA384:RSA-PSK-CAMELLIA256-SHA384:"
	  "DHE-PSK-CAMELLIA256-SHA384:AES256-SHA:CAMELLIA256-SHA:"
	  "PSK-AES256-CBC-SHA384:PSK-AES256-CBC-SHA:PSK-CAMELLIA256-SHA384:"
	  "ECDHE-PSK-AES128-CBC-SHA256:ECDHE-PSK-AES128-CBC-SHA:"
	  "SRP-DSS-AES-128-CBC-SHA:SRP-RSA-AES-128-CBC-SHA:"
	  "SRP-AES-128-CBC-SHA:RSA-PSK-AES128-CBC-SHA256:"
	  "DHE-PSK-AES128-CBC-SHA256:RSA-PSK-AES128-CBC-SHA:"
	  "DHE-PSK-AES128-CBC-SHA:ECDHE-PSK-CAMELLIA128-SHA256:"
	  "RSA-PSK-CAMELLIA128-SHA256:DHE-PSK-CAMELLIA128-SHA256:AES128-SHA:"
	  "CAMELLIA128-SHA:PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA:"
	  "PSK-CAMELLIA128-SHA256",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:"
	  "AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:"
	  "AES128-SHA" },
	/* every suite */
	{ __LINE__, "ALL:COMPLEMENTOFALL",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-CCM8:"
	  "ECDHE-ECDSA-AES256-CCM:DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "DHE-DSS-ARIA256-GCM-SHA384:DHE-RSA-ARIA256-GCM-SHA384:"
	  "ADH-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES128-GCM-SHA256:DHE-DSS-AES128-GCM-SHA256:"
	  "DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-CCM8:"
	  "ECDHE-ECDSA-AES128-CCM:DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:"
	  "DHE-DSS-ARIA128-GCM-SHA256:DHE-RSA-ARIA128-GCM-SHA256:"
	  "ADH-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:"
	  "DHE-DSS-AES256-SHA256:ECDHE-ECDSA-CAMELLIA256-SHA384:"
	  "ECDHE-RSA-CAMELLIA256-SHA384:DHE-RSA-CAMELLIA256-SHA256:"
	  "DHE-DSS-CAMELLIA256-SHA256:ADH-AES256-SHA256:"
	  "ADH-CAMELLIA256-SHA256:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:"
	  "DHE-DSS-AES128-SHA256:ECDHE-ECDSA-CAMELLIA128-SHA256:"
	  "ECDHE-RSA-CAMELLIA128-SHA256:DHE-RSA-CAMELLIA128-SHA256:"
	  "DHE-DSS-CAMELLIA128-SHA256:ADH-AES128-SHA256:"
	  "ADH-CAMELLIA128-SHA256:ECDHE-ECDSA-AES256-SHA:"
	  "ECDHE-RSA-AES256-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:"
	  "DHE-RSA-CAMELLIA256-SHA:DHE-DSS-CAMELLIA256-SHA:AECDH-AES256-SHA:"
	  "ADH-AES256-SHA:ADH-CAMELLIA256-SHA:ECDHE-ECDSA-AES128-SHA:"
	  "ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:"
	  "DHE-RSA-CAMELLIA128-SHA:DHE-DSS-CAMELLIA128-SHA:AECDH-AES128-SHA:"
	  "ADH-AES128-SHA:ADH-CAMELLIA128-SHA:RSA-PSK-AES256-GCM-SHA384:"
	  "DHE-PSK-AES256-GCM-SHA384:RSA-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-AES256-CCM8:DHE-PSK-AES256-CCM:RSA-PSK-ARIA256-GCM-SHA384:"
	  "DHE-PSK-ARIA256-GCM-SHA384:AES256-GCM-SHA384:AES256-CCM8:"
	  "AES256-CCM:ARIA256-GCM-SHA384:PSK-AES256-GCM-SHA384:"
	  "PSK-CHACHA20-POLY1305:PSK-AES256-CCM8:PSK-AES256-CCM:"
	  "PSK-ARIA256-GCM-SHA384:RSA-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:"
	  "RSA-PSK-ARIA128-GCM-SHA256:DHE-PSK-ARIA128-GCM-SHA256:"
	  "AES128-GCM-SHA256:AES128-CCM8:AES128-CCM:ARIA128-GCM-SHA256:"
	  "PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:PSK-AES128-CCM:"
	  "PSK-ARIA128-GCM-SHA256:AES256-SHA256:CAMELLIA256-SHA256:"
	  "AES128-SHA256:CAMELLIA128-SHA256:ECDHE-PSK-AES256-CBC-SHA384:"
	  "ECDHE-PSK-AES256-CBC-SHA:SRP-DSS-AES-256-CBC-SHA:"
	  "SRP-RSA-AES-256-CBC-SHA:SRP-AES-256-CBC-SHA:"
	  "RSA-PSK-AES256-CBC-SHA384:DHE-PSK-AES256-CBC-SHA384:"
	  "RSA-PSK-AES256-CBC-SHA:DHE-PSK-AES256-CBC-SHA:"
	  "ECDHE-PSK-CAMELLIA256-SHA384:RSA-PSK-CAMELLIA256-SHA384:"
	  "DHE-PSK-CAMELLIA256-SHA384:AES256-SHA:CAMELLIA256-SHA:"
	  "PSK-AES256-CBC-SHA384:PSK-AES256-CBC-SHA:PSK-CAMELLIA256-SHA384:"
	  "ECDHE-PSK-AES128-CBC-SHA256:ECDHE-PSK-AES128-CBC-SHA:"
	  "SRP-DSS-AES-128-CBC-SHA:SRP-RSA-AES-128-CBC-SHA:"
	  "SRP-AES-128-CBC-SHA:RSA-PSK-AES128-CBC-SHA256:"
	  "DHE-PSK-AES128-CBC-SHA256:RSA-PSK-AES128-CBC-SHA:"
	  "DHE-PSK-AES128-CBC-SHA:ECDHE-PSK-CAMELLIA128-SHA256:"
	  "RSA-PSK-CAMELLIA128-SHA256:DHE-PSK-CAMELLIA128-SHA256:AES128-SHA:"
	  "CAMELLIA128-SHA:PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA:"
	  "PSK-CAMELLIA128-SHA256:ECDHE-ECDSA-NULL-SHA:ECDHE-RSA-NULL-SHA:"
	  "AECDH-NULL-SHA:NULL-SHA256:ECDHE-PSK-NULL-SHA384:"
	  "ECDHE-PSK-NULL-SHA256:ECDHE-PSK-NULL-SHA:RSA-PSK-NULL-SHA384:"
	  "RSA-PSK-NULL-SHA256:DHE-PSK-NULL-SHA384:DHE-PSK-NULL-SHA256:"
	  "RSA-PSK-NULL-SHA:DHE-PSK-NULL-SHA:NULL-SHA:NULL-MD5:"
	  "PSK-NULL-SHA384:PSK-NULL-SHA256:PSK-NULL-SHA",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:"
	  "AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:"
	  "AES128-SHA" },
	/* waxlb's default (CFG_DFLT_CIPHERS) */
	{ __LINE__, "ECDHE+AES128+AESGCM:ECDHE+AES256+AESGCM:ECDHE+CHACHA20",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305" },
	{ __LINE__, "ECDHE+AESGCM",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256" },
	{ __LINE__, "EECDH+AESGCM:EDH+AESGCM",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "DHE-DSS-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256" },
	{ __LINE__, "ECDHE-RSA-AES128-GCM-SHA256:@STRENGTH",
	  "ECDHE-RSA-AES128-GCM-SHA256",
	  "ECDHE-RSA-AES128-GCM-SHA256" },
	{ __LINE__, "!ECDSA:ALL",
	  "ECDHE-RSA-AES256-GCM-SHA384:DHE-DSS-AES256-GCM-SHA384:"
	  "DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:"
	  "ECDHE-ARIA256-GCM-SHA384:DHE-DSS-ARIA256-GCM-SHA384:"
	  "DHE-RSA-ARIA256-GCM-SHA384:ADH-AES256-GCM-SHA384:"
	  "ECDHE-RSA-AES128-GCM-SHA256:DHE-DSS-AES128-GCM-SHA256:"
	  "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:"
	  "ECDHE-ARIA128-GCM-SHA256:DHE-DSS-ARIA128-GCM-SHA256:"
	  "DHE-RSA-ARIA128-GCM-SHA256:ADH-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:"
	  "DHE-DSS-AES256-SHA256:ECDHE-RSA-CAMELLIA256-SHA384:"
	  "DHE-RSA-CAMELLIA256-SHA256:DHE-DSS-CAMELLIA256-SHA256:"
	  "ADH-AES256-SHA256:ADH-CAMELLIA256-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA256:DHE-DSS-AES128-SHA256:"
	  "ECDHE-RSA-CAMELLIA128-SHA256:DHE-RSA-CAMELLIA128-SHA256:"
	  "DHE-DSS-CAMELLIA128-SHA256:ADH-AES128-SHA256:"
	  "ADH-CAMELLIA128-SHA256:ECDHE-RSA-AES256-SHA:DHE-RSA-AES256-SHA:"
	  "DHE-DSS-AES256-SHA:DHE-RSA-CAMELLIA256-SHA:"
	  "DHE-DSS-CAMELLIA256-SHA:AECDH-AES256-SHA:ADH-AES256-SHA:"
	  "ADH-CAMELLIA256-SHA:ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:"
	  "DHE-DSS-AES128-SHA:DHE-RSA-CAMELLIA128-SHA:"
	  "DHE-DSS-CAMELLIA128-SHA:AECDH-AES128-SHA:ADH-AES128-SHA:"
	  "ADH-CAMELLIA128-SHA:RSA-PSK-AES256-GCM-SHA384:"
	  "DHE-PSK-AES256-GCM-SHA384:RSA-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-AES256-CCM8:DHE-PSK-AES256-CCM:RSA-PSK-ARIA256-GCM-SHA384:"
	  "DHE-PSK-ARIA256-GCM-SHA384:AES256-GCM-SHA384:AES256-CCM8:"
	  "AES256-CCM:ARIA256-GCM-SHA384:PSK-AES256-GCM-SHA384:"
	  "PSK-CHACHA20-POLY1305:PSK-AES256-CCM8:PSK-AES256-CCM:"
	  "PSK-ARIA256-GCM-SHA384:RSA-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:"
	  "RSA-PSK-ARIA128-GCM-SHA256:DHE-PSK-ARIA128-GCM-SHA256:"
	  "AES128-GCM-SHA256:AES128-CCM8:AES128-CCM:ARIA128-GCM-SHA256:"
	  "PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:PSK-AES128-CCM:"
	  "PSK-ARIA128-GCM-SHA256:AES256-SHA256:CAMELLIA256-SHA256:"
	  "AES128-SHA256:CAMELLIA128-SHA256:ECDHE-PSK-AES256-CBC-SHA384:"
	  "ECDHE-PSK-AES256-CBC-SHA:SRP-DSS-AES-256-CBC-SHA:"
	  "SRP-RSA-AES-256-CBC-SHA:SRP-AES-256-CBC-SHA:"
	  "RSA-PSK-AES256-CBC-SHA384:DHE-PSK-AES256-CBC-SHA384:"
	  "RSA-PSK-AES256-CBC-SHA:DHE-PSK-AES256-CBC-SHA:"
	  "ECDHE-PSK-CAMELLIA256-SHA384:RSA-PSK-CAMELLIA256-SHA384:"
	  "DHE-PSK-CAMELLIA256-SHA384:AES256-SHA:CAMELLIA256-SHA:"
	  "PSK-AES256-CBC-SHA384:PSK-AES256-CBC-SHA:PSK-CAMELLIA256-SHA384:"
	  "ECDHE-PSK-AES128-CBC-SHA256:ECDHE-PSK-AES128-CBC-SHA:"
	  "SRP-DSS-AES-128-CBC-SHA:SRP-RSA-AES-128-CBC-SHA:"
	  "SRP-AES-128-CBC-SHA:RSA-PSK-AES128-CBC-SHA256:"
	  "DHE-PSK-AES128-CBC-SHA256:RSA-PSK-AES128-CBC-SHA:"
	  "DHE-PSK-AES128-CBC-SHA:ECDHE-PSK-CAMELLIA128-SHA256:"
	  "RSA-PSK-CAMELLIA128-SHA256:DHE-PSK-CAMELLIA128-SHA256:AES128-SHA:"
	  "CAMELLIA128-SHA:PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA:"
	  "PSK-CAMELLIA128-SHA256",
	  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:"
	  "AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:"
	  "AES256-SHA:AES128-SHA" },
	{ __LINE__, "AES256+EECDH:AES256+EDH",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES256-CCM8:ECDHE-ECDSA-AES256-CCM:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:DHE-RSA-AES256-SHA256:"
	  "DHE-DSS-AES256-SHA256:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA" },
	{ __LINE__, "kECDHE:+AES128:!SHA1",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES256-CCM8:ECDHE-ECDSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-CAMELLIA256-SHA384:ECDHE-RSA-CAMELLIA256-SHA384:"
	  "ECDHE-ECDSA-CAMELLIA128-SHA256:ECDHE-RSA-CAMELLIA128-SHA256:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256" },
	{ __LINE__, "HIGH:@SECLEVEL=2",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-CCM8:"
	  "ECDHE-ECDSA-AES256-CCM:DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "DHE-DSS-ARIA256-GCM-SHA384:DHE-RSA-ARIA256-GCM-SHA384:"
	  "ADH-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES128-GCM-SHA256:DHE-DSS-AES128-GCM-SHA256:"
	  "DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-CCM8:"
	  "ECDHE-ECDSA-AES128-CCM:DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:"
	  "DHE-DSS-ARIA128-GCM-SHA256:DHE-RSA-ARIA128-GCM-SHA256:"
	  "ADH-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:"
	  "DHE-DSS-AES256-SHA256:ECDHE-ECDSA-CAMELLIA256-SHA384:"
	  "ECDHE-RSA-CAMELLIA256-SHA384:DHE-RSA-CAMELLIA256-SHA256:"
	  "DHE-DSS-CAMELLIA256-SHA256:ADH-AES256-SHA256:"
	  "ADH-CAMELLIA256-SHA256:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:"
	  "DHE-DSS-AES128-SHA256:ECDHE-ECDSA-CAMELLIA128-SHA256:"
	  "ECDHE-RSA-CAMELLIA128-SHA256:DHE-RSA-CAMELLIA128-SHA256:"
	  "DHE-DSS-CAMELLIA128-SHA256:ADH-AES128-SHA256:"
	  "ADH-CAMELLIA128-SHA256:ECDHE-ECDSA-AES256-SHA:"
	  "ECDHE-RSA-AES256-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:"
	  "DHE-RSA-CAMELLIA256-SHA:DHE-DSS-CAMELLIA256-SHA:AECDH-AES256-SHA:"
	  "ADH-AES256-SHA:ADH-CAMELLIA256-SHA:ECDHE-ECDSA-AES128-SHA:"
	  "ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:"
	  "DHE-RSA-CAMELLIA128-SHA:DHE-DSS-CAMELLIA128-SHA:AECDH-AES128-SHA:"
	  "ADH-AES128-SHA:ADH-CAMELLIA128-SHA:RSA-PSK-AES256-GCM-SHA384:"
	  "DHE-PSK-AES256-GCM-SHA384:RSA-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-AES256-CCM8:DHE-PSK-AES256-CCM:RSA-PSK-ARIA256-GCM-SHA384:"
	  "DHE-PSK-ARIA256-GCM-SHA384:AES256-GCM-SHA384:AES256-CCM8:"
	  "AES256-CCM:ARIA256-GCM-SHA384:PSK-AES256-GCM-SHA384:"
	  "PSK-CHACHA20-POLY1305:PSK-AES256-CCM8:PSK-AES256-CCM:"
	  "PSK-ARIA256-GCM-SHA384:RSA-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:"
	  "RSA-PSK-ARIA128-GCM-SHA256:DHE-PSK-ARIA128-GCM-SHA256:"
	  "AES128-GCM-SHA256:AES128-CCM8:AES128-CCM:ARIA128-GCM-SHA256:"
	  "PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:PSK-AES128-CCM:"
	  "PSK-ARIA128-GCM-SHA256:AES256-SHA256:CAMELLIA256-SHA256:"
	  "AES128-SHA256:CAMELLIA128-SHA256:ECDHE-PSK-AES256-CBC-SHA384:"
	  "ECDHE-PSK-AES256-CBC-SHA:SRP-DSS-AES-256-CBC-SHA:"
	  "SRP-RSA-AES-256-CBC-SHA:SRP-AES-256-CBC-SHA:"
	  "RSA-PSK-AES256-CBC-SHA384:DHE-PSK-AES256-CBC-SHA384:"
	  "RSA-PSK-AES256-CBC-SHA:DHE-PSK-AES256-CBC-SHA:"
	  "ECDHE-PSK-CAMELLIA256-SHA384:RSA-PSK-CAMELLIA256-SHA384:"
	  "DHE-PSK-CAMELLIA256-SHA384:AES256-SHA:CAMELLIA256-SHA:"
	  "PSK-AES256-CBC-SHA384:PSK-AES256-CBC-SHA:PSK-CAMELLIA256-SHA384:"
	  "ECDHE-PSK-AES128-CBC-SHA256:ECDHE-PSK-AES128-CBC-SHA:"
	  "SRP-DSS-AES-128-CBC-SHA:SRP-RSA-AES-128-CBC-SHA:"
	  "SRP-AES-128-CBC-SHA:RSA-PSK-AES128-CBC-SHA256:"
	  "DHE-PSK-AES128-CBC-SHA256:RSA-PSK-AES128-CBC-SHA:"
	  "DHE-PSK-AES128-CBC-SHA:ECDHE-PSK-CAMELLIA128-SHA256:"
	  "RSA-PSK-CAMELLIA128-SHA256:DHE-PSK-CAMELLIA128-SHA256:AES128-SHA:"
	  "CAMELLIA128-SHA:PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA:"
	  "PSK-CAMELLIA128-SHA256",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:"
	  "AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:"
	  "AES128-SHA" },
	/* '-' puts them first among the unselected */
	{ __LINE__, "ALL:-AES128:AES:@STRENGTH",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-CCM8:"
	  "ECDHE-ECDSA-AES256-CCM:DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "DHE-DSS-ARIA256-GCM-SHA384:DHE-RSA-ARIA256-GCM-SHA384:"
	  "ADH-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:"
	  "DHE-DSS-AES256-SHA256:ECDHE-ECDSA-CAMELLIA256-SHA384:"
	  "ECDHE-RSA-CAMELLIA256-SHA384:DHE-RSA-CAMELLIA256-SHA256:"
	  "DHE-DSS-CAMELLIA256-SHA256:ADH-AES256-SHA256:"
	  "ADH-CAMELLIA256-SHA256:ECDHE-ECDSA-AES256-SHA:"
	  "ECDHE-RSA-AES256-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:"
	  "DHE-RSA-CAMELLIA256-SHA:DHE-DSS-CAMELLIA256-SHA:AECDH-AES256-SHA:"
	  "ADH-AES256-SHA:ADH-CAMELLIA256-SHA:RSA-PSK-AES256-GCM-SHA384:"
	  "DHE-PSK-AES256-GCM-SHA384:RSA-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-AES256-CCM8:DHE-PSK-AES256-CCM:RSA-PSK-ARIA256-GCM-SHA384:"
	  "DHE-PSK-ARIA256-GCM-SHA384:AES256-GCM-SHA384:AES256-CCM8:"
	  "AES256-CCM:ARIA256-GCM-SHA384:PSK-AES256-GCM-SHA384:"
	  "PSK-CHACHA20-POLY1305:PSK-AES256-CCM8:PSK-AES256-CCM:"
	  "PSK-ARIA256-GCM-SHA384:AES256-SHA256:CAMELLIA256-SHA256:"
	  "ECDHE-PSK-AES256-CBC-SHA384:ECDHE-PSK-AES256-CBC-SHA:"
	  "SRP-DSS-AES-256-CBC-SHA:SRP-RSA-AES-256-CBC-SHA:"
	  "SRP-AES-256-CBC-SHA:RSA-PSK-AES256-CBC-SHA384:"
	  "DHE-PSK-AES256-CBC-SHA384:RSA-PSK-AES256-CBC-SHA:"
	  "DHE-PSK-AES256-CBC-SHA:ECDHE-PSK-CAMELLIA256-SHA384:"
	  "RSA-PSK-CAMELLIA256-SHA384:DHE-PSK-CAMELLIA256-SHA384:AES256-SHA:"
	  "CAMELLIA256-SHA:PSK-AES256-CBC-SHA384:PSK-AES256-CBC-SHA:"
	  "PSK-CAMELLIA256-SHA384:ECDHE-ECDSA-ARIA128-GCM-SHA256:"
	  "ECDHE-ARIA128-GCM-SHA256:DHE-DSS-ARIA128-GCM-SHA256:"
	  "DHE-RSA-ARIA128-GCM-SHA256:ECDHE-ECDSA-CAMELLIA128-SHA256:"
	  "ECDHE-RSA-CAMELLIA128-SHA256:DHE-RSA-CAMELLIA128-SHA256:"
	  "DHE-DSS-CAMELLIA128-SHA256:ADH-CAMELLIA128-SHA256:"
	  "DHE-RSA-CAMELLIA128-SHA:DHE-DSS-CAMELLIA128-SHA:"
	  "ADH-CAMELLIA128-SHA:RSA-PSK-ARIA128-GCM-SHA256:"
	  "DHE-PSK-ARIA128-GCM-SHA256:ARIA128-GCM-SHA256:"
	  "PSK-ARIA128-GCM-SHA256:CAMELLIA128-SHA256:"
	  "ECDHE-PSK-CAMELLIA128-SHA256:RSA-PSK-CAMELLIA128-SHA256:"
	  "DHE-PSK-CAMELLIA128-SHA256:CAMELLIA128-SHA:PSK-CAMELLIA128-SHA256:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "DHE-DSS-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:ADH-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA256:DHE-DSS-AES128-SHA256:ADH-AES128-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:"
	  "DHE-DSS-AES128-SHA:AECDH-AES128-SHA:ADH-AES128-SHA:"
	  "RSA-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:AES128-GCM-SHA256:"
	  "AES128-CCM8:AES128-CCM:PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:"
	  "PSK-AES128-CCM:AES128-SHA256:ECDHE-PSK-AES128-CBC-SHA256:"
	  "ECDHE-PSK-AES128-CBC-SHA:SRP-DSS-AES-128-CBC-SHA:"
	  "SRP-RSA-AES-128-CBC-SHA:SRP-AES-128-CBC-SHA:"
	  "RSA-PSK-AES128-CBC-SHA256:DHE-PSK-AES128-CBC-SHA256:"
	  "RSA-PSK-AES128-CBC-SHA:DHE-PSK-AES128-CBC-SHA:AES128-SHA:"
	  "PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:AES256-GCM-SHA384:"
	  "AES256-SHA256:AES256-SHA:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:"
	  "ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256:AES128-SHA256:AES128-SHA" },
	{ __LINE__, "ECDHE:-ECDSA:ECDSA",
	  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ARIA256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ARIA128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-RSA-CAMELLIA256-SHA384:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-RSA-CAMELLIA128-SHA256:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-RSA-AES128-SHA:ECDHE-RSA-NULL-SHA:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES256-CCM8:ECDHE-ECDSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-ECDSA-CAMELLIA256-SHA384:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-ECDSA-CAMELLIA128-SHA256:ECDHE-ECDSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-NULL-SHA",
	  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA" },
	{ __LINE__, "DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:"
	    "!PSK",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
	  "ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "DHE-RSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
	  "DHE-RSA-AES128-SHA:AES256-GCM-SHA384:AES128-GCM-SHA256:"
	  "AES256-SHA256:AES128-SHA256:AES256-SHA:AES128-SHA",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:"
	  "AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:"
	  "AES128-SHA" },
	/* a version alias is part of the pattern */
	{ __LINE__, "TLSv1.2+kRSA:SSLv3",
	  "AES256-GCM-SHA384:AES256-CCM8:AES256-CCM:ARIA256-GCM-SHA384:"
	  "AES128-GCM-SHA256:AES128-CCM8:AES128-CCM:ARIA128-GCM-SHA256:"
	  "AES256-SHA256:CAMELLIA256-SHA256:AES128-SHA256:CAMELLIA128-SHA256:"
	  "NULL-SHA256:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:"
	  "DHE-RSA-CAMELLIA256-SHA:DHE-DSS-CAMELLIA256-SHA:ADH-AES256-SHA:"
	  "ADH-CAMELLIA256-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:"
	  "DHE-RSA-CAMELLIA128-SHA:DHE-DSS-CAMELLIA128-SHA:ADH-AES128-SHA:"
	  "ADH-CAMELLIA128-SHA:SRP-DSS-AES-256-CBC-SHA:"
	  "SRP-RSA-AES-256-CBC-SHA:SRP-AES-256-CBC-SHA:"
	  "RSA-PSK-AES256-CBC-SHA:DHE-PSK-AES256-CBC-SHA:AES256-SHA:"
	  "CAMELLIA256-SHA:PSK-AES256-CBC-SHA:SRP-DSS-AES-128-CBC-SHA:"
	  "SRP-RSA-AES-128-CBC-SHA:SRP-AES-128-CBC-SHA:"
	  "RSA-PSK-AES128-CBC-SHA:DHE-PSK-AES128-CBC-SHA:AES128-SHA:"
	  "CAMELLIA128-SHA:PSK-AES128-CBC-SHA:RSA-PSK-NULL-SHA:"
	  "DHE-PSK-NULL-SHA:NULL-SHA:NULL-MD5:PSK-NULL-SHA",
	  "AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:"
	  "AES256-SHA:AES128-SHA" },
	{ __LINE__, "COMPLEMENTOFDEFAULT",
	  "DHE-DSS-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-CCM8:"
	  "ECDHE-ECDSA-AES256-CCM:DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "DHE-DSS-ARIA256-GCM-SHA384:DHE-RSA-ARIA256-GCM-SHA384:"
	  "ADH-AES256-GCM-SHA384:DHE-DSS-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:"
	  "DHE-DSS-ARIA128-GCM-SHA256:DHE-RSA-ARIA128-GCM-SHA256:"
	  "ADH-AES128-GCM-SHA256:DHE-DSS-AES256-SHA256:"
	  "ECDHE-ECDSA-CAMELLIA256-SHA384:ECDHE-RSA-CAMELLIA256-SHA384:"
	  "DHE-RSA-CAMELLIA256-SHA256:DHE-DSS-CAMELLIA256-SHA256:"
	  "ADH-AES256-SHA256:ADH-CAMELLIA256-SHA256:DHE-DSS-AES128-SHA256:"
	  "ECDHE-ECDSA-CAMELLIA128-SHA256:ECDHE-RSA-CAMELLIA128-SHA256:"
	  "DHE-RSA-CAMELLIA128-SHA256:DHE-DSS-CAMELLIA128-SHA256:"
	  "ADH-AES128-SHA256:ADH-CAMELLIA128-SHA256:DHE-DSS-AES256-SHA:"
	  "DHE-RSA-CAMELLIA256-SHA:DHE-DSS-CAMELLIA256-SHA:AECDH-AES256-SHA:"
	  "ADH-AES256-SHA:ADH-CAMELLIA256-SHA:DHE-DSS-AES128-SHA:"
	  "DHE-RSA-CAMELLIA128-SHA:DHE-DSS-CAMELLIA128-SHA:AECDH-AES128-SHA:"
	  "ADH-AES128-SHA:ADH-CAMELLIA128-SHA:DHE-PSK-AES256-CCM8:"
	  "DHE-PSK-AES256-CCM:RSA-PSK-ARIA256-GCM-SHA384:"
	  "DHE-PSK-ARIA256-GCM-SHA384:AES256-CCM8:AES256-CCM:"
	  "ARIA256-GCM-SHA384:PSK-AES256-CCM8:PSK-AES256-CCM:"
	  "PSK-ARIA256-GCM-SHA384:DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:"
	  "RSA-PSK-ARIA128-GCM-SHA256:DHE-PSK-ARIA128-GCM-SHA256:AES128-CCM8:"
	  "AES128-CCM:ARIA128-GCM-SHA256:PSK-AES128-CCM8:PSK-AES128-CCM:"
	  "PSK-ARIA128-GCM-SHA256:CAMELLIA256-SHA256:CAMELLIA128-SHA256:"
	  "SRP-DSS-AES-256-CBC-SHA:ECDHE-PSK-CAMELLIA256-SHA384:"
	  "RSA-PSK-CAMELLIA256-SHA384:DHE-PSK-CAMELLIA256-SHA384:"
	  "CAMELLIA256-SHA:PSK-CAMELLIA256-SHA384:SRP-DSS-AES-128-CBC-SHA:"
	  "ECDHE-PSK-CAMELLIA128-SHA256:RSA-PSK-CAMELLIA128-SHA256:"
	  "DHE-PSK-CAMELLIA128-SHA256:CAMELLIA128-SHA:PSK-CAMELLIA128-SHA256",
	  "" },
	/* Suite B replaces the list */
	{ __LINE__, "SUITEB128:AES",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384" },
	/* security level 3: forward secrecy */
	{ __LINE__, "ALL:@SECLEVEL=3",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-CCM8:"
	  "ECDHE-ECDSA-AES256-CCM:DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:"
	  "ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ARIA256-GCM-SHA384:"
	  "DHE-DSS-ARIA256-GCM-SHA384:DHE-RSA-ARIA256-GCM-SHA384:"
	  "ADH-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
	  "ECDHE-RSA-AES128-GCM-SHA256:DHE-DSS-AES128-GCM-SHA256:"
	  "DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-CCM8:"
	  "ECDHE-ECDSA-AES128-CCM:DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:"
	  "ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:"
	  "DHE-DSS-ARIA128-GCM-SHA256:DHE-RSA-ARIA128-GCM-SHA256:"
	  "ADH-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:"
	  "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:"
	  "DHE-DSS-AES256-SHA256:ECDHE-ECDSA-CAMELLIA256-SHA384:"
	  "ECDHE-RSA-CAMELLIA256-SHA384:DHE-RSA-CAMELLIA256-SHA256:"
	  "DHE-DSS-CAMELLIA256-SHA256:ADH-AES256-SHA256:"
	  "ADH-CAMELLIA256-SHA256:ECDHE-ECDSA-AES128-SHA256:"
	  "ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:"
	  "DHE-DSS-AES128-SHA256:ECDHE-ECDSA-CAMELLIA128-SHA256:"
	  "ECDHE-RSA-CAMELLIA128-SHA256:DHE-RSA-CAMELLIA128-SHA256:"
	  "DHE-DSS-CAMELLIA128-SHA256:ADH-AES128-SHA256:"
	  "ADH-CAMELLIA128-SHA256:ECDHE-ECDSA-AES256-SHA:"
	  "ECDHE-RSA-AES256-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:"
	  "DHE-RSA-CAMELLIA256-SHA:DHE-DSS-CAMELLIA256-SHA:AECDH-AES256-SHA:"
	  "ADH-AES256-SHA:ADH-CAMELLIA256-SHA:ECDHE-ECDSA-AES128-SHA:"
	  "ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:"
	  "DHE-RSA-CAMELLIA128-SHA:DHE-DSS-CAMELLIA128-SHA:AECDH-AES128-SHA:"
	  "ADH-AES128-SHA:ADH-CAMELLIA128-SHA:RSA-PSK-AES256-GCM-SHA384:"
	  "DHE-PSK-AES256-GCM-SHA384:RSA-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305:"
	  "DHE-PSK-AES256-CCM8:DHE-PSK-AES256-CCM:RSA-PSK-ARIA256-GCM-SHA384:"
	  "DHE-PSK-ARIA256-GCM-SHA384:AES256-GCM-SHA384:AES256-CCM8:"
	  "AES256-CCM:ARIA256-GCM-SHA384:PSK-AES256-GCM-SHA384:"
	  "PSK-CHACHA20-POLY1305:PSK-AES256-CCM8:PSK-AES256-CCM:"
	  "PSK-ARIA256-GCM-SHA384:RSA-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:"
	  "RSA-PSK-ARIA128-GCM-SHA256:DHE-PSK-ARIA128-GCM-SHA256:"
	  "AES128-GCM-SHA256:AES128-CCM8:AES128-CCM:ARIA128-GCM-SHA256:"
	  "PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:PSK-AES128-CCM:"
	  "PSK-ARIA128-GCM-SHA256:AES256-SHA256:CAMELLIA256-SHA256:"
	  "AES128-SHA256:CAMELLIA128-SHA256:ECDHE-PSK-AES256-CBC-SHA384:"
	  "ECDHE-PSK-AES256-CBC-SHA:SRP-DSS-AES-256-CBC-SHA:"
	  "SRP-RSA-AES-256-CBC-SHA:SRP-AES-256-CBC-SHA:"
	  "RSA-PSK-AES256-CBC-SHA384:DHE-PSK-AES256-CBC-SHA384:"
	  "RSA-PSK-AES256-CBC-SHA:DHE-PSK-AES256-CBC-SHA:"
	  "ECDHE-PSK-CAMELLIA256-SHA384:RSA-PSK-CAMELLIA256-SHA384:"
	  "DHE-PSK-CAMELLIA256-SHA384:AES256-SHA:CAMELLIA256-SHA:"
	  "PSK-AES256-CBC-SHA384:PSK-AES256-CBC-SHA:PSK-CAMELLIA256-SHA384:"
	  "ECDHE-PSK-AES128-CBC-SHA256:ECDHE-PSK-AES128-CBC-SHA:"
	  "SRP-DSS-AES-128-CBC-SHA:SRP-RSA-AES-128-CBC-SHA:"
	  "SRP-AES-128-CBC-SHA:RSA-PSK-AES128-CBC-SHA256:"
	  "DHE-PSK-AES128-CBC-SHA256:RSA-PSK-AES128-CBC-SHA:"
	  "DHE-PSK-AES128-CBC-SHA:ECDHE-PSK-CAMELLIA128-SHA256:"
	  "RSA-PSK-CAMELLIA128-SHA256:DHE-PSK-CAMELLIA128-SHA256:AES128-SHA:"
	  "CAMELLIA128-SHA:PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA:"
	  "PSK-CAMELLIA128-SHA256",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA" },
	/* security level 4: no AES-128, no SHA-1 */
	{ __LINE__, "AES:@SECLEVEL=4",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "DHE-DSS-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES256-CCM8:ECDHE-ECDSA-AES256-CCM:"
	  "DHE-RSA-AES256-CCM8:DHE-RSA-AES256-CCM:ADH-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "DHE-DSS-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:ADH-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
	  "DHE-RSA-AES256-SHA256:DHE-DSS-AES256-SHA256:ADH-AES256-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA256:DHE-DSS-AES128-SHA256:ADH-AES128-SHA256:"
	  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES256-SHA:"
	  "DHE-DSS-AES256-SHA:AECDH-AES256-SHA:ADH-AES256-SHA:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:"
	  "DHE-DSS-AES128-SHA:AECDH-AES128-SHA:ADH-AES128-SHA:"
	  "RSA-PSK-AES256-GCM-SHA384:DHE-PSK-AES256-GCM-SHA384:"
	  "DHE-PSK-AES256-CCM8:DHE-PSK-AES256-CCM:AES256-GCM-SHA384:"
	  "AES256-CCM8:AES256-CCM:PSK-AES256-GCM-SHA384:PSK-AES256-CCM8:"
	  "PSK-AES256-CCM:RSA-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:"
	  "AES128-GCM-SHA256:AES128-CCM8:AES128-CCM:PSK-AES128-GCM-SHA256:"
	  "PSK-AES128-CCM8:PSK-AES128-CCM:AES256-SHA256:AES128-SHA256:"
	  "ECDHE-PSK-AES256-CBC-SHA384:ECDHE-PSK-AES256-CBC-SHA:"
	  "SRP-DSS-AES-256-CBC-SHA:SRP-RSA-AES-256-CBC-SHA:"
	  "SRP-AES-256-CBC-SHA:RSA-PSK-AES256-CBC-SHA384:"
	  "DHE-PSK-AES256-CBC-SHA384:RSA-PSK-AES256-CBC-SHA:"
	  "DHE-PSK-AES256-CBC-SHA:AES256-SHA:PSK-AES256-CBC-SHA384:"
	  "PSK-AES256-CBC-SHA:ECDHE-PSK-AES128-CBC-SHA256:"
	  "ECDHE-PSK-AES128-CBC-SHA:SRP-DSS-AES-128-CBC-SHA:"
	  "SRP-RSA-AES-128-CBC-SHA:SRP-AES-128-CBC-SHA:"
	  "RSA-PSK-AES128-CBC-SHA256:DHE-PSK-AES128-CBC-SHA256:"
	  "RSA-PSK-AES128-CBC-SHA:DHE-PSK-AES128-CBC-SHA:AES128-SHA:"
	  "PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA",
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384" },
	/* nothing BearSSL may use at level 4 */
	{ __LINE__, "AES128:@SECLEVEL=4",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "DHE-DSS-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:ADH-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA256:DHE-DSS-AES128-SHA256:ADH-AES128-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:"
	  "DHE-DSS-AES128-SHA:AECDH-AES128-SHA:ADH-AES128-SHA:"
	  "RSA-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:AES128-GCM-SHA256:"
	  "AES128-CCM8:AES128-CCM:PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:"
	  "PSK-AES128-CCM:AES128-SHA256:ECDHE-PSK-AES128-CBC-SHA256:"
	  "ECDHE-PSK-AES128-CBC-SHA:SRP-DSS-AES-128-CBC-SHA:"
	  "SRP-RSA-AES-128-CBC-SHA:SRP-AES-128-CBC-SHA:"
	  "RSA-PSK-AES128-CBC-SHA256:DHE-PSK-AES128-CBC-SHA256:"
	  "RSA-PSK-AES128-CBC-SHA:DHE-PSK-AES128-CBC-SHA:AES128-SHA:"
	  "PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA",
	  "" },
	/* AES128-SHA and AES128!SHA1 are two rules */
	{ __LINE__, "AES128!SHA1",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "DHE-DSS-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
	  "DHE-RSA-AES128-CCM8:DHE-RSA-AES128-CCM:ADH-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "DHE-RSA-AES128-SHA256:DHE-DSS-AES128-SHA256:ADH-AES128-SHA256:"
	  "RSA-PSK-AES128-GCM-SHA256:DHE-PSK-AES128-GCM-SHA256:"
	  "DHE-PSK-AES128-CCM8:DHE-PSK-AES128-CCM:AES128-GCM-SHA256:"
	  "AES128-CCM8:AES128-CCM:PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:"
	  "PSK-AES128-CCM:AES128-SHA256:ECDHE-PSK-AES128-CBC-SHA256:"
	  "RSA-PSK-AES128-CBC-SHA256:DHE-PSK-AES128-CBC-SHA256:"
	  "PSK-AES128-CBC-SHA256",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
	  "AES128-GCM-SHA256:AES128-SHA256" },
	/* an unknown word is skipped */
	{ __LINE__, "FOO:ECDHE-RSA-AES128-GCM-SHA256+FOO:AES256-SHA",
	  "AES256-SHA",
	  "AES256-SHA" },
	/* separators ' ' ',' ';' */
	{ __LINE__, ""
	    "ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-RSA-AES128-GCM-SHA256,kRSA+AESGCM;+AES256",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "AES128-GCM-SHA256:AES256-GCM-SHA384",
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "AES128-GCM-SHA256:AES256-GCM-SHA384" },
	/* refused: nothing selected */
	{ __LINE__, "!ALL",
	  NULL,
	  NULL },
	/* refused: '_' (TLS 1.3 names) */
	{ __LINE__, "TLS_AES_128_GCM_SHA256",
	  NULL,
	  NULL },
	/* refused: a bad character */
	{ __LINE__, "HIGH:#",
	  NULL,
	  NULL },
	/* refused: unknown command */
	{ __LINE__, "HIGH:@FOO",
	  NULL,
	  NULL },
	/* refused: a missing name */
	{ __LINE__, "AES+",
	  NULL,
	  NULL },
};

/* Names of suites (table indexes), ':'-joined. */
static void
ciph_join(const unsigned char *idx, int n, char *out, size_t len)
{
	char nm[64];
	size_t k = 0;
	int i;

	out[0] = 0;
	for (i = 0; i < n && k < len; i++)
		k += (size_t)snprintf(out + k, len - k, "%s%s", i ? ":" : "",
		    ciph_name(idx[i], nm, sizeof(nm)));
}

/* b[0..nb) is a subsequence of a[0..na) */
static int
is_subseq(const unsigned char *b, int nb, const unsigned char *a, int na)
{
	int i, j = 0;

	for (i = 0; i < na && j < nb; i++)
		if (a[i] == b[j])
			j++;
	return j == nb;
}

static void
test_cipher_lists(void)
{
	static char got[8192];
	struct ciph_sel s;
	size_t i;
	int r;

	for (i = 0; i < sizeof(ciph_tests) / sizeof(ciph_tests[0]); i++) {
		const char *ctx = ciph_tests[i].list;

		r = ciph_select(ciph_tests[i].list, &s);
		if (ciph_tests[i].all == NULL) {
			EQI_AT(__FILE__, ciph_tests[i].line, r, -1, ctx);
			report(s.err[0] != 0, __FILE__, ciph_tests[i].line,
			    "%s: no error text", ctx);
			continue;
		}
		EQI_AT(__FILE__, ciph_tests[i].line, r, s.nbear, ctx);
		ciph_join(s.all, s.nall, got, sizeof(got));
		eq_str(__FILE__, ciph_tests[i].line, ctx, "OpenSSL's selection", got,
		    ciph_tests[i].all);
		ciph_join(s.bear, s.nbear, got, sizeof(got));
		eq_str(__FILE__, ciph_tests[i].line, ctx, "BearSSL's part", got,
		    ciph_tests[i].bear);
		report(is_subseq(s.bear, s.nbear, s.all, s.nall), __FILE__,
		    ciph_tests[i].line, "%s: BearSSL's part out of order", ctx);
		report(r > 0 || s.err[0], __FILE__, ciph_tests[i].line,
		    "%s: nothing usable and no error text", ctx);
	}
}

/* Curve lists as OpenSSL 3.0 reads them (checked against haproxy -c by
 * test_tls.py): BearSSL's curves in order, others skipped, errors. */
static void
test_cipher_curves(void)
{
	static const struct {
		int		 line;
		const char	*list;
		int		 n;
		const char	*ids, *warn;	/* ids: as bytes */
	} t[] = {
		{ __LINE__, "X25519:P-256", 2, "\x1d\x17", "" },
		{ __LINE__, "secp384r1:prime256v1:secp521r1:x25519", 4, "\x18\x17\x19\x1d", "" },
		{ __LINE__, "X448:P-384:brainpoolP512r1:K-163:sect571r1", 1, "\x18",
		  "X448, brainpoolP512r1, K-163, sect571r1" },
		{ __LINE__, "P-256:secp256r1", -1, "", "" },		/* the same curve */
		{ __LINE__, "p-256", -1, "", "" },		/* case matters */
		{ __LINE__, "K-239", -1, "", "" },
		{ __LINE__, "X25519:", -1, "", "" },
		{ __LINE__, ":X25519", -1, "", "" },
		{ __LINE__, "", -1, "", "" },
		{ __LINE__, "ffdhe2048", -1, "", "ffdhe2048" },	/* nothing left */
	};
	struct ciph_curves c;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = ciph_curves(t[i].list, &c);

		report(r == t[i].n, __FILE__, t[i].line, "'%s': %d curves, want %d",
		    t[i].list, r, t[i].n);
		if (r > 0)
			report(memcmp(c.ids, t[i].ids, (size_t)r) == 0, __FILE__,
			    t[i].line, "'%s': ids", t[i].list);
		else
			report(c.err[0] != 0, __FILE__, t[i].line, "'%s': no error text",
			    t[i].list);
		report(strcmp(c.warn, t[i].warn) == 0, __FILE__, t[i].line,
		    "'%s': warn '%s', want '%s'", t[i].list, c.warn, t[i].warn);
	}
}

/* The BearSSL ids of the suites waxlb runs, the messages. */
static void
test_cipher_ids(void)
{
	static const struct {
		const char	*name;
		unsigned	 id;
	} t[] = {
		{ "ECDHE-ECDSA-AES128-GCM-SHA256", BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 },
		{ "ECDHE-RSA-AES128-GCM-SHA256", BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 },
		{ "ECDHE-ECDSA-AES256-GCM-SHA384", BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 },
		{ "ECDHE-RSA-AES256-GCM-SHA384", BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 },
		{ "ECDHE-ECDSA-CHACHA20-POLY1305",
		    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 },
		{ "ECDHE-RSA-CHACHA20-POLY1305", BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 },
		{ "ECDHE-ECDSA-AES128-SHA256", BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 },
		{ "ECDHE-RSA-AES128-SHA256", BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 },
		{ "ECDHE-ECDSA-AES256-SHA384", BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384 },
		{ "ECDHE-RSA-AES256-SHA384", BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 },
		{ "ECDHE-ECDSA-AES128-SHA", BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA },
		{ "ECDHE-RSA-AES128-SHA", BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA },
		{ "ECDHE-ECDSA-AES256-SHA", BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA },
		{ "ECDHE-RSA-AES256-SHA", BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA },
		{ "AES128-GCM-SHA256", BR_TLS_RSA_WITH_AES_128_GCM_SHA256 },
		{ "AES256-GCM-SHA384", BR_TLS_RSA_WITH_AES_256_GCM_SHA384 },
		{ "AES128-SHA256", BR_TLS_RSA_WITH_AES_128_CBC_SHA256 },
		{ "AES256-SHA256", BR_TLS_RSA_WITH_AES_256_CBC_SHA256 },
		{ "AES128-SHA", BR_TLS_RSA_WITH_AES_128_CBC_SHA },
		{ "AES256-SHA", BR_TLS_RSA_WITH_AES_256_CBC_SHA },
	};
	struct ciph_sel s;
	char bad[48];
	size_t i;
	int n = 0;

	for (i = 0; i < CIPH_COUNT; i++)
		n += ciph_bear((int)i);
	EQI(n, CIPH_BEAR_MAX, "suites marked BearSSL's");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		EQI(ciph_select(t[i].name, &s), 1, t[i].name);
		EQI(ciph_id(s.bear[0]), t[i].id, t[i].name);
		EQS(s.warn, "", t[i].name);
		EQS(ciph_id_name(t[i].id), t[i].name, "ciph_id_name");
	}
	EQI(ciph_id_name(0x0067) == NULL, 1, "not BearSSL's: no name");
	/* the guide's string: quiet, AES-256-GCM first as in HAProxy */
	ciph_select(ciph_tests[0].list, &s);
	EQI(ciph_id(s.bear[0]), BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "guide");
	EQI(ciph_id(s.bear[1]), BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "guide");
	EQS(s.warn, "", "guide");
	/* named in full and not in BearSSL: one warning */
	ciph_select("ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:FOO", &s);
	EQS(s.warn, "unknown to OpenSSL, ignored: 'FOO'; DHE-RSA-AES128-GCM-SHA256 "
	    "not in BearSSL, skipped", "named");
	EQI(ciph_select("DHE-RSA-AES128-GCM-SHA256:CAMELLIA128-SHA", &s), 0, "none");
	EQS(s.err, "it selects only DHE-RSA-AES128-GCM-SHA256, CAMELLIA128-SHA "
	    "(not in BearSSL)", "none");
	EQI(ciph_select("kRSA:@SECLEVEL=3", &s), 0, "seclevel");
	CHECK(strstr(s.err, "below @SECLEVEL=3") != NULL, "seclevel: %s", s.err);
	EQI(ciph_select("TLS_AES_128_GCM_SHA256", &s), -1, "tls13 name");
	EQI(ciph_select("ECDHE+AESGCM:TLS_AES_128_GCM_SHA256", &s), 4, "tls13 name after");
	EQI(ciph_select("ALL:_", &s), -1, "underscore");
	CHECK(strstr(s.err, "ciphersuites") != NULL, "underscore: %s", s.err);
	EQI(ciph_suites13("TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256", bad,
	    sizeof(bad)), 0, "suites13");
	EQI(ciph_suites13("", bad, sizeof(bad)), 0, "suites13 empty");
	EQI(ciph_suites13("TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256", bad,
	    sizeof(bad)), -1, "suites13 bad");
	EQS(bad, "ECDHE-RSA-AES128-GCM-SHA256", "suites13 bad");
}

/* test/unit --ciphers LIST...: waxlb's selection for each list, as
 * test/test_ciphers.py compares it with `openssl ciphers -V`: one line of
 * "0xHH,0xHH/NAME" words (or "refused"), then one of BearSSL's names. */
static int
print_ciphers(int n, char **lists)
{
	struct ciph_sel s;
	char nm[64];
	int i, k;

	for (i = 0; i < n; i++) {
		if (ciph_select(lists[i], &s) < 0) {
			printf("refused\n\n");
			continue;
		}
		for (k = 0; k < s.nall; k++)
			printf("%s0x%02X,0x%02X/%s", k ? " " : "", ciph_id(s.all[k]) >> 8,
			    ciph_id(s.all[k]) & 0xff, ciph_name(s.all[k], nm, sizeof(nm)));
		printf("\n");
		for (k = 0; k < s.nbear; k++)
			printf("%s%s", k ? ":" : "", ciph_name(s.bear[k], nm, sizeof(nm)));
		printf("\n");
	}
	return 0;
}

/* ------------------------------------------------------------------ */

/* http_auth(): the verdict cache bounds the hashes a flood costs, and
 * log-format strings render as HAProxy's. */
static void
test_auth_cache(void)
{
	static const char text[] =
	    "userlist u\n    user alice password $6$saltsalt$fxtrgNr0//Ip0B6ss2a/TCLvMdsw5N"
	    "x6dknvHShinRxCFbPDFOF1FjlGij8xWCb0jfJjN/ydBgMw3Go6NrTo21\n"
	    "frontend f\n    mode http\n    bind :80\n    acl ok http_auth(u)\n"
	    "    use_backend b if ok\nbackend b\n    mode http\n";
	char *msg, req[256], cred[64], b64[128];
	struct config *c = cfg_parse(text, &msg);
	struct proxy *fe = c ? cfg_find_proxy(c, "f", CAP_FE) : NULL;
	struct tctx x;
	uint64_t h0;
	int i, ok = 0;

	CHECK(fe != NULL, "userlist config rejected: %s", msg);
	free(msg);
	if (fe == NULL) {
		cfg_free(c);
		return;
	}
	h0 = auth_hash_count();
	for (i = 0; i < 1000; i++) {	/* a flood with the right password */
		u_b64_encode((const unsigned char *)"alice:alicepw", 13, b64, sizeof(b64));
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n",
		    b64);
		mk_ctx(&x, req, NULL);
		ok += acl_cond_exec(fe->rules->cond, &x.ctx);
	}
	EQI(ok, 1000, "right password accepted");
	EQI((int)(auth_hash_count() - h0), 1, "one hash for 1000 requests");
	h0 = auth_hash_count();
	for (i = 0; i < 300; i++) {	/* 300 different wrong ones: 300 hashes */
		snprintf(cred, sizeof(cred), "alice:wrong%d", i);
		u_b64_encode((const unsigned char *)cred, strlen(cred), b64, sizeof(b64));
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n",
		    b64);
		mk_ctx(&x, req, NULL);
		CHECK(!acl_cond_exec(fe->rules->cond, &x.ctx), "wrong password %d accepted", i);
	}
	EQI((int)(auth_hash_count() - h0), 300, "a hash per distinct wrong password");
	cfg_free(c);
}

static void
test_lf_render(void)
{
	static const struct {
		int		 line, log;
		const char	*fmt, *want;
	} t[] = {
		{ __LINE__, 0, "%[req.hdr(host),lower]", "wax.example" },
		{ __LINE__, 0, "a%%b %[path] %[query]", "a%b /p q=1" },
		{ __LINE__, 0, "%[hdr(x-n),field(2,:)]|%[hdr(x-n),word(3,:)]", "b|c" },
		{ __LINE__, 0, "%[url_param(q)] %[req.cook(sid)] %[src]", "1 s1 192.0.2.1" },
		{ __LINE__, 0, "%[hdr(x-crlf),url_dec]", "a%0D%0Ab" },
		{ __LINE__, 1, "%{+Q}[hdr(x-q)] %{+Q,+E}[hdr(x-q)]", "\"say \"hi\"\" \"say \\\"hi\\\"\"" },
		{ __LINE__, 1, "%[hdr(nothere)]  x   %[hdr(nothere)]", "- x -" },
		{ __LINE__, 1, "%{+X}ci:%{+X}cp %ci", "C0000201:0000 192.0.2.1" },
		{ __LINE__, 1, "%HM %HV %HU", "<BADREQ> <BADREQ> <BADREQ>" },
		{ __LINE__, 0, "%[path,regsub(^/,x,)]%[hdr(x-n),length]", "xp5" },
		{ __LINE__, 0, "%[str(abc),hex] %[str(abc),base64] %[str(ab?c),ub64enc]", "616263 YWJj YWI_Yw" },
		{ __LINE__, 0, "%[hdr(x-n),bytes(1,2)] %[str(x),upper]", ":b X" },
	};
	char out[256];
	struct tctx x;
	size_t i;
	int n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mk_ctx(&x, "GET /p?q=1 HTTP/1.1\r\nHost: WAX.example\r\nX-N: a:b:c\r\n"
		    "Cookie: a=1; sid=s1\r\nX-Q: say \"hi\"\r\nX-CRLF: a%0d%0ab\r\n\r\n",
		    "192.0.2.1");
		n = lf_test(t[i].fmt, t[i].log, &x.ctx, out, sizeof(out), stderr);
		report(n >= 0 && strcmp(out, t[i].want) == 0, __FILE__, t[i].line,
		    "%s -> [%s] (%d), want [%s]", t[i].fmt, n >= 0 ? out : "", n, t[i].want);
	}
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--ciphers") == 0)
		return print_ciphers(argc - 2, argv + 2);
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_parse_time();
	test_request_valid();
	test_request_flags();
	test_request_dups_ok();
	test_request_errors();
	test_response();
	test_chunked();
	test_chunk_canon();
	test_config_good();
	test_config_defaults();
	test_config_errors();
	test_config_warnings();
	test_tokenize_env();
	test_config_retry_reuse();
	test_config_errpages_all();
	test_acl_seed();
	test_acl_fetches();
	test_conditions();
	test_rr_order();
	test_rr_windows();
	test_rr_states();
	test_leastconn();
	test_first();
	test_auth_cache();
	test_lf_render();
	test_lb_reload();
	test_srv_unbind_three_configs();
	test_cipher_lists();
	test_cipher_ids();
	test_cipher_curves();
	printf("unit: %d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
