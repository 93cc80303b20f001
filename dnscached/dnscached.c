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

#include <signal.h>
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
static struct event		*dns_ev_sigterm;
static struct event		*dns_ev_sigint;
static char			 dns_pidfile[PATH_MAX];

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dnscached [-dnv] [-b basedir] [-f config] "
	    "[-r addr[:port]]...\n");
	exit(2);
}

static void
dns_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	log_info("shutting down on signal %d", (int)sig);
	dns_env->shutting_down = 1;
	event_base_loopbreak(dns_env->base);
}

/* Production: only smtpd's and deliverd's users may connect. */
static void
dns_register_uids(const struct bw_config *cfg)
{
	struct bw_user	 u;

	if (cfg->dev_mode || geteuid() != 0)
		return;
	if (bw_user_lookup(cfg->user_smtpd, &u) == -1)
		fatalx("unknown user %s for smtpd", cfg->user_smtpd);
	bw_peer_role_uid(BW_ROLE_SMTPD, u.uid);
	if (bw_user_lookup(cfg->user_deliverd, &u) == -1)
		fatalx("unknown user %s for deliverd", cfg->user_deliverd);
	bw_peer_role_uid(BW_ROLE_DELIVERD, u.uid);
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
		for (n = 0; n < env->cfg.ndns_servers && n < DNS_SERVERS_MAX;
		    n++)
			if (dns_server_from_config(&env->cfg.dns_servers[n],
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
	const char	*conffile = NULL, *basedir = NULL;
	char		 path[PATH_MAX];
	char		*servers[DNS_SERVERS_MAX];
	size_t		 nservers = 0;
	int		 ch, foreground = 0, verbose = 0, checkonly = 0, ret;

	while ((ch = getopt(argc, argv, "b:df:nr:v")) != -1) {
		switch (ch) {
		case 'b':
			basedir = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			checkonly = 1;
			break;
		case 'r':
			if (nservers >= DNS_SERVERS_MAX)
				fatalx("at most %d upstream servers",
				    DNS_SERVERS_MAX);
			servers[nservers++] = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	memset(&env, 0, sizeof(env));
	dns_env = &env;
	log_init("dnscached", 1);
	log_set_verbose(verbose);
	if (config_load(&env.cfg, conffile, basedir, NULL, NULL) != 0)
		fatalx("%s: configuration has errors",
		    conffile ? conffile : "built-in default");
	if (checkonly) {
		fprintf(stderr, "configuration OK\n");
		config_free(&env.cfg);
		return 0;
	}
	log_init("dnscached", foreground);
	env.started = bw_time();
	signal(SIGPIPE, SIG_IGN);

	dns_register_uids(&env.cfg);
	dns_servers_setup(&env, servers, nservers);
	if ((env.cache = dns_cache_new(
	    (size_t)BW_LIMIT(&env.cfg, LIM_DNS_CACHE_MAX_ENTRIES),
	    (size_t)BW_LIMIT(&env.cfg, LIM_DNS_CACHE_MAX_BYTES), NULL)) == NULL)
		fatal("dns cache");
	dns_cache_ttl_limits(
	    (uint32_t)(BW_LIMIT(&env.cfg, LIM_DNS_TTL_MAX) / 1000),
	    (uint32_t)(BW_LIMIT(&env.cfg, LIM_DNS_NEGATIVE_TTL_MAX) / 1000));
	if (bw_mkdirs(env.cfg.runtime_dir, 0755) == -1)
		fatal("runtime directory %s", env.cfg.runtime_dir);
	if ((env.base = bw_event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (config_runtime_path(&env.cfg, BW_SOCK_DNSCACHED, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_DNSCACHED);
	/* Clients run as other users; SO_PEERCRED does the check. */
	if ((dns_listener = bw_peer_listen(env.base, path,
	    BW_ROLE_SMTPD | BW_ROLE_DELIVERD, 0666, (gid_t)-1,
	    dns_client_msg_cb, dns_client_state_cb, &env)) == NULL)
		fatal("listen on %s", path);
	if (config_runtime_path(&env.cfg, "dnscached.pid", dns_pidfile,
	    sizeof(dns_pidfile)) == -1 || bw_pidfile_write(dns_pidfile) == -1)
		fatal("pid file %s", dns_pidfile);

	bw_privdrop(env.cfg.user_dnscached, NULL, env.cfg.dev_mode);

	if (config_runtime_path(&env.cfg, BW_SOCK_CONTROLD, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_CONTROLD);
	env.controld = bw_peer_connect(env.base, path, BW_ROLE_DNSCACHED, 0,
	    dns_controld_msg_cb, dns_controld_state_cb, &env);
	if (env.controld == NULL)
		fatal("controld peer %s", path);

	dns_ev_sigterm = evsignal_new(env.base, SIGTERM, dns_signal_cb, NULL);
	dns_ev_sigint = evsignal_new(env.base, SIGINT, dns_signal_cb, NULL);
	if (dns_ev_sigterm == NULL || dns_ev_sigint == NULL ||
	    evsignal_add(dns_ev_sigterm, NULL) == -1 ||
	    evsignal_add(dns_ev_sigint, NULL) == -1)
		fatalx("cannot set up signal events");

	log_info("started pid=%ld config=%s", (long)getpid(),
	    env.cfg.path[0] ? env.cfg.path : "built-in");
	ret = event_base_dispatch(env.base);
	if (!env.shutting_down)
		fatalx("event loop ended unexpectedly (ret=%d)", ret);

	dns_query_shutdown();
	dns_upstream_cancel_all();
	bw_peer_close(env.controld);
	bw_peer_listener_close(dns_listener);
	event_free(dns_ev_sigterm);
	event_free(dns_ev_sigint);
	/* Run the deferred frees of the peers just closed. */
	event_base_loop(env.base, EVLOOP_NONBLOCK);
	event_base_free(env.base);
	bw_pidfile_remove(dns_pidfile);
	dns_cache_free(env.cache);
	config_free(&env.cfg);
	log_info("stopped");
	return 0;
}
