/*
 * The monitor's history records (ctl/mon_rec.c): slots, the record layout
 * and its checks, the minute accumulator, an hour from its minutes.
 */
#include "bw_autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "mon_rec.h"

#define T0	((int64_t)1767225600)	/* 2026-01-01 00:00:00 UTC */

static struct mon_point *
point_new(void)
{
	struct mon_point	*p = calloc(1, sizeof(*p));

	ck_assert_ptr_nonnull(p);
	return p;
}

static struct mon_dom *
dom_add(struct mon_point *p, uint32_t set, const char *gw, const char *dom,
    uint64_t queued, uint64_t delivered, uint64_t deferred)
{
	struct mon_dom	*d = &p->doms[p->ndoms++];

	memset(d, 0, sizeof(*d));
	d->set = set;
	strlcpy(d->gateway, gw, sizeof(d->gateway));
	strlcpy(d->domain, dom, sizeof(d->domain));
	d->queued = queued;
	d->waiting = deferred > 0 ? queued : 0;
	d->delivered = delivered;
	d->deferred = deferred;
	d->oldest = T0 - 100;
	return d;
}

START_TEST(slots_wrap)
{
	/* 48 hours of minutes, 90 days of hours, then the same slots */
	ck_assert_uint_eq(mon_slot(MON_RES_MINUTE, T0),
	    mon_slot(MON_RES_MINUTE, T0 + 2880 * 60));
	ck_assert_uint_ne(mon_slot(MON_RES_MINUTE, T0),
	    mon_slot(MON_RES_MINUTE, T0 + 60));
	ck_assert_uint_eq(mon_slot(MON_RES_MINUTE, T0),
	    mon_slot(MON_RES_MINUTE, T0 + 59));
	ck_assert_uint_eq(mon_slot(MON_RES_HOUR, T0),
	    mon_slot(MON_RES_HOUR, T0 + 2160 * 3600LL));
	ck_assert_uint_ne(mon_slot(MON_RES_HOUR, T0),
	    mon_slot(MON_RES_HOUR, T0 + 3600 * 2159LL));
	ck_assert_uint_lt(mon_slot(MON_RES_MINUTE, T0 + 123456789),
	    MON_MINUTE_SLOTS);
	ck_assert_uint_lt(mon_slot(MON_RES_HOUR, T0 + 123456789),
	    MON_HOUR_SLOTS);
	ck_assert_int_eq(mon_res_start(MON_RES_MINUTE, T0 + 59), T0);
	ck_assert_int_eq(mon_res_start(MON_RES_HOUR, T0 + 3599), T0);
	ck_assert_int_eq(mon_res_start(MON_RES_MINUTE, -5), 0);
}
END_TEST

START_TEST(key_big_endian)
{
	unsigned char	 k[MON_KEY_LEN];

	mon_key(k, MON_RES_HOUR, 0x01020304);
	ck_assert_uint_eq(k[0], MON_RES_HOUR);
	ck_assert_uint_eq(k[1], 1);
	ck_assert_uint_eq(k[2], 2);
	ck_assert_uint_eq(k[3], 3);
	ck_assert_uint_eq(k[4], 4);
}
END_TEST

START_TEST(record_round_trip)
{
	struct mon_point	*p = point_new(), *q = point_new();
	unsigned char		*buf;
	char			 longdom[BW_DOMAIN_MAX + 1];
	size_t			 len, bufsz = mon_rec_max(3, 3);

	buf = malloc(bufsz);
	memset(longdom, 'x', BW_DOMAIN_MAX);
	longdom[BW_DOMAIN_MAX] = '\0';
	p->res = MON_RES_MINUTE;
	p->t = T0;
	p->nsamples = 6;
	ck_assert_int_eq(mon_point_put(p, 1, MON_DELTA, 5), 0);
	ck_assert_int_eq(mon_point_put(p, 1, MON_DELTA, 7), 0);
	ck_assert_int_eq(mon_point_put(p, 9, MON_GAUGE, 3), 0);
	ck_assert_int_eq(mon_point_put(p, 9, MON_GAUGE, 4), 0);
	dom_add(p, MON_SET_BUSIEST, "default", "a.example", 10, 3, 0);
	dom_add(p, MON_SET_BUSIEST | MON_SET_DEFERRED, "gw2", longdom, 4, 0,
	    2);
	dom_add(p, MON_SET_REST, "", "", 1000, 1, 1);
	len = mon_rec_encode(p, buf, bufsz);
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_le(len, bufsz);
	ck_assert_uint_eq(len % 8, 0);
	ck_assert_int_eq(mon_rec_decode(buf, len, q), 0);
	ck_assert_int_eq(q->t, T0);
	ck_assert_uint_eq(q->nsamples, 6);
	ck_assert_uint_eq(q->nvals, 2);
	ck_assert_uint_eq(mon_point_val(q, 1)->v, 12);	/* deltas add */
	ck_assert_uint_eq(mon_point_val(q, 9)->v, 4);	/* a gauge is set */
	ck_assert_ptr_null(mon_point_val(q, 2));
	ck_assert_uint_eq(q->ndoms, 3);
	ck_assert_str_eq(q->doms[0].domain, "a.example");
	ck_assert_str_eq(q->doms[1].domain, longdom);
	ck_assert_str_eq(q->doms[1].gateway, "gw2");
	ck_assert_uint_eq(q->doms[1].deferred, 2);
	ck_assert_int_eq(q->doms[0].oldest, T0 - 100);
	ck_assert_uint_eq(q->doms[2].set, MON_SET_REST);
	ck_assert_uint_eq(q->doms[2].queued, 1000);
	/* too small a buffer: nothing */
	ck_assert_uint_eq(mon_rec_encode(p, buf, len - 1), 0);
	free(buf);
	free(p);
	free(q);
}
END_TEST

START_TEST(record_checks)
{
	struct mon_point	*p = point_new(), *q = point_new();
	struct mon_rec_hdr	 h;
	unsigned char		 buf[4096], bad[4096];
	size_t			 len, i;

	p->res = MON_RES_HOUR;
	p->t = T0;
	mon_point_put(p, 3, MON_DELTA, 1);
	dom_add(p, MON_SET_DEFERRED, "default", "b.example", 1, 0, 1);
	len = mon_rec_encode(p, buf, sizeof(buf));
	ck_assert_uint_gt(len, 0);
	/* every shorter record, and one with a byte more, is refused */
	for (i = 0; i < len; i++)
		ck_assert_int_eq(mon_rec_decode(buf, i, q), -1);
	memcpy(bad, buf, len);
	bad[len] = 0;
	ck_assert_int_eq(mon_rec_decode(bad, len + 1, q), -1);
	/* a version, a resolution or counts out of range */
	memcpy(&h, buf, sizeof(h));
	h.version = 2;
	memcpy(bad, &h, sizeof(h));
	ck_assert_int_eq(mon_rec_decode(bad, len, q), -1);
	memcpy(&h, buf, sizeof(h));
	h.res = MON_RES__COUNT;
	memcpy(bad, &h, sizeof(h));
	ck_assert_int_eq(mon_rec_decode(bad, len, q), -1);
	memcpy(&h, buf, sizeof(h));
	h.ndoms = MON_DOMS_MAX + 1;
	memcpy(bad, &h, sizeof(h));
	ck_assert_int_eq(mon_rec_decode(bad, len, q), -1);
	memcpy(&h, buf, sizeof(h));
	h.nvals = 0xffffffffu;
	memcpy(bad, &h, sizeof(h));
	ck_assert_int_eq(mon_rec_decode(bad, len, q), -1);
	/* a gateway name longer than the field */
	memcpy(bad, buf, len);
	bad[sizeof(h) + sizeof(struct mon_val) + 2] = BW_NAME_MAX;
	ck_assert_int_eq(mon_rec_decode(bad, len, q), -1);
	/* random bytes never crash it */
	srandom(7);
	for (i = 0; i < 20000; i++) {
		memcpy(bad, buf, len);
		bad[random() % len] = (unsigned char)random();
		(void)mon_rec_decode(bad, (size_t)random() % (len + 1), q);
	}
	free(p);
	free(q);
}
END_TEST

START_TEST(record_bounded)
{
	struct mon_point	*p = point_new(), *q = point_new();
	unsigned char		*buf;
	size_t			 max = mon_rec_max(MON_SERIES_MAX, MON_DOMS_MAX);
	size_t			 i, len;
	char			 dom[BW_DOMAIN_MAX + 1];

	/* the largest point fits the largest record */
	buf = malloc(max);
	for (i = 1; i < MON_SERIES_MAX; i++)
		ck_assert_int_eq(mon_point_put(p, (uint32_t)i, MON_DELTA, i),
		    0);
	ck_assert_int_eq(mon_point_put(p, MON_SERIES_MAX, MON_DELTA, 1), 0);
	ck_assert_int_eq(mon_point_put(p, MON_SERIES_MAX + 1, MON_DELTA, 1),
	    -1);
	memset(dom, 'd', BW_DOMAIN_MAX);
	dom[BW_DOMAIN_MAX] = '\0';
	for (i = 0; i < MON_DOMS_MAX; i++)
		dom_add(p, MON_SET_BUSIEST, "0123456789012345678901234567890",
		    dom, i, i, 0);
	len = mon_rec_encode(p, buf, max);
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_le(len, max);
	ck_assert_int_eq(mon_rec_decode(buf, len, q), 0);
	ck_assert_uint_eq(q->ndoms, MON_DOMS_MAX);
	ck_assert_uint_eq(q->nvals, MON_SERIES_MAX);
	free(buf);
	free(p);
	free(q);
}
END_TEST

START_TEST(acc_minute)
{
	struct mon_acc		*a = calloc(1, sizeof(*a));
	struct mon_point	*p = point_new();

	mon_acc_reset(a, T0);
	a->nsamples = 3;
	mon_acc_add(a, 1, MON_DELTA, 4);
	mon_acc_add(a, 1, MON_DELTA, 0);
	mon_acc_add(a, 1, MON_DELTA, 6);
	mon_acc_add(a, 2, MON_GAUGE, 10);
	mon_acc_add(a, 2, MON_GAUGE, 20);	/* seen in two samples */
	mon_acc_add(a, 0, MON_DELTA, 99);	/* no such id */
	mon_acc_add(a, MON_SERIES_MAX, MON_DELTA, 99);
	mon_acc_point(a, p);
	ck_assert_int_eq(p->t, T0);
	ck_assert_int_eq(p->res, MON_RES_MINUTE);
	ck_assert_uint_eq(p->nsamples, 3);
	ck_assert_uint_eq(p->nvals, 2);
	ck_assert_uint_eq(mon_point_val(p, 1)->v, 10);
	ck_assert_uint_eq(mon_point_val(p, 1)->kind, MON_DELTA);
	ck_assert_uint_eq(mon_point_val(p, 2)->v, 15);
	free(a);
	free(p);
}
END_TEST

START_TEST(hour_from_minutes)
{
	struct mon_point	*m1 = point_new(), *m2 = point_new();
	struct mon_point	*out = point_new();
	struct mon_hour		*h;

	m1->t = T0;
	m2->t = T0 + 60;
	mon_point_put(m1, 1, MON_DELTA, 5);
	mon_point_put(m2, 1, MON_DELTA, 7);
	mon_point_put(m1, 2, MON_GAUGE, 100);
	mon_point_put(m2, 2, MON_GAUGE, 200);
	mon_point_put(m2, 3, MON_GAUGE, 8);	/* in one minute only */
	dom_add(m1, MON_SET_BUSIEST, "default", "a.example", 9, 10, 0);
	dom_add(m1, MON_SET_BUSIEST, "default", "b.example", 3, 4, 0);
	dom_add(m1, MON_SET_DEFERRED, "default", "c.example", 6, 0, 6);
	dom_add(m1, MON_SET_REST, "", "", 50, 1, 2);
	dom_add(m2, MON_SET_BUSIEST, "default", "b.example", 2, 20, 0);
	dom_add(m2, MON_SET_BUSIEST, "default", "a.example", 7, 1, 0);
	dom_add(m2, MON_SET_DEFERRED, "default", "d.example", 5, 0, 3);
	dom_add(m2, MON_SET_REST, "", "", 40, 2, 1);
	ck_assert_ptr_nonnull(h = mon_hour_new(T0));
	/* in any order */
	ck_assert_int_eq(mon_hour_add(h, m2), 0);
	ck_assert_int_eq(mon_hour_add(h, m1), 0);
	ck_assert_int_eq(mon_hour_finish(h, 1, out), 0);
	mon_hour_free(h);
	ck_assert_int_eq(out->res, MON_RES_HOUR);
	ck_assert_int_eq(out->t, T0);
	ck_assert_uint_eq(out->nsamples, 2);
	ck_assert_uint_eq(mon_point_val(out, 1)->v, 12);
	ck_assert_uint_eq(mon_point_val(out, 2)->v, 150);
	ck_assert_uint_eq(mon_point_val(out, 3)->v, 8);
	/* busiest by delivered: b (24) over a (11); deferred: c (6 over
	 * d's 3); a and d in the rest */
	ck_assert_uint_eq(out->ndoms, 3);
	ck_assert_str_eq(out->doms[0].domain, "b.example");
	ck_assert_uint_eq(out->doms[0].set, MON_SET_BUSIEST);
	ck_assert_uint_eq(out->doms[0].delivered, 24);
	ck_assert_uint_eq(out->doms[0].queued, 2);	/* the later minute */
	ck_assert_str_eq(out->doms[1].domain, "c.example");
	ck_assert_uint_eq(out->doms[1].set, MON_SET_DEFERRED);
	ck_assert_uint_eq(out->doms[1].deferred, 6);
	ck_assert_uint_eq(out->doms[2].set, MON_SET_REST);
	/* rest: both rest rows' counts, a's and d's; levels of the latest
	 * minute only (its rest row 40, a 7 and d 5, listed in it) */
	ck_assert_uint_eq(out->doms[2].delivered, 1 + 2 + 10 + 1);
	ck_assert_uint_eq(out->doms[2].deferred, 2 + 1 + 3);
	ck_assert_uint_eq(out->doms[2].queued, 40 + 7 + 5);
	/* an hour of no minute: no domains, no values */
	ck_assert_ptr_nonnull(h = mon_hour_new(T0));
	ck_assert_int_eq(mon_hour_finish(h, 25, out), 0);
	ck_assert_uint_eq(out->ndoms, 0);
	ck_assert_uint_eq(out->nvals, 0);
	mon_hour_free(h);
	free(m1);
	free(m2);
	free(out);
}
END_TEST

static Suite *
hist_suite(void)
{
	Suite	*s = suite_create("hist");
	TCase	*tc = tcase_create("records");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, slots_wrap);
	tcase_add_test(tc, key_big_endian);
	tcase_add_test(tc, record_round_trip);
	tcase_add_test(tc, record_checks);
	tcase_add_test(tc, record_bounded);
	tcase_add_test(tc, acc_minute);
	tcase_add_test(tc, hour_from_minutes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(hist_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
