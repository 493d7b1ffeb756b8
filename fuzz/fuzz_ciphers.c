/* ciph_select (OpenSSL cipher lists) and ciph_suites13; inputs are cut
 * at CFG_LINE_MAX, the longest configuration line. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct ciph_sel s;
	unsigned char seen[CIPH_COUNT] = { 0 };
	char *b, nm[64], bad[48];
	int r, i, j;

	if (n > CFG_LINE_MAX)
		n = CFG_LINE_MAX;
	b = malloc(n + 1);
	memcpy(b, d, n);
	b[n] = 0;
	r = ciph_select(b, &s);
	FZ_ASSERT(memchr(s.err, 0, sizeof(s.err)) && memchr(s.warn, 0, sizeof(s.warn)));
	FZ_ASSERT(r >= -1 && r <= CIPH_BEAR_MAX);
	if (r < 0)
		FZ_ASSERT(s.err[0] != 0);
	else {
		FZ_ASSERT(r == s.nbear && s.nall > 0 && s.nall <= CIPH_COUNT);
		FZ_ASSERT(r > 0 || s.err[0] != 0);
		FZ_ASSERT(s.seclevel >= 0 && s.seclevel <= 5);
		for (i = 0; i < s.nall; i++) {	/* within the table, each once */
			FZ_ASSERT(s.all[i] < CIPH_COUNT && !seen[s.all[i]]);
			FZ_ASSERT(s.named[i] <= 1);
			seen[s.all[i]] = 1;
			FZ_ASSERT(ciph_name(s.all[i], nm, sizeof(nm))[0] != 0);
		}
		for (i = j = 0; i < s.nbear; i++, j++) {	/* a subsequence */
			FZ_ASSERT(ciph_bear(s.bear[i]));
			while (j < s.nall && s.all[j] != s.bear[i])
				j++;
			FZ_ASSERT(j < s.nall);
		}
	}
	if (ciph_suites13(b, bad, sizeof(bad)) < 0)
		FZ_ASSERT(memchr(bad, 0, sizeof(bad)) != NULL);
	free(b);
	return 0;
}
