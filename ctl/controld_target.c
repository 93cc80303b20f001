/*
 * Where a request's answer goes.  A bwctl connection gets the rendered
 * bytes as CTL_OUTPUT chunks (at most BW_CTL_TEXT_MAX each) and then
 * CTL_DONE with the exit code, as bwctl has always read them; a caller
 * inside controld (web pages, /metrics) gets one call with the whole
 * buffer.  A target that went away (bwctl closed, the caller cancelled)
 * gets nothing.
 */
#include "bw_autoconf.h"

#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "controld.h"

/* Send buf as CTL_OUTPUT chunks then CTL_DONE; -1 if the peer failed. */
static int
ctl_target_bwctl(struct bw_peer *client, uint32_t id, struct evbuffer *buf,
    int exitcode)
{
	struct bw_ctl_done	 done;
	char			 chunk[BW_CTL_TEXT_MAX];
	int			 n;

	while ((n = evbuffer_remove(buf, chunk, sizeof(chunk))) > 0)
		if (bw_peer_send(client, BW_IMSG_CTL_OUTPUT, id, -1, chunk,
		    (size_t)n) == -1)
			return -1;
	memset(&done, 0, sizeof(done));
	done.exitcode = exitcode;
	return bw_peer_send(client, BW_IMSG_CTL_DONE, id, -1, &done,
	    sizeof(done));
}

int
ctl_target_gone(const struct ctl_target *t)
{
	return t->kind == CTL_TARGET_BWCTL ? t->peer == NULL : t->cb == NULL;
}

/* The answer to its target, once; -1 if a bwctl peer failed (dropped). */
int
ctl_target_send(struct ctl_target *t, uint32_t id, struct evbuffer *buf,
    int exitcode)
{
	ctl_done_cb	 cb;

	if (ctl_target_gone(t))
		return 0;
	if (t->kind == CTL_TARGET_INTERNAL) {
		cb = t->cb;
		t->cb = NULL;
		cb(t->arg, id, exitcode, buf);
		return 0;
	}
	if (ctl_target_bwctl(t->peer, id, buf, exitcode) == -1) {
		bw_peer_drop(t->peer, "cannot queue ctl output");
		return -1;
	}
	return 0;
}
