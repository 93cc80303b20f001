/*
 * The quarantine: where `bwctl queue repair` puts a message that `verify`
 * found damaged.  It leaves its delivery queues (its index entries and
 * queue counts go, its scheduler items are dropped) but everything else
 * stays: envelope, recipients, piece records and the pieces themselves,
 * and a record in quarantine.db says when and why.  `bwctl queue
 * quarantine` lists them; `bwctl queue release QID` puts one back into
 * its queues (a body whose check value still does not match then bounces
 * with 5.3.0 at delivery, as any damaged body does); `bwctl queue delete
 * QID` removes one for good.  The start-up check leaves a quarantined
 * message alone even where its pieces are damaged.
 *
 * The same records hold the messages an admin held (bwctl hold) or deleted
 * (bwctl delete, which waits queue_undelete_window in this hold area
 * before the purge): queued_action.c acts on those, through the functions
 * below; `queue quarantine | release | delete` see damaged ones only.
 *
 * Each change is one transaction, flushed before the answer, like a
 * suspend (a walk of many messages flushes once per step).  Trust: the qid comes from an admin through controld; it is
 * checked for form, and only a quarantined message can be released or
 * deleted here.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"

/*
 * The queues of qid's pending recipients, from a walk of its recipient
 * records (readable ones: a damaged record names no queue we can trust).
 */
size_t
qquar_queues(const char *qid, struct qquar_q *v, size_t max,
    uint32_t *pending)
{
	struct qstore		*st = &q_env->store;
	struct qrcpt_rec	 rr;
	unsigned char		 kbuf[QSTORE_KEY_MAX];
	char			 why[BW_VERIFY_TEXT_MAX];
	DBC			*c = NULL;
	DBT			 key, data;
	size_t			 n = 0, i;
	int			 r, flag = DB_SET_RANGE;

	*pending = 0;
	if (st->rcpts->cursor(st->rcpts, NULL, &c, 0) != 0)
		return 0;
	qstore_key_idx(&key, kbuf, qid, 0);
	key.ulen = sizeof(kbuf);
	key.flags = DB_DBT_USERMEM;
	qstore_dbt_user(&data, &rr, sizeof(rr));
	while ((r = c->get(c, &key, &data, flag)) == 0 ||
	    r == DB_BUFFER_SMALL) {
		flag = DB_NEXT;
		if (key.size < BW_QID_LEN || memcmp(kbuf, qid, BW_QID_LEN) != 0)
			break;
		if (r != 0 || qstore_rcpt_read(&data, &rr, why,
		    sizeof(why)) == -1)
			continue;
		if (rr.state != BW_RCPT_QUEUED && rr.state != BW_RCPT_DEFERRED)
			continue;
		(*pending)++;
		for (i = 0; i < n; i++)
			if (strcmp(v[i].gw, rr.gateway) == 0 &&
			    strcmp(v[i].dom, rr.domain) == 0)
				break;
		if (i == n && n < max) {
			strlcpy(v[n].gw, rr.gateway, sizeof(v[n].gw));
			strlcpy(v[n].dom, rr.domain, sizeof(v[n].dom));
			v[n].nrcpt = 0;
			n++;
		}
		if (i < n)
			v[i].nrcpt++;
	}
	c->close(c);
	return n;
}

/*
 * Commit txn and, with flush, make it durable; -1 (logged) if it did not
 * commit.  Without flush the caller flushes before it answers.
 */
int
qquar_commit(DB_TXN *txn, const char *qid, const char *what, int flush)
{
	int	 r;

	if ((r = txn->commit(txn, DB_TXN_NOSYNC)) != 0) {
		log_warnx("%s quarantine: cannot %s: %s", qid, what,
		    db_strerror(r));
		qstore_txn_end(&q_env->store, 0);
		return -1;
	}
	qstore_txn_end(&q_env->store, 1);
	/* told to an admin: durable first (an fsync in the loop, rare) */
	if (flush && qstore_flush(&q_env->store) == -1)
		qfail_storage();
	return 0;
}

/* The record of qid: 0, 1 when there is none, -1 when unreadable. */
int
qquar_get(const char *qid, struct qquar_rec *rec)
{
	struct qstore	*st = &q_env->store;
	char		 why[BW_VERIFY_TEXT_MAX];
	DBT		 key, data;
	int		 r;

	memset(&key, 0, sizeof(key));
	key.data = (void *)qid;
	key.size = BW_QID_LEN;
	memset(rec, 0, sizeof(*rec));
	qstore_dbt_user(&data, rec, sizeof(*rec));
	if ((r = st->quarantine->get(st->quarantine, NULL, &key, &data,
	    0)) == DB_NOTFOUND)
		return 1;
	if (r != 0 || qstore_quar_read(&data, rec, why, sizeof(why)) == -1) {
		log_warnx("%s quarantine: record unreadable: %s", qid, r != 0 ?
		    db_strerror(r) : why);
		memset(rec, 0, sizeof(*rec));	/* reads as damaged */
		return -1;
	}
	return 0;
}

/* Write rec as qid's record inside txn, with its purge time indexed. */
static int
qquar_rec_put(DB_TXN *txn, const char *qid, const struct qquar_rec *rec)
{
	struct qstore	*st = &q_env->store;
	DBT		 key, data;
	int		 r;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = (void *)qid;
	key.size = BW_QID_LEN;
	data.data = (void *)rec;
	data.size = sizeof(*rec);
	if ((r = st->quarantine->put(st->quarantine, txn, &key, &data,
	    0)) != 0)
		return r;
	if (rec->expires != 0)
		return qact_expiry_put(txn, qid, rec->expires);
	return 0;
}

/*
 * Take qid out of its queues into the quarantine or the hold area, with
 * rec as its record: 0, 1 when a job at deliverd holds it now (not
 * moved), -1 on a store error (logged).
 */
int
qquar_move(const char *qid, const struct qquar_rec *rec, int flush)
{
	struct qstore		*st = &q_env->store;
	struct qquar_q		 qs[QQUAR_QUEUES_MAX];
	struct qsitem		*it;
	struct qsq		*q;
	DB_TXN			*txn = NULL;
	uint32_t		 pending;
	size_t			 n, i;
	int			 r;

	if (qdispatch_busy(qid))
		return 1;
	n = qquar_queues(qid, qs, QQUAR_QUEUES_MAX, &pending);
	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if ((r = qqueue_remove(st, txn, qs[i].gw, qs[i].dom,
		    qid)) != 0)
			goto fail;
	if ((r = qquar_rec_put(txn, qid, rec)) != 0)
		goto fail;
	r = qquar_commit(txn, qid, "move", flush);
	txn = NULL;
	if (r == -1)
		return -1;
	for (i = 0; i < n; i++)
		if ((q = qsched_queue_find(qs[i].gw, qs[i].dom)) != NULL &&
		    (it = qsched_item_find(q, qid)) != NULL)
			qsched_item_free(it);
	if (q_env->c_queued_messages > 0)
		q_env->c_queued_messages--;
	q_env->c_queued_recipients = q_env->c_queued_recipients > pending ?
	    q_env->c_queued_recipients - pending : 0;
	return 0;
fail:
	log_warnx("%s quarantine: cannot move: %s", qid, db_strerror(r));
	if (txn != NULL) {
		txn->abort(txn);
		qstore_txn_end(st, 0);
	}
	return -1;
}

/* bwctl queue repair: a damaged message into the quarantine (qquar_move). */
int
qquar_put(const char *qid, const char *why)
{
	struct qquar_rec	 rec;
	int			 r;

	memset(&rec, 0, sizeof(rec));
	rec.version = QSTORE_VERSION;
	rec.kind = QQUAR_DAMAGED;
	rec.when = bw_time();
	strlcpy(rec.why, why, sizeof(rec.why));
	if ((r = qquar_move(qid, &rec, 1)) == 0)
		log_warnx("%s quarantined by bwctl queue repair: %s", qid,
		    why);
	return r;
}

/* A message out of its queues changes kind (held to deleted): 0, -1. */
int
qquar_rekind(const char *qid, const struct qquar_rec *old,
    const struct qquar_rec *rec, int flush)
{
	struct qstore	*st = &q_env->store;
	DB_TXN		*txn = NULL;
	int		 r;

	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	if ((old->expires != 0 && (r = qact_expiry_del(txn, qid,
	    old->expires)) != 0) || (r = qquar_rec_put(txn, qid, rec)) != 0)
		goto fail;
	r = qquar_commit(txn, qid, "change", flush);
	txn = NULL;
	return r;
fail:
	log_warnx("%s quarantine: cannot change: %s", qid, db_strerror(r));
	if (txn != NULL) {
		txn->abort(txn);
		qstore_txn_end(st, 0);
	}
	return -1;
}

static void
qquar_row(struct bw_peer *peer, uint32_t reqid, const char *qid,
    uint32_t kind, int64_t when, const char *what)
{
	struct bw_queue_verify_row	 row;

	memset(&row, 0, sizeof(row));
	strlcpy(row.qid, qid, sizeof(row.qid));
	row.kind = kind;
	row.when = when;
	strlcpy(row.what, what, sizeof(row.what));
	if (bw_peer_send(peer, BW_IMSG_QUEUE_VERIFY_ROW, reqid, -1, &row,
	    sizeof(row)) == -1)
		log_warn("ctl: cannot send QUEUE_VERIFY_ROW");
}

static void
qquar_end(struct bw_peer *peer, uint32_t reqid, uint32_t status,
    uint64_t quarantined)
{
	struct bw_queue_verify_end	 end;

	memset(&end, 0, sizeof(end));
	end.status = status;
	end.quarantined = quarantined;
	if (bw_peer_send(peer, BW_IMSG_QUEUE_VERIFY_END, reqid, -1, &end,
	    sizeof(end)) == -1)
		log_warn("ctl: cannot send QUEUE_VERIFY_END");
}

/* Every quarantined message (bounded by QVERIFY_ROWS_MAX). */
static void
qquar_list(struct bw_peer *peer, uint32_t reqid)
{
	struct qstore		*st = &q_env->store;
	struct qquar_rec	 rec;
	char			 kbuf[BW_QID_LEN + 1], why[BW_VERIFY_TEXT_MAX];
	DBC			*c = NULL;
	DBT			 key, data;
	uint64_t		 n = 0;
	int			 r;

	if ((r = st->quarantine->cursor(st->quarantine, NULL, &c, 0)) != 0) {
		log_warnx("ctl: quarantine list: %s", db_strerror(r));
		qquar_end(peer, reqid, BW_VERIFY_ERROR, 0);
		return;
	}
	qstore_dbt_user(&key, kbuf, BW_QID_LEN);
	qstore_dbt_user(&data, &rec, sizeof(rec));
	while ((r = c->get(c, &key, &data, DB_NEXT)) == 0 &&
	    n < QVERIFY_ROWS_MAX) {
		if (key.size != BW_QID_LEN || qstore_quar_read(&data, &rec,
		    why, sizeof(why)) == -1 || rec.kind != QQUAR_DAMAGED)
			continue;	/* held and deleted: bwctl show held */
		kbuf[BW_QID_LEN] = '\0';
		qquar_row(peer, reqid, kbuf, BW_VROW_QUARANTINED, rec.when,
		    rec.why);
		n++;
	}
	c->close(c);
	qquar_end(peer, reqid, BW_VERIFY_DONE, n);
}

/* A quarantined, held or deleted message back into its queues. */
int
qquar_release(const char *qid, int flush)
{
	struct qstore		*st = &q_env->store;
	struct qquar_q		 qs[QQUAR_QUEUES_MAX];
	struct qquar_rec	 rec;
	struct qenv_rec		 e;
	DB_TXN			*txn = NULL;
	DBT			 key;
	uint32_t		 pending;
	size_t			 n, i;
	int			 r;

	if (qstore_msg_get(st, qid, &e) != 0) {
		log_warnx("%s quarantine: its envelope cannot be read; it can "
		    "only be deleted", qid);
		return -1;
	}
	if (qquar_get(qid, &rec) != 0)
		memset(&rec, 0, sizeof(rec));
	n = qquar_queues(qid, qs, QQUAR_QUEUES_MAX, &pending);
	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	if (rec.expires != 0 && (r = qact_expiry_del(txn, qid,
	    rec.expires)) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if ((r = qqueue_add(st, txn, qs[i].gw, qs[i].dom, qid,
		    qs[i].nrcpt, e.created)) != 0)
			goto fail;
	memset(&key, 0, sizeof(key));
	key.data = (void *)qid;
	key.size = BW_QID_LEN;
	if ((r = st->quarantine->del(st->quarantine, txn, &key, 0)) != 0)
		goto fail;
	r = qquar_commit(txn, qid, "release", flush);
	txn = NULL;
	if (r == -1)
		return -1;
	for (i = 0; i < n; i++)
		(void)qsched_item_add(qid, e.created, qs[i].gw, qs[i].dom);
	q_env->c_queued_messages++;
	q_env->c_queued_recipients += pending;
	return 0;
fail:
	log_warnx("%s quarantine: cannot release: %s", qid, db_strerror(r));
	if (txn != NULL) {
		txn->abort(txn);
		qstore_txn_end(st, 0);
	}
	return -1;
}

/* Delete every record of db whose key starts with qid, inside txn. */
static int
qquar_del_prefix(DB *db, DB_TXN *txn, const char *qid)
{
	unsigned char	 kbuf[QSTORE_KEY_MAX];
	DBC		*c = NULL;
	DBT		 key, data;
	int		 r, flag = DB_SET_RANGE;

	if ((r = db->cursor(db, txn, &c, 0)) != 0)
		return r;
	qstore_key_idx(&key, kbuf, qid, 0);
	key.ulen = sizeof(kbuf);
	key.flags = DB_DBT_USERMEM;
	memset(&data, 0, sizeof(data));
	data.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
	while ((r = c->get(c, &key, &data, flag)) == 0) {
		flag = DB_NEXT;
		if (key.size < BW_QID_LEN || memcmp(kbuf, qid, BW_QID_LEN) != 0)
			break;
		if ((r = c->del(c, 0)) != 0)
			break;
	}
	c->close(c);
	return r == DB_NOTFOUND ? 0 : r;
}

/*
 * A quarantined (or held, or deleted) message removed for good inside
 * txn: a Berkeley DB error.  An envelope that still reads goes the usual
 * way (its pieces are released after the next flush); a damaged one
 * record by record (its pieces are freed at the next start).  The caller
 * removes a purge time from holdexp.db.
 */
int
qquar_remove_txn(DB_TXN *txn, const char *qid)
{
	struct qstore	*st = &q_env->store;
	struct qenv_rec	 e;
	DBT		 key;
	int		 r, whole;

	whole = qstore_msg_get(st, qid, &e) == 0;
	memset(&key, 0, sizeof(key));
	key.data = (void *)qid;
	key.size = BW_QID_LEN;
	if (whole) {
		if ((r = qstore_msg_delete_txn(st, txn, qid)) != 0)
			return r;
	} else if (((r = st->messages->del(st->messages, txn, &key, 0)) != 0 &&
	    r != DB_NOTFOUND) ||
	    (r = qquar_del_prefix(st->body, txn, qid)) != 0 ||
	    (r = qquar_del_prefix(st->rcpts, txn, qid)) != 0)
		return r;
	return st->quarantine->del(st->quarantine, txn, &key, 0);
}

/* bwctl queue delete: a damaged message removed for good. */
static int
qquar_delete(const char *qid)
{
	struct qstore	*st = &q_env->store;
	struct qenv_rec	 e;
	DB_TXN		*txn = NULL;
	int		 r, whole;

	whole = qstore_msg_get(st, qid, &e) == 0;
	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	if ((r = qquar_remove_txn(txn, qid)) != 0)
		goto fail;
	r = qquar_commit(txn, qid, "delete", 1);
	txn = NULL;
	if (r == -1)
		return -1;
	qcheck_note_gone(qid);
	log_warnx("%s deleted from the quarantine by bwctl%s", qid, whole ?
	    "" : " (damaged envelope: its space returns at the next start)");
	return 0;
fail:
	log_warnx("%s quarantine: cannot delete: %s", qid, db_strerror(r));
	if (txn != NULL) {
		txn->abort(txn);
		qstore_txn_end(st, 0);
	}
	return -1;
}

/* QUEUE_VERIFY_REQ with op LIST, RELEASE or DELETE. */
void
qquar_cmd(struct bw_peer *peer, uint32_t reqid, uint32_t op, const char *qid)
{
	struct qquar_rec	 rec;
	int			 r;

	if (op == BW_VERIFY_LIST) {
		qquar_list(peer, reqid);
		return;
	}
	/* held and deleted messages are bwctl release's and undelete's */
	if (!bw_qid_valid(qid) || qquar_get(qid, &rec) == 1 ||
	    (rec.kind != QQUAR_DAMAGED && rec.version != 0)) {
		qquar_end(peer, reqid, BW_VERIFY_NOTFOUND, 0);
		return;
	}
	if (op == BW_VERIFY_RELEASE) {
		if ((r = qquar_release(qid, 1)) == 0)
			log_info("%s released from the quarantine by bwctl: "
			    "back in its queues", qid);
	} else
		r = qquar_delete(qid);
	if (r == 0)
		qquar_row(peer, reqid, qid, BW_VROW_RELEASED, bw_time(),
		    op == BW_VERIFY_RELEASE ? "released" : "deleted");
	qquar_end(peer, reqid, r == 0 ? BW_VERIFY_DONE : BW_VERIFY_ERROR, 0);
}
