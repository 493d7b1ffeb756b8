/* chain_nodeos_info_parse (get_info JSON). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct nodeos_info info;
	const char *why = NULL;
	char *b = fz_dup(d, n);
	int r = chain_nodeos_info_parse(b, n, &info, &why);

	FZ_ASSERT(r == 0 || r == -1);
	if (r < 0)
		FZ_ASSERT(why != NULL);
	else {
		FZ_ASSERT(memchr(info.chain_id, '\0', sizeof(info.chain_id)) != NULL);
		FZ_ASSERT(memchr(info.server_version, '\0', sizeof(info.server_version)) != NULL);
	}
	free(b);
	return 0;
}
