/*
 * The monitor's one stylesheet, sent inline in every page's <head>: a page
 * fetches nothing (the pages' Content-Security-Policy allows inline styles
 * and nothing from elsewhere), so there is no file to serve, to cache or
 * to go missing.  Plain and small: system fonts, tables that read at a
 * glance, state colours that also carry a word (never colour alone).
 */
#include "bw_autoconf.h"

#include <string.h>

#include <event2/buffer.h>

#include "controld_style.h"

static const char mon_style_css[] =
	"body{font-family:system-ui,sans-serif;font-size:14px;margin:0;"
	"color:#222;background:#fafafa}"
	"header{display:flex;gap:1em;align-items:baseline;padding:.5em 1.5em;"
	"background:#233;color:#eee}"
	"header a{color:#cde}header form{margin-left:auto}"
	"nav a{margin-right:1em}nav a.here{font-weight:bold;color:#fff}"
	"main{padding:.5em 1.5em}h1{font-size:20px}h2{font-size:16px;"
	"margin-top:1.5em}"
	"table{border-collapse:collapse;margin:.5em 0;background:#fff}"
	"th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;"
	"vertical-align:top}td.n{text-align:right;white-space:nowrap;"
	"font-variant-numeric:tabular-nums}"
	"th a{color:inherit}th.sorted{background:#e4eef7}"
	"tr:nth-child(even) td{background:#f5f7f9}"
	"tr.note td{font-size:85%;color:#666;background:#fff}"
	"dl.kv{display:grid;grid-template-columns:max-content auto;"
	"gap:2px 1em}dl.kv dt{font-weight:bold}dl.kv dd{margin:0}"
	".figures{display:flex;flex-wrap:wrap;gap:.75em;margin:.5em 0}"
	".figure{background:#fff;border:1px solid #ccc;padding:.4em .8em;"
	"min-width:9em}.figure b{display:block;font-size:22px}"
	".state-active,.up{color:#2e6b2e}.state-down,.down{color:#b02a1e;"
	"font-weight:bold}.state-suspended{color:#a06400}"
	".alert{background:#fdecea;border:1px solid #e0a39b;padding:.3em .6em;"
	"margin:.3em 0}.ok{color:#2e6b2e}.note{color:#555;font-style:italic}"
	".ranges a{margin-right:.6em}.ranges a.here{font-weight:bold}"
	"svg.chart{background:#fff;border:1px solid #ccc;margin:.3em 0;"
	"max-width:100%;height:auto}"
	"form.act{display:inline}form.act button{margin-right:.3em}"
	".confirm{background:#fff8e1;border:1px solid #e0c36b;padding:.5em 1em}"
	"pre{font-size:90%;white-space:pre-wrap}";

void
mon_style_add(struct evbuffer *b)
{
	evbuffer_add(b, "<style>", 7);
	evbuffer_add(b, mon_style_css, sizeof(mon_style_css) - 1);
	evbuffer_add(b, "</style>", 8);
}

size_t
mon_style_len(void)
{
	return sizeof(mon_style_css) - 1;
}
