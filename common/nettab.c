/*
 * Network tables: sorted, merged ranges of the IPv4-mapped IPv6 space
 * searched by bisection (see nettab.h for the semantics).
 */
#include "bw_autoconf.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nettab.h"

struct nettab_range {
	unsigned char	 lo[16];	/* big-endian, inclusive */
	unsigned char	 hi[16];
};

struct bw_nettab {
	struct nettab_range	*ranges;
	size_t			 n;
};

static const unsigned char nettab_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* The range of one network, in the mapped space. */
static void
nettab_range_of(const struct bw_net *net, struct nettab_range *r)
{
	int	 plen, i;

	memset(r->lo, 0, sizeof(r->lo));
	if (net->family == AF_INET) {
		memcpy(r->lo, nettab_mapped, sizeof(nettab_mapped));
		memcpy(r->lo + 12, net->addr, 4);
		plen = 96 + net->prefixlen;
	} else {
		memcpy(r->lo, net->addr, 16);
		plen = net->prefixlen;
	}
	memcpy(r->hi, r->lo, 16);
	/* clear the host bits of lo (bw_net_parse refuses them, but a
	 * caller may build nets by hand) and set them in hi */
	for (i = plen; i < 128; i++) {
		r->lo[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
		r->hi[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	}
}

static int
nettab_range_cmp(const void *a, const void *b)
{
	return memcmp(((const struct nettab_range *)a)->lo,
	    ((const struct nettab_range *)b)->lo, 16);
}

/* a + 1 == b, or a >= b: the two ranges touch or overlap. */
static int
nettab_touches(const unsigned char *hi, const unsigned char *lo)
{
	unsigned char	 next[16];
	int		 i;

	if (memcmp(hi, lo, 16) >= 0)
		return 1;
	memcpy(next, hi, 16);
	for (i = 15; i >= 0; i--)
		if (++next[i] != 0)
			break;
	if (i < 0)		/* hi was all ones: nothing comes after */
		return 1;
	return memcmp(next, lo, 16) == 0;
}

struct bw_nettab *
bw_nettab_new(const struct bw_net *nets, size_t n)
{
	struct bw_nettab	*t;
	size_t			 i, out;

	if (n > BW_NETTAB_MAX)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (n == 0)
		return t;
	if ((t->ranges = calloc(n, sizeof(*t->ranges))) == NULL) {
		free(t);
		return NULL;
	}
	for (i = 0, out = 0; i < n; i++)
		if (nets[i].family == AF_INET || nets[i].family == AF_INET6)
			nettab_range_of(&nets[i], &t->ranges[out++]);
	qsort(t->ranges, out, sizeof(*t->ranges), nettab_range_cmp);
	/* merge: ranges sorted by lo, each absorbs the ones it touches */
	t->n = 0;
	for (i = 0; i < out; i++) {
		struct nettab_range	*last = t->n > 0 ?
					    &t->ranges[t->n - 1] : NULL;

		if (last != NULL && nettab_touches(last->hi, t->ranges[i].lo)) {
			if (memcmp(t->ranges[i].hi, last->hi, 16) > 0)
				memcpy(last->hi, t->ranges[i].hi, 16);
			continue;
		}
		if (t->n != i)
			t->ranges[t->n] = t->ranges[i];
		t->n++;
	}
	return t;
}

void
bw_nettab_free(struct bw_nettab *t)
{
	if (t == NULL)
		return;
	free(t->ranges);
	free(t);
}

size_t
bw_nettab_ranges(const struct bw_nettab *t)
{
	return t != NULL ? t->n : 0;
}

int
bw_nettab_match(const struct bw_nettab *t, const struct sockaddr *sa)
{
	unsigned char	 a[16];
	size_t		 lo, hi, mid;

	if (t == NULL || t->n == 0 || sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(a, nettab_mapped, sizeof(nettab_mapped));
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6)
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		return 0;
	/* the last range whose lo <= a */
	lo = 0;
	hi = t->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(t->ranges[mid].lo, a, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	return memcmp(a, t->ranges[lo - 1].hi, 16) <= 0;
}
