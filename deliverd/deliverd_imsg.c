/*
 * A deliverd worker's message dispatch, one function per peer.  peer.c has
 * checked each frame's catalog row (type, sender role, size) first.
 * queued sends jobs (DLV_*) and operators' retries (DLV_RETRY), dnscached
 * answers (DNS_ANSWER), controld asks for STATUS (answered by status_link.c from dlv_status_fill) and
 * DOMAIN_INFO, and sends the domain debug table (DEBUG_TABLE).  Anything else drops that link (peer.c
 * reconnects it).  Losing queued drops every job (queued re-sends them);
 * losing dnscached fails every lookup in flight (temporary failure), through
 * the dnscached client (common/dns_client.c).
 */
#include "bw_autoconf.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "dns_client.h"
#include "log.h"
#include "peer.h"
#include "status_link.h"
#include "util.h"
#include "deliverd.h"
#include "deliverd_mtasts.h"

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
	case BW_IMSG_DLV_RETRY:
		dlv_agent_retry(imsg->data);
		break;
	default:
		dlv_unexpected(peer, imsg, "queued");
		break;
	}
}

void
dlv_dnscached_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	/* the client matches answers to queries (dns_client.c) */
	if (!bw_dns_client_dispatch(dlv_env->dns, imsg))
		dlv_unexpected(peer, imsg, "dnscached");
}

#define DLV_STATUS_CONTROLD	((size_t)-1)	/* from the link, not w */

/* STATUS: the counters; status_link.c fills in proc, pid and start. */
static void
dlv_status_fill(struct bw_status *st, void *arg)
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
		{ "controld_connects", DLV_STATUS_CONTROLD },
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
	struct dlv_worker	*w = arg;
	uint64_t		 v;
	size_t			 i;

	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		if (counters[i].off == DLV_STATUS_CONTROLD)
			v = bw_status_link_connects(w->controld);
		else
			memcpy(&v, (const char *)w + counters[i].off,
			    sizeof(v));
		bw_status_add(st, counters[i].name, v);
	}
	for (i = 0; i < DLV_TLS_FAIL__COUNT; i++)
		bw_status_add(st, dlv_tls_fail_name((enum dlv_tls_fail)i),
		    w->c_tls_fail[i]);
	bw_status_add(st, "queued_up", bw_peer_is_up(w->queued) ? 1 : 0);
	bw_status_add(st, "dnscached_up", bw_peer_is_up(w->dnscached) ? 1 : 0);
	bw_status_add(st, "config_generation", w->cfg->generation);
	bw_status_add(st, "config_digest", w->cfg->digest);
	bw_status_add(st, "config_reload_failures", w->c_reload_failures);
	dlv_sts_status(st);
}

/* CONFIG_RELOAD from controld (bwctl config reload). */
static void
dlv_controld_reload(int fd, struct bw_config_reload_result *res, void *arg)
{
	(void)dlv_worker_reload(fd, res);
}

/* controld's requests besides STATUS_REQ (status_link.c answers that). */
static int
dlv_controld_msg(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	switch (imsg->hdr.type) {
	case BW_IMSG_DOMAIN_INFO_REQ:
		dlv_agent_info(peer, imsg->hdr.peerid, imsg->data);
		return 1;
	case BW_IMSG_DEBUG_TABLE:
		if (dlv_debug_table(imsg) == -1)
			bw_peer_drop(peer, "malformed DEBUG_TABLE");
		return 1;
	case BW_IMSG_AGENT_LIST_REQ:
		dlv_agent_list(peer, imsg->hdr.peerid);
		return 1;
	case BW_IMSG_REDIRECT_TABLE:
		if (dlv_redirect_table(imsg) == -1)
			bw_peer_drop(peer, "malformed REDIRECT_TABLE");
		return 1;
	default:
		return 0;
	}
}

/* The status link logs "worker=N connected to controld" and counts. */
void
dlv_controld_connect(struct dlv_worker *w)
{
	char				 path[PATH_MAX];
	char				 prefix[sizeof("worker=") + 16];
	struct bw_status_link_conf	 conf = {
		.path = path, .role = BW_ROLE_DELIVERD,
		.worker = (uint32_t)w->index, .proc = w->proc,
		.started = w->started, .log_prefix = prefix,
		.fill = dlv_status_fill, .msg = dlv_controld_msg,
		.reload = dlv_controld_reload, .arg = w,
	};

	snprintf(prefix, sizeof(prefix), "worker=%d ", w->index);
	if (config_runtime_path(w->cfg, BW_SOCK_CONTROLD, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_CONTROLD);
	w->controld = bw_status_link_connect(w->base, &conf);
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
	if (up)
		dlv_worker_connect_queued(w);
	else
		bw_dns_client_down(w->dns);
}
