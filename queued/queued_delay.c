/*
 * Delay warnings: a DSN with action "delayed" (RFC 3464, status 4.x.x) to
 * the sender of a message still waiting after its bounce profile's
 * delay_warning, once per message, for the recipients still waiting whose
 * NOTIFY allows DELAY (no NOTIFY counts as FAILURE,DELAY; RFC 3461 4.1).
 *
 * Cost flat in the queue: no timer per message and no walk of the queue.
 * delays.db is a btree keyed by the due time (big-endian seconds) and the
 * qid, so its first key is the next warning due.  The entry is written in
 * the transaction that stores the message (qstore_msg_put) and removed in
 * the one that deletes it (qstore_msg_delete_txn): the index holds exactly
 * the stored messages whose warning is pending, across restarts.  ONE
 * timer fires at the first key's time; each turn sends at most QDELAY_STEP
 * warnings.  A parked (down) domain costs nothing here: the warning reads
 * the message's own records, not its queue.
 *
 * Crashes: the warning is stored as a new message (its own transaction),
 * then the index entry is removed and the envelope marked sent (a second
 * one).  Both commit without a sync; a log flush makes them durable in that
 * order, so after a crash the warning is either not sent and still due,
 * or stored, or stored twice (the crash fell between the two): at least
 * once, exactly once when nothing crashes.
 *
 * A message whose recipients fall under profiles with different
 * delay_warning values gets its one warning at the earliest of them.
 * Messages stored by a release without this index (QSTORE_VERSION 2) have
 * no entry and get no warning.
 *
 * Trust: everything read here is our own store; texts that came from the
 * network are cleaned by queued_bounce.c.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "queued.h"
#include "queued_timekey.h"

#define QDELAY_KEY_LEN	QUEUE_TIMEKEY_LEN	/* due (u64 BE) + qid */

static struct event		*qd_ev;
static int64_t			 qd_armed;	/* timer's due; 0: off */

/* The key of (due, qid). */
/*
 * When m's warning is due (unix time), or 0 when it gets none: a null
 * sender or a DSN of ours, no recipient whose NOTIFY allows DELAY, or
 * every such recipient's profile has delay_warning 0.
 */
int64_t
qdelay_due(const struct qmsg *m)
{
	const struct bw_profile_conf	*pr;
	const struct bw_config		*cfg;
	char				 dom[BW_DOMAIN_MAX + 1];
	char				 prev[BW_DOMAIN_MAX + 1] = "";
	long long			 best = 0, w = 0;
	uint32_t			 i;

	if (q_env == NULL || m->sender[0] == '\0' ||
	    (m->flags & BW_DLVF_BOUNCE))
		return 0;
	/* the configuration the message was received under */
	cfg = m->cfg != NULL ? m->cfg : q_env->d.cfg;
	for (i = 0; i < m->nrcpt; i++) {
		if (!bw_dsn_notify_wants(m->notify != NULL ? m->notify[i] : 0,
		    BW_DSN_NOTIFY_DELAY))
			continue;
		qqueue_rcpt_domain(dom, sizeof(dom), m->rcpts[i],
		    cfg->hostname);
		/* recipients of one domain tend to be adjacent */
		if (i == 0 || strcmp(dom, prev) != 0) {
			pr = config_profile_for(cfg, dom);
			w = pr != NULL ? pr->delay_warning : 0;
			strlcpy(prev, dom, sizeof(prev));
		}
		if (w > 0 && (best == 0 || w < best))
			best = w;
	}
	if (best == 0)
		return 0;
	return m->created + (best + 999) / 1000;
}

/* The index entry of qid, in txn; due 0: none.  A DB error. */
int
qdelay_index_put(struct qstore *st, DB_TXN *txn, const char *qid,
    int64_t due)
{
	unsigned char	 k[QDELAY_KEY_LEN];
	uint32_t	 v = QSTORE_VERSION;
	DBT		 key, data;

	if (due <= 0)
		return 0;
	queue_timekey_put(k, due, qid);
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = sizeof(k);
	data.data = &v;
	data.size = sizeof(v);
	return st->delays->put(st->delays, txn, &key, &data, 0);
}

/* Remove qid's entry (none, or gone already: fine).  A DB error. */
int
qdelay_index_del(struct qstore *st, DB_TXN *txn, const char *qid,
    int64_t due)
{
	unsigned char	 k[QDELAY_KEY_LEN];
	DBT		 key;
	int		 r;

	if (due <= 0)
		return 0;
	queue_timekey_put(k, due, qid);
	memset(&key, 0, sizeof(key));
	key.data = k;
	key.size = sizeof(k);
	r = st->delays->del(st->delays, txn, &key, 0);
	return r == DB_NOTFOUND ? 0 : r;
}

/* Arm the one timer for due (unix time), unless it fires earlier. */
static void
qdelay_arm(int64_t due)
{
	struct timeval	 tv = { 0, 0 };
	int64_t		 now = bw_time();

	if (qd_ev == NULL || due <= 0)
		return;
	if (qd_armed != 0 && qd_armed <= due)
		return;
	if (due > now)
		tv.tv_sec = (time_t)(due - now);
	qd_armed = due;
	evtimer_add(qd_ev, &tv);
}

/* A message was stored with this due time (0: none). */
void
qdelay_note(int64_t due)
{
	qdelay_arm(due);
}

/* The first due time in the index: 0 none, -1 error. */
static int64_t
qdelay_first(void)
{
	struct qstore	*st = &q_env->store;
	unsigned char	 k[QDELAY_KEY_LEN];
	DBC		*c;
	DBT		 key, data;
	int		 r;

	if ((r = st->delays->cursor(st->delays, NULL, &c, 0)) != 0)
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
	if (key.size != sizeof(k))
		return 0;
	return queue_timekey_when(k);
fail:
	log_warnx("delay: cannot read the index: %s", db_strerror(r));
	return -1;
}

/* "451 4.3.0 text": the enhanced code of a 4xx reply, else 4.0.0. */
static void
qdelay_status(const char *reply, char *dst, size_t dstsz)
{
	size_t	 n;

	strlcpy(dst, "4.0.0", dstsz);
	if (strlen(reply) < 10 || reply[0] != '4' || reply[4] != '4' ||
	    reply[5] != '.')
		return;
	n = strspn(reply + 4, "0123456789.");
	if (n >= 5 && n < dstsz)
		strlcpy(dst, reply + 4, n + 1);
}

/*
 * Remove the index entry of (due, qid) and mark the envelope: the
 * warning is done (sent, or nothing to send).  0 or -1.
 */
static int
qdelay_done(const char *qid, int64_t due)
{
	struct qstore	*st = &q_env->store;
	struct qenv_rec	 e;
	unsigned char	 packed[sizeof(struct qenv_rec)];
	DB_TXN		*txn = NULL;
	DBT		 key, data;
	int		 r;

	if ((r = st->env->txn_begin(st->env, NULL, &txn, 0)) != 0)
		goto fail;
	if ((r = qdelay_index_del(st, txn, qid, due)) != 0)
		goto fail;
	memset(&key, 0, sizeof(key));
	memset(&e, 0, sizeof(e));
	key.data = (void *)qid;
	key.size = BW_QID_LEN;
	qstore_dbt_user(&data, &e, sizeof(e));
	r = st->messages->get(st->messages, txn, &key, &data, DB_RMW);
	if (r == 0 && qstore_env_load(&e, data.size) == 0 &&
	    e.delay_due == due) {
		e.delay_due = 0;
		e.dsn_flags |= QENV_DSN_DELAY_SENT;
		/* rewritten in this release's layout */
		data.data = packed;
		data.size = (uint32_t)qstore_env_pack(&e, packed);
		r = st->messages->put(st->messages, txn, &key, &data, 0);
	} else if (r == DB_NOTFOUND)
		r = 0;
	if (r != 0)
		goto fail;
	r = txn->commit(txn, DB_TXN_NOSYNC);
	txn = NULL;
	qstore_txn_end(st, r == 0);
	if (r != 0)
		goto fail;
	qsched_flush_request();
	return 0;
fail:
	log_warnx("%s delay: cannot update the store: %s", qid,
	    db_strerror(r));
	if (txn != NULL) {
		txn->abort(txn);
		qstore_txn_end(st, 0);
	}
	if (r == DB_RUNRECOVERY)
		fatalx("%s store: environment needs recovery", qid);
	return -1;
}

/*
 * The warning of one message, due now: 0 done (sent, or none to send),
 * -1 on a store error (the entry stays; retried later).
 */
static int
qdelay_warn(const char *qid, int64_t due)
{
	const struct bw_profile_conf	*pr;
	struct qstore			*st = &q_env->store;
	struct qenv_rec			 e;
	struct qrcpt_rec		 rr;
	struct qbounce_rcpt		*brc = NULL;
	char				**strs = NULL;
	char				(*codes)[BW_DSN_CODE_MAX] = NULL;
	uint32_t			 i, n = 0;
	int				 r, ret = -1;

	if ((r = qstore_msg_get(st, qid, &e)) == -1)
		return -1;
	if (r == 1 || e.delay_due != due) {
		/* deleted meanwhile, or a stale entry: just drop it */
		return qdelay_done(qid, due);
	}
	e.sender[sizeof(e.sender) - 1] = '\0';
	e.envid[sizeof(e.envid) - 1] = '\0';
	if (e.sender[0] == '\0' || (e.flags & BW_DLVF_BOUNCE))
		return qdelay_done(qid, due);
	if (qstore_quarantined(st, qid)) {
		/* out of the queues, held for an admin: nothing is retried */
		log_info("%s delay warning not sent: quarantined", qid);
		return qdelay_done(qid, due);
	}
	/* per recipient: rcpt, reply, orcpt strings; one status code */
	if ((brc = calloc(e.nrcpt ? e.nrcpt : 1, sizeof(*brc))) == NULL ||
	    (strs = calloc(e.nrcpt ? 3 * (size_t)e.nrcpt : 1,
	    sizeof(*strs))) == NULL ||
	    (codes = calloc(e.nrcpt ? e.nrcpt : 1, sizeof(*codes))) == NULL) {
		log_warn("%s delay: no memory", qid);
		goto out;
	}
	for (i = 0; i < e.nrcpt; i++) {
		if ((r = qstore_rcpt_get(st, qid, i, &rr)) == -1)
			goto out;
		if (r != 0 || (rr.state != BW_RCPT_QUEUED &&
		    rr.state != BW_RCPT_DEFERRED) ||
		    !bw_dsn_notify_wants(rr.notify, BW_DSN_NOTIFY_DELAY))
			continue;
		rr.rcpt[sizeof(rr.rcpt) - 1] = '\0';
		rr.domain[sizeof(rr.domain) - 1] = '\0';
		rr.last_reply[sizeof(rr.last_reply) - 1] = '\0';
		rr.orcpt[sizeof(rr.orcpt) - 1] = '\0';
		pr = config_profile_for(q_env->d.cfg, rr.domain);
		if (pr == NULL || pr->delay_warning <= 0)
			continue;
		if ((strs[3 * n] = strdup(rr.rcpt)) == NULL ||
		    (strs[3 * n + 1] = strdup(rr.last_reply[0] ?
		    rr.last_reply : "not delivered yet")) == NULL ||
		    (strs[3 * n + 2] = strdup(rr.orcpt)) == NULL) {
			log_warn("%s delay: no memory", qid);
			n++;
			goto out;
		}
		qdelay_status(rr.last_reply, codes[n], sizeof(codes[n]));
		brc[n].rcpt = strs[3 * n];
		brc[n].dsn = codes[n];
		brc[n].relay = "";
		brc[n].reply = strs[3 * n + 1];
		brc[n].action = QBOUNCE_DELAYED;
		brc[n].orcpt = strs[3 * n + 2];
		brc[n].retry_until = e.created + pr->max_age / 1000;
		n++;
	}
	if (n > 0 && qresult_dsn_send(&e, qid, brc, n) == -1)
		goto out;
	if (n == 0)
		log_info("%s delay warning: no recipient asks for one", qid);
	ret = qdelay_done(qid, due);
out:
	if (strs != NULL)
		for (i = 0; i < 3 * n; i++)
			free(strs[i]);
	free(strs);
	free(codes);
	free(brc);
	return ret;
}

/* The timer: every warning due now, QDELAY_STEP per turn. */
static void
qdelay_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qstore	*st = &q_env->store;
	unsigned char	 k[QDELAY_KEY_LEN];
	struct {
		int64_t	 due;
		char	 qid[BW_QID_LEN + 1];
	}		 due[QDELAY_STEP];
	DBC		*c = NULL;
	DBT		 key, data;
	int64_t		 now = bw_time(), next;
	size_t		 n = 0, i;
	int		 r, flag = DB_FIRST;

	qd_armed = 0;
	/* collect first: the warnings write the store */
	if ((r = st->delays->cursor(st->delays, NULL, &c, 0)) != 0)
		goto fail;
	qstore_dbt_user(&key, k, sizeof(k));
	memset(&data, 0, sizeof(data));
	data.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
	while (n < QDELAY_STEP && (r = c->get(c, &key, &data, flag)) == 0) {
		flag = DB_NEXT;
		if (key.size != sizeof(k))
			continue;
		if ((due[n].due = queue_timekey_when(k)) > now)
			break;
		memcpy(due[n].qid, k + 8, BW_QID_LEN);
		due[n].qid[BW_QID_LEN] = '\0';
		n++;
	}
	c->close(c);
	if (r != 0 && r != DB_NOTFOUND)
		goto fail;
	for (i = 0; i < n; i++)
		if (qdelay_warn(due[i].qid, due[i].due) == -1)
			goto retry;
	if (n == QDELAY_STEP)
		qdelay_arm(now);	/* more due: the next turn */
	else if ((next = qdelay_first()) > 0)
		qdelay_arm(next);
	else if (next == -1)
		goto retry;
	return;
fail:
	log_warnx("delay: cannot read the index: %s", db_strerror(r));
retry:
	qdelay_arm(bw_time() + QDELAY_ERROR_RETRY_MS / 1000);
}

/* At start, after the store is open: arm for the first entry. */
void
qdelay_init(struct event_base *base)
{
	int64_t	 first;

	if ((qd_ev = evtimer_new(base, qdelay_cb, NULL)) == NULL)
		fatalx("delay: cannot create the timer");
	qd_armed = 0;
	if ((first = qdelay_first()) > 0) {
		log_info("delay: first warning due in %llds",
		    (long long)(first - bw_time()));
		qdelay_arm(first);
	}
}

void
qdelay_shutdown(void)
{
	if (qd_ev != NULL)
		event_free(qd_ev);
	qd_ev = NULL;
	qd_armed = 0;
}
