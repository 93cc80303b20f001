/*
 * bwctl queue verify / repair: read every stored piece of the live spool
 * and check it, without stopping the service.
 *
 * Four walks, one after the other, each in bounded steps re-armed by a
 * zero-delay timer (QVERIFY_STEP_MSGS envelopes or QVERIFY_STEP_BYTES of
 * body, QVERIFY_STEP_KEYS index records per event-loop turn), so that
 * submissions and deliveries go on between steps:
 *
 *  1. messages.db: each envelope's layout; each body piece record and the
 *     piece itself (read from its segment, CRC-32C checked), their total
 *     against the envelope's size; each recipient record, and for a
 *     recipient still to be delivered its index entry in domidx.db and
 *     its queue record in queues.db;
 *  2. domidx.db: every index entry names a message that exists;
 *  3. body.db and 4. recipients.db: every record belongs to a message
 *     that exists.
 *
 * Everything about one message is checked within one step, in the event
 * loop that alone changes the store, so a message delivered meanwhile is
 * seen whole or not at all; cursors are opened for one step, without a
 * transaction, and closed before anything is written, so a writer never
 * waits on them for longer than a step.  Record layouts are judged by the
 * helpers in queued_store.c (qstore_env_read and friends), which are what
 * a release that adds fields extends; records this walk does not know
 * (other key shapes, other databases) are not judged.
 *
 * Problems are reported by queue id (QUEUE_VERIFY_ROW), at most
 * QVERIFY_ROWS_PER_MSG per message and QVERIFY_ROWS_MAX per run.  repair
 * moves each damaged message to the quarantine (queued_quarantine.c) and
 * removes orphan records, one log line each.  Quarantined messages are
 * not checked again.  One run at a time.
 *
 * Trust: the store is ours, but a damaged record is exactly what this
 * reads: every length and index is checked before use.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"

#define QVERIFY_WPENDING_MAX	(4 * 1024 * 1024)	/* pause the walk */
#define QVERIFY_PAUSE_MS	20
#define QVERIFY_ACT_MAX		(QVERIFY_STEP_KEYS + QVERIFY_STEP_MSGS)

enum qverify_phase {
	QV_MESSAGES,
	QV_INDEX,
	QV_BODY_KEYS,
	QV_RCPT_KEYS,
	QV_DONE
};

/* Something repair does once the step's cursor is closed. */
struct qverify_act {
	char		 qid[BW_QID_LEN + 1];
	int		 orphan;	/* else quarantine */
	DB		*db;		/* orphan: where */
	unsigned char	 key[QQUEUE_KEY_MAX];	/* domidx orphan: the key */
	uint32_t	 keylen;
	char		 why[BW_VERIFY_TEXT_MAX];
};

struct qverify {
	struct bw_peer			*peer;
	uint32_t			 reqid;
	int				 repair;
	int				 phase;
	unsigned char			 last[QQUEUE_KEY_MAX];
	uint32_t			 lastlen;	/* 0: from the start */
	char				 lastqid[BW_QID_LEN + 1];
	uint64_t			 rows;
	struct bw_queue_verify_end	 end;
	struct event			*ev;
	unsigned char			*buf;		/* one piece */
	struct qverify_act		*acts;
	size_t				 nacts;
	void				*kmem;		/* DB_DBT_REALLOC */
	void				*dmem;
};

static struct qverify	*qv;

static void
qverify_row(struct qverify *v, const char *qid, uint32_t kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
qverify_row(struct qverify *v, const char *qid, uint32_t kind,
    const char *fmt, ...)
{
	struct bw_queue_verify_row	 row;
	va_list				 ap;

	if (v->rows >= QVERIFY_ROWS_MAX)
		return;
	memset(&row, 0, sizeof(row));
	strlcpy(row.qid, qid, sizeof(row.qid));
	row.kind = kind;
	va_start(ap, fmt);
	vsnprintf(row.what, sizeof(row.what), fmt, ap);
	va_end(ap);
	if (bw_peer_send(v->peer, BW_IMSG_QUEUE_VERIFY_ROW, v->reqid, -1, &row,
	    sizeof(row)) == -1)
		log_warn("ctl: cannot send QUEUE_VERIFY_ROW");
	v->rows++;
}

static void
qverify_free(struct qverify *v)
{
	if (v->ev != NULL)
		event_free(v->ev);
	free(v->buf);
	free(v->acts);
	free(v->kmem);
	free(v->dmem);
	free(v);
	if (qv == v)
		qv = NULL;
}

static void
qverify_arm(struct qverify *v, int ms)
{
	struct timeval	 tv = { 0, ms * 1000 };

	evtimer_add(v->ev, &tv);
}

/* Remember where the walk stopped: the last key handled. */
static void
qverify_mark(struct qverify *v, const DBT *key)
{
	/* a longer (damaged) key: its prefix sorts before it, so the next
	 * step sees it once more and moves on */
	v->lastlen = key->size <= sizeof(v->last) ? key->size :
	    (uint32_t)sizeof(v->last);
	memcpy(v->last, key->data, v->lastlen);
}

static void
qverify_act_add(struct qverify *v, const char *qid, int orphan, DB *db,
    const DBT *key, const char *why)
{
	struct qverify_act	*a;

	if (!v->repair || v->nacts >= QVERIFY_ACT_MAX)
		return;
	a = &v->acts[v->nacts++];
	memset(a, 0, sizeof(*a));
	strlcpy(a->qid, qid, sizeof(a->qid));
	a->orphan = orphan;
	a->db = db;
	if (key != NULL && key->size <= sizeof(a->key)) {
		memcpy(a->key, key->data, key->size);
		a->keylen = key->size;
	}
	strlcpy(a->why, why, sizeof(a->why));
}

/* ---- one message ---- */

struct qverify_msg {
	struct qverify	*v;
	const char	*qid;
	int		 problems;
	char		 first[BW_VERIFY_TEXT_MAX];
};

static void
qverify_problem(struct qverify_msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
qverify_problem(struct qverify_msg *m, const char *fmt, ...)
{
	char	 text[BW_VERIFY_TEXT_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (m->problems == 0)
		strlcpy(m->first, text, sizeof(m->first));
	if (m->problems++ < QVERIFY_ROWS_PER_MSG)
		qverify_row(m->v, m->qid, BW_VROW_DAMAGED, "%s", text);
}

/* Record idx of qid in db: a Berkeley DB code; data over buf. */
static int
qverify_get_idx(DB *db, const char *qid, uint32_t idx, DBT *data, void *buf,
    uint32_t bufsz)
{
	unsigned char	 kbuf[QSTORE_KEY_MAX];
	DBT		 key;

	qstore_key_idx(&key, kbuf, qid, idx);
	qstore_dbt_user(data, buf, bufsz);
	return db->get(db, NULL, &key, data, 0);
}

static uint64_t
qverify_body(struct qverify_msg *m, const struct qenv_rec *e)
{
	struct qstore	*st = &q_env->store;
	struct qseg_ext	 x;
	unsigned char	 raw[sizeof(x) + 16];
	char		 why[BW_VERIFY_TEXT_MAX];
	uint64_t	 total = 0, read = 0;
	uint32_t	 i;
	int		 r, bad = 0;

	for (i = 0; i < e->nchunks; i++) {
		DBT	 data;

		r = qverify_get_idx(st->body, m->qid, i, &data, raw,
		    sizeof(raw));
		if (r == DB_NOTFOUND) {
			qverify_problem(m, "body piece %u of %u missing", i,
			    e->nchunks);
			bad = 1;
			continue;
		}
		if (r != 0 && r != DB_BUFFER_SMALL) {
			qverify_problem(m, "body piece %u: %s", i,
			    db_strerror(r));
			bad = 1;
			continue;
		}
		if (r == DB_BUFFER_SMALL || qstore_ext_read(&data, &x, why,
		    sizeof(why)) == -1) {
			qverify_problem(m, "body piece %u: %s", i,
			    r == DB_BUFFER_SMALL ? "oversized piece record" :
			    why);
			bad = 1;
			continue;
		}
		m->v->end.records++;
		total += x.len;
		if (qseg_read(st->seg, &x, m->v->buf, QSTORE_BODY_CHUNK) ==
		    -1) {
			qverify_problem(m, "body piece %u (segment %08x offset "
			    "%" PRIu64 " length %u): %s", i, x.seg, x.off,
			    x.len, errno == EBADMSG ? "CRC-32C mismatch or "
			    "cut short" : errno == EINVAL ? "not inside a "
			    "segment file" : strerror(errno));
			bad = 1;
			continue;
		}
		m->v->end.pieces++;
		m->v->end.bytes += x.len;
		read += x.len;
	}
	if (!bad && total != e->size)
		qverify_problem(m, "body pieces hold %" PRIu64 " bytes, the "
		    "envelope says %" PRIu64, total, e->size);
	return read;
}

/* Is key in db?  1, 0, or -1 on an error. */
static int
qverify_exists(DB *db, const void *k, uint32_t klen)
{
	DBT	 key, data;
	int	 r;

	memset(&key, 0, sizeof(key));
	key.data = (void *)k;
	key.size = klen;
	qstore_dbt_user(&data, NULL, 0);
	r = db->get(db, NULL, &key, &data, 0);
	if (r == 0 || r == DB_BUFFER_SMALL)
		return 1;
	return r == DB_NOTFOUND ? 0 : -1;
}

static void
qverify_rcpts(struct qverify_msg *m, const struct qenv_rec *e)
{
	struct qstore		*st = &q_env->store;
	struct qrcpt_rec	 rr;
	char			 why[BW_VERIFY_TEXT_MAX];
	char			 k[QQUEUE_KEY_MAX];
	size_t			 n;
	uint32_t		 i;
	int			 r;

	for (i = 0; i < e->nrcpt; i++) {
		DBT	 data;

		r = qverify_get_idx(st->rcpts, m->qid, i, &data, &rr,
		    sizeof(rr));
		if (r == DB_NOTFOUND) {
			qverify_problem(m, "recipient %u of %u missing", i,
			    e->nrcpt);
			continue;
		}
		if (r != 0 || qstore_rcpt_read(&data, &rr, why,
		    sizeof(why)) == -1) {
			qverify_problem(m, "recipient %u: %s", i, r != 0 ?
			    db_strerror(r) : why);
			continue;
		}
		m->v->end.records++;
		if (rr.state != BW_RCPT_QUEUED && rr.state != BW_RCPT_DEFERRED)
			continue;
		/* still to be delivered: its queue must know it */
		if ((n = qqueue_key(k, sizeof(k), rr.gateway, rr.domain)) ==
		    0 || n + 1 + BW_QID_LEN > sizeof(k))
			continue;
		if (qverify_exists(st->queues, k, (uint32_t)n) == 0)
			qverify_problem(m, "recipient %u: no record of its "
			    "queue %s/%s", i, rr.gateway, rr.domain);
		k[n] = '\0';
		memcpy(k + n + 1, m->qid, BW_QID_LEN);
		if (qverify_exists(st->domidx, k, (uint32_t)(n + 1 +
		    BW_QID_LEN)) == 0)
			qverify_problem(m, "recipient %u: no index entry in "
			    "its queue %s/%s (never delivered)", i, rr.gateway,
			    rr.domain);
	}
}

/* Check one message (key, envelope): the body bytes read. */
static uint64_t
qverify_message(struct qverify *v, const DBT *key, const DBT *data)
{
	struct qverify_msg	 m;
	struct qenv_rec		 e;
	char			 qid[BW_QID_LEN + 1];
	char			 why[BW_VERIFY_TEXT_MAX];
	uint64_t		 read = 0;

	if (key->size != BW_QID_LEN)
		return 0;	/* a key of a shape we do not know */
	memcpy(qid, key->data, BW_QID_LEN);
	qid[BW_QID_LEN] = '\0';
	if (!bw_qid_valid(qid))
		return 0;
	if (qstore_quarantined(&q_env->store, qid)) {
		v->end.quarantined++;
		return 0;
	}
	v->end.messages++;
	memset(&m, 0, sizeof(m));
	m.v = v;
	m.qid = qid;
	if (qstore_env_read(data, &e, why, sizeof(why)) == -1)
		qverify_problem(&m, "%s", why);
	else {
		read = qverify_body(&m, &e);
		qverify_rcpts(&m, &e);
	}
	if (m.problems > 0) {
		v->end.damaged++;
		qverify_act_add(v, qid, 0, NULL, NULL, m.first);
	}
	return read;
}

/* ---- the walks ---- */

/*
 * Keys and data of any size (a damaged record may be of any size): the
 * memory is Berkeley DB's realloc of ours, kept for the run.
 */
static int
qverify_dbts(struct qverify *v, DBT *key, DBT *data, int keys_only)
{
	void	*p;

	if ((p = realloc(v->kmem, sizeof(v->last))) == NULL)
		return ENOMEM;
	v->kmem = p;
	memset(key, 0, sizeof(*key));
	key->data = v->kmem;
	key->flags = DB_DBT_REALLOC;
	memset(data, 0, sizeof(*data));
	if (keys_only)
		data->flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
	else {
		data->data = v->dmem;
		data->flags = DB_DBT_REALLOC;
	}
	return 0;
}

/* The memory Berkeley DB may have moved, kept for the next call. */
static void
qverify_dbts_keep(struct qverify *v, DBT *key, DBT *data, int keys_only)
{
	v->kmem = key->data;
	if (!keys_only)
		v->dmem = data->data;
}

/* Position c after the last key handled; the first record's code. */
static int
qverify_first(struct qverify *v, DBC *c, DBT *key, DBT *data)
{
	int	 r;

	if (v->lastlen == 0)
		return c->get(c, key, data, DB_FIRST);
	memcpy(key->data, v->last, v->lastlen);
	key->size = v->lastlen;
	r = c->get(c, key, data, DB_SET_RANGE);
	if (r == 0 && key->size == v->lastlen &&
	    memcmp(key->data, v->last, v->lastlen) == 0)
		r = c->get(c, key, data, DB_NEXT);
	return r;
}

/* Step of walk 1; 1 when the walk is over. */
static int
qverify_step_messages(struct qverify *v, int *err)
{
	struct qstore	*st = &q_env->store;
	uint64_t	 bytes = 0;
	size_t		 n = 0;
	DBC		*c = NULL;
	DBT		 key, data;
	int		 r;

	if ((r = qverify_dbts(v, &key, &data, 0)) != 0 ||
	    (r = st->messages->cursor(st->messages, NULL, &c, 0)) != 0) {
		*err = r;
		return 1;
	}
	for (r = qverify_first(v, c, &key, &data); r == 0;
	    r = c->get(c, &key, &data, DB_NEXT)) {
		bytes += qverify_message(v, &key, &data);
		qverify_mark(v, &key);
		if (++n >= QVERIFY_STEP_MSGS || bytes >= QVERIFY_STEP_BYTES)
			break;
	}
	qverify_dbts_keep(v, &key, &data, 0);
	c->close(c);
	if (r != 0 && r != DB_NOTFOUND) {
		*err = r;
		return 1;
	}
	return r == DB_NOTFOUND;
}

/* One record of walks 2 to 4 (key only). */
static void
qverify_key(struct qverify *v, DB *db, const DBT *key)
{
	struct qstore		*st = &q_env->store;
	const unsigned char	*k = key->data, *nul = NULL, *nul2;
	char			 qid[BW_QID_LEN + 1];
	int			 idx = db == st->domidx;

	if (idx) {
		/* gateway NUL domain NUL qid */
		v->end.records++;
		if ((nul = memchr(k, '\0', key->size)) == NULL ||
		    (nul2 = memchr(nul + 1, '\0', key->size -
		    (size_t)(nul + 1 - k))) == NULL ||
		    k + key->size - (nul2 + 1) != BW_QID_LEN)
			return;		/* not a shape we know */
		memcpy(qid, nul2 + 1, BW_QID_LEN);
	} else {
		if (key->size < BW_QID_LEN)
			return;
		memcpy(qid, k, BW_QID_LEN);
	}
	qid[BW_QID_LEN] = '\0';
	if (!bw_qid_valid(qid))
		return;
	/* records of one message are adjacent, except in domidx */
	if (!idx && strcmp(qid, v->lastqid) == 0)
		return;
	strlcpy(v->lastqid, qid, sizeof(v->lastqid));
	if (qverify_exists(st->messages, qid, BW_QID_LEN) != 0)
		return;
	v->end.orphans++;
	if (idx) {
		qverify_row(v, qid, BW_VROW_ORPHAN, "index entry in queue "
		    "%s/%s for a message not in the store", (const char *)k,
		    (const char *)nul + 1);
		qverify_act_add(v, qid, 1, db, key, "orphan index entry");
	} else {
		qverify_row(v, qid, BW_VROW_ORPHAN, "%s records for a message "
		    "not in the store", db == st->body ? "body piece" :
		    "recipient");
		qverify_act_add(v, qid, 1, db, NULL, db == st->body ?
		    "orphan body piece records" : "orphan recipient records");
	}
}

/* Steps of walks 2 to 4: records without their message. */
static int
qverify_step_keys(struct qverify *v, DB *db, int *err)
{
	size_t		 n = 0;
	DBC		*c = NULL;
	DBT		 key, data;
	int		 r;

	if ((r = qverify_dbts(v, &key, &data, 1)) != 0 ||
	    (r = db->cursor(db, NULL, &c, 0)) != 0) {
		*err = r;
		return 1;
	}
	for (r = qverify_first(v, c, &key, &data); r == 0;
	    r = c->get(c, &key, &data, DB_NEXT)) {
		qverify_key(v, db, &key);
		qverify_mark(v, &key);
		if (++n >= QVERIFY_STEP_KEYS)
			break;
	}
	qverify_dbts_keep(v, &key, &data, 1);
	c->close(c);
	if (r != 0 && r != DB_NOTFOUND) {
		*err = r;
		return 1;
	}
	return r == DB_NOTFOUND;
}

/* repair: remove an orphan record (domidx: one key; else a prefix). */
static void
qverify_orphan_remove(struct qverify *v, struct qverify_act *a)
{
	struct qstore	*st = &q_env->store;
	unsigned char	 kbuf[QSTORE_KEY_MAX];
	DB_TXN		*txn = NULL;
	DBC		*c = NULL;
	DBT		 key, data;
	int		 r, flag = DB_SET_RANGE;

	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	if (a->keylen > 0) {
		memset(&key, 0, sizeof(key));
		key.data = a->key;
		key.size = a->keylen;
		if ((r = a->db->del(a->db, txn, &key, 0)) != 0 &&
		    r != DB_NOTFOUND)
			goto fail;
	} else {
		if ((r = a->db->cursor(a->db, txn, &c, 0)) != 0)
			goto fail;
		qstore_key_idx(&key, kbuf, a->qid, 0);
		key.ulen = sizeof(kbuf);
		key.flags = DB_DBT_USERMEM;
		memset(&data, 0, sizeof(data));
		data.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
		while ((r = c->get(c, &key, &data, flag)) == 0 &&
		    key.size >= BW_QID_LEN &&
		    memcmp(kbuf, a->qid, BW_QID_LEN) == 0) {
			flag = DB_NEXT;
			if ((r = c->del(c, 0)) != 0)
				break;
		}
		c->close(c);
		if (r != 0 && r != DB_NOTFOUND)
			goto fail;
	}
	if ((r = txn->commit(txn, DB_TXN_NOSYNC)) != 0) {
		txn = NULL;
		goto fail;
	}
	qsched_flush_request();
	log_warnx("%s removed by bwctl queue repair: %s", a->qid, a->why);
	qverify_row(v, a->qid, BW_VROW_REMOVED, "%s removed", a->why);
	return;
fail:
	log_warnx("%s repair: cannot remove %s: %s", a->qid, a->why,
	    db_strerror(r));
	if (txn != NULL)
		txn->abort(txn);
}

/* repair, after a step: its cursor is closed, the store may be written. */
static void
qverify_act(struct qverify *v)
{
	struct qverify_act	*a;
	size_t			 i;
	int			 r;

	for (i = 0; i < v->nacts; i++) {
		a = &v->acts[i];
		if (a->orphan) {
			qverify_orphan_remove(v, a);
			continue;
		}
		if ((r = qquar_put(a->qid, a->why)) == 0) {
			v->end.quarantined++;
			qverify_row(v, a->qid, BW_VROW_QUARANTINED, "%s",
			    a->why);
		} else if (r == 1) {
			v->end.skipped++;
			qverify_row(v, a->qid, BW_VROW_SKIPPED, "in delivery "
			    "now; run repair again");
		} else {
			v->end.skipped++;
			qverify_row(v, a->qid, BW_VROW_SKIPPED, "could not be "
			    "moved (logged)");
		}
	}
	v->nacts = 0;
}

static void
qverify_done(struct qverify *v, uint32_t status)
{
	v->end.status = status;
	if (bw_peer_send(v->peer, BW_IMSG_QUEUE_VERIFY_END, v->reqid, -1,
	    &v->end, sizeof(v->end)) == -1)
		log_warn("ctl: cannot send QUEUE_VERIFY_END");
	log_info("store: %s done: messages=%" PRIu64 " pieces=%" PRIu64
	    " bytes=%" PRIu64 " records=%" PRIu64 " damaged=%" PRIu64
	    " orphans=%" PRIu64 " quarantined=%" PRIu64 "%s",
	    v->repair ? "repair" : "verify", v->end.messages, v->end.pieces,
	    v->end.bytes, v->end.records, v->end.damaged, v->end.orphans,
	    v->end.quarantined, status == BW_VERIFY_ERROR ?
	    " (stopped by a store error)" : "");
	qverify_free(v);
}

static void
qverify_step_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qverify	*v = arg;
	struct qstore	*st = &q_env->store;
	int		 over, err = 0;

	if (!bw_peer_is_up(v->peer)) {
		log_info("store: %s stopped: controld went away",
		    v->repair ? "repair" : "verify");
		qverify_free(v);
		return;
	}
	if (bw_peer_wpending(v->peer) > QVERIFY_WPENDING_MAX) {
		qverify_arm(v, QVERIFY_PAUSE_MS);
		return;
	}
	switch (v->phase) {
	case QV_MESSAGES:
		over = qverify_step_messages(v, &err);
		break;
	case QV_INDEX:
		over = qverify_step_keys(v, st->domidx, &err);
		break;
	case QV_BODY_KEYS:
		over = qverify_step_keys(v, st->body, &err);
		break;
	default:
		over = qverify_step_keys(v, st->rcpts, &err);
		break;
	}
	qverify_act(v);
	if (err != 0) {
		log_warnx("store: %s: %s", v->repair ? "repair" : "verify",
		    db_strerror(err));
		qverify_done(v, BW_VERIFY_ERROR);
		return;
	}
	if (over) {
		v->phase++;
		v->lastlen = 0;
		v->lastqid[0] = '\0';
	}
	if (v->phase == QV_DONE) {
		/* what repair did is told to an admin: durable first */
		if (v->repair && qstore_flush(st) == -1)
			qfail_storage();
		qverify_done(v, BW_VERIFY_DONE);
		return;
	}
	qverify_arm(v, 0);
}

/* QUEUE_VERIFY_REQ from controld. */
void
qverify_cmd(struct bw_peer *peer, uint32_t reqid, struct bw_imsg *imsg)
{
	struct bw_queue_verify_req	 req;
	struct bw_queue_verify_end	 end;
	struct qverify			*v;
	char				 qid[BW_QID_LEN + 1];

	memcpy(&req, imsg->data, sizeof(req));
	BW_IMSG_STR(qid, req.qid);
	memset(&end, 0, sizeof(end));
	if (req.op >= BW_VERIFY_OP__COUNT) {
		end.status = BW_VERIFY_ERROR;
		bw_peer_send(peer, BW_IMSG_QUEUE_VERIFY_END, reqid, -1, &end,
		    sizeof(end));
		return;
	}
	if (req.op != BW_VERIFY_CHECK && req.op != BW_VERIFY_REPAIR) {
		qquar_cmd(peer, reqid, req.op, qid);
		return;
	}
	if (qv != NULL) {
		end.status = BW_VERIFY_BUSY;
		bw_peer_send(peer, BW_IMSG_QUEUE_VERIFY_END, reqid, -1, &end,
		    sizeof(end));
		return;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->buf = malloc(QSTORE_BODY_CHUNK)) == NULL ||
	    (v->acts = calloc(QVERIFY_ACT_MAX, sizeof(*v->acts))) == NULL ||
	    (v->ev = evtimer_new(q_env->d.base, qverify_step_cb, v)) == NULL) {
		log_warn("store: verify");
		if (v != NULL)
			qverify_free(v);
		end.status = BW_VERIFY_ERROR;
		bw_peer_send(peer, BW_IMSG_QUEUE_VERIFY_END, reqid, -1, &end,
		    sizeof(end));
		return;
	}
	v->peer = peer;
	v->reqid = reqid;
	v->repair = req.op == BW_VERIFY_REPAIR;
	v->phase = QV_MESSAGES;
	qv = v;
	log_info("store: %s started", v->repair ? "repair" : "verify");
	qverify_arm(v, 0);
}

/* Shutdown, or the link to controld was lost: stop a run. */
void
qverify_shutdown(void)
{
	if (qv != NULL)
		qverify_free(qv);
}
