/*
 * The growable array (array.h says what it promises).  Every size is
 * computed from counts that init proved cannot overflow: max * elsize
 * fits in a size_t, and no count ever passes max.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "array.h"

void
bw_array_init(struct bw_array *a, size_t elsize, size_t max)
{
	if (elsize == 0 || max == 0 || max > BW_ARRAY_MAX ||
	    max > SIZE_MAX / elsize)
		fatalx("array: element size %zu, max %zu out of bounds",
		    elsize, max);
	memset(a, 0, sizeof(*a));
	a->elsize = elsize;
	a->max = max;
}

void
bw_array_free(struct bw_array *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

void
bw_array_clear(struct bw_array *a)
{
	a->n = 0;
}

int
bw_array_reserve(struct bw_array *a, size_t n)
{
	unsigned char	*v;
	size_t		 cap;

	if (n <= a->cap)
		return 0;
	if (n > a->max) {
		errno = ENOSPC;
		return -1;
	}
	cap = a->cap != 0 ? a->cap : BW_ARRAY_CAP_MIN;
	while (cap < n)
		cap = cap > a->max / 2 ? a->max : cap * 2;
	if (cap > a->max)
		cap = a->max;
	/* cap <= max and max * elsize fits (init) */
	if ((v = realloc(a->v, cap * a->elsize)) == NULL)
		return -1;
	a->v = v;
	a->cap = cap;
	return 0;
}

/* Room for one more: double the capacity (up to max). */
static int
array_grow(struct bw_array *a)
{
	if (a->n < a->cap)
		return 0;
	if (a->n >= a->max) {
		errno = ENOSPC;
		return -1;
	}
	return bw_array_reserve(a, a->n + 1);
}

int
bw_array_push(struct bw_array *a, const void *el)
{
	return bw_array_insert(a, a->n, el);
}

int
bw_array_insert(struct bw_array *a, size_t i, const void *el)
{
	unsigned char	*p;

	if (i > a->n) {
		errno = ERANGE;
		return -1;
	}
	if (array_grow(a) == -1)
		return -1;
	p = a->v + i * a->elsize;
	if (i < a->n)
		memmove(p + a->elsize, p, (a->n - i) * a->elsize);
	if (el != NULL)
		memcpy(p, el, a->elsize);
	else
		memset(p, 0, a->elsize);
	a->n++;
	return 0;
}

int
bw_array_pop(struct bw_array *a, void *out)
{
	if (a->n == 0) {
		errno = ERANGE;
		return -1;
	}
	return bw_array_remove(a, a->n - 1, out);
}

int
bw_array_remove(struct bw_array *a, size_t i, void *out)
{
	unsigned char	*p;

	if (i >= a->n) {
		errno = ERANGE;
		return -1;
	}
	p = a->v + i * a->elsize;
	if (out != NULL)
		memcpy(out, p, a->elsize);
	if (i + 1 < a->n)
		memmove(p, p + a->elsize, (a->n - i - 1) * a->elsize);
	a->n--;
	return 0;
}

void *
bw_array_at(const struct bw_array *a, size_t i)
{
	if (i >= a->n)
		return NULL;
	return a->v + i * a->elsize;
}

size_t
bw_array_count(const struct bw_array *a)
{
	return a->n;
}
