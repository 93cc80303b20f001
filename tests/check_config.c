/*
 * Unit tests for the configuration parser (common/config*.c): every error
 * it reports, the range of every limit, unit suffixes, the built-in
 * default, the base directory override, CIDR matching, the RAT helper, and
 * that doc/breakwater.conf.5 and etc/breakwater.conf.example name every
 * limit.  Source files are found through $BW_SRCDIR.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define TEST_TIMEOUT	30
#define ERRS_MAX	(BW_CONFIG_ERRORS_MAX + 10)
#define ERR_LEN		1024
#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* Collects what the parser reports. */
struct errs {
	int	 n;
	char	 msg[ERRS_MAX][ERR_LEN];
};

static void
errs_cb(const char *msg, void *arg)
{
	struct errs	*e = arg;

	if (e->n < ERRS_MAX)
		snprintf(e->msg[e->n], ERR_LEN, "%s", msg);
	e->n++;
}

static struct errs *
errs_new(void)
{
	struct errs	*e = calloc(1, sizeof(*e));

	ck_assert_ptr_nonnull(e);
	return e;
}

/* Parse text as "t.conf" and collect the errors. */
static int
parse(struct bw_config *cfg, const char *text, const char *basedir,
    struct errs *e)
{
	int	 n;

	n = config_parse_text(cfg, "t.conf", text, basedir, errs_cb, e);
	ck_assert_int_eq(n, e->n);
	return n;
}

static const char *
srcdir(void)
{
	const char	*s = getenv("BW_SRCDIR");

	return s != NULL && *s != '\0' ? s : "..";
}

/* A valid private listener, 6 lines. */
#define PRIV \
	"listener p {\n" \
	"  address 127.0.0.1\n" \
	"  port 2525\n" \
	"  type private\n" \
	"  relay_networks 127.0.0.0/8\n" \
	"}\n"

/* Opening lines of a private listener "a" (4 lines, block left open). */
#define A_OPEN \
	"listener a {\n" \
	"  address 127.0.0.1\n" \
	"  port 25\n" \
	"  relay_networks 10.0.0.0/8\n"

/* Opening lines of a public listener "a" (5 lines, block left open). */
#define PUB_OPEN \
	"listener a {\n" \
	"  address 0.0.0.0\n" \
	"  port 25\n" \
	"  type public\n" \
	"  accept_domains example.org\n"

/* Zones of 189 characters (the longest) and of 190. */
#define REP_ZONE_189	L63 "." L63 "." L61
#define REP_ZONE_190	L63 "." L63 "." L62
#define L63	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L62	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L61	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Opening line of a gateway "g" and of a bounce profile "b". */
#define GW_OPEN		"gateway g {\n"
#define PROF_OPEN	"bounce_profile b {\n"

/*
 * Every error the parser detects: the first message must start with
 * "t.conf:LINE: " and contain want_msg; want_nerr errors in all (no
 * cascades).
 */
struct error_case {
	const char	*what;
	const char	*text;
	int		 want_nerr;
	int		 want_line;
	const char	*want_msg;
};

static const struct error_case error_cases[] = {
	{ "unknown keyword", "hostname a.example\nfrobnicate 1\n", 1, 2,
	  "unknown keyword \"frobnicate\"" },
	{ "unknown keyword is escaped", "fr\xc3\xb6" "b 1\n", 1, 1,
	  "unknown keyword \"fr\\xc3\\xb6b\"" },
	{ "unknown listener keyword", A_OPEN "  frob 1\n}\n", 1, 5,
	  "unknown listener keyword \"frob\"" },
	{ "listener keyword at top level", "address 127.0.0.1\n", 1, 1,
	  "address: only valid inside a listener block" },
	{ "global keyword in listener", A_OPEN "  hostname a.example\n}\n",
	  1, 5, "hostname: a global setting, not valid inside "
	  "listener \"a\"" },
	{ "global-only limit in listener", A_OPEN "  queue_db_cache 1m\n}\n",
	  1, 5, "queue_db_cache cannot be set in a listener block; it may be "
	  "set at: global" },
	{ "destination limit in listener",
	  A_OPEN "  deliver_max_connections_per_domain 2\n}\n", 1, 5,
	  "deliver_max_connections_per_domain cannot be set in a listener "
	  "block; it may be set at: global, destination" },
	{ "listener limit in destination",
	  "destination a.example {\n  message_size_limit 1m\n}\n", 1, 2,
	  "message_size_limit cannot be set in a destination block; it may "
	  "be set at: global, listener, policy" },
	{ "global limit in destination",
	  "destination a.example {\n  dns_ttl_max 1h\n}\n", 1, 2,
	  "dns_ttl_max cannot be set in a destination block; it may be set "
	  "at: global" },
	{ "listener limit out of range", A_OPEN "  smtpd_max_recipients 0\n"
	  "}\n", 1, 5, "smtpd_max_recipients: 0 is out of range 1..100000" },
	{ "destination limit out of range", "destination a.example {\n"
	  "  deliver_max_messages_per_connection 0\n}\n", 1, 2,
	  "deliver_max_messages_per_connection: 0 is out of range" },
	{ "destination global keyword",
	  "destination a.example {\n  hostname b.example\n}\n", 1, 2,
	  "hostname: a global setting, not valid inside destination "
	  "\"a.example\"" },
	{ "destination unknown keyword",
	  "destination a.example {\n  frob 1\n}\n", 1, 2,
	  "unknown destination keyword \"frob\"" },
	{ "destination without domain", "destination {\n}\n", 1, 1,
	  "destination: expected \"destination DOMAIN [DOMAIN ...] {\"" },
	{ "destination without {", "destination a.example\n", 1, 1,
	  "destination: expected \"destination DOMAIN [DOMAIN ...] {\"" },
	{ "destination bad domain", "destination a..example {\n"
	  "  deliver_idle_keep 1s\n}\n", 1, 1,
	  "destination: bad domain \"a..example\"" },
	{ "destination domain twice", "destination a.example {\n}\n"
	  "destination b.example A.example {\n}\n", 1, 3,
	  "destination: a.example is already in the destination block at "
	  "line 1" },
	{ "destination suffix twice", "destination *.a.example .a.example "
	  "{\n}\n", 1, 1, "destination: *.a.example listed twice" },
	{ "listener line longer than its buffer", A_OPEN
	  "  smtpd_max_text_line 8k\n  smtpd_max_input_buffer 4k\n}\n", 1, 6,
	  "listener \"a\": smtpd_max_input_buffer (4096) must be at least "
	  "smtpd_max_text_line (8192)" },
	{ "nested destination", "destination a.example {\n"
	  "  destination b.example {\n  }\n}\n", 1, 2,
	  "nested destination block" },
	{ "missing value", "hostname\n", 1, 1, "hostname: missing value" },
	{ "missing value (limit)", "smtpd_max_errors\n", 1, 1,
	  "smtpd_max_errors: missing value" },
	{ "missing value (list)", A_OPEN "  relay_networks\n}\n", 1, 5,
	  "relay_networks: missing value" },
	{ "missing value (user)", "user smtpd\n", 1, 1,
	  "user: missing value" },
	{ "extra tokens", "hostname a.example b\n", 1, 1,
	  "hostname: unexpected \"b\" after the value" },
	{ "extra tokens (limit)", "smtpd_max_errors 5 6\n", 1, 1,
	  "smtpd_max_errors: unexpected \"6\" after the value" },
	{ "extra tokens after }", A_OPEN "} x\n", 1, 5,
	  "unexpected \"x\" after \"}\"" },
	{ "bad number", "smtpd_max_recipients lots\n", 1, 1,
	  "smtpd_max_recipients: bad number \"lots\"" },
	{ "negative number", "smtpd_max_errors -1\n", 1, 1,
	  "smtpd_max_errors: bad number \"-1\"" },
	{ "count with suffix", "smtpd_max_errors 1k\n", 1, 1,
	  "smtpd_max_errors: bad number \"1k\"" },
	{ "bad size", "message_size_limit 10x\n", 1, 1,
	  "message_size_limit: bad size \"10x\"" },
	{ "bad duration", "smtpd_timeout_command 10parsecs\n", 1, 1,
	  "smtpd_timeout_command: bad duration \"10parsecs\"" },
	{ "out of range (count)", "smtpd_max_recipients 0\n", 1, 1,
	  "smtpd_max_recipients: 0 is out of range 1..100000 (count)" },
	{ "out of range (bytes)", "message_size_limit 2g\n", 1, 1,
	  "message_size_limit: 2g is out of range 1024..1073741824 (bytes)" },
	{ "out of range (ms)", "smtpd_timeout_command 2h\n", 1, 1,
	  "smtpd_timeout_command: 2h is out of range 1000..3600000 (ms)" },
	{ "deliverd_workers out of range", "deliverd_workers 1000\n", 1, 1,
	  "deliverd_workers: 1000 is out of range 0..256" },
	{ "deliverd_workers bad", "deliverd_workers many\n", 1, 1,
	  "deliverd_workers: bad number \"many\"" },
	{ "port 0", "listener a {\n  address 127.0.0.1\n  port 0\n"
	  "  relay_networks 10.0.0.0/8\n}\n", 2, 3,
	  "port: 0 is out of range 1..65535" },
	{ "port too big", A_OPEN "  port 65536\n}\n", 1, 5,
	  "port: 65536 is out of range 1..65535" },
	{ "port not a number", A_OPEN "  port smtp\n}\n", 1, 5,
	  "port: bad number \"smtp\"" },
	{ "greeting_delay out of range", A_OPEN "  greeting_delay 2m\n}\n",
	  1, 5, "greeting_delay: 2m is out of range 0..60000 (ms)" },
	{ "unterminated quote", "hostname \"a.example\n", 1, 1,
	  "unterminated quote" },
	{ "quote inside a value", "hostname a\"b\"\n", 1, 1,
	  "unexpected '\"' inside a value" },
	{ "no space after quote", "hostname \"a.example\"x\n", 1, 1,
	  "missing space after a quoted value" },
	{ "control character", "hostname a\001b\n", 1, 1,
	  "control character 0x01 in line" },
	{ "unmatched }", "hostname a.example\n}\n", 1, 2,
	  "\"}\" without an open block" },
	{ "unclosed listener", A_OPEN, 1, 1,
	  "listener \"a\": missing \"}\"" },
	{ "stray {", "{\n  address 127.0.0.1\n}\n", 1, 1,
	  "\"{\" without a block header" },
	{ "brace inside a statement", "hostname a.example }\n", 1, 1,
	  "hostname: unexpected \"}\"" },
	{ "mistyped block header skips the body",
	  "listner a {\n  address 127.0.0.1\n  port 25\n}\n", 1, 1,
	  "listner: unexpected \"{\" (only listener, gateway, "
	  "bounce_profile, destination, policy and sender_group open a block)" },
	{ "nested listener", A_OPEN "  listener b {\n    port 26\n  }\n}\n",
	  1, 5, "nested listener block" },
	{ "listener without {", "listener a\n", 1, 1,
	  "listener: expected \"listener NAME {\"" },
	{ "listener without name", "listener {\n}\n", 1, 1,
	  "listener: expected \"listener NAME {\"" },
	{ "bad listener name", "listener a/b {\n}\n", 1, 1,
	  "listener: bad name \"a/b\"" },
	{ "duplicate listener name", PRIV "listener p {\n"
	  "  address 127.0.0.1\n  port 2526\n  relay_networks ::1\n}\n", 1, 7,
	  "duplicate listener \"p\" (first defined at line 1)" },
	{ "duplicate address:port", PRIV "listener q {\n"
	  "  address 127.0.0.1\n  port 2525\n  relay_networks ::1\n}\n", 1, 7,
	  "listener \"q\": address 127.0.0.1 port 2525 already used by "
	  "listener \"p\" (line 1)" },
	{ "duplicate address:port (IPv6 spellings)",
	  "listener a {\n  address ::1\n  port 25\n  relay_networks ::1\n}\n"
	  "listener b {\n  address 0:0::1\n  port 25\n  relay_networks ::1\n"
	  "}\n", 1, 6, "already used by listener \"a\"" },
	{ "listener without address", "listener a {\n  port 25\n"
	  "  relay_networks 10.0.0.0/8\n}\n", 1, 1,
	  "listener \"a\": missing address" },
	{ "listener without port", "listener a {\n  address 127.0.0.1\n"
	  "  relay_networks 10.0.0.0/8\n}\n", 1, 1,
	  "listener \"a\": missing port" },
	{ "public listener without accept_domains", "listener a {\n"
	  "  address 0.0.0.0\n  port 25\n  type public\n}\n", 1, 1,
	  "listener \"a\": a public listener needs accept_domains" },
	{ "private listener without relay_networks", "listener a {\n"
	  "  address 127.0.0.1\n  port 25\n  type private\n}\n", 1, 1,
	  "listener \"a\": a private listener needs relay_networks" },
	{ "relay_networks on a public listener",
	  PUB_OPEN "  relay_networks 10.0.0.0/8\n}\n", 1, 1,
	  "relay_networks is for private listeners only" },
	{ "accept_domains on a private listener",
	  A_OPEN "  accept_domains example.org\n}\n", 1, 1,
	  "accept_domains is for public listeners only" },
	{ "starttls without cert", PUB_OPEN "  tls starttls\n}\n", 1, 1,
	  "listener \"a\": tls starttls needs tls_cert and tls_key (in the "
	  "listener or global)" },
	{ "implicit with a cert but no key",
	  PUB_OPEN "  tls implicit\n  tls_cert /etc/c.pem\n}\n", 1, 1,
	  "listener \"a\": tls implicit needs tls_cert and tls_key" },
	{ "tls_required without tls", PUB_OPEN "  tls_required yes\n}\n",
	  1, 1, "tls_required yes needs tls starttls or implicit" },
	{ "routing allowed on a private listener",
	  A_OPEN "  allow_untrusted_routing yes\n}\n", 1, 1,
	  "allow_untrusted_routing is for public listeners only" },
	{ "routing bad yes/no", PUB_OPEN "  allow_untrusted_routing maybe\n}\n",
	  1, 6, "allow_untrusted_routing: expected yes or no, not \"maybe\"" },
	{ "bad type", A_OPEN "  type semi\n}\n", 1, 5,
	  "type: expected public or private, not \"semi\"" },
	{ "bad tls", A_OPEN "  tls maybe\n}\n", 1, 5,
	  "tls: expected none, starttls or implicit, not \"maybe\"" },
	{ "bad yes/no", A_OPEN "  tls_required sure\n}\n", 1, 5,
	  "tls_required: expected yes or no, not \"sure\"" },
	{ "bad reverse_dns", A_OPEN "  reverse_dns maybe\n}\n", 1, 5,
	  "reverse_dns: expected yes or no, not \"maybe\"" },
	{ "reverse_dns at top level", "reverse_dns yes\n", 1, 1,
	  "reverse_dns: only valid inside a listener block" },
	{ "bad address", A_OPEN "  address 127.0.0\n}\n", 1, 5,
	  "address: bad address \"127.0.0\"" },
	{ "host name as address", A_OPEN "  address localhost\n}\n", 1, 5,
	  "address: bad address \"localhost\"" },
	/* PROXY protocol */
	{ "proxy_protocol without proxy_from",
	  A_OPEN "  port 26\n  proxy_protocol yes\n}\n", 1, 6,
	  "listener \"a\": proxy_protocol yes needs proxy_from (the "
	  "addresses of the load balancers)" },
	{ "bad proxy_protocol", A_OPEN "  proxy_protocol v2\n}\n", 1, 5,
	  "proxy_protocol: expected yes or no, not \"v2\"" },
	{ "proxy_from with host bits", A_OPEN "  proxy_protocol yes\n"
	  "  proxy_from 10.1.2.3/8\n}\n", 2, 6,
	  "proxy_from: bad network \"10.1.2.3/8\"" },
	{ "proxy_from without value", A_OPEN "  proxy_from\n}\n", 1, 5,
	  "proxy_from: missing value" },
	{ "proxy_from at top level", "proxy_from 10.0.0.1\n", 1, 1,
	  "proxy_from: only valid inside a listener block" },
	{ "proxy timeout out of range", A_OPEN "  smtpd_proxy_timeout 2m\n"
	  "}\n", 1, 5, "smtpd_proxy_timeout" },
	{ "bad CIDR prefix", A_OPEN "  relay_networks 10.0.0.0/33\n}\n",
	  1, 5, "relay_networks: bad network \"10.0.0.0/33\"" },
	{ "CIDR with host bits", A_OPEN "  relay_networks 10.1.2.3/8\n}\n",
	  1, 5, "relay_networks: bad network \"10.1.2.3/8\"" },
	{ "bad CIDRs each reported", A_OPEN "  relay_networks foo ::1/129 "
	  "10.0.0.0/ /8 10.0.0.0/8x 192.168.0.0/16\n}\n", 5, 5,
	  "relay_networks: bad network \"foo\"" },
	{ "bad domain", PUB_OPEN "  accept_domains -a.example\n}\n", 1, 6,
	  "accept_domains: bad domain \"-a.example\"" },
	{ "bad domains each reported", PUB_OPEN "  accept_domains a..b "
	  "exa_mple.org *. a.*.b good.example x-.example\n}\n", 5, 6,
	  "accept_domains: bad domain \"a..b\"" },
	{ "bad host name", "hostname mx_1.example\n", 1, 1,
	  "hostname: bad host name \"mx_1.example\"" },
	{ "relative path", "spool_dir var/spool\n", 1, 1,
	  "spool_dir: \"var/spool\" is not an absolute path" },
	{ "unknown user role", "user smtp _bwsmtpd\n", 1, 1,
	  "user: unknown role \"smtp\" (smtpd, queued, deliverd, dnscached "
	  "or controld)" },
	{ "bad user name", "user smtpd -x\n", 1, 1,
	  "user smtpd: bad user name \"-x\"" },
	{ "bad group name", "admin_group a:b\n", 1, 1,
	  "admin_group: bad group name \"a:b\"" },
	{ "input buffer smaller than a line", "smtpd_max_input_buffer 4k\n",
	  1, 1, "smtpd_max_input_buffer (4096) must be at least "
	  "smtpd_max_text_line (8192)" },
	{ "line too big for the default buffer", "hostname a.example\n"
	  "smtpd_max_text_line 1m\n", 1, 2, "smtpd_max_input_buffer (262144) "
	  "must be at least smtpd_max_text_line (1048576)" },
	/* Gateways. */
	{ "gateway without {", "gateway g\n", 1, 1,
	  "gateway: expected \"gateway NAME {\"" },
	{ "bad gateway name", "gateway a/b {\n}\n", 1, 1,
	  "gateway: bad name \"a/b\"" },
	{ "duplicate gateway", "gateway g {\n}\ngateway g {\n}\n", 1, 3,
	  "duplicate gateway \"g\" (first defined at line 1)" },
	{ "default gateway redefined twice", "gateway default {\n}\n"
	  "gateway default {\n}\n", 1, 3,
	  "duplicate gateway \"default\" (first defined at line 1)" },
	{ "bad helo", GW_OPEN "  helo bad_name\n}\n", 1, 2,
	  "helo: bad host name \"bad_name\"" },
	{ "helo without value", GW_OPEN "  helo\n}\n", 1, 2,
	  "helo: missing value" },
	{ "bad source", GW_OPEN "  source 10.0.0\n}\n", 1, 2,
	  "source: bad address \"10.0.0\" (a numeric IPv4 or IPv6 address)" },
	{ "host name as source", GW_OPEN "  source mx.example\n}\n", 1, 2,
	  "source: bad address \"mx.example\"" },
	{ "source without value", GW_OPEN "  source\n}\n", 1, 2,
	  "source: missing value" },
	{ "source twice", GW_OPEN "  source 192.0.2.1\n"
	  "  source 2001:db8::1 192.0.2.1\n}\n", 1, 3,
	  "source: 192.0.2.1 listed twice" },
	{ "too many sources", GW_OPEN "  source 192.0.2.1 192.0.2.2 "
	  "192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 192.0.2.8 "
	  "192.0.2.9\n}\n", 1, 2, "source: too many addresses (max 8)" },
	{ "unknown gateway keyword", GW_OPEN "  port 25\n}\n", 1, 2,
	  "unknown gateway keyword \"port\"" },
	{ "global setting in a gateway", GW_OPEN "  route a.example -> "
	  "mx.example\n}\n", 1, 2,
	  "route: a global setting, not valid inside gateway \"g\"" },
	{ "helo at top level", "helo mx.example\n", 1, 1,
	  "helo: only valid inside a gateway block" },
	{ "nested block in a gateway", GW_OPEN "  listener x {\n  }\n}\n",
	  1, 2, "nested listener block (close gateway \"g\" from line 1 "
	  "with \"}\" first)" },
	{ "unclosed gateway", GW_OPEN "  helo a.example\n", 1, 1,
	  "gateway \"g\": missing \"}\"" },
	/* Gateway rules and references. */
	{ "gateway_rule without gateway", "gateway_rule sender_domain "
	  "a.example\n", 1, 1, "gateway_rule: missing value" },
	{ "gateway_rule bad kind", "gateway_rule domain a.example default\n",
	  1, 1, "gateway_rule: expected listener, sender_domain or sender, "
	  "not \"domain\"" },
	{ "gateway_rule bad domain", "gateway_rule sender_domain a..b "
	  "default\n", 1, 1, "gateway_rule: bad domain \"a..b\"" },
	{ "gateway_rule sender in <>", "gateway_rule sender <a@b.example> "
	  "default\n", 1, 1, "gateway_rule: bad sender address "
	  "\"<a@b.example>\" (LOCAL@DOMAIN, without <>)" },
	{ "gateway_rule sender without @", "gateway_rule sender postmaster "
	  "default\n", 1, 1, "gateway_rule: bad sender address \"postmaster\"" },
	{ "gateway_rule sender without local part", "gateway_rule sender "
	  "@b.example default\n", 1, 1,
	  "gateway_rule: bad sender address \"@b.example\"" },
	{ "gateway_rule bad listener name", "gateway_rule listener a/b "
	  "default\n", 1, 1, "gateway_rule: bad listener name \"a/b\"" },
	{ "gateway_rule bad gateway name", "gateway_rule sender_domain "
	  "a.example x/y\n", 1, 1, "gateway_rule: bad gateway name \"x/y\"" },
	{ "gateway_rule unknown gateway", "hostname a.example\n"
	  "gateway_rule sender_domain a.example nope\n", 1, 2,
	  "gateway_rule sender_domain a.example: no gateway \"nope\"" },
	{ "gateway_rule unknown listener", "gateway_rule listener nope "
	  "default\n", 1, 1, "gateway_rule: no listener \"nope\"" },
	{ "gateway_rule that never matches", "gateway_rule sender_domain "
	  "a.example default\ngateway_rule sender_domain A.example default\n",
	  1, 2, "gateway_rule sender_domain A.example: never matches, the "
	  "rule at line 1 comes first" },
	{ "default_gateway unknown", "hostname a.example\n"
	  "default_gateway out\n", 1, 2, "default_gateway: no gateway "
	  "\"out\"" },
	{ "bounce_gateway unknown", "bounce_gateway out\n", 1, 1,
	  "bounce_gateway: no gateway \"out\"" },
	{ "default_gateway bad name", "default_gateway a/b\n", 1, 1,
	  "default_gateway: bad name \"a/b\"" },
	{ "default_gateway without value", "default_gateway\n", 1, 1,
	  "default_gateway: missing value" },
	{ "default_bounce_profile unknown", "default_bounce_profile slow\n",
	  1, 1, "default_bounce_profile: no bounce_profile \"slow\"" },
	/* Routes. */
	{ "route without ->", "route a.example mx.example\n", 1, 1,
	  "route: expected \"route DOMAIN -> HOST[:PORT][/PRIORITY] ...\"" },
	{ "route without host", "route a.example ->\n", 1, 1,
	  "route: expected \"route DOMAIN -> HOST[:PORT][/PRIORITY] ...\"" },
	{ "route bad domain", "route a_b.example -> mx.example\n", 1, 1,
	  "route: bad domain \"a_b.example\"" },
	{ "route bad host", "route a.example -> mx_1.example\n", 1, 1,
	  "route a.example: bad host \"mx_1.example\" (a host name or "
	  "[ADDRESS], then optional :PORT and /PRIORITY)" },
	{ "route address without []", "route a.example -> 127.0.0.1:2526\n",
	  1, 1, "route a.example: \"127.0.0.1:2526\" is an address: write "
	  "it as [127.0.0.1]" },
	{ "route name inside []", "route a.example -> [mx.example]\n", 1, 1,
	  "route a.example: bad address in \"[mx.example]\"" },
	{ "route unclosed [", "route a.example -> [::1\n", 1, 1,
	  "route a.example: bad host \"[::1\"" },
	{ "route junk after ]", "route a.example -> [::1]x\n", 1, 1,
	  "route a.example: bad host \"[::1]x\"" },
	{ "route port 0", "route a.example -> [::1]:0\n", 1, 1,
	  "route a.example: bad port in \"[::1]:0\" (1..65535)" },
	{ "route port too big", "route a.example -> mx.example:65536\n", 1, 1,
	  "route a.example: bad port in \"mx.example:65536\" (1..65535)" },
	{ "route port empty", "route a.example -> mx.example:\n", 1, 1,
	  "route a.example: bad port in \"mx.example:\"" },
	{ "route priority too big", "route a.example -> mx.example/65536\n",
	  1, 1, "route a.example: bad priority in \"mx.example/65536\" "
	  "(0..65535)" },
	{ "route priority negative", "route a.example -> mx.example/-1\n",
	  1, 1, "route a.example: bad priority in \"mx.example/-1\"" },
	{ "route too many hosts", "route a.example -> h1.example h2.example "
	  "h3.example h4.example h5.example h6.example h7.example h8.example "
	  "h9.example\n", 1, 1, "route a.example: too many hosts (max 8)" },
	{ "route host twice", "route a.example -> mx.example MX.example:25\n",
	  1, 1, "route a.example: mx.example port 25 listed twice" },
	{ "route bad hosts each reported", "route a.example -> b_.example "
	  "[x] ok.example c.example:0\n", 3, 1,
	  "route a.example: bad host \"b_.example\"" },
	{ "route domain with a trailing dot", "route a.example. -> "
	  "mx.example\n", 1, 1, "route: bad domain \"a.example.\"" },
	{ "duplicate route", "route a.example -> mx.example\n"
	  "route A.EXAMPLE -> mx2.example\n", 1, 2,
	  "duplicate route for a.example (first at line 1)" },
	/* Bounce profiles. */
	{ "bounce_profile without {", "bounce_profile b\n", 1, 1,
	  "bounce_profile: expected \"bounce_profile NAME {\"" },
	{ "duplicate bounce_profile", PROF_OPEN "}\n" PROF_OPEN "}\n", 1, 3,
	  "duplicate bounce_profile \"b\" (first defined at line 1)" },
	{ "retry_initial out of range", PROF_OPEN "  retry_initial 0\n}\n",
	  1, 2, "retry_initial: 0 is out of range 1000..86400000 (ms)" },
	{ "retry_initial too long", PROF_OPEN "  retry_initial 2d\n}\n",
	  1, 2, "retry_initial: 2d is out of range 1000..86400000 (ms)" },
	{ "retry_max out of range", PROF_OPEN "  retry_max 8d\n}\n", 1, 2,
	  "retry_max: 8d is out of range 1000..604800000 (ms)" },
	{ "max_age out of range", PROF_OPEN "  max_age 31d\n}\n", 1, 2,
	  "max_age: 31d is out of range 1000..2592000000 (ms)" },
	{ "max_age too short", PROF_OPEN "  max_age 500ms\n}\n", 1, 2,
	  "max_age: 500ms is out of range 1000..2592000000 (ms)" },
	{ "delay_warning out of range", PROF_OPEN "  delay_warning 31d\n}\n",
	  1, 2, "delay_warning: 31d is out of range 0..2592000000 (ms)" },
	{ "delay_warning outside a profile", "delay_warning 1h\n", 1, 1,
	  "delay_warning: only valid inside a bounce_profile block" },
	{ "bad duration in a profile", PROF_OPEN "  retry_initial soon\n}\n",
	  1, 2, "retry_initial: bad duration \"soon\"" },
	{ "max_retries below -1", PROF_OPEN "  max_retries -2\n}\n", 1, 2,
	  "max_retries: -2 is out of range -1..1000" },
	{ "max_retries too many", PROF_OPEN "  max_retries 1001\n}\n", 1, 2,
	  "max_retries: 1001 is out of range -1..1000" },
	{ "max_retries not a number", PROF_OPEN "  max_retries x\n}\n", 1, 2,
	  "max_retries: bad number \"x\"" },
	{ "max_retries a lone -", PROF_OPEN "  max_retries -\n}\n", 1, 2,
	  "max_retries: bad number \"-\"" },
	{ "retry_initial longer than retry_max",
	  PROF_OPEN "  retry_initial 2h\n}\n", 1, 1, "bounce_profile \"b\": "
	  "retry_initial (7200000 ms) is longer than retry_max (3600000 ms)" },
	{ "bad profile domain", PROF_OPEN "  domains a..b ok.example\n}\n",
	  1, 2, "domains: bad domain \"a..b\"" },
	{ "domains without value", PROF_OPEN "  domains\n}\n", 1, 2,
	  "domains: missing value" },
	{ "domain in two profiles", "bounce_profile a {\n  domains x.example"
	  "\n}\n" PROF_OPEN "  domains X.example\n}\n", 1, 4,
	  "bounce_profile \"b\": domain x.example is already in "
	  "bounce_profile \"a\" (line 1)" },
	{ "domain twice in one profile", PROF_OPEN "  domains x.example\n"
	  "  domains x.example\n}\n", 1, 1,
	  "bounce_profile \"b\": domain x.example listed twice" },
	{ "unknown profile keyword", PROF_OPEN "  retry 5m\n}\n", 1, 2,
	  "unknown bounce_profile keyword \"retry\"" },
	{ "profile keyword at top level", "retry_max 1h\n", 1, 1,
	  "retry_max: only valid inside a bounce_profile block" },
	{ "global setting in a profile", PROF_OPEN "  hostname a.example\n"
	  "}\n", 1, 2, "hostname: a global setting, not valid inside "
	  "bounce_profile \"b\"" },
	{ "nested block in a profile", PROF_OPEN "  gateway g {\n  }\n}\n",
	  1, 2, "nested gateway block (close bounce_profile \"b\" from "
	  "line 1 with \"}\" first)" },
	/* DNS servers. */
	{ "dns_upstream_validates maybe", "dns_upstream_validates maybe\n",
	  1, 1, "dns_upstream_validates: expected yes or no, not \"maybe\"" },
	{ "dns_upstream_validates in a block", "destination a.example {\n"
	  "  dns_upstream_validates yes\n}\n", 1, 2,
	  "dns_upstream_validates: a global setting, not valid inside "
	  "destination \"a.example\"" },
	{ "dns_servers without value", "dns_servers\n", 1, 1,
	  "dns_servers: missing value" },
	{ "dns_servers host name", "dns_servers resolver.example\n", 1, 1,
	  "dns_servers: bad server \"resolver.example\" (ADDRESS, IPv4:PORT "
	  "or [ADDRESS]:PORT)" },
	{ "dns_servers port 0", "dns_servers 127.0.0.1:0\n", 1, 1,
	  "dns_servers: bad port in \"127.0.0.1:0\" (1..65535)" },
	{ "dns_servers port too big", "dns_servers [::1]:65536\n", 1, 1,
	  "dns_servers: bad port in \"[::1]:65536\" (1..65535)" },
	{ "dns_servers twice", "dns_servers 127.0.0.1\n"
	  "dns_servers 127.0.0.1:53\n", 1, 2,
	  "dns_servers: 127.0.0.1:53 listed twice" },
	{ "dns_servers too many", "dns_servers 127.0.0.1 127.0.0.2 127.0.0.3 "
	  "127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7 127.0.0.8 127.0.0.9\n",
	  1, 1, "dns_servers: too many servers (max 8)" },
	{ "dns_servers bad ones each reported", "dns_servers x 1.2.3 "
	  "127.0.0.1 [::1\n", 3, 1, "dns_servers: bad server \"x\"" },
	{ "DNS attempt longer than the deadline", "dns_attempt_timeout 20s\n",
	  1, 1, "dns_attempt_timeout (20000 ms) must not exceed "
	  "dns_query_deadline (12000 ms)" },
	{ "DNS deadline shorter than an attempt", "hostname a.example\n"
	  "dns_query_deadline 1s\n", 1, 2, "dns_attempt_timeout (2000 ms) "
	  "must not exceed dns_query_deadline (1000 ms)" },
	{ "reputation zone too long for an IPv6 query name",
	  "hostname a.example\nreputation_zone " REP_ZONE_190 "\n", 1, 2,
	  "is too long: the query name of an IPv6 client" },
	{ "dns_list zone too long", "dns_list " REP_ZONE_190 " weight -1\n",
	  1, 1, "(at most 189 characters)" },
	{ "group's dns_list zone too long", "policy p {\n}\n"
	  "sender_group g {\n  policy p\n  network 10.0.0.0/8\n"
	  "  dns_list " REP_ZONE_190 "\n}\n", 1, 6,
	  "dns_list: zone \"aaaa" },
	{ "reputation zone not a name", "reputation_zone bad_zone.example\n",
	  1, 1, "reputation_zone: zone \"bad_zone.example\": not a domain "
	  "name" },
	{ "reputation zone missing", "reputation_zone\n", 1, 1,
	  "reputation_zone: missing zone" },
	{ "zone declared twice", "reputation_zone r.example\n"
	  "dns_list R.example. weight -5\n", 1, 2,
	  "dns_list: zone r.example is already a reputation_zone (line 1)" },
	{ "reputation weight out of range",
	  "reputation_zone r.example weight 0\n", 1, 1,
	  "reputation_zone: weight: \"0\" is out of range 1..100" },
	{ "reputation zone takes no returns",
	  "reputation_zone r.example returns 127.0.0.2\n", 1, 1,
	  "reputation_zone: unexpected \"returns\"" },
	{ "list weight not a score", "dns_list l.example weight -10.5\n", 1,
	  1, "dns_list: weight: \"-10.5\" is no score from -10.0 to +10.0" },
	{ "list weight with two decimals", "dns_list l.example weight 1.25\n",
	  1, 1, "is no score" },
	{ "list weight missing", "dns_list l.example weight\n", 1, 1,
	  "dns_list: weight: missing value" },
	{ "list returns outside 127/8",
	  "dns_list l.example returns 127.0.0.2 10.0.0.2\n", 1, 1,
	  "dns_list: returns: 10.0.0.2 is no list answer" },
	{ "list returns an error code",
	  "dns_list l.example returns 127.255.255.254\n", 1, 1,
	  "is no list answer" },
	{ "list returns twice", "dns_list l.example returns 127.0.0.2 "
	  "127.0.0.2\n", 1, 1, "127.0.0.2 listed twice" },
	{ "list returns nothing", "dns_list l.example returns\n", 1, 1,
	  "dns_list: returns: missing address" },
	{ "list returns not an address", "dns_list l.example returns x\n",
	  1, 1, "dns_list: returns: bad address \"x\"" },
	{ "reputation_zone in a listener", A_OPEN
	  "  reputation_zone r.example\n}\n", 1, 5,
	  "reputation_zone: a global setting, not valid inside listener" },
	{ "reputation at top level", "reputation yes\n", 1, 1,
	  "reputation: only valid inside a listener block" },
	{ "bad reputation", A_OPEN "  reputation often\n}\n", 1, 5,
	  "reputation: expected yes or no, not \"often\"" },
	{ "destination tls bad value", "destination d.example {\n"
	  "  tls always\n}\n", 1, 2,
	  "tls: \"always\" is not none, may, encrypt, verify or dane" },
	{ "global tls bad value", "tls yes\n", 1, 1,
	  "tls: \"yes\" is not none" },
	{ "destination ipv6 not yes/no", "destination d.example {\n"
	  "  ipv6 maybe\n}\n", 1, 2, "ipv6: expected yes or no" },
	{ "global mta_sts not yes/no", "mta_sts 1\n", 1, 1,
	  "mta_sts: expected yes or no" },
	{ "tls_ca_file relative", "tls_ca_file ca.pem\n", 1, 1,
	  "tls_ca_file: \"ca.pem\" is not an absolute path" },
	{ "destination unknown gateway", "gateway out {\n}\n"
	  "destination d.example {\n  gateway out nosuch\n}\n", 1, 4,
	  "destination d.example: no gateway \"nosuch\"" },
	{ "destination gateway without name", "destination d.example {\n"
	  "  gateway\n}\n", 1, 2, "gateway: expected \"gateway NAME" },
	{ "destination gateway twice", "gateway out {\n}\n"
	  "destination d.example {\n  gateway out\n  gateway out\n}\n", 1,
	  5, "gateway: already set at line 4" },
	{ "destination domain twice for a gateway", "gateway out {\n}\n"
	  "destination d.example {\n  gateway out\n}\n"
	  "destination d.example {\n  gateway default out\n}\n", 1, 6,
	  "destination: d.example for gateway out is already in the "
	  "destination block at line 3" },
	{ "destination option twice per gateway ok, limit error after",
	  "gateway out {\n}\n"
	  "destination d.example {\n  gateway out\n}\n"
	  "destination d.example {\n  tls dane\n  frob 1\n}\n", 1, 8,
	  "unknown destination keyword \"frob\"" },
	{ "reputation timeout in a destination", "destination d.example {\n"
	  "  smtpd_reputation_timeout 1s\n}\n", 1, 2,
	  "smtpd_reputation_timeout cannot be set in a destination block" },
	{ "errors go on after the first", "a 1\nb 2\nhostname ok.example\n"
	  "c 3\n", 3, 1, "unknown keyword \"a\"" },
};

START_TEST(config_reports_each_error)
{
	const struct error_case	*c = &error_cases[_i];
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	char			 prefix[64];
	int			 n;

	n = parse(&cfg, c->text, NULL, e);
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", c->want_line);
	ck_assert_msg(n == c->want_nerr, "%s: %d errors, want %d; first: %s",
	    c->what, n, c->want_nerr, n > 0 ? e->msg[0] : "-");
	ck_assert_msg(strncmp(e->msg[0], prefix, strlen(prefix)) == 0,
	    "%s: \"%s\" does not start with \"%s\"", c->what, e->msg[0],
	    prefix);
	ck_assert_msg(strstr(e->msg[0], c->want_msg) != NULL,
	    "%s: \"%s\" lacks \"%s\"", c->what, e->msg[0], c->want_msg);
	config_free(&cfg);
	free(e);
}
END_TEST

/* The file that bwctl's integration test uses: one error per bad line. */
START_TEST(config_reports_all_errors_with_lines)
{
	static const char text[] =
	    "hostname mx.test.example\n"
	    "no_such_setting 1\n"
	    "smtpd_max_recipients 100\n"
	    "smtpd_max_recipients lots\n"
	    "listener private {\n"
	    "    address 127.0.0.1\n"
	    "    port 2525\n"
	    "    type private\n"
	    "    relay_networks 127.0.0.0/8\n"
	    "}\n"
	    "another_unknown_keyword yes\n"
	    "smtpd_timeout_command 10parsecs\n";
	static const int want[] = { 2, 4, 11, 12 };
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	char			 prefix[32];
	int			 i;

	ck_assert_int_eq(parse(&cfg, text, NULL, e), 4);
	for (i = 0; i < 4; i++) {
		snprintf(prefix, sizeof(prefix), "t.conf:%d: ", want[i]);
		ck_assert_msg(strncmp(e->msg[i], prefix, strlen(prefix)) == 0,
		    "%s", e->msg[i]);
	}
	/* The good value before the bad one stays. */
	ck_assert_int_eq(BW_LIMIT(&cfg, LIM_SMTPD_MAX_RECIPIENTS), 100);
	config_free(&cfg);
	free(e);
}
END_TEST

START_TEST(config_line_too_long)
{
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	size_t			 len = 2 * BW_CONFIG_LINE_MAX;
	char			*text = malloc(len + 64);
	char			*p;

	ck_assert_ptr_nonnull(text);
	/* Line 2 is too long; line 3 is still parsed. */
	p = text + sprintf(text, "hostname a.example\nhostname ");
	memset(p, 'a', len);
	strcpy(p + len, "\nfrob 1\n");
	ck_assert_int_eq(parse(&cfg, text, NULL, e), 2);
	ck_assert_str_eq(e->msg[0], "t.conf:2: line too long (max 4096 "
	    "bytes)");
	ck_assert_str_eq(e->msg[1], "t.conf:3: unknown keyword \"frob\"");
	config_free(&cfg);

	/* Exactly BW_CONFIG_LINE_MAX bytes (plus CRLF) is fine. */
	memset(text, ' ', BW_CONFIG_LINE_MAX);
	memcpy(text, "hostname a.example", 18);
	strcpy(text + BW_CONFIG_LINE_MAX, "\r\n");
	e->n = 0;
	ck_assert_int_eq(parse(&cfg, text, NULL, e), 0);
	config_free(&cfg);
	text[BW_CONFIG_LINE_MAX] = ' ';
	strcpy(text + BW_CONFIG_LINE_MAX + 1, "\n");
	ck_assert_int_eq(parse(&cfg, text, NULL, e), 1);
	config_free(&cfg);
	free(text);
	free(e);
}
END_TEST

/* A skipped block that never closes is reported at its header. */
START_TEST(config_reports_unclosed_skipped_block)
{
	struct bw_config	 cfg;
	struct errs		*e = errs_new();

	ck_assert_int_eq(parse(&cfg, "hostname a.example\nlistner a {\n"
	    "  port 25\n", NULL, e), 2);
	ck_assert_str_eq(e->msg[0], "t.conf:2: listner: unexpected \"{\" "
	    "(only listener, gateway, bounce_profile, destination, policy "
	    "and sender_group "
	    "open a block)");
	ck_assert_str_eq(e->msg[1], "t.conf:2: block never closed: missing "
	    "\"}\"");
	config_free(&cfg);
	free(e);
}
END_TEST

/*
 * The list and listener caps: one error at the first item past the cap,
 * and what came before it is kept.
 */
struct cap_case {
	const char	*what;
	const char	*head;		/* before the repeated lines */
	const char	*keyword;	/* of each repeated line */
	const char	*item;		/* repeated per_line times on a line */
	int		 per_line;
	int		 lines;
	const char	*tail;
	int		 want_line;
	const char	*want_msg;
};

static const struct cap_case cap_cases[] = {
	/* 400 a line; line 3 of them passes 1024. */
	{ "too many domains", PUB_OPEN, "accept_domains", " a.example",
	  400, 3, "}\n", 8, "accept_domains: too many domains (max 1024)" },
	{ "too many networks", A_OPEN, "relay_networks", " ::1",
	  400, 3, "}\n", 7, "relay_networks: too many networks (max 1024)" },
	{ "too many balancers", A_OPEN "  relay_networks ::1\n"
	  "  proxy_protocol yes\n", "proxy_from", " 10.0.0.1", 400, 3, "}\n",
	  9, "proxy_from: too many networks (max 1024)" },
};

START_TEST(config_caps_lists)
{
	const struct cap_case	*c = &cap_cases[_i];
	struct bw_config	 cfg;
	struct bw_listener_conf	*l;
	struct errs		*e = errs_new();
	char			*text, *p, want[128];
	size_t			 sz;
	int			 i, j;

	sz = strlen(c->head) + strlen(c->tail) + c->lines *
	    (32 + c->per_line * strlen(c->item)) + 1;
	ck_assert_ptr_nonnull(text = malloc(sz));
	p = text + snprintf(text, sz, "%s", c->head);
	for (i = 0; i < c->lines; i++) {
		p += snprintf(p, sz - (p - text), "  %s", c->keyword);
		for (j = 0; j < c->per_line; j++)
			p += snprintf(p, sz - (p - text), "%s", c->item);
		p += snprintf(p, sz - (p - text), "\n");
	}
	snprintf(p, sz - (p - text), "%s", c->tail);
	ck_assert_msg(parse(&cfg, text, NULL, e) == 1, "%s: %d errors; "
	    "first: %s", c->what, e->n, e->n > 0 ? e->msg[0] : "-");
	snprintf(want, sizeof(want), "t.conf:%d: %s", c->want_line,
	    c->want_msg);
	ck_assert_str_eq(e->msg[0], want);
	ck_assert_ptr_nonnull(l = TAILQ_FIRST(&cfg.listeners));
	ck_assert_int_eq(l->naccept_domains + (l->nproxy_from > 0 ?
	    l->nproxy_from : l->nrelay_networks), BW_CONFIG_LIST_MAX);
	config_free(&cfg);
	free(text);
	free(e);
}
END_TEST

START_TEST(config_caps_listeners)
{
	struct bw_config	 cfg;
	struct bw_listener_conf	*l;
	struct errs		*e = errs_new();
	size_t			 sz = (BW_CONFIG_LISTENERS_MAX + 1) * 128;
	char			*text, *p, want[64];
	int			 i, n = 0;

	ck_assert_ptr_nonnull(text = malloc(sz));
	p = text;
	/* Five lines each; the one past the cap starts at line 321. */
	for (i = 0; i <= BW_CONFIG_LISTENERS_MAX; i++)
		p += snprintf(p, sz - (p - text), "listener l%d {\n"
		    "  address 127.0.0.1\n  port %d\n"
		    "  relay_networks ::1\n}\n", i, 2000 + i);
	ck_assert_int_eq(parse(&cfg, text, NULL, e), 1);
	snprintf(want, sizeof(want), "t.conf:%d: too many listeners (max %d)",
	    BW_CONFIG_LISTENERS_MAX * 5 + 1, BW_CONFIG_LISTENERS_MAX);
	ck_assert_str_eq(e->msg[0], want);
	TAILQ_FOREACH(l, &cfg.listeners, entry)
		n++;
	ck_assert_int_eq(n, BW_CONFIG_LISTENERS_MAX);
	config_free(&cfg);
	free(text);
	free(e);
}
END_TEST

START_TEST(config_stops_after_too_many_errors)
{
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	char			*text = malloc(200 * 8 + 1);
	int			 i;

	ck_assert_ptr_nonnull(text);
	text[0] = '\0';
	for (i = 0; i < 200; i++)
		strcat(text, "frob 1\n");
	ck_assert_int_eq(parse(&cfg, text, NULL, e), BW_CONFIG_ERRORS_MAX + 1);
	ck_assert_str_eq(e->msg[BW_CONFIG_ERRORS_MAX - 1],
	    "t.conf:100: unknown keyword \"frob\"");
	ck_assert_str_eq(e->msg[BW_CONFIG_ERRORS_MAX],
	    "t.conf:101: too many errors (100), stopping");
	config_free(&cfg);
	free(text);
	free(e);
}
END_TEST

/* Lines that must parse without any error. */
static const char *const good_texts[] = {
	"",
	"\n\n   \n\t\n",
	"# only a comment\n",
	"hostname a.example # trailing comment\n",
	"hostname \"a.example\"\n",
	"hostname a.example\r\n",
	"hostname a.example",			/* no final newline */
	"admin_group \"\"\n",
	"tls_cert \"/etc/with space/c.pem\"\ntls_key /k#not-a-comment\n",
	PRIV,
	"listener p{\n address 127.0.0.1\n port 25\n relay_networks ::1\n}\n",
	PUB_OPEN "  tls starttls\n  tls_required yes\n}\n"
	    "tls_cert /etc/c.pem\ntls_key /etc/k.pem\n",
	PUB_OPEN "  tls implicit\n  tls_cert /c\n  tls_key /k\n}\n",
	PUB_OPEN "  allow_untrusted_routing yes\n}\n",
	A_OPEN "  allow_untrusted_routing no\n}\n",
	"hopcount_limit 1\nsmtpd_junk_command_limit 100000\n",
	PUB_OPEN "  accept_domains EXAMPLE.NET *.example.net\n"
	    "  accept_domains xn--bcher-kva.example\n  greeting_delay 5s\n}\n",
	"smtpd_max_input_buffer 4k\nsmtpd_max_text_line 1000\n",
	"user smtpd a\nuser queued b\nuser deliverd c\nuser dnscached d\n"
	    "user controld e\ndeliverd_workers 4\n",
	"gateway g {\n}\n",
	"gateway g{\n  helo \"\"\n  source ::1\n}\n",
	"gateway_rule sender_domain a.example g\ngateway g {\n}\n",
	"gateway_rule sender a@a.example default\n"
	    "gateway_rule sender_domain a.example default\n",
	"bounce_gateway b\ndefault_gateway b\ngateway b {\n}\n",
	"gateway default {\n  helo out.example\n}\n",
	"route a.example -> [127.0.0.1]\n",
	"route a.example -> [::1]:1/0 [127.0.0.1]:65535/65535 b.example\n",
	"route a.example -> mx.example:2525 mx.example:2526\n",
	"bounce_profile p {\n}\n",
	"bounce_profile p {\n  delay_warning 0\n}\n",
	"bounce_profile p {\n  delay_warning 30d\n}\n",
	"bounce_profile p {\n  retry_initial 1s\n  retry_max 1s\n"
	    "  max_age 1s\n  max_retries 1000\n}\n",
	"bounce_profile p {\n  retry_initial 1d\n  retry_max 7d\n"
	    "  max_age 30d\n  max_retries -1\n}\n",
	"default_bounce_profile p\nbounce_profile p {\n}\n",
	"bounce_profile default {\n  domains a.example\n}\n",
	"dns_servers 127.0.0.1 ::1 [::1]:5353 [127.0.0.2]:1 127.0.0.3:65535\n",
	"dns_servers 127.0.0.1:53\ndns_servers 127.0.0.1:54\n",
	"dns_upstream_validates yes\n",
	"dns_upstream_validates NO\n",
	A_OPEN "  smtpd_greeting_delay 1s\n  message_size_limit 1m\n"
	    "  smtpd_max_connections_per_ip 5\n  hopcount_limit 10\n}\n",
	"destination a.example *.a.example .b.example {\n"
	    "  deliver_max_messages_per_connection 2\n"
	    "  deliver_max_connections_per_domain 1\n"
	    "  deliver_timeout_connect 5s\n}\n",
	"destination a.example {\n}\ndestination *.a.example {\n}\n",
	"destination A.Example {\n}\n",
	/* a block raising the buffer for its longer lines */
	A_OPEN "  smtpd_max_text_line 1m\n  smtpd_max_input_buffer 2m\n}\n",
};

START_TEST(config_accepts_good_text)
{
	struct bw_config	 cfg;
	struct errs		*e = errs_new();

	ck_assert_msg(parse(&cfg, good_texts[_i], NULL, e) == 0,
	    "text %d: %s", _i, e->msg[0]);
	config_free(&cfg);
	free(e);
}
END_TEST

/* Every parsed value lands in its field. */
/* reputation_zone, dns_list, the listener's reputation and the table. */
START_TEST(config_sets_reputation)
{
	static const char text[] =
	    "reputation_zone r1.example weight 3\n"
	    "reputation_zone R2.Example.\n"
	    "dns_list bl.example weight -5.0\n"
	    "dns_list wl.example returns 127.0.0.3 127.0.15.2 weight +2.5\n"
	    "dns_list plain.example\n"
	    "reputation_zone " REP_ZONE_189 "\n"
	    "policy p {\n  behaviour accept\n}\n"
	    "sender_group g {\n  policy p\n"
	    "  dns_list Grp.example. 127.0.0.2\n  dns_list bl.example\n"
	    "  dns_list late.example\n}\n"
	    "dns_list late.example weight 1\n"
	    "smtpd_reputation_timeout 500ms\n"
	    PUB_OPEN "  reputation no\n  smtpd_reputation_timeout 1s\n}\n"
	    "listener b {\n  address 127.0.0.1\n  port 26\n"
	    "  relay_networks 127.0.0.0/8\n}\n";
	struct bw_config		 cfg;
	const struct bw_rep_zone	*z;
	struct bw_listener_conf		*l;
	struct errs			*e = errs_new();
	char				 name[32];
	int				 i;

	ck_assert_msg(parse(&cfg, text, NULL, e) == 0, "%s", e->msg[0]);
	/* a group's zones join the table: a new one queried only, a
	 * declared one as it is, a later declaration gives it its kind */
	ck_assert_uint_eq(config_rep_zone_count(&cfg), 8);
	z = config_rep_zone_at(&cfg, 6);
	ck_assert_str_eq(z->name, "grp.example");
	ck_assert_int_eq(z->kind, BW_REP_QUERY);
	ck_assert_int_eq(z->line, 12);
	ck_assert_str_eq(config_group_find(&cfg, "g")->dnsl[0].zone,
	    "grp.example");
	z = config_rep_zone_at(&cfg, 7);
	ck_assert_str_eq(z->name, "late.example");
	ck_assert_int_eq(z->kind, BW_REP_LIST);
	ck_assert_int_eq(z->weight, 10);
	ck_assert_int_eq(z->line, 16);
	ck_assert_int_eq(config_rep_zone_at(&cfg, 2)->kind, BW_REP_LIST);
	z = config_rep_zone_at(&cfg, 0);
	ck_assert_str_eq(z->name, "r1.example");
	ck_assert_int_eq(z->kind, BW_REP_SCORE);
	ck_assert_int_eq(z->weight, 3);
	ck_assert_int_eq(z->line, 1);
	z = config_rep_zone_at(&cfg, 1);
	ck_assert_str_eq(z->name, "r2.example");	/* lower, no dot */
	ck_assert_int_eq(z->weight, 1);
	z = config_rep_zone_at(&cfg, 2);
	ck_assert_int_eq(z->kind, BW_REP_LIST);
	ck_assert_int_eq(z->weight, -50);		/* tenths */
	ck_assert_int_eq(z->nreturns, 0);
	z = config_rep_zone_at(&cfg, 3);
	ck_assert_int_eq(z->weight, 25);
	ck_assert_int_eq(z->nreturns, 2);
	ck_assert_uint_eq(z->returns[0], 0x7f000003u);	/* host order */
	ck_assert_uint_eq(z->returns[1], 0x7f000f02u);
	ck_assert_int_eq(config_rep_zone_at(&cfg, 4)->weight, 0);
	ck_assert_uint_eq(strlen(config_rep_zone_at(&cfg, 5)->name), 189);
	ck_assert_ptr_null(config_rep_zone_at(&cfg, 8));
	ck_assert_int_eq(config_rep_zone_find(&cfg, "WL.example."), 3);
	ck_assert_int_eq(config_rep_zone_find(&cfg, "nope.example"), -1);
	/* a sender group's zone: the declared one keeps its index and
	 * kind; a new one is queried, not scored, until declared */
	ck_assert_int_eq(config_rep_zone_add(&cfg, "bl.example",
	    BW_REP_QUERY), 2);
	ck_assert_int_eq(config_rep_zone_at(&cfg, 2)->kind, BW_REP_LIST);
	ck_assert_int_eq(config_rep_zone_add(&cfg, "g.example",
	    BW_REP_QUERY), 8);
	ck_assert_int_eq(config_rep_zone_at(&cfg, 8)->kind, BW_REP_QUERY);
	ck_assert_int_eq(config_rep_zone_add(&cfg, "G.example.",
	    BW_REP_LIST), 8);
	ck_assert_int_eq(config_rep_zone_at(&cfg, 8)->kind, BW_REP_LIST);
	ck_assert_int_eq(config_rep_zone_add(&cfg, "g.example",
	    BW_REP_SCORE), BW_REP_EDUP);
	ck_assert_int_eq(config_rep_zone_add(&cfg, "a_b.example",
	    BW_REP_QUERY), BW_REP_EBADNAME);
	ck_assert_int_eq(config_rep_zone_add(&cfg, REP_ZONE_190,
	    BW_REP_QUERY), BW_REP_ETOOLONG);
	for (i = 9; i < BW_REP_ZONES_MAX; i++) {
		snprintf(name, sizeof(name), "z%d.example", i);
		ck_assert_int_eq(config_rep_zone_add(&cfg, name,
		    BW_REP_QUERY), i);
	}
	ck_assert_int_eq(config_rep_zone_add(&cfg, "one.more.example",
	    BW_REP_QUERY), BW_REP_ETOOMANY);
	/* the listener's switch and budget; the other keeps the defaults */
	l = TAILQ_FIRST(&cfg.listeners);
	ck_assert_int_eq(l->reputation, 0);
	ck_assert_int_eq(l->limits.v[LIM_SMTPD_REPUTATION_TIMEOUT], 1000);
	l = TAILQ_NEXT(l, entry);
	ck_assert_int_eq(l->reputation, -1);
	ck_assert_int_eq(l->limits.v[LIM_SMTPD_REPUTATION_TIMEOUT], 500);
	config_free(&cfg);
	config_free(&cfg);		/* twice is fine */
	ck_assert_uint_eq(config_rep_zone_count(&cfg), 0);
	free(e);
}
END_TEST

START_TEST(config_sets_values)
{
	static const char text[] =
	    "hostname MX.Example.ORG\n"
	    "runtime_dir /r\nspool_dir /s\nchroot_dir /c\n"
	    "tls_cert /tls/cert.pem\ntls_key /tls/key.pem\n"
	    "admin_group staff\n"
	    "user smtpd u1\nuser queued u2\nuser deliverd u3\n"
	    "user dnscached u4\nuser controld u5\n"
	    "deliverd_workers 8\n"
	    "message_size_limit 10m\nsmtpd_timeout_command 90\n"
	    "queue_commit_delay 5ms\n"
	    "listener in {\n"
	    "  address ::\n  port 25\n  type public\n  tls starttls\n"
	    "  tls_required no\n  greeting_delay 3s\n"
	    "  allow_untrusted_routing yes\n  reverse_dns no\n"
	    "  accept_domains Example.org *.example.org\n"
	    "  accept_domains example.net\n"
	    "}\n"
	    "listener out {\n"
	    "  address 10.0.0.1\n  port 587\n  type private\n"
	    "  tls implicit\n  tls_cert /o/c\n  tls_key /o/k\n"
	    "  relay_networks 10.0.0.0/8 2001:db8::/32\n"
	    "  relay_networks 192.0.2.1\n"
	    "  proxy_protocol yes\n"
	    "  proxy_from 192.0.2.10 2001:db8:1::/48\n"
	    "  smtpd_proxy_timeout 2s\n"
	    "}\n";
	struct bw_config	 cfg;
	struct bw_listener_conf	*l;
	struct errs		*e = errs_new();

	ck_assert_msg(parse(&cfg, text, NULL, e) == 0, "%s", e->msg[0]);
	ck_assert_str_eq(cfg.path, "");
	ck_assert_str_eq(cfg.hostname, "mx.example.org");
	ck_assert_str_eq(cfg.runtime_dir, "/r");
	ck_assert_str_eq(cfg.spool_dir, "/s");
	ck_assert_str_eq(cfg.chroot_dir, "/c");
	ck_assert_str_eq(cfg.tls_cert, "/tls/cert.pem");
	ck_assert_str_eq(cfg.tls_key, "/tls/key.pem");
	ck_assert_str_eq(cfg.admin_group, "staff");
	ck_assert_str_eq(cfg.user_smtpd, "u1");
	ck_assert_str_eq(cfg.user_queued, "u2");
	ck_assert_str_eq(cfg.user_deliverd, "u3");
	ck_assert_str_eq(cfg.user_dnscached, "u4");
	ck_assert_str_eq(cfg.user_controld, "u5");
	ck_assert_int_eq(cfg.deliverd_workers, 8);
	ck_assert_int_eq(cfg.dev_mode, 0);
	ck_assert_int_eq(BW_LIMIT(&cfg, LIM_MESSAGE_SIZE_LIMIT), 10485760);
	ck_assert_int_eq(BW_LIMIT(&cfg, LIM_SMTPD_TIMEOUT_COMMAND), 90000);
	ck_assert_int_eq(BW_LIMIT(&cfg, LIM_QUEUE_COMMIT_DELAY), 5);
	ck_assert_int_eq(BW_LIMIT(&cfg, LIM_SMTPD_MAX_ERRORS),
	    bw_limit_defs[LIM_SMTPD_MAX_ERRORS].def);

	l = TAILQ_FIRST(&cfg.listeners);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(l->name, "in");
	ck_assert_str_eq(l->address, "::");
	ck_assert_int_eq(l->port, 25);
	ck_assert_int_eq(l->public, 1);
	ck_assert_int_eq(l->tls, BW_TLS_STARTTLS);
	ck_assert_int_eq(l->tls_required, 0);
	ck_assert_str_eq(l->tls_cert, "");
	ck_assert_int_eq(l->limits.v[LIM_SMTPD_GREETING_DELAY], 3000);
	ck_assert_int_eq(l->lim_over.line[LIM_SMTPD_GREETING_DELAY], 23);
	/* the global values reach the listener's set */
	ck_assert_int_eq(l->limits.v[LIM_MESSAGE_SIZE_LIMIT], 10485760);
	ck_assert_ptr_eq(config_limits_for_listener(&cfg, "in"), &l->limits);
	ck_assert_int_eq(l->allow_untrusted_routing, 1);
	ck_assert_int_eq(l->reverse_dns, 0);
	ck_assert_int_eq(l->naccept_domains, 3);
	ck_assert_str_eq(l->accept_domains[0], "example.org");
	ck_assert_str_eq(l->accept_domains[1], "*.example.org");
	ck_assert_str_eq(l->accept_domains[2], "example.net");
	ck_assert_int_eq(l->nrelay_networks, 0);
	ck_assert_int_eq(l->proxy_protocol, 0);
	ck_assert_int_eq(l->nproxy_from, 0);
	ck_assert_int_eq(l->limits.v[LIM_SMTPD_PROXY_TIMEOUT],
	    bw_limit_defs[LIM_SMTPD_PROXY_TIMEOUT].def);
	ck_assert_int_eq(l->line, 17);

	l = TAILQ_NEXT(l, entry);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(l->name, "out");
	ck_assert_int_eq(l->public, 0);
	ck_assert_int_eq(l->tls, BW_TLS_IMPLICIT);
	ck_assert_str_eq(l->tls_cert, "/o/c");
	ck_assert_str_eq(l->tls_key, "/o/k");
	ck_assert_int_eq(l->limits.v[LIM_SMTPD_GREETING_DELAY],
	    BW_LIMIT(&cfg, LIM_SMTPD_GREETING_DELAY));
	ck_assert_int_eq(l->allow_untrusted_routing, 0);
	ck_assert_int_eq(l->reverse_dns, -1);	/* by type and client */
	ck_assert_int_eq(l->nrelay_networks, 3);
	ck_assert_int_eq(l->relay_networks[1].family, AF_INET6);
	ck_assert_int_eq(l->relay_networks[1].prefixlen, 32);
	ck_assert_int_eq(l->relay_networks[2].prefixlen, 32);
	ck_assert_int_eq(l->proxy_protocol, 1);
	ck_assert_int_eq(l->nproxy_from, 2);
	ck_assert_int_eq(l->proxy_from[0].family, AF_INET);
	ck_assert_int_eq(l->proxy_from[1].prefixlen, 48);
	ck_assert_int_eq(l->limits.v[LIM_SMTPD_PROXY_TIMEOUT], 2000);
	ck_assert_ptr_null(TAILQ_NEXT(l, entry));
	config_free(&cfg);
	ck_assert_ptr_null(TAILQ_FIRST(&cfg.listeners));
	config_free(&cfg);
	free(e);
}
END_TEST

/*
 * The delivery caps: gateways and profiles count the built-in "default",
 * so the file may add one fewer; one error at the first item past the cap.
 */
struct dcap_case {
	const char	*what;
	const char	*fmt;		/* one item; %d twice at most */
	int		 lines;		/* per item */
	int		 items;		/* generated */
	int		 want_item;	/* 0-based index of the refused one */
	const char	*want_msg;
};

static const struct dcap_case dcap_cases[] = {
	{ "too many gateways", "gateway g%d {\n}\n", 2,
	  BW_CONFIG_GATEWAYS_MAX, BW_CONFIG_GATEWAYS_MAX - 1,
	  "too many gateways (max 64)" },
	{ "too many bounce profiles", "bounce_profile p%d {\n}\n", 2,
	  BW_CONFIG_PROFILES_MAX, BW_CONFIG_PROFILES_MAX - 1,
	  "too many bounce profiles (max 64)" },
	{ "too many routes", "route r%d.example -> mx.example\n", 1,
	  BW_CONFIG_ROUTES_MAX + 1, BW_CONFIG_ROUTES_MAX,
	  "too many routes (max 1024)" },
	{ "too many gateway rules", "gateway_rule sender_domain "
	  "r%d.example default\n", 1, BW_CONFIG_GWRULES_MAX + 1,
	  BW_CONFIG_GWRULES_MAX, "too many gateway rules (max 1024)" },
	{ "too many destination blocks", "destination d%d.example {\n}\n", 2,
	  BW_CONFIG_DESTS_MAX + 1, BW_CONFIG_DESTS_MAX,
	  "too many destination blocks (max 1024)" },
};

START_TEST(config_caps_delivery)
{
	const struct dcap_case	*c = &dcap_cases[_i];
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	size_t			 sz = (size_t)c->items * 128;
	char			*text, *p, want[128];
	int			 i;

	ck_assert_ptr_nonnull(text = malloc(sz));
	p = text;
	*p = '\0';
	for (i = 0; i < c->items; i++)
		p += snprintf(p, sz - (p - text), c->fmt, i);
	ck_assert_msg(parse(&cfg, text, NULL, e) == 1, "%s: %d errors; "
	    "first: %s", c->what, e->n, e->n > 0 ? e->msg[0] : "-");
	snprintf(want, sizeof(want), "t.conf:%d: %s",
	    c->want_item * c->lines + 1, c->want_msg);
	ck_assert_str_eq(e->msg[0], want);
	config_free(&cfg);
	free(text);
	free(e);
}
END_TEST

/* Every delivery setting lands in its field. */
START_TEST(config_sets_delivery_values)
{
	static const char text[] =
	    PRIV						/* 1-6 */
	    "hostname mx.example.org\n"				/* 7 */
	    "gateway out {\n"					/* 8 */
	    "  helo Out.Example.ORG\n"
	    "  source 192.0.2.1 2001:db8::1\n"
	    "  source 192.0.2.2\n"
	    "}\n"
	    "gateway default {\n"				/* 13 */
	    "  source 198.51.100.1\n"
	    "}\n"
	    "gateway_rule listener p out\n"			/* 16 */
	    "default_gateway out\n"
	    "bounce_gateway default\n"
	    "route Hub.Example -> mx1.hub.example mx2.hub.example:2525/5 "
	    "[192.0.2.7]:26 [2001:db8::7]\n"			/* 19 */
	    "bounce_profile fast {\n"				/* 20 */
	    "  retry_initial 30s\n  retry_max 10m\n  max_age 1h\n"
	    "  max_retries 0\n"
	    "  domains A.example b.example\n  domains c.example\n"
	    "}\n"
	    "bounce_profile default {\n"			/* 28 */
	    "  max_age 3d\n"
	    "  delay_warning 90m\n"
	    "}\n"
	    "default_bounce_profile fast\n"
	    "dns_servers 127.0.0.1 127.0.0.2:5353 ::1 [2001:db8::53]:5300\n";
	struct bw_config		 cfg;
	const struct bw_gateway_conf	*gw;
	const struct bw_route_conf	*rt;
	const struct bw_profile_conf	*pr;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	struct errs			*e = errs_new();
	char				 buf[INET6_ADDRSTRLEN];
	int				 n = 0;

	ck_assert_msg(parse(&cfg, text, NULL, e) == 0, "%s", e->msg[0]);
	ck_assert_ptr_nonnull(gw = config_gateway_find(&cfg, "out"));
	ck_assert_str_eq(gw->helo, "out.example.org");
	ck_assert_int_eq(gw->nsources, 3);
	ck_assert_int_eq(gw->line, 8);
	sin = (const struct sockaddr_in *)&gw->sources[0];
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(sin->sin_port, 0);
	ck_assert_str_eq(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)),
	    "192.0.2.1");
	sin6 = (const struct sockaddr_in6 *)&gw->sources[1];
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_str_eq(inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
	    sizeof(buf)), "2001:db8::1");
	/* The redefined default: its sources, and helo = hostname. */
	ck_assert_ptr_nonnull(gw = config_gateway_find(&cfg, "default"));
	ck_assert_int_eq(gw->nsources, 1);
	ck_assert_str_eq(gw->helo, "mx.example.org");
	ck_assert_int_eq(gw->line, 13);
	TAILQ_FOREACH(gw, &cfg.gateways, entry)
		n++;
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(cfg.default_gateway, "out");
	ck_assert_str_eq(cfg.bounce_gateway, "default");

	ck_assert_ptr_nonnull(rt = config_route_find(&cfg, "hub.example"));
	ck_assert_str_eq(rt->domain, "hub.example");
	ck_assert_int_eq(rt->line, 19);
	ck_assert_int_eq(rt->nhosts, 4);
	ck_assert_str_eq(rt->hosts[0].host, "mx1.hub.example");
	ck_assert_int_eq(rt->hosts[0].literal, 0);
	ck_assert_int_eq(rt->hosts[0].port, 25);
	ck_assert_int_eq(rt->hosts[0].priority, 10);
	ck_assert_str_eq(rt->hosts[1].host, "mx2.hub.example");
	ck_assert_int_eq(rt->hosts[1].port, 2525);
	ck_assert_int_eq(rt->hosts[1].priority, 5);
	ck_assert_str_eq(rt->hosts[2].host, "192.0.2.7");
	ck_assert_int_eq(rt->hosts[2].literal, 1);
	ck_assert_int_eq(rt->hosts[2].port, 26);
	ck_assert_int_eq(rt->hosts[2].priority, 30);
	ck_assert_str_eq(rt->hosts[3].host, "2001:db8::7");
	ck_assert_int_eq(rt->hosts[3].literal, 1);
	ck_assert_int_eq(rt->hosts[3].port, 25);
	ck_assert_int_eq(rt->hosts[3].priority, 40);

	ck_assert_ptr_nonnull(pr = config_profile_for(&cfg, "a.example"));
	ck_assert_str_eq(pr->name, "fast");
	ck_assert_int_eq(pr->retry_initial, 30000);
	ck_assert_int_eq(pr->retry_max, 600000);
	ck_assert_int_eq(pr->max_age, 3600000);
	ck_assert_int_eq(pr->max_retries, 0);
	ck_assert_int_eq(pr->delay_warning, 4 * 3600000);	/* default */
	ck_assert_int_eq(pr->ndomains, 3);
	ck_assert_str_eq(pr->domains[0], "a.example");
	/* No domain of its own: the default_bounce_profile. */
	ck_assert_ptr_eq(config_profile_for(&cfg, "z.example"), pr);
	ck_assert_str_eq(cfg.default_profile, "fast");
	/* The redefined "default" keeps the built-in values it does not set. */
	TAILQ_FOREACH(pr, &cfg.profiles, entry)
		if (strcmp(pr->name, "default") == 0)
			break;
	ck_assert_ptr_nonnull(pr);
	ck_assert_int_eq(pr->retry_initial, 300000);
	ck_assert_int_eq(pr->retry_max, 3600000);
	ck_assert_int_eq(pr->max_age, 3 * 86400000LL);
	ck_assert_int_eq(pr->max_retries, -1);
	ck_assert_int_eq(pr->delay_warning, 90 * 60000);
	ck_assert_int_eq(pr->line, 28);

	ck_assert_int_eq(cfg.ndns_servers, 4);
	sin = (const struct sockaddr_in *)&cfg.dns_servers[0];
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 53);
	sin = (const struct sockaddr_in *)&cfg.dns_servers[1];
	ck_assert_int_eq(ntohs(sin->sin_port), 5353);
	ck_assert_str_eq(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)),
	    "127.0.0.2");
	sin6 = (const struct sockaddr_in6 *)&cfg.dns_servers[2];
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 53);
	sin6 = (const struct sockaddr_in6 *)&cfg.dns_servers[3];
	ck_assert_int_eq(ntohs(sin6->sin6_port), 5300);
	ck_assert_str_eq(inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
	    sizeof(buf)), "2001:db8::53");

	config_free(&cfg);
	ck_assert_ptr_null(TAILQ_FIRST(&cfg.gateways));
	ck_assert_ptr_null(TAILQ_FIRST(&cfg.profiles));
	ck_assert_ptr_null(TAILQ_FIRST(&cfg.routes));
	ck_assert_ptr_null(TAILQ_FIRST(&cfg.gwrules));
	config_free(&cfg);
	free(e);
}
END_TEST

/* Without any delivery setting: the built-in gateway and profile. */
START_TEST(config_delivery_builtins)
{
	struct bw_config		 cfg;
	const struct bw_gateway_conf	*gw;
	const struct bw_profile_conf	*pr;
	struct errs			*e = errs_new();

	ck_assert_int_eq(parse(&cfg, "hostname h.example\n", NULL, e), 0);
	ck_assert_str_eq(cfg.default_gateway, BW_GATEWAY_DEFAULT);
	ck_assert_str_eq(cfg.bounce_gateway, BW_GATEWAY_DEFAULT);
	ck_assert_str_eq(cfg.default_profile, BW_PROFILE_DEFAULT);
	ck_assert_ptr_nonnull(gw = config_gateway_find(&cfg, "default"));
	ck_assert_int_eq(gw->nsources, 0);
	ck_assert_str_eq(gw->helo, "h.example");
	ck_assert_int_eq(gw->line, 0);
	ck_assert_ptr_null(config_gateway_find(&cfg, "nope"));
	ck_assert_ptr_null(config_gateway_find(&cfg, NULL));
	ck_assert_str_eq(config_gateway_for(&cfg, "local", "a@b.example"),
	    "default");
	ck_assert_str_eq(config_gateway_for(&cfg, NULL, NULL), "default");
	ck_assert_ptr_null(config_route_find(&cfg, "b.example"));
	ck_assert_ptr_nonnull(pr = config_profile_for(&cfg, "b.example"));
	ck_assert_str_eq(pr->name, "default");
	ck_assert_int_eq(pr->retry_initial, 5 * 60 * 1000);
	ck_assert_int_eq(pr->retry_max, 60 * 60 * 1000);
	ck_assert_int_eq(pr->max_age, 5 * 86400 * 1000LL);
	ck_assert_int_eq(pr->max_retries, -1);
	ck_assert_ptr_eq(config_profile_for(&cfg, NULL), pr);
	ck_assert_int_eq(cfg.ndns_servers, 0);
	ck_assert_int_eq(cfg.dns_upstream_validates, 0);
	config_free(&cfg);
	free(e);
}
END_TEST

/* Gateway rules: file order, first match wins. */
struct gwfor_case {
	const char	*listener;
	const char	*sender;
	const char	*want;
};

static const struct gwfor_case gwfor_cases[] = {
	{ "p", "ceo@corp.example", "vip" },
	{ "p", "CEO@Corp.Example", "vip" },
	{ "p", "ceo@corp.example.", "vip" },
	{ "p", "x@corp.example", "out" },
	{ "q", "x@CORP.EXAMPLE.", "out" },
	{ "p", "x@sub.corp.example", "fromp" },	/* not a subdomain match */
	{ "q", "x@sub.corp.example", "main" },
	{ "p", "\"a@b\"@news.example", "bulk" },	/* the last '@' */
	{ "q", "news.example", "main" },		/* no '@' */
	{ "p", "", "fromp" },				/* null sender */
	{ "p", NULL, "fromp" },
	{ "P", "x@other.example", "main" },		/* names: exact */
	{ NULL, "x@other.example", "main" },
	{ NULL, NULL, "main" },
	{ "q", "x@news.example", "bulk" },
	{ "q", "x@corp.example.x", "main" },
	{ "q", "x@", "main" },
};

START_TEST(config_gateway_for_table)
{
	static const char text[] =
	    PRIV
	    "listener q {\n  address 127.0.0.1\n  port 2526\n"
	    "  relay_networks ::1\n}\n"
	    "gateway_rule sender CEO@corp.example vip\n"
	    "gateway_rule sender_domain Corp.Example out\n"
	    "gateway_rule sender_domain news.example bulk\n"
	    "gateway_rule listener p fromp\n"
	    "default_gateway main\n"
	    "gateway vip {\n}\ngateway out {\n}\ngateway bulk {\n}\n"
	    "gateway fromp {\n}\ngateway main {\n}\n";
	const struct gwfor_case	*c = &gwfor_cases[_i];
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	const char		*got;

	ck_assert_msg(parse(&cfg, text, NULL, e) == 0, "%s", e->msg[0]);
	got = config_gateway_for(&cfg, c->listener, c->sender);
	ck_assert_msg(got != NULL && strcmp(got, c->want) == 0,
	    "(%s, %s): %s, want %s", c->listener ? c->listener : "NULL",
	    c->sender ? c->sender : "NULL", got ? got : "NULL", c->want);
	ck_assert_ptr_nonnull(config_gateway_find(&cfg, got));
	config_free(&cfg);
	free(e);
}
END_TEST

/* Routes and profiles by destination domain. */
struct dest_case {
	const char	*domain;
	const char	*want_route;	/* route domain or NULL */
	const char	*want_profile;
};

static const struct dest_case dest_cases[] = {
	{ "a.example", "a.example", "fast" },
	{ "A.EXAMPLE", "a.example", "fast" },
	{ "a.example.", "a.example", "fast" },
	{ "a.example..", NULL, "slow" },
	{ "sub.a.example", NULL, "slow" },
	{ "b.example", "b.example", "none" },
	{ "x.a.example", NULL, "slow" },
	{ "example", NULL, "slow" },
	{ "", NULL, "slow" },
	{ ".", NULL, "slow" },
	{ "c.example", NULL, "fast" },
};

START_TEST(config_dest_lookup_table)
{
	static const char text[] =
	    "route a.example -> [127.0.0.1]:2526\n"
	    "route B.example -> mx.example\n"
	    "bounce_profile fast {\n  domains a.example c.example\n}\n"
	    "bounce_profile none {\n  max_retries 0\n  domains b.example\n}\n"
	    "bounce_profile slow {\n  retry_max 4h\n  domains x.slow.example\n"
	    "}\n"
	    "default_bounce_profile slow\n";
	const struct dest_case		*c = &dest_cases[_i];
	struct bw_config		 cfg;
	struct errs			*e = errs_new();
	const struct bw_route_conf	*rt;
	const struct bw_profile_conf	*pr;

	ck_assert_msg(parse(&cfg, text, NULL, e) == 0, "%s", e->msg[0]);
	rt = config_route_find(&cfg, c->domain);
	if (c->want_route == NULL)
		ck_assert_msg(rt == NULL, "%s: route %s", c->domain,
		    rt ? rt->domain : "");
	else {
		ck_assert_msg(rt != NULL, "%s: no route", c->domain);
		ck_assert_str_eq(rt->domain, c->want_route);
	}
	ck_assert_ptr_nonnull(pr = config_profile_for(&cfg, c->domain));
	ck_assert_msg(strcmp(pr->name, c->want_profile) == 0,
	    "%s: profile %s, want %s", c->domain, pr->name, c->want_profile);
	config_free(&cfg);
	free(e);
}
END_TEST

/*
 * Limits table.
 */

START_TEST(limits_table_is_sane)
{
	const struct bw_limit_def	*d = &bw_limit_defs[_i];
	const char			*s;

	ck_assert_ptr_nonnull(d->name);
	ck_assert_int_eq(d->id, _i);
	for (s = d->name; *s != '\0'; s++)
		ck_assert_msg((*s >= 'a' && *s <= 'z') || *s == '_' ||
		    (*s >= '0' && *s <= '9' && s != d->name),
		    "%s: not lower case", d->name);
	ck_assert_msg(d->min <= d->def && d->def <= d->max,
	    "%s: default %lld outside %lld..%lld", d->name, d->def, d->min,
	    d->max);
	ck_assert_int_ge(d->min, 0);
	ck_assert_msg(d->reason != NULL && strlen(d->reason) > 10,
	    "%s: no reason", d->name);
	ck_assert_ptr_eq(bw_limit_find(d->name), d);
	ck_assert_str_ne(bw_limit_unit_name(d->unit), "?");
}
END_TEST

/* Value text that means exactly v in the row's unit. */
static void
limit_text(const struct bw_limit_def *d, long long v, char *buf, size_t sz)
{
	snprintf(buf, sz, "%lld%s", v, d->unit == BW_UNIT_MS ? "ms" : "");
}

/*
 * Room for every line-size limit and every DNS timeout, so that only the
 * row under test fails (5 lines).
 */
#define LIMIT_PREFIX \
	"smtpd_max_input_buffer 64m\n" \
	"smtpd_max_text_line 1000\n" \
	"smtpd_max_command_line 512\n" \
	"dns_attempt_timeout 100ms\n" \
	"dns_query_deadline 5m\n"

static int
limit_try(const struct bw_limit_def *d, long long v, struct errs *e,
    long long *got)
{
	struct bw_config	 cfg;
	char			 val[64], text[256];
	int			 n;

	limit_text(d, v, val, sizeof(val));
	snprintf(text, sizeof(text), LIMIT_PREFIX "%s %s\n", d->name, val);
	e->n = 0;
	n = parse(&cfg, text, NULL, e);
	*got = BW_LIMIT(&cfg, d->id);
	config_free(&cfg);
	return n;
}

START_TEST(limits_range_enforced)
{
	const struct bw_limit_def	*d = &bw_limit_defs[_i];
	struct errs			*e = errs_new();
	char				 want[128];
	long long			 got;

	ck_assert_msg(limit_try(d, d->min, e, &got) == 0, "%s", e->msg[0]);
	ck_assert_int_eq(got, d->min);
	ck_assert_msg(limit_try(d, d->max, e, &got) == 0, "%s", e->msg[0]);
	ck_assert_int_eq(got, d->max);
	ck_assert_msg(limit_try(d, d->def, e, &got) == 0, "%s", e->msg[0]);
	ck_assert_int_eq(got, d->def);

	snprintf(want, sizeof(want), "out of range %lld..%lld (%s)", d->min,
	    d->max, bw_limit_unit_name(d->unit));
	ck_assert_int_eq(limit_try(d, d->max + 1, e, &got), 1);
	ck_assert_msg(strncmp(e->msg[0], "t.conf:6: ", 10) == 0 &&
	    strstr(e->msg[0], d->name) != NULL &&
	    strstr(e->msg[0], want) != NULL, "%s", e->msg[0]);
	ck_assert_int_ne(got, d->max + 1);
	/* min - 1 is either out of range or, below zero, not a number. */
	ck_assert_int_eq(limit_try(d, d->min - 1, e, &got), 1);
	ck_assert_msg(strstr(e->msg[0], d->name) != NULL &&
	    (d->min == 0 ? strstr(e->msg[0], "bad") != NULL :
	    strstr(e->msg[0], want) != NULL), "%s", e->msg[0]);
	ck_assert_int_ne(got, d->min - 1);
	free(e);
}
END_TEST

START_TEST(limits_find_unknown)
{
	ck_assert_ptr_null(bw_limit_find("no_such_limit"));
	ck_assert_ptr_null(bw_limit_find("SMTPD_MAX_ERRORS"));
	ck_assert_ptr_null(bw_limit_find(""));
	ck_assert_str_eq(bw_limit_unit_name(BW_UNIT_COUNT), "count");
	ck_assert_str_eq(bw_limit_unit_name(BW_UNIT_BYTES), "bytes");
	ck_assert_str_eq(bw_limit_unit_name(BW_UNIT_MS), "ms");
}
END_TEST

/*
 * Scopes: every row may be set globally; a row is for sessions (listener,
 * policy) or for deliveries (destination), never both; a few rows as the
 * design says.
 */
struct scope_case {
	enum bw_limit_id	 id;
	unsigned int		 want;
};

static const struct scope_case scope_cases[] = {
	{ LIM_MESSAGE_SIZE_LIMIT, BW_SCOPE_GLOBAL | BW_SCOPE_LISTENER |
	  BW_SCOPE_POLICY },
	{ LIM_SMTPD_MAX_RECIPIENTS, BW_SCOPE_GLOBAL | BW_SCOPE_LISTENER |
	  BW_SCOPE_POLICY },
	{ LIM_SMTPD_GREETING_DELAY, BW_SCOPE_GLOBAL | BW_SCOPE_LISTENER |
	  BW_SCOPE_POLICY },
	{ LIM_SMTPD_MAX_CONNECTIONS_PER_IP, BW_SCOPE_GLOBAL |
	  BW_SCOPE_LISTENER | BW_SCOPE_POLICY },
	{ LIM_SMTPD_MAX_CONNECTIONS, BW_SCOPE_GLOBAL },
	/* read before the host access table picks a policy */
	{ LIM_SMTPD_PROXY_TIMEOUT, BW_SCOPE_GLOBAL | BW_SCOPE_LISTENER },
	{ LIM_SMTPD_TIMEOUT_QUEUE_REPLY, BW_SCOPE_GLOBAL },
	{ LIM_QUEUE_DB_CACHE, BW_SCOPE_GLOBAL },
	{ LIM_CTL_TIMEOUT, BW_SCOPE_GLOBAL },
	{ LIM_DNS_QUERY_DEADLINE, BW_SCOPE_GLOBAL },
	{ LIM_DELIVER_MAX_MESSAGES_PER_CONNECTION, BW_SCOPE_GLOBAL |
	  BW_SCOPE_DESTINATION },
	{ LIM_DELIVER_MAX_CONNECTIONS_PER_DOMAIN, BW_SCOPE_GLOBAL |
	  BW_SCOPE_DESTINATION },
	{ LIM_DELIVER_TIMEOUT_DATA_FINAL, BW_SCOPE_GLOBAL |
	  BW_SCOPE_DESTINATION },
	{ LIM_DELIVER_BDAT_CHUNK_SIZE, BW_SCOPE_GLOBAL | BW_SCOPE_DESTINATION },
	{ LIM_DELIVER_MAX_JOBS_PER_WORKER, BW_SCOPE_GLOBAL },
	{ LIM_SMTPD_REPUTATION_TIMEOUT, BW_SCOPE_GLOBAL | BW_SCOPE_LISTENER },
};

START_TEST(limits_scopes_per_row)
{
	const struct bw_limit_def	*d = &bw_limit_defs[_i];
	int				 i;

	ck_assert_msg(d->scopes & BW_SCOPE_GLOBAL, "%s: not global", d->name);
	ck_assert_msg((d->scopes & ~BW_SCOPE_ALL) == 0, "%s: bad scope bits",
	    d->name);
	ck_assert_msg(!((d->scopes & (BW_SCOPE_LISTENER | BW_SCOPE_POLICY)) &&
	    (d->scopes & BW_SCOPE_DESTINATION)), "%s: both a session and a "
	    "delivery limit", d->name);
	/* a limit that needs a restart cannot differ per block */
	if (config_limit_needs_restart(d->id))
		ck_assert_int_eq(d->scopes, BW_SCOPE_GLOBAL);
	for (i = 0; i < NELEM(scope_cases); i++)
		if (scope_cases[i].id == d->id)
			ck_assert_msg(d->scopes == scope_cases[i].want,
			    "%s: scopes %#x, want %#x", d->name, d->scopes,
			    scope_cases[i].want);
}
END_TEST

START_TEST(limits_scope_names)
{
	char	 buf[BW_SCOPE_NAMES_MAX];

	ck_assert_str_eq(bw_scope_names(BW_SCOPE_ALL, buf, sizeof(buf)),
	    "global, listener, policy, destination");
	ck_assert_str_eq(bw_scope_names(BW_SCOPE_GLOBAL | BW_SCOPE_DESTINATION,
	    buf, sizeof(buf)), "global, destination");
	ck_assert_str_eq(bw_scope_names(0, buf, sizeof(buf)), "");
	ck_assert_str_eq(bw_scope_names(BW_SCOPE_ALL, buf, 10), "global");
	ck_assert_str_eq(bw_scope_name(BW_SCOPE_POLICY), "policy");
	ck_assert_str_eq(bw_scope_name(BW_SCOPE_GLOBAL | BW_SCOPE_POLICY),
	    "?");
}
END_TEST

/*
 * Resolution: the block's own values over the global ones over the
 * table's defaults, whatever the order in the file (a global value after
 * the block still reaches it).
 */
START_TEST(limits_resolution_order)
{
	static const char text[] =
	    "listener a {\n"
	    "  address 127.0.0.1\n  port 25\n  relay_networks ::1\n"
	    "  smtpd_max_recipients 5\n"
	    "  greeting_delay 2s\n"
	    "  message_size_limit 1m\n"
	    "}\n"
	    "listener b {\n"
	    "  address 127.0.0.1\n  port 26\n  relay_networks ::1\n"
	    "}\n"
	    "destination slow.example {\n"
	    "  deliver_max_messages_per_connection 2\n"
	    "}\n"
	    "message_size_limit 10m\n"
	    "smtpd_max_recipients 50\n"
	    "deliver_max_connections_per_domain 7\n"
	    "deliver_max_messages_per_connection 300\n";
	struct bw_config		 cfg;
	struct errs			*e = errs_new();
	const struct bw_limit_set	*a, *b, *d, *g;
	int				 i;

	ck_assert_msg(parse(&cfg, text, NULL, e) == 0, "%s", e->msg[0]);
	g = &cfg.limits;
	a = config_limits_for_listener(&cfg, "a");
	b = config_limits_for_listener(&cfg, "b");
	d = config_limits_for_destination(&cfg, NULL, "slow.example");
	ck_assert_ptr_ne(a, g);
	ck_assert_ptr_ne(b, g);
	ck_assert_ptr_ne(d, g);
	ck_assert_ptr_eq(config_limits_for_listener(&cfg, "nosuch"), g);
	ck_assert_ptr_eq(config_limits_for_listener(&cfg, NULL), g);
	ck_assert_ptr_eq(config_limits_for_destination(&cfg, NULL,
	    "other.example"),
	    g);
	/* block over global over default */
	ck_assert_int_eq(a->v[LIM_SMTPD_MAX_RECIPIENTS], 5);
	ck_assert_int_eq(a->v[LIM_MESSAGE_SIZE_LIMIT], 1 << 20);
	ck_assert_int_eq(a->v[LIM_SMTPD_GREETING_DELAY], 2000);
	ck_assert_int_eq(a->v[LIM_SMTPD_MAX_ERRORS],
	    bw_limit_defs[LIM_SMTPD_MAX_ERRORS].def);
	ck_assert_int_eq(b->v[LIM_SMTPD_MAX_RECIPIENTS], 50);
	ck_assert_int_eq(b->v[LIM_MESSAGE_SIZE_LIMIT], 10 << 20);
	ck_assert_int_eq(d->v[LIM_DELIVER_MAX_MESSAGES_PER_CONNECTION], 2);
	ck_assert_int_eq(d->v[LIM_DELIVER_MAX_CONNECTIONS_PER_DOMAIN], 7);
	ck_assert_int_eq(g->v[LIM_DELIVER_MAX_MESSAGES_PER_CONNECTION], 300);
	ck_assert_int_eq(g->v[LIM_SMTPD_MAX_RECIPIENTS], 50);
	/* a set without overrides is the global set, value for value */
	for (i = 0; i < LIM__COUNT; i++)
		ck_assert_int_eq(b->v[i], g->v[i]);
	/* limits_max covers every set */
	ck_assert_int_eq(cfg.limits_max.v[LIM_MESSAGE_SIZE_LIMIT], 10 << 20);
	ck_assert_int_eq(cfg.limits_max.v[LIM_SMTPD_GREETING_DELAY], 2000);
	ck_assert_int_eq(cfg.limits_max.v[
	    LIM_DELIVER_MAX_MESSAGES_PER_CONNECTION], 300);
	config_free(&cfg);
	free(e);
}
END_TEST

/* Destination patterns: exact, then the longest suffix, else global. */
struct dest_match_case {
	const char	*domain;
	int		 want_line;	/* the block's line; 0: global set */
};

static const struct dest_match_case dest_match_cases[] = {
	{ "a.example", 1 },
	{ "A.Example.", 1 },
	{ "x.a.example", 4 },
	{ "y.x.a.example", 4 },
	{ "b.example", 7 },		/* ".example" */
	{ "xa.example", 7 },		/* not "*.a.example" */
	{ "deep.c.example", 10 },	/* exact beats a suffix elsewhere */
	{ "c.example", 7 },
	{ "example", 0 },
	{ "a.example.org", 0 },
	{ "org", 0 },
	{ "", 0 },
	{ ".", 0 },
	{ "..", 0 },
};

START_TEST(limits_destination_match)
{
	static const char text[] =
	    "destination a.example {\n"
	    "  deliver_max_connections_per_domain 1\n"
	    "}\n"
	    "destination *.a.example {\n"
	    "  deliver_max_connections_per_domain 2\n"
	    "}\n"
	    "destination .example {\n"
	    "  deliver_max_connections_per_domain 3\n"
	    "}\n"
	    "destination deep.c.example {\n"
	    "  deliver_max_connections_per_domain 4\n"
	    "}\n";
	const struct dest_match_case	*c = &dest_match_cases[_i];
	const struct bw_dest_conf	*d;
	struct bw_config		 cfg;
	struct errs			*e = errs_new();

	ck_assert_msg(parse(&cfg, text, NULL, e) == 0, "%s", e->msg[0]);
	d = config_dest_find(&cfg, NULL, c->domain);
	if (c->want_line == 0) {
		ck_assert_msg(d == NULL, "%s: block at line %d", c->domain,
		    d ? d->line : 0);
		ck_assert_ptr_eq(config_limits_for_destination(&cfg, NULL,
		    c->domain), &cfg.limits);
	} else {
		ck_assert_msg(d != NULL, "%s: no block", c->domain);
		ck_assert_msg(d->line == c->want_line, "%s: line %d, want %d",
		    c->domain, d->line, c->want_line);
		ck_assert_ptr_eq(config_limits_for_destination(&cfg, NULL,
		    c->domain), &d->limits);
	}
	ck_assert_ptr_null(config_dest_find(&cfg, NULL, NULL));
	config_free(&cfg);
	free(e);
}
END_TEST

/* Per gateway: a block naming the queue's gateway beats one without at
 * the same pattern; a more specific pattern beats both. */
struct dest_gw_case {
	const char	*gateway;
	const char	*domain;
	int		 want_line;	/* 0: none */
};

static const struct dest_gw_case dest_gw_cases[] = {
	{ NULL, "a.example", 3 },
	{ "", "a.example", 3 },
	{ "default", "a.example", 3 },
	{ "out", "a.example", 6 },
	{ "OUT", "a.example", 3 },	/* gateway names are exact */
	{ "bulk", "a.example", 6 },
	{ "out", "x.a.example", 10 },	/* only "out" has *.a.example */
	{ "default", "x.a.example", 0 },
	{ "out", "exact.a.example", 15 },	/* exact beats the gateway */
	{ "bulk", "b.example", 17 },
	{ "out", "b.example", 0 },
	{ NULL, "b.example", 0 },
};

static const char dest_gw_text[] =
    "gateway out {\n}\n"				/* 1 */
    "destination a.example {\n  tls encrypt\n}\n"	/* 3 */
    "destination a.example {\n  gateway out bulk\n"	/* 6 */
    "  tls verify\n}\n"
    "destination *.a.example {\n  gateway out\n}\n"	/* 10 */
    "gateway bulk {\n}\n"				/* 13 */
    "destination exact.a.example {\n}\n"		/* 15 */
    "destination b.example {\n  gateway bulk\n}\n";	/* 17 */

START_TEST(dest_gateway_match)
{
	const struct dest_gw_case	*c = &dest_gw_cases[_i];
	const struct bw_dest_conf	*d;
	struct bw_config		 cfg;
	struct errs			*e = errs_new();

	ck_assert_msg(parse(&cfg, dest_gw_text, NULL, e) == 0, "%s",
	    e->msg[0]);
	d = config_dest_find(&cfg, c->gateway, c->domain);
	if (c->want_line == 0) {
		ck_assert_msg(d == NULL, "%s/%s: block at line %d",
		    c->gateway, c->domain, d ? d->line : 0);
		ck_assert_ptr_eq(config_dest_opts(&cfg, c->gateway,
		    c->domain), &cfg.dest_opts);
	} else {
		ck_assert_msg(d != NULL, "%s/%s: no block", c->gateway,
		    c->domain);
		ck_assert_msg(d->line == c->want_line, "%s/%s: line %d, "
		    "want %d", c->gateway, c->domain, d->line, c->want_line);
		ck_assert_ptr_eq(config_dest_opts(&cfg, c->gateway,
		    c->domain), &d->opts);
		ck_assert_ptr_eq(config_limits_for_destination(&cfg,
		    c->gateway, c->domain), &d->limits);
	}
	config_free(&cfg);
	free(e);
}
END_TEST

/* tls, tls_ca_file, ipv6, mta_sts: built-in defaults, the top level as
 * every destination's default (also when written after the block), a
 * block's own over it. */
START_TEST(dest_opts_resolution)
{
	static const char text[] =
	    "destination strict.example {\n"
	    "  tls VERIFY\n"
	    "  tls_ca_file /etc/strict-ca.pem\n"
	    "  mta_sts no\n"
	    "}\n"
	    "destination v4.example {\n  ipv6 no\n  tls_ca_file \"\"\n}\n"
	    "destination plain.example {\n  deliver_max_recipients_per_message"
	    " 5\n}\n"
	    "tls dane\n"
	    "mta_sts yes\n"
	    "tls_ca_file /etc/ca.pem\n";
	struct bw_config		 cfg;
	struct errs			*e = errs_new();
	const struct bw_dest_opts	*o;

	ck_assert_int_eq(config_load(&cfg, NULL, NULL, errs_cb, e), 0);
	o = config_dest_opts(&cfg, NULL, "any.example");
	ck_assert_int_eq(o->tls, BW_DEST_TLS_MAY);
	ck_assert_str_eq(o->tls_ca_file, "");
	ck_assert_int_eq(o->ipv6, 1);
	ck_assert_int_eq(o->mta_sts, 0);
	ck_assert_int_eq(cfg.limits.v[LIM_DELIVER_MAX_RECIPIENTS_PER_MESSAGE],
	    50);
	ck_assert_int_eq(cfg.limits.v[LIM_DELIVER_MAX_MESSAGES_PER_MINUTE], 0);
	config_free(&cfg);

	ck_assert_msg(parse(&cfg, text, NULL, e) == 0, "%s", e->msg[0]);
	o = config_dest_opts(&cfg, "default", "other.example");
	ck_assert_ptr_eq(o, &cfg.dest_opts);
	ck_assert_int_eq(o->tls, BW_DEST_TLS_DANE);
	ck_assert_str_eq(o->tls_ca_file, "/etc/ca.pem");
	ck_assert_int_eq(o->ipv6, 1);
	ck_assert_int_eq(o->mta_sts, 1);
	o = config_dest_opts(&cfg, NULL, "Strict.Example.");
	ck_assert_int_eq(o->tls, BW_DEST_TLS_VERIFY);
	ck_assert_str_eq(o->tls_ca_file, "/etc/strict-ca.pem");
	ck_assert_int_eq(o->ipv6, 1);
	ck_assert_int_eq(o->mta_sts, 0);
	o = config_dest_opts(&cfg, NULL, "v4.example");
	ck_assert_int_eq(o->tls, BW_DEST_TLS_DANE);
	ck_assert_str_eq(o->tls_ca_file, "");
	ck_assert_int_eq(o->ipv6, 0);
	ck_assert_int_eq(o->mta_sts, 1);
	o = config_dest_opts(&cfg, NULL, "plain.example");
	ck_assert_int_eq(o->tls, BW_DEST_TLS_DANE);
	ck_assert_int_eq(config_limits_for_destination(&cfg, NULL,
	    "plain.example")->v[LIM_DELIVER_MAX_RECIPIENTS_PER_MESSAGE], 5);
	ck_assert_str_eq(config_dest_tls_name(BW_DEST_TLS_NONE), "none");
	ck_assert_str_eq(config_dest_tls_name(BW_DEST_TLS_ENCRYPT), "encrypt");
	ck_assert_str_eq(config_dest_tls_name(BW_DEST_TLS_DANE), "dane");
	config_free(&cfg);
	free(e);
}
END_TEST

/* A file without blocks runs with the values it ran with before. */
START_TEST(limits_defaults_without_blocks)
{
	struct bw_config		 cfg;
	struct bw_listener_conf		*l;
	struct errs			*e = errs_new();
	int				 i;

	ck_assert_int_eq(config_load(&cfg, NULL, NULL, errs_cb, e), 0);
	ck_assert_ptr_null(TAILQ_FIRST(&cfg.dests));
	ck_assert_int_eq(cfg.ndest_index, 0);
	for (i = 0; i < LIM__COUNT; i++) {
		ck_assert_int_eq(cfg.limits.v[i], bw_limit_defs[i].def);
		ck_assert_int_eq(cfg.limits_max.v[i], bw_limit_defs[i].def);
		TAILQ_FOREACH(l, &cfg.listeners, entry)
			ck_assert_int_eq(l->limits.v[i], bw_limit_defs[i].def);
	}
	ck_assert_ptr_eq(config_limits_for_destination(&cfg, NULL,
	    "demo.example"),
	    &cfg.limits);
	config_free(&cfg);
	free(e);
}
END_TEST

static int	text_fd(const char *, char *);

/*
 * A reload resolves the new file's sets; a limit kept until the restart
 * is put back in them too.
 */
START_TEST(reload_resolves_block_sets)
{
	struct bw_config		*oc = config_new(), *nc;
	char				 path[] = "/tmp/check_config.XXXXXX";
	char				 err[256];
	const struct bw_limit_set	*l;
	int				 fd, kept;

	ck_assert_int_eq(config_parse_text(oc, "old", PRIV
	    "queue_db_cache 64m\n", NULL, NULL, NULL), 0);
	snprintf(oc->path, sizeof(oc->path), "reload.conf");
	fd = text_fd("listener p {\n  address 127.0.0.1\n  port 2525\n"
	    "  relay_networks 127.0.0.0/8\n  message_size_limit 2m\n}\n"
	    "queue_db_cache 128m\n"
	    "destination d.example {\n  deliver_idle_keep 1s\n}\n", path);
	nc = config_reload_prepare(oc, fd, NULL, "", err, sizeof(err), &kept);
	ck_assert_ptr_nonnull(nc);
	ck_assert_int_eq(kept, 1);
	l = config_limits_for_listener(nc, "p");
	ck_assert_int_eq(l->v[LIM_MESSAGE_SIZE_LIMIT], 2 << 20);
	ck_assert_int_eq(l->v[LIM_QUEUE_DB_CACHE], 64LL << 20);
	ck_assert_int_eq(nc->limits_max.v[LIM_QUEUE_DB_CACHE], 64LL << 20);
	ck_assert_int_eq(config_limits_for_destination(nc, NULL,
	    "d.example")->v[LIM_DELIVER_IDLE_KEEP], 1000);
	ck_assert_int_eq(config_limits_for_listener(oc, "p")->v[
	    LIM_MESSAGE_SIZE_LIMIT], bw_limit_defs[LIM_MESSAGE_SIZE_LIMIT].def);
	config_unref(nc);
	close(fd);
	unlink(path);
	config_unref(oc);
}
END_TEST

struct unit_case {
	enum bw_limit_unit	 unit;
	const char		*text;
	int			 want_rc;
	long long		 want;
};

static const struct unit_case unit_cases[] = {
	{ BW_UNIT_COUNT, "0", 0, 0 },
	{ BW_UNIT_COUNT, "007", 0, 7 },
	{ BW_UNIT_COUNT, "9223372036854775807", 0, 9223372036854775807LL },
	{ BW_UNIT_COUNT, "9223372036854775808", -1, 0 },
	{ BW_UNIT_COUNT, "10k", -1, 0 },
	{ BW_UNIT_COUNT, "", -1, 0 },
	{ BW_UNIT_COUNT, "-1", -1, 0 },
	{ BW_UNIT_COUNT, "+1", -1, 0 },
	{ BW_UNIT_COUNT, " 1", -1, 0 },
	{ BW_UNIT_COUNT, "1 ", -1, 0 },
	{ BW_UNIT_COUNT, "0x10", -1, 0 },
	{ BW_UNIT_BYTES, "512", 0, 512 },
	{ BW_UNIT_BYTES, "1k", 0, 1024 },
	{ BW_UNIT_BYTES, "1K", 0, 1024 },
	{ BW_UNIT_BYTES, "2m", 0, 2097152 },
	{ BW_UNIT_BYTES, "35M", 0, 36700160 },
	{ BW_UNIT_BYTES, "1g", 0, 1073741824 },
	{ BW_UNIT_BYTES, "3G", 0, 3221225472LL },
	{ BW_UNIT_BYTES, "1t", -1, 0 },
	{ BW_UNIT_BYTES, "1kb", -1, 0 },
	{ BW_UNIT_BYTES, "k", -1, 0 },
	{ BW_UNIT_BYTES, "1.5m", -1, 0 },
	{ BW_UNIT_BYTES, "9999999999999999g", -1, 0 },
	{ BW_UNIT_MS, "30", 0, 30000 },
	{ BW_UNIT_MS, "0", 0, 0 },
	{ BW_UNIT_MS, "30s", 0, 30000 },
	{ BW_UNIT_MS, "250ms", 0, 250 },
	{ BW_UNIT_MS, "250MS", 0, 250 },
	{ BW_UNIT_MS, "5m", 0, 300000 },
	{ BW_UNIT_MS, "2h", 0, 7200000 },
	{ BW_UNIT_MS, "2H", 0, 7200000 },
	{ BW_UNIT_MS, "1d", 0, 86400000 },
	{ BW_UNIT_MS, "1.5s", -1, 0 },
	{ BW_UNIT_MS, "1w", -1, 0 },
	{ BW_UNIT_MS, "s", -1, 0 },
	{ BW_UNIT_MS, "10parsecs", -1, 0 },
	{ BW_UNIT_MS, "9223372036854775807", -1, 0 },	/* overflows in ms */
	{ BW_UNIT_MS, "9223372036854775807ms", 0, 9223372036854775807LL },
};

START_TEST(limits_parse_units)
{
	const struct unit_case	*c = &unit_cases[_i];
	long long		 v = -42;
	int			 rc;

	rc = bw_limit_parse_value(c->unit, c->text, &v);
	ck_assert_msg(rc == c->want_rc, "\"%s\" (%s): rc %d, want %d",
	    c->text, bw_limit_unit_name(c->unit), rc, c->want_rc);
	if (c->want_rc == 0)
		ck_assert_msg(v == c->want, "\"%s\": %lld, want %lld",
		    c->text, v, c->want);
	else
		ck_assert_int_eq(v, -42);	/* untouched on error */
}
END_TEST

/*
 * Built-in default and base directory.
 */

static struct sockaddr_storage *
sa_from(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, text,
		    &sin6->sin6_addr), 1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	}
	return ss;
}

START_TEST(default_config_loads)
{
	struct bw_config		 cfg;
	struct bw_listener_conf		*l;
	const struct bw_route_conf	*rt;
	struct sockaddr_storage	 ss;
	struct errs		*e = errs_new();
	int			 i;

	ck_assert_int_eq(config_load(&cfg, NULL, NULL, errs_cb, e), 0);
	ck_assert_str_eq(cfg.path, "");
	ck_assert_int_eq(cfg.dev_mode, 0);
	ck_assert_str_ne(cfg.hostname, "");
	ck_assert_str_eq(cfg.runtime_dir, "/run/breakwater");
	ck_assert_str_eq(cfg.spool_dir, "/var/spool/breakwater");
	ck_assert_str_eq(cfg.chroot_dir, "/run/breakwater");
	ck_assert_str_eq(cfg.admin_group, "bwadmin");
	ck_assert_str_eq(cfg.user_smtpd, "_bwsmtpd");
	ck_assert_str_eq(cfg.user_queued, "_bwqueue");
	ck_assert_str_eq(cfg.user_deliverd, "_bwdeliver");
	ck_assert_str_eq(cfg.user_dnscached, "_bwdns");
	ck_assert_str_eq(cfg.user_controld, "_bwctl");
	ck_assert_str_eq(cfg.tls_cert, "");
	ck_assert_int_eq(cfg.deliverd_workers, 0);
	for (i = 0; i < LIM__COUNT; i++)
		ck_assert_int_eq(cfg.limits.v[i], bw_limit_defs[i].def);

	l = TAILQ_FIRST(&cfg.listeners);
	ck_assert_ptr_nonnull(l);
	ck_assert_ptr_null(TAILQ_NEXT(l, entry));
	ck_assert_str_eq(l->name, "local");
	ck_assert_str_eq(l->address, "127.0.0.1");
	ck_assert_int_eq(l->port, 2525);
	ck_assert_int_eq(l->public, 0);
	ck_assert_int_eq(l->tls, BW_TLS_NONE);
	ck_assert_int_eq(l->naccept_domains, 0);
	ck_assert_int_eq(l->nrelay_networks, 2);
	ck_assert(bw_net_match(l->relay_networks, 2, (struct sockaddr *)
	    sa_from("127.0.0.1", &ss)));
	ck_assert(bw_net_match(l->relay_networks, 2, (struct sockaddr *)
	    sa_from("127.1.2.3", &ss)));
	ck_assert(bw_net_match(l->relay_networks, 2, (struct sockaddr *)
	    sa_from("::1", &ss)));
	ck_assert(!bw_net_match(l->relay_networks, 2, (struct sockaddr *)
	    sa_from("10.0.0.1", &ss)));
	ck_assert(!bw_net_match(l->relay_networks, 2, (struct sockaddr *)
	    sa_from("::2", &ss)));
	/* The demo route to a local sink; nothing else. */
	rt = config_route_find(&cfg, "demo.example");
	ck_assert_ptr_nonnull(rt);
	ck_assert_int_eq(rt->nhosts, 1);
	ck_assert_str_eq(rt->hosts[0].host, "127.0.0.1");
	ck_assert_int_eq(rt->hosts[0].literal, 1);
	ck_assert_int_eq(rt->hosts[0].port, 2526);
	ck_assert_ptr_eq(TAILQ_FIRST(&cfg.routes), rt);
	ck_assert_ptr_null(TAILQ_NEXT(rt, entry));
	ck_assert_ptr_null(TAILQ_FIRST(&cfg.gwrules));
	ck_assert_int_eq(cfg.ndns_servers, 0);
	ck_assert_ptr_nonnull(config_gateway_find(&cfg, "default"));
	ck_assert_str_eq(config_profile_for(&cfg, "demo.example")->name,
	    "default");
	config_free(&cfg);

	/* The same text through config_parse_text, and it says why 2525. */
	ck_assert_int_eq(config_parse_text(&cfg, "x", bw_config_default_text,
	    NULL, errs_cb, e), 0);
	config_free(&cfg);
	ck_assert_ptr_nonnull(strstr(bw_config_default_text, "root"));
	ck_assert_ptr_nonnull(strstr(bw_config_default_text, "system MTA"));
	free(e);
}
END_TEST

START_TEST(basedir_overrides_paths)
{
	static const char text[] =
	    "runtime_dir /file/run\nspool_dir /file/spool\n"
	    "chroot_dir /file/empty\n";
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	char			 path[PATH_MAX], small[16], longdir[PATH_MAX];

	ck_assert_int_eq(parse(&cfg, text, "/tmp/bwb", e), 0);
	ck_assert_str_eq(cfg.runtime_dir, "/tmp/bwb/run");
	ck_assert_str_eq(cfg.spool_dir, "/tmp/bwb/spool");
	ck_assert_str_eq(cfg.chroot_dir, "/tmp/bwb/empty");
	ck_assert_int_eq(cfg.dev_mode, 1);
	ck_assert_int_eq(config_runtime_path(&cfg, BW_SOCK_QUEUED, path,
	    sizeof(path)), 0);
	ck_assert_str_eq(path, "/tmp/bwb/run/queued.sock");
	ck_assert_int_eq(config_runtime_path(&cfg, BW_SOCK_QUEUED, small,
	    sizeof(small)), -1);
	config_free(&cfg);

	ck_assert_int_eq(parse(&cfg, text, NULL, e), 0);
	ck_assert_str_eq(cfg.runtime_dir, "/file/run");
	ck_assert_str_eq(cfg.spool_dir, "/file/spool");
	ck_assert_str_eq(cfg.chroot_dir, "/file/empty");
	ck_assert_int_eq(cfg.dev_mode, 0);
	config_free(&cfg);

	/* The built-in default takes a base directory too. */
	ck_assert_int_eq(config_load(&cfg, NULL, "/b", errs_cb, e), 0);
	ck_assert_str_eq(cfg.runtime_dir, "/b/run");
	ck_assert_int_eq(cfg.dev_mode, 1);
	config_free(&cfg);

	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	ck_assert_int_eq(parse(&cfg, "", longdir, e), 1);
	ck_assert_str_eq(e->msg[0], "t.conf: base directory too long");
	config_free(&cfg);
	free(e);
}
END_TEST

/*
 * Files.
 */

START_TEST(file_errors_name_the_file)
{
	char			 path[] = "/tmp/check_config.XXXXXX";
	char			 want[PATH_MAX + 64];
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	FILE			*fp;
	int			 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	fputs("hostname a.example\n\nfrob 1\n" PRIV, fp);
	fclose(fp);
	ck_assert_int_eq(config_load(&cfg, path, NULL, errs_cb, e), 1);
	snprintf(want, sizeof(want), "%s:3: unknown keyword \"frob\"", path);
	ck_assert_str_eq(e->msg[0], want);
	ck_assert_str_eq(cfg.path, path);
	ck_assert_str_eq(cfg.hostname, "a.example");
	ck_assert_ptr_nonnull(TAILQ_FIRST(&cfg.listeners));
	config_free(&cfg);
	unlink(path);

	/* The file is gone now. */
	e->n = 0;
	ck_assert_int_eq(config_load(&cfg, path, "/b", errs_cb, e), 1);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(ENOENT));
	ck_assert_str_eq(e->msg[0], want);
	ck_assert_str_eq(cfg.runtime_dir, "/b/run");
	config_free(&cfg);

	/* A directory opens but cannot be read. */
	e->n = 0;
	ck_assert_int_eq(config_load(&cfg, "/", NULL, errs_cb, e), 1);
	ck_assert_msg(strncmp(e->msg[0], "/: read error", 13) == 0, "%s",
	    e->msg[0]);
	config_free(&cfg);

	/* Without a callback errors are logged; the count is the same. */
	ck_assert_int_eq(config_parse_text(&cfg, "t.conf", "frob 1\n", NULL,
	    NULL, NULL), 1);
	config_free(&cfg);
	free(e);
}
END_TEST

START_TEST(file_nul_byte_rejected)
{
	char			 path[] = "/tmp/check_config.XXXXXX";
	static const char	 data[] = "hostname a\0b\nfrob 1\n";
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	int			 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, data, sizeof(data) - 1),
	    (ssize_t)sizeof(data) - 1);
	close(fd);
	ck_assert_int_eq(config_load(&cfg, path, NULL, errs_cb, e), 2);
	ck_assert_ptr_nonnull(strstr(e->msg[0], ":1: control character 0x00"));
	ck_assert_ptr_nonnull(strstr(e->msg[1], ":2: unknown keyword"));
	config_free(&cfg);
	unlink(path);
	free(e);
}
END_TEST

/* The text of a file as a descriptor, for config_load_fd. */
static int
text_fd(const char *text, char *path)
{
	int	 fd;

	strcpy(path, "/tmp/check_config.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	/* the offset must not matter: config_load_fd reads with pread */
	return fd;
}

START_TEST(load_fd_reads_whole_file_with_digest)
{
	char			 path[] = "/tmp/check_config.XXXXXX";
	struct bw_config	*a = config_new(), *b = config_new();
	struct errs		*e = errs_new();
	int			 fd;

	fd = text_fd("hostname fd.example\nsmtpd_max_errors 7\n", path);
	ck_assert_int_eq(config_load_fd(a, fd, "named.conf", NULL, errs_cb, e),
	    0);
	ck_assert_str_eq(a->hostname, "fd.example");
	ck_assert_str_eq(a->path, "named.conf");
	ck_assert_int_eq(BW_LIMIT(a, LIM_SMTPD_MAX_ERRORS), 7);
	ck_assert_int_eq(a->refs, 1);
	ck_assert_int_eq(config_load(b, path, NULL, errs_cb, e), 0);
	ck_assert_uint_eq(a->digest, b->digest);
	ck_assert_uint_ne(a->digest, 0);
	config_free(b);
	close(fd);
	unlink(path);
	/* errors name the file given, with their lines */
	fd = text_fd("hostname x\nbogus 1\n", path);
	ck_assert_int_eq(config_load_fd(b, fd, "named.conf", NULL, errs_cb,
	    e), 1);
	ck_assert_ptr_nonnull(strstr(e->msg[0], "named.conf:2: unknown"));
	close(fd);
	unlink(path);
	config_unref(a);
	config_unref(b);
	free(e);
}
END_TEST

START_TEST(reload_keeps_restart_settings)
{
	struct bw_config	*oc = config_new(), *nc;
	char			 path[] = "/tmp/check_config.XXXXXX";
	char			 err[256];
	int			 fd, kept;

	ck_assert_int_eq(config_parse_text(oc, "old", "deliverd_workers 2\n"
	    "queue_db_cache 64m\nsmtpd_max_errors 5\nspool_dir /old\n"
	    "dns_servers 127.0.0.1:53\n", NULL, NULL, NULL), 0);
	snprintf(oc->path, sizeof(oc->path), "reload.conf");
	oc->generation = 4;
	fd = text_fd("deliverd_workers 3\nqueue_db_cache 128m\n"
	    "smtpd_max_errors 9\nspool_dir /new\ndns_servers 127.0.0.2\n"
	    "route r.example -> [127.0.0.1]:25\n", path);
	nc = config_reload_prepare(oc, fd, NULL, "", err, sizeof(err), &kept);
	ck_assert_ptr_nonnull(nc);
	ck_assert_int_eq(kept, 4);
	ck_assert_int_eq(nc->generation, 5);
	ck_assert_int_eq(nc->deliverd_workers, 2);
	ck_assert_int_eq(BW_LIMIT(nc, LIM_QUEUE_DB_CACHE), 64LL << 20);
	ck_assert_str_eq(nc->spool_dir, "/old");
	ck_assert_int_eq(nc->ndns_servers, 1);
	ck_assert_int_eq(memcmp(&nc->dns_servers[0], &oc->dns_servers[0],
	    sizeof(oc->dns_servers[0])), 0);
	/* what a running daemon can change, changed */
	ck_assert_int_eq(BW_LIMIT(nc, LIM_SMTPD_MAX_ERRORS), 9);
	ck_assert_ptr_nonnull(config_route_find(nc, "r.example"));
	ck_assert_int_eq(config_limit_needs_restart(LIM_QUEUE_DB_CACHE), 1);
	ck_assert_int_eq(config_limit_needs_restart(LIM_SMTPD_MAX_ERRORS), 0);
	config_unref(nc);
	close(fd);
	unlink(path);
	/* a file with errors: NULL, the first error, oc untouched */
	fd = text_fd("smtpd_max_errors 0\nfrob\n", path);
	ck_assert_ptr_null(config_reload_prepare(oc, fd, NULL, "", err,
	    sizeof(err), &kept));
	ck_assert_ptr_nonnull(strstr(err, "2 errors, first: reload.conf:1:"));
	ck_assert_int_eq(oc->generation, 4);
	ck_assert_int_eq(BW_LIMIT(oc, LIM_SMTPD_MAX_ERRORS), 5);
	close(fd);
	unlink(path);
	config_unref(oc);
}
END_TEST

/*
 * Networks.
 */

struct net_parse_case {
	const char	*text;
	int		 want_rc;
	int		 want_family;
	int		 want_plen;
};

static const struct net_parse_case net_parse_cases[] = {
	{ "10.0.0.0/8", 0, AF_INET, 8 },
	{ "192.0.2.1", 0, AF_INET, 32 },
	{ "0.0.0.0/0", 0, AF_INET, 0 },
	{ "192.0.2.128/25", 0, AF_INET, 25 },
	{ "::1", 0, AF_INET6, 128 },
	{ "::/0", 0, AF_INET6, 0 },
	{ "2001:db8::/32", 0, AF_INET6, 32 },
	{ "::ffff:0:0/96", 0, AF_INET6, 96 },
	{ "10.0.0.0/33", -1, 0, 0 },
	{ "10.1.2.3/8", -1, 0, 0 },		/* host bits */
	{ "192.0.2.129/25", -1, 0, 0 },
	{ "2001:db8::1/32", -1, 0, 0 },
	{ "::1/129", -1, 0, 0 },
	{ "10.0.0.0/", -1, 0, 0 },
	{ "/8", -1, 0, 0 },
	{ "10.0.0.0/8/8", -1, 0, 0 },
	{ "10.0.0.0/-1", -1, 0, 0 },
	{ "10.0.0.0/ 8", -1, 0, 0 },
	{ "10.0.0/8", -1, 0, 0 },
	{ "fe80::1%eth0", -1, 0, 0 },
	{ "example.org", -1, 0, 0 },
	{ "", -1, 0, 0 },
};

START_TEST(net_parse_table)
{
	const struct net_parse_case	*c = &net_parse_cases[_i];
	struct bw_net			 net;
	int				 rc;

	rc = bw_net_parse(c->text, &net);
	ck_assert_msg(rc == c->want_rc, "\"%s\": rc %d, want %d", c->text,
	    rc, c->want_rc);
	if (rc == 0) {
		ck_assert_int_eq(net.family, c->want_family);
		ck_assert_int_eq(net.prefixlen, c->want_plen);
	}
}
END_TEST

struct net_match_case {
	const char	*nets;		/* space-separated */
	const char	*addr;
	int		 want;
};

static const struct net_match_case net_match_cases[] = {
	{ "10.0.0.0/8", "10.1.2.3", 1 },
	{ "10.0.0.0/8", "11.0.0.1", 0 },
	{ "192.0.2.128/25", "192.0.2.200", 1 },
	{ "192.0.2.128/25", "192.0.2.127", 0 },
	{ "192.0.2.1", "192.0.2.1", 1 },
	{ "192.0.2.1", "192.0.2.2", 0 },
	{ "0.0.0.0/0", "203.0.113.9", 1 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },
	{ "2001:db8::/32", "2001:db8:1::1", 1 },
	{ "2001:db8::/32", "2001:db9::1", 0 },
	{ "fe80::/10", "febf::1", 1 },
	{ "fe80::/10", "fec0::1", 0 },
	{ "::1/128", "::1", 1 },
	{ "::1/128", "127.0.0.1", 0 },
	{ "::/0", "2001:db8::1", 1 },
	/* IPv4-mapped IPv6 clients match IPv4 networks. */
	{ "127.0.0.0/8", "::ffff:127.0.0.1", 1 },
	{ "127.0.0.0/8", "::ffff:10.0.0.1", 0 },
	{ "0.0.0.0/0", "::ffff:1.2.3.4", 1 },
	{ "127.0.0.0/8", "::127.0.0.1", 0 },	/* compatible, not mapped */
	/* ... and IPv4 clients match mapped IPv6 networks. */
	{ "::ffff:0:0/96", "1.2.3.4", 1 },
	{ "::ffff:10.0.0.0/104", "10.9.9.9", 1 },
	{ "::ffff:10.0.0.0/104", "11.9.9.9", 0 },
	/* Lists: any entry matches. */
	{ "10.0.0.0/8 192.168.0.0/16 2001:db8::/32", "192.168.3.4", 1 },
	{ "10.0.0.0/8 192.168.0.0/16 2001:db8::/32", "2001:db8::5", 1 },
	{ "10.0.0.0/8 192.168.0.0/16 2001:db8::/32", "172.16.0.1", 0 },
	{ "", "127.0.0.1", 0 },
};

START_TEST(net_match_table)
{
	const struct net_match_case	*c = &net_match_cases[_i];
	struct bw_net			 nets[8];
	struct sockaddr_storage		 ss;
	char				 buf[256], *tok, *save = NULL;
	int				 n = 0, got;

	snprintf(buf, sizeof(buf), "%s", c->nets);
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		ck_assert_int_lt(n, 8);
		ck_assert_msg(bw_net_parse(tok, &nets[n]) == 0, "%s", tok);
		n++;
	}
	got = bw_net_match(nets, n, (struct sockaddr *)sa_from(c->addr, &ss));
	ck_assert_msg(got == c->want, "%s in [%s]: %d, want %d", c->addr,
	    c->nets, got, c->want);
}
END_TEST

START_TEST(net_match_odd_input)
{
	struct bw_net		 net;
	struct sockaddr_storage	 ss;

	ck_assert_int_eq(bw_net_parse("0.0.0.0/0", &net), 0);
	ck_assert_int_eq(bw_net_match(&net, 1, NULL), 0);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(bw_net_match(&net, 1, (struct sockaddr *)&ss), 0);
}
END_TEST

/*
 * RAT helper.
 */

struct rat_case {
	const char	*domain;
	int		 want;
};

static const struct rat_case rat_cases[] = {
	{ "example.org", 1 },
	{ "EXAMPLE.ORG", 1 },
	{ "example.org.", 1 },
	{ "mail.example.org", 0 },	/* only "example.org" itself */
	{ "example.net", 0 },		/* only subdomains */
	{ "a.example.net", 1 },
	{ "A.B.Example.Net", 1 },
	{ "xexample.net", 0 },
	{ ".example.net", 0 },
	{ "example.com", 0 },
	{ "", 0 },
	{ ".", 0 },
};

START_TEST(rat_accepts_table)
{
	static const char text[] = PUB_OPEN
	    "  accept_domains *.Example.NET\n}\n";
	const struct rat_case	*c = &rat_cases[_i];
	struct bw_config	 cfg;
	struct errs		*e = errs_new();

	ck_assert_int_eq(parse(&cfg, text, NULL, e), 0);
	ck_assert_msg(config_listener_accepts(TAILQ_FIRST(&cfg.listeners),
	    c->domain) == c->want, "\"%s\": want %d", c->domain, c->want);
	config_free(&cfg);
	free(e);
}
END_TEST

/*
 * Documentation stays in sync with the table.
 */

static char *
slurp(const char *rel)
{
	char	 path[PATH_MAX], *buf;
	FILE	*fp;
	long	 len;

	snprintf(path, sizeof(path), "%s/%s", srcdir(), rel);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s: %s (set BW_SRCDIR)", path,
	    strerror(errno));
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	ck_assert_int_gt(len, 0);
	rewind(fp);
	ck_assert_ptr_nonnull(buf = malloc(len + 1));
	ck_assert_int_eq(fread(buf, 1, len, fp), (size_t)len);
	buf[len] = '\0';
	fclose(fp);
	return buf;
}

/* The man page escapes '_' nowhere; a name is findable as written. */
static const char *const doc_keywords[] = {
	"hostname", "runtime_dir", "spool_dir", "chroot_dir", "tls_cert",
	"tls_key", "admin_group", "user", "deliverd_workers", "listener",
	"address", "port", "type", "tls", "tls_required", "greeting_delay",
	"allow_untrusted_routing", "reverse_dns", "destination",
	"Scopes:",
	"accept_domains", "relay_networks", "smtpd", "queued", "deliverd",
	"dnscached", "controld", "starttls", "implicit", "_bwsmtpd",
	"_bwqueue", "_bwdeliver", "_bwdns", "_bwctl", "bwadmin",
	"/run/breakwater", "/var/spool/breakwater",
	NULL
};

START_TEST(man_page_names_every_limit)
{
	char	*man = slurp("doc/breakwater.conf.5");
	char	 want[128];
	int	 i;

	for (i = 0; i < LIM__COUNT; i++) {
		/* Each limit has its own tagged paragraph: .It/.TP + .B */
		snprintf(want, sizeof(want), ".B %s\n", bw_limit_defs[i].name);
		ck_assert_msg(strstr(man, want) != NULL,
		    "doc/breakwater.conf.5 does not document %s",
		    bw_limit_defs[i].name);
	}
	for (i = 0; doc_keywords[i] != NULL; i++)
		ck_assert_msg(strstr(man, doc_keywords[i]) != NULL,
		    "doc/breakwater.conf.5 does not mention %s",
		    doc_keywords[i]);
	free(man);
}
END_TEST

START_TEST(example_names_every_limit_and_parses)
{
	char			*ex = slurp("etc/breakwater.conf.example");
	char			 path[PATH_MAX];
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	int			 i;

	for (i = 0; i < LIM__COUNT; i++)
		ck_assert_msg(strstr(ex, bw_limit_defs[i].name) != NULL,
		    "etc/breakwater.conf.example does not mention %s",
		    bw_limit_defs[i].name);
	free(ex);
	snprintf(path, sizeof(path), "%s/etc/breakwater.conf.example",
	    srcdir());
	ck_assert_msg(config_load(&cfg, path, NULL, errs_cb, e) == 0, "%s",
	    e->msg[0]);
	ck_assert_ptr_nonnull(TAILQ_FIRST(&cfg.listeners));
	config_free(&cfg);
	free(e);
}
END_TEST

/*
 * Every commented-out setting of the example is valid: a line whose "#"
 * is followed (after tabs only) by a keyword or "}" is enabled, and the
 * whole file must still parse.  Prose comments have a space after "#".
 */
START_TEST(example_commented_settings_parse)
{
	char			*ex = slurp("etc/breakwater.conf.example");
	char			*out, *o, *line, *next;
	struct bw_config	 cfg;
	struct errs		*e = errs_new();
	int			 enabled = 0;

	ck_assert_ptr_nonnull(out = malloc(strlen(ex) + 1));
	o = out;
	for (line = ex; *line != '\0'; line = next) {
		char	*p = line, *q;

		if ((next = strchr(line, '\n')) != NULL)
			next++;
		else
			next = line + strlen(line);
		while (*p == ' ' || *p == '\t')
			p++;
		q = p + 1;
		while (*q == '\t')
			q++;
		if (*p == '#' && q < next && ((*q >= 'a' && *q <= 'z') ||
		    *q == '_' || *q == '}')) {
			memcpy(o, line, p - line);
			o += p - line;
			line = p + 1;
			enabled++;
		}
		memcpy(o, line, next - line);
		o += next - line;
	}
	*o = '\0';
	ck_assert_msg(config_parse_text(&cfg, "example", out, NULL, errs_cb,
	    e) == 0, "%s", e->msg[0]);
	/* The delivery examples are among them. */
	ck_assert_int_gt(enabled, 50);
	ck_assert_ptr_nonnull(config_gateway_find(&cfg, "bulk"));
	ck_assert_ptr_nonnull(TAILQ_FIRST(&cfg.gwrules));
	ck_assert_ptr_nonnull(config_route_find(&cfg, "corp.example.org"));
	ck_assert_str_eq(config_profile_for(&cfg, "partner.example")->name,
	    "partners");
	ck_assert_int_eq(cfg.ndns_servers, 2);
	config_free(&cfg);
	free(out);
	free(ex);
	free(e);
}
END_TEST

static TCase *
tcase(Suite *s, const char *name)
{
	TCase	*tc = tcase_create(name);

	tcase_set_timeout(tc, TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase(s, "errors");
	tcase_add_loop_test(tc, config_reports_each_error, 0,
	    NELEM(error_cases));
	tcase_add_test(tc, config_reports_all_errors_with_lines);
	tcase_add_test(tc, config_line_too_long);
	tcase_add_test(tc, config_stops_after_too_many_errors);
	tcase_add_test(tc, config_reports_unclosed_skipped_block);
	tcase_add_loop_test(tc, config_caps_lists, 0, NELEM(cap_cases));
	tcase_add_test(tc, config_caps_listeners);
	tcase_add_loop_test(tc, config_caps_delivery, 0, NELEM(dcap_cases));

	tc = tcase(s, "grammar");
	tcase_add_loop_test(tc, config_accepts_good_text, 0,
	    NELEM(good_texts));
	tcase_add_test(tc, config_sets_values);
	tcase_add_test(tc, config_sets_reputation);

	tc = tcase(s, "delivery");
	tcase_add_test(tc, config_sets_delivery_values);
	tcase_add_test(tc, config_delivery_builtins);
	tcase_add_loop_test(tc, config_gateway_for_table, 0,
	    NELEM(gwfor_cases));
	tcase_add_loop_test(tc, config_dest_lookup_table, 0,
	    NELEM(dest_cases));

	tc = tcase(s, "limits");
	tcase_add_loop_test(tc, limits_table_is_sane, 0, LIM__COUNT);
	tcase_add_loop_test(tc, limits_range_enforced, 0, LIM__COUNT);
	tcase_add_test(tc, limits_find_unknown);

	tc = tcase(s, "scopes");
	tcase_add_loop_test(tc, limits_scopes_per_row, 0, LIM__COUNT);
	tcase_add_test(tc, limits_scope_names);
	tcase_add_test(tc, limits_resolution_order);
	tcase_add_loop_test(tc, limits_destination_match, 0,
	    NELEM(dest_match_cases));
	tcase_add_test(tc, limits_defaults_without_blocks);
	tcase_add_loop_test(tc, dest_gateway_match, 0, NELEM(dest_gw_cases));
	tcase_add_test(tc, dest_opts_resolution);
	tcase_add_test(tc, reload_resolves_block_sets);

	tc = tcase(s, "units");
	tcase_add_loop_test(tc, limits_parse_units, 0, NELEM(unit_cases));

	tc = tcase(s, "default");
	tcase_add_test(tc, default_config_loads);

	tc = tcase(s, "basedir");
	tcase_add_test(tc, basedir_overrides_paths);

	tc = tcase(s, "files");
	tcase_add_test(tc, file_errors_name_the_file);
	tcase_add_test(tc, file_nul_byte_rejected);
	tcase_add_test(tc, load_fd_reads_whole_file_with_digest);
	tcase_add_test(tc, reload_keeps_restart_settings);

	tc = tcase(s, "networks");
	tcase_add_loop_test(tc, net_parse_table, 0, NELEM(net_parse_cases));
	tcase_add_loop_test(tc, net_match_table, 0, NELEM(net_match_cases));
	tcase_add_test(tc, net_match_odd_input);

	tc = tcase(s, "rat");
	tcase_add_loop_test(tc, rat_accepts_table, 0, NELEM(rat_cases));

	tc = tcase(s, "docs");
	tcase_add_test(tc, man_page_names_every_limit);
	tcase_add_test(tc, example_names_every_limit_and_parses);
	tcase_add_test(tc, example_commented_settings_parse);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
