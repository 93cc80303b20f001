/*
 * Unit tests of the header scanner (smtpd/smtpd_hdrscan.c) that counts
 * Received: fields for the hop limit: spellings of the field name, folded
 * fields, the end of the header section (empty line, a line that is no
 * field), text after it, and every message fed in every split into two
 * pieces and byte by byte.  Table-driven.
 */
#include "bw_autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_hdrscan.h"

#define TIMEOUT	10

struct hs_case {
	const char	*what;
	const char	*text;
	size_t		 len;		/* the text may hold NUL bytes */
	unsigned int	 want_received;
	int		 want_done;	/* the header section has ended */
};

#define TXT(s)	s, sizeof(s) - 1

static const struct hs_case hs_cases[] = {
	{ "empty", TXT(""), 0, 0 },
	{ "one", TXT("Received: from a by b; date\r\n"), 1, 0 },
	{ "case", TXT("RECEIVED: x\r\nreceived: y\r\nReCeIvEd: z\r\n"), 3, 0 },
	{ "blank before colon (obs)",
	  TXT("Received : x\r\nReceived\t: y\r\n"), 2, 0 },
	{ "no blank after colon", TXT("Received:x\r\n"), 1, 0 },
	{ "folded", TXT("Received: from a\r\n\tby b\r\n (comment)\r\n"
	  "Received: from c\r\n by d\r\n"), 2, 0 },
	{ "in a fold",
	  TXT("X-Trace: a\r\n Received: no\r\n\tReceived: no\r\n"), 0, 0 },
	{ "other names", TXT("Received-SPF: pass\r\nX-Received: x\r\n"
	  "Receive: x\r\nReceivedd: x\r\nResent-From: x\r\n"), 0, 0 },
	{ "end at the empty line", TXT("Received: a\r\n\r\nReceived: b\r\n"),
	  1, 1 },
	{ "only the header, then the end", TXT("Subject: s\r\n\r\n"), 0, 1 },
	{ "body full of Received", TXT("Subject: s\r\n\r\nReceived: 1\r\n"
	  "Received: 2\r\nReceived: 3\r\n"), 0, 1 },
	{ "a line that is no field ends it",
	  TXT("Received: a\r\nnot a field\r\nReceived: b\r\n"), 1, 1 },
	{ "mbox From line ends it",
	  TXT("From someone Mon Jan 1\r\nReceived: a\r\n"), 0, 1 },
	{ "leading fold ends it", TXT(" Received: a\r\nReceived: b\r\n"), 0,
	  1 },
	{ "colon first ends it", TXT(": x\r\nReceived: a\r\n"), 0, 1 },
	{ "bare LF ends it", TXT("Received: a\r\n\nReceived: b\r\n"), 1, 1 },
	{ "8-bit name ends it",
	  TXT("R\xc3\xa9" "ceived: a\r\nReceived: b\r\n"), 0, 1 },
	{ "NUL in a value is nothing",
	  TXT("Subject: a\0b\r\nReceived: a\r\n"), 1, 0 },
	{ "long value", TXT("Received: "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "\r\nReceived: b\r\n"), 2, 0 },
	{ "long name",
	  TXT("Receivedxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: a\r\n"
	  "Received: b\r\n"), 1, 0 },
};

static void
hs_check(const struct hs_case *c, struct smtp_hdrscan *hs, const char *how)
{
	ck_assert_msg(hs->received == c->want_received,
	    "%s (%s): %u Received:, want %u", c->what, how, hs->received,
	    c->want_received);
	ck_assert_msg(smtp_hdrscan_done(hs) == c->want_done,
	    "%s (%s): done %d, want %d", c->what, how, smtp_hdrscan_done(hs),
	    c->want_done);
}

START_TEST(hdrscan_whole)
{
	const struct hs_case	*c = &hs_cases[_i];
	struct smtp_hdrscan	 hs;

	smtp_hdrscan_init(&hs);
	smtp_hdrscan_feed(&hs, c->text, c->len);
	hs_check(c, &hs, "whole");
}
END_TEST

/* Every cut into two pieces gives the same count as the whole. */
START_TEST(hdrscan_split)
{
	const struct hs_case	*c = &hs_cases[_i];
	struct smtp_hdrscan	 hs;
	size_t			 len = c->len, cut;

	for (cut = 0; cut <= len; cut++) {
		smtp_hdrscan_init(&hs);
		smtp_hdrscan_feed(&hs, c->text, cut);
		smtp_hdrscan_feed(&hs, c->text + cut, len - cut);
		hs_check(c, &hs, "split");
	}
}
END_TEST

START_TEST(hdrscan_bytewise)
{
	const struct hs_case	*c = &hs_cases[_i];
	struct smtp_hdrscan	 hs;
	size_t			 len = c->len, i;

	smtp_hdrscan_init(&hs);
	for (i = 0; i < len; i++)
		smtp_hdrscan_feed(&hs, c->text + i, 1);
	hs_check(c, &hs, "bytewise");
}
END_TEST

/* Once done, nothing more counts, and a zero-length feed changes nothing. */
START_TEST(hdrscan_done_is_final)
{
	struct smtp_hdrscan	 hs;
	static const char	 more[] = "Received: late\r\n";

	smtp_hdrscan_init(&hs);
	smtp_hdrscan_feed(&hs, "Received: a\r\n", 0);
	ck_assert_uint_eq(hs.received, 0);
	smtp_hdrscan_feed(&hs, "Received: a\r\n\r\n", 15);
	ck_assert_int_eq(smtp_hdrscan_done(&hs), 1);
	smtp_hdrscan_feed(&hs, more, sizeof(more) - 1);
	smtp_hdrscan_init(&hs);
	ck_assert_uint_eq(hs.received, 0);
	ck_assert_int_eq(smtp_hdrscan_done(&hs), 0);
}
END_TEST

/* Many fields: the count is not bounded by anything but the input. */
START_TEST(hdrscan_many)
{
	struct smtp_hdrscan	 hs;
	static const char	 f[] = "Received: from x by y; date\r\n";
	unsigned int		 i;

	smtp_hdrscan_init(&hs);
	for (i = 0; i < 5000; i++)
		smtp_hdrscan_feed(&hs, f, sizeof(f) - 1);
	ck_assert_uint_eq(hs.received, 5000);
	ck_assert_int_eq(smtp_hdrscan_done(&hs), 0);
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
hdrscan_suite(void)
{
	Suite	*s = suite_create("smtpd_hdrscan");
	TCase	*tc;

	tc = tcase_create("received");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, hdrscan_whole, 0, N(hs_cases));
	tcase_add_loop_test(tc, hdrscan_split, 0, N(hs_cases));
	tcase_add_loop_test(tc, hdrscan_bytewise, 0, N(hs_cases));
	tcase_add_test(tc, hdrscan_done_is_final);
	tcase_add_test(tc, hdrscan_many);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(hdrscan_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
