/*
 * TLS for smtpd: one SSL_CTX per TLS listener (TLS 1.2 or newer, the
 * listener's certificate and key or the global ones), loaded before the
 * privilege drop.  STARTTLS (RFC 3207) puts an OpenSSL filter bufferevent
 * over the plaintext one; implicit TLS starts with an OpenSSL socket
 * bufferevent.
 *
 * Trust: TLS records are client input like any other; a failed handshake
 * ends the session.  Plaintext pipelined behind STARTTLS is discarded
 * before the handshake so that it can never be taken as protected input.
 */
#include "bw_autoconf.h"

#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "util.h"
#include "smtpd.h"

static void
smtpd_tls_log_errors(const char *what, const char *name)
{
	unsigned long	 e;
	char		 buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_warnx("listener=%s %s: %s", name, what, buf);
	}
}

/* A server context for one listener; NULL (logged) on failure. */
SSL_CTX *
smtpd_tls_ctx_new(const struct bw_config *cfg,
    const struct bw_listener_conf *lc)
{
	SSL_CTX		*ctx;
	const char	*cert = lc->tls_cert[0] ? lc->tls_cert : cfg->tls_cert;
	const char	*key = lc->tls_key[0] ? lc->tls_key : cfg->tls_key;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		smtpd_tls_log_errors("SSL_CTX_new", lc->name);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		smtpd_tls_log_errors(cert, lc->name);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		smtpd_tls_log_errors(key, lc->name);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The bufferevent of an implicit-TLS connection (handshake pending). */
struct bufferevent *
smtpd_tls_bev_implicit(struct smtpd_session *s, int fd)
{
	struct bufferevent	*bev;
	SSL			*ssl;

	if ((ssl = SSL_new(s->l->ssl_ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(s->env->d.base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * The "220 Ready to start TLS" has left: drop whatever plaintext the client
 * pipelined behind STARTTLS (RFC 3207 5: it must not be taken as protected
 * input), free the plaintext bufferevent and start the handshake on the same
 * socket.  Plaintext still in the kernel is fed to OpenSSL as records and
 * fails the handshake.  -1 on failure (the session ends).
 */
int
smtpd_tls_starttls(struct smtpd_session *s)
{
	struct bufferevent	*bev;
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	size_t			 junk = evbuffer_get_length(in);
	SSL			*ssl;

	if (junk > 0) {
		log_info("session=%llu addr=%s discarded %zu plaintext "
		    "bytes pipelined after STARTTLS", (unsigned long long)s->id,
		    s->addr, junk);
		evbuffer_drain(in, junk);
	}
	if ((ssl = SSL_new(s->l->ssl_ctx)) == NULL)
		return -1;
	bev = bufferevent_openssl_socket_new(s->env->d.base, s->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_free(s->bev);
	s->bev = bev;
	s->fd_owned = 0;	/* closed with the TLS bufferevent */
	return 0;
}

/* Record the negotiated protocol and cipher once the handshake is done. */
void
smtpd_tls_info(struct smtpd_session *s)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(s->bev);
	int	 alg_bits = 0;

	if (ssl == NULL)
		return;
	strlcpy(s->tls_proto, SSL_get_version(ssl), sizeof(s->tls_proto));
	strlcpy(s->tls_cipher, SSL_get_cipher_name(ssl),
	    sizeof(s->tls_cipher));
	s->tls_bits = SSL_get_cipher_bits(ssl, &alg_bits);
	s->tls_alg_bits = alg_bits;
	s->tls = 1;
}
