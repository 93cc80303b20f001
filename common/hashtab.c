/*
 * The hash table (hashtab.h says what it promises).  Two bucket arrays
 * exist only while the table grows: b[0] the old one, whose buckets below
 * `rehash' are already empty, b[1] the new one, where inserts go.  Each
 * insert or remove moves BW_HTAB_REHASH_STEP more buckets (none while an
 * iteration runs); once b[0] is empty it is freed and b[1] takes its
 * place.  A table grows when an insert would leave more entries than
 * buckets, so the move (one bucket per call at least) is over long before
 * the new array could need to grow.
 *
 * Trust: keys may come from peers; the hash key comes from the system's
 * random source and never leaves the process.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SYS_RANDOM_H
#include <sys/random.h>
#endif

#include "log.h"
#include "siphash.h"
#include "hashtab.h"

static uint64_t	htab_key[2];
static int	htab_keyed;

/* The process's hash key, drawn once (a child of fork keeps it). */
static void
htab_key_init(void)
{
	uint8_t	 raw[BW_SIPHASH_KEY_LEN];

#if defined(HAVE_ARC4RANDOM_BUF)
	arc4random_buf(raw, sizeof(raw));
#elif defined(HAVE_GETRANDOM)
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		fatal("hash table key: getrandom");
#else
	int	 fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1 ||
	    read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
		fatal("hash table key: /dev/urandom");
	close(fd);
#endif
	bw_siphash_key_words(raw, htab_key);
	htab_keyed = 1;
}

void
bw_hkey_too_many(void)
{
	fatalx("hash key: more than %d parts", BW_HKEY_PARTS);
}

uint64_t
bw_hkey_hash(const struct bw_hkey *k)
{
	if (!htab_keyed)
		htab_key_init();
	return bw_siphash13_parts(htab_key, k->part, k->len, k->n);
}

static int
hkey_equal(const struct bw_hkey *a, const struct bw_hkey *b)
{
	unsigned int	 i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->len[i] != b->len[i] || (a->len[i] != 0 &&
		    memcmp(a->part[i], b->part[i], a->len[i]) != 0))
			return 0;
	return 1;
}

static inline struct bw_hlink *
htab_link(const struct bw_htab *t, const void *e)
{
	return (struct bw_hlink *)((char *)(uintptr_t)e + t->type->link_off);
}

static inline void *
htab_entry(const struct bw_htab *t, const struct bw_hlink *l)
{
	return (char *)(uintptr_t)l - t->type->link_off;
}

/* The key of an entry, as the type says where it is. */
static void
htab_entry_key(const struct bw_htab_type *ty, const void *e,
    struct bw_hkey *k)
{
	const char	*p;

	bw_hkey_init(k);
	if (ty->key != NULL) {
		ty->key(e, k);
		return;
	}
	p = (const char *)e + ty->key_off;
	bw_hkey_bytes(k, p, ty->key_len == BW_HTAB_KEY_STRING ?
	    strlen(p) + 1 : ty->key_len);
}

/* Is the entry's key k?  A key at an offset is compared in place. */
static inline int
htab_entry_is(const struct bw_htab_type *ty, const void *e,
    const struct bw_hkey *k)
{
	struct bw_hkey	 ek;
	const char	*p;
	size_t		 n;

	if (ty->key == NULL && k->n == 1) {
		p = (const char *)e + ty->key_off;
		n = ty->key_len == BW_HTAB_KEY_STRING ? strlen(p) + 1 :
		    ty->key_len;
		return n == k->len[0] && memcmp(p, k->part[0], n) == 0;
	}
	htab_entry_key(ty, e, &ek);
	return hkey_equal(k, &ek);
}

static uint64_t
htab_hash(const struct bw_htab *t, const struct bw_hkey *k)
{
	return t->type->hash != NULL ? t->type->hash(k) : bw_hkey_hash(k);
}

void
bw_htab_init(struct bw_htab *t, const struct bw_htab_type *type, size_t max)
{
	if (max == 0 || max > BW_HTAB_MAX)
		fatalx("hash table %s: max %zu not in 1..%zu", type->name, max,
		    BW_HTAB_MAX);
	if (type->key == NULL && type->key_len == 0)
		fatalx("hash table %s: no key", type->name);
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->max = max;
}

/* A zeroed array of n buckets in b[which]; -1 (ENOMEM). */
static int
htab_alloc(struct bw_htab *t, int which, size_t n)
{
	struct bw_hlink	**b;

	if ((b = calloc(n, sizeof(*b))) == NULL)
		return -1;
	t->b[which] = b;
	t->nb[which] = n;
	return 0;
}

int
bw_htab_reserve(struct bw_htab *t, size_t n)
{
	size_t	 nb = BW_HTAB_BUCKETS_MIN;

	if (t->count != 0 || t->b[1] != NULL || t->iterating) {
		errno = EBUSY;
		return -1;
	}
	while (nb < n && nb < BW_HTAB_MAX)
		nb <<= 1;
	if (t->b[0] != NULL && t->nb[0] >= nb)
		return 0;
	free(t->b[0]);
	t->b[0] = NULL;
	t->nb[0] = 0;
	return htab_alloc(t, 0, nb);
}

void
bw_htab_free(struct bw_htab *t)
{
	if (t->iterating)
		fatalx("hash table %s: freed while iterated", t->type->name);
	free(t->b[0]);
	free(t->b[1]);
	t->b[0] = t->b[1] = NULL;
	t->nb[0] = t->nb[1] = 0;
	t->rehash = 0;
	t->count = 0;
}

/* Move up to BW_HTAB_REHASH_STEP buckets of b[0] to b[1]. */
static void
htab_rehash_step(struct bw_htab *t)
{
	struct bw_hlink	*l, *next;
	size_t		 n, i, mask;

	if (t->b[1] == NULL || t->iterating)
		return;
	mask = t->nb[1] - 1;
	for (n = 0; n < BW_HTAB_REHASH_STEP && t->rehash < t->nb[0];
	    n++, t->rehash++) {
		for (l = t->b[0][t->rehash]; l != NULL; l = next) {
			next = l->next;
			i = l->hash & mask;
			l->next = t->b[1][i];
			t->b[1][i] = l;
		}
		t->b[0][t->rehash] = NULL;
	}
	if (t->rehash < t->nb[0])
		return;
	free(t->b[0]);
	t->b[0] = t->b[1];
	t->nb[0] = t->nb[1];
	t->b[1] = NULL;
	t->nb[1] = 0;
	t->rehash = 0;
}

static void *
htab_lookup(const struct bw_htab *t, const struct bw_hkey *k, uint64_t h)
{
	const struct bw_hlink	*l;
	void			*e;
	int			 a;

	for (a = 0; a < 2 && t->b[a] != NULL; a++)
		for (l = t->b[a][h & (t->nb[a] - 1)]; l != NULL; l = l->next) {
			if (l->hash != h)
				continue;
			e = htab_entry(t, l);
			if (htab_entry_is(t->type, e, k))
				return e;
		}
	return NULL;
}

void *
bw_htab_find(const struct bw_htab *t, const struct bw_hkey *k)
{
	if (t->count == 0)
		return NULL;
	return htab_lookup(t, k, htab_hash(t, k));
}

void *
bw_htab_find_str(const struct bw_htab *t, const char *s)
{
	struct bw_hkey	 k;

	k.n = 1;
	k.part[0] = s;
	k.len[0] = strlen(s) + 1;
	return bw_htab_find(t, &k);
}

int
bw_htab_insert(struct bw_htab *t, void *e)
{
	struct bw_hlink	*l = htab_link(t, e);
	struct bw_hkey	 k;
	uint64_t	 h;
	size_t		 i;
	int		 a;

	htab_entry_key(t->type, e, &k);
	h = htab_hash(t, &k);
	if (t->count > 0 && htab_lookup(t, &k, h) != NULL) {
		errno = EEXIST;
		return -1;
	}
	if (t->count >= t->max) {
		errno = ENOSPC;
		return -1;
	}
	if (t->b[0] == NULL && htab_alloc(t, 0, BW_HTAB_BUCKETS_MIN) == -1)
		return -1;
	htab_rehash_step(t);
	/* load 1 reached: start growing, unless growing or iterated */
	if (t->b[1] == NULL && t->count >= t->nb[0] && !t->iterating &&
	    t->nb[0] < BW_HTAB_MAX) {
		if (htab_alloc(t, 1, t->nb[0] * 2) == -1)
			t->grow_failures++;	/* longer chains, no failure */
		else
			t->rehash = 0;
	}
	a = t->b[1] != NULL;
	i = h & (t->nb[a] - 1);
	l->hash = h;
	l->next = t->b[a][i];
	t->b[a][i] = l;
	t->count++;
	return 0;
}

void
bw_htab_remove(struct bw_htab *t, void *e)
{
	struct bw_hlink	*l = htab_link(t, e), **pp;
	int		 a;

	for (a = 0; a < 2 && t->b[a] != NULL; a++)
		for (pp = &t->b[a][l->hash & (t->nb[a] - 1)]; *pp != NULL;
		    pp = &(*pp)->next)
			if (*pp == l) {
				*pp = l->next;
				l->next = NULL;
				t->count--;
				htab_rehash_step(t);
				return;
			}
	fatalx("hash table %s: removing an entry that is not in it",
	    t->type->name);
}

size_t
bw_htab_count(const struct bw_htab *t)
{
	return t->count;
}

void *
bw_htab_first(struct bw_htab *t, struct bw_htab_iter *it)
{
	memset(it, 0, sizeof(*it));
	it->t = t;
	it->running = 1;
	t->iterating++;
	return bw_htab_next(it);
}

void *
bw_htab_next(struct bw_htab_iter *it)
{
	struct bw_htab	*t = it->t;
	struct bw_hlink	*l;

	if (!it->running)
		return NULL;
	for (;;) {
		if ((l = it->next) != NULL) {
			/* saved now: the caller may remove l */
			it->next = l->next;
			return htab_entry(t, l);
		}
		if (t->b[it->arr] != NULL && it->bucket < t->nb[it->arr]) {
			it->next = t->b[it->arr][it->bucket++];
			continue;
		}
		if (it->arr == 0 && t->b[1] != NULL) {
			it->arr = 1;
			it->bucket = 0;
			continue;
		}
		bw_htab_iter_end(it);
		return NULL;
	}
}

void
bw_htab_iter_end(struct bw_htab_iter *it)
{
	if (!it->running)
		return;
	it->running = 0;
	it->next = NULL;
	it->t->iterating--;
}
