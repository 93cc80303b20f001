/*
 * A deliverd worker: its own event loop, connections to queued (jobs and
 * results), dnscached (lookups) and controld (status), each
 * re-established with backoff by peer.c.  It stops on SIGTERM or SIGINT,
 * and when the supervisor's pipe reports EOF (the supervisor died).
 */
#include "bw_autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns_client.h"
#include "log.h"
#include "peer.h"
#include "status_link.h"
#include "util.h"
#include "deliverd.h"
#include "deliverd_mtasts.h"

static struct dlv_worker	 dlv_w;
struct dlv_worker		*dlv_env = &dlv_w;

static void
dlv_worker_stop(const char *why)
{
	log_info("worker=%d stopping: %s", dlv_w.index, why);
	dlv_w.shutting_down = 1;
	event_base_loopbreak(dlv_w.base);
}

static void
dlv_worker_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	dlv_worker_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/*
 * Reload from fd, or from the file (-1): the supervisor forwards its
 * SIGHUP, controld sends a descriptor for `bwctl config reload`.
 */
int
dlv_worker_reload(int fd, struct bw_config_reload_result *res)
{
	struct bw_config	*nc, *oc = dlv_w.cfg;
	char			 who[sizeof("worker=") + 16];
	int			 kept;

	memset(res, 0, sizeof(*res));
	snprintf(who, sizeof(who), "worker=%d ", dlv_w.index);
	if ((nc = config_reload_prepare(oc, fd, dlv_w.basedir, who,
	    res->text, sizeof(res->text), &kept)) == NULL) {
		dlv_w.c_reload_failures++;
		res->generation = oc->generation;
		res->digest = oc->digest;
		return -1;
	}
	dlv_agent_reload(nc);
	dlv_tls_reload(nc);
	dlv_w.cfg = nc;
	config_unref(oc);
	res->ok = 1;
	res->generation = nc->generation;
	res->digest = nc->digest;
	res->kept = (uint32_t)kept;
	log_info("%sreload: configuration applied generation=%u digest=%08x "
	    "kept_until_restart=%d", who, nc->generation, nc->digest, kept);
	return 0;
}

static void
dlv_worker_sighup_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct bw_config_reload_result	 res;

	if (!dlv_w.shutting_down)
		(void)dlv_worker_reload(-1, &res);
}

/* Readable supervisor pipe: EOF (nothing is ever written). */
static void
dlv_worker_parent_cb(evutil_socket_t fd, short ev, void *arg)
{
	char	 c;

	if (read(fd, &c, 1) == 0)
		dlv_worker_stop("supervisor gone");
}

static struct bw_peer *
dlv_worker_connect(const char *sock, bw_peer_msg_cb cb, bw_peer_state_cb scb)
{
	struct bw_peer	*p;
	char		 path[PATH_MAX];

	if (config_runtime_path(dlv_w.cfg, sock, path, sizeof(path)) == -1)
		fatalx("runtime path for %s too long", sock);
	if ((p = bw_peer_connect(dlv_w.base, path, BW_ROLE_DELIVERD,
	    (uint32_t)dlv_w.index, cb, scb, &dlv_w)) == NULL)
		fatal("worker=%d: peer %s", dlv_w.index, path);
	return p;
}

/*
 * Take jobs only once lookups work: queued re-sends a restarted worker's
 * jobs at once, and without dnscached each would be deferred for a whole
 * retry interval (or bounced, under a max_retries 0 profile).
 */
void
dlv_worker_connect_queued(struct dlv_worker *w)
{
	if (w->queued != NULL)
		return;
	w->queued = dlv_worker_connect(BW_SOCK_QUEUED, dlv_queued_msg_cb,
	    dlv_queued_state_cb);
}

void
dlv_worker_main(struct bw_config *cfg, const char *basedir, int index,
    int parent_fd, uint64_t restarts)
{
	struct bw_config_reload_result	 res;
	int				 ret;

	memset(&dlv_w, 0, sizeof(dlv_w));
	dlv_w.cfg = cfg;
	dlv_w.basedir = basedir;
	dlv_w.index = index;
	dlv_w.parent_fd = parent_fd;
	dlv_w.c_restarts = restarts;
	dlv_w.started = bw_time();
	snprintf(dlv_w.proc, sizeof(dlv_w.proc), "deliverd[%d]", index);

	if ((dlv_w.base = event_base_new()) == NULL)
		fatalx("worker=%d: event_base_new failed", index);
	dlv_w.ev_sigterm = evsignal_new(dlv_w.base, SIGTERM,
	    dlv_worker_signal_cb, NULL);
	dlv_w.ev_sigint = evsignal_new(dlv_w.base, SIGINT,
	    dlv_worker_signal_cb, NULL);
	dlv_w.ev_sighup = evsignal_new(dlv_w.base, SIGHUP,
	    dlv_worker_sighup_cb, NULL);
	dlv_w.ev_parent = event_new(dlv_w.base, parent_fd,
	    EV_READ | EV_PERSIST, dlv_worker_parent_cb, NULL);
	if (dlv_w.ev_sigterm == NULL || dlv_w.ev_sigint == NULL ||
	    dlv_w.ev_sighup == NULL || dlv_w.ev_parent == NULL ||
	    evsignal_add(dlv_w.ev_sigterm, NULL) == -1 ||
	    evsignal_add(dlv_w.ev_sigint, NULL) == -1 ||
	    evsignal_add(dlv_w.ev_sighup, NULL) == -1 ||
	    event_add(dlv_w.ev_parent, NULL) == -1)
		fatalx("worker=%d: cannot set up events", index);

	/*
	 * A worker started again after a crash reads the file as it is now,
	 * as any restarted process does: the supervisor's copy may predate
	 * a `bwctl config reload`, which reaches only the workers.
	 */
	if (restarts > 0)
		(void)dlv_worker_reload(-1, &res);

	TAILQ_INIT(&dlv_w.assembling);
	dlv_agent_init();
	dlv_sts_init();
	if (dlv_tls_init() == -1)
		log_warnx("worker=%d: no TLS for outbound connections", index);

	/* queued follows once dnscached is up: see dlv_worker_connect_queued */
	dlv_w.dnscached = dlv_worker_connect(BW_SOCK_DNSCACHED,
	    dlv_dnscached_msg_cb, dlv_dnscached_state_cb);
	if ((dlv_w.dns = bw_dns_client_new(dlv_w.base, dlv_w.dnscached)) ==
	    NULL)
		fatal("worker=%d: dns client", index);
	dlv_controld_connect(&dlv_w);

	log_info("worker=%d pid=%ld running restarts=%llu", index,
	    (long)getpid(), (unsigned long long)restarts);
	ret = event_base_dispatch(dlv_w.base);
	if (!dlv_w.shutting_down)
		fatalx("worker=%d: event loop ended unexpectedly (ret=%d)",
		    index, ret);

	dlv_agent_shutdown();
	dlv_debug_shutdown();
	dlv_sts_shutdown();
	bw_dns_client_free(dlv_w.dns);
	bw_peer_close(dlv_w.queued);
	bw_peer_close(dlv_w.dnscached);
	bw_status_link_close(dlv_w.controld);
	event_free(dlv_w.ev_sigterm);
	event_free(dlv_w.ev_sigint);
	event_free(dlv_w.ev_sighup);
	event_free(dlv_w.ev_parent);
	/* Run the deferred frees of the peers just closed. */
	event_base_loop(dlv_w.base, EVLOOP_NONBLOCK);
	event_base_free(dlv_w.base);
	dlv_tls_free_ctx();
	close(parent_fd);
	/* Ours, or the supervisor's copy in this process image. */
	config_unref(dlv_w.cfg);
	log_info("worker=%d stopped", index);
	exit(0);
}
