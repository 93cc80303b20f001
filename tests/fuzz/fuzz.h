/*
 * What every fuzz harness in tests/fuzz/ shares.  A harness is one file
 * exposing LLVMFuzzerTestOneInput(); it is linked either with libFuzzer
 * (configure --enable-fuzzing, tools/fuzz.sh) or with replay.c, which
 * runs it on the committed corpus as an ordinary test of `make check`.
 *
 * Rules for a harness: it keeps no state from one input to the next
 * (what it sets up once is read-only afterwards), frees everything it
 * took, and bounds its own work (FUZZ_INPUT_MAX and the limits of the
 * code under test), so that a slow input is the code's fault, not the
 * harness's.  A broken property is reported with FUZZ_CHECK, which
 * aborts: libFuzzer saves the input, replay reports the file.
 */
#ifndef BW_FUZZ_H
#define BW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Inputs are cut here: every harness's work is bounded by its input. */
#define FUZZ_INPUT_MAX	(256 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A property the code under test must keep, checked in every build. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: fuzz check failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* Reading the input from the front: control bytes, then the payload. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 n;
};

/* The next byte, or 0 once the input is used up. */
static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t	 c;

	if (in->n == 0)
		return 0;
	c = *in->p++;
	in->n--;
	return c;
}

/* A small deterministic generator for piece sizes (xorshift32). */
static inline uint32_t
fuzz_rand(uint32_t *state)
{
	uint32_t	 x = *state != 0 ? *state : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

#endif
