/* bench/shipnode.c - a fast fake State-History (SHIP) websocket node for `make bench` (a test tool).
 *
 *   shipnode PORT [PORT...]
 *
 * One epoll loop serving every port. On a websocket upgrade (Sec-WebSocket-Accept computed with
 * BearSSL's SHA-1) it answers 101 and sends the ABI as one ~30 KB TEXT frame, then, by request path:
 *   GET /stream...   streams 256 KiB BINARY frames as fast as the socket takes them
 *   anything else    stays idle (client bytes are read and dropped)
 * until the client closes. Prints "ready" when listening.
 */
#define _GNU_SOURCE
#include <bearssl_hash.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME (256 * 1024)
#define ABI_LEN 30000
static unsigned char *frame;	/* 10-byte header + 256 KiB payload */
static int frame_len;
static unsigned char abi_frame[4 + ABI_LEN];

enum { S_HEAD, S_SEND, S_STREAM, S_IDLE };
struct conn {
	int fd, state, stream, inlen;
	char *out;		/* 101 + ABI frame, while sending */
	int outlen, outoff;
	int foff;		/* offset in the stream frame */
	char in[4096];
};
static int ep;

static void die(const char *m) { perror(m); exit(1); }

static void b64(const unsigned char *in, int n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int o = 0;
	for (int i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = 0;
}

static void set_events(struct conn *c, uint32_t e)
{
	struct epoll_event ev = { .events = e, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->out);
	free(c);
}

/* -1: close */
static int do_write(struct conn *c)
{
	if (c->state == S_SEND) {
		while (c->outoff < c->outlen) {
			ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
			if (w < 0) {
				if (errno == EINTR) continue;
				if (errno == EAGAIN) { set_events(c, EPOLLIN | EPOLLOUT); return 0; }
				return -1;
			}
			c->outoff += (int)w;
		}
		free(c->out);
		c->out = NULL;
		c->state = c->stream ? S_STREAM : S_IDLE;
		if (!c->stream) { set_events(c, EPOLLIN); return 0; }
		set_events(c, EPOLLIN | EPOLLOUT);
	}
	if (c->state == S_STREAM) {
		for (int k = 0; k < 8; k++) {	/* bounded per wakeup, level-triggered */
			ssize_t w = write(c->fd, frame + c->foff, frame_len - c->foff);
			if (w < 0) {
				if (errno == EINTR) continue;
				if (errno == EAGAIN) return 0;
				return -1;
			}
			c->foff += (int)w;
			if (c->foff == frame_len) c->foff = 0;
		}
	}
	return 0;
}

static int do_read(struct conn *c)
{
	for (;;) {
		if (c->state != S_HEAD) {
			char junk[4096];
			ssize_t r = read(c->fd, junk, sizeof junk);
			if (r == 0) return -1;
			if (r < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
			continue;
		}
		ssize_t r = read(c->fd, c->in + c->inlen, sizeof c->in - 1 - c->inlen);
		if (r == 0) return -1;
		if (r < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		c->inlen += (int)r;
		c->in[c->inlen] = 0;
		char *e = strstr(c->in, "\r\n\r\n");
		if (!e) {
			if (c->inlen >= (int)sizeof c->in - 1) return -1;
			continue;
		}
		char *k = strcasestr(c->in, "\nsec-websocket-key:");
		if (!k) return -1;
		k += 19;
		while (*k == ' ' || *k == '\t') k++;
		char *ke = k;
		while (*ke && *ke != '\r' && *ke != ' ') ke++;
		br_sha1_context sc;
		unsigned char dig[20];
		br_sha1_init(&sc);
		br_sha1_update(&sc, k, (size_t)(ke - k));
		br_sha1_update(&sc, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
		br_sha1_out(&sc, dig);
		char acc[32];
		b64(dig, 20, acc);
		c->stream = strncmp(c->in, "GET /stream", 11) == 0;
		char head[256];
		int hl = snprintf(head, sizeof head, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		    "Upgrade: websocket\r\nSec-WebSocket-Accept: %s\r\nServer: WebSocket++/0.7.0\r\n\r\n", acc);
		c->out = malloc((size_t)hl + sizeof abi_frame);
		if (!c->out) return -1;
		memcpy(c->out, head, hl);
		memcpy(c->out + hl, abi_frame, sizeof abi_frame);
		c->outlen = hl + (int)sizeof abi_frame;
		c->outoff = 0;
		c->state = S_SEND;
		return do_write(c);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) { fprintf(stderr, "usage: shipnode PORT...\n"); return 2; }
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
	frame_len = 10 + FRAME;
	frame = malloc(frame_len);
	frame[0] = 0x82; frame[1] = 127;
	for (int i = 0; i < 8; i++) frame[2 + i] = (unsigned char)((uint64_t)FRAME >> (56 - 8 * i));
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < FRAME; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; frame[10 + i] = (unsigned char)x; }
	abi_frame[0] = 0x81; abi_frame[1] = 126; abi_frame[2] = ABI_LEN >> 8; abi_frame[3] = ABI_LEN & 255;
	{
		static const char *words[] = { "{\"name\":\"", "account\",", "\"fields\":[", "{\"name\":\"block_num\",\"type\":\"uint32\"},",
			"{\"name\":\"block_id\",\"type\":\"checksum256\"},", "\"types\":[],", "\"structs\":[", "contract_row_v0\",",
			"{\"name\":\"payer\",\"type\":\"name\"},", "\"variants\":[", "\"tables\":[", "]},", "{\"name\":\"value\",\"type\":\"bytes\"}," };
		int o = 0, w = 0;
		const char *pre = "{\"version\":\"eosio::abi/1.1\",\"structs\":[";
		memcpy(abi_frame + 4, pre, strlen(pre));
		o = (int)strlen(pre);
		while (o < ABI_LEN) {
			const char *s = words[w++ % 13];
			int l = (int)strlen(s);
			if (o + l > ABI_LEN) l = ABI_LEN - o;
			memcpy(abi_frame + 4 + o, s, l);
			o += l;
		}
	}
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
		struct epoll_event ev = { .events = EPOLLIN };
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
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) rc = do_read(c);
			if (rc == 0 && (evs[i].events & EPOLLOUT)) rc = do_write(c);
			if (rc < 0) conn_close(c);
		}
	}
}
