/*
 * The deliverd supervisor: forks the workers, restarts one that dies
 * (backoff from DLV_BACKOFF_MIN_MS doubling to DLV_BACKOFF_MAX_MS, reset
 * once a worker has lived DLV_STABLE_MS; every restart is counted and
 * logged), and on SIGTERM or SIGINT (daemon.c's signal events, through
 * dlv_super_shutdown) passes SIGTERM to the workers and ends the loop when
 * all are gone (SIGKILL after DLV_STOP_TIMEOUT_MS).
 *
 * Each worker holds the read end of a pipe whose write end only the
 * supervisor keeps: EOF there tells a worker that the supervisor died, so
 * no worker outlives it.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "deliverd.h"

static struct dlv_super	*sup_env;

static void	dlv_slot_start(struct dlv_super *, struct dlv_slot *);

static void
dlv_timer_add(struct event *ev, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static int
dlv_live_workers(const struct dlv_super *sup)
{
	int	 i, n = 0;

	for (i = 0; i < sup->nslots; i++)
		if (sup->slots[i].pid > 0)
			n++;
	return n;
}

/*
 * In a new worker: drop everything that belongs to the supervisor.  The
 * event base shares its epoll instance with the parent, so it is
 * re-initialised first; deleting events from the shared one would remove
 * the parent's registrations.
 */
static void
dlv_super_forget(struct dlv_super *sup)
{
	int	 i;

	if (event_reinit(sup->d.base) == -1)
		fatalx("worker: event_reinit failed");
	for (i = 0; i < sup->nslots; i++) {
		if (sup->slots[i].pipe_w != -1)
			close(sup->slots[i].pipe_w);
		event_free(sup->slots[i].restart_ev);
	}
	event_free(sup->d.ev_sigterm);
	event_free(sup->d.ev_sigint);
	event_free(sup->d.ev_sighup);
	event_free(sup->ev_sigchld);
	event_free(sup->ev_stop);
	event_base_free(sup->d.base);
	free(sup->slots);
	sup->slots = NULL;
	sup->d.ev_sigterm = sup->d.ev_sigint = sup->d.ev_sighup = NULL;
	sup->d.base = NULL;
}

/*
 * SIGHUP checked the file for the supervisor (it needs it only to start
 * workers); each worker reloads it on the SIGHUP passed on here.
 */
int
dlv_super_reload(struct bw_daemon *d, struct bw_config *nc,
    struct bw_config *oc, char *err, size_t errsz, void *arg)
{
	struct dlv_super	*sup = arg;
	int			 i;

	for (i = 0; i < sup->nslots; i++)
		if (sup->slots[i].pid > 0 &&
		    kill(sup->slots[i].pid, SIGHUP) == -1)
			log_warn("worker=%d pid=%ld: cannot pass SIGHUP on",
			    sup->slots[i].index, (long)sup->slots[i].pid);
	return 0;
}

static void
dlv_slot_schedule(struct dlv_super *sup, struct dlv_slot *s)
{
	if (s->backoff_ms == 0)
		s->backoff_ms = DLV_BACKOFF_MIN_MS;
	dlv_timer_add(s->restart_ev, s->backoff_ms);
}

static void
dlv_slot_start(struct dlv_super *sup, struct dlv_slot *s)
{
	uint64_t	 restarts;
	pid_t		 pid;
	int		 fds[2], index;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		log_warn("worker=%d: pipe", s->index);
		dlv_slot_schedule(sup, s);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		log_warn("worker=%d: fork", s->index);
		close(fds[0]);
		close(fds[1]);
		dlv_slot_schedule(sup, s);
		return;
	}
	if (pid == 0) {
		close(fds[1]);
		index = s->index;
		restarts = s->restarts;
		dlv_super_forget(sup);
		dlv_worker_main(sup->d.cfg, sup->d.basedir, index, fds[0],
		    restarts);
	}
	close(fds[0]);
	s->pid = pid;
	s->pipe_w = fds[1];
	s->started_ms = bw_now_ms();
	log_info("worker=%d pid=%ld started restarts=%llu", s->index,
	    (long)pid, (unsigned long long)s->restarts);
}

static void
dlv_restart_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dlv_slot	*s = arg;

	if (sup_env->d.shutting_down || s->pid > 0)
		return;
	dlv_slot_start(sup_env, s);
}

static void
dlv_exit_text(int status, char *dst, size_t dstsz)
{
	if (WIFEXITED(status))
		snprintf(dst, dstsz, "exited status=%d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(dst, dstsz, "killed signal=%d", WTERMSIG(status));
	else
		snprintf(dst, dstsz, "ended status=0x%x", (unsigned)status);
}

/* Reap workers; restart them unless we are stopping. */
static void
dlv_sigchld_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct dlv_super	*sup = arg;
	struct dlv_slot		*s;
	char			 how[64];
	uint64_t		 lived;
	pid_t			 pid;
	int			 status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0, s = NULL; i < sup->nslots; i++)
			if (sup->slots[i].pid == pid)
				s = &sup->slots[i];
		if (s == NULL)
			continue;
		close(s->pipe_w);
		s->pipe_w = -1;
		s->pid = 0;
		dlv_exit_text(status, how, sizeof(how));
		lived = bw_now_ms() - s->started_ms;
		if (sup->d.shutting_down) {
			log_info("worker=%d pid=%ld %s", s->index, (long)pid,
			    how);
			continue;
		}
		if (lived >= DLV_STABLE_MS || s->backoff_ms == 0)
			s->backoff_ms = DLV_BACKOFF_MIN_MS;
		else if ((s->backoff_ms *= 2) > DLV_BACKOFF_MAX_MS)
			s->backoff_ms = DLV_BACKOFF_MAX_MS;
		s->restarts++;
		sup->total_restarts++;
		log_warnx("worker=%d pid=%ld %s after %llu ms; restart in "
		    "%llu ms restarts=%llu total_restarts=%llu", s->index,
		    (long)pid, how, (unsigned long long)lived,
		    (unsigned long long)s->backoff_ms,
		    (unsigned long long)s->restarts,
		    (unsigned long long)sup->total_restarts);
		dlv_timer_add(s->restart_ev, s->backoff_ms);
	}
	if (sup->d.shutting_down && dlv_live_workers(sup) == 0)
		event_base_loopbreak(sup->d.base);
}

/*
 * daemon.c's SIGTERM/SIGINT hook (shutting_down is set): pass SIGTERM to
 * the workers; the loop ends when the last one is reaped (or at once when
 * none is alive), SIGKILL after DLV_STOP_TIMEOUT_MS.
 */
int
dlv_super_shutdown(struct bw_daemon *d, int sig, void *arg)
{
	struct dlv_super	*sup = arg;
	int			 i;

	log_info("stopping %d workers", dlv_live_workers(sup));
	for (i = 0; i < sup->nslots; i++) {
		evtimer_del(sup->slots[i].restart_ev);
		if (sup->slots[i].pid > 0 &&
		    kill(sup->slots[i].pid, SIGTERM) == -1 && errno != ESRCH)
			log_warn("worker=%d pid=%ld: kill", i,
			    (long)sup->slots[i].pid);
	}
	if (dlv_live_workers(sup) == 0)
		return 0;
	dlv_timer_add(sup->ev_stop, DLV_STOP_TIMEOUT_MS);
	return 1;
}

/* Workers that ignored SIGTERM for DLV_STOP_TIMEOUT_MS. */
static void
dlv_stop_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dlv_super	*sup = arg;
	int			 i;

	for (i = 0; i < sup->nslots; i++)
		if (sup->slots[i].pid > 0) {
			log_warnx("worker=%d pid=%ld did not stop in %d ms, "
			    "killing it", i, (long)sup->slots[i].pid,
			    DLV_STOP_TIMEOUT_MS);
			kill(sup->slots[i].pid, SIGKILL);
		}
}

/* The slots, SIGCHLD and the stop timer on daemon.c's base; fork all. */
void
dlv_super_start(struct dlv_super *sup)
{
	int	 i;

	sup_env = sup;
	if ((sup->slots = calloc(sup->nslots, sizeof(*sup->slots))) == NULL)
		fatal("worker slots");
	for (i = 0; i < sup->nslots; i++) {
		sup->slots[i].index = i;
		sup->slots[i].pipe_w = -1;
		if ((sup->slots[i].restart_ev = evtimer_new(sup->d.base,
		    dlv_restart_cb, &sup->slots[i])) == NULL)
			fatalx("evtimer_new failed");
	}
	sup->ev_sigchld = evsignal_new(sup->d.base, SIGCHLD, dlv_sigchld_cb,
	    sup);
	sup->ev_stop = evtimer_new(sup->d.base, dlv_stop_timeout_cb, sup);
	if (sup->ev_sigchld == NULL || sup->ev_stop == NULL ||
	    evsignal_add(sup->ev_sigchld, NULL) == -1)
		fatalx("cannot set up signal events");

	for (i = 0; i < sup->nslots; i++)
		dlv_slot_start(sup, &sup->slots[i]);
}

/* After the loop: every worker is gone; free what _start made. */
void
dlv_super_stop(struct dlv_super *sup)
{
	int	 i;

	for (i = 0; i < sup->nslots; i++) {
		if (sup->slots[i].pipe_w != -1)
			close(sup->slots[i].pipe_w);
		event_free(sup->slots[i].restart_ev);
	}
	event_free(sup->ev_sigchld);
	event_free(sup->ev_stop);
	free(sup->slots);
	sup->slots = NULL;
	sup->ev_sigchld = sup->ev_stop = NULL;
	log_info("all workers stopped, restarts=%llu",
	    (unsigned long long)sup->total_restarts);
}
