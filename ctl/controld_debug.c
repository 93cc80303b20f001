/*
 * bwctl debug: the table of destination domains whose SMTP sessions
 * deliverd writes down in full (deliverd/deliverd_debug.c).
 *
 *   debug                       what is on: time left, transcript file
 *   debug DOMAIN on [DURATION]  on for DURATION (default 10m, at most
 *                               BW_DEBUG_DURATION_MAX_MS); again: the new
 *                               duration replaces the old one
 *   debug DOMAIN off            off now
 *
 * controld owns the table (at most BW_DEBUG_DOMAINS_MAX rows) and sends
 * all of it to every deliverd worker on each change and when a worker
 * links (DEBUG_TABLE); the rows carry the time left, so each worker keeps
 * its own deadline and stops at it even if it never hears the "off".
 * One timer here drops expired rows (and logs it).  The table lives in
 * controld's memory only: a controld restart ends every debug (workers
 * get the empty table when they link again).
 *
 * Trust: the arguments are an admin's, still checked (the pattern by
 * bw_debug_pattern_norm, the duration by bw_debug_duration_parse).
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "domain_debug.h"
#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"

struct ctl_debug_row {
	char		 pattern[BW_DOMAIN_MAX + 1];
	uint64_t	 until_ms;	/* bw_now_ms() */
	int64_t		 since;		/* wall clock, switched on */
};

static struct ctl_debug_row	 ctl_debug[BW_DEBUG_DOMAINS_MAX];
static size_t			 ctl_ndebug;
static struct event		*ctl_debug_ev;

/* The transcript file of a pattern, as deliverd names it. */
static void
ctl_debug_path(const char *pattern, char *dst, size_t dstsz)
{
	char	 name[BW_DOMAIN_MAX + sizeof("_" BW_DEBUG_FILE_SUFFIX)];

	if (bw_debug_file_name(pattern, name, sizeof(name)) == -1 ||
	    bw_path(dst, dstsz, ctl_env->d.cfg->debug_dir, name) == -1)
		snprintf(dst, dstsz, "-");
}

static void	ctl_debug_timer_cb(evutil_socket_t, short, void *);

/* Drop the rows whose time is up; the timer for the next one. */
static void
ctl_debug_expire(void)
{
	struct timeval	 tv;
	uint64_t	 now = bw_now_ms(), next = 0;
	size_t		 i = 0;

	while (i < ctl_ndebug) {
		if (ctl_debug[i].until_ms <= now) {
			log_info("debug domain=%s off: its time ran out",
			    ctl_debug[i].pattern);
			ctl_debug[i] = ctl_debug[--ctl_ndebug];
			continue;
		}
		if (next == 0 || ctl_debug[i].until_ms < next)
			next = ctl_debug[i].until_ms;
		i++;
	}
	if (ctl_debug_ev == NULL && (ctl_debug_ev = evtimer_new(
	    ctl_env->d.base, ctl_debug_timer_cb, NULL)) == NULL) {
		/* rows are still dropped at the next command or listing */
		log_warnx("debug: no timer (out of memory)");
		return;
	}
	evtimer_del(ctl_debug_ev);
	if (next == 0)
		return;
	tv.tv_sec = (next - now) / 1000;
	tv.tv_usec = ((next - now) % 1000) * 1000;
	evtimer_add(ctl_debug_ev, &tv);
}

static void
ctl_debug_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	ctl_debug_expire();
}

/*
 * Send the table to one deliverd worker (peer), or to all (NULL); the
 * number of workers it went to.  The workers expire rows themselves, so
 * an expiry alone sends nothing.
 */
static size_t
ctl_debug_push(struct bw_peer *peer)
{
	struct bw_debug_table	 t;
	struct ctl_daemon	*d;
	uint64_t		 now = bw_now_ms();
	size_t			 i, len, sent = 0;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < ctl_ndebug; i++) {
		if (ctl_debug[i].until_ms <= now)
			continue;
		strlcpy(t.rows[t.n].pattern, ctl_debug[i].pattern,
		    sizeof(t.rows[t.n].pattern));
		t.rows[t.n].left_ms = ctl_debug[i].until_ms - now;
		t.n++;
	}
	len = offsetof(struct bw_debug_table, rows) + t.n * sizeof(t.rows[0]);
	TAILQ_FOREACH(d, &ctl_env->daemons, entry) {
		if (d->role != BW_ROLE_DELIVERD || !bw_peer_is_up(d->peer) ||
		    (peer != NULL && d->peer != peer))
			continue;
		if (bw_peer_send(d->peer, BW_IMSG_DEBUG_TABLE, 0, -1, &t,
		    len) == -1)
			log_warnx("debug: cannot send the table to deliverd "
			    "worker=%u", d->worker);
		else
			sent++;
	}
	return sent;
}

/* A deliverd worker linked: it gets the table (empty or not). */
void
ctl_debug_worker_up(struct bw_peer *peer)
{
	ctl_debug_expire();
	(void)ctl_debug_push(peer);
}

enum ctl_debug_mode {
	CTL_DEBUG_LIST,
	CTL_DEBUG_ON,
	CTL_DEBUG_OFF,
};

struct ctl_debug_priv {
	enum ctl_debug_mode	 mode;
	char			 pattern[BW_DOMAIN_MAX + 1];
	uint64_t		 ms;
	char			 what[64];	/* "on for 5m", "off" */
	size_t			 workers;	/* told of the change */
};

static const struct ctl_col ctl_debug_cols[] = {
	{ "domain", "DOMAIN", CTL_T_STR, CTL_COL_BOTH | CTL_COL_AUTO |
	    CTL_COL_LABEL, 6, NULL },
	{ "left", "LEFT", CTL_T_AGE, CTL_COL_BOTH | CTL_COL_RIGHT, 8, NULL },
	{ "since", "SINCE", CTL_T_TIME, CTL_COL_BOTH, 19, NULL },
	{ "file", "FILE", CTL_T_STR, CTL_COL_BOTH, 0, NULL },
};
static const struct ctl_table ctl_debug_table = { "debug", ctl_debug_cols,
    CTL_NCOLS(ctl_debug_cols), NULL };

static void
ctl_debug_list(struct ctl_out *o)
{
	char		 path[PATH_MAX];
	uint64_t	 now = bw_now_ms();
	size_t		 i;

	ctl_out_table_open(o, &ctl_debug_table);
	ctl_out_table_empty(o, "no domain in debug (transcripts go to %s)",
	    ctl_env->d.cfg->debug_dir);
	for (i = 0; i < ctl_ndebug; i++) {
		ctl_debug_path(ctl_debug[i].pattern, path, sizeof(path));
		ctl_out_row_open(o);
		ctl_out_str(o, "domain", ctl_debug[i].pattern);
		ctl_out_uint(o, "left", (ctl_debug[i].until_ms - now + 999) /
		    1000);
		ctl_out_int(o, "since", ctl_debug[i].since);
		ctl_out_str(o, "file", path);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	ctl_out_uint(o, "max", BW_DEBUG_DOMAINS_MAX);
	ctl_out_str(o, "debug_dir", ctl_env->d.cfg->debug_dir);
}

static ssize_t
ctl_debug_find(const char *pattern)
{
	size_t	 i;

	for (i = 0; i < ctl_ndebug; i++)
		if (strcmp(ctl_debug[i].pattern, pattern) == 0)
			return (ssize_t)i;
	return -1;
}

/* After a change: what the admin is told. */
static void
ctl_debug_told(struct ctl_out *o, const struct ctl_debug_priv *p)
{
	char	 path[PATH_MAX];

	ctl_debug_path(p->pattern, path, sizeof(path));
	ctl_out_str(o, "domain", p->pattern);
	ctl_out_bool(o, "on", p->mode == CTL_DEBUG_ON && p->ms > 0);
	ctl_out_uint(o, "left", p->mode == CTL_DEBUG_ON ? p->ms / 1000 : 0);
	ctl_out_str(o, "file", path);
	ctl_out_uint(o, "workers", p->workers);
	ctl_out_note(o, "debug %s %s; transcript: %s", p->pattern, p->what,
	    path);
	if (p->workers == 0)
		ctl_out_note(o, "note: no deliverd worker is linked now; each "
		    "gets the table when it links");
}

static int
ctl_debug_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_debug_priv	*p = req->priv;

	ctl_out_obj_open(o, NULL);
	if (p->mode == CTL_DEBUG_LIST)
		ctl_debug_list(o);
	else
		ctl_debug_told(o, p);
	ctl_out_obj_close(o);
	return 0;
}

static void
ctl_debug_on(struct ctl_req *req, struct ctl_debug_priv *p)
{
	char		 dur[32];
	ssize_t		 k;

	ctl_fmt_age(dur, sizeof(dur), (int64_t)(p->ms / 1000));
	if ((k = ctl_debug_find(p->pattern)) == -1) {
		if (ctl_ndebug >= BW_DEBUG_DOMAINS_MAX) {
			ctl_req_fail(req, 1, "debug: %d domains are in debug "
			    "already (the most at once); switch one off "
			    "first", BW_DEBUG_DOMAINS_MAX);
			return;
		}
		k = (ssize_t)ctl_ndebug++;
		strlcpy(ctl_debug[k].pattern, p->pattern,
		    sizeof(ctl_debug[k].pattern));
		ctl_debug[k].since = bw_time();
	}
	ctl_debug[k].until_ms = bw_now_ms() + p->ms;
	log_info("debug domain=%s on for %s by %s", p->pattern, dur,
	    req->who.name);
	ctl_debug_expire();
	snprintf(p->what, sizeof(p->what), "on for %s", dur);
	p->workers = ctl_debug_push(NULL);
	ctl_req_done(req);
}

static void
ctl_debug_off(struct ctl_req *req, struct ctl_debug_priv *p)
{
	ssize_t	 k;

	ctl_debug_expire();
	if ((k = ctl_debug_find(p->pattern)) == -1) {
		ctl_req_fail(req, 1, "debug: %s is not in debug (never "
		    "switched on, or its time ran out)", p->pattern);
		return;
	}
	ctl_debug[k] = ctl_debug[--ctl_ndebug];
	log_info("debug domain=%s off by %s", p->pattern, req->who.name);
	ctl_debug_expire();
	strlcpy(p->what, "off", sizeof(p->what));
	p->workers = ctl_debug_push(NULL);
	ctl_req_done(req);
}

/* debug | debug DOMAIN on [DURATION] | debug DOMAIN off, [--json]. */
static int
ctl_debug_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	struct ctl_debug_priv	*p = arg;
	const char		*av[4];
	char			 err[96], e1[64];
	int			 i, n = 0;

	p->ms = BW_DEBUG_DURATION_DEFAULT_MS;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0) {
			if (pc->fmt == CTL_FMT_TEXT)
				pc->fmt = CTL_FMT_JSON;
		} else if (n < 4)
			av[n++] = argv[i];
		else
			goto usage;
	}
	if (n == 0) {
		p->mode = CTL_DEBUG_LIST;
		return 0;
	}
	if (n < 2 || n > 3 || (strcmp(av[1], "on") != 0 &&
	    strcmp(av[1], "off") != 0) ||
	    (n == 3 && strcmp(av[1], "off") == 0))
		goto usage;
	p->mode = strcmp(av[1], "on") == 0 ? CTL_DEBUG_ON : CTL_DEBUG_OFF;
	pc->need = CTL_MAY_ACT;
	if (bw_debug_pattern_norm(av[0], p->pattern, sizeof(p->pattern)) ==
	    -1) {
		snprintf(pc->err, sizeof(pc->err), "debug: invalid domain '%s' "
		    "(example.org, or *.example.org for its subdomains)",
		    log_escape(e1, sizeof(e1), av[0], strlen(av[0])));
		return -1;
	}
	if (n == 3 && bw_debug_duration_parse(av[2], &p->ms, err,
	    sizeof(err)) == -1) {
		snprintf(pc->err, sizeof(pc->err), "debug: duration '%s': %s",
		    log_escape(e1, sizeof(e1), av[2], strlen(av[2])), err);
		return -1;
	}
	return 0;
usage:
	snprintf(pc->err, sizeof(pc->err), "usage: debug | debug DOMAIN on "
	    "[DURATION] | debug DOMAIN off (DURATION like 30s, 5m, 2h; "
	    "default 10m, at most %lluh)", (unsigned long long)
	    (BW_DEBUG_DURATION_MAX_MS / 3600000));
	return -1;
}

static void
ctl_debug_start(struct ctl_req *req)
{
	struct ctl_debug_priv	*p = req->priv;

	switch (p->mode) {
	case CTL_DEBUG_LIST:
		ctl_debug_expire();
		ctl_req_done(req);
		return;
	case CTL_DEBUG_ON:
		ctl_debug_on(req, p);
		return;
	case CTL_DEBUG_OFF:
		ctl_debug_off(req, p);
		return;
	}
}

const struct ctl_cmd_ops ctl_debug_ops = {
	.privsz = sizeof(struct ctl_debug_priv),
	.parse = ctl_debug_parse,
	.start = ctl_debug_start,
	.render = ctl_debug_render,
};

/* controld stops: the timer goes (the sanitizers count it). */
void
ctl_debug_free(void)
{
	if (ctl_debug_ev != NULL)
		event_free(ctl_debug_ev);
	ctl_debug_ev = NULL;
	ctl_ndebug = 0;
}
