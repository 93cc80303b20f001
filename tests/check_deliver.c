/*
 * deliverd's pure parts: the SMTP reply parser (multi-line, enhanced
 * codes, malformed shapes), EHLO keywords, reply status and DSN mapping,
 * dot-stuffing, the body in BDAT chunks, MX ordering and the spreading of
 * connections over hosts, the MX cut to the best preferences, and the
 * loop checks (is a next hop one of our listeners, does a greeting name
 * our hostname).
 */
#include "bw_autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config.h"
#include "util.h"
#include "deliverd.h"

/* ---- reply parser ---- */

static const struct {
	const char	*name;
	const char	*lines[6];
	int		 want_result;	/* of the last line fed */
	int		 want_code;
	const char	*want_enh;
	const char	*want_text;	/* prefix, NULL: not checked */
} reply_cases[] = {
	{ "single line", { "250 ok" }, DLV_REPLY_DONE, 250, "", "250 ok" },
	{ "enhanced code", { "250 2.1.0 Sender ok" }, DLV_REPLY_DONE, 250,
	    "2.1.0", "250 2.1.0 Sender ok" },
	{ "code only", { "354" }, DLV_REPLY_DONE, 354, "", "354" },
	{ "multi-line", { "250-mx.example hello", "250-PIPELINING",
	    "250 SIZE 1000" }, DLV_REPLY_DONE, 250, "",
	    "250 mx.example hello PIPELINING SIZE 1000" },
	{ "multi-line, enhanced first", { "550-5.1.1 no such user",
	    "550 5.1.1 really" }, DLV_REPLY_DONE, 550, "5.1.1", NULL },
	{ "enhanced class mismatch", { "550 4.1.1 odd" }, DLV_REPLY_DONE,
	    550, "", NULL },
	{ "enhanced code without text", { "451 4.3.0" }, DLV_REPLY_DONE, 451,
	    "4.3.0", NULL },
	{ "enhanced code malformed", { "550 5.1 short" }, DLV_REPLY_DONE, 550,
	    "", NULL },
	{ "enhanced code glued", { "550 5.1.1x" }, DLV_REPLY_DONE, 550, "",
	    NULL },
	{ "continuation pending", { "250-first" }, DLV_REPLY_MORE, 250, "",
	    NULL },
	{ "code changes mid-reply", { "250-first", "251 second" },
	    DLV_REPLY_BAD, 250, "", NULL },
	{ "bad separator", { "250xok" }, DLV_REPLY_BAD, 0, "", NULL },
	{ "too short", { "25" }, DLV_REPLY_BAD, 0, "", NULL },
	{ "letters", { "2a0 ok" }, DLV_REPLY_BAD, 0, "", NULL },
	{ "class 1", { "150 hmm" }, DLV_REPLY_BAD, 0, "", NULL },
	{ "class 6", { "650 hmm" }, DLV_REPLY_BAD, 0, "", NULL },
	{ "empty line", { "" }, DLV_REPLY_BAD, 0, "", NULL },
	{ "malformed continuation", { "250-a", "2" }, DLV_REPLY_BAD, 250, "",
	    NULL },
	{ "control bytes escaped", { "250 a\tb" }, DLV_REPLY_DONE, 250, "",
	    "250 a?b" },
};

START_TEST(reply_parse)
{
	struct dlv_reply	 r;
	int			 i, res = -1;

	dlv_reply_init(&r);
	for (i = 0; i < 6 && reply_cases[_i].lines[i] != NULL; i++) {
		res = dlv_reply_feed(&r, reply_cases[_i].lines[i],
		    strlen(reply_cases[_i].lines[i]));
		if (res != DLV_REPLY_MORE)
			break;
	}
	ck_assert_msg(res == reply_cases[_i].want_result, "%s: result %d",
	    reply_cases[_i].name, res);
	if (res == DLV_REPLY_BAD)
		return;
	ck_assert_msg(r.code == reply_cases[_i].want_code, "%s: code %d",
	    reply_cases[_i].name, r.code);
	ck_assert_msg(strcmp(r.enh, reply_cases[_i].want_enh) == 0,
	    "%s: enh '%s'", reply_cases[_i].name, r.enh);
	if (reply_cases[_i].want_text != NULL)
		ck_assert_msg(strncmp(r.text, reply_cases[_i].want_text,
		    strlen(reply_cases[_i].want_text)) == 0, "%s: text '%s'",
		    reply_cases[_i].name, r.text);
}
END_TEST

START_TEST(reply_too_many_lines)
{
	struct dlv_reply	 r;
	int			 i, res = DLV_REPLY_MORE;

	dlv_reply_init(&r);
	for (i = 0; i < DLV_REPLY_LINES_MAX + 5 && res == DLV_REPLY_MORE; i++)
		res = dlv_reply_feed(&r, "250-x", 5);
	ck_assert_int_eq(res, DLV_REPLY_BAD);
	ck_assert_int_le(i, DLV_REPLY_LINES_MAX + 1);
}
END_TEST

START_TEST(reply_long_text_cut)
{
	struct dlv_reply	 r;
	char			 line[DLV_REPLY_LINE_MAX];
	int			 i;

	memset(line, 'a', sizeof(line));
	memcpy(line, "250-", 4);
	dlv_reply_init(&r);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(dlv_reply_feed(&r, line, sizeof(line)),
		    DLV_REPLY_MORE);
	line[3] = ' ';
	ck_assert_int_eq(dlv_reply_feed(&r, line, sizeof(line)),
	    DLV_REPLY_DONE);
	ck_assert_uint_lt(strlen(r.text), sizeof(r.text));
}
END_TEST

START_TEST(reply_fed_after_done)
{
	struct dlv_reply	 r;

	dlv_reply_init(&r);
	ck_assert_int_eq(dlv_reply_feed(&r, "250 ok", 6), DLV_REPLY_DONE);
	ck_assert_int_eq(dlv_reply_feed(&r, "250 ok", 6), DLV_REPLY_BAD);
}
END_TEST

/* ---- status and DSN ---- */

static const struct {
	const char	*line;
	int		 want_status;
	const char	*want_dsn;
} status_cases[] = {
	{ "250 ok", BW_DLV_DELIVERED, "2.0.0" },
	{ "250 2.6.0 queued", BW_DLV_DELIVERED, "2.6.0" },
	{ "451 try later", BW_DLV_TEMPFAIL, "4.0.0" },
	{ "452 4.5.3 too many", BW_DLV_TEMPFAIL, "4.5.3" },
	{ "550 5.1.1 unknown", BW_DLV_PERMFAIL, "5.1.1" },
	{ "554 no", BW_DLV_PERMFAIL, "5.0.0" },
	{ "354 go ahead", BW_DLV_PERMFAIL, "5.0.0" },
};

START_TEST(reply_status_dsn)
{
	struct dlv_reply	 r;
	char			 dsn[BW_DSN_CODE_MAX];

	dlv_reply_init(&r);
	ck_assert_int_eq(dlv_reply_feed(&r, status_cases[_i].line,
	    strlen(status_cases[_i].line)), DLV_REPLY_DONE);
	ck_assert_int_eq(dlv_reply_status(&r), status_cases[_i].want_status);
	dlv_reply_dsn(&r, dsn, sizeof(dsn));
	ck_assert_str_eq(dsn, status_cases[_i].want_dsn);
}
END_TEST

/* ---- EHLO keywords ---- */

START_TEST(ehlo_keywords)
{
	static const char *lines[] = {
		"250-PIPELINING", "250-SIZE 10240000", "250-8BITMIME",
		"250-STARTTLS", "250-ENHANCEDSTATUSCODES", "250-SMTPUTF8",
		"250-X-UNKNOWN a b",
		"250-AVERYLONGKEYWORDTHATWEDONOTKNOWATALLREALLY x",
		"250-chunking", "250-BINARYMIME",
		"250 DSN",
	};
	struct dlv_ext	 e;
	size_t		 i;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		dlv_ehlo_line(&e, lines[i], strlen(lines[i]));
	ck_assert_int_eq(e.pipelining, 1);
	ck_assert_int_eq(e.size, 1);
	ck_assert_uint_eq(e.size_max, 10240000);
	ck_assert_int_eq(e.eightbitmime, 1);
	ck_assert_int_eq(e.starttls, 1);
	ck_assert_int_eq(e.enhanced, 1);
	ck_assert_int_eq(e.smtputf8, 1);
	ck_assert_int_eq(e.chunking, 1);
	ck_assert_int_eq(e.binarymime, 1);
	ck_assert_int_eq(e.dsn, 1);

	memset(&e, 0, sizeof(e));
	dlv_ehlo_line(&e, "250 size", 8);
	ck_assert_int_eq(e.size, 1);
	ck_assert_uint_eq(e.size_max, 0);
	dlv_ehlo_line(&e, "250 SIZE 12x", 12);
	ck_assert_uint_eq(e.size_max, 0);
	dlv_ehlo_line(&e, "250", 3);
	ck_assert_int_eq(e.pipelining, 0);
	dlv_ehlo_line(&e, "250-CHUNKINGX", 13);
	ck_assert_int_eq(e.chunking, 0);
}
END_TEST

/* ---- the body in BDAT chunks ---- */

static const struct {
	size_t		 size;		/* body bytes (in pieces of 7) */
	size_t		 max;		/* chunk size */
	const char	*want_cmds;	/* the BDAT lines, joined by '|' */
} bdat_cases[] = {
	{ 0, 16, "BDAT 0 LAST" },
	{ 5, 16, "BDAT 5 LAST" },
	{ 16, 16, "BDAT 16 LAST" },
	{ 17, 16, "BDAT 16|BDAT 1 LAST" },
	{ 48, 16, "BDAT 16|BDAT 16|BDAT 16 LAST" },
	{ 100, 30, "BDAT 30|BDAT 30|BDAT 30|BDAT 10 LAST" },
	{ 100, 1, NULL },	/* 100 chunks of 1 */
};

/*
 * Chunks until LAST; the body is freed before the output is read (a job
 * may end with its chunks still queued for the socket): the output must
 * still hold every byte, each chunk exactly behind its BDAT line.
 */
START_TEST(bdat_chunks)
{
	struct evbuffer	*body = evbuffer_new(), *out = evbuffer_new();
	char		 src[256], cmds[512] = "", *p, *nl, line[64];
	size_t		 size = bdat_cases[_i].size, off = 0, i, n, got = 0;
	int		 nchunks = 0;

	ck_assert_ptr_nonnull(body);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < size; i++)
		src[i] = (char)(i * 37 + 1);	/* CR, LF, NUL among them */
	for (i = 0; i < size; i += 7)
		evbuffer_add(body, src + i, size - i < 7 ? size - i : 7);
	do {
		ck_assert_int_eq(dlv_body_bdat(out, body, &off,
		    bdat_cases[_i].max), 0);
		ck_assert_int_lt(++nchunks, 1000);
	} while (off < size);
	ck_assert_uint_eq(off, size);
	evbuffer_free(body);
	n = evbuffer_get_length(out);
	p = (char *)evbuffer_pullup(out, -1);
	while (n > 0) {
		size_t	 clen;

		ck_assert_ptr_nonnull(nl = memchr(p, '\n', n));
		ck_assert_uint_lt((size_t)(nl - p), sizeof(line));
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		ck_assert_msg(nl > p && nl[-1] == '\r', "no CRLF: %s", line);
		line[nl - p - 1] = '\0';
		ck_assert_int_eq(strncmp(line, "BDAT ", 5), 0);
		clen = strtoul(line + 5, NULL, 10);
		if (cmds[0] != '\0')
			strlcat(cmds, "|", sizeof(cmds));
		strlcat(cmds, line, sizeof(cmds));
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
		ck_assert_uint_le(clen, n);
		ck_assert_int_eq(memcmp(p, src + got, clen), 0);
		got += clen;
		p += clen;
		n -= clen;
		/* LAST only on the last chunk */
		ck_assert_int_eq(strstr(line, " LAST") != NULL, n == 0);
	}
	ck_assert_uint_eq(got, size);
	if (bdat_cases[_i].want_cmds != NULL)
		ck_assert_str_eq(cmds, bdat_cases[_i].want_cmds);
	else
		ck_assert_int_eq(nchunks, (int)size);
	evbuffer_free(out);
}
END_TEST

/* ---- DSN parameters to a next hop (deliverd_dsn.c) ---- */

START_TEST(dsn_params)
{
	char	 b[DLV_DSN_PARAMS_MAX], small[12];

	ck_assert_int_eq(dlv_dsn_mail_params(BW_DSN_RET_NONE, "", b,
	    sizeof(b)), 0);
	ck_assert_str_eq(b, "");
	ck_assert_int_eq(dlv_dsn_mail_params(BW_DSN_RET_HDRS, "a+b=c d", b,
	    sizeof(b)), 0);
	ck_assert_str_eq(b, " RET=HDRS ENVID=a+2Bb+3Dc+20d");
	ck_assert_int_eq(dlv_dsn_mail_params(BW_DSN_RET_FULL, "", b,
	    sizeof(b)), 0);
	ck_assert_str_eq(b, " RET=FULL");
	/* a text that could end the line is never sent */
	ck_assert_int_eq(dlv_dsn_mail_params(0, "x\r\nRCPT TO:<y>", b,
	    sizeof(b)), -1);

	ck_assert_int_eq(dlv_dsn_rcpt_params(0, "", b, sizeof(b)), 0);
	ck_assert_str_eq(b, "");
	ck_assert_int_eq(dlv_dsn_rcpt_params(BW_DSN_NOTIFY_NEVER, "", b,
	    sizeof(b)), 0);
	ck_assert_str_eq(b, " NOTIFY=NEVER");
	ck_assert_int_eq(dlv_dsn_rcpt_params(BW_DSN_NOTIFY_DELAY |
	    BW_DSN_NOTIFY_SUCCESS, "rfc822;a+b@c.example", b, sizeof(b)), 0);
	ck_assert_str_eq(b, " NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@c.example");
	ck_assert_int_eq(dlv_dsn_rcpt_params(0, "no-type", b, sizeof(b)), -1);
	ck_assert_int_eq(dlv_dsn_rcpt_params(0, ";a@b", b, sizeof(b)), -1);
	/* too small a buffer: refused, not cut */
	ck_assert_int_eq(dlv_dsn_rcpt_params(BW_DSN_NOTIFY_FAILURE, "", small,
	    sizeof(small)), -1);
}
END_TEST

/* ---- dot-stuffing ---- */

static const struct {
	const char	*chunks[4];
	const char	*want;
	int		 want_bol;
} stuff_cases[] = {
	{ { "a\r\n" }, "a\r\n", 1 },
	{ { ".a\r\n" }, "..a\r\n", 1 },
	{ { "a\r\n.\r\n" }, "a\r\n..\r\n", 1 },
	{ { "a.b\r\n..\r\n" }, "a.b\r\n...\r\n", 1 },
	{ { "a\r\n", ".b\r\n" }, "a\r\n..b\r\n", 1 },
	{ { "a\r", "\n.", "x" }, "a\r\n..x", 0 },
	{ { "no newline" }, "no newline", 0 },
	{ { "" }, "", 1 },
	{ { ".", ".", "." }, "...." , 0 },
};

START_TEST(dotstuff)
{
	struct evbuffer	*out = evbuffer_new();
	char		 got[256];
	size_t		 n;
	int		 bol = 1, i;

	ck_assert_ptr_nonnull(out);
	for (i = 0; i < 4 && stuff_cases[_i].chunks[i] != NULL; i++)
		ck_assert_int_eq(dlv_dotstuff(out, stuff_cases[_i].chunks[i],
		    strlen(stuff_cases[_i].chunks[i]), &bol), 0);
	n = evbuffer_get_length(out);
	ck_assert_uint_lt(n, sizeof(got));
	evbuffer_remove(out, got, n);
	got[n] = '\0';
	ck_assert_str_eq(got, stuff_cases[_i].want);
	ck_assert_int_eq(bol, stuff_cases[_i].want_bol);
	evbuffer_free(out);
}
END_TEST

/* Without an output: 1 exactly when the copy above changed something. */
START_TEST(dotstuff_scan)
{
	size_t	 in = 0, i;
	int	 bol = 1, r = 0;

	for (i = 0; i < 4 && stuff_cases[_i].chunks[i] != NULL && r == 0;
	    i++) {
		in += strlen(stuff_cases[_i].chunks[i]);
		r = dlv_dotstuff(NULL, stuff_cases[_i].chunks[i],
		    strlen(stuff_cases[_i].chunks[i]), &bol);
	}
	for (; i < 4 && stuff_cases[_i].chunks[i] != NULL; i++)
		in += strlen(stuff_cases[_i].chunks[i]);
	ck_assert_int_eq(r, strlen(stuff_cases[_i].want) != in);
	if (r == 0)
		ck_assert_int_eq(bol, stuff_cases[_i].want_bol);
}
END_TEST

/* ---- addresses safe on a command line ---- */

static const struct {
	const char	*addr;
	int		 want_ok;
} addr_cases[] = {
	{ "a@example.org", 1 },
	{ "", 1 },
	{ "\"quoted local\"@example.org", 1 },
	{ "a@example.org\r\nRSET", 0 },
	{ "a@example.org\n", 0 },
	{ "a\x7f@example.org", 0 },
	{ "a>@example.org", 0 },
	{ "<a@example.org", 0 },
	{ "a\t@example.org", 0 },
};

START_TEST(addr_ok)
{
	ck_assert_msg(dlv_addr_ok(addr_cases[_i].addr) ==
	    addr_cases[_i].want_ok, "case %d", _i);
}
END_TEST

/* ---- MX ordering and spreading ---- */

static void
host_set(struct dlv_host *h, const char *name, int pref, int naddrs,
    uint64_t down_until)
{
	memset(h, 0, sizeof(*h));
	strlcpy(h->name, name, sizeof(h->name));
	h->pref = pref;
	h->naddrs = naddrs;
	h->down_until = down_until;
}

START_TEST(mx_sort_stable)
{
	struct dlv_host	 h[5];

	host_set(&h[0], "c20", 20, 1, 0);
	host_set(&h[1], "a10", 10, 1, 0);
	host_set(&h[2], "d30", 30, 1, 0);
	host_set(&h[3], "b10", 10, 1, 0);
	host_set(&h[4], "e0", 0, 1, 0);
	dlv_mx_sort(h, 5);
	ck_assert_str_eq(h[0].name, "e0");
	ck_assert_str_eq(h[1].name, "a10");
	ck_assert_str_eq(h[2].name, "b10");
	ck_assert_str_eq(h[3].name, "c20");
	ck_assert_str_eq(h[4].name, "d30");
}
END_TEST

static const struct {
	const char	*name;
	int		 prefs[4];
	int		 naddrs[4];
	int		 down[4];	/* 1: down now, 2: it is us */
	int		 n;
	int		 picks;
	int		 want[4];	/* picks per host */
} pick_cases[] = {
	{ "best preference only", { 10, 20, 30 }, { 1, 1, 1 }, { 0, 0, 0 },
	    3, 4, { 4, 0, 0 } },
	{ "spread over equal preference", { 10, 10, 20 }, { 1, 1, 1 },
	    { 0, 0, 0 }, 3, 6, { 3, 3, 0 } },
	{ "fall back when best is down", { 10, 20, 30 }, { 1, 1, 1 },
	    { 1, 0, 0 }, 3, 4, { 0, 4, 0 } },
	{ "fall back past a host without address", { 10, 20, 20 },
	    { 0, 1, 1 }, { 0, 0, 0 }, 3, 4, { 0, 2, 2 } },
	{ "one of two equal is down", { 10, 10, 20 }, { 1, 1, 1 },
	    { 0, 1, 0 }, 3, 3, { 3, 0, 0 } },
	{ "all down", { 10, 20 }, { 1, 1 }, { 1, 1 }, 2, 2, { 0, 0 } },
	{ "a host that is us is never picked", { 10, 20 }, { 1, 1 },
	    { 2, 0 }, 2, 2, { 0, 2 } },
};

START_TEST(mx_pick)
{
	struct dlv_host	 h[4];
	unsigned	 rr = 0;
	int		 count[4] = { 0, 0, 0, 0 }, i, k, none = 0;
	uint64_t	 now = 1000000;

	for (i = 0; i < pick_cases[_i].n; i++) {
		host_set(&h[i], "h", pick_cases[_i].prefs[i],
		    pick_cases[_i].naddrs[i],
		    pick_cases[_i].down[i] == 1 ? now + 1 : now - 1);
		h[i].self = pick_cases[_i].down[i] == 2;
	}
	for (i = 0; i < pick_cases[_i].picks; i++) {
		k = dlv_mx_pick(h, pick_cases[_i].n, &rr, now);
		if (k == -1)
			none++;
		else
			count[k]++;
	}
	for (i = 0; i < pick_cases[_i].n; i++)
		ck_assert_msg(count[i] == pick_cases[_i].want[i],
		    "%s: host %d picked %d times", pick_cases[_i].name, i,
		    count[i]);
	if (strcmp(pick_cases[_i].name, "all down") == 0)
		ck_assert_int_eq(none, pick_cases[_i].picks);
}
END_TEST

START_TEST(mx_pick_down_expires)
{
	struct dlv_host	 h[2];
	unsigned	 rr = 0;

	host_set(&h[0], "a", 10, 1, 5000);
	host_set(&h[1], "b", 20, 1, 0);
	ck_assert_int_eq(dlv_mx_pick(h, 2, &rr, 4999), 1);
	ck_assert_int_eq(dlv_mx_pick(h, 2, &rr, 5000), 0);
}
END_TEST

/*
 * dlv_mx_add: whatever the order of the records, the best max are kept,
 * sorted, equal preferences in arrival order.
 */
static const struct {
	const char	*name;
	int		 prefs[24];
	int		 n;
	int		 max;
	int		 want[8];	/* preferences kept, in order */
	int		 nwant;
} mxadd_cases[] = {
	{ "best last", { 90, 80, 70, 60, 50, 40, 30, 20, 10 }, 9, 4,
	    { 10, 20, 30, 40 }, 4 },
	{ "best first", { 10, 20, 30, 40, 50, 60 }, 6, 4,
	    { 10, 20, 30, 40 }, 4 },
	{ "room for all", { 30, 10, 20 }, 3, 4, { 10, 20, 30 }, 3 },
	{ "ties keep arrival order", { 20, 10, 20, 10, 20 }, 5, 3,
	    { 10, 10, 20 }, 3 },
	{ "worse than a full list: dropped", { 1, 2, 3, 9, 8, 7 }, 6, 3,
	    { 1, 2, 3 }, 3 },
};

START_TEST(mx_add_keeps_best)
{
	struct dlv_host	 h[8];
	char		 name[16];
	int		 i, n = 0;

	for (i = 0; i < mxadd_cases[_i].n; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		(void)dlv_mx_add(h, &n, mxadd_cases[_i].max, name,
		    mxadd_cases[_i].prefs[i]);
	}
	ck_assert_int_eq(n, mxadd_cases[_i].nwant);
	for (i = 0; i < n; i++)
		ck_assert_msg(h[i].pref == mxadd_cases[_i].want[i] &&
		    h[i].port == 25 && !h[i].self, "%s: host %d pref %d",
		    mxadd_cases[_i].name, i, h[i].pref);
	if (strcmp(mxadd_cases[_i].name, "ties keep arrival order") == 0) {
		ck_assert_str_eq(h[0].name, "h1");
		ck_assert_str_eq(h[1].name, "h3");
		ck_assert_str_eq(h[2].name, "h0");
	}
}
END_TEST

/* 40 MX records from a list of 16: the 16 lowest, whatever the order. */
START_TEST(mx_add_forty)
{
	struct dlv_host	*h;
	char		 name[16];
	int		 i, n = 0;

	h = calloc(DLV_MX_HOSTS_MAX, sizeof(*h));
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "h%d", 89 - i);
		(void)dlv_mx_add(h, &n, DLV_MX_HOSTS_MAX, name, 89 - i);
	}
	ck_assert_int_eq(n, DLV_MX_HOSTS_MAX);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(h[i].pref, 50 + i);
	free(h);
}
END_TEST

/* ---- loop checks ---- */

static const char self_conf[] =
    "hostname mx.example.org\n"
    "listener a {\n address 192.0.2.10\n port 25\n type public\n"
    " accept_domains example.org\n}\n"
    "listener b {\n address 0.0.0.0\n port 2525\n type public\n"
    " accept_domains example.org\n}\n"
    "listener c {\n address :: \n port 587\n type public\n"
    " accept_domains example.org\n}\n"
    "listener d {\n address 2001:db8::25\n port 25\n type public\n"
    " accept_domains example.org\n}\n";

static const struct {
	const char	*name;
	const char	*addr;
	int		 port;
	int		 want;
} self_addr_cases[] = {
	{ "our listener's address and port", "192.0.2.10", 25, 1 },
	{ "our address, another port", "192.0.2.10", 2526, 0 },
	{ "another address, our port", "192.0.2.11", 25, 0 },
	{ "IPv4-mapped form of our address", "::ffff:192.0.2.10", 25, 1 },
	{ "wildcard: loopback", "127.0.0.1", 2525, 1 },
	{ "wildcard: anywhere in 127/8", "127.1.2.3", 2525, 1 },
	{ "wildcard: an interface address", "198.51.100.7", 2525, 1 },
	{ "wildcard: a remote address", "198.51.100.8", 2525, 0 },
	{ "wildcard: the IPv4 one does not cover IPv6", "::1", 2525, 0 },
	{ "IPv6 wildcard: ::1", "::1", 587, 1 },
	{ "IPv6 wildcard: an interface address", "2001:db8::7", 587, 1 },
	{ "IPv6 wildcard: does not cover IPv4", "127.0.0.1", 587, 0 },
	{ "IPv6 wildcard: a remote address", "2001:db8::8", 587, 0 },
	{ "IPv6 listener's address", "2001:DB8:0::25", 25, 1 },
	{ "specific listener: loopback is not it", "127.0.0.1", 25, 0 },
	{ "not an address", "mx.example.org", 25, 0 },
	{ "empty", "", 25, 0 },
};

START_TEST(self_addr)
{
	struct bw_config	*cfg = config_new();
	struct dlv_ifaddrs	*ifa = calloc(1, sizeof(*ifa));

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(config_parse_text(cfg, "t.conf", self_conf, NULL,
	    NULL, NULL), 0);
	ck_assert_int_eq(dlv_self_ifaddr_add(ifa, "198.51.100.7"), 0);
	ck_assert_int_eq(dlv_self_ifaddr_add(ifa, "2001:db8::7"), 0);
	ck_assert_int_eq(dlv_self_ifaddr_add(ifa, "nonsense"), -1);
	ck_assert_msg(dlv_self_addr(cfg, ifa, self_addr_cases[_i].addr,
	    self_addr_cases[_i].port) == self_addr_cases[_i].want, "%s",
	    self_addr_cases[_i].name);
	free(ifa);
	config_unref(cfg);
}
END_TEST

START_TEST(self_ifaddrs_full)
{
	struct dlv_ifaddrs	*ifa = calloc(1, sizeof(*ifa));
	int			 i;

	for (i = 0; i < DLV_SELF_IFADDRS_MAX; i++)
		ck_assert_int_eq(dlv_self_ifaddr_add(ifa, "192.0.2.1"), 0);
	ck_assert_int_eq(dlv_self_ifaddr_add(ifa, "192.0.2.2"), -1);
	ck_assert_int_eq(ifa->n, DLV_SELF_IFADDRS_MAX);
	free(ifa);
}
END_TEST

static const struct {
	const char	*text;		/* as dlv_reply keeps it */
	const char	*hostname;
	int		 want;
} self_name_cases[] = {
	{ "220 mx.example.org ESMTP Breakwater", "mx.example.org", 1 },
	{ "220 MX.Example.ORG. ready", "mx.example.org", 1 },
	{ "250 mx.example.org PIPELINING SIZE", "mx.example.org.", 1 },
	{ "250 mx.example.org", "mx.example.org", 1 },
	{ "220 2.0.0 mx.example.org ready", "mx.example.org", 1 },
	{ "220 mx.example.org.evil ESMTP", "mx.example.org", 0 },
	{ "220 mx.example.or ESMTP", "mx.example.org", 0 },
	{ "220 other.example ESMTP mx.example.org", "mx.example.org", 0 },
	{ "220", "mx.example.org", 0 },
	{ "220 ", "mx.example.org", 0 },
	{ "", "mx.example.org", 0 },
	{ "220 mx.example.org", "", 0 },
	{ "220 2.0.0", "mx.example.org", 0 },
	{ "xyz mx.example.org", "mx.example.org", 0 },
	{ "220 localhost ESMTP", "localhost", 0 },
	{ "220 localhost.localdomain ESMTP", "LOCALHOST.localdomain.", 0 },
	{ "220 localhost2 ESMTP", "localhost2", 1 },
};

START_TEST(self_name)
{
	ck_assert_msg(dlv_self_name(self_name_cases[_i].text,
	    self_name_cases[_i].hostname) == self_name_cases[_i].want,
	    "\"%s\" vs %s", self_name_cases[_i].text,
	    self_name_cases[_i].hostname);
}
END_TEST

static Suite *
deliver_suite(void)
{
	Suite	*s = suite_create("deliver");
	TCase	*tc;

	tc = tcase_create("reply parser");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, reply_parse, 0,
	    sizeof(reply_cases) / sizeof(reply_cases[0]));
	tcase_add_test(tc, reply_too_many_lines);
	tcase_add_test(tc, reply_long_text_cut);
	tcase_add_test(tc, reply_fed_after_done);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply status and dsn");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, reply_status_dsn, 0,
	    sizeof(status_cases) / sizeof(status_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("ehlo keywords");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, ehlo_keywords);
	suite_add_tcase(s, tc);

	tc = tcase_create("dot-stuffing");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, dotstuff, 0,
	    sizeof(stuff_cases) / sizeof(stuff_cases[0]));
	tcase_add_loop_test(tc, dotstuff_scan, 0,
	    sizeof(stuff_cases) / sizeof(stuff_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("bdat chunks");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, bdat_chunks, 0,
	    sizeof(bdat_cases) / sizeof(bdat_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("dsn parameters");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, dsn_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("addresses");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, addr_ok, 0,
	    sizeof(addr_cases) / sizeof(addr_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("mx ordering and spreading");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, mx_sort_stable);
	tcase_add_loop_test(tc, mx_pick, 0,
	    sizeof(pick_cases) / sizeof(pick_cases[0]));
	tcase_add_test(tc, mx_pick_down_expires);
	tcase_add_loop_test(tc, mx_add_keeps_best, 0,
	    sizeof(mxadd_cases) / sizeof(mxadd_cases[0]));
	tcase_add_test(tc, mx_add_forty);
	suite_add_tcase(s, tc);

	tc = tcase_create("loop checks");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, self_addr, 0,
	    sizeof(self_addr_cases) / sizeof(self_addr_cases[0]));
	tcase_add_test(tc, self_ifaddrs_full);
	tcase_add_loop_test(tc, self_name, 0,
	    sizeof(self_name_cases) / sizeof(self_name_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(deliver_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
