/*
 * The table of bwctl commands (see ctl_cmdtab.h): names, rights, argument
 * counts, usage and help.  Linked into bwctl and controld alike
 * (libctlcmd.a).  The rows are in the order of bwctl's help.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <string.h>

#include "imsg_catalog.h"
#include "ctl_cmdtab.h"

#define CTL_HELP_COL	24	/* help text column after the 2-space indent */

#define V	CTL_MAY_VIEW
#define A	(CTL_MAY_VIEW | CTL_MAY_ACT)

const struct ctl_cmd_def ctl_cmdtab[] = {
	{ CTL_CMD_STATUS, { "status" }, V, 0, 0, 0, "status",
	  "every Breakwater process: state, pid, uptime,\ncounters" },
	{ CTL_CMD_SHOW_QUEUE, { "show", "queue" }, V, 0, 0, 0, "show queue",
	  "queues by (gateway, domain): state, queued,\n"
	  "oldest, active jobs, delivered, hard and soft\n"
	  "bounces, last error" },
	{ CTL_CMD_SHOW_MESSAGE, { "show", "message" }, V, 0, 1, 1,
	  "show message QID", "envelope and recipients of one message" },
	{ CTL_CMD_SHOW_SENDERS, { "show", "senders" }, V, 0, 0, -1,
	  "show senders [-n N] [--json]",
	  "the top connecting hosts (default 20, at most\n"
	  "1000) by connections now, then in all:\n"
	  "messages and recipients in all and in the\n"
	  "current window, sender group, policy, score,\n"
	  "last seen" },
	{ CTL_CMD_SHOW_ALERTS, { "show", "alerts" }, V, 0, 0, -1,
	  "show alerts",
	  "alerts now and those cleared in the last day:\n"
	  "kind, subject, since, notices told" },
	{ CTL_CMD_METRICS, { "metrics" }, V, 0, 0, 0, "metrics",
	  "the Prometheus text /metrics serves: every\n"
	  "daemon counter, queues by state, the top\n"
	  "destinations, delivery latency, alerts" },
	{ CTL_CMD_SHOW_HISTORY, { "show", "history" }, V, 0, 0, -1,
	  "show history [SERIES | domain D] [--range 1h|1d|1w|90d]",
	  "the monitor's history: the store and the last\n"
	  "minute, a series per minute (1h, 1d) or hour\n"
	  "(1w, 90d), or a domain's rows while it was\n"
	  "among the busiest or most deferred" },
	{ CTL_CMD_LIST_MESSAGES, { "list", "messages" }, V, 0, 0, 1,
	  "list messages [LIMIT]",
	  "queued messages, oldest first (default 1000)" },
	{ CTL_CMD_SHOW_DNS, { "show", "dns" }, V, 0, 0, 0, "show dns",
	  "dnscached's counters: queries, hits, misses,\n"
	  "coalesced, upstream errors, cache entries" },
	{ CTL_CMD_DNS_FLUSH, { "dns", "flush" }, A, 0, 0, 0, "dns flush",
	  "empty dnscached's cache" },
	{ CTL_CMD_SHOW_DOMAIN, { "show", "domain" }, V, 0, 1, 1,
	  "show domain D",
	  "one destination domain: queue state, next\n"
	  "retry, oldest, counters; MX hosts and\n"
	  "connections from deliverd" },
	{ CTL_CMD_RETRY, { "retry" }, A, 0, 1, 1, "retry D",
	  "retry D now (a down domain: its probe)" },
	{ CTL_CMD_SUSPEND, { "suspend" }, A, 0, 1, 1, "suspend D",
	  "no deliveries to D until resume" },
	{ CTL_CMD_RESUME, { "resume" }, A, 0, 1, 1, "resume D",
	  "deliver to D again; its queue drains" },
	{ CTL_CMD_QUEUE_VERIFY, { "queue", "verify" }, V, CTL_CMD_LONG, 0, 0,
	  "queue verify",
	  "read and check every stored piece of the spool\n"
	  "(CRC of body pieces, envelopes, recipients,\n"
	  "index entries) while mail flows; damage is\n"
	  "reported by queue id, exit status 3" },
	{ CTL_CMD_QUEUE_REPAIR, { "queue", "repair" }, A, CTL_CMD_LONG, 0, 0,
	  "queue repair",
	  "the same, and damaged messages go to the\n"
	  "quarantine (out of the queues, kept)" },
	{ CTL_CMD_QUEUE_QUARANTINE, { "queue", "quarantine" }, V, 0, 0, 0,
	  "queue quarantine", "the quarantined messages" },
	{ CTL_CMD_QUEUE_RELEASE, { "queue", "release" }, A, 0, 1, 1,
	  "queue release QID", "a quarantined message back to its queues" },
	{ CTL_CMD_QUEUE_DELETE, { "queue", "delete" }, A, 0, 1, 1,
	  "queue delete QID", "a quarantined message removed for good" },
	/* acting on queued mail: a selector other than a queue id may walk
	 * the whole spool (CTL_CMD_WALK) */
	{ CTL_CMD_DELETE, { "delete" }, A, CTL_CMD_WALK, 0, -1,
	  "delete SEL [--dry-run]",
	  "messages out of their queues into the hold area\n"
	  "for queue_undelete_window (default 1h), then\n"
	  "purged; SEL is QID | --domain D [--gateway G]\n"
	  "| --sender ADDR | --older-than DURATION (with\n"
	  "--limit N); --dry-run says what would be done" },
	{ CTL_CMD_UNDELETE, { "undelete" }, A, CTL_CMD_WALK, 0, -1,
	  "undelete SEL [--dry-run]",
	  "deleted messages back to their queues, within\n"
	  "the window" },
	{ CTL_CMD_BOUNCE, { "bounce" }, A, CTL_CMD_WALK, 0, -1,
	  "bounce SEL [--dry-run]",
	  "a DSN (5.0.0, removed by the administrator) to\n"
	  "each sender, then the messages are removed" },
	{ CTL_CMD_HOLD, { "hold" }, A, CTL_CMD_WALK, 0, -1,
	  "hold SEL [--dry-run]",
	  "messages out of their queues until released" },
	{ CTL_CMD_RELEASE, { "release" }, A, CTL_CMD_WALK, 0, -1,
	  "release SEL [--dry-run]",
	  "held messages back to their queues (not the\n"
	  "quarantine: that is queue release QID)" },
	{ CTL_CMD_SHOW_HELD, { "show", "held" }, V, 0, 0, -1, "show held",
	  "the held and deleted messages" },
	/* "redirect D ..." needs CTL_MAY_ACT: its parse asks for it */
	{ CTL_CMD_REDIRECT, { "redirect" }, V, 0, 0, -1,
	  "redirect\n"
	  "redirect D HOST[:PORT]\n"
	  "redirect D off",
	  "the redirected domains\n"
	  "\n"
	  "all mail for D goes to HOST (a name or\n"
	  "[address]) instead of its MX or route, from now\n"
	  "on (kept across restarts); D's queue is retried\n"
	  "\n"
	  "end it" },
	{ CTL_CMD_CONFIG_CHECK, { "config", "check" }, V, CTL_CMD_LOCAL, 0, 1,
	  "config check [FILE]",
	  "check a configuration file (default: the -f\n"
	  "file, else the built-in default); no daemon\n"
	  "needed" },
	{ CTL_CMD_CONFIG_LIMITS, { "config", "limits" }, V, CTL_CMD_LOCAL, 0,
	  1, "config limits [FILE]",
	  "every limit: its value at the top level, the\n"
	  "scopes where it may be set, and what each\n"
	  "listener and destination block sets" },
	{ CTL_CMD_CONFIG_RELOAD, { "config", "reload" }, A, 0, 0, 0,
	  "config reload",
	  "every running process checks the file it was\n"
	  "started with and applies it, or keeps its\n"
	  "configuration and says why (file:line)" },
	{ CTL_CMD_TRACE, { "trace" }, V, 0, 0, -1,
	  "trace ADDRESS [--listener NAME] [--helo NAME] [--from ADDR]\n"
	  "      [--rcpt ADDR]... [--json]",
	  "what a host at ADDRESS would get, without mail:\n"
	  "reverse DNS, score, group and policy, and the\n"
	  "reply to the connection, EHLO, MAIL and each\n"
	  "RCPT (default listener: the first public one)" },
	/* "debug D on|off" needs CTL_MAY_ACT: its parse asks for it */
	{ CTL_CMD_DEBUG, { "debug" }, V, 0, 0, -1,
	  "debug\n"
	  "debug D on [DURATION]\n"
	  "debug D off",
	  "the domains in debug: time left, transcript\n"
	  "file\n"
	  "\n"
	  "write the SMTP dialogue of every delivery to D\n"
	  "(commands and replies, never bodies) to a file\n"
	  "of its own in debug_dir for DURATION (30s, 5m,\n"
	  "2h; default 10m, at most 24h); *.D for its\n"
	  "subdomains\n"
	  "\n"
	  "stop it now" },
	/* bwctl_passwd.c checks its own arguments */
	{ CTL_CMD_PASSWD, { "passwd" }, V, CTL_CMD_LOCAL, 0, -1,
	  "passwd USER [view|act]",
	  "a line for the monitor's password file\n"
	  "(monitor_password_file) with the password\n"
	  "read from stdin; view (default) may look,\n"
	  "act may also act on mail; no daemon needed" },
	{ CTL_CMD_HELP, { "help" }, V, CTL_CMD_LOCAL, 0, -1, "help",
	  "this text" },
};
const size_t ctl_cmdtab_n = sizeof(ctl_cmdtab) / sizeof(ctl_cmdtab[0]);

#undef V
#undef A

const struct ctl_cmd_def *
ctl_cmdtab_find(int argc, char *const argv[], int *nwords)
{
	const struct ctl_cmd_def	*best = NULL;
	size_t				 i;
	int				 k, bestk = 0;

	for (i = 0; i < ctl_cmdtab_n; i++) {
		for (k = 0; ctl_cmdtab[i].words[k] != NULL; k++)
			if (k >= argc || strcmp(argv[k],
			    ctl_cmdtab[i].words[k]) != 0)
				break;
		if (ctl_cmdtab[i].words[k] == NULL && k > bestk) {
			best = &ctl_cmdtab[i];
			bestk = k;
		}
	}
	*nwords = bestk;
	return best;
}

const struct ctl_cmd_def *
ctl_cmdtab_get(enum ctl_cmd_id id)
{
	size_t	 i;

	for (i = 0; i < ctl_cmdtab_n; i++)
		if (ctl_cmdtab[i].id == id)
			return &ctl_cmdtab[i];
	return NULL;
}

int
ctl_cmdtab_remote_word(const char *word)
{
	size_t	 i;

	for (i = 0; i < ctl_cmdtab_n; i++)
		if (!(ctl_cmdtab[i].flags & CTL_CMD_LOCAL) &&
		    strcmp(ctl_cmdtab[i].words[0], word) == 0)
			return 1;
	return 0;
}

int
ctl_cmdtab_nargs_ok(const struct ctl_cmd_def *def, int nargs)
{
	int	 max = def->argmax < 0 ? BW_CTL_ARGC_MAX : def->argmax;

	return nargs >= def->argmin && nargs <= max;
}

/* One usage line and its help lines: side by side when the usage fits
 * the help column, else the help below it. */
static void
ctl_cmdtab_help_pair(FILE *f, const char *u, int ulen, const char *h,
    int hlen)
{
	const char	*e;
	int		 n;

	if (ulen <= CTL_HELP_COL) {
		/* one that fills the column exactly keeps a space */
		e = memchr(h, '\n', (size_t)hlen);
		n = e != NULL ? (int)(e - h) : hlen;
		fprintf(f, "  %-*.*s%s%.*s\n", CTL_HELP_COL, ulen, u,
		    ulen == CTL_HELP_COL ? " " : "", n, h);
		if (e == NULL)
			return;
		hlen -= n + 1;
		h = e + 1;
	} else
		fprintf(f, "  %.*s\n", ulen, u);
	while (hlen > 0) {
		e = memchr(h, '\n', (size_t)hlen);
		n = e != NULL ? (int)(e - h) : hlen;
		fprintf(f, "  %-*s%.*s\n", CTL_HELP_COL, "", n, h);
		if (e == NULL)
			break;
		hlen -= n + 1;
		h = e + 1;
	}
}

/*
 * A command's usage lines and help paragraphs (split at an empty line):
 * as many of each, they pair up (debug's three forms); else the usage
 * lines come first and the last one takes all the help (trace).
 */
static void
ctl_cmdtab_help_one(FILE *f, const struct ctl_cmd_def *d)
{
	const char	*u = d->usage, *h = d->help, *ue, *he;
	size_t		 nu = 1, np = 1;

	for (ue = u; (ue = strchr(ue, '\n')) != NULL; ue++)
		nu++;
	for (he = h; (he = strstr(he, "\n\n")) != NULL; he += 2)
		np++;
	for (;;) {
		ue = strchr(u, '\n');
		if (ue == NULL) {
			ctl_cmdtab_help_pair(f, u, (int)strlen(u), h,
			    (int)strlen(h));
			return;
		}
		if (nu != np) {
			fprintf(f, "  %.*s\n", (int)(ue - u), u);
			u = ue + 1;
			continue;
		}
		he = strstr(h, "\n\n");
		ctl_cmdtab_help_pair(f, u, (int)(ue - u), h, he != NULL ?
		    (int)(he - h) : (int)strlen(h));
		u = ue + 1;
		h = he != NULL ? he + 2 : h + strlen(h);
	}
}

void
ctl_cmdtab_help(FILE *f)
{
	size_t	 i;

	fputs("commands:\n", f);
	for (i = 0; i < ctl_cmdtab_n; i++)
		ctl_cmdtab_help_one(f, &ctl_cmdtab[i]);
}

const char *
ctl_may_name(unsigned may)
{
	switch (may & (CTL_MAY_VIEW | CTL_MAY_ACT)) {
	case CTL_MAY_VIEW:
		return "view";
	case CTL_MAY_ACT:
		return "act";
	case CTL_MAY_VIEW | CTL_MAY_ACT:
		return "view,act";
	}
	return "none";
}
