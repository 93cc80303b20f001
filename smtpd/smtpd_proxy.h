/*
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1
 * and 2) that a load balancer sends before the SMTP session, naming the
 * client it accepted the connection from.  smtpd reads it only on
 * listeners that expect it and only from configured balancer addresses;
 * this file only parses: bytes in, a verdict out, no state, no
 * allocation, so it can be fed any prefix of a hostile stream.
 */
#ifndef SMTPD_PROXY_H
#define SMTPD_PROXY_H

#include <sys/socket.h>
#include <stddef.h>

#define SMTPD_PROXY_V1_MAX	107	/* the spec's longest v1 line, CRLF
					   included */
#define SMTPD_PROXY_V2_HEAD	16	/* signature, version, family, length */
/*
 * Longest v2 header we accept, TLVs included.  The format allows 64 KiB;
 * HAProxy's TLVs (ALPN, authority, SSL details, unique id) fit in far
 * less, and a bound keeps a balancer's bytes from pinning a session's
 * buffer before the first SMTP byte.
 */
#define SMTPD_PROXY_V2_MAX	1024

enum smtpd_proxy_status {
	SMTPD_PROXY_BAD = -1,		/* not a PROXY header: close */
	SMTPD_PROXY_MORE = 0,		/* a valid prefix: read more */
	SMTPD_PROXY_DONE = 1,		/* complete; see the result */
};

struct smtpd_proxy_result {
	size_t			 length;	/* header bytes to consume */
	int			 version;	/* 1 or 2 */
	/*
	 * 0: src and dst are the client's and the balancer's listener
	 * address; 1: the header carries no address (v1 UNKNOWN, v2 LOCAL
	 * or an unspecified family) and the connection's own addresses
	 * stand, as the spec says.
	 */
	int			 local;
	struct sockaddr_storage	 src;
	struct sockaddr_storage	 dst;
};

/*
 * Do the first bytes of a connection start a PROXY header?  1: they begin
 * with "PROXY " or the whole v2 signature; 0: too few bytes to tell (a
 * proper prefix of one of them); -1: no.  For a client that is not a
 * balancer, whose header, well formed or not, is refused all the same.
 */
int	 smtpd_proxy_sniff(const unsigned char *buf, size_t len);

/*
 * Parse the start of a connection's input.  On SMTPD_PROXY_BAD, *why (if
 * not NULL) says what was wrong in a few words for the log line.
 */
enum smtpd_proxy_status smtpd_proxy_parse(const unsigned char *buf,
	    size_t len, struct smtpd_proxy_result *res, const char **why);

#endif
