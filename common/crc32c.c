/*
 * CRC-32C, reflected polynomial 0x82F63B78.  x86-64 has an instruction for
 * it (SSE4.2); elsewhere, or on an older CPU, a byte-wise table.  Body
 * pieces are checked on every read, so the fast path matters.
 */
#include "bw_autoconf.h"

#include <string.h>

#include "crc32c.h"

#define CRC32C_POLY	0x82F63B78u

/*
 * The instruction takes 3 cycles but can start one per cycle: three
 * independent runs over neighbouring stripes of CRC32C_LANE bytes keep it
 * busy, and the stripes' CRCs are joined with a table that advances a CRC
 * over CRC32C_LANE zero bytes (the CRC is linear: crc(a || b) =
 * zeros(crc(a), |b|) ^ crc0(b)).
 */
#define CRC32C_LANE	1024

static uint32_t	crc32c_table[256];
static uint32_t	crc32c_lane_shift[4][256];	/* over CRC32C_LANE zeros */
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

/* The register c after CRC32C_LANE zero bytes, bit by bit (start-up). */
static uint32_t
crc32c_zeros_slow(uint32_t c)
{
	int	 i;

	for (i = 0; i < CRC32C_LANE; i++)
		c = crc32c_table[c & 0xff] ^ (c >> 8);
	return c;
}

static void
crc32c_lane_init(void)
{
	uint32_t	 basis[32];
	int		 b, k, v;

	for (b = 0; b < 32; b++)
		basis[b] = crc32c_zeros_slow(1u << b);
	for (k = 0; k < 4; k++)
		for (v = 0; v < 256; v++) {
			crc32c_lane_shift[k][v] = 0;
			for (b = 0; b < 8; b++)
				if (v & (1 << b))
					crc32c_lane_shift[k][v] ^=
					    basis[8 * k + b];
		}
}

static uint32_t
crc32c_lane_zeros(uint32_t c)
{
	return crc32c_lane_shift[0][c & 0xff] ^
	    crc32c_lane_shift[1][(c >> 8) & 0xff] ^
	    crc32c_lane_shift[2][(c >> 16) & 0xff] ^
	    crc32c_lane_shift[3][c >> 24];
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2")))
static uint32_t
crc32c_hard(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t	 c = crc, c1, c2, w, w1, w2;
	size_t		 i;

	while (len >= 3 * CRC32C_LANE) {
		c1 = c2 = 0;
		for (i = 0; i < CRC32C_LANE; i += 8) {
			memcpy(&w, p + i, sizeof(w));
			memcpy(&w1, p + CRC32C_LANE + i, sizeof(w1));
			memcpy(&w2, p + 2 * CRC32C_LANE + i, sizeof(w2));
			c = __builtin_ia32_crc32di(c, w);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
		}
		c = crc32c_lane_zeros((uint32_t)c) ^ (uint32_t)c1;
		c = crc32c_lane_zeros((uint32_t)c) ^ (uint32_t)c2;
		p += 3 * CRC32C_LANE;
		len -= 3 * CRC32C_LANE;
	}
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
		crc32c_lane_init();
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
