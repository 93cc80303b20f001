/*
 * The submission protocol with smtpd (see doc/queue.md): MSG_OPEN,
 * MSG_RCPT, MSG_DATA, MSG_COMMIT, MSG_ABORT in, MSG_OPEN_REPLY and
 * MSG_COMMIT_REPLY out; the per-host counters' frames go to
 * queued_hostcount.c.  A commit is written in one transaction without a
 * log sync and handed to the group-commit batcher; its reply goes out from
 * qsmtpd_commit_done() once a log flush covered it.
 *
 * Trust: smtpd faces the Internet and may be compromised.  peer.c has
 * checked each frame's type, sender role and size against the catalog.
 * Here every qid must be well formed and belong to a message this same
 * connection opened and has not committed; anything else is hostile: one
 * line is logged and the peer dropped, which discards its open messages.
 * Other peers' messages and the store are never touched by such input.
 * deliverd also connects to queued.sock; its frames go to
 * queued_dispatch.c.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"
#include "queued_commit.h"

#define QSMTPD_ESC_MAX	(BW_LOG_PEER_TEXT_MAX * 4 + 1)
#define QSMTPD_SHUTDOWN_FLUSH_MS	2000	/* per peer, for the last replies */

static TAILQ_HEAD(, qpeer_ent) qpeers = TAILQ_HEAD_INITIALIZER(qpeers);

struct qpeer_ent {
	TAILQ_ENTRY(qpeer_ent)	 entry;
	struct qpeer		 qp;
};

static void
qsmtpd_drop(struct bw_peer *peer, const char *qid, const char *why)
{
	char	 reason[QSMTPD_ESC_MAX + 64];

	q_env->c_peers_dropped++;
	snprintf(reason, sizeof(reason), "%s%s%s", qid ? qid : "",
	    qid ? " " : "", why);
	bw_peer_drop(peer, reason);
}

static const char *
qsmtpd_esc(char *dst, size_t dstsz, const char *s)
{
	return log_escape(dst, dstsz, s, strlen(s));
}

void
qsmtpd_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct qpeer_ent	*pe;
	struct qpeer		*qp;
	struct qmsg		*m;
	size_t			 aborted = 0;

	if (bw_peer_role(peer) == BW_ROLE_DELIVERD) {
		qdispatch_state_cb(peer, up);
		return;
	}
	if (bw_peer_role(peer) != BW_ROLE_SMTPD) {
		log_info("%s pid=%ld worker=%u %s",
		    bw_role_name(bw_peer_role(peer)), (long)bw_peer_pid(peer),
		    bw_peer_worker(peer), up ? "connected" : "disconnected");
		return;
	}
	if (up) {
		if ((pe = calloc(1, sizeof(*pe))) == NULL) {
			log_warn("smtpd pid=%ld: no memory for the peer",
			    (long)bw_peer_pid(peer));
			bw_peer_drop(peer, "out of memory");
			return;
		}
		pe->qp.peer = peer;
		pe->qp.id = bw_peer_id(peer);
		TAILQ_INIT(&pe->qp.msgs);
		TAILQ_INSERT_TAIL(&qpeers, pe, entry);
		bw_peer_set_data(peer, pe);
		q_env->c_smtpd_connects++;
		log_info("smtpd pid=%ld connected", (long)bw_peer_pid(peer));
		/* a restarted smtpd learns the pressure at once */
		qpressure_send(peer);
		return;
	}
	if ((pe = bw_peer_get_data(peer)) == NULL)
		return;
	bw_peer_set_data(peer, NULL);
	qp = &pe->qp;
	/* open messages go; those being committed finish, unowned */
	while ((m = TAILQ_FIRST(&qp->msgs)) != NULL) {
		if (m->state == QMSG_OPEN) {
			qmsg_free(m);
			aborted++;
		} else
			qmsg_detach(m);
	}
	q_env->c_messages_aborted += aborted;
	q_env->c_open_messages = qmsg_open_count();
	/* its sessions are gone with it: so are their connections */
	qhost_owner_gone(peer);
	TAILQ_REMOVE(&qpeers, pe, entry);
	free(pe);
	log_info("smtpd pid=%ld disconnected open_messages_discarded=%zu",
	    (long)bw_peer_pid(peer), aborted);
}

/* The open message qid of this peer, or drop the peer and NULL. */
static struct qmsg *
qsmtpd_msg(struct bw_peer *peer, const char *field, size_t fieldsz,
    char qid[BW_QID_LEN + 1], int want_open)
{
	struct qpeer_ent	*pe = bw_peer_get_data(peer);
	struct qmsg		*m;
	char			 esc[QSMTPD_ESC_MAX], why[QSMTPD_ESC_MAX + 32];

	bw_imsg_str(qid, BW_QID_LEN + 1, field, fieldsz);
	if (!bw_qid_valid(qid)) {
		log_escape(esc, sizeof(esc), field, strnlen(field, fieldsz));
		snprintf(why, sizeof(why), "malformed qid \"%s\"", esc);
		strlcpy(qid, "-", BW_QID_LEN + 1);
		qsmtpd_drop(peer, NULL, why);
		return NULL;
	}
	m = qmsg_find(qid);
	if (pe == NULL || m == NULL || m->qp != &pe->qp) {
		qsmtpd_drop(peer, qid, "qid not opened by this peer");
		return NULL;
	}
	if (want_open && m->state != QMSG_OPEN) {
		qsmtpd_drop(peer, qid, "message already committed");
		return NULL;
	}
	return m;
}

static void
qsmtpd_open_reply(struct bw_peer *peer, uint64_t reqid, int status,
    const char *qid)
{
	struct bw_msg_open_reply	 r;

	memset(&r, 0, sizeof(r));
	r.reqid = reqid;
	r.status = (uint32_t)status;
	if (qid != NULL)
		strlcpy(r.qid, qid, sizeof(r.qid));
	if (bw_peer_send(peer, BW_IMSG_MSG_OPEN_REPLY, 0, -1, &r,
	    sizeof(r)) == -1)
		log_warn("%s cannot send MSG_OPEN_REPLY", qid ? qid : "-");
}

static void
qsmtpd_commit_reply(struct bw_peer *peer, const char *qid, int status)
{
	struct bw_msg_commit_reply	 r;

	memset(&r, 0, sizeof(r));
	strlcpy(r.qid, qid, sizeof(r.qid));
	r.status = (uint32_t)status;
	if (bw_peer_send(peer, BW_IMSG_MSG_COMMIT_REPLY, 0, -1, &r,
	    sizeof(r)) == -1)
		log_warn("%s cannot send MSG_COMMIT_REPLY", qid);
}

/*
 * DSN texts (ENVID, ORCPT) go into DSN header fields and onto SMTP
 * command lines: smtpd passes them decoded and printable US-ASCII only.
 */
static int
qsmtpd_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
			return 0;
	return 1;
}

static void
qsmtpd_open(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct bw_msg_open	 o;
	struct qpeer_ent	*pe = bw_peer_get_data(peer);
	struct qmsg		*m;
	const struct bw_config	*cfg = q_env->d.cfg;
	const char		*gw;
	char			 esc[QSMTPD_ESC_MAX];
	char			 envid[BW_DSN_ENVID_MAX + 1];
	char			 listener[BW_NAME_MAX];
	char			 policy[BW_NAME_MAX];

	memcpy(&o, imsg->data, sizeof(o));
	if (pe == NULL) {
		qsmtpd_drop(peer, NULL, "MSG_OPEN from an unknown peer");
		return;
	}
	if (qstore_failed(&q_env->store))
		qfail_storage();	/* the checkpoint thread met it */
	BW_IMSG_STR(envid, o.envid);
	if (o.dsn_ret > BW_DSN_RET_HDRS || !qsmtpd_printable(envid)) {
		qsmtpd_drop(peer, NULL, "MSG_OPEN with bad DSN parameters");
		return;
	}
	if ((o.scan_flags & ~(uint32_t)BW_SCAN_ALL) != 0) {
		qsmtpd_drop(peer, NULL, "MSG_OPEN with unknown scan flags");
		return;
	}
	if (!qspace_ok(cfg->spool_dir, BW_LIMIT(cfg,
	    LIM_QUEUE_MIN_FREE_SPACE))) {
		q_env->c_nospace_rejects++;
		log_debug("- open reqid=%" PRIu64 " refused: NOSPACE",
		    o.reqid);
		qsmtpd_open_reply(peer, o.reqid, BW_SUBMIT_NOSPACE, NULL);
		return;
	}
	if (qmsg_open_count() >= (size_t)BW_LIMIT(cfg,
	    LIM_QUEUE_MAX_OPEN_MESSAGES)) {
		q_env->c_busy_rejects++;
		log_warnx("- open reqid=%" PRIu64 " refused: BUSY "
		    "open_messages=%zu", o.reqid, qmsg_open_count());
		qsmtpd_open_reply(peer, o.reqid, BW_SUBMIT_BUSY, NULL);
		return;
	}
	BW_IMSG_STR(listener, o.listener);
	BW_IMSG_STR(policy, o.policy);
	if (o.size_hint > (uint64_t)config_limits_for_policy(cfg,
	    listener, policy)->v[LIM_MESSAGE_SIZE_LIMIT]) {
		log_info("- open reqid=%" PRIu64 " refused: TOOBIG "
		    "size_hint=%" PRIu64, o.reqid, o.size_hint);
		qsmtpd_open_reply(peer, o.reqid, BW_SUBMIT_TOOBIG, NULL);
		return;
	}
	if ((m = qmsg_new(&pe->qp, &o)) == NULL) {
		log_warn("- open reqid=%" PRIu64 " refused: TEMPFAIL",
		    o.reqid);
		q_env->c_tempfails++;
		qsmtpd_open_reply(peer, o.reqid, BW_SUBMIT_TEMPFAIL, NULL);
		return;
	}
	q_env->c_open_messages = qmsg_open_count();
	gw = config_gateway_for(cfg, m->listener, m->sender);
	strlcpy(m->gateway, gw != NULL && gw[0] != '\0' ? gw :
	    QUEUED_GATEWAY_DEFAULT, sizeof(m->gateway));
	log_debug("%s open from=<%s> client=%s gateway=%s", m->qid,
	    qsmtpd_esc(esc, sizeof(esc), m->sender), m->client_addr,
	    m->gateway);
	qsmtpd_open_reply(peer, o.reqid, BW_SUBMIT_OK, m->qid);
}

static void
qsmtpd_rcpt(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct bw_msg_rcpt	 r;
	struct qmsg		*m;
	char			 qid[BW_QID_LEN + 1], rcpt[BW_ADDR_MAX];
	char			 orcpt[BW_DSN_ORCPT_MAX + 1];

	memcpy(&r, imsg->data, sizeof(r));
	if ((m = qsmtpd_msg(peer, r.qid, sizeof(r.qid), qid, 1)) == NULL)
		return;
	BW_IMSG_STR(rcpt, r.rcpt);
	if (rcpt[0] == '\0') {
		qsmtpd_drop(peer, qid, "empty recipient");
		return;
	}
	BW_IMSG_STR(orcpt, r.orcpt);
	if (!qsmtpd_printable(orcpt)) {
		qsmtpd_drop(peer, qid, "ORCPT not printable US-ASCII");
		return;
	}
	if ((r.notify & ~(uint32_t)BW_DSN_NOTIFY_ALL) != 0 ||
	    ((r.notify & BW_DSN_NOTIFY_NEVER) &&
	    r.notify != BW_DSN_NOTIFY_NEVER)) {
		qsmtpd_drop(peer, qid, "bad NOTIFY bits");
		return;
	}
	if (qmsg_rcpt_add(m, rcpt, r.notify, orcpt) == -1 &&
	    m->fail == BW_SUBMIT_TOOMANY && m->nrcpt ==
	    (uint32_t)m->lim->v[LIM_SMTPD_MAX_RECIPIENTS])
		log_info("%s too many recipients (limit %u)", qid, m->nrcpt);
}

static void
qsmtpd_data(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct bw_msg_data	 d;
	struct qmsg		*m;
	char			 qid[BW_QID_LEN + 1];
	int			 was_ok;

	memcpy(&d, imsg->data, sizeof(d));
	if ((m = qsmtpd_msg(peer, d.qid, sizeof(d.qid), qid, 1)) == NULL)
		return;
	was_ok = m->fail == BW_SUBMIT_OK;
	if (qmsg_data_add(m, (const unsigned char *)imsg->data + sizeof(d),
	    imsg->datalen - sizeof(d)) == -1 && was_ok)
		log_info("%s body refused: %s size=%" PRIu64, qid,
		    bw_submit_status_name(m->fail), m->size);
}

/* A commit that cannot go to the store: reply, log, forget it. */
static void
qsmtpd_commit_fail(struct bw_peer *peer, struct qmsg *m, int status,
    const char *why)
{
	log_info("%s rejected status=%s reason=\"%s\" size=%" PRIu64
	    " nrcpt=%u", m->qid, bw_submit_status_name(status), why, m->size,
	    m->nrcpt);
	if (status == BW_SUBMIT_TEMPFAIL)
		q_env->c_tempfails++;
	else if (status == BW_SUBMIT_NOSPACE)
		q_env->c_nospace_rejects++;	/* the disk filled up */
	q_env->c_messages_aborted++;
	qsmtpd_commit_reply(peer, m->qid, status);
	qmsg_free(m);
	q_env->c_open_messages = qmsg_open_count();
}

static void
qsmtpd_commit(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct bw_msg_commit	 c;
	struct qmsg		*m;
	char			 qid[BW_QID_LEN + 1];

	memcpy(&c, imsg->data, sizeof(c));
	if ((m = qsmtpd_msg(peer, c.qid, sizeof(c.qid), qid, 1)) == NULL)
		return;
	if (m->fail != BW_SUBMIT_OK) {
		qsmtpd_commit_fail(peer, m, m->fail, "limit or error while "
		    "receiving");
		return;
	}
	if (c.size != m->size || c.nrcpt != m->nrcpt) {
		log_warnx("%s commit mismatch: smtpd says size=%" PRIu64
		    " nrcpt=%u, received size=%" PRIu64 " nrcpt=%u", qid,
		    c.size, c.nrcpt, m->size, m->nrcpt);
		qsmtpd_commit_fail(peer, m, BW_SUBMIT_TEMPFAIL,
		    "size or recipient count mismatch");
		return;
	}
	if (m->nrcpt == 0) {
		qsmtpd_commit_fail(peer, m, BW_SUBMIT_TEMPFAIL,
		    "no recipients");
		return;
	}
	if (qstore_msg_put(&q_env->store, m) == -1) {
		qsmtpd_commit_fail(peer, m, m->fail == BW_SUBMIT_NOSPACE ?
		    BW_SUBMIT_NOSPACE : BW_SUBMIT_TEMPFAIL, "store error");
		return;
	}
	m->state = QMSG_COMMITTING;
	q_env->c_committing++;
	/* the body is in the store now; keep only the envelope */
	free(m->mem);
	m->mem = NULL;
	m->memlen = m->memcap = 0;
	if (qcommit_submit(q_env->commit, m) == -1) {
		/* XXX: rare (no memory): flush here, blocking the loop */
		log_warn("%s group commit unavailable, flushing inline", qid);
		qsmtpd_commit_done(m, qstore_flush(&q_env->store) == 0, NULL);
	}
}

static void
qsmtpd_abort(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct bw_msg_abort	 a;
	struct qpeer_ent	*pe = bw_peer_get_data(peer);
	struct qmsg		*m;
	char			 qid[BW_QID_LEN + 1];

	memcpy(&a, imsg->data, sizeof(a));
	BW_IMSG_STR(qid, a.qid);
	/*
	 * Not found: smtpd may abort a message whose commit reply crossed
	 * its own queue-reply timeout; that race is benign.  A qid opened by
	 * another peer is not.
	 */
	if (bw_qid_valid(qid) && (m = qmsg_find(qid)) != NULL &&
	    pe != NULL && m->qp == &pe->qp && m->state == QMSG_COMMITTING) {
		log_info("%s abort after commit ignored: the message stays "
		    "queued", qid);
		return;
	}
	if (bw_qid_valid(qid) && qmsg_find(qid) == NULL) {
		log_info("%s abort of an unknown message ignored", qid);
		return;
	}
	if ((m = qsmtpd_msg(peer, a.qid, sizeof(a.qid), qid, 1)) == NULL)
		return;
	log_debug("%s aborted size=%" PRIu64 " nrcpt=%u", qid, m->size,
	    m->nrcpt);
	q_env->c_messages_aborted++;
	qmsg_free(m);
	q_env->c_open_messages = qmsg_open_count();
}

/*
 * MSG_COMMIT_CHECK (queued_check.c): a commit whose reply smtpd lost with
 * an earlier connection.  A message still being committed here, whose
 * peer is gone, gets its reply on this connection when its flush is done;
 * any other is answered from the store now.
 */
static void
qsmtpd_check(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct bw_msg_commit_check	 c;
	struct qpeer_ent		*pe = bw_peer_get_data(peer);
	struct qmsg			*m;
	char				 qid[BW_QID_LEN + 1];
	int				 ok;

	memcpy(&c, imsg->data, sizeof(c));
	BW_IMSG_STR(qid, c.qid);
	if (!bw_qid_valid(qid) || pe == NULL) {
		qsmtpd_drop(peer, NULL, "malformed MSG_COMMIT_CHECK");
		return;
	}
	if ((m = qmsg_find(qid)) != NULL) {
		if (m->state != QMSG_COMMITTING || (m->qp != NULL &&
		    m->qp != &pe->qp)) {
			qsmtpd_drop(peer, qid, "commit check of a message "
			    "not committed, or another peer's");
			return;
		}
		if (m->qp == NULL) {
			m->qp = &pe->qp;
			TAILQ_INSERT_TAIL(&pe->qp.msgs, m, pentry);
		}
		log_info("%s commit check: still being committed, the reply "
		    "follows", qid);
		return;
	}
	ok = qcheck_committed(qid);
	log_info("%s commit check: %s", qid, ok ? "in the store (smtpd "
	    "answers 250)" : "not in the store (smtpd answers 451)");
	qsmtpd_commit_reply(peer, qid, ok ? BW_SUBMIT_OK : BW_SUBMIT_TEMPFAIL);
}

void
qsmtpd_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	char	 why[96];

	if (bw_peer_role(peer) == BW_ROLE_DELIVERD) {
		qdispatch_msg_cb(peer, imsg);
		return;
	}
	if (bw_peer_role(peer) != BW_ROLE_SMTPD) {
		snprintf(why, sizeof(why), "unexpected %s",
		    bw_imsg_type_name(imsg->hdr.type));
		qsmtpd_drop(peer, NULL, why);
		return;
	}
	switch (imsg->hdr.type) {
	case BW_IMSG_MSG_OPEN:
		qsmtpd_open(peer, imsg);
		break;
	case BW_IMSG_MSG_RCPT:
		qsmtpd_rcpt(peer, imsg);
		break;
	case BW_IMSG_MSG_DATA:
		qsmtpd_data(peer, imsg);
		break;
	case BW_IMSG_MSG_COMMIT:
		qsmtpd_commit(peer, imsg);
		break;
	case BW_IMSG_MSG_ABORT:
		qsmtpd_abort(peer, imsg);
		break;
	case BW_IMSG_MSG_COMMIT_CHECK:
		qsmtpd_check(peer, imsg);
		break;
	case BW_IMSG_HOSTCOUNT_TAKE:
		qhost_take(peer, imsg);
		break;
	case BW_IMSG_HOSTCOUNT_RELEASE:
		qhost_release(peer, imsg);
		break;
	default:
		snprintf(why, sizeof(why), "unexpected %s",
		    bw_imsg_type_name(imsg->hdr.type));
		qsmtpd_drop(peer, NULL, why);
		break;
	}
}

/* One message covered by a log flush (or by a failed one). */
void
qsmtpd_commit_done(void *cookie, int ok, void *arg)
{
	struct qmsg	*m = cookie;
	char		 esc[QSMTPD_ESC_MAX];
	int		 status = BW_SUBMIT_OK;

	/*
	 * A failed flush: nothing that waited for it is known to be durable,
	 * nor known not to be.  No reply, no attempt to delete (another
	 * write to a store that failed); restart through recovery.
	 */
	if (!ok)
		qfail_storage();
	if (qsched_flush_cookie(cookie))
		return;		/* a flush of result transactions */
	q_env->c_committing--;
	q_env->c_messages_accepted++;
	q_env->c_queued_messages++;
	q_env->c_queued_recipients += m->nrcpt;
	log_info("%s queued from=<%s> size=%" PRIu64 " nrcpt=%u "
	    "client=%s listener=%s%s", m->qid,
	    qsmtpd_esc(esc, sizeof(esc), m->sender), m->size, m->nrcpt,
	    m->client_addr, m->listener,
	    m->qp == NULL ? " (smtpd gone before the reply)" : "");
	/* durable now: it may be delivered */
	qsched_msg_added(m->qid, m->created, m->gateway, m->rcpts,
	    m->nrcpt);
	if (m->qp != NULL)
		qsmtpd_commit_reply(m->qp->peer, m->qid, status);
	qmsg_free(m);
	q_env->c_open_messages = qmsg_open_count();
}

/* The batcher's descriptor is readable: release replies. */
void
qsmtpd_commit_cb(evutil_socket_t fd, short ev, void *arg)
{
	qcommit_collect(q_env->commit, qsmtpd_commit_done, NULL);
	qstore_release_flushed(&q_env->store);
	qstore_punch_schedule(&q_env->store, q_env->d.base);
}

/*
 * Shutdown, after the batcher's last flush: write the 250 replies it just
 * produced, so that no client retries a message that is already queued
 * (which would make a duplicate).  Bounded by QSMTPD_SHUTDOWN_FLUSH_MS.
 */
void
qsmtpd_flush_replies(void)
{
	struct qpeer_ent	*pe;

	TAILQ_FOREACH(pe, &qpeers, entry)
		if (bw_peer_flush(pe->qp.peer, QSMTPD_SHUTDOWN_FLUSH_MS) == -1)
			log_warnx("smtpd peer id=%u: replies not written at "
			    "shutdown", pe->qp.id);
}

/* One frame to every linked smtpd (queue pressure). */
void
qsmtpd_broadcast(uint32_t type, const void *data, size_t len)
{
	struct qpeer_ent	*pe;

	TAILQ_FOREACH(pe, &qpeers, entry)
		if (bw_peer_send(pe->qp.peer, type, 0, -1, data, len) == -1)
			log_warn("smtpd peer id=%u: cannot send %s", pe->qp.id,
			    bw_imsg_type_name(type));
}

/* Shutdown: forget every peer and open message (after the batcher). */
void
qsmtpd_shutdown(void)
{
	struct qpeer_ent	*pe;
	struct qmsg		*m;

	while ((pe = TAILQ_FIRST(&qpeers)) != NULL) {
		while ((m = TAILQ_FIRST(&pe->qp.msgs)) != NULL)
			qmsg_free(m);
		bw_peer_set_data(pe->qp.peer, NULL);
		TAILQ_REMOVE(&qpeers, pe, entry);
		free(pe);
	}
}
