/*
 * Unit tests for the monitor's HTML pieces that need no daemon: escaping
 * (ctl/ctl_html.c: entities, control bytes, UTF-8 valid or not, URL
 * components), inline-SVG charts (ctl/controld_svg.c: the figures a chart
 * states, gaps, grouping of long ranges, escaped names, nothing fetched)
 * and the stylesheet's bound (ctl/controld_style.c).
 */
#include "bw_autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "ctl_html.h"
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
	/* two runs of received (a gap after the second minute), one of
	 * delivered */
	ck_assert_uint_eq(count_of(got, "<polyline"), 3);
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
