/*
 * controld's message dispatch: one function for the daemons on
 * controld.sock and one for bwctl on control.sock.  peer.c has already
 * checked HELLO, the peer's uid and each frame's catalog row (type, sender
 * role, payload size); here every payload is copied into an aligned local
 * struct and its strings are terminated before use.  A frame that the
 * catalog allows but controld has no use for ends that peer.
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"
#include "controld_alert.h"
#include "controld_alert_src.h"

struct ctl_daemon *
ctl_daemon_find_role(int role)
{
	struct ctl_daemon	*d;

	TAILQ_FOREACH(d, &ctl_env->daemons, entry)
		if (d->role == role && bw_peer_is_up(d->peer))
			return d;
	return NULL;
}

static struct ctl_daemon *
ctl_daemon_find_peer(struct bw_peer *peer)
{
	struct ctl_daemon	*d;

	TAILQ_FOREACH(d, &ctl_env->daemons, entry)
		if (d->peer == peer)
			return d;
	return NULL;
}

/* A daemon connected (after HELLO) or went away. */
void
ctl_daemon_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct ctl_daemon	*d;
	struct ctl_req		*req, *next;
	int			 role = bw_peer_role(peer);

	if (up) {
		if ((d = calloc(1, sizeof(*d))) == NULL) {
			bw_peer_drop(peer, "out of memory");
			return;
		}
		d->peer = peer;
		d->peerid = bw_peer_id(peer);
		d->role = role;
		d->pid = bw_peer_pid(peer);
		d->worker = bw_peer_worker(peer);
		TAILQ_INSERT_TAIL(&ctl_env->daemons, d, entry);
		log_info("daemon up role=%s pid=%ld worker=%u",
		    bw_role_name(role), (long)d->pid, d->worker);
		if (role == BW_ROLE_DELIVERD) {
			ctl_debug_worker_up(peer);
			ctl_redirect_worker_up(peer);
		}
		ctl_alert_daemon_up(role, d->worker, d->pid);
		return;
	}
	if ((d = ctl_daemon_find_peer(peer)) == NULL)
		return;
	log_info("daemon down role=%s pid=%ld worker=%u proc=%s",
	    bw_role_name(d->role), (long)d->pid, d->worker,
	    d->proc[0] ? d->proc : "-");
	TAILQ_REMOVE(&ctl_env->daemons, d, entry);
	free(d);
	ctl_alert_daemon_down(role);
	if (role == BW_ROLE_QUEUED)
		ctl_req_queued_gone();
	if (role == BW_ROLE_DNSCACHED)
		ctl_dns_gone();
	if (role == BW_ROLE_DELIVERD) {
		ctl_domain_worker_gone();
		ctl_queue_worker_gone();
	}
	if (role == BW_ROLE_SMTPD)
		ctl_trace_smtpd_gone();
	/* Status requests may have been waiting only for this one. */
	for (req = TAILQ_FIRST(&ctl_env->reqs); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (req->kind == CTL_REQ_STATUS)
			ctl_status_check_done(req);
		else if (req->kind == CTL_REQ_RELOAD)
			ctl_reload_check_done(req);
	}
}

static void
ctl_daemon_status(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct ctl_daemon	*d;
	struct ctl_req		*req;
	struct bw_status	 st;
	size_t			 len, fixed, i;

	/* The counters array may be sent only as far as it is used. */
	memset(&st, 0, sizeof(st));
	len = imsg->datalen < sizeof(st) ? imsg->datalen : sizeof(st);
	memcpy(&st, imsg->data, len);
	fixed = offsetof(struct bw_status, counters);
	if (len < fixed) {
		bw_peer_drop(peer, "short STATUS");
		return;
	}
	if (st.ncounters > (len - fixed) / sizeof(st.counters[0]))
		st.ncounters = (len - fixed) / sizeof(st.counters[0]);
	fixed = offsetof(struct bw_status, info);
	if (len < fixed)
		st.ninfo = 0;
	else if (st.ninfo > (len - fixed) / sizeof(st.info[0]))
		st.ninfo = (len - fixed) / sizeof(st.info[0]);
	if (st.ninfo > BW_STATUS_INFO_MAX)
		st.ninfo = BW_STATUS_INFO_MAX;
	for (i = 0; i < st.ninfo; i++) {
		st.info[i].name[sizeof(st.info[i].name) - 1] = '\0';
		st.info[i].value[sizeof(st.info[i].value) - 1] = '\0';
	}
	st.proc[sizeof(st.proc) - 1] = '\0';
	if ((d = ctl_daemon_find_peer(peer)) != NULL)
		strlcpy(d->proc, st.proc, sizeof(d->proc));
	if ((req = ctl_req_find(imsg->hdr.peerid)) != NULL &&
	    req->kind == CTL_REQ_DNS_SHOW &&
	    bw_peer_role(peer) == BW_ROLE_DNSCACHED) {
		ctl_dns_status(req, &st);
		return;
	}
	if (req == NULL || req->kind != CTL_REQ_STATUS) {
		log_debug("late status from %s pid=%ld for request %u",
		    st.proc, (long)bw_peer_pid(peer), imsg->hdr.peerid);
		return;
	}
	ctl_status_reply(req, bw_peer_id(peer), &st);
}

/* Frames from smtpd, queued, deliverd, dnscached. */
void
ctl_daemon_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct ctl_req	*req;

	switch (imsg->hdr.type) {
	case BW_IMSG_STATUS:
		ctl_daemon_status(peer, imsg);
		break;
	case BW_IMSG_QUEUE_ENTRY:
	case BW_IMSG_QUEUE_END:
	case BW_IMSG_MESSAGE_INFO:
	case BW_IMSG_MESSAGE_RCPT:
	case BW_IMSG_MESSAGE_END:
	case BW_IMSG_MESSAGE_LIST_ENTRY:
	case BW_IMSG_MESSAGE_LIST_END:
		if (bw_peer_role(peer) != BW_ROLE_QUEUED) {
			bw_peer_drop(peer, "queue listing not from queued");
			break;
		}
		/* controld's own listing, for the alerts */
		if (ctl_alert_src_msg(imsg))
			break;
		/* A request that timed out or was abandoned: ignore. */
		if ((req = ctl_req_find(imsg->hdr.peerid)) == NULL) {
			log_debug("late %s for request %u",
			    bw_imsg_type_name(imsg->hdr.type),
			    imsg->hdr.peerid);
			break;
		}
		ctl_queue_msg(req, imsg);
		break;
	case BW_IMSG_AGENT_ENTRY:
	case BW_IMSG_AGENT_END:
		/* the catalog checked the sender's role */
		if ((req = ctl_req_find(imsg->hdr.peerid)) == NULL ||
		    req->kind != CTL_REQ_QUEUE) {
			log_debug("late %s for request %u",
			    bw_imsg_type_name(imsg->hdr.type),
			    imsg->hdr.peerid);
			break;
		}
		ctl_queue_agent_msg(req, imsg);
		break;
	case BW_IMSG_QUEUE_VERIFY_ROW:
	case BW_IMSG_QUEUE_VERIFY_END:
		/* the catalog checked the sender's role */
		if ((req = ctl_req_find(imsg->hdr.peerid)) == NULL ||
		    req->kind != CTL_REQ_VERIFY) {
			log_debug("late %s for request %u",
			    bw_imsg_type_name(imsg->hdr.type),
			    imsg->hdr.peerid);
			break;
		}
		ctl_verify_msg(req, imsg);
		break;
	case BW_IMSG_QUEUE_ACTION_ROW:
	case BW_IMSG_QUEUE_ACTION_END:
		/* the catalog checked the sender's role */
		if ((req = ctl_req_find(imsg->hdr.peerid)) == NULL ||
		    req->kind != CTL_REQ_QACT) {
			log_debug("late %s for request %u",
			    bw_imsg_type_name(imsg->hdr.type),
			    imsg->hdr.peerid);
			break;
		}
		ctl_qact_msg(req, imsg);
		break;
	case BW_IMSG_HOSTCOUNT_ENTRY:
	case BW_IMSG_HOSTCOUNT_END:
		/* the catalog checked the sender's role */
		if ((req = ctl_req_find(imsg->hdr.peerid)) == NULL ||
		    req->kind != CTL_REQ_SENDERS) {
			log_debug("late %s for request %u",
			    bw_imsg_type_name(imsg->hdr.type),
			    imsg->hdr.peerid);
			break;
		}
		ctl_senders_msg(req, imsg);
		break;
	case BW_IMSG_DOMAIN_CMD_REPLY:
	case BW_IMSG_DOMAIN_INFO:
	case BW_IMSG_DOMAIN_HOST:
	case BW_IMSG_DOMAIN_INFO_END:
		/* the catalog checked the sender's role */
		if ((req = ctl_req_find(imsg->hdr.peerid)) == NULL ||
		    req->kind != CTL_REQ_DOMAIN) {
			log_debug("late %s for request %u",
			    bw_imsg_type_name(imsg->hdr.type),
			    imsg->hdr.peerid);
			break;
		}
		ctl_domain_msg(req, peer, imsg);
		break;
	case BW_IMSG_CONFIG_RELOAD_RESULT:
		ctl_reload_result(peer, imsg);
		break;
	case BW_IMSG_TRACE_REPLY:
		/* the catalog checked the sender's role */
		if ((req = ctl_req_find(imsg->hdr.peerid)) == NULL ||
		    req->kind != CTL_REQ_TRACE) {
			log_debug("late %s for request %u",
			    bw_imsg_type_name(imsg->hdr.type),
			    imsg->hdr.peerid);
			break;
		}
		ctl_trace_msg(req, imsg);
		break;
	case BW_IMSG_CONFIG_REQ:
		ctl_reload_request(peer);
		break;
	case BW_IMSG_QUEUE_EVENT:
		/* the catalog checked the sender's role */
		ctl_alert_queue_event(imsg);
		break;
	case BW_IMSG_ADMIN_MAIL_DONE:
		ctl_alert_mail_done(imsg);
		break;
	case BW_IMSG_DNS_FLUSH_DONE:
		if (bw_peer_role(peer) != BW_ROLE_DNSCACHED) {
			bw_peer_drop(peer, "dns answer not from dnscached");
			break;
		}
		if ((req = ctl_req_find(imsg->hdr.peerid)) == NULL) {
			log_debug("late %s for request %u",
			    bw_imsg_type_name(imsg->hdr.type),
			    imsg->hdr.peerid);
			break;
		}
		ctl_dns_msg(req, imsg);
		break;
	default:
		log_warnx("unexpected %s from %s pid=%ld",
		    bw_imsg_type_name(imsg->hdr.type),
		    bw_role_name(bw_peer_role(peer)), (long)bw_peer_pid(peer));
		bw_peer_drop(peer, "unexpected message type");
		break;
	}
}

/* bwctl connected (after HELLO) or went away. */
void
ctl_client_state_cb(struct bw_peer *peer, int up, void *arg)
{
	const char	*why = NULL;

	if (!up) {
		ctl_req_client_gone(peer);
		return;
	}
	ctl_env->c_clients++;
	if (!ctl_client_allowed(bw_peer_pid(peer), &why)) {
		ctl_env->c_clients_denied++;
		log_warnx("bwctl pid=%ld denied: %s", (long)bw_peer_pid(peer),
		    why);
		bw_peer_drop(peer, "not an admin");
		return;
	}
	log_debug("bwctl connected pid=%ld", (long)bw_peer_pid(peer));
}

/* Frames from bwctl: only CTL_CMD passes the catalog. */
void
ctl_client_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct bw_ctl_cmd	 cmd;
	size_t			 len;

	switch (imsg->hdr.type) {
	case BW_IMSG_CTL_CMD:
		memset(&cmd, 0, sizeof(cmd));
		len = imsg->datalen < sizeof(cmd) ? imsg->datalen :
		    sizeof(cmd);
		memcpy(&cmd, imsg->data, len);
		ctl_cmd_dispatch(peer, &cmd);
		break;
	default:
		log_warnx("unexpected %s from bwctl pid=%ld",
		    bw_imsg_type_name(imsg->hdr.type), (long)bw_peer_pid(peer));
		bw_peer_drop(peer, "unexpected message type");
		break;
	}
}
