/*
 * Requests from controld over the status link (status_link.c answers
 * STATUS_REQ from qctl_status_fill's counters): QUEUE_LIST_REQ (the
 * per-(gateway, domain) records, no message scan), MESSAGE_SHOW_REQ (one
 * envelope and its recipients) and MESSAGE_LIST_REQ (messages in arrival
 * order, QUEUED_LIST_STEP rows per event-loop turn, re-armed by a
 * zero-delay timer so a long listing never stalls submissions).  Every
 * reply carries the request id controld put in hdr.peerid.
 *
 * Trust: controld is a local daemon, but its qids and limits are still
 * checked; listings are capped (QUEUED_QUEUE_ROWS_MAX, QUEUED_RCPT_ROWS_MAX,
 * QUEUED_LIST_MAX).
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "queued.h"
#include "queued_commit.h"

#define QCTL_WPENDING_MAX	(4 * 1024 * 1024)	/* pause a listing */
#define QCTL_PAUSE_MS		20

struct qlist {
	TAILQ_ENTRY(qlist)	 entry;
	struct bw_peer		*peer;
	uint32_t		 reqid;
	uint64_t		 limit;
	uint64_t		 sent;
	char			 last[BW_QID_LEN + 1];	/* "" at start */
	struct event		*ev;
};
static TAILQ_HEAD(, qlist) qlists = TAILQ_HEAD_INITIALIZER(qlists);

static void
qctl_send(struct bw_peer *peer, uint32_t type, uint32_t reqid,
    const void *data, size_t len)
{
	if (bw_peer_send(peer, type, reqid, -1, data, len) == -1)
		log_warn("ctl: cannot send %s to controld",
		    bw_imsg_type_name(type));
}

/* STATUS: the counters; status_link.c fills in proc, pid and start. */
static void
qctl_status_fill(struct bw_status *st, void *arg)
{
	struct qcommit_stats	 cs;
	struct qseg_stats	 ss;
	size_t			 i;
	struct {
		const char	*name;
		uint64_t	 value;
	} c[] = {
		{ "messages_accepted", q_env->c_messages_accepted },
		{ "messages_aborted", q_env->c_messages_aborted },
		{ "commits", 0 },
		{ "log_flushes", 0 },
		{ "open_messages", (uint64_t)qmsg_open_count() },
		{ "queued_messages", q_env->c_queued_messages },
		{ "queued_recipients", q_env->c_queued_recipients },
		{ "nospace_rejects", q_env->c_nospace_rejects },
		{ "busy_rejects", q_env->c_busy_rejects },
		{ "tempfails", q_env->c_tempfails },
		{ "flush_errors", 0 },
		{ "largest_batch", 0 },
		{ "commits_pending", 0 },
		{ "peers_dropped", q_env->c_peers_dropped },
		{ "smtpd_connects", q_env->c_smtpd_connects },
		{ "controld_connects",
		    bw_status_link_connects(q_env->controld) },
		{ "jobs_sent", q_env->c_jobs_sent },
		{ "jobs_done", q_env->c_jobs_done },
		{ "jobs_active", q_env->c_jobs_sent - q_env->c_jobs_done -
		    q_env->c_jobs_lost },
		{ "jobs_requeued", q_env->c_jobs_lost },
		{ "rcpt_delivered", q_env->c_rcpt_delivered },
		{ "rcpt_deferred", q_env->c_rcpt_deferred },
		{ "rcpt_bounced", q_env->c_rcpt_bounced },
		{ "dsn_sent", q_env->c_bounces },
		{ "admin_mails", q_env->c_admin_mails },
		{ "domains_down", q_env->c_domains_down },
		{ "queues_in_memory", (uint64_t)qsched_count() },
		{ "queues_forgotten", qidle_forgotten() },
	};

	memset(&cs, 0, sizeof(cs));
	if (q_env->commit != NULL)
		qcommit_stats(q_env->commit, &cs);
	c[2].value = cs.commits;
	c[3].value = cs.flushes;
	c[10].value = cs.flush_errors;
	c[11].value = cs.largest_batch;
	c[12].value = cs.pending;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		bw_status_add(st, c[i].name, c[i].value);
	if (q_env->store.seg != NULL) {
		qseg_stats(q_env->store.seg, &ss);
		bw_status_add(st, "body_segments", ss.segments);
		bw_status_add(st, "body_pieces", ss.pieces);
		bw_status_add(st, "body_bytes", ss.bytes);
		bw_status_add(st, "body_crc_errors", ss.crc_errors);
	}
	qpressure_status(st);
	qhost_status(st);
	qtop_status(st);
	bw_daemon_status_add(&q_env->d, st);
}

/* CONFIG_RELOAD from controld (bwctl config reload). */
static void
qctl_reload(int fd, struct bw_config_reload_result *res, void *arg)
{
	struct queued	*env = arg;

	(void)bw_daemon_reload(&env->d, fd, res);
}

/* Every queue record: there is one per (gateway, domain), not per message. */
static void
qctl_queue_list(struct bw_peer *peer, uint32_t reqid)
{
	struct qstore		*st = &q_env->store;
	struct bw_queue_entry	 qe;
	struct bw_queue_end	 end;
	struct qqueue_rec	 q;
	struct qsq		*sq;
	char			 kbuf[QQUEUE_KEY_MAX];
	DBC			*c = NULL;
	DBT			 key, data;
	int			 r;

	memset(&end, 0, sizeof(end));
	if ((r = st->queues->cursor(st->queues, NULL, &c, 0)) != 0) {
		log_warnx("ctl: queue list: %s", db_strerror(r));
		qctl_send(peer, BW_IMSG_QUEUE_END, reqid, &end, sizeof(end));
		return;
	}
	qstore_dbt_user(&key, kbuf, sizeof(kbuf));
	qstore_dbt_user(&data, &q, sizeof(q));
	while ((r = c->get(c, &key, &data, DB_NEXT)) == 0 &&
	    end.queues < QUEUED_QUEUE_ROWS_MAX) {
		if (qqueue_entry_from(&key, &data, &qe) == -1)
			continue;
		if ((sq = qsched_queue_find(qe.gateway, qe.domain)) != NULL) {
			qe.state = sq->state;
			qe.active_jobs = sq->inflight;
			qe.next_retry = sq->state == BW_QUEUE_DOWN ?
			    sq->next_retry : 0;
		}
		end.queues++;
		qctl_send(peer, BW_IMSG_QUEUE_ENTRY, reqid, &qe, sizeof(qe));
	}
	if (r != 0 && r != DB_NOTFOUND)
		log_warnx("ctl: queue list: %s", db_strerror(r));
	c->close(c);
	end.messages = q_env->c_queued_messages;
	qctl_send(peer, BW_IMSG_QUEUE_END, reqid, &end, sizeof(end));
}

static void
qctl_message_show(struct bw_peer *peer, uint32_t reqid, struct bw_imsg *imsg)
{
	struct bw_message_show_req	 req;
	struct bw_message_info		 mi;
	struct bw_message_rcpt		 mr;
	struct qenv_rec			 e;
	struct qrcpt_rec		 rr;
	char				 qid[BW_QID_LEN + 1];
	uint32_t			 i;

	memcpy(&req, imsg->data, sizeof(req));
	BW_IMSG_STR(qid, req.qid);
	memset(&mi, 0, sizeof(mi));
	strlcpy(mi.qid, qid, sizeof(mi.qid));
	if (!bw_qid_valid(qid) || qstore_msg_get(&q_env->store, qid,
	    &e) != 0) {
		qctl_send(peer, BW_IMSG_MESSAGE_INFO, reqid, &mi, sizeof(mi));
		qctl_send(peer, BW_IMSG_MESSAGE_END, reqid, NULL, 0);
		return;
	}
	mi.found = 1;
	mi.flags = e.flags;
	mi.created = e.created;
	mi.size = e.size;
	mi.body_stored = qstore_body_stored(&q_env->store, qid, e.nchunks);
	mi.nrcpt = e.nrcpt;
	BW_IMSG_STR(mi.sender, e.sender);
	BW_IMSG_STR(mi.helo, e.helo);
	BW_IMSG_STR(mi.client_addr, e.client_addr);
	BW_IMSG_STR(mi.listener, e.listener);
	BW_IMSG_STR(mi.gateway, e.gateway);
	mi.dsn_ret = e.dsn_ret;
	mi.delay_warned = (e.dsn_flags & QENV_DSN_DELAY_SENT) != 0;
	mi.delay_due = e.delay_due;
	BW_IMSG_STR(mi.envid, e.envid);
	mi.scan_flags = e.scan;
	qctl_send(peer, BW_IMSG_MESSAGE_INFO, reqid, &mi, sizeof(mi));
	for (i = 0; i < e.nrcpt && i < QUEUED_RCPT_ROWS_MAX; i++) {
		if (qstore_rcpt_get(&q_env->store, qid, i, &rr) != 0)
			continue;
		memset(&mr, 0, sizeof(mr));
		strlcpy(mr.qid, qid, sizeof(mr.qid));
		BW_IMSG_STR(mr.rcpt, rr.rcpt);
		BW_IMSG_STR(mr.domain, rr.domain);
		BW_IMSG_STR(mr.last_reply, rr.last_reply);
		mr.state = rr.state;
		mr.attempts = rr.attempts;
		mr.notify = rr.notify;
		BW_IMSG_STR(mr.orcpt, rr.orcpt);
		qctl_send(peer, BW_IMSG_MESSAGE_RCPT, reqid, &mr, sizeof(mr));
	}
	qctl_send(peer, BW_IMSG_MESSAGE_END, reqid, NULL, 0);
}

static void
qlist_free(struct qlist *l)
{
	TAILQ_REMOVE(&qlists, l, entry);
	event_free(l->ev);
	free(l);
}

static void
qlist_arm(struct qlist *l, int ms)
{
	struct timeval	 tv = { 0, ms * 1000 };

	evtimer_add(l->ev, &tv);
}

/* One step of a message listing. */
static void
qlist_step_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qlist			*l = arg;
	struct qstore			*st = &q_env->store;
	struct bw_message_list_entry	 le;
	struct bw_message_list_end	 end;
	struct qenv_rec			 e;
	char				 kbuf[BW_QID_LEN + 1];
	DBC				*c = NULL;
	DBT				 key, data;
	size_t				 n = 0;
	int				 r, flag = DB_FIRST;

	if (!bw_peer_is_up(l->peer)) {
		qlist_free(l);
		return;
	}
	if (bw_peer_wpending(l->peer) > QCTL_WPENDING_MAX) {
		qlist_arm(l, QCTL_PAUSE_MS);
		return;
	}
	memset(&end, 0, sizeof(end));
	if ((r = st->messages->cursor(st->messages, NULL, &c, 0)) != 0)
		goto done;
	qstore_dbt_user(&key, kbuf, BW_QID_LEN);
	qstore_dbt_user(&data, &e, sizeof(e));
	if (l->last[0] != '\0') {
		memcpy(kbuf, l->last, BW_QID_LEN);
		key.size = BW_QID_LEN;
		flag = DB_SET_RANGE;
	}
	for (;;) {
		r = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (r != 0)
			break;
		if (key.size != BW_QID_LEN ||
		    qstore_env_load(&e, data.size) == -1)
			continue;
		kbuf[BW_QID_LEN] = '\0';
		if (l->last[0] != '\0' && strcmp(kbuf, l->last) <= 0)
			continue;
		if (l->sent >= l->limit) {
			end.truncated = 1;
			break;
		}
		if (n >= QUEUED_LIST_STEP) {
			c->close(c);
			qlist_arm(l, 0);
			return;
		}
		memset(&le, 0, sizeof(le));
		strlcpy(le.qid, kbuf, sizeof(le.qid));
		le.created = e.created;
		le.size = e.size;
		le.nrcpt = e.nrcpt;
		le.body_stored = qstore_body_stored(st, kbuf, e.nchunks);
		le.rcpt_stored = qstore_rcpt_stored(st, kbuf, e.nrcpt);
		qctl_send(l->peer, BW_IMSG_MESSAGE_LIST_ENTRY, l->reqid, &le,
		    sizeof(le));
		strlcpy(l->last, kbuf, sizeof(l->last));
		l->sent++;
		n++;
	}
	c->close(c);
done:
	if (r != 0 && r != DB_NOTFOUND)
		log_warnx("ctl: message list: %s", db_strerror(r));
	end.count = l->sent;
	qctl_send(l->peer, BW_IMSG_MESSAGE_LIST_END, l->reqid, &end,
	    sizeof(end));
	qlist_free(l);
}

static void
qctl_message_list(struct bw_peer *peer, uint32_t reqid, struct bw_imsg *imsg)
{
	struct bw_message_list_req	 req;
	struct bw_message_list_end	 end;
	struct qlist			*l;

	memcpy(&req, imsg->data, sizeof(req));
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->ev = evtimer_new(q_env->d.base, qlist_step_cb, l)) == NULL) {
		log_warn("ctl: message list");
		free(l);
		memset(&end, 0, sizeof(end));
		qctl_send(peer, BW_IMSG_MESSAGE_LIST_END, reqid, &end,
		    sizeof(end));
		return;
	}
	l->peer = peer;
	l->reqid = reqid;
	l->limit = req.limit == 0 || req.limit > QUEUED_LIST_MAX ?
	    QUEUED_LIST_MAX : req.limit;
	TAILQ_INSERT_TAIL(&qlists, l, entry);
	qlist_arm(l, 0);
}

/* The link logged the change; a lost link ends the listings on it. */
static void
qctl_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct qlist	*l;

	if (!up) {
		while ((l = TAILQ_FIRST(&qlists)) != NULL)
			qlist_free(l);
		qverify_shutdown();
		qact_peer_gone();
	}
}

/* controld's requests besides STATUS_REQ (status_link.c answers that). */
static int
qctl_msg(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	uint32_t	 reqid = imsg->hdr.peerid;

	switch (imsg->hdr.type) {
	case BW_IMSG_QUEUE_LIST_REQ:
		qctl_queue_list(peer, reqid);
		return 1;
	case BW_IMSG_MESSAGE_SHOW_REQ:
		qctl_message_show(peer, reqid, imsg);
		return 1;
	case BW_IMSG_MESSAGE_LIST_REQ:
		qctl_message_list(peer, reqid, imsg);
		return 1;
	case BW_IMSG_DOMAIN_CMD:
		qdomain_cmd(peer, reqid, imsg);
		return 1;
	case BW_IMSG_QUEUE_VERIFY_REQ:
		qverify_cmd(peer, reqid, imsg);
		return 1;
	case BW_IMSG_HOSTCOUNT_LIST_REQ:
		qhost_list(peer, reqid, imsg);
		return 1;
	case BW_IMSG_QUEUE_ACTION_REQ:
		qact_cmd(peer, reqid, imsg);
		return 1;
	case BW_IMSG_ADMIN_MAIL:
		qadmin_mail(peer, reqid, imsg);
		return 1;
	case BW_IMSG_QUEUE_TOP_REQ:
		qtop_req(peer, reqid, imsg);
		return 1;
	default:
		return 0;
	}
}

void
qctl_connect(struct queued *env)
{
	char				 path[PATH_MAX];
	struct bw_status_link_conf	 conf = {
		.path = path, .role = BW_ROLE_QUEUED, .proc = "queued",
		.started = env->d.started, .fill = qctl_status_fill,
		.msg = qctl_msg, .state = qctl_state_cb, .reload = qctl_reload,
		.arg = env,
	};

	if (config_runtime_path(env->d.cfg, BW_SOCK_CONTROLD, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_CONTROLD);
	env->controld = bw_status_link_connect(env->d.base, &conf);
}

/* Shutdown: cancel listings in progress. */
void
qctl_shutdown(void)
{
	struct qlist	*l;

	while ((l = TAILQ_FIRST(&qlists)) != NULL)
		qlist_free(l);
	qverify_shutdown();
}
