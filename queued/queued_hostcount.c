/*
 * The per-host counters' owner (issue 11): queued keeps the one table
 * (common/hostcount.c) that every smtpd asks, so that several smtpd
 * processes see the same counts and the counts outlive an smtpd restart.
 * HOSTCOUNT_TAKE is answered with HOSTCOUNT_REPLY at once (the table is in
 * memory); HOSTCOUNT_RELEASE ends one connection.  A connection belongs to
 * the smtpd link it was taken on (its peer id): when that link closes,
 * every connection it held is released, so a dead smtpd leaves no count
 * behind.  A timer forgets idle hosts; bwctl show senders lists the top
 * hosts (HOSTCOUNT_LIST_REQ from controld).
 *
 * Trust: smtpd may be compromised.  The catalog checked each frame's size
 * and sender; the table refuses a bad family, kind, n, limit or window,
 * and such a frame drops that smtpd link like any other malformed frame.
 * What a hostile smtpd can do is bounded by host_counters_max_entries: it
 * can push quiet hosts out of the table, never grow it or stop mail.
 * Times are wall-clock milliseconds, so that a reopen time can be told to
 * a client.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostcount.h"
#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"

#define QHOST_SWEEP_MAX_MS	(60 * 1000)	/* longest time between sweeps */
#define QHOST_SWEEP_MIN_MS	200		/* shortest */
#define QHOST_EXPIRE_STEP	10000	/* hosts looked at per sweep turn */

static struct bw_hostcount	*qhost_tab;
static struct event		*qhost_ev;
static struct event		*qhost_ev_more;	/* a sweep's next step */

static uint64_t
qhost_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return (uint64_t)bw_time() * 1000;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
qhost_sweep_step(void)
{
	size_t	 n;

	n = bw_hostcount_expire(qhost_tab, qhost_now(), QHOST_EXPIRE_STEP);
	if (n > 0)
		log_debug("hostcount: %zu hosts forgotten", n);
	/* many went at once: more may be due, in the next loop turn */
	if (n >= QHOST_EXPIRE_STEP / 2)
		event_active(qhost_ev_more, EV_TIMEOUT, 0);
}

static void
qhost_sweep_cb(evutil_socket_t fd, short ev, void *arg)
{
	qhost_sweep_step();
}

static void
qhost_timer_arm(long long idle_ms)
{
	long long	 every = idle_ms / 2;
	struct timeval	 tv;

	if (every > QHOST_SWEEP_MAX_MS)
		every = QHOST_SWEEP_MAX_MS;
	if (every < QHOST_SWEEP_MIN_MS)
		every = QHOST_SWEEP_MIN_MS;
	tv.tv_sec = (time_t)(every / 1000);
	tv.tv_usec = (suseconds_t)(every % 1000) * 1000;
	if (event_add(qhost_ev, &tv) == -1)
		fatalx("hostcount: cannot arm the expiry timer");
}

void
qhost_init(struct event_base *base, const struct bw_config *cfg)
{
	long long	 idle = BW_LIMIT(cfg, LIM_HOST_COUNTERS_IDLE_EXPIRE);

	if ((qhost_tab = bw_hostcount_new((size_t)BW_LIMIT(cfg,
	    LIM_HOST_COUNTERS_MAX_ENTRIES), (uint64_t)idle)) == NULL)
		fatal("hostcount: table");
	if ((qhost_ev = event_new(base, -1, EV_PERSIST, qhost_sweep_cb,
	    NULL)) == NULL || (qhost_ev_more = event_new(base, -1, 0,
	    qhost_sweep_cb, NULL)) == NULL)
		fatalx("hostcount: cannot create the expiry timer");
	qhost_timer_arm(idle);
}

/* A reload: the new bounds; a lower maximum is reached by the sweeps. */
void
qhost_reload(const struct bw_config *cfg)
{
	long long	 idle = BW_LIMIT(cfg, LIM_HOST_COUNTERS_IDLE_EXPIRE);

	bw_hostcount_set_bounds(qhost_tab, (size_t)BW_LIMIT(cfg,
	    LIM_HOST_COUNTERS_MAX_ENTRIES), (uint64_t)idle);
	qhost_timer_arm(idle);
	event_active(qhost_ev_more, EV_TIMEOUT, 0);
}

void
qhost_shutdown(void)
{
	if (qhost_ev != NULL)
		event_free(qhost_ev);
	if (qhost_ev_more != NULL)
		event_free(qhost_ev_more);
	qhost_ev = qhost_ev_more = NULL;
	bw_hostcount_free(qhost_tab);
	qhost_tab = NULL;
}

/* A label from the wire: NULL when empty (queued keeps what it has). */
static const char *
qhost_label(char *dst, size_t dstsz, const char *field, size_t fieldsz)
{
	bw_imsg_str(dst, dstsz, field, fieldsz);
	return dst[0] != '\0' ? dst : NULL;
}

static void
qhost_reply(struct bw_peer *peer, const struct bw_hostcount_take *tk,
    const struct bw_hc_result *res)
{
	struct bw_hostcount_reply	 r;

	memset(&r, 0, sizeof(r));
	r.reqid = tk->reqid;
	r.granted = res->granted ? 1 : 0;
	r.kind = tk->kind;
	r.count = res->count;
	r.reopen_at = (int64_t)res->reopen_at;
	if (bw_peer_send(peer, BW_IMSG_HOSTCOUNT_REPLY, 0, -1, &r,
	    sizeof(r)) == -1)
		log_warn("hostcount: cannot send HOSTCOUNT_REPLY");
}

/* HOSTCOUNT_TAKE from an smtpd: counted at once, answered at once. */
void
qhost_take(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct bw_hostcount_take	 tk;
	struct bw_hc_addr		 a;
	struct bw_hc_labels		 l;
	struct bw_hc_result		 res;
	char				 group[BW_NAME_MAX];
	char				 policy[BW_NAME_MAX];
	char				 score[BW_SCORE_TEXT_MAX];
	char				 text[BW_HOSTADDR_MAX];

	memcpy(&tk, imsg->data, sizeof(tk));
	l.group = qhost_label(group, sizeof(group), tk.group,
	    sizeof(tk.group));
	l.policy = qhost_label(policy, sizeof(policy), tk.policy,
	    sizeof(tk.policy));
	l.score = qhost_label(score, sizeof(score), tk.score,
	    sizeof(tk.score));
	if (bw_hc_addr_set(&a, tk.family, tk.addr) == -1 || tk.limit < 0 ||
	    tk.window_ms < 0 || bw_hostcount_take(qhost_tab, &a, (int)tk.kind,
	    tk.n, (uint64_t)tk.limit, (uint64_t)tk.window_ms,
	    bw_peer_id(peer), &l, qhost_now(), &res) == -1) {
		q_env->c_peers_dropped++;
		log_warnx("hostcount: bad HOSTCOUNT_TAKE from smtpd pid=%ld "
		    "(family=%u kind=%u n=%u limit=%" PRId64 " window=%" PRId64
		    ")", (long)bw_peer_pid(peer), tk.family, tk.kind, tk.n,
		    tk.limit, tk.window_ms);
		bw_peer_drop(peer, "malformed HOSTCOUNT_TAKE");
		return;
	}
	if (!res.granted)
		log_debug("hostcount: %s %s refused count=%" PRIu64
		    " limit=%" PRId64, bw_hc_addr_text(&a, text, sizeof(text)),
		    bw_hc_kind_name((int)tk.kind), res.count, tk.limit);
	if (!(tk.flags & BW_HOSTCOUNT_F_NOREPLY))
		qhost_reply(peer, &tk, &res);
}

/* HOSTCOUNT_RELEASE: one connection of this smtpd link ends. */
void
qhost_release(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct bw_hostcount_release	 rl;
	struct bw_hc_addr		 a;
	char				 text[BW_HOSTADDR_MAX];

	memcpy(&rl, imsg->data, sizeof(rl));
	if (bw_hc_addr_set(&a, rl.family, rl.addr) == -1 ||
	    rl.kind != BW_HC_CONN) {
		q_env->c_peers_dropped++;
		log_warnx("hostcount: bad HOSTCOUNT_RELEASE from smtpd pid=%ld "
		    "(family=%u kind=%u)", (long)bw_peer_pid(peer), rl.family,
		    rl.kind);
		bw_peer_drop(peer, "malformed HOSTCOUNT_RELEASE");
		return;
	}
	/* a connection taken when the table was full was never counted */
	if (bw_hostcount_release(qhost_tab, &a, BW_HC_CONN, bw_peer_id(peer),
	    qhost_now()) == -1)
		log_debug("hostcount: release of %s: no connection of this "
		    "smtpd counted", bw_hc_addr_text(&a, text, sizeof(text)));
}

/* An smtpd link closed: every connection it held ends. */
void
qhost_owner_gone(struct bw_peer *peer)
{
	uint64_t	 n;

	if (qhost_tab == NULL)
		return;
	n = bw_hostcount_owner_gone(qhost_tab, bw_peer_id(peer), qhost_now());
	if (n > 0)
		log_info("hostcount: smtpd pid=%ld gone, %" PRIu64
		    " connections released", (long)bw_peer_pid(peer), n);
}

/* bwctl show senders: the top hosts, then the end. */
void
qhost_list(struct bw_peer *peer, uint32_t reqid, struct bw_imsg *imsg)
{
	struct bw_hostcount_list_req	 req;
	struct bw_hostcount_entry	 e;
	struct bw_hostcount_end		 end;
	struct bw_hc_stats		 st;
	struct bw_hc_row		*rows;
	size_t				 n, i, want;

	memcpy(&req, imsg->data, sizeof(req));
	want = req.limit == 0 || req.limit > QUEUED_SENDERS_MAX ?
	    QUEUED_SENDERS_MAX : req.limit;
	memset(&end, 0, sizeof(end));
	if ((rows = calloc(want, sizeof(*rows))) == NULL) {
		log_warn("hostcount: listing");
		n = 0;
	} else
		n = bw_hostcount_top(qhost_tab, qhost_now(), rows, want);
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		bw_hc_addr_text(&rows[i].addr, e.addr, sizeof(e.addr));
		e.conns = rows[i].conns;
		e.total_conns = rows[i].total_conns;
		e.total_msgs = rows[i].total_msgs;
		e.total_rcpts = rows[i].total_rcpts;
		e.win_msgs = rows[i].win_msgs;
		e.win_rcpts = rows[i].win_rcpts;
		e.refused = rows[i].refused;
		e.last_seen = (int64_t)rows[i].last_seen;
		strlcpy(e.group, rows[i].group, sizeof(e.group));
		strlcpy(e.policy, rows[i].policy, sizeof(e.policy));
		strlcpy(e.score, rows[i].score, sizeof(e.score));
		if (bw_peer_send(peer, BW_IMSG_HOSTCOUNT_ENTRY, reqid, -1, &e,
		    sizeof(e)) == -1)
			log_warn("hostcount: cannot send HOSTCOUNT_ENTRY");
	}
	free(rows);
	bw_hostcount_stats(qhost_tab, &st);
	end.hosts = st.hosts;
	end.overflow = st.overflow;
	end.rows = (uint32_t)n;
	if (bw_peer_send(peer, BW_IMSG_HOSTCOUNT_END, reqid, -1, &end,
	    sizeof(end)) == -1)
		log_warn("hostcount: cannot send HOSTCOUNT_END");
}

/* bwctl status: the table's counters. */
void
qhost_status(struct bw_status *st)
{
	struct bw_hc_stats	 s;

	memset(&s, 0, sizeof(s));
	if (qhost_tab != NULL)
		bw_hostcount_stats(qhost_tab, &s);
	bw_status_add(st, "hostcount_hosts", s.hosts);
	bw_status_add(st, "hosts_connected", s.connected);
	bw_status_add(st, "hostcount_takes", s.takes);
	bw_status_add(st, "hostcount_refusals", s.refusals);
	bw_status_add(st, "hostcount_overflow", s.overflow);
	bw_status_add(st, "hostcount_evicted", s.evicted);
	bw_status_add(st, "hostcount_expired", s.expired);
}
