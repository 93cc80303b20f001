/*
 * ctl_out's HTML renderer (ctl_out_html.c) and how a page asks for its
 * tables: sorted by one column, some columns' cells as links.
 */
#ifndef CTL_OUT_HTML_H
#define CTL_OUT_HTML_H

#include "ctl_out.h"

#define CTL_HTML_ROWS_MAX	2000	/* rows of one table shown (and
					   sorted); JSON has them all */
#define CTL_HTML_LINKS_MAX	4	/* link rules of a view */
#define CTL_HTML_SORT_MAX	32	/* a column key */
#define CTL_HTML_QUERY_MAX	128	/* kept in sort links: "range=1d" */
#define CTL_HTML_GROUPINGS_MAX	2	/* summaries under a table */
#define CTL_HTML_GROUPS_MAX	32	/* distinct values summed; the rest
					   go to "other" */
#define CTL_HTML_GROUP_NAME_MAX	64

/*
 * A cell of column key links to prefix + the cell (URL-encoded), plus
 * "?qparam=" + the row's qkey cell when qkey is set: {"domain",
 * "/domain/", "gateway", "gateway"} makes /domain/example.org?gateway=out.
 * Strings are static (the view is copied into a request).
 */
struct ctl_html_link {
	const char	*key;
	const char	*prefix;
	const char	*qkey;
	const char	*qparam;
};

/*
 * A summary under a table: its rows grouped by column by (or by what
 * bucket makes of that cell: a band of a score), with the rows counted
 * and every INT/UINT column summed.  title says what it is on the page.
 */
struct ctl_html_grouping {
	const char	*by;
	const char	*title;
	const char	*(*bucket)(const char *cell);	/* NULL: the cell */
};

struct ctl_html_view {
	char			 sort[CTL_HTML_SORT_MAX];	/* "": as they
							   come */
	int			 desc;
	int			 nosort;	/* headers are not links (a
							   page a POST made) */
	char			 query[CTL_HTML_QUERY_MAX];	/* escaped as
							   an attribute */
	struct ctl_html_link	 links[CTL_HTML_LINKS_MAX];	/* key NULL
							   ends */
	struct ctl_html_grouping groupings[CTL_HTML_GROUPINGS_MAX];
							/* by NULL ends */
};

extern const struct ctl_out_ops ctl_out_html_ops;

/* Use v for the tables of o (an HTML document; others ignore it). */
void	ctl_out_html_view(struct ctl_out *o, const struct ctl_html_view *v);

#endif
