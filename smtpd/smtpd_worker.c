/*
 * One smtpd worker: forked by the supervisor (smtpd.c, common/super.c)
 * after the listeners were bound and privileges dropped.  It keeps its
 * own socket of each listener (SO_REUSEPORT, smtpd_listener.c), links to
 * queued, dnscached and controld as worker N ("smtpd[N]" in bwctl
 * status), and serves sessions until SIGTERM or until the supervisor goes
 * away (EOF on parent_fd).
 *
 * What must be exact across workers is not here: per-host connections
 * and rates are counted by queued (smtpd_hostcount.c), which releases a
 * dead worker's connections when its link drops.  smtpd_max_connections
 * is shared out (smtpd_worker_max_connections).
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "super.h"
#include "util.h"
#include "smtpd.h"

/* The supervisor's end of the pipe closed: it died; stop like SIGTERM. */
static void
smtpd_worker_parent_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd_env	*env = arg;
	char			 c;
	ssize_t			 n;

	if ((n = read(fd, &c, 1)) == -1 && (errno == EINTR ||
	    errno == EAGAIN))
		return;
	log_warnx("worker=%d: the supervisor is gone, stopping", env->worker);
	event_del(env->ev_parent);
	if (!env->d.shutting_down) {
		env->d.shutting_down = 1;
		event_base_loopbreak(env->d.base);
	}
}

void
smtpd_worker_main(struct bw_super *sup, int index, int parent_fd,
    uint64_t restarts, void *arg)
{
	struct smtpd_env	*env = arg;
	char			 extra[sizeof("worker=") + 16];

	env->worker = index;
	env->restarts = restarts;
	env->config_stale = restarts > 0;
	snprintf(env->proc, sizeof(env->proc), "smtpd[%d]", index);
	env->d.started = bw_time();
	smtpd_listeners_take(env, index);

	bw_daemon_events(&env->d);
	smtpd_reload_init(env);
	if ((env->ev_parent = event_new(env->d.base, parent_fd,
	    EV_READ | EV_PERSIST, smtpd_worker_parent_cb, env)) == NULL ||
	    event_add(env->ev_parent, NULL) == -1)
		fatalx("worker=%d: cannot watch the supervisor", index);
	env->next_reqid = 1;
	env->next_sid = (uint64_t)index + 1;
	if ((env->ev_pause = evtimer_new(env->d.base, smtpd_data_pause_cb,
	    env)) == NULL)
		fatalx("evtimer_new failed");
	smtpd_hostcount_init(env);

	/* reconnecting after a peer restart goes by path, inside the chroot */
	smtpd_queue_connect(env);
	smtpd_dns_connect(env);
	smtpd_status_connect(env);
	if (smtpd_listeners_start(env) == -1)
		fatalx("cannot start listeners");

	snprintf(extra, sizeof(extra), "worker=%d", index);
	bw_daemon_run(&env->d, extra);

	smtpd_sessions_free_all(env);
	smtpd_trace_free_all(env);
	smtpd_hostcount_shutdown();
	smtpd_listeners_close(env);
	smtpd_dns_close(env);
	bw_peer_close(env->queued);
	bw_status_link_close(env->controld);
	event_free(env->ev_pause);
	event_free(env->ev_parent);
	close(parent_fd);
	bw_daemon_cleanup(&env->d);
	exit(0);
}
