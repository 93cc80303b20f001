/*
 * The history part of the monitor's pages while controld has no history
 * store (the sampler and store of controld_hist.c are not built in yet):
 * the pages say so where their charts and figures would be.  Replaced by
 * controld_pages_hist.c.
 */
#include "bw_autoconf.h"

#include <stddef.h>

#include <event2/buffer.h>

#include "ctl_json.h"
#include "controld_pages.h"

void
mon_pages_chart(struct evbuffer *b, struct ctl_json *j,
    const struct mon_range *r, const char *title, enum svg_kind kind,
    const struct mon_series_ref *refs, size_t nrefs)
{
	struct svg_chart	*c;
	size_t			 i;

	if (j != NULL) {
		for (i = 0; i < nrefs; i++) {
			ctl_json_arr_open(j, refs[i].name);
			ctl_json_arr_close(j);
		}
		return;
	}
	if ((c = svg_chart_new(title, kind, 0, r->step,
	    (size_t)(r->span / r->step))) == NULL)
		return;
	for (i = 0; i < nrefs; i++)
		(void)svg_chart_series(c, refs[i].name);
	svg_chart_render(c, b);
	svg_chart_free(c);
}

void
mon_pages_domain_charts(struct evbuffer *b, struct ctl_json *j,
    const struct mon_range *r, const char *gw, const char *dom)
{
	if (j != NULL) {
		ctl_json_arr_open(j, "points");
		ctl_json_arr_close(j);
		return;
	}
	evbuffer_add_printf(b, "<p class=\"note\">No history: this controld "
	    "keeps none yet.</p>\n");
}

void
mon_pages_figures(struct evbuffer *b, struct ctl_json *j)
{
	if (j != NULL) {
		ctl_json_null(j, "sample");
		return;
	}
	evbuffer_add_printf(b, "<p class=\"note\">No sample yet: this "
	    "controld keeps no history.</p>\n");
}
