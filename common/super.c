/*
 * The supervisor of worker processes (super.h): fork, restart with
 * backoff, stop.  Used by deliverd and smtpd.
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

#include "daemon.h"
#include "log.h"
#include "util.h"
#include "super.h"

static void	bw_super_slot_start(struct bw_super *, struct bw_super_slot *);

int
bw_super_count(long n)
{
	if (n <= 0 && (n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	if (n > BW_SUPER_WORKERS_MAX)
		n = BW_SUPER_WORKERS_MAX;
	return (int)n;
}

static void
bw_super_timer_add(struct event *ev, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

int
bw_super_live(const struct bw_super *sup)
{
	int	 i, n = 0;

	for (i = 0; i < sup->nslots; i++)
		if (sup->slots[i].pid > 0)
			n++;
	return n;
}

/* The slots (pipes, restart timers), SIGCHLD and the stop timer. */
static void
bw_super_free_slots(struct bw_super *sup)
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
}

/*
 * In a new worker: drop everything that belongs to the supervisor.  The
 * event base shares its epoll instance with the parent, so it is
 * re-initialised first; deleting events from the shared one would remove
 * the parent's registrations.
 */
static void
bw_super_forget(struct bw_super *sup)
{
	struct bw_daemon	*d = sup->d;

	if (event_reinit(d->base) == -1)
		fatalx("worker: event_reinit failed");
	bw_super_free_slots(sup);
	event_free(d->ev_sigterm);
	event_free(d->ev_sigint);
	event_free(d->ev_sighup);
	event_base_free(d->base);
	d->ev_sigterm = d->ev_sigint = d->ev_sighup = NULL;
	d->base = NULL;
	d->on_shutdown = NULL;
	d->on_reload = NULL;
	d->on_sighup = NULL;
	/* the pid file is the supervisor's */
	d->pidfile[0] = '\0';
	(void)signal(SIGCHLD, SIG_DFL);
}

static void
bw_super_slot_schedule(struct bw_super_slot *s)
{
	if (s->backoff_ms == 0)
		s->backoff_ms = BW_SUPER_BACKOFF_MIN_MS;
	bw_super_timer_add(s->restart_ev, s->backoff_ms);
}

static void
bw_super_slot_start(struct bw_super *sup, struct bw_super_slot *s)
{
	uint64_t	 restarts;
	pid_t		 pid;
	int		 fds[2], index;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		log_warn("worker=%d: pipe", s->index);
		bw_super_slot_schedule(s);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		log_warn("worker=%d: fork", s->index);
		close(fds[0]);
		close(fds[1]);
		bw_super_slot_schedule(s);
		return;
	}
	if (pid == 0) {
		close(fds[1]);
		index = s->index;
		restarts = s->restarts;
		bw_super_forget(sup);
		sup->worker_main(sup, index, fds[0], restarts, sup->arg);
		exit(0);
	}
	close(fds[0]);
	s->pid = pid;
	s->pipe_w = fds[1];
	s->started_ms = bw_now_ms();
	log_info("worker=%d pid=%ld started restarts=%llu", s->index,
	    (long)pid, (unsigned long long)s->restarts);
}

static void
bw_super_restart_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bw_super_slot	*s = arg;

	if (s->sup->d->shutting_down || s->pid > 0)
		return;
	bw_super_slot_start(s->sup, s);
}

static void
bw_super_exit_text(int status, char *dst, size_t dstsz)
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
bw_super_sigchld_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct bw_super		*sup = arg;
	struct bw_super_slot	*s;
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
		bw_super_exit_text(status, how, sizeof(how));
		lived = bw_now_ms() - s->started_ms;
		if (sup->d->shutting_down) {
			log_info("worker=%d pid=%ld %s", s->index, (long)pid,
			    how);
			continue;
		}
		if (lived >= BW_SUPER_STABLE_MS || s->backoff_ms == 0)
			s->backoff_ms = BW_SUPER_BACKOFF_MIN_MS;
		else if ((s->backoff_ms *= 2) > BW_SUPER_BACKOFF_MAX_MS)
			s->backoff_ms = BW_SUPER_BACKOFF_MAX_MS;
		s->restarts++;
		sup->total_restarts++;
		log_warnx("worker=%d pid=%ld %s after %llu ms; restart in "
		    "%llu ms restarts=%llu total_restarts=%llu", s->index,
		    (long)pid, how, (unsigned long long)lived,
		    (unsigned long long)s->backoff_ms,
		    (unsigned long long)s->restarts,
		    (unsigned long long)sup->total_restarts);
		bw_super_timer_add(s->restart_ev, s->backoff_ms);
	}
	if (sup->d->shutting_down && bw_super_live(sup) == 0)
		event_base_loopbreak(sup->d->base);
}

void
bw_super_signal_all(struct bw_super *sup, int sig)
{
	int	 i;

	for (i = 0; i < sup->nslots; i++)
		if (sup->slots[i].pid > 0 &&
		    kill(sup->slots[i].pid, sig) == -1 && errno != ESRCH)
			log_warn("worker=%d pid=%ld: cannot pass signal %d on",
			    sup->slots[i].index, (long)sup->slots[i].pid, sig);
}

/*
 * daemon.c's SIGTERM/SIGINT hook (shutting_down is set): pass SIGTERM to
 * the workers; the loop ends when the last one is reaped (or at once when
 * none is alive), SIGKILL after BW_SUPER_STOP_TIMEOUT_MS.
 */
int
bw_super_shutdown(struct bw_daemon *d, int sig, void *arg)
{
	struct bw_super	*sup = arg;
	int		 i;

	log_info("stopping %d workers", bw_super_live(sup));
	for (i = 0; i < sup->nslots; i++)
		evtimer_del(sup->slots[i].restart_ev);
	bw_super_signal_all(sup, SIGTERM);
	if (bw_super_live(sup) == 0)
		return 0;
	bw_super_timer_add(sup->ev_stop, BW_SUPER_STOP_TIMEOUT_MS);
	return 1;
}

/* Workers that ignored SIGTERM for BW_SUPER_STOP_TIMEOUT_MS. */
static void
bw_super_stop_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bw_super	*sup = arg;
	int		 i;

	for (i = 0; i < sup->nslots; i++)
		if (sup->slots[i].pid > 0) {
			log_warnx("worker=%d pid=%ld did not stop in %d ms, "
			    "killing it", i, (long)sup->slots[i].pid,
			    BW_SUPER_STOP_TIMEOUT_MS);
			kill(sup->slots[i].pid, SIGKILL);
		}
}

void
bw_super_start(struct bw_super *sup)
{
	struct bw_daemon	*d = sup->d;
	int			 i;

	if ((sup->slots = calloc(sup->nslots, sizeof(*sup->slots))) == NULL)
		fatal("worker slots");
	for (i = 0; i < sup->nslots; i++) {
		sup->slots[i].sup = sup;
		sup->slots[i].index = i;
		sup->slots[i].pipe_w = -1;
		if ((sup->slots[i].restart_ev = evtimer_new(d->base,
		    bw_super_restart_cb, &sup->slots[i])) == NULL)
			fatalx("evtimer_new failed");
	}
	sup->ev_sigchld = evsignal_new(d->base, SIGCHLD, bw_super_sigchld_cb,
	    sup);
	sup->ev_stop = evtimer_new(d->base, bw_super_stop_timeout_cb, sup);
	if (sup->ev_sigchld == NULL || sup->ev_stop == NULL ||
	    evsignal_add(sup->ev_sigchld, NULL) == -1)
		fatalx("cannot set up signal events");
	d->on_shutdown = bw_super_shutdown;
	d->on_shutdown_arg = sup;

	for (i = 0; i < sup->nslots; i++)
		bw_super_slot_start(sup, &sup->slots[i]);
}

void
bw_super_stop(struct bw_super *sup)
{
	bw_super_free_slots(sup);
	log_info("all workers stopped, restarts=%llu",
	    (unsigned long long)sup->total_restarts);
}
