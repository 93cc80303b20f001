/*
 * The monitor's pages (controld_pages.c) and their history part
 * (controld_pages_hist.c: charts from mon_hist_series/mon_hist_domain and
 * figures from mon_sample_last), private to the two.
 */
#ifndef CONTROLD_PAGES_H
#define CONTROLD_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "controld_svg.h"

struct evbuffer;
struct ctl_json;

/* A time range of the pages' charts (?range=). */
struct mon_range {
	const char	*name;		/* "1h" */
	const char	*label;		/* "1 hour" */
	int64_t		 span;		/* seconds */
	int		 hours;		/* 0: minute points; 1: hour points */
	int64_t		 step;		/* seconds a point covers */
};

/* A series of the history and its name on the page. */
struct mon_series_ref {
	const char	*series;	/* "smtpd.messages_accepted" */
	const char	*name;		/* legend and JSON key */
};

/*
 * With j NULL, HTML into b; else members of the open JSON object j.
 * A chart of up to SVG_SERIES_MAX series over the range.
 */
void	 mon_pages_chart(struct evbuffer *b, struct ctl_json *j,
	    const struct mon_range *, const char *title, enum svg_kind,
	    const struct mon_series_ref *, size_t nrefs);
/* A domain's delivered, deferred and bounced recipients and its queue
 * (gw NULL or "": any gateway). */
void	 mon_pages_domain_charts(struct evbuffer *b, struct ctl_json *j,
	    const struct mon_range *, const char *gw, const char *dom);
/* The latest sample's totals (received, delivered, ...). */
void	 mon_pages_figures(struct evbuffer *b, struct ctl_json *j);

#endif
