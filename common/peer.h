/*
 * Connections between Breakwater processes over Unix stream sockets.
 *
 * Server side: bw_peer_listen() binds a socket in the runtime directory that
 * serves only the given roles.  The first frame of every connection must be
 * HELLO with the right version and an allowed role; the peer's uid (from
 * SO_PEERCRED) must be the uid registered for that role with
 * bw_peer_role_uid(), or, where none is registered (development mode), ours
 * or root's.  After that every frame is checked against the catalog before
 * the message callback sees it.  A peer that breaks a rule is logged in one
 * line and disconnected; the process keeps running.
 *
 * Client side: bw_peer_connect() connects, says HELLO, and when the
 * connection is lost or refused, tries again with exponential backoff
 * (BW_PEER_BACKOFF_MIN .. BW_PEER_BACKOFF_MAX).
 *
 * Peers are freed later (from a zero-delay timer), never under a caller.
 */
#ifndef BW_PEER_H
#define BW_PEER_H

#include <sys/types.h>
#include <event2/event.h>

#include "imsg.h"
#include "imsg_catalog.h"

#define BW_PEER_BACKOFF_MIN_MS	100	/* first reconnect delay */
#define BW_PEER_BACKOFF_MAX_MS	5000	/* reconnect delay ceiling */
#define BW_PEER_HELLO_TIMEOUT_S	10	/* a connection must say HELLO in time */
#define BW_PEER_WQUEUE_MAX	(64 * 1024 * 1024)	/* unsent bytes before a peer is dropped */

struct bw_peer;
struct bw_peer_listener;

/* A frame that passed the catalog check. */
typedef void (*bw_peer_msg_cb)(struct bw_peer *, struct bw_imsg *, void *arg);
/* up: 1 when a connection is established (after HELLO), 0 when it is lost. */
typedef void (*bw_peer_state_cb)(struct bw_peer *, int up, void *arg);

void	 bw_peer_role_uid(int role, uid_t uid);

/*
 * The event base every daemon uses: epoll with the change list, so that a
 * bufferevent switching its events on and off within one loop turn costs
 * one epoll_ctl, not one per switch.
 */
struct event_base *bw_event_base_new(void);

struct bw_peer_listener *bw_peer_listen(struct event_base *, const char *path,
	    int allowed_roles, mode_t mode, gid_t gid,
	    bw_peer_msg_cb, bw_peer_state_cb, void *arg);
/* Close the listener and its peers; up peers get their down callback. */
void	 bw_peer_listener_close(struct bw_peer_listener *);

struct bw_peer *bw_peer_connect(struct event_base *, const char *path,
	    int my_role, uint32_t worker,
	    bw_peer_msg_cb, bw_peer_state_cb, void *arg);

/* Queue one frame; -1 when the peer is down or over its queue limit. */
int	 bw_peer_send(struct bw_peer *, uint32_t type, uint32_t peerid,
	    int fd, const void *data, size_t len);
int	 bw_peer_send2(struct bw_peer *, uint32_t type, uint32_t peerid,
	    int fd, const void *d1, size_t l1, const void *d2, size_t l2);

/* Close a peer (server side: for good; client side: reconnect later). */
void	 bw_peer_drop(struct bw_peer *, const char *reason);
/* Close a client peer for good (at shutdown). */
void	 bw_peer_close(struct bw_peer *);

/*
 * Write everything queued for the peer, blocking up to timeout_ms: only at
 * shutdown, so that the last replies reach it.  0 all written, else -1.
 */
int	 bw_peer_flush(struct bw_peer *, int timeout_ms);
int	 bw_peer_is_up(const struct bw_peer *);
int	 bw_peer_role(const struct bw_peer *);
pid_t	 bw_peer_pid(const struct bw_peer *);
uint32_t bw_peer_worker(const struct bw_peer *);
uint32_t bw_peer_id(const struct bw_peer *);	/* unique in this process */
size_t	 bw_peer_wpending(const struct bw_peer *);	/* unsent bytes */
void	*bw_peer_get_data(const struct bw_peer *);
void	 bw_peer_set_data(struct bw_peer *, void *);	/* per-connection state */

#endif
