/*
 * Statements: the first token of a line selects one.  Top level: global
 * settings, limits (the table in config_limits.c), gateway rules, routes,
 * dns_servers, and the blocks "listener NAME {", "gateway NAME {",
 * "bounce_profile NAME {" and "destination DOMAIN ... {" (the header on
 * one line, one statement per line, "}" alone).  Here: the global
 * keywords, opening, closing and skipping blocks, and the loop over the
 * lines of a source; what a block holds is parsed in config_listener.c,
 * config_delivery.c and config_destination.c.
 *
 * Input is untrusted: a bad block header still opens a block (dropped at
 * its "}") so that its body is not read as global statements, a stray
 * "{" skips to its "}", and a block left open is reported, not guessed.
 */
#include "bw_autoconf.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "config.h"
#include "config_int.h"

#define CONFIG_WORKERS_MAX	256	/* deliverd_workers, smtpd_workers */

static const char *const config_block_names[] = {
	"", "listener", "gateway", "bounce_profile", "destination", "policy",
	"sender_group"
};

/*
 * Global statements.
 */

enum config_kind {
	KIND_DOMAIN,		/* host name */
	KIND_PATH,		/* absolute path */
	KIND_GROUP,		/* group name, "" = none */
};

struct config_str_kw {
	const char		*kw;
	size_t			 off;
	size_t			 size;
	enum config_kind	 kind;
};

#define STR_KW(kw, field, kind) \
	{ kw, offsetof(struct bw_config, field), \
	  sizeof(((struct bw_config *)NULL)->field), kind }

static const struct config_str_kw config_str_kws[] = {
	STR_KW("hostname", hostname, KIND_DOMAIN),
	STR_KW("runtime_dir", runtime_dir, KIND_PATH),
	STR_KW("spool_dir", spool_dir, KIND_PATH),
	STR_KW("chroot_dir", chroot_dir, KIND_PATH),
	STR_KW("debug_dir", debug_dir, KIND_PATH),
	STR_KW("monitor_dir", monitor_dir, KIND_PATH),
	STR_KW("tls_cert", tls_cert, KIND_PATH),
	STR_KW("tls_key", tls_key, KIND_PATH),
	STR_KW("admin_group", admin_group, KIND_GROUP),
	STR_KW("monitor_tls_cert", monitor_tls_cert, KIND_PATH),
	STR_KW("monitor_tls_key", monitor_tls_key, KIND_PATH),
	STR_KW("monitor_client_ca", monitor_client_ca, KIND_PATH),
	STR_KW("monitor_password_file", monitor_password_file, KIND_PATH),
	{ NULL, 0, 0, 0 }
};

#define USER_KW(role, field) \
	{ role, offsetof(struct bw_config, field), \
	  sizeof(((struct bw_config *)NULL)->field), KIND_GROUP }

static const struct config_str_kw config_user_roles[] = {
	USER_KW("smtpd", user_smtpd),
	USER_KW("queued", user_queued),
	USER_KW("deliverd", user_deliverd),
	USER_KW("dnscached", user_dnscached),
	USER_KW("controld", user_controld),
	{ NULL, 0, 0, 0 }
};

/* Keywords that belong inside a block, for a better message. */
struct config_block_kw {
	const char		*kw;
	enum config_block	 block;
};

static const struct config_block_kw config_block_kws[] = {
	{ "address", BLK_LISTENER },
	{ "port", BLK_LISTENER },
	{ "type", BLK_LISTENER },
	{ "tls", BLK_LISTENER },
	{ "tls_required", BLK_LISTENER },
	{ "greeting_delay", BLK_LISTENER },
	{ "allow_untrusted_routing", BLK_LISTENER },
	{ "accept_domains", BLK_LISTENER },
	{ "relay_networks", BLK_LISTENER },
	{ "reverse_dns", BLK_LISTENER },
	{ "reputation", BLK_LISTENER },
	{ "sender_groups", BLK_LISTENER },
	{ "default_policy", BLK_LISTENER },
	{ "accept_recipients", BLK_LISTENER },
	{ "behaviour", BLK_POLICY },
	{ "scan", BLK_POLICY },
	{ "shed_under_pressure", BLK_POLICY },
	{ "network", BLK_GROUP },
	{ "rdns_name", BLK_GROUP },
	{ "rdns", BLK_GROUP },
	{ "score", BLK_GROUP },
	{ "proxy_protocol", BLK_LISTENER },
	{ "proxy_from", BLK_LISTENER },
	{ "helo", BLK_GATEWAY },
	{ "source", BLK_GATEWAY },
	{ "retry_initial", BLK_PROFILE },
	{ "retry_max", BLK_PROFILE },
	{ "max_age", BLK_PROFILE },
	{ "delay_warning", BLK_PROFILE },
	{ "max_retries", BLK_PROFILE },
	{ "domains", BLK_PROFILE },
	{ NULL, BLK_NONE }
};

/* Top-level statements other than limits and config_str_kws. */
static const char *const config_global_kws[] = {
	"user", "deliverd_workers", "smtpd_workers", "gateway_rule", "default_gateway",
	"bounce_gateway", "default_bounce_profile", "route", "dns_servers",
	"reputation_zone", "dns_list", "tls", "tls_ca_file", "ipv6",
	"mta_sts",
	"dns_upstream_validates",
	"alert_mail_to", "alert_mail_from",
	"monitor_listen",
	NULL
};

/* The block that "KEYWORD NAME {" opens, or BLK_NONE. */
static enum config_block
config_block_of(const char *k)
{
	int	 b;

	for (b = BLK_LISTENER; b <= BLK_GROUP; b++)
		if (strcmp(k, config_block_names[b]) == 0)
			return (enum config_block)b;
	return BLK_NONE;
}

/* 1 if k is a top-level setting (for "not valid inside" messages). */
int
config_is_global(const char *k)
{
	const struct config_str_kw	*kw;
	const char			*const *g;

	if (bw_limit_find(k) != NULL)
		return 1;
	for (kw = config_str_kws; kw->kw != NULL; kw++)
		if (strcmp(kw->kw, k) == 0)
			return 1;
	for (g = config_global_kws; *g != NULL; g++)
		if (strcmp(*g, k) == 0)
			return 1;
	return 0;
}

/* hostname, runtime_dir... (config_str_kws) VALUE. */
static void
config_str_set(struct config_parser *p, const struct config_str_kw *kw)
{
	char		*dst = (char *)p->cfg + kw->off;
	const char	*v;
	char		 e[CONFIG_ESC_MAX];

	if (config_args(p, 1) == -1)
		return;
	v = p->tok[1].s;
	switch (kw->kind) {
	case KIND_DOMAIN:
		if (!config_domain_valid(v)) {
			config_error(p, p->line, "%s: bad host name \"%s\"",
			    kw->kw, config_esc(e, sizeof(e), v));
			return;
		}
		bw_lowercase(dst, v, kw->size);
		break;
	case KIND_PATH:
		config_path(p, v, dst, kw->size);
		break;
	case KIND_GROUP:
		if (v[0] != '\0' && !config_name_valid(v, kw->size)) {
			config_error(p, p->line, "%s: bad group name \"%s\"",
			    kw->kw, config_esc(e, sizeof(e), v));
			return;
		}
		strlcpy(dst, v, kw->size);
		break;
	}
}

/* "user ROLE NAME". */
static void
config_user_set(struct config_parser *p)
{
	const struct config_str_kw	*r;
	char				 e[CONFIG_ESC_MAX];

	if (config_args(p, 2) == -1)
		return;
	for (r = config_user_roles; r->kw != NULL; r++)
		if (strcmp(r->kw, p->tok[1].s) == 0)
			break;
	if (r->kw == NULL) {
		config_error(p, p->line, "user: unknown role \"%s\" (smtpd, "
		    "queued, deliverd, dnscached or controld)",
		    config_esc(e, sizeof(e), p->tok[1].s));
		return;
	}
	if (!config_name_valid(p->tok[2].s, r->size)) {
		config_error(p, p->line, "user %s: bad user name \"%s\"",
		    r->kw, config_esc(e, sizeof(e), p->tok[2].s));
		return;
	}
	strlcpy((char *)p->cfg + r->off, p->tok[2].s, r->size);
}

/*
 * "dns_upstream_validates yes|no": whether dnscached believes the AD bit
 * of its upstream resolvers (DANE needs DNSSEC-validated answers; we do
 * not validate ourselves).
 */
static void
config_dns_validates_set(struct config_parser *p)
{
	char	 e[CONFIG_ESC_MAX];
	int	 yn;

	if (config_args(p, 1) == -1)
		return;
	if ((yn = config_yesno(p->tok[1].s)) == -1)
		config_error(p, p->line, "dns_upstream_validates: expected yes "
		    "or no, not \"%s\"", config_esc(e, sizeof(e),
		    p->tok[1].s));
	else
		p->cfg->dns_upstream_validates = yn;
}

/* A statement outside any block. */
static void
config_global_stmt(struct config_parser *p)
{
	const struct config_str_kw	*kw;
	const struct bw_limit_def	*def;
	const struct config_block_kw	*bk;
	const char			*k = p->tok[0].s;
	char				 e[CONFIG_ESC_MAX];
	struct bw_config		*cfg = p->cfg;

	switch (config_block_of(k)) {
	case BLK_LISTENER:
		config_listener_open(p);
		return;
	case BLK_GATEWAY:
		config_gateway_open(p);
		return;
	case BLK_PROFILE:
		config_profile_open(p);
		return;
	case BLK_DESTINATION:
		config_dest_open(p);
		return;
	case BLK_POLICY:
		config_policy_open(p);
		return;
	case BLK_GROUP:
		config_group_open(p);
		return;
	case BLK_NONE:
		break;
	}
	for (kw = config_str_kws; kw->kw != NULL; kw++)
		if (strcmp(kw->kw, k) == 0) {
			config_str_set(p, kw);
			return;
		}
	if (strcmp(k, "user") == 0) {
		config_user_set(p);
		return;
	}
	if (strcmp(k, "deliverd_workers") == 0 ||
	    strcmp(k, "smtpd_workers") == 0) {
		if (config_args(p, 1) == 0)
			config_int(p, p->tok[1].s, 0, CONFIG_WORKERS_MAX,
			    k[0] == 'd' ? &p->cfg->deliverd_workers :
			    &p->cfg->smtpd_workers);
		return;
	}
	if (strcmp(k, "gateway_rule") == 0) {
		config_gwrule_add(p);
		return;
	}
	if (strcmp(k, "default_gateway") == 0) {
		config_ref_set(p, cfg->default_gateway,
		    sizeof(cfg->default_gateway), &p->default_gateway_line);
		return;
	}
	if (strcmp(k, "bounce_gateway") == 0) {
		config_ref_set(p, cfg->bounce_gateway,
		    sizeof(cfg->bounce_gateway), &p->bounce_gateway_line);
		return;
	}
	if (strcmp(k, "default_bounce_profile") == 0) {
		config_ref_set(p, cfg->default_profile,
		    sizeof(cfg->default_profile), &p->default_profile_line);
		return;
	}
	if (strcmp(k, "route") == 0) {
		config_route_add(p);
		return;
	}
	if (strcmp(k, "dns_servers") == 0) {
		config_dns_servers_add(p);
		return;
	}
	if (strcmp(k, "dns_upstream_validates") == 0) {
		config_dns_validates_set(p);
		return;
	}
	if (config_alert_stmt(p))
		return;
	if (strcmp(k, "monitor_listen") == 0) {
		config_monitor_listen_set(p);
		return;
	}
	if (strcmp(k, "reputation_zone") == 0 || strcmp(k, "dns_list") == 0) {
		config_rep_stmt(p);
		return;
	}
	/* tls, tls_ca_file, ipv6, mta_sts: every destination's default */
	if (config_dest_opt_stmt(p, &cfg->dest_opts, NULL))
		return;
	if ((def = bw_limit_find(k)) != NULL) {
		if (config_args(p, 1) == 0 &&
		    config_limit_value(p, def->name, def, p->tok[1].s,
		    &p->cfg->limits.v[def->id]) == 0)
			p->limit_line[def->id] = p->line;
		return;
	}
	for (bk = config_block_kws; bk->kw != NULL; bk++)
		if (strcmp(bk->kw, k) == 0) {
			config_error(p, p->line, "%s: only valid inside a "
			    "%s block", k, config_block_names[bk->block]);
			return;
		}
	config_error(p, p->line, "unknown keyword \"%s\"",
	    config_esc(e, sizeof(e), k));
}

/*
 * Blocks.
 */

/*
 * Check a block header "KEYWORD NAME {".  Returns -1 when there is no
 * brace (no block opens), 0 when a block opens but is to be dropped (bad
 * header, reported), 1 when it is good.
 */
int
config_block_header(struct config_parser *p, size_t namesz)
{
	const char	*k = p->tok[0].s;
	const char	*name = p->ntok > 1 ? p->tok[1].s : "";
	char		 e[CONFIG_ESC_MAX];

	if (!config_tok_is(&p->tok[p->ntok - 1], "{")) {
		config_error(p, p->line, "%s: expected \"%s NAME {\"", k, k);
		return -1;
	}
	if (p->ntok != 3 || config_tok_is(&p->tok[1], "{")) {
		config_error(p, p->line, "%s: expected \"%s NAME {\"", k, k);
		return 0;
	}
	if (!config_name_valid(name, namesz)) {
		config_error(p, p->line, "%s: bad name \"%s\" (letters, "
		    "digits, '_', '.', '-'; at most %zu)", k,
		    config_esc(e, sizeof(e), name), namesz - 1);
		return 0;
	}
	return 1;
}

/* A printable name for a block: itself when kept, escaped when dropped. */
void
config_block_name(struct config_parser *p, int keep, char *dst, size_t dstsz)
{
	const char	*name = p->ntok > 1 ? p->tok[1].s : "";

	if (keep)
		strlcpy(dst, name, dstsz);
	else
		config_esc(dst, dstsz, name);
}

/* The open block's name and line, for messages. */
static const char *
config_block_cur(struct config_parser *p, int *line)
{
	switch (p->block) {
	case BLK_LISTENER:
		*line = p->cur->line;
		return p->cur->name;
	case BLK_GATEWAY:
		*line = p->gw->line;
		return p->gw->name;
	case BLK_PROFILE:
		*line = p->prof->line;
		return p->prof->name;
	case BLK_DESTINATION:
		*line = p->dest->line;
		return config_dest_name(p->dest);
	case BLK_POLICY:
		*line = p->policy->line;
		return p->policy->name;
	case BLK_GROUP:
		*line = p->group->line;
		return p->group->name;
	case BLK_NONE:
		break;
	}
	*line = 0;
	return "";
}

/* "}" (or the end of the file): check the open block as a whole. */
static void
config_block_close(struct config_parser *p)
{
	switch (p->block) {
	case BLK_LISTENER:
		config_listener_close(p);
		break;
	case BLK_GATEWAY:
		config_gateway_close(p);
		break;
	case BLK_PROFILE:
		config_profile_close(p);
		break;
	case BLK_DESTINATION:
		config_dest_close(p);
		break;
	case BLK_POLICY:
		config_policy_close(p);
		break;
	case BLK_GROUP:
		config_group_close(p);
		break;
	case BLK_NONE:
		break;
	}
	p->block = BLK_NONE;
}

/*
 * A block left open at the end: a kept one stays as it is (its "}" checks
 * would only add cascading errors), a dropped one is freed.
 */
static void
config_block_abandon(struct config_parser *p)
{
	if (!p->cur_keep) {
		switch (p->block) {
		case BLK_LISTENER:
			config_listener_free(p->cur);
			break;
		case BLK_GATEWAY:
			config_gateway_free(p->gw);
			break;
		case BLK_PROFILE:
			config_profile_free(p->prof);
			break;
		case BLK_DESTINATION:
			config_dest_free(p->dest);
			break;
		case BLK_POLICY:
			config_policy_free(p->policy);
			break;
		case BLK_GROUP:
			config_group_free(p->group);
			break;
		case BLK_NONE:
			break;
		}
	}
	p->cur = NULL;
	p->gw = NULL;
	p->prof = NULL;
	p->dest = NULL;
	p->policy = NULL;
	p->group = NULL;
	p->block = BLK_NONE;
}

/* One tokenized line. */
static void
config_line_parse(struct config_parser *p)
{
	char		 e[CONFIG_ESC_MAX];
	const char	*bname;
	int		 i, last_brace, bline;

	if (p->ntok == 0)
		return;
	last_brace = config_tok_is(&p->tok[p->ntok - 1], "{");
	if (p->skip_depth > 0) {
		if (config_tok_is(&p->tok[0], "}"))
			p->skip_depth--;
		else if (last_brace)
			p->skip_depth++;
		return;
	}
	if (config_tok_is(&p->tok[0], "}")) {
		if (p->block == BLK_NONE)
			config_error(p, p->line, "\"}\" without an open "
			    "block");
		else {
			if (p->ntok > 1)
				config_error(p, p->line, "unexpected \"%s\" "
				    "after \"}\"",
				    config_esc(e, sizeof(e), p->tok[1].s));
			config_block_close(p);
		}
		return;
	}
	if (config_tok_is(&p->tok[0], "{")) {
		config_error(p, p->line, "\"{\" without a block header "
		    "(write \"listener NAME {\" on one line)");
		p->skip_depth = 1;
		p->skip_line = p->line;
		return;
	}
	if (p->tok[0].quoted || config_block_of(p->tok[0].s) == BLK_NONE ||
	    (p->block != BLK_NONE && !last_brace)) {
		/* Braces only open and close blocks ("policy NAME" inside a
		 * sender_group names one, it opens nothing). */
		for (i = 1; i < p->ntok; i++) {
			if (!config_tok_is(&p->tok[i], "{") &&
			    !config_tok_is(&p->tok[i], "}"))
				continue;
			config_error(p, p->line, "%s: unexpected \"%s\"%s",
			    config_esc(e, sizeof(e), p->tok[0].s),
			    p->tok[i].s, last_brace ? " (only listener, "
			    "gateway, bounce_profile, destination, policy and "
			    "sender_group open a block)" : "");
			/* A mistyped block header: skip its body. */
			if (last_brace) {
				p->skip_depth = 1;
				p->skip_line = p->line;
			}
			return;
		}
	} else if (p->block != BLK_NONE) {
		bname = config_block_cur(p, &bline);
		config_error(p, p->line, "nested %s block (close %s \"%s\" "
		    "from line %d with \"}\" first)", p->tok[0].s,
		    config_block_names[p->block], bname, bline);
		if (last_brace) {
			p->skip_depth = 1;
			p->skip_line = p->line;
		}
		return;
	}
	switch (p->block) {
	case BLK_LISTENER:
		config_listener_stmt(p);
		break;
	case BLK_GATEWAY:
		config_gateway_stmt(p);
		break;
	case BLK_PROFILE:
		config_profile_stmt(p);
		break;
	case BLK_DESTINATION:
		config_dest_stmt(p);
		break;
	case BLK_POLICY:
		config_policy_stmt(p);
		break;
	case BLK_GROUP:
		config_group_stmt(p);
		break;
	case BLK_NONE:
		config_global_stmt(p);
		break;
	}
}

/* Every line of src, then the checks that need the whole file. */
void
config_parse_src(struct config_parser *p, struct config_src *src)
{
	int	 len;

	while (!p->stopped) {
		if (p->line == INT_MAX) {
			config_error(p, p->line, "too many lines");
			break;
		}
		p->line++;
		if ((len = config_line_read(p, src)) == -1)
			break;
		if (len == -2) {
			config_error(p, p->line, "line too long (max %d bytes)",
			    BW_CONFIG_LINE_MAX);
			continue;
		}
		if (config_tokenize(p, (size_t)len) == -1)
			continue;
		config_line_parse(p);
	}
	if (src->err != 0)
		config_error(p, p->line, "read error: %s",
		    strerror(src->err));
	if (p->block != BLK_NONE) {
		const char	*bname;
		int		 bline;

		bname = config_block_cur(p, &bline);
		config_error(p, bline, "%s \"%s\": missing \"}\"",
		    config_block_names[p->block], bname);
		config_block_abandon(p);
	}
	if (p->stopped)
		return;
	if (p->skip_depth > 0)
		config_error(p, p->skip_line, "block never closed: missing "
		    "\"}\"");
	config_check_all(p);
}
