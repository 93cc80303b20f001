/*
 * DOMAIN_CMD from controld: bwctl show domain (the queue's side), retry,
 * suspend, resume.  One DOMAIN_CMD_REPLY per matching queue (gateway ""
 * matches every gateway), the last one flagged; found 0 when none.
 *
 * Trust: controld relays what an admin typed; the domain is only used to
 * look up queues (lower-cased, never a key we write unless it matches).
 */
#include "bw_autoconf.h"

#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"

static void
qdomain_reply_fill(struct bw_domain_cmd_reply *r, const struct qsq *q)
{
	const struct bw_profile_conf	*p = qsched_profile(q);
	const struct qsitem		*it;
	size_t				 i;

	memset(r, 0, sizeof(*r));
	r->found = 1;
	strlcpy(r->gateway, q->gateway, sizeof(r->gateway));
	strlcpy(r->domain, q->domain, sizeof(r->domain));
	r->state = q->state;
	r->messages = q->nitems;
	/* the oldest: head of the ready list or the heap (bounded look) */
	if ((it = TAILQ_FIRST(&q->ready)) != NULL)
		r->oldest = it->created;
	for (i = 0; i < q->nheap && i < 64; i++)
		if (r->oldest == 0 || q->heap[i]->created < r->oldest)
			r->oldest = q->heap[i]->created;
	r->next_retry = q->state == BW_QUEUE_DOWN ? q->next_retry :
	    (q->nheap > 0 ? q->heap[0]->next_try : 0);
	r->retries = q->retries;
	r->delivered = q->delivered;
	r->hard_bounces = q->hard_bounces;
	r->soft_bounces = q->soft_bounces;
	r->active_jobs = q->inflight;
	strlcpy(r->last_error, q->last_error, sizeof(r->last_error));
	strlcpy(r->profile, p != NULL ? p->name : "", sizeof(r->profile));
}

static void
qdomain_apply(struct qsq *q, uint32_t op)
{
	switch (op) {
	case BW_DOMAIN_RETRY:
		log_info("domain=%s gateway=%s retry requested", q->domain,
		    q->gateway);
		if (q->state == BW_QUEUE_SUSPENDED)
			break;
		qsched_queue_retry_now(q);
		break;
	case BW_DOMAIN_SUSPEND:
		if (q->state != BW_QUEUE_SUSPENDED) {
			qsched_queue_suspend(q);
			qsched_queue_persist(q);
		}
		break;
	case BW_DOMAIN_RESUME:
		if (q->state != BW_QUEUE_ACTIVE) {
			qsched_queue_resume(q);
			qsched_queue_persist(q);
		}
		break;
	default:
		break;
	}
}

void
qdomain_cmd(struct bw_peer *peer, uint32_t reqid, struct bw_imsg *imsg)
{
	struct bw_domain_cmd		 c;
	struct bw_domain_cmd_reply	 r, prev;
	char				 gw[BW_NAME_MAX];
	char				 dom[BW_DOMAIN_MAX + 1], raw[BW_DOMAIN_MAX + 1];
	struct qsq			*q;
	int				 have = 0;

	memcpy(&c, imsg->data, sizeof(c));
	BW_IMSG_STR(gw, c.gateway);
	BW_IMSG_STR(raw, c.domain);
	bw_lowercase(dom, raw, sizeof(dom));
	if (c.op >= BW_DOMAIN_CMD__COUNT || dom[0] == '\0') {
		memset(&r, 0, sizeof(r));
		r.last = 1;
		bw_peer_send(peer, BW_IMSG_DOMAIN_CMD_REPLY, reqid, -1, &r,
		    sizeof(r));
		return;
	}
	/*
	 * Suspend of a domain without mail: a queue record of its own; on
	 * every gateway: the record that also holds queues created later.
	 */
	if (c.op == BW_DOMAIN_SUSPEND && gw[0] != '\0' &&
	    config_gateway_find(q_env->d.cfg, gw) != NULL)
		(void)qsched_queue_get(gw, dom);
	else if (c.op == BW_DOMAIN_SUSPEND && gw[0] == '\0')
		(void)qsched_queue_get(QSCHED_ALL_GATEWAYS, dom);
	for (q = qsched_first(); q != NULL; q = qsched_next(q)) {
		if (strcmp(q->domain, dom) != 0 ||
		    (gw[0] != '\0' && strcmp(q->gateway, gw) != 0))
			continue;
		qdomain_apply(q, c.op);
		if (have)
			bw_peer_send(peer, BW_IMSG_DOMAIN_CMD_REPLY, reqid, -1,
			    &prev, sizeof(prev));
		qdomain_reply_fill(&prev, q);
		have = 1;
	}
	if (!have) {
		memset(&prev, 0, sizeof(prev));
		BW_IMSG_STR(prev.domain, c.domain);
	}
	/*
	 * The admin is told "suspended" only once it would survive a crash:
	 * flush the log now (an fsync in the event loop, but admin commands
	 * are rare) rather than wait for the next batched flush.
	 */
	if (have && (c.op == BW_DOMAIN_SUSPEND || c.op == BW_DOMAIN_RESUME) &&
	    qstore_flush(&q_env->store) == -1)
		qfail_storage();
	prev.last = 1;
	bw_peer_send(peer, BW_IMSG_DOMAIN_CMD_REPLY, reqid, -1, &prev,
	    sizeof(prev));
}
