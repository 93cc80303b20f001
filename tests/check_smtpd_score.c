/*
 * Unit tests of the reputation score combiner (smtpd/smtpd_score.c): the
 * zone encoding and its edges, the mean of zones, list weights and
 * return-code masks, clamping, "none" when nothing answered, and hostile
 * answers (outside 127/8, RFC 5782 error codes, undecodable scores, more
 * answers than are looked at) that must never count as a listing.
 */
#include "bw_autoconf.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "smtpd_score.h"

#define A(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
			 (uint32_t)(c) << 8 | (uint32_t)(d))

static struct smtpd_rep_source
zone(int weight, enum smtpd_rep_state st, uint32_t a)
{
	struct smtpd_rep_source	 s;

	memset(&s, 0, sizeof(s));
	s.kind = SMTPD_REP_ZONE;
	s.weight = weight;
	s.state = st;
	if (st == SMTPD_REP_FOUND) {
		s.answers[0] = a;
		s.nanswers = 1;
	}
	return s;
}

static struct smtpd_rep_source
list(int weight, uint8_t mask, enum smtpd_rep_state st, uint32_t a)
{
	struct smtpd_rep_source	 s = zone(weight, st, a);

	s.kind = SMTPD_REP_LIST;
	s.list_mask = mask;
	return s;
}

static struct smtpd_score
combine(const struct smtpd_rep_source *src, size_t n)
{
	struct smtpd_score	 sc;

	smtpd_score_combine(src, n, &sc);
	return sc;
}

START_TEST(score_decode)
{
	static const struct {
		uint32_t	 a;
		int		 ok;
		int		 tenths;
	} cases[] = {
		{ A(127, 0, 0, 0), 1, 0 },
		{ A(127, 1, 0, 0), 1, 0 },		/* -0.0 */
		{ A(127, 1, 3, 5), 1, -35 },
		{ A(127, 0, 7, 9), 1, 79 },
		{ A(127, 0, 10, 0), 1, 100 },
		{ A(127, 1, 10, 0), 1, -100 },
		{ A(127, 0, 10, 1), 0, 0 },		/* over 10.0 */
		{ A(127, 0, 11, 0), 0, 0 },
		{ A(127, 0, 0, 10), 0, 0 },		/* tenths 0-9 */
		{ A(127, 2, 0, 0), 0, 0 },		/* sign 0 or 1 */
		{ A(127, 255, 255, 254), 0, 0 },	/* RFC 5782 error */
		{ A(10, 0, 0, 1), 0, 0 },		/* not 127/8 */
		{ A(0, 0, 0, 0), 0, 0 },
		{ 0xffffffffu, 0, 0 },
	};
	size_t	 i;
	int	 t;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = 12345;
		ck_assert_msg((smtpd_score_decode(cases[i].a, &t) == 0) ==
		    cases[i].ok, "case %zu", i);
		if (cases[i].ok)
			ck_assert_int_eq(t, cases[i].tenths);
	}
}
END_TEST

START_TEST(score_none)
{
	struct smtpd_rep_source	 s[2];
	struct smtpd_score	 sc;

	sc = combine(NULL, 0);
	ck_assert_int_eq(sc.known, 0);
	s[0] = zone(1, SMTPD_REP_FAILED, 0);
	s[1] = list(-50, 0, SMTPD_REP_FAILED, 0);
	sc = combine(s, 2);
	ck_assert_int_eq(sc.known, 0);
	/* an error answer is no answer: still none */
	s[1] = list(-50, 0, SMTPD_REP_FOUND, A(127, 255, 255, 254));
	sc = combine(s, 2);
	ck_assert_int_eq(sc.known, 0);
	ck_assert_int_eq(sc.listed, 0);
	ck_assert_int_eq(sc.ignored, 1);
	/* NXDOMAIN is an answer: known, neutral */
	s[1] = list(-50, 0, SMTPD_REP_NOTFOUND, 0);
	sc = combine(s, 2);
	ck_assert_int_eq(sc.known, 1);
	ck_assert_int_eq(sc.tenths, 0);
}
END_TEST

START_TEST(score_zones_mean)
{
	struct smtpd_rep_source	 s[3];
	struct smtpd_score	 sc;

	s[0] = zone(1, SMTPD_REP_FOUND, A(127, 1, 3, 5));
	sc = combine(s, 1);
	ck_assert_int_eq(sc.known, 1);
	ck_assert_int_eq(sc.tenths, -35);
	/* weights 1 and 3: (-3.5 + 3 * 2.0) / 4 = 0.625 -> 0.6 */
	s[1] = zone(3, SMTPD_REP_FOUND, A(127, 0, 2, 0));
	sc = combine(s, 2);
	ck_assert_int_eq(sc.tenths, 6);
	/* (3.5 + 0) / 2 = 1.75 -> 1.8, half away from zero, both signs */
	s[0] = zone(1, SMTPD_REP_FOUND, A(127, 0, 3, 5));
	s[1] = zone(1, SMTPD_REP_FOUND, A(127, 0, 0, 0));
	ck_assert_int_eq(combine(s, 2).tenths, 18);
	s[0] = zone(1, SMTPD_REP_FOUND, A(127, 1, 3, 5));
	ck_assert_int_eq(combine(s, 2).tenths, -18);
	/* a zone that failed or does not know the address is left out */
	s[2] = zone(5, SMTPD_REP_FAILED, 0);
	ck_assert_int_eq(combine(s, 3).tenths, -18);
	s[2] = zone(5, SMTPD_REP_NOTFOUND, 0);
	ck_assert_int_eq(combine(s, 3).tenths, -18);
}
END_TEST

START_TEST(score_lists)
{
	struct smtpd_rep_source	 s[4];
	struct smtpd_score	 sc;

	s[0] = zone(1, SMTPD_REP_FOUND, A(127, 0, 2, 0));
	s[1] = list(-50, 0, SMTPD_REP_FOUND, A(127, 0, 0, 2));
	sc = combine(s, 2);
	ck_assert_int_eq(sc.tenths, -30);
	ck_assert_int_eq(sc.listed, 1);
	/* an allow list */
	s[2] = list(25, 0, SMTPD_REP_FOUND, A(127, 0, 0, 3));
	ck_assert_int_eq(combine(s, 3).tenths, -5);
	/* a mask: 127.0.0.4 does not count for mask 0x02 ... */
	s[1] = list(-50, 0x02, SMTPD_REP_FOUND, A(127, 0, 0, 4));
	sc = combine(s, 2);
	ck_assert_int_eq(sc.tenths, 20);
	ck_assert_int_eq(sc.listed, 0);
	/* ... but a second answer 127.0.0.10 does */
	s[1].answers[1] = A(127, 0, 0, 10);
	s[1].nanswers = 2;
	ck_assert_int_eq(combine(s, 2).tenths, -30);
	/* lists alone: 0 plus their weights */
	s[0] = list(-20, 0, SMTPD_REP_FOUND, A(127, 0, 0, 2));
	s[1] = list(-20, 0, SMTPD_REP_NOTFOUND, 0);
	ck_assert_int_eq(combine(s, 2).tenths, -20);
}
END_TEST

START_TEST(score_list_returns)
{
	static const uint32_t	 ret[] = { A(127, 0, 0, 3), A(127, 0, 15, 2) };
	struct smtpd_rep_source	 s[1];
	struct smtpd_score	 sc;

	/* an answer among "returns" counts, even outside 127.0.0.0/24 */
	s[0] = list(25, 0, SMTPD_REP_FOUND, A(127, 0, 15, 2));
	s[0].returns = ret;
	s[0].nreturns = 2;
	sc = combine(s, 1);
	ck_assert_int_eq(sc.known, 1);
	ck_assert_int_eq(sc.tenths, 25);
	ck_assert_int_eq(sc.listed, 1);
	/* another in 127/8 is an answer, not a listing */
	s[0].answers[0] = A(127, 0, 0, 4);
	sc = combine(s, 1);
	ck_assert_int_eq(sc.known, 1);
	ck_assert_int_eq(sc.tenths, 0);
	ck_assert_int_eq(sc.listed, 0);
	ck_assert_int_eq(sc.ignored, 0);
	/* ... one of several answers is enough */
	s[0].answers[1] = A(127, 0, 0, 3);
	s[0].nanswers = 2;
	ck_assert_int_eq(combine(s, 1).tenths, 25);
	/* hostile answers still count for nothing, whatever "returns" */
	s[0].answers[0] = A(10, 0, 15, 2);
	s[0].answers[1] = A(127, 255, 255, 254);
	sc = combine(s, 1);
	ck_assert_int_eq(sc.known, 0);
	ck_assert_int_eq(sc.listed, 0);
	ck_assert_int_eq(sc.ignored, 2);
}
END_TEST

START_TEST(score_clamp)
{
	struct smtpd_rep_source	 s[4];
	size_t			 i;

	for (i = 0; i < 4; i++)
		s[i] = list(-80, 0, SMTPD_REP_FOUND, A(127, 0, 0, 2));
	ck_assert_int_eq(combine(s, 4).tenths, SMTPD_SCORE_MIN);
	for (i = 0; i < 4; i++)
		s[i] = list(80, 0, SMTPD_REP_FOUND, A(127, 0, 0, 2));
	ck_assert_int_eq(combine(s, 4).tenths, SMTPD_SCORE_MAX);
	/* a block list cannot be outvoted past the range by allow lists
	 * whose sum is huge: the sum is bounded before it is added */
	s[0] = zone(1, SMTPD_REP_FOUND, A(127, 1, 10, 0));
	for (i = 1; i < 4; i++)
		s[i] = list(1000000, 0, SMTPD_REP_FOUND, A(127, 0, 0, 2));
	ck_assert_int_eq(combine(s, 4).tenths, SMTPD_SCORE_MAX);
}
END_TEST

START_TEST(score_hostile)
{
	struct smtpd_rep_source	 s[2];
	struct smtpd_score	 sc;
	size_t			 i;

	/* a wildcard zone answering outside 127/8 lists nobody */
	s[0] = list(-50, 0, SMTPD_REP_FOUND, A(198, 51, 100, 7));
	sc = combine(s, 1);
	ck_assert_int_eq(sc.known, 0);
	ck_assert_int_eq(sc.listed, 0);
	ck_assert_int_eq(sc.ignored, 1);
	/* 127.0.0.1 is not a listing (RFC 5782 5: test/unused) */
	s[0] = list(-50, 0, SMTPD_REP_FOUND, A(127, 0, 0, 1));
	ck_assert_int_eq(combine(s, 1).known, 0);
	/* a zone's undecodable answer is skipped, a later one used */
	s[0] = zone(1, SMTPD_REP_FOUND, A(127, 0, 99, 0));
	s[0].answers[1] = A(127, 1, 1, 0);
	s[0].nanswers = 2;
	sc = combine(s, 1);
	ck_assert_int_eq(sc.tenths, -10);
	ck_assert_int_eq(sc.ignored, 1);
	/* a zone weight of 0 or less is no weight */
	s[1] = zone(0, SMTPD_REP_FOUND, A(127, 0, 10, 0));
	ck_assert_int_eq(combine(s, 2).tenths, -10);
	/* more answers than are looked at: only the first ones count */
	s[0] = list(-50, 0, SMTPD_REP_FOUND, 0);
	for (i = 0; i < SMTPD_SCORE_ANSWERS_MAX; i++)
		s[0].answers[i] = A(8, 8, 8, 8);
	s[0].nanswers = SIZE_MAX;
	sc = combine(s, 1);
	ck_assert_int_eq(sc.known, 0);
	ck_assert_int_eq(sc.ignored, SMTPD_SCORE_ANSWERS_MAX);
}
END_TEST

START_TEST(score_text)
{
	struct smtpd_score	 sc = { 0, 0, 0, 0 };
	char			 buf[16];

	ck_assert_str_eq(smtpd_score_text(&sc, buf, sizeof(buf)), "none");
	sc.known = 1;
	ck_assert_str_eq(smtpd_score_text(&sc, buf, sizeof(buf)), "+0.0");
	sc.tenths = -35;
	ck_assert_str_eq(smtpd_score_text(&sc, buf, sizeof(buf)), "-3.5");
	sc.tenths = 100;
	ck_assert_str_eq(smtpd_score_text(&sc, buf, sizeof(buf)), "+10.0");
	sc.tenths = -5;
	ck_assert_str_eq(smtpd_score_text(&sc, buf, sizeof(buf)), "-0.5");
	/* cut, terminated */
	ck_assert_str_eq(smtpd_score_text(&sc, buf, 3), "-0");
}
END_TEST

static Suite *
score_suite(void)
{
	Suite	*s = suite_create("smtpd_score");
	TCase	*tc = tcase_create("score");

	tcase_add_test(tc, score_decode);
	tcase_add_test(tc, score_none);
	tcase_add_test(tc, score_zones_mean);
	tcase_add_test(tc, score_lists);
	tcase_add_test(tc, score_list_returns);
	tcase_add_test(tc, score_clamp);
	tcase_add_test(tc, score_hostile);
	tcase_add_test(tc, score_text);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(score_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
