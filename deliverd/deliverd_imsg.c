/*
 * A deliverd worker's message dispatch, one function per peer.  peer.c has
 * checked each frame's catalog row (type, sender role, size) first.
 * queued sends jobs (DLV_*), dnscached answers (DNS_ANSWER), controld asks
 * for STATUS and DOMAIN_INFO.  Anything else drops that link (peer.c
 * reconnects it).  Losing queued drops every job (queued re-sends them);
 * losing dnscached fails every lookup in flight (temporary failure).
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "deliverd.h"

static void
dlv_unexpected(struct bw_peer *peer, struct bw_imsg *imsg, const char *from)
{
	log_warnx("unexpected %s from %s", bw_imsg_type_name(imsg->hdr.type),
	    from);
	bw_peer_drop(peer, "unexpected message type");
}

void
dlv_queued_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	switch (imsg->hdr.type) {
	case BW_IMSG_DLV_JOB:
	case BW_IMSG_DLV_RCPT:
	case BW_IMSG_DLV_BODY:
	case BW_IMSG_DLV_END:
		dlv_job_msg(imsg);
		break;
	default:
		dlv_unexpected(peer, imsg, "queued");
		break;
	}
}

void
dlv_dnscached_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	switch (imsg->hdr.type) {
	case BW_IMSG_DNS_ANSWER:
		dlv_mx_answer(imsg);
		break;
	default:
		dlv_unexpected(peer, imsg, "dnscached");
		break;
	}
}

static void
dlv_status_send(struct dlv_worker *w, struct bw_peer *peer, uint32_t reqid)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} counters[] = {
		{ "restarts", offsetof(struct dlv_worker, c_restarts) },
		{ "queued_connects", offsetof(struct dlv_worker,
		    c_queued_connects) },
		{ "dnscached_connects", offsetof(struct dlv_worker,
		    c_dnscached_connects) },
		{ "controld_connects", offsetof(struct dlv_worker,
		    c_controld_connects) },
		{ "jobs", offsetof(struct dlv_worker, c_jobs) },
		{ "delivered", offsetof(struct dlv_worker, c_delivered) },
		{ "deferred", offsetof(struct dlv_worker, c_deferred) },
		{ "bounced", offsetof(struct dlv_worker, c_bounced) },
		{ "connections_opened", offsetof(struct dlv_worker,
		    c_connections_opened) },
		{ "connections_reused", offsetof(struct dlv_worker,
		    c_connections_reused) },
		{ "connect_failures", offsetof(struct dlv_worker,
		    c_connect_failures) },
		{ "tls_sessions", offsetof(struct dlv_worker, c_tls_sessions) },
		{ "agents", offsetof(struct dlv_worker, c_agents) },
		{ "jobs_held", offsetof(struct dlv_worker, njobs) },
	};
	struct bw_status	 st;
	size_t			 i;

	memset(&st, 0, sizeof(st));
	strlcpy(st.proc, w->proc, sizeof(st.proc));
	st.pid = (uint32_t)getpid();
	st.started = w->started;
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		strlcpy(st.counters[i].name, counters[i].name,
		    sizeof(st.counters[i].name));
		memcpy(&st.counters[i].value,
		    (const char *)w + counters[i].off, sizeof(uint64_t));
	}
	st.counters[i].value = bw_peer_is_up(w->queued) ? 1 : 0;
	strlcpy(st.counters[i++].name, "queued_up", sizeof(st.counters[0].name));
	st.counters[i].value = bw_peer_is_up(w->dnscached) ? 1 : 0;
	strlcpy(st.counters[i++].name, "dnscached_up",
	    sizeof(st.counters[0].name));
	st.ncounters = (uint32_t)i;
	if (bw_peer_send(peer, BW_IMSG_STATUS, reqid, -1, &st,
	    sizeof(st)) == -1)
		log_warnx("worker=%d: cannot send status to controld",
		    w->index);
}

void
dlv_controld_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	switch (imsg->hdr.type) {
	case BW_IMSG_STATUS_REQ:
		dlv_status_send(arg, peer, imsg->hdr.peerid);
		break;
	case BW_IMSG_DOMAIN_INFO_REQ:
		dlv_agent_info(peer, imsg->hdr.peerid, imsg->data);
		break;
	default:
		dlv_unexpected(peer, imsg, "controld");
		break;
	}
}

static void
dlv_link_state(struct dlv_worker *w, const char *name, int up,
    uint64_t *connects)
{
	if (up)
		(*connects)++;
	log_info("worker=%d %s %s", w->index,
	    up ? "connected to" : "lost connection to", name);
}

void
dlv_queued_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct dlv_worker	*w = arg;

	dlv_link_state(w, "queued", up, &w->c_queued_connects);
	if (!up)
		dlv_job_drop_all();
}

void
dlv_dnscached_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct dlv_worker	*w = arg;

	dlv_link_state(w, "dnscached", up, &w->c_dnscached_connects);
	if (!up)
		dlv_mx_dns_down();
}

void
dlv_controld_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct dlv_worker	*w = arg;

	dlv_link_state(w, "controld", up, &w->c_controld_connects);
}
