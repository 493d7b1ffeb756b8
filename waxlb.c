/*
 * waxlb - a small HAProxy-compatible load balancer for WAX (Antelope)
 * API and State-History nodes.
 *
 * One file, read top to bottom: modules in dependency order, each between
 * "begin NAME" and "end NAME" marker comments (grep "==== begin"), each
 * with one name prefix, its types and entry points at its top.  A module
 * calls only the modules above it; the loop calls back into the modules
 * that registered an fd, a timer, a task or a hook, and two hooks go the
 * other way on purpose (the status page service and TLS error logging are
 * reached through pointers the lower module is given).
 *
 *   log    log_   process messages, request-log buffer, syslog targets
 *   util   u_     allocation, arenas, error reporting, byte classes, number
 *                 and time parsing, lists, base64, randomness
 *   loop   loop_  the clock, the fd table and its poller, timers, the run
 *                 queue of tasks, before-sleep hooks
 *   net    net_   socket helpers returning errors as values, addresses
 *   buf    buf_   I/O buffer pool, kernel pipe pool, header scratch area
 *   h1     h1_    pure HTTP/1 parsers, chunked framing, head builders,
 *                 status texts and error pages
 *   json   json_  a bounded, validating JSON reader
 *   chain  chain_ nodeos get_info
 *   ws     ws_    websocket handshake and frame reader
 *   ship   ship_  State-History binary messages
 *   crt    crt_   certificates: PEM, keys, names, SNI matching
 *   auth   auth_  userlists: SHA-crypt and MD5-crypt, a verdict cache
 *   pat    pat_   patterns and match methods (str, beg, reg, ip, ranges...)
 *   smp    smp_   sample expressions: fetches and converters as tables,
 *                 maps, variables
 *   acl    acl_   ACLs on expressions and patterns, conditions
 *   lf     lf_    log-format strings: parsing, HAProxy's rendering
 *   rule   rule_  rules (a table of actions for http-request, http-response,
 *                 http-after-response, tcp-request), redirects, routing
 *   ciph   ciph_  OpenSSL cipher lists as OpenSSL 3.0 reads them, restricted
 *                 to BearSSL's suites
 *   lb     lb_    HAProxy's balancing algorithms behind struct lb_ops
 *   cfg    cfg_   tokenizer, keyword tables, proxies, servers, binds, TLS
 *                 settings, cross checks; the config is immutable once loaded
 *   srv    srv_   server and backend runtime state: slots, queues, idle
 *                 connection pools, operational state and its log lines
 *   xprt   xprt_  how a side moves bytes: plain sockets, splice, BearSSL
 *   sess   sess_  listeners and sessions: HTTP forwarding, tunnels, answers
 *                 made here, request logs
 *   chk    chk_   health checks: kinds as a table over one pipeline
 *   adm    adm_   runtime API (a command table), status page, CSV, metrics
 *   main   main_  signals, reload, start-up, privileges, command line
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "waxlb.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define CONTAINER(p, type, field) \
	((type *)(void *)((char *)(p) - offsetof(type, field)))

/*==== begin log ====*/
/*
 * Process messages ("[WARNING] (pid) : ...", as HAProxy prints them) on
 * stderr and to the running config's global log targets; request lines,
 * which are gathered and written once per loop turn; syslog targets (RFC
 * 3164 over UDP or a unix datagram socket, or the bare line on
 * stdout/stderr).  Sending never blocks: a full socket drops the line, as
 * syslog over UDP would.
 */

#define LOG_BUF_BYTES	65536		/* request lines waiting for write(2) */

static struct {
	int		 debug;		/* -d or "debug": DEBUG messages */
	int		 stderr_closed;	/* daemon mode, or stderr is /dev/null */
	const struct log_target *targets;	/* the running config's "log" */
	char		 buf[LOG_BUF_BYTES];
	size_t		 len;
	int		 fd1[3];	/* datagram sockets (inet, inet6, unix) + 1:
					 * 0 until opened, so the whole struct
					 * stays in .bss */
	time_t		 date_sec;	/* the request-log date, once a second */
	char		 date[64];
	const char	*tag;		/* the global log-tag; NULL: "waxlb" (the
					 * whole struct stays in .bss) */
	const char	*host;		/* log-send-hostname */
} log_rt;

/* Write what request lines are waiting. */
static void
log_flush(void)
{
	size_t off = 0;

	while (off < log_rt.len) {
		ssize_t n = write(2, log_rt.buf + off, log_rt.len - off);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;		/* a full pipe loses log lines, not service */
		}
		off += (size_t)n;
	}
	log_rt.len = 0;
}

/* Queue one line for stderr. */
static void
log_queue(const char *line)
{
	size_t n = strlen(line);

	if (n + 1 > sizeof(log_rt.buf) - log_rt.len)
		log_flush();
	if (n + 1 > sizeof(log_rt.buf))
		n = sizeof(log_rt.buf) - 1;
	memcpy(log_rt.buf + log_rt.len, line, n);
	log_rt.buf[log_rt.len + n] = '\n';
	log_rt.len += n + 1;
}

/* One datagram socket per address family serves every target. */
static int
log_sock(int family)
{
	int k = family == AF_INET ? 0 : family == AF_INET6 ? 1 : 2;

	if (log_rt.fd1[k] <= 0)
		log_rt.fd1[k] = socket(family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0) + 1;
	return log_rt.fd1[k] - 1;
}

/* The header HAProxy writes before a line in format <f>: priority,
 * timestamp, host, tag and pid as each format has them. */
static size_t
log_header(const struct log_target *t, int sev, const char *tag, const char *sd,
    char *out, size_t cap)
{
	int pri = t->facility * 8 + sev, n = 0;
	char date[40], iso[48], tz[8];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(date, sizeof(date), "%b %e %H:%M:%S", &tm);
	strftime(tz, sizeof(tz), "%z", &tm);	/* +hhmm, written +hh:mm */
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(iso + strlen(iso), sizeof(iso) - strlen(iso), ".%06ld%.3s:%.2s",
	    (long)tv.tv_usec, tz, tz + 3);
	switch (t->format) {
	case LOGF_DEFAULT:	/* HAProxy's unspecified format: rfc3164 with a
				 * hostname, its "local" without */
	case LOGF_RFC3164:
	case LOGF_LOCAL:
		n = snprintf(out, cap, "<%d>%s %s%s%s[%d]: ", pri, date,
		    t->format == LOGF_LOCAL ? "" : log_rt.host ? log_rt.host :
		    t->format == LOGF_RFC3164 ? "localhost" : "", t->format ==
		    LOGF_LOCAL || (!log_rt.host && t->format == LOGF_DEFAULT) ? "" : " ",
		    tag, (int)getpid());
		break;
	case LOGF_RFC5424:
		n = snprintf(out, cap, "<%d>1 %s %s %s %d - %s ", pri, iso,
		    log_rt.host ? log_rt.host : "-", tag, (int)getpid(),
		    sd && *sd ? sd : "-");
		break;
	case LOGF_PRIO:
		n = snprintf(out, cap, "<%d>", pri);
		break;
	case LOGF_SHORT:
		n = snprintf(out, cap, "<%d>", sev);
		break;
	case LOGF_TIMED:
		n = snprintf(out, cap, "<%d>%s ", sev, iso);
		break;
	case LOGF_ISO:
		n = snprintf(out, cap, "%s ", iso);
		break;
	case LOGF_RAW:
		break;
	}
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* One line to one target, at severity <sev> (0 emerg .. 7 debug), with
 * the syslog tag <tag> and the structured data <sd> (rfc5424 only; NULL:
 * "-"): framed as the target's format, LF-terminated as HAProxy sends
 * it, cut at the target's "len". */
static void
log_send(const struct log_target *t, int sev, const char *tag, const char *sd,
    const char *msg)
{
	char buf[65536];
	size_t n;
	int fd;

	if (sev > t->level)
		return;
	if (t->kind == LOGT_STDERR && log_rt.stderr_closed)
		return;
	n = log_header(t, sev, tag, sd, buf, sizeof(buf) - 2);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n - 1, "%s", msg);
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	if (n + 1 > (size_t)t->maxlen)
		n = (size_t)t->maxlen - 1;
	buf[n++] = '\n';
	if (t->kind == LOGT_STDOUT || t->kind == LOGT_STDERR) {
		log_flush();
		(void)write(t->kind == LOGT_STDOUT ? 1 : 2, buf, n);
		return;
	}
	if ((fd = log_sock(t->addr.ss_family)) < 0)
		return;
	(void)sendto(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (const struct sockaddr *)&t->addr, t->addrlen);
}

/* A process message on stderr and to the global targets at <sev>. */
static void
log_msg(int sev, const char *tag, const char *fmt, ...)
{
	const struct log_target *t;
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "[%s] %*s(%d) : ", tag,
	    (int)(8 - strlen(tag)), "", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	log_flush();		/* keep the order of lines */
	if (!log_rt.stderr_closed)
		fprintf(stderr, "%s\n", line);
	for (t = log_rt.targets; t; t = t->next)
		if (t->kind != LOGT_STDERR || log_rt.stderr_closed)
			log_send(t, sev, log_rt.tag ? log_rt.tag : "waxlb", NULL, line + n);
}

#define log_alert(...)	log_msg(1, "ALERT", __VA_ARGS__)
#define log_warn(...)	log_msg(4, "WARNING", __VA_ARGS__)
#define log_notice(...)	log_msg(5, "NOTICE", __VA_ARGS__)
#define log_debug(...)	do { if (log_rt.debug) log_msg(7, "DEBUG", __VA_ARGS__); } while (0)

/* Does the frontend log anywhere but the stderr fallback? */
static int
log_has_targets(const struct proxy *fe)
{
	return fe->logs || (fe->log_global && log_rt.targets);
}

/* A request line goes to the frontend's log targets ("log global" and its
 * own "log" lines) at severity <sev>, with its log-format-sd part <sd>; a frontend without any logs to
 * stderr, so that a foreground waxlb shows its traffic. */
static void
log_request(const struct proxy *fe, int sev, const char *line, const char *sd)
{
	const struct log_target *t;
	const char *tag = fe->log_tag ? fe->log_tag : log_rt.tag ? log_rt.tag :
	    "waxlb";

	for (t = fe->logs; t; t = t->next)
		log_send(t, sev, tag, sd, line);
	if (fe->log_global)
		for (t = log_rt.targets; t; t = t->next)
			log_send(t, sev, log_rt.tag ? log_rt.tag : "waxlb", sd, line);
	if (!log_has_targets(fe) && !log_rt.stderr_closed)
		log_queue(line);
}

/* Whether a request line would go anywhere at all: nothing reads a stderr
 * that is /dev/null, so lines meant only for it are not even formatted. */
static int
log_wanted(const struct proxy *fe)
{
	return fe->logs || (fe->log_global && log_rt.targets) ||
	    !log_rt.stderr_closed;
}

static void
log_check_stderr(void)
{
	struct stat a, b;

	if (fstat(2, &a) == 0 && stat("/dev/null", &b) == 0 &&
	    S_ISCHR(a.st_mode) && a.st_rdev == b.st_rdev)
		log_rt.stderr_closed = 1;
}

/* The request-log date "%d/%b/%Y:%H:%M:%S", one localtime() a second. */
static const char *
log_date(const struct timeval *tv)
{
	struct tm tm;

	if (tv->tv_sec != log_rt.date_sec) {
		localtime_r(&tv->tv_sec, &tm);
		strftime(log_rt.date, sizeof(log_rt.date), "%d/%b/%Y:%H:%M:%S", &tm);
		log_rt.date_sec = tv->tv_sec;
	}
	return log_rt.date;
}

static void
log_set_debug(void)
{
	log_rt.debug = 1;
}

/* stderr went to /dev/null (daemon mode): nothing is written there. */
static void
log_detach_stderr(void)
{
	log_rt.stderr_closed = 1;
}

/* The running config's global "log" lines, tag and hostname. */
static void
log_set_targets(const struct log_target *t, const char *tag, const char *host)
{
	log_rt.targets = t;
	log_rt.tag = tag;
	log_rt.host = host;
}

/* Loop hook: request lines leave once per turn. */
static int64_t
log_hook(void)
{
	if (log_rt.len)
		log_flush();
	return -1;
}
/*==== end log ====*/

/*==== begin util ====*/
/*
 * Small helpers every module shares, one copy each: allocation that
 * cannot fail, arenas that free a whole configuration at once, the one
 * error/warning reporter ("file:line: message"), growing strings, byte
 * classes, case-insensitive views, list walking, line ends, integers,
 * times, base64, randomness and wiping.
 */

static void *
u_calloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL) {
		log_alert("out of memory");
		exit(1);
	}
	return p;
}

/* ---- arenas: everything of one configuration, freed together ---- */

/* A block carries an optional finaliser, for what needs more than free()
 * (compiled regexes, certificates). */
struct u_blk {
	struct u_blk	*next;
	void		(*fini)(void *);
	long long	 align[];
};

struct u_arena {
	struct u_blk	*blks;
};

static struct u_arena *
u_arena_new(void)
{
	return u_calloc(1, sizeof(struct u_arena));
}

static void *
u_alloc_fini(struct u_arena *a, size_t sz, void (*fini)(void *))
{
	struct u_blk *b = u_calloc(1, sizeof(*b) + sz);

	b->fini = fini;
	b->next = a->blks;
	a->blks = b;
	return b->align;
}

static void *
u_alloc(struct u_arena *a, size_t sz)
{
	return u_alloc_fini(a, sz, NULL);
}

static char *
u_strdup(struct u_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(u_alloc(a, n), s, n);
}

static char *
u_strndup(struct u_arena *a, const char *s, size_t n)
{
	char *p = u_alloc(a, n + 1);

	memcpy(p, s, n);
	return p;
}

static void
u_regfree(void *re)
{
	regfree(re);
}

/* A regex compiled into the arena (freed with it); NULL when invalid. */
static regex_t *
u_regcomp(struct u_arena *a, const char *pat, int flags)
{
	struct u_blk *b;
	regex_t *re = u_alloc(a, sizeof(*re));

	if (regcomp(re, pat, flags) != 0)
		return NULL;	/* the block stays, without a finaliser */
	b = CONTAINER(re, struct u_blk, align);
	b->fini = u_regfree;
	return re;
}

static void
u_arena_free(struct u_arena *a)
{
	struct u_blk *b, *nb;

	if (a == NULL)
		return;
	for (b = a->blks; b != NULL; b = nb) {
		nb = b->next;
		if (b->fini)
			b->fini(b->align);
		free(b);
	}
	free(a);
}

/* ---- the error and warning reporter ---- */

/* Where messages about one input go, and how many errors it had. */
struct u_err {
	FILE		*f;
	const char	*file;
	int		 line;
	int		 errors;
};

static void
u_report(struct u_err *e, int warn, const char *fmt, ...)
{
	va_list ap;

	fprintf(e->f, "%s:%d: %s", e->file, e->line, warn ? "warning: " : "");
	va_start(ap, fmt);
	vfprintf(e->f, fmt, ap);
	va_end(ap);
	fputc('\n', e->f);
	if (!warn)
		e->errors++;
}

#define u_err(e, ...)	u_report((e), 0, __VA_ARGS__)
#define u_warn(e, ...)	u_report((e), 1, __VA_ARGS__)

/* ---- growing strings, for text rendered off the data path ---- */

struct sbuf {
	char		*p;
	size_t		 len, cap;
};

static void
u_sbprintf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL) {
			log_alert("out of memory");
			exit(1);
		}
	}
}

/* ---- bytes and views ---- */

/* Byte classes: 1 = tchar (token), 2 = URI char, 4 = header value char. */
static unsigned char u_cclass[256];

static void
u_cclass_init(void)
{
	const char *tspecial = "!#$%&'*+-.^_`|~";
	int c;

	if (u_cclass['a'])
		return;
	for (c = 0; c < 256; c++) {
		unsigned char v = 0;

		if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
		    (c && strchr(tspecial, c)))
			v |= 1;
		if (c > 0x20 && c < 0x7f)
			v |= 2;
		if (c == '\t' || (c >= 0x20 && c != 0x7f))
			v |= 4;
		u_cclass[c] = v;
	}
}

#define U_TCHAR(c)	(u_cclass[(unsigned char)(c)] & 1)
#define U_URICHAR(c)	(u_cclass[(unsigned char)(c)] & 2)
#define U_VCHAR(c)	(u_cclass[(unsigned char)(c)] & 4)
#define U_DIGIT(c)	((unsigned)((unsigned char)(c) - (unsigned char)'0') < 10u)
#define U_OWS(c)	((c) == ' ' || (c) == '\t')

/* Locale-independent: protocol text is ASCII whatever the C locale. */
static int
u_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
u_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Does the view a[0..al) equal the string b, ignoring ASCII case? */
static int
u_ieq(const char *a, size_t al, const char *b)
{
	size_t i;

	for (i = 0; i < al; i++)
		if (b[i] == '\0' || u_lower((unsigned char)a[i]) !=
		    u_lower((unsigned char)b[i]))
			return 0;
	return b[al] == '\0';
}

/* The same for two NUL-terminated strings. */
static int
u_streq_nocase(const char *a, const char *b)
{
	return u_ieq(a, strlen(a), b);
}

/* Next element of a comma-separated list in [*p, end), blanks trimmed,
 * empty elements skipped.  Returns 0 at the end. */
static int
u_list_next(const char **p, const char *end, const char **el, size_t *ell)
{
	const char *s = *p, *e;

	while (s < end && (*s == ' ' || *s == '\t' || *s == ','))
		s++;
	if (s >= end)
		return 0;
	e = s;
	while (e < end && *e != ',')
		e++;
	*p = e;
	while (e > s && U_OWS(e[-1]))
		e--;
	*el = s;
	*ell = (size_t)(e - s);
	return 1;
}

/* Does the comma-separated list v[0..n) hold tok (case-insensitive)? */
static int
u_list_has(const char *v, size_t n, const char *tok)
{
	const char *el, *end = v + n;
	size_t ell;

	while (u_list_next(&v, end, &el, &ell))
		if (u_ieq(el, ell, tok))
			return 1;
	return 0;
}

/* The first line of p[0..len): a pointer to its '\n' (NULL when there is
 * none yet) and its length without the '\n' and a CR before it. */
static const char *
u_eol(const char *p, size_t len, size_t *linelen, int *bare_lf)
{
	const char *nl = memchr(p, '\n', len);
	size_t n;

	if (nl == NULL)
		return NULL;
	n = (size_t)(nl - p);
	if (n && p[n - 1] == '\r')
		n--;
	else if (bare_lf)
		*bare_lf = 1;
	*linelen = n;
	return nl;
}

/* Copy text meant for logs: at most cap-1 bytes, anything outside
 * printable ASCII becomes '?' so a peer cannot inject newlines or escapes
 * into a log, and the result is always NUL-terminated. */
static void
u_copy_printable(char *dst, size_t cap, const char *src, size_t n)
{
	size_t i;

	if (cap == 0)
		return;
	if (n > cap - 1)
		n = cap - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
}

/* ---- numbers and times ---- */

/* A whole string as a decimal integer in [lo, hi]. */
static int
u_parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (*s == 0)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Decimal digits s[0..n) (leading zeros allowed) up to max, or -1. */
static long
u_parse_dec(const char *s, size_t n, long max)
{
	long v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!U_DIGIT(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* Digits only, no sign, no leading zero (the JSON integer grammar), and no
 * overflow: "0012" or "1e3" for a block number means the peer is not nodeos. */
static int
u_parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (!U_DIGIT(s[i]))
			return -1;
		d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* 64 hexadecimal digits into 32 bytes. */
static int
u_parse_hex32(const char *s, unsigned char out[32])
{
	int i;

	if (strlen(s) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		int a = u_hexval(s[2 * i]), b = u_hexval(s[2 * i + 1]);

		if (a < 0 || b < 0)
			return -1;
		out[i] = (unsigned char)(a * 16 + b);
	}
	return 0;
}

int
u_parse_time(const char *s, unsigned *ms)
{
	static const struct { const char *unit; unsigned mul, div; } units[] = {
		{ "", 1, 1 }, { "ms", 1, 1 }, { "us", 1, 1000 }, { "s", 1000, 1 },
		{ "m", 60000, 1 }, { "h", 3600000, 1 }, { "d", 86400000, 1 },
	};
	unsigned long long v = 0, mul, div;
	const char *p = s;
	size_t k;

	if (!U_DIGIT(*p))
		return -1;
	while (U_DIGIT(*p)) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 0xffffffffULL * 1000)
			return -1;
		p++;
	}
	for (k = 0; k < NELEM(units) && strcmp(p, units[k].unit) != 0; k++)
		;
	if (k == NELEM(units))
		return -1;
	mul = units[k].mul;
	div = units[k].div;
	if (v > (unsigned long long)INT_MAX * div / mul + 1)
		return -1;
	v = (v * mul + div - 1) / div;
	if (v > INT_MAX)		/* HAProxy's timers are 31-bit */
		return -1;
	*ms = (unsigned)v;
	return 0;
}

/* ---- base64 ---- */

static const char u_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
u_b64_encode(const unsigned char *in, size_t len, char *out, size_t cap)
{
	size_t olen, i, o = 0;
	uint32_t v;

	/* keeps olen + 1 below INT_MAX, so the int result cannot overflow */
	if (len > (size_t)(INT_MAX / 4 - 1) * 3)
		return -1;
	olen = (len + 2) / 3 * 4;
	if (olen >= cap)
		return -1;
	for (i = 0; i < len; i += 3) {
		size_t left = len - i;

		v = (uint32_t)in[i] << 16;
		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = u_b64[v >> 18];
		out[o++] = u_b64[v >> 12 & 63];
		out[o++] = left > 1 ? u_b64[v >> 6 & 63] : '=';
		out[o++] = left > 2 ? u_b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

int
u_b64_decode(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0, i;
	unsigned acc = 0;
	int bits = 0;

	if (cap == 0)
		return -1;
	for (i = 0; i < len && in[i] != '='; i++) {
		const char *p = in[i] ? memchr(u_b64, in[i], 64) : NULL;

		if (p == NULL)
			return -1;
		acc = (acc << 6) | (unsigned)(p - u_b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= cap)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = 0;
	return (int)o;
}

/* ---- randomness and wiping ---- */

/* Fresh randomness from the kernel, with /dev/urandom as the only
 * fallback: without either the caller refuses what needed it. */
/* The wall clock, in milliseconds. */
static int64_t
u_wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int
u_random(void *buf, size_t len)
{
	unsigned char *seed = buf;
	size_t got = 0;
	int fd;

	while (got < len) {
		ssize_t r = getrandom(seed + got, len - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)r;
	}
	if (got == len)
		return 0;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	for (got = 0; fd >= 0 && got < len; ) {
		ssize_t r = read(fd, seed + got, len - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (fd >= 0)
		close(fd);
	return got == len ? 0 : -1;
}

/* Plain memset may be elided on memory about to be freed; the volatile
 * pointer keeps the wipe of key material. */
static void
u_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

#ifdef WAXLB_FORTIFY_SHIMS
/*
 * Debian builds libbearssl.a with _FORTIFY_SOURCE, so it calls glibc's
 * checked variants, which musl lacks. Same contract as glibc: the
 * compiler passed the destination's known size, overflow is fatal.
 */
void *__memcpy_chk(void *dst, const void *src, size_t n, size_t destlen);
void *__memmove_chk(void *dst, const void *src, size_t n, size_t destlen);
void *__memset_chk(void *dst, int ch, size_t n, size_t destlen);

void *
__memcpy_chk(void *dst, const void *src, size_t n, size_t destlen)
{
	if (n > destlen)
		abort();
	return memcpy(dst, src, n);
}

void *
__memmove_chk(void *dst, const void *src, size_t n, size_t destlen)
{
	if (n > destlen)
		abort();
	return memmove(dst, src, n);
}

void *
__memset_chk(void *dst, int ch, size_t n, size_t destlen)
{
	if (n > destlen)
		abort();
	return memset(dst, ch, n);
}
#endif
/*==== end util ====*/

/*==== begin loop ====*/
/*
 * The event loop (after redis ae.c): a table indexed by fd holding one
 * callback and its object; a poller behind four functions (poll() here);
 * timers; a run queue of tasks that stopped with work left; and
 * before-sleep hooks, each returning the next time it wants to run.
 *
 * Level-triggered: interest says what an fd's owner wants, the poller
 * reports what is ready.  A generation number per fd guards against
 * dispatching a stale event to an fd that was closed and reused during
 * the same round.  Nothing here knows what a session or a check is.
 */

typedef void (*loop_fd_cb)(void *obj, int fd, short revents);

struct loop_fd {
	loop_fd_cb	 cb;
	void		*obj;
	int		 pidx;		/* the poller's slot, -1 if unused */
	unsigned	 gen;
};

/* Something that stopped with work left and runs again next turn. */
struct loop_task {
	struct loop_task *next;
	int		 queued;
	void		(*run)(struct loop_task *t);
};

/* A deadline; <when> is -1 when disarmed. */
struct loop_timer {
	int64_t		 when;
	void		(*fire)(struct loop_timer *t);
	struct loop_timer *next, *prev;
};

typedef int64_t (*loop_hook_fn)(void);

struct loop_fired {
	int		 fd;
	unsigned	 gen;
	short		 revents;
};

#define LOOP_HOOKS_MAX	16
#define LOOP_WAIT_MAX_MS 60000		/* the longest single wait */

static struct {
	int64_t		 now;		/* monotonic ms, refreshed each turn */
	struct loop_fd	*fds;
	int		 nfds;		/* size of fds (the fd limit) */
	struct pollfd	*pfds;		/* the poll() backend: dense array */
	int		 npfds;
	struct loop_fired *fired;
	struct loop_task *tasks;
	struct loop_timer *timers;
	int64_t		 next_timer;	/* earliest armed timer, or -1 */
	loop_hook_fn	 hooks[LOOP_HOOKS_MAX];
	int		 nhooks;
	int		 stop, rc;
} loop_rt = { .next_timer = -1 };

static int64_t
loop_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
loop_now(void)
{
	return loop_rt.now;
}

/* ---- the poller: poll(2) over a dense array ---- */

static void
loop_poll_init(int maxfd)
{
	loop_rt.pfds = u_calloc((size_t)maxfd, sizeof(*loop_rt.pfds));
}

static void
loop_poll_add(int fd, short events)
{
	struct pollfd *p = &loop_rt.pfds[loop_rt.npfds];

	loop_rt.fds[fd].pidx = loop_rt.npfds++;
	p->fd = fd;
	p->events = events;
	p->revents = 0;
}

static void
loop_poll_mod(int fd, short events)
{
	loop_rt.pfds[loop_rt.fds[fd].pidx].events = events;
}

/* Swap-remove: the last slot takes the freed one. */
static void
loop_poll_del(int fd)
{
	struct loop_fd *e = &loop_rt.fds[fd];
	int last = loop_rt.npfds - 1;

	if (e->pidx != last) {
		loop_rt.pfds[e->pidx] = loop_rt.pfds[last];
		loop_rt.fds[loop_rt.pfds[last].fd].pidx = e->pidx;
	}
	loop_rt.npfds--;
}

/* Wait and collect what fired; returns the count or -1. */
static int
loop_poll_wait(int timeout)
{
	int n = poll(loop_rt.pfds, (nfds_t)loop_rt.npfds, timeout), i, nf = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (i = 0; n > 0 && i < loop_rt.npfds; i++) {
		struct pollfd *p = &loop_rt.pfds[i];

		if (p->revents == 0)
			continue;
		loop_rt.fired[nf].fd = p->fd;
		loop_rt.fired[nf].gen = loop_rt.fds[p->fd].gen;
		loop_rt.fired[nf].revents = p->revents;
		nf++;
		n--;
	}
	return nf;
}

/* ---- the fd table ---- */

static void
loop_init(int maxfd)
{
	int i;

	loop_rt.nfds = maxfd;
	loop_rt.fds = u_calloc((size_t)maxfd, sizeof(*loop_rt.fds));
	loop_rt.fired = u_calloc((size_t)maxfd, sizeof(*loop_rt.fired));
	for (i = 0; i < maxfd; i++)
		loop_rt.fds[i].pidx = -1;
	loop_poll_init(maxfd);
	loop_rt.now = loop_mono();
}

/* Can the table hold this fd?  (Larger ones are closed by their opener.) */
static int
loop_fd_fits(int fd)
{
	return fd >= 0 && fd < loop_rt.nfds;
}

static int
loop_fd_add(int fd, loop_fd_cb cb, void *obj, short events)
{
	struct loop_fd *e;

	if (!loop_fd_fits(fd))
		return -1;
	e = &loop_rt.fds[fd];
	e->cb = cb;
	e->obj = obj;
	e->gen++;
	loop_poll_add(fd, events);
	return 0;
}

/* Hand a registered fd to another owner; events already collected for
 * the old owner in this round are dropped by the generation check. */
static void
loop_fd_rebind(int fd, loop_fd_cb cb, void *obj, short events)
{
	struct loop_fd *e = &loop_rt.fds[fd];

	e->cb = cb;
	e->obj = obj;
	e->gen++;
	if (e->pidx >= 0)
		loop_poll_mod(fd, events);
}

static void
loop_fd_want(int fd, short events)
{
	if (fd >= 0 && loop_rt.fds[fd].pidx >= 0)
		loop_poll_mod(fd, events);
}

/* Unregister and close. */
static void
loop_fd_close(int fd)
{
	struct loop_fd *e;

	if (fd < 0)
		return;
	e = &loop_rt.fds[fd];
	if (e->pidx >= 0) {
		loop_poll_del(fd);
		e->pidx = -1;
		e->cb = NULL;
		e->obj = NULL;
		e->gen++;
	}
	close(fd);
}

/* ---- tasks: the run queue ---- */

static void
loop_task_wake(struct loop_task *t)
{
	if (t->queued)
		return;
	t->queued = 1;
	t->next = loop_rt.tasks;
	loop_rt.tasks = t;
}

static void
loop_task_cancel(struct loop_task *t)
{
	struct loop_task **pp;

	if (!t->queued)
		return;
	for (pp = &loop_rt.tasks; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->queued = 0;
	t->next = NULL;
}

/* Each queued task runs once; one that queues itself again runs next
 * turn, after the others had theirs. */
static int64_t
loop_tasks_run(void)
{
	struct loop_task *list = loop_rt.tasks, *nx;

	loop_rt.tasks = NULL;
	for (; list; list = nx) {
		nx = list->next;
		list->queued = 0;
		list->next = NULL;
		list->run(list);
	}
	return -1;
}

/* ---- timers ---- */

static void
loop_timer_add(struct loop_timer *t, void (*fire)(struct loop_timer *))
{
	t->when = -1;
	t->fire = fire;
	t->prev = NULL;
	t->next = loop_rt.timers;
	if (loop_rt.timers)
		loop_rt.timers->prev = t;
	loop_rt.timers = t;
}

static void
loop_timer_del(struct loop_timer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else if (loop_rt.timers == t)
		loop_rt.timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->next = t->prev = NULL;
}

static void
loop_timer_set(struct loop_timer *t, int64_t when)
{
	t->when = when;
	if (when >= 0 && (loop_rt.next_timer < 0 || when < loop_rt.next_timer))
		loop_rt.next_timer = when;
}

/* Fire what expired and find the earliest deadline left.  A timer's
 * callback may delete its own timer, never another one. */
static int64_t
loop_timers_run(void)
{
	struct loop_timer *t, *next;
	int64_t min = -1;

	if (loop_rt.next_timer < 0 || loop_rt.now < loop_rt.next_timer)
		return loop_rt.next_timer;
	loop_rt.next_timer = -1;
	for (t = loop_rt.timers; t; t = next) {
		next = t->next;
		if (t->when >= 0 && loop_rt.now >= t->when) {
			t->when = -1;
			t->fire(t);
			continue;
		}
		if (t->when >= 0 && (min < 0 || t->when < min))
			min = t->when;
	}
	if (min >= 0 && (loop_rt.next_timer < 0 || min < loop_rt.next_timer))
		loop_rt.next_timer = min;
	return loop_rt.next_timer;
}

/* ---- hooks and the loop itself ---- */

static void
loop_hook_add(loop_hook_fn fn)
{
	if (loop_rt.nhooks < LOOP_HOOKS_MAX)
		loop_rt.hooks[loop_rt.nhooks++] = fn;
}

static void
loop_stop(int rc)
{
	loop_rt.stop = 1;
	loop_rt.rc = rc;
}

/* Every turn: the hooks, in the order they were added, each saying when
 * it wants to run next; then one wait bounded by the earliest of those
 * (at once when tasks are queued); then the callbacks of what fired. */
static int
loop_run(void)
{
	while (!loop_rt.stop) {
		int64_t wake = -1, w;
		int timeout, i, nf;

		loop_rt.now = loop_mono();
		for (i = 0; i < loop_rt.nhooks && !loop_rt.stop; i++)
			if ((w = loop_rt.hooks[i]()) >= 0 && (wake < 0 || w < wake))
				wake = w;
		if (loop_rt.stop)
			break;
		if (loop_rt.tasks)
			wake = loop_rt.now;
		timeout = wake < 0 ? -1 : wake <= loop_rt.now ? 0 :
		    (wake - loop_rt.now > LOOP_WAIT_MAX_MS ? LOOP_WAIT_MAX_MS :
		    (int)(wake - loop_rt.now));
		nf = loop_poll_wait(timeout);
		loop_rt.now = loop_mono();
		if (nf < 0) {
			log_alert("poll: %s", strerror(errno));
			return 1;
		}
		for (i = 0; i < nf; i++) {
			struct loop_fired *f = &loop_rt.fired[i];
			struct loop_fd *e = &loop_rt.fds[f->fd];

			if (e->gen == f->gen && e->cb && e->pidx >= 0)
				e->cb(e->obj, f->fd, f->revents);
		}
	}
	return loop_rt.rc;
}
/*==== end loop ====*/

/*==== begin net ====*/
/*
 * Socket helpers (after redis anet.c): they return errors as values,
 * write a message into the caller's buffer and never log; the caller
 * knows which proxy or server to name.  Addresses: HAProxy's "ip:port",
 * "[ipv6]:port", "*:port", ":port" and "host:port", names resolved once
 * at load time as HAProxy does with libc's resolver.
 */

static const char *
net_addr_str(const struct sockaddr_storage *ss, char *out, size_t len,
    int with_port)
{
	char ip[INET6_ADDRSTRLEN];
	int port = 0;

	ip[0] = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
	} else
		snprintf(ip, sizeof(ip), "unix");
	if (with_port)
		snprintf(out, len, "%s:%d", ip, port);
	else
		snprintf(out, len, "%s", ip);
	return out;
}

/* The client address as X-Forwarded-For writes it: IPv4-mapped IPv6
 * addresses as plain IPv4. */
static const char *
net_addr_xff(const struct sockaddr_storage *ss, char *out, size_t len)
{
	net_addr_str(ss, out, len, 0);
	if (strncmp(out, "::ffff:", 7) == 0 && strchr(out, '.'))
		memmove(out, out + 7, strlen(out + 7) + 1);
	return out;
}

static void
net_set_port(struct sockaddr_storage *ss, int port)
{
	uint16_t p = htons((uint16_t)port);

	/* sin_port and sin6_port sit at the same offset */
	memcpy(&((struct sockaddr_in *)ss)->sin_port, &p, 2);
}

/* Split "host:port" or "[host]:port" into host and port text. */
static int
net_split_hostport(const char *text, char *host, size_t hostcap,
    const char **port, const char **why)
{
	const char *colon;
	size_t hl;

	if (text[0] == '[') {
		colon = strchr(text, ']');
		if (colon == NULL || colon[1] != ':') {
			*why = "expected [ipv6]:port";
			return -1;
		}
		text++;
		hl = (size_t)(colon - text);
		*port = colon + 2;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL) {
			*why = "missing ':port'";
			return -1;
		}
		if (strchr(text, ':') != colon) {
			*why = "IPv6 addresses must be written [addr]:port";
			return -1;
		}
		hl = (size_t)(colon - text);
		*port = colon + 1;
	}
	if (hl >= hostcap) {
		*why = "address too long";
		return -1;
	}
	memcpy(host, text, hl);
	host[hl] = 0;
	return 0;
}

/* A numeric address, or a name through the resolver. */
static int
net_resolve(const char *host, struct sockaddr_storage *ss, socklen_t *len,
    const char **why)
{
	struct sockaddr_in *in = (void *)ss;
	struct sockaddr_in6 *in6 = (void *)ss;
	struct addrinfo hints, *res;

	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		*len = sizeof(*in6);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
		*why = "cannot resolve host name";
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* <passive> allows an empty or "*" host (listeners). */
static int
net_parse_addr(const char *text, int passive, struct sockaddr_storage *ss,
    socklen_t *len, const char **why)
{
	char host[256];
	const char *port_s;
	long long port;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(text, "ipv4@", 5) == 0 || strncmp(text, "ipv6@", 5) == 0)
		text += 5;
	if (net_split_hostport(text, host, sizeof(host), &port_s, why) < 0)
		return -1;
	if (u_parse_int(port_s, 1, 65535, &port) < 0) {
		*why = "invalid port";
		return -1;
	}
	if (host[0] == 0 || strcmp(host, "*") == 0) {
		struct sockaddr_in *in = (void *)ss;

		if (!passive) {
			*why = "a server needs an address";
			return -1;
		}
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		*len = sizeof(*in);
	} else if (net_resolve(host, ss, len, why) < 0)
		return -1;
	net_set_port(ss, (int)port);
	return 0;
}

/* A bare address (no port) for "addr"/"agent-addr": the port stays 0. */
static int
net_parse_host(const char *host, struct sockaddr_storage *ss, socklen_t *len,
    const char **why)
{
	char tmp[300];
	int v6 = strchr(host, ':') != NULL;

	snprintf(tmp, sizeof(tmp), "%s%s%s:1", v6 ? "[" : "", host, v6 ? "]" : "");
	if (net_parse_addr(tmp, 0, ss, len, why) < 0)
		return -1;
	net_set_port(ss, 0);
	return 0;
}

/* What a listening socket's options set before bind(): v6only or v4v6
 * (neither: the system's default, as HAProxy), transparent (IP_TRANSPARENT,
 * then IP_FREEBIND, as HAProxy tries them), interface.  A failure is a
 * warning in <warn>, as in HAProxy, except for bind() itself. */
static void
net_listen_prebind(int fd, int family, const struct net_lopts *lo, char *warn,
    size_t wl)
{
	int one = 1, v6 = family == AF_INET6;

	if (v6 && lo->v6only >= 0)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &lo->v6only, sizeof(int));
	if (lo->transparent &&
	    setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TRANSPARENT :
	    IP_TRANSPARENT, &one, sizeof(one)) < 0 &&
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0)
		snprintf(warn, wl, "cannot make receiving socket transparent");
	if (lo->iface && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, lo->iface,
	    (socklen_t)strlen(lo->iface) + 1) < 0)
		snprintf(warn, wl, "cannot bind receiver to device '%s' (%s)",
		    lo->iface, strerror(errno));
}

/* The options that can change on a listening socket, set on a new one
 * and again on one a reload keeps (HAProxy's tcp_bind_listener()): MSS,
 * TCP_DEFER_ACCEPT (1 s), TCP_FASTOPEN (a queue of <backlog>), the
 * interface, then listen() with the backlog. */
static int
net_listen_tune(int fd, const struct net_lopts *lo, int backlog, char *warn,
    size_t wl)
{
	int mss = lo->mss > 0 ? lo->mss : 0, defer = lo->defer_accept, q = 0;
	char dev[16] = "";
	socklen_t ql = sizeof(q), dl = sizeof(dev);

	if (setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) < 0 && mss)
		snprintf(warn, wl, "cannot set MSS to %d", mss);
	if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer)) < 0 &&
	    defer)
		snprintf(warn, wl, "cannot enable DEFER_ACCEPT");
	if (lo->tfo ? setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &backlog,
	    sizeof(backlog)) < 0 : getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &q,
	    &ql) == 0 && q != 0 && setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &defer,
	    sizeof(defer)) < 0)
		snprintf(warn, wl, "cannot %s TCP_FASTOPEN", lo->tfo ? "enable" : "disable");
	getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &dl);
	if (strcmp(dev, lo->iface ? lo->iface : "") != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, lo->iface ? lo->iface : "",
	    lo->iface ? (socklen_t)strlen(lo->iface) + 1 : 0) < 0)
		snprintf(warn, wl, "cannot bind receiver to device '%s' (%s)",
		    lo->iface ? lo->iface : "", strerror(errno));
	return listen(fd, backlog);
}

/* A listening TCP socket with the bind line's options; warnings in
 * <warn> (empty when none). */
static int
net_listen(const struct sockaddr_storage *ss, socklen_t len,
    const struct net_lopts *lo, int backlog, char *err, size_t errlen,
    char *warn, size_t wl)
{
	int fd, one = 1;
	char a[80];

	warn[0] = 0;
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	net_listen_prebind(fd, ss->ss_family, lo, warn, wl);
	if (bind(fd, (const struct sockaddr *)ss, len) < 0) {
		snprintf(err, errlen, "cannot bind socket (%s) for [%s]",
		    strerror(errno), net_addr_str(ss, a, sizeof(a), 1));
		close(fd);
		return -1;
	}
	if (net_listen_tune(fd, lo, backlog, warn, wl) < 0) {
		snprintf(err, errlen, "cannot listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* IPV6_V6ONLY as a listening socket has it (0 for IPv4 ones). */
static int
net_v6only(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l) < 0)
		v = 0;
	return v;
}

/* A listening unix socket at <path> (a stale one is replaced). */
static int
net_unix_listen(const char *path, unsigned mode, char *err, size_t errlen)
{
	struct sockaddr_un un;
	int fd;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if (mode)
		chmod(path, mode);
	return fd;
}

/* Accept one client, non-blocking; the fd, or -errno.  A negative <mss>
 * lowers the connection's MSS by that much (HAProxy's bind "mss -N"). */
static int
net_accept(int lfd, struct sockaddr_storage *ss, int mss)
{
	socklen_t sl = sizeof(*ss), ml = sizeof(int);
	int one = 1, cur, fd = accept4(lfd, (struct sockaddr *)ss, &sl,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (mss < 0 && getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &cur, &ml) == 0) {
		cur += mss;
		setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &cur, sizeof(cur));
	}
	return fd;
}

/* TCP keep-alive probes (option clitcpka/srvtcpka), with the counts and
 * times given (0: the kernel's). */
static void
net_keepalive(int fd, int cnt, int idle, int intvl)
{
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (cnt)
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	if (idle)
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	if (intvl)
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
}

/* Start a non-blocking connect.  NET_OK with *fd set when connected
 * (*done) or in progress; NET_NOSOCK when no socket could be made;
 * NET_REFUSED when connect() failed at once (no fd is left open).  *err
 * holds the errno of a failure. */
enum { NET_OK = 0, NET_NOSOCK = -1, NET_REFUSED = -2 };

static int
net_connect(const struct sockaddr_storage *ss, socklen_t len, int nodelay,
    int *fd, int *done, int *err)
{
	int one = 1;

	*done = 0;
	*fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		*err = errno;
		return NET_NOSOCK;
	}
	if (nodelay)
		setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(*fd, (const struct sockaddr *)ss, len) == 0) {
		*done = 1;
		return NET_OK;
	}
	if (errno == EINPROGRESS)
		return NET_OK;
	*err = errno;
	close(*fd);
	*fd = -1;
	return NET_REFUSED;
}

/* The outcome of a non-blocking connect: 0 or an errno value. */
static int
net_sock_error(int fd)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	return err;
}

/* Close with a reset instead of a FIN: no TIME_WAIT left behind. */
static void
net_set_linger0(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}
/*==== end net ====*/

/*==== begin buf ====*/
/*
 * Memory that moves bytes.  I/O buffers of tune.bufsize bytes come from a
 * free list while bytes are pending and go back when drained, so an idle
 * connection holds none; a bounded reserve is kept, the rest returned to
 * the allocator.  Kernel pipes carry spliced tunnel bytes the same way:
 * held only while bytes are in flight.  The scratch area is where heads
 * are rewritten before they replace the original in a buffer.
 */

/* A fixed-size I/O buffer; data is [head, tail). */
struct buf {
	struct buf	*next;		/* free list */
	unsigned	 head, tail;
	char		 data[];
};

/* A kernel pipe for splice(2): socket -> pipe -> socket. */
struct kpipe {
	int		 rd, wr;
	unsigned	 len;		/* bytes inside */
	struct kpipe	*next;
};

#define BUF_RESERVE	64		/* free buffers kept for reuse */
#define PIPE_POOL_MAX	256		/* empty pipes kept for reuse */
#define PIPE_MAX	4096		/* pipes in use at once; then copy */
#define PIPE_SIZE	(256 * 1024)	/* asked of the kernel per pipe */

static struct {
	unsigned	 size;		/* tune.bufsize, fixed at start */
	unsigned	 rewrite;	/* tune.maxrewrite */
	struct buf	*free;
	int		 nbufs, nfree;
	char		*scratch;	/* size bytes */
	struct kpipe	*pipes;		/* empty pipes */
	int		 pooled, used;
	int		 no_splice;	/* splice(2) failed once: copy instead */
	int		 cfg_nosplice;	/* global nosplice */
	int		 maxpipes;	/* maxpipes, else PIPE_MAX */
	unsigned	 pipesize;	/* tune.pipesize, else PIPE_SIZE */
} buf_rt = { .maxpipes = PIPE_MAX, .pipesize = PIPE_SIZE };

static void
buf_init(int bufsize, int maxrewrite)
{
	buf_rt.size = (unsigned)bufsize;
	buf_rt.rewrite = (unsigned)maxrewrite;
	buf_rt.scratch = u_calloc(1, (size_t)bufsize);
}

/* Bytes a head may take: the rest is kept for headers added to it. */
static unsigned
buf_head_limit(void)
{
	return buf_rt.size - buf_rt.rewrite;
}

static struct buf *
buf_get(void)
{
	struct buf *b = buf_rt.free;

	if (b != NULL) {
		buf_rt.free = b->next;
		buf_rt.nfree--;
	} else {
		b = malloc(sizeof(*b) + buf_rt.size);
		if (b == NULL)
			return NULL;
		buf_rt.nbufs++;
	}
	b->head = b->tail = 0;
	b->next = NULL;
	return b;
}

static void
buf_put(struct buf *b)
{
	if (b == NULL)
		return;
	if (buf_rt.nfree >= BUF_RESERVE) {
		free(b);
		buf_rt.nbufs--;
		return;
	}
	b->next = buf_rt.free;
	buf_rt.free = b;
	buf_rt.nfree++;
}

static unsigned
buf_len(const struct buf *b)
{
	return b ? b->tail - b->head : 0;
}

/* Move the data to the front so that reads can fill the rest. */
static void
buf_compact(struct buf *b)
{
	if (b->head == 0)
		return;
	if (b->tail > b->head)
		memmove(b->data, b->data + b->head, b->tail - b->head);
	b->tail -= b->head;
	b->head = 0;
}

/* The scratch area for a rewritten head (buf_rt.size bytes). */
static char *
buf_scratch(void)
{
	return buf_rt.scratch;
}

/* Replace <oldlen> bytes at <off> (from the data start) with the scratch
 * area's first <newlen> bytes, moving what follows. */
static int
buf_replace(struct buf *b, unsigned off, unsigned oldlen, unsigned newlen)
{
	unsigned rest;

	buf_compact(b);
	rest = b->tail - (off + oldlen);
	if (b->tail - oldlen + newlen > buf_rt.size)
		return -1;
	memmove(b->data + off + newlen, b->data + off + oldlen, rest);
	memcpy(b->data + off, buf_rt.scratch, newlen);
	b->tail = off + newlen + rest;
	return 0;
}

/* ---- kernel pipes ---- */

static int
buf_can_splice(void)
{
	return !buf_rt.no_splice && !buf_rt.cfg_nosplice;
}

/* The global settings: nosplice, maxpipes, tune.pipesize (0: waxlb's). */
static void
buf_pipe_tune(int nosplice, int maxpipes, int pipesize)
{
	buf_rt.cfg_nosplice = nosplice;
	buf_rt.maxpipes = maxpipes > 0 ? maxpipes : PIPE_MAX;
	buf_rt.pipesize = pipesize > 0 ? (unsigned)pipesize : PIPE_SIZE;
}

/* Bytes a pipe is filled with at most. */
static unsigned
buf_pipe_size(void)
{
	return buf_rt.pipesize;
}

static struct kpipe *
buf_pipe_get(void)
{
	struct kpipe *p = buf_rt.pipes;
	int fds[2];

	if (p) {
		buf_rt.pipes = p->next;
		buf_rt.pooled--;
		buf_rt.used++;
		return p;
	}
	if (!buf_can_splice() || buf_rt.used >= buf_rt.maxpipes)
		return NULL;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return NULL;
	if (!loop_fd_fits(fds[0]) || !loop_fd_fits(fds[1]) ||
	    (p = malloc(sizeof(*p))) == NULL) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	(void)fcntl(fds[0], F_SETPIPE_SZ, buf_rt.pipesize);
	p->rd = fds[0];
	p->wr = fds[1];
	p->len = 0;
	buf_rt.used++;
	return p;
}

/* A pipe with bytes left in it cannot be reused: it is closed. */
static void
buf_pipe_put(struct kpipe *p)
{
	if (p == NULL)
		return;
	buf_rt.used--;
	if (p->len == 0 && buf_rt.pooled < PIPE_POOL_MAX) {
		p->next = buf_rt.pipes;
		buf_rt.pipes = p;
		buf_rt.pooled++;
		return;
	}
	close(p->rd);
	close(p->wr);
	free(p);
}


static void
buf_no_splice(void)
{
	buf_rt.no_splice = 1;
}
/*==== end buf ====*/

/*==== begin h1 ====*/
/*
 * HTTP/1 as pure functions over a buffer (after picohttpparser): the
 * request and response head parsers, the chunked-framing decoder, the
 * head builders and the status texts.  No I/O, no allocation; parsers
 * return "need more", an error with the status to answer, or a length.
 * Stricter than the RFC allows where leniency could be smuggled: bare CR,
 * NUL, obs-fold, "name : value" and conflicting lengths are refused.
 */

/* Reasons and HAProxy's error texts, by status (quark's idea: the status
 * is the key, the strings are a table).  <reason> is the one HAProxy's
 * pages carry; <gen>, when set, the one it writes in a reply it builds
 * (http_get_reason(): an http-error string, an empty reply). */
static const struct {
	int		 status;
	const char	*reason;
	const char	*text;		/* NULL: not an error page */
	const char	*gen;		/* NULL: as <reason> */
} h1_status[] = {
	{ 200, "OK", "Service ready.", NULL },
	{ 301, "Moved Permanently", NULL, NULL },
	{ 302, "Found", NULL, NULL },
	{ 303, "See Other", NULL, NULL },
	{ 307, "Temporary Redirect", NULL, NULL },
	{ 308, "Permanent Redirect", NULL, NULL },
	{ 400, "Bad request", "Your browser sent an invalid request.",
	    "Bad Request" },
	{ 401, "Unauthorized", "You need a valid user and password to access "
	    "this content.", NULL },
	{ 403, "Forbidden", "Request forbidden by administrative rules.", NULL },
	{ 404, "Not Found", "The resource could not be found.", NULL },
	{ 405, "Method Not Allowed", "A request was made of a resource using a "
	    "request method not supported by that resource", NULL },
	{ 407, "Unauthorized", "You need a valid user and password to access "
	    "this content.", "Proxy Authentication Required" },
	{ 408, "Request Time-out", "Your browser didn't send a complete request "
	    "in time.", NULL },
	{ 410, "Gone", "The resource is no longer available and will not be "
	    "available again.", NULL },
	{ 413, "Payload Too Large", "The request entity exceeds the maximum "
	    "allowed.", "Request Entity Too Large" },
	{ 414, "URI Too Long", "The request URI is too long.", NULL },
	{ 421, "Misdirected Request", "Request sent to a non-authoritative "
	    "server.", NULL },
	{ 422, "Unprocessable Content", "The server cannot process the contained "
	    "instructions.", NULL },
	{ 425, "Too Early", "Your browser sent early data.", NULL },
	{ 429, "Too Many Requests", "You have sent too many requests in a given "
	    "amount of time.", NULL },
	{ 431, "Request Header Fields Too Large", "The request header fields "
	    "are too large.", NULL },
	{ 500, "Internal Server Error", "An internal server error occurred.", NULL },
	{ 501, "Not Implemented", ".The server does not support the "
	    "functionality required to fulfill the request.", NULL },
	{ 502, "Bad Gateway", "The server returned an invalid or incomplete "
	    "response.", "Bad Gateway or Proxy Error" },
	{ 503, "Service Unavailable", "No server is available to handle this "
	    "request.", NULL },
	{ 504, "Gateway Time-out", "The server didn't respond in time.", NULL },
	{ 505, "HTTP Version Not Supported", "The HTTP version is not "
	    "supported.", NULL },
};

/* The statuses a page can be configured for (HAProxy's http_err_codes:
 * errorfile, errorloc, http-errors, http-error), in H1_ERR_CODES slots. */
static const short h1_err_codes[H1_ERR_CODES] = {
	200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429,
	500, 501, 502, 503, 504
};

int
h1_err_slot(int status)
{
	int i;

	for (i = 0; i < H1_ERR_CODES; i++)
		if (h1_err_codes[i] == status)
			return i;
	return -1;
}

int
h1_err_status(int slot)
{
	return h1_err_codes[slot];
}

static const char *
h1_reason(int status)
{
	size_t i;

	for (i = 0; i < NELEM(h1_status); i++)
		if (h1_status[i].status == status)
			return h1_status[i].reason;
	return "Error";
}

/* The reason phrase HAProxy writes for a status it makes up (set-status,
 * return, http-reply answers): its http_get_reason() table. */
static const char *
h1_std_reason(int status)
{
	static const struct { short st; const char *r; } t[] = {
		{ 100, "Continue" }, { 101, "Switching Protocols" },
		{ 102, "Processing" }, { 200, "OK" }, { 201, "Created" },
		{ 202, "Accepted" }, { 203, "Non-Authoritative Information" },
		{ 204, "No Content" }, { 205, "Reset Content" },
		{ 206, "Partial Content" }, { 207, "Multi-Status" },
		{ 210, "Content Different" }, { 226, "IM Used" },
		{ 300, "Multiple Choices" }, { 301, "Moved Permanently" },
		{ 302, "Moved Temporarily" }, { 303, "See Other" },
		{ 304, "Not Modified" }, { 305, "Use Proxy" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 310, "Too many Redirects" }, { 400, "Bad Request" },
		{ 401, "Unauthorized" }, { 402, "Payment Required" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
		{ 407, "Proxy Authentication Required" }, { 408, "Request Time-out" },
		{ 409, "Conflict" }, { 410, "Gone" }, { 411, "Length Required" },
		{ 412, "Precondition Failed" }, { 413, "Request Entity Too Large" },
		{ 414, "Request-URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 416, "Requested range unsatisfiable" },
		{ 417, "Expectation failed" }, { 418, "I'm a teapot" },
		{ 421, "Misdirected Request" }, { 422, "Unprocessable Content" },
		{ 423, "Locked" }, { 424, "Method failure" }, { 425, "Too Early" },
		{ 426, "Upgrade Required" }, { 428, "Precondition Required" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" }, { 449, "Retry With" },
		{ 450, "Blocked by Windows Parental Controls" },
		{ 451, "Unavailable For Legal Reasons" },
		{ 456, "Unrecoverable Error" },
		{ 499, "client has closed connection" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway or Proxy Error" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Time-out" }, { 505, "HTTP Version not supported" },
		{ 506, "Variant also negotiate" }, { 507, "Insufficient storage" },
		{ 508, "Loop detected" }, { 509, "Bandwidth Limit Exceeded" },
		{ 510, "Not extended" }, { 511, "Network authentication required" },
		{ 520, "Web server is returning an unknown error" },
	};
	static const char *const cls[] = { "Informational", "Success",
	    "Redirection", "Client Error", "Server Error" };
	size_t i;

	for (i = 0; i < NELEM(t); i++)
		if (t[i].st == status)
			return t[i].r;
	return status >= 100 && status < 600 ? cls[status / 100 - 1] : "Other";

}

/* The reason phrase of a reply HAProxy builds (an http-error string, an
 * empty reply): its http_get_reason(). */
const char *
h1_gen_reason(int status)
{
	return h1_std_reason(status);
}

int
h1_error_page(int status, int keepalive, char *out, size_t len)
{
	const char *text = "An error occurred.";
	char body[512];
	size_t i;
	int bl;

	for (i = 0; i < NELEM(h1_status); i++)
		if (h1_status[i].status == status && h1_status[i].text)
			text = h1_status[i].text;
	bl = snprintf(body, sizeof(body),
	    "<html><body><h1>%d %s</h1>\n%s\n</body></html>\n", status,
	    h1_reason(status), text);
	/* HAProxy's header order, connection last */
	return snprintf(out, len, "HTTP/1.1 %d %s\r\ncontent-length: %d\r\n"
	    "cache-control: no-cache\r\ncontent-type: text/html\r\n%s\r\n%s",
	    status, h1_reason(status), bl, keepalive ? "" : "connection: close\r\n",
	    body);
}

int
h1_find_hdr(const struct http_msg *m, const char *name, int from)
{
	int i;

	for (i = from; i < m->nhdr; i++)
		if (u_ieq(m->hdr[i].name, m->hdr[i].name_len, name))
			return i;
	return -1;
}

/* tune.http.maxhdr: headers a message may have, and the status beyond;
 * the parser alone (unit tests, fuzzers) takes what m->hdr holds. */
static struct {
	int		 maxhdr;
	int		 status;
} h1_lim = { HDR_MAX, 431 };

/* HAProxy's count includes the start line: <n> allows n - 1 headers, and
 * one more is a 400 (a response's parse error is the caller's 502). */
static void
h1_set_maxhdr(int n)
{
	h1_lim.maxhdr = n - 1 < HDR_MAX ? n - 1 : HDR_MAX;
	h1_lim.status = 400;
}

static int
h1_fail(struct http_msg *m, int status, const char *what)
{
	m->err = status;
	m->err_what = what;
	return -1;
}

/* A Connection header of close and keep-alive tokens only: HAProxy's
 * parser takes them out of the header list. */
static int
h1_conn_only(const char *n, size_t nl, const char *v, size_t vl)
{
	const char *el, *end = v + vl;
	size_t ell;

	if (!u_ieq(n, nl, "connection"))
		return 0;
	while (u_list_next(&v, end, &el, &ell))
		if (!u_ieq(el, ell, "close") && !u_ieq(el, ell, "keep-alive"))
			return 0;
	return 1;
}

/* One "name: value" line in line[0..ll). */
static int
h1_field(struct http_msg *m, const char *line, size_t ll)
{
	const char *end = line + ll, *colon = line, *v, *ve, *p;
	int dropped;

	if (*line == ' ' || *line == '\t')
		return h1_fail(m, 400, "obs-fold header continuation");
	while (colon < end && U_TCHAR(*colon))
		colon++;
	if (colon == end || *colon != ':')
		return h1_fail(m, 400, colon == end ? "header line without colon" :
		    "invalid character in header name");
	if (colon == line)
		return h1_fail(m, 400, "empty header name");
	v = colon + 1;
	while (v < end && U_OWS(*v))
		v++;
	for (p = v; p < end; p++)
		if (!U_VCHAR(*p))
			return h1_fail(m, 400, "invalid character in header value");
	ve = end;
	while (ve > v && U_OWS(ve[-1]))
		ve--;
	dropped = h1_conn_only(line, (size_t)(colon - line), v, (size_t)(ve - v));
	if (m->nhdr >= HDR_MAX || (!dropped && m->nhdr - m->nfree >= h1_lim.maxhdr))
		return h1_fail(m, h1_lim.status, "too many headers");
	m->nfree += dropped;
	if (colon - line > 0xffff || ve - v > 0xffff)
		return h1_fail(m, 431, "header too large");
	m->hdr[m->nhdr].name = line;
	m->hdr[m->nhdr].name_len = (unsigned short)(colon - line);
	m->hdr[m->nhdr].value = v;
	m->hdr[m->nhdr].value_len = (unsigned short)(ve - v);
	m->nhdr++;
	return 0;
}

/* Line ends seen in a head, so that a mix of the two is told apart. */
#define H1_EOL_CRLF	1
#define H1_EOL_LF	2

/* The incomplete last line p[0..n) of a head (no LF in it): a CR that is
 * not its last byte can never be followed by an LF, so the head is bad
 * now rather than at the timeout. */
static int
h1_bare_cr(const char *p, size_t n)
{
	const char *cr = memchr(p, '\r', n);

	return cr != NULL && cr + 1 < p + n;
}

/* Header lines from <pos>; returns the head length, 0, or -1.  *eols
 * gathers the kinds of line end seen (H1_EOL_*). */
static int
h1_fields(const char *buf, size_t len, size_t pos, struct http_msg *m,
    unsigned *eols)
{
	for (;;) {
		const char *nl;
		size_t ll;
		int bare = 0;

		if (pos >= len)
			return 0;
		nl = u_eol(buf + pos, len - pos, &ll, &bare);
		if (nl == NULL)
			return h1_bare_cr(buf + pos, len - pos) ?
			    h1_fail(m, 400, "CR without LF") : 0;
		*eols |= bare ? H1_EOL_LF : H1_EOL_CRLF;
		if (bare)
			m->flags |= MSG_BARE_LF;
		if (ll == 0) {
			pos = (size_t)(nl - buf) + 1;
			return pos > INT_MAX ? h1_fail(m, 431, "head too large") : (int)pos;
		}
		if (h1_field(m, buf + pos, ll) < 0)
			return -1;
		pos = (size_t)(nl - buf) + 1;
	}
}

/* ---- header semantics, one handler per header that matters ---- */

/* What the headers of one message add up to, while they are read. */
struct h1_sem {
	const char	*host;
	size_t		 hostlen;
	int		 te_seen, chunked_last, chunked_n, te_unknown;
};

static int
h1_sem_hop(struct http_msg *m, const struct http_hdr *h, struct h1_sem *st)
{
	(void)h;
	(void)st;
	m->flags |= MSG_HOPHDR | MSG_CONNHDR;
	return 0;
}

static int
h1_sem_clen(struct http_msg *m, const struct http_hdr *h, struct h1_sem *st)
{
	const char *p = h->value, *end = h->value + h->value_len, *el;
	size_t ell, k;
	int any = 0;

	(void)st;
	m->flags |= MSG_HOPHDR;
	while (u_list_next(&p, end, &el, &ell)) {
		int64_t v = 0;

		any = 1;
		if (ell == 0 || ell > 18)
			return h1_fail(m, 400, "invalid content-length");
		for (k = 0; k < ell; k++) {
			if (!U_DIGIT(el[k]))
				return h1_fail(m, 400, "invalid content-length");
			v = v * 10 + (el[k] - '0');
		}
		if ((m->flags & MSG_CLEN) && v != m->clen)
			return h1_fail(m, 400, "conflicting content-length");
		m->clen = v;
		m->flags |= MSG_CLEN;
	}
	return any ? 0 : h1_fail(m, 400, "empty content-length");
}

static int
h1_sem_te(struct http_msg *m, const struct http_hdr *h, struct h1_sem *st)
{
	const char *p = h->value, *end = h->value + h->value_len, *el;
	size_t ell;

	st->te_seen = 1;
	m->flags |= MSG_HOPHDR;
	while (u_list_next(&p, end, &el, &ell)) {
		st->chunked_last = u_ieq(el, ell, "chunked");
		if (st->chunked_last)
			st->chunked_n++;
		else
			st->te_unknown = 1;
	}
	return 0;
}

static int
h1_sem_conn(struct http_msg *m, const struct http_hdr *h, struct h1_sem *st)
{
	const char *p = h->value, *end = h->value + h->value_len, *el;
	size_t ell;

	(void)st;
	m->flags |= MSG_HOPHDR | MSG_CONNHDR;
	while (u_list_next(&p, end, &el, &ell)) {
		if (u_ieq(el, ell, "close"))
			m->flags |= MSG_CONN_CLOSE;
		else if (u_ieq(el, ell, "keep-alive"))
			m->flags |= MSG_CONN_KA;
		else if (u_ieq(el, ell, "upgrade"))
			m->flags |= MSG_CONN_UPG;
	}
	return 0;
}

static int
h1_sem_upgrade(struct http_msg *m, const struct http_hdr *h, struct h1_sem *st)
{
	(void)st;
	m->flags |= MSG_UPGRADE;
	if (u_list_has(h->value, h->value_len, "websocket"))
		m->flags |= MSG_WS;
	return 0;
}

static int
h1_sem_host(struct http_msg *m, const struct http_hdr *h, struct h1_sem *st)
{
	if (st->host && (st->hostlen != h->value_len ||
	    strncasecmp(st->host, h->value, st->hostlen) != 0))
		return h1_fail(m, 400, "several different Host headers");
	st->host = h->value;
	st->hostlen = h->value_len;
	m->flags |= MSG_HOST;
	return 0;
}

static int
h1_sem_wskey(struct http_msg *m, const struct http_hdr *h, struct h1_sem *st)
{
	(void)st;
	if (h->value_len)
		m->flags |= MSG_WS_KEY;
	return 0;
}

static int
h1_sem_expect(struct http_msg *m, const struct http_hdr *h, struct h1_sem *st)
{
	(void)st;
	if (u_ieq(h->value, h->value_len, "100-continue"))
		m->flags |= MSG_EXPECT100;
	return 0;
}

static const struct {
	const char	*name;
	int		 req_only;
	int		(*fn)(struct http_msg *, const struct http_hdr *,
			    struct h1_sem *);
} h1_sems[] = {
	{ "content-length",	0, h1_sem_clen },
	{ "transfer-encoding",	0, h1_sem_te },
	{ "connection",		0, h1_sem_conn },
	{ "upgrade",		0, h1_sem_upgrade },
	{ "keep-alive",		0, h1_sem_hop },
	{ "proxy-connection",	0, h1_sem_hop },
	{ "host",		1, h1_sem_host },
	{ "sec-websocket-key",	1, h1_sem_wskey },
	{ "expect",		1, h1_sem_expect },
};

/* Transfer-Encoding against the rest, once every header was seen. */
static int
h1_sem_framing(struct http_msg *m, const struct h1_sem *st, int is_req)
{
	if (!st->te_seen)
		return 0;
	if (is_req) {
		if (m->minor == 0)
			return h1_fail(m, 400, "transfer-encoding in an HTTP/1.0 request");
		/* HAProxy 2.6 answers 400 to any coding but chunked in a
		 * request; so does waxlb (RFC 9112 would allow 501 for an
		 * unknown one, see README) */
		if (st->te_unknown)
			return h1_fail(m, 400, "unsupported transfer-encoding");
		if (!st->chunked_last || st->chunked_n != 1)
			return h1_fail(m, 400, "transfer-encoding does not end with chunked");
		if (m->flags & MSG_CLEN)
			return h1_fail(m, 400, "both content-length and transfer-encoding");
	} else if (m->flags & MSG_CLEN)
		return h1_fail(m, 502, "both content-length and transfer-encoding");
	if (st->chunked_last && st->chunked_n == 1)
		m->flags |= MSG_CHUNKED;
	else if (!is_req)
		m->flags &= ~MSG_CLEN;	/* close-delimited (RFC 9112 6.3) */
	return 0;
}

/* An absolute-form target's authority must agree with Host. */
static int
h1_sem_authority(struct http_msg *m, const struct h1_sem *st)
{
	const char *a, *ue = m->uri + m->uri_len, *ae;

	if (!(m->uri_len > 7 && (strncasecmp(m->uri, "http://", 7) == 0 ||
	    strncasecmp(m->uri, "https://", 8) == 0)))
		return 0;
	a = (const char *)memchr(m->uri, ':', m->uri_len) + 3;
	for (ae = a; ae < ue && *ae != '/' && *ae != '?' && *ae != '#'; ae++)
		;
	if (ae == a || memchr(a, '@', (size_t)(ae - a)))
		return h1_fail(m, 400, "invalid authority in absolute URI");
	if (st->host && ((size_t)(ae - a) != st->hostlen ||
	    strncasecmp(a, st->host, st->hostlen) != 0))
		return h1_fail(m, 400, "absolute URI and Host header disagree");
	return 0;
}

/* Content-Length, Transfer-Encoding, Connection, Upgrade and friends. */
static int
h1_semantics(struct http_msg *m, int is_req)
{
	struct h1_sem st;
	size_t k;
	int i;

	memset(&st, 0, sizeof(st));
	m->clen = -1;
	for (i = 0; i < m->nhdr; i++) {
		const struct http_hdr *h = &m->hdr[i];

		for (k = 0; k < NELEM(h1_sems); k++)
			if (u_ieq(h->name, h->name_len, h1_sems[k].name)) {
				if ((is_req || !h1_sems[k].req_only) &&
				    h1_sems[k].fn(m, h, &st) < 0)
					return -1;
				break;
			}
	}
	if (h1_sem_framing(m, &st, is_req) < 0)
		return -1;
	if (!is_req)
		return 0;
	if ((m->flags & MSG_CONN_UPG) && (m->flags & MSG_WS) &&
	    !(m->flags & MSG_WS_KEY))
		return h1_fail(m, 400, "websocket upgrade without Sec-WebSocket-Key");
	return h1_sem_authority(m, &st);
}

static int
h1_version(const char *p, const char *end, struct http_msg *m)
{
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' ||
	    !U_DIGIT(p[5]) || !U_DIGIT(p[7]))
		return h1_fail(m, 400, "invalid HTTP version");
	if (p[5] != '1')
		return h1_fail(m, 505, "unsupported HTTP version");
	m->minor = p[7] - '0';
	if (m->minor > 1)
		m->minor = 1;
	return 0;
}

/* "METHOD SP target SP version" in line[0..ll). */
static int
h1_request_line(const char *p, size_t ll, struct http_msg *m)
{
	const char *end = p + ll, *sp1 = p, *sp2;

	while (sp1 < end && U_TCHAR(*sp1))
		sp1++;
	if (sp1 == p || sp1 == end || *sp1 != ' ')
		return h1_fail(m, 400, "invalid method");
	sp2 = sp1 + 1;
	while (sp2 < end && U_URICHAR(*sp2) && *sp2 != '#')
		sp2++;
	if (sp2 == sp1 + 1 || sp2 == end || *sp2 != ' ')
		return h1_fail(m, 400, sp2 == end ? "missing HTTP version" :
		    "invalid character in URI");
	if (sp1 - p > 0xffff || sp2 - sp1 - 1 > 0xffff)
		return h1_fail(m, 414, "request line too long");
	m->method = p;
	m->method_len = (unsigned short)(sp1 - p);
	m->uri = sp1 + 1;
	m->uri_len = (unsigned short)(sp2 - sp1 - 1);
	return h1_version(sp2 + 1, end, m);
}

/* origin-form, "*", or absolute-form with an http(s) scheme (the
 * authority-form only belongs to CONNECT, which is refused). */
static int
h1_target(struct http_msg *m)
{
	int connect = u_ieq(m->method, m->method_len, "CONNECT");

	if (m->uri[0] != '/' && !(m->uri_len == 1 && m->uri[0] == '*') &&
	    !(m->uri_len > 7 && strncasecmp(m->uri, "http://", 7) == 0) &&
	    !(m->uri_len > 8 && strncasecmp(m->uri, "https://", 8) == 0) &&
	    !connect)
		return h1_fail(m, 400, "invalid request target");
	if (connect)
		return h1_fail(m, 501, "CONNECT is not supported");
	return 0;
}

int
h1_parse_request(const char *buf, size_t len, struct http_msg *m)
{
	const char *p = buf, *nl;
	size_t ll;
	unsigned eols;
	int r, bare = 0;

	u_cclass_init();
	memset(m, 0, offsetof(struct http_msg, hdr));
	m->clen = -1;
	/* RFC 9112 2.2: ignore at least one empty line before a request */
	while ((size_t)(p - buf) < len && (*p == '\r' || *p == '\n')) {
		if (*p == '\r' && ((size_t)(p - buf) + 1 >= len || p[1] != '\n'))
			break;
		p += *p == '\r' ? 2 : 1;
		if (p - buf > 4)
			return h1_fail(m, 400, "empty lines before request");
	}
	nl = u_eol(p, len - (size_t)(p - buf), &ll, &bare);
	if (nl == NULL)
		return h1_bare_cr(p, len - (size_t)(p - buf)) ?
		    h1_fail(m, 400, "CR without LF") : 0;
	if (bare || p != buf)
		m->flags |= MSG_BARE_LF;	/* leading empty lines: rewrite */
	if (h1_request_line(p, ll, m) < 0)
		return -1;
	/* a head in bare LFs is rewritten, but one that mixes them with
	 * CRLFs is refused: peers split such a head differently (the empty
	 * lines skipped before it are not part of it) */
	eols = bare ? H1_EOL_LF : H1_EOL_CRLF;
	r = h1_fields(buf, len, (size_t)(nl - buf) + 1, m, &eols);
	if (r >= 0 && eols == (H1_EOL_LF | H1_EOL_CRLF))
		return h1_fail(m, 400, "CRLF and bare LF line ends mixed");
	if (r <= 0)
		return r;
	if (h1_semantics(m, 1) < 0 || h1_target(m) < 0)
		return -1;
	return r;
}

/* "HTTP/1.x NNN reason" in buf[0..ll). */
static int
h1_status_line(const char *buf, size_t ll, struct http_msg *m)
{
	const char *end = buf + ll, *p = buf + 9;

	if (ll < 12 || buf[8] != ' ' || h1_version(buf, buf + 8, m) < 0)
		return h1_fail(m, 502, "invalid status line");
	if (!U_DIGIT(p[0]) || !U_DIGIT(p[1]) || !U_DIGIT(p[2]) ||
	    (end > p + 3 && p[3] != ' '))
		return h1_fail(m, 502, "invalid status code");
	m->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (m->status < 100)
		return h1_fail(m, 502, "invalid status code");
	for (p += 3; p < end; p++)
		if (!U_VCHAR(*p))
			return h1_fail(m, 502, "invalid character in reason");
	return 0;
}

int
h1_parse_response(const char *buf, size_t len, struct http_msg *m)
{
	const char *nl;
	size_t ll;
	unsigned eols = 0;	/* a response may mix line ends: rewritten */
	int r, bare = 0;

	u_cclass_init();
	memset(m, 0, offsetof(struct http_msg, hdr));
	m->clen = -1;
	nl = u_eol(buf, len, &ll, &bare);
	if (nl == NULL) {
		if (!h1_bare_cr(buf, len))
			return 0;
		h1_fail(m, 502, "CR without LF");
		return -1;
	}
	if (bare)
		m->flags |= MSG_BARE_LF;
	if (h1_status_line(buf, ll, m) < 0)
		return -1;
	r = h1_fields(buf, len, (size_t)(nl - buf) + 1, m, &eols);
	if (r == 0)
		return 0;
	if (r < 0 || h1_semantics(m, 0) < 0) {
		m->err = 502;	/* whatever is wrong, the server is at fault */
		return -1;
	}
	return r;
}

/* ---- chunked framing ---- */

enum { CK_SIZE0, CK_SIZE, CK_SIZE_WS, CK_EXT, CK_SIZE_LF, CK_DATA,
	CK_DATA_CR, CK_DATA_LF, CK_TRL0, CK_TRL_NAME, CK_TRL, CK_TRL_LF,
	CK_END_LF, CK_DONE };

/* One byte of a chunk-size line ("1*HEXDIG *WSP [; ext] CRLF"): 0 or -1.
 * Every byte of the line counts towards CHUNK_LINE_MAX, blanks and
 * leading zeros too, because a line is held whole before it is passed on
 * (h1_chunk_canon). */
static int
h1_ck_size(struct chunk_dec *d, unsigned char c)
{
	if (++d->line > CHUNK_LINE_MAX)
		return -1;
	switch (d->state) {
	case CK_SIZE0:
	case CK_SIZE:
		if (u_hexval(c) >= 0) {
			/* below 2^52 as HAProxy, whatever the leading zeros:
			 * a peer using floats for integers cannot be fed a
			 * size it rounds */
			if (d->left >> 48)
				return -1;
			d->left = d->left * 16 + (uint64_t)u_hexval(c);
			d->state = CK_SIZE;
			return 0;
		}
		if (d->state == CK_SIZE0)
			return -1;
		/* FALLTHROUGH */
	case CK_SIZE_WS:
		if (c == ' ' || c == '\t')
			d->state = CK_SIZE_WS;
		else if (c == ';')
			d->state = CK_EXT;
		else if (c == '\r')
			d->state = CK_SIZE_LF;
		else
			return -1;	/* a bare LF too: framing is CRLF only */
		return 0;
	case CK_EXT:	/* dropped on the way out, so only its bytes matter */
		if (c == '\r')
			d->state = CK_SIZE_LF;
		else if (!U_VCHAR(c))
			return -1;
		return 0;
	default:	/* CK_SIZE_LF */
		if (c != '\n')
			return -1;
		d->line = 0;
		d->state = d->left ? CK_DATA : CK_TRL0;
		return 0;
	}
}

/* One byte of the trailer section (fields, then the final CRLF). */
static int
h1_ck_trailer(struct chunk_dec *d, unsigned char c)
{
	switch (d->state) {
	case CK_TRL0:
		if (c == '\r') {
			d->state = CK_END_LF;
			return 0;
		}
		if (!U_TCHAR(c))
			return -1;	/* a trailer is "name: value" */
		d->state = CK_TRL_NAME;
		/* FALLTHROUGH */
	case CK_TRL_NAME:
		if (++d->trailers > TRAILER_MAX)
			return -1;
		if (c == ':')
			d->state = CK_TRL;
		else if (!U_TCHAR(c))
			return -1;
		return 0;
	case CK_TRL:
		if (++d->trailers > TRAILER_MAX)
			return -1;
		if (c == '\r')
			d->state = CK_TRL_LF;
		else if (!U_VCHAR(c))
			return -1;
		return 0;
	default:	/* CK_TRL_LF, CK_END_LF */
		if (c != '\n')
			return -1;
		d->state = d->state == CK_TRL_LF ? CK_TRL0 : CK_DONE;
		return 0;
	}
}

/* The state machine over buf[0..len); with <stop_line>, it stops where a
 * chunk-size line begins.  Bytes consumed, or -1. */
static long
h1_ck_run(struct chunk_dec *d, const char *buf, size_t len, int stop_line)
{
	size_t i = 0, n;
	int r = 0;

	while (i < len && d->state != CK_DONE) {
		unsigned char c = (unsigned char)buf[i];

		if (d->state <= CK_SIZE_LF)
			r = h1_ck_size(d, c);
		else if (d->state == CK_DATA) {
			n = len - i < d->left ? len - i : (size_t)d->left;
			d->left -= n;
			i += n;
			if (d->left == 0)
				d->state = CK_DATA_CR;
			continue;
		} else if (d->state == CK_DATA_CR) {
			r = c == '\r' ? 0 : -1;
			d->state = CK_DATA_LF;
		} else if (d->state == CK_DATA_LF) {
			r = c == '\n' ? 0 : -1;
			d->state = CK_SIZE0;
		} else
			r = h1_ck_trailer(d, c);
		if (r < 0)
			return -1;
		i++;
		if (stop_line && d->state == CK_SIZE0)
			break;
	}
	return (long)i;
}

long
h1_chunk_feed(struct chunk_dec *d, const char *buf, size_t len)
{
	u_cclass_init();
	return h1_ck_run(d, buf, len, 0);
}

int
h1_chunk_done(const struct chunk_dec *d)
{
	return d->state == CK_DONE;
}

/* The chunk-size line HAProxy 2.6 writes (h1_emit_chunk_size): the size
 * in upper-case hex without leading zeros, CRLF; its length. */
static size_t
h1_ck_line_out(uint64_t size, char out[CHUNK_CANON_MAX])
{
	char tmp[CHUNK_CANON_MAX];
	size_t n = sizeof(tmp);

	tmp[--n] = '\n';
	tmp[--n] = '\r';
	do
		tmp[--n] = "0123456789ABCDEF"[size & 15];
	while (size >>= 4);
	memcpy(out, tmp + n, sizeof(tmp) - n);
	return sizeof(tmp) - n;
}

/* The chunk-size line at buf[i..len), checked whole and written out in
 * canonical form at buf[o..] (o <= i; the canonical line is never longer).
 * Returns the bytes it took, 0 while the line is incomplete (what came
 * so far is valid: garbage is refused at once), or -1.  *w: bytes out. */
static long
h1_ck_line(struct chunk_dec *d, char *buf, size_t i, size_t len, size_t o,
    size_t *w)
{
	const char *nl = memchr(buf + i, '\n', len - i);
	struct chunk_dec t = *d;
	char line[CHUNK_CANON_MAX];
	size_t ll, k;

	if (nl == NULL)
		return h1_ck_run(&t, buf + i, len - i, 1) < 0 ? -1 : 0;
	ll = (size_t)(nl - (buf + i)) + 1;
	if (h1_ck_run(d, buf + i, ll, 1) != (long)ll)
		return -1;
	k = h1_ck_line_out(d->left, line);
	/* the common case, a canonical line in place, costs a compare */
	if (o != i || k != ll || memcmp(buf + i, line, k) != 0)
		memcpy(buf + o, line, k);
	*w = k;
	return (long)ll;
}

long
h1_chunk_canon(struct chunk_dec *d, char *buf, size_t len, size_t *olen)
{
	size_t i = 0, o = 0, w = 0;
	long n;

	u_cclass_init();
	while (i < len && d->state != CK_DONE) {
		if (d->state == CK_SIZE0) {
			if ((n = h1_ck_line(d, buf, i, len, o, &w)) <= 0) {
				if (n < 0)
					return -1;
				break;	/* held back until its LF comes */
			}
		} else {
			if ((n = h1_ck_run(d, buf + i, len - i, 1)) < 0)
				return -1;
			if (o != i)	/* behind a shortened line: close the gap */
				memmove(buf + o, buf + i, (size_t)n);
			w = (size_t)n;
		}
		i += (size_t)n;
		o += w;
	}
	*olen = o;
	return (long)i;
}

/* Copy a validated chunked body in place, keeping only the data; returns
 * the data length. */
static size_t
h1_dechunk(char *b, size_t n)
{
	size_t i = 0, o = 0;

	while (i < n) {
		uint64_t sz = 0;

		while (i < n && u_hexval(b[i]) >= 0)
			sz = sz * 16 + (uint64_t)u_hexval(b[i++]);
		while (i < n && b[i] != '\n')
			i++;
		i++;
		if (sz == 0)
			break;
		memmove(b + o, b + i, (size_t)sz);
		o += (size_t)sz;
		i += (size_t)sz;
		while (i < n && b[i] != '\n')
			i++;
		i++;
	}
	return o;
}

/* ---- head builders ---- */

struct h1_out {
	char		*o, *end;
	int		 overflow;
};

static void
h1_put(struct h1_out *w, const char *p, size_t n)
{
	if (w->overflow || (size_t)(w->end - w->o) < n) {
		w->overflow = 1;
		return;
	}
	memcpy(w->o, p, n);
	w->o += n;
}

static void
h1_puts(struct h1_out *w, const char *s)
{
	h1_put(w, s, strlen(s));
}

static void
h1_put_hdr(struct h1_out *w, const char *n, size_t nl, const char *v, size_t vl)
{
	h1_put(w, n, nl);
	h1_put(w, ": ", 2);
	h1_put(w, v, vl);
	h1_put(w, "\r\n", 2);
}

/* The list of codings, normalised, chunked last. */
static void
h1_put_te(struct h1_out *w, const struct http_msg *m)
{
	int i, first = 1;

	h1_puts(w, "transfer-encoding: ");
	for (i = 0; i < m->nhdr; i++) {
		const struct http_hdr *h = &m->hdr[i];
		const char *p = h->value, *e = h->value + h->value_len, *el;
		size_t ell;

		if (!u_ieq(h->name, h->name_len, "transfer-encoding"))
			continue;
		while (u_list_next(&p, e, &el, &ell)) {
			if (!first)
				h1_puts(w, ", ");
			h1_put(w, el, ell);
			first = 0;
		}
	}
	h1_puts(w, "\r\n");
}

int
h1_build_req_head(char *out, size_t cap, const struct http_msg *m,
    const struct h1_req_edit *ed)
{
	static const char *const conn[] = { NULL, "connection: close\r\n",
	    "connection: keep-alive\r\n", "connection: upgrade\r\n" };
	struct h1_out w = { out, out + cap, 0 };
	char num[24];
	int i;

	h1_put(&w, m->method, m->method_len);
	h1_puts(&w, " ");
	h1_put(&w, m->uri, m->uri_len);
	h1_puts(&w, m->minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
	for (i = 0; i < m->nhdr; i++) {
		const struct http_hdr *h = &m->hdr[i];

		if (u_ieq(h->name, h->name_len, "connection") ||
		    u_ieq(h->name, h->name_len, "transfer-encoding") ||
		    u_ieq(h->name, h->name_len, "content-length") ||
		    u_ieq(h->name, h->name_len, "proxy-connection"))
			continue;
		h1_put_hdr(&w, h->name, h->name_len, h->value, h->value_len);
	}
	if (m->flags & MSG_CLEN) {
		/* one length, however it was written ("5, 5" or twice) */
		snprintf(num, sizeof(num), "%lld", (long long)m->clen);
		h1_put_hdr(&w, "content-length", 14, num, strlen(num));
	}
	if (m->flags & MSG_CHUNKED)
		h1_put_te(&w, m);
	if (conn[ed->conn])
		h1_puts(&w, conn[ed->conn]);
	h1_puts(&w, "\r\n");
	return w.overflow ? -1 : (int)(w.o - out);
}

int
h1_build_rsp_head(char *out, size_t cap, const struct http_msg *m,
    const char *line, size_t linelen, int conn)
{
	struct h1_out w = { out, out + cap, 0 };
	int i;

	h1_put(&w, line, linelen);
	h1_puts(&w, "\r\n");
	for (i = 0; i < m->nhdr; i++) {
		const struct http_hdr *h = &m->hdr[i];

		if (m->status != 101 && (u_ieq(h->name, h->name_len, "connection") ||
		    u_ieq(h->name, h->name_len, "keep-alive")))
			continue;
		h1_put_hdr(&w, h->name, h->name_len, h->value, h->value_len);
	}
	if (conn == H1_CONN_CLOSE)
		h1_puts(&w, "connection: close\r\n");
	else if (conn == H1_CONN_KA)
		h1_puts(&w, "connection: keep-alive\r\n");
	h1_puts(&w, "\r\n");
	return w.overflow ? -1 : (int)(w.o - out);
}

/* ---- error pages (errorfile, errorloc, http-error) ---- */

/* Is <pg>'s framing sound, as HAProxy's http_str_to_htx() wants it? */
static const char *
h1_page_framing(const struct http_msg *m, size_t body)
{
	if (m->status < 200)
		return "invalid http status code for an error message";
	if (m->flags & MSG_CHUNKED)
		return "chunk-encoded payload not supported";
	if (body && (m->status == 204 || m->status == 304 ||
	    ((m->flags & MSG_CLEN) && m->clen == 0)))
		return "message payload not expected";
	if ((m->flags & MSG_CLEN) && (uint64_t)m->clen != body)
		return "payload size does not match the announced content-length";
	return NULL;
}

int
h1_page_parse(const char *raw, size_t len, char *out, size_t cap,
    struct h1_page *pg, const char **why)
{
	static struct http_msg m;	/* large; load time only */
	struct h1_out w = { out, out + cap, 0 };
	size_t ll;
	int r, i;

	memset(pg, 0, sizeof(*pg));
	if (len == 0) {
		pg->empty = 1;	/* HAProxy: nothing is sent, the connection closes */
		return 0;
	}
	if ((r = h1_parse_response(raw, len, &m)) <= 0) {
		*why = r == 0 ? "incomplete response head" :
		    m.err_what ? m.err_what : "invalid response head";
		return -1;
	}
	if ((*why = h1_page_framing(&m, len - (size_t)r)) != NULL)
		return -1;
	u_eol(raw, (size_t)r, &ll, NULL);
	h1_put(&w, raw, ll);
	h1_puts(&w, "\r\n");
	for (i = 0; i < m.nhdr; i++) {
		const struct http_hdr *h = &m.hdr[i];
		char *n = w.o;
		size_t k;

		/* hop-by-hop: the connection header is the session's to write */
		if (u_ieq(h->name, h->name_len, "connection") ||
		    u_ieq(h->name, h->name_len, "keep-alive") ||
		    u_ieq(h->name, h->name_len, "proxy-connection"))
			continue;
		h1_put_hdr(&w, h->name, h->name_len, h->value, h->value_len);
		for (k = 0; !w.overflow && k < h->name_len; k++)
			n[k] = (char)u_lower((unsigned char)n[k]);	/* as HAProxy emits */
	}
	pg->head_len = (unsigned)(w.o - out);
	h1_put(&w, raw + r, len - (size_t)r);
	if (w.overflow) {
		*why = "too large";
		return -1;
	}
	pg->data = out;
	pg->body_len = (unsigned)(len - (size_t)r);
	pg->status = m.status;
	pg->v10 = m.minor == 0;
	/* a body without a length ends with the connection */
	pg->close = (m.flags & MSG_CONN_CLOSE) || (!(m.flags & MSG_CLEN) &&
	    m.status != 204 && m.status != 304);
	return 0;
}

int
h1_page_write(const struct h1_page *pg, int conn, int head_only, char *out,
    size_t cap)
{
	struct h1_out w = { out, out + cap, 0 };

	if (pg->empty)
		return 0;
	h1_put(&w, pg->data, pg->head_len);
	if (conn == H1_CONN_CLOSE)
		h1_puts(&w, "connection: close\r\n");
	else if (conn == H1_CONN_KA)
		h1_puts(&w, "connection: keep-alive\r\n");
	h1_puts(&w, "\r\n");
	if (!head_only)
		h1_put(&w, pg->data + pg->head_len, pg->body_len);
	return w.overflow ? -1 : (int)(w.o - out);
}

/* The path of a request target: without query string, and without the
 * scheme and authority of an absolute-form target. */
static void
h1_uri_path(const struct http_msg *m, const char **p, size_t *n)
{
	const char *s = m->uri, *e = m->uri + m->uri_len, *q;

	if (s < e && *s != '/' && (q = memchr(s, ':', (size_t)(e - s))) != NULL &&
	    e - q > 2 && q[1] == '/' && q[2] == '/') {
		s = q + 3;
		while (s < e && *s != '/')
			s++;
	}
	q = memchr(s, '?', (size_t)(e - s));
	*p = s;
	*n = (size_t)((q ? q : e) - s);
}
/*==== end h1 ====*/

/*==== begin json ====*/
/*
 * A validating JSON reader, just enough for health answers (nodeos
 * get_info today): a tokenizer that skips values it does not keep, reads
 * the ones it does into bounded buffers, and walks an object's members
 * refusing duplicate keys.  Depth is bounded so recursion is bounded (two
 * frames per level); nothing is allocated.
 */

#define JSON_MAX_DEPTH		32	/* the top-level object is level 1 */
#define JSON_MAX_KEYS		128	/* top-level keys tracked for duplicates */
#define JSON_ERR_SYNTAX		-1
#define JSON_ERR_DEPTH		-2

struct json {
	const char	*p;
	const char	*end;
};

/* A key already seen in an object: where it starts, and its hash. */
struct json_key {
	const char	*at;
	uint32_t	 hash;
};

static void
json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* Four hex digits at p, or -1. */
static long
json_hex4(const char *p, const char *end)
{
	long v = 0;
	int i, d;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((d = u_hexval((unsigned char)p[i])) < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * UTF-8 for a code point.  A lone surrogate is encoded as its 3-byte form
 * (WTF-8): JSON allows it, and keys only need a canonical byte sequence so
 * that "a\u0062" and "ab" compare equal.
 */
static int
json_utf8_put(unsigned char out[4], unsigned long u)
{
	if (u < 0x80) {
		out[0] = (unsigned char)u;
		return 1;
	}
	if (u < 0x800) {
		out[0] = (unsigned char)(0xc0 | u >> 6);
		out[1] = (unsigned char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		out[0] = (unsigned char)(0xe0 | u >> 12);
		out[1] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (u & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | u >> 18);
	out[1] = (unsigned char)(0x80 | (u >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (u & 0x3f));
	return 4;
}

/*
 * One character of a string body at *pp (after the opening quote): 1 with
 * its decoded bytes in out[0..*n), 0 at the closing quote (consumed), -1 if
 * malformed.  Raw bytes >= 0x20 pass as they are (no UTF-8 validation:
 * nodeos never needs it and the values we keep are sanitised anyway).
 */
static int
json_char(const char **pp, const char *end, unsigned char out[4], int *n)
{
	const char *p = *pp;
	unsigned char c;
	long u, lo;

	if (p >= end)
		return -1;
	c = (unsigned char)*p++;
	if (c == '"') {
		*pp = p;
		return 0;
	}
	if (c < 0x20)
		return -1;
	*n = 1;
	if (c != '\\') {
		out[0] = c;
		*pp = p;
		return 1;
	}
	if (p >= end)
		return -1;
	switch (*p++) {
	case '"':	out[0] = '"'; break;
	case '\\':	out[0] = '\\'; break;
	case '/':	out[0] = '/'; break;
	case 'b':	out[0] = '\b'; break;
	case 'f':	out[0] = '\f'; break;
	case 'n':	out[0] = '\n'; break;
	case 'r':	out[0] = '\r'; break;
	case 't':	out[0] = '\t'; break;
	case 'u':
		if ((u = json_hex4(p, end)) < 0)
			return -1;
		p += 4;
		if (u >= 0xd800 && u <= 0xdbff && end - p >= 6 &&
		    p[0] == '\\' && p[1] == 'u' &&
		    (lo = json_hex4(p + 2, end)) >= 0xdc00 && lo <= 0xdfff) {
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		*n = json_utf8_put(out, (unsigned long)u);
		break;
	default:
		return -1;
	}
	*pp = p;
	return 1;
}

/*
 * A string at j->p (on the opening quote).  Decoded bytes go to dst[0..cap)
 * when dst is given; *dlen gets the full decoded length even past cap, and
 * *hash an FNV-1a of the decoded bytes (used for duplicate keys).
 */
static int
json_string(struct json *j, char *dst, size_t cap, size_t *dlen,
    uint32_t *hash)
{
	const char *p = j->p + 1;
	unsigned char b[4];
	uint32_t h = 2166136261u;
	size_t len = 0;
	int r, n, i;

	while ((r = json_char(&p, j->end, b, &n)) == 1) {
		for (i = 0; i < n; i++, len++) {
			if (dst != NULL && len < cap)
				dst[len] = (char)b[i];
			h = (h ^ b[i]) * 16777619u;
		}
	}
	if (r < 0)
		return JSON_ERR_SYNTAX;
	j->p = p;
	if (dlen != NULL)
		*dlen = len;
	if (hash != NULL)
		*hash = h;
	return 0;
}

/* Byte-wise walk over a decoded string, to compare two keys exactly. */
struct json_str_it {
	const char	*p, *end;
	unsigned char	 b[4];
	int		 n, i;
};

static int
json_str_next(struct json_str_it *it)
{
	if (it->i < it->n)
		return it->b[it->i++];
	if (json_char(&it->p, it->end, it->b, &it->n) != 1)
		return -1;
	it->i = 1;
	return it->b[0];
}

/* Do the (already validated) strings whose opening quotes are a, b match? */
static int
json_key_eq(const char *a, const char *b, const char *end)
{
	struct json_str_it x = { a + 1, end, { 0 }, 0, 0 };
	struct json_str_it y = { b + 1, end, { 0 }, 0, 0 };
	int ca, cb;

	do {
		ca = json_str_next(&x);
		cb = json_str_next(&y);
		if (ca != cb)
			return 0;
	} while (ca >= 0);
	return 1;
}

static int
json_number(struct json *j)
{
	const char *p = j->p, *end = j->end;

	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return JSON_ERR_SYNTAX;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < end && U_DIGIT(*p))
			p++;
	else
		return JSON_ERR_SYNTAX;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !U_DIGIT(*p))
			return JSON_ERR_SYNTAX;
		while (p < end && U_DIGIT(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !U_DIGIT(*p))
			return JSON_ERR_SYNTAX;
		while (p < end && U_DIGIT(*p))
			p++;
	}
	j->p = p;
	return 0;
}

static int
json_literal(struct json *j, const char *lit, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return JSON_ERR_SYNTAX;
	j->p += n;
	return 0;
}

static int json_skip(struct json *, int);

/* An object or array at j->p; depth is the level it opens. */
static int
json_container(struct json *j, int depth)
{
	char close = *j->p == '{' ? '}' : ']';
	int r;

	if (depth > JSON_MAX_DEPTH)
		return JSON_ERR_DEPTH;
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		json_ws(j);
		if (close == '}') {
			if (j->p >= j->end || *j->p != '"')
				return JSON_ERR_SYNTAX;
			if ((r = json_string(j, NULL, 0, NULL, NULL)) < 0)
				return r;
			json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return JSON_ERR_SYNTAX;
			j->p++;
			json_ws(j);
		}
		if ((r = json_skip(j, depth)) < 0)
			return r;
		json_ws(j);
		if (j->p >= j->end)
			return JSON_ERR_SYNTAX;
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		return JSON_ERR_SYNTAX;
	}
}

/* Any value at j->p, inside a container at level depth. */
static int
json_skip(struct json *j, int depth)
{
	if (j->p >= j->end)
		return JSON_ERR_SYNTAX;
	switch (*j->p) {
	case '"':
		return json_string(j, NULL, 0, NULL, NULL);
	case '{':
	case '[':
		return json_container(j, depth + 1);
	case 't':
		return json_literal(j, "true", 4);
	case 'f':
		return json_literal(j, "false", 5);
	case 'n':
		return json_literal(j, "null", 4);
	default:
		return json_number(j);
	}
}

/* What a top-level value turned out to be, for the keys we read. */
enum { JV_STRING, JV_NUMBER, JV_NULL, JV_OTHER };

struct json_val {
	int		 kind;
	char		 buf[80];	/* decoded string, truncated at 80 */
	size_t		 len;		/* full decoded length */
	const char	*num;		/* raw number text */
	size_t		 num_len;
};

static int
json_value(struct json *j, struct json_val *v)
{
	const char *start = j->p;
	int r;

	if (j->p >= j->end)
		return JSON_ERR_SYNTAX;
	if (*j->p == '"') {
		v->kind = JV_STRING;
		return json_string(j, v->buf, sizeof(v->buf), &v->len, NULL);
	}
	if ((r = json_skip(j, 1)) < 0)
		return r;
	if (*start == '-' || U_DIGIT(*start)) {
		v->kind = JV_NUMBER;
		v->num = start;
		v->num_len = (size_t)(j->p - start);
	} else
		v->kind = *start == 'n' ? JV_NULL : JV_OTHER;
	return 0;
}

/* A block number as a JSON number or a JSON string of digits. */
static int
json_val_u64(const struct json_val *v, uint64_t *out)
{
	if (v->kind == JV_NUMBER)
		return u_parse_u64(v->num, v->num_len, out);
	if (v->kind == JV_STRING && v->len <= sizeof(v->buf))
		return u_parse_u64(v->buf, v->len, out);
	return -1;
}


#define JSON_ERR_APP		-3	/* the member callback set its own reason */

/* A member callback reads or skips the value at j; 0, or a JSON_ERR_*. */
typedef int (*json_member_fn)(void *ctx, const char *key, size_t klen,
    struct json *j);

/* One "key": value of an object; duplicates of earlier keys refused. */
static int
json_member(struct json *j, struct json_key *keys, size_t *nkeys,
    json_member_fn fn, void *ctx, const char **why)
{
	const char *at = j->p;
	char key[32];
	size_t klen, i;
	uint32_t hash;

	if (j->p >= j->end || *j->p != '"' ||
	    json_string(j, key, sizeof(key), &klen, &hash) < 0)
		return JSON_ERR_SYNTAX;
	for (i = 0; i < *nkeys; i++)
		if (keys[i].hash == hash && json_key_eq(keys[i].at, at, j->end)) {
			*why = "duplicate key";
			return JSON_ERR_APP;
		}
	if (*nkeys == JSON_MAX_KEYS) {
		*why = "too many keys";
		return JSON_ERR_APP;
	}
	keys[*nkeys].at = at;
	keys[(*nkeys)++].hash = hash;
	json_ws(j);
	if (j->p >= j->end || *j->p != ':')
		return JSON_ERR_SYNTAX;
	j->p++;
	json_ws(j);
	if (klen > sizeof(key))
		return json_skip(j, 1);
	return fn(ctx, key, klen, j);
}

/* Walk the members of the object that is the whole of text[0..len).
 * Returns 0, or -1 with the reason in *why (a callback returning
 * JSON_ERR_APP has set it). */
static int
json_walk_object(const char *text, size_t len, json_member_fn fn, void *ctx,
    const char **why)
{
	struct json_key keys[JSON_MAX_KEYS];
	struct json j = { text, text != NULL ? text + len : text };
	size_t nkeys = 0;
	int r = JSON_ERR_SYNTAX;

	if (len == 0)		/* text may be NULL: no arithmetic on it */
		goto fail;
	json_ws(&j);
	if (j.p < j.end && *j.p != '{') {
		*why = "not a JSON object";
		return -1;
	}
	if (j.p >= j.end)
		goto fail;
	j.p++;
	json_ws(&j);
	if (j.p < j.end && *j.p == '}')
		j.p++;
	else
		for (;;) {
			json_ws(&j);
			if ((r = json_member(&j, keys, &nkeys, fn, ctx, why)) < 0)
				goto fail;
			r = JSON_ERR_SYNTAX;
			json_ws(&j);
			if (j.p < j.end && *j.p == ',') {
				j.p++;
				continue;
			}
			if (j.p >= j.end || *j.p != '}')
				goto fail;
			j.p++;
			break;
		}
	json_ws(&j);
	if (j.p == j.end)
		return 0;
	r = JSON_ERR_SYNTAX;
fail:
	if (r == JSON_ERR_APP)
		return -1;
	*why = r == JSON_ERR_DEPTH ? "JSON nested too deeply" : "malformed JSON";
	return -1;
}
/*==== end json ====*/

/*==== begin chain ====*/
/*
 * What an Antelope node says about its chain, read from its answers:
 * nodeos GET /v1/chain/get_info (head, LIB, head block time, chain id,
 * version).  Numbers may be JSON numbers or strings of digits, times are
 * fc's "YYYY-MM-DDTHH:MM:SS.mmm" (UTC).
 */

static int64_t
chain_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	/* Howard Hinnant's algorithm: proleptic Gregorian, no tables. */
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * "YYYY-MM-DDTHH:MM:SS", an optional ".mmm" (exactly three digits, as fc
 * prints them) and an optional 'Z'; nothing else.
 */
static int
chain_parse_time(const char *s, size_t n, int64_t *ms)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, h, mi, sec, frac = 0, fdig = 0, dim;
	size_t i = 19;

	if (n < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if ((y = u_parse_dec(s, 4, 9999)) < 0 || (mo = u_parse_dec(s + 5, 2, 9999)) < 0 ||
	    (d = u_parse_dec(s + 8, 2, 9999)) < 0 || (h = u_parse_dec(s + 11, 2, 9999)) < 0 ||
	    (mi = u_parse_dec(s + 14, 2, 9999)) < 0 || (sec = u_parse_dec(s + 17, 2, 9999)) < 0)
		return -1;
	if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59)
		return -1;
	dim = mdays[mo - 1];
	if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		dim = 29;
	if (d < 1 || d > dim)
		return -1;
	if (i < n && s[i] == '.') {
		for (i++; i < n && U_DIGIT(s[i]); i++, fdig++)
			if (fdig < 3)	/* more digits are refused: no overflow */
				frac = frac * 10 + (s[i] - '0');
		if (fdig != 3)
			return -1;
	}
	if (i < n && s[i] == 'Z')
		i++;
	if (i != n)
		return -1;
	*ms = (chain_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec) * 1000 + frac;
	return 0;
}

enum {
	KEY_HEAD = 1, KEY_LIB = 2, KEY_TIME = 4, KEY_CHAIN = 8, KEY_VERSION = 16
};

/* Apply one interesting top-level value; NULL or the reason it is bad. */
static const char *
chain_info_apply(struct nodeos_info *out, int key, const struct json_val *v)
{
	size_t i;

	switch (key) {
	case KEY_HEAD:
		if (json_val_u64(v, &out->head) < 0)
			return "bad head_block_num";
		break;
	case KEY_LIB:
		if (json_val_u64(v, &out->lib) < 0)
			return "bad last_irreversible_block_num";
		break;
	case KEY_TIME:
		if (v->kind != JV_STRING || v->len > sizeof(v->buf) ||
		    chain_parse_time(v->buf, v->len, &out->head_time_ms) < 0)
			return "bad head_block_time";
		break;
	case KEY_CHAIN:
		if (v->kind == JV_NULL)
			break;
		if (v->kind != JV_STRING || v->len != 64)
			return "bad chain_id";
		for (i = 0; i < 64; i++) {
			if (u_hexval((unsigned char)v->buf[i]) < 0)
				return "bad chain_id";
			out->chain_id[i] = (char)u_lower((unsigned char)v->buf[i]);
		}
		out->chain_id[64] = '\0';
		break;
	case KEY_VERSION:
		if (v->kind == JV_NULL)
			break;
		if (v->kind != JV_STRING)
			return "bad server_version";
		u_copy_printable(out->server_version,
		    sizeof(out->server_version), v->buf,
		    v->len < sizeof(v->buf) ? v->len : sizeof(v->buf));
		break;
	}
	return NULL;
}

static int
chain_info_key(const char *k, size_t n)
{
	if (n == 14 && memcmp(k, "head_block_num", 14) == 0)
		return KEY_HEAD;
	if (n == 27 && memcmp(k, "last_irreversible_block_num", 27) == 0)
		return KEY_LIB;
	if (n == 15 && memcmp(k, "head_block_time", 15) == 0)
		return KEY_TIME;
	if (n == 8 && memcmp(k, "chain_id", 8) == 0)
		return KEY_CHAIN;
	if (n == 14 && memcmp(k, "server_version", 14) == 0)
		return KEY_VERSION;
	return 0;
}

struct chain_info_ctx {
	struct nodeos_info *out;
	int		 seen;
	const char	**why;
};

static int
chain_info_member(void *ctx, const char *key, size_t klen, struct json *j)
{
	struct chain_info_ctx *c = ctx;
	struct json_val v;
	const char *bad;
	int k = chain_info_key(key, klen), r;

	if (k == 0)
		return json_skip(j, 1);
	if ((r = json_value(j, &v)) < 0)
		return r;
	if ((bad = chain_info_apply(c->out, k, &v)) != NULL) {
		*c->why = bad;
		return JSON_ERR_APP;
	}
	c->seen |= k;
	return 0;
}

int
chain_nodeos_info_parse(const char *json, size_t len, struct nodeos_info *out,
    const char **why)
{
	const char *dummy;
	struct chain_info_ctx c = { out, 0, NULL };

	if (why == NULL)
		why = &dummy;
	c.why = why;
	memset(out, 0, sizeof(*out));
	if (json_walk_object(json, len, chain_info_member, &c, why) < 0)
		return -1;
	if (!(c.seen & KEY_HEAD))
		*why = "missing head_block_num";
	else if (!(c.seen & KEY_LIB))
		*why = "missing last_irreversible_block_num";
	else if (!(c.seen & KEY_TIME))
		*why = "missing head_block_time";
	else
		return 0;
	return -1;
}
/*==== end chain ====*/

/*==== begin ws ====*/
/*
 * Websockets (RFC 6455) from the client side: the upgrade request and the
 * check of the server's 101, masked client frames, and an incremental
 * reader of server frames.  A message's payload is counted and, up to a
 * caller's bound, copied: a SHIP message may exceed 1 GiB and must never
 * be buffered whole.
 */

/* One binary FIN frame with a payload under 126 bytes (all ours are). */
static int
ws_client_frame(unsigned char *out, size_t cap, const unsigned char mask[4],
    const unsigned char *pl, size_t n)
{
	size_t i;

	if (n > 125 || cap < 6 + n)
		return -1;
	out[0] = 0x80 | WS_OP_BINARY;
	out[1] = (unsigned char)(0x80 | n);
	memcpy(out + 2, mask, 4);
	for (i = 0; i < n; i++)
		out[6 + i] = pl[i] ^ mask[i & 3];
	return (int)(6 + n);
}


/* Appends that stop writing at the first overflow and remember it. */
struct ws_out {
	char	*p;
	size_t	 cap, len;
	int	 overflow;
};

static void
ws_out_put(struct ws_out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->overflow || n >= o->cap - o->len) {
		o->overflow = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* Visible ASCII only: a CR, LF or space here would let a config value inject headers. */
static int
ws_visible(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f)
			return 0;
	return i > 0;
}

int
ws_build_upgrade(char *out, size_t cap, const char *host, const char *path,
    const unsigned char key16[16])
{
	/* the result is an int: never use more than INT_MAX bytes */
	struct ws_out o = { out, cap < INT_MAX ? cap : INT_MAX, 0, 0 };
	char key[25];

	if (cap == 0 || !ws_visible(host, 1024) ||
	    !ws_visible(path, 4096) || path[0] != '/')
		return -1;
	out[0] = '\0';
	(void)u_b64_encode(key16, 16, key, sizeof(key));
	ws_out_put(&o, "GET ");
	ws_out_put(&o, path);
	ws_out_put(&o, " HTTP/1.1\r\nHost: ");
	ws_out_put(&o, host);
	ws_out_put(&o, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: ");
	ws_out_put(&o, key);
	ws_out_put(&o, "\r\nSec-WebSocket-Version: 13\r\n\r\n");
	if (o.overflow)
		return -1;
	return (int)o.len;
}

/* base64(SHA1(base64(key16) + GUID)), RFC 6455 4.2.2: 28 chars + NUL. */
static void
ws_accept_key(const unsigned char key16[16], char accept[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	br_sha1_context sc;
	unsigned char digest[br_sha1_SIZE];
	char key[25];

	(void)u_b64_encode(key16, 16, key, sizeof(key));
	br_sha1_init(&sc);
	br_sha1_update(&sc, key, 24);
	br_sha1_update(&sc, guid, sizeof(guid) - 1);
	br_sha1_out(&sc, digest);
	(void)u_b64_encode(digest, sizeof(digest), accept, 29);
}

/* "HTTP/1.1 NNN[ reason]" in s[0..n): the code, or -1 if malformed. */
static int
ws_status_line(const char *s, size_t n)
{
	size_t i;
	int code;

	if (n < 12 || memcmp(s, "HTTP/1.1 ", 9) != 0 ||
	    (code = (int)u_parse_dec(s + 9, 3, 999)) < 0 || (n > 12 && s[12] != ' '))
		return -1;
	for (i = 12; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return -1;
	return code;
}

/* Where the head ends: 0 while incomplete, -1 on a bare CR, a bare LF or
 * a NUL; *line0 is where the second line starts (0 before it is in). */
static long
ws_head_end(const char *buf, size_t len, size_t *line0)
{
	size_t lim = len < WS_HEAD_MAX_BYTES ? len : WS_HEAD_MAX_BYTES, i;

	*line0 = 0;
	for (i = 0; i < lim; i++) {
		if (buf[i] == '\r') {
			if (i + 1 < len && buf[i + 1] != '\n')
				return -1;
		} else if (buf[i] == '\n') {
			if (i == 0 || buf[i - 1] != '\r')
				return -1;
			if (*line0 == 0)
				*line0 = i + 1;
			if (i >= 3 && buf[i - 2] == '\n')
				return (long)(i + 1);
		} else if (buf[i] == '\0')
			return -1;
	}
	return 0;
}

/* What the header lines of a 101 say. */
struct ws_head {
	int		 upgrade, conn, n_accept, accept_ok;
};

/* One "name: value" line s[0..e) of a 101; -1 with *why when it fails. */
static int
ws_head_field(const char *s, size_t n, const char *accept, struct ws_head *h,
    const char **why)
{
	const char *v;
	size_t c, vn, i;

	/* obs-fold and "name : value" are refused, as for requests */
	for (c = 0; c < n && U_TCHAR(s[c]); c++)
		;
	if (c == 0 || c == n || s[c] != ':') {
		*why = "malformed head";
		return -1;
	}
	v = s + c + 1;
	vn = n - c - 1;
	while (vn > 0 && U_OWS(v[0])) {
		v++;
		vn--;
	}
	while (vn > 0 && U_OWS(v[vn - 1]))
		vn--;
	for (i = 0; i < vn; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f) {
			*why = "malformed head";
			return -1;
		}
	if (u_ieq(s, c, "upgrade"))
		h->upgrade |= u_list_has(v, vn, "websocket");
	else if (u_ieq(s, c, "connection"))
		h->conn |= u_list_has(v, vn, "upgrade");
	else if (u_ieq(s, c, "sec-websocket-accept")) {
		h->n_accept++;
		h->accept_ok = vn == 28 && memcmp(v, accept, 28) == 0;
	} else if (u_ieq(s, c, "sec-websocket-extensions") ||
	    u_ieq(s, c, "sec-websocket-protocol")) {
		/* we offered none: RFC 6455 4.1 says fail */
		*why = "unrequested extension or subprotocol";
		return -1;
	}
	return 0;
}

int
ws_check_upgrade(const char *buf, size_t len, const unsigned char key16[16],
    const char **why)
{
	struct ws_head h = { 0, 0, 0, 0 };
	const char *dummy;
	char accept[29];
	size_t line0, s, e;
	long head;
	int code;

	if (why == NULL)
		why = &dummy;
	u_cclass_init();
	/* Something that is not HTTP/1.1 at all is refused without waiting. */
	if (len > 0 && memcmp(buf, "HTTP/1.1 ", len < 9 ? len : 9) != 0) {
		*why = "malformed status line";
		return -1;
	}
	if ((head = ws_head_end(buf, len, &line0)) < 0) {
		*why = "malformed head";
		return -1;
	}
	/* Answer "not 101" as soon as the status line is in. */
	if (line0 != 0 && (code = ws_status_line(buf, line0 - 2)) != 101) {
		*why = code < 0 ? "malformed status line" : "not 101";
		return -1;
	}
	if (head == 0) {
		if (len >= WS_HEAD_MAX_BYTES) {
			*why = "head too large";
			return -1;
		}
		return 0;
	}
	ws_accept_key(key16, accept);
	for (s = line0; s < (size_t)head - 2; s = e + 2) {
		for (e = s; buf[e] != '\r'; e++)
			;
		if (ws_head_field(buf + s, e - s, accept, &h, why) < 0)
			return -1;
	}
	if (!h.upgrade || !h.conn) {
		*why = "missing upgrade headers";
		return -1;
	}
	if (h.n_accept != 1 || !h.accept_ok) {
		*why = "bad Sec-WebSocket-Accept";
		return -1;
	}
	return (int)head;
}

void
ws_reader_init(struct ws_reader *r, unsigned char *keep_buf, size_t keep,
    uint64_t max_msg)
{
	memset(r, 0, sizeof(*r));
	r->keep_buf = keep_buf;
	r->keep = keep_buf != NULL ? keep : 0;
	r->max_msg = max_msg;
	r->hdr_need = 2;
}

/* Check the header as its bytes arrive, so a violation is seen at once. */
static const char *
ws_hdr_byte(struct ws_reader *r)
{
	unsigned char b = r->hdr[r->hdr_have - 1];
	int op = r->hdr[0] & 0x0f, ctl = op >= WS_OP_CLOSE;
	uint64_t n;
	int i;

	switch (r->hdr_have) {
	case 1:
		if (b & 0x70)
			return "reserved bits set";
		switch (op) {
		case WS_OP_CONT:
			if (!r->in_msg)
				return "continuation without a message";
			break;
		case WS_OP_TEXT:
		case WS_OP_BINARY:
			if (r->in_msg)
				return "new data frame inside a message";
			break;
		case WS_OP_CLOSE:
		case WS_OP_PING:
		case WS_OP_PONG:
			if (!(b & 0x80))
				return "fragmented control frame";
			break;
		default:
			return "unknown opcode";
		}
		return NULL;
	case 2:
		if (b & 0x80)
			return "masked server frame";
		if (ctl && (b & 0x7f) > WS_CTL_MAX_BYTES)
			return "control frame too long";
		if ((b & 0x7f) == 126)
			r->hdr_need = 4;
		else if ((b & 0x7f) == 127)
			r->hdr_need = 10;
		break;
	}
	if (r->hdr_have < r->hdr_need)
		return NULL;

	/* Header complete: start the frame. */
	if (r->hdr_need == 2)
		n = r->hdr[1] & 0x7f;
	else if (r->hdr_need == 4)
		n = (uint64_t)r->hdr[2] << 8 | r->hdr[3];
	else {
		if (r->hdr[2] & 0x80)
			return "64-bit length with top bit set";
		for (n = 0, i = 2; i < 10; i++)
			n = n << 8 | r->hdr[i];
	}
	r->frame_op = (unsigned char)op;
	r->frame_fin = r->hdr[0] >> 7;
	r->frame_left = n;
	r->in_payload = 1;
	r->hdr_have = 0;
	r->hdr_need = 2;
	if (ctl) {
		r->ctl_opcode = op;
		r->ctl_len = 0;
		return NULL;
	}
	if (op != WS_OP_CONT) {
		r->in_msg = 1;
		r->msg_opcode = op;
		r->msg_len = 0;
		r->kept = 0;
	}
	if (n > r->max_msg - r->msg_len)
		return "message too large";
	return NULL;
}

/* The frame's last payload byte is in: WS_MORE, or an event to report. */
static int
ws_frame_end(struct ws_reader *r, const char **bad)
{
	r->in_payload = 0;
	if (r->frame_op >= WS_OP_CLOSE) {
		/* RFC 6455 5.5.1: a close body is empty or starts with a 2-byte code */
		if (r->frame_op == WS_OP_CLOSE && r->ctl_len == 1) {
			*bad = "bad close frame";
			return WS_ERROR;
		}
		return WS_CONTROL;
	}
	if (r->frame_fin) {
		r->in_msg = 0;
		return WS_MSG_DONE;
	}
	return WS_MORE;
}

long
ws_reader_feed(struct ws_reader *r, const unsigned char *p, size_t len,
    int *ev, const char **why)
{
	const char *dummy, *bad = NULL;
	size_t i = 0, n, c;
	int e;

	if (why == NULL)
		why = &dummy;
	if (r->fail_why != NULL) {
		*why = r->fail_why;
		*ev = WS_ERROR;
		return 0;
	}
	if (len > LONG_MAX)
		len = LONG_MAX;
	while (i < len) {
		if (!r->in_payload) {
			r->hdr[r->hdr_have++] = p[i++];
			if ((bad = ws_hdr_byte(r)) != NULL)
				goto fail;
			if (!r->in_payload || r->frame_left > 0)
				continue;
		} else {
			n = len - i;
			if (n > r->frame_left)
				n = (size_t)r->frame_left;
			if (r->frame_op >= WS_OP_CLOSE) {
				/* frame_left <= 125 - ctl_len by the header check */
				memcpy(r->ctl_payload + r->ctl_len, p + i, n);
				r->ctl_len += n;
			} else {
				c = r->keep - r->kept;
				if (c > n)
					c = n;
				if (c > 0)
					memcpy(r->keep_buf + r->kept, p + i, c);
				r->kept += c;
				r->msg_len += n;
			}
			i += n;
			r->frame_left -= n;
			if (r->frame_left > 0)
				continue;
		}
		if ((e = ws_frame_end(r, &bad)) == WS_ERROR)
			goto fail;
		if (e != WS_MORE) {
			*ev = e;
			return (long)i;
		}
	}
	*ev = WS_MORE;
	return (long)i;
fail:
	r->fail_why = bad;
	*why = bad;
	*ev = WS_ERROR;
	return (long)i;
}
/*==== end ws ====*/

/*==== begin ship ====*/
/*
 * State-History messages, as the SHIP plugin packs them (fc: little-endian
 * integers, varuint32 lengths, optional<> as a bool byte): the results a
 * check reads (get_status_result_v0, get_blocks_result_v0) and the
 * requests it sends as complete masked frames.
 */

static uint32_t
ship_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint32_t
ship_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
ship_put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

#define SHIP_STATUS_V0_BYTES	89	/* EOSIO 2.0: no chain_id */
#define SHIP_STATUS_CHAIN_BYTES	121	/* 2.1, Leap, Spring */
#define SHIP_POS_BYTES		36	/* block_position: u32 num + 32-byte id */

int
ship_status_parse(const unsigned char *p, size_t len, struct ship_status *out,
    const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	if (len < 1 || p[0] != 0) {
		*why = "not a get_status_result_v0";
		return -1;
	}
	if (len < SHIP_STATUS_V0_BYTES) {
		*why = "truncated status";
		return -1;
	}
	out->head = ship_le32(p + 1);
	memcpy(out->head_id, p + 5, 32);
	out->lib = ship_le32(p + 37);
	memcpy(out->lib_id, p + 41, 32);
	out->trace_begin = ship_le32(p + 73);
	out->trace_end = ship_le32(p + 77);
	out->chain_state_begin = ship_le32(p + 81);
	out->chain_state_end = ship_le32(p + 85);
	if (len >= SHIP_STATUS_CHAIN_BYTES) {
		out->has_chain_id = 1;
		memcpy(out->chain_id, p + 89, 32);
	}
	/* A block id starts with its number: a cheap sign we parse the right thing. */
	if (ship_be32(out->head_id) != out->head) {
		*why = "head id does not match head";
		return -1;
	}
	return 0;
}

/*
 * LEB128 varuint32 as fc packs it: at most 5 bytes, the fifth carrying only
 * 4 bits.  Non-minimal encodings are accepted as fc accepts them.
 */
static int
ship_varuint32(const unsigned char *p, size_t len, size_t *used, uint32_t *v)
{
	uint32_t x = 0;
	size_t i;

	for (i = 0; i < 5 && i < len; i++) {
		if (i == 4 && (p[i] & 0xf0))
			return -1;
		x |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*used = i + 1;
			*v = x;
			return 0;
		}
	}
	return -1;
}

int
ship_blocks_parse(const unsigned char *p, size_t len, int *has_this,
    uint32_t *this_num, const char **why)
{
	const char *dummy;
	size_t off, used;
	uint32_t n;
	int i, present;

	if (why == NULL)
		why = &dummy;
	*has_this = 0;
	*this_num = 0;
	if (len < 1 || p[0] != 1) {
		*why = "not a get_blocks_result_v0";
		return -1;
	}
	off = 1 + 2 * SHIP_POS_BYTES;		/* head, last_irreversible */
	if (len < off)
		goto trunc;
	/* this_block, prev_block: optional<block_position> */
	for (i = 0; i < 2; i++) {
		if (off >= len)
			goto trunc;
		if (p[off] > 1)
			goto badbool;
		present = p[off++];
		if (!present)
			continue;
		if (len - off < SHIP_POS_BYTES)
			goto trunc;
		if (i == 0) {
			*has_this = 1;
			*this_num = ship_le32(p + off);
			if (ship_be32(p + off + 4) != *this_num) {
				*why = "this_block id does not match its number";
				return -1;
			}
		}
		off += SHIP_POS_BYTES;
	}
	/* block, traces, deltas: optional<bytes> */
	for (i = 0; i < 3; i++) {
		if (off >= len)
			goto trunc;
		if (p[off] > 1)
			goto badbool;
		if (!p[off++])
			continue;
		if (ship_varuint32(p + off, len - off, &used, &n) < 0) {
			*why = "bad varuint32";
			return -1;
		}
		off += used;
		if (n > len - off)
			goto trunc;
		off += n;
	}
	if (off != len) {
		*why = "trailing bytes after blocks result";
		return -1;
	}
	return 0;
trunc:
	*why = "truncated blocks result";
	return -1;
badbool:
	*why = "bad bool";
	return -1;
}

int
ship_frame_status_req(unsigned char *out, size_t cap,
    const unsigned char mask[4])
{
	static const unsigned char pl[1] = { 0x00 };	/* get_status_request_v0 */

	return ws_client_frame(out, cap, mask, pl, sizeof(pl));
}

int
ship_frame_blocks_req(unsigned char *out, size_t cap,
    const unsigned char mask[4], uint32_t start, uint32_t end,
    uint32_t max_in_flight)
{
	unsigned char pl[18];

	pl[0] = 0x01;			/* get_blocks_request_v0 */
	ship_put_le32(pl + 1, start);
	ship_put_le32(pl + 5, end);
	ship_put_le32(pl + 9, max_in_flight);
	pl[13] = 0x00;			/* have_positions: none */
	pl[14] = 0x00;			/* irreversible_only */
	pl[15] = 0x00;			/* fetch_block */
	pl[16] = 0x00;			/* fetch_traces */
	pl[17] = 0x00;			/* fetch_deltas */
	return ws_client_frame(out, cap, mask, pl, sizeof(pl));
}

/*==== end ship ====*/

/*==== begin crt ====*/
/*
 * Certificates for "bind ... ssl crt": PEM files or directories of them
 * (sorted, as HAProxy), the chain leaf first, an RSA or EC private key
 * (PKCS#1, SEC1, PKCS#8) that must match the leaf; names from the SAN
 * dNSNames, else the CN, for SNI.  Every bound is named; key material is
 * wiped before it is freed; errors are a message for "file:line:".
 */

/* A crt file is a few KB; the cap only stops a wrong path (a disk image,
 * /dev/zero) from eating memory. */
#define TLS_CERT_MAX_FILE	(8u << 20)
/* More than this many certificates in one file is certainly a mistake
 * (a CA bundle given as crt), and it bounds the allocations. */
#define TLS_CERT_MAX_CHAIN	32
/* Bounds the names array against a certificate stuffed with SANs. */
#define TLS_CERT_MAX_NAMES	1024

static void
crt_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- BearSSL error names ---- */

#define E(x)	{ x, #x }
static const struct {
	int		 code;
	const char	*name;
} crt_errs[] = {
	E(BR_ERR_OK), E(BR_ERR_BAD_PARAM), E(BR_ERR_BAD_STATE),
	E(BR_ERR_UNSUPPORTED_VERSION), E(BR_ERR_BAD_VERSION), E(BR_ERR_BAD_LENGTH),
	E(BR_ERR_TOO_LARGE), E(BR_ERR_BAD_MAC), E(BR_ERR_NO_RANDOM),
	E(BR_ERR_UNKNOWN_TYPE), E(BR_ERR_UNEXPECTED), E(BR_ERR_BAD_CCS),
	E(BR_ERR_BAD_ALERT), E(BR_ERR_BAD_HANDSHAKE), E(BR_ERR_OVERSIZED_ID),
	E(BR_ERR_BAD_CIPHER_SUITE), E(BR_ERR_BAD_COMPRESSION), E(BR_ERR_BAD_FRAGLEN),
	E(BR_ERR_BAD_SECRENEG), E(BR_ERR_EXTRA_EXTENSION), E(BR_ERR_BAD_SNI),
	E(BR_ERR_BAD_HELLO_DONE), E(BR_ERR_LIMIT_EXCEEDED), E(BR_ERR_BAD_FINISHED),
	E(BR_ERR_RESUME_MISMATCH), E(BR_ERR_INVALID_ALGORITHM), E(BR_ERR_BAD_SIGNATURE),
	E(BR_ERR_WRONG_KEY_USAGE), E(BR_ERR_NO_CLIENT_AUTH), E(BR_ERR_IO),
	E(BR_ERR_X509_OK), E(BR_ERR_X509_INVALID_VALUE), E(BR_ERR_X509_TRUNCATED),
	E(BR_ERR_X509_EMPTY_CHAIN), E(BR_ERR_X509_INNER_TRUNC), E(BR_ERR_X509_BAD_TAG_CLASS),
	E(BR_ERR_X509_BAD_TAG_VALUE), E(BR_ERR_X509_INDEFINITE_LENGTH), E(BR_ERR_X509_EXTRA_ELEMENT),
	E(BR_ERR_X509_UNEXPECTED), E(BR_ERR_X509_NOT_CONSTRUCTED), E(BR_ERR_X509_NOT_PRIMITIVE),
	E(BR_ERR_X509_PARTIAL_BYTE), E(BR_ERR_X509_BAD_BOOLEAN), E(BR_ERR_X509_OVERFLOW),
	E(BR_ERR_X509_BAD_DN), E(BR_ERR_X509_BAD_TIME), E(BR_ERR_X509_UNSUPPORTED),
	E(BR_ERR_X509_LIMIT_EXCEEDED), E(BR_ERR_X509_WRONG_KEY_TYPE), E(BR_ERR_X509_BAD_SIGNATURE),
	E(BR_ERR_X509_TIME_UNKNOWN), E(BR_ERR_X509_EXPIRED), E(BR_ERR_X509_DN_MISMATCH),
	E(BR_ERR_X509_BAD_SERVER_NAME), E(BR_ERR_X509_CRITICAL_EXTENSION), E(BR_ERR_X509_NOT_CA),
	E(BR_ERR_X509_FORBIDDEN_KEY_USAGE), E(BR_ERR_X509_WEAK_PUBLIC_KEY), E(BR_ERR_X509_NOT_TRUSTED),
};
#undef E

const char *
crt_err_name(int err)
{
	static char buf[48];
	size_t i;

	for (i = 0; i < sizeof(crt_errs) / sizeof(crt_errs[0]); i++)
		if (crt_errs[i].code == err)
			return crt_errs[i].name;
	if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_RECV_FATAL_ALERT + 256)
		snprintf(buf, sizeof(buf), "BR_ERR_RECV_FATAL_ALERT (alert %d)", err - BR_ERR_RECV_FATAL_ALERT);
	else if (err >= BR_ERR_SEND_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT + 256)
		snprintf(buf, sizeof(buf), "BR_ERR_SEND_FATAL_ALERT (alert %d)", err - BR_ERR_SEND_FATAL_ALERT);
	else
		snprintf(buf, sizeof(buf), "BR_ERR_%d", err);
	return buf;
}

/* ---- growable byte buffer, target of the PEM decoder ---- */

struct crt_buf {
	unsigned char	*data;
	size_t		 len;
	size_t		 cap;
	int		 oom;	/* the PEM callback cannot return an error */
};

static void
crt_buf_append(void *ctx, const void *src, size_t len)
{
	struct crt_buf *b = ctx;
	unsigned char *n;
	size_t ncap;

	if (b->oom)
		return;
	if (len > b->cap - b->len) {
		ncap = b->cap ? b->cap : 2048;
		while (ncap - b->len < len) {
			if (ncap > TLS_CERT_MAX_FILE) {
				b->oom = 1;
				return;
			}
			ncap *= 2;
		}
		n = realloc(b->data, ncap);
		if (n == NULL) {
			b->oom = 1;
			return;
		}
		b->data = n;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, src, len);
	b->len += len;
}

static void
crt_buf_free(struct crt_buf *b, int secret)
{
	if (b->data != NULL && secret)
		u_wipe(b->data, b->cap);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- minimal bounded DER reader ---- */

struct crt_der {
	const unsigned char	*p;
	size_t			 len;
};

/*
 * Take one TLV off the front of *in. Only single-byte tags and definite
 * lengths up to 2^32 exist in certificates, anything else is refused
 * rather than guessed at, and the value must fit in what remains.
 */
static int
crt_der_next(struct crt_der *in, unsigned *tag, struct crt_der *val)
{
	size_t i = 0, len, nb;

	if (in->len < 2)
		return -1;
	*tag = in->p[i++];
	if ((*tag & 0x1f) == 0x1f)
		return -1;
	len = in->p[i++];
	if (len & 0x80) {
		nb = len & 0x7f;
		if (nb == 0 || nb > 4 || nb > in->len - i)
			return -1;
		len = 0;
		while (nb-- > 0)
			len = (len << 8) | in->p[i++];
	}
	if (len > in->len - i)
		return -1;
	val->p = in->p + i;
	val->len = len;
	in->p += i + len;
	in->len -= i + len;
	return 0;
}

/* Like crt_der_next() but the tag must be the expected one. */
static int
crt_der_expect(struct crt_der *in, unsigned tag, struct crt_der *val)
{
	unsigned t;

	if (crt_der_next(in, &t, val) < 0 || t != tag)
		return -1;
	return 0;
}

static int
crt_der_oid_is(const struct crt_der *oid, const unsigned char *ref, size_t reflen)
{
	return oid->len == reflen && memcmp(oid->p, ref, reflen) == 0;
}

static int
crt_der_oid_has_prefix(const struct crt_der *oid, const unsigned char *ref, size_t reflen)
{
	return oid->len > reflen && memcmp(oid->p, ref, reflen) == 0;
}

/* Adds a lower-cased copy; names with bytes outside printable ASCII
 * (an embedded NUL is the classic trick) are dropped, not truncated. */
static int
crt_add_name(struct tls_cert *c, const unsigned char *s, size_t len)
{
	char **nv, *n;
	size_t i;

	if (len == 0 || len > 255)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	if (c->nnames >= TLS_CERT_MAX_NAMES)
		return 0;
	n = malloc(len + 1);
	if (n == NULL)
		return -1;
	for (i = 0; i < len; i++)
		n[i] = (char)u_lower(s[i]);
	n[len] = '\0';
	nv = realloc(c->names, (size_t)(c->nnames + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(n);
		return -1;
	}
	c->names = nv;
	c->names[c->nnames++] = n;
	return 0;
}

static const unsigned char crt_oid_san[] = { 0x55, 0x1d, 0x11 };		/* 2.5.29.17 */
static const unsigned char crt_oid_cn[] = { 0x55, 0x04, 0x03 };		/* 2.5.4.3 */
static const unsigned char crt_oid_ecdsa[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04 };	/* 1.2.840.10045.4 */
static const unsigned char crt_oid_pkcs1[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01 };	/* 1.2.840.113549.1.1 */

/* SAN extension value: GeneralNames, keep the [2] IMPLICIT IA5String ones. */
static int
crt_parse_san(struct tls_cert *c, struct crt_der v)
{
	struct crt_der seq, gn;
	unsigned tag;

	if (crt_der_expect(&v, 0x30, &seq) < 0)
		return -1;
	while (seq.len > 0) {
		if (crt_der_next(&seq, &tag, &gn) < 0)
			return -1;
		if (tag == 0x82 && crt_add_name(c, gn.p, gn.len) < 0)
			return -1;
	}
	return 0;
}

/* Name ::= SEQUENCE OF SET OF AttributeTypeAndValue: collect every CN. */
static int
crt_parse_subject_cn(struct tls_cert *c, struct crt_der name)
{
	struct crt_der set, atv, oid, val;
	unsigned tag;

	while (name.len > 0) {
		if (crt_der_expect(&name, 0x31, &set) < 0)
			return -1;
		while (set.len > 0) {
			if (crt_der_expect(&set, 0x30, &atv) < 0)
				return -1;
			if (crt_der_expect(&atv, 0x06, &oid) < 0)
				return -1;
			if (crt_der_next(&atv, &tag, &val) < 0)
				return -1;
			if (!crt_der_oid_is(&oid, crt_oid_cn, sizeof(crt_oid_cn)))
				continue;
			/* UTF8String, PrintableString, T61String, IA5String;
			 * BMP/Universal strings cannot hold a usable host name. */
			if (tag != 0x0c && tag != 0x13 && tag != 0x14 && tag != 0x16)
				continue;
			if (crt_add_name(c, val.p, val.len) < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * Walks the leaf: signatureAlgorithm for issuer_key_type, SAN dNSNames,
 * else subject CN. BearSSL's decoder parsed the same bytes already, but
 * it exposes neither the SAN nor the CN. Returns -1 on malformed DER.
 */
static int
crt_parse_leaf(struct tls_cert *c, const unsigned char *der, size_t len)
{
	struct crt_der in = { der, len }, cert, tbs, alg, oid, v, subject, exts, ext, eoid;
	unsigned tag;

	if (crt_der_expect(&in, 0x30, &cert) < 0 || crt_der_expect(&cert, 0x30, &tbs) < 0)
		return -1;
	if (crt_der_expect(&cert, 0x30, &alg) < 0 || crt_der_expect(&alg, 0x06, &oid) < 0)
		return -1;
	if (crt_der_oid_has_prefix(&oid, crt_oid_ecdsa, sizeof(crt_oid_ecdsa)))
		c->issuer_key_type = BR_KEYTYPE_EC;
	else if (crt_der_oid_has_prefix(&oid, crt_oid_pkcs1, sizeof(crt_oid_pkcs1)))
		c->issuer_key_type = BR_KEYTYPE_RSA;	/* *WithRSAEncryption, RSASSA-PSS */
	else
		c->issuer_key_type = 0;

	/* [0] version is optional (absent in v1 certificates); serial follows. */
	if (crt_der_next(&tbs, &tag, &v) < 0)
		return -1;
	if (tag == 0xa0 && crt_der_next(&tbs, &tag, &v) < 0)
		return -1;
	if (tag != 0x02)
		return -1;
	if (crt_der_expect(&tbs, 0x30, &v) < 0	/* signature */
	    || crt_der_expect(&tbs, 0x30, &v) < 0	/* issuer */
	    || crt_der_expect(&tbs, 0x30, &v) < 0	/* validity */
	    || crt_der_expect(&tbs, 0x30, &subject) < 0
	    || crt_der_expect(&tbs, 0x30, &v) < 0)	/* subjectPublicKeyInfo */
		return -1;
	while (tbs.len > 0) {
		if (crt_der_next(&tbs, &tag, &v) < 0)
			return -1;
		if (tag != 0xa3)
			continue;	/* issuer/subjectUniqueID */
		if (crt_der_expect(&v, 0x30, &exts) < 0)
			return -1;
		while (exts.len > 0) {
			if (crt_der_expect(&exts, 0x30, &ext) < 0 || crt_der_expect(&ext, 0x06, &eoid) < 0)
				return -1;
			if (!crt_der_oid_is(&eoid, crt_oid_san, sizeof(crt_oid_san)))
				continue;
			if (crt_der_next(&ext, &tag, &v) < 0)
				return -1;
			if (tag == 0x01 && crt_der_next(&ext, &tag, &v) < 0)	/* critical */
				return -1;
			if (tag != 0x04 || crt_parse_san(c, v) < 0)
				return -1;
		}
	}
	/* RFC 6125: the CN is only a fallback when no dNSName is present. */
	if (c->nnames == 0)
		return crt_parse_subject_cn(c, subject);
	return 0;
}

/* ---- key handling ---- */

/* Copies the key out of the decoder context, which is on the stack and
 * about to be wiped; one allocation so rsa.p is the only pointer to free. */
static int
crt_take_key(struct tls_cert *c, const br_skey_decoder_context *dc)
{
	const br_rsa_private_key *rk;
	const br_ec_private_key *ek;
	unsigned char *buf, **parts[5];
	const unsigned char *src[5];
	size_t lens[5];
	int i;

	c->key_type = br_skey_decoder_key_type(dc);
	if (c->key_type == BR_KEYTYPE_RSA) {
		rk = br_skey_decoder_get_rsa(dc);
		buf = malloc(rk->plen + rk->qlen + rk->dplen + rk->dqlen + rk->iqlen);
		if (buf == NULL)
			return -1;
		c->rsa = *rk;
		parts[0] = &c->rsa.p, src[0] = rk->p, lens[0] = rk->plen;
		parts[1] = &c->rsa.q, src[1] = rk->q, lens[1] = rk->qlen;
		parts[2] = &c->rsa.dp, src[2] = rk->dp, lens[2] = rk->dplen;
		parts[3] = &c->rsa.dq, src[3] = rk->dq, lens[3] = rk->dqlen;
		parts[4] = &c->rsa.iq, src[4] = rk->iq, lens[4] = rk->iqlen;
		for (i = 0; i < 5; buf += lens[i], i++) {
			*parts[i] = buf;
			memcpy(buf, src[i], lens[i]);
		}
		return 0;
	}
	ek = br_skey_decoder_get_ec(dc);
	buf = malloc(ek->xlen ? ek->xlen : 1);
	if (buf == NULL)
		return -1;
	memcpy(buf, ek->x, ek->xlen);
	c->ec = *ek;
	c->ec.x = buf;
	return 0;
}

static void
crt_strip_zeros(const unsigned char **p, size_t *len)
{
	while (*len > 0 && **p == 0) {
		(*p)++;
		(*len)--;
	}
}

/* Compares the public half derived from the private key with the leaf's. */
static int
crt_key_matches(const struct tls_cert *c, const br_x509_pkey *pk)
{
	if (pk->key_type != c->key_type)
		return 0;
	if (c->key_type == BR_KEYTYPE_RSA) {
		br_rsa_compute_modulus compute = br_rsa_compute_modulus_get_default();
		const unsigned char *a, *b;
		unsigned char *n;
		size_t alen, blen;
		int ok;

		alen = compute(NULL, &c->rsa);
		if (alen == 0 || (n = malloc(alen)) == NULL)
			return 0;
		if (compute(n, &c->rsa) != alen) {
			free(n);
			return 0;
		}
		a = n;
		b = pk->key.rsa.n;
		blen = pk->key.rsa.nlen;
		crt_strip_zeros(&a, &alen);
		crt_strip_zeros(&b, &blen);
		ok = alen == blen && memcmp(a, b, alen) == 0;
		free(n);
		return ok;
	} else {
		unsigned char kbuf[BR_EC_KBUF_PUB_MAX_SIZE];
		br_ec_public_key pub;
		size_t len;

		if (pk->key.ec.curve != c->ec.curve)
			return 0;
		len = br_ec_compute_pub(br_ec_get_default(), &pub, kbuf, &c->ec);
		return len != 0 && len == pk->key.ec.qlen
		    && memcmp(kbuf, pk->key.ec.q, len) == 0;
	}
}

/* ---- file reading and PEM splitting ---- */

/* open/read rather than fopen: it keeps FILE machinery out of the static
 * binary when nothing else uses it (snprintf alone does not pull it in). */
static unsigned char *
crt_read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct crt_buf b = { 0 };
	unsigned char chunk[4096];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		crt_errf(err, errlen, "cannot read: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			crt_errf(err, errlen, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > TLS_CERT_MAX_FILE) {
			crt_errf(err, errlen, "file too large");
			goto fail;
		}
		crt_buf_append(&b, chunk, (size_t)n);
		if (b.oom) {
			crt_errf(err, errlen, "out of memory");
			goto fail;
		}
	}
	close(fd);
	u_wipe(chunk, sizeof(chunk));
	*lenp = b.len;
	if (b.data == NULL)	/* empty file: still return a buffer */
		b.data = malloc(1);
	if (b.data == NULL)
		crt_errf(err, errlen, "out of memory");
	return b.data;
fail:
	close(fd);
	u_wipe(chunk, sizeof(chunk));
	crt_buf_free(&b, 1);
	return NULL;
}

static int
crt_mem_has(const unsigned char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle), i;

	for (i = 0; nl <= len && i <= len - nl; i++)
		if (memcmp(hay + i, needle, nl) == 0)
			return 1;
	return 0;
}

struct crt_pem {
	br_pem_decoder_context	 pc;
	struct crt_buf		 obj;	/* current object's DER */
	int			 in_obj;
	char			 name[128];
	struct tls_cert		*c;
	size_t			 chain_cap;
	br_skey_decoder_context	*kd;	/* NULL until a key was seen */
	int			 failed;
	char			*err;
	size_t			 errlen;
};

static int
crt_is_key_name(const char *n)
{
	return strcmp(n, "PRIVATE KEY") == 0 || strcmp(n, "RSA PRIVATE KEY") == 0
	    || strcmp(n, "EC PRIVATE KEY") == 0;
}

/* One complete PEM object: certificates go to the chain, the key to the
 * key decoder, anything else (EC PARAMETERS, DH PARAMETERS, which HAProxy
 * also accepts in crt files) is ignored. */
static int
crt_pem_object(struct crt_pem *st)
{
	struct tls_cert *c = st->c;
	size_t nl = strlen(st->name);

	if (st->obj.oom) {
		crt_errf(st->err, st->errlen, "out of memory");
		return -1;
	}
	if (strcmp(st->name, "CERTIFICATE") == 0 || strcmp(st->name, "X509 CERTIFICATE") == 0) {
		if (c->chain_len >= TLS_CERT_MAX_CHAIN) {
			crt_errf(st->err, st->errlen, "more than %d certificates in file", TLS_CERT_MAX_CHAIN);
			return -1;
		}
		if (st->obj.len == 0) {
			crt_errf(st->err, st->errlen, "empty certificate in file");
			return -1;
		}
		if (c->chain_len == st->chain_cap) {
			size_t ncap = st->chain_cap ? st->chain_cap * 2 : 4;
			br_x509_certificate *nc = realloc(c->chain, ncap * sizeof(*nc));

			if (nc == NULL) {
				crt_errf(st->err, st->errlen, "out of memory");
				return -1;
			}
			c->chain = nc;
			st->chain_cap = ncap;
		}
		/* Hand the buffer over; the next object gets a fresh one. */
		c->chain[c->chain_len].data = st->obj.data;
		c->chain[c->chain_len].data_len = st->obj.len;
		c->chain_len++;
		memset(&st->obj, 0, sizeof(st->obj));
		return 0;
	}
	if (nl >= 11 && strcmp(st->name + nl - 11, "PRIVATE KEY") == 0) {
		if (crt_mem_has((const unsigned char *)st->name, nl, "ENCRYPTED")) {
			crt_errf(st->err, st->errlen, "encrypted private key is not supported (decrypt it with openssl pkey)");
			return -1;
		}
		if (!crt_is_key_name(st->name)) {
			crt_errf(st->err, st->errlen, "unsupported key type");
			return -1;
		}
		if (st->kd != NULL) {
			crt_errf(st->err, st->errlen, "more than one private key in file");
			return -1;
		}
		st->kd = malloc(sizeof(*st->kd));
		if (st->kd == NULL) {
			crt_errf(st->err, st->errlen, "out of memory");
			return -1;
		}
		br_skey_decoder_init(st->kd);
		br_skey_decoder_push(st->kd, st->obj.data, st->obj.len);
	}
	crt_buf_free(&st->obj, 1);
	return 0;
}

/* Feeds bytes to the PEM decoder, which stops at each event. */
static int
crt_pem_feed(struct crt_pem *st, const unsigned char *p, size_t len)
{
	size_t n;

	while (len > 0) {
		n = br_pem_decoder_push(&st->pc, p, len);
		p += n;
		len -= n;
		switch (br_pem_decoder_event(&st->pc)) {
		case BR_PEM_BEGIN_OBJ:
			crt_buf_free(&st->obj, 1);
			snprintf(st->name, sizeof(st->name), "%s", br_pem_decoder_name(&st->pc));
			br_pem_decoder_setdest(&st->pc, crt_buf_append, &st->obj);
			st->in_obj = 1;
			break;
		case BR_PEM_END_OBJ:
			st->in_obj = 0;
			if (crt_pem_object(st) < 0)
				return -1;
			break;
		case BR_PEM_ERROR:
			crt_errf(st->err, st->errlen, "malformed PEM data");
			return -1;
		default:
			break;
		}
	}
	return 0;
}

static const char *
crt_pkey_name(int key_type)
{
	return key_type == BR_KEYTYPE_RSA ? "RSA" : "EC";
}

/* Returns the index of the chain certificate whose key is the private
 * key, 0 if none: only used to explain a chain given in the wrong order. */
static size_t
crt_find_key_cert(const struct tls_cert *c, br_x509_decoder_context *xd)
{
	const br_x509_pkey *pk;
	size_t i;

	for (i = 1; i < c->chain_len; i++) {
		br_x509_decoder_init(xd, NULL, NULL);
		br_x509_decoder_push(xd, c->chain[i].data, c->chain[i].data_len);
		pk = br_x509_decoder_get_pkey(xd);
		if (pk != NULL && crt_key_matches(c, pk))
			return i;
	}
	return 0;
}

/* Split the PEM objects of file[0..flen) (CRs removed in place) into
 * the chain and a key decoder. */
static int
crt_pem_split(struct crt_pem *st, unsigned char *file, size_t flen)
{
	struct tls_cert *c = st->c;
	size_t i, j;

	/* BearSSL's PEM decoder has no idea of RFC 1421 headers: an old-style
	 * encrypted key would come out as garbage DER, so look for them. */
	if (crt_mem_has(file, flen, "Proc-Type: 4,ENCRYPTED") ||
	    crt_mem_has(file, flen, "DEK-Info:")) {
		crt_errf(st->err, st->errlen, "encrypted private key is not supported (decrypt it with openssl pkey)");
		return -1;
	}
	/* BearSSL 0.6 keeps a '\r' before the newline in the object name
	 * ("CERTIFICATE-----"), so CRLF files would load nothing: drop every
	 * CR, it carries no meaning in PEM. */
	for (i = 0, j = 0; i < flen; i++)
		if (file[i] != '\r')
			file[j++] = file[i];
	u_wipe(file + j, flen - j);
	flen = j;
	br_pem_decoder_init(&st->pc);
	/* the decoder only closes an END line on its newline */
	if (crt_pem_feed(st, file, flen) < 0 ||
	    crt_pem_feed(st, (const unsigned char *)"\n", 1) < 0)
		return -1;
	if (st->in_obj) {
		crt_errf(st->err, st->errlen, "truncated PEM object \"%s\"", st->name);
		return -1;
	}
	if (c->chain_len == 0) {
		crt_errf(st->err, st->errlen, "no certificate in file");
		return -1;
	}
	if (st->kd == NULL) {
		crt_errf(st->err, st->errlen, "no private key in file");
		return -1;
	}
	return 0;
}

/* Take the decoded key and check it is one BearSSL can use. */
static int
crt_key(struct crt_pem *st)
{
	struct tls_cert *c = st->c;
	int kerr = br_skey_decoder_last_error(st->kd);

	if (kerr == BR_ERR_X509_UNSUPPORTED) {
		crt_errf(st->err, st->errlen, "unsupported key type");
		return -1;
	} else if (kerr != 0) {
		crt_errf(st->err, st->errlen, "cannot decode private key (%s)", crt_err_name(kerr));
		return -1;
	}
	if (crt_take_key(c, st->kd) < 0) {
		c->key_type = 0;
		crt_errf(st->err, st->errlen, "out of memory");
		return -1;
	}
	if (c->key_type == BR_KEYTYPE_EC && c->ec.curve != BR_EC_secp256r1
	    && c->ec.curve != BR_EC_secp384r1 && c->ec.curve != BR_EC_secp521r1) {
		crt_errf(st->err, st->errlen, "unsupported key type (EC curve %d; only P-256, P-384, P-521)", c->ec.curve);
		return -1;
	}
	return 0;
}

/* The leaf's public key must be the private key's, and its names read. */
static int
crt_leaf(struct tls_cert *c, char *err, size_t errlen)
{
	br_x509_decoder_context *xd = malloc(sizeof(*xd));
	const br_x509_pkey *pk;
	size_t i;
	int ret = -1;

	if (xd == NULL) {
		crt_errf(err, errlen, "out of memory");
		return -1;
	}
	br_x509_decoder_init(xd, NULL, NULL);
	br_x509_decoder_push(xd, c->chain[0].data, c->chain[0].data_len);
	pk = br_x509_decoder_get_pkey(xd);
	if (pk == NULL)
		crt_errf(err, errlen, "cannot decode certificate (%s)", crt_err_name(br_x509_decoder_last_error(xd)));
	else if (!crt_key_matches(c, pk)) {
		if ((i = crt_find_key_cert(c, xd)) != 0)
			crt_errf(err, errlen, "private key does not match the certificate"
			    " (it matches certificate %zu of the file: the leaf must come first)", i + 1);
		else if (pk->key_type != c->key_type)
			crt_errf(err, errlen, "private key does not match the certificate (%s key, %s certificate)",
			    crt_pkey_name(c->key_type), crt_pkey_name(pk->key_type));
		else
			crt_errf(err, errlen, "private key does not match the certificate");
	} else if (crt_parse_leaf(c, c->chain[0].data, c->chain[0].data_len) < 0)
		crt_errf(err, errlen, "malformed certificate");
	else
		ret = 0;
	free(xd);
	return ret;
}

/*
 * The whole load from a PEM buffer, which it modifies (CRs removed) but
 * does not free; separate from the file reading so it can be fuzzed.
 * On failure *c is left zeroed.
 */
int
crt_load_mem(const char *path, unsigned char *file, size_t flen, struct tls_cert *c,
    char *err, size_t errlen)
{
	struct crt_pem *st;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	crt_errf(err, errlen, "unknown error");
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		crt_errf(err, errlen, "out of memory");
		return -1;
	}
	st->c = c;
	st->err = err;
	st->errlen = errlen;
	if (crt_pem_split(st, file, flen) == 0 && crt_key(st) == 0 &&
	    crt_leaf(c, err, errlen) == 0) {
		if ((c->path = strdup(path)) == NULL)
			crt_errf(err, errlen, "out of memory");
		else
			ret = 0;
	}
	if (ret == 0 && errlen > 0)
		err[0] = '\0';
	crt_buf_free(&st->obj, 1);
	if (st->kd != NULL) {
		u_wipe(st->kd, sizeof(*st->kd));
		free(st->kd);
	}
	u_wipe(st, sizeof(*st));	/* the PEM decoder's buffer held key base64 */
	free(st);
	if (ret < 0) {
		crt_free(c);
		memset(c, 0, sizeof(*c));
	}
	return ret;
}

int
crt_load(const char *path, struct tls_cert *c, char *err, size_t errlen)
{
	unsigned char *file;
	size_t flen = 0;
	int ret;

	memset(c, 0, sizeof(*c));
	file = crt_read_file(path, &flen, err, errlen);
	if (file == NULL)
		return -1;
	ret = crt_load_mem(path, file, flen, c, err, errlen);
	u_wipe(file, flen);	/* held the private key */
	free(file);
	return ret;
}

void
crt_free(struct tls_cert *c)
{
	size_t i;
	int j;

	if (c == NULL)
		return;
	for (i = 0; i < c->chain_len; i++)
		free(c->chain[i].data);
	free(c->chain);
	c->chain = NULL;
	c->chain_len = 0;
	if (c->key_type == BR_KEYTYPE_RSA && c->rsa.p != NULL) {
		u_wipe(c->rsa.p, c->rsa.plen + c->rsa.qlen + c->rsa.dplen + c->rsa.dqlen + c->rsa.iqlen);
		free(c->rsa.p);
	} else if (c->key_type == BR_KEYTYPE_EC && c->ec.x != NULL) {
		u_wipe(c->ec.x, c->ec.xlen);
		free(c->ec.x);
	}
	memset(&c->rsa, 0, sizeof(c->rsa));
	memset(&c->ec, 0, sizeof(c->ec));
	c->key_type = 0;
	for (j = 0; j < c->nnames; j++)
		free(c->names[j]);
	free(c->names);
	c->names = NULL;
	c->nnames = 0;
	free(c->path);
	c->path = NULL;
}

/* ---- directories ---- */

static int
crt_skip_entry(const char *n)
{
	static const char *const skip[] = { ".key", ".ocsp", ".issuer", ".sctl" };
	size_t nl = strlen(n), i, sl;

	if (n[0] == '.')
		return 1;
	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		sl = strlen(skip[i]);
		if (nl > sl && strcmp(n + nl - sl, skip[i]) == 0)
			return 1;
	}
	return 0;
}

static int
crt_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
crt_free_list(struct tls_cert *l)
{
	struct tls_cert *n;

	while (l != NULL) {
		n = l->next;
		crt_free(l);
		free(l);
		l = n;
	}
}

int
crt_load_dir(const char *dir, struct tls_cert **list, char *err, size_t errlen)
{
	char **ents = NULL, **ne, *full = NULL, e2[256];
	size_t nents = 0, cap = 0, i, fl;
	struct tls_cert *head = NULL, **tail = &head, *c;
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int count = 0, ret = -1;

	d = opendir(dir);
	if (d == NULL) {
		crt_errf(err, errlen, "%s: cannot open directory: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (crt_skip_entry(de->d_name))
			continue;
		if (nents == cap) {
			cap = cap ? cap * 2 : 16;
			ne = realloc(ents, cap * sizeof(*ents));
			if (ne == NULL)
				goto oom;
			ents = ne;
		}
		if ((ents[nents] = strdup(de->d_name)) == NULL)
			goto oom;
		nents++;
	}
	closedir(d);
	d = NULL;
	/* readdir order is whatever the filesystem likes; HAProxy sorts. */
	if (nents > 0)
		qsort(ents, nents, sizeof(*ents), crt_cmp_names);

	for (i = 0; i < nents; i++) {
		fl = strlen(dir) + strlen(ents[i]) + 2;
		free(full);
		if ((full = malloc(fl)) == NULL)
			goto oom;
		snprintf(full, fl, "%s/%s", dir, ents[i]);
		/* stat, not lstat: symlinked certs are the usual deployment. */
		if (stat(full, &sb) < 0) {
			crt_errf(err, errlen, "%s: cannot read: %s", full, strerror(errno));
			goto out;
		}
		if (!S_ISREG(sb.st_mode))
			continue;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			goto oom;
		if (crt_load(full, c, e2, sizeof(e2)) < 0) {
			crt_errf(err, errlen, "%s: %s", full, e2);
			free(c);
			goto out;
		}
		*tail = c;
		tail = &c->next;
		count++;
	}
	/* All or nothing, so a bad file does not leave half a bind behind. */
	while (*list != NULL)
		list = &(*list)->next;
	*list = head;
	head = NULL;
	ret = count;
	goto out;
oom:
	crt_errf(err, errlen, "%s: out of memory", dir);
out:
	if (d != NULL)
		closedir(d);
	for (i = 0; i < nents; i++)
		free(ents[i]);
	free(ents);
	free(full);
	crt_free_list(head);
	return ret;
}

/* ---- SNI ---- */

int
crt_match(const struct tls_cert *c, const char *name)
{
	const char *dot;
	int i;

	if (name == NULL || name[0] == '\0')
		return 0;
	for (i = 0; i < c->nnames; i++) {
		const char *n = c->names[i];

		if (u_streq_nocase(n, name))
			return 1;
		/* "*.rest": the star stands for exactly one non-empty label. */
		if (n[0] == '*' && n[1] == '.' && n[2] != '\0') {
			dot = strchr(name, '.');
			if (dot != NULL && dot != name && u_streq_nocase(n + 1, dot))
				return 1;
		}
	}
	return 0;
}

/*==== end crt ====*/

/*==== begin auth ====*/
/*
 * HTTP basic authentication against "userlist" sections: users with a
 * crypt(3) hash or an insecure password, and groups.  Debian's musl has
 * no crypt(), so the hashes operators make with mkpasswd/openssl passwd
 * are computed here over BearSSL's digests: SHA-crypt ($5$, $6$, with
 * rounds=) and MD5-crypt ($1$), as their specifications describe them;
 * other hashes are refused at load.  A slow hash must not let a flood of
 * requests burn the loop: verdicts are cached in a bounded table keyed by
 * a digest of (stored hash, user, password given), and compared in
 * constant time.
 */

#define AUTH_CACHE_SLOTS	256	/* verdicts kept, least recently used out */
#define AUTH_CRED_MAX		512	/* "user:password" after base64 */
#define AUTH_HASH_MAX		128	/* a crypt() result */
#define AUTH_ROUNDS_MAX		999999999	/* SHA-crypt's own bound */

struct auth_slot {
	unsigned char		 key[32];	/* SHA-256(hash, user, password) */
	int			 ok;
	uint64_t		 used;		/* for LRU eviction; 0: free */
};

static struct {
	struct auth_slot	 cache[AUTH_CACHE_SLOTS];
	uint64_t		 tick;
	uint64_t		 hashes;	/* hashes computed, for tests/bench */
} auth_rt;

static const char auth_b64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Constant time: the time taken does not tell how many bytes matched. */
static int
auth_equal(const char *a, size_t al, const char *b, size_t bl)
{
	unsigned char d = (unsigned char)(al != bl);
	size_t i, n = al < bl ? al : bl;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* crypt's base-64 of three bytes (b2 most significant), n characters. */
static size_t
auth_b64_24(char *out, unsigned b2, unsigned b1, unsigned b0, int n)
{
	unsigned w = b2 << 16 | b1 << 8 | b0;
	int k;

	for (k = 0; k < n; k++, w >>= 6)
		out[k] = auth_b64[w & 0x3f];
	return (size_t)n;
}

/* <len> bytes of <src> repeated from a digest of <dl> bytes. */
static void
auth_repeat(const br_hash_class *h, br_hash_compat_context *c,
    const unsigned char *d, size_t dl, size_t len)
{
	for (; len >= dl; len -= dl)
		h->update(&c->vtable, d, dl);
	h->update(&c->vtable, d, len);
}

/* A digest of p[0..n) repeated <times> times. */
static void
auth_digest_rep(const br_hash_class *h, const void *p, size_t n, size_t times,
    unsigned char *out)
{
	br_hash_compat_context c;

	h->init(&c.vtable);
	while (times--)
		h->update(&c.vtable, p, n);
	h->out(&c.vtable, out);
}

/* The rounds of SHA-crypt (steps 9-12 of Drepper's description). */
static void
auth_sha_rounds(const br_hash_class *h, size_t dl, unsigned char *a,
    const unsigned char *p, size_t pl, const unsigned char *s, size_t sl,
    unsigned long rounds)
{
	br_hash_compat_context c;
	unsigned long i;

	for (i = 0; i < rounds; i++) {
		h->init(&c.vtable);
		if (i & 1)
			h->update(&c.vtable, p, pl);
		else
			h->update(&c.vtable, a, dl);
		if (i % 3)
			h->update(&c.vtable, s, sl);
		if (i % 7)
			h->update(&c.vtable, p, pl);
		if (i & 1)
			h->update(&c.vtable, a, dl);
		else
			h->update(&c.vtable, p, pl);
		h->out(&c.vtable, a);
	}
}

/* SHA-crypt's output: the digest's bytes in its fixed order. */
static size_t
auth_sha_encode(const unsigned char *a, size_t dl, char *o)
{
	size_t n = 0, g = dl == 32 ? 10 : 21, k;

	for (k = 0; k < g; k++) {
		size_t x = k, y = k + g, z = k + 2 * g;

		if (dl == 32)	/* the three bytes rotate one way for $5$... */
			n += k % 3 == 0 ? auth_b64_24(o + n, a[x], a[y], a[z], 4) :
			    k % 3 == 1 ? auth_b64_24(o + n, a[z], a[x], a[y], 4) :
			    auth_b64_24(o + n, a[y], a[z], a[x], 4);
		else		/* ...and the other way for $6$ */
			n += k % 3 == 0 ? auth_b64_24(o + n, a[x], a[y], a[z], 4) :
			    k % 3 == 1 ? auth_b64_24(o + n, a[y], a[z], a[x], 4) :
			    auth_b64_24(o + n, a[z], a[x], a[y], 4);
	}
	if (dl == 32)
		n += auth_b64_24(o + n, 0, a[31], a[30], 3);
	else
		n += auth_b64_24(o + n, 0, 0, a[63], 2);
	return n;
}

/* "$5$[rounds=N$]salt$..." and "$6$...": the hash of <pw> with the
 * settings of <set> into out; -1 when the settings are malformed. */
static int
auth_sha_crypt(const char *pw, const char *set, char *out, size_t cap)
{
	const br_hash_class *h = set[1] == '5' ? &br_sha256_vtable : &br_sha512_vtable;
	size_t dl = set[1] == '5' ? 32 : 64, pl = strlen(pw), sl, n, k;
	unsigned char a[64], b[64], dp[64], ds[64], *pp, *sp;
	const char *s = set + 3, *e;
	unsigned long rounds = 5000;
	br_hash_compat_context c;
	int custom = 0;

	if (strncmp(s, "rounds=", 7) == 0) {
		char *end;

		rounds = strtoul(s + 7, &end, 10);
		if (*end != '$' || end == s + 7)
			return -1;
		rounds = rounds < 1000 ? 1000 : rounds > AUTH_ROUNDS_MAX ?
		    AUTH_ROUNDS_MAX : rounds;
		s = end + 1;
		custom = 1;
	}
	for (e = s; *e && *e != '$' && e - s < 16; e++)
		;
	sl = (size_t)(e - s);
	h->init(&c.vtable);			/* B = H(P S P) */
	h->update(&c.vtable, pw, pl);
	h->update(&c.vtable, s, sl);
	h->update(&c.vtable, pw, pl);
	h->out(&c.vtable, b);
	h->init(&c.vtable);			/* A = H(P S B... bits) */
	h->update(&c.vtable, pw, pl);
	h->update(&c.vtable, s, sl);
	auth_repeat(h, &c, b, dl, pl);
	for (k = pl; k; k >>= 1)
		if (k & 1)
			h->update(&c.vtable, b, dl);
		else
			h->update(&c.vtable, pw, pl);
	h->out(&c.vtable, a);
	auth_digest_rep(h, pw, pl, pl, dp);	/* P' and S' */
	auth_digest_rep(h, s, sl, 16 + (size_t)a[0], ds);
	if ((pp = malloc(pl + 1)) == NULL || (sp = malloc(sl + 1)) == NULL) {
		free(pp);
		return -1;
	}
	for (k = 0; k < pl; k++)
		pp[k] = dp[k % dl];
	for (k = 0; k < sl; k++)
		sp[k] = ds[k % dl];
	auth_sha_rounds(h, dl, a, pp, pl, sp, sl, rounds);
	u_wipe(pp, pl);
	free(pp);
	free(sp);
	n = (size_t)snprintf(out, cap, "$%c$", set[1]);
	if (custom)
		n += (size_t)snprintf(out + n, cap - n, "rounds=%lu$", rounds);
	n += (size_t)snprintf(out + n, cap - n, "%.*s$", (int)sl, s);
	if (n + 90 > cap)
		return -1;
	n += auth_sha_encode(a, dl, out + n);
	out[n] = 0;
	u_wipe(a, sizeof(a));
	return 0;
}

/* "$1$salt$...": MD5-crypt (Poul-Henning Kamp's, as in FreeBSD). */
static int
auth_md5_crypt(const char *pw, const char *set, char *out, size_t cap)
{
	const br_hash_class *h = &br_md5_vtable;
	const char *s = set + 3, *e;
	size_t pl = strlen(pw), sl, k, n;
	unsigned char f[16];
	br_hash_compat_context c;
	int i;

	for (e = s; *e && *e != '$' && e - s < 8; e++)
		;
	sl = (size_t)(e - s);
	h->init(&c.vtable);
	h->update(&c.vtable, pw, pl);
	h->update(&c.vtable, s, sl);
	h->update(&c.vtable, pw, pl);
	h->out(&c.vtable, f);
	h->init(&c.vtable);
	h->update(&c.vtable, pw, pl);
	h->update(&c.vtable, "$1$", 3);
	h->update(&c.vtable, s, sl);
	auth_repeat(h, &c, f, 16, pl);
	for (k = pl; k; k >>= 1)
		h->update(&c.vtable, (k & 1) ? "" : pw, 1);
	h->out(&c.vtable, f);
	for (i = 0; i < 1000; i++) {
		h->init(&c.vtable);
		h->update(&c.vtable, (i & 1) ? (const void *)pw : f, (i & 1) ? pl : 16);
		if (i % 3)
			h->update(&c.vtable, s, sl);
		if (i % 7)
			h->update(&c.vtable, pw, pl);
		h->update(&c.vtable, (i & 1) ? (const void *)f : pw, (i & 1) ? 16 : pl);
		h->out(&c.vtable, f);
	}
	n = (size_t)snprintf(out, cap, "$1$%.*s$", (int)sl, s);
	if (n + 24 > cap)
		return -1;
	for (k = 0; k < 5; k++)
		n += auth_b64_24(out + n, f[k], f[k + 6], f[k == 4 ? 5 : k + 12], 4);
	n += auth_b64_24(out + n, 0, 0, f[11], 2);
	out[n] = 0;
	return 0;
}

/* Is this a hash waxlb can check?  (At load: the others are refused.) */
static int
auth_hash_supported(const char *hash)
{
	return strncmp(hash, "$1$", 3) == 0 || strncmp(hash, "$5$", 3) == 0 ||
	    strncmp(hash, "$6$", 3) == 0;
}

/* crypt(3) for the supported hashes; NULL otherwise. */
static const char *
auth_crypt(const char *pw, const char *set, char *out, size_t cap)
{
	int r = -1;

	if (strncmp(set, "$5$", 3) == 0 || strncmp(set, "$6$", 3) == 0)
		r = auth_sha_crypt(pw, set, out, cap);
	else if (strncmp(set, "$1$", 3) == 0)
		r = auth_md5_crypt(pw, set, out, cap);
	return r < 0 ? NULL : out;
}

static const struct ulist_user *
auth_find_user(const struct userlist *ul, const char *name, size_t n)
{
	const struct ulist_user *u;

	for (u = ul ? ul->users : NULL; u; u = u->next)
		if (strlen(u->name) == n && memcmp(u->name, name, n) == 0)
			return u;
	return NULL;
}

/* The cache key of a check: the stored hash, the user and the password
 * given (a reload that changes a hash cannot reuse an old verdict). */
static void
auth_key(const struct ulist_user *u, const char *pass, size_t n,
    unsigned char key[32])
{
	br_sha256_context c;

	br_sha256_init(&c);
	br_sha256_update(&c, u->pass, strlen(u->pass) + 1);
	br_sha256_update(&c, u->name, strlen(u->name) + 1);
	br_sha256_update(&c, pass, n);
	br_sha256_out(&c, key);
}

/* The verdict for a password, from the cache or from the hash. */
static int
auth_check_pass(const struct ulist_user *u, const char *pass, size_t n)
{
	struct auth_slot *sl, *old = &auth_rt.cache[0];
	char pw[AUTH_CRED_MAX], hb[AUTH_HASH_MAX];
	unsigned char key[32];
	const char *h;
	int i;

	if (u->insecure)
		return auth_equal(u->pass, strlen(u->pass), pass, n);
	auth_key(u, pass, n, key);
	for (i = 0; i < AUTH_CACHE_SLOTS; i++) {
		sl = &auth_rt.cache[i];
		if (sl->used && memcmp(sl->key, key, 32) == 0) {
			sl->used = ++auth_rt.tick;
			return sl->ok;
		}
		if (sl->used < old->used)
			old = sl;
	}
	if (n >= sizeof(pw) || memchr(pass, 0, n))
		return 0;
	memcpy(pw, pass, n);
	pw[n] = 0;
	auth_rt.hashes++;
	h = auth_crypt(pw, u->pass, hb, sizeof(hb));
	u_wipe(pw, sizeof(pw));
	memcpy(old->key, key, 32);
	old->ok = h != NULL && auth_equal(h, strlen(h), u->pass, strlen(u->pass));
	old->used = ++auth_rt.tick;
	u_wipe(hb, sizeof(hb));
	return old->ok;
}

/* The user of a valid "Authorization: Basic" header of <m>, or NULL. */
static const struct ulist_user *
auth_user(const struct userlist *ul, const struct http_msg *m)
{
	char cred[AUTH_CRED_MAX];
	const struct ulist_user *u;
	const char *colon;
	int i = m ? h1_find_hdr(m, "authorization", 0) : -1, n;

	if (i < 0 || m->hdr[i].value_len < 7 ||
	    strncasecmp(m->hdr[i].value, "Basic ", 6) != 0)
		return NULL;
	n = u_b64_decode(m->hdr[i].value + 6, m->hdr[i].value_len - 6, cred,
	    sizeof(cred));
	if (n < 0 || (colon = memchr(cred, ':', (size_t)n)) == NULL)
		return NULL;
	u = auth_find_user(ul, cred, (size_t)(colon - cred));
	if (u && !auth_check_pass(u, colon + 1, (size_t)(cred + n - colon - 1)))
		u = NULL;
	u_wipe(cred, sizeof(cred));
	return u;
}

/* Is user <u> in one of the groups named in <name>? */
static int
auth_in_group(const struct ulist_user *u, const char *name, size_t n)
{
	int k;

	for (k = 0; k < u->ngroups; k++)
		if (strlen(u->groups[k]) == n && memcmp(u->groups[k], name, n) == 0)
			return 1;
	return 0;
}

uint64_t
auth_hash_count(void)
{
	return auth_rt.hashes;
}
/*==== end auth ====*/

/*==== begin pat ====*/
/*
 * Patterns and the ways values match them (HAProxy's pattern.c): exact,
 * prefix, suffix, substring, delimited (dom, dir), regex, length, integer
 * comparisons and ranges, IPv4/IPv6 networks.  ACLs and map files are
 * built from these; nothing here knows where a value came from.
 */

/* One pattern, compiled for its match method. */
struct pat {
	const char	*s;		/* the text (M_STR...M_DIR, M_REG source) */
	size_t		 n;
	regex_t		*re;		/* M_REG */
	struct cidr	 cidr;		/* M_IP */
	long long	 lo, hi;	/* M_INT, M_LEN: lo <= v <= hi */
};

/* libc regcomp() can take memory exponential in stacked quantifiers
 * ("a++++..."), which POSIX leaves undefined anyway: refuse those and
 * overlong patterns before compiling. */
#define PAT_REGEX_MAX	1024

static int
pat_regex_sane(const char *re)
{
	size_t i, run = 0;

	if (strlen(re) > PAT_REGEX_MAX)
		return -1;
	for (i = 0; re[i]; i++) {
		if (re[i] == '\\' && re[i + 1]) {
			i++;
			run = 0;
			continue;
		}
		run = strchr("*+?{", re[i]) ? run + 1 : 0;
		if (run > 1)
			return -1;
	}
	return 0;
}

/* A regex for a configuration, refused when unsafe or invalid. */
static regex_t *
pat_regcomp(struct u_arena *a, const char *pat, int flags)
{
	return pat_regex_sane(pat) < 0 ? NULL : u_regcomp(a, pat, flags);
}

static int
pat_parse_cidr(const char *s, struct cidr *c)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	long long bits;
	int max;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return -1;
	c->bits = max;
	if (slash == NULL)
		return 0;
	if (strchr(slash + 1, '.')) {	/* dotted netmask */
		struct in_addr m;
		uint32_t v;
		int b = 0;

		if (c->family != AF_INET || inet_pton(AF_INET, slash + 1, &m) != 1)
			return -1;
		for (v = ntohl(m.s_addr); v & 0x80000000u; v <<= 1)
			b++;
		if (v)
			return -1;
		c->bits = b;
	} else if (u_parse_int(slash + 1, 0, max, &bits) < 0)
		return -1;
	else
		c->bits = (int)bits;
	return 0;
}

/* "N", "N:M", ":M", "N:" (ranges, as HAProxy's integer patterns). */
static int
pat_parse_range(const char *s, long long *lo, long long *hi)
{
	const char *colon = strchr(s, ':');
	char a[32];
	size_t n;

	if (colon == NULL)
		return u_parse_int(s, LLONG_MIN, LLONG_MAX, lo) == 0 ?
		    (*hi = *lo, 0) : -1;
	if ((n = (size_t)(colon - s)) >= sizeof(a))
		return -1;
	memcpy(a, s, n);
	a[n] = 0;
	*lo = LLONG_MIN;
	*hi = LLONG_MAX;
	if (n && u_parse_int(a, LLONG_MIN, LLONG_MAX, lo) < 0)
		return -1;
	if (colon[1] && u_parse_int(colon + 1, LLONG_MIN, LLONG_MAX, hi) < 0)
		return -1;
	return n || colon[1] ? 0 : -1;
}

/* One pattern <text> compiled for <match>; -1 with a message in *why. */
static int
pat_compile(struct u_arena *ar, int match, int icase, const char *text,
    struct pat *p, const char **why)
{
	memset(p, 0, sizeof(*p));
	p->s = u_strdup(ar, text);
	p->n = strlen(text);
	switch (match) {
	case M_IP:
		if (pat_parse_cidr(text, &p->cidr) < 0)
			return *why = "is not a valid IPv4 or IPv6 address or network", -1;
		return 0;
	case M_REG:
		if ((p->re = pat_regcomp(ar, text, REG_EXTENDED | REG_NOSUB |
		    (icase ? REG_ICASE : 0))) == NULL)
			return *why = "is an invalid regex", -1;
		return 0;
	case M_INT:
	case M_LEN:
		if (pat_parse_range(text, &p->lo, &p->hi) < 0)
			return *why = "is not an integer", -1;
		return 0;
	}
	return 0;
}

static int
pat_bytes_eq(const char *a, const char *b, size_t n, int icase)
{
	return icase ? strncasecmp(a, b, n) == 0 : memcmp(a, b, n) == 0;
}

/* "dom" and "dir" matches: the pattern must appear delimited. */
static int
pat_match_delim(const char *s, size_t n, const char *p, size_t pl, int icase,
    const char *delims)
{
	size_t i;

	/* patterns may carry their own delimiters at the ends */
	while (pl && strchr(delims, *p)) {
		p++;
		pl--;
	}
	while (pl && strchr(delims, p[pl - 1]))
		pl--;
	if (pl == 0)
		return 0;
	for (i = 0; i + pl <= n; i++) {
		if ((i == 0 || strchr(delims, s[i - 1])) &&
		    (i + pl == n || strchr(delims, s[i + pl])) &&
		    pat_bytes_eq(s + i, p, pl, icase))
			return 1;
	}
	return 0;
}

static int
pat_match_int(const struct pat *p, long long v)
{
	return v >= p->lo && v <= p->hi;
}

/* An integer from a string value: digits only, else no match. */
static int
pat_str_int(const char *s, size_t n, long long *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n && U_DIGIT(s[i]); i++)
		*v = *v * 10 + (s[i] - '0');
	return i == n ? 0 : -1;
}

/* A string value against one pattern. */
static int
pat_match_str(const struct pat *p, int match, int icase, const char *s, size_t n)
{
	char tmp[8192];
	long long v;
	size_t i;

	switch (match) {
	case M_STR:
		return n == p->n && pat_bytes_eq(s, p->s, n, icase);
	case M_BEG:
		return n >= p->n && pat_bytes_eq(s, p->s, p->n, icase);
	case M_END:
		return n >= p->n && pat_bytes_eq(s + n - p->n, p->s, p->n, icase);
	case M_SUB:
		for (i = 0; i + p->n <= n; i++)
			if (pat_bytes_eq(s + i, p->s, p->n, icase))
				return 1;
		return 0;
	case M_DOM:
		return pat_match_delim(s, n, p->s, p->n, icase, "/?.:");
	case M_DIR:
		return pat_match_delim(s, n, p->s, p->n, icase, "/?");
	case M_REG:
		if (n >= sizeof(tmp))
			n = sizeof(tmp) - 1;
		memcpy(tmp, s, n);
		tmp[n] = 0;
		return regexec(p->re, tmp, 0, NULL, 0) == 0;
	case M_LEN:
		return pat_match_int(p, (long long)n);
	case M_INT:
		return pat_str_int(s, n, &v) == 0 && pat_match_int(p, v);
	}
	return 0;
}

/* An address against a network (IPv4-mapped IPv6 counts as IPv4). */
static int
pat_match_ip(const struct pat *p, const struct sockaddr_storage *ss)
{
	static const unsigned char mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	const struct cidr *c = &p->cidr;
	const unsigned char *v6;
	unsigned char a[16];
	int fam, bits = c->bits, i;

	if (ss->ss_family == AF_INET) {
		fam = AF_INET;
		memcpy(a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		v6 = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		fam = memcmp(v6, mapped, 12) == 0 ? AF_INET : AF_INET6;
		memcpy(a, fam == AF_INET ? v6 + 12 : v6, fam == AF_INET ? 4 : 16);
	} else
		return 0;
	if (c->family != fam)
		return 0;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (a[i] != c->addr[i])
			return 0;
	return !bits || !((a[i] ^ c->addr[i]) & (0xff00 >> bits) & 0xff);
}
/*==== end pat ====*/

/*==== begin smp ====*/
/*
 * Sample expressions, as HAProxy's: "fetch(args),converter(args),...".
 * A fetch is an entry of smp_fetches[] (its name, its arguments, its
 * output type, what it reads: the connection, the request or response
 * head, the transaction; and a function producing its value); a converter
 * is an entry of smp_convs[].  Expressions are parsed once, at load (with
 * file:line: and the column of what is wrong), and evaluated per request
 * into struct smp values.  Strings made by converters live in two
 * alternating scratch buffers, valid until the next evaluation.
 * Multi-valued fetches (headers) give one value per call when iterated, as
 * ACLs do; in an expression they give the last one, as HAProxy's.
 */

enum { SMP_NONE, SMP_BOOL, SMP_INT, SMP_ADDR, SMP_STR };

struct smp {
	int		 type;		/* SMP_* */
	long long	 i;		/* SMP_BOOL, SMP_INT */
	const char	*s;		/* SMP_STR: a view, not NUL-terminated */
	size_t		 n;
	const struct sockaddr_storage *a;	/* SMP_ADDR */
};

/* What a fetch reads, to tell where it can be used. */
#define SMP_USE_L4	0x01	/* the connection: addresses, TLS */
#define SMP_USE_REQ	0x02	/* the request head */
#define SMP_USE_RES	0x04	/* the response head */
#define SMP_USE_TXN	0x08	/* the transaction: backend, server */
#define SMP_USE_VAR	0x10	/* variables (var(), set-var) */

#define SMP_ARGS_MAX	3
#define SMP_CONV_MAX	8
#define SMP_TRASH_BYTES	16384	/* one converter's output at most */
#define SMP_VARS_MAX	16	/* variables per scope */
#define SMP_VAR_BYTES	1024	/* one variable's value at most */
#define SMP_VAR_NAME	40	/* "txn.name" and its NUL */
#define SMP_MAP_MAX	100000	/* entries of one map file */

/* One argument of a fetch or converter, parsed at load. */
struct smp_arg {
	const char	*s;		/* as written (unescaped), "" when absent */
	size_t		 n;
	long long	 i;		/* when it is an integer */
	void		*p;		/* compiled: a regex, a map, a userlist */
	int		 set;		/* given in the configuration */
};

/* Where a multi-valued fetch is in its values (ACL evaluation). */
struct smp_it {
	int		 hdr;		/* next header index */
	const char	*p, *end;	/* the rest of the current value list */
	int		 done;
};

struct smp_pctx;

struct smp_fetch {
	const char	*name;
	unsigned char	 amin, amax;	/* arguments */
	unsigned char	 out;		/* SMP_* */
	unsigned char	 use;		/* SMP_USE_* */
	/* the value; <it> is NULL in an expression, set in an ACL */
	int		(*fn)(const struct smp_ctx *c, const struct smp_arg *a,
			    struct smp_it *it, struct smp *v);
	/* arguments checked and compiled at load; -1 after a message */
	int		(*check)(struct smp_pctx *pc, struct smp_arg *a, int n);
};

struct smp_conv {
	const char	*name;
	unsigned char	 amin, amax;
	unsigned char	 out;		/* SMP_* */
	int		(*fn)(const struct smp_ctx *c, const struct smp_arg *a,
			    struct smp *v);
	int		(*check)(struct smp_pctx *pc, struct smp_arg *a, int n);
	int		 param;		/* maps: match | output type << 8 */
};

struct smp_step {
	const struct smp_conv *conv;
	struct smp_arg	 args[SMP_ARGS_MAX];
	int		 nargs;
};

struct smp_expr {
	const struct smp_fetch *fetch;
	struct smp_arg	 args[SMP_ARGS_MAX];
	int		 nargs;
	struct smp_step	 conv[SMP_CONV_MAX];
	int		 nconv;
};

/* Variables of one scope (txn, sess), owned by whoever holds them. */
struct smp_var {
	char		 name[SMP_VAR_NAME];
	struct smp	 v;		/* strings point into buf */
	char		*buf;
};
struct smp_vars {
	struct smp_var	 v[SMP_VARS_MAX];
	int		 n;
};

/* A map file, loaded at load time into the config's arena. */
struct smp_map {
	int		 match;		/* M_*: how keys match */
	int		 n;
	struct pat	*key;
	const char	**val;
};

/* A reference to a userlist resolved once the whole configuration is
 * read (a userlist may come after its users). */
struct smp_fixup {
	void		**slot;
	const char	*name;
	int		 backend;	/* a backend's name, else a userlist's */
	const char	*file;
	int		 line;
	struct smp_fixup *next;
};

/* The parser's context: errors, memory, the config being built; <base>
 * is the text being parsed and <at> where it is, for the column in
 * messages. */
struct smp_pctx {
	struct u_err	*err;
	struct u_arena	*arena;
	struct config	*cfg;
	int		 param;		/* the converter's, while it is checked */
	const char	*base, *at;
};

/* A parse error, with the column when the text is known. */
static void
smp_err(struct smp_pctx *pc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pc->base && pc->at && pc->at >= pc->base)
		u_err(pc->err, "%s (column %d)", msg, (int)(pc->at - pc->base) + 1);
	else
		u_err(pc->err, "%s", msg);
}

static struct {
	char		 trash[2][SMP_TRASH_BYTES];
	int		 cur;
	struct smp_vars	 proc;		/* "proc." variables */
	struct sockaddr_storage dst;	/* for the dst fetches */
	struct sockaddr_storage dst_tmp;	/* a header value as an address */
} smp_rt;

/* The next scratch buffer (two alternate, so a converter can read one
 * while writing the other). */
static char *
smp_trash(void)
{
	smp_rt.cur ^= 1;
	return smp_rt.trash[smp_rt.cur];
}

static int
smp_set_str(struct smp *v, const char *s, size_t n)
{
	v->type = SMP_STR;
	v->s = s;
	v->n = n;
	return 1;
}

static int
smp_set_int(struct smp *v, int type, long long i)
{
	v->type = type;
	v->i = i;
	return 1;
}

/* A value as a string (numbers and addresses printed into scratch). */
static int
smp_to_str(struct smp *v)
{
	char *t;

	switch (v->type) {
	case SMP_STR:
		return 1;
	case SMP_BOOL:
	case SMP_INT:
		t = smp_trash();
		return smp_set_str(v, t, (size_t)snprintf(t, SMP_TRASH_BYTES, "%lld",
		    v->i));
	case SMP_ADDR:
		t = smp_trash();
		net_addr_str(v->a, t, SMP_TRASH_BYTES, 0);
		return smp_set_str(v, t, strlen(t));
	}
	return 0;
}

/* A value as an integer: strings must be all digits (a sign allowed). */
static int
smp_to_int(struct smp *v)
{
	long long x = 0;
	size_t i = 0;
	int neg = 0;

	if (v->type == SMP_BOOL || v->type == SMP_INT) {
		v->type = SMP_INT;
		return 1;
	}
	if (v->type != SMP_STR)
		return 0;
	if (v->n && (v->s[0] == '-' || v->s[0] == '+'))
		neg = v->s[i++] == '-';
	if (i == v->n)
		return 0;
	for (; i < v->n; i++) {
		if (!U_DIGIT(v->s[i]) || x > (LLONG_MAX - 9) / 10)
			return 0;
		x = x * 10 + (v->s[i] - '0');
	}
	return smp_set_int(v, SMP_INT, neg ? -x : x);
}

/* ---- fetches: the connection ---- */

static int
smp_one(struct smp_it *it)
{
	if (it == NULL)
		return 1;
	if (it->done)
		return 0;
	return it->done = 1;
}

static int
smp_f_src(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	(void)a;
	if (c->src == NULL || !smp_one(it))
		return 0;
	v->type = SMP_ADDR;
	v->a = c->src;
	return 1;
}

static int
smp_port(const struct sockaddr_storage *ss)
{
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static int
smp_f_src_port(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return c->src && smp_one(it) && smp_set_int(v, SMP_INT, smp_port(c->src));
}

/* The local address of the client connection, asked of the kernel when a
 * rule or log line wants it. */
static const struct sockaddr_storage *
smp_dst(const struct smp_ctx *c)
{
	socklen_t sl = sizeof(smp_rt.dst);

	if (c->dst)
		return c->dst;
	if (c->cli_fd < 0 || getsockname(c->cli_fd, (struct sockaddr *)&smp_rt.dst,
	    &sl) < 0)
		return NULL;
	return &smp_rt.dst;
}

static int
smp_f_dst(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	(void)a;
	if ((v->a = smp_dst(c)) == NULL || !smp_one(it))
		return 0;
	v->type = SMP_ADDR;
	return 1;
}

static int
smp_f_dst_port(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	const struct sockaddr_storage *d = smp_dst(c);

	(void)a;
	return d && smp_one(it) && smp_set_int(v, SMP_INT, smp_port(d));
}

static int
smp_f_ssl_fc(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return smp_one(it) && smp_set_int(v, SMP_BOOL, c->ssl != 0);
}

/* ssl_fc_sni, ssl_fc_protocol, ssl_fc_cipher: a string of the context */
static int
smp_ctx_str(const char *s, struct smp_it *it, struct smp *v)
{
	return s && smp_one(it) && smp_set_str(v, s, strlen(s));
}

static int
smp_f_sni(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	(void)a;
	return smp_ctx_str(c->ssl ? c->sni : NULL, it, v);
}

static int
smp_f_ssl_proto(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return smp_ctx_str(c->ssl ? c->ssl_proto : NULL, it, v);
}

static int
smp_f_ssl_cipher(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return smp_ctx_str(c->ssl ? c->ssl_cipher : NULL, it, v);
}

static int
smp_f_fe_name(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return smp_ctx_str(c->fe ? c->fe->name : NULL, it, v);
}

static int
smp_f_be_name(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return smp_ctx_str(c->be ? c->be->name : NULL, it, v);
}

static int
smp_f_srv_name(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return smp_ctx_str(c->sv ? c->sv->name : NULL, it, v);
}

/* nbsrv([backend]): HAProxy's be_usable_srv(), the usable active servers,
 * else the backups the balancer would use; without an argument, the
 * backend of the transaction (or the proxy itself, a listen section) */
static int
smp_f_nbsrv(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	const struct proxy *px = a[0].set ? a[0].p : c->be ? c->be : c->fe;
	const struct be_state *b = px && (px->cap & CAP_BE) ? px->bst : NULL;
	int n = b == NULL ? 0 : b->srv_act ? b->srv_act : b->fbck ? 1 : b->srv_bck;

	return smp_one(it) && smp_set_int(v, SMP_INT, n);
}

/* ---- fetches: constants, time, identifiers ---- */

static int
smp_f_const(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)c;
	return smp_one(it) && smp_set_int(v, SMP_BOOL, a[0].i);
}

static int
smp_f_str(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	(void)c;
	return smp_one(it) && smp_set_str(v, a[0].s, a[0].n);
}

static int
smp_f_int(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	(void)c;
	return smp_one(it) && smp_set_int(v, SMP_INT, a[0].i);
}

/* date([offset[,unit]]): the wall clock, in s, ms or us, plus offset */
static int
smp_f_date(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	struct timeval tv;
	long long t;

	(void)c;
	gettimeofday(&tv, NULL);
	t = a[1].i == 1000 ? (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000 :
	    a[1].i == 1000000 ? (long long)tv.tv_sec * 1000000 + tv.tv_usec :
	    (long long)tv.tv_sec;
	return smp_one(it) && smp_set_int(v, SMP_INT, t + a[0].i);
}

static int
smp_f_uuid(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	unsigned char r[16];
	char *t = smp_trash();

	(void)c;
	(void)a;
	if (!smp_one(it) || u_random(r, sizeof(r)) < 0)
		return 0;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);	/* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	return smp_set_str(v, t, (size_t)snprintf(t, SMP_TRASH_BYTES,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
	    r[11], r[12], r[13], r[14], r[15]));
}

static int
smp_f_unique_id(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return smp_ctx_str(c->uid, it, v);
}

/* ---- fetches: the request and response heads ---- */

static const struct http_msg *
smp_msg(const struct smp_ctx *c, int res)
{
	return res ? c->rsp : c->msg;
}

/* The next value of header <name> (every header when empty) of <m>:
 * comma-separated values when <split>, whole lines otherwise; an empty
 * value is one empty string. */
static int
smp_hdr_next(const struct http_msg *m, const char *name, int split,
    struct smp_it *it, struct smp *v)
{
	const char *el;
	size_t ell;

	for (;;) {
		if (it->p && u_list_next(&it->p, it->end, &el, &ell))
			return smp_set_str(v, el, ell);
		it->p = NULL;
		for (; it->hdr < m->nhdr; it->hdr++)
			if (!name || !*name || u_ieq(m->hdr[it->hdr].name,
			    m->hdr[it->hdr].name_len, name))
				break;
		if (it->hdr >= m->nhdr)
			return 0;
		el = m->hdr[it->hdr].value;
		ell = m->hdr[it->hdr].value_len;
		it->hdr++;
		if (ell == 0 || !split)
			return smp_set_str(v, el, ell);
		it->p = el;
		it->end = el + ell;
	}
}

/* Occurrence <occ> of a header's values: 1 the first, -1 the last. */
static int
smp_hdr_nth(const struct http_msg *m, const char *name, int split, long long occ,
    struct smp *v)
{
	struct smp_it it = { 0, NULL, NULL, 0 };
	struct smp cur;
	long long n = 0, want = occ;

	if (occ < 0) {
		while (smp_hdr_next(m, name, split, &it, &cur))
			n++;
		if ((want = n + occ + 1) < 1)
			return 0;
		memset(&it, 0, sizeof(it));
		n = 0;
	}
	while (smp_hdr_next(m, name, split, &it, &cur))
		if (++n == want) {
			*v = cur;
			return 1;
		}
	return 0;
}

/* hdr(), req.hdr(), req.fhdr(), res.hdr(), res.fhdr(): all values in an
 * ACL unless an occurrence is given; else that one (default: the last). */
static int
smp_hdr(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v, int res, int split)
{
	const struct http_msg *m = smp_msg(c, res);

	if (m == NULL)
		return 0;
	if (it && !a[1].set)
		return smp_hdr_next(m, a[0].s, split, it, v);
	return smp_one(it) && smp_hdr_nth(m, a[0].s, split, a[1].set ? a[1].i : -1, v);
}

static int
smp_f_req_hdr(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_hdr(c, a, it, v, 0, 1);
}

static int
smp_f_req_fhdr(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_hdr(c, a, it, v, 0, 0);
}

static int
smp_f_res_hdr(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_hdr(c, a, it, v, 1, 1);
}

static int
smp_f_res_fhdr(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_hdr(c, a, it, v, 1, 0);
}

/* The count of a header's values (comma-split or whole lines). */
static int
smp_hdr_cnt(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v, int res, int split)
{
	const struct http_msg *m = smp_msg(c, res);
	struct smp_it all = { 0, NULL, NULL, 0 };
	struct smp one;
	long long n = 0;

	if (m == NULL || !smp_one(it))
		return 0;
	while (smp_hdr_next(m, a[0].s, split, &all, &one))
		n++;
	return smp_set_int(v, SMP_INT, n);
}

static int
smp_f_req_hdr_cnt(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_hdr_cnt(c, a, it, v, 0, 1);
}

static int
smp_f_req_fhdr_cnt(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_hdr_cnt(c, a, it, v, 0, 0);
}

static int
smp_f_res_hdr_cnt(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_hdr_cnt(c, a, it, v, 1, 1);
}

static int
smp_f_path(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	const char *p;
	size_t n;

	(void)a;
	if (c->msg == NULL || !smp_one(it))
		return 0;
	h1_uri_path(c->msg, &p, &n);
	return smp_set_str(v, p, n);
}

static int
smp_f_url(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	(void)a;
	return c->msg && smp_one(it) && smp_set_str(v, c->msg->uri, c->msg->uri_len);
}

/* After the first '?'; nothing at all without one. */
static int
smp_f_query(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	const char *q;

	(void)a;
	if (c->msg == NULL || (q = memchr(c->msg->uri, '?', c->msg->uri_len)) == NULL ||
	    !smp_one(it))
		return 0;
	q++;
	return smp_set_str(v, q, (size_t)(c->msg->uri + c->msg->uri_len - q));
}

static int
smp_f_method(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return c->msg && smp_one(it) && smp_set_str(v, c->msg->method,
	    c->msg->method_len);
}

static int
smp_f_req_ver(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return c->msg && smp_one(it) && smp_set_str(v, c->msg->minor ? "1.1" :
	    "1.0", 3);
}

/* The first Host header and the path; the path alone without a host. */
static int
smp_f_base(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	const char *p;
	size_t n, hl;
	char *t;
	int h;

	(void)a;
	if (c->msg == NULL || !smp_one(it))
		return 0;
	h1_uri_path(c->msg, &p, &n);
	if ((h = h1_find_hdr(c->msg, "host", 0)) < 0 || c->msg->hdr[h].value_len == 0)
		return smp_set_str(v, p, n);
	hl = c->msg->hdr[h].value_len;
	if (hl + n > SMP_TRASH_BYTES)
		return 0;
	t = smp_trash();
	memcpy(t, c->msg->hdr[h].value, hl);
	memcpy(t + hl, p, n);
	return smp_set_str(v, t, hl + n);
}

static int
smp_f_status(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	int st = c->rsp ? c->rsp->status : c->status;

	(void)a;
	return st > 0 && smp_one(it) && smp_set_int(v, SMP_INT, st);
}

/* ---- fetches: the transaction ---- */

enum { SMP_SCOPE_PROC = 1, SMP_SCOPE_TXN, SMP_SCOPE_REQ, SMP_SCOPE_RES };

static struct smp_vars *
smp_scope(const struct smp_ctx *c, int scope)
{
	if (scope == SMP_SCOPE_PROC)
		return &smp_rt.proc;
	return c->vars;		/* txn, req and res live as long as the txn */
}

static const struct smp_var *
smp_var_find(const struct smp_vars *vs, const char *name)
{
	int i;

	for (i = 0; vs && i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0)
			return &vs->v[i];
	return NULL;
}

/* var(scope.name[,default]); a[0].i holds the scope, a[0].p the name */
static int
smp_f_var(const struct smp_ctx *c, const struct smp_arg *a, struct smp_it *it,
    struct smp *v)
{
	const struct smp_var *var = smp_var_find(smp_scope(c, (int)a[0].i), a[0].p);

	if (!smp_one(it))
		return 0;
	if (var) {
		*v = var->v;
		return 1;
	}
	return a[1].set && smp_set_str(v, a[1].s, a[1].n);
}

static int
smp_f_capture(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v, int res)
{
	const struct smp_caps *k = c->caps;
	const char *s;

	if (k == NULL || a[0].i < 0 || a[0].i >= CAPTURES_MAX)
		return 0;
	s = res ? k->res[a[0].i] : k->req[a[0].i];
	return s && smp_one(it) && smp_set_str(v, s, strlen(s));
}

static int
smp_f_cap_req(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_f_capture(c, a, it, v, 0);
}

static int
smp_f_cap_res(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_f_capture(c, a, it, v, 1);
}

static int
smp_f_http_auth(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_one(it) && smp_set_int(v, SMP_BOOL, auth_user(a[0].p, c->msg) != NULL);
}

/* The user's name; its groups are matched by the ACL (acl_match). */
static int
smp_f_http_auth_group(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	const struct ulist_user *u = auth_user(a[0].p, c->msg);

	return u && smp_one(it) && smp_set_str(v, u->name, strlen(u->name));
}

/* ---- fetches: cookies, query parameters, header conversions ---- */

/* The next "name=value" of the Cookie headers whose name is <name> (any
 * when empty); *hdr and *p say where the search goes on. */
static int
smp_cook_next(const struct http_msg *m, const char *name, struct smp_it *it,
    struct smp *v)
{
	size_t nl = strlen(name);

	for (;;) {
		const char *s, *e, *eq, *ve;

		if (it->p == NULL || it->p >= it->end) {
			for (; it->hdr < m->nhdr; it->hdr++)
				if (u_ieq(m->hdr[it->hdr].name, m->hdr[it->hdr].name_len,
				    "cookie"))
					break;
			if (it->hdr >= m->nhdr)
				return 0;
			it->p = m->hdr[it->hdr].value;
			it->end = it->p + m->hdr[it->hdr].value_len;
			it->hdr++;
		}
		for (s = it->p; s < it->end && (*s == ' ' || *s == '\t' || *s == ';'); s++)
			;
		for (e = s; e < it->end && *e != ';'; e++)
			;
		it->p = e;
		if ((eq = memchr(s, '=', (size_t)(e - s))) == NULL)
			continue;
		for (ve = e; ve > eq + 1 && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		if (nl && ((size_t)(eq - s) != nl || memcmp(s, name, nl) != 0))
			continue;
		return smp_set_str(v, eq + 1, (size_t)(ve - eq - 1));
	}
}

/* req.cook(name): the last occurrence in an expression (the first when no
 * name is given), every one in an ACL. */
static int
smp_f_req_cook(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	struct smp_it all = { 0, NULL, NULL, 0 };
	struct smp cur;
	int found = 0;

	if (c->msg == NULL)
		return 0;
	if (it)
		return smp_cook_next(c->msg, a[0].s, it, v);
	while (smp_cook_next(c->msg, a[0].s, &all, &cur)) {
		*v = cur;
		found = 1;
		if (a[0].n == 0)
			break;
	}
	return found;
}

/* url_param(name[,delim]): the value of a query-string parameter. */
static int
smp_f_url_param(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	const char *u, *e, *s, *pe, *eq;
	char delim = a[1].n ? a[1].s[0] : '&';

	if (c->msg == NULL)
		return 0;
	u = c->msg->uri;
	e = u + c->msg->uri_len;
	if (it && it->p)
		s = it->p;
	else if ((s = memchr(u, '?', c->msg->uri_len)) == NULL)
		return 0;
	else
		s++;
	if ((pe = memchr(u, '#', c->msg->uri_len)) != NULL && pe > s)
		e = pe;
	for (; s < e; s = pe + 1) {
		for (pe = s; pe < e && *pe != delim && *pe != ';' && *pe != '&'; pe++)
			;
		eq = memchr(s, '=', (size_t)(pe - s));
		if ((a[0].n == 0 || (eq && (size_t)(eq - s) == a[0].n &&
		    memcmp(s, a[0].s, a[0].n) == 0))) {
			if (it)
				it->p = pe < e ? pe + 1 : e;
			return eq ? smp_set_str(v, eq + 1, (size_t)(pe - eq - 1)) :
			    smp_set_str(v, "", 0);
		}
		if (pe >= e)
			break;
	}
	if (it)
		it->p = e;
	return 0;
}

/* A header value as an address: "a.b.c.d", "a.b.c.d:port", an IPv6
 * address, bracketed or not. */
static int
smp_str_to_addr(struct smp *v)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *s = v->s, *e = v->s + v->n, *colon;
	struct sockaddr_storage *ss = &smp_rt.dst_tmp;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (s < e && *s == '[' && (colon = memchr(s, ']', (size_t)(e - s))) != NULL) {
		s++;
		e = colon;
	} else if ((colon = memchr(s, ':', (size_t)(e - s))) != NULL &&
	    memchr(colon + 1, ':', (size_t)(e - colon - 1)) == NULL)
		e = colon;	/* IPv4 and a port */
	if ((size_t)(e - s) >= sizeof(buf))
		return 0;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = 0;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, buf, &((struct sockaddr_in *)ss)->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
		ss->ss_family = AF_INET6;
	else
		return 0;
	v->type = SMP_ADDR;
	v->a = ss;
	return 1;
}

/* A header value as HAProxy's strl2ic(): leading digits, a sign. */
static int
smp_str_lead_int(struct smp *v)
{
	long long x = 0;
	size_t i = 0;
	int neg = 0;

	if (v->n && (v->s[0] == '-' || v->s[0] == '+'))
		neg = v->s[i++] == '-';
	for (; i < v->n && U_DIGIT(v->s[i]) && x < LLONG_MAX / 10 - 9; i++)
		x = x * 10 + (v->s[i] - '0');
	return smp_set_int(v, SMP_INT, neg ? -x : x);
}

static int
smp_f_req_hdr_ip(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	while (smp_hdr(c, a, it, v, 0, 1))
		if (smp_str_to_addr(v))
			return 1;
		else if (it == NULL || a[1].set)
			return 0;
	return 0;
}

static int
smp_f_req_hdr_val(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	return smp_hdr(c, a, it, v, 0, 1) && smp_str_lead_int(v);
}

static int
smp_f_res_ver(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return c->rsp && smp_one(it) && smp_set_str(v, c->rsp->minor ? "1.1" :
	    "1.0", 3);
}

static int
smp_f_proto_http(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return smp_one(it) && smp_set_int(v, SMP_BOOL, c->msg != NULL);
}

/* fc_err, ssl_fc_err, ssl_c_err, ssl_c_ca_err: a connection that got this
 * far had no error, and no client certificates are asked for. */
static int
smp_f_zero(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)c;
	(void)a;
	return smp_one(it) && smp_set_int(v, SMP_INT, 0);
}

static int
smp_f_ssl_resumed(const struct smp_ctx *c, const struct smp_arg *a,
    struct smp_it *it, struct smp *v)
{
	(void)a;
	return c->ssl && smp_one(it) && smp_set_int(v, SMP_BOOL, c->ssl_resumed);
}

/* ---- fetch arguments, checked and compiled at load ---- */

static int
smp_chk_int(struct smp_pctx *pc, struct smp_arg *a, int k)
{
	if (a[k].set && u_parse_int(a[k].s, LLONG_MIN / 2, LLONG_MAX / 2, &a[k].i) < 0) {
		smp_err(pc, "argument %d '%s' is not an integer", k + 1, a[k].s);
		return -1;
	}
	return 0;
}

/* hdr(name[,occ]): a non-zero occurrence */
static int
smp_chk_hdr(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	if (smp_chk_int(pc, a, 1) < 0)
		return -1;
	if (a[1].set && a[1].i == 0) {
		smp_err(pc, "header occurrence 0 does not exist (1 is the first, -1 "
		    "the last)");
		return -1;
	}
	return 0;
}

static int
smp_chk_int0(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	return smp_chk_int(pc, a, 0);
}

/* [offset[,unit]]: the unit as the number of its steps in a second
 * (date() and http_date; <what> prefixes the error) */
static int
smp_chk_unit(struct smp_pctx *pc, struct smp_arg *a, const char *what)
{
	if (smp_chk_int(pc, a, 0) < 0)
		return -1;
	if (!a[1].set || strcmp(a[1].s, "s") == 0)
		a[1].i = 1;
	else if (strcmp(a[1].s, "ms") == 0)
		a[1].i = 1000;
	else if (strcmp(a[1].s, "us") == 0)
		a[1].i = 1000000;
	else {
		smp_err(pc, "%sunit '%s' is not s, ms or us", what, a[1].s);
		return -1;
	}
	return 0;
}

static int
smp_chk_date(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	return smp_chk_unit(pc, a, "date: ");
}

static int
smp_chk_uuid(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	if (a[0].set && strcmp(a[0].s, "4") != 0) {
		smp_err(pc, "uuid: only version 4 is supported");
		return -1;
	}
	return 0;
}

static int
smp_chk_userlist(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	struct smp_fixup *f = u_alloc(pc->arena, sizeof(*f));

	(void)n;
	f->slot = &a[0].p;
	f->name = a[0].s;
	f->file = u_strdup(pc->arena, pc->err->file);
	f->line = pc->err->line;
	f->next = pc->cfg->fixups;
	pc->cfg->fixups = f;
	return 0;
}

/* nbsrv(NAME): the backend is found once the whole config is read */
static int
smp_chk_backend(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	if (n == 0 || !a[0].set)
		return 0;
	if (smp_chk_userlist(pc, a, n) < 0)
		return -1;
	pc->cfg->fixups->backend = 1;
	return 0;
}

/* "scope.name": the scope into a[0].i, the name into a[0].p */
static int
smp_var_name(struct smp_pctx *pc, struct smp_arg *a)
{
	static const char *const scopes[] = { "proc.", "txn.", "req.", "res." };
	const char *name = NULL, *c;
	size_t k;

	if (strncmp(a->s, "sess.", 5) == 0) {
		smp_err(pc, "variable '%s': the sess. scope is not supported (a "
		    "session's memory is fixed); use txn. or proc.", a->s);
		return -1;
	}
	for (k = 0; k < NELEM(scopes) && name == NULL; k++)
		if (strncmp(a->s, scopes[k], strlen(scopes[k])) == 0) {
			a->i = (long long)k + SMP_SCOPE_PROC;
			name = a->s + strlen(scopes[k]);
		}
	if (name == NULL || *name == 0 || strlen(a->s) >= SMP_VAR_NAME) {
		smp_err(pc, "variable '%s': expected proc., txn., req. or res. and a "
		    "name (%d characters in all at most)", a->s, SMP_VAR_NAME - 1);
		return -1;
	}
	for (c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_') {
			smp_err(pc, "variable '%s': invalid character '%c'", a->s, *c);
			return -1;
		}
	a->p = (void *)a->s;	/* stored under its whole name */
	return 0;
}

static int
smp_chk_var(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	return smp_var_name(pc, a);
}

/* always_true: the constant is in a[0].i (always_false leaves it 0) */
static int
smp_chk_true(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)pc;
	(void)n;
	a[0].i = 1;
	return 0;
}

#define F(name, amin, amax, out, use, fn, chk) \
	{ name, amin, amax, out, use, fn, chk }
static const struct smp_fetch smp_fetches[] = {
	F("src", 0, 0, SMP_ADDR, SMP_USE_L4, smp_f_src, NULL),
	F("src_port", 0, 0, SMP_INT, SMP_USE_L4, smp_f_src_port, NULL),
	F("dst", 0, 0, SMP_ADDR, SMP_USE_L4, smp_f_dst, NULL),
	F("dst_port", 0, 0, SMP_INT, SMP_USE_L4, smp_f_dst_port, NULL),
	F("ssl_fc", 0, 0, SMP_BOOL, SMP_USE_L4, smp_f_ssl_fc, NULL),
	F("ssl_fc_sni", 0, 0, SMP_STR, SMP_USE_L4, smp_f_sni, NULL),
	F("ssl_fc_protocol", 0, 0, SMP_STR, SMP_USE_L4, smp_f_ssl_proto, NULL),
	F("ssl_fc_cipher", 0, 0, SMP_STR, SMP_USE_L4, smp_f_ssl_cipher, NULL),
	F("fe_name", 0, 0, SMP_STR, SMP_USE_L4, smp_f_fe_name, NULL),
	F("be_name", 0, 0, SMP_STR, SMP_USE_TXN, smp_f_be_name, NULL),
	F("srv_name", 0, 0, SMP_STR, SMP_USE_TXN, smp_f_srv_name, NULL),
	F("nbsrv", 0, 1, SMP_INT, SMP_USE_L4, smp_f_nbsrv, smp_chk_backend),
	F("always_true", 0, 0, SMP_BOOL, SMP_USE_L4, smp_f_const, smp_chk_true),
	F("always_false", 0, 0, SMP_BOOL, SMP_USE_L4, smp_f_const, NULL),
	F("str", 1, 1, SMP_STR, SMP_USE_L4, smp_f_str, NULL),
	F("int", 1, 1, SMP_INT, SMP_USE_L4, smp_f_int, smp_chk_int0),
	F("date", 0, 2, SMP_INT, SMP_USE_L4, smp_f_date, smp_chk_date),
	F("uuid", 0, 1, SMP_STR, SMP_USE_L4, smp_f_uuid, smp_chk_uuid),
	F("unique-id", 0, 0, SMP_STR, SMP_USE_TXN, smp_f_unique_id, NULL),
	F("var", 1, 2, SMP_STR, SMP_USE_VAR, smp_f_var, smp_chk_var),
	F("hdr", 0, 2, SMP_STR, SMP_USE_REQ, smp_f_req_hdr, smp_chk_hdr),
	F("req.hdr", 0, 2, SMP_STR, SMP_USE_REQ, smp_f_req_hdr, smp_chk_hdr),
	F("req.fhdr", 1, 2, SMP_STR, SMP_USE_REQ, smp_f_req_fhdr, smp_chk_hdr),
	F("res.hdr", 0, 2, SMP_STR, SMP_USE_RES, smp_f_res_hdr, smp_chk_hdr),
	F("shdr", 0, 2, SMP_STR, SMP_USE_RES, smp_f_res_hdr, smp_chk_hdr),
	F("res.fhdr", 1, 2, SMP_STR, SMP_USE_RES, smp_f_res_fhdr, smp_chk_hdr),
	F("hdr_cnt", 0, 1, SMP_INT, SMP_USE_REQ, smp_f_req_hdr_cnt, NULL),
	F("req.hdr_cnt", 0, 1, SMP_INT, SMP_USE_REQ, smp_f_req_hdr_cnt, NULL),
	F("req.fhdr_cnt", 0, 1, SMP_INT, SMP_USE_REQ, smp_f_req_fhdr_cnt, NULL),
	F("res.hdr_cnt", 0, 1, SMP_INT, SMP_USE_RES, smp_f_res_hdr_cnt, NULL),
	F("shdr_cnt", 0, 1, SMP_INT, SMP_USE_RES, smp_f_res_hdr_cnt, NULL),
	F("path", 0, 0, SMP_STR, SMP_USE_REQ, smp_f_path, NULL),
	F("url", 0, 0, SMP_STR, SMP_USE_REQ, smp_f_url, NULL),
	F("query", 0, 0, SMP_STR, SMP_USE_REQ, smp_f_query, NULL),
	F("method", 0, 0, SMP_STR, SMP_USE_REQ, smp_f_method, NULL),
	F("req.ver", 0, 0, SMP_STR, SMP_USE_REQ, smp_f_req_ver, NULL),
	F("req_ver", 0, 0, SMP_STR, SMP_USE_REQ, smp_f_req_ver, NULL),
	F("base", 0, 0, SMP_STR, SMP_USE_REQ, smp_f_base, NULL),
	F("status", 0, 0, SMP_INT, SMP_USE_RES, smp_f_status, NULL),
	F("capture.req.hdr", 1, 1, SMP_STR, SMP_USE_TXN, smp_f_cap_req, smp_chk_int0),
	F("capture.res.hdr", 1, 1, SMP_STR, SMP_USE_TXN, smp_f_cap_res, smp_chk_int0),
	F("http_auth", 1, 1, SMP_BOOL, SMP_USE_REQ, smp_f_http_auth, smp_chk_userlist),
	F("http_auth_group", 1, 1, SMP_STR, SMP_USE_REQ, smp_f_http_auth_group,
	    smp_chk_userlist),
	F("req.cook", 0, 1, SMP_STR, SMP_USE_REQ, smp_f_req_cook, NULL),
	F("cook", 0, 1, SMP_STR, SMP_USE_REQ, smp_f_req_cook, NULL),
	F("url_param", 0, 2, SMP_STR, SMP_USE_REQ, smp_f_url_param, NULL),
	F("urlp", 0, 2, SMP_STR, SMP_USE_REQ, smp_f_url_param, NULL),
	F("req.hdr_ip", 0, 2, SMP_ADDR, SMP_USE_REQ, smp_f_req_hdr_ip, smp_chk_hdr),
	F("hdr_ip", 0, 2, SMP_ADDR, SMP_USE_REQ, smp_f_req_hdr_ip, smp_chk_hdr),
	F("req.hdr_val", 0, 2, SMP_INT, SMP_USE_REQ, smp_f_req_hdr_val, smp_chk_hdr),
	F("hdr_val", 0, 2, SMP_INT, SMP_USE_REQ, smp_f_req_hdr_val, smp_chk_hdr),
	F("res.ver", 0, 0, SMP_STR, SMP_USE_RES, smp_f_res_ver, NULL),
	F("resp_ver", 0, 0, SMP_STR, SMP_USE_RES, smp_f_res_ver, NULL),
	F("req.proto_http", 0, 0, SMP_BOOL, SMP_USE_REQ, smp_f_proto_http, NULL),
	F("req_proto_http", 0, 0, SMP_BOOL, SMP_USE_REQ, smp_f_proto_http, NULL),
	F("fc_err", 0, 0, SMP_INT, SMP_USE_L4, smp_f_zero, NULL),
	F("ssl_fc_err", 0, 0, SMP_INT, SMP_USE_L4, smp_f_zero, NULL),
	F("ssl_c_err", 0, 0, SMP_INT, SMP_USE_L4, smp_f_zero, NULL),
	F("ssl_c_ca_err", 0, 0, SMP_INT, SMP_USE_L4, smp_f_zero, NULL),
	F("ssl_fc_is_resumed", 0, 0, SMP_BOOL, SMP_USE_L4, smp_f_ssl_resumed, NULL),
};
#undef F

/* ---- converters ---- */

static int
smp_c_case(struct smp *v, int upper)
{
	char *t;
	size_t i;

	if (!smp_to_str(v) || v->n > SMP_TRASH_BYTES)
		return 0;
	t = smp_trash();
	for (i = 0; i < v->n; i++)
		t[i] = (char)(upper ? toupper((unsigned char)v->s[i]) :
		    u_lower((unsigned char)v->s[i]));
	return smp_set_str(v, t, v->n);
}

static int
smp_c_lower(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	(void)c;
	(void)a;
	return smp_c_case(v, 0);
}

static int
smp_c_upper(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	(void)c;
	(void)a;
	return smp_c_case(v, 1);
}

static int
smp_c_b64(struct smp *v, int url)
{
	char *t;
	int n;
	size_t i;

	if (!smp_to_str(v) || (n = u_b64_encode((const unsigned char *)v->s, v->n,
	    t = smp_trash(), SMP_TRASH_BYTES)) < 0)
		return 0;
	if (url) {	/* RFC 4648 base64url, without padding */
		for (i = 0; i < (size_t)n; i++)
			t[i] = t[i] == '+' ? '-' : t[i] == '/' ? '_' : t[i];
		while (n > 0 && t[n - 1] == '=')
			n--;
	}
	return smp_set_str(v, t, (size_t)n);
}

static int
smp_c_base64(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	(void)c;
	(void)a;
	return smp_c_b64(v, 0);
}

static int
smp_c_ub64enc(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	(void)c;
	(void)a;
	return smp_c_b64(v, 1);
}

static int
smp_c_hex(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	static const char hx[] = "0123456789ABCDEF";
	char *t;
	size_t i;

	(void)c;
	(void)a;
	if (!smp_to_str(v) || v->n * 2 > SMP_TRASH_BYTES)
		return 0;
	t = smp_trash();
	for (i = 0; i < v->n; i++) {
		t[2 * i] = hx[(unsigned char)v->s[i] >> 4];
		t[2 * i + 1] = hx[(unsigned char)v->s[i] & 15];
	}
	return smp_set_str(v, t, v->n * 2);
}

static int
smp_c_length(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	(void)c;
	(void)a;
	return smp_to_str(v) && smp_set_int(v, SMP_INT, (long long)v->n);
}

/* bytes(offset[,length]) */
static int
smp_c_bytes(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	size_t off = (size_t)a[0].i, len;

	(void)c;
	if (!smp_to_str(v) || off > v->n)
		return 0;
	len = v->n - off;
	if (a[1].set && (size_t)a[1].i < len)
		len = (size_t)a[1].i;
	return smp_set_str(v, v->s + off, len);
}

/* The fields of s[0..n) split at any of <delims>; <words> skips empty
 * ones.  Returns the number of fields, their starts and ends in st/en. */
static int
smp_split(const char *s, size_t n, const char *delims, int words,
    const char **st, const char **en, int max)
{
	const char *p = s, *e = s + n, *f = s;
	int k = 0;

	for (; p <= e && k < max; p++)
		if (p == e || strchr(delims, *p)) {
			if (!words || p > f) {
				st[k] = f;
				en[k++] = p;
			}
			f = p + 1;
		}
	return k;
}

#define SMP_FIELDS_MAX	256	/* fields field()/word() look at */

/* field(index,delims[,count]) and word(): fields <index> (from 1, or -1
 * from the end) and the <count>-1 after it (0: all remaining), joined
 * by what separated them in the input. */
static int
smp_c_field_word(struct smp *v, const struct smp_arg *a, int words)
{
	const char *st[SMP_FIELDS_MAX], *en[SMP_FIELDS_MAX];
	long long idx = a[0].i, cnt = a[2].set ? a[2].i : 1;
	int n, first, last;

	if (!smp_to_str(v))
		return 0;
	n = smp_split(v->s, v->n, a[1].s, words, st, en, SMP_FIELDS_MAX);
	if (idx > 0) {
		first = (int)idx - 1;
		last = cnt == 0 ? n - 1 : first + (int)cnt - 1;
	} else {
		last = n + (int)idx;
		first = cnt == 0 ? 0 : last - (int)cnt + 1;
	}
	if (first < 0)
		first = 0;
	if (last >= n)
		last = n - 1;
	if (n == 0 || first >= n || last < 0 || first > last)
		return smp_set_str(v, "", 0);
	return smp_set_str(v, st[first], (size_t)(en[last] - st[first]));
}

static int
smp_c_field(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	(void)c;
	return smp_c_field_word(v, a, 0);
}

static int
smp_c_word(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	(void)c;
	return smp_c_field_word(v, a, 1);
}

/* Append the substitution <sub> with \0..\9 for the groups of a match. */
static size_t
smp_regsub_put(char *t, size_t o, const char *sub, const char *in,
    const regmatch_t *m)
{
	const char *p;
	size_t k;

	for (p = sub; *p && o < SMP_TRASH_BYTES; p++) {
		if (*p == '\\' && U_DIGIT(p[1])) {
			k = (size_t)(p[1] - '0');
			p++;
			if (m[k].rm_so >= 0) {
				size_t l = (size_t)(m[k].rm_eo - m[k].rm_so);

				if (o + l > SMP_TRASH_BYTES)
					break;
				memcpy(t + o, in + m[k].rm_so, l);
				o += l;
			}
			continue;
		}
		t[o++] = *p;
	}
	return o;
}

/* regsub(regex,subst[,flags]): the first match (or every one with "g")
 * replaced; a[0].p is the regex, a[2].i the "g" flag. */
static int
smp_c_regsub(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	char in[SMP_TRASH_BYTES], *t;
	regmatch_t m[10];
	size_t o = 0, pos = 0, len;

	(void)c;
	if (!smp_to_str(v) || v->n >= sizeof(in))
		return 0;
	memcpy(in, v->s, v->n);
	in[len = v->n] = 0;
	t = smp_trash();
	while (pos <= len && regexec(a[0].p, in + pos, 10, m, pos ? REG_NOTBOL : 0) == 0) {
		size_t so = pos + (size_t)m[0].rm_so, eo = pos + (size_t)m[0].rm_eo;
		int k;

		if (o + (so - pos) > SMP_TRASH_BYTES)
			break;
		memcpy(t + o, in + pos, so - pos);
		o += so - pos;
		for (k = 0; k < 10; k++)
			if (m[k].rm_so >= 0) {
				m[k].rm_so += (regoff_t)pos;
				m[k].rm_eo += (regoff_t)pos;
			}
		o = smp_regsub_put(t, o, a[1].s, in, m);
		pos = eo;
		if (eo == so) {		/* an empty match moves on one byte */
			if (pos < len && o < SMP_TRASH_BYTES)
				t[o++] = in[pos];
			pos++;
		}
		if (!a[2].i)
			break;
	}
	if (pos < len && o + (len - pos) <= SMP_TRASH_BYTES) {
		memcpy(t + o, in + pos, len - pos);
		o += len - pos;
	}
	return smp_set_str(v, t, o);
}

/* ---- maps ---- */

/* The value of the first key matching <in> (the longest network for an
 * address), or NULL. */
static const char *
smp_map_lookup(const struct smp_map *mp, const struct smp *in)
{
	long long iv;
	int k, best = -1;

	for (k = 0; k < mp->n; k++) {
		const struct pat *p = &mp->key[k];

		if (mp->match == M_IP) {
			if (pat_match_ip(p, in->a) && (best < 0 ||
			    p->cidr.bits > mp->key[best].cidr.bits))
				best = k;
		} else if (mp->match == M_INT) {
			if (pat_str_int(in->s, in->n, &iv) == 0 && pat_match_int(p, iv))
				return mp->val[k];
		} else if (pat_match_str(p, mp->match, 0, in->s, in->n))
			return mp->val[k];
	}
	return best >= 0 ? mp->val[best] : NULL;
}

/* map_<match>(file[,default]): a[0].p is the map, a[2].i the output type */
static int
smp_c_map(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	const struct smp_map *mp = a[0].p;
	const char *r;

	(void)c;
	if (mp->match == M_IP ? v->type != SMP_ADDR : !smp_to_str(v))
		return 0;
	if ((r = smp_map_lookup(mp, v)) == NULL) {
		if (!a[1].set)
			return 0;
		r = a[1].s;
	}
	smp_set_str(v, r, strlen(r));
	return a[2].i == SMP_INT ? smp_to_int(v) : 1;
}

/* One "key value" line of a map file into entry k; 0 when empty. */
static int
smp_map_line(struct smp_pctx *pc, struct smp_map *mp, char *line, int k,
    const char **why)
{
	char *key = line, *val, *end;

	while (*key == ' ' || *key == '\t')
		key++;
	if (*key == 0 || *key == '#' || *key == '\n' || *key == '\r')
		return 0;
	for (val = key; *val && *val != ' ' && *val != '\t' && *val != '\n' &&
	    *val != '\r'; val++)
		;
	if (*val)
		*val++ = 0;
	while (*val == ' ' || *val == '\t')
		val++;
	for (end = val + strlen(val); end > val && strchr(" \t\r\n", end[-1]); end--)
		;
	*end = 0;
	if (pat_compile(pc->arena, mp->match, 0, key, &mp->key[k], why) < 0)
		return -1;
	mp->val[k] = u_strdup(pc->arena, val);
	return 1;
}

/* Load a map file for the converter being checked (pc->param). */
static int
smp_chk_map(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	struct smp_map *mp = u_alloc(pc->arena, sizeof(*mp));
	char line[CFG_LINE_MAX];
	const char *why = NULL;
	FILE *f = fopen(a[0].s, "r");
	int r, ln = 0;

	(void)n;
	if (f == NULL) {
		smp_err(pc, "map file '%s': %s", a[0].s, strerror(errno));
		return -1;
	}
	mp->match = pc->param & 0xff;
	mp->key = u_alloc(pc->arena, SMP_MAP_MAX * sizeof(*mp->key));
	mp->val = u_alloc(pc->arena, SMP_MAP_MAX * sizeof(*mp->val));
	while (fgets(line, sizeof(line), f)) {
		ln++;
		if (mp->n == SMP_MAP_MAX || (r = smp_map_line(pc, mp, line, mp->n, &why)) < 0) {
			smp_err(pc, "map file '%s', line %d: %s", a[0].s, ln,
			    why ? why : "too many entries");
			fclose(f);
			return -1;
		}
		mp->n += r;
	}
	fclose(f);
	a[0].p = mp;
	a[2].i = pc->param >> 8;	/* the output type */
	return 0;
}

static int
smp_chk_bytes(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	if (smp_chk_int(pc, a, 0) < 0 || smp_chk_int(pc, a, 1) < 0)
		return -1;
	if (a[0].i < 0 || (a[1].set && a[1].i < 0)) {
		smp_err(pc, "bytes: offset and length must not be negative");
		return -1;
	}
	return 0;
}

static int
smp_chk_field(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	if (smp_chk_int(pc, a, 0) < 0 || smp_chk_int(pc, a, 2) < 0)
		return -1;
	if (a[0].i == 0 || a[1].n == 0 || (a[2].set && a[2].i < 0)) {
		smp_err(pc, "expected a non-zero index, delimiters and a count >= 0");
		return -1;
	}
	return 0;
}

/* regsub(regex,subst[,flags]): "i" case-insensitive, "g" every match */
static int
smp_chk_regsub(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	int icase = 0;
	const char *f;

	(void)n;
	for (f = a[2].s; *f; f++)
		if (*f == 'i')
			icase = 1;
		else if (*f == 'g')
			a[2].i = 1;
		else {
			smp_err(pc, "regsub: unknown flag '%c'", *f);
			return -1;
		}
	if ((a[0].p = pat_regcomp(pc->arena, a[0].s, REG_EXTENDED |
	    (icase ? REG_ICASE : 0))) == NULL) {
		smp_err(pc, "regsub: invalid regex '%s'", a[0].s);
		return -1;
	}
	return 0;
}

/* ---- converters: decoding, JSON, dates ---- */

/* url_dec([in_form]): %XX decoded; '+' is a space in a query string (or
 * everywhere when in_form is non-zero). */
static int
smp_c_url_dec(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	char *t;
	size_t i, o = 0;
	int query = a[0].set && atoi(a[0].s) != 0;

	(void)c;
	if (!smp_to_str(v) || v->n > SMP_TRASH_BYTES)
		return 0;
	t = smp_trash();
	for (i = 0; i < v->n; i++) {
		char ch = v->s[i];

		if (ch == '?')
			query = 1;
		if (ch == '+' && query)
			ch = ' ';
		else if (ch == '%') {
			if (i + 2 >= v->n || u_hexval(v->s[i + 1]) < 0 ||
			    u_hexval(v->s[i + 2]) < 0)
				return 0;
			ch = (char)(u_hexval(v->s[i + 1]) << 4 | u_hexval(v->s[i + 2]));
			i += 2;
		}
		t[o++] = ch;
	}
	return smp_set_str(v, t, o);
}

/* The length of the UTF-8 sequence at s (its code point in *cp), or 0. */
static size_t
smp_utf8(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t k, len = s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 :
	    s[0] < 0xf5 ? 4 : 0;

	if (len == 0 || len > n)
		return 0;
	*cp = s[0] & (0x7f >> len);
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[k] & 0x3f);
	}
	return len;
}

/* json([ascii|utf8|utf8s|utf8p|utf8ps]): escaped for a JSON string;
 * a[0].i is 0 for ascii, 1 for utf8 (invalid input: no value), 2 for
 * the forms that skip invalid bytes. */
static int
smp_c_json(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	const unsigned char *s;
	char *t;
	size_t i, o = 0, l;
	unsigned cp;

	(void)c;
	if (!smp_to_str(v))
		return 0;
	s = (const unsigned char *)v->s;
	t = smp_trash();
	for (i = 0; i < v->n; i += l) {
		cp = s[i];
		l = 1;
		if (cp >= 0x80 && a[0].i) {
			if ((l = smp_utf8(s + i, v->n - i, &cp)) == 0) {
				if (a[0].i == 1)
					return 0;
				l = 1;
				continue;
			}
		}
		if (o + 7 > SMP_TRASH_BYTES)
			return 0;
		if (cp == '"' || cp == '\\' || cp == '/') {
			t[o++] = '\\';
			t[o++] = (char)cp;
		} else if (cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' ||
		    cp == '\t') {
			t[o++] = '\\';
			t[o++] = "bfnrt"[cp == '\b' ? 0 : cp == '\f' ? 1 : cp == '\n' ? 2 :
			    cp == '\r' ? 3 : 4];
		} else if (cp < 0x20 || cp > 0x7e)
			o += (size_t)snprintf(t + o, 7, "\\u%04x", cp & 0xffff);
		else
			t[o++] = (char)cp;
	}
	return smp_set_str(v, t, o);
}

static int
smp_chk_json(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	if (!a[0].set || strcmp(a[0].s, "ascii") == 0)
		a[0].i = 0;
	else if (strcmp(a[0].s, "utf8") == 0 || strcmp(a[0].s, "utf8p") == 0)
		a[0].i = 1;
	else if (strcmp(a[0].s, "utf8s") == 0 || strcmp(a[0].s, "utf8ps") == 0)
		a[0].i = 2;
	else {
		smp_err(pc, "json: unknown input '%s' (ascii, utf8, utf8s, utf8p, "
		    "utf8ps)", a[0].s);
		return -1;
	}
	return 0;
}

/* http_date([offset[,unit]]): an IMF-fixdate of the time in the input. */
static int
smp_c_http_date(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	char *t = smp_trash();
	struct tm tm;
	time_t sec;

	(void)c;
	if (!smp_to_int(v))
		return 0;
	sec = (time_t)(v->i / a[1].i + a[0].i);
	if (gmtime_r(&sec, &tm) == NULL)
		return 0;
	return smp_set_str(v, t, strftime(t, SMP_TRASH_BYTES,
	    "%a, %d %b %Y %H:%M:%S GMT", &tm));
}

static int
smp_chk_time_unit(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	return smp_chk_unit(pc, a, "");
}

static int
smp_c_time(const struct smp_arg *a, struct smp *v, int utc)
{
	char *t = smp_trash();
	struct tm tm;
	time_t sec;

	if (!smp_to_int(v))
		return 0;
	sec = (time_t)(v->i + a[1].i);
	if ((utc ? gmtime_r(&sec, &tm) : localtime_r(&sec, &tm)) == NULL)
		return 0;
	return smp_set_str(v, t, strftime(t, SMP_TRASH_BYTES, a[0].s, &tm));
}

static int
smp_c_ltime(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	(void)c;
	return smp_c_time(a, v, 0);
}

static int
smp_c_utime(const struct smp_ctx *c, const struct smp_arg *a, struct smp *v)
{
	(void)c;
	return smp_c_time(a, v, 1);
}

/* ltime/utime(format[,offset]) */
static int
smp_chk_strftime(struct smp_pctx *pc, struct smp_arg *a, int n)
{
	(void)n;
	return smp_chk_int(pc, a, 1);
}

#define C(name, amin, amax, out, fn, chk)	{ name, amin, amax, out, fn, chk, 0 }
#define MAP(name, match, out)	{ name, 1, 2, out, smp_c_map, smp_chk_map, \
	(match) | (out) << 8 }
static const struct smp_conv smp_convs[] = {
	C("lower", 0, 0, SMP_STR, smp_c_lower, NULL),
	C("upper", 0, 0, SMP_STR, smp_c_upper, NULL),
	C("base64", 0, 0, SMP_STR, smp_c_base64, NULL),
	C("ub64enc", 0, 0, SMP_STR, smp_c_ub64enc, NULL),
	C("hex", 0, 0, SMP_STR, smp_c_hex, NULL),
	C("length", 0, 0, SMP_INT, smp_c_length, NULL),
	C("bytes", 1, 2, SMP_STR, smp_c_bytes, smp_chk_bytes),
	C("field", 2, 3, SMP_STR, smp_c_field, smp_chk_field),
	C("word", 2, 3, SMP_STR, smp_c_word, smp_chk_field),
	C("regsub", 2, 3, SMP_STR, smp_c_regsub, smp_chk_regsub),
	C("url_dec", 0, 1, SMP_STR, smp_c_url_dec, NULL),
	C("json", 0, 1, SMP_STR, smp_c_json, smp_chk_json),
	C("http_date", 0, 2, SMP_STR, smp_c_http_date, smp_chk_time_unit),
	C("ltime", 1, 2, SMP_STR, smp_c_ltime, smp_chk_strftime),
	C("utime", 1, 2, SMP_STR, smp_c_utime, smp_chk_strftime),
	MAP("map", M_STR, SMP_STR), MAP("map_str", M_STR, SMP_STR),
	MAP("map_beg", M_BEG, SMP_STR), MAP("map_sub", M_SUB, SMP_STR),
	MAP("map_dir", M_DIR, SMP_STR), MAP("map_dom", M_DOM, SMP_STR),
	MAP("map_end", M_END, SMP_STR), MAP("map_reg", M_REG, SMP_STR),
	MAP("map_int", M_INT, SMP_STR), MAP("map_ip", M_IP, SMP_STR),
	MAP("map_str_int", M_STR, SMP_INT), MAP("map_beg_int", M_BEG, SMP_INT),
	MAP("map_sub_int", M_SUB, SMP_INT), MAP("map_dir_int", M_DIR, SMP_INT),
	MAP("map_dom_int", M_DOM, SMP_INT), MAP("map_end_int", M_END, SMP_INT),
	MAP("map_reg_int", M_REG, SMP_INT), MAP("map_int_int", M_INT, SMP_INT),
	MAP("map_ip_int", M_IP, SMP_INT),
};
#undef C
#undef MAP

/* ---- parsing ---- */

/* The arguments in (...) at *pp, HAProxy's way: split at commas, quotes
 * (single or double) and backslashes protect; the ')' is consumed.
 * Returns the count, or -1 after a message. */
static int
smp_parse_args(struct smp_pctx *pc, const char **pp, struct smp_arg *a,
    const char *what)
{
	char buf[CFG_LINE_MAX];
	const char *p = *pp;
	size_t o = 0;
	int n = 0, q = 0, any = 0;

	for (; *p; p++) {
		if (q == 0 && (*p == ',' || *p == ')')) {
			if (n == SMP_ARGS_MAX) {
				smp_err(pc, "'%s': too many arguments", what);
				return -1;
			}
			a[n].s = u_strndup(pc->arena, buf, o);
			a[n].n = o;
			a[n].set = any || *p == ',' || n > 0;
			n += a[n].set;
			o = 0;
			any = 0;
			if (*p == ')') {
				*pp = p + 1;
				return n;
			}
			continue;
		}
		any = 1;
		if (*p == '\\' && p[1])
			p++;
		else if (q == 0 && (*p == '\'' || *p == '"')) {
			q = *p;
			continue;
		} else if (q && *p == q) {
			q = 0;
			continue;
		}
		if (o >= sizeof(buf) - 1) {
			smp_err(pc, "'%s': argument too long", what);
			return -1;
		}
		buf[o++] = *p;
	}
	smp_err(pc, "'%s': missing closing ')'", what);
	return -1;
}

/* A name: letters, digits, '.', '_', '-'. */
static size_t
smp_name_len(const char *p)
{
	size_t n = 0;

	while (isalnum((unsigned char)p[n]) || p[n] == '.' || p[n] == '_' ||
	    p[n] == '-')
		n++;
	return n;
}

/* Arguments of a fetch or converter, their count checked, then its own
 * check; empty strings stand for the ones not given. */
static int
smp_parse_call(struct smp_pctx *pc, const char **pp, const char *name,
    struct smp_arg *a, int *nargs, int amin, int amax)
{
	int k;

	*nargs = 0;
	if (**pp == '(' && (++*pp, (*nargs = smp_parse_args(pc, pp, a, name)) < 0))
		return -1;
	if (*nargs < amin || *nargs > amax) {
		if (amax == 0)
			smp_err(pc, "'%s' takes no argument", name);
		else
			smp_err(pc, "'%s' expects %d to %d arguments, got %d", name,
			    amin, amax, *nargs);
		return -1;
	}
	for (k = *nargs; k < SMP_ARGS_MAX; k++)
		if (a[k].s == NULL)
			a[k].s = "";
	return 0;
}

static const struct smp_fetch *
smp_fetch_find(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < NELEM(smp_fetches); i++)
		if (strlen(smp_fetches[i].name) == n &&
		    memcmp(smp_fetches[i].name, name, n) == 0)
			return &smp_fetches[i];
	return NULL;
}

static const struct smp_conv *
smp_conv_find(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < NELEM(smp_convs); i++)
		if (strlen(smp_convs[i].name) == n &&
		    memcmp(smp_convs[i].name, name, n) == 0)
			return &smp_convs[i];
	return NULL;
}

/* One ",converter(args)" at *pp into e. */
static int
smp_parse_conv(struct smp_pctx *pc, const char **pp, struct smp_expr *e)
{
	char name[64];
	size_t n = smp_name_len(*pp);
	struct smp_step *st;

	if (n == 0 || n >= sizeof(name)) {
		smp_err(pc, "missing converter name after ','");
		return -1;
	}
	memcpy(name, *pp, n);
	name[n] = 0;
	if (e->nconv == SMP_CONV_MAX) {
		smp_err(pc, "more than %d converters", SMP_CONV_MAX);
		return -1;
	}
	st = &e->conv[e->nconv];
	if ((st->conv = smp_conv_find(name, n)) == NULL) {
		smp_err(pc, "unknown converter '%s'", name);
		return -1;
	}
	*pp += n;
	if (smp_parse_call(pc, pp, name, st->args, &st->nargs, st->conv->amin,
	    st->conv->amax) < 0)
		return -1;
	pc->param = st->conv->param;
	if (st->conv->check && st->conv->check(pc, st->args, st->nargs) < 0)
		return -1;
	e->nconv++;
	return 0;
}

/* An expression at text; *end gets where it stops (the first character
 * that cannot continue it).  NULL after a message. */
static struct smp_expr *
smp_parse(struct smp_pctx *pc, const char *text, const char **end)
{
	struct smp_expr *e = u_alloc(pc->arena, sizeof(*e));
	const char *p = text;
	char name[64];
	size_t n = smp_name_len(p);

	if (n == 0 || n >= sizeof(name)) {
		smp_err(pc, "missing fetch method in '%s'", text);
		return NULL;
	}
	memcpy(name, p, n);
	name[n] = 0;
	if ((e->fetch = smp_fetch_find(p, n)) == NULL) {
		smp_err(pc, "unknown fetch method '%s'", name);
		return NULL;
	}
	p += n;
	if (smp_parse_call(pc, &p, name, e->args, &e->nargs, e->fetch->amin,
	    e->fetch->amax) < 0 || (e->fetch->check &&
	    e->fetch->check(pc, e->args, e->nargs) < 0))
		return NULL;
	while (*p == ',') {
		p++;
		if (smp_parse_conv(pc, &p, e) < 0)
			return NULL;
	}
	*end = p;
	return e;
}

/* What the parsed expression gives and reads. */
static int
smp_expr_out(const struct smp_expr *e)
{
	return e->nconv ? e->conv[e->nconv - 1].conv->out : e->fetch->out;
}

static unsigned
smp_expr_use(const struct smp_expr *e)
{
	return e->fetch->use;
}

static int
smp_expr_fetch_is(const struct smp_expr *e, const char *name)
{
	return strcmp(e->fetch->name, name) == 0;
}

static void *
smp_expr_arg_ptr(const struct smp_expr *e, int k)
{
	return e->args[k].p;
}

/* ---- evaluation ---- */

static int
smp_apply(const struct smp_expr *e, const struct smp_ctx *c, struct smp *v)
{
	int k;

	for (k = 0; k < e->nconv; k++)
		if (!e->conv[k].conv->fn(c, e->conv[k].args, v))
			return 0;
	return 1;
}

/* The value of an expression; 0 when there is none. */
static int
smp_eval(const struct smp_expr *e, const struct smp_ctx *c, struct smp *v)
{
	memset(v, 0, sizeof(*v));
	return e->fetch->fn(c, e->args, NULL, v) && smp_apply(e, c, v);
}

/* The next of its values (ACLs iterate multi-valued fetches). */
static int
smp_eval_next(const struct smp_expr *e, const struct smp_ctx *c,
    struct smp_it *it, struct smp *v)
{
	do {
		memset(v, 0, sizeof(*v));
		if (!e->fetch->fn(c, e->args, it, v))
			return 0;
	} while (!smp_apply(e, c, v));
	return 1;
}

/* ---- variables ---- */

/* Store a copy of <v> (strings cut at SMP_VAR_BYTES) as variable <name>. */
static int
smp_var_set(struct smp_vars *vs, const char *name, const struct smp *v)
{
	struct smp_var *var = (struct smp_var *)smp_var_find(vs, name);
	struct smp c = *v;

	if (vs == NULL)
		return -1;
	if (var == NULL) {
		if (vs->n == SMP_VARS_MAX)
			return -1;
		var = &vs->v[vs->n++];
		snprintf(var->name, sizeof(var->name), "%s", name);
	}
	if (c.type == SMP_ADDR && !smp_to_str(&c))
		return -1;
	if (c.type == SMP_STR) {
		if (c.n > SMP_VAR_BYTES)
			c.n = SMP_VAR_BYTES;
		if (var->buf == NULL && (var->buf = malloc(SMP_VAR_BYTES)) == NULL)
			return -1;
		memcpy(var->buf, c.s, c.n);
		c.s = var->buf;
	}
	var->v = c;
	return 0;
}

static void
smp_var_unset(struct smp_vars *vs, const char *name)
{
	struct smp_var *var = (struct smp_var *)smp_var_find(vs, name);

	if (var == NULL)
		return;
	free(var->buf);
	*var = vs->v[--vs->n];
	vs->v[vs->n].buf = NULL;
}

static void
smp_vars_clear(struct smp_vars *vs)
{
	int i;

	for (i = 0; vs && i < vs->n; i++)
		free(vs->v[i].buf);
	if (vs)
		vs->n = 0;
}
/*==== end smp ====*/

/*==== begin acl ====*/
/*
 * ACLs as HAProxy writes them: "EXPR [flags] [patterns]", where EXPR is a
 * sample expression (smp) or one of HAProxy's derived ACL keywords
 * (hdr_beg = req.hdr -m beg, and so on, acl_kws[]); the patterns are
 * compiled for the match method (pat).  Multi-valued fetches are iterated:
 * the test is true when any value matches any pattern.  Conditions are
 * ACL names, '!' negations and anonymous "{ ... }" ACLs, ANDed, with
 * "||"/"or" between groups.  Parsing reports through the caller's u_err
 * and allocates in its arena; evaluation is pure.
 */

/* The parser's context: where errors go, where memory comes from. */
struct acl_pctx {
	struct u_err	*err;
	struct u_arena	*arena;
	struct config	*cfg;
};

/* HAProxy's ACL keywords that are a fetch and a match method. */
static const struct {
	const char	*name;
	const char	*fetch;
	enum match	 match;
} acl_kws[] = {
#define D(p, f)	{ p, f, M_STR }, { p "_beg", f, M_BEG }, { p "_dir", f, M_DIR }, \
	{ p "_dom", f, M_DOM }, { p "_end", f, M_END }, { p "_len", f, M_LEN }, \
	{ p "_reg", f, M_REG }, { p "_sub", f, M_SUB }
	D("base", "base"), D("cook", "req.cook"), D("hdr", "req.hdr"),
	D("path", "path"), D("shdr", "res.hdr"), D("url", "url"),
	D("urlp", "url_param"),
#undef D
	{ "hdr_ip", "req.hdr_ip", M_IP }, { "hdr_val", "req.hdr_val", M_INT },
	{ "req_ver", "req.ver", M_STR }, { "resp_ver", "res.ver", M_STR },
	{ "method", "method", M_STR },
};

static const struct {
	const char	*name;
	enum match	 match;
} acl_matches[] = {
	{ "str", M_STR }, { "beg", M_BEG }, { "end", M_END }, { "sub", M_SUB },
	{ "dom", M_DOM }, { "dir", M_DIR }, { "reg", M_REG }, { "found", M_FOUND },
	{ "ip", M_IP }, { "bool", M_BOOL }, { "int", M_INT }, { "len", M_LEN },
};

static const char *const acl_predef[][2] = {
	{ "TRUE", "always_true" },
	{ "FALSE", "always_false" },
	{ "HTTP", "req.proto_http" },
	{ "HTTP_1.0", "req.ver 1.0" },
	{ "HTTP_1.1", "req.ver 1.1" },
	{ "HTTP_CONTENT", "req.hdr_val(content-length) gt 0" },
	{ "HTTP_URL_ABS", "url_reg ^[^/:]*://" },
	{ "HTTP_URL_SLASH", "url_beg /" },
	{ "HTTP_URL_STAR", "url *" },
	{ "LOCALHOST", "src 127.0.0.1/8 ::1" },
	{ "METH_CONNECT", "method CONNECT" },
	{ "METH_DELETE", "method DELETE" },
	{ "METH_GET", "method GET HEAD" },
	{ "METH_HEAD", "method HEAD" },
	{ "METH_OPTIONS", "method OPTIONS" },
	{ "METH_POST", "method POST" },
	{ "METH_PUT", "method PUT" },
	{ "METH_TRACE", "method TRACE" },
	{ "WAIT_END", "always_true" },
};

/* ---- matching ---- */

/* A string value as HAProxy casts it to an integer: leading digits. */
static int
acl_str_int(const char *s, size_t n, long long *v)
{
	size_t i = 0;
	int neg = 0;

	if (n && (s[0] == '-' || s[0] == '+'))
		neg = s[i++] == '-';
	if (i == n || !U_DIGIT(s[i]))
		return -1;
	for (*v = 0; i < n && U_DIGIT(s[i]) && *v < LLONG_MAX / 10 - 9; i++)
		*v = *v * 10 + (s[i] - '0');
	if (neg)
		*v = -*v;
	return 0;
}

/* A string value as an address (for -m ip on a string fetch). */
static int
acl_str_addr(const char *s, size_t n, struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN];

	memset(ss, 0, sizeof(*ss));
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* http_auth_group: the user (the value) is in one of the groups. */
static int
acl_match_group(const struct acl_test *t, const struct smp *v)
{
	const struct userlist *ul = smp_expr_arg_ptr(t->expr, 0);
	const struct ulist_user *u;
	int k;

	for (u = ul ? ul->users : NULL; u; u = u->next)
		if (strlen(u->name) == v->n && memcmp(u->name, v->s, v->n) == 0)
			break;
	for (k = 0; u && k < t->npat; k++)
		if (auth_in_group(u, t->pat[k].s, t->pat[k].n))
			return 1;
	return 0;
}

/* An integer (or boolean) value against the patterns. */
static int
acl_match_int(const struct acl_test *t, long long iv)
{
	int k;

	for (k = 0; k < t->npat; k++)
		if (pat_match_int(&t->pat[k], iv))
			return 1;
	return 0;
}

/* One value against every pattern of the test. */
static int
acl_match(const struct acl_test *t, struct smp *v)
{
	const struct sockaddr_storage *a;
	struct sockaddr_storage ss;
	long long iv;
	int k;

	switch (t->match) {
	case M_FOUND:
		return 1;
	case M_BOOL:
		if (v->type == SMP_STR)
			return acl_str_int(v->s, v->n, &iv) == 0 && iv != 0;
		return v->i != 0;
	case M_INT:
		if (v->type == SMP_STR && acl_str_int(v->s, v->n, &v->i) < 0)
			return 0;
		return v->type != SMP_ADDR && acl_match_int(t, v->i);
	case M_IP:
		a = v->a;
		if (v->type == SMP_STR && acl_str_addr(v->s, v->n, &ss) == 0)
			a = &ss;
		else if (v->type != SMP_ADDR)
			return 0;
		for (k = 0; k < t->npat; k++)
			if (pat_match_ip(&t->pat[k], a))
				return 1;
		return 0;
	default:
		break;
	}
	if (!smp_to_str(v))
		return 0;
	if (t->match == M_LEN)
		return acl_match_int(t, (long long)v->n);
	if (t->group)
		return acl_match_group(t, v);
	for (k = 0; k < t->npat; k++)
		if (pat_match_str(&t->pat[k], t->match, t->icase, v->s, v->n))
			return 1;
	return 0;
}

static int
acl_test_exec(const struct acl_test *t, const struct smp_ctx *ctx)
{
	struct smp_it it = { 0, NULL, NULL, 0 };
	struct smp v;

	while (smp_eval_next(t->expr, ctx, &it, &v))
		if (acl_match(t, &v))
			return 1;
	return 0;
}

int
acl_exec(const struct acl *a, const struct smp_ctx *ctx)
{
	const struct acl_test *t;

	for (t = a->tests; t; t = t->next)
		if (acl_test_exec(t, ctx))
			return 1;
	return 0;
}

int
acl_cond_exec(const struct cond *c, const struct smp_ctx *ctx)
{
	int i, group = 1, res = 0;

	if (c == NULL)
		return 1;
	for (i = 0; i < c->nterm; i++) {
		const struct cond_term *t = &c->term[i];

		if (t->or_before) {
			if (group) {
				res = 1;
				break;
			}
			group = 1;
		}
		if (group && (acl_exec(t->acl, ctx) ^ t->neg) == 0)
			group = 0;
	}
	if (!res)
		res = group;
	return c->unless ? !res : res;
}

/* ---- parsing ---- */

/* The expression of "KEYWORD[(args)][,conv...]": a derived ACL keyword
 * becomes its fetch (with the implied match in *match), anything else
 * is a sample expression whose output type implies the match. */
static struct smp_expr *
acl_parse_expr(struct acl_pctx *pc, const char *word, enum match *match)
{
	struct smp_pctx sp = { pc->err, pc->arena, pc->cfg, 0, word, word };
	char buf[CFG_LINE_MAX];
	const char *end, *text = word;
	size_t n = smp_name_len(word), i;
	struct smp_expr *e;
	int derived = 0;

	for (i = 0; i < NELEM(acl_kws); i++)
		if (strlen(acl_kws[i].name) == n && memcmp(acl_kws[i].name, word, n) == 0 &&
		    snprintf(buf, sizeof(buf), "%s%s", acl_kws[i].fetch, word + n) <
		    (int)sizeof(buf)) {
			*match = acl_kws[i].match;
			text = buf;
			derived = 1;
			break;
		}
	sp.base = sp.at = text;
	if ((e = smp_parse(&sp, text, &end)) == NULL)
		return NULL;
	if (*end) {
		sp.at = end;
		smp_err(&sp, "unexpected '%c' after the sample expression", *end);
		return NULL;
	}
	if (!derived)
		*match = smp_expr_out(e) == SMP_ADDR ? M_IP : smp_expr_out(e) == SMP_INT ?
		    M_INT : smp_expr_out(e) == SMP_BOOL ? M_BOOL : M_STR;
	return e;
}

/* Patterns from a file: one a line, blank lines and '#' comments skipped. */
static int
acl_read_file(struct acl_pctx *pc, const char *path, char ***pats, int *npat,
    int *cap)
{
	char line[CFG_LINE_MAX], *s, *e;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		u_err(pc->err, "failed to open pattern file '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]); e--)
			;
		*e = 0;
		if (*s == 0 || *s == '#')
			continue;
		if (*npat == *cap) {
			char **np = u_alloc(pc->arena, (size_t)(*cap * 2 + 16) * sizeof(char *));

			memcpy(np, *pats, (size_t)*npat * sizeof(char *));
			*pats = np;
			*cap = *cap * 2 + 16;
		}
		(*pats)[(*npat)++] = u_strdup(pc->arena, s);
	}
	fclose(f);
	return 0;
}

/* Flags from args[1..n): -i, -m METHOD, -f FILE, --, the harmless -n and
 * -u.  Returns the index of the first pattern, or -1. */
static int
acl_parse_flags(struct acl_pctx *pc, struct acl_test *t, char **args, int n,
    char ***files, int *nfiles)
{
	size_t k;
	int i;

	for (i = 1; i < n && args[i][0] == '-' && args[i][1]; i++) {
		if (strcmp(args[i], "-i") == 0)
			t->icase = 1;
		else if (strcmp(args[i], "--") == 0)
			return i + 1;
		else if (strcmp(args[i], "-m") == 0 || strcmp(args[i], "-f") == 0) {
			if (++i >= n) {
				u_err(pc->err, "'%s' needs %s", args[i - 1], args[i - 1][1] ==
				    'm' ? "a match method" : "a file name");
				return -1;
			}
			if (args[i - 1][1] == 'f') {
				(*files)[(*nfiles)++] = args[i];
				continue;
			}
			for (k = 0; k < NELEM(acl_matches); k++)
				if (strcmp(acl_matches[k].name, args[i]) == 0)
					break;
			if (k == NELEM(acl_matches)) {
				u_err(pc->err, "unknown match method '%s'", args[i]);
				return -1;
			}
			t->match = acl_matches[k].match;
		} else if (strcmp(args[i], "-n") == 0 || strcmp(args[i], "-u") == 0)
			continue;	/* no DNS names are resolved; ids are unused */
		else if (strcmp(args[i], "-M") == 0) {
			u_err(pc->err, "ACL flag '-M' (map files as patterns) is not "
			    "supported; list the keys in a -f file");
			return -1;
		} else
			break;	/* a pattern that starts with '-' */
	}
	return i;
}

/* "eq|ge|gt|le|lt N" (the operator applies to the next pattern) and
 * "N", "N:M" patterns into ranges. */
static int
acl_parse_int_pat(struct acl_pctx *pc, char **args, int n, int *k, struct pat *p)
{
	static const char *const ops[] = { "eq", "ge", "gt", "le", "lt" };
	int o;

	for (o = 0; o < 5 && strcmp(args[*k], ops[o]) != 0; o++)
		;
	if (o < 5) {
		if (++*k >= n) {
			u_err(pc->err, "'%s' must be followed by an integer", ops[o]);
			return -1;
		}
		if (u_parse_int(args[*k], LLONG_MIN / 2, LLONG_MAX / 2, &p->lo) < 0)
			goto bad;
		p->hi = p->lo;
		if (o == 1 || o == 2)
			p->hi = LLONG_MAX;
		if (o == 3 || o == 4)
			p->lo = LLONG_MIN;
		if (o == 2)
			p->lo = p->lo + 1;
		if (o == 4)
			p->hi = p->hi - 1;
		return 0;
	}
	if (pat_parse_range(args[*k], &p->lo, &p->hi) == 0)
		return 0;
bad:
	u_err(pc->err, "'%s' is not an integer or a range (N, N:M, :M, N:)", args[*k]);
	return -1;
}

/* Patterns args[0..n) compiled for the test's match method. */
static int
acl_parse_patterns(struct acl_pctx *pc, struct acl_test *t, char **args, int n)
{
	const char *why = NULL;
	int k;

	t->pat = u_alloc(pc->arena, (size_t)(n ? n : 1) * sizeof(*t->pat));
	for (k = 0; k < n; k++) {
		struct pat *p = &t->pat[t->npat];

		if (t->match == M_INT || t->match == M_LEN) {
			if (acl_parse_int_pat(pc, args, n, &k, p) < 0)
				return -1;
		} else if (pat_compile(pc->arena, t->match, t->icase, args[k], p, &why) < 0) {
			u_err(pc->err, "'%s' %s", args[k], why);
			return -1;
		}
		t->npat++;
	}
	return 0;
}

/* "EXPR [flags] [patterns...]" from args[0..n): named ACLs and { } ones. */
static struct acl_test *
acl_parse_test(struct acl_pctx *pc, char **args, int n)
{
	char *fv[CFG_ARGS_MAX], **files = fv, **pats;
	struct acl_test *t;
	int first, nf = 0, np, cap, k;

	if (n < 1) {
		u_err(pc->err, "missing ACL fetch");
		return NULL;
	}
	t = u_alloc(pc->arena, sizeof(*t));
	if ((t->expr = acl_parse_expr(pc, args[0], &t->match)) == NULL ||
	    (first = acl_parse_flags(pc, t, args, n, &files, &nf)) < 0)
		return NULL;
	t->group = smp_expr_fetch_is(t->expr, "http_auth_group");
	if (t->match == M_FOUND || t->match == M_BOOL) {
		if (first < n || nf) {
			u_err(pc->err, "'%s' takes no pattern with -m %s", args[0],
			    t->match == M_FOUND ? "found" : "bool");
			return NULL;
		}
		return t;
	}
	np = n - first;
	cap = np + 16;
	pats = u_alloc(pc->arena, (size_t)cap * sizeof(char *));
	memcpy(pats, args + first, (size_t)np * sizeof(char *));
	for (k = 0; k < nf; k++)
		if (acl_read_file(pc, files[k], &pats, &np, &cap) < 0)
			return NULL;
	if (np == 0 && nf == 0) {
		u_err(pc->err, "missing pattern for '%s' (use -m found to test that "
		    "a value exists)", args[0]);
		return NULL;
	}
	return acl_parse_patterns(pc, t, pats, np) < 0 ? NULL : t;
}

static struct acl *
acl_find(struct acl *list, const char *name)
{
	for (; list != NULL; list = list->next)
		if (strcmp(list->name, name) == 0)
			return list;
	return NULL;
}

/* "acl NAME EXPR ...": lines with one name are ORed, in order. */
static int
acl_define(struct acl_pctx *pc, struct acl **list, const char *name,
    char **args, int n)
{
	struct acl_test *tst, **tail;
	struct acl *a;
	const char *c;

	for (c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("_-.:", *c)) {
			u_err(pc->err, "invalid character '%c' in ACL name '%s'", *c, name);
			return -1;
		}
	if ((tst = acl_parse_test(pc, args, n)) == NULL)
		return -1;
	if ((a = acl_find(*list, name)) == NULL) {
		a = u_alloc(pc->arena, sizeof(*a));
		a->name = u_strdup(pc->arena, name);
		a->next = *list;
		*list = a;
	}
	for (tail = &a->tests; *tail; tail = &(*tail)->next)
		;
	*tail = tst;
	a->use |= smp_expr_use(tst->expr);
	return 0;
}

/* A predefined ACL, added to the proxy's list on first use. */
static struct acl *
acl_find_predef(struct acl_pctx *pc, struct acl **list, const char *name)
{
	char buf[64], *args[4], *save = NULL, *w;
	size_t i;
	int n = 0;

	for (i = 0; i < NELEM(acl_predef); i++) {
		if (strcmp(acl_predef[i][0], name) != 0)
			continue;
		snprintf(buf, sizeof(buf), "%s", acl_predef[i][1]);
		for (w = strtok_r(buf, " ", &save); w && n < 4;
		    w = strtok_r(NULL, " ", &save))
			args[n++] = w;
		if (acl_define(pc, list, name, args, n) < 0)
			return NULL;
		return *list;
	}
	return NULL;
}

/* One term at args[*i]: "[!...]NAME" or "[!...] { EXPR ... }". */
static int
acl_cond_term(struct acl_pctx *pc, struct acl **list, char **args, int n,
    int *i, struct cond_term *t)
{
	const char *w = args[*i];
	int neg = 0, j, depth = 1;

	for (;;) {
		while (*w == '!') {
			neg = !neg;
			w++;
		}
		if (*w != 0)
			break;
		if (*i + 1 >= n) {
			u_err(pc->err, "'!' must be followed by an ACL");
			return -1;
		}
		w = args[++*i];
	}
	t->neg = (unsigned char)neg;
	if (strcmp(w, "{") != 0) {
		if ((t->acl = acl_find(*list, w)) == NULL &&
		    (t->acl = acl_find_predef(pc, list, w)) == NULL) {
			u_err(pc->err, "no such ACL : '%s'", w);
			return -1;
		}
		return 0;
	}
	for (j = *i + 1; j < n; j++)
		if (strcmp(args[j], "}") == 0 && --depth == 0)
			break;
	if (j >= n) {
		u_err(pc->err, "missing '}' after anonymous ACL");
		return -1;
	}
	t->acl = u_alloc(pc->arena, sizeof(*t->acl));
	t->acl->name = u_strdup(pc->arena, "anonymous");
	t->acl->tests = acl_parse_test(pc, args + *i + 1, j - *i - 1);
	*i = j;
	if (t->acl->tests)
		t->acl->use = smp_expr_use(t->acl->tests->expr);
	return t->acl->tests ? 0 : -1;
}

/* A condition from args[0..n). */
static struct cond *
acl_cond_parse(struct acl_pctx *pc, struct acl **list, char **args, int n,
    int unless)
{
	struct cond *c = u_alloc(pc->arena, sizeof(*c));
	int i, or_next = 0;

	c->unless = unless;
	c->term = u_alloc(pc->arena, (size_t)(n ? n : 1) * sizeof(struct cond_term));
	for (i = 0; i < n; i++) {
		struct cond_term *t;

		if (strcmp(args[i], "||") == 0 || strcasecmp(args[i], "or") == 0) {
			if (c->nterm == 0 || or_next) {
				u_err(pc->err, "'%s' without a condition before it", args[i]);
				return NULL;
			}
			or_next = 1;
			continue;
		}
		t = &c->term[c->nterm++];
		t->or_before = (unsigned char)or_next;
		or_next = 0;
		if (acl_cond_term(pc, list, args, n, &i, t) < 0)
			return NULL;
		c->use |= t->acl->use;
	}
	if (or_next) {
		u_err(pc->err, "condition ends with '||'");
		return NULL;
	}
	if (c->nterm == 0) {
		u_err(pc->err, "missing condition after '%s'", unless ? "unless" : "if");
		return NULL;
	}
	return c;
}

/* "if COND" / "unless COND" at args[0]; returns 1 with *cond set, 0 when
 * there is no condition, -1 on error. */
static int
acl_cond_opt(struct acl_pctx *pc, struct acl **list, char **args, int n,
    struct cond **cond)
{
	*cond = NULL;
	if (n == 0)
		return 0;
	if (strcmp(args[0], "if") != 0 && strcmp(args[0], "unless") != 0) {
		u_err(pc->err, "unexpected '%s', expected 'if' or 'unless'", args[0]);
		return -1;
	}
	*cond = acl_cond_parse(pc, list, args + 1, n - 1, args[0][0] == 'u');
	return *cond ? 1 : -1;
}
/*==== end acl ====*/

/*==== begin lf ====*/
/*
 * Log-format strings, as HAProxy's: text, "%var" and "%{flags}var"
 * variables (lf_vars[]), "%[expr]" sample expressions, and in log lines
 * separators (runs of spaces, merged so that empty fields leave one).
 * The same strings are header values, redirect targets, unique ids.  A
 * string is parsed once at load into nodes; rendering asks the caller
 * for the facts of the transaction (struct lf_facts) only when the string
 * has variables.  Values are written and escaped exactly as HAProxy's
 * sess_build_logline() does, so that the same log parsers read them.
 */

/* Flags of a node: HAProxy's LOG_OPT_*. */
#define LF_O_MANDATORY	0x01	/* "-" for an empty value (M) */
#define LF_O_QUOTE	0x02	/* Q */
#define LF_O_HEXA	0x04	/* X */
#define LF_O_ESC	0x08	/* E */
#define LF_O_HTTP	0x10	/* a header value: control bytes as %XX */
#define LF_O_MERGE	0x20	/* runs of spaces are separators */

#define LF_LINE_MAX	8192	/* a rendered log line or value at most */
#define LF_URI_MAX	1024	/* the request line a log keeps (tune.http.logurilen) */

enum lf_kind { LFN_TEXT, LFN_SEP, LFN_VAR, LFN_EXPR };

/* The variables, HAProxy's names. */
enum lf_var {
	LFV_CI, LFV_CP, LFV_FI, LFV_FP, LFV_BI, LFV_BP, LFV_SI, LFV_SP,
	LFV_t, LFV_tr, LFV_T, LFV_trg, LFV_Tl, LFV_trl, LFV_Ts, LFV_ms,
	LFV_f, LFV_ft, LFV_b, LFV_s, LFV_sslc, LFV_sslv,
	LFV_Th, LFV_Ti, LFV_TR, LFV_Tq, LFV_Tw, LFV_Tc, LFV_Tr, LFV_Td, LFV_Ta,
	LFV_Tt, LFV_Tu, LFV_ST, LFV_B, LFV_U, LFV_CC, LFV_CS, LFV_ts, LFV_tsc,
	LFV_ac, LFV_fc, LFV_bc, LFV_sc, LFV_rc, LFV_sq, LFV_bq,
	LFV_hr, LFV_hrl, LFV_hs, LFV_hsl, LFV_r, LFV_HP, LFV_HPO, LFV_HQ,
	LFV_HU, LFV_HM, LFV_HV, LFV_rt, LFV_lc, LFV_H, LFV_pid, LFV_ID,
	LFV_o
};

static const struct {
	const char	*name;
	unsigned char	 var;
	unsigned char	 http;		/* reserved for HTTP mode */
} lf_vars[] = {
	{ "o", LFV_o, 0 }, { "B", LFV_B, 0 }, { "CC", LFV_CC, 1 },
	{ "CS", LFV_CS, 1 }, { "H", LFV_H, 0 }, { "ID", LFV_ID, 0 },
	{ "ST", LFV_ST, 0 }, { "T", LFV_T, 0 }, { "Ta", LFV_Ta, 1 },
	{ "Tc", LFV_Tc, 0 }, { "Th", LFV_Th, 0 }, { "Ti", LFV_Ti, 1 },
	{ "Tl", LFV_Tl, 0 }, { "Tq", LFV_Tq, 1 }, { "Tr", LFV_Tr, 1 },
	{ "TR", LFV_TR, 1 }, { "Td", LFV_Td, 0 }, { "Ts", LFV_Ts, 0 },
	{ "Tt", LFV_Tt, 0 }, { "Tu", LFV_Tu, 0 }, { "Tw", LFV_Tw, 0 },
	{ "U", LFV_U, 0 }, { "ac", LFV_ac, 0 }, { "b", LFV_b, 0 },
	{ "bc", LFV_bc, 0 }, { "bi", LFV_BI, 0 }, { "bp", LFV_BP, 0 },
	{ "bq", LFV_bq, 0 }, { "ci", LFV_CI, 0 }, { "cp", LFV_CP, 0 },
	{ "f", LFV_f, 0 }, { "fc", LFV_fc, 0 }, { "fi", LFV_FI, 0 },
	{ "fp", LFV_FP, 0 }, { "ft", LFV_ft, 0 }, { "hr", LFV_hr, 0 },
	{ "hrl", LFV_hrl, 0 }, { "hs", LFV_hs, 0 }, { "hsl", LFV_hsl, 0 },
	{ "HM", LFV_HM, 1 }, { "HP", LFV_HP, 1 }, { "HPO", LFV_HPO, 1 },
	{ "HQ", LFV_HQ, 1 }, { "HU", LFV_HU, 1 }, { "HV", LFV_HV, 1 },
	{ "lc", LFV_lc, 0 }, { "ms", LFV_ms, 0 }, { "pid", LFV_pid, 0 },
	{ "r", LFV_r, 1 }, { "rc", LFV_rc, 0 }, { "rt", LFV_rt, 0 },
	{ "s", LFV_s, 0 }, { "sc", LFV_sc, 0 }, { "si", LFV_SI, 0 },
	{ "sp", LFV_SP, 0 }, { "sq", LFV_sq, 0 }, { "sslc", LFV_sslc, 0 },
	{ "sslv", LFV_sslv, 0 }, { "t", LFV_t, 0 }, { "tr", LFV_tr, 1 },
	{ "trg", LFV_trg, 1 }, { "trl", LFV_trl, 1 }, { "ts", LFV_ts, 0 },
	{ "tsc", LFV_tsc, 0 },
};

/* HAProxy's own formats for "option httplog", "option httpslog" and
 * "option tcplog". */
static const char lf_httplog[] = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta "
    "%ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
static const char lf_httpslog[] = "%ci:%cp [%tr] %ft %b/%s "
    "%TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs "
    "%{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/"
    "%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc";
static const char lf_tcplog[] = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts "
    "%ac/%fc/%bc/%sc/%rc %sq/%bq";
static const char lf_clflog[] = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" "
    "%cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC "
    "%CS %hrl %hsl";

struct lf_node {
	unsigned char	 kind;		/* LFN_* */
	unsigned char	 var;		/* LFV_* */
	unsigned char	 opts;		/* LF_O_* */
	const char	*text;		/* LFN_TEXT, NUL-terminated */
	struct smp_expr	*expr;		/* LFN_EXPR */
};

struct lf {
	struct lf_node	*node;
	int		 n;
	int		 has_vars;	/* needs the facts */
	unsigned	 use;		/* SMP_USE_* of its expressions */
	const char	*src;		/* as written */
};

/* What a log line says about a transaction, filled by its owner.  Times
 * are HAProxy's: milliseconds since accept, -1 when not reached. */
struct lf_facts {
	const struct sockaddr_storage *ci, *fi, *bi, *si;
	struct timeval	 accept;	/* wall clock */
	long long	 t_hs, t_idle, t_request, t_queue, t_connect, t_data,
			 t_close;
	int		 status;
	unsigned long long bytes_in, bytes_out;
	const char	*fe, *be, *srv;	/* srv NULL: <NOSRV> */
	int		 fe_ssl, be_http;
	const char	*ssl_cipher, *ssl_version;
	char		 term[2];
	int		 ac, fc, bc, sc, rc, redisp, sq, bq;
	const char	*uri;		/* the request line; NULL: <BADREQ> */
	const struct smp_caps *caps;
	int		 ncap_req, ncap_res;
	const char	*uid;
	unsigned long long rt, lc;
	int		 asap;		/* logasap: Ta, Tt, Tu, B are "+" so far */
};

/* The parser's context. */
struct lf_pctx {
	struct u_err	*err;
	struct u_arena	*arena;
	struct config	*cfg;
	int		 http;		/* the proxy is in HTTP mode */
	unsigned	 deny;		/* SMP_USE_* that this string cannot see */
};

/* ---- parsing ---- */

/* "%{+Q,-M}": flags added to or removed from *opts. */
static void
lf_parse_flags(const char *s, size_t n, unsigned char *opts)
{
	static const struct { char c; unsigned char f; } fl[] = {
		{ 'M', LF_O_MANDATORY }, { 'Q', LF_O_QUOTE }, { 'X', LF_O_HEXA },
		{ 'E', LF_O_ESC },
	};
	size_t i = 0, k;

	while (i < n) {
		size_t e = i;

		while (e < n && s[e] != ',')
			e++;
		if (e - i == 2 && (s[i] == '+' || s[i] == '-'))
			for (k = 0; k < NELEM(fl); k++)
				if (fl[k].c == s[i + 1])
					*opts = (unsigned char)(s[i] == '+' ? *opts | fl[k].f :
					    *opts & ~fl[k].f);
		i = e + 1;
	}
}

static struct lf_node *
lf_add(struct lf *f, int cap, int kind)
{
	struct lf_node *nd;

	if (f->n == cap)
		return NULL;
	nd = &f->node[f->n++];
	memset(nd, 0, sizeof(*nd));
	nd->kind = (unsigned char)kind;
	return nd;
}

static int
lf_add_text(struct lf_pctx *pc, struct lf *f, int cap, const char *s, size_t n)
{
	struct lf_node *nd;

	if (n == 0)
		return 0;
	if ((nd = lf_add(f, cap, LFN_TEXT)) == NULL)
		return -1;
	nd->text = u_strndup(pc->arena, s, n);
	return 0;
}

/* "%name" at s (after the flags); returns its length or -1. */
static int
lf_parse_var(struct lf_pctx *pc, struct lf *f, int cap, const char *s,
    unsigned char *opts)
{
	size_t n = 0, i;
	struct lf_node *nd;

	while (isalnum((unsigned char)s[n]))
		n++;
	for (i = 0; i < NELEM(lf_vars); i++)
		if (strlen(lf_vars[i].name) == n && memcmp(lf_vars[i].name, s, n) == 0)
			break;
	if (i == NELEM(lf_vars)) {
		u_err(pc->err, "no such format variable '%.*s'. If you wanted to emit "
		    "the '%%' character verbatim, you need to use '%%%%'", (int)n, s);
		return -1;
	}
	if (lf_vars[i].http && !pc->http) {
		u_err(pc->err, "format variable '%s' is reserved for HTTP mode",
		    lf_vars[i].name);
		return -1;
	}
	if ((nd = lf_add(f, cap, LFN_VAR)) == NULL)
		return -1;
	nd->var = lf_vars[i].var;
	nd->opts = *opts;
	f->has_vars = 1;
	return (int)n;
}

/* "%[expr]" at s (after the '['); returns the length through ']'. */
static int
lf_parse_expr(struct lf_pctx *pc, struct lf *f, int cap, const char *s,
    const char *base, unsigned char opts)
{
	struct smp_pctx sp = { pc->err, pc->arena, pc->cfg, 0, base, s };
	struct lf_node *nd;
	const char *end;

	if ((nd = lf_add(f, cap, LFN_EXPR)) == NULL)
		return -1;
	if ((nd->expr = smp_parse(&sp, s, &end)) == NULL)
		return -1;
	if (*end != ']') {
		sp.at = end;
		if (*end && isprint((unsigned char)*end))
			smp_err(&sp, "expected ']' after '%.*s', but found '%c'",
			    (int)(end - s), s, *end);
		else
			smp_err(&sp, "missing ']' after '%.*s'", (int)(end - s), s);
		return -1;
	}
	nd->opts = opts;
	f->use |= smp_expr_use(nd->expr);
	if (smp_expr_use(nd->expr) & pc->deny) {
		u_err(pc->err, "sample fetch <%.*s> may not be reliably used here "
		    "because it needs '%s' which is not available here", (int)(end - s),
		    s, (smp_expr_use(nd->expr) & SMP_USE_REQ) ? "HTTP request headers" :
		    "HTTP response headers");
		return -1;
	}
	return (int)(end - s) + 1;
}

/* One '%' directive at fmt[*i] (on the '%'). */
static int
lf_parse_pct(struct lf_pctx *pc, struct lf *f, int cap, const char *fmt,
    size_t *i, unsigned char *opts)
{
	const char *s = fmt + *i + 1, *close;
	unsigned char o = *opts;
	int r;

	if (*s == '%') {
		*i += 2;
		return lf_add_text(pc, f, cap, "%", 1);
	}
	if (*s == 0) {
		u_err(pc->err, "truncated line after '%%'");
		return -1;
	}
	if (*s == ' ' || *s == '\t' || U_DIGIT(*s)) {
		u_err(pc->err, "unexpected variable name near '%c' at position %d "
		    "line : '%s'. Maybe you want to write a single '%%', use the "
		    "syntax '%%%%'", *s, (int)(s - fmt), fmt);
		return -1;
	}
	if (*s == '{') {
		if ((close = strchr(s, '}')) == NULL) {
			u_err(pc->err, "truncated line after '%s'", s + 1);
			return -1;
		}
		lf_parse_flags(s + 1, (size_t)(close - s - 1), &o);
		s = close + 1;
		if (*s != '[' && !isalnum((unsigned char)*s)) {
			u_err(pc->err, "parse argument modifier without variable name "
			    "near '%%{%.*s}'", (int)(close - fmt - *i - 2), fmt + *i + 2);
			return -1;
		}
	} else if (*s != '[' && !isalpha((unsigned char)*s)) {
		*i += 1;	/* HAProxy drops a lone '%' before other bytes */
		return 0;
	}
	if (*s == '[')
		r = lf_parse_expr(pc, f, cap, s + 1, fmt, o), r = r < 0 ? r : r + 1;
	else if (strncmp(s, "o", 1) == 0 && !isalnum((unsigned char)s[1])) {
		*opts = o;	/* %o: these flags for what follows */
		r = 1;
	} else
		r = lf_parse_var(pc, f, cap, s, &o);
	if (r < 0)
		return -1;
	*i = (size_t)(s - fmt) + (size_t)r;
	return 0;
}

/* Parse <fmt> with default flags <opts> (LF_O_*).  NULL after a message. */
static struct lf *
lf_parse(struct lf_pctx *pc, const char *fmt, unsigned opts)
{
	struct lf *f = u_alloc(pc->arena, sizeof(*f));
	unsigned char o = (unsigned char)(opts & ~LF_O_MERGE);
	size_t i = 0, start;
	int cap = (int)strlen(fmt) + 2;

	f->node = u_alloc(pc->arena, (size_t)cap * sizeof(*f->node));
	f->src = u_strdup(pc->arena, fmt);
	while (fmt[i]) {
		if (fmt[i] == '%') {
			if (lf_parse_pct(pc, f, cap, fmt, &i, &o) < 0)
				return NULL;
			continue;
		}
		if (fmt[i] == ' ' && (opts & LF_O_MERGE)) {
			while (fmt[i] == ' ')
				i++;
			if (lf_add(f, cap, LFN_SEP) == NULL)
				return NULL;
			continue;
		}
		for (start = i; fmt[i] && fmt[i] != '%' && !(fmt[i] == ' ' &&
		    (opts & LF_O_MERGE)); i++)
			;
		if (lf_add_text(pc, f, cap, fmt + start, i - start) < 0)
			return NULL;
	}
	return f;
}

/* Is this format plain text (no % at all)?  Then its text is its value. */
static const char *
lf_plain(const struct lf *f)
{
	if (f->n == 0)
		return "";
	return f->n == 1 && f->node[0].kind == LFN_TEXT ? f->node[0].text : NULL;
}

/* ---- rendering ---- */

struct lf_out {
	char		*p, *end;	/* end: the last byte, kept for the NUL */
	int		 full;
};

static void
lf_putc(struct lf_out *o, char c)
{
	if (o->p < o->end)
		*o->p++ = c;
	else
		o->full = 1;
}

static void
lf_putn(struct lf_out *o, const char *s, size_t n)
{
	while (n-- && !o->full)
		lf_putc(o, *s++);
}

static void
lf_puts(struct lf_out *o, const char *s)
{
	lf_putn(o, s, strlen(s));
}

static void
lf_putll(struct lf_out *o, long long v)
{
	char b[24];

	lf_putn(o, b, (size_t)snprintf(b, sizeof(b), "%lld", v));
}

/* Bytes that logs encode: '#' and '"' in URIs, also '{|}' in headers,
 * and all control and non-ASCII bytes (HAProxy's url/hdr_encode_map). */
static int
lf_enc_url(unsigned char c)
{
	return c < 32 || c >= 127 || c == '"' || c == '#';
}

static int
lf_enc_hdr(unsigned char c)
{
	return lf_enc_url(c) || c == '{' || c == '|' || c == '}';
}

/* A header value made by a rule: control bytes but TAB, and DEL. */
static int
lf_enc_http(unsigned char c)
{
	return (c < 32 && c != '\t') || c == 127;
}

/* s[0..n) with the bytes enc() selects as <esc>XX; with the E flag,
 * '"', '\' and ']' get a backslash (HAProxy's lf_encode_chunk). */
static void
lf_encode(struct lf_out *o, const char *s, size_t n, char esc,
    int (*enc)(unsigned char), unsigned char opts)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n && !o->full; i++) {
		unsigned char c = (unsigned char)s[i];

		if (enc(c)) {
			lf_putc(o, esc);
			lf_putc(o, hx[c >> 4]);
			lf_putc(o, hx[c & 15]);
		} else {
			if ((opts & LF_O_ESC) && (c == '"' || c == '\\' || c == ']'))
				lf_putc(o, '\\');
			lf_putc(o, (char)c);
		}
	}
}

/* A text value (HAProxy's lf_text_len): quoted with Q, "-" when empty
 * and mandatory, escaped with E; stops at a NUL as strlcpy does. */
static void
lf_text(struct lf_out *o, const char *s, size_t n, unsigned char opts)
{
	const char *z = s ? memchr(s, 0, n) : NULL;
	size_t i;

	if (z)
		n = (size_t)(z - s);
	if (opts & LF_O_QUOTE)
		lf_putc(o, '"');
	if (s && n) {
		for (i = 0; i < n; i++) {
			if ((opts & LF_O_ESC) && (s[i] == '"' || s[i] == '\\' || s[i] == ']'))
				lf_putc(o, '\\');
			lf_putc(o, s[i]);
		}
	} else if ((opts & (LF_O_QUOTE | LF_O_MANDATORY)) == LF_O_MANDATORY)
		lf_putc(o, '-');
	if (opts & LF_O_QUOTE)
		lf_putc(o, '"');
}

static void
lf_text0(struct lf_out *o, const char *s, unsigned char opts)
{
	lf_text(o, s, s ? strlen(s) : 0, opts);
}

static void
lf_ip(struct lf_out *o, const struct sockaddr_storage *ss, unsigned char opts)
{
	char b[INET6_ADDRSTRLEN + 8];
	const unsigned char *a;
	int k, n;

	if (ss == NULL || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)) {
		lf_text(o, NULL, 0, opts);
		return;
	}
	if (!(opts & LF_O_HEXA)) {
		lf_text0(o, net_addr_str(ss, b, sizeof(b), 0), opts);
		return;
	}
	a = ss->ss_family == AF_INET ?
	    (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr :
	    ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
	n = ss->ss_family == AF_INET ? 4 : 16;
	for (k = 0; k < n; k++) {
		snprintf(b, sizeof(b), "%02X", a[k]);
		lf_puts(o, b);
	}
}

static void
lf_port(struct lf_out *o, const struct sockaddr_storage *ss, unsigned char opts)
{
	const unsigned char *p;
	char b[8];

	if (ss == NULL || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)) {
		lf_text(o, NULL, 0, opts);
		return;
	}
	p = (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_port;
	if (opts & LF_O_HEXA) {
		snprintf(b, sizeof(b), "%02X%02X", p[0], p[1]);
		lf_puts(o, b);
	} else
		lf_putll(o, p[0] << 8 | p[1]);
}

/* Dates: "%d/%b/%Y:%H:%M:%S.mmm" (local), "... +0000" (GMT), local with
 * its offset. */
static void
lf_date(struct lf_out *o, const struct timeval *tv, int kind)
{
	char b[64];
	struct tm tm;
	size_t n;

	if (kind == 0) {
		n = (size_t)snprintf(b, sizeof(b), "%s.%03d", log_date(tv),
		    (int)(tv->tv_usec / 1000));
	} else {
		if (kind == 1)
			gmtime_r(&tv->tv_sec, &tm);
		else
			localtime_r(&tv->tv_sec, &tm);
		n = strftime(b, sizeof(b), kind == 1 ? "%d/%b/%Y:%H:%M:%S +0000" :
		    "%d/%b/%Y:%H:%M:%S %z", &tm);
	}
	lf_putn(o, b, n);
}

static void
lf_hexnum(struct lf_out *o, unsigned long long v, const char *fmt)
{
	char b[24];

	lf_putn(o, b, (size_t)snprintf(b, sizeof(b), fmt, (unsigned)v));
}

/* The captured header values: "{a|b}" (or, as a list, "a b"). */
static void
lf_caps(struct lf_out *o, char *const *cap, int n, int list, unsigned char opts)
{
	int k;

	if (n == 0)
		return;
	if (!list && (opts & LF_O_QUOTE))
		lf_putc(o, '"');
	if (!list)
		lf_putc(o, '{');
	for (k = 0; k < n; k++) {
		if (k)
			lf_putc(o, list ? ' ' : '|');
		if (list && (opts & LF_O_QUOTE))
			lf_putc(o, '"');
		if (cap && cap[k])
			lf_encode(o, cap[k], strlen(cap[k]), '#', lf_enc_hdr, opts);
		else if (list && !(opts & LF_O_QUOTE))
			lf_putc(o, '-');
		if (list && (opts & LF_O_QUOTE))
			lf_putc(o, '"');
	}
	if (!list)
		lf_putc(o, '}');
	if (!list && (opts & LF_O_QUOTE))
		lf_putc(o, '"');
}

/* Parts of the request line "METHOD URI HTTP/x.y" as %HM %HU %HP %HPO
 * %HQ %HV cut them; <BADREQ> when there is none. */
static void
lf_reqline_part(struct lf_out *o, const char *uri, int var, unsigned char opts)
{
	const char *e, *m, *u, *ue, *v, *p;
	size_t n;

	if (opts & LF_O_QUOTE)
		lf_putc(o, '"');
	if (uri == NULL) {
		lf_puts(o, "<BADREQ>");
		goto out;
	}
	e = uri + strlen(uri);
	for (m = uri; m < e && *m != ' ' && *m != '\t'; m++)
		;
	for (u = m; u < e && (*u == ' ' || *u == '\t'); u++)
		;
	for (ue = u; ue < e && *ue != ' ' && *ue != '\t'; ue++)
		;
	for (v = ue; v < e && (*v == ' ' || *v == '\t'); v++)
		;
	if (var == LFV_HQ) {
		for (p = uri; p < e && *p != '?'; p++)
			;
		for (n = 0; p + n < e && p[n] != ' ' && p[n] != '\t'; n++)
			;
		lf_encode(o, p, n, '#', lf_enc_url, opts);
		goto out;
	}
	if (var == LFV_HM) {
		if (m == e)
			lf_puts(o, "<BADREQ>");
		else
			lf_encode(o, uri, (size_t)(m - uri), '#', lf_enc_url, opts);
		goto out;
	}
	if (u == m) {
		lf_puts(o, "<BADREQ>");
		goto out;
	}
	if (var == LFV_HV) {
		if (v == e)
			lf_puts(o, "HTTP/0.9");
		else
			lf_encode(o, v, (size_t)(e - v), '#', lf_enc_url, opts);
		goto out;
	}
	p = u;
	if (var == LFV_HPO && p < ue && *p != '/' && (p = memchr(u, ':', (size_t)(ue -
	    u))) != NULL && ue - p > 2 && p[1] == '/' && p[2] == '/') {
		for (p += 3; p < ue && *p != '/'; p++)
			;	/* an absolute URI: from its path on */
	} else
		p = u;
	if (var != LFV_HU)
		for (n = 0; p + n < ue && p[n] != '?'; n++)
			;
	else
		n = (size_t)(ue - p);
	lf_encode(o, p, n, '#', lf_enc_url, opts);
out:
	if (opts & LF_O_QUOTE)
		lf_putc(o, '"');
}

/* HAProxy's Tw, Tc, Tr, Td, Ta, Tt, Tu, TR from the raw timers. */
static long long
lf_timer(const struct lf_facts *x, int var)
{
	long long idle = x->t_idle >= 0 ? x->t_idle + x->t_hs : 0;

	switch (var) {
	case LFV_Th: return x->t_hs;
	case LFV_Ti: return x->t_idle;
	case LFV_Tq: return x->t_request;
	case LFV_TR: return x->t_request >= 0 ? x->t_request - x->t_idle - x->t_hs : -1;
	case LFV_Tw: return x->t_queue >= 0 ? x->t_queue - x->t_request : -1;
	case LFV_Tc: return x->t_connect >= 0 ? x->t_connect - x->t_queue : -1;
	case LFV_Tr: return x->t_data >= 0 ? x->t_data - x->t_connect : -1;
	case LFV_Td:
		if (x->be_http)
			return x->t_data >= 0 ? x->t_close - x->t_data : -1;
		return x->t_connect >= 0 ? x->t_close - x->t_connect : -1;
	case LFV_Ta: return x->t_close - idle;
	case LFV_Tt: return x->t_close;
	case LFV_Tu: return x->t_close - (x->t_idle >= 0 ? x->t_idle : 0);
	}
	return -1;
}

/* The counters, the status, the request and what was captured. */
static void
lf_var2(struct lf_out *o, const struct lf_facts *x, int var, unsigned char opts)
{
	char host[256];

	switch (var) {
	case LFV_ST: lf_putll(o, x->status); break;
	case LFV_B:
		if (x->asap)
			lf_putc(o, '+');
		lf_putll(o, (long long)x->bytes_out);
		break;
	case LFV_U: lf_putll(o, (long long)x->bytes_in); break;
	case LFV_CC: case LFV_CS: lf_text(o, NULL, 0, opts); break;
	case LFV_ts: case LFV_tsc:
		lf_putc(o, x->term[0]);
		lf_putc(o, x->term[1]);
		if (var == LFV_tsc)
			lf_putn(o, "--", 2);
		break;
	case LFV_ac: lf_putll(o, x->ac); break;
	case LFV_fc: lf_putll(o, x->fc); break;
	case LFV_bc: lf_putll(o, x->bc); break;
	case LFV_sc: lf_putll(o, x->sc); break;
	case LFV_rc:
		if (x->redisp)
			lf_putc(o, '+');
		lf_putll(o, x->rc);
		break;
	case LFV_sq: lf_putll(o, x->sq); break;
	case LFV_bq: lf_putll(o, x->bq); break;
	case LFV_hr: case LFV_hrl:
		lf_caps(o, x->caps ? x->caps->req : NULL, x->ncap_req, var == LFV_hrl, opts);
		break;
	case LFV_hs: case LFV_hsl:
		lf_caps(o, x->caps ? x->caps->res : NULL, x->ncap_res, var == LFV_hsl, opts);
		break;
	case LFV_r:
		if (opts & LF_O_QUOTE)
			lf_putc(o, '"');
		lf_encode(o, x->uri ? x->uri : "<BADREQ>", strlen(x->uri ? x->uri :
		    "<BADREQ>"), '#', lf_enc_url, opts);
		if (opts & LF_O_QUOTE)
			lf_putc(o, '"');
		break;
	case LFV_HP: case LFV_HPO: case LFV_HQ: case LFV_HU: case LFV_HM: case LFV_HV:
		lf_reqline_part(o, x->uri, var, opts);
		break;
	case LFV_rt:
		lf_hexnum(o, x->rt, opts & LF_O_HEXA ? "%04X" : "%u");
		break;
	case LFV_lc:
		lf_hexnum(o, x->lc, opts & LF_O_HEXA ? "%04X" : "%u");
		break;
	case LFV_H:
		if (gethostname(host, sizeof(host)) < 0)
			host[0] = 0;
		host[sizeof(host) - 1] = 0;
		lf_text0(o, host, opts);
		break;
	case LFV_pid:
		lf_hexnum(o, (unsigned long long)getpid(), opts & LF_O_HEXA ? "%04X" :
		    "%u");
		break;
	case LFV_ID: lf_text0(o, x->uid, opts); break;
	}
}


/* One variable. */
static void
lf_var(struct lf_out *o, const struct lf_facts *x, int var, unsigned char opts)
{
	struct timeval tv;

	switch (var) {
	case LFV_CI: lf_ip(o, x->ci, opts); break;
	case LFV_CP: lf_port(o, x->ci, opts); break;
	case LFV_FI: lf_ip(o, x->fi, opts); break;
	case LFV_FP: lf_port(o, x->fi, opts); break;
	case LFV_BI: lf_ip(o, x->bi, opts); break;
	case LFV_BP: lf_port(o, x->bi, opts); break;
	case LFV_SI: lf_ip(o, x->si, opts); break;
	case LFV_SP: lf_port(o, x->si, opts); break;
	case LFV_t: lf_date(o, &x->accept, 0); break;
	case LFV_T: lf_date(o, &x->accept, 1); break;
	case LFV_Tl: lf_date(o, &x->accept, 2); break;
	case LFV_tr: case LFV_trg: case LFV_trl:
		tv = x->accept;
		if (x->t_idle >= 0) {
			long long us = (long long)tv.tv_usec + (x->t_idle + x->t_hs) * 1000;

			tv.tv_sec += (time_t)(us / 1000000);
			tv.tv_usec = (suseconds_t)(us % 1000000);
		}
		lf_date(o, &tv, var == LFV_tr ? 0 : var == LFV_trg ? 1 : 2);
		break;
	case LFV_Ts:
		if (opts & LF_O_HEXA)
			lf_hexnum(o, (unsigned long long)x->accept.tv_sec, "%04X");
		else
			lf_putll(o, (long long)x->accept.tv_sec);
		break;
	case LFV_ms:
		lf_hexnum(o, (unsigned long long)x->accept.tv_usec / 1000,
		    opts & LF_O_HEXA ? "%02X" : "%03u");
		break;
	case LFV_f: lf_text0(o, x->fe, opts); break;
	case LFV_ft:
		if (opts & LF_O_QUOTE)
			lf_putc(o, '"');
		lf_puts(o, x->fe ? x->fe : "");
		if (x->fe_ssl)
			lf_putc(o, '~');
		if (opts & LF_O_QUOTE)
			lf_putc(o, '"');
		break;
	case LFV_b: lf_text0(o, x->be, opts); break;
	case LFV_s: lf_text0(o, x->srv ? x->srv : "<NOSRV>", opts); break;
	case LFV_sslc: lf_text0(o, x->ssl_cipher, opts); break;
	case LFV_sslv: lf_text0(o, x->ssl_version, opts); break;
	case LFV_Th: case LFV_Ti: case LFV_TR: case LFV_Tq: case LFV_Tw:
	case LFV_Tc: case LFV_Tr: case LFV_Td:
		lf_putll(o, lf_timer(x, var));
		break;
	case LFV_Ta: case LFV_Tt: case LFV_Tu:
		if (x->asap)
			lf_putc(o, '+');
		lf_putll(o, lf_timer(x, var));
		break;
	default:
		lf_var2(o, x, var, opts);
	}
}

/* Render <f> into out[0..cap), NUL-terminated; returns the length.  The
 * expressions see <c>; the variables <x> (which may be NULL when the
 * format has none). */
static size_t
lf_render(const struct lf *f, const struct smp_ctx *c, const struct lf_facts *x,
    char *out, size_t cap)
{
	struct lf_out o = { out, out + cap - 1, 0 };
	int k, sp = 1;

	for (k = 0; k < f->n && !o.full; k++) {
		const struct lf_node *nd = &f->node[k];
		struct smp v;
		int got;

		switch (nd->kind) {
		case LFN_SEP:
			if (!sp)
				lf_putc(&o, ' ');
			sp = 1;
			continue;
		case LFN_TEXT:
			lf_puts(&o, nd->text);
			break;
		case LFN_VAR: {
			char *before = o.p;

			if (x)
				lf_var(&o, x, nd->var, nd->opts);
			if ((nd->var == LFV_hr || nd->var == LFV_hs || nd->var == LFV_hrl ||
			    nd->var == LFV_hsl) && o.p == before)
				continue;	/* nothing captured: no field */
			break;
		}
		case LFN_EXPR:
			got = c && smp_eval(nd->expr, c, &v) && smp_to_str(&v);
			if (nd->opts & LF_O_HTTP)
				lf_encode(&o, got ? v.s : "", got ? v.n : 0, '%', lf_enc_http,
				    nd->opts);
			else
				lf_text(&o, got ? v.s : NULL, got ? v.n : 0, nd->opts);
			break;
		}
		sp = 0;
	}
	*o.p = 0;
	return (size_t)(o.p - out);
}
/* A format parsed and rendered at once (tests and fuzzers): as a log
 * line when <log>, else as a header value; -1 after a parse error. */
int
lf_test(const char *fmt, int log, const struct smp_ctx *c, char *out, size_t cap,
    FILE *err)
{
	struct u_err e = { err, "lf", 1, 0 };
	struct config cfg;
	struct lf_pctx pc = { &e, u_arena_new(), &cfg, 1, 0 };
	struct lf_facts x;
	struct lf *f;
	int n = -1;

	memset(&cfg, 0, sizeof(cfg));
	memset(&x, 0, sizeof(x));
	x.fe = x.be = "fe";
	x.term[0] = x.term[1] = '-';
	x.ci = c ? c->src : NULL;
	x.t_request = x.t_queue = x.t_connect = x.t_data = -1;
	if ((f = lf_parse(&pc, fmt, log ? LF_O_MANDATORY | LF_O_MERGE : LF_O_HTTP)))
		n = (int)lf_render(f, c, &x, out, cap);
	u_arena_free(pc.arena);
	return n;
}
/*==== end lf ====*/

/*==== begin rule ====*/
/*
 * Rules: http-request, http-response, http-after-response and tcp-request
 * actions.  Each action is an entry of rule_acts[] with the rule sets it
 * belongs to, its parser and its effect (HAProxy's action keywords work
 * the same way).  Actions edit the message in place (struct rule_msg:
 * headers taken out of and added to the parsed head, new bytes in a
 * scratch area, the head rebuilt by the caller) and their values are
 * log-format strings.  Then routing: the frontend's rules, its "redirect"
 * lines, use_backend, default_backend, and the backend's own rules.
 */

/* What an action does to the evaluation of the rules that follow. */
enum { RULE_CONT, RULE_STOP, RULE_ANSWER, RULE_ERROR };

#define RS_BIT(s)	(1u << (s))
#define RS_HTTP_ALL	(RS_BIT(RS_HREQ) | RS_BIT(RS_HRSP) | RS_BIT(RS_HAFTER))
#define RS_TCP_ALL	(RS_BIT(RS_TCP_CONN) | RS_BIT(RS_TCP_CONT))

static const char *const rule_set_names[RS_COUNT] = {
	"http-request", "http-response", "http-after-response",
	"tcp-request connection", "tcp-request content",
};

struct rule_pctx {
	struct acl_pctx	 ap;
	struct proxy	*px;
	int		 set;		/* RS_* */
	int		 bufsize;	/* what a file answer may take */
};

/* A new capture slot of <len> bytes in the frontend (request or
 * response side): its index, or -1 when all are taken. */
static int
rule_capture_slot(struct proxy *px, int res, int len)
{
	int *n = res ? &px->ncap_res : &px->ncap_req;

	if (*n == CAPTURES_MAX)
		return -1;
	(res ? px->cap_res_len : px->cap_req_len)[*n] = len;
	return (*n)++;
}

/* Where a rule set runs: the transaction its fetches see, the message it
 * edits, what it decided; the facts for "%" variables come from the
 * owner, when a value needs them. */
struct rule_ex {
	struct smp_ctx	*c;
	struct rule_msg	*em;		/* NULL for tcp-request rules */
	struct route	*ro;
	struct smp_caps	*caps;		/* where captures go; NULL: none */
	void		(*facts)(void *arg, struct lf_facts *x);
	void		*arg;
	const struct config *cfg;	/* for use_backend with a format */
};

struct rule_act_kw {
	const char	*name;
	unsigned	 sets;		/* RS_BIT()s it belongs to */
	/* parse args[0..n) after the action's name: words used, or -1 */
	int		(*parse)(struct rule_pctx *pc, struct rule *r,
			    const char *name, char **args, int n);
	int		(*exec)(const struct rule *r, struct rule_ex *ex);
	int		 param;		/* the variant (H1_HDR_*, a REPL_*...) */
};

/* ---- values ---- */

/* A log-format value rendered for the rule (plain text costs nothing). */
static int
rule_fmt(const struct rule_ex *ex, const struct lf *f, const char **s,
    size_t *n)
{
	struct rule_msg *em = ex->em;
	struct lf_facts x, *xp = NULL;
	const char *plain = lf_plain(f);
	static char tmp[LF_LINE_MAX];	/* tcp rules have no scratch */
	char *out;
	size_t cap;

	if (plain) {
		*s = plain;
		*n = strlen(plain);
		return 0;
	}
	out = em ? em->scratch + em->used : tmp;
	cap = em ? em->cap - em->used : sizeof(tmp);
	if (cap < 2)
		return -1;
	if (f->has_vars && ex->facts) {
		memset(&x, 0, sizeof(x));
		ex->facts(ex->arg, &x);
		xp = &x;
	}
	*n = lf_render(f, ex->c, xp, out, cap);
	if (*n + 1 >= cap)
		return -1;	/* the rewrite does not fit: HAProxy's 500 */
	*s = out;
	if (em)
		em->used += *n + 1;
	return 0;
}

/* Bytes kept for the message being edited. */
static char *
rule_keep(struct rule_msg *em, const char *s, size_t n)
{
	char *d;

	if (em->cap - em->used < n + 1)
		return NULL;
	d = em->scratch + em->used;
	memcpy(d, s, n);
	d[n] = 0;
	em->used += n + 1;
	return d;
}

/* ---- header edits ---- */

/* How del-header's -m compares names. */
static int
rule_name_match(const struct rule *r, const char *n, size_t nl)
{
	if (r->re) {
		char b[256];

		if (nl >= sizeof(b))
			return 0;
		memcpy(b, n, nl);
		b[nl] = 0;
		return regexec(r->re, b, 0, NULL, 0) == 0;
	}
	return pat_match_str(&(struct pat){ .s = r->name, .n = strlen(r->name) },
	    r->match, 1, n, nl);
}

static void
rule_hdr_del(struct http_msg *m, const struct rule *r)
{
	int i, o = 0;

	for (i = 0; i < m->nhdr; i++)
		if (!rule_name_match(r, m->hdr[i].name, m->hdr[i].name_len))
			m->hdr[o++] = m->hdr[i];
	m->nhdr = o;
}

static int
rule_hdr_add(struct http_msg *m, const char *name, const char *v, size_t vl)
{
	if (m->nhdr >= HDR_MAX || vl > 0xffff)
		return -1;
	m->hdr[m->nhdr].name = name;
	m->hdr[m->nhdr].name_len = (unsigned short)strlen(name);
	m->hdr[m->nhdr].value = v;
	m->hdr[m->nhdr].value_len = (unsigned short)vl;
	m->nhdr++;
	return 0;
}

/* set-header, add-header (the value is made before the old ones go,
 * so that it may use them) */
static int
rule_x_hdr(const struct rule *r, struct rule_ex *ex)
{
	const char *v;
	size_t vl;

	if (rule_fmt(ex, r->fmt, &v, &vl) < 0)
		return RULE_ERROR;
	if (r->kw->param == H1_HDR_SET)
		rule_hdr_del(ex->em->m, r);
	ex->em->edits++;
	return rule_hdr_add(ex->em->m, r->name, v, vl) < 0 ? RULE_ERROR : RULE_CONT;
}

static int
rule_x_del_hdr(const struct rule *r, struct rule_ex *ex)
{
	int n = ex->em->m->nhdr;

	rule_hdr_del(ex->em->m, r);
	ex->em->edits += n != ex->em->m->nhdr;
	return RULE_CONT;
}

/* <fmt> rendered, with \1..\9 taken from the groups of a match in <in>
 * (HAProxy's exp_replace()). */
static int
rule_expand(const struct rule_ex *ex, const struct lf *fmt, const char *in,
    const regmatch_t *mt, const char **out, size_t *on)
{
	const char *f, *p;
	size_t fl, o = 0;
	char *d;

	if (rule_fmt(ex, fmt, &f, &fl) < 0)
		return -1;
	d = ex->em->scratch + ex->em->used;
	for (p = f; p < f + fl; p++) {
		size_t room = ex->em->cap - ex->em->used - o;

		if (*p == '\\' && p + 1 < f + fl && U_DIGIT(p[1])) {
			int k = *++p - '0';
			size_t l = mt[k].rm_so >= 0 ? (size_t)(mt[k].rm_eo - mt[k].rm_so) : 0;

			if (l + 1 >= room)
				return -1;
			memcpy(d + o, in + mt[k].rm_so, l);
			o += l;
		} else {
			if (room < 2)
				return -1;
			d[o++] = *p == '\\' && p + 1 < f + fl ? *++p : *p;
		}
	}
	d[o] = 0;
	ex->em->used += o + 1;
	*out = d;
	*on = o;
	return 0;
}

/* <s, n> replaced when the regex matches it: 1 replaced, 0 not, -1 no
 * room.  The regex needs a NUL-terminated copy. */
static int
rule_replace(const struct rule *r, const struct rule_ex *ex, const char *s,
    size_t n, const char **out, size_t *on)
{
	regmatch_t mt[10];
	char *in;

	if ((in = rule_keep(ex->em, s, n)) == NULL)
		return -1;
	if (regexec(r->re, in, 10, mt, 0) != 0)
		return 0;
	return rule_expand(ex, r->fmt, in, mt, out, on) < 0 ? -1 : 1;
}

/* replace-value: each comma-separated value of a line on its own; a
 * replaced value loses the blanks around it, the others stay as they
 * were (HAProxy's http_replace_header_value()). */
static int
rule_replace_values(const struct rule *r, struct rule_ex *ex,
    struct http_hdr *h)
{
	const char *p = h->value, *e = h->value + h->value_len, *s, *c, *v, *vs, *ve;
	char line[LF_LINE_MAX];
	size_t vl, o = 0, n;
	int any = 0, k;

	for (s = p; s <= e; s = c + 1) {
		c = memchr(s, ',', (size_t)(e - s));
		c = c ? c : e;
		for (vs = s; vs < c && (*vs == ' ' || *vs == '\t'); vs++)
			;
		for (ve = c; ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		if ((k = rule_replace(r, ex, vs, (size_t)(ve - vs), &v, &vl)) < 0)
			return -1;
		if (k == 0) {
			v = s;
			vl = (size_t)(c - s);
		}
		any |= k;
		n = vl + (c < e);
		if (o + n > sizeof(line))
			return -1;
		memcpy(line + o, v, vl);
		o += vl;
		if (c < e)
			line[o++] = ',';
	}
	if (!any)
		return 0;
	if (o > 0xffff || (v = rule_keep(ex->em, line, o)) == NULL)
		return -1;
	h->value = v;
	h->value_len = (unsigned short)o;
	return 1;
}

/* replace-header / replace-value on every line of the header */
static int
rule_x_replace_hdr(const struct rule *r, struct rule_ex *ex)
{
	struct http_msg *m = ex->em->m;
	const char *v;
	size_t vl;
	int i, k;

	for (i = 0; i < m->nhdr; i++) {
		struct http_hdr *h = &m->hdr[i];

		if (!u_ieq(h->name, h->name_len, r->name))
			continue;
		if (r->kw->param)
			k = rule_replace_values(r, ex, h);
		else if ((k = rule_replace(r, ex, h->value, h->value_len, &v, &vl)) > 0) {
			if (vl > 0xffff)
				return RULE_ERROR;
			h->value = v;
			h->value_len = (unsigned short)vl;
		}
		if (k < 0)
			return RULE_ERROR;
		ex->em->edits += k;
	}
	return RULE_CONT;
}

/* ---- request line edits ---- */

/* Which part of the request target an action rewrites. */
enum { URI_PATH, URI_PATHQ, URI_QUERY, URI_URI, URI_METHOD };

/* The parts of the target: [scheme://authority] path [?query]. */
static void
rule_uri_parts(const struct http_msg *m, size_t *pfx, size_t *pend, size_t *qs)
{
	const char *p;
	size_t n;
	const char *q;

	h1_uri_path(m, &p, &n);
	*pfx = (size_t)(p - m->uri);
	*pend = *pfx + n;
	q = memchr(m->uri, '?', m->uri_len);
	*qs = q ? (size_t)(q - m->uri) : m->uri_len;
}

/* The target becomes a[0..al) + b[0..bl) + c[0..cl). */
static int
rule_set_uri3(struct rule_ex *ex, const char *a, size_t al, const char *b,
    size_t bl, const char *c, size_t cl)
{
	struct rule_msg *em = ex->em;
	char *d;

	if (al + bl + cl > 0xffff || al + bl + cl + 1 > em->cap - em->used)
		return RULE_ERROR;
	d = em->scratch + em->used;
	memmove(d, a, al);
	memmove(d + al, b, bl);
	memmove(d + al + bl, c, cl);
	d[al + bl + cl] = 0;
	em->used += al + bl + cl + 1;
	em->edits++;
	em->m->uri = d;
	em->m->uri_len = (unsigned short)(al + bl + cl);
	return RULE_CONT;
}

/* The part of the target a variant works on: [*s, *e). */
static void
rule_uri_span(const struct http_msg *m, int part, size_t *s, size_t *e)
{
	size_t pfx, pend, qs;

	rule_uri_parts(m, &pfx, &pend, &qs);
	*s = part == URI_URI ? 0 : part == URI_QUERY ? (qs < m->uri_len ? qs + 1 :
	    m->uri_len) : pfx;
	*e = part == URI_PATH ? pend : m->uri_len;
}

/* set-path, set-pathq, set-query, set-uri, set-method */
static int
rule_x_set_uri(const struct rule *r, struct rule_ex *ex)
{
	struct http_msg *m = ex->em->m;
	const char *v, *u;
	size_t vl, s, e;

	if (rule_fmt(ex, r->fmt, &v, &vl) < 0)
		return RULE_ERROR;
	u = m->uri;
	if (r->kw->param == URI_METHOD) {
		if (vl == 0 || vl > 0xffff)
			return RULE_ERROR;
		m->method = v;
		m->method_len = (unsigned short)vl;
		ex->em->edits++;
		return RULE_CONT;
	}
	if (r->kw->param == URI_QUERY && !memchr(u, '?', m->uri_len)) {
		if (vl == 0)
			return RULE_CONT;
		return rule_set_uri3(ex, u, m->uri_len, "?", 1, v, vl);
	}
	rule_uri_span(m, r->kw->param, &s, &e);
	return rule_set_uri3(ex, u, s, v, vl, u + e, m->uri_len - e);
}

/* replace-path, replace-pathq, replace-uri */
static int
rule_x_replace_uri(const struct rule *r, struct rule_ex *ex)
{
	struct http_msg *m = ex->em->m;
	const char *v, *u = m->uri;
	size_t vl, s, e;
	int k;

	rule_uri_span(m, r->kw->param, &s, &e);
	if ((k = rule_replace(r, ex, u + s, e - s, &v, &vl)) <= 0)
		return k < 0 ? RULE_ERROR : RULE_CONT;
	return rule_set_uri3(ex, u, s, v, vl, u + e, m->uri_len - e);
}

/* ---- the transaction ---- */

static int
rule_x_set_status(const struct rule *r, struct rule_ex *ex)
{
	ex->em->status = r->status;
	ex->em->reason = r->reason;
	ex->em->edits++;
	return RULE_CONT;
}

/* set-var(name) EXPR, set-var-fmt(name) FMT, unset-var(name) */
static int
rule_x_set_var(const struct rule *r, struct rule_ex *ex)
{
	struct smp_vars *vs = r->scope == SMP_SCOPE_PROC ? &smp_rt.proc :
	    ex->c->vars;
	struct smp v;
	const char *s;
	size_t n;

	if (r->kw->param == 2) {
		smp_var_unset(vs, r->name);
		return RULE_CONT;
	}
	if (r->fmt) {
		if (rule_fmt(ex, r->fmt, &s, &n) < 0)
			return RULE_CONT;
		smp_set_str(&v, s, n);
	} else if (!smp_eval(r->expr, ex->c, &v))
		return RULE_CONT;	/* no value: the variable is left as it is */
	(void)smp_var_set(vs, r->name, &v);
	return RULE_CONT;
}

/* capture EXPR len N | id N: into the next (or the given) slot */
static int
rule_x_capture(const struct rule *r, struct rule_ex *ex)
{
	const struct proxy *fe = ex->c->fe;
	int res = ex->c->rsp != NULL, max = r->len;
	char **slots;
	struct smp v;
	size_t n;

	if (max == 0 && (r->slot >= (res ? fe->ncap_res : fe->ncap_req) ||
	    (max = (res ? fe->cap_res_len : fe->cap_req_len)[r->slot]) == 0))
		return RULE_CONT;	/* no such slot in this frontend */
	if (ex->caps == NULL || !smp_eval(r->expr, ex->c, &v) || !smp_to_str(&v))
		return RULE_CONT;
	slots = res ? ex->caps->res : ex->caps->req;
	n = v.n < (size_t)max ? v.n : (size_t)max;
	free(slots[r->slot]);
	if ((slots[r->slot] = malloc(n + 1)) != NULL) {
		memcpy(slots[r->slot], v.s, n);
		slots[r->slot][n] = 0;
	}
	return RULE_CONT;
}

static int
rule_x_log_level(const struct rule *r, struct rule_ex *ex)
{
	ex->ro->log_level = r->status;
	return RULE_CONT;
}

static int
rule_x_flag(const struct rule *r, struct rule_ex *ex)
{
	ex->ro->flags |= (unsigned)r->kw->param;
	return RULE_CONT;
}

/* ---- final actions ---- */

static int
rule_x_allow(const struct rule *r, struct rule_ex *ex)
{
	(void)r;
	(void)ex;
	return RULE_STOP;
}

/* deny, reject, tarpit, auth, return, use-service, tcp reject */
static int
rule_x_answer(const struct rule *r, struct rule_ex *ex)
{
	ex->ro->answer = r->kw->param;
	ex->ro->status = r->status;
	ex->ro->rule = r;
	return RULE_ANSWER;
}

/* The Location of a redirect into out[0..len), as HAProxy makes it. */
static int
rule_redirect_location(const struct rule *r, struct rule_ex *ex, char *out,
    size_t len)
{
	const struct http_msg *m = ex->c->msg;
	const char *v, *path = "/";
	size_t vl, pl = 1, pfx, pend, qs;
	int i, n;

	if (rule_fmt(ex, r->fmt, &v, &vl) < 0)
		return -1;
	if (r->redir == REDIR_LOCATION)
		return (n = snprintf(out, len, "%.*s", (int)vl, v)) < (int)len ? n : -1;
	if (m) {
		rule_uri_parts(m, &pfx, &pend, &qs);
		if (pfx < m->uri_len) {
			path = m->uri + pfx;
			pl = ((r->drop_query & 1) ? qs : m->uri_len) - pfx;
		}
	}
	if (r->redir == REDIR_PREFIX) {
		if (lf_plain(r->fmt) && vl == 1 && *v == '/')
			vl = 0;	/* "prefix /" redirects to the same path */
		n = snprintf(out, len, "%.*s%.*s", (int)vl, v, (int)pl, path);
	} else {
		i = m ? h1_find_hdr(m, "host", 0) : -1;
		n = snprintf(out, len, "%.*s://%.*s%.*s", (int)vl, v,
		    i >= 0 ? (int)m->hdr[i].value_len : 0, i >= 0 ? m->hdr[i].value : "",
		    (int)pl, path);
	}
	if (n < 0 || n + 1 >= (int)len)
		return -1;
	if ((r->drop_query & 2) && n > 0 && out[n - 1] != '/') {
		out[n++] = '/';
		out[n] = 0;
	}
	return n;
}

static int
rule_x_redirect(const struct rule *r, struct rule_ex *ex)
{
	char loc[LF_LINE_MAX], *keep;
	int n;

	if (ex->em == NULL || (n = rule_redirect_location(r, ex, loc, sizeof(loc))) < 0 ||
	    (keep = rule_keep(ex->em, loc, (size_t)n)) == NULL)
		return RULE_ERROR;
	ex->ro->answer = ANS_REDIRECT;
	ex->ro->status = r->status;
	ex->ro->rule = r;
	ex->ro->location = keep;
	return RULE_ANSWER;
}

/* ---- parsers ---- */

static int
rule_p_none(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	(void)pc;
	(void)r;
	(void)name;
	(void)args;
	(void)n;
	return 0;
}

/* A log-format argument: a value that may hold %[...] and %vars. */
static struct lf *
rule_lf(struct rule_pctx *pc, const char *fmt, unsigned opts)
{
	struct lf_pctx lp = { pc->ap.err, pc->ap.arena, pc->ap.cfg,
	    pc->px->mode == MODE_HTTP, pc->set == RS_HRSP || pc->set == RS_HAFTER ?
	    0 : SMP_USE_RES };

	return lf_parse(&lp, fmt, opts);
}

static int
rule_hdr_name_ok(const char *s)
{
	u_cclass_init();
	if (*s == 0)
		return 0;
	for (; *s; s++)
		if (!U_TCHAR(*s))
			return 0;
	return 1;
}

/* A whole HTTP response in a file, checked as HAProxy checks errorfiles:
 * it must parse and fit the buffer. */
static int
rule_read_raw(struct rule_pctx *pc, const char *path, struct rule_reply *rp)
{
	char *b = u_alloc(pc->ap.arena, (size_t)pc->bufsize + 1);
	size_t cap = 2 * (size_t)pc->bufsize + 2;
	char *out = u_alloc(pc->ap.arena, cap);
	struct h1_page *pg = u_alloc(pc->ap.arena, sizeof(*pg));
	FILE *f = fopen(path, "rb");
	const char *why = NULL;
	size_t n;

	if (f == NULL) {
		u_err(pc->ap.err, "error opening file '%s': %s", path, strerror(errno));
		return -1;
	}
	n = fread(b, 1, (size_t)pc->bufsize + 1, f);
	fclose(f);
	if (n > (size_t)pc->bufsize) {
		u_err(pc->ap.err, "file '%s' is larger than the buffer (%d bytes)",
		    path, pc->bufsize);
		return -1;
	}
	if (h1_page_parse(b, n, out, cap, pg, &why) < 0) {	/* as an errorfile */
		u_err(pc->ap.err, "file '%s': %s", path, why ? why : "not a valid HTTP "
		    "response");
		return -1;
	}
	pg->whole = 1;
	rp->page = pg;
	if (!pg->empty)
		rp->status = pg->status;
	return 0;
}

/* The body of a reply from a file (file, lf-file): read at load. */
static char *
rule_read_file(struct rule_pctx *pc, const char *path, size_t *len)
{
	char *b = u_alloc(pc->ap.arena, (size_t)pc->bufsize + 1);
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		u_err(pc->ap.err, "error opening file '%s': %s", path, strerror(errno));
		return NULL;
	}
	*len = fread(b, 1, (size_t)pc->bufsize + 1, f);
	fclose(f);
	if (*len > (size_t)pc->bufsize) {
		u_err(pc->ap.err, "file '%s' is larger than the buffer", path);
		return NULL;
	}
	b[*len] = 0;
	return b;
}

/* One option of a reply at args[i]; returns the words it used (0: not
 * one of them), or -1. */
static int
rule_p_reply_opt(struct rule_pctx *pc, struct rule_reply *rp, char **args,
    int i, int n)
{
	const char *w = args[i];
	long long v;
	size_t len;
	char *body;

	if (strcmp(w, "default-errorfiles") == 0) {
		rp->kind = REPLY_ERRFILES;
		return 1;
	}
	if (strcmp(w, "status") && strcmp(w, "deny_status") && strcmp(w, "content-type") &&
	    strcmp(w, "string") && strcmp(w, "lf-string") && strcmp(w, "file") &&
	    strcmp(w, "lf-file") && strcmp(w, "errorfile") && strcmp(w, "errorfiles") &&
	    strcmp(w, "hdr"))
		return 0;
	if (i + 1 >= n || (strcmp(w, "hdr") == 0 && i + 2 >= n)) {
		u_err(pc->ap.err, "'%s' expects %s", w, strcmp(w, "hdr") == 0 ?
		    "<name> <fmt>" : "an argument");
		return -1;
	}
	if (strcmp(w, "status") == 0 || strcmp(w, "deny_status") == 0) {
		if (u_parse_int(args[i + 1], 200, 599, &v) < 0) {
			u_err(pc->ap.err, "'%s' expects a status code between 200 and 599",
			    w);
			return -1;
		}
		rp->status = (int)v;
		return 2;
	}
	if (strcmp(w, "content-type") == 0) {
		rp->ctype = u_strdup(pc->ap.arena, args[i + 1]);
		return 2;
	}
	if (strcmp(w, "hdr") == 0) {
		if (rp->nhdr == REPLY_HDRS_MAX || !rule_hdr_name_ok(args[i + 1])) {
			u_err(pc->ap.err, rp->nhdr == REPLY_HDRS_MAX ? "more than %d "
			    "'hdr' in one reply" : "invalid header name '%s'",
			    rp->nhdr == REPLY_HDRS_MAX ? (void *)(long)REPLY_HDRS_MAX :
			    (void *)args[i + 1]);
			return -1;
		}
		rp->hdr_name[rp->nhdr] = u_strdup(pc->ap.arena, args[i + 1]);
		if ((rp->hdr_fmt[rp->nhdr++] = rule_lf(pc, args[i + 2], 0)) == NULL)
			return -1;
		return 3;
	}
	if (strcmp(w, "errorfile") == 0) {
		rp->kind = REPLY_RAW;
		return rule_read_raw(pc, args[i + 1], rp) < 0 ? -1 : 2;
	}
	if (strcmp(w, "errorfiles") == 0) {
		rp->kind = REPLY_ERRFILES;
		rp->errfiles = u_strdup(pc->ap.arena, args[i + 1]);
		return 2;
	}
	body = args[i + 1];
	len = strlen(body);
	if ((strcmp(w, "file") == 0 || strcmp(w, "lf-file") == 0) &&
	    (body = rule_read_file(pc, args[i + 1], &len)) == NULL)
		return -1;
	rp->kind = REPLY_BODY;
	if (w[0] == 'l') {	/* lf-string, lf-file */
		if ((rp->body = rule_lf(pc, body, 0)) == NULL)
			return -1;
	} else {
		rp->text = u_strndup(pc->ap.arena, body, len);
		rp->textlen = len;
	}
	return 2;
}

/* HAProxy 2.6's http_err_codes[]: the statuses it has a page for; a
 * reply that uses the pages needs one of them. */
static int
rule_has_page(int status)
{
	static const short pages[] = { 200, 400, 401, 403, 404, 405, 407, 408,
	    410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504 };
	size_t i;

	for (i = 0; i < NELEM(pages); i++)
		if (pages[i] == status)
			return 1;
	return 0;
}

/* deny, tarpit, return: "[deny_status N]" or HAProxy's http-reply
 * options; <def> is the status without one. */
static int
rule_p_reply(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	struct rule_reply *rp = u_alloc(pc->ap.arena, sizeof(*rp));
	int i = 0, k;

	rp->status = strcmp(name, "return") == 0 ? 200 : strcmp(name, "tarpit") == 0 ?
	    500 : pc->set == RS_HRSP ? 502 : 403;
	rp->kind = strcmp(name, "return") == 0 ? REPLY_EMPTY : REPLY_ERRFILES;
	while (i < n && (k = rule_p_reply_opt(pc, rp, args, i, n)) != 0) {
		if (k < 0)
			return -1;
		i += k;
	}
	if (rp->kind == REPLY_BODY && rp->ctype == NULL &&
	    (rp->textlen || rp->body)) {
		u_err(pc->ap.err, "'%s': a body needs a 'content-type'", name);
		return -1;
	}
	if (rp->kind == REPLY_ERRFILES && rp->errfiles == NULL &&
	    !rule_has_page(rp->status)) {
		u_err(pc->ap.err, "status code '%d' not handled by default with "
		    "'default-errorfiles' argument", rp->status);
		return -1;
	}
	r->reply = rp;
	r->status = rp->status;
	return i;
}

/* auth [realm R] */
static int
rule_p_auth(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	(void)name;
	r->status = 401;
	r->name = u_strdup(pc->ap.arena, pc->px->name);
	if (n >= 1 && strcmp(args[0], "realm") == 0) {
		if (n < 2) {
			u_err(pc->ap.err, "'realm' expects a name");
			return -1;
		}
		r->name = u_strdup(pc->ap.arena, args[1]);
		return 2;
	}
	return 0;
}

/* set-header/add-header NAME FMT, del-header NAME [-m METH] */
static int
rule_p_hdr(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	static const char *const meths[] = { "str", "beg", "end", "sub", "reg" };
	static const enum match mm[] = { M_STR, M_BEG, M_END, M_SUB, M_REG };
	int del = r->kw->exec == rule_x_del_hdr;
	size_t k;

	if (n < (del ? 1 : 2)) {
		u_err(pc->ap.err, del ? "'%s' expects <name> [-m <meth>]" :
		    "'%s' expects <name> <fmt>", name);
		return -1;
	}
	if (!del && !rule_hdr_name_ok(args[0])) {
		u_err(pc->ap.err, "invalid header name '%s'", args[0]);
		return -1;
	}
	r->name = u_strdup(pc->ap.arena, args[0]);
	r->match = M_STR;
	if (del) {
		if (n < 3 || strcmp(args[1], "-m") != 0)
			return 1;
		for (k = 0; k < NELEM(meths) && strcmp(meths[k], args[2]); k++)
			;
		if (k == NELEM(meths)) {
			u_err(pc->ap.err, "del-header: unknown match method '%s' (str, "
			    "beg, end, sub, reg)", args[2]);
			return -1;
		}
		r->match = mm[k];
		if (r->match == M_REG && (r->re = pat_regcomp(pc->ap.arena, args[0],
		    REG_EXTENDED | REG_NOSUB | REG_ICASE)) == NULL) {
			u_err(pc->ap.err, "invalid regex '%s'", args[0]);
			return -1;
		}
		return 3;
	}
	return (r->fmt = rule_lf(pc, args[1], LF_O_HTTP)) ? 2 : -1;
}

/* replace-header/replace-value NAME REGEX FMT; replace-path/-pathq/-uri
 * REGEX FMT */
static int
rule_p_replace(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	int hdr = r->kw->exec == rule_x_replace_hdr, k = hdr;

	if (n < 2 + hdr) {
		u_err(pc->ap.err, "'%s' expects %s<match-regex> <replace-fmt>", name,
		    hdr ? "<name> " : "");
		return -1;
	}
	if (hdr)
		r->name = u_strdup(pc->ap.arena, args[0]);
	if ((r->re = pat_regcomp(pc->ap.arena, args[k], REG_EXTENDED)) == NULL) {
		u_err(pc->ap.err, "'%s': invalid regex '%s'", name, args[k]);
		return -1;
	}
	return (r->fmt = rule_lf(pc, args[k + 1], LF_O_HTTP)) ? k + 2 : -1;
}

/* set-path, set-pathq, set-query, set-uri, set-method FMT */
static int
rule_p_fmt(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	if (n < 1) {
		u_err(pc->ap.err, "'%s' expects <fmt>", name);
		return -1;
	}
	return (r->fmt = rule_lf(pc, args[0], LF_O_HTTP)) ? 1 : -1;
}

/* set-status N [reason TEXT] */
static int
rule_p_status(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	long long v;

	if (n < 1 || u_parse_int(args[0], 100, 999, &v) < 0) {
		u_err(pc->ap.err, "'%s' expects a status code between 100 and 999",
		    name);
		return -1;
	}
	r->status = (int)v;
	if (n >= 2 && strcmp(args[1], "reason") == 0) {
		if (n < 3) {
			u_err(pc->ap.err, "'reason' expects a text");
			return -1;
		}
		r->reason = u_strdup(pc->ap.arena, args[2]);
		return 3;
	}
	return 1;
}

/* set-var(NAME) EXPR, set-var-fmt(NAME) FMT, unset-var(NAME): the name is
 * in the action's word. */
static int
rule_p_var(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	struct smp_pctx sp = { pc->ap.err, pc->ap.arena, pc->ap.cfg, 0, NULL,
	    NULL };
	const char *open = strchr(name, '('), *close = strrchr(name, ')'), *end;
	struct smp_arg a;

	if (open == NULL || close == NULL || close < open || close[1]) {
		u_err(pc->ap.err, "'%s': expected %.*s(<var-name>)", name,
		    (int)(open ? open - name : (long)strlen(name)), name);
		return -1;
	}
	if (memchr(open, ',', (size_t)(close - open))) {
		u_err(pc->ap.err, "'%s': conditions on set-var are not supported", name);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.s = u_strndup(pc->ap.arena, open + 1, (size_t)(close - open - 1));
	if (smp_var_name(&sp, &a) < 0)
		return -1;
	r->name = (char *)a.p;
	r->scope = (int)a.i;
	if (r->kw->param == 2)
		return 0;
	if (n < 1) {
		u_err(pc->ap.err, "'%s' expects %s", name, r->kw->param ? "<fmt>" :
		    "<expr>");
		return -1;
	}
	if (r->kw->param == 1)
		return (r->fmt = rule_lf(pc, args[0], 0)) ? 1 : -1;
	sp.base = sp.at = args[0];
	if ((r->expr = smp_parse(&sp, args[0], &end)) == NULL)
		return -1;
	if (*end) {
		sp.at = end;
		smp_err(&sp, "unexpected '%c' after the sample expression", *end);
		return -1;
	}
	return 1;
}

/* capture EXPR len N (a new request slot) | id N (a declared one) */
static int
rule_p_capture(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	struct smp_pctx sp = { pc->ap.err, pc->ap.arena, pc->ap.cfg, 0,
	    NULL, NULL };
	const char *end;
	long long v;
	int len = n >= 3 && strcmp(args[1], "len") == 0;

	if (n < 3 || (!len && strcmp(args[1], "id") != 0) ||
	    u_parse_int(args[2], 0, len ? 65535 : CAPTURES_MAX - 1, &v) < 0 ||
	    (len && pc->set != RS_HREQ)) {
		u_err(pc->ap.err, "'%s' expects <sample> %s", name, pc->set == RS_HREQ ?
		    "len <length> | id <id> (0..15)" : "id <id> (0..15)");
		return -1;
	}
	sp.base = sp.at = args[0];
	if ((r->expr = smp_parse(&sp, args[0], &end)) == NULL)
		return -1;
	if (*end) {
		sp.at = end;
		smp_err(&sp, "unexpected '%c' after the sample expression", *end);
		return -1;
	}
	if (len) {
		if ((r->slot = rule_capture_slot(pc->px, 0, (int)v)) < 0) {
			u_err(pc->ap.err, "more than %d request captures", CAPTURES_MAX);
			return -1;
		}
		r->len = (int)v;
	} else {
		r->slot = (int)v;
		r->len = 0;	/* the length of the frontend's slot */
	}
	return 3;
}

/* "scheme S | location L | prefix P [code N] [drop-query] [append-slash]";
 * the value is a log-format string.  Shared by "http-request redirect",
 * "http-response redirect" and the "redirect" keyword. */
static int
rule_p_redirect(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	static const char *const types[] = { "scheme", "location", "prefix" };
	long long v;
	int i;

	(void)name;
	if (n < 2) {
		u_err(pc->ap.err, "'redirect' expects 'scheme', 'location' or "
		    "'prefix' and a value");
		return -1;
	}
	for (i = 0; i < 3 && strcmp(args[0], types[i]) != 0; i++)
		;
	if (i == 3) {
		u_err(pc->ap.err, "redirect '%s': expected scheme, location or "
		    "prefix", args[0]);
		return -1;
	}
	r->redir = i == 0 ? REDIR_SCHEME : i == 1 ? REDIR_LOCATION : REDIR_PREFIX;
	if ((r->fmt = rule_lf(pc, args[1], LF_O_HTTP)) == NULL)
		return -1;
	r->status = 302;
	for (i = 2; i < n; i++) {
		if (strcmp(args[i], "code") == 0) {
			if (i + 1 >= n || u_parse_int(args[i + 1], 301, 308, &v) < 0 ||
			    v == 304 || v == 305 || v == 306) {
				u_err(pc->ap.err, "redirect code must be 301, 302, 303, "
				    "307 or 308");
				return -1;
			}
			r->status = (int)v;
			i++;
		} else if (strcmp(args[i], "drop-query") == 0)
			r->drop_query = 1;
		else if (strcmp(args[i], "append-slash") == 0)
			r->drop_query |= 2;
		else if (strcmp(args[i], "set-cookie") == 0 ||
		    strcmp(args[i], "clear-cookie") == 0) {
			u_err(pc->ap.err, "redirect option '%s' is not supported", args[i]);
			return -1;
		} else
			break;
	}
	return i;
}

/* use-service prometheus-exporter */
static int
rule_p_service(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	(void)r;
	(void)name;
	if (n < 1 || strcmp(args[0], "prometheus-exporter") != 0) {
		u_err(pc->ap.err, "'use-service': only 'prometheus-exporter' is "
		    "supported");
		return -1;
	}
	return 1;
}

/* set-log-level emerg..debug | silent */
static int
rule_p_log_level(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	static const char *const lv[] = { "emerg", "alert", "crit", "err",
	    "warning", "notice", "info", "debug", "silent" };
	int k;

	for (k = 0; n >= 1 && k < 9 && strcmp(args[0], lv[k]); k++)
		;
	if (n < 1 || k == 9) {
		u_err(pc->ap.err, "'%s' expects a syslog level or 'silent'", name);
		return -1;
	}
	r->status = k + 1;	/* 0: unchanged */
	return 1;
}

/* strict-mode on|off */
static int
rule_p_onoff(struct rule_pctx *pc, struct rule *r, const char *name,
    char **args, int n)
{
	if (n < 1 || (strcmp(args[0], "on") && strcmp(args[0], "off"))) {
		u_err(pc->ap.err, "'%s' expects 'on' or 'off'", name);
		return -1;
	}
	r->status = strcmp(args[0], "on") == 0;
	return 1;
}

static int
rule_x_strict(const struct rule *r, struct rule_ex *ex)
{
	if (r->status)
		ex->ro->flags &= ~ROUTE_SOFT_RW;
	else
		ex->ro->flags |= ROUTE_SOFT_RW;
	return RULE_CONT;
}

#define HQ	RS_BIT(RS_HREQ)
#define HS	RS_BIT(RS_HRSP)
#define HA	RS_BIT(RS_HAFTER)
#define TC	RS_BIT(RS_TCP_CONN)
#define TT	RS_BIT(RS_TCP_CONT)
static const struct rule_act_kw rule_acts[] = {
	{ "allow", HQ | HS | HA, rule_p_none, rule_x_allow, 0 },
	{ "deny", HQ | HS, rule_p_reply, rule_x_answer, ANS_DENY },
	{ "tarpit", HQ, rule_p_reply, rule_x_answer, ANS_TARPIT },
	{ "return", HQ | HS, rule_p_reply, rule_x_answer, ANS_RETURN },
	{ "reject", HQ, rule_p_none, rule_x_answer, ANS_REJECT },
	{ "silent-drop", HQ | HS, rule_p_none, rule_x_answer, ANS_REJECT },
	{ "auth", HQ, rule_p_auth, rule_x_answer, ANS_AUTH },
	{ "redirect", HQ | HS, rule_p_redirect, rule_x_redirect, 0 },
	{ "use-service", HQ, rule_p_service, rule_x_answer, ANS_SERVICE },
	{ "set-header", HQ | HS | HA, rule_p_hdr, rule_x_hdr, H1_HDR_SET },
	{ "add-header", HQ | HS | HA, rule_p_hdr, rule_x_hdr, H1_HDR_ADD },
	{ "del-header", HQ | HS | HA, rule_p_hdr, rule_x_del_hdr, 0 },
	{ "replace-header", HQ | HS | HA, rule_p_replace, rule_x_replace_hdr, 0 },
	{ "replace-value", HQ | HS | HA, rule_p_replace, rule_x_replace_hdr, 1 },
	{ "set-path", HQ, rule_p_fmt, rule_x_set_uri, URI_PATH },
	{ "set-pathq", HQ, rule_p_fmt, rule_x_set_uri, URI_PATHQ },
	{ "set-query", HQ, rule_p_fmt, rule_x_set_uri, URI_QUERY },
	{ "set-uri", HQ, rule_p_fmt, rule_x_set_uri, URI_URI },
	{ "set-method", HQ, rule_p_fmt, rule_x_set_uri, URI_METHOD },
	{ "replace-path", HQ, rule_p_replace, rule_x_replace_uri, URI_PATH },
	{ "replace-pathq", HQ, rule_p_replace, rule_x_replace_uri, URI_PATHQ },
	{ "replace-uri", HQ, rule_p_replace, rule_x_replace_uri, URI_URI },
	{ "set-status", HS | HA, rule_p_status, rule_x_set_status, 0 },
	{ "set-var(", HQ | HS | HA | TT, rule_p_var, rule_x_set_var, 0 },
	{ "set-var-fmt(", HQ | HS | HA | TT, rule_p_var, rule_x_set_var, 1 },
	{ "unset-var(", HQ | HS | HA | TT, rule_p_var, rule_x_set_var, 2 },
	{ "capture", HQ | HS | HA, rule_p_capture, rule_x_capture, 0 },
	{ "set-log-level", HQ | HS | HA | TT, rule_p_log_level, rule_x_log_level, 0 },
	{ "strict-mode", HQ | HS | HA, rule_p_onoff, rule_x_strict, 0 },
	{ "disable-l7-retry", HQ, rule_p_none, rule_x_flag, ROUTE_NO_L7_RETRY },
	/* no early data is accepted, so there is no handshake to wait for */
	{ "wait-for-handshake", HQ, rule_p_none, rule_x_flag, 0 },
	{ "accept", TC | TT, rule_p_none, rule_x_allow, 0 },
	{ "reject", TC | TT, rule_p_none, rule_x_answer, ANS_REJECT },
};
#undef HQ
#undef HS
#undef HA
#undef TC
#undef TT

/* The action named <w> in rule set <set>. */
static const struct rule_act_kw *
rule_act_find(const char *w, int set)
{
	size_t i, n;

	for (i = 0; i < NELEM(rule_acts); i++) {
		n = strlen(rule_acts[i].name);
		if (!(rule_acts[i].sets & RS_BIT(set)))
			continue;
		if (rule_acts[i].name[n - 1] == '(' ? strncmp(w, rule_acts[i].name,
		    n) == 0 : strcmp(w, rule_acts[i].name) == 0)
			return &rule_acts[i];
	}
	return NULL;
}

/* The actions of a set, for the message that lists them. */
static void
rule_act_list(int set, char *out, size_t len)
{
	size_t i, o = 0;

	out[0] = 0;
	for (i = 0; i < NELEM(rule_acts) && o + 32 < len; i++)
		if ((rule_acts[i].sets & RS_BIT(set)) &&
		    (i == 0 || strcmp(rule_acts[i].name, rule_acts[i - 1].name)))
			o += (size_t)snprintf(out + o, len - o, "%s%s%s", o ? ", " : "",
			    rule_acts[i].name, rule_acts[i].name[strlen(rule_acts[i].name)
			    - 1] == '(' ? "<var>)" : "");
}

static void
rule_append(struct rule **list, struct rule *r)
{
	while (*list)
		list = &(*list)->next;
	*list = r;
}

/* A condition's fetches that this rule set cannot see: HAProxy's
 * "will never match" warning. */
static void
rule_check_cond(struct rule_pctx *pc, const struct cond *c, const char *what)
{
	unsigned bad = pc->set == RS_TCP_CONN ? SMP_USE_REQ | SMP_USE_RES | SMP_USE_TXN :
	    pc->set == RS_HREQ || pc->set == RS_TCP_CONT ? SMP_USE_RES : 0;

	if (c && (c->use & bad) && !(c->use & ~bad))
		u_warn(pc->ap.err, "the condition of '%s' will never match: it only "
		    "uses fetches that are not available in %s rules", what,
		    rule_set_names[pc->set]);
}

/* "<set> ACTION ... [if|unless COND]": args[0..k) name the set (one or two
 * words), args[k] is the action. */
static int
rule_parse(struct rule_pctx *pc, struct rule **list, char **args, int n, int k)
{
	const struct rule_act_kw *kw;
	char names[512];
	struct rule *r;
	int used;

	if (n <= k) {
		u_err(pc->ap.err, "'%s' expects an action", rule_set_names[pc->set]);
		return -1;
	}
	if ((kw = rule_act_find(args[k], pc->set)) == NULL) {
		rule_act_list(pc->set, names, sizeof(names));
		u_err(pc->ap.err, "'%s %s' is not supported (supported: %s)",
		    rule_set_names[pc->set], args[k], names);
		return -1;
	}
	r = u_alloc(pc->ap.arena, sizeof(*r));
	r->kw = kw;
	r->file = u_strdup(pc->ap.arena, pc->ap.err->file);
	r->line = pc->ap.err->line;
	if ((used = kw->parse(pc, r, args[k], args + k + 1, n - k - 1)) < 0)
		return -1;
	used += k + 1;
	if (acl_cond_opt(&pc->ap, &pc->px->acls, args + used, n - used, &r->cond) < 0)
		return -1;
	rule_check_cond(pc, r->cond, args[k]);
	rule_append(list, r);
	return 0;
}

/* "redirect ..." lines, evaluated after the http-request rules. */
static int
rule_parse_redirect(struct rule_pctx *pc, char **args, int n)
{
	struct rule *r = u_alloc(pc->ap.arena, sizeof(*r));
	int k;

	r->kw = rule_act_find("redirect", RS_HREQ);
	if ((k = rule_p_redirect(pc, r, "redirect", args + 1, n - 1)) < 0 ||
	    acl_cond_opt(&pc->ap, &pc->px->acls, args + 1 + k, n - 1 - k,
	    &r->cond) < 0)
		return -1;
	rule_append(&pc->px->redirects, r);
	return 0;
}

/* ---- evaluation ---- */

/* The SMP_USE_* of a rule list: its conditions, values and expressions
 * (set-var counts as using variables). */
static unsigned
rule_uses(const struct rule *r)
{
	unsigned u = 0;
	int k;

	for (; r; r = r->next) {
		u |= (r->cond ? r->cond->use : 0) | (r->fmt ? r->fmt->use : 0) |
		    (r->expr ? smp_expr_use(r->expr) : 0);
		if (r->kw->exec == rule_x_set_var)
			u |= SMP_USE_VAR;
		for (k = 0; r->reply && k < r->reply->nhdr; k++)
			u |= r->reply->hdr_fmt[k]->use;
		if (r->reply && r->reply->body)
			u |= r->reply->body->use;
	}
	return u;
}

/* The rules of one set of one proxy, in order, until one stops them. */
static int
rule_exec(const struct rule *list, struct rule_ex *ex)
{
	const struct rule *r;
	int k;

	for (r = list; r; r = r->next) {
		if (!acl_cond_exec(r->cond, ex->c))
			continue;
		k = r->kw->exec(r, ex);
		if (k == RULE_ERROR && (ex->ro->flags & ROUTE_SOFT_RW))
			continue;	/* strict-mode off: a failed rewrite is skipped */
		if (k == RULE_ERROR) {
			ex->ro->answer = ANS_ERROR;
			ex->ro->rule = r;
			return RULE_ANSWER;
		}
		if (k != RULE_CONT)
			return k;
	}
	return RULE_CONT;
}

/* One proxy's http-request rules and redirects: 1 when answered. */
static int
rule_req_proxy(const struct proxy *px, struct rule_ex *ex)
{
	const struct rule *r;

	if (rule_exec(px->rules_tcp[1], ex) == RULE_ANSWER ||
	    rule_exec(px->hreq, ex) == RULE_ANSWER)
		return 1;
	for (r = px->redirects; r; r = r->next)
		if (acl_cond_exec(r->cond, ex->c))
			return rule_x_redirect(r, ex) == RULE_ANSWER || (ex->ro->answer =
			    ANS_ERROR, 1);
	return 0;
}

static struct proxy *
rule_find_be(const struct config *c, const char *name, size_t n,
    struct proxy *def)
{
	struct proxy *px;

	for (px = c ? c->proxies : NULL; px; px = px->next)
		if ((px->cap & CAP_BE) && strlen(px->name) == n &&
		    memcmp(px->name, name, n) == 0)
			return px;
	return def;
}

/* use_backend: a name, or a log-format string naming one at run time. */
static struct proxy *
rule_switch(const struct proxy *fe, struct rule_ex *ex)
{
	const struct switch_rule *sw;
	const char *name;
	size_t n;

	for (sw = fe->rules; sw; sw = sw->next) {
		if (!acl_cond_exec(sw->cond, ex->c))
			continue;
		if (sw->fmt == NULL)
			return sw->be;
		/* a name that is no backend leaves the default one, as HAProxy */
		if (rule_fmt(ex, sw->fmt, &name, &n) < 0 || n == 0)
			break;
		return rule_find_be(ex->cfg, name, n, fe->default_be);
	}
	return fe->default_be;
}

/* option http-restrict-req-hdr-names, after the proxy's request rules
 * (HAProxy's http_restrict_req_hdr_names()): header names with anything
 * but letters, digits and '-' are deleted, or the request is denied with
 * a 403.  1 when denied. */
static int
rule_hdr_names(const struct proxy *px, struct rule_ex *ex)
{
	struct http_msg *m = ex->em ? ex->em->m : NULL;
	int i, o = 0, bad;
	unsigned short k;

	if (px->hdr_names == HDRN_PRESERVE || m == NULL)
		return 0;
	for (i = 0; i < m->nhdr; i++) {
		for (k = 0, bad = 0; k < m->hdr[i].name_len && !bad; k++)
			bad = !isalnum((unsigned char)m->hdr[i].name[k]) &&
			    m->hdr[i].name[k] != '-';
		if (bad && px->hdr_names == HDRN_REJECT) {
			ex->ro->answer = ANS_DENY;
			ex->ro->status = 403;
			ex->ro->rule = NULL;
			return 1;
		}
		if (!bad)
			m->hdr[o++] = m->hdr[i];
	}
	ex->em->edits += o != m->nhdr;
	m->nhdr = o;
	return 0;
}

struct proxy *
rule_route(const struct proxy *fe, struct rule_ex *ex)
{
	struct proxy *be;

	ex->ro->be = NULL;
	if (rule_req_proxy(fe, ex) || rule_hdr_names(fe, ex))
		return NULL;
	be = rule_switch(fe, ex);
	ex->c->be = be;
	/* set first: a deny from the backend's rules is the backend's (its
	 * error page, its log line), as in HAProxy */
	ex->ro->be = be;
	if (be && be != fe && (rule_req_proxy(be, ex) || rule_hdr_names(be, ex)))
		return NULL;
	return be;
}

/* tcp mode: tcp-request content rules, then use_backend on what the
 * connection shows.  NULL when rejected or no backend. */
static struct proxy *
rule_route_tcp(const struct proxy *fe, struct rule_ex *ex)
{
	struct proxy *be;

	if (rule_exec(fe->rules_tcp[1], ex) == RULE_ANSWER)
		return NULL;
	be = rule_switch(fe, ex);
	if (be && be != fe && rule_exec(be->rules_tcp[1], ex) == RULE_ANSWER)
		return NULL;
	return be;
}

/* A response's rules: http-response of the backend then of the
 * frontend, then http-after-response the same way.  Returns RULE_ANSWER
 * when a rule answers instead. */
static int
rule_response(const struct proxy *fe, const struct proxy *be, struct rule_ex *ex,
    int after_only)
{
	const struct proxy *px[2] = { be, fe };
	int k, set;

	for (set = after_only; set < 2; set++)
		for (k = 0; k < 2; k++) {
			if (px[k] == NULL || (k == 1 && px[0] == px[1]))
				continue;
			if (rule_exec(set ? px[k]->hafter : px[k]->hrsp, ex) == RULE_ANSWER)
				return RULE_ANSWER;
		}
	return RULE_CONT;
}

/*==== end rule ====*/

/*==== begin ciph ====*/
/*
 * OpenSSL's cipher-list language ("ECDH+AESGCM:!aNULL:@STRENGTH"),
 * evaluated as OpenSSL 3.0 (Debian 12's, under HAProxy there) does, so
 * that a "ciphers" line selects in waxlb what it selects in HAProxy,
 * restricted to the suites BearSSL runs, in the same order: that order is
 * the server's preference (BR_OPT_ENFORCE_SERVER_PREFERENCES).
 *
 * ciph_suites[] holds every suite below TLS 1.3 that Debian's OpenSSL
 * knows, BearSSL's or not, in the order OpenSSL sorts them before reading
 * a list (ssl_create_cipher_list(): ECDHE before DHE, AEAD first, then by
 * strength...), because a word adds its matches in that order and the
 * others decide where "+" and @STRENGTH put them.  Each rule works on
 * that list as ssl_cipher_apply_rule() does: a word appends the matching
 * suites not yet selected; "+" moves selected ones to the end; "-"
 * deselects them and puts them first among the unselected, so that a
 * later word adds them back first; "!" removes them for good.  "A+B"
 * matches what both match, @STRENGTH sorts by strength bits (stable),
 * @SECLEVEL=n sets the security level, a list starting with DEFAULT
 * starts from "ALL:!COMPLEMENTOFDEFAULT:!eNULL", and words OpenSSL does
 * not know are skipped (noted in a warning, which OpenSSL does not give).
 * Checked against `openssl ciphers -V` by test/unit.c and
 * test/test_ciphers.py.
 */

/* The pieces of suite names, joined by '-'; index 0 ends a name. */
enum {
	CP__, CP_ECDHE, CP_ECDSA, CP_RSA, CP_DHE, CP_DSS, CP_ADH, CP_AECDH,
	CP_PSK, CP_SRP, CP_AES128, CP_AES256, CP_AES, CP_128, CP_256, CP_GCM,
	CP_CCM, CP_CCM8, CP_CBC, CP_SHA, CP_SHA256, CP_SHA384, CP_MD5,
	CP_CHACHA20, CP_POLY1305, CP_ARIA128, CP_ARIA256, CP_CAMELLIA128,
	CP_CAMELLIA256, CP_eNULL
};
static const char ciph_pieces[][12] = {
	"", "ECDHE", "ECDSA", "RSA", "DHE", "DSS", "ADH", "AECDH", "PSK", "SRP",
	"AES128", "AES256", "AES", "128", "256", "GCM", "CCM", "CCM8", "CBC",
	"SHA", "SHA256", "SHA384", "MD5", "CHACHA20", "POLY1305", "ARIA128",
	"ARIA256", "CAMELLIA128", "CAMELLIA256", "NULL"
};

/* Algorithms, one bit each in a rule's masks.  Encryption: 128-bit ones,
 * then 256-bit ones (strength bits follow from the index); CEN_OTHER
 * stands for what this OpenSSL has no suite for (3DES...). */
enum { CKX_RSA, CKX_DHE, CKX_ECDHE, CKX_PSK, CKX_SRP, CKX_RSAPSK, CKX_ECDHEPSK,
	CKX_DHEPSK };
enum { CAU_RSA, CAU_DSS, CAU_NULL, CAU_ECDSA, CAU_PSK, CAU_SRP };
enum { CEN_eNULL, CEN_AES128, CEN_CAMELLIA128, CEN_AES128GCM, CEN_AES128CCM,
	CEN_AES128CCM8, CEN_ARIA128GCM, CEN_AES256, CEN_CAMELLIA256,
	CEN_AES256GCM, CEN_AES256CCM, CEN_AES256CCM8, CEN_ARIA256GCM,
	CEN_CHACHA20, CEN_OTHER = 15 };
enum { CMA_MD5, CMA_SHA1, CMA_SHA256, CMA_SHA384, CMA_AEAD };

/* OpenSSL's strength flags (algo_strength), as its aliases use them. */
#define CS_NONE		0x01
#define CS_LOW		0x02
#define CS_MEDIUM	0x04
#define CS_HIGH		0x08
#define CS_FIPS		0x10
#define CS_STRONG	0x1f	/* SSL_STRONG_MASK */
#define CS_NOTDEF	0x20	/* SSL_NOT_DEFAULT */

/* A suite: name pieces (5 bits each) and lowest version (1 SSLv3, 2
 * TLSv1, 3 TLSv1.2) in <name>; key exchange, authentication, encryption,
 * MAC, flags and IANA id in <attr>. */
struct ciph_suite {
	uint32_t	 name;
	uint32_t	 attr;
};

#define CF_FIPS		0x2000	/* in OpenSSL's FIPS alias */
#define CF_NDEF		0x4000	/* not in OpenSSL's DEFAULT */
#define CF_BR		0x8000	/* BearSSL runs it in waxlb */

#define CIPH_N_(a, b, c, d, e, f, ...) ((uint32_t)CP_##a | CP_##b << 5 | \
	CP_##c << 10 | CP_##d << 15 | (uint32_t)CP_##e << 20 | (uint32_t)CP_##f << 25)
#define CIPH_N(...)	CIPH_N_(__VA_ARGS__)
#define S(id, v, kx, au, en, mac, fl, ...) \
	{ CIPH_N(__VA_ARGS__, _, _, _, _, _, _) | (uint32_t)(v) << 30, \
	  CKX_##kx | CAU_##au << 3 | CEN_##en << 6 | CMA_##mac << 10 | (fl) | \
	  (uint32_t)(id) << 16 }
#define FIPS	CF_FIPS
#define NDEF	CF_NDEF
#define BR	CF_BR
/* OpenSSL's default order.  Columns: IANA id (BearSSL's id for BR
 * suites), version, key exchange, authentication, encryption, MAC, flags,
 * the name's pieces.  (BearSSL 0.6 also has AES-CCM suites, which waxlb
 * does not enable.) */
static const struct ciph_suite ciph_suites[CIPH_COUNT] = {
	S(0xC02C, 3, ECDHE, ECDSA, AES256GCM, AEAD, FIPS | BR, ECDHE, ECDSA, AES256, GCM, SHA384),
	S(0xC030, 3, ECDHE, RSA, AES256GCM, AEAD, FIPS | BR, ECDHE, RSA, AES256, GCM, SHA384),
	S(0x00A3, 3, DHE, DSS, AES256GCM, AEAD, FIPS | NDEF, DHE, DSS, AES256, GCM, SHA384),
	S(0x009F, 3, DHE, RSA, AES256GCM, AEAD, FIPS, DHE, RSA, AES256, GCM, SHA384),
	S(0xCCA9, 3, ECDHE, ECDSA, CHACHA20, AEAD, BR, ECDHE, ECDSA, CHACHA20, POLY1305),
	S(0xCCA8, 3, ECDHE, RSA, CHACHA20, AEAD, BR, ECDHE, RSA, CHACHA20, POLY1305),
	S(0xCCAA, 3, DHE, RSA, CHACHA20, AEAD, 0, DHE, RSA, CHACHA20, POLY1305),
	S(0xC0AF, 3, ECDHE, ECDSA, AES256CCM8, AEAD, NDEF, ECDHE, ECDSA, AES256, CCM8),
	S(0xC0AD, 3, ECDHE, ECDSA, AES256CCM, AEAD, NDEF, ECDHE, ECDSA, AES256, CCM),
	S(0xC0A3, 3, DHE, RSA, AES256CCM8, AEAD, NDEF, DHE, RSA, AES256, CCM8),
	S(0xC09F, 3, DHE, RSA, AES256CCM, AEAD, NDEF, DHE, RSA, AES256, CCM),
	S(0xC05D, 3, ECDHE, ECDSA, ARIA256GCM, AEAD, NDEF, ECDHE, ECDSA, ARIA256, GCM, SHA384),
	S(0xC061, 3, ECDHE, RSA, ARIA256GCM, AEAD, NDEF, ECDHE, ARIA256, GCM, SHA384),
	S(0xC057, 3, DHE, DSS, ARIA256GCM, AEAD, NDEF, DHE, DSS, ARIA256, GCM, SHA384),
	S(0xC053, 3, DHE, RSA, ARIA256GCM, AEAD, NDEF, DHE, RSA, ARIA256, GCM, SHA384),
	S(0x00A7, 3, DHE, NULL, AES256GCM, AEAD, FIPS | NDEF, ADH, AES256, GCM, SHA384),
	S(0xC02B, 3, ECDHE, ECDSA, AES128GCM, AEAD, FIPS | BR, ECDHE, ECDSA, AES128, GCM, SHA256),
	S(0xC02F, 3, ECDHE, RSA, AES128GCM, AEAD, FIPS | BR, ECDHE, RSA, AES128, GCM, SHA256),
	S(0x00A2, 3, DHE, DSS, AES128GCM, AEAD, FIPS | NDEF, DHE, DSS, AES128, GCM, SHA256),
	S(0x009E, 3, DHE, RSA, AES128GCM, AEAD, FIPS, DHE, RSA, AES128, GCM, SHA256),
	S(0xC0AE, 3, ECDHE, ECDSA, AES128CCM8, AEAD, NDEF, ECDHE, ECDSA, AES128, CCM8),
	S(0xC0AC, 3, ECDHE, ECDSA, AES128CCM, AEAD, NDEF, ECDHE, ECDSA, AES128, CCM),
	S(0xC0A2, 3, DHE, RSA, AES128CCM8, AEAD, NDEF, DHE, RSA, AES128, CCM8),
	S(0xC09E, 3, DHE, RSA, AES128CCM, AEAD, NDEF, DHE, RSA, AES128, CCM),
	S(0xC05C, 3, ECDHE, ECDSA, ARIA128GCM, AEAD, NDEF, ECDHE, ECDSA, ARIA128, GCM, SHA256),
	S(0xC060, 3, ECDHE, RSA, ARIA128GCM, AEAD, NDEF, ECDHE, ARIA128, GCM, SHA256),
	S(0xC056, 3, DHE, DSS, ARIA128GCM, AEAD, NDEF, DHE, DSS, ARIA128, GCM, SHA256),
	S(0xC052, 3, DHE, RSA, ARIA128GCM, AEAD, NDEF, DHE, RSA, ARIA128, GCM, SHA256),
	S(0x00A6, 3, DHE, NULL, AES128GCM, AEAD, FIPS | NDEF, ADH, AES128, GCM, SHA256),
	S(0xC024, 3, ECDHE, ECDSA, AES256, SHA384, FIPS | BR, ECDHE, ECDSA, AES256, SHA384),
	S(0xC028, 3, ECDHE, RSA, AES256, SHA384, FIPS | BR, ECDHE, RSA, AES256, SHA384),
	S(0x006B, 3, DHE, RSA, AES256, SHA256, FIPS, DHE, RSA, AES256, SHA256),
	S(0x006A, 3, DHE, DSS, AES256, SHA256, FIPS | NDEF, DHE, DSS, AES256, SHA256),
	S(0xC073, 3, ECDHE, ECDSA, CAMELLIA256, SHA384, NDEF, ECDHE, ECDSA, CAMELLIA256, SHA384),
	S(0xC077, 3, ECDHE, RSA, CAMELLIA256, SHA384, NDEF, ECDHE, RSA, CAMELLIA256, SHA384),
	S(0x00C4, 3, DHE, RSA, CAMELLIA256, SHA256, NDEF, DHE, RSA, CAMELLIA256, SHA256),
	S(0x00C3, 3, DHE, DSS, CAMELLIA256, SHA256, NDEF, DHE, DSS, CAMELLIA256, SHA256),
	S(0x006D, 3, DHE, NULL, AES256, SHA256, FIPS | NDEF, ADH, AES256, SHA256),
	S(0x00C5, 3, DHE, NULL, CAMELLIA256, SHA256, NDEF, ADH, CAMELLIA256, SHA256),
	S(0xC023, 3, ECDHE, ECDSA, AES128, SHA256, FIPS | BR, ECDHE, ECDSA, AES128, SHA256),
	S(0xC027, 3, ECDHE, RSA, AES128, SHA256, FIPS | BR, ECDHE, RSA, AES128, SHA256),
	S(0x0067, 3, DHE, RSA, AES128, SHA256, FIPS, DHE, RSA, AES128, SHA256),
	S(0x0040, 3, DHE, DSS, AES128, SHA256, FIPS | NDEF, DHE, DSS, AES128, SHA256),
	S(0xC072, 3, ECDHE, ECDSA, CAMELLIA128, SHA256, NDEF, ECDHE, ECDSA, CAMELLIA128, SHA256),
	S(0xC076, 3, ECDHE, RSA, CAMELLIA128, SHA256, NDEF, ECDHE, RSA, CAMELLIA128, SHA256),
	S(0x00BE, 3, DHE, RSA, CAMELLIA128, SHA256, NDEF, DHE, RSA, CAMELLIA128, SHA256),
	S(0x00BD, 3, DHE, DSS, CAMELLIA128, SHA256, NDEF, DHE, DSS, CAMELLIA128, SHA256),
	S(0x006C, 3, DHE, NULL, AES128, SHA256, FIPS | NDEF, ADH, AES128, SHA256),
	S(0x00BF, 3, DHE, NULL, CAMELLIA128, SHA256, NDEF, ADH, CAMELLIA128, SHA256),
	S(0xC00A, 2, ECDHE, ECDSA, AES256, SHA1, FIPS | BR, ECDHE, ECDSA, AES256, SHA),
	S(0xC014, 2, ECDHE, RSA, AES256, SHA1, FIPS | BR, ECDHE, RSA, AES256, SHA),
	S(0x0039, 1, DHE, RSA, AES256, SHA1, FIPS, DHE, RSA, AES256, SHA),
	S(0x0038, 1, DHE, DSS, AES256, SHA1, FIPS | NDEF, DHE, DSS, AES256, SHA),
	S(0x0088, 1, DHE, RSA, CAMELLIA256, SHA1, NDEF, DHE, RSA, CAMELLIA256, SHA),
	S(0x0087, 1, DHE, DSS, CAMELLIA256, SHA1, NDEF, DHE, DSS, CAMELLIA256, SHA),
	S(0xC019, 2, ECDHE, NULL, AES256, SHA1, FIPS | NDEF, AECDH, AES256, SHA),
	S(0x003A, 1, DHE, NULL, AES256, SHA1, FIPS | NDEF, ADH, AES256, SHA),
	S(0x0089, 1, DHE, NULL, CAMELLIA256, SHA1, NDEF, ADH, CAMELLIA256, SHA),
	S(0xC009, 2, ECDHE, ECDSA, AES128, SHA1, FIPS | BR, ECDHE, ECDSA, AES128, SHA),
	S(0xC013, 2, ECDHE, RSA, AES128, SHA1, FIPS | BR, ECDHE, RSA, AES128, SHA),
	S(0x0033, 1, DHE, RSA, AES128, SHA1, FIPS, DHE, RSA, AES128, SHA),
	S(0x0032, 1, DHE, DSS, AES128, SHA1, FIPS | NDEF, DHE, DSS, AES128, SHA),
	S(0x0045, 1, DHE, RSA, CAMELLIA128, SHA1, NDEF, DHE, RSA, CAMELLIA128, SHA),
	S(0x0044, 1, DHE, DSS, CAMELLIA128, SHA1, NDEF, DHE, DSS, CAMELLIA128, SHA),
	S(0xC018, 2, ECDHE, NULL, AES128, SHA1, FIPS | NDEF, AECDH, AES128, SHA),
	S(0x0034, 1, DHE, NULL, AES128, SHA1, FIPS | NDEF, ADH, AES128, SHA),
	S(0x0046, 1, DHE, NULL, CAMELLIA128, SHA1, NDEF, ADH, CAMELLIA128, SHA),
	S(0xC006, 2, ECDHE, ECDSA, eNULL, SHA1, 0, ECDHE, ECDSA, eNULL, SHA),
	S(0xC010, 2, ECDHE, RSA, eNULL, SHA1, 0, ECDHE, RSA, eNULL, SHA),
	S(0xC015, 2, ECDHE, NULL, eNULL, SHA1, 0, AECDH, eNULL, SHA),
	S(0x00AD, 3, RSAPSK, RSA, AES256GCM, AEAD, FIPS, RSA, PSK, AES256, GCM, SHA384),
	S(0x00AB, 3, DHEPSK, PSK, AES256GCM, AEAD, FIPS, DHE, PSK, AES256, GCM, SHA384),
	S(0xCCAE, 3, RSAPSK, RSA, CHACHA20, AEAD, 0, RSA, PSK, CHACHA20, POLY1305),
	S(0xCCAD, 3, DHEPSK, PSK, CHACHA20, AEAD, 0, DHE, PSK, CHACHA20, POLY1305),
	S(0xCCAC, 3, ECDHEPSK, PSK, CHACHA20, AEAD, 0, ECDHE, PSK, CHACHA20, POLY1305),
	S(0xC0AB, 3, DHEPSK, PSK, AES256CCM8, AEAD, NDEF, DHE, PSK, AES256, CCM8),
	S(0xC0A7, 3, DHEPSK, PSK, AES256CCM, AEAD, NDEF, DHE, PSK, AES256, CCM),
	S(0xC06F, 3, RSAPSK, RSA, ARIA256GCM, AEAD, NDEF, RSA, PSK, ARIA256, GCM, SHA384),
	S(0xC06D, 3, DHEPSK, PSK, ARIA256GCM, AEAD, NDEF, DHE, PSK, ARIA256, GCM, SHA384),
	S(0x009D, 3, RSA, RSA, AES256GCM, AEAD, FIPS | BR, AES256, GCM, SHA384),
	S(0xC0A1, 3, RSA, RSA, AES256CCM8, AEAD, NDEF, AES256, CCM8),
	S(0xC09D, 3, RSA, RSA, AES256CCM, AEAD, NDEF, AES256, CCM),
	S(0xC051, 3, RSA, RSA, ARIA256GCM, AEAD, NDEF, ARIA256, GCM, SHA384),
	S(0x00A9, 3, PSK, PSK, AES256GCM, AEAD, FIPS, PSK, AES256, GCM, SHA384),
	S(0xCCAB, 3, PSK, PSK, CHACHA20, AEAD, 0, PSK, CHACHA20, POLY1305),
	S(0xC0A9, 3, PSK, PSK, AES256CCM8, AEAD, NDEF, PSK, AES256, CCM8),
	S(0xC0A5, 3, PSK, PSK, AES256CCM, AEAD, NDEF, PSK, AES256, CCM),
	S(0xC06B, 3, PSK, PSK, ARIA256GCM, AEAD, NDEF, PSK, ARIA256, GCM, SHA384),
	S(0x00AC, 3, RSAPSK, RSA, AES128GCM, AEAD, FIPS, RSA, PSK, AES128, GCM, SHA256),
	S(0x00AA, 3, DHEPSK, PSK, AES128GCM, AEAD, FIPS, DHE, PSK, AES128, GCM, SHA256),
	S(0xC0AA, 3, DHEPSK, PSK, AES128CCM8, AEAD, NDEF, DHE, PSK, AES128, CCM8),
	S(0xC0A6, 3, DHEPSK, PSK, AES128CCM, AEAD, NDEF, DHE, PSK, AES128, CCM),
	S(0xC06E, 3, RSAPSK, RSA, ARIA128GCM, AEAD, NDEF, RSA, PSK, ARIA128, GCM, SHA256),
	S(0xC06C, 3, DHEPSK, PSK, ARIA128GCM, AEAD, NDEF, DHE, PSK, ARIA128, GCM, SHA256),
	S(0x009C, 3, RSA, RSA, AES128GCM, AEAD, FIPS | BR, AES128, GCM, SHA256),
	S(0xC0A0, 3, RSA, RSA, AES128CCM8, AEAD, NDEF, AES128, CCM8),
	S(0xC09C, 3, RSA, RSA, AES128CCM, AEAD, NDEF, AES128, CCM),
	S(0xC050, 3, RSA, RSA, ARIA128GCM, AEAD, NDEF, ARIA128, GCM, SHA256),
	S(0x00A8, 3, PSK, PSK, AES128GCM, AEAD, FIPS, PSK, AES128, GCM, SHA256),
	S(0xC0A8, 3, PSK, PSK, AES128CCM8, AEAD, NDEF, PSK, AES128, CCM8),
	S(0xC0A4, 3, PSK, PSK, AES128CCM, AEAD, NDEF, PSK, AES128, CCM),
	S(0xC06A, 3, PSK, PSK, ARIA128GCM, AEAD, NDEF, PSK, ARIA128, GCM, SHA256),
	S(0x003D, 3, RSA, RSA, AES256, SHA256, FIPS | BR, AES256, SHA256),
	S(0x00C0, 3, RSA, RSA, CAMELLIA256, SHA256, NDEF, CAMELLIA256, SHA256),
	S(0x003C, 3, RSA, RSA, AES128, SHA256, FIPS | BR, AES128, SHA256),
	S(0x00BA, 3, RSA, RSA, CAMELLIA128, SHA256, NDEF, CAMELLIA128, SHA256),
	S(0x003B, 3, RSA, RSA, eNULL, SHA256, 0, eNULL, SHA256),
	S(0xC038, 2, ECDHEPSK, PSK, AES256, SHA384, FIPS, ECDHE, PSK, AES256, CBC, SHA384),
	S(0xC036, 2, ECDHEPSK, PSK, AES256, SHA1, FIPS, ECDHE, PSK, AES256, CBC, SHA),
	S(0xC022, 1, SRP, DSS, AES256, SHA1, NDEF, SRP, DSS, AES, 256, CBC, SHA),
	S(0xC021, 1, SRP, RSA, AES256, SHA1, 0, SRP, RSA, AES, 256, CBC, SHA),
	S(0xC020, 1, SRP, SRP, AES256, SHA1, 0, SRP, AES, 256, CBC, SHA),
	S(0x00B7, 2, RSAPSK, RSA, AES256, SHA384, FIPS, RSA, PSK, AES256, CBC, SHA384),
	S(0x00B3, 2, DHEPSK, PSK, AES256, SHA384, FIPS, DHE, PSK, AES256, CBC, SHA384),
	S(0x0095, 1, RSAPSK, RSA, AES256, SHA1, FIPS, RSA, PSK, AES256, CBC, SHA),
	S(0x0091, 1, DHEPSK, PSK, AES256, SHA1, FIPS, DHE, PSK, AES256, CBC, SHA),
	S(0xC09B, 2, ECDHEPSK, PSK, CAMELLIA256, SHA384, NDEF, ECDHE, PSK, CAMELLIA256, SHA384),
	S(0xC099, 2, RSAPSK, RSA, CAMELLIA256, SHA384, NDEF, RSA, PSK, CAMELLIA256, SHA384),
	S(0xC097, 2, DHEPSK, PSK, CAMELLIA256, SHA384, NDEF, DHE, PSK, CAMELLIA256, SHA384),
	S(0x0035, 1, RSA, RSA, AES256, SHA1, FIPS | BR, AES256, SHA),
	S(0x0084, 1, RSA, RSA, CAMELLIA256, SHA1, NDEF, CAMELLIA256, SHA),
	S(0x00AF, 2, PSK, PSK, AES256, SHA384, FIPS, PSK, AES256, CBC, SHA384),
	S(0x008D, 1, PSK, PSK, AES256, SHA1, FIPS, PSK, AES256, CBC, SHA),
	S(0xC095, 2, PSK, PSK, CAMELLIA256, SHA384, NDEF, PSK, CAMELLIA256, SHA384),
	S(0xC037, 2, ECDHEPSK, PSK, AES128, SHA256, FIPS, ECDHE, PSK, AES128, CBC, SHA256),
	S(0xC035, 2, ECDHEPSK, PSK, AES128, SHA1, FIPS, ECDHE, PSK, AES128, CBC, SHA),
	S(0xC01F, 1, SRP, DSS, AES128, SHA1, NDEF, SRP, DSS, AES, 128, CBC, SHA),
	S(0xC01E, 1, SRP, RSA, AES128, SHA1, 0, SRP, RSA, AES, 128, CBC, SHA),
	S(0xC01D, 1, SRP, SRP, AES128, SHA1, 0, SRP, AES, 128, CBC, SHA),
	S(0x00B6, 2, RSAPSK, RSA, AES128, SHA256, FIPS, RSA, PSK, AES128, CBC, SHA256),
	S(0x00B2, 2, DHEPSK, PSK, AES128, SHA256, FIPS, DHE, PSK, AES128, CBC, SHA256),
	S(0x0094, 1, RSAPSK, RSA, AES128, SHA1, FIPS, RSA, PSK, AES128, CBC, SHA),
	S(0x0090, 1, DHEPSK, PSK, AES128, SHA1, FIPS, DHE, PSK, AES128, CBC, SHA),
	S(0xC09A, 2, ECDHEPSK, PSK, CAMELLIA128, SHA256, NDEF, ECDHE, PSK, CAMELLIA128, SHA256),
	S(0xC098, 2, RSAPSK, RSA, CAMELLIA128, SHA256, NDEF, RSA, PSK, CAMELLIA128, SHA256),
	S(0xC096, 2, DHEPSK, PSK, CAMELLIA128, SHA256, NDEF, DHE, PSK, CAMELLIA128, SHA256),
	S(0x002F, 1, RSA, RSA, AES128, SHA1, FIPS | BR, AES128, SHA),
	S(0x0041, 1, RSA, RSA, CAMELLIA128, SHA1, NDEF, CAMELLIA128, SHA),
	S(0x00AE, 2, PSK, PSK, AES128, SHA256, FIPS, PSK, AES128, CBC, SHA256),
	S(0x008C, 1, PSK, PSK, AES128, SHA1, FIPS, PSK, AES128, CBC, SHA),
	S(0xC094, 2, PSK, PSK, CAMELLIA128, SHA256, NDEF, PSK, CAMELLIA128, SHA256),
	S(0xC03B, 2, ECDHEPSK, PSK, eNULL, SHA384, 0, ECDHE, PSK, eNULL, SHA384),
	S(0xC03A, 2, ECDHEPSK, PSK, eNULL, SHA256, 0, ECDHE, PSK, eNULL, SHA256),
	S(0xC039, 2, ECDHEPSK, PSK, eNULL, SHA1, 0, ECDHE, PSK, eNULL, SHA),
	S(0x00B9, 2, RSAPSK, RSA, eNULL, SHA384, 0, RSA, PSK, eNULL, SHA384),
	S(0x00B8, 2, RSAPSK, RSA, eNULL, SHA256, 0, RSA, PSK, eNULL, SHA256),
	S(0x00B5, 2, DHEPSK, PSK, eNULL, SHA384, 0, DHE, PSK, eNULL, SHA384),
	S(0x00B4, 2, DHEPSK, PSK, eNULL, SHA256, 0, DHE, PSK, eNULL, SHA256),
	S(0x002E, 1, RSAPSK, RSA, eNULL, SHA1, 0, RSA, PSK, eNULL, SHA),
	S(0x002D, 1, DHEPSK, PSK, eNULL, SHA1, 0, DHE, PSK, eNULL, SHA),
	S(0x0002, 1, RSA, RSA, eNULL, SHA1, 0, eNULL, SHA),
	S(0x0001, 1, RSA, RSA, eNULL, MD5, 0, eNULL, MD5),
	S(0x00B1, 2, PSK, PSK, eNULL, SHA384, 0, PSK, eNULL, SHA384),
	S(0x00B0, 2, PSK, PSK, eNULL, SHA256, 0, PSK, eNULL, SHA256),
	S(0x002C, 1, PSK, PSK, eNULL, SHA1, 0, PSK, eNULL, SHA),
};
#undef S
#undef FIPS
#undef NDEF
#undef BR
#undef CIPH_N
#undef CIPH_N_

/* OpenSSL's aliases (cipher_aliases[] in ssl_ciph.c) that can select
 * something here: name, key exchange, authentication, encryption and MAC
 * masks (0: any), version (1 SSLv3, 2 TLSv1, 3 TLSv1.2) and strength
 * flags << 2.  Aliases for algorithms without suites in this OpenSSL (RC4,
 * GOST...) are unknown words to it too. */
struct ciph_alias {
	unsigned char	 kx, au, mac, vs;
	unsigned short	 enc;
};

#define CIPH_BIT(x)	(1u << (x))
#define K(x)		CIPH_BIT(CKX_##x)
#define U(x)		CIPH_BIT(CAU_##x)
#define E(x)		CIPH_BIT(CEN_##x)
#define M(x)		CIPH_BIT(CMA_##x)
#define E_AES128	(E(AES128) | E(AES128GCM) | E(AES128CCM) | E(AES128CCM8))
#define E_AES256	(E(AES256) | E(AES256GCM) | E(AES256CCM) | E(AES256CCM8))
#define E_ALL		(0xffffu & ~E(eNULL))
#define U_CERT		(0xffu & ~U(NULL))
#define CIPH_ALIASES \
	A("ALL", 0, 0, E_ALL, 0, 0) \
	A("COMPLEMENTOFALL", 0, 0, E(eNULL), 0, 0) \
	A("COMPLEMENTOFDEFAULT", 0, 0, 0, 0, CS_NOTDEF << 2) \
	A("kRSA", K(RSA), 0, 0, 0, 0) \
	A("kEDH", K(DHE), 0, 0, 0, 0) \
	A("kDHE", K(DHE), 0, 0, 0, 0) \
	A("DH", K(DHE), 0, 0, 0, 0) \
	A("kEECDH", K(ECDHE), 0, 0, 0, 0) \
	A("kECDHE", K(ECDHE), 0, 0, 0, 0) \
	A("ECDH", K(ECDHE), 0, 0, 0, 0) \
	A("kPSK", K(PSK), 0, 0, 0, 0) \
	A("kRSAPSK", K(RSAPSK), 0, 0, 0, 0) \
	A("kECDHEPSK", K(ECDHEPSK), 0, 0, 0, 0) \
	A("kDHEPSK", K(DHEPSK), 0, 0, 0, 0) \
	A("kSRP", K(SRP), 0, 0, 0, 0) \
	A("aRSA", 0, U(RSA), 0, 0, 0) \
	A("aDSS", 0, U(DSS), 0, 0, 0) \
	A("DSS", 0, U(DSS), 0, 0, 0) \
	A("aNULL", 0, U(NULL), 0, 0, 0) \
	A("aECDSA", 0, U(ECDSA), 0, 0, 0) \
	A("ECDSA", 0, U(ECDSA), 0, 0, 0) \
	A("aPSK", 0, U(PSK), 0, 0, 0) \
	A("aSRP", 0, U(SRP), 0, 0, 0) \
	A("EDH", K(DHE), U_CERT, 0, 0, 0) \
	A("DHE", K(DHE), U_CERT, 0, 0, 0) \
	A("EECDH", K(ECDHE), U_CERT, 0, 0, 0) \
	A("ECDHE", K(ECDHE), U_CERT, 0, 0, 0) \
	A("NULL", 0, 0, E(eNULL), 0, 0) \
	A("RSA", K(RSA), U(RSA), 0, 0, 0) \
	A("ADH", K(DHE), U(NULL), 0, 0, 0) \
	A("AECDH", K(ECDHE), U(NULL), 0, 0, 0) \
	A("PSK", K(PSK) | K(RSAPSK) | K(ECDHEPSK) | K(DHEPSK), 0, 0, 0, 0) \
	A("SRP", K(SRP), 0, 0, 0, 0) \
	A("3DES", 0, 0, E(OTHER), 0, 0) \
	A("eNULL", 0, 0, E(eNULL), 0, 0) \
	A("AES128", 0, 0, E_AES128, 0, 0) \
	A("AES256", 0, 0, E_AES256, 0, 0) \
	A("AES", 0, 0, E_AES128 | E_AES256, 0, 0) \
	A("AESGCM", 0, 0, E(AES128GCM) | E(AES256GCM), 0, 0) \
	A("AESCCM", 0, 0, E(AES128CCM) | E(AES256CCM) | E(AES128CCM8) | \
	    E(AES256CCM8), 0, 0) \
	A("AESCCM8", 0, 0, E(AES128CCM8) | E(AES256CCM8), 0, 0) \
	A("CAMELLIA128", 0, 0, E(CAMELLIA128), 0, 0) \
	A("CAMELLIA256", 0, 0, E(CAMELLIA256), 0, 0) \
	A("CAMELLIA", 0, 0, E(CAMELLIA128) | E(CAMELLIA256), 0, 0) \
	A("CHACHA20", 0, 0, E(CHACHA20), 0, 0) \
	A("ARIA", 0, 0, E(ARIA128GCM) | E(ARIA256GCM), 0, 0) \
	A("ARIAGCM", 0, 0, E(ARIA128GCM) | E(ARIA256GCM), 0, 0) \
	A("ARIA128", 0, 0, E(ARIA128GCM), 0, 0) \
	A("ARIA256", 0, 0, E(ARIA256GCM), 0, 0) \
	A("CBC", 0, 0, E(AES128) | E(AES256) | E(CAMELLIA128) | E(CAMELLIA256) | \
	    E(OTHER), 0, 0) \
	A("MD5", 0, 0, 0, M(MD5), 0) \
	A("SHA1", 0, 0, 0, M(SHA1), 0) \
	A("SHA", 0, 0, 0, M(SHA1), 0) \
	A("SHA256", 0, 0, 0, M(SHA256), 0) \
	A("SHA384", 0, 0, 0, M(SHA384), 0) \
	A("SSLv3", 0, 0, 0, 0, 1) \
	A("TLSv1", 0, 0, 0, 0, 2) \
	A("TLSv1.0", 0, 0, 0, 0, 2) \
	A("TLSv1.2", 0, 0, 0, 0, 3) \
	A("LOW", 0, 0, 0, 0, CS_LOW << 2) \
	A("MEDIUM", 0, 0, 0, 0, CS_MEDIUM << 2) \
	A("HIGH", 0, 0, 0, 0, CS_HIGH << 2) \
	A("FIPS", 0, 0, E_ALL, 0, CS_FIPS << 2) \
	A("EDH-DSS-DES-CBC3-SHA", K(DHE), U(DSS), E(OTHER), M(SHA1), \
	    (CS_HIGH | CS_FIPS) << 2) \
	A("EDH-RSA-DES-CBC3-SHA", K(DHE), U(RSA), E(OTHER), M(SHA1), \
	    (CS_HIGH | CS_FIPS) << 2)
#define A(name, kx, au, enc, mac, vs)	name "\0"
static const char ciph_alias_names[] = CIPH_ALIASES;
#undef A
#define A(name, kx, au, enc, mac, vs)	{ kx, au, mac, vs, enc },
static const struct ciph_alias ciph_aliases[] = { CIPH_ALIASES };
#undef A
#undef CIPH_ALIASES
#undef K
#undef U
#undef E
#undef M
#undef E_AES128
#undef E_AES256
#undef E_ALL
#undef U_CERT

/* A rule's pattern ("A+B": what both match); suite is an index + 1 when
 * a suite was named in full, whose version then is not part of it. */
struct ciph_rule {
	int		 suite;
	unsigned	 kx, au, enc, mac, ver, str;
};

#define CIPH_NIL	0xff

/* OpenSSL's CIPHER_ORDER list: every suite not removed by "!", selected
 * or not, linked in the order later words see them. */
struct ciph_list {
	unsigned char	 next[CIPH_COUNT], prev[CIPH_COUNT];
	unsigned char	 on[CIPH_COUNT];	/* 1 selected, 2 named in full */
	unsigned char	 head, tail;
	int		 seclevel;
	struct ciph_sel	*out;
	char		 unknown[96];		/* words OpenSSL ignores */
	int		 nunknown;
};

#define CIPH_SEP(c)	((c) == ':' || (c) == ' ' || (c) == ';' || (c) == ',')

static unsigned
ciph_field(int i, int shift, unsigned mask)
{
	return ciph_suites[i].attr >> shift & mask;
}

#define ciph_kx(i)	ciph_field(i, 0, 7)
#define ciph_au(i)	ciph_field(i, 3, 7)
#define ciph_enc(i)	ciph_field(i, 6, 15)
#define ciph_mac(i)	ciph_field(i, 10, 7)

unsigned
ciph_id(int i)
{
	return ciph_field(i, 16, 0xffff);
}

int
ciph_bear(int i)
{
	return (ciph_suites[i].attr & CF_BR) != 0;
}

/* Strength bits (OpenSSL's strength_bits). */
static int
ciph_bits(int i)
{
	unsigned e = ciph_enc(i);

	return e == CEN_eNULL ? 0 : e < CEN_AES256 ? 128 : 256;
}

/* OpenSSL's algo_strength: every suite here is HIGH but the NULL ones. */
static unsigned
ciph_strength(int i)
{
	unsigned a = ciph_suites[i].attr;

	return (ciph_enc(i) == CEN_eNULL ? CS_NONE : CS_HIGH) |
	    (a & CF_FIPS ? CS_FIPS : 0) | (a & CF_NDEF ? CS_NOTDEF : 0);
}

const char *
ciph_name(int i, char *buf, size_t len)
{
	uint32_t nm = ciph_suites[i].name;
	const char *p;
	size_t off = 0, pl;
	int k;

	for (k = 0; k < 6 && (nm >> 5 * k & 31); k++) {
		p = ciph_pieces[nm >> 5 * k & 31];
		pl = strlen(p);
		if (off + pl + 2 > len)
			break;
		if (k)
			buf[off++] = '-';
		memcpy(buf + off, p, pl);
		off += pl;
	}
	buf[off] = 0;
	return buf;
}

/* Whether w[0..n) is the name of suite i. */
static int
ciph_is(int i, const char *w, size_t n)
{
	uint32_t nm = ciph_suites[i].name;
	size_t off = 0, pl;
	const char *p;
	int k;

	if (w[0] != ciph_pieces[nm & 31][0])	/* most words stop here */
		return 0;
	for (k = 0; k < 6 && (nm >> 5 * k & 31); k++) {
		p = ciph_pieces[nm >> 5 * k & 31];
		pl = strlen(p);
		if (k && (off == n || w[off++] != '-'))
			return 0;
		if (n - off < pl || memcmp(w + off, p, pl) != 0)
			return 0;
		off += pl;
	}
	return off == n;
}

/* A word's pattern: a suite's own algorithms, or an alias's; -1 when
 * OpenSSL knows neither. */
static int
ciph_lookup(const char *w, size_t n, struct ciph_rule *r)
{
	const struct ciph_alias *a = ciph_aliases;
	const char *an;
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < CIPH_COUNT; i++)
		if (ciph_is(i, w, n)) {
			r->suite = i + 1;
			r->kx = CIPH_BIT(ciph_kx(i));
			r->au = CIPH_BIT(ciph_au(i));
			r->enc = CIPH_BIT(ciph_enc(i));
			r->mac = CIPH_BIT(ciph_mac(i));
			r->str = ciph_strength(i);
			return 0;
		}
	for (an = ciph_alias_names; *an; an += strlen(an) + 1, a++)
		if (an[0] == w[0] && strncmp(an, w, n) == 0 && an[n] == 0) {
			r->kx = a->kx;
			r->au = a->au;
			r->enc = a->enc;
			r->mac = a->mac;
			r->ver = a->vs & 3;
			r->str = a->vs >> 2;
			return 0;
		}
	return -1;
}

/* One mask of "A+B": the intersection; -1 when it is empty. */
static int
ciph_and(unsigned *m, unsigned part)
{
	if (part)
		*m = *m ? *m & part : part;
	return part && *m == 0 ? -1 : 0;
}

/* Add part <p> to pattern <r> as OpenSSL merges "A+B" (strength flags
 * included: a strength class replaces a lone NOT_DEFAULT); -1 when the
 * result can match nothing, and OpenSSL then skips the rule. */
static int
ciph_merge(struct ciph_rule *r, const struct ciph_rule *p)
{
	if (ciph_and(&r->kx, p->kx) < 0 || ciph_and(&r->au, p->au) < 0 ||
	    ciph_and(&r->enc, p->enc) < 0 || ciph_and(&r->mac, p->mac) < 0)
		return -1;
	if (p->str & CS_STRONG) {
		if (r->str & CS_STRONG) {
			r->str &= (p->str & CS_STRONG) | ~CS_STRONG;
			if ((r->str & CS_STRONG) == 0)
				return -1;
		} else
			r->str = p->str & CS_STRONG;
	}
	if (p->str & CS_NOTDEF)
		r->str |= CS_NOTDEF;
	if (p->suite)
		r->suite = p->suite;
	else if (p->ver) {
		if (r->ver && r->ver != p->ver)
			return -1;
		r->ver = p->ver;
	}
	return 0;
}

static int
ciph_match(int i, const struct ciph_rule *r)
{
	unsigned st = ciph_strength(i);

	return (!r->suite || r->suite == i + 1) &&
	    (!r->kx || (r->kx & CIPH_BIT(ciph_kx(i)))) &&
	    (!r->au || (r->au & CIPH_BIT(ciph_au(i)))) &&
	    (!r->enc || (r->enc & CIPH_BIT(ciph_enc(i)))) &&
	    (!r->mac || (r->mac & CIPH_BIT(ciph_mac(i)))) &&
	    (!r->ver || r->ver == ciph_suites[i].name >> 30) &&
	    (!(r->str & CS_STRONG) || (r->str & CS_STRONG & st)) &&
	    (!(r->str & CS_NOTDEF) || (st & CS_NOTDEF));
}

static void
ciph_unlink(struct ciph_list *l, int i)
{
	if (l->prev[i] != CIPH_NIL)
		l->next[l->prev[i]] = l->next[i];
	else
		l->head = l->next[i];
	if (l->next[i] != CIPH_NIL)
		l->prev[l->next[i]] = l->prev[i];
	else
		l->tail = l->prev[i];
	l->next[i] = l->prev[i] = CIPH_NIL;
}

/* Move suite i to the end (tail) or the front of the list. */
static void
ciph_move(struct ciph_list *l, int i, int tail)
{
	if (i == (tail ? l->tail : l->head))
		return;
	ciph_unlink(l, i);
	if (tail) {
		l->prev[i] = l->tail;
		l->next[l->tail] = (unsigned char)i;
		l->tail = (unsigned char)i;
	} else {
		l->next[i] = l->head;
		l->prev[l->head] = (unsigned char)i;
		l->head = (unsigned char)i;
	}
}

/*
 * One rule over the list, as ssl_cipher_apply_rule(): op is 0 (add), '+',
 * '-' or '!'; bits >= 0 matches by strength bits instead (@STRENGTH).
 * Deletions walk backwards so that the deleted keep their order at the
 * front; moved suites land past the walk's last one and are not seen
 * twice.
 */
static void
ciph_apply(struct ciph_list *l, const struct ciph_rule *r, int op, int bits)
{
	int rev = op == '-';
	int cur = CIPH_NIL, nx = rev ? l->tail : l->head;
	int last = rev ? l->head : l->tail;

	while (cur != last && nx != CIPH_NIL) {
		cur = nx;
		nx = rev ? l->prev[cur] : l->next[cur];
		if (bits >= 0 ? ciph_bits(cur) != bits : !ciph_match(cur, r))
			continue;
		if (op == 0 && !l->on[cur]) {
			ciph_move(l, cur, 1);
			l->on[cur] = r->suite ? 2 : 1;
		} else if (op == '+' && l->on[cur])
			ciph_move(l, cur, 1);
		else if (op == '-' && l->on[cur]) {
			ciph_move(l, cur, 0);
			l->on[cur] = 0;
		} else if (op == '!') {
			ciph_unlink(l, cur);
			l->on[cur] = 0;
		}
	}
}

static int
ciph_wordch(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '=';
}

/* OpenSSL refuses the whole list for a byte it cannot read as a word. */
static int
ciph_bad(struct ciph_list *l, const char *s)
{
	if (*s == 0)
		snprintf(l->out->err, sizeof(l->out->err), "a name is missing at "
		    "its end");
	else
		snprintf(l->out->err, sizeof(l->out->err), "'%c' is not valid in a "
		    "cipher list%s", isprint((unsigned char)*s) ? *s : '?', *s == '_' ?
		    " (TLS 1.3 suites go in ciphersuites)" : "");
	return -1;
}

/* A word OpenSSL skips, kept for the warning. */
static void
ciph_unknown(struct ciph_list *l, const char *w, size_t n)
{
	size_t k = strlen(l->unknown);

	if (l->nunknown++ < 3)
		snprintf(l->unknown + k, sizeof(l->unknown) - k, "%s'%.*s'",
		    k ? ", " : "", (int)(n > 24 ? 24 : n), w);
}

/* @STRENGTH or @SECLEVEL=n (w[0..n) after the '@'). */
static int
ciph_special(struct ciph_list *l, const char *w, size_t n)
{
	static const struct ciph_rule none;

	if (n == 8 && strncmp(w, "STRENGTH", 8) == 0) {
		ciph_apply(l, &none, '+', 256);
		ciph_apply(l, &none, '+', 128);
		ciph_apply(l, &none, '+', 0);
	} else if (n == 10 && strncmp(w, "SECLEVEL=", 9) == 0 &&
	    w[9] >= '0' && w[9] <= '5')
		l->seclevel = w[9] - '0';
	else {
		snprintf(l->out->err, sizeof(l->out->err), "unknown command "
		    "'@%.*s'", (int)(n > 24 ? 24 : n), w);
		return -1;
	}
	return 0;
}

/*
 * ssl_cipher_process_rulestr(): rules separated by ':', ' ', ';' or ',',
 * each an optional '+', '-', '!' or '@' and words joined by '+'.  A rule
 * OpenSSL skips (an unknown word, parts that match nothing together) is
 * skipped to the next separator; after one it applies, the next rule
 * starts at once ("AES128!SHA1" is two).
 */
static int
ciph_process(struct ciph_list *l, const char *s)
{
	struct ciph_rule r, part;
	const char *w;
	int op, found, multi;
	size_t n;

	while (*s) {
		if (CIPH_SEP(*s)) {
			s++;
			continue;
		}
		op = *s == '+' || *s == '-' || *s == '!' || *s == '@' ? *s++ : 0;
		memset(&r, 0, sizeof(r));
		for (found = 0;;) {
			for (w = s; ciph_wordch((unsigned char)*s); s++)
				;
			if ((n = (size_t)(s - w)) == 0)
				return ciph_bad(l, s);
			if (op == '@')
				break;
			multi = *s == '+';
			s += multi;
			if (ciph_lookup(w, n, &part) < 0) {
				ciph_unknown(l, w, n);
				break;
			}
			if (ciph_merge(&r, &part) < 0)
				break;
			if (!multi) {
				found = 1;
				break;
			}
		}
		if (op == '@' && ciph_special(l, w, n) < 0)
			return -1;
		if (found)
			ciph_apply(l, &r, op, -1);
		else
			while (*s && !CIPH_SEP(*s))
				s++;
	}
	return 0;
}

/* OpenSSL's security-level test of a suite (ssl_security_default_callback
 * for SSL_SECOP_CIPHER_*), which HAProxy's handshakes go through: at
 * least 80, 112, 128, 192 or 256 strength bits for levels 1 to 5, no
 * anonymous or MD5 suites, no SHA-1 MAC above 160 bits, forward secrecy
 * from level 3. */
static int
ciph_secure(int i, int level)
{
	static const short minbits[6] = { 0, 80, 112, 128, 192, 256 };
	unsigned kx = ciph_kx(i);

	if (level == 0)
		return 1;
	if (ciph_bits(i) < minbits[level] || ciph_au(i) == CAU_NULL ||
	    ciph_mac(i) == CMA_MD5 ||
	    (minbits[level] > 160 && ciph_mac(i) == CMA_SHA1))
		return 0;
	return level < 3 || kx == CKX_DHE || kx == CKX_ECDHE ||
	    kx == CKX_DHEPSK || kx == CKX_ECDHEPSK;
}

static int
ciph_in_bear(const struct ciph_sel *o, int i)
{
	int k;

	for (k = 0; k < o->nbear; k++)
		if (o->bear[k] == i)
			return 1;
	return 0;
}

/* Append to buf up to four names of o->all[] (only those named in full
 * that BearSSL does not run, if <lacking>) and how many more; the number
 * of names that qualified. */
static int
ciph_names(const struct ciph_sel *o, int lacking, char *buf, size_t len)
{
	char nm[40];
	size_t k;
	int i, n = 0;

	for (i = 0; i < o->nall; i++) {
		if (lacking && (!o->named[i] || ciph_in_bear(o, o->all[i])))
			continue;
		k = strlen(buf);
		if (n++ < 4)
			snprintf(buf + k, len - k, "%s%s", n > 1 ? ", " : "",
			    ciph_name(o->all[i], nm, sizeof(nm)));
	}
	k = strlen(buf);
	if (n > 4)
		snprintf(buf + k, len - k, " and %d more", n - 4);
	return n;
}

/* The messages: err when nothing is usable, else warn when words were
 * unknown or suites named in full are not run. */
static void
ciph_notes(const struct ciph_list *l, struct ciph_sel *o)
{
	char names[160] = "";
	size_t k;
	int i, bear = 0;

	if (o->nall == 0) {
		snprintf(o->err, sizeof(o->err), "OpenSSL selects nothing from it%s%s%s",
		    l->nunknown ? "; unknown to it: " : "", l->unknown,
		    strstr(l->unknown, "'TLS'") ? " (TLS 1.3 suites go in ciphersuites)" : "");
		return;
	}
	if (o->nbear == 0) {
		for (i = 0; i < o->nall; i++)
			bear |= ciph_bear(o->all[i]);
		snprintf(o->err, sizeof(o->err), "it selects only ");
		ciph_names(o, 0, o->err, sizeof(o->err));
		k = strlen(o->err);
		snprintf(o->err + k, sizeof(o->err) - k, bear ? " (BearSSL's are below "
		    "@SECLEVEL=%d)" : " (not in BearSSL)", o->seclevel);
		return;
	}
	if (l->nunknown)
		snprintf(o->warn, sizeof(o->warn), "unknown to OpenSSL, ignored: %s%s",
		    l->unknown, l->nunknown > 3 ? "..." : "");
	if (ciph_names(o, 1, names, sizeof(names)) > 0) {
		k = strlen(o->warn);
		snprintf(o->warn + k, sizeof(o->warn) - k, "%s%s not in BearSSL, "
		    "skipped", k ? "; " : "", names);
	}
}

int
ciph_select(const char *list, struct ciph_sel *out)
{
	static const char *const suiteb[][2] = {	/* replace the whole list */
		{ "SUITEB128ONLY", "ECDHE-ECDSA-AES128-GCM-SHA256" },
		{ "SUITEB128C2", "ECDHE-ECDSA-AES256-GCM-SHA384" },
		{ "SUITEB128", "ECDHE-ECDSA-AES128-GCM-SHA256:"
		    "ECDHE-ECDSA-AES256-GCM-SHA384" },
		{ "SUITEB192", "ECDHE-ECDSA-AES256-GCM-SHA384" },
	};
	struct ciph_list l;
	size_t k;
	int i;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	for (i = 0; i < CIPH_COUNT; i++) {
		l.prev[i] = (unsigned char)(i ? i - 1 : CIPH_NIL);
		l.next[i] = (unsigned char)(i + 1 < CIPH_COUNT ? i + 1 : CIPH_NIL);
	}
	l.head = 0;
	l.tail = CIPH_COUNT - 1;
	l.seclevel = CIPH_SECLEVEL;
	l.out = out;
	for (k = 0; k < NELEM(suiteb); k++)
		if (strncmp(list, suiteb[k][0], strlen(suiteb[k][0])) == 0) {
			list = suiteb[k][1];
			break;
		}
	if (strncmp(list, "DEFAULT", 7) == 0) {
		(void)ciph_process(&l, "ALL:!COMPLEMENTOFDEFAULT:!eNULL");
		list += 7;
		list += *list == ':';
	}
	if (ciph_process(&l, list) < 0)
		return -1;
	for (i = l.head; i != CIPH_NIL; i = l.next[i]) {
		if (!l.on[i])
			continue;
		out->named[out->nall] = l.on[i] == 2;
		out->all[out->nall++] = (unsigned char)i;
		if (ciph_bear(i) && ciph_secure(i, l.seclevel) &&
		    out->nbear < CIPH_BEAR_MAX)
			out->bear[out->nbear++] = (unsigned char)i;
	}
	out->seclevel = l.seclevel;
	ciph_notes(&l, out);
	return out->nall ? out->nbear : -1;
}

/* The OpenSSL name of the BearSSL suite <id> (%sslc, ssl_fc_cipher), or
 * NULL; names are built once, on first use. */
const char *
ciph_id_name(unsigned id)
{
	static char names[CIPH_BEAR_MAX][32];
	int i, k = 0;

	for (i = 0; i < CIPH_COUNT; i++) {
		if (!ciph_bear(i))
			continue;
		if (ciph_id(i) == id)
			return names[k][0] ? names[k] :
			    ciph_name(i, names[k], sizeof(names[k]));
		k++;
	}
	return NULL;
}

int
ciph_suites13(const char *list, char *bad, size_t len)
{
	const char *s = list;
	size_t n;

	for (;;) {
		n = strcspn(s, ":");
		if (n && (n < 5 || strncmp(s, "TLS_", 4) != 0 ||
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") < n)) {
			snprintf(bad, len, "%.*s", (int)(n > 40 ? 40 : n), s);
			return -1;
		}
		if (s[n] == 0)
			return 0;
		s += n + 1;
	}
}

/*
 * Curve lists ("X25519:P-256"), as OpenSSL 3.0's SSL_CTX_set1_curves_list
 * reads them for HAProxy's "curves", "ecdhe" and ssl-default-bind-curves:
 * names separated by ':', case as written, no empty name, no name twice.
 * The names of BearSSL's four curves give their TLS ids in the list's
 * order (the server's preference); other names OpenSSL knows are skipped
 * (noted in warn[]); a name it does not know fails the list, as it fails
 * HAProxy's start.
 */
static const struct {
	char		 name[16];
	unsigned char	 id;		/* TLS named-curve id; 0: not BearSSL's */
} ciph_curve_names[] = {
	{ "X25519", 29 }, { "x25519", 29 }, { "P-256", 23 }, { "prime256v1", 23 },
	{ "secp256r1", 23 }, { "P-384", 24 }, { "secp384r1", 24 },
	{ "P-521", 25 }, { "secp521r1", 25 },
	{ "X448", 0 }, { "x448", 0 }, { "secp256k1", 0 }, { "P-224", 0 },
	{ "secp224r1", 0 }, { "secp224k1", 0 }, { "P-192", 0 },
	{ "prime192v1", 0 }, { "secp192r1", 0 }, { "secp192k1", 0 },
	{ "secp160k1", 0 }, { "secp160r1", 0 }, { "secp160r2", 0 },
	{ "brainpoolP256r1", 0 }, { "brainpoolP384r1", 0 },
	{ "brainpoolP512r1", 0 }, { "ffdhe2048", 0 }, { "ffdhe3072", 0 },
	{ "ffdhe4096", 0 }, { "ffdhe6144", 0 }, { "ffdhe8192", 0 },
};

/* The sect* binary curves and their NIST names (K-163, B-233...). */
static int
ciph_curve_binary(const char *w, size_t n)
{
	static const char *const sect[] = { "sect163k1", "sect163r1", "sect163r2",
		"sect193r1", "sect193r2", "sect233k1", "sect233r1", "sect239k1",
		"sect283k1", "sect283r1", "sect409k1", "sect409r1", "sect571k1",
		"sect571r1" };
	size_t i;

	if (n == 5 && (w[0] == 'K' || w[0] == 'B') && w[1] == '-' &&
	    U_DIGIT(w[2]) && U_DIGIT(w[3]) && U_DIGIT(w[4])) {
		char d[4] = { w[2], w[3], w[4], 0 };

		return strstr("163 233 283 409 571", d) != NULL;
	}
	for (i = 0; i < NELEM(sect); i++)
		if (strlen(sect[i]) == n && memcmp(w, sect[i], n) == 0)
			return 1;
	return 0;
}

/* One name: its TLS id, 0 for a curve BearSSL lacks, -1 if unknown. */
static int
ciph_curve(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < NELEM(ciph_curve_names); i++)
		if (strlen(ciph_curve_names[i].name) == n &&
		    memcmp(ciph_curve_names[i].name, w, n) == 0)
			return ciph_curve_names[i].id;
	return ciph_curve_binary(w, n) ? 0 : -1;
}

int
ciph_curves(const char *list, struct ciph_curves *out)
{
	const char *w = list;
	unsigned seen = 0;
	size_t n, k;
	int id;

	memset(out, 0, sizeof(*out));
	for (;; w += n + 1) {
		n = strcspn(w, ":");
		if (n == 0 || (id = ciph_curve(w, n)) < 0) {
			snprintf(out->err, sizeof(out->err), n ? "unknown curve '%.*s'"
			    : "an empty curve name", (int)(n > 24 ? 24 : n), w);
			return -1;
		}
		if (id && (seen >> id & 1)) {
			snprintf(out->err, sizeof(out->err), "curve '%.*s' twice",
			    (int)n, w);
			return -1;
		}
		seen |= id ? 1u << id : 0;
		if (id)
			out->ids[out->n++] = (unsigned char)id;
		else if ((k = strlen(out->warn)) + n + 3 < sizeof(out->warn))
			snprintf(out->warn + k, sizeof(out->warn) - k, "%s%.*s",
			    k ? ", " : "", (int)n, w);
		if (w[n] == 0)
			break;
	}
	if (out->n == 0)
		snprintf(out->err, sizeof(out->err), "none of its curves is in "
		    "BearSSL (X25519, P-256, P-384, P-521)");
	return out->n ? out->n : -1;
}
/*==== end ciph ====*/

/*==== begin lb ====*/
/*
 * Server selection with HAProxy's own algorithms, so that a configuration
 * picks the same servers in the same order: FWRR for roundrobin
 * (weighted, smooth), FWLC for leastconn (fewest in-flight per weight,
 * ties in insertion order so they rotate), and "first".  Each is a struct
 * lb_ops, as in HAProxy.  HAProxy keeps servers in ebtrees; with a
 * handful of servers per backend an ordered scan over (key, insertion
 * order) gives the same order.  The balancer's state lives in each
 * config's backend runtime state (struct be_state and its lb_nodes), so
 * the configs alive after a reload never share a position; health and
 * in-flight counts come from the servers' shared struct srv_state.
 */

#define BE_WEIGHT_SCALE	16
#define SRV_UWGHT_RANGE	256
#define SRV_EWGHT_MAX	(SRV_UWGHT_RANGE * BE_WEIGHT_SCALE)

/* lb_node.tree values: which ordered set a server is in */
enum { LBT_NONE, LBT_A0, LBT_A1, LBT_ACUR, LBT_B0, LBT_B1, LBT_BCUR,
	LBT_LC_ACT, LBT_LC_BCK };

static struct lb_node *
lb_node(const struct server *s)
{
	return &s->be->bst->nodes[s->id - 1];
}

int
lb_usable(const struct server *s)
{
	const struct srv_state *st = s->st;

	return !s->disabled && st->up && !st->agent_down &&
	    st->agent_admin != ADMIN_MAINT && st->admin != ADMIN_MAINT &&
	    lb_node(s)->eweight > 0;
}

int
lb_weight(const struct server *s)
{
	return lb_node(s)->eweight / BE_WEIGHT_SCALE;
}

/* Effective weight: the configured one, scaled by what an agent said
 * (N%, or 0 while draining) and by slowstart after a return to service. */
static int
lb_eweight(const struct server *s)
{
	const struct srv_state *st = s->st;
	long long w = (long long)(st->weight_set ? st->weight : s->weight) *
	    BE_WEIGHT_SCALE;
	int64_t since = loop_now() - st->up_since;

	if (st->agent_admin == ADMIN_DRAIN || st->admin == ADMIN_DRAIN || st->nolb)
		return 0;
	if (st->weight_pct_set)
		w = w * st->weight_pct / 100;
	if (s->slowstart && st->up_since > 0 && since < (int64_t)s->slowstart) {
		w = (w * since + s->slowstart - 1) / s->slowstart;
		if (w < 1 && s->weight)
			w = 1;
	}
	return (int)w;
}

static int
lb_has_slot(const struct server *s)
{
	int max = s->st->agent_maxconn_set ? s->st->agent_maxconn : s->maxconn;

	return max == 0 || s->st->cur < max;
}

/* ---- ordered sets ---- */

static void
lb_tree_insert(struct server *s, int tree, unsigned key)
{
	struct lb_node *n = lb_node(s);

	n->tree = tree;
	n->key = key;
	n->seq = ++s->be->bst->lb_seq;
}

static void
lb_tree_delete(struct server *s)
{
	lb_node(s)->tree = LBT_NONE;
}

/* Is a before b in (key, seq) order? */
static int
lb_before(const struct lb_node *a, const struct lb_node *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static struct server *
lb_tree_first(struct proxy *be, int tree)
{
	struct server *s, *best = NULL;

	for (s = be->srv; s; s = s->next)
		if (lb_node(s)->tree == tree && (best == NULL ||
		    lb_before(lb_node(s), lb_node(best))))
			best = s;
	return best;
}

/* The server following <cur> in (key, seq) order within its set. */
static struct server *
lb_tree_next(struct proxy *be, struct server *cur)
{
	const struct lb_node *c = lb_node(cur);
	struct server *s, *best = NULL;

	for (s = be->srv; s; s = s->next) {
		if (lb_node(s)->tree != c->tree || s == cur || lb_before(lb_node(s), c))
			continue;
		if (best == NULL || lb_before(lb_node(s), lb_node(best)))
			best = s;
	}
	return best;
}

/* Counts and weights of the usable servers, and the first backup. */
static void
lb_recount(struct proxy *be)
{
	struct be_state *b = be->bst;
	struct server *s;

	b->srv_act = b->srv_bck = 0;
	b->tot_wact = b->tot_wbck = 0;
	b->fbck = NULL;
	for (s = be->srv; s; s = s->next) {
		if (!lb_usable(s))
			continue;
		if (s->backup) {	/* allbackups: the whole backup group */
			if (b->fbck == NULL && !(be->options & OPT_ALLBACKUPS))
				b->fbck = s;
			b->srv_bck++;
			b->tot_wbck += lb_node(s)->eweight;
		} else {
			b->srv_act++;
			b->tot_wact += lb_node(s)->eweight;
		}
	}
}

/* ---- roundrobin: FWRR ---- */

static struct fwrr_grp *
lb_rr_grp(struct server *s)
{
	return s->backup ? &s->be->bst->bck : &s->be->bst->act;
}

static void
lb_rr_queue_by_weight(struct server *s, int tree)
{
	lb_tree_insert(s, tree, (unsigned)(SRV_EWGHT_MAX - lb_node(s)->eweight));
}

/* Place a server in the current or next set according to its npos. */
static void
lb_rr_queue_srv(struct server *s)
{
	struct fwrr_grp *g = lb_rr_grp(s);
	struct lb_node *n = lb_node(s);

	if (!lb_usable(s)) {
		lb_tree_delete(s);
	} else if (n->eweight <= 0 || n->npos >= 2 * g->curr_weight ||
	    n->npos >= g->curr_weight + g->next_weight) {
		n->npos -= g->curr_weight;
		lb_rr_queue_by_weight(s, g->next);
	} else {
		lb_tree_insert(s, s->backup ? LBT_BCUR : LBT_ACUR,
		    (unsigned)(SRV_UWGHT_RANGE * n->npos +
		    (unsigned)(SRV_EWGHT_MAX + n->rweight - n->eweight) /
		    BE_WEIGHT_SCALE));
	}
}

/* Prepare a server taken out of its set. */
static void
lb_rr_get_srv(struct server *s)
{
	struct fwrr_grp *g = lb_rr_grp(s);
	struct lb_node *n = lb_node(s);

	if (n->tree == g->init)
		n->npos = n->rweight = 0;
	else if (n->tree == g->next)
		n->npos += g->curr_weight;
	else if (n->tree == LBT_NONE)
		n->npos = g->curr_pos;
}

static void
lb_rr_switch(struct fwrr_grp *g)
{
	int t = g->init;

	g->init = g->next;
	g->next = t;
	g->curr_weight = g->next_weight;
	g->curr_pos = g->curr_weight;
}

static struct server *
lb_rr_from_group(struct proxy *be, struct fwrr_grp *g, int curr)
{
	struct server *s = lb_tree_first(be, curr), *s2;

	if (s == NULL || lb_node(s)->npos > g->curr_pos) {
		if ((s2 = lb_tree_first(be, g->init)) != NULL) {
			s = s2;
			lb_node(s)->npos = lb_node(s)->rweight = 0;
			if (lb_node(s)->eweight == 0)
				s = NULL;
		}
	}
	return s;
}

static void
lb_rr_update_position(struct fwrr_grp *g, struct server *s)
{
	struct lb_node *n = lb_node(s);

	if (!n->npos) {
		n->lpos = g->curr_pos;
		n->npos = g->curr_pos + g->next_weight / n->eweight;
	} else {
		n->lpos = n->npos;
		n->npos += g->next_weight / n->eweight;
	}
	n->rweight += g->next_weight % n->eweight;
	if (n->rweight >= n->eweight) {
		n->rweight -= n->eweight;
		n->npos++;
	}
}

/* Put back the servers a pick found full. */
static void
lb_rr_requeue_full(struct server *full, struct server *picked,
    struct fwrr_grp *g, int switched)
{
	while (full) {
		struct server *nf = lb_node(full)->next_full;

		if (full != picked) {
			if (switched)
				lb_rr_queue_by_weight(full, g->init);
			else
				lb_rr_queue_srv(full);
		}
		full = nf;
	}
}

static struct server *
lb_rr_pick(struct proxy *be, struct server *avoid)
{
	struct be_state *b = be->bst;
	struct server *srv, *full = NULL, *avoided = NULL;
	struct fwrr_grp *g;
	int curr, switched = 0;

	if (b->srv_act) {
		g = &b->act;
		curr = LBT_ACUR;
	} else if (b->fbck)
		return lb_has_slot(b->fbck) ? b->fbck : NULL;
	else if (b->srv_bck) {
		g = &b->bck;
		curr = LBT_BCUR;
	} else
		return NULL;
	for (;;) {
		if (!g->curr_weight)
			g->curr_pos = g->curr_weight = g->next_weight;
		while ((srv = lb_rr_from_group(be, g, curr)) == NULL) {
			if (switched) {
				/* everything is full but the one to avoid */
				if ((srv = avoided) != NULL)
					break;
				lb_rr_requeue_full(full, NULL, g, switched);
				return NULL;
			}
			switched = 1;
			lb_rr_switch(g);
		}
		lb_rr_update_position(g, srv);
		lb_tree_delete(srv);
		g->curr_pos++;
		if (lb_has_slot(srv)) {
			if (srv != avoid || avoided)
				break;
			avoided = srv;
		}
		lb_node(srv)->next_full = full;
		full = srv;
	}
	lb_rr_queue_srv(srv);
	lb_rr_requeue_full(full, srv, g, switched);
	return srv;
}

static void
lb_rr_init(struct proxy *be)
{
	struct be_state *b = be->bst;
	struct server *s;

	b->act.curr_pos = b->act.curr_weight = b->act.next_weight = b->tot_wact;
	b->act.init = LBT_A0;
	b->act.next = LBT_A1;
	b->bck.curr_pos = b->bck.curr_weight = b->bck.next_weight = b->tot_wbck;
	b->bck.init = LBT_B0;
	b->bck.next = LBT_B1;
	for (s = be->srv; s; s = s->next)
		if (lb_usable(s))
			lb_rr_queue_by_weight(s, s->backup ? b->bck.init : b->act.init);
}

/* A server's usable state or effective weight changed (prev_* hold the
 * values before). */
static void
lb_rr_update(struct server *s)
{
	struct fwrr_grp *g = lb_rr_grp(s);
	struct lb_node *n = lb_node(s);
	int usable = lb_usable(s), was = n->prev_usable, prev_next, step;

	if (was && !usable) {
		g->next_weight -= n->prev_eweight;
		lb_tree_delete(s);
	} else if (!was && usable) {
		g->next_weight += n->eweight;
		lb_rr_get_srv(s);
		n->npos = g->curr_pos + (g->next_weight + g->curr_weight -
		    g->curr_pos) / n->eweight;
		lb_rr_queue_srv(s);
	} else if (usable) {
		g->next_weight = g->next_weight - n->prev_eweight + n->eweight;
		if (n->tree == g->init) {
			lb_tree_delete(s);
			lb_rr_queue_by_weight(s, g->init);
			return;
		}
		prev_next = n->npos;
		lb_rr_get_srv(s);
		step = g->next_weight / n->eweight;
		n->npos = n->lpos + step;
		n->rweight = 0;
		if (n->npos > prev_next)
			n->npos = prev_next;
		if (n->npos < g->curr_pos + 2)
			n->npos = g->curr_pos + step;
		lb_tree_delete(s);
		lb_rr_queue_srv(s);
	}
}

/* ---- leastconn: FWLC ---- */

static unsigned
lb_lc_key(const struct server *s)
{
	unsigned inflight = (unsigned)s->st->cur;

	return inflight ? (inflight + 1) * SRV_EWGHT_MAX /
	    (unsigned)lb_node(s)->eweight : 0;
}

static void
lb_lc_init(struct proxy *be)
{
	struct server *s;

	for (s = be->srv; s; s = s->next)
		if (lb_usable(s))
			lb_tree_insert(s, s->backup ? LBT_LC_BCK : LBT_LC_ACT,
			    lb_lc_key(s));
}

static void
lb_lc_update(struct server *s)
{
	lb_tree_delete(s);
	if (lb_usable(s))
		lb_tree_insert(s, s->backup ? LBT_LC_BCK : LBT_LC_ACT, lb_lc_key(s));
}

/* leastconn keeps its order by in-flight count: reposition on change,
 * but only when the key really moves (ties keep their place). */
static void
lb_lc_taken(struct server *s)
{
	unsigned key;

	if (lb_node(s)->tree == LBT_NONE)
		return;
	key = lb_lc_key(s);
	if (key != lb_node(s)->key)
		lb_tree_insert(s, lb_node(s)->tree, key);
}

static struct server *
lb_lc_pick(struct proxy *be, struct server *avoid)
{
	struct be_state *b = be->bst;
	struct server *s, *avoided = NULL;
	int tree;

	if (b->srv_act)
		tree = LBT_LC_ACT;
	else if (b->fbck)
		return lb_has_slot(b->fbck) ? b->fbck : NULL;
	else if (b->srv_bck)
		tree = LBT_LC_BCK;
	else
		return NULL;
	for (s = lb_tree_first(be, tree); s; s = lb_tree_next(be, s)) {
		if (!lb_has_slot(s))
			continue;
		if (s != avoid)
			return s;
		avoided = s;
	}
	return avoided;
}

/* ---- first ---- */

static void
lb_nop(struct proxy *be)
{
	(void)be;
}

static void
lb_nop_srv(struct server *s)
{
	(void)s;
}

static struct server *
lb_first_pick(struct proxy *be, struct server *avoid)
{
	struct server *s, *avoided = NULL;
	int backup = be->bst->srv_act == 0;

	for (s = be->srv; s; s = s->next) {
		if (!lb_usable(s) || s->backup != backup || !lb_has_slot(s))
			continue;
		if (s != avoid)
			return s;
		avoided = s;
	}
	return avoided;
}

/* What "balance" accepts; the first is the default. */
static const struct lb_ops lb_algos[] = {
	{ "roundrobin", lb_rr_init, lb_rr_update, lb_rr_pick, lb_nop_srv, lb_nop_srv },
	{ "leastconn", lb_lc_init, lb_lc_update, lb_lc_pick, lb_lc_taken, lb_lc_taken },
	{ "first", lb_nop, lb_nop_srv, lb_first_pick, lb_nop_srv, lb_nop_srv },
};

static int
lb_is_rr(const struct proxy *be)
{
	return be->lb == &lb_algos[0];
}

void
lb_init(struct proxy *be)
{
	struct server *s;

	for (s = be->srv; s; s = s->next) {
		struct lb_node *n = lb_node(s);

		n->eweight = lb_eweight(s);
		n->prev_eweight = n->eweight;
		n->prev_usable = lb_usable(s);
		n->tree = LBT_NONE;
		n->npos = n->lpos = n->rweight = 0;
	}
	lb_recount(be);
	be->lb->init(be);
}

void
lb_update(struct server *s)
{
	struct lb_node *n = lb_node(s);
	struct be_state *b = s->be->bst;

	n->eweight = lb_eweight(s);
	if (lb_usable(s) == n->prev_usable && n->eweight == n->prev_eweight)
		return;
	s->be->lb->update(s);
	n->prev_usable = lb_usable(s);
	n->prev_eweight = n->eweight;
	lb_recount(s->be);
	if (lb_is_rr(s->be)) {
		b->act.next_weight = b->tot_wact;
		b->bck.next_weight = b->tot_wbck;
	}
}

void
lb_taken(struct server *s)
{
	s->be->lb->taken(s);
}

void
lb_released(struct server *s)
{
	s->be->lb->released(s);
}

struct server *
lb_pick(struct proxy *be, struct server *avoid)
{
	return be->lb->pick(be, avoid);
}
/*==== end lb ====*/

/*==== begin cfg ====*/
/*
 * The configuration, in HAProxy's syntax.  A line is split into words
 * (HAProxy's quoting and escapes), its first word looked up in the
 * section's keyword table (HAProxy's cfg_kw_list), and handled by the
 * entry: a value stored at an offset (flags, ranged integers, times,
 * strings), a parser function, or a keyword accepted without effect or
 * refused, each with the reason (waxlb -vv prints them).  Every error is
 * "file:line: message" and parsing goes on to find them all; then cross
 * references and TLS material are resolved.  The result is immutable: the
 * runtime links it to its own state once (srv_bind) and never writes it.
 */

enum { SEC_NONE, SEC_GLOBAL, SEC_DEFAULTS, SEC_PROXY, SEC_USERLIST, SEC_ERRORS,
	SEC_IGNORED };

/* Parser state for one input. */
struct cfgp {
	struct config	*c;
	struct u_err	 err;		/* file, line and error count */
	int		 section;	/* SEC_* */
	struct proxy	*cur;		/* current proxy section */
	struct proxy	*defaults;	/* latest defaults section */
	struct userlist	*ul;		/* current userlist section */
	struct http_errors *errsec;	/* current http-errors section */
	int		 no;		/* the line started with "no" */
	char		 secname[128];	/* .SECTION: the latest section's name */
};

#define cfg_err(p, ...)		u_err(&(p)->err, __VA_ARGS__)
#define cfg_warn(p, ...)	u_warn(&(p)->err, __VA_ARGS__)

/* How an entry is handled. */
enum {
	KW_FN,		/* fn(p, obj, args, n) */
	KW_FLAG,	/* int at off = lo */
	KW_INT,		/* int at off, from one value in [lo, hi] */
	KW_TIME,	/* unsigned ms at off, at least lo */
	KW_STR,		/* string at off */
	KW_OPT,		/* proxy option bit lo ("no option" clears it) */
	KW_IGN,		/* accepted without effect, with a warning */
	KW_IGN_ARG,	/* the same, with a value */
	KW_QUIET,	/* accepted without effect nor warning: already true */
	KW_NO,		/* refused */
};

/* Where a proxy keyword may appear (need_cap in HAProxy). */
#define PK_NODEF	0x01	/* an error in defaults */
#define PK_DEFSKIP	0x02	/* silently skipped in defaults */
#define PK_FE		0x04	/* needs the frontend capability... */
#define PK_BE		0x08	/* ...or the backend one: else ignored, warned */
#define PK_STRICT	0x10	/* a missing capability is an error */

struct cfg_kw {
	const char	*name;
	unsigned char	 kind;		/* KW_* */
	unsigned char	 where;		/* PK_*, proxy keywords only */
	unsigned short	 off;		/* of the field, in the keyword's object */
	int		 lo, hi;
	int		(*fn)(struct cfgp *p, void *obj, char **args, int n);
	const char	*text;		/* what a value must be; or why ignored */
};

#define CFG_FN(name, where, fn)	{ name, KW_FN, where, 0, 0, 0, fn, NULL }
#define CFG_IGN(name, why)	{ name, KW_IGN, 0, 0, 0, 0, NULL, why }
#define CFG_IGNA(name, why)	{ name, KW_IGN_ARG, 0, 0, 0, 0, NULL, why }
/* ignored, after fn has checked the value (and warned) */
#define CFG_IGNF(name, fn, why)	{ name, KW_IGN, 0, 0, 0, 0, fn, why }
#define CFG_QUIET(name, why)	{ name, KW_QUIET, 0, 0, 0, 0, NULL, why }
/* Refused, with what to use instead; lo = 1: "no option NAME" too. */
#define CFG_NO(name, msg)	{ name, KW_NO, 0, 0, 0, 0, NULL, msg }
#define CFG_NO_ALWAYS(name, msg)	{ name, KW_NO, 0, 0, 1, 0, NULL, msg }

static const struct cfg_kw *
cfg_kw_find(const struct cfg_kw *tab, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

/* The entry for args[1] of a line whose second word is a keyword of
 * <tab> ("option NAME", "stats NAME"...); NULL after an error. */
static const struct cfg_kw *
cfg_sub_kw(struct cfgp *p, const struct cfg_kw *tab, size_t ntab, char **args,
    int n, const char *missing, const char *unknown)
{
	const struct cfg_kw *kw;

	if (n < 2) {
		cfg_err(p, "%s", missing);
		return NULL;
	}
	if ((kw = cfg_kw_find(tab, ntab, args[1])) == NULL)
		cfg_err(p, unknown, args[1]);
	return kw;
}

/* Store a value keyword's value into obj; -1 when it is missing or bad. */
static int
cfg_kw_store(struct cfgp *p, const struct cfg_kw *kw, void *obj, const char *val)
{
	char *field = (char *)obj + kw->off;
	long long v;
	unsigned t;

	switch (kw->kind) {
	case KW_FLAG:
		*(int *)field = (int)kw->lo;
		return 0;
	case KW_INT:
		if (val == NULL || u_parse_int(val, kw->lo, kw->hi, &v) < 0)
			return -1;
		*(int *)field = (int)v;
		return 0;
	case KW_TIME:
		if (val == NULL || u_parse_time(val, &t) < 0 || (long long)t < kw->lo)
			return -1;
		*(unsigned *)field = t;
		return 0;
	case KW_STR:
		if (val == NULL)
			return -1;
		*(char **)field = u_strdup(p->c->arena, val);
		return 0;
	}
	return -1;
}

/* A whole line "KEYWORD [VALUE]" of a global or proxy table.  <what>
 * names ignored keywords in warnings ("global '%s'" or "'%s'"). */
static void
cfg_kw_line(struct cfgp *p, const struct cfg_kw *kw, void *obj, char **args,
    int n, const char *what)
{
	char name[300];

	switch (kw->kind) {
	case KW_FN:
		kw->fn(p, obj, args, n);
		return;
	case KW_IGN:
	case KW_IGN_ARG:
		if (kw->fn) {	/* it checks its value and says why it is ignored */
			kw->fn(p, obj, args, n);
			return;
		}
		snprintf(name, sizeof(name), what, args[0]);
		cfg_warn(p, "%s is ignored by waxlb", name);
		return;
	case KW_QUIET:
		return;
	case KW_NO:
		cfg_err(p, "%s", kw->text);
		return;
	case KW_FLAG:
		cfg_kw_store(p, kw, obj, NULL);
		return;
	}
	if (n != 2 || cfg_kw_store(p, kw, obj, args[1]) < 0)
		cfg_err(p, "'%s' expects %s", args[0], kw->text);
}

/* A backslash escape at **pp (on the backslash): the byte it stands for
 * goes to **o; *pp is left on the escape's last character. */
static int
cfg_unescape(const char **pp, char **o, const char **errmsg)
{
	const char *p = *pp + 1;

	switch (*p) {
	case 0:
		*errmsg = "backslash at end of line";
		return -1;
	case 't': *(*o)++ = '\t'; break;
	case 'r': *(*o)++ = '\r'; break;
	case 'n': *(*o)++ = '\n'; break;
	case 'x':
		if (u_hexval(p[1]) < 0 || u_hexval(p[2]) < 0) {
			*errmsg = "invalid \\x escape";
			return -1;
		}
		*(*o)++ = (char)(u_hexval(p[1]) * 16 + u_hexval(p[2]));
		p += 2;
		break;
	case ' ': case '\\': case '#': case '\'': case '"':
		*(*o)++ = *p;
		break;
	default:	/* "\1", "\.": left as they are, for regexes */
		*(*o)++ = '\\';
		p--;
	}
	*pp = p;
	return 0;
}

/* A line being split: where words go, and where the line is (for the
 * pseudo-variables and for error positions). */
struct cfg_tok {
	const char		*line;
	char			*o, *end;
	char			**args;
	int			 n, maxargs;
	const struct cfg_pos	*pos;
	const char		**errmsg;
};

/* An error at <at> in the line, worded and positioned as HAProxy's. */
static int
cfg_tok_err(struct cfg_tok *t, const char *what, const char *at)
{
	static char msg[128];

	snprintf(msg, sizeof(msg), "%s at position %d", what,
	    (int)(at - t->line) + 1);
	*t->errmsg = msg;
	return -1;
}

/* Append v[0..len); with <expand> ("${NAME[*]}") blanks split words. */
static int
cfg_tok_emit(struct cfg_tok *t, const char *v, size_t len, int expand)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (t->o >= t->end - 4) {
			*t->errmsg = "line too long";
			return -1;
		}
		if (!expand || !isspace((unsigned char)v[i])) {
			*t->o++ = v[i];
			continue;
		}
		*t->o++ = 0;
		if (t->n == t->maxargs) {
			*t->errmsg = "too many words on the line";
			return -1;
		}
		t->args[t->n++] = t->o;
		while (i + 1 < len && isspace((unsigned char)v[i + 1]))
			i++;
	}
	return 0;
}

/* The value of a pseudo-variable (".FILE", ".LINE", ".SECTION"), or NULL
 * when the name is not one. */
static const char *
cfg_tok_pseudo(const struct cfg_tok *t, const char *name, char *num, size_t sz)
{
	const struct cfg_pos *pos = t->pos;

	if (strcmp(name, ".LINE") == 0) {
		snprintf(num, sz, "%d", pos ? pos->line : 0);
		return num;
	}
	if (strcmp(name, ".FILE") == 0)
		return pos && pos->file ? pos->file : "";
	if (strcmp(name, ".SECTION") == 0)
		return pos && pos->section ? pos->section : "";
	return NULL;
}

/* "$NAME", "${NAME}", "${NAME-default}", "${NAME[*]}" at *pp (the '$'),
 * inside double quotes, as HAProxy's parse_line(): an unset variable
 * expands to nothing, or to the default (an empty one stays empty).
 * *pp is left on the expansion's last character. */
static int
cfg_tok_env(struct cfg_tok *t, const char **pp)
{
	const char *p = *pp + 1, *brace = NULL, *name, *value, *dflt = NULL, *ex;
	char vname[256], num[24];
	size_t len;

	if (*p == '{')
		brace = p++;
	if (!isalpha((unsigned char)*p) && *p != '_' && *p != '.')
		return cfg_tok_err(t, "forbidden first char in environment variable "
		    "name", p);
	name = p;
	p += *p == '.';
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if ((len = (size_t)(p - name)) >= sizeof(vname))
		return cfg_tok_err(t, "environment variable name too long", name);
	memcpy(vname, name, len);
	vname[len] = 0;
	value = *name == '.' ? cfg_tok_pseudo(t, vname, num, sizeof(num)) :
	    getenv(vname);
	if (*name == '.' && value == NULL)
		return cfg_tok_err(t, "forbidden first char in environment variable "
		    "name", name);
	if ((ex = *p == '[' && brace ? p++ : NULL) != NULL &&
	    (*p++ != '*' || *p++ != ']'))
		return cfg_tok_err(t, "truncated or invalid word expansion sequence",
		    ex);
	if (brace) {
		if (*p == '-')
			for (dflt = ++p; *p && *p != '}'; p++)
				;
		if (*p != '}')
			return cfg_tok_err(t, "unmatched brace in environment variable "
			    "name", brace);
		p++;
	}
	*pp = p - 1;
	if (value == NULL && dflt)
		return cfg_tok_emit(t, dflt, (size_t)(p - 1 - dflt), ex != NULL);
	return value ? cfg_tok_emit(t, value, strlen(value), ex != NULL) : 0;
}

/* One character of a word at *pp, in quote state *q. */
static int
cfg_tok_char(struct cfg_tok *t, const char **pp, int *q)
{
	const char *p = *pp;

	if (*q == '"' && *p == '\\' && p[1] == '$') {
		*pp = p + 1;
		return cfg_tok_emit(t, "$", 1, 0);
	}
	if (*q == '"' && *p == '$')
		return cfg_tok_env(t, pp);
	if (*q != '\'' && *p == '\\')
		return cfg_unescape(pp, &t->o, t->errmsg);
	if (*q == 0 && (*p == '"' || *p == '\''))
		*q = *p;
	else if (*q != 0 && *p == *q)
		*q = 0;
	else
		*t->o++ = *p;
	return 0;
}

/*
 * Split a line into words as HAProxy does: blanks separate words, '#'
 * starts a comment, double quotes keep blanks and honour backslash
 * escapes and environment variables, single quotes keep everything
 * literally, and outside quotes a backslash escapes the next character
 * (\t \r \n \xHH understood).  <pos> (may be NULL) gives .FILE, .LINE and
 * .SECTION.  Words are written into <out>; returns the word count or -1.
 */
int
cfg_tokenize(const char *line, char *out, size_t outlen, char **args,
    int maxargs, const struct cfg_pos *pos, const char **errmsg)
{
	struct cfg_tok t = { line, out, out + outlen - 1, args, 0, maxargs, pos,
	    errmsg };
	const char *p = line;
	int q = 0, inword = 0;

	for (; *p; p++) {
		if (q == 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
			if (inword)
				*t.o++ = 0;
			inword = 0;
			continue;
		}
		if (q == 0 && *p == '#')
			break;
		if (!inword) {
			if (t.n == maxargs) {
				*errmsg = "too many words on the line";
				return -1;
			}
			args[t.n++] = t.o;
			inword = 1;
		}
		if (t.o >= t.end - 4) {
			*errmsg = "line too long";
			return -1;
		}
		if (cfg_tok_char(&t, &p, &q) < 0)
			return -1;
	}
	if (q != 0) {
		*errmsg = q == '"' ? "unmatched double quote" :
		    "unmatched single quote";
		return -1;
	}
	if (inword)
		*t.o++ = 0;
	return t.n;
}

/* ---- proxies ---- */

/* A proxy's error-page directives start with its defaults section's. */
static void
cfg_errconf_copy(struct cfgp *p, struct proxy *px, const struct proxy *d)
{
	struct err_conf **tail = &px->errconf;
	const struct err_conf *ec;

	for (ec = d->errconf; ec; ec = ec->next) {
		*tail = u_alloc(p->c->arena, sizeof(**tail));
		**tail = *ec;
		(*tail)->next = NULL;
		tail = &(*tail)->next;
	}
}

/* A fresh proxy starts as a copy of the latest defaults section. */
static struct proxy *
cfg_proxy_new(struct cfgp *p, const char *name, int cap)
{
	struct proxy *px = u_alloc(p->c->arena, sizeof(*px));
	const struct proxy *d = p->defaults;

	if (d) {
		px->mode = d->mode;
		px->http_mode = d->http_mode;
		memcpy(px->timeout, d->timeout, sizeof(px->timeout));
		px->options = d->options;
		px->maxconn = d->maxconn;
		px->backlog = d->backlog;
		px->rate_sess = d->rate_sess;
		px->hdr_names = d->hdr_names;
		memcpy(px->tcpka_cnt, d->tcpka_cnt, sizeof(px->tcpka_cnt));
		memcpy(px->tcpka_idle, d->tcpka_idle, sizeof(px->tcpka_idle));
		memcpy(px->tcpka_intvl, d->tcpka_intvl, sizeof(px->tcpka_intvl));
		px->retries = d->retries;
		px->retry_on = d->retry_on;
		px->reuse = d->reuse;
		px->lb = d->lb;
		px->defsrv = d->defsrv;
		px->chk = d->chk;
		px->chk.nconnect = 0;
		px->log_global = d->log_global;
		px->logs = d->logs;
		px->stats_enable = d->stats_enable;
		px->stats_uri = d->stats_uri;
		px->stats_refresh = d->stats_refresh;
		memcpy(px->stats_auth, d->stats_auth, sizeof(px->stats_auth));
		px->nstats_auth = d->nstats_auth;
		px->stats_realm = d->stats_realm;
		px->monitor_uri = d->monitor_uri;
		px->state_load = d->state_load;
		px->state_name = d->state_name;
		px->stats_flags = d->stats_flags;
		px->stats_node = d->stats_node;
		px->stats_desc = d->stats_desc;
		px->stats_scope = d->stats_scope;
		px->nstats_scope = d->nstats_scope;
		px->default_be_name = d->default_be_name;
		px->default_be_file = d->default_be_file;
		px->default_be_line = d->default_be_line;
		px->logfmt_src = d->logfmt_src;
		px->sd_src = d->sd_src;
		px->sd_file = d->sd_file;
		px->sd_line = d->sd_line;
		px->logfmt_file = d->logfmt_file;
		px->logfmt_line = d->logfmt_line;
		px->uid_src = d->uid_src;
		px->uid_file = d->uid_file;
		px->uid_line = d->uid_line;
		px->uid_hdr = d->uid_hdr;
		memcpy(px->fwd_name, d->fwd_name, sizeof(px->fwd_name));
		memcpy(px->fwd_except, d->fwd_except, sizeof(px->fwd_except));
		memcpy(px->fwd_has_except, d->fwd_has_except, sizeof(px->fwd_has_except));
		px->errlog_src = d->errlog_src;
		px->errlog_file = d->errlog_file;
		px->errlog_line = d->errlog_line;
		px->log_tag = d->log_tag;
		px->inspect_delay = d->inspect_delay;
		cfg_errconf_copy(p, px, d);
	} else {
		px->mode = MODE_TCP;	/* HAProxy's default mode */
		px->http_mode = HTTP_KAL;
		px->retries = 3;
		px->retry_on = RE_CONN;
		px->reuse = REUSE_SAFE;
		px->lb = &lb_algos[0];
		px->defsrv.inter = 2000;
		px->defsrv.rise = 2;
		px->defsrv.fall = 3;
		px->defsrv.weight = 1;
	}
	px->name = u_strdup(p->c->arena, name ? name : "");
	px->cap = cap;
	px->file = u_strdup(p->c->arena, p->err.file);
	px->line = p->err.line;
	return px;
}

struct proxy *
cfg_find_proxy(const struct config *c, const char *name, int cap)
{
	struct proxy *px;

	for (px = c->proxies; px != NULL; px = px->next)
		if ((px->cap & cap) && strcmp(px->name, name) == 0)
			return px;
	return NULL;
}

static const char *
cfg_section_name(const struct cfgp *p, const struct proxy *px)
{
	return p->section == SEC_DEFAULTS ? "defaults" :
	    px->cap == (CAP_FE | CAP_BE) ? "listen" :
	    px->cap == CAP_FE ? "frontend" : "backend";
}

/* Whether a keyword with these PK_* flags applies here; warns or errs
 * as HAProxy does when it does not. */
static int
cfg_kw_allowed(struct cfgp *p, const struct cfg_kw *kw, struct proxy *px)
{
	int cap = (kw->where & PK_FE ? CAP_FE : 0) | (kw->where & PK_BE ? CAP_BE : 0);

	if (p->section == SEC_DEFAULTS) {
		if ((kw->where & PK_NODEF) && kw->text)
			cfg_err(p, "%s", kw->text);
		else if (kw->where & PK_NODEF)
			cfg_err(p, "'%s' not allowed in a defaults section", kw->name);
		return !(kw->where & (PK_NODEF | PK_DEFSKIP));
	}
	if (cap == 0 || (px->cap & cap))
		return 1;
	if (kw->where & PK_STRICT)
		cfg_err(p, "'%s' not allowed in a %s section", kw->name,
		    cfg_section_name(p, px));
	else
		cfg_warn(p, "'%s' ignored because proxy '%s' has no %s capability",
		    kw->name, px->name, cap == CAP_FE ? "frontend" : "backend");
	return 0;
}

/* The context of acl and rule parsers for the current proxy. */
static struct rule_pctx
cfg_rule_pctx(struct cfgp *p, struct proxy *px, int set)
{
	struct rule_pctx rc = { { &p->err, p->c->arena, p->c }, px, set,
	    p->c->bufsize };

	return rc;
}

/* ---- cipher lists (ciph reads them as OpenSSL does) ---- */

/* A listener's cipher list, checked where it is written: an error when
 * nothing in it is usable, a warning for unknown words and for suites
 * named in full that BearSSL lacks (what aliases bring in and BearSSL
 * lacks is left out quietly). */
static int
cfg_ciphers_check(struct cfgp *p, const char *kw, const char *list)
{
	struct ciph_sel s;
	int r = ciph_select(list, &s);

	if (r < 0)
		cfg_err(p, "invalid cipher list '%s': %s", list, s.err);
	else if (r == 0)
		cfg_err(p, "no usable cipher in '%s': %s", list, s.err);
	else if (s.warn[0])
		cfg_warn(p, "%s: %s", kw, s.warn);
	return r > 0 ? 0 : -1;
}

/* A cipher list waxlb ignores: for servers (HAProxy reads it only for
 * "ssl" servers) or TLS 1.3 suites (names checked loosely: TLS_*).  What
 * OpenSSL would refuse is only a warning. */
static void
cfg_ciphers_ignored(struct cfgp *p, const char *what, const char *list)
{
	const char *why = strstr(what, "server") ? "no TLS towards servers" :
	    "BearSSL has no TLS 1.3";
	struct ciph_sel s;
	char bad[48];

	if (strstr(what, "suites") && ciph_suites13(list, bad, sizeof(bad)) < 0)
		cfg_warn(p, "%s is ignored by waxlb (%s); '%s' is not a TLS 1.3 "
		    "suite name", what, why, bad);
	else if (!strstr(what, "suites") && ciph_select(list, &s) < 0)
		cfg_warn(p, "%s is ignored by waxlb (%s); OpenSSL would refuse '%s': "
		    "%s", what, why, list, s.err);
	else
		cfg_warn(p, "%s is ignored by waxlb (%s)", what, why);
}

/* ---- server lines ---- */

static int
cfg_srv_marked(struct cfgp *p, void *obj, char **args, int n)
{
	struct srv_defaults *d = obj;
	int down = args[0][10] == 'd';
	const char *want = down ? "shutdown-sessions" : "shutdown-backup-sessions";

	if (n < 2 || strcmp(args[1], want) != 0) {
		cfg_err(p, "'%s' expects '%s'", args[0], want);
		return -1;
	}
	if (down)
		d->on_down_kill = 1;
	else
		d->on_up_kill_bck = 1;
	return 1;
}

/* proto NAME: h1 is what waxlb speaks to servers anyway. */
static int
cfg_srv_proto(struct cfgp *p, void *obj, char **args, int n)
{
	(void)obj;
	if (n < 2) {
		cfg_err(p, "server option 'proto' expects a value");
		return -1;
	}
	if (strcmp(args[1], "h1") != 0) {
		cfg_err(p, "server option 'proto %s' is not supported: waxlb speaks "
		    "HTTP/1.1 to servers; remove it or use 'proto h1'", args[1]);
		return -1;
	}
	return 1;
}

/* pool-max-conn, max-reuse: -1 or more; pool-purge-delay: a time. */
static int
cfg_srv_pool(struct cfgp *p, void *obj, char **args, int n)
{
	struct srv_defaults *d = obj;
	long long v;
	unsigned t;

	if (args[0][0] == 'p' && args[0][5] == 'p') {
		if (n < 2 || u_parse_time(args[1], &t) < 0) {
			cfg_err(p, "'%s' expects a time, got '%s'", args[0],
			    n < 2 ? "" : args[1]);
			return -1;
		}
		d->pool_purge = t;
		d->pool_purge_set = 1;
		return 1;
	}
	if (n < 2 || u_parse_int(args[1], -1, INT_MAX, &v) < 0) {
		cfg_err(p, "'%s' expects -1 or a positive integer, got '%s'", args[0],
		    n < 2 ? "" : args[1]);
		return -1;
	}
	if (args[0][0] == 'p') {
		d->pool_max = (int)v;
		d->pool_max_set = 1;
	} else {
		d->max_reuse = (int)v;
		d->max_reuse_set = 1;
	}
	return 1;
}

/* server "ciphers" / "ciphersuites": a value checked, then ignored */
static int
cfg_srv_ciphers(struct cfgp *p, void *obj, char **args, int n)
{
	(void)obj;
	if (n < 2) {
		cfg_err(p, "server option '%s' expects a value", args[0]);
		return -1;
	}
	cfg_ciphers_ignored(p, args[0][7] ? "server option 'ciphersuites'" :
	    "server option 'ciphers'", args[1]);
	return 1;
}

#define SD(f)	offsetof(struct srv_defaults, f)
#define SRV_NO(name, why)	CFG_NO(name, "server option '" name "' is not " \
	"supported: " why)
static const struct cfg_kw cfg_srv_kws[] = {
	{ "check",		KW_FLAG, 0, SD(check), 1, 0, NULL, NULL },
	{ "no-check",		KW_FLAG, 0, SD(check), 0, 0, NULL, NULL },
	{ "backup",		KW_FLAG, 0, SD(backup), 1, 0, NULL, NULL },
	{ "no-backup",		KW_FLAG, 0, SD(backup), 0, 0, NULL, NULL },
	{ "disabled",		KW_FLAG, 0, SD(disabled), 1, 0, NULL, NULL },
	{ "enabled",		KW_FLAG, 0, SD(disabled), 0, 0, NULL, NULL },
	{ "agent-check",	KW_FLAG, 0, SD(agent), 1, 0, NULL, NULL },
	{ "no-agent-check",	KW_FLAG, 0, SD(agent), 0, 0, NULL, NULL },
	{ "inter",		KW_TIME, 0, SD(inter), 1, 0, NULL, "a positive time" },
	{ "fastinter",		KW_TIME, 0, SD(fastinter), 1, 0, NULL, "a positive time" },
	{ "downinter",		KW_TIME, 0, SD(downinter), 1, 0, NULL, "a positive time" },
	{ "agent-inter",	KW_TIME, 0, SD(agent_inter), 1, 0, NULL, "a positive time" },
	{ "slowstart",		KW_TIME, 0, SD(slowstart), 0, 0, NULL, "a time" },
	{ "rise",		KW_INT, 0, SD(rise), 1, 1000000, NULL, "an integer >= 1" },
	{ "fall",		KW_INT, 0, SD(fall), 1, 1000000, NULL, "an integer >= 1" },
	{ "weight",		KW_INT, 0, SD(weight), 0, 256, NULL, "an integer 0..256" },
	{ "maxconn",		KW_INT, 0, SD(maxconn), 0, INT_MAX, NULL, "an integer" },
	{ "port",		KW_INT, 0, SD(chk_port), 1, 65535, NULL, "a port number" },
	{ "agent-port",		KW_INT, 0, SD(agent_port), 1, 65535, NULL, "a port number" },
	{ "cookie",		KW_STR, 0, SD(cookie), 0, 0, NULL, "a value" },
	{ "addr",		KW_STR, 0, SD(chk_addr), 0, 0, NULL, "an address" },
	{ "agent-addr",		KW_STR, 0, SD(agent_addr), 0, 0, NULL, "an address" },
	{ "agent-send",		KW_STR, 0, SD(agent_send), 0, 0, NULL, "a string" },
	CFG_FN("on-marked-down", 0, cfg_srv_marked),
	CFG_FN("on-marked-up", 0, cfg_srv_marked),
	SRV_NO("send-proxy", "waxlb never sends the PROXY protocol; remove it "
	    "(servers get the client's address with 'option forwardfor')"),
	SRV_NO("send-proxy-v2", "waxlb never sends the PROXY protocol; remove "
	    "it (servers get the client's address with 'option forwardfor')"),
	SRV_NO("ssl", "waxlb connects to servers in clear; remove it and use "
	    "the server's plain HTTP port"),
	{ "id",			KW_INT, 0, SD(puid), 1, INT_MAX, NULL, "a positive integer" },
	CFG_NO("minconn", "server option 'minconn' is not supported: waxlb has "
	    "no dynamic maxconn; use 'maxconn' alone"),
	CFG_NO("maxqueue", "server option 'maxqueue' is not supported: waxlb "
	    "queues in the backend only; bound the wait with 'timeout queue'"),
	{ "resolvers",		KW_STR, 0, SD(resolvers), 0, 0, NULL, "a resolvers name" },
	{ "init-addr",		KW_STR, 0, SD(init_addr), 0, 0, NULL,
	    "a list of methods" },
	CFG_IGNA("resolve-prefer", "orders run-time DNS answers only; HAProxy's "
	    "start-up resolution ignores it too"),
	CFG_IGNA("on-error", "used only with 'observe', which is refused"),
	CFG_IGNA("error-limit", "used only with 'observe', which is refused"),
	CFG_NO("observe", "server option 'observe' is not supported: waxlb "
	    "judges servers by their health checks only; use 'check' (with "
	    "'inter', 'fall', 'rise')"),
	CFG_FN("pool-max-conn", 0, cfg_srv_pool),
	CFG_FN("pool-purge-delay", 0, cfg_srv_pool),
	CFG_IGNA("sni", "no TLS towards servers"),
	CFG_IGNA("check-sni", "no TLS towards servers"),
	CFG_IGNA("alpn", "no TLS towards servers"),
	CFG_FN("proto", 0, cfg_srv_proto),
	{ "ciphers", KW_IGN_ARG, 0, 0, 0, 0, cfg_srv_ciphers, "no TLS towards servers" },
	{ "ciphersuites", KW_IGN_ARG, 0, 0, 0, 0, cfg_srv_ciphers,
	    "no TLS towards servers" },
	CFG_FN("max-reuse", 0, cfg_srv_pool),
	{ "redir",		KW_STR, 0, SD(redir), 0, 0, NULL, "a prefix" },
	CFG_IGN("tfo", "TCP fast open to servers is not used: the same bytes "
	    "leave one round trip later"),
	CFG_IGN("no-tfo", "TCP fast open to servers is not used already"),
	CFG_NO("check-send-proxy", "server option 'check-send-proxy' is not "
	    "supported: waxlb never sends the PROXY protocol; check a port that "
	    "does not expect it ('port N')"),
	CFG_IGN("non-stick", "no stick tables"),
	CFG_IGN("allow-0rtt", "no TLS towards servers"),
};
#undef SD
#undef SRV_NO

/* Server options from args[0..n) into *d. */
static int
cfg_srv_opts(struct cfgp *p, struct srv_defaults *d, char **args, int n)
{
	int i, r;

	for (i = 0; i < n; i++) {
		const struct cfg_kw *kw = cfg_kw_find(cfg_srv_kws, NELEM(cfg_srv_kws),
		    args[i]);
		const char *val = i + 1 < n ? args[i + 1] : NULL;

		if (kw == NULL) {
			cfg_err(p, "unknown server option '%s'", args[i]);
			return -1;
		}
		if (kw->fn) {	/* KW_FN, or an ignored option checking its value */
			if ((r = kw->fn(p, d, args + i, n - i)) < 0)
				return -1;
			i += r;
			continue;
		}
		switch (kw->kind) {
		case KW_NO:
			cfg_err(p, "%s", kw->text);
			return -1;
		case KW_IGN_ARG:
			if (val == NULL) {
				cfg_err(p, "server option '%s' expects a value", args[i]);
				return -1;
			}
			i++;
			/* FALLTHROUGH */
		case KW_IGN:
			cfg_warn(p, "server option '%s' is ignored by waxlb", kw->name);
			break;
		case KW_FLAG:
			cfg_kw_store(p, kw, d, NULL);
			break;
		default:
			if (cfg_kw_store(p, kw, d, val) < 0) {
				cfg_err(p, "'%s' expects %s, got '%s'", args[i], kw->text,
				    val ? val : "");
				return -1;
			}
			i++;
		}
	}
	return 0;
}

/* Where a server's checks (or agent checks) connect: its address, or the
 * "addr" given, with "port" when given. */
static int
cfg_srv_check_addr(struct cfgp *p, struct server *s, const char *addr,
    int port, int agent)
{
	struct sockaddr_storage *sa = agent ? &s->agent_sa : &s->chk_addr;
	socklen_t *len = agent ? &s->agent_salen : &s->chk_addrlen;
	const char *why;

	*sa = s->addr;
	*len = s->addrlen;
	if (addr) {
		if (net_parse_host(addr, sa, len, &why) < 0) {
			cfg_err(p, "server '%s': invalid %s '%s': %s", s->name,
			    agent ? "agent-addr" : "check address", addr, why);
			return -1;
		}
		if (sa->ss_family == s->addr.ss_family)
			memcpy(&((struct sockaddr_in *)sa)->sin_port,
			    &((const struct sockaddr_in *)&s->addr)->sin_port, 2);
	}
	if (port)
		net_set_port(sa, port);
	return 0;
}

/* The server's fields from the options merged over default-server. */
static void
cfg_srv_apply(struct server *s, const struct srv_defaults *d)
{
	s->check = d->check;
	s->inter = d->inter;
	s->fastinter = d->fastinter ? d->fastinter : d->inter;
	s->downinter = d->downinter ? d->downinter : d->inter;
	s->rise = d->rise;
	s->fall = d->fall;
	s->weight = d->weight;
	s->maxconn = d->maxconn;
	s->backup = d->backup;
	s->disabled = d->disabled;
	s->cookie = d->cookie;
	s->agent = d->agent;
	s->agent_inter = d->agent_inter ? d->agent_inter : d->inter;
	s->agent_send = d->agent_send;
	s->on_down_kill = d->on_down_kill;
	s->on_up_kill_bck = d->on_up_kill_bck;
	s->slowstart = d->slowstart;
	s->pool_max = d->pool_max_set ? d->pool_max : POOL_PER_SRV;
	s->pool_purge = d->pool_purge_set ? d->pool_purge : POOL_IDLE_MS;
	s->max_reuse = d->max_reuse_set ? d->max_reuse : -1;
	s->redir = d->redir;
}

/* One init-addr method for the server's address <text> (known to be
 * well formed): 1 when it gave an address (or none, for "none"), 0 when it
 * did not, -1 when it is not a method. */
static int
cfg_srv_init_method(struct cfgp *p, struct server *s, const char *m,
    const char *host, const char *port, int failed)
{
	char ip[300];
	const char *why;
	unsigned char tmp[16];

	if (strcmp(m, "libc") == 0) {
		snprintf(ip, sizeof(ip), "%s%s%s:%s", strchr(host, ':') ? "[" : "",
		    host, strchr(host, ':') ? "]" : "", port);
		return net_parse_addr(ip, 0, &s->addr, &s->addrlen, &why) == 0;
	}
	if (strcmp(m, "last") == 0)
		return 0;	/* no state file gave one at parse time */
	if (strcmp(m, "none") == 0) {
		memset(&s->addr, 0, sizeof(s->addr));
		s->addrlen = 0;
		s->disabled = 1;	/* HAProxy's MAINT (resolution) */
		if (failed)
			cfg_warn(p, "could not resolve address '%s', disabling server.",
			    host);
		return 1;
	}
	if (inet_pton(AF_INET, m, tmp) != 1 && inet_pton(AF_INET6, m, tmp) != 1)
		return -1;
	snprintf(ip, sizeof(ip), "%s%s%s:%s", strchr(m, ':') ? "[" : "", m,
	    strchr(m, ':') ? "]" : "", port);
	if (net_parse_addr(ip, 0, &s->addr, &s->addrlen, &why) < 0)
		return -1;
	if (failed)
		cfg_warn(p, "could not resolve address '%s', falling back to "
		    "configured address.", host);
	return 1;
}

/* Whether a server address names a host (HAProxy resolves only those
 * with "resolvers"): not an IPv4 or bracketed IPv6 literal. */
static int
cfg_addr_is_name(const char *a)
{
	char host[256];
	const char *colon = strrchr(a, ':');
	size_t len = colon ? (size_t)(colon - a) : strlen(a);
	struct in_addr in;

	if (strncmp(a, "ipv4@", 5) == 0 || strncmp(a, "ipv6@", 5) == 0)
		return cfg_addr_is_name(a + 5);
	if (a[0] == '[' || len >= sizeof(host))
		return a[0] != '[';
	memcpy(host, a, len);
	host[len] = 0;
	return *host && inet_pton(AF_INET, host, &in) != 1;
}

/* The server's address by its init-addr methods (HAProxy's default
 * "last,libc"), tried in order, as HAProxy's srv_iterate_initaddr(). */
static int
cfg_srv_addr(struct cfgp *p, struct server *s, const char *methods)
{
	char list[CFG_LINE_MAX], host[256], *m, *sv = NULL;
	const char *port, *why;
	long long pn;
	int r, failed = 0;

	if (net_split_hostport(s->addr_text, host, sizeof(host), &port, &why) < 0 ||
	    (u_parse_int(port, 1, 65535, &pn) < 0 && (why = "invalid port")) ||
	    ((host[0] == 0 || strcmp(host, "*") == 0) &&
	    (why = "a server needs an address"))) {
		cfg_err(p, "server '%s': invalid address '%s': %s", s->name,
		    s->addr_text, why);
		return -1;
	}
	/* an address literal is the address: HAProxy applies init-addr to
	 * names only */
	if (!cfg_addr_is_name(s->addr_text))
		methods = "libc";
	snprintf(list, sizeof(list), "%s", methods ? methods : "last,libc");
	for (m = strtok_r(list, ",", &sv); m; m = strtok_r(NULL, ",", &sv)) {
		if ((r = cfg_srv_init_method(p, s, m, host, port, failed)) > 0)
			return 0;
		if (r < 0) {
			cfg_err(p, "server '%s': invalid init-addr method '%s' (expected "
			    "last, libc, none or an IP address)", s->name, m);
			return -1;
		}
		failed |= strcmp(m, "last") != 0;
	}
	cfg_err(p, "server '%s': could not resolve address '%s'", s->name, host);
	return -1;
}

static int
cfg_kw_server(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	struct server *s, **tail;
	struct srv_defaults d;

	if (n < 3) {
		cfg_err(p, "'server' expects <name> and <address>");
		return -1;
	}
	for (s = px->srv; s; s = s->next)
		if (strcmp(s->name, args[1]) == 0) {
			cfg_err(p, "server '%s' already defined in backend '%s' (line %d)",
			    args[1], px->name, s->line);
			return -1;
		}
	s = u_alloc(p->c->arena, sizeof(*s));
	s->name = u_strdup(p->c->arena, args[1]);
	s->addr_text = u_strdup(p->c->arena, args[2]);
	s->line = p->err.line;
	s->be = px;
	d = px->defsrv;
	if (cfg_srv_opts(p, &d, args + 3, n - 3) < 0)
		return -1;
	cfg_srv_apply(s, &d);
	if (d.resolvers && cfg_addr_is_name(args[2])) {
		cfg_err(p, "server '%s': 'resolvers' is not supported: waxlb resolves "
		    "'%s' at start-up and at each reload (SIGHUP) only; remove "
		    "'resolvers %s' and reload after DNS changes", args[1], args[2],
		    d.resolvers);
		return -1;
	}
	if (cfg_srv_addr(p, s, d.init_addr) < 0)
		return -1;
	if (cfg_srv_check_addr(p, s, d.chk_addr, d.chk_port, 0) < 0)
		return -1;
	if (s->agent && d.agent_port == 0) {
		cfg_err(p, "server '%s': 'agent-check' needs 'agent-port'", args[1]);
		return -1;
	}
	if (s->agent && cfg_srv_check_addr(p, s, d.agent_addr, d.agent_port, 1) < 0)
		return -1;
	for (tail = &px->srv; *tail; tail = &(*tail)->next)
		;
	*tail = s;
	s->id = ++px->nsrv;
	s->puid = d.puid;
	s->puid_set = d.puid != 0;
	return 0;
}

static int
cfg_kw_default_server(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;

	if (cfg_srv_opts(p, &px->defsrv, args + 1, n - 1) < 0)
		return -1;
	if (px->defsrv.puid) {
		cfg_err(p, "'id' is not allowed on a 'default-server' line");
		px->defsrv.puid = 0;
		return -1;
	}
	return 0;
}

/* ---- bind lines ---- */

/* What the options of one bind line build. */
struct cfg_bind {
	struct tls_conf	*tc;
	int		 ssl;
	struct net_lopts lo;
	int		 maxconn;
};

static int
cfg_tls_ver(const char *v, unsigned *out)
{
	static const struct { const char *name; unsigned ver; } vers[] = {
		{ "TLSv1.0", BR_TLS10 }, { "TLSv1.1", BR_TLS11 }, { "TLSv1.2", BR_TLS12 },
	};
	size_t i;

	for (i = 0; i < NELEM(vers); i++)
		if (strcmp(v, vers[i].name) == 0) {
			*out = vers[i].ver;
			return 0;
		}
	return -1;
}

static void
cfg_tls_floor(unsigned *floor, const char *opt)
{
	unsigned v = strcmp(opt, "no-tlsv10") == 0 ? BR_TLS11 : BR_TLS12;

	if (*floor < v)
		*floor = v;
}

/* The value of a bind option that needs one; NULL after an error. */
static const char *
cfg_bind_val(struct cfgp *p, char **args, int n)
{
	if (n < 2) {
		cfg_err(p, "bind option '%s' expects a value", args[0]);
		return NULL;
	}
	return args[1];
}

static int
cfg_bind_ssl(struct cfgp *p, void *obj, char **args, int n)
{
	(void)p;
	(void)args;
	(void)n;
	((struct cfg_bind *)obj)->ssl = 1;
	return 0;
}

static int
cfg_bind_crt(struct cfgp *p, void *obj, char **args, int n)
{
	struct tls_conf *tc = ((struct cfg_bind *)obj)->tc;
	const char *v = cfg_bind_val(p, args, n);

	if (v == NULL)
		return -1;
	if (tc->ncrt == 16) {
		cfg_err(p, "too many 'crt' on one bind line (16 at most)");
		return -1;
	}
	tc->crt[tc->ncrt++] = u_strdup(p->c->arena, v);
	return 1;
}

static int
cfg_bind_alpn(struct cfgp *p, void *obj, char **args, int n)
{
	struct tls_conf *tc = ((struct cfg_bind *)obj)->tc;
	const char *v = cfg_bind_val(p, args, n), *el, *end;
	size_t ell;

	if (v == NULL)
		return -1;
	for (end = v + strlen(v); u_list_next(&v, end, &el, &ell); ) {
		if (ell == 8 && (memcmp(el, "http/1.1", 8) == 0 ||
		    memcmp(el, "http/1.0", 8) == 0)) {
			if (tc->nalpn < 4)
				tc->alpn[tc->nalpn++] = u_strndup(p->c->arena, el, ell);
		} else
			cfg_warn(p, "alpn '%.*s' is not offered: waxlb speaks HTTP/1.1 "
			    "only", (int)ell, el);
	}
	return 1;
}

static int
cfg_bind_ciphers(struct cfgp *p, void *obj, char **args, int n)
{
	const char *v = cfg_bind_val(p, args, n);

	if (v == NULL || cfg_ciphers_check(p, "ciphers", v) < 0)
		return -1;
	((struct cfg_bind *)obj)->tc->ciphers = u_strdup(p->c->arena, v);
	return 1;
}

static int
cfg_bind_ciphersuites(struct cfgp *p, void *obj, char **args, int n)
{
	const char *v = cfg_bind_val(p, args, n);

	(void)obj;
	if (v == NULL)
		return -1;
	cfg_ciphers_ignored(p, "bind option 'ciphersuites'", v);
	return 1;
}

/* ssl-min-ver / ssl-max-ver */
static int
cfg_bind_ver(struct cfgp *p, void *obj, char **args, int n)
{
	struct tls_conf *tc = ((struct cfg_bind *)obj)->tc;
	const char *v = cfg_bind_val(p, args, n);
	int max = args[0][5] == 'a';
	unsigned ver;

	if (v == NULL)
		return -1;
	if (strcmp(v, "TLSv1.3") == 0 && max) {
		cfg_warn(p, "ssl-max-ver TLSv1.3: BearSSL stops at TLSv1.2");
		return 1;
	}
	if (cfg_tls_ver(v, &ver) < 0) {
		cfg_err(p, "%s '%s': expected TLSv1.0, TLSv1.1 or TLSv1.2 "
		    "(BearSSL has no TLSv1.3)", args[0], v);
		return -1;
	}
	if (max)
		tc->vmax = ver;
	else
		tc->vmin = ver;
	return 1;
}

static int
cfg_bind_strict_sni(struct cfgp *p, void *obj, char **args, int n)
{
	(void)p;
	(void)args;
	(void)n;
	((struct cfg_bind *)obj)->tc->strict_sni = 1;
	return 0;
}

static int
cfg_bind_no_tls(struct cfgp *p, void *obj, char **args, int n)
{
	(void)p;
	(void)n;
	cfg_tls_floor(&((struct cfg_bind *)obj)->tc->vfloor, args[0]);
	return 0;
}

/* force-tlsv1x (bind or ssl-default-bind-options): that version only, as
 * HAProxy's min = max; a later ssl-min-ver/ssl-max-ver moves one end. */
static int
cfg_tls_force(struct cfgp *p, const char *opt, unsigned *vmin, unsigned *vmax)
{
	static const struct { const char *name; unsigned ver; } f[] = {
		{ "force-tlsv10", BR_TLS10 }, { "force-tlsv11", BR_TLS11 },
		{ "force-tlsv12", BR_TLS12 },
	};
	size_t i;

	for (i = 0; i < NELEM(f); i++)
		if (strcmp(opt, f[i].name) == 0) {
			*vmin = *vmax = f[i].ver;
			return 0;
		}
	cfg_err(p, "'%s': BearSSL has no %s; use force-tlsv12 (or ssl-min-ver/"
	    "ssl-max-ver)", opt, strstr(opt, "13") ? "TLSv1.3" : "SSLv3");
	return -1;
}

static int
cfg_bind_force(struct cfgp *p, void *obj, char **args, int n)
{
	struct tls_conf *tc = ((struct cfg_bind *)obj)->tc;

	(void)n;
	return cfg_tls_force(p, args[0], &tc->vmin, &tc->vmax);
}

static int
cfg_bind_prefer_client(struct cfgp *p, void *obj, char **args, int n)
{
	(void)p;
	(void)args;
	(void)n;
	((struct cfg_bind *)obj)->tc->prefer_client = 1;
	return 0;
}

/* A curve list where it is written: HAProxy fails on what OpenSSL
 * refuses; curves BearSSL lacks are a warning. */
static int
cfg_curves_read(struct cfgp *p, const char *kw, const char *list,
    struct ciph_curves *out)
{
	if (ciph_curves(list, out) < 0) {
		cfg_err(p, "%s '%s': %s; known to BearSSL: X25519, P-256 (prime256v1), "
		    "P-384 (secp384r1), P-521 (secp521r1)", kw, list, out->err);
		return -1;
	}
	if (out->warn[0])
		cfg_warn(p, "%s: %s not in BearSSL, skipped", kw, out->warn);
	return 0;
}

/* "curves" and "ecdhe" (which only counts without curves, as in HAProxy) */
static int
cfg_bind_curves(struct cfgp *p, void *obj, char **args, int n)
{
	struct tls_conf *tc = ((struct cfg_bind *)obj)->tc;
	const char *v = cfg_bind_val(p, args, n);

	if (v == NULL || cfg_curves_read(p, args[0], v, args[0][0] == 'c' ?
	    &tc->curves : &tc->ecdhe) < 0)
		return -1;
	return 1;
}

/* An ignored option with a value: the value must be there. */
static int
cfg_bind_ignored_val(struct cfgp *p, void *obj, char **args, int n)
{
	(void)obj;
	if (cfg_bind_val(p, args, n) == NULL)
		return -1;
	cfg_warn(p, "bind option '%s' is ignored by waxlb", args[0]);
	return 1;
}

/* maxconn, backlog, mss */
static int
cfg_bind_int(struct cfgp *p, void *obj, char **args, int n)
{
	struct cfg_bind *b = obj;
	const char *v = cfg_bind_val(p, args, n);
	int mss = args[0][0] == 'm' && args[0][1] == 's';
	long long x;

	if (v == NULL)
		return -1;
	if (u_parse_int(v, mss ? -65535 : 0, mss ? 65535 : INT_MAX, &x) < 0 ||
	    (mss && x == 0)) {
		cfg_err(p, "bind option '%s' expects %s, got '%s'", args[0], mss ?
		    "an MSS with an absolute value between 1 and 65535" :
		    "a positive integer", v);
		return -1;
	}
	if (mss)
		b->lo.mss = (int)x;
	else if (args[0][0] == 'm')
		b->maxconn = (int)x;
	else
		b->lo.backlog = (int)x;
	return 1;
}

/* v4v6, v6only (which wins), defer-accept, tfo, transparent */
static int
cfg_bind_flag(struct cfgp *p, void *obj, char **args, int n)
{
	struct net_lopts *lo = &((struct cfg_bind *)obj)->lo;

	(void)p;
	(void)n;
	if (strcmp(args[0], "v6only") == 0)
		lo->v6only = 1;
	else if (strcmp(args[0], "v4v6") == 0)
		lo->v6only = lo->v6only == 1 ? 1 : 0;
	else if (args[0][0] == 'd')
		lo->defer_accept = 1;
	else if (args[0][1] == 'f')
		lo->tfo = 1;
	else
		lo->transparent = 1;
	return 0;
}

static int
cfg_bind_iface(struct cfgp *p, void *obj, char **args, int n)
{
	const char *v = cfg_bind_val(p, args, n);

	if (v == NULL)
		return -1;
	if (strlen(v) >= 16) {	/* IFNAMSIZ */
		cfg_err(p, "bind option 'interface': '%s' is not an interface name", v);
		return -1;
	}
	((struct cfg_bind *)obj)->lo.iface = u_strdup(p->c->arena, v);
	return 1;
}

#define BIND_NO(name)	{ name, KW_NO, 0, 0, 0, 0, NULL, \
	"bind option '" name "' is not supported by waxlb" }
#define BIND_IGNV(name, why)	{ name, KW_IGN_ARG, 0, 0, 0, 0, \
	cfg_bind_ignored_val, why }
static const struct cfg_kw cfg_bind_kws[] = {
	CFG_FN("ssl", 0, cfg_bind_ssl),
	CFG_FN("crt", 0, cfg_bind_crt),
	CFG_FN("alpn", 0, cfg_bind_alpn),
	CFG_FN("ciphers", 0, cfg_bind_ciphers),
	CFG_FN("ssl-min-ver", 0, cfg_bind_ver),
	CFG_FN("ssl-max-ver", 0, cfg_bind_ver),
	CFG_FN("strict-sni", 0, cfg_bind_strict_sni),
	CFG_FN("no-tlsv10", 0, cfg_bind_no_tls),
	CFG_FN("no-tlsv11", 0, cfg_bind_no_tls),
	{ "ciphersuites", KW_IGN_ARG, 0, 0, 0, 0, cfg_bind_ciphersuites,
	    "TLS 1.3 suites: BearSSL has no TLS 1.3" },
	CFG_FN("curves", 0, cfg_bind_curves),
	CFG_FN("ecdhe", 0, cfg_bind_curves),
	CFG_FN("prefer-client-ciphers", 0, cfg_bind_prefer_client),
	CFG_FN("force-tlsv10", 0, cfg_bind_force),
	CFG_FN("force-tlsv11", 0, cfg_bind_force),
	CFG_FN("force-tlsv12", 0, cfg_bind_force),
	CFG_FN("force-tlsv13", 0, cfg_bind_force),
	CFG_FN("force-sslv3", 0, cfg_bind_force),
	BIND_IGNV("npn", "BearSSL has no NPN: NPN clients get HTTP/1.1 (ALPN works)"),
	CFG_QUIET("no-sslv3", "BearSSL has no SSLv3"),
	CFG_QUIET("no-tls-tickets", "BearSSL 0.6 issues no tickets"),
	CFG_QUIET("no-tlsv13", "BearSSL has no TLS 1.3"),
	BIND_NO("crt-list"), BIND_NO("ca-file"), BIND_NO("verify"),
	BIND_NO("crl-file"),
	CFG_IGNA("name", "labels per-listener stats rows (socket-stats), not made"),
	CFG_IGNA("id", "labels per-listener stats rows (socket-stats), not made"),
	CFG_FN("maxconn", 0, cfg_bind_int),
	CFG_FN("backlog", 0, cfg_bind_int),
	CFG_FN("mss", 0, cfg_bind_int),
	CFG_FN("interface", 0, cfg_bind_iface),
	CFG_FN("v4v6", 0, cfg_bind_flag),
	CFG_FN("v6only", 0, cfg_bind_flag),
	CFG_FN("defer-accept", 0, cfg_bind_flag),
	CFG_FN("tfo", 0, cfg_bind_flag),
	CFG_FN("transparent", 0, cfg_bind_flag),
	CFG_IGNA("process", "one process"),
	CFG_IGNA("thread", "one thread"),
	CFG_IGNA("nice", "listeners have no priorities"),
};
#undef BIND_NO
#undef BIND_IGNV

/* The options of a bind line, args[2..n). */
static int
cfg_bind_opts(struct cfgp *p, struct cfg_bind *b, char **args, int n)
{
	int i, r;

	for (i = 2; i < n; i++) {
		const struct cfg_kw *kw = cfg_kw_find(cfg_bind_kws, NELEM(cfg_bind_kws),
		    args[i]);

		if (kw == NULL) {
			cfg_err(p, "unknown or unsupported bind option '%s'", args[i]);
			return -1;
		}
		if (kw->fn) {
			if ((r = kw->fn(p, b, args + i, n - i)) < 0)
				return -1;
			i += r;
		} else if (kw->kind == KW_NO) {
			cfg_err(p, "%s", kw->text);
			return -1;
		} else if (kw->kind != KW_QUIET) {
			cfg_warn(p, "bind option '%s' is ignored by waxlb", args[i]);
			i += kw->kind == KW_IGN_ARG;
		}
	}
	return 0;
}

/* One address of a bind line. */
static int
cfg_bind_addr(struct cfgp *p, struct proxy *px, const char *a,
    const struct cfg_bind *bc)
{
	struct bind_conf *b = u_alloc(p->c->arena, sizeof(*b)), **tail;
	const char *why;

	if (a[0] == '/' || strncmp(a, "unix@", 5) == 0 ||
	    strncmp(a, "abns@", 5) == 0 || strncmp(a, "fd@", 3) == 0) {
		cfg_err(p, "bind '%s': only IPv4 and IPv6 addresses are supported", a);
		return -1;
	}
	if (strchr(a, '-') && strrchr(a, ':') && strchr(strrchr(a, ':'), '-')) {
		cfg_err(p, "bind '%s': port ranges are not supported", a);
		return -1;
	}
	if (net_parse_addr(a, 1, &b->addr, &b->addrlen, &why) < 0) {
		cfg_err(p, "bind '%s': %s", a, why);
		return -1;
	}
	b->text = u_strdup(p->c->arena, a);
	b->line = p->err.line;
	b->tls = bc->ssl ? bc->tc : NULL;
	b->lo = bc->lo;
	b->maxconn = bc->maxconn;
	for (tail = &px->binds; *tail; tail = &(*tail)->next)
		;
	*tail = b;
	return 0;
}

static int
cfg_kw_bind(struct cfgp *p, void *obj, char **args, int n)
{
	struct cfg_bind b = { NULL, 0, { -1, 0, 0, 0, 0, 0, NULL }, 0 };
	char addrs[CFG_LINE_MAX], *a, *save = NULL;

	if (n < 2) {
		cfg_err(p, "'bind' expects an address");
		return -1;
	}
	b.tc = u_alloc(p->c->arena, sizeof(*b.tc));
	b.tc->file = u_strdup(p->c->arena, p->err.file);
	b.tc->line = p->err.line;
	if (cfg_bind_opts(p, &b, args, n) < 0)
		return -1;
	if (b.ssl && b.tc->ncrt == 0) {
		cfg_err(p, "'ssl' needs at least one 'crt FILE' on the bind line");
		return -1;
	}
	if (!b.ssl && (b.tc->ncrt || b.tc->ciphers || b.tc->nalpn))
		cfg_warn(p, "TLS options without 'ssl' have no effect");
	snprintf(addrs, sizeof(addrs), "%s", args[1]);
	for (a = strtok_r(addrs, ",", &save); a; a = strtok_r(NULL, ",", &save))
		if (cfg_bind_addr(p, obj, a, &b) < 0)
			return -1;
	return 0;
}

/* ---- options ---- */

static int
cfg_opt_redispatch(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;

	px->options = p->no ? px->options & ~OPT_REDISPATCH :
	    px->options | OPT_REDISPATCH;
	if (n > 2)
		cfg_warn(p, "'option redispatch %s': the interval is ignored "
		    "(HAProxy's default applies: every retry when several servers "
		    "are active, else the last one)", args[2]);
	return 0;
}

/* option forwardfor [except NET] [header NAME] [if-none], option
 * originalto [except NET] [header NAME] */
static int
cfg_opt_forwardfor(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	int k = args[1][0] == 'o', i;
	unsigned bit = k ? OPT_ORIGINALTO : OPT_FORWARDFOR;

	if (p->no) {
		px->options &= ~(bit | (k ? 0 : OPT_FF_IFNONE));
		return 0;
	}
	px->options |= bit;
	for (i = 2; i < n; i++) {
		if (strcmp(args[i], "if-none") == 0 && !k)
			px->options |= OPT_FF_IFNONE;
		else if (strcmp(args[i], "except") == 0 && i + 1 < n) {
			if (pat_parse_cidr(args[++i], &px->fwd_except[k]) < 0) {
				cfg_err(p, "'option %s except' expects a network, not '%s'",
				    args[1], args[i]);
				return -1;
			}
			px->fwd_has_except[k] = 1;
		} else if (strcmp(args[i], "header") == 0 && i + 1 < n &&
		    rule_hdr_name_ok(args[i + 1]))
			px->fwd_name[k] = u_strdup(p->c->arena, args[++i]);
		else {
			cfg_err(p, "'option %s': unexpected '%s' (except <network>, "
			    "header <name>%s)", args[1], args[i], k ? "" : ", if-none");
			return -1;
		}
	}
	return 0;
}

/* http-keep-alive, http-server-close, httpclose and its aliases */
static int
cfg_opt_http_mode(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	const char *o = args[1];

	(void)n;
	if (strcmp(o, "http-keep-alive") == 0)
		px->http_mode = HTTP_KAL;
	else if (strcmp(o, "http-server-close") == 0)
		px->http_mode = p->no ? HTTP_KAL : HTTP_SCL;
	else
		px->http_mode = p->no ? HTTP_KAL : HTTP_CLO;
	return 0;
}

/* option httpchk [<method>] <uri> [<version>] */
static int
cfg_opt_httpchk(struct cfgp *p, void *obj, char **args, int n)
{
	struct chk_conf *c = &((struct proxy *)obj)->chk;

	c->kind = p->no ? CHK_TCP : CHK_HTTP;
	c->meth = "OPTIONS";
	c->uri = "/";
	c->ver = "HTTP/1.0";
	if (n == 3)
		c->uri = u_strdup(p->c->arena, args[2]);
	else if (n >= 4) {
		c->meth = u_strdup(p->c->arena, args[2]);
		c->uri = u_strdup(p->c->arena, args[3]);
		if (n >= 5)
			c->ver = u_strdup(p->c->arena, args[4]);
	}
	return 0;
}

/* One argument of a chain check option; words used or -1. */
static int
cfg_chain_arg(struct cfgp *p, struct chk_conf *c, char **args, int n, int nodeos)
{
	const char *k = args[0], *v = n > 1 ? args[1] : NULL;
	unsigned t;

	if (strcmp(k, "max-lag") == 0 || strcmp(k, "stall") == 0 ||
	    (!nodeos && strcmp(k, "block-interval") == 0)) {
		if (v == NULL || u_parse_time(v, &t) < 0 || t == 0) {
			cfg_err(p, "'%s' expects a positive time", k);
			return -1;
		}
		*(k[0] == 'm' ? &c->max_lag_ms : k[0] == 's' ? &c->stall_ms :
		    &c->block_interval_ms) = t;
		return 1;
	}
	if (strcmp(k, "chain-id") == 0) {
		if (v == NULL || u_parse_hex32(v, c->chain_id) < 0) {
			cfg_err(p, "'chain-id' expects 64 hexadecimal digits");
			return -1;
		}
		c->has_chain_id = 1;
		return 1;
	}
	if (!nodeos && strcmp(k, "ref-backend") == 0) {
		if (v == NULL) {
			cfg_err(p, "'ref-backend' expects a backend name");
			return -1;
		}
		c->ref_be_name = u_strdup(p->c->arena, v);
		return 1;
	}
	if (!nodeos && strcmp(k, "probe-blocks") == 0) {
		c->probe_blocks = 1;
		return 0;
	}
	cfg_err(p, "option %s-check: unknown argument '%s'", nodeos ? "nodeos" :
	    "ship", k);
	return -1;
}

/* option nodeos-check [max-lag T] [stall T] [chain-id HEX]
 * option ship-check [max-lag T] [stall T] [ref-backend B] [block-interval T]
 *                   [chain-id HEX] [probe-blocks] */
static int
cfg_opt_chain(struct cfgp *p, void *obj, char **args, int n)
{
	struct chk_conf *c = &((struct proxy *)obj)->chk;
	int nodeos = args[1][0] == 'n', i, r;

	c->kind = nodeos ? CHK_NODEOS : CHK_SHIP;
	c->max_lag_ms = nodeos ? 60000 : 15000;
	c->stall_ms = 30000;
	c->block_interval_ms = 500;
	c->file = u_strdup(p->c->arena, p->err.file);
	c->line = p->err.line;
	for (i = 2; i < n; i++) {
		if ((r = cfg_chain_arg(p, c, args + i, n - i, nodeos)) < 0)
			return -1;
		i += r;
	}
	return 0;
}

/* option httplog [clf], option httpslog, option tcplog: HAProxy's
 * formats; the last format given wins, as in HAProxy. */
static int
cfg_opt_logfmt(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	const char *o = args[1];

	if (p->no) {
		px->logfmt_src = NULL;
		return 0;
	}
	if (n > 3 || (n == 3 && (strcmp(o, "httplog") || strcmp(args[2], "clf")))) {
		cfg_err(p, "'option %s' does not take '%s'", o, args[2]);
		return -1;
	}
	px->logfmt_src = (char *)(o[0] == 't' ? lf_tcplog : n == 3 ? lf_clflog :
	    o[4] == 's' ? lf_httpslog : lf_httplog);
	px->logfmt_file = u_strdup(p->c->arena, p->err.file);
	px->logfmt_line = p->err.line;
	return 0;
}

/* option http-restrict-req-hdr-names preserve|delete|reject */
static int
cfg_opt_hdr_names(struct cfgp *p, void *obj, char **args, int n)
{
	static const char *const modes[] = { "preserve", "delete", "reject" };
	int i;

	for (i = 0; i < 3 && n == 3 && !p->no; i++)
		if (strcmp(args[2], modes[i]) == 0) {
			((struct proxy *)obj)->hdr_names = i;
			return 0;
		}
	cfg_err(p, "'option http-restrict-req-hdr-names' expects 'preserve', "
	    "'delete' or 'reject'");
	return -1;
}

#define OPT_FLAG(name, bit)	{ name, KW_OPT, 0, 0, bit, 0, NULL, NULL }
#define OPT_CHK_NO(name)	CFG_NO(name, "'option " name "' is not " \
	"supported yet: use 'option httpchk' if the server speaks HTTP, or "  \
	"remove it for a TCP connect check")
static const struct cfg_kw cfg_options[] = {
	CFG_FN("redispatch", 0, cfg_opt_redispatch),
	CFG_FN("forwardfor", 0, cfg_opt_forwardfor),
	CFG_FN("originalto", 0, cfg_opt_forwardfor),
	OPT_FLAG("allbackups", OPT_ALLBACKUPS),
	OPT_FLAG("abortonclose", OPT_ABORTONCLOSE),
	OPT_FLAG("logasap", OPT_LOGASAP),
	OPT_FLAG("http-pretend-keepalive", OPT_PRETEND_KA),
	CFG_FN("http-keep-alive", 0, cfg_opt_http_mode),
	CFG_FN("http-server-close", 0, cfg_opt_http_mode),
	CFG_FN("httpclose", 0, cfg_opt_http_mode),
	CFG_FN("forceclose", 0, cfg_opt_http_mode),
	CFG_FN("http-tunnel", 0, cfg_opt_http_mode),
	CFG_FN("httpchk", 0, cfg_opt_httpchk),
	CFG_FN("nodeos-check", 0, cfg_opt_chain),
	CFG_FN("ship-check", 0, cfg_opt_chain),
	OPT_FLAG("dontlognull", OPT_DONTLOGNULL),
	CFG_FN("httplog", 0, cfg_opt_logfmt),
	CFG_FN("httpslog", 0, cfg_opt_logfmt),
	CFG_FN("tcplog", 0, cfg_opt_logfmt),
	OPT_FLAG("http-ignore-probes", OPT_IGNORE_PROBES),
	{ "tcp-check", KW_IGN, 0, 0, 0, 0, NULL, "'option tcp-check' is not "
	    "supported: servers with 'check' get a TCP connect check" },
	{ "external-check", KW_IGN, 0, 0, 0, 0, NULL, "external checks are not "
	    "run: servers with 'check' get a TCP connect check" },
	OPT_FLAG("log-health-checks", OPT_LOGHCHKS),
	CFG_IGN("splice-auto", "plain tunnels are spliced unless 'nosplice'; same bytes"),
	CFG_IGN("splice-request", "plain tunnels are spliced unless 'nosplice'; same bytes"),
	CFG_IGN("splice-response", "plain tunnels are spliced unless 'nosplice'; same bytes"),
	OPT_FLAG("tcpka", OPT_CLITCPKA | OPT_SRVTCPKA),
	OPT_FLAG("clitcpka", OPT_CLITCPKA),
	OPT_FLAG("srvtcpka", OPT_SRVTCPKA),
	CFG_IGN("contstats", "counters are updated as bytes pass"),
	CFG_NO("socket-stats", "'option socket-stats' is not supported: the "
	    "status page has no per-listener rows; remove it"),
	OPT_FLAG("log-separate-errors", OPT_LOGSEPERR),
	OPT_FLAG("dontlog-normal", OPT_DONTLOGNORMAL),
	CFG_NO("http-buffer-request", "'option http-buffer-request' is not "
	    "supported: waxlb streams request bodies and applies the rules on "
	    "the request head; remove it"),
	OPT_FLAG("prefer-last-server", OPT_PREFER_LAST),
	CFG_NO("persist", "'option persist' is not supported: waxlb has no "
	    "cookie persistence; remove it"),
	CFG_IGN("http-no-delay", "TCP_NODELAY is always set and no send is delayed"),
	CFG_NO("accept-invalid-http-request", "'option "
	    "accept-invalid-http-request' is not supported: waxlb refuses invalid "
	    "requests (400) against request smuggling; fix the client"),
	CFG_NO("accept-invalid-http-response", "'option "
	    "accept-invalid-http-response' is not supported: waxlb refuses invalid "
	    "responses (502) against response splitting; fix the server"),
	CFG_NO_ALWAYS("http-use-htx", "'option http-use-htx' was removed in "
	    "HAProxy 2.1 (2.6 refuses it too): remove it"),
	OPT_CHK_NO("ssl-hello-chk"), OPT_CHK_NO("mysql-check"),
	OPT_CHK_NO("pgsql-check"), OPT_CHK_NO("redis-check"),
	OPT_CHK_NO("smtpchk"), OPT_CHK_NO("ldap-check"), OPT_CHK_NO("spop-check"),
	OPT_FLAG("nolinger", OPT_NOLINGER),
	CFG_NO("independent-streams", "'option independent-streams' is not "
	    "supported: waxlb refreshes both sides' timeouts on traffic either "
	    "way; remove it"),
	CFG_IGN("disable-h2-upgrade", "already true: waxlb never upgrades to HTTP/2"),
	OPT_FLAG("idle-close-on-response", OPT_IDLE_CLOSE_RSP),
	CFG_NO("checkcache", "'option checkcache' is not supported: waxlb does "
	    "not check whether responses are cacheable; remove it (and drop "
	    "cookies with 'http-response del-header Set-Cookie' where needed)"),
	CFG_IGN("tcp-smart-accept", "packets only (one ACK fewer): the same bytes "
	    "pass"),
	CFG_IGN("tcp-smart-connect", "packets only (one ACK fewer): the same bytes "
	    "pass"),
	CFG_NO("transparent", "'option transparent' is not supported: waxlb "
	    "connects only to its configured servers; list them with 'server'"),
	CFG_FN("http-restrict-req-hdr-names", 0, cfg_opt_hdr_names),
};
#undef OPT_FLAG
#undef OPT_CHK_NO

/* "option NAME ..." (args[0] is "option"; p->no after "no"). */
static int
cfg_kw_option(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	const struct cfg_kw *kw = cfg_sub_kw(p, cfg_options, NELEM(cfg_options),
	    args, n, "'option' expects an option name", "unknown option '%s'");

	if (kw == NULL)
		return -1;
	switch (kw->kind) {
	case KW_FN:
		return kw->fn(p, obj, args, n);
	case KW_OPT:
		px->options = p->no ? px->options & ~(unsigned)kw->lo :
		    px->options | (unsigned)kw->lo;
		return 0;
	case KW_NO:
		/* "no option NAME" asks for what waxlb does */
		if (p->no && !kw->lo)
			return 0;
		cfg_err(p, "%s", kw->text);
		return -1;
	default:
		if (kw->text && strncmp(kw->text, "'option", 7) == 0)
			cfg_warn(p, "%s", kw->text);
		else
			cfg_warn(p, "'option %s' is ignored by waxlb", args[1]);
		return 0;
	}
}

static int
cfg_kw_no(struct cfgp *p, void *obj, char **args, int n)
{
	int r;

	if (n < 2 || strcmp(args[1], "option") != 0) {
		cfg_err(p, "unknown keyword 'no' in '%s' section",
		    cfg_section_name(p, obj));
		return -1;
	}
	p->no = 1;
	r = cfg_kw_option(p, obj, args + 1, n - 1);
	p->no = 0;
	return r;
}

/* ---- http-check ---- */

/* http-check send [meth M] [uri U] [ver V] [hdr N V]... [body B] */
static int
cfg_hchk_send(struct cfgp *p, void *obj, char **args, int n)
{
	struct chk_conf *c = &((struct proxy *)obj)->chk;
	char hdrs[2048];
	size_t hl = 0;
	int i, w;

	hdrs[0] = 0;
	for (i = 2; i < n; i++) {
		const char *k = args[i], *v = i + 1 < n ? args[i + 1] : NULL;
		char **dst = strcmp(k, "meth") == 0 ? &c->meth : strcmp(k, "uri") == 0 ?
		    &c->uri : strcmp(k, "ver") == 0 ? &c->ver : strcmp(k, "body") == 0 ?
		    &c->body : NULL;

		if (dst && v) {
			*dst = u_strdup(p->c->arena, v);
			i++;
		} else if (strcmp(k, "hdr") == 0 && v && i + 2 < n) {
			w = snprintf(hdrs + hl, sizeof(hdrs) - hl, "%s: %s\r\n", v,
			    args[i + 2]);
			if (w < 0 || (size_t)w >= sizeof(hdrs) - hl) {
				cfg_err(p, "http-check send: headers too long");
				return -1;
			}
			hl += (size_t)w;
			i += 2;
		} else {
			cfg_err(p, "http-check send: unexpected '%s'", k);
			return -1;
		}
	}
	if (hl)
		c->hdrs = u_strdup(p->c->arena, hdrs);
	if (c->kind == CHK_TCP)
		c->kind = CHK_HTTP;
	if (c->meth == NULL)
		c->meth = "GET";
	if (c->uri == NULL)
		c->uri = "/";
	if (c->ver == NULL)
		c->ver = "HTTP/1.1";
	return 0;
}

/* "status 200,300-399": ranges into the check. */
static int
cfg_hchk_status(struct cfgp *p, struct chk_conf *c, const char *list)
{
	char buf[256], *t, *sv = NULL, *dash;
	long long a, b;

	c->nexp_range = 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
		if ((dash = strchr(t, '-')) != NULL)
			*dash = 0;
		if (u_parse_int(t, 100, 999, &a) < 0 || (dash &&
		    u_parse_int(dash + 1, 100, 999, &b) < 0) || c->nexp_range == 8) {
			cfg_err(p, "http-check expect status: bad code list '%s'", list);
			return -1;
		}
		c->exp_range[c->nexp_range][0] = (int)a;
		c->exp_range[c->nexp_range][1] = dash ? (int)b : (int)a;
		c->nexp_range++;
	}
	return 0;
}

/* http-check expect [!] status|rstatus|string|rstring PATTERN */
static int
cfg_hchk_expect(struct cfgp *p, void *obj, char **args, int n)
{
	struct chk_conf *c = &((struct proxy *)obj)->chk;
	int i = 2;

	c->exp_neg = i < n && strcmp(args[i], "!") == 0;
	i += c->exp_neg;
	if (i + 1 >= n) {
		cfg_err(p, "http-check expect: expected status, rstatus, string or "
		    "rstring and a pattern");
		return -1;
	}
	if (strcmp(args[i], "status") == 0) {
		c->exp_kind = EXP_STATUS;
		if (cfg_hchk_status(p, c, args[i + 1]) < 0)
			return -1;
	} else if (strcmp(args[i], "string") == 0) {
		c->exp_kind = EXP_STRING;
		c->exp_str = u_strdup(p->c->arena, args[i + 1]);
	} else if (strcmp(args[i], "rstatus") == 0 || strcmp(args[i], "rstring") == 0) {
		c->exp_kind = args[i][3] == 'a' ? EXP_RSTATUS : EXP_RSTRING;
		c->exp_re = pat_regcomp(p->c->arena, args[i + 1], REG_EXTENDED | REG_NOSUB);
		if (c->exp_re == NULL) {
			cfg_err(p, "http-check expect: invalid regex '%s'", args[i + 1]);
			return -1;
		}
	} else {
		cfg_err(p, "http-check expect: unknown match '%s'", args[i]);
		return -1;
	}
	if (c->kind == CHK_TCP)
		c->kind = CHK_HTTP;
	if (c->meth == NULL) {
		c->meth = "OPTIONS";
		c->uri = "/";
		c->ver = "HTTP/1.0";
	}
	return 0;
}

/* http-check disable-on-404 | send-state */
static int
cfg_hchk_flag(struct cfgp *p, void *obj, char **args, int n)
{
	struct chk_conf *cf = &((struct proxy *)obj)->chk;

	if (n > 2) {
		cfg_err(p, "'http-check %s' takes no argument", args[1]);
		return -1;
	}
	*(args[1][0] == 'd' ? &cf->disable404 : &cf->send_state) = 1;
	return 0;
}

/* http-check comment TEXT: added to the info of a failed HTTP verdict,
 * as HAProxy reports it */
static int
cfg_hchk_comment(struct cfgp *p, void *obj, char **args, int n)
{
	if (n != 3) {
		cfg_err(p, "'http-check comment' expects a message");
		return -1;
	}
	((struct proxy *)obj)->chk.comment = u_strdup(p->c->arena, args[2]);
	return 0;
}

/* http-check connect [default] [port N] [addr A] [comment C]: where the
 * one connection of a check goes */
static int
cfg_hchk_connect(struct cfgp *p, void *obj, char **args, int n)
{
	struct chk_conf *cf = &((struct proxy *)obj)->chk;
	long long v;
	int i;

	if (cf->nconnect++) {
		cfg_err(p, "a second 'http-check connect' is not supported: waxlb "
		    "checks over one connection; keep one 'http-check connect'");
		return -1;
	}
	for (i = 2; i < n; i++) {
		if (strcmp(args[i], "default") == 0)
			continue;
		if (i + 1 < n && strcmp(args[i], "comment") == 0) {
			i++;
		} else if (i + 1 < n && strcmp(args[i], "port") == 0) {
			if (u_parse_int(args[++i], 1, 65535, &v) < 0) {
				cfg_err(p, "'http-check connect' : invalid port '%s'", args[i]);
				return -1;
			}
			cf->conn_port = (int)v;
		} else if (i + 1 < n && strcmp(args[i], "addr") == 0) {
			cf->conn_addr = u_strdup(p->c->arena, args[++i]);
		} else {
			cfg_err(p, "'http-check connect' option '%s' is not supported: "
			    "waxlb checks in clear over TCP to the server, its 'port'/'addr' "
			    "or those given here ('port N', 'addr A')", args[i]);
			return -1;
		}
	}
	cf->conn_file = u_strdup(p->c->arena, p->err.file);
	cf->conn_line = p->err.line;
	return 0;
}

static const struct cfg_kw cfg_hchk_kws[] = {
	CFG_FN("send", 0, cfg_hchk_send),
	CFG_FN("expect", 0, cfg_hchk_expect),
	CFG_FN("disable-on-404", 0, cfg_hchk_flag),
	CFG_FN("send-state", 0, cfg_hchk_flag),
	CFG_FN("comment", 0, cfg_hchk_comment),
	CFG_FN("connect", 0, cfg_hchk_connect),
	CFG_NO("set-var", "'http-check set-var' is not supported: check rules "
	    "have no variables; write the value in 'http-check send hdr'"),
	CFG_NO("unset-var", "'http-check unset-var' is not supported: check "
	    "rules have no variables; remove it"),
};

static int
cfg_kw_http_check(struct cfgp *p, void *obj, char **args, int n)
{
	const struct cfg_kw *kw;

	if (n > 1 && (strncmp(args[1], "set-var(", 8) == 0 ||
	    strncmp(args[1], "unset-var(", 10) == 0))
		kw = cfg_kw_find(cfg_hchk_kws, NELEM(cfg_hchk_kws), args[1][0] == 's' ?
		    "set-var" : "unset-var");
	else
		kw = cfg_sub_kw(p, cfg_hchk_kws, NELEM(cfg_hchk_kws), args, n,
		    "'http-check' expects 'send' or 'expect'",
		    "unknown 'http-check %s'");
	if (kw == NULL)
		return -1;
	if (kw->kind == KW_NO) {
		cfg_err(p, "%s", kw->text);
		return -1;
	}
	if (kw->fn)
		return kw->fn(p, obj, args, n);
	if (kw->kind == KW_QUIET)
		return 0;
	cfg_warn(p, "'http-check %s' is ignored by waxlb", args[1]);
	return 0;
}

/* ---- log lines ---- */

static const char *const cfg_log_facilities[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7", NULL
};
static const char *const cfg_log_levels[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
	NULL
};
/* in enum log_fmt's order */
static const char *const cfg_log_formats[] = {
	"-", "rfc3164", "local", "rfc5424", "priority", "short", "timed", "iso",
	"raw", NULL
};

static int
cfg_word_index(const char *const *list, const char *w)
{
	int i;

	for (i = 0; list[i]; i++)
		if (strcmp(list[i], w) == 0)
			return i;
	return -1;
}

/* The target of a log line: stdout, stderr, a unix socket or udp@host[:port]. */
static int
cfg_log_target(struct cfgp *p, struct log_target *t, const char *a)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&t->addr;
	const char *why, *s;
	char buf[300];

	if (strcmp(a, "stdout") == 0 || strcmp(a, "stderr") == 0) {
		t->kind = a[3] == 'o' ? LOGT_STDOUT : LOGT_STDERR;
		return 0;
	}
	if (a[0] == '/' || strncmp(a, "unix@", 5) == 0) {
		s = a[0] == '/' ? a : a + 5;
		if (strlen(s) >= sizeof(un->sun_path)) {
			cfg_err(p, "log: unix socket path too long");
			return -1;
		}
		t->kind = LOGT_UNIX;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, s);
		t->addrlen = sizeof(*un);
		return 0;
	}
	s = strncmp(a, "udp@", 4) == 0 ? a + 4 : a;
	/* the port is optional: 514 */
	snprintf(buf, sizeof(buf), (s[0] == '[' ? strstr(s, "]:") == NULL :
	    strchr(s, ':') == NULL) ? "%s:514" : "%s", s);
	if (net_parse_addr(buf, 0, &t->addr, &t->addrlen, &why) < 0) {
		cfg_err(p, "log: invalid address '%s': %s", a, why);
		return -1;
	}
	t->kind = LOGT_UDP;
	return 0;
}

/* log <target> [len N] [format F] [sample S] <facility> [max level [min level]] */
static struct log_target *
cfg_log_parse(struct cfgp *p, char **args, int n)
{
	struct log_target *t;
	long long v;
	int i = 2;

	if (n < 3) {
		cfg_err(p, "'log' expects <address> <facility> [level]");
		return NULL;
	}
	t = u_alloc(p->c->arena, sizeof(*t));
	t->maxlen = 1024;
	t->level = 7;
	if (cfg_log_target(p, t, args[1]) < 0)
		return NULL;
	for (; i + 1 < n; i += 2) {
		if (strcmp(args[i], "len") == 0) {
			if (u_parse_int(args[i + 1], 80, 65535, &v) < 0) {
				cfg_err(p, "log: 'len' expects 80..65535");
				return NULL;
			}
			t->maxlen = (int)v;
		} else if (strcmp(args[i], "format") == 0) {
			int f = cfg_word_index(cfg_log_formats, args[i + 1]);

			if (f < 0) {
				cfg_err(p, "log: unknown format '%s' (rfc3164, rfc5424, local, "
				    "priority, short, timed, iso, raw)", args[i + 1]);
				return NULL;
			}
			t->format = (enum log_fmt)f;
		} else if (strcmp(args[i], "sample") == 0) {
			cfg_err(p, "log: 'sample' is not supported: every line goes to every "
			    "target (filter at the syslog server, or lower the level)");
			return NULL;
		} else
			break;
	}
	if (i >= n || (t->facility = cfg_word_index(cfg_log_facilities, args[i])) < 0) {
		cfg_err(p, "log: unknown or missing facility '%s'", i < n ? args[i] : "");
		return NULL;
	}
	if (i + 1 < n && (t->level = cfg_word_index(cfg_log_levels, args[i + 1])) < 0) {
		cfg_err(p, "log: unknown level '%s'", args[i + 1]);
		return NULL;
	}
	return t;
}

static int
cfg_log_add(struct cfgp *p, struct log_target **list, char **args, int n)
{
	struct log_target *t = cfg_log_parse(p, args, n);

	if (t == NULL)
		return -1;
	while (*list)
		list = &(*list)->next;
	*list = t;
	return 0;
}

/* ---- proxy keywords ---- */

static int
cfg_kw_mode(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;

	if (n != 2 || (strcmp(args[1], "http") && strcmp(args[1], "tcp"))) {
		cfg_err(p, "'mode' expects 'http' or 'tcp'");
		return -1;
	}
	px->mode = args[1][0] == 'h' ? MODE_HTTP : MODE_TCP;
	return 0;
}

static const char *const cfg_tmo_names[T_COUNT] = {
	"connect", "client", "server", "tunnel", "http-request",
	"http-keep-alive", "queue", "check", "client-fin", "server-fin", "tarpit"
};

static int
cfg_kw_timeout(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	unsigned t;
	int i;

	if (n != 3) {
		cfg_err(p, "'timeout' expects <name> <time>");
		return -1;
	}
	for (i = 0; i < T_COUNT && strcmp(args[1], cfg_tmo_names[i]) != 0; i++)
		;
	if (i == T_COUNT) {
		cfg_err(p, "unknown timeout '%s'", args[1]);
		return -1;
	}
	if (u_parse_time(args[2], &t) < 0) {
		cfg_err(p, "timeout %s: invalid time value '%s'", args[1], args[2]);
		return -1;
	}
	px->timeout[i] = t;
	return 0;
}

static int
cfg_kw_balance(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	size_t i;

	if (n < 2) {
		cfg_err(p, "'balance' expects an algorithm");
		return -1;
	}
	for (i = 0; i < NELEM(lb_algos) && strcmp(lb_algos[i].name, args[1]); i++)
		;
	if (i == NELEM(lb_algos)) {
		cfg_err(p, "balance '%s' is not supported (roundrobin, leastconn, "
		    "first)", args[1]);
		return -1;
	}
	px->lb = &lb_algos[i];
	if (n > 2)
		cfg_err(p, "'balance %s' takes no argument", args[1]);
	return 0;
}

/* The words of "retry-on", as HAProxy's proxy_parse_retry_on() reads
 * them.  all-retryable-errors is HAProxy's set: no 4xx, no 501.
 * 0rtt-rejected needs TLS towards servers: accepted, it never applies. */
static const struct {
	const char	*name;
	unsigned	 bits;
} cfg_retry_words[] = {
	{ "none", 0 }, { "conn-failure", RE_CONN }, { "empty-response", RE_EMPTY },
	{ "junk-response", RE_JUNK }, { "response-timeout", RE_TIMEOUT },
	{ "0rtt-rejected", RE_0RTT }, { "401", RE_401 }, { "403", RE_403 },
	{ "404", RE_404 }, { "408", RE_408 }, { "425", RE_425 }, { "500", RE_500 },
	{ "501", RE_501 }, { "502", RE_502 }, { "503", RE_503 }, { "504", RE_504 },
	{ "all-retryable-errors", RE_CONN | RE_EMPTY | RE_TIMEOUT | RE_500 |
	    RE_502 | RE_503 | RE_504 | RE_0RTT | RE_JUNK },
};

/* retry-on KEYWORD...: replaces what was set before (not cumulative). */
static int
cfg_kw_retry_on(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	unsigned bits = 0;
	size_t k;
	int i;

	if (n < 2) {
		cfg_err(p, "'retry-on' needs at least one keyword to specify when "
		    "to retry");
		return -1;
	}
	for (i = 1; i < n; i++) {
		for (k = 0; k < NELEM(cfg_retry_words) &&
		    strcmp(cfg_retry_words[k].name, args[i]); k++)
			;
		if (k == NELEM(cfg_retry_words)) {
			cfg_err(p, "'retry-on': unknown keyword '%s'", args[i]);
			return -1;
		}
		if (k == 0 && n != 2) {
			cfg_err(p, "'retry-on' 'none' keyword only usable alone");
			return -1;
		}
		bits |= cfg_retry_words[k].bits;
	}
	px->retry_on = bits;
	return 0;
}

/* http-reuse never|safe|aggressive|always, in enum http_reuse order. */
static int
cfg_kw_http_reuse(struct cfgp *p, void *obj, char **args, int n)
{
	static const char *const modes[] = { "never", "safe", "aggressive",
	    "always", NULL };
	int k = n == 2 ? cfg_word_index(modes, args[1]) : -1;

	if (k < 0) {
		cfg_err(p, "'http-reuse' only supports 'never', 'safe', "
		    "'aggressive', 'always'");
		return -1;
	}
	((struct proxy *)obj)->reuse = (enum http_reuse)k;
	return 0;
}

static int
cfg_kw_log(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;

	if (n == 2 && strcmp(args[1], "global") == 0)
		px->log_global = 1;
	else if (n == 1 || (n == 2 && strcmp(args[1], "off") == 0)) {
		px->log_global = 0;
		px->logs = NULL;
	} else
		return cfg_log_add(p, &px->logs, args, n);
	return 0;
}

static int
cfg_kw_acl(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	struct rule_pctx rc = cfg_rule_pctx(p, px, RS_HREQ);

	if (n < 3) {
		cfg_err(p, "'acl' expects <name> <fetch> [flags] [patterns]");
		return -1;
	}
	return acl_define(&rc.ap, &px->acls, args[1], args + 2, n - 2);
}

/* use_backend NAME [cond]; a NAME with '%' is a log-format string that
 * names the backend at run time. */
static int
cfg_kw_use_backend(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	struct rule_pctx rc = cfg_rule_pctx(p, px, RS_HREQ);
	struct switch_rule *r, **tail;

	if (n < 2) {
		cfg_err(p, "'use_backend' expects a backend name");
		return -1;
	}
	r = u_alloc(p->c->arena, sizeof(*r));
	r->be_name = u_strdup(p->c->arena, args[1]);
	r->line = p->err.line;
	r->file = u_strdup(p->c->arena, p->err.file);
	if (strchr(args[1], '%') && (r->fmt = rule_lf(&rc, args[1], 0)) == NULL)
		return -1;
	if (acl_cond_opt(&rc.ap, &px->acls, args + 2, n - 2, &r->cond) < 0)
		return -1;
	for (tail = &px->rules; *tail; tail = &(*tail)->next)
		;
	*tail = r;
	return 0;
}

static int
cfg_kw_default_backend(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;

	if (n != 2) {
		cfg_err(p, "'default_backend' expects a backend name");
		return -1;
	}
	px->default_be_name = u_strdup(p->c->arena, args[1]);
	px->default_be_line = p->err.line;
	px->default_be_file = u_strdup(p->c->arena, p->err.file);
	return 0;
}

/* http-request, http-response, http-after-response */
static int
cfg_kw_http_rules(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	int set = strcmp(args[0], "http-request") == 0 ? RS_HREQ :
	    strcmp(args[0], "http-response") == 0 ? RS_HRSP : RS_HAFTER;
	struct rule_pctx rc = cfg_rule_pctx(p, px, set);

	return rule_parse(&rc, set == RS_HREQ ? &px->hreq : set == RS_HRSP ?
	    &px->hrsp : &px->hafter, args, n, 1);
}

/* tcp-request connection|content ACTION, tcp-request inspect-delay T */
static int
cfg_kw_tcp_request(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	struct rule_pctx rc;
	int k;

	if (n >= 2 && strcmp(args[1], "inspect-delay") == 0) {
		if (n != 3 || u_parse_time(args[2], &px->inspect_delay) < 0) {
			cfg_err(p, "'tcp-request inspect-delay' expects a time");
			return -1;
		}
		return 0;
	}
	if (n < 2 || (strcmp(args[1], "connection") && strcmp(args[1], "content"))) {
		cfg_err(p, "'tcp-request' expects 'connection', 'content' or "
		    "'inspect-delay'%s", n >= 2 && strcmp(args[1], "session") == 0 ?
		    " ('tcp-request session' rules are not supported: use "
		    "'tcp-request connection')" : "");
		return -1;
	}
	k = args[1][1] == 'o' && args[1][2] == 'n' && args[1][3] == 'n';
	if (k && !(px->cap & CAP_FE)) {
		cfg_err(p, "'tcp-request connection' needs a frontend");
		return -1;
	}
	rc = cfg_rule_pctx(p, px, k ? RS_TCP_CONN : RS_TCP_CONT);
	return rule_parse(&rc, &px->rules_tcp[k ? 0 : 1], args, n, 2);
}

static int
cfg_kw_redirect(struct cfgp *p, void *obj, char **args, int n)
{
	struct rule_pctx rc = cfg_rule_pctx(p, obj, RS_HREQ);

	return rule_parse_redirect(&rc, args, n);
}

/* capture request|response header NAME len N */
static int
cfg_kw_capture(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	long long len;
	int res, slot;

	if (n >= 2 && strcmp(args[1], "cookie") == 0) {
		cfg_err(p, "'capture cookie' is not supported (no cookie persistence); "
		    "use 'http-request capture req.cook(NAME) len N'");
		return -1;
	}
	if (n != 6 || (strcmp(args[1], "request") && strcmp(args[1], "response")) ||
	    strcmp(args[2], "header") || strcmp(args[4], "len") ||
	    u_parse_int(args[5], 1, 65535, &len) < 0) {
		cfg_err(p, "'capture' expects 'request|response header <name> len "
		    "<length>'");
		return -1;
	}
	res = args[1][2] == 's';
	if ((slot = rule_capture_slot(px, res, (int)len)) < 0) {
		cfg_err(p, "more than %d %s captures", CAPTURES_MAX, args[1]);
		return -1;
	}
	(res ? px->cap_res_hdr : px->cap_req_hdr)[slot] = u_strdup(p->c->arena,
	    args[3]);
	return 0;
}

/* declare capture request|response len N */
static int
cfg_kw_declare(struct cfgp *p, void *obj, char **args, int n)
{
	long long len;

	if (n != 5 || strcmp(args[1], "capture") || (strcmp(args[2], "request") &&
	    strcmp(args[2], "response")) || strcmp(args[3], "len") ||
	    u_parse_int(args[4], 1, 65535, &len) < 0) {
		cfg_err(p, "'declare' expects 'capture request|response len <length>'");
		return -1;
	}
	if (rule_capture_slot(obj, args[2][2] == 's', (int)len) < 0) {
		cfg_err(p, "more than %d %s captures", CAPTURES_MAX, args[2]);
		return -1;
	}
	return 0;
}

/* A format kept as written (with where it was) and parsed at the end,
 * once the proxy's mode is known: log-format, unique-id-format. */
static int
cfg_kw_format(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	int uid = args[0][0] == 'u';

	if (args[0][0] == 'e') {	/* error-log-format */
		if (n != 2) {
			cfg_err(p, "'%s' expects one format string", args[0]);
			return -1;
		}
		px->errlog_src = u_strdup(p->c->arena, args[1]);
		px->errlog_file = u_strdup(p->c->arena, p->err.file);
		px->errlog_line = p->err.line;
		return 0;
	}
	if (n != 2) {
		cfg_err(p, n < 2 ? "'%s' expects a format string" : "'%s' expects only "
		    "one argument, don't forget to escape spaces!", args[0]);
		return -1;
	}
	if (strcmp(args[0], "log-format-sd") == 0) {
		px->sd_src = u_strdup(p->c->arena, args[1]);
		px->sd_file = u_strdup(p->c->arena, p->err.file);
		px->sd_line = p->err.line;
		return 0;
	}
	*(uid ? &px->uid_src : &px->logfmt_src) = u_strdup(p->c->arena, args[1]);
	*(uid ? &px->uid_file : &px->logfmt_file) = u_strdup(p->c->arena, p->err.file);
	*(uid ? &px->uid_line : &px->logfmt_line) = p->err.line;
	return 0;
}

static int
cfg_kw_uid_header(struct cfgp *p, void *obj, char **args, int n)
{
	if (n != 2 || !rule_hdr_name_ok(args[1])) {
		cfg_err(p, "'unique-id-header' expects a header name");
		return -1;
	}
	((struct proxy *)obj)->uid_hdr = u_strdup(p->c->arena, args[1]);
	return 0;
}

static int
cfg_kw_log_tag(struct cfgp *p, void *obj, char **args, int n)
{
	char **tag = p->section == SEC_GLOBAL ? &((struct config *)obj)->log_tag :
	    &((struct proxy *)obj)->log_tag;

	if (n != 2 || !*args[1]) {
		cfg_err(p, "'log-tag' expects a tag");
		return -1;
	}
	*tag = u_strdup(p->c->arena, args[1]);
	return 0;
}

/* A stick-table size: digits and k, m or g (powers of 1024). */
static long long
cfg_stick_size(struct cfgp *p, const char *v)
{
	long long n = 0;
	const char *c;

	for (c = v; *c >= '0' && *c <= '9' && n < (1LL << 40); c++)
		n = n * 10 + (*c - '0');
	if (*c && c[1] == 0 && strchr("kmg", *c))
		return n << (*c == 'k' ? 10 : *c == 'm' ? 20 : 30);
	if (*c || c == v) {
		cfg_err(p, "stick-table: unexpected character '%c' in argument of 'size'.",
		    *c ? *c : ' ');
		return -1;
	}
	return n;
}

/* stick-table: its type and size, which the metrics show.  Nothing
 * stores into it (track-sc and the sc_* fetches are refused), so the
 * other arguments have no effect. */
static int
cfg_kw_stick_table(struct cfgp *p, void *obj, char **args, int n)
{
	static const char *const types[] = { "ip", "ipv6", "integer", "string",
	    "binary" };
	static const char *const one[] = { "len", "expire", "peers", "store",
	    "srvkey", "write-to" };
	struct proxy *px = obj;
	const char *type = NULL;
	long long size = -1;
	size_t t;
	int i;

	for (i = 1; i < n; i++) {
		if (strcmp(args[i], "type") == 0 && i + 1 < n) {
			for (t = 0; t < NELEM(types) && strcmp(args[i + 1], types[t]); t++)
				;
			if (t == NELEM(types)) {
				cfg_err(p, "stick-table: unknown type '%s'.", args[i + 1]);
				return -1;
			}
			type = types[t];
			i++;
		} else if (strcmp(args[i], "size") == 0 && i + 1 < n) {
			if ((size = cfg_stick_size(p, args[++i])) < 0)
				return -1;
		} else if (strcmp(args[i], "nopurge") != 0) {
			for (t = 0; t < NELEM(one) && strcmp(args[i], one[t]); t++)
				;
			if (t == NELEM(one) || i + 1 >= n) {
				cfg_err(p, "stick-table: %s '%s'.", t == NELEM(one) ?
				    "unknown argument" : "missing value after", args[i]);
				return -1;
			}
			i++;
		}
	}
	if (type == NULL || size < 0) {
		cfg_err(p, "stick-table: missing %s.", type ? "size" : "type");
		return -1;
	}
	px->stick_type = type;
	px->stick_size = size;
	return 0;
}

/* ---- userlist sections ---- */

/* "a,b,c" into a list of names. */
static int
cfg_names(struct cfgp *p, const char *list, char ***out)
{
	char buf[CFG_LINE_MAX], *save = NULL, *w;
	int n = 0, cap = 8;

	snprintf(buf, sizeof(buf), "%s", list);
	*out = u_alloc(p->c->arena, (size_t)cap * sizeof(char *));
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (n == cap) {
			char **nv = u_alloc(p->c->arena, (size_t)cap * 2 * sizeof(char *));

			memcpy(nv, *out, (size_t)n * sizeof(char *));
			*out = nv;
			cap *= 2;
		}
		(*out)[n++] = u_strdup(p->c->arena, w);
	}
	return n;
}

/* user NAME [password HASH | insecure-password PASS] [groups G,G] */
static int
cfg_ul_user(struct cfgp *p, struct userlist *ul, char **args, int n)
{
	struct ulist_user *u = u_alloc(p->c->arena, sizeof(*u)), **tail;
	int i;

	u->name = u_strdup(p->c->arena, args[1]);
	for (i = 2; i + 1 < n; i += 2) {
		if (strcmp(args[i], "password") == 0 ||
		    strcmp(args[i], "insecure-password") == 0) {
			u->pass = u_strdup(p->c->arena, args[i + 1]);
			u->insecure = args[i][0] == 'i';
		} else if (strcmp(args[i], "groups") == 0)
			u->ngroups = cfg_names(p, args[i + 1], &u->groups);
		else
			break;
	}
	if (i < n || u->pass == NULL) {
		cfg_err(p, "'user %s' expects 'password <hash>' or 'insecure-password "
		    "<password>', then optionally 'groups <list>'", args[1]);
		return -1;
	}
	if (!u->insecure && !auth_hash_supported(u->pass)) {
		cfg_err(p, "user '%s': only $6$, $5$ (SHA-crypt) and $1$ (MD5-crypt) "
		    "password hashes are supported (make one with 'mkpasswd -m "
		    "sha-512'), or use 'insecure-password'", args[1]);
		return -1;
	}
	for (tail = &ul->users; *tail; tail = &(*tail)->next)
		if (strcmp((*tail)->name, u->name) == 0) {
			cfg_err(p, "duplicate user '%s' in userlist '%s'", u->name, ul->name);
			return -1;
		}
	*tail = u;
	return 0;
}

/* group NAME [users U,U]: the users get the group */
static int
cfg_ul_group(struct cfgp *p, struct userlist *ul, char **args, int n)
{
	struct ulist_user *u;
	char **names;
	int k, nn;

	if (n == 2)
		return 0;	/* members come from "user ... groups" */
	if (n != 4 || strcmp(args[2], "users")) {
		cfg_err(p, "'group %s' expects 'users <list>'", args[1]);
		return -1;
	}
	nn = cfg_names(p, args[3], &names);
	for (k = 0; k < nn; k++) {
		for (u = ul->users; u && strcmp(u->name, names[k]); u = u->next)
			;
		if (u == NULL) {
			cfg_err(p, "group '%s': user '%s' is not declared before",
			    args[1], names[k]);
			return -1;
		}
		if (u->ngroups % 8 == 0) {
			char **ng = u_alloc(p->c->arena, (size_t)(u->ngroups + 8) *
			    sizeof(char *));

			memcpy(ng, u->groups, (size_t)u->ngroups * sizeof(char *));
			u->groups = ng;
		}
		u->groups[u->ngroups++] = u_strdup(p->c->arena, args[1]);
	}
	return 0;
}

static void
cfg_userlist_line(struct cfgp *p, char **args, int n)
{
	if (n < 2 || (strcmp(args[0], "user") && strcmp(args[0], "group")))
		cfg_err(p, "unknown keyword '%s' in 'userlist' section (user, group)",
		    args[0]);
	else if (args[0][0] == 'u')
		cfg_ul_user(p, p->ul, args, n);
	else
		cfg_ul_group(p, p->ul, args, n);
}

static int
cfg_sec_userlist(struct cfgp *p, void *obj, char **args, int n)
{
	struct userlist *ul, **tail;

	(void)obj;
	p->section = SEC_USERLIST;
	if (n != 2) {
		cfg_err(p, "'userlist' expects a name");
		p->section = SEC_IGNORED;
		return -1;
	}
	for (tail = &p->c->userlists; *tail; tail = &(*tail)->next)
		if (strcmp((*tail)->name, args[1]) == 0) {
			cfg_err(p, "userlist '%s' is declared twice", args[1]);
			p->section = SEC_IGNORED;
			return -1;
		}
	ul = u_alloc(p->c->arena, sizeof(*ul));
	ul->name = u_strdup(p->c->arena, args[1]);
	ul->file = u_strdup(p->c->arena, p->err.file);
	ul->line = p->err.line;
	*tail = ul;
	p->ul = ul;
	return 0;
}

/* ---- stats (a proxy's status page) ---- */

static void
cfg_stats_on(struct proxy *px)
{
	px->stats_enable = 1;
	if (px->stats_uri == NULL)
		px->stats_uri = "/haproxy?stats";
}

static int
cfg_stats_enable(struct cfgp *p, void *obj, char **args, int n)
{
	(void)p;
	(void)args;
	(void)n;
	cfg_stats_on(obj);
	return 0;
}

static int
cfg_stats_uri(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;

	(void)n;
	px->stats_enable = 1;
	px->stats_uri = u_strdup(p->c->arena, args[2]);
	return 0;
}

static int
cfg_stats_refresh(struct cfgp *p, void *obj, char **args, int n)
{
	(void)n;
	if (u_parse_time(args[2], &((struct proxy *)obj)->stats_refresh) < 0) {
		cfg_err(p, "stats refresh: bad time '%s'", args[2]);
		return -1;
	}
	return 0;
}

static int
cfg_stats_auth(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;

	(void)n;
	if (strchr(args[2], ':') == NULL || px->nstats_auth == 8) {
		cfg_err(p, "stats auth expects user:password (8 at most)");
		return -1;
	}
	cfg_stats_on(px);
	px->stats_auth[px->nstats_auth++] = u_strdup(p->c->arena, args[2]);
	return 0;
}

/* waxlb extension: the same as use-service prometheus-exporter on a path */
static int
cfg_stats_prom(struct cfgp *p, void *obj, char **args, int n)
{
	(void)n;
	((struct proxy *)obj)->prom_uri = u_strdup(p->c->arena, args[2]);
	return 0;
}

static int
cfg_stats_realm(struct cfgp *p, void *obj, char **args, int n)
{
	(void)n;
	cfg_stats_on(obj);
	((struct proxy *)obj)->stats_realm = u_strdup(p->c->arena, args[2]);
	return 0;
}

/* hide-version, show-legends, show-modules; show-node and show-desc take
 * an optional text in place of the global node and description */
static int
cfg_stats_flag(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	int node = strcmp(args[1], "show-node") == 0;
	int desc = strcmp(args[1], "show-desc") == 0;

	if (n > 3 || (n == 3 && !node && !desc)) {
		cfg_err(p, "'stats %s' takes no argument", args[1]);
		return -1;
	}
	cfg_stats_on(px);
	px->stats_flags |= node ? STF_SHNODE : desc ? STF_SHDESC :
	    strcmp(args[1], "hide-version") == 0 ? STF_HIDEVER :
	    strcmp(args[1], "show-legends") == 0 ? STF_LEGENDS : 0;
	if (n == 3 && node)
		px->stats_node = u_strdup(p->c->arena, args[2]);
	if (n == 3 && desc)
		px->stats_desc = u_strdup(p->c->arena, args[2]);
	return 0;
}

/* "stats scope NAME|.": the page and its CSV show only these proxies */
static int
cfg_stats_scope(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	char **v = u_alloc(p->c->arena, (size_t)(px->nstats_scope + 1) * sizeof(*v));

	(void)n;
	cfg_stats_on(px);
	if (px->nstats_scope)
		memcpy(v, px->stats_scope, (size_t)px->nstats_scope * sizeof(*v));
	v[px->nstats_scope++] = u_strdup(p->c->arena, args[2]);
	px->stats_scope = v;
	return 0;
}

/* "stats admin if|unless COND": the page's forms act when COND holds */
static int
cfg_stats_admin(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	struct rule_pctx rc = cfg_rule_pctx(p, px, RS_HREQ);

	if (p->section == SEC_DEFAULTS) {
		cfg_err(p, "'stats admin' is not supported in a defaults section");
		return -1;
	}
	if (n < 4) {
		cfg_err(p, "'stats admin' requires an 'if' or 'unless' condition");
		return -1;
	}
	if (acl_cond_opt(&rc.ap, &px->acls, args + 2, n - 2, &px->stats_admin) < 0)
		return -1;
	rule_check_cond(&rc, px->stats_admin, "stats admin");
	cfg_stats_on(px);
	return 0;
}

/* "monitor-uri URI": HAProxy's 200 (or 503) answer, made before any rule,
 * not logged */
static int
cfg_kw_monitor_uri(struct cfgp *p, void *obj, char **args, int n)
{
	if (n != 2 || args[1][0] == 0) {
		cfg_err(p, "'monitor-uri' expects an URI");
		return -1;
	}
	((struct proxy *)obj)->monitor_uri = u_strdup(p->c->arena, args[1]);
	return 0;
}

/* "monitor fail if|unless COND": monitor-uri answers 503 when it holds */
static int
cfg_kw_monitor(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	struct rule_pctx rc = cfg_rule_pctx(p, px, RS_HREQ);
	struct cond **v, *c;

	if (n < 2 || strcmp(args[1], "fail") != 0) {
		cfg_err(p, "'monitor' expects 'fail' followed by 'if' or 'unless'");
		return -1;
	}
	if (n < 4) {
		cfg_err(p, "'monitor fail' expects 'if' or 'unless' followed by a "
		    "condition");
		return -1;
	}
	if (acl_cond_opt(&rc.ap, &px->acls, args + 2, n - 2, &c) < 0)
		return -1;
	v = u_alloc(p->c->arena, (size_t)(px->nmonitor_fail + 1) * sizeof(*v));
	if (px->nmonitor_fail)
		memcpy(v, px->monitor_fail, (size_t)px->nmonitor_fail * sizeof(*v));
	v[px->nmonitor_fail++] = c;
	px->monitor_fail = v;
	return 0;
}

/* load-server-state-from-file global|local|none (read at start-up) */
static int
cfg_kw_state_load(struct cfgp *p, void *obj, char **args, int n)
{
	static const char *const how[] = { "none", "global", "local", NULL };
	int k = n == 2 ? cfg_word_index(how, args[1]) : -1;

	if (k < 0) {
		cfg_err(p, "'load-server-state-from-file' expects 'global', 'local' or "
		    "'none'. Got '%s'", n > 1 ? args[1] : "");
		return -1;
	}
	((struct proxy *)obj)->state_load = k;
	return 0;
}

static int
cfg_kw_state_name(struct cfgp *p, void *obj, char **args, int n)
{
	if (n != 2) {
		cfg_err(p, "'server-state-file-name' expects a file name");
		return -1;
	}
	((struct proxy *)obj)->state_name = u_strdup(p->c->arena, args[1]);
	return 0;
}

/* "id N" of a proxy: its iid in the stats (the others get the next free
 * numbers, see cfg_number) */
static int
cfg_kw_id(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	long long v;

	if (n != 2 || u_parse_int(args[1], 1, INT_MAX, &v) < 0) {
		cfg_err(p, "'id' expects a positive integer");
		return -1;
	}
	px->uuid = (int)v;
	px->uuid_set = 1;
	return 0;
}

/* "log-send-hostname [NAME]": the syslog header's host, the system's
 * host name without an argument */
static int
cfg_g_log_host(struct cfgp *p, void *obj, char **args, int n)
{
	char host[256];

	(void)obj;
	if (n > 2) {
		cfg_err(p, "'log-send-hostname' expects at most one host name");
		return -1;
	}
	if (n == 2) {
		p->c->log_host = u_strdup(p->c->arena, args[1]);
		return 0;
	}
	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) < 0) {
		cfg_err(p, "'log-send-hostname': cannot get the host name");
		return -1;
	}
	p->c->log_host = u_strdup(p->c->arena, host);
	return 0;
}

/* "description TEXT..." of a proxy or the global section: the words
 * joined by spaces, as HAProxy does */
static char *
cfg_words(struct cfgp *p, char **args, int n)
{
	size_t len = 1;
	char *t;
	int i;

	for (i = 1; i < n; i++)
		len += strlen(args[i]) + 1;
	t = u_alloc(p->c->arena, len);
	for (i = 1; i < n; i++) {
		if (i > 1)
			strcat(t, " ");
		strcat(t, args[i]);
	}
	return t;
}

static int
cfg_kw_description(struct cfgp *p, void *obj, char **args, int n)
{
	if (n < 2) {
		cfg_err(p, "'description' expects a string argument");
		return -1;
	}
	if (p->section == SEC_GLOBAL)
		p->c->desc = cfg_words(p, args, n);
	else
		((struct proxy *)obj)->desc = cfg_words(p, args, n);
	return 0;
}

/* "stats X" of a proxy: lo is the exact word count a parser needs (0: any) */
#define STATS_FN(name, nw, fn)	{ name, KW_FN, 0, 0, nw, 0, fn, NULL }
static const struct cfg_kw cfg_stats_kws[] = {
	STATS_FN("enable", 0, cfg_stats_enable),
	STATS_FN("uri", 3, cfg_stats_uri),
	STATS_FN("refresh", 3, cfg_stats_refresh),
	STATS_FN("auth", 3, cfg_stats_auth),
	STATS_FN("prometheus-uri", 3, cfg_stats_prom),
	STATS_FN("admin", 0, cfg_stats_admin),
	STATS_FN("realm", 3, cfg_stats_realm),
	STATS_FN("hide-version", 2, cfg_stats_flag),
	STATS_FN("show-legends", 2, cfg_stats_flag),
	STATS_FN("show-node", 0, cfg_stats_flag),
	STATS_FN("show-desc", 0, cfg_stats_flag),
	STATS_FN("scope", 3, cfg_stats_scope),
	CFG_QUIET("show-modules", "no extra statistics modules: waxlb has "
	    "none to show"),
};
#undef STATS_FN

static int
cfg_kw_stats(struct cfgp *p, void *obj, char **args, int n)
{
	const struct cfg_kw *kw = cfg_sub_kw(p, cfg_stats_kws, NELEM(cfg_stats_kws),
	    args, n, "'stats' expects a keyword", "unknown or incomplete 'stats %s'");

	if (kw == NULL)
		return -1;
	if (kw->kind == KW_FN && kw->lo && n != kw->lo) {
		cfg_err(p, "unknown or incomplete 'stats %s'", args[1]);
		return -1;
	}
	if (kw->kind == KW_FN)
		return kw->fn(p, obj, args, n);
	if (kw->kind == KW_IGN)
		cfg_warn(p, "%s", kw->text);
	return 0;
}

/* ---- error pages: errorfile, errorloc, errorfiles, http-error ---- */

/* The slot of status <code> (a word), or -1 after an error. */
static int
cfg_err_slot(struct cfgp *p, const char *kw, const char *code)
{
	long long v;
	int slot = -1;

	if (u_parse_int(code, 0, 999, &v) == 0)
		slot = h1_err_slot((int)v);
	if (slot < 0)
		cfg_err(p, "%s: status code '%s' not handled", kw, code);
	return slot;
}

static const struct h1_page *
cfg_page_new(struct cfgp *p, const char *path, struct err_page **out)
{
	struct err_page *e = u_alloc(p->c->arena, sizeof(*e));

	e->path = path ? u_strdup(p->c->arena, path) : NULL;
	e->file = u_strdup(p->c->arena, p->err.file);
	e->line = p->err.line;
	e->next = p->c->errpages;
	p->c->errpages = e;
	*out = e;
	return &e->pg;
}

/* A page from a raw response: a file or errorloc's text (<whole>: as
 * HAProxy's errmsg replies), or what http-error builds. */
static const struct h1_page *
cfg_page_raw(struct cfgp *p, const char *kw, const char *path,
    const char *raw, size_t len, int whole)
{
	struct err_page *e;
	char *o = u_alloc(p->c->arena, 2 * len + 2);
	const char *why = NULL;

	cfg_page_new(p, path, &e);
	if (h1_page_parse(raw, len, o, 2 * len + 2, &e->pg, &why) < 0) {
		if (path)
			cfg_err(p, "%s: '%s': %s", kw, path, why);
		else
			cfg_err(p, "%s: invalid error message: %s", kw, why);
		return NULL;
	}
	e->pg.whole = (unsigned char)whole;
	return &e->pg;
}

/* Read a file of at most tune.bufsize bytes (/dev/null works: its size is
 * what read() says).  malloc'd, or NULL after an error. */
static char *
cfg_slurp(struct cfgp *p, const char *kw, const char *path, size_t *len)
{
	size_t cap = (size_t)p->c->bufsize + 1, n = 0;
	char *b;
	ssize_t r = 0;
	/* O_NONBLOCK: a FIFO or a terminal given as a file cannot hang the load */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		cfg_err(p, "%s: error opening file '%s'", kw, path);
		return NULL;
	}
	b = u_calloc(1, cap);
	while (n < cap && ((r = read(fd, b + n, cap - n)) > 0 ||
	    (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	close(fd);
	if (n < cap && r < 0)
		cfg_err(p, "%s: error reading file '%s'", kw, path);
	else if (n == cap)	/* HAProxy truncates and warns; a cut page is no page */
		cfg_err(p, "%s: file '%s' exceeds tune.bufsize (%d bytes)", kw, path,
		    p->c->bufsize);
	else {
		*len = n;
		return b;
	}
	free(b);
	return NULL;
}

/* An errorfile: read once per path, as HAProxy caches it. */
static const struct h1_page *
cfg_page_file(struct cfgp *p, const char *kw, const char *path)
{
	const struct h1_page *pg;
	struct err_page *e;
	size_t len;
	char *raw;

	for (e = p->c->errpages; e; e = e->next)
		if (e->path && strcmp(e->path, path) == 0)
			return &e->pg;
	if ((raw = cfg_slurp(p, kw, path, &len)) == NULL)
		return NULL;
	pg = cfg_page_raw(p, kw, path, raw, len, 1);
	free(raw);
	return pg;
}

/* A proxy's directive, kept in order until the sections are all known. */
static struct err_conf *
cfg_errconf_add(struct cfgp *p, struct proxy *px, int kind, int slot)
{
	struct err_conf *ec = u_alloc(p->c->arena, sizeof(*ec)), **tail;

	ec->kind = kind;
	ec->slot = slot;
	ec->file = u_strdup(p->c->arena, p->err.file);
	ec->line = p->err.line;
	for (tail = &px->errconf; *tail; tail = &(*tail)->next)
		;
	*tail = ec;
	return ec;
}

static int
cfg_kw_errorfile(struct cfgp *p, void *obj, char **args, int n)
{
	const struct h1_page *pg;
	int slot;

	if (n != 3) {
		cfg_err(p, "%s: expects <status_code> and <file> as arguments%s",
		    args[0], n > 3 ? ", and nothing more" : "");
		return -1;
	}
	if ((slot = cfg_err_slot(p, args[0], args[1])) < 0 ||
	    (pg = cfg_page_file(p, args[0], args[2])) == NULL)
		return -1;
	cfg_errconf_add(p, obj, ERRC_PAGE, slot)->pg = pg;
	return 0;
}

/* errorloc, errorloc302, errorloc303: HAProxy's redirect message. */
static int
cfg_kw_errorloc(struct cfgp *p, void *obj, char **args, int n)
{
	int c303 = strcmp(args[0], "errorloc303") == 0, slot, len;
	const struct h1_page *pg;
	char *raw;

	if (n != 3) {
		cfg_err(p, "%s: expects <status_code> and <url> as arguments%s", args[0],
		    n > 3 ? ", and nothing more" : "");
		return -1;
	}
	if ((slot = cfg_err_slot(p, args[0], args[1])) < 0)
		return -1;
	len = (int)strlen(args[2]) + 100;
	raw = u_calloc(1, (size_t)len);
	len = snprintf(raw, (size_t)len, "HTTP/1.1 %s\r\nCache-Control: no-cache\r\n"
	    "Content-length: 0\r\nLocation: %s\r\n\r\n", c303 ? "303 See Other" :
	    "302 Found", args[2]);
	pg = cfg_page_raw(p, args[0], NULL, raw, (size_t)len, 1);
	free(raw);
	if (pg == NULL)
		return -1;
	cfg_errconf_add(p, obj, ERRC_PAGE, slot)->pg = pg;
	return 0;
}

/* errorfiles NAME [CODE...]: from an http-errors section, all or some. */
static int
cfg_kw_errorfiles(struct cfgp *p, void *obj, char **args, int n)
{
	struct err_conf *ec;
	unsigned slots = 0;
	int i, slot;

	if (n < 2) {
		cfg_err(p, "%s: expects <name> as argument", args[0]);
		return -1;
	}
	for (i = 2; i < n; i++) {
		if ((slot = cfg_err_slot(p, args[0], args[i])) < 0)
			return -1;
		slots |= 1u << slot;
	}
	ec = cfg_errconf_add(p, obj, ERRC_SECTION, -1);
	ec->section = u_strdup(p->c->arena, args[1]);
	ec->slots = n > 2 ? slots : (1u << H1_ERR_CODES) - 1;
	ec->listed = n > 2;
	return 0;
}

/* The words of "http-error" (HAProxy's http reply arguments). */
enum { HE_STATUS, HE_CTYPE, HE_DEFAULT, HE_ERRORFILE, HE_ERRORFILES, HE_FILE,
	HE_STRING, HE_LF };
static const struct {
	const char	*name;
	unsigned char	 kind;		/* HE_* */
	unsigned char	 nargs;
	unsigned char	 payload;	/* one of these at most */
} cfg_herr_words[] = {
	{ "status", HE_STATUS, 1, 0 },
	{ "content-type", HE_CTYPE, 1, 0 },
	{ "default-errorfiles", HE_DEFAULT, 0, 1 },
	{ "errorfile", HE_ERRORFILE, 1, 1 },
	{ "errorfiles", HE_ERRORFILES, 1, 1 },
	{ "file", HE_FILE, 1, 1 },
	{ "string", HE_STRING, 1, 1 },
	{ "lf-file", HE_LF, 1, 1 },
	{ "lf-string", HE_LF, 1, 1 },
	{ "hdr", HE_LF, 2, 0 },
};

/* What an http-error line says. */
struct cfg_herr {
	long long	 status;
	const char	*ctype;
	int		 kind;		/* the payload's HE_*, -1: none */
	const char	*act;		/* its word, for messages */
	const char	*arg;		/* its argument */
};

/* lf-file, lf-string and hdr take log-format text.  The one place where a
 * log-format engine would plug in: it would compile the text here into a
 * page rendered per request by sess_page_write(). */
static int
cfg_herr_lf(struct cfgp *p, const char *word)
{
	cfg_err(p, "http-error: '%s': log-format error pages are not supported yet",
	    word);
	return -1;
}

/* The words of an http-error line into *h; -1 after an error. */
static int
cfg_herr_words_of(struct cfgp *p, char **args, int n, struct cfg_herr *h)
{
	size_t k;
	int i;

	memset(h, 0, sizeof(*h));
	h->kind = -1;
	for (i = 1; i < n; i += 1 + cfg_herr_words[k].nargs) {
		for (k = 0; k < NELEM(cfg_herr_words); k++)
			if (strcmp(cfg_herr_words[k].name, args[i]) == 0)
				break;
		if (k == NELEM(cfg_herr_words)) {
			cfg_err(p, "http-error: unknown keyword '%s'", args[i]);
			return -1;
		}
		if (i + cfg_herr_words[k].nargs >= n) {
			cfg_err(p, "http-error: '%s' expects %s as argument%s", args[i],
			    cfg_herr_words[k].nargs == 2 ? "<name> and <fmt>" : "a value",
			    cfg_herr_words[k].nargs == 2 ? "s" : "");
			return -1;
		}
		if (cfg_herr_words[k].kind == HE_LF)
			return cfg_herr_lf(p, args[i]);
		if (cfg_herr_words[k].payload && h->kind >= 0) {
			cfg_err(p, "http-error: unexpected '%s' argument, '%s' already "
			    "defined", args[i], h->act);
			return -1;
		}
		if (cfg_herr_words[k].kind == HE_STATUS) {
			if (u_parse_int(args[i + 1], 200, 599, &h->status) < 0) {
				cfg_err(p, "http-error: unexpected status code '%s'", args[i + 1]);
				return -1;
			}
		} else if (cfg_herr_words[k].kind == HE_CTYPE)
			h->ctype = args[i + 1];
		else {
			h->kind = cfg_herr_words[k].kind;
			h->act = args[i];
			h->arg = cfg_herr_words[k].nargs ? args[i + 1] : NULL;
		}
	}
	if (h->status == 0) {
		cfg_err(p, "http-error: expects at least a <status> as arguments");
		return -1;
	}
	return 0;
}

/* A page HAProxy builds from a status, a content type and a body. */
static const struct h1_page *
cfg_herr_page(struct cfgp *p, const struct cfg_herr *h, const char *body,
    size_t blen)
{
	size_t cap = blen + strlen(h->ctype ? h->ctype : "") + 200;
	char *raw = u_calloc(1, cap);
	const struct h1_page *pg;
	int n = snprintf(raw, cap, "HTTP/1.1 %d %s\r\ncontent-length: %zu\r\n%s%s%s\r\n",
	    (int)h->status, h1_gen_reason((int)h->status), blen,
	    h->ctype ? "content-type: " : "", h->ctype ? h->ctype : "",
	    h->ctype ? "\r\n" : "");

	memcpy(raw + n, body, blen);
	pg = cfg_page_raw(p, "http-error", NULL, raw, (size_t)n + blen, 0);
	free(raw);
	return pg;
}

/* http-error "file" and "string": a body of its own. */
static const struct h1_page *
cfg_herr_body(struct cfgp *p, struct cfg_herr *h)
{
	const struct h1_page *pg;
	size_t len = 0;
	char *body = NULL;

	if (h->kind == HE_FILE && (body = cfg_slurp(p, "http-error", h->arg, &len)) == NULL)
		return NULL;
	if (h->kind == HE_STRING)
		len = strlen(h->arg);
	if (len && h->ctype == NULL)
		cfg_err(p, "http-error: a content type must be defined when non-empty "
		    "payload is configured");
	else {
		if (len == 0 && h->ctype) {
			cfg_warn(p, "http-error: content-type '%s' ignored with an empty "
			    "payload", h->ctype);
			h->ctype = NULL;
		}
		pg = cfg_herr_page(p, h, body ? body : h->arg, len);
		free(body);
		return pg;
	}
	free(body);
	return NULL;
}

static int
cfg_kw_http_error(struct cfgp *p, void *obj, char **args, int n)
{
	const struct h1_page *pg = NULL;
	struct cfg_herr h;
	struct err_conf *ec;
	int slot;

	if (cfg_herr_words_of(p, args, n, &h) < 0)
		return -1;
	if ((slot = h1_err_slot((int)h.status)) < 0) {
		cfg_err(p, "http-error: status code '%d' not handled", (int)h.status);
		return -1;
	}
	if (h.ctype && (h.kind < 0 || h.kind == HE_DEFAULT || h.kind == HE_ERRORFILE ||
	    h.kind == HE_ERRORFILES)) {
		cfg_warn(p, "http-error: content-type '%s' ignored %s", h.ctype, h.kind < 0 ?
		    "without a payload" : "with an errorfile");
		h.ctype = NULL;
	}
	if (h.kind == HE_DEFAULT) {
		cfg_errconf_add(p, obj, ERRC_RESET, slot);
		return 0;
	}
	if (h.kind == HE_ERRORFILES) {
		ec = cfg_errconf_add(p, obj, ERRC_SECTION, -1);
		ec->section = u_strdup(p->c->arena, h.arg);
		ec->slots = 1u << slot;
		ec->listed = 1;
		return 0;
	}
	if (h.kind == HE_ERRORFILE)
		pg = cfg_page_file(p, "http-error", h.arg);
	else if (h.kind < 0)
		pg = cfg_herr_page(p, &h, "", 0);
	else
		pg = cfg_herr_body(p, &h);
	if (pg == NULL)
		return -1;
	cfg_errconf_add(p, obj, ERRC_PAGE, slot)->pg = pg;
	return 0;
}

/* ---- http-errors sections ---- */

static int
cfg_sec_errors(struct cfgp *p, void *obj, char **args, int n)
{
	struct http_errors *e, **tail;
	const char *c;

	(void)obj;
	p->cur = NULL;
	p->section = SEC_IGNORED;
	if (n < 2) {
		cfg_err(p, "missing name for http-errors section");
		return -1;
	}
	for (c = args[1]; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-_.:", *c)) {
			cfg_err(p, "character '%c' is not permitted in 'http-errors' name "
			    "'%s'", *c, args[1]);
			return -1;
		}
	for (tail = &p->c->errsecs; *tail; tail = &(*tail)->next)
		if (strcmp((*tail)->name, args[1]) == 0) {
			cfg_err(p, "http-errors section '%s' already exists (declared at "
			    "%s:%d)", args[1], (*tail)->file, (*tail)->line);
			return -1;
		}
	e = *tail = u_alloc(p->c->arena, sizeof(*e));
	e->name = u_strdup(p->c->arena, args[1]);
	e->file = u_strdup(p->c->arena, p->err.file);
	e->line = p->err.line;
	p->errsec = e;
	p->section = SEC_ERRORS;
	return 0;
}

/* A line of an http-errors section: "errorfile <code> <file>" only. */
static void
cfg_errors_line(struct cfgp *p, char **args, int n)
{
	const struct h1_page *pg;
	int slot;

	if (strcmp(args[0], "errorfile") != 0) {
		cfg_err(p, "unknown keyword '%s' in 'http-errors' section", args[0]);
		return;
	}
	if (n != 3) {
		cfg_err(p, "errorfile: expects <status_code> and <file> as arguments%s",
		    n > 3 ? ", and nothing more" : "");
		return;
	}
	if ((slot = cfg_err_slot(p, args[0], args[1])) >= 0 &&
	    (pg = cfg_page_file(p, args[0], args[2])) != NULL)
		p->errsec->pg[slot] = pg;
}

/* clitcpka-cnt|idle|intvl, srvtcpka-...: TCP_KEEPCNT, TCP_KEEPIDLE,
 * TCP_KEEPINTVL for option clitcpka / srvtcpka; times in seconds unless
 * a unit is given, as HAProxy. */
static int
cfg_kw_tcpka(struct cfgp *p, void *obj, char **args, int n)
{
	struct proxy *px = obj;
	int k = args[0][0] == 's', *f;
	const char *what = args[0] + 9;
	long long v;
	unsigned ms;

	f = what[0] == 'c' ? &px->tcpka_cnt[k] : what[1] == 'd' ?
	    &px->tcpka_idle[k] : &px->tcpka_intvl[k];
	if (n == 2 && f == &px->tcpka_cnt[k] &&
	    u_parse_int(args[1], 1, INT_MAX, &v) == 0) {
		*f = (int)v;
		return 0;
	}
	if (n == 2 && f != &px->tcpka_cnt[k]) {
		if (u_parse_int(args[1], 1, 32767, &v) == 0) {
			*f = (int)v;
			return 0;
		}
		if (u_parse_time(args[1], &ms) == 0 && ms >= 1000) {
			*f = (int)(ms / 1000 > 32767 ? 32767 : ms / 1000);
			return 0;
		}
	}
	cfg_err(p, "'%s' expects %s", args[0], f == &px->tcpka_cnt[k] ?
	    "a positive count" : "a time of at least 1s (seconds by default)");
	return -1;
}

/* rate-limit sessions <rate> */
static int
cfg_kw_rate_limit(struct cfgp *p, void *obj, char **args, int n)
{
	long long v;

	if (n != 3 || strcmp(args[1], "sessions") ||
	    u_parse_int(args[2], 0, INT_MAX, &v) < 0) {
		cfg_err(p, "'rate-limit' expects 'sessions' and a number per second");
		return -1;
	}
	((struct proxy *)obj)->rate_sess = (int)v;
	return 0;
}

#define PX_INT(name, where, field, lo, hi, what) \
	{ name, KW_INT, where, offsetof(struct proxy, field), lo, hi, NULL, what }
#define PX_IGN(name, why)	{ name, KW_IGN, 0, 0, 0, 0, NULL, why }
static const struct cfg_kw cfg_proxy_kws[] = {
	CFG_FN("mode", 0, cfg_kw_mode),
	CFG_FN("timeout", 0, cfg_kw_timeout),
	PX_INT("maxconn", PK_FE, maxconn, 0, INT_MAX, "an integer"),
	PX_INT("backlog", PK_FE, backlog, 0, INT_MAX, "an integer"),
	CFG_FN("rate-limit", PK_FE, cfg_kw_rate_limit),
	CFG_FN("clitcpka-cnt", PK_FE, cfg_kw_tcpka),
	CFG_FN("clitcpka-idle", PK_FE, cfg_kw_tcpka),
	CFG_FN("clitcpka-intvl", PK_FE, cfg_kw_tcpka),
	CFG_FN("srvtcpka-cnt", PK_BE, cfg_kw_tcpka),
	CFG_FN("srvtcpka-idle", PK_BE, cfg_kw_tcpka),
	CFG_FN("srvtcpka-intvl", PK_BE, cfg_kw_tcpka),
	PX_INT("retries", 0, retries, 0, 1000, "an integer"),
	{ "retry-on", KW_FN, PK_BE | PK_STRICT, 0, 0, 0, cfg_kw_retry_on,
	    NULL },
	CFG_FN("http-reuse", PK_BE, cfg_kw_http_reuse),
	CFG_FN("option", 0, cfg_kw_option),
	CFG_FN("no", 0, cfg_kw_no),
	CFG_FN("balance", PK_BE, cfg_kw_balance),
	CFG_FN("http-check", 0, cfg_kw_http_check),
	CFG_FN("log", 0, cfg_kw_log),
	CFG_FN("stats", PK_FE, cfg_kw_stats),
	CFG_FN("default-server", 0, cfg_kw_default_server),
	CFG_FN("server", PK_NODEF | PK_BE | PK_STRICT, cfg_kw_server),
	CFG_FN("bind", PK_NODEF | PK_FE | PK_STRICT, cfg_kw_bind),
	CFG_FN("acl", PK_NODEF, cfg_kw_acl),
	CFG_FN("use_backend", PK_NODEF | PK_FE, cfg_kw_use_backend),
	CFG_FN("default_backend", PK_FE, cfg_kw_default_backend),
	{ "http-request", KW_FN, PK_NODEF, 0, 0, 0, cfg_kw_http_rules,
	    "'http-request' rules in a defaults section are not supported" },
	{ "http-response", KW_FN, PK_NODEF, 0, 0, 0, cfg_kw_http_rules,
	    "'http-response' rules in a defaults section are not supported" },
	{ "http-after-response", KW_FN, PK_NODEF, 0, 0, 0, cfg_kw_http_rules,
	    "'http-after-response' rules in a defaults section are not supported" },
	{ "tcp-request", KW_FN, PK_NODEF, 0, 0, 0, cfg_kw_tcp_request,
	    "'tcp-request' rules in a defaults section are not supported" },
	CFG_FN("capture", PK_NODEF | PK_FE | PK_STRICT, cfg_kw_capture),
	CFG_FN("declare", PK_NODEF | PK_FE | PK_STRICT, cfg_kw_declare),
	CFG_FN("log-format", 0, cfg_kw_format),
	CFG_FN("unique-id-format", 0, cfg_kw_format),
	CFG_FN("unique-id-header", 0, cfg_kw_uid_header),
	CFG_FN("log-tag", 0, cfg_kw_log_tag),
	CFG_FN("redirect", PK_DEFSKIP | PK_FE, cfg_kw_redirect),
	CFG_FN("description", PK_NODEF, cfg_kw_description),
	CFG_FN("id", PK_NODEF, cfg_kw_id),
	CFG_FN("errorfile", 0, cfg_kw_errorfile),
	CFG_FN("errorfiles", 0, cfg_kw_errorfiles),
	CFG_FN("errorloc", 0, cfg_kw_errorloc),
	CFG_FN("errorloc302", 0, cfg_kw_errorloc),
	CFG_FN("errorloc303", 0, cfg_kw_errorloc),
	CFG_FN("http-error", 0, cfg_kw_http_error),
	CFG_NO("compression", "'compression' is not supported: waxlb forwards "
	    "bodies as the servers send them; compress on the servers"),
	PX_IGN("hash-type", "used only by hash-based 'balance', which is refused"),
	PX_IGN("fullconn", "used only with server 'minconn', which is refused"),
	CFG_NO("tcp-response", "'tcp-response' rules are not supported: use "
	    "'http-response' rules (HTTP mode)"),
	CFG_FN("monitor-uri", PK_FE, cfg_kw_monitor_uri),
	CFG_FN("monitor", PK_NODEF | PK_FE, cfg_kw_monitor),
	CFG_NO("email-alert", "'email-alert' is not supported: waxlb sends no "
	    "mail; alert on the log lines of server state changes"),
	CFG_NO("cookie", "'cookie' is not supported: waxlb has no cookie "
	    "persistence (API nodes are stateless); remove it, each request is "
	    "balanced"),
	CFG_NO("max-keep-alive-queue", "'max-keep-alive-queue' is not "
	    "supported: waxlb does not queue for a client's previous server; "
	    "remove it"),
	CFG_NO("persist", "'persist rdp-cookie' is not supported: waxlb has no "
	    "persistence; remove it"),
	CFG_FN("stick-table", PK_NODEF, cfg_kw_stick_table),
	CFG_NO("stick", "'stick' rules are not supported yet: waxlb has no "
	    "persistence (stick tables store nothing); remove them, each request "
	    "is balanced"),
	CFG_NO("grace", "'grace' is not supported (HAProxy 2.6 refuses it too, "
	    "since 2.5): remove it"),
	CFG_NO("dispatch", "'dispatch' is not supported: declare the address "
	    "with a 'server' line"),
	CFG_FN("server-state-file-name", PK_BE, cfg_kw_state_name),
	CFG_FN("load-server-state-from-file", PK_BE, cfg_kw_state_load),
	PX_IGN("external-check", "external checks are not run"),
	CFG_FN("log-format-sd", 0, cfg_kw_format),
	CFG_FN("error-log-format", 0, cfg_kw_format),
	CFG_NO("filter", "'filter' is not supported: waxlb has no filters "
	    "(compression, cache, SPOE, trace); remove it"),
	CFG_NO("force-persist", "'force-persist' is not supported: waxlb has no "
	    "persistence; remove it"),
	CFG_NO("ignore-persist", "'ignore-persist' is not supported: waxlb has "
	    "no persistence; remove it"),
};
#undef PX_INT
#undef PX_IGN

/* "balance" where it has no effect: what HAProxy 2.6's
 * backend_parse_balance() refuses all the same, as it words it, or NULL.
 * The options of hdr(), random() and rdp-cookie are not checked. */
static const char *
cfg_nocap_balance(char **args, int n)
{
	static const char *const names[] = { "roundrobin", "static-rr", "first",
	    "leastconn", "source", "uri", "url_param", "hash", NULL };
	const char *a = args[1];
	long long v;
	int i;

	if (strcmp(a, "url_param") == 0 && n < 3)
		return "url_param requires an URL parameter name.";
	if (strcmp(a, "hash") == 0 && n < 3)
		return "hash requires a sample expression.";
	for (i = 2; strcmp(a, "uri") == 0 && i < n; i++) {
		if (strcmp(args[i], "whole") == 0 || strcmp(args[i], "path-only") == 0)
			continue;
		if ((strcmp(args[i], "len") != 0 && strcmp(args[i], "depth") != 0) ||
		    i + 1 >= n || u_parse_int(args[++i], 1, INT_MAX, &v) < 0)
			return "uri only accepts parameters 'len', 'depth', "
			    "'path-only', and 'whole' (or a bad number after them).";
	}
	if (cfg_word_index(names, a) >= 0 || strncmp(a, "random", 6) == 0 ||
	    strncmp(a, "hdr(", 4) == 0 || strncmp(a, "rdp-cookie", 10) == 0)
		return NULL;
	return "only supports 'roundrobin', 'static-rr', 'leastconn', 'source', "
	    "'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.";
}

/* A keyword ignored for a missing capability: HAProxy parses its
 * arguments all the same and refuses the config when it cannot, so
 * haproxy -c and waxlb -c agree (it takes any maxconn value: atol). */
static void
cfg_nocap_args(struct cfgp *p, char **args, int n)
{
	int mc = strcmp(args[0], "maxconn") == 0;
	const char *why;

	if (mc || strcmp(args[0], "default_backend") == 0) {
		if (n < 2)
			cfg_err(p, "'%s' expects %s", args[0], mc ?
			    "an integer argument" : "a backend name");
		else if (n > 2)
			cfg_err(p, "'%s' cannot handle unexpected argument '%s'",
			    args[0], args[2]);
	} else if (strcmp(args[0], "balance") == 0 && n > 1 &&
	    (why = cfg_nocap_balance(args, n)) != NULL)
		cfg_err(p, "balance %s", why);
}

static void
cfg_proxy_line(struct cfgp *p, struct proxy *px, char **args, int n)
{
	const struct cfg_kw *kw = cfg_kw_find(cfg_proxy_kws, NELEM(cfg_proxy_kws),
	    args[0]);

	if (kw == NULL)
		cfg_err(p, "unknown keyword '%s' in '%s' section", args[0],
		    cfg_section_name(p, px));
	else if (cfg_kw_allowed(p, kw, px))
		cfg_kw_line(p, kw, px, args, n, "'%s'");
	else if (p->section != SEC_DEFAULTS)
		cfg_nocap_args(p, args, n);
}

/* ---- global keywords ---- */

static int
cfg_g_id(struct cfgp *p, void *obj, char **args, int n)
{
	struct config *c = obj;
	long long v;

	if (n != 2 || u_parse_int(args[1], 0, 4294967294LL, &v) < 0) {
		cfg_err(p, "'%s' expects a number", args[0]);
		return -1;
	}
	*(args[0][0] == 'u' ? &c->uid : &c->gid) = (long)v;
	return 0;
}

static int
cfg_g_log(struct cfgp *p, void *obj, char **args, int n)
{
	return cfg_log_add(p, &((struct config *)obj)->logs, args, n);
}

static int
cfg_g_ciphers(struct cfgp *p, void *obj, char **args, int n)
{
	struct config *c = obj;

	if (n != 2) {
		cfg_err(p, "'%s' expects a cipher list", args[0]);
		return -1;
	}
	if (cfg_ciphers_check(p, args[0], args[1]) < 0)
		return -1;
	c->ssl_ciphers = u_strdup(p->c->arena, args[1]);
	return 0;
}

/* ssl-default-server-ciphers, and the ciphersuites keywords: checked,
 * then ignored */
static int
cfg_g_ign_ciphers(struct cfgp *p, void *obj, char **args, int n)
{
	char what[64];

	(void)obj;
	if (n != 2) {
		cfg_err(p, "'%s' expects a cipher list", args[0]);
		return -1;
	}
	snprintf(what, sizeof(what), "global '%s'", args[0]);
	cfg_ciphers_ignored(p, what, args[1]);
	return 0;
}

/* One option of ssl-default-bind-options; the number of values it took
 * (ssl-min-ver, ssl-max-ver: 1), or -1. */
static int
cfg_g_bind_option(struct cfgp *p, struct config *c, char **args, int n)
{
	int max = strcmp(args[0], "ssl-max-ver") == 0;

	if (strcmp(args[0], "no-tls-tickets") == 0 ||	/* BearSSL has none */
	    strcmp(args[0], "no-sslv3") == 0 || strcmp(args[0], "no-tlsv13") == 0)
		return 0;
	if (strcmp(args[0], "prefer-client-ciphers") == 0) {
		c->ssl_prefer_client = 1;
		return 0;
	}
	if (strcmp(args[0], "no-tlsv10") == 0 || strcmp(args[0], "no-tlsv11") == 0) {
		cfg_tls_floor(&c->ssl_vfloor, args[0]);
		return 0;
	}
	if (strncmp(args[0], "force-", 6) == 0)
		return cfg_tls_force(p, args[0], &c->ssl_vmin, &c->ssl_vmax);
	if (!max && strcmp(args[0], "ssl-min-ver") != 0) {
		cfg_err(p, "unknown option '%s' on global statement "
		    "'ssl-default-bind-options'", args[0]);
		return -1;
	}
	if (n < 2 || cfg_tls_ver(args[1], max ? &c->ssl_vmax : &c->ssl_vmin) < 0) {
		if (max && n >= 2 && strcmp(args[1], "TLSv1.3") == 0) {
			cfg_warn(p, "ssl-max-ver TLSv1.3: BearSSL stops at TLSv1.2");
			return 1;
		}
		cfg_err(p, "%s '%s': expected TLSv1.0, TLSv1.1 or TLSv1.2 (BearSSL "
		    "has no TLSv1.3)", args[0], n < 2 ? "" : args[1]);
		return -1;
	}
	return 1;
}

static int
cfg_g_bind_options(struct cfgp *p, void *obj, char **args, int n)
{
	int i, r;

	if (n < 2) {
		cfg_err(p, "'%s' expects an option as an argument", args[0]);
		return -1;
	}
	for (i = 1; i < n; i += r + 1)
		if ((r = cfg_g_bind_option(p, obj, args + i, n - i)) < 0)
			return -1;
	return 0;
}

static int
cfg_g_curves(struct cfgp *p, void *obj, char **args, int n)
{
	if (n != 2) {
		cfg_err(p, "'%s' expects a curves suite as an argument", args[0]);
		return -1;
	}
	return cfg_curves_read(p, args[0], args[1],
	    &((struct config *)obj)->ssl_curves);
}

/* tune.ssl.lifetime: seconds unless a unit is given, rounded up to a
 * second as by HAProxy. */
static int
cfg_g_lifetime(struct cfgp *p, void *obj, char **args, int n)
{
	char buf[32];
	unsigned ms;

	snprintf(buf, sizeof(buf), "%s%s", n == 2 ? args[1] : "",
	    n == 2 && args[1][strspn(args[1], "0123456789")] == 0 ? "s" : "");
	if (n != 2 || u_parse_time(buf, &ms) < 0) {
		cfg_err(p, "'%s' expects ssl sessions <lifetime> in seconds as "
		    "argument", args[0]);
		return -1;
	}
	((struct config *)obj)->ssl_lifetime = ms / 1000 + (ms % 1000 != 0);
	return 0;
}

/* setenv / presetenv NAME VALUE: for the lines that follow, as HAProxy
 * (presetenv keeps a value already set). */
static int
cfg_g_setenv(struct cfgp *p, void *obj, char **args, int n)
{
	(void)obj;
	if (n != 3 || !*args[2]) {
		cfg_err(p, "'%s' expects a name and a value", args[0]);
		return -1;
	}
	if (setenv(args[1], args[2], args[0][0] == 's') != 0) {
		cfg_err(p, "'%s' failed on variable '%s' : %s", args[0], args[1],
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
cfg_g_unsetenv(struct cfgp *p, void *obj, char **args, int n)
{
	int i;

	(void)obj;
	if (n < 2 || !*args[1]) {
		cfg_err(p, "'%s' expects at least one variable name", args[0]);
		return -1;
	}
	for (i = 1; i < n && *args[i]; i++)
		if (unsetenv(args[i]) != 0) {
			cfg_err(p, "'%s' failed on variable '%s' : %s", args[0], args[i],
			    strerror(errno));
			return -1;
		}
	return 0;
}

/* resetenv [NAME...]: every variable but those named is removed. */
static int
cfg_g_resetenv(struct cfgp *p, void *obj, char **args, int n)
{
	extern char **environ;
	char **env = environ, name[256];
	size_t len;
	int i;

	(void)obj;
	while (env && *env) {
		len = strcspn(*env, "=");
		for (i = 1; i < n && *args[i]; i++)
			if (strlen(args[i]) == len && strncmp(*env, args[i], len) == 0)
				break;
		if (i < n && *args[i]) {
			env++;
			continue;
		}
		if (len >= sizeof(name) || (*env)[len] != '=') {
			cfg_err(p, "'%s' failed to unset invalid variable '%s'", args[0],
			    *env);
			return -1;
		}
		memcpy(name, *env, len);
		name[len] = 0;
		if (unsetenv(name) != 0) {	/* environ shifts down */
			cfg_err(p, "'%s' failed to unset variable '%s' : %s", args[0],
			    name, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* stats socket PATH [mode M] [level L] ... */
static int
cfg_gstats_socket(struct cfgp *p, struct config *c, char **args, int n)
{
	struct stats_sock_conf *sc = u_alloc(p->c->arena, sizeof(*sc)), **tail;
	static const char *const levels[] = { "user", "operator", "admin", NULL };
	char *end;
	int i, lv;

	if (args[2][0] != '/' && strncmp(args[2], "unix@", 5) != 0) {
		cfg_err(p, "stats socket: only unix socket paths are supported");
		return -1;
	}
	sc->path = u_strdup(p->c->arena, args[2][0] == '/' ? args[2] : args[2] + 5);
	if (strlen(sc->path) >= 100) {
		cfg_err(p, "stats socket: path too long");
		return -1;
	}
	sc->level = ACCESS_OPERATOR;	/* HAProxy's default */
	for (i = 3; i < n; i++) {
		const char *val = i + 1 < n ? args[i + 1] : NULL;

		if (val && strcmp(args[i], "mode") == 0) {
			sc->mode = (unsigned)strtoul(val, &end, 8);
			if (*end || sc->mode > 0777) {
				cfg_err(p, "stats socket: bad mode '%s'", val);
				return -1;
			}
		} else if (val && strcmp(args[i], "level") == 0) {
			if ((lv = cfg_word_index(levels, val)) < 0) {
				cfg_err(p, "stats socket: level must be user, operator or admin");
				return -1;
			}
			sc->level = ACCESS_USER + lv;
		} else if (val && (strcmp(args[i], "user") == 0 ||
		    strcmp(args[i], "group") == 0 || strcmp(args[i], "uid") == 0 ||
		    strcmp(args[i], "gid") == 0))
			cfg_warn(p, "stats socket: '%s' is ignored", args[i]);
		else if (!val || strcmp(args[i], "expose-fd") != 0) {
			cfg_err(p, "stats socket: unknown option '%s'", args[i]);
			return -1;
		}
		i++;
	}
	for (tail = &c->stats_socks; *tail; tail = &(*tail)->next)
		;
	*tail = sc;
	return 0;
}

static int
cfg_g_stats(struct cfgp *p, void *obj, char **args, int n)
{
	struct config *c = obj;

	if (n >= 3 && strcmp(args[1], "socket") == 0)
		return cfg_gstats_socket(p, c, args, n);
	if (n == 3 && strcmp(args[1], "timeout") == 0) {
		if (u_parse_time(args[2], &c->stats_timeout) < 0) {
			cfg_err(p, "stats timeout: bad time '%s'", args[2]);
			return -1;
		}
		return 0;
	}
	if (n >= 2 && (strcmp(args[1], "maxconn") == 0 ||
	    strcmp(args[1], "bind-process") == 0)) {
		cfg_warn(p, "'stats %s' is ignored by waxlb", args[1]);
		return 0;
	}
	cfg_err(p, "unknown 'stats %s' in global section", n > 1 ? args[1] : "");
	return -1;
}

/* tune.http.maxhdr: HAProxy takes 1..32767; waxlb's header table holds
 * HDR_MAX. */
static int
cfg_g_maxhdr(struct cfgp *p, void *obj, char **args, int n)
{
	long long v;

	if (n != 2 || u_parse_int(args[1], 1, 32767, &v) < 0) {
		cfg_err(p, "'tune.http.maxhdr' expects a number from 1 to 32767");
		return -1;
	}
	if (v > HDR_MAX) {
		cfg_err(p, "'tune.http.maxhdr %lld' is not supported: waxlb's header "
		    "table is fixed at %d entries; use %d (HAProxy's default) or less",
		    v, HDR_MAX, HDR_MAX);
		return -1;
	}
	((struct config *)obj)->maxhdr = (int)v;
	return 0;
}

#define G(name, kind, field, lo, hi, what) \
	{ name, kind, 0, offsetof(struct config, field), lo, hi, NULL, what }
static const struct cfg_kw cfg_global_kws[] = {
	G("maxconn", KW_INT, maxconn, 1, 10000000, "a positive integer"),
	G("tune.bufsize", KW_INT, bufsize, 4096, 1 << 24, "an integer from 4096"),
	G("tune.maxrewrite", KW_INT, maxrewrite, 256, 1 << 20, "an integer from 256"),
	G("tune.ssl.cachesize", KW_INT, ssl_cachesize, 0, 10000000, "an integer"),
	G("ulimit-n", KW_INT, ulimit_n, 64, 100000000, "a number of files"),
	G("hard-stop-after", KW_TIME, hard_stop_after, 0, 0, "a time"),
	G("debug", KW_FLAG, debug, 1, 0, NULL),
	G("daemon", KW_FLAG, daemon, 1, 0, NULL),
	G("pidfile", KW_STR, pidfile, 0, 0, "one argument"),
	G("chroot", KW_STR, chroot, 0, 0, "one argument"),
	G("user", KW_STR, user, 0, 0, "one argument"),
	G("group", KW_STR, group, 0, 0, "one argument"),
	G("crt-base", KW_STR, crt_base, 0, 0, "a directory"),
	CFG_FN("ssl-default-bind-ciphers", 0, cfg_g_ciphers),
	CFG_FN("uid", 0, cfg_g_id),
	CFG_FN("gid", 0, cfg_g_id),
	CFG_FN("log", 0, cfg_g_log),
	CFG_FN("stats", 0, cfg_g_stats),
	CFG_FN("ssl-default-bind-options", 0, cfg_g_bind_options),
	CFG_FN("ssl-default-bind-curves", 0, cfg_g_curves),
	CFG_FN("tune.ssl.lifetime", 0, cfg_g_lifetime),
	G("maxsslconn", KW_INT, maxsslconn, 0, INT_MAX, "a positive integer"),
	CFG_IGN("nbthread", "one thread by design"),
	CFG_IGN("nbproc", "one process by design"),
	CFG_IGN("cpu-map", "one thread by design"),
	CFG_IGN("ca-base", "no client or server certificates are verified"),
	CFG_IGNF("ssl-default-bind-ciphersuites", cfg_g_ign_ciphers,
	    "TLS 1.3 suites: BearSSL has no TLS 1.3"),
	CFG_IGNF("ssl-default-server-ciphers", cfg_g_ign_ciphers,
	    "no TLS towards servers"),
	CFG_IGNF("ssl-default-server-ciphersuites", cfg_g_ign_ciphers,
	    "no TLS towards servers"),
	CFG_IGN("ssl-default-server-options", "no TLS towards servers"),
	CFG_IGN("ssl-dh-param-file", "no DHE suites"),
	CFG_IGN("tune.ssl.default-dh-param", "no DHE suites"),
	G("spread-checks", KW_INT, spread_checks, 0, 50, "a percentage from 0 to 50"),
	CFG_IGN("ssl-server-verify", "no TLS towards servers"),
	CFG_IGN("tune.ssl.capture-cipherlist-size", "no cipher list capture"),
	CFG_FN("description", 0, cfg_kw_description),
	G("node", KW_STR, node, 0, 0, "a name"),
	CFG_IGN("master-worker", "one process: SIGUSR2 and SIGHUP reload it in-process, "
	    "as HAProxy's master does its workers"),
	CFG_IGN("quiet", "messages are few already"),
	CFG_FN("log-send-hostname", 0, cfg_g_log_host),
	CFG_FN("log-tag", 0, cfg_kw_log_tag),
	G("server-state-file", KW_STR, state_file, 0, 0, "a file name"),
	G("server-state-base", KW_STR, state_base, 0, 0, "a directory"),
	CFG_IGN("localpeer", "no peers"),
	CFG_FN("setenv", 0, cfg_g_setenv),
	CFG_FN("presetenv", 0, cfg_g_setenv),
	CFG_FN("unsetenv", 0, cfg_g_unsetenv),
	CFG_FN("resetenv", 0, cfg_g_resetenv),
	CFG_IGN("tune.maxaccept", "64 accepts per turn: fairness only"),
	CFG_IGN("tune.h2.max-concurrent-streams", "no HTTP/2"),
	CFG_NO("lua-load", "'lua-load' is not supported: waxlb has no Lua; "
	    "replace the script's actions with rules (for CORS: 'http-response "
	    "set-header Access-Control-Allow-Origin ...' and 'http-request return "
	    "status 204 ... if METH_OPTIONS')"),
	CFG_IGN("insecure-fork-wanted", "nothing is forked"),
	CFG_IGN("expose-experimental-directives", "none are used"),
	G("set-dumpable", KW_FLAG, dumpable, 1, 0, NULL),
	CFG_IGN("h1-case-adjust", "used only by 'option h1-case-adjust-bogus-*', "
	    "which is refused"),
	CFG_IGN("busy-polling", "CPU use and latency only: waxlb sleeps in poll()"),
	CFG_IGN("noepoll", "poll() is used"),
	CFG_IGN("nopoll", "poll() is used"),
	G("nosplice", KW_FLAG, nosplice, 1, 0, NULL),
	G("maxconnrate", KW_INT, maxconnrate, 0, INT_MAX, "a number per second"),
	G("maxsessrate", KW_INT, maxsessrate, 0, INT_MAX, "a number per second"),
	G("maxpipes", KW_INT, maxpipes, 0, INT_MAX, "a number of pipes"),
	G("tune.pipesize", KW_INT, pipesize, 0, 1 << 30, "a size in bytes"),
	CFG_FN("tune.http.maxhdr", 0, cfg_g_maxhdr),
};
#undef G

/* ---- sections ---- */

static int
cfg_sec_global(struct cfgp *p, void *obj, char **args, int n)
{
	(void)obj;
	(void)args;
	(void)n;
	p->section = SEC_GLOBAL;
	p->cur = NULL;
	return 0;
}

static int
cfg_sec_defaults(struct cfgp *p, void *obj, char **args, int n)
{
	(void)obj;
	p->section = SEC_DEFAULTS;
	/* each defaults section starts afresh, as in HAProxy */
	p->defaults = NULL;
	p->defaults = cfg_proxy_new(p, n > 1 ? args[1] : "", 0);
	p->cur = p->defaults;
	if (n > 2)
		cfg_warn(p, "defaults 'from' inheritance is ignored");
	return 0;
}

/* frontend, backend, listen */
static int
cfg_sec_proxy(struct cfgp *p, void *obj, char **args, int n)
{
	int cap = args[0][0] == 'f' ? CAP_FE : args[0][0] == 'b' ? CAP_BE :
	    CAP_FE | CAP_BE;
	struct proxy *px, *o, **tail;

	(void)obj;
	if (n < 2) {
		cfg_err(p, "'%s' expects a name", args[0]);
		p->section = SEC_IGNORED;
		return -1;
	}
	for (o = p->c->proxies; o; o = o->next)
		if (strcmp(o->name, args[1]) == 0 && (o->cap & cap)) {
			cfg_err(p, "%s '%s' has the same name as another one declared "
			    "at line %d", args[0], args[1], o->line);
			break;
		}
	px = cfg_proxy_new(p, args[1], cap);
	for (tail = &p->c->proxies; *tail; tail = &(*tail)->next)
		;
	*tail = px;
	p->section = SEC_PROXY;
	p->cur = px;
	if (cap == (CAP_FE | CAP_BE) && n > 2)
		return cfg_kw_bind(p, px, args + 1, n - 1);
	if (n > 2 && strcmp(args[2], "from") != 0)
		cfg_err(p, "unexpected '%s' after the %s name", args[2], args[0]);
	return 0;
}

#define SEC_IGN(name, why)	{ name, KW_IGN, 0, 0, 0, 0, NULL, why }
static const struct cfg_kw cfg_sections[] = {
	CFG_FN("global", 0, cfg_sec_global),
	CFG_FN("defaults", 0, cfg_sec_defaults),
	CFG_FN("frontend", 0, cfg_sec_proxy),
	CFG_FN("backend", 0, cfg_sec_proxy),
	CFG_FN("listen", 0, cfg_sec_proxy),
	CFG_FN("userlist", 0, cfg_sec_userlist),
	CFG_FN("http-errors", 0, cfg_sec_errors),
	SEC_IGN("peers", "no stick tables to share"),
	SEC_IGN("resolvers", "used only by server 'resolvers' (refused with a host "
	    "name)"),
	SEC_IGN("mailers", "used only by 'email-alert', which is refused"),
	SEC_IGN("cache", "used only by the cache actions, which are refused"),
	CFG_NO("program", "'program' sections are not supported: waxlb starts "
	    "no programs; run them from the init system (e.g. a systemd unit)"),
	SEC_IGN("ring", "used only by 'log ring@...', which is refused"),
	SEC_IGN("crt-store", "certificates are given on bind lines"),
	SEC_IGN("traces", "no traces"),
};
#undef SEC_IGN

static void
cfg_line(struct cfgp *p, char **args, int n)
{
	const struct cfg_kw *kw = cfg_kw_find(cfg_sections, NELEM(cfg_sections),
	    args[0]);

	if (kw)		/* as HAProxy: the name, else the section's kind */
		snprintf(p->secname, sizeof(p->secname), "%s",
		    n > 1 && *args[1] ? args[1] : args[0]);
	if (kw && kw->kind == KW_FN) {
		kw->fn(p, NULL, args, n);
		return;
	}
	if (kw && kw->kind == KW_NO) {
		/* its lines would only add errors */
		cfg_err(p, "%s", kw->text);
		p->section = SEC_IGNORED;
		return;
	}
	if (kw) {
		cfg_warn(p, "section '%s' is ignored by waxlb", args[0]);
		p->section = SEC_IGNORED;
		return;
	}
	switch (p->section) {
	case SEC_GLOBAL:
		kw = cfg_kw_find(cfg_global_kws, NELEM(cfg_global_kws), args[0]);
		if (kw == NULL)
			cfg_err(p, "unknown keyword '%s' in 'global' section", args[0]);
		else
			cfg_kw_line(p, kw, p->c, args, n, "global '%s'");
		break;
	case SEC_DEFAULTS:
	case SEC_PROXY:
		cfg_proxy_line(p, p->cur, args, n);
		break;
	case SEC_USERLIST:
		cfg_userlist_line(p, args, n);
		break;
	case SEC_ERRORS:
		cfg_errors_line(p, args, n);
		break;
	case SEC_IGNORED:
		break;
	default:
		cfg_err(p, "'%s' outside of any section", args[0]);
	}
}

/* The lines of text[0..size). */
static void
cfg_text(struct cfgp *p, const char *text, size_t size)
{
	char line[CFG_LINE_MAX], words[CFG_LINE_MAX * 2], *args[CFG_ARGS_MAX];
	const char *s = text, *end = text + size, *nl, *why = NULL;
	struct cfg_pos pos = { p->err.file, 0, p->secname };
	size_t len;
	int n;

	for (p->err.line = 1; s < end; p->err.line++, s = nl + 1) {
		nl = memchr(s, '\n', (size_t)(end - s));
		len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		if (len >= sizeof(line))
			cfg_err(p, "line too long (max %d bytes)", CFG_LINE_MAX - 1);
		else if (memchr(s, 0, len))
			cfg_err(p, "NUL byte in configuration line");
		else {
			memcpy(line, s, len);
			line[len] = 0;
			pos.line = p->err.line;
			if ((n = cfg_tokenize(line, words, sizeof(words), args,
			    CFG_ARGS_MAX, &pos, &why)) < 0)
				cfg_err(p, "%s", why);
			else if (n > 0)
				cfg_line(p, args, n);
		}
		if (nl == NULL)
			break;
	}
}

/* ---- TLS material of bind lines ---- */

/* waxlb's suites when no list is given, written in OpenSSL's language so
 * that ciph's table is the only one: ECDHE with AES-128-GCM, AES-256-GCM,
 * then ChaCha20 (OpenSSL's DEFAULT, HAProxy's, would add CBC and
 * static-RSA suites). */
#define CFG_DFLT_CIPHERS "ECDHE+AES128+AESGCM:ECDHE+AES256+AESGCM:ECDHE+CHACHA20"

_Static_assert(CIPH_BEAR_MAX <= TLS_SUITES_MAX, "TLS_SUITES_MAX too small");

/* A bind line's suites in preference order: what its list selects in
 * OpenSSL and BearSSL runs (the list was checked where it was read). */
static int
cfg_tls_suites(struct cfgp *p, const char *list, struct tls_conf *tc)
{
	struct ciph_sel s;
	int i;

	tc->nsuites = 0;
	if (list == NULL)
		list = CFG_DFLT_CIPHERS;
	if (ciph_select(list, &s) <= 0) {
		cfg_err(p, "no usable cipher in '%s'", list);
		return -1;
	}
	for (i = 0; i < s.nbear; i++)
		tc->suites[tc->nsuites++] = (uint16_t)ciph_id(s.bear[i]);
	tc->seclevel = s.seclevel;
	return 0;
}

/*
 * The version range as HAProxy settles it: the line's ssl-min-ver /
 * ssl-max-ver / force-*, else ssl-default-bind-options'; no-tlsv1x are
 * ignored (with HAProxy's warning) once either end is set; the minimum
 * defaults to TLSv1.2, or to the maximum when that is lower.  OpenSSL
 * 3.0 then refuses anything below TLSv1.2 unless the cipher list says
 * @SECLEVEL=0.
 */
static int
cfg_tls_versions(struct cfgp *p, struct tls_conf *tc)
{
	unsigned floor = tc->vfloor > p->c->ssl_vfloor ? tc->vfloor :
	    p->c->ssl_vfloor;

	if (tc->vmin == 0)
		tc->vmin = p->c->ssl_vmin;
	if (tc->vmax == 0)
		tc->vmax = p->c->ssl_vmax;
	if (floor && (tc->vmin || tc->vmax)) {
		cfg_warn(p, "no-sslv3/no-tlsv1x are ignored for this bind line. Use "
		    "only 'ssl-min-ver' and 'ssl-max-ver' to fix");
		floor = 0;
	}
	if (tc->vmin == 0)
		tc->vmin = tc->vmax && tc->vmax < BR_TLS12 ? tc->vmax : BR_TLS12;
	if (tc->vmax == 0)
		tc->vmax = BR_TLS12;
	if (tc->vmin < floor)
		tc->vmin = floor;
	if (tc->vmin < BR_TLS12 && tc->seclevel > 0) {
		if (tc->vmax < BR_TLS12) {
			cfg_err(p, "no TLS version left: OpenSSL 3.0 (HAProxy's) "
			    "allows versions below TLSv1.2 only at @SECLEVEL=0 (the "
			    "cipher list is at %d); add ':@SECLEVEL=0' to ciphers or "
			    "allow TLSv1.2", tc->seclevel);
			return -1;
		}
		tc->vmin = BR_TLS12;
	}
	if (tc->vmin > tc->vmax) {
		cfg_err(p, "ssl-min-ver is above ssl-max-ver");
		return -1;
	}
	return 0;
}

/* The curves: the line's, else ssl-default-bind-curves, else its
 * "ecdhe", else OpenSSL 3.0's default order (X25519, P-256, P-521, P-384);
 * BearSSL's implementation is narrowed to them. */
static void
cfg_tls_curves(struct cfgp *p, struct tls_conf *tc)
{
	static const struct ciph_curves dflt = { { 29, 23, 25, 24 }, 4, "", "" };
	uint32_t mask = 0;
	int i;

	if (tc->curves.n == 0)
		tc->curves = p->c->ssl_curves.n ? p->c->ssl_curves :
		    tc->ecdhe.n ? tc->ecdhe : dflt;
	for (i = 0; i < tc->curves.n; i++)
		mask |= (uint32_t)1 << tc->curves.ids[i];
	tc->ec = *br_ec_get_default();
	tc->ec.supported_curves &= mask;
}

static void
cfg_cert_fini(void *c)
{
	crt_free(c);
}

/* Certificates from one "crt" path: a file, or every file of a directory. */
static int
cfg_tls_crt(struct cfgp *p, const char *path, struct tls_cert ***tail)
{
	struct tls_cert *list = NULL, *x, *nx, *cc;
	char err[256];
	struct stat stt;

	if (stat(path, &stt) == 0 && S_ISDIR(stt.st_mode)) {
		if (crt_load_dir(path, &list, err, sizeof(err)) < 0) {
			cfg_err(p, "crt '%s': %s", path, err);
			return -1;
		}
	} else {
		list = u_calloc(1, sizeof(*list));
		if (crt_load(path, list, err, sizeof(err)) < 0) {
			free(list);
			cfg_err(p, "crt '%s': %s", path, err);
			return -1;
		}
	}
	for (x = list; x; x = nx) {	/* into the arena, freed with it */
		cc = u_alloc_fini(p->c->arena, sizeof(*cc), cfg_cert_fini);
		nx = x->next;
		*cc = *x;
		cc->next = NULL;
		free(x);
		**tail = cc;
		*tail = &cc->next;
	}
	return 0;
}

/* Certificates and TLS parameters of a bind line, once global settings
 * (crt-base, ssl-default-bind-*) are known. */
static void
cfg_tls_finish(struct cfgp *p, struct tls_conf *tc)
{
	char path[PATH_MAX];
	struct tls_cert **tail = &tc->certs;
	int i;

	if (tc->nsuites)	/* shared by the addresses of one line */
		return;
	p->err.file = tc->file;
	p->err.line = tc->line;
	if (cfg_tls_suites(p, tc->ciphers ? tc->ciphers : p->c->ssl_ciphers, tc) < 0 ||
	    cfg_tls_versions(p, tc) < 0)
		return;
	cfg_tls_curves(p, tc);
	tc->prefer_client |= p->c->ssl_prefer_client;
	/* HAProxy leaves OpenSSL's default (two hours) for 0 */
	tc->lifetime = p->c->ssl_lifetime ? p->c->ssl_lifetime : 7200;
	for (i = 0; i < tc->ncrt; i++) {
		if (tc->crt[i][0] != '/' && p->c->crt_base)
			snprintf(path, sizeof(path), "%s/%s", p->c->crt_base, tc->crt[i]);
		else
			snprintf(path, sizeof(path), "%s", tc->crt[i]);
		if (cfg_tls_crt(p, path, &tail) < 0)
			return;
	}
	if (tc->certs == NULL)
		cfg_err(p, "no certificate loaded for this bind line");
}

/* ---- cross references, once everything has been read ---- */

static void
cfg_at(struct cfgp *p, const char *file, int line)
{
	p->err.file = file;
	p->err.line = line;
}

/* http_auth()/http_auth_group() name userlists that may come later. */
static void
cfg_resolve_userlists(struct cfgp *p)
{
	const struct smp_fixup *f;
	struct userlist *ul;

	for (f = p->c->fixups; f; f = f->next) {
		cfg_at(p, f->file, f->line);
		if (f->backend) {
			if ((*f->slot = cfg_find_proxy(p->c, f->name, CAP_BE)) == NULL)
				cfg_err(p, "unable to find backend '%s'", f->name);
			continue;
		}
		for (ul = p->c->userlists; ul && strcmp(ul->name, f->name); ul = ul->next)
			;
		if (ul == NULL)
			cfg_err(p, "unable to find userlist '%s'", f->name);
		*f->slot = ul;
	}
}

static const char *
cfg_px_type(const struct proxy *px)
{
	return px->cap == (CAP_FE | CAP_BE) ? "listen" : px->cap == CAP_FE ?
	    "frontend" : "backend";
}

/* HTTP rules in a TCP proxy are ignored, with HAProxy's warning. */
static void
cfg_check_http_rules(struct cfgp *p, struct proxy *px)
{
	static const char *const what[] = { "http-request", "http-response",
	    "http-after-response" };
	struct rule **l[] = { &px->hreq, &px->hrsp, &px->hafter };
	size_t k;

	if (px->mode != MODE_TCP)
		return;
	cfg_at(p, px->file, px->line);
	for (k = 0; k < NELEM(l); k++)
		if (*l[k]) {
			cfg_warn(p, "'%s' rules ignored for %s '%s' as they require HTTP "
			    "mode.", what[k], cfg_px_type(px), px->name);
			*l[k] = NULL;
		}
}

/* A frontend's log-format and unique-id-format, parsed now that its mode
 * is known (HAProxy does the same after reading everything). */
static void
cfg_check_formats(struct cfgp *p, struct proxy *px)
{
	struct lf_pctx lp = { &p->err, p->c->arena, p->c, px->mode == MODE_HTTP,
	    0 };
	const char *src = px->logfmt_src;

	if (src && px->mode == MODE_TCP && (src == lf_httplog || src == lf_httpslog ||
	    src == lf_clflog)) {
		cfg_at(p, px->logfmt_file, px->logfmt_line);
		cfg_warn(p, "'option %s' not usable with %s '%s' (needs 'mode http'). "
		    "Falling back to 'option tcplog'.", src == lf_httpslog ? "httpslog" :
		    "httplog", cfg_px_type(px), px->name);
		src = lf_tcplog;
	}
	if (src) {
		cfg_at(p, px->logfmt_file, px->logfmt_line);
		lp.deny = SMP_USE_REQ | SMP_USE_RES;	/* gone by the end */
		px->logfmt = lf_parse(&lp, src, LF_O_MANDATORY | LF_O_MERGE);
		lp.deny = SMP_USE_RES;
		if (!px->logs && !(px->log_global && p->c->logs))
			cfg_warn(p, "log format ignored for %s '%s' since it has no log "
			    "address (waxlb writes it to stderr).", cfg_px_type(px),
			    px->name);
	}
	if (px->sd_src) {
		cfg_at(p, px->sd_file, px->sd_line);
		lp.deny = SMP_USE_REQ | SMP_USE_RES;
		px->sdfmt = lf_parse(&lp, px->sd_src, LF_O_MANDATORY | LF_O_MERGE);
	}
	if (px->errlog_src) {
		cfg_at(p, px->errlog_file, px->errlog_line);
		lp.deny = SMP_USE_REQ | SMP_USE_RES;
		px->errlogfmt = lf_parse(&lp, px->errlog_src, LF_O_MANDATORY | LF_O_MERGE);
	}
	if (px->uid_src) {
		cfg_at(p, px->uid_file, px->uid_line);
		lp.deny = SMP_USE_RES;
		px->uid_fmt = lf_parse(&lp, px->uid_src, LF_O_HTTP);
	}
}

/* What transactions must keep, from what the rules and formats use. */
static void
cfg_needs(struct config *c)
{
	const struct proxy *px;
	unsigned u = 0, rsp = 0;

	for (px = c->proxies; px; px = px->next) {
		rsp |= rule_uses(px->hrsp) | rule_uses(px->hafter);
		u |= rule_uses(px->hreq) | rule_uses(px->rules_tcp[1]) |
		    rule_uses(px->rules_tcp[0]);
		if (px->logfmt)
			rsp |= px->logfmt->use;
		if (px->ncap_req || px->ncap_res || px->uid_fmt || px->logfmt)
			c->needs |= NEED_EXT;
	}
	if ((rsp | u) & SMP_USE_VAR)
		c->needs |= NEED_EXT | NEED_VARS;
	if (rsp & SMP_USE_REQ)
		c->needs |= NEED_EXT | NEED_REQ;
}

static const char *
cfg_mode_name(enum px_mode m)
{
	return m == MODE_HTTP ? "http" : "tcp";
}

/* A proxy's pages, from its directives in order (HAProxy's
 * proxy_check_errors()), once every http-errors section is known. */
static void
cfg_check_errors(struct cfgp *p, struct proxy *px)
{
	const struct err_conf *ec;
	const struct http_errors *e;
	int i;

	for (ec = px->errconf; ec; ec = ec->next) {
		if (ec->kind != ERRC_SECTION) {
			px->errpage[ec->slot] = ec->kind == ERRC_PAGE ? ec->pg : NULL;
			continue;
		}
		for (e = p->c->errsecs; e && strcmp(e->name, ec->section) != 0;
		    e = e->next)
			;
		cfg_at(p, ec->file, ec->line);
		if (e == NULL) {
			cfg_err(p, "proxy '%s': unknown http-errors section '%s'",
			    px->name, ec->section);
			continue;
		}
		for (i = 0; i < H1_ERR_CODES; i++)
			if (!(ec->slots & (1u << i)))
				continue;
			else if (e->pg[i])
				px->errpage[i] = e->pg[i];
			else if (ec->listed)
				cfg_warn(p, "proxy '%s': status '%d' not declared in "
				    "http-errors section '%s'", px->name, h1_err_status(i),
				    e->name);
	}
}

/* Every page must fit in a buffer with the Connection header the session
 * may add (tune.bufsize is only final once everything is read). */
static void
cfg_check_pages(struct cfgp *p)
{
	const struct err_page *e;

	for (e = p->c->errpages; e; e = e->next)
		if (!e->pg.empty && (size_t)e->pg.head_len + e->pg.body_len +
		    sizeof("connection: keep-alive\r\n\r\n") > (size_t)p->c->bufsize) {
			cfg_at(p, e->file, e->line);
			cfg_err(p, "error page%s%s does not fit in tune.bufsize (%d bytes)",
			    e->path ? " " : "", e->path ? e->path : "", p->c->bufsize);
		}
}

static void
cfg_check_rules(struct cfgp *p, struct proxy *px)
{
	struct switch_rule *r;

	for (r = px->rules; r; r = r->next) {
		if (r->fmt)
			continue;	/* named at run time */
		r->be = cfg_find_proxy(p->c, r->be_name, CAP_BE);
		cfg_at(p, r->file, r->line);
		if (r->be == NULL)
			cfg_err(p, "use_backend: unable to find required backend '%s'",
			    r->be_name);
		else if (r->be->mode != px->mode)
			cfg_err(p, "use_backend: backend '%s' is in %s mode but frontend "
			    "'%s' is in %s mode", r->be_name, cfg_mode_name(r->be->mode),
			    px->name, cfg_mode_name(px->mode));
	}
	if (px->default_be_name) {
		cfg_at(p, px->default_be_file, px->default_be_line);
		px->default_be = cfg_find_proxy(p->c, px->default_be_name, CAP_BE);
		if (px->default_be == NULL)
			cfg_err(p, "default_backend: unable to find required backend '%s'",
			    px->default_be_name);
		else if (px->default_be->mode != px->mode)
			cfg_err(p, "default_backend: backend '%s' is in a different mode "
			    "than frontend '%s'", px->default_be_name, px->name);
	} else if (px->cap & CAP_BE)
		px->default_be = px;
}

/* http-check connect port/addr: every server's checks go there */
static void
cfg_check_connect(struct cfgp *p, struct proxy *px)
{
	const struct chk_conf *cf = &px->chk;
	struct sockaddr_storage sa;
	struct server *s;
	socklen_t sl;
	const char *why;

	cfg_at(p, cf->conn_file, cf->conn_line);
	for (s = px->srv; s; s = s->next) {
		if (cf->conn_addr) {
			if (net_parse_host(cf->conn_addr, &sa, &sl, &why) < 0) {
				cfg_err(p, "'http-check connect': invalid address '%s': %s",
				    cf->conn_addr, why);
				return;
			}
			net_set_port(&sa, ntohs(((struct sockaddr_in *)&s->chk_addr)->sin_port));
			s->chk_addr = sa;
			s->chk_addrlen = sl;
		}
		if (cf->conn_port)
			net_set_port(&s->chk_addr, cf->conn_port);
	}
}

static void
cfg_check_proxy(struct cfgp *p, struct proxy *px)
{
	struct bind_conf *b;

	cfg_check_errors(p, px);
	if ((px->cap & CAP_BE) && (px->chk.conn_port || px->chk.conn_addr))
		cfg_check_connect(p, px);
	if ((px->cap & CAP_BE) && px->chk.ref_be_name) {
		cfg_at(p, px->chk.file, px->chk.line);
		px->chk.ref_be = cfg_find_proxy(p->c, px->chk.ref_be_name, CAP_BE);
		if (px->chk.ref_be == NULL)
			cfg_err(p, "ship-check: ref-backend '%s' does not exist",
			    px->chk.ref_be_name);
	}
	for (b = px->binds; b; b = b->next)
		if (b->tls)
			cfg_tls_finish(p, b->tls);
	cfg_check_http_rules(p, px);
	if (!(px->cap & CAP_FE))
		return;
	if (px->binds == NULL) {
		cfg_at(p, px->file, px->line);
		cfg_err(p, "proxy '%s' has no 'bind' directive. Please declare it as a "
		    "backend if this was intended.", px->name);
	}
	cfg_check_rules(p, px);
	cfg_check_formats(p, px);
}

/* ---- loading ---- */

static struct config *
cfg_new(void)
{
	struct config *c = u_calloc(1, sizeof(*c));

	c->arena = u_arena_new();
	c->bufsize = BUFSIZE_DEFAULT;
	c->maxrewrite = MAXREWRITE;
	c->ssl_cachesize = 20000;	/* HAProxy's tune.ssl.cachesize */
	c->ssl_lifetime = 300;		/* and tune.ssl.lifetime */
	c->uid = c->gid = -1;
	c->stats_timeout = 10000;
	return c;
}

void
cfg_free(struct config *c)
{
	if (c == NULL)
		return;
	u_arena_free(c->arena);
	free(c);
}

/* The lowest id from <from> that no forced one takes: HAProxy's
 * get_next_id() over the ids given with "id". */
static int
cfg_next_free(const struct proxy *list, const struct server *srv, int from)
{
	const struct proxy *px;
	const struct server *s;
	int again = 1;

	while (again) {
		again = 0;
		for (px = list; px && !again; px = px->next)
			if (px->uuid_set && px->uuid == from)
				again = 1;
		for (s = srv; s && !again; s = s->next)
			if (s->puid_set && s->puid == from)
				again = 1;
		from += again;
	}
	return from;
}

/* Proxy and server ids: "id" or the next free one, in the order of the
 * configuration, as HAProxy's check_config_validity() numbers them (each
 * proxy, forced or not, moves the next id on; with a stats socket, its
 * GLOBAL proxy comes first).  Forced ids must be unique. */
static void
cfg_number(struct cfgp *p)
{
	struct proxy *px, *q;
	struct server *s, *t;
	int next = p->c->stats_socks ? 2 : 1, nsrv;

	for (px = p->c->proxies; px; px = px->next) {
		cfg_at(p, px->file, px->line);
		for (q = p->c->proxies; q != px; q = q->next)
			if (px->uuid_set && q->uuid_set && q->uuid == px->uuid)
				cfg_err(p, "proxy '%s' has the same ID (%d) as proxy '%s'",
				    px->name, px->uuid, q->name);
		if (!px->uuid_set)
			next = px->uuid = cfg_next_free(p->c->proxies, NULL, next);
		next++;		/* forced ones shift the next too */
		for (s = px->srv, nsrv = 1; s; s = s->next) {
			cfg_at(p, px->file, s->line);
			for (t = px->srv; t != s; t = t->next)
				if (s->puid_set && t->puid_set && s->puid == t->puid)
					cfg_err(p, "server '%s' has the same ID (%d) as server "
					    "'%s'", s->name, s->puid, t->name);
			if (!s->puid_set)
				nsrv = s->puid = cfg_next_free(NULL, px->srv, nsrv);
			nsrv++;
		}
	}
}

static struct config *
cfg_finish(struct cfgp *p)
{
	struct proxy *px;

	if (p->err.errors == 0) {
		struct lf_pctx lp = { &p->err, p->c->arena, p->c, 1, 0 };

		p->c->deflog_http = lf_parse(&lp, lf_httplog, LF_O_MANDATORY | LF_O_MERGE);
		lp.http = 0;
		p->c->deflog_tcp = lf_parse(&lp, lf_tcplog, LF_O_MANDATORY | LF_O_MERGE);
		cfg_resolve_userlists(p);
		cfg_number(p);
		for (px = p->c->proxies; px; px = px->next)
			cfg_check_proxy(p, px);
		cfg_needs(p->c);
		cfg_check_pages(p);
	}
	if (p->err.errors) {
		cfg_free(p->c);
		return NULL;
	}
	if (p->c->maxconn == 0)
		p->c->maxconn = MAXCONN_DEFAULT;
	if (p->c->maxrewrite > p->c->bufsize / 2)
		p->c->maxrewrite = p->c->bufsize / 2;
	return p->c;
}

static void
cfg_start(struct cfgp *p, FILE *err)
{
	memset(p, 0, sizeof(*p));
	p->c = cfg_new();
	p->err.f = err;
}

struct config *
cfg_parse_string(const char *text, const char *name, FILE *err)
{
	struct cfgp p;

	cfg_start(&p, err);
	p.err.file = name;
	cfg_text(&p, text, strlen(text));
	return cfg_finish(&p);
}

/* A whole file into memory (bounded); NULL after a message. */
static char *
cfg_read(struct cfgp *p, const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	long n;

	if (f == NULL) {
		fprintf(p->err.f, "%s: cannot open: %s\n", path, strerror(errno));
		p->err.errors++;
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (n < 0 || n > (64 << 20))
		fprintf(p->err.f, "%s: cannot read (too large?)\n", path);
	else if ((text = u_calloc(1, (size_t)n + 1)) != NULL &&
	    fread(text, 1, (size_t)n, f) != (size_t)n) {
		fprintf(p->err.f, "%s: read error\n", path);
		free(text);
		text = NULL;
	}
	fclose(f);
	if (text == NULL)
		p->err.errors++;
	*len = (size_t)n;
	return text;
}

/* The absolute paths of what was loaded, for reloads (they survive a
 * chdir and a chroot that keeps the same paths). */
static void
cfg_keep_files(struct config *c, const char *const *files, int nfiles)
{
	char *rp;
	int i;

	c->files = u_alloc(c->arena, (size_t)(nfiles ? nfiles : 1) * sizeof(char *));
	for (i = 0; i < nfiles; i++) {
		rp = realpath(files[i], NULL);
		c->files[i] = u_strdup(c->arena, rp ? rp : files[i]);
		free(rp);
	}
	c->nfiles = nfiles;
}

struct config *
cfg_load(const char *const *files, int nfiles, FILE *err)
{
	struct cfgp p;
	size_t len;
	char *text;
	int i;

	cfg_start(&p, err);
	for (i = 0; i < nfiles; i++) {
		p.err.file = files[i];
		p.err.line = 0;
		if ((text = cfg_read(&p, files[i], &len)) != NULL)
			cfg_text(&p, text, len);
		free(text);
		/* sections do not continue across files */
		p.section = SEC_NONE;
		p.cur = NULL;
		p.secname[0] = 0;
	}
	p.err.file = nfiles ? files[nfiles - 1] : "-";
	cfg_keep_files(p.c, files, nfiles);
	return cfg_finish(&p);
}

/* ---- what is accepted without effect ---- */

static void
cfg_print_table(FILE *f, const char *ctx, const struct cfg_kw *tab, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tab[i].kind == KW_IGN || tab[i].kind == KW_IGN_ARG ||
		    tab[i].kind == KW_QUIET)
			fprintf(f, "%-12s %-34s %s%s\n", ctx, tab[i].name,
			    tab[i].kind == KW_QUIET ? "(no warning) " : "", tab[i].text);
}

/* The keyword tables by context, as -vv prints them. */
static const struct {
	const char		*ctx;
	const struct cfg_kw	*tab;
	size_t			 n;
} cfg_kw_tables[] = {
	{ "section", cfg_sections, NELEM(cfg_sections) },
	{ "global", cfg_global_kws, NELEM(cfg_global_kws) },
	{ "proxy", cfg_proxy_kws, NELEM(cfg_proxy_kws) },
	{ "option", cfg_options, NELEM(cfg_options) },
	{ "bind", cfg_bind_kws, NELEM(cfg_bind_kws) },
	{ "server", cfg_srv_kws, NELEM(cfg_srv_kws) },
	{ "stats", cfg_stats_kws, NELEM(cfg_stats_kws) },
	{ "http-check", cfg_hchk_kws, NELEM(cfg_hchk_kws) },
};

void
cfg_print_ignored(FILE *f)
{
	size_t i, k;

	for (i = 0; i < NELEM(cfg_kw_tables); i++)
		cfg_print_table(f, cfg_kw_tables[i].ctx, cfg_kw_tables[i].tab,
		    cfg_kw_tables[i].n);
	fprintf(f, "\nRefused (context, keyword, message):\n");
	for (i = 0; i < NELEM(cfg_kw_tables); i++)
		for (k = 0; k < cfg_kw_tables[i].n; k++)
			if (cfg_kw_tables[i].tab[k].kind == KW_NO)
				fprintf(f, "%-12s %-34s %s\n", cfg_kw_tables[i].ctx,
				    cfg_kw_tables[i].tab[k].name, cfg_kw_tables[i].tab[k].text);
}
/*==== end cfg ====*/

/*==== begin srv ====*/
/*
 * Runtime state of servers and backends, owned here: each server's
 * counters, health and admin state (struct srv_state, carried by name over
 * a reload), each backend's balancer groups and queue (struct be_state).
 * A server slot is taken for every request in flight and every tunnel, so
 * leastconn sees tunnels for their whole life.  Requests wait in the
 * backend's FIFO when no server has a slot, and are handed out as slots
 * free up.  Idle server connections are kept per server (HAProxy's idle
 * connection pools) and reused as http-reuse allows.
 */

/* An idle server connection kept for reuse.  A "safe" one has carried
 * more than one request: its server is known to keep connections alive
 * (HAProxy's safe list; the others are on its idle list). */
struct idle_conn {
	int		 fd;
	int		 safe;
	int		 uses;		/* requests it has carried */
	int64_t		 since;
	struct srv_state *st;
	struct idle_conn *next;
};

/* Which pooled connections a request may take, in order of preference:
 * HAProxy's table in connect_server(). */
enum srv_pick { PICK_NONE, PICK_SAFE, PICK_SAFE_IDLE, PICK_IDLE_SAFE };

/* A waiter in a queue (a session), told which server it got through the
 * callback given to srv_init(). */
struct srv_waiter {
	struct srv_qlink link;
	int		 queued;
};

typedef void (*srv_ready_fn)(struct srv_waiter *w, struct server *sv);

/*
 * A response that leaves its server connection reusable puts it in the
 * pool; the next request for that server takes the newest one.  An idle
 * connection that becomes readable was closed by its server (or spoke out
 * of turn) and is dropped.  None is reused after its server's
 * pool-purge-delay (POOL_IDLE_MS by default), so a server's own
 * keep-alive timeout cannot race with a request; pool-max-conn bounds a
 * server's pool (POOL_PER_SRV by default), POOL_MAX all of them.
 */
#define POOL_MAX	4096
#define POOL_PURGE_MS	1000		/* how often old ones are closed */

/* A config with runtime state, from srv_bind() to srv_unbind(). */
struct srv_bound {
	const struct config *cfg;
	struct srv_bound *next;
};

static struct {
	const struct config *cfg;	/* the running one (the last bound) */
	struct srv_bound *bound;	/* every bound config, oldest first */
	int		 queued;	/* waiters in all their queues */
	unsigned	 unbinds;	/* srv_unbind() calls, to see one happen */
	int		 pool_total;
	int64_t		 next_purge;
	struct loop_task queues;	/* hands out freed slots */
	srv_ready_fn	 ready;		/* tells a waiter its server */
} srv_rt;

/* ---- states ---- */

static struct srv_state *
srv_state_new(void)
{
	struct srv_state *st = u_calloc(1, sizeof(*st));

	st->up = 1;
	st->last_change = loop_now();
	st->chk_status = HCHK_INI;
	return st;
}

static struct server *
srv_find_in(const struct proxy *be, const char *name)
{
	struct server *s;

	for (s = be ? be->srv : NULL; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* ---- server-state files (HAProxy's format 1, "show servers state") ---- */

/* A line's fields, numbers checked: 1 with them applied to <s>. */
static int
srv_state_apply(struct server *s, char **f)
{
	static const char *const names[] = { "srv_op_state", "srv_admin_state",
	    "srv_uweight", "srv_iweight", "srv_last_time_change",
	    "srv_check_status", "srv_check_result", "srv_check_health" };
	struct srv_state *st = s->st;
	long long v[8];
	int k, full = s->rise + s->fall - 1;

	for (k = 0; k < 8; k++)
		if (u_parse_int(f[5 + k], 0, k == 1 ? 0xff : k == 4 ? INT_MAX : k == 0 ?
		    3 : 1000000, &v[k]) < 0) {
			log_warn("server-state application failed for server '%s/%s', "
			    "invalid %s value '%s'", s->be->name, s->name, names[k], f[5 + k]);
			return 0;
		}
	st->up = v[0] >= 2;	/* STOPPED, STARTING, RUNNING, STOPPING */
	st->health = v[0] == 0 ? 0 : v[0] == 2 ? full : v[0] == 1 ?
	    (v[7] >= 1 && v[7] < s->rise ? (int)v[7] : s->rise - 1) :
	    (v[7] >= s->rise && v[7] <= full - 1 ? (int)v[7] : s->rise);
	st->nolb = v[0] == 3;
	if ((v[1] & 0x01) && !s->disabled)
		st->admin = ADMIN_MAINT;
	else if (v[1] & 0x08)
		st->admin = ADMIN_DRAIN;
	if (v[3] == s->weight && v[2] != s->weight) {	/* config unchanged */
		st->weight = (int)v[2];
		st->weight_set = 1;
	}
	st->last_change = loop_now() - v[4] * 1000;
	return 1;
}

/* One line "be_id be_name srv_id srv_name ..." for backend <px>; only
 * checked when <check>: -1 when it is not a line of format 1. */
static int
srv_state_line(struct proxy *px, char *line, int check)
{
	char *f[32], *w;
	struct server *s;
	int n = 0;

	for (w = strtok(line, " \t\r\n"); w && n < 32; w = strtok(NULL, " \t\r\n"))
		f[n++] = w;
	if (n == 0 || f[0][0] == '#')
		return 0;
	if (n < 20 || n > 25)
		return -1;
	if (check || strcmp(f[1], px->name) != 0)
		return 0;
	if (atoi(f[0]) != px->uuid)
		log_warn("Proxy '%s': backend ID mismatch: from server state file: "
		    "'%s', from running config '%d'", px->name, f[0], px->uuid);
	if ((s = srv_find_in(px, f[3])) != NULL && srv_state_apply(s, f) &&
	    s->st->admin == ADMIN_DRAIN)
		log_warn("Server %s/%s remains in forced drain mode.", s->be->name,
		    s->name);
	return 0;
}

/* The state of <px>'s servers from its file, at start-up. */
static void
srv_state_load(const struct config *cfg, struct proxy *px)
{
	const char *name = px->state_load == 1 ? cfg->state_file :
	    px->state_name ? px->state_name : px->name;
	char path[PATH_MAX], line[4096];
	int lno = 0, local = px->state_load == 2;
	FILE *f;

	if (name == NULL)
		return;
	snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' || !cfg->state_base ?
	    "" : cfg->state_base, name[0] == '/' || !cfg->state_base ? "" : "/", name);
	if ((f = fopen(path, "r")) == NULL) {
		log_warn("%s%s%sCan't open %sserver state file '%s': %s", local ?
		    "Proxy '" : "config: ", local ? px->name : "", local ? "': " : "",
		    local ? "" : "global ", path, strerror(errno));
		return;
	}
	if (fgets(line, sizeof(line), f) == NULL || atoi(line) != 1) {
		log_warn("%s%s%sCan't get version of the %sserver state file '%s'.",
		    local ? "Proxy '" : "config: ", local ? px->name : "", local ?
		    "': " : "", local ? "" : "global ", path);
		fclose(f);
		return;
	}
	/* a corrupted file is not applied at all, as HAProxy's */
	while (fgets(line, sizeof(line), f) != NULL && ++lno)
		if (srv_state_line(px, line, 1) < 0) {
			log_warn("%s%s%scorrupted %sserver state file '%s' at line %d.",
			    local ? "Proxy '" : "config: ", local ? px->name : "", local ?
			    "': " : "", local ? "" : "global ", path, lno);
			fclose(f);
			return;
		}
	rewind(f);
	if (fgets(line, sizeof(line), f) != NULL)
		while (fgets(line, sizeof(line), f) != NULL)
			srv_state_line(px, line, 0);
	fclose(f);
}

void
srv_bind(struct config *cfg, const struct config *old)
{
	struct srv_bound **bp, *b = u_calloc(1, sizeof(*b));
	struct proxy *px;
	struct server *s, *os;

	for (bp = &srv_rt.bound; *bp; bp = &(*bp)->next)
		;
	b->cfg = cfg;
	*bp = b;
	for (px = cfg->proxies; px; px = px->next) {
		const struct proxy *opx = old ? cfg_find_proxy(old, px->name, CAP_BE) :
		    NULL;

		if (!(px->cap & CAP_BE))
			continue;
		px->bst = u_calloc(1, sizeof(*px->bst));
		/* this config's own balancer positions, never shared */
		px->bst->nodes = u_calloc((size_t)px->nsrv + 1, sizeof(struct lb_node));
		for (s = px->srv; s; s = s->next) {
			os = srv_find_in(opx, s->name);
			if (os && os->st)
				s->st = os->st;
			else {
				s->st = srv_state_new();
				s->st->health = s->rise;
			}
			s->st->refs++;
			s->st->srv = s;
		}
		if (old == NULL && px->state_load)	/* start-up only, as HAProxy */
			srv_state_load(cfg, px);
		lb_init(px);
	}
	srv_rt.cfg = cfg;
}

static void srv_pool_drop(struct idle_conn *ic);

void
srv_unbind(struct config *cfg)
{
	struct srv_bound **bp, *b;
	struct proxy *px;
	struct server *s;

	srv_rt.unbinds++;
	for (bp = &srv_rt.bound; (b = *bp) != NULL; bp = &b->next)
		if (b->cfg == cfg) {
			*bp = b->next;
			free(b);
			break;
		}
	for (px = cfg->proxies; px; px = px->next) {
		for (s = px->srv; s; s = s->next) {
			if (s->st == NULL)
				continue;
			if (--s->st->refs > 0) {
				/* another config uses it: not through this server,
				 * which is freed with its config */
				if (s->st->srv == s)
					s->st->srv = NULL;
				continue;
			}
			while (s->st->idle)
				srv_pool_drop(s->st->idle);
			free(s->st);
			s->st = NULL;
		}
		if (px->bst)
			free(px->bst->nodes);
		free(px->bst);
		px->bst = NULL;
	}
	if (srv_rt.cfg == cfg)
		srv_rt.cfg = NULL;
}

/* A server's usable state or weight changed: the balancer of every bound
 * config that has it, since sessions from before a reload still pick from
 * their own config's. */
static void
srv_lb_update(struct server *sv)
{
	const struct srv_bound *b;

	for (b = srv_rt.bound; b; b = b->next) {
		struct server *tw = srv_find_in(cfg_find_proxy(b->cfg, sv->be->name,
		    CAP_BE), sv->name);

		if (tw && tw->st == sv->st)
			lb_update(tw);
	}
}

/* The node name: "node", else the host name (HAProxy's default). */
static const char *
srv_node(const struct config *c)
{
	static char host[256];

	if (c && c->node)
		return c->node;
	if (host[0] == 0 && gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "localhost");
	return host;
}

/* "backend/server" of the running config; NULL with a message in *why. */
static struct server *
srv_find(const char *spec, const char **why)
{
	char be[NAME_MAX_LEN];
	const char *slash = strchr(spec, '/');
	struct proxy *px;
	struct server *s;

	if (slash == NULL || (size_t)(slash - spec) >= sizeof(be)) {
		*why = "Require 'backend/server'.";
		return NULL;
	}
	memcpy(be, spec, (size_t)(slash - spec));
	be[slash - spec] = 0;
	if (srv_rt.cfg == NULL ||
	    (px = cfg_find_proxy(srv_rt.cfg, be, CAP_BE)) == NULL) {
		*why = "No such backend.";
		return NULL;
	}
	if ((s = srv_find_in(px, slash + 1)) == NULL)
		*why = "No such server.";
	return s;
}

/* ---- operational state, as HAProxy reports it ---- */

/* DOWN (checks or agent), UP (draining included: it takes no new work
 * but is not down), MAINT. */
enum { OPS_DOWN, OPS_UP, OPS_MAINT };

static int
srv_opstate(const struct server *s)
{
	const struct srv_state *st = s->st;

	if (s->disabled || st->admin == ADMIN_MAINT || st->agent_admin == ADMIN_MAINT)
		return OPS_MAINT;
	if (!st->up || st->agent_down)
		return OPS_DOWN;
	return OPS_UP;
}

static int
srv_draining(const struct server *s)
{
	return s->st->admin == ADMIN_DRAIN || s->st->agent_admin == ADMIN_DRAIN;
}

/* The status column of the stats. */
static const char *
srv_status_str(const struct server *s)
{
	switch (srv_opstate(s)) {
	case OPS_MAINT:
		return "MAINT";
	case OPS_DOWN:
		return "DOWN";
	}
	if (srv_draining(s))
		return "DRAIN";
	if (s->st->nolb)	/* disable-on-404 */
		return "NOLB";
	return s->check ? "UP" : "no check";
}

static void
srv_count(const struct proxy *be, int *act, int *bck)
{
	const struct server *s;

	*act = *bck = 0;
	for (s = be->srv; s; s = s->next)
		if (lb_usable(s))
			++*(s->backup ? bck : act);
}

static int
srv_queue_len(const struct proxy *be)
{
	return be->bst ? be->bst->queue.len : 0;
}

/* ---- slots ---- */

static void
srv_take(struct server *sv)
{
	struct srv_state *st = sv->st;

	st->cur++;
	if (st->cur > st->smax)
		st->smax = st->cur;
	st->lbtot++;	/* stot counts attempts: the sess module adds them */
	lb_taken(sv);
}

/* A slot is free; queued requests get it from the run queue, outside of
 * any session's processing. */
static void
srv_release(struct srv_state *st)
{
	st->cur--;
	/* the balancer of the running config, even for a session that
	 * started before a reload */
	if (st->srv)
		lb_released(st->srv);
	/* the slot may serve any config's queue */
	if (srv_rt.queued)
		loop_task_wake(&srv_rt.queues);
}

/* ---- queues ---- */

static void
srv_queue_add(struct proxy *be, struct srv_waiter *w)
{
	struct srv_queue *q = &be->bst->queue;

	w->queued = 1;
	w->link.next = NULL;
	w->link.prev = q->tail;
	if (q->tail)
		q->tail->next = &w->link;
	else
		q->head = &w->link;
	q->tail = &w->link;
	if (++q->len > q->max)
		q->max = q->len;
	srv_rt.queued++;
	loop_task_wake(&srv_rt.queues);
}

static void
srv_queue_del(struct proxy *be, struct srv_waiter *w)
{
	struct srv_queue *q = &be->bst->queue;

	if (!w->queued)
		return;
	w->queued = 0;
	if (w->link.prev)
		w->link.prev->next = w->link.next;
	else
		q->head = w->link.next;
	if (w->link.next)
		w->link.next->prev = w->link.prev;
	else
		q->tail = w->link.prev;
	w->link.next = w->link.prev = NULL;
	q->len--;
	srv_rt.queued--;
}

/* Something may have freed a slot or changed a weight: look again. */
static void
srv_queues_kick(void)
{
	loop_task_wake(&srv_rt.queues);
}

/* Hand free slots to the oldest waiters of one backend.  Returns 1 when
 * a config was unbound meanwhile (a waiter's run ended its last session):
 * <be> may be gone. */
static int
srv_queue_serve(struct proxy *be)
{
	struct srv_queue *q = &be->bst->queue;
	unsigned unbinds = srv_rt.unbinds;
	struct server *sv;

	while (q->head && (sv = lb_pick(be, NULL)) != NULL) {
		struct srv_waiter *w = CONTAINER(q->head, struct srv_waiter, link);

		srv_queue_del(be, w);
		srv_take(sv);
		srv_rt.ready(w, sv);
		if (srv_rt.unbinds != unbinds)
			return 1;
	}
	return 0;
}

/* Every backend of every bound config: a request queued on an older
 * config's backend (a redispatch after a reload, or one that could not
 * move to the new config) is served by that config, older ones first. */
static void
srv_queues_run(struct loop_task *t)
{
	const struct srv_bound *b;
	struct proxy *be;

	(void)t;
again:
	for (b = srv_rt.bound; b && srv_rt.queued; b = b->next)
		for (be = b->cfg->proxies; be; be = be->next)
			if (be->bst && be->bst->queue.head && srv_queue_serve(be))
				goto again;	/* each pass serves one more */
}

/* ---- idle connection pools ---- */

static void
srv_pool_unlink(struct idle_conn *ic)
{
	struct idle_conn **pp;

	for (pp = &ic->st->idle; *pp; pp = &(*pp)->next)
		if (*pp == ic) {
			*pp = ic->next;
			break;
		}
	ic->st->nidle--;
	srv_rt.pool_total--;
}

static void
srv_pool_drop(struct idle_conn *ic)
{
	srv_pool_unlink(ic);
	loop_fd_close(ic->fd);
	free(ic);
}

/* Idle past its server's pool-purge-delay (the state of a server gone
 * from the config keeps the default). */
static int
srv_pool_old(const struct idle_conn *ic)
{
	int64_t age = loop_now() - ic->since;

	return age > (ic->st->srv ? (int64_t)ic->st->srv->pool_purge : POOL_IDLE_MS);
}

static void
srv_pool_event(void *obj, int fd, short revents)
{
	(void)fd;
	(void)revents;
	srv_pool_drop(obj);
}

/* An idle connection is kept only within its server's bounds: a pool
 * of pool_max (-1: only POOL_MAX), kept less than pool_purge ms (0:
 * none), carrying at most max_reuse requests after its first. */
static void
srv_pool_put(struct srv_state *st, int fd, int safe, int uses)
{
	const struct server *sv = st->srv;
	struct idle_conn *ic;

	if ((sv && sv->pool_max >= 0 && st->nidle >= sv->pool_max) ||
	    (sv && (sv->pool_purge == 0 || (sv->max_reuse >= 0 &&
	    uses > sv->max_reuse))) || srv_rt.pool_total >= POOL_MAX ||
	    (ic = malloc(sizeof(*ic))) == NULL) {
		loop_fd_close(fd);
		return;
	}
	ic->fd = fd;
	ic->safe = safe;
	ic->uses = uses;
	ic->since = loop_now();
	ic->st = st;
	ic->next = st->idle;
	st->idle = ic;
	st->nidle++;
	srv_rt.pool_total++;
	loop_fd_rebind(fd, srv_pool_event, ic, POLLIN);
}

/* The newest idle connection of the kind (safe or not) that <pick>
 * prefers, else of the other kind it allows; -1 when none.  Those idle
 * for too long are closed on the way.  A close that arrived before this
 * loop turn's poll was seen by srv_pool_event(); a peek here would cost
 * a syscall per request and still not close the race, which
 * POOL_IDLE_MS keeps small. */
static int
srv_pool_get(struct srv_state *st, enum srv_pick pick, int *uses)
{
	struct idle_conn *ic, *nx, *first = NULL, *other = NULL;
	int want_safe = pick != PICK_IDLE_SAFE, fd;

	if (pick == PICK_NONE)
		return -1;
	for (ic = st->idle; ic && first == NULL; ic = nx) {
		nx = ic->next;
		if (srv_pool_old(ic))
			srv_pool_drop(ic);
		else if (ic->safe == want_safe)
			first = ic;
		else if (other == NULL && pick != PICK_SAFE)
			other = ic;
	}
	if ((ic = first ? first : other) == NULL)
		return -1;
	fd = ic->fd;
	*uses = ic->uses;
	srv_pool_unlink(ic);
	free(ic);
	return fd;
}

/* Loop hook: close what has been idle too long, about once a second. */
static int64_t
srv_pool_hook(void)
{
	struct idle_conn *ic, *nx;
	struct proxy *px;
	struct server *sv;

	if (srv_rt.pool_total == 0)
		return -1;
	if (loop_now() < srv_rt.next_purge)
		return srv_rt.next_purge;
	for (px = srv_rt.cfg ? srv_rt.cfg->proxies : NULL; px; px = px->next)
		for (sv = px->srv; sv; sv = sv->next)
			for (ic = sv->st ? sv->st->idle : NULL; ic; ic = nx) {
				nx = ic->next;
				if (srv_pool_old(ic))
					srv_pool_drop(ic);
			}
	srv_rt.next_purge = loop_now() + POOL_PURGE_MS;
	return srv_rt.pool_total ? srv_rt.next_purge : -1;
}

static void
srv_init(srv_ready_fn ready)
{
	srv_rt.queues.run = srv_queues_run;
	srv_rt.ready = ready;
}
/*==== end srv ====*/

/*==== begin xprt ====*/
/*
 * How a side of a session moves bytes: a transport is a struct xprt_ops
 * (plain sockets, or a BearSSL server engine driven as a byte pump), so
 * the HTTP and tunnel code never know which.  Results of recv/send: >0
 * bytes, 0 end of stream, -1 would block, -2 error.  Plain tunnels move
 * bytes with splice(2) through the pipes of the buf module.  TLS owns
 * certificate choice by SNI, the shared session cache and the engine's
 * memory; records move between socket and engine here.
 */

#define SF_RD		0x01	/* readable (poll said so); not drained yet */
#define SF_WR		0x02	/* writable */
#define SF_EOF		0x04	/* read returned 0 */
#define SF_SHUTW	0x08	/* we shut our write side */
#define SF_ERR		0x10	/* hard error seen */

struct side;

struct xprt_ops {
	int		(*recv)(struct side *sd, char *p, size_t n);
	int		(*send)(struct side *sd, const char *p, size_t n);
	void		(*shutw)(struct side *sd);
	void		(*ready)(struct side *sd, short revents);	/* poll fired */
	short		(*events)(const struct side *sd, short want);	/* poll interest */
	int		(*pending)(const struct side *sd);	/* bytes not yet sent */
};

struct xprt_tls;

/* One side of a session: a socket and its transport (TLS when it has an
 * engine, plain otherwise). */
struct side {
	int		 fd;
	unsigned	 fl;		/* SF_* */
	struct xprt_tls	*tls;		/* the engine, TLS sides only */
};

static struct {
	br_ssl_session_cache_lru cache;
	/* the cache as engines see it: BearSSL's LRU, telling which
	 * handshakes resumed (ssl_fc_is_resumed) */
	const br_ssl_session_cache_class *cache_vt;
	unsigned char	*cache_mem;	/* NULL: tune.ssl.cachesize 0 */
	/* when each cached session was made (the LRU keeps no time), for
	 * tune.ssl.lifetime: sets of XPRT_WAYS keyed by the random session
	 * id; an entry lost to a full set only costs a full handshake */
	struct xprt_stamp { uint32_t tag, made; } *stamps;
	uint32_t	 nsets;
} xprt_rt;

#define XPRT_WAYS	4

/* ---- plain sockets ---- */

static int
xprt_plain_recv(struct side *sd, char *p, size_t n)
{
	ssize_t r = recv(sd->fd, p, n, 0);

	if (r > 0) {
		if ((size_t)r < n)
			sd->fl &= ~SF_RD;	/* most likely drained */
		return (int)r;
	}
	sd->fl &= ~SF_RD;
	if (r == 0) {
		sd->fl |= SF_EOF;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return -1;
	sd->fl |= SF_ERR | SF_EOF;
	return -2;
}

static int
xprt_plain_send(struct side *sd, const char *p, size_t n)
{
	ssize_t r = send(sd->fd, p, n, MSG_NOSIGNAL);

	if (r >= 0) {
		if ((size_t)r < n)
			sd->fl &= ~SF_WR;
		return (int)r;
	}
	sd->fl &= ~SF_WR;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return -1;
	sd->fl |= SF_ERR;
	return -2;
}

static void
xprt_plain_shutw(struct side *sd)
{
	if (sd->fd >= 0 && !(sd->fl & SF_SHUTW)) {
		shutdown(sd->fd, SHUT_WR);
		sd->fl |= SF_SHUTW;
	}
}

static void
xprt_plain_ready(struct side *sd, short revents)
{
	if (revents & (POLLIN | POLLHUP | POLLERR))
		sd->fl |= SF_RD;
	if (revents & (POLLOUT | POLLHUP | POLLERR))
		sd->fl |= SF_WR;
	if (revents & POLLERR)
		sd->fl |= SF_ERR;
	if ((revents & POLLHUP) && !(revents & POLLIN))
		sd->fl |= SF_EOF | SF_ERR;
}

static short
xprt_plain_events(const struct side *sd, short want)
{
	(void)sd;
	return want;
}

static int
xprt_plain_pending(const struct side *sd)
{
	(void)sd;
	return 0;
}

static const struct xprt_ops xprt_plain = {
	xprt_plain_recv, xprt_plain_send, xprt_plain_shutw, xprt_plain_ready,
	xprt_plain_events, xprt_plain_pending
};

/* A plain side, not connected yet. */
static void
xprt_side_init(struct side *sd, int fd)
{
	sd->fd = fd;
	sd->fl = 0;
	sd->tls = NULL;
}

/* ---- splice: plain tunnels through a kernel pipe ---- */

/* One direction, socket -> pipe -> socket.  Returns progress. */
static int
xprt_splice(struct side *from, struct side *to, struct kpipe **pp,
    uint64_t *count, uint64_t *count2)
{
	struct kpipe *p = *pp;
	int progress = 0;
	ssize_t n;

	if ((from->fl & SF_RD) && !(from->fl & SF_EOF) && p->len < buf_pipe_size()) {
		n = splice(from->fd, NULL, p->wr, NULL, buf_pipe_size() - p->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			p->len += (unsigned)n;
			*count += (uint64_t)n;
			if (count2)
				*count2 += (uint64_t)n;
			progress = 1;
		} else if (n == 0) {
			from->fl |= SF_EOF;
			from->fl &= ~SF_RD;
			progress = 1;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			from->fl &= ~SF_RD;
		} else if (errno == EINVAL || errno == ENOSYS) {
			buf_no_splice();	/* no splice here: copy instead */
		} else {
			from->fl |= SF_ERR | SF_EOF;
			progress = 1;
		}
	}
	if (p->len && (to->fl & SF_WR) && !(to->fl & SF_ERR)) {
		n = splice(p->rd, NULL, to->fd, NULL, p->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			p->len -= (unsigned)n;
			progress = 1;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			to->fl &= ~SF_WR;
		} else if (n < 0) {
			to->fl |= SF_ERR;
			progress = 1;
		}
	}
	if (p->len == 0) {
		buf_pipe_put(p);
		*pp = NULL;
	}
	return progress;
}

/* ---- TLS: BearSSL server engines ---- */

struct xprt_tls {
	br_ssl_server_context	 sc;
	/* our policy: picks a certificate by SNI, then hands over to
	 * BearSSL's single-certificate policy for the key operations */
	const br_ssl_server_policy_class *pol;
	const struct tls_conf	*conf;
	/* for the error log line: the owner's client address and frontend */
	const struct sockaddr_storage *src;
	struct proxy *const	*fe;
	int			 sock_eof;
	int			 logged;
	int			 resumed;	/* the session came from the cache */
	int			 hs_done;	/* application data flowed */
	int			 err;		/* the first BearSSL error */
	unsigned char		 ibuf[BR_SSL_BUFSIZE_INPUT];
	unsigned char		 obuf[BR_SSL_BUFSIZE_OUTPUT];
};

static const struct tls_cert *
xprt_tls_pick_cert(const struct tls_conf *tc, const char *sni)
{
	const struct tls_cert *c;

	if (sni && *sni)
		for (c = tc->certs; c; c = c->next)
			if (crt_match(c, sni))
				return c;
	/* strict-sni: no name, or no certificate for it, ends the handshake */
	return tc->strict_sni ? NULL : tc->certs;
}

/* The ECDHE curve: BearSSL takes X25519, then the lowest id, of those both
 * sides have; OpenSSL under HAProxy takes the first of the list the client
 * has (server preference), which is what is left to BearSSL here. */
static void
xprt_tls_pick_curve(struct xprt_tls *t)
{
	const struct ciph_curves *cv = &t->conf->curves;
	int i;

	if (t->conf->prefer_client)
		return;
	for (i = 0; i < cv->n; i++)
		if (t->sc.curves >> cv->ids[i] & 1) {
			t->sc.curves = (uint32_t)1 << cv->ids[i];
			return;
		}
}

static int
xprt_tls_choose(const br_ssl_server_policy_class **pctx,
    const br_ssl_server_context *cc, br_ssl_server_choices *choices)
{
	struct xprt_tls *t = CONTAINER(pctx, struct xprt_tls, pol);
	br_ssl_server_context *sc = &t->sc;
	const struct tls_cert *c;

	c = xprt_tls_pick_cert(t->conf, br_ssl_engine_get_server_name(&cc->eng));
	if (c == NULL)
		return 0;
	xprt_tls_pick_curve(t);
	if (c->key_type == BR_KEYTYPE_RSA)
		br_ssl_server_set_single_rsa(sc, c->chain, c->chain_len, &c->rsa,
		    BR_KEYTYPE_SIGN | BR_KEYTYPE_KEYX, br_rsa_private_get_default(),
		    br_rsa_pkcs1_sign_get_default());
	else
		br_ssl_server_set_single_ec(sc, c->chain, c->chain_len, &c->ec,
		    BR_KEYTYPE_SIGN | BR_KEYTYPE_KEYX, c->issuer_key_type,
		    br_ec_get_default(), br_ecdsa_sign_asn1_get_default());
	/* from now on the engine calls the single-certificate policy */
	return (*sc->policy_vtable)->choose(sc->policy_vtable, cc, choices);
}

static uint32_t
xprt_tls_keyx_unused(const br_ssl_server_policy_class **pctx, unsigned char *data,
    size_t *len)
{
	(void)pctx;
	(void)data;
	(void)len;
	return 0;
}

static size_t
xprt_tls_sign_unused(const br_ssl_server_policy_class **pctx, unsigned algo_id,
    unsigned char *data, size_t hv_len, size_t len)
{
	(void)pctx;
	(void)algo_id;
	(void)data;
	(void)hv_len;
	(void)len;
	return 0;
}

static const br_ssl_server_policy_class xprt_tls_policy = {
	sizeof(const br_ssl_server_policy_class *),
	xprt_tls_choose, xprt_tls_keyx_unused, xprt_tls_sign_unused
};

/* The set of a session id, and its tag (never 0: 0 is an empty way). */
static struct xprt_stamp *
xprt_stamp_set(const unsigned char *id, uint32_t *tag)
{
	uint32_t a, b;

	memcpy(&a, id, 4);
	memcpy(&b, id + 4, 4);
	*tag = b | 1;
	return xprt_rt.stamps + (size_t)(a % xprt_rt.nsets) * XPRT_WAYS;
}

static uint32_t
xprt_secs(void)
{
	return (uint32_t)(loop_now() / 1000);
}

static void
xprt_cache_save(const br_ssl_session_cache_class **ctx,
    br_ssl_server_context *sc, const br_ssl_session_parameters *params)
{
	uint32_t tag;
	struct xprt_stamp *w = xprt_stamp_set(params->session_id, &tag), *old = w;
	int i;

	(void)ctx;
	xprt_rt.cache.vtable->save(&xprt_rt.cache.vtable, sc, params);
	for (i = 0; i < XPRT_WAYS; i++)		/* the oldest way goes */
		if (w[i].made < old->made || w[i].tag == 0)
			old = &w[i];
	old->tag = tag;
	old->made = xprt_secs();
}

/* A cached session resumes only within tune.ssl.lifetime of its making
 * (OpenSSL's session timeout under HAProxy). */
static int
xprt_cache_load(const br_ssl_session_cache_class **ctx,
    br_ssl_server_context *sc, br_ssl_session_parameters *params)
{
	struct xprt_tls *t = CONTAINER(sc, struct xprt_tls, sc);
	br_ssl_session_parameters got = *params;
	uint32_t tag;
	struct xprt_stamp *w = xprt_stamp_set(params->session_id, &tag);
	int i;

	(void)ctx;
	if (!xprt_rt.cache.vtable->load(&xprt_rt.cache.vtable, sc, &got))
		return 0;
	for (i = 0; i < XPRT_WAYS && w[i].tag != tag; i++)
		;
	if (i == XPRT_WAYS || xprt_secs() - w[i].made >= t->conf->lifetime)
		return 0;
	*params = got;
	t->resumed = 1;
	return 1;
}

static const br_ssl_session_cache_class xprt_cache_class = {
	sizeof(const br_ssl_session_cache_class *), xprt_cache_save,
	xprt_cache_load
};

/* What the handshake settled, for fetches and log lines (NULL while it
 * is not done). */
static void
xprt_tls_info(const struct side *sd, const char **sni, const char **proto,
    const char **cipher, int *resumed)
{
	const br_ssl_engine_context *e;
	unsigned v;

	*sni = *proto = *cipher = NULL;
	*resumed = 0;
	if (sd->tls == NULL)
		return;
	e = &sd->tls->sc.eng;
	v = br_ssl_engine_get_version(e);
	*proto = v == BR_TLS12 ? "TLSv1.2" : v == BR_TLS11 ? "TLSv1.1" :
	    v == BR_TLS10 ? "TLSv1" : NULL;
	if (*proto == NULL)
		return;
	*sni = br_ssl_engine_get_server_name(e);
	if (**sni == 0)
		*sni = NULL;
	*cipher = ciph_id_name(e->session.cipher_suite);
	*resumed = sd->tls->resumed;
}

static void
xprt_tls_init(const struct config *cfg)
{
	size_t sz = (size_t)cfg->ssl_cachesize * 100;

	if (sz == 0)
		return;		/* tune.ssl.cachesize 0: no resumption */
	if (sz < 4096)
		sz = 4096;
	/* calloc'd: pages are only resident once sessions use them */
	xprt_rt.cache_mem = u_calloc(1, sz);
	br_ssl_session_cache_lru_init(&xprt_rt.cache, xprt_rt.cache_mem, sz);
	xprt_rt.nsets = (uint32_t)(cfg->ssl_cachesize / 2 + 1);
	xprt_rt.stamps = u_calloc(xprt_rt.nsets * XPRT_WAYS, sizeof(*xprt_rt.stamps));
	xprt_rt.cache_vt = &xprt_cache_class;
}

static void
xprt_tls_log_error(struct side *sd, int err)
{
	struct xprt_tls *t = sd->tls;
	char src[INET6_ADDRSTRLEN + 8];

	if (t->err == 0)
		t->err = err;
	net_addr_str(t->src, src, sizeof(src), 1);
	log_debug("TLS error from %s on %s: %s", src, (*t->fe)->name,
	    crt_err_name(err));
}

/* Derive the side's readiness from the engine. */
static void
xprt_tls_flags(struct side *sd)
{
	br_ssl_engine_context *e = &sd->tls->sc.eng;
	unsigned st = br_ssl_engine_current_state(e);
	int err;

	sd->fl &= ~(SF_RD | SF_WR);
	if (st & (BR_SSL_RECVAPP | BR_SSL_SENDAPP))
		sd->tls->hs_done = 1;	/* for good: no renegotiation */
	if (st & BR_SSL_RECVAPP)
		sd->fl |= SF_RD;
	if (st & BR_SSL_SENDAPP)
		sd->fl |= SF_WR;
	if (st & BR_SSL_CLOSED) {
		if ((err = br_ssl_engine_last_error(e)) != BR_ERR_OK) {
			xprt_tls_log_error(sd, err);
			sd->fl |= SF_ERR;
		}
		/* a TLS closure ends both directions: an error for what was
		 * still to be sent, unless waxlb had closed its side (then the
		 * peer's close_notify is the clean end, HAProxy's "----") */
		if (!(st & BR_SSL_RECVAPP))
			sd->fl |= SF_EOF | SF_RD | (sd->fl & SF_SHUTW ? 0 : SF_ERR);
	} else if (sd->tls->sock_eof && !(st & BR_SSL_RECVAPP))
		sd->fl |= SF_EOF | SF_RD;
}

/* Records from the engine to the socket; 1 when some moved. */
static int
xprt_tls_sendrec(struct side *sd, br_ssl_engine_context *e)
{
	size_t len;
	unsigned char *b = br_ssl_engine_sendrec_buf(e, &len);
	ssize_t n = send(sd->fd, b, len, MSG_NOSIGNAL);

	if (n > 0) {
		br_ssl_engine_sendrec_ack(e, (size_t)n);
		return 1;
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		sd->fl |= SF_ERR | SF_EOF;
		sd->tls->sock_eof = 1;
		return -1;
	}
	return 0;
}

/* Records from the socket to the engine; 1 when some moved. */
static int
xprt_tls_recvrec(struct side *sd, br_ssl_engine_context *e)
{
	size_t len;
	unsigned char *b = br_ssl_engine_recvrec_buf(e, &len);
	ssize_t n = recv(sd->fd, b, len, 0);

	if (n > 0) {
		br_ssl_engine_recvrec_ack(e, (size_t)n);
		return 1;
	}
	if (n == 0)
		sd->tls->sock_eof = 1;
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		sd->tls->sock_eof = 1;
		sd->fl |= SF_ERR;
	}
	return 0;
}

/* Move records between the socket and the engine until neither can. */
static void
xprt_tls_pump(struct side *sd)
{
	br_ssl_engine_context *e = &sd->tls->sc.eng;
	int moved;

	do {
		unsigned st = br_ssl_engine_current_state(e);
		int r = 0;

		moved = 0;
		if ((st & BR_SSL_SENDREC) && (r = xprt_tls_sendrec(sd, e)) < 0)
			break;
		moved = r;
		if ((st & BR_SSL_RECVREC) && !sd->tls->sock_eof)
			moved |= xprt_tls_recvrec(sd, e);
	} while (moved);
	xprt_tls_flags(sd);
}

static void
xprt_tls_ready(struct side *sd, short revents)
{
	(void)revents;
	xprt_tls_pump(sd);
}

/* Whatever the engine waits for, whatever the session wants. */
static short
xprt_tls_events(const struct side *sd, short want)
{
	unsigned st = br_ssl_engine_current_state(&sd->tls->sc.eng);
	short ev = 0;

	(void)want;
	if ((st & BR_SSL_SENDREC) && !(sd->fl & SF_ERR))
		ev |= POLLOUT;
	if ((st & BR_SSL_RECVREC) && !sd->tls->sock_eof)
		ev |= POLLIN;
	return ev;
}

/* Records still waiting to reach the socket. */
static int
xprt_tls_pending(const struct side *sd)
{
	return !(sd->fl & SF_ERR) &&
	    (br_ssl_engine_current_state(&sd->tls->sc.eng) & BR_SSL_SENDREC);
}

static int
xprt_tls_recv(struct side *sd, char *p, size_t n)
{
	br_ssl_engine_context *e = &sd->tls->sc.eng;
	unsigned char *b;
	size_t len;

	xprt_tls_pump(sd);
	if (!(br_ssl_engine_current_state(e) & BR_SSL_RECVAPP)) {
		if (sd->fl & SF_EOF)
			return (sd->fl & SF_ERR) && br_ssl_engine_last_error(e) !=
			    BR_ERR_OK ? -2 : 0;
		return -1;
	}
	b = br_ssl_engine_recvapp_buf(e, &len);
	if (len > n)
		len = n;
	memcpy(p, b, len);
	br_ssl_engine_recvapp_ack(e, len);
	xprt_tls_pump(sd);
	return (int)len;
}

static int
xprt_tls_send(struct side *sd, const char *p, size_t n)
{
	br_ssl_engine_context *e = &sd->tls->sc.eng;
	unsigned char *b;
	size_t len;

	xprt_tls_pump(sd);
	if (!(br_ssl_engine_current_state(e) & BR_SSL_SENDAPP))
		return (sd->fl & SF_ERR) ? -2 : -1;
	b = br_ssl_engine_sendapp_buf(e, &len);
	if (len > n)
		len = n;
	memcpy(b, p, len);
	br_ssl_engine_sendapp_ack(e, len);
	br_ssl_engine_flush(e, 0);
	xprt_tls_pump(sd);
	return (int)len;
}

static void
xprt_tls_shutw(struct side *sd)
{
	br_ssl_engine_close(&sd->tls->sc.eng);
	xprt_tls_pump(sd);
	sd->fl |= SF_SHUTW;
}

static const struct xprt_ops xprt_tls_ops = {
	xprt_tls_recv, xprt_tls_send, xprt_tls_shutw, xprt_tls_ready,
	xprt_tls_events, xprt_tls_pending
};

/* The engine's fixed settings: versions, suites, hashes, PRFs, ciphers. */
static void
xprt_tls_setup(struct xprt_tls *t, const struct tls_conf *tc)
{
	br_ssl_engine_context *e = &t->sc.eng;

	br_ssl_server_zero(&t->sc);
	br_ssl_engine_set_versions(e, tc->vmin, tc->vmax);
	br_ssl_engine_set_suites(e, tc->suites, (size_t)tc->nsuites);
	br_ssl_engine_set_ec(e, &tc->ec);
	br_ssl_engine_set_hash(e, br_md5_ID, &br_md5_vtable);
	br_ssl_engine_set_hash(e, br_sha1_ID, &br_sha1_vtable);
	br_ssl_engine_set_hash(e, br_sha224_ID, &br_sha224_vtable);
	br_ssl_engine_set_hash(e, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(e, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_hash(e, br_sha512_ID, &br_sha512_vtable);
	br_ssl_engine_set_prf10(e, &br_tls10_prf);
	br_ssl_engine_set_prf_sha256(e, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(e);
	br_ssl_engine_set_default_chapol(e);
	br_ssl_engine_set_default_aes_cbc(e);
	br_ssl_server_set_policy(&t->sc, &t->pol);
	if (xprt_rt.cache_mem)
		br_ssl_server_set_cache(&t->sc, &xprt_rt.cache_vt);
	br_ssl_engine_set_buffers_bidi(e, t->ibuf, sizeof(t->ibuf), t->obuf,
	    sizeof(t->obuf));
	br_ssl_engine_add_flags(e, BR_OPT_NO_RENEGOTIATION |
	    (tc->prefer_client ? 0 : BR_OPT_ENFORCE_SERVER_PREFERENCES));
	if (tc->nalpn)
		br_ssl_engine_set_protocol_names(e, (const char **)tc->alpn,
		    (size_t)tc->nalpn);
}

/* Make <sd> a TLS server side; the first records are read at once, as
 * they often came with the connection.  <src> and <fe> name the client in
 * error log lines. */
static int
xprt_tls_start(struct side *sd, const struct tls_conf *tc,
    const struct sockaddr_storage *src, struct proxy *const *fe)
{
	struct xprt_tls *t = malloc(sizeof(*t));
	unsigned char seed[32];

	if (t == NULL)
		return -1;
	memset(t, 0, offsetof(struct xprt_tls, ibuf));
	t->conf = tc;
	t->src = src;
	t->fe = fe;
	t->pol = &xprt_tls_policy;
	xprt_tls_setup(t, tc);
	if (u_random(seed, sizeof(seed)) < 0) {
		log_alert("no randomness from the system: refusing TLS connection");
		free(t);
		return -1;
	}
	br_ssl_engine_inject_entropy(&t->sc.eng, seed, sizeof(seed));
	if (!br_ssl_server_reset(&t->sc)) {
		log_alert("TLS engine reset failed: %s",
		    crt_err_name(br_ssl_engine_last_error(&t->sc.eng)));
		free(t);
		return -1;
	}
	sd->tls = t;
	xprt_tls_pump(sd);
	return 0;
}

static void
xprt_side_free(struct side *sd)
{
	free(sd->tls);
	sd->tls = NULL;
}

/* ---- what sessions call ---- */

static const struct xprt_ops *
xprt_ops(const struct side *sd)
{
	return sd->tls ? &xprt_tls_ops : &xprt_plain;
}

static int
xprt_recv(struct side *sd, char *p, size_t n)
{
	return xprt_ops(sd)->recv(sd, p, n);
}

static int
xprt_send(struct side *sd, const char *p, size_t n)
{
	return xprt_ops(sd)->send(sd, p, n);
}

static void
xprt_shutw(struct side *sd)
{
	if (!(sd->fl & SF_SHUTW))
		xprt_ops(sd)->shutw(sd);
}

static void
xprt_ready(struct side *sd, short revents)
{
	xprt_ops(sd)->ready(sd, revents);
}

static short
xprt_events(const struct side *sd, short want)
{
	return xprt_ops(sd)->events(sd, want);
}

static int
xprt_pending(const struct side *sd)
{
	return xprt_ops(sd)->pending(sd);
}

/* A TLS side before the end of its handshake: its engine still uses the
 * certificate chain and key of the config it was accepted under. */
static int
xprt_handshaking(const struct side *sd)
{
	return sd->tls != NULL && !sd->tls->hs_done;
}

/* Why a handshake did not complete, in HAProxy's words (its
 * conn_err_code_str()); <timeout> when the session's deadline passed. */
static const char *
xprt_tls_failure(const struct side *sd, int timeout)
{
	if (timeout)
		return "Timeout during SSL handshake";
	if (sd->tls->err)
		return "SSL handshake failure";
	return sd->tls->sock_eof ? "Connection closed during SSL handshake" :
	    "Connection error during SSL handshake";
}
/*==== end xprt ====*/

/*==== begin sess ====*/
/*
 * Listeners and sessions.  A session is a client connection and, while it
 * is served, one server connection: two sides (struct side) and two
 * channels (struct chan: the request going one way, the response the
 * other), and a transaction (struct txn) for what belongs to one request.
 * sess_run() is the state machine; sess_set_state() is the only writer of
 * a session's state.  Each state advances as far as the bytes allow, then
 * poll interest and the deadline are derived from what is left.  Every
 * end goes through sess_kill() or an answer made here, which log once.
 *
 * Listeners are polled only while the global and frontend limits allow
 * another client; at a limit the kernel backlog holds further clients.
 */

enum sess_state {
	S_REQ,		/* reading a request head from the client */
	S_QUEUE,	/* waiting in the backend queue for a server slot */
	S_TURN,		/* waiting to retry a connection */
	S_CONNECT,	/* connecting to the server */
	S_XFER,		/* forwarding one request and its response */
	S_TUNNEL,	/* bidirectional bytes (websocket, tcp mode) */
	S_TARPIT,	/* holding a denied request until "timeout tarpit" */
	S_CLOSING,	/* flushing a last answer to the client, then close */
};

/* Termination state, HAProxy's two letters in the log: who ended it (the
 * cause) and in which phase. */
enum { TC_NONE, TC_CLI, TC_SRV, TC_PRX, TC_RES, TC_INT, TC_KILL, TC_CLI_TO,
	TC_SRV_TO, TC_LOC };
enum { TP_NONE, TP_REQ, TP_QUEUE, TP_CONN, TP_HDR, TP_DATA, TP_LAST,
	TP_TARPIT };
static const char sess_term_cause[] = "-CSPRIKcsL";
static const char sess_term_phase[] = "-RQCHDLT";
#define TERM(c, p)	((unsigned char)((c) << 4 | (p)))
#define TERM_CR		TERM(TC_CLI, TP_REQ)
#define TERM_CC		TERM(TC_CLI, TP_CONN)
#define TERM_CD		TERM(TC_CLI, TP_DATA)
#define TERM_cR		TERM(TC_CLI_TO, TP_REQ)
#define TERM_cD		TERM(TC_CLI_TO, TP_DATA)
#define TERM_SC		TERM(TC_SRV, TP_CONN)
#define TERM_SH		TERM(TC_SRV, TP_HDR)
#define TERM_SD		TERM(TC_SRV, TP_DATA)
#define TERM_sQ		TERM(TC_SRV_TO, TP_QUEUE)
#define TERM_sH		TERM(TC_SRV_TO, TP_HDR)
#define TERM_sD		TERM(TC_SRV_TO, TP_DATA)
#define TERM_PR		TERM(TC_PRX, TP_REQ)
#define TERM_PH		TERM(TC_PRX, TP_HDR)
#define TERM_PT		TERM(TC_PRX, TP_TARPIT)
#define TERM_LR		TERM(TC_LOC, TP_REQ)
#define TERM_LH		TERM(TC_LOC, TP_HDR)
#define TERM_IR		TERM(TC_INT, TP_REQ)
#define TERM_IH		TERM(TC_INT, TP_HDR)
#define TERM_KD		TERM(TC_KILL, TP_DATA)

/* A channel: one direction of a session's bytes. */
enum { CH_HEAD, CH_BODY, CH_DONE };
enum { BODY_NONE, BODY_CLEN, BODY_CHUNKED, BODY_CLOSE };

struct chan {
	struct buf	*buf;
	int64_t		 left;		/* BODY_CLEN: body bytes still due */
	struct chunk_dec ck;
	struct kpipe	*pipe;		/* tunnel bytes in flight */
	uint64_t	 bytes;		/* in: from the client; out: to it */
	unsigned	 fwd;		/* classified bytes not yet sent */
	unsigned char	 state;		/* CH_*: where the message is */
	unsigned char	 body;		/* BODY_*: how it is framed */
};

/* What belongs to one request and its response. */
#define TX_HEAD		0x01	/* request method is HEAD */
#define TX_UPG		0x02	/* request asks for a protocol upgrade */
#define TX_REUSED	0x04	/* the server connection came from a pool */
#define TX_LOGGED	0x08
#define TX_RSP_STARTED	0x10	/* response bytes were sent to the client */
#define TX_NO_AFTER	0x20	/* an early error: no http-after-response rules */
#define TX_REDISP	0x40	/* the request went to another server */
#define TX_STATS	0x100	/* answered by the status page (<STATS>) */
#define TX_PROMEX	0x200	/* answered by the metrics (<PROMEX>) */
#define TX_MONITOR	0x400	/* monitor-uri: counted, never logged */
#define TX_L7		0x80	/* the request may be replayed (retry-on): set
				 * while nothing of a response was accepted */

/* What a transaction keeps beyond the session's fixed size when the
 * configuration asks for it (log lines, captures, variables, a unique
 * id, response rules that read the request): allocated when a request
 * starts, freed when it ends, so that idle connections do not pay. */
struct txn_ext {
	char		*uri;		/* the request line for the log (txn->uri) */
	struct smp_caps	 caps;
	struct smp_vars	*vars;
	char		*uid;		/* unique-id */
	char		*reqhead;	/* the request head as forwarded... */
	struct http_msg	*req;		/* ...parsed, for the response's rules */
	unsigned long long uniq;	/* the request's number (%rt) */
	int		 log_level;	/* set-log-level + 1; 0: unchanged */
	unsigned	 route_fl;	/* ROUTE_* */
};

struct txn {
	unsigned	 fl;		/* TX_* */
	int		 status;
	unsigned char	 term;		/* TERM(), 0 while it goes well */
	int		 retries;
	int64_t		 t_start, t_req, t_queue, t_conn, t_est, t_rsp, t_qdur;
	struct txn_ext	*ext;		/* NULL: nothing asked for it */
	const struct rule *tarpit;	/* S_TARPIT: the rule, for its answer */
};

/* session flags, across requests */
#define SS_CLI_KA	0x0001	/* client connection may carry another request */
#define SS_SRV_KA	0x0002	/* server connection may be reused */
#define SS_NOT_FIRST	0x0004	/* a request was already served */
#define SS_COUNTED	0x0008	/* holds a slot on st->cur */
#define SS_TCP		0x0010	/* tcp-mode session */
#define SS_CLI_10	0x0020	/* client speaks HTTP/1.0 */
#define SS_QUICK_CLOSE	0x0040	/* all input consumed: close without lingering */
#define SS_SSLCONN	0x0080	/* counted in sess_rt.cursslconn (maxsslconn) */

struct session {
	struct side	 cli, srv;
	struct chan	 req, rsp;
	struct txn	 txn;
	struct proxy	*fe, *be;
	struct server	*sv;
	struct srv_state *st;
	unsigned	 fl;		/* SS_* */
	int		 nreq;
	enum sess_state	 state;		/* written by sess_set_state() only */
	unsigned	 replay;	/* request bytes sent but kept at the
					 * buffer's head for a replay (TX_L7) */
	int		 srv_uses;	/* requests its server connection carried */
	int		 lfd;		/* its listener's socket (kept by reloads) */
	int64_t		 t_accept;
	struct sockaddr_storage src;
	struct loop_timer timer;	/* the deadline of the current state */
	struct loop_task task;		/* run again: stopped with work left */
	struct srv_waiter wait;		/* in the backend queue */
	struct config	*cfg;		/* the config its fe/be/sv belong to */
	const struct bind_conf *bind;	/* the bind line it came in on */
	char		*gen;		/* a generated body being sent (stats) */
	unsigned	 gen_len, gen_off;	/* bounded by SESS_GEN_MAX */
	struct session	*next, *prev;
};

struct listener {
	int		 fd;
	int		 paused;
	int		 cur;		/* its clients, for the bind's maxconn */
	struct proxy	*fe;
	struct bind_conf *bind;
	struct listener	*next;
};

/* Events in the current one-second period, for the rate limits
 * (maxconnrate, maxsessrate, rate-limit sessions); HAProxy measures over a
 * sliding second, this over periods that start with their first event. */
struct sess_rate {
	int64_t		 start;
	int		 n;
};

/* Per-proxy counters, kept by name so they survive reloads (names are
 * unique, and a listen proxy is both): HAProxy's frontend counters and
 * its backend ones, with the same meaning (servers count in their
 * srv_state).  hrsp[] are by class: [1]..[5] 1xx..5xx, [0] anything else
 * (no status: the client left before a response). */
struct px_state {
	char		 name[NAME_MAX_LEN];
	int		 cur;		/* frontend: sessions open */
	uint64_t	 tot;		/* ... and accepted */
	uint64_t	 fe_req, fe_hrsp[6];	/* requests read, answers sent */
	uint64_t	 be_stot;	/* requests (tcp: connections) routed here */
	uint64_t	 be_req, be_hrsp[6];	/* their ends, by final status */
	uint64_t	 be_econ, be_eresp, be_wretr, be_wredis;
	uint64_t	 be_cli_abrt, be_srv_abrt;
	int		 smax;		/* frontend: most sessions open at once */
	uint64_t	 fe_bin, fe_bout;	/* bytes of its ended transactions */
	uint64_t	 fe_intercepted;	/* answered by the status page, metrics */
	int		 be_isdown;	/* backend: no usable server */
	uint64_t	 be_down;	/* ... times it became so */
	int64_t		 be_change, be_down_ms;	/* last change, time down */
	struct sess_rate sess_rate;	/* rate-limit sessions */
	struct px_state	*next;
};

/* The status page and the metrics are made by the adm module, which
 * sits below this one: it registers its request handler at start. */
struct sess_svc {
	const struct proxy *fe;
	const struct http_msg *m;
	int		 prometheus;	/* use-service prometheus-exporter */
	int		 admin;		/* "stats admin": the forms may act */
	const char	*rbody;		/* the request body... */
	size_t		 rbody_len;	/* ...as much of it as is buffered */
	/* the answer */
	struct sbuf	 body;
	const char	*ctype;
	int		 status;
	char		 extra[600];	/* header lines (a 303's location) */
};
typedef int (*sess_service_fn)(struct sess_svc *x);

#define ACCEPT_BATCH	64		/* accepts per listener per turn */
#define RUN_ROUNDS	64		/* state machine rounds per run */
#define ACCEPT_PAUSE_MS	100		/* listeners rest after EMFILE */
#define LINGER_MAX_MS	1000		/* a lingering close stays short */
#define SESS_GEN_MAX	(1u << 30)	/* a generated body (status page) */
#define SESS_RULE_SCRATCH 32768		/* values rules make for one head */
/* A session stays within musl's 576-byte malloc class (with its 4-byte
 * header): the request line the log wants lives in the transaction's
 * extension, not here; one field too many costs 96 bytes per
 * connection (the next class is 672). */
_Static_assert(sizeof(struct session) <= 572, "struct session outgrew 572 bytes");

static struct {
	struct config	*cfg;		/* the running config (holds a ref) */
	struct listener	*listeners;
	struct session	*sessions;
	struct px_state	*pxs;
	int		 curconn;
	int		 cursslconn;	/* of them, on ssl listeners (maxsslconn) */
	int		 stopping;	/* soft stop: no more clients */
	int64_t		 paused;	/* listeners paused until then */
	struct sess_rate conn_rate, sess_rate;	/* maxconnrate, maxsessrate */
	int64_t		 rate_wake;	/* a rate-limited listener resumes */
	struct http_msg	 msg;		/* the head being parsed (not reentrant) */
	sess_service_fn	 service;
	/* where rules put what they make for the head being processed */
	char		 scratch[SESS_RULE_SCRATCH];
	unsigned long long req_count;	/* requests seen, for %rt */
	const char	*realm;		/* a 401 being made: its realm */
} sess_rt;

static void sess_run(struct session *s);

/* ---- configs in use ---- */

static void
sess_cfg_ref(struct config *c)
{
	c->refs++;
}

/* A config is freed once neither the runtime nor a session uses it. */
static void
sess_cfg_unref(struct config *c)
{
	if (--c->refs > 0)
		return;
	srv_unbind(c);
	cfg_free(c);
}

static struct px_state *sess_px_state(const struct proxy *px);

/* Make <c> the running config (the caller's reference moves to it).  Its
 * proxies' counters exist from now on: a backend's last change is its
 * start. */
static void
sess_set_config(struct config *c)
{
	struct config *old = sess_rt.cfg;
	const struct proxy *px;

	for (px = c->proxies; px; px = px->next)
		sess_px_state(px);
	sess_rt.cfg = c;
	log_set_targets(c->logs, c->log_tag, c->log_host);
	if (old)
		sess_cfg_unref(old);
}

static void
sess_set_service(sess_service_fn fn)
{
	sess_rt.service = fn;
}

/* ---- frontends and listeners ---- */

static struct px_state *
sess_px_state(const struct proxy *px)
{
	struct px_state *f;

	for (f = sess_rt.pxs; f; f = f->next)
		if (strcmp(f->name, px->name) == 0)
			return f;
	f = u_calloc(1, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", px->name);
	f->be_change = loop_now();
	f->next = sess_rt.pxs;
	sess_rt.pxs = f;
	return f;
}

/* Is a rate at its limit (per second; 0: none)?  The end of the period
 * is when the listeners it pauses look again. */
static int
sess_rate_full(struct sess_rate *r, int limit)
{
	int64_t end;

	if (limit <= 0)
		return 0;
	if (loop_now() - r->start >= 1000) {
		r->start = loop_now();
		r->n = 0;
	}
	if (r->n < limit)
		return 0;
	end = r->start + 1000;
	if (sess_rt.rate_wake == 0 || end < sess_rt.rate_wake)
		sess_rt.rate_wake = end;
	return 1;
}

static void
sess_rate_add(struct sess_rate *r)
{
	if (loop_now() - r->start >= 1000) {
		r->start = loop_now();
		r->n = 0;
	}
	r->n++;
}

/* Is a listener at one of its limits: the global and frontend maxconn,
 * its own, the rates? */
static int
sess_listener_full(struct listener *l)
{
	const struct config *c = sess_rt.cfg;
	struct px_state *f = sess_px_state(l->fe);

	return sess_rt.stopping || sess_rt.paused || sess_rt.curconn >= c->maxconn ||
	    (l->fe->maxconn && f->cur >= l->fe->maxconn) ||
	    (l->bind->maxconn && l->cur >= l->bind->maxconn) ||
	    sess_rate_full(&sess_rt.conn_rate, c->maxconnrate) ||
	    sess_rate_full(&sess_rt.sess_rate, c->maxsessrate) ||
	    sess_rate_full(&f->sess_rate, l->fe->rate_sess) ||
	    (l->bind->tls && c->maxsslconn && sess_rt.cursslconn >= c->maxsslconn);
}

/* Listeners are polled only while the limits allow another client. */
static void
sess_listeners_update(void)
{
	struct listener *l;

	for (l = sess_rt.listeners; l; l = l->next) {
		int full = sess_listener_full(l);

		if (full != l->paused) {
			l->paused = full;
			loop_fd_want(l->fd, full ? 0 : POLLIN);
		}
	}
}

/* Out of fds: stop polling listeners for a moment instead of spinning. */
static void
sess_accept_pause(int err)
{
	struct listener *l;

	log_alert("accept(): %s; pausing listeners for 100ms", strerror(err));
	sess_rt.paused = loop_now() + ACCEPT_PAUSE_MS;
	for (l = sess_rt.listeners; l; l = l->next)
		loop_fd_want(l->fd, 0);
}

/* Loop hook: listeners paused after an fd shortage, or by a rate limit,
 * try again. */
static int64_t
sess_pause_hook(void)
{
	struct listener *l;

	if (sess_rt.rate_wake && loop_now() >= sess_rt.rate_wake) {
		sess_rt.rate_wake = 0;
		sess_listeners_update();
	}
	if (sess_rt.paused && loop_now() < sess_rt.paused)
		return sess_rt.rate_wake && sess_rt.rate_wake < sess_rt.paused ?
		    sess_rt.rate_wake : sess_rt.paused;
	if (sess_rt.paused) {
		sess_rt.paused = 0;
		for (l = sess_rt.listeners; l; l = l->next)
			l->paused = -1;
		sess_listeners_update();
	}
	return sess_rt.rate_wake ? sess_rt.rate_wake : -1;
}

static void sess_event(void *obj, int fd, short revents);
static void sess_timer_fired(struct loop_timer *t);
static void sess_task_run(struct loop_task *t);
static void sess_free(struct session *s);
static int sess_accepted(struct session *s, int tls);

static struct session *
sess_new(struct proxy *fe, int fd, const struct sockaddr_storage *src)
{
	struct session *s = u_calloc(1, sizeof(*s));
	struct px_state *f;

	s->fe = fe;
	s->cfg = sess_rt.cfg;
	sess_cfg_ref(s->cfg);
	xprt_side_init(&s->cli, fd);
	xprt_side_init(&s->srv, -1);
	s->src = *src;
	s->t_accept = s->txn.t_start = loop_now();
	s->txn.status = -1;
	s->txn.t_req = s->txn.t_queue = s->txn.t_conn = s->txn.t_est =
	    s->txn.t_rsp = -1;
	loop_timer_add(&s->timer, sess_timer_fired);
	s->task.run = sess_task_run;
	s->next = sess_rt.sessions;
	if (sess_rt.sessions)
		sess_rt.sessions->prev = s;
	sess_rt.sessions = s;
	sess_rt.curconn++;
	f = sess_px_state(fe);
	f->tot++;
	if (++f->cur > f->smax)
		f->smax = f->cur;
	return s;
}

/* One socket for two bind lines: the same address and interface. */
static int
sess_same_socket(const struct bind_conf *a, const struct bind_conf *b)
{
	return a->addrlen == b->addrlen && memcmp(&a->addr, &b->addr, b->addrlen) == 0 &&
	    strcmp(a->lo.iface ? a->lo.iface : "", b->lo.iface ? b->lo.iface : "") == 0;
}

/* What the frontend sets on its client sockets: keep-alive probes
 * (option clitcpka), a reset on close (option nolinger, HAProxy's
 * listener SO_LINGER the accepted sockets inherit). */
static void
sess_client_opts(const struct proxy *fe, int fd)
{
	if (fe->options & OPT_CLITCPKA)
		net_keepalive(fd, fe->tcpka_cnt[0], fe->tcpka_idle[0],
		    fe->tcpka_intvl[0]);
	if (fe->options & OPT_NOLINGER)
		net_set_linger0(fd);
}

/* The listener <s> came in on, by its socket (a reload keeps the socket
 * and moves it to the new config's bind line, and <s> may be past its
 * own config's bind lines); NULL when it is gone. */
static struct listener *
sess_listener_of(const struct session *s)
{
	struct listener *l;

	for (l = sess_rt.listeners; l; l = l->next)
		if (l->fd >= 0 && l->fd == s->lfd)
			return l;
	return NULL;
}

static void
sess_accept(void *obj, int fd, short revents)
{
	struct listener *l = obj;
	struct sockaddr_storage ss;
	struct session *s;
	int i, cfd;

	(void)revents;
	/* a bounded batch per turn keeps other connections served */
	for (i = 0; i < ACCEPT_BATCH && l->paused <= 0; i++) {
		if ((cfd = net_accept(fd, &ss, l->bind->lo.mss)) < 0) {
			if (cfd == -EMFILE || cfd == -ENFILE || cfd == -ENOBUFS ||
			    cfd == -ENOMEM)
				sess_accept_pause(-cfd);
			return;
		}
		if (!loop_fd_fits(cfd)) {
			close(cfd);
			continue;
		}
		sess_client_opts(l->fe, cfd);
		s = sess_new(l->fe, cfd, &ss);
		s->bind = l->bind;
		s->lfd = fd;
		if (l->bind->tls != NULL) {
			s->fl |= SS_SSLCONN;
			sess_rt.cursslconn++;
		}
		l->cur++;
		sess_rate_add(&sess_rt.conn_rate);
		loop_fd_add(cfd, sess_event, s, POLLIN);
		if (sess_accepted(s, l->bind->tls != NULL) < 0) {
			sess_free(s);
			continue;
		}
		sess_rate_add(&sess_rt.sess_rate);
		sess_rate_add(&sess_px_state(l->fe)->sess_rate);
		sess_listeners_update();
		if (l->bind->tls) {
			if (xprt_tls_start(&s->cli, l->bind->tls, &s->src, &s->fe) < 0) {
				sess_free(s);
				continue;
			}
		} else	/* try at once: data often came with the handshake */
			s->cli.fl |= SF_RD | SF_WR;
		sess_run(s);
	}
}

/* The listen() backlog of a bind line, as HAProxy's listener_backlog():
 * its own, the frontend's, its maxconn, the frontend's maxconn (which
 * defaults to the global one). */
static int
sess_backlog(const struct config *cfg, const struct proxy *px,
    const struct bind_conf *b)
{
	return b->lo.backlog ? b->lo.backlog : px->backlog ? px->backlog :
	    b->maxconn ? b->maxconn : px->maxconn ? px->maxconn : cfg->maxconn;
}

/* A running listener a reload keeps takes the new line's options, but
 * v6only/v4v6 are fixed once a socket is bound. */
static int
sess_listener_retune(struct listener *l, const struct config *cfg,
    const struct proxy *px, const struct bind_conf *b)
{
	char warn[160];

	/* on a bound socket; only "[::]" has a choice (Linux makes other
	 * IPv6 addresses v6-only at bind) */
	if (b->addr.ss_family == AF_INET6 && b->lo.v6only >= 0 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&b->addr)->sin6_addr) &&
	    b->lo.v6only != net_v6only(l->fd)) {
		log_alert("Starting frontend %s: '%s' on [%s] cannot change on a "
		    "listening socket; restart waxlb to change it", px->name,
		    b->lo.v6only ? "v6only" : "v4v6", b->text);
		return -1;
	}
	warn[0] = 0;
	if (net_listen_tune(l->fd, &b->lo, sess_backlog(cfg, px, b), warn,
	    sizeof(warn)) < 0 || warn[0])
		log_warn("Starting frontend %s: %s for [%s]", px->name,
		    warn[0] ? warn : strerror(errno), b->text);
	return 0;
}

static struct listener *
sess_listener_new(const struct config *cfg, const struct proxy *px,
    const struct bind_conf *b)
{
	struct listener *l = u_calloc(1, sizeof(*l));
	char err[256], warn[160];

	if ((l->fd = net_listen(&b->addr, b->addrlen, &b->lo, sess_backlog(cfg, px, b),
	    err, sizeof(err), warn, sizeof(warn))) < 0) {
		log_alert("Starting frontend %s: %s", px->name, err);
		free(l);
		return NULL;
	}
	if (warn[0])
		log_warn("Starting frontend %s: %s for [%s]", px->name, warn, b->text);
	loop_fd_add(l->fd, sess_accept, l, POLLIN);
	return l;
}

/* The listeners of <cfg>: those of the running set on the same address
 * are kept (with their queue of pending clients), the others opened. */
static int
sess_listeners_open(struct config *cfg, struct listener **out)
{
	struct proxy *px;
	struct bind_conf *b;
	struct listener *l, **pp;

	for (px = cfg->proxies; px; px = px->next)
		for (b = (px->cap & CAP_FE) ? px->binds : NULL; b; b = b->next) {
			for (pp = &sess_rt.listeners; *pp; pp = &(*pp)->next)
				if ((*pp)->fd >= 0 && sess_same_socket((*pp)->bind, b))
					break;
			if ((l = *pp) != NULL) {
				*pp = l->next;	/* keeps its paused state */
				l->next = *out;	/* for sess_listeners_undo() */
				*out = l;
				if (sess_listener_retune(l, cfg, px, b) < 0)
					return -1;
				*out = l->next;
			} else if ((l = sess_listener_new(cfg, px, b)) == NULL)
				return -1;
			l->fe = px;
			l->bind = b;
			l->next = *out;
			*out = l;
		}
	return 0;
}

/* A reload that failed after sess_listeners_open(): new sockets closed,
 * kept ones handed back to the running set. */
static void
sess_listeners_undo(struct listener *nl)
{
	struct listener *l, *nx;
	struct proxy *opx;
	struct bind_conf *b;
	char warn[160];
	int kept;

	for (l = nl; l; l = nx) {
		nx = l->next;
		kept = 0;
		for (opx = sess_rt.cfg->proxies; opx && !kept; opx = opx->next)
			for (b = opx->binds; b && !kept; b = b->next)
				if (sess_same_socket(b, l->bind)) {
					/* the running line's options again */
					(void)net_listen_tune(l->fd, &b->lo,
					    sess_backlog(sess_rt.cfg, opx, b), warn, sizeof(warn));
					l->fe = opx;
					l->bind = b;
					l->next = sess_rt.listeners;
					sess_rt.listeners = l;
					kept = 1;
				}
		if (!kept) {
			loop_fd_close(l->fd);
			free(l);
		}
	}
}

/* The new set replaces the running one; listeners left on the old list
 * are gone from the config. */
static void
sess_listeners_swap(struct listener *nl)
{
	struct listener *l, *nx;

	for (l = sess_rt.listeners; l; l = nx) {
		nx = l->next;
		if (l->fd >= 0)
			loop_fd_close(l->fd);
		free(l);
	}
	sess_rt.listeners = nl;
}

/* Soft stop: no more clients. */
static void
sess_listeners_close(void)
{
	struct listener *l;

	sess_rt.stopping = 1;
	for (l = sess_rt.listeners; l; l = l->next)
		if (l->fd >= 0) {
			loop_fd_close(l->fd);
			l->fd = -1;
		}
}

/* ---- counters, as HAProxy 2.6 keeps them ---- */

/* The class of a status in hrsp[]: 1..5, 0 for anything else. */
static int
sess_hclass(int status)
{
	int n = status / 100;

	return n >= 1 && n <= 5 ? n : 0;
}

/* The server of this transaction, if it was given one. */
static struct srv_state *
sess_txn_srv(const struct session *s)
{
	return s->sv && ((s->fl & SS_COUNTED) || s->txn.t_conn >= 0) ? s->st : NULL;
}

/* One more request on the client connection: HAProxy counts it on the
 * frontend as soon as its head is read, valid or not. */
static void
sess_count_req(struct session *s)
{
	s->nreq++;
	sess_px_state(s->fe)->fe_req++;
}

/* An invalid, missing or late response (eresp), on the server and its
 * backend. */
static void
sess_count_eresp(struct session *s)
{
	s->st->eresp++;
	sess_px_state(s->be)->be_eresp++;
}

/* A retry on the same server (wretr) or, when another one (or none) was
 * picked, a redispatch away from it (wredis), as HAProxy's
 * assign_server_and_queue() counts them. */
static void
sess_count_retry(struct session *s, struct server *from, const struct server *to)
{
	struct px_state *b = sess_px_state(s->be);

	if (to == from) {
		from->st->wretr++;
		b->be_wretr++;
	} else {
		from->st->wredis++;
		b->be_wredis++;
		s->txn.fl |= TX_REDISP;	/* "+" before %rc, an error to the log */
	}
}

/* A client (<cli>) or a server that closed, failed or timed out while
 * bytes were moving (cli_abrt, srv_abrt), on the backend and the server.
 * Not a malformed message: HAProxy counts those as errors only. */
static void
sess_count_abort(struct session *s, int cli)
{
	struct srv_state *st = sess_txn_srv(s);
	struct px_state *b = s->be ? sess_px_state(s->be) : NULL;

	if (b)
		++*(cli ? &b->be_cli_abrt : &b->be_srv_abrt);
	if (st)
		++*(cli ? &st->cli_abrt : &st->srv_abrt);
}

/* A transaction ends (once, from sess_log()): its final status on the
 * frontend and the backend, as HAProxy counts them when a stream ends
 * ("other" when there was none: the client left first). */
static void
sess_count_end(struct session *s)
{
	int n = sess_hclass(s->txn.status);
	struct px_state *b;

	if (s->fe->mode == MODE_HTTP)
		sess_px_state(s->fe)->fe_hrsp[n]++;
	if (s->be && s->be->mode == MODE_HTTP) {
		b = sess_px_state(s->be);
		b->be_req++;
		b->be_hrsp[n]++;
	}
}

/* ---- state, deadline, log ---- */

static void
sess_ext_free(struct session *s)
{
	struct txn_ext *x = s->txn.ext;
	int k;

	if (x == NULL)
		return;
	for (k = 0; k < CAPTURES_MAX; k++) {
		free(x->caps.req[k]);
		free(x->caps.res[k]);
	}
	smp_vars_clear(x->vars);
	free(x->vars);
	free(x->uid);
	free(x->reqhead);
	free(x->req);
	free(x->uri);
	free(x);
	s->txn.ext = NULL;
}

/* The extension of this transaction, made when the configuration needs
 * one; NULL otherwise (or without memory: the log line loses details). */
static struct txn_ext *
sess_ext(struct session *s)
{
	struct txn_ext *x = s->txn.ext;

	if (x || (!(s->cfg->needs & NEED_EXT) && !log_wanted(s->fe)))
		return x;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	if ((s->cfg->needs & NEED_VARS) &&
	    (x->vars = calloc(1, sizeof(*x->vars))) == NULL) {
		free(x);
		return NULL;
	}
	x->uniq = sess_rt.req_count++;
	s->txn.ext = x;
	return x;
}

/* What fetches see of this transaction: the request <m> (NULL in tcp
 * mode), the response <rsp> once there is one. */
static void
sess_smp_ctx(const struct session *s, const struct http_msg *m,
    const struct http_msg *rsp, struct smp_ctx *c)
{
	const struct txn_ext *x = s->txn.ext;

	memset(c, 0, sizeof(*c));
	c->msg = m;
	c->rsp = rsp;
	c->src = &s->src;
	c->ssl = s->cli.tls != NULL;
	c->cli_fd = s->cli.fd;
	c->fe = s->fe;
	c->be = s->be;
	c->sv = s->sv;
	c->status = s->txn.status;
	if (c->ssl)
		xprt_tls_info(&s->cli, &c->sni, &c->ssl_proto, &c->ssl_cipher,
		    &c->ssl_resumed);
	if (x) {
		c->vars = x->vars;
		c->uid = x->uid;
		c->caps = &x->caps;
	}
}

/* The local address of the client connection (%fi, %fp), asked of the
 * kernel when a log line or a rule wants it. */
static const struct sockaddr_storage *
sess_local_addr(const struct session *s)
{
	static struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (s->cli.fd < 0 || getsockname(s->cli.fd, (struct sockaddr *)&ss, &sl) < 0)
		return NULL;
	return &ss;
}

/* A backend's transactions (%bc): on its servers and in its queue. */
static int
sess_be_conns(const struct proxy *be)
{
	const struct server *sv;
	int n = srv_queue_len(be);

	for (sv = be->srv; sv; sv = sv->next)
		n += sv->st ? sv->st->cur : 0;
	return n;
}

/* The facts of a log line or of a value with "%" variables (a
 * rule_ex callback). */
static void
sess_facts(void *arg, struct lf_facts *f)
{
	const struct session *s = arg;
	const struct txn *x = &s->txn;
	long long tr = x->t_req >= 0 ? x->t_req - x->t_start : -1;
	int64_t wall = u_wall_ms() - (loop_now() - x->t_start);
	const char *sslv = NULL, *sni;
	int res;

	memset(f, 0, sizeof(*f));
	f->accept.tv_sec = (time_t)(wall / 1000);
	f->accept.tv_usec = (suseconds_t)(wall % 1000) * 1000;
	f->ci = &s->src;
	f->fi = sess_local_addr(s);
	f->si = s->sv && ((s->fl & SS_COUNTED) || x->t_conn >= 0) ? &s->sv->addr : NULL;
	f->t_hs = f->t_idle = 0;
	f->t_request = tr;	/* HAProxy's timers: since the start, -1 when not */
	f->t_queue = x->t_conn >= 0 ? x->t_conn - x->t_start : x->t_queue >= 0 &&
	    x->t_qdur ? x->t_queue + x->t_qdur - x->t_start : -1;
	f->t_connect = x->t_est >= 0 ? x->t_est - x->t_start : -1;
	f->t_data = x->t_rsp >= 0 ? x->t_rsp - x->t_start : -1;
	f->t_close = loop_now() - x->t_start;
	f->status = x->status;
	f->bytes_in = s->req.bytes;
	f->bytes_out = s->rsp.bytes;
	f->fe = s->fe->name;
	f->be = s->be ? s->be->name : s->fe->name;
	f->srv = f->si ? s->sv->name : (x->fl & TX_STATS) ? "<STATS>" :
	    (x->fl & TX_PROMEX) ? "<PROMEX>" : NULL;
	f->fe_ssl = s->cli.tls != NULL;
	f->be_http = (s->be ? s->be : s->fe)->mode == MODE_HTTP;
	f->asap = (s->fe->options & OPT_LOGASAP) != 0;
	if (f->fe_ssl)
		xprt_tls_info(&s->cli, &sni, &sslv, &f->ssl_cipher, &res);
	f->ssl_version = sslv;
	f->term[0] = sess_term_cause[x->term >> 4];
	f->term[1] = sess_term_phase[x->term & 15];
	f->ac = sess_rt.curconn;
	f->fc = sess_px_state(s->fe)->cur;
	/* the others: this transaction is about to give its slot back */
	f->sc = s->st ? s->st->cur - ((s->fl & SS_COUNTED) != 0) : 0;
	f->bc = s->be ? sess_be_conns(s->be) - ((s->fl & SS_COUNTED) != 0) : 0;
	f->rc = s->be && s->txn.retries >= 0 ? s->be->retries - s->txn.retries : 0;
	if (f->rc < 0 || x->t_conn < 0)
		f->rc = 0;
	f->redisp = (x->fl & TX_REDISP) != 0;
	f->bq = s->be ? srv_queue_len(s->be) : 0;
	if (x->ext) {
		f->uri = x->ext->uri;
		f->caps = &x->ext->caps;
		f->uid = x->ext->uid;
		f->rt = x->ext->uniq;
	}
	f->ncap_req = s->fe->ncap_req;
	f->ncap_res = s->fe->ncap_res;
}

/* The log line's level: set-log-level, then errors at "err" with
 * option log-separate-errors; -1: not logged (silent, dontlog-normal). */
static int
sess_log_level(const struct session *s)
{
	const struct txn *x = &s->txn;
	int cause = x->term >> 4, err, opts = s->fe->options;

	err = (x->fl & TX_REDISP) || (cause != TC_NONE && cause != TC_LOC) ||
	    (s->fe->mode == MODE_HTTP && x->status >= 500) ||
	    (s->be && x->t_conn >= 0 && x->retries != s->be->retries);
	if (!err && (opts & OPT_DONTLOGNORMAL))
		return -1;
	if (x->ext && x->ext->log_level)
		return x->ext->log_level == 9 ? -1 : x->ext->log_level - 1;
	return err && (opts & OPT_LOGSEPERR) ? 3 : 6;
}

/* HAProxy's listener id (luid): the place of the bind address in its
 * frontend, from 1. */
static int
sess_luid(const struct session *s)
{
	const struct bind_conf *b;
	int n = 1;

	for (b = s->fe->binds; b && b != s->bind; b = b->next)
		n++;
	return n;
}

/* The frontend's log-format-sd for this line, trailing spaces trimmed
 * as HAProxy does; NULL without one. */
static const char *
sess_log_sd(const struct session *s, const struct smp_ctx *c,
    const struct lf_facts *x, char *out, size_t cap)
{
	size_t n;

	if (s->fe->sdfmt == NULL)
		return NULL;
	n = lf_render(s->fe->sdfmt, c, x, out, cap);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = 0;
	return out;
}

/* A client whose TLS handshake did not complete: HAProxy's line for an
 * embryonic session ("ADDR:PORT [date] fe/1: SSL handshake failure", or
 * the error-log-format); dontlognull keeps the ones that sent nothing
 * out, and a frontend without a log format logs none (HAProxy's to_log). */
static void
sess_log_embryonic(struct session *s, int timeout)
{
	const char *why = xprt_tls_failure(&s->cli, timeout);
	char line[LF_LINE_MAX], src[INET6_ADDRSTRLEN + 8], sd[1024];
	struct lf_facts x;
	struct smp_ctx c;
	struct timeval tv;

	if (s->txn.fl & TX_LOGGED)
		return;
	s->txn.fl |= TX_LOGGED;
	if (!log_wanted(s->fe) || (s->fe->logfmt == NULL && log_has_targets(s->fe)) ||
	    ((s->fe->options & OPT_DONTLOGNULL) && why[0] == 'C'))
		return;
	sess_facts(s, &x);
	tv = x.accept;
	sess_smp_ctx(s, NULL, NULL, &c);
	if (s->fe->errlogfmt) {
		lf_render(s->fe->errlogfmt, &c, &x, line, sizeof(line));
	} else
		snprintf(line, sizeof(line), "%s [%s.%03d] %s/%d: %s",
		    net_addr_str(&s->src, src, sizeof(src), 1), log_date(&tv),
		    (int)(tv.tv_usec / 1000), s->fe->name, sess_luid(s), why);
	log_request(s->fe, (s->fe->options & OPT_LOGSEPERR) ? 3 : 6, line,
	    sess_log_sd(s, &c, &x, sd, sizeof(sd)));
}

/* HAProxy's line for a frontend without a log format: at accept. */
static void
sess_log_connect(struct session *s)
{
	const struct sockaddr_storage *d = sess_local_addr(s);
	char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8], line[512];

	net_addr_str(&s->src, a, sizeof(a), 1);
	if (d)
		net_addr_str(d, b, sizeof(b), 1);
	snprintf(line, sizeof(line), "Connect from %s to %s (%s/%s)", a,
	    d ? b : "undetermined address:0", s->fe->name,
	    s->fe->mode == MODE_HTTP ? "HTTP" : "TCP");
	log_request(s->fe, 6, line, NULL);
}

static void
sess_set_state(struct session *s, enum sess_state st)
{
	s->state = st;
}

static void
sess_set_expire(struct session *s, int64_t when)
{
	loop_timer_set(&s->timer, when);
}

static void
sess_set_term(struct session *s, unsigned char term)
{
	if (term && s->txn.term == 0)
		s->txn.term = term;
}

/* One line per finished request or tunnel, in the frontend's log format
 * (without one, HAProxy logged a "Connect from" line at accept; a
 * frontend without any log target writes HAProxy's httplog/tcplog line
 * to stderr). */
static void
sess_log(struct session *s)
{
	const struct lf *f = s->fe->logfmt;
	char line[LF_LINE_MAX], sd[1024];
	struct lf_facts x;
	struct smp_ctx c;
	int level;

	if (s->txn.fl & TX_LOGGED)
		return;
	s->txn.fl |= TX_LOGGED;
	sess_count_end(s);
	if ((s->txn.fl & TX_MONITOR) || !log_wanted(s->fe) || (((s->fe->options | (s->be ? s->be->options : 0)) &
	    OPT_DONTLOGNULL) && s->req.bytes == 0 && s->nreq <= 1 &&
	    !(s->fl & SS_NOT_FIRST)))
		return;
	if (f == NULL && !log_has_targets(s->fe))
		f = s->fe->mode == MODE_HTTP ? s->cfg->deflog_http : s->cfg->deflog_tcp;
	if (f == NULL || (level = sess_log_level(s)) < 0)
		return;
	sess_facts(s, &x);
	sess_smp_ctx(s, s->txn.ext ? s->txn.ext->req : NULL, NULL, &c);
	lf_render(f, &c, &x, line, sizeof(line));
	log_request(s->fe, level, line, sess_log_sd(s, &c, &x, sd, sizeof(sd)));
}

/* ---- server slot, queue, server connection ---- */

static void
sess_srv_close(struct session *s)
{
	if (s->srv.fd >= 0)
		loop_fd_close(s->srv.fd);
	xprt_side_init(&s->srv, -1);
	s->txn.fl &= ~TX_REUSED;
}

static void
sess_take(struct session *s, struct server *sv)
{
	if (s->srv.fd >= 0 && s->st != sv->st)
		sess_srv_close(s);	/* kept (http-reuse never) for another */
	s->sv = sv;
	s->st = sv->st;
	s->fl |= SS_COUNTED;
}

static void
sess_release(struct session *s)
{
	if (!(s->fl & SS_COUNTED))
		return;
	s->fl &= ~SS_COUNTED;
	srv_release(s->st);
}

static void
sess_unqueue(struct session *s)
{
	if (s->wait.queued)
		srv_queue_del(s->be, &s->wait);
}

/* Stop now: close both sides.  The session is freed by sess_run(). */
static void
sess_kill(struct session *s, unsigned char term)
{
	sess_set_term(s, term);
	sess_unqueue(s);
	sess_release(s);
	sess_srv_close(s);
	/* an idle keep-alive connection ending is not a request; a TLS
	 * handshake that did not complete has its own line */
	if (s->state == S_REQ && xprt_handshaking(&s->cli))
		sess_log_embryonic(s, 0);
	else if (s->state != S_REQ || buf_len(s->req.buf) > 0 || s->txn.status > 0)
		sess_log(s);
	s->txn.fl |= TX_LOGGED;
	sess_set_state(s, S_CLOSING);
	s->cli.fl |= SF_ERR;	/* nothing more to flush */
}

static void
sess_chan_free(struct chan *c)
{
	if (c->pipe)
		c->pipe->len = 1;	/* bytes lost with the session: not reusable */
	buf_pipe_put(c->pipe);
	buf_put(c->buf);
	c->pipe = NULL;
	c->buf = NULL;
}

/* The frontend's byte counters take a transaction's when it ends. */
static void
sess_count_bytes(struct session *s)
{
	struct px_state *f = sess_px_state(s->fe);

	f->fe_bin += s->req.bytes;
	f->fe_bout += s->rsp.bytes;
	s->req.bytes = s->rsp.bytes = 0;
}

static void
sess_free(struct session *s)
{
	struct listener *l;

	loop_task_cancel(&s->task);
	loop_timer_del(&s->timer);
	sess_unqueue(s);
	sess_release(s);
	sess_srv_close(s);
	if (s->cli.fd >= 0)
		loop_fd_close(s->cli.fd);
	xprt_side_free(&s->cli);
	free(s->gen);
	sess_ext_free(s);
	sess_chan_free(&s->req);
	sess_chan_free(&s->rsp);
	if (s->prev)
		s->prev->next = s->next;
	else
		sess_rt.sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	sess_rt.curconn--;
	sess_count_bytes(s);
	sess_rt.cursslconn -= (s->fl & SS_SSLCONN) != 0;
	sess_px_state(s->fe)->cur--;
	if ((l = sess_listener_of(s)) != NULL && l->cur > 0)
		l->cur--;
	sess_cfg_unref(s->cfg);
	free(s);
	sess_listeners_update();
}

/* ---- transactions ---- */

static void
sess_txn_reset(struct session *s)
{
	struct txn *x = &s->txn;

	s->req.state = s->rsp.state = CH_HEAD;
	s->req.body = s->rsp.body = BODY_NONE;
	s->req.left = s->rsp.left = 0;
	memset(&s->req.ck, 0, sizeof(s->req.ck));
	memset(&s->rsp.ck, 0, sizeof(s->rsp.ck));
	sess_count_bytes(s);
	x->status = -1;
	x->fl = 0;
	x->t_req = x->t_queue = x->t_conn = x->t_est = x->t_rsp = -1;
	x->t_qdur = 0;
	sess_ext_free(s);
	x->tarpit = NULL;
	x->term = 0;
	x->retries = 0;
	s->replay = 0;
	s->be = NULL;
}

/* The request can no longer be replayed (a response has begun, or the
 * transaction ends): the bytes kept for it are let go. */
static void
sess_replay_end(struct session *s)
{
	if (s->replay) {
		s->req.buf->head += s->replay;
		s->replay = 0;
	}
	s->txn.fl &= ~TX_L7;
}

/* The client connection waits for its next request. */
static void
sess_next_request(struct session *s)
{
	sess_txn_reset(s);
	s->fl |= SS_NOT_FIRST;
	sess_set_state(s, S_REQ);
	s->txn.t_start = loop_now();
	sess_set_expire(s, -1);
}

/* An answer made here is on its way: keep the client for another
 * request, or close once it has left. */
static void
sess_answered(struct session *s, int ka)
{
	sess_log(s);
	sess_replay_end(s);
	if (ka) {
		if (s->req.buf) {	/* drop the routed request */
			s->req.buf->head += s->req.fwd;
			s->req.fwd = 0;
		}
		sess_next_request(s);
		return;
	}
	s->fl &= ~SS_CLI_KA;
	sess_set_state(s, S_CLOSING);
	sess_set_expire(s, -1);
}

/* The response buffer, emptied, for an answer made here; NULL (and the
 * session killed) without memory. */
static struct buf *
sess_answer_buf(struct session *s, unsigned char term)
{
	if (s->rsp.buf == NULL && (s->rsp.buf = buf_get()) == NULL) {
		sess_kill(s, term);
		return NULL;
	}
	s->rsp.buf->head = s->rsp.buf->tail = 0;
	return s->rsp.buf;
}

/* The rules' view of a head being processed. */
static void
sess_rule_ex(struct session *s, struct smp_ctx *c, struct rule_msg *em,
    struct http_msg *m, struct route *ro, struct rule_ex *ex)
{
	memset(em, 0, sizeof(*em));
	memset(ro, 0, sizeof(*ro));
	em->m = m;
	em->scratch = sess_rt.scratch;
	em->cap = sizeof(sess_rt.scratch);
	ex->c = c;
	ex->em = m ? em : NULL;
	ex->ro = ro;
	ex->caps = s->txn.ext ? &s->txn.ext->caps : NULL;
	ex->facts = sess_facts;
	ex->arg = s;
	ex->cfg = s->cfg;
}

/* The status line a response goes out with: as received, or with the
 * status set-status gave (and its reason, or the standard one). */
static size_t
sess_status_line(const char *line, size_t linelen, const struct rule_msg *em,
    char *out, size_t cap)
{
	if (em->status == 0 || linelen < 8) {
		memcpy(out, line, linelen < cap ? linelen : cap);
		return linelen < cap ? linelen : cap;
	}
	return (size_t)snprintf(out, cap, "%.8s %d %s", line, em->status,
	    em->reason ? em->reason : h1_std_reason(em->status));
}

/* The edited head of an answer, then its body, back into out. */
static int
sess_answer_rebuild(struct session *s, const struct http_msg *m,
    const char *line, size_t linelen, char *out, int n, int r)
{
	char *tmp = buf_scratch();
	int hl = h1_build_rsp_head(tmp, buf_rt.size, m, line, linelen,
	    (m->flags & MSG_CONN_CLOSE) ? H1_CONN_CLOSE : (m->flags & MSG_CONN_KA) ?
	    H1_CONN_KA : H1_CONN_NONE);

	(void)s;
	if (hl < 0 || (size_t)hl + (size_t)(n - r) > buf_rt.size)
		return n;	/* no room: the answer goes as it was */
	memmove(tmp + hl, out + r, (size_t)(n - r));
	memcpy(out, tmp, (size_t)hl + (size_t)(n - r));
	return hl + (n - r);
}

/* http-after-response rules on an answer made here (out[0..n): its head
 * and body), and the WWW-Authenticate challenge of a 401.  Returns the
 * new length. */
static int
sess_answer_rules(struct session *s, char *out, int n)
{
	const struct proxy *be = s->be;
	struct http_msg *m = &sess_rt.msg;
	struct rule_msg em;
	struct smp_ctx c;
	struct route ro;
	struct rule_ex ex;
	char chal[256], line[256];
	size_t linelen;
	int r, h, realm = sess_rt.realm != NULL;

	if ((!s->fe->hafter && !(be && be->hafter) && !realm) ||
	    (s->txn.fl & TX_NO_AFTER) || (r = h1_parse_response(out, (size_t)n, m)) <= 0)
		return n;
	sess_smp_ctx(s, s->txn.ext ? s->txn.ext->req : NULL, m, &c);
	sess_rule_ex(s, &c, &em, m, &ro, &ex);
	if (realm) {	/* every WWW-Authenticate replaced by ours */
		snprintf(chal, sizeof(chal), "Basic realm=\"%s\"", sess_rt.realm);
		sess_rt.realm = NULL;
		for (h = 0; h < m->nhdr; h++)
			if (u_ieq(m->hdr[h].name, m->hdr[h].name_len, "www-authenticate"))
				m->hdr[h--] = m->hdr[--m->nhdr];
		if (m->nhdr < HDR_MAX) {
			m->hdr[m->nhdr].name = "www-authenticate";
			m->hdr[m->nhdr].name_len = 16;
			m->hdr[m->nhdr].value = chal;
			m->hdr[m->nhdr++].value_len = (unsigned short)strlen(chal);
		}
		em.edits++;
	}
	rule_response(s->fe, be, &ex, 1);
	if (em.edits == 0)
		return n;
	u_eol(out, (size_t)r, &linelen, NULL);
	linelen = sess_status_line(out, linelen, &em, line, sizeof(line));
	if (em.status)
		s->txn.status = em.status;
	return sess_answer_rebuild(s, m, line, linelen, out, n, r);
}

static void
sess_answer_set(struct session *s, int n)
{
	n = sess_answer_rules(s, s->rsp.buf->data, n);
	s->rsp.buf->tail = (unsigned)n;
	s->rsp.fwd = (unsigned)n;
	s->rsp.bytes += (uint64_t)n;
}

/* The page configured for <status>, as HAProxy picks it: the backend's,
 * then the frontend's (http_error_message(); before a backend is chosen
 * s->be is unset, so the frontend's).  An error met while the request head
 * is read is the frontend's alone and only a whole page (errorfile,
 * errorloc, http-errors) serves it, as HAProxy's H1 multiplexer does for
 * its early errors.  NULL: HAProxy's built-in page. */
static const struct h1_page *
sess_page(const struct session *s, int status)
{
	const struct h1_page *pg;
	int slot = h1_err_slot(status);

	if (slot < 0)
		return NULL;
	if (s->req.state == CH_HEAD)
		return (pg = s->fe->errpage[slot]) && pg->whole ? pg : NULL;
	if (s->be && (pg = s->be->errpage[slot]) != NULL)
		return pg;
	return s->fe->errpage[slot];
}

/* The same with the page given (NULL: the built-in one). */
static int
sess_page_write_pg(struct session *s, const struct h1_page *pg, int status, int *ka)
{
	char *b = s->rsp.buf->data, *e;
	int n;

	if (pg == NULL) {
		n = h1_error_page(status, *ka, b, buf_rt.size);
		if (n > 0 && n < (int)buf_rt.size && (s->txn.fl & TX_HEAD) &&
		    (e = memmem(b, (size_t)n, "\r\n\r\n", 4)) != NULL)
			n = (int)(e + 4 - b);
		return n;
	}
	if (pg->close || pg->empty)
		*ka = 0;
	s->txn.status = pg->empty ? status : pg->status;
	/* an HTTP/1.0 page closes by default: no header to say so (HAProxy) */
	return h1_page_write(pg, !*ka ? (pg->v10 ? H1_CONN_NONE : H1_CONN_CLOSE) :
	    pg->v10 ? H1_CONN_KA : H1_CONN_NONE, (s->txn.fl & TX_HEAD) != 0, b,
	    buf_rt.size);
}

/* The bytes of an error answer for <status> into the response buffer:
 * the configured page or the built-in one, without a body for HEAD (as
 * HAProxy).  Returns the length; *ka may be cleared by the page. */
static int
sess_page_write(struct session *s, int status, int *ka)
{
	return sess_page_write_pg(s, sess_page(s, status), status, ka);
}

/* An answer generated here: an error page, or a redirect when <location>
 * is given.  503, 403, 429 and redirects of a request without a body
 * keep the client connection, as HAProxy does; others close it, and so
 * does a page that asks to (or an empty one: nothing is sent). */
static void
sess_reply(struct session *s, int status, unsigned char term,
    const char *location)
{
	struct buf *b;
	int ka, n;

	if (s->txn.fl & TX_RSP_STARTED) {
		sess_kill(s, term);
		return;
	}
	sess_replay_end(s);
	ka = (status == 503 || status == 403 || status == 429 || status == 200 ||
	    location) &&
	    (s->fl & SS_CLI_KA) && s->req.state == CH_DONE &&
	    s->req.body == BODY_NONE;
	s->txn.status = status;
	s->txn.term = term;
	if ((b = sess_answer_buf(s, term)) == NULL)
		return;
	if (location)	/* HAProxy's: no-cache for the temporary ones */
		n = snprintf(b->data, buf_rt.size, "HTTP/1.1 %d %s\r\n"
		    "content-length: 0\r\nlocation: %s\r\n%s%s\r\n", status,
		    h1_reason(status), location, status == 302 || status == 303 ||
		    status == 307 ? "cache-control: no-cache\r\n" : "", ka ? "" :
		    "connection: close\r\n");
	else
		n = sess_page_write(s, status, &ka);
	if (n < 0 || n >= (int)buf_rt.size) {
		ka = 0;
		n = h1_error_page(500, 0, b->data, buf_rt.size);
	}
	sess_answer_set(s, n);
	sess_release(s);
	if (s->srv.fd >= 0)
		sess_srv_close(s);
	sess_answered(s, ka);
}

static void
sess_error(struct session *s, int status, unsigned char term)
{
	sess_reply(s, status, term, NULL);
}

/* Move more of a generated body into the response buffer. */
static void
sess_gen_refill(struct session *s)
{
	struct buf *b;
	size_t n;

	if (s->gen == NULL)
		return;
	if (s->rsp.buf == NULL && (s->rsp.buf = buf_get()) == NULL)
		return;
	b = s->rsp.buf;
	if (b->head == b->tail)
		b->head = b->tail = 0;
	else
		buf_compact(b);
	n = buf_rt.size - b->tail;
	if (n > s->gen_len - s->gen_off)
		n = s->gen_len - s->gen_off;
	memcpy(b->data + b->tail, s->gen + s->gen_off, n);
	b->tail += (unsigned)n;
	s->rsp.fwd += (unsigned)n;
	s->gen_off += (unsigned)n;
	s->rsp.bytes += n;
	if (s->gen_off == s->gen_len) {
		free(s->gen);
		s->gen = NULL;
	}
}

/* An answer made here with a body of any size (status page, metrics):
 * the head goes to the response buffer, the body follows from s->gen. */
static void
sess_reply_body(struct session *s, int status, const char *ctype,
    const char *extra, char *body, size_t len)
{
	int ka = (s->fl & SS_CLI_KA) && s->req.state == CH_DONE &&
	    s->req.body == BODY_NONE;
	struct buf *b;

	if (len > SESS_GEN_MAX) {	/* no status page is that large */
		free(body);
		sess_error(s, 500, TERM_PR);
		return;
	}
	if ((b = sess_answer_buf(s, TERM_PR)) == NULL) {
		free(body);
		return;
	}
	s->txn.status = status;
	sess_answer_set(s, snprintf(b->data, buf_rt.size, "HTTP/1.1 %d %s\r\n"
	    "content-type: %s\r\ncontent-length: %zu\r\ncache-control: no-cache\r\n"
	    "%s%s\r\n", status, h1_reason(status), ctype, len, extra ? extra : "",
	    ka ? "" : "connection: close\r\n"));
	s->gen = len ? body : NULL;
	s->gen_len = (unsigned)len;
	s->gen_off = 0;
	if (len == 0)
		free(body);
	sess_answered(s, ka);
}

/* ---- reaching a server ---- */

static void sess_conn_failed(struct session *s);

static void
sess_connect(struct session *s)
{
	struct server *sv = s->sv;
	int fd, done, err, r;

	sess_set_state(s, S_CONNECT);
	s->txn.t_conn = loop_now();
	r = net_connect(&sv->addr, sv->addrlen, 1, &fd, &done, &err);
	if (r == NET_OK && !loop_fd_fits(fd)) {
		close(fd);
		r = NET_NOSOCK;
		err = -1;	/* beyond the fd table */
	}
	if (r == NET_NOSOCK) {
		log_alert("cannot create a socket to %s/%s: %s", sv->be->name,
		    sv->name, err < 0 ? "too many files" : strerror(err));
		sess_release(s);
		sess_error(s, 503, TERM_SC);
		return;
	}
	if (r == NET_REFUSED) {
		sess_conn_failed(s);
		return;
	}
	if (s->be->options & OPT_SRVTCPKA)
		net_keepalive(fd, s->be->tcpka_cnt[1], s->be->tcpka_idle[1],
		    s->be->tcpka_intvl[1]);
	if (s->be->options & OPT_NOLINGER)
		net_set_linger0(fd);
	loop_fd_add(fd, sess_event, s, POLLOUT);
	xprt_side_init(&s->srv, fd);
	if (done)
		s->srv.fl |= SF_WR;
}

/* Which of its server's idle connections a request may take: HAProxy's
 * table in connect_server().  "safe": the first request of a client
 * connection always gets a connection of its own (a failure there is one
 * the client can retry as with plain keep-alive); "aggressive": it may
 * take one that has already carried several requests (the server is
 * known to keep them alive); "always": any.  Later requests take any,
 * those that served one request first.  "never": none is shared, the
 * session keeps its own (sess_srv_keep()).  Tunnels (tcp mode) never. */
static enum srv_pick
sess_pick(const struct session *s)
{
	enum http_reuse r = s->be->reuse;

	if ((s->fl & SS_TCP) || r == REUSE_NEVER)
		return PICK_NONE;
	if (s->fl & SS_NOT_FIRST)
		return PICK_IDLE_SAFE;
	return r == REUSE_ALWAYS ? PICK_SAFE_IDLE : r == REUSE_AGGRESSIVE ?
	    PICK_SAFE : PICK_NONE;
}

/* The session's assigned server: the connection it kept (http-reuse
 * never), a pooled one when sess_pick() allows, else a new one.  Each
 * attempt counts in the server's stot, as HAProxy's. */
/* Server "redir": a GET or HEAD for it is answered with a 302 to the
 * prefix and the request's path (a prefix of "/" keeps the path alone),
 * and the connection closed, as HAProxy's http_perform_server_redirect().
 * 0 when the request is not one. */
static int
sess_srv_redir(struct session *s)
{
	const struct buf *b = s->req.buf;
	const char *p, *e, *u, *ue, *pfx = s->sv->redir;
	int n;

	if (pfx == NULL || (s->fl & SS_TCP) || b == NULL)
		return 0;
	p = b->data + b->head;
	e = b->data + b->tail;
	if (!(e - p > 4 && memcmp(p, "GET ", 4) == 0) &&
	    !(e - p > 5 && memcmp(p, "HEAD ", 5) == 0))
		return 0;
	u = (const char *)memchr(p, ' ', (size_t)(e - p)) + 1;
	if ((ue = memchr(u, ' ', (size_t)(e - u))) == NULL)
		return 0;
	if (*u != '/') {	/* absolute form: the path after the authority */
		const char *a = memmem(u, (size_t)(ue - u), "://", 3);

		if (a == NULL || (u = memchr(a + 3, '/', (size_t)(ue - a - 3))) == NULL)
			return 0;
	}
	if (strcmp(pfx, "/") == 0)
		pfx = "";
	n = snprintf(sess_rt.scratch, sizeof(sess_rt.scratch), "%s%.*s", pfx,
	    (int)(ue - u), u);
	if (n < 0 || (size_t)n >= sizeof(sess_rt.scratch))
		return 0;
	s->fl &= ~SS_CLI_KA;
	sess_reply(s, 302, TERM(TC_LOC, TP_CONN), sess_rt.scratch);
	return 1;
}

static void
sess_attach(struct session *s)
{
	int fd;

	s->st->stot++;
	if (sess_srv_redir(s))
		return;
	s->st->last_sess = loop_now();
	if (s->srv.fd < 0) {
		if ((fd = srv_pool_get(s->st, sess_pick(s), &s->srv_uses)) < 0) {
			s->srv_uses = 0;
			s->st->connects++;
			sess_connect(s);
			return;
		}
		xprt_side_init(&s->srv, fd);
		loop_fd_rebind(fd, sess_event, s, 0);
	}
	s->st->reuses++;
	s->srv.fl = SF_WR;
	s->txn.fl |= TX_REUSED;
	s->txn.t_conn = s->txn.t_est = loop_now();
	sess_set_state(s, S_XFER);
}

/* A queued session was given a slot on <sv>. */
static void
sess_dequeued(struct srv_waiter *w, struct server *sv)
{
	struct session *s = CONTAINER(w, struct session, wait);

	sess_take(s, sv);
	s->txn.t_qdur = loop_now() - s->txn.t_queue;
	sess_attach(s);
	sess_run(s);
}

static void
sess_enqueue(struct session *s)
{
	/* a connection kept (http-reuse never) is not watched while the
	 * request waits: close it rather than reuse it blind */
	if (s->srv.fd >= 0)
		sess_srv_close(s);
	srv_queue_add(s->be, &s->wait);
	sess_set_state(s, S_QUEUE);
}

/* option prefer-last-server: the server of the connection the session
 * kept (http-reuse never, HAProxy's private connections), while it is
 * usable and has a free slot. */
static struct server *
sess_last_server(const struct session *s, const struct server *avoid)
{
	struct server *sv = s->st ? s->st->srv : NULL;

	if (!(s->be->options & OPT_PREFER_LAST) || s->srv.fd < 0 || sv == NULL ||
	    sv->be != s->be || sv == avoid || !lb_usable(sv) || !lb_has_slot(sv))
		return NULL;
	return sv;
}

/* Pick a server for the request or queue it (as HAProxy: behind those
 * already waiting).  <avoid>: a redispatch away from that server.
 * Errors are answered. */
static void
sess_assign(struct session *s, struct server *avoid)
{
	struct proxy *be = s->be;
	struct server *sv = NULL;

	if (srv_queue_len(be) == 0)
		sv = sess_last_server(s, avoid);
	if (srv_queue_len(be) == 0 && sv == NULL)
		sv = lb_pick(be, avoid);
	if (avoid)
		sess_count_retry(s, avoid, sv);
	if (sv == NULL) {
		if (be->bst->srv_act == 0 && be->bst->srv_bck == 0) {
			sess_px_state(be)->be_econ++;
			sess_error(s, 503, TERM_SC);
			return;
		}
		s->txn.t_queue = loop_now();
		sess_enqueue(s);
		return;
	}
	srv_take(sv);
	sess_take(s, sv);
	sess_attach(s);
}

/*
 * Another attempt after a failure on s->sv, which has been counted off
 * txn.retries (HAProxy's stream_choose_redispatch()).  With "option
 * redispatch" it goes to another server when the failed one is not
 * usable any more, on the last retry, or on every retry while several
 * servers are active (HAProxy 2.6 does so for every algorithm but the
 * hash ones, and waxlb has none of those); else to the same server,
 * which counts a retry on it.  <pause> (a connection failure): the same
 * server, or the only active one, is tried again after a turn-around of
 * min(1 s, timeout connect), so that an instant refusal does not burn
 * every retry at once.  A replay (retry-on) goes at once.
 */
static void
sess_retry(struct session *s, int pause)
{
	struct proxy *be = s->be;
	struct server *sv = s->sv;
	int several = be->bst->srv_act > 1;
	int64_t t = 1000;

	if ((be->options & OPT_REDISPATCH) && (!lb_usable(sv) ||
	    s->txn.retries == 0 || several)) {
		sess_release(s);
		if (!pause || several) {
			sess_assign(s, sv);
			return;
		}
	} else {
		sess_count_retry(s, sv, sv);
		if (!pause) {
			sess_attach(s);
			return;
		}
	}
	sess_set_state(s, S_TURN);	/* the timer attaches or reassigns */
	if (be->timeout[T_CONNECT] && be->timeout[T_CONNECT] < t)
		t = be->timeout[T_CONNECT];
	sess_set_expire(s, loop_now() + t);
}

/* A connection attempt failed: retry, possibly elsewhere, or give up.
 * Without conn-failure in retry-on it is not retried; HAProxy counts the
 * connection error (econ) only when it gives up. */
static void
sess_conn_failed(struct session *s)
{
	sess_srv_close(s);
	if (s->txn.retries <= 0 || !(s->be->retry_on & RE_CONN)) {
		s->st->econ++;
		sess_px_state(s->be)->be_econ++;
		sess_release(s);
		sess_error(s, 503, TERM_SC);
		return;
	}
	s->txn.retries--;
	sess_retry(s, 1);
}

/*
 * retry-on beyond conn-failure (HAProxy's do_l7_retry()): the request
 * failed with <re> (an RE_* bit: a status, an empty or junk response, a
 * response timeout) before any response head was accepted, so nothing
 * of a response has reached the client (TX_L7 is cleared as soon as one
 * is, an interim 100 included: HAProxy 2.6 retries after forwarding one
 * and then answers 500).  The request was kept whole in the buffer
 * (sess_send_req()); it is sent again from its first byte on a new
 * attempt, through the same choice of server as a connection retry.
 * HAProxy counts a retry here on top of the one, or the redispatch,
 * that choice counts.  Returns 1 when the request was retried, 0 when
 * the caller answers the failure.
 */
static int
sess_l7_retry(struct session *s, unsigned re)
{
	struct chan *c = &s->rsp;

	if (!(s->txn.fl & TX_L7) || !(s->be->retry_on & re) || s->txn.retries <= 0)
		return 0;
	s->txn.retries--;
	s->st->wretr++;
	sess_px_state(s->be)->be_wretr++;
	sess_srv_close(s);
	s->req.fwd += s->replay;	/* rewind to the request's first byte */
	s->replay = 0;
	if (c->buf)			/* what the server sent is dropped */
		c->buf->head = c->buf->tail = 0;
	c->fwd = 0;
	c->state = CH_HEAD;
	c->body = BODY_NONE;
	c->left = 0;
	memset(&c->ck, 0, sizeof(c->ck));
	s->txn.status = -1;
	s->txn.t_rsp = -1;
	sess_retry(s, 0);
	return 1;
}

/* S_CONNECT: the server answered the connect. */
static int
sess_do_connect(struct session *s)
{
	int err;

	if (!(s->srv.fl & (SF_WR | SF_ERR)))
		return 0;
	if ((err = net_sock_error(s->srv.fd)) != 0) {
		log_debug("connect to %s/%s failed: %s", s->be->name, s->sv->name,
		    strerror(err));
		sess_conn_failed(s);
		return 1;
	}
	s->srv.fl &= ~SF_ERR;
	s->srv.fl |= SF_WR;
	s->txn.t_est = loop_now();
	if (s->fl & SS_TCP) {
		s->txn.t_rsp = loop_now();
		sess_set_state(s, S_TUNNEL);
		if (s->fe->options & OPT_LOGASAP)
			sess_log(s);	/* logasap: as the tunnel opens */
	} else
		sess_set_state(s, S_XFER);
	return 1;
}

/* ---- moving bytes through channels ---- */

/* A chunked body goes out with its size lines rewritten (HAProxy's
 * form): what is consumed of buf[fwd..) shrinks to *out bytes, and the
 * bytes behind it move down.  Bytes consumed, or -1. */
static long
sess_canon_chunks(struct chan *c, unsigned avail, unsigned *out)
{
	char *p = c->buf->data + c->buf->head + c->fwd;
	size_t o;
	long n = h1_chunk_canon(&c->ck, p, avail, &o);

	if (n < 0)
		return -1;
	if (o < (size_t)n) {	/* a line was shortened */
		memmove(p + o, p + n, avail - (size_t)n);
		c->buf->tail -= (unsigned)((size_t)n - o);
	}
	*out = (unsigned)o;
	return n;
}

/* Move the body bytes of the message in <c> past c->fwd, as its framing
 * allows: a length, chunks, or everything until the server closes.
 * Returns 1 when some moved, 0 when none, -1 on broken framing.  Once
 * this has run, the bytes left behind c->fwd in CH_BODY are at most an
 * incomplete chunk-size line. */
static int
sess_classify(struct chan *c)
{
	unsigned avail, out;
	long n;

	if (c->state != CH_BODY || c->buf == NULL ||
	    (avail = buf_len(c->buf) - c->fwd) == 0)
		return 0;
	if (c->body == BODY_CLOSE)
		n = avail;
	else if (c->body == BODY_CLEN) {
		n = (int64_t)avail < c->left ? (long)avail : (long)c->left;
		c->left -= n;
		if (c->left == 0)
			c->state = CH_DONE;
	} else {
		if ((n = sess_canon_chunks(c, avail, &out)) < 0)
			return -1;
		if (h1_chunk_done(&c->ck))
			c->state = CH_DONE;
		c->fwd += out;
		return n > 0;
	}
	c->fwd += (unsigned)n;
	return n > 0;
}

/* Read from a side into a channel's buffer, up to <limit> bytes held.
 * Returns as xprt_recv(); the buffer is taken when needed.  <count> also
 * grows by what was read. */
static int
sess_fill(struct side *sd, struct chan *c, unsigned limit, uint64_t *count)
{
	struct buf *b = c->buf;
	int n;

	if (b == NULL && (b = c->buf = buf_get()) == NULL)
		return -2;
	if (b->head == b->tail)
		b->head = b->tail = 0;
	else if (b->tail >= limit && b->head > 0)
		buf_compact(b);
	if (b->tail >= limit || buf_len(b) >= limit)
		return -1;
	n = xprt_recv(sd, b->data + b->tail, limit - b->tail);
	if (n > 0) {
		b->tail += (unsigned)n;
		if (count)
			*count += (uint64_t)n;
	}
	return n;
}

/* Send up to <n> bytes from the front of a channel's buffer. */
static int
sess_drain(struct side *sd, struct chan *c, unsigned n)
{
	int r;

	if (n == 0)
		return 0;
	r = xprt_send(sd, c->buf->data + c->buf->head, n);
	if (r > 0)
		c->buf->head += (unsigned)r;
	return r;
}

/* Send what is classified of the response to the client: the bytes
 * sent, 0, or -2 on an error. */
static int
sess_send_client(struct session *s)
{
	int n;

	if (!s->rsp.fwd || !(s->cli.fl & SF_WR))
		return 0;
	n = sess_drain(&s->cli, &s->rsp, s->rsp.fwd);
	if (n > 0) {
		s->rsp.fwd -= (unsigned)n;
		return n;
	}
	return n == -2 ? -2 : 0;
}

/* ---- S_REQ: a request head, its route ---- */

/* A client from before a reload: its next request follows the running
 * config.  Returns -1 when its frontend is gone (the session is killed).
 * Not in the middle of a TLS handshake: the old config's reference keeps
 * the certificate and key the engine works with. */
static int
sess_adopt_cfg(struct session *s)
{
	struct listener *l;
	struct proxy *nfe;

	if (s->cfg == sess_rt.cfg || buf_len(s->req.buf) != 0 ||
	    xprt_handshaking(&s->cli))
		return 0;
	nfe = cfg_find_proxy(sess_rt.cfg, s->fe->name, CAP_FE);
	if (nfe == NULL || nfe->mode != s->fe->mode) {
		sess_kill(s, 0);
		return -1;
	}
	/* a connection kept (http-reuse never) is to an old config's server */
	if (s->srv.fd >= 0)
		sess_srv_close(s);
	s->fe = nfe;
	/* the same socket's bind line in the new config (the old one is freed
	 * with its config); NULL when the listener is gone */
	l = sess_listener_of(s);
	s->bind = l ? l->bind : NULL;
	sess_cfg_ref(sess_rt.cfg);
	sess_cfg_unref(s->cfg);
	s->cfg = sess_rt.cfg;
	return 0;
}

/* Read and parse a request head.  Returns its length, 0 while more is
 * needed (*progress tells whether bytes came), -1 once answered. */
/* A form posted to a status page with "stats admin" is read whole before
 * the head is processed, as HAProxy waits for it (up to what the buffer
 * holds): 1 while more of it is to come. */
static int
sess_wait_post(const struct session *s, const struct http_msg *m, unsigned r,
    unsigned limit)
{
	const struct proxy *fe = s->fe;
	size_t ul;

	if (fe->stats_admin == NULL || !(m->flags & MSG_CLEN) ||
	    (s->cli.fl & (SF_EOF | SF_ERR)) || r + m->clen <= buf_len(s->req.buf) ||
	    r + m->clen > limit || !u_ieq(m->method, m->method_len, "POST"))
		return 0;
	ul = strlen(fe->stats_uri);
	return m->uri_len >= ul && memcmp(m->uri, fe->stats_uri, ul) == 0;
}

static int
sess_read_head(struct session *s, struct http_msg *m, int *progress)
{
	unsigned limit = buf_head_limit(), before = buf_len(s->req.buf);
	const char *nl;
	int r;

	if ((s->cli.fl & SF_RD) && !(s->cli.fl & SF_EOF) && before < limit &&
	    sess_fill(&s->cli, &s->req, limit, &s->req.bytes) > 0) {
		*progress = 1;
		if (before == 0 && (s->fl & SS_NOT_FIRST))
			s->txn.t_start = loop_now();	/* http-request starts now */
	}
	if (buf_len(s->req.buf) == 0) {
		if (s->cli.fl & (SF_EOF | SF_ERR)) {
			/* HAProxy 2.6 counts and logs a connection closed
			 * before its first byte as a request answered 400
			 * ("<BADREQ>", CR), unless option http-ignore-probes
			 * (dontlognull still keeps it out of the log) */
			if (!(s->fl & SS_NOT_FIRST) && !(s->fe->options & OPT_IGNORE_PROBES) &&
			    !xprt_handshaking(&s->cli)) {
				sess_px_state(s->fe)->fe_req++;
				s->txn.status = 400;	/* counted by its log line */
				sess_kill(s, TERM_CR);
			} else
				sess_kill(s, 0);
		}
		return 0;
	}
	r = h1_parse_request(s->req.buf->data + s->req.buf->head,
	    buf_len(s->req.buf), m);
	if (r == 0 && buf_len(s->req.buf) >= limit) {
		nl = memchr(s->req.buf->data + s->req.buf->head, '\n',
		    buf_len(s->req.buf));
		s->fl &= ~SS_CLI_KA;
		sess_count_req(s);
		sess_error(s, nl ? 431 : 414, TERM_PR);
		return -1;
	}
	if (r == 0) {
		if (s->cli.fl & (SF_EOF | SF_ERR)) {
			s->txn.status = 400;
			sess_count_req(s);
			sess_kill(s, TERM_CR);
		}
		return 0;
	}
	if (r > 0 && sess_wait_post(s, m, (unsigned)r, limit))
		return 0;
	sess_count_req(s);
	s->txn.t_req = loop_now();
	if (r > 0)
		return r;
	s->fl &= ~SS_CLI_KA;
	s->txn.fl |= TX_NO_AFTER;	/* the parser's errors: no rules */
	log_debug("bad request from client: %s", m->err_what);
	sess_error(s, m->err ? m->err : 400, TERM_PR);
	return -1;
}

/* "capture request|response header": the last occurrence of each, cut at
 * its length. */
static void
sess_capture(char *const *names, const int *len, int n, const struct http_msg *m,
    char **slots)
{
	int k, i;

	for (k = 0; k < n; k++) {
		if (names[k] == NULL)
			continue;
		for (i = m->nhdr - 1; i >= 0; i--)
			if (u_ieq(m->hdr[i].name, m->hdr[i].name_len, names[k]))
				break;
		if (i < 0)
			continue;
		free(slots[k]);
		if ((slots[k] = malloc((size_t)len[k] + 1)) != NULL) {
			size_t l = m->hdr[i].value_len < len[k] ? m->hdr[i].value_len :
			    (size_t)len[k];

			memcpy(slots[k], m->hdr[i].value, l);
			slots[k][l] = 0;
		}
	}
}

static void
sess_make_uid(struct session *s, const struct http_msg *m)
{
	char id[LF_LINE_MAX];
	struct lf_facts f;
	struct smp_ctx c;

	sess_facts(s, &f);
	sess_smp_ctx(s, m, NULL, &c);
	lf_render(s->fe->uid_fmt, &c, &f, id, sizeof(id));
	s->txn.ext->uid = strdup(id);
}

/* The request line as the log shows it (HAProxy's txn->uri: "METHOD
 * target HTTP/1.x", at most LF_URI_MAX - 1 bytes), the captured headers
 * and the unique id, all before the rules run, as in HAProxy. */
static void
sess_ext_start(struct session *s, const struct http_msg *m)
{
	struct txn_ext *x = sess_ext(s);
	size_t n;

	if (x == NULL)
		return;
	n = (size_t)(m->uri - m->method) + m->uri_len;
	if (n > LF_URI_MAX - 10)
		n = LF_URI_MAX - 10;
	if ((x->uri = malloc(n + 10)) != NULL) {
		memcpy(x->uri, m->method, n);
		memcpy(x->uri + n, m->minor ? " HTTP/1.1" : " HTTP/1.0", 10);
	}
	sess_capture(s->fe->cap_req_hdr, s->fe->cap_req_len, s->fe->ncap_req, m,
	    x->caps.req);
	if (s->fe->uid_fmt)
		sess_make_uid(s, m);
}

/* What the parsed head says about this transaction. */
static void
sess_txn_start(struct session *s, const struct http_msg *m)
{
	s->fl &= ~(SS_CLI_KA | SS_CLI_10);
	if (((m->minor == 1 && !(m->flags & MSG_CONN_CLOSE)) ||
	    (m->minor == 0 && (m->flags & MSG_CONN_KA))) && !sess_rt.stopping)
		s->fl |= SS_CLI_KA;	/* stopping: the last one, "Connection: close" */
	if (m->minor == 0)
		s->fl |= SS_CLI_10;
	if (u_ieq(m->method, m->method_len, "HEAD"))
		s->txn.fl |= TX_HEAD;
	if ((m->flags & MSG_CONN_UPG) && (m->flags & MSG_UPGRADE))
		s->txn.fl |= TX_UPG;
	s->req.state = CH_BODY;
	if (m->flags & MSG_CHUNKED)
		s->req.body = BODY_CHUNKED;
	else if (m->clen > 0) {
		s->req.body = BODY_CLEN;
		s->req.left = m->clen;
	} else
		s->req.state = CH_DONE;
}

/* A new client: the frontend's "tcp-request connection" rules (before
 * any TLS), then HAProxy's "Connect from" line for a frontend that logs
 * without a format.  -1: rejected, closed without a word nor a log line,
 * as HAProxy does. */
static int
sess_accepted(struct session *s, int tls)
{
	struct smp_ctx c;
	struct rule_msg em;
	struct route ro;
	struct rule_ex ex;

	if (s->fe->rules_tcp[0]) {
		sess_smp_ctx(s, NULL, NULL, &c);
		c.ssl = tls;
		sess_rule_ex(s, &c, &em, NULL, &ro, &ex);
		if (rule_exec(s->fe->rules_tcp[0], &ex) == RULE_ANSWER) {
			s->txn.fl |= TX_LOGGED;
			return -1;
		}
	}
	if (s->fe->logfmt == NULL && log_has_targets(s->fe))
		sess_log_connect(s);
	return 0;
}

/* Whether the stats admin condition holds for this request. */
static int
sess_stats_admin(const struct session *s, const struct http_msg *m)
{
	struct smp_ctx c;

	if (s->fe->stats_admin == NULL)
		return 0;
	sess_smp_ctx(s, m, NULL, &c);
	return acl_cond_exec(s->fe->stats_admin, &c);
}

/* The status page or the metrics, when the frontend serves them here
 * (after the http-request rules, so that those can deny them).  A form
 * posted to the page had its body waited for (sess_wait_post): it is
 * consumed with the head. */
static int
sess_service(struct session *s, const struct http_msg *m, int prometheus, int r)
{
	struct sess_svc x;
	struct buf *b = s->req.buf;
	struct px_state *f = sess_px_state(s->fe);

	memset(&x, 0, sizeof(x));
	f->fe_intercepted++;	/* as HAProxy, before its page is made */
	x.fe = s->fe;
	x.m = m;
	x.prometheus = prometheus;
	x.admin = sess_stats_admin(s, m);
	x.rbody = b->data + b->head + r;
	x.rbody_len = buf_len(b) - (unsigned)r;
	if (sess_rt.service == NULL || !sess_rt.service(&x)) {
		f->fe_intercepted--;
		free(x.body.p);
		return 0;
	}
	s->req.fwd = (unsigned)r;
	if (s->req.body == BODY_CLEN && (uint64_t)s->req.left <= x.rbody_len) {
		s->req.fwd += (unsigned)s->req.left;
		s->req.body = BODY_NONE;
		s->req.state = CH_DONE;
	}
	if (x.status == 401)
		sess_rt.realm = s->fe->stats_realm ? s->fe->stats_realm :
		    "HAProxy Statistics";
	/* logged as HAProxy logs its applets: connected at once, "LR" */
	s->txn.fl |= prometheus || strncmp(x.ctype, "text/plain; version", 19) == 0 ?
	    TX_PROMEX : TX_STATS;
	s->txn.t_conn = s->txn.t_est = s->txn.t_rsp = loop_now();
	s->txn.term = TERM_LR;
	sess_reply_body(s, x.status, x.ctype, x.extra[0] ? x.extra : NULL,
	    x.body.p, x.body.len);
	return 1;
}

/* HAProxy's http_reply_to_htx(): the status line, the "hdr" lines (empty
 * values skipped), content-length, content-type with a body, the body. */
static int
sess_build_reply(struct session *s, const struct rule_reply *rp, int status,
    int ka, char *out, size_t cap)
{
	char v[LF_LINE_MAX];
	const char *body = rp->text;
	size_t bl = rp->textlen, o;
	struct lf_facts f;
	struct smp_ctx c;
	int k;

	sess_facts(s, &f);
	sess_smp_ctx(s, &sess_rt.msg, NULL, &c);
	o = (size_t)snprintf(out, cap, "HTTP/1.1 %d %s\r\n", status,
	    h1_std_reason(status));
	for (k = 0; k < rp->nhdr && o < cap; k++)
		if (lf_render(rp->hdr_fmt[k], &c, &f, v, sizeof(v)) > 0)
			o += (size_t)snprintf(out + o, cap - o, "%s: %s\r\n",
			    rp->hdr_name[k], v);
	if (rp->body)
		bl = lf_render(rp->body, &c, &f, sess_rt.scratch, sizeof(sess_rt.scratch));
	if (rp->body)
		body = sess_rt.scratch;
	if (o < cap)
		o += (size_t)snprintf(out + o, cap - o, "content-length: %zu\r\n%s%s%s"
		    "%s\r\n", rp->kind == REPLY_BODY ? bl : 0, bl && rp->ctype ?
		    "content-type: " : "", bl && rp->ctype ? rp->ctype : "",
		    bl && rp->ctype ? "\r\n" : "", ka ? "" : "connection: close\r\n");
	if (o + bl > cap)
		return -1;
	memcpy(out + o, body, bl);
	return (int)(o + bl);
}

/* The page of a reply: its errorfile, or the page for <status> of the
 * http-errors section it names; NULL for the proxy's own pages. */
static const struct h1_page *
sess_reply_page(const struct session *s, const struct rule_reply *rp, int status)
{
	const struct http_errors *e;
	int slot = h1_err_slot(status);

	if (rp->kind == REPLY_RAW)
		return rp->page;
	if (rp->kind != REPLY_ERRFILES || rp->errfiles == NULL || slot < 0)
		return NULL;
	for (e = s->cfg->errsecs; e && strcmp(e->name, rp->errfiles); e = e->next)
		;
	return e ? e->pg[slot] : NULL;
}

/* An answer a rule made (deny, return, tarpit once held): the proxy's
 * error page, a whole response from a file, or one built here. */
static void
sess_reply_rule(struct session *s, const struct rule_reply *rp, int status,
    unsigned char term)
{
	struct buf *b;
	int ka = (s->fl & SS_CLI_KA) && s->req.state == CH_DONE &&
	    s->req.body == BODY_NONE, n;

	const struct h1_page *pg = rp ? sess_reply_page(s, rp, status) : NULL;

	if (rp == NULL || (rp->kind == REPLY_ERRFILES && pg == NULL)) {
		sess_error(s, status, term);
		return;
	}
	s->txn.status = status;
	s->txn.term = term;
	if ((b = sess_answer_buf(s, term)) == NULL)
		return;
	if (pg)
		n = sess_page_write_pg(s, pg, status, &ka);
	else
		n = sess_build_reply(s, rp, status, ka, b->data, buf_rt.size);
	if (n < 0)
		n = h1_error_page(500, 0, b->data, buf_rt.size);
	sess_answer_set(s, n);
	sess_release(s);
	if (s->srv.fd >= 0)
		sess_srv_close(s);
	sess_answered(s, ka);
}

/* http-request tarpit: the request is held, then answered. */
static void
sess_tarpit(struct session *s, const struct route *ro, int r)
{
	unsigned t = s->fe->timeout[T_TARPIT] ? s->fe->timeout[T_TARPIT] :
	    s->fe->timeout[T_CONNECT];

	s->req.fwd = (unsigned)r;
	s->fl &= ~SS_CLI_KA;
	s->txn.tarpit = ro->rule;
	s->txn.status = ro->status;
	sess_set_state(s, S_TARPIT);
	sess_set_expire(s, loop_now() + t);
}

/* Answer a request the rules or the routing settled here. */
static void
sess_answer_route(struct session *s, const struct route *ro, int r)
{
	const struct rule *rl = ro->rule;

	s->req.fwd = (unsigned)r;	/* the request head is dropped as it is */
	switch (ro->answer) {
	case ANS_DENY:
		sess_reply_rule(s, rl ? rl->reply : NULL, ro->status, TERM_PR);
		break;
	case ANS_RETURN:
		sess_reply_rule(s, rl->reply, ro->status, TERM_LR);
		break;
	case ANS_REDIRECT:
		sess_reply(s, ro->status, TERM_LR, ro->location);
		break;
	case ANS_AUTH:
		sess_rt.realm = rl->name;
		sess_error(s, 401, TERM_PR);
		break;
	case ANS_REJECT:
		s->txn.status = -1;
		sess_kill(s, TERM_PR);
		break;
	case ANS_TARPIT:
		sess_tarpit(s, ro, r);
		break;
	case ANS_ERROR:
		s->fl &= ~SS_CLI_KA;
		sess_error(s, 500, TERM_IR);
		break;
	default:
		sess_error(s, 503, TERM_SC);
	}
}

/* Does the head go out exactly as it came?  Most requests do: it is only
 * rewritten when a rule changed it or a header must be dropped,
 * normalised or added. */
static int
sess_req_as_is(const struct http_msg *m, const struct rule_msg *em, int ka_srv)
{
	return !(m->flags & (MSG_BARE_LF | MSG_HOPHDR)) && em->edits == 0 &&
	    (m->minor == 1 ? ka_srv : !ka_srv);
}

/* Is <ss> in the network a proxy excludes from forwardfor/originalto? */
static int
sess_fwd_except(const struct proxy *px, int k, const struct sockaddr_storage *ss)
{
	struct pat p;

	if (!px->fwd_has_except[k] || ss == NULL)
		return 0;
	memset(&p, 0, sizeof(p));
	p.cidr = px->fwd_except[k];
	return pat_match_ip(&p, ss);
}

/* X-Forwarded-For (k 0, the client's address) or X-Original-To (k 1, the
 * address it connected to), as HAProxy adds them: the backend's header
 * name when it has the option, else the frontend's; not for an excepted
 * network; with if-none on both, not when the request has one. */
static int
sess_fwd_header(struct session *s, struct rule_msg *em, int k)
{
	static const char *const dflt[] = { "X-Forwarded-For", "X-Original-To" };
	unsigned bit = k ? OPT_ORIGINALTO : OPT_FORWARDFOR;
	const struct proxy *px = (s->be->options & bit) ? s->be : s->fe;
	const struct sockaddr_storage *a = k ? sess_local_addr(s) : &s->src;
	const char *name = px->fwd_name[k] ? px->fwd_name[k] : dflt[k];
	char ip[INET6_ADDRSTRLEN + 8];
	int always = ((s->fe->options & OPT_FORWARDFOR) && !(s->fe->options &
	    OPT_FF_IFNONE)) || ((s->be->options & OPT_FORWARDFOR) &&
	    !(s->be->options & OPT_FF_IFNONE));
	char *v;

	if (!((s->fe->options | s->be->options) & bit) || a == NULL ||
	    sess_fwd_except(s->fe, k, a) || sess_fwd_except(s->be, k, a))
		return 0;
	if (k == 0 && !always && h1_find_hdr(em->m, name, 0) >= 0)
		return 0;
	net_addr_xff(a, ip, sizeof(ip));
	if ((v = rule_keep(em, ip, strlen(ip))) == NULL ||
	    rule_hdr_add(em->m, name, v, strlen(v)) < 0)
		return -1;
	em->edits++;
	return 0;
}

/* Forward the head as it came or rewritten; -1 once answered. */
static int
sess_rewrite_req(struct session *s, struct http_msg *m, struct rule_msg *em, int r)
{
	/* the server side keeps its connection for the pool whatever the
	 * client does: a closing client need not cost a server connect;
	 * http-pretend-keepalive does not tell the server it will close */
	int ka_srv = s->be->http_mode == HTTP_KAL && s->fe->http_mode == HTTP_KAL;
	int ka_hdr = ka_srv || ((s->fe->options | s->be->options) & OPT_PRETEND_KA);
	struct h1_req_edit ed = { H1_CONN_NONE };
	int n;

	if (sess_fwd_header(s, em, 0) < 0 || sess_fwd_header(s, em, 1) < 0)
		goto fail;
	if (sess_req_as_is(m, em, ka_hdr)) {
		s->req.fwd = (unsigned)r;
		return 0;
	}
	if (s->txn.fl & TX_UPG)
		ed.conn = H1_CONN_UPGRADE;
	else if (!ka_hdr && m->minor == 1)
		ed.conn = H1_CONN_CLOSE;
	else if (ka_hdr && m->minor == 0)
		ed.conn = H1_CONN_KA;
	n = h1_build_req_head(buf_scratch(), buf_rt.size, m, &ed);
	if (n < 0 || buf_replace(s->req.buf, 0, (unsigned)r, (unsigned)n) < 0)
		goto fail;
	s->req.fwd = (unsigned)n;
	return 0;
fail:
	s->fl &= ~SS_CLI_KA;
	sess_error(s, 500, TERM_IR);
	return -1;
}

/* The request as it went out, kept for the response's rules and the
 * log line when they read it. */
static void
sess_keep_request(struct session *s)
{
	struct txn_ext *x = s->txn.ext;
	const struct buf *b = s->req.buf;

	if (x == NULL || !(s->cfg->needs & NEED_REQ) || x->req)
		return;
	if ((x->reqhead = malloc(s->req.fwd)) == NULL ||
	    (x->req = malloc(sizeof(*x->req))) == NULL)
		return;
	memcpy(x->reqhead, b->data + b->head, s->req.fwd);
	if (h1_parse_request(x->reqhead, s->req.fwd, x->req) <= 0) {
		free(x->req);
		x->req = NULL;
	}
}

/* unique-id-header: the id goes to the server too. */
static int
sess_uid_header(struct session *s, struct rule_msg *em)
{
	const char *id = s->txn.ext ? s->txn.ext->uid : NULL;
	struct http_msg *m = em->m;

	if (s->fe->uid_hdr == NULL || id == NULL)
		return 0;
	if (m->nhdr >= HDR_MAX)
		return -1;
	m->hdr[m->nhdr].name = s->fe->uid_hdr;
	m->hdr[m->nhdr].name_len = (unsigned short)strlen(s->fe->uid_hdr);
	m->hdr[m->nhdr].value = id;
	m->hdr[m->nhdr].value_len = (unsigned short)strlen(id);
	m->nhdr++;
	em->edits++;
	return 0;
}

/* tcp mode: tcp-request content rules and use_backend on what the
 * connection shows, then tunnel. */
static void
sess_route_tcp(struct session *s)
{
	struct smp_ctx c;
	struct rule_msg em;
	struct route ro;
	struct rule_ex ex;
	struct proxy *be;

	s->fl |= SS_TCP;
	(void)sess_ext(s);
	sess_smp_ctx(s, NULL, NULL, &c);
	sess_rule_ex(s, &c, &em, NULL, &ro, &ex);
	be = rule_route_tcp(s->fe, &ex);
	if (s->txn.ext)
		s->txn.ext->log_level = ro.log_level;
	if (be == NULL) {
		sess_kill(s, TERM_PR);
		return;
	}
	s->be = be;
	sess_px_state(be)->be_stot++;
	s->txn.retries = be->retries;
	s->req.state = CH_DONE;
	s->rsp.state = CH_DONE;
	sess_assign(s, NULL);
}

/* The request rules ran: answer here, or go to the backend. */
static void
sess_req_routed(struct session *s, struct http_msg *m, struct rule_msg *em,
    const struct route *ro, int r)
{
	if (s->txn.ext) {
		s->txn.ext->log_level = ro->log_level;
		s->txn.ext->route_fl = ro->flags;
	}
	if (ro->answer == ANS_NONE && sess_service(s, m, 0, r))
		return;
	if (ro->answer == ANS_SERVICE && sess_service(s, m, 1, r))
		return;
	if (s->fe->http_mode == HTTP_CLO || (ro->be && ro->be->http_mode == HTTP_CLO))
		s->fl &= ~SS_CLI_KA;
	if (ro->be)
		s->be = ro->be;
	if (ro->answer || ro->be == NULL) {
		sess_answer_route(s, ro, r);
		return;
	}
	sess_px_state(s->be)->be_stot++;
	if (sess_uid_header(s, em) < 0 || sess_rewrite_req(s, m, em, r) < 0)
		return;
	if (sess_classify(&s->req) < 0) {
		s->fl &= ~SS_CLI_KA;
		sess_error(s, 400, TERM_PR);
		return;
	}
	sess_keep_request(s);
	s->txn.retries = s->be->retries;
	/* retry-on beyond conn-failure: replayable, unless a rule said
	 * disable-l7-retry (sess_send_req() decides on the size) */
	if ((s->be->retry_on & RE_L7) && !(ro->flags & ROUTE_NO_L7_RETRY))
		s->txn.fl |= TX_L7;
	sess_assign(s, NULL);
}

/* monitor-uri, as HAProxy's http_wait_for_request() answers it: before
 * the rules, on the exact URI, 503 when a "monitor fail" condition holds,
 * else its 200 page; never logged. */
static int
sess_monitor(struct session *s, const struct http_msg *m, int r)
{
	const struct proxy *fe = s->fe;
	struct smp_ctx c;
	int k, status = 200;

	if (fe->monitor_uri == NULL || strlen(fe->monitor_uri) != m->uri_len ||
	    memcmp(fe->monitor_uri, m->uri, m->uri_len) != 0)
		return 0;
	sess_smp_ctx(s, m, NULL, &c);
	for (k = 0; k < fe->nmonitor_fail && status == 200; k++)
		if (acl_cond_exec(fe->monitor_fail[k], &c))
			status = 503;
	s->txn.fl |= TX_MONITOR;
	s->req.fwd = (unsigned)r;
	sess_error(s, status, TERM_LR);
	return 1;
}

static int
sess_do_req(struct session *s)
{
	struct http_msg *m = &sess_rt.msg;
	struct smp_ctx c;
	struct rule_msg em;
	struct route ro;
	struct rule_ex ex;
	int progress = 0, r;

	if (sess_adopt_cfg(s) < 0)
		return 1;
	if (s->fe->mode == MODE_TCP) {
		sess_route_tcp(s);
		return 1;
	}
	if ((r = sess_read_head(s, m, &progress)) <= 0)
		return r < 0 ? 1 : progress;
	sess_txn_start(s, m);
	if (sess_monitor(s, m, r))
		return 1;
	sess_ext_start(s, m);
	sess_smp_ctx(s, m, NULL, &c);
	sess_rule_ex(s, &c, &em, m, &ro, &ex);
	rule_route(s->fe, &ex);
	sess_req_routed(s, m, &em, &ro, r);
	return 1;
}

/* ---- S_XFER: the request goes out, the response comes back ---- */

/* How the response body is framed, and whether each side stays open. */
static void
sess_rsp_framing(struct session *s, const struct http_msg *m)
{
	struct chan *c = &s->rsp;

	s->txn.status = m->status;
	s->txn.t_rsp = loop_now();
	if (m->status == 101 || (s->txn.fl & TX_HEAD) || m->status == 204 ||
	    m->status == 304)
		c->body = BODY_NONE;
	else if (m->flags & MSG_CHUNKED)
		c->body = BODY_CHUNKED;
	else if (m->flags & MSG_CLEN)
		c->body = m->clen ? BODY_CLEN : BODY_NONE;
	else
		c->body = BODY_CLOSE;
	c->left = m->clen;
	if (c->body == BODY_CLOSE)
		s->fl &= ~SS_CLI_KA;
	s->fl &= ~SS_SRV_KA;
	if (c->body != BODY_CLOSE && m->status != 101 &&
	    ((m->minor == 1 && !(m->flags & MSG_CONN_CLOSE)) ||
	    (m->minor == 0 && (m->flags & MSG_CONN_KA))))
		s->fl |= SS_SRV_KA;
}

/* The Connection header the client gets with this response. */
static int
sess_rsp_conn(const struct session *s, const struct http_msg *m)
{
	if (m->status == 101 || m->status < 200)
		return H1_CONN_NONE;
	if (!(s->fl & SS_CLI_KA) || sess_rt.stopping)
		return H1_CONN_CLOSE;
	return (s->fl & SS_CLI_10) ? H1_CONN_KA : H1_CONN_NONE;
}

/* A response rule answered instead of the server: its response is
 * dropped with the server connection. */
static void
sess_rsp_answer(struct session *s, const struct route *ro)
{
	s->fl &= ~SS_SRV_KA;
	sess_srv_close(s);
	s->rsp.buf->head = s->rsp.buf->tail = 0;
	s->rsp.fwd = 0;
	if (ro->answer == ANS_REDIRECT)
		sess_reply(s, ro->status, TERM_LH, ro->location);
	else if (ro->answer == ANS_ERROR)
		sess_error(s, 500, TERM_IH);
	else
		sess_reply_rule(s, ro->rule ? ro->rule->reply : NULL, ro->status,
		    ro->answer == ANS_RETURN ? TERM_LH : TERM_PH);
}

/* http-response and http-after-response rules on a final response from
 * the server; returns -1 once answered instead. */
static int
sess_rsp_rules(struct session *s, struct http_msg *m, struct rule_msg *em)
{
	const struct txn_ext *x = s->txn.ext;
	struct smp_ctx c;
	struct route ro;
	struct rule_ex ex;

	if (x && s->fe->ncap_res)
		sess_capture(s->fe->cap_res_hdr, s->fe->cap_res_len, s->fe->ncap_res,
		    m, s->txn.ext->caps.res);
	if (!s->be->hrsp && !s->fe->hrsp && !s->be->hafter && !s->fe->hafter)
		return 0;
	sess_smp_ctx(s, x ? x->req : NULL, m, &c);
	sess_rule_ex(s, &c, em, m, &ro, &ex);
	if (x)
		ro.flags = x->route_fl;
	if (rule_response(s->fe, s->be, &ex, 0) != RULE_ANSWER) {
		if (ro.log_level && s->txn.ext)
			s->txn.ext->log_level = ro.log_level;
		return 0;
	}
	sess_rsp_answer(s, &ro);
	return -1;
}

/* A complete response head of r bytes at rsp.fwd: decide its framing,
 * apply the response rules, rewrite it when needed.  Returns -1 once
 * answered. */

/* The retry-on bit of a status, 0 when it has none. */
static unsigned
sess_re_status(int status)
{
	static const struct {
		short		 status;
		unsigned short	 bit;
	} map[] = {
		{ 401, RE_401 }, { 403, RE_403 }, { 404, RE_404 }, { 408, RE_408 },
		{ 425, RE_425 }, { 500, RE_500 }, { 501, RE_501 }, { 502, RE_502 },
		{ 503, RE_503 }, { 504, RE_504 },
	};
	size_t i;

	for (i = 0; i < NELEM(map); i++)
		if (map[i].status == status)
			return map[i].bit;
	return 0;
}

/* A complete response head of r bytes at rsp.fwd: retried when retry-on
 * names its status, else counted on the server (every head, interim
 * ones too, as HAProxy), then its framing decided and the head rewritten
 * when needed.  Returns -1 once answered or retried. */
static int
sess_rsp_head(struct session *s, struct http_msg *m, int r)
{
	struct buf *b = s->rsp.buf;
	const char *start = b->data + b->head + s->rsp.fwd;
	char line[256];
	struct rule_msg em;
	size_t linelen;
	int n, final = m->status >= 200 || m->status == 101;

	if (sess_l7_retry(s, sess_re_status(m->status)))
		return -1;
	s->st->req_tot++;
	s->st->hrsp[sess_hclass(m->status)]++;
	u_eol(start, (size_t)r, &linelen, NULL);
	if (m->status == 101 && !(s->txn.fl & TX_UPG)) {
		sess_count_eresp(s);	/* a junk response to HAProxy */
		if (!sess_l7_retry(s, RE_JUNK))
			sess_error(s, 502, TERM_SH);
		return -1;
	}
	sess_replay_end(s);	/* a response has begun */
	if (final)
		sess_rsp_framing(s, m);
	memset(&em, 0, sizeof(em));
	if (final && sess_rsp_rules(s, m, &em) < 0)
		return -1;
	if (em.edits == 0 && !(m->flags & MSG_BARE_LF) && (m->status == 101 ||
	    (!(m->flags & MSG_CONNHDR) && (m->status < 200 ||
	    ((s->fl & SS_CLI_KA) && !(s->fl & SS_CLI_10)))))) {
		s->rsp.fwd += (unsigned)r;	/* nothing to drop or add */
	} else {
		linelen = sess_status_line(start, linelen, &em, line, sizeof(line));
		n = h1_build_rsp_head(buf_scratch(), buf_rt.size, m, em.status ? line :
		    start, linelen, sess_rsp_conn(s, m));
		if (n < 0 || buf_replace(b, s->rsp.fwd, (unsigned)r, (unsigned)n) < 0) {
			sess_error(s, 502, TERM_SH);
			return -1;
		}
		s->rsp.fwd += (unsigned)n;	/* compacted: the head is at fwd */
	}
	if (em.status)
		s->txn.status = em.status;
	if (final)	/* else interim: more follow */
		s->rsp.state = s->rsp.body == BODY_NONE ? CH_DONE : CH_BODY;
	if (final && (s->fe->options & OPT_LOGASAP))
		sess_log(s);	/* logasap: with the response head, totals so far */
	return 0;
}

/* A server connection left reusable by a response: to its server's
 * pool, marked safe when it has carried more than this request; with
 * http-reuse never, kept by the session for its next request (and
 * watched, in S_REQ, for the server closing it), or closed when there
 * will be none. */
static void
sess_srv_keep(struct session *s, int next)
{
	int uses = ++s->srv_uses;

	if (s->be->reuse != REUSE_NEVER) {
		srv_pool_put(s->st, s->srv.fd, (s->txn.fl & TX_REUSED) != 0, uses);
		xprt_side_init(&s->srv, -1);
	} else if (next && (s->sv->max_reuse < 0 || uses <= s->sv->max_reuse))
		s->srv.fl = 0;
	else
		sess_srv_close(s);
	s->txn.fl &= ~TX_REUSED;
}

/* One request/response exchange is over. */
static void
sess_txn_end(struct session *s)
{
	int keep_srv = (s->fl & SS_SRV_KA) && s->req.state == CH_DONE &&
	    s->req.fwd == 0 && !(s->srv.fl & (SF_EOF | SF_ERR)) &&
	    s->fe->http_mode == HTTP_KAL && s->be->http_mode == HTTP_KAL;
	int next = (s->fl & SS_CLI_KA) && s->req.state == CH_DONE &&
	    !sess_rt.stopping;

	if (buf_len(s->rsp.buf) > s->rsp.fwd) {
		/* bytes after the response: the server is not speaking
		 * HTTP any more, its connection cannot be reused */
		keep_srv = 0;
		s->rsp.buf->head = s->rsp.buf->tail;
	}
	sess_log(s);
	sess_replay_end(s);
	sess_release(s);
	if (keep_srv)
		sess_srv_keep(s, next);
	else
		sess_srv_close(s);
	if (!next) {
		/* nothing of the client's left unread: a plain close cannot
		 * turn into a reset, so no lingering is needed */
		if (s->req.state == CH_DONE && buf_len(s->req.buf) == s->req.fwd &&
		    s->cli.tls == NULL)
			s->fl |= SS_QUICK_CLOSE;
		sess_set_state(s, S_CLOSING);
		sess_set_expire(s, -1);
		return;
	}
	sess_next_request(s);
	if (buf_len(s->req.buf) > 0)
		s->cli.fl |= SF_RD;	/* a pipelined request may be complete */
}

/* Classified request bytes go to the server.  A request that may be
 * replayed keeps what was sent at the buffer's head (s->replay).  As in
 * HAProxy, that is only so when the whole request is in the buffer as
 * it first goes out, within the buffer less its rewrite reserve (15360
 * bytes by default, about what HAProxy's buffer holds): a larger or
 * still arriving one is never replayed.  A send error shows on the read
 * side.  Returns the bytes sent. */
static int
sess_send_req(struct session *s)
{
	struct chan *c = &s->req;
	int n;

	if (!c->fwd || !(s->srv.fl & SF_WR))
		return 0;
	if ((s->txn.fl & TX_L7) && s->replay == 0 &&
	    (c->state != CH_DONE || c->fwd > buf_head_limit()))
		s->txn.fl &= ~TX_L7;
	n = xprt_send(&s->srv, c->buf->data + c->buf->head + s->replay, c->fwd);
	if (n <= 0)
		return 0;
	if (s->txn.fl & TX_L7)
		s->replay += (unsigned)n;
	else
		c->buf->head += (unsigned)n;
	c->fwd -= (unsigned)n;
	s->st->bin += (uint64_t)n;
	return n;
}

/* Client -> server: body bytes in, classified bytes out.  Returns
 * progress, or -1 once the session was ended. */
static int
sess_xfer_req(struct session *s)
{
	int progress = 0;

	if (s->req.state == CH_BODY && (s->cli.fl & SF_RD) &&
	    !(s->cli.fl & SF_EOF) &&
	    sess_fill(&s->cli, &s->req, buf_rt.size, &s->req.bytes) > 0)
		progress = 1;
	if (sess_classify(&s->req) < 0) {
		sess_error(s, 400, TERM_CD);
		return -1;
	}
	if (sess_send_req(s) > 0)
		progress = 1;
	/* everything read was classified as far as it can be (a chunk-size
	 * line cut short stays behind req.fwd): the body cannot end now */
	if (s->req.state == CH_BODY && (s->cli.fl & (SF_EOF | SF_ERR))) {
		sess_count_abort(s, 1);
		sess_kill(s, TERM_CD);	/* client gave up mid-body */
		return -1;
	}
	return progress;
}

/* Server -> proxy: read, parse response heads.  Returns progress, or -1
 * once the session was ended. */
static int
sess_xfer_rsp_in(struct session *s)
{
	struct http_msg *m = &sess_rt.msg;
	unsigned limit = buf_head_limit();
	int progress = 0, r, n;

	if (s->rsp.state != CH_DONE && (s->srv.fl & SF_RD) &&
	    !(s->srv.fl & SF_EOF) && (n = sess_fill(&s->srv, &s->rsp,
	    s->rsp.state == CH_HEAD ? limit : buf_rt.size, NULL)) > 0) {
		progress = 1;
		s->sv->st->bout += (uint64_t)n;
	}
	while (s->rsp.state == CH_HEAD && buf_len(s->rsp.buf) > s->rsp.fwd) {
		struct buf *b = s->rsp.buf;

		r = h1_parse_response(b->data + b->head + s->rsp.fwd,
		    buf_len(b) - s->rsp.fwd, m);
		if (r < 0)
			log_debug("bad response from %s/%s: %s", s->be->name,
			    s->sv->name, m->err_what);
		if (r < 0 || (r == 0 && buf_len(b) >= limit)) {
			/* junk: counted as an error even when retried */
			sess_count_eresp(s);
			if (!sess_l7_retry(s, RE_JUNK))
				sess_error(s, 502, TERM_SH);
			return -1;
		}
		if (r == 0)
			break;
		if (sess_rsp_head(s, m, r) < 0)
			return -1;
		progress = 1;
	}
	return progress;
}

/* The end of the server's bytes: a premature one is an error.  Before a
 * complete head (a partial one included) it is an empty response to
 * HAProxy 2.6, which counts a reset as a response error even when the
 * request is retried.  Returns -1 once answered or retried. */
static int
sess_xfer_rsp_end(struct session *s)
{
	if (s->rsp.state == CH_HEAD && (s->srv.fl & (SF_EOF | SF_ERR))) {
		if (s->srv.fl & SF_ERR)
			sess_count_eresp(s);
		if (sess_l7_retry(s, RE_EMPTY))
			return -1;
		sess_count_eresp(s);
		sess_error(s, 502, TERM_SH);
		return -1;
	}
	if (sess_classify(&s->rsp) < 0) {
		/* bad chunked framing: a 502 while the client has seen
		 * nothing of the response (as HAProxy: "PH"), else a cut */
		sess_count_eresp(s);
		if (s->txn.fl & TX_RSP_STARTED)
			sess_kill(s, TERM_SD);
		else
			sess_error(s, 502, TERM_PH);
		return -1;
	}
	/* all that can be classified was (see sess_classify) */
	if (s->rsp.state == CH_BODY && (s->srv.fl & (SF_EOF | SF_ERR))) {
		if (s->rsp.body == BODY_CLOSE && !(s->srv.fl & SF_ERR))
			s->rsp.state = CH_DONE;
		else if (s->rsp.fwd == 0) {
			sess_count_eresp(s);
			sess_count_abort(s, 0);
			sess_kill(s, TERM_SD);	/* truncated response */
			return -1;
		}
	}
	return 0;
}

/* The response has left: a tunnel after a 101, the next request, or a
 * close when the request body can no longer be framed. */
static int
sess_xfer_done(struct session *s)
{
	if (s->rsp.state != CH_DONE || s->rsp.fwd != 0)
		return 0;
	if (s->txn.status == 101) {
		/* bytes that came with the 101 leave through the tunnel;
		 * count them here, as tunnel reads will not */
		s->rsp.bytes += buf_len(s->rsp.buf);
		sess_set_state(s, S_TUNNEL);
		s->req.fwd = buf_len(s->req.buf);
		s->rsp.fwd = buf_len(s->rsp.buf);
		return 1;
	}
	if (s->req.state == CH_DONE && s->req.fwd == 0) {
		sess_txn_end(s);
		return 1;
	}
	if (s->req.state != CH_DONE) {
		/* answered before the body was sent: the rest of the body
		 * cannot be framed any more, so close */
		s->fl &= ~SS_CLI_KA;
		s->req.state = CH_DONE;
		s->req.fwd = 0;
		if (s->req.buf)
			s->req.buf->head = s->req.buf->tail = 0;
		sess_txn_end(s);
		return 1;
	}
	return 0;
}

static int
sess_do_xfer(struct session *s)
{
	int progress, r;

	if ((progress = sess_xfer_req(s)) < 0 || (r = sess_xfer_rsp_in(s)) < 0 ||
	    sess_xfer_rsp_end(s) < 0)
		return 1;
	progress |= r;
	if ((r = sess_send_client(s)) == -2) {
		sess_count_abort(s, 1);
		sess_kill(s, TERM_CD);
		return 1;
	}
	if (r > 0) {
		s->rsp.bytes += (uint64_t)r;
		s->txn.fl |= TX_RSP_STARTED;
		progress = 1;
	}
	return sess_xfer_done(s) || progress;
}

/* ---- S_TUNNEL: bytes both ways until both directions are closed ---- */

static int
sess_tunnel_dir(struct side *from, struct side *to, struct chan *c,
    uint64_t *count2)
{
	int progress = 0, n;

	/* buffered bytes first (those that came with the 101), then the
	 * pipe for plain sockets */
	if (buf_len(c->buf) == 0 && !from->tls && !to->tls && buf_can_splice() &&
	    (c->pipe != NULL || ((from->fl & SF_RD) && !(from->fl & SF_EOF) &&
	    (c->pipe = buf_pipe_get()) != NULL))) {
		progress = xprt_splice(from, to, &c->pipe, &c->bytes, count2);
		if ((from->fl & SF_EOF) && c->pipe == NULL && !(to->fl & SF_SHUTW)) {
			xprt_shutw(to);
			progress = 1;
		}
		return progress;
	}
	if ((from->fl & SF_RD) && !(from->fl & SF_EOF) &&
	    (n = sess_fill(from, c, buf_rt.size, &c->bytes)) > 0) {
		progress = 1;
		if (count2)
			*count2 += (uint64_t)n;
	}
	if (buf_len(c->buf) && (to->fl & SF_WR) && !(to->fl & SF_ERR) &&
	    sess_drain(to, c, buf_len(c->buf)) > 0)
		progress = 1;
	if ((from->fl & SF_EOF) && buf_len(c->buf) == 0 && !(to->fl & SF_SHUTW)) {
		xprt_shutw(to);
		progress = 1;
	}
	return progress;
}

static int
sess_do_tunnel(struct session *s)
{
	int progress;

	progress = sess_tunnel_dir(&s->cli, &s->srv, &s->req, &s->st->bin);
	progress |= sess_tunnel_dir(&s->srv, &s->cli, &s->rsp, &s->st->bout);
	if ((s->cli.fl & SF_ERR) || (s->srv.fl & SF_ERR)) {
		/* a server reset is a response error to HAProxy too */
		if (!(s->cli.fl & SF_ERR))
			sess_count_eresp(s);
		sess_count_abort(s, (s->cli.fl & SF_ERR) != 0);
		sess_kill(s, (s->cli.fl & SF_ERR) ? TERM_CD : TERM_SD);
		return 1;
	}
	if ((s->cli.fl & SF_EOF) && (s->srv.fl & SF_EOF) &&
	    buf_len(s->req.buf) == 0 && buf_len(s->rsp.buf) == 0 &&
	    s->req.pipe == NULL && s->rsp.pipe == NULL && !xprt_pending(&s->cli)) {
		sess_kill(s, 0);
		return 1;
	}
	return progress;
}

/* ---- S_CLOSING: flush, half-close, drain, close ---- */

/* Flush the last answer, half-close, read what the client still sends
 * (so it reads our answer instead of a reset), close. */
static int
sess_do_closing(struct session *s)
{
	char sink[4096];
	int progress = 0, n;

	if (s->cli.fl & SF_ERR)
		return 0;
	sess_gen_refill(s);
	if ((n = sess_send_client(s)) == -2)
		return 0;
	progress = n > 0;
	if (s->rsp.fwd || s->gen || xprt_pending(&s->cli))
		return progress;
	if (s->fl & SS_QUICK_CLOSE) {
		s->cli.fl |= SF_ERR;
		return 1;
	}
	if (s->fe->options & OPT_NOLINGER) {	/* a FIN, then the reset at once */
		if (!(s->cli.fl & SF_SHUTW))
			xprt_shutw(&s->cli);
		s->cli.fl |= SF_ERR;
		return 1;
	}
	if (!(s->cli.fl & SF_SHUTW)) {
		xprt_shutw(&s->cli);
		if (s->cli.fl & SF_EOF)
			s->cli.fl |= SF_ERR;
		progress = 1;
	}
	while ((s->cli.fl & SF_RD) && !(s->cli.fl & SF_EOF))
		if (xprt_recv(&s->cli, sink, sizeof(sink)) <= 0)
			break;
	if (s->cli.fl & SF_EOF)
		s->cli.fl |= SF_ERR;
	return progress;
}

/* S_REQ: an answer made here leaves first, then the next request.  A
 * server connection kept for it (http-reuse never) that becomes readable
 * was closed by its server, or spoke out of turn: it is dropped. */
static int
sess_do_wait_req(struct session *s)
{
	int n;

	if (s->srv.fd >= 0 && (s->srv.fl & (SF_RD | SF_EOF | SF_ERR)))
		sess_srv_close(s);
	sess_gen_refill(s);
	if ((n = sess_send_client(s)) == -2) {
		sess_kill(s, 0);
		return 0;
	}
	if (s->rsp.fwd == 0 && s->gen == NULL)
		return sess_do_req(s) || n > 0;
	return n > 0;
}

/* ---- poll interest and deadlines ---- */

static unsigned
sess_tmo(const struct session *s, enum tmo t)
{
	if (t == T_CLIENT || t == T_HTTP_REQ || t == T_HTTP_KA || t == T_CLIENT_FIN)
		return s->fe->timeout[t];
	return s->be ? s->be->timeout[t] : 0;
}

/* option abortonclose (a backend's): a client that closes while its
 * request waits for a server (queue, turn, connect) is dropped, instead
 * of being served half-closed (HAProxy's default). */
static int
sess_aborts(const struct session *s)
{
	return (s->state == S_QUEUE || s->state == S_TURN || s->state == S_CONNECT) &&
	    s->be && (s->be->options & OPT_ABORTONCLOSE) && !(s->fl & SS_TCP);
}

/* What each side waits for.  Interest follows what the session wants,
 * not the readiness flags: a run that stopped at its round limit with a
 * side still ready is woken again at once by the level-triggered poll. */
static void
sess_interest(const struct session *s, short *ce, short *se)
{
	unsigned limit = buf_head_limit(), size = buf_rt.size;

	*ce = *se = 0;
	switch (s->state) {
	case S_REQ:
		if (!(s->cli.fl & SF_EOF) && buf_len(s->req.buf) < limit)
			*ce |= POLLIN;
		if (s->rsp.fwd)
			*ce |= POLLOUT;
		if (s->srv.fd >= 0)	/* kept: watch for its close */
			*se = POLLIN;
		break;
	case S_CONNECT:
		*se = POLLOUT;
		break;
	case S_XFER:
		if (s->req.state == CH_BODY && !(s->cli.fl & SF_EOF) &&
		    buf_len(s->req.buf) < size)
			*ce |= POLLIN;
		if (s->rsp.fwd)
			*ce |= POLLOUT;
		if (s->req.fwd)
			*se |= POLLOUT;
		if (s->rsp.state != CH_DONE && !(s->srv.fl & SF_EOF) &&
		    buf_len(s->rsp.buf) < (s->rsp.state == CH_HEAD ? limit : size))
			*se |= POLLIN;
		break;
	case S_TUNNEL:
		if (!(s->cli.fl & SF_EOF) && buf_len(s->req.buf) < size &&
		    (s->req.pipe == NULL || s->req.pipe->len < buf_pipe_size()))
			*ce |= POLLIN;
		if (buf_len(s->rsp.buf) || s->rsp.pipe)
			*ce |= POLLOUT;
		if (!(s->srv.fl & SF_EOF) && buf_len(s->rsp.buf) < size &&
		    (s->rsp.pipe == NULL || s->rsp.pipe->len < buf_pipe_size()))
			*se |= POLLIN;
		if (buf_len(s->req.buf) || s->req.pipe)
			*se |= POLLOUT;
		break;
	case S_CLOSING:
		if (s->rsp.fwd)
			*ce |= POLLOUT;
		if ((s->cli.fl & SF_SHUTW) && !(s->cli.fl & SF_EOF))
			*ce |= POLLIN;
		break;
	default:
		break;
	}
}

/* The inactivity timeout of the states that restart it on progress. */
static unsigned
sess_idle_tmo(const struct session *s, short ce)
{
	unsigned t, c, v;

	switch (s->state) {
	case S_XFER:
		t = ce ? sess_tmo(s, T_CLIENT) : sess_tmo(s, T_SERVER);
		return t ? t : sess_tmo(s, T_SERVER);
	case S_TUNNEL:
		if ((s->cli.fl & SF_EOF) && sess_tmo(s, T_CLIENT_FIN))
			return sess_tmo(s, T_CLIENT_FIN);
		if ((s->srv.fl & SF_EOF) && sess_tmo(s, T_SERVER_FIN))
			return sess_tmo(s, T_SERVER_FIN);
		if ((t = sess_tmo(s, T_TUNNEL)) != 0)
			return t;
		c = sess_tmo(s, T_CLIENT);
		v = sess_tmo(s, T_SERVER);
		return c > v ? c : v;
	default:	/* S_CLOSING: a lingering close stays short */
		t = sess_tmo(s, T_CLIENT);
		if (s->rsp.fwd && t)
			return t;
		return !t || t > LINGER_MAX_MS ? LINGER_MAX_MS : t;
	}
}

/* The deadline of the current state.  Inactivity timeouts restart on
 * progress or on a change of state. */
static int64_t
sess_deadline(const struct session *s, int progress, enum sess_state before,
    short ce)
{
	int fresh = progress || s->timer.when < 0 || before != s->state;
	unsigned t;

	switch (s->state) {
	case S_REQ:
		t = buf_len(s->req.buf) == 0 && (s->fl & SS_NOT_FIRST) ?
		    sess_tmo(s, T_HTTP_KA) : 0;
		if (t == 0)
			t = sess_tmo(s, T_HTTP_REQ);
		if (t)
			return s->txn.t_start + t;
		if ((t = sess_tmo(s, T_CLIENT)) == 0)
			return -1;
		return fresh ? loop_now() + t : s->timer.when;
	case S_QUEUE:
		t = sess_tmo(s, T_QUEUE);
		if (!t)
			t = sess_tmo(s, T_CONNECT);
		return t ? s->txn.t_queue + t : -1;
	case S_TURN:
	case S_TARPIT:
		return s->timer.when;
	case S_CONNECT:
		t = sess_tmo(s, T_CONNECT);
		return t ? s->txn.t_conn + t : -1;
	default:
		t = sess_idle_tmo(s, ce);
		if (t == 0)
			return -1;
		return fresh ? loop_now() + t : s->timer.when;
	}
}

static void
sess_arm(struct session *s, int progress, enum sess_state before)
{
	short ce, se;

	sess_interest(s, &ce, &se);
	sess_set_expire(s, sess_deadline(s, progress, before, ce));
	loop_fd_want(s->cli.fd, xprt_events(&s->cli, ce) | (sess_aborts(s) ?
	    POLLRDHUP : 0));
	if (s->srv.fd >= 0)
		loop_fd_want(s->srv.fd, se);
}

/* ---- the state machine ---- */

/* One round over the current state; returns progress. */
static int
sess_step(struct session *s)
{
	/* a client that vanished while we wait on its behalf */
	if ((s->cli.fl & SF_ERR) && s->state != S_CLOSING &&
	    s->state != S_XFER && s->state != S_TUNNEL)
		sess_kill(s, s->state == S_REQ ? 0 : TERM_CC);
	switch (s->state) {
	case S_REQ:
		return sess_do_wait_req(s);
	case S_QUEUE:
	case S_TURN:
	case S_TARPIT:
		return 0;
	case S_CONNECT:
		return sess_do_connect(s);
	case S_XFER:
		return sess_do_xfer(s);
	case S_TUNNEL:
		return sess_do_tunnel(s);
	case S_CLOSING:
		return sess_do_closing(s);
	}
	return 0;
}

/* Buffers go back to the pool as soon as they are empty. */
static void
sess_trim(struct session *s)
{
	if (s->req.buf && buf_len(s->req.buf) == 0) {
		buf_put(s->req.buf);
		s->req.buf = NULL;
		s->req.fwd = 0;
	}
	if (s->rsp.buf && buf_len(s->rsp.buf) == 0) {
		buf_put(s->rsp.buf);
		s->rsp.buf = NULL;
		s->rsp.fwd = 0;
	}
}

static void
sess_run(struct session *s)
{
	enum sess_state before = s->state;
	int progress, any = 0, rounds = 0;

	do {
		progress = sess_step(s);
		any |= progress;
		if (s->state == S_CLOSING && (s->cli.fl & SF_ERR))
			break;
	} while (progress && ++rounds < RUN_ROUNDS);
	if (progress)	/* work left: give others a turn, come back at once */
		loop_task_wake(&s->task);
	if (s->state == S_CLOSING && ((s->cli.fl & SF_ERR) ||
	    ((s->cli.fl & SF_SHUTW) && (s->cli.fl & SF_EOF)))) {
		sess_free(s);
		return;
	}
	sess_trim(s);
	sess_arm(s, any, before);
}

static void
sess_task_run(struct loop_task *t)
{
	sess_run(CONTAINER(t, struct session, task));
}

static void
sess_event(void *obj, int fd, short revents)
{
	struct session *s = obj;
	struct side *sd = fd == s->cli.fd ? &s->cli : &s->srv;

	if (sd == &s->cli && (revents & (POLLRDHUP | POLLHUP)) && sess_aborts(s)) {
		/* option abortonclose: the client gave up while we waited */
		sess_count_abort(s, 1);
		sess_kill(s, s->state == S_QUEUE ? TERM(TC_CLI, TP_QUEUE) : TERM_CC);
		sess_run(s);
		return;
	}
	xprt_ready(sd, revents);
	sess_run(s);
}

static void
sess_timer_fired(struct loop_timer *t)
{
	struct session *s = CONTAINER(t, struct session, timer);

	/* spent; cleared first, so that what the state does next may arm it
	 * again (the pause before a connect retry) */
	sess_set_expire(s, -1);
	switch (s->state) {
	case S_REQ:
		if (xprt_handshaking(&s->cli)) {	/* no 408 can be sent */
			sess_log_embryonic(s, 1);
			sess_kill(s, 0);
			break;
		}
		/* idle keep-alive ends quietly, and so does a probe with
		 * option http-ignore-probes */
		if (buf_len(s->req.buf) == 0 && ((s->fl & SS_NOT_FIRST) ||
		    (s->fe->options & OPT_IGNORE_PROBES))) {
			sess_kill(s, 0);
			break;
		}
		sess_count_req(s);
		s->fl &= ~SS_CLI_KA;
		sess_error(s, 408, TERM_cR);
		break;
	case S_QUEUE:
		srv_queue_del(s->be, &s->wait);
		s->txn.t_qdur = loop_now() - s->txn.t_queue;
		sess_px_state(s->be)->be_econ++;	/* as HAProxy */
		sess_error(s, 503, TERM_sQ);
		break;
	case S_TURN:	/* the same server, or a redispatch after the pause */
		if (s->fl & SS_COUNTED)
			sess_attach(s);
		else
			sess_assign(s, s->sv);
		break;
	case S_CONNECT:
		log_debug("connect to %s/%s timed out", s->be->name, s->sv->name);
		sess_conn_failed(s);
		break;
	case S_XFER:
		if (s->rsp.state == CH_HEAD && !(s->txn.fl & TX_RSP_STARTED) &&
		    s->rsp.fwd == 0 && s->req.state == CH_DONE) {
			if (sess_l7_retry(s, RE_TIMEOUT))
				break;
			sess_count_eresp(s);
			sess_error(s, 504, TERM_sH);
		} else {
			sess_count_abort(s, s->req.state == CH_BODY);
			sess_kill(s, s->req.state == CH_BODY ? TERM_cD : TERM_sD);
		}
		break;
	case S_TUNNEL:
		sess_count_abort(s, 1);
		sess_kill(s, TERM_cD);
		break;
	case S_TARPIT:
		sess_reply_rule(s, s->txn.tarpit ? s->txn.tarpit->reply : NULL,
		    s->txn.status, TERM_PT);
		break;
	case S_CLOSING:
		s->cli.fl |= SF_ERR;
		break;
	}
	/* the timer is off (the loop cleared it): a deadline set above, such
	 * as a retry's turn-around after a connect timeout, stands */
	sess_run(s);
}

/* ---- what other modules ask of sessions ---- */

/* Close the sessions a server serves (on-marked-down shutdown-sessions),
 * or the backup ones of a backend when an active server returns. */
static int
sess_kill_server(const struct proxy *be, const struct server *only, int backups)
{
	struct session *s, *nx;
	int n = 0;

	for (s = sess_rt.sessions; s; s = nx) {
		nx = s->next;
		/* by runtime state: sessions from before a reload count too */
		if (s->st == NULL || s->st->srv == NULL || s->st->srv->be != be ||
		    s->srv.fd < 0)
			continue;
		if ((only && s->st != only->st) || (backups && !s->st->srv->backup))
			continue;
		if (s->state != S_CONNECT && s->state != S_XFER && s->state != S_TUNNEL)
			continue;
		sess_kill(s, TERM_KD);
		sess_run(s);
		n++;
	}
	return n;
}

/* Soft stop: idle keep-alive clients would hold the exit back. */
static void
sess_close_idle(void)
{
	struct session *s, *nx;

	for (s = sess_rt.sessions; s; s = nx) {
		nx = s->next;
		/* idle-close-on-response: kept for one more request, answered
		 * with "Connection: close" (sess_rsp_conn()) */
		if (s->state == S_REQ && buf_len(s->req.buf) == 0 && s->rsp.fwd == 0 &&
		    s->gen == NULL && !(s->fe->options & OPT_IDLE_CLOSE_RSP)) {
			sess_kill(s, 0);
			sess_run(s);
		}
	}
}

/* A reload: queued requests move to the backend of the same name (or
 * are answered 503 when it is gone), keeping their place in time.  They
 * move to the new config whole (frontend of the same name, and a
 * reference that keeps that config as long as they need it).  One whose
 * frontend is gone or changed mode stays queued where it is, served by
 * its own config. */
static void
sess_requeue(const struct config *oc, struct config *nc)
{
	struct proxy *px, *npx, *nfe;
	struct srv_qlink *l, *nx;

	for (px = oc->proxies; px; px = px->next) {
		npx = cfg_find_proxy(nc, px->name, CAP_BE);
		for (l = px->bst ? px->bst->queue.head : NULL; l; l = nx) {
			struct srv_waiter *w = CONTAINER(l, struct srv_waiter, link);
			struct session *s = CONTAINER(w, struct session, wait);

			nx = l->next;
			nfe = cfg_find_proxy(nc, s->fe->name, CAP_FE);
			if (npx && (nfe == NULL || nfe->mode != s->fe->mode))
				continue;
			srv_queue_del(px, w);
			if (npx == NULL) {
				sess_error(s, 503, TERM_sQ);
				sess_run(s);
				continue;
			}
			s->fe = nfe;
			s->be = npx;
			sess_cfg_ref(nc);
			sess_cfg_unref(s->cfg);	/* oc: the runtime still holds it */
			s->cfg = nc;
			sess_enqueue(s);
		}
	}
}

/* What the session module gives the ones it calls. */
static void
sess_init(void)
{
	srv_init(sess_dequeued);
}

/* Everything still open ends (a hard stop, or the end of the program). */
static void
sess_free_all(void)
{
	while (sess_rt.sessions)
		sess_free(sess_rt.sessions);
}
/*==== end sess ====*/

/*==== begin chk ====*/
/*
 * Health checks.  Every check is the same small pipeline driven by the
 * loop: connect, send a request, read a bounded answer, validate, report
 * once with a status and a reason (after OpenBSD relayd).  Kinds differ
 * only in what they send and how they read and validate: they are
 * entries of chk_kinds[] (TCP: connecting is the check; HTTP: option
 * httpchk; nodeos: get_info freshness and chain; SHIP: websocket
 * get_status, log ends, lag behind a reference head, optional block
 * probe), and the agent (HAProxy's agent protocol, which adjusts state
 * and weight).  The health counter follows HAProxy: a server starts UP at
 * the lowest UP level (one failure takes it down), "fall" failures take a
 * fully healthy server DOWN, "rise" successes bring it back.
 */

#define CHK_BUFSZ	16384		/* what an HTTP or agent check reads */
#define SHIP_ABI_MAX	(1 << 20)	/* a longer first message is refused */
#define SHIP_LOG_SLACK	3		/* blocks an enabled log may trail head+1 */
#define CHAIN_FRESH_MS	60000		/* peers' heads count this long */
#define AGENT_MAXCONN_MAX 1000000	/* more is not a server limit, it is a typo */
#define SLOWSTART_STEP_MS 100		/* how often a slowstart ramp moves */

enum { CS_IDLE, CS_CONNECT, CS_SEND, CS_RECV };
enum { PH_WS_HEAD, PH_ABI, PH_STATUS, PH_BLOCKS };

struct check;

/* What differs between kinds of checks. */
struct chk_type {
	/* what to send once connected (0 bytes: nothing), or -1 */
	int		(*request)(struct check *c, char *out, size_t cap);
	/* bytes arrived in c->buf (or the end); NULL: connecting is the check */
	void		(*recv)(struct check *c, int eof);
	/* a complete HTTP answer (the HTTP family of kinds) */
	void		(*eval)(struct check *c, const struct http_msg *m,
			    char *body, size_t blen);
};

struct check {
	struct server	*srv;
	const struct chk_type *kind;
	int		 agent;		/* this is the server's agent check */
	int		 fd;
	int		 step;		/* CS_* */
	int		 phase;		/* PH_*, SHIP checks */
	int64_t		 next;		/* start of the next check */
	int64_t		 deadline;	/* end of the running one */
	int64_t		 started;
	char		*buf;		/* CHK_BUFSZ while a check runs */
	unsigned	 len;
	char		 out[1024];	/* the request */
	unsigned	 outlen, sent;
	struct ws_reader wr;
	unsigned char	 keep[256];	/* the start of each SHIP message */
	unsigned char	 key[16];
	struct ship_status ss;
	struct check	*next_chk;
};

static const char *const chk_status_names[] = {
	"INI", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L7OK", "L7TOUT", "L7RSP",
	"L7STS", "L7OKC"
};

static struct {
	struct check	*list;
	struct http_msg	 msg;		/* the answer being parsed */
	int		 spread;	/* spread-checks of the running config */
	const char	*node;		/* its node name */
} chk_rt;

/* ---- agent replies ---- */

/*
 * HAProxy's tcpcheck_agent_expect_reply: only the first line, words split
 * on space/tab/comma, '#' starts a description only at the start of a
 * word, last word of each kind wins, unknown words ignored.
 */
static const struct {
	const char	*word;
	int		 state, admin;	/* -1: not this kind */
} chk_agent_words[] = {
	{ "up", AGENT_UP, -1 }, { "down", AGENT_DOWN, -1 },
	{ "stopped", AGENT_STOPPED, -1 }, { "fail", AGENT_FAIL, -1 },
	{ "ready", -1, ADMIN_READY }, { "drain", -1, ADMIN_DRAIN },
	{ "maint", -1, ADMIN_MAINT },
};

/* The description after '#' in line[i..n). */
static void
chk_agent_desc(struct agent_reply *out, const char *line, size_t i, size_t n)
{
	size_t s, e;

	for (s = i + 1; s < n && U_OWS(line[s]); s++)
		;
	for (e = n; e > s && U_OWS(line[e - 1]); e--)
		;
	u_copy_printable(out->desc, sizeof(out->desc), line + s, e - s);
}

/* One word: a state, an admin state, "N%" or "maxconn:N". */
static int
chk_agent_word(struct agent_reply *out, const char *w, size_t wn,
    const char **ps, size_t *pn, const char **cs, size_t *cn)
{
	size_t k;

	for (k = 0; k < NELEM(chk_agent_words); k++)
		if (u_ieq(w, wn, chk_agent_words[k].word)) {
			if (chk_agent_words[k].state >= 0)
				out->state = chk_agent_words[k].state;
			else
				out->admin = chk_agent_words[k].admin;
			return 1;
		}
	if (U_DIGIT(w[0]) && memchr(w, '%', wn)) {
		*ps = w;	/* HAProxy: a weight word, the last one wins */
		*pn = wn;
	} else if (wn >= 8 && u_ieq(w, 8, "maxconn:")) {
		*cs = w + 8;
		*cn = wn - 8;
	}
	return 0;
}

int
chk_agent_parse(const char *line, size_t len, struct agent_reply *out)
{
	const char *w, *ps = NULL, *cs = NULL;
	size_t i, n, wn, pn = 0, cn = 0;
	long v;
	int found = 0;

	memset(out, 0, sizeof(*out));
	out->state = AGENT_NONE;
	out->admin = -1;
	out->weight_pct = -1;
	out->maxconn = -1;
	for (n = 0; n < len && line[n] != '\r' && line[n] != '\n' &&
	    line[n] != '\0'; n++)
		;
	for (i = 0; i < n; ) {
		if (line[i] == ' ' || line[i] == '\t' || line[i] == ',') {
			i++;
			continue;
		}
		if (line[i] == '#') {
			chk_agent_desc(out, line, i, n);
			break;
		}
		for (w = line + i; i < n && line[i] != ' ' && line[i] != '\t' &&
		    line[i] != ','; i++)
			;
		wn = (size_t)(line + i - w);
		found |= chk_agent_word(out, w, wn, &ps, &pn, &cs, &cn);
	}
	/* A bad weight or maxconn is only a warning in HAProxy, which still
	 * applies the state: here it is left at -1 and does not count as a
	 * recognised word. */
	if (ps != NULL && ps[pn - 1] == '%' &&
	    (v = u_parse_dec(ps, pn - 1, 100)) >= 0) {
		out->weight_pct = (int)v;
		found = 1;
	}
	if (cs != NULL && (v = u_parse_dec(cs, cn, AGENT_MAXCONN_MAX)) >= 0) {
		out->maxconn = (int)v;
		found = 1;
	}
	return found ? 0 : -1;
}

/* ---- a server's state changes ---- */

/* ", reason: WHY, check duration: Nms" of a state line; nothing without
 * a reason (log-health-checks said it already). */
static const char *
chk_why(const char *why, int dur, char *out, size_t cap)
{
	if (why == NULL)
		return "";
	snprintf(out, cap, ", reason: %s, check duration: %dms", why, dur);
	return out;
}

/* A drain starting or ending is logged as HAProxy does. */
static void
chk_log_drain(struct server *s, int was, int now, const char *why)
{
	int drain = srv_draining(s);

	if (drain != s->st->draining && now == OPS_UP && was == OPS_UP)
		log_msg(5, "WARNING", drain ? "Server %s/%s enters drain state (%s)." :
		    "Server %s/%s is UP (leaving drain state: %s).", s->be->name,
		    s->name, why ? why : "check");
	s->st->draining = drain;
}

/* HAProxy's check_up_down_total and downtime_seconds_total of a server
 * whose operational state changes (MAINT counts as down, as there). */
static void
chk_count_change(struct server *s, int was, int now)
{
	struct srv_state *st = s->st;

	if (was == OPS_UP)
		st->chkdown++;
	else if (now == OPS_UP)
		st->down_ms += loop_now() - st->last_change;
}

/* ... and of its backend, down when no server is usable. */
static void
chk_count_backend(const struct proxy *be, int down)
{
	struct px_state *f = sess_px_state(be);

	if (down == f->be_isdown)
		return;
	if (down)
		f->be_down++;
	else
		f->be_down_ms += loop_now() - f->be_change;
	f->be_change = loop_now();
	f->be_isdown = down;
}

/* Apply a change (check, agent or admin) to the balancer and log a change
 * of operational state with its reason; shut sessions down as the
 * server's on-marked-down/up options say. */
static void
chk_srv_changed(struct server *s, int was, const char *why, int dur)
{
	int act, bck, now, killed = 0, cur = s->st->cur, ql = srv_queue_len(s->be);
	char r[300];

	srv_lb_update(s);
	srv_queues_kick();	/* a new weight or slot may take queued work */
	now = srv_opstate(s);
	chk_log_drain(s, was, now, why);
	if (now == was)
		return;
	chk_count_change(s, was, now);
	s->st->last_change = loop_now();
	srv_count(s->be, &act, &bck);
	chk_count_backend(s->be, act + bck == 0);
	if (now == OPS_UP) {
		if (s->slowstart && was == OPS_DOWN)
			s->st->up_since = loop_now();
		log_msg(5, "WARNING", "Server %s/%s is UP%s. %d active and %d backup "
		    "servers online. 0 sessions requeued, %d total in queue.",
		    s->be->name, s->name, chk_why(why, dur, r, sizeof(r)), act, bck, ql);
		if (s->on_up_kill_bck && !s->backup)
			sess_kill_server(s->be, NULL, 1);
	} else if (now == OPS_MAINT) {
		log_msg(5, "WARNING", "Server %s/%s is going DOWN for maintenance (%s). "
		    "%d active and %d backup servers left. %d sessions active, "
		    "0 requeued, 0 remaining in queue.", s->be->name, s->name, why,
		    act, bck, cur);
	} else {
		if (s->on_down_kill)
			killed = sess_kill_server(s->be, s, 0);
		log_msg(1, "WARNING", "Server %s/%s is DOWN%s. %d active and %d backup "
		    "servers left. %d sessions active, 0 requeued, 0 remaining in "
		    "queue.%s", s->be->name, s->name, chk_why(why, dur, r, sizeof(r)),
		    act, bck, cur, killed ? " Sessions shut down." : "");
	}
	if (now != OPS_UP && act == 0 && bck == 0)
		log_alert("backend '%s' has no server available!", s->be->name);
}

/* option log-health-checks: HAProxy's line for a check whose status or
 * health changed (set_server_check_status()). */
static void
chk_log_check(const struct server *s, int cond, int ok, int dur)
{
	const struct srv_state *st = s->st;
	int up = st->health >= s->rise;

	log_msg(5, "WARNING", "Health check for %sserver %s/%s %s%s, reason: %s, "
	    "check duration: %dms, status: %d/%d %s.", s->backup ? "backup " : "",
	    s->be->name, s->name, cond ? "conditionally " : "", ok ? "succeeded" :
	    "failed", st->reason, dur, up ? st->health - s->rise + 1 : st->health,
	    up ? s->fall : s->rise, !up ? "DOWN" : (st->weight_set ? st->weight :
	    s->weight) ? "UP" : "DRAIN");
}

/* disable-on-404: entering or leaving HAProxy's STOPPING (NOLB) state of
 * a server that stays up. */
static void
chk_log_nolb(struct server *s, int was_nolb, int was, const char *why, int dur)
{
	char r[300];
	int act, bck;

	if (s->st->nolb == was_nolb || was != OPS_UP || srv_opstate(s) != OPS_UP)
		return;
	srv_count(s->be, &act, &bck);
	log_msg(5, "WARNING", "%sServer %s/%s is %s%s. %d active and %d backup "
	    "servers online. 0 sessions requeued, %d total in queue.",
	    s->backup ? "Backup " : "", s->be->name, s->name, s->st->nolb ?
	    "stopping" : "UP", chk_why(why, dur, r, sizeof(r)), act, bck,
	    srv_queue_len(s->be));
	if (s->st->nolb && act == 0 && bck == 0)
		log_alert("backend '%s' has no server available!", s->be->name);
}

/* The health counter after a check, as HAProxy moves it; 1 when it moved
 * (HAProxy's "report"). */
static int
chk_health(struct server *s, int ok)
{
	struct srv_state *st = s->st;
	int full = s->rise + s->fall - 1, was = st->health;

	if (ok) {
		if (st->health < full && ++st->health >= s->rise)
			st->health = full;
		if (!st->up && st->health >= s->rise)
			st->up = 1;
	} else {
		if (st->health > 0)	/* HAProxy counts them until DOWN */
			st->chkfail++;
		if (st->health > s->rise)
			st->health--;
		else {
			st->health = 0;
			st->up = 0;
		}
	}
	return st->health != was;
}

/* A health check's verdict on its server. */
static void
chk_result(struct check *c, int status, int ok, const char *reason,
    const char *info)
{
	struct server *s = c->srv;
	struct srv_state *st = s->st;
	int dur = (int)(loop_now() - c->started), was = srv_opstate(s);
	int prev = st->chk_status, was_nolb = st->nolb, moved;
	const char *why, *cc;

	if (info)
		snprintf(st->reason, sizeof(st->reason), "%s, info: \"%s\"", reason, info);
	else
		snprintf(st->reason, sizeof(st->reason), "%s", reason);
	st->check_ms = dur;
	st->chk_status = status;
	/* the code of an HTTP answer, from the verdict's wording */
	st->check_code = (status == HCHK_L7OK || status == HCHK_L7OKC ||
	    status == HCHK_L7STS) && (cc = strstr(reason, ", code: ")) != NULL ?
	    atoi(cc + 8) : 0;
	moved = chk_health(s, ok);
	if (ok)
		st->nolb = status == HCHK_L7OKC;
	if ((s->be->options & OPT_LOGHCHKS) && (status != prev || moved))
		chk_log_check(s, status == HCHK_L7OKC, ok, dur);
	log_debug("check %s/%s: %s (%dms)", s->be->name, s->name, st->reason, dur);
	/* with log-health-checks, HAProxy's state lines leave the reason to
	 * the check lines */
	why = (s->be->options & OPT_LOGHCHKS) ? NULL : st->reason;
	chk_srv_changed(s, was, why, dur);
	chk_log_nolb(s, was_nolb, was, why, dur);
}

/* HAProxy's agent protocol: the reply sets state, admin state, weight and
 * maxconn; it never replaces the health check.  An unreachable agent
 * changes nothing, as in HAProxy. */
static void
chk_agent_result(struct check *c, int ok, const char *line, size_t len)
{
	struct server *s = c->srv;
	struct srv_state *st = s->st;
	struct agent_reply ar;
	int was = srv_opstate(s), dur = (int)(loop_now() - c->started);
	char why[160];
	size_t n;

	if (!ok) {
		log_debug("agent %s/%s: %s", s->be->name, s->name, line);
		return;
	}
	if (chk_agent_parse(line, len, &ar) < 0)
		return;
	if (ar.state != AGENT_NONE)
		st->agent_down = ar.state != AGENT_UP;
	if (ar.admin >= 0)
		st->agent_admin = (enum srv_admin)ar.admin;
	if (ar.weight_pct >= 0) {
		st->weight_pct = ar.weight_pct;
		st->weight_pct_set = 1;
	}
	if (ar.maxconn >= 0) {
		st->agent_maxconn = ar.maxconn;
		st->agent_maxconn_set = 1;
	}
	snprintf(st->agent_desc, sizeof(st->agent_desc), "%s", ar.desc);
	snprintf(why, sizeof(why), "Agent says %.*s", (int)(len > 80 ? 80 : len), line);
	for (n = strlen(why); n && (why[n - 1] == '\n' || why[n - 1] == '\r'); n--)
		why[n - 1] = 0;
	chk_srv_changed(s, was, why, dur);
}

/* ---- the pipeline ---- */

static unsigned
chk_interval(const struct check *c)
{
	const struct server *s = c->srv;

	if (c->agent)
		return s->agent_inter;
	if (s->st->health == s->rise + s->fall - 1)
		return s->inter;
	if (!s->st->up && s->st->health == 0)
		return s->downinter;
	return s->fastinter;
}

static void
chk_close(struct check *c)
{
	if (c->fd >= 0) {
		net_set_linger0(c->fd);	/* no TIME_WAIT left per check */
		loop_fd_close(c->fd);
		c->fd = -1;
	}
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
	c->step = CS_IDLE;
}

/* The next check, spread by +/- spread-checks percent of the interval
 * as HAProxy does. */
static void
chk_schedule(struct check *c)
{
	int64_t inter = chk_interval(c), rv = 0;
	uint32_t r;

	if (chk_rt.spread > 0 && u_random(&r, sizeof(r)) == 0) {
		rv = inter * chk_rt.spread / 100;
		rv -= (int64_t)(2.0 * (double)rv * ((double)r / 4294967295.0));
	}
	c->next = loop_now() + inter + rv;
	c->deadline = -1;
}

/* The end of one check, with its status and reason. */
static void
chk_done(struct check *c, int status, const char *reason, const char *info)
{
	int ok = status == HCHK_L4OK || status == HCHK_L7OK || status == HCHK_L7OKC;

	chk_close(c);
	if (c->agent)
		chk_agent_result(c, ok, reason, strlen(reason));
	else
		chk_result(c, status, ok, reason, info);
	chk_schedule(c);
}

#define chk_fail(c, reason, info)	chk_done((c), HCHK_L7RSP, (reason), (info))
#define chk_pass(c, reason, info)	chk_done((c), HCHK_L7OK, (reason), (info))

/* Queue bytes to send and switch to sending. */
static int
chk_queue(struct check *c, const void *p, size_t n)
{
	if (n > sizeof(c->out))
		return -1;
	memcpy(c->out, p, n);
	c->outlen = (unsigned)n;
	c->sent = 0;
	c->step = CS_SEND;
	loop_fd_want(c->fd, POLLOUT);
	return 0;
}

/* ---- validators ---- */

static int64_t
chk_wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Record a head a chain check read, for stall detection and the stats. */
static void
chk_note_head(struct srv_state *st, uint64_t head)
{
	if (head != st->chain_head || st->chain_adv_ms == 0)
		st->chain_adv_ms = loop_now();
	st->chain_head = head;
	st->chain_seen_ms = loop_now();
}

static int
chk_stalled(const struct check *c, char *why, size_t len)
{
	const struct srv_state *st = c->srv->st;
	unsigned stall = c->srv->be->chk.stall_ms;

	if (stall && loop_now() - st->chain_adv_ms > (int64_t)stall) {
		snprintf(why, len, "head %llu has not advanced for %llds",
		    (unsigned long long)st->chain_head,
		    (long long)(loop_now() - st->chain_adv_ms) / 1000);
		return 1;
	}
	return 0;
}

/* The body of a complete HTTP answer in c->buf, dechunked in place. */
static int
chk_http_body(struct check *c, const struct http_msg *m, int hlen, char **body,
    size_t *blen)
{
	char *b = c->buf + hlen;
	size_t avail = c->len - (unsigned)hlen;
	struct chunk_dec d;
	long n;

	*body = b;
	if (m->flags & MSG_CHUNKED) {
		memset(&d, 0, sizeof(d));
		n = h1_chunk_feed(&d, b, avail);
		if (n < 0 || !h1_chunk_done(&d))
			return -1;
		*blen = h1_dechunk(b, (size_t)n);
		return 0;
	}
	if ((m->flags & MSG_CLEN) && (uint64_t)m->clen > avail)
		return -1;
	*blen = (m->flags & MSG_CLEN) ? (size_t)m->clen : avail;
	return 0;
}

/* Is the answer in c->buf complete (so the check can conclude early)? */
static int
chk_http_complete(struct check *c, int eof)
{
	struct http_msg *m = &chk_rt.msg;
	int r = h1_parse_response(c->buf, c->len, m), full = eof || c->len >= CHK_BUFSZ;
	struct chunk_dec d;
	long n;

	if (r <= 0)
		return r < 0 || full;
	if (m->flags & MSG_CHUNKED) {
		memset(&d, 0, sizeof(d));
		n = h1_chunk_feed(&d, c->buf + r, c->len - (unsigned)r);
		return n < 0 || h1_chunk_done(&d) || full;
	}
	if (m->flags & MSG_CLEN)
		return (uint64_t)(c->len - (unsigned)r) >= (uint64_t)m->clen || full;
	return full;
}

/* Parse the complete answer and hand it to the kind's validator. */
static void
chk_http_eval(struct check *c)
{
	const struct chk_conf *cf = &c->srv->be->chk;
	struct http_msg *m = &chk_rt.msg;
	char *body = NULL;
	size_t blen = 0;
	int r = h1_parse_response(c->buf, c->len, m);

	if (r <= 0) {
		chk_fail(c, "Layer7 invalid response", r < 0 ? m->err_what : "truncated");
		return;
	}
	if (chk_http_body(c, m, r, &body, &blen) < 0 && (cf->kind == CHK_NODEOS ||
	    cf->exp_kind == EXP_STRING || cf->exp_kind == EXP_RSTRING)) {
		chk_fail(c, "Layer7 invalid response", "truncated body");
		return;
	}
	c->kind->eval(c, m, body, blen);
}

static int
chk_expect_status(const struct chk_conf *cf, int status)
{
	int k;

	for (k = 0; k < cf->nexp_range; k++)
		if (status >= cf->exp_range[k][0] && status <= cf->exp_range[k][1])
			return 1;
	return 0;
}

static int
chk_expect_string(const char *needle, const char *body, size_t blen)
{
	size_t i, sl = strlen(needle);

	for (i = 0; body && i + sl <= blen; i++)
		if (memcmp(body + i, needle, sl) == 0)
			return 1;
	return 0;
}

/* The reason phrase of the answer's status line (HAProxy's check info). */
static void
chk_phrase(const struct check *c, char *out, size_t cap)
{
	const char *p = c->buf, *e = memchr(c->buf, '\n', c->len);
	int sp = 0;

	if (e == NULL)
		e = c->buf + c->len;
	while (p < e && sp < 2)
		sp += *p++ == ' ';
	while (e > p && (e[-1] == '\r' || e[-1] == '\n'))
		e--;
	u_copy_printable(out, cap, p, (size_t)(e - p));
}

/* A verdict on an HTTP answer, worded as HAProxy's: "REASON, code: N",
 * with the reason phrase as info when it failed. */
static void
chk_http_verdict(struct check *c, int status, const char *reason, int code)
{
	const char *cmt = c->srv->be->chk.comment;
	char why[96], phrase[64] = "", info[160];

	snprintf(why, sizeof(why), "%s, code: %d", reason, code);
	if (status == HCHK_L7OK || status == HCHK_L7OKC) {
		chk_done(c, status, why, NULL);
		return;
	}
	chk_phrase(c, phrase, sizeof(phrase));
	snprintf(info, sizeof(info), "%s%s%s", phrase, cmt ? " comment: " : "",
	    cmt ? cmt : "");
	chk_done(c, status, why, info[0] ? info : NULL);
}

/* option httpchk / http-check expect */
static void
chk_eval_http(struct check *c, const struct http_msg *m, char *body, size_t blen)
{
	const struct chk_conf *cf = &c->srv->be->chk;
	char code[8];
	int ok;

	snprintf(code, sizeof(code), "%d", m->status);
	if (cf->disable404 && m->status == 404 && c->srv->st->up) {
		chk_http_verdict(c, HCHK_L7OKC, "Layer7 check conditionally passed", 404);
		return;
	}
	switch (cf->exp_kind) {
	case EXP_STATUS:
		ok = chk_expect_status(cf, m->status);
		break;
	case EXP_RSTATUS:
		ok = regexec(cf->exp_re, code, 0, NULL, 0) == 0;
		break;
	case EXP_STRING:
		ok = chk_expect_string(cf->exp_str, body, blen);
		break;
	case EXP_RSTRING:
		body[blen] = 0;		/* the buffer has a spare byte */
		ok = regexec(cf->exp_re, body, 0, NULL, 0) == 0;
		break;
	default:
		ok = m->status >= 200 && m->status < 400;
	}
	if (cf->exp_neg)
		ok = !ok;
	if (ok)
		chk_http_verdict(c, HCHK_L7OK, "Layer7 check passed", m->status);
	else if (cf->exp_kind == EXP_STRING || cf->exp_kind == EXP_RSTRING)
		chk_http_verdict(c, HCHK_L7RSP, "Layer7 wrong response content", m->status);
	else
		chk_http_verdict(c, HCHK_L7STS, "Layer7 wrong status", m->status);
}

/* option nodeos-check: get_info answered, on the right chain, fresh. */
static void
chk_eval_nodeos(struct check *c, const struct http_msg *m, char *body,
    size_t blen)
{
	const struct chk_conf *cf = &c->srv->be->chk;
	struct srv_state *st = c->srv->st;
	struct nodeos_info ni;
	unsigned char id[32];
	const char *err = NULL;
	char why[200];
	int64_t lag;

	if (m->status != 200) {
		snprintf(why, sizeof(why), "nodeos get_info answered %d", m->status);
		chk_fail(c, why, NULL);
		return;
	}
	if (chain_nodeos_info_parse(body, blen, &ni, &err) < 0) {
		snprintf(why, sizeof(why), "nodeos get_info: %s", err);
		chk_fail(c, why, NULL);
		return;
	}
	if (cf->has_chain_id && (u_parse_hex32(ni.chain_id, id) < 0 ||
	    memcmp(id, cf->chain_id, 32) != 0)) {
		snprintf(why, sizeof(why), "nodeos is on another chain (chain_id "
		    "%.16s...)", ni.chain_id[0] ? ni.chain_id : "none");
		chk_fail(c, why, NULL);
		return;
	}
	chk_note_head(st, ni.head);
	st->chain_head_ms = ni.head_time_ms;
	lag = chk_wall_ms() - ni.head_time_ms;
	st->lag_blocks = lag / 500;
	if (lag > (int64_t)cf->max_lag_ms || -lag > (int64_t)cf->max_lag_ms) {
		snprintf(why, sizeof(why), "nodeos head %llu is %.1fs %s the clock "
		    "(max-lag %us)", (unsigned long long)ni.head, (double)(lag < 0 ?
		    -lag : lag) / 1000, lag < 0 ? "ahead of" : "behind",
		    cf->max_lag_ms / 1000);
		chk_fail(c, why, NULL);
	} else if (chk_stalled(c, why, sizeof(why)))
		chk_fail(c, why, NULL);
	else {
		snprintf(why, sizeof(why), "nodeos head %llu, %.1fs behind",
		    (unsigned long long)ni.head, (double)lag / 1000);
		chk_pass(c, why, NULL);
	}
}

/* The highest head among this backend's servers and the ref-backend's,
 * as their own checks last read them. */
static uint64_t
chk_ship_reference(const struct server *self)
{
	const struct proxy *bes[2] = { self->be, self->be->chk.ref_be };
	const struct server *s;
	uint64_t ref = 0;
	int i;

	for (i = 0; i < 2; i++)
		for (s = bes[i] ? bes[i]->srv : NULL; s; s = s->next)
			if (s->st && s->st->chain_seen_ms && loop_now() -
			    s->st->chain_seen_ms < CHAIN_FRESH_MS &&
			    s->st->chain_head > ref)
				ref = s->st->chain_head;
	return ref;
}

/* An enabled log must keep up with head (end is exclusive); a log ahead
 * of head is tolerated: Leap 4.0.4 reports exactly that. */
static int
chk_ship_logs(const struct ship_status *ss, char *why, size_t len)
{
	if (ss->trace_end && (uint64_t)ss->head + 1 > (uint64_t)ss->trace_end +
	    SHIP_LOG_SLACK) {
		snprintf(why, len, "SHIP trace log ends at %u, head %u",
		    ss->trace_end, ss->head);
		return -1;
	}
	if (ss->chain_state_end && (uint64_t)ss->head + 1 >
	    (uint64_t)ss->chain_state_end + SHIP_LOG_SLACK) {
		snprintf(why, len, "SHIP chain state log ends at %u, head %u",
		    ss->chain_state_end, ss->head);
		return -1;
	}
	return 0;
}

static void
chk_ship_eval(struct check *c)
{
	const struct chk_conf *cf = &c->srv->be->chk;
	struct srv_state *st = c->srv->st;
	const struct ship_status *ss = &c->ss;
	uint64_t ref, lag = 0;
	char why[200];

	if (cf->has_chain_id && ss->has_chain_id &&
	    memcmp(ss->chain_id, cf->chain_id, 32) != 0) {
		snprintf(why, sizeof(why), "SHIP node is on another chain (chain_id "
		    "%02x%02x%02x%02x...)", ss->chain_id[0], ss->chain_id[1],
		    ss->chain_id[2], ss->chain_id[3]);
		chk_fail(c, why, NULL);
		return;
	}
	st->trace_begin = ss->trace_begin;
	st->trace_end = ss->trace_end;
	st->cs_begin = ss->chain_state_begin;
	st->cs_end = ss->chain_state_end;
	chk_note_head(st, ss->head);
	if (chk_ship_logs(ss, why, sizeof(why)) < 0) {
		chk_fail(c, why, NULL);
		return;
	}
	if ((ref = chk_ship_reference(c->srv)) > ss->head)
		lag = ref - ss->head;
	st->lag_blocks = (int64_t)lag;
	if (lag * cf->block_interval_ms > cf->max_lag_ms) {
		snprintf(why, sizeof(why), "SHIP head %u lags reference %llu by %llu "
		    "blocks", ss->head, (unsigned long long)ref, (unsigned long long)lag);
		chk_fail(c, why, NULL);
	} else if (chk_stalled(c, why, sizeof(why)))
		chk_fail(c, why, NULL);
	else {
		snprintf(why, sizeof(why), "SHIP head %u, %llu blocks behind reference",
		    ss->head, (unsigned long long)lag);
		chk_pass(c, why, NULL);
	}
}

/* ---- SHIP: the websocket exchange ---- */

/* Send a request frame built by <build> (status or blocks). */
static int
chk_ship_send(struct check *c, int blocks)
{
	unsigned char frame[64], mask[4];
	int fl;

	u_random(mask, sizeof(mask));
	fl = blocks ? ship_frame_blocks_req(frame, sizeof(frame), mask, c->ss.head,
	    c->ss.head + 1, 1) : ship_frame_status_req(frame, sizeof(frame), mask);
	if (fl < 0 || chk_queue(c, frame, (size_t)fl) < 0) {
		chk_fail(c, "internal error", blocks ? "blocks request" :
		    "status request");
		return -1;
	}
	c->phase = blocks ? PH_BLOCKS : PH_STATUS;
	return 0;
}

/* One whole data message from the node. */
static void
chk_ship_message(struct check *c)
{
	const char *why = NULL;
	uint32_t num = 0;
	int has_this = 0;

	if (c->phase == PH_ABI) {
		if (c->wr.msg_opcode != WS_OP_TEXT)
			chk_fail(c, "SHIP node did not send its ABI first", NULL);
		else
			chk_ship_send(c, 0);
		return;	/* bytes after the ABI are unexpected before our request */
	}
	if (c->wr.msg_opcode != WS_OP_BINARY) {
		chk_fail(c, "SHIP answer is not a binary message", NULL);
		return;
	}
	if (c->phase == PH_STATUS) {
		if (ship_status_parse(c->keep, c->wr.kept, &c->ss, &why) < 0)
			chk_fail(c, "SHIP get_status_result undecodable", why);
		else if (c->srv->be->chk.probe_blocks)
			chk_ship_send(c, 1);
		else
			chk_ship_eval(c);
		return;
	}
	if (ship_blocks_parse(c->keep, c->wr.kept, &has_this, &num, &why) < 0)
		chk_fail(c, "SHIP get_blocks_result undecodable", why);
	else if (!has_this)
		chk_fail(c, "SHIP node serves no blocks", NULL);
	else
		chk_ship_eval(c);
}

/* Received websocket bytes through the frame reader. */
static void
chk_ship_feed(struct check *c, const unsigned char *p, size_t len)
{
	int phase = c->phase;

	while (len > 0 && c->step != CS_IDLE && c->phase == phase) {
		const char *why = NULL;
		int ev = WS_MORE;
		long n = ws_reader_feed(&c->wr, p, len, &ev, &why);

		if (n < 0 || ev == WS_ERROR) {
			chk_fail(c, "SHIP websocket error", why ? why : "bad frame");
			return;
		}
		p += n;
		len -= (size_t)n;
		if (ev == WS_MORE)
			return;
		if (ev == WS_CONTROL) {
			if (c->wr.ctl_opcode == WS_OP_CLOSE) {
				chk_fail(c, "SHIP node closed the websocket", NULL);
				return;
			}
			continue;	/* the node never pings; pongs are ignored */
		}
		chk_ship_message(c);
		return;
	}
}

static void
chk_recv_ship(struct check *c, int eof)
{
	const char *why = NULL;
	unsigned len;
	int r;

	if (c->phase == PH_WS_HEAD) {
		if ((r = ws_check_upgrade(c->buf, c->len, c->key, &why)) < 0) {
			chk_fail(c, "SHIP websocket upgrade refused", why);
			return;
		}
		if (r == 0) {
			if (eof)
				chk_fail(c, "SHIP websocket upgrade refused",
				    "connection closed");
			return;
		}
		ws_reader_init(&c->wr, c->keep, sizeof(c->keep), SHIP_ABI_MAX);
		c->phase = PH_ABI;
		memmove(c->buf, c->buf + r, c->len - (unsigned)r);
		c->len -= (unsigned)r;
	}
	len = c->len;
	c->len = 0;
	chk_ship_feed(c, (unsigned char *)c->buf, len);
	if (c->step == CS_RECV && eof)
		chk_fail(c, "SHIP node closed the connection", NULL);
}

static void
chk_recv_http(struct check *c, int eof)
{
	if (chk_http_complete(c, eof))
		chk_http_eval(c);
}

/* The agent's first line. */
static void
chk_recv_agent(struct check *c, int eof)
{
	char *nl = memchr(c->buf, '\n', c->len), line[512];
	size_t l;

	if (!nl && !eof && c->len < CHK_BUFSZ)
		return;
	l = nl ? (size_t)(nl - c->buf) : c->len;
	if (l >= sizeof(line))
		l = sizeof(line) - 1;
	memcpy(line, c->buf, l);
	line[l] = 0;
	chk_close(c);
	chk_agent_result(c, 1, line, l);
	chk_schedule(c);
}

/* Read what is there, then let the kind look at it. */
static void
chk_recv(struct check *c)
{
	ssize_t n;
	int eof = 0;

	if (c->buf == NULL && (c->buf = malloc(CHK_BUFSZ + 1)) == NULL) {
		chk_fail(c, "out of memory", NULL);
		return;
	}
	while (c->len < CHK_BUFSZ) {
		n = recv(c->fd, c->buf + c->len, CHK_BUFSZ - c->len, 0);
		if (n > 0) {
			c->len += (unsigned)n;
			continue;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			break;
		chk_fail(c, c->agent ? "agent read error" : "Layer7 connection problem",
		    strerror(errno));
		return;
	}
	c->kind->recv(c, eof);
}

/* ---- requests ---- */

static int
chk_req_agent(struct check *c, char *out, size_t cap)
{
	const char *send = c->srv->agent_send;

	return send ? snprintf(out, cap, "%s", send) : 0;
}

/* http-check send-state: HAProxy's httpchk_build_status_header() */
static void
chk_state_header(const struct server *s, char *out, size_t cap)
{
	static const char *const hlt[] = { "DOWN", "DOWN %d/%d", "UP %d/%d", "UP",
	    "NOLB %d/%d", "NOLB", "no check" };
	const struct srv_state *st = s->st;
	const struct be_state *b = s->be->bst;
	char addr[INET6_ADDRSTRLEN + 8], v[32];
	int k, up = st->up && !st->agent_down, tot, cur = 0;
	const struct server *o;
	size_t n;

	k = st->checks_off ? 6 : !up ? (st->health ? 1 : 0) :
	    (st->health == s->rise + s->fall - 1 ? 3 : 2) + (st->nolb ? 2 : 0);
	snprintf(v, sizeof(v), hlt[k], up ? st->health - s->rise + 1 : st->health,
	    up ? s->fall : s->rise);
	for (o = s->be->srv; o; o = o->next)
		cur += o->st->cur;
	tot = (b->srv_act ? b->tot_wact : b->tot_wbck) / BE_WEIGHT_SCALE;
	net_addr_str(&s->addr, addr, sizeof(addr), 0);
	n = (size_t)snprintf(out, cap, "X-Haproxy-Server-State: %s; address=%s; "
	    "port=%d; name=%s/%s; node=%s; weight=%d/%d; scur=%d/%d; qcur=0", v,
	    addr, ntohs(((const struct sockaddr_in *)&s->addr)->sin_port),
	    s->be->name, s->name, chk_rt.node, st->nolb ? (st->weight_set ? st->weight :
	    s->weight) : lb_weight(s), tot, st->cur, cur);	/* NOLB keeps it */
	if (n < cap)
		snprintf(out + n, cap - n, "\r\n");
}

static int
chk_req_http(struct check *c, char *out, size_t cap)
{
	const struct chk_conf *cf = &c->srv->be->chk;
	int want_host = strcmp(cf->ver, "HTTP/1.1") == 0 &&
	    (cf->hdrs == NULL || strcasestr(cf->hdrs, "host:") == NULL);
	char host[INET6_ADDRSTRLEN + 8], clen[48] = "";

	char state[400] = "";

	net_addr_str(&c->srv->chk_addr, host, sizeof(host), 1);
	if (cf->body)
		snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", strlen(cf->body));
	if (cf->send_state)
		chk_state_header(c->srv, state, sizeof(state));
	return snprintf(out, cap, "%s %s %s\r\n%s%s%s%s%s%sConnection: close\r\n"
	    "\r\n%s", cf->meth, cf->uri, cf->ver, want_host ? "Host: " : "",
	    want_host ? host : "", want_host ? "\r\n" : "",
	    cf->hdrs ? cf->hdrs : "", clen, state, cf->body ? cf->body : "");
}

static int
chk_req_nodeos(struct check *c, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN + 8];

	net_addr_str(&c->srv->chk_addr, host, sizeof(host), 1);
	return snprintf(out, cap, "GET /v1/chain/get_info HTTP/1.1\r\nHost: %s\r\n"
	    "Accept: application/json\r\nUser-Agent: waxlb/%s\r\n"
	    "Connection: close\r\n\r\n", host, WAXLB_VERSION);
}

static int
chk_req_ship(struct check *c, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN + 8];

	net_addr_str(&c->srv->chk_addr, host, sizeof(host), 1);
	u_random(c->key, sizeof(c->key));
	return ws_build_upgrade(out, cap, host, "/", c->key);
}

/* By enum chk_kind, then the agent. */
static const struct chk_type chk_kinds[] = {
	[CHK_TCP] = { NULL, NULL, NULL },
	[CHK_HTTP] = { chk_req_http, chk_recv_http, chk_eval_http },
	[CHK_NODEOS] = { chk_req_nodeos, chk_recv_http, chk_eval_nodeos },
	[CHK_SHIP] = { chk_req_ship, chk_recv_ship, NULL },
};
static const struct chk_type chk_agent_kind = { chk_req_agent, chk_recv_agent, NULL };

/* ---- driving a check ---- */

/* The connect finished: fail, pass (TCP), or send the request. */
static void
chk_connected(struct check *c)
{
	int err = net_sock_error(c->fd);

	if (err) {
		chk_done(c, HCHK_L4CON, c->agent ? "agent connection problem" :
		    "Layer4 connection problem", strerror(err));
		return;
	}
	if (c->kind->recv == NULL) {
		chk_done(c, HCHK_L4OK, "Layer4 check passed", NULL);
		return;
	}
	c->step = c->outlen ? CS_SEND : CS_RECV;
	loop_fd_want(c->fd, c->outlen ? POLLOUT : POLLIN);
}

static void
chk_send(struct check *c)
{
	ssize_t n = send(c->fd, c->out + c->sent, c->outlen - c->sent, MSG_NOSIGNAL);

	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		chk_fail(c, "Layer7 connection problem", strerror(errno));
		return;
	}
	if (n > 0)
		c->sent += (unsigned)n;
	if (c->sent < c->outlen)
		return;
	c->step = CS_RECV;
	loop_fd_want(c->fd, POLLIN);
}

static void
chk_event(void *obj, int fd, short revents)
{
	struct check *c = obj;

	(void)fd;
	if (c->step == CS_CONNECT) {
		chk_connected(c);
		if (c->step != CS_SEND)
			return;
	}
	if (c->step == CS_SEND)
		chk_send(c);
	else if (c->step == CS_RECV && (revents & (POLLIN | POLLHUP | POLLERR)))
		chk_recv(c);
}

/* HAProxy: without "timeout check" the whole check has "inter"; with it,
 * min("timeout connect", "inter") to connect plus "timeout check". */
static unsigned
chk_timeout(const struct check *c)
{
	const struct server *s = c->srv;
	unsigned t = s->be->timeout[T_CHECK], ct = s->be->timeout[T_CONNECT];

	if (t == 0)
		return c->agent ? s->agent_inter : s->inter;
	if (ct == 0 || ct > s->inter)
		ct = s->inter;
	return t + ct;
}

static void
chk_start(struct check *c)
{
	struct server *s = c->srv;
	const struct sockaddr_storage *sa = c->agent ? &s->agent_sa : &s->chk_addr;
	socklen_t salen = c->agent ? s->agent_salen : s->chk_addrlen;
	int fd, n, done, err;

	c->started = loop_now();
	c->phase = PH_WS_HEAD;
	c->len = 0;
	n = c->kind->request ? c->kind->request(c, c->out, sizeof(c->out)) : 0;
	if (n < 0 || (size_t)n >= sizeof(c->out)) {
		chk_fail(c, "check request too long", NULL);
		return;
	}
	c->outlen = (unsigned)n;
	c->sent = 0;
	c->step = CS_CONNECT;
	n = net_connect(sa, salen, 0, &fd, &done, &err);
	if (n == NET_OK && !loop_fd_fits(fd)) {
		close(fd);
		n = NET_NOSOCK;
		err = EMFILE;
	}
	if (n == NET_NOSOCK) {
		chk_done(c, HCHK_L4CON, "Socket error", strerror(err));
		return;
	}
	if (n == NET_REFUSED) {
		chk_done(c, HCHK_L4CON, c->agent ? "agent connection problem" :
		    "Layer4 connection problem", strerror(err));
		return;
	}
	c->fd = fd;
	loop_fd_add(fd, chk_event, c, POLLOUT);
	c->deadline = loop_now() + chk_timeout(c);
}

static struct check *
chk_new(struct server *s, int agent, int i, int n)
{
	struct check *c = u_calloc(1, sizeof(*c));
	unsigned inter = agent ? s->agent_inter : s->inter;

	c->srv = s;
	c->agent = agent;
	c->kind = agent ? &chk_agent_kind : &chk_kinds[s->be->chk.kind];
	c->fd = -1;
	c->deadline = -1;
	/* spread the first checks over a short window */
	c->next = loop_now() + (int64_t)(i * (inter < 1000 ? inter : 1000)) / (n ? n : 1);
	c->next_chk = chk_rt.list;
	chk_rt.list = c;
	return c;
}

/* The checks of a config's servers (every one, at start or reload). */
static void
chk_init(struct config *cfg)
{
	struct proxy *be;
	struct server *s;
	int n = 0, i = 0;

	chk_rt.spread = cfg->spread_checks;
	chk_rt.node = srv_node(cfg);
	for (be = cfg->proxies; be; be = be->next)
		for (s = be->srv; s; s = s->next)
			n += (s->check && !s->disabled) + (s->agent && !s->disabled);
	for (be = cfg->proxies; be; be = be->next)
		for (s = be->srv; s; s = s->next) {
			if (s->disabled)
				continue;
			if (s->check)
				chk_new(s, 0, i++, n);
			if (s->agent)
				chk_new(s, 1, i++, n);
		}
}

static void
chk_free_all(void)
{
	struct check *c, *nx;

	for (c = chk_rt.list; c; c = nx) {
		nx = c->next_chk;
		chk_close(c);
		free(c);
	}
	chk_rt.list = NULL;
}

static const char *
chk_timeout_reason(const struct check *c)
{
	if (c->step == CS_CONNECT)
		return "Layer4 timeout";
	if (c->agent)
		return "agent timeout";
	if (c->phase == PH_BLOCKS && c->srv->be->chk.kind == CHK_SHIP)
		return "SHIP node serves no blocks (no answer to a block request)";
	return "Layer7 timeout";
}

/* Loop hook: start due checks, expire running ones, move slowstart ramps
 * along; returns the next deadline. */
static int64_t
chk_hook(void)
{
	struct check *c;
	int64_t next = -1, now = loop_now(), w;

	for (c = chk_rt.list; c; c = c->next_chk) {
		const struct server *s = c->srv;

		if (c->fd >= 0 && c->deadline >= 0 && now >= c->deadline)
			chk_done(c, c->step == CS_CONNECT ? HCHK_L4TOUT : HCHK_L7TOUT,
			    chk_timeout_reason(c), NULL);
		if (c->fd < 0 && now >= c->next) {
			if (s->st->checks_off && !c->agent)
				c->next = now + chk_interval(c);
			else
				chk_start(c);
		}
		w = c->fd >= 0 ? c->deadline : c->next;
		if (next < 0 || w < next)
			next = w;
		if (!c->agent && s->slowstart && s->st->up_since &&
		    now - s->st->up_since <= (int64_t)s->slowstart) {
			srv_lb_update(c->srv);
			if (next < 0 || now + SLOWSTART_STEP_MS < next)
				next = now + SLOWSTART_STEP_MS;
		}
	}
	return next;
}
/*==== end chk ====*/

/*==== begin adm ====*/
/*
 * What operators read and change at run time: HAProxy's runtime API on a
 * unix socket (a table of commands with the access level each needs), the
 * HTML status page with its CSV twin, and the Prometheus metrics (tables
 * of series with HAProxy's exporter names, plus waxlb's chain metrics).
 * Everything is rendered into a growing string off the data path.  The
 * status page is reached through the sess module's service hook.
 */

struct adm_conn {
	int		 fd;
	int		 level;		/* ACCESS_* of its socket */
	char		 in[1024];
	unsigned	 inlen;
	struct sbuf	 out;
	size_t		 off;
	int64_t		 expire;
	struct adm_conn	*next;
};

struct adm_listener {
	int		 fd;
	int		 level;
	char		 path[108];
	struct adm_listener *next;
};

static struct {
	struct adm_listener *listeners;
	struct adm_conn	*conns;
	int64_t		 start_wall_s, start_mono_ms;
} adm_rt;

/* ---- small views of the running state ---- */

static uint64_t
adm_cum_conns(void)
{
	const struct px_state *f;
	uint64_t cum = 0;

	for (f = sess_rt.pxs; f; f = f->next)
		cum += f->tot;
	return cum;
}

static int
adm_be_cur(const struct proxy *px)
{
	const struct server *s;
	int cur = 0;

	for (s = px->srv; s; s = s->next)
		cur += s->st->cur;
	return cur;
}

static const char *
adm_check_status(const struct server *s)
{
	if (!s->check || s->st->checks_off)
		return "";
	return chk_status_names[s->st->chk_status];
}

static int
adm_be_weight(const struct proxy *px)
{
	return (px->bst->tot_wact + px->bst->tot_wbck) / BE_WEIGHT_SCALE;
}

/* ---- "show stat" CSV ---- */

/* HAProxy's "show stat" columns, in its order, up to those waxlb fills. */
static const char *const adm_cols[] = {
	"pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot",
	"bin", "bout", "dreq", "dresp", "ereq", "econ", "eresp", "wretr",
	"wredis", "status", "weight", "act", "bck", "chkfail", "chkdown",
	"lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle",
	"lbtot", "tracked", "type", "rate", "rate_lim", "rate_max",
	"check_status", "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx",
	"hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail",
	"req_rate", "req_rate_max", "req_tot", "cli_abrt", "srv_abrt",
	"comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk",
	"last_agt", "qtime", "ctime", "rtime", "ttime", "agent_status",
	"agent_code", "agent_duration", "check_desc", "agent_desc",
	"check_rise", "check_fall", "check_health", "agent_rise", "agent_fall",
	"agent_health", "addr", "cookie", "mode", "algo", NULL
};
#define ADM_NCOLS	(NELEM(adm_cols) - 1)

/* One CSV row: values by column name; a missing one stays empty, so
 * every row has exactly the header's fields. */
struct adm_row {
	char		 v[ADM_NCOLS][200];
};

static void
adm_set(struct adm_row *r, const char *col, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	for (i = 0; i < ADM_NCOLS && strcmp(adm_cols[i], col) != 0; i++)
		;
	if (i == ADM_NCOLS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->v[i], sizeof(r->v[i]), fmt, ap);
	va_end(ap);
}

/* Emit and clear; a field must not carry the separator. */
static void
adm_emit(struct sbuf *b, struct adm_row *r)
{
	size_t i;
	char *s;

	for (i = 0; i < ADM_NCOLS; i++) {
		for (s = r->v[i]; *s; s++)
			if (*s == ',' || *s == '\n' || *s == '\r')
				*s = ' ';
		u_sbprintf(b, "%s,", r->v[i]);
	}
	u_sbprintf(b, "\n");
	memset(r, 0, sizeof(*r));
}

/* hrsp_1xx..hrsp_5xx, hrsp_other and req_tot, which HAProxy fills on
 * HTTP proxies only (req_tot on frontends always). */
static void
adm_row_http(struct adm_row *r, const struct proxy *px, const uint64_t *hrsp,
    uint64_t req)
{
	static const char *const cols[] = { "hrsp_other", "hrsp_1xx", "hrsp_2xx",
	    "hrsp_3xx", "hrsp_4xx", "hrsp_5xx" };
	size_t k;

	if (px->mode != MODE_HTTP)
		return;
	for (k = 0; k < NELEM(cols); k++)
		adm_set(r, cols[k], "%llu", (unsigned long long)hrsp[k]);
	adm_set(r, "req_tot", "%llu", (unsigned long long)req);
}

/* wretr, wredis, cli_abrt, srv_abrt: backend and server rows. */
static void
adm_row_warn(struct adm_row *r, uint64_t wretr, uint64_t wredis, uint64_t cli,
    uint64_t srv)
{
	adm_set(r, "wretr", "%llu", (unsigned long long)wretr);
	adm_set(r, "wredis", "%llu", (unsigned long long)wredis);
	adm_set(r, "cli_abrt", "%llu", (unsigned long long)cli);
	adm_set(r, "srv_abrt", "%llu", (unsigned long long)srv);
}

/* The columns every row of a proxy has. */
static void
adm_row_ids(struct adm_row *r, const struct proxy *px, const char *sv, int iid,
    int sid, int type)
{
	adm_set(r, "pxname", "%s", px->name);
	adm_set(r, "svname", "%s", sv);
	adm_set(r, "pid", "%d", (int)getpid());
	adm_set(r, "iid", "%d", iid);
	adm_set(r, "sid", "%d", sid);
	adm_set(r, "type", "%d", type);
	adm_set(r, "mode", "%s", cfg_mode_name(px->mode));
}

static void
adm_csv_frontend(struct sbuf *b, struct adm_row *r, const struct proxy *px,
    int iid)
{
	const struct px_state *f = sess_px_state(px);

	adm_row_ids(r, px, "FRONTEND", iid, 0, 0);
	adm_set(r, "scur", "%d", f->cur);
	adm_set(r, "slim", "%d", px->maxconn ? px->maxconn : sess_rt.cfg->maxconn);
	adm_set(r, "stot", "%llu", (unsigned long long)f->tot);
	adm_set(r, "status", "OPEN");
	adm_set(r, "req_tot", "%llu", (unsigned long long)f->fe_req);
	adm_row_http(r, px, f->fe_hrsp, f->fe_req);
	adm_emit(b, r);
}

static void
adm_csv_server(struct sbuf *b, struct adm_row *r, const struct server *s,
    int iid)
{
	const struct srv_state *st = s->st;

	adm_row_ids(r, s->be, s->name, iid, s->puid, 2);
	adm_set(r, "qcur", "0");
	adm_set(r, "qmax", "0");
	adm_set(r, "scur", "%d", st->cur);
	adm_set(r, "smax", "%d", st->smax);
	if (s->maxconn)
		adm_set(r, "slim", "%d", s->maxconn);
	adm_set(r, "stot", "%llu", (unsigned long long)st->stot);
	adm_set(r, "bin", "%llu", (unsigned long long)st->bin);
	adm_set(r, "bout", "%llu", (unsigned long long)st->bout);
	adm_set(r, "econ", "%llu", (unsigned long long)st->econ);
	adm_set(r, "eresp", "%llu", (unsigned long long)st->eresp);
	adm_row_warn(r, st->wretr, st->wredis, st->cli_abrt, st->srv_abrt);
	adm_row_http(r, s->be, st->hrsp, st->req_tot);
	adm_set(r, "status", "%s", srv_status_str(s));
	adm_set(r, "weight", "%d", lb_weight(s));
	adm_set(r, "act", "%d", !s->backup);
	adm_set(r, "bck", "%d", s->backup);
	if (s->check) {
		adm_set(r, "chkfail", "%u", st->chkfail);
		adm_set(r, "check_status", "%s", adm_check_status(s));
		adm_set(r, "check_duration", "%d", st->check_ms);
		adm_set(r, "check_desc", "%s", st->reason);
		adm_set(r, "check_rise", "%d", s->rise);
		adm_set(r, "check_fall", "%d", s->fall);
		adm_set(r, "check_health", "%d", st->health);
	}
	adm_set(r, "lastchg", "%lld", (long long)(loop_now() - st->last_change) / 1000);
	adm_set(r, "lbtot", "%llu", (unsigned long long)st->lbtot);
	if (s->agent)
		adm_set(r, "agent_desc", "%s", st->agent_desc);
	adm_set(r, "addr", "%s", s->addr_text);
	adm_set(r, "cookie", "%s", s->cookie ? s->cookie : "");
	adm_emit(b, r);
}

/* The backend's own counters (sess' px_state), as HAProxy's are not the
 * sums of its servers': a request that got no server counts too. */
static void
adm_csv_backend(struct sbuf *b, struct adm_row *r, const struct proxy *px,
    int iid)
{
	const struct px_state *f = sess_px_state(px);
	uint64_t bin = 0, bout = 0;
	const struct server *s;
	int act, bck, smax = 0;

	for (s = px->srv; s; s = s->next) {
		smax += s->st->smax;
		bin += s->st->bin;
		bout += s->st->bout;
	}
	srv_count(px, &act, &bck);
	adm_row_ids(r, px, "BACKEND", iid, 0, 1);
	adm_set(r, "qcur", "%d", px->bst->queue.len);
	adm_set(r, "qmax", "%d", px->bst->queue.max);
	adm_set(r, "scur", "%d", adm_be_cur(px));
	adm_set(r, "smax", "%d", smax);
	adm_set(r, "stot", "%llu", (unsigned long long)f->be_stot);
	adm_set(r, "bin", "%llu", (unsigned long long)bin);
	adm_set(r, "bout", "%llu", (unsigned long long)bout);
	adm_set(r, "econ", "%llu", (unsigned long long)f->be_econ);
	adm_set(r, "eresp", "%llu", (unsigned long long)f->be_eresp);
	adm_row_warn(r, f->be_wretr, f->be_wredis, f->be_cli_abrt, f->be_srv_abrt);
	adm_row_http(r, px, f->be_hrsp, f->be_req);
	adm_set(r, "status", "%s", act + bck ? "UP" : "DOWN");
	adm_set(r, "weight", "%d", adm_be_weight(px));
	adm_set(r, "act", "%d", act);
	adm_set(r, "bck", "%d", bck);
	adm_set(r, "algo", "%s", px->lb->name);
	adm_emit(b, r);
}

/* "stats scope": does the page of <fe> show <px>?  "." is <fe> itself.
 * The runtime API (no <fe>) shows everything. */
static int
adm_in_scope(const struct proxy *fe, const struct proxy *px)
{
	int k;

	if (fe == NULL || fe->nstats_scope == 0)
		return 1;
	for (k = 0; k < fe->nstats_scope; k++)
		if (strcmp(fe->stats_scope[k], px->name) == 0 ||
		    (strcmp(fe->stats_scope[k], ".") == 0 && px == fe))
			return 1;
	return 0;
}

static void
adm_csv(struct sbuf *b, const struct proxy *fe)
{
	struct adm_row *r = u_calloc(1, sizeof(*r));
	const struct proxy *px;
	const struct server *s;
	size_t i;

	u_sbprintf(b, "# ");
	for (i = 0; i < ADM_NCOLS; i++)
		u_sbprintf(b, "%s,", adm_cols[i]);
	u_sbprintf(b, "\n");
	for (px = sess_rt.cfg->proxies; px; px = px->next) {
		if (!adm_in_scope(fe, px))
			continue;
		if (px->cap & CAP_FE)
			adm_csv_frontend(b, r, px, px->uuid);
		if (!(px->cap & CAP_BE))
			continue;
		for (s = px->srv; s; s = s->next)
			adm_csv_server(b, r, s, px->uuid);
		adm_csv_backend(b, r, px, px->uuid);
	}
	free(r);
}

static const char *
adm_node(void)
{
	return srv_node(sess_rt.cfg);
}

static void
adm_info(struct sbuf *b)
{
	int64_t up = (loop_now() - adm_rt.start_mono_ms) / 1000;

	u_sbprintf(b, "Name: waxlb\nVersion: %s\nRelease_date: \nNbthread: 1\n"
	    "Nbproc: 1\nProcess_num: 1\nPid: %d\nUptime: %lldd %lldh%02lldm%02llds\n"
	    "Uptime_sec: %lld\nMaxconn: %d\nCurrConns: %d\nCumConns: %llu\n"
	    "Run_queue: 0\nTasks: %d\nnode: %s\ndescription: %s\n", WAXLB_VERSION,
	    (int)getpid(),
	    (long long)up / 86400, (long long)(up / 3600) % 24,
	    (long long)(up / 60) % 60, (long long)up % 60, (long long)up,
	    sess_rt.cfg->maxconn, sess_rt.curconn,
	    (unsigned long long)adm_cum_conns(), sess_rt.curconn, adm_node(),
	    sess_rt.cfg->desc ? sess_rt.cfg->desc : "");
}

/* HAProxy's "show servers state" (format version 1). */
static void
adm_servers_state(struct sbuf *b, const char *only)
{
	const struct proxy *px;
	const struct server *s;
	char ip[INET6_ADDRSTRLEN + 8];

	u_sbprintf(b, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
	    "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
	    "srv_check_status srv_check_result srv_check_health srv_check_state "
	    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port "
	    "srvrecord\n");
	for (px = sess_rt.cfg->proxies; px; px = px->next) {
		if (!(px->cap & CAP_BE) || (only && strcmp(only, px->name)))
			continue;
		for (s = px->srv; s; s = s->next) {
			const struct srv_state *st = s->st;
			int admin = (st->admin == ADMIN_MAINT ? 0x01 : 0) |
			    (st->admin == ADMIN_DRAIN ? 0x08 : 0) | (s->disabled ? 0x02 : 0);

			net_addr_str(&s->addr, ip, sizeof(ip), 0);
			u_sbprintf(b, "%d %s %d %s %s %d %d %d %d %lld %d %d %d %d %d %d %d "
			    "- %d -\n", px->uuid, px->name, s->puid, s->name, ip,
			    st->up && !st->agent_down ? 2 : 0, admin,
			    st->weight_set ? st->weight : s->weight, s->weight,
			    (long long)(loop_now() - st->last_change) / 1000,
			    s->check ? (st->up ? 6 : 1) : 0, st->up ? 3 : 1, st->health,
			    s->check ? (st->checks_off ? 4 : 6) : 0, s->agent ? 6 : 0,
			    px->uuid_set, s->puid_set, ntohs(((const struct sockaddr_in *)&s->addr)->sin_port));
		}
	}
}

/* ---- Prometheus ---- */

/*
 * HAProxy's exporter as Debian's 2.6 prints it: the process's families,
 * then the frontends', backends' and servers', each in the order of
 * HAProxy's stats fields.  A family exists only for the objects it applies
 * to and has its HELP/TYPE lines before its first sample, so a config
 * without HTTP proxies has no http_* family.  One table: a row is a field
 * with a getter per object type (NULL: not a family of that type).
 */
enum { PO_PROC, PO_FE, PO_BE, PO_SRV, PO_N };

/* What a getter reads: a proxy, a server of it (servers' families), and
 * the label's index in a family with a sample per state or code. */
struct adm_pobj {
	const struct proxy	*px;
	const struct server	*sv;
	int			 k;
};

typedef long long (*adm_pget)(const struct adm_pobj *o);

#define PM_NAN		LLONG_MIN	/* HAProxy's empty field, "NaN" */
#define PF_COUNTER	0x01
#define PF_HTTP		0x02	/* HTTP proxies (servers: of one) only */
#define PF_SEC		0x04	/* milliseconds, shown in seconds */
#define PF_CHK		0x08	/* servers whose check runs (not paused) */
#define PF_CHKD		0x10	/* servers whose check completed once */
#define PF_SRVS		0x20	/* backends that have servers */
#define PF_RAW		0x40	/* the name is whole (waxlb's own) */

/* A family's extra label, the values it takes in order. */
enum { PL_NONE, PL_CODE, PL_UPDOWN, PL_SRVST, PL_CHKST, PL_VERSION };
static const char *const adm_pl_vals[][17] = {
	[PL_NONE] = { "", NULL },
	[PL_CODE] = { "1xx", "2xx", "3xx", "4xx", "5xx", "other", NULL },
	[PL_UPDOWN] = { "DOWN", "UP", NULL },
	[PL_SRVST] = { "DOWN", "UP", "MAINT", "DRAIN", "NOLB", NULL },
	[PL_CHKST] = { "HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK",
	    "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS",
	    "PROCERR", "PROCTOUT", "PROCOK", NULL },
	[PL_VERSION] = { WAXLB_VERSION, NULL },
};
static const char *const adm_pl_names[] = { "", "code", "state", "state",
	"state", "version" };

/* waxlb's check statuses (enum hchk) as indexes of PL_CHKST; -1: none */
static const signed char adm_pm_chk[] = { -1, 1, 2, 3, 4, 10, 8, 9, 12 };

struct adm_pm {
	const char	*name, *help;
	unsigned char	 fl, lab;
	adm_pget	 get[PO_N];
};

/* the query string's choices */
#define PQ_NOMAINT	0x100	/* no-maint: servers in MAINT left out */
#define PQ_STICK	0x200	/* scope=sticktable */
#define PQ_ALL		(PQ_STICK | ((1u << PO_N) - 1))
#define PQ_KNOWN	0x400	/* a valid query */

struct adm_pctx {
	struct sbuf	*b;
	unsigned	 scopes;	/* 1 << PO_*, PQ_* */
	int		 hdr;		/* the family's HELP/TYPE are out */
};

/* ---- its values ---- */

static long long
adm_p_sum(size_t off)
{
	const struct px_state *f;
	long long v = 0;

	for (f = sess_rt.pxs; f; f = f->next)
		v += (long long)*(const uint64_t *)(const void *)((const char *)f + off);
	return v;
}

/* the proxies' and the runtime API's */
static int
adm_p_nlisteners(void)
{
	const struct listener *l;
	const struct adm_listener *a;
	int n = 0;

	for (l = sess_rt.listeners; l; l = l->next)
		n++;
	for (a = adm_rt.listeners; a; a = a->next)
		n++;
	return n;
}

static long long
adm_p_maxfds(const struct adm_pobj *o)
{
	struct rlimit rl;

	(void)o;
	return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long long)rl.rlim_cur : 0;
}

/* HAProxy's promex_srv_status(), as an index of PL_SRVST */
static int
adm_pm_srv_state(const struct server *s)
{
	switch (srv_opstate(s)) {
	case OPS_MAINT:
		return 2;
	case OPS_DOWN:
		return 0;
	}
	return srv_draining(s) ? 3 : 1;
}

static long long
adm_pm_sv_downtime(const struct server *s)
{
	const struct srv_state *st = s->st;

	return st->down_ms + (srv_opstate(s) != OPS_UP ?
	    loop_now() - st->last_change : 0);
}

/* The slowstart's progress in percent while it lasts, else NaN. */
static long long
adm_pm_throttle(const struct server *s)
{
	int64_t since = loop_now() - s->st->up_since;

	if (!s->slowstart || s->st->up_since <= 0 || since >= (int64_t)s->slowstart ||
	    srv_opstate(s) != OPS_UP || srv_draining(s))
		return PM_NAN;
	return since * 100 / s->slowstart;
}


#define PG(name, expr) \
	static long long name(const struct adm_pobj *o) { (void)o; return (expr); }
PG(adm_p_zero, 0)
PG(adm_p_one, 1)
PG(adm_p_nan, PM_NAN)
PG(adm_p_idle, 100)
PG(adm_p_uptime, (loop_now() - adm_rt.start_mono_ms) / 1000)
PG(adm_p_start, adm_rt.start_wall_s)
PG(adm_p_maxconn, sess_rt.cfg->maxconn)
PG(adm_p_curconn, sess_rt.curconn)
PG(adm_p_cumconn, (long long)adm_cum_conns())
PG(adm_p_cumreq, adm_p_sum(offsetof(struct px_state, fe_req)))
PG(adm_p_bytes_out, adm_p_sum(offsetof(struct px_state, fe_bout)))
PG(adm_p_stopping, sess_rt.stopping != 0)
PG(adm_p_jobs, sess_rt.curconn + adm_p_nlisteners())
PG(adm_p_listeners, adm_p_nlisteners())
#define PX(o)	sess_px_state((o)->px)
#define HRSP(a, k)	(long long)(a)[((k) + 1) % 6]	/* [0] is "other" */
PG(adm_p_fe_cur, PX(o)->cur)
PG(adm_p_fe_smax, PX(o)->smax)
PG(adm_p_fe_slim, o->px->maxconn ? o->px->maxconn : sess_rt.cfg->maxconn)
PG(adm_p_fe_tot, (long long)PX(o)->tot)
PG(adm_p_fe_bin, (long long)PX(o)->fe_bin)
PG(adm_p_fe_bout, (long long)PX(o)->fe_bout)
PG(adm_p_fe_status, o->k == 1)
PG(adm_p_fe_hrsp, HRSP(PX(o)->fe_hrsp, o->k))
PG(adm_p_fe_req, (long long)PX(o)->fe_req)
PG(adm_p_fe_icpt, (long long)PX(o)->fe_intercepted)
PG(adm_p_be_qcur, o->px->bst->queue.len)
PG(adm_p_be_qmax, o->px->bst->queue.max)
PG(adm_p_be_cur, adm_be_cur(o->px))
PG(adm_p_be_stot, (long long)PX(o)->be_stot)
PG(adm_p_be_econ, (long long)PX(o)->be_econ)
PG(adm_p_be_eresp, (long long)PX(o)->be_eresp)
PG(adm_p_be_wretr, (long long)PX(o)->be_wretr)
PG(adm_p_be_wredis, (long long)PX(o)->be_wredis)
PG(adm_p_be_status, o->k == (o->px->bst->tot_wact + o->px->bst->tot_wbck > 0 ||
    o->px->srv == NULL))
PG(adm_p_be_weight, (o->px->bst->tot_wact ? o->px->bst->tot_wact :
    o->px->bst->tot_wbck) / BE_WEIGHT_SCALE)
PG(adm_p_be_down, (long long)PX(o)->be_down)
PG(adm_p_be_lastchg, (loop_now() - PX(o)->be_change) / 1000)
PG(adm_p_be_downtime, (PX(o)->be_down_ms + (PX(o)->be_isdown ?
    loop_now() - PX(o)->be_change : 0)) / 1000)
PG(adm_p_be_hrsp, HRSP(PX(o)->be_hrsp, o->k))
PG(adm_p_be_req, (long long)PX(o)->be_req)
PG(adm_p_be_cabrt, (long long)PX(o)->be_cli_abrt)
PG(adm_p_be_sabrt, (long long)PX(o)->be_srv_abrt)
#undef PX
#define ST(o)	((o)->sv->st)
#define CHK_ON(o)	((o)->sv->check && !ST(o)->checks_off)
PG(adm_p_sv_cur, ST(o)->cur)
PG(adm_p_sv_smax, ST(o)->smax)
PG(adm_p_sv_slim, o->sv->maxconn ? o->sv->maxconn : PM_NAN)
PG(adm_p_sv_stot, (long long)ST(o)->stot)
PG(adm_p_sv_bin, (long long)ST(o)->bin)
PG(adm_p_sv_bout, (long long)ST(o)->bout)
PG(adm_p_sv_econ, (long long)ST(o)->econ)
PG(adm_p_sv_eresp, (long long)ST(o)->eresp)
PG(adm_p_sv_wretr, (long long)ST(o)->wretr)
PG(adm_p_sv_wredis, (long long)ST(o)->wredis)
PG(adm_p_sv_status, o->k == adm_pm_srv_state(o->sv))
PG(adm_p_sv_weight, lb_weight(o->sv))
PG(adm_p_sv_chkfail, CHK_ON(o) ? (long long)ST(o)->chkfail : PM_NAN)
PG(adm_p_sv_chkdown, CHK_ON(o) ? (long long)ST(o)->chkdown : PM_NAN)
PG(adm_p_sv_lastchg, (loop_now() - ST(o)->last_change) / 1000)
PG(adm_p_sv_downtime, CHK_ON(o) ? adm_pm_sv_downtime(o->sv) / 1000 : PM_NAN)
PG(adm_p_sv_throttle, adm_pm_throttle(o->sv))
PG(adm_p_sv_lbtot, (long long)ST(o)->lbtot)
PG(adm_p_sv_chkst, o->k == adm_pm_chk[ST(o)->chk_status])
PG(adm_p_sv_chkcode, ST(o)->check_code)
PG(adm_p_sv_chkms, ST(o)->check_ms)
PG(adm_p_sv_hrsp, HRSP(ST(o)->hrsp, o->k))
PG(adm_p_sv_cabrt, (long long)ST(o)->cli_abrt)
PG(adm_p_sv_sabrt, (long long)ST(o)->srv_abrt)
PG(adm_p_sv_lastsess, ST(o)->last_sess ? (loop_now() - ST(o)->last_sess) / 1000 :
    -1)
PG(adm_p_sv_connects, (long long)ST(o)->connects)
PG(adm_p_sv_reuses, (long long)ST(o)->reuses)
PG(adm_p_sv_idle, ST(o)->nidle)
PG(adm_p_sv_head, (long long)ST(o)->chain_head)
PG(adm_p_sv_lag, ST(o)->lag_blocks)
PG(adm_p_sv_uweight, ST(o)->weight_set ? ST(o)->weight : o->sv->weight)
/* A backend's figure from its servers': the sum, or (<least>) the
 * smallest that is not negative, else -1. */
static long long
adm_p_be_fold(const struct adm_pobj *o, adm_pget get, int least)
{
	struct adm_pobj so = *o;
	long long v = least ? -1 : 0, x;

	for (so.sv = o->px->srv; so.sv; so.sv = so.sv->next) {
		x = get(&so);
		if (!least)
			v += x;
		else if (x >= 0 && (v < 0 || x < v))
			v = x;
	}
	return v;
}

/* HAProxy's default fullconn: a tenth of the maxconn of the frontends
 * that route to the backend, at least 1. */
static long long
adm_p_be_slim(const struct adm_pobj *o)
{
	const struct proxy *fe, *be = o->px;
	const struct switch_rule *r;
	long long sum = 0;
	int uses;

	for (fe = sess_rt.cfg->proxies; fe; fe = fe->next) {
		if (!(fe->cap & CAP_FE))
			continue;
		uses = fe == be || fe->default_be == be;
		for (r = fe->rules; r && !uses; r = r->next)
			uses = r->be == be;
		if (uses)
			sum += fe->maxconn ? fe->maxconn : sess_rt.cfg->maxconn;
	}
	return (sum + 9) / 10 > 0 ? (sum + 9) / 10 : 1;
}

/* usable active servers' user weights */
static long long
adm_p_be_uweight(const struct adm_pobj *o)
{
	const struct server *s;
	long long v = 0;

	for (s = o->px->srv; s; s = s->next)
		if (!s->backup && lb_usable(s))
			v += s->st->weight_set ? s->st->weight : s->weight;
	return v;
}

/* servers by state (o->k: PL_SRVST), by check status (PL_CHKST) */
static long long
adm_p_be_agg(const struct adm_pobj *o, int chk)
{
	const struct server *s;
	long long n = 0;

	for (s = o->px->srv; s; s = s->next)
		if (chk ? s->check && adm_pm_chk[s->st->chk_status] == o->k :
		    adm_pm_srv_state(s) == o->k)
			n++;
	return n;
}

static long long
adm_p_be_act(const struct adm_pobj *o)
{
	int a, b;

	srv_count(o->px, &a, &b);
	return a;
}

static long long
adm_p_be_bck(const struct adm_pobj *o)
{
	int a, b;

	srv_count(o->px, &a, &b);
	return b;
}

PG(adm_p_be_smax, adm_p_be_fold(o, adm_p_sv_smax, 0))
PG(adm_p_be_bin, adm_p_be_fold(o, adm_p_sv_bin, 0))
PG(adm_p_be_bout, adm_p_be_fold(o, adm_p_sv_bout, 0))
PG(adm_p_be_lbtot, adm_p_be_fold(o, adm_p_sv_lbtot, 0))
PG(adm_p_be_connects, adm_p_be_fold(o, adm_p_sv_connects, 0))
PG(adm_p_be_reuses, adm_p_be_fold(o, adm_p_sv_reuses, 0))
PG(adm_p_be_lastsess, adm_p_be_fold(o, adm_p_sv_lastsess, 1))
PG(adm_p_be_aggst, adm_p_be_agg(o, 0))
PG(adm_p_be_aggchk, adm_p_be_agg(o, 1))
#undef CHK_ON
#undef ST
#undef HRSP
#undef PG

#define PM_X(n, h, fl, lab, p, f, b, s)	{ n, h, fl, lab, { p, f, b, s } }
#define PM_P(n, h, fl, p)	{ n, h, fl, PL_NONE, { p, NULL, NULL, NULL } }
static const struct adm_pm adm_pms[] = {
	PM_P("nbthread",
	    "Number of started threads (global.nbthread)",
	    0, adm_p_one),
	PM_P("nbproc",
	    "Number of started worker processes (historical, always 1)",
	    0, adm_p_one),
	PM_P("relative_process_id",
	    "Relative worker process number (1)",
	    0, adm_p_one),
	PM_P("uptime_seconds",
	    "How long ago this worker process was started (seconds)",
	    0, adm_p_uptime),
	PM_P("pool_failures_total",
	    "Number of failed pool allocations since this worker was started",
	    PF_COUNTER, adm_p_zero),
	PM_P("max_fds",
	    "Hard limit on the number of per-process file descriptors",
	    0, adm_p_maxfds),
	PM_P("max_sockets",
	    "Hard limit on the number of per-process sockets",
	    0, adm_p_maxfds),
	PM_P("max_connections",
	    "Hard limit on the number of per-process connections (configured "
	    "or imposed by Ulimit-n)",
	    0, adm_p_maxconn),
	PM_P("hard_max_connections",
	    "Hard limit on the number of per-process connections (imposed by "
	    "Memmax_MB or Ulimit-n)",
	    0, adm_p_maxconn),
	PM_P("current_connections",
	    "Current number of connections on this worker process",
	    0, adm_p_curconn),
	PM_P("connections_total",
	    "Total number of connections on this worker process since started",
	    PF_COUNTER, adm_p_cumconn),
	PM_P("requests_total",
	    "Total number of requests on this worker process since started",
	    PF_COUNTER, adm_p_cumreq),
	PM_P("max_ssl_connections",
	    "Hard limit on the number of per-process SSL endpoints "
	    "(front+back), 0=unlimited",
	    0, adm_p_zero),
	PM_P("current_ssl_connections",
	    "Current number of SSL endpoints on this worker process "
	    "(front+back)",
	    0, adm_p_zero),
	PM_P("ssl_connections_total",
	    "Total number of SSL endpoints on this worker process since "
	    "started (front+back)",
	    PF_COUNTER, adm_p_zero),
	PM_P("max_pipes",
	    "Hard limit on the number of pipes for splicing, 0=unlimited",
	    0, adm_p_zero),
	PM_P("pipes_used_total",
	    "Current number of pipes in use in this worker process",
	    PF_COUNTER, adm_p_zero),
	PM_P("pipes_free_total",
	    "Current number of allocated and available pipes in this worker "
	    "process",
	    PF_COUNTER, adm_p_zero),
	PM_P("current_connection_rate",
	    "Number of front connections created on this worker process over "
	    "the last second",
	    0, adm_p_zero),
	PM_P("limit_connection_rate",
	    "Hard limit for ConnRate (global.maxconnrate)",
	    0, adm_p_zero),
	PM_P("max_connection_rate",
	    "Highest ConnRate reached on this worker process since started (in "
	    "connections per second)",
	    0, adm_p_zero),
	PM_P("current_session_rate",
	    "Number of sessions created on this worker process over the last "
	    "second",
	    0, adm_p_zero),
	PM_P("limit_session_rate",
	    "Hard limit for SessRate (global.maxsessrate)",
	    0, adm_p_zero),
	PM_P("max_session_rate",
	    "Highest SessRate reached on this worker process since started (in "
	    "sessions per second)",
	    0, adm_p_zero),
	PM_P("current_ssl_rate",
	    "Number of SSL connections created on this worker process over the "
	    "last second",
	    0, adm_p_zero),
	PM_P("limit_ssl_rate",
	    "Hard limit for SslRate (global.maxsslrate)",
	    0, adm_p_zero),
	PM_P("max_ssl_rate",
	    "Highest SslRate reached on this worker process since started (in "
	    "connections per second)",
	    0, adm_p_zero),
	PM_P("current_frontend_ssl_key_rate",
	    "Number of SSL keys created on frontends in this worker process "
	    "over the last second",
	    0, adm_p_zero),
	PM_P("max_frontend_ssl_key_rate",
	    "Highest SslFrontendKeyRate reached on this worker process since "
	    "started (in SSL keys per second)",
	    0, adm_p_zero),
	PM_P("frontend_ssl_reuse",
	    "Percent of frontend SSL connections which did not require a new "
	    "key",
	    0, adm_p_zero),
	PM_P("current_backend_ssl_key_rate",
	    "Number of SSL keys created on backends in this worker process "
	    "over the last second",
	    0, adm_p_zero),
	PM_P("max_backend_ssl_key_rate",
	    "Highest SslBackendKeyRate reached on this worker process since "
	    "started (in SSL keys per second)",
	    0, adm_p_zero),
	PM_P("ssl_cache_lookups_total",
	    "Total number of SSL session ID lookups in the SSL session cache "
	    "on this worker since started",
	    PF_COUNTER, adm_p_zero),
	PM_P("ssl_cache_misses_total",
	    "Total number of SSL session ID lookups that didn't find a session "
	    "in the SSL session cache on this worker since started",
	    PF_COUNTER, adm_p_zero),
	PM_P("http_comp_bytes_in_total",
	    "Number of bytes submitted to the HTTP compressor in this worker "
	    "process over the last second",
	    PF_COUNTER, adm_p_zero),
	PM_P("http_comp_bytes_out_total",
	    "Number of bytes emitted by the HTTP compressor in this worker "
	    "process over the last second",
	    PF_COUNTER, adm_p_zero),
	PM_P("limit_http_comp",
	    "Limit of CompressBpsOut beyond which HTTP compression is "
	    "automatically disabled",
	    0, adm_p_zero),
	PM_P("current_zlib_memory",
	    "Amount of memory currently used by HTTP compression on the "
	    "current worker process (in bytes)",
	    0, adm_p_nan),
	PM_P("max_zlib_memory",
	    "Limit on the amount of memory used by HTTP compression above "
	    "which it is automatically disabled (in bytes, see "
	    "global.maxzlibmem)",
	    0, adm_p_nan),
	PM_P("current_tasks",
	    "Total number of tasks in the current worker process (active + "
	    "sleeping)",
	    0, adm_p_curconn),
	PM_P("current_run_queue",
	    "Total number of active tasks+tasklets in the current worker "
	    "process",
	    0, adm_p_zero),
	PM_P("idle_time_percent",
	    "Percentage of last second spent waiting in the current worker "
	    "thread",
	    0, adm_p_idle),
	PM_P("stopping",
	    "1 if the worker process is currently stopping, otherwise zero",
	    0, adm_p_stopping),
	PM_P("jobs",
	    "Current number of active jobs on the current worker process "
	    "(frontend connections, master connections, listeners)",
	    0, adm_p_jobs),
	PM_P("unstoppable_jobs",
	    "Current number of unstoppable jobs on the current worker process "
	    "(master connections)",
	    0, adm_p_zero),
	PM_P("listeners",
	    "Current number of active listeners on the current worker process",
	    0, adm_p_listeners),
	PM_P("active_peers",
	    "Current number of verified active peers connections on the "
	    "current worker process",
	    0, adm_p_zero),
	PM_P("connected_peers",
	    "Current number of peers having passed the connection step on the "
	    "current worker process",
	    0, adm_p_zero),
	PM_P("dropped_logs_total",
	    "Total number of dropped logs for current worker process since "
	    "started",
	    PF_COUNTER, adm_p_zero),
	PM_P("busy_polling_enabled",
	    "1 if busy-polling is currently in use on the worker process, "
	    "otherwise zero (config.busy-polling)",
	    0, adm_p_zero),
	PM_P("failed_resolutions",
	    "Total number of failed DNS resolutions in current worker process "
	    "since started",
	    PF_COUNTER, adm_p_zero),
	PM_P("bytes_out_total",
	    "Total number of bytes emitted by current worker process since "
	    "started",
	    PF_COUNTER, adm_p_bytes_out),
	PM_P("spliced_bytes_out_total",
	    "Total number of bytes emitted by current worker process through a "
	    "kernel pipe since started",
	    PF_COUNTER, adm_p_zero),
	PM_P("bytes_out_rate",
	    "Number of bytes emitted by current worker process over the last "
	    "second",
	    0, adm_p_zero),
	PM_P("recv_logs_total",
	    "Total number of log messages received by log-forwarding listeners "
	    "on this worker process since started",
	    PF_COUNTER, adm_p_zero),
	{ "build_info",
	    "Build info",
	    0, PL_VERSION, { adm_p_one } },
	PM_P("max_memory_bytes",
	    "Worker process's hard limit on memory usage in byes (-m on "
	    "command line)",
	    0, adm_p_zero),
	PM_P("pool_allocated_bytes",
	    "Amount of memory allocated in pools (in bytes)",
	    0, adm_p_zero),
	PM_P("pool_used_bytes",
	    "Amount of pool memory currently used (in bytes)",
	    0, adm_p_zero),
	PM_P("start_time_seconds",
	    "Start time in seconds",
	    0, adm_p_start),
	PM_X("current_queue",
	    "Number of current queued connections",
	    0, PL_NONE, NULL, NULL, adm_p_be_qcur, adm_p_zero),
	PM_X("max_queue",
	    "Highest value of queued connections encountered since process "
	    "started",
	    0, PL_NONE, NULL, NULL, adm_p_be_qmax, adm_p_zero),
	PM_X("current_sessions",
	    "Number of current sessions on the frontend, backend or server",
	    0, PL_NONE, NULL, adm_p_fe_cur, adm_p_be_cur, adm_p_sv_cur),
	PM_X("max_sessions",
	    "Highest value of current sessions encountered since process "
	    "started",
	    0, PL_NONE, NULL, adm_p_fe_smax, adm_p_be_smax, adm_p_sv_smax),
	PM_X("limit_sessions",
	    "Frontend/listener/server's maxconn, backend's fullconn",
	    0, PL_NONE, NULL, adm_p_fe_slim, adm_p_be_slim, adm_p_sv_slim),
	PM_X("sessions_total",
	    "Total number of sessions since process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_fe_tot, adm_p_be_stot, adm_p_sv_stot),
	PM_X("bytes_in_total",
	    "Total number of request bytes since process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_fe_bin, adm_p_be_bin, adm_p_sv_bin),
	PM_X("bytes_out_total",
	    "Total number of response bytes since process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_fe_bout, adm_p_be_bout, adm_p_sv_bout),
	PM_X("requests_denied_total",
	    "Total number of denied requests since process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_zero, adm_p_zero, NULL),
	PM_X("responses_denied_total",
	    "Total number of denied responses since process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_zero, adm_p_zero, adm_p_zero),
	PM_X("request_errors_total",
	    "Total number of invalid requests since process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_zero, NULL, NULL),
	PM_X("connection_errors_total",
	    "Total number of failed connections to server since the worker "
	    "process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_econ, adm_p_sv_econ),
	PM_X("response_errors_total",
	    "Total number of invalid responses since the worker process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_eresp, adm_p_sv_eresp),
	PM_X("retry_warnings_total",
	    "Total number of server connection retries since the worker "
	    "process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_wretr, adm_p_sv_wretr),
	PM_X("redispatch_warnings_total",
	    "Total number of server redispatches due to connection failures "
	    "since the worker process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_wredis, adm_p_sv_wredis),
	PM_X("status",
	    "Current status of the service, per state label value.",
	    0, PL_UPDOWN, NULL, adm_p_fe_status, adm_p_be_status, NULL),
	PM_X("status",
	    "Current status of the service, per state label value.",
	    0, PL_SRVST, NULL, NULL, NULL, adm_p_sv_status),
	PM_X("weight",
	    "Server's effective weight, or sum of active servers' effective "
	    "weights for a backend",
	    0, PL_NONE, NULL, NULL, adm_p_be_weight, adm_p_sv_weight),
	PM_X("active_servers",
	    "Total number of active UP servers with a non-zero weight",
	    0, PL_NONE, NULL, NULL, adm_p_be_act, NULL),
	PM_X("backup_servers",
	    "Total number of backup UP servers with a non-zero weight",
	    0, PL_NONE, NULL, NULL, adm_p_be_bck, NULL),
	PM_X("check_failures_total",
	    "Total number of failed individual health checks per "
	    "server/backend, since the worker process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, NULL, adm_p_sv_chkfail),
	PM_X("check_up_down_total",
	    "Total number of failed checks causing UP to DOWN server "
	    "transitions, per server/backend, since the worker process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_down, adm_p_sv_chkdown),
	PM_X("check_last_change_seconds",
	    "How long ago the last server state changed, in seconds",
	    0, PL_NONE, NULL, NULL, adm_p_be_lastchg, adm_p_sv_lastchg),
	PM_X("downtime_seconds_total",
	    "Total time spent in DOWN state, for server or backend",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_downtime, adm_p_sv_downtime),
	PM_X("queue_limit",
	    "Limit on the number of connections in queue, for servers only "
	    "(maxqueue argument)",
	    0, PL_NONE, NULL, NULL, NULL, adm_p_nan),
	PM_X("current_throttle",
	    "Throttling ratio applied to a server's maxconn and weight during "
	    "the slowstart period (0 to 100%)",
	    0, PL_NONE, NULL, NULL, NULL, adm_p_sv_throttle),
	PM_X("loadbalanced_total",
	    "Total number of requests routed by load balancing since the "
	    "worker process started (ignores queue pop and stickiness)",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_lbtot, adm_p_sv_lbtot),
	PM_X("limit_session_rate",
	    "Limit on the number of sessions accepted in a second (frontend "
	    "only, 'rate-limit sessions' setting)",
	    0, PL_NONE, NULL, adm_p_zero, NULL, NULL),
	PM_X("max_session_rate",
	    "Highest value of sessions per second observed since the worker "
	    "process started",
	    0, PL_NONE, NULL, adm_p_zero, adm_p_zero, adm_p_zero),
	PM_X("check_status",
	    "Status of last health check, per state label value.",
	    PF_CHK, PL_CHKST, NULL, NULL, NULL, adm_p_sv_chkst),
	PM_X("check_code",
	    "layer5-7 code, if available of the last health check.",
	    PF_CHK, PL_NONE, NULL, NULL, NULL, adm_p_sv_chkcode),
	PM_X("check_duration_seconds",
	    "Total duration of the latest server health check, in seconds.",
	    PF_SEC | PF_CHKD, PL_NONE, NULL, NULL, NULL, adm_p_sv_chkms),
	PM_X("http_responses_total",
	    "Total number of HTTP responses with status 100-199 returned by "
	    "this object since the worker process started",
	    PF_COUNTER | PF_HTTP, PL_CODE, NULL, adm_p_fe_hrsp, adm_p_be_hrsp,
	    adm_p_sv_hrsp),
	PM_X("http_requests_rate_max",
	    "Highest value of http requests observed since the worker process "
	    "started",
	    PF_HTTP, PL_NONE, NULL, adm_p_zero, NULL, NULL),
	PM_X("http_requests_total",
	    "Total number of HTTP requests processed by this object since the "
	    "worker process started",
	    PF_COUNTER | PF_HTTP, PL_NONE, NULL, adm_p_fe_req, adm_p_be_req, NULL),
	PM_X("client_aborts_total",
	    "Total number of requests or connections aborted by the client "
	    "since the worker process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_cabrt, adm_p_sv_cabrt),
	PM_X("server_aborts_total",
	    "Total number of requests or connections aborted by the server "
	    "since the worker process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_sabrt, adm_p_sv_sabrt),
	PM_X("http_comp_bytes_in_total",
	    "Total number of bytes submitted to the HTTP compressor for this "
	    "object since the worker process started",
	    PF_COUNTER | PF_HTTP, PL_NONE, NULL, adm_p_zero, adm_p_zero, NULL),
	PM_X("http_comp_bytes_out_total",
	    "Total number of bytes emitted by the HTTP compressor for this "
	    "object since the worker process started",
	    PF_COUNTER | PF_HTTP, PL_NONE, NULL, adm_p_zero, adm_p_zero, NULL),
	PM_X("http_comp_bytes_bypassed_total",
	    "Total number of bytes that bypassed HTTP compression for this "
	    "object since the worker process started (CPU/memory/bandwidth "
	    "limitation)",
	    PF_COUNTER | PF_HTTP, PL_NONE, NULL, adm_p_zero, adm_p_zero, NULL),
	PM_X("http_comp_responses_total",
	    "Total number of HTTP responses that were compressed for this "
	    "object since the worker process started",
	    PF_COUNTER | PF_HTTP, PL_NONE, NULL, adm_p_zero, adm_p_zero, NULL),
	PM_X("connections_rate_max",
	    "Highest value of connections per second observed since the worker "
	    "process started",
	    0, PL_NONE, NULL, adm_p_zero, NULL, NULL),
	PM_X("connections_total",
	    "Total number of new connections accepted on this frontend since "
	    "the worker process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_fe_tot, NULL, NULL),
	PM_X("intercepted_requests_total",
	    "Total number of HTTP requests intercepted on the frontend "
	    "(redirects/stats/services) since the worker process started",
	    PF_COUNTER | PF_HTTP, PL_NONE, NULL, adm_p_fe_icpt, NULL, NULL),
	PM_X("denied_connections_total",
	    "Total number of incoming connections blocked on a "
	    "listener/frontend by a tcp-request connection rule since the "
	    "worker process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_zero, NULL, NULL),
	PM_X("denied_sessions_total",
	    "Total number of incoming sessions blocked on a listener/frontend "
	    "by a tcp-request connection rule since the worker process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_zero, NULL, NULL),
	PM_X("last_session_seconds",
	    "How long ago some traffic was seen on this object on this worker "
	    "process, in seconds",
	    0, PL_NONE, NULL, NULL, adm_p_be_lastsess, adm_p_sv_lastsess),
	PM_X("queue_time_average_seconds",
	    "Avg. queue time for last 1024 successful connections.",
	    PF_SEC, PL_NONE, NULL, NULL, adm_p_zero, adm_p_zero),
	PM_X("connect_time_average_seconds",
	    "Avg. connect time for last 1024 successful connections.",
	    PF_SEC, PL_NONE, NULL, NULL, adm_p_zero, adm_p_zero),
	PM_X("response_time_average_seconds",
	    "Avg. response time for last 1024 successful connections.",
	    PF_SEC, PL_NONE, NULL, NULL, adm_p_zero, adm_p_zero),
	PM_X("total_time_average_seconds",
	    "Avg. total time for last 1024 successful connections.",
	    PF_SEC, PL_NONE, NULL, NULL, adm_p_zero, adm_p_zero),
	PM_X("failed_header_rewriting_total",
	    "Total number of failed HTTP header rewrites since the worker "
	    "process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_zero, adm_p_zero, adm_p_zero),
	PM_X("connection_attempts_total",
	    "Total number of outgoing connection attempts on this "
	    "backend/server since the worker process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_connects, adm_p_sv_connects),
	PM_X("connection_reuses_total",
	    "Total number of reused connection on this backend/server since "
	    "the worker process started",
	    PF_COUNTER, PL_NONE, NULL, NULL, adm_p_be_reuses, adm_p_sv_reuses),
	PM_X("http_cache_lookups_total",
	    "Total number of HTTP requests looked up in the cache on this "
	    "frontend/backend since the worker process started",
	    PF_COUNTER | PF_HTTP, PL_NONE, NULL, adm_p_zero, adm_p_zero, NULL),
	PM_X("http_cache_hits_total",
	    "Total number of HTTP requests not found in the cache on this "
	    "frontend/backend since the worker process started",
	    PF_COUNTER | PF_HTTP, PL_NONE, NULL, adm_p_zero, adm_p_zero, NULL),
	PM_X("idle_connections_current",
	    "Current number of idle connections available for reuse on this "
	    "server",
	    0, PL_NONE, NULL, NULL, NULL, adm_p_sv_idle),
	PM_X("idle_connections_limit",
	    "Limit on the number of available idle connections on this server "
	    "(server 'pool_max_conn' directive)",
	    0, PL_NONE, NULL, NULL, NULL, adm_p_nan),
	PM_X("max_queue_time_seconds",
	    "Maximum observed time spent in the queue",
	    PF_SEC, PL_NONE, NULL, NULL, adm_p_zero, adm_p_zero),
	PM_X("max_connect_time_seconds",
	    "Maximum observed time spent waiting for a connection to complete",
	    PF_SEC, PL_NONE, NULL, NULL, adm_p_zero, adm_p_zero),
	PM_X("max_response_time_seconds",
	    "Maximum observed time spent waiting for a server response",
	    PF_SEC, PL_NONE, NULL, NULL, adm_p_zero, adm_p_zero),
	PM_X("max_total_time_seconds",
	    "Maximum observed total request+response time "
	    "(request+queue+connect+response+processing)",
	    PF_SEC, PL_NONE, NULL, NULL, adm_p_zero, adm_p_zero),
	PM_X("internal_errors_total",
	    "Total number of internal errors since process started",
	    PF_COUNTER, PL_NONE, NULL, adm_p_zero, adm_p_zero, adm_p_zero),
	PM_X("unsafe_idle_connections_current",
	    "Current number of unsafe idle connections",
	    0, PL_NONE, NULL, NULL, NULL, adm_p_zero),
	PM_X("safe_idle_connections_current",
	    "Current number of safe idle connections",
	    0, PL_NONE, NULL, NULL, NULL, adm_p_sv_idle),
	PM_X("used_connections_current",
	    "Current number of connections in use",
	    0, PL_NONE, NULL, NULL, NULL, adm_p_sv_cur),
	PM_X("need_connections_current",
	    "Estimated needed number of connections",
	    0, PL_NONE, NULL, NULL, NULL, adm_p_zero),
	PM_X("uweight",
	    "Server's user weight, or sum of active servers' user weights for "
	    "a backend",
	    0, PL_NONE, NULL, NULL, adm_p_be_uweight, adm_p_sv_uweight),
	PM_X("agg_server_status",
	    "Backend's aggregated gauge of servers' status",
	    PF_SRVS, PL_SRVST, NULL, NULL, adm_p_be_aggst, NULL),
	PM_X("agg_server_check_status",
	    "Backend's aggregated gauge of servers' state check status",
	    PF_SRVS, PL_SRVST, NULL, NULL, adm_p_be_aggst, NULL),
	PM_X("agg_check_status",
	    "Backend's aggregated gauge of servers' state check status",
	    PF_SRVS, PL_CHKST, NULL, NULL, adm_p_be_aggchk, NULL),

	/* waxlb's own: the chain checks' view of each node */
	PM_X("waxlb_server_chain_head",
	    "Head block number the last chain check read (0: none).",
	    PF_RAW, PL_NONE, NULL, NULL, NULL, adm_p_sv_head),
	PM_X("waxlb_server_chain_lag_blocks",
	    "Blocks behind the reference head (SHIP) or the clock (nodeos).",
	    PF_RAW, PL_NONE, NULL, NULL, NULL, adm_p_sv_lag),
};
#undef PM_X
#undef PM_P

/* ---- the page ---- */

static void
adm_pm_sample(struct adm_pctx *c, const struct adm_pm *m, int t,
    const struct adm_pobj *o)
{
	static const char *const pfx[] = { "haproxy_process_", "haproxy_frontend_",
	    "haproxy_backend_", "haproxy_server_" };
	static const char *const types[] = { "gauge", "counter" };
	const char *p = m->fl & PF_RAW ? "" : pfx[t], *sep = "{";
	long long v = m->get[t](o);

	if (!c->hdr)
		u_sbprintf(c->b, "# HELP %s%s %s\n# TYPE %s%s %s\n", p, m->name,
		    m->help, p, m->name, types[m->fl & PF_COUNTER]);
	c->hdr = 1;
	u_sbprintf(c->b, "%s%s", p, m->name);
	if (o->px) {
		u_sbprintf(c->b, "{proxy=\"%s\"", o->px->name);
		sep = ",";
	}
	if (o->sv)
		u_sbprintf(c->b, ",server=\"%s\"", o->sv->name);
	if (m->lab != PL_NONE) {
		u_sbprintf(c->b, "%s%s=\"%s\"", sep, adm_pl_names[m->lab],
		    adm_pl_vals[m->lab][o->k]);
		sep = ",";
	}
	u_sbprintf(c->b, "%s ", *sep == ',' ? "}" : "");
	if (v == PM_NAN)
		u_sbprintf(c->b, "NaN\n");
	else if (m->fl & PF_SEC)
		u_sbprintf(c->b, "%f\n", v / 1000.0);
	else
		u_sbprintf(c->b, "%lld\n", v);
}

/* Every sample of <m> for one object: one per state, or code <k>'s. */
static void
adm_pm_obj(struct adm_pctx *c, const struct adm_pm *m, int t,
    struct adm_pobj *o, int k)
{
	if (m->lab == PL_CODE) {
		o->k = k;
		adm_pm_sample(c, m, t, o);
		return;
	}
	for (o->k = 0; adm_pl_vals[m->lab][o->k]; o->k++)
		adm_pm_sample(c, m, t, o);
}

static int
adm_pm_px_ok(const struct adm_pm *m, int t, const struct proxy *px)
{
	if (!(px->cap & (t == PO_FE ? CAP_FE : CAP_BE)))
		return 0;
	if ((m->fl & PF_HTTP) && px->mode != MODE_HTTP)
		return 0;
	return !(m->fl & PF_SRVS) || px->srv != NULL;
}

static int
adm_pm_sv_ok(const struct adm_pctx *c, const struct adm_pm *m,
    const struct server *s)
{
	int maint = srv_opstate(s) == OPS_MAINT;

	if ((c->scopes & PQ_NOMAINT) && maint)
		return 0;
	if ((m->fl & PF_CHK) && (!s->check || s->st->checks_off || maint))
		return 0;
	return !(m->fl & PF_CHKD) || (s->check && s->st->chk_status != HCHK_INI);
}

/* A family of object type <t>: HAProxy's order, which for the per-code
 * families is code by code, all objects each time. */
static void
adm_pm_family(struct adm_pctx *c, const struct adm_pm *m, int t)
{
	struct adm_pobj o = { NULL, NULL, 0 };
	const struct proxy *px;
	int k, nk = m->lab == PL_CODE ? 6 : 1;

	c->hdr = 0;
	if (t == PO_PROC) {
		adm_pm_obj(c, m, t, &o, 0);
		return;
	}
	for (k = 0; k < nk; k++)
		for (px = sess_rt.cfg->proxies; px; px = px->next) {
			if (!adm_pm_px_ok(m, t, px))
				continue;
			o.px = px;
			if (t != PO_SRV) {
				adm_pm_obj(c, m, t, &o, k);
				continue;
			}
			for (o.sv = px->srv; o.sv; o.sv = o.sv->next)
				if (adm_pm_sv_ok(c, m, o.sv))
					adm_pm_obj(c, m, t, &o, k);
			o.sv = NULL;
		}
}

/* One sample of haproxy_sticktable_size (k 0) or _used (1) per table;
 * HAProxy lists the tables newest first. */
static void
adm_pm_sticktable(struct adm_pctx *c, const struct proxy *px, int k)
{
	static const char *const what[][2] = {
		{ "size", "Stick table size." },
		{ "used", "Number of entries used in this stick table." },
	};

	if (px == NULL)
		return;
	adm_pm_sticktable(c, px->next, k);
	if (px->stick_size <= 0)
		return;
	if (!c->hdr)
		u_sbprintf(c->b, "# HELP haproxy_sticktable_%s %s\n# TYPE "
		    "haproxy_sticktable_%s gauge\n", what[k][0], what[k][1], what[k][0]);
	c->hdr = 1;
	/* nothing stores into them: track-sc and the sc_* fetches are refused */
	u_sbprintf(c->b, "haproxy_sticktable_%s{name=\"%s\",type=\"%s\"} %lld\n",
	    what[k][0], px->name, px->stick_type, k ? 0LL : px->stick_size);
}

static void
adm_prometheus(struct sbuf *b, unsigned scopes)
{
	struct adm_pctx c = { b, scopes, 0 };
	const struct adm_pm *m;
	int t;

	for (t = 0; t < PO_N; t++)
		for (m = adm_pms; (scopes & (1u << t)) && m < adm_pms + NELEM(adm_pms); m++)
			if (m->get[t])
				adm_pm_family(&c, m, t);
	for (t = 0; (scopes & PQ_STICK) && t < 2; t++) {
		c.hdr = 0;
		adm_pm_sticktable(&c, sess_rt.cfg->proxies, t);
	}
}

/* One parameter of the query string, %-decoded into <out>; -1 when it
 * cannot be (a bad escape, too long). */
static int
adm_pm_decode(const char *p, size_t n, char *out, size_t sz)
{
	size_t i, o = 0;
	int h, l;

	for (i = 0; i < n; i++, o++) {
		if (o + 1 >= sz)
			return -1;
		out[o] = p[i] == '+' ? ' ' : p[i];
		if (p[i] != '%')
			continue;
		if (i + 2 >= n || (h = u_hexval(p[i + 1])) < 0 ||
		    (l = u_hexval(p[i + 2])) < 0)
			return -1;
		out[o] = (char)(h * 16 + l);
		i += 2;
	}
	out[o] = 0;
	return 0;
}

/* A scope's bits (with PQ_KNOWN), or 0 for an unknown one. */
static unsigned
adm_pm_scope(const char *v)
{
	static const struct { const char *name; unsigned bits; } scopes[] = {
		{ "", 0 }, { "*", PQ_ALL }, { "global", 1u << PO_PROC },
		{ "frontend", 1u << PO_FE }, { "backend", 1u << PO_BE },
		{ "server", 1u << PO_SRV }, { "listener", 0 },
		{ "sticktable", PQ_STICK },
	};
	size_t i;

	for (i = 0; i < NELEM(scopes); i++)
		if (strcmp(v, scopes[i].name) == 0)
			return scopes[i].bits | PQ_KNOWN;
	return 0;
}

/* HAProxy's promex_parse_uri(): "scope=" (repeated; "" none, "*" all) and
 * "no-maint".  Returns the choices, or 0 for a 400. */
static unsigned
adm_pm_query(const struct http_msg *m)
{
	const char *q = memchr(m->uri, '?', m->uri_len), *uend = m->uri + m->uri_len;
	const char *end, *eq, *amp;
	unsigned sc = 0, bits;
	int scoped = 0;
	char key[64], val[64];

	q = q ? q + 1 : uend;
	if ((end = memchr(q, '#', (size_t)(uend - q))) == NULL)
		end = uend;
	for (; q < end; q = amp + 1) {
		if ((amp = memchr(q, '&', (size_t)(end - q))) == NULL)
			amp = end;
		eq = memchr(q, '=', (size_t)(amp - q));
		if (eq && memchr(eq + 1, '=', (size_t)(amp - eq - 1)))
			return 0;
		if (adm_pm_decode(q, (size_t)((eq ? eq : amp) - q), key, sizeof(key)) < 0)
			continue;
		if (strcmp(key, "no-maint") == 0)
			sc |= PQ_NOMAINT;
		if (strcmp(key, "scope") != 0)
			continue;
		scoped = 1;
		if (!eq || adm_pm_decode(eq + 1, (size_t)(amp - eq - 1), val,
		    sizeof(val)) < 0 || !(bits = adm_pm_scope(val)))
			return 0;
		sc = *val ? sc | bits : sc & ~PQ_ALL;
	}
	return (scoped ? sc : sc | PQ_ALL) | PQ_KNOWN;
}

/* ---- the HTML status page ---- */

static void
adm_html_escape(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			u_sbprintf(b, "&lt;");
		else if (*s == '>')
			u_sbprintf(b, "&gt;");
		else if (*s == '&')
			u_sbprintf(b, "&amp;");
		else if (*s == '"')
			u_sbprintf(b, "&quot;");
		else
			u_sbprintf(b, "%c", *s);
	}
}

/* HAProxy's messages for the ";st=" code of the page after a form */
static const char *const adm_st_codes[][2] = {
	{ "DONE", "Action processed successfully." },
	{ "NONE", "Nothing has changed." },
	{ "PART", "Action partially processed." },
	{ "ERRP", "Action not processed because of invalid parameters." },
	{ "EXCD", "Action not processed : the buffer couldn't store all the data." },
	{ "DENY", "Action denied." },
	{ "IVAL", "Invalid requests (unsupported method or chunked encoded request)." },
	{ "UNKN", "Unexpected result." },
};

/* The message of the ";st=XXXX" the URI carries, or NULL. */
static const char *
adm_st_message(const struct http_msg *m)
{
	const char *p = memmem(m->uri, m->uri_len, ";st=", 4);
	size_t k;

	if (p == NULL || (size_t)(m->uri + m->uri_len - p) < 8)
		return NULL;
	for (k = 0; k + 1 < NELEM(adm_st_codes); k++)
		if (memcmp(p + 4, adm_st_codes[k][0], 4) == 0)
			break;
	return adm_st_codes[k][1];
}

/* The title line: version unless hide-version, node and description
 * with show-node / show-desc (their own text, else the global ones). */
static void
adm_html_title(struct sbuf *b, const struct proxy *fe)
{
	const char *desc = fe->stats_desc ? fe->stats_desc : sess_rt.cfg->desc;

	u_sbprintf(b, "<h1>waxlb%s%s</h1>\n<p>pid %d", fe->stats_flags & STF_HIDEVER ?
	    "" : " ", fe->stats_flags & STF_HIDEVER ? "" : WAXLB_VERSION, (int)getpid());
	if (fe->stats_flags & STF_SHNODE) {
		u_sbprintf(b, " on <span class=\"node\">");
		adm_html_escape(b, fe->stats_node ? fe->stats_node : adm_node());
		u_sbprintf(b, "</span>");
	}
	if ((fe->stats_flags & STF_SHDESC) && desc) {
		u_sbprintf(b, ": <span class=\"desc\">");
		adm_html_escape(b, desc);
		u_sbprintf(b, "</span>");
	}
}

static void
adm_html_head(struct sbuf *b, const struct proxy *fe, const struct http_msg *m)
{
	int64_t up = (loop_now() - adm_rt.start_mono_ms) / 1000;
	const char *st = adm_st_message(m);

	u_sbprintf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>waxlb status</title>\n");
	if (fe->stats_refresh && st == NULL)	/* no repost after a form */
		u_sbprintf(b, "<meta http-equiv=\"refresh\" content=\"%u\">\n",
		    (fe->stats_refresh + 999) / 1000);
	u_sbprintf(b, "<style>body{font-family:sans-serif;font-size:13px;margin:1em}"
	    "table{border-collapse:collapse;margin-bottom:1.5em}"
	    "th,td{border:1px solid #999;padding:3px 7px;text-align:right}"
	    "th{background:#20355f;color:#fff}td.n{text-align:left}"
	    "tr.up td{background:#c8f0c8}tr.down td{background:#f4b8b8}"
	    "tr.maint td{background:#c8c8f0}tr.drain td{background:#f0e0a0}"
	    "tr.nocheck td{background:#e8e8e8}tr.be td{font-weight:bold;"
	    "background:#dfe6f3}h2{margin-bottom:.3em}</style></head><body>\n");
	adm_html_title(b, fe);
	u_sbprintf(b, ", up %lldd %lldh%02lldm%02llds, %d/%d connections</p>\n",
	    (long long)up / 86400, (long long)(up / 3600) % 24,
	    (long long)(up / 60) % 60, (long long)up % 60, sess_rt.curconn,
	    sess_rt.cfg->maxconn);
	if (st)
		u_sbprintf(b, "<p class=\"st\"><b>%s</b></p>\n", st);
}

static const char *
adm_html_class(const char *stat)
{
	static const char *const cls[][2] = {
		{ "UP", "up" }, { "DOWN", "down" }, { "MAINT", "maint" },
		{ "DRAIN", "drain" },
	};
	size_t i;

	for (i = 0; i < NELEM(cls); i++)
		if (strcmp(stat, cls[i][0]) == 0)
			return cls[i][1];
	return "nocheck";
}

static void
adm_html_server(struct sbuf *b, const struct server *s, int admin)
{
	const struct srv_state *st = s->st;
	const char *stat = srv_status_str(s);
	int64_t since = (loop_now() - st->last_change) / 1000;

	u_sbprintf(b, "<tr class=\"%s\" data-server=\"%s\">", adm_html_class(stat),
	    s->name);
	if (admin) {
		u_sbprintf(b, "<td><input type=\"checkbox\" name=\"s\" value=\"");
		adm_html_escape(b, s->name);
		u_sbprintf(b, "\"></td>");
	}
	u_sbprintf(b, "<td class=\"n\">");
	adm_html_escape(b, s->name);
	u_sbprintf(b, "%s</td><td class=\"status\">%s</td><td>%d</td>"
	    "<td>%d</td><td>%d</td><td>%llu</td><td>-</td><td>%llu</td>"
	    "<td>%llu</td><td class=\"n\">", s->backup ? " (backup)" : "",
	    stat, lb_weight(s), st->cur, st->smax,
	    (unsigned long long)st->stot, (unsigned long long)st->bin,
	    (unsigned long long)st->bout);
	adm_html_escape(b, s->check ? st->reason : "no check");
	if (s->agent && st->agent_desc[0]) {
		u_sbprintf(b, " (agent: ");
		adm_html_escape(b, st->agent_desc);
		u_sbprintf(b, ")");
	}
	u_sbprintf(b, "</td><td>%d</td>", st->check_ms);
	if (st->chain_seen_ms)
		u_sbprintf(b, "<td class=\"head\">%llu</td><td class=\"lag\">%lld</td>",
		    (unsigned long long)st->chain_head, (long long)st->lag_blocks);
	else
		u_sbprintf(b, "<td>-</td><td>-</td>");
	u_sbprintf(b, "<td>%lldh%02lldm%02llds</td></tr>\n", (long long)since / 3600,
	    (long long)(since / 60) % 60, (long long)since % 60);
}

/* show-legends: what HAProxy's tooltip on a proxy's name tells */
static void
adm_html_legend(struct sbuf *b, const struct proxy *px)
{
	u_sbprintf(b, "<p class=\"legend\">cap: %s, mode: %s, id: %d</p>\n",
	    px->cap == (CAP_FE | CAP_BE) ? "FE BE" : px->cap & CAP_FE ? "FE" : "BE",
	    cfg_mode_name(px->mode), px->uuid);
}

/* With "stats admin": a form per backend, as HAProxy's (a checkbox "s" per
 * server, "action", "b" the backend's "#id"). */
static void
adm_html_form(struct sbuf *b, const struct proxy *fe, const struct proxy *px,
    int end)
{
	static const char *const acts[][2] = {
		{ "ready", "Set state to READY" }, { "drain", "Set state to DRAIN" },
		{ "maint", "Set state to MAINT" }, { "dhlth", "Health: disable checks" },
		{ "ehlth", "Health: enable checks" },
		{ "shutdown", "Kill Sessions" },
	};
	size_t k;

	if (!end) {
		u_sbprintf(b, "<form method=\"post\" action=\"");
		adm_html_escape(b, fe->stats_uri);
		u_sbprintf(b, "\">\n");
		return;
	}
	u_sbprintf(b, "Choose the action to perform on the checked servers : "
	    "<select name=action><option value=\"\"></option>");
	for (k = 0; k < NELEM(acts); k++)
		u_sbprintf(b, "<option value=\"%s\">%s</option>", acts[k][0], acts[k][1]);
	u_sbprintf(b, "</select><input type=\"hidden\" name=\"b\" value=\"#%d\">"
	    "&nbsp;<input type=\"submit\" value=\"Apply\"></form>\n", px->uuid);
}

static void
adm_html_backend(struct sbuf *b, const struct proxy *fe, const struct proxy *px,
    int admin)
{
	const struct server *s;
	int act, bck;

	srv_count(px, &act, &bck);
	u_sbprintf(b, "<h2 id=\"%s\">", px->name);
	adm_html_escape(b, px->name);
	if (px->desc) {
		u_sbprintf(b, " <span class=\"desc\">");
		adm_html_escape(b, px->desc);
		u_sbprintf(b, "</span>");
	}
	u_sbprintf(b, "</h2>\n");
	if (fe->stats_flags & STF_LEGENDS)
		adm_html_legend(b, px);
	if (admin)
		adm_html_form(b, fe, px, 0);
	u_sbprintf(b, "<table class=\"backend\" data-backend=\"%s\">"
	    "<tr>%s<th>server</th><th>status</th><th>weight</th>"
	    "<th>cur</th><th>max</th><th>total</th><th>queue</th>"
	    "<th>bytes in</th><th>bytes out</th><th>last check</th>"
	    "<th>check ms</th><th>chain head</th><th>lag (blocks)</th>"
	    "<th>since change</th></tr>\n", px->name, admin ? "<th></th>" : "");
	for (s = px->srv; s; s = s->next)
		adm_html_server(b, s, admin);
	u_sbprintf(b, "<tr class=\"be\">%s<td class=\"n\">backend</td><td>%s</td>"
	    "<td>%d</td><td colspan=\"3\">%s</td><td>%d</td>"
	    "<td colspan=\"7\" class=\"n\">%d active, %d backup up</td></tr>\n"
	    "</table>\n", admin ? "<td></td>" : "", act + bck ? "UP" : "DOWN",
	    adm_be_weight(px), px->lb->name, px->bst->queue.len, act, bck);
	if (admin)
		adm_html_form(b, fe, px, 1);
}

static void
adm_html(struct sbuf *b, const struct proxy *fe, const struct http_msg *m,
    int admin)
{
	const struct proxy *px;

	adm_html_head(b, fe, m);
	for (px = sess_rt.cfg->proxies; px; px = px->next)
		if ((px->cap & CAP_BE) && adm_in_scope(fe, px))
			adm_html_backend(b, fe, px, admin);
	u_sbprintf(b, "<p><a href=\"%s;csv\">CSV</a></p></body></html>\n",
	    fe->stats_uri);
}

/* ---- the status page and the metrics over HTTP ---- */

static int
adm_auth_ok(const struct proxy *fe, const struct http_msg *m)
{
	char cred[256];
	int i = h1_find_hdr(m, "authorization", 0), k;

	if (fe->nstats_auth == 0)
		return 1;
	if (i < 0 || m->hdr[i].value_len < 7 ||
	    strncasecmp(m->hdr[i].value, "Basic ", 6) != 0 ||
	    u_b64_decode(m->hdr[i].value + 6, m->hdr[i].value_len - 6, cred,
	    sizeof(cred)) < 0)
		return 0;
	for (k = 0; k < fe->nstats_auth; k++)
		if (strcmp(cred, fe->stats_auth[k]) == 0)
			return 1;
	return 0;
}

/* An admin change to a server, applied and logged. */
static void
adm_apply_from(struct server *s, int was, const char *what, const char *from)
{
	chk_srv_changed(s, was, what, 0);
	lb_update(s);
	srv_queues_kick();
	log_notice("Server %s/%s: %s (%s)", s->be->name, s->name, what, from);
}

/* %XX and '+' decoded in place, as HAProxy's url_decode(s, 1); -1 on a
 * bad escape. */
static int
adm_url_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '+')
			*o++ = ' ';
		else if (*s != '%')
			*o++ = *s;
		else if (isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char h[3] = { s[1], s[2], 0 };

			*o++ = (char)strtol(h, NULL, 16);
			s += 2;
		} else
			return -1;
	}
	*o = 0;
	return 0;
}

/* One page action on one server of the running config: 1 when it counts
 * as done, 0 when it does not apply, as HAProxy counts them. */
static int
adm_page_act(struct server *s, int act)
{
	int was = srv_opstate(s);

	switch (act) {
	case 0: case 1: case 2:		/* ready, drain, maint */
		s->st->admin = (enum srv_admin)act;
		adm_apply_from(s, was, act == 0 ? "ready" : act == 1 ? "draining" :
		    "entering maintenance", "stats page");
		return 1;
	case 3: case 4:			/* dhlth, ehlth */
		if (!s->check)
			return 0;
		s->st->checks_off = act == 3;
		if (act == 3) {
			s->st->up = 1;
			s->st->health = s->rise + s->fall - 1;
		}
		adm_apply_from(s, was, act == 3 ? "health checks disabled" :
		    "health checks enabled", "stats page");
		return 1;
	}
	sess_kill_server(s->be, s, 0);	/* shutdown */
	return 1;
}

/* The backend a form names: "#id" or its name. */
static struct proxy *
adm_form_backend(const char *v)
{
	struct proxy *px;

	for (px = sess_rt.cfg->proxies; px; px = px->next)
		if ((px->cap & CAP_BE) && (v[0] == '#' ? atoi(v + 1) == px->uuid &&
		    v[1] != 0 : strcmp(v, px->name) == 0))
			return px;
	return NULL;
}

/* A form posted to the page, as HAProxy's stats_process_http_post(): "b"
 * (the backend), "action", an "s" per server; returns the ";st=" code. */
static const char *
adm_post(char *form)
{
	static const char *const acts[] = { "ready", "drain", "maint", "dhlth",
	    "ehlth", "shutdown", NULL };
	char *f[256], *p;
	struct proxy *px = NULL;
	struct server *sv;
	int n = 0, i, r, act = -1, total = 0, done = 0;

	for (p = strtok(form, "&"); p && n < (int)NELEM(f); p = strtok(NULL, "&"))
		f[n++] = p;
	for (i = n - 1; i >= 0; i--) {	/* the last b and action count */
		char *k = f[i], *v = strchr(k, '=');

		if (v)
			*v++ = 0;
		else
			v = k + strlen(k);
		f[i] = NULL;
		if (adm_url_decode(k) < 0 || adm_url_decode(v) < 0)
			return "ERRP";
		if (strcmp(k, "b") == 0 && px == NULL) {
			if ((px = adm_form_backend(v)) == NULL)
				return "ERRP";
		} else if (strcmp(k, "action") == 0 && act < 0) {
			if ((act = cfg_word_index(acts, v)) < 0)
				return "ERRP";
		} else if (strcmp(k, "s") == 0)
			f[i] = v;
	}
	for (i = 0; i < n && px && act >= 0; i++) {
		if (f[i] == NULL)
			continue;
		r = (sv = srv_find_in(px, f[i])) ? adm_page_act(sv, act) : 0;
		total += r || sv == NULL;	/* unknown names count, as HAProxy's */
		done += r;
	}
	return total == 0 ? "NONE" : done == 0 ? "ERRP" : done == total ? "DONE" :
	    "PART";
}

/* A POST to the page: its form applied when "stats admin" allows it,
 * then a 303 to the page with the outcome, as HAProxy answers. */
static void
adm_http_post(struct sess_svc *x, size_t ul)
{
	const struct http_msg *m = x->m;
	const char *st = "DENY";
	char *form;

	if (x->admin && !(m->flags & MSG_CLEN))
		st = "IVAL";
	else if (x->admin && x->rbody_len < (uint64_t)m->clen)
		st = "EXCD";
	else if (x->admin) {
		form = u_calloc(1, (size_t)m->clen + 1);
		memcpy(form, x->rbody, (size_t)m->clen);
		form[m->clen] = 0;
		st = adm_post(form);
		free(form);
	}
	x->status = 303;
	x->ctype = "text/plain";
	snprintf(x->extra, sizeof(x->extra), "location: %.*s;st=%s\r\n",
	    (int)(ul < 500 ? ul : 500), x->fe->stats_uri, st);
}

/* The sess module's service hook: is this request for the status page or
 * the metrics?  Returns 1 with the answer in <x> when so. */
static int
adm_http(struct sess_svc *x)
{
	const struct proxy *fe = x->fe;
	const struct http_msg *m = x->m;
	const char *p;
	size_t n, ul;
	unsigned sc;

	h1_uri_path(m, &p, &n);
	if (x->prometheus || (fe->prom_uri && strlen(fe->prom_uri) == n &&
	    memcmp(fe->prom_uri, p, n) == 0)) {
		if ((sc = adm_pm_query(m)) == 0) {	/* HAProxy's own 400 */
			u_sbprintf(&x->body, "<html><body><h1>400 Bad request</h1>\nYour "
			    "browser sent an invalid request.\n</body></html>\n");
			x->ctype = "text/html";
			x->status = 400;
			return 1;
		}
		adm_prometheus(&x->body, sc);
		x->ctype = "text/plain; version=0.0.4";
		x->status = 200;
		return 1;
	}
	if (!fe->stats_enable || fe->stats_uri == NULL)
		return 0;
	ul = strlen(fe->stats_uri);
	if (m->uri_len < ul || memcmp(m->uri, fe->stats_uri, ul) != 0)
		return 0;
	x->status = 200;
	x->ctype = "text/html";
	if (!adm_auth_ok(fe, m)) {
		x->status = 401;
		u_sbprintf(&x->body, "<html><body><h1>401 Unauthorized</h1>\nYou need a "
		    "valid user and password to access this content.\n</body></html>\n");
	} else if (u_ieq(m->method, m->method_len, "POST"))
		adm_http_post(x, ul);
	else if (memmem(m->uri + ul, m->uri_len - ul, ";csv", 4)) {
		adm_csv(&x->body, fe);
		x->ctype = "text/plain";
	} else
		adm_html(&x->body, fe, m, x->admin);
	return 1;
}

/* ---- the runtime API ---- */

static void
adm_apply(struct server *s, int was, const char *what)
{
	adm_apply_from(s, was, what, "runtime API");
}

/* The server named <spec>, or NULL after a message; *was gets its
 * operational state before the change the command makes. */
static struct server *
adm_server(struct adm_conn *a, char *spec, int *was)
{
	const char *why = NULL;
	struct server *s = srv_find(spec, &why);

	if (s == NULL)	/* an answer ends with an empty line, as HAProxy's */
		u_sbprintf(&a->out, "%s\n\n", why);
	else
		*was = srv_opstate(s);
	return s;
}

static int adm_c_help(struct adm_conn *a, char **w, int n);

/* show info, show stat */
static int
adm_c_show(struct adm_conn *a, char **w, int n)
{
	(void)n;
	if (strcmp(w[1], "info") == 0)
		adm_info(&a->out);
	else
		adm_csv(&a->out, NULL);
	u_sbprintf(&a->out, "\n");
	return 0;
}

static int
adm_c_servers(struct adm_conn *a, char **w, int n)
{
	adm_servers_state(&a->out, n > 3 ? w[3] : NULL);
	u_sbprintf(&a->out, "\n");
	return 0;
}

/* disable|enable server B/S: enable only leaves maintenance, a drain set
 * apart stays. */
static int
adm_c_maint(struct adm_conn *a, char **w, int n)
{
	struct server *s;
	int was;

	(void)n;
	if ((s = adm_server(a, w[2], &was)) == NULL)
		return 0;
	if (w[0][0] == 'd')
		s->st->admin = ADMIN_MAINT;
	else if (s->st->admin == ADMIN_MAINT)
		s->st->admin = ADMIN_READY;
	adm_apply(s, was, w[0][0] == 'd' ? "entering maintenance" :
	    "leaving maintenance");
	u_sbprintf(&a->out, "\n");
	return 0;
}

static int
adm_set_state(struct adm_conn *a, struct server *s, int was, const char *v)
{
	static const char *const names[] = { "ready", "drain", "maint", NULL };
	static const char *const what[] = { "ready", "draining",
	    "entering maintenance" };
	int k = cfg_word_index(names, v);

	if (k < 0) {
		u_sbprintf(&a->out, "'set server <srv> state' expects 'ready', 'drain' "
		    "and 'maint'.\n\n");
		return 0;
	}
	s->st->admin = (enum srv_admin)k;
	adm_apply(s, was, what[k]);
	return 1;
}

static int
adm_set_weight(struct adm_conn *a, struct server *s, int was, char *v)
{
	size_t l = strlen(v);
	long long w;

	if (l && v[l - 1] == '%') {
		v[l - 1] = 0;
		if (u_parse_int(v, 0, 100, &w) < 0)
			goto bad;
		w = s->weight * w / 100;
	} else if (u_parse_int(v, 0, 256, &w) < 0)
		goto bad;
	s->st->weight = (int)w;
	s->st->weight_set = 1;
	adm_apply(s, was, "weight changed");
	return 1;
bad:
	u_sbprintf(&a->out, "Invalid weight.\n\n");
	return 0;
}

/* set server B/S state ready|drain|maint, set server B/S weight W[%].
 * Matched with any arguments, so that below level admin every form is
 * "Permission denied", as HAProxy's handler checks the level first. */
static int
adm_c_set(struct adm_conn *a, char **w, int n)
{
	struct server *s;
	int st = n > 3 && strcmp(w[3], "state") == 0, was;

	if (!st && (n < 4 || strcmp(w[3], "weight") != 0))
		return -1;	/* not a command */
	if ((s = adm_server(a, w[2], &was)) == NULL)
		return 0;
	if (n < 5 && !st) {
		u_sbprintf(&a->out, "Require <weight> or <weight%%>.\n\n");
		return 0;
	}
	if (st ? adm_set_state(a, s, was, n < 5 ? "" : w[4]) :
	    adm_set_weight(a, s, was, w[4]))
		u_sbprintf(&a->out, "\n");
	return 0;
}

static int
adm_c_shutdown(struct adm_conn *a, char **w, int n)
{
	struct server *s;
	int was;

	(void)n;
	if ((s = adm_server(a, w[3], &was)) == NULL)
		return 0;
	sess_kill_server(s->be, s, 0);
	u_sbprintf(&a->out, "\n");
	return 0;
}

/* enable|disable health B/S: unchecked means UP unless an agent says no,
 * as in HAProxy. */
static int
adm_c_health(struct adm_conn *a, char **w, int n)
{
	struct server *s;
	int was;

	(void)n;
	if ((s = adm_server(a, w[2], &was)) == NULL)
		return 0;
	s->st->checks_off = w[0][0] == 'd';
	if (s->st->checks_off) {
		s->st->up = 1;
		s->st->health = s->rise + s->fall - 1;
		adm_apply(s, was, "health checks disabled");
	}
	u_sbprintf(&a->out, "\n");
	return 0;
}

static int
adm_c_quit(struct adm_conn *a, char **w, int n)
{
	(void)a;
	(void)w;
	(void)n;
	return 0;
}

/* The commands: their fixed words, the words after them (min, max; -1 no
 * bound), the level they need, their help line. */
static const struct adm_cmd {
	const char	*words[3];
	int		 min, max;
	int		 level;
	int		(*fn)(struct adm_conn *a, char **w, int n);
	const char	*help;
} adm_cmds[] = {
	{ { "help" }, 0, -1, ACCESS_USER, adm_c_help,
	    "help           : this message" },
	{ { "show", "info" }, 0, -1, ACCESS_USER, adm_c_show,
	    "show info      : report information about the running process" },
	{ { "show", "stat" }, 0, -1, ACCESS_USER, adm_c_show,
	    "show stat      : report counters for each proxy and server" },
	{ { "show", "servers", "state" }, 0, -1, ACCESS_USER, adm_c_servers,
	    "show servers state [<backend>] : dump volatile server information" },
	{ { "disable", "server" }, 1, 1, ACCESS_ADMIN, adm_c_maint,
	    "disable server <bk>/<srv> : disable a server for maintenance" },
	{ { "enable", "server" }, 1, 1, ACCESS_ADMIN, adm_c_maint,
	    "enable server <bk>/<srv>  : enable a disabled server" },
	{ { "set", "server" }, 0, -1, ACCESS_ADMIN, adm_c_set,
	    "set server <bk>/<srv> state ready|drain|maint : change a server's state" },
	{ { NULL }, 0, 0, 0, NULL,
	    "set server <bk>/<srv> weight <w>[%] : change a server's weight" },
	{ { "shutdown", "sessions", "server" }, 1, 1, ACCESS_ADMIN, adm_c_shutdown,
	    "shutdown sessions server <bk>/<srv> : kill sessions on a server" },
	{ { "enable", "health" }, 1, 1, ACCESS_ADMIN, adm_c_health,
	    "enable health <bk>/<srv>  : enable health checks" },
	{ { "disable", "health" }, 1, 1, ACCESS_ADMIN, adm_c_health,
	    "disable health <bk>/<srv> : disable health checks" },
	{ { "quit" }, 0, -1, ACCESS_USER, adm_c_quit,
	    "quit           : disconnect" },
};

static void
adm_help_lines(struct sbuf *o)
{
	size_t i;

	for (i = 0; i < NELEM(adm_cmds); i++)
		u_sbprintf(o, "  %s\n", adm_cmds[i].help);
}

static int
adm_c_help(struct adm_conn *a, char **w, int n)
{
	(void)w;
	(void)n;
	u_sbprintf(&a->out, "The following commands are valid at this level:\n");
	adm_help_lines(&a->out);
	u_sbprintf(&a->out, "\n");
	return 0;
}

/* Does command <c> take words w[0..n)?  The words after its fixed ones
 * are counted against its bounds. */
static int
adm_cmd_matches(const struct adm_cmd *c, char **w, int n)
{
	int k, extra;

	for (k = 0; k < 3 && c->words[k]; k++)
		if (k >= n || strcmp(w[k], c->words[k]) != 0)
			return 0;
	extra = n - k;
	return k > 0 && extra >= c->min && (c->max < 0 || extra <= c->max);
}

static void
adm_exec(struct adm_conn *a, char *line)
{
	char *w[8], *save = NULL, *t;
	size_t i;
	int n = 0;

	for (t = strtok_r(line, " \t", &save); t && n < 8;
	    t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	if (n == 0)
		return;
	for (i = 0; i < NELEM(adm_cmds); i++) {
		const struct adm_cmd *c = &adm_cmds[i];

		if (c->fn == NULL || !adm_cmd_matches(c, w, n))
			continue;
		if (a->level < c->level) {
			u_sbprintf(&a->out, "Permission denied\n\n");
			return;
		}
		if (c->fn(a, w, n) == 0)
			return;
	}
	u_sbprintf(&a->out, "Unknown command. Please enter one of the following "
	    "commands only :\n");
	adm_help_lines(&a->out);
	u_sbprintf(&a->out, "\n");
}

/* ---- runtime API connections ---- */

static void
adm_conn_close(struct adm_conn *a)
{
	struct adm_conn **pp;

	for (pp = &adm_rt.conns; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	loop_fd_close(a->fd);
	free(a->out.p);
	free(a);
}

/* Read a command line; 1 once it is complete (and executed). */
static int
adm_conn_read(struct adm_conn *a, int fd)
{
	char *nl, *cmd, *sv = NULL;
	ssize_t r;

	/* one byte always stays free for the terminating NUL */
	r = recv(fd, a->in + a->inlen, sizeof(a->in) - 2 - a->inlen, 0);
	if (r > 0)
		a->inlen += (unsigned)r;
	else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
		if (a->inlen == 0)
			return -1;
		a->in[a->inlen++] = '\n';
	} else
		return 0;
	a->in[a->inlen] = 0;
	nl = strchr(a->in, '\n');
	if (nl == NULL && a->inlen < sizeof(a->in) - 2)
		return 0;
	if (nl)
		*nl = 0;
	/* commands separated by ';' on one line, as HAProxy */
	for (cmd = strtok_r(a->in, ";", &sv); cmd; cmd = strtok_r(NULL, ";", &sv))
		adm_exec(a, cmd);
	return 1;
}

static void
adm_conn_event(void *obj, int fd, short revents)
{
	struct adm_conn *a = obj;
	ssize_t r;
	int done;

	(void)revents;
	if (a->out.len == 0) {
		if ((done = adm_conn_read(a, fd)) <= 0) {
			if (done < 0)
				adm_conn_close(a);
			return;
		}
		if (a->out.len == 0) {
			adm_conn_close(a);
			return;
		}
		loop_fd_want(fd, POLLOUT);
	}
	r = send(fd, a->out.p + a->off, a->out.len - a->off, MSG_NOSIGNAL);
	if (r > 0)
		a->off += (size_t)r;
	else if (r < 0 && errno != EAGAIN && errno != EINTR) {
		adm_conn_close(a);
		return;
	}
	if (a->off >= a->out.len)
		adm_conn_close(a);	/* one command line per connection */
}

static void
adm_accept(void *obj, int fd, short revents)
{
	struct adm_listener *l = obj;
	struct adm_conn *a;
	int cfd;

	(void)revents;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (!loop_fd_fits(cfd)) {
			close(cfd);
			continue;
		}
		a = u_calloc(1, sizeof(*a));
		a->fd = cfd;
		a->level = l->level;
		a->expire = loop_now() + sess_rt.cfg->stats_timeout;
		a->next = adm_rt.conns;
		adm_rt.conns = a;
		loop_fd_add(cfd, adm_conn_event, a, POLLIN);
	}
}

/* Loop hook: idle runtime API clients end at "stats timeout". */
static int64_t
adm_hook(void)
{
	struct adm_conn *a, *nx;
	int64_t next = -1;

	for (a = adm_rt.conns; a; a = nx) {
		nx = a->next;
		if (loop_now() >= a->expire)
			adm_conn_close(a);
		else if (next < 0 || a->expire < next)
			next = a->expire;
	}
	return next;
}

static int
adm_open(const struct stats_sock_conf *sc)
{
	struct adm_listener *l;
	char err[128];
	int fd = net_unix_listen(sc->path, sc->mode, err, sizeof(err));

	if (fd < 0) {
		log_alert("stats socket %s: %s", sc->path, err);
		return -1;
	}
	l = u_calloc(1, sizeof(*l));
	l->fd = fd;
	l->level = sc->level;
	snprintf(l->path, sizeof(l->path), "%s", sc->path);
	l->next = adm_rt.listeners;
	adm_rt.listeners = l;
	loop_fd_add(fd, adm_accept, l, POLLIN);
	return 0;
}

/* The sockets of a new config: kept by path (privileges may be dropped,
 * the directory may not be writable any more), new ones opened, removed
 * ones closed. */
static void
adm_reconfigure(const struct config *nc)
{
	struct adm_listener *al, **ap = &adm_rt.listeners;
	const struct stats_sock_conf *sc;

	while ((al = *ap) != NULL) {
		for (sc = nc->stats_socks; sc && strcmp(sc->path, al->path); sc = sc->next)
			;
		if (sc) {
			al->level = sc->level;
			ap = &al->next;
			continue;
		}
		*ap = al->next;
		loop_fd_close(al->fd);
		unlink(al->path);
		free(al);
	}
	for (sc = nc->stats_socks; sc; sc = sc->next) {
		for (al = adm_rt.listeners; al && strcmp(sc->path, al->path); al = al->next)
			;
		if (al == NULL)
			adm_open(sc);
	}
}

static void
adm_close_listeners(void)
{
	struct adm_listener *l, *nx;

	for (l = adm_rt.listeners; l; l = nx) {
		nx = l->next;
		loop_fd_close(l->fd);
		free(l);
	}
	adm_rt.listeners = NULL;
}

static int
adm_init(const struct config *cfg)
{
	const struct stats_sock_conf *sc;

	adm_rt.start_mono_ms = loop_now();
	adm_rt.start_wall_s = (int64_t)time(NULL);
	sess_set_service(adm_http);
	for (sc = cfg->stats_socks; sc; sc = sc->next)
		if (adm_open(sc) < 0)
			return -1;
	return 0;
}
/*==== end adm ====*/

/*==== begin main ====*/
/*
 * The program: the command line, start-up (file limit, the loop, the
 * modules' state, listeners, sockets, signals), privileges, the pidfile
 * and daemon mode, and the loop's hooks.  Signals arrive through a
 * signalfd polled like any socket: HUP reloads the configuration in the
 * same process (listeners kept by address, server state carried by name,
 * established sessions and tunnels untouched), USR1 stops softly, TERM and
 * INT stop now.
 */

static struct {
	int		 sigfd;
	int		 want_reload;	/* the signal asking for it */
	int64_t		 hard_stop_at;	/* -1: none */
} main_rt = { -1, 0, -1 };

/* Soft stop: stop accepting, let requests and tunnels finish, exit
 * ("hard-stop-after" bounds how long). */
static void
main_soft_stop(void)
{
	log_warn("Stopping: finishing %d connection(s), accepting no more.",
	    sess_rt.curconn);
	if (sess_rt.cfg->hard_stop_after)
		main_rt.hard_stop_at = loop_now() + sess_rt.cfg->hard_stop_after;
	sess_listeners_close();
	adm_close_listeners();
	sess_close_idle();
}

static void
main_signal(void *obj, int fd, short revents)
{
	struct signalfd_siginfo si;

	(void)obj;
	(void)revents;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGINT:
		case SIGTERM:
			log_warn("Exiting (signal %d).", (int)si.ssi_signo);
			loop_stop(0);
			break;
		case SIGUSR1:
			if (!sess_rt.stopping)
				main_soft_stop();
			break;
		case SIGHUP:
		case SIGUSR2:	/* HAProxy's master-worker reload signal */
			/* done between two loop turns */
			main_rt.want_reload = (int)si.ssi_signo;
			break;
		}
	}
}

/* ---- reload ---- */

/* The new config, with the messages of its load logged; NULL if bad. */
static struct config *
main_reload_load(const struct config *oc)
{
	char *errs = NULL, *line, *sv = NULL;
	size_t errlen = 0;
	FILE *ef = open_memstream(&errs, &errlen);
	struct config *nc;

	nc = cfg_load((const char *const *)oc->files, oc->nfiles, ef ? ef : stderr);
	if (ef)
		fclose(ef);
	for (line = errs && errlen ? strtok_r(errs, "\n", &sv) : NULL; line;
	    line = strtok_r(NULL, "\n", &sv)) {
		if (nc == NULL)
			log_alert("%s", line);
		else
			log_warn("%s", line);
	}
	free(errs);
	if (nc == NULL)
		log_alert("Reload failed: the configuration has errors; the running "
		    "configuration is kept.");
	return nc;
}

/* What cannot change without a restart keeps its running value. */
static void
main_reload_fixed(struct config *nc, const struct config *oc)
{
	if (nc->bufsize != oc->bufsize || nc->maxrewrite != oc->maxrewrite) {
		log_warn("tune.bufsize/tune.maxrewrite changes need a restart; "
		    "keeping %d/%d.", oc->bufsize, oc->maxrewrite);
		nc->bufsize = oc->bufsize;
		nc->maxrewrite = oc->maxrewrite;
	}
	if (nc->ssl_cachesize != oc->ssl_cachesize)
		log_warn("tune.ssl.cachesize changes need a restart; keeping %d.",
		    oc->ssl_cachesize);
}

/* What the lower modules take from the global section. */
static void
main_tune(const struct config *cfg)
{
	h1_set_maxhdr(cfg->maxhdr ? cfg->maxhdr : HDR_MAX);
	buf_pipe_tune(cfg->nosplice, cfg->maxpipes, cfg->pipesize);
}

/* SIGHUP: the files are read again; a config with errors changes nothing. */
static void
main_reload(void)
{
	struct config *nc, *oc = sess_rt.cfg;
	struct listener *nl = NULL;

	log_notice("Reloading the configuration (%s).", main_rt.want_reload ==
	    SIGUSR2 ? "SIGUSR2" : "SIGHUP");
	if ((nc = main_reload_load(oc)) == NULL)
		return;
	main_reload_fixed(nc, oc);
	if (sess_listeners_open(nc, &nl) < 0) {
		sess_listeners_undo(nl);
		cfg_free(nc);
		log_alert("Reload failed: cannot bind a new listener; the running "
		    "configuration is kept.");
		return;
	}
	sess_listeners_swap(nl);
	srv_bind(nc, oc);
	sess_requeue(oc, nc);
	chk_free_all();
	sess_cfg_ref(nc);
	sess_set_config(nc);	/* the old one goes when its last session does */
	main_tune(nc);
	adm_reconfigure(nc);
	chk_init(nc);
	sess_listeners_update();
	srv_queues_kick();
	log_notice("Reload complete: %d connection(s) continue.", sess_rt.curconn);
}

/* ---- the loop's hooks ---- */

static int64_t
main_reload_hook(void)
{
	if (main_rt.want_reload) {
		if (!sess_rt.stopping)
			main_reload();
		main_rt.want_reload = 0;
	}
	return -1;
}

/* The end: a soft stop with nothing left, or hard-stop-after. */
static int64_t
main_stop_hook(void)
{
	if (sess_rt.stopping && sess_rt.sessions == NULL) {
		loop_stop(0);
		return -1;
	}
	if (main_rt.hard_stop_at >= 0 && loop_now() >= main_rt.hard_stop_at) {
		log_warn("hard-stop-after expired: closing %d connection(s).",
		    sess_rt.curconn);
		loop_stop(0);
	}
	return main_rt.hard_stop_at;
}

/* ---- start-up ---- */

/* Two fds per connection, plus checks and listeners; the limit raised
 * when it is lower.  Returns the fd table's size. */
static int
main_file_limit(const struct config *cfg)
{
	rlim_t want = cfg->ulimit_n ? (rlim_t)cfg->ulimit_n :
	    (rlim_t)cfg->maxconn * 2 + 256;
	struct rlimit rl, nr;
	int maxfd;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < want) {
		nr = rl;
		nr.rlim_cur = want;
		if (nr.rlim_max < want)
			nr.rlim_max = want;	/* root may raise the hard limit */
		if (setrlimit(RLIMIT_NOFILE, &nr) < 0) {
			nr.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
			nr.rlim_max = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &nr) < 0 || nr.rlim_cur < want)
				log_warn("cannot raise the file limit to %llu (%s); it stays "
				    "at %llu", (unsigned long long)want,
				    strerror(errno ? errno : EPERM),
				    (unsigned long long)nr.rlim_cur);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	maxfd = rl.rlim_cur > (rlim_t)(1 << 22) ? (1 << 22) : (int)rl.rlim_cur;
	if ((rlim_t)cfg->maxconn * 2 + 64 > (rlim_t)maxfd)
		log_warn("maxconn %d needs about %d file descriptors but the limit is "
		    "%d: accept will pause when it is reached", cfg->maxconn,
		    cfg->maxconn * 2 + 64, maxfd);
	return maxfd;
}

static void
main_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	main_rt.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (main_rt.sigfd >= 0)
		loop_fd_add(main_rt.sigfd, main_signal, NULL, POLLIN);
	signal(SIGPIPE, SIG_IGN);
}

/* The hooks, in the order each turn runs them. */
static void
main_hooks(void)
{
	loop_hook_add(loop_tasks_run);	/* sessions and queues with work left */
	loop_hook_add(loop_timers_run);
	loop_hook_add(log_hook);
	loop_hook_add(srv_pool_hook);
	loop_hook_add(sess_pause_hook);
	loop_hook_add(main_reload_hook);
	loop_hook_add(chk_hook);
	loop_hook_add(adm_hook);
	loop_hook_add(main_stop_hook);
}

static int
main_init(struct config *cfg)
{
	struct listener *nl = NULL;

	loop_init(main_file_limit(cfg));
	buf_init(cfg->bufsize, cfg->maxrewrite);
	main_tune(cfg);
	sess_init();
	srv_bind(cfg, NULL);
	sess_cfg_ref(cfg);
	sess_set_config(cfg);
	if (sess_listeners_open(cfg, &nl) < 0)
		return -1;
	sess_listeners_swap(nl);
	if (adm_init(cfg) < 0)
		return -1;
	main_signals();
	xprt_tls_init(cfg);
	chk_init(cfg);
	main_hooks();
	return 0;
}

/* chroot, then drop root: after every privileged socket is open. */
/* set-dumpable: core dumps stay possible after setuid, up to the hard
 * limits, as HAProxy raises them (a failure is only warned). */
static void
main_set_dumpable(const struct config *cfg)
{
	struct rlimit rl;

	if (!cfg->dumpable)
		return;
	if (getrlimit(RLIMIT_CORE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_CORE, &rl);
	}
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_FSIZE, &rl);
	}
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		log_warn("[%s.main()] Failed to set the dumpable flag, no core will be "
		    "dumped.", "waxlb");
}

static int
main_drop_privileges(const struct config *cfg)
{
	long uid = cfg->uid, gid = cfg->gid;
	struct passwd *pw;
	struct group *gr;
	gid_t g;

	if (cfg->user) {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			log_alert("unknown user '%s'", cfg->user);
			return -1;
		}
		uid = (long)pw->pw_uid;
		if (gid < 0 && cfg->group == NULL)
			gid = (long)pw->pw_gid;
	}
	if (cfg->group) {
		if ((gr = getgrnam(cfg->group)) == NULL) {
			log_alert("unknown group '%s'", cfg->group);
			return -1;
		}
		gid = (long)gr->gr_gid;
	}
	if (cfg->chroot && (chroot(cfg->chroot) < 0 || chdir("/") < 0)) {
		log_alert("chroot(%s): %s", cfg->chroot, strerror(errno));
		return -1;
	}
	g = (gid_t)gid;
	if (gid >= 0 && setgroups(1, &g) < 0 && getuid() == 0) {
		log_alert("setgroups: %s", strerror(errno));
		return -1;
	}
	if (gid >= 0 && setgid(g) < 0) {
		log_alert("setgid(%ld): %s", gid, strerror(errno));
		return -1;
	}
	if (uid >= 0 && setuid((uid_t)uid) < 0) {
		log_alert("setuid(%ld): %s", uid, strerror(errno));
		return -1;
	}
	main_set_dumpable(cfg);
	return 0;
}

static int
main_write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		log_alert("cannot write pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	return 0;
}

/* Fork away from the terminal; the parent writes the pidfile with the
 * child's pid and exits once the child runs. */
static int
main_daemonize(const char *pidfile)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		log_alert("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		if (pidfile && main_write_pidfile(pidfile, pid) < 0) {
			/* nothing may keep running that the pidfile does not
			 * name: the child goes, and is gone before we exit */
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			_exit(1);
		}
		_exit(0);
	}
	setsid();
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	log_detach_stderr();
	return 0;
}

/* ---- the command line ---- */

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "waxlb %s - HAProxy-compatible load balancer for WAX API and "
	    "State-History nodes\n"
	    "usage: waxlb -f FILE [-f FILE ...] [-c] [-d] [-db] [-D] [-p PIDFILE]\n"
	    "       waxlb -v | -vv | -h\n"
	    "  -f FILE  configuration file (HAProxy syntax); may repeat\n"
	    "  -c       check the configuration and exit (0 valid, 1 not)\n"
	    "  -d       debug: more messages on stderr, in the foreground\n"
	    "  -db      stay in the foreground even with 'daemon' (as HAProxy)\n"
	    "  -D       run as a daemon (as 'daemon' in global)\n"
	    "  -p FILE  write the pid to FILE (as 'pidfile' in global)\n"
	    "  -v       print the version\n"
	    "  -vv      the version, the keywords accepted without effect, and\n"
	    "           the keywords refused\n"
	    "  -h       this help\n"
	    "signals: HUP reloads the configuration in place, USR1 stops softly,\n"
	    "         TERM/INT stop now\n", WAXLB_VERSION);
}

#define MAIN_FILES_MAX	64

struct main_args {
	const char	*files[MAIN_FILES_MAX];
	int		 nfiles;
	const char	*pidfile;
	int		 check_only, daemon;
	int		 foreground;	/* -db, -d: never a daemon, as HAProxy */
};

/* Returns -1 to go on, else the exit status. */
static int
main_parse_args(int argc, char **argv, struct main_args *ma)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-f") == 0 && i + 1 < argc) ||
		    (strncmp(a, "-f", 2) == 0 && a[2])) {
			if (ma->nfiles == MAIN_FILES_MAX) {
				fprintf(stderr, "waxlb: at most 64 configuration files\n");
				return 1;
			}
			ma->files[ma->nfiles++] = a[2] ? a + 2 : argv[++i];
		} else if (strcmp(a, "-p") == 0 && i + 1 < argc)
			ma->pidfile = argv[++i];
		else if (strcmp(a, "-c") == 0)
			ma->check_only = 1;
		else if (strcmp(a, "-d") == 0) {
			log_set_debug();
			ma->foreground = 1;
		} else if (strcmp(a, "-D") == 0)
			ma->daemon = 1;
		else if (strcmp(a, "-db") == 0)
			ma->foreground = 1;
		else if (strcmp(a, "-q") == 0)
			;
		else if (strcmp(a, "-v") == 0 || strcmp(a, "-vv") == 0 ||
		    strcmp(a, "--version") == 0) {
			printf("waxlb version %s\n", WAXLB_VERSION);
			if (strcmp(a, "-vv") == 0) {
				printf("\nAccepted without effect (context, keyword, why):\n");
				cfg_print_ignored(stdout);
			}
			return 0;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			main_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "waxlb: unknown option '%s'\n", a);
			main_usage(stderr);
			return 1;
		}
	}
	if (ma->nfiles == 0) {
		fprintf(stderr, "waxlb: no configuration file (-f FILE)\n");
		main_usage(stderr);
		return 1;
	}
	return -1;
}

/* Start, run, stop; the pidfile is written while still root, as HAProxy
 * does, then chroot and the unprivileged user. */
static int
main_run(struct config *cfg, const struct main_args *ma)
{
	const char *pidfile = ma->pidfile ? ma->pidfile : cfg->pidfile;
	int rc;

	setvbuf(stderr, NULL, _IOLBF, 0);
	log_check_stderr();
	if (main_init(cfg) < 0)
		return 1;
	if ((ma->daemon || cfg->daemon) && !ma->foreground) {
		if (main_daemonize(pidfile) < 0)
			return 1;
	} else if (pidfile && main_write_pidfile(pidfile, getpid()) < 0)
		return 1;
	if (main_drop_privileges(cfg) < 0)
		return 1;
	log_notice("waxlb %s started (pid %d, maxconn %d).", WAXLB_VERSION,
	    (int)getpid(), cfg->maxconn);
	rc = loop_run();
	sess_free_all();
	log_flush();
	/* a pidfile left behind would name a process that is gone (inside a
	 * chroot the path no longer resolves; the init script copes) */
	if (pidfile && sess_rt.cfg->chroot == NULL)
		unlink(pidfile);
	return rc;
}

/* HAProxy's variables for the configuration: HAPROXY_LOCALPEER is the
 * host name (HAProxy's default local peer, without -L). */
static void
main_preset_env(void)
{
	char host[256];

	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) == 0)
		setenv("HAPROXY_LOCALPEER", host, 1);
}

/* The whole program; main() is only this, so that tests and fuzzers
 * can link everything with main compiled out. */
int
waxlb_main(int argc, char **argv)
{
	struct main_args ma;
	struct config *cfg;
	int rc;

	memset(&ma, 0, sizeof(ma));
	if ((rc = main_parse_args(argc, argv, &ma)) >= 0)
		return rc;
	u_cclass_init();
	main_preset_env();
	if ((cfg = cfg_load(ma.files, ma.nfiles, stderr)) == NULL) {
		fprintf(stderr, "waxlb: configuration has errors, not starting\n");
		return 1;
	}
	if (cfg->debug)
		log_set_debug();
	if (ma.check_only) {
		printf("Configuration file is valid\n");
		cfg_free(cfg);
		return 0;
	}
	return main_run(cfg, &ma);
}

#ifndef WAXLB_NO_MAIN
int
main(int argc, char **argv)
{
	return waxlb_main(argc, argv);
}
#endif
/*==== end main ====*/
