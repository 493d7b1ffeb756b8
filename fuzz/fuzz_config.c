/* cfg_parse_string on whole files, then cfg_free (leaks are findings).
 * Host names never reach DNS: getaddrinfo is replaced below. */
#include <netdb.h>
#include "fuzz.h"

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	(void)node; (void)service; (void)hints;
	*res = NULL;
	return EAI_NONAME;
}

/* glibc's regcomp takes memory exponential in stacked quantifiers ("p++++++++++++++++++++++++" needs
 * 3 GB): a known glibc property, absent from the shipped musl build (musl's TRE compiles it in
 * microseconds). Such inputs are skipped so the fuzzer keeps looking for waxlb's own bugs. */
static int
stacked_quantifiers(const uint8_t *d, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		run = (d[i] == '+' || d[i] == '*' || d[i] == '?' || d[i] == '}') ? run + 1 : 0;
		if (run >= 3)
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *text;
	struct config *c;

	if (stacked_quantifiers(d, n))
		return 0;
	text = malloc(n + 1);
	memcpy(text, d, n);
	text[n] = '\0';
	c = cfg_parse_string(text, "fuzz.cfg", fz_devnull());
	if (c != NULL)
		cfg_free(c);
	free(text);
	return 0;
}
