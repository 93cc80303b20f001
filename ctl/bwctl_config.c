/*
 * `bwctl config check [FILE]`: parse a configuration with the daemons' own
 * parser and report every error as "file:line: message".  `bwctl config
 * limits [FILE]`: the limits table as the file resolves it -- each row's
 * top-level value and scopes, and the values each listener and
 * destination block sets (a destination also its gateways and the
 * outbound settings it sets: tls, tls_ca_file, ipv6, mta_sts, with the
 * top-level defaults of those on a line of their own).  Both run locally; controld is not involved.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "ctl_json.h"
#include "bwctl.h"

struct bwctl_errors {
	char	**msgs;
	size_t	 n;
	int	 nomem;
};

static void
bwctl_config_error_cb(const char *msg, void *arg)
{
	struct bwctl_errors	*e = arg;
	char			**nm;

	if (e->nomem)
		return;
	if ((nm = reallocarray(e->msgs, e->n + 1, sizeof(*nm))) == NULL ||
	    (nm[e->n] = strdup(msg)) == NULL) {
		if (nm != NULL)
			e->msgs = nm;
		e->nomem = 1;
		return;
	}
	e->msgs = nm;
	e->n++;
}

/* Print the errors of a file that does not check; the exit status. */
static int
bwctl_config_errors(const char *name, int nerr, struct bwctl_errors *e)
{
	size_t	 i;

	for (i = 0; i < e->n; i++)
		fprintf(stderr, "%s\n", e->msgs[i]);
	fprintf(stderr, "bwctl: %s: %d error%s\n", name, nerr,
	    nerr == 1 ? "" : "s");
	return BWCTL_EXIT_FAIL;
}

static void
bwctl_errors_free(struct bwctl_errors *e)
{
	size_t	 i;

	for (i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
}

/* Outbound settings: all of o, or those in set (a block's own). */
static void
bwctl_dest_opts(struct evbuffer *out, struct ctl_json *j, int json,
    const struct bw_dest_opts *o, unsigned int set)
{
	if (json) {
		if (set & BW_DEST_OPT_TLS)
			ctl_json_str(j, "tls", config_dest_tls_name(o->tls));
		if (set & BW_DEST_OPT_TLS_CA_FILE)
			ctl_json_str(j, "tls_ca_file", o->tls_ca_file);
		if (set & BW_DEST_OPT_IPV6)
			ctl_json_str(j, "ipv6", o->ipv6 ? "yes" : "no");
		if (set & BW_DEST_OPT_MTA_STS)
			ctl_json_str(j, "mta_sts", o->mta_sts ? "yes" : "no");
		return;
	}
	if (set & BW_DEST_OPT_TLS)
		evbuffer_add_printf(out, " tls=%s",
		    config_dest_tls_name(o->tls));
	if (set & BW_DEST_OPT_TLS_CA_FILE)
		evbuffer_add_printf(out, " tls_ca_file=%s",
		    o->tls_ca_file[0] != '\0' ? o->tls_ca_file : "\"\"");
	if (set & BW_DEST_OPT_IPV6)
		evbuffer_add_printf(out, " ipv6=%s", o->ipv6 ? "yes" : "no");
	if (set & BW_DEST_OPT_MTA_STS)
		evbuffer_add_printf(out, " mta_sts=%s",
		    o->mta_sts ? "yes" : "no");
}

#define BWCTL_DEST_OPT_ALL	(BW_DEST_OPT_TLS | BW_DEST_OPT_TLS_CA_FILE | \
	BW_DEST_OPT_IPV6 | BW_DEST_OPT_MTA_STS)

/* The limits one block sets, as text or as a JSON object; for a
 * destination (d not NULL) also its gateways and outbound settings. */
static void
bwctl_limits_block(struct evbuffer *out, struct ctl_json *j, int json,
    const char *kind, const char *name, int line,
    const struct bw_limit_overrides *ov, const struct bw_limit_set *set,
    const struct bw_dest_conf *d)
{
	int	 i;

	if (json) {
		ctl_json_obj_open(j, NULL);
		ctl_json_str(j, "kind", kind);
		ctl_json_str(j, "name", name);
		ctl_json_int(j, "line", line);
		ctl_json_obj_open(j, "limits");
		for (i = 0; i < LIM__COUNT; i++)
			if (ov->line[i] != 0)
				ctl_json_int(j, bw_limit_defs[i].name,
				    set->v[i]);
		ctl_json_obj_close(j);
		if (d != NULL) {
			ctl_json_arr_open(j, "gateways");
			for (i = 0; i < d->ngateways; i++)
				ctl_json_str(j, NULL, d->gateways[i]);
			ctl_json_arr_close(j);
			ctl_json_obj_open(j, "outbound");
			bwctl_dest_opts(out, j, json, &d->opts, d->opts_set);
			ctl_json_obj_close(j);
		}
		ctl_json_obj_close(j);
		return;
	}
	evbuffer_add_printf(out, "%s %s (line %d):", kind, name, line);
	if (d != NULL && d->ngateways > 0) {
		evbuffer_add_printf(out, " gateway=");
		for (i = 0; i < d->ngateways; i++)
			evbuffer_add_printf(out, "%s%s", i > 0 ? "," : "",
			    d->gateways[i]);
	}
	for (i = 0; i < LIM__COUNT; i++)
		if (ov->line[i] != 0)
			evbuffer_add_printf(out, " %s=%lld",
			    bw_limit_defs[i].name, set->v[i]);
	if (d != NULL)
		bwctl_dest_opts(out, j, json, &d->opts, d->opts_set);
	evbuffer_add_printf(out, "\n");
}

int
bwctl_config_limits(const char *path, const char *basedir, int json)
{
	struct bw_config		 cfg;
	struct bwctl_errors		 e = { NULL, 0, 0 };
	struct evbuffer			*out;
	struct ctl_json			 j;
	const struct bw_listener_conf	*l;
	const struct bw_dest_conf	*d;
	const char			*name;
	char				 scopes[BW_SCOPE_NAMES_MAX];
	int				 nerr, i, ret = BWCTL_EXIT_OK;
	unsigned int			 bit;

	name = path != NULL ? path : "built-in default";
	if ((out = evbuffer_new()) == NULL)
		fatalx("out of memory");
	nerr = config_load(&cfg, path, basedir, bwctl_config_error_cb, &e);
	if (nerr < (int)e.n)
		nerr = (int)e.n;
	if (nerr != 0) {
		ret = bwctl_config_errors(name, nerr, &e);
		goto done;
	}
	if (json) {
		ctl_json_init(&j, out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "file", name);
		ctl_json_arr_open(&j, "limits");
		for (i = 0; i < LIM__COUNT; i++) {
			const struct bw_limit_def *def = &bw_limit_defs[i];

			ctl_json_obj_open(&j, NULL);
			ctl_json_str(&j, "name", def->name);
			ctl_json_str(&j, "unit", bw_limit_unit_name(def->unit));
			ctl_json_int(&j, "value", BW_LIMIT(&cfg, i));
			ctl_json_int(&j, "default", def->def);
			ctl_json_arr_open(&j, "scopes");
			for (bit = BW_SCOPE_GLOBAL; bit <= BW_SCOPE_DESTINATION;
			    bit <<= 1)
				if (def->scopes & bit)
					ctl_json_str(&j, NULL,
					    bw_scope_name(bit));
			ctl_json_arr_close(&j);
			ctl_json_obj_close(&j);
		}
		ctl_json_arr_close(&j);
		ctl_json_obj_open(&j, "outbound");
		bwctl_dest_opts(out, &j, json, &cfg.dest_opts,
		    BWCTL_DEST_OPT_ALL);
		ctl_json_obj_close(&j);
		ctl_json_arr_open(&j, "blocks");
	} else {
		evbuffer_add_printf(out, "%-36s %14s %-6s %s\n", "LIMIT",
		    "VALUE", "UNIT", "SCOPES");
		for (i = 0; i < LIM__COUNT; i++) {
			const struct bw_limit_def *def = &bw_limit_defs[i];

			evbuffer_add_printf(out, "%-36s %14lld %-6s %s\n",
			    def->name, BW_LIMIT(&cfg, i),
			    bw_limit_unit_name(def->unit),
			    bw_scope_names(def->scopes, scopes,
			    sizeof(scopes)));
		}
		evbuffer_add_printf(out, "outbound defaults:");
		bwctl_dest_opts(out, &j, json, &cfg.dest_opts,
		    BWCTL_DEST_OPT_ALL);
		evbuffer_add_printf(out, "\n");
	}
	TAILQ_FOREACH(l, &cfg.listeners, entry)
		bwctl_limits_block(out, &j, json, "listener", l->name, l->line,
		    &l->lim_over, &l->limits, NULL);
	TAILQ_FOREACH(d, &cfg.dests, entry)
		bwctl_limits_block(out, &j, json, "destination",
		    d->ndomains > 0 ? d->domains[0] : "", d->line,
		    &d->lim_over, &d->limits, d);
	if (json) {
		ctl_json_arr_close(&j);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
	}
	bwctl_flush(out, STDOUT_FILENO);
done:
	evbuffer_free(out);
	bwctl_errors_free(&e);
	config_free(&cfg);
	return ret;
}

int
bwctl_config_check(const char *path, const char *basedir, int json)
{
	struct bw_config	 cfg;
	struct bwctl_errors	 e = { NULL, 0, 0 };
	struct evbuffer		*out;
	struct ctl_json		 j;
	const char		*name = path ? path : "built-in default";
	size_t			 i;
	int			 nerr;

	if ((out = evbuffer_new()) == NULL)
		fatalx("out of memory");
	nerr = config_load(&cfg, path, basedir, bwctl_config_error_cb, &e);
	/* Errors past what we could record still count. */
	if (nerr < (int)e.n)
		nerr = (int)e.n;
	if (json) {
		ctl_json_init(&j, out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "file", name);
		ctl_json_bool(&j, "ok", nerr == 0);
		ctl_json_int(&j, "error_count", nerr);
		ctl_json_arr_open(&j, "errors");
		for (i = 0; i < e.n; i++)
			ctl_json_str(&j, NULL, e.msgs[i]);
		ctl_json_arr_close(&j);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
	} else if (nerr == 0)
		evbuffer_add_printf(out, "%s: configuration OK\n", name);
	else {
		for (i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msgs[i]);
		fprintf(stderr, "bwctl: %s: %d error%s\n", name, nerr,
		    nerr == 1 ? "" : "s");
	}
	bwctl_flush(out, STDOUT_FILENO);
	evbuffer_free(out);
	for (i = 0; i < e.n; i++)
		free(e.msgs[i]);
	free(e.msgs);
	config_free(&cfg);
	return nerr == 0 ? BWCTL_EXIT_OK : BWCTL_EXIT_FAIL;
}
