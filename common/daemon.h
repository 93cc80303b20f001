/*
 * The life cycle every Breakwater daemon shares: the standard command line
 * (-b basedir, -d foreground, -f config, -n check, -v verbose, plus the
 * daemon's own options), loading the config, logging, the runtime
 * directory and pid file, the event base with SIGTERM/SIGINT handling, the
 * dispatch whose return is fatal unless shutting down, and the teardown.
 *
 * A daemon's main() runs, in this order:
 *	bw_daemon_init(&d, "queued");
 *	bw_daemon_args(&d, argc, argv, "r:", opt_cb, arg, usage_text);
 *	bw_daemon_setup(&d);		exits 0 after -n
 *	... open privileged things (may call bw_daemon_events() first) ...
 *	bw_privdrop(...);
 *	bw_daemon_events(&d);		unless already called
 *	... register peers and handlers ...
 *	bw_daemon_run(&d, NULL);	returns only when shutting down
 *	... close peers, listeners, own events ...
 *	bw_daemon_base_free(&d);	optional: runs the deferred frees
 *	... free what those frees still needed ...
 *	bw_daemon_cleanup(&d);
 *
 * Trust: the command line and the config file come from the administrator.
 */
#ifndef BW_DAEMON_H
#define BW_DAEMON_H

#include <limits.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"

/* The options every daemon takes. */
#define BW_DAEMON_OPTSTRING	"b:df:nv"
/* Room for a daemon's own option letters. */
#define BW_DAEMON_OPTS_MAX	32

struct bw_daemon;

/*
 * A daemon-specific option (ch is one of extra_optstring's letters, optarg
 * its argument or NULL): 0 when accepted, -1 for a usage error.
 */
typedef int (*bw_daemon_opt_cb)(int ch, const char *optarg, void *arg);
/*
 * Called from the signal callback after shutting_down is set: 0 to end
 * the loop now, 1 when the daemon ends it itself later (deliverd's
 * supervisor waits for its workers).
 */
typedef int (*bw_daemon_shutdown_cb)(struct bw_daemon *, int sig, void *arg);
/*
 * A reload: make the daemon use nc (oc is still d->cfg).  0 to go on (then
 * d->cfg becomes nc and the daemon's own reference to oc is dropped:
 * whatever still runs under oc must hold a reference of its own), or -1
 * with the reason in err to keep oc.
 */
typedef int (*bw_daemon_reload_cb)(struct bw_daemon *, struct bw_config *nc,
	    struct bw_config *oc, char *err, size_t errsz, void *arg);
/* SIGHUP, for a daemon that cannot read the file itself (smtpd). */
typedef void (*bw_daemon_sighup_cb)(struct bw_daemon *, void *arg);

struct bw_daemon {
	const char		*name;		/* "smtpd": log ident, pid file */
	const char		*conffile;	/* -f; NULL: built-in default */
	const char		*basedir;	/* -b; NULL: production layout */
	int			 foreground;	/* -d: log to stderr */
	int			 verbose;	/* -v: log_debug */
	int			 checkonly;	/* -n: check the config, exit */
	struct bw_config	*cfg;		/* the current one (reload swaps it) */
	char			 piddir[PATH_MAX];	/* runtime_dir/<name> */
	char			 pidfile[PATH_MAX];	/* "" until written */
	char			 chroot[PATH_MAX];	/* "" unless chrooted */
	int			 production;	/* root, no -b: will drop */
	int64_t			 started;	/* bw_time() at setup */
	struct event_base	*base;		/* bw_daemon_events() */
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
	struct event		*ev_sighup;
	int			 shutting_down;	/* set by SIGTERM/SIGINT */
	bw_daemon_shutdown_cb	 on_shutdown;	/* optional */
	void			*on_shutdown_arg;
	bw_daemon_reload_cb	 on_reload;	/* optional */
	bw_daemon_sighup_cb	 on_sighup;	/* optional */
	void			*on_reload_arg;	/* for both */
	uint64_t		 reloads;	/* applied */
	uint64_t		 reload_failures;	/* refused */
};

/* Zero d and name it (the name must outlive d). */
void	 bw_daemon_init(struct bw_daemon *, const char *name);
/*
 * Parse the standard options and extra_optstring's (handed to opt_cb);
 * on a usage error print "usage: " usage_text and exit 2.  usage_text is
 * everything after the program name, e.g. "[-dnv] [-b basedir] [-f config]".
 */
void	 bw_daemon_args(struct bw_daemon *, int argc, char *argv[],
	    const char *extra_optstring, bw_daemon_opt_cb opt_cb, void *arg,
	    const char *usage_text);
/*
 * Load the config (fatal on errors); with -n print "configuration OK" and
 * exit 0.  Then log for real, ignore SIGPIPE, note the start time, create
 * the runtime directory and write runtime_dir/<name>/<name>.pid.  The pid
 * file has a directory of its own because the runtime directory stays
 * root's (it holds the sockets): after the drop the daemon can still
 * remove its pid file, and no daemon can touch another's files.
 */
void	 bw_daemon_setup(struct bw_daemon *);
/*
 * Production: give the pid directory to user, then bw_privdrop() (chroot
 * to chroot_dir if not NULL).  Development mode: bw_privdrop()'s one log
 * line.  Fatal on any failure.
 */
void	 bw_daemon_privdrop(struct bw_daemon *, const char *user,
	    const char *chroot_dir);
/*
 * The event base (bw_event_base_new()) and the SIGTERM/SIGINT events that
 * log "shutting down on signal N", set shutting_down, call on_shutdown and
 * break the loop (a second signal while shutting down is ignored).  Set
 * on_shutdown before.  Fatal on failure.
 */
void	 bw_daemon_events(struct bw_daemon *);
/*
 * Reload the configuration: from fd (not kept) when not -1, else from the
 * file the daemon started with.  The new text is checked whole; on any
 * error, or when on_reload refuses, the running configuration stays and
 * the reason is logged (file:line) and put in res.  0 when applied.
 * SIGHUP calls it with -1, or on_sighup when set.
 */
int	 bw_daemon_reload(struct bw_daemon *, int fd,
	    struct bw_config_reload_result *res);
/* Add config_generation, config_digest and config_reloads to a status. */
void	 bw_daemon_status_add(const struct bw_daemon *, struct bw_status *);
/*
 * Production (not development mode, running as root): admit on our
 * sockets, for each role in roles (BW_ROLE_SMTPD | ...), only the uid of
 * that role's user in the config (bw_peer_role_uid()).  Fatal when a user
 * does not exist.  Development mode: nothing (peer.c admits our uid).
 */
void	 bw_daemon_peer_uids(const struct bw_daemon *, int roles);
/*
 * Log "started pid=N config=PATH" (then " " and extra, if not NULL) and
 * dispatch; returns only when a signal asked for the shutdown, else fatal.
 */
void	 bw_daemon_run(struct bw_daemon *, const char *extra);
/*
 * After the caller closed its peers and events: free the signal events,
 * run the deferred frees (peers closed just now), free the base.  For
 * state those frees may still use (queued's store, dnscached's cache),
 * to be freed after this and before bw_daemon_cleanup().
 */
void	 bw_daemon_base_free(struct bw_daemon *);
/*
 * bw_daemon_base_free() unless done, then remove the pid file, free the
 * config, log "stopped".
 */
void	 bw_daemon_cleanup(struct bw_daemon *);

#endif
