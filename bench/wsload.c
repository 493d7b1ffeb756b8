/* bench/wsload.c - websocket load generator for `make bench` (a test tool, not part of waxlb).
 *
 *   wsload stream   PORT NCONN SECS          NCONN tunnels on GET /stream, reads everything for SECS seconds
 *                                            -> "bytes=B secs=S gbps=G conns=N"
 *   wsload upgrades PORT CONC SECS MAX       CONC parallel loops of: connect, upgrade, 101, first frame, close;
 *                                            at most MAX upgrades -> "count=C secs=S rate=R fails=F"
 *   wsload idle     PORT N OPENSECS HOLDSECS opens N tunnels on GET /idle (each waits for 101 + the ABI frame),
 *                                            prints "ready=N fails=F secs=S", then holds them until stdin
 *                                            is closed or HOLDSECS pass, and exits.
 * Every loop is bounded in count and time. Host 127.0.0.1 (loopback only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { C_CONNECT, C_HEAD, C_FRAME, C_DONE };
struct conn {
	int fd, state, slot;
	uint64_t total, need;
	int acclen;
	char acc[1024];
};

static int ep, port;
static char rbuf[1 << 20];
static const char *path = "/stream";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct conn *conn_open(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) return NULL;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (void *)&a, sizeof a) < 0 && errno != EINPROGRESS) { close(fd); return NULL; }
	struct conn *c = calloc(1, sizeof *c);
	c->fd = fd;
	c->state = C_CONNECT;
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return c;
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* progress one connection; returns -1 on failure, 1 when the first frame has fully arrived (once),
 * 0 otherwise. *bytes gets bytes read. */
static int conn_event(struct conn *c, uint32_t events, uint64_t *bytes)
{
	*bytes = 0;
	if (c->state == C_CONNECT) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return 0;
		int err = 0;
		socklen_t l = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) return -1;
		char req[512];
		int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: ws-wax.eosphere.io\r\nConnection: Upgrade\r\n"
		    "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path);
		if (write(c->fd, req, n) != n) return -1;
		c->state = C_HEAD;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return 0;
	}
	int ret = 0;
	for (int k = 0; k < 4; k++) {
		ssize_t r = read(c->fd, rbuf, sizeof rbuf);
		if (r == 0) return -1;
		if (r < 0) return (errno == EAGAIN || errno == EINTR) ? ret : -1;
		*bytes += (uint64_t)r;
		c->total += (uint64_t)r;
		if (c->state == C_HEAD || (c->state == C_FRAME && c->need == 0)) {
			int cp = (int)r;
			if (cp > (int)sizeof c->acc - 1 - c->acclen) cp = (int)sizeof c->acc - 1 - c->acclen;
			memcpy(c->acc + c->acclen, rbuf, cp);
			c->acclen += cp;
			c->acc[c->acclen] = 0;
			char *e = memmem(c->acc, c->acclen, "\r\n\r\n", 4);
			if (!e) {
				if (c->acclen >= (int)sizeof c->acc - 1) return -1;
				continue;
			}
			if (strncmp(c->acc, "HTTP/1.1 101", 12) != 0) return -1;
			c->state = C_FRAME;
			int hl = (int)(e - c->acc) + 4;
			unsigned char *f = (unsigned char *)c->acc + hl;
			int have = c->acclen - hl;
			if (have < 2) continue;
			int fh = 2;
			uint64_t len = f[1] & 127;
			if (len == 126) fh = 4;
			if (len == 127) fh = 10;
			if (have < fh) continue;
			if (len == 126) len = (uint64_t)f[2] << 8 | f[3];
			else if (len == 127) { len = 0; for (int i = 0; i < 8; i++) len = len << 8 | f[2 + i]; }
			c->need = (uint64_t)hl + fh + len;
		}
		if (c->state == C_FRAME && c->need && c->total >= c->need) {
			c->state = C_DONE;
			ret = 1;
		}
	}
	return ret;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
}

static int mode_stream(int nconn, double secs)
{
	path = "/stream";
	struct conn **cs = calloc(nconn, sizeof *cs);
	for (int i = 0; i < nconn; i++) if (!(cs[i] = conn_open())) { fprintf(stderr, "connect failed\n"); return 1; }
	double t0 = 0, tend = now() + secs + 10, deadline = 0;
	uint64_t counted = 0;
	int alive = nconn, fails = 0;
	struct epoll_event evs[256];
	while (alive > 0) {
		double t = now();
		if (t >= tend || (t0 && t >= deadline)) break;
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			uint64_t b;
			int rc = conn_event(c, evs[i].events, &b);
			if (!t0 && c->state >= C_FRAME) { t0 = now(); deadline = t0 + secs; }
			if (t0) counted += b;
			if (rc < 0) {
				fails++;
				alive--;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			}
		}
	}
	double el = t0 ? now() - t0 : 0;
	printf("bytes=%llu secs=%.3f gbps=%.4f conns=%d fails=%d\n", (unsigned long long)counted, el,
	    el > 0 ? counted / el / 1e9 : 0, nconn, fails);
	return 0;
}

static int mode_upgrades(int conc, double secs, long max)
{
	path = "/upgrade";
	long started = 0, done = 0, fails = 0;
	double t0 = now(), tend = t0 + secs;
	int active = 0;
	for (int i = 0; i < conc && started < max; i++) {
		if (conn_open()) { active++; started++; } else fails++;
	}
	struct epoll_event evs[256];
	while (active > 0 && now() < tend + 5) {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			uint64_t b;
			int rc = conn_event(c, evs[i].events, &b);
			if (rc == 0) continue;
			if (rc > 0) done++; else fails++;
			conn_free(c);
			active--;
			if (now() < tend && started < max) {
				if (conn_open()) { active++; started++; } else fails++;
			}
		}
	}
	double el = now() - t0;
	printf("count=%ld secs=%.3f rate=%.1f fails=%ld\n", done, el, done / el, fails);
	return 0;
}

static int mode_idle(int n, double opensecs, double holdsecs)
{
	path = "/idle";
	int opened = 0, ready = 0, fails = 0, inflight = 0;
	double t0 = now(), tend = t0 + opensecs;
	struct epoll_event evs[256];
	while (ready + fails < n && now() < tend) {
		while (inflight < 200 && opened < n) {
			if (conn_open()) inflight++; else fails++;
			opened++;
		}
		int k = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;
			uint64_t b;
			if (c->state == C_DONE) {	/* an idle tunnel closed or got data */
				ssize_t r = read(c->fd, rbuf, sizeof rbuf);
				if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
					epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
					ready--; fails++;
				}
				continue;
			}
			int rc = conn_event(c, evs[i].events, &b);
			if (rc > 0) { ready++; inflight--; }
			if (rc < 0) { fails++; inflight--; epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); }
		}
	}
	printf("ready=%d fails=%d secs=%.3f\n", ready, fails, now() - t0);
	fflush(stdout);
	/* hold until stdin closes (or a line arrives) or holdsecs */
	struct pollfd p = { .fd = 0, .events = POLLIN };
	double hend = now() + holdsecs;
	while (now() < hend) {
		int r = poll(&p, 1, 200);
		if (r > 0) break;
	}
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 5) {
		fprintf(stderr, "usage: wsload stream PORT NCONN SECS | upgrades PORT CONC SECS MAX | idle PORT N OPENSECS HOLDSECS\n");
		return 2;
	}
	ep = epoll_create1(0);
	port = atoi(argv[2]);
	if (strcmp(argv[1], "stream") == 0) return mode_stream(atoi(argv[3]), atof(argv[4]));
	if (strcmp(argv[1], "upgrades") == 0 && argc >= 6) return mode_upgrades(atoi(argv[3]), atof(argv[4]), atol(argv[5]));
	if (strcmp(argv[1], "idle") == 0 && argc >= 6) return mode_idle(atoi(argv[3]), atof(argv[4]), atof(argv[5]));
	fprintf(stderr, "wsload: bad arguments\n");
	return 2;
}
