/* chk_agent_parse (agent-check reply line). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct agent_reply a;
	char *b = fz_dup(d, n);
	int r = chk_agent_parse(b, n, &a);

	(void)r;
	FZ_ASSERT(memchr(a.desc, '\0', sizeof(a.desc)) != NULL);
	FZ_ASSERT(a.weight_pct >= -1 && a.maxconn >= -1);
	free(b);
	return 0;
}
