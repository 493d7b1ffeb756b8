/*
 * walk_trace.c - function-entry tracer for test/walk.py (not part of waxlb).
 *
 * Linked into test/waxlb-walk, a -O0 -finstrument-functions build of
 * waxlb.c: gcc calls __cyg_profile_func_enter/exit around every function of
 * waxlb.c (and of the static inline functions of waxlb.h).  Each call
 * appends one 16-byte record to the file named by $WAXLB_TRACE (nothing is
 * written when it is unset), with one write(2) per record and no buffering,
 * so the file size is always at a record boundary that walk.py can slice at.
 *
 * The event loop's wait is wrapped with ld --wrap (only for the symbols the
 * object really uses; the Makefile checks with nm and defines WRAP_poll /
 * WRAP_epoll_wait): after the real call returns, a record marks the start of
 * a new loop turn, with the return value and the timeout.
 *
 * Record: uint32 kind, int32 val, uint64 addr (native byte order)
 *   kind 1  function entry   addr = function address
 *   kind 2  function exit    addr = function address
 *   kind 3  poll() returned  val = return value, addr = timeout (ms, as int64)
 *   kind 4  epoll_wait() returned, same fields
 *
 * The binary is linked -no-pie, so addresses are the link-time ones that
 * addr2line understands.  errno is preserved across every hook.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef WRAP_epoll_wait
#include <sys/epoll.h>
#endif

#define NOINST __attribute__((no_instrument_function))

struct walk_rec {
	uint32_t	kind;
	int32_t		val;
	uint64_t	addr;
};

static int trace_fd = -2;		/* -2: not opened yet, -1: off */

NOINST static int
trace_open(void)
{
	const char *path;
	int fd, hi;

	trace_fd = -1;
	path = getenv("WAXLB_TRACE");
	if (path == NULL || *path == '\0')
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	/* out of the way of waxlb's own fd numbers (its fd table is indexed
	 * by fd; a low fd taken here would shift every socket by one) */
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 900);
	if (hi >= 0) {
		close(fd);
		fd = hi;
	}
	trace_fd = fd;
	return fd;
}

NOINST static void
trace_put(uint32_t kind, int32_t val, uint64_t addr)
{
	struct walk_rec r;
	int saved = errno;

	if (trace_fd == -2)
		trace_open();
	if (trace_fd >= 0) {
		r.kind = kind;
		r.val = val;
		r.addr = addr;
		if (write(trace_fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
			/* a short or failed write would misalign the file: stop */
			close(trace_fd);
			trace_fd = -1;
		}
	}
	errno = saved;
}

NOINST void
__cyg_profile_func_enter(void *fn, void *site)
{
	(void)site;
	trace_put(1, 0, (uint64_t)(uintptr_t)fn);
}

NOINST void
__cyg_profile_func_exit(void *fn, void *site)
{
	(void)site;
	trace_put(2, 0, (uint64_t)(uintptr_t)fn);
}

#ifdef WRAP_poll
int __real_poll(struct pollfd *fds, nfds_t nfds, int timeout);

NOINST int
__wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	int n = __real_poll(fds, nfds, timeout);
	int saved = errno;

	trace_put(3, n, (uint64_t)(int64_t)timeout);
	errno = saved;
	return n;
}
#endif

#ifdef WRAP_epoll_wait
int __real_epoll_wait(int epfd, struct epoll_event *ev, int maxev, int timeout);

NOINST int
__wrap_epoll_wait(int epfd, struct epoll_event *ev, int maxev, int timeout)
{
	int n = __real_epoll_wait(epfd, ev, maxev, timeout);
	int saved = errno;

	trace_put(4, n, (uint64_t)(int64_t)timeout);
	errno = saved;
	return n;
}
#endif
