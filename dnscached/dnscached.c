/*
 * dnscached: asynchronous DNS for smtpd and deliverd: a cache by TTL with
 * negative entries, coalescing of identical queries, and an ldns/libevent
 * stub resolver asking the upstream servers (-r ADDR[:PORT], repeatable;
 * else dns_servers of the config; else the nameserver lines of
 * /etc/resolv.conf; else 127.0.0.1).
 *
 * Trust: dnscached.sock admits only smtpd and deliverd, each from its own
 * uid (production) or ours (development), checked by SO_PEERCRED in peer.c;
 * every frame passes the catalog before a handler runs.  Nothing a client
 * sends can make dnscached write anywhere: it holds no files.  It runs as
 * user_dnscached without a chroot.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "privdrop.h"
#include "util.h"
#include "dnscached.h"

#define DNS_RESOLV_CONF		"/etc/resolv.conf"

struct dnscached		*dns_env;

static struct bw_peer_listener	*dns_listener;

#define DNS_USAGE	"[-dnv] [-b basedir] [-f config] [-r addr[:port]]..."

/* The -r options, kept for dns_servers_setup(). */
struct dns_opts {
	char	*servers[DNS_SERVERS_MAX];
	size_t	 nservers;
};

/* -r ADDR[:PORT], repeatable. */
static int
dns_opt_cb(int ch, const char *arg, void *optsp)
{
	struct dns_opts	*o = optsp;

	if (ch != 'r')
		return -1;
	if (o->nservers >= DNS_SERVERS_MAX)
		fatalx("at most %d upstream servers", DNS_SERVERS_MAX);
	o->servers[o->nservers++] = (char *)arg;
	return 0;
}

/* A dns_servers entry of the config, as "[ADDR]:PORT" text. */
static int
dns_server_from_config(const struct sockaddr_storage *ss,
    struct dns_server *s)
{
	char		 addr[INET6_ADDRSTRLEN];
	char		 text[INET6_ADDRSTRLEN + 16];
	const void	*a;
	int		 port;

	if (ss->ss_family == AF_INET) {
		a = &((const struct sockaddr_in *)ss)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else
		return -1;
	if (inet_ntop(ss->ss_family, a, addr, sizeof(addr)) == NULL)
		return -1;
	snprintf(text, sizeof(text), "[%s]:%d", addr, port);
	return dns_server_parse(text, s);
}

/*
 * Upstreams: -r options, else dns_servers of the config, else resolv.conf,
 * else the local host.
 */
static void
dns_servers_setup(struct dnscached *env, char **opt, size_t nopt)
{
	size_t	 i;
	int	 n;

	for (i = 0; i < nopt; i++)
		if (dns_server_parse(opt[i], &env->servers[env->nservers++]) ==
		    -1)
			fatalx("-r %s: not an address[:port]", opt[i]);
	if (env->nservers == 0) {
		for (n = 0; n < env->d.cfg->ndns_servers && n < DNS_SERVERS_MAX;
		    n++)
			if (dns_server_from_config(&env->d.cfg->dns_servers[n],
			    &env->servers[n]) == -1)
				fatalx("dns_servers: entry %d unusable", n + 1);
		env->nservers = (size_t)n;
	}
	if (env->nservers == 0) {
		n = dns_servers_from_resolv_conf(DNS_RESOLV_CONF,
		    env->servers, DNS_SERVERS_MAX);
		env->nservers = n > 0 ? (size_t)n : 0;
	}
	if (env->nservers == 0) {
		if (dns_server_parse("127.0.0.1", &env->servers[0]) == -1)
			fatalx("cannot parse the default upstream");
		env->nservers = 1;
	}
	for (i = 0; i < env->nservers; i++)
		log_info("upstream server=%s", env->servers[i].text);
}

int
main(int argc, char *argv[])
{
	struct dnscached env;
	struct dns_opts	 opts;
	char		 path[PATH_MAX];

	memset(&env, 0, sizeof(env));
	memset(&opts, 0, sizeof(opts));
	dns_env = &env;
	bw_daemon_init(&env.d, "dnscached");
	bw_daemon_args(&env.d, argc, argv, "r:", dns_opt_cb, &opts, DNS_USAGE);
	bw_daemon_setup(&env.d);

	/* Production: only smtpd's and deliverd's users may connect. */
	bw_daemon_peer_uids(&env.d, BW_ROLE_SMTPD | BW_ROLE_DELIVERD);
	dns_servers_setup(&env, opts.servers, opts.nservers);
	if ((env.cache = dns_cache_new(
	    (size_t)BW_LIMIT(env.d.cfg, LIM_DNS_CACHE_MAX_ENTRIES),
	    (size_t)BW_LIMIT(env.d.cfg, LIM_DNS_CACHE_MAX_BYTES), NULL)) == NULL)
		fatal("dns cache");
	dns_cache_ttl_limits(
	    (uint32_t)(BW_LIMIT(env.d.cfg, LIM_DNS_TTL_MAX) / 1000),
	    (uint32_t)(BW_LIMIT(env.d.cfg, LIM_DNS_NEGATIVE_TTL_MAX) / 1000));
	bw_daemon_events(&env.d);
	if (config_runtime_path(env.d.cfg, BW_SOCK_DNSCACHED, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_DNSCACHED);
	/* Clients run as other users; SO_PEERCRED does the check. */
	if ((dns_listener = bw_peer_listen(env.d.base, path,
	    BW_ROLE_SMTPD | BW_ROLE_DELIVERD, 0666, (gid_t)-1,
	    dns_client_msg_cb, dns_client_state_cb, &env)) == NULL)
		fatal("listen on %s", path);

	bw_daemon_privdrop(&env.d, env.d.cfg->user_dnscached, NULL);

	dns_controld_connect(&env);
	bw_daemon_run(&env.d, NULL);

	dns_query_shutdown();
	dns_upstream_cancel_all();
	bw_status_link_close(env.controld);
	bw_peer_listener_close(dns_listener);
	/* The deferred frees of the peers may still use the cache. */
	bw_daemon_base_free(&env.d);
	dns_cache_free(env.cache);
	bw_daemon_cleanup(&env.d);
	return 0;
}
