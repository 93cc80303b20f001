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
#include "ctl_json.h"
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

static void
ctl_debug_list(struct ctl_req *req)
{
	struct ctl_json	 j;
	char		 path[PATH_MAX], left[32], since[32];
	uint64_t	 now = bw_now_ms();
	size_t		 i, w = 6;

	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_arr_open(&j, "debug");
		for (i = 0; i < ctl_ndebug; i++) {
			ctl_debug_path(ctl_debug[i].pattern, path,
			    sizeof(path));
			ctl_json_obj_open(&j, NULL);
			ctl_json_str(&j, "domain", ctl_debug[i].pattern);
			ctl_json_uint(&j, "left", (ctl_debug[i].until_ms -
			    now + 999) / 1000);
			ctl_json_int(&j, "since", ctl_debug[i].since);
			ctl_json_str(&j, "file", path);
			ctl_json_obj_close(&j);
		}
		ctl_json_arr_close(&j);
		ctl_json_uint(&j, "max", BW_DEBUG_DOMAINS_MAX);
		ctl_json_str(&j, "debug_dir", ctl_env->d.cfg->debug_dir);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		return;
	}
	if (ctl_ndebug == 0) {
		evbuffer_add_printf(req->out, "no domain in debug "
		    "(transcripts go to %s)\n", ctl_env->d.cfg->debug_dir);
		return;
	}
	for (i = 0; i < ctl_ndebug; i++)
		if (strlen(ctl_debug[i].pattern) > w)
			w = strlen(ctl_debug[i].pattern);
	evbuffer_add_printf(req->out, "%-*s  %8s  %-19s  %s\n", (int)w,
	    "DOMAIN", "LEFT", "SINCE", "FILE");
	for (i = 0; i < ctl_ndebug; i++) {
		ctl_fmt_age(left, sizeof(left), (int64_t)((ctl_debug[i].until_ms
		    - now + 999) / 1000));
		ctl_fmt_time(since, sizeof(since), ctl_debug[i].since);
		ctl_debug_path(ctl_debug[i].pattern, path, sizeof(path));
		evbuffer_add_printf(req->out, "%-*s  %8s  %-19s  %s\n", (int)w,
		    ctl_debug[i].pattern, left, since, path);
	}
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

/* After a change: every worker told, and the admin told what happened. */
static void
ctl_debug_told(struct ctl_req *req, const char *pattern, const char *what,
    uint64_t ms)
{
	struct ctl_json	 j;
	char		 path[PATH_MAX];
	size_t		 n = ctl_debug_push(NULL);

	ctl_debug_path(pattern, path, sizeof(path));
	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "domain", pattern);
		ctl_json_bool(&j, "on", ms > 0);
		ctl_json_uint(&j, "left", ms / 1000);
		ctl_json_str(&j, "file", path);
		ctl_json_uint(&j, "workers", n);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		return;
	}
	evbuffer_add_printf(req->out, "debug %s %s; transcript: %s\n",
	    pattern, what, path);
	if (n == 0)
		evbuffer_add_printf(req->out, "note: no deliverd worker is "
		    "linked now; each gets the table when it links\n");
}

static void
ctl_debug_on(struct ctl_req *req, const char *pattern, uint64_t ms)
{
	char		 what[64], dur[32];
	ssize_t		 k;

	ctl_fmt_age(dur, sizeof(dur), (int64_t)(ms / 1000));
	if ((k = ctl_debug_find(pattern)) == -1) {
		if (ctl_ndebug >= BW_DEBUG_DOMAINS_MAX) {
			ctl_req_fail(req, 1, "debug: %d domains are in debug "
			    "already (the most at once); switch one off "
			    "first", BW_DEBUG_DOMAINS_MAX);
			return;
		}
		k = (ssize_t)ctl_ndebug++;
		strlcpy(ctl_debug[k].pattern, pattern,
		    sizeof(ctl_debug[k].pattern));
		ctl_debug[k].since = bw_time();
	}
	ctl_debug[k].until_ms = bw_now_ms() + ms;
	log_info("debug domain=%s on for %s", pattern, dur);
	ctl_debug_expire();
	snprintf(what, sizeof(what), "on for %s", dur);
	ctl_debug_told(req, pattern, what, ms);
	ctl_req_finish(req, 0);
}

static void
ctl_debug_off(struct ctl_req *req, const char *pattern)
{
	ssize_t	 k;

	ctl_debug_expire();
	if ((k = ctl_debug_find(pattern)) == -1) {
		ctl_req_fail(req, 1, "debug: %s is not in debug (never "
		    "switched on, or its time ran out)", pattern);
		return;
	}
	ctl_debug[k] = ctl_debug[--ctl_ndebug];
	log_info("debug domain=%s off", pattern);
	ctl_debug_expire();
	ctl_debug_told(req, pattern, "off", 0);
	ctl_req_finish(req, 0);
}

/* debug | debug DOMAIN on [DURATION] | debug DOMAIN off, [--json]. */
void
ctl_debug_cmd(struct bw_peer *client, const struct bw_ctl_cmd *cmd, int json)
{
	struct ctl_req	*req;
	const char	*argv[4];
	char		 pattern[BW_DOMAIN_MAX + 1], err[96], e1[64];
	uint64_t	 ms = BW_DEBUG_DURATION_DEFAULT_MS;
	uint32_t	 i, argc = 0;

	for (i = 1; i < cmd->argc; i++) {
		if (strcmp(cmd->argv[i], "--json") == 0 ||
		    strcmp(cmd->argv[i], "-j") == 0)
			json = 1;
		else if (argc < 4)
			argv[argc++] = cmd->argv[i];
		else
			goto usage;
	}
	if (argc == 0) {
		if ((req = ctl_req_new(client, CTL_REQ_DEBUG, json)) == NULL)
			return;
		ctl_debug_expire();
		ctl_debug_list(req);
		ctl_req_finish(req, 0);
		return;
	}
	if (argc < 2 || argc > 3 || (strcmp(argv[1], "on") != 0 &&
	    strcmp(argv[1], "off") != 0) ||
	    (argc == 3 && strcmp(argv[1], "off") == 0))
		goto usage;
	if (bw_debug_pattern_norm(argv[0], pattern, sizeof(pattern)) == -1) {
		ctl_reply_error(client, 2, "debug: invalid domain '%s' "
		    "(example.org, or *.example.org for its subdomains)",
		    log_escape(e1, sizeof(e1), argv[0], strlen(argv[0])));
		return;
	}
	if (argc == 3 && bw_debug_duration_parse(argv[2], &ms, err,
	    sizeof(err)) == -1) {
		ctl_reply_error(client, 2, "debug: duration '%s': %s",
		    log_escape(e1, sizeof(e1), argv[2], strlen(argv[2])), err);
		return;
	}
	if ((req = ctl_req_new(client, CTL_REQ_DEBUG, json)) == NULL)
		return;
	if (strcmp(argv[1], "on") == 0)
		ctl_debug_on(req, pattern, ms);
	else
		ctl_debug_off(req, pattern);
	return;
usage:
	ctl_reply_error(client, 2, "usage: debug | debug DOMAIN on [DURATION] "
	    "| debug DOMAIN off (DURATION like 30s, 5m, 2h; default 10m, at "
	    "most %lluh)", (unsigned long long)(BW_DEBUG_DURATION_MAX_MS /
	    3600000));
}

/* controld stops: the timer goes (the sanitizers count it). */
void
ctl_debug_free(void)
{
	if (ctl_debug_ev != NULL)
		event_free(ctl_debug_ev);
	ctl_debug_ev = NULL;
	ctl_ndebug = 0;
}
