/*
 * The gauges among the daemons' STATUS counters: each names a value now
 * (a count of things open, a size, a level, a 0/1 state); every other
 * counter only grows while its process runs.  A new gauge in a daemon is
 * added here, or /metrics calls it a counter (harmless but wrong: rate()
 * on it sees resets).
 */
#include "bw_autoconf.h"

#include <string.h>

#include <event2/buffer.h>

#include "ctl_metric.h"

static const char *const ctl_metric_gauges[] = {
	/* every daemon (daemon.c) */
	"config_generation", "config_digest",
	/* links to other daemons, 0/1 */
	"dnscached_up", "queued_up",
	/* smtpd */
	"connections_active", "pressure_level", "hostcount_pending",
	"max_connections",
	/* queued */
	"open_messages", "queued_messages", "queued_recipients",
	"jobs_active", "queues_in_memory", "commits_pending",
	"largest_batch", "body_segments", "body_pieces", "body_bytes",
	"hostcount_hosts",
	/* queued, the monitor's (issue 13) */
	"spool_free_bytes", "hosts_connected", "work_ready", "work_deferred",
	"work_parked",
	/* deliverd */
	"agents", "jobs_held", "mta_sts_policies",
	/* dnscached */
	"inflight", "clients_active", "cache_entries", "cache_bytes",
	/* controld */
	"daemons_connected", "requests_in_flight", "alerts_active",
};

int
ctl_metric_is_gauge(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(ctl_metric_gauges) /
	    sizeof(ctl_metric_gauges[0]); i++)
		if (strcmp(ctl_metric_gauges[i], name) == 0)
			return 1;
	return 0;
}

void
ctl_metric_name(char *dst, size_t dstsz, const char *prefix,
    const char *name, const char *suffix)
{
	const char	*parts[3] = { prefix, name, suffix };
	size_t		 o = 0, p;
	const char	*s;

	if (dstsz == 0)
		return;
	for (p = 0; p < 3; p++) {
		if (parts[p] == NULL)
			continue;
		for (s = parts[p]; *s != '\0' && o + 1 < dstsz; s++) {
			char	 c = *s;

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    c == '_' || c == ':' || (o > 0 && c >= '0' &&
			    c <= '9')))
				c = '_';
			dst[o++] = c;
		}
	}
	dst[o] = '\0';
}

void
ctl_metric_label(struct evbuffer *out, const char *v)
{
	const char	*s;

	evbuffer_add(out, "\"", 1);
	for (s = v; *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*s == '"')
			evbuffer_add(out, "\\\"", 2);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
	evbuffer_add(out, "\"", 1);
}
