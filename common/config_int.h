/*
 * Private to the configuration parser (common/config*.c): the parser
 * state that every part shares, and the functions one part calls in
 * another.  Nothing outside common/config*.c includes this; the public
 * contract is config.h.
 *
 * Who does what:
 *   config.c           entry points, defaults, base directory, free, paths
 *   config_lex.c       errors, reading lines, tokens, names and values
 *   config_parse.c     statements: global keywords, blocks, the line loop
 *   config_listener.c  listener blocks, RAT, relay networks (bw_net_*)
 *   config_delivery.c  gateways, gateway rules, routes, bounce profiles,
 *                      dns_servers, and the delivery lookups
 *   config_scope.c     limits inside blocks, resolving each block's set,
 *                      checks across limits, config_limits_for_*
 *   config_destination.c destination blocks and their lookup
 *   config_hat.c       policies, sender groups, a listener's table
 *   config_reputation.c reputation_zone, dns_list, the table of zones
 *   config_check.c     checks that need the whole file
 *   config_limits.c    the limits table
 *   config_default.c   the built-in default text
 *   config_monitor.c   monitor_listen and the monitor's defaults
 */
#ifndef BW_CONFIG_INT_H
#define BW_CONFIG_INT_H

#include <stdio.h>

#include "config.h"

#define CONFIG_TOKENS_MAX	(BW_CONFIG_LINE_MAX + 1)	/* "{{{{" */
#define CONFIG_ESC_MAX		256	/* a token quoted in an error */
#define CONFIG_ERR_MAX		(PATH_MAX + 1024)

struct config_token {
	char	*s;
	int	 quoted;
};

/* Where lines come from: a FILE or a NUL-terminated text. */
struct config_src {
	FILE		*fp;
	const char	*text;
	size_t		 off;
	int		 err;		/* errno of a read error */
};

/* Blocks: "KEYWORD NAME {" ... "}". */
enum config_block {
	BLK_NONE,
	BLK_LISTENER,
	BLK_GATEWAY,
	BLK_PROFILE,
	BLK_DESTINATION,
	BLK_POLICY,
	BLK_GROUP,
};

struct config_parser {
	struct bw_config	*cfg;
	const char		*name;
	bw_config_error_cb	 errcb;
	void			*arg;
	int			 line;
	int			 nerr;
	int			 stopped;
	enum config_block	 block;		/* the open block, if any */
	struct bw_listener_conf	*cur;		/* open listener block */
	struct bw_gateway_conf	*gw;		/* open gateway block */
	struct bw_profile_conf	*prof;		/* open bounce_profile block */
	struct bw_dest_conf	*dest;		/* open destination block */
	struct bw_policy_conf	*policy;	/* open policy block */
	struct bw_group_conf	*group;		/* open sender_group block */
	int			 npolicies;
	int			 ngroups;
	int			 cur_keep;	/* 0: bad header, dropped at "}" */
	int			 ngateways;
	int			 ngwrules;
	int			 nroutes;
	int			 nprofiles;
	int			 ndests;
	int			 default_gateway_line;	/* 0: not set */
	int			 bounce_gateway_line;
	int			 default_profile_line;
	int			 skip_depth;	/* inside a block being skipped */
	int			 skip_line;
	int			 nlisteners;
	int			 limit_line[LIM__COUNT];	/* 0: default */
	char			 buf[BW_CONFIG_LINE_MAX + 2];
	char			 tokbuf[2 * (BW_CONFIG_LINE_MAX + 2)];
	struct config_token	 tok[CONFIG_TOKENS_MAX];
	int			 ntok;
};

/* config_lex.c */
const char	*config_esc(char *, size_t, const char *);
void		 config_error(struct config_parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
int		 config_domain_valid(const char *);
int		 config_name_valid(const char *, size_t);
int		 config_yesno(const char *);
int		 config_line_read(struct config_parser *, struct config_src *);
int		 config_tokenize(struct config_parser *, size_t);
int		 config_tok_is(const struct config_token *, const char *);
int		 config_args(struct config_parser *, int);
int		 config_limit_value(struct config_parser *, const char *,
		    const struct bw_limit_def *, const char *, long long *);
int		 config_int(struct config_parser *, const char *, long long,
		    long long, int *);
int		 config_path(struct config_parser *, const char *, char *,
		    size_t);
int		 config_addr_parse(const char *, unsigned char [16]);

/* config_monitor.c */
void		 config_monitor_listen_set(struct config_parser *);
void		 config_monitor_finish(struct config_parser *, const char *);

/* config_parse.c */
int		 config_is_global(const char *);
int		 config_block_header(struct config_parser *, size_t);
void		 config_block_name(struct config_parser *, int, char *,
		    size_t);
void		 config_parse_src(struct config_parser *, struct config_src *);

/* config_alert.c: 0 if the statement is not one of its keys */
int		 config_alert_stmt(struct config_parser *);

/* config_listener.c */
void		 config_listener_open(struct config_parser *);
void		 config_listener_stmt(struct config_parser *);
void		 config_listener_close(struct config_parser *);
void		 config_listener_free(struct bw_listener_conf *);
struct bw_listener_conf *
		 config_listener_find(struct bw_config *, const char *);

/* config_delivery.c */
void		 config_builtins_add(struct config_parser *);
void		 config_gateway_open(struct config_parser *);
void		 config_gateway_stmt(struct config_parser *);
void		 config_gateway_close(struct config_parser *);
void		 config_gateway_free(struct bw_gateway_conf *);
struct bw_gateway_conf *
		 config_gateway_get(struct bw_config *, const char *);
void		 config_gateway_helo_fill(struct bw_config *);
void		 config_profile_open(struct config_parser *);
void		 config_profile_stmt(struct config_parser *);
void		 config_profile_close(struct config_parser *);
void		 config_profile_free(struct bw_profile_conf *);
struct bw_profile_conf *
		 config_profile_get(struct bw_config *, const char *);
void		 config_ref_set(struct config_parser *, char *, size_t, int *);
void		 config_gwrule_add(struct config_parser *);
void		 config_route_add(struct config_parser *);
void		 config_dns_servers_add(struct config_parser *);

/* config_scope.c */
void		 config_limit_set(struct config_parser *,
		    const struct bw_limit_def *, const char *, unsigned int,
		    struct bw_limit_overrides *);
int		 config_limit_stmt(struct config_parser *, unsigned int,
		    struct bw_limit_overrides *);
void		 config_check_limit_sets(struct config_parser *);

/* config_destination.c */
void		 config_dest_open(struct config_parser *);
void		 config_dest_stmt(struct config_parser *);
void		 config_dest_close(struct config_parser *);
void		 config_dest_free(struct bw_dest_conf *);
const char	*config_dest_name(const struct bw_dest_conf *);
void		 config_dest_index(struct config_parser *);
void		 config_dest_opts_default(struct bw_dest_opts *);
int		 config_dest_opt_stmt(struct config_parser *,
		    struct bw_dest_opts *, unsigned int *);

/* config_hat.c */
void		 config_policy_open(struct config_parser *);
void		 config_policy_stmt(struct config_parser *);
void		 config_policy_close(struct config_parser *);
void		 config_policy_free(struct bw_policy_conf *);
void		 config_group_open(struct config_parser *);
void		 config_group_stmt(struct config_parser *);
void		 config_group_close(struct config_parser *);
void		 config_group_free(struct bw_group_conf *);
int		 config_score_parse(const char *, int *tenths);
int		 config_hat_listener_stmt(struct config_parser *,
		    struct bw_listener_conf *);
void		 config_hat_listener_free(struct bw_listener_conf *);
void		 config_hat_link(struct config_parser *);

/* config_reputation.c */
void		 config_rep_stmt(struct config_parser *);
int		 config_rep_zone_declare(struct config_parser *, const char *,
		    const char *, enum bw_rep_kind);

/* config_check.c */
void		 config_check_all(struct config_parser *);

#endif /* BW_CONFIG_INT_H */
