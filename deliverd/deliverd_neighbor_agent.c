/*
 * Good Neighbor's hooks: what an agent and its connections tell the pure
 * limit machine (deliverd_neighbor.c), and what it shows.  Called from a
 * few lines in deliverd_agent.c and deliverd_smtp.c.  Every change of the
 * limit is logged with its reason.
 *
 * Events: a new connection refused before it was ready (with how many of
 * the agent's other connections work), a connection ready, each complete
 * reply's latency (from our last byte out, or from the previous reply of
 * a pipelined group), each job with a recipient accepted.  The
 * destination control is deliver_max_connections_per_domain of the
 * agent's set, read again on every look (a reload re-points the set).
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "deliverd.h"

/* Log a change of the limit (or a pause) with its reason. */
static void
dlv_nbh_log(struct dlv_agent *a, int old)
{
	char	 esc[DLV_NB_WHY_MAX * 4 + 1];

	log_escape(esc, sizeof(esc), a->nb.why, strlen(a->nb.why));
	log_info("domain=%s gateway=%s connection limit %d -> %d (max %d) "
	    "reason=%s: %s", a->domain, a->gateway, old, a->nb.limit,
	    a->nb.max, dlv_nb_reason_name(a->nb.reason), esc);
}

static int
dlv_nbh_max(const struct dlv_agent *a)
{
	long long	 m = a->lim->v[LIM_DELIVER_MAX_CONNECTIONS_PER_DOMAIN];

	return m > 0x7fffffffLL ? 0x7fffffff : (int)m;
}

void
dlv_nbh_init(struct dlv_agent *a)
{
	dlv_nb_init(&a->nb, dlv_nbh_max(a), bw_now_ms());
}

int
dlv_nbh_may_open(struct dlv_agent *a)
{
	int	 old = a->nb.limit;
	uint64_t now = bw_now_ms();

	if (dlv_nb_set_max(&a->nb, dlv_nbh_max(a), now))
		dlv_nbh_log(a, old);
	return dlv_nb_may_open(&a->nb, a->nconns, now);
}

void
dlv_nbh_tick(struct dlv_agent *a, int blocked)
{
	int	 old = a->nb.limit;

	if (dlv_nb_tick(&a->nb, blocked, bw_now_ms()))
		dlv_nbh_log(a, old);
}

int
dlv_nbh_over(const struct dlv_agent *a)
{
	return a->nconns > a->nb.limit;
}

void
dlv_nbh_refused(struct dlv_conn *c, const char *why)
{
	struct dlv_agent	*a = c->agent;
	struct dlv_conn		*o;
	const struct bw_profile_conf *pr;
	enum dlv_nb_refusal	 kind;
	uint64_t		 now = bw_now_ms();
	int			 i, working = 0, held = 0, others = 0;
	int			 old = a->nb.limit;

	TAILQ_FOREACH(o, &a->conns, entry) {
		if (o == c || o->state == DLV_CS_CLOSED)
			continue;
		if (o->setup_done && o->state < DLV_CS_QUIT)
			working++;
		if (o->state != DLV_CS_CONNECTING)
			held++;		/* the destination holds it */
	}
	/* another host to try at once: no reason to pause the domain */
	for (i = 0; i < a->nhosts; i++)
		if (i != c->host && !a->hosts[i].self &&
		    a->hosts[i].naddrs > 0 && a->hosts[i].down_until <= now)
			others = 1;
	switch (c->state) {
	case DLV_CS_CONNECTING:
		kind = strstr(why, "timeout") != NULL ?
		    DLV_NB_CONNECT_TIMEOUT : DLV_NB_REFUSED;
		break;
	case DLV_CS_GREETING:
		kind = DLV_NB_GREETING;
		break;
	default:
		kind = DLV_NB_SETUP;
		break;
	}
	/* the profile as configured now (a reload may have changed it) */
	if ((pr = config_profile_for(dlv_env->cfg, a->domain)) != NULL)
		dlv_nb_set_pause_max(&a->nb, (uint64_t)pr->retry_max);
	if (dlv_nb_refused(&a->nb, kind, working, held, others, why, now))
		dlv_nbh_log(a, old);
}

void
dlv_nbh_ready(struct dlv_conn *c)
{
	struct dlv_conn	*o;
	int		 held = 0;

	/* sessions the receiver holds of ours now (QUITting ones too) */
	TAILQ_FOREACH(o, &c->agent->conns, entry)
		if (o->setup_done && o->state != DLV_CS_CLOSED)
			held++;
	dlv_nb_ready(&c->agent->nb, held, bw_now_ms());
}

/* A complete reply: its latency, for the kinds that tell load. */
void
dlv_nbh_reply(struct dlv_conn *c)
{
	struct dlv_agent	*a = c->agent;
	enum dlv_nb_lat		 kind;
	uint64_t		 now = bw_now_ms();
	int			 old = a->nb.limit;

	switch (c->state) {
	case DLV_CS_GREETING:
	case DLV_CS_EHLO:
	case DLV_CS_HELO:
	case DLV_CS_STARTTLS:
	case DLV_CS_MAIL:
	case DLV_CS_DATA:
	case DLV_CS_RSET:
		kind = DLV_NB_LAT_CMD;
		break;
	case DLV_CS_BODY:
	case DLV_CS_BDAT:
		kind = DLV_NB_LAT_DATA;
		break;
	default:
		return;		/* QUIT, discards, unsolicited */
	}
	if (c->wait_ms == 0 || c->deadline_drain || now < c->wait_ms)
		return;		/* our output has not drained: no start */
	if (dlv_nb_latency(&a->nb, kind, now - c->wait_ms, now))
		dlv_nbh_log(a, old);
}

/* A transaction ended: a message accepted (2xx to its data) counts. */
void
dlv_nbh_job_done(struct dlv_conn *c, const struct dlv_job *j)
{
	(void)j;
	if ((c->state == DLV_CS_BODY || c->state == DLV_CS_BDAT) &&
	    c->reply.code / 100 == 2 && c->naccepted > 0)
		dlv_nb_accepted(&c->agent->nb, bw_now_ms());
}

/* bwctl show domain: the limit, its reason and time, the rate. */
void
dlv_nbh_info(struct dlv_agent *a, struct bw_domain_info *di)
{
	uint64_t	 now = bw_now_ms();
	int64_t		 t = bw_time();

	(void)dlv_nbh_may_open(a);	/* the current destination control */
	di->conn_limit = (uint32_t)a->nb.limit;
	di->conn_limit_max = (uint32_t)a->nb.max;
	di->limit_changed = t - (int64_t)((now - a->nb.changed_ms) / 1000);
	di->paused_until = dlv_nb_paused(&a->nb, now) ? t +
	    (int64_t)((a->nb.pause_until - now + 999) / 1000) : 0;
	di->accept_rate = dlv_nb_rate(&a->nb, now);
	snprintf(di->limit_reason, sizeof(di->limit_reason), "%s: %s",
	    dlv_nb_reason_name(a->nb.reason), a->nb.why);
}
