/*
 * Delivery agents: one per (gateway, domain) that this worker serves
 * (queued sends every job of a (gateway, domain) to the same worker).  An
 * agent holds the domain's resolved hosts, its waiting jobs and its pool
 * of SMTP connections, and its counters for bwctl show domain.
 *
 * Jobs wait in the agent until a connection is ready (greeted, EHLO done,
 * TLS done); then an idle connection takes the next job.  A new connection
 * is opened only while more jobs wait than connections are being set up,
 * at most DLV_SETUP_MAX being set up at once (the pool grows step by step
 * while jobs wait), within the agent's Good Neighbor limit (adapted to how
 * the destination answers, deliverd_neighbor.c; never above
 * deliver_max_connections_per_domain of the agent's set, its destination
 * block's, else the global one).  A connection that frees while the agent
 * holds more than the limit QUITs.
 *
 * A host that refuses, times out or greets with 4xx/5xx is marked down for
 * DLV_HOST_DOWN_MS and the next one is tried (same preference first, then
 * the next) -- unless other connections to it work: then it refused one
 * more connection, not us, and Good Neighbor's limit comes down to the
 * connections that work.  When no
 * host is usable and no connection is left, every waiting job is answered
 * with a temporary failure and DLV_DONE{unreachable}: queued parks the
 * domain.  A probe job (BW_DLVF_PROBE) clears the down marks first.
 *
 * A probe that arrives in a Good Neighbor pause (deliverd_neighbor.c: a
 * destination that refused every new connection) waits in the agent until
 * that pause ends, then connects: queued counts each probe as one of the
 * domain's retries (and bounces by their number), so a probe answered
 * without a connection would spend a retry on nothing.  A pause that the
 * probe's own connection started does not hold it: it is answered at
 * once, and queued's next retry is due one profile interval from then.
 * While a probe waits, other jobs wait with it.  An operator's retry (`bwctl
 * retry D`: DLV_RETRY from queued, before the retry's jobs) ends the
 * pause and the hosts' down marks, and runs the agent.
 *
 * A host list that leads back to this gateway (deliverd_mx.c): every
 * waiting job bounces with 5.4.6 at once (dlv_agent_loop), one log line
 * per message.
 *
 * An agent without jobs or connections is freed after
 * DLV_AGENT_IDLE_FREE_MS (checked every DLV_AGENT_GC_MS).
 */
#include "bw_autoconf.h"

#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "deliverd.h"
#include "deliverd_dane.h"

static struct dlv_agent_head	 dlv_agents[DLV_AGENT_BUCKETS];

/* gateway and domain with their NULs: "a" + "bc" is not "ab" + "c" */
static unsigned
dlv_agent_hash(const char *gateway, const char *domain)
{
	uint32_t	 h;

	h = bw_fnv1a(BW_FNV1A_INIT, gateway, strlen(gateway) + 1);
	return bw_fnv1a(h, domain, strlen(domain)) % DLV_AGENT_BUCKETS;
}

struct dlv_agent *
dlv_agent_find(const char *gateway, const char *domain)
{
	struct dlv_agent	*a;

	LIST_FOREACH(a, &dlv_agents[dlv_agent_hash(gateway, domain)], hentry)
		if (strcmp(a->domain, domain) == 0 &&
		    strcmp(a->gateway, gateway) == 0)
			return a;
	return NULL;
}

static struct dlv_agent *
dlv_agent_new(const char *gateway, const char *domain)
{
	struct dlv_agent	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->mx_timer = evtimer_new(dlv_env->base, dlv_mx_timeout_cb,
	    a)) == NULL) {
		free(a);
		return NULL;
	}
	if (dlv_pace_init(a) == -1) {
		event_free(a->mx_timer);
		free(a);
		return NULL;
	}
	strlcpy(a->gateway, gateway, sizeof(a->gateway));
	strlcpy(a->domain, domain, sizeof(a->domain));
	a->self_pref = -1;
	a->lim = config_limits_for_destination(dlv_env->cfg, gateway,
	    domain);
	a->gw = config_gateway_find(dlv_env->cfg, gateway);
	if (a->gw == NULL)
		log_warnx("domain=%s: gateway %s is not configured, using no "
		    "source address", domain, gateway);
	dlv_nbh_init(a);
	TAILQ_INIT(&a->jobs);
	TAILQ_INIT(&a->conns);
	a->last_used = bw_now_ms();
	LIST_INSERT_HEAD(&dlv_agents[dlv_agent_hash(gateway, domain)], a,
	    hentry);
	dlv_env->c_agents++;
	return a;
}

static void
dlv_agent_free(struct dlv_agent *a)
{
	LIST_REMOVE(a, hentry);
	event_free(a->mx_timer);
	dlv_pace_free(a);
	dlv_dane_free(a);
	free(a);
	dlv_env->c_agents--;
}

/* A probe or an operator's retry: every host may be tried again. */
static void
dlv_agent_hosts_up(struct dlv_agent *a)
{
	int	 i;

	for (i = 0; i < a->nhosts; i++)
		a->hosts[i].down_until = 0;
}

/* A complete job from queued. */
void
dlv_agent_job_add(struct dlv_job *j)
{
	struct dlv_agent	*a;

	if ((a = dlv_agent_find(j->gateway, j->domain)) == NULL &&
	    (a = dlv_agent_new(j->gateway, j->domain)) == NULL) {
		log_warn("%s domain=%s: agent", j->qid, j->domain);
		dlv_job_set_rest(j, BW_DLV_TEMPFAIL, "4.3.0",
		    "delivery agent unavailable (out of memory)");
		dlv_job_finish(j, 0, "out of memory");
		return;
	}
	a->last_used = bw_now_ms();
	if (j->flags & BW_DLVF_PROBE) {
		dlv_agent_hosts_up(a);
		if (dlv_nb_paused(&a->nb, a->last_used))
			j->pause_wait = a->nb.pause_until;
	}
	TAILQ_INSERT_TAIL(&a->jobs, j, entry);
	a->njobs++;
	if (a->mx_state == DLV_MX_RESOLVING)
		return;
	/* Hosts are re-resolved only when no connection refers to them. */
	if (a->mx_state == DLV_MX_NONE ||
	    (a->nconns == 0 && bw_now_ms() >= a->mx_expires)) {
		dlv_mx_resolve(a);
		return;
	}
	dlv_agent_run(a);
}

/* bwctl retry D: the operator knows better than our pause and down marks. */
void
dlv_agent_retry(const struct bw_dlv_retry *r)
{
	struct dlv_agent	*a;
	char			 gateway[BW_NAME_MAX];
	char			 domain[BW_DOMAIN_MAX + 1];

	BW_IMSG_STR(gateway, r->gateway);
	BW_IMSG_STR(domain, r->domain);
	if ((a = dlv_agent_find(gateway, domain)) == NULL)
		return;		/* nothing held here: queued's jobs follow */
	dlv_agent_hosts_up(a);
	if (dlv_nb_paused(&a->nb, bw_now_ms())) {
		log_info("domain=%s gateway=%s: retry requested, Good Neighbor "
		    "pause ended", a->domain, a->gateway);
		dlv_nb_pause_end(&a->nb);
	}
	dlv_agent_run(a);
}

/* Resolution ended: run the jobs, or fail them all with its result. */
void
dlv_agent_resolved(struct dlv_agent *a, int status, const char *dsn,
    const char *reason)
{
	struct dlv_job	*j;

	evtimer_del(a->mx_timer);
	if (status == 0) {
		a->mx_state = DLV_MX_READY;
		dlv_agent_run(a);
		return;
	}
	a->mx_state = DLV_MX_NONE;
	a->nhosts = a->nconns > 0 ? a->nhosts : 0;
	a->self_pref = -1;
	while ((j = TAILQ_FIRST(&a->jobs)) != NULL) {
		TAILQ_REMOVE(&a->jobs, j, entry);
		a->njobs--;
		j->relay[0] = '\0';
		dlv_job_set_rest(j, status, dsn, reason);
		dlv_job_finish(j, 0, reason);
	}
}

/* Why the domain is unreachable, from its hosts' last errors. */
static void
dlv_agent_reason(struct dlv_agent *a, char *dst, size_t dstsz)
{
	int	 i;
	char	 one[BW_REPLY_TEXT_MAX];

	dst[0] = '\0';
	for (i = 0; i < a->nhosts; i++) {
		snprintf(one, sizeof(one), "%s%s: %s", i ? "; " : "",
		    a->hosts[i].name, a->hosts[i].last_error[0] ?
		    a->hosts[i].last_error : "no address");
		strlcat(dst, one, dstsz);
	}
	if (dst[0] == '\0')
		strlcpy(dst, "no usable mail exchanger", dstsz);
}

/*
 * No connection and Good Neighbor paused: with a probe among the jobs that
 * arrived in this pause, run the agent again when the pause ends and
 * answer nothing now (see the top of this file).  1 if the jobs wait.  The
 * pacing timer is the agent's one wake-up: pacing has nothing to pace
 * without a connection.
 */
static int
dlv_agent_pause_wait(struct dlv_agent *a)
{
	struct dlv_job	*j;
	struct timeval	 tv;
	uint64_t	 now = bw_now_ms(), left;

	if (!dlv_nb_paused(&a->nb, now))
		return 0;
	TAILQ_FOREACH(j, &a->jobs, entry)
		if ((j->flags & BW_DLVF_PROBE) && j->pause_wait > now)
			break;
	if (j == NULL)
		return 0;
	left = (j->pause_wait < a->nb.pause_until ? j->pause_wait :
	    a->nb.pause_until) - now;
	if (!evtimer_pending(a->pace_timer, NULL))
		log_info("%s domain=%s gateway=%s: probe waits %llu ms for "
		    "the Good Neighbor pause", j->qid, a->domain, a->gateway,
		    (unsigned long long)left);
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	evtimer_add(a->pace_timer, &tv);
	return 1;
}

/* Every host failed and no connection is left: answer every job. */
static void
dlv_agent_unreachable(struct dlv_agent *a)
{
	struct dlv_job	*j;
	char		 reason[BW_REPLY_TEXT_MAX], reply[BW_REPLY_TEXT_MAX];

	const char	*tlsdsn = dlv_tls_unreachable_dsn(a);

	dlv_agent_reason(a, reason, sizeof(reason));
	snprintf(reply, sizeof(reply), "%s: %s", tlsdsn != NULL ?
	    "TLS policy not met" : "domain unreachable", reason);
	while ((j = TAILQ_FIRST(&a->jobs)) != NULL) {
		TAILQ_REMOVE(&a->jobs, j, entry);
		a->njobs--;
		dlv_job_set_rest(j, BW_DLV_TEMPFAIL, tlsdsn != NULL ? tlsdsn :
		    "4.4.1", reply);
		dlv_job_finish(j, 1, reason);
	}
}

void
dlv_agent_loop(struct dlv_agent *a)
{
	struct dlv_job	*j;
	char		 reply[BW_REPLY_TEXT_MAX], relay[BW_RELAY_TEXT_MAX * 4];

	snprintf(reply, sizeof(reply), "mail for %s loops back to myself",
	    a->domain);
	log_escape(relay, sizeof(relay), a->self_relay, strlen(a->self_relay));
	while ((j = TAILQ_FIRST(&a->jobs)) != NULL) {
		TAILQ_REMOVE(&a->jobs, j, entry);
		a->njobs--;
		strlcpy(j->relay, a->self_relay, sizeof(j->relay));
		log_warnx("%s domain=%s gateway=%s relay=%s: %s", j->qid,
		    a->domain, a->gateway, relay, reply);
		dlv_job_set_rest(j, BW_DLV_PERMFAIL, "5.4.6", reply);
		dlv_job_finish(j, 0, reply);
	}
}

/* Give waiting jobs to idle connections; open more while jobs wait. */
void
dlv_agent_run(struct dlv_agent *a)
{
	struct dlv_conn	*c, *tc;
	struct dlv_job	*j;
	int		 h;

	if (a->mx_state != DLV_MX_READY)
		return;
	if (dlv_mx_loops(a)) {
		dlv_agent_loop(a);
		return;
	}
	TAILQ_FOREACH_SAFE(c, &a->conns, entry, tc) {
		if (TAILQ_EMPTY(&a->jobs))
			break;
		/* a host found to be us (or worse) since: let it idle out */
		if (!dlv_smtp_is_idle(c) || a->hosts[dlv_smtp_host(c)].self)
			continue;
		if (!dlv_pace_take(a))
			break;		/* messages per minute: later */
		j = TAILQ_FIRST(&a->jobs);
		TAILQ_REMOVE(&a->jobs, j, entry);
		a->njobs--;
		dlv_smtp_job_start(c, j);
	}
	while (a->njobs > a->nsetup && a->nsetup < DLV_SETUP_MAX &&
	    dlv_nbh_may_open(a) && dlv_pace_may_open(a)) {
		h = dlv_mx_pick(a->hosts, a->nhosts, &a->rr, bw_now_ms());
		if (h == -1)
			break;
		if (dlv_smtp_open(a, h) == NULL) {
			/* The host is marked down by the failed open. */
			continue;
		}
	}
	/* blocked: jobs wait that Good Neighbor's limit, not pacing, holds */
	dlv_nbh_tick(a, a->njobs > a->nsetup && a->nconns >= a->nb.limit &&
	    a->lim->v[LIM_DELIVER_MAX_MESSAGES_PER_MINUTE] <= 0);
	if (a->njobs > 0 && a->nconns == 0 && !dlv_agent_pause_wait(a))
		dlv_agent_unreachable(a);
}

/* A connection finished its setup, or its job: give it the next job. */
void
dlv_agent_conn_ready(struct dlv_agent *a, struct dlv_conn *c)
{
	struct dlv_job	*j;

	a->last_used = bw_now_ms();
	if (dlv_nbh_over(a)) {
		dlv_smtp_quit(c);	/* the limit came down */
		return;
	}
	if ((j = TAILQ_FIRST(&a->jobs)) == NULL ||
	    a->hosts[dlv_smtp_host(c)].self || !dlv_pace_take(a)) {
		dlv_smtp_idle(c);
		return;
	}
	TAILQ_REMOVE(&a->jobs, j, entry);
	a->njobs--;
	dlv_smtp_job_start(c, j);
}

/* A connection is gone (already unlinked): maybe open another. */
void
dlv_agent_conn_gone(struct dlv_agent *a, struct dlv_conn *c)
{
	a->last_used = bw_now_ms();
	dlv_agent_run(a);
}

static void
dlv_agent_info_one(struct bw_peer *peer, uint32_t peerid, struct dlv_agent *a)
{
	struct bw_domain_info	 di;
	struct bw_domain_host	 dh;
	int			 i;

	memset(&di, 0, sizeof(di));
	strlcpy(di.gateway, a->gateway, sizeof(di.gateway));
	strlcpy(di.domain, a->domain, sizeof(di.domain));
	di.found = 1;
	di.connections = (uint32_t)a->nconns;
	di.routed = (uint32_t)a->routed;
	di.delivered = a->delivered;
	di.tempfail = a->tempfail;
	di.permfail = a->permfail;
	di.last_attempt = a->last_attempt;
	strlcpy(di.last_result, a->last_result, sizeof(di.last_result));
	dlv_nbh_info(a, &di);
	if (bw_peer_send(peer, BW_IMSG_DOMAIN_INFO, peerid, -1, &di,
	    sizeof(di)) == -1)
		return;
	for (i = 0; i < a->nhosts; i++) {
		const struct dlv_host *h = &a->hosts[i];

		memset(&dh, 0, sizeof(dh));
		strlcpy(dh.domain, a->domain, sizeof(dh.domain));
		strlcpy(dh.host, h->name, sizeof(dh.host));
		if (h->last_addr[0])
			strlcpy(dh.addr, h->last_addr, sizeof(dh.addr));
		else if (h->naddrs > 0)
			strlcpy(dh.addr, h->addrs[0], sizeof(dh.addr));
		dh.preference = (uint32_t)h->pref;
		dh.port = (uint32_t)h->port;
		dh.connections = h->connections;
		dh.last_error_time = h->last_error_time;
		strlcpy(dh.last_error, h->last_error, sizeof(dh.last_error));
		if (bw_peer_send(peer, BW_IMSG_DOMAIN_HOST, peerid, -1, &dh,
		    sizeof(dh)) == -1)
			return;
	}
}

void
dlv_agent_foreach_domain(const char *domain,
    void (*cb)(struct dlv_agent *, void *), void *arg)
{
	struct dlv_agent	*a, *ta;
	int			 i;

	for (i = 0; i < DLV_AGENT_BUCKETS; i++)
		LIST_FOREACH_SAFE(a, &dlv_agents[i], hentry, ta)
			if (strcmp(a->domain, domain) == 0)
				cb(a, arg);
}

/* bwctl show domain: our agents for that domain (any gateway if ""). */
void
dlv_agent_info(struct bw_peer *peer, uint32_t peerid,
    const struct bw_domain_info_req *req)
{
	struct bw_domain_info	 di;
	struct dlv_agent	*a;
	char			 gw[BW_NAME_MAX], dom[BW_DOMAIN_MAX + 1];
	int			 i, found = 0;

	BW_IMSG_STR(gw, req->gateway);
	BW_IMSG_STR(dom, req->domain);
	bw_lowercase(dom, dom, sizeof(dom));
	if (gw[0] != '\0') {
		if ((a = dlv_agent_find(gw, dom)) != NULL) {
			dlv_agent_info_one(peer, peerid, a);
			found++;
		}
	} else {
		for (i = 0; i < DLV_AGENT_BUCKETS; i++)
			LIST_FOREACH(a, &dlv_agents[i], hentry)
				if (strcmp(a->domain, dom) == 0) {
					dlv_agent_info_one(peer, peerid, a);
					found++;
				}
	}
	if (found == 0) {
		memset(&di, 0, sizeof(di));
		strlcpy(di.gateway, gw, sizeof(di.gateway));
		strlcpy(di.domain, dom, sizeof(di.domain));
		(void)bw_peer_send(peer, BW_IMSG_DOMAIN_INFO, peerid, -1, &di,
		    sizeof(di));
	}
	(void)bw_peer_send(peer, BW_IMSG_DOMAIN_INFO_END, peerid, -1, NULL, 0);
}

/* bwctl show queue: connections and limit of every agent, then END. */
void
dlv_agent_list(struct bw_peer *peer, uint32_t peerid)
{
	struct bw_agent_entry	 e;
	struct dlv_agent	*a;
	int			 i, n = 0;

	for (i = 0; i < DLV_AGENT_BUCKETS && n < DLV_AGENT_LIST_MAX; i++)
		LIST_FOREACH(a, &dlv_agents[i], hentry) {
			memset(&e, 0, sizeof(e));
			strlcpy(e.gateway, a->gateway, sizeof(e.gateway));
			strlcpy(e.domain, a->domain, sizeof(e.domain));
			e.connections = (uint32_t)a->nconns;
			e.conn_limit = (uint32_t)a->nb.limit;
			e.conn_limit_max = (uint32_t)a->nb.max;
			e.paused = (uint32_t)dlv_nb_paused(&a->nb, bw_now_ms());
			if (bw_peer_send(peer, BW_IMSG_AGENT_ENTRY, peerid, -1,
			    &e, sizeof(e)) == -1 || ++n >= DLV_AGENT_LIST_MAX)
				break;
		}
	(void)bw_peer_send(peer, BW_IMSG_AGENT_END, peerid, -1, NULL, 0);
}

/* Free agents that have been unused for a while. */
static void
dlv_agent_gc_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dlv_agent	*a, *ta;
	struct timeval		 tv = { DLV_AGENT_GC_MS / 1000, 0 };
	uint64_t		 now = bw_now_ms();
	int			 i;

	for (i = 0; i < DLV_AGENT_BUCKETS; i++)
		LIST_FOREACH_SAFE(a, &dlv_agents[i], hentry, ta) {
			if (a->njobs > 0 || a->nconns > 0 ||
			    a->mx_state == DLV_MX_RESOLVING ||
			    now - a->last_used < DLV_AGENT_IDLE_FREE_MS)
				continue;
			dlv_agent_free(a);
		}
	evtimer_add(dlv_env->gc_timer, &tv);
}

void
dlv_agent_init(void)
{
	struct timeval	 tv = { DLV_AGENT_GC_MS / 1000, 0 };
	int		 i;

	for (i = 0; i < DLV_AGENT_BUCKETS; i++)
		LIST_INIT(&dlv_agents[i]);
	if ((dlv_env->gc_timer = evtimer_new(dlv_env->base, dlv_agent_gc_cb,
	    NULL)) == NULL)
		fatalx("agent gc timer");
	evtimer_add(dlv_env->gc_timer, &tv);
}

/*
 * queued's link is lost: it re-sends every job it gave us, so drop them:
 * waiting ones are freed, connections in a transaction are closed.
 */
void
dlv_agent_drop_jobs(void)
{
	struct dlv_agent	*a;
	struct dlv_conn		*c, *tc;
	struct dlv_job		*j;
	int			 i;

	for (i = 0; i < DLV_AGENT_BUCKETS; i++)
		LIST_FOREACH(a, &dlv_agents[i], hentry) {
			while ((j = TAILQ_FIRST(&a->jobs)) != NULL) {
				TAILQ_REMOVE(&a->jobs, j, entry);
				a->njobs--;
				dlv_job_free(j);
			}
			TAILQ_FOREACH_SAFE(c, &a->conns, entry, tc)
				if (dlv_smtp_has_job(c))
					dlv_smtp_abort(c, "queued link lost");
		}
}

/*
 * A reload: agents look their gateway and their destination's limits up
 * in the new configuration, and resolve again (a route may have changed)
 * once their open connections are done; open connections keep the limits
 * they were opened with (each holds its configuration) and finish as
 * they are, the next connection takes the new ones.
 */
void
dlv_agent_reload(const struct bw_config *nc)
{
	struct dlv_agent	*a;
	int			 i;

	for (i = 0; i < DLV_AGENT_BUCKETS; i++)
		LIST_FOREACH(a, &dlv_agents[i], hentry) {
			a->lim = config_limits_for_destination(nc, a->gateway,
			    a->domain);
			a->gw = config_gateway_find(nc, a->gateway);
			if (a->gw == NULL)
				log_warnx("domain=%s: gateway %s is no longer "
				    "configured, using no source address",
				    a->domain, a->gateway);
			if (a->mx_state == DLV_MX_READY)
				a->mx_expires = 0;
		}
}

/* Worker exit: close everything, free every agent. */
void
dlv_agent_shutdown(void)
{
	struct dlv_agent	*a;
	struct dlv_conn		*c;
	int			 i;

	dlv_agent_drop_jobs();
	for (i = 0; i < DLV_AGENT_BUCKETS; i++)
		while ((a = LIST_FIRST(&dlv_agents[i])) != NULL) {
			while ((c = TAILQ_FIRST(&a->conns)) != NULL)
				dlv_smtp_abort(c, "shutting down");
			dlv_agent_free(a);
		}
	if (dlv_env->gc_timer != NULL)
		event_free(dlv_env->gc_timer);
	dlv_env->gc_timer = NULL;
}
