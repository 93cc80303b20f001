/*
 * smtpd's counters and its link to controld: STATUS_REQ is answered with
 * the counters named in shared_context.md (and a few more).
 *
 * The link itself (status_link.c) answers STATUS_REQ and drops the link on
 * any other type.
 *
 * Trust: controld's frames passed the catalog check; we only echo its
 * request id.
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"

static const struct {
	const char	*name;
	size_t		 off;
} smtpd_counter_defs[] = {
#define C(n)	{ #n, offsetof(struct smtpd_counters, n) }
	C(connections),
	C(connections_active),
	C(messages_accepted),
	C(messages_rejected),
	C(rcpt_rejected),
	C(tls_sessions),
	C(limit_closes),
	C(timeouts),
	C(queue_connects),
	C(commands),
	C(protocol_errors),
	C(bare_lf_rejects),
	C(pregreet_rejects),
	C(pipelining_rejects),
	C(early_data_rejects),
	C(hopcount_rejects),
	C(routing_rejects),
	C(relay_rejects),
	C(data_pauses),
	C(dnscached_connects),
	C(rdns_confirmed),
	C(rdns_unknown),
	C(rdns_unconfirmed),
	C(rdns_tempfail),
	C(policy_tcprefuse),
	C(policy_reject),
	C(policy_relay),
	C(tarpit_delays),
	C(pressure_sheds),
	C(host_rate_rejects),
	C(pressure_changes),
	C(proxy_connections),
	C(proxy_rejects),
	C(rep_lookups),
	C(rep_timeouts),
	C(rep_listed),
	C(rep_hostile),
#undef C
};

/* STATUS: the counters above, then whether queued and dnscached are up. */
static void
smtpd_status_fill(struct bw_status *st, void *arg)
{
	struct smtpd_env	*env = arg;
	uint64_t		 v;
	size_t			 i, n;

	env->c.connections_active = env->nsessions;
	n = sizeof(smtpd_counter_defs) / sizeof(smtpd_counter_defs[0]);
	for (i = 0; i < n; i++) {
		memcpy(&v, (const char *)&env->c + smtpd_counter_defs[i].off,
		    sizeof(v));
		bw_status_add(st, smtpd_counter_defs[i].name, v);
	}
	bw_status_add(st, "restarts", env->restarts);
	bw_status_add(st, "max_connections",
	    smtpd_worker_max_connections(env));
	bw_status_add(st, "queued_up", smtpd_queue_up(env) ? 1 : 0);
	bw_status_add(st, "dnscached_up", smtpd_dns_up(env) ? 1 : 0);
	smtpd_pressure_status(env, st);
	smtpd_hostcount_status(st);
	bw_daemon_status_add(&env->d, st);
}

/*
 * The link to controld is up: a worker started again after a crash asks
 * for the configuration once, since the supervisor's copy (chrooted, it
 * cannot read the file) may predate a `bwctl config reload`.
 */
static void
smtpd_status_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct smtpd_env	*env = arg;

	if (!up || !env->config_stale)
		return;
	if (bw_status_link_config_request(env->controld) == 0)
		env->config_stale = 0;
}

void
smtpd_status_connect(struct smtpd_env *env)
{
	char				 path[PATH_MAX];
	struct bw_status_link_conf	 conf = {
		.path = path, .role = BW_ROLE_SMTPD,
		.worker = (uint32_t)env->worker, .proc = env->proc,
		.started = env->d.started, .fill = smtpd_status_fill,
		.reload = smtpd_reload_link_cb, .msg = smtpd_trace_msg_cb,
		.state = smtpd_status_state_cb, .arg = env,
	};

	if (smtpd_peer_path(env, BW_SOCK_CONTROLD, path,
	    sizeof(path)) == -1)
		fatalx("controld socket path too long");
	env->controld = bw_status_link_connect(env->d.base, &conf);
}
