/*
 * `bwctl status`: ask every connected daemon for its STATUS, wait until all
 * have answered or CTL_STATUS_WAIT_MS passed, then list every process that
 * should run (from the config: controld, queued, dnscached,
 * smtpd_workers smtpd workers and deliverd_workers deliverd workers) plus any other that answered.  A connected
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
#include "super.h"
#include "util.h"
#include "controld.h"
#include "controld_alert.h"
#include "controld_mon.h"


/* One status answer and who gave it. */
struct ctl_status_row {
	uint32_t		 peerid;
	struct bw_status	 st;
};

/* The request's own state. */
struct ctl_status_priv {
	uint32_t		*asked;		/* daemon peer ids asked */
	size_t			 nasked;
	struct ctl_rows		 rows;		/* struct ctl_status_row */
};

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

/*
 * A STATUS payload made whole: the counters array may be sent only as far
 * as it is used; counts are bounded and strings terminated.  -1 (the
 * peer dropped) when it is too short to be one.
 */
int
ctl_status_parse(struct bw_peer *peer, const struct bw_imsg *imsg,
    struct bw_status *st)
{
	size_t	 len, fixed, i;

	memset(st, 0, sizeof(*st));
	len = imsg->datalen < sizeof(*st) ? imsg->datalen : sizeof(*st);
	memcpy(st, imsg->data, len);
	fixed = offsetof(struct bw_status, counters);
	if (len < fixed) {
		bw_peer_drop(peer, "short STATUS");
		return -1;
	}
	if (st->ncounters > (len - fixed) / sizeof(st->counters[0]))
		st->ncounters = (len - fixed) / sizeof(st->counters[0]);
	fixed = offsetof(struct bw_status, info);
	if (len < fixed)
		st->ninfo = 0;
	else if (st->ninfo > (len - fixed) / sizeof(st->info[0]))
		st->ninfo = (len - fixed) / sizeof(st->info[0]);
	if (st->ninfo > BW_STATUS_INFO_MAX)
		st->ninfo = BW_STATUS_INFO_MAX;
	for (i = 0; i < st->ncounters; i++)
		st->counters[i].name[sizeof(st->counters[i].name) - 1] = '\0';
	for (i = 0; i < st->ninfo; i++) {
		st->info[i].name[sizeof(st->info[i].name) - 1] = '\0';
		st->info[i].value[sizeof(st->info[i].value) - 1] = '\0';
	}
	st->proc[sizeof(st->proc) - 1] = '\0';
	return 0;
}

static void	ctl_status_check_done(struct ctl_req *);

static void
ctl_status_start(struct ctl_req *req)
{
	struct controld		*env = ctl_env;
	struct ctl_status_priv	*p = req->priv;
	struct ctl_daemon	*d;
	size_t			 n = 0;
	uint64_t		 wait;

	ctl_rows_init(&p->rows, sizeof(struct ctl_status_row),
	    CTL_DAEMONS_MAX);
	TAILQ_FOREACH(d, &env->daemons, entry)
		n++;
	if (n > 0 && (p->asked = calloc(n, sizeof(*p->asked))) == NULL) {
		ctl_req_fail(req, 1, "controld: out of memory");
		return;
	}
	TAILQ_FOREACH(d, &env->daemons, entry) {
		if (!bw_peer_is_up(d->peer) || bw_peer_send(d->peer,
		    BW_IMSG_STATUS_REQ, req->id, -1, NULL, 0) == -1)
			continue;
		p->asked[p->nasked++] = d->peerid;
	}
	wait = (uint64_t)BW_LIMIT(env->d.cfg, LIM_CTL_TIMEOUT);
	if (wait > CTL_STATUS_WAIT_MS)
		wait = CTL_STATUS_WAIT_MS;
	ctl_req_arm(req, wait);
	ctl_status_check_done(req);
}

/* A daemon's STATUS (made whole by ctl_status_parse). */
static void
ctl_status_msg(struct ctl_req *req, struct bw_peer *peer,
    struct bw_imsg *imsg)
{
	struct ctl_status_priv	*p = req->priv;
	struct ctl_status_row	 row;

	if (imsg->hdr.type != BW_IMSG_STATUS)
		return;
	memset(&row, 0, sizeof(row));
	row.peerid = bw_peer_id(peer);
	memcpy(&row.st, imsg->data, sizeof(row.st));
	if (ctl_rows_add(&p->rows, &row) == -1)
		log_warnx("ctl request id=%u: status rows over %d", req->id,
		    CTL_DAEMONS_MAX);
	ctl_status_check_done(req);
}

static const struct ctl_status_row *
ctl_status_answer(const struct ctl_status_priv *p, uint32_t peerid)
{
	const struct ctl_status_row	*rows = p->rows.v;
	size_t				 i;

	for (i = 0; i < p->rows.n; i++)
		if (rows[i].peerid == peerid)
			return &rows[i];
	return NULL;
}

/* Render as soon as every daemon asked has answered or gone. */
static void
ctl_status_check_done(struct ctl_req *req)
{
	struct ctl_status_priv	*p = req->priv;
	size_t			 i;

	for (i = 0; i < p->nasked; i++)
		if (ctl_status_answer(p, p->asked[i]) == NULL &&
		    ctl_daemon_find_id(p->asked[i]) != NULL)
			return;
	ctl_req_done(req);
}

/* The collection window closed: what arrived is the answer. */
static void
ctl_status_timeout(struct ctl_req *req)
{
	ctl_req_done(req);
}

static void
ctl_status_gone(struct ctl_req *req, int role)
{
	ctl_status_check_done(req);
}

static void
ctl_status_free(void *arg)
{
	struct ctl_status_priv	*p = arg;

	free(p->asked);
	ctl_rows_free(&p->rows);
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

/* How many workers the config asks for (deliverd_workers or
 * smtpd_workers, as the daemons count them). */
static long
ctl_status_workers(int configured)
{
	long	 n = bw_super_count(configured);

	if (n > CTL_DAEMONS_MAX / 4)
		n = CTL_DAEMONS_MAX / 4;
	return n;
}

static const struct ctl_col ctl_status_cols[] = {
	{ "name", "PROCESS", CTL_T_STR, CTL_COL_BOTH | CTL_COL_LABEL, 14,
	    NULL },
	{ "state", "STATE", CTL_T_STR, CTL_COL_BOTH | CTL_COL_GAP1 |
	    CTL_COL_LABEL, 12, NULL },
	{ "pid", "PID", CTL_T_INT, CTL_COL_BOTH | CTL_COL_RIGHT | CTL_COL_GAP1,
	    8, NULL },
	{ "started", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "uptime", "UPTIME", CTL_T_AGE, CTL_COL_BOTH | CTL_COL_RIGHT |
	    CTL_COL_GAP1 | CTL_COL_GAUGE, 10, NULL },
	{ "counters", NULL, CTL_T_KV, CTL_COL_DATA | CTL_COL_COUNTER, 0,
	    NULL },
	{ "info", NULL, CTL_T_KV, CTL_COL_DATA, 0, NULL },
	/* text: words of state first, then the counters */
	{ "counters_text", "COUNTERS", CTL_T_KV, CTL_COL_TEXT, 0, NULL },
};
static const struct ctl_table ctl_status_table = { "processes",
    ctl_status_cols, CTL_NCOLS(ctl_status_cols), "process" };

static void
ctl_status_print(struct ctl_out *o, struct ctl_proc *procs, size_t n)
{
	const struct bw_status	*st;
	int64_t			 now = bw_time();
	size_t			 i, k;

	ctl_out_obj_open(o, NULL);
	ctl_out_table_open(o, &ctl_status_table);
	for (i = 0; i < n; i++) {
		st = procs[i].st;
		ctl_out_row_open(o);
		ctl_out_str(o, "name", procs[i].name);
		ctl_out_str(o, "state", ctl_proc_state_name(procs[i].state));
		if (procs[i].pid > 0)
			ctl_out_int(o, "pid", procs[i].pid);
		else
			ctl_out_null(o, "pid");
		if (st != NULL) {
			ctl_out_int(o, "started", st->started);
			ctl_out_int(o, "uptime", now - st->started);
		} else {
			ctl_out_null(o, "started");
			ctl_out_null(o, "uptime");
		}
		ctl_out_obj_open(o, "counters");
		for (k = 0; st != NULL && k < st->ncounters; k++)
			ctl_out_uint(o, st->counters[k].name,
			    st->counters[k].value);
		ctl_out_obj_close(o);
		ctl_out_obj_open(o, "info");
		for (k = 0; st != NULL && k < st->ninfo; k++)
			ctl_out_str(o, st->info[k].name, st->info[k].value);
		ctl_out_obj_close(o);
		ctl_out_obj_open(o, "counters_text");
		for (k = 0; st != NULL && k < st->ninfo; k++)
			ctl_out_str(o, st->info[k].name, st->info[k].value);
		for (k = 0; st != NULL && k < st->ncounters; k++)
			ctl_out_uint(o, st->counters[k].name,
			    st->counters[k].value);
		ctl_out_obj_close(o);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	ctl_out_obj_close(o);
}

/* Build the listing from what arrived. */
static int
ctl_status_render(struct ctl_req *req, struct ctl_out *o)
{
	static const char *singles[] = { "queued", "dnscached" };
	struct ctl_status_priv		*p = req->priv;
	const struct ctl_status_row	*rows = p->rows.v;
	struct ctl_daemon		*d;
	struct ctl_proc			*procs;
	struct bw_status		 self;
	char				 name[BW_NAME_MAX];
	size_t				 n = 0, max, i;
	long				 w, ndlv, nsmtpd;

	ndlv = ctl_status_workers(ctl_env->d.cfg->deliverd_workers);
	nsmtpd = ctl_status_workers(ctl_env->d.cfg->smtpd_workers);
	max = 1 + p->rows.n + CTL_DAEMONS_MAX + 3 + (size_t)(ndlv + nsmtpd);
	if ((procs = calloc(max, sizeof(*procs))) == NULL) {
		ctl_out_note(o, "controld: out of memory");
		return 1;
	}
	ctl_status_self(&self);
	ctl_proc_add(procs, &n, max, self.proc, CTL_PROC_UP, getpid(), &self);
	for (i = 0; i < p->rows.n; i++)
		ctl_proc_add(procs, &n, max, rows[i].st.proc, CTL_PROC_UP,
		    (pid_t)rows[i].st.pid, &rows[i].st);
	TAILQ_FOREACH(d, &ctl_env->daemons, entry) {
		if (ctl_status_answer(p, d->peerid) != NULL)
			continue;
		if (d->proc[0] != '\0')
			strlcpy(name, d->proc, sizeof(name));
		else if (d->role == BW_ROLE_DELIVERD ||
		    d->role == BW_ROLE_SMTPD)
			snprintf(name, sizeof(name), "%s[%u]",
			    bw_role_name(d->role), d->worker);
		else
			strlcpy(name, bw_role_name(d->role), sizeof(name));
		ctl_proc_add(procs, &n, max, name, CTL_PROC_UNRESPONSIVE,
		    d->pid, NULL);
	}
	for (i = 0; i < sizeof(singles) / sizeof(singles[0]); i++)
		if (!ctl_proc_listed(procs, n, singles[i]))
			ctl_proc_add(procs, &n, max, singles[i], CTL_PROC_DOWN,
			    0, NULL);
	for (w = 0; w < nsmtpd + ndlv; w++) {
		if (w < nsmtpd)
			snprintf(name, sizeof(name), "smtpd[%ld]", w);
		else
			snprintf(name, sizeof(name), "deliverd[%ld]",
			    w - nsmtpd);
		if (!ctl_proc_listed(procs, n, name))
			ctl_proc_add(procs, &n, max, name, CTL_PROC_DOWN, 0,
			    NULL);
	}
	qsort(procs, n, sizeof(*procs), ctl_proc_cmp);
	ctl_status_print(o, procs, n);
	free(procs);
	return 0;
}

const struct ctl_cmd_ops ctl_status_ops = {
	.privsz = sizeof(struct ctl_status_priv),
	.start = ctl_status_start,
	.on_imsg = ctl_status_msg,
	.render = ctl_status_render,
	.timeout = ctl_status_timeout,
	.daemon_gone = ctl_status_gone,
	.free = ctl_status_free,
};
