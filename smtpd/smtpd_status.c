/*
 * smtpd's counters and its link to controld: STATUS_REQ is answered with
 * the counters named in shared_context.md (and a few more).
 *
 * Trust: controld's frames passed the catalog check; we only echo its
 * request id.
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

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
#undef C
};

void
smtpd_status_send(struct smtpd_env *env, struct bw_peer *peer, uint32_t reqid)
{
	struct bw_status	 st;
	size_t			 i, n;

	memset(&st, 0, sizeof(st));
	strlcpy(st.proc, "smtpd", sizeof(st.proc));
	st.pid = (uint32_t)getpid();
	st.started = env->started;
	env->c.connections_active = env->nsessions;
	n = sizeof(smtpd_counter_defs) / sizeof(smtpd_counter_defs[0]);
	for (i = 0; i < n && i < BW_STATUS_COUNTERS_MAX - 1; i++) {
		strlcpy(st.counters[i].name, smtpd_counter_defs[i].name,
		    sizeof(st.counters[i].name));
		memcpy(&st.counters[i].value, (const char *)&env->c +
		    smtpd_counter_defs[i].off, sizeof(uint64_t));
	}
	strlcpy(st.counters[i].name, "queued_up", sizeof(st.counters[i].name));
	st.counters[i++].value = smtpd_queue_up(env) ? 1 : 0;
	st.ncounters = (uint32_t)i;
	if (bw_peer_send(peer, BW_IMSG_STATUS, reqid, -1, &st,
	    sizeof(st)) == -1)
		log_warnx("cannot send status to controld");
}

static void
smtpd_status_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	switch (imsg->hdr.type) {
	case BW_IMSG_STATUS_REQ:
		smtpd_status_send(arg, peer, imsg->hdr.peerid);
		break;
	default:
		log_warnx("unexpected %s from controld",
		    bw_imsg_type_name(imsg->hdr.type));
		bw_peer_drop(peer, "unexpected message type");
		break;
	}
}

static void
smtpd_status_state_cb(struct bw_peer *peer, int up, void *arg)
{
	log_info("%s controld", up ? "connected to" : "lost connection to");
}

void
smtpd_status_connect(struct smtpd_env *env)
{
	char	 path[PATH_MAX];

	if (smtpd_peer_path(env, BW_SOCK_CONTROLD, path,
	    sizeof(path)) == -1)
		fatalx("controld socket path too long");
	env->controld = bw_peer_connect(env->base, path, BW_ROLE_SMTPD, 0,
	    smtpd_status_msg_cb, smtpd_status_state_cb, env);
	if (env->controld == NULL)
		fatal("bw_peer_connect %s", path);
}
