/*
 * TLS sessions towards remote servers: client SSL_CTXs, one per trust
 * store (the system's, and each tls_ca_file of the configuration), made
 * when the configuration is loaded or reloaded and kept (deliverd is not
 * chrooted: a CA file is read from its path then), at most
 * DLV_TLS_CTX_MAX of them.  TLS 1.2 or later, SNI set to the host name.
 *
 * A context without a trust store serves the levels that check no chain
 * (may, encrypt, and dane: RFC 7672 3.1.3 leaves the PKIX usages unused,
 * DANE-TA and DANE-EE need no store); the system store and each CA file
 * are loaded only when the configuration has a destination at tls verify
 * or with mta_sts yes that uses it.
 *
 * Every context verifies in SSL_VERIFY_NONE mode: the handshake goes on
 * whatever the certificate, and deliverd_tlspolicy.c checks the result
 * (SSL_get_verify_result) against what the connection needs, so that the
 * reason of a failure can be logged and given to the sender.  A context
 * whose CA file cannot be loaded is remembered as failed until the next
 * reload (logged once): connections that need it fail their host.
 * Only VERIFY uses a trust store; DANE uses the TLSA records
 * (deliverd_dane.c).
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "util.h"
#include "deliverd.h"
#include "deliverd_dane.h"

struct dlv_tls_ctx {
	char		 ca_file[PATH_MAX];	/* "": the system store */
	SSL_CTX		*ctx;			/* NULL: failed (logged) */
};

static struct dlv_tls_ctx	 dlv_tls_ctxs[DLV_TLS_CTX_MAX];
static int			 dlv_tls_nctx;
static SSL_CTX			*dlv_tls_plain;	/* no trust store */

/*
 * A client context trusting ca_file ("" the system store, NULL none: the
 * levels that check no chain); NULL: logged.
 */
static SSL_CTX *
dlv_tls_ctx_new(const char *ca_file)
{
	SSL_CTX		*ctx;
	unsigned long	 e;
	char		 err[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		log_warnx("tls: SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
	/* deliverd_dane.c adds TLSA records to sessions of any context */
	if (SSL_CTX_dane_enable(ctx) <= 0)
		log_warnx("tls: SSL_CTX_dane_enable failed");
	if (ca_file == NULL)
		;	/* may, encrypt, dane: no chain to check */
	else if (ca_file[0] == '\0') {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			log_warnx("tls: the system trust store cannot be "
			    "loaded");
	} else if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		e = ERR_peek_last_error();
		ERR_error_string_n(e, err, sizeof(err));
		log_warnx("tls: tls_ca_file %s cannot be loaded: %s", ca_file,
		    err);
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	return ctx;
}

/*
 * The context of ca_file, made on first use; NULL when it failed (why
 * says so; its failure is remembered until the next reload).
 */
static SSL_CTX *
dlv_tls_ctx_get(const char *ca_file, char *why, size_t whysz)
{
	int	 i;

	if (ca_file == NULL) {
		if (dlv_tls_plain == NULL &&
		    (dlv_tls_plain = dlv_tls_ctx_new(NULL)) == NULL)
			snprintf(why, whysz, "no TLS client context");
		return dlv_tls_plain;
	}
	for (i = 0; i < dlv_tls_nctx; i++)
		if (strcmp(dlv_tls_ctxs[i].ca_file, ca_file) == 0)
			break;
	if (i == dlv_tls_nctx) {
		if (dlv_tls_nctx == DLV_TLS_CTX_MAX) {
			snprintf(why, whysz, "too many CA files (%d)",
			    DLV_TLS_CTX_MAX);
			return NULL;
		}
		strlcpy(dlv_tls_ctxs[i].ca_file, ca_file,
		    sizeof(dlv_tls_ctxs[i].ca_file));
		dlv_tls_ctxs[i].ctx = dlv_tls_ctx_new(ca_file);
		dlv_tls_nctx++;
	}
	if (dlv_tls_ctxs[i].ctx == NULL)
		snprintf(why, whysz, "%s%s cannot be loaded", ca_file[0] ?
		    "tls_ca_file " : "the TLS client context",
		    ca_file);
	return dlv_tls_ctxs[i].ctx;
}

/*
 * The trust store of one destination's settings, when a connection may
 * check a chain with it: tls verify, or MTA-STS (which raises a host to
 * verify).  Loading the system store costs tens of milliseconds: only a
 * configuration that uses it pays, once per reload.
 */
static void
dlv_tls_preload_one(const struct bw_dest_opts *o)
{
	char	 why[PATH_MAX + 64];

	if (o->tls == BW_DEST_TLS_VERIFY || o->mta_sts)
		(void)dlv_tls_ctx_get(o->tls_ca_file, why, sizeof(why));
}

/* The contexts the configuration needs. */
static void
dlv_tls_preload(const struct bw_config *cfg)
{
	const struct bw_dest_conf	*d;

	dlv_tls_preload_one(&cfg->dest_opts);
	TAILQ_FOREACH(d, &cfg->dests, entry)
		dlv_tls_preload_one(&d->opts);
}

/* The plain context and the configuration's; 0, or -1 (logged). */
int
dlv_tls_init(void)
{
	char	 why[64];

	if (dlv_tls_ctx_get(NULL, why, sizeof(why)) == NULL)
		return -1;
	dlv_tls_preload(dlv_env->cfg);
	return 0;
}

void
dlv_tls_free_ctx(void)
{
	int	 i;

	for (i = 0; i < dlv_tls_nctx; i++)
		SSL_CTX_free(dlv_tls_ctxs[i].ctx);
	memset(dlv_tls_ctxs, 0, sizeof(dlv_tls_ctxs));
	dlv_tls_nctx = 0;
	SSL_CTX_free(dlv_tls_plain);
	dlv_tls_plain = NULL;
}

/*
 * A reload: every context is made again (a CA file may have changed), the
 * ones the new configuration names at once.  Sessions in progress keep
 * theirs (an SSL holds a reference to its context).
 */
void
dlv_tls_reload(const struct bw_config *cfg)
{
	char	 why[64];
	int	 i;

	/* the trust stores only: the plain context has no file to re-read */
	for (i = 0; i < dlv_tls_nctx; i++)
		SSL_CTX_free(dlv_tls_ctxs[i].ctx);
	memset(dlv_tls_ctxs, 0, sizeof(dlv_tls_ctxs));
	dlv_tls_nctx = 0;
	(void)dlv_tls_ctx_get(NULL, why, sizeof(why));
	dlv_tls_preload(cfg);
}

/* The names the certificate must match (verify level). */
static int
dlv_tls_set_names(SSL *ssl, const struct dlv_tls_want *w)
{
	X509_VERIFY_PARAM	*param = SSL_get0_param(ssl);
	unsigned char		 bin[16];
	int			 i, hosts = 0;

	/* RFC 6125 6.4.3: a wildcard only as the whole left-most label */
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (i = 0; i < w->nnames; i++) {
		if (inet_pton(AF_INET, w->names[i], bin) == 1 ||
		    inet_pton(AF_INET6, w->names[i], bin) == 1) {
			/* a route to an address literal: an IP SAN */
			if (X509_VERIFY_PARAM_set1_ip_asc(param,
			    w->names[i]) != 1)
				return -1;
			continue;
		}
		if ((hosts++ == 0 ? SSL_set1_host(ssl, w->names[i]) :
		    SSL_add1_host(ssl, w->names[i])) != 1)
			return -1;
	}
	return 0;
}

/* A new client session; NULL when TLS is not available (why says). */
struct ssl_st *
dlv_tls_new(const char *servername, const struct dlv_tls_want *w, char *why,
    size_t whysz)
{
	SSL_CTX		*ctx;
	SSL		*ssl;
	unsigned char	 bin[16];

	if ((ctx = dlv_tls_ctx_get(w->level != DLV_TLS_VERIFY ? NULL :
	    w->ca_file != NULL ? w->ca_file : "", why, whysz)) == NULL)
		return NULL;
	if ((ssl = SSL_new(ctx)) == NULL) {
		ERR_clear_error();
		snprintf(why, whysz, "cannot create a TLS session");
		return NULL;
	}
	/* RFC 6066 3: no address literals in SNI. */
	if (servername != NULL && servername[0] != '\0' &&
	    inet_pton(AF_INET, servername, bin) != 1 &&
	    inet_pton(AF_INET6, servername, bin) != 1)
		SSL_set_tlsext_host_name(ssl, servername);
	if (w->level == DLV_TLS_VERIFY && dlv_tls_set_names(ssl, w) == -1) {
		ERR_clear_error();
		SSL_free(ssl);
		snprintf(why, whysz, "cannot set the certificate names");
		return NULL;
	}
	/*
	 * DANE (RFC 7672): deliverd_dane.c enables DANE on ssl with the
	 * TLSA records of w->tlsa (SSL_dane_enable with the host name,
	 * SSL_dane_tlsa_add per record); deliverd_tlspolicy.c reads the
	 * result.  No records: the host fails, never unauthenticated.
	 */
	if (w->level == DLV_TLS_DANE &&
	    dlv_dane_ssl_setup(ssl, w->tlsa, why, whysz) == -1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}
