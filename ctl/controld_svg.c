/*
 * Inline-SVG line and bar charts for the monitor's pages: see
 * controld_svg.h.  Pure: no I/O, no state but the chart; the pages fill a
 * chart from the history and render it into the page's buffer.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "util.h"
#include "ctl_html.h"
#include "controld_svg.h"

/* The plot inside the viewBox: room for the y labels, legend, x labels. */
#define SVG_LEFT		56
#define SVG_RIGHT		8
#define SVG_TOP			24
#define SVG_BOTTOM		24
#define SVG_PLOT_W		(SVG_WIDTH - SVG_LEFT - SVG_RIGHT)
#define SVG_PLOT_H		(SVG_HEIGHT - SVG_TOP - SVG_BOTTOM)

/* One colour per series, told apart in grey print too. */
static const char *const svg_colours[SVG_SERIES_MAX] = {
	"#1f5fa8", "#c0392b", "#2e8b3a", "#d98c00",
};

struct svg_chart {
	char		 title[SVG_TITLE_MAX];
	enum svg_kind	 kind;
	int64_t		 from, step;
	size_t		 n;
	size_t		 nseries;
	char		 name[SVG_SERIES_MAX][SVG_NAME_MAX];
	uint64_t	*v[SVG_SERIES_MAX];	/* n each */
	uint8_t		*have[SVG_SERIES_MAX];
};

struct svg_chart *
svg_chart_new(const char *title, enum svg_kind kind, int64_t from,
    int64_t step, size_t n)
{
	struct svg_chart	*c;

	if (n == 0 || n > SVG_POINTS_MAX || step <= 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	strlcpy(c->title, title, sizeof(c->title));
	c->kind = kind;
	c->from = from;
	c->step = step;
	c->n = n;
	return c;
}

void
svg_chart_free(struct svg_chart *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nseries; i++) {
		free(c->v[i]);
		free(c->have[i]);
	}
	free(c);
}

int
svg_chart_series(struct svg_chart *c, const char *name)
{
	size_t	 i = c->nseries;

	if (i >= SVG_SERIES_MAX)
		return -1;
	if ((c->v[i] = calloc(c->n, sizeof(*c->v[i]))) == NULL ||
	    (c->have[i] = calloc(c->n, sizeof(*c->have[i]))) == NULL) {
		free(c->v[i]);
		c->v[i] = NULL;
		return -1;
	}
	strlcpy(c->name[i], name, sizeof(c->name[i]));
	c->nseries++;
	return (int)i;
}

void
svg_chart_set(struct svg_chart *c, int s, int64_t t, uint64_t v)
{
	int64_t	 i;

	if (s < 0 || (size_t)s >= c->nseries || t < c->from)
		return;
	i = (t - c->from) / c->step;
	if (i < 0 || (uint64_t)i >= c->n)
		return;
	c->v[s][i] = v;
	c->have[s][i] = 1;
}

uint64_t
svg_chart_sum(const struct svg_chart *c, int s)
{
	uint64_t	 sum = 0;
	size_t		 i;

	if (s < 0 || (size_t)s >= c->nseries)
		return 0;
	for (i = 0; i < c->n; i++)
		sum += c->have[s][i] ? c->v[s][i] : 0;
	return sum;
}

void
svg_fmt_si(char *buf, size_t bufsz, uint64_t v)
{
	static const char	 sfx[] = "kMGTPE";
	double			 d = (double)v;
	int			 i = -1;

	if (v < 1000) {
		snprintf(buf, bufsz, "%llu", (unsigned long long)v);
		return;
	}
	while (d >= 1000 && i < (int)sizeof(sfx) - 2) {
		d /= 1000;
		i++;
	}
	snprintf(buf, bufsz, d < 10 ? "%.1f%c" : "%.0f%c", d, sfx[i]);
}

/* The least 1, 2 or 5 x 10^k at or above v (at least 2: the middle
 * grid line is a whole number). */
static uint64_t
svg_nice_max(uint64_t v)
{
	uint64_t	 p = 1;

	if (v < 2)
		return 2;
	for (;;) {
		if (v <= p)
			return p;
		if (v <= 2 * p)
			return 2 * p;
		if (v <= 5 * p)
			return 5 * p;
		if (p > UINT64_MAX / 10)
			return v;
		p *= 10;
	}
}

/* The columns: how many intervals each pixel column groups. */
static size_t
svg_ncols(const struct svg_chart *c)
{
	return c->n < SVG_PLOT_W ? c->n : SVG_PLOT_W;
}

/* Column col of series s: the largest value of its intervals, or -1. */
static int
svg_col(const struct svg_chart *c, int s, size_t col, size_t ncols,
    uint64_t *out)
{
	size_t	 lo = col * c->n / ncols, hi = (col + 1) * c->n / ncols, i;
	int	 any = 0;

	*out = 0;
	for (i = lo; i < hi && i < c->n; i++) {
		if (!c->have[s][i])
			continue;
		if (!any || c->v[s][i] > *out)
			*out = c->v[s][i];
		any = 1;
	}
	return any ? 0 : -1;
}

static void
svg_time_label(const struct svg_chart *c, int64_t t, char *buf, size_t sz)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (localtime_r(&tt, &tm) == NULL) {
		strlcpy(buf, "?", sz);
		return;
	}
	/* up to a day: clock time; beyond: the date (and hour for a week) */
	if ((int64_t)c->n * c->step <= 86400)
		strftime(buf, sz, "%H:%M", &tm);
	else if ((int64_t)c->n * c->step <= 8 * 86400)
		strftime(buf, sz, "%a %H:%M", &tm);
	else
		strftime(buf, sz, "%b %d", &tm);
}

static void
svg_render_axes(const struct svg_chart *c, struct evbuffer *b, uint64_t ymax)
{
	char	 lab[32];
	int	 k;

	for (k = 0; k <= 2; k++) {
		int	 y = SVG_TOP + SVG_PLOT_H - k * SVG_PLOT_H / 2;

		svg_fmt_si(lab, sizeof(lab), ymax * (uint64_t)k / 2);
		evbuffer_add_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%d\" "
		    "x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
		    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
		    "font-size=\"11\">%s</text>\n", SVG_LEFT, y,
		    SVG_LEFT + SVG_PLOT_W, y, SVG_LEFT - 4, y + 4, lab);
	}
	for (k = 0; k <= 2; k++) {
		int64_t	 t = c->from + (int64_t)c->n * c->step * k / 2;
		int	 x = SVG_LEFT + SVG_PLOT_W * k / 2;

		svg_time_label(c, t, lab, sizeof(lab));
		evbuffer_add_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor="
		    "\"%s\" font-size=\"11\">%s</text>\n", x,
		    SVG_HEIGHT - 6, k == 0 ? "start" : k == 1 ? "middle" : "end",
		    lab);
	}
}

/* The end of a run of points: a line closed, or a lone point's dot. */
static void
svg_run_end(struct evbuffer *b, const struct svg_chart *c, int s, size_t run,
    double x0, double y0)
{
	if (c->kind == SVG_BARS || run == 0)
		return;
	if (run == 1)
		evbuffer_add_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
		    "fill=\"%s\"/>\n", x0, y0, svg_colours[s]);
	else
		evbuffer_add_printf(b, "\"/>\n");
}

static void
svg_render_series(const struct svg_chart *c, struct evbuffer *b, int s,
    uint64_t ymax)
{
	size_t		 ncols = svg_ncols(c), col, npts = 0, i;
	uint64_t	 v, vmax = 0;
	double		 colw = (double)SVG_PLOT_W / (double)ncols;
	double		 x0 = 0, y0 = 0;	/* a run's first point */
	size_t		 run = 0;		/* points in the run */

	for (i = 0; i < c->n; i++)
		if (c->have[s][i]) {
			npts++;
			if (c->v[s][i] > vmax)
				vmax = c->v[s][i];
		}
	evbuffer_add_printf(b, "<g class=\"series\" data-series=\"");
	ctl_html_esc(b, c->name[s]);
	evbuffer_add_printf(b, "\" data-sum=\"%llu\" data-max=\"%llu\" "
	    "data-points=\"%zu\" fill=\"%s\" stroke=\"%s\">\n",
	    (unsigned long long)svg_chart_sum(c, s), (unsigned long long)vmax,
	    npts, c->kind == SVG_BARS ? svg_colours[s] : "none",
	    c->kind == SVG_BARS ? "none" : svg_colours[s]);
	for (col = 0; col < ncols; col++) {
		double	 x, y, h;

		if (svg_col(c, s, col, ncols, &v) == -1) {
			svg_run_end(b, c, s, run, x0, y0);
			run = 0;
			continue;
		}
		h = (double)v * SVG_PLOT_H / (double)ymax;
		y = SVG_TOP + SVG_PLOT_H - h;
		if (c->kind == SVG_BARS) {
			/* series side by side within a column */
			double	 w = colw / (double)c->nseries;

			if (v == 0)
				continue;
			x = SVG_LEFT + col * colw + s * w;
			evbuffer_add_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" "
			    "width=\"%.1f\" height=\"%.1f\"/>", x, y,
			    w > 1.5 ? w - 0.5 : w, h);
			continue;
		}
		x = SVG_LEFT + (col + 0.5) * colw;
		/* the first point waits: alone, it is a dot, not a line */
		if (run == 0) {
			x0 = x;
			y0 = y;
		} else if (run == 1)
			evbuffer_add_printf(b, "<polyline stroke-width=\"1.5\" "
			    "points=\"%.1f,%.1f %.1f,%.1f", x0, y0, x, y);
		else
			evbuffer_add_printf(b, " %.1f,%.1f", x, y);
		run++;
	}
	svg_run_end(b, c, s, run, x0, y0);
	evbuffer_add_printf(b, "</g>\n");
}

void
svg_chart_render(const struct svg_chart *c, struct evbuffer *b)
{
	size_t		 ncols = svg_ncols(c), col, s;
	uint64_t	 v, top = 0;
	int		 any = 0, x;

	for (s = 0; s < c->nseries; s++)
		for (col = 0; col < ncols; col++)
			if (svg_col(c, (int)s, col, ncols, &v) == 0) {
				any = 1;
				if (v > top)
					top = v;
			}
	top = svg_nice_max(top);

	evbuffer_add_printf(b, "<svg class=\"chart\" xmlns=\"http://www.w3.org/"
	    "2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	    "role=\"img\" aria-label=\"", SVG_WIDTH, SVG_HEIGHT, SVG_WIDTH,
	    SVG_HEIGHT);
	ctl_html_esc(b, c->title);
	evbuffer_add_printf(b, "\" font-family=\"sans-serif\">\n<title>");
	ctl_html_esc(b, c->title);
	evbuffer_add_printf(b, "</title>\n<text x=\"%d\" y=\"15\" "
	    "font-size=\"13\" font-weight=\"bold\">", SVG_LEFT);
	ctl_html_esc(b, c->title);
	evbuffer_add_printf(b, "</text>\n");
	/* the legend, right-aligned along the top */
	x = SVG_WIDTH - SVG_RIGHT;
	for (s = c->nseries; s-- > 0;) {
		x -= 8 + 7 * (int)strlen(c->name[s]);
		evbuffer_add_printf(b, "<rect x=\"%d\" y=\"6\" width=\"10\" "
		    "height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"15\" "
		    "font-size=\"11\">", x, svg_colours[s], x + 13);
		ctl_html_esc(b, c->name[s]);
		evbuffer_add_printf(b, "</text>\n");
		x -= 16;
	}
	svg_render_axes(c, b, top);
	for (s = 0; s < c->nseries; s++)
		svg_render_series(c, b, (int)s, top);
	if (!any)
		evbuffer_add_printf(b, "<text class=\"nodata\" x=\"%d\" "
		    "y=\"%d\" text-anchor=\"middle\" font-size=\"12\" "
		    "fill=\"#888\">no history for this range yet</text>\n",
		    SVG_LEFT + SVG_PLOT_W / 2, SVG_TOP + SVG_PLOT_H / 2);
	evbuffer_add_printf(b, "</svg>\n");
}
