/*
 * DSN parameters (RFC 3461) on the commands to a next hop that offers
 * DSN: RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT, as they were
 * received (an ORCPT is passed on only when the client gave one: RFC 3461
 * 4.2 lets a relay add one, we do not).  ENVID and ORCPT arrive decoded
 * and go out xtext-encoded again; the encoding is minimal, so it is never
 * longer than what smtpd accepted (RFC 3461's 100 and 500 characters).
 * Pure functions, tested in tests/check_deliver.c.
 *
 * Trust: the texts come from queued's store, originally from the network;
 * the encoder refuses anything outside printable US-ASCII, so nothing can
 * end the command line early.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <string.h>

#include "util.h"
#include "xtext.h"
#include "deliverd.h"

int
dlv_dsn_mail_params(uint32_t ret, const char *envid, char *dst,
    size_t dstsz)
{
	char	 x[BW_DSN_ENVID_MAX + 1];

	if (dstsz == 0)
		return -1;
	dst[0] = '\0';
	if (ret == BW_DSN_RET_FULL || ret == BW_DSN_RET_HDRS) {
		strlcat(dst, " RET=", dstsz);
		strlcat(dst, bw_dsn_ret_name((int)ret), dstsz);
	}
	if (envid[0] != '\0') {
		if (bw_xtext_encode(envid, x, sizeof(x)) <= 0)
			return -1;
		strlcat(dst, " ENVID=", dstsz);
		strlcat(dst, x, dstsz);
	}
	return strlen(dst) + 1 < dstsz ? 0 : -1;
}

int
dlv_dsn_rcpt_params(uint32_t notify, const char *orcpt, char *dst,
    size_t dstsz)
{
	char		 nt[64], x[BW_DSN_ORCPT_MAX + 1];
	const char	*semi;
	size_t		 tlen;

	if (dstsz == 0)
		return -1;
	dst[0] = '\0';
	if (notify != 0) {
		strlcat(dst, " NOTIFY=", dstsz);
		strlcat(dst, bw_dsn_notify_text(nt, sizeof(nt), notify),
		    dstsz);
	}
	if (orcpt[0] != '\0') {
		/* "addr-type;address": the type as it is, the address coded */
		if ((semi = strchr(orcpt, ';')) == NULL || semi == orcpt)
			return -1;
		tlen = (size_t)(semi - orcpt) + 1;
		if (tlen >= sizeof(x))
			return -1;
		memcpy(x, orcpt, tlen);
		if (bw_xtext_encode(semi + 1, x + tlen, sizeof(x) - tlen) <= 0)
			return -1;
		strlcat(dst, " ORCPT=", dstsz);
		strlcat(dst, x, dstsz);
	}
	return strlen(dst) + 1 < dstsz ? 0 : -1;
}
