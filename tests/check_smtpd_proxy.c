/*
 * Unit tests of the PROXY protocol parser (smtpd/smtpd_proxy.c): valid
 * v1 and v2 headers, each fed in every prefix (a prefix is "more", never
 * "bad", and the whole is "done" with the right length), SMTP bytes after
 * the header left alone, and hostile headers: wrong tokens, addresses,
 * ports, lengths, versions, families, cut TLVs, and seeded random bytes
 * after a valid start, which must never read past what they are given;
 * and the sniffer that tells a header's first bytes from a client's.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_proxy.h"

#define RANDOM_INPUTS	20000	/* random headers in the hostile test */

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* Every proper prefix is MORE; the whole is DONE and consumes want. */
static void
prefixes_then_done(const unsigned char *buf, size_t len, size_t want,
    struct smtpd_proxy_result *res)
{
	const char	*why;
	size_t		 i;

	for (i = 0; i < want; i++)
		ck_assert_msg(smtpd_proxy_parse(buf, i, res, &why) ==
		    SMTPD_PROXY_MORE, "prefix %zu of %zu: %s", i, want,
		    why != NULL ? why : "done");
	ck_assert_int_eq(smtpd_proxy_parse(buf, len, res, &why),
	    SMTPD_PROXY_DONE);
	ck_assert_uint_eq(res->length, want);
}

#define BAD(lit, what)	expect_bad(lit, sizeof(lit) - 1, what)

static void
expect_bad(const void *buf, size_t len, const char *what)
{
	struct smtpd_proxy_result	 res;
	const char			*why = NULL;

	ck_assert_msg(smtpd_proxy_parse(buf, len, &res, &why) ==
	    SMTPD_PROXY_BAD, "%s: not refused", what);
	ck_assert_msg(why != NULL && *why != '\0', "%s: no reason", what);
}

static void
expect_addr(const struct sockaddr_storage *ss, const char *addr, int port)
{
	char	 text[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s->sin_addr, text, sizeof(text));
		ck_assert_int_eq(ntohs(s->sin_port), port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		ck_assert_int_eq(ss->ss_family, AF_INET6);
		inet_ntop(AF_INET6, &s->sin6_addr, text, sizeof(text));
		ck_assert_int_eq(ntohs(s->sin6_port), port);
	}
	ck_assert_str_eq(text, addr);
}

START_TEST(proxy_v1_tcp4)
{
	const char			*h = "PROXY TCP4 192.0.2.7 198.51.100.1 "
					    "56324 25\r\nEHLO x\r\n";
	struct smtpd_proxy_result	 res;

	prefixes_then_done((const unsigned char *)h, strlen(h),
	    strlen(h) - strlen("EHLO x\r\n"), &res);
	ck_assert_int_eq(res.version, 1);
	ck_assert_int_eq(res.local, 0);
	expect_addr(&res.src, "192.0.2.7", 56324);
	expect_addr(&res.dst, "198.51.100.1", 25);
}
END_TEST

START_TEST(proxy_v1_tcp6_and_unknown)
{
	const char			*h6 = "PROXY TCP6 2001:db8::1 ::1 0 "
					    "65535\r\n";
	const char			*hu = "PROXY UNKNOWN ffff:f::1 x 1 2\r\n";
	const char			*hu2 = "PROXY UNKNOWN\r\n";
	struct smtpd_proxy_result	 res;

	prefixes_then_done((const unsigned char *)h6, strlen(h6), strlen(h6),
	    &res);
	ck_assert_int_eq(res.local, 0);
	expect_addr(&res.src, "2001:db8::1", 0);
	expect_addr(&res.dst, "::1", 65535);
	prefixes_then_done((const unsigned char *)hu, strlen(hu), strlen(hu),
	    &res);
	ck_assert_int_eq(res.local, 1);
	prefixes_then_done((const unsigned char *)hu2, strlen(hu2),
	    strlen(hu2), &res);
	ck_assert_int_eq(res.local, 1);
}
END_TEST

START_TEST(proxy_v1_hostile)
{
	char	 longline[300];

	BAD("EHLO x\r\n", "no header");
	BAD("PROXZ", "prefix typo");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "bare LF");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx\r\n", "bare CR");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "five fields");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "seven fields");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "trailing space");
	BAD("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "double space");
	BAD("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "UDP");
	BAD("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "lower case");
	BAD("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "v6 in TCP4");
	BAD("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "v4 in TCP6");
	BAD("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", "octet 256");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "port 65536");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 025 2\r\n", "leading 0");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "sign");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n", "empty port");
	BAD("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", "NUL");
	/* no CRLF within 107 bytes, however the rest looks */
	memset(longline, 'A', sizeof(longline));
	memcpy(longline, "PROXY UNKNOWN ", 14);
	expect_bad(longline, SMTPD_PROXY_V1_MAX, "107 bytes, no CRLF");
	expect_bad(longline, sizeof(longline), "300 bytes, no CRLF");
	memcpy(longline + SMTPD_PROXY_V1_MAX - 1, "\r\n", 2);
	expect_bad(longline, SMTPD_PROXY_V1_MAX + 1, "CRLF at 108");
	memcpy(longline + SMTPD_PROXY_V1_MAX - 2, "\r\n", 2);
	{
		struct smtpd_proxy_result	 res;

		ck_assert_int_eq(smtpd_proxy_parse((unsigned char *)longline,
		    sizeof(longline), &res, NULL), SMTPD_PROXY_DONE);
		ck_assert_uint_eq(res.length, SMTPD_PROXY_V1_MAX);
	}
}
END_TEST

/* A v2 header: cmd, family byte, address block, then extra bytes. */
static size_t
v2_build(unsigned char *buf, int cmd, int fam, const unsigned char *addrs,
    size_t alen, const unsigned char *tlvs, size_t tlen)
{
	size_t	 body = alen + tlen;

	memcpy(buf, v2_sig, 12);
	buf[12] = (unsigned char)(0x20 | cmd);
	buf[13] = (unsigned char)fam;
	buf[14] = (unsigned char)(body >> 8);
	buf[15] = (unsigned char)(body & 0xff);
	if (alen > 0)
		memcpy(buf + 16, addrs, alen);
	if (tlen > 0)
		memcpy(buf + 16 + alen, tlvs, tlen);
	return 16 + body;
}

START_TEST(proxy_v2_valid)
{
	static const unsigned char a4[12] = {
		192, 0, 2, 9, 127, 0, 0, 1, 0xdb, 0xfa, 0, 25 };
	unsigned char			 a6[36], buf[SMTPD_PROXY_V2_MAX + 64];
	static const unsigned char	 tlv[] = {
		0x01, 0x00, 0x02, 'h', '2',		/* ALPN */
		0x04, 0x00, 0x00,			/* NOOP, empty */
	};
	struct smtpd_proxy_result	 res;
	size_t				 n;

	n = v2_build(buf, 1, 0x11, a4, sizeof(a4), NULL, 0);
	memcpy(buf + n, "EHLO x\r\n", 8);
	prefixes_then_done(buf, n + 8, n, &res);
	ck_assert_int_eq(res.version, 2);
	ck_assert_int_eq(res.local, 0);
	expect_addr(&res.src, "192.0.2.9", 56314);
	expect_addr(&res.dst, "127.0.0.1", 25);

	memset(a6, 0, sizeof(a6));
	a6[0] = 0x20; a6[1] = 0x01; a6[2] = 0x0d; a6[3] = 0xb8; a6[15] = 5;
	a6[31] = 1;
	a6[32] = 0x04; a6[33] = 0x00; a6[34] = 0x00; a6[35] = 0x19;
	n = v2_build(buf, 1, 0x21, a6, sizeof(a6), tlv, sizeof(tlv));
	prefixes_then_done(buf, n, n, &res);
	expect_addr(&res.src, "2001:db8::5", 1024);
	expect_addr(&res.dst, "::1", 25);

	/* LOCAL: the balancer's health check, addresses ignored */
	n = v2_build(buf, 0, 0x11, a4, sizeof(a4), NULL, 0);
	prefixes_then_done(buf, n, n, &res);
	ck_assert_int_eq(res.local, 1);
	/* PROXY with an unspecified family: the connection's own */
	n = v2_build(buf, 1, 0x00, NULL, 0, NULL, 0);
	prefixes_then_done(buf, n, n, &res);
	ck_assert_int_eq(res.local, 1);
	/* the largest header we take */
	memset(buf + 16 + 12, 0, sizeof(buf) - 28);
	n = v2_build(buf, 1, 0x11, a4, sizeof(a4), NULL, 0);
	buf[16 + 12] = 0x04;	/* one NOOP TLV fills the rest */
	buf[16 + 13] = (SMTPD_PROXY_V2_MAX - 16 - 12 - 3) >> 8;
	buf[16 + 14] = (SMTPD_PROXY_V2_MAX - 16 - 12 - 3) & 0xff;
	buf[14] = (SMTPD_PROXY_V2_MAX - 16) >> 8;
	buf[15] = (SMTPD_PROXY_V2_MAX - 16) & 0xff;
	ck_assert_int_eq(smtpd_proxy_parse(buf, SMTPD_PROXY_V2_MAX, &res,
	    NULL), SMTPD_PROXY_DONE);
	ck_assert_uint_eq(res.length, SMTPD_PROXY_V2_MAX);
}
END_TEST

START_TEST(proxy_v2_hostile)
{
	static const unsigned char a4[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1,
		0, 2 };
	unsigned char	 buf[SMTPD_PROXY_V2_MAX + 64];
	size_t		 n;

	memcpy(buf, v2_sig, 12);
	buf[5] = 0x0e;
	expect_bad(buf, 6, "signature typo, early");
	memcpy(buf, v2_sig, 12);
	buf[12] = 0x11;		/* version 1 in binary */
	expect_bad(buf, 13, "version 1 byte, early");
	n = v2_build(buf, 2, 0x11, a4, sizeof(a4), NULL, 0);
	expect_bad(buf, n, "command 2");
	n = v2_build(buf, 1, 0x12, a4, sizeof(a4), NULL, 0);
	expect_bad(buf, n, "UDP");
	n = v2_build(buf, 1, 0x31, a4, sizeof(a4), NULL, 0);
	expect_bad(buf, n, "AF_UNIX");
	n = v2_build(buf, 1, 0x41, a4, sizeof(a4), NULL, 0);
	expect_bad(buf, n, "family 4");
	n = v2_build(buf, 1, 0x21, a4, sizeof(a4), NULL, 0);
	expect_bad(buf, n, "TCP6 with 12 bytes");
	n = v2_build(buf, 1, 0x11, a4, 8, NULL, 0);
	expect_bad(buf, n, "TCP4 with 8 bytes");
	n = v2_build(buf, 1, 0x11, a4, sizeof(a4), (const unsigned char *)
	    "\x01\x00", 2);
	expect_bad(buf, n, "TLV head cut");
	n = v2_build(buf, 1, 0x11, a4, sizeof(a4), (const unsigned char *)
	    "\x01\x00\x05xy", 5);
	expect_bad(buf, n, "TLV overruns");
	/* a length past our bound is refused before its bytes arrive */
	n = v2_build(buf, 1, 0x11, a4, sizeof(a4), NULL, 0);
	buf[14] = 0xff;
	buf[15] = 0xff;
	expect_bad(buf, 16, "64 KiB length");
	buf[14] = (SMTPD_PROXY_V2_MAX - 15) >> 8;
	buf[15] = (SMTPD_PROXY_V2_MAX - 15) & 0xff;
	expect_bad(buf, 16, "one byte over the bound");
}
END_TEST

/*
 * The first bytes of a client that is not a balancer: a header start (1),
 * too few bytes to tell (0), or no header (-1).
 */
struct sniff_case {
	const char	*what;
	const char	*buf;
	size_t		 len;
	int		 want;
};

#define SNIFF(w, lit, want)	{ w, lit, sizeof(lit) - 1, want }

static const struct sniff_case sniff_cases[] = {
	SNIFF("nothing yet", "", 0),
	SNIFF("v1 prefix", "PROX", 0),
	SNIFF("v1 word without its space", "PROXY", 0),
	SNIFF("v1 start", "PROXY ", 1),
	SNIFF("v1 line", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 1),
	SNIFF("v1 garbage after the word", "PROXY garbage", 1),
	SNIFF("lower case is a command", "proxy ", -1),
	SNIFF("EHLO", "EHLO x\r\n", -1),
	SNIFF("an empty line may begin v2", "\r\n", 0),
	SNIFF("v2 signature but its last byte", "\r\n\r\n\0\r\nQUIT", 0),
	SNIFF("v2 signature", "\r\n\r\n\0\r\nQUIT\n", 1),
	SNIFF("v2 signature and more", "\r\n\r\n\0\r\nQUIT\n\x21\x11", 1),
	SNIFF("two empty lines, then text", "\r\n\r\nEHLO", -1),
	SNIFF("QUIT alone", "QUIT\r\n", -1),
	SNIFF("a NUL byte", "\0", -1),
};

START_TEST(proxy_sniff_table)
{
	const struct sniff_case		*c = &sniff_cases[_i];
	struct smtpd_proxy_result	 res;

	ck_assert_msg(smtpd_proxy_sniff((const unsigned char *)c->buf,
	    c->len) == c->want, "%s: sniff %d, want %d", c->what,
	    smtpd_proxy_sniff((const unsigned char *)c->buf, c->len), c->want);
	/* what does not start a header is never one */
	if (c->want == -1)
		ck_assert_int_eq(smtpd_proxy_parse((const unsigned char *)
		    c->buf, c->len, &res, NULL), SMTPD_PROXY_BAD);
}
END_TEST

START_TEST(proxy_random)
{
	unsigned char			*buf;
	struct smtpd_proxy_result	 res;
	uint64_t			 x = 0x243f6a8885a308d3ULL;
	size_t				 len, i, start;
	int				 k, r;

	for (k = 0; k < RANDOM_INPUTS; k++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		len = 1 + x % (SMTPD_PROXY_V2_MAX + 32);
		/* exactly len bytes on the heap: ASan sees any overread */
		buf = malloc(len);
		ck_assert_ptr_nonnull(buf);
		start = 0;
		if (k % 3 == 0 && len >= 12) {
			memcpy(buf, v2_sig, 12);
			start = 12;
		} else if (k % 3 == 1 && len >= 6) {
			memcpy(buf, "PROXY ", 6);
			start = 6;
		}
		for (i = start; i < len; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			/* v1 lines: mostly text; v2: any byte */
			buf[i] = k % 3 == 1 ? (unsigned char)(" 0123456789."
			    ":TCP46UNKOW\r\n"[x % 25]) : (unsigned char)x;
		}
		r = smtpd_proxy_parse(buf, len, &res, NULL);
		ck_assert(r == SMTPD_PROXY_BAD || r == SMTPD_PROXY_MORE ||
		    r == SMTPD_PROXY_DONE);
		if (r == SMTPD_PROXY_DONE)
			ck_assert(res.length > 0 && res.length <= len);
		/* a header the parser takes starts as one to the sniffer */
		if (r != SMTPD_PROXY_BAD)
			ck_assert_int_ne(smtpd_proxy_sniff(buf, len), -1);
		free(buf);
	}
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite	*s = suite_create("smtpd_proxy");
	TCase	*tc = tcase_create("proxy");

	tcase_add_test(tc, proxy_v1_tcp4);
	tcase_add_test(tc, proxy_v1_tcp6_and_unknown);
	tcase_add_test(tc, proxy_v1_hostile);
	tcase_add_test(tc, proxy_v2_valid);
	tcase_add_test(tc, proxy_v2_hostile);
	tcase_add_loop_test(tc, proxy_sniff_table, 0,
	    sizeof(sniff_cases) / sizeof(sniff_cases[0]));
	tcase_add_test(tc, proxy_random);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(proxy_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
