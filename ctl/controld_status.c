/*
 * `bwctl status`: ask every connected daemon for its STATUS, wait until all
 * have answered or CTL_STATUS_WAIT_MS passed, then list every process that
 * should run (from the config: controld, smtpd, queued, dnscached and
 * deliverd_workers workers) plus any other that answered.  A connected
 * daemon that did not answer in time is "unresponsive", an expected one
 * that is not connected is "down".
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "ctl_json.h"
#include "controld.h"
#include "controld_alert.h"
#include "controld_mon.h"

#define CTL_COUNTERS_TEXT_MAX	2048	/* counters column in the table */

enum ctl_proc_state {
	CTL_PROC_UP,
	CTL_PROC_UNRESPONSIVE,
	CTL_PROC_DOWN,
};

static const char *
ctl_proc_state_name(enum ctl_proc_state s)
{
	switch (s) {
	case CTL_PROC_UP:
		return "up";
	case CTL_PROC_UNRESPONSIVE:
		return "unresponsive";
	case CTL_PROC_DOWN:
		return "down";
	}
	return "?";
}

/* One line of the listing. */
struct ctl_proc {
	char			 name[BW_NAME_MAX];
	enum ctl_proc_state	 state;
	pid_t			 pid;		/* 0: unknown */
	const struct bw_status	*st;		/* NULL unless up */
	int			 rank;		/* sort key */
	long			 worker;
};

/* Sort key: the daemons in start order, then workers by index. */
static void
ctl_proc_rank(struct ctl_proc *p)
{
	static const char *order[] = { "controld", "queued", "dnscached",
	    "smtpd", "deliverd" };
	size_t	 i, n;
	char	*end;

	p->worker = -1;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		n = strlen(order[i]);
		if (strncmp(p->name, order[i], n) != 0)
			continue;
		if (p->name[n] == '\0') {
			p->rank = (int)i;
			return;
		}
		if (p->name[n] == '[') {
			p->worker = strtol(p->name + n + 1, &end, 10);
			p->rank = (int)i;
			return;
		}
	}
	p->rank = 100;
}

static int
ctl_proc_cmp(const void *a, const void *b)
{
	const struct ctl_proc	*x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->worker != y->worker)
		return x->worker < y->worker ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* controld's own row. */
void
ctl_status_self(struct bw_status *st)
{
	struct controld	*env = ctl_env;
	struct ctl_daemon *d;
	uint64_t	 ndaemons = 0;
	static const struct {
		const char	*name;
		size_t		 off;
	} counters[] = {
		{ "requests", offsetof(struct controld, c_requests) },
		{ "requests_failed", offsetof(struct controld,
		    c_requests_failed) },
		{ "requests_timeout", offsetof(struct controld,
		    c_requests_timeout) },
		{ "clients", offsetof(struct controld, c_clients) },
		{ "clients_denied", offsetof(struct controld,
		    c_clients_denied) },
	};
	size_t		 i;

	memset(st, 0, sizeof(*st));
	strlcpy(st->proc, "controld", sizeof(st->proc));
	st->pid = (uint32_t)getpid();
	st->started = env->d.started;
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		strlcpy(st->counters[i].name, counters[i].name,
		    sizeof(st->counters[i].name));
		memcpy(&st->counters[i].value,
		    (const char *)env + counters[i].off, sizeof(uint64_t));
	}
	TAILQ_FOREACH(d, &env->daemons, entry)
		ndaemons++;
	strlcpy(st->counters[i].name, "daemons_connected",
	    sizeof(st->counters[i].name));
	st->counters[i++].value = ndaemons;
	strlcpy(st->counters[i].name, "requests_in_flight",
	    sizeof(st->counters[i].name));
	st->counters[i++].value = env->nreqs;
	strlcpy(st->counters[i].name, "monitor_requests",
	    sizeof(st->counters[i].name));
	strlcpy(st->counters[i + 1].name, "monitor_refused",
	    sizeof(st->counters[i + 1].name));
	mon_http_counters(&st->counters[i].value, &st->counters[i + 1].value);
	i += 2;
	st->ncounters = (uint32_t)i;
	ctl_alert_status(st);
	bw_daemon_status_add(&env->d, st);
}

void
ctl_status_start(struct ctl_req *req)
{
	struct controld		*env = ctl_env;
	struct ctl_daemon	*d;
	size_t			 n = 0;
	uint64_t		 wait;

	TAILQ_FOREACH(d, &env->daemons, entry)
		n++;
	if (n > 0 && (req->asked = calloc(n, sizeof(*req->asked))) == NULL) {
		ctl_req_fail(req, 1, "controld: out of memory");
		return;
	}
	TAILQ_FOREACH(d, &env->daemons, entry) {
		if (!bw_peer_is_up(d->peer) || bw_peer_send(d->peer,
		    BW_IMSG_STATUS_REQ, req->id, -1, NULL, 0) == -1)
			continue;
		req->asked[req->nasked++] = d->peerid;
	}
	wait = (uint64_t)BW_LIMIT(env->d.cfg, LIM_CTL_TIMEOUT);
	if (wait > CTL_STATUS_WAIT_MS)
		wait = CTL_STATUS_WAIT_MS;
	ctl_req_arm(req, wait);
	ctl_status_check_done(req);
}

void
ctl_status_reply(struct ctl_req *req, uint32_t peerid,
    const struct bw_status *st)
{
	struct ctl_status_row	 row;

	memset(&row, 0, sizeof(row));
	row.peerid = peerid;
	row.st = *st;
	if (ctl_rows_add(&req->status, &row) == -1)
		log_warnx("ctl request id=%u: status rows over %d", req->id,
		    CTL_DAEMONS_MAX);
	ctl_status_check_done(req);
}

static const struct ctl_status_row *
ctl_status_answer(const struct ctl_req *req, uint32_t peerid)
{
	const struct ctl_status_row	*rows = req->status.v;
	size_t				 i;

	for (i = 0; i < req->status.n; i++)
		if (rows[i].peerid == peerid)
			return &rows[i];
	return NULL;
}

static struct ctl_daemon *
ctl_status_daemon(uint32_t peerid)
{
	struct ctl_daemon	*d;

	TAILQ_FOREACH(d, &ctl_env->daemons, entry)
		if (d->peerid == peerid)
			return d;
	return NULL;
}

/* Render as soon as every daemon asked has answered or gone. */
void
ctl_status_check_done(struct ctl_req *req)
{
	size_t	 i;

	for (i = 0; i < req->nasked; i++)
		if (ctl_status_answer(req, req->asked[i]) == NULL &&
		    ctl_status_daemon(req->asked[i]) != NULL)
			return;
	ctl_status_render(req);
}

static int
ctl_proc_add(struct ctl_proc *procs, size_t *n, size_t max,
    const char *name, enum ctl_proc_state state, pid_t pid,
    const struct bw_status *st)
{
	struct ctl_proc	*p;

	if (*n >= max)
		return -1;
	p = &procs[(*n)++];
	memset(p, 0, sizeof(*p));
	strlcpy(p->name, name, sizeof(p->name));
	p->state = state;
	p->pid = pid;
	p->st = st;
	ctl_proc_rank(p);
	return 0;
}

static int
ctl_proc_listed(const struct ctl_proc *procs, size_t n, const char *name)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(procs[i].name, name) == 0)
			return 1;
	return 0;
}

/* How many deliverd workers the config asks for. */
static long
ctl_status_workers(void)
{
	long	 n = ctl_env->d.cfg->deliverd_workers;

	if (n <= 0 && (n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	if (n > CTL_DAEMONS_MAX / 2)
		n = CTL_DAEMONS_MAX / 2;
	return n;
}

static void
ctl_status_counters_text(const struct bw_status *st, char *dst, size_t dstsz)
{
	char		 name[BW_NAME_MAX * 4 + 1];
	char		 value[BW_STATUS_INFO_TEXT_MAX * 4 + 1];
	char		 item[sizeof(name) + sizeof(value) + 8];
	const char	*q;
	size_t		 i;

	/* words of state first, where they are seen; quoted when they hold
	 * a space */
	dst[0] = '\0';
	for (i = 0; i < st->ninfo; i++) {
		log_escape(name, sizeof(name), st->info[i].name,
		    strnlen(st->info[i].name, sizeof(st->info[i].name)));
		log_escape(value, sizeof(value), st->info[i].value,
		    strnlen(st->info[i].value, sizeof(st->info[i].value)));
		q = value[0] == '\0' || strchr(value, ' ') != NULL ? "\"" : "";
		snprintf(item, sizeof(item), "%s%s=%s%s%s", dst[0] ? " " : "",
		    name, q, value, q);
		if (strlcat(dst, item, dstsz) >= dstsz)
			return;
	}
	for (i = 0; i < st->ncounters; i++) {
		log_escape(name, sizeof(name), st->counters[i].name,
		    strnlen(st->counters[i].name, sizeof(st->counters[i].name)));
		snprintf(item, sizeof(item), "%s%s=%" PRIu64, dst[0] ? " " : "",
		    name, st->counters[i].value);
		if (strlcat(dst, item, dstsz) >= dstsz)
			return;
	}
}

static void
ctl_status_print(struct ctl_req *req, struct ctl_proc *procs, size_t n)
{
	struct ctl_json	 j;
	char		 age[32], counters[CTL_COUNTERS_TEXT_MAX];
	char		 name[BW_NAME_MAX * 4 + 1];
	int64_t		 now = bw_time();
	size_t		 i, k;

	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_arr_open(&j, "processes");
		for (i = 0; i < n; i++) {
			ctl_json_obj_open(&j, NULL);
			ctl_json_str(&j, "name", procs[i].name);
			ctl_json_str(&j, "state",
			    ctl_proc_state_name(procs[i].state));
			if (procs[i].pid > 0)
				ctl_json_int(&j, "pid", procs[i].pid);
			else
				ctl_json_null(&j, "pid");
			if (procs[i].st != NULL) {
				ctl_json_int(&j, "started",
				    procs[i].st->started);
				ctl_json_int(&j, "uptime",
				    now - procs[i].st->started);
			} else {
				ctl_json_null(&j, "started");
				ctl_json_null(&j, "uptime");
			}
			ctl_json_obj_open(&j, "counters");
			for (k = 0; procs[i].st != NULL &&
			    k < procs[i].st->ncounters; k++)
				ctl_json_uint(&j, procs[i].st->counters[k].name,
				    procs[i].st->counters[k].value);
			ctl_json_obj_close(&j);
			ctl_json_obj_open(&j, "info");
			for (k = 0; procs[i].st != NULL &&
			    k < procs[i].st->ninfo; k++)
				ctl_json_str(&j, procs[i].st->info[k].name,
				    procs[i].st->info[k].value);
			ctl_json_obj_close(&j);
			ctl_json_obj_close(&j);
		}
		ctl_json_arr_close(&j);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
		return;
	}
	evbuffer_add_printf(req->out, "%-14s %-12s %8s %10s  %s\n", "PROCESS",
	    "STATE", "PID", "UPTIME", "COUNTERS");
	for (i = 0; i < n; i++) {
		log_escape(name, sizeof(name), procs[i].name,
		    strlen(procs[i].name));
		counters[0] = '\0';
		strlcpy(age, "-", sizeof(age));
		if (procs[i].st != NULL) {
			ctl_fmt_age(age, sizeof(age),
			    now - procs[i].st->started);
			ctl_status_counters_text(procs[i].st, counters,
			    sizeof(counters));
		}
		if (procs[i].pid > 0)
			evbuffer_add_printf(req->out,
			    "%-14s %-12s %8ld %10s  %s\n", name,
			    ctl_proc_state_name(procs[i].state),
			    (long)procs[i].pid, age, counters);
		else
			evbuffer_add_printf(req->out,
			    "%-14s %-12s %8s %10s  %s\n", name,
			    ctl_proc_state_name(procs[i].state), "-", age,
			    counters);
	}
}

/* Build the listing from what arrived and finish the request. */
void
ctl_status_render(struct ctl_req *req)
{
	static const char *singles[] = { "smtpd", "queued", "dnscached" };
	const struct ctl_status_row	*rows = req->status.v;
	struct ctl_daemon		*d;
	struct ctl_proc			*procs;
	struct bw_status		 self;
	char				 name[BW_NAME_MAX];
	size_t				 n = 0, max, i;
	long				 w, nworkers;

	nworkers = ctl_status_workers();
	max = 1 + req->status.n + CTL_DAEMONS_MAX + 3 + (size_t)nworkers;
	if ((procs = calloc(max, sizeof(*procs))) == NULL) {
		ctl_req_fail(req, 1, "controld: out of memory");
		return;
	}
	ctl_status_self(&self);
	ctl_proc_add(procs, &n, max, self.proc, CTL_PROC_UP, getpid(), &self);
	for (i = 0; i < req->status.n; i++)
		ctl_proc_add(procs, &n, max, rows[i].st.proc, CTL_PROC_UP,
		    (pid_t)rows[i].st.pid, &rows[i].st);
	TAILQ_FOREACH(d, &ctl_env->daemons, entry) {
		if (ctl_status_answer(req, d->peerid) != NULL)
			continue;
		if (d->proc[0] != '\0')
			strlcpy(name, d->proc, sizeof(name));
		else if (d->role == BW_ROLE_DELIVERD)
			snprintf(name, sizeof(name), "deliverd[%u]",
			    d->worker);
		else
			strlcpy(name, bw_role_name(d->role), sizeof(name));
		ctl_proc_add(procs, &n, max, name, CTL_PROC_UNRESPONSIVE,
		    d->pid, NULL);
	}
	for (i = 0; i < sizeof(singles) / sizeof(singles[0]); i++)
		if (!ctl_proc_listed(procs, n, singles[i]))
			ctl_proc_add(procs, &n, max, singles[i], CTL_PROC_DOWN,
			    0, NULL);
	for (w = 0; w < nworkers; w++) {
		snprintf(name, sizeof(name), "deliverd[%ld]", w);
		if (!ctl_proc_listed(procs, n, name))
			ctl_proc_add(procs, &n, max, name, CTL_PROC_DOWN, 0,
			    NULL);
	}
	qsort(procs, n, sizeof(*procs), ctl_proc_cmp);
	ctl_status_print(req, procs, n);
	free(procs);
	ctl_req_finish(req, 0);
}
