/*
 * The TLS policy of outbound connections: what a connection needs from
 * TLS (dlv_tls_want_for), whether to send STARTTLS after EHLO, whether a
 * finished handshake meets the need, and the log fields.
 *
 * Levels (breakwater.conf(5) "tls"):
 *   none     never STARTTLS.
 *   may      STARTTLS when offered, certificate not checked; a failed
 *            handshake (or a TLS session that breaks before it is ready)
 *            marks the host "no TLS" for DLV_NOTLS_MS and the agent
 *            reconnects in plaintext (RFC 7435).  Only here.
 *   encrypt  TLS or no delivery: STARTTLS not offered, refused, or a
 *            failed handshake fail the host (next MX); when every host
 *            failed so, the jobs defer with 4.7.5.  Never plaintext.
 *   verify   encrypt, and the certificate chain is checked against the
 *            system trust store or tls_ca_file, and its name against the
 *            MX host's (a route host's) name: RFC 6125 as OpenSSL's
 *            X509_check_host does it, a wildcard only as the whole
 *            left-most label.
 *   dane     RFC 7672: deliverd_dane.c turns it into DANE (usable TLSA
 *            records), ENCRYPT (secure TLSA, none usable) or MAY (no
 *            secure TLSA) per host; see dlv_tls_want_dane().
 * MTA-STS (deliverd_mtasts*.c) raises a host's level to VERIFY with the
 * MX name, testing=1 in testing mode: a failure is logged, not fatal.
 *
 * The handshake always runs with SSL_VERIFY_NONE, so that a failure can
 * be reported with its reason; the result is then checked here with
 * SSL_get_verify_result() and the presence of a certificate: verification
 * is never skipped silently.
 */
#include "bw_autoconf.h"

#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "log.h"
#include "util.h"
#include "deliverd.h"
#include "deliverd_dane.h"
#include "deliverd_mtasts.h"

static const char *const dlv_tls_level_names[] = {
	"none", "may", "encrypt", "verify", "dane",
};

static const char *const dlv_tls_fail_names[DLV_TLS_FAIL__COUNT] = {
	"tls_fail_not_offered", "tls_fail_refused", "tls_fail_handshake",
	"tls_fail_no_cert", "tls_fail_untrusted", "tls_fail_name",
	"tls_fail_dane", "tls_fail_setup", "tls_fallback_plaintext",
};

const char *
dlv_tls_level_name(enum dlv_tls_level l)
{
	if ((unsigned)l >= sizeof(dlv_tls_level_names) /
	    sizeof(dlv_tls_level_names[0]))
		return "?";
	return dlv_tls_level_names[l];
}

/* The status counter's name of a failure kind. */
const char *
dlv_tls_fail_name(enum dlv_tls_fail k)
{
	if ((unsigned)k >= DLV_TLS_FAIL__COUNT)
		return "?";
	return dlv_tls_fail_names[k];
}

/*
 * The DANE hook (RFC 7672 2.2): deliverd_dane.c's TLSA decision for the
 * host (DANE with the usable records, ENCRYPT when the TLSA RRset is
 * secure but none is usable, the level below dane -- MAY -- when there is
 * no secure TLSA; a host whose lookup failed is not used).
 */
static void
dlv_tls_want_dane(struct dlv_agent *a, int hostidx, struct dlv_tls_want *w)
{
	dlv_dane_want(a, hostidx, w);
}

void
dlv_tls_want_for(struct dlv_agent *a, int hostidx, struct dlv_tls_want *w)
{
	const struct bw_dest_opts	*o;

	memset(w, 0, sizeof(*w));
	o = config_dest_opts(dlv_env->cfg, a->gateway, a->domain);
	w->why = "config";
	w->ca_file = o->tls_ca_file;
	switch (o->tls) {
	case BW_DEST_TLS_NONE:
		w->level = DLV_TLS_NONE;
		break;
	case BW_DEST_TLS_ENCRYPT:
		w->level = DLV_TLS_ENCRYPT;
		break;
	case BW_DEST_TLS_VERIFY:
		w->level = DLV_TLS_VERIFY;
		break;
	case BW_DEST_TLS_DANE:
		w->level = DLV_TLS_DANE;
		break;
	case BW_DEST_TLS_MAY:
	default:
		w->level = DLV_TLS_MAY;
		break;
	}
	/* The name a certificate must carry: the MX (or route) host's. */
	strlcpy(w->names[0], a->hosts[hostidx].name, sizeof(w->names[0]));
	w->nnames = 1;
	if (w->level == DLV_TLS_DANE)
		dlv_tls_want_dane(a, hostidx, w);
	dlv_sts_tls_want(a, hostidx, w);	/* after DANE: RFC 8461 2 */
}

enum dlv_tls_ehlo_act
dlv_tls_ehlo(const struct dlv_conn *c, char *why, size_t whysz)
{
	const struct dlv_host	*h = &c->agent->hosts[c->host];
	const struct dlv_tls_want *w = &c->tlsinfo.want;

	if (c->tls || w->level == DLV_TLS_NONE)
		return DLV_TLS_ACT_PLAIN;
	/* may, and MTA-STS testing: plaintext while the host is "no TLS" */
	if (w->level == DLV_TLS_MAY || w->testing) {
		if (c->ext.starttls && h->notls_until <= bw_now_ms())
			return DLV_TLS_ACT_STARTTLS;
		if (w->testing)		/* what enforce would have refused */
			log_info("domain=%s relay=%s TLS %s, %s: delivering "
			    "in plaintext anyway", c->agent->domain, c->relay,
			    c->ext.starttls ? "handshake failed lately" :
			    "not offered", w->why);
		return DLV_TLS_ACT_PLAIN;
	}
	if (c->ext.starttls)
		return DLV_TLS_ACT_STARTTLS;
	snprintf(why, whysz, "TLS required but not offered by %s", h->name);
	return DLV_TLS_ACT_FAIL;
}

int
dlv_tls_may_fallback(const struct dlv_conn *c)
{
	return c->tlsinfo.want.level <= DLV_TLS_MAY || c->tlsinfo.want.testing;
}

/* The reason of a failed verification, for logs and replies. */
static enum dlv_tls_fail
dlv_tls_verify_error(long err, int dane, char *why, size_t whysz)
{
	switch (err) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		snprintf(why, whysz, "certificate name mismatch");
		return DLV_TLS_FAIL_NAME;
	case X509_V_ERR_DANE_NO_MATCH:
		snprintf(why, whysz, "TLSA mismatch");
		return DLV_TLS_FAIL_DANE;
	default:
		snprintf(why, whysz, "certificate %s: %s",
		    dane ? "does not match TLSA" : "not trusted",
		    X509_verify_cert_error_string(err));
		return dane ? DLV_TLS_FAIL_DANE : DLV_TLS_FAIL_CHAIN;
	}
}

int
dlv_tls_check(struct dlv_conn *c, struct ssl_st *ssl, enum dlv_tls_fail *kind,
    char *why, size_t whysz)
{
	struct dlv_tls_info	*ti = &c->tlsinfo;
	const struct dlv_tls_want *w = &ti->want;
	X509			*cert;
	long			 err;
	uint8_t			 usage = 255;
	int			 dane = w->level == DLV_TLS_DANE;
	char			 esc[BW_REPLY_TEXT_MAX];

	strlcpy(ti->version, SSL_get_version(ssl), sizeof(ti->version));
	strlcpy(ti->cipher, SSL_get_cipher_name(ssl), sizeof(ti->cipher));
	if (w->level < DLV_TLS_VERIFY) {
		strlcpy(ti->verify, "none", sizeof(ti->verify));
		return 0;
	}
	cert = SSL_get_peer_certificate(ssl);
	err = SSL_get_verify_result(ssl);
	if (cert == NULL) {
		/* X509_V_OK without a certificate is no verification */
		snprintf(why, whysz, "no server certificate");
		*kind = DLV_TLS_FAIL_NO_CERT;
	} else if (err != X509_V_OK)
		*kind = dlv_tls_verify_error(err, dane, why, whysz);
	else {
		X509_free(cert);
		if (dane) {
			/* the record that matched: its usage (RFC 7218) */
			if (SSL_get0_dane_tlsa(ssl, &usage, NULL, NULL, NULL,
			    NULL) >= 0 && usage == 3)
				strlcpy(ti->verify, "dane-ee",
				    sizeof(ti->verify));
			else if (usage == 2)
				strlcpy(ti->verify, "dane-ta",
				    sizeof(ti->verify));
			else
				strlcpy(ti->verify, "dane", sizeof(ti->verify));
		} else if (w->why != NULL &&
		    strncmp(w->why, "mta-sts", 7) == 0)
			strlcpy(ti->verify, "sts", sizeof(ti->verify));
		else
			strlcpy(ti->verify, "ok", sizeof(ti->verify));
		return 0;
	}
	X509_free(cert);
	strlcpy(ti->verify, "fail", sizeof(ti->verify));
	if (w->testing) {
		log_escape(esc, sizeof(esc), why, strlen(why));
		log_info("domain=%s relay=%s TLS verification failed (%s), "
		    "%s testing: delivering anyway", c->agent->domain,
		    c->relay, esc, w->why);
		return 0;
	}
	return -1;
}

const char *
dlv_tls_unreachable_dsn(const struct dlv_agent *a)
{
	int	 i, n = 0;

	for (i = 0; i < a->nhosts; i++) {
		if (a->hosts[i].last_error[0] == '\0')
			continue;
		if (!a->hosts[i].tls_failed)
			return NULL;
		n++;
	}
	return n > 0 ? "4.7.5" : NULL;
}
