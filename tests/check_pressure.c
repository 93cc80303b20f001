/*
 * Unit tests of the queue pressure decision (queued/queued_pressure_mark.c):
 * each condition starts at its mark and ends only a tenth (at least one)
 * on the good side of it; the level is the worst condition; the reason
 * names the condition and the numbers at the change; a change is told
 * once; marks of 0 are off; an unknown free space keeps the disk state.
 * Pure: a sequence of inputs in, (changed, level, reason) out.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <string.h>

#include <check.h>

#include "queued.h"

#define MiB	(1024ULL * 1024)

/* One step of a sequence: the input and what must come out. */
struct step {
	uint64_t	 queued, open, free_mib;
	int		 want_changed;
	int		 want_level;
	const char	*want_reason;	/* NULL: not checked */
};

struct seq {
	const char	*name;
	long long	 queued_mark, open_mark, min_free_mib;
	struct step	 steps[12];
	int		 nsteps;
};

static const struct seq seqs[] = {
	{ "queued: on at the mark, off only below mark - a tenth",
	    100, 0, 0, {
		{ 99, 0, 0, 0, BW_PRESSURE_NONE, "" },
		{ 100, 0, 0, 1, BW_PRESSURE_SOFT,
		    "queued_messages 100>=100" },
		{ 150, 0, 0, 0, BW_PRESSURE_SOFT,
		    "queued_messages 100>=100" },	/* no news */
		{ 99, 0, 0, 0, BW_PRESSURE_SOFT, NULL },
		{ 90, 0, 0, 0, BW_PRESSURE_SOFT, NULL },
		{ 89, 0, 0, 1, BW_PRESSURE_NONE, "" },
		{ 99, 0, 0, 0, BW_PRESSURE_NONE, NULL },	/* no flap */
		{ 100, 0, 0, 1, BW_PRESSURE_SOFT, NULL },
	}, 8 },
	{ "a small mark: the margin is one", 5, 0, 0, {
		{ 5, 0, 0, 1, BW_PRESSURE_SOFT, "queued_messages 5>=5" },
		{ 4, 0, 0, 0, BW_PRESSURE_SOFT, NULL },
		{ 3, 0, 0, 1, BW_PRESSURE_NONE, "" },
	}, 3 },
	{ "open messages", 0, 20, 0, {
		{ 1000000, 19, 0, 0, BW_PRESSURE_NONE, NULL },	/* mark 0 */
		{ 0, 20, 0, 1, BW_PRESSURE_SOFT, "open_messages 20>=20" },
		{ 0, 18, 0, 0, BW_PRESSURE_SOFT, NULL },
		{ 0, 17, 0, 1, BW_PRESSURE_NONE, NULL },
	}, 4 },
	{ "disk: hard below twice queue_min_free_space, off at 2.2x",
	    0, 0, 100, {
		{ 0, 0, 200, 0, BW_PRESSURE_NONE, NULL },
		{ 0, 0, 199, 1, BW_PRESSURE_HARD, NULL },
		{ 0, 0, 219, 0, BW_PRESSURE_HARD, NULL },
		{ 0, 0, 220, 1, BW_PRESSURE_NONE, "" },
	}, 4 },
	{ "the worst condition is the level and the reason", 10, 10, 100, {
		{ 10, 0, 500, 1, BW_PRESSURE_SOFT, "queued_messages 10>=10" },
		{ 10, 10, 500, 0, BW_PRESSURE_SOFT,
		    "queued_messages 10>=10" },	/* open joins: no news */
		{ 10, 10, 150, 1, BW_PRESSURE_HARD, NULL },
		{ 0, 0, 150, 0, BW_PRESSURE_HARD, NULL },
		{ 0, 10, 500, 1, BW_PRESSURE_SOFT, "open_messages 10>=10" },
		{ 0, 0, 500, 1, BW_PRESSURE_NONE, "" },
	}, 6 },
	{ "queued_messages gives way to open_messages", 10, 10, 0, {
		{ 10, 10, 0, 1, BW_PRESSURE_SOFT, "queued_messages 10>=10" },
		{ 0, 10, 0, 1, BW_PRESSURE_SOFT, "open_messages 10>=10" },
	}, 2 },
};

START_TEST(pressure_sequence)
{
	const struct seq	*q = &seqs[_i];
	struct qpressure	 p;
	struct qpressure_in	 in;
	int			 k, changed;

	memset(&p, 0, sizeof(p));
	for (k = 0; k < q->nsteps; k++) {
		const struct step *s = &q->steps[k];

		memset(&in, 0, sizeof(in));
		in.queued = s->queued;
		in.queued_mark = q->queued_mark;
		in.open = s->open;
		in.open_mark = q->open_mark;
		in.min_free = q->min_free_mib * (long long)MiB;
		in.free_known = 1;
		in.free_bytes = s->free_mib * MiB;
		changed = qpressure_eval(&p, &in);
		ck_assert_msg(changed == s->want_changed && p.level ==
		    s->want_level, "%s, step %d: changed %d level %d, want %d "
		    "%d", q->name, k, changed, p.level, s->want_changed,
		    s->want_level);
		if (s->want_reason != NULL)
			ck_assert_msg(strcmp(p.reason, s->want_reason) == 0,
			    "%s, step %d: reason \"%s\", want \"%s\"", q->name,
			    k, p.reason, s->want_reason);
	}
}
END_TEST

/* The disk reason names both numbers. */
START_TEST(pressure_disk_reason)
{
	struct qpressure	 p;
	struct qpressure_in	 in;

	memset(&p, 0, sizeof(p));
	memset(&in, 0, sizeof(in));
	in.min_free = 1000;
	in.free_known = 1;
	in.free_bytes = 1999;
	ck_assert_int_eq(qpressure_eval(&p, &in), 1);
	ck_assert_str_eq(p.reason, "disk_free 1999<2000");
}
END_TEST

/* statvfs failing keeps the disk state either way; min_free 0 is off. */
START_TEST(pressure_disk_unknown)
{
	struct qpressure	 p;
	struct qpressure_in	 in;

	memset(&p, 0, sizeof(p));
	memset(&in, 0, sizeof(in));
	in.min_free = 1000;
	in.free_known = 0;
	ck_assert_int_eq(qpressure_eval(&p, &in), 0);	/* free 0, unknown */
	ck_assert_int_eq(p.level, BW_PRESSURE_NONE);
	in.free_known = 1;
	in.free_bytes = 10;
	ck_assert_int_eq(qpressure_eval(&p, &in), 1);
	ck_assert_int_eq(p.level, BW_PRESSURE_HARD);
	in.free_known = 0;
	in.free_bytes = 1000000;
	ck_assert_int_eq(qpressure_eval(&p, &in), 0);
	ck_assert_int_eq(p.level, BW_PRESSURE_HARD);
	in.min_free = 0;	/* a reload turned it off */
	ck_assert_int_eq(qpressure_eval(&p, &in), 1);
	ck_assert_int_eq(p.level, BW_PRESSURE_NONE);
}
END_TEST

/* The largest marks the table allows do not overflow. */
START_TEST(pressure_large_marks)
{
	struct qpressure	 p;
	struct qpressure_in	 in;

	memset(&p, 0, sizeof(p));
	memset(&in, 0, sizeof(in));
	in.min_free = 1024LL * 1024 * 1024 * 1024;	/* 1 TiB, the max */
	in.free_known = 1;
	in.free_bytes = UINT64_MAX;
	in.queued_mark = 1000000000;
	in.queued = UINT64_MAX;
	in.open_mark = 1000000;
	ck_assert_int_eq(qpressure_eval(&p, &in), 1);
	ck_assert_int_eq(p.level, BW_PRESSURE_SOFT);
	ck_assert_str_eq(p.reason,
	    "queued_messages 18446744073709551615>=1000000000");
}
END_TEST

static Suite *
pressure_suite(void)
{
	Suite	*s = suite_create("pressure");
	TCase	*tc;

	tc = tcase_create("marks");
	tcase_set_timeout(tc, 5);
	tcase_add_loop_test(tc, pressure_sequence, 0,
	    sizeof(seqs) / sizeof(seqs[0]));
	tcase_add_test(tc, pressure_disk_reason);
	tcase_add_test(tc, pressure_disk_unknown);
	tcase_add_test(tc, pressure_large_marks);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(pressure_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
