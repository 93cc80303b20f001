/*
 * Per-host counters (hostcount.h says what they promise).
 *
 * A host lives in the common hash table, keyed by its struct bw_hc_addr
 * (17 bytes: family and address).  Hosts without a connection are also
 * on an LRU list, oldest first: that list is what expire() walks and what
 * a full table evicts from, so neither ever looks at a host that holds a
 * connection.  Every host put at the list's tail gets last_seen = now, so
 * the list is in last_seen order as long as `now' does not go backwards
 * (if it does, a host is forgotten a little late, never early).
 *
 * Connections are also kept per owner: one record per (host, owner) with
 * a connection count, on the host's list and on the owner's, so that
 * release finds the owner's record among the few owners of one host, and
 * owner_gone walks only that owner's records.
 *
 * Trust: callers pass what a peer sent; everything is checked here.
 */
#include "bw_autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "hostcount.h"

#define HC_WINDOWS	2		/* MSG, RCPT */
#define HC_SAT_ADD(a, b)	((a) > UINT64_MAX - (b) ? UINT64_MAX : (a) + (b))

struct hc_host;
struct hc_owner;

/* The connections one owner holds at one host. */
struct hc_rec {
	TAILQ_ENTRY(hc_rec)	 hentry;	/* the host's records */
	TAILQ_ENTRY(hc_rec)	 oentry;	/* the owner's records */
	struct hc_host		*h;
	struct hc_owner		*o;
	uint64_t		 conns;
};
TAILQ_HEAD(hc_rec_list, hc_rec);

struct hc_owner {
	TAILQ_ENTRY(hc_owner)	 entry;
	uint32_t		 id;
	struct hc_rec_list	 recs;
};

/* A fixed window: open iff opened_at <= now < opened_at + len. */
struct hc_window {
	uint64_t		 count;
	uint64_t		 opened_at;
	uint64_t		 len;		/* 0: never opened */
};

struct hc_host {
	struct bw_hlink		 hlink;
	struct bw_hc_addr	 key;
	TAILQ_ENTRY(hc_host)	 lru;		/* iff conns == 0 */
	uint64_t		 conns;
	struct hc_window	 win[HC_WINDOWS];
	uint64_t		 total[BW_HC__KINDS];
	uint64_t		 refused;
	uint64_t		 last_seen;
	struct hc_rec_list	 recs;
	char			 group[BW_HC_LABEL_MAX];
	char			 policy[BW_HC_LABEL_MAX];
	char			 score[BW_HC_SCORE_MAX];
};
TAILQ_HEAD(hc_host_list, hc_host);

struct bw_hostcount {
	struct bw_htab		 hosts;
	struct hc_host_list	 lru;
	TAILQ_HEAD(, hc_owner)	 owners;
	size_t			 max;
	uint64_t		 idle_ms;
	struct bw_hc_stats	 st;
};

static const struct bw_htab_type hc_host_type = {
	.name = "hostcount",
	.link_off = offsetof(struct hc_host, hlink),
	.key_off = offsetof(struct hc_host, key),
	.key_len = sizeof(struct bw_hc_addr),
};

static const char *const hc_kind_names[BW_HC__KINDS] = {
	"conn", "msg", "rcpt"
};

const char *
bw_hc_kind_name(int kind)
{
	if (kind < 0 || kind >= BW_HC__KINDS)
		return "?";
	return hc_kind_names[kind];
}

/* ---- addresses ---- */

static const uint8_t hc_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
bw_hc_addr_set(struct bw_hc_addr *a, uint32_t family, const uint8_t addr[16])
{
	memset(a, 0, sizeof(*a));
	if (family == BW_HC_FAMILY_INET) {
		a->family = BW_HC_FAMILY_INET;
		memcpy(a->addr, addr, 4);
		return 0;
	}
	if (family != BW_HC_FAMILY_INET6)
		return -1;
	if (memcmp(addr, hc_mapped, sizeof(hc_mapped)) == 0) {
		a->family = BW_HC_FAMILY_INET;
		memcpy(a->addr, addr + 12, 4);
		return 0;
	}
	a->family = BW_HC_FAMILY_INET6;
	memcpy(a->addr, addr, 16);
	return 0;
}

int
bw_hc_addr_from_sockaddr(struct bw_hc_addr *a, const struct sockaddr *sa)
{
	uint8_t	 b[16];

	memset(b, 0, sizeof(b));
	if (sa->sa_family == AF_INET) {
		memcpy(b, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		return bw_hc_addr_set(a, BW_HC_FAMILY_INET, b);
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(b, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
		return bw_hc_addr_set(a, BW_HC_FAMILY_INET6, b);
	}
	memset(a, 0, sizeof(*a));
	return -1;
}

const char *
bw_hc_addr_text(const struct bw_hc_addr *a, char *dst, size_t dstsz)
{
	if (dstsz == 0)
		return dst;
	if (inet_ntop(a->family == BW_HC_FAMILY_INET ? AF_INET : AF_INET6,
	    a->addr, dst, (socklen_t)dstsz) == NULL)
		dst[0] = '\0';
	return dst;
}

/* ---- the table ---- */

struct bw_hostcount *
bw_hostcount_new(size_t max_entries, uint64_t idle_ms)
{
	struct bw_hostcount	*t;

	if (max_entries == 0 || max_entries > BW_HC_ENTRIES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	/* the table's own bound is the largest we may be given later */
	bw_htab_init(&t->hosts, &hc_host_type, BW_HC_ENTRIES_MAX);
	TAILQ_INIT(&t->lru);
	TAILQ_INIT(&t->owners);
	t->max = max_entries;
	t->idle_ms = idle_ms;
	return t;
}

void
bw_hostcount_set_bounds(struct bw_hostcount *t, size_t max_entries,
    uint64_t idle_ms)
{
	if (max_entries == 0)
		max_entries = 1;
	if (max_entries > BW_HC_ENTRIES_MAX)
		max_entries = BW_HC_ENTRIES_MAX;
	t->max = max_entries;
	t->idle_ms = idle_ms;
}

static void
hc_rec_free(struct hc_rec *r)
{
	TAILQ_REMOVE(&r->h->recs, r, hentry);
	TAILQ_REMOVE(&r->o->recs, r, oentry);
	free(r);
}

static void
hc_owner_maybe_free(struct bw_hostcount *t, struct hc_owner *o)
{
	if (!TAILQ_EMPTY(&o->recs))
		return;
	TAILQ_REMOVE(&t->owners, o, entry);
	free(o);
	t->st.owners--;
}

/* Forget a host (it holds no connection: it is on the LRU list). */
static void
hc_host_forget(struct bw_hostcount *t, struct hc_host *h)
{
	TAILQ_REMOVE(&t->lru, h, lru);
	bw_htab_remove(&t->hosts, h);
	free(h);
}

void
bw_hostcount_free(struct bw_hostcount *t)
{
	struct bw_htab_iter	 it;
	struct hc_host		*h;
	struct hc_owner		*o;
	struct hc_rec		*r;

	if (t == NULL)
		return;
	while ((o = TAILQ_FIRST(&t->owners)) != NULL) {
		while ((r = TAILQ_FIRST(&o->recs)) != NULL)
			hc_rec_free(r);
		TAILQ_REMOVE(&t->owners, o, entry);
		free(o);
	}
	for (h = bw_htab_first(&t->hosts, &it); h != NULL;
	    h = bw_htab_next(&it)) {
		bw_htab_remove(&t->hosts, h);
		free(h);
	}
	bw_htab_free(&t->hosts);
	free(t);
}

/* a as a key: a caller's IPv4 address may have bytes set past its 4. */
static int
hc_key(struct bw_hc_addr *key, const struct bw_hc_addr *a)
{
	return bw_hc_addr_set(key, a->family, a->addr);
}

/* a is a key (hc_key). */
static struct hc_host *
hc_host_find(const struct bw_hostcount *t, const struct bw_hc_addr *a)
{
	struct bw_hkey	 k;

	bw_hkey_init(&k);
	bw_hkey_bytes(&k, a, sizeof(*a));
	return bw_htab_find(&t->hosts, &k);
}

/*
 * The host of a, made if needed: room is made by forgetting the least
 * recently used host without connections.  NULL when no room can be made
 * (every host holds a connection) or no memory.
 */
static struct hc_host *
hc_host_get(struct bw_hostcount *t, const struct bw_hc_addr *a,
    uint64_t now)
{
	struct hc_host	*h, *old;

	if ((h = hc_host_find(t, a)) != NULL)
		return h;
	while (bw_htab_count(&t->hosts) >= t->max) {
		if ((old = TAILQ_FIRST(&t->lru)) == NULL)
			return NULL;
		hc_host_forget(t, old);
		t->st.evicted++;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->key = *a;
	TAILQ_INIT(&h->recs);
	if (bw_htab_insert(&t->hosts, h) == -1) {
		free(h);
		return NULL;
	}
	h->last_seen = now;
	TAILQ_INSERT_TAIL(&t->lru, h, lru);
	return h;
}

/* Seen now: to the LRU tail if it is on the list. */
static void
hc_host_touch(struct bw_hostcount *t, struct hc_host *h, uint64_t now)
{
	h->last_seen = now;
	if (h->conns == 0) {
		TAILQ_REMOVE(&t->lru, h, lru);
		TAILQ_INSERT_TAIL(&t->lru, h, lru);
	}
}

static void
hc_label_set(char *dst, size_t dstsz, const char *src)
{
	size_t	 n;

	if (src == NULL)
		return;
	n = strnlen(src, dstsz - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
hc_window_open(const struct hc_window *w, uint64_t now)
{
	return w->len > 0 && now >= w->opened_at &&
	    now - w->opened_at < w->len;
}

static struct hc_rec *
hc_rec_find(const struct hc_host *h, uint32_t owner)
{
	struct hc_rec	*r;

	TAILQ_FOREACH(r, &h->recs, hentry)
		if (r->o->id == owner)
			return r;
	return NULL;
}

static struct hc_owner *
hc_owner_find(const struct bw_hostcount *t, uint32_t owner)
{
	struct hc_owner	*o;

	TAILQ_FOREACH(o, &t->owners, entry)
		if (o->id == owner)
			return o;
	return NULL;
}

/*
 * The record of owner at h, made if needed; NULL on no memory (nothing
 * changed).
 */
static struct hc_rec *
hc_rec_get(struct bw_hostcount *t, struct hc_host *h, uint32_t owner)
{
	struct hc_owner	*o;
	struct hc_rec	*r;
	int		 new_owner = 0;

	if ((r = hc_rec_find(h, owner)) != NULL)
		return r;
	if ((o = hc_owner_find(t, owner)) == NULL) {
		if ((o = calloc(1, sizeof(*o))) == NULL)
			return NULL;
		o->id = owner;
		TAILQ_INIT(&o->recs);
		TAILQ_INSERT_TAIL(&t->owners, o, entry);
		t->st.owners++;
		new_owner = 1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		if (new_owner)
			hc_owner_maybe_free(t, o);
		return NULL;
	}
	r->h = h;
	r->o = o;
	TAILQ_INSERT_TAIL(&h->recs, r, hentry);
	TAILQ_INSERT_TAIL(&o->recs, r, oentry);
	return r;
}

static int
hc_take_valid(int kind, uint32_t n, uint64_t limit, uint64_t window_ms)
{
	if (kind < 0 || kind >= BW_HC__KINDS || n == 0 || n > BW_HC_N_MAX)
		return 0;
	if (limit > (uint64_t)INT64_MAX)
		return 0;
	if (kind == BW_HC_CONN)
		return n == 1;
	return window_ms >= 1 && window_ms <= (uint64_t)BW_HC_WINDOW_MAX_MS;
}

int
bw_hostcount_take(struct bw_hostcount *t, const struct bw_hc_addr *a,
    int kind, uint32_t n, uint64_t limit, uint64_t window_ms, uint32_t owner,
    const struct bw_hc_labels *labels, uint64_t now, struct bw_hc_result *res)
{
	struct hc_host		*h;
	struct hc_window	*w;
	struct hc_rec		*r = NULL;
	struct bw_hc_addr	 key;

	memset(res, 0, sizeof(*res));
	if (!hc_take_valid(kind, n, limit, window_ms) || hc_key(&key, a) == -1) {
		errno = EINVAL;
		return -1;
	}
	t->st.takes++;
	if ((h = hc_host_get(t, &key, now)) == NULL ||
	    (kind == BW_HC_CONN && (limit == 0 || h->conns < limit) &&
	    (r = hc_rec_get(t, h, owner)) == NULL)) {
		/* full of hosts with connections, or no memory: a counter
		 * never stops mail */
		t->st.overflow++;
		res->granted = 1;
		res->count = n;
		return 0;
	}
	res->remembered = 1;
	hc_host_touch(t, h, now);
	if (labels != NULL) {
		hc_label_set(h->group, sizeof(h->group), labels->group);
		hc_label_set(h->policy, sizeof(h->policy), labels->policy);
		hc_label_set(h->score, sizeof(h->score), labels->score);
	}
	if (kind == BW_HC_CONN) {
		if (r == NULL) {
			t->st.refusals++;
			h->refused++;
			res->count = h->conns;
			return 0;
		}
		if (h->conns == 0) {
			TAILQ_REMOVE(&t->lru, h, lru);
			t->st.connected++;
		}
		h->conns++;
		r->conns++;
		h->total[BW_HC_CONN] = HC_SAT_ADD(h->total[BW_HC_CONN], 1);
		res->granted = 1;
		res->count = h->conns;
		return 0;
	}
	w = &h->win[kind == BW_HC_MSG ? 0 : 1];
	if (!hc_window_open(w, now)) {
		w->count = 0;
		w->opened_at = now;
		w->len = window_ms;
	}
	if (limit > 0 && (n > limit || w->count > limit - n)) {
		t->st.refusals++;
		h->refused++;
		res->count = w->count;
		res->reopen_at = HC_SAT_ADD(w->opened_at, w->len);
		return 0;
	}
	w->count = HC_SAT_ADD(w->count, n);
	h->total[kind] = HC_SAT_ADD(h->total[kind], n);
	res->granted = 1;
	res->count = w->count;
	return 0;
}

/* r loses n connections (all it has at most). */
static void
hc_rec_drop(struct bw_hostcount *t, struct hc_rec *r, uint64_t n,
    uint64_t now)
{
	struct hc_host	*h = r->h;
	struct hc_owner	*o = r->o;
	uint64_t	 was = h->conns;

	if (n > r->conns)
		n = r->conns;
	r->conns -= n;
	h->conns = h->conns >= n ? h->conns - n : 0;
	if (r->conns == 0) {
		hc_rec_free(r);
		hc_owner_maybe_free(t, o);
	}
	h->last_seen = now;
	if (was > 0 && h->conns == 0) {
		t->st.connected--;
		/* back on the LRU list, young: it was just seen */
		TAILQ_INSERT_TAIL(&t->lru, h, lru);
	}
}

int
bw_hostcount_release(struct bw_hostcount *t, const struct bw_hc_addr *a,
    int kind, uint32_t owner, uint64_t now)
{
	struct bw_hc_addr key;
	struct hc_host	*h;
	struct hc_rec	*r;

	if (kind != BW_HC_CONN || hc_key(&key, a) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((h = hc_host_find(t, &key)) == NULL ||
	    (r = hc_rec_find(h, owner)) == NULL) {
		t->st.releases_unknown++;
		errno = ENOENT;
		return -1;
	}
	hc_rec_drop(t, r, 1, now);
	return 0;
}

uint64_t
bw_hostcount_owner_gone(struct bw_hostcount *t, uint32_t owner, uint64_t now)
{
	struct hc_owner	*o;
	struct hc_rec	*r;
	uint64_t	 n = 0;
	int		 last;

	if ((o = hc_owner_find(t, owner)) == NULL)
		return 0;
	/* each drop frees its record; the last one frees o as well */
	for (;;) {
		r = TAILQ_FIRST(&o->recs);
		last = TAILQ_NEXT(r, oentry) == NULL;
		n += r->conns;
		hc_rec_drop(t, r, r->conns, now);
		if (last)
			return n;
	}
}

/* Nothing open: no connection (it is on the LRU list) and no window. */
static int
hc_host_quiet(const struct hc_host *h, uint64_t now)
{
	int	 i;

	for (i = 0; i < HC_WINDOWS; i++)
		if (hc_window_open(&h->win[i], now))
			return 0;
	return 1;
}

size_t
bw_hostcount_expire(struct bw_hostcount *t, uint64_t now, size_t max_steps)
{
	struct hc_host	*h, *next;
	size_t		 steps = 0, n = 0;

	/* over a maximum lowered by a reload: the oldest go first */
	while (bw_htab_count(&t->hosts) > t->max && steps < max_steps &&
	    (h = TAILQ_FIRST(&t->lru)) != NULL) {
		hc_host_forget(t, h);
		t->st.evicted++;
		steps++;
		n++;
	}
	for (h = TAILQ_FIRST(&t->lru); h != NULL && steps < max_steps;
	    h = next) {
		next = TAILQ_NEXT(h, lru);
		steps++;
		/* the list is in last_seen order: the rest are younger */
		if (h->last_seen > now || now - h->last_seen < t->idle_ms)
			break;
		/* a window longer than idle_ms keeps its host until it
		 * closes; it stays at the head and is looked at again */
		if (!hc_host_quiet(h, now))
			continue;
		hc_host_forget(t, h);
		t->st.expired++;
		n++;
	}
	return n;
}

static void
hc_row_fill(const struct hc_host *h, uint64_t now, struct bw_hc_row *row)
{
	memset(row, 0, sizeof(*row));
	row->addr = h->key;
	row->conns = h->conns;
	row->total_conns = h->total[BW_HC_CONN];
	row->total_msgs = h->total[BW_HC_MSG];
	row->total_rcpts = h->total[BW_HC_RCPT];
	row->win_msgs = hc_window_open(&h->win[0], now) ? h->win[0].count : 0;
	row->win_rcpts = hc_window_open(&h->win[1], now) ? h->win[1].count : 0;
	row->refused = h->refused;
	row->last_seen = h->last_seen;
	memcpy(row->group, h->group, sizeof(row->group));
	memcpy(row->policy, h->policy, sizeof(row->policy));
	memcpy(row->score, h->score, sizeof(row->score));
}

int
bw_hostcount_get(struct bw_hostcount *t, const struct bw_hc_addr *a,
    uint64_t now, struct bw_hc_row *row)
{
	struct bw_hc_addr key;
	struct hc_host	*h;

	if (hc_key(&key, a) == -1 || (h = hc_host_find(t, &key)) == NULL)
		return -1;
	hc_row_fill(h, now, row);
	return 0;
}

/* Rank: > 0 when a comes before b in a listing. */
static int
hc_row_rank(const struct bw_hc_row *a, const struct bw_hc_row *b)
{
	int	 c;

	if (a->conns != b->conns)
		return a->conns > b->conns ? 1 : -1;
	if (a->total_conns != b->total_conns)
		return a->total_conns > b->total_conns ? 1 : -1;
	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? 1 : -1;
	c = memcmp(a->addr.addr, b->addr.addr, sizeof(a->addr.addr));
	return c < 0 ? 1 : c > 0 ? -1 : 0;
}

static int
hc_row_cmp_best_first(const void *x, const void *y)
{
	return -hc_row_rank(x, y);
}

/* The heap of the n best so far: its root is the worst of them. */
static void
hc_heap_down(struct bw_hc_row *v, size_t n, size_t i)
{
	struct bw_hc_row	 tmp;
	size_t			 l, m;

	for (;;) {
		l = 2 * i + 1;
		if (l >= n)
			return;
		m = l;
		if (l + 1 < n && hc_row_rank(&v[l + 1], &v[l]) < 0)
			m = l + 1;
		if (hc_row_rank(&v[m], &v[i]) >= 0)
			return;
		tmp = v[i];
		v[i] = v[m];
		v[m] = tmp;
		i = m;
	}
}

static void
hc_heap_up(struct bw_hc_row *v, size_t i)
{
	struct bw_hc_row	 tmp;
	size_t			 p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (hc_row_rank(&v[i], &v[p]) >= 0)
			return;
		tmp = v[i];
		v[i] = v[p];
		v[p] = tmp;
		i = p;
	}
}

size_t
bw_hostcount_top(struct bw_hostcount *t, uint64_t now, struct bw_hc_row *rows,
    size_t n)
{
	struct bw_htab_iter	 it;
	struct bw_hc_row	 row;
	struct hc_host		*h;
	size_t			 k = 0;

	if (n == 0)
		return 0;
	for (h = bw_htab_first(&t->hosts, &it); h != NULL;
	    h = bw_htab_next(&it)) {
		hc_row_fill(h, now, &row);
		if (k < n) {
			rows[k] = row;
			hc_heap_up(rows, k++);
		} else if (hc_row_rank(&row, &rows[0]) > 0) {
			rows[0] = row;
			hc_heap_down(rows, k, 0);
		}
	}
	qsort(rows, k, sizeof(*rows), hc_row_cmp_best_first);
	return k;
}

void
bw_hostcount_stats(const struct bw_hostcount *t, struct bw_hc_stats *st)
{
	*st = t->st;
	st->hosts = bw_htab_count(&t->hosts);
}
