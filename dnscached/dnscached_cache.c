/*
 * The answer cache: (qtype, query flags, name) -> answer, kept for its
 * TTL.  A DNSSEC query (BW_DNS_QF_DNSSEC) has entries of its own, with
 * the upstream's AD bit (DNS_RESF_AD) in their flags.  Positive
 * answers live for the smallest TTL of their records, negative ones
 * (NXDOMAIN, NODATA) for the TTL RFC 2308 gives them (the parser computes
 * it from the SOA); both are clamped to [DNS_TTL_MIN, dns_ttl_max] and
 * [DNS_NEG_TTL_MIN, dns_negative_ttl_max] (config; DNS_TTL_MAX and
 * DNS_NEG_TTL_MAX by default).  Failures (SERVFAIL, TIMEOUT,
 * FORMERR) are never cached.
 *
 * Bounded by an entry count and a byte count given at creation; past
 * either, the least recently used entry goes (LRU list, O(1) per
 * operation).  Expired entries are dropped when met and when they reach
 * the LRU tail.
 *
 * Pure: no I/O, no globals but the hash table's per-process key; the
 * clock is injected so that tests control time.  Trust: names were
 * normalised by the caller (a peer chooses them: the keyed hash of
 * common/hashtab.c); records come from the parser and are copied as they
 * are.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "util.h"
#include "dnscached.h"

struct dns_centry {
	struct bw_hlink		 hlink;		/* by (qtype, name) */
	TAILQ_ENTRY(dns_centry)	 lru;		/* head: most recently used */
	uint16_t		 qtype;
	uint16_t		 qflags;	/* BW_DNS_QF_*: part of the key */
	char			 name[BW_DOMAIN_MAX + 1];
	uint64_t		 stored_ms;
	uint64_t		 expire_ms;
	uint32_t		 status;
	uint32_t		 flags;
	size_t			 bytes;
	uint32_t		 nrr;
	struct bw_dns_rr	 rr[];
};
TAILQ_HEAD(dns_clru, dns_centry);

struct dns_cache {
	struct bw_htab		 tab;		/* names come from peers */
	struct dns_clru		 lru;
	size_t			 entries;
	size_t			 bytes;
	size_t			 max_entries;
	size_t			 max_bytes;
	uint64_t		 evictions;
	dns_clock_fn		 clock;
};

static void
dns_centry_key(const void *entry, struct bw_hkey *k)
{
	const struct dns_centry	*e = entry;

	bw_hkey_bytes(k, &e->qtype, sizeof(e->qtype));
	bw_hkey_bytes(k, &e->qflags, sizeof(e->qflags));
	bw_hkey_str(k, e->name);
}

static const struct bw_htab_type dns_centry_htype = {
	.name = "dns cache",
	.link_off = offsetof(struct dns_centry, hlink),
	.key = dns_centry_key,
};

/* Ceilings (s): DNS_TTL_MAX and DNS_NEG_TTL_MAX unless configured. */
static uint32_t	dns_ttl_max = DNS_TTL_MAX;
static uint32_t	dns_neg_ttl_max = DNS_NEG_TTL_MAX;

void
dns_cache_ttl_limits(uint32_t ttl_max, uint32_t neg_ttl_max)
{
	dns_ttl_max = ttl_max < DNS_TTL_MIN ? DNS_TTL_MIN : ttl_max;
	dns_neg_ttl_max = neg_ttl_max < DNS_NEG_TTL_MIN ? DNS_NEG_TTL_MIN :
	    neg_ttl_max;
}

uint32_t
dns_cache_ttl_clamp(uint32_t status, uint32_t ttl)
{
	switch (status) {
	case BW_DNS_OK:
		if (ttl < DNS_TTL_MIN)
			return DNS_TTL_MIN;
		return ttl > dns_ttl_max ? dns_ttl_max : ttl;
	case BW_DNS_NXDOMAIN:
	case BW_DNS_NODATA:
		if (ttl < DNS_NEG_TTL_MIN)
			return DNS_NEG_TTL_MIN;
		return ttl > dns_neg_ttl_max ? dns_neg_ttl_max : ttl;
	default:
		return 0;
	}
}

struct dns_cache *
dns_cache_new(size_t max_entries, size_t max_bytes, dns_clock_fn clock)
{
	struct dns_cache	*c;
	size_t			 tmax;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	/* one more than max_entries: a put inserts, then evicts */
	tmax = max_entries < BW_HTAB_MAX ? max_entries + 1 : BW_HTAB_MAX;
	bw_htab_init(&c->tab, &dns_centry_htype, tmax);
	TAILQ_INIT(&c->lru);
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	c->clock = clock != NULL ? clock : bw_now_ms;
	return c;
}

static void
dns_cache_remove(struct dns_cache *c, struct dns_centry *e)
{
	bw_htab_remove(&c->tab, e);
	TAILQ_REMOVE(&c->lru, e, lru);
	c->entries--;
	c->bytes -= e->bytes;
	free(e);
}

size_t
dns_cache_flush(struct dns_cache *c)
{
	struct dns_centry	*e;
	size_t			 n = 0;

	while ((e = TAILQ_FIRST(&c->lru)) != NULL) {
		dns_cache_remove(c, e);
		n++;
	}
	return n;
}

void
dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return;
	dns_cache_flush(c);
	bw_htab_free(&c->tab);
	free(c);
}

static struct dns_centry *
dns_cache_find(struct dns_cache *c, uint16_t qtype, uint16_t qflags,
    const char *name)
{
	struct bw_hkey	 k;

	bw_hkey_init(&k);
	bw_hkey_bytes(&k, &qtype, sizeof(qtype));
	bw_hkey_bytes(&k, &qflags, sizeof(qflags));
	bw_hkey_str(&k, name);
	return bw_htab_find(&c->tab, &k);
}

int
dns_cache_get(struct dns_cache *c, uint16_t qtype, uint16_t qflags,
    const char *name, struct dns_result *res)
{
	struct dns_centry	*e;
	uint64_t		 now = c->clock();
	uint32_t		 i, age, left;

	if ((e = dns_cache_find(c, qtype, qflags, name)) == NULL)
		return 0;
	if (now >= e->expire_ms) {
		dns_cache_remove(c, e);
		return 0;
	}
	TAILQ_REMOVE(&c->lru, e, lru);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);

	age = (uint32_t)((now - e->stored_ms) / 1000);
	left = (uint32_t)((e->expire_ms - now + 999) / 1000);
	memset(res, 0, offsetof(struct dns_result, rr));
	res->status = e->status;
	res->ttl = left;
	res->flags = e->flags | BW_DNS_ANSF_CACHED;
	res->nrr = e->nrr;
	for (i = 0; i < e->nrr; i++) {
		res->rr[i] = e->rr[i];
		res->rr[i].ttl = e->rr[i].ttl > age ? e->rr[i].ttl - age : 0;
		if (res->rr[i].ttl > left)
			res->rr[i].ttl = left;
	}
	return 1;
}

/* Drop from the LRU tail until the limits hold. */
static void
dns_cache_evict(struct dns_cache *c)
{
	struct dns_centry	*e;

	while ((c->entries > c->max_entries || c->bytes > c->max_bytes) &&
	    (e = TAILQ_LAST(&c->lru, dns_clru)) != NULL) {
		if (e->expire_ms > c->clock())
			c->evictions++;
		dns_cache_remove(c, e);
	}
}

int
dns_cache_put(struct dns_cache *c, uint16_t qtype, uint16_t qflags,
    const char *name, const struct dns_result *res)
{
	struct dns_centry	*e;
	uint32_t		 ttl, nrr;
	size_t			 bytes;

	ttl = dns_cache_ttl_clamp(res->status, res->ttl);
	if (ttl == 0 || strlen(name) > BW_DOMAIN_MAX)
		return -1;
	nrr = res->status == BW_DNS_OK ? res->nrr : 0;
	if (nrr > BW_DNS_RR_MAX)
		nrr = BW_DNS_RR_MAX;
	if ((e = dns_cache_find(c, qtype, qflags, name)) != NULL)
		dns_cache_remove(c, e);

	bytes = sizeof(*e) + nrr * sizeof(e->rr[0]);
	if (bytes > c->max_bytes || c->max_entries == 0)
		return -1;
	if ((e = calloc(1, bytes)) == NULL)
		return -1;
	e->qtype = qtype;
	e->qflags = qflags;
	strlcpy(e->name, name, sizeof(e->name));
	e->stored_ms = c->clock();
	e->expire_ms = e->stored_ms + (uint64_t)ttl * 1000;
	e->status = res->status;
	e->flags = res->flags & ~BW_DNS_ANSF_CACHED;
	e->bytes = bytes;
	e->nrr = nrr;
	if (nrr > 0)
		memcpy(e->rr, res->rr, nrr * sizeof(e->rr[0]));
	if (bw_htab_insert(&c->tab, e) == -1) {
		free(e);
		return -1;
	}
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	c->entries++;
	c->bytes += bytes;
	dns_cache_evict(c);
	return 0;
}

size_t
dns_cache_entries(const struct dns_cache *c)
{
	return c->entries;
}

size_t
dns_cache_bytes(const struct dns_cache *c)
{
	return c->bytes;
}

uint64_t
dns_cache_evictions(const struct dns_cache *c)
{
	return c->evictions;
}
