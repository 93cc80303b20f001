/*
 * Fuzz the PROXY protocol header parser (smtpd/smtpd_proxy.c) with the
 * first bytes of a connection from a balancer -- or from anybody who
 * reaches a listener that expects one.  Beyond "no crash, no overread"
 * (the input is copied to a heap block of exactly its size), it checks
 * the parser's contract: a verdict of DONE consumes no more than it was
 * given, and the header alone gives the same verdict, length and
 * addresses; a prefix of a complete header is never BAD (a balancer's
 * header split across reads must not be refused), and more bytes never
 * change a verdict reached on fewer.  The sniffer (smtpd_proxy_sniff,
 * for clients that are not balancers) never says "no header" to input
 * the parser would take, and agrees with itself on a prefix.
 */
#include "bw_autoconf.h"

#include <string.h>

#include "fuzz.h"
#include "smtpd_proxy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_proxy_result	 res, again;
	enum smtpd_proxy_status		 st, st2;
	unsigned char			*buf;
	size_t				 cut;
	int				 sn, sn2;

	if (size > SMTPD_PROXY_V2_MAX * 2)
		size = SMTPD_PROXY_V2_MAX * 2;
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	st = smtpd_proxy_parse(buf, size, &res, NULL);
	FUZZ_CHECK(st == SMTPD_PROXY_BAD || st == SMTPD_PROXY_MORE ||
	    st == SMTPD_PROXY_DONE);
	sn = smtpd_proxy_sniff(buf, size);
	FUZZ_CHECK(sn >= -1 && sn <= 1);
	if (st != SMTPD_PROXY_BAD)
		FUZZ_CHECK(sn != -1);
	/* a decision on fewer bytes stands */
	sn2 = smtpd_proxy_sniff(buf, size / 2);
	if (sn2 != 0)
		FUZZ_CHECK(sn2 == sn);
	if (st == SMTPD_PROXY_DONE) {
		FUZZ_CHECK(res.length > 0 && res.length <= size);
		FUZZ_CHECK(res.version == 1 || res.version == 2);
		st2 = smtpd_proxy_parse(buf, res.length, &again, NULL);
		FUZZ_CHECK(st2 == SMTPD_PROXY_DONE);
		FUZZ_CHECK(again.length == res.length &&
		    again.local == res.local &&
		    memcmp(&again.src, &res.src, sizeof(res.src)) == 0 &&
		    memcmp(&again.dst, &res.dst, sizeof(res.dst)) == 0);
		/* three cuts of the header: never refused */
		for (cut = 1; cut < res.length; cut = cut * 2 + 1)
			FUZZ_CHECK(smtpd_proxy_parse(buf, cut, &again,
			    NULL) == SMTPD_PROXY_MORE);
		FUZZ_CHECK(smtpd_proxy_parse(buf, res.length - 1, &again,
		    NULL) == SMTPD_PROXY_MORE);
	}
	/* more bytes never change a verdict already reached on fewer: a
	 * refused prefix stays refused, a complete one stays complete */
	st2 = smtpd_proxy_parse(buf, size / 2, &again, NULL);
	if (st2 == SMTPD_PROXY_BAD)
		FUZZ_CHECK(st == SMTPD_PROXY_BAD);
	if (st2 == SMTPD_PROXY_DONE)
		FUZZ_CHECK(st == SMTPD_PROXY_DONE &&
		    again.length == res.length);
	free(buf);
	return 0;
}
