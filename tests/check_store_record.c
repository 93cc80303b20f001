/*
 * Unit tests of queued's record layouts (queued/queued_record.c): the
 * envelope and recipient this release writes (packed, version 6) read
 * back whole, scan flags included, and broken packed records are refused;
 * envelopes written by earlier releases (version 3: no scan flags, 1048
 * bytes; version 2: no DSN fields, 928 bytes) still read, with the fields
 * they lack as zero even when the reader's buffer held other bytes; sizes
 * that do not match their version, unknown versions and unknown scan bits
 * are refused.  Pure: no store, no event loop.
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "util.h"
#include "queued.h"

/* A message as queued_smtpd.c would have it at commit. */
static void
msg_make(struct qmsg *m, uint32_t scan)
{
	memset(m, 0, sizeof(*m));
	strlcpy(m->qid, "0123456789ABCDEF", sizeof(m->qid));
	m->flags = BW_MSGF_8BITMIME;
	m->created = 1700000000;
	m->size = 70000;
	m->nrcpt = 3;
	m->nexts = 2;
	strlcpy(m->sender, "sender@example.com", sizeof(m->sender));
	strlcpy(m->helo, "client.example.com", sizeof(m->helo));
	strlcpy(m->client_addr, "192.0.2.7", sizeof(m->client_addr));
	strlcpy(m->client_name, "client.example.com", sizeof(m->client_name));
	strlcpy(m->listener, "public", sizeof(m->listener));
	m->dsn_ret = BW_DSN_RET_HDRS;
	strlcpy(m->envid, "env-1", sizeof(m->envid));
	m->scan_flags = scan;
}

static void
dbt_of(DBT *d, void *data, size_t size)
{
	memset(d, 0, sizeof(*d));
	d->data = data;
	d->size = (uint32_t)size;
}

static void
env_same(const struct qenv_rec *a, const struct qenv_rec *b)
{
	ck_assert_uint_eq(a->flags, b->flags);
	ck_assert_int_eq(a->created, b->created);
	ck_assert_uint_eq(a->size, b->size);
	ck_assert_uint_eq(a->nrcpt, b->nrcpt);
	ck_assert_uint_eq(a->nchunks, b->nchunks);
	ck_assert_str_eq(a->sender, b->sender);
	ck_assert_str_eq(a->helo, b->helo);
	ck_assert_str_eq(a->client_addr, b->client_addr);
	ck_assert_str_eq(a->listener, b->listener);
	ck_assert_str_eq(a->gateway, b->gateway);
}

static const uint32_t scan_cases[] = {
	0, BW_SCAN_SPAM, BW_SCAN_VIRUS, BW_SCAN_SPAM | BW_SCAN_VIRUS,
};

/* What this release writes, it reads: every scan combination. */
START_TEST(env_round_trip)
{
	struct qmsg	 m;
	struct qenv_rec	 e, got;
	unsigned char	 packed[sizeof(struct qenv_rec)];
	char		 why[256];
	size_t		 len;
	DBT		 d;

	msg_make(&m, scan_cases[_i]);
	qstore_env_fill(&e, &m);
	ck_assert_uint_eq(e.version, QSTORE_VERSION);
	ck_assert_str_eq(e.gateway, QUEUED_GATEWAY_DEFAULT);
	e.delay_due = 1700000600;
	e.dsn_flags = QENV_DSN_DELAY_SENT;
	len = qstore_env_pack(&e, packed);
	/* the numbers and the strings, not the struct's 1 KB of fields */
	ck_assert_uint_lt(len, 200);
	dbt_of(&d, packed, len);
	memset(&got, 0xa5, sizeof(got));
	ck_assert_msg(qstore_env_read(&d, &got, why, sizeof(why)) == 0,
	    "%s", why);
	env_same(&e, &got);
	ck_assert_uint_eq(got.scan, scan_cases[_i]);
	ck_assert_uint_eq(got.dsn_ret, BW_DSN_RET_HDRS);
	ck_assert_str_eq(got.envid, "env-1");
	ck_assert_str_eq(got.helo, "client.example.com");
	ck_assert_str_eq(got.client_name, "client.example.com");
	ck_assert_int_eq(got.delay_due, 1700000600);
	ck_assert_uint_eq(got.dsn_flags, QENV_DSN_DELAY_SENT);

	/* read in place, as the store's readers do, over old bytes */
	memset(&got, 0x5a, sizeof(got));
	memcpy(&got, packed, len);
	ck_assert_int_eq(qstore_env_load(&got, len), 0);
	env_same(&e, &got);
	ck_assert_uint_eq(got.pad4, 0);
	ck_assert_str_eq(got.envid, "env-1");
}
END_TEST

/*
 * Packed records that are not whole: a string without its NUL within its
 * field or the record, bytes after the last string, a cut header.
 */
START_TEST(env_packed_broken)
{
	struct qmsg	 m;
	struct qenv_rec	 e, got;
	unsigned char	 packed[sizeof(struct qenv_rec)];
	char		 why[256];
	size_t		 len;
	DBT		 d;

	msg_make(&m, 0);
	qstore_env_fill(&e, &m);
	len = qstore_env_pack(&e, packed);

	dbt_of(&d, packed, len - 1);		/* envid's NUL cut off */
	ck_assert_int_eq(qstore_env_read(&d, &got, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "broken text") != NULL, "%s", why);

	packed[len] = 'x';			/* a byte too many */
	dbt_of(&d, packed, len + 1);
	ck_assert_int_eq(qstore_env_read(&d, &got, why, sizeof(why)), -1);

	dbt_of(&d, packed, 40);			/* half a header */
	ck_assert_int_eq(qstore_env_read(&d, &got, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "not the size of version 6") != NULL, "%s",
	    why);

	/* a listener of 40 characters: longer than its 32-byte field */
	memset(&e.listener, 'l', sizeof(e.listener));
	len = qstore_env_pack(&e, packed);	/* packs 31 of them */
	ck_assert_int_eq(qstore_env_read((dbt_of(&d, packed, len), &d), &got,
	    why, sizeof(why)), 0);
	ck_assert_uint_eq(strlen(got.listener), sizeof(got.listener) - 1);
	{
		/* hand-made: 40 'l' where the listener goes */
		unsigned char	 bad[sizeof(struct qenv_rec)];
		size_t		 at = 56, n = 0, i;
		const char	*s[] = { "a@b", "h", "192.0.2.1", "n",
		    "llllllllllllllllllllllllllllllllllllllll", "default",
		    "" };

		memcpy(bad, packed, 56);
		for (i = 0; i < 7; i++) {
			n = strlen(s[i]) + 1;
			memcpy(bad + at, s[i], n);
			at += n;
		}
		dbt_of(&d, bad, at);
		ck_assert_int_eq(qstore_env_read(&d, &got, why, sizeof(why)),
		    -1);
		ck_assert_msg(strstr(why, "broken text") != NULL, "%s", why);
	}
}
END_TEST

/*
 * A version 3 envelope (the release before the scan flags): 1048 bytes.
 * Read through a copy and read in place from a buffer whose bytes past
 * the record are not zero (a reader reusing its buffer): scan is 0.
 */
START_TEST(env_v3_reads_scan_none)
{
	struct qmsg	 m;
	struct qenv_rec	 e, got;
	unsigned char	*buf;
	char		 why[256];
	DBT		 d;

	msg_make(&m, 0);
	qstore_env_fill(&e, &m);
	e.version = 3;
	ck_assert_uint_eq(QENV_REC_V3_SIZE, 1048);
	ck_assert_uint_gt(sizeof(e), QENV_REC_V3_SIZE);

	/* a copy: the DBT holds exactly the old record */
	buf = malloc(QENV_REC_V3_SIZE);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, &e, QENV_REC_V3_SIZE);
	dbt_of(&d, buf, QENV_REC_V3_SIZE);
	memset(&got, 0xff, sizeof(got));
	ck_assert_msg(qstore_env_read(&d, &got, why, sizeof(why)) == 0,
	    "%s", why);
	env_same(&e, &got);
	ck_assert_uint_eq(got.scan, 0);
	ck_assert_str_eq(got.envid, "env-1");
	free(buf);

	/* in place: the bytes past the record are the buffer's old ones */
	memset(&got, 0xff, sizeof(got));
	memcpy(&got, &e, QENV_REC_V3_SIZE);
	dbt_of(&d, &got, QENV_REC_V3_SIZE);
	ck_assert_msg(qstore_env_read(&d, &got, why, sizeof(why)) == 0,
	    "%s", why);
	ck_assert_uint_eq(got.scan, 0);
	ck_assert_uint_eq(got.pad4, 0);

	/* what qstore_msg_get does after a read into a user buffer */
	memset(&got, 0xff, sizeof(got));
	memcpy(&got, &e, QENV_REC_V3_SIZE);
	qstore_env_upgrade(&got, QENV_REC_V3_SIZE);
	ck_assert_uint_eq(got.scan, 0);
	env_same(&e, &got);
}
END_TEST

/* A version 2 envelope (no DSN fields) still reads, with them as zero. */
START_TEST(env_v2_still_reads)
{
	struct qmsg	 m;
	struct qenv_rec	 e, got;
	char		 why[256];
	DBT		 d;

	msg_make(&m, 0);
	qstore_env_fill(&e, &m);
	e.version = 2;
	dbt_of(&d, &e, QENV_REC_V2_SIZE);
	ck_assert_msg(qstore_env_read(&d, &got, why, sizeof(why)) == 0,
	    "%s", why);
	env_same(&e, &got);
	ck_assert_uint_eq(got.dsn_ret, 0);
	ck_assert_str_eq(got.envid, "");
	ck_assert_uint_eq(got.scan, 0);
}
END_TEST

/* Sizes that do not belong to their version, and versions we do not know. */
static const struct {
	uint32_t	 version;
	size_t		 size;		/* 0: sizeof(struct qenv_rec) */
	uint32_t	 scan;
	const char	*want_why;
} bad_cases[] = {
	{ 4, QENV_REC_V3_SIZE, 0, "not the size of version 4" },
	{ 3, 0, 0, "not the size of version 3" },
	{ 2, QENV_REC_V3_SIZE, 0, "not the size of version 2" },
	{ 4, QENV_REC_V2_SIZE, 0, "not the size of version 4" },
	{ 6, 0, 0, "not the size of version 6" },
	{ 7, 0, 0, "unknown version 7" },
	{ 0, 0, 0, "unknown version 0" },
	{ 4, 0, 0x04, "unknown scan flags" },
	{ 4, 0, 0x80000000u, "unknown scan flags" },
};

START_TEST(env_bad_refused)
{
	struct qmsg	 m;
	struct qenv_rec	 e, got;
	char		 why[256];
	DBT		 d;

	msg_make(&m, 0);
	qstore_env_fill(&e, &m);
	e.version = bad_cases[_i].version;
	e.scan = bad_cases[_i].scan;
	dbt_of(&d, &e, bad_cases[_i].size ? bad_cases[_i].size : sizeof(e));
	why[0] = '\0';
	ck_assert_int_eq(qstore_env_read(&d, &got, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, bad_cases[_i].want_why) != NULL,
	    "case %d: why \"%s\", want \"%s\"", _i, why,
	    bad_cases[_i].want_why);
}
END_TEST

/* A recipient packed (version 6) reads back whole, also in place. */
START_TEST(rcpt_packed_round_trip)
{
	struct qrcpt_rec	 rr, got;
	unsigned char		 packed[sizeof(struct qrcpt_rec)];
	char			 why[256];
	size_t			 len;
	DBT			 d;

	memset(&rr, 0, sizeof(rr));
	rr.version = QSTORE_VERSION;
	rr.state = BW_RCPT_DEFERRED;
	rr.attempts = 3;
	rr.next_try = 1700000900;
	rr.notify = BW_DSN_NOTIFY_FAILURE;
	strlcpy(rr.rcpt, "to@example.org", sizeof(rr.rcpt));
	strlcpy(rr.domain, "example.org", sizeof(rr.domain));
	strlcpy(rr.gateway, "default", sizeof(rr.gateway));
	strlcpy(rr.last_reply, "451 4.3.0 try later", sizeof(rr.last_reply));
	strlcpy(rr.orcpt, "rfc822;orig@example.org", sizeof(rr.orcpt));
	len = qstore_rcpt_pack(&rr, packed);
	ck_assert_uint_lt(len, 150);
	dbt_of(&d, packed, len);
	memset(&got, 0xa5, sizeof(got));
	ck_assert_msg(qstore_rcpt_read(&d, &got, why, sizeof(why)) == 0, "%s",
	    why);
	ck_assert_uint_eq(got.state, BW_RCPT_DEFERRED);
	ck_assert_uint_eq(got.attempts, 3);
	ck_assert_int_eq(got.next_try, 1700000900);
	ck_assert_uint_eq(got.notify, BW_DSN_NOTIFY_FAILURE);
	ck_assert_str_eq(got.rcpt, "to@example.org");
	ck_assert_str_eq(got.last_reply, "451 4.3.0 try later");
	ck_assert_str_eq(got.orcpt, "rfc822;orig@example.org");
	ck_assert_uint_eq(got.pad, 0);

	memset(&got, 0x5a, sizeof(got));
	memcpy(&got, packed, len);
	ck_assert_int_eq(qstore_rcpt_load(&got, len), 0);
	ck_assert_str_eq(got.gateway, "default");
	ck_assert_str_eq(got.orcpt, "rfc822;orig@example.org");

	dbt_of(&d, packed, len - 2);		/* orcpt cut */
	ck_assert_int_eq(qstore_rcpt_read(&d, &got, why, sizeof(why)), -1);
}
END_TEST

/* Recipients of versions 3 to 5 (the struct up to the end of ORCPT) and
 * of version 2 (the struct before the DSN fields) still read. */
START_TEST(rcpt_v3_v4_same_layout)
{
	struct qrcpt_rec	 rr, got;
	char			 why[256];
	DBT			 d;
	uint32_t		 v;

	memset(&rr, 0, sizeof(rr));
	rr.version = 2;
	strlcpy(rr.rcpt, "to@example.org", sizeof(rr.rcpt));
	strlcpy(rr.domain, "example.org", sizeof(rr.domain));
	strlcpy(rr.gateway, "default", sizeof(rr.gateway));
	dbt_of(&d, &rr, QRCPT_REC_V2_SIZE);
	memset(&got, 0xa5, sizeof(got));
	ck_assert_msg(qstore_rcpt_read(&d, &got, why, sizeof(why)) == 0,
	    "version 2: %s", why);
	ck_assert_uint_eq(got.notify, 0);
	ck_assert_str_eq(got.orcpt, "");
	ck_assert_str_eq(got.rcpt, "to@example.org");

	for (v = 3; v <= 5; v++) {
		memset(&rr, 0, sizeof(rr));
		rr.version = v;
		strlcpy(rr.rcpt, "to@example.org", sizeof(rr.rcpt));
		strlcpy(rr.domain, "example.org", sizeof(rr.domain));
		strlcpy(rr.gateway, "default", sizeof(rr.gateway));
		strlcpy(rr.orcpt, "rfc822;to@example.org", sizeof(rr.orcpt));
		dbt_of(&d, &rr, QRCPT_REC_SIZE(&rr));
		ck_assert_msg(qstore_rcpt_read(&d, &got, why,
		    sizeof(why)) == 0, "version %u: %s", v, why);
		ck_assert_str_eq(got.orcpt, "rfc822;to@example.org");
	}
}
END_TEST

/* A version 4 quarantine record (bwctl queue repair's) reads as damaged;
 * a version 5 one keeps its kind, expiry and who; wrong sizes are told. */
START_TEST(quar_versions)
{
	struct qquar_rec	 q, got;
	char			 why[256];
	DBT			 d;

	memset(&q, 0, sizeof(q));
	q.version = 4;
	q.when = 1700000000;
	strlcpy(q.why, "piece 0 unreadable", sizeof(q.why));
	q.expires = 99;			/* past the v4 record: not read */
	dbt_of(&d, &q, QQUAR_REC_V4_SIZE);
	ck_assert_int_eq(qstore_quar_read(&d, &got, why, sizeof(why)), 0);
	ck_assert_uint_eq(got.kind, QQUAR_DAMAGED);
	ck_assert_int_eq(got.expires, 0);
	ck_assert_str_eq(got.why, "piece 0 unreadable");

	q.version = 5;
	q.kind = QQUAR_DELETED;
	q.expires = 1700003600;
	strlcpy(q.who, "bwctl uid=0 pid=1", sizeof(q.who));
	dbt_of(&d, &q, sizeof(q));
	ck_assert_int_eq(qstore_quar_read(&d, &got, why, sizeof(why)), 0);
	ck_assert_uint_eq(got.kind, QQUAR_DELETED);
	ck_assert_int_eq(got.expires, 1700003600);
	ck_assert_str_eq(got.who, "bwctl uid=0 pid=1");

	dbt_of(&d, &q, QQUAR_REC_V4_SIZE);
	ck_assert_int_eq(qstore_quar_read(&d, &got, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "not the size of version 5") != NULL, "%s",
	    why);
	q.kind = 7;
	dbt_of(&d, &q, sizeof(q));
	ck_assert_int_eq(qstore_quar_read(&d, &got, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "unknown kind") != NULL, "%s", why);
}
END_TEST

/* The text bwctl show message prints. */
static const struct {
	uint32_t	 flags;
	const char	*want;
} text_cases[] = {
	{ 0, "none" },
	{ BW_SCAN_SPAM, "spam" },
	{ BW_SCAN_VIRUS, "virus" },
	{ BW_SCAN_SPAM | BW_SCAN_VIRUS, "spam,virus" },
	{ 0x100, "none" },		/* unknown bits are not shown */
};

START_TEST(scan_text)
{
	char	 buf[BW_SCAN_TEXT_MAX];

	ck_assert_str_eq(bw_scan_text(buf, sizeof(buf), text_cases[_i].flags),
	    text_cases[_i].want);
}
END_TEST

static Suite *
record_suite(void)
{
	Suite	*s = suite_create("store_record");
	TCase	*tc;

	tc = tcase_create("envelope");
	tcase_set_timeout(tc, 5);
	tcase_add_loop_test(tc, env_round_trip, 0,
	    sizeof(scan_cases) / sizeof(scan_cases[0]));
	tcase_add_test(tc, env_v3_reads_scan_none);
	tcase_add_test(tc, env_v2_still_reads);
	tcase_add_test(tc, env_packed_broken);
	tcase_add_loop_test(tc, env_bad_refused, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("quarantine");
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, quar_versions);
	suite_add_tcase(s, tc);

	tc = tcase_create("recipient");
	tcase_set_timeout(tc, 5);
	tcase_add_test(tc, rcpt_packed_round_trip);
	tcase_add_test(tc, rcpt_v3_v4_same_layout);
	suite_add_tcase(s, tc);

	tc = tcase_create("scan_text");
	tcase_set_timeout(tc, 5);
	tcase_add_loop_test(tc, scan_text, 0,
	    sizeof(text_cases) / sizeof(text_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(record_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
