/*
 * Unit tests for the monitor's HTML pieces that need no daemon: escaping
 * (ctl/ctl_html.c: entities, control bytes, UTF-8 valid or not, URL
 * components), inline-SVG charts (ctl/controld_svg.c: the figures a chart
 * states, gaps, grouping of long ranges, escaped names, nothing fetched)
 * the stylesheet's bound (ctl/controld_style.c) and ctl_out's HTML
 * renderer (ctl/ctl_out_html.c: values, tables with sort links, sorting,
 * links, notes, the row bound, escaping).
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "util.h"
#include "ctl_html.h"
#include "ctl_out.h"
#include "ctl_out_html.h"
#include "controld_svg.h"
#include "controld_style.h"

/* The evbuffer's contents as a NUL-terminated string (caller frees). */
static char *
buf_string(struct evbuffer *b)
{
	size_t	 n = evbuffer_get_length(b);
	char	*s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	evbuffer_copyout(b, s, n);
	s[n] = '\0';
	return s;
}

#define ck_assert_ptr_before(a, b) ck_assert((a) != NULL && (b) != NULL && \
	(const char *)(a) < (const char *)(b))

static size_t
count_of(const char *hay, const char *needle)
{
	size_t	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static const struct {
	const char	*name;
	const char	*in;
	const char	*want;
} esc_cases[] = {
	{ "plain", "example.org", "example.org" },
	{ "empty", "", "" },
	{ "markup", "<script>alert(1)</script>",
	    "&lt;script&gt;alert(1)&lt;/script&gt;" },
	{ "quotes", "a\"b'c", "a&quot;b&#39;c" },
	{ "ampersand", "&amp;", "&amp;amp;" },
	{ "tab and newline kept", "a\tb\nc", "a\tb\nc" },
	{ "controls", "\x01\x1b\r\x7f", "&#x01;&#x1B;&#x0D;&#x7F;" },
	{ "valid UTF-8", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac",
	    "\xc3\xa9t\xc3\xa9 \xe2\x82\xac" },
	{ "lone 0xff", "a\xff" "b", "a&#xFF;b" },
	{ "overlong <", "\xc0\xbc", "&#xC0;&#xBC;" },
	{ "surrogate", "\xed\xa0\x80", "&#xED;&#xA0;&#x80;" },
	{ "truncated", "\xe2\x82", "&#xE2;&#x82;" },
};

START_TEST(html_escapes)
{
	struct evbuffer	*b = evbuffer_new();
	char		*got;

	ck_assert_ptr_nonnull(b);
	ctl_html_esc(b, esc_cases[_i].in);
	got = buf_string(b);
	ck_assert_msg(strcmp(got, esc_cases[_i].want) == 0,
	    "%s: got \"%s\"", esc_cases[_i].name, got);
	free(got);
	evbuffer_free(b);
}
END_TEST

START_TEST(html_escape_counted)
{
	struct evbuffer	*b = evbuffer_new();
	char		*got;

	ck_assert_ptr_nonnull(b);
	ctl_html_esc_n(b, "a<bcdef", 2);	/* not terminated at 2 */
	got = buf_string(b);
	ck_assert_str_eq(got, "a&lt;");
	free(got);
	evbuffer_free(b);
}
END_TEST

START_TEST(html_url_component)
{
	struct evbuffer	*b = evbuffer_new();
	char		*got;

	ck_assert_ptr_nonnull(b);
	ctl_html_url(b, "a b&c=d/\"<x>~_.-\xc3\xa9");
	got = buf_string(b);
	ck_assert_str_eq(got, "a%20b%26c%3Dd%2F%22%3Cx%3E~_.-%C3%A9");
	free(got);
	evbuffer_free(b);
}
END_TEST

START_TEST(svg_figures_and_gaps)
{
	struct evbuffer		*b = evbuffer_new();
	struct svg_chart	*c;
	char			*got;
	int			 s0, s1;

	ck_assert_ptr_nonnull(b);
	c = svg_chart_new("Mail <per minute>", SVG_LINE, 6000, 60, 60);
	ck_assert_ptr_nonnull(c);
	s0 = svg_chart_series(c, "received");
	s1 = svg_chart_series(c, "de\"livered");
	ck_assert_int_eq(s0, 0);
	ck_assert_int_eq(s1, 1);
	svg_chart_set(c, s0, 6000, 5);
	svg_chart_set(c, s0, 6059, 2);		/* same minute: replaces */
	svg_chart_set(c, s0, 6060, 7);
	svg_chart_set(c, s0, 6000 + 59 * 60, 1);	/* the last one */
	svg_chart_set(c, s0, 6000 + 60 * 60, 100);	/* outside: ignored */
	svg_chart_set(c, s0, 5999, 100);		/* before: ignored */
	svg_chart_set(c, s1, 6120, 3);
	svg_chart_set(c, 7, 6120, 3);			/* no such series */
	ck_assert_uint_eq(svg_chart_sum(c, s0), 10);
	ck_assert_uint_eq(svg_chart_sum(c, s1), 3);
	svg_chart_render(c, b);
	got = buf_string(b);
	ck_assert_ptr_nonnull(strstr(got, "data-series=\"received\" "
	    "data-sum=\"10\" data-max=\"7\" data-points=\"3\""));
	ck_assert_ptr_nonnull(strstr(got, "data-series=\"de&quot;livered\" "
	    "data-sum=\"3\""));
	ck_assert_ptr_nonnull(strstr(got, "<title>Mail &lt;per minute&gt;"
	    "</title>"));
	ck_assert_ptr_null(strstr(got, "<per"));
	/* received: a line of two minutes, a gap, a lone last minute (a
	 * dot); delivered: one lone minute (a dot) */
	ck_assert_uint_eq(count_of(got, "<polyline"), 1);
	ck_assert_uint_eq(count_of(got, "<circle"), 2);
	/* the axis: 7 rounds up to 10 */
	ck_assert_ptr_nonnull(strstr(got, ">10</text>"));
	ck_assert_ptr_nonnull(strstr(got, ">5</text>"));
	/* nothing from elsewhere */
	ck_assert_ptr_null(strstr(got, "href"));
	ck_assert_ptr_null(strstr(got, "<image"));
	ck_assert_ptr_null(strstr(got, "nodata"));
	free(got);
	svg_chart_free(c);
	evbuffer_free(b);
}
END_TEST

START_TEST(svg_bars_grouped)
{
	struct evbuffer		*b = evbuffer_new();
	struct svg_chart	*c;
	char			*got;
	int			 s;
	size_t			 i;

	ck_assert_ptr_nonnull(b);
	/* 90 days of hours: more intervals than pixel columns */
	c = svg_chart_new("hours", SVG_BARS, 0, 3600, 2160);
	ck_assert_ptr_nonnull(c);
	s = svg_chart_series(c, "delivered");
	for (i = 0; i < 2160; i++)
		svg_chart_set(c, s, (int64_t)i * 3600, i == 1000 ? 4000 : 1);
	svg_chart_render(c, b);
	got = buf_string(b);
	ck_assert_ptr_nonnull(strstr(got, "data-sum=\"6159\" "
	    "data-max=\"4000\" data-points=\"2160\""));
	/* one bar per pixel column at most, and the peak kept */
	ck_assert_uint_le(count_of(got, "<rect x="), SVG_WIDTH + 1);
	ck_assert_ptr_nonnull(strstr(got, ">5.0k</text>"));
	free(got);
	svg_chart_free(c);
	evbuffer_free(b);
}
END_TEST

START_TEST(svg_empty_and_limits)
{
	struct evbuffer		*b = evbuffer_new();
	struct svg_chart	*c;
	char			*got;
	int			 i;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(svg_chart_new("x", SVG_LINE, 0, 60, 0));
	ck_assert_ptr_null(svg_chart_new("x", SVG_LINE, 0, 60,
	    SVG_POINTS_MAX + 1));
	ck_assert_ptr_null(svg_chart_new("x", SVG_LINE, 0, 0, 10));
	c = svg_chart_new("nothing", SVG_LINE, 0, 60, 10);
	ck_assert_ptr_nonnull(c);
	for (i = 0; i < SVG_SERIES_MAX; i++)
		ck_assert_int_eq(svg_chart_series(c, "s"), i);
	ck_assert_int_eq(svg_chart_series(c, "one too many"), -1);
	svg_chart_render(c, b);
	got = buf_string(b);
	ck_assert_ptr_nonnull(strstr(got, "class=\"nodata\""));
	ck_assert_ptr_nonnull(strstr(got, "data-points=\"0\""));
	ck_assert_ptr_nonnull(strstr(got, "</svg>\n"));
	free(got);
	svg_chart_free(c);
	evbuffer_free(b);
}
END_TEST

START_TEST(svg_si_figures)
{
	char	 buf[16];

	svg_fmt_si(buf, sizeof(buf), 0);
	ck_assert_str_eq(buf, "0");
	svg_fmt_si(buf, sizeof(buf), 999);
	ck_assert_str_eq(buf, "999");
	svg_fmt_si(buf, sizeof(buf), 1500);
	ck_assert_str_eq(buf, "1.5k");
	svg_fmt_si(buf, sizeof(buf), 20000000);
	ck_assert_str_eq(buf, "20M");
	svg_fmt_si(buf, sizeof(buf), UINT64_MAX);
	ck_assert_str_eq(buf, "18E");
}
END_TEST

START_TEST(style_bounded)
{
	struct evbuffer	*b = evbuffer_new();
	char		*got;

	ck_assert_ptr_nonnull(b);
	ck_assert_uint_le(mon_style_len(), MON_STYLE_MAX);
	mon_style_add(b);
	got = buf_string(b);
	ck_assert_ptr_nonnull(strstr(got, "<style>"));
	/* nothing fetched: no @import, no url(), no font files */
	ck_assert_ptr_null(strstr(got, "@import"));
	ck_assert_ptr_null(strstr(got, "url("));
	ck_assert_ptr_null(strstr(got, "</style><"));
	free(got);
	evbuffer_free(b);
}
END_TEST


static const struct ctl_col q_cols[] = {
	{ "gateway", "GATEWAY", CTL_T_STR, CTL_COL_BOTH, 0, NULL },
	{ "domain", "DOMAIN", CTL_T_STR, CTL_COL_BOTH, 0, NULL },
	{ "state", "STATE", CTL_T_STR, CTL_COL_BOTH, 0, NULL },
	{ "messages", "QUEUED", CTL_T_UINT, CTL_COL_BOTH, 0, NULL },
	{ "oldest", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "oldest_age", "OLDEST", CTL_T_AGE, CTL_COL_BOTH, 0, NULL },
	{ "conns", "CONNS", CTL_T_STR, CTL_COL_TEXT, 0, NULL },
};
static const struct ctl_table q_table = { "queues", q_cols,
	CTL_NCOLS(q_cols), NULL };

static void
q_row(struct ctl_out *o, const char *gw, const char *dom, const char *state,
    uint64_t n, int64_t age)
{
	ctl_out_row_open(o);
	ctl_out_str(o, "gateway", gw);
	ctl_out_str(o, "domain", dom);
	ctl_out_str(o, "state", state);
	ctl_out_uint(o, "messages", n);
	if (age >= 0) {
		ctl_out_int(o, "oldest", 1000000 - age);
		ctl_out_int(o, "oldest_age", age);
	}
	ctl_out_str(o, "conns", "1/2");
	if (strncmp(dom, "c<", 2) == 0)
		ctl_out_note(o, "after c: \"quoted\"");
	ctl_out_row_close(o);
}

/* A document like show queue's, rendered with a view. */
static char *
q_render(const struct ctl_html_view *v)
{
	struct evbuffer	*b = evbuffer_new();
	struct ctl_out	*o;
	char		*got;

	ck_assert_ptr_nonnull(b);
	o = ctl_out_new(CTL_FMT_HTML, b);
	ck_assert_ptr_nonnull(o);
	if (v != NULL)
		ctl_out_html_view(o, v);
	ctl_out_obj_open(o, NULL);
	ctl_out_str(o, "host", "mx<1>");
	ctl_out_uint(o, "uptime", 3700);
	ctl_out_table_open(o, &q_table);
	q_row(o, "out", "b.example", "active", 5, 30);
	q_row(o, "out", "a.example", "down", 50, 4000);
	q_row(o, "out", "c<x>.example", "suspended", 7, -1);
	q_row(o, "in", "d.example", "active", 50, 10);
	ctl_out_table_close(o);
	ctl_out_obj_open(o, "total");
	ctl_out_uint(o, "queues", 4);
	ctl_out_obj_close(o);
	ctl_out_list_open(o, "names");
	ctl_out_str(o, NULL, "one&two");
	ctl_out_list_close(o);
	ctl_out_note(o, "the end <b>");
	ctl_out_raw(o, "text only\n");
	ctl_out_obj_close(o);
	ck_assert_msg(ctl_out_end(o) == 0, "%s", ctl_out_error(o));
	ctl_out_free(o);
	got = buf_string(b);
	evbuffer_free(b);
	return got;
}

START_TEST(html_render_plain)
{
	char	*got = q_render(NULL);
	char	*b, *a;

	/* values, escaped, with data-v */
	ck_assert_ptr_nonnull(strstr(got, "<dt>host</dt><dd data-key=\"host\">"
	    "mx&lt;1&gt;</dd>"));
	ck_assert_ptr_nonnull(strstr(got, "data-key=\"uptime\" data-v=\"3700\">"
	    "1h01m</dd>"));
	/* the DATA columns only, no sort links without a view */
	ck_assert_ptr_nonnull(strstr(got, "<table data-table=\"queues\">"));
	ck_assert_ptr_nonnull(strstr(got, "<th data-key=\"oldest_age\">oldest "
	    "age</th>"));
	ck_assert_ptr_null(strstr(got, "data-key=\"conns\""));
	ck_assert_ptr_null(strstr(got, "?sort="));
	ck_assert_ptr_null(strstr(got, "1/2"));
	/* rows in the order written, numbers as figures */
	b = strstr(got, ">b.example<");
	a = strstr(got, ">a.example<");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_before(b, a);
	ck_assert_ptr_nonnull(strstr(got, "<td class=\"n\" data-key=\"messages\""
	    " data-v=\"50\">50</td>"));
	ck_assert_ptr_nonnull(strstr(got, "data-key=\"oldest_age\" "
	    "data-v=\"4000\">1h06m</td>"));
	ck_assert_ptr_nonnull(strstr(got, "class=\"state-down\">down</td>"));
	ck_assert_ptr_nonnull(strstr(got, ">c&lt;x&gt;.example</td>"));
	ck_assert_ptr_nonnull(strstr(got, "<tr class=\"note\"><td colspan=\"7\">"
	    "after c: &quot;quoted&quot;</td></tr>"));
	/* an object, a list, a note; raw text is TEXT's */
	ck_assert_ptr_nonnull(strstr(got, "<section data-obj=\"total\"><h2>"
	    "total</h2>\n<dl class=\"kv\">\n<dt>queues</dt>"));
	ck_assert_ptr_nonnull(strstr(got, "<ul data-list=\"names\">\n<li>"
	    "one&amp;two</li>"));
	ck_assert_ptr_nonnull(strstr(got, "<p class=\"note\">the end &lt;b&gt;"
	    "</p>"));
	ck_assert_ptr_null(strstr(got, "text only"));
	ck_assert_ptr_null(strstr(got, "<b>"));
	free(got);
}
END_TEST

START_TEST(html_render_sorted_links)
{
	struct ctl_html_view	 v;
	char			*got, *p[4];
	int			 i;

	memset(&v, 0, sizeof(v));
	strlcpy(v.sort, "messages", sizeof(v.sort));
	v.desc = 1;
	strlcpy(v.query, "range=1d", sizeof(v.query));
	v.links[0].key = "domain";
	v.links[0].prefix = "/domain/";
	v.links[0].qkey = "gateway";
	v.links[0].qparam = "gateway";
	got = q_render(&v);
	/* largest first, ties in arrival order: a(50) d(50) c(7) b(5) */
	p[0] = strstr(got, "a.example");
	p[1] = strstr(got, "d.example");
	p[2] = strstr(got, "c%3Cx%3E.example");
	p[3] = strstr(got, "b.example");
	for (i = 0; i < 4; i++)
		ck_assert_msg(p[i] != NULL, "row %d missing", i);
	for (i = 0; i < 3; i++)
		ck_assert_msg(p[i] < p[i + 1], "row %d out of order", i);
	/* the sorted header flips, the others start from their default */
	ck_assert_ptr_nonnull(strstr(got, "<th class=\"sorted\" data-key="
	    "\"messages\"><a href=\"?sort=messages&amp;dir=asc&amp;range=1d\">"
	    "messages &#9660;</a></th>"));
	ck_assert_ptr_nonnull(strstr(got, "<a href=\"?sort=domain&amp;dir=asc"
	    "&amp;range=1d\">"));
	ck_assert_ptr_nonnull(strstr(got, "<a href=\"?sort=oldest_age&amp;"
	    "dir=desc"));
	/* links: the cell URL-encoded, the gateway as a parameter */
	ck_assert_ptr_nonnull(strstr(got, "<a href=\"/domain/c%3Cx%3E.example?"
	    "gateway=out\">c&lt;x&gt;.example</a>"));
	ck_assert_ptr_nonnull(strstr(got, "<a href=\"/domain/d.example?"
	    "gateway=in\">"));
	free(got);

	/* oldest first; a row without the column goes last either way */
	strlcpy(v.sort, "oldest", sizeof(v.sort));
	v.desc = 0;
	got = q_render(&v);
	p[0] = strstr(got, ">a.example<");
	p[1] = strstr(got, ">b.example<");
	p[2] = strstr(got, ">d.example<");
	p[3] = strstr(got, ">c&lt;x&gt;.example<");
	for (i = 0; i < 3; i++)
		ck_assert_msg(p[i] != NULL && p[i] < p[i + 1],
		    "oldest: row %d out of order", i);
	free(got);

	/* an unknown key sorts nothing */
	strlcpy(v.sort, "no_such", sizeof(v.sort));
	got = q_render(&v);
	ck_assert_ptr_before(strstr(got, ">b.example<"), strstr(got,
	    ">a.example<"));
	ck_assert_ptr_null(strstr(got, "class=\"sorted\""));
	free(got);
}
END_TEST


/* A bucket of a gateway name, for the summary test. */
static const char *
gw_bucket(const char *gw)
{
	return strcmp(gw, "out") == 0 ? "outbound" : "other gateways";
}

START_TEST(html_render_summaries)
{
	struct ctl_html_view	 v;
	char			*got;

	memset(&v, 0, sizeof(v));
	v.groupings[0].by = "state";
	v.groupings[0].title = "By <state>";
	v.groupings[1].by = "gateway";
	v.groupings[1].bucket = gw_bucket;
	got = q_render(&v);
	ck_assert_ptr_nonnull(strstr(got, "<h2>By &lt;state&gt;</h2>\n"
	    "<table data-table=\"queues_by_state\">"));
	/* most rows first; rows counted, INT and UINT columns summed, times
	 * and ages not */
	ck_assert_ptr_nonnull(strstr(got, "<tr><td data-key=\"state\">active"
	    "</td><td class=\"n\" data-key=\"rows\" data-v=\"2\">2</td><td "
	    "class=\"n\" data-key=\"messages\" data-v=\"55\">55</td></tr>"));
	ck_assert_ptr_nonnull(strstr(got, ">down</td><td class=\"n\" "
	    "data-key=\"rows\" data-v=\"1\">1</td><td class=\"n\" "
	    "data-key=\"messages\" data-v=\"50\">"));
	ck_assert_ptr_nonnull(strstr(got, "data-table=\"queues_by_gateway\""));
	ck_assert_ptr_nonnull(strstr(got, ">outbound</td><td class=\"n\" "
	    "data-key=\"rows\" data-v=\"3\">3</td><td class=\"n\" "
	    "data-key=\"messages\" data-v=\"62\">"));
	ck_assert_ptr_nonnull(strstr(got, ">other gateways</td>"));
	ck_assert_ptr_nonnull(strstr(got, "<th data-key=\"rows\">rows</th><th "
	    "data-key=\"messages\">messages</th></tr>"));
	free(got);
}
END_TEST

START_TEST(html_render_bounded_and_empty)
{
	struct evbuffer		*b = evbuffer_new();
	struct ctl_out		*o;
	struct ctl_html_view	 v;
	char			*got, num[32];
	size_t			 i;

	ck_assert_ptr_nonnull(b);
	memset(&v, 0, sizeof(v));
	strlcpy(v.sort, "messages", sizeof(v.sort));
	o = ctl_out_new(CTL_FMT_HTML, b);
	ck_assert_ptr_nonnull(o);
	ctl_out_html_view(o, &v);
	ctl_out_obj_open(o, NULL);
	ctl_out_table_open(o, &q_table);
	for (i = 0; i < CTL_HTML_ROWS_MAX + 5; i++) {
		snprintf(num, sizeof(num), "d%zu.example", i);
		q_row(o, "out", num, "active", i, 1);
	}
	ctl_out_table_close(o);
	ctl_out_table_open(o, &q_table);
	ctl_out_table_empty(o, "no queues <yet>");
	ctl_out_table_close(o);
	ctl_out_obj_close(o);
	ck_assert_int_eq(ctl_out_end(o), 0);
	ctl_out_free(o);
	got = buf_string(b);
	ck_assert_uint_eq(count_of(got, "<tr><td"), CTL_HTML_ROWS_MAX);
	ck_assert_ptr_nonnull(strstr(got, "5 more rows not shown"));
	ck_assert_ptr_nonnull(strstr(got, "<tr class=\"empty\"><td colspan=\"6\">"
	    "no queues &lt;yet&gt;</td></tr>"));
	free(got);
	evbuffer_free(b);
}
END_TEST

static Suite *
ctl_html_suite(void)
{
	Suite	*s = suite_create("ctl_html");
	TCase	*tc;

	tc = tcase_create("escape");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, html_escapes, 0,
	    sizeof(esc_cases) / sizeof(esc_cases[0]));
	tcase_add_test(tc, html_escape_counted);
	tcase_add_test(tc, html_url_component);
	suite_add_tcase(s, tc);

	tc = tcase_create("svg");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, svg_figures_and_gaps);
	tcase_add_test(tc, svg_bars_grouped);
	tcase_add_test(tc, svg_empty_and_limits);
	tcase_add_test(tc, svg_si_figures);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, html_render_plain);
	tcase_add_test(tc, html_render_sorted_links);
	tcase_add_test(tc, html_render_summaries);
	tcase_add_test(tc, html_render_bounded_and_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("style");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, style_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(ctl_html_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
