/*
 * The configuration parser's entry points: config_load (a file, or the
 * built-in default text), config_parse_text, config_free, and runtime
 * paths.  One grammar (doc/breakwater.conf.5) serves files and the
 * built-in default.  Here: the defaults every setting starts from, and
 * development mode's base directory.  The work is done by the other
 * config_*.c files (config_int.h says which does what).
 *
 * The file is trusted no more than any other input: every line is bounded
 * by BW_CONFIG_LINE_MAX, every list by BW_CONFIG_LIST_MAX, listeners by
 * BW_CONFIG_LISTENERS_MAX (gateways, rules, routes, profiles and servers
 * by their own caps in config.h), and control bytes are refused.  Every
 * error is reported as "file:line: message", parsing goes on to find the
 * next one, and after BW_CONFIG_ERRORS_MAX it stops.
 */
#include "bw_autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "config.h"
#include "config_int.h"

#define CONFIG_BUILTIN_NAME	"built-in default"

/* Production defaults; doc/breakwater.conf.5 lists the same. */
#define CONFIG_DEF_RUNTIME_DIR	"/run/breakwater"
#define CONFIG_DEF_DEBUG_DIR	"/var/log/breakwater/debug"
#define CONFIG_DEF_SPOOL_DIR	"/var/spool/breakwater"
#define CONFIG_DEF_MONITOR_DIR	"/var/lib/breakwater/monitor"
#define CONFIG_DEF_CHROOT_DIR	"/run/breakwater"	/* smtpd reaches the sockets */
#define CONFIG_DEF_ADMIN_GROUP	"bwadmin"

/* Every setting's value before the first line. */
static void
config_defaults(struct bw_config *cfg)
{
	int	 i, refs = cfg->refs;

	memset(cfg, 0, sizeof(*cfg));
	cfg->refs = refs;
	TAILQ_INIT(&cfg->listeners);
	TAILQ_INIT(&cfg->gateways);
	TAILQ_INIT(&cfg->gwrules);
	TAILQ_INIT(&cfg->routes);
	TAILQ_INIT(&cfg->profiles);
	TAILQ_INIT(&cfg->dests);
	TAILQ_INIT(&cfg->policies);
	TAILQ_INIT(&cfg->groups);
	strlcpy(cfg->default_gateway, BW_GATEWAY_DEFAULT,
	    sizeof(cfg->default_gateway));
	strlcpy(cfg->bounce_gateway, BW_GATEWAY_DEFAULT,
	    sizeof(cfg->bounce_gateway));
	strlcpy(cfg->default_profile, BW_PROFILE_DEFAULT,
	    sizeof(cfg->default_profile));
	config_dest_opts_default(&cfg->dest_opts);
	if (gethostname(cfg->hostname, sizeof(cfg->hostname)) == -1)
		cfg->hostname[0] = '\0';
	cfg->hostname[sizeof(cfg->hostname) - 1] = '\0';
	if (cfg->hostname[0] == '\0')
		strlcpy(cfg->hostname, "localhost", sizeof(cfg->hostname));
	strlcpy(cfg->runtime_dir, CONFIG_DEF_RUNTIME_DIR,
	    sizeof(cfg->runtime_dir));
	strlcpy(cfg->spool_dir, CONFIG_DEF_SPOOL_DIR, sizeof(cfg->spool_dir));
	strlcpy(cfg->chroot_dir, CONFIG_DEF_CHROOT_DIR,
	    sizeof(cfg->chroot_dir));
	strlcpy(cfg->debug_dir, CONFIG_DEF_DEBUG_DIR, sizeof(cfg->debug_dir));
	strlcpy(cfg->monitor_dir, CONFIG_DEF_MONITOR_DIR,
	    sizeof(cfg->monitor_dir));
	strlcpy(cfg->admin_group, CONFIG_DEF_ADMIN_GROUP,
	    sizeof(cfg->admin_group));
	strlcpy(cfg->user_smtpd, "_bwsmtpd", sizeof(cfg->user_smtpd));
	strlcpy(cfg->user_queued, "_bwqueue", sizeof(cfg->user_queued));
	strlcpy(cfg->user_deliverd, "_bwdeliver", sizeof(cfg->user_deliverd));
	strlcpy(cfg->user_dnscached, "_bwdns", sizeof(cfg->user_dnscached));
	strlcpy(cfg->user_controld, "_bwctl", sizeof(cfg->user_controld));
	cfg->deliverd_workers = 0;
	cfg->smtpd_workers = 0;
	for (i = 0; i < LIM__COUNT; i++)
		cfg->limits.v[i] = bw_limit_defs[i].def;
	cfg->limits_max = cfg->limits;
	bw_array_init(&cfg->rep_zones, sizeof(struct bw_rep_zone),
	    BW_REP_ZONES_MAX);
}

/* Under basedir: runtime, spool, chroot, debug and monitor dirs, and the
 * monitor's password file unless the file names it; development mode. */
static void
config_basedir_apply(struct config_parser *p, const char *basedir)
{
	struct bw_config	*cfg = p->cfg;

	if (basedir == NULL)
		return;
	if (bw_path(cfg->runtime_dir, sizeof(cfg->runtime_dir), basedir,
	    "run") == -1 ||
	    bw_path(cfg->spool_dir, sizeof(cfg->spool_dir), basedir,
	    "spool") == -1 ||
	    bw_path(cfg->chroot_dir, sizeof(cfg->chroot_dir), basedir,
	    "empty") == -1 ||
	    bw_path(cfg->debug_dir, sizeof(cfg->debug_dir), basedir,
	    "log/debug") == -1 ||
	    bw_path(cfg->monitor_dir, sizeof(cfg->monitor_dir), basedir,
	    "monitor") == -1 ||
	    (cfg->monitor_password_file[0] == '\0' &&
	    bw_path(cfg->monitor_password_file,
	    sizeof(cfg->monitor_password_file), basedir,
	    "etc/monitor.passwd") == -1))
		config_error(p, 0, "base directory too long");
	cfg->dev_mode = 1;
}

/*
 * Parse one source (fp or text; openerr: why it could not be read, the
 * whole message) into cfg.  Returns the number of errors.
 */
static int
config_run(struct bw_config *cfg, const char *name, FILE *fp,
    const char *text, const char *openerr, const char *basedir,
    bw_config_error_cb errcb, void *arg)
{
	struct config_parser	*p;
	struct config_src	 src;
	int			 nerr;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		char	 msg[CONFIG_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s: out of memory", name);
		if (errcb != NULL)
			errcb(msg, arg);
		else
			log_warnx("%s", msg);
		return 1;
	}
	p->cfg = cfg;
	p->name = name;
	p->errcb = errcb;
	p->arg = arg;
	config_builtins_add(p);
	if (openerr != NULL)
		config_error(p, 0, "%s", openerr);
	else {
		memset(&src, 0, sizeof(src));
		src.fp = fp;
		src.text = text;
		config_parse_src(p, &src);
	}
	config_basedir_apply(p, basedir);
	config_monitor_finish(p, basedir);
	config_gateway_helo_fill(cfg);
	/* every set complete even when the file stopped early */
	config_limits_resolve(cfg);
	nerr = p->nerr;
	free(p);
	return nerr;
}

int
config_parse_text(struct bw_config *cfg, const char *name, const char *text,
    const char *basedir, bw_config_error_cb errcb, void *arg)
{
	config_defaults(cfg);
	return config_run(cfg, name != NULL ? name : CONFIG_BUILTIN_NAME,
	    NULL, text != NULL ? text : "", NULL, basedir, errcb, arg);
}

/*
 * The whole file in memory (at most BW_CONFIG_FILE_MAX bytes), so that its
 * digest covers exactly the text parsed.  NULL with *why set.
 */
static char *
config_read_fd(int fd, size_t *lenp, const char **why, char *whybuf,
    size_t whysz)
{
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= BW_CONFIG_FILE_MAX) {
				*why = "cannot read: larger than 16 MiB";
				goto fail;
			}
			cap = cap == 0 ? 64 * 1024 : cap * 2;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				*why = "cannot read: out of memory";
				goto fail;
			}
			buf = nbuf;
		}
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(whybuf, whysz, "read error: %s",
			    strerror(errno));
			*why = whybuf;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	free(buf);
	return NULL;
}

int
config_load_fd(struct bw_config *cfg, int fd, const char *name,
    const char *basedir, bw_config_error_cb errcb, void *arg)
{
	const char	*why = NULL;
	char		*text, whybuf[128];
	size_t		 len = 0;
	FILE		*fp;
	int		 nerr;

	config_defaults(cfg);
	if (strlcpy(cfg->path, name, sizeof(cfg->path)) >= sizeof(cfg->path))
		return config_run(cfg, name, NULL, NULL,
		    "cannot open: File name too long", basedir, errcb, arg);
	if ((text = config_read_fd(fd, &len, &why, whybuf,
	    sizeof(whybuf))) == NULL)
		return config_run(cfg, name, NULL, NULL, why, basedir, errcb,
		    arg);
	cfg->digest = bw_fnv1a(BW_FNV1A_INIT, text, len);
	/* a stream, not a string: a NUL byte is an error on its line */
	if (len == 0)
		nerr = config_run(cfg, name, NULL, "", NULL, basedir, errcb,
		    arg);
	else if ((fp = fmemopen(text, len, "r")) == NULL)
		nerr = config_run(cfg, name, NULL, NULL,
		    "cannot read: out of memory", basedir, errcb, arg);
	else {
		nerr = config_run(cfg, name, fp, NULL, NULL, basedir, errcb,
		    arg);
		fclose(fp);
	}
	free(text);
	return nerr;
}

int
config_load(struct bw_config *cfg, const char *path, const char *basedir,
    bw_config_error_cb errcb, void *arg)
{
	char	 why[128];
	int	 fd, nerr;

	if (path == NULL) {
		nerr = config_parse_text(cfg, CONFIG_BUILTIN_NAME,
		    bw_config_default_text, basedir, errcb, arg);
		cfg->digest = bw_fnv1a(BW_FNV1A_INIT, bw_config_default_text,
		    strlen(bw_config_default_text));
		return nerr;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(why, sizeof(why), "cannot open: %s", strerror(errno));
		config_defaults(cfg);
		strlcpy(cfg->path, path, sizeof(cfg->path));
		return config_run(cfg, path, NULL, NULL, why, basedir, errcb,
		    arg);
	}
	nerr = config_load_fd(cfg, fd, path, basedir, errcb, arg);
	close(fd);
	return nerr;
}

/* Free every list; cfg stays valid (empty lists), so twice is fine. */
void
config_free(struct bw_config *cfg)
{
	struct bw_listener_conf	*l;
	struct bw_gateway_conf	*gw;
	struct bw_gwrule_conf	*r;
	struct bw_route_conf	*rt;
	struct bw_profile_conf	*pr;
	struct bw_dest_conf	*d;

	while ((l = TAILQ_FIRST(&cfg->listeners)) != NULL) {
		TAILQ_REMOVE(&cfg->listeners, l, entry);
		config_listener_free(l);
	}
	TAILQ_INIT(&cfg->listeners);
	while ((gw = TAILQ_FIRST(&cfg->gateways)) != NULL) {
		TAILQ_REMOVE(&cfg->gateways, gw, entry);
		config_gateway_free(gw);
	}
	TAILQ_INIT(&cfg->gateways);
	while ((r = TAILQ_FIRST(&cfg->gwrules)) != NULL) {
		TAILQ_REMOVE(&cfg->gwrules, r, entry);
		free(r);
	}
	TAILQ_INIT(&cfg->gwrules);
	while ((rt = TAILQ_FIRST(&cfg->routes)) != NULL) {
		TAILQ_REMOVE(&cfg->routes, rt, entry);
		free(rt);
	}
	TAILQ_INIT(&cfg->routes);
	while ((pr = TAILQ_FIRST(&cfg->profiles)) != NULL) {
		TAILQ_REMOVE(&cfg->profiles, pr, entry);
		config_profile_free(pr);
	}
	TAILQ_INIT(&cfg->profiles);
	free(cfg->dest_index);
	cfg->dest_index = NULL;
	cfg->ndest_index = 0;
	while ((d = TAILQ_FIRST(&cfg->dests)) != NULL) {
		TAILQ_REMOVE(&cfg->dests, d, entry);
		config_dest_free(d);
	}
	TAILQ_INIT(&cfg->dests);
	{
		struct bw_policy_conf	*po;
		struct bw_group_conf	*g;

		while ((po = TAILQ_FIRST(&cfg->policies)) != NULL) {
			TAILQ_REMOVE(&cfg->policies, po, entry);
			config_policy_free(po);
		}
		TAILQ_INIT(&cfg->policies);
		while ((g = TAILQ_FIRST(&cfg->groups)) != NULL) {
			TAILQ_REMOVE(&cfg->groups, g, entry);
			config_group_free(g);
		}
		TAILQ_INIT(&cfg->groups);
	}
	bw_array_free(&cfg->rep_zones);
}

struct bw_config *
config_new(void)
{
	struct bw_config	*cfg;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return NULL;
	config_defaults(cfg);
	cfg->refs = 1;
	return cfg;
}

struct bw_config *
config_ref(struct bw_config *cfg)
{
	/* sanity checks */
	if (cfg->refs <= 0)
		fatalx("config_ref: configuration already freed");
	cfg->refs++;
	return cfg;
}

void
config_unref(struct bw_config *cfg)
{
	if (cfg == NULL)
		return;
	/* sanity checks */
	if (cfg->refs <= 0)
		fatalx("config_unref: configuration already freed");
	if (--cfg->refs > 0)
		return;
	config_free(cfg);
	free(cfg);
}

int
config_runtime_path(const struct bw_config *cfg, const char *name, char *dst,
    size_t dstsz)
{
	return bw_path(dst, dstsz, cfg->runtime_dir, name);
}
