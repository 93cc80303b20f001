/*
 * The life cycle every daemon shares (see daemon.h): command line, config,
 * logging, runtime directory, pid file, signals, dispatch and teardown.
 *
 * Trust: the command line and the config come from the administrator; a
 * bad option is a usage error (exit 2), a bad config is fatal.
 */
#include "bw_autoconf.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "privdrop.h"
#include "status_link.h"
#include "util.h"
#include "daemon.h"

#define BW_DAEMON_USAGE_DEFAULT	"[-dnv] [-b basedir] [-f config]"

/* Zero d and name it. */
void
bw_daemon_init(struct bw_daemon *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
}

static void __attribute__((noreturn))
bw_daemon_usage(const struct bw_daemon *d, const char *usage_text)
{
	fprintf(stderr, "usage: %s %s\n", d->name,
	    usage_text != NULL ? usage_text : BW_DAEMON_USAGE_DEFAULT);
	exit(2);
}

/* The standard options, then the daemon's own through opt_cb. */
void
bw_daemon_args(struct bw_daemon *d, int argc, char *argv[],
    const char *extra_optstring, bw_daemon_opt_cb opt_cb, void *arg,
    const char *usage_text)
{
	char	 optstring[sizeof(BW_DAEMON_OPTSTRING) + BW_DAEMON_OPTS_MAX];
	int	 ch;

	/* sanity checks */
	if (extra_optstring == NULL)
		extra_optstring = "";
	if (*extra_optstring != '\0' && opt_cb == NULL)
		fatalx("%s: options %s without a handler", d->name,
		    extra_optstring);
	if (strlcpy(optstring, BW_DAEMON_OPTSTRING, sizeof(optstring)) >=
	    sizeof(optstring) || strlcat(optstring, extra_optstring,
	    sizeof(optstring)) >= sizeof(optstring))
		fatalx("%s: option string too long", d->name);

	while ((ch = getopt(argc, argv, optstring)) != -1) {
		switch (ch) {
		case 'b':
			d->basedir = optarg;
			break;
		case 'd':
			d->foreground = 1;
			break;
		case 'f':
			d->conffile = optarg;
			break;
		case 'n':
			d->checkonly = 1;
			break;
		case 'v':
			d->verbose = 1;
			break;
		case '?':
		case ':':
			bw_daemon_usage(d, usage_text);
		default:
			if (opt_cb == NULL || opt_cb(ch, optarg, arg) == -1)
				bw_daemon_usage(d, usage_text);
			break;
		}
	}
	if (optind != argc)
		bw_daemon_usage(d, usage_text);
}

/* Config, -n, logging, SIGPIPE, runtime directory, pid file. */
void
bw_daemon_setup(struct bw_daemon *d)
{
	char	 name[BW_NAME_MAX + sizeof(".pid")];
	int	 n;

	log_init(d->name, 1);
	log_set_verbose(d->verbose);
	if ((d->cfg = config_new()) == NULL)
		fatal("configuration");
	if (config_load(d->cfg, d->conffile, d->basedir, NULL, NULL) != 0)
		fatalx("%s: configuration has errors",
		    d->conffile ? d->conffile : "built-in default");
	d->cfg->generation = 1;
	if (d->checkonly) {
		fprintf(stderr, "configuration OK\n");
		config_unref(d->cfg);
		exit(0);
	}
	log_init(d->name, d->foreground);
	signal(SIGPIPE, SIG_IGN);
	d->started = bw_time();

	d->production = !d->cfg->dev_mode && geteuid() == 0;

	if (bw_mkdirs(d->cfg->runtime_dir, 0755) == -1)
		fatal("runtime directory %s", d->cfg->runtime_dir);
	if (config_runtime_path(d->cfg, d->name, d->piddir,
	    sizeof(d->piddir)) == -1)
		fatalx("%s: runtime directory name too long", d->name);
	if (bw_mkdirs(d->piddir, 0755) == -1)
		fatal("pid directory %s", d->piddir);
	n = snprintf(name, sizeof(name), "%s.pid", d->name);
	if (n < 0 || (size_t)n >= sizeof(name))
		fatalx("%s: name too long for a pid file", d->name);
	if (bw_path(d->pidfile, sizeof(d->pidfile), d->piddir, name) == -1 ||
	    bw_pidfile_write(d->pidfile) == -1)
		fatal("pid file %s/%s", d->piddir, name);
}

void
bw_daemon_privdrop(struct bw_daemon *d, const char *user,
    const char *chroot_dir)
{
	struct bw_user	 u;
	size_t		 n;

	if (d->production) {
		if (bw_user_lookup(user, &u) == -1)
			fatalx("privdrop: unknown user %s", user);
		if (chown(d->piddir, u.uid, u.gid) == -1 ||
		    chown(d->pidfile, u.uid, u.gid) == -1)
			fatal("pid directory %s for %s", d->piddir, user);
		if (chroot_dir != NULL) {
			/* the pid file's path as seen inside the chroot */
			n = strlen(chroot_dir);
			while (n > 1 && chroot_dir[n - 1] == '/')
				n--;
			if (strncmp(d->pidfile, chroot_dir, n) != 0 ||
			    d->pidfile[n] != '/')
				fatalx("pid file %s is outside chroot_dir %s",
				    d->pidfile, chroot_dir);
			memmove(d->pidfile, d->pidfile + (n == 1 ? 0 : n),
			    strlen(d->pidfile + (n == 1 ? 0 : n)) + 1);
			strlcpy(d->chroot, chroot_dir, sizeof(d->chroot));
		}
	}
	bw_privdrop(user, chroot_dir, !d->production);
}

/* SIGTERM, SIGINT: clean shutdown, exit status 0. */
static void
bw_daemon_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct bw_daemon	*d = arg;

	if (d->shutting_down)
		return;
	log_info("shutting down on signal %d", (int)sig);
	d->shutting_down = 1;
	if (d->on_shutdown != NULL &&
	    d->on_shutdown(d, (int)sig, d->on_shutdown_arg) != 0)
		return;
	event_base_loopbreak(d->base);
}

int
bw_daemon_reload(struct bw_daemon *d, int fd,
    struct bw_config_reload_result *res)
{
	struct bw_config	*oc = d->cfg, *nc;
	int			 kept;

	memset(res, 0, sizeof(*res));
	nc = config_reload_prepare(oc, fd, d->basedir, "", res->text,
	    sizeof(res->text), &kept);
	if (nc != NULL && d->on_reload != NULL && d->on_reload(d, nc, oc,
	    res->text, sizeof(res->text), d->on_reload_arg) == -1) {
		log_warnx("reload refused: %s; keeping the running "
		    "configuration (generation %u)", res->text,
		    oc->generation);
		config_unref(nc);
		nc = NULL;
	}
	if (nc == NULL) {
		d->reload_failures++;
		res->generation = oc->generation;
		res->digest = oc->digest;
		return -1;
	}
	d->cfg = nc;
	config_unref(oc);
	d->reloads++;
	res->ok = 1;
	res->generation = nc->generation;
	res->digest = nc->digest;
	res->kept = (uint32_t)kept;
	if (kept > 0)
		snprintf(res->text, sizeof(res->text), "%d setting%s need%s a "
		    "restart (see the log)", kept, kept == 1 ? "" : "s",
		    kept == 1 ? "s" : "");
	log_info("reload: configuration applied generation=%u digest=%08x "
	    "kept_until_restart=%d", nc->generation, nc->digest, kept);
	return 0;
}

void
bw_daemon_status_add(const struct bw_daemon *d, struct bw_status *st)
{
	bw_status_add(st, "config_generation", d->cfg->generation);
	bw_status_add(st, "config_digest", d->cfg->digest);
	bw_status_add(st, "config_reload_failures", d->reload_failures);
}

/* SIGHUP: reload, from the file or through the daemon's own way. */
static void
bw_daemon_signal_hup_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct bw_daemon		*d = arg;
	struct bw_config_reload_result	 res;

	if (d->shutting_down)
		return;
	log_info("reloading the configuration on signal %d", (int)sig);
	if (d->on_sighup != NULL)
		d->on_sighup(d, d->on_reload_arg);
	else
		(void)bw_daemon_reload(d, -1, &res);
}

/* The event base and the signal events. */
void
bw_daemon_events(struct bw_daemon *d)
{
	if (d->base != NULL)
		fatalx("%s: event base set up twice", d->name);
	if ((d->base = bw_event_base_new()) == NULL)
		fatalx("event_base_new failed");
	d->ev_sigterm = evsignal_new(d->base, SIGTERM, bw_daemon_signal_cb, d);
	d->ev_sigint = evsignal_new(d->base, SIGINT, bw_daemon_signal_cb, d);
	d->ev_sighup = evsignal_new(d->base, SIGHUP, bw_daemon_signal_hup_cb, d);
	if (d->ev_sigterm == NULL || d->ev_sigint == NULL ||
	    d->ev_sighup == NULL ||
	    evsignal_add(d->ev_sigterm, NULL) == -1 ||
	    evsignal_add(d->ev_sigint, NULL) == -1 ||
	    evsignal_add(d->ev_sighup, NULL) == -1)
		fatalx("cannot set up signal events");
}

/* The uid each peer role must connect from (production). */
void
bw_daemon_peer_uids(const struct bw_daemon *d, int roles)
{
	static const struct {
		int		 role;
		size_t		 off;
	} users[] = {
		{ BW_ROLE_SMTPD, offsetof(struct bw_config, user_smtpd) },
		{ BW_ROLE_QUEUED, offsetof(struct bw_config, user_queued) },
		{ BW_ROLE_DELIVERD, offsetof(struct bw_config, user_deliverd) },
		{ BW_ROLE_DNSCACHED, offsetof(struct bw_config, user_dnscached) },
		{ BW_ROLE_CONTROLD, offsetof(struct bw_config, user_controld) },
	};
	struct bw_user	 u;
	const char	*name;
	size_t		 i;

	if (d->cfg->dev_mode || geteuid() != 0)
		return;
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if ((roles & users[i].role) == 0)
			continue;
		name = (const char *)d->cfg + users[i].off;
		if (bw_user_lookup(name, &u) == -1)
			fatalx("unknown user %s for %s", name,
			    bw_role_name(users[i].role));
		bw_peer_role_uid(users[i].role, u.uid);
	}
}

/* Dispatch until a signal asks for the shutdown. */
void
bw_daemon_run(struct bw_daemon *d, const char *extra)
{
	int	 ret;

	if (d->base == NULL)
		fatalx("%s: no event base", d->name);
	log_info("started pid=%ld config=%s%s%s", (long)getpid(),
	    d->cfg != NULL && d->cfg->path[0] ? d->cfg->path : "built-in",
	    extra != NULL ? " " : "", extra != NULL ? extra : "");
	ret = event_base_dispatch(d->base);
	if (ret == -1 || !d->shutting_down)
		fatalx("event loop ended unexpectedly (ret=%d)", ret);
}

/* Signal events, the deferred frees, the base. */
void
bw_daemon_base_free(struct bw_daemon *d)
{
	if (d->ev_sigterm != NULL)
		event_free(d->ev_sigterm);
	if (d->ev_sigint != NULL)
		event_free(d->ev_sigint);
	if (d->ev_sighup != NULL)
		event_free(d->ev_sighup);
	d->ev_sigterm = d->ev_sigint = d->ev_sighup = NULL;
	if (d->base != NULL) {
		/* Run the deferred frees of the peers just closed. */
		event_base_loop(d->base, EVLOOP_NONBLOCK);
		event_base_free(d->base);
		d->base = NULL;
	}
}

/* The base if still there, pid file, config. */
void
bw_daemon_cleanup(struct bw_daemon *d)
{
	bw_daemon_base_free(d);
	if (d->pidfile[0] != '\0')
		bw_pidfile_remove(d->pidfile);
	d->pidfile[0] = '\0';
	config_unref(d->cfg);
	d->cfg = NULL;
	log_info("stopped");
}
