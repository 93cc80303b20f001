/*
 * dnscached's message dispatch: one function for its clients (smtpd,
 * deliverd workers) and one for controld (status_link.c answers its
 * STATUS_REQ; DNS_FLUSH comes here).  peer.c has checked HELLO, the
 * uid and each frame's catalog row (type, sender role, exact size) before
 * these run; payloads are copied into aligned local structs here, and
 * strings are bounded by their field size (dnscached_query.c).
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "dnscached.h"

void
dns_client_state_cb(struct bw_peer *peer, int up, void *arg)
{
	if (up) {
		if (dns_query_client_up(peer) == -1) {
			log_warn("dns client pid=%ld", (long)bw_peer_pid(peer));
			bw_peer_drop(peer, "out of memory");
			return;
		}
		dns_env->c_clients++;
		dns_env->c_clients_active++;
	} else {
		dns_query_client_gone(peer);
		if (dns_env->c_clients_active > 0)
			dns_env->c_clients_active--;
	}
	log_info("client %s role=%s pid=%ld worker=%u",
	    up ? "connected" : "disconnected", bw_role_name(bw_peer_role(peer)),
	    (long)bw_peer_pid(peer), bw_peer_worker(peer));
}

/* DNS_ANSWER: the fixed part, then nrr records. */
void
dns_answer_send(struct bw_peer *peer, uint32_t peerid, uint64_t reqid,
    uint16_t qtype, const char *name, const struct dns_result *res)
{
	struct bw_dns_answer	 a;
	uint32_t		 nrr;

	memset(&a, 0, sizeof(a));
	nrr = res->status == BW_DNS_OK ? res->nrr : 0;
	if (nrr > BW_DNS_RR_MAX)
		nrr = BW_DNS_RR_MAX;
	a.reqid = reqid;
	a.status = res->status;
	a.ttl = res->ttl;
	a.nrr = nrr;
	/* the AD bit counts only from an upstream the admin trusts */
	a.flags = res->flags & ~DNS_RESF_AD;
	if ((res->flags & DNS_RESF_AD) &&
	    dns_env->d.cfg->dns_upstream_validates) {
		a.flags |= BW_DNS_ANSF_SECURE;
		dns_env->c_secure_answers++;
	}
	a.qtype = qtype;
	strlcpy(a.name, name, sizeof(a.name));
	if (bw_peer_send2(peer, BW_IMSG_DNS_ANSWER, peerid, -1, &a, sizeof(a),
	    nrr ? res->rr : NULL, nrr * sizeof(res->rr[0])) == -1)
		log_warnx("dns answer to pid=%ld reqid=%llu not sent",
		    (long)bw_peer_pid(peer), (unsigned long long)reqid);
}

void
dns_client_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct bw_dns_query	 q;

	switch (imsg->hdr.type) {
	case BW_IMSG_DNS_QUERY:
		memset(&q, 0, sizeof(q));
		memcpy(&q, imsg->data, imsg->datalen < sizeof(q) ?
		    imsg->datalen : sizeof(q));
		dns_query_request(peer, imsg->hdr.peerid, &q);
		break;
	default:
		log_warnx("unexpected %s from %s pid=%ld",
		    bw_imsg_type_name(imsg->hdr.type),
		    bw_role_name(bw_peer_role(peer)), (long)bw_peer_pid(peer));
		bw_peer_drop(peer, "unexpected message type");
		break;
	}
}

/* STATUS: the counters of struct dnscached, then the cache's. */
static void
dns_status_fill(struct bw_status *st, void *arg)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} counters[] = {
		{ "queries", offsetof(struct dnscached, c_queries) },
		{ "hits", offsetof(struct dnscached, c_hits) },
		{ "misses", offsetof(struct dnscached, c_misses) },
		{ "coalesced", offsetof(struct dnscached, c_coalesced) },
		{ "upstream_queries", offsetof(struct dnscached,
		    c_upstream_queries) },
		{ "upstream_errors", offsetof(struct dnscached,
		    c_upstream_errors) },
		{ "timeouts", offsetof(struct dnscached, c_timeouts) },
		{ "tcp_fallbacks", offsetof(struct dnscached,
		    c_tcp_fallbacks) },
		{ "malformed", offsetof(struct dnscached, c_malformed) },
		{ "mismatched", offsetof(struct dnscached, c_mismatched) },
		{ "rejected", offsetof(struct dnscached, c_rejected) },
		{ "inflight", offsetof(struct dnscached, c_inflight) },
		{ "dnssec_queries", offsetof(struct dnscached,
		    c_dnssec_queries) },
		{ "secure_answers", offsetof(struct dnscached,
		    c_secure_answers) },
		{ "rdata_cut", offsetof(struct dnscached, c_rdata_cut) },
		{ "clients", offsetof(struct dnscached, c_clients) },
		{ "clients_active", offsetof(struct dnscached,
		    c_clients_active) },
	};
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		memcpy(&v, (const char *)dns_env + counters[i].off, sizeof(v));
		bw_status_add(st, counters[i].name, v);
	}
	bw_status_add(st, "controld_connects",
	    bw_status_link_connects(dns_env->controld));
	bw_status_add(st, "cache_entries", dns_cache_entries(dns_env->cache));
	bw_status_add(st, "cache_bytes", dns_cache_bytes(dns_env->cache));
	bw_status_add(st, "evictions", dns_cache_evictions(dns_env->cache));
	bw_daemon_status_add(&dns_env->d, st);
}

/* CONFIG_RELOAD from controld (bwctl config reload). */
static void
dns_controld_reload(int fd, struct bw_config_reload_result *res, void *arg)
{
	struct dnscached	*env = arg;

	(void)bw_daemon_reload(&env->d, fd, res);
}

static void
dns_flush(struct bw_peer *peer, uint32_t reqid)
{
	struct bw_dns_flush_done	 d;

	memset(&d, 0, sizeof(d));
	d.flushed = dns_cache_flush(dns_env->cache);
	log_info("dns cache flushed entries=%llu",
	    (unsigned long long)d.flushed);
	if (bw_peer_send(peer, BW_IMSG_DNS_FLUSH_DONE, reqid, -1, &d,
	    sizeof(d)) == -1)
		log_warnx("cannot send flush result to controld");
}

/* controld's requests besides STATUS_REQ (status_link.c answers that). */
static int
dns_controld_msg(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	switch (imsg->hdr.type) {
	case BW_IMSG_DNS_FLUSH:
		dns_flush(peer, imsg->hdr.peerid);
		return 1;
	default:
		return 0;
	}
}

void
dns_controld_connect(struct dnscached *env)
{
	char				 path[PATH_MAX];
	struct bw_status_link_conf	 conf = {
		.path = path, .role = BW_ROLE_DNSCACHED, .proc = "dnscached",
		.started = env->d.started, .fill = dns_status_fill,
		.msg = dns_controld_msg, .reload = dns_controld_reload,
		.arg = env,
	};

	if (config_runtime_path(env->d.cfg, BW_SOCK_CONTROLD, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_CONTROLD);
	env->controld = bw_status_link_connect(env->d.base, &conf);
}
