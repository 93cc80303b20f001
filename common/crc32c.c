/*
 * CRC-32C, reflected polynomial 0x82F63B78.  x86-64 has an instruction for
 * it (SSE4.2); elsewhere, or on an older CPU, a byte-wise table.  Body
 * pieces are checked on every read, so the fast path matters.
 */
#include "bw_autoconf.h"

#include <string.h>

#include "crc32c.h"

#define CRC32C_POLY	0x82F63B78u

static uint32_t	crc32c_table[256];
static int	crc32c_ready;	/* 0 unknown, 1 table, 2 hardware */

static void
crc32c_table_init(void)
{
	uint32_t	 c;
	int		 i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_table[i] = c;
	}
}

static uint32_t
crc32c_soft(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len-- > 0)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2")))
static uint32_t
crc32c_hard(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t	 c = crc, w;

	while (len >= 8) {
		memcpy(&w, p, sizeof(w));
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t
bw_crc32c(uint32_t crc, const void *data, size_t len)
{
	/* the first call settles it; queued makes it in qseg_open(), before
	 * its other threads exist */
	if (crc32c_ready == 0) {
		crc32c_table_init();
#if defined(__x86_64__) && defined(__GNUC__)
		__builtin_cpu_init();
		crc32c_ready = __builtin_cpu_supports("sse4.2") ? 2 : 1;
#else
		crc32c_ready = 1;
#endif
	}
	crc = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
	if (crc32c_ready == 2)
		return ~crc32c_hard(crc, data, len);
#endif
	return ~crc32c_soft(crc, data, len);
}
