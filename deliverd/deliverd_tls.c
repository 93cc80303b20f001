/*
 * Opportunistic TLS towards remote servers: one client SSL_CTX per
 * worker, no certificate verification (RFC 7435: opportunistic security
 * is better than plaintext; an active attacker can strip STARTTLS anyway),
 * TLS 1.2 or later, SNI set to the host name.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "deliverd.h"

static SSL_CTX	*dlv_tls_ctx;

/* Create the client context; 0, or -1 (logged). */
int
dlv_tls_init(void)
{
	if (dlv_tls_ctx != NULL)
		return 0;
	if ((dlv_tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		log_warnx("tls: SSL_CTX_new failed");
		return -1;
	}
	SSL_CTX_set_min_proto_version(dlv_tls_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(dlv_tls_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(dlv_tls_ctx, SSL_OP_NO_COMPRESSION);
	return 0;
}

/* A new client session; NULL when TLS is not available. */
struct ssl_st *
dlv_tls_new(const char *servername)
{
	SSL		*ssl;
	unsigned char	 bin[16];

	if (dlv_tls_ctx == NULL && dlv_tls_init() == -1)
		return NULL;
	if ((ssl = SSL_new(dlv_tls_ctx)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	/* RFC 6066 3: no address literals in SNI. */
	if (servername != NULL && servername[0] != '\0' &&
	    inet_pton(AF_INET, servername, bin) != 1 &&
	    inet_pton(AF_INET6, servername, bin) != 1)
		SSL_set_tlsext_host_name(ssl, servername);
	return ssl;
}

void
dlv_tls_free_ctx(void)
{
	SSL_CTX_free(dlv_tls_ctx);
	dlv_tls_ctx = NULL;
}
