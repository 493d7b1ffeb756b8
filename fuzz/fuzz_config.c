/* config_parse_string on whole files, then config_free (leaks are findings).
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

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *text = malloc(n + 1);
	struct config *c;

	memcpy(text, d, n);
	text[n] = '\0';
	c = config_parse_string(text, "fuzz.cfg", fz_devnull());
	if (c != NULL)
		config_free(c);
	free(text);
	return 0;
}
