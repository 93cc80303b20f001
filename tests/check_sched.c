/*
 * Unit tests of queued's scheduling policy (queued/queued_retry.c: retry
 * intervals, expiry and bounce decisions) and of the DSN text
 * (queued/queued_bounce.c: RFC 3464 shape).  Pure functions: no store, no
 * event loop.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "queued.h"

static const struct {
	long long	 initial, max;
	uint32_t	 n;
	long long	 want;
} interval_cases[] = {
	{ 2000, 8000, 0, 2000 },
	{ 2000, 8000, 1, 4000 },
	{ 2000, 8000, 2, 8000 },
	{ 2000, 8000, 3, 8000 },
	{ 2000, 8000, 200, 8000 },		/* no overflow */
	{ 300000, 14400000, 4, 4800000 },
	{ 300000, 14400000, 6, 14400000 },
	{ 5000, 3000, 0, 5000 },		/* max below initial */
	{ 0, 0, 0, 1000 },			/* nonsense: a floor */
	{ 1LL << 40, 1LL << 62, 30, 1LL << 62 },
};

START_TEST(retry_interval_table)
{
	long long	 got = qretry_interval(interval_cases[_i].initial,
			    interval_cases[_i].max, interval_cases[_i].n);

	ck_assert_msg(got == interval_cases[_i].want,
	    "case %d: interval(%lld, %lld, %u) = %lld, want %lld", _i,
	    interval_cases[_i].initial, interval_cases[_i].max,
	    interval_cases[_i].n, got, interval_cases[_i].want);
}
END_TEST

static const struct {
	uint32_t	 attempts;
	int		 max_retries;
	int64_t		 created, now;
	long long	 max_age;
	int		 want;
} decide_cases[] = {
	/* max_retries 0: bounce at the first temporary failure */
	{ 1, 0, 1000, 1000, 3600000, QRETRY_BOUNCE_RETRIES },
	/* 3 retries allowed: 4 failed attempts bounce */
	{ 1, 3, 1000, 1000, 3600000, QRETRY_DEFER },
	{ 3, 3, 1000, 1000, 3600000, QRETRY_DEFER },
	{ 4, 3, 1000, 1000, 3600000, QRETRY_BOUNCE_RETRIES },
	/* -1: only the age counts */
	{ 1000, -1, 1000, 1000, 3600000, QRETRY_DEFER },
	{ 1, -1, 1000, 1000 + 3601, 3600000, QRETRY_BOUNCE_AGE },
	{ 1, -1, 1000, 1000 + 3600, 3600000, QRETRY_DEFER },
	/* max_age 0: never expires */
	{ 1, -1, 0, 1LL << 40, 0, QRETRY_DEFER },
};

START_TEST(retry_decide_table)
{
	int	 got = qretry_decide(decide_cases[_i].attempts,
		    decide_cases[_i].max_retries, decide_cases[_i].created,
		    decide_cases[_i].now, decide_cases[_i].max_age);

	ck_assert_msg(got == decide_cases[_i].want, "case %d: got %d want %d",
	    _i, got, decide_cases[_i].want);
}
END_TEST

START_TEST(retry_expired_edges)
{
	ck_assert_int_eq(qretry_expired(100, 100, 1000), 0);
	/* arrival truncated to the second: 100.9 -> 101.0 is not 1 s */
	ck_assert_int_eq(qretry_expired(100, 101, 1000), 0);
	ck_assert_int_eq(qretry_expired(100, 102, 1000), 1);
	ck_assert_int_eq(qretry_expired(100, 100 + 86400 * 5, 0), 0);
	ck_assert_int_eq(qretry_expired(100, 99, 1000), 0);	/* clock back */
}
END_TEST

static char *
dsn_build(const struct qbounce_rcpt *rc, size_t n, const char *hdrs,
    size_t *lenp)
{
	struct qbounce_in	 in;

	memset(&in, 0, sizeof(in));
	in.hostname = "mx.test.example";
	in.qid = "000660EE162BE866";
	in.sender = "alice@origin.example";
	in.arrival = 1700000000;
	in.now = 1700000600;
	in.rcpts = rc;
	in.nrcpt = n;
	in.headers = hdrs;
	in.headerslen = hdrs ? strlen(hdrs) : 0;
	in.boundary = "bw-dsn-XYZ";
	return qbounce_build(&in, lenp);
}

/* Occurrences of needle in hay. */
static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

START_TEST(dsn_shape)
{
	const struct qbounce_rcpt	 rc[] = {
		{ "bad@perm.example", "5.1.1", "mx.perm.example[192.0.2.1]:25",
		  "550 5.1.1 no such user", NULL, QBOUNCE_FAILED, NULL, 0 },
		{ "worse@perm.example", "5.7.1", "",
		  "554 denied", NULL, QBOUNCE_FAILED, NULL, 0 },
	};
	size_t		 len = 0;
	char		*t = dsn_build(rc, 2,
			    "Subject: hi\r\nFrom: <alice@origin.example>\r\n\r\n",
			    &len);
	const char	*ds, *hd;

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(len, strlen(t));
	ck_assert_ptr_nonnull(strstr(t, "To: <alice@origin.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"bw-dsn-XYZ\""));
	ck_assert_int_eq(count(t, "\r\n--bw-dsn-XYZ\r\n"), 3);
	ck_assert_ptr_nonnull(strstr(t, "\r\n--bw-dsn-XYZ--\r\n"));
	ds = strstr(t, "Content-Type: message/delivery-status\r\n");
	hd = strstr(t, "Content-Type: text/rfc822-headers\r\n");
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: text/plain"));
	ck_assert_ptr_nonnull(ds);
	ck_assert_ptr_nonnull(hd);
	ck_assert(ds < hd);
	ck_assert_ptr_nonnull(strstr(ds, "Reporting-MTA: dns; mx.test.example"
	    "\r\n"));
	ck_assert_ptr_nonnull(strstr(ds, "Arrival-Date: Tue, 14 Nov 2023 "
	    "22:13:20 +0000\r\n"));
	ck_assert_int_eq(count(ds, "Final-Recipient: rfc822; "), 2);
	ck_assert_int_eq(count(ds, "Action: failed\r\n"), 2);
	ck_assert_ptr_nonnull(strstr(ds, "Status: 5.1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(ds, "Status: 5.7.1\r\n"));
	ck_assert_ptr_nonnull(strstr(ds, "Remote-MTA: dns; mx.perm.example"
	    "\r\n"));
	ck_assert_int_eq(count(ds, "Remote-MTA:"), 1);	/* none without relay */
	ck_assert_ptr_nonnull(strstr(ds, "Diagnostic-Code: smtp; 550 5.1.1 "
	    "no such user\r\n"));
	ck_assert_ptr_nonnull(strstr(hd, "Subject: hi\r\n"));
	/* every line ends in CRLF: no bare LF */
	for (size_t i = 0; i < len; i++)
		if (t[i] == '\n')
			ck_assert(i > 0 && t[i - 1] == '\r');
	free(t);
}
END_TEST

static const struct {
	const char	*dsn;
	const char	*want;
} status_cases[] = {
	{ "5.1.1", "Status: 5.1.1\r\n" },
	{ "4.4.1", "Status: 5.0.0\r\n" },	/* a DSN says failed: 5.x.y */
	{ "2.0.0", "Status: 5.0.0\r\n" },
	{ "", "Status: 5.0.0\r\n" },
	{ "5.1.1\r\nX-Evil: 1", "Status: 5.0.0\r\n" },
};

START_TEST(dsn_status_checked)
{
	struct qbounce_rcpt	 rc = { "r@x.example", status_cases[_i].dsn,
				    "", "550 no", NULL, QBOUNCE_FAILED, NULL,
				    0 };
	size_t			 len;
	char			*t = dsn_build(&rc, 1, NULL, &len);

	ck_assert_ptr_nonnull(t);
	ck_assert_msg(strstr(t, status_cases[_i].want) != NULL, "case %d", _i);
	ck_assert_ptr_null(strstr(t, "X-Evil"));
	free(t);
}
END_TEST

/* Remote text cannot add a header line to the report. */
START_TEST(dsn_cleans_control_bytes)
{
	struct qbounce_rcpt	 rc = { "r@x.example\r\nBcc: a@b", "5.1.1",
				    "h[1.2.3.4]:25", "550 no\r\nX-Inject: 1",
				    NULL, QBOUNCE_FAILED, "rfc822;o@x\r\nX-O: 1",
				    0 };
	size_t			 len;
	char			*t = dsn_build(&rc, 1, NULL, &len);

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(strstr(t, "\r\nBcc:"));
	ck_assert_ptr_null(strstr(t, "\r\nX-Inject:"));
	ck_assert_ptr_null(strstr(t, "\r\nX-O:"));
	free(t);
}
END_TEST

START_TEST(dsn_headers_without_final_crlf)
{
	size_t	 len;
	char	*t = dsn_build(&(struct qbounce_rcpt){ "r@x.example", "5.1.1",
		    "", "550", NULL, QBOUNCE_FAILED, NULL, 0 }, 1,
		    "Subject: cut", &len);

	ck_assert_ptr_nonnull(strstr(t, "Subject: cut\r\n\r\n--bw-dsn-XYZ--"));
	free(t);
}
END_TEST

/* Our own reasons go to the human part; Diagnostic-Code is the remote's. */
static const struct {
	const char	*name;
	const char	*reply;
	const char	*note;
	const char	*want_human;
	const char	*want_diag;	/* NULL: no Diagnostic-Code line */
} diag_cases[] = {
	{ "remote reply", "550 5.1.1 no such user", NULL,
	  "<r@x.example>: 550 5.1.1 no such user\r\n",
	  "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n" },
	{ "remote 4xx, expired here", "451 4.3.0 try later",
	  "expired in the queue",
	  "<r@x.example>: 451 4.3.0 try later (expired in the queue)\r\n",
	  "Diagnostic-Code: smtp; 451 4.3.0 try later\r\n" },
	{ "local reason only", "DNS service unavailable (dnscached)",
	  "too many retries",
	  "<r@x.example>: DNS service unavailable (dnscached) "
	  "(too many retries)\r\n", NULL },
	{ "multi-line remote", "550-5.1.1 first line", NULL,
	  "<r@x.example>: 550-5.1.1 first line\r\n",
	  "Diagnostic-Code: smtp; 550-5.1.1 first line\r\n" },
};

START_TEST(dsn_diagnostic_code)
{
	struct qbounce_rcpt	 rc = { "r@x.example", "5.4.7", "",
				    diag_cases[_i].reply, diag_cases[_i].note,
				    QBOUNCE_FAILED, NULL, 0 };
	size_t			 len;
	char			*t = dsn_build(&rc, 1, "Subject: x\r\n\r\n",
				    &len);

	ck_assert_ptr_nonnull(t);
	ck_assert_msg(strstr(t, diag_cases[_i].want_human) != NULL,
	    "%s: human part", diag_cases[_i].name);
	if (diag_cases[_i].want_diag != NULL)
		ck_assert_msg(strstr(t, diag_cases[_i].want_diag) != NULL,
		    "%s: diagnostic", diag_cases[_i].name);
	else
		ck_assert_msg(strstr(t, "Diagnostic-Code:") == NULL,
		    "%s: no diagnostic wanted", diag_cases[_i].name);
	free(t);
}
END_TEST

/* RFC 3461 parameters in the report: ENVID, ORCPT (RFC 3464 2.2.1, 2.3.1). */
START_TEST(dsn_envid_orcpt)
{
	struct qbounce_rcpt	 rc = { "r@x.example", "5.1.1", "", "550 no",
				    NULL, QBOUNCE_FAILED, "rfc822;orig@y.example",
				    0 };
	struct qbounce_in	 in;
	size_t			 len;
	char			*t;
	const char		*ds, *env, *rep, *orig, *fin;

	memset(&in, 0, sizeof(in));
	in.hostname = "mx.test.example";
	in.qid = "000660EE162BE866";
	in.sender = "alice@origin.example";
	in.rcpts = &rc;
	in.nrcpt = 1;
	in.boundary = "bw-dsn-XYZ";
	in.envid = "QQ314159 a+b";
	t = qbounce_build(&in, &len);
	ck_assert_ptr_nonnull(t);
	ds = strstr(t, "Content-Type: message/delivery-status\r\n");
	ck_assert_ptr_nonnull(ds);
	env = strstr(ds, "\r\nOriginal-Envelope-Id: QQ314159 a+b\r\n");
	rep = strstr(ds, "\r\nReporting-MTA: ");
	orig = strstr(ds, "\r\nOriginal-Recipient: rfc822;orig@y.example\r\n");
	fin = strstr(ds, "\r\nFinal-Recipient: rfc822; r@x.example\r\n");
	ck_assert_ptr_nonnull(env);
	ck_assert_ptr_nonnull(orig);
	ck_assert_ptr_nonnull(fin);
	/* the order of RFC 3464 2.2 and 2.3 */
	ck_assert(env < rep);
	ck_assert(orig < fin);
	free(t);
}
END_TEST

/* A delay warning: action delayed, status 4.x.x, the retry horizon. */
START_TEST(dsn_delayed)
{
	struct qbounce_rcpt	 rc[] = {
		{ "r@x.example", "4.4.1", "", "connect refused", NULL,
		  QBOUNCE_DELAYED, NULL, 1700432000 },
		{ "s@x.example", "5.1.1", "", "451 4.3.0 later", NULL,
		  QBOUNCE_DELAYED, NULL, 0 },
	};
	size_t			 len;
	char			*t = dsn_build(rc, 2, "Subject: x\r\n\r\n", &len);

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "Subject: Delayed Mail"));
	ck_assert_int_eq(count(t, "Action: delayed\r\n"), 2);
	ck_assert_ptr_nonnull(strstr(t, "Status: 4.4.1\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Status: 4.0.0\r\n"));	/* 5.x: no */
	ck_assert_int_eq(count(t, "Will-Retry-Until: "), 1);
	ck_assert_ptr_null(strstr(t, "Action: failed"));
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: text/rfc822-headers"));
	free(t);
}
END_TEST

/* NOTIFY=SUCCESS to a next hop without DSN: "relayed", 2.x.x; mixed with
 * a failure, the report is a failure report. */
START_TEST(dsn_relayed_and_failed)
{
	struct qbounce_rcpt	 rc[] = {
		{ "ok@x.example", "2.0.0", "mx.x.example[192.0.2.1]:25",
		  "250 2.0.0 Ok", NULL, QBOUNCE_RELAYED, NULL, 0 },
		{ "bad@x.example", "5.1.1", "", "550 5.1.1 no", NULL,
		  QBOUNCE_FAILED, NULL, 0 },
	};
	size_t			 len;
	char			*t = dsn_build(rc, 1, "Subject: x\r\n\r\n", &len);

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "Subject: Successful Mail Delivery"));
	ck_assert_ptr_nonnull(strstr(t, "Action: relayed\r\nStatus: 2.0.0\r\n"));
	ck_assert_ptr_null(strstr(t, "Action: failed"));
	free(t);
	t = dsn_build(rc, 2, "Subject: x\r\n\r\n", &len);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "Subject: Undelivered Mail"));
	ck_assert_ptr_nonnull(strstr(t, "Action: relayed\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Action: failed\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "<ok@x.example>: relayed: 250 2.0.0"));
	free(t);
}
END_TEST

/* RET=FULL: the whole message as message/rfc822, not the headers part. */
START_TEST(dsn_full_message)
{
	struct qbounce_rcpt	 rc = { "r@x.example", "5.1.1", "", "550 no",
				    NULL, QBOUNCE_FAILED, NULL, 0 };
	struct qbounce_in	 in;
	const char		*msg = "Subject: hi\r\n\r\nthe body line\r\n";
	size_t			 len;
	char			*t;

	memset(&in, 0, sizeof(in));
	in.hostname = "mx.test.example";
	in.qid = "000660EE162BE866";
	in.sender = "alice@origin.example";
	in.rcpts = &rc;
	in.nrcpt = 1;
	in.boundary = "bw-dsn-XYZ";
	in.body = msg;
	in.bodylen = strlen(msg);
	t = qbounce_build(&in, &len);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "Content-Type: message/rfc822\r\n\r\n"
	    "Subject: hi\r\n\r\nthe body line\r\n\r\n--bw-dsn-XYZ--\r\n"));
	ck_assert_ptr_null(strstr(t, "text/rfc822-headers"));
	free(t);
}
END_TEST

static Suite *
sched_suite(void)
{
	Suite	*s = suite_create("sched");
	TCase	*tc;

	tc = tcase_create("retry_interval");
	tcase_set_timeout(tc, 5);
	tcase_add_loop_test(tc, retry_interval_table, 0,
	    sizeof(interval_cases) / sizeof(interval_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("retry_decide");
	tcase_set_timeout(tc, 5);
	tcase_add_loop_test(tc, retry_decide_table, 0,
	    sizeof(decide_cases) / sizeof(decide_cases[0]));
	tcase_add_test(tc, retry_expired_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("dsn");
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, dsn_shape);
	tcase_add_loop_test(tc, dsn_status_checked, 0,
	    sizeof(status_cases) / sizeof(status_cases[0]));
	tcase_add_test(tc, dsn_cleans_control_bytes);
	tcase_add_test(tc, dsn_headers_without_final_crlf);
	tcase_add_loop_test(tc, dsn_diagnostic_code, 0,
	    (int)(sizeof(diag_cases) / sizeof(diag_cases[0])));
	tcase_add_test(tc, dsn_envid_orcpt);
	tcase_add_test(tc, dsn_delayed);
	tcase_add_test(tc, dsn_relayed_and_failed);
	tcase_add_test(tc, dsn_full_message);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(sched_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
