/* crt_load on a PEM file: the input is written to a memfd and loaded
 * through /proc/self/fd/N. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static int fd = -1;
	static char path[64];
	struct tls_cert c;
	char err[256];
	int r;

	if (fd < 0) {
		fd = memfd_create("pem", 0);
		FZ_ASSERT(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	FZ_ASSERT(ftruncate(fd, 0) == 0);
	FZ_ASSERT(pwrite(fd, d, n, 0) == (ssize_t)n);
	err[0] = '\0';
	r = crt_load(path, &c, err, sizeof(err));
	FZ_ASSERT(r == 0 || r == -1);
	if (r == 0) {
		FZ_ASSERT(c.chain_len > 0);
		crt_match(&c, "wax.eosphere.io");
		crt_free(&c);
	} else
		FZ_ASSERT(err[0] != '\0');
	return 0;
}
