/*
 * Reloading the configuration in a running daemon: parse the new text
 * whole, refuse it with every error (file:line) if it does not check, and
 * carry over the settings a running process cannot change -- paths, users,
 * the worker count and the limits that sized something at start -- logging
 * each one that differs, so that the administrator learns it needs a
 * restart instead of believing it applied.
 *
 * Trust: the text comes from the administrator's file; it gets exactly the
 * checks of a start-up load.
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "config.h"

/*
 * Limits read once at start to size or start something (a cache, the
 * commit thread, a segment file, a timer); the rest are read at each use
 * and apply to new work at once.  All are global-only rows: a block's set
 * never holds a value of its own for them.
 */
static const enum bw_limit_id config_reload_restart_limits[] = {
	LIM_QUEUE_COMMIT_DELAY,
	LIM_QUEUE_MAX_COMMIT_BATCH,
	LIM_QUEUE_MAX_OPEN_MESSAGES,
	LIM_QUEUE_SEGMENT_SIZE,
	LIM_QUEUE_SEGMENT_SPARES,
	LIM_QUEUE_DB_CACHE,
	LIM_QUEUE_CHECKPOINT_INTERVAL,
	LIM_QUEUE_IDLE_FORGET,
	LIM_DNS_CACHE_MAX_ENTRIES,
	LIM_DNS_CACHE_MAX_BYTES,
	LIM_DNS_TTL_MAX,
	LIM_DNS_NEGATIVE_TTL_MAX,
};

/* Strings of struct bw_config a running process keeps. */
static const struct {
	const char	*name;
	size_t		 off;
	size_t		 size;
} config_reload_restart_strings[] = {
#define KEEP(f)	{ #f, offsetof(struct bw_config, f), \
		  sizeof(((struct bw_config *)0)->f) }
	KEEP(runtime_dir),
	KEEP(spool_dir),
	KEEP(chroot_dir),
	KEEP(debug_dir),
	KEEP(monitor_dir),
	KEEP(admin_group),
	KEEP(user_smtpd),
	KEEP(user_queued),
	KEEP(user_deliverd),
	KEEP(user_dnscached),
	KEEP(user_controld),
	KEEP(monitor_listen),
	KEEP(monitor_tls_cert),
	KEEP(monitor_tls_key),
	KEEP(monitor_client_ca),
#undef KEEP
};

/* Counts that size something at start: the workers forked then (and
 * smtpd's listener sockets, one per worker). */
static const struct {
	const char	*name;
	size_t		 off;
} config_reload_restart_ints[] = {
	{ "deliverd_workers", offsetof(struct bw_config, deliverd_workers) },
	{ "smtpd_workers", offsetof(struct bw_config, smtpd_workers) },
};

int
config_limit_needs_restart(enum bw_limit_id id)
{
	size_t	 i;

	for (i = 0; i < sizeof(config_reload_restart_limits) /
	    sizeof(config_reload_restart_limits[0]); i++)
		if (config_reload_restart_limits[i] == id)
			return 1;
	return 0;
}

static void
config_reload_note(const char *who, const char *name, const char *was,
    const char *now)
{
	log_warnx("%sreload: %s changed (%s -> %s): it takes effect at the "
	    "next restart; keeping %s", who, name, was, now, was);
}

int
config_keep_startup(struct bw_config *nc, const struct bw_config *oc,
    const char *who)
{
	char		 was[32], now[32];
	const char	*o, *n;
	size_t		 i;
	int		 kept = 0;

	for (i = 0; i < sizeof(config_reload_restart_strings) /
	    sizeof(config_reload_restart_strings[0]); i++) {
		o = (const char *)oc + config_reload_restart_strings[i].off;
		n = (char *)nc + config_reload_restart_strings[i].off;
		if (strcmp(o, n) == 0)
			continue;
		config_reload_note(who, config_reload_restart_strings[i].name,
		    o, n);
		memcpy((char *)nc + config_reload_restart_strings[i].off, o,
		    config_reload_restart_strings[i].size);
		kept++;
	}
	for (i = 0; i < sizeof(config_reload_restart_ints) /
	    sizeof(config_reload_restart_ints[0]); i++) {
		const int	*ov = (const int *)(const void *)((const char *)oc +
				    config_reload_restart_ints[i].off);
		int		*nv = (int *)(void *)((char *)nc +
				    config_reload_restart_ints[i].off);

		if (*nv == *ov)
			continue;
		snprintf(was, sizeof(was), "%d", *ov);
		snprintf(now, sizeof(now), "%d", *nv);
		config_reload_note(who, config_reload_restart_ints[i].name, was,
		    now);
		*nv = *ov;
		kept++;
	}
	/* dnscached's upstream queries hold an index into its server list */
	if (nc->ndns_servers != oc->ndns_servers ||
	    memcmp(nc->dns_servers, oc->dns_servers,
	    sizeof(nc->dns_servers)) != 0) {
		snprintf(was, sizeof(was), "%d server%s", oc->ndns_servers,
		    oc->ndns_servers == 1 ? "" : "s");
		snprintf(now, sizeof(now), "%d server%s", nc->ndns_servers,
		    nc->ndns_servers == 1 ? "" : "s");
		config_reload_note(who, "dns_servers", was, now);
		memcpy(nc->dns_servers, oc->dns_servers,
		    sizeof(nc->dns_servers));
		nc->ndns_servers = oc->ndns_servers;
		kept++;
	}
	for (i = 0; i < sizeof(config_reload_restart_limits) /
	    sizeof(config_reload_restart_limits[0]); i++) {
		enum bw_limit_id	 id = config_reload_restart_limits[i];

		if (BW_LIMIT(nc, id) == BW_LIMIT(oc, id))
			continue;
		snprintf(was, sizeof(was), "%lld", BW_LIMIT(oc, id));
		snprintf(now, sizeof(now), "%lld", BW_LIMIT(nc, id));
		config_reload_note(who, bw_limit_defs[id].name, was, now);
		nc->limits.v[id] = oc->limits.v[id];
		kept++;
	}
	/* the blocks' sets hold the global values put back */
	if (kept > 0)
		config_limits_resolve(nc);
	nc->dev_mode = oc->dev_mode;
	/* follow monitor_listen and monitor_tls_cert, kept above */
	nc->monitor_addr = oc->monitor_addr;
	nc->monitor_tls = oc->monitor_tls;
	return kept;
}

/* Each error of the new text: logged, and the first kept for the reply. */
struct config_reload_errors {
	const char	*who;
	char		*first;
	size_t		 firstsz;
	int		 n;
};

static void
config_reload_error_cb(const char *msg, void *arg)
{
	struct config_reload_errors	*e = arg;

	log_warnx("%sreload: %s", e->who, msg);
	if (e->n++ == 0 && e->first != NULL)
		strlcpy(e->first, msg, e->firstsz);
}

struct bw_config *
config_reload_prepare(const struct bw_config *oc, int fd, const char *basedir,
    const char *who, char *err, size_t errsz, int *kept)
{
	struct config_reload_errors	 e;
	struct bw_config		*nc;
	char				 first[BW_CONFIG_LINE_MAX];
	const char			*name;
	int				 nerr, rfd = fd;

	*kept = 0;
	memset(&e, 0, sizeof(e));
	e.who = who != NULL ? who : "";
	e.first = first;
	e.firstsz = sizeof(first);
	first[0] = '\0';
	if ((nc = config_new()) == NULL) {
		snprintf(err, errsz, "out of memory");
		log_warnx("%sreload: out of memory; keeping the running "
		    "configuration", e.who);
		return NULL;
	}
	name = oc->path[0] != '\0' ? oc->path : NULL;
	if (name != NULL && rfd == -1)
		nerr = config_load(nc, name, basedir, config_reload_error_cb,
		    &e);
	else if (name != NULL)
		nerr = config_load_fd(nc, rfd, name, basedir,
		    config_reload_error_cb, &e);
	else	/* built-in: nothing on disk to read */
		nerr = config_load(nc, NULL, basedir, config_reload_error_cb,
		    &e);
	if (nerr != 0) {
		if (nerr == 1)
			snprintf(err, errsz, "%s", first);
		else
			snprintf(err, errsz, "%d errors, first: %s", nerr,
			    first);
		log_warnx("%sreload refused: %d error%s in %s; keeping the "
		    "running configuration (generation %u)", e.who, nerr,
		    nerr == 1 ? "" : "s", name != NULL ? name : "built-in",
		    oc->generation);
		config_unref(nc);
		return NULL;
	}
	*kept = config_keep_startup(nc, oc, e.who);
	nc->generation = oc->generation + 1;
	err[0] = '\0';
	return nc;
}
