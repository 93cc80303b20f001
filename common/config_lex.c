/*
 * The configuration lexer: errors, lines, tokens and values.  Each line
 * is split into tokens (whitespace-separated, double quotes group, "{"
 * and "}" stand alone, "#" at the start of a token begins a comment);
 * the helpers here then check a statement's values (names, host names,
 * sizes, durations, integers, paths, addresses) and report bad ones.
 *
 * The file is trusted no more than any other input: every line is bounded
 * by BW_CONFIG_LINE_MAX and control bytes are refused.  Every error is
 * reported as "file:line: message" (tokens escaped for the log), parsing
 * goes on to find the next one, and after BW_CONFIG_ERRORS_MAX it stops.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"
#include "config.h"
#include "config_int.h"

#define CONFIG_DOMAIN_TEXT_MAX	253	/* RFC 1035: 255 octets on the wire */

/* Escape untrusted text for an error message. */
const char *
config_esc(char *dst, size_t dstsz, const char *s)
{
	return log_escape(dst, dstsz, s, strlen(s));
}

static void
config_emit(struct config_parser *p, const char *msg)
{
	if (p->errcb != NULL)
		p->errcb(msg, p->arg);
	else
		log_warnx("%s", msg);
}

/* Report "name:line: message"; line 0 means the file as a whole. */
void
config_error(struct config_parser *p, int line, const char *fmt, ...)
{
	char	 msg[CONFIG_ERR_MAX];
	va_list	 ap;
	int	 n;

	if (p->stopped)
		return;
	if (p->nerr >= BW_CONFIG_ERRORS_MAX) {
		snprintf(msg, sizeof(msg), "%s:%d: too many errors (%d), "
		    "stopping", p->name, line, p->nerr);
		config_emit(p, msg);
		p->nerr++;
		p->stopped = 1;
		return;
	}
	if (line > 0)
		n = snprintf(msg, sizeof(msg), "%s:%d: ", p->name, line);
	else
		n = snprintf(msg, sizeof(msg), "%s: ", p->name);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(msg)) {
		va_start(ap, fmt);
		vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
		va_end(ap);
	}
	config_emit(p, msg);
	p->nerr++;
}

/*
 * Names and values.
 */

/* A host name or domain: LDH labels of 1..63, at most 253 characters. */
int
config_domain_valid(const char *s)
{
	size_t	 len = strlen(s), label = 0, i;

	if (len == 0 || len > CONFIG_DOMAIN_TEXT_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* A user, group or listener name: [A-Za-z0-9_.-], not starting with '-'. */
int
config_name_valid(const char *s, size_t max)
{
	size_t	 i;

	if (s[0] == '\0' || s[0] == '-' || strlen(s) >= max)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

int
config_yesno(const char *s)
{
	if (strcasecmp(s, "yes") == 0)
		return 1;
	if (strcasecmp(s, "no") == 0)
		return 0;
	return -1;
}

/*
 * Reading lines and splitting them into tokens.
 */

static int
config_src_getc(struct config_src *src)
{
	int	 c;

	if (src->fp != NULL) {
		if ((c = getc(src->fp)) == EOF && ferror(src->fp) &&
		    src->err == 0)
			src->err = errno ? errno : EIO;
		return c;
	}
	if (src->text[src->off] == '\0')
		return EOF;
	return (unsigned char)src->text[src->off++];
}

/*
 * Read one line into p->buf without its newline (and a CR before it).
 * Returns its length, -1 at end of input, or -2 if it was too long (the
 * rest of it is consumed).
 */
int
config_line_read(struct config_parser *p, struct config_src *src)
{
	size_t	 n = 0;
	int	 c, any = 0, toolong = 0;

	while ((c = config_src_getc(src)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (n < BW_CONFIG_LINE_MAX + 1)
			p->buf[n++] = (char)c;
		else
			toolong = 1;
	}
	if (!any)
		return -1;
	if (!toolong && n > 0 && p->buf[n - 1] == '\r')
		n--;
	if (toolong || n > BW_CONFIG_LINE_MAX)
		return -2;
	p->buf[n] = '\0';
	return (int)n;
}

/* Split p->buf (len bytes) into tokens; -1 after reporting an error. */
int
config_tokenize(struct config_parser *p, size_t len)
{
	const char	*s = p->buf;
	char		*o = p->tokbuf;
	size_t		 i;

	p->ntok = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			config_error(p, p->line, "control character 0x%02x "
			    "in line", c);
			return -1;
		}
	}
	i = 0;
	for (;;) {
		struct config_token	*t;

		while (s[i] == ' ' || s[i] == '\t')
			i++;
		if (s[i] == '\0' || s[i] == '#')
			break;
		if (p->ntok >= CONFIG_TOKENS_MAX) {
			config_error(p, p->line, "too many tokens");
			return -1;
		}
		t = &p->tok[p->ntok++];
		t->s = o;
		t->quoted = 0;
		if (s[i] == '"') {
			t->quoted = 1;
			for (i++; s[i] != '"'; i++) {
				if (s[i] == '\0') {
					config_error(p, p->line,
					    "unterminated quote");
					return -1;
				}
				*o++ = s[i];
			}
			i++;
			if (s[i] != '\0' && s[i] != ' ' && s[i] != '\t' &&
			    s[i] != '{' && s[i] != '}') {
				config_error(p, p->line, "missing space "
				    "after a quoted value");
				return -1;
			}
		} else if (s[i] == '{' || s[i] == '}')
			*o++ = s[i++];
		else {
			for (; s[i] != '\0' && s[i] != ' ' && s[i] != '\t' &&
			    s[i] != '{' && s[i] != '}'; i++) {
				if (s[i] == '"') {
					config_error(p, p->line, "unexpected "
					    "'\"' inside a value (quote the "
					    "whole value)");
					return -1;
				}
				*o++ = s[i];
			}
		}
		*o++ = '\0';
	}
	return 0;
}

int
config_tok_is(const struct config_token *t, const char *s)
{
	return !t->quoted && strcmp(t->s, s) == 0;
}

/* Check the statement has exactly n values; report otherwise. */
int
config_args(struct config_parser *p, int n)
{
	char	 e[CONFIG_ESC_MAX];

	if (p->ntok < n + 1) {
		config_error(p, p->line, "%s: missing value",
		    config_esc(e, sizeof(e), p->tok[0].s));
		return -1;
	}
	if (p->ntok > n + 1) {
		char	 e2[CONFIG_ESC_MAX];

		config_error(p, p->line, "%s: unexpected \"%s\" after the "
		    "value", config_esc(e, sizeof(e), p->tok[0].s),
		    config_esc(e2, sizeof(e2), p->tok[n + 1].s));
		return -1;
	}
	return 0;
}

/* Parse a limit-style value and check it against the row's range. */
int
config_limit_value(struct config_parser *p, const char *what,
    const struct bw_limit_def *def, const char *s, long long *out)
{
	char		 e[CONFIG_ESC_MAX];
	long long	 v;

	if (bw_limit_parse_value(def->unit, s, &v) == -1) {
		config_esc(e, sizeof(e), s);
		switch (def->unit) {
		case BW_UNIT_BYTES:
			config_error(p, p->line, "%s: bad size \"%s\" (a "
			    "number of bytes with optional k, m or g)",
			    what, e);
			break;
		case BW_UNIT_MS:
			config_error(p, p->line, "%s: bad duration \"%s\" (a "
			    "number with optional ms, s, m, h or d; bare "
			    "number = seconds)", what, e);
			break;
		default:
			config_error(p, p->line, "%s: bad number \"%s\"",
			    what, e);
			break;
		}
		return -1;
	}
	if (v < def->min || v > def->max) {
		config_error(p, p->line, "%s: %s is out of range "
		    "%lld..%lld (%s)", what, config_esc(e, sizeof(e), s),
		    def->min, def->max, bw_limit_unit_name(def->unit));
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * A plain integer in [min, max] (ports, worker counts); a leading '-' only
 * where min is negative.
 */
int
config_int(struct config_parser *p, const char *s, long long min,
    long long max, int *out)
{
	char		 e[CONFIG_ESC_MAX];
	long long	 v;
	int		 neg = min < 0 && s[0] == '-';

	if (bw_limit_parse_value(BW_UNIT_COUNT, s + neg, &v) == -1) {
		config_error(p, p->line, "%s: bad number \"%s\"", p->tok[0].s,
		    config_esc(e, sizeof(e), s));
		return -1;
	}
	if (neg)
		v = -v;
	if (v < min || v > max) {
		config_error(p, p->line, "%s: %s is out of range %lld..%lld",
		    p->tok[0].s, config_esc(e, sizeof(e), s), min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int
config_path(struct config_parser *p, const char *s, char *dst, size_t dstsz)
{
	char	 e[CONFIG_ESC_MAX];

	if (s[0] != '/') {
		config_error(p, p->line, "%s: \"%s\" is not an absolute path",
		    p->tok[0].s, config_esc(e, sizeof(e), s));
		return -1;
	}
	if (strlcpy(dst, s, dstsz) >= dstsz) {
		config_error(p, p->line, "%s: path too long (max %zu bytes)",
		    p->tok[0].s, dstsz - 1);
		return -1;
	}
	return 0;
}

/* Textual IPv4 or IPv6 address to its family and bytes; -1 if neither. */
int
config_addr_parse(const char *s, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	return -1;
}
