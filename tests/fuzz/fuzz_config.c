/*
 * Fuzz target: the configuration parser (common/config*.c).
 *
 * The first input byte chooses how the rest arrives: as a file
 * (config_load_fd() on a memfd, NUL bytes and all, as a reload reads it)
 * or as text (config_parse_text(), up to the first NUL), with or without
 * a development-mode base directory.  The parser must report errors,
 * never crash, and leave a configuration that config_unref() frees whole
 * (LeakSanitizer checks).  Whatever it kept is then looked up as the
 * daemons look it up: gateway for each listener, routes, bounce profiles,
 * the RAT; and a configuration that checks is applied as a reload over
 * the built-in default (config_keep_startup()).
 *
 * Checked beyond "no crash": every error message names the source and
 * fits its buffer, the error count matches the callbacks, the lists stay
 * under their caps, and a configuration without errors has every limit
 * within its row's range and the gateway and profile that always exist;
 * the digest of a file is that of the bytes read.
 */
#include "bw_autoconf.h"

#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "fuzz.h"

#define FUZZ_CONFIG_NAME	"fuzz.conf"
#define FUZZ_CONFIG_BASEDIR	"/nonexistent/bwfuzz"

struct fuzz_errs {
	const char	*name;
	int		 n;
};


static void
fuzz_config_err(const char *msg, void *arg)
{
	struct fuzz_errs	*e = arg;

	FUZZ_CHECK(strncmp(msg, e->name, strlen(e->name)) == 0);
	FUZZ_CHECK(strlen(msg) < PATH_MAX + 1024);
	e->n++;
}

/* What the daemons ask of a loaded configuration. */
static void
fuzz_config_use(const struct bw_config *cfg, int nerr)
{
	const struct bw_listener_conf	*l;
	const struct bw_route_conf	*rt;
	const struct bw_profile_conf	*pr;
	const struct bw_gateway_conf	*gw;
	int				 i, n;

	n = 0;
	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		FUZZ_CHECK(memchr(l->name, '\0', sizeof(l->name)) != NULL);
		(void)config_gateway_for(cfg, l->name, "user@example.org");
		(void)config_gateway_for(cfg, l->name, "");
		(void)config_listener_accepts(l, "example.org");
		(void)config_listener_accepts(l, "a.b.example.org.");
		for (i = 0; i < l->naccept_domains; i++)
			FUZZ_CHECK(config_listener_accepts(l,
			    l->accept_domains[i]) ||
			    l->accept_domains[i][0] == '*');
		n++;
	}
	FUZZ_CHECK(n <= BW_CONFIG_LISTENERS_MAX);
	TAILQ_FOREACH(rt, &cfg->routes, entry) {
		FUZZ_CHECK(rt->nhosts >= 0 && rt->nhosts <= BW_ROUTE_HOSTS_MAX);
		(void)config_route_find(cfg, rt->domain);
	}
	(void)config_route_find(cfg, "example.org");
	TAILQ_FOREACH(pr, &cfg->profiles, entry) {
		for (i = 0; i < pr->ndomains; i++)
			FUZZ_CHECK(config_profile_for(cfg,
			    pr->domains[i]) != NULL);
	}
	TAILQ_FOREACH(gw, &cfg->gateways, entry)
		FUZZ_CHECK(gw->nsources >= 0 &&
		    gw->nsources <= BW_GATEWAY_SOURCES_MAX);
	FUZZ_CHECK(cfg->ndns_servers >= 0 &&
	    cfg->ndns_servers <= BW_DNS_SERVERS_MAX);
	if (nerr != 0)
		return;
	for (i = 0; i < LIM__COUNT; i++)
		FUZZ_CHECK(cfg->limits.v[i] >= bw_limit_defs[i].min &&
		    cfg->limits.v[i] <= bw_limit_defs[i].max &&
		    cfg->limits_max.v[i] >= cfg->limits.v[i]);
	TAILQ_FOREACH(l, &cfg->listeners, entry)
		for (i = 0; i < LIM__COUNT; i++)
			FUZZ_CHECK(l->limits.v[i] >= bw_limit_defs[i].min &&
			    l->limits.v[i] <= cfg->limits_max.v[i]);
	FUZZ_CHECK(config_limits_for_destination(cfg, NULL, "a.example.org")
	    !=
	    NULL);
	FUZZ_CHECK(config_gateway_find(cfg, cfg->default_gateway) != NULL);
	FUZZ_CHECK(config_gateway_find(cfg, cfg->bounce_gateway) != NULL);
	FUZZ_CHECK(config_profile_for(cfg, "example.org") != NULL);
	FUZZ_CHECK(config_gateway_for(cfg, "nosuchlistener",
	    "user@example.org") != NULL);
}

/* The input as a file: a memfd, read from its start by config_load_fd(). */
static int
fuzz_config_file(const uint8_t *p, size_t n)
{
	int	 fd;
	ssize_t	 w;

	if ((fd = memfd_create("fuzz.conf", MFD_CLOEXEC)) == -1)
		abort();
	while (n > 0) {
		if ((w = write(fd, p, n)) <= 0)
			abort();
		p += w;
		n -= (size_t)w;
	}
	return fd;
}

/* A reload to this configuration from the built-in one. */
static void
fuzz_config_reload(struct bw_config *nc)
{
	struct bw_config	*oc;

	if ((oc = config_new()) == NULL)
		abort();
	FUZZ_CHECK(config_load(oc, NULL, NULL, NULL, NULL) == 0);
	(void)config_keep_startup(nc, oc, "");
	FUZZ_CHECK(strcmp(nc->spool_dir, oc->spool_dir) == 0);
	FUZZ_CHECK(nc->ndns_servers == oc->ndns_servers);
	config_unref(oc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct bw_config	*cfg;
	struct fuzz_errs	 errs = { FUZZ_CONFIG_NAME, 0 };
	const char		*basedir;
	char			*text;
	uint8_t			 mode;
	int			 fd, nerr;

	if (size > FUZZ_INPUT_MAX)
		in.n = FUZZ_INPUT_MAX;
	log_set_discard(1);
	mode = fuzz_u8(&in);
	basedir = (mode & 2) ? FUZZ_CONFIG_BASEDIR : NULL;
	if ((cfg = config_new()) == NULL)
		abort();
	if (mode & 1) {
		/* a file: NUL bytes included */
		fd = fuzz_config_file(in.p, in.n);
		nerr = config_load_fd(cfg, fd, FUZZ_CONFIG_NAME, basedir,
		    fuzz_config_err, &errs);
		close(fd);
		FUZZ_CHECK(cfg->digest == bw_fnv1a(BW_FNV1A_INIT, in.p, in.n));
	} else {
		if ((text = malloc(in.n + 1)) == NULL)
			abort();
		memcpy(text, in.p, in.n);
		text[in.n] = '\0';
		nerr = config_parse_text(cfg, FUZZ_CONFIG_NAME, text, basedir,
		    fuzz_config_err, &errs);
		free(text);
	}
	FUZZ_CHECK(nerr == errs.n);
	FUZZ_CHECK(nerr <= BW_CONFIG_ERRORS_MAX + 1);
	fuzz_config_use(cfg, nerr);
	if (nerr == 0)
		fuzz_config_reload(cfg);
	config_unref(cfg);
	return 0;
}
