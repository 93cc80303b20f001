/*
 * Acting on queued mail: bwctl delete, undelete, bounce, hold, release and
 * show held (QUEUE_ACTION_REQ from controld; one QUEUE_ACTION_ROW per
 * message matched, then QUEUE_ACTION_END).
 *
 * A held or deleted message leaves its queues the way a damaged one does
 * (queued_quarantine.c): its index entries and queue counts go, its
 * scheduler items are dropped, its records and pieces stay, and a record
 * in quarantine.db says which kind, since when, and who asked.  The start
 * loads no such message, so a hold outlives a restart.  A deleted message
 * also has a purge time (now + queue_undelete_window) in holdexp.db, a
 * btree keyed by that time and the qid: ONE timer fires at the first key
 * and purges at most QACT_STEP messages per turn.  Until then undelete
 * puts it back; after it undelete answers "expired" (from the record
 * while it waits for the purge, from a ring of the last QACT_PURGED_MAX
 * purged qids after).  Bounce sends one DSN (5.0.0, removed by the
 * administrator) to the sender for the recipients still pending whose
 * NOTIFY allows it, through qresult_dsn_send, then removes the message.
 *
 * Selectors: a queue id is acted on at once.  A domain walks domidx.db
 * (the queues of that domain in memory name its gateways), a sender or an
 * age walks messages.db, release and undelete walk quarantine.db: each
 * walk reads QACT_STEP records per event-loop turn, closes its cursor,
 * then acts on what it collected, flushes the log once and only then
 * sends the rows (durable before told).  A domain selector acts on whole
 * messages (XXX: a message with recipients in two domains is deleted or
 * held whole; splitting one is not worth a second envelope).  Walks act
 * on messages in their queues (delete, hold, bounce) or in the hold area
 * (release, undelete); a queue id reaches a held message too (delete or
 * bounce it).
 *
 * A message in delivery now (a job at deliverd holds it) is answered busy
 * and left alone; a message already in the state asked answers "already":
 * nothing is acted on twice.  One log line per message acted on, with the
 * queue id and who asked (as controld wrote it: escaped here).
 *
 * Trust: the request comes from controld (an admin); its strings are
 * terminated and the qid checked for form before use.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"
#include "queued_timekey.h"

#define QACT_KEY_LEN	QUEUE_TIMEKEY_LEN	/* purge (u64 BE) + qid */
#define QACT_WPENDING_MAX	(4 * 1024 * 1024)	/* pause a walk */
#define QACT_PAUSE_MS		20
#define QACT_WHO_ESC_MAX	(BW_ACTOR_MAX * 4 + 1)
#define QACT_ADDR_ESC_MAX	(BW_ADDR_MAX * 4 + 1)
#define QACT_REASON		"removed from the queue by the administrator"

enum qact_src {
	QACT_SRC_DOMIDX,	/* a domain's queues */
	QACT_SRC_MESSAGES,	/* every envelope: sender, age */
	QACT_SRC_QUAR,		/* the hold area: release, undelete, list */
};

/* One walk in progress (a selector other than a queue id). */
struct qact_walk {
	TAILQ_ENTRY(qact_walk)		 entry;
	struct bw_peer			*peer;
	uint32_t			 reqid;
	struct bw_queue_action_req	 req;
	struct event			*ev;
	int				 src;		/* enum qact_src */
	char				 gws[QQUAR_QUEUES_MAX][BW_NAME_MAX];
	size_t				 ngw;
	size_t				 gwi;		/* walking gws[gwi] */
	char				 last[QQUEUE_KEY_MAX];	/* resume past */
	size_t				 lastlen;	/* 0: from the start */
	uint64_t			 limit;
	struct bw_queue_action_end	 end;
	char				 (*qids)[BW_QID_LEN + 1];	/* QACT_STEP */
	struct bw_queue_action_row	*rows;		/* QACT_STEP */
};
TAILQ_HEAD(qact_walks, qact_walk);

static struct qact_walks	 qa_walks = TAILQ_HEAD_INITIALIZER(qa_walks);
static size_t			 qa_nwalks;
static struct event		*qa_purge_ev;
static int64_t			 qa_purge_armed;	/* 0: off */
static char			 qa_purged[QACT_PURGED_MAX][BW_QID_LEN + 1];
static size_t			 qa_purged_next;

/* ---- the purge index ---- */

/* qid's purge time into the index, in txn.  A DB error. */
int
qact_expiry_put(DB_TXN *txn, const char *qid, int64_t expires)
{
	struct qstore	*st = &q_env->store;
	unsigned char	 k[QACT_KEY_LEN];
	uint32_t	 v = QSTORE_VERSION;
	DBT		 key, data;

	queue_timekey_put(k, expires, qid);
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = sizeof(k);
	data.data = &v;
	data.size = sizeof(v);
	return st->holdexp->put(st->holdexp, txn, &key, &data, 0);
}

/* Remove qid's purge time (gone already: fine).  A DB error. */
int
qact_expiry_del(DB_TXN *txn, const char *qid, int64_t expires)
{
	struct qstore	*st = &q_env->store;
	unsigned char	 k[QACT_KEY_LEN];
	DBT		 key;
	int		 r;

	queue_timekey_put(k, expires, qid);
	memset(&key, 0, sizeof(key));
	key.data = k;
	key.size = sizeof(k);
	r = st->holdexp->del(st->holdexp, txn, &key, 0);
	return r == DB_NOTFOUND ? 0 : r;
}

/* Arm the one purge timer for when (unix time), unless it fires earlier. */
void
qact_expiry_note(int64_t when)
{
	struct timeval	 tv = { 0, 0 };
	int64_t		 now = bw_time();

	if (qa_purge_ev == NULL || when <= 0)
		return;
	if (qa_purge_armed != 0 && qa_purge_armed <= when)
		return;
	if (when > now)
		tv.tv_sec = (time_t)(when - now);
	qa_purge_armed = when;
	evtimer_add(qa_purge_ev, &tv);
}

/* The first purge time in the index: 0 none, -1 error. */
static int64_t
qact_expiry_first(void)
{
	struct qstore	*st = &q_env->store;
	unsigned char	 k[QACT_KEY_LEN];
	DBC		*c;
	DBT		 key, data;
	int		 r;

	if ((r = st->holdexp->cursor(st->holdexp, NULL, &c, 0)) != 0)
		goto fail;
	qstore_dbt_user(&key, k, sizeof(k));
	memset(&data, 0, sizeof(data));
	data.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;	/* no data */
	r = c->get(c, &key, &data, DB_FIRST);
	c->close(c);
	if (r == DB_NOTFOUND)
		return 0;
	if (r != 0)
		goto fail;
	return key.size == sizeof(k) ? queue_timekey_when(k) : 0;
fail:
	log_warnx("hold: cannot read the purge index: %s", db_strerror(r));
	return -1;
}

static void
qact_purged_note(const char *qid)
{
	strlcpy(qa_purged[qa_purged_next], qid, sizeof(qa_purged[0]));
	qa_purged_next = (qa_purged_next + 1) % QACT_PURGED_MAX;
}

static int
qact_purged_recently(const char *qid)
{
	size_t	 i;

	for (i = 0; i < QACT_PURGED_MAX; i++)
		if (strcmp(qa_purged[i], qid) == 0)
			return 1;
	return 0;
}

/*
 * Purge one deleted message whose window ended at when: 1 purged, 0 the
 * entry was stale (undeleted, deleted again later), -1 store error.
 */
static int
qact_purge_one(const char *qid, int64_t when)
{
	struct qstore		*st = &q_env->store;
	struct qquar_rec	 rec;
	char			 who[QACT_WHO_ESC_MAX];
	DB_TXN			*txn = NULL;
	int			 r, purge;

	purge = qquar_get(qid, &rec) == 0 && rec.kind == QQUAR_DELETED &&
	    rec.expires == when;
	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	if ((r = qact_expiry_del(txn, qid, when)) != 0 ||
	    (purge && (r = qquar_remove_txn(txn, qid)) != 0))
		goto fail;
	if (qquar_commit(txn, qid, "purge", 0) == -1)
		return -1;
	if (!purge)
		return 0;
	qcheck_note_gone(qid);
	qact_purged_note(qid);
	log_info("%s purged: undo window over (deleted by=\"%s\")", qid,
	    log_escape(who, sizeof(who), rec.who, strlen(rec.who)));
	return 1;
fail:
	log_warnx("%s hold: cannot purge: %s", qid, db_strerror(r));
	if (txn != NULL) {
		txn->abort(txn);
		qstore_txn_end(st, 0);
	}
	return -1;
}

/* The timer: every deleted message whose window is over, QACT_STEP per
 * turn. */
static void
qact_purge_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qstore	*st = &q_env->store;
	unsigned char	 k[QACT_KEY_LEN];
	struct {
		int64_t	 when;
		char	 qid[BW_QID_LEN + 1];
	}		 due[QACT_STEP];
	DBC		*c = NULL;
	DBT		 key, data;
	int64_t		 now = bw_time(), next;
	size_t		 n = 0, i;
	int		 r, flag = DB_FIRST, err = 0;

	qa_purge_armed = 0;
	/* collect first: the purge writes the store */
	if ((r = st->holdexp->cursor(st->holdexp, NULL, &c, 0)) != 0)
		goto fail;
	qstore_dbt_user(&key, k, sizeof(k));
	memset(&data, 0, sizeof(data));
	data.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
	while (n < QACT_STEP && (r = c->get(c, &key, &data, flag)) == 0) {
		flag = DB_NEXT;
		if (key.size != sizeof(k))
			continue;
		if ((due[n].when = queue_timekey_when(k)) > now)
			break;
		memcpy(due[n].qid, k + 8, BW_QID_LEN);
		due[n].qid[BW_QID_LEN] = '\0';
		n++;
	}
	c->close(c);
	if (r != 0 && r != DB_NOTFOUND)
		goto fail;
	for (i = 0; i < n; i++)
		if (qact_purge_one(due[i].qid, due[i].when) == -1)
			err = 1;
	if (n > 0 && qstore_flush(st) == -1)
		qfail_storage();
	if (err)
		goto retry;
	if (n == QACT_STEP)
		qact_expiry_note(now);	/* more due: the next turn */
	else if ((next = qact_expiry_first()) > 0)
		qact_expiry_note(next);
	else if (next == -1)
		goto retry;
	return;
fail:
	log_warnx("hold: cannot read the purge index: %s", db_strerror(r));
retry:
	qact_expiry_note(bw_time() + QACT_ERROR_RETRY_MS / 1000);
}

/* ---- one message ---- */

/* Bounce qid (in its queues, or held: rec): the DSN, then its removal. */
static int
qact_bounce(const char *qid, const struct qenv_rec *e, int held,
    const struct qquar_q *qs, size_t nq)
{
	struct qstore		*st = &q_env->store;
	struct qbounce_rcpt	*brc = NULL;
	struct qrcpt_rec	 rr;
	struct qsitem		*it;
	struct qsq		*q;
	char			(*names)[BW_ADDR_MAX] = NULL;
	char			(*orcpts)[BW_DSN_ORCPT_MAX + 1] = NULL;
	DB_TXN			*txn = NULL;
	uint32_t		 i, nb = 0, pending = 0;
	size_t			 j, n;
	int			 r;

	n = e->nrcpt > 0 ? e->nrcpt : 1;
	if ((brc = calloc(n, sizeof(*brc))) == NULL ||
	    (names = calloc(n, sizeof(*names))) == NULL ||
	    (orcpts = calloc(n, sizeof(*orcpts))) == NULL) {
		log_warn("%s bounce: no memory", qid);
		goto fail_nodb;
	}
	for (i = 0; i < e->nrcpt; i++) {
		if (qstore_rcpt_get(st, qid, i, &rr) != 0 ||
		    (rr.state != BW_RCPT_QUEUED &&
		    rr.state != BW_RCPT_DEFERRED))
			continue;
		pending++;
		if (!bw_dsn_notify_wants(rr.notify, BW_DSN_NOTIFY_FAILURE))
			continue;
		strlcpy(names[nb], rr.rcpt, sizeof(names[nb]));
		strlcpy(orcpts[nb], rr.orcpt, sizeof(orcpts[nb]));
		brc[nb].rcpt = names[nb];
		brc[nb].dsn = "5.0.0";
		brc[nb].relay = "";
		brc[nb].reply = QACT_REASON;
		brc[nb].action = QBOUNCE_FAILED;
		brc[nb].orcpt = orcpts[nb][0] != '\0' ? orcpts[nb] : NULL;
		nb++;
	}
	/* the DSN first: a crash after it repeats it, never loses it */
	if (nb > 0) {
		if (e->sender[0] == '\0' || (e->flags & BW_DLVF_BOUNCE))
			log_info("%s bounce of a bounce dropped nrcpt=%u", qid,
			    nb);
		else if (qresult_dsn_send(e, qid, brc, nb) == -1)
			goto fail_nodb;
	} else if (pending > 0)
		log_info("%s bounce not sent: NOTIFY without FAILURE nrcpt=%u",
		    qid, pending);
	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	if (held)
		r = qquar_remove_txn(txn, qid);
	else
		r = qstore_msg_delete_txn(st, txn, qid);
	if (r != 0)
		goto fail;
	if (qquar_commit(txn, qid, "bounce", 0) == -1)
		goto fail_nodb;
	qcheck_note_gone(qid);
	if (!held) {
		for (j = 0; j < nq; j++)
			if ((q = qsched_queue_find(qs[j].gw, qs[j].dom)) !=
			    NULL && (it = qsched_item_find(q, qid)) != NULL)
				qsched_item_free(it);
		if (q_env->c_queued_messages > 0)
			q_env->c_queued_messages--;
		q_env->c_queued_recipients = q_env->c_queued_recipients >
		    pending ? q_env->c_queued_recipients - pending : 0;
	}
	q_env->c_rcpt_bounced += pending;
	free(brc);
	free(names);
	free(orcpts);
	return 0;
fail:
	log_warnx("%s bounce: cannot remove: %s", qid, db_strerror(r));
	if (txn != NULL) {
		txn->abort(txn);
		qstore_txn_end(st, 0);
	}
fail_nodb:
	free(brc);
	free(names);
	free(orcpts);
	return -1;
}

/* The record of a message held or deleted now by who. */
static void
qact_rec(struct qquar_rec *rec, uint32_t kind, const char *who)
{
	int64_t	 now = bw_time();

	memset(rec, 0, sizeof(*rec));
	rec->version = QSTORE_VERSION;
	rec->kind = kind;
	rec->when = now;
	strlcpy(rec->why, kind == QQUAR_HELD ? "held" : "deleted",
	    sizeof(rec->why));
	strlcpy(rec->who, who, sizeof(rec->who));
	if (kind == QQUAR_DELETED)
		rec->expires = now + (BW_LIMIT(q_env->d.cfg,
		    LIM_QUEUE_UNDELETE_WINDOW) + 999) / 1000;
}

/* One line per message acted on, with who asked. */
static void
qact_log(const char *qid, int op, const struct bw_queue_action_row *row,
    const char *who)
{
	char	 wesc[QACT_WHO_ESC_MAX], sesc[QACT_ADDR_ESC_MAX];
	char	 extra[64];

	extra[0] = '\0';
	if (op == BW_QACT_DELETE)
		snprintf(extra, sizeof(extra), " undo_until=%" PRId64,
		    row->expires);
	log_info("%s %s by=\"%s\" from=<%s> nrcpt=%u%s", qid,
	    bw_qact_op_name(op), log_escape(wesc, sizeof(wesc), who,
	    strlen(who)), log_escape(sesc, sizeof(sesc), row->sender,
	    strlen(row->sender)), row->nrcpt, extra);
}

/*
 * Act on one message (or, dry, say what would be done): the result, the
 * row filled.  *changed is set when the store was written (the caller
 * flushes before it answers).
 */
static int
qact_one(const struct bw_queue_action_req *req, const char *qid,
    struct bw_queue_action_row *row, int *changed)
{
	struct qquar_q		 qs[QQUAR_QUEUES_MAX];
	struct qquar_rec	 rec, nrec;
	struct qenv_rec		 e;
	uint32_t		 pending = 0, kind;
	size_t			 nq = 0;
	int			 r, qr, dry = req->dry_run != 0;

	memset(row, 0, sizeof(*row));
	strlcpy(row->qid, qid, sizeof(row->qid));
	if ((r = qstore_msg_get(&q_env->store, qid, &e)) == 1)
		return req->op == BW_QACT_UNDELETE &&
		    qact_purged_recently(qid) ? BW_QACT_EXPIRED :
		    BW_QACT_NOTFOUND;
	qr = qquar_get(qid, &rec);
	if (r == -1 || qr == -1 || (qr == 0 && rec.kind == QQUAR_DAMAGED))
		return qr == 1 ? BW_QACT_ERROR : BW_QACT_QUARANTINED;
	e.sender[sizeof(e.sender) - 1] = '\0';
	row->created = e.created;
	strlcpy(row->sender, e.sender, sizeof(row->sender));
	nq = qquar_queues(qid, qs, QQUAR_QUEUES_MAX, &pending);
	row->nrcpt = pending;
	kind = qr == 1 ? BW_QKIND_LIVE : rec.kind == QQUAR_HELD ?
	    BW_QKIND_HELD : BW_QKIND_DELETED;
	row->kind = kind;
	if (qr == 0) {
		row->when = rec.when;
		row->expires = rec.expires;
		strlcpy(row->who, rec.who, sizeof(row->who));
	}
	if (req->op == BW_QACT_LIST)
		return BW_QACT_DONE;
	/* the state each op needs */
	switch (req->op) {
	case BW_QACT_DELETE:
		if (kind == BW_QKIND_DELETED)
			return BW_QACT_ALREADY;
		break;
	case BW_QACT_HOLD:
		if (kind == BW_QKIND_HELD)
			return BW_QACT_ALREADY;
		if (kind == BW_QKIND_DELETED)
			return BW_QACT_DELETED;
		break;
	case BW_QACT_BOUNCE:
		if (kind == BW_QKIND_DELETED)
			return BW_QACT_DELETED;
		break;
	case BW_QACT_RELEASE:
		if (kind == BW_QKIND_DELETED)
			return BW_QACT_DELETED;
		if (kind != BW_QKIND_HELD)
			return BW_QACT_NOTHELD;
		break;
	case BW_QACT_UNDELETE:
		if (kind != BW_QKIND_DELETED)
			return BW_QACT_NOTHELD;
		if (bw_time() >= rec.expires)
			return BW_QACT_EXPIRED;
		break;
	default:
		return BW_QACT_ERROR;
	}
	if (kind == BW_QKIND_LIVE && qdispatch_busy(qid))
		return BW_QACT_BUSY;
	if (dry)
		return BW_QACT_DONE;
	switch (req->op) {
	case BW_QACT_DELETE:
	case BW_QACT_HOLD:
		qact_rec(&nrec, req->op == BW_QACT_HOLD ? QQUAR_HELD :
		    QQUAR_DELETED, req->who);
		if (kind == BW_QKIND_HELD)
			r = qquar_rekind(qid, &rec, &nrec, 0);
		else if ((r = qquar_move(qid, &nrec, 0)) == 1)
			return BW_QACT_BUSY;
		if (r != 0)
			return BW_QACT_ERROR;
		*changed = 1;
		row->kind = nrec.kind == QQUAR_HELD ? BW_QKIND_HELD :
		    BW_QKIND_DELETED;
		row->when = nrec.when;
		row->expires = nrec.expires;
		strlcpy(row->who, nrec.who, sizeof(row->who));
		if (nrec.expires != 0)
			qact_expiry_note(nrec.expires);
		break;
	case BW_QACT_RELEASE:
	case BW_QACT_UNDELETE:
		if (qquar_release(qid, 0) != 0)
			return BW_QACT_ERROR;
		*changed = 1;
		row->kind = BW_QKIND_LIVE;
		row->when = row->expires = 0;
		break;
	case BW_QACT_BOUNCE:
		if (qact_bounce(qid, &e, kind == BW_QKIND_HELD, qs, nq) != 0)
			return BW_QACT_ERROR;
		*changed = 1;
		break;
	}
	qact_log(qid, (int)req->op, row, req->who);
	return BW_QACT_DONE;
}

/* ---- answers ---- */

static void
qact_send(struct bw_peer *peer, uint32_t type, uint32_t reqid,
    const void *data, size_t len)
{
	if (bw_peer_send(peer, type, reqid, -1, data, len) == -1)
		log_warn("ctl: cannot send %s", bw_imsg_type_name(type));
}

static void
qact_end(struct bw_peer *peer, uint32_t reqid,
    const struct bw_queue_action_end *end)
{
	qact_send(peer, BW_IMSG_QUEUE_ACTION_END, reqid, end, sizeof(*end));
}

static void
qact_count(struct bw_queue_action_end *end, const struct
    bw_queue_action_row *row)
{
	end->matched++;
	if (row->result == BW_QACT_DONE)
		end->done++;
	else
		end->skipped++;
}

/* ---- walks ---- */

static void
qact_walk_free(struct qact_walk *w)
{
	TAILQ_REMOVE(&qa_walks, w, entry);
	qa_nwalks--;
	if (w->ev != NULL)
		event_free(w->ev);
	free(w->qids);
	free(w->rows);
	free(w);
}

static void
qact_walk_arm(struct qact_walk *w, int ms)
{
	struct timeval	 tv = { 0, ms * 1000 };

	evtimer_add(w->ev, &tv);
}

/* Does the envelope match the walk's sender or age? */
static int
qact_env_match(const struct qact_walk *w, const struct qenv_rec *e)
{
	switch (w->req.sel) {
	case BW_QSEL_SENDER:
		return strcasecmp(e->sender, w->req.sender) == 0;
	case BW_QSEL_AGE:
		return e->created <= bw_time() - w->req.older_than;
	default:
		return 1;
	}
}

/* Does the held message match the walk's selector? */
static int
qact_held_match(const struct qact_walk *w, const char *qid,
    const struct qquar_rec *rec)
{
	struct qquar_q	 qs[QQUAR_QUEUES_MAX];
	struct qenv_rec	 e;
	uint32_t	 pending;
	size_t		 n, i;

	if (rec->kind == QQUAR_DAMAGED)
		return 0;
	if (w->req.op == BW_QACT_RELEASE && rec->kind != QQUAR_HELD)
		return 0;
	if (w->req.op == BW_QACT_UNDELETE && rec->kind != QQUAR_DELETED)
		return 0;
	if (w->req.sel == BW_QSEL_DOMAIN) {
		n = qquar_queues(qid, qs, QQUAR_QUEUES_MAX, &pending);
		for (i = 0; i < n; i++)
			if (strcasecmp(qs[i].dom, w->req.domain) == 0 &&
			    (w->req.gateway[0] == '\0' ||
			    strcmp(qs[i].gw, w->req.gateway) == 0))
				return 1;
		return 0;
	}
	if (w->req.sel == BW_QSEL_SENDER || w->req.sel == BW_QSEL_AGE) {
		if (qstore_msg_get(&q_env->store, qid, &e) != 0)
			return 0;
		e.sender[sizeof(e.sender) - 1] = '\0';
		return qact_env_match(w, &e);
	}
	return 1;
}

/*
 * Collect the candidate qids among the next QACT_STEP records past
 * w->last: their count, -1 on a store error.  *end_of set when the source
 * is exhausted.
 */
static int
qact_walk_collect(struct qact_walk *w, int *end_of)
{
	struct qstore		*st = &q_env->store;
	struct qenv_rec		 e;
	struct qquar_rec	 rec;
	char			 kbuf[QQUEUE_KEY_MAX], why[BW_VERIFY_TEXT_MAX];
	char			 prefix[QQUEUE_KEY_MAX];
	size_t			 plen = 0, n = 0, nread = 0;
	DB			*db;
	DBC			*c = NULL;
	DBT			 key, data;
	int			 r, flag;

	*end_of = 0;
	db = w->src == QACT_SRC_DOMIDX ? st->domidx : w->src ==
	    QACT_SRC_MESSAGES ? st->messages : st->quarantine;
	if (w->src == QACT_SRC_DOMIDX) {
		if (w->gwi >= w->ngw) {
			*end_of = 1;
			return 0;
		}
		/* gateway NUL domain NUL: the keys of one queue */
		plen = qqueue_key(prefix, sizeof(prefix) - 1,
		    w->gws[w->gwi], w->req.domain);
		prefix[plen++] = '\0';
	}
	if ((r = db->cursor(db, NULL, &c, 0)) != 0)
		return -1;
	qstore_dbt_user(&key, kbuf, sizeof(kbuf));
	if (w->src == QACT_SRC_MESSAGES)
		qstore_dbt_user(&data, &e, sizeof(e));
	else if (w->src == QACT_SRC_QUAR)
		qstore_dbt_user(&data, &rec, sizeof(rec));
	else {
		memset(&data, 0, sizeof(data));
		data.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
	}
	flag = DB_SET_RANGE;
	if (w->lastlen > 0) {
		memcpy(kbuf, w->last, w->lastlen);
		key.size = (uint32_t)w->lastlen;
	} else if (plen > 0) {
		memcpy(kbuf, prefix, plen);
		key.size = (uint32_t)plen;
	} else
		flag = DB_FIRST;
	/* bounded by records read, not by matches: a walk that matches
	 * little must not read the whole spool in one turn */
	while (n < QACT_STEP && nread++ < QACT_STEP) {
		memset(&e, 0, sizeof(e));
		r = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (r == DB_BUFFER_SMALL)
			continue;	/* not a record of ours */
		if (r != 0)
			break;
		if (plen > 0 && (key.size < plen || memcmp(kbuf, prefix,
		    plen) != 0)) {
			r = DB_NOTFOUND;	/* past this queue */
			break;
		}
		if (w->lastlen > 0 && key.size == w->lastlen &&
		    memcmp(kbuf, w->last, w->lastlen) == 0)
			continue;	/* the last of the previous step */
		memcpy(w->last, kbuf, key.size);
		w->lastlen = key.size;
		if (key.size != plen + BW_QID_LEN)
			continue;
		if (w->src == QACT_SRC_MESSAGES) {
			if (qstore_env_load(&e, data.size) == -1)
				continue;
			if (!qact_env_match(w, &e))
				continue;
		} else if (w->src == QACT_SRC_QUAR) {
			if (qstore_quar_read(&data, &rec, why,
			    sizeof(why)) == -1 || rec.kind == QQUAR_DAMAGED)
				continue;
		}
		memcpy(w->qids[n], kbuf + plen, BW_QID_LEN);
		w->qids[n][BW_QID_LEN] = '\0';
		n++;
	}
	c->close(c);
	if (r == DB_BUFFER_SMALL)
		r = 0;		/* skipped; the step ended on it */
	if (r == DB_NOTFOUND) {
		if (w->src == QACT_SRC_DOMIDX && ++w->gwi < w->ngw)
			w->lastlen = 0;	/* the next gateway's queue */
		else
			*end_of = 1;
	} else if (r != 0) {
		log_warnx("ctl: %s walk: %s", bw_qact_op_name((int)w->req.op),
		    db_strerror(r));
		return -1;
	}
	return (int)n;
}

/* One step of a walk: collect, act, flush, answer. */
static void
qact_walk_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qact_walk		*w = arg;
	struct qquar_rec		 rec;
	size_t				 i, nrows = 0;
	int				 n, end_of, changed = 0, result;

	if (!bw_peer_is_up(w->peer)) {
		qact_walk_free(w);
		return;
	}
	if (bw_peer_wpending(w->peer) > QACT_WPENDING_MAX) {
		qact_walk_arm(w, QACT_PAUSE_MS);
		return;
	}
	if ((n = qact_walk_collect(w, &end_of)) == -1) {
		w->end.status = BW_QACT_END_ERROR;
		goto done;
	}
	for (i = 0; i < (size_t)n; i++) {
		if (w->end.matched + nrows >= w->limit) {
			w->end.truncated = 1;
			end_of = 1;
			break;
		}
		if (w->src == QACT_SRC_QUAR && (qquar_get(w->qids[i],
		    &rec) != 0 || !qact_held_match(w, w->qids[i], &rec)))
			continue;
		if (w->src != QACT_SRC_QUAR && qstore_quarantined(
		    &q_env->store, w->qids[i]))
			continue;	/* walks act on queued messages */
		result = qact_one(&w->req, w->qids[i], &w->rows[nrows],
		    &changed);
		w->rows[nrows].result = (uint32_t)result;
		nrows++;
	}
	/* told to an admin: durable first */
	if (changed && qstore_flush(&q_env->store) == -1)
		qfail_storage();
	for (i = 0; i < nrows; i++) {
		qact_count(&w->end, &w->rows[i]);
		qact_send(w->peer, BW_IMSG_QUEUE_ACTION_ROW, w->reqid,
		    &w->rows[i], sizeof(w->rows[i]));
	}
	if (!end_of) {
		qact_walk_arm(w, 0);
		return;
	}
done:
	qact_end(w->peer, w->reqid, &w->end);
	qact_walk_free(w);
}

/* A domain's gateways: those of its queues in memory (every queue with
 * mail is). */
static void
qact_walk_gateways(struct qact_walk *w)
{
	struct qsq	*q;

	for (q = qsched_first(); q != NULL && w->ngw < QQUAR_QUEUES_MAX;
	    q = qsched_next(q)) {
		if (strcasecmp(q->domain, w->req.domain) != 0 ||
		    strcmp(q->gateway, QSCHED_ALL_GATEWAYS) == 0)
			continue;
		if (w->req.gateway[0] != '\0' &&
		    strcmp(q->gateway, w->req.gateway) != 0)
			continue;
		strlcpy(w->gws[w->ngw], q->gateway, sizeof(w->gws[0]));
		strlcpy(w->req.domain, q->domain, sizeof(w->req.domain));
		w->ngw++;
	}
}

static void
qact_walk_start(struct bw_peer *peer, uint32_t reqid,
    const struct bw_queue_action_req *req)
{
	struct bw_queue_action_end	 end;
	struct qact_walk		*w;

	memset(&end, 0, sizeof(end));
	if (qa_nwalks >= QACT_WALKS_MAX) {
		end.status = BW_QACT_END_BUSY;
		qact_end(peer, reqid, &end);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->qids = calloc(QACT_STEP, sizeof(*w->qids))) == NULL ||
	    (w->rows = calloc(QACT_STEP, sizeof(*w->rows))) == NULL ||
	    (w->ev = evtimer_new(q_env->d.base, qact_walk_cb, w)) == NULL) {
		log_warn("ctl: %s walk", bw_qact_op_name((int)req->op));
		if (w != NULL) {
			free(w->qids);
			free(w->rows);
		}
		free(w);
		end.status = BW_QACT_END_ERROR;
		qact_end(peer, reqid, &end);
		return;
	}
	TAILQ_INSERT_TAIL(&qa_walks, w, entry);
	qa_nwalks++;
	w->peer = peer;
	w->reqid = reqid;
	w->req = *req;
	w->limit = req->limit == 0 || req->limit > QUEUED_ACTION_MAX ?
	    QUEUED_ACTION_MAX : req->limit;
	if (req->op == BW_QACT_RELEASE || req->op == BW_QACT_UNDELETE ||
	    req->op == BW_QACT_LIST)
		w->src = QACT_SRC_QUAR;
	else if (req->sel == BW_QSEL_DOMAIN) {
		w->src = QACT_SRC_DOMIDX;
		qact_walk_gateways(w);
	} else
		w->src = QACT_SRC_MESSAGES;
	qact_walk_arm(w, 0);
}

/* QUEUE_ACTION_REQ */
void
qact_cmd(struct bw_peer *peer, uint32_t reqid, struct bw_imsg *imsg)
{
	struct bw_queue_action_req	 req;
	struct bw_queue_action_row	 row;
	struct bw_queue_action_end	 end;
	int				 changed = 0;

	memcpy(&req, imsg->data, sizeof(req));
	req.qid[sizeof(req.qid) - 1] = '\0';
	req.gateway[sizeof(req.gateway) - 1] = '\0';
	req.domain[sizeof(req.domain) - 1] = '\0';
	req.sender[sizeof(req.sender) - 1] = '\0';
	req.who[sizeof(req.who) - 1] = '\0';
	memset(&end, 0, sizeof(end));
	if (req.op >= BW_QACT_OP__COUNT || req.sel >= BW_QSEL__COUNT ||
	    (req.sel == BW_QSEL_ALL && req.op != BW_QACT_LIST) ||
	    (req.sel == BW_QSEL_DOMAIN && req.domain[0] == '\0') ||
	    (req.sel == BW_QSEL_AGE && req.older_than < 0)) {
		log_warnx("ctl: queue action: bad request op=%u sel=%u",
		    req.op, req.sel);
		end.status = BW_QACT_END_ERROR;
		qact_end(peer, reqid, &end);
		return;
	}
	if (req.sel != BW_QSEL_QID) {
		qact_walk_start(peer, reqid, &req);
		return;
	}
	if (!bw_qid_valid(req.qid)) {
		memset(&row, 0, sizeof(row));
		strlcpy(row.qid, req.qid, sizeof(row.qid));
		row.result = BW_QACT_NOTFOUND;
	} else
		row.result = (uint32_t)qact_one(&req, req.qid, &row,
		    &changed);
	if (changed && qstore_flush(&q_env->store) == -1)
		qfail_storage();
	qact_count(&end, &row);
	qact_send(peer, BW_IMSG_QUEUE_ACTION_ROW, reqid, &row, sizeof(row));
	qact_end(peer, reqid, &end);
}

/* controld went away: its walks end (what they did stays done). */
void
qact_peer_gone(void)
{
	struct qact_walk	*w;

	while ((w = TAILQ_FIRST(&qa_walks)) != NULL)
		qact_walk_free(w);
}

/* At start, after the store is open: arm the purge for its first entry. */
void
qact_init(struct event_base *base)
{
	int64_t	 first;

	if ((qa_purge_ev = evtimer_new(base, qact_purge_cb, NULL)) == NULL)
		fatalx("hold: cannot create the purge timer");
	qa_purge_armed = 0;
	if ((first = qact_expiry_first()) > 0) {
		log_info("hold: first deleted message purged in %llds",
		    (long long)(first - bw_time()));
		qact_expiry_note(first);
	}
}

void
qact_shutdown(void)
{
	qact_peer_gone();
	if (qa_purge_ev != NULL)
		event_free(qa_purge_ev);
	qa_purge_ev = NULL;
	qa_purge_armed = 0;
}
