/*
 * Fuzz target: SMTP command lines as smtpd reads them (smtpd/smtpd_parse.c).
 *
 * The input is what a client sends in the command phase.  It is cut into
 * lines by libevent's strict CRLF reader, as smtpd_session_cmd_read()
 * does, with its bound (smtpd_max_command_line at its largest allowed
 * value: a line over it is skipped, as smtpd skips it); each line goes
 * through smtp_parse_command(), and the argument of HELO/EHLO, MAIL and
 * RCPT through what the session calls on it: smtp_parse_mail() (which
 * sets the SMTPUTF8 flag the following RCPTs are parsed with),
 * smtp_parse_rcpt(), the relay decision's config_listener_accepts() and,
 * for an address literal, bw_net_match(), the check for sender-specified
 * routing (smtp_addr_routed()), the pipelining rule
 * (smtp_cmd_may_pipeline()), and BDAT's argument (smtp_parse_bdat()).
 *
 * Checked beyond "no crash": every result has a reply, outputs are
 * terminated and within their arrays, an accepted path is well formed
 * (address = local@domain with the domain after the last '@', domain
 * lower-cased), and an address is routed exactly when its local part
 * holds '%', '!' or '@'.  And what we accept we can relay: MAIL and RCPT
 * as deliverd writes them for the next hop (the address in <>, the DSN
 * parameters encoded again by deliverd_dsn.c) parse again here to the
 * same address, RET, ENVID, NOTIFY and ORCPT.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "config.h"
#include "smtpd_parse.h"
#include "deliverd.h"
#include "fuzz.h"

/* A public listener's RAT and a private one's relay networks. */
static char *const fuzz_accept[] = {
	"example.org", "*.example.net", "xn--bcher-kva.example",
};
static struct bw_net fuzz_nets[2] = {
	{ AF_INET, { 192, 0, 2, 0 }, 24 },
	{ AF_INET6, { 0x20, 0x01, 0x0d, 0xb8 }, 32 },
};

static void
fuzz_check_str(const char *s, size_t size)
{
	FUZZ_CHECK(memchr(s, '\0', size) != NULL);
}

/* An accepted path: what the session copies into the transaction. */
static void
fuzz_check_path(const struct smtp_path *path, int is_rcpt)
{
	const char	*at;
	size_t		 i, dlen;

	fuzz_check_str(path->addr, sizeof(path->addr));
	fuzz_check_str(path->domain, sizeof(path->domain));
	FUZZ_CHECK(strlen(path->addr) <= SMTP_PATH_ADDR_MAX);
	if (path->null) {
		FUZZ_CHECK(!is_rcpt && path->addr[0] == '\0');
		return;
	}
	if (path->postmaster) {
		FUZZ_CHECK(is_rcpt && strcasecmp(path->addr, "postmaster") == 0);
		return;
	}
	FUZZ_CHECK((at = strrchr(path->addr, '@')) != NULL);
	{
		const char	*c;
		int		 routed = 0;

		for (c = path->addr; c < at; c++)
			if (*c == '%' || *c == '!' || *c == '@')
				routed = 1;
		FUZZ_CHECK(smtp_addr_routed(path->addr) == routed);
	}
	dlen = strlen(path->domain);
	FUZZ_CHECK(dlen > 0 && strlen(at + 1) == dlen);
	FUZZ_CHECK(strncasecmp(at + 1, path->domain, dlen) == 0);
	for (i = 0; i < dlen; i++)
		FUZZ_CHECK(!isupper((unsigned char)path->domain[i]));
	/* the session's RAT and relay checks on the domain */
	{
		struct bw_listener_conf	 lc;

		memset(&lc, 0, sizeof(lc));
		lc.accept_domains = (char **)fuzz_accept;
		lc.naccept_domains = (int)(sizeof(fuzz_accept) /
		    sizeof(fuzz_accept[0]));
		(void)config_listener_accepts(&lc, path->domain);
	}
	if (path->literal) {
		struct sockaddr_storage	 ss;
		struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
		struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
		char			 lit[BW_DOMAIN_MAX + 1];
		size_t			 n = strlen(path->domain);

		FUZZ_CHECK(n >= 2 && path->domain[0] == '[' &&
		    path->domain[n - 1] == ']');
		memcpy(lit, path->domain + 1, n - 2);
		lit[n - 2] = '\0';
		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, lit, &sin->sin_addr) == 1)
			sin->sin_family = AF_INET;
		else if (strncasecmp(lit, "ipv6:", 5) == 0 &&
		    inet_pton(AF_INET6, lit + 5, &sin6->sin6_addr) == 1)
			sin6->sin6_family = AF_INET6;
		if (ss.ss_family != 0)
			(void)bw_net_match(fuzz_nets, 2,
			    (struct sockaddr *)&ss);
	}
}

/* MAIL as deliverd sends it on: parsed again, the same. */
static void
fuzz_relay_mail(const struct smtp_path *path, const struct smtp_params *prm)
{
	char			 dsn[DLV_DSN_PARAMS_MAX], line[BW_ADDR_MAX +
				    DLV_DSN_PARAMS_MAX + 32];
	struct smtp_path	 p2;
	struct smtp_params	 prm2;

	FUZZ_CHECK(dlv_dsn_mail_params((uint32_t)prm->dsn_ret, prm->envid,
	    dsn, sizeof(dsn)) == 0);
	snprintf(line, sizeof(line), "<%s>%s%s", path->addr,
	    path->utf8 ? " SMTPUTF8" : "", dsn);
	FUZZ_CHECK(smtp_parse_mail(line, &p2, &prm2) == SMTP_PARSE_OK);
	FUZZ_CHECK(strcmp(p2.addr, path->addr) == 0);
	FUZZ_CHECK(prm2.dsn_ret == prm->dsn_ret);
	FUZZ_CHECK(strcmp(prm2.envid, prm->envid) == 0);
}

/* RCPT as deliverd sends it on: parsed again, the same. */
static void
fuzz_relay_rcpt(const struct smtp_path *path,
    const struct smtp_rcpt_params *rp, int utf8)
{
	char			 dsn[DLV_DSN_PARAMS_MAX], line[BW_ADDR_MAX +
				    DLV_DSN_PARAMS_MAX + 32];
	struct smtp_path	 p2;
	struct smtp_rcpt_params	 rp2;

	FUZZ_CHECK(dlv_dsn_rcpt_params(rp->notify, rp->orcpt, dsn,
	    sizeof(dsn)) == 0);
	snprintf(line, sizeof(line), "<%s>%s", path->addr, dsn);
	memset(&rp2, 0, sizeof(rp2));
	FUZZ_CHECK(smtp_parse_rcpt(line, utf8, &p2, &rp2) == SMTP_PARSE_OK);
	FUZZ_CHECK(strcmp(p2.addr, path->addr) == 0);
	FUZZ_CHECK(rp2.notify == rp->notify);
	FUZZ_CHECK(strcmp(rp2.orcpt, rp->orcpt) == 0);
}

/* One command line, as smtpd_session_command() takes it. */
static void
fuzz_cmd_line(char *line, size_t len, int *utf8_tx)
{
	struct smtp_command	 c;
	struct smtp_path	 path;
	struct smtp_params	 prm;
	struct smtp_rcpt_params	 rp;
	int			 r;

	r = smtp_parse_command(line, len, &c);
	FUZZ_CHECK(r >= 0 && r < SMTP_PARSE__COUNT);
	FUZZ_CHECK(smtp_parse_reply(r) != NULL &&
	    strcmp(smtp_parse_result_name(r), "?") != 0);
	FUZZ_CHECK(c.arg != NULL);
	(void)smtp_cmd_name((int)c.cmd);
	FUZZ_CHECK(smtp_cmd_may_pipeline((int)c.cmd, 0) == 0 ||
	    c.cmd == SMTP_CMD_QUIT || c.cmd == SMTP_CMD_STARTTLS ||
	    c.cmd == SMTP_CMD_BDAT);
	if (r != SMTP_PARSE_OK)
		return;
	FUZZ_CHECK(c.arg >= line && c.arg <= line + len);
	switch (c.cmd) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		FUZZ_CHECK(c.arg[0] != '\0');
		(void)smtp_domain_valid(c.arg, strcspn(c.arg, " "), 1);
		*utf8_tx = 0;
		break;
	case SMTP_CMD_MAIL:
		r = smtp_parse_mail(c.arg, &path, &prm);
		FUZZ_CHECK(r >= 0 && r < SMTP_PARSE__COUNT);
		if (r == SMTP_PARSE_OK) {
			fuzz_check_path(&path, 0);
			FUZZ_CHECK(!path.utf8 || prm.smtputf8);
			FUZZ_CHECK(prm.has_size || prm.size == 0);
			FUZZ_CHECK(memchr(prm.envid, '\0',
			    sizeof(prm.envid)) != NULL);
			*utf8_tx = prm.smtputf8;
			fuzz_relay_mail(&path, &prm);
		}
		break;
	case SMTP_CMD_RCPT:
		memset(&rp, 0, sizeof(rp));
		r = smtp_parse_rcpt(c.arg, *utf8_tx, &path, &rp);
		FUZZ_CHECK(r >= 0 && r < SMTP_PARSE__COUNT);
		if (r == SMTP_PARSE_OK) {
			fuzz_check_path(&path, 1);
			FUZZ_CHECK(!path.utf8 || *utf8_tx);
			FUZZ_CHECK(memchr(rp.orcpt, '\0',
			    sizeof(rp.orcpt)) != NULL);
			FUZZ_CHECK((rp.notify & ~BW_DSN_NOTIFY_ALL) == 0);
			FUZZ_CHECK(!(rp.notify & BW_DSN_NOTIFY_NEVER) ||
			    rp.notify == BW_DSN_NOTIFY_NEVER);
			fuzz_relay_rcpt(&path, &rp, *utf8_tx);
		}
		break;
	case SMTP_CMD_BDAT:
		{
			uint64_t	 size = 0;
			int		 last = 0;

			r = smtp_parse_bdat(c.arg, &size, &last);
			FUZZ_CHECK(r == SMTP_PARSE_OK ||
			    r == SMTP_PARSE_ESYNTAX);
			if (r == SMTP_PARSE_OK)
				FUZZ_CHECK(size == strtoull(c.arg, NULL, 10) &&
				    last == (strchr(c.arg, ' ') != NULL));
		}
		break;
	case SMTP_CMD_RSET:
		*utf8_tx = 0;
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer	*in;
	char		*line;
	size_t		 n, max, pending;
	int		 utf8_tx = 0;

	if (size > FUZZ_INPUT_MAX)
		size = FUZZ_INPUT_MAX;
	max = (size_t)bw_limit_defs[LIM_SMTPD_MAX_COMMAND_LINE].max;
	if ((in = evbuffer_new()) == NULL)
		abort();
	if (evbuffer_add(in, data, size) == -1)
		abort();
	while ((pending = evbuffer_get_length(in)) > 0) {
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT);
		if (line == NULL) {
			/* the last, unterminated line: parsed too, for depth */
			if (pending + 2 > max)
				break;
			if ((line = malloc(pending + 1)) == NULL)
				abort();
			evbuffer_remove(in, line, pending);
			line[pending] = '\0';
			n = pending;
		} else if (n + 2 > max) {
			free(line);
			continue;
		}
		fuzz_cmd_line(line, n, &utf8_tx);
		free(line);
	}
	evbuffer_free(in);
	return 0;
}
