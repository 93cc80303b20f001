/*
 * SMTP command parser (see smtpd_parse.h).  Pure functions: the input is one
 * untrusted command line, the outputs are bounded copies.  Nothing here
 * allocates, logs or touches the network.
 *
 * Choices beyond RFC 5321: spaces after "FROM:" / "TO:" are accepted (many
 * clients send them), trailing blanks are ignored, a source route is
 * accepted and dropped (RFC 5321 4.1.1.3), the 64-octet local-part limit is
 * not enforced (SRS and VERP addresses exceed it); the whole address is
 * bounded by SMTP_PATH_ADDR_MAX.  DSN parameters (RFC 3461) are checked
 * strictly: xtext with upper-case hex only, decoded text printable
 * US-ASCII, NOTIFY values each at most once, RFC 3461's length limits on
 * ENVID and ORCPT; each kind of mistake has its own 501 text.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "smtpd_parse.h"
#include "xtext.h"

#define SP_LITERAL_MAX	64	/* inside [] of an address literal */
#define SP_XSTR(x)	#x
#define SP_STR(x)	SP_XSTR(x)

struct smtp_cmd_def {
	enum smtp_cmd	 cmd;
	const char	*verb;
	int		 arg;		/* 0 none, 1 required, 2 optional */
	int		 result;	/* OK, or ENOTIMPL */
};

static const struct smtp_cmd_def smtp_cmd_defs[] = {
	{ SMTP_CMD_HELO, "HELO", 1, SMTP_PARSE_OK },
	{ SMTP_CMD_EHLO, "EHLO", 1, SMTP_PARSE_OK },
	{ SMTP_CMD_MAIL, "MAIL", 1, SMTP_PARSE_OK },
	{ SMTP_CMD_RCPT, "RCPT", 1, SMTP_PARSE_OK },
	{ SMTP_CMD_DATA, "DATA", 0, SMTP_PARSE_OK },
	{ SMTP_CMD_RSET, "RSET", 0, SMTP_PARSE_OK },
	{ SMTP_CMD_NOOP, "NOOP", 2, SMTP_PARSE_OK },
	{ SMTP_CMD_QUIT, "QUIT", 0, SMTP_PARSE_OK },
	{ SMTP_CMD_HELP, "HELP", 2, SMTP_PARSE_OK },
	{ SMTP_CMD_VRFY, "VRFY", 1, SMTP_PARSE_OK },
	{ SMTP_CMD_EXPN, "EXPN", 2, SMTP_PARSE_ENOTIMPL },
	{ SMTP_CMD_STARTTLS, "STARTTLS", 0, SMTP_PARSE_OK },
	{ SMTP_CMD_BDAT, "BDAT", 1, SMTP_PARSE_OK },
	{ SMTP_CMD_AUTH, "AUTH", 2, SMTP_PARSE_ENOTIMPL },
};
#define SMTP_NCMDS	(sizeof(smtp_cmd_defs) / sizeof(smtp_cmd_defs[0]))

static const char *const smtp_parse_replies[SMTP_PARSE__COUNT] = {
	[SMTP_PARSE_OK] = "250 2.0.0 Ok",
	[SMTP_PARSE_EUNKNOWN] = "500 5.5.1 Command unrecognized",
	[SMTP_PARSE_ENOTIMPL] = "502 5.5.1 Command not implemented",
	[SMTP_PARSE_ESYNTAX] = "501 5.5.4 Syntax error in parameters or arguments",
	[SMTP_PARSE_ENOARG] = "501 5.5.4 Argument required",
	[SMTP_PARSE_EARG] = "501 5.5.4 No arguments allowed",
	[SMTP_PARSE_EBADCHAR] = "500 5.5.2 Invalid character in command",
	[SMTP_PARSE_ESENDER] = "501 5.1.7 Bad sender address syntax",
	[SMTP_PARSE_ERCPT] = "501 5.1.3 Bad recipient address syntax",
	[SMTP_PARSE_ETOOLONG] = "501 5.1.3 Path too long",
	[SMTP_PARSE_EUTF8] = "553 5.6.7 UTF-8 address requires SMTPUTF8",
	[SMTP_PARSE_EPARAM] = "555 5.5.4 Unsupported parameter",
	[SMTP_PARSE_EPARAMSYN] = "501 5.5.4 Bad parameter value",
	[SMTP_PARSE_EDUPPARAM] = "501 5.5.4 Duplicate parameter",
	[SMTP_PARSE_ERET] = "501 5.5.4 RET must be FULL or HDRS",
	[SMTP_PARSE_EENVID] = "501 5.5.4 Malformed ENVID (xtext of printable "
	    "US-ASCII expected)",
	[SMTP_PARSE_EENVIDLEN] = "501 5.5.4 ENVID longer than "
	    SP_STR(BW_DSN_ENVID_MAX) " characters",
	[SMTP_PARSE_ENOTIFY] = "501 5.5.4 NOTIFY must be NEVER or a list of "
	    "SUCCESS, FAILURE, DELAY",
	[SMTP_PARSE_ENOTIFYNEVER] = "501 5.5.4 NOTIFY=NEVER cannot be combined "
	    "with other values",
	[SMTP_PARSE_EORCPT] = "501 5.5.4 Malformed ORCPT (addr-type;xtext of "
	    "printable US-ASCII expected)",
	[SMTP_PARSE_EORCPTLEN] = "501 5.5.4 ORCPT longer than "
	    SP_STR(BW_DSN_ORCPT_MAX) " characters",
};

static const char *const smtp_parse_names[SMTP_PARSE__COUNT] = {
	"ok", "unknown", "notimpl", "syntax", "noarg", "arg", "badchar",
	"sender", "rcpt", "toolong", "utf8", "param", "paramsyntax",
	"dupparam", "ret", "envid", "envidlen", "notify", "notifynever",
	"orcpt", "orcptlen",
};

const char *
smtp_parse_reply(int r)
{
	if (r < 0 || r >= SMTP_PARSE__COUNT)
		return "451 4.3.0 Internal parser error";
	return smtp_parse_replies[r];
}

const char *
smtp_parse_result_name(int r)
{
	if (r < 0 || r >= SMTP_PARSE__COUNT)
		return "?";
	return smtp_parse_names[r];
}

const char *
smtp_cmd_name(int cmd)
{
	size_t	 i;

	for (i = 0; i < SMTP_NCMDS; i++)
		if ((int)smtp_cmd_defs[i].cmd == cmd)
			return smtp_cmd_defs[i].verb;
	return "UNKNOWN";
}

/* Skip the literal keyword kw (case-insensitive) at *pp; 1 if it was there. */
static int
smtp_skip_kw(const char **pp, const char *kw)
{
	size_t	 n = strlen(kw);

	if (strncasecmp(*pp, kw, n) != 0)
		return 0;
	*pp += n;
	return 1;
}

int
smtp_parse_command(char *line, size_t len, struct smtp_command *c)
{
	const struct smtp_cmd_def	*def = NULL;
	const char			*p, *verb;
	size_t				 i, vlen;

	c->cmd = SMTP_CMD_UNKNOWN;
	c->arg = "";
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return SMTP_PARSE_EBADCHAR;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';

	verb = line;
	for (vlen = 0; vlen < len && isalpha((unsigned char)verb[vlen]); vlen++)
		;
	if (vlen < len && verb[vlen] != ' ')
		return SMTP_PARSE_EUNKNOWN;
	for (i = 0; i < SMTP_NCMDS; i++) {
		if (strlen(smtp_cmd_defs[i].verb) == vlen &&
		    strncasecmp(smtp_cmd_defs[i].verb, verb, vlen) == 0) {
			def = &smtp_cmd_defs[i];
			break;
		}
	}
	if (def == NULL)
		return SMTP_PARSE_EUNKNOWN;
	c->cmd = def->cmd;
	if (def->result != SMTP_PARSE_OK)
		return def->result;

	p = verb + vlen;
	while (*p == ' ')
		p++;
	if (def->cmd == SMTP_CMD_MAIL || def->cmd == SMTP_CMD_RCPT) {
		if (*p == '\0')
			return SMTP_PARSE_ENOARG;
		if (!smtp_skip_kw(&p, def->cmd == SMTP_CMD_MAIL ?
		    "FROM:" : "TO:"))
			return SMTP_PARSE_ESYNTAX;
		while (*p == ' ')
			p++;
	}
	c->arg = p;
	if (def->arg == 1 && *p == '\0')
		return SMTP_PARSE_ENOARG;
	if (def->arg == 0 && *p != '\0')
		return SMTP_PARSE_EARG;
	return SMTP_PARSE_OK;
}

int
smtp_utf8_valid(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
smtp_is_letdig(unsigned char c)
{
	return isascii(c) && isalnum(c);
}

int
smtp_domain_valid(const char *s, size_t len, int utf8_ok)
{
	size_t		 i, start = 0;
	int		 nonascii = 0;

	if (len == 0 || len > BW_DOMAIN_MAX)
		return -1;
	if (!smtp_utf8_valid((const unsigned char *)s, len))
		return -1;
	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)s[i] : '.';

		if (c == '.') {
			size_t	 l = i - start;

			if (l == 0 || l > 63)
				return -1;
			/* ASCII labels: let-dig at both ends (RFC 5321 Domain) */
			if ((unsigned char)s[start] < 0x80 &&
			    !smtp_is_letdig((unsigned char)s[start]))
				return -1;
			if ((unsigned char)s[i - 1] < 0x80 &&
			    !smtp_is_letdig((unsigned char)s[i - 1]))
				return -1;
			start = i + 1;
			continue;
		}
		if (c >= 0x80) {
			nonascii = 1;
			continue;
		}
		if (!smtp_is_letdig(c) && c != '-')
			return -1;
	}
	if (nonascii && !utf8_ok)
		return -1;
	return 0;
}

/* The text between [ and ] of an address literal (RFC 5321 4.1.3). */
static int
smtp_literal_valid(const char *s, size_t len)
{
	char		 buf[SP_LITERAL_MAX + 1];
	unsigned char	 addr[16];
	size_t		 i;
	const char	*colon;

	if (len == 0 || len > SP_LITERAL_MAX)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, addr) == 1 ? 0 : -1;
	if (isdigit((unsigned char)buf[0]) && strchr(buf, ':') == NULL)
		return inet_pton(AF_INET, buf, addr) == 1 ? 0 : -1;
	/* General-address-literal: Standardized-tag ":" 1*dcontent */
	if ((colon = strchr(buf, ':')) == NULL || colon == buf ||
	    colon[1] == '\0')
		return -1;
	for (i = 0; buf + i < colon; i++)
		if (!smtp_is_letdig((unsigned char)buf[i]) && buf[i] != '-')
			return -1;
	if (buf[i - 1] == '-')
		return -1;
	/*
	 * dcontent also allows '@', but then the address's domain would not
	 * be the text after its last '@', where queued, the gateway rules and
	 * every next hop look for it: "x@[tag:y@victim.example]" was checked
	 * here as one domain and queued for another.
	 */
	for (i = (size_t)(colon - buf) + 1; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']' ||
		    c == '@')
			return -1;
	}
	return 0;
}

static int
smtp_is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if (isascii(c) && isalnum(c))
		return 1;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

/*
 * Domain or address literal at *pp up to '>'; on success *pp points at the
 * '>' and the domain text is s..*pp.
 */
static int
smtp_parse_domain(const char **pp, int utf8_ok, int *literal)
{
	const char	*s = *pp, *e;

	if (*s == '[') {
		if ((e = strchr(s, ']')) == NULL ||
		    smtp_literal_valid(s + 1, (size_t)(e - s - 1)) == -1)
			return -1;
		*literal = 1;
		*pp = e + 1;
		return 0;
	}
	for (e = s; *e != '\0' && *e != '>' && *e != ',' && *e != ':' &&
	    *e != ' '; e++)
		;
	if (smtp_domain_valid(s, (size_t)(e - s), 1) == -1)
		return -1;
	*literal = 0;
	*pp = e;
	return 0;
}

/*
 * "<" [A-d-l ":"] Mailbox ">" or "<>" at *pp.  Returns OK, or bad (the
 * caller's syntax error), ETOOLONG or EUTF8; *pp is left after the '>'.
 */
static int
smtp_parse_path(const char **pp, int is_rcpt, int utf8_ok,
    struct smtp_path *path)
{
	const int	 bad = is_rcpt ? SMTP_PARSE_ERCPT : SMTP_PARSE_ESENDER;
	const char	*p = *pp, *lstart, *lend, *dstart;
	size_t		 llen, dlen, i;
	int		 literal;

	memset(path, 0, sizeof(*path));
	if (*p++ != '<')
		return bad;
	if (*p == '>') {
		if (is_rcpt)
			return bad;
		path->null = 1;
		*pp = p + 1;
		return SMTP_PARSE_OK;
	}
	/*
	 * A-d-l: "@dom,@dom:" accepted and ignored (RFC 5321 4.1.1.3); the
	 * caller may still refuse it (a public listener does)
	 */
	if (*p == '@') {
		path->source_route = 1;
		for (;;) {
			p++;
			if (smtp_parse_domain(&p, 1, &literal) == -1)
				return bad;
			if (*p == ':') {
				p++;
				break;
			}
			if (*p++ != ',' || *p != '@')
				return bad;
		}
	}

	lstart = p;
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			unsigned char c = (unsigned char)*p;

			if (c == '\\') {
				c = (unsigned char)*++p;
				if (c < 32 || c > 126)
					return bad;
				continue;
			}
			if (c == '\0' || (c < 32) || c == 127)
				return bad;
		}
		p++;
	} else {
		int	 prevdot = 1;

		for (; *p != '@' && *p != '>'; p++) {
			unsigned char c = (unsigned char)*p;

			if (c == '.') {
				if (prevdot)
					return bad;
				prevdot = 1;
				continue;
			}
			if (!smtp_is_atext(c))
				return bad;
			prevdot = 0;
		}
		if (prevdot)
			return bad;
	}
	lend = p;
	llen = (size_t)(lend - lstart);

	if (*p == '>') {
		/* RFC 5321 4.5.1: RCPT TO:<Postmaster> without a domain */
		if (!is_rcpt || llen != 10 ||
		    strncasecmp(lstart, "postmaster", 10) != 0)
			return bad;
		memcpy(path->addr, lstart, llen);
		path->addr[llen] = '\0';
		path->postmaster = 1;
		*pp = p + 1;
		return SMTP_PARSE_OK;
	}
	if (*p++ != '@')
		return bad;
	dstart = p;
	if (smtp_parse_domain(&p, 1, &literal) == -1 || *p != '>')
		return bad;
	dlen = (size_t)(p - dstart);
	if (llen + 1 + dlen > SMTP_PATH_ADDR_MAX)
		return SMTP_PARSE_ETOOLONG;
	if (!smtp_utf8_valid((const unsigned char *)lstart, llen))
		return bad;
	memcpy(path->addr, lstart, llen);
	path->addr[llen] = '@';
	memcpy(path->addr + llen + 1, dstart, dlen);
	path->addr[llen + 1 + dlen] = '\0';
	for (i = 0; i < dlen; i++)
		path->domain[i] = (char)tolower((unsigned char)dstart[i]);
	path->domain[dlen] = '\0';
	path->literal = literal;
	for (i = 0; path->addr[i] != '\0'; i++)
		if ((unsigned char)path->addr[i] >= 0x80)
			path->utf8 = 1;
	if (path->utf8 && !utf8_ok)
		return SMTP_PARSE_EUTF8;
	*pp = p + 1;
	return SMTP_PARSE_OK;
}

/*
 * One esmtp-param at *pp: keyword into kw, value (or "") into val.  0; -1
 * malformed; -2 the value is longer than valsz - 1 (kw is set, so that
 * the caller can say which parameter was too long).
 */
static int
smtp_next_param(const char **pp, char *kw, size_t kwsz, char *val,
    size_t valsz)
{
	const char	*p = *pp;
	size_t		 n = 0;

	if (!isascii((unsigned char)*p) || !isalnum((unsigned char)*p))
		return -1;
	while (isascii((unsigned char)*p) &&
	    (isalnum((unsigned char)*p) || *p == '-')) {
		if (n + 1 >= kwsz)
			return -1;
		kw[n++] = *p++;
	}
	kw[n] = '\0';
	n = 0;
	val[0] = '\0';
	if (*p == '=') {
		p++;
		if (*p == ' ' || *p == '\0')
			return -1;
		while (*p != ' ' && *p != '\0') {
			unsigned char c = (unsigned char)*p;

			if (c < 33 || c > 126 || c == '=')
				return -1;
			if (n + 1 >= valsz)
				return -2;
			val[n++] = *p++;
		}
		val[n] = '\0';
	}
	if (*p != ' ' && *p != '\0')
		return -1;
	while (*p == ' ')
		p++;
	*pp = p;
	return 0;
}

/* Parameters seen in one command, for duplicates. */
#define SP_SEEN_SIZE	0x01
#define SP_SEEN_BODY	0x02
#define SP_SEEN_UTF8	0x04
#define SP_SEEN_RET	0x08
#define SP_SEEN_ENVID	0x10
#define SP_SEEN_NOTIFY	0x20
#define SP_SEEN_ORCPT	0x40

/* Mark a parameter seen: 0, or -1 when it was seen before. */
static int
smtp_param_once(unsigned *seen, unsigned bit)
{
	if (*seen & bit)
		return -1;
	*seen |= bit;
	return 0;
}

/* NOTIFY=NEVER / NOTIFY=SUCCESS,FAILURE,DELAY (RFC 3461 4.1). */
static int
smtp_parse_notify(const char *val, uint32_t *notify)
{
	static const struct {
		const char	*name;
		uint32_t	 bit;
	} kws[] = {
		{ "NEVER", BW_DSN_NOTIFY_NEVER },
		{ "SUCCESS", BW_DSN_NOTIFY_SUCCESS },
		{ "FAILURE", BW_DSN_NOTIFY_FAILURE },
		{ "DELAY", BW_DSN_NOTIFY_DELAY },
	};
	const char	*p = val, *e;
	uint32_t	 bits = 0, bit;
	size_t		 i, len;

	for (;;) {
		e = strchr(p, ',');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		bit = 0;
		for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
			if (strlen(kws[i].name) == len &&
			    strncasecmp(kws[i].name, p, len) == 0)
				bit = kws[i].bit;
		if (bit == 0 || (bits & bit))
			return SMTP_PARSE_ENOTIFY;	/* unknown, "", twice */
		bits |= bit;
		if (e == NULL)
			break;
		p = e + 1;
	}
	if ((bits & BW_DSN_NOTIFY_NEVER) && bits != BW_DSN_NOTIFY_NEVER)
		return SMTP_PARSE_ENOTIFYNEVER;
	*notify = bits;
	return SMTP_PARSE_OK;
}

/* ORCPT=addr-type;xtext (RFC 3461 4.2) into "addr-type;decoded". */
static int
smtp_parse_orcpt(const char *val, char *dst, size_t dstsz)
{
	const char	*semi;
	size_t		 tlen, i;

	if (strlen(val) > BW_DSN_ORCPT_MAX)
		return SMTP_PARSE_EORCPTLEN;
	if ((semi = strchr(val, ';')) == NULL || semi == val ||
	    semi[1] == '\0')
		return SMTP_PARSE_EORCPT;
	tlen = (size_t)(semi - val);
	if (tlen >= SMTP_ORCPT_TYPE_MAX || tlen + 1 >= dstsz)
		return SMTP_PARSE_EORCPT;
	/* addr-type is an atom */
	for (i = 0; i < tlen; i++)
		if ((unsigned char)val[i] >= 0x80 ||
		    !smtp_is_atext((unsigned char)val[i]))
			return SMTP_PARSE_EORCPT;
	memcpy(dst, val, tlen + 1);
	if (bw_xtext_decode(semi + 1, strlen(semi + 1), dst + tlen + 1,
	    dstsz - tlen - 1) <= 0)
		return SMTP_PARSE_EORCPT;
	return SMTP_PARSE_OK;
}

/* One MAIL FROM parameter (RFC 1870, 6152, 6531, 3461). */
static int
smtp_mail_param(const char *kw, const char *val, struct smtp_params *prm,
    unsigned *seen)
{
	const char	*v;
	uint64_t	 n;

	if (strcasecmp(kw, "SIZE") == 0) {
		if (smtp_param_once(seen, SP_SEEN_SIZE) == -1)
			return SMTP_PARSE_EDUPPARAM;
		if (val[0] == '\0' || strlen(val) > 20)
			return SMTP_PARSE_EPARAMSYN;
		for (n = 0, v = val; *v != '\0'; v++) {
			if (!isdigit((unsigned char)*v) ||
			    n > (UINT64_MAX - 9) / 10)
				return SMTP_PARSE_EPARAMSYN;
			n = n * 10 + (uint64_t)(*v - '0');
		}
		prm->size = n;
		prm->has_size = 1;
	} else if (strcasecmp(kw, "BODY") == 0) {
		if (smtp_param_once(seen, SP_SEEN_BODY) == -1)
			return SMTP_PARSE_EDUPPARAM;
		if (strcasecmp(val, "7BIT") == 0)
			prm->body = SMTP_BODY_7BIT;
		else if (strcasecmp(val, "8BITMIME") == 0)
			prm->body = SMTP_BODY_8BITMIME;
		else if (strcasecmp(val, "BINARYMIME") == 0)
			prm->body = SMTP_BODY_BINARYMIME;
		else
			return SMTP_PARSE_EPARAMSYN;
	} else if (strcasecmp(kw, "SMTPUTF8") == 0) {
		if (smtp_param_once(seen, SP_SEEN_UTF8) == -1)
			return SMTP_PARSE_EDUPPARAM;
		if (val[0] != '\0')
			return SMTP_PARSE_EPARAMSYN;
		prm->smtputf8 = 1;
	} else if (strcasecmp(kw, "RET") == 0) {
		if (smtp_param_once(seen, SP_SEEN_RET) == -1)
			return SMTP_PARSE_EDUPPARAM;
		if (strcasecmp(val, "FULL") == 0)
			prm->dsn_ret = BW_DSN_RET_FULL;
		else if (strcasecmp(val, "HDRS") == 0)
			prm->dsn_ret = BW_DSN_RET_HDRS;
		else
			return SMTP_PARSE_ERET;
	} else if (strcasecmp(kw, "ENVID") == 0) {
		if (smtp_param_once(seen, SP_SEEN_ENVID) == -1)
			return SMTP_PARSE_EDUPPARAM;
		if (strlen(val) > BW_DSN_ENVID_MAX)
			return SMTP_PARSE_EENVIDLEN;
		if (bw_xtext_decode(val, strlen(val), prm->envid,
		    sizeof(prm->envid)) <= 0)
			return SMTP_PARSE_EENVID;
	} else
		return SMTP_PARSE_EPARAM;
	return SMTP_PARSE_OK;
}

/* One RCPT TO parameter (RFC 3461). */
static int
smtp_rcpt_param(const char *kw, const char *val, struct smtp_rcpt_params *rp,
    unsigned *seen)
{
	if (strcasecmp(kw, "NOTIFY") == 0) {
		if (smtp_param_once(seen, SP_SEEN_NOTIFY) == -1)
			return SMTP_PARSE_EDUPPARAM;
		return smtp_parse_notify(val, &rp->notify);
	}
	if (strcasecmp(kw, "ORCPT") == 0) {
		if (smtp_param_once(seen, SP_SEEN_ORCPT) == -1)
			return SMTP_PARSE_EDUPPARAM;
		return smtp_parse_orcpt(val, rp->orcpt, sizeof(rp->orcpt));
	}
	return SMTP_PARSE_EPARAM;
}

/* ESMTP parameters after the path (RFC 5321 4.1.2 Mail-parameters). */
static int
smtp_parse_params(const char *p, int is_rcpt, struct smtp_params *prm,
    struct smtp_rcpt_params *rp)
{
	char		 kw[SMTP_PARAM_KW_MAX], val[SMTP_PARAM_VALUE_MAX];
	unsigned	 seen = 0;
	int		 r;

	if (*p != '\0' && *p != ' ')
		return is_rcpt ? SMTP_PARSE_ERCPT : SMTP_PARSE_ESENDER;
	while (*p == ' ')
		p++;
	while (*p != '\0') {
		r = smtp_next_param(&p, kw, sizeof(kw), val, sizeof(val));
		if (r == -2) {
			if (!is_rcpt && strcasecmp(kw, "ENVID") == 0)
				return SMTP_PARSE_EENVIDLEN;
			if (is_rcpt && strcasecmp(kw, "ORCPT") == 0)
				return SMTP_PARSE_EORCPTLEN;
		}
		if (r != 0)
			return SMTP_PARSE_EPARAMSYN;
		r = is_rcpt ? smtp_rcpt_param(kw, val, rp, &seen) :
		    smtp_mail_param(kw, val, prm, &seen);
		if (r != SMTP_PARSE_OK)
			return r;
	}
	return SMTP_PARSE_OK;
}

/* Does the argument ask for SMTPUTF8?  Checked before the path's UTF-8. */
static int
smtp_wants_utf8(const char *arg)
{
	const char	*gt;
	size_t		 n = 8;

	if ((gt = strrchr(arg, '>')) == NULL)
		return 0;
	for (gt++; *gt != '\0'; gt++)
		if ((gt[-1] == ' ') && strncasecmp(gt, "SMTPUTF8", n) == 0 &&
		    (gt[n] == '\0' || gt[n] == ' '))
			return 1;
	return 0;
}

int
smtp_parse_mail(const char *arg, struct smtp_path *path,
    struct smtp_params *prm)
{
	const char	*p = arg;
	int		 r;

	memset(prm, 0, sizeof(*prm));
	r = smtp_parse_path(&p, 0, smtp_wants_utf8(arg), path);
	if (r != SMTP_PARSE_OK)
		return r;
	return smtp_parse_params(p, 0, prm, NULL);
}

int
smtp_parse_rcpt(const char *arg, int utf8_ok, struct smtp_path *path,
    struct smtp_rcpt_params *rp)
{
	const char	*p = arg;
	int		 r;

	memset(rp, 0, sizeof(*rp));
	r = smtp_parse_path(&p, 1, utf8_ok, path);
	if (r != SMTP_PARSE_OK)
		return r;
	return smtp_parse_params(p, 1, NULL, rp);
}

int
smtp_addr_routed(const char *addr)
{
	const char	*p = addr;

	/* unquoted: the local part ends at the first '@' */
	if (*p != '"')
		return strcspn(p, "%!@") < strcspn(p, "@");
	/* quoted: the closing quote ends the local part, \" does not */
	for (p++; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		if (*p == '%' || *p == '!' || *p == '@')
			return 1;
	}
	return 0;
}

int
smtp_cmd_may_pipeline(int cmd, int pipelining)
{
	switch (cmd) {
	case SMTP_CMD_QUIT:
	case SMTP_CMD_STARTTLS:
	case SMTP_CMD_BDAT:
		return 1;
	case SMTP_CMD_EHLO:
	case SMTP_CMD_HELO:
	case SMTP_CMD_DATA:
		return 0;
	default:
		return pipelining;
	}
}

int
smtp_parse_bdat(const char *arg, uint64_t *size, int *last)
{
	const char	*p = arg;
	uint64_t	 n = 0;
	int		 d;

	if (!isdigit((unsigned char)*p))
		return SMTP_PARSE_ESYNTAX;
	for (; isdigit((unsigned char)*p); p++) {
		d = *p - '0';
		if (n > (UINT64_MAX - (uint64_t)d) / 10)
			return SMTP_PARSE_ESYNTAX;
		n = n * 10 + (uint64_t)d;
	}
	if (*p == '\0') {
		*size = n;
		*last = 0;
		return SMTP_PARSE_OK;
	}
	if (*p != ' ')
		return SMTP_PARSE_ESYNTAX;
	while (*p == ' ')
		p++;
	if (strcasecmp(p, "LAST") != 0)
		return SMTP_PARSE_ESYNTAX;
	*size = n;
	*last = 1;
	return SMTP_PARSE_OK;
}

void
smtp_body_scan_init(struct smtp_body_scan *sc)
{
	memset(sc, 0, sizeof(*sc));
}

/*
 * Line by line with memchr, as DATA does: bodies are long, CR and LF are
 * rare.  A CR is only good right before LF; the LF may come in the next
 * call (a chunk boundary inside CRLF).
 */
int
smtp_body_scan(struct smtp_body_scan *sc, const unsigned char *buf,
    size_t len, size_t maxline)
{
	const unsigned char	*nl;
	size_t			 pos = 0, seg;

	if (len == 0)
		return SMTP_BODY_OK;
	if (sc->lastcr && buf[0] != '\n')
		return SMTP_BODY_EBARECR;
	while (pos < len) {
		nl = memchr(buf + pos, '\n', len - pos);
		seg = (nl != NULL ? (size_t)(nl - buf) + 1 : len) - pos;
		if (sc->linelen + seg > maxline)
			return SMTP_BODY_ELONGLINE;
		if (nl == NULL) {
			/* an unfinished line: a CR only as its last octet */
			if (memchr(buf + pos, '\r', seg - 1) != NULL)
				return SMTP_BODY_EBARECR;
			sc->linelen += seg;
			sc->lastcr = buf[len - 1] == '\r';
			return SMTP_BODY_OK;
		}
		if (seg >= 2 ? buf[pos + seg - 2] != '\r' : !sc->lastcr)
			return SMTP_BODY_EBARELF;
		if (seg > 2 && memchr(buf + pos, '\r', seg - 2) != NULL)
			return SMTP_BODY_EBARECR;
		pos += seg;
		sc->linelen = 0;
		sc->lastcr = 0;
	}
	return SMTP_BODY_OK;
}

int
smtp_body_scan_end(const struct smtp_body_scan *sc)
{
	return sc->lastcr ? SMTP_BODY_EBARECR : SMTP_BODY_OK;
}
