/*
 * Per-(gateway, domain) queue records: a count of messages and recipients
 * and the oldest arrival, kept in queues.db inside the same transaction
 * that stores or removes a message, plus the per-domain index domidx.db
 * (gateway NUL domain NUL qid) from which the scheduler takes a domain's
 * messages in arrival order without scanning the whole queue.
 *
 * Trust: domains come from recipients smtpd accepted; they are cut to
 * BW_DOMAIN_MAX, lower-cased, and only ever used as key bytes.
 */
#include "bw_autoconf.h"

#include <string.h>

#include "log.h"
#include "util.h"
#include "queued.h"

/* gateway NUL domain: the key of a queue record; its length. */
size_t
qqueue_key(char *dst, size_t dstsz, const char *gw, const char *domain)
{
	size_t	 gl = strnlen(gw, BW_NAME_MAX - 1);
	size_t	 dl = strnlen(domain, BW_DOMAIN_MAX);

	if (gl + 1 + dl > dstsz)
		return 0;
	memcpy(dst, gw, gl);
	dst[gl] = '\0';
	memcpy(dst + gl + 1, domain, dl);
	return gl + 1 + dl;
}

/* The recipient's domain: lower-cased text after the last '@'. */
void
qqueue_rcpt_domain(char *dst, size_t dstsz, const char *rcpt,
    const char *fallback)
{
	const char	*at = strrchr(rcpt, '@');

	if (at == NULL || at[1] == '\0')
		bw_lowercase(dst, fallback, dstsz);
	else
		bw_lowercase(dst, at + 1, dstsz);
}

static size_t
qqueue_idx_key(char *dst, size_t dstsz, const char *gw, const char *domain,
    const char *qid)
{
	size_t	 n;

	if ((n = qqueue_key(dst, dstsz, gw, domain)) == 0 ||
	    n + 1 + BW_QID_LEN > dstsz)
		return 0;
	dst[n] = '\0';
	memcpy(dst + n + 1, qid, BW_QID_LEN);
	return n + 1 + BW_QID_LEN;
}

static int
qqueue_get(struct qstore *st, DB_TXN *txn, DBT *key, struct qqueue_rec *q)
{
	DBT	 data;
	int	 r;

	qstore_dbt_user(&data, q, sizeof(*q));
	memset(q, 0, sizeof(*q));
	r = st->queues->get(st->queues, txn, key, &data, DB_RMW);
	if (r == DB_NOTFOUND) {
		memset(q, 0, sizeof(*q));
		q->version = QSTORE_VERSION;
		q->state = BW_QUEUE_ACTIVE;
		return 0;
	}
	return r;
}

static int
qqueue_put(struct qstore *st, DB_TXN *txn, DBT *key, struct qqueue_rec *q)
{
	DBT	 data;

	memset(&data, 0, sizeof(data));
	data.data = q;
	data.size = sizeof(*q);
	return st->queues->put(st->queues, txn, key, &data, 0);
}

/* Add nrcpt recipients of qid to the queue (gw, domain); a DB error. */
int
qqueue_add(struct qstore *st, DB_TXN *txn, const char *gw, const char *domain,
    const char *qid, uint32_t nrcpt, int64_t created)
{
	struct qqueue_rec	 q;
	char			 kbuf[QQUEUE_KEY_MAX];
	DBT			 key, data;
	int			 r;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = kbuf;
	if ((key.size = (uint32_t)qqueue_idx_key(kbuf, sizeof(kbuf), gw,
	    domain, qid)) == 0)
		return EINVAL;
	data.data = &nrcpt;
	data.size = sizeof(nrcpt);
	if ((r = st->domidx->put(st->domidx, txn, &key, &data, 0)) != 0)
		return r;

	key.size = (uint32_t)qqueue_key(kbuf, sizeof(kbuf), gw, domain);
	if ((r = qqueue_get(st, txn, &key, &q)) != 0)
		return r;
	if (q.messages == 0 || q.oldest == 0 || created < q.oldest)
		q.oldest = created;
	q.messages++;
	q.recipients += nrcpt;
	return qqueue_put(st, txn, &key, &q);
}

/*
 * Take qid out of the queue (gw, domain).  Already gone: nothing to do.
 * The oldest arrival is re-read from the first index entry of the queue
 * (qids sort by arrival) and that message's envelope.
 */
int
qqueue_remove(struct qstore *st, DB_TXN *txn, const char *gw,
    const char *domain, const char *qid)
{
	struct qqueue_rec	 q;
	struct qenv_rec		 e;
	char			 kbuf[QQUEUE_KEY_MAX], ibuf[QQUEUE_KEY_MAX];
	uint32_t		 nrcpt = 0, n2;
	size_t			 plen;
	DBC			*c = NULL;
	DBT			 key, qkey, data;
	int			 r;

	memset(&key, 0, sizeof(key));
	memset(&qkey, 0, sizeof(qkey));
	memset(&data, 0, sizeof(data));
	key.data = kbuf;
	if ((key.size = (uint32_t)qqueue_idx_key(kbuf, sizeof(kbuf), gw,
	    domain, qid)) == 0)
		return EINVAL;
	qstore_dbt_user(&data, &nrcpt, sizeof(nrcpt));
	r = st->domidx->get(st->domidx, txn, &key, &data, DB_RMW);
	if (r == DB_NOTFOUND)
		return 0;
	if (r != 0 || (r = st->domidx->del(st->domidx, txn, &key, 0)) != 0)
		return r;

	qkey.data = kbuf;
	qkey.size = (uint32_t)qqueue_key(kbuf, sizeof(kbuf), gw, domain);
	if ((r = qqueue_get(st, txn, &qkey, &q)) != 0)
		return r;
	if (q.messages > 0)
		q.messages--;
	q.recipients = q.recipients > nrcpt ? q.recipients - nrcpt : 0;
	if (q.messages == 0) {
		q.oldest = 0;
		q.recipients = 0;
		if (q.state == BW_QUEUE_ACTIVE)
			return st->queues->del(st->queues, txn, &qkey, 0);
		return qqueue_put(st, txn, &qkey, &q);
	}

	/* the first remaining index entry of this queue is the oldest */
	plen = qkey.size + 1;
	memcpy(ibuf, kbuf, qkey.size);
	ibuf[qkey.size] = '\0';
	if ((r = st->domidx->cursor(st->domidx, txn, &c, 0)) != 0)
		return r;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = ibuf;
	key.size = (uint32_t)plen;
	key.ulen = sizeof(ibuf);
	key.flags = DB_DBT_USERMEM;
	qstore_dbt_user(&data, &n2, sizeof(n2));
	r = c->get(c, &key, &data, DB_SET_RANGE);
	c->close(c);
	if (r == 0 && key.size == plen + BW_QID_LEN &&
	    memcmp(ibuf, kbuf, plen - 1) == 0 && ibuf[plen - 1] == '\0') {
		memset(&key, 0, sizeof(key));
		memset(&data, 0, sizeof(data));
		key.data = ibuf + plen;
		key.size = BW_QID_LEN;
		qstore_dbt_user(&data, &e, sizeof(e));
		if ((r = st->messages->get(st->messages, txn, &key, &data,
		    0)) == 0 && qstore_env_load(&e, data.size) == 0)
			q.oldest = e.created;
		else if (r != DB_NOTFOUND)
			return r;
	} else if (r != 0 && r != DB_NOTFOUND)
		return r;
	return qqueue_put(st, txn, &qkey, &q);
}

/* A queues.db record as a QUEUE_ENTRY row; -1 if malformed. */
int
qqueue_entry_from(const DBT *key, const DBT *data, struct bw_queue_entry *qe)
{
	const char		*k = key->data;
	const char		*nul;
	struct qqueue_rec	 q;
	size_t			 gl;

	memset(qe, 0, sizeof(*qe));
	if (data->size > sizeof(q) ||
	    (nul = memchr(k, '\0', key->size)) == NULL)
		return -1;
	memset(&q, 0, sizeof(q));
	memcpy(&q, data->data, data->size);
	gl = (size_t)(nul - k);
	if (gl >= sizeof(qe->gateway) ||
	    key->size - gl - 1 >= sizeof(qe->domain))
		return -1;
	memcpy(qe->gateway, k, gl);
	memcpy(qe->domain, nul + 1, key->size - gl - 1);
	qe->state = q.state;
	qe->messages = q.recipients;
	qe->oldest = q.oldest;
	qe->delivered = q.delivered;
	qe->hard_bounces = q.hard_bounces;
	qe->soft_bounces = q.soft_bounces;
	qe->next_retry = q.next_retry;
	q.last_error[sizeof(q.last_error) - 1] = '\0';
	memcpy(qe->last_error, q.last_error, sizeof(qe->last_error));
	return 0;
}

/*
 * The scheduling state of q into its queues.db record, inside txn.  An
 * active queue without a record (empty) gets none; a DB error.
 */
int
qqueue_state_put(struct qstore *st, DB_TXN *txn, const struct qsq *q)
{
	struct qqueue_rec	 rec;
	char			 kbuf[QQUEUE_KEY_MAX];
	DBT			 key, data;
	int			 r;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = kbuf;
	if ((key.size = (uint32_t)qqueue_key(kbuf, sizeof(kbuf), q->gateway,
	    q->domain)) == 0)
		return EINVAL;
	memset(&rec, 0, sizeof(rec));
	qstore_dbt_user(&data, &rec, sizeof(rec));
	r = st->queues->get(st->queues, txn, &key, &data, DB_RMW);
	if (r == DB_NOTFOUND) {
		if (q->state == BW_QUEUE_ACTIVE)
			return 0;
		memset(&rec, 0, sizeof(rec));
	} else if (r != 0)
		return r;
	if (rec.messages == 0 && q->state == BW_QUEUE_ACTIVE)
		return st->queues->del(st->queues, txn, &key, 0);
	rec.version = QSTORE_VERSION;
	rec.state = q->state;
	rec.next_retry = q->next_retry;
	rec.interval_ms = q->interval_ms;
	rec.retries = q->retries;
	rec.delivered = q->delivered;
	rec.hard_bounces = q->hard_bounces;
	rec.soft_bounces = q->soft_bounces;
	strlcpy(rec.last_error, q->last_error, sizeof(rec.last_error));
	memset(&data, 0, sizeof(data));
	data.data = &rec;
	data.size = sizeof(rec);
	return st->queues->put(st->queues, txn, &key, &data, 0);
}
