/* bench/apinode.c - a fast fake nodeos API node for `make bench` (a test tool, not part of waxlb).
 *
 *   apinode PORT [PORT...]
 *
 * One epoll loop serving every port: HTTP/1.1 keep-alive (pipelining tolerated), every request head
 * answered with a realistic ~1.5 KB get_info JSON; `Connection: close` (or HTTP/1.0 without keep-alive)
 * closes after the answer. Request bodies are not expected (GET only). Prints "ready" when listening.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char BODY[] =
"{\"server_version\":\"8fd8f21f\",\"chain_id\":\"1064487b3cd1a897ce03ae5b6a865651747e2e152090f99c1d19d44e01aea5a4\","
"\"head_block_num\":331425163,\"last_irreversible_block_num\":331424833,"
"\"last_irreversible_block_id\":\"13c1294134f6b5b1a8c1b1de8a7b9a8a1f32e7f0b1c0e8a2d9e5c1b3a7f6e4d2\","
"\"head_block_id\":\"13c12a8b8e2f4c6a1b3d5e7f9a0c2e4f6a8b0d2e4f6a8c0e2a4c6e8f0a2c4e6a\","
"\"head_block_time\":\"2024-11-25T07:40:43.500\",\"head_block_producer\":\"eosphereiobp\","
"\"virtual_block_cpu_limit\":200000000,\"virtual_block_net_limit\":1048576000,\"block_cpu_limit\":200000,"
"\"block_net_limit\":1048576,\"server_version_string\":\"v5.0.3wax01\",\"fork_db_head_block_num\":331425163,"
"\"fork_db_head_block_id\":\"13c12a8b8e2f4c6a1b3d5e7f9a0c2e4f6a8b0d2e4f6a8c0e2a4c6e8f0a2c4e6a\","
"\"server_full_version_string\":\"v5.0.3wax01-8fd8f21f8b0b8a3a8a5e5e4d6f2c3b1a0e9d8c7b\","
"\"total_cpu_weight\":\"38170927634532512\",\"total_net_weight\":\"9470911346640170\","
"\"earliest_available_block_num\":1,\"last_irreversible_block_time\":\"2024-11-25T07:37:58.500\","
"\"fork_db_root_block_num\":331424833,\"fork_db_root_block_id\":\"13c1294134f6b5b1a8c1b1de8a7b9a8a1f32e7f0b1c0e8a2d9e5c1b3a7f6e4d2\","
"\"chain_head_block_num\":331425163,\"chain_head_block_id\":\"13c12a8b8e2f4c6a1b3d5e7f9a0c2e4f6a8b0d2e4f6a8c0e2a4c6e8f0a2c4e6a\","
"\"chain_head_block_time\":\"2024-11-25T07:40:43.500\",\"chain_head_block_producer\":\"eosphereiobp\","
"\"pending_block_num\":331425164,\"pending_block_producer\":\"guild.nefty\",\"node_role\":\"api\","
"\"api_features\":[\"chain_api\",\"db_size_api\",\"net_api\",\"producer_api_ro\",\"trace_api\"]}";

static char resp[4096], resp_close[4096];
static int resp_len, resp_close_len;

#define INBUF 8192
struct conn {
	int fd;
	int inlen;
	int close_after;
	char *out;	/* pending output (only when a write was short) */
	int outlen, outoff;
	char in[INBUF];
};

static int ep;

static void die(const char *m) { perror(m); exit(1); }

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->out);
	free(c);
}

static int has_token(const char *h, int n, const char *name, const char *tok)
{
	/* does header NAME (case-insensitive) contain TOK (case-insensitive) in head h[0..n) */
	size_t nl = strlen(name), tl = strlen(tok);
	for (int i = 0; i + (int)nl < n; i++) {
		if ((i == 0 || h[i - 1] == '\n') && strncasecmp(h + i, name, nl) == 0) {
			int j = i + (int)nl;
			int e = j;
			while (e < n && h[e] != '\r' && h[e] != '\n') e++;
			for (int k = j; k + (int)tl <= e; k++)
				if (strncasecmp(h + k, tok, tl) == 0) return 1;
		}
	}
	return 0;
}

/* queue bytes: write directly when nothing is pending, keep the rest */
static int conn_send(struct conn *c, const char *p, int n)
{
	if (c->outlen == c->outoff) {
		c->outlen = c->outoff = 0;
		while (n > 0) {
			ssize_t w = write(c->fd, p, n);
			if (w < 0) {
				if (errno == EINTR) continue;
				if (errno == EAGAIN) break;
				return -1;
			}
			p += w; n -= (int)w;
		}
		if (n == 0) return 0;
	}
	char *o = realloc(c->out, (size_t)(c->outlen + n));
	if (!o) return -1;
	c->out = o;
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

static int conn_flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (w < 0) {
			if (errno == EINTR) continue;
			if (errno == EAGAIN) return 0;
			return -1;
		}
		c->outoff += (int)w;
	}
	c->outlen = c->outoff = 0;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return c->close_after ? -1 : 0;
}

static int conn_read(struct conn *c)
{
	for (;;) {
		ssize_t r = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
		if (r == 0) return -1;
		if (r < 0) {
			if (errno == EINTR) continue;
			if (errno == EAGAIN) return 0;
			return -1;
		}
		c->inlen += (int)r;
		/* answer every complete head */
		for (;;) {
			char *e = memmem(c->in, c->inlen, "\r\n\r\n", 4);
			if (!e) break;
			int hl = (int)(e - c->in) + 4;
			int cl = has_token(c->in, hl, "connection:", "close");
			int http10 = hl > 16 && memmem(c->in, hl < 256 ? hl : 256, "HTTP/1.0\r\n", 10) != NULL;
			if (http10 && !has_token(c->in, hl, "connection:", "keep-alive")) cl = 1;
			if (conn_send(c, cl ? resp_close : resp, cl ? resp_close_len : resp_len) < 0) return -1;
			memmove(c->in, c->in + hl, c->inlen - hl);
			c->inlen -= hl;
			if (cl) {
				c->close_after = 1;
				if (c->outlen == c->outoff) return -1;
				return 0;
			}
		}
		if (c->inlen == INBUF) return -1;	/* head too large */
		if (r < INBUF / 2) return 0;
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) { fprintf(stderr, "usage: apinode PORT...\n"); return 2; }
	signal(SIGPIPE, SIG_IGN);
	int bl = (int)strlen(BODY);
	resp_len = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\n"
	    "Content-Length: %d\r\nContent-type: application/json\r\nServer: WebSocket++/0.7.0\r\n\r\n%s", bl, BODY);
	resp_close_len = snprintf(resp_close, sizeof resp_close, "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\n"
	    "Connection: close\r\nContent-Length: %d\r\nContent-type: application/json\r\nServer: WebSocket++/0.7.0\r\n\r\n%s",
	    bl, BODY);
	ep = epoll_create1(0);
	if (ep < 0) die("epoll");
	int nl = argc - 1;
	int *lfd = calloc(nl, sizeof *lfd);
	for (int i = 0; i < nl; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[i + 1])) };
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (void *)&a, sizeof a) < 0) die("bind");
		if (listen(fd, 4096) < 0) die("listen");
		lfd[i] = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		ev.data.u64 = (uint64_t)i | (1ULL << 63);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	printf("ready\n");
	fflush(stdout);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 & (1ULL << 63)) {
				int l = lfd[evs[i].data.u64 & 0xffff];
				for (int k = 0; k < 64; k++) {
					int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK);
					if (fd < 0) break;
					int one = 1;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct conn *c = calloc(1, sizeof *c);
					if (!c) { close(fd); continue; }
					c->fd = fd;
					struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			struct conn *c = evs[i].data.ptr;
			int rc = 0;
			if (evs[i].events & EPOLLOUT) rc = conn_flush(c);
			if (rc == 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->close_after)
				rc = conn_read(c);
			else if (rc == 0 && (evs[i].events & (EPOLLHUP | EPOLLERR)))
				rc = -1;
			if (rc < 0) conn_close(c);
		}
	}
}
