/*
 * dnscached's message dispatch: one function for its clients (smtpd,
 * deliverd workers) and one for controld.  peer.c has checked HELLO, the
 * uid and each frame's catalog row before these run.  No lookup messages
 * exist yet, so any frame from a client ends that client.
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "dnscached.h"

void
dns_client_state_cb(struct bw_peer *peer, int up, void *arg)
{
	if (up) {
		dns_env->c_clients++;
		dns_env->c_clients_active++;
	} else if (dns_env->c_clients_active > 0)
		dns_env->c_clients_active--;
	log_info("client %s role=%s pid=%ld worker=%u",
	    up ? "connected" : "disconnected", bw_role_name(bw_peer_role(peer)),
	    (long)bw_peer_pid(peer), bw_peer_worker(peer));
}

void
dns_client_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	switch (imsg->hdr.type) {
	default:
		log_warnx("unexpected %s from %s pid=%ld",
		    bw_imsg_type_name(imsg->hdr.type),
		    bw_role_name(bw_peer_role(peer)), (long)bw_peer_pid(peer));
		bw_peer_drop(peer, "unexpected message type");
		break;
	}
}

static void
dns_status_send(struct bw_peer *peer, uint32_t reqid)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} counters[] = {
		{ "clients", offsetof(struct dnscached, c_clients) },
		{ "clients_active", offsetof(struct dnscached,
		    c_clients_active) },
		{ "queries", offsetof(struct dnscached, c_queries) },
		{ "controld_connects", offsetof(struct dnscached,
		    c_controld_connects) },
	};
	struct bw_status	 st;
	size_t			 i;

	memset(&st, 0, sizeof(st));
	strlcpy(st.proc, "dnscached", sizeof(st.proc));
	st.pid = (uint32_t)getpid();
	st.started = dns_env->started;
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		strlcpy(st.counters[i].name, counters[i].name,
		    sizeof(st.counters[i].name));
		memcpy(&st.counters[i].value,
		    (const char *)dns_env + counters[i].off, sizeof(uint64_t));
	}
	st.ncounters = (uint32_t)i;
	if (bw_peer_send(peer, BW_IMSG_STATUS, reqid, -1, &st,
	    sizeof(st)) == -1)
		log_warnx("cannot send status to controld");
}

void
dns_controld_state_cb(struct bw_peer *peer, int up, void *arg)
{
	if (up)
		dns_env->c_controld_connects++;
	log_info("%s controld", up ? "connected to" : "lost connection to");
}

void
dns_controld_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	switch (imsg->hdr.type) {
	case BW_IMSG_STATUS_REQ:
		dns_status_send(peer, imsg->hdr.peerid);
		break;
	default:
		log_warnx("unexpected %s from controld",
		    bw_imsg_type_name(imsg->hdr.type));
		bw_peer_drop(peer, "unexpected message type");
		break;
	}
}
