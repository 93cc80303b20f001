/*
 * SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a 64-bit keyed hash of a byte string.  Without the 128-bit key
 * nobody can compute which strings land in the same hash table bucket, so
 * a peer cannot aim its keys at one chain.  Written from the paper's
 * description; the rounds are parameters: SipHash-2-4 is the paper's
 * recommendation (and its published test vectors), SipHash-1-3 the
 * cheaper variant hash tables commonly use (Python, Rust) and ours use.
 *
 * Streaming: init, update over any number of pieces, final; the result
 * is the hash of the pieces' concatenation.
 */
#ifndef BW_SIPHASH_H
#define BW_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define BW_SIPHASH_KEY_LEN	16	/* bytes of key */

struct bw_siphash {
	uint64_t	 v0, v1, v2, v3;
	uint64_t	 tail;		/* bytes not yet in a full word */
	size_t		 len;		/* bytes so far */
	int		 crounds;	/* rounds per message word */
	int		 drounds;	/* rounds of finalisation */
};

/* The key's two words, as bw_siphash13_parts takes them. */
void	 bw_siphash_key_words(const uint8_t key[BW_SIPHASH_KEY_LEN],
	    uint64_t words[2]);
void	 bw_siphash_init(struct bw_siphash *,
	    const uint8_t key[BW_SIPHASH_KEY_LEN], int crounds, int drounds);
void	 bw_siphash_update(struct bw_siphash *, const void *, size_t);
uint64_t bw_siphash_final(struct bw_siphash *);

/*
 * One-shot SipHash-1-3 of the concatenation of n pieces, the key as two
 * little-endian words: the hash tables' fast path (unrolled, no state).
 */
uint64_t bw_siphash13_parts(const uint64_t key[2], const void *const *part,
	    const size_t *len, unsigned int n);

/* One-shot SipHash-2-4 (tests against the paper's vectors). */
uint64_t bw_siphash24(const uint8_t key[BW_SIPHASH_KEY_LEN], const void *,
	    size_t);

#endif
