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
#include "controld_hist.h"

struct ctl_daemon *
ctl_daemon_find_role(int role)
{
	struct ctl_daemon	*d;

	TAILQ_FOREACH(d, &ctl_env->daemons, entry)
		if (d->role == role && bw_peer_is_up(d->peer))
			return d;
	return NULL;
}

struct ctl_daemon *
ctl_daemon_find_id(uint32_t peerid)
{
	struct ctl_daemon	*d;

	TAILQ_FOREACH(d, &ctl_env->daemons, entry)
		if (d->peerid == peerid)
			return d;
	return NULL;
}

/* controld stops: the admitted bwctl connections are forgotten. */
void
ctl_clients_free(void)
{
	struct ctl_client	*c;

	while ((c = TAILQ_FIRST(&ctl_env->clients)) != NULL) {
		TAILQ_REMOVE(&ctl_env->clients, c, entry);
		free(c);
	}
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
	/* Requests waiting on it fail, or stop waiting for its answer. */
	ctl_req_daemon_gone(role);
}

/* A frame for a request (hdr.peerid): to its command, or dropped when
 * the request timed out or was abandoned. */
static void
ctl_daemon_to_req(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct ctl_req	*req;

	if ((req = ctl_req_find(imsg->hdr.peerid)) == NULL ||
	    req->ops->on_imsg == NULL) {
		log_debug("late %s for request %u",
		    bw_imsg_type_name(imsg->hdr.type), imsg->hdr.peerid);
		return;
	}
	req->ops->on_imsg(req, peer, imsg);
}

/* STATUS: checked and terminated, then to its request as a whole
 * struct bw_status. */
static void
ctl_daemon_status(struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct ctl_daemon	*d;
	struct bw_status	 st;
	struct bw_imsg		 clean;

	if (ctl_status_parse(peer, imsg, &st) == -1)
		return;
	if ((d = ctl_daemon_find_peer(peer)) != NULL)
		strlcpy(d->proc, st.proc, sizeof(d->proc));
	if (mon_sample_status(peer, imsg->hdr.peerid, &st))
		return;			/* the monitor's sampler */
	clean = *imsg;
	clean.data = &st;
	clean.datalen = sizeof(st);
	ctl_daemon_to_req(peer, &clean);
}

/* Frames from smtpd, queued, deliverd, dnscached. */
void
ctl_daemon_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
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
		ctl_daemon_to_req(peer, imsg);
		break;
	case BW_IMSG_DNS_FLUSH_DONE:
		if (bw_peer_role(peer) != BW_ROLE_DNSCACHED) {
			bw_peer_drop(peer, "dns answer not from dnscached");
			break;
		}
		ctl_daemon_to_req(peer, imsg);
		break;
	case BW_IMSG_QUEUE_TOP_ENTRY:
	case BW_IMSG_QUEUE_TOP_END:
		mon_sample_top_msg(peer, imsg);	/* the monitor's sampler */
		break;
	/* the catalog checked the sender's role of these */
	case BW_IMSG_AGENT_ENTRY:
	case BW_IMSG_AGENT_END:
	case BW_IMSG_QUEUE_VERIFY_ROW:
	case BW_IMSG_QUEUE_VERIFY_END:
	case BW_IMSG_HOSTCOUNT_ENTRY:
	case BW_IMSG_HOSTCOUNT_END:
	case BW_IMSG_DOMAIN_CMD_REPLY:
	case BW_IMSG_DOMAIN_INFO:
	case BW_IMSG_DOMAIN_HOST:
	case BW_IMSG_DOMAIN_INFO_END:
	case BW_IMSG_TRACE_REPLY:
	case BW_IMSG_QUEUE_ACTION_ROW:
	case BW_IMSG_QUEUE_ACTION_END:
		ctl_daemon_to_req(peer, imsg);
		break;
	case BW_IMSG_QUEUE_EVENT:
		/* the catalog checked the sender's role */
		ctl_alert_queue_event(imsg);
		break;
	case BW_IMSG_ADMIN_MAIL_DONE:
		ctl_alert_mail_done(imsg);
		break;
	case BW_IMSG_CONFIG_RELOAD_RESULT:
		ctl_reload_result(peer, imsg);
		break;
	case BW_IMSG_CONFIG_REQ:
		ctl_reload_request(peer);
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
	struct ctl_client	*c;
	const char		*why = NULL;

	if (!up) {
		ctl_req_target_gone(peer);
		TAILQ_FOREACH(c, &ctl_env->clients, entry)
			if (c->peer == peer)
				break;
		if (c != NULL) {
			TAILQ_REMOVE(&ctl_env->clients, c, entry);
			free(c);
		}
		return;
	}
	ctl_env->c_clients++;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		bw_peer_drop(peer, "out of memory");
		return;
	}
	if (!ctl_client_allowed(bw_peer_pid(peer), &c->who, &why)) {
		free(c);
		ctl_env->c_clients_denied++;
		log_warnx("bwctl pid=%ld denied: %s", (long)bw_peer_pid(peer),
		    why);
		bw_peer_drop(peer, "not an admin");
		return;
	}
	c->peer = peer;
	TAILQ_INSERT_TAIL(&ctl_env->clients, c, entry);
	log_debug("bwctl connected pid=%ld: %s may %s", (long)bw_peer_pid(peer),
	    c->who.name, ctl_may_name(c->who.may));
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
