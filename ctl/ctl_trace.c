/*
 * `bwctl trace` arguments (ctl_trace.h): pure, so that bwctl, controld
 * and check_ctl_trace run the same code.  Text from the command line is
 * copied with its bound and never trusted to be terminated or printable.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "ctl_trace.h"

/* Printable US-ASCII, no space unless allowed: 1, else 0. */
static int
ctl_trace_printable(const char *s, int space_ok)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
		if (*s == ' ' && !space_ok)
			return 0;
	}
	return 1;
}

/* Copy an option's value into dst (dstsz): -1 with err when it cannot. */
static int
ctl_trace_value(const char *opt, const char *v, char *dst, size_t dstsz,
    int space_ok, int empty_ok, char *err, size_t errsz)
{
	if (v[0] == '\0' && !empty_ok) {
		snprintf(err, errsz, "%s: an empty value", opt);
		return -1;
	}
	if (strlen(v) >= dstsz) {
		snprintf(err, errsz, "%s: longer than %zu bytes", opt,
		    dstsz - 1);
		return -1;
	}
	if (!ctl_trace_printable(v, space_ok)) {
		snprintf(err, errsz, "%s: control bytes, non-ASCII bytes%s "
		    "in the value", opt, space_ok ? "" : " or spaces");
		return -1;
	}
	strlcpy(dst, v, dstsz);
	return 0;
}

int
ctl_trace_args(int argc, char *const argv[], struct bw_trace_req *req,
    int *json, char *err, size_t errsz)
{
	static const char *const opts[] = { "--listener", "--helo",
	    "--from", "--rcpt" };
	unsigned char	 bin[16];
	const char	*a, *v, *eq;
	char		 opt[16];
	char		 esc[64];
	int		 i, k, seen[4] = { 0, 0, 0, 0 };
	size_t		 n;

	memset(req, 0, sizeof(*req));
	err[0] = '\0';
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0) {
			*json = 1;
			continue;
		}
		if (a[0] != '-') {
			if (req->addr[0] != '\0') {
				snprintf(err, errsz, "one ADDRESS only");
				return -1;
			}
			if (strlen(a) >= sizeof(req->addr) ||
			    (inet_pton(AF_INET, a, bin) != 1 &&
			    inet_pton(AF_INET6, a, bin) != 1)) {
				snprintf(err, errsz, "invalid address '%s': "
				    "an IPv4 or IPv6 address expected",
				    log_escape(esc, sizeof(esc), a,
				    strlen(a)));
				return -1;
			}
			strlcpy(req->addr, a, sizeof(req->addr));
			continue;
		}
		/* --opt VALUE or --opt=VALUE */
		eq = strchr(a, '=');
		n = eq != NULL ? (size_t)(eq - a) : strlen(a);
		for (k = 0; k < 4; k++)
			if (strlen(opts[k]) == n && strncmp(a, opts[k], n) == 0)
				break;
		if (k == 4) {
			snprintf(err, errsz, "unknown option '%s' "
			    "(--listener, --helo, --from, --rcpt, --json)",
			    log_escape(esc, sizeof(esc), a, n));
			return -1;
		}
		strlcpy(opt, opts[k], sizeof(opt));
		if (eq != NULL)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else {
			snprintf(err, errsz, "%s needs a value", opt);
			return -1;
		}
		if (k != 3 && seen[k]++) {
			snprintf(err, errsz, "%s given twice", opt);
			return -1;
		}
		switch (k) {
		case 0:
			if (ctl_trace_value(opt, v, req->listener,
			    sizeof(req->listener), 0, 0, err, errsz) == -1)
				return -1;
			break;
		case 1:
			if (ctl_trace_value(opt, v, req->helo,
			    sizeof(req->helo), 0, 0, err, errsz) == -1)
				return -1;
			break;
		case 2:
			/* "" is the null sender; parameters may follow */
			if (ctl_trace_value(opt, v, req->from,
			    sizeof(req->from), 1, 1, err, errsz) == -1)
				return -1;
			break;
		default:
			if (req->nrcpt >= BW_TRACE_RCPT_MAX) {
				snprintf(err, errsz, "at most %d --rcpt",
				    BW_TRACE_RCPT_MAX);
				return -1;
			}
			if (ctl_trace_value(opt, v, req->rcpt[req->nrcpt],
			    sizeof(req->rcpt[0]), 1, 0, err, errsz) == -1)
				return -1;
			req->nrcpt++;
			break;
		}
	}
	if (req->addr[0] == '\0') {
		snprintf(err, errsz, "usage: trace ADDRESS [--listener NAME] "
		    "[--helo NAME] [--from ADDR] [--rcpt ADDR]... [--json]");
		return -1;
	}
	return 0;
}
