/*
 * Configuration: one file, parsed by one parser, or the built-in default
 * (a text in config_default.c parsed by the same parser).  The grammar and
 * every setting are documented in doc/breakwater.conf.5.
 *
 * Every limit is a row of the table in config_limits.c: name, default,
 * minimum, maximum, unit, the scopes where it may be set and the reason for
 * the default.  The table drives the parser, `bwctl config limits` and the
 * documentation.  Loading resolves one complete, read-only set of values
 * (struct bw_limit_set) for the global scope and for each block that may
 * set limits (listener, destination); long-lived objects keep a pointer to
 * their set (config_scope.c).
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

#include "array.h"
#include "imsg_catalog.h"

#define BW_CONFIG_LINE_MAX	4096	/* one configuration line */
#define BW_CONFIG_ERRORS_MAX	100	/* errors collected before giving up */
#define BW_CONFIG_LIST_MAX	1024	/* domains or networks in one list */
#define BW_CONFIG_LISTENERS_MAX	64	/* listener blocks in one file */
#define BW_CONFIG_DESTS_MAX	1024	/* destination blocks in one file */
#define BW_ALERT_MAIL_TO_MAX	8	/* BW_ADMIN_MAIL_RCPTS_MAX */
#define BW_CONFIG_FILE_MAX	(16 * 1024 * 1024)	/* bytes of one file: room
					   for tens of thousands of list entries */

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
	LIM_SMTPD_JUNK_COMMAND_LIMIT,	/* NOOP, RSET, VRFY, HELP per message */
	LIM_SMTPD_DNS_TIMEOUT,		/* ms: reverse DNS before the banner */
	LIM_SMTPD_REPUTATION_TIMEOUT,	/* ms: reputation lookups before the
					   banner, all zones together */
	LIM_SMTPD_MAX_RECIPIENTS_PER_HOUR,	/* per host and window; 0 off */
	LIM_SMTPD_RECIPIENTS_WINDOW,	/* ms: that window's length */
	LIM_SMTPD_MAX_MESSAGES_PER_MINUTE,	/* per host and window; 0 off */
	LIM_SMTPD_MESSAGES_WINDOW,	/* ms: that window's length */
	LIM_SMTPD_TARPIT_GREETING_DELAY,	/* ms added at score -10 */
	LIM_SMTPD_COMMAND_DELAY,	/* ms before each reply */
	LIM_SMTPD_TARPIT_COMMAND_DELAY,	/* ms added at score -10 */
	LIM_SMTPD_PROXY_TIMEOUT,	/* ms: a balancer's PROXY header */
	LIM_HOPCOUNT_LIMIT,		/* Received: fields a message may carry */
	LIM_QUEUE_MIN_FREE_SPACE,	/* bytes free on the spool fs */
	LIM_QUEUE_COMMIT_DELAY,		/* ms: extra wait to grow a batch */
	LIM_QUEUE_MAX_COMMIT_BATCH,	/* messages per log flush, at most */
	LIM_QUEUE_MAX_OPEN_MESSAGES,	/* messages being received at once */
	LIM_QUEUE_PRESSURE_OPEN_MESSAGES,	/* open messages: pressure; 0 off */
	LIM_QUEUE_PRESSURE_MESSAGES,	/* queued messages: pressure; 0 off */
	LIM_QUEUE_SEGMENT_SIZE,		/* bytes per body segment file */
	LIM_QUEUE_SEGMENT_SPARES,	/* emptied segment files kept */
	LIM_QUEUE_DB_CACHE,		/* bytes of Berkeley DB cache */
	LIM_QUEUE_CHECKPOINT_INTERVAL,	/* ms between checkpoints */
	LIM_QUEUE_IDLE_FORGET,		/* ms an empty queue stays in memory */
	LIM_HOST_COUNTERS_MAX_ENTRIES,	/* hosts queued's counters remember */
	LIM_HOST_COUNTERS_IDLE_EXPIRE,	/* ms a quiet host is remembered */
	LIM_CTL_TIMEOUT,		/* ms: a bwctl request as a whole */
	LIM_CTL_VERIFY_TIMEOUT,		/* ms: bwctl queue verify / repair */
	/* delivery (deliverd and queued's scheduler) */
	LIM_DELIVER_TIMEOUT_CONNECT,	/* ms: TCP connect to an MX */
	LIM_DELIVER_TIMEOUT_GREETING,	/* ms: 220 banner (RFC 5321 4.5.3.2.1: 5m) */
	LIM_DELIVER_TIMEOUT_COMMAND,	/* ms: reply to EHLO/MAIL/RCPT (5m) */
	LIM_DELIVER_TIMEOUT_DATA_INIT,	/* ms: 354 reply (2m) */
	LIM_DELIVER_TIMEOUT_DATA_BLOCK,	/* ms: each body write (3m) */
	LIM_DELIVER_TIMEOUT_DATA_FINAL,	/* ms: reply after the final dot (10m) */
	LIM_DELIVER_IDLE_KEEP,		/* ms an idle connection waits for a job */
	LIM_DELIVER_MAX_CONNECTIONS_PER_DOMAIN,
	LIM_DELIVER_MAX_MESSAGES_PER_CONNECTION,
	LIM_DELIVER_MAX_RECIPIENTS_PER_MESSAGE,	/* RCPTs per transaction */
	LIM_DELIVER_MAX_MESSAGES_PER_MINUTE,	/* transactions started per
						   (gateway, domain); 0 off */
	LIM_DELIVER_MAX_JOBS_PER_DOMAIN,	/* jobs queued sends ahead to one domain */
	LIM_DELIVER_MAX_JOBS_PER_WORKER,	/* jobs in flight to one deliverd worker */
	LIM_DELIVER_BDAT_CHUNK_SIZE,	/* bytes per outbound BDAT chunk */
	LIM_DNS_CACHE_MAX_ENTRIES,
	LIM_DNS_CACHE_MAX_BYTES,
	LIM_DNS_ATTEMPT_TIMEOUT,	/* ms: one upstream try */
	LIM_DNS_QUERY_DEADLINE,		/* ms: a query as a whole */
	LIM_DNS_TTL_MAX,		/* ms: cap on a cached positive TTL */
	LIM_DNS_NEGATIVE_TTL_MAX,	/* ms: cap on a cached negative TTL */
	LIM_QUEUE_UNDELETE_WINDOW,	/* ms: a deleted message can come back */
	/* alerts (controld_alert.c); thresholds 0 = off */
	LIM_ALERT_REPEAT_INTERVAL,	/* ms between mails of one alert */
	LIM_ALERT_CHECK_INTERVAL,	/* ms between checks of the figures */
	LIM_ALERT_WORK_QUEUE,		/* messages ready, all queues */
	LIM_ALERT_DOMAIN_QUEUED,	/* messages waiting for one queue */
	LIM_ALERT_OLDEST_AGE,		/* ms: age of the oldest message */
	LIM_ALERT_DISK_FREE,		/* bytes free in the spool, below */
	LIM_ALERT_LATENCY_P95,		/* ms: delivery latency of a queue */
	LIM_ALERT_DAEMON_RESTART,	/* 1: a daemon came back */
	LIM_ALERT_DOMAIN_DOWN,		/* 1: a queue went down */
	/* the monitor's HTTP side (controld) */
	LIM_MONITOR_HTTP_MAX_HEADER,	/* bytes: request line and headers */
	LIM_MONITOR_HTTP_MAX_BODY,	/* bytes: a request body (login form) */
	LIM_MONITOR_HTTP_TIMEOUT,	/* ms: reading a request, writing a reply */
	LIM_MONITOR_HTTP_MAX_CONNECTIONS,	/* open at once */
	LIM_MONITOR_SESSION_IDLE,	/* ms: a login session unused */
	LIM_MONITOR_LOGIN_FAILURES,	/* wrong passwords per address a minute */
	/* the monitor (controld, issue 13) */
	LIM_MONITOR_SAMPLE_INTERVAL,	/* ms between samples of the daemons */
	LIM_MONITOR_TOP_DOMAINS,	/* domains per top-N set in history */
	LIM_MONITOR_HISTORY_MAX_BYTES,	/* bytes of monitor_dir, checked */
	LIM__COUNT
};

enum bw_limit_unit {
	BW_UNIT_COUNT,
	BW_UNIT_BYTES,		/* suffixes k, m, g (powers of 1024) */
	BW_UNIT_MS,		/* suffixes ms, s, m, h, d; bare number = seconds */
};

/*
 * Scopes where a limit may be set (a bitmask per row): the top level, a
 * listener block, a mail flow policy (no block yet), a destination block.
 */
#define BW_SCOPE_GLOBAL		0x01
#define BW_SCOPE_LISTENER	0x02
#define BW_SCOPE_POLICY		0x04
#define BW_SCOPE_DESTINATION	0x08
#define BW_SCOPE_ALL		0x0f
#define BW_SCOPE_NAMES_MAX	64	/* "global, listener, policy, ..." */

struct bw_limit_def {
	enum bw_limit_id	 id;
	const char		*name;
	long long		 def;
	long long		 min;
	long long		 max;
	enum bw_limit_unit	 unit;
	unsigned int		 scopes;	/* BW_SCOPE_* */
	const char		*reason;
};
extern const struct bw_limit_def bw_limit_defs[LIM__COUNT];
const struct bw_limit_def *bw_limit_find(const char *name);
const char	*bw_limit_unit_name(enum bw_limit_unit);
/* One scope's name ("listener"); "?" if not exactly one bit. */
const char	*bw_scope_name(unsigned int scope);
/* "global, listener, policy" for a mask, in that order. */
const char	*bw_scope_names(unsigned int scopes, char *dst, size_t dstsz);

/*
 * One complete, read-only set of limit values: the table's defaults, then
 * the top-level settings, then a block's own.  Readers index it directly
 * (set->v[LIM_...]); nothing looks up an override at run time.
 */
struct bw_limit_set {
	long long		 v[LIM__COUNT];
};

/* What one block sets itself, before resolution. */
struct bw_limit_overrides {
	long long		 v[LIM__COUNT];
	int			 line[LIM__COUNT];	/* 0: not set here */
};
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

/*
 * The host access table (config_hat.c, doc/breakwater.conf.5 "HOST
 * ACCESS TABLE").  A mail flow policy is what a connecting host gets; a
 * sender group says which hosts get it; each listener lists its groups in
 * order (first match wins) and a default policy.
 *
 * policy NAME { behaviour accept|relay|reject|tcprefuse
 *     tls off|offered|required  scan spam virus|none
 *     shed_under_pressure yes|no  LIMIT VALUE ... }
 */
/* BW_SCAN_SPAM, BW_SCAN_VIRUS: flags in the envelope, imsg_catalog.h */
#define BW_CONFIG_POLICIES_MAX	256
#define BW_CONFIG_GROUPS_MAX	1024
#define BW_HAT_GROUPS_MAX	256	/* groups in one listener's table */
#define BW_GROUP_DNSL_MAX	16	/* dns_list criteria of one group */
#define BW_GROUP_DNSL_ADDRS_MAX	8	/* answers one criterion names */

enum bw_policy_action {
	BW_POLICY_ACCEPT = 0,	/* mail for the listener's domains (RAT) */
	BW_POLICY_RELAY,	/* mail for any domain */
	BW_POLICY_REJECT,	/* 554 banner, 554 to all but QUIT */
	BW_POLICY_TCPREFUSE,	/* closed before the banner */
};

enum bw_policy_tls {
	BW_POLICY_TLS_LISTENER = 0,	/* not set: as the listener says */
	BW_POLICY_TLS_OFF,		/* no STARTTLS offered */
	BW_POLICY_TLS_OFFERED,
	BW_POLICY_TLS_REQUIRED,		/* no MAIL before STARTTLS */
};

struct bw_policy_conf {
	TAILQ_ENTRY(bw_policy_conf) entry;
	char			 name[BW_NAME_MAX];
	enum bw_policy_action	 action;
	enum bw_policy_tls	 tls;
	unsigned int		 scan;		/* BW_SCAN_* */
	int			 shed;		/* 421 under queue pressure;
						   -1 not set: accept and
						   reject yes, relay no */
	struct bw_limit_overrides lim_over;
	int			 line;
};
TAILQ_HEAD(bw_policy_list, bw_policy_conf);

/* rdns criteria of a group */
#define BW_GROUP_RDNS_MISSING		0x01	/* no PTR record */
#define BW_GROUP_RDNS_UNCONFIRMED	0x02	/* PTR does not resolve back */
#define BW_GROUP_RDNS_TEMPFAIL		0x04	/* lookup failed or too slow */

struct bw_group_dnsl {
	char			 zone[BW_DOMAIN_MAX + 1];	/* lower-cased */
	uint32_t		 addrs[BW_GROUP_DNSL_ADDRS_MAX];	/* host
						   order; none: any listing */
	int			 naddrs;
};

struct bw_nettab;

/*
 * sender_group NAME { policy POLICY  match any|all
 *     network CIDR ...  networks_file PATH
 *     rdns_name NAME|.SUFFIX ...  rdns missing|unconfirmed|tempfail ...
 *     score MIN MAX | score none  dns_list ZONE [ADDR ...] }
 * "any" (default): one criterion matching is enough; "all": every kind
 * of criterion the group has must match (networks, names, rdns, score,
 * each dns_list).
 */
struct bw_group_conf {
	TAILQ_ENTRY(bw_group_conf) entry;
	char			 name[BW_NAME_MAX];
	char			 policy_name[BW_NAME_MAX];
	int			 policy_line;
	const struct bw_policy_conf *policy;	/* linked after the file */
	int			 match_all;
	struct bw_net		*nets;		/* as parsed, for the table */
	size_t			 nnets;
	struct bw_nettab	*nettab;	/* built after the file */
	char			**names;	/* lower-cased, ".suffix" */
	int			 nnames;
	unsigned int		 rdns;		/* BW_GROUP_RDNS_* */
	int			 score_set;
	int			 score_none;	/* matches "none" */
	int			 score_min;	/* tenths, inclusive */
	int			 score_max;
	struct bw_group_dnsl	*dnsl;
	int			 ndnsl;
	int			 line;
};
TAILQ_HEAD(bw_group_list, bw_group_conf);

/*
 * One row of a listener's table, resolved: the group (NULL for the
 * default row), its policy (NULL: no default_policy -- the listener's
 * own behaviour, today's accept/relay_networks) and the complete limit
 * set of a session under it (the listener's set, then the policy's own).
 */
struct bw_hat_entry {
	const struct bw_group_conf	*group;
	const struct bw_policy_conf	*policy;
	struct bw_limit_set		 limits;
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
	int			 reverse_dns;	/* 1 yes, 0 no, -1 not set: public
						   listeners, but not for
						   loopback clients */
	int			 reputation;	/* 1 yes, 0 no, -1 not set: as
						   reverse_dns */
	int			 allow_untrusted_routing; /* public: accept
						   user%host@ours and kin */
	/* RAT: domains a public listener accepts mail for. */
	char			**accept_domains;
	int			 naccept_domains;
	/* Networks a private listener relays for. */
	struct bw_net		*relay_networks;
	int			 nrelay_networks;
	struct bw_nettab	*relay_tab;	/* the same, searched (built
						   after the file) */
	/* RAT addresses (lower-cased): see config_listener_accepts_rcpt */
	char			**accept_rcpts;
	int			 naccept_rcpts;
	/* HAT: group names in order, linked to hat[] after the file */
	char			**hat_names;
	int			 nhat_names;
	int			 hat_line;
	char			 default_policy[BW_NAME_MAX];	/* "": none */
	int			 default_policy_line;
	struct bw_hat_entry	*hat;
	int			 nhat;
	struct bw_hat_entry	 hat_default;
	/* PROXY protocol (v1, v2): a connection from proxy_from (the load
	 * balancers) starts with a header naming the client. */
	int			 proxy_protocol;
	int			 proxy_line;	/* where it was said */
	struct bw_net		*proxy_from;
	int			 nproxy_from;
	/* Limits set in the block ("greeting_delay" is smtpd_greeting_delay)
	 * and the resolved set its sessions take. */
	struct bw_limit_overrides lim_over;
	struct bw_limit_set	 limits;
	int			 line;		/* where it was defined */
};
TAILQ_HEAD(bw_listener_list, bw_listener_conf);

/*
 * The outbound settings of a destination that are not limits: TLS policy,
 * IPv6, MTA-STS.  At the top level they are the default of every
 * destination; a destination block sets some of them over it.
 */
enum bw_dest_tls {
	BW_DEST_TLS_NONE = 0,	/* never STARTTLS */
	BW_DEST_TLS_MAY,	/* STARTTLS when offered, no checks */
	BW_DEST_TLS_ENCRYPT,	/* no delivery without TLS */
	BW_DEST_TLS_VERIFY,	/* certificate chain and name checked */
	BW_DEST_TLS_DANE,	/* RFC 7672 when TLSA exists, else may */
};
const char	*config_dest_tls_name(enum bw_dest_tls);

struct bw_dest_opts {		/* resolved: block over global */
	enum bw_dest_tls	 tls;
	char			 tls_ca_file[PATH_MAX];	/* "" system store */
	int			 ipv6;		/* AAAA records used */
	int			 mta_sts;	/* RFC 8461 honoured */
};
/* Which of them a block sets itself (bw_dest_conf.opts_set). */
#define BW_DEST_OPT_TLS		0x01
#define BW_DEST_OPT_TLS_CA_FILE	0x02
#define BW_DEST_OPT_IPV6	0x04
#define BW_DEST_OPT_MTA_STS	0x08

#define BW_DEST_GATEWAYS_MAX	8	/* "gateway NAME ..." in one block */

/*
 * destination DOMAIN [DOMAIN ...] { LIMIT VALUE ... }
 * Limits of the delivery to those domains (rows with the destination
 * scope) and the outbound settings above.  "example.org" matches that
 * domain, "*.example.org" (or ".example.org") its subdomains; the most
 * specific pattern wins: exact, then the longest suffix.  Lower-cased.
 * "gateway NAME ..." in the block: it applies to the queues of those
 * virtual gateways only, and at the same pattern it beats a block
 * without gateways.
 */
struct bw_dest_conf {
	TAILQ_ENTRY(bw_dest_conf) entry;
	char			**domains;
	int			 ndomains;
	char			 gateways[BW_DEST_GATEWAYS_MAX][BW_NAME_MAX];
	int			 ngateways;	/* 0: every gateway */
	int			 gateways_line;
	struct bw_limit_overrides lim_over;
	struct bw_limit_set	 limits;
	struct bw_dest_opts	 own;		/* as written in the block */
	unsigned int		 opts_set;	/* BW_DEST_OPT_* in own */
	struct bw_dest_opts	 opts;		/* own over the top level */
	int			 line;
};
TAILQ_HEAD(bw_dest_list, bw_dest_conf);

/* The sorted index of destination patterns (config_destination.c): one
 * entry per pattern and gateway of a block ("" for a block without). */
struct bw_dest_ref {
	const char		*pattern;	/* "a.example", ".a.example" */
	const char		*gateway;	/* "" every gateway */
	struct bw_dest_conf	*dest;
};

/* Delivery configuration (issue 3). */
#define BW_CONFIG_GATEWAYS_MAX	64
#define BW_GATEWAY_SOURCES_MAX	8	/* source addresses of one gateway */
#define BW_CONFIG_GWRULES_MAX	1024
#define BW_CONFIG_ROUTES_MAX	1024
#define BW_ROUTE_HOSTS_MAX	8
#define BW_CONFIG_PROFILES_MAX	64
#define BW_DNS_SERVERS_MAX	8
#define BW_GATEWAY_DEFAULT	"default"	/* always exists */
#define BW_PROFILE_DEFAULT	"default"	/* always exists */

/*
 * gateway NAME { helo NAME  source ADDR [ADDR ...] }
 * Outbound connections of the gateway's queues bind to one of its sources
 * (round robin, of the destination's family); helo "" = hostname.
 */
struct bw_gateway_conf {
	TAILQ_ENTRY(bw_gateway_conf) entry;
	char			 name[BW_NAME_MAX];
	char			 helo[BW_DOMAIN_MAX + 1];
	struct sockaddr_storage	 sources[BW_GATEWAY_SOURCES_MAX];
	int			 nsources;
	int			 line;
};
TAILQ_HEAD(bw_gateway_list, bw_gateway_conf);

/*
 * gateway_rule listener NAME GATEWAY
 * gateway_rule sender_domain DOMAIN GATEWAY
 * gateway_rule sender ADDRESS GATEWAY
 * First match in file order wins; no match: default_gateway.
 */
enum bw_gwrule_kind {
	BW_GWRULE_LISTENER,
	BW_GWRULE_SENDER_DOMAIN,
	BW_GWRULE_SENDER,
};
struct bw_gwrule_conf {
	TAILQ_ENTRY(bw_gwrule_conf) entry;
	enum bw_gwrule_kind	 kind;
	char			 match[BW_ADDR_MAX];	/* lower-cased; a
						   listener name as written */
	char			 gateway[BW_NAME_MAX];
	int			 line;
};
TAILQ_HEAD(bw_gwrule_list, bw_gwrule_conf);

/*
 * route DOMAIN -> HOST[:PORT][/PRIORITY] ...
 * HOST is a name (resolved A/AAAA, no MX) or [ADDRESS].  Port default 25;
 * priority default 10 * position; lower first, like MX preference.
 */
struct bw_route_host {
	char			 host[BW_DOMAIN_MAX + 1];	/* without [] */
	int			 literal;	/* was [ADDRESS] */
	int			 port;
	int			 priority;
};
struct bw_route_conf {
	TAILQ_ENTRY(bw_route_conf) entry;
	char			 domain[BW_DOMAIN_MAX + 1];	/* lower-cased */
	struct bw_route_host	 hosts[BW_ROUTE_HOSTS_MAX];
	int			 nhosts;
	int			 line;
};
TAILQ_HEAD(bw_route_list, bw_route_conf);

/*
 * bounce_profile NAME { retry_initial DUR  retry_max DUR  max_age DUR
 *     delay_warning DUR  max_retries N  domains DOMAIN ... }
 * max_retries 0: bounce at the first temporary failure; -1: no count
 * limit (max_age alone decides).  delay_warning 0: no delay DSN.
 * Durations in ms.
 */
struct bw_profile_conf {
	TAILQ_ENTRY(bw_profile_conf) entry;
	char			 name[BW_NAME_MAX];
	long long		 retry_initial;
	long long		 retry_max;
	long long		 max_age;
	long long		 delay_warning;	/* delay DSN after; 0 off */
	int			 max_retries;
	char			**domains;
	int			 ndomains;
	int			 line;
};
TAILQ_HEAD(bw_profile_list, bw_profile_conf);

/*
 * Reputation sources (issue 11), looked up by smtpd for each connecting
 * address (config_reputation.c):
 *   reputation_zone ZONE [weight N]
 *   dns_list ZONE [weight SCORE] [returns ADDR ...]
 * and the zones a sender group names in "dns_list ZONE [ADDR ...]" (queried
 * so that the group can match, scored only if declared above).  One table
 * of distinct zones; a zone is queried once per connection whatever names
 * it.
 */
#define BW_REP_ZONES_MAX	16	/* zones; each costs a DNS query per
					   connection */
#define BW_REP_ZONE_MAX		189	/* a zone's text: 32 nibble labels of
					   an IPv6 client (64 octets) before it
					   must still fit a name's 253 (255
					   octets on the wire, RFC 1035) */
#define BW_REP_RETURNS_MAX	16	/* addresses after "returns" */
#define BW_REP_WEIGHT_MAX	100	/* a reputation_zone's weight */
#define BW_REP_SCORE_TENTHS_MAX	100	/* a dns_list's weight: +-10.0 */

enum bw_rep_kind {
	BW_REP_QUERY = 0,	/* only a sender group names it: not scored */
	BW_REP_SCORE,		/* reputation_zone: A record 127.S.I.F */
	BW_REP_LIST,		/* dns_list: listed or not, a weight */
};

struct bw_rep_zone {
	char			 name[BW_REP_ZONE_MAX + 1];	/* lower-case,
						   no trailing dot */
	enum bw_rep_kind	 kind;
	int			 weight;	/* SCORE: in the mean, 1..; LIST:
						   tenths added when listed */
	uint32_t		 returns[BW_REP_RETURNS_MAX];	/* LIST: the
						   answers that count, host
						   order; none: any 127.0.0.2+ */
	int			 nreturns;
	int			 line;		/* first named there */
};

/* config_rep_zone_add()'s refusals (negative). */
#define BW_REP_EBADNAME		(-1)	/* not a domain name */
#define BW_REP_ETOOLONG		(-2)	/* over BW_REP_ZONE_MAX */
#define BW_REP_ETOOMANY		(-3)	/* BW_REP_ZONES_MAX zones already */
#define BW_REP_EDUP		(-4)	/* declared as a scoring source twice */
#define BW_REP_ENOMEM		(-5)

struct bw_config {
	int			 refs;		/* config_new/ref/unref */
	uint32_t		 digest;	/* FNV-1a of the text parsed */
	uint32_t		 generation;	/* 1 at start, +1 per reload */
	char			 path[PATH_MAX];	/* "" = built-in */
	char			 hostname[BW_DOMAIN_MAX + 1];
	char			 runtime_dir[PATH_MAX];
	char			 spool_dir[PATH_MAX];
	char			 chroot_dir[PATH_MAX];	/* smtpd's empty dir */
	char			 debug_dir[PATH_MAX];	/* domain debug
						   transcripts (deliverd) */
	char			 monitor_dir[PATH_MAX];	/* controld's history,
						   redirects */
	char			 tls_cert[PATH_MAX];
	char			 tls_key[PATH_MAX];
	char			 admin_group[64];	/* may use bwctl */
	/* the monitor (controld's HTTP side; config_monitor.c) */
	char			 monitor_listen[BW_HOSTADDR_MAX + 8];	/* ADDR:PORT
						   or "none" */
	struct sockaddr_storage	 monitor_addr;	/* ss_family 0: none */
	int			 monitor_tls;	/* serve TLS */
	char			 monitor_tls_cert[PATH_MAX];	/* "" = tls_cert */
	char			 monitor_tls_key[PATH_MAX];	/* "" = tls_key */
	char			 monitor_client_ca[PATH_MAX];	/* "" = no client
						   certificates */
	char			 monitor_password_file[PATH_MAX];
	/* users per process (production) */
	char			 user_smtpd[64];
	char			 user_queued[64];
	char			 user_deliverd[64];
	char			 user_dnscached[64];
	char			 user_controld[64];
	int			 deliverd_workers;	/* 0 = one per core */
	int			 smtpd_workers;		/* 0 = one per core */
	int			 dev_mode;	/* paths under a base dir, no privdrop */
	struct bw_limit_set	 limits;	/* the global set */
	struct bw_limit_set	 limits_max;	/* per row, the largest value of
						   any set: for sanity checks
						   that must admit every set */
	struct bw_listener_list	 listeners;
	struct bw_policy_list	 policies;
	struct bw_group_list	 groups;
	struct bw_dest_list	 dests;
	struct bw_dest_ref	*dest_index;	/* sorted by pattern, gateway */
	size_t			 ndest_index;
	struct bw_dest_opts	 dest_opts;	/* top level: the default */
	/* delivery */
	char			 default_gateway[BW_NAME_MAX];
	char			 bounce_gateway[BW_NAME_MAX];
	char			 default_profile[BW_NAME_MAX];
	struct bw_gateway_list	 gateways;	/* always holds "default" */
	struct bw_gwrule_list	 gwrules;
	struct bw_route_list	 routes;
	struct bw_profile_list	 profiles;	/* always holds "default" */
	/* dns_servers ADDR[:PORT] ...; none: /etc/resolv.conf */
	struct sockaddr_storage	 dns_servers[BW_DNS_SERVERS_MAX];
	int			 ndns_servers;
	/* dns_upstream_validates yes|no: dnscached trusts the AD bit of
	 * its upstreams (DANE); default no */
	int			 dns_upstream_validates;
	/* reputation zones: struct bw_rep_zone, at most BW_REP_ZONES_MAX
	 * (config_rep_zone_at, config_rep_zone_count) */
	struct bw_array		 rep_zones;
	/* alert mails (config_alert.c; controld_alert.c): reloadable */
	char			 alert_mail_to[BW_ALERT_MAIL_TO_MAX][BW_ADDR_MAX];
	int			 nalert_mail_to;
	char			 alert_mail_from[BW_ADDR_MAX];	/* "":
						   postmaster@hostname */
};

/* config_monitor.c: the monitor's address class and TLS files. */
int		 config_monitor_loopback(const struct sockaddr_storage *);
const char	*config_monitor_cert(const struct bw_config *);
const char	*config_monitor_key(const struct bw_config *);

/* A global value; objects with a scope read their own set instead. */
#define BW_LIMIT(cfg, id)	((cfg)->limits.v[(id)])

/* Receives each error; file:line: message is already formatted. */
typedef void (*bw_config_error_cb)(const char *msg, void *arg);

/*
 * Load path (NULL: the built-in default).  Returns the number of errors (0 on
 * success); each is passed to errcb (NULL: logged with log_warnx).
 * basedir, when not NULL, puts runtime_dir, spool_dir, chroot_dir and
 * debug_dir under it
 * and sets dev_mode.  cfg is always initialised (defaults plus whatever
 * parsed), errors or not: call config_free() in every case (twice is fine).
 */
int	 config_load(struct bw_config *, const char *path, const char *basedir,
	    bw_config_error_cb errcb, void *arg);
/*
 * Load from an open descriptor (read from its start with pread, so that
 * the descriptor's offset does not matter); name is the path for messages
 * and cfg->path.  Same contract as config_load.  A daemon that cannot open
 * the file itself (smtpd in its chroot) gets the descriptor from controld.
 */
int	 config_load_fd(struct bw_config *, int fd, const char *name,
	    const char *basedir, bw_config_error_cb errcb, void *arg);
/*
 * Reload (config_reload.c).  config_reload_prepare() parses the file of
 * the running configuration oc again (from fd if not -1, else by its path;
 * the built-in text when oc has none), logs every error prefixed with who
 * ("" or "worker=1 ") and returns NULL with the first error in err; or
 * returns the new configuration, one reference, generation + 1, with the
 * settings that need a restart kept from oc (config_keep_startup(), which
 * logs each one that differs and returns how many, also in *kept).
 */
struct bw_config *config_reload_prepare(const struct bw_config *oc, int fd,
	    const char *basedir, const char *who, char *err, size_t errsz,
	    int *kept);
int	 config_keep_startup(struct bw_config *nc, const struct bw_config *oc,
	    const char *who);
/* 1 if a running daemon keeps the old value of this limit (see above). */
int	 config_limit_needs_restart(enum bw_limit_id);
/*
 * Resolve every block's set again from cfg->limits and the blocks' own
 * values (config_scope.c); the parser does it at the end of a file, and a
 * reload after putting back the limits that need a restart.
 */
void	 config_limits_resolve(struct bw_config *);
/*
 * The set of a listener (by name) or of a destination domain (case and a
 * trailing dot ignored): never NULL, the global set when nothing matches.
 * It lives as long as cfg: the holder keeps a reference to cfg.
 */
const struct bw_limit_set *config_limits_for_listener(
	    const struct bw_config *, const char *name);
/* A session's set under a policy of the listener ("" or unknown: the
 * listener's own). */
const struct bw_limit_set *config_limits_for_policy(
	    const struct bw_config *, const char *listener,
	    const char *policy);
/* gateway: the queue's virtual gateway (NULL or "": blocks without
 * "gateway" only). */
const struct bw_limit_set *config_limits_for_destination(
	    const struct bw_config *, const char *gateway, const char *domain);
/* The destination block for a queue (gateway, domain), or NULL
 * (config_destination.c). */
const struct bw_dest_conf *config_dest_find(const struct bw_config *,
	    const char *gateway, const char *domain);
/* The outbound settings for a queue; never NULL (the top level's when no
 * block matches).  Lives as long as cfg. */
const struct bw_dest_opts *config_dest_opts(const struct bw_config *,
	    const char *gateway, const char *domain);
/* Parse text (name is used in messages); same contract as config_load. */
int	 config_parse_text(struct bw_config *, const char *name, const char *text,
	    const char *basedir, bw_config_error_cb errcb, void *arg);
void	 config_free(struct bw_config *);
/*
 * A configuration on the heap with one reference, for the daemons: a
 * reload builds a new one while sessions and agents started under the old
 * one keep a reference to it until they end.  config_load() and
 * config_parse_text() keep refs.  config_unref() frees at the last one.
 */
struct bw_config *config_new(void);		/* NULL: out of memory */
struct bw_config *config_ref(struct bw_config *);
void	 config_unref(struct bw_config *);
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
 * RAT for one recipient address (lower-cased local@domain): listed in
 * accept_recipients, or in an accepted domain that no accept_recipients
 * entry narrows to listed addresses.
 */
int	 config_listener_accepts_rcpt(const struct bw_listener_conf *,
	    const char *addr, const char *domain);
/* Policies and groups by name (config_hat.c); NULL if none. */
const struct bw_policy_conf *config_policy_find(const struct bw_config *,
	    const char *name);
const struct bw_group_conf *config_group_find(const struct bw_config *,
	    const char *name);
const char	*config_policy_action_name(enum bw_policy_action);
const char	*config_policy_tls_name(enum bw_policy_tls);

/*
 * 1 if the address is inside one of the networks (AF_INET or AF_INET6; an
 * IPv4-mapped IPv6 address matches IPv4 networks).
 */
int	 bw_net_match(const struct bw_net *, int n, const struct sockaddr *);
/* "ADDR" or "ADDR/PREFIX", no host bits set; 0, or -1 if malformed. */
int	 bw_net_parse(const char *, struct bw_net *);

/* local@domain as an alert mail can carry it (config_alert.c). */
int	 config_alert_addr_valid(const char *);

/* Delivery lookups (issue 3); never NULL where "always exists". */
const struct bw_gateway_conf *config_gateway_find(const struct bw_config *,
	    const char *name);
/* The gateway for a new message: gateway rules, else default_gateway. */
const char	*config_gateway_for(const struct bw_config *,
	    const char *listener, const char *sender);
/* The route for a destination domain, or NULL (use MX). */
const struct bw_route_conf *config_route_find(const struct bw_config *,
	    const char *domain);
/* The bounce profile of a destination domain (default_profile if none). */
const struct bw_profile_conf *config_profile_for(const struct bw_config *,
	    const char *domain);

/*
 * Reputation zones (config_reputation.c).  config_rep_zone_add() names a
 * zone (lower-cased, one trailing dot dropped) for kind and returns its
 * index in the table, or a BW_REP_E* code: a zone already in the table
 * keeps its index (a sender group naming a declared zone; a declaration
 * after a group named it gives the zone its kind); declaring one zone
 * twice as reputation_zone or dns_list is BW_REP_EDUP.  The caller sets
 * weight and returns of a new SCORE or LIST zone through the index.
 */
int		 config_rep_zone_add(struct bw_config *, const char *zone,
		    enum bw_rep_kind kind);
const char	*config_rep_zone_strerror(int code);
size_t		 config_rep_zone_count(const struct bw_config *);
/* Zone i (< count), else NULL. */
const struct bw_rep_zone *config_rep_zone_at(const struct bw_config *,
		    size_t i);
/* The index of a zone (case and a trailing dot ignored), or -1. */
int		 config_rep_zone_find(const struct bw_config *,
		    const char *zone);
const char	*config_rep_kind_name(enum bw_rep_kind);

/* Socket names in runtime_dir. */
#define BW_SOCK_QUEUED		"queued.sock"
#define BW_SOCK_DNSCACHED	"dnscached.sock"
#define BW_SOCK_CONTROLD	"controld.sock"	/* daemons -> controld */
#define BW_SOCK_CONTROL		"control.sock"	/* bwctl -> controld (admin) */

#endif
