/*
 * The monitor's history records, pure (see mon_rec.h).
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "mon_rec.h"

#define MON_PAD8(n)	(((n) + 7) & ~(size_t)7)
#define MON_HOUR_DOMS_GROW	256	/* merged rows added at a time */

int64_t
mon_res_step(int res)
{
	return res == MON_RES_HOUR ? MON_HOUR : MON_MINUTE;
}

uint32_t
mon_res_slots(int res)
{
	return res == MON_RES_HOUR ? MON_HOUR_SLOTS : MON_MINUTE_SLOTS;
}

int64_t
mon_res_start(int res, int64_t t)
{
	int64_t	 step = mon_res_step(res);

	if (t < 0)
		return 0;
	return t - t % step;
}

uint32_t
mon_slot(int res, int64_t t)
{
	if (t < 0)
		t = 0;
	return (uint32_t)((t / mon_res_step(res)) % mon_res_slots(res));
}

void
mon_key(unsigned char key[MON_KEY_LEN], int res, uint32_t slot)
{
	key[0] = (unsigned char)res;
	key[1] = (unsigned char)(slot >> 24);
	key[2] = (unsigned char)(slot >> 16);
	key[3] = (unsigned char)(slot >> 8);
	key[4] = (unsigned char)slot;
}

size_t
mon_rec_max(size_t nvals, size_t ndoms)
{
	return sizeof(struct mon_rec_hdr) + nvals * sizeof(struct mon_val) +
	    ndoms * MON_REC_DOM_MAX;
}

size_t
mon_rec_encode(const struct mon_point *p, unsigned char *buf, size_t bufsz)
{
	struct mon_rec_hdr	 h;
	struct mon_rec_dom	 rd;
	size_t			 off, i, gl, dl, need;

	if (p->nvals > MON_SERIES_MAX || p->ndoms > MON_DOMS_MAX)
		return 0;
	memset(&h, 0, sizeof(h));
	h.version = MON_REC_VERSION;
	h.res = (uint32_t)p->res;
	h.t = p->t;
	h.nsamples = p->nsamples;
	h.nvals = (uint32_t)p->nvals;
	h.ndoms = (uint32_t)p->ndoms;
	off = sizeof(h) + p->nvals * sizeof(struct mon_val);
	if (off > bufsz)
		return 0;
	memcpy(buf, &h, sizeof(h));
	if (p->nvals > 0)
		memcpy(buf + sizeof(h), p->vals,
		    p->nvals * sizeof(struct mon_val));
	for (i = 0; i < p->ndoms; i++) {
		const struct mon_dom	*d = &p->doms[i];

		gl = strnlen(d->gateway, sizeof(d->gateway) - 1);
		dl = strnlen(d->domain, sizeof(d->domain) - 1);
		need = sizeof(rd) + MON_PAD8(gl + dl);
		if (need > bufsz - off)
			return 0;
		memset(&rd, 0, sizeof(rd));
		rd.set = (uint8_t)d->set;
		rd.state = (uint8_t)d->state;
		rd.gwlen = (uint8_t)gl;
		rd.domlen = (uint8_t)dl;
		rd.queued = d->queued;
		rd.waiting = d->waiting;
		rd.delivered = d->delivered;
		rd.deferred = d->deferred;
		rd.bounced = d->bounced;
		rd.oldest = d->oldest;
		memcpy(buf + off, &rd, sizeof(rd));
		memset(buf + off + sizeof(rd), 0, MON_PAD8(gl + dl));
		memcpy(buf + off + sizeof(rd), d->gateway, gl);
		memcpy(buf + off + sizeof(rd) + gl, d->domain, dl);
		off += need;
	}
	return off;
}

int
mon_rec_decode(const void *data, size_t len, struct mon_point *p)
{
	const unsigned char	*b = data;
	struct mon_rec_hdr	 h;
	struct mon_rec_dom	 rd;
	size_t			 off, i, names;

	if (len < sizeof(h))
		return -1;
	memcpy(&h, b, sizeof(h));
	if (h.version != MON_REC_VERSION || h.res >= MON_RES__COUNT ||
	    h.nvals > MON_SERIES_MAX || h.ndoms > MON_DOMS_MAX)
		return -1;
	off = sizeof(h);
	if ((size_t)h.nvals * sizeof(struct mon_val) > len - off)
		return -1;
	p->res = (int)h.res;
	p->t = h.t;
	p->nsamples = h.nsamples;
	p->nvals = h.nvals;
	if (h.nvals > 0)
		memcpy(p->vals, b + off, h.nvals * sizeof(struct mon_val));
	off += h.nvals * sizeof(struct mon_val);
	p->ndoms = 0;
	for (i = 0; i < h.ndoms; i++) {
		struct mon_dom	*d = &p->doms[i];

		if (len - off < sizeof(rd))
			return -1;
		memcpy(&rd, b + off, sizeof(rd));
		off += sizeof(rd);
		names = MON_PAD8((size_t)rd.gwlen + rd.domlen);
		/* a u8 length always fits the domain (BW_DOMAIN_MAX + 1) */
		if (names > len - off || rd.gwlen >= sizeof(d->gateway))
			return -1;
		memset(d, 0, sizeof(*d));
		d->set = rd.set;
		d->state = rd.state;
		memcpy(d->gateway, b + off, rd.gwlen);
		memcpy(d->domain, b + off + rd.gwlen, rd.domlen);
		d->queued = rd.queued;
		d->waiting = rd.waiting;
		d->delivered = rd.delivered;
		d->deferred = rd.deferred;
		d->bounced = rd.bounced;
		d->oldest = rd.oldest;
		off += names;
		p->ndoms++;
	}
	return off == len ? 0 : -1;
}

const struct mon_val *
mon_point_val(const struct mon_point *p, uint32_t id)
{
	size_t	 i;

	for (i = 0; i < p->nvals; i++)
		if (p->vals[i].series == id)
			return &p->vals[i];
	return NULL;
}

int
mon_point_put(struct mon_point *p, uint32_t id, uint32_t kind, uint64_t v)
{
	size_t	 i;

	for (i = 0; i < p->nvals; i++)
		if (p->vals[i].series == id) {
			p->vals[i].v = kind == MON_DELTA ? p->vals[i].v + v : v;
			return 0;
		}
	if (p->nvals >= MON_SERIES_MAX)
		return -1;
	p->vals[p->nvals].series = id;
	p->vals[p->nvals].kind = kind;
	p->vals[p->nvals].v = v;
	p->nvals++;
	return 0;
}

void
mon_acc_reset(struct mon_acc *a, int64_t t)
{
	memset(a, 0, sizeof(*a));
	a->t = t;
}

void
mon_acc_add(struct mon_acc *a, uint32_t id, uint32_t kind, uint64_t v)
{
	if (id == 0 || id >= MON_SERIES_MAX)
		return;
	a->kind[id] = (uint8_t)kind;
	a->count[id]++;
	a->sum[id] += v;
}

void
mon_acc_point(const struct mon_acc *a, struct mon_point *p)
{
	uint32_t	 id;

	p->res = MON_RES_MINUTE;
	p->t = a->t;
	p->nsamples = a->nsamples;
	p->nvals = 0;
	for (id = 1; id < MON_SERIES_MAX; id++) {
		if (a->kind[id] == 0 || a->count[id] == 0)
			continue;
		p->vals[p->nvals].series = id;
		p->vals[p->nvals].kind = a->kind[id];
		p->vals[p->nvals].v = a->kind[id] == MON_GAUGE ?
		    (a->sum[id] + a->count[id] / 2) / a->count[id] :
		    a->sum[id];
		p->nvals++;
	}
}

/* ---- an hour from its minutes ---- */

struct mon_hour_dom {
	struct mon_dom	 d;
	int64_t		 t;		/* the minute of its levels */
};

struct mon_hour {
	int64_t			 t;
	uint32_t		 nmins;
	struct mon_acc		 acc;	/* per minute: sums, counts */
	struct mon_hour_dom	*doms;
	size_t			 ndoms;
	size_t			 cap;
};

struct mon_hour *
mon_hour_new(int64_t hour_t)
{
	struct mon_hour	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->t = hour_t;
	return h;
}

void
mon_hour_free(struct mon_hour *h)
{
	if (h == NULL)
		return;
	free(h->doms);
	free(h);
}

int
mon_hour_add(struct mon_hour *h, const struct mon_point *m)
{
	struct mon_hour_dom	*v;
	size_t			 i;

	h->nmins++;
	for (i = 0; i < m->nvals; i++)
		mon_acc_add(&h->acc, m->vals[i].series, m->vals[i].kind,
		    m->vals[i].v);
	if (h->ndoms + m->ndoms > h->cap) {
		size_t	 cap = h->ndoms + m->ndoms + MON_HOUR_DOMS_GROW;

		if ((v = reallocarray(h->doms, cap, sizeof(*v))) == NULL)
			return -1;
		h->doms = v;
		h->cap = cap;
	}
	for (i = 0; i < m->ndoms; i++) {
		h->doms[h->ndoms].d = m->doms[i];
		h->doms[h->ndoms].t = m->t;
		h->ndoms++;
	}
	return 0;
}

/* By name (the rest row last), then by minute. */
static int
mon_hour_dom_cmp(const void *a, const void *b)
{
	const struct mon_hour_dom	*x = a, *y = b;
	int				 r;

	if ((x->d.set == MON_SET_REST) != (y->d.set == MON_SET_REST))
		return x->d.set == MON_SET_REST ? 1 : -1;
	if ((r = strcmp(x->d.gateway, y->d.gateway)) != 0)
		return r;
	if ((r = strcmp(x->d.domain, y->d.domain)) != 0)
		return r;
	return x->t < y->t ? -1 : x->t > y->t;
}

static int
mon_busiest_cmp(const void *a, const void *b)
{
	const struct mon_dom	*x = &((const struct mon_hour_dom *)a)->d;
	const struct mon_dom	*y = &((const struct mon_hour_dom *)b)->d;

	if (x->delivered != y->delivered)
		return x->delivered > y->delivered ? -1 : 1;
	if (x->queued != y->queued)
		return x->queued > y->queued ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static int
mon_deferred_cmp(const void *a, const void *b)
{
	const struct mon_dom	*x = &((const struct mon_hour_dom *)a)->d;
	const struct mon_dom	*y = &((const struct mon_hour_dom *)b)->d;

	if (x->deferred != y->deferred)
		return x->deferred > y->deferred ? -1 : 1;
	if (x->waiting != y->waiting)
		return x->waiting > y->waiting ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

int
mon_hour_finish(struct mon_hour *h, size_t n, struct mon_point *out)
{
	struct mon_hour_dom	*m = NULL;
	struct mon_dom		 rest;
	int64_t			 tmax = 0;
	size_t			 i, nm = 0, nb, nd;

	mon_acc_point(&h->acc, out);
	out->res = MON_RES_HOUR;
	out->t = h->t;
	out->nsamples = h->nmins;
	out->ndoms = 0;
	if (n > MON_TOP_MAX)
		n = MON_TOP_MAX;
	memset(&rest, 0, sizeof(rest));
	rest.set = MON_SET_REST;
	if (h->ndoms == 0)
		return 0;		/* no domain: no rest row either */
	if ((m = calloc(h->ndoms, sizeof(*m))) == NULL)
		return -1;
	qsort(h->doms, h->ndoms, sizeof(*h->doms), mon_hour_dom_cmp);
	for (i = 0; i < h->ndoms; i++)
		if (h->doms[i].t > tmax)
			tmax = h->doms[i].t;
	/* merge each domain's minutes; levels are the latest minute's */
	for (i = 0; i < h->ndoms; i++) {
		const struct mon_hour_dom	*x = &h->doms[i];

		if (x->d.set == MON_SET_REST) {
			rest.delivered += x->d.delivered;
			rest.deferred += x->d.deferred;
			rest.bounced += x->d.bounced;
			if (x->t == tmax) {
				rest.queued += x->d.queued;
				rest.waiting += x->d.waiting;
			}
			continue;
		}
		if (nm > 0 && strcmp(m[nm - 1].d.gateway, x->d.gateway) == 0 &&
		    strcmp(m[nm - 1].d.domain, x->d.domain) == 0) {
			struct mon_hour_dom	*d = &m[nm - 1];

			d->d.delivered += x->d.delivered;
			d->d.deferred += x->d.deferred;
			d->d.bounced += x->d.bounced;
			d->d.set |= x->d.set;
			/* sorted by minute: the later levels win */
			d->d.queued = x->d.queued;
			d->d.waiting = x->d.waiting;
			d->d.state = x->d.state;
			d->d.oldest = x->d.oldest;
			d->t = x->t;
			continue;
		}
		m[nm++] = *x;
	}
	/* the busiest n, then the most deferred n of those left */
	qsort(m, nm, sizeof(*m), mon_busiest_cmp);
	nb = nm < n ? nm : n;
	for (i = 0; i < nb; i++) {
		m[i].d.set = MON_SET_BUSIEST;
		out->doms[out->ndoms++] = m[i].d;
	}
	if (nm > nb)
		qsort(m + nb, nm - nb, sizeof(*m), mon_deferred_cmp);
	nd = nm - nb < n ? nm - nb : n;
	for (i = nb; i < nb + nd; i++) {
		if (m[i].d.deferred == 0 && m[i].d.waiting == 0)
			break;
		m[i].d.set = MON_SET_DEFERRED;
		out->doms[out->ndoms++] = m[i].d;
	}
	/* the rest: counts summed; levels only where the latest minute
	 * listed the domain (otherwise its rest row holds them already) */
	for (; i < nm; i++) {
		rest.delivered += m[i].d.delivered;
		rest.deferred += m[i].d.deferred;
		rest.bounced += m[i].d.bounced;
		if (m[i].t == tmax) {
			rest.queued += m[i].d.queued;
			rest.waiting += m[i].d.waiting;
		}
	}
	free(m);
	out->doms[out->ndoms++] = rest;
	return 0;
}
