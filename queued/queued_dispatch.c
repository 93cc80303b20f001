/*
 * Jobs to deliverd workers.  A worker connects to queued.sock with role
 * deliverd and its index in HELLO; a (gateway, domain) belongs to worker
 * hash(gateway, domain) % deliverd_workers, and waits for it when it is
 * not connected.  A job is one message for one queue: DLV_JOB, its
 * recipients of that domain (DLV_RCPT), the body from body.db in DLV_BODY
 * chunks, DLV_END.  In flight: at most deliver_max_jobs_per_domain per
 * queue and deliver_max_jobs_per_worker per worker.
 *
 * Queues with work sit on the run list; a zero-delay timer sends at most
 * QSCHED_DISPATCH_STEP jobs (and about QDISPATCH_TURN_BYTES of body) per
 * event-loop turn.  A queue that cannot go
 * on because its worker is absent or full waits on that worker's list
 * and returns to the run list when the worker frees a slot or connects.
 *
 * Trust: deliverd runs as its own user and faces remote MTAs; its frames
 * passed the catalog; job ids and recipient indexes are checked here,
 * and an unknown one is logged and ignored.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"

#define QDISPATCH_WPENDING_MAX	(8 * 1024 * 1024)	/* unsent bytes */
#define QDISPATCH_TURN_BYTES	(16 * 1024 * 1024)	/* body bytes a turn */

struct qworker {
	struct bw_peer		*peer;
	uint32_t		 inflight;
	TAILQ_HEAD(qjob_list, qjob) jobs;
	TAILQ_HEAD(, qsq)	 waiting;
};

static struct qworker		*qd_workers;
static uint32_t			 qd_nworkers;
static TAILQ_HEAD(, qsq)	 qd_run = TAILQ_HEAD_INITIALIZER(qd_run);
static struct event		*qd_ev_run;
static uint64_t			 qd_jobid;
static unsigned char		*qd_body;	/* the body being sent */
static size_t			 qd_body_cap;
static uint64_t			 qd_turn_bytes;	/* body bytes this turn */

uint32_t
qdispatch_nworkers(void)
{
	return qd_nworkers;
}

static void	qdispatch_run_cb(evutil_socket_t, short, void *);

void
qdispatch_init(struct event_base *base, uint32_t nworkers)
{
	uint32_t	 i;

	if (nworkers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nworkers = n > 0 ? (uint32_t)n : 1;
	}
	qd_nworkers = nworkers;
	if ((qd_workers = calloc(nworkers, sizeof(*qd_workers))) == NULL)
		fatal("dispatch: workers");
	for (i = 0; i < nworkers; i++) {
		TAILQ_INIT(&qd_workers[i].jobs);
		TAILQ_INIT(&qd_workers[i].waiting);
	}
	if ((qd_ev_run = evtimer_new(base, qdispatch_run_cb, NULL)) == NULL)
		fatalx("dispatch: cannot create the run timer");
	qd_jobid = (uint64_t)bw_time() << 20;
}

static void
qdispatch_arm(void)
{
	struct timeval	 tv = { 0, 0 };

	if (!evtimer_pending(qd_ev_run, NULL))
		evtimer_add(qd_ev_run, &tv);
}

/* Put a queue with work on the run list. */
void
qdispatch_run(struct qsq *q)
{
	struct qworker	*w;

	if (q->onrun == 1)
		return;
	if (q->onrun == 2) {
		w = &qd_workers[qsched_queue_worker(q)];
		TAILQ_REMOVE(&w->waiting, q, runentry);
	}
	q->onrun = 1;
	TAILQ_INSERT_TAIL(&qd_run, q, runentry);
	qdispatch_arm();
}

/* The worker has room again: its waiting queues run. */
static void
qdispatch_wake(struct qworker *w)
{
	struct qsq	*q;

	while ((q = TAILQ_FIRST(&w->waiting)) != NULL) {
		TAILQ_REMOVE(&w->waiting, q, runentry);
		q->onrun = 1;
		TAILQ_INSERT_TAIL(&qd_run, q, runentry);
	}
	if (!TAILQ_EMPTY(&qd_run))
		qdispatch_arm();
}

static void
qdispatch_job_free(struct qjob *j)
{
	free(j->ridx);
	free(j->res);
	free(j);
}

/*
 * The whole body of qid into qd_body, every piece read and checked before
 * anything of the job goes out (a piece found damaged half-way could not
 * be taken back from deliverd): 0, -1 damaged, -2 no memory.  A large
 * buffer is not kept for the next message.
 */
static int
qdispatch_body_load(const char *qid, const struct qenv_rec *e)
{
	unsigned char	*p;
	size_t		 got = 0, want;
	ssize_t		 len;
	uint32_t	 c;

	if (e->size > (uint64_t)q_env->d.cfg->limits_max.v[
	    LIM_MESSAGE_SIZE_LIMIT] * 2)
		return -1;	/* no envelope of ours says that */
	want = e->size > QSTORE_BODY_CHUNK ? (size_t)e->size :
	    QSTORE_BODY_CHUNK;
	if (qd_body_cap > 4 * QSTORE_BODY_CHUNK && want < qd_body_cap) {
		free(qd_body);
		qd_body = NULL;
		qd_body_cap = 0;
	}
	if (want > qd_body_cap) {
		if ((p = realloc(qd_body, want)) == NULL)
			return -2;
		qd_body = p;
		qd_body_cap = want;
	}
	for (c = 0; c < e->nchunks; c++) {
		if ((len = qstore_body_chunk(&q_env->store, qid, c,
		    qd_body + got, (size_t)e->size - got)) <= 0)
			return -1;
		got += (size_t)len;
	}
	return got == e->size ? 0 : -1;
}

/*
 * Send the first ready item of q as one job to worker w.  0: sent, or the
 * item was dropped (stale); -1: the worker cannot take it now.
 */
static int
qdispatch_send(struct qsq *q, struct qworker *w, uint32_t extra_flags)
{
	struct qstore		*st = &q_env->store;
	struct qsitem		*it = TAILQ_FIRST(&q->ready);
	struct qenv_rec		 e;
	struct qrcpt_rec	 rr;
	struct qjob		*j = NULL;
	struct bw_dlv_job	 dj;
	struct bw_dlv_rcpt	 dr;
	struct bw_dlv_body	 db;
	struct bw_dlv_end	 de;
	size_t			 off, part;
	uint32_t		 i, n;
	int			 r;

	if (it == NULL)
		return 0;
	TAILQ_REMOVE(&q->ready, it, entry);
	q->nready--;
	it->where = QSI_INFLIGHT;
	if (qstore_msg_get(st, it->qid, &e) != 0) {
		log_warnx("%s dispatch: envelope gone, dropped from %s/%s",
		    it->qid, q->gateway, q->domain);
		q->nitems--;
		free(it);
		return 0;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->ridx = calloc(e.nrcpt ? e.nrcpt : 1, sizeof(*j->ridx))) ==
	    NULL)
		goto nomem;
	for (i = 0, n = 0; i < e.nrcpt; i++) {
		if (qstore_rcpt_get(st, it->qid, i, &rr) != 0)
			continue;
		rr.domain[sizeof(rr.domain) - 1] = '\0';
		rr.gateway[sizeof(rr.gateway) - 1] = '\0';
		if ((rr.state == BW_RCPT_QUEUED ||
		    rr.state == BW_RCPT_DEFERRED) &&
		    strcmp(rr.domain, q->domain) == 0 &&
		    strcmp(rr.gateway, q->gateway) == 0)
			j->ridx[n++] = i;
	}
	if (n == 0) {
		log_warnx("%s dispatch: no recipient left for %s/%s",
		    it->qid, q->gateway, q->domain);
		qdispatch_job_free(j);
		q->nitems--;
		free(it);
		return 0;
	}
	if ((r = qdispatch_body_load(it->qid, &e)) == -2)
		goto nomem;
	if (r == -1) {
		log_warnx("%s dispatch: body damaged in the queue (size %"
		    PRIu64 ", %u pieces): bounced", it->qid, e.size,
		    e.nchunks);
		qdispatch_job_free(j);
		qresult_item_bounce_all(it, "message body damaged in the queue",
		    "5.3.0");
		return 0;
	}
	if ((j->res = calloc(n, sizeof(*j->res))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		j->res[i].status = -1;
	j->jobid = ++qd_jobid;
	j->it = it;
	j->worker = (uint32_t)(w - qd_workers);
	j->nrcpt = n;
	j->flags = extra_flags | (e.flags & ~(uint32_t)BW_DLVF_PROBE);

	memset(&dj, 0, sizeof(dj));
	dj.jobid = j->jobid;
	memcpy(dj.qid, it->qid, BW_QID_LEN);
	strlcpy(dj.gateway, q->gateway, sizeof(dj.gateway));
	strlcpy(dj.domain, q->domain, sizeof(dj.domain));
	e.sender[sizeof(e.sender) - 1] = '\0';
	strlcpy(dj.sender, e.sender, sizeof(dj.sender));
	dj.size = e.size;
	dj.created = e.created;
	dj.nrcpt = n;
	dj.flags = j->flags;
	dj.attempts = it->attempts;
	dj.dsn_ret = e.dsn_ret;
	e.envid[sizeof(e.envid) - 1] = '\0';
	strlcpy(dj.envid, e.envid, sizeof(dj.envid));
	if (bw_peer_send(w->peer, BW_IMSG_DLV_JOB, 0, -1, &dj,
	    sizeof(dj)) == -1)
		goto peerfail;
	for (i = 0; i < n; i++) {
		qstore_rcpt_get(st, it->qid, j->ridx[i], &rr);
		memset(&dr, 0, sizeof(dr));
		dr.jobid = j->jobid;
		dr.index = i;
		rr.rcpt[sizeof(rr.rcpt) - 1] = '\0';
		strlcpy(dr.rcpt, rr.rcpt, sizeof(dr.rcpt));
		dr.notify = rr.notify;
		rr.orcpt[sizeof(rr.orcpt) - 1] = '\0';
		strlcpy(dr.orcpt, rr.orcpt, sizeof(dr.orcpt));
		if (bw_peer_send(w->peer, BW_IMSG_DLV_RCPT, 0, -1, &dr,
		    sizeof(dr)) == -1)
			goto peerfail;
	}
	db.jobid = j->jobid;
	for (off = 0; off < e.size; off += part) {
		part = e.size - off > BW_DATA_CHUNK_MAX ? BW_DATA_CHUNK_MAX :
		    (size_t)(e.size - off);
		if (bw_peer_send2(w->peer, BW_IMSG_DLV_BODY, 0, -1, &db,
		    sizeof(db), qd_body + off, part) == -1)
			goto peerfail;
	}
	qd_turn_bytes += e.size;
	de.jobid = j->jobid;
	if (bw_peer_send(w->peer, BW_IMSG_DLV_END, 0, -1, &de,
	    sizeof(de)) == -1)
		goto peerfail;
	TAILQ_INSERT_TAIL(&w->jobs, j, entry);
	q_env->c_jobs_sent++;
	w->inflight++;
	q->inflight++;
	log_debug("%s job=%" PRIu64 " gateway=%s domain=%s nrcpt=%u "
	    "worker=%u%s", it->qid, j->jobid, q->gateway, q->domain, n,
	    j->worker, (extra_flags & BW_DLVF_PROBE) ? " probe" : "");
	return 0;
nomem:
	log_warn("%s dispatch: no memory", it->qid);
	if (j != NULL)
		qdispatch_job_free(j);
	qsched_item_ready(it, 1);
	return -1;
peerfail:
	/* the connection is going: the job is lost with it */
	log_warnx("%s dispatch: cannot send to worker %u", it->qid,
	    (uint32_t)(w - qd_workers));
	qdispatch_job_free(j);
	qsched_item_ready(it, 1);
	return -1;
}

static int
qdispatch_worker_full(const struct qworker *w)
{
	return w->peer == NULL || w->inflight >=
	    (uint32_t)BW_LIMIT(q_env->d.cfg, LIM_DELIVER_MAX_JOBS_PER_WORKER) ||
	    bw_peer_wpending(w->peer) > QDISPATCH_WPENDING_MAX;
}

static void
qdispatch_wait(struct qsq *q, struct qworker *w)
{
	q->onrun = 2;
	TAILQ_INSERT_TAIL(&w->waiting, q, runentry);
}

/* Bounded work per event-loop turn. */
static void
qdispatch_run_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qsq	*q;
	struct qworker	*w;
	uint32_t	 perdom;
	int		 budget = QSCHED_DISPATCH_STEP;

	qd_turn_bytes = 0;
	while (budget > 0 && (q = TAILQ_FIRST(&qd_run)) != NULL) {
		TAILQ_REMOVE(&qd_run, q, runentry);
		q->onrun = 0;
		if (q->state != BW_QUEUE_ACTIVE)
			continue;
		w = &qd_workers[qsched_queue_worker(q)];
		perdom = (uint32_t)q->lim->v[LIM_DELIVER_MAX_JOBS_PER_DOMAIN];
		while (budget > 0 && q->nready > 0 && q->inflight < perdom &&
		    !qdispatch_worker_full(w)) {
			budget--;
			if (qd_turn_bytes >= QDISPATCH_TURN_BYTES)
				budget = 0;	/* this job is the last */
			if (qdispatch_send(q, w, 0) == -1)
				break;
		}
		if (q->nready == 0 || q->inflight >= perdom)
			continue;	/* a job's end kicks it again */
		if (qdispatch_worker_full(w))
			qdispatch_wait(q, w);
		else {
			q->onrun = 1;
			TAILQ_INSERT_TAIL(&qd_run, q, runentry);
		}
	}
	if (!TAILQ_EMPTY(&qd_run))
		qdispatch_arm();
}

/*
 * bwctl retry D: tell the worker that owns the queue first (same link, so
 * before the retry's jobs): it ends a Good Neighbor pause, under which a
 * probe already out would wait.  No worker: the jobs wait for one anyway.
 */
void
qdispatch_retry(struct qsq *q)
{
	struct qworker		*w = &qd_workers[qsched_queue_worker(q)];
	struct bw_dlv_retry	 r;

	if (w->peer == NULL)
		return;
	memset(&r, 0, sizeof(r));
	strlcpy(r.gateway, q->gateway, sizeof(r.gateway));
	strlcpy(r.domain, q->domain, sizeof(r.domain));
	if (bw_peer_send(w->peer, BW_IMSG_DLV_RETRY, 0, -1, &r,
	    sizeof(r)) == -1)
		log_warnx("domain=%s gateway=%s retry: worker %u not told",
		    q->domain, q->gateway, (uint32_t)(w - qd_workers));
}

/* The probe of a down queue: its first parked message, flagged. */
void
qdispatch_probe(struct qsq *q)
{
	struct qworker	*w = &qd_workers[qsched_queue_worker(q)];
	struct timeval	 tv;

	if (w->peer != NULL && qdispatch_send(q, w, BW_DLVF_PROBE) == 0 &&
	    q->inflight > 0) {
		q->probing = 1;
		log_info("domain=%s gateway=%s probe retries=%u", q->domain,
		    q->gateway, q->retries);
		return;
	}
	/* no worker now: try again in a little while, same interval */
	log_info("domain=%s gateway=%s probe postponed: worker %u not "
	    "available", q->domain, q->gateway, (uint32_t)(w - qd_workers));
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	evtimer_add(q->ev_retry, &tv);
	q->retries--;	/* this one did not happen */
}

static struct qjob *
qdispatch_job_find(struct qworker *w, uint64_t jobid)
{
	struct qjob	*j;

	TAILQ_FOREACH(j, &w->jobs, entry)
		if (j->jobid == jobid)
			return j;
	return NULL;
}

void
qdispatch_state_cb(struct bw_peer *peer, int up)
{
	uint32_t	 idx = bw_peer_worker(peer);
	struct qworker	*w;
	struct qjob	*j;
	struct qsq	*q;
	struct timeval	 one = { 1, 0 };
	size_t		 lost = 0;

	if (qd_workers == NULL)
		return;		/* shutting down */
	if (idx >= qd_nworkers) {
		if (up) {
			log_warnx("deliverd pid=%ld worker=%u: only %u workers "
			    "configured", (long)bw_peer_pid(peer), idx,
			    qd_nworkers);
			bw_peer_drop(peer, "worker index out of range");
		}
		return;
	}
	w = &qd_workers[idx];
	if (up) {
		if (w->peer != NULL && w->peer != peer) {
			log_warnx("deliverd worker=%u connected twice: the "
			    "older connection goes", idx);
			bw_peer_set_data(w->peer, NULL);
			bw_peer_drop(w->peer, "replaced");
			qdispatch_state_cb(w->peer, 0);
		}
		w->peer = peer;
		bw_peer_set_data(peer, w);
		log_info("deliverd pid=%ld worker=%u connected",
		    (long)bw_peer_pid(peer), idx);
		qdispatch_wake(w);
		return;
	}
	if (w->peer != peer)
		return;
	w->peer = NULL;
	/* jobs without an end are retried (at-least-once), in order */
	while ((j = TAILQ_LAST(&w->jobs, qjob_list)) != NULL) {
		TAILQ_REMOVE(&w->jobs, j, entry);
		q = j->it->q;
		q->inflight--;
		if (j->flags & BW_DLVF_PROBE) {
			q->probing = 0;
			if (q->state == BW_QUEUE_DOWN)
				evtimer_add(q->ev_retry, &one);
		}
		qsched_item_ready(j->it, 1);
		qdispatch_job_free(j);
		q_env->c_jobs_lost++;
		lost++;
		qdispatch_run(q);
	}
	w->inflight = 0;
	log_info("deliverd pid=%ld worker=%u disconnected jobs_requeued=%zu",
	    (long)bw_peer_pid(peer), idx, lost);
}

void
qdispatch_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct qworker		*w = bw_peer_get_data(peer);
	struct bw_dlv_result	 r;
	struct bw_dlv_done	 d;
	struct qjob		*j;
	struct qsq		*q;

	if (qd_workers == NULL || w == NULL || w->peer != peer)
		return;
	switch (imsg->hdr.type) {
	case BW_IMSG_DLV_RESULT:
		memcpy(&r, imsg->data, sizeof(r));
		if ((j = qdispatch_job_find(w, r.jobid)) == NULL ||
		    r.index >= j->nrcpt || r.status >= BW_DLV_STATUS__COUNT) {
			log_warnx("deliverd worker=%u: result for unknown job "
			    "%" PRIu64 " index %u ignored",
			    (uint32_t)(w - qd_workers), r.jobid, r.index);
			return;
		}
		j->res[r.index].status = (int)r.status;
		BW_IMSG_STR(j->res[r.index].dsn, r.dsn);
		BW_IMSG_STR(j->res[r.index].relay, r.relay);
		BW_IMSG_STR(j->res[r.index].reply, r.reply);
		BW_IMSG_STR(j->res[r.index].tls, r.tls);
		j->res[r.index].flags = r.flags;
		break;
	case BW_IMSG_DLV_DONE:
		memcpy(&d, imsg->data, sizeof(d));
		d.reason[sizeof(d.reason) - 1] = '\0';
		if ((j = qdispatch_job_find(w, d.jobid)) == NULL) {
			log_warnx("deliverd worker=%u: end of unknown job "
			    "%" PRIu64 " ignored", (uint32_t)(w - qd_workers),
			    d.jobid);
			return;
		}
		TAILQ_REMOVE(&w->jobs, j, entry);
		w->inflight--;
		q = j->it->q;
		q->inflight--;
		q_env->c_jobs_done++;
		qresult_job_done(j, &d);
		qdispatch_job_free(j);
		qdispatch_wake(w);
		qsched_queue_kick(q);
		break;
	default:
		log_warnx("deliverd worker=%u: unexpected %s",
		    (uint32_t)(w - qd_workers),
		    bw_imsg_type_name(imsg->hdr.type));
		bw_peer_drop(peer, "unexpected message");
		break;
	}
}

void
qdispatch_shutdown(void)
{
	struct qjob	*j;
	uint32_t	 i;

	for (i = 0; i < qd_nworkers; i++)
		while ((j = TAILQ_FIRST(&qd_workers[i].jobs)) != NULL) {
			TAILQ_REMOVE(&qd_workers[i].jobs, j, entry);
			qsched_item_ready(j->it, 1);
			qdispatch_job_free(j);
		}
	free(qd_workers);
	qd_workers = NULL;
	free(qd_body);
	qd_body = NULL;
	qd_body_cap = 0;
	if (qd_ev_run != NULL)
		event_free(qd_ev_run);
	qd_ev_run = NULL;
}

/* 1 when a job at deliverd holds message qid (bwctl queue repair waits). */
int
qdispatch_busy(const char *qid)
{
	struct qjob	*j;
	uint32_t	 i;

	for (i = 0; i < qd_nworkers; i++)
		TAILQ_FOREACH(j, &qd_workers[i].jobs, entry)
			if (strcmp(j->it->qid, qid) == 0)
				return 1;
	return 0;
}
