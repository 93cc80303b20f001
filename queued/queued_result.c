/*
 * Results of jobs: what deliverd said per recipient becomes the
 * recipient's state in one transaction (committed without a sync; the
 * scheduler's periodic group flush makes it durable: a crash may repeat a
 * delivery, never lose one).  A message whose recipients are all final is
 * deleted in that same transaction.  Permanent failures, and temporary
 * ones past the bounce profile's limits, produce one DSN per message and
 * result (queued_bounce.c), stored first as a new message on the bounce
 * gateway; a bounce that fails is logged and dropped.
 *
 * DSN requests (RFC 3461) decide what goes into it: a failure is reported
 * unless the recipient's NOTIFY left FAILURE out (NEVER: nothing at all);
 * a recipient with NOTIFY=SUCCESS relayed to a next hop that did not take
 * the DSN parameters (it does not offer DSN) is reported "relayed"; one
 * that did take them gets nothing from us, the next hop reports now (RFC
 * 3461 6.2.1, 6.2.2).  Breakwater delivers nothing itself, so it never
 * says "delivered".  A failure DSN returns the whole message on RET=FULL
 * (up to QSCHED_RETURN_FULL_MAX), else the headers; other DSNs return the
 * headers (RFC 3461 4.3).
 *
 * One line per recipient result:
 *   QID to=<r> relay=R gateway=G tls=T [cipher=C verify=V] delay=Ns
 *   attempts=N dsn=X status=S (reply)
 * (tls=none: plaintext, or no connection; deliverd_log.c makes the text)
 *
 * Trust: deliverd's results were range-checked by queued_dispatch.c;
 * their text is escaped before logging and cleaned before it goes into a
 * DSN.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "queued.h"

#define QRESULT_ESC_MAX	(BW_REPLY_TEXT_MAX * 4 + 1)

enum qoutcome { QO_SENT, QO_DEFER, QO_PARK, QO_BOUNCE };

static const char *
qresult_outcome_name(int o)
{
	switch (o) {
	case QO_SENT:
		return "sent";
	case QO_DEFER:
		return "deferred";
	case QO_PARK:
		return "deferred";	/* parked: the domain is down */
	case QO_BOUNCE:
		return "bounced";
	}
	return "?";
}

/* The first part of the body up to the blank line, at most max bytes. */
static char *
qresult_headers(const char *qid, size_t *lenp)
{
	char	*buf, *p;
	ssize_t	 n;
	size_t	 len;

	*lenp = 0;
	if ((buf = malloc(QSTORE_BODY_CHUNK)) == NULL)
		return NULL;
	if ((n = qstore_body_chunk(&q_env->store, qid, 0, buf,
	    QSTORE_BODY_CHUNK)) <= 0) {
		free(buf);
		return NULL;
	}
	len = (size_t)n > QSCHED_HEADERS_MAX ? QSCHED_HEADERS_MAX : (size_t)n;
	if ((p = memmem(buf, len, "\r\n\r\n", 4)) != NULL)
		len = (size_t)(p - buf) + 2;
	else {
		/* cut after the last complete line */
		while (len > 0 && buf[len - 1] != '\n')
			len--;
	}
	*lenp = len;
	return buf;
}

/* The whole stored message (e->size bytes), or NULL. */
static char *
qresult_body(const char *qid, const struct qenv_rec *e)
{
	char	*buf;
	size_t	 got = 0;
	ssize_t	 n;
	uint32_t c;

	if ((buf = malloc(e->size > 0 ? (size_t)e->size : 1)) == NULL)
		return NULL;
	for (c = 0; c < e->nchunks && got < e->size; c++) {
		if ((n = qstore_body_chunk(&q_env->store, qid, c, buf + got,
		    (size_t)e->size - got)) <= 0)
			break;
		got += (size_t)n;
	}
	if (got != e->size) {
		log_warnx("%s bounce: body unreadable, headers returned", qid);
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Store a DSN about n recipients of qid (failed, delayed or relayed: see
 * queued_bounce.c) and queue it to the sender; -1 on error.
 */
int
qresult_dsn_send(const struct qenv_rec *e, const char *qid,
    const struct qbounce_rcpt *rc, size_t n)
{
	struct qbounce_in	 in;
	struct qmsg		 m;
	char			 sender[BW_ADDR_MAX], boundary[64];
	char			 envid[BW_DSN_ENVID_MAX + 1];
	char			*rcpts[1], *text, *hdrs = NULL;
	char			*body = NULL;
	const char		*kind = "delayed";
	size_t			 len, hlen = 0, i;
	int			 ret = -1, failed = 0, delayed = 0;

	for (i = 0; i < n; i++) {
		failed |= rc[i].action == QBOUNCE_FAILED;
		delayed |= rc[i].action == QBOUNCE_DELAYED;
	}
	if (failed)
		kind = "failed";
	else if (!delayed)
		kind = "relayed";
	strlcpy(sender, e->sender, sizeof(sender));
	strlcpy(envid, e->envid, sizeof(envid));
	memset(&m, 0, sizeof(m));
	bw_qid_new(m.qid);
	strlcpy(boundary, "bw-dsn-", sizeof(boundary));
	strlcat(boundary, m.qid, sizeof(boundary));
	/*
	 * A binary body cannot ride in a message/rfc822 part of a report
	 * that may leave by DATA: RFC 3461 4.3 lets us return the headers.
	 */
	if (failed && e->dsn_ret == BW_DSN_RET_FULL &&
	    (e->flags & BW_MSGF_BODY_BINARY) == 0 &&
	    e->size <= QSCHED_RETURN_FULL_MAX)
		body = qresult_body(qid, e);
	if (body == NULL)
		hdrs = qresult_headers(qid, &hlen);
	memset(&in, 0, sizeof(in));
	in.hostname = q_env->d.cfg->hostname;
	in.qid = qid;
	in.sender = sender;
	in.arrival = e->created;
	in.now = bw_time();
	in.rcpts = rc;
	in.nrcpt = n;
	in.headers = hdrs;
	in.headerslen = hlen;
	in.boundary = boundary;
	in.envid = envid;
	in.body = body;
	in.bodylen = body != NULL ? (size_t)e->size : 0;
	text = qbounce_build(&in, &len);
	free(hdrs);
	free(body);
	if (text == NULL) {
		log_warnx("%s bounce: no memory for the DSN", qid);
		return -1;
	}
	m.created = in.now;
	m.flags = BW_DLVF_BOUNCE;
	if (in.body != NULL)	/* the returned message's own body type */
		m.flags |= e->flags & (BW_MSGF_8BITMIME | BW_MSGF_SMTPUTF8);
	strlcpy(m.listener, "bounce", sizeof(m.listener));
	strlcpy(m.helo, q_env->d.cfg->hostname, sizeof(m.helo));
	strlcpy(m.client_addr, "127.0.0.1", sizeof(m.client_addr));
	strlcpy(m.gateway, q_env->d.cfg->bounce_gateway[0] ?
	    q_env->d.cfg->bounce_gateway : QUEUED_GATEWAY_DEFAULT,
	    sizeof(m.gateway));
	rcpts[0] = sender;
	m.rcpts = rcpts;
	m.nrcpt = 1;
	m.mem = (unsigned char *)text;
	m.memlen = m.memcap = len;
	m.size = len;
	if (qstore_msg_put(&q_env->store, &m) == 0) {
		q_env->c_queued_messages++;
		q_env->c_queued_recipients++;
		q_env->c_bounces++;
		log_info("%s bounce of=%s to=<%s> gateway=%s nrcpt=%zu "
		    "size=%zu dsn=%s ret=%s", m.qid, qid, sender, m.gateway, n,
		    len, kind, in.body != NULL ? "full" : "headers");
		qsched_msg_added(m.qid, m.created, m.gateway, rcpts, 1);
		qsched_flush_request();
		ret = 0;
	} else
		log_warnx("%s bounce: cannot store the DSN for %s", m.qid,
		    qid);
	free(text);
	return ret;
}

/* A job's outcome on its recipient record: 1 when it is final. */
static int
qresult_rcpt_outcome(struct qrcpt_rec *rr, int out, const char *reply,
    uint32_t attempts, int64_t next_try)
{
	rr->attempts = attempts;
	strlcpy(rr->last_reply, reply, sizeof(rr->last_reply));
	switch (out) {
	case QO_SENT:
		rr->state = BW_RCPT_DELIVERED;
		return 1;
	case QO_BOUNCE:
		rr->state = BW_RCPT_BOUNCED;
		return 1;
	case QO_DEFER:
		rr->state = BW_RCPT_DEFERRED;
		rr->next_try = next_try;
		return 0;
	default:
		rr->state = BW_RCPT_QUEUED;
		return 0;
	}
}

/* Recipient idx of it read for update into rr: a Berkeley DB code. */
static int
qresult_rcpt_read(DB_TXN *txn, const char *qid, uint32_t idx, DBT *key,
    unsigned char *kbuf, struct qrcpt_rec *rr)
{
	struct qstore	*st = &q_env->store;
	DBT		 data;
	int		 r;

	qstore_key_idx(key, kbuf, qid, idx);
	memset(rr, 0, sizeof(*rr));	/* of any record length */
	qstore_dbt_user(&data, rr, sizeof(*rr));
	if ((r = st->rcpts->get(st->rcpts, txn, key, &data, DB_RMW)) == 0)
		(void)qstore_rcpt_load(rr, data.size);	/* ends strings */
	return r;
}

/*
 * Apply outcomes to the store in one transaction: recipient records,
 * message removal when all are final, this queue's entry when its part
 * is final, the queue state.  Returns 1 when the item is finished here,
 * 0 when it stays, -1 on a store error (nothing changed).
 *
 * The outcomes are first applied in memory, to learn what is left: a
 * message whose recipients are all final is deleted without rewriting
 * them first (the common case; each rewrite was logged whole).
 */
static int
qresult_store(struct qsitem *it, const struct qenv_rec *e,
    const uint32_t *ridx, const struct qjres *res, const int *out,
    uint32_t n, int64_t next_try, uint32_t *nfinal)
{
	struct qstore		*st = &q_env->store;
	struct qsq		*q = it->q;
	struct qrcpt_rec	 rr;
	unsigned char		 kbuf[QSTORE_KEY_MAX];
	unsigned char		 packed[sizeof(struct qrcpt_rec)];
	DB_TXN			*txn = NULL;
	DBT			 key, data;
	uint32_t		 i, k, left = 0, left_here = 0;
	int			 r, done = 0;

	*nfinal = 0;
	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	for (i = 0; i < e->nrcpt; i++) {
		if ((r = qresult_rcpt_read(txn, it->qid, i, &key, kbuf,
		    &rr)) == DB_NOTFOUND)
			continue;
		if (r != 0)
			goto fail;
		/* one of this job's? (n is small) */
		for (k = 0; k < n && ridx[k] != i; k++)
			;
		if (k < n)
			*nfinal += (uint32_t)qresult_rcpt_outcome(&rr, out[k],
			    res[k].reply, it->attempts, next_try);
		if (rr.state == BW_RCPT_QUEUED || rr.state == BW_RCPT_DEFERRED) {
			left++;
			if (strcmp(rr.domain, q->domain) == 0 &&
			    strcmp(rr.gateway, q->gateway) == 0)
				left_here++;
		}
	}
	/* the message stays: the job's recipients are rewritten, packed */
	for (k = 0; left > 0 && k < n; k++) {
		if ((r = qresult_rcpt_read(txn, it->qid, ridx[k], &key, kbuf,
		    &rr)) == DB_NOTFOUND)
			continue;
		if (r != 0)
			goto fail;
		(void)qresult_rcpt_outcome(&rr, out[k], res[k].reply,
		    it->attempts, next_try);
		memset(&data, 0, sizeof(data));
		data.data = packed;
		data.size = (uint32_t)qstore_rcpt_pack(&rr, packed);
		if ((r = st->rcpts->put(st->rcpts, txn, &key, &data, 0)) != 0)
			goto fail;
	}
	if (left == 0) {
		if ((r = qstore_msg_delete_txn(st, txn, it->qid)) != 0)
			goto fail;
		done = 1;
	} else if (left_here == 0) {
		if ((r = qqueue_remove(st, txn, q->gateway, q->domain,
		    it->qid)) != 0)
			goto fail;
		done = 1;
	}
	if ((r = qqueue_state_put(st, txn, q)) != 0)
		goto fail;
	r = txn->commit(txn, DB_TXN_NOSYNC);
	txn = NULL;
	qstore_txn_end(st, r == 0);
	if (r != 0)
		goto fail;
	if (left == 0)
		qcheck_note_gone(it->qid);
	if (left == 0 && q_env->c_queued_messages > 0)
		q_env->c_queued_messages--;
	if (q_env->c_queued_recipients >= *nfinal)
		q_env->c_queued_recipients -= *nfinal;
	qsched_flush_request();
	return done;
fail:
	log_warnx("%s results: cannot store: %s", it->qid, db_strerror(r));
	if (txn != NULL) {
		txn->abort(txn);
		qstore_txn_end(st, 0);
	}
	if (r == DB_RUNRECOVERY)
		fatalx("%s store: environment needs recovery", it->qid);
	return -1;
}

/* Outcomes of one item (its job, or an expiry), then bounces and store. */
static void
qresult_apply(struct qsitem *it, const uint32_t *ridx, struct qjres *res,
    uint32_t n, const struct bw_dlv_done *d, int probe)
{
	const struct bw_profile_conf	*p;
	struct qsq			*q = it->q;
	struct qstore			*st = &q_env->store;
	struct qenv_rec			 e;
	struct qbounce_rcpt		*brc = NULL;
	struct qrcpt_rec		 rr;
	char				 esc[QRESULT_ESC_MAX];
	char				 resc[BW_ADDR_MAX * 4 + 1];
	char				 dsn[BW_DSN_CODE_MAX];
	int				*out = NULL;
	char				**names = NULL, **orcpts = NULL;
	uint32_t			*notify = NULL;
	int64_t				 now = bw_time(), next_try;
	uint32_t			 i, nb = 0, nfinal, nsent = 0;
	uint32_t			 nbounce = 0, nquiet = 0, nfail = 0;
	int				 unreach = d != NULL && d->unreachable;
	int				 dec, st_done;

	p = qsched_profile(q);
	if (qstore_msg_get(st, it->qid, &e) != 0) {
		log_warnx("%s results: envelope gone", it->qid);
		qsched_item_free(it);
		return;
	}
	e.sender[sizeof(e.sender) - 1] = '\0';
	if ((out = calloc(n ? n : 1, sizeof(*out))) == NULL ||
	    (names = calloc(n ? n : 1, sizeof(*names))) == NULL ||
	    (orcpts = calloc(n ? n : 1, sizeof(*orcpts))) == NULL ||
	    (notify = calloc(n ? n : 1, sizeof(*notify))) == NULL ||
	    (brc = calloc(n ? n : 1, sizeof(*brc))) == NULL) {
		log_warn("%s results: no memory, retried later", it->qid);
		free(out);
		free(names);
		free(orcpts);
		free(notify);
		qsched_item_ready(it, 1);
		return;
	}
	it->attempts++;
	for (i = 0; i < n; i++) {
		const char	*note = NULL;	/* why it bounces here */

		if (qstore_rcpt_get(st, it->qid, ridx[i], &rr) != 0)
			rr.rcpt[0] = '\0';
		rr.rcpt[sizeof(rr.rcpt) - 1] = '\0';
		rr.orcpt[sizeof(rr.orcpt) - 1] = '\0';
		names[i] = strdup(rr.rcpt);
		orcpts[i] = rr.orcpt[0] != '\0' ? strdup(rr.orcpt) : NULL;
		notify[i] = rr.notify;
		if (res[i].status == -1) {
			res[i].status = BW_DLV_TEMPFAIL;
			strlcpy(res[i].dsn, "4.4.0", sizeof(res[i].dsn));
			strlcpy(res[i].reply, d != NULL && d->reason[0] ?
			    d->reason : "no result from deliverd",
			    sizeof(res[i].reply));
		}
		switch (res[i].status) {
		case BW_DLV_DELIVERED:
			out[i] = QO_SENT;
			nsent++;
			break;
		case BW_DLV_PERMFAIL:
			out[i] = QO_BOUNCE;
			break;
		default:
			dec = qretry_decide(it->attempts, p->max_retries,
			    e.created, now, p->max_age);
			if (dec == QRETRY_DEFER)
				out[i] = unreach ? QO_PARK : QO_DEFER;
			else {
				out[i] = QO_BOUNCE;
				/* a DSN says failed: 4.x.y becomes 5.x.y */
				if (res[i].dsn[0] == '4')
					res[i].dsn[0] = '5';
				else
					strlcpy(res[i].dsn, "5.4.7",
					    sizeof(res[i].dsn));
				note = dec == QRETRY_BOUNCE_AGE ?
				    "expired in the queue" : "too many retries";
			}
			break;
		}
		if (out[i] == QO_BOUNCE)
			nbounce++;
		if (out[i] == QO_BOUNCE && !bw_dsn_notify_wants(notify[i],
		    BW_DSN_NOTIFY_FAILURE))
			nquiet++;
		else if (out[i] == QO_BOUNCE || (out[i] == QO_SENT &&
		    bw_dsn_notify_wants(notify[i], BW_DSN_NOTIFY_SUCCESS) &&
		    (res[i].flags & BW_DLVR_DSN_PASSED) == 0)) {
			brc[nb].rcpt = names[i] ? names[i] : "";
			brc[nb].dsn = res[i].dsn;
			brc[nb].relay = res[i].relay;
			brc[nb].reply = res[i].reply;
			brc[nb].note = note;
			brc[nb].action = out[i] == QO_BOUNCE ? QBOUNCE_FAILED :
			    QBOUNCE_RELAYED;
			brc[nb].orcpt = orcpts[i];
			nfail += out[i] == QO_BOUNCE;
			nb++;
		}
		if (out[i] != QO_SENT)
			strlcpy(q->last_error, res[i].reply,
			    sizeof(q->last_error));
	}
	q->delivered += nsent;
	q->hard_bounces += nbounce;
	q->soft_bounces += n - nsent - nbounce;
	q_env->c_rcpt_delivered += nsent;
	q_env->c_rcpt_bounced += nbounce;
	q_env->c_rcpt_deferred += n - nsent - nbounce;
	qtop_note(q, nsent, n - nsent - nbounce, nbounce, now - e.created);

	/* the queue's state changes with the same transaction */
	if (d != NULL && q->state != BW_QUEUE_SUSPENDED) {
		if (unreach && (probe || q->state == BW_QUEUE_ACTIVE))
			qsched_queue_down(q, d->reason[0] ? d->reason :
			    "unreachable");
		else if (!unreach && q->state == BW_QUEUE_DOWN &&
		    (probe || nsent > 0))
			qsched_queue_up(q);
		else if (probe)
			q->probing = 0;
	}

	/* the DSN first: a crash after it repeats it, never loses it */
	if (nquiet > 0)
		log_info("%s bounce not sent: NOTIFY without FAILURE nrcpt=%u",
		    it->qid, nquiet);
	if (nb > 0) {
		if (e.sender[0] == '\0' || (e.flags & BW_DLVF_BOUNCE)) {
			if (nfail > 0)
				log_info("%s bounce of a bounce dropped "
				    "nrcpt=%u", it->qid, nfail);
		} else
			qresult_dsn_send(&e, it->qid, brc, nb);
	}

	next_try = now + (qretry_interval(p->retry_initial, p->retry_max,
	    it->attempts - 1) + 999) / 1000;
	st_done = qresult_store(it, &e, ridx, res, out, n, next_try, &nfinal);

	for (i = 0; i < n; i++) {
		strlcpy(rr.rcpt, names[i] ? names[i] : "", sizeof(rr.rcpt));
		strlcpy(dsn, res[i].dsn, sizeof(dsn));
		log_info("%s to=<%s> relay=%s gateway=%s %s delay=%llds "
		    "attempts=%u dsn=%s status=%s (%s)", it->qid,
		    log_escape(resc, sizeof(resc), rr.rcpt, strlen(rr.rcpt)),
		    res[i].relay[0] ? res[i].relay : "none", q->gateway,
		    res[i].tls[0] ? res[i].tls : "tls=none",
		    (long long)(now - e.created), it->attempts,
		    dsn[0] ? dsn : "-", qresult_outcome_name(out[i]),
		    log_escape(esc, sizeof(esc), res[i].reply,
		    strlen(res[i].reply)));
	}
	for (i = 0; i < n; i++) {
		free(names[i]);
		free(orcpts[i]);
	}
	free(names);
	free(orcpts);
	free(notify);
	free(brc);
	free(out);

	if (st_done == 1)
		qsched_item_free(it);
	else if (st_done == -1 || unreach || q->state != BW_QUEUE_ACTIVE)
		qsched_item_ready(it, 1);
	else
		qsched_item_defer(it, next_try);
}

/* DLV_DONE: every result of the job is in (missing ones: temporary). */
void
qresult_job_done(struct qjob *j, const struct bw_dlv_done *d)
{
	qresult_apply(j->it, j->ridx, j->res, j->nrcpt, d,
	    (j->flags & BW_DLVF_PROBE) != 0);
}

/* Every recipient of the item's queue bounces (expiry, a damaged body). */
void
qresult_item_bounce_all(struct qsitem *it, const char *why, const char *dsn)
{
	struct qsq		*q = it->q;
	struct qenv_rec		 e;
	struct qrcpt_rec	 rr;
	struct qjres		*res = NULL;
	uint32_t		*ridx = NULL, i, n = 0;

	if (it->where == QSI_READY) {
		TAILQ_REMOVE(&q->ready, it, entry);
		q->nready--;
		it->where = QSI_INFLIGHT;
	}
	if (qstore_msg_get(&q_env->store, it->qid, &e) != 0) {
		qsched_item_free(it);
		return;
	}
	if ((ridx = calloc(e.nrcpt ? e.nrcpt : 1, sizeof(*ridx))) == NULL ||
	    (res = calloc(e.nrcpt ? e.nrcpt : 1, sizeof(*res))) == NULL) {
		log_warn("%s expire: no memory", it->qid);
		free(ridx);
		qsched_item_ready(it, 0);
		return;
	}
	for (i = 0; i < e.nrcpt; i++) {
		if (qstore_rcpt_get(&q_env->store, it->qid, i, &rr) != 0)
			continue;
		rr.domain[sizeof(rr.domain) - 1] = '\0';
		rr.gateway[sizeof(rr.gateway) - 1] = '\0';
		rr.last_reply[sizeof(rr.last_reply) - 1] = '\0';
		if ((rr.state != BW_RCPT_QUEUED &&
		    rr.state != BW_RCPT_DEFERRED) ||
		    strcmp(rr.domain, q->domain) != 0 ||
		    strcmp(rr.gateway, q->gateway) != 0)
			continue;
		ridx[n] = i;
		res[n].status = BW_DLV_PERMFAIL;
		strlcpy(res[n].dsn, dsn, sizeof(res[n].dsn));
		strlcpy(res[n].reply, why, sizeof(res[n].reply));
		if (q->last_error[0] != '\0') {
			strlcat(res[n].reply, "; last error: ",
			    sizeof(res[n].reply));
			strlcat(res[n].reply, q->last_error,
			    sizeof(res[n].reply));
		}
		n++;
	}
	qresult_apply(it, ridx, res, n, NULL, 0);
	free(ridx);
	free(res);
}
