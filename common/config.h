/*
 * Configuration: one file, parsed by one parser, or the built-in default
 * (a text in config_default.c parsed by the same parser).  The grammar and
 * every setting are documented in doc/breakwater.conf.5.
 *
 * Every limit is a row of the table in config_limits.c: name, default,
 * minimum, maximum, unit and the reason for the default.  The table drives
 * the parser, `bwctl config check` and the documentation.
 *
 * Errors are reported as "file:line: message", all of them, not just the
 * first.
 */
#ifndef BW_CONFIG_H
#define BW_CONFIG_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdint.h>

#include "imsg_catalog.h"

#define BW_CONFIG_LINE_MAX	4096	/* one configuration line */
#define BW_CONFIG_ERRORS_MAX	100	/* errors collected before giving up */
#define BW_CONFIG_LIST_MAX	1024	/* domains or networks in one list */
#define BW_CONFIG_LISTENERS_MAX	64	/* listener blocks in one file */

/* Limits, in table order.  Values are long long in the unit of the row. */
enum bw_limit_id {
	LIM_SMTPD_MAX_COMMAND_LINE,	/* bytes */
	LIM_SMTPD_MAX_TEXT_LINE,	/* bytes */
	LIM_MESSAGE_SIZE_LIMIT,		/* bytes */
	LIM_SMTPD_MAX_RECIPIENTS,	/* count, per message */
	LIM_SMTPD_MAX_MESSAGES_PER_CONNECTION,
	LIM_SMTPD_MAX_CONNECTIONS,	/* total concurrent sessions */
	LIM_SMTPD_MAX_CONNECTIONS_PER_IP,
	LIM_SMTPD_MAX_ERRORS,		/* bad commands before disconnect */
	LIM_SMTPD_MAX_INPUT_BUFFER,	/* unprocessed input bytes (pipelining) */
	LIM_SMTPD_TIMEOUT_GREETING,	/* ms: first command after banner */
	LIM_SMTPD_TIMEOUT_COMMAND,	/* ms: between commands */
	LIM_SMTPD_TIMEOUT_DATA_BLOCK,	/* ms: between DATA reads */
	LIM_SMTPD_TIMEOUT_DATA_TOTAL,	/* ms: whole DATA phase */
	LIM_SMTPD_TIMEOUT_TLS_HANDSHAKE,	/* ms */
	LIM_SMTPD_TIMEOUT_QUEUE_REPLY,	/* ms: queued's answer to commit */
	LIM_SMTPD_GREETING_DELAY,	/* ms: pause before the banner */
	LIM_QUEUE_MIN_FREE_SPACE,	/* bytes free on the spool fs */
	LIM_QUEUE_COMMIT_DELAY,		/* ms: extra wait to grow a batch */
	LIM_QUEUE_MAX_COMMIT_BATCH,	/* messages per log flush, at most */
	LIM_QUEUE_MAX_OPEN_MESSAGES,	/* messages being received at once */
	LIM_QUEUE_BODY_MEMORY,		/* bytes of body kept in memory per message before spilling to a temp file */
	LIM_QUEUE_DB_CACHE,		/* bytes of Berkeley DB cache */
	LIM_QUEUE_CHECKPOINT_INTERVAL,	/* ms between checkpoints */
	LIM_CTL_TIMEOUT,		/* ms: a bwctl request as a whole */
	LIM__COUNT
};

enum bw_limit_unit {
	BW_UNIT_COUNT,
	BW_UNIT_BYTES,		/* suffixes k, m, g (powers of 1024) */
	BW_UNIT_MS,		/* suffixes ms, s, m, h, d; bare number = seconds */
};

struct bw_limit_def {
	enum bw_limit_id	 id;
	const char		*name;
	long long		 def;
	long long		 min;
	long long		 max;
	enum bw_limit_unit	 unit;
	const char		*reason;
};
extern const struct bw_limit_def bw_limit_defs[LIM__COUNT];
const struct bw_limit_def *bw_limit_find(const char *name);
const char	*bw_limit_unit_name(enum bw_limit_unit);
/* Parse "10m", "30s", "512"; -1 on syntax error. */
int		 bw_limit_parse_value(enum bw_limit_unit, const char *, long long *);

enum bw_tls_mode {
	BW_TLS_NONE = 0,
	BW_TLS_STARTTLS,
	BW_TLS_IMPLICIT,
};

struct bw_net {
	int			 family;	/* AF_INET or AF_INET6 */
	unsigned char		 addr[16];
	int			 prefixlen;
};

struct bw_listener_conf {
	TAILQ_ENTRY(bw_listener_conf) entry;
	char			 name[BW_NAME_MAX];
	char			 address[BW_HOSTADDR_MAX];
	int			 port;
	int			 public;	/* 1 public, 0 private */
	enum bw_tls_mode	 tls;
	int			 tls_required;	/* no MAIL before STARTTLS */
	char			 tls_cert[PATH_MAX];	/* "" = global */
	char			 tls_key[PATH_MAX];
	long long		 greeting_delay;	/* ms, -1 = limit's value */
	/* RAT: domains a public listener accepts mail for. */
	char			**accept_domains;
	int			 naccept_domains;
	/* Networks a private listener relays for. */
	struct bw_net		*relay_networks;
	int			 nrelay_networks;
	int			 line;		/* where it was defined */
};
TAILQ_HEAD(bw_listener_list, bw_listener_conf);

struct bw_config {
	char			 path[PATH_MAX];	/* "" = built-in */
	char			 hostname[BW_DOMAIN_MAX + 1];
	char			 runtime_dir[PATH_MAX];
	char			 spool_dir[PATH_MAX];
	char			 chroot_dir[PATH_MAX];	/* smtpd's empty dir */
	char			 tls_cert[PATH_MAX];
	char			 tls_key[PATH_MAX];
	char			 admin_group[64];	/* may use bwctl */
	/* users per process (production) */
	char			 user_smtpd[64];
	char			 user_queued[64];
	char			 user_deliverd[64];
	char			 user_dnscached[64];
	char			 user_controld[64];
	int			 deliverd_workers;	/* 0 = one per core */
	int			 dev_mode;	/* paths under a base dir, no privdrop */
	long long		 limits[LIM__COUNT];
	struct bw_listener_list	 listeners;
};

#define BW_LIMIT(cfg, id)	((cfg)->limits[(id)])

/* Receives each error; file:line: message is already formatted. */
typedef void (*bw_config_error_cb)(const char *msg, void *arg);

/*
 * Load path (NULL: the built-in default).  Returns the number of errors (0 on
 * success); each is passed to errcb (NULL: logged with log_warnx).
 * basedir, when not NULL, puts runtime_dir, spool_dir and chroot_dir under it
 * and sets dev_mode.  cfg is always initialised (defaults plus whatever
 * parsed), errors or not: call config_free() in every case (twice is fine).
 */
int	 config_load(struct bw_config *, const char *path, const char *basedir,
	    bw_config_error_cb errcb, void *arg);
/* Parse text (name is used in messages); same contract as config_load. */
int	 config_parse_text(struct bw_config *, const char *name, const char *text,
	    const char *basedir, bw_config_error_cb errcb, void *arg);
void	 config_free(struct bw_config *);
extern const char bw_config_default_text[];

/* Path of a runtime socket or file: runtime_dir/name. */
int	 config_runtime_path(const struct bw_config *, const char *name,
	    char *dst, size_t dstsz);

/*
 * RAT: 1 if the listener's accept_domains cover domain (case-insensitive,
 * one trailing dot ignored; "*.example.org" matches its subdomains only).
 */
int	 config_listener_accepts(const struct bw_listener_conf *,
	    const char *domain);

/*
 * 1 if the address is inside one of the networks (AF_INET or AF_INET6; an
 * IPv4-mapped IPv6 address matches IPv4 networks).
 */
int	 bw_net_match(const struct bw_net *, int n, const struct sockaddr *);
/* "ADDR" or "ADDR/PREFIX", no host bits set; 0, or -1 if malformed. */
int	 bw_net_parse(const char *, struct bw_net *);

/* Socket names in runtime_dir. */
#define BW_SOCK_QUEUED		"queued.sock"
#define BW_SOCK_DNSCACHED	"dnscached.sock"
#define BW_SOCK_CONTROLD	"controld.sock"	/* daemons -> controld */
#define BW_SOCK_CONTROL		"control.sock"	/* bwctl -> controld (admin) */

#endif
