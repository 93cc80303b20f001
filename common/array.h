/*
 * The growable array of every process: elements of one size fixed at
 * init, kept contiguous, capacity doubled as needed from
 * BW_ARRAY_CAP_MIN, up to a maximum count given at init (at most
 * BW_ARRAY_MAX, and never more bytes than fit in a size_t).  Every
 * operation that may fail says so with -1 and errno (ENOMEM, ENOSPC past
 * the maximum, ERANGE for an index out of range); the compiler makes the
 * caller look at it.  Pointers into the array are valid only until the
 * next operation that adds an element.
 *
 * A zeroed struct bw_array is not ready: use bw_array_init or
 * BW_ARRAY_INITIALIZER.  Not thread-safe.
 */
#ifndef BW_ARRAY_H
#define BW_ARRAY_H

#include <stddef.h>

#define BW_ARRAY_MAX		((size_t)1 << 28)	/* elements of one
					   array */
#define BW_ARRAY_CAP_MIN	8	/* first allocation, in elements */

#ifndef BW_MUST_CHECK
#define BW_MUST_CHECK	__attribute__((warn_unused_result))
#endif

struct bw_array {
	unsigned char	*v;
	size_t		 n;		/* elements in use */
	size_t		 cap;		/* elements allocated */
	size_t		 elsize;
	size_t		 max;		/* elements at most */
};

#define BW_ARRAY_INITIALIZER(elsize, max) { NULL, 0, 0, (elsize), (max) }

/* elsize > 0, max 1..BW_ARRAY_MAX, elsize * max within a size_t (else
 * fatalx: a caller's mistake, not a run-time condition). */
void	 bw_array_init(struct bw_array *, size_t elsize, size_t max);
void	 bw_array_free(struct bw_array *);	/* back to empty */
void	 bw_array_clear(struct bw_array *);	/* count 0, memory kept */

/* Room for n elements in all. */
int	 bw_array_reserve(struct bw_array *, size_t n) BW_MUST_CHECK;
/* Copy el (NULL: zeroes) in at the end / at index i (0..count). */
int	 bw_array_push(struct bw_array *, const void *el) BW_MUST_CHECK;
int	 bw_array_insert(struct bw_array *, size_t i, const void *el)
	    BW_MUST_CHECK;
/* Take out the last element / the one at i, copied to out unless NULL. */
int	 bw_array_pop(struct bw_array *, void *out) BW_MUST_CHECK;
int	 bw_array_remove(struct bw_array *, size_t i, void *out)
	    BW_MUST_CHECK;
/* The element at i, or NULL when i >= count. */
void	*bw_array_at(const struct bw_array *, size_t i);
size_t	 bw_array_count(const struct bw_array *);

#endif
