/*
 * deliverd_dane.c's pure part: TLSA records as dnscached gives them
 * ("usage selector mtype hex", flags) parsed into what OpenSSL needs, and
 * which are usable for SMTP (RFC 7672 3.1.3: DANE-TA and DANE-EE only;
 * digests of their exact length; a record dnscached cut is unusable).
 */
#include "bw_autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "deliverd.h"
#include "deliverd_dane.h"

#define H32	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"
#define H64	H32 H32

static const struct {
	const char		*label;
	const char		*text;
	uint32_t		 flags;
	enum dlv_tlsa_parse	 want;
	int			 want_len;
} tlsa_cases[] = {
	{ "DANE-EE SPKI SHA-256", "3 1 1 " H32, 0, DLV_TLSA_OK, 32 },
	{ "DANE-EE cert SHA-512", "3 0 2 " H64, 0, DLV_TLSA_OK, 64 },
	{ "DANE-TA cert SHA-256", "2 0 1 " H32, 0, DLV_TLSA_OK, 32 },
	{ "DANE-TA full SPKI", "2 1 0 3059301306072a8648ce3d", 0, DLV_TLSA_OK,
	  11 },
	{ "upper-case hex", "3 1 1 " "0123456789ABCDEF0123456789ABCDEF"
	  "0123456789ABCDEF0123456789ABCDEF", 0, DLV_TLSA_OK, 32 },
	{ "PKIX-TA", "0 0 1 " H32, 0, DLV_TLSA_PKIX, 32 },
	{ "PKIX-EE", "1 1 1 " H32, 0, DLV_TLSA_PKIX, 32 },
	{ "usage 4", "4 1 1 " H32, 0, DLV_TLSA_UNKNOWN, 32 },
	{ "selector 2", "3 2 1 " H32, 0, DLV_TLSA_UNKNOWN, 32 },
	{ "matching type 3", "3 1 3 " H32, 0, DLV_TLSA_UNKNOWN, 32 },
	{ "SHA-256 too short", "3 1 1 0123456789abcdef", 0, DLV_TLSA_LENGTH,
	  8 },
	{ "SHA-512 of 32 octets", "3 1 2 " H32, 0, DLV_TLSA_LENGTH, 32 },
	{ "cut by dnscached", "3 1 0 abab", BW_DNS_RRF_TRUNCATED,
	  DLV_TLSA_CUT, 0 },
	{ "odd hex", "3 1 1 abc", 0, DLV_TLSA_SYNTAX, 0 },
	{ "not hex", "3 1 1 zz", 0, DLV_TLSA_SYNTAX, 0 },
	{ "no data", "3 1 1 ", 0, DLV_TLSA_SYNTAX, 0 },
	{ "missing field", "3 1 " H32, 0, DLV_TLSA_SYNTAX, 0 },
	{ "usage 256", "256 1 1 " H32, 0, DLV_TLSA_SYNTAX, 0 },
	{ "empty", "", 0, DLV_TLSA_SYNTAX, 0 },
	{ "two spaces", "3  1 1 " H32, 0, DLV_TLSA_SYNTAX, 0 },
	{ "trailing space", "3 1 1 " H32 " ", 0, DLV_TLSA_SYNTAX, 0 },
};

START_TEST(tlsa_parse_table)
{
	struct dlv_tlsa_rec	 r;

	ck_assert_msg(dlv_dane_tlsa_parse(tlsa_cases[_i].text,
	    tlsa_cases[_i].flags, &r) == tlsa_cases[_i].want, "%s: %s",
	    tlsa_cases[_i].label, dlv_tlsa_parse_name(dlv_dane_tlsa_parse(
	    tlsa_cases[_i].text, tlsa_cases[_i].flags, &r)));
	ck_assert_int_eq(r.len, tlsa_cases[_i].want_len);
}
END_TEST

START_TEST(tlsa_parse_fields)
{
	struct dlv_tlsa_rec	 r;

	ck_assert_int_eq(dlv_dane_tlsa_parse("2 0 1 " H32, 0, &r),
	    DLV_TLSA_OK);
	ck_assert_uint_eq(r.usage, 2);
	ck_assert_uint_eq(r.selector, 0);
	ck_assert_uint_eq(r.mtype, 1);
	ck_assert_uint_eq(r.data[0], 0x01);
	ck_assert_uint_eq(r.data[7], 0xef);
	ck_assert_uint_eq(r.data[31], 0xef);
}
END_TEST

/* The longest text dnscached sends whole still fits; longer is cut. */
START_TEST(tlsa_parse_longest)
{
	struct dlv_tlsa_rec	 r;
	char			*text;
	size_t			 n = BW_DNS_RDATA_TEXT_MAX - 1, i;

	text = malloc(n + 1);
	memcpy(text, "3 1 0 ", 6);
	for (i = 6; i < n; i++)
		text[i] = 'a';
	if ((n - 6) % 2 != 0)
		text[--n] = '\0';
	text[n] = '\0';
	ck_assert_int_eq(dlv_dane_tlsa_parse(text, 0, &r), DLV_TLSA_OK);
	ck_assert_uint_eq(r.len, (n - 6) / 2);
	ck_assert_uint_le(r.len, DLV_TLSA_DATA_MAX);
	free(text);
}
END_TEST

START_TEST(dane_state_names)
{
	int	 s;

	for (s = 0; s < DLV_DANE__COUNT; s++)
		ck_assert_str_ne(dlv_dane_state_name((enum dlv_dane_state)s),
		    "?");
	ck_assert_str_eq(dlv_dane_state_name(DLV_DANE__COUNT), "?");
}
END_TEST

static Suite *
dane_suite(void)
{
	Suite	*s = suite_create("dane");
	TCase	*tc;

	tc = tcase_create("TLSA records");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, tlsa_parse_table, 0,
	    (int)(sizeof(tlsa_cases) / sizeof(tlsa_cases[0])));
	tcase_add_test(tc, tlsa_parse_fields);
	tcase_add_test(tc, tlsa_parse_longest);
	tcase_add_test(tc, dane_state_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dane_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
