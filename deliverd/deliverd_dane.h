/*
 * DANE for outbound SMTP (RFC 7672): deliverd_dane.c.  Private to
 * deliverd; included by the files that resolve (deliverd_mx.c), decide
 * the TLS level (deliverd_tlspolicy.c) and set up sessions
 * (deliverd_tls.c).
 */
#ifndef DELIVERD_DANE_H
#define DELIVERD_DANE_H

#include <stdint.h>

#include "imsg_catalog.h"

struct dlv_agent;
struct dlv_tls_want;
struct bw_dns_result;
struct ssl_st;

#define DLV_TLSA_RECORDS_MAX	8	/* usable records kept per host;
					   more are ignored (logged) */
/* The longest association data a record's text can carry whole: "U S M "
 * and two hex digits an octet within BW_DNS_RDATA_TEXT_MAX.  A full
 * certificate (matching type 0) longer than that arrives cut and is
 * unusable; digests (types 1 and 2) always fit. */
#define DLV_TLSA_DATA_MAX	((BW_DNS_RDATA_TEXT_MAX - 8) / 2)
#define DLV_TLSA_NAME_MAX	(BW_DOMAIN_MAX + 1)	/* "_25._tcp.HOST" */

/* The RFC 7672 state of one MX host. */
enum dlv_dane_state {
	DLV_DANE_INSECURE = 0,	/* no secure TLSA RRset (MX or addresses
				   insecure, TLSA absent or insecure):
				   the level below dane, opportunistic */
	DLV_DANE_USABLE,	/* secure TLSA with usable records */
	DLV_DANE_UNUSABLE,	/* secure TLSA, none usable: encrypt */
	DLV_DANE_FAILED,	/* the TLSA lookup of a secure host failed
				   (SERVFAIL: bogus, or a timeout): the
				   host is not used */
	DLV_DANE__COUNT
};
const char	*dlv_dane_state_name(enum dlv_dane_state);

struct dlv_tlsa_rec {
	uint8_t		 usage;		/* 2 DANE-TA, 3 DANE-EE */
	uint8_t		 selector;	/* 0 certificate, 1 SPKI */
	uint8_t		 mtype;		/* 0 full, 1 SHA2-256, 2 SHA2-512 */
	uint16_t	 len;
	unsigned char	 data[DLV_TLSA_DATA_MAX];
};

/* What the TLS session of a DANE connection needs. */
struct dlv_tlsa_set {
	enum dlv_dane_state	 state;
	int			 nrec;
	struct dlv_tlsa_rec	 rec[DLV_TLSA_RECORDS_MAX];
	char			 host[BW_DOMAIN_MAX + 1];	/* MX host */
	char			 domain[BW_DOMAIN_MAX + 1];	/* next hop */
};

/* Why a record is not usable (dlv_dane_tlsa_parse). */
enum dlv_tlsa_parse {
	DLV_TLSA_OK = 0,
	DLV_TLSA_CUT,		/* dnscached cut its text: absurd size */
	DLV_TLSA_SYNTAX,	/* not "U S M HEX" */
	DLV_TLSA_PKIX,		/* usage 0 or 1: unusable for SMTP (7672
				   3.1.3) */
	DLV_TLSA_UNKNOWN,	/* usage, selector or matching type not
				   known */
	DLV_TLSA_LENGTH,	/* digest of the wrong length */
	DLV_TLSA_EXCESS,	/* usable, but DLV_TLSA_RECORDS_MAX are
				   kept already */
};
const char	*dlv_tlsa_parse_name(enum dlv_tlsa_parse);

/*
 * Pure: one TLSA record as dnscached gives it ("usage selector mtype
 * hex", rrflags BW_DNS_RRF_*) into out; DLV_TLSA_OK when it is usable.
 */
enum dlv_tlsa_parse dlv_dane_tlsa_parse(const char *text, uint32_t rrflags,
	    struct dlv_tlsa_rec *out);

/* ---- resolution (called by deliverd_mx.c) ---- */

/* A resolution starts: the query flags of its lookups (BW_DNS_QF_DNSSEC
 * when the destination is under tls dane), state reset. */
uint16_t dlv_dane_begin(struct dlv_agent *);
/* The query flags of the resolution under way. */
uint16_t dlv_dane_qflags(const struct dlv_agent *);
/* The MX answer (or NODATA: the implicit MX). */
void	 dlv_dane_mx_answer(struct dlv_agent *, const struct bw_dns_result *);
/* The TLSA name of host hostidx into dst when a lookup is wanted (a
 * secure MX RRset under dane): 1, else 0. */
int	 dlv_dane_tlsa_wanted(struct dlv_agent *, int hostidx, char *dst,
	    size_t dstsz);
void	 dlv_dane_addr_answer(struct dlv_agent *, int hostidx,
	    const struct bw_dns_result *);
void	 dlv_dane_tlsa_answer(struct dlv_agent *, int hostidx,
	    const struct bw_dns_result *);
/* Every answer is in: decide each host's state; a host whose lookup
 * failed gets no addresses (not used) and last_error says why.  Returns
 * the index of such a host, or -1. */
int	 dlv_dane_settle(struct dlv_agent *);
void	 dlv_dane_free(struct dlv_agent *);

/* ---- the TLS level and session (deliverd_tlspolicy.c, deliverd_tls.c) */

/* dane for this host: DANE with the records, ENCRYPT, MAY or (no state)
 * DANE without records, which fails the host. */
void	 dlv_dane_want(struct dlv_agent *, int hostidx, struct dlv_tls_want *);
/* DANE on a new session: 0, or -1 with why. */
int	 dlv_dane_ssl_setup(struct ssl_st *, const struct dlv_tlsa_set *,
	    char *why, size_t whysz);

#endif
