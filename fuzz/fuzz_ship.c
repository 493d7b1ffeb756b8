/* ship_status_parse and ship_blocks_parse (SHIP binary results). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct ship_status st;
	const char *why = NULL;
	unsigned char *b = (unsigned char *)fz_dup(d, n);
	uint32_t num = 0;
	int has = -1, r;

	r = ship_status_parse(b, n, &st, &why);
	FZ_ASSERT(r == 0 || r == -1);
	if (r < 0)
		FZ_ASSERT(why != NULL);
	else
		FZ_ASSERT(n >= 89);
	why = NULL;
	r = ship_blocks_parse(b, n, &has, &num, &why);
	FZ_ASSERT(r == 0 || r == -1);
	if (r < 0)
		FZ_ASSERT(why != NULL);
	else
		FZ_ASSERT(has == 0 || has == 1);
	free(b);
	return 0;
}
