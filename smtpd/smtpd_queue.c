/*
 * smtpd's link to queued: the submission protocol of shared_context.md.
 * MSG_OPEN carries a reqid (ours, unique in this process) and its reply is
 * matched through the reqid table; later messages carry queued's qid and
 * the commit reply is matched through the qid table.  A reply that matches
 * no session is not an error: the session ended meanwhile (an OK open reply
 * is then aborted at once so that queued frees it).
 *
 * Trust: queued's frames passed the catalog check in peer.c; strings are
 * copied out with an explicit length and qids checked with bw_qid_valid.
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"

/* The one table from submission status to SMTP reply. */
static const char *const smtpd_submit_replies[BW_SUBMIT__COUNT] = {
	[BW_SUBMIT_OK] = "250 2.1.0 Ok",
	[BW_SUBMIT_TEMPFAIL] = "451 4.3.0 Temporary queue failure",
	[BW_SUBMIT_NOSPACE] = "452 4.3.1 Insufficient system storage",
	[BW_SUBMIT_TOOBIG] = "552 5.3.4 Message size exceeds fixed limit",
	[BW_SUBMIT_TOOMANY] = "452 4.5.3 Too many recipients",
	[BW_SUBMIT_BUSY] = "421 4.3.2 Service busy, try again later",
};

const char *
smtpd_submit_reply(int status)
{
	if (status < 0 || status >= BW_SUBMIT__COUNT)
		return smtpd_submit_replies[BW_SUBMIT_TEMPFAIL];
	return smtpd_submit_replies[status];
}

static unsigned int
smtpd_hash_u64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	return (unsigned int)(v & (SMTPD_HASH_SIZE - 1));
}

/* qid text to its 64-bit value (it is 16 hex digits). */
static uint64_t
smtpd_qid_key(const char *qid)
{
	return strtoull(qid, NULL, 16);
}

static void
smtpd_reqtab_add(struct smtpd_session *s)
{
	unsigned int	 h = smtpd_hash_u64(s->reqid);

	s->req_next = s->env->reqtab[h];
	s->env->reqtab[h] = s;
	s->in_reqtab = 1;
}

static struct smtpd_session *
smtpd_reqtab_take(struct smtpd_env *env, uint64_t reqid)
{
	struct smtpd_session	**pp, *s;

	for (pp = &env->reqtab[smtpd_hash_u64(reqid)]; (s = *pp) != NULL;
	    pp = &s->req_next) {
		if (s->reqid == reqid) {
			*pp = s->req_next;
			s->req_next = NULL;
			s->in_reqtab = 0;
			return s;
		}
	}
	return NULL;
}

static void
smtpd_qidtab_add(struct smtpd_session *s)
{
	unsigned int	 h = smtpd_hash_u64(smtpd_qid_key(s->qid));

	s->qid_next = s->env->qidtab[h];
	s->env->qidtab[h] = s;
	s->in_qidtab = 1;
}

static struct smtpd_session *
smtpd_qidtab_find(struct smtpd_env *env, const char *qid, int take)
{
	struct smtpd_session	**pp, *s;

	for (pp = &env->qidtab[smtpd_hash_u64(smtpd_qid_key(qid))];
	    (s = *pp) != NULL; pp = &s->qid_next) {
		if (strcmp(s->qid, qid) == 0) {
			if (take) {
				*pp = s->qid_next;
				s->qid_next = NULL;
				s->in_qidtab = 0;
			}
			return s;
		}
	}
	return NULL;
}

/* Remove a session from both tables (it is ending or its tx is gone). */
void
smtpd_queue_forget(struct smtpd_session *s)
{
	if (s->in_reqtab)
		smtpd_reqtab_take(s->env, s->reqid);
	if (s->in_qidtab)
		smtpd_qidtab_find(s->env, s->qid, 1);
}

int
smtpd_queue_up(struct smtpd_env *env)
{
	return env->queued != NULL && bw_peer_is_up(env->queued);
}

/* MSG_OPEN for the session's MAIL; the reply comes to open_reply. */
int
smtpd_queue_open(struct smtpd_session *s)
{
	struct bw_msg_open	 mo;

	memset(&mo, 0, sizeof(mo));
	s->reqid = s->env->next_reqid++;
	mo.reqid = s->reqid;
	mo.size_hint = s->params.has_size ? s->params.size : 0;
	if (s->params.body == SMTP_BODY_8BITMIME)
		mo.flags |= BW_MSGF_8BITMIME;
	if (s->params.body == SMTP_BODY_BINARYMIME)
		mo.flags |= BW_MSGF_BODY_BINARY;
	if (s->params.smtputf8)
		mo.flags |= BW_MSGF_SMTPUTF8;
	if (s->tls)
		mo.flags |= BW_MSGF_TLS;
	strlcpy(mo.sender, s->sender, sizeof(mo.sender));
	strlcpy(mo.helo, s->helo, sizeof(mo.helo));
	strlcpy(mo.client_addr, s->addr, sizeof(mo.client_addr));
	strlcpy(mo.client_name, s->name, sizeof(mo.client_name));
	strlcpy(mo.listener, s->lconf->name, sizeof(mo.listener));
	if (s->hat != NULL && s->hat->policy != NULL)
		strlcpy(mo.policy, s->hat->policy->name, sizeof(mo.policy));
	mo.dsn_ret = (uint32_t)s->params.dsn_ret;
	strlcpy(mo.envid, s->params.envid, sizeof(mo.envid));
	mo.scan_flags = s->scan_flags;	/* its policy's; 0 by default */
	if (bw_peer_send(s->env->queued, BW_IMSG_MSG_OPEN, 0, -1, &mo,
	    sizeof(mo)) == -1)
		return -1;
	smtpd_reqtab_add(s);
	return 0;
}

int
smtpd_queue_rcpt(struct smtpd_session *s, const char *rcpt,
    const struct smtp_rcpt_params *rp)
{
	struct bw_msg_rcpt	 mr;

	memset(&mr, 0, sizeof(mr));
	strlcpy(mr.qid, s->qid, sizeof(mr.qid));
	strlcpy(mr.rcpt, rcpt, sizeof(mr.rcpt));
	mr.notify = rp->notify;
	strlcpy(mr.orcpt, rp->orcpt, sizeof(mr.orcpt));
	return bw_peer_send(s->env->queued, BW_IMSG_MSG_RCPT, 0, -1, &mr,
	    sizeof(mr));
}

/* One MSG_DATA frame of at most BW_DATA_CHUNK_MAX bytes. */
int
smtpd_queue_data(struct smtpd_session *s, const void *buf, size_t len)
{
	struct bw_msg_data	 md;

	memset(&md, 0, sizeof(md));
	strlcpy(md.qid, s->qid, sizeof(md.qid));
	return bw_peer_send2(s->env->queued, BW_IMSG_MSG_DATA, 0, -1, &md,
	    sizeof(md), buf, len);
}

int
smtpd_queue_commit(struct smtpd_session *s)
{
	struct bw_msg_commit	 mc;

	memset(&mc, 0, sizeof(mc));
	strlcpy(mc.qid, s->qid, sizeof(mc.qid));
	mc.size = s->data_size;
	mc.nrcpt = s->nrcpt;
	if (bw_peer_send(s->env->queued, BW_IMSG_MSG_COMMIT, 0, -1, &mc,
	    sizeof(mc)) == -1)
		return -1;
	smtpd_qidtab_add(s);
	return 0;
}

/* MSG_COMMIT_CHECK: the answer is a MSG_COMMIT_REPLY (qid table). */
static void
smtpd_queue_check(struct smtpd_session *s)
{
	struct bw_msg_commit_check	 mc;

	memset(&mc, 0, sizeof(mc));
	strlcpy(mc.qid, s->qid, sizeof(mc.qid));
	if (bw_peer_send(s->env->queued, BW_IMSG_MSG_COMMIT_CHECK, 0, -1, &mc,
	    sizeof(mc)) == -1)
		log_warnx("%s session=%llu: cannot ask queued about the "
		    "commit", s->qid, (unsigned long long)s->id);
}

static void
smtpd_queue_abort_qid(struct smtpd_env *env, const char *qid)
{
	struct bw_msg_abort	 ma;

	memset(&ma, 0, sizeof(ma));
	strlcpy(ma.qid, qid, sizeof(ma.qid));
	if (bw_peer_is_up(env->queued))
		(void)bw_peer_send(env->queued, BW_IMSG_MSG_ABORT, 0, -1, &ma,
		    sizeof(ma));
}

/* Give up the session's open message (RSET, new MAIL, rejection, close). */
void
smtpd_queue_abort(struct smtpd_session *s)
{
	smtpd_queue_forget(s);
	if (!s->tx)
		return;
	if (!s->tx_dead)
		smtpd_queue_abort_qid(s->env, s->qid);
	s->tx_dead = 0;
	log_info("%s aborted session=%llu", s->qid, (unsigned long long)s->id);
	s->tx = 0;
}

static void
smtpd_queue_open_reply(struct smtpd_env *env, struct bw_imsg *imsg)
{
	struct bw_msg_open_reply	 r;
	struct smtpd_session		*s;
	char				 qid[BW_QID_LEN + 1];

	memcpy(&r, imsg->data, sizeof(r));
	BW_IMSG_STR(qid, r.qid);
	if (r.status == BW_SUBMIT_OK && !bw_qid_valid(qid)) {
		log_warnx("queued: open reply with a bad qid; dropping link");
		bw_peer_drop(env->queued, "bad qid in MSG_OPEN_REPLY");
		return;
	}
	if ((s = smtpd_reqtab_take(env, r.reqid)) == NULL) {
		if (r.status == BW_SUBMIT_OK) {
			log_info("%s aborted: session ended before the open "
			    "reply", qid);
			smtpd_queue_abort_qid(env, qid);
		}
		return;
	}
	smtpd_session_open_reply(s, (int)r.status, qid);
}

static void
smtpd_queue_commit_reply(struct smtpd_env *env, struct bw_imsg *imsg)
{
	struct bw_msg_commit_reply	 r;
	struct smtpd_session		*s;
	char				 qid[BW_QID_LEN + 1];

	memcpy(&r, imsg->data, sizeof(r));
	BW_IMSG_STR(qid, r.qid);
	if ((s = smtpd_qidtab_find(env, qid, 1)) == NULL) {
		log_info("%s commit reply status=%s for no session "
		    "(client gone or timed out)", qid,
		    bw_submit_status_name((int)r.status));
		return;
	}
	smtpd_session_commit_reply(s, (int)r.status);
}

static void
smtpd_queue_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct smtpd_env	*env = arg;

	switch (imsg->hdr.type) {
	case BW_IMSG_MSG_OPEN_REPLY:
		smtpd_queue_open_reply(env, imsg);
		break;
	case BW_IMSG_MSG_COMMIT_REPLY:
		smtpd_queue_commit_reply(env, imsg);
		break;
	case BW_IMSG_QUEUE_PRESSURE:
		smtpd_pressure_recv(env, imsg);
		break;
	case BW_IMSG_HOSTCOUNT_REPLY:
		smtpd_hostcount_reply(env, imsg);
		break;
	default:
		log_warnx("unexpected %s from queued",
		    bw_imsg_type_name(imsg->hdr.type));
		bw_peer_drop(peer, "unexpected message type");
		break;
	}
}

/*
 * Every session waiting on queued fails now: queued forgets the open
 * messages of a lost peer, so a later reply would never come.
 */
static void
smtpd_queue_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct smtpd_env	*env = arg;
	struct smtpd_session	*s, *next;

	if (up) {
		env->c.queue_connects++;
		log_info("connected to queued");
		/* commits whose reply was lost with the last connection */
		TAILQ_FOREACH(s, &env->sessions, entry)
			if (s->phase == SMTPD_PH_WAIT_COMMIT &&
			    s->commit_doubt)
				smtpd_queue_check(s);
		/* a restarted queued counts the live sessions again */
		smtpd_hostcount_link(env, 1);
		return;
	}
	smtpd_hostcount_link(env, 0);
	log_warnx("lost connection to queued; failing open transactions");
	for (s = TAILQ_FIRST(&env->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->tx || s->in_reqtab || s->in_qidtab)
			smtpd_session_queue_lost(s);
	}
}

void
smtpd_queue_connect(struct smtpd_env *env)
{
	char	 path[PATH_MAX];

	if (smtpd_peer_path(env, BW_SOCK_QUEUED, path,
	    sizeof(path)) == -1)
		fatalx("queued socket path too long");
	env->queued = bw_peer_connect(env->d.base, path, BW_ROLE_SMTPD,
	    (uint32_t)env->worker,
	    smtpd_queue_msg_cb, smtpd_queue_state_cb, env);
	if (env->queued == NULL)
		fatal("bw_peer_connect %s", path);
}
