/*
 * The SMTP command parser: pure functions over one command line (CRLF
 * already removed), no I/O and no libevent, so that it can be unit-tested
 * on its own.  Input is untrusted network text; every output is bounded by
 * the sizes in imsg_catalog.h (BW_ADDR_MAX, BW_DOMAIN_MAX).
 *
 * Grammar: RFC 5321 4.1 (commands, paths, ESMTP parameters), RFC 6531
 * (UTF-8 in local parts and domains, only with SMTPUTF8), RFC 1870 (SIZE),
 * RFC 6152 (BODY=8BITMIME), RFC 3030 (BDAT, BODY=BINARYMIME), RFC 3461
 * (DSN: RET, ENVID on MAIL; NOTIFY, ORCPT on RCPT).
 */
#ifndef SMTPD_PARSE_H
#define SMTPD_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "imsg_catalog.h"

#define SMTP_LOCAL_MAX		64	/* RFC 5321 4.5.3.1.1 (not enforced, see parse) */
#define SMTP_PATH_ADDR_MAX	(BW_ADDR_MAX - 2)	/* address without <> */
#define SMTP_PARAM_KW_MAX	32	/* esmtp-keyword, NUL included */
#define SMTP_PARAM_VALUE_MAX	(BW_DSN_ORCPT_MAX + 1)	/* the longest
					   value we take (ORCPT), NUL included */
#define SMTP_ORCPT_TYPE_MAX	32	/* addr-type of ORCPT ("rfc822") */

enum smtp_cmd {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_HELP,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_BDAT,
	SMTP_CMD_AUTH,
	SMTP_CMD__COUNT
};
const char	*smtp_cmd_name(int);

/* Parser outcomes; smtp_parse_reply() gives the SMTP reply of each error. */
enum smtp_parse_result {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_EUNKNOWN,	/* 500 5.5.1 command unrecognized */
	SMTP_PARSE_ENOTIMPL,	/* 502 5.5.1 command not implemented */
	SMTP_PARSE_ESYNTAX,	/* 501 5.5.4 syntax error in arguments */
	SMTP_PARSE_ENOARG,	/* 501 5.5.4 argument required */
	SMTP_PARSE_EARG,	/* 501 5.5.4 no argument allowed */
	SMTP_PARSE_EBADCHAR,	/* 500 5.5.2 NUL or control byte in command */
	SMTP_PARSE_ESENDER,	/* 501 5.1.7 bad sender address syntax */
	SMTP_PARSE_ERCPT,	/* 501 5.1.3 bad recipient address syntax */
	SMTP_PARSE_ETOOLONG,	/* 501 5.1.3 path too long */
	SMTP_PARSE_EUTF8,	/* 553 5.6.7 UTF-8 address needs SMTPUTF8 */
	SMTP_PARSE_EPARAM,	/* 555 5.5.4 unsupported parameter */
	SMTP_PARSE_EPARAMSYN,	/* 501 5.5.4 bad parameter value */
	SMTP_PARSE_EDUPPARAM,	/* 501 5.5.4 duplicate parameter */
	SMTP_PARSE_ERET,	/* 501 5.5.4 RET neither FULL nor HDRS */
	SMTP_PARSE_EENVID,	/* 501 5.5.4 ENVID not printable xtext */
	SMTP_PARSE_EENVIDLEN,	/* 501 5.5.4 ENVID over BW_DSN_ENVID_MAX */
	SMTP_PARSE_ENOTIFY,	/* 501 5.5.4 NOTIFY value unknown */
	SMTP_PARSE_ENOTIFYNEVER,	/* 501 5.5.4 NEVER with another value */
	SMTP_PARSE_EORCPT,	/* 501 5.5.4 ORCPT not addr-type;xtext */
	SMTP_PARSE_EORCPTLEN,	/* 501 5.5.4 ORCPT over BW_DSN_ORCPT_MAX */
	SMTP_PARSE__COUNT
};
const char	*smtp_parse_reply(int);
const char	*smtp_parse_result_name(int);

struct smtp_command {
	enum smtp_cmd	 cmd;
	const char	*arg;	/* points into the line; "" if none */
};

/*
 * Split a command line (NUL-terminated, len bytes; trailing blanks are cut
 * in place) into verb and argument.  For MAIL and RCPT the
 * argument starts after "FROM:" / "TO:" (spaces after the colon skipped).
 * Checks the argument rules of each verb (HELO needs one, DATA takes none).
 */
int	 smtp_parse_command(char *line, size_t len, struct smtp_command *);

enum smtp_body {
	SMTP_BODY_NONE = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME,	/* RFC 3030 3: only with BDAT */
};

struct smtp_params {
	uint64_t	 size;		/* SIZE=, 0 if absent */
	int		 has_size;
	enum smtp_body	 body;
	int		 smtputf8;
	int		 dsn_ret;	/* enum bw_dsn_ret */
	char		 envid[BW_DSN_ENVID_MAX + 1];	/* decoded; "" none */
};

/* RCPT TO parameters (RFC 3461). */
struct smtp_rcpt_params {
	uint32_t	 notify;	/* BW_DSN_NOTIFY_*; 0 none given */
	char		 orcpt[BW_DSN_ORCPT_MAX + 1];	/* "type;decoded" */
};

struct smtp_path {
	char		 addr[SMTP_PATH_ADDR_MAX + 1];	/* "" = null path */
	char		 domain[BW_DOMAIN_MAX + 1];	/* lower-cased; "" if none */
	int		 null;		/* <> */
	int		 utf8;		/* non-ASCII bytes in the address */
	int		 postmaster;	/* RCPT TO:<Postmaster> without a domain */
	int		 literal;	/* domain is an address literal */
	int		 source_route;	/* an A-d-l (<@a,@b:u@d>) came
					   first; it is not in addr */
};

/* MAIL FROM argument: "<path> [params]".  UTF-8 needs the SMTPUTF8 param. */
int	 smtp_parse_mail(const char *arg, struct smtp_path *,
	    struct smtp_params *);
/* RCPT TO argument; utf8_ok when the transaction's MAIL had SMTPUTF8. */
int	 smtp_parse_rcpt(const char *arg, int utf8_ok, struct smtp_path *,
	    struct smtp_rcpt_params *);
/*
 * BDAT argument (RFC 3030 2): chunk-size [SP "LAST"].  chunk-size is
 * 1*DIGIT and must fit in 64 bits; "LAST" is case-insensitive.  OK or
 * ESYNTAX; nothing is written on error.
 */
int	 smtp_parse_bdat(const char *arg, uint64_t *size, int *last);

/*
 * The line check of a non-BINARYMIME BDAT body, which has no dot or
 * end-of-data to find: the chunks are one byte stream, split anywhere
 * (inside CRLF too), and every line must end in CRLF and hold at most
 * maxline octets with it, as in DATA.  State carries over between calls.
 */
enum smtp_body_result {
	SMTP_BODY_OK = 0,
	SMTP_BODY_EBARELF,	/* LF without CR before it */
	SMTP_BODY_EBARECR,	/* CR not followed by LF */
	SMTP_BODY_ELONGLINE,	/* a line over maxline octets */
};

struct smtp_body_scan {
	size_t		 linelen;	/* octets of the unfinished line */
	int		 lastcr;	/* the last octet seen was CR */
};

void	 smtp_body_scan_init(struct smtp_body_scan *);
int	 smtp_body_scan(struct smtp_body_scan *, const unsigned char *buf,
	    size_t len, size_t maxline);
/* At the end of the body: EBARECR if it ended in CR, else OK. */
int	 smtp_body_scan_end(const struct smtp_body_scan *);

/* A domain (RFC 5321 Domain, U-labels allowed if utf8_ok); 0 or -1. */
int	 smtp_domain_valid(const char *s, size_t len, int utf8_ok);
/* Valid UTF-8 (no overlongs, no surrogates); 1 or 0. */
int	 smtp_utf8_valid(const unsigned char *s, size_t len);

/*
 * Sender-specified routing in an address as smtp_parse_rcpt() leaves it
 * (local@domain, the local part possibly quoted): 1 if the local part
 * holds '%' or '!', or '@' inside quotes (user%host@d, host!user@d,
 * "user@host"@d), which a next hop may take as a route to another
 * domain.  A source route (<@a:u@d>) is dropped by the parser, which
 * says so in smtp_path.source_route.
 */
int	 smtp_addr_routed(const char *addr);

/*
 * RFC 2920 3.1: 1 if the client may send more input behind cmd without
 * waiting for its reply.  pipelining: the client greeted with EHLO, and
 * so saw PIPELINING offered.  EHLO, HELO and DATA end a pipelined group
 * (message text may follow DATA only after the 354); without PIPELINING
 * every command waits.  QUIT ends the session anyway, plaintext behind
 * STARTTLS is discarded by the TLS switch, and BDAT's chunk follows it
 * by design (RFC 3030).
 */
int	 smtp_cmd_may_pipeline(int cmd, int pipelining);

#endif
