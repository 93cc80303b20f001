/*
 * Queue pressure as queued reports it (QUEUE_PRESSURE, on every change
 * and whenever the link to queued comes up): the level (none, soft, hard)
 * and its reason ("queued_messages 10500>=10000") are kept in the env,
 * logged once per change and shown by bwctl status.  Who gets 421 for it
 * is the session's business (the host access table, by score and group);
 * it asks smtpd_pressure_level().
 *
 * While the link to queued is down the last report stands: MAIL gets 451
 * then anyway, and the next link brings the state at once.
 *
 * Trust: queued's frame passed the catalog check (size, sender role); a
 * level out of range or a reason that is not printable US-ASCII (it may
 * end up in a reply or a log line) drops the link like any bad frame.
 */
#include "bw_autoconf.h"

#include <string.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"

/* Printable US-ASCII, the space included. */
static int
smtpd_pressure_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
			return 0;
	return 1;
}

void
smtpd_pressure_recv(struct smtpd_env *env, struct bw_imsg *imsg)
{
	struct bw_queue_pressure	 qp;
	char				 reason[BW_PRESSURE_REASON_MAX];

	memcpy(&qp, imsg->data, sizeof(qp));
	BW_IMSG_STR(reason, qp.reason);
	if (qp.level >= BW_PRESSURE__COUNT || !smtpd_pressure_printable(
	    reason)) {
		log_warnx("queued: bad QUEUE_PRESSURE (level %u); dropping "
		    "link", qp.level);
		bw_peer_drop(env->queued, "bad QUEUE_PRESSURE");
		return;
	}
	if (qp.level == BW_PRESSURE_NONE)
		reason[0] = '\0';
	if ((int)qp.level == env->pressure &&
	    strcmp(reason, env->pressure_reason) == 0)
		return;		/* the same news again (a new link) */
	env->c.pressure_changes++;
	if (qp.level == BW_PRESSURE_NONE)
		log_info("pressure=none was=%s (queued)",
		    bw_pressure_level_name(env->pressure));
	else
		log_warnx("pressure=%s reason=%s (queued)",
		    bw_pressure_level_name((int)qp.level), reason);
	env->pressure = (int)qp.level;
	strlcpy(env->pressure_reason, reason, sizeof(env->pressure_reason));
}

/* The level queued last reported: BW_PRESSURE_NONE, _SOFT or _HARD. */
int
smtpd_pressure_level(const struct smtpd_env *env)
{
	return env->pressure;
}

/* bwctl status: the state and its reason, the level as a number. */
void
smtpd_pressure_status(const struct smtpd_env *env, struct bw_status *st)
{
	bw_status_add_info(st, "pressure",
	    bw_pressure_level_name(env->pressure));
	if (env->pressure != BW_PRESSURE_NONE)
		bw_status_add_info(st, "pressure_reason",
		    env->pressure_reason);
	bw_status_add(st, "pressure_level", (uint64_t)env->pressure);
}
