/*
 * The link every daemon but controld keeps to controld (status_link.h):
 * STATUS_REQ is answered here from the daemon's fill callback; other
 * controld requests go to the daemon's hook; an unexpected type is logged
 * in one line and the link dropped, never the process.
 *
 * Trust: frames passed the catalog check in peer.c.  Limits:
 * BW_STATUS_COUNTERS_MAX counters, BW_STATUS_INFO_MAX words of state of
 * BW_STATUS_INFO_TEXT_MAX bytes, BW_NAME_MAX bytes of proc name and
 * counter name (cut, terminated).
 */
#include "bw_autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "status_link.h"

#define BW_STATUS_LINK_PREFIX_MAX	32	/* "worker=NN " and such */

struct bw_status_link {
	struct bw_peer		*peer;
	char			 proc[BW_NAME_MAX];
	char			 prefix[BW_STATUS_LINK_PREFIX_MAX];
	int64_t			 started;
	uint64_t		 connects;
	bw_status_fill_cb	 fill;
	bw_status_msg_cb	 msg;
	bw_status_reload_cb	 reload;
	bw_peer_state_cb	 state;
	void			*arg;
};

/* Append one counter, within BW_STATUS_COUNTERS_MAX. */
int
bw_status_add(struct bw_status *st, const char *name, uint64_t value)
{
	struct bw_status_counter	*c;

	if (st->ncounters >= BW_STATUS_COUNTERS_MAX) {
		log_debug("status: counter %s left out: more than %d",
		    name, BW_STATUS_COUNTERS_MAX);
		return -1;
	}
	c = &st->counters[st->ncounters++];
	strlcpy(c->name, name, sizeof(c->name));
	c->value = value;
	return 0;
}

/* Append one word of state, within BW_STATUS_INFO_MAX; cut to the field. */
int
bw_status_add_info(struct bw_status *st, const char *name, const char *value)
{
	struct bw_status_info	*in;

	if (st->ninfo >= BW_STATUS_INFO_MAX) {
		log_debug("status: %s left out: more than %d", name,
		    BW_STATUS_INFO_MAX);
		return -1;
	}
	in = &st->info[st->ninfo++];
	strlcpy(in->name, name, sizeof(in->name));
	strlcpy(in->value, value, sizeof(in->value));
	return 0;
}

/* STATUS_REQ: header fields here, counters from the daemon. */
static void
bw_status_link_status(struct bw_status_link *l, uint32_t reqid)
{
	struct bw_status	 st;

	memset(&st, 0, sizeof(st));
	strlcpy(st.proc, l->proc, sizeof(st.proc));
	st.pid = (uint32_t)getpid();
	st.started = l->started;
	l->fill(&st, l->arg);
	if (bw_peer_send(l->peer, BW_IMSG_STATUS, reqid, -1, &st,
	    sizeof(st)) == -1)
		log_warnx("%scannot send status to controld", l->prefix);
}

/* CONFIG_RELOAD: the daemon applies the file, controld gets the outcome. */
static void
bw_status_link_reload(struct bw_status_link *l, struct bw_imsg *imsg)
{
	struct bw_config_reload_result	 res;

	memset(&res, 0, sizeof(res));
	/* no descriptor: the built-in configuration, nothing to read */
	if (l->reload == NULL)
		strlcpy(res.text, "this process cannot reload",
		    sizeof(res.text));
	else
		l->reload(imsg->fd, &res, l->arg);
	res.text[sizeof(res.text) - 1] = '\0';
	if (bw_peer_send(l->peer, BW_IMSG_CONFIG_RELOAD_RESULT,
	    imsg->hdr.peerid, -1, &res, sizeof(res)) == -1)
		log_warnx("%scannot send the reload result to controld",
		    l->prefix);
}

static void
bw_status_link_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct bw_status_link	*l = arg;

	if (imsg->hdr.type == BW_IMSG_STATUS_REQ) {
		bw_status_link_status(l, imsg->hdr.peerid);
		return;
	}
	if (imsg->hdr.type == BW_IMSG_CONFIG_RELOAD) {
		bw_status_link_reload(l, imsg);
		return;
	}
	if (l->msg != NULL && l->msg(peer, imsg, l->arg))
		return;
	log_warnx("unexpected %s from controld",
	    bw_imsg_type_name(imsg->hdr.type));
	bw_peer_drop(peer, "unexpected message type");
}

static void
bw_status_link_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct bw_status_link	*l = arg;

	if (up)
		l->connects++;
	log_info("%s%s controld", l->prefix,
	    up ? "connected to" : "lost connection to");
	if (l->state != NULL)
		l->state(peer, up, l->arg);
}

/* Connect to controld; peer.c reconnects after a loss. */
struct bw_status_link *
bw_status_link_connect(struct event_base *base,
    const struct bw_status_link_conf *conf)
{
	struct bw_status_link	*l;

	/* sanity checks */
	if (conf->fill == NULL || conf->proc == NULL || conf->path == NULL)
		fatalx("status link: incomplete configuration");

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("status link");
	strlcpy(l->proc, conf->proc, sizeof(l->proc));
	if (conf->log_prefix != NULL)
		strlcpy(l->prefix, conf->log_prefix, sizeof(l->prefix));
	l->started = conf->started;
	l->fill = conf->fill;
	l->msg = conf->msg;
	l->reload = conf->reload;
	l->state = conf->state;
	l->arg = conf->arg;
	l->peer = bw_peer_connect(base, conf->path, conf->role, conf->worker,
	    bw_status_link_msg_cb, bw_status_link_state_cb, l);
	if (l->peer == NULL)
		fatal("controld peer %s", conf->path);
	return l;
}

/* bw_peer_close() runs no callback, so l may go at once. */
void
bw_status_link_close(struct bw_status_link *l)
{
	if (l == NULL)
		return;
	bw_peer_close(l->peer);
	free(l);
}

int
bw_status_link_config_request(struct bw_status_link *l)
{
	if (l == NULL || !bw_peer_is_up(l->peer))
		return -1;
	return bw_peer_send(l->peer, BW_IMSG_CONFIG_REQ, 0, -1, NULL, 0);
}

struct bw_peer *
bw_status_link_peer(const struct bw_status_link *l)
{
	return l->peer;
}

int
bw_status_link_is_up(const struct bw_status_link *l)
{
	return l != NULL && bw_peer_is_up(l->peer);
}

uint64_t
bw_status_link_connects(const struct bw_status_link *l)
{
	return l->connects;
}
