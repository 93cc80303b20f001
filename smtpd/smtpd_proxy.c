/*
 * PROXY protocol header parser (see smtpd_proxy.h).  Version 1 is one
 * text line, "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n", at most
 * 107 bytes; version 2 is a 12-byte signature, a version/command byte, a
 * family/transport byte, a 16-bit length, the addresses and optional
 * TLVs.  Everything is checked before it is believed: a byte that cannot
 * start or continue a valid header ends the parse at once, so a client
 * that is not a balancer is turned away without waiting for a timeout.
 */
#include "bw_autoconf.h"

#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>

#include "smtpd_proxy.h"

static const unsigned char proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
#define PROXY_V1_PREFIX		"PROXY "
#define PROXY_V1_PREFIX_LEN	(sizeof(PROXY_V1_PREFIX) - 1)
#define PROXY_V1_TOKENS		6	/* PROXY proto src dst sport dport */
#define PROXY_V2_TCP4_LEN	12	/* 2 x 4 address bytes, 2 x 2 port */
#define PROXY_V2_TCP6_LEN	36	/* 2 x 16, 2 x 2 */
#define PROXY_V2_TLV_HEAD	3	/* type, 16-bit length */

static enum smtpd_proxy_status
proxy_bad(const char **why, const char *what)
{
	if (why != NULL)
		*why = what;
	return SMTPD_PROXY_BAD;
}

/* A decimal port without sign or leading zero, 0-65535; -1 if not. */
static int
proxy_v1_port(const char *s)
{
	long	 v = 0;
	size_t	 n = strlen(s), i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535 ? (int)v : -1;
}

static int
proxy_sockaddr(struct sockaddr_storage *ss, int family, const void *addr,
    const unsigned char *port_be)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		memcpy(&sin->sin_port, port_be, 2);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		memcpy(&sin6->sin6_port, port_be, 2);
	}
	return 0;
}

static enum smtpd_proxy_status
proxy_v1(const unsigned char *buf, size_t len, struct smtpd_proxy_result *res,
    const char **why)
{
	char		 line[SMTPD_PROXY_V1_MAX + 1];
	char		*tok[PROXY_V1_TOKENS + 1], *p;
	unsigned char	 addr[2][16], port[2][2];
	size_t		 i, end = 0;
	int		 ntok = 0, family, a, v;

	for (i = 0; i < len && i < SMTPD_PROXY_V1_MAX; i++) {
		if (buf[i] == '\n') {
			end = i + 1;
			break;
		}
		/* printable text and the CR right before the LF, only */
		if (buf[i] == '\r' ? i + 1 < len && buf[i + 1] != '\n' :
		    buf[i] < 0x20 || buf[i] > 0x7e)
			return proxy_bad(why, "v1: a control byte in the line");
	}
	if (end == 0)
		return len >= SMTPD_PROXY_V1_MAX ?
		    proxy_bad(why, "v1: no CRLF within 107 bytes") :
		    SMTPD_PROXY_MORE;
	if (end < 2 || buf[end - 2] != '\r')
		return proxy_bad(why, "v1: a bare LF ends the line");
	memcpy(line, buf, end - 2);
	line[end - 2] = '\0';
	/* single spaces between tokens: split on each one */
	for (p = line; ntok <= PROXY_V1_TOKENS; ) {
		tok[ntok++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	res->length = end;
	res->version = 1;
	if (ntok >= 2 && strcmp(tok[1], "UNKNOWN") == 0) {
		/* the spec: whatever follows UNKNOWN is ignored */
		res->local = 1;
		return SMTPD_PROXY_DONE;
	}
	if (ntok != PROXY_V1_TOKENS)
		return proxy_bad(why, "v1: not six fields");
	if (strcmp(tok[1], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(tok[1], "TCP6") == 0)
		family = AF_INET6;
	else
		return proxy_bad(why, "v1: protocol not TCP4, TCP6 or UNKNOWN");
	for (a = 0; a < 2; a++) {
		if (inet_pton(family, tok[2 + a], addr[a]) != 1)
			return proxy_bad(why, "v1: an address of the wrong "
			    "form or family");
		if ((v = proxy_v1_port(tok[4 + a])) == -1)
			return proxy_bad(why, "v1: a port that is not 0-65535");
		port[a][0] = (unsigned char)(v >> 8);
		port[a][1] = (unsigned char)(v & 0xff);
	}
	res->local = 0;
	proxy_sockaddr(&res->src, family, addr[0], port[0]);
	proxy_sockaddr(&res->dst, family, addr[1], port[1]);
	return SMTPD_PROXY_DONE;
}

static enum smtpd_proxy_status
proxy_v2(const unsigned char *buf, size_t len, struct smtpd_proxy_result *res,
    const char **why)
{
	size_t		 body, total, off, need;
	unsigned int	 cmd, family, transport;

	if (memcmp(buf, proxy_v2_sig, len < sizeof(proxy_v2_sig) ? len :
	    sizeof(proxy_v2_sig)) != 0)
		return proxy_bad(why, "v2: not the signature");
	if (len < SMTPD_PROXY_V2_HEAD) {
		if (len > 12 && (buf[12] >> 4) != 2)
			return proxy_bad(why, "v2: version is not 2");
		return SMTPD_PROXY_MORE;
	}
	if ((buf[12] >> 4) != 2)
		return proxy_bad(why, "v2: version is not 2");
	cmd = buf[12] & 0x0f;
	family = buf[13] >> 4;
	transport = buf[13] & 0x0f;
	body = ((size_t)buf[14] << 8) | buf[15];
	total = SMTPD_PROXY_V2_HEAD + body;
	if (cmd > 1)
		return proxy_bad(why, "v2: command is not LOCAL or PROXY");
	if (total > SMTPD_PROXY_V2_MAX)
		return proxy_bad(why, "v2: header longer than 1024 bytes");
	if (len < total)
		return SMTPD_PROXY_MORE;
	res->length = total;
	res->version = 2;
	res->local = 1;
	/* LOCAL (the balancer's own health check) or no address family:
	 * the addresses, if any, are not to be used */
	if (cmd == 0 || family == 0)
		return SMTPD_PROXY_DONE;
	if (transport != 1 || (family != 1 && family != 2))
		return proxy_bad(why, "v2: not a TCP over IPv4 or IPv6 "
		    "connection");
	need = family == 1 ? PROXY_V2_TCP4_LEN : PROXY_V2_TCP6_LEN;
	if (body < need)
		return proxy_bad(why, "v2: address block too short");
	/* TLVs may follow; each must fit, none is used */
	for (off = SMTPD_PROXY_V2_HEAD + need; off < total; ) {
		size_t	 tlen;

		if (total - off < PROXY_V2_TLV_HEAD)
			return proxy_bad(why, "v2: a TLV cut short");
		tlen = ((size_t)buf[off + 1] << 8) | buf[off + 2];
		if (tlen > total - off - PROXY_V2_TLV_HEAD)
			return proxy_bad(why, "v2: a TLV overruns the header");
		off += PROXY_V2_TLV_HEAD + tlen;
	}
	off = SMTPD_PROXY_V2_HEAD;
	res->local = 0;
	if (family == 1) {
		proxy_sockaddr(&res->src, AF_INET, buf + off, buf + off + 8);
		proxy_sockaddr(&res->dst, AF_INET, buf + off + 4,
		    buf + off + 10);
	} else {
		proxy_sockaddr(&res->src, AF_INET6, buf + off, buf + off + 32);
		proxy_sockaddr(&res->dst, AF_INET6, buf + off + 16,
		    buf + off + 34);
	}
	return SMTPD_PROXY_DONE;
}

/* 1 if buf[0..len) matches the first len bytes of what (len bounded). */
static int
proxy_prefix_eq(const unsigned char *buf, size_t len, const void *what,
    size_t wlen)
{
	return memcmp(buf, what, len < wlen ? len : wlen) == 0;
}

int
smtpd_proxy_sniff(const unsigned char *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (proxy_prefix_eq(buf, len, PROXY_V1_PREFIX, PROXY_V1_PREFIX_LEN))
		return len >= PROXY_V1_PREFIX_LEN ? 1 : 0;
	if (proxy_prefix_eq(buf, len, proxy_v2_sig, sizeof(proxy_v2_sig)))
		return len >= sizeof(proxy_v2_sig) ? 1 : 0;
	return -1;
}

enum smtpd_proxy_status
smtpd_proxy_parse(const unsigned char *buf, size_t len,
    struct smtpd_proxy_result *res, const char **why)
{
	size_t	 n;

	memset(res, 0, sizeof(*res));
	if (why != NULL)
		*why = NULL;
	if (len == 0)
		return SMTPD_PROXY_MORE;
	if (buf[0] == proxy_v2_sig[0])
		return proxy_v2(buf, len, res, why);
	n = len < PROXY_V1_PREFIX_LEN ? len : PROXY_V1_PREFIX_LEN;
	if (memcmp(buf, PROXY_V1_PREFIX, n) != 0)
		return proxy_bad(why, "no PROXY header");
	if (len < PROXY_V1_PREFIX_LEN)
		return SMTPD_PROXY_MORE;
	return proxy_v1(buf, len, res, why);
}
