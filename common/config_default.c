/*
 * The built-in default configuration, used when a daemon gets no -f FILE.
 * It is parsed by the same parser as a file, so it obeys the same grammar
 * (doc/breakwater.conf.5) and cannot drift from it; every setting not named
 * here takes its default from config.c and the limits table.  It routes
 * the demo domain demo.example to a local sink on 127.0.0.1:2526.
 */
#include "bw_autoconf.h"

#include "config.h"

const char bw_config_default_text[] =
	"# Breakwater built-in default configuration.\n"
	"#\n"
	"# One private listener on loopback that relays for loopback clients\n"
	"# only, without TLS, and no public listener: nothing is reachable\n"
	"# from the network until a configuration file says so.\n"
	"#\n"
	"# Port 2525 rather than 25: binding it needs no root privilege, so\n"
	"# the suite runs unprivileged (development mode), and it does not\n"
	"# clash with a system MTA that may already own port 25 here.\n"
	"listener local {\n"
	"\taddress 127.0.0.1\n"
	"\tport 2525\n"
	"\ttype private\n"
	"\ttls none\n"
	"\trelay_networks 127.0.0.0/8 ::1/128\n"
	"}\n"
	"\n"
	"# Demo: mail to any address at demo.example goes to a local sink on\n"
	"# 127.0.0.1 port 2526 (the README's run command starts one, e.g.\n"
	"# Postfix's smtp-sink), never to the Internet: a newcomer sees a\n"
	"# message accepted, queued, delivered and logged.  The listener\n"
	"# above relays for loopback clients, so it takes this domain as any\n"
	"# other; other domains are delivered by MX as usual.\n"
	"route demo.example -> [127.0.0.1]:2526\n";
