/*
 * Unit tests of smtpd's command parser (smtpd/smtpd_parse.c): every verb,
 * argument rules, paths (quoted local parts, UTF-8, domain literals, source
 * routes, Postmaster), ESMTP parameters, the DSN parameters (RFC 3461)
 * and the xtext codec (common/xtext.c) they use, the sender-specified
 * routing detector, the RFC 2920 pipelining rule, the BDAT argument and
 * the line check of BDAT bodies (the same answer wherever the chunks split
 * them).  Table-driven.
 */
#include "bw_autoconf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_parse.h"
#include "xtext.h"

#define TIMEOUT	10

struct cmd_case {
	const char	*line;
	int		 want_result;
	int		 want_cmd;
	const char	*want_arg;	/* NULL: not checked */
};

static const struct cmd_case cmd_cases[] = {
	{ "HELO client.example", SMTP_PARSE_OK, SMTP_CMD_HELO, "client.example" },
	{ "helo client.example", SMTP_PARSE_OK, SMTP_CMD_HELO, "client.example" },
	{ "EHLO [192.0.2.1]", SMTP_PARSE_OK, SMTP_CMD_EHLO, "[192.0.2.1]" },
	{ "EHLO", SMTP_PARSE_ENOARG, SMTP_CMD_EHLO, NULL },
	{ "HELO   ", SMTP_PARSE_ENOARG, SMTP_CMD_HELO, NULL },
	{ "MAIL FROM:<a@b.example>", SMTP_PARSE_OK, SMTP_CMD_MAIL, "<a@b.example>" },
	{ "mail from:<a@b.example>", SMTP_PARSE_OK, SMTP_CMD_MAIL, "<a@b.example>" },
	{ "MAIL FROM: <a@b.example>", SMTP_PARSE_OK, SMTP_CMD_MAIL, "<a@b.example>" },
	{ "MAIL TO:<a@b.example>", SMTP_PARSE_ESYNTAX, SMTP_CMD_MAIL, NULL },
	{ "MAIL", SMTP_PARSE_ENOARG, SMTP_CMD_MAIL, NULL },
	{ "MAIL FROM:", SMTP_PARSE_ENOARG, SMTP_CMD_MAIL, NULL },
	{ "RCPT TO:<x@example.org>", SMTP_PARSE_OK, SMTP_CMD_RCPT, "<x@example.org>" },
	{ "RCPT FROM:<x@example.org>", SMTP_PARSE_ESYNTAX, SMTP_CMD_RCPT, NULL },
	{ "DATA", SMTP_PARSE_OK, SMTP_CMD_DATA, "" },
	{ "DATA ", SMTP_PARSE_OK, SMTP_CMD_DATA, "" },
	{ "DATA x", SMTP_PARSE_EARG, SMTP_CMD_DATA, NULL },
	{ "RSET", SMTP_PARSE_OK, SMTP_CMD_RSET, "" },
	{ "RSET now", SMTP_PARSE_EARG, SMTP_CMD_RSET, NULL },
	{ "NOOP", SMTP_PARSE_OK, SMTP_CMD_NOOP, "" },
	{ "NOOP anything", SMTP_PARSE_OK, SMTP_CMD_NOOP, "anything" },
	{ "QUIT", SMTP_PARSE_OK, SMTP_CMD_QUIT, "" },
	{ "HELP", SMTP_PARSE_OK, SMTP_CMD_HELP, "" },
	{ "HELP MAIL", SMTP_PARSE_OK, SMTP_CMD_HELP, "MAIL" },
	{ "VRFY postmaster", SMTP_PARSE_OK, SMTP_CMD_VRFY, "postmaster" },
	{ "VRFY", SMTP_PARSE_ENOARG, SMTP_CMD_VRFY, NULL },
	{ "STARTTLS", SMTP_PARSE_OK, SMTP_CMD_STARTTLS, "" },
	{ "STARTTLS x", SMTP_PARSE_EARG, SMTP_CMD_STARTTLS, NULL },
	{ "EXPN list", SMTP_PARSE_ENOTIMPL, SMTP_CMD_EXPN, NULL },
	{ "BDAT 10 LAST", SMTP_PARSE_OK, SMTP_CMD_BDAT, "10 LAST" },
	{ "bdat 0 last", SMTP_PARSE_OK, SMTP_CMD_BDAT, "0 last" },
	{ "BDAT", SMTP_PARSE_ENOARG, SMTP_CMD_BDAT, NULL },
	{ "AUTH PLAIN", SMTP_PARSE_ENOTIMPL, SMTP_CMD_AUTH, NULL },
	{ "FOO", SMTP_PARSE_EUNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "", SMTP_PARSE_EUNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "HELOX a", SMTP_PARSE_EUNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "GET / HTTP/1.0", SMTP_PARSE_EUNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "HELO a\x01", SMTP_PARSE_EBADCHAR, SMTP_CMD_UNKNOWN, NULL },
	{ "RSET\nQUIT", SMTP_PARSE_EBADCHAR, SMTP_CMD_UNKNOWN, NULL },
	{ "QUIT\r", SMTP_PARSE_EBADCHAR, SMTP_CMD_UNKNOWN, NULL },
	{ "\xc3\xa9HLO x", SMTP_PARSE_EUNKNOWN, SMTP_CMD_UNKNOWN, NULL },
};

START_TEST(parse_commands)
{
	const struct cmd_case	*c = &cmd_cases[_i];
	struct smtp_command	 cmd;
	char			 line[256];
	int			 r;

	strcpy(line, c->line);
	r = smtp_parse_command(line, strlen(line), &cmd);
	ck_assert_msg(r == c->want_result, "%s: result %s, want %s",
	    c->line, smtp_parse_result_name(r),
	    smtp_parse_result_name(c->want_result));
	if (c->want_result == SMTP_PARSE_OK || c->want_cmd != SMTP_CMD_UNKNOWN)
		ck_assert_msg((int)cmd.cmd == c->want_cmd, "%s: cmd %d",
		    c->line, cmd.cmd);
	if (c->want_arg != NULL)
		ck_assert_str_eq(cmd.arg, c->want_arg);
}
END_TEST

START_TEST(parse_command_nul)
{
	struct smtp_command	 cmd;
	char			 line[] = "HELO a\0b";

	ck_assert_int_eq(smtp_parse_command(line, sizeof(line) - 1, &cmd),
	    SMTP_PARSE_EBADCHAR);
}
END_TEST

struct mail_case {
	const char	*arg;
	int		 want_result;
	const char	*want_addr;
	const char	*want_domain;
	int		 want_null;
	int		 want_utf8;
	uint64_t	 want_size;
	int		 want_body;
	int		 want_smtputf8;
};

static const struct mail_case mail_cases[] = {
	{ "<a@b.example>", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 0, 0, 0 },
	{ "<A.B@Mixed.EXAMPLE>", SMTP_PARSE_OK, "A.B@Mixed.EXAMPLE", "mixed.example", 0, 0, 0, 0, 0 },
	{ "<>", SMTP_PARSE_OK, "", "", 1, 0, 0, 0, 0 },
	{ "<> SIZE=100", SMTP_PARSE_OK, "", "", 1, 0, 100, 0, 0 },
	{ "<a@b.example> SIZE=12345", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 12345, 0, 0 },
	{ "<a@b.example> size=1 body=8bitmime", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 1, SMTP_BODY_8BITMIME, 0 },
	{ "<a@b.example> BODY=7BIT", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 0, SMTP_BODY_7BIT, 0 },
	{ "<a@b.example> BODY=BINARYMIME", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 0, SMTP_BODY_BINARYMIME, 0 },
	{ "<a@b.example> body=binarymime SIZE=9", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 9, SMTP_BODY_BINARYMIME, 0 },
	{ "<a@b.example>  SIZE=5  ", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 5, 0, 0 },
	{ "<\"john doe\"@b.example>", SMTP_PARSE_OK, "\"john doe\"@b.example", "b.example", 0, 0, 0, 0, 0 },
	{ "<\"a\\\"q\"@b.example>", SMTP_PARSE_OK, "\"a\\\"q\"@b.example", "b.example", 0, 0, 0, 0, 0 },
	{ "<\"a@b\"@c.example>", SMTP_PARSE_OK, "\"a@b\"@c.example", "c.example", 0, 0, 0, 0, 0 },
	{ "<a+tag/x=y!#$%&'*^_`{|}~-@b.example>", SMTP_PARSE_OK, "a+tag/x=y!#$%&'*^_`{|}~-@b.example", "b.example", 0, 0, 0, 0, 0 },
	{ "<a@[192.0.2.1]>", SMTP_PARSE_OK, "a@[192.0.2.1]", "[192.0.2.1]", 0, 0, 0, 0, 0 },
	{ "<a@[IPv6:2001:db8::1]>", SMTP_PARSE_OK, "a@[IPv6:2001:db8::1]", "[ipv6:2001:db8::1]", 0, 0, 0, 0, 0 },
	{ "<@relay.example:a@b.example>", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 0, 0, 0 },
	{ "<@r1.example,@r2.example:a@b.example>", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 0, 0, 0 },
	{ "<j\xc3\xb6rg@b.example> SMTPUTF8", SMTP_PARSE_OK, "j\xc3\xb6rg@b.example", "b.example", 0, 1, 0, 0, 1 },
	{ "<a@b\xc3\xbc\x63her.example> SMTPUTF8", SMTP_PARSE_OK, "a@b\xc3\xbc\x63her.example", "b\xc3\xbc\x63her.example", 0, 1, 0, 0, 1 },
	{ "<a@b.example> SMTPUTF8", SMTP_PARSE_OK, "a@b.example", "b.example", 0, 0, 0, 0, 1 },
	/* errors */
	{ "<j\xc3\xb6rg@b.example>", SMTP_PARSE_EUTF8, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<j\xc3rg@b.example> SMTPUTF8", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<j\xc0\xafrg@b.example> SMTPUTF8", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "a@b.example", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example>x", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<@b.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@@b.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a b@b.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<.a@b.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a.@b.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a..b@b.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<\"unterminated@b.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b..example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@-b.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b-.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example.>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b_c.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@[192.0.2.300]>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@[IPv6:zz::1]>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@[192.0.2.1>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	/* a general literal holding '@': the domain is after the last '@' */
	{ "<a@[x-tag:opaque]>", SMTP_PARSE_OK, "a@[x-tag:opaque]", "[x-tag:opaque]", 0, 0, 0, 0, 0 },
	{ "<a@[tag:b@victim.example]>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<@relay.example a@b.example>", SMTP_PARSE_ESENDER, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> SIZE=", SMTP_PARSE_EPARAMSYN, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> SIZE=abc", SMTP_PARSE_EPARAMSYN, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> SIZE=99999999999999999999999", SMTP_PARSE_EPARAMSYN, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> SIZE=1 SIZE=2", SMTP_PARSE_EDUPPARAM, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> BODY=9BIT", SMTP_PARSE_EPARAMSYN, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> BODY=BINARYMIME BODY=8BITMIME", SMTP_PARSE_EDUPPARAM, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> BODY=7BIT BODY=7BIT", SMTP_PARSE_EDUPPARAM, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> SMTPUTF8=yes", SMTP_PARSE_EPARAMSYN, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> AUTH=<>", SMTP_PARSE_EPARAM, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> RET=FULL RET=HDRS", SMTP_PARSE_EDUPPARAM, NULL, NULL, 0, 0, 0, 0, 0 },
	{ "<a@b.example> =x", SMTP_PARSE_EPARAMSYN, NULL, NULL, 0, 0, 0, 0, 0 },
};

START_TEST(parse_mail)
{
	const struct mail_case	*c = &mail_cases[_i];
	struct smtp_path	 path;
	struct smtp_params	 prm;
	int			 r;

	r = smtp_parse_mail(c->arg, &path, &prm);
	ck_assert_msg(r == c->want_result, "%s: result %s, want %s", c->arg,
	    smtp_parse_result_name(r), smtp_parse_result_name(c->want_result));
	if (r != SMTP_PARSE_OK)
		return;
	ck_assert_str_eq(path.addr, c->want_addr);
	ck_assert_str_eq(path.domain, c->want_domain);
	ck_assert_int_eq(path.null, c->want_null);
	ck_assert_int_eq(path.utf8, c->want_utf8);
	ck_assert_uint_eq(prm.size, c->want_size);
	ck_assert_int_eq(prm.has_size, c->want_size != 0);
	ck_assert_int_eq(prm.body, c->want_body);
	ck_assert_int_eq(prm.smtputf8, c->want_smtputf8);
}
END_TEST

struct rcpt_case {
	const char	*arg;
	int		 utf8_ok;
	int		 want_result;
	const char	*want_addr;
	const char	*want_domain;
	int		 want_postmaster;
	int		 want_literal;
};

static const struct rcpt_case rcpt_cases[] = {
	{ "<x@example.org>", 0, SMTP_PARSE_OK, "x@example.org", "example.org", 0, 0 },
	{ "<x@EXAMPLE.org>", 0, SMTP_PARSE_OK, "x@EXAMPLE.org", "example.org", 0, 0 },
	{ "<Postmaster>", 0, SMTP_PARSE_OK, "Postmaster", "", 1, 0 },
	{ "<postmaster>", 0, SMTP_PARSE_OK, "postmaster", "", 1, 0 },
	{ "<postmaster@example.org>", 0, SMTP_PARSE_OK, "postmaster@example.org", "example.org", 0, 0 },
	{ "<x@[10.0.0.1]>", 0, SMTP_PARSE_OK, "x@[10.0.0.1]", "[10.0.0.1]", 0, 1 },
	{ "<\"a b\"@example.org>", 0, SMTP_PARSE_OK, "\"a b\"@example.org", "example.org", 0, 0 },
	{ "<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example>", 1, SMTP_PARSE_OK,
	  "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example", "\xe4\xbe\x8b\xe5\xad\x90.example", 0, 0 },
	{ "<\xe7\x94\xa8\xe6\x88\xb7@example.org>", 0, SMTP_PARSE_EUTF8, NULL, NULL, 0, 0 },
	{ "<>", 0, SMTP_PARSE_ERCPT, NULL, NULL, 0, 0 },
	{ "<user>", 0, SMTP_PARSE_ERCPT, NULL, NULL, 0, 0 },
	{ "x@example.org", 0, SMTP_PARSE_ERCPT, NULL, NULL, 0, 0 },
	{ "<x@example.org> RET=FULL", 0, SMTP_PARSE_EPARAM, NULL, NULL, 0, 0 },
	{ "<x@example.org> SIZE=1", 0, SMTP_PARSE_EPARAM, NULL, NULL, 0, 0 },
	{ "<x@exa mple.org>", 0, SMTP_PARSE_ERCPT, NULL, NULL, 0, 0 },
	{ "<x@[tag:y@victim.example]>", 0, SMTP_PARSE_ERCPT, NULL, NULL, 0, 0 },
	{ "<x@[ROM:<a@192.0.2.1]>", 0, SMTP_PARSE_ERCPT, NULL, NULL, 0, 0 },
};

START_TEST(parse_rcpt)
{
	const struct rcpt_case	*c = &rcpt_cases[_i];
	struct smtp_path	 path;
	struct smtp_rcpt_params	 rp;
	int			 r;

	r = smtp_parse_rcpt(c->arg, c->utf8_ok, &path, &rp);
	ck_assert_msg(r == c->want_result, "%s: result %s, want %s", c->arg,
	    smtp_parse_result_name(r), smtp_parse_result_name(c->want_result));
	if (r != SMTP_PARSE_OK)
		return;
	ck_assert_str_eq(path.addr, c->want_addr);
	ck_assert_str_eq(path.domain, c->want_domain);
	ck_assert_int_eq(path.postmaster, c->want_postmaster);
	ck_assert_int_eq(path.literal, c->want_literal);
}
END_TEST

START_TEST(parse_path_too_long)
{
	struct smtp_path	 path;
	struct smtp_params	 prm;
	char			 arg[600];
	size_t			 n;

	/* 241 + 1 + 13 = 255 > SMTP_PATH_ADDR_MAX (254) */
	arg[0] = '<';
	memset(arg + 1, 'a', 241);
	n = 242;
	strcpy(arg + n, "@b.example.org>");
	ck_assert_int_eq(smtp_parse_mail(arg, &path, &prm), SMTP_PARSE_ETOOLONG);
	/* 240 + 1 + 13 = 254: fits exactly */
	memmove(arg + 1, arg + 2, strlen(arg + 2) + 1);
	ck_assert_int_eq(smtp_parse_mail(arg, &path, &prm), SMTP_PARSE_OK);
	ck_assert_uint_eq(strlen(path.addr), SMTP_PATH_ADDR_MAX);
	/* a label over 63 octets */
	strcpy(arg, "<a@");
	memset(arg + 3, 'b', 64);
	strcpy(arg + 67, ".example>");
	ck_assert_int_eq(smtp_parse_mail(arg, &path, &prm), SMTP_PARSE_ESENDER);
}
END_TEST

/* ---- BDAT (RFC 3030 2) ---- */

struct bdat_case {
	const char	*arg;		/* after "BDAT ", trailing blanks cut */
	int		 want_result;
	uint64_t	 want_size;
	int		 want_last;
};

static const struct bdat_case bdat_cases[] = {
	{ "10", SMTP_PARSE_OK, 10, 0 },
	{ "10 LAST", SMTP_PARSE_OK, 10, 1 },
	{ "0 LAST", SMTP_PARSE_OK, 0, 1 },
	{ "0", SMTP_PARSE_OK, 0, 0 },
	{ "007 last", SMTP_PARSE_OK, 7, 1 },
	{ "5  Last", SMTP_PARSE_OK, 5, 1 },
	{ "18446744073709551615", SMTP_PARSE_OK, UINT64_MAX, 0 },
	{ "18446744073709551616", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "99999999999999999999999 LAST", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "abc", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "-1", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "+1", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "1e3", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "0x10", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "10 FIRST", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "10 LASTX", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "10 LAST x", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "10 LAST LAST", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "10\tLAST", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ "LAST", SMTP_PARSE_ESYNTAX, 0, 0 },
	{ " 10", SMTP_PARSE_ESYNTAX, 0, 0 },
};

START_TEST(parse_bdat)
{
	const struct bdat_case	*c = &bdat_cases[_i];
	uint64_t		 size = 12345;
	int			 last = 7, r;

	r = smtp_parse_bdat(c->arg, &size, &last);
	ck_assert_msg(r == c->want_result, "%s: result %s, want %s", c->arg,
	    smtp_parse_result_name(r), smtp_parse_result_name(c->want_result));
	if (r != SMTP_PARSE_OK) {
		/* nothing written on error */
		ck_assert_uint_eq(size, 12345);
		ck_assert_int_eq(last, 7);
		return;
	}
	ck_assert_uint_eq(size, c->want_size);
	ck_assert_int_eq(last, c->want_last);
}
END_TEST

/* A whole command line through both parsers, as smtpd does. */
START_TEST(parse_bdat_line)
{
	struct smtp_command	 c;
	char			 line[64];
	uint64_t		 size;
	int			 last;

	strcpy(line, "BDAT 4096 LAST  ");
	ck_assert_int_eq(smtp_parse_command(line, strlen(line), &c),
	    SMTP_PARSE_OK);
	ck_assert_int_eq(c.cmd, SMTP_CMD_BDAT);
	ck_assert_int_eq(smtp_parse_bdat(c.arg, &size, &last), SMTP_PARSE_OK);
	ck_assert_uint_eq(size, 4096);
	ck_assert_int_eq(last, 1);
	strcpy(line, "BDAT 12\r");
	ck_assert_int_eq(smtp_parse_command(line, strlen(line), &c),
	    SMTP_PARSE_EBADCHAR);
}
END_TEST

struct scan_case {
	const char	*body;
	size_t		 maxline;
	int		 want;		/* of the scan, whole body at once */
	int		 want_end;	/* smtp_body_scan_end() after an OK scan */
	int		 want_open;	/* a last line without CRLF */
};

static const struct scan_case scan_cases[] = {
	{ "line\r\n", 100, SMTP_BODY_OK, SMTP_BODY_OK, 0 },
	{ "a\r\nb\r\n\r\n", 100, SMTP_BODY_OK, SMTP_BODY_OK, 0 },
	{ "\r\n", 100, SMTP_BODY_OK, SMTP_BODY_OK, 0 },
	{ "", 100, SMTP_BODY_OK, SMTP_BODY_OK, 0 },
	{ ".\r\n..\r\n", 100, SMTP_BODY_OK, SMTP_BODY_OK, 0 },
	{ "no line end", 100, SMTP_BODY_OK, SMTP_BODY_OK, 1 },
	{ "a\r\nb", 100, SMTP_BODY_OK, SMTP_BODY_OK, 1 },
	{ "ends in CR\r", 100, SMTP_BODY_OK, SMTP_BODY_EBARECR, 1 },
	{ "a\nb\r\n", 100, SMTP_BODY_EBARELF, 0, 0 },
	{ "\n", 100, SMTP_BODY_EBARELF, 0, 0 },
	{ "a\r\n\n", 100, SMTP_BODY_EBARELF, 0, 0 },
	{ "a\r\n.\n", 100, SMTP_BODY_EBARELF, 0, 0 },
	{ "a\rb\r\n", 100, SMTP_BODY_EBARECR, 0, 0 },
	{ "a\r\r\n", 100, SMTP_BODY_EBARECR, 0, 0 },
	{ "\r.\r", 100, SMTP_BODY_EBARECR, 0, 0 },
	{ "ab\rc", 100, SMTP_BODY_EBARECR, 0, 0 },
	/* maxline counts the CRLF, as in DATA */
	{ "12345678\r\n", 10, SMTP_BODY_OK, SMTP_BODY_OK, 0 },
	{ "123456789\r\n", 10, SMTP_BODY_ELONGLINE, 0, 0 },
	{ "ok\r\n12345678901", 10, SMTP_BODY_ELONGLINE, 0, 0 },
	{ "1234567890", 10, SMTP_BODY_OK, SMTP_BODY_OK, 1 },
};

/* Scan body in pieces cut at the offsets in cuts (ncuts, ascending). */
static int
scan_pieces(const char *body, const size_t *cuts, size_t ncuts,
    size_t maxline, struct smtp_body_scan *sc)
{
	size_t	 len = strlen(body), prev = 0, i, end;
	int	 r;

	smtp_body_scan_init(sc);
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : len;
		r = smtp_body_scan(sc, (const unsigned char *)body + prev,
		    end - prev, maxline);
		if (r != SMTP_BODY_OK)
			return r;
		prev = end;
	}
	return SMTP_BODY_OK;
}

START_TEST(body_scan)
{
	const struct scan_case	*c = &scan_cases[_i];
	struct smtp_body_scan	 sc;
	size_t			 len = strlen(c->body), cut, cuts[64], i;
	int			 r;

	r = scan_pieces(c->body, NULL, 0, c->maxline, &sc);
	ck_assert_msg(r == c->want, "case %d: %d, want %d", _i, r, c->want);
	if (r == SMTP_BODY_OK) {
		ck_assert_int_eq(smtp_body_scan_end(&sc), c->want_end);
		ck_assert_int_eq(sc.linelen > 0, c->want_open);
	}
	/*
	 * Wherever the chunks split the body (inside CRLF too), the body is
	 * refused or taken alike; the kind of refusal may differ ("a\rb\n"
	 * is a bare CR or a bare LF depending on the split).
	 */
	for (cut = 0; cut <= len; cut++) {
		r = scan_pieces(c->body, &cut, 1, c->maxline, &sc);
		ck_assert_msg((r == SMTP_BODY_OK) == (c->want == SMTP_BODY_OK),
		    "case %d cut at %zu: %d", _i, cut, r);
		if (r == SMTP_BODY_OK)
			ck_assert_int_eq(smtp_body_scan_end(&sc), c->want_end);
	}
	ck_assert_uint_lt(len, sizeof(cuts) / sizeof(cuts[0]));
	for (i = 0; i < len; i++)
		cuts[i] = i;
	r = scan_pieces(c->body, cuts, len, c->maxline, &sc);
	ck_assert_msg((r == SMTP_BODY_OK) == (c->want == SMTP_BODY_OK),
	    "case %d one octet at a time: %d", _i, r);
	if (r == SMTP_BODY_OK) {
		ck_assert_int_eq(smtp_body_scan_end(&sc), c->want_end);
		ck_assert_int_eq(sc.linelen > 0, c->want_open);
	}
}
END_TEST

struct utf8_case {
	const char	*s;
	int		 want;
};

static const struct utf8_case utf8_cases[] = {
	{ "plain", 1 },
	{ "\xc3\xa9", 1 },
	{ "\xe2\x82\xac", 1 },
	{ "\xf0\x9f\x98\x80", 1 },
	{ "\xc3", 0 },			/* truncated */
	{ "\xe2\x82", 0 },		/* truncated */
	{ "\xc0\xaf", 0 },		/* overlong */
	{ "\xe0\x80\xaf", 0 },		/* overlong */
	{ "\xed\xa0\x80", 0 },		/* surrogate */
	{ "\xf4\x90\x80\x80", 0 },	/* above U+10FFFF */
	{ "\xff", 0 },
	{ "\x80", 0 },			/* lone continuation */
};

START_TEST(utf8_valid)
{
	const struct utf8_case	*c = &utf8_cases[_i];

	ck_assert_int_eq(smtp_utf8_valid((const unsigned char *)c->s,
	    strlen(c->s)), c->want);
}
END_TEST

/* Sender-specified routing, on addresses as RCPT TO leaves them. */
struct routed_case {
	const char	*rcpt;
	int		 want;
};

static const struct routed_case routed_cases[] = {
	{ "<user@example.org>", 0 },
	{ "<first.last+tag@example.org>", 0 },
	{ "<\"quoted user\"@example.org>", 0 },
	{ "<\"\"@example.org>", 0 },
	{ "<@relay.example:user@example.org>", 0 },	/* A-d-l dropped */
	{ "<user@[192.0.2.1]>", 0 },
	{ "<user%other.example@example.org>", 1 },
	{ "<%@example.org>", 1 },
	{ "<other.example!user@example.org>", 1 },
	{ "<a!b%c@example.org>", 1 },
	{ "<\"user@other.example\"@example.org>", 1 },
	{ "<\"user%other\"@example.org>", 1 },
	{ "<\"a!b\"@example.org>", 1 },
	{ "<\"user\\@other.example\"@example.org>", 1 },	/* \@ */
	{ "<\"a\\\"@b\"@example.org>", 1 },	/* "a\"@b" */
	{ "<\"a\\\\\"@example.org>", 0 },	/* "a\\" */
};

START_TEST(addr_routed)
{
	const struct routed_case	*c = &routed_cases[_i];
	struct smtp_path		 path;
	struct smtp_rcpt_params		 rp;

	ck_assert_msg(smtp_parse_rcpt(c->rcpt, 0, &path, &rp) == SMTP_PARSE_OK,
	    "%s does not parse", c->rcpt);
	ck_assert_msg(smtp_addr_routed(path.addr) == c->want,
	    "%s (%s): routed %d, want %d", c->rcpt, path.addr,
	    smtp_addr_routed(path.addr), c->want);
}
END_TEST

/* A source route is dropped from the address and said in the path. */
START_TEST(path_source_route)
{
	static const struct {
		const char	*rcpt;
		const char	*addr;
		int		 route;
	} cases[] = {
		{ "<@relay.example:user@example.org>", "user@example.org", 1 },
		{ "<@a.example,@[192.0.2.1]:u@example.org>", "u@example.org",
		  1 },
		{ "<user@example.org>", "user@example.org", 0 },
		{ "<\"@a:u\"@example.org>", "\"@a:u\"@example.org", 0 },
	};
	struct smtp_path	 path;
	struct smtp_rcpt_params	 rp;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(smtp_parse_rcpt(cases[i].rcpt, 0, &path, &rp) ==
		    SMTP_PARSE_OK, "%s does not parse", cases[i].rcpt);
		ck_assert_str_eq(path.addr, cases[i].addr);
		ck_assert_int_eq(path.source_route, cases[i].route);
	}
	/* a route that does not end in ':' is no path */
	ck_assert_int_ne(smtp_parse_rcpt("<@a.example,u@example.org>", 0,
	    &path, &rp), SMTP_PARSE_OK);
}
END_TEST

/* RFC 2920 3.1: which commands may have more input behind them. */
START_TEST(cmd_may_pipeline)
{
	static const int	 group[] = {
		SMTP_CMD_MAIL, SMTP_CMD_RCPT, SMTP_CMD_RSET, SMTP_CMD_NOOP,
		SMTP_CMD_HELP, SMTP_CMD_VRFY, SMTP_CMD_UNKNOWN,
	};
	static const int	 last[] = {
		SMTP_CMD_EHLO, SMTP_CMD_HELO, SMTP_CMD_DATA,
	};
	static const int	 exempt[] = {
		SMTP_CMD_QUIT, SMTP_CMD_STARTTLS, SMTP_CMD_BDAT,
	};
	size_t			 i;

	for (i = 0; i < sizeof(group) / sizeof(group[0]); i++) {
		ck_assert_int_eq(smtp_cmd_may_pipeline(group[i], 1), 1);
		ck_assert_int_eq(smtp_cmd_may_pipeline(group[i], 0), 0);
	}
	for (i = 0; i < sizeof(last) / sizeof(last[0]); i++) {
		ck_assert_int_eq(smtp_cmd_may_pipeline(last[i], 1), 0);
		ck_assert_int_eq(smtp_cmd_may_pipeline(last[i], 0), 0);
	}
	for (i = 0; i < sizeof(exempt) / sizeof(exempt[0]); i++) {
		ck_assert_int_eq(smtp_cmd_may_pipeline(exempt[i], 1), 1);
		ck_assert_int_eq(smtp_cmd_may_pipeline(exempt[i], 0), 1);
	}
}
END_TEST

START_TEST(replies_have_codes)
{
	int	 i;

	for (i = 0; i < SMTP_PARSE__COUNT; i++) {
		const char *r = smtp_parse_reply(i);

		ck_assert_msg(r != NULL && strlen(r) > 10 && r[3] == ' ',
		    "reply %d", i);
		ck_assert_str_ne(smtp_parse_result_name(i), "?");
	}
	ck_assert_str_eq(smtp_cmd_name(SMTP_CMD_MAIL), "MAIL");
}
END_TEST

/* ---- DSN (RFC 3461) ---- */

struct dsn_mail_case {
	const char	*arg;
	int		 want_result;
	int		 want_ret;
	const char	*want_envid;
};

static const struct dsn_mail_case dsn_mail_cases[] = {
	{ "<a@b.example> RET=FULL", SMTP_PARSE_OK, BW_DSN_RET_FULL, "" },
	{ "<a@b.example> ret=hdrs", SMTP_PARSE_OK, BW_DSN_RET_HDRS, "" },
	{ "<a@b.example> ENVID=QQ314159", SMTP_PARSE_OK, 0, "QQ314159" },
	{ "<a@b.example> RET=HDRS ENVID=a+2Bb+3Dc+20d SIZE=10", SMTP_PARSE_OK,
	  BW_DSN_RET_HDRS, "a+b=c d" },
	{ "<> ENVID=x", SMTP_PARSE_OK, 0, "x" },
	{ "<a@b.example> RET=BOTH", SMTP_PARSE_ERET, 0, NULL },
	{ "<a@b.example> RET", SMTP_PARSE_ERET, 0, NULL },
	{ "<a@b.example> RET=FULL RET=FULL", SMTP_PARSE_EDUPPARAM, 0, NULL },
	{ "<a@b.example> ENVID=a ENVID=b", SMTP_PARSE_EDUPPARAM, 0, NULL },
	{ "<a@b.example> ENVID", SMTP_PARSE_EENVID, 0, NULL },
	{ "<a@b.example> ENVID=a+2", SMTP_PARSE_EENVID, 0, NULL },
	{ "<a@b.example> ENVID=a+2b", SMTP_PARSE_EENVID, 0, NULL },	/* lower */
	{ "<a@b.example> ENVID=a+0D+0A", SMTP_PARSE_EENVID, 0, NULL },	/* CRLF */
	{ "<a@b.example> ENVID=a+C3+A9", SMTP_PARSE_EENVID, 0, NULL },	/* 8-bit */
	{ "<a@b.example> ENVID=a+", SMTP_PARSE_EENVID, 0, NULL },
	{ "<a@b.example> NOTIFY=NEVER", SMTP_PARSE_EPARAM, 0, NULL },
	{ "<a@b.example> ORCPT=rfc822;a@b", SMTP_PARSE_EPARAM, 0, NULL },
};

START_TEST(dsn_mail)
{
	const struct dsn_mail_case	*c = &dsn_mail_cases[_i];
	struct smtp_path		 path;
	struct smtp_params		 prm;
	int				 r;

	r = smtp_parse_mail(c->arg, &path, &prm);
	ck_assert_msg(r == c->want_result, "%s: result %s, want %s", c->arg,
	    smtp_parse_result_name(r), smtp_parse_result_name(c->want_result));
	if (r != SMTP_PARSE_OK)
		return;
	ck_assert_int_eq(prm.dsn_ret, c->want_ret);
	ck_assert_str_eq(prm.envid, c->want_envid);
}
END_TEST

struct dsn_rcpt_case {
	const char	*arg;
	int		 want_result;
	uint32_t	 want_notify;
	const char	*want_orcpt;
};

#define NS	BW_DSN_NOTIFY_SUCCESS
#define NF	BW_DSN_NOTIFY_FAILURE
#define ND	BW_DSN_NOTIFY_DELAY

static const struct dsn_rcpt_case dsn_rcpt_cases[] = {
	{ "<x@example.org>", SMTP_PARSE_OK, 0, "" },
	{ "<x@example.org> NOTIFY=NEVER", SMTP_PARSE_OK, BW_DSN_NOTIFY_NEVER,
	  "" },
	{ "<x@example.org> NOTIFY=SUCCESS", SMTP_PARSE_OK, NS, "" },
	{ "<x@example.org> notify=delay,Failure", SMTP_PARSE_OK, ND | NF, "" },
	{ "<x@example.org> NOTIFY=SUCCESS,FAILURE,DELAY", SMTP_PARSE_OK,
	  NS | NF | ND, "" },
	{ "<x@example.org> ORCPT=rfc822;x+40example.org", SMTP_PARSE_OK, 0,
	  "rfc822;x@example.org" },
	{ "<x@example.org> NOTIFY=FAILURE ORCPT=rfc822;a+2Bb@c", SMTP_PARSE_OK,
	  NF, "rfc822;a+b@c" },
	{ "<x@example.org> ORCPT=UTF-8;a@b", SMTP_PARSE_OK, 0, "UTF-8;a@b" },
	/* bad input */
	{ "<x@example.org> NOTIFY=NEVER,SUCCESS", SMTP_PARSE_ENOTIFYNEVER, 0,
	  NULL },
	{ "<x@example.org> NOTIFY=DELAY,NEVER", SMTP_PARSE_ENOTIFYNEVER, 0,
	  NULL },
	{ "<x@example.org> NOTIFY=SOMETIMES", SMTP_PARSE_ENOTIFY, 0, NULL },
	{ "<x@example.org> NOTIFY=SUCCESS,", SMTP_PARSE_ENOTIFY, 0, NULL },
	{ "<x@example.org> NOTIFY=SUCCESS,,DELAY", SMTP_PARSE_ENOTIFY, 0,
	  NULL },
	{ "<x@example.org> NOTIFY=DELAY,DELAY", SMTP_PARSE_ENOTIFY, 0, NULL },
	{ "<x@example.org> NOTIFY", SMTP_PARSE_ENOTIFY, 0, NULL },
	{ "<x@example.org> NOTIFY=NEVER NOTIFY=NEVER", SMTP_PARSE_EDUPPARAM,
	  0, NULL },
	{ "<x@example.org> ORCPT=rfc822;a ORCPT=rfc822;b",
	  SMTP_PARSE_EDUPPARAM, 0, NULL },
	{ "<x@example.org> ORCPT=rfc822;a+4", SMTP_PARSE_EORCPT, 0, NULL },
	{ "<x@example.org> ORCPT=rfc822;a+zz", SMTP_PARSE_EORCPT, 0, NULL },
	{ "<x@example.org> ORCPT=rfc822;a+0Ab", SMTP_PARSE_EORCPT, 0, NULL },
	{ "<x@example.org> ORCPT=rfc822", SMTP_PARSE_EORCPT, 0, NULL },
	{ "<x@example.org> ORCPT=rfc822;", SMTP_PARSE_EORCPT, 0, NULL },
	{ "<x@example.org> ORCPT=;a@b", SMTP_PARSE_EORCPT, 0, NULL },
	{ "<x@example.org> ORCPT=rfc(822);a@b", SMTP_PARSE_EORCPT, 0, NULL },
	{ "<x@example.org> ENVID=x", SMTP_PARSE_EPARAM, 0, NULL },
};

START_TEST(dsn_rcpt)
{
	const struct dsn_rcpt_case	*c = &dsn_rcpt_cases[_i];
	struct smtp_path		 path;
	struct smtp_rcpt_params		 rp;
	int				 r;

	r = smtp_parse_rcpt(c->arg, 0, &path, &rp);
	ck_assert_msg(r == c->want_result, "%s: result %s, want %s", c->arg,
	    smtp_parse_result_name(r), smtp_parse_result_name(c->want_result));
	if (r != SMTP_PARSE_OK)
		return;
	ck_assert_uint_eq(rp.notify, c->want_notify);
	ck_assert_str_eq(rp.orcpt, c->want_orcpt);
}
END_TEST

/* RFC 3461 limits: ENVID 100 characters, ORCPT 500, counted as sent. */
START_TEST(dsn_lengths)
{
	struct smtp_path	 path;
	struct smtp_params	 prm;
	struct smtp_rcpt_params	 rp;
	char			 arg[1200];
	size_t			 n;

	n = (size_t)snprintf(arg, sizeof(arg), "<a@b.example> ENVID=");
	memset(arg + n, 'e', 100);
	arg[n + 100] = '\0';
	ck_assert_int_eq(smtp_parse_mail(arg, &path, &prm), SMTP_PARSE_OK);
	ck_assert_uint_eq(strlen(prm.envid), 100);
	strcat(arg, "e");
	ck_assert_int_eq(smtp_parse_mail(arg, &path, &prm),
	    SMTP_PARSE_EENVIDLEN);

	/* rfc822; + 493 = 500 */
	n = (size_t)snprintf(arg, sizeof(arg), "<x@b.example> ORCPT=rfc822;");
	memset(arg + n, 'o', 493);
	arg[n + 493] = '\0';
	ck_assert_int_eq(smtp_parse_rcpt(arg, 0, &path, &rp), SMTP_PARSE_OK);
	ck_assert_uint_eq(strlen(rp.orcpt), 500);
	strcat(arg, "o");
	ck_assert_int_eq(smtp_parse_rcpt(arg, 0, &path, &rp),
	    SMTP_PARSE_EORCPTLEN);
	/* far beyond any buffer: still the length error, not a crash */
	memset(arg + n, 'o', 1000);
	arg[n + 1000] = '\0';
	ck_assert_int_eq(smtp_parse_rcpt(arg, 0, &path, &rp),
	    SMTP_PARSE_EORCPTLEN);
	/* encoded, the limit counts the encoding: 3 per character */
	n = (size_t)snprintf(arg, sizeof(arg), "<x@b.example> ORCPT=rfc822;");
	while (n < sizeof(arg) - 4 && n < 30 + 500)
		n += (size_t)snprintf(arg + n, 4, "+41");
	ck_assert_int_eq(smtp_parse_rcpt(arg, 0, &path, &rp),
	    SMTP_PARSE_EORCPTLEN);
}
END_TEST

struct xtext_case {
	const char	*in;
	const char	*want;		/* NULL: refused */
};

static const struct xtext_case xdecode_cases[] = {
	{ "", "" },
	{ "plain", "plain" },
	{ "a+2Bb", "a+b" },
	{ "+3D+20+7E", "= ~" },
	{ "x+40y.z", "x@y.z" },
	{ "!#$%&'*-/?^_`{|}~", "!#$%&'*-/?^_`{|}~" },
	{ "a+2b", NULL },		/* lower-case hex */
	{ "a+2", NULL },		/* short */
	{ "a+", NULL },
	{ "a+GG", NULL },
	{ "a b", NULL },		/* SP must be coded */
	{ "a=b", NULL },		/* "=" must be coded */
	{ "a+00", NULL },		/* NUL */
	{ "a+0D+0AX-Evil: 1", NULL },	/* CR LF */
	{ "a+7F", NULL },		/* DEL */
	{ "a+80", NULL },		/* 8-bit */
	{ "\xc3\xa9", NULL },		/* raw 8-bit */
};

START_TEST(xtext_decode)
{
	const struct xtext_case	*c = &xdecode_cases[_i];
	char			 out[64];
	ssize_t			 r;

	r = bw_xtext_decode(c->in, strlen(c->in), out, sizeof(out));
	if (c->want == NULL) {
		ck_assert_msg(r == -1, "%s: decoded", c->in);
		return;
	}
	ck_assert_msg(r == (ssize_t)strlen(c->want), "%s: %zd", c->in, r);
	ck_assert_str_eq(out, c->want);
}
END_TEST

static const struct xtext_case xencode_cases[] = {
	{ "", "" },
	{ "plain", "plain" },
	{ "a+b=c d", "a+2Bb+3Dc+20d" },
	{ "x@y.z", "x@y.z" },
	{ "~!", "~!" },
	{ "tab\there", NULL },		/* not printable: refused */
	{ "cr\r\n", NULL },
	{ "\xc3\xa9", NULL },
};

START_TEST(xtext_encode)
{
	const struct xtext_case	*c = &xencode_cases[_i];
	char			 out[64], back[64];
	ssize_t			 r;

	r = bw_xtext_encode(c->in, out, sizeof(out));
	if (c->want == NULL) {
		ck_assert_msg(r == -1, "%s: encoded", c->in);
		return;
	}
	ck_assert_str_eq(out, c->want);
	ck_assert_int_eq(r, (ssize_t)strlen(c->want));
	/* and back */
	ck_assert_int_eq(bw_xtext_decode(out, strlen(out), back, sizeof(back)),
	    (ssize_t)strlen(c->in));
	ck_assert_str_eq(back, c->in);
}
END_TEST

/* Output bounds: never past dstsz, NUL included. */
START_TEST(xtext_bounds)
{
	char	 out[4];

	ck_assert_int_eq(bw_xtext_decode("abc", 3, out, sizeof(out)), 3);
	ck_assert_int_eq(bw_xtext_decode("abcd", 4, out, sizeof(out)), -1);
	ck_assert_int_eq(bw_xtext_encode("abc", out, sizeof(out)), 3);
	ck_assert_int_eq(bw_xtext_encode("a b", out, sizeof(out)), -1);
	ck_assert_int_eq(bw_xtext_encode(" ", out, sizeof(out)), 3);
	ck_assert_str_eq(out, "+20");
	ck_assert_int_eq(bw_xtext_decode("", 0, out, 0), -1);
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
smtpd_parse_suite(void)
{
	Suite	*s = suite_create("smtpd_parse");
	TCase	*tc;

	tc = tcase_create("commands");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, parse_commands, 0, N(cmd_cases));
	tcase_add_test(tc, parse_command_nul);
	suite_add_tcase(s, tc);

	tc = tcase_create("mail");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, parse_mail, 0, N(mail_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("rcpt");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, parse_rcpt, 0, N(rcpt_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("dsn");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, dsn_mail, 0, N(dsn_mail_cases));
	tcase_add_loop_test(tc, dsn_rcpt, 0, N(dsn_rcpt_cases));
	tcase_add_test(tc, dsn_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("xtext");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, xtext_decode, 0, N(xdecode_cases));
	tcase_add_loop_test(tc, xtext_encode, 0, N(xencode_cases));
	tcase_add_test(tc, xtext_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_test(tc, parse_path_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("bdat");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, parse_bdat, 0, N(bdat_cases));
	tcase_add_test(tc, parse_bdat_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("bdat body lines");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, body_scan, 0, N(scan_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, utf8_valid, 0, N(utf8_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("routing");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_loop_test(tc, addr_routed, 0, N(routed_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("pipelining");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_test(tc, path_source_route);
	tcase_add_test(tc, cmd_may_pipeline);
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_set_timeout(tc, TIMEOUT);
	tcase_add_test(tc, replies_have_codes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(smtpd_parse_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
