/*
 * The Mail Flow Monitor's pages: overview, incoming mail, destinations, a
 * domain, a message, the system, and the queue actions' confirmation.
 *
 * A page is one or more controld commands run for the logged-in user
 * (ctl_cmd_run_html; their rights are the user's), plus the history
 * (mon_hist_series, mon_hist_domain) drawn as inline SVG and the latest
 * sample (mon_sample_last).  Asked for JSON (?format=json or Accept:
 * application/json) a page of one command answers exactly what bwctl
 * --json prints; a page of several answers an object with each command's
 * JSON under its name.  The commands answer later: the page waits for all
 * of them, and if the browser goes away first it cancels them.
 *
 * Acting on mail: a button on a message or domain page is a POST (with the
 * session's CSRF token, checked by controld_http.c before any page runs)
 * to /action, which runs the command with --dry-run and shows what would
 * be acted on with a second form; only that one acts.  Both need "act".
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/statvfs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "controld.h"
#include "controld_mon.h"
#include "controld_pages.h"
#include "controld_svg.h"
#include "controld_style.h"
#include "ctl_html.h"
#include "ctl_json.h"

#define MON_PAGE_CMDS_MAX	3	/* commands one page runs */
#define MON_PAGE_ARGS_MAX	10	/* argv of one of them */
#define MON_PAGE_ARG_MAX	(BW_ADDR_MAX + 1)	/* one argument */
#define MON_SENDERS_ROWS	"1000"	/* show senders -n: its maximum */

static const struct mon_range mon_ranges[] = {
	{ "1h", "1 hour", 3600, 0, 60 },
	{ "1d", "1 day", 86400, 0, 60 },
	{ "1w", "1 week", 7 * 86400, 1, 3600 },
	{ "90d", "90 days", 90 * 86400, 1, 3600 },
};
#define MON_NRANGES	(sizeof(mon_ranges) / sizeof(mon_ranges[0]))

enum mon_page_kind {
	MON_PG_OVERVIEW,
	MON_PG_INCOMING,
	MON_PG_DESTINATIONS,
	MON_PG_DOMAIN,
	MON_PG_MESSAGE,
	MON_PG_SYSTEM,
	MON_PG_ACTION,
};

/* The pages in the navigation bar. */
static const struct {
	const char		*path;
	const char		*title;
	enum mon_page_kind	 kind;
} mon_nav[] = {
	{ "/overview", "Overview", MON_PG_OVERVIEW },
	{ "/incoming", "Incoming", MON_PG_INCOMING },
	{ "/destinations", "Destinations", MON_PG_DESTINATIONS },
	{ "/system", "System", MON_PG_SYSTEM },
};

/* The queue actions a button may ask for. */
static const char *const mon_ops[] = { "delete", "hold", "release",
	"bounce" };
#define MON_NOPS	(sizeof(mon_ops) / sizeof(mon_ops[0]))

struct mon_page;
struct mon_page_cmd {
	struct mon_page		*pg;
	const char		*key;		/* its name in the page's JSON */
	const char		*title;		/* its heading; NULL: none */
	uint32_t		 reqid;		/* 0: answered */
	int			 done;
	int			 exitcode;
	struct evbuffer		*out;
};

struct mon_page {
	struct evhttp_request	*req;
	struct evhttp_connection *evcon;
	struct mon_auth		 auth;
	struct ctl_principal	 who;
	enum mon_page_kind	 kind;
	int			 json;
	const struct mon_range	*range;
	char			 title[128];
	char			 arg[BW_DOMAIN_MAX + 1];   /* domain, qid */
	char			 gw[BW_NAME_MAX];
	/* /action */
	const char		*op;
	const char		*sel;		/* "qid" | "domain" */
	int			 confirmed;
	size_t			 ncmds, left;
	int			 starting;
	struct mon_page_cmd	 cmds[MON_PAGE_CMDS_MAX];
};

static void	mon_page_finish(struct mon_page *);

/*
 * Small things.
 */

/* A query parameter of the request (NULL: none); q is the caller's. */
static const char *
mon_query(struct evhttp_request *req, struct evkeyvalq *q, const char *name)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*query;

	TAILQ_INIT(q);
	if (uri == NULL || (query = evhttp_uri_get_query(uri)) == NULL ||
	    evhttp_parse_query_str(query, q) == -1)
		return NULL;
	return evhttp_find_header(q, name);
}

static const struct mon_range *
mon_range_of(struct evhttp_request *req)
{
	struct evkeyvalq	 q;
	const char		*v = mon_query(req, &q, "range");
	const struct mon_range	*r = &mon_ranges[0];
	size_t			 i;

	for (i = 0; v != NULL && i < MON_NRANGES; i++)
		if (strcmp(v, mon_ranges[i].name) == 0)
			r = &mon_ranges[i];
	evhttp_clear_headers(&q);
	return r;
}

static void
mon_page_free(struct mon_page *pg)
{
	size_t	 i;

	if (pg == NULL)
		return;
	for (i = 0; i < pg->ncmds; i++) {
		if (pg->cmds[i].reqid != 0 && !pg->cmds[i].done)
			ctl_cmd_cancel(pg->cmds[i].reqid);
		if (pg->cmds[i].out != NULL)
			evbuffer_free(pg->cmds[i].out);
	}
	free(pg);
}

/* The browser went away before the answer: the commands are cancelled. */
static void
mon_page_gone_cb(struct evhttp_connection *evcon, void *arg)
{
	struct mon_page	*pg = arg;

	log_debug("monitor: user=%s addr=%s left before page %s", pg->auth.user,
	    pg->auth.addr, pg->title);
	mon_page_free(pg);
}

static struct mon_page *
mon_page_new(struct evhttp_request *req, const struct mon_auth *a,
    enum mon_page_kind kind, const char *title)
{
	struct mon_page	*pg;

	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		mon_http_error(req, 503, "controld is out of memory");
		return NULL;
	}
	pg->req = req;
	pg->auth = *a;
	pg->kind = kind;
	pg->json = mon_http_fmt(req) == MON_FMT_JSON;
	pg->range = mon_range_of(req);
	strlcpy(pg->title, title, sizeof(pg->title));
	/* who asked, for the commands' rights and their log lines */
	if (snprintf(pg->who.name, sizeof(pg->who.name), "web user=%.48s "
	    "addr=%.40s", a->user, a->addr) < 0)
		pg->who.name[0] = '\0';
	pg->who.may = (a->may & MON_MAY_VIEW ? CTL_MAY_VIEW : 0) |
	    (a->may & MON_MAY_ACT ? CTL_MAY_ACT : 0);
	return pg;
}

/*
 * Commands.
 */

static void
mon_page_cmd_done(void *arg, uint32_t reqid, int exitcode, struct evbuffer *out)
{
	struct mon_page_cmd	*c = arg;
	struct mon_page		*pg = c->pg;

	c->done = 1;
	c->exitcode = exitcode;
	if (c->out != NULL && out != NULL)
		evbuffer_add_buffer(c->out, out);
	if (pg->left > 0)
		pg->left--;
	if (pg->left == 0 && !pg->starting)
		mon_page_finish(pg);
}

/* Add a command (argv as bwctl sends it); run when all are added. */
static int
mon_page_cmd(struct mon_page *pg, const char *key, const char *title,
    const struct ctl_html_view *view, int argc, const char *const argv[])
{
	struct mon_page_cmd	*c;
	char			 args[MON_PAGE_ARGS_MAX][MON_PAGE_ARG_MAX];
	char			*av[MON_PAGE_ARGS_MAX + 1];
	int			 i;

	if (pg->ncmds >= MON_PAGE_CMDS_MAX || argc > MON_PAGE_ARGS_MAX)
		return -1;
	c = &pg->cmds[pg->ncmds++];
	c->pg = pg;
	c->key = key;
	c->title = title;
	if ((c->out = evbuffer_new()) == NULL)
		return -1;
	for (i = 0; i < argc; i++) {
		strlcpy(args[i], argv[i], sizeof(args[i]));
		av[i] = args[i];
	}
	av[argc] = NULL;
	pg->left++;
	if (pg->json)
		c->reqid = ctl_cmd_run(mon_page_cmd_done, c, &pg->who,
		    CTL_FMT_JSON, argc, av);
	else
		c->reqid = ctl_cmd_run_html(mon_page_cmd_done, c, &pg->who,
		    view, argc, av);
	return 0;
}

/* After the commands were added: wait for them (or finish now). */
static void
mon_page_run(struct mon_page *pg)
{
	pg->starting = 0;
	if (pg->left == 0) {
		mon_page_finish(pg);
		return;
	}
	pg->evcon = evhttp_request_get_connection(pg->req);
	if (pg->evcon != NULL)
		evhttp_connection_set_closecb(pg->evcon, mon_page_gone_cb, pg);
}

/* A failed command's text, one line, for an error page. */
static void
mon_cmd_text(const struct mon_page_cmd *c, char *buf, size_t bufsz)
{
	size_t	 n = evbuffer_get_length(c->out);

	if (n >= bufsz)
		n = bufsz - 1;
	evbuffer_copyout(c->out, buf, n);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/*
 * The page around it all.
 */

static void
mon_page_head(struct mon_page *pg, struct evbuffer *b)
{
	const char	*path = evhttp_uri_get_path(
	    evhttp_request_get_evhttp_uri(pg->req));
	size_t		 i;

	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>");
	ctl_html_esc(b, pg->title);
	evbuffer_add_printf(b, " - Breakwater</title>");
	mon_style_add(b);
	evbuffer_add_printf(b, "</head><body data-page=\"%d\"><header>"
	    "<strong>Breakwater</strong> ", (int)pg->kind);
	ctl_html_esc(b, ctl_env->d.cfg->hostname);
	evbuffer_add_printf(b, "<nav>");
	for (i = 0; i < sizeof(mon_nav) / sizeof(mon_nav[0]); i++)
		evbuffer_add_printf(b, "<a href=\"%s?range=%s\"%s>%s</a>",
		    mon_nav[i].path, pg->range->name, mon_nav[i].kind ==
		    pg->kind ? " class=\"here\"" : "", mon_nav[i].title);
	evbuffer_add_printf(b, "</nav><form method=\"post\" "
	    "action=\"/logout\">");
	ctl_html_esc(b, pg->auth.user);
	evbuffer_add_printf(b, " (%s) <input type=\"hidden\" name=\"csrf\" "
	    "value=\"", pg->auth.may & MON_MAY_ACT ? "act" : "view");
	ctl_html_esc(b, pg->auth.csrf);
	evbuffer_add_printf(b, "\"><button>log out</button></form></header>"
	    "<main><h1>");
	ctl_html_esc(b, pg->title);
	evbuffer_add_printf(b, "</h1>\n");
	if (pg->kind == MON_PG_ACTION || pg->kind == MON_PG_MESSAGE)
		return;		/* no history on these */
	evbuffer_add_printf(b, "<p class=\"ranges\">History: ");
	for (i = 0; i < MON_NRANGES; i++) {
		evbuffer_add_printf(b, "<a href=\"");
		ctl_html_esc(b, path != NULL ? path : "/");
		if (pg->gw[0] != '\0') {
			evbuffer_add_printf(b, "?gateway=");
			ctl_html_url(b, pg->gw);
			evbuffer_add_printf(b, "&amp;");
		} else
			evbuffer_add_printf(b, "?");
		evbuffer_add_printf(b, "range=%s\"%s>%s</a>",
		    mon_ranges[i].name, &mon_ranges[i] == pg->range ?
		    " class=\"here\"" : "", mon_ranges[i].label);
	}
	evbuffer_add_printf(b, "</p>\n");
}

static void
mon_page_foot(struct evbuffer *b)
{
	evbuffer_add_printf(b, "</main></body></html>\n");
}

/* A command's part of the page: its rows, or what went wrong. */
static void
mon_page_cmd_html(struct evbuffer *b, struct mon_page_cmd *c)
{
	char	 text[512];

	if (c->title != NULL) {
		evbuffer_add_printf(b, "<h2>");
		ctl_html_esc(b, c->title);
		evbuffer_add_printf(b, "</h2>\n");
	}
	evbuffer_add_printf(b, "<section class=\"cmd\" data-cmd=\"%s\">\n",
	    c->key);
	if (!c->done) {
		evbuffer_add_printf(b, "<p class=\"alert\">no answer</p>\n");
	} else if (c->exitcode != 0) {
		mon_cmd_text(c, text, sizeof(text));
		evbuffer_add_printf(b, "<p class=\"alert\">");
		ctl_html_esc(b, text);
		evbuffer_add_printf(b, "</p>\n");
	} else
		evbuffer_add_buffer(b, c->out);
	evbuffer_add_printf(b, "</section>\n");
}

/* An action's form: POST to /action, the dry run first. */
static void
mon_action_forms(struct mon_page *pg, struct evbuffer *b, const char *sel,
    const char *value, const char *gw)
{
	size_t	 i;

	if (!(pg->auth.may & MON_MAY_ACT))
		return;
	evbuffer_add_printf(b, "<h2>Act</h2>\n<p>");
	for (i = 0; i < MON_NOPS; i++) {
		evbuffer_add_printf(b, "<form class=\"act\" method=\"post\" "
		    "action=\"/action\"><input type=\"hidden\" name=\"csrf\" "
		    "value=\"");
		ctl_html_esc(b, pg->auth.csrf);
		evbuffer_add_printf(b, "\"><input type=\"hidden\" name=\"op\" "
		    "value=\"%s\"><input type=\"hidden\" name=\"sel\" "
		    "value=\"%s\"><input type=\"hidden\" name=\"value\" "
		    "value=\"", mon_ops[i], sel);
		ctl_html_esc(b, value);
		evbuffer_add_printf(b, "\">");
		if (gw != NULL && gw[0] != '\0') {
			evbuffer_add_printf(b, "<input type=\"hidden\" "
			    "name=\"gateway\" value=\"");
			ctl_html_esc(b, gw);
			evbuffer_add_printf(b, "\">");
		}
		evbuffer_add_printf(b, "<button name=\"go\" value=\"%s\">%s"
		    "%s</button></form>", mon_ops[i], mon_ops[i],
		    strcmp(sel, "domain") == 0 ? " all" : "");
	}
	evbuffer_add_printf(b, "</p>\n<p class=\"note\">Each button first "
	    "shows what it would act on; nothing is done until you confirm. "
	    "Deleted mail stays in the hold area for queue_undelete_window "
	    "(bwctl undelete).</p>\n");
}

/* The confirmation form of an action (the dry run was shown above it). */
static void
mon_action_confirm_form(struct mon_page *pg, struct evbuffer *b)
{
	evbuffer_add_printf(b, "<form class=\"confirm\" method=\"post\" "
	    "action=\"/action\"><input type=\"hidden\" name=\"csrf\" "
	    "value=\"");
	ctl_html_esc(b, pg->auth.csrf);
	evbuffer_add_printf(b, "\"><input type=\"hidden\" name=\"op\" "
	    "value=\"%s\"><input type=\"hidden\" name=\"sel\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"value\" value=\"", pg->op,
	    pg->sel);
	ctl_html_esc(b, pg->arg);
	evbuffer_add_printf(b, "\">");
	if (pg->gw[0] != '\0') {
		evbuffer_add_printf(b, "<input type=\"hidden\" name=\"gateway\" "
		    "value=\"");
		ctl_html_esc(b, pg->gw);
		evbuffer_add_printf(b, "\">");
	}
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"confirm\" "
	    "value=\"yes\"><p>The rows above would be acted on. <button "
	    "name=\"go\" value=\"confirm\">Confirm: %s them</button></p>"
	    "</form>\n", pg->op);
}

static const struct mon_series_ref mon_flow_refs[] = {
	{ "smtpd.messages_accepted", "received" },
	{ "queued.rcpt_delivered", "delivered" },
	{ "queued.rcpt_bounced", "bounced" },
	{ "smtpd.policy_reject", "rejected by policy" },
};
static const struct mon_series_ref mon_queue_refs[] = {
	{ "queued.queued_messages", "queued" },
	{ "queue.work_ready", "work ready" },
	{ "queue.work_deferred", "work deferred" },
};
static const struct mon_series_ref mon_hosts_refs[] = {
	{ "queued.hosts_connected", "hosts connected" },
};
static const struct mon_series_ref mon_in_refs[] = {
	{ "smtpd.messages_accepted", "received" },
	{ "smtpd.messages_rejected", "rejected" },
	{ "smtpd.policy_reject", "rejected by policy" },
};
static const struct mon_series_ref mon_dest_refs[] = {
	{ "queued.rcpt_delivered", "delivered" },
	{ "queued.rcpt_deferred", "deferred" },
	{ "queued.rcpt_bounced", "bounced" },
};
#define NREFS(a)	(sizeof(a) / sizeof((a)[0]))

/* The page's charts (HTML) or its "history" member (JSON). */
static void
mon_page_charts(struct mon_page *pg, struct evbuffer *b, struct ctl_json *j)
{
	if (j != NULL)
		ctl_json_obj_open(j, "history");
	switch (pg->kind) {
	case MON_PG_OVERVIEW:
		mon_pages_chart(b, j, pg->range, "Mail per interval", SVG_LINE,
		    mon_flow_refs, NREFS(mon_flow_refs));
		mon_pages_chart(b, j, pg->range, "Queue and work queue", SVG_LINE,
		    mon_queue_refs, NREFS(mon_queue_refs));
		mon_pages_chart(b, j, pg->range, "Hosts connected", SVG_LINE,
		    mon_hosts_refs, NREFS(mon_hosts_refs));
		break;
	case MON_PG_INCOMING:
		mon_pages_chart(b, j, pg->range, "Incoming mail per interval", SVG_BARS,
		    mon_in_refs, NREFS(mon_in_refs));
		break;
	case MON_PG_DESTINATIONS:
		mon_pages_chart(b, j, pg->range, "Recipients per interval", SVG_BARS,
		    mon_dest_refs, NREFS(mon_dest_refs));
		mon_pages_chart(b, j, pg->range, "Queue and work queue", SVG_LINE,
		    mon_queue_refs, NREFS(mon_queue_refs));
		break;
	case MON_PG_DOMAIN:
		mon_pages_domain_charts(b, j, pg->range, pg->gw, pg->arg);
		break;
	default:
		break;
	}
	if (j != NULL) {
		ctl_json_str(j, "range", pg->range->name);
		ctl_json_obj_close(j);
	}
}

static void
mon_disk_row(struct evbuffer *b, struct ctl_json *j, const char *what,
    const char *path)
{
	struct statvfs	 sv;
	uint64_t	 total, avail;

	if (statvfs(path, &sv) == -1) {
		if (j == NULL) {
			evbuffer_add_printf(b, "<tr><td>%s</td><td>", what);
			ctl_html_esc(b, path);
			evbuffer_add_printf(b, "</td><td colspan=\"3\">"
			    "cannot tell</td></tr>\n");
		}
		return;
	}
	total = (uint64_t)sv.f_blocks * sv.f_frsize;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (j != NULL) {
		ctl_json_obj_open(j, NULL);
		ctl_json_str(j, "what", what);
		ctl_json_str(j, "path", path);
		ctl_json_uint(j, "bytes", total);
		ctl_json_uint(j, "free_bytes", avail);
		ctl_json_obj_close(j);
		return;
	}
	evbuffer_add_printf(b, "<tr><td>%s</td><td>", what);
	ctl_html_esc(b, path);
	evbuffer_add_printf(b, "</td><td class=\"n\" data-key=\"bytes\" "
	    "data-v=\"%" PRIu64 "\">%" PRIu64 " MiB</td><td class=\"n\" "
	    "data-key=\"free_bytes\" data-v=\"%" PRIu64 "\">%" PRIu64
	    " MiB</td><td class=\"n\">%.1f%%</td></tr>\n", total,
	    total >> 20, avail, avail >> 20, total > 0 ?
	    100.0 * (double)avail / (double)total : 0.0);
}

static void
mon_disk(struct evbuffer *b, struct ctl_json *j)
{
	const struct bw_config	*cfg = ctl_env->d.cfg;

	if (j != NULL)
		ctl_json_arr_open(j, "disk");
	else
		evbuffer_add_printf(b, "<h2>Disk</h2>\n<table data-table="
		    "\"disk\"><thead><tr><th>what</th><th>path</th><th>size"
		    "</th><th>free</th><th>free %%</th></tr></thead><tbody>\n");
	mon_disk_row(b, j, "spool", cfg->spool_dir);
	mon_disk_row(b, j, "monitor", cfg->monitor_dir);
	if (j != NULL)
		ctl_json_arr_close(j);
	else
		evbuffer_add_printf(b, "</tbody></table>\n");
}

/* Everything answered (or the page needed nothing): send the page. */
static void
mon_page_finish(struct mon_page *pg)
{
	struct evbuffer	*b;
	struct ctl_json	 j;
	char		 text[512];
	size_t		 i;
	int		 code = 200;

	if (pg->evcon != NULL)
		evhttp_connection_set_closecb(pg->evcon, NULL, NULL);
	if ((b = evbuffer_new()) == NULL) {
		mon_http_error(pg->req, 503, "controld is out of memory");
		mon_page_free(pg);
		return;
	}
	/* one command and nothing else: its JSON as bwctl --json has it */
	if (pg->json && pg->ncmds == 1 && (pg->kind == MON_PG_MESSAGE ||
	    pg->kind == MON_PG_ACTION || pg->kind == MON_PG_SYSTEM)) {
		struct mon_page_cmd *c = &pg->cmds[0];

		if (c->exitcode != 0) {
			mon_cmd_text(c, text, sizeof(text));
			mon_http_error(pg->req, c->exitcode == 2 ? 400 :
			    strstr(text, "no such") != NULL || strstr(text,
			    "not found") != NULL ? 404 : 502, text);
		} else
			mon_http_reply(pg->req, 200, "application/json",
			    c->out);
		evbuffer_free(b);
		mon_page_free(pg);
		return;
	}
	if (pg->json) {
		ctl_json_init(&j, b);
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "page", pg->title);
		for (i = 0; i < pg->ncmds; i++) {
			struct mon_page_cmd *c = &pg->cmds[i];

			if (!c->done || c->exitcode != 0) {
				mon_cmd_text(c, text, sizeof(text));
				ctl_json_obj_open(&j, c->key);
				ctl_json_int(&j, "exitcode", c->done ?
				    c->exitcode : -1);
				ctl_json_str(&j, "error", c->done ? text :
				    "no answer");
				ctl_json_obj_close(&j);
				continue;
			}
			/* the command's own document, as a member */
			evbuffer_add_printf(b, ",");
			ctl_json_quote(b, c->key);
			evbuffer_add_printf(b, ":");
			evbuffer_add_buffer(b, c->out);
		}
		if (pg->kind == MON_PG_OVERVIEW)
			mon_pages_figures(b, &j);
		if (pg->kind == MON_PG_SYSTEM)
			mon_disk(b, &j);
		mon_page_charts(pg, b, &j);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		mon_http_reply(pg->req, 200, "application/json", b);
		evbuffer_free(b);
		mon_page_free(pg);
		return;
	}
	mon_page_head(pg, b);
	switch (pg->kind) {
	case MON_PG_OVERVIEW:
		mon_pages_figures(b, NULL);
		mon_page_charts(pg, b, NULL);
		for (i = 0; i < pg->ncmds; i++)
			mon_page_cmd_html(b, &pg->cmds[i]);
		break;
	case MON_PG_INCOMING:
		mon_page_charts(pg, b, NULL);
		evbuffer_add_printf(b, "<p class=\"note\" id=\"sum-note\">smtpd "
		    "keeps no counters per sender group or reputation band: "
		    "the sums below add up the top %s connecting hosts (show "
		    "senders), so mail from hosts beyond them is not "
		    "counted.</p>\n", MON_SENDERS_ROWS);
		for (i = 0; i < pg->ncmds; i++)
			mon_page_cmd_html(b, &pg->cmds[i]);
		break;
	case MON_PG_DESTINATIONS:
	case MON_PG_SYSTEM:
		mon_page_charts(pg, b, NULL);
		for (i = 0; i < pg->ncmds; i++)
			mon_page_cmd_html(b, &pg->cmds[i]);
		if (pg->kind == MON_PG_SYSTEM)
			mon_disk(b, NULL);
		break;
	case MON_PG_DOMAIN:
		for (i = 0; i < pg->ncmds; i++)
			mon_page_cmd_html(b, &pg->cmds[i]);
		if (pg->cmds[0].exitcode != 0)
			code = 404;
		mon_page_charts(pg, b, NULL);
		mon_action_forms(pg, b, "domain", pg->arg, pg->gw);
		break;
	case MON_PG_MESSAGE:
		for (i = 0; i < pg->ncmds; i++)
			mon_page_cmd_html(b, &pg->cmds[i]);
		if (pg->cmds[0].exitcode != 0)
			code = 404;
		else
			mon_action_forms(pg, b, "qid", pg->arg, NULL);
		break;
	case MON_PG_ACTION:
		for (i = 0; i < pg->ncmds; i++)
			mon_page_cmd_html(b, &pg->cmds[i]);
		if (!pg->confirmed && pg->cmds[0].exitcode == 0)
			mon_action_confirm_form(pg, b);
		else if (pg->confirmed)
			log_info("monitor: user=%s addr=%s %s %s%s%s "
			    "exit=%d", pg->auth.user, pg->auth.addr, pg->op,
			    pg->arg, pg->gw[0] ? " gateway=" : "", pg->gw,
			    pg->cmds[0].exitcode);
		break;
	}
	mon_page_foot(b);
	mon_http_reply(pg->req, code, "text/html; charset=utf-8", b);
	evbuffer_free(b);
	mon_page_free(pg);
}

/*
 * The routes.
 */

/* A sort link's name (?sort=queued) as the column key. */
static void
mon_sort_of(struct evhttp_request *req, struct ctl_html_view *v,
    const char *dflt, int dflt_desc)
{
	static const struct {
		const char	*alias, *key;
		int		 desc;
	} aliases[] = {
		{ "queued", "messages", 1 },
		{ "oldest", "oldest", 0 },
		{ "bounces", "hard_bounces", 1 },
		{ "state", "state", 0 },
	};
	struct evkeyvalq	 q;
	const char		*s = mon_query(req, &q, "sort"), *d;
	size_t			 i;

	strlcpy(v->sort, dflt, sizeof(v->sort));
	v->desc = dflt_desc;
	if (s != NULL && strlen(s) < sizeof(v->sort)) {
		strlcpy(v->sort, s, sizeof(v->sort));
		v->desc = 0;
		for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
			if (strcmp(s, aliases[i].alias) == 0) {
				strlcpy(v->sort, aliases[i].key,
				    sizeof(v->sort));
				v->desc = aliases[i].desc;
			}
	}
	if ((d = evhttp_find_header(&q, "dir")) != NULL)
		v->desc = strcmp(d, "desc") == 0;
	evhttp_clear_headers(&q);
}

static void
mon_view_init(struct mon_page *pg, struct ctl_html_view *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->query, sizeof(v->query), "range=%s", pg->range->name);
	v->links[0].key = "domain";
	v->links[0].prefix = "/domain/";
	v->links[0].qkey = "gateway";
	v->links[0].qparam = "gateway";
	v->links[1].key = "qid";
	v->links[1].prefix = "/message/";
}

static int
mon_no_rest(struct evhttp_request *req, const char *rest)
{
	if (rest[0] == '\0')
		return 0;
	mon_http_error(req, 404, "no such page");
	return -1;
}

static void
mon_page_overview(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	static const char *const argv[] = { "show", "alerts" };
	struct ctl_html_view	 v;
	struct mon_page		*pg;

	if (mon_no_rest(req, rest) == -1 ||
	    (pg = mon_page_new(req, a, MON_PG_OVERVIEW, "Overview")) == NULL)
		return;
	mon_view_init(pg, &v);
	pg->starting = 1;
	mon_page_cmd(pg, "alerts", "Alerts", &v, 2, argv);
	mon_page_run(pg);
}

/* A reputation score ("-3.5", "none", "off") as a band. */
static const char *
mon_score_band(const char *score)
{
	char	*end;
	double	 s;

	s = strtod(score, &end);
	if (end == score || *end != '\0')
		return "no score";
	if (s <= -5.0)
		return "bad (-10 to -5)";
	if (s < 0.0)
		return "poor (-5 to 0)";
	if (s < 5.0)
		return "fair (0 to 5)";
	return "good (5 to 10)";
}

static void
mon_page_incoming(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	static const char *const argv[] = { "show", "senders", "-n",
		MON_SENDERS_ROWS };
	struct ctl_html_view	 v;
	struct mon_page		*pg;

	if (mon_no_rest(req, rest) == -1 ||
	    (pg = mon_page_new(req, a, MON_PG_INCOMING, "Incoming mail")) ==
	    NULL)
		return;
	mon_view_init(pg, &v);
	mon_sort_of(req, &v, "", 0);
	v.groupings[0].by = "group";
	v.groupings[0].title = "By sender group (sums of the top hosts)";
	v.groupings[1].by = "score";
	v.groupings[1].title = "By reputation band (sums of the top hosts)";
	v.groupings[1].bucket = mon_score_band;
	pg->starting = 1;
	mon_page_cmd(pg, "senders", "Top senders", &v, 4, argv);
	mon_page_run(pg);
}

static void
mon_page_destinations(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	static const char *const argv[] = { "show", "queue" };
	struct ctl_html_view	 v;
	struct mon_page		*pg;

	if (mon_no_rest(req, rest) == -1 ||
	    (pg = mon_page_new(req, a, MON_PG_DESTINATIONS, "Destinations")) ==
	    NULL)
		return;
	mon_view_init(pg, &v);
	mon_sort_of(req, &v, "messages", 1);
	pg->starting = 1;
	mon_page_cmd(pg, "queue", NULL, &v, 2, argv);
	mon_page_run(pg);
}

/* "/domain/example.org[?gateway=G]" */
static void
mon_page_domain(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	const char		*argv[3] = { "show", "domain", NULL };
	struct ctl_html_view	 v;
	struct evkeyvalq	 q;
	struct mon_page		*pg;
	const char		*gw;
	char			 title[128];

	if (rest[0] != '/' || rest[1] == '\0' || strchr(rest + 1, '/') != NULL ||
	    strlen(rest + 1) > BW_DOMAIN_MAX) {
		mon_http_error(req, 404, "no such page: /domain/DOMAIN");
		return;
	}
	snprintf(title, sizeof(title), "Domain %.100s", rest + 1);
	if ((pg = mon_page_new(req, a, MON_PG_DOMAIN, title)) == NULL)
		return;
	strlcpy(pg->arg, rest + 1, sizeof(pg->arg));
	if ((gw = mon_query(req, &q, "gateway")) != NULL)
		strlcpy(pg->gw, gw, sizeof(pg->gw));
	evhttp_clear_headers(&q);
	mon_view_init(pg, &v);
	argv[2] = pg->arg;
	pg->starting = 1;
	mon_page_cmd(pg, "domain", NULL, &v, 3, argv);
	mon_page_run(pg);
}

/* "/message/QID" */
static void
mon_page_message(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	const char		*argv[3] = { "show", "message", NULL };
	struct ctl_html_view	 v;
	struct mon_page		*pg;
	char			 title[64];

	if (rest[0] != '/' || rest[1] == '\0' || strlen(rest + 1) > BW_QID_LEN) {
		mon_http_error(req, 404, "no such page: /message/QID");
		return;
	}
	snprintf(title, sizeof(title), "Message %s", rest + 1);
	if ((pg = mon_page_new(req, a, MON_PG_MESSAGE, title)) == NULL)
		return;
	strlcpy(pg->arg, rest + 1, sizeof(pg->arg));
	mon_view_init(pg, &v);
	argv[2] = pg->arg;
	pg->starting = 1;
	mon_page_cmd(pg, "message", NULL, &v, 3, argv);
	mon_page_run(pg);
}

static void
mon_page_system(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	static const char *const argv[] = { "status" };
	struct ctl_html_view	 v;
	struct mon_page		*pg;

	if (mon_no_rest(req, rest) == -1 ||
	    (pg = mon_page_new(req, a, MON_PG_SYSTEM, "System")) == NULL)
		return;
	mon_view_init(pg, &v);
	mon_sort_of(req, &v, "", 0);
	pg->starting = 1;
	mon_page_cmd(pg, "status", "Daemons", &v, 1, argv);
	mon_page_run(pg);
}

/* A POST form's field (q is the caller's, filled once). */
static const char *
mon_form_field(struct evhttp_request *req, struct evkeyvalq *q, int *parsed,
    const char *name)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(in);
	char		*text;

	if (!*parsed) {
		TAILQ_INIT(q);
		*parsed = 1;
		if ((text = malloc(len + 1)) == NULL)
			return NULL;
		evbuffer_copyout(in, text, len);
		text[len] = '\0';
		if (strlen(text) != len || evhttp_parse_query_str(text, q) ==
		    -1) {
			free(text);
			return NULL;
		}
		free(text);
	}
	return evhttp_find_header(q, name);
}

/*
 * POST /action: op (delete hold release bounce), sel (qid | domain),
 * value, [gateway], [confirm=yes].  Without confirm a dry run.
 */
static void
mon_page_action(struct evhttp_request *req, const struct mon_auth *a,
    const char *rest)
{
	const char		*argv[MON_PAGE_ARGS_MAX];
	struct ctl_html_view	 v;
	struct evkeyvalq	 q;
	struct mon_page		*pg = NULL;
	const char		*op, *sel, *val, *gw, *conf;
	char			 title[128];
	int			 parsed = 0, argc = 0;
	size_t			 i;

	if (mon_no_rest(req, rest) == -1)
		return;
	op = mon_form_field(req, &q, &parsed, "op");
	sel = mon_form_field(req, &q, &parsed, "sel");
	val = mon_form_field(req, &q, &parsed, "value");
	gw = mon_form_field(req, &q, &parsed, "gateway");
	conf = mon_form_field(req, &q, &parsed, "confirm");
	for (i = 0; op != NULL && i < MON_NOPS; i++)
		if (strcmp(op, mon_ops[i]) == 0)
			break;
	if (op == NULL || i == MON_NOPS || sel == NULL || val == NULL ||
	    val[0] == '\0' || val[0] == '-' ||
	    (strcmp(sel, "qid") != 0 && strcmp(sel, "domain") != 0) ||
	    strlen(val) > BW_DOMAIN_MAX || (gw != NULL &&
	    (strlen(gw) >= BW_NAME_MAX || gw[0] == '-'))) {
		mon_http_error(req, 400, "an action needs op (delete, hold, "
		    "release, bounce), sel (qid or domain) and value");
		goto done;
	}
	snprintf(title, sizeof(title), "%s %s %.100s%s", mon_ops[i],
	    sel, val, conf != NULL && strcmp(conf, "yes") == 0 ? "" :
	    ": what it would do");
	if ((pg = mon_page_new(req, a, MON_PG_ACTION, title)) == NULL)
		goto done;
	pg->op = mon_ops[i];
	pg->sel = strcmp(sel, "domain") == 0 ? "domain" : "qid";
	pg->confirmed = conf != NULL && strcmp(conf, "yes") == 0;
	strlcpy(pg->arg, val, sizeof(pg->arg));
	argv[argc++] = pg->op;
	if (strcmp(sel, "domain") == 0) {
		argv[argc++] = "--domain";
		argv[argc++] = pg->arg;
		if (gw != NULL && gw[0] != '\0') {
			strlcpy(pg->gw, gw, sizeof(pg->gw));
			argv[argc++] = "--gateway";
			argv[argc++] = pg->gw;
		}
	} else
		argv[argc++] = pg->arg;
	if (!pg->confirmed)
		argv[argc++] = "--dry-run";
	mon_view_init(pg, &v);
	v.nosort = 1;		/* a POST's page: a sort link would GET it */
	pg->starting = 1;
	mon_page_cmd(pg, "action", pg->confirmed ? "Done" :
	    "Would be acted on", &v, argc, argv);
	mon_page_run(pg);
done:
	if (parsed)
		evhttp_clear_headers(&q);
}

void
mon_pages_register(void)
{
	mon_http_route("/overview", MON_MAY_VIEW, MON_GET, mon_page_overview);
	mon_http_route("/incoming", MON_MAY_VIEW, MON_GET, mon_page_incoming);
	mon_http_route("/destinations", MON_MAY_VIEW, MON_GET,
	    mon_page_destinations);
	mon_http_route("/domain", MON_MAY_VIEW, MON_GET, mon_page_domain);
	mon_http_route("/message", MON_MAY_VIEW, MON_GET, mon_page_message);
	mon_http_route("/system", MON_MAY_VIEW, MON_GET, mon_page_system);
	mon_http_route("/action", MON_MAY_ACT, MON_POST, mon_page_action);
}
