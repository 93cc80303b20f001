/*
 * Charts for the monitor's pages, drawn as inline SVG: a page carries its
 * charts in its own bytes and fetches nothing (the machine that watches
 * may have no Internet, and the pages' Content-Security-Policy allows no
 * other source).
 *
 * A chart is a time axis of n intervals (from, step) and up to
 * SVG_SERIES_MAX series, each a value per interval or none (no history
 * there: the line breaks, no bar).  Wider than the plot, intervals are
 * grouped per pixel column and a column shows the largest value of its
 * group, so "per minute" stays per minute at every range.  Each series'
 * <g> carries data-series, data-sum, data-max and data-points (exact,
 * before grouping) for tests and scripts.
 */
#ifndef CONTROLD_SVG_H
#define CONTROLD_SVG_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define SVG_SERIES_MAX		4	/* lines or bars in one chart */
#define SVG_POINTS_MAX		4096	/* intervals (90 days of hours: 2160) */
#define SVG_NAME_MAX		48	/* a series' legend */
#define SVG_TITLE_MAX		96
#define SVG_WIDTH		720	/* px, the viewBox */
#define SVG_HEIGHT		200

enum svg_kind {
	SVG_LINE,
	SVG_BARS,
};

struct svg_chart;

/* NULL (errno) when n is 0 or beyond SVG_POINTS_MAX, or without memory. */
struct svg_chart *svg_chart_new(const char *title, enum svg_kind,
	    int64_t from, int64_t step, size_t n);
void	 svg_chart_free(struct svg_chart *);
/* A new series: its index, or -1 when the chart has SVG_SERIES_MAX. */
int	 svg_chart_series(struct svg_chart *, const char *name);
/* The value of the interval that holds t (ignored outside the chart). */
void	 svg_chart_set(struct svg_chart *, int series, int64_t t, uint64_t v);
/* The sum of a series over the chart (what data-sum says). */
uint64_t svg_chart_sum(const struct svg_chart *, int series);
void	 svg_chart_render(const struct svg_chart *, struct evbuffer *);

/* "1.5k", "12M": a figure for an axis. */
void	 svg_fmt_si(char *buf, size_t bufsz, uint64_t v);

#endif
