/*
 * Unit tests for ctl/controld_alert.c, the alert state machine: a raise
 * told once, repeats no more often than the interval, one "cleared", a
 * round clearing what it did not set, restarts cleared after a quiet
 * time, a condition back before its end was told, the table bound, text
 * made printable, and the mail's shape (CRLF, 7-bit, short lines).
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "util.h"
#include "controld_alert.h"

#define SEC	1000LL

struct told {
	int	 notice[64];
	int	 kind[64];
	char	 subject[64][CTL_ALERT_SUBJECT_MAX];
	size_t	 n;
};

static void
told_cb(const struct ctl_alert *a, int notice, void *arg)
{
	struct told	*t = arg;

	if (t->n < 64) {
		t->notice[t->n] = notice;
		t->kind[t->n] = a->kind;
		strlcpy(t->subject[t->n], a->subject, sizeof(t->subject[0]));
		t->n++;
	}
}

static size_t
due(struct ctl_alert_table *tab, int64_t now, int64_t repeat,
    struct told *t)
{
	memset(t, 0, sizeof(*t));
	return ctl_alert_due(tab, now, repeat, 0, told_cb, t);
}

static struct ctl_alert_table	 tab;

START_TEST(raise_repeat_clear)
{
	struct told	 t;
	int64_t		 now = 1000 * SEC, rep = 60 * SEC;

	ctl_alert_table_init(&tab);
	ck_assert_ptr_nonnull(ctl_alert_set(&tab, CTL_ALERT_WORK_QUEUE, "",
	    50, 10, NULL, now));
	ck_assert_uint_eq(due(&tab, now, rep, &t), 1);
	ck_assert_int_eq(t.notice[0], CTL_ALERT_N_RAISED);
	/* set again within the interval: nothing new to tell */
	ctl_alert_set(&tab, CTL_ALERT_WORK_QUEUE, "", 60, 10, NULL, now + SEC);
	ck_assert_uint_eq(due(&tab, now + SEC, rep, &t), 0);
	ck_assert_uint_eq(due(&tab, now + rep - 1, rep, &t), 0);
	/* the interval passed: one repeat, then quiet again */
	ck_assert_uint_eq(due(&tab, now + rep, rep, &t), 1);
	ck_assert_int_eq(t.notice[0], CTL_ALERT_N_REPEAT);
	ck_assert_uint_eq(due(&tab, now + rep + 5 * SEC, rep, &t), 0);
	ck_assert_uint_eq(due(&tab, now + 2 * rep, rep, &t), 1);
	ck_assert_uint_eq(ctl_alert_find(&tab, CTL_ALERT_WORK_QUEUE,
	    "")->notices, 3);
	/* it ends: one "cleared", told once */
	ctl_alert_clear(&tab, CTL_ALERT_WORK_QUEUE, "", now + 2 * rep + SEC);
	ck_assert_uint_eq(ctl_alert_active(&tab), 0);
	ck_assert_uint_eq(due(&tab, now + 2 * rep + SEC, rep, &t), 1);
	ck_assert_int_eq(t.notice[0], CTL_ALERT_N_CLEARED);
	ck_assert_uint_eq(due(&tab, now + 5 * rep, rep, &t), 0);
	/* cleared ones are kept for show alerts, then forgotten */
	ck_assert_uint_eq(tab.n, 1);
	ctl_alert_expire(&tab, 3600 * SEC, now + 2 * rep + 10 * SEC);
	ck_assert_uint_eq(tab.n, 1);
	ctl_alert_expire(&tab, 3600 * SEC, now + 2 * rep + SEC + 3600 * SEC);
	ck_assert_uint_eq(tab.n, 0);
}
END_TEST

START_TEST(round_clears_unseen)
{
	struct told	 t;
	int64_t		 now = 5000 * SEC, rep = 3600 * SEC;

	ctl_alert_table_init(&tab);
	ctl_alert_round_begin(&tab, CTL_ALERT_DOMAIN_QUEUED);
	ctl_alert_set(&tab, CTL_ALERT_DOMAIN_QUEUED, "default/a.test", 5, 3,
	    NULL, now);
	ctl_alert_set(&tab, CTL_ALERT_DOMAIN_QUEUED, "default/b.test", 9, 3,
	    NULL, now);
	ctl_alert_set(&tab, CTL_ALERT_DISK_FREE, "", 1, 2, NULL, now);
	ctl_alert_round_end(&tab, CTL_ALERT_DOMAIN_QUEUED, now);
	ck_assert_uint_eq(due(&tab, now, rep, &t), 3);
	/* next round: b is still over, a not; disk is another kind */
	ctl_alert_round_begin(&tab, CTL_ALERT_DOMAIN_QUEUED);
	ctl_alert_set(&tab, CTL_ALERT_DOMAIN_QUEUED, "default/b.test", 9, 3,
	    NULL, now + 10 * SEC);
	ctl_alert_round_end(&tab, CTL_ALERT_DOMAIN_QUEUED, now + 10 * SEC);
	ck_assert_uint_eq(due(&tab, now + 10 * SEC, rep, &t), 1);
	ck_assert_int_eq(t.notice[0], CTL_ALERT_N_CLEARED);
	ck_assert_str_eq(t.subject[0], "default/a.test");
	ck_assert_uint_eq(ctl_alert_active(&tab), 2);
}
END_TEST

START_TEST(back_before_end_told)
{
	struct told	 t;
	int64_t		 now = 100 * SEC, rep = 3600 * SEC;

	ctl_alert_table_init(&tab);
	ctl_alert_set(&tab, CTL_ALERT_DOMAIN_DOWN, "default/x.test", 1, 0,
	    "connection refused", now);
	ck_assert_uint_eq(due(&tab, now, rep, &t), 1);
	/* up and down again before anything was told: it never ended */
	ctl_alert_clear(&tab, CTL_ALERT_DOMAIN_DOWN, "default/x.test",
	    now + SEC);
	ctl_alert_set(&tab, CTL_ALERT_DOMAIN_DOWN, "default/x.test", 1, 0,
	    "timeout", now + 2 * SEC);
	ck_assert_uint_eq(due(&tab, now + 2 * SEC, rep, &t), 0);
	ck_assert_uint_eq(ctl_alert_find(&tab, CTL_ALERT_DOMAIN_DOWN,
	    "default/x.test")->raised, now);
	/* ended and told: a new raise is told again */
	ctl_alert_clear(&tab, CTL_ALERT_DOMAIN_DOWN, "default/x.test",
	    now + 3 * SEC);
	ck_assert_uint_eq(due(&tab, now + 3 * SEC, rep, &t), 1);
	ctl_alert_set(&tab, CTL_ALERT_DOMAIN_DOWN, "default/x.test", 1, 0,
	    NULL, now + 4 * SEC);
	ck_assert_uint_eq(due(&tab, now + 4 * SEC, rep, &t), 1);
	ck_assert_int_eq(t.notice[0], CTL_ALERT_N_RAISED);
	ck_assert_uint_eq(ctl_alert_find(&tab, CTL_ALERT_DOMAIN_DOWN,
	    "default/x.test")->notices, 1);
}
END_TEST

START_TEST(never_told_ends_silently)
{
	struct told	 t;

	ctl_alert_table_init(&tab);
	ctl_alert_set(&tab, CTL_ALERT_OLDEST_AGE, "", 10, 5, NULL, SEC);
	ctl_alert_clear(&tab, CTL_ALERT_OLDEST_AGE, "", 2 * SEC);
	ck_assert_uint_eq(due(&tab, 3 * SEC, SEC, &t), 0);
}
END_TEST

START_TEST(restart_quiet)
{
	struct told	 t;
	int64_t		 now = 1000 * SEC, quiet = 30 * SEC;
	struct ctl_alert *a;

	ctl_alert_table_init(&tab);
	ctl_alert_set(&tab, CTL_ALERT_DAEMON_RESTART, "deliverd[0]", 4242, 0,
	    "pid 4242, was 4100", now);
	ck_assert_uint_eq(due(&tab, now, quiet, &t), 1);
	/* a second restart keeps it active and counts */
	a = ctl_alert_set(&tab, CTL_ALERT_DAEMON_RESTART, "deliverd[0]", 4300,
	    0, "pid 4300, was 4242", now + 20 * SEC);
	ck_assert_uint_eq(a->count, 2);
	ctl_alert_clear_quiet(&tab, CTL_ALERT_DAEMON_RESTART, quiet,
	    now + 40 * SEC);
	ck_assert_uint_eq(ctl_alert_active(&tab), 1);
	ctl_alert_clear_quiet(&tab, CTL_ALERT_DAEMON_RESTART, quiet,
	    now + 50 * SEC);
	ck_assert_uint_eq(ctl_alert_active(&tab), 0);
	ck_assert_uint_eq(due(&tab, now + 50 * SEC, quiet, &t), 1);
	ck_assert_int_eq(t.notice[0], CTL_ALERT_N_CLEARED);
}
END_TEST

START_TEST(table_full)
{
	char	 subj[64];
	int	 i;

	ctl_alert_table_init(&tab);
	for (i = 0; i < CTL_ALERTS_MAX; i++) {
		snprintf(subj, sizeof(subj), "default/d%d.test", i);
		ck_assert_ptr_nonnull(ctl_alert_set(&tab,
		    CTL_ALERT_DOMAIN_DOWN, subj, 1, 0, NULL, SEC));
	}
	ck_assert_ptr_null(ctl_alert_set(&tab, CTL_ALERT_DOMAIN_DOWN,
	    "default/one-more.test", 1, 0, NULL, SEC));
	ck_assert_uint_eq(tab.refused, 1);
	ck_assert_ptr_null(ctl_alert_set(&tab, CTL_ALERT__COUNT, "", 1, 0,
	    NULL, SEC));
	/* at most max told per call; the rest next time */
	ck_assert_uint_eq(ctl_alert_due(&tab, SEC, SEC, 10, NULL, NULL), 10);
	ck_assert_uint_eq(ctl_alert_due(&tab, SEC, SEC, 0, NULL, NULL),
	    CTL_ALERTS_MAX - 10);
	/* an end makes room once it is told */
	ctl_alert_clear(&tab, CTL_ALERT_DOMAIN_DOWN, "default/d7.test",
	    2 * SEC);
	ck_assert_ptr_null(ctl_alert_set(&tab, CTL_ALERT_DOMAIN_DOWN,
	    "default/one-more.test", 1, 0, NULL, 2 * SEC));
	ck_assert_uint_eq(ctl_alert_due(&tab, 2 * SEC, 3600 * SEC, 0, NULL,
	    NULL), 1);
	ck_assert_ptr_nonnull(ctl_alert_set(&tab, CTL_ALERT_DOMAIN_DOWN,
	    "default/one-more.test", 1, 0, NULL, 4 * SEC));
	ck_assert_ptr_null(ctl_alert_find(&tab, CTL_ALERT_DOMAIN_DOWN,
	    "default/d7.test"));
}
END_TEST

START_TEST(text_printable)
{
	struct ctl_alert	*a;

	ctl_alert_table_init(&tab);
	a = ctl_alert_set(&tab, CTL_ALERT_DOMAIN_DOWN, "gw/a\r\nb\x80.test",
	    1, 0, "421 bye\r\nBcc: x@y\x01", SEC);
	ck_assert_str_eq(a->subject, "gw/a??b?.test");
	ck_assert_str_eq(a->detail, "421 bye??Bcc: x@y?");
	/* found by the same (raw) subject */
	ck_assert_ptr_eq(ctl_alert_find(&tab, CTL_ALERT_DOMAIN_DOWN,
	    "gw/a\r\nb\x80.test"), a);
}
END_TEST

START_TEST(mail_shape)
{
	static char			 buf[BW_ADMIN_MAIL_TEXT_MAX];
	struct ctl_alert_mail_notice	 n[3];
	struct ctl_alert_mail		 m;
	const char			*to[] = { "ops@admin.test",
					    "noc@admin.test" };
	long				 len, i, line = 0;

	ctl_alert_table_init(&tab);
	memset(n, 0, sizeof(n));
	n[0].notice = CTL_ALERT_N_RAISED;
	n[0].a = *ctl_alert_set(&tab, CTL_ALERT_DOMAIN_QUEUED,
	    "default/d.test", 7, 3, NULL, 10 * SEC);
	n[1].notice = CTL_ALERT_N_REPEAT;
	n[1].a = *ctl_alert_set(&tab, CTL_ALERT_OLDEST_AGE, "", 7200 * SEC,
	    3600 * SEC, NULL, 10 * SEC);
	n[2].notice = CTL_ALERT_N_CLEARED;
	n[2].a = *ctl_alert_set(&tab, CTL_ALERT_DAEMON_RESTART, "smtpd", 1, 0,
	    "pid 1, was 2", 10 * SEC);
	n[2].a.cleared = 70 * SEC;
	memset(&m, 0, sizeof(m));
	m.hostname = "mx.test.example";
	m.from = "postmaster@mx.test.example";
	m.to = to;
	m.nto = 2;
	m.now = 1764806400LL * 1000;	/* Thu, 04 Dec 2025 00:00:00 */
	m.seq = 7;
	m.notices = n;
	m.nnotices = 3;
	m.repeat = 3600 * SEC;
	len = ctl_alert_mail_compose(&m, buf, sizeof(buf));
	ck_assert_int_gt(len, 0);
	ck_assert_uint_eq(strlen(buf), (size_t)len);
	ck_assert_ptr_nonnull(strstr(buf, "From: Breakwater alerts "
	    "<postmaster@mx.test.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "To: ops@admin.test,\r\n "
	    "noc@admin.test\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Subject: [mx.test.example] alerts: "
	    "1 raised, 1 still active, 1 cleared\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Date: Thu, 04 Dec 2025 00:00:00 "
	    "+0000\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Auto-Submitted: auto-generated"));
	ck_assert_ptr_nonnull(strstr(buf, "X-Breakwater-Alert: raised "
	    "domain_queued default/d.test\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "X-Breakwater-Alert: repeated "
	    "oldest_age\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "X-Breakwater-Alert: cleared "
	    "daemon_restart smtpd\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "RAISED   domain_queued "
	    "default/d.test: 7 waiting, threshold 3\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "CLEARED  daemon_restart smtpd: "
	    "over after 1m0s\r\n"));
	/* CRLF lines of 7-bit text, none too long; a blank line after the
	 * header */
	ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\n"));
	for (i = 0; i < len; i++) {
		ck_assert_int_lt((unsigned char)buf[i], 0x80);
		if (buf[i] == '\n')
			ck_assert_int_eq(buf[i - 1], '\r');
		if (buf[i] == '\r') {
			ck_assert_int_eq(buf[i + 1], '\n');
			line = 0;
			i++;
			continue;
		}
		ck_assert_int_le(++line, 998);
	}
	ck_assert_int_eq(buf[len - 1], '\n');
	/* one notice: its own subject; too small a buffer: -1 */
	m.nnotices = 1;
	len = ctl_alert_mail_compose(&m, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "Subject: [mx.test.example] ALERT: "
	    "domain_queued default/d.test\r\n"));
	ck_assert_int_eq(ctl_alert_mail_compose(&m, buf, 100), -1);
}
END_TEST

START_TEST(names)
{
	int	 k;

	for (k = 0; k < CTL_ALERT__COUNT; k++) {
		ck_assert_str_ne(ctl_alert_kind_name(k), "?");
		ck_assert_ptr_nonnull(strstr(ctl_alert_kind_limit(k),
		    ctl_alert_kind_name(k)));
	}
	ck_assert_str_eq(ctl_alert_kind_name(CTL_ALERT__COUNT), "?");
	ck_assert_str_eq(ctl_alert_kind_name(-1), "?");
}
END_TEST

static Suite *
alert_suite(void)
{
	Suite	*s = suite_create("alert");
	TCase	*tc;

	tc = tcase_create("state");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, raise_repeat_clear);
	tcase_add_test(tc, round_clears_unseen);
	tcase_add_test(tc, back_before_end_told);
	tcase_add_test(tc, never_told_ends_silently);
	tcase_add_test(tc, restart_quiet);
	tcase_add_test(tc, table_full);
	tcase_add_test(tc, text_printable);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);

	tc = tcase_create("mail");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, mail_shape);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(alert_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
