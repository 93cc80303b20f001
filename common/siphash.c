/*
 * SipHash, from the description in Aumasson and Bernstein's paper
 * (section 2): the state is four 64-bit words initialised from the key
 * and four constants; each 8-byte little-endian message word m is mixed
 * in as v3 ^= m, c SipRounds, v0 ^= m; the last word holds the remaining
 * bytes and, in its top byte, the message length mod 256; finalisation
 * is v2 ^= 0xff, d SipRounds, and the result is v0 ^ v1 ^ v2 ^ v3.
 *
 * Pure: no I/O, no globals.
 */
#include "bw_autoconf.h"

#include <string.h>

#include "siphash.h"

#define ROTL64(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

/* Little-endian load whatever the host's byte order. */
static uint64_t
sip_load64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56;
}

/* One SipRound on the four words. */
#define SIP_ROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32);	\
	v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32);	\
} while (0)

/* "somepseudorandomlygeneratedbytes" */
#define SIP_C0	0x736f6d6570736575ULL
#define SIP_C1	0x646f72616e646f6dULL
#define SIP_C2	0x6c7967656e657261ULL
#define SIP_C3	0x7465646279746573ULL

static inline void
sip_rounds(struct bw_siphash *s, int n)
{
	uint64_t	 v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3;

	while (n-- > 0)
		SIP_ROUND(v0, v1, v2, v3);
	s->v0 = v0;
	s->v1 = v1;
	s->v2 = v2;
	s->v3 = v3;
}

static inline void
sip_word(struct bw_siphash *s, uint64_t m)
{
	s->v3 ^= m;
	sip_rounds(s, s->crounds);
	s->v0 ^= m;
}

void
bw_siphash_init(struct bw_siphash *s, const uint8_t key[BW_SIPHASH_KEY_LEN],
    int crounds, int drounds)
{
	uint64_t	 k0 = sip_load64(key), k1 = sip_load64(key + 8);

	s->v0 = k0 ^ SIP_C0;
	s->v1 = k1 ^ SIP_C1;
	s->v2 = k0 ^ SIP_C2;
	s->v3 = k1 ^ SIP_C3;
	s->tail = 0;
	s->len = 0;
	s->crounds = crounds;
	s->drounds = drounds;
}

void
bw_siphash_update(struct bw_siphash *s, const void *data, size_t n)
{
	const uint8_t	*p = data;
	size_t		 have = s->len & 7;

	s->len += n;
	/* fill the partial word first */
	if (have != 0) {
		while (n > 0 && have < 8) {
			s->tail |= (uint64_t)*p++ << (8 * have++);
			n--;
		}
		if (have < 8)
			return;
		sip_word(s, s->tail);
		s->tail = 0;
	}
	for (; n >= 8; n -= 8, p += 8)
		sip_word(s, sip_load64(p));
	for (have = 0; have < n; have++)
		s->tail |= (uint64_t)p[have] << (8 * have);
}

uint64_t
bw_siphash_final(struct bw_siphash *s)
{
	sip_word(s, s->tail | (uint64_t)(s->len & 0xff) << 56);
	s->v2 ^= 0xff;
	sip_rounds(s, s->drounds);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

void
bw_siphash_key_words(const uint8_t key[BW_SIPHASH_KEY_LEN], uint64_t w[2])
{
	w[0] = sip_load64(key);
	w[1] = sip_load64(key + 8);
}

/* m into the state: one compression round (c = 1). */
#define SIP13_WORD(m) do {						\
	v3 ^= (m);							\
	SIP_ROUND(v0, v1, v2, v3);					\
	v0 ^= (m);							\
} while (0)

uint64_t
bw_siphash13_parts(const uint64_t key[2], const void *const *part,
    const size_t *len, unsigned int n)
{
	uint64_t	 v0 = key[0] ^ SIP_C0, v1 = key[1] ^ SIP_C1;
	uint64_t	 v2 = key[0] ^ SIP_C2, v3 = key[1] ^ SIP_C3;
	uint64_t	 m, tail = 0;
	const uint8_t	*p;
	size_t		 left, total = 0;
	unsigned int	 i, nt = 0;	/* bytes in tail */

	for (i = 0; i < n; i++) {
		p = part[i];
		left = len[i];
		total += left;
		/* finish the word that an earlier piece began */
		while (nt != 0 && left > 0) {
			tail |= (uint64_t)*p++ << (8 * nt);
			left--;
			if (++nt == 8) {
				SIP13_WORD(tail);
				tail = 0;
				nt = 0;
			}
		}
		for (; left >= 8; left -= 8, p += 8) {
			m = sip_load64(p);
			SIP13_WORD(m);
		}
		if (left == 0)
			continue;
		/* here nt == 0: the last bytes start a word */
		nt = (unsigned int)left;
		switch (left) {
		case 7:
			tail |= (uint64_t)p[6] << 48;
			/* FALLTHROUGH */
		case 6:
			tail |= (uint64_t)p[5] << 40;
			/* FALLTHROUGH */
		case 5:
			tail |= (uint64_t)p[4] << 32;
			/* FALLTHROUGH */
		case 4:
			tail |= (uint64_t)p[3] << 24;
			/* FALLTHROUGH */
		case 3:
			tail |= (uint64_t)p[2] << 16;
			/* FALLTHROUGH */
		case 2:
			tail |= (uint64_t)p[1] << 8;
			/* FALLTHROUGH */
		default:
			tail |= (uint64_t)p[0];
		}
	}
	m = tail | (uint64_t)(total & 0xff) << 56;
	SIP13_WORD(m);
	v2 ^= 0xff;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
bw_siphash24(const uint8_t key[BW_SIPHASH_KEY_LEN], const void *data,
    size_t n)
{
	struct bw_siphash	 s;

	bw_siphash_init(&s, key, 2, 4);
	bw_siphash_update(&s, data, n);
	return bw_siphash_final(&s);
}
