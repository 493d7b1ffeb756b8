/*
 * waxlb - a small HAProxy-compatible load balancer for WAX (Antelope)
 * API and State-History nodes.
 *
 * The file reads in the order bytes flow through the program:
 *
 *   foundations        logging, clock, allocation, the poll() event loop
 *   configuration      tokenizer, sections, keywords, validation
 *   listeners          bind, accept, frontend and global maxconn
 *   HTTP parsing       pure request/response/chunked parsers
 *   ACL evaluation     fetches, matches, conditions
 *   server selection   HAProxy's FWRR, FWLC and "first" algorithms
 *   connect and queue  server slots, the backend FIFO, retries
 *   proxying           sessions: HTTP forwarding and byte tunnels
 *   transport          how a session side moves bytes (plain today)
 *   health checks      TCP checks driven by the same loop
 *   logging            request lines and server state changes
 *   signals, main      signalfd, timers, the main loop, command line
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <pwd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "waxlb.h"

/* ==================================================================== */
/* Foundations: logging, clock, allocation, the event loop.              */
/* Owns the fd table and the dense pollfd array; nothing here knows     */
/* what a session or a check is.                                        */
/* ==================================================================== */

static int debug_mode;
static int64_t now_ms;			/* monotonic, refreshed each turn */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stderr_closed;		/* daemon mode, or stderr is /dev/null */

/* Request lines for stderr are gathered and written once per loop turn:
 * one write(2) for many requests instead of one each. */
static char logbuf[65536];
static size_t loglen;

static void
logbuf_flush(void)
{
	size_t off = 0;

	while (off < loglen) {
		ssize_t n = write(2, logbuf + off, loglen - off);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;		/* a full pipe loses log lines, not service */
		}
		off += (size_t)n;
	}
	loglen = 0;
}

static void
logbuf_add(const char *line)
{
	size_t n = strlen(line);

	if (n + 1 > sizeof(logbuf) - loglen)
		logbuf_flush();
	if (n + 1 > sizeof(logbuf))
		n = sizeof(logbuf) - 1;
	memcpy(logbuf + loglen, line, n);
	logbuf[loglen + n] = '\n';
	loglen += n + 1;
}
static struct log_target *global_logs;	/* the running config's "log" lines */

/* One line to one target: RFC 3164 over UDP or a unix datagram socket,
 * the bare line on stdout/stderr.  Never blocks: a full socket drops the
 * line, as syslog over UDP would. */
static void
log_send(struct log_target *t, int sev, const char *msg)
{
	char buf[65536], date[32];
	struct timeval tv;
	struct tm tm;
	int n;

	if (sev > t->level)
		return;
	if (t->kind == LOGT_STDOUT || t->kind == LOGT_STDERR) {
		FILE *f = t->kind == LOGT_STDOUT ? stdout : stderr;

		if (t->kind == LOGT_STDERR && stderr_closed)
			return;
		logbuf_flush();
		fprintf(f, "%s\n", msg);
		fflush(f);
		return;
	}
	if (t->fd < 0) {
		t->fd = socket(t->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (t->fd < 0)
			return;
	}
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(date, sizeof(date), "%b %e %H:%M:%S", &tm);
	n = snprintf(buf, sizeof(buf), "<%d>%s waxlb[%d]: %s", t->facility * 8 + sev,
	    date, (int)getpid(), msg);
	if (n < 0)
		return;
	if (n > t->maxlen)
		n = t->maxlen;
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	(void)sendto(t->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&t->addr, t->addrlen);
}

/* Process messages: "[WARNING]  (pid) : ..." on stderr as HAProxy prints
 * them, and the message alone to the global log targets at <sev>. */
static void
logmsg(int sev, const char *tag, const char *fmt, ...)
{
	char line[1024];
	struct log_target *t;
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "[%s] %*s(%d) : ", tag,
	    (int)(8 - strlen(tag)), "", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	logbuf_flush();		/* keep the order of lines */
	if (!stderr_closed)
		fprintf(stderr, "%s\n", line);
	for (t = global_logs; t; t = t->next)
		if (t->kind != LOGT_STDERR || stderr_closed)
			log_send(t, sev, line + n);
}

#define log_alert(...)	logmsg(1, "ALERT", __VA_ARGS__)
#define log_warn(...)	logmsg(4, "WARNING", __VA_ARGS__)
#define log_notice(...)	logmsg(5, "NOTICE", __VA_ARGS__)
#define log_debug(...)	do { if (debug_mode) logmsg(7, "DEBUG", __VA_ARGS__); } while (0)

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL) {
		log_alert("out of memory");
		exit(1);
	}
	return p;
}

/* A growing string for text rendered off the data path (stats). */
struct sbuf {
	char		*p;
	size_t		 len, cap;
};

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
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

/*
 * The event loop (after redis ae.c): a table indexed by fd holding one
 * callback and its object, and a dense pollfd array whose slot index is
 * remembered in the table so that changes and removals are O(1).
 * A generation number per fd guards against dispatching a stale event
 * to an fd that was closed and reused during the same poll() round.
 */
typedef void (*fd_cb)(void *obj, int fd, short revents);

struct fdent {
	fd_cb		 cb;
	void		*obj;
	int		 pidx;		/* slot in pfds, -1 if unused */
	unsigned	 gen;
};

static struct fdent *fdtab;
static int fdtab_size;
static struct pollfd *pfds;
static int npfds;

static void
fd_init(int maxfd)
{
	int i;

	fdtab_size = maxfd;
	fdtab = xcalloc(maxfd, sizeof(*fdtab));
	pfds = xcalloc(maxfd, sizeof(*pfds));
	for (i = 0; i < maxfd; i++)
		fdtab[i].pidx = -1;
}

static int
fd_register(int fd, fd_cb cb, void *obj, short events)
{
	struct fdent *e;

	if (fd < 0 || fd >= fdtab_size)
		return -1;
	e = &fdtab[fd];
	e->cb = cb;
	e->obj = obj;
	e->gen++;
	e->pidx = npfds;
	pfds[npfds].fd = fd;
	pfds[npfds].events = events;
	pfds[npfds].revents = 0;
	npfds++;
	return 0;
}

/* Hand a registered fd to another owner; events already collected for
 * the old owner in this round are dropped by the generation check. */
static void
fd_rebind(int fd, fd_cb cb, void *obj, short events)
{
	struct fdent *e = &fdtab[fd];

	e->cb = cb;
	e->obj = obj;
	e->gen++;
	if (e->pidx >= 0)
		pfds[e->pidx].events = events;
}

static void
fd_want(int fd, short events)
{
	if (fd >= 0 && fdtab[fd].pidx >= 0)
		pfds[fdtab[fd].pidx].events = events;
}

/* Unregister and close. */
static void
fd_close(int fd)
{
	struct fdent *e;
	int last;

	if (fd < 0)
		return;
	e = &fdtab[fd];
	if (e->pidx >= 0) {
		last = npfds - 1;
		if (e->pidx != last) {
			pfds[e->pidx] = pfds[last];
			fdtab[pfds[last].fd].pidx = e->pidx;
		}
		npfds--;
		e->pidx = -1;
		e->cb = NULL;
		e->obj = NULL;
		e->gen++;
	}
	close(fd);
}

/* Socket address helpers; they return errors as values. */
static const char *
addr_str(const struct sockaddr_storage *ss, char *out, size_t len, int with_port)
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

/* ==================================================================== */
/* Configuration.                                                        */
/* Owns the tokenizer (HAProxy quoting and escapes), the section and    */
/* keyword parsers, defaults inheritance and the cross-reference checks */
/* run once the whole input has been read.  Produces a struct config;   */
/* runtime state lives elsewhere (struct srv_state, sessions).           */
/* ==================================================================== */

/* Every allocation made while parsing is chained here and freed with the
 * config.  Compiled regexes are listed too, for regfree(). */
struct arena_blk {
	struct arena_blk *next;
	regex_t		*re;
	struct tls_cert	*cert;
	long long	 align[];
};

static void *
cfg_alloc(struct config *c, size_t sz)
{
	struct arena_blk *b = xcalloc(1, sizeof(*b) + sz);

	b->next = c->arena;
	c->arena = b;
	return b->align;
}

static char *
cfg_strdup(struct config *c, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = cfg_alloc(c, n);

	memcpy(p, s, n);
	return p;
}

void
config_free(struct config *c)
{
	struct arena_blk *b, *nb;

	if (c == NULL)
		return;
	for (b = c->arena; b != NULL; b = nb) {
		nb = b->next;
		if (b->re)
			regfree(b->re);
		if (b->cert)
			tls_cert_free(b->cert);
		free(b);
	}
	free(c);
}

int
parse_time(const char *s, unsigned *ms)
{
	unsigned long long v = 0, mul = 1, div = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 0xffffffffULL * 1000)
			return -1;
		p++;
	}
	if (*p == 0 || strcmp(p, "ms") == 0)
		;
	else if (strcmp(p, "us") == 0)
		div = 1000;
	else if (strcmp(p, "s") == 0)
		mul = 1000;
	else if (strcmp(p, "m") == 0)
		mul = 60000;
	else if (strcmp(p, "h") == 0)
		mul = 3600000;
	else if (strcmp(p, "d") == 0)
		mul = 86400000;
	else
		return -1;
	if (v > (unsigned long long)INT_MAX * div / mul + 1)
		return -1;
	v = v * mul;
	v = (v + div - 1) / div;
	if (v > INT_MAX)		/* HAProxy's timers are 31-bit */
		return -1;
	*ms = (unsigned)v;
	return 0;
}

/* Parser state for one input. */
struct cfgp {
	struct config	*c;
	FILE		*err;
	const char	*file;
	int		 line;
	int		 errors;
	int		 section;	/* SEC_* */
	struct proxy	*cur;		/* current proxy section */
	struct proxy	*defaults;	/* latest defaults section */
};

enum { SEC_NONE, SEC_GLOBAL, SEC_DEFAULTS, SEC_PROXY, SEC_IGNORED };

static void
cfg_err(struct cfgp *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(p->err, "%s:%d: ", p->file, p->line);
	va_start(ap, fmt);
	vfprintf(p->err, fmt, ap);
	va_end(ap);
	fputc('\n', p->err);
	p->errors++;
}

static void
cfg_warn(struct cfgp *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(p->err, "%s:%d: warning: ", p->file, p->line);
	va_start(ap, fmt);
	vfprintf(p->err, fmt, ap);
	va_end(ap);
	fputc('\n', p->err);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/*
 * Split a line into words as HAProxy does: blanks separate words, '#'
 * starts a comment, double quotes keep blanks and honour backslash
 * escapes, single quotes keep everything literally, and outside quotes a
 * backslash escapes the next character (\t \r \n \xHH understood).
 * Words are written into <out>; returns the word count or -1 on error.
 */
static int
cfg_tokenize(const char *line, char *out, size_t outlen, char **args,
    int maxargs, const char **errmsg)
{
	const char *p = line;
	char *o = out, *end = out + outlen - 1;
	int n = 0, q = 0, inword = 0;

	while (*p) {
		char ch = *p;

		if (q == 0 && (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')) {
			if (inword) {
				*o++ = 0;
				inword = 0;
			}
			p++;
			continue;
		}
		if (q == 0 && ch == '#')
			break;
		if (!inword) {
			if (n == maxargs) {
				*errmsg = "too many words on the line";
				return -1;
			}
			args[n++] = o;
			inword = 1;
		}
		if (o >= end - 4) {
			*errmsg = "line too long";
			return -1;
		}
		if (q != '\'' && ch == '\\') {
			p++;
			switch (*p) {
			case 0:
				*errmsg = "backslash at end of line";
				return -1;
			case 't': *o++ = '\t'; p++; break;
			case 'r': *o++ = '\r'; p++; break;
			case 'n': *o++ = '\n'; p++; break;
			case 'x':
				if (hexval(p[1]) < 0 || hexval(p[2]) < 0) {
					*errmsg = "invalid \\x escape";
					return -1;
				}
				*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				p += 3;
				break;
			default:
				*o++ = *p++;
			}
			continue;
		}
		if (q == 0 && (ch == '"' || ch == '\'')) {
			q = ch;
			p++;
			continue;
		}
		if (q != 0 && ch == q) {
			q = 0;
			p++;
			continue;
		}
		*o++ = ch;
		p++;
	}
	if (q != 0) {
		*errmsg = q == '"' ? "unmatched double quote" :
		    "unmatched single quote";
		return -1;
	}
	if (inword)
		*o++ = 0;
	return n;
}

static int
parse_int(const char *s, long long lo, long long hi, long long *out)
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

/*
 * Addresses: "ip:port", "[ipv6]:port", "*:port", ":port", "host:port".
 * <passive> allows an empty or "*" host (listeners).  Names are resolved
 * once, at load time, as HAProxy does with libc's resolver.
 */
static int
parse_addr(const char *text, int passive, struct sockaddr_storage *ss,
    socklen_t *len, const char **why)
{
	char host[256];
	const char *colon, *port_s;
	long long port;
	struct addrinfo hints, *res;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(text, "ipv4@", 5) == 0)
		text += 5;
	else if (strncmp(text, "ipv6@", 5) == 0)
		text += 5;
	if (text[0] == '[') {
		colon = strchr(text, ']');
		if (colon == NULL || colon[1] != ':') {
			*why = "expected [ipv6]:port";
			return -1;
		}
		hl = (size_t)(colon - text - 1);
		if (hl >= sizeof(host)) {
			*why = "address too long";
			return -1;
		}
		memcpy(host, text + 1, hl);
		host[hl] = 0;
		port_s = colon + 2;
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
		if (hl >= sizeof(host)) {
			*why = "address too long";
			return -1;
		}
		memcpy(host, text, hl);
		host[hl] = 0;
		port_s = colon + 1;
	}
	if (parse_int(port_s, 1, 65535, &port) < 0) {
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
		in->sin_port = htons((uint16_t)port);
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		*len = sizeof(*in);
		return 0;
	}
	{
		struct sockaddr_in *in = (void *)ss;
		struct sockaddr_in6 *in6 = (void *)ss;

		if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
			in->sin_port = htons((uint16_t)port);
			*len = sizeof(*in);
			return 0;
		}
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			*len = sizeof(*in6);
			return 0;
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
		*why = "cannot resolve host name";
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	freeaddrinfo(res);
	return 0;
}

/* A fresh proxy starts as a copy of the latest defaults section. */
static struct proxy *
proxy_new(struct cfgp *p, const char *name, int cap)
{
	struct proxy *px = cfg_alloc(p->c, sizeof(*px));

	if (p->defaults) {
		const struct proxy *d = p->defaults;

		px->mode = d->mode;
		px->http_mode = d->http_mode;
		memcpy(px->timeout, d->timeout, sizeof(px->timeout));
		px->options = d->options;
		px->maxconn = d->maxconn;
		px->retries = d->retries;
		px->lb = d->lb;
		px->defsrv = d->defsrv;
		px->chk = d->chk;
		px->log_global = d->log_global;
		px->logs = d->logs;
		px->stats_enable = d->stats_enable;
		px->stats_uri = d->stats_uri;
		px->stats_refresh = d->stats_refresh;
		memcpy(px->stats_auth, d->stats_auth, sizeof(px->stats_auth));
		px->nstats_auth = d->nstats_auth;
		px->default_be_name = d->default_be_name;
		px->default_be_file = d->default_be_file;
		px->default_be_line = d->default_be_line;
	} else {
		px->mode = MODE_TCP;	/* HAProxy's default mode */
		px->http_mode = HTTP_KAL;
		px->retries = 3;
		px->lb = LB_RR;
		px->defsrv.inter = 2000;
		px->defsrv.rise = 2;
		px->defsrv.fall = 3;
		px->defsrv.weight = 1;
	}
	px->name = cfg_strdup(p->c, name ? name : "");
	px->cap = cap;
	px->file = cfg_strdup(p->c, p->file);
	px->line = p->line;
	return px;
}

static struct proxy *
find_proxy(struct proxy *list, const char *name, int cap)
{
	for (; list != NULL; list = list->next)
		if ((list->cap & cap) && strcmp(list->name, name) == 0)
			return list;
	return NULL;
}

struct proxy *
config_find_proxy(struct config *c, const char *name, int cap)
{
	return find_proxy(c->proxies, name, cap);
}

/* ---- ACL parsing ---- */

static struct acl *
acl_find(struct proxy *px, const char *name)
{
	struct acl *a;

	for (a = px->acls; a != NULL; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

static int
parse_cidr(const char *s, struct cidr *c)
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
	if (slash) {
		if (strchr(slash + 1, '.')) {	/* dotted netmask */
			struct in_addr m;
			uint32_t v;
			int b = 0;

			if (c->family != AF_INET ||
			    inet_pton(AF_INET, slash + 1, &m) != 1)
				return -1;
			v = ntohl(m.s_addr);
			while (v & 0x80000000u) {
				b++;
				v <<= 1;
			}
			if (v)
				return -1;
			c->bits = b;
		} else if (parse_int(slash + 1, 0, max, &bits) < 0)
			return -1;
		else
			c->bits = (int)bits;
	}
	return 0;
}

/* libc regcomp() can take memory exponential in stacked quantifiers
 * ("a++++..."), which POSIX leaves undefined anyway: refuse those and
 * overlong patterns before compiling. */
#define REGEX_MAX_LEN	1024

static int
regex_sane(const char *re)
{
	size_t i, run = 0;

	if (strlen(re) > REGEX_MAX_LEN)
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

/* Fetch names, with the match method implied by HAProxy's derived names
 * (hdr_beg = hdr -m beg, and so on). */
static const struct {
	const char	*name;
	enum fetch	 fetch;
	enum match	 match;
	int		 takes_arg;
} fetch_kw[] = {
	{ "hdr",	F_HDR,	M_STR,	1 },
	{ "req.hdr",	F_HDR,	M_STR,	1 },
	{ "hdr_beg",	F_HDR,	M_BEG,	1 },
	{ "hdr_end",	F_HDR,	M_END,	1 },
	{ "hdr_sub",	F_HDR,	M_SUB,	1 },
	{ "hdr_dom",	F_HDR,	M_DOM,	1 },
	{ "hdr_dir",	F_HDR,	M_DIR,	1 },
	{ "hdr_reg",	F_HDR,	M_REG,	1 },
	{ "hdr_len",	F_HDR,	M_LEN,	1 },
	{ "hdr_cnt",	F_HDR_CNT, M_INT, 1 },
	{ "path",	F_PATH,	M_STR,	0 },
	{ "path_beg",	F_PATH,	M_BEG,	0 },
	{ "path_end",	F_PATH,	M_END,	0 },
	{ "path_sub",	F_PATH,	M_SUB,	0 },
	{ "path_dir",	F_PATH,	M_DIR,	0 },
	{ "path_dom",	F_PATH,	M_DOM,	0 },
	{ "path_reg",	F_PATH,	M_REG,	0 },
	{ "path_len",	F_PATH,	M_LEN,	0 },
	{ "url",	F_URL,	M_STR,	0 },
	{ "url_beg",	F_URL,	M_BEG,	0 },
	{ "url_end",	F_URL,	M_END,	0 },
	{ "url_sub",	F_URL,	M_SUB,	0 },
	{ "url_dir",	F_URL,	M_DIR,	0 },
	{ "url_dom",	F_URL,	M_DOM,	0 },
	{ "url_reg",	F_URL,	M_REG,	0 },
	{ "method",	F_METHOD, M_STR, 0 },
	{ "src",	F_SRC,	M_IP,	0 },
	{ "ssl_fc",	F_SSL_FC, M_BOOL, 0 },
	{ "req.ver",	F_REQ_VER, M_STR, 0 },
	{ "req_ver",	F_REQ_VER, M_STR, 0 },
	{ "always_true", F_CONST, M_BOOL, 0 },
	{ "always_false", F_CONST, M_BOOL, 0 },
};

static const struct {
	const char	*name;
	enum match	 match;
} match_kw[] = {
	{ "str", M_STR }, { "beg", M_BEG }, { "end", M_END }, { "sub", M_SUB },
	{ "dom", M_DOM }, { "dir", M_DIR }, { "reg", M_REG }, { "found", M_FOUND },
	{ "ip", M_IP }, { "bool", M_BOOL }, { "int", M_INT }, { "len", M_LEN },
};

/*
 * Parse "FETCH [flags] [patterns...]" from args[0..n).  Used by named
 * ACLs and by anonymous { } ACLs.
 */
static struct acl_test *
acl_parse_test(struct cfgp *p, char **args, int n)
{
	struct acl_test *t;
	char fname[64];
	const char *arg = NULL, *paren;
	size_t fl;
	int i, k, found = -1, icase = 0, mset = -1, ended = 0;

	if (n < 1) {
		cfg_err(p, "missing ACL fetch");
		return NULL;
	}
	paren = strchr(args[0], '(');
	fl = paren ? (size_t)(paren - args[0]) : strlen(args[0]);
	if (fl >= sizeof(fname)) {
		cfg_err(p, "unknown fetch method '%s'", args[0]);
		return NULL;
	}
	memcpy(fname, args[0], fl);
	fname[fl] = 0;
	for (i = 0; i < (int)(sizeof(fetch_kw) / sizeof(fetch_kw[0])); i++)
		if (strcmp(fetch_kw[i].name, fname) == 0)
			found = i;
	if (found < 0) {
		cfg_err(p, "unknown fetch method '%s' in ACL expression '%s'",
		    fname, args[0]);
		return NULL;
	}
	t = cfg_alloc(p->c, sizeof(*t));
	t->fetch = fetch_kw[found].fetch;
	t->match = fetch_kw[found].match;
	if (t->fetch == F_CONST)
		t->cval = strcmp(fname, "always_true") == 0;
	if (paren) {
		const char *close = strrchr(paren, ')');
		size_t al;

		if (close == NULL || close[1] != 0) {
			cfg_err(p, "missing closing ')' in '%s'", args[0]);
			return NULL;
		}
		al = (size_t)(close - paren - 1);
		/* hdr(name,occ): the occurrence is not supported */
		if (memchr(paren + 1, ',', al)) {
			cfg_err(p, "'%s': header occurrence argument is not supported",
			    args[0]);
			return NULL;
		}
		t->arg = cfg_alloc(p->c, al + 1);
		memcpy(t->arg, paren + 1, al);
		arg = t->arg;
	}
	if (fetch_kw[found].takes_arg && (arg == NULL || *arg == 0)) {
		if (t->fetch == F_HDR_CNT || t->match == M_LEN) {
			/* hdr_cnt/hdr_len without a name: all headers */
		} else {
			cfg_err(p, "fetch '%s' needs a header name, e.g. %s(host)",
			    fname, fname);
			return NULL;
		}
	}
	if (!fetch_kw[found].takes_arg && paren && arg && *arg) {
		cfg_err(p, "fetch '%s' takes no argument", fname);
		return NULL;
	}

	/* flags */
	for (i = 1; i < n && !ended && args[i][0] == '-' && args[i][1]; i++) {
		if (strcmp(args[i], "-i") == 0)
			icase = 1;
		else if (strcmp(args[i], "-m") == 0) {
			if (i + 1 >= n) {
				cfg_err(p, "'-m' needs a match method");
				return NULL;
			}
			i++;
			for (k = 0; k < (int)(sizeof(match_kw) / sizeof(match_kw[0])); k++)
				if (strcmp(match_kw[k].name, args[i]) == 0)
					mset = match_kw[k].match;
			if (mset < 0) {
				cfg_err(p, "unknown match method '%s'", args[i]);
				return NULL;
			}
		} else if (strcmp(args[i], "--") == 0)
			ended = 1;
		else if (strcmp(args[i], "-n") == 0 || strcmp(args[i], "-u") == 0)
			cfg_warn(p, "ACL flag '%s' ignored", args[i]);
		else if (strcmp(args[i], "-f") == 0 || strcmp(args[i], "-M") == 0) {
			cfg_err(p, "ACL flag '%s' (pattern files) is not supported",
			    args[i]);
			return NULL;
		} else
			break;	/* a pattern that starts with '-' */
	}
	if (mset >= 0)
		t->match = (enum match)mset;
	t->icase = icase;
	n -= i;
	args += i;

	if (t->match == M_FOUND || t->match == M_BOOL) {
		if (n > 0) {
			cfg_err(p, "'%s' takes no pattern here", fname);
			return NULL;
		}
		return t;
	}
	if (n == 0) {
		cfg_err(p, "missing pattern for '%s'", args[-i]);
		return NULL;
	}
	t->npat = n;
	t->pat = cfg_alloc(p->c, n * sizeof(char *));
	t->patlen = cfg_alloc(p->c, n * sizeof(size_t));
	for (k = 0; k < n; k++) {
		t->pat[k] = cfg_strdup(p->c, args[k]);
		t->patlen[k] = strlen(args[k]);
	}
	if (t->match == M_IP) {
		t->cidr = cfg_alloc(p->c, n * sizeof(struct cidr));
		for (k = 0; k < n; k++)
			if (parse_cidr(args[k], &t->cidr[k]) < 0) {
				cfg_err(p, "'%s' is not a valid IPv4 or IPv6 address or network",
				    args[k]);
				return NULL;
			}
	} else if (t->match == M_REG) {
		t->re = cfg_alloc(p->c, n * sizeof(regex_t));
		for (k = 0; k < n; k++) {
			struct arena_blk *b;

			if (regex_sane(args[k]) < 0 ||
			    regcomp(&t->re[k], args[k], REG_EXTENDED | REG_NOSUB |
			    (icase ? REG_ICASE : 0)) != 0) {
				cfg_err(p, "invalid regex '%s'", args[k]);
				return NULL;
			}
			b = cfg_alloc(p->c, 0);
			b = (struct arena_blk *)((char *)b - offsetof(struct arena_blk, align));
			b->re = &t->re[k];
		}
	} else if (t->match == M_INT || t->match == M_LEN) {
		t->ival = cfg_alloc(p->c, n * sizeof(long long));
		t->iop = cfg_alloc(p->c, n * sizeof(int));
		for (k = 0; k < n; k++) {
			static const char *ops[] = { "eq", "ge", "gt", "le", "lt" };
			int o;

			for (o = 0; o < 5; o++)
				if (strcmp(args[k], ops[o]) == 0)
					break;
			if (o < 5 && k + 1 < n) {
				t->iop[k] = o;
				memmove(&args[k], &args[k + 1], (n - k - 1) * sizeof(char *));
				n--;
				t->npat = n;
			}
			if (parse_int(args[k], 0, LLONG_MAX, &t->ival[k]) < 0) {
				cfg_err(p, "'%s' is not an integer", args[k]);
				return NULL;
			}
		}
	}
	return t;
}

static const char *predef_acls[][2] = {
	{ "TRUE", "always_true" },
	{ "FALSE", "always_false" },
	{ "LOCALHOST", "src 127.0.0.1/8 ::1" },
	{ "METH_CONNECT", "method CONNECT" },
	{ "METH_DELETE", "method DELETE" },
	{ "METH_GET", "method GET HEAD" },
	{ "METH_HEAD", "method HEAD" },
	{ "METH_OPTIONS", "method OPTIONS" },
	{ "METH_POST", "method POST" },
	{ "METH_PUT", "method PUT" },
	{ "METH_TRACE", "method TRACE" },
	{ "HTTP_1.0", "req.ver 1.0" },
	{ "HTTP_1.1", "req.ver 1.1" },
	{ "WAIT_END", "always_true" },
};

static struct acl *
acl_predef(struct cfgp *p, struct proxy *px, const char *name)
{
	char buf[128], *args[8];
	const char *why;
	struct acl *a;
	int i, n;

	for (i = 0; i < (int)(sizeof(predef_acls) / sizeof(predef_acls[0])); i++) {
		if (strcmp(predef_acls[i][0], name) != 0)
			continue;
		n = cfg_tokenize(predef_acls[i][1], buf, sizeof(buf), args, 8, &why);
		a = cfg_alloc(p->c, sizeof(*a));
		a->name = cfg_strdup(p->c, name);
		a->tests = acl_parse_test(p, args, n);
		a->next = px->acls;
		px->acls = a;
		return a;
	}
	return NULL;
}

/*
 * Parse a condition from args[0..n): terms are ACL names, optionally
 * negated with '!', anonymous ACLs between '{' and '}', and '||' or 'or'
 * between alternatives.
 */
static struct cond *
cond_parse(struct cfgp *p, struct proxy *px, char **args, int n, int unless)
{
	struct cond *c;
	int i, or_next = 0, cap = n;

	c = cfg_alloc(p->c, sizeof(*c));
	c->unless = unless;
	c->term = cfg_alloc(p->c, (cap ? cap : 1) * sizeof(struct cond_term));
	for (i = 0; i < n; i++) {
		struct cond_term *t;
		const char *w = args[i];
		int neg = 0;

		if (strcmp(w, "||") == 0 || strcmp(w, "or") == 0) {
			if (c->nterm == 0 || or_next) {
				cfg_err(p, "'%s' without a condition before it", w);
				return NULL;
			}
			or_next = 1;
			continue;
		}
		while (*w == '!') {
			neg = !neg;
			w++;
		}
		if (*w == 0) {
			if (i + 1 >= n) {
				cfg_err(p, "'!' must be followed by an ACL");
				return NULL;
			}
			w = args[++i];
			while (*w == '!') {
				neg = !neg;
				w++;
			}
		}
		t = &c->term[c->nterm++];
		t->neg = (unsigned char)neg;
		t->or_before = (unsigned char)or_next;
		or_next = 0;
		if (strcmp(w, "{") == 0) {
			int j = i + 1, depth = 1;
			struct acl *a;

			while (j < n) {
				if (strcmp(args[j], "}") == 0 && --depth == 0)
					break;
				j++;
			}
			if (j >= n) {
				cfg_err(p, "missing '}' after anonymous ACL");
				return NULL;
			}
			a = cfg_alloc(p->c, sizeof(*a));
			a->name = cfg_strdup(p->c, "anonymous");
			a->tests = acl_parse_test(p, args + i + 1, j - i - 1);
			if (a->tests == NULL)
				return NULL;
			t->acl = a;
			i = j;
			continue;
		}
		t->acl = acl_find(px, w);
		if (t->acl == NULL)
			t->acl = acl_predef(p, px, w);
		if (t->acl == NULL) {
			cfg_err(p, "no such ACL : '%s'", w);
			return NULL;
		}
	}
	if (or_next) {
		cfg_err(p, "condition ends with '||'");
		return NULL;
	}
	if (c->nterm == 0) {
		cfg_err(p, "missing condition after '%s'", unless ? "unless" : "if");
		return NULL;
	}
	return c;
}

/* "if COND" / "unless COND" at args[0]; returns 1 with *cond set, 0 when
 * there is no condition, -1 on error. */
static int
cond_opt(struct cfgp *p, struct proxy *px, char **args, int n,
    struct cond **cond)
{
	*cond = NULL;
	if (n == 0)
		return 0;
	if (strcmp(args[0], "if") != 0 && strcmp(args[0], "unless") != 0) {
		cfg_err(p, "unexpected '%s', expected 'if' or 'unless'", args[0]);
		return -1;
	}
	*cond = cond_parse(p, px, args + 1, n - 1, args[0][0] == 'u');
	return *cond ? 1 : -1;
}

/* ---- server lines ---- */

/* Server options of one shape each, by table: flags, integers in a range,
 * times, strings.  Offsets are into struct srv_defaults. */
enum { SO_FLAG, SO_INT, SO_TIME, SO_STR };

#define SD(f)	offsetof(struct srv_defaults, f)
static const struct {
	const char	*kw;
	int		 kind;
	size_t		 off;
	long long	 lo, hi;	/* SO_FLAG: lo is the value set;
					 * SO_TIME: lo is the minimum */
	const char	*what;		/* "expects ..." in messages */
} srv_opts[] = {
	{ "check",		SO_FLAG, SD(check), 1, 0, NULL },
	{ "no-check",		SO_FLAG, SD(check), 0, 0, NULL },
	{ "backup",		SO_FLAG, SD(backup), 1, 0, NULL },
	{ "no-backup",		SO_FLAG, SD(backup), 0, 0, NULL },
	{ "disabled",		SO_FLAG, SD(disabled), 1, 0, NULL },
	{ "enabled",		SO_FLAG, SD(disabled), 0, 0, NULL },
	{ "agent-check",	SO_FLAG, SD(agent), 1, 0, NULL },
	{ "no-agent-check",	SO_FLAG, SD(agent), 0, 0, NULL },
	{ "inter",		SO_TIME, SD(inter), 1, 0, "a positive time" },
	{ "fastinter",		SO_TIME, SD(fastinter), 1, 0, "a positive time" },
	{ "downinter",		SO_TIME, SD(downinter), 1, 0, "a positive time" },
	{ "agent-inter",	SO_TIME, SD(agent_inter), 1, 0, "a positive time" },
	{ "slowstart",		SO_TIME, SD(slowstart), 0, 0, "a time" },
	{ "rise",		SO_INT, SD(rise), 1, 1000000, "an integer >= 1" },
	{ "fall",		SO_INT, SD(fall), 1, 1000000, "an integer >= 1" },
	{ "weight",		SO_INT, SD(weight), 0, 256, "an integer 0..256" },
	{ "maxconn",		SO_INT, SD(maxconn), 0, INT_MAX, "an integer" },
	{ "port",		SO_INT, SD(chk_port), 1, 65535, "a port number" },
	{ "agent-port",		SO_INT, SD(agent_port), 1, 65535, "a port number" },
	{ "cookie",		SO_STR, SD(cookie), 0, 0, "a value" },
	{ "addr",		SO_STR, SD(chk_addr), 0, 0, "an address" },
	{ "agent-addr",		SO_STR, SD(agent_addr), 0, 0, "an address" },
	{ "agent-send",		SO_STR, SD(agent_send), 0, 0, "a string" },
};
#undef SD

static int
parse_srv_opts(struct cfgp *p, struct srv_defaults *d, char **args, int n)
{
	long long v;
	unsigned t;
	int i;
	size_t k0;

	for (i = 0; i < n; i++) {
		const char *k = args[i];
		const char *val = i + 1 < n ? args[i + 1] : NULL;
		char *field;

		for (k0 = 0; k0 < sizeof(srv_opts) / sizeof(srv_opts[0]); k0++)
			if (strcmp(srv_opts[k0].kw, k) == 0)
				break;
		if (k0 < sizeof(srv_opts) / sizeof(srv_opts[0])) {
			field = (char *)d + srv_opts[k0].off;
			switch (srv_opts[k0].kind) {
			case SO_FLAG:
				*(int *)field = (int)srv_opts[k0].lo;
				continue;
			case SO_TIME:
				if (val == NULL || parse_time(val, &t) < 0 ||
				    (long long)t < srv_opts[k0].lo)
					goto bad;
				*(unsigned *)field = t;
				break;
			case SO_INT:
				if (val == NULL || parse_int(val, srv_opts[k0].lo,
				    srv_opts[k0].hi, &v) < 0)
					goto bad;
				*(int *)field = (int)v;
				break;
			case SO_STR:
				if (val == NULL)
					goto bad;
				*(char **)field = cfg_strdup(p->c, val);
				break;
			}
			i++;
			continue;
		bad:
			cfg_err(p, "'%s' expects %s, got '%s'", k, srv_opts[k0].what,
			    val ? val : "");
			return -1;
		}
		/* Accepted for compatibility, without effect here: those
		 * with a value, then flags. */
		if (strcmp(k, "id") == 0 || strcmp(k, "minconn") == 0 ||
		    strcmp(k, "maxqueue") == 0 ||
		    strcmp(k, "resolvers") == 0 || strcmp(k, "init-addr") == 0 ||
		    strcmp(k, "on-error") == 0 || strcmp(k, "error-limit") == 0 ||
		    strcmp(k, "observe") == 0 || strcmp(k, "pool-max-conn") == 0 ||
		    strcmp(k, "pool-purge-delay") == 0 || strcmp(k, "sni") == 0 ||
		    strcmp(k, "check-sni") == 0 || strcmp(k, "alpn") == 0 ||
		    strcmp(k, "proto") == 0 ||
		    strcmp(k, "resolve-prefer") == 0 || strcmp(k, "max-reuse") == 0 ||
		    strcmp(k, "redir") == 0) {
			if (val == NULL) {
				cfg_err(p, "server option '%s' expects a value", k);
				return -1;
			}
			cfg_warn(p, "server option '%s' is ignored by waxlb", k);
			i++;
			continue;
		}
		if (strcmp(k, "tfo") == 0 || strcmp(k, "no-tfo") == 0 ||
		    strcmp(k, "check-send-proxy") == 0 || strcmp(k, "non-stick") == 0 ||
		    strcmp(k, "allow-0rtt") == 0) {
			cfg_warn(p, "server option '%s' is ignored by waxlb", k);
			continue;
		}
		if (strcmp(k, "on-marked-down") == 0 || strcmp(k, "on-marked-up") == 0) {
			int down = k[10] == 'd';

			if (val == NULL || strcmp(val, down ? "shutdown-sessions" :
			    "shutdown-backup-sessions") != 0) {
				cfg_err(p, "'%s' expects '%s'", k, down ? "shutdown-sessions" :
				    "shutdown-backup-sessions");
				return -1;
			}
			if (down)
				d->on_down_kill = 1;
			else
				d->on_up_kill_bck = 1;
			i++;
			continue;
		}
		if (strcmp(k, "send-proxy") == 0 || strcmp(k, "send-proxy-v2") == 0 ||
		    strcmp(k, "ssl") == 0) {
			cfg_err(p, "server option '%s' is not supported by waxlb", k);
			return -1;
		}
		cfg_err(p, "unknown server option '%s'", k);
		return -1;
	}
	return 0;
}

static void
parse_server(struct cfgp *p, struct proxy *px, char **args, int n)
{
	struct server *s, **tail;
	struct srv_defaults d;
	const char *why;

	if (n < 3) {
		cfg_err(p, "'server' expects <name> and <address>");
		return;
	}
	for (s = px->srv; s; s = s->next)
		if (strcmp(s->name, args[1]) == 0) {
			cfg_err(p, "server '%s' already defined in backend '%s' (line %d)",
			    args[1], px->name, s->line);
			return;
		}
	s = cfg_alloc(p->c, sizeof(*s));
	s->name = cfg_strdup(p->c, args[1]);
	s->addr_text = cfg_strdup(p->c, args[2]);
	s->line = p->line;
	s->be = px;
	if (parse_addr(args[2], 0, &s->addr, &s->addrlen, &why) < 0) {
		cfg_err(p, "server '%s': invalid address '%s': %s", args[1],
		    args[2], why);
		return;
	}
	d = px->defsrv;
	if (parse_srv_opts(p, &d, args + 3, n - 3) < 0)
		return;
	s->check = d.check;
	s->inter = d.inter;
	s->fastinter = d.fastinter ? d.fastinter : d.inter;
	s->downinter = d.downinter ? d.downinter : d.inter;
	s->rise = d.rise;
	s->fall = d.fall;
	s->weight = d.weight;
	s->maxconn = d.maxconn;
	s->backup = d.backup;
	s->disabled = d.disabled;
	s->cookie = d.cookie;
	s->chk_addr = s->addr;
	s->chk_addrlen = s->addrlen;
	if (d.chk_addr) {
		char tmp[300];

		snprintf(tmp, sizeof(tmp), "%s%s%s:1", strchr(d.chk_addr, ':') ?
		    "[" : "", d.chk_addr, strchr(d.chk_addr, ':') ? "]" : "");
		if (parse_addr(tmp, 0, &s->chk_addr, &s->chk_addrlen, &why) < 0) {
			cfg_err(p, "server '%s': invalid check address '%s': %s",
			    args[1], d.chk_addr, why);
			return;
		}
		if (s->chk_addr.ss_family == s->addr.ss_family)
			memcpy(&((struct sockaddr_in *)&s->chk_addr)->sin_port,
			    &((struct sockaddr_in *)&s->addr)->sin_port, 2);
	}
	if (d.chk_port) {
		uint16_t port = htons((uint16_t)d.chk_port);

		memcpy(&((struct sockaddr_in *)&s->chk_addr)->sin_port, &port, 2);
	}
	s->agent = d.agent;
	s->agent_inter = d.agent_inter ? d.agent_inter : d.inter;
	s->agent_send = d.agent_send;
	s->on_down_kill = d.on_down_kill;
	s->on_up_kill_bck = d.on_up_kill_bck;
	s->slowstart = d.slowstart;
	if (s->agent) {
		char tmp[300];
		const char *a = d.agent_addr;

		if (d.agent_port == 0) {
			cfg_err(p, "server '%s': 'agent-check' needs 'agent-port'", args[1]);
			return;
		}
		if (a == NULL) {
			s->agent_sa = s->addr;
			s->agent_salen = s->addrlen;
		} else {
			snprintf(tmp, sizeof(tmp), "%s%s%s:1", strchr(a, ':') ? "[" : "",
			    a, strchr(a, ':') ? "]" : "");
			if (parse_addr(tmp, 0, &s->agent_sa, &s->agent_salen, &why) < 0) {
				cfg_err(p, "server '%s': invalid agent-addr '%s': %s",
				    args[1], a, why);
				return;
			}
		}
		{
			uint16_t port = htons((uint16_t)d.agent_port);

			memcpy(&((struct sockaddr_in *)&s->agent_sa)->sin_port, &port, 2);
		}
	}
	for (tail = &px->srv; *tail; tail = &(*tail)->next)
		;
	*tail = s;
	s->id = ++px->nsrv;
}

/* ---- bind ---- */

static int
parse_tls_ver(const char *v, unsigned *out)
{
	if (strcmp(v, "TLSv1.0") == 0)
		*out = BR_TLS10;
	else if (strcmp(v, "TLSv1.1") == 0)
		*out = BR_TLS11;
	else if (strcmp(v, "TLSv1.2") == 0)
		*out = BR_TLS12;
	else
		return -1;
	return 0;
}

static void
parse_bind(struct cfgp *p, struct proxy *px, char **args, int n)
{
	char addrs[CFG_LINE_MAX], *a, *save = NULL;
	const char *why;
	struct tls_conf *tc = NULL;
	int i, ssl = 0;

	if (n < 2) {
		cfg_err(p, "'bind' expects an address");
		return;
	}
	tc = cfg_alloc(p->c, sizeof(*tc));
	tc->file = cfg_strdup(p->c, p->file);
	tc->line = p->line;
	for (i = 2; i < n; i++) {
		const char *k = args[i], *v = i + 1 < n ? args[i + 1] : NULL;

		if (strcmp(k, "ssl") == 0) {
			ssl = 1;
			continue;
		}
		if (strcmp(k, "crt") == 0 || strcmp(k, "alpn") == 0 ||
		    strcmp(k, "ciphers") == 0 || strcmp(k, "ssl-min-ver") == 0 ||
		    strcmp(k, "ssl-max-ver") == 0 || strcmp(k, "ciphersuites") == 0 ||
		    strcmp(k, "curves") == 0 || strcmp(k, "ecdhe") == 0 ||
		    strcmp(k, "npn") == 0) {
			if (v == NULL) {
				cfg_err(p, "bind option '%s' expects a value", k);
				return;
			}
			i++;
		}
		if (strcmp(k, "crt") == 0) {
			if (tc->ncrt == 16) {
				cfg_err(p, "too many 'crt' on one bind line (16 at most)");
				return;
			}
			tc->crt[tc->ncrt++] = cfg_strdup(p->c, v);
			continue;
		}
		if (strcmp(k, "alpn") == 0) {
			char list[256], *t, *sv = NULL;

			snprintf(list, sizeof(list), "%s", v);
			for (t = strtok_r(list, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
				if (strcmp(t, "http/1.1") == 0 || strcmp(t, "http/1.0") == 0) {
					if (tc->nalpn < 4)
						tc->alpn[tc->nalpn++] = cfg_strdup(p->c, t);
				} else
					cfg_warn(p, "alpn '%s' is not offered: waxlb speaks "
					    "HTTP/1.1 only", t);
			}
			continue;
		}
		if (strcmp(k, "ciphers") == 0) {
			tc->ciphers = cfg_strdup(p->c, v);
			continue;
		}
		if (strcmp(k, "ssl-min-ver") == 0 || strcmp(k, "ssl-max-ver") == 0) {
			unsigned ver;

			/* ssl-m[i]n-ver / ssl-m[a]x-ver */
			if (strcmp(v, "TLSv1.3") == 0 && k[5] == 'a') {
				cfg_warn(p, "ssl-max-ver TLSv1.3: BearSSL stops at TLSv1.2");
				continue;
			}
			if (parse_tls_ver(v, &ver) < 0) {
				cfg_err(p, "%s '%s': expected TLSv1.0, TLSv1.1 or TLSv1.2 "
				    "(BearSSL has no TLSv1.3)", k, v);
				return;
			}
			if (k[5] == 'i')
				tc->vmin = ver;
			else
				tc->vmax = ver;
			continue;
		}
		if (strcmp(k, "strict-sni") == 0) {
			tc->strict_sni = 1;
			continue;
		}
		if (strcmp(k, "ciphersuites") == 0 || strcmp(k, "curves") == 0 ||
		    strcmp(k, "ecdhe") == 0 || strcmp(k, "npn") == 0) {
			cfg_warn(p, "bind option '%s' is ignored by waxlb", k);
			continue;
		}
		if (strcmp(k, "no-sslv3") == 0 || strcmp(k, "no-tls-tickets") == 0 ||
		    strcmp(k, "prefer-client-ciphers") == 0 ||
		    strcmp(k, "no-tlsv13") == 0 || strcmp(k, "force-tlsv12") == 0) {
			continue;	/* already true with BearSSL */
		}
		if (strcmp(k, "no-tlsv10") == 0) {
			if (tc->vfloor < BR_TLS11)
				tc->vfloor = BR_TLS11;
			continue;
		}
		if (strcmp(k, "no-tlsv11") == 0) {
			if (tc->vfloor < BR_TLS12)
				tc->vfloor = BR_TLS12;
			continue;
		}
		if (strcmp(k, "crt-list") == 0 || strcmp(k, "ca-file") == 0 ||
		    strcmp(k, "verify") == 0 || strcmp(k, "crl-file") == 0) {
			cfg_err(p, "bind option '%s' is not supported by waxlb", k);
			return;
		}
		if (strcmp(k, "name") == 0 || strcmp(k, "id") == 0 ||
		    strcmp(k, "maxconn") == 0 || strcmp(k, "backlog") == 0 ||
		    strcmp(k, "process") == 0 || strcmp(k, "thread") == 0 ||
		    strcmp(k, "interface") == 0 ||
		    strcmp(k, "mss") == 0 || strcmp(k, "nice") == 0) {
			cfg_warn(p, "bind option '%s' is ignored by waxlb", k);
			i++;
			continue;
		}
		if (strcmp(k, "v4v6") == 0 || strcmp(k, "v6only") == 0 ||
		    strcmp(k, "defer-accept") == 0 || strcmp(k, "tfo") == 0 ||
		    strcmp(k, "transparent") == 0) {
			cfg_warn(p, "bind option '%s' is ignored by waxlb", k);
			continue;
		}
		cfg_err(p, "unknown or unsupported bind option '%s'", k);
		return;
	}
	if (ssl && tc->ncrt == 0) {
		cfg_err(p, "'ssl' needs at least one 'crt FILE' on the bind line");
		return;
	}
	if (!ssl && (tc->ncrt || tc->ciphers || tc->nalpn))
		cfg_warn(p, "TLS options without 'ssl' have no effect");
	snprintf(addrs, sizeof(addrs), "%s", args[1]);
	for (a = strtok_r(addrs, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		struct bind_conf *b = cfg_alloc(p->c, sizeof(*b)), **tail;

		if (a[0] == '/' || strncmp(a, "unix@", 5) == 0 ||
		    strncmp(a, "abns@", 5) == 0 || strncmp(a, "fd@", 3) == 0) {
			cfg_err(p, "bind '%s': only IPv4 and IPv6 addresses are supported", a);
			return;
		}
		if (strchr(a, '-') && strrchr(a, ':') &&
		    strchr(strrchr(a, ':'), '-')) {
			cfg_err(p, "bind '%s': port ranges are not supported", a);
			return;
		}
		if (parse_addr(a, 1, &b->addr, &b->addrlen, &why) < 0) {
			cfg_err(p, "bind '%s': %s", a, why);
			return;
		}
		b->text = cfg_strdup(p->c, a);
		b->line = p->line;
		b->tls = ssl ? tc : NULL;
		for (tail = &px->binds; *tail; tail = &(*tail)->next)
			;
		*tail = b;
	}
}

/* ---- keywords of defaults/frontend/backend/listen ---- */

static const char *tmo_names[T_COUNT] = {
	"connect", "client", "server", "tunnel", "http-request",
	"http-keep-alive", "queue", "check", "client-fin", "server-fin"
};

/* HAProxy keywords that are accepted and ignored, with a warning. */
static const char *ignored_px_kw[] = {
	"description", "id", "errorfile", "errorfiles", "capture",
	"compression", "hash-type", "fullconn", "http-reuse", "tcp-request",
	"tcp-response", "http-response", "http-after-response",
	"monitor-uri", "monitor", "unique-id-format", "unique-id-header",
	"log-format", "log-tag", "email-alert", "cookie", "rate-limit",
	"max-keep-alive-queue", "persist", "stick-table", "stick", "grace",
	"dispatch", "server-state-file-name", "load-server-state-from-file",
	"external-check", "log-format-sd", "error-log-format",
	"filter", "declare", "force-persist", "ignore-persist", NULL
};

/* Options accepted as documented no-ops or ignored with a warning. */
static const char *ignored_opts[] = {
	"log-health-checks", "abortonclose", "splice-auto", "splice-request",
	"splice-response", "tcpka", "clitcpka", "srvtcpka", "contstats",
	"socket-stats", "log-separate-errors", "logasap", "http-buffer-request",
	"allbackups", "prefer-last-server", "persist", "http-no-delay",
	"http-ignore-probes", "accept-invalid-http-request",
	"accept-invalid-http-response", "http-pretend-keepalive",
	"http-use-htx", "tcp-check", "ssl-hello-chk",
	"mysql-check", "pgsql-check", "redis-check", "smtpchk", "ldap-check",
	"spop-check", "external-check", "originalto", "nolinger",
	"independent-streams", "disable-h2-upgrade", "idle-close-on-response",
	"checkcache", "tcp-smart-accept", "tcp-smart-connect", "transparent",
	"http-restrict-req-hdr-names", NULL
};

static int
in_list(const char *const *list, const char *w)
{
	for (; *list; list++)
		if (strcmp(*list, w) == 0)
			return 1;
	return 0;
}

static int
need_cap(struct cfgp *p, struct proxy *px, int cap, const char *kw)
{
	if ((px->cap & cap) || p->section == SEC_DEFAULTS)
		return 1;
	cfg_warn(p, "'%s' ignored because %s '%s' has no %s capability", kw,
	    p->section == SEC_DEFAULTS ? "defaults" : "proxy", px->name,
	    cap == CAP_FE ? "frontend" : "backend");
	return 0;
}

static int
parse_hex32(const char *s, unsigned char out[32])
{
	int i;

	if (strlen(s) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);

		if (a < 0 || b < 0)
			return -1;
		out[i] = (unsigned char)(a * 16 + b);
	}
	return 0;
}

/* option nodeos-check [max-lag T] [stall T] [chain-id HEX]
 * option ship-check [max-lag T] [stall T] [ref-backend B] [block-interval T]
 *                   [chain-id HEX] [probe-blocks] */
static void
parse_chain_check(struct cfgp *p, struct proxy *px, char **args, int n,
    int nodeos)
{
	struct chk_conf *c = &px->chk;
	unsigned t;
	int i;

	c->kind = nodeos ? CHK_NODEOS : CHK_SHIP;
	c->max_lag_ms = nodeos ? 60000 : 15000;
	c->stall_ms = 30000;
	c->block_interval_ms = 500;
	c->file = cfg_strdup(p->c, p->file);
	c->line = p->line;
	for (i = 0; i < n; i++) {
		const char *k = args[i], *v = i + 1 < n ? args[i + 1] : NULL;

		if (strcmp(k, "max-lag") == 0 || strcmp(k, "stall") == 0 ||
		    (!nodeos && strcmp(k, "block-interval") == 0)) {
			if (v == NULL || parse_time(v, &t) < 0 || t == 0) {
				cfg_err(p, "'%s' expects a positive time", k);
				return;
			}
			if (k[0] == 'm')
				c->max_lag_ms = t;
			else if (k[0] == 's')
				c->stall_ms = t;
			else
				c->block_interval_ms = t;
			i++;
		} else if (strcmp(k, "chain-id") == 0) {
			if (v == NULL || parse_hex32(v, c->chain_id) < 0) {
				cfg_err(p, "'chain-id' expects 64 hexadecimal digits");
				return;
			}
			c->has_chain_id = 1;
			i++;
		} else if (!nodeos && strcmp(k, "ref-backend") == 0) {
			if (v == NULL) {
				cfg_err(p, "'ref-backend' expects a backend name");
				return;
			}
			c->ref_be_name = cfg_strdup(p->c, v);
			i++;
		} else if (!nodeos && strcmp(k, "probe-blocks") == 0) {
			c->probe_blocks = 1;
		} else {
			cfg_err(p, "option %s-check: unknown argument '%s'",
			    nodeos ? "nodeos" : "ship", k);
			return;
		}
	}
}

/* http-check send ... | http-check expect ... */
static void
parse_http_check(struct cfgp *p, struct proxy *px, char **args, int n)
{
	struct chk_conf *c = &px->chk;
	int i;

	if (n < 2) {
		cfg_err(p, "'http-check' expects 'send' or 'expect'");
		return;
	}
	if (strcmp(args[1], "send") == 0) {
		char hdrs[2048];
		size_t hl = 0;

		hdrs[0] = 0;
		for (i = 2; i < n; i++) {
			const char *v = i + 1 < n ? args[i + 1] : NULL;

			if (strcmp(args[i], "meth") == 0 && v) {
				c->meth = cfg_strdup(p->c, v);
				i++;
			} else if (strcmp(args[i], "uri") == 0 && v) {
				c->uri = cfg_strdup(p->c, v);
				i++;
			} else if (strcmp(args[i], "ver") == 0 && v) {
				c->ver = cfg_strdup(p->c, v);
				i++;
			} else if (strcmp(args[i], "hdr") == 0 && v && i + 2 < n) {
				int w = snprintf(hdrs + hl, sizeof(hdrs) - hl, "%s: %s\r\n",
				    v, args[i + 2]);

				if (w < 0 || (size_t)w >= sizeof(hdrs) - hl) {
					cfg_err(p, "http-check send: headers too long");
					return;
				}
				hl += (size_t)w;
				i += 2;
			} else if (strcmp(args[i], "body") == 0 && v) {
				c->body = cfg_strdup(p->c, v);
				i++;
			} else {
				cfg_err(p, "http-check send: unexpected '%s'", args[i]);
				return;
			}
		}
		if (hl)
			c->hdrs = cfg_strdup(p->c, hdrs);
		if (c->kind == CHK_TCP)
			c->kind = CHK_HTTP;
		if (c->meth == NULL)
			c->meth = "GET";
		if (c->uri == NULL)
			c->uri = "/";
		if (c->ver == NULL)
			c->ver = "HTTP/1.1";
		return;
	}
	if (strcmp(args[1], "expect") == 0) {
		i = 2;
		c->exp_neg = 0;
		if (i < n && strcmp(args[i], "!") == 0) {
			c->exp_neg = 1;
			i++;
		}
		if (i + 1 >= n) {
			cfg_err(p, "http-check expect: expected status, rstatus, "
			    "string or rstring and a pattern");
			return;
		}
		if (strcmp(args[i], "status") == 0) {
			char list[256], *t, *sv = NULL;

			c->exp_kind = EXP_STATUS;
			c->nexp_range = 0;
			snprintf(list, sizeof(list), "%s", args[i + 1]);
			for (t = strtok_r(list, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
				long long a, b;
				char *dash = strchr(t, '-');

				if (dash)
					*dash = 0;
				if (parse_int(t, 100, 999, &a) < 0 || (dash &&
				    parse_int(dash + 1, 100, 999, &b) < 0) ||
				    c->nexp_range == 8) {
					cfg_err(p, "http-check expect status: bad code list '%s'",
					    args[i + 1]);
					return;
				}
				c->exp_range[c->nexp_range][0] = (int)a;
				c->exp_range[c->nexp_range][1] = dash ? (int)b : (int)a;
				c->nexp_range++;
			}
		} else if (strcmp(args[i], "string") == 0) {
			c->exp_kind = EXP_STRING;
			c->exp_str = cfg_strdup(p->c, args[i + 1]);
		} else if (strcmp(args[i], "rstatus") == 0 ||
		    strcmp(args[i], "rstring") == 0) {
			struct arena_blk *b;

			c->exp_kind = args[i][1] == 's' && args[i][2] == 't' &&
			    args[i][3] == 'a' ? EXP_RSTATUS : EXP_RSTRING;
			c->exp_re = cfg_alloc(p->c, sizeof(regex_t));
			if (regex_sane(args[i + 1]) < 0 ||
			    regcomp(c->exp_re, args[i + 1], REG_EXTENDED | REG_NOSUB) != 0) {
				cfg_err(p, "http-check expect: invalid regex '%s'", args[i + 1]);
				return;
			}
			b = cfg_alloc(p->c, 0);
			b = (struct arena_blk *)((char *)b - offsetof(struct arena_blk, align));
			b->re = c->exp_re;
		} else {
			cfg_err(p, "http-check expect: unknown match '%s'", args[i]);
			return;
		}
		if (c->kind == CHK_TCP)
			c->kind = CHK_HTTP;
		if (c->meth == NULL) {
			c->meth = "OPTIONS";
			c->uri = "/";
			c->ver = "HTTP/1.0";
		}
		return;
	}
	if (strcmp(args[1], "disable-on-404") == 0 ||
	    strcmp(args[1], "send-state") == 0 || strcmp(args[1], "comment") == 0 ||
	    strcmp(args[1], "connect") == 0 || strcmp(args[1], "set-var") == 0) {
		cfg_warn(p, "'http-check %s' is ignored by waxlb", args[1]);
		return;
	}
	cfg_err(p, "unknown 'http-check %s'", args[1]);
}

static void
parse_option(struct cfgp *p, struct proxy *px, char **args, int n, int no)
{
	const char *o;

	if (n < 2) {
		cfg_err(p, "'option' expects an option name");
		return;
	}
	o = args[1];
	if (strcmp(o, "redispatch") == 0) {
		if (no)
			px->options &= ~OPT_REDISPATCH;
		else
			px->options |= OPT_REDISPATCH;
		if (n > 2)
			cfg_warn(p, "'option redispatch %s': the interval is ignored "
			    "(HAProxy's default applies: every retry for roundrobin with "
			    "several servers, else the last one)", args[2]);
	} else if (strcmp(o, "forwardfor") == 0) {
		if (no)
			px->options &= ~OPT_FORWARDFOR;
		else
			px->options |= OPT_FORWARDFOR;
		if (n > 2)
			cfg_warn(p, "'option forwardfor' arguments are ignored");
	} else if (strcmp(o, "http-keep-alive") == 0) {
		px->http_mode = HTTP_KAL;
	} else if (strcmp(o, "http-server-close") == 0) {
		px->http_mode = no ? HTTP_KAL : HTTP_SCL;
	} else if (strcmp(o, "httpclose") == 0 || strcmp(o, "forceclose") == 0 ||
	    strcmp(o, "http-tunnel") == 0) {
		px->http_mode = no ? HTTP_KAL : HTTP_CLO;
	} else if (strcmp(o, "dontlognull") == 0) {
		if (no)
			px->options &= ~OPT_DONTLOGNULL;
		else
			px->options |= OPT_DONTLOGNULL;
	} else if (strcmp(o, "httpchk") == 0) {
		/* option httpchk [<method>] <uri> [<version>] */
		px->chk.kind = no ? CHK_TCP : CHK_HTTP;
		px->chk.meth = "OPTIONS";
		px->chk.uri = "/";
		px->chk.ver = "HTTP/1.0";
		if (n == 3)
			px->chk.uri = cfg_strdup(p->c, args[2]);
		else if (n >= 4) {
			px->chk.meth = cfg_strdup(p->c, args[2]);
			px->chk.uri = cfg_strdup(p->c, args[3]);
			if (n >= 5)
				px->chk.ver = cfg_strdup(p->c, args[4]);
		}
	} else if (strcmp(o, "nodeos-check") == 0 || strcmp(o, "ship-check") == 0) {
		parse_chain_check(p, px, args + 2, n - 2, o[0] == 'n');
	} else if (strcmp(o, "httplog") == 0) {
		px->options |= OPT_HTTPLOG;
	} else if (strcmp(o, "tcplog") == 0) {
		px->options |= OPT_TCPLOG;
	} else if (in_list(ignored_opts, o)) {
		if (strcmp(o, "tcp-check") == 0)
			cfg_warn(p, "'option %s' is not supported: servers with "
			    "'check' get a TCP connect check", o);
		else
			cfg_warn(p, "'option %s' is ignored by waxlb", o);
	} else
		cfg_err(p, "unknown option '%s'", o);
}

static struct log_target *parse_log(struct cfgp *p, char **args, int n);

#define IS_TCHAR_CFG(c) (isalnum((unsigned char)(c)) || strchr("!#$%&'*+-.^_`|~", (c)))

/* "scheme S | location L | prefix P [code N] [drop-query]"; returns the
 * number of words used, or -1. */
static int
parse_redirect(struct cfgp *p, struct hreq_rule *r, char **args, int n)
{
	long long v;
	int i;

	if (n < 2) {
		cfg_err(p, "'redirect' expects 'scheme', 'location' or 'prefix' "
		    "and a value");
		return -1;
	}
	if (strcmp(args[0], "scheme") == 0)
		r->redir = REDIR_SCHEME;
	else if (strcmp(args[0], "location") == 0)
		r->redir = REDIR_LOCATION;
	else if (strcmp(args[0], "prefix") == 0)
		r->redir = REDIR_PREFIX;
	else {
		cfg_err(p, "redirect '%s': expected scheme, location or prefix",
		    args[0]);
		return -1;
	}
	if (strstr(args[1], "%[")) {
		cfg_err(p, "redirect: only literal values are supported");
		return -1;
	}
	r->value = cfg_strdup(p->c, args[1]);
	r->status = 302;
	for (i = 2; i < n; i++) {
		if (strcmp(args[i], "code") == 0) {
			if (i + 1 >= n || parse_int(args[i + 1], 301, 308, &v) < 0 ||
			    v == 304 || v == 305 || v == 306) {
				cfg_err(p, "redirect code must be 301, 302, 303, 307 or 308");
				return -1;
			}
			r->status = (int)v;
			i++;
		} else if (strcmp(args[i], "drop-query") == 0)
			r->drop_query = 1;
		else if (strcmp(args[i], "append-slash") == 0 ||
		    strcmp(args[i], "set-cookie") == 0 ||
		    strcmp(args[i], "clear-cookie") == 0) {
			cfg_err(p, "redirect option '%s' is not supported", args[i]);
			return -1;
		} else
			break;
	}
	return i;
}

static void
parse_proxy_kw(struct cfgp *p, struct proxy *px, char **args, int n)
{
	const char *kw = args[0];
	long long v;
	unsigned t;
	int i;

	if (strcmp(kw, "mode") == 0) {
		if (n != 2 || (strcmp(args[1], "http") && strcmp(args[1], "tcp"))) {
			cfg_err(p, "'mode' expects 'http' or 'tcp'");
			return;
		}
		px->mode = args[1][0] == 'h' ? MODE_HTTP : MODE_TCP;
	} else if (strcmp(kw, "timeout") == 0) {
		if (n != 3) {
			cfg_err(p, "'timeout' expects <name> <time>");
			return;
		}
		for (i = 0; i < T_COUNT; i++)
			if (strcmp(args[1], tmo_names[i]) == 0)
				break;
		if (i == T_COUNT) {
			cfg_err(p, "unknown timeout '%s'", args[1]);
			return;
		}
		if (parse_time(args[2], &t) < 0) {
			cfg_err(p, "timeout %s: invalid time value '%s'", args[1],
			    args[2]);
			return;
		}
		px->timeout[i] = t;
	} else if (strcmp(kw, "maxconn") == 0) {
		if (n != 2 || parse_int(args[1], 0, INT_MAX, &v) < 0) {
			cfg_err(p, "'maxconn' expects an integer");
			return;
		}
		if (need_cap(p, px, CAP_FE, kw))
			px->maxconn = (int)v;
	} else if (strcmp(kw, "retries") == 0) {
		if (n != 2 || parse_int(args[1], 0, 1000, &v) < 0) {
			cfg_err(p, "'retries' expects an integer");
			return;
		}
		px->retries = (int)v;
	} else if (strcmp(kw, "option") == 0) {
		parse_option(p, px, args, n, 0);
	} else if (strcmp(kw, "no") == 0 && n >= 2 && strcmp(args[1], "option") == 0) {
		parse_option(p, px, args + 1, n - 1, 1);
	} else if (strcmp(kw, "balance") == 0) {
		if (n < 2) {
			cfg_err(p, "'balance' expects an algorithm");
			return;
		}
		if (strcmp(args[1], "roundrobin") == 0)
			px->lb = LB_RR;
		else if (strcmp(args[1], "leastconn") == 0)
			px->lb = LB_LEASTCONN;
		else if (strcmp(args[1], "first") == 0)
			px->lb = LB_FIRST;
		else {
			cfg_err(p, "balance '%s' is not supported (roundrobin, "
			    "leastconn, first)", args[1]);
			return;
		}
		if (n > 2)
			cfg_err(p, "'balance %s' takes no argument", args[1]);
		need_cap(p, px, CAP_BE, kw);
	} else if (strcmp(kw, "http-check") == 0) {
		parse_http_check(p, px, args, n);
	} else if (strcmp(kw, "log") == 0) {
		if (n == 2 && strcmp(args[1], "global") == 0)
			px->log_global = 1;
		else if (n == 1 || (n == 2 && strcmp(args[1], "off") == 0)) {
			px->log_global = 0;
			px->logs = NULL;
		} else {
			struct log_target *t = parse_log(p, args, n), **tail;

			if (t == NULL)
				return;
			for (tail = &px->logs; *tail; tail = &(*tail)->next)
				;
			*tail = t;
		}
	} else if (strcmp(kw, "stats") == 0) {
		if (p->section != SEC_DEFAULTS && !need_cap(p, px, CAP_FE, kw))
			return;
		if (n < 2) {
			cfg_err(p, "'stats' expects a keyword");
			return;
		}
		if (strcmp(args[1], "enable") == 0) {
			px->stats_enable = 1;
			if (px->stats_uri == NULL)
				px->stats_uri = "/haproxy?stats";
		} else if (strcmp(args[1], "uri") == 0 && n == 3) {
			px->stats_enable = 1;
			px->stats_uri = cfg_strdup(p->c, args[2]);
		} else if (strcmp(args[1], "refresh") == 0 && n == 3) {
			if (parse_time(args[2], &t) < 0) {
				cfg_err(p, "stats refresh: bad time '%s'", args[2]);
				return;
			}
			px->stats_refresh = t;
		} else if (strcmp(args[1], "auth") == 0 && n == 3) {
			if (strchr(args[2], ':') == NULL || px->nstats_auth == 8) {
				cfg_err(p, "stats auth expects user:password (8 at most)");
				return;
			}
			px->stats_enable = 1;
			if (px->stats_uri == NULL)
				px->stats_uri = "/haproxy?stats";
			px->stats_auth[px->nstats_auth++] = cfg_strdup(p->c, args[2]);
		} else if (strcmp(args[1], "admin") == 0) {
			cfg_warn(p, "'stats admin' is ignored: the page is read-only; use "
			    "the stats socket");
		} else if (strcmp(args[1], "prometheus-uri") == 0 && n == 3) {
			/* waxlb extension: the same as use-service prometheus-exporter
			 * on that path */
			px->prom_uri = cfg_strdup(p->c, args[2]);
		} else if (strcmp(args[1], "realm") == 0 || strcmp(args[1], "hide-version") == 0 ||
		    strcmp(args[1], "show-legends") == 0 || strcmp(args[1], "show-node") == 0 ||
		    strcmp(args[1], "show-desc") == 0 || strcmp(args[1], "scope") == 0 ||
		    strcmp(args[1], "show-modules") == 0) {
			/* cosmetic */
		} else
			cfg_err(p, "unknown or incomplete 'stats %s'", args[1]);
	} else if (strcmp(kw, "default-server") == 0) {
		parse_srv_opts(p, &px->defsrv, args + 1, n - 1);
	} else if (strcmp(kw, "server") == 0) {
		if (p->section == SEC_DEFAULTS || !(px->cap & CAP_BE)) {
			cfg_err(p, "'server' not allowed in a %s section",
			    p->section == SEC_DEFAULTS ? "defaults" : "frontend");
			return;
		}
		parse_server(p, px, args, n);
	} else if (strcmp(kw, "bind") == 0) {
		if (p->section == SEC_DEFAULTS || !(px->cap & CAP_FE)) {
			cfg_err(p, "'bind' not allowed in a %s section",
			    p->section == SEC_DEFAULTS ? "defaults" : "backend");
			return;
		}
		parse_bind(p, px, args, n);
	} else if (strcmp(kw, "acl") == 0) {
		struct acl *a;
		struct acl_test *tst, **tail;

		if (p->section == SEC_DEFAULTS) {
			cfg_err(p, "'acl' not allowed in a defaults section");
			return;
		}
		if (n < 3) {
			cfg_err(p, "'acl' expects <name> <fetch> [flags] [patterns]");
			return;
		}
		for (i = 0; args[1][i]; i++)
			if (!isalnum((unsigned char)args[1][i]) &&
			    !strchr("_-.:", args[1][i])) {
				cfg_err(p, "invalid character '%c' in ACL name '%s'",
				    args[1][i], args[1]);
				return;
			}
		tst = acl_parse_test(p, args + 2, n - 2);
		if (tst == NULL)
			return;
		a = acl_find(px, args[1]);
		if (a == NULL) {
			a = cfg_alloc(p->c, sizeof(*a));
			a->name = cfg_strdup(p->c, args[1]);
			a->next = px->acls;
			px->acls = a;
		}
		for (tail = &a->tests; *tail; tail = &(*tail)->next)
			;
		*tail = tst;
	} else if (strcmp(kw, "use_backend") == 0) {
		struct switch_rule *r, **tail;

		if (p->section == SEC_DEFAULTS) {
			cfg_err(p, "'use_backend' not allowed in a defaults section");
			return;
		}
		if (!need_cap(p, px, CAP_FE, kw))
			return;
		if (n < 2) {
			cfg_err(p, "'use_backend' expects a backend name");
			return;
		}
		r = cfg_alloc(p->c, sizeof(*r));
		r->be_name = cfg_strdup(p->c, args[1]);
		r->line = p->line;
		r->file = cfg_strdup(p->c, p->file);
		if (cond_opt(p, px, args + 2, n - 2, &r->cond) < 0)
			return;
		for (tail = &px->rules; *tail; tail = &(*tail)->next)
			;
		*tail = r;
	} else if (strcmp(kw, "default_backend") == 0) {
		if (n != 2) {
			cfg_err(p, "'default_backend' expects a backend name");
			return;
		}
		if (!need_cap(p, px, CAP_FE, kw))
			return;
		px->default_be_name = cfg_strdup(p->c, args[1]);
		px->default_be_line = p->line;
		px->default_be_file = cfg_strdup(p->c, p->file);
	} else if (strcmp(kw, "http-request") == 0) {
		struct hreq_rule *r, **tail;
		int k = 2;

		if (p->section == SEC_DEFAULTS) {
			cfg_err(p, "'http-request' rules in a defaults section are "
			    "not supported");
			return;
		}
		if (n < 2) {
			cfg_err(p, "'http-request' expects an action");
			return;
		}
		r = cfg_alloc(p->c, sizeof(*r));
		if (strcmp(args[1], "deny") == 0 || strcmp(args[1], "reject") == 0 ||
		    strcmp(args[1], "tarpit") == 0) {
			r->act = HR_DENY;
			r->status = 403;
			if (strcmp(args[1], "deny") != 0)
				cfg_warn(p, "'http-request %s' is handled as 'deny'", args[1]);
			if (k < n && strcmp(args[k], "deny_status") == 0) {
				if (k + 1 >= n || parse_int(args[k + 1], 200, 599, &v) < 0) {
					cfg_err(p, "'deny_status' expects an HTTP status code");
					return;
				}
				r->status = (int)v;
				k += 2;
			}
		} else if (strcmp(args[1], "allow") == 0) {
			r->act = HR_ALLOW;
		} else if (strcmp(args[1], "set-header") == 0 ||
		    strcmp(args[1], "add-header") == 0) {
			if (n < 4) {
				cfg_err(p, "'http-request %s' expects <name> <value>", args[1]);
				return;
			}
			if (strstr(args[3], "%[") || strchr(args[3], '\r') ||
			    strchr(args[3], '\n')) {
				cfg_err(p, "'http-request %s': only literal values are "
				    "supported (no %%[...] expressions)", args[1]);
				return;
			}
			for (i = 0; args[2][i]; i++)
				if (!IS_TCHAR_CFG(args[2][i])) {
					cfg_err(p, "invalid header name '%s'", args[2]);
					return;
				}
			r->act = args[1][0] == 's' ? HR_SET_HDR : HR_ADD_HDR;
			r->name = cfg_strdup(p->c, args[2]);
			r->value = cfg_strdup(p->c, args[3]);
			k = 4;
		} else if (strcmp(args[1], "del-header") == 0) {
			if (n < 3) {
				cfg_err(p, "'http-request del-header' expects <name>");
				return;
			}
			r->act = HR_DEL_HDR;
			r->name = cfg_strdup(p->c, args[2]);
			k = 3;
		} else if (strcmp(args[1], "use-service") == 0) {
			if (n < 3 || strcmp(args[2], "prometheus-exporter") != 0) {
				cfg_err(p, "'http-request use-service': only "
				    "'prometheus-exporter' is supported");
				return;
			}
			if (cond_opt(p, px, args + 3, n - 3, &px->prom_cond) < 0)
				return;
			if (px->prom_cond == NULL) {
				/* unconditional: every request is a scrape */
				px->prom_cond = cfg_alloc(p->c, sizeof(struct cond));
			}
			return;
		} else if (strcmp(args[1], "redirect") == 0) {
			r->act = HR_REDIRECT;
			k = parse_redirect(p, r, args + 2, n - 2);
			if (k < 0)
				return;
			k += 2;
		} else {
			cfg_err(p, "'http-request %s' is not supported (deny, allow, "
			    "set-header, add-header, del-header, redirect)", args[1]);
			return;
		}
		if (cond_opt(p, px, args + k, n - k, &r->cond) < 0)
			return;
		if (r->act == HR_SET_HDR || r->act == HR_ADD_HDR || r->act == HR_DEL_HDR) {
			struct hreq_rule *o;
			int nh = 1;

			for (o = px->hreq; o; o = o->next)
				nh += o->act == HR_SET_HDR || o->act == HR_ADD_HDR ||
				    o->act == HR_DEL_HDR;
			if (nh > HDR_ACTIONS_MAX) {
				cfg_err(p, "more than %d header rules in '%s'",
				    HDR_ACTIONS_MAX, px->name);
				return;
			}
		}
		for (tail = &px->hreq; *tail; tail = &(*tail)->next)
			;
		*tail = r;
	} else if (strcmp(kw, "redirect") == 0) {
		struct hreq_rule *r, **tail;
		int k;

		if (p->section == SEC_DEFAULTS || !need_cap(p, px, CAP_FE, kw))
			return;
		r = cfg_alloc(p->c, sizeof(*r));
		r->act = HR_REDIRECT;
		k = parse_redirect(p, r, args + 1, n - 1);
		if (k < 0)
			return;
		if (cond_opt(p, px, args + 1 + k, n - 1 - k, &r->cond) < 0)
			return;
		for (tail = &px->redirects; *tail; tail = &(*tail)->next)
			;
		*tail = r;
	} else if (in_list(ignored_px_kw, kw)) {
		if (strcmp(kw, "log") == 0 && n >= 2 && strcmp(args[1], "global") == 0)
			return;		/* logs go to stderr already */
		cfg_warn(p, "'%s' is ignored by waxlb", kw);
	} else
		cfg_err(p, "unknown keyword '%s' in '%s' section", kw,
		    p->section == SEC_DEFAULTS ? "defaults" :
		    px->cap == (CAP_FE | CAP_BE) ? "listen" :
		    px->cap == CAP_FE ? "frontend" : "backend");
}

static const char *log_facilities[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7", NULL
};
static const char *log_levels[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
	NULL
};

static int
word_index(const char *const *list, const char *w)
{
	int i;

	for (i = 0; list[i]; i++)
		if (strcmp(list[i], w) == 0)
			return i;
	return -1;
}

/* log <target> [len N] [format F] <facility> [max level [min level]] */
static struct log_target *
parse_log(struct cfgp *p, char **args, int n)
{
	struct log_target *t;
	const char *why;
	long long v;
	int i = 2;

	if (n < 3) {
		cfg_err(p, "'log' expects <address> <facility> [level]");
		return NULL;
	}
	t = cfg_alloc(p->c, sizeof(*t));
	t->maxlen = 1024;
	t->level = 7;
	t->fd = -1;
	if (strcmp(args[1], "stdout") == 0)
		t->kind = LOGT_STDOUT;
	else if (strcmp(args[1], "stderr") == 0)
		t->kind = LOGT_STDERR;
	else if (args[1][0] == '/' || strncmp(args[1], "unix@", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&t->addr;
		const char *path = args[1][0] == '/' ? args[1] : args[1] + 5;

		if (strlen(path) >= sizeof(un->sun_path)) {
			cfg_err(p, "log: unix socket path too long");
			return NULL;
		}
		t->kind = LOGT_UNIX;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		t->addrlen = sizeof(*un);
	} else {
		char a[300];
		const char *s = strncmp(args[1], "udp@", 4) == 0 ? args[1] + 4 :
		    args[1];

		/* the port is optional: 514 */
		if (s[0] == '[' ? strstr(s, "]:") == NULL : strchr(s, ':') == NULL)
			snprintf(a, sizeof(a), "%s:514", s);
		else
			snprintf(a, sizeof(a), "%s", s);
		if (parse_addr(a, 0, &t->addr, &t->addrlen, &why) < 0) {
			cfg_err(p, "log: invalid address '%s': %s", args[1], why);
			return NULL;
		}
		t->kind = LOGT_UDP;
	}
	for (; i + 1 < n; i += 2) {
		if (strcmp(args[i], "len") == 0) {
			if (parse_int(args[i + 1], 80, 65535, &v) < 0) {
				cfg_err(p, "log: 'len' expects 80..65535");
				return NULL;
			}
			t->maxlen = (int)v;
		} else if (strcmp(args[i], "format") == 0) {
			if (strcmp(args[i + 1], "rfc3164") && strcmp(args[i + 1], "raw") &&
			    strcmp(args[i + 1], "local"))
				cfg_warn(p, "log format '%s' is not supported, RFC 3164 is used",
				    args[i + 1]);
		} else if (strcmp(args[i], "sample") == 0) {
			cfg_warn(p, "log sampling is ignored");
		} else
			break;
	}
	if (i >= n || (t->facility = word_index(log_facilities, args[i])) < 0) {
		cfg_err(p, "log: unknown or missing facility '%s'", i < n ? args[i] : "");
		return NULL;
	}
	if (i + 1 < n) {
		t->level = word_index(log_levels, args[i + 1]);
		if (t->level < 0) {
			cfg_err(p, "log: unknown level '%s'", args[i + 1]);
			return NULL;
		}
	}
	return t;
}

static const char *ignored_global_kw[] = {
	"nbthread", "nbproc", "cpu-map", "ca-base",
	"ssl-default-bind-ciphersuites", "ssl-default-server-ciphers",
	"ssl-default-server-ciphersuites", "ssl-default-server-options",
	"ssl-dh-param-file", "tune.ssl.default-dh-param", "spread-checks",
	"ssl-server-verify", "tune.ssl.capture-cipherlist-size",
	"description", "node", "master-worker", "quiet", "log-send-hostname",
	"log-tag", "server-state-file",
	"server-state-base", "localpeer", "setenv", "presetenv", "unsetenv",
	"resetenv", "tune.ssl.lifetime", "maxsslconn",
	"tune.http.maxhdr", "tune.maxaccept", "tune.h2.max-concurrent-streams",
	"lua-load", "insecure-fork-wanted", "expose-experimental-directives",
	"set-dumpable", "h1-case-adjust", "busy-polling", "noepoll", "nopoll",
	"nosplice", "maxconnrate", "maxsessrate", "maxpipes", "tune.pipesize",
	NULL
};

static void
parse_global_kw(struct cfgp *p, char **args, int n)
{
	long long v;

	if (strcmp(args[0], "maxconn") == 0) {
		if (n != 2 || parse_int(args[1], 1, 10000000, &v) < 0) {
			cfg_err(p, "'maxconn' expects a positive integer");
			return;
		}
		p->c->maxconn = (int)v;
	} else if (strcmp(args[0], "tune.bufsize") == 0) {
		if (n != 2 || parse_int(args[1], 4096, 1 << 24, &v) < 0) {
			cfg_err(p, "'tune.bufsize' expects an integer from 4096");
			return;
		}
		p->c->bufsize = (int)v;
	} else if (strcmp(args[0], "tune.maxrewrite") == 0) {
		if (n != 2 || parse_int(args[1], 256, 1 << 20, &v) < 0) {
			cfg_err(p, "'tune.maxrewrite' expects an integer from 256");
			return;
		}
		p->c->maxrewrite = (int)v;
	} else if (strcmp(args[0], "debug") == 0) {
		p->c->debug = 1;
	} else if (strcmp(args[0], "daemon") == 0) {
		p->c->daemon = 1;
	} else if (strcmp(args[0], "pidfile") == 0 || strcmp(args[0], "chroot") == 0 ||
	    strcmp(args[0], "user") == 0 || strcmp(args[0], "group") == 0) {
		char **dst = args[0][0] == 'p' ? &p->c->pidfile : args[0][0] == 'c' ?
		    &p->c->chroot : args[0][0] == 'u' ? &p->c->user : &p->c->group;

		if (n != 2) {
			cfg_err(p, "'%s' expects one argument", args[0]);
			return;
		}
		*dst = cfg_strdup(p->c, args[1]);
	} else if (strcmp(args[0], "uid") == 0 || strcmp(args[0], "gid") == 0) {
		if (n != 2 || parse_int(args[1], 0, 4294967294LL, &v) < 0) {
			cfg_err(p, "'%s' expects a number", args[0]);
			return;
		}
		if (args[0][0] == 'u')
			p->c->uid = (long)v;
		else
			p->c->gid = (long)v;
	} else if (strcmp(args[0], "ulimit-n") == 0) {
		if (n != 2 || parse_int(args[1], 64, 100000000, &v) < 0) {
			cfg_err(p, "'ulimit-n' expects a number of files");
			return;
		}
		p->c->ulimit_n = (int)v;
	} else if (strcmp(args[0], "hard-stop-after") == 0) {
		unsigned t;

		if (n != 2 || parse_time(args[1], &t) < 0) {
			cfg_err(p, "'hard-stop-after' expects a time");
			return;
		}
		p->c->hard_stop_after = t;
	} else if (strcmp(args[0], "log") == 0) {
		struct log_target *t = parse_log(p, args, n), **tail;

		if (t == NULL)
			return;
		for (tail = &p->c->logs; *tail; tail = &(*tail)->next)
			;
		*tail = t;
	} else if (strcmp(args[0], "stats") == 0) {
		unsigned t;
		int i;

		if (n >= 3 && strcmp(args[1], "socket") == 0) {
			struct stats_sock_conf *sc = cfg_alloc(p->c, sizeof(*sc)), **tail;

			if (args[2][0] != '/' && strncmp(args[2], "unix@", 5) != 0) {
				cfg_err(p, "stats socket: only unix socket paths are supported");
				return;
			}
			sc->path = cfg_strdup(p->c, args[2][0] == '/' ? args[2] : args[2] + 5);
			if (strlen(sc->path) >= 100) {
				cfg_err(p, "stats socket: path too long");
				return;
			}
			sc->level = ACCESS_OPERATOR;	/* HAProxy's default */
			for (i = 3; i < n; i++) {
				const char *val = i + 1 < n ? args[i + 1] : NULL;

				if (strcmp(args[i], "mode") == 0 && val) {
					char *end;

					sc->mode = (unsigned)strtoul(val, &end, 8);
					if (*end || sc->mode > 0777) {
						cfg_err(p, "stats socket: bad mode '%s'", val);
						return;
					}
					i++;
				} else if (strcmp(args[i], "level") == 0 && val) {
					if (strcmp(val, "user") == 0)
						sc->level = ACCESS_USER;
					else if (strcmp(val, "operator") == 0)
						sc->level = ACCESS_OPERATOR;
					else if (strcmp(val, "admin") == 0)
						sc->level = ACCESS_ADMIN;
					else {
						cfg_err(p, "stats socket: level must be user, "
						    "operator or admin");
						return;
					}
					i++;
				} else if ((strcmp(args[i], "user") == 0 ||
				    strcmp(args[i], "group") == 0 || strcmp(args[i], "uid") == 0 ||
				    strcmp(args[i], "gid") == 0) && val) {
					cfg_warn(p, "stats socket: '%s' is ignored", args[i]);
					i++;
				} else if (strcmp(args[i], "expose-fd") == 0 && val) {
					i++;
				} else {
					cfg_err(p, "stats socket: unknown option '%s'", args[i]);
					return;
				}
			}
			for (tail = &p->c->stats_socks; *tail; tail = &(*tail)->next)
				;
			*tail = sc;
		} else if (n == 3 && strcmp(args[1], "timeout") == 0) {
			if (parse_time(args[2], &t) < 0) {
				cfg_err(p, "stats timeout: bad time '%s'", args[2]);
				return;
			}
			p->c->stats_timeout = t;
		} else if (n >= 2 && (strcmp(args[1], "maxconn") == 0 ||
		    strcmp(args[1], "bind-process") == 0)) {
			cfg_warn(p, "'stats %s' is ignored by waxlb", args[1]);
		} else
			cfg_err(p, "unknown 'stats %s' in global section", n > 1 ? args[1] : "");
	} else if (strcmp(args[0], "tune.ssl.cachesize") == 0) {
		if (n != 2 || parse_int(args[1], 0, 10000000, &v) < 0) {
			cfg_err(p, "'tune.ssl.cachesize' expects an integer");
			return;
		}
		p->c->ssl_cachesize = (int)v;
	} else if (strcmp(args[0], "crt-base") == 0) {
		if (n != 2) {
			cfg_err(p, "'crt-base' expects a directory");
			return;
		}
		p->c->crt_base = cfg_strdup(p->c, args[1]);
	} else if (strcmp(args[0], "ssl-default-bind-ciphers") == 0) {
		if (n != 2) {
			cfg_err(p, "'ssl-default-bind-ciphers' expects a cipher list");
			return;
		}
		p->c->ssl_ciphers = cfg_strdup(p->c, args[1]);
	} else if (strcmp(args[0], "ssl-default-bind-options") == 0) {
		int i;

		for (i = 1; i < n; i++) {
			if (strcmp(args[i], "ssl-min-ver") == 0 && i + 1 < n) {
				if (parse_tls_ver(args[++i], &p->c->ssl_vmin) < 0) {
					cfg_err(p, "ssl-min-ver '%s': expected TLSv1.0, TLSv1.1 "
					    "or TLSv1.2", args[i]);
					return;
				}
			} else if (strcmp(args[i], "ssl-max-ver") == 0 && i + 1 < n) {
				i++;
			} else if (strcmp(args[i], "no-tlsv10") == 0) {
				if (p->c->ssl_vfloor < BR_TLS11)
					p->c->ssl_vfloor = BR_TLS11;
			} else if (strcmp(args[i], "no-tlsv11") == 0) {
				if (p->c->ssl_vfloor < BR_TLS12)
					p->c->ssl_vfloor = BR_TLS12;
			}
		}
	} else if (in_list(ignored_global_kw, args[0])) {
		cfg_warn(p, "global '%s' is ignored by waxlb", args[0]);
	} else
		cfg_err(p, "unknown keyword '%s' in 'global' section", args[0]);
}

static void
parse_line(struct cfgp *p, char **args, int n)
{
	const char *kw = args[0];
	int cap = 0;

	if (strcmp(kw, "global") == 0) {
		p->section = SEC_GLOBAL;
		p->cur = NULL;
		return;
	}
	if (strcmp(kw, "defaults") == 0) {
		p->section = SEC_DEFAULTS;
		/* each defaults section starts afresh, as in HAProxy */
		p->defaults = NULL;
		p->defaults = proxy_new(p, n > 1 ? args[1] : "", 0);
		p->cur = p->defaults;
		if (n > 2)
			cfg_warn(p, "defaults 'from' inheritance is ignored");
		return;
	}
	if (strcmp(kw, "frontend") == 0)
		cap = CAP_FE;
	else if (strcmp(kw, "backend") == 0)
		cap = CAP_BE;
	else if (strcmp(kw, "listen") == 0)
		cap = CAP_FE | CAP_BE;
	if (cap) {
		struct proxy *px, *o, **tail;

		if (n < 2) {
			cfg_err(p, "'%s' expects a name", kw);
			p->section = SEC_IGNORED;
			return;
		}
		for (o = p->c->proxies; o; o = o->next)
			if (strcmp(o->name, args[1]) == 0 && (o->cap & cap)) {
				cfg_err(p, "%s '%s' has the same name as another one "
				    "declared at line %d", kw, args[1], o->line);
				break;
			}
		px = proxy_new(p, args[1], cap);
		for (tail = &p->c->proxies; *tail; tail = &(*tail)->next)
			;
		*tail = px;
		p->section = SEC_PROXY;
		p->cur = px;
		if (cap == (CAP_FE | CAP_BE) && n > 2)
			parse_bind(p, px, args + 1, n - 1);
		else if (n > 2 && strcmp(args[2], "from") != 0)
			cfg_err(p, "unexpected '%s' after the %s name", args[2], kw);
		return;
	}
	if (strcmp(kw, "userlist") == 0 || strcmp(kw, "peers") == 0 ||
	    strcmp(kw, "resolvers") == 0 || strcmp(kw, "mailers") == 0 ||
	    strcmp(kw, "cache") == 0 || strcmp(kw, "program") == 0 ||
	    strcmp(kw, "http-errors") == 0 || strcmp(kw, "ring") == 0 ||
	    strcmp(kw, "crt-store") == 0 || strcmp(kw, "traces") == 0) {
		cfg_warn(p, "section '%s' is ignored by waxlb", kw);
		p->section = SEC_IGNORED;
		return;
	}
	switch (p->section) {
	case SEC_GLOBAL:
		parse_global_kw(p, args, n);
		break;
	case SEC_DEFAULTS:
	case SEC_PROXY:
		parse_proxy_kw(p, p->cur, args, n);
		break;
	case SEC_IGNORED:
		break;
	default:
		cfg_err(p, "'%s' outside of any section", kw);
	}
}

static void
parse_text(struct cfgp *p, const char *text)
{
	char line[CFG_LINE_MAX], words[CFG_LINE_MAX * 2], *args[CFG_ARGS_MAX];
	const char *s = text, *nl, *why = NULL;
	size_t len;
	int n;

	p->line = 0;
	while (*s) {
		p->line++;
		nl = strchr(s, '\n');
		len = nl ? (size_t)(nl - s) : strlen(s);
		if (len >= sizeof(line)) {
			cfg_err(p, "line too long (max %d bytes)", CFG_LINE_MAX - 1);
		} else {
			memcpy(line, s, len);
			line[len] = 0;
			if (memchr(s, 0, len))
				cfg_err(p, "NUL byte in configuration line");
			n = cfg_tokenize(line, words, sizeof(words), args,
			    CFG_ARGS_MAX, &why);
			if (n < 0)
				cfg_err(p, "%s", why);
			else if (n > 0)
				parse_line(p, args, n);
		}
		if (nl == NULL)
			break;
		s = nl + 1;
	}
}

/* OpenSSL cipher names for the suites BearSSL implements, strongest and
 * cheapest first.  The default set is ECDHE with AES-GCM or ChaCha20. */
static const struct {
	const char	*name;
	uint16_t	 id;
	int		 dflt;
} cipher_tab[] = {
	{ "ECDHE-ECDSA-AES128-GCM-SHA256", BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 1 },
	{ "ECDHE-RSA-AES128-GCM-SHA256", BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 1 },
	{ "ECDHE-ECDSA-AES256-GCM-SHA384", BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 1 },
	{ "ECDHE-RSA-AES256-GCM-SHA384", BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 1 },
	{ "ECDHE-ECDSA-CHACHA20-POLY1305", BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 1 },
	{ "ECDHE-RSA-CHACHA20-POLY1305", BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 1 },
	{ "ECDHE-ECDSA-AES128-SHA256", BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, 0 },
	{ "ECDHE-RSA-AES128-SHA256", BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, 0 },
	{ "ECDHE-ECDSA-AES256-SHA384", BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, 0 },
	{ "ECDHE-RSA-AES256-SHA384", BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, 0 },
	{ "ECDHE-ECDSA-AES128-SHA", BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, 0 },
	{ "ECDHE-RSA-AES128-SHA", BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, 0 },
	{ "ECDHE-ECDSA-AES256-SHA", BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, 0 },
	{ "ECDHE-RSA-AES256-SHA", BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, 0 },
	{ "AES128-GCM-SHA256", BR_TLS_RSA_WITH_AES_128_GCM_SHA256, 0 },
	{ "AES256-GCM-SHA384", BR_TLS_RSA_WITH_AES_256_GCM_SHA384, 0 },
	{ "AES128-SHA256", BR_TLS_RSA_WITH_AES_128_CBC_SHA256, 0 },
	{ "AES256-SHA256", BR_TLS_RSA_WITH_AES_256_CBC_SHA256, 0 },
	{ "AES128-SHA", BR_TLS_RSA_WITH_AES_128_CBC_SHA, 0 },
	{ "AES256-SHA", BR_TLS_RSA_WITH_AES_256_CBC_SHA, 0 },
};

/* An OpenSSL-style list ("A:B:C"); unknown names are skipped with a
 * warning, as OpenSSL does, but an empty result is an error. */
static int
tls_suites(struct cfgp *p, const char *list, struct tls_conf *tc)
{
	char buf[1024], *t, *sv = NULL;
	size_t i;

	tc->nsuites = 0;
	if (list == NULL) {
		for (i = 0; i < sizeof(cipher_tab) / sizeof(cipher_tab[0]); i++)
			if (cipher_tab[i].dflt)
				tc->suites[tc->nsuites++] = cipher_tab[i].id;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (t = strtok_r(buf, ":, ", &sv); t; t = strtok_r(NULL, ":, ", &sv)) {
		for (i = 0; i < sizeof(cipher_tab) / sizeof(cipher_tab[0]); i++)
			if (strcmp(cipher_tab[i].name, t) == 0)
				break;
		if (i == sizeof(cipher_tab) / sizeof(cipher_tab[0])) {
			if (t[0] != '!' && t[0] != '-' && t[0] != '+')
				cfg_warn(p, "cipher '%s' is not available in waxlb, skipped", t);
			continue;
		}
		if (tc->nsuites < TLS_SUITES_MAX)
			tc->suites[tc->nsuites++] = cipher_tab[i].id;
	}
	if (tc->nsuites == 0) {
		cfg_err(p, "no usable cipher in '%s'", list);
		return -1;
	}
	return 0;
}

/* A certificate kept with the configuration, freed with it. */
static struct tls_cert *
cfg_cert(struct config *c)
{
	struct tls_cert *cc = cfg_alloc(c, sizeof(*cc));
	struct arena_blk *b = (struct arena_blk *)((char *)cc -
	    offsetof(struct arena_blk, align));

	b->cert = cc;
	return cc;
}

/* Certificates and TLS parameters of a bind line, once global settings
 * (crt-base, ssl-default-bind-*) are known. */
static void
tls_conf_finish(struct cfgp *p, struct tls_conf *tc)
{
	char path[PATH_MAX], err[256];
	struct tls_cert **tail = &tc->certs;
	struct stat stt;
	int i;

	if (tc->nsuites)	/* shared by the addresses of one line */
		return;
	p->file = tc->file;
	p->line = tc->line;
	if (tls_suites(p, tc->ciphers ? tc->ciphers : p->c->ssl_ciphers, tc) < 0)
		return;
	if (tc->vmin == 0)
		tc->vmin = p->c->ssl_vmin ? p->c->ssl_vmin : BR_TLS12;
	if (tc->vmin < tc->vfloor)
		tc->vmin = tc->vfloor;
	if (tc->vmin < p->c->ssl_vfloor)
		tc->vmin = p->c->ssl_vfloor;
	if (tc->vmax == 0)
		tc->vmax = BR_TLS12;
	if (tc->vmin > tc->vmax) {
		cfg_err(p, "ssl-min-ver is above ssl-max-ver");
		return;
	}
	for (i = 0; i < tc->ncrt; i++) {
		const char *c = tc->crt[i];

		if (c[0] != '/' && p->c->crt_base)
			snprintf(path, sizeof(path), "%s/%s", p->c->crt_base, c);
		else
			snprintf(path, sizeof(path), "%s", c);
		if (stat(path, &stt) == 0 && S_ISDIR(stt.st_mode)) {
			struct tls_cert *list = NULL, *x, *nx;

			if (tls_cert_load_dir(path, &list, err, sizeof(err)) < 0) {
				cfg_err(p, "crt '%s': %s", path, err);
				return;
			}
			for (x = list; x; x = nx) {
				struct tls_cert *cc = cfg_cert(p->c);

				nx = x->next;
				*cc = *x;
				cc->next = NULL;
				free(x);
				*tail = cc;
				tail = &cc->next;
			}
			continue;
		}
		{
			struct tls_cert *cc = cfg_cert(p->c);

			if (tls_cert_load(path, cc, err, sizeof(err)) < 0) {
				cfg_err(p, "crt '%s': %s", path, err);
				return;
			}
			*tail = cc;
			tail = &cc->next;
		}
	}
	if (tc->certs == NULL)
		cfg_err(p, "no certificate loaded for this bind line");
}

/* Cross references and consistency, once everything has been read. */
static void
config_check(struct cfgp *p)
{
	struct config *c = p->c;
	struct proxy *px;
	struct switch_rule *r;

	for (px = c->proxies; px; px = px->next) {
		struct bind_conf *b;

		if ((px->cap & CAP_BE) && px->chk.ref_be_name) {
			p->file = px->chk.file;
			p->line = px->chk.line;
			px->chk.ref_be = find_proxy(c->proxies, px->chk.ref_be_name,
			    CAP_BE);
			if (px->chk.ref_be == NULL)
				cfg_err(p, "ship-check: ref-backend '%s' does not exist",
				    px->chk.ref_be_name);
		}
		for (b = px->binds; b; b = b->next)
			if (b->tls)
				tls_conf_finish(p, b->tls);
		if (px->cap & CAP_FE) {
			if (px->binds == NULL) {
				p->file = px->file;
				p->line = px->line;
				cfg_err(p, "proxy '%s' has no 'bind' directive. Please "
				    "declare it as a backend if this was intended.",
				    px->name);
			}
			for (r = px->rules; r; r = r->next) {
				r->be = find_proxy(c->proxies, r->be_name, CAP_BE);
				p->file = r->file;
				p->line = r->line;
				if (r->be == NULL)
					cfg_err(p, "use_backend: unable to find required "
					    "backend '%s'", r->be_name);
				else if (r->be->mode != px->mode)
					cfg_err(p, "use_backend: backend '%s' is in %s mode "
					    "but frontend '%s' is in %s mode", r->be_name,
					    r->be->mode == MODE_HTTP ? "http" : "tcp",
					    px->name, px->mode == MODE_HTTP ? "http" : "tcp");
			}
			if (px->default_be_name) {
				p->file = px->default_be_file;
				p->line = px->default_be_line;
				px->default_be = find_proxy(c->proxies,
				    px->default_be_name, CAP_BE);
				if (px->default_be == NULL)
					cfg_err(p, "default_backend: unable to find required "
					    "backend '%s'", px->default_be_name);
				else if (px->default_be->mode != px->mode)
					cfg_err(p, "default_backend: backend '%s' is in a "
					    "different mode than frontend '%s'",
					    px->default_be_name, px->name);
			} else if (px->cap & CAP_BE)
				px->default_be = px;
			if (px->mode == MODE_TCP && px->hreq) {
				p->file = px->file;
				p->line = px->line;
				cfg_err(p, "'http-request' rules need 'mode http' in '%s'",
				    px->name);
			}
		}
	}
}

static struct config *
config_new(void)
{
	struct config *c = xcalloc(1, sizeof(*c));

	c->bufsize = BUFSIZE_DEFAULT;
	c->maxrewrite = MAXREWRITE;
	c->ssl_cachesize = 20000;	/* HAProxy's tune.ssl.cachesize */
	c->uid = c->gid = -1;
	c->stats_timeout = 10000;
	return c;
}

static struct config *
config_finish(struct cfgp *p)
{
	if (p->errors == 0)
		config_check(p);
	if (p->errors) {
		config_free(p->c);
		return NULL;
	}
	if (p->c->maxconn == 0)
		p->c->maxconn = MAXCONN_DEFAULT;
	if (p->c->maxrewrite > p->c->bufsize / 2)
		p->c->maxrewrite = p->c->bufsize / 2;
	return p->c;
}

struct config *
config_parse_string(const char *text, const char *name, FILE *err)
{
	struct cfgp p;

	memset(&p, 0, sizeof(p));
	p.c = config_new();
	p.err = err;
	p.file = name;
	parse_text(&p, text);
	return config_finish(&p);
}

struct config *
config_load(const char *const *files, int nfiles, FILE *err)
{
	struct cfgp p;
	int i;

	memset(&p, 0, sizeof(p));
	p.c = config_new();
	p.err = err;
	for (i = 0; i < nfiles; i++) {
		FILE *f = fopen(files[i], "r");
		char *text;
		long len;

		p.file = files[i];
		p.line = 0;
		if (f == NULL) {
			fprintf(err, "%s: cannot open: %s\n", files[i], strerror(errno));
			p.errors++;
			continue;
		}
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		if (len < 0 || len > (64 << 20)) {
			fprintf(err, "%s: cannot read (too large?)\n", files[i]);
			p.errors++;
			fclose(f);
			continue;
		}
		text = xcalloc(1, (size_t)len + 1);
		if (fread(text, 1, (size_t)len, f) != (size_t)len) {
			fprintf(err, "%s: read error\n", files[i]);
			p.errors++;
		} else
			parse_text(&p, text);
		free(text);
		fclose(f);
		/* sections do not continue across files */
		p.section = SEC_NONE;
		p.cur = NULL;
	}
	p.file = nfiles ? files[nfiles - 1] : "-";
	return config_finish(&p);
}

/* ==================================================================== */
/* Listeners and accept.                                                 */
/* Owns the runtime types every later section shares (sessions, their   */
/* two sides and buffers), the listening sockets, and the global and    */
/* per-frontend connection limits: when a limit is reached the listener */
/* stops polling and the kernel backlog holds further clients.          */
/* ==================================================================== */

/* A fixed-size I/O buffer taken from a free list while bytes are pending
 * and given back when drained, so an idle connection holds none. */
struct buf {
	struct buf	*next;		/* free list */
	unsigned	 head, tail;	/* data is [head, tail) */
	char		 data[];
};

struct pqueue {
	struct session	*head, *tail;
	int		 len, max;
};

/* One side of a session.  A side moves bytes through a transport; the
 * plain socket is the only one today (see "Transport"). */
struct tls;

struct side {
	int		 fd;
	unsigned	 fl;		/* SF_* */
	struct tls	*tls;		/* NULL: plain socket */
};

#define SF_RD		0x01	/* poll reported readable; not drained yet */
#define SF_WR		0x02	/* writable */
#define SF_EOF		0x04	/* read returned 0 */
#define SF_SHUTW	0x08	/* we shut our write side */
#define SF_ERR		0x10	/* hard error seen */

enum sess_state {
	S_REQ,		/* reading a request head from the client */
	S_QUEUE,	/* waiting in the backend queue for a server slot */
	S_TURN,		/* waiting to retry a connection */
	S_CONNECT,	/* connecting to the server */
	S_XFER,		/* forwarding one request and its response */
	S_TUNNEL,	/* bidirectional bytes (websocket, tcp mode) */
	S_CLOSING,	/* flushing a last answer to the client, then close */
};

enum { RQ_HEAD, RQ_BODY, RQ_DONE };
enum { RS_HEAD, RS_BODY, RS_DONE };
enum { BODY_NONE, BODY_CLEN, BODY_CHUNKED, BODY_CLOSE };

/* session flags */
#define SS_CLI_KA	0x0001	/* client connection may carry another request */
#define SS_SRV_KA	0x0002	/* server connection may be reused */
#define SS_HEAD		0x0004	/* request method is HEAD */
#define SS_UPG		0x0008	/* request asks for a protocol upgrade */
#define SS_NOT_FIRST	0x0020	/* a request was already served */
#define SS_COUNTED	0x0040	/* holds a slot on st->cur */
#define SS_TCP		0x0080	/* tcp-mode session */
#define SS_REUSED	0x0100	/* current server conn was reused */
#define SS_LOGGED	0x0200
#define SS_RSP_STARTED	0x0400	/* response bytes were sent to the client */
#define SS_SRV_DONE	0x0800	/* server side finished (closed or idle) */
#define SS_CONNECT100	0x1000	/* 100-continue seen */
#define SS_CLI_10	0x2000	/* client speaks HTTP/1.0 */
#define SS_QUICK_CLOSE	0x4000	/* all input consumed: close without lingering */

struct session {
	enum sess_state	 state;
	struct side	 cli, srv;
	struct buf	*req, *rsp;
	struct proxy	*fe, *be;
	struct server	*sv;
	struct srv_state *st;
	unsigned	 fl;
	unsigned char	 req_state, rsp_state, req_body, rsp_body;
	unsigned	 req_fwd, rsp_fwd;	/* classified, unsent bytes */
	int64_t		 req_left, rsp_left;
	struct chunk_dec req_ck, rsp_ck;
	int		 status;
	int		 retries;
	int		 nreq;
	int64_t		 expire;
	int64_t		 t_accept, t_start, t_req, t_queue, t_conn, t_est, t_rsp;
	int64_t		 t_qdur;
	uint64_t	 bytes_in, bytes_out;
	struct sockaddr_storage src;
	char		 term[3];
	char		 reqline[128];
	struct session	*qnext, *qprev;
	struct session	*next, *prev;
	struct session	*again;		/* on rt.again: run again next turn */
	int		 on_again;
	struct config	*cfg;		/* the config its fe/be/sv belong to */
	struct kpipe	*preq, *prsp;	/* tunnel pipes while bytes are in flight */
	char		*gen;		/* a generated body being sent (stats) */
	size_t		 gen_len, gen_off;
};

struct listener {
	int		 fd;
	int		 paused;
	struct proxy	*fe;
	struct bind_conf *bind;
	struct listener	*next;
};

/* Per-frontend counters live beside the config they belong to. */
struct fe_state {
	char		 name[NAME_MAX_LEN];	/* by name: counts survive reloads */
	int		 cur;
	uint64_t	 tot;
	struct fe_state	*next;
};

static struct {
	struct config	*cfg;
	struct listener	*listeners;
	struct session	*sessions;
	struct fe_state	*fes;
	struct buf	*free_bufs;
	int		 nbufs, nfree;
	int		 curconn;
	int		 stopping;
	int64_t		 paused;	/* listeners paused until then */
	struct session	*again;		/* sessions that stopped at their round
					 * limit with work left */
	struct config	*old_cfgs;	/* replaced, still used by sessions */
	int64_t		 next_expire;
	char		*scratch;	/* header rewrite area */
} rt;

static void sess_run(struct session *s);
static void sess_free(struct session *s);
static void cfg_unref(struct config *c);
struct http_msg;
static int stats_request(struct session *s, const struct http_msg *m,
    struct sbuf *body, const char **ctype, int *status);
static struct tls *tls_new(const struct tls_conf *tc, struct session *s);
static void tls_pump(struct side *sd);
static short tls_events(const struct side *sd);
static int tls_pending(const struct side *sd);
static void sess_set_expire(struct session *s, int64_t when);

static struct buf *
buf_get(void)
{
	struct buf *b = rt.free_bufs;

	if (b != NULL) {
		rt.free_bufs = b->next;
		rt.nfree--;
	} else {
		b = malloc(sizeof(*b) + rt.cfg->bufsize);
		if (b == NULL)
			return NULL;
		rt.nbufs++;
	}
	b->head = b->tail = 0;
	b->next = NULL;
	return b;
}

/* Keep a bounded reserve; give the rest back to the allocator. */
static void
buf_put(struct buf *b)
{
	if (b == NULL)
		return;
	if (rt.nfree >= 64) {
		free(b);
		rt.nbufs--;
		return;
	}
	b->next = rt.free_bufs;
	rt.free_bufs = b;
	rt.nfree++;
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

static struct fe_state *
fe_state(struct proxy *fe)
{
	struct fe_state *f;

	for (f = rt.fes; f; f = f->next)
		if (strcmp(f->name, fe->name) == 0)
			return f;
	f = xcalloc(1, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", fe->name);
	f->next = rt.fes;
	rt.fes = f;
	return f;
}

static void listener_accept(void *obj, int fd, short revents);

static int
listener_open(struct listener *l, char *err, size_t errlen)
{
	int fd, one = 1;
	char a[80];

	fd = socket(l->bind->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->bind->addr.ss_family == AF_INET6) {
		/* "[::]:port" accepts IPv4 too, as HAProxy's default */
		int zero = 0;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (bind(fd, (struct sockaddr *)&l->bind->addr, l->bind->addrlen) < 0) {
		snprintf(err, errlen, "cannot bind socket (%s) for [%s]",
		    strerror(errno), addr_str(&l->bind->addr, a, sizeof(a), 1));
		close(fd);
		return -1;
	}
	if (listen(fd, 1024) < 0) {
		snprintf(err, errlen, "cannot listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

/* Listeners are polled only while the limits allow another client. */
static void
listeners_update(void)
{
	struct listener *l;

	for (l = rt.listeners; l; l = l->next) {
		int full = rt.stopping || rt.paused || rt.curconn >= rt.cfg->maxconn ||
		    (l->fe->maxconn && fe_state(l->fe)->cur >= l->fe->maxconn);

		if (full != l->paused) {
			l->paused = full;
			fd_want(l->fd, full ? 0 : POLLIN);
		}
	}
}

static struct session *
sess_new(struct proxy *fe, int fd, const struct sockaddr_storage *src)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->fe = fe;
	s->cfg = rt.cfg;
	rt.cfg->refs++;
	s->cli.fd = fd;
	s->srv.fd = -1;
	s->src = *src;
	s->t_accept = s->t_start = now_ms;
	s->expire = -1;
	s->status = -1;
	memcpy(s->term, "--", 3);
	s->t_req = s->t_queue = s->t_conn = s->t_est = s->t_rsp = -1;
	s->next = rt.sessions;
	if (rt.sessions)
		rt.sessions->prev = s;
	rt.sessions = s;
	return s;
}

static void sess_event(void *obj, int fd, short revents);

static void
listener_accept(void *obj, int fd, short revents)
{
	struct listener *l = obj;
	int i;

	(void)revents;
	/* a bounded batch per turn keeps other connections served */
	for (i = 0; i < 64 && l->paused <= 0; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct session *s;
		int cfd, one = 1;

		cfd = accept4(fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* out of fds: stop polling listeners for a
				 * moment instead of spinning on the event */
				log_alert("accept(): %s; pausing listeners for 100ms",
				    strerror(errno));
				rt.paused = now_ms + 100;
				for (l = rt.listeners; l; l = l->next)
					fd_want(l->fd, 0);
			}
			return;
		}
		if (cfd >= fdtab_size) {
			close(cfd);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s = sess_new(l->fe, cfd, &ss);
		fd_register(cfd, sess_event, s, POLLIN);
		rt.curconn++;
		fe_state(l->fe)->cur++;
		fe_state(l->fe)->tot++;
		listeners_update();
		if (l->bind->tls) {
			s->cli.tls = tls_new(l->bind->tls, s);
			if (s->cli.tls == NULL) {
				sess_free(s);
				continue;
			}
			tls_pump(&s->cli);
		} else
			s->cli.fl |= SF_RD | SF_WR;	/* try at once: data often came with the handshake */
		sess_run(s);
	}
}

/* ==================================================================== */
/* HTTP parsing.                                                         */
/* Pure functions over a buffer: the request and response head parsers */
/* and the chunked-framing decoder.  No I/O, no allocation; they return */
/* "need more", an error with the status to answer, or a position.     */
/* Stricter than the RFC allows where leniency could be smuggled: bare  */
/* CR, NUL, obs-fold, "name : value", conflicting lengths are refused.  */
/* ==================================================================== */

/* Byte classes: 1 = tchar (token), 2 = URI char, 4 = header value char. */
static unsigned char cclass[256];

static void
cclass_init(void)
{
	const char *tspecial = "!#$%&'*+-.^_`|~";
	int c;

	if (cclass['a'])
		return;
	for (c = 0; c < 256; c++) {
		unsigned char v = 0;

		if (isalnum(c) || (c && strchr(tspecial, c)))
			v |= 1;
		if (c > 0x20 && c < 0x7f)
			v |= 2;
		if (c == '\t' || (c >= 0x20 && c != 0x7f))
			v |= 4;
		cclass[c] = v;
	}
}

#define IS_TCHAR(c)	(cclass[(unsigned char)(c)] & 1)
#define IS_URICHAR(c)	(cclass[(unsigned char)(c)] & 2)
#define IS_VCHAR(c)	(cclass[(unsigned char)(c)] & 4)

static int
ieq(const char *a, size_t al, const char *b)
{
	size_t bl = strlen(b);

	return al == bl && strncasecmp(a, b, al) == 0;
}

int
http_find_hdr(const struct http_msg *m, const char *name, int from)
{
	int i;

	for (i = from; i < m->nhdr; i++)
		if (ieq(m->hdr[i].name, m->hdr[i].name_len, name))
			return i;
	return -1;
}

static int
perr(struct http_msg *m, int status, const char *what)
{
	m->err = status;
	m->err_what = what;
	return -1;
}

/* Next element of a comma-separated list, blanks trimmed.  Returns 0 at
 * the end. */
static int
list_next(const char **p, const char *end, const char **el, size_t *ell)
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
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*el = s;
	*ell = (size_t)(e - s);
	return 1;
}

/* Header lines from <pos>; returns the head length, 0, or -1. */
static int
parse_fields(const char *buf, size_t len, size_t pos, struct http_msg *m)
{
	for (;;) {
		const char *line = buf + pos, *nl, *end, *colon, *v, *ve, *p;
		size_t ll;

		if (pos >= len)
			return 0;
		nl = memchr(line, '\n', len - pos);
		if (nl == NULL)
			return 0;
		end = nl;
		if (end > line && end[-1] == '\r')
			end--;
		else
			m->flags |= MSG_BARE_LF;
		ll = (size_t)(end - line);
		if (ll == 0) {
			pos = (size_t)(nl - buf) + 1;
			return pos > INT_MAX ? perr(m, 431, "head too large") : (int)pos;
		}
		if (*line == ' ' || *line == '\t')
			return perr(m, 400, "obs-fold header continuation");
		colon = line;
		while (colon < end && IS_TCHAR(*colon))
			colon++;
		if (colon == end || *colon != ':')
			return perr(m, 400, colon == end ? "header line without colon" :
			    "invalid character in header name");
		if (colon == line)
			return perr(m, 400, "empty header name");
		v = colon + 1;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		for (p = v; p < end; p++)
			if (!IS_VCHAR(*p))
				return perr(m, 400, "invalid character in header value");
		ve = end;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (m->nhdr >= HDR_MAX)
			return perr(m, 431, "too many headers");
		if (colon - line > 0xffff || ve - v > 0xffff)
			return perr(m, 431, "header too large");
		m->hdr[m->nhdr].name = line;
		m->hdr[m->nhdr].name_len = (unsigned short)(colon - line);
		m->hdr[m->nhdr].value = v;
		m->hdr[m->nhdr].value_len = (unsigned short)(ve - v);
		m->nhdr++;
		pos = (size_t)(nl - buf) + 1;
	}
}

/* Content-Length, Transfer-Encoding, Connection, Upgrade and friends. */
static int
parse_semantics(struct http_msg *m, int is_req)
{
	const char *host = NULL;
	size_t hostlen = 0;
	int i, te_seen = 0, chunked_last = 0, chunked_n = 0, te_unknown = 0;

	m->clen = -1;
	for (i = 0; i < m->nhdr; i++) {
		const struct http_hdr *h = &m->hdr[i];
		const char *p = h->value, *end = h->value + h->value_len, *el;
		size_t ell;

		if (ieq(h->name, h->name_len, "keep-alive") ||
		    ieq(h->name, h->name_len, "proxy-connection"))
			m->flags |= MSG_HOPHDR | MSG_CONNHDR;
		if (ieq(h->name, h->name_len, "content-length")) {
			int any = 0;

			m->flags |= MSG_HOPHDR;
			while (list_next(&p, end, &el, &ell)) {
				int64_t v = 0;
				size_t k;

				any = 1;
				if (ell == 0 || ell > 18)
					return perr(m, 400, "invalid content-length");
				for (k = 0; k < ell; k++) {
					if (el[k] < '0' || el[k] > '9')
						return perr(m, 400, "invalid content-length");
					v = v * 10 + (el[k] - '0');
				}
				if ((m->flags & MSG_CLEN) && v != m->clen)
					return perr(m, 400, "conflicting content-length");
				m->clen = v;
				m->flags |= MSG_CLEN;
			}
			if (!any)
				return perr(m, 400, "empty content-length");
		} else if (ieq(h->name, h->name_len, "transfer-encoding")) {
			te_seen = 1;
			m->flags |= MSG_HOPHDR;
			while (list_next(&p, end, &el, &ell)) {
				if (ieq(el, ell, "chunked")) {
					chunked_n++;
					chunked_last = 1;
					continue;
				}
				chunked_last = 0;
				te_unknown = 1;
			}
		} else if (ieq(h->name, h->name_len, "connection")) {
			m->flags |= MSG_HOPHDR | MSG_CONNHDR;
			while (list_next(&p, end, &el, &ell)) {
				if (ieq(el, ell, "close"))
					m->flags |= MSG_CONN_CLOSE;
				else if (ieq(el, ell, "keep-alive"))
					m->flags |= MSG_CONN_KA;
				else if (ieq(el, ell, "upgrade"))
					m->flags |= MSG_CONN_UPG;
			}
		} else if (ieq(h->name, h->name_len, "upgrade")) {
			m->flags |= MSG_UPGRADE;
			while (list_next(&p, end, &el, &ell))
				if (ieq(el, ell, "websocket"))
					m->flags |= MSG_WS;
		} else if (is_req && ieq(h->name, h->name_len, "host")) {
			if (host && (hostlen != h->value_len ||
			    strncasecmp(host, h->value, hostlen) != 0))
				return perr(m, 400, "several different Host headers");
			host = h->value;
			hostlen = h->value_len;
			m->flags |= MSG_HOST;
		} else if (is_req && ieq(h->name, h->name_len, "sec-websocket-key")) {
			if (h->value_len)
				m->flags |= MSG_WS_KEY;
		} else if (is_req && ieq(h->name, h->name_len, "expect")) {
			if (ieq(h->value, h->value_len, "100-continue"))
				m->flags |= MSG_EXPECT100;
		}
	}
	if (te_seen) {
		if (is_req) {
			if (m->minor == 0)
				return perr(m, 400, "transfer-encoding in an HTTP/1.0 request");
			/* HAProxy 2.6 answers 400 to any coding but chunked
			 * in a request; so does waxlb (RFC 9112 would allow
			 * 501 for an unknown one, see README) */
			if (te_unknown)
				return perr(m, 400, "unsupported transfer-encoding");
			if (!chunked_last || chunked_n != 1)
				return perr(m, 400, "transfer-encoding does not end with chunked");
			if (m->flags & MSG_CLEN)
				return perr(m, 400, "both content-length and transfer-encoding");
		} else if (m->flags & MSG_CLEN)
			return perr(m, 502, "both content-length and transfer-encoding");
		if (chunked_last && chunked_n == 1)
			m->flags |= MSG_CHUNKED;
		else if (!is_req)
			m->flags &= ~MSG_CLEN;	/* close-delimited (RFC 9112 6.3) */
	}
	if (is_req && (m->flags & MSG_CONN_UPG) && (m->flags & MSG_WS) &&
	    !(m->flags & MSG_WS_KEY))
		return perr(m, 400, "websocket upgrade without Sec-WebSocket-Key");
	if (is_req && m->uri_len > 7 && (strncasecmp(m->uri, "http://", 7) == 0 ||
	    strncasecmp(m->uri, "https://", 8) == 0)) {
		/* absolute-form: its authority must agree with Host */
		const char *a = memchr(m->uri, ':', m->uri_len) + 3;
		const char *ue = m->uri + m->uri_len, *ae = a;

		while (ae < ue && *ae != '/' && *ae != '?' && *ae != '#')
			ae++;
		if (ae == a || memchr(a, '@', (size_t)(ae - a)))
			return perr(m, 400, "invalid authority in absolute URI");
		if (host && ((size_t)(ae - a) != hostlen ||
		    strncasecmp(a, host, hostlen) != 0))
			return perr(m, 400, "absolute URI and Host header disagree");
	}
	return 0;
}

static int
parse_version(const char *p, const char *end, struct http_msg *m)
{
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' ||
	    !isdigit((unsigned char)p[5]) || !isdigit((unsigned char)p[7]))
		return perr(m, 400, "invalid HTTP version");
	if (p[5] != '1')
		return perr(m, 505, "unsupported HTTP version");
	m->minor = p[7] - '0';
	if (m->minor > 1)
		m->minor = 1;
	return 0;
}

int
http_parse_request(const char *buf, size_t len, struct http_msg *m)
{
	const char *p = buf, *end, *nl, *sp1, *sp2;
	int r;

	cclass_init();
	memset(m, 0, offsetof(struct http_msg, hdr));
	m->clen = -1;
	/* RFC 9112 2.2: ignore at least one empty line before a request */
	while ((size_t)(p - buf) < len && (*p == '\r' || *p == '\n')) {
		if (*p == '\r' && ((size_t)(p - buf) + 1 >= len || p[1] != '\n'))
			break;
		p += *p == '\r' ? 2 : 1;
		if (p - buf > 4)
			return perr(m, 400, "empty lines before request");
	}
	nl = memchr(p, '\n', len - (size_t)(p - buf));
	if (nl == NULL)
		return 0;
	end = nl;
	if (end > p && end[-1] == '\r')
		end--;
	else
		m->flags |= MSG_BARE_LF;
	if (p != buf)
		m->flags |= MSG_BARE_LF;	/* leading empty lines: rewrite */
	sp1 = p;
	while (sp1 < end && IS_TCHAR(*sp1))
		sp1++;
	if (sp1 == p || sp1 == end || *sp1 != ' ')
		return perr(m, 400, "invalid method");
	sp2 = sp1 + 1;
	while (sp2 < end && IS_URICHAR(*sp2) && *sp2 != '#')
		sp2++;
	if (sp2 == sp1 + 1 || sp2 == end || *sp2 != ' ')
		return perr(m, 400, sp2 == end ? "missing HTTP version" :
		    "invalid character in URI");
	if (sp1 - p > 0xffff || sp2 - sp1 - 1 > 0xffff)
		return perr(m, 414, "request line too long");
	m->method = p;
	m->method_len = (unsigned short)(sp1 - p);
	m->uri = sp1 + 1;
	m->uri_len = (unsigned short)(sp2 - sp1 - 1);
	if (parse_version(sp2 + 1, end, m) < 0)
		return -1;
	r = parse_fields(buf, len, (size_t)(nl - buf) + 1, m);
	if (r <= 0)
		return r;
	if (parse_semantics(m, 1) < 0)
		return -1;
	/* origin-form, "*", or absolute-form with an http(s) scheme (the
	 * authority-form only belongs to CONNECT, refused below) */
	if (m->uri[0] != '/' && !(m->uri_len == 1 && m->uri[0] == '*') &&
	    !(m->uri_len > 7 && strncasecmp(m->uri, "http://", 7) == 0) &&
	    !(m->uri_len > 8 && strncasecmp(m->uri, "https://", 8) == 0) &&
	    !ieq(m->method, m->method_len, "CONNECT"))
		return perr(m, 400, "invalid request target");
	if (ieq(m->method, m->method_len, "CONNECT"))
		return perr(m, 501, "CONNECT is not supported");
	return r;
}

int
http_parse_response(const char *buf, size_t len, struct http_msg *m)
{
	const char *nl, *end, *p;
	int r;

	cclass_init();
	memset(m, 0, offsetof(struct http_msg, hdr));
	m->clen = -1;
	nl = memchr(buf, '\n', len);
	if (nl == NULL)
		return 0;
	end = nl;
	if (end > buf && end[-1] == '\r')
		end--;
	else
		m->flags |= MSG_BARE_LF;
	if (end - buf < 12 || buf[8] != ' ' || parse_version(buf, buf + 8, m) < 0)
		return perr(m, 502, "invalid status line");
	p = buf + 9;
	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || (end > p + 3 && p[3] != ' '))
		return perr(m, 502, "invalid status code");
	m->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (m->status < 100)
		return perr(m, 502, "invalid status code");
	for (p += 3; p < end; p++)
		if (!IS_VCHAR(*p))
			return perr(m, 502, "invalid character in reason");
	r = parse_fields(buf, len, (size_t)(nl - buf) + 1, m);
	if (r < 0) {
		m->err = 502;
		return -1;
	}
	if (r == 0)
		return 0;
	if (parse_semantics(m, 0) < 0) {
		m->err = 502;	/* whatever is wrong, the server is at fault */
		return -1;
	}
	return r;
}

/* Chunked framing states. */
enum { CK_SIZE0, CK_SIZE, CK_SIZE_WS, CK_EXT, CK_SIZE_LF, CK_DATA,
	CK_DATA_CR, CK_DATA_LF, CK_TRL0, CK_TRL_NAME, CK_TRL, CK_TRL_LF,
	CK_END_LF, CK_DONE };

long
chunk_feed(struct chunk_dec *d, const char *buf, size_t len)
{
	size_t i = 0;

	cclass_init();
	while (i < len && d->state != CK_DONE) {
		unsigned char c = (unsigned char)buf[i];

		switch (d->state) {
		case CK_SIZE0:
		case CK_SIZE:
			if (hexval(c) >= 0) {
				if (d->digits >= 15)	/* < 2^60: no overflow */
					return -1;
				d->left = d->left * 16 + (uint64_t)hexval(c);
				d->digits++;
				d->state = CK_SIZE;
				break;
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
			break;
		case CK_EXT:
			if (++d->line > CHUNK_LINE_MAX)
				return -1;
			if (c == '\r')
				d->state = CK_SIZE_LF;
			else if (!IS_VCHAR(c))
				return -1;
			break;
		case CK_SIZE_LF:
			if (c != '\n')
				return -1;
			d->digits = 0;
			d->line = 0;
			d->state = d->left ? CK_DATA : CK_TRL0;
			break;
		case CK_DATA: {
			size_t n = len - i;

			if (n > d->left)
				n = (size_t)d->left;
			d->left -= n;
			i += n;
			if (d->left == 0)
				d->state = CK_DATA_CR;
			continue;
		}
		case CK_DATA_CR:
			if (c != '\r')
				return -1;
			d->state = CK_DATA_LF;
			break;
		case CK_DATA_LF:
			if (c != '\n')
				return -1;
			d->state = CK_SIZE0;
			break;
		case CK_TRL0:
			if (c == '\r') {
				d->state = CK_END_LF;
				break;
			}
			if (!IS_TCHAR(c))
				return -1;	/* a trailer is "name: value" */
			d->state = CK_TRL_NAME;
			/* FALLTHROUGH */
		case CK_TRL_NAME:
			if (++d->trailers > TRAILER_MAX)
				return -1;
			if (c == ':')
				d->state = CK_TRL;
			else if (!IS_TCHAR(c))
				return -1;
			break;
		case CK_TRL:
			if (++d->trailers > TRAILER_MAX)
				return -1;
			if (c == '\r')
				d->state = CK_TRL_LF;
			else if (!IS_VCHAR(c))
				return -1;
			break;
		case CK_TRL_LF:
			if (c != '\n')
				return -1;
			d->state = CK_TRL0;
			break;
		case CK_END_LF:
			if (c != '\n')
				return -1;
			d->state = CK_DONE;
			break;
		}
		i++;
	}
	return (long)i;
}

int
chunk_done(const struct chunk_dec *d)
{
	return d->state == CK_DONE;
}

/* ==================================================================== */
/* ACL evaluation.                                                       */
/* Fetches read a parsed request (and the client address); matches     */
/* compare one fetched value with one pattern.  Pure.                   */
/* ==================================================================== */

static int
bytes_eq(const char *a, const char *b, size_t n, int icase)
{
	return icase ? strncasecmp(a, b, n) == 0 : memcmp(a, b, n) == 0;
}

/* "dom" and "dir" matches: the pattern must appear delimited. */
static int
match_delim(const char *s, size_t n, const char *p, size_t pl, int icase,
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
		    bytes_eq(s + i, p, pl, icase))
			return 1;
	}
	return 0;
}

static int
match_one(const struct acl_test *t, int k, const char *s, size_t n)
{
	const char *p = t->pat[k];
	size_t pl = t->patlen[k], i;

	switch (t->match) {
	case M_STR:
		return n == pl && bytes_eq(s, p, n, t->icase);
	case M_BEG:
		return n >= pl && bytes_eq(s, p, pl, t->icase);
	case M_END:
		return n >= pl && bytes_eq(s + n - pl, p, pl, t->icase);
	case M_SUB:
		for (i = 0; i + pl <= n; i++)
			if (bytes_eq(s + i, p, pl, t->icase))
				return 1;
		return 0;
	case M_DOM:
		return match_delim(s, n, p, pl, t->icase, "/?.:");
	case M_DIR:
		return match_delim(s, n, p, pl, t->icase, "/?");
	case M_REG: {
		char tmp[8192];

		if (n >= sizeof(tmp))
			n = sizeof(tmp) - 1;
		memcpy(tmp, s, n);
		tmp[n] = 0;
		return regexec(&t->re[k], tmp, 0, NULL, 0) == 0;
	}
	case M_LEN:
	case M_INT: {
		long long v = (long long)n, w = t->ival[k];

		if (t->match == M_INT) {
			v = 0;
			for (i = 0; i < n && isdigit((unsigned char)s[i]); i++)
				v = v * 10 + (s[i] - '0');
			if (i != n)
				return 0;
		}
		switch (t->iop[k]) {
		case 1: return v >= w;
		case 2: return v > w;
		case 3: return v <= w;
		case 4: return v < w;
		default: return v == w;
		}
	}
	default:
		return 0;
	}
}

static int
match_any(const struct acl_test *t, const char *s, size_t n)
{
	int k;

	if (t->match == M_FOUND)
		return 1;
	for (k = 0; k < t->npat; k++)
		if (match_one(t, k, s, n))
			return 1;
	return 0;
}

static int
match_ip(const struct acl_test *t, const struct sockaddr_storage *ss)
{
	unsigned char a[16];
	int fam, k;

	if (ss == NULL)
		return 0;
	if (ss->ss_family == AF_INET) {
		fam = AF_INET;
		memcpy(a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const unsigned char *v6 =
		    ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] =
		    { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

		if (memcmp(v6, mapped, 12) == 0) {
			fam = AF_INET;
			memcpy(a, v6 + 12, 4);
		} else {
			fam = AF_INET6;
			memcpy(a, v6, 16);
		}
	} else
		return 0;
	for (k = 0; k < t->npat; k++) {
		const struct cidr *c = &t->cidr[k];
		int bits = c->bits, i;

		if (c->family != fam)
			continue;
		for (i = 0; bits >= 8; i++, bits -= 8)
			if (a[i] != c->addr[i])
				break;
		if (bits >= 8)
			continue;
		if (bits && ((a[i] ^ c->addr[i]) & (0xff00 >> bits) & 0xff))
			continue;
		return 1;
	}
	return 0;
}

/* The path of a request target: without query string, and without the
 * scheme and authority of an absolute-form target. */
static void
uri_path(const struct http_msg *m, const char **p, size_t *n)
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

static int
test_exec(const struct acl_test *t, const struct req_ctx *ctx)
{
	const struct http_msg *m = ctx->msg;
	const char *s;
	size_t n;
	int i, cnt;

	switch (t->fetch) {
	case F_CONST:
		return t->cval;
	case F_SSL_FC:
		return ctx->ssl != 0;
	case F_SRC:
		return match_ip(t, ctx->src);
	default:
		break;
	}
	if (m == NULL)
		return 0;	/* an HTTP fetch in TCP mode finds nothing */
	switch (t->fetch) {
	case F_PATH:
		uri_path(m, &s, &n);
		return match_any(t, s, n);
	case F_URL:
		return match_any(t, m->uri, m->uri_len);
	case F_METHOD:
		return match_any(t, m->method, m->method_len);
	case F_REQ_VER:
		return match_any(t, m->minor ? "1.1" : "1.0", 3);
	case F_HDR_CNT:
	case F_HDR:
		cnt = 0;
		for (i = 0; i < m->nhdr; i++) {
			const struct http_hdr *h = &m->hdr[i];
			const char *p = h->value, *end = h->value + h->value_len, *el;
			size_t ell;

			if (t->arg && *t->arg && !ieq(h->name, h->name_len, t->arg))
				continue;
			/* every comma-separated value of every occurrence */
			if (h->value_len == 0) {
				cnt++;
				if (t->fetch == F_HDR && match_any(t, "", 0))
					return 1;
				continue;
			}
			while (list_next(&p, end, &el, &ell)) {
				cnt++;
				if (t->fetch == F_HDR && match_any(t, el, ell))
					return 1;
			}
		}
		if (t->fetch == F_HDR_CNT) {
			char num[24];

			n = (size_t)snprintf(num, sizeof(num), "%d", cnt);
			return match_any(t, num, n);
		}
		return 0;
	default:
		return 0;
	}
}

int
acl_exec(const struct acl *a, const struct req_ctx *ctx)
{
	const struct acl_test *t;

	for (t = a->tests; t; t = t->next)
		if (test_exec(t, ctx))
			return 1;
	return 0;
}

int
cond_exec(const struct cond *c, const struct req_ctx *ctx)
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

/* ==================================================================== */
/* Server selection.                                                     */
/* HAProxy's own algorithms, so that a configuration picks the same     */
/* servers in the same order: FWRR for roundrobin (weighted, smooth),   */
/* FWLC for leastconn (fewest in-flight per weight, ties in insertion   */
/* order so they rotate), and "first".  HAProxy keeps servers in        */
/* ebtrees; with a handful of servers per backend an ordered scan over  */
/* (key, insertion order) gives the same order.                          */
/* ==================================================================== */

#define BE_WEIGHT_SCALE	16
#define SRV_UWGHT_RANGE	256
#define SRV_EWGHT_MAX	(SRV_UWGHT_RANGE * BE_WEIGHT_SCALE)

/* lb_tree values: which ordered set a server is in */
enum { LBT_NONE, LBT_A0, LBT_A1, LBT_ACUR, LBT_B0, LBT_B1, LBT_BCUR,
	LBT_LC_ACT, LBT_LC_BCK };

int
srv_usable(const struct server *s)
{
	return !s->disabled && s->st->up && !s->st->agent_down &&
	    s->st->agent_admin != 2 && s->st->admin != 2 && s->eweight > 0;
}

/* Effective weight: the configured one, scaled by what an agent said
 * (N%, or 0 while draining) and by slowstart after a return to service. */
static int
srv_eweight(const struct server *s)
{
	const struct srv_state *st = s->st;
	long long w = (long long)(st->weight_set ? st->weight : s->weight) *
	    BE_WEIGHT_SCALE;

	if (st->agent_admin == 1 || st->admin == 1)	/* drain */
		return 0;
	if (st->weight_pct_set)
		w = w * st->weight_pct / 100;
	if (s->slowstart && st->up_since > 0 && now_ms - st->up_since <
	    (int64_t)s->slowstart) {
		w = (w * (now_ms - st->up_since) + s->slowstart - 1) / s->slowstart;
		if (w < 1 && s->weight)
			w = 1;
	}
	return (int)w;
}

static void
lbt_insert(struct server *s, int tree, unsigned key)
{
	s->lb_tree = tree;
	s->lb_key = key;
	s->lb_seq = ++s->be->lb_seq;
}

static void
lbt_delete(struct server *s)
{
	s->lb_tree = LBT_NONE;
}

static struct server *
lbt_first(struct proxy *be, int tree)
{
	struct server *s, *best = NULL;

	for (s = be->srv; s; s = s->next)
		if (s->lb_tree == tree && (best == NULL || s->lb_key < best->lb_key ||
		    (s->lb_key == best->lb_key && s->lb_seq < best->lb_seq)))
			best = s;
	return best;
}

/* The server following <cur> in (key, seq) order within its set. */
static struct server *
lbt_next(struct proxy *be, struct server *cur)
{
	struct server *s, *best = NULL;

	for (s = be->srv; s; s = s->next) {
		if (s->lb_tree != cur->lb_tree || s == cur)
			continue;
		if (s->lb_key < cur->lb_key || (s->lb_key == cur->lb_key &&
		    s->lb_seq < cur->lb_seq))
			continue;
		if (best == NULL || s->lb_key < best->lb_key ||
		    (s->lb_key == best->lb_key && s->lb_seq < best->lb_seq))
			best = s;
	}
	return best;
}

static int
srv_has_slot(const struct server *s)
{
	int max = s->st->agent_maxconn_set ? s->st->agent_maxconn : s->maxconn;

	return max == 0 || s->st->cur < max;
}

static struct fwrr_grp *
fwrr_grp_of(struct server *s)
{
	return s->backup ? &s->be->bck : &s->be->act;
}

static int
fwrr_curr_tree(struct server *s)
{
	return s->backup ? LBT_BCUR : LBT_ACUR;
}

static void
fwrr_queue_by_weight(struct server *s, int tree)
{
	lbt_insert(s, tree, (unsigned)(SRV_EWGHT_MAX - s->eweight));
}

/* Place a server in the current or next set according to its npos. */
static void
fwrr_queue_srv(struct server *s)
{
	struct fwrr_grp *g = fwrr_grp_of(s);

	if (!srv_usable(s)) {
		lbt_delete(s);
	} else if (s->eweight <= 0 || s->npos >= 2 * g->curr_weight ||
	    s->npos >= g->curr_weight + g->next_weight) {
		s->npos -= g->curr_weight;
		fwrr_queue_by_weight(s, g->next);
	} else {
		lbt_insert(s, fwrr_curr_tree(s), (unsigned)(SRV_UWGHT_RANGE * s->npos +
		    (unsigned)(SRV_EWGHT_MAX + s->rweight - s->eweight) /
		    BE_WEIGHT_SCALE));
	}
}

/* Prepare a server taken out of its set. */
static void
fwrr_get_srv(struct server *s)
{
	struct fwrr_grp *g = fwrr_grp_of(s);

	if (s->lb_tree == g->init) {
		s->npos = s->rweight = 0;
	} else if (s->lb_tree == g->next) {
		s->npos += g->curr_weight;
	} else if (s->lb_tree == LBT_NONE) {
		s->npos = g->curr_pos;
	}
}

static void
fwrr_switch(struct fwrr_grp *g)
{
	int t = g->init;

	g->init = g->next;
	g->next = t;
	g->curr_weight = g->next_weight;
	g->curr_pos = g->curr_weight;
}

static struct server *
fwrr_from_group(struct proxy *be, struct fwrr_grp *g, int curr)
{
	struct server *s = lbt_first(be, curr);

	if (s == NULL || s->npos > g->curr_pos) {
		struct server *s2 = lbt_first(be, g->init);

		if (s2) {
			s = s2;
			s->npos = s->rweight = 0;
			if (s->eweight == 0)
				s = NULL;
		}
	}
	return s;
}

static void
fwrr_update_position(struct fwrr_grp *g, struct server *s)
{
	if (!s->npos) {
		s->lpos = g->curr_pos;
		s->npos = g->curr_pos + g->next_weight / s->eweight;
	} else {
		s->lpos = s->npos;
		s->npos += g->next_weight / s->eweight;
	}
	s->rweight += g->next_weight % s->eweight;
	if (s->rweight >= s->eweight) {
		s->rweight -= s->eweight;
		s->npos++;
	}
}

static struct server *
fwrr_pick(struct proxy *be, struct server *avoid)
{
	struct server *srv, *full = NULL, *avoided = NULL;
	struct fwrr_grp *g;
	int curr, switched = 0;

	if (be->srv_act) {
		g = &be->act;
		curr = LBT_ACUR;
	} else if (be->fbck)
		return srv_has_slot(be->fbck) ? be->fbck : NULL;
	else if (be->srv_bck) {
		g = &be->bck;
		curr = LBT_BCUR;
	} else
		return NULL;

	for (;;) {
		if (!g->curr_weight)
			g->curr_pos = g->curr_weight = g->next_weight;
		for (;;) {
			srv = fwrr_from_group(be, g, curr);
			if (srv)
				break;
			if (switched) {
				if (avoided) {
					srv = avoided;
					break;
				}
				goto requeue;
			}
			switched = 1;
			fwrr_switch(g);
		}
		fwrr_update_position(g, srv);
		lbt_delete(srv);
		g->curr_pos++;
		if (srv_has_slot(srv)) {
			if (srv != avoid || avoided)
				break;
			avoided = srv;
		}
		srv->next_full = full;
		full = srv;
	}
	fwrr_queue_srv(srv);
requeue:
	while (full) {
		struct server *nf = full->next_full;

		if (full != srv) {
			if (switched)
				fwrr_queue_by_weight(full, g->init);
			else
				fwrr_queue_srv(full);
		}
		full = nf;
	}
	return srv;
}

static void
recount_servers(struct proxy *be)
{
	struct server *s;

	be->srv_act = be->srv_bck = 0;
	be->tot_wact = be->tot_wbck = 0;
	be->fbck = NULL;
	for (s = be->srv; s; s = s->next) {
		if (!srv_usable(s))
			continue;
		if (s->backup) {
			if (be->fbck == NULL)
				be->fbck = s;
			be->srv_bck++;
			be->tot_wbck += s->eweight;
		} else {
			be->srv_act++;
			be->tot_wact += s->eweight;
		}
	}
}

static unsigned
fwlc_key(struct server *s)
{
	unsigned inflight = (unsigned)s->st->cur;

	return inflight ? (inflight + 1) * SRV_EWGHT_MAX / (unsigned)s->eweight : 0;
}

void
lb_init(struct proxy *be)
{
	struct server *s;

	for (s = be->srv; s; s = s->next) {
		s->eweight = srv_eweight(s);
		s->prev_eweight = s->eweight;
		s->prev_usable = srv_usable(s);
		s->lb_tree = LBT_NONE;
		s->npos = s->lpos = s->rweight = 0;
	}
	recount_servers(be);
	be->act.curr_pos = be->act.curr_weight = be->act.next_weight = be->tot_wact;
	be->act.init = LBT_A0;
	be->act.next = LBT_A1;
	be->bck.curr_pos = be->bck.curr_weight = be->bck.next_weight = be->tot_wbck;
	be->bck.init = LBT_B0;
	be->bck.next = LBT_B1;
	for (s = be->srv; s; s = s->next) {
		if (!srv_usable(s))
			continue;
		if (be->lb == LB_RR)
			fwrr_queue_by_weight(s, s->backup ? be->bck.init : be->act.init);
		else if (be->lb == LB_LEASTCONN)
			lbt_insert(s, s->backup ? LBT_LC_BCK : LBT_LC_ACT, fwlc_key(s));
	}
}

/* A server's usable state or effective weight changed. */
void
lb_update(struct server *s)
{
	struct proxy *be = s->be;
	int usable, was = s->prev_usable;
	struct fwrr_grp *g = fwrr_grp_of(s);

	s->eweight = srv_eweight(s);
	usable = srv_usable(s);
	if (usable == was && s->eweight == s->prev_eweight)
		return;
	if (be->lb == LB_RR) {
		if (was && !usable) {
			g->next_weight -= s->prev_eweight;
			lbt_delete(s);
		} else if (!was && usable) {
			g->next_weight += s->eweight;
			fwrr_get_srv(s);
			s->npos = g->curr_pos + (g->next_weight + g->curr_weight -
			    g->curr_pos) / s->eweight;
			fwrr_queue_srv(s);
		} else if (usable) {
			g->next_weight = g->next_weight - s->prev_eweight + s->eweight;
			if (s->lb_tree == g->init) {
				lbt_delete(s);
				fwrr_queue_by_weight(s, g->init);
			} else {
				int prev_next = s->npos, step;

				fwrr_get_srv(s);
				step = g->next_weight / s->eweight;
				s->npos = s->lpos + step;
				s->rweight = 0;
				if (s->npos > prev_next)
					s->npos = prev_next;
				if (s->npos < g->curr_pos + 2)
					s->npos = g->curr_pos + step;
				lbt_delete(s);
				fwrr_queue_srv(s);
			}
		}
	} else if (be->lb == LB_LEASTCONN) {
		lbt_delete(s);
		if (usable)
			lbt_insert(s, s->backup ? LBT_LC_BCK : LBT_LC_ACT, fwlc_key(s));
	}
	s->prev_usable = usable;
	s->prev_eweight = s->eweight;
	recount_servers(be);
	if (be->lb == LB_RR) {
		be->act.next_weight = be->tot_wact;
		be->bck.next_weight = be->tot_wbck;
	}
}

/* leastconn keeps its order by in-flight count: reposition on change,
 * but only when the key really moves (ties keep their place). */
static void
fwlc_reposition(struct server *s)
{
	unsigned key;

	if (s->be->lb != LB_LEASTCONN || s->lb_tree == LBT_NONE)
		return;
	key = fwlc_key(s);
	if (key == s->lb_key)
		return;
	lbt_insert(s, s->lb_tree, key);
}

void
lb_taken(struct server *s)
{
	fwlc_reposition(s);
}

void
lb_released(struct server *s)
{
	fwlc_reposition(s);
}

static struct server *
fwlc_pick(struct proxy *be, struct server *avoid)
{
	struct server *s, *avoided = NULL;
	int tree;

	if (be->srv_act)
		tree = LBT_LC_ACT;
	else if (be->fbck)
		return srv_has_slot(be->fbck) ? be->fbck : NULL;
	else if (be->srv_bck)
		tree = LBT_LC_BCK;
	else
		return NULL;
	for (s = lbt_first(be, tree); s; s = lbt_next(be, s)) {
		if (!srv_has_slot(s))
			continue;
		if (s != avoid)
			return s;
		avoided = s;
	}
	return avoided;
}

static struct server *
first_pick(struct proxy *be, struct server *avoid)
{
	struct server *s, *avoided = NULL;
	int backup = be->srv_act == 0;

	for (s = be->srv; s; s = s->next) {
		if (!srv_usable(s) || s->backup != backup || !srv_has_slot(s))
			continue;
		if (s != avoid)
			return s;
		avoided = s;
	}
	return avoided;
}

struct server *
lb_pick(struct proxy *be, struct server *avoid)
{
	switch (be->lb) {
	case LB_LEASTCONN:
		return fwlc_pick(be, avoid);
	case LB_FIRST:
		return first_pick(be, avoid);
	default:
		return fwrr_pick(be, avoid);
	}
}

/* ==================================================================== */
/* Connect and queue.                                                    */
/* Owns server slots (maxconn), the backend's FIFO queue with its       */
/* timeout, the non-blocking connect and the retry/redispatch policy.  */
/* ==================================================================== */

static void sess_error(struct session *s, int status, const char *term);
static void req_reset(struct session *s);
static void srv_close(struct session *s);
static void sess_kill(struct session *s, const char *term);
static int sess_connect(struct session *s);

static void
srv_take(struct session *s, struct server *sv)
{
	s->sv = sv;
	s->st = sv->st;
	sv->st->cur++;
	if (sv->st->cur > sv->st->smax)
		sv->st->smax = sv->st->cur;
	sv->st->stot++;
	sv->st->lbtot++;
	s->fl |= SS_COUNTED;
	lb_taken(sv);
}

static int queues_dirty;

/* Give back the slot; queued requests are dispatched at the end of the
 * loop turn, outside of any session's processing. */
static void
srv_release(struct session *s)
{
	if (!(s->fl & SS_COUNTED))
		return;
	s->fl &= ~SS_COUNTED;
	s->st->cur--;
	/* the balancer of the running config, even for a session that
	 * started before a reload */
	if (s->st->srv)
		lb_released(s->st->srv);
	if (s->st->srv && s->st->srv->be->queue && s->st->srv->be->queue->len)
		queues_dirty = 1;
}

static struct pqueue *
be_queue(struct proxy *be)
{
	if (be->queue == NULL)
		be->queue = xcalloc(1, sizeof(*be->queue));
	return be->queue;
}

static void
queue_add(struct session *s)
{
	struct pqueue *q = be_queue(s->be);

	s->qnext = NULL;
	s->qprev = q->tail;
	if (q->tail)
		q->tail->qnext = s;
	else
		q->head = s;
	q->tail = s;
	q->len++;
	if (q->len > q->max)
		q->max = q->len;
	s->state = S_QUEUE;
	s->t_queue = now_ms;
	queues_dirty = 1;
}

static void
queue_del(struct session *s)
{
	struct pqueue *q = s->be->queue;

	if (s->qprev)
		s->qprev->qnext = s->qnext;
	else
		q->head = s->qnext;
	if (s->qnext)
		s->qnext->qprev = s->qprev;
	else
		q->tail = s->qprev;
	s->qnext = s->qprev = NULL;
	q->len--;
}

/*
 * Idle server connections, per server (HAProxy's idle connection pools).
 * A response that leaves its server connection reusable puts it here;
 * the next request for that server, from any client, takes the newest
 * one instead of connecting.  An idle connection that becomes readable
 * was closed by its server (or spoke out of turn) and is dropped.  None is
 * reused after POOL_IDLE_MS, so a server's own keep-alive timeout cannot
 * race with a request.
 */
#define POOL_PER_SRV	64
#define POOL_MAX	4096
#define POOL_IDLE_MS	2000

struct idle_conn {
	int		 fd;
	int64_t		 since;
	struct srv_state *st;
	struct idle_conn *next;
};

static int pool_total;

static void
pool_unlink(struct idle_conn *ic)
{
	struct idle_conn **pp;

	for (pp = &ic->st->idle; *pp; pp = &(*pp)->next)
		if (*pp == ic) {
			*pp = ic->next;
			break;
		}
	ic->st->nidle--;
	pool_total--;
}

static void
pool_drop(struct idle_conn *ic)
{
	pool_unlink(ic);
	fd_close(ic->fd);
	free(ic);
}

static void
pool_event(void *obj, int fd, short revents)
{
	(void)fd;
	(void)revents;
	pool_drop(obj);
}

static void
pool_put(struct srv_state *st, int fd)
{
	struct idle_conn *ic;

	if (st->nidle >= POOL_PER_SRV || pool_total >= POOL_MAX ||
	    (ic = malloc(sizeof(*ic))) == NULL) {
		fd_close(fd);
		return;
	}
	ic->fd = fd;
	ic->since = now_ms;
	ic->st = st;
	ic->next = st->idle;
	st->idle = ic;
	st->nidle++;
	pool_total++;
	fd_rebind(fd, pool_event, ic, POLLIN);
}

/* The newest usable idle connection to a server, or -1. */
static int
pool_get(struct srv_state *st)
{
	/* a close that arrived before this loop turn's poll() was seen by
	 * pool_event(); a peek here would cost a syscall per request and
	 * still not close the race, which POOL_IDLE_MS keeps small */
	while (st->idle) {
		struct idle_conn *ic = st->idle;
		int fd = ic->fd;

		if (now_ms - ic->since > POOL_IDLE_MS) {
			pool_drop(ic);
			continue;
		}
		pool_unlink(ic);
		free(ic);
		return fd;
	}
	return -1;
}

/* Close what has been idle too long (run about once a second). */
static void
pool_purge(struct srv_state *st)
{
	struct idle_conn *ic, *nx;

	for (ic = st->idle; ic; ic = nx) {
		nx = ic->next;
		if (now_ms - ic->since > POOL_IDLE_MS)
			pool_drop(ic);
	}
}

/* Attach the session to its assigned server: a pooled connection if one
 * is fit, else a new one. */
static int
srv_attach(struct session *s)
{
	int fd = pool_get(s->st);

	if (fd < 0)
		return sess_connect(s);
	s->srv.fd = fd;
	s->srv.fl = SF_WR;
	fd_rebind(fd, sess_event, s, 0);
	s->fl |= SS_REUSED;
	s->t_conn = s->t_est = now_ms;
	s->state = S_XFER;
	return 0;
}

/* Pick a server for the request or queue it.  Returns 0 when the session
 * has somewhere to go (connecting or queued), -1 after an error reply. */
static int
sess_assign(struct session *s, struct server *avoid)
{
	struct proxy *be = s->be;
	struct server *sv = NULL;

	if (be->queue == NULL || be->queue->len == 0)
		sv = lb_pick(be, avoid);
	if (sv == NULL) {
		if (be->srv_act == 0 && be->srv_bck == 0) {
			sess_error(s, 503, "SC");
			return -1;
		}
		queue_add(s);
		return 0;
	}
	srv_take(s, sv);
	return srv_attach(s);
}

static void
queues_process(void)
{
	struct proxy *be;

	queues_dirty = 0;
	for (be = rt.cfg->proxies; be; be = be->next) {
		struct pqueue *q = be->queue;

		while (q && q->head) {
			struct session *s = q->head;
			struct server *sv = lb_pick(be, NULL);

			if (sv == NULL)
				break;
			queue_del(s);
			srv_take(s, sv);
			s->t_qdur = now_ms - s->t_queue;
			srv_attach(s);
			sess_run(s);
		}
	}
}

static void
srv_close(struct session *s)
{
	if (s->srv.fd >= 0)
		fd_close(s->srv.fd);
	s->srv.fd = -1;
	s->srv.fl = 0;
	s->fl &= ~SS_REUSED;
}

/* A connection attempt failed: retry, possibly elsewhere, or give up. */
static void
sess_conn_failed(struct session *s)
{
	struct proxy *be = s->be;
	struct server *sv = s->sv;
	int redispatch;

	sv->st->econ++;
	srv_close(s);
	if (s->retries <= 0) {
		srv_release(s);
		sess_error(s, 503, "SC");
		return;
	}
	s->retries--;
	/* HAProxy: with "option redispatch", a roundrobin backend with
	 * several active servers redispatches on every retry, other
	 * algorithms on the last one; a server that went down always. */
	redispatch = (be->options & OPT_REDISPATCH) && (!srv_usable(sv) ||
	    s->retries == 0 || (be->lb == LB_RR && be->srv_act > 1));
	if (redispatch) {
		srv_release(s);
		if (sess_assign(s, sv) < 0)
			return;
		return;
	}
	/* same server again after a turn-around pause, so that an instant
	 * refusal does not burn every retry at once */
	s->state = S_TURN;
	{
		int64_t d = 1000;

		if (be->timeout[T_CONNECT] && be->timeout[T_CONNECT] < d)
			d = be->timeout[T_CONNECT];
		sess_set_expire(s, now_ms + d);
	}
}

/* ==================================================================== */
/* Transport.                                                            */
/* How a side moves bytes.  The HTTP and tunnel code call only these,   */
/* so a TLS engine can stand behind a side without them knowing.        */
/* Results: >0 bytes, 0 end of stream, -1 would block, -2 error.        */
/* ==================================================================== */

static int tls_recv(struct side *sd, char *p, size_t n);
static int tls_send(struct side *sd, const char *p, size_t n);
static void tls_shutw(struct side *sd);

static int
side_recv(struct side *sd, char *p, size_t n)
{
	ssize_t r;

	if (sd->tls)
		return tls_recv(sd, p, n);
	r = recv(sd->fd, p, n, 0);

	if (r > 0) {
		if ((size_t)r < n)
			sd->fl &= ~SF_RD;	/* most likely drained */
		return (int)r;
	}
	if (r == 0) {
		sd->fl |= SF_EOF;
		sd->fl &= ~SF_RD;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		sd->fl &= ~SF_RD;
		return -1;
	}
	sd->fl |= SF_ERR | SF_EOF;
	sd->fl &= ~SF_RD;
	return -2;
}

static int
side_send(struct side *sd, const char *p, size_t n)
{
	ssize_t r;

	if (sd->tls)
		return tls_send(sd, p, n);
	r = send(sd->fd, p, n, MSG_NOSIGNAL);

	if (r >= 0) {
		if ((size_t)r < n)
			sd->fl &= ~SF_WR;
		return (int)r;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		sd->fl &= ~SF_WR;
		return -1;
	}
	sd->fl |= SF_ERR;
	sd->fl &= ~SF_WR;
	return -2;
}

static void
side_shutw(struct side *sd)
{
	if (sd->tls && !(sd->fl & SF_SHUTW)) {
		tls_shutw(sd);
		sd->fl |= SF_SHUTW;
		return;
	}
	if (sd->fd >= 0 && !(sd->fl & SF_SHUTW)) {
		shutdown(sd->fd, SHUT_WR);
		sd->fl |= SF_SHUTW;
	}
}

/*
 * Kernel pipes for tunnels between two plain sockets: splice(2) moves the
 * bytes socket -> pipe -> socket without copying them through user space.
 * A pipe is held only while bytes are in flight and goes back to a
 * bounded pool when it drains, so idle tunnels hold none.
 */
#define PIPE_POOL_MAX	256		/* empty pipes kept for reuse */
#define PIPE_MAX	4096		/* pipes in use at once; then copy */
#define PIPE_SIZE	(256 * 1024)	/* asked of the kernel per pipe */

struct kpipe {
	int		 rd, wr;
	unsigned	 len;		/* bytes inside */
	struct kpipe	*next;
};

static struct kpipe *pipe_pool;
static int pipe_pooled, pipe_used, pipe_broken;

static struct kpipe *
pipe_get(void)
{
	struct kpipe *p = pipe_pool;
	int fds[2];

	if (p) {
		pipe_pool = p->next;
		pipe_pooled--;
		pipe_used++;
		return p;
	}
	if (pipe_broken || pipe_used >= PIPE_MAX)
		return NULL;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return NULL;
	if (fds[0] >= fdtab_size || fds[1] >= fdtab_size) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	(void)fcntl(fds[0], F_SETPIPE_SZ, PIPE_SIZE);
	p = malloc(sizeof(*p));
	if (p == NULL) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	p->rd = fds[0];
	p->wr = fds[1];
	p->len = 0;
	pipe_used++;
	return p;
}

static void
pipe_put(struct kpipe *p)
{
	if (p == NULL)
		return;
	pipe_used--;
	if (p->len == 0 && pipe_pooled < PIPE_POOL_MAX) {
		p->next = pipe_pool;
		pipe_pool = p;
		pipe_pooled++;
		return;
	}
	close(p->rd);
	close(p->wr);
	free(p);
}

/* ==================================================================== */
/* Proxying.                                                             */
/* A session is the client connection and, while it is served, one    */
/* server connection.  sess_run() is the only place that changes a    */
/* session's state: each state advances as far as the bytes allow,     */
/* then poll interest and the deadline are derived from what is left.  */
/* ==================================================================== */

static const struct {
	int		 status;
	const char	*reason;
	const char	*text;
} http_errors[] = {
	{ 400, "Bad request", "Your browser sent an invalid request." },
	{ 403, "Forbidden", "Request forbidden by administrative rules." },
	{ 404, "Not Found", "The resource could not be found." },
	{ 405, "Method Not Allowed", "A request was made of a resource using a "
	    "request method not supported by that resource" },
	{ 408, "Request Time-out", "Your browser didn't send a complete request "
	    "in time." },
	{ 410, "Gone", "The resource is no longer available and will not be "
	    "available again." },
	{ 413, "Payload Too Large", "The request entity exceeds the maximum "
	    "allowed." },
	{ 414, "URI Too Long", "The request URI is too long." },
	{ 429, "Too Many Requests", "You have sent too many requests in a given "
	    "amount of time." },
	{ 431, "Request Header Fields Too Large", "The request header fields "
	    "are too large." },
	{ 500, "Internal Server Error", "An internal server error occurred." },
	{ 501, "Not Implemented", "The server does not support the "
	    "functionality required to fulfill the request." },
	{ 502, "Bad Gateway", "The server returned an invalid or incomplete "
	    "response." },
	{ 503, "Service Unavailable", "No server is available to handle this "
	    "request." },
	{ 504, "Gateway Time-out", "The server didn't respond in time." },
	{ 505, "HTTP Version Not Supported", "The HTTP version is not "
	    "supported." },
};

/* Write HAProxy's answer for <status> into <out>; returns its length. */
static int
http_error_text(int status, int keepalive, char *out, size_t len)
{
	const char *reason = "Error", *text = "An error occurred.";
	char body[512];
	size_t i;
	int bl;

	for (i = 0; i < sizeof(http_errors) / sizeof(http_errors[0]); i++)
		if (http_errors[i].status == status) {
			reason = http_errors[i].reason;
			text = http_errors[i].text;
		}
	bl = snprintf(body, sizeof(body),
	    "<html><body><h1>%d %s</h1>\n%s\n</body></html>\n", status, reason,
	    text);
	return snprintf(out, len, "HTTP/1.1 %d %s\r\ncontent-length: %d\r\n"
	    "cache-control: no-cache\r\n%scontent-type: text/html\r\n\r\n%s",
	    status, reason, bl, keepalive ? "" : "connection: close\r\n", body);
}

static void sess_log(struct session *s);

static void
sess_set_expire(struct session *s, int64_t when)
{
	s->expire = when;
	if (when >= 0 && (rt.next_expire < 0 || when < rt.next_expire))
		rt.next_expire = when;
}

/* An error answer generated here.  503 and 403 on a request without a
 * body keep the client connection, as HAProxy does; others close. */
/* An answer generated here: an error page, or a redirect when <location>
 * is given.  503, 403, 429 and redirects of a request without a body
 * keep the client connection, as HAProxy does; others close it. */
static void
sess_reply(struct session *s, int status, const char *term,
    const char *location)
{
	int ka, n;

	if (s->fl & SS_RSP_STARTED) {
		sess_kill(s, term);
		return;
	}
	ka = (status == 503 || status == 403 || status == 429 || location) &&
	    (s->fl & SS_CLI_KA) && s->req_state == RQ_DONE &&
	    s->req_body == BODY_NONE;
	s->status = status;
	memcpy(s->term, term, 2);
	if (s->rsp == NULL)
		s->rsp = buf_get();
	if (s->rsp == NULL) {
		sess_kill(s, term);
		return;
	}
	s->rsp->head = s->rsp->tail = 0;
	if (location)
		n = snprintf(s->rsp->data, (size_t)rt.cfg->bufsize, "HTTP/1.1 %d %s\r\n"
		    "content-length: 0\r\nlocation: %s\r\ncache-control: no-cache\r\n"
		    "%s\r\n", status, status == 301 ? "Moved Permanently" :
		    status == 303 ? "See Other" : status == 307 ?
		    "Temporary Redirect" : status == 308 ? "Permanent Redirect" :
		    "Found", location, ka ? "" : "connection: close\r\n");
	else
		n = http_error_text(status, ka, s->rsp->data,
		    (size_t)rt.cfg->bufsize);
	if (n < 0 || n >= rt.cfg->bufsize)
		n = http_error_text(500, 0, s->rsp->data, (size_t)rt.cfg->bufsize);
	s->rsp->tail = (unsigned)n;
	s->rsp_fwd = (unsigned)n;
	s->bytes_out += (uint64_t)n;
	srv_release(s);
	if (s->srv.fd >= 0)
		srv_close(s);
	sess_log(s);
	if (ka) {
		s->fl |= SS_NOT_FIRST;
		s->state = S_REQ;
		s->t_start = now_ms;
		s->expire = -1;
		/* drop the routed request from the buffer */
		if (s->req) {
			s->req->head += s->req_fwd;
			s->req_fwd = 0;
		}
		req_reset(s);
		return;
	}
	s->fl &= ~SS_CLI_KA;
	s->state = S_CLOSING;
	s->expire = -1;
}

static void
sess_error(struct session *s, int status, const char *term)
{
	sess_reply(s, status, term, NULL);
}

/* Move more of a generated body into the response buffer. */
static void
gen_refill(struct session *s)
{
	size_t n;

	if (s->gen == NULL)
		return;
	if (s->rsp == NULL && (s->rsp = buf_get()) == NULL)
		return;
	if (s->rsp->head == s->rsp->tail)
		s->rsp->head = s->rsp->tail = 0;
	else
		buf_compact(s->rsp);
	n = (size_t)rt.cfg->bufsize - s->rsp->tail;
	if (n > s->gen_len - s->gen_off)
		n = s->gen_len - s->gen_off;
	memcpy(s->rsp->data + s->rsp->tail, s->gen + s->gen_off, n);
	s->rsp->tail += (unsigned)n;
	s->rsp_fwd += (unsigned)n;
	s->gen_off += n;
	s->bytes_out += n;
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
	int ka = (s->fl & SS_CLI_KA) && s->req_state == RQ_DONE &&
	    s->req_body == BODY_NONE, n;

	if (s->rsp == NULL && (s->rsp = buf_get()) == NULL) {
		free(body);
		sess_kill(s, "PR");
		return;
	}
	s->status = status;
	s->rsp->head = s->rsp->tail = 0;
	n = snprintf(s->rsp->data, (size_t)rt.cfg->bufsize, "HTTP/1.1 %d %s\r\n"
	    "content-type: %s\r\ncontent-length: %zu\r\ncache-control: no-cache\r\n"
	    "%s%s\r\n", status, status == 200 ? "OK" : status == 401 ?
	    "Unauthorized" : "Error", ctype, len, extra ? extra : "",
	    ka ? "" : "connection: close\r\n");
	s->rsp->tail = (unsigned)n;
	s->rsp_fwd = (unsigned)n;
	s->bytes_out += (uint64_t)n;
	s->gen = body;
	s->gen_len = len;
	s->gen_off = 0;
	if (len == 0) {
		free(body);
		s->gen = NULL;
	}
	sess_log(s);
	if (ka) {
		if (s->req) {
			s->req->head += s->req_fwd;
			s->req_fwd = 0;
		}
		s->fl |= SS_NOT_FIRST;
		s->state = S_REQ;
		s->t_start = now_ms;
		s->expire = -1;
		req_reset(s);
		return;
	}
	s->fl &= ~SS_CLI_KA;
	s->state = S_CLOSING;
	s->expire = -1;
}

/* Stop now: close both sides.  The session is freed by sess_run(). */
static void
sess_kill(struct session *s, const char *term)
{
	if (term && s->term[0] == '-')
		memcpy(s->term, term, 2);
	if (s->state == S_QUEUE)
		queue_del(s);
	srv_release(s);
	srv_close(s);
	/* an idle keep-alive connection ending is not a request */
	if (s->state != S_REQ || buf_len(s->req) > 0 || s->status > 0)
		sess_log(s);
	s->fl |= SS_LOGGED;
	s->state = S_CLOSING;
	s->cli.fl |= SF_ERR;	/* nothing more to flush */
}

static void
sess_free(struct session *s)
{
	if (s->on_again) {
		struct session **pp;

		for (pp = &rt.again; *pp; pp = &(*pp)->again)
			if (*pp == s) {
				*pp = s->again;
				break;
			}
	}
	if (s->state == S_QUEUE)
		queue_del(s);
	srv_release(s);
	srv_close(s);
	if (s->cli.fd >= 0)
		fd_close(s->cli.fd);
	free(s->cli.tls);
	free(s->gen);
	if (s->preq)
		s->preq->len = 1;	/* bytes lost with the session: not reusable */
	if (s->prsp)
		s->prsp->len = 1;
	pipe_put(s->preq);
	pipe_put(s->prsp);
	buf_put(s->req);
	buf_put(s->rsp);
	if (s->prev)
		s->prev->next = s->next;
	else
		rt.sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	rt.curconn--;
	fe_state(s->fe)->cur--;
	cfg_unref(s->cfg);
	free(s);
	listeners_update();
}

static int
sess_connect(struct session *s)
{
	struct server *sv = s->sv;
	int fd, one = 1;

	s->state = S_CONNECT;
	s->t_conn = now_ms;
	fd = socket(sv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0 || fd >= fdtab_size) {
		if (fd >= 0)
			close(fd);
		log_alert("cannot create a socket to %s/%s: %s", sv->be->name,
		    sv->name, fd < 0 ? strerror(errno) : "too many files");
		srv_release(s);
		sess_error(s, 503, "SC");
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fd_register(fd, sess_event, s, POLLOUT);
	s->srv.fd = fd;
	s->srv.fl = 0;
	if (connect(fd, (struct sockaddr *)&sv->addr, sv->addrlen) == 0) {
		s->srv.fl |= SF_WR;
		return 0;
	}
	if (errno == EINPROGRESS)
		return 0;
	sess_conn_failed(s);
	return s->state == S_CLOSING ? -1 : 0;
}

/* Build the outgoing request head in rt.scratch.  Connection and
 * Transfer-Encoding are rewritten from what was parsed, so the server
 * reads exactly the framing the proxy used. */
/* What the rules decided for one request. */
struct route {
	int			 deny;		/* status, or 0 */
	const struct hreq_rule	*redirect;
	const struct hreq_rule	*hdr[HDR_ACTIONS_MAX]; /* header actions, in order */
	int			 nhdr;
};

static int
hdr_action_drops(const struct route *ro, const char *name, size_t nl, int after)
{
	int k;

	for (k = after; k < ro->nhdr; k++)
		if ((ro->hdr[k]->act == HR_DEL_HDR || ro->hdr[k]->act == HR_SET_HDR) &&
		    ieq(name, nl, ro->hdr[k]->name))
			return 1;
	return 0;
}

static int
build_req_head(struct session *s, const struct http_msg *m,
    const struct route *ro)
{
	char *o = rt.scratch, *end = rt.scratch + rt.cfg->bufsize;
	char ip[INET6_ADDRSTRLEN + 8];
	int i, ka_srv;

#define PUT(p, n) do { if ((size_t)(end - o) < (size_t)(n)) return -1; \
	memcpy(o, p, n); o += (n); } while (0)
#define PUTS(str) PUT(str, strlen(str))
	PUT(m->method, m->method_len);
	PUTS(" ");
	PUT(m->uri, m->uri_len);
	PUTS(m->minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
	for (i = 0; i < m->nhdr; i++) {
		const struct http_hdr *h = &m->hdr[i];

		if (ieq(h->name, h->name_len, "connection") ||
		    ieq(h->name, h->name_len, "transfer-encoding") ||
		    ieq(h->name, h->name_len, "content-length") ||
		    ieq(h->name, h->name_len, "proxy-connection"))
			continue;
		if (ro && hdr_action_drops(ro, h->name, h->name_len, 0))
			continue;
		PUT(h->name, h->name_len);
		PUTS(": ");
		PUT(h->value, h->value_len);
		PUTS("\r\n");
	}
	if (m->flags & MSG_CLEN) {
		/* one length, however it was written ("5, 5" or twice) */
		char num[24];

		PUTS("content-length: ");
		snprintf(num, sizeof(num), "%lld", (long long)m->clen);
		PUTS(num);
		PUTS("\r\n");
	}
	if (m->flags & MSG_CHUNKED) {
		/* the list of codings, normalised, chunked last */
		int first = 1;

		PUTS("transfer-encoding: ");
		for (i = 0; i < m->nhdr; i++) {
			const struct http_hdr *h = &m->hdr[i];
			const char *p = h->value, *e = h->value + h->value_len, *el;
			size_t ell;

			if (!ieq(h->name, h->name_len, "transfer-encoding"))
				continue;
			while (list_next(&p, e, &el, &ell)) {
				if (!first)
					PUTS(", ");
				PUT(el, ell);
				first = 0;
			}
		}
		PUTS("\r\n");
	}
	/* the server side keeps its connection for the pool whatever the
	 * client does: a closing client need not cost a server connect */
	ka_srv = s->be && s->be->http_mode == HTTP_KAL &&
	    s->fe->http_mode == HTTP_KAL;
	if (s->fl & SS_UPG)
		PUTS("connection: upgrade\r\n");
	else if (!ka_srv && m->minor == 1)
		PUTS("connection: close\r\n");
	else if (ka_srv && m->minor == 0)
		PUTS("connection: keep-alive\r\n");
	for (i = 0; ro && i < ro->nhdr; i++) {
		const struct hreq_rule *a = ro->hdr[i];

		if (a->act == HR_DEL_HDR || hdr_action_drops(ro, a->name,
		    strlen(a->name), i + 1))
			continue;
		PUTS(a->name);
		PUTS(": ");
		PUTS(a->value);
		PUTS("\r\n");
	}
	if ((s->fe->options | (s->be ? s->be->options : 0)) & OPT_FORWARDFOR) {
		PUTS("x-forwarded-for: ");
		addr_str(&s->src, ip, sizeof(ip), 0);
		if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip, '.'))
			memmove(ip, ip + 7, strlen(ip + 7) + 1);
		PUTS(ip);
		PUTS("\r\n");
	}
	PUTS("\r\n");
	return (int)(o - rt.scratch);
}

/* Replace <oldlen> bytes at <off> in b with the scratch area's first
 * <newlen> bytes, moving what follows. */
static int
buf_replace(struct buf *b, unsigned off, unsigned oldlen, unsigned newlen)
{
	unsigned rest;

	buf_compact(b);		/* <off> is relative to the data start */
	rest = b->tail - (off + oldlen);
	if (b->tail - oldlen + newlen > (unsigned)rt.cfg->bufsize)
		return -1;
	memmove(b->data + off + newlen, b->data + off + oldlen, rest);
	memcpy(b->data + off, rt.scratch, newlen);
	b->tail = off + newlen + rest;
	return 0;
}

static void
copy_reqline(struct session *s, const struct http_msg *m)
{
	size_t n = (size_t)(m->uri - m->method) + m->uri_len;
	char *o = s->reqline;

	if (n > sizeof(s->reqline) - 12)
		n = sizeof(s->reqline) - 12;
	memcpy(o, m->method, n);
	o += n;
	memcpy(o, m->minor ? " HTTP/1.1" : " HTTP/1.0", 10);
}

/* Move the body bytes of the message being forwarded in <b> past *fwd,
 * as its framing allows: a length, chunks, or everything until the
 * server closes.  Returns 1 when some moved, 0 when none, -1 on broken
 * framing; *done is set once the message has ended. */
static int
classify(struct buf *b, unsigned *fwd, int framing, int64_t *left,
    struct chunk_dec *ck, int *done)
{
	unsigned avail = buf_len(b) - *fwd;
	long n;

	if (avail == 0)
		return 0;
	if (framing == BODY_CLOSE) {
		n = avail;
	} else if (framing == BODY_CLEN) {
		n = (int64_t)avail < *left ? (long)avail : (long)*left;
		*left -= n;
		*done = *left == 0;
	} else {
		n = chunk_feed(ck, b->data + b->head + *fwd, avail);
		if (n < 0)
			return -1;
		*done = chunk_done(ck);
	}
	*fwd += (unsigned)n;
	return n > 0;
}

static int
classify_req(struct session *s)
{
	int r, done = 0;

	if (s->req_state != RQ_BODY || s->req == NULL)
		return 0;
	r = classify(s->req, &s->req_fwd, s->req_body, &s->req_left,
	    &s->req_ck, &done);
	if (done)
		s->req_state = RQ_DONE;
	return r;
}

static int
classify_rsp(struct session *s)
{
	int r, done = 0;

	if (s->rsp_state != RS_BODY || s->rsp == NULL)
		return 0;
	r = classify(s->rsp, &s->rsp_fwd, s->rsp_body, &s->rsp_left,
	    &s->rsp_ck, &done);
	if (done)
		s->rsp_state = RS_DONE;
	return r;
}

/* Read from a side into a buffer, up to <limit> bytes held.  Returns as
 * side_recv(); allocates the buffer when needed. */
static int
fill(struct side *sd, struct buf **bp, unsigned limit, uint64_t *count)
{
	struct buf *b = *bp;
	int n;

	if (b == NULL) {
		b = *bp = buf_get();
		if (b == NULL)
			return -2;
	}
	if (b->head == b->tail)
		b->head = b->tail = 0;
	else if (b->tail >= limit && b->head > 0)
		buf_compact(b);
	if (b->tail >= limit || buf_len(b) >= limit)
		return -1;
	n = side_recv(sd, b->data + b->tail, limit - b->tail);
	if (n > 0) {
		b->tail += (unsigned)n;
		if (count)
			*count += (uint64_t)n;
	}
	return n;
}

/* Send up to <n> bytes from the front of b.  Returns bytes sent, or
 * -1 would block, -2 error. */
static int
drain(struct side *sd, struct buf *b, unsigned n)
{
	int r;

	if (n == 0)
		return 0;
	r = side_send(sd, b->data + b->head, n);
	if (r > 0)
		b->head += (unsigned)r;
	return r;
}

/* http-request rules of one proxy, in order, until allow/deny/redirect.
 * Returns 1 when the request is answered here. */
static int
hreq_eval(const struct hreq_rule *hr, const struct req_ctx *ctx,
    struct route *ro)
{
	for (; hr; hr = hr->next) {
		if (!cond_exec(hr->cond, ctx))
			continue;
		switch (hr->act) {
		case HR_ALLOW:
			return 0;
		case HR_DENY:
			ro->deny = hr->status;
			return 1;
		case HR_REDIRECT:
			ro->redirect = hr;
			return 1;
		default:
			if (ro->nhdr < HDR_ACTIONS_MAX)	/* bounded at load */
				ro->hdr[ro->nhdr++] = hr;
		}
	}
	return 0;
}

/* The Location of a redirect. */
static int
redirect_location(const struct hreq_rule *r, const struct http_msg *m,
    char *out, size_t len)
{
	const char *uri = m->uri, *q;
	size_t ul = m->uri_len;
	int i, n;

	if (r->redir == REDIR_LOCATION)
		return snprintf(out, len, "%s", r->value);
	if (r->drop_query && (q = memchr(uri, '?', ul)) != NULL)
		ul = (size_t)(q - uri);
	if (r->redir == REDIR_PREFIX)
		n = snprintf(out, len, "%s%.*s", strcmp(r->value, "/") ? r->value : "",
		    (int)ul, uri);
	else {
		i = http_find_hdr(m, "host", 0);
		n = snprintf(out, len, "%s://%.*s%.*s", r->value,
		    i >= 0 ? (int)m->hdr[i].value_len : 0, i >= 0 ? m->hdr[i].value : "",
		    (int)ul, uri);
	}
	return n;
}

/* Route a parsed request: http-request rules, redirects, use_backend,
 * then the chosen backend's own http-request rules. */
static struct proxy *
route_request(struct session *s, const struct http_msg *m, struct route *ro)
{
	struct req_ctx ctx = { m, &s->src, s->cli.tls != NULL };
	struct hreq_rule *hr;
	struct switch_rule *r;
	struct proxy *be = NULL;

	memset(ro, 0, sizeof(*ro));
	if (hreq_eval(s->fe->hreq, &ctx, ro))
		return NULL;
	for (hr = s->fe->redirects; hr; hr = hr->next)
		if (cond_exec(hr->cond, &ctx)) {
			ro->redirect = hr;
			return NULL;
		}
	for (r = s->fe->rules; r; r = r->next)
		if (cond_exec(r->cond, &ctx)) {
			be = r->be;
			break;
		}
	if (be == NULL)
		be = s->fe->default_be;
	if (be && be != s->fe && hreq_eval(be->hreq, &ctx, ro))
		return NULL;
	return be;
}

static void
req_reset(struct session *s)
{
	s->req_state = RQ_HEAD;
	s->rsp_state = RS_HEAD;
	s->req_body = s->rsp_body = BODY_NONE;
	s->req_left = s->rsp_left = 0;
	memset(&s->req_ck, 0, sizeof(s->req_ck));
	memset(&s->rsp_ck, 0, sizeof(s->rsp_ck));
	s->status = -1;
	s->fl &= ~(SS_HEAD | SS_UPG | SS_REUSED | SS_LOGGED | SS_RSP_STARTED |
	    SS_SRV_DONE | SS_CONNECT100);
	s->t_req = s->t_queue = s->t_conn = s->t_est = s->t_rsp = -1;
	s->t_qdur = 0;
	s->bytes_in = s->bytes_out = 0;
	s->reqline[0] = 0;
	memcpy(s->term, "--", 3);
	s->be = NULL;
	s->retries = 0;
}

/* S_REQ: gather a request head, parse it, route it. */
static int
do_req(struct session *s)
{
	struct http_msg *m = (struct http_msg *)(rt.scratch + rt.cfg->bufsize +
	    rt.cfg->maxrewrite);
	unsigned limit = (unsigned)(rt.cfg->bufsize - rt.cfg->maxrewrite);
	int progress = 0, r, n;
	struct proxy *be;
	struct route ro;

	if (s->cfg != rt.cfg && buf_len(s->req) == 0) {
		/* a client from before a reload: its next request follows
		 * the running config */
		struct proxy *nfe = find_proxy(rt.cfg->proxies, s->fe->name, CAP_FE);

		if (nfe == NULL || nfe->mode != s->fe->mode) {
			sess_kill(s, NULL);
			return 1;
		}
		s->fe = nfe;
		rt.cfg->refs++;
		cfg_unref(s->cfg);
		s->cfg = rt.cfg;
	}
	if (s->fe->mode == MODE_TCP)
		goto tcp;
	if ((s->cli.fl & SF_RD) && !(s->cli.fl & SF_EOF) &&
	    buf_len(s->req) < limit) {
		unsigned before = buf_len(s->req);

		n = fill(&s->cli, &s->req, limit, &s->bytes_in);
		if (n > 0) {
			progress = 1;
			if (before == 0 && (s->fl & SS_NOT_FIRST))
				s->t_start = now_ms;	/* http-request starts now */
		}
	}
	if (buf_len(s->req) == 0) {
		if (s->cli.fl & (SF_EOF | SF_ERR))
			sess_kill(s, NULL);
		return progress;
	}
	r = http_parse_request(s->req->data + s->req->head, buf_len(s->req), m);
	if (r == 0) {
		if (buf_len(s->req) >= limit) {
			const char *nl = memchr(s->req->data + s->req->head, '\n',
			    buf_len(s->req));

			s->fl &= ~SS_CLI_KA;
			s->nreq++;
			sess_error(s, nl ? 431 : 414, "PR");
			return 1;
		}
		if (s->cli.fl & (SF_EOF | SF_ERR)) {
			s->status = 400;
			s->nreq++;
			sess_kill(s, "CR");
		}
		return progress;
	}
	s->nreq++;
	s->t_req = now_ms;
	if (r < 0) {
		s->fl &= ~SS_CLI_KA;
		snprintf(s->reqline, sizeof(s->reqline), "<BADREQ>");
		log_debug("bad request from client: %s", m->err_what);
		sess_error(s, m->err ? m->err : 400, "PR");
		return 1;
	}
	copy_reqline(s, m);
	s->fl &= ~SS_CLI_KA;
	if ((m->minor == 1 && !(m->flags & MSG_CONN_CLOSE)) ||
	    (m->minor == 0 && (m->flags & MSG_CONN_KA)))
		s->fl |= SS_CLI_KA;
	if (m->minor == 0)
		s->fl |= SS_CLI_10;
	else
		s->fl &= ~SS_CLI_10;
	if (ieq(m->method, m->method_len, "HEAD"))
		s->fl |= SS_HEAD;
	if ((m->flags & MSG_CONN_UPG) && (m->flags & MSG_UPGRADE))
		s->fl |= SS_UPG;
	if (m->flags & MSG_CHUNKED) {
		s->req_body = BODY_CHUNKED;
		s->req_state = RQ_BODY;
	} else if (m->clen > 0) {
		s->req_body = BODY_CLEN;
		s->req_left = m->clen;
		s->req_state = RQ_BODY;
	} else
		s->req_state = RQ_DONE;

	be = route_request(s, m, &ro);
	if (!ro.deny && !ro.redirect) {
		/* the status page and the metrics come after the http-request
		 * rules, so that those can deny them */
		struct sbuf body = { NULL, 0, 0 };
		const char *ctype = NULL;
		int status = 0;

		if (stats_request(s, m, &body, &ctype, &status)) {
			s->req_fwd = (unsigned)r;
			snprintf(s->reqline, sizeof(s->reqline), "%.*s %.*s",
			    (int)m->method_len, m->method, (int)(m->uri_len > 100 ? 100 :
			    m->uri_len), m->uri);
			sess_reply_body(s, status, ctype, status == 401 ?
			    "www-authenticate: Basic realm=\"HAProxy Statistics\"\r\n" :
			    NULL, body.p, body.len);
			return 1;
		}
		free(body.p);
	}
	if (s->fe->http_mode == HTTP_CLO)
		s->fl &= ~SS_CLI_KA;
	if (be)
		s->be = be;
	if (be && be->http_mode == HTTP_CLO)
		s->fl &= ~SS_CLI_KA;
	if (ro.deny || ro.redirect || be == NULL) {
		/* answered here: the request head is dropped as it is */
		s->req_fwd = (unsigned)r;
		if (ro.deny)
			sess_error(s, ro.deny, "PR");
		else if (ro.redirect) {
			char loc[2048];

			redirect_location(ro.redirect, m, loc, sizeof(loc));
			sess_reply(s, ro.redirect->status, "PR", loc);
		} else
			sess_error(s, 503, "SC");
		return 1;
	}
	{
		int ka_srv = be->http_mode == HTTP_KAL && s->fe->http_mode == HTTP_KAL;

		/* most requests go out exactly as they came: only rewrite
		 * when a header must be dropped, normalised or added */
		if (!(m->flags & (MSG_BARE_LF | MSG_HOPHDR)) && ro.nhdr == 0 &&
		    !((s->fe->options | be->options) & OPT_FORWARDFOR) &&
		    (m->minor == 1 ? ka_srv : !ka_srv)) {
			s->req_fwd = (unsigned)r;
			goto routed;
		}
	}
	n = build_req_head(s, m, &ro);
	if (n < 0 || buf_replace(s->req, 0, (unsigned)r,
	    (unsigned)n) < 0) {
		s->fl &= ~SS_CLI_KA;
		sess_error(s, 500, "PR");
		return 1;
	}
	s->req_fwd = (unsigned)n;
routed:
	if (classify_req(s) < 0) {
		s->fl &= ~SS_CLI_KA;
		sess_error(s, 400, "PR");
		return 1;
	}
	s->retries = be->retries;
	sess_assign(s, NULL);
	return 1;

tcp:
	/* tcp mode: route on layer-4 facts only, then tunnel */
	s->fl |= SS_TCP;
	{
		struct req_ctx ctx = { NULL, &s->src, s->cli.tls != NULL };
		struct switch_rule *rl;

		be = s->fe->default_be;
		for (rl = s->fe->rules; rl; rl = rl->next)
			if (cond_exec(rl->cond, &ctx)) {
				be = rl->be;
				break;
			}
	}
	if (be == NULL) {
		sess_kill(s, "PR");
		return 1;
	}
	s->be = be;
	s->retries = be->retries;
	s->req_state = RQ_DONE;
	s->rsp_state = RS_DONE;
	if (sess_assign(s, NULL) == 0 && s->state == S_CLOSING)
		return 1;
	return 1;
}

/* S_CONNECT: the server answered the connect. */
static int
do_connect(struct session *s)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (!(s->srv.fl & (SF_WR | SF_ERR)))
		return 0;
	if (getsockopt(s->srv.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err) {
		log_debug("connect to %s/%s failed: %s", s->be->name, s->sv->name,
		    strerror(err));
		sess_conn_failed(s);
		return 1;
	}
	s->srv.fl &= ~SF_ERR;
	s->srv.fl |= SF_WR;
	s->t_est = now_ms;
	s->state = (s->fl & SS_TCP) ? S_TUNNEL : S_XFER;
	if (s->fl & SS_TCP)
		s->t_rsp = now_ms;
	return 1;
}

/* Build the response head for the client in rt.scratch. */
static int
build_rsp_head(struct session *s, const struct http_msg *m, const char *line,
    size_t linelen)
{
	char *o = rt.scratch, *end = rt.scratch + rt.cfg->bufsize;
	int i;

	PUT(line, linelen);
	PUTS("\r\n");
	for (i = 0; i < m->nhdr; i++) {
		const struct http_hdr *h = &m->hdr[i];

		if (m->status != 101 && (ieq(h->name, h->name_len, "connection") ||
		    ieq(h->name, h->name_len, "keep-alive")))
			continue;
		PUT(h->name, h->name_len);
		PUTS(": ");
		PUT(h->value, h->value_len);
		PUTS("\r\n");
	}
	if (m->status >= 200 || m->status == 101) {
		if (m->status != 101 && !(s->fl & SS_CLI_KA))
			PUTS("connection: close\r\n");
		else if (m->status != 101 && (s->fl & SS_CLI_10))
			PUTS("connection: keep-alive\r\n");
	}
	PUTS("\r\n");
	return (int)(o - rt.scratch);
#undef PUT
#undef PUTS
}

/* The response head is complete: decide its framing and rewrite it. */
static int
rsp_head(struct session *s, struct http_msg *m, int r)
{
	struct buf *b = s->rsp;
	const char *start = b->data + b->head + s->rsp_fwd;
	const char *nl = memchr(start, '\n', (size_t)r);
	size_t linelen = (size_t)(nl - start);
	int n;

	if (linelen && start[linelen - 1] == '\r')
		linelen--;
	if (m->status == 101 && !(s->fl & SS_UPG)) {
		s->sv->st->eresp++;
		sess_error(s, 502, "SH");
		return -1;
	}
	if (m->status >= 200 || m->status == 101) {
		s->status = m->status;
		s->t_rsp = now_ms;
		if (m->status == 101)
			s->rsp_body = BODY_NONE;
		else if ((s->fl & SS_HEAD) || m->status == 204 || m->status == 304)
			s->rsp_body = BODY_NONE;
		else if (m->flags & MSG_CHUNKED)
			s->rsp_body = BODY_CHUNKED;
		else if (m->flags & MSG_CLEN)
			s->rsp_body = m->clen ? BODY_CLEN : BODY_NONE;
		else
			s->rsp_body = BODY_CLOSE;
		s->rsp_left = m->clen;
		if (s->rsp_body == BODY_CLOSE)
			s->fl &= ~SS_CLI_KA;
		s->fl &= ~SS_SRV_KA;
		if (s->rsp_body != BODY_CLOSE && m->status != 101 &&
		    ((m->minor == 1 && !(m->flags & MSG_CONN_CLOSE)) ||
		    (m->minor == 0 && (m->flags & MSG_CONN_KA))))
			s->fl |= SS_SRV_KA;
	}
	if (!(m->flags & MSG_BARE_LF) && (m->status == 101 ||
	    (!(m->flags & MSG_CONNHDR) && (m->status < 200 ||
	    ((s->fl & SS_CLI_KA) && !(s->fl & SS_CLI_10)))))) {
		/* nothing to drop or add: the head goes out as it came */
		s->rsp_fwd += (unsigned)r;
	} else {
		n = build_rsp_head(s, m, start, linelen);
		if (n < 0 || buf_replace(b, s->rsp_fwd, (unsigned)r,
		    (unsigned)n) < 0) {
			sess_error(s, 502, "SH");
			return -1;
		}
		/* buf_replace compacted: the head now starts at rsp_fwd */
		s->rsp_fwd += (unsigned)n;
	}
	if (m->status < 200 && m->status != 101)
		return 1;	/* interim: another head follows */
	s->rsp_state = s->rsp_body == BODY_NONE ? RS_DONE : RS_BODY;
	return 1;
}

/* One request/response exchange is over. */
static void
txn_end(struct session *s)
{
	int keep_srv = (s->fl & SS_SRV_KA) &&
	    s->req_state == RQ_DONE && s->req_fwd == 0 &&
	    !(s->srv.fl & (SF_EOF | SF_ERR)) && s->fe->http_mode == HTTP_KAL &&
	    s->be->http_mode == HTTP_KAL;

	if (buf_len(s->rsp) > s->rsp_fwd) {
		/* bytes after the response: the server is not speaking
		 * HTTP any more, its connection cannot be reused */
		keep_srv = 0;
		s->rsp->head = s->rsp->tail;
	}
	sess_log(s);
	srv_release(s);
	if (keep_srv) {
		pool_put(s->st, s->srv.fd);
		s->srv.fd = -1;
		s->srv.fl = 0;
		s->fl &= ~SS_REUSED;
	} else
		srv_close(s);
	if (!(s->fl & SS_CLI_KA) || s->req_state != RQ_DONE || rt.stopping) {
		/* nothing of the client's left unread: a plain close cannot
		 * turn into a reset, so no lingering is needed */
		if (s->req_state == RQ_DONE && buf_len(s->req) == s->req_fwd &&
		    s->cli.tls == NULL)
			s->fl |= SS_QUICK_CLOSE;
		s->state = S_CLOSING;
		s->expire = -1;
		return;
	}
	req_reset(s);
	s->fl |= SS_NOT_FIRST;
	s->state = S_REQ;
	s->t_start = now_ms;
	s->expire = -1;
	if (buf_len(s->req) > 0)
		s->cli.fl |= SF_RD;	/* a pipelined request may be complete */
}

/* S_XFER: forward the request and bring the response back. */
static int
do_xfer(struct session *s)
{
	struct http_msg *m = (struct http_msg *)(rt.scratch + rt.cfg->bufsize +
	    rt.cfg->maxrewrite);
	unsigned bufsize = (unsigned)rt.cfg->bufsize;
	unsigned limit = bufsize - (unsigned)rt.cfg->maxrewrite;
	int progress = 0, n;

	/* request: client -> server */
	if (s->req_state == RQ_BODY && (s->cli.fl & SF_RD) &&
	    !(s->cli.fl & SF_EOF)) {
		n = fill(&s->cli, &s->req, bufsize, &s->bytes_in);
		if (n > 0)
			progress = 1;
	}
	if (classify_req(s) < 0) {
		sess_error(s, 400, "CD");
		return 1;
	}
	if (s->req_fwd && (s->srv.fl & SF_WR)) {
		n = drain(&s->srv, s->req, s->req_fwd);
		if (n > 0) {
			s->req_fwd -= (unsigned)n;
			s->st->bin += (uint64_t)n;
			progress = 1;
		} else if (n == -2 && s->rsp_state == RS_HEAD &&
		    !(s->fl & SS_RSP_STARTED)) {
			/* fall through: the read below sees the error */
		}
	}
	if (s->req_state == RQ_BODY && (s->cli.fl & (SF_EOF | SF_ERR)) &&
	    buf_len(s->req) == s->req_fwd) {
		sess_kill(s, "CD");	/* client gave up mid-body */
		return 1;
	}

	/* response: server -> client */
	if (s->rsp_state != RS_DONE && (s->srv.fl & SF_RD) &&
	    !(s->srv.fl & SF_EOF)) {
		n = fill(&s->srv, &s->rsp, s->rsp_state == RS_HEAD ? limit : bufsize,
		    NULL);
		if (n > 0) {
			progress = 1;
			s->sv->st->bout += (uint64_t)n;
		}
	}
	while (s->rsp_state == RS_HEAD && buf_len(s->rsp) > s->rsp_fwd) {
		struct buf *b = s->rsp;
		int r = http_parse_response(b->data + b->head + s->rsp_fwd,
		    buf_len(b) - s->rsp_fwd, m);

		if (r < 0) {
			s->sv->st->eresp++;
			log_debug("bad response from %s/%s: %s", s->be->name,
			    s->sv->name, m->err_what);
			sess_error(s, 502, "SH");
			return 1;
		}
		if (r == 0) {
			if (buf_len(b) >= limit) {
				s->sv->st->eresp++;
				sess_error(s, 502, "SH");
				return 1;
			}
			break;
		}
		if (rsp_head(s, m, r) < 0)
			return 1;
		progress = 1;
	}
	if (s->rsp_state == RS_HEAD && (s->srv.fl & (SF_EOF | SF_ERR))) {
		s->sv->st->eresp++;
		sess_error(s, 502, "SH");
		return 1;
	}
	if (classify_rsp(s) < 0) {
		s->sv->st->eresp++;
		sess_kill(s, "SD");
		return 1;
	}
	if (s->rsp_state == RS_BODY && (s->srv.fl & (SF_EOF | SF_ERR)) &&
	    buf_len(s->rsp) == s->rsp_fwd) {
		if (s->rsp_body == BODY_CLOSE && !(s->srv.fl & SF_ERR))
			s->rsp_state = RS_DONE;
		else if (s->rsp_fwd == 0) {
			s->sv->st->eresp++;
			sess_kill(s, "SD");	/* truncated response */
			return 1;
		}
	}
	if (s->rsp_fwd && (s->cli.fl & SF_WR)) {
		n = drain(&s->cli, s->rsp, s->rsp_fwd);
		if (n > 0) {
			s->rsp_fwd -= (unsigned)n;
			s->bytes_out += (uint64_t)n;
			s->fl |= SS_RSP_STARTED;
			progress = 1;
		} else if (n == -2) {
			sess_kill(s, "CD");
			return 1;
		}
	}
	if (s->rsp_state == RS_DONE && s->rsp_fwd == 0) {
		if (s->status == 101) {
			/* bytes that came with the 101 leave through the
			 * tunnel; count them here, as tunnel reads will not */
			s->bytes_out += buf_len(s->rsp);
			s->state = S_TUNNEL;
			s->req_fwd = buf_len(s->req);
			s->rsp_fwd = buf_len(s->rsp);
			return 1;
		}
		if (s->req_state == RQ_DONE && s->req_fwd == 0) {
			txn_end(s);
			return 1;
		}
		if (s->req_state != RQ_DONE) {
			/* answered before the body was sent: the rest of
			 * the body cannot be framed any more, so close */
			s->fl &= ~SS_CLI_KA;
			s->req_state = RQ_DONE;
			s->req_fwd = 0;
			if (s->req)
				s->req->head = s->req->tail = 0;
			txn_end(s);
			return 1;
		}
	}
	return progress;
}

/* One direction of a plain tunnel through a pipe.  Returns progress. */
static int
splice_dir(struct side *from, struct side *to, struct kpipe **pp,
    uint64_t *count, uint64_t *count2)
{
	struct kpipe *p = *pp;
	int progress = 0;
	ssize_t n;

	if ((from->fl & SF_RD) && !(from->fl & SF_EOF) && p->len < PIPE_SIZE) {
		n = splice(from->fd, NULL, p->wr, NULL, PIPE_SIZE - p->len,
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
			pipe_broken = 1;	/* no splice here: copy instead */
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
		pipe_put(p);
		*pp = NULL;
	}
	return progress;
}

/* S_TUNNEL: bytes both ways until both directions are closed. */
static int
tunnel_dir(struct session *s, struct side *from, struct side *to,
    struct buf **bp, struct kpipe **pp, uint64_t *count, uint64_t *count2)
{
	unsigned bufsize = (unsigned)rt.cfg->bufsize;
	int progress = 0, n;

	/* buffered bytes first (those that came with the 101), then the
	 * pipe for plain sockets */
	if (buf_len(*bp) == 0 && !from->tls && !to->tls && !pipe_broken &&
	    (*pp != NULL || ((from->fl & SF_RD) && !(from->fl & SF_EOF) &&
	    (*pp = pipe_get()) != NULL))) {
		progress = splice_dir(from, to, pp, count, count2);
		if ((from->fl & SF_EOF) && *pp == NULL && !(to->fl & SF_SHUTW)) {
			side_shutw(to);
			progress = 1;
		}
		return progress;
	}
	if ((from->fl & SF_RD) && !(from->fl & SF_EOF)) {
		n = fill(from, bp, bufsize, count);
		if (n > 0) {
			progress = 1;
			if (count2)
				*count2 += (uint64_t)n;
		}
	}
	if (buf_len(*bp) && (to->fl & SF_WR) && !(to->fl & SF_ERR)) {
		n = drain(to, *bp, buf_len(*bp));
		if (n > 0)
			progress = 1;
	}
	if ((from->fl & SF_EOF) && buf_len(*bp) == 0 && !(to->fl & SF_SHUTW)) {
		side_shutw(to);
		progress = 1;
	}
	(void)s;
	return progress;
}

static int
do_tunnel(struct session *s)
{
	int progress;

	progress = tunnel_dir(s, &s->cli, &s->srv, &s->req, &s->preq, &s->bytes_in,
	    &s->st->bin);
	progress |= tunnel_dir(s, &s->srv, &s->cli, &s->rsp, &s->prsp,
	    &s->bytes_out, &s->st->bout);
	if ((s->cli.fl & SF_ERR) || (s->srv.fl & SF_ERR)) {
		sess_kill(s, (s->cli.fl & SF_ERR) ? "CD" : "SD");
		return 1;
	}
	if ((s->cli.fl & SF_EOF) && (s->srv.fl & SF_EOF) &&
	    buf_len(s->req) == 0 && buf_len(s->rsp) == 0 &&
	    s->preq == NULL && s->prsp == NULL && !tls_pending(&s->cli)) {
		sess_kill(s, NULL);
		return 1;
	}
	return progress;
}

/* S_CLOSING: flush the last answer, half-close, drain what the client
 * still sends (so it reads our answer instead of a reset), close. */
static int
do_closing(struct session *s)
{
	int progress = 0, n;

	if (s->cli.fl & SF_ERR)
		return 0;
	gen_refill(s);
	if (s->rsp_fwd && (s->cli.fl & SF_WR)) {
		n = drain(&s->cli, s->rsp, s->rsp_fwd);
		if (n > 0) {
			s->rsp_fwd -= (unsigned)n;
			progress = 1;
		} else if (n == -2)
			return 0;
	}
	if (s->rsp_fwd || s->gen || tls_pending(&s->cli))
		return progress;
	if (s->fl & SS_QUICK_CLOSE) {
		s->cli.fl |= SF_ERR;
		return 1;
	}
	if (!(s->cli.fl & SF_SHUTW)) {
		side_shutw(&s->cli);
		if (s->cli.fl & SF_EOF)
			s->cli.fl |= SF_ERR;
		progress = 1;
	}
	while ((s->cli.fl & SF_RD) && !(s->cli.fl & SF_EOF)) {
		char sink[4096];

		if (side_recv(&s->cli, sink, sizeof(sink)) <= 0)
			break;
	}
	if (s->cli.fl & SF_EOF)
		s->cli.fl |= SF_ERR;
	return progress;
}

static unsigned
tmo(const struct session *s, enum tmo t)
{
	unsigned v = s->be ? s->be->timeout[t] : 0;

	if (t == T_CLIENT || t == T_HTTP_REQ || t == T_HTTP_KA ||
	    t == T_CLIENT_FIN)
		v = s->fe->timeout[t];
	return v;
}

/* After a run: poll interest and the deadline from what is pending.
 * Interest follows what the session wants, not the readiness flags: a
 * run that stopped at its round limit with a side still ready is woken
 * again at once by the level-triggered poll(). */
static void
sess_arm(struct session *s, int progress, enum sess_state before)
{
	short ce = 0, se = 0;
	unsigned limit = (unsigned)(rt.cfg->bufsize - rt.cfg->maxrewrite);
	unsigned bufsize = (unsigned)rt.cfg->bufsize;
	int64_t deadline = -1;
	unsigned t = 0;

	switch (s->state) {
	case S_REQ:
		if (!(s->cli.fl & SF_EOF) && buf_len(s->req) < limit)
			ce |= POLLIN;
		if (s->rsp_fwd)
			ce |= POLLOUT;
		if (buf_len(s->req) == 0 && (s->fl & SS_NOT_FIRST)) {
			t = tmo(s, T_HTTP_KA);
			if (!t)
				t = tmo(s, T_HTTP_REQ);
		} else
			t = tmo(s, T_HTTP_REQ);
		if (t)
			deadline = s->t_start + t;
		else if ((t = tmo(s, T_CLIENT)) != 0)
			deadline = (progress || s->expire < 0 || before != s->state) ?
			    now_ms + t : s->expire;
		break;
	case S_QUEUE:
		t = tmo(s, T_QUEUE);
		if (!t)
			t = tmo(s, T_CONNECT);
		deadline = t ? s->t_queue + t : -1;
		break;
	case S_TURN:
		deadline = s->expire;
		break;
	case S_CONNECT:
		se = POLLOUT;
		t = tmo(s, T_CONNECT);
		deadline = t ? s->t_conn + t : -1;
		break;
	case S_XFER:
		if (s->req_state == RQ_BODY && !(s->cli.fl & SF_EOF) &&
		    buf_len(s->req) < bufsize)
			ce |= POLLIN;
		if (s->rsp_fwd)
			ce |= POLLOUT;
		if (s->req_fwd)
			se |= POLLOUT;
		if (s->rsp_state != RS_DONE && !(s->srv.fl & SF_EOF) &&
		    buf_len(s->rsp) < (s->rsp_state == RS_HEAD ? limit : bufsize))
			se |= POLLIN;
		t = (ce & POLLOUT) || (ce & POLLIN) ? tmo(s, T_CLIENT) :
		    tmo(s, T_SERVER);
		if (!t)
			t = tmo(s, T_SERVER);
		break;
	case S_TUNNEL:
		if (!(s->cli.fl & SF_EOF) && buf_len(s->req) < bufsize &&
		    (s->preq == NULL || s->preq->len < PIPE_SIZE))
			ce |= POLLIN;
		if (buf_len(s->rsp) || s->prsp)
			ce |= POLLOUT;
		if (!(s->srv.fl & SF_EOF) && buf_len(s->rsp) < bufsize &&
		    (s->prsp == NULL || s->prsp->len < PIPE_SIZE))
			se |= POLLIN;
		if (buf_len(s->req) || s->preq)
			se |= POLLOUT;
		t = tmo(s, T_TUNNEL);
		if (!t) {
			unsigned c = tmo(s, T_CLIENT), v = tmo(s, T_SERVER);

			t = c > v ? c : v;
		}
		if ((s->cli.fl & SF_EOF) && tmo(s, T_CLIENT_FIN))
			t = tmo(s, T_CLIENT_FIN);
		else if ((s->srv.fl & SF_EOF) && tmo(s, T_SERVER_FIN))
			t = tmo(s, T_SERVER_FIN);
		break;
	case S_CLOSING:
		if (s->rsp_fwd)
			ce |= POLLOUT;
		if ((s->cli.fl & SF_SHUTW) && !(s->cli.fl & SF_EOF))
			ce |= POLLIN;
		t = tmo(s, T_CLIENT);
		if (!t || t > 1000)
			t = 1000;	/* a lingering close stays short */
		if (s->rsp_fwd && tmo(s, T_CLIENT))
			t = tmo(s, T_CLIENT);
		break;
	}
	if (s->state == S_XFER || s->state == S_TUNNEL || s->state == S_CLOSING) {
		if (t == 0)
			deadline = -1;
		else if (progress || s->expire < 0 || before != s->state)
			deadline = now_ms + t;
		else
			deadline = s->expire;
	}
	if (s->cli.tls)
		ce = tls_events(&s->cli);	/* what the engine waits for */
	fd_want(s->cli.fd, ce);
	if (s->srv.fd >= 0)
		fd_want(s->srv.fd, se);
	sess_set_expire(s, deadline);
}

static void
sess_run(struct session *s)
{
	enum sess_state before = s->state;
	int progress, any = 0, rounds = 0;

	do {
		progress = 0;
		/* a client that vanished while we wait on its behalf */
		if ((s->cli.fl & SF_ERR) && s->state != S_CLOSING &&
		    s->state != S_XFER && s->state != S_TUNNEL) {
			sess_kill(s, s->state == S_REQ ? NULL : "CC");
		}
		switch (s->state) {
		case S_REQ:
			gen_refill(s);
			if (s->rsp_fwd && (s->cli.fl & SF_WR)) {
				int n = drain(&s->cli, s->rsp, s->rsp_fwd);

				if (n > 0) {
					s->rsp_fwd -= (unsigned)n;
					progress = 1;
				} else if (n == -2) {
					sess_kill(s, NULL);
					break;
				}
			}
			if (s->rsp_fwd == 0 && s->gen == NULL)
				progress |= do_req(s);
			break;
		case S_QUEUE:
		case S_TURN:
			break;
		case S_CONNECT:
			progress = do_connect(s);
			break;
		case S_XFER:
			progress = do_xfer(s);
			break;
		case S_TUNNEL:
			progress = do_tunnel(s);
			break;
		case S_CLOSING:
			progress = do_closing(s);
			break;
		}
		any |= progress;
		if (s->state == S_CLOSING && (s->cli.fl & SF_ERR))
			break;
	} while (progress && ++rounds < 64);

	if (progress && !s->on_again) {
		/* work left: give others a turn, come back without polling */
		s->on_again = 1;
		s->again = rt.again;
		rt.again = s;
	}

	if (s->state == S_CLOSING && ((s->cli.fl & SF_ERR) ||
	    ((s->cli.fl & SF_SHUTW) && (s->cli.fl & SF_EOF)))) {
		sess_free(s);
		return;
	}
	if (s->req && buf_len(s->req) == 0) {
		buf_put(s->req);
		s->req = NULL;
		s->req_fwd = 0;
	}
	if (s->rsp && buf_len(s->rsp) == 0) {
		buf_put(s->rsp);
		s->rsp = NULL;
		s->rsp_fwd = 0;
	}
	sess_arm(s, any, before);
}

static void
sess_event(void *obj, int fd, short revents)
{
	struct session *s = obj;
	struct side *sd = fd == s->cli.fd ? &s->cli : &s->srv;

	if (sd->tls) {
		tls_pump(sd);
		sess_run(s);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		sd->fl |= SF_RD;
	if (revents & (POLLOUT | POLLHUP | POLLERR))
		sd->fl |= SF_WR;
	if (revents & POLLERR)
		sd->fl |= SF_ERR;
	if ((revents & POLLHUP) && !(revents & POLLIN))
		sd->fl |= SF_EOF | SF_ERR;
	sess_run(s);
}

static void
sess_timeout(struct session *s)
{
	switch (s->state) {
	case S_REQ:
		if (buf_len(s->req) == 0 && (s->fl & SS_NOT_FIRST)) {
			sess_kill(s, NULL);	/* idle keep-alive ends quietly */
			break;
		}
		s->nreq++;
		s->fl &= ~SS_CLI_KA;
		sess_error(s, 408, "cR");
		break;
	case S_QUEUE:
		queue_del(s);
		s->t_qdur = now_ms - s->t_queue;
		sess_error(s, 503, "sQ");
		break;
	case S_TURN:
		sess_connect(s);
		break;
	case S_CONNECT:
		log_debug("connect to %s/%s timed out", s->be->name, s->sv->name);
		sess_conn_failed(s);
		break;
	case S_XFER:
		if (s->rsp_state == RS_HEAD && !(s->fl & SS_RSP_STARTED) &&
		    s->rsp_fwd == 0 && s->req_state == RQ_DONE) {
			s->sv->st->eresp++;
			sess_error(s, 504, "sH");
		} else
			sess_kill(s, s->req_state == RQ_BODY ? "cD" : "sD");
		break;
	case S_TUNNEL:
		sess_kill(s, "cD");
		break;
	case S_CLOSING:
		s->cli.fl |= SF_ERR;
		break;
	}
	s->expire = -1;
	sess_run(s);
}

/* ==================================================================== */
/* TLS.                                                                  */
/* BearSSL server engines driven as byte pumps from the poll() loop:    */
/* records move between the socket and the engine here, and the rest    */
/* of the program sees plain bytes through side_recv()/side_send().     */
/* Owns certificate selection by SNI, the shared session cache, the    */
/* per-connection engine memory and the TLS error log lines.           */
/* ==================================================================== */

/* ---- certificate loading: PEM, keys, names (begin) ---- */
int tls_cert_load(const char *path, struct tls_cert *c, char *err, size_t errlen);
int tls_cert_load_dir(const char *dir, struct tls_cert **list, char *err, size_t errlen);
void tls_cert_free(struct tls_cert *c);
int tls_cert_match(const struct tls_cert *c, const char *name);
const char *tls_err_name(int err);

/* ---- end of header block ---- */

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

/* A crt file is a few KB; the cap only stops a wrong path (a disk image,
 * /dev/zero) from eating memory. */
#define TLS_CERT_MAX_FILE	(8u << 20)
/* More than this many certificates in one file is certainly a mistake
 * (a CA bundle given as crt), and it bounds the allocations. */
#define TLS_CERT_MAX_CHAIN	32
/* Bounds the names array against a certificate stuffed with SANs. */
#define TLS_CERT_MAX_NAMES	1024

static void
tc_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Plain memset may be elided on memory about to be freed; the volatile
 * pointer keeps the wipe of key material. */
static void
tc_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/* Locale-independent: DNS names are ASCII, and the C locale of a static
 * binary must not matter. */
static int
tc_lower(int ch)
{
	return (ch >= 'A' && ch <= 'Z') ? ch + ('a' - 'A') : ch;
}

static int
tc_strcaseeq(const char *a, const char *b)
{
	while (*a != '\0' && tc_lower((unsigned char)*a) == tc_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* ---- growable byte buffer, target of the PEM decoder ---- */

struct tc_buf {
	unsigned char	*data;
	size_t		 len;
	size_t		 cap;
	int		 oom;	/* the PEM callback cannot return an error */
};

static void
tc_buf_append(void *ctx, const void *src, size_t len)
{
	struct tc_buf *b = ctx;
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
tc_buf_free(struct tc_buf *b, int secret)
{
	if (b->data != NULL && secret)
		tc_wipe(b->data, b->cap);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- minimal bounded DER reader ---- */

struct der {
	const unsigned char	*p;
	size_t			 len;
};

/*
 * Take one TLV off the front of *in. Only single-byte tags and definite
 * lengths up to 2^32 exist in certificates, anything else is refused
 * rather than guessed at, and the value must fit in what remains.
 */
static int
der_next(struct der *in, unsigned *tag, struct der *val)
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

/* Like der_next() but the tag must be the expected one. */
static int
der_expect(struct der *in, unsigned tag, struct der *val)
{
	unsigned t;

	if (der_next(in, &t, val) < 0 || t != tag)
		return -1;
	return 0;
}

static int
der_oid_is(const struct der *oid, const unsigned char *ref, size_t reflen)
{
	return oid->len == reflen && memcmp(oid->p, ref, reflen) == 0;
}

static int
der_oid_has_prefix(const struct der *oid, const unsigned char *ref, size_t reflen)
{
	return oid->len > reflen && memcmp(oid->p, ref, reflen) == 0;
}

/* Adds a lower-cased copy; names with bytes outside printable ASCII
 * (an embedded NUL is the classic trick) are dropped, not truncated. */
static int
tc_add_name(struct tls_cert *c, const unsigned char *s, size_t len)
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
		n[i] = (char)tc_lower(s[i]);
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

static const unsigned char oid_san[] = { 0x55, 0x1d, 0x11 };		/* 2.5.29.17 */
static const unsigned char oid_cn[] = { 0x55, 0x04, 0x03 };		/* 2.5.4.3 */
static const unsigned char oid_ecdsa[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04 };	/* 1.2.840.10045.4 */
static const unsigned char oid_pkcs1[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01 };	/* 1.2.840.113549.1.1 */

/* SAN extension value: GeneralNames, keep the [2] IMPLICIT IA5String ones. */
static int
tc_parse_san(struct tls_cert *c, struct der v)
{
	struct der seq, gn;
	unsigned tag;

	if (der_expect(&v, 0x30, &seq) < 0)
		return -1;
	while (seq.len > 0) {
		if (der_next(&seq, &tag, &gn) < 0)
			return -1;
		if (tag == 0x82 && tc_add_name(c, gn.p, gn.len) < 0)
			return -1;
	}
	return 0;
}

/* Name ::= SEQUENCE OF SET OF AttributeTypeAndValue: collect every CN. */
static int
tc_parse_subject_cn(struct tls_cert *c, struct der name)
{
	struct der set, atv, oid, val;
	unsigned tag;

	while (name.len > 0) {
		if (der_expect(&name, 0x31, &set) < 0)
			return -1;
		while (set.len > 0) {
			if (der_expect(&set, 0x30, &atv) < 0)
				return -1;
			if (der_expect(&atv, 0x06, &oid) < 0)
				return -1;
			if (der_next(&atv, &tag, &val) < 0)
				return -1;
			if (!der_oid_is(&oid, oid_cn, sizeof(oid_cn)))
				continue;
			/* UTF8String, PrintableString, T61String, IA5String;
			 * BMP/Universal strings cannot hold a usable host name. */
			if (tag != 0x0c && tag != 0x13 && tag != 0x14 && tag != 0x16)
				continue;
			if (tc_add_name(c, val.p, val.len) < 0)
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
tc_parse_leaf(struct tls_cert *c, const unsigned char *der, size_t len)
{
	struct der in = { der, len }, cert, tbs, alg, oid, v, subject, exts, ext, eoid;
	unsigned tag;

	if (der_expect(&in, 0x30, &cert) < 0 || der_expect(&cert, 0x30, &tbs) < 0)
		return -1;
	if (der_expect(&cert, 0x30, &alg) < 0 || der_expect(&alg, 0x06, &oid) < 0)
		return -1;
	if (der_oid_has_prefix(&oid, oid_ecdsa, sizeof(oid_ecdsa)))
		c->issuer_key_type = BR_KEYTYPE_EC;
	else if (der_oid_has_prefix(&oid, oid_pkcs1, sizeof(oid_pkcs1)))
		c->issuer_key_type = BR_KEYTYPE_RSA;	/* *WithRSAEncryption, RSASSA-PSS */
	else
		c->issuer_key_type = 0;

	/* [0] version is optional (absent in v1 certificates); serial follows. */
	if (der_next(&tbs, &tag, &v) < 0)
		return -1;
	if (tag == 0xa0 && der_next(&tbs, &tag, &v) < 0)
		return -1;
	if (tag != 0x02)
		return -1;
	if (der_expect(&tbs, 0x30, &v) < 0	/* signature */
	    || der_expect(&tbs, 0x30, &v) < 0	/* issuer */
	    || der_expect(&tbs, 0x30, &v) < 0	/* validity */
	    || der_expect(&tbs, 0x30, &subject) < 0
	    || der_expect(&tbs, 0x30, &v) < 0)	/* subjectPublicKeyInfo */
		return -1;
	while (tbs.len > 0) {
		if (der_next(&tbs, &tag, &v) < 0)
			return -1;
		if (tag != 0xa3)
			continue;	/* issuer/subjectUniqueID */
		if (der_expect(&v, 0x30, &exts) < 0)
			return -1;
		while (exts.len > 0) {
			if (der_expect(&exts, 0x30, &ext) < 0 || der_expect(&ext, 0x06, &eoid) < 0)
				return -1;
			if (!der_oid_is(&eoid, oid_san, sizeof(oid_san)))
				continue;
			if (der_next(&ext, &tag, &v) < 0)
				return -1;
			if (tag == 0x01 && der_next(&ext, &tag, &v) < 0)	/* critical */
				return -1;
			if (tag != 0x04 || tc_parse_san(c, v) < 0)
				return -1;
		}
	}
	/* RFC 6125: the CN is only a fallback when no dNSName is present. */
	if (c->nnames == 0)
		return tc_parse_subject_cn(c, subject);
	return 0;
}

/* ---- key handling ---- */

/* Copies the key out of the decoder context, which is on the stack and
 * about to be wiped; one allocation so rsa.p is the only pointer to free. */
static int
tc_take_key(struct tls_cert *c, const br_skey_decoder_context *dc)
{
	const br_rsa_private_key *rk;
	const br_ec_private_key *ek;
	unsigned char *buf;

	c->key_type = br_skey_decoder_key_type(dc);
	if (c->key_type == BR_KEYTYPE_RSA) {
		rk = br_skey_decoder_get_rsa(dc);
		buf = malloc(rk->plen + rk->qlen + rk->dplen + rk->dqlen + rk->iqlen);
		if (buf == NULL)
			return -1;
		c->rsa = *rk;
		c->rsa.p = buf;
		memcpy(buf, rk->p, rk->plen);
		buf += rk->plen;
		c->rsa.q = buf;
		memcpy(buf, rk->q, rk->qlen);
		buf += rk->qlen;
		c->rsa.dp = buf;
		memcpy(buf, rk->dp, rk->dplen);
		buf += rk->dplen;
		c->rsa.dq = buf;
		memcpy(buf, rk->dq, rk->dqlen);
		buf += rk->dqlen;
		c->rsa.iq = buf;
		memcpy(buf, rk->iq, rk->iqlen);
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
tc_strip_zeros(const unsigned char **p, size_t *len)
{
	while (*len > 0 && **p == 0) {
		(*p)++;
		(*len)--;
	}
}

/* Compares the public half derived from the private key with the leaf's. */
static int
tc_key_matches(const struct tls_cert *c, const br_x509_pkey *pk)
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
		tc_strip_zeros(&a, &alen);
		tc_strip_zeros(&b, &blen);
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
tc_read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct tc_buf b = { 0 };
	unsigned char chunk[4096];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tc_err(err, errlen, "cannot read: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tc_err(err, errlen, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > TLS_CERT_MAX_FILE) {
			tc_err(err, errlen, "file too large");
			goto fail;
		}
		tc_buf_append(&b, chunk, (size_t)n);
		if (b.oom) {
			tc_err(err, errlen, "out of memory");
			goto fail;
		}
	}
	close(fd);
	tc_wipe(chunk, sizeof(chunk));
	*lenp = b.len;
	if (b.data == NULL)	/* empty file: still return a buffer */
		b.data = malloc(1);
	if (b.data == NULL)
		tc_err(err, errlen, "out of memory");
	return b.data;
fail:
	close(fd);
	tc_wipe(chunk, sizeof(chunk));
	tc_buf_free(&b, 1);
	return NULL;
}

static int
tc_mem_has(const unsigned char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle), i;

	for (i = 0; nl <= len && i <= len - nl; i++)
		if (memcmp(hay + i, needle, nl) == 0)
			return 1;
	return 0;
}

struct tc_pem {
	br_pem_decoder_context	 pc;
	struct tc_buf		 obj;	/* current object's DER */
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
tc_is_key_name(const char *n)
{
	return strcmp(n, "PRIVATE KEY") == 0 || strcmp(n, "RSA PRIVATE KEY") == 0
	    || strcmp(n, "EC PRIVATE KEY") == 0;
}

/* One complete PEM object: certificates go to the chain, the key to the
 * key decoder, anything else (EC PARAMETERS, DH PARAMETERS, which HAProxy
 * also accepts in crt files) is ignored. */
static int
tc_pem_object(struct tc_pem *st)
{
	struct tls_cert *c = st->c;
	size_t nl = strlen(st->name);

	if (st->obj.oom) {
		tc_err(st->err, st->errlen, "out of memory");
		return -1;
	}
	if (strcmp(st->name, "CERTIFICATE") == 0 || strcmp(st->name, "X509 CERTIFICATE") == 0) {
		if (c->chain_len >= TLS_CERT_MAX_CHAIN) {
			tc_err(st->err, st->errlen, "more than %d certificates in file", TLS_CERT_MAX_CHAIN);
			return -1;
		}
		if (st->obj.len == 0) {
			tc_err(st->err, st->errlen, "empty certificate in file");
			return -1;
		}
		if (c->chain_len == st->chain_cap) {
			size_t ncap = st->chain_cap ? st->chain_cap * 2 : 4;
			br_x509_certificate *nc = realloc(c->chain, ncap * sizeof(*nc));

			if (nc == NULL) {
				tc_err(st->err, st->errlen, "out of memory");
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
		if (tc_mem_has((const unsigned char *)st->name, nl, "ENCRYPTED")) {
			tc_err(st->err, st->errlen, "encrypted private key is not supported (decrypt it with openssl pkey)");
			return -1;
		}
		if (!tc_is_key_name(st->name)) {
			tc_err(st->err, st->errlen, "unsupported key type");
			return -1;
		}
		if (st->kd != NULL) {
			tc_err(st->err, st->errlen, "more than one private key in file");
			return -1;
		}
		st->kd = malloc(sizeof(*st->kd));
		if (st->kd == NULL) {
			tc_err(st->err, st->errlen, "out of memory");
			return -1;
		}
		br_skey_decoder_init(st->kd);
		br_skey_decoder_push(st->kd, st->obj.data, st->obj.len);
	}
	tc_buf_free(&st->obj, 1);
	return 0;
}

/* Feeds bytes to the PEM decoder, which stops at each event. */
static int
tc_pem_feed(struct tc_pem *st, const unsigned char *p, size_t len)
{
	size_t n;

	while (len > 0) {
		n = br_pem_decoder_push(&st->pc, p, len);
		p += n;
		len -= n;
		switch (br_pem_decoder_event(&st->pc)) {
		case BR_PEM_BEGIN_OBJ:
			tc_buf_free(&st->obj, 1);
			snprintf(st->name, sizeof(st->name), "%s", br_pem_decoder_name(&st->pc));
			br_pem_decoder_setdest(&st->pc, tc_buf_append, &st->obj);
			st->in_obj = 1;
			break;
		case BR_PEM_END_OBJ:
			st->in_obj = 0;
			if (tc_pem_object(st) < 0)
				return -1;
			break;
		case BR_PEM_ERROR:
			tc_err(st->err, st->errlen, "malformed PEM data");
			return -1;
		default:
			break;
		}
	}
	return 0;
}

static const char *
tc_pkey_name(int key_type)
{
	return key_type == BR_KEYTYPE_RSA ? "RSA" : "EC";
}

/* Returns the index of the chain certificate whose key is the private
 * key, 0 if none: only used to explain a chain given in the wrong order. */
static size_t
tc_find_key_cert(const struct tls_cert *c, br_x509_decoder_context *xd)
{
	const br_x509_pkey *pk;
	size_t i;

	for (i = 1; i < c->chain_len; i++) {
		br_x509_decoder_init(xd, NULL, NULL);
		br_x509_decoder_push(xd, c->chain[i].data, c->chain[i].data_len);
		pk = br_x509_decoder_get_pkey(xd);
		if (pk != NULL && tc_key_matches(c, pk))
			return i;
	}
	return 0;
}

/*
 * The whole load from a PEM buffer, which it modifies (CRs removed) but
 * does not free; separate from the file reading so it can be fuzzed.
 * On failure *c is left zeroed.
 */
static int
tc_load_buf(const char *path, unsigned char *file, size_t flen, struct tls_cert *c,
    char *err, size_t errlen)
{
	struct tc_pem *st;
	br_x509_decoder_context *xd = NULL;
	const br_x509_pkey *pk;
	size_t i, j;
	int kerr, ret = -1;

	memset(c, 0, sizeof(*c));
	tc_err(err, errlen, "unknown error");
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		tc_err(err, errlen, "out of memory");
		goto out;
	}
	st->c = c;
	st->err = err;
	st->errlen = errlen;

	/* BearSSL's PEM decoder has no idea of RFC 1421 headers: an old-style
	 * encrypted key would come out as garbage DER, so look for them. */
	if (tc_mem_has(file, flen, "Proc-Type: 4,ENCRYPTED") || tc_mem_has(file, flen, "DEK-Info:")) {
		tc_err(err, errlen, "encrypted private key is not supported (decrypt it with openssl pkey)");
		goto out;
	}
	/* BearSSL 0.6 keeps a '\r' before the newline in the object name
	 * ("CERTIFICATE-----"), so CRLF files would load nothing: drop every
	 * CR, it carries no meaning in PEM. */
	for (i = 0, j = 0; i < flen; i++)
		if (file[i] != '\r')
			file[j++] = file[i];
	tc_wipe(file + j, flen - j);
	flen = j;
	br_pem_decoder_init(&st->pc);
	if (tc_pem_feed(st, file, flen) < 0)
		goto out;
	/* The decoder only closes an END line on its newline. */
	if (tc_pem_feed(st, (const unsigned char *)"\n", 1) < 0)
		goto out;
	if (st->in_obj) {
		tc_err(err, errlen, "truncated PEM object \"%s\"", st->name);
		goto out;
	}
	if (c->chain_len == 0) {
		tc_err(err, errlen, "no certificate in file");
		goto out;
	}
	if (st->kd == NULL) {
		tc_err(err, errlen, "no private key in file");
		goto out;
	}
	kerr = br_skey_decoder_last_error(st->kd);
	if (kerr == BR_ERR_X509_UNSUPPORTED) {
		tc_err(err, errlen, "unsupported key type");
		goto out;
	} else if (kerr != 0) {
		tc_err(err, errlen, "cannot decode private key (%s)", tls_err_name(kerr));
		goto out;
	}
	if (tc_take_key(c, st->kd) < 0) {
		c->key_type = 0;
		tc_err(err, errlen, "out of memory");
		goto out;
	}
	if (c->key_type == BR_KEYTYPE_EC && c->ec.curve != BR_EC_secp256r1
	    && c->ec.curve != BR_EC_secp384r1 && c->ec.curve != BR_EC_secp521r1) {
		tc_err(err, errlen, "unsupported key type (EC curve %d; only P-256, P-384, P-521)", c->ec.curve);
		goto out;
	}

	xd = malloc(sizeof(*xd));
	if (xd == NULL) {
		tc_err(err, errlen, "out of memory");
		goto out;
	}
	br_x509_decoder_init(xd, NULL, NULL);
	br_x509_decoder_push(xd, c->chain[0].data, c->chain[0].data_len);
	pk = br_x509_decoder_get_pkey(xd);
	if (pk == NULL) {
		tc_err(err, errlen, "cannot decode certificate (%s)", tls_err_name(br_x509_decoder_last_error(xd)));
		goto out;
	}
	if (!tc_key_matches(c, pk)) {
		if ((i = tc_find_key_cert(c, xd)) != 0)
			tc_err(err, errlen, "private key does not match the certificate"
			    " (it matches certificate %zu of the file: the leaf must come first)", i + 1);
		else if (pk->key_type != c->key_type)
			tc_err(err, errlen, "private key does not match the certificate (%s key, %s certificate)",
			    tc_pkey_name(c->key_type), tc_pkey_name(pk->key_type));
		else
			tc_err(err, errlen, "private key does not match the certificate");
		goto out;
	}
	if (tc_parse_leaf(c, c->chain[0].data, c->chain[0].data_len) < 0) {
		tc_err(err, errlen, "malformed certificate");
		goto out;
	}
	c->path = strdup(path);
	if (c->path == NULL) {
		tc_err(err, errlen, "out of memory");
		goto out;
	}
	if (errlen > 0)
		err[0] = '\0';
	ret = 0;
out:
	if (st != NULL) {
		tc_buf_free(&st->obj, 1);
		if (st->kd != NULL) {
			tc_wipe(st->kd, sizeof(*st->kd));
			free(st->kd);
		}
		tc_wipe(st, sizeof(*st));	/* the PEM decoder's buffer held key base64 */
		free(st);
	}
	free(xd);
	if (ret < 0) {
		tls_cert_free(c);
		memset(c, 0, sizeof(*c));
	}
	return ret;
}

int
tls_cert_load(const char *path, struct tls_cert *c, char *err, size_t errlen)
{
	unsigned char *file;
	size_t flen = 0;
	int ret;

	memset(c, 0, sizeof(*c));
	file = tc_read_file(path, &flen, err, errlen);
	if (file == NULL)
		return -1;
	ret = tc_load_buf(path, file, flen, c, err, errlen);
	tc_wipe(file, flen);	/* held the private key */
	free(file);
	return ret;
}

void
tls_cert_free(struct tls_cert *c)
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
		tc_wipe(c->rsa.p, c->rsa.plen + c->rsa.qlen + c->rsa.dplen + c->rsa.dqlen + c->rsa.iqlen);
		free(c->rsa.p);
	} else if (c->key_type == BR_KEYTYPE_EC && c->ec.x != NULL) {
		tc_wipe(c->ec.x, c->ec.xlen);
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
tc_skip_entry(const char *n)
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
tc_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
tc_free_list(struct tls_cert *l)
{
	struct tls_cert *n;

	while (l != NULL) {
		n = l->next;
		tls_cert_free(l);
		free(l);
		l = n;
	}
}

int
tls_cert_load_dir(const char *dir, struct tls_cert **list, char *err, size_t errlen)
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
		tc_err(err, errlen, "%s: cannot open directory: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (tc_skip_entry(de->d_name))
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
		qsort(ents, nents, sizeof(*ents), tc_cmp_names);

	for (i = 0; i < nents; i++) {
		fl = strlen(dir) + strlen(ents[i]) + 2;
		free(full);
		if ((full = malloc(fl)) == NULL)
			goto oom;
		snprintf(full, fl, "%s/%s", dir, ents[i]);
		/* stat, not lstat: symlinked certs are the usual deployment. */
		if (stat(full, &sb) < 0) {
			tc_err(err, errlen, "%s: cannot read: %s", full, strerror(errno));
			goto out;
		}
		if (!S_ISREG(sb.st_mode))
			continue;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			goto oom;
		if (tls_cert_load(full, c, e2, sizeof(e2)) < 0) {
			tc_err(err, errlen, "%s: %s", full, e2);
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
	tc_err(err, errlen, "%s: out of memory", dir);
out:
	if (d != NULL)
		closedir(d);
	for (i = 0; i < nents; i++)
		free(ents[i]);
	free(ents);
	free(full);
	tc_free_list(head);
	return ret;
}

/* ---- SNI ---- */

int
tls_cert_match(const struct tls_cert *c, const char *name)
{
	const char *dot;
	int i;

	if (name == NULL || name[0] == '\0')
		return 0;
	for (i = 0; i < c->nnames; i++) {
		const char *n = c->names[i];

		if (tc_strcaseeq(n, name))
			return 1;
		/* "*.rest": the star stands for exactly one non-empty label. */
		if (n[0] == '*' && n[1] == '.' && n[2] != '\0') {
			dot = strchr(name, '.');
			if (dot != NULL && dot != name && tc_strcaseeq(n + 1, dot))
				return 1;
		}
	}
	return 0;
}

/* ---- BearSSL error names ---- */

#define E(x)	{ x, #x }
static const struct {
	int		 code;
	const char	*name;
} tc_errs[] = {
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
tls_err_name(int err)
{
	static char buf[48];
	size_t i;

	for (i = 0; i < sizeof(tc_errs) / sizeof(tc_errs[0]); i++)
		if (tc_errs[i].code == err)
			return tc_errs[i].name;
	if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_RECV_FATAL_ALERT + 256)
		snprintf(buf, sizeof(buf), "BR_ERR_RECV_FATAL_ALERT (alert %d)", err - BR_ERR_RECV_FATAL_ALERT);
	else if (err >= BR_ERR_SEND_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT + 256)
		snprintf(buf, sizeof(buf), "BR_ERR_SEND_FATAL_ALERT (alert %d)", err - BR_ERR_SEND_FATAL_ALERT);
	else
		snprintf(buf, sizeof(buf), "BR_ERR_%d", err);
	return buf;
}
/* ---- certificate loading (end) ---- */

struct tls {
	br_ssl_server_context	 sc;
	/* our policy: picks a certificate by SNI, then hands over to
	 * BearSSL's single-certificate policy for the key operations */
	const br_ssl_server_policy_class *pol;
	const struct tls_conf	*conf;
	struct session		*sess;
	int			 sock_eof;
	int			 logged;
	unsigned char		 ibuf[BR_SSL_BUFSIZE_INPUT];
	unsigned char		 obuf[BR_SSL_BUFSIZE_OUTPUT];
};

static br_ssl_session_cache_lru tls_cache;
static unsigned char *tls_cache_mem;

static const struct tls_cert *
tls_pick_cert(const struct tls_conf *tc, const char *sni)
{
	const struct tls_cert *c;

	if (sni && *sni)
		for (c = tc->certs; c; c = c->next)
			if (tls_cert_match(c, sni))
				return c;
	/* strict-sni: no name, or no certificate for it, ends the handshake */
	return tc->strict_sni ? NULL : tc->certs;
}

static int
tls_choose(const br_ssl_server_policy_class **pctx,
    const br_ssl_server_context *cc, br_ssl_server_choices *choices)
{
	struct tls *t = (struct tls *)((char *)pctx - offsetof(struct tls, pol));
	br_ssl_server_context *sc = &t->sc;
	const struct tls_cert *c;

	c = tls_pick_cert(t->conf, br_ssl_engine_get_server_name(&cc->eng));
	if (c == NULL)
		return 0;
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
tls_keyx_unused(const br_ssl_server_policy_class **pctx, unsigned char *data,
    size_t *len)
{
	(void)pctx;
	(void)data;
	(void)len;
	return 0;
}

static size_t
tls_sign_unused(const br_ssl_server_policy_class **pctx, unsigned algo_id,
    unsigned char *data, size_t hv_len, size_t len)
{
	(void)pctx;
	(void)algo_id;
	(void)data;
	(void)hv_len;
	(void)len;
	return 0;
}

static const br_ssl_server_policy_class tls_policy = {
	sizeof(const br_ssl_server_policy_class *),
	tls_choose, tls_keyx_unused, tls_sign_unused
};

static int
tls_init(struct config *cfg)
{
	size_t sz = (size_t)cfg->ssl_cachesize * 100;

	if (sz == 0)
		return 0;	/* tune.ssl.cachesize 0: no resumption */
	if (sz < 4096)
		sz = 4096;
	/* calloc'd: pages are only resident once sessions use them */
	tls_cache_mem = xcalloc(1, sz);
	br_ssl_session_cache_lru_init(&tls_cache, tls_cache_mem, sz);
	return 0;
}

/* Fresh randomness for each engine, from the kernel; no fallback to a
 * weaker source: without it the connection is refused. */
static int
tls_seed(unsigned char *seed, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = getrandom(seed + got, len - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)r;
	}
	if (got < len) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		got = 0;
		while (fd >= 0 && got < len) {
			ssize_t r = read(fd, seed + got, len - got);

			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (fd >= 0)
			close(fd);
	}
	return got == len ? 0 : -1;
}

static struct tls *
tls_new(const struct tls_conf *tc, struct session *s)
{
	struct tls *t = malloc(sizeof(*t));
	br_ssl_engine_context *e;
	unsigned char seed[32];

	if (t == NULL)
		return NULL;
	memset(t, 0, offsetof(struct tls, ibuf));
	t->conf = tc;
	t->sess = s;
	t->pol = &tls_policy;
	br_ssl_server_zero(&t->sc);
	e = &t->sc.eng;
	br_ssl_engine_set_versions(e, tc->vmin, tc->vmax);
	br_ssl_engine_set_suites(e, tc->suites, (size_t)tc->nsuites);
	br_ssl_engine_set_ec(e, br_ec_get_default());
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
	if (tls_cache_mem)
		br_ssl_server_set_cache(&t->sc, &tls_cache.vtable);
	br_ssl_engine_set_buffers_bidi(e, t->ibuf, sizeof(t->ibuf), t->obuf,
	    sizeof(t->obuf));
	br_ssl_engine_add_flags(e, BR_OPT_ENFORCE_SERVER_PREFERENCES |
	    BR_OPT_NO_RENEGOTIATION);
	if (tc->nalpn)
		br_ssl_engine_set_protocol_names(e, (const char **)tc->alpn,
		    (size_t)tc->nalpn);
	if (tls_seed(seed, sizeof(seed)) < 0) {
		log_alert("no randomness from the system: refusing TLS connection");
		free(t);
		return NULL;
	}
	br_ssl_engine_inject_entropy(e, seed, sizeof(seed));
	if (!br_ssl_server_reset(&t->sc)) {
		log_alert("TLS engine reset failed: %s",
		    tls_err_name(br_ssl_engine_last_error(e)));
		free(t);
		return NULL;
	}
	return t;
}

static void log_request(struct proxy *fe, const char *line);

static void
tls_log_error(struct side *sd, int err)
{
	struct tls *t = sd->tls;
	char src[INET6_ADDRSTRLEN + 8];

	if (t->logged)
		return;
	t->logged = 1;
	addr_str(&t->sess->src, src, sizeof(src), 1);
	{
		char line[256];

		snprintf(line, sizeof(line), "%s %s: TLS error: %s", src,
		    t->sess->fe->name, tls_err_name(err));
		log_request(t->sess->fe, line);
	}
}

/* Derive the side's readiness from the engine. */
static void
tls_flags(struct side *sd)
{
	br_ssl_engine_context *e = &sd->tls->sc.eng;
	unsigned st = br_ssl_engine_current_state(e);

	sd->fl &= ~(SF_RD | SF_WR);
	if (st & BR_SSL_RECVAPP)
		sd->fl |= SF_RD;
	if (st & BR_SSL_SENDAPP)
		sd->fl |= SF_WR;
	if (st & BR_SSL_CLOSED) {
		int err = br_ssl_engine_last_error(e);

		if (err != BR_ERR_OK) {
			tls_log_error(sd, err);
			sd->fl |= SF_ERR;
		}
		/* a TLS closure ends both directions */
		if (!(st & BR_SSL_RECVAPP))
			sd->fl |= SF_EOF | SF_RD | SF_ERR;
	} else if (sd->tls->sock_eof && !(st & BR_SSL_RECVAPP))
		sd->fl |= SF_EOF | SF_RD;
}

/* Move records between the socket and the engine until neither can. */
static void
tls_pump(struct side *sd)
{
	br_ssl_engine_context *e = &sd->tls->sc.eng;

	for (;;) {
		unsigned st = br_ssl_engine_current_state(e);
		unsigned char *b;
		size_t len;
		ssize_t n;
		int moved = 0;

		if (st & BR_SSL_SENDREC) {
			b = br_ssl_engine_sendrec_buf(e, &len);
			n = send(sd->fd, b, len, MSG_NOSIGNAL);
			if (n > 0) {
				br_ssl_engine_sendrec_ack(e, (size_t)n);
				moved = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				sd->fl |= SF_ERR | SF_EOF;
				sd->tls->sock_eof = 1;
				break;
			}
		}
		if ((st & BR_SSL_RECVREC) && !sd->tls->sock_eof) {
			b = br_ssl_engine_recvrec_buf(e, &len);
			n = recv(sd->fd, b, len, 0);
			if (n > 0) {
				br_ssl_engine_recvrec_ack(e, (size_t)n);
				moved = 1;
			} else if (n == 0) {
				sd->tls->sock_eof = 1;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				sd->tls->sock_eof = 1;
				sd->fl |= SF_ERR;
			}
		}
		if (!moved)
			break;
	}
	tls_flags(sd);
}

/* Poll interest of a TLS side: whatever the engine waits for. */
static short
tls_events(const struct side *sd)
{
	unsigned st = br_ssl_engine_current_state(&sd->tls->sc.eng);
	short ev = 0;

	if ((st & BR_SSL_SENDREC) && !(sd->fl & SF_ERR))
		ev |= POLLOUT;
	if ((st & BR_SSL_RECVREC) && !sd->tls->sock_eof)
		ev |= POLLIN;
	return ev;
}

/* Records still waiting to reach the socket. */
static int
tls_pending(const struct side *sd)
{
	return sd->tls && !(sd->fl & SF_ERR) &&
	    (br_ssl_engine_current_state(&sd->tls->sc.eng) & BR_SSL_SENDREC);
}

static int
tls_recv(struct side *sd, char *p, size_t n)
{
	br_ssl_engine_context *e = &sd->tls->sc.eng;
	unsigned char *b;
	size_t len;

	tls_pump(sd);
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
	tls_pump(sd);
	return (int)len;
}

static int
tls_send(struct side *sd, const char *p, size_t n)
{
	br_ssl_engine_context *e = &sd->tls->sc.eng;
	unsigned char *b;
	size_t len;

	tls_pump(sd);
	if (!(br_ssl_engine_current_state(e) & BR_SSL_SENDAPP))
		return (sd->fl & SF_ERR) ? -2 : -1;
	b = br_ssl_engine_sendapp_buf(e, &len);
	if (len > n)
		len = n;
	memcpy(b, p, len);
	br_ssl_engine_sendapp_ack(e, len);
	br_ssl_engine_flush(e, 0);
	tls_pump(sd);
	return (int)len;
}

static void
tls_shutw(struct side *sd)
{
	br_ssl_engine_close(&sd->tls->sc.eng);
	tls_pump(sd);
}

/* ==================================================================== */
/* Health checks.                                                        */
/* Every check is the same small pipeline driven by the loop: connect,  */
/* send a request, read a bounded answer, validate, report once with a  */
/* reason (after OpenBSD relayd).  Kinds differ only in what they send  */
/* and how they validate: TCP (connect only), HTTP (option httpchk),    */
/* nodeos (get_info freshness and chain), SHIP (websocket get_status,   */
/* log ends, lag behind a reference head, optional block probe), and   */
/* agent (HAProxy's agent protocol, which adjusts state and weight).   */
/* The health counter follows HAProxy: a server starts UP at the lowest */
/* UP level (one failure takes it down), "fall" failures take a fully  */
/* healthy server DOWN, "rise" successes bring it back.                */
/* ==================================================================== */

/* ---- health-check protocols: parsers and encoders (begin) ---- */
/* ==================================================================== */
/* Small helpers shared by the parsers.                                  */
/* ==================================================================== */

static int
chk_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
chk_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
chk_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = chk_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Case-insensitive compare of s[0..n) with the NUL-terminated lit. */
static int
chk_ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lit[i] == '\0' ||
		    chk_lower((unsigned char)s[i]) != chk_lower((unsigned char)lit[i]))
			return 0;
	return lit[n] == '\0';
}

/*
 * Copy text meant for logs: at most cap-1 bytes, anything outside printable
 * ASCII becomes '?' so a peer cannot inject newlines or escapes into the
 * log, and the result is always NUL-terminated.
 */
static void
chk_copy_printable(char *dst, size_t cap, const char *src, size_t n)
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

/*
 * Digits only, no sign, no leading zero (the JSON integer grammar), and no
 * overflow: "0012" or "1e3" for a block number means the peer is not nodeos.
 */
static int
chk_parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (!chk_isdigit((unsigned char)s[i]))
			return -1;
		d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static uint32_t
chk_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint32_t
chk_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
chk_put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* ==================================================================== */
/* JSON: a validating tokenizer, just enough to read get_info.           */
/* Depth is bounded so recursion is bounded (two frames per level).      */
/* ==================================================================== */

#define JSON_MAX_DEPTH		32	/* the top-level object is level 1 */
#define JSON_MAX_KEYS		128	/* top-level keys tracked for duplicates */
#define JSON_ERR_SYNTAX		-1
#define JSON_ERR_DEPTH		-2

struct chk_json {
	const char	*p;
	const char	*end;
};

static void
chk_json_ws(struct chk_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* Four hex digits at p, or -1. */
static long
chk_hex4(const char *p, const char *end)
{
	long v = 0;
	int i, d;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((d = chk_hexval((unsigned char)p[i])) < 0)
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
chk_utf8_put(unsigned char out[4], unsigned long u)
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
chk_json_char(const char **pp, const char *end, unsigned char out[4], int *n)
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
		if ((u = chk_hex4(p, end)) < 0)
			return -1;
		p += 4;
		if (u >= 0xd800 && u <= 0xdbff && end - p >= 6 &&
		    p[0] == '\\' && p[1] == 'u' &&
		    (lo = chk_hex4(p + 2, end)) >= 0xdc00 && lo <= 0xdfff) {
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		*n = chk_utf8_put(out, (unsigned long)u);
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
chk_json_string(struct chk_json *j, char *dst, size_t cap, size_t *dlen,
    uint32_t *hash)
{
	const char *p = j->p + 1;
	unsigned char b[4];
	uint32_t h = 2166136261u;
	size_t len = 0;
	int r, n, i;

	while ((r = chk_json_char(&p, j->end, b, &n)) == 1) {
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
struct chk_jstr_it {
	const char	*p, *end;
	unsigned char	 b[4];
	int		 n, i;
};

static int
chk_jstr_next(struct chk_jstr_it *it)
{
	if (it->i < it->n)
		return it->b[it->i++];
	if (chk_json_char(&it->p, it->end, it->b, &it->n) != 1)
		return -1;
	it->i = 1;
	return it->b[0];
}

/* Do the (already validated) strings whose opening quotes are a, b match? */
static int
chk_json_key_eq(const char *a, const char *b, const char *end)
{
	struct chk_jstr_it x = { a + 1, end, { 0 }, 0, 0 };
	struct chk_jstr_it y = { b + 1, end, { 0 }, 0, 0 };
	int ca, cb;

	do {
		ca = chk_jstr_next(&x);
		cb = chk_jstr_next(&y);
		if (ca != cb)
			return 0;
	} while (ca >= 0);
	return 1;
}

static int
chk_json_number(struct chk_json *j)
{
	const char *p = j->p, *end = j->end;

	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return JSON_ERR_SYNTAX;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < end && chk_isdigit((unsigned char)*p))
			p++;
	else
		return JSON_ERR_SYNTAX;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !chk_isdigit((unsigned char)*p))
			return JSON_ERR_SYNTAX;
		while (p < end && chk_isdigit((unsigned char)*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !chk_isdigit((unsigned char)*p))
			return JSON_ERR_SYNTAX;
		while (p < end && chk_isdigit((unsigned char)*p))
			p++;
	}
	j->p = p;
	return 0;
}

static int
chk_json_literal(struct chk_json *j, const char *lit, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return JSON_ERR_SYNTAX;
	j->p += n;
	return 0;
}

static int chk_json_skip(struct chk_json *, int);

/* An object or array at j->p; depth is the level it opens. */
static int
chk_json_container(struct chk_json *j, int depth)
{
	char close = *j->p == '{' ? '}' : ']';
	int r;

	if (depth > JSON_MAX_DEPTH)
		return JSON_ERR_DEPTH;
	j->p++;
	chk_json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		chk_json_ws(j);
		if (close == '}') {
			if (j->p >= j->end || *j->p != '"')
				return JSON_ERR_SYNTAX;
			if ((r = chk_json_string(j, NULL, 0, NULL, NULL)) < 0)
				return r;
			chk_json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return JSON_ERR_SYNTAX;
			j->p++;
			chk_json_ws(j);
		}
		if ((r = chk_json_skip(j, depth)) < 0)
			return r;
		chk_json_ws(j);
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
chk_json_skip(struct chk_json *j, int depth)
{
	if (j->p >= j->end)
		return JSON_ERR_SYNTAX;
	switch (*j->p) {
	case '"':
		return chk_json_string(j, NULL, 0, NULL, NULL);
	case '{':
	case '[':
		return chk_json_container(j, depth + 1);
	case 't':
		return chk_json_literal(j, "true", 4);
	case 'f':
		return chk_json_literal(j, "false", 5);
	case 'n':
		return chk_json_literal(j, "null", 4);
	default:
		return chk_json_number(j);
	}
}

/* What a top-level value turned out to be, for the keys we read. */
enum { JV_STRING, JV_NUMBER, JV_NULL, JV_OTHER };

struct chk_jval {
	int		 kind;
	char		 buf[80];	/* decoded string, truncated at 80 */
	size_t		 len;		/* full decoded length */
	const char	*num;		/* raw number text */
	size_t		 num_len;
};

static int
chk_json_value(struct chk_json *j, struct chk_jval *v)
{
	const char *start = j->p;
	int r;

	if (j->p >= j->end)
		return JSON_ERR_SYNTAX;
	if (*j->p == '"') {
		v->kind = JV_STRING;
		return chk_json_string(j, v->buf, sizeof(v->buf), &v->len, NULL);
	}
	if ((r = chk_json_skip(j, 1)) < 0)
		return r;
	if (*start == '-' || chk_isdigit((unsigned char)*start)) {
		v->kind = JV_NUMBER;
		v->num = start;
		v->num_len = (size_t)(j->p - start);
	} else
		v->kind = *start == 'n' ? JV_NULL : JV_OTHER;
	return 0;
}

/* A block number as a JSON number or a JSON string of digits. */
static int
chk_jval_u64(const struct chk_jval *v, uint64_t *out)
{
	if (v->kind == JV_NUMBER)
		return chk_parse_u64(v->num, v->num_len, out);
	if (v->kind == JV_STRING && v->len <= sizeof(v->buf))
		return chk_parse_u64(v->buf, v->len, out);
	return -1;
}

static int64_t
chk_days_from_civil(int64_t y, int m, int d)
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

static int
chk_num_at(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!chk_isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * "YYYY-MM-DDTHH:MM:SS", an optional ".mmm" (exactly three digits, as fc
 * prints them) and an optional 'Z'; nothing else.
 */
static int
chk_parse_time(const char *s, size_t n, int64_t *ms)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, h, mi, sec, frac = 0, fdig = 0, dim;
	size_t i = 19;

	if (n < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if ((y = chk_num_at(s, 4)) < 0 || (mo = chk_num_at(s + 5, 2)) < 0 ||
	    (d = chk_num_at(s + 8, 2)) < 0 || (h = chk_num_at(s + 11, 2)) < 0 ||
	    (mi = chk_num_at(s + 14, 2)) < 0 || (sec = chk_num_at(s + 17, 2)) < 0)
		return -1;
	if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59)
		return -1;
	dim = mdays[mo - 1];
	if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		dim = 29;
	if (d < 1 || d > dim)
		return -1;
	if (i < n && s[i] == '.') {
		for (i++; i < n && chk_isdigit((unsigned char)s[i]); i++, fdig++)
			if (fdig < 3)	/* more digits are refused: no overflow */
				frac = frac * 10 + (s[i] - '0');
		if (fdig != 3)
			return -1;
	}
	if (i < n && s[i] == 'Z')
		i++;
	if (i != n)
		return -1;
	*ms = (chk_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec) * 1000 + frac;
	return 0;
}

enum {
	KEY_HEAD = 1, KEY_LIB = 2, KEY_TIME = 4, KEY_CHAIN = 8, KEY_VERSION = 16
};

/* Apply one interesting top-level value; NULL or the reason it is bad. */
static const char *
chk_info_apply(struct nodeos_info *out, int key, const struct chk_jval *v)
{
	size_t i;

	switch (key) {
	case KEY_HEAD:
		if (chk_jval_u64(v, &out->head) < 0)
			return "bad head_block_num";
		break;
	case KEY_LIB:
		if (chk_jval_u64(v, &out->lib) < 0)
			return "bad last_irreversible_block_num";
		break;
	case KEY_TIME:
		if (v->kind != JV_STRING || v->len > sizeof(v->buf) ||
		    chk_parse_time(v->buf, v->len, &out->head_time_ms) < 0)
			return "bad head_block_time";
		break;
	case KEY_CHAIN:
		if (v->kind == JV_NULL)
			break;
		if (v->kind != JV_STRING || v->len != 64)
			return "bad chain_id";
		for (i = 0; i < 64; i++) {
			if (chk_hexval((unsigned char)v->buf[i]) < 0)
				return "bad chain_id";
			out->chain_id[i] = (char)chk_lower((unsigned char)v->buf[i]);
		}
		out->chain_id[64] = '\0';
		break;
	case KEY_VERSION:
		if (v->kind == JV_NULL)
			break;
		if (v->kind != JV_STRING)
			return "bad server_version";
		chk_copy_printable(out->server_version,
		    sizeof(out->server_version), v->buf,
		    v->len < sizeof(v->buf) ? v->len : sizeof(v->buf));
		break;
	}
	return NULL;
}

static int
chk_info_key(const char *k, size_t n)
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

int
nodeos_info_parse(const char *json, size_t len, struct nodeos_info *out,
    const char **why)
{
	struct {
		const char	*at;
		uint32_t	 hash;
	} keys[JSON_MAX_KEYS];
	struct chk_json j = { json, json != NULL ? json + len : json };
	struct chk_jval v;
	const char *dummy, *bad, *at;
	char key[32];
	size_t nkeys = 0, klen, i;
	uint32_t hash;
	int seen = 0, k, r;

	if (why == NULL)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	if (len == 0)		/* json may be NULL: no arithmetic on it */
		goto syntax;
	chk_json_ws(&j);
	if (j.p >= j.end)
		goto syntax;
	if (*j.p != '{') {
		*why = "not a JSON object";
		return -1;
	}
	j.p++;
	chk_json_ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		goto done;
	}
	for (;;) {
		chk_json_ws(&j);
		if (j.p >= j.end || *j.p != '"')
			goto syntax;
		at = j.p;
		if (chk_json_string(&j, key, sizeof(key), &klen, &hash) < 0)
			goto syntax;
		for (i = 0; i < nkeys; i++)
			if (keys[i].hash == hash &&
			    chk_json_key_eq(keys[i].at, at, j.end)) {
				*why = "duplicate key";
				return -1;
			}
		if (nkeys == JSON_MAX_KEYS) {
			*why = "too many keys";
			return -1;
		}
		keys[nkeys].at = at;
		keys[nkeys++].hash = hash;

		chk_json_ws(&j);
		if (j.p >= j.end || *j.p != ':')
			goto syntax;
		j.p++;
		chk_json_ws(&j);
		k = klen <= sizeof(key) ? chk_info_key(key, klen) : 0;
		if (k != 0) {
			if ((r = chk_json_value(&j, &v)) < 0)
				goto jerr;
			if ((bad = chk_info_apply(out, k, &v)) != NULL) {
				*why = bad;
				return -1;
			}
			seen |= k;
		} else if ((r = chk_json_skip(&j, 1)) < 0)
			goto jerr;
		chk_json_ws(&j);
		if (j.p >= j.end)
			goto syntax;
		if (*j.p == ',') {
			j.p++;
			continue;
		}
		if (*j.p == '}') {
			j.p++;
			break;
		}
		goto syntax;
	}
done:
	chk_json_ws(&j);
	if (j.p != j.end)
		goto syntax;
	if (!(seen & KEY_HEAD))
		*why = "missing head_block_num";
	else if (!(seen & KEY_LIB))
		*why = "missing last_irreversible_block_num";
	else if (!(seen & KEY_TIME))
		*why = "missing head_block_time";
	else
		return 0;
	return -1;
jerr:
	if (r == JSON_ERR_DEPTH) {
		*why = "JSON nested too deeply";
		return -1;
	}
syntax:
	*why = "malformed JSON";
	return -1;
}

/* ==================================================================== */
/* SHIP results (server -> client), packed little-endian.                */
/* ==================================================================== */

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
	out->head = chk_le32(p + 1);
	memcpy(out->head_id, p + 5, 32);
	out->lib = chk_le32(p + 37);
	memcpy(out->lib_id, p + 41, 32);
	out->trace_begin = chk_le32(p + 73);
	out->trace_end = chk_le32(p + 77);
	out->chain_state_begin = chk_le32(p + 81);
	out->chain_state_end = chk_le32(p + 85);
	if (len >= SHIP_STATUS_CHAIN_BYTES) {
		out->has_chain_id = 1;
		memcpy(out->chain_id, p + 89, 32);
	}
	/* A block id starts with its number: a cheap sign we parse the right thing. */
	if (chk_be32(out->head_id) != out->head) {
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
chk_varuint32(const unsigned char *p, size_t len, size_t *used, uint32_t *v)
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
			*this_num = chk_le32(p + off);
			if (chk_be32(p + off + 4) != *this_num) {
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
		if (chk_varuint32(p + off, len - off, &used, &n) < 0) {
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

/* ==================================================================== */
/* SHIP requests (client -> server) as complete masked frames.           */
/* ==================================================================== */

/* One binary FIN frame with a payload under 126 bytes (all ours are). */
static int
chk_ws_client_frame(unsigned char *out, size_t cap, const unsigned char mask[4],
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

int
ship_frame_status_req(unsigned char *out, size_t cap,
    const unsigned char mask[4])
{
	static const unsigned char pl[1] = { 0x00 };	/* get_status_request_v0 */

	return chk_ws_client_frame(out, cap, mask, pl, sizeof(pl));
}

int
ship_frame_blocks_req(unsigned char *out, size_t cap,
    const unsigned char mask[4], uint32_t start, uint32_t end,
    uint32_t max_in_flight)
{
	unsigned char pl[18];

	pl[0] = 0x01;			/* get_blocks_request_v0 */
	chk_put_le32(pl + 1, start);
	chk_put_le32(pl + 5, end);
	chk_put_le32(pl + 9, max_in_flight);
	pl[13] = 0x00;			/* have_positions: none */
	pl[14] = 0x00;			/* irreversible_only */
	pl[15] = 0x00;			/* fetch_block */
	pl[16] = 0x00;			/* fetch_traces */
	pl[17] = 0x00;			/* fetch_deltas */
	return chk_ws_client_frame(out, cap, mask, pl, sizeof(pl));
}

/* ==================================================================== */
/* base64 and the websocket handshake.                                   */
/* ==================================================================== */

int
b64_encode(const unsigned char *in, size_t len, char *out, size_t cap)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t olen, i, o = 0;
	uint32_t v;

	/* keeps olen + 1 below INT_MAX, so the int result cannot overflow */
	if (len > (size_t)(INT_MAX / 4 - 1) * 3)
		return -1;
	olen = (len + 2) / 3 * 4;
	if (olen >= cap)
		return -1;
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = tab[v >> 18];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* Appends that stop writing at the first overflow and remember it. */
struct chk_out {
	char	*p;
	size_t	 cap, len;
	int	 overflow;
};

static void
chk_out_put(struct chk_out *o, const char *s)
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
chk_visible(const char *s, size_t max)
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
	struct chk_out o = { out, cap < INT_MAX ? cap : INT_MAX, 0, 0 };
	char key[25];

	if (cap == 0 || !chk_visible(host, 1024) ||
	    !chk_visible(path, 4096) || path[0] != '/')
		return -1;
	out[0] = '\0';
	(void)b64_encode(key16, 16, key, sizeof(key));
	chk_out_put(&o, "GET ");
	chk_out_put(&o, path);
	chk_out_put(&o, " HTTP/1.1\r\nHost: ");
	chk_out_put(&o, host);
	chk_out_put(&o, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: ");
	chk_out_put(&o, key);
	chk_out_put(&o, "\r\nSec-WebSocket-Version: 13\r\n\r\n");
	if (o.overflow)
		return -1;
	return (int)o.len;
}

/* base64(SHA1(base64(key16) + GUID)), RFC 6455 4.2.2: 28 chars + NUL. */
static void
chk_ws_accept(const unsigned char key16[16], char accept[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	br_sha1_context sc;
	unsigned char digest[br_sha1_SIZE];
	char key[25];

	(void)b64_encode(key16, 16, key, sizeof(key));
	br_sha1_init(&sc);
	br_sha1_update(&sc, key, 24);
	br_sha1_update(&sc, guid, sizeof(guid) - 1);
	br_sha1_out(&sc, digest);
	(void)b64_encode(digest, sizeof(digest), accept, 29);
}

static int
chk_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    chk_isdigit(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
chk_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* Does the comma-separated list v[0..n) hold tok (case-insensitive)? */
static int
chk_list_has(const char *v, size_t n, const char *tok)
{
	size_t i = 0, s, e;

	while (i <= n) {
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (s < e && chk_ows((unsigned char)v[s]))
			s++;
		while (e > s && chk_ows((unsigned char)v[e - 1]))
			e--;
		if (chk_ieq(v + s, e - s, tok))
			return 1;
		i++;
	}
	return 0;
}

/* "HTTP/1.1 NNN[ reason]" in s[0..n): the code, or -1 if malformed. */
static int
chk_status_line(const char *s, size_t n)
{
	size_t i;
	int code;

	if (n < 12 || memcmp(s, "HTTP/1.1 ", 9) != 0 ||
	    (code = chk_num_at(s + 9, 3)) < 0 || (n > 12 && s[12] != ' '))
		return -1;
	for (i = 12; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return -1;
	return code;
}

int
ws_check_upgrade(const char *buf, size_t len, const unsigned char key16[16],
    const char **why)
{
	const char *dummy, *v;
	char accept[29];
	size_t lim, i, s, e, c, vn, line0 = 0, head = 0;
	int have_upgrade = 0, have_conn = 0, n_accept = 0, accept_ok = 0, code;

	if (why == NULL)
		why = &dummy;
	/* Something that is not HTTP/1.1 at all is refused without waiting. */
	if (len > 0 && memcmp(buf, "HTTP/1.1 ", len < 9 ? len : 9) != 0) {
		*why = "malformed status line";
		return -1;
	}
	lim = len < WS_HEAD_MAX_BYTES ? len : WS_HEAD_MAX_BYTES;
	/* Find the end, refusing bare CR, bare LF and NUL on the way. */
	for (i = 0; i < lim; i++) {
		if (buf[i] == '\r') {
			if (i + 1 < len && buf[i + 1] != '\n')
				goto malformed;
		} else if (buf[i] == '\n') {
			if (i == 0 || buf[i - 1] != '\r')
				goto malformed;
			if (line0 == 0)
				line0 = i + 1;
			if (i >= 3 && buf[i - 2] == '\n') {
				head = i + 1;
				break;
			}
		} else if (buf[i] == '\0')
			goto malformed;
	}
	/* Answer "not 101" as soon as the status line is in. */
	if (line0 != 0) {
		if ((code = chk_status_line(buf, line0 - 2)) < 0) {
			*why = "malformed status line";
			return -1;
		}
		if (code != 101) {
			*why = "not 101";
			return -1;
		}
	}
	if (head == 0) {
		if (len >= WS_HEAD_MAX_BYTES) {
			*why = "head too large";
			return -1;
		}
		return 0;
	}

	chk_ws_accept(key16, accept);
	for (s = line0; s < head - 2; s = e + 2) {
		for (e = s; buf[e] != '\r'; e++)
			;
		/* obs-fold and "name : value" are refused, as for requests */
		for (c = s; c < e && chk_tchar((unsigned char)buf[c]); c++)
			;
		if (c == s || c == e || buf[c] != ':')
			goto malformed;
		v = buf + c + 1;
		vn = (size_t)(buf + e - v);
		while (vn > 0 && chk_ows((unsigned char)v[0])) {
			v++;
			vn--;
		}
		while (vn > 0 && chk_ows((unsigned char)v[vn - 1]))
			vn--;
		for (i = 0; i < vn; i++)
			if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
			    v[i] == 0x7f)
				goto malformed;
		if (chk_ieq(buf + s, c - s, "upgrade"))
			have_upgrade |= chk_list_has(v, vn, "websocket");
		else if (chk_ieq(buf + s, c - s, "connection"))
			have_conn |= chk_list_has(v, vn, "upgrade");
		else if (chk_ieq(buf + s, c - s, "sec-websocket-accept")) {
			n_accept++;
			accept_ok = vn == 28 && memcmp(v, accept, 28) == 0;
		} else if (chk_ieq(buf + s, c - s, "sec-websocket-extensions") ||
		    chk_ieq(buf + s, c - s, "sec-websocket-protocol")) {
			/* we offered none: RFC 6455 4.1 says fail */
			*why = "unrequested extension or subprotocol";
			return -1;
		}
	}
	if (!have_upgrade || !have_conn) {
		*why = "missing upgrade headers";
		return -1;
	}
	if (n_accept != 1 || !accept_ok) {
		*why = "bad Sec-WebSocket-Accept";
		return -1;
	}
	return (int)head;
malformed:
	*why = "malformed head";
	return -1;
}

/* ==================================================================== */
/* Websocket frame reader (server -> client).                            */
/* Payload bytes are counted and, up to <keep> per message, copied: a    */
/* SHIP message may exceed 1 GiB and must never be buffered whole.       */
/* ==================================================================== */

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
chk_ws_hdr_byte(struct ws_reader *r)
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
chk_ws_frame_end(struct ws_reader *r, const char **bad)
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
			if ((bad = chk_ws_hdr_byte(r)) != NULL)
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
		if ((e = chk_ws_frame_end(r, &bad)) == WS_ERROR)
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

/* ==================================================================== */
/* HAProxy agent-check replies.                                          */
/* Follows HAProxy's tcpcheck_agent_expect_reply: only the first line,   */
/* words split on space/tab/comma, '#' starts a description only at the  */
/* start of a word, last word of each kind wins, unknown words ignored.  */
/* ==================================================================== */

#define AGENT_MAXCONN_MAX	1000000	/* more is not a server limit, it is a typo */

/* Decimal digits (leading zeros allowed, as strtol allows them) up to max, or -1. */
static long
chk_agent_num(const char *s, size_t n, long max)
{
	long v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!chk_isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	return v;
}

int
agent_reply_parse(const char *line, size_t len, struct agent_reply *out)
{
	const char *w, *ps = NULL, *cs = NULL;
	size_t i, n, s, e, wn, pn = 0, cn = 0;
	long v;
	int found = 0;

	memset(out, 0, sizeof(*out));
	out->state = AGENT_NONE;
	out->admin = AGENT_ADMIN_NONE;
	out->weight_pct = -1;
	out->maxconn = -1;
	/* HAProxy reads the first line only */
	for (n = 0; n < len && line[n] != '\r' && line[n] != '\n' &&
	    line[n] != '\0'; n++)
		;
	for (i = 0; i < n; ) {
		if (line[i] == ' ' || line[i] == '\t' || line[i] == ',') {
			i++;
			continue;
		}
		if (line[i] == '#') {
			for (s = i + 1; s < n && chk_ows((unsigned char)line[s]); s++)
				;
			for (e = n; e > s && chk_ows((unsigned char)line[e - 1]); e--)
				;
			chk_copy_printable(out->desc, sizeof(out->desc), line + s,
			    e - s);
			break;
		}
		w = line + i;
		while (i < n && line[i] != ' ' && line[i] != '\t' && line[i] != ',')
			i++;
		wn = (size_t)(line + i - w);
		if (chk_ieq(w, wn, "up"))
			out->state = AGENT_UP;
		else if (chk_ieq(w, wn, "down"))
			out->state = AGENT_DOWN;
		else if (chk_ieq(w, wn, "stopped"))
			out->state = AGENT_STOPPED;
		else if (chk_ieq(w, wn, "fail"))
			out->state = AGENT_FAIL;
		else if (chk_ieq(w, wn, "ready"))
			out->admin = AGENT_ADMIN_READY;
		else if (chk_ieq(w, wn, "drain"))
			out->admin = AGENT_ADMIN_DRAIN;
		else if (chk_ieq(w, wn, "maint"))
			out->admin = AGENT_ADMIN_MAINT;
		else if (chk_isdigit((unsigned char)w[0]) && memchr(w, '%', wn)) {
			ps = w;		/* HAProxy: a weight word, the last one wins */
			pn = wn;
			continue;
		} else if (wn >= 8 && chk_ieq(w, 8, "maxconn:")) {
			cs = w + 8;
			cn = wn - 8;
			continue;
		} else
			continue;	/* unknown: ignored */
		found = 1;
	}
	/*
	 * A bad weight or maxconn is only a warning in HAProxy, which still
	 * applies the state: here it is left at -1 and does not count as a
	 * recognised word.
	 */
	if (ps != NULL && ps[pn - 1] == '%' &&
	    (v = chk_agent_num(ps, pn - 1, 100)) >= 0) {
		out->weight_pct = (int)v;
		found = 1;
	}
	if (cs != NULL && (v = chk_agent_num(cs, cn, AGENT_MAXCONN_MAX)) >= 0) {
		out->maxconn = (int)v;
		found = 1;
	}
	return found ? 0 : -1;
}
/* ---- health-check protocols (end) ---- */

#define CHK_BUFSZ	16384		/* what an HTTP or agent check reads */
#define SHIP_ABI_MAX	(1 << 20)	/* a longer first message is refused */
#define SHIP_LOG_SLACK	3		/* blocks an enabled log may trail head+1 */
#define CHAIN_FRESH_MS	60000		/* peers' heads count this long */

enum { CS_IDLE, CS_CONNECT, CS_SEND, CS_RECV };
enum { PH_WS_HEAD, PH_ABI, PH_STATUS, PH_BLOCKS };

struct check {
	struct server	*srv;
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

static struct check *checks;
static void sess_kill(struct session *s, const char *term);

static void
srv_count(struct proxy *be, int *act, int *bck)
{
	struct server *s;

	*act = *bck = 0;
	for (s = be->srv; s; s = s->next)
		if (srv_usable(s)) {
			if (s->backup)
				(*bck)++;
			else
				(*act)++;
		}
}

/* Close the sessions a server serves (on-marked-down shutdown-sessions,
 * or backup sessions when an active server returns). */
static int
srv_kill_sessions(struct proxy *be, struct server *only, int backups)
{
	struct session *s, *nx;
	int n = 0;

	for (s = rt.sessions; s; s = nx) {
		nx = s->next;
		/* by runtime state: sessions from before a reload count too */
		if (s->st == NULL || s->st->srv == NULL || s->st->srv->be != be ||
		    s->srv.fd < 0)
			continue;
		if ((only && s->st != only->st) || (backups && !s->st->srv->backup))
			continue;
		if (s->state != S_CONNECT && s->state != S_XFER &&
		    s->state != S_TUNNEL)
			continue;
		sess_kill(s, "KD");
		sess_run(s);
		n++;
	}
	return n;
}

/* Operational state, as HAProxy reports it: DOWN (checks or agent),
 * UP (draining included: it takes no new work but is not down), MAINT. */
enum { OPS_DOWN, OPS_UP, OPS_MAINT };

static int
srv_opstate(const struct server *s)
{
	const struct srv_state *st = s->st;

	if (s->disabled || st->admin == 2 || st->agent_admin == 2)
		return OPS_MAINT;
	if (!st->up || st->agent_down)
		return OPS_DOWN;
	return OPS_UP;
}

/* Apply a change (check, agent or admin) to the balancer and log a change
 * of operational state with its reason. */
static void
srv_state_changed(struct server *s, int was, const char *why, int dur)
{
	int act, bck, now, killed = 0;

	lb_update(s);
	queues_dirty = 1;	/* a new weight or slot may take queued work */
	now = srv_opstate(s);
	{
		int drain = s->st->admin == 1 || s->st->agent_admin == 1;

		if (drain != s->st->draining && now == OPS_UP && was == OPS_UP)
			logmsg(5, "WARNING", drain ? "Server %s/%s enters drain state "
			    "(%s)." : "Server %s/%s is UP (leaving drain state: %s).",
			    s->be->name, s->name, why);
		s->st->draining = drain;
	}
	if (now == was)
		return;
	s->st->last_change = now_ms;
	srv_count(s->be, &act, &bck);
	if (now == OPS_UP) {
		if (s->slowstart && was == OPS_DOWN)
			s->st->up_since = now_ms;
		logmsg(5, "WARNING", "Server %s/%s is UP, reason: %s, check duration: %dms. "
		    "%d active and %d backup servers online. 0 sessions requeued, "
		    "%d total in queue.", s->be->name, s->name, why, dur, act, bck,
		    s->be->queue ? s->be->queue->len : 0);
		if (s->on_up_kill_bck && !s->backup)
			srv_kill_sessions(s->be, NULL, 1);
	} else if (now == OPS_MAINT) {
		logmsg(5, "WARNING", "Server %s/%s is going DOWN for maintenance (%s). "
		    "%d active and %d backup servers left. %d sessions active, "
		    "0 requeued, 0 remaining in queue.", s->be->name, s->name, why,
		    act, bck, s->st->cur);
	} else {
		int cur = s->st->cur;

		if (s->on_down_kill)
			killed = srv_kill_sessions(s->be, s, 0);
		logmsg(1, "WARNING", "Server %s/%s is DOWN, reason: %s, check duration: %dms. "
		    "%d active and %d backup servers left. %d sessions active, "
		    "0 requeued, 0 remaining in queue.%s", s->be->name, s->name,
		    why, dur, act, bck, cur, killed ? " Sessions shut down." : "");
	}
	if (now != OPS_UP && act == 0 && bck == 0)
		log_alert("backend '%s' has no server available!", s->be->name);
}

static void
chk_result(struct check *c, int ok, const char *reason, const char *info)
{
	struct server *s = c->srv;
	struct srv_state *st = s->st;
	int dur = (int)(now_ms - c->started), was = srv_opstate(s);
	int full = s->rise + s->fall - 1;
	char msg[200];

	if (info)
		snprintf(msg, sizeof(msg), "%s, info: \"%s\"", reason, info);
	else
		snprintf(msg, sizeof(msg), "%s", reason);
	st->check_ms = dur;
	if (ok) {
		if (st->health < full) {
			st->health++;
			if (st->health >= s->rise)
				st->health = full;
		}
		if (!st->up && st->health >= s->rise)
			st->up = 1;
	} else {
		st->chkfail++;
		if (st->health > s->rise)
			st->health--;
		else {
			st->health = 0;
			st->up = 0;
		}
	}
	snprintf(st->reason, sizeof(st->reason), "%s", msg);
	log_debug("check %s/%s: %s (%dms)", s->be->name, s->name, msg, dur);
	srv_state_changed(s, was, msg, dur);
}

/* HAProxy's agent protocol: the reply sets state, admin state, weight
 * and maxconn; it never replaces the health check. */
static void
agent_result(struct check *c, int ok, const char *line, size_t len)
{
	struct server *s = c->srv;
	struct srv_state *st = s->st;
	struct agent_reply ar;
	int was = srv_opstate(s), dur = (int)(now_ms - c->started);
	char why[160];

	if (!ok) {
		/* an unreachable agent changes nothing, as in HAProxy */
		log_debug("agent %s/%s: %s", s->be->name, s->name, line);
		return;
	}
	if (agent_reply_parse(line, len, &ar) < 0)
		return;
	if (ar.state == AGENT_UP)
		st->agent_down = 0;
	else if (ar.state != AGENT_NONE)
		st->agent_down = 1;
	if (ar.admin == AGENT_ADMIN_DRAIN)
		st->agent_admin = 1;
	else if (ar.admin == AGENT_ADMIN_MAINT)
		st->agent_admin = 2;
	else if (ar.admin == AGENT_ADMIN_READY)
		st->agent_admin = 0;
	if (ar.weight_pct >= 0) {
		st->weight_pct = ar.weight_pct;
		st->weight_pct_set = 1;
	}
	if (ar.maxconn >= 0) {
		st->agent_maxconn = ar.maxconn;
		st->agent_maxconn_set = 1;
	}
	snprintf(st->agent_desc, sizeof(st->agent_desc), "%s", ar.desc);
	snprintf(why, sizeof(why), "Agent says %.*s", (int)(len > 80 ? 80 : len),
	    line);
	while (strlen(why) && (why[strlen(why) - 1] == '\n' ||
	    why[strlen(why) - 1] == '\r'))
		why[strlen(why) - 1] = 0;
	srv_state_changed(s, was, why, dur);
}

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
		/* reset instead of FIN: no TIME_WAIT left per check */
		struct linger lg = { 1, 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		fd_close(c->fd);
		c->fd = -1;
	}
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
	c->step = CS_IDLE;
}

static void
chk_done(struct check *c, int ok, const char *reason, const char *info)
{
	chk_close(c);
	if (c->agent)
		agent_result(c, ok, reason, strlen(reason));
	else
		chk_result(c, ok, reason, info);
	c->next = now_ms + chk_interval(c);
	c->deadline = -1;
}

/* ---- validators ---- */

static int
wall_ms(int64_t *out)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	*out = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	return 0;
}

/* Record a head a chain check read, for stall detection and the stats. */
static void
chain_note_head(struct srv_state *st, uint64_t head)
{
	if (head != st->chain_head || st->chain_adv_ms == 0)
		st->chain_adv_ms = now_ms;
	st->chain_head = head;
	st->chain_seen_ms = now_ms;
}

static int
chain_stalled(const struct check *c, char *why, size_t len)
{
	const struct srv_state *st = c->srv->st;
	unsigned stall = c->srv->be->chk.stall_ms;

	if (stall && now_ms - st->chain_adv_ms > (int64_t)stall) {
		snprintf(why, len, "head %llu has not advanced for %llds",
		    (unsigned long long)st->chain_head,
		    (long long)(now_ms - st->chain_adv_ms) / 1000);
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

	if (m->flags & MSG_CHUNKED) {
		struct chunk_dec d;
		size_t i = 0, o = 0;
		long n;

		memset(&d, 0, sizeof(d));
		n = chunk_feed(&d, b, avail);
		if (n < 0 || !chunk_done(&d))
			return -1;
		/* walk the validated framing again, keeping only data */
		while (i < (size_t)n) {
			uint64_t sz = 0;

			while (i < (size_t)n && hexval(b[i]) >= 0)
				sz = sz * 16 + (uint64_t)hexval(b[i++]);
			while (i < (size_t)n && b[i] != '\n')
				i++;
			i++;
			if (sz == 0)
				break;
			memmove(b + o, b + i, (size_t)sz);
			o += (size_t)sz;
			i += (size_t)sz;
			while (i < (size_t)n && b[i] != '\n')
				i++;
			i++;
		}
		*body = b;
		*blen = o;
		return 0;
	}
	if ((m->flags & MSG_CLEN) && (uint64_t)m->clen > avail)
		return -1;
	*body = b;
	*blen = (m->flags & MSG_CLEN) ? (size_t)m->clen : avail;
	return 0;
}

/* Is the answer in c->buf complete (so the check can conclude early)? */
static int
chk_http_complete(struct check *c, int eof)
{
	struct http_msg *m = (struct http_msg *)(rt.scratch + rt.cfg->bufsize +
	    rt.cfg->maxrewrite);
	int r = http_parse_response(c->buf, c->len, m);

	if (r <= 0)
		return r < 0 || eof || c->len >= CHK_BUFSZ;
	if (m->flags & MSG_CHUNKED) {
		struct chunk_dec d;
		long n;

		memset(&d, 0, sizeof(d));
		n = chunk_feed(&d, c->buf + r, c->len - (unsigned)r);
		return n < 0 || chunk_done(&d) || eof || c->len >= CHK_BUFSZ;
	}
	if (m->flags & MSG_CLEN)
		return (uint64_t)(c->len - (unsigned)r) >= (uint64_t)m->clen || eof ||
		    c->len >= CHK_BUFSZ;
	return eof || c->len >= CHK_BUFSZ;
}

static void
chk_http_eval(struct check *c)
{
	const struct chk_conf *cf = &c->srv->be->chk;
	struct http_msg *m = (struct http_msg *)(rt.scratch + rt.cfg->bufsize +
	    rt.cfg->maxrewrite);
	char why[200], code[8], *body = NULL;
	size_t blen = 0;
	int r, ok;

	r = http_parse_response(c->buf, c->len, m);
	if (r <= 0) {
		chk_done(c, 0, "Layer7 invalid response", r < 0 ? m->err_what :
		    "truncated");
		return;
	}
	if (chk_http_body(c, m, r, &body, &blen) < 0 && (cf->kind == CHK_NODEOS ||
	    cf->exp_kind == EXP_STRING || cf->exp_kind == EXP_RSTRING)) {
		chk_done(c, 0, "Layer7 invalid response", "truncated body");
		return;
	}
	snprintf(code, sizeof(code), "%d", m->status);
	if (cf->kind == CHK_NODEOS) {
		struct srv_state *st = c->srv->st;
		struct nodeos_info ni;
		const char *err = NULL;
		int64_t wall, lag;

		if (m->status != 200) {
			snprintf(why, sizeof(why), "nodeos get_info answered %d",
			    m->status);
			chk_done(c, 0, why, NULL);
			return;
		}
		if (nodeos_info_parse(body, blen, &ni, &err) < 0) {
			snprintf(why, sizeof(why), "nodeos get_info: %s", err);
			chk_done(c, 0, why, NULL);
			return;
		}
		if (cf->has_chain_id) {
			unsigned char id[32];

			if (parse_hex32(ni.chain_id, id) < 0 ||
			    memcmp(id, cf->chain_id, 32) != 0) {
				snprintf(why, sizeof(why), "nodeos is on another chain "
				    "(chain_id %.16s...)", ni.chain_id[0] ? ni.chain_id : "none");
				chk_done(c, 0, why, NULL);
				return;
			}
		}
		chain_note_head(st, ni.head);
		st->chain_head_ms = ni.head_time_ms;
		wall_ms(&wall);
		lag = wall - ni.head_time_ms;
		st->lag_blocks = lag / 500;
		if (lag > (int64_t)cf->max_lag_ms || -lag > (int64_t)cf->max_lag_ms) {
			snprintf(why, sizeof(why), "nodeos head %llu is %.1fs %s the "
			    "clock (max-lag %us)", (unsigned long long)ni.head,
			    (double)(lag < 0 ? -lag : lag) / 1000, lag < 0 ? "ahead of" :
			    "behind", cf->max_lag_ms / 1000);
			chk_done(c, 0, why, NULL);
			return;
		}
		if (chain_stalled(c, why, sizeof(why))) {
			chk_done(c, 0, why, NULL);
			return;
		}
		snprintf(why, sizeof(why), "nodeos head %llu, %.1fs behind",
		    (unsigned long long)ni.head, (double)lag / 1000);
		chk_done(c, 1, why, NULL);
		return;
	}
	switch (cf->exp_kind) {
	case EXP_STATUS: {
		int k;

		ok = 0;
		for (k = 0; k < cf->nexp_range; k++)
			if (m->status >= cf->exp_range[k][0] &&
			    m->status <= cf->exp_range[k][1])
				ok = 1;
		break;
	}
	case EXP_RSTATUS:
		ok = regexec(cf->exp_re, code, 0, NULL, 0) == 0;
		break;
	case EXP_STRING:
		ok = 0;
		if (body && strlen(cf->exp_str) <= blen) {
			size_t i, sl = strlen(cf->exp_str);

			for (i = 0; i + sl <= blen; i++)
				if (memcmp(body + i, cf->exp_str, sl) == 0) {
					ok = 1;
					break;
				}
		}
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
		chk_done(c, 1, "Layer7 check passed", code);
	else if (cf->exp_kind == EXP_STRING || cf->exp_kind == EXP_RSTRING)
		chk_done(c, 0, "Layer7 wrong response content", code);
	else
		chk_done(c, 0, "Layer7 wrong status", code);
}

/* The highest head among this backend's servers and the ref-backend's,
 * as their own checks last read them. */
static uint64_t
ship_reference(const struct server *self)
{
	const struct proxy *bes[2] = { self->be, self->be->chk.ref_be };
	uint64_t ref = 0;
	int i;

	for (i = 0; i < 2; i++) {
		const struct server *s;

		if (bes[i] == NULL)
			continue;
		for (s = bes[i]->srv; s; s = s->next)
			if (s->st->chain_seen_ms && now_ms - s->st->chain_seen_ms <
			    CHAIN_FRESH_MS && s->st->chain_head > ref)
				ref = s->st->chain_head;
	}
	return ref;
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
		snprintf(why, sizeof(why), "SHIP node is on another chain "
		    "(chain_id %02x%02x%02x%02x...)", ss->chain_id[0],
		    ss->chain_id[1], ss->chain_id[2], ss->chain_id[3]);
		chk_done(c, 0, why, NULL);
		return;
	}
	st->trace_begin = ss->trace_begin;
	st->trace_end = ss->trace_end;
	st->cs_begin = ss->chain_state_begin;
	st->cs_end = ss->chain_state_end;
	chain_note_head(st, ss->head);
	/* an enabled log must keep up with head (end is exclusive); a log
	 * ahead of head is tolerated: Leap 4.0.4 reports exactly that */
	if (ss->trace_end && (uint64_t)ss->head + 1 > (uint64_t)ss->trace_end +
	    SHIP_LOG_SLACK) {
		snprintf(why, sizeof(why), "SHIP trace log ends at %u, head %u",
		    ss->trace_end, ss->head);
		chk_done(c, 0, why, NULL);
		return;
	}
	if (ss->chain_state_end && (uint64_t)ss->head + 1 >
	    (uint64_t)ss->chain_state_end + SHIP_LOG_SLACK) {
		snprintf(why, sizeof(why), "SHIP chain state log ends at %u, head %u",
		    ss->chain_state_end, ss->head);
		chk_done(c, 0, why, NULL);
		return;
	}
	ref = ship_reference(c->srv);
	if (ref > ss->head)
		lag = ref - ss->head;
	st->lag_blocks = (int64_t)lag;
	if (lag * cf->block_interval_ms > cf->max_lag_ms) {
		snprintf(why, sizeof(why), "SHIP head %u lags reference %llu by "
		    "%llu blocks", ss->head, (unsigned long long)ref,
		    (unsigned long long)lag);
		chk_done(c, 0, why, NULL);
		return;
	}
	if (chain_stalled(c, why, sizeof(why))) {
		chk_done(c, 0, why, NULL);
		return;
	}
	snprintf(why, sizeof(why), "SHIP head %u, %llu blocks behind reference",
	    ss->head, (unsigned long long)lag);
	chk_done(c, 1, why, NULL);
}

/* ---- the pipeline ---- */

static void chk_event(void *obj, int fd, short revents);

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
	fd_want(c->fd, POLLOUT);
	return 0;
}

/* SHIP: feed received websocket bytes through the frame reader. */
static void
chk_ship_feed(struct check *c, const unsigned char *p, size_t len)
{
	const struct chk_conf *cf = &c->srv->be->chk;

	while (len > 0) {
		const char *why = NULL;
		int ev = WS_MORE;
		long n = ws_reader_feed(&c->wr, p, len, &ev, &why);

		if (n < 0 || ev == WS_ERROR) {
			chk_done(c, 0, "SHIP websocket error", why ? why : "bad frame");
			return;
		}
		p += n;
		len -= (size_t)n;
		if (ev == WS_MORE)
			return;
		if (ev == WS_CONTROL) {
			if (c->wr.ctl_opcode == 8) {
				chk_done(c, 0, "SHIP node closed the websocket", NULL);
				return;
			}
			continue;	/* the node never pings; pongs are ignored */
		}
		/* a whole data message */
		if (c->phase == PH_ABI) {
			unsigned char frame[16], mask[4];
			int fl;

			if (c->wr.msg_opcode != 1) {
				chk_done(c, 0, "SHIP node did not send its ABI first", NULL);
				return;
			}
			tls_seed(mask, sizeof(mask));
			fl = ship_frame_status_req(frame, sizeof(frame), mask);
			if (fl < 0 || chk_queue(c, frame, (size_t)fl) < 0) {
				chk_done(c, 0, "internal error", "status request");
				return;
			}
			c->phase = PH_STATUS;
			/* bytes after the ABI are unexpected before our request */
			return;
		}
		if (c->wr.msg_opcode != 2) {
			chk_done(c, 0, "SHIP answer is not a binary message", NULL);
			return;
		}
		if (c->phase == PH_STATUS) {
			size_t kl = c->wr.kept;

			if (ship_status_parse(c->keep, kl, &c->ss, &why) < 0) {
				chk_done(c, 0, "SHIP get_status_result undecodable", why);
				return;
			}
			if (cf->probe_blocks) {
				unsigned char frame[64], mask[4];
				int fl;

				tls_seed(mask, sizeof(mask));
				fl = ship_frame_blocks_req(frame, sizeof(frame), mask,
				    c->ss.head, c->ss.head + 1, 1);
				if (fl < 0 || chk_queue(c, frame, (size_t)fl) < 0) {
					chk_done(c, 0, "internal error", "blocks request");
					return;
				}
				c->phase = PH_BLOCKS;
				return;
			}
			chk_ship_eval(c);
			return;
		}
		if (c->phase == PH_BLOCKS) {
			int has_this = 0;
			uint32_t num = 0;

			if (ship_blocks_parse(c->keep, c->wr.kept, &has_this,
			    &num, &why) < 0) {
				chk_done(c, 0, "SHIP get_blocks_result undecodable", why);
				return;
			}
			if (!has_this) {
				chk_done(c, 0, "SHIP node serves no blocks", NULL);
				return;
			}
			chk_ship_eval(c);
			return;
		}
	}
}

static void
chk_recv(struct check *c)
{
	const struct chk_conf *cf = &c->srv->be->chk;
	int eof = 0;

	if (c->buf == NULL) {
		c->buf = malloc(CHK_BUFSZ + 1);
		if (c->buf == NULL) {
			chk_done(c, 0, "out of memory", NULL);
			return;
		}
	}
	for (;;) {
		ssize_t n;

		if (c->len >= CHK_BUFSZ)
			break;
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
		chk_done(c, 0, c->agent ? "agent read error" :
		    "Layer7 connection problem", strerror(errno));
		return;
	}
	if (c->agent) {
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
		agent_result(c, 1, line, l);
		c->next = now_ms + chk_interval(c);
		c->deadline = -1;
		return;
	}
	if (cf->kind == CHK_SHIP) {
		if (c->phase == PH_WS_HEAD) {
			const char *why = NULL;
			int r = ws_check_upgrade(c->buf, c->len, c->key, &why);

			if (r < 0) {
				chk_done(c, 0, "SHIP websocket upgrade refused", why);
				return;
			}
			if (r == 0) {
				if (eof)
					chk_done(c, 0, "SHIP websocket upgrade refused",
					    "connection closed");
				return;
			}
			ws_reader_init(&c->wr, c->keep, sizeof(c->keep), SHIP_ABI_MAX);
			c->phase = PH_ABI;
			memmove(c->buf, c->buf + r, c->len - (unsigned)r);
			c->len -= (unsigned)r;
		}
		{
			unsigned len = c->len;

			c->len = 0;
			chk_ship_feed(c, (unsigned char *)c->buf, len);
		}
		if (c->step == CS_RECV && eof)
			chk_done(c, 0, "SHIP node closed the connection", NULL);
		return;
	}
	if (chk_http_complete(c, eof))
		chk_http_eval(c);
}

static void
chk_event(void *obj, int fd, short revents)
{
	struct check *c = obj;
	int err = 0;
	socklen_t el = sizeof(err);

	(void)fd;
	if (c->step == CS_CONNECT) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err) {
			chk_done(c, 0, c->agent ? "agent connection problem" :
			    "Layer4 connection problem", strerror(err));
			return;
		}
		if (!c->agent && c->srv->be->chk.kind == CHK_TCP) {
			chk_done(c, 1, "Layer4 check passed", NULL);
			return;
		}
		c->step = c->outlen ? CS_SEND : CS_RECV;
		fd_want(c->fd, c->outlen ? POLLOUT : POLLIN);
		if (!c->outlen)
			return;
	}
	if (c->step == CS_SEND) {
		ssize_t n = send(c->fd, c->out + c->sent, c->outlen - c->sent,
		    MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			chk_done(c, 0, "Layer7 connection problem", strerror(errno));
			return;
		}
		if (n > 0)
			c->sent += (unsigned)n;
		if (c->sent < c->outlen)
			return;
		c->step = CS_RECV;
		fd_want(c->fd, POLLIN);
		return;
	}
	if (c->step == CS_RECV && (revents & (POLLIN | POLLHUP | POLLERR)))
		chk_recv(c);
}

/* Build what the check sends first. */
static int
chk_request(struct check *c, char *out, size_t cap)
{
	const struct server *s = c->srv;
	const struct chk_conf *cf = &s->be->chk;
	char host[INET6_ADDRSTRLEN + 8];
	int n;

	if (c->agent) {
		n = s->agent_send ? snprintf(out, cap, "%s", s->agent_send) : 0;
		return n < 0 || (size_t)n >= cap ? -1 : n;
	}
	addr_str(&s->chk_addr, host, sizeof(host), 1);
	switch (cf->kind) {
	case CHK_HTTP:
	{
		int want_host = strcmp(cf->ver, "HTTP/1.1") == 0 &&
		    (cf->hdrs == NULL || strcasestr(cf->hdrs, "host:") == NULL);
		char clen[48] = "";

		if (cf->body)
			snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n",
			    strlen(cf->body));
		n = snprintf(out, cap, "%s %s %s\r\n%s%s%s%s%sConnection: close\r\n"
		    "\r\n%s", cf->meth, cf->uri, cf->ver, want_host ? "Host: " : "",
		    want_host ? host : "", want_host ? "\r\n" : "",
		    cf->hdrs ? cf->hdrs : "", clen, cf->body ? cf->body : "");
	}
		break;
	case CHK_NODEOS:
		n = snprintf(out, cap, "GET /v1/chain/get_info HTTP/1.1\r\nHost: %s\r\n"
		    "Accept: application/json\r\nUser-Agent: waxlb/%s\r\n"
		    "Connection: close\r\n\r\n", host, WAXLB_VERSION);
		break;
	case CHK_SHIP:
		tls_seed(c->key, sizeof(c->key));
		n = ws_build_upgrade(out, cap, host, "/", c->key);
		break;
	default:
		n = 0;
	}
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

static void
chk_start(struct check *c)
{
	struct server *s = c->srv;
	const struct sockaddr_storage *sa = c->agent ? &s->agent_sa : &s->chk_addr;
	socklen_t salen = c->agent ? s->agent_salen : s->chk_addrlen;
	unsigned t = s->be->timeout[T_CHECK];
	int fd, n;

	c->started = now_ms;
	c->phase = PH_WS_HEAD;
	c->len = 0;
	n = chk_request(c, c->out, sizeof(c->out));
	if (n < 0) {
		chk_done(c, 0, "check request too long", NULL);
		return;
	}
	c->outlen = (unsigned)n;
	c->sent = 0;
	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || fd >= fdtab_size) {
		if (fd >= 0)
			close(fd);
		chk_done(c, 0, "Socket error", strerror(fd < 0 ? errno : EMFILE));
		return;
	}
	c->fd = fd;
	c->step = CS_CONNECT;
	if (connect(fd, (const struct sockaddr *)sa, salen) < 0 &&
	    errno != EINPROGRESS) {
		chk_done(c, 0, c->agent ? "agent connection problem" :
		    "Layer4 connection problem", strerror(errno));
		return;
	}
	fd_register(fd, chk_event, c, POLLOUT);
	/* HAProxy: without "timeout check" the whole check has "inter";
	 * with it, min("timeout connect", "inter") to connect plus
	 * "timeout check" to answer */
	if (t == 0)
		t = c->agent ? s->agent_inter : s->inter;
	else {
		unsigned ct = s->be->timeout[T_CONNECT];

		if (ct == 0 || ct > s->inter)
			ct = s->inter;
		t += ct;
	}
	c->deadline = now_ms + t;
}

static struct check *
chk_new(struct server *s, int agent, int i, int n)
{
	struct check *c = xcalloc(1, sizeof(*c));
	unsigned inter = agent ? s->agent_inter : s->inter;

	c->srv = s;
	c->agent = agent;
	c->fd = -1;
	c->deadline = -1;
	/* spread the first checks over a short window */
	c->next = now_ms + (int64_t)(i * (inter < 1000 ? inter : 1000)) / (n ? n : 1);
	c->next_chk = checks;
	checks = c;
	return c;
}

static void
checks_init(struct config *cfg)
{
	struct proxy *be;
	struct server *s;
	int n = 0, i = 0;

	for (be = cfg->proxies; be; be = be->next)
		for (s = be->srv; s; s = s->next)
			n += (s->check && !s->disabled) + (s->agent && !s->disabled);
	for (be = cfg->proxies; be; be = be->next)
		for (s = be->srv; s; s = s->next) {
			if (s->disabled)
				continue;
			if (s->check)
				s->chk = chk_new(s, 0, i++, n);
			if (s->agent)
				s->agent_chk = chk_new(s, 1, i++, n);
		}
}

/* Start due checks, expire running ones, move slowstart ramps along;
 * returns the next deadline. */
static int64_t
checks_run(void)
{
	struct check *c;
	int64_t next = -1;

	for (c = checks; c; c = c->next_chk) {
		const struct server *s = c->srv;

		if (c->fd >= 0 && c->deadline >= 0 && now_ms >= c->deadline)
			chk_done(c, 0, c->step == CS_CONNECT ? "Layer4 timeout" :
			    c->agent ? "agent timeout" : c->phase == PH_BLOCKS &&
			    s->be->chk.kind == CHK_SHIP ? "SHIP node serves no blocks "
			    "(no answer to a block request)" : "Layer7 timeout", NULL);
		if (c->fd < 0 && now_ms >= c->next) {
			if (c->srv->st->checks_off && !c->agent)
				c->next = now_ms + chk_interval(c);
			else
				chk_start(c);
		}
		if (c->fd >= 0) {
			if (next < 0 || c->deadline < next)
				next = c->deadline;
		} else if (next < 0 || c->next < next)
			next = c->next;
		if (!c->agent && s->slowstart && s->st->up_since &&
		    now_ms - s->st->up_since <= (int64_t)s->slowstart) {
			lb_update(c->srv);
			if (next < 0 || now_ms + 100 < next)
				next = now_ms + 100;
		}
	}
	return next;
}

/* ==================================================================== */
/* Logging.                                                              */
/* One line per finished request or tunnel, in HAProxy's httplog (or    */
/* tcplog) layout, on stderr.                                            */
/* ==================================================================== */

/* A request line goes to the frontend's log targets ("log global" and its
 * own "log" lines); a frontend without any logs to stderr, so that a
 * foreground waxlb shows its traffic. */
static void
log_request(struct proxy *fe, const char *line)
{
	struct log_target *t;
	int any = 0;

	for (t = fe->logs; t; t = t->next, any = 1)
		log_send(t, 6, line);
	if (fe->log_global)
		for (t = global_logs; t; t = t->next, any = 1)
			log_send(t, 6, line);
	if (!any && !stderr_closed)
		logbuf_add(line);
}

/* Nothing reads a stderr that is /dev/null: request lines meant only for
 * it are not even formatted. */
static void
stderr_check(void)
{
	struct stat a, b;

	if (fstat(2, &a) == 0 && stat("/dev/null", &b) == 0 &&
	    S_ISCHR(a.st_mode) && a.st_rdev == b.st_rdev)
		stderr_closed = 1;
}

/* Whether a request line would go anywhere at all. */
static int
log_wanted(const struct proxy *fe)
{
	return fe->logs || (fe->log_global && global_logs) || !stderr_closed;
}

static char date_str[64];
static time_t date_sec = -1;

static void
sess_log(struct session *s)
{
	char src[INET6_ADDRSTRLEN + 8], date[64], line[1024];
	struct timeval tv;
	struct tm tm;
	int64_t ta = now_ms - s->t_start;
	long long tr, tw, tc, tsr;
	int fecur = fe_state(s->fe)->cur;
	const char *srv = s->sv && (s->fl & SS_COUNTED) ?
	    s->sv->name : s->sv && s->t_conn >= 0 ? s->sv->name : "<NOSRV>";

	if (s->fl & SS_LOGGED)
		return;
	s->fl |= SS_LOGGED;
	if (!log_wanted(s->fe))
		return;
	if (((s->fe->options | (s->be ? s->be->options : 0)) & OPT_DONTLOGNULL) &&
	    s->bytes_in == 0 && s->nreq <= 1 && !(s->fl & SS_NOT_FIRST))
		return;
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != date_sec) {
		/* one localtime per second, not per request */
		localtime_r(&tv.tv_sec, &tm);
		strftime(date_str, sizeof(date_str), "%d/%b/%Y:%H:%M:%S", &tm);
		date_sec = tv.tv_sec;
	}
	memcpy(date, date_str, sizeof(date_str));
	addr_str(&s->src, src, sizeof(src), 1);
	tr = s->t_req >= 0 ? s->t_req - s->t_start : -1;
	tw = s->t_conn >= 0 || s->t_queue >= 0 ? s->t_qdur : -1;
	tc = s->t_est >= 0 ? s->t_est - s->t_conn : -1;
	tsr = s->t_rsp >= 0 && s->t_est >= 0 ? s->t_rsp - s->t_est : -1;
	if (s->fl & SS_TCP) {
		snprintf(line, sizeof(line), "%s [%s.%03d] %s %s/%s %lld/%lld/%lld "
		    "%llu %s %d/%d/%d/%d/%d %d/%d", src, date,
		    (int)(tv.tv_usec / 1000), s->fe->name,
		    s->be ? s->be->name : s->fe->name, srv, tw, tc, (long long)ta,
		    (unsigned long long)s->bytes_out, s->term, rt.curconn, fecur,
		    0, s->st ? s->st->cur : 0, 0, 0,
		    s->be && s->be->queue ? s->be->queue->len : 0);
	} else {
		snprintf(line, sizeof(line), "%s [%s.%03d] %s %s/%s "
		    "%lld/%lld/%lld/%lld/%lld %d %llu - - %c%c-- %d/%d/%d/%d/%d "
		    "%d/%d \"%s\"", src, date, (int)(tv.tv_usec / 1000),
		    s->fe->name, s->be ? s->be->name : s->fe->name, srv, tr, tw, tc,
		    tsr, (long long)ta, s->status, (unsigned long long)s->bytes_out,
		    s->term[0], s->term[1], rt.curconn, fecur, 0,
		    s->st ? s->st->cur : 0, 0, 0,
		    s->be && s->be->queue ? s->be->queue->len : 0,
		    s->reqline[0] ? s->reqline : "<BADREQ>");
	}
	log_request(s->fe, line);
}

/* ==================================================================== */
/* Stats and admin.                                                      */
/* What operators read and change at run time: HAProxy's runtime API    */
/* on a unix socket (show info/stat/servers state, server state and    */
/* weight changes, session shutdown, health on/off, levels enforced),  */
/* the HTML status page with its CSV twin, and the Prometheus metrics.  */
/* Everything is rendered into a growing string off the data path.     */
/* ==================================================================== */

static int64_t start_wall_s;
static int64_t start_mono_ms;

static const char *
srv_status_str(const struct server *s)
{
	const struct srv_state *st = s->st;

	if (s->disabled || st->admin == 2 || st->agent_admin == 2)
		return "MAINT";
	if (!st->up || st->agent_down)
		return "DOWN";
	if (st->admin == 1 || st->agent_admin == 1)
		return "DRAIN";
	if (!s->check)
		return "no check";
	return "UP";
}

/* HAProxy's check_status codes, from the reason the check recorded. */
static const char *
check_status_code(const struct server *s)
{
	const char *r = s->st->reason;

	if (!s->check)
		return "";
	if (s->st->checks_off)
		return "";
	if (r[0] == 0)
		return "INI";
	if (strncmp(r, "Layer4 check passed", 19) == 0)
		return "L4OK";
	if (strncmp(r, "Layer4 timeout", 14) == 0)
		return "L4TOUT";
	if (strncmp(r, "Layer4", 6) == 0 || strncmp(r, "Socket", 6) == 0)
		return "L4CON";
	if (strncmp(r, "Layer7 check passed", 19) == 0)
		return "L7OK";
	if (strncmp(r, "Layer7 timeout", 14) == 0)
		return "L7TOUT";
	if (strncmp(r, "Layer7 wrong status", 19) == 0)
		return "L7STS";
	if (strncmp(r, "Layer7", 6) == 0)
		return "L7RSP";
	return s->st->up && s->st->health >= s->rise ? "L7OK" : "L7RSP";
}

/* HAProxy's "show stat" columns, in its order, up to those waxlb fills. */
static const char *const stat_cols[] = {
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
#define STAT_NCOLS	(sizeof(stat_cols) / sizeof(stat_cols[0]) - 1)

/* One CSV row: values by column name; a missing one stays empty, so
 * every row has exactly the header's fields. */
struct stat_row {
	char		 v[STAT_NCOLS][200];
};

static void
stat_set(struct stat_row *r, const char *col, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	for (i = 0; i < STAT_NCOLS; i++)
		if (strcmp(stat_cols[i], col) == 0)
			break;
	if (i == STAT_NCOLS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->v[i], sizeof(r->v[i]), fmt, ap);
	va_end(ap);
}

/* A CSV field must not carry the separator. */
static void
csv_clean(char *s)
{
	for (; *s; s++)
		if (*s == ',' || *s == '\n' || *s == '\r')
			*s = ' ';
}

static void
stat_emit(struct sbuf *b, struct stat_row *r)
{
	size_t i;

	for (i = 0; i < STAT_NCOLS; i++) {
		csv_clean(r->v[i]);
		sb_printf(b, "%s,", r->v[i]);
	}
	sb_printf(b, "\n");
	memset(r, 0, sizeof(*r));
}

/* HAProxy's "show stat" CSV, for the columns waxlb fills. */
static void
render_csv(struct sbuf *b)
{
	struct stat_row *r = xcalloc(1, sizeof(*r));
	struct proxy *px;
	size_t i;
	int iid = 0;

	sb_printf(b, "# ");
	for (i = 0; i < STAT_NCOLS; i++)
		sb_printf(b, "%s,", stat_cols[i]);
	sb_printf(b, "\n");
	for (px = rt.cfg->proxies; px; px = px->next) {
		struct server *s;
		int act, bck, sid = 0, cur = 0, smax = 0;
		uint64_t stot = 0, bin = 0, bout = 0, econ = 0, eresp = 0;
		const char *mode = px->mode == MODE_HTTP ? "http" : "tcp";

		iid++;
		if (px->cap & CAP_FE) {
			struct fe_state *f = fe_state(px);

			stat_set(r, "pxname", "%s", px->name);
			stat_set(r, "svname", "FRONTEND");
			stat_set(r, "scur", "%d", f->cur);
			stat_set(r, "slim", "%d", px->maxconn ? px->maxconn :
			    rt.cfg->maxconn);
			stat_set(r, "stot", "%llu", (unsigned long long)f->tot);
			stat_set(r, "status", "OPEN");
			stat_set(r, "pid", "%d", (int)getpid());
			stat_set(r, "iid", "%d", iid);
			stat_set(r, "sid", "0");
			stat_set(r, "type", "0");
			stat_set(r, "mode", "%s", mode);
			stat_emit(b, r);
		}
		if (!(px->cap & CAP_BE))
			continue;
		srv_count(px, &act, &bck);
		for (s = px->srv; s; s = s->next) {
			const struct srv_state *st = s->st;

			sid++;
			cur += st->cur;
			smax += st->smax;
			stot += st->stot;
			bin += st->bin;
			bout += st->bout;
			econ += st->econ;
			eresp += st->eresp;
			stat_set(r, "pxname", "%s", px->name);
			stat_set(r, "svname", "%s", s->name);
			stat_set(r, "qcur", "0");
			stat_set(r, "qmax", "0");
			stat_set(r, "scur", "%d", st->cur);
			stat_set(r, "smax", "%d", st->smax);
			if (s->maxconn)
				stat_set(r, "slim", "%d", s->maxconn);
			stat_set(r, "stot", "%llu", (unsigned long long)st->stot);
			stat_set(r, "bin", "%llu", (unsigned long long)st->bin);
			stat_set(r, "bout", "%llu", (unsigned long long)st->bout);
			stat_set(r, "econ", "%llu", (unsigned long long)st->econ);
			stat_set(r, "eresp", "%llu", (unsigned long long)st->eresp);
			stat_set(r, "wretr", "0");
			stat_set(r, "wredis", "0");
			stat_set(r, "status", "%s", srv_status_str(s));
			stat_set(r, "weight", "%d", s->eweight / BE_WEIGHT_SCALE);
			stat_set(r, "act", "%d", !s->backup);
			stat_set(r, "bck", "%d", s->backup);
			if (s->check) {
				stat_set(r, "chkfail", "%u", st->chkfail);
				stat_set(r, "check_status", "%s", check_status_code(s));
				stat_set(r, "check_duration", "%d", st->check_ms);
				stat_set(r, "check_desc", "%s", st->reason);
				stat_set(r, "check_rise", "%d", s->rise);
				stat_set(r, "check_fall", "%d", s->fall);
				stat_set(r, "check_health", "%d", st->health);
			}
			stat_set(r, "lastchg", "%lld",
			    (long long)(now_ms - st->last_change) / 1000);
			stat_set(r, "pid", "%d", (int)getpid());
			stat_set(r, "iid", "%d", iid);
			stat_set(r, "sid", "%d", sid);
			stat_set(r, "lbtot", "%llu", (unsigned long long)st->lbtot);
			stat_set(r, "type", "2");
			if (s->agent)
				stat_set(r, "agent_desc", "%s", st->agent_desc);
			stat_set(r, "addr", "%s", s->addr_text);
			stat_set(r, "cookie", "%s", s->cookie ? s->cookie : "");
			stat_set(r, "mode", "%s", mode);
			stat_emit(b, r);
		}
		stat_set(r, "pxname", "%s", px->name);
		stat_set(r, "svname", "BACKEND");
		stat_set(r, "qcur", "%d", px->queue ? px->queue->len : 0);
		stat_set(r, "qmax", "%d", px->queue ? px->queue->max : 0);
		stat_set(r, "scur", "%d", cur);
		stat_set(r, "smax", "%d", smax);
		stat_set(r, "stot", "%llu", (unsigned long long)stot);
		stat_set(r, "bin", "%llu", (unsigned long long)bin);
		stat_set(r, "bout", "%llu", (unsigned long long)bout);
		stat_set(r, "econ", "%llu", (unsigned long long)econ);
		stat_set(r, "eresp", "%llu", (unsigned long long)eresp);
		stat_set(r, "status", "%s", act + bck ? "UP" : "DOWN");
		stat_set(r, "weight", "%d", (px->tot_wact + px->tot_wbck) /
		    BE_WEIGHT_SCALE);
		stat_set(r, "act", "%d", act);
		stat_set(r, "bck", "%d", bck);
		stat_set(r, "pid", "%d", (int)getpid());
		stat_set(r, "iid", "%d", iid);
		stat_set(r, "sid", "0");
		stat_set(r, "type", "1");
		stat_set(r, "mode", "%s", mode);
		stat_set(r, "algo", "%s", px->lb == LB_RR ? "roundrobin" :
		    px->lb == LB_LEASTCONN ? "leastconn" : "first");
		stat_emit(b, r);
	}
	free(r);
}

static void
render_info(struct sbuf *b)
{
	int64_t up = (now_ms - start_mono_ms) / 1000;
	uint64_t cum = 0;
	struct fe_state *f;

	for (f = rt.fes; f; f = f->next)
		cum += f->tot;
	sb_printf(b, "Name: waxlb\nVersion: %s\nRelease_date: \nNbthread: 1\n"
	    "Nbproc: 1\nProcess_num: 1\nPid: %d\nUptime: %lldd %lldh%02lldm%02llds\n"
	    "Uptime_sec: %lld\nMaxconn: %d\nCurrConns: %d\nCumConns: %llu\n"
	    "Run_queue: 0\nTasks: %d\n", WAXLB_VERSION, (int)getpid(),
	    (long long)up / 86400, (long long)(up / 3600) % 24,
	    (long long)(up / 60) % 60, (long long)up % 60, (long long)up,
	    rt.cfg->maxconn, rt.curconn, (unsigned long long)cum, rt.curconn);
}

/* HAProxy's "show servers state" (format version 1). */
static void
render_servers_state(struct sbuf *b, const char *only)
{
	struct proxy *px;
	int iid = 0;

	sb_printf(b, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
	    "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
	    "srv_check_status srv_check_result srv_check_health srv_check_state "
	    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port "
	    "srvrecord\n");
	for (px = rt.cfg->proxies; px; px = px->next) {
		struct server *s;

		iid++;
		if (!(px->cap & CAP_BE) || (only && strcmp(only, px->name)))
			continue;
		for (s = px->srv; s; s = s->next) {
			const struct srv_state *st = s->st;
			char ip[INET6_ADDRSTRLEN + 8], *colon;
			int admin = (st->admin == 2 ? 0x01 : 0) | (st->admin == 1 ? 0x08 : 0) |
			    (s->disabled ? 0x02 : 0);

			addr_str(&s->addr, ip, sizeof(ip), 0);
			colon = ip;
			(void)colon;
			sb_printf(b, "%d %s %d %s %s %d %d %d %d %lld %d %d %d %d %d 0 0 - "
			    "%d -\n", iid, px->name, s->id, s->name, ip,
			    st->up && !st->agent_down ? 2 : 0, admin,
			    st->weight_set ? st->weight : s->weight, s->weight,
			    (long long)(now_ms - st->last_change) / 1000,
			    s->check ? (st->up ? 6 : 1) : 0, st->up ? 3 : 1, st->health,
			    s->check ? (st->checks_off ? 4 : 6) : 0, s->agent ? 6 : 0,
			    ntohs(((const struct sockaddr_in *)&s->addr)->sin_port));
		}
	}
}

static void
prom_metric(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Per-server series: one name, type, help and value each. */
static long long sm_cur(const struct server *s) { return s->st->cur; }
static long long sm_smax(const struct server *s) { return s->st->smax; }
static long long sm_stot(const struct server *s) { return (long long)s->st->stot; }
static long long sm_zero(const struct server *s) { (void)s; return 0; }
static long long sm_bin(const struct server *s) { return (long long)s->st->bin; }
static long long sm_bout(const struct server *s) { return (long long)s->st->bout; }
static long long sm_econ(const struct server *s) { return (long long)s->st->econ; }
static long long sm_eresp(const struct server *s) { return (long long)s->st->eresp; }
static long long sm_weight(const struct server *s) { return s->eweight / BE_WEIGHT_SCALE; }
static long long sm_chkfail(const struct server *s) { return s->st->chkfail; }
static long long sm_chkms(const struct server *s) { return s->st->check_ms; }
static long long sm_head(const struct server *s) { return (long long)s->st->chain_head; }
static long long sm_lag(const struct server *s) { return s->st->lag_blocks; }

static const struct srv_metric {
	const char	*name, *type, *help;
	long long	(*get)(const struct server *);
	int		 ms;
} srv_metrics[] = {
	{ "haproxy_server_current_sessions", "gauge",
	    "Number of current sessions.", sm_cur, 0 },
	{ "haproxy_server_max_sessions", "gauge",
	    "Maximum observed number of active sessions.", sm_smax, 0 },
	{ "haproxy_server_sessions_total", "counter",
	    "Total number of sessions.", sm_stot, 0 },
	{ "haproxy_server_current_queue", "gauge",
	    "Current number of queued requests.", sm_zero, 0 },
	{ "haproxy_server_bytes_in_total", "counter",
	    "Current total of incoming bytes.", sm_bin, 0 },
	{ "haproxy_server_bytes_out_total", "counter",
	    "Current total of outgoing bytes.", sm_bout, 0 },
	{ "haproxy_server_connection_errors_total", "counter",
	    "Total number of connection errors.", sm_econ, 0 },
	{ "haproxy_server_response_errors_total", "counter",
	    "Total number of response errors.", sm_eresp, 0 },
	{ "haproxy_server_weight", "gauge", "Service weight.", sm_weight, 0 },
	{ "haproxy_server_check_failures_total", "counter",
	    "Total number of failed checks.", sm_chkfail, 0 },
	{ "haproxy_server_check_duration_seconds", "gauge",
	    "Previously run health check duration, in seconds.", sm_chkms, 1 },
	{ "waxlb_server_chain_head", "gauge",
	    "Head block number the last chain check read (0: none).", sm_head, 0 },
	{ "waxlb_server_chain_lag_blocks", "gauge",
	    "Blocks behind the reference head (SHIP) or the clock (nodeos).",
	    sm_lag, 0 },
};

/* Prometheus text exposition with HAProxy's exporter names, plus the
 * chain metrics of waxlb's checks. */
static void
render_prometheus(struct sbuf *b)
{
	static const char *states[] = { "DOWN", "UP", "MAINT", "DRAIN", "NOLB" };
	struct proxy *px;
	struct server *s;
	struct fe_state *f;
	uint64_t cum = 0;
	int k;

	for (f = rt.fes; f; f = f->next)
		cum += f->tot;
	prom_metric(b, "haproxy_process_current_connections", "gauge",
	    "Current number of active sessions.");
	sb_printf(b, "haproxy_process_current_connections %d\n", rt.curconn);
	prom_metric(b, "haproxy_process_max_connections", "gauge",
	    "Maximum number of concurrent connections.");
	sb_printf(b, "haproxy_process_max_connections %d\n", rt.cfg->maxconn);
	prom_metric(b, "haproxy_process_connections_total", "counter",
	    "Total number of created sessions.");
	sb_printf(b, "haproxy_process_connections_total %llu\n",
	    (unsigned long long)cum);
	prom_metric(b, "haproxy_process_start_time_seconds", "gauge",
	    "Start time in seconds.");
	sb_printf(b, "haproxy_process_start_time_seconds %lld\n",
	    (long long)start_wall_s);

	prom_metric(b, "haproxy_frontend_current_sessions", "gauge",
	    "Number of current sessions.");
	for (px = rt.cfg->proxies; px; px = px->next)
		if (px->cap & CAP_FE)
			sb_printf(b, "haproxy_frontend_current_sessions{proxy=\"%s\"} %d\n",
			    px->name, fe_state(px)->cur);
	prom_metric(b, "haproxy_frontend_sessions_total", "counter",
	    "Total number of sessions.");
	for (px = rt.cfg->proxies; px; px = px->next)
		if (px->cap & CAP_FE)
			sb_printf(b, "haproxy_frontend_sessions_total{proxy=\"%s\"} %llu\n",
			    px->name, (unsigned long long)fe_state(px)->tot);

	prom_metric(b, "haproxy_backend_status", "gauge",
	    "Current status of the service (1 UP, 0 DOWN).");
	for (px = rt.cfg->proxies; px; px = px->next)
		if (px->cap & CAP_BE) {
			int act, bck;

			srv_count(px, &act, &bck);
			sb_printf(b, "haproxy_backend_status{proxy=\"%s\"} %d\n", px->name,
			    act + bck > 0);
		}
	prom_metric(b, "haproxy_backend_active_servers", "gauge",
	    "Current number of active servers.");
	for (px = rt.cfg->proxies; px; px = px->next)
		if (px->cap & CAP_BE) {
			int act, bck;

			srv_count(px, &act, &bck);
			sb_printf(b, "haproxy_backend_active_servers{proxy=\"%s\"} %d\n",
			    px->name, act);
		}
	prom_metric(b, "haproxy_backend_current_queue", "gauge",
	    "Current number of queued requests.");
	for (px = rt.cfg->proxies; px; px = px->next)
		if (px->cap & CAP_BE)
			sb_printf(b, "haproxy_backend_current_queue{proxy=\"%s\"} %d\n",
			    px->name, px->queue ? px->queue->len : 0);
	prom_metric(b, "haproxy_backend_current_sessions", "gauge",
	    "Number of current sessions.");
	for (px = rt.cfg->proxies; px; px = px->next)
		if (px->cap & CAP_BE) {
			int cur = 0;

			for (s = px->srv; s; s = s->next)
				cur += s->st->cur;
			sb_printf(b, "haproxy_backend_current_sessions{proxy=\"%s\"} %d\n",
			    px->name, cur);
		}

#define FOR_SERVERS for (px = rt.cfg->proxies; px; px = px->next) \
	if (px->cap & CAP_BE) for (s = px->srv; s; s = s->next)
	prom_metric(b, "haproxy_server_status", "gauge",
	    "Current status of the server.");
	FOR_SERVERS {
		const char *cur = srv_status_str(s);

		if (strcmp(cur, "no check") == 0)
			cur = "UP";
		for (k = 0; k < 5; k++)
			sb_printf(b, "haproxy_server_status{proxy=\"%s\",server=\"%s\","
			    "state=\"%s\"} %d\n", px->name, s->name, states[k],
			    strcmp(cur, states[k]) == 0);
	}
	for (k = 0; k < (int)(sizeof(srv_metrics) / sizeof(srv_metrics[0])); k++) {
		const struct srv_metric *sm = &srv_metrics[k];

		prom_metric(b, sm->name, sm->type, sm->help);
		FOR_SERVERS {
			long long v = sm->get(s);

			if (sm->ms)	/* a duration, exposed in seconds */
				sb_printf(b, "%s{proxy=\"%s\",server=\"%s\"} %.3f\n",
				    sm->name, px->name, s->name, v / 1000.0);
			else
				sb_printf(b, "%s{proxy=\"%s\",server=\"%s\"} %lld\n",
				    sm->name, px->name, s->name, v);
		}
	}
#undef FOR_SERVERS
}

static void
html_escape(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			sb_printf(b, "&lt;");
		else if (*s == '>')
			sb_printf(b, "&gt;");
		else if (*s == '&')
			sb_printf(b, "&amp;");
		else if (*s == '"')
			sb_printf(b, "&quot;");
		else
			sb_printf(b, "%c", *s);
	}
}

static void
render_html(struct sbuf *b, const struct proxy *fe)
{
	struct proxy *px;
	int64_t up = (now_ms - start_mono_ms) / 1000;

	sb_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>waxlb status</title>\n");
	if (fe->stats_refresh)
		sb_printf(b, "<meta http-equiv=\"refresh\" content=\"%u\">\n",
		    (fe->stats_refresh + 999) / 1000);
	sb_printf(b, "<style>body{font-family:sans-serif;font-size:13px;margin:1em}"
	    "table{border-collapse:collapse;margin-bottom:1.5em}"
	    "th,td{border:1px solid #999;padding:3px 7px;text-align:right}"
	    "th{background:#20355f;color:#fff}td.n{text-align:left}"
	    "tr.up td{background:#c8f0c8}tr.down td{background:#f4b8b8}"
	    "tr.maint td{background:#c8c8f0}tr.drain td{background:#f0e0a0}"
	    "tr.nocheck td{background:#e8e8e8}tr.be td{font-weight:bold;"
	    "background:#dfe6f3}h2{margin-bottom:.3em}</style></head><body>\n"
	    "<h1>waxlb %s</h1>\n<p>pid %d, up %lldd %lldh%02lldm%02llds, "
	    "%d/%d connections</p>\n", WAXLB_VERSION, (int)getpid(),
	    (long long)up / 86400, (long long)(up / 3600) % 24,
	    (long long)(up / 60) % 60, (long long)up % 60, rt.curconn,
	    rt.cfg->maxconn);
	for (px = rt.cfg->proxies; px; px = px->next) {
		struct server *s;
		int act, bck;

		if (!(px->cap & CAP_BE))
			continue;
		srv_count(px, &act, &bck);
		sb_printf(b, "<h2 id=\"%s\">", px->name);
		html_escape(b, px->name);
		sb_printf(b, "</h2>\n<table class=\"backend\" data-backend=\"%s\">"
		    "<tr><th>server</th><th>status</th><th>weight</th>"
		    "<th>cur</th><th>max</th><th>total</th><th>queue</th>"
		    "<th>bytes in</th><th>bytes out</th><th>last check</th>"
		    "<th>check ms</th><th>chain head</th><th>lag (blocks)</th>"
		    "<th>since change</th></tr>\n", px->name);
		for (s = px->srv; s; s = s->next) {
			const struct srv_state *st = s->st;
			const char *stat = srv_status_str(s);
			const char *cls = strcmp(stat, "UP") == 0 ? "up" :
			    strcmp(stat, "DOWN") == 0 ? "down" : strcmp(stat, "MAINT") == 0 ?
			    "maint" : strcmp(stat, "DRAIN") == 0 ? "drain" : "nocheck";
			int64_t since = (now_ms - st->last_change) / 1000;

			sb_printf(b, "<tr class=\"%s\" data-server=\"%s\"><td class=\"n\">",
			    cls, s->name);
			html_escape(b, s->name);
			sb_printf(b, "%s</td><td class=\"status\">%s</td><td>%d</td>"
			    "<td>%d</td><td>%d</td><td>%llu</td><td>-</td><td>%llu</td>"
			    "<td>%llu</td><td class=\"n\">", s->backup ? " (backup)" : "",
			    stat, s->eweight / BE_WEIGHT_SCALE, st->cur, st->smax,
			    (unsigned long long)st->stot, (unsigned long long)st->bin,
			    (unsigned long long)st->bout);
			html_escape(b, s->check ? st->reason : "no check");
			if (s->agent && st->agent_desc[0]) {
				sb_printf(b, " (agent: ");
				html_escape(b, st->agent_desc);
				sb_printf(b, ")");
			}
			sb_printf(b, "</td><td>%d</td>", st->check_ms);
			if (st->chain_seen_ms)
				sb_printf(b, "<td class=\"head\">%llu</td><td class=\"lag\">%lld</td>",
				    (unsigned long long)st->chain_head, (long long)st->lag_blocks);
			else
				sb_printf(b, "<td>-</td><td>-</td>");
			sb_printf(b, "<td>%lldh%02lldm%02llds</td></tr>\n",
			    (long long)since / 3600, (long long)(since / 60) % 60,
			    (long long)since % 60);
		}
		sb_printf(b, "<tr class=\"be\"><td class=\"n\">backend</td><td>%s</td>"
		    "<td>%d</td><td colspan=\"3\">%s</td><td>%d</td>"
		    "<td colspan=\"7\" class=\"n\">%d active, %d backup up</td></tr>\n"
		    "</table>\n", act + bck ? "UP" : "DOWN",
		    (px->tot_wact + px->tot_wbck) / BE_WEIGHT_SCALE,
		    px->lb == LB_RR ? "roundrobin" : px->lb == LB_LEASTCONN ?
		    "leastconn" : "first", px->queue ? px->queue->len : 0, act, bck);
	}
	sb_printf(b, "<p><a href=\"%s;csv\">CSV</a></p></body></html>\n",
	    fe->stats_uri);
}

/* ---- runtime API ---- */

struct admin_conn {
	int		 fd;
	int		 level;
	char		 in[1024];
	unsigned	 inlen;
	struct sbuf	 out;
	size_t		 off;
	int64_t		 expire;
	struct admin_conn *next;
};

struct admin_listener {
	int		 fd;
	int		 level;
	char		 path[108];
	struct admin_listener *next;
};

static struct admin_listener *admin_listeners;
static struct admin_conn *admin_conns;

static struct server *
find_server(const char *spec, struct sbuf *out)
{
	char be[NAME_MAX_LEN];
	const char *slash = strchr(spec, '/');
	struct proxy *px;
	struct server *s;

	if (slash == NULL || (size_t)(slash - spec) >= sizeof(be)) {
		sb_printf(out, "Require 'backend/server'.\n");
		return NULL;
	}
	memcpy(be, spec, (size_t)(slash - spec));
	be[slash - spec] = 0;
	px = find_proxy(rt.cfg->proxies, be, CAP_BE);
	if (px == NULL) {
		sb_printf(out, "No such backend.\n");
		return NULL;
	}
	for (s = px->srv; s; s = s->next)
		if (strcmp(s->name, slash + 1) == 0)
			return s;
	sb_printf(out, "No such server.\n");
	return NULL;
}

static const char admin_help[] =
    "The following commands are valid at this level:\n"
    "  help           : this message\n"
    "  show info      : report information about the running process\n"
    "  show stat      : report counters for each proxy and server\n"
    "  show servers state [<backend>] : dump volatile server information\n"
    "  disable server <bk>/<srv> : disable a server for maintenance\n"
    "  enable server <bk>/<srv>  : enable a disabled server\n"
    "  set server <bk>/<srv> state ready|drain|maint : change a server's state\n"
    "  set server <bk>/<srv> weight <w>[%] : change a server's weight\n"
    "  shutdown sessions server <bk>/<srv> : kill sessions on a server\n"
    "  enable health <bk>/<srv>  : enable health checks\n"
    "  disable health <bk>/<srv> : disable health checks\n"
    "  quit           : disconnect\n";

/* Apply an admin change to a server and log it. */
static void
admin_apply(struct server *s, int was, const char *what)
{
	srv_state_changed(s, was, what, 0);
	lb_update(s);
	queues_dirty = 1;
	log_notice("Server %s/%s: %s (runtime API)", s->be->name, s->name, what);
}

static void
admin_exec(struct admin_conn *a, char *line)
{
	struct sbuf *o = &a->out;
	char *w[8], *save = NULL, *t;
	int n = 0, was;
	struct server *s;

	for (t = strtok_r(line, " \t", &save); t && n < 8;
	    t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	if (n == 0)
		return;
#define IS(i, str) (n > (i) && strcmp(w[i], str) == 0)
#define NEED_ADMIN() do { if (a->level < ACCESS_ADMIN) { \
	sb_printf(o, "Permission denied\n\n"); return; } } while (0)
	if (IS(0, "help")) {
		sb_printf(o, "%s\n", admin_help);
	} else if (IS(0, "show") && IS(1, "info")) {
		render_info(o);
		sb_printf(o, "\n");
	} else if (IS(0, "show") && IS(1, "stat")) {
		render_csv(o);
		sb_printf(o, "\n");
	} else if (IS(0, "show") && IS(1, "servers") && IS(2, "state")) {
		render_servers_state(o, n > 3 ? w[3] : NULL);
		sb_printf(o, "\n");
	} else if ((IS(0, "disable") || IS(0, "enable")) && IS(1, "server") && n == 3) {
		NEED_ADMIN();
		if ((s = find_server(w[2], o)) == NULL)
			return;
		was = srv_opstate(s);
		/* enable only leaves maintenance; a drain set apart stays */
		if (w[0][0] == 'd')
			s->st->admin = 2;
		else if (s->st->admin == 2)
			s->st->admin = 0;
		admin_apply(s, was, w[0][0] == 'd' ? "entering maintenance" :
		    "leaving maintenance");
		sb_printf(o, "\n");
	} else if (IS(0, "set") && IS(1, "server") && n >= 5 &&
	    (IS(3, "state") || IS(3, "weight"))) {
		NEED_ADMIN();
		if ((s = find_server(w[2], o)) == NULL)
			return;
		was = srv_opstate(s);
		if (IS(3, "state")) {
			if (strcmp(w[4], "ready") == 0)
				s->st->admin = 0;
			else if (strcmp(w[4], "drain") == 0)
				s->st->admin = 1;
			else if (strcmp(w[4], "maint") == 0)
				s->st->admin = 2;
			else {
				sb_printf(o, "'set server <srv> state' expects 'ready', "
				    "'drain' and 'maint'.\n\n");
				return;
			}
			admin_apply(s, was, s->st->admin == 0 ? "ready" : s->st->admin == 1 ?
			    "draining" : "entering maintenance");
		} else {
			long long v;
			size_t l = strlen(w[4]);

			if (l && w[4][l - 1] == '%') {
				w[4][l - 1] = 0;
				if (parse_int(w[4], 0, 100, &v) < 0) {
					sb_printf(o, "Invalid weight.\n\n");
					return;
				}
				v = s->weight * v / 100;
			} else if (parse_int(w[4], 0, 256, &v) < 0) {
				sb_printf(o, "Invalid weight.\n\n");
				return;
			}
			s->st->weight = (int)v;
			s->st->weight_set = 1;
			admin_apply(s, was, "weight changed");
		}
		sb_printf(o, "\n");
	} else if (IS(0, "shutdown") && IS(1, "sessions") && IS(2, "server") && n == 4) {
		NEED_ADMIN();
		if ((s = find_server(w[3], o)) == NULL)
			return;
		srv_kill_sessions(s->be, s, 0);
		sb_printf(o, "\n");
	} else if ((IS(0, "enable") || IS(0, "disable")) && IS(1, "health") && n == 3) {
		NEED_ADMIN();
		if ((s = find_server(w[2], o)) == NULL)
			return;
		was = srv_opstate(s);
		s->st->checks_off = w[0][0] == 'd';
		if (s->st->checks_off) {
			/* HAProxy: unchecked, hence UP unless an agent says no */
			s->st->up = 1;
			s->st->health = s->rise + s->fall - 1;
			admin_apply(s, was, "health checks disabled");
		}
		sb_printf(o, "\n");
	} else if (IS(0, "quit")) {
		;
	} else {
		sb_printf(o, "Unknown command. Please enter one of the following "
		    "commands only :\n%s\n", admin_help + strlen("The following "
		    "commands are valid at this level:\n"));
	}
#undef IS
#undef NEED_ADMIN
}

static void admin_conn_event(void *obj, int fd, short revents);

static void
admin_conn_close(struct admin_conn *a)
{
	struct admin_conn **pp;

	for (pp = &admin_conns; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	fd_close(a->fd);
	free(a->out.p);
	free(a);
}

static void
admin_conn_event(void *obj, int fd, short revents)
{
	struct admin_conn *a = obj;
	ssize_t r;

	(void)revents;
	if (a->out.len == 0) {
		char *nl;

		/* one byte always stays free for the terminating NUL */
		r = recv(fd, a->in + a->inlen, sizeof(a->in) - 2 - a->inlen, 0);
		if (r > 0)
			a->inlen += (unsigned)r;
		else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			if (a->inlen == 0) {
				admin_conn_close(a);
				return;
			}
			a->in[a->inlen++] = '\n';
		} else
			return;
		a->in[a->inlen] = 0;
		nl = strchr(a->in, '\n');
		if (nl == NULL && a->inlen < sizeof(a->in) - 2)
			return;
		if (nl)
			*nl = 0;
		/* commands separated by ';' on one line, as HAProxy */
		{
			char *cmd, *sv = NULL;

			for (cmd = strtok_r(a->in, ";", &sv); cmd;
			    cmd = strtok_r(NULL, ";", &sv))
				admin_exec(a, cmd);
		}
		if (a->out.len == 0) {
			admin_conn_close(a);
			return;
		}
		fd_want(fd, POLLOUT);
	}
	r = send(fd, a->out.p + a->off, a->out.len - a->off, MSG_NOSIGNAL);
	if (r > 0)
		a->off += (size_t)r;
	else if (r < 0 && errno != EAGAIN && errno != EINTR) {
		admin_conn_close(a);
		return;
	}
	if (a->off >= a->out.len)
		admin_conn_close(a);	/* one command line per connection */
}

static void
admin_accept(void *obj, int fd, short revents)
{
	struct admin_listener *l = obj;
	int cfd;

	(void)revents;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct admin_conn *a;

		if (cfd >= fdtab_size) {
			close(cfd);
			continue;
		}
		a = xcalloc(1, sizeof(*a));
		a->fd = cfd;
		a->level = l->level;
		a->expire = now_ms + rt.cfg->stats_timeout;
		a->next = admin_conns;
		admin_conns = a;
		fd_register(cfd, admin_conn_event, a, POLLIN);
	}
}

/* Idle runtime API clients end at "stats timeout". */
static int64_t
admin_timers(void)
{
	struct admin_conn *a, *nx;
	int64_t next = -1;

	for (a = admin_conns; a; a = nx) {
		nx = a->next;
		if (now_ms >= a->expire)
			admin_conn_close(a);
		else if (next < 0 || a->expire < next)
			next = a->expire;
	}
	return next;
}

static int
admin_open(struct stats_sock_conf *sc)
{
	struct admin_listener *l = xcalloc(1, sizeof(*l));
	struct sockaddr_un un;
	int fd;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", sc->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		free(l);
		return -1;
	}
	unlink(sc->path);	/* a stale socket from an earlier run */
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(fd, 16) < 0) {
		log_alert("stats socket %s: %s", sc->path, strerror(errno));
		close(fd);
		free(l);
		return -1;
	}
	if (sc->mode)
		chmod(sc->path, sc->mode);
	l->fd = fd;
	l->level = sc->level;
	snprintf(l->path, sizeof(l->path), "%s", sc->path);
	l->next = admin_listeners;
	admin_listeners = l;
	fd_register(fd, admin_accept, l, POLLIN);
	return 0;
}

static void
admin_close_listeners(void)
{
	struct admin_listener *l, *nx;

	for (l = admin_listeners; l; l = nx) {
		nx = l->next;
		fd_close(l->fd);
		free(l);
	}
	admin_listeners = NULL;
}

/* ---- the HTTP side: status page and metrics ---- */

static int
b64_decode(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0, i;
	unsigned acc = 0;
	int bits = 0;

	for (i = 0; i < len && in[i] != '='; i++) {
		const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/";
		const char *p = memchr(tab, in[i], 64);

		if (p == NULL || in[i] == 0)
			return -1;
		acc = (acc << 6) | (unsigned)(p - tab);
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

static int
stats_auth_ok(const struct proxy *fe, const struct http_msg *m)
{
	char cred[256];
	int i = http_find_hdr(m, "authorization", 0), k;

	if (fe->nstats_auth == 0)
		return 1;
	if (i < 0 || m->hdr[i].value_len < 7 ||
	    strncasecmp(m->hdr[i].value, "Basic ", 6) != 0)
		return 0;
	if (b64_decode(m->hdr[i].value + 6, m->hdr[i].value_len - 6, cred,
	    sizeof(cred)) < 0)
		return 0;
	for (k = 0; k < fe->nstats_auth; k++)
		if (strcmp(cred, fe->stats_auth[k]) == 0)
			return 1;
	return 0;
}

/* Is this request for the status page or the metrics?  Returns 1 and
 * fills <body>/<ctype>/<status> when the proxy answers it itself. */
static int
stats_request(struct session *s, const struct http_msg *m, struct sbuf *body,
    const char **ctype, int *status)
{
	const struct proxy *fe = s->fe;
	struct req_ctx ctx = { m, &s->src, s->cli.tls != NULL };
	const char *p;
	size_t n, ul;

	uri_path(m, &p, &n);
	if ((fe->prom_cond && cond_exec(fe->prom_cond, &ctx)) ||
	    (fe->prom_uri && strlen(fe->prom_uri) == n &&
	    memcmp(fe->prom_uri, p, n) == 0)) {
		render_prometheus(body);
		*ctype = "text/plain; version=0.0.4";
		*status = 200;
		return 1;
	}
	if (!fe->stats_enable || fe->stats_uri == NULL)
		return 0;
	ul = strlen(fe->stats_uri);
	if (m->uri_len < ul || memcmp(m->uri, fe->stats_uri, ul) != 0)
		return 0;
	if (!stats_auth_ok(fe, m)) {
		*status = 401;
		*ctype = "text/html";
		sb_printf(body, "<html><body><h1>401 Unauthorized</h1>\nYou need a "
		    "valid user and password to access this content.\n</body></html>\n");
		return 1;
	}
	*status = 200;
	if (m->uri_len >= ul + 4 && memcmp(m->uri + ul, ";csv", 4) == 0) {
		render_csv(body);
		*ctype = "text/plain";
	} else {
		render_html(body, fe);
		*ctype = "text/html";
	}
	return 1;
}

/* ==================================================================== */
/* Signals and main loop.                                                */
/* Signals arrive through a signalfd polled like any socket.  The main  */
/* loop polls, dispatches events (skipping fds reused in the same       */
/* round), runs deferred queue work, expired session timers and checks. */
/* ==================================================================== */

static int sigfd = -1;
static int want_exit;
static int want_reload;
static int64_t hard_stop_at = -1;

/* Soft stop: stop accepting, let requests and tunnels finish, exit
 * ("hard-stop-after" bounds how long). */
static void
soft_stop(void)
{
	struct listener *l;
	struct session *ss, *nx;

	log_warn("Stopping: finishing %d connection(s), accepting no more.",
	    rt.curconn);
	rt.stopping = 1;
	if (rt.cfg->hard_stop_after)
		hard_stop_at = now_ms + rt.cfg->hard_stop_after;
	for (l = rt.listeners; l; l = l->next)
		if (l->fd >= 0) {
			fd_close(l->fd);
			l->fd = -1;
		}
	admin_close_listeners();
	/* idle keep-alive clients would hold the exit back */
	for (ss = rt.sessions; ss; ss = nx) {
		nx = ss->next;
		if (ss->state == S_REQ && buf_len(ss->req) == 0 && ss->rsp_fwd == 0 &&
		    ss->gen == NULL) {
			sess_kill(ss, NULL);
			sess_run(ss);
		}
	}
}

static void
signal_event(void *obj, int fd, short revents)
{
	struct signalfd_siginfo si;

	(void)obj;
	(void)revents;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGINT:
		case SIGTERM:
			log_warn("Exiting (signal %d).", (int)si.ssi_signo);
			want_exit = 1;
			break;
		case SIGUSR1:
			if (!rt.stopping)
				soft_stop();
			break;
		case SIGHUP:
			want_reload = 1;	/* done between two loop turns */
			break;
		}
	}
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "waxlb %s - HAProxy-compatible load balancer for WAX API and "
	    "State-History nodes\n"
	    "usage: waxlb -f FILE [-f FILE ...] [-c] [-d] [-db] [-D] [-p PIDFILE]\n"
	    "       waxlb -v | -h\n"
	    "  -f FILE  configuration file (HAProxy syntax); may repeat\n"
	    "  -c       check the configuration and exit (0 valid, 1 not)\n"
	    "  -d       debug: more messages on stderr\n"
	    "  -db      accepted for HAProxy compatibility (foreground is the "
	    "default)\n"
	    "  -D       run as a daemon (as 'daemon' in global)\n"
	    "  -p FILE  write the pid to FILE (as 'pidfile' in global)\n"
	    "  -v       print the version\n"
	    "  -h       this help\n"
	    "signals: HUP reloads the configuration in place, USR1 stops softly,\n"
	    "         TERM/INT stop now\n", WAXLB_VERSION);
}

/* Give each server of <cfg> its runtime state: the one of the server with
 * the same backend and name in <old>, if any, so counters, health, admin
 * changes and leastconn counts carry over a reload. */
static void
servers_adopt(struct config *cfg, struct config *old)
{
	struct proxy *px;

	for (px = cfg->proxies; px; px = px->next) {
		struct server *s;
		struct proxy *opx = old ? find_proxy(old->proxies, px->name, CAP_BE) :
		    NULL;

		if (!(px->cap & CAP_BE))
			continue;
		for (s = px->srv; s; s = s->next) {
			struct server *os = NULL;

			if (opx)
				for (os = opx->srv; os; os = os->next)
					if (strcmp(os->name, s->name) == 0)
						break;
			if (os && os->st) {
				s->st = os->st;
			} else {
				s->st = xcalloc(1, sizeof(*s->st));
				s->st->up = 1;
				s->st->health = s->rise;
				s->st->last_change = now_ms;
			}
			s->st->srv = s;
			s->st->gen = cfg->gen;
		}
		lb_init(px);
	}
}

static int
listeners_open(struct config *cfg, struct listener **out)
{
	struct proxy *px;
	struct bind_conf *b;

	for (px = cfg->proxies; px; px = px->next) {
		if (!(px->cap & CAP_FE))
			continue;
		for (b = px->binds; b; b = b->next) {
			struct listener *l, **pp;
			char err[256];

			/* a listener of the running config on the same address
			 * is kept: its queue of pending clients too */
			for (pp = &rt.listeners; *pp; pp = &(*pp)->next)
				if ((*pp)->fd >= 0 && (*pp)->bind->addrlen == b->addrlen &&
				    memcmp(&(*pp)->bind->addr, &b->addr, b->addrlen) == 0)
					break;
			if (*pp) {
				l = *pp;	/* keeps its paused state */
				*pp = l->next;
			} else {
				l = xcalloc(1, sizeof(*l));
				l->fd = -1;
				l->bind = b;
				if (listener_open(l, err, sizeof(err)) < 0) {
					log_alert("Starting frontend %s: %s", px->name, err);
					free(l);
					return -1;
				}
				fd_register(l->fd, listener_accept, l, POLLIN);
			}
			l->fe = px;
			l->bind = b;
			l->next = *out;
			*out = l;
		}
	}
	return 0;
}

static void
checks_free(void)
{
	struct check *c, *nx;

	for (c = checks; c; c = nx) {
		nx = c->next_chk;
		chk_close(c);
		free(c);
	}
	checks = NULL;
}

/* A replaced config is freed once no session uses it any more. */
static void
config_release(struct config *c)
{
	struct config **pp;
	struct proxy *px;
	struct log_target *t;

	for (pp = &rt.old_cfgs; *pp; pp = &(*pp)->next_old)
		if (*pp == c) {
			*pp = c->next_old;
			break;
		}
	for (px = c->proxies; px; px = px->next) {
		struct server *s;

		for (s = px->srv; s; s = s->next)
			if (s->st && s->st->gen == c->gen) {
				while (s->st->idle)
					pool_drop(s->st->idle);
				free(s->st);	/* not adopted by a newer config */
				s->st = NULL;
			}
		for (t = px->logs; t; t = t->next)
			if (t->fd >= 0)
				close(t->fd);
		free(px->queue);
	}
	for (t = c->logs; t; t = t->next)
		if (t->fd >= 0)
			close(t->fd);
	config_free(c);
}

static void
cfg_unref(struct config *c)
{
	if (--c->refs == 0 && c != rt.cfg)
		config_release(c);
}

/* SIGHUP: the files are read again; a config with errors changes nothing.
 * Listeners on unchanged addresses are kept, new ones opened, removed
 * ones closed; established sessions and tunnels keep their server. */
static void
reload(void)
{
	struct config *nc, *oc = rt.cfg;
	struct listener *nl = NULL, *l, *nx;
	struct stats_sock_conf *sc;
	struct proxy *px;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *ef = open_memstream(&errs, &errlen);

	log_notice("Reloading the configuration (SIGHUP).");
	nc = config_load((const char *const *)oc->files, oc->nfiles, ef ? ef : stderr);
	if (ef)
		fclose(ef);
	if (errs && errlen) {
		char *line, *sv = NULL;

		for (line = strtok_r(errs, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv))
			if (nc == NULL)
				log_alert("%s", line);
			else
				log_warn("%s", line);
	}
	free(errs);
	if (nc == NULL) {
		log_alert("Reload failed: the configuration has errors; the running "
		    "configuration is kept.");
		return;
	}
	nc->files = oc->files;
	nc->nfiles = oc->nfiles;
	nc->gen = oc->gen + 1;
	if (nc->bufsize != oc->bufsize || nc->maxrewrite != oc->maxrewrite) {
		log_warn("tune.bufsize/tune.maxrewrite changes need a restart; "
		    "keeping %d/%d.", oc->bufsize, oc->maxrewrite);
		nc->bufsize = oc->bufsize;
		nc->maxrewrite = oc->maxrewrite;
	}
	if (nc->ssl_cachesize != oc->ssl_cachesize)
		log_warn("tune.ssl.cachesize changes need a restart; keeping %d.",
		    oc->ssl_cachesize);
	if (listeners_open(nc, &nl) < 0) {
		/* undo: new sockets closed, kept ones handed back */
		for (l = nl; l; l = nx) {
			int kept = 0;
			struct proxy *opx;
			struct bind_conf *b;

			nx = l->next;
			for (opx = oc->proxies; opx && !kept; opx = opx->next)
				for (b = opx->binds; b && !kept; b = b->next)
					if (b->addrlen == l->bind->addrlen &&
					    memcmp(&b->addr, &l->bind->addr, b->addrlen) == 0) {
						l->fe = opx;
						l->bind = b;
						l->next = rt.listeners;
						rt.listeners = l;
						kept = 1;
					}
			if (!kept) {
				fd_close(l->fd);
				free(l);
			}
		}
		config_release(nc);
		log_alert("Reload failed: cannot bind a new listener; the running "
		    "configuration is kept.");
		return;
	}
	/* listeners left on the old list are gone from the config */
	for (l = rt.listeners; l; l = nx) {
		nx = l->next;
		if (l->fd >= 0)
			fd_close(l->fd);
		free(l);
	}
	rt.listeners = nl;
	servers_adopt(nc, oc);
	/* queued requests move to the backend of the same name */
	for (px = oc->proxies; px; px = px->next) {
		struct proxy *npx = find_proxy(nc->proxies, px->name, CAP_BE);

		while (px->queue && px->queue->head) {
			struct session *s = px->queue->head;

			queue_del(s);
			if (npx == NULL) {
				sess_error(s, 503, "sQ");
				sess_run(s);
				continue;
			}
			s->be = npx;
			{
				int64_t t0 = s->t_queue;

				queue_add(s);
				s->t_queue = t0;
			}
		}
	}
	checks_free();
	rt.cfg = nc;
	global_logs = nc->logs;
	/* runtime API sockets: kept by path (privileges may be dropped, the
	 * directory may not be writable any more), new ones opened, removed
	 * ones closed */
	{
		struct admin_listener *al, **ap = &admin_listeners;

		while ((al = *ap) != NULL) {
			for (sc = nc->stats_socks; sc; sc = sc->next)
				if (strcmp(sc->path, al->path) == 0)
					break;
			if (sc) {
				al->level = sc->level;
				ap = &al->next;
				continue;
			}
			*ap = al->next;
			fd_close(al->fd);
			unlink(al->path);
			free(al);
		}
		for (sc = nc->stats_socks; sc; sc = sc->next) {
			for (al = admin_listeners; al; al = al->next)
				if (strcmp(sc->path, al->path) == 0)
					break;
			if (al == NULL)
				admin_open(sc);
		}
	}
	checks_init(nc);
	if (oc->refs == 0)
		config_release(oc);
	else {
		oc->next_old = rt.old_cfgs;
		rt.old_cfgs = oc;
	}
	listeners_update();
	queues_dirty = 1;
	log_notice("Reload complete: %d connection(s) continue.", rt.curconn);
}

static int
runtime_init(struct config *cfg)
{
	struct rlimit rl;
	struct stats_sock_conf *sc;
	int maxfd;
	sigset_t mask;
	rlim_t want;

	rt.cfg = cfg;
	global_logs = cfg->logs;
	/* two fds per connection, plus checks and listeners */
	want = cfg->ulimit_n ? (rlim_t)cfg->ulimit_n : (rlim_t)cfg->maxconn * 2 + 256;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < want) {
		struct rlimit nr = rl;

		nr.rlim_cur = want;
		if (nr.rlim_max < want)
			nr.rlim_max = want;	/* root may raise the hard limit */
		if (setrlimit(RLIMIT_NOFILE, &nr) < 0) {
			nr.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
			nr.rlim_max = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &nr) < 0 || nr.rlim_cur < want)
				log_warn("cannot raise the file limit to %llu (%s); it "
				    "stays at %llu", (unsigned long long)want,
				    strerror(errno ? errno : EPERM),
				    (unsigned long long)nr.rlim_cur);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	maxfd = rl.rlim_cur > (rlim_t)(1 << 22) ? (1 << 22) : (int)rl.rlim_cur;
	if ((rlim_t)cfg->maxconn * 2 + 64 > (rlim_t)maxfd)
		log_warn("maxconn %d needs about %d file descriptors but the limit "
		    "is %d: accept will pause when it is reached", cfg->maxconn,
		    cfg->maxconn * 2 + 64, maxfd);
	fd_init(maxfd);
	rt.scratch = xcalloc(1, (size_t)cfg->bufsize + (size_t)cfg->maxrewrite +
	    sizeof(struct http_msg));
	rt.next_expire = -1;
	start_mono_ms = now_ms;
	start_wall_s = (int64_t)time(NULL);
	servers_adopt(cfg, NULL);
	{
		struct listener *nl = NULL;

		if (listeners_open(cfg, &nl) < 0)
			return -1;
		rt.listeners = nl;
	}
	for (sc = cfg->stats_socks; sc; sc = sc->next)
		if (admin_open(sc) < 0)
			return -1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd >= 0)
		fd_register(sigfd, signal_event, NULL, POLLIN);
	signal(SIGPIPE, SIG_IGN);
	tls_init(cfg);
	checks_init(cfg);
	return 0;
}

/* chroot, then drop root: after every privileged socket is open. */
static int
drop_privileges(struct config *cfg)
{
	long uid = cfg->uid, gid = cfg->gid;

	if (cfg->user) {
		struct passwd *pw = getpwnam(cfg->user);

		if (pw == NULL) {
			log_alert("unknown user '%s'", cfg->user);
			return -1;
		}
		uid = (long)pw->pw_uid;
		if (gid < 0 && cfg->group == NULL)
			gid = (long)pw->pw_gid;
	}
	if (cfg->group) {
		struct group *gr = getgrnam(cfg->group);

		if (gr == NULL) {
			log_alert("unknown group '%s'", cfg->group);
			return -1;
		}
		gid = (long)gr->gr_gid;
	}
	if (cfg->chroot) {
		if (chroot(cfg->chroot) < 0 || chdir("/") < 0) {
			log_alert("chroot(%s): %s", cfg->chroot, strerror(errno));
			return -1;
		}
	}
	if (gid >= 0) {
		gid_t g = (gid_t)gid;

		if (setgroups(1, &g) < 0 && getuid() == 0) {
			log_alert("setgroups: %s", strerror(errno));
			return -1;
		}
		if (setgid(g) < 0) {
			log_alert("setgid(%ld): %s", gid, strerror(errno));
			return -1;
		}
	}
	if (uid >= 0 && setuid((uid_t)uid) < 0) {
		log_alert("setuid(%ld): %s", uid, strerror(errno));
		return -1;
	}
	return 0;
}

static int
write_pidfile(const char *path, pid_t pid)
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
daemonize(const char *pidfile)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		log_alert("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		if (pidfile && write_pidfile(pidfile, pid) < 0) {
			/* nothing may keep running that the pidfile does not
			 * name: the child goes, and is gone before we exit */
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			_exit(1);
		}
		_exit(0);
	}
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	stderr_closed = 1;
	return 0;
}

/* Expired session timers; recomputes the earliest deadline. */
static void
timers_run(void)
{
	struct session *s, *next;
	int64_t min = -1;

	if (rt.next_expire < 0 || now_ms < rt.next_expire)
		return;
	rt.next_expire = -1;
	for (s = rt.sessions; s; s = next) {
		next = s->next;
		if (s->expire >= 0 && now_ms >= s->expire) {
			/* sess_timeout may free s; 'next' was read first, and
			 * no other session is freed by it */
			sess_timeout(s);
			continue;
		}
		if (s->expire >= 0 && (min < 0 || s->expire < min))
			min = s->expire;
	}
	if (min >= 0 && (rt.next_expire < 0 || min < rt.next_expire))
		rt.next_expire = min;
}

struct fired {
	int		 fd;
	unsigned	 gen;
	short		 revents;
};

static int
main_loop(void)
{
	struct fired *fired = xcalloc((size_t)fdtab_size, sizeof(*fired));
	int64_t next_purge = 0;

	for (;;) {
		int64_t next_chk, wake;
		int timeout, n, i, nf = 0;

		int64_t next_adm;

		now_ms = mono_ms();
		if (want_reload) {
			want_reload = 0;
			if (!rt.stopping)
				reload();
		}
		next_chk = checks_run();
		next_adm = admin_timers();
		if (queues_dirty)
			queues_process();
		if (want_exit || (rt.stopping && rt.sessions == NULL))
			break;
		if (hard_stop_at >= 0 && now_ms >= hard_stop_at) {
			log_warn("hard-stop-after expired: closing %d connection(s).",
			    rt.curconn);
			break;
		}
		wake = rt.next_expire;
		if (next_chk >= 0 && (wake < 0 || next_chk < wake))
			wake = next_chk;
		if (next_adm >= 0 && (wake < 0 || next_adm < wake))
			wake = next_adm;
		if (hard_stop_at >= 0 && (wake < 0 || hard_stop_at < wake))
			wake = hard_stop_at;
		if (rt.paused && (wake < 0 || rt.paused < wake))
			wake = rt.paused;
		if (pool_total && (wake < 0 || next_purge < wake))
			wake = next_purge;
		if (rt.again)
			wake = now_ms;
		timeout = wake < 0 ? -1 : wake <= now_ms ? 0 :
		    (wake - now_ms > 60000 ? 60000 : (int)(wake - now_ms));
		n = poll(pfds, (nfds_t)npfds, timeout);
		now_ms = mono_ms();
		if (n < 0 && errno != EINTR) {
			log_alert("poll: %s", strerror(errno));
			return 1;
		}
		for (i = 0; n > 0 && i < npfds; i++) {
			if (pfds[i].revents == 0)
				continue;
			fired[nf].fd = pfds[i].fd;
			fired[nf].gen = fdtab[pfds[i].fd].gen;
			fired[nf].revents = pfds[i].revents;
			nf++;
			n--;
		}
		for (i = 0; i < nf; i++) {
			struct fdent *e = &fdtab[fired[i].fd];

			if (e->gen == fired[i].gen && e->cb && e->pidx >= 0)
				e->cb(e->obj, fired[i].fd, fired[i].revents);
		}
		if (queues_dirty)
			queues_process();
		while (rt.again) {
			/* detach the whole list: a run may add itself again */
			struct session *list = rt.again, *nx;

			rt.again = NULL;
			for (; list; list = nx) {
				nx = list->again;
				list->on_again = 0;
				list->again = NULL;
				sess_run(list);
			}
			break;
		}
		timers_run();
		if (loglen)
			logbuf_flush();
		if (now_ms >= next_purge) {
			struct proxy *px;
			struct server *sv;

			for (px = rt.cfg->proxies; px; px = px->next)
				for (sv = px->srv; sv; sv = sv->next)
					if (sv->st->idle)
						pool_purge(sv->st);
			next_purge = now_ms + 1000;
		}
		if (rt.paused && now_ms >= rt.paused) {
			/* retry accepting after an fd shortage */
			struct listener *l;

			rt.paused = 0;
			for (l = rt.listeners; l; l = l->next)
				l->paused = -1;
			listeners_update();
		}
	}
	free(fired);
	return 0;
}

/* The whole program; main() is only this, so that tests and fuzzers
 * can link everything with main compiled out. */
int
waxlb_main(int argc, char **argv)
{
	const char *files[64], *pidfile = NULL;
	struct config *cfg;
	int nfiles = 0, check_only = 0, daemon_opt = 0, i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-f") == 0 && i + 1 < argc) ||
		    (strncmp(a, "-f", 2) == 0 && a[2])) {
			if (nfiles == 64) {
				fprintf(stderr, "waxlb: at most 64 configuration files\n");
				return 1;
			}
			files[nfiles++] = a[2] ? a + 2 : argv[++i];
		}
		else if (strcmp(a, "-p") == 0 && i + 1 < argc)
			pidfile = argv[++i];
		else if (strcmp(a, "-c") == 0)
			check_only = 1;
		else if (strcmp(a, "-d") == 0)
			debug_mode = 1;
		else if (strcmp(a, "-D") == 0)
			daemon_opt = 1;
		else if (strcmp(a, "-db") == 0 || strcmp(a, "-q") == 0)
			;
		else if (strcmp(a, "-v") == 0 || strcmp(a, "-vv") == 0 ||
		    strcmp(a, "--version") == 0) {
			printf("waxlb version %s\n", WAXLB_VERSION);
			return 0;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "waxlb: unknown option '%s'\n", a);
			usage(stderr);
			return 1;
		}
	}
	if (nfiles == 0) {
		fprintf(stderr, "waxlb: no configuration file (-f FILE)\n");
		usage(stderr);
		return 1;
	}
	cclass_init();
	now_ms = mono_ms();
	cfg = config_load(files, nfiles, stderr);
	if (cfg == NULL) {
		fprintf(stderr, "waxlb: configuration has errors, not starting\n");
		return 1;
	}
	if (cfg->debug)
		debug_mode = 1;
	if (check_only) {
		printf("Configuration file is valid\n");
		config_free(cfg);
		return 0;
	}
	/* kept for reloads: absolute paths survive a chdir */
	cfg->files = xcalloc((size_t)nfiles, sizeof(char *));
	for (i = 0; i < nfiles; i++) {
		cfg->files[i] = realpath(files[i], NULL);
		if (cfg->files[i] == NULL)
			cfg->files[i] = strdup(files[i]);
	}
	cfg->nfiles = nfiles;
	if (pidfile == NULL)
		pidfile = cfg->pidfile;
	setvbuf(stderr, NULL, _IOLBF, 0);
	stderr_check();
	if (runtime_init(cfg) < 0)
		return 1;
	/* the pidfile is written while still root, as HAProxy does; then
	 * chroot and the unprivileged user */
	if (daemon_opt || cfg->daemon) {
		if (daemonize(pidfile) < 0)
			return 1;
	} else if (pidfile && write_pidfile(pidfile, getpid()) < 0)
		return 1;
	if (drop_privileges(cfg) < 0)
		return 1;
	log_notice("waxlb %s started (pid %d, maxconn %d).", WAXLB_VERSION,
	    (int)getpid(), cfg->maxconn);
	rc = main_loop();
	while (rt.sessions)
		sess_free(rt.sessions);
	logbuf_flush();
	/* a pidfile left behind would name a process that is gone (inside a
	 * chroot the path no longer resolves; the init script copes) */
	if (pidfile && rt.cfg->chroot == NULL)
		unlink(pidfile);
	return rc;
}
#ifndef WAXLB_NO_MAIN
int
main(int argc, char **argv)
{
	return waxlb_main(argc, argv);
}
#endif
