/*
 * A daemon's link to controld: connect to controld.sock with a role and a
 * worker number (peer.c reconnects with backoff), answer STATUS_REQ with a
 * struct bw_status the daemon fills counter by counter, and hand any other
 * controld->daemon type (DNS_FLUSH, QUEUE_LIST_REQ, MESSAGE_SHOW_REQ,
 * MESSAGE_LIST_REQ, DOMAIN_INFO_REQ) to the daemon's hook.  A type nobody
 * handles is logged in one line and the link dropped (peer.c reconnects).
 *
 * Trust: controld's frames passed the catalog check (type, sender role,
 * size) in peer.c; the link only echoes hdr.peerid, controld's request id.
 * Limits: BW_STATUS_COUNTERS_MAX counters per STATUS (bw_status_add),
 * BW_STATUS_INFO_MAX words of state (bw_status_add_info).
 */
#ifndef BW_STATUS_LINK_H
#define BW_STATUS_LINK_H

#include <stdint.h>

#include <event2/event.h>

#include "imsg.h"
#include "imsg_catalog.h"
#include "peer.h"

struct bw_status_link;

/* Add the counters; proc, pid and started are already set. */
typedef void (*bw_status_fill_cb)(struct bw_status *, void *arg);
/*
 * CONFIG_RELOAD from controld: apply the configuration read from fd (the
 * callback does not keep fd) and fill res; the link sends res back.
 */
typedef void (*bw_status_reload_cb)(int fd,
	    struct bw_config_reload_result *res, void *arg);
/* Another type from controld: 1 when handled, 0 when unexpected. */
typedef int (*bw_status_msg_cb)(struct bw_peer *, struct bw_imsg *,
	    void *arg);

struct bw_status_link_conf {
	const char		*path;	/* controld.sock as we reach it */
	int			 role;	/* BW_ROLE_* */
	uint32_t		 worker;	/* HELLO worker number */
	const char		*proc;	/* STATUS proc name: "deliverd[1]" */
	int64_t			 started;	/* STATUS start time */
	const char		*log_prefix;	/* "worker=1 ", or NULL */
	bw_status_fill_cb	 fill;	/* required */
	bw_status_msg_cb	 msg;	/* optional: other types */
	bw_status_reload_cb	 reload;	/* optional: CONFIG_RELOAD */
	bw_peer_state_cb	 state;	/* optional: after the link's log line */
	void			*arg;	/* for fill, msg and state */
};

/* Connect (and keep reconnecting); fatal when the peer cannot be made. */
struct bw_status_link *bw_status_link_connect(struct event_base *,
	    const struct bw_status_link_conf *);
/* Close the link for good (at shutdown) and free it; NULL is fine. */
void	 bw_status_link_close(struct bw_status_link *);
struct bw_peer *bw_status_link_peer(const struct bw_status_link *);
int	 bw_status_link_is_up(const struct bw_status_link *);
/* Connections established so far (the "controld_connects" counter). */
uint64_t bw_status_link_connects(const struct bw_status_link *);

/*
 * Ask controld for the configuration file (CONFIG_REQ): it answers with
 * CONFIG_RELOAD, handled like one from `bwctl config reload`.  For a
 * daemon that cannot open the file itself (smtpd in its chroot).  -1 when
 * the link is down.
 */
int	 bw_status_link_config_request(struct bw_status_link *);

/* Append one counter: -1 (and nothing added) when the status is full. */
int	 bw_status_add(struct bw_status *, const char *name, uint64_t value);
/*
 * Append a word of state that is not a number (pressure=soft): -1 (and
 * nothing added) when BW_STATUS_INFO_MAX are there; value cut to
 * BW_STATUS_INFO_TEXT_MAX - 1 bytes.
 */
int	 bw_status_add_info(struct bw_status *, const char *name,
	    const char *value);

#endif
