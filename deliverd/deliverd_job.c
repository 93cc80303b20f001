/*
 * Jobs from queued: DLV_JOB, nrcpt DLV_RCPT, the body in DLV_BODY chunks,
 * DLV_END (common/imsg_catalog.h).  A job is assembled here, checked
 * (every recipient present, body exactly size bytes) and handed to the
 * agent of its (gateway, domain).  Results are collected per recipient
 * and sent back at the end with DLV_DONE.
 *
 * Trust: queued is trusted not to be hostile but not to be bug-free:
 * frame sizes were checked by the catalog; indexes, counts, sizes and job
 * ids are checked here and a violation drops queued's link (it re-sends
 * every job it had given us).  Limits: DLV_JOB_RCPTS_MAX recipients,
 * LIM_DELIVER_MAX_JOBS_PER_WORKER jobs held, LIM_MESSAGE_SIZE_LIMIT bytes
 * (twice, for what queued may have added) per body.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "deliverd.h"

static struct dlv_job *
dlv_job_find_assembling(uint64_t jobid)
{
	struct dlv_job	*j;

	TAILQ_FOREACH(j, &dlv_env->assembling, entry)
		if (j->jobid == jobid)
			return j;
	return NULL;
}

void
dlv_job_free(struct dlv_job *j)
{
	if (j == NULL)
		return;
	if (j->body != NULL)
		evbuffer_free(j->body);
	free(j->rcpts);
	free(j->order);
	free(j);
	dlv_env->njobs--;
}

static void
dlv_job_protocol_error(const char *qid, const char *what)
{
	log_warnx("%s queued: %s; dropping the link (jobs are re-sent)",
	    qid[0] ? qid : "-", what);
	bw_peer_drop(dlv_env->queued, what);
	dlv_job_drop_all();
}

static void
dlv_job_open(const struct bw_dlv_job *m)
{
	struct dlv_job	*j;
	uint32_t	 i;

	if (dlv_job_find_assembling(m->jobid) != NULL) {
		dlv_job_protocol_error("-", "DLV_JOB with a job id in use");
		return;
	}
	if (m->nrcpt == 0 || m->nrcpt > DLV_JOB_RCPTS_MAX ||
	    m->size > 2 * (uint64_t)dlv_env->cfg->limits_max.v[
	    LIM_MESSAGE_SIZE_LIMIT] + BW_DATA_CHUNK_MAX) {
		dlv_job_protocol_error("-", "DLV_JOB out of limits");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->rcpts = calloc(m->nrcpt, sizeof(*j->rcpts))) == NULL ||
	    (j->order = calloc(m->nrcpt, sizeof(*j->order))) == NULL ||
	    (j->body = evbuffer_new()) == NULL) {
		log_warn("job: allocation");
		if (j != NULL) {
			free(j->rcpts);
			free(j->order);
			free(j);
		}
		bw_peer_drop(dlv_env->queued, "out of memory");
		dlv_job_drop_all();
		return;
	}
	dlv_env->njobs++;
	j->jobid = m->jobid;
	BW_IMSG_STR(j->qid, m->qid);
	BW_IMSG_STR(j->gateway, m->gateway);
	BW_IMSG_STR(j->domain, m->domain);
	BW_IMSG_STR(j->sender, m->sender);
	bw_lowercase(j->domain, j->domain, sizeof(j->domain));
	j->size = m->size;
	j->created = m->created;
	j->flags = m->flags;
	j->attempts = m->attempts;
	j->dsn_ret = m->dsn_ret;
	BW_IMSG_STR(j->envid, m->envid);
	j->nrcpt = m->nrcpt;
	for (i = 0; i < j->nrcpt; i++)
		j->rcpts[i].status = -1;
	TAILQ_INSERT_TAIL(&dlv_env->assembling, j, entry);
	dlv_env->c_jobs++;
}

/*
 * An address we may put on an SMTP command line: no control bytes (CR LF
 * would inject commands), no angle brackets.  The syntax proper was
 * checked by smtpd.
 */
int
dlv_addr_ok(const char *a)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)a; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

static void
dlv_job_rcpt(const struct bw_dlv_rcpt *m)
{
	struct dlv_job	*j;

	if ((j = dlv_job_find_assembling(m->jobid)) == NULL) {
		dlv_job_protocol_error("-", "DLV_RCPT for an unknown job");
		return;
	}
	if (m->index >= j->nrcpt || j->rcpts[m->index].have) {
		dlv_job_protocol_error(j->qid, "DLV_RCPT with a bad index");
		return;
	}
	BW_IMSG_STR(j->rcpts[m->index].addr, m->rcpt);
	j->rcpts[m->index].notify = m->notify & BW_DSN_NOTIFY_ALL;
	BW_IMSG_STR(j->rcpts[m->index].orcpt, m->orcpt);
	j->rcpts[m->index].have = 1;
	j->nrcpt_have++;
}

static void
dlv_job_body(struct bw_imsg *imsg)
{
	struct bw_dlv_body	 m;
	struct dlv_job		*j;
	size_t			 n = imsg->datalen - sizeof(m);

	memcpy(&m, imsg->data, sizeof(m));
	if ((j = dlv_job_find_assembling(m.jobid)) == NULL) {
		dlv_job_protocol_error("-", "DLV_BODY for an unknown job");
		return;
	}
	if (evbuffer_get_length(j->body) + n > j->size) {
		dlv_job_protocol_error(j->qid,
		    "DLV_BODY beyond the job's size");
		return;
	}
	if (evbuffer_add(j->body, (const char *)imsg->data + sizeof(m),
	    n) == -1) {
		log_warn("%s job: body", j->qid);
		bw_peer_drop(dlv_env->queued, "out of memory");
		dlv_job_drop_all();
	}
}

static void
dlv_job_end(const struct bw_dlv_end *m)
{
	struct dlv_job	*j;
	uint32_t	 i;

	if ((j = dlv_job_find_assembling(m->jobid)) == NULL) {
		dlv_job_protocol_error("-", "DLV_END for an unknown job");
		return;
	}
	if (j->nrcpt_have != j->nrcpt ||
	    evbuffer_get_length(j->body) != j->size) {
		dlv_job_protocol_error(j->qid, "DLV_END of an incomplete job");
		return;
	}
	TAILQ_REMOVE(&dlv_env->assembling, j, entry);
	j->complete = 1;
	if (!dlv_addr_ok(j->sender))
		dlv_job_set_rest(j, BW_DLV_PERMFAIL, "5.1.7",
		    "bad sender address syntax");
	for (i = 0; i < j->nrcpt; i++) {
		if (!dlv_addr_ok(j->rcpts[i].addr) ||
		    j->rcpts[i].addr[0] == '\0')
			dlv_job_set_result(j, i, BW_DLV_PERMFAIL, "5.1.3",
			    "bad recipient address syntax");
		if (j->rcpts[i].status == -1)
			j->order[j->norder++] = i;
	}
	if (j->norder == 0) {
		dlv_job_finish(j, 0, NULL);
		return;
	}
	if (dlv_env->njobs > (uint64_t)BW_LIMIT(dlv_env->cfg,
	    LIM_DELIVER_MAX_JOBS_PER_WORKER)) {
		dlv_job_set_rest(j, BW_DLV_TEMPFAIL, "4.3.2",
		    "delivery worker busy (too many jobs)");
		dlv_job_finish(j, 0, "worker busy");
		return;
	}
	dlv_agent_job_add(j);
}

/*
 * One DLV_* frame from queued (the catalog checked type and size).  The
 * payload follows a 20-byte header: copy it out before reading fields.
 */
void
dlv_job_msg(struct bw_imsg *imsg)
{
	union {
		struct bw_dlv_job	 job;
		struct bw_dlv_rcpt	 rcpt;
		struct bw_dlv_end	 end;
	} m;

	switch (imsg->hdr.type) {
	case BW_IMSG_DLV_JOB:
		memcpy(&m.job, imsg->data, sizeof(m.job));
		dlv_job_open(&m.job);
		break;
	case BW_IMSG_DLV_RCPT:
		memcpy(&m.rcpt, imsg->data, sizeof(m.rcpt));
		dlv_job_rcpt(&m.rcpt);
		break;
	case BW_IMSG_DLV_BODY:
		dlv_job_body(imsg);
		break;
	case BW_IMSG_DLV_END:
		memcpy(&m.end, imsg->data, sizeof(m.end));
		dlv_job_end(&m.end);
		break;
	default:
		fatalx("dlv_job_msg: type %u", imsg->hdr.type);
	}
}

/* Record one recipient's result (the first one stands). */
void
dlv_job_set_result(struct dlv_job *j, uint32_t idx, int status,
    const char *dsn, const char *reply)
{
	struct dlv_rcpt	*r;

	if (idx >= j->nrcpt || j->rcpts[idx].status != -1)
		return;
	r = &j->rcpts[idx];
	r->status = status;
	strlcpy(r->dsn, dsn, sizeof(r->dsn));
	strlcpy(r->reply, reply, sizeof(r->reply));
}

void
dlv_job_set_rest(struct dlv_job *j, int status, const char *dsn,
    const char *reply)
{
	uint32_t	 i;

	for (i = 0; i < j->nrcpt; i++)
		dlv_job_set_result(j, i, status, dsn, reply);
}

/* Results, DLV_DONE, a log line per recipient, counters; frees the job. */
void
dlv_job_finish(struct dlv_job *j, int unreachable, const char *reason)
{
	struct bw_dlv_result	 res;
	struct bw_dlv_done	 done;
	struct dlv_agent	*a;
	uint32_t		 i;

	dlv_job_set_rest(j, BW_DLV_TEMPFAIL, "4.3.0",
	    "delivery ended without a result");
	a = dlv_agent_find(j->gateway, j->domain);
	for (i = 0; i < j->nrcpt; i++) {
		struct dlv_rcpt *r = &j->rcpts[i];

		dlv_log_result(j, i);
		switch (r->status) {
		case BW_DLV_DELIVERED:
			dlv_env->c_delivered++;
			if (a != NULL)
				a->delivered++;
			break;
		case BW_DLV_TEMPFAIL:
			dlv_env->c_deferred++;
			if (a != NULL)
				a->tempfail++;
			break;
		default:
			dlv_env->c_bounced++;
			if (a != NULL)
				a->permfail++;
			break;
		}
		memset(&res, 0, sizeof(res));
		res.jobid = j->jobid;
		res.index = i;
		res.status = (uint32_t)r->status;
		strlcpy(res.dsn, r->dsn, sizeof(res.dsn));
		strlcpy(res.relay, j->relay, sizeof(res.relay));
		strlcpy(res.reply, r->reply, sizeof(res.reply));
		strlcpy(res.tls, j->tls, sizeof(res.tls));
		if (r->status == BW_DLV_DELIVERED && r->dsn_passed)
			res.flags |= BW_DLVR_DSN_PASSED;
		if (bw_peer_send(dlv_env->queued, BW_IMSG_DLV_RESULT, 0, -1,
		    &res, sizeof(res)) == -1)
			log_warnx("%s cannot send result to queued", j->qid);
	}
	if (a != NULL && j->nrcpt > 0) {
		a->last_attempt = bw_time();
		strlcpy(a->last_result, j->rcpts[0].reply,
		    sizeof(a->last_result));
	}
	memset(&done, 0, sizeof(done));
	done.jobid = j->jobid;
	done.unreachable = unreachable ? 1 : 0;
	done.connections = j->connections;
	strlcpy(done.reason, reason ? reason : "", sizeof(done.reason));
	if (bw_peer_send(dlv_env->queued, BW_IMSG_DLV_DONE, 0, -1, &done,
	    sizeof(done)) == -1)
		log_warnx("%s cannot send DLV_DONE to queued", j->qid);
	if (unreachable)
		log_info("%s domain=%s gateway=%s unreachable reason=%s",
		    j->qid, j->domain, j->gateway, reason ? reason : "");
	dlv_job_free(j);
}

/* queued's link is gone: it re-sends every job; forget ours. */
void
dlv_job_drop_all(void)
{
	struct dlv_job	*j;

	while ((j = TAILQ_FIRST(&dlv_env->assembling)) != NULL) {
		TAILQ_REMOVE(&dlv_env->assembling, j, entry);
		dlv_job_free(j);
	}
	dlv_agent_drop_jobs();
}
