/*
 * QUEUE_EVENT: controld hears at once when a queue goes down or comes
 * up again (its domain-down alert), without waiting for its next look at
 * the queues.  Unsolicited, peerid 0; nothing is sent while controld is
 * not linked (its next listing shows the state anyway).
 */
#include "bw_autoconf.h"

#include <string.h>

#include "log.h"
#include "peer.h"
#include "status_link.h"
#include "util.h"
#include "queued.h"

/* q's state just changed to down or up. */
void
qevent_queue_state(const struct qsq *q)
{
	struct bw_queue_event	 ev;
	struct bw_peer		*peer;

	if (q_env->controld == NULL ||
	    !bw_status_link_is_up(q_env->controld) ||
	    (peer = bw_status_link_peer(q_env->controld)) == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	strlcpy(ev.gateway, q->gateway, sizeof(ev.gateway));
	strlcpy(ev.domain, q->domain, sizeof(ev.domain));
	ev.state = q->state;
	ev.queued = q->nitems;
	if (q->state == BW_QUEUE_DOWN)
		strlcpy(ev.reason, q->last_error, sizeof(ev.reason));
	if (bw_peer_send(peer, BW_IMSG_QUEUE_EVENT, 0, -1, &ev,
	    sizeof(ev)) == -1)
		log_debug("domain=%s gateway=%s: controld not told of the "
		    "state change", q->domain, q->gateway);
}
