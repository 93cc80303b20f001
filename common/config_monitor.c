/*
 * The monitor's settings (controld's HTTP side): "monitor_listen
 * ADDR:PORT | [ADDR]:PORT | none", and the defaults and checks that need
 * the whole file.  The paths (monitor_tls_cert, monitor_tls_key,
 * monitor_client_ca, monitor_password_file) are plain path keywords of
 * config_parse.c; an empty password file takes its default here, after
 * the file, because it depends on development mode (-b).
 *
 * Plain HTTP is served on a loopback address only: any other address
 * needs a certificate and key (monitor_tls_*, or the global tls_*), or
 * the configuration does not check.  Setting monitor_tls_cert turns TLS
 * on for a loopback address as well.
 */
#include "bw_autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "config.h"
#include "config_int.h"

#define CONFIG_MONITOR_LISTEN_DEF	"127.0.0.1:8025"
#define CONFIG_MONITOR_PASSWD_DEF	"/etc/breakwater/monitor.passwd"

/* "ADDR:PORT" or "[ADDR]:PORT" (numeric) to ss; -1 if malformed. */
static int
config_monitor_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[BW_HOSTADDR_MAX];
	const char		*colon, *h = s, *end;
	char			*pend;
	size_t			 len;
	long			 port;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return -1;
		h = s + 1;
		len = (size_t)(end - h);
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;	/* IPv6 needs its brackets */
		len = (size_t)(colon - s);
	}
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, h, len);
	host[len] = '\0';
	port = strtol(colon + 1, &pend, 10);
	if (colon[1] == '\0' || *pend != '\0' || port < 1 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

/* 127.0.0.0/8 or ::1 (or ::ffff:127.x). */
int
config_monitor_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127;
	}
	return 0;
}

/* "monitor_listen VALUE". */
void
config_monitor_listen_set(struct config_parser *p)
{
	struct sockaddr_storage	 ss;
	char			 e[CONFIG_ESC_MAX];
	const char		*v;

	if (config_args(p, 1) == -1)
		return;
	v = p->tok[1].s;
	if (strcmp(v, "none") != 0 && config_monitor_addr(v, &ss) == -1) {
		config_error(p, p->line, "monitor_listen: expected ADDRESS:PORT, "
		    "[IPV6]:PORT or none, not \"%s\"", config_esc(e, sizeof(e),
		    v));
		return;
	}
	if (strlcpy(p->cfg->monitor_listen, v, sizeof(p->cfg->monitor_listen))
	    >= sizeof(p->cfg->monitor_listen))
		config_error(p, p->line, "monitor_listen: too long");
}

/*
 * After the file (and the base directory): the defaults of what it did
 * not set, the address, whether it is TLS, and the certificate check.
 */
void
config_monitor_finish(struct config_parser *p, const char *basedir)
{
	struct bw_config	*cfg = p->cfg;

	if (cfg->monitor_listen[0] == '\0')
		strlcpy(cfg->monitor_listen, basedir != NULL ? "none" :
		    CONFIG_MONITOR_LISTEN_DEF, sizeof(cfg->monitor_listen));
	/* under -b, config_basedir_apply put it under the base */
	if (cfg->monitor_password_file[0] == '\0')
		strlcpy(cfg->monitor_password_file, CONFIG_MONITOR_PASSWD_DEF,
		    sizeof(cfg->monitor_password_file));

	memset(&cfg->monitor_addr, 0, sizeof(cfg->monitor_addr));
	cfg->monitor_tls = 0;
	if (strcmp(cfg->monitor_listen, "none") == 0 ||
	    config_monitor_addr(cfg->monitor_listen, &cfg->monitor_addr) == -1)
		return;
	cfg->monitor_tls = cfg->monitor_tls_cert[0] != '\0' ||
	    !config_monitor_loopback(&cfg->monitor_addr);
	if (!cfg->monitor_tls)
		return;
	if ((cfg->monitor_tls_cert[0] == '\0' && cfg->tls_cert[0] == '\0') ||
	    (cfg->monitor_tls_key[0] == '\0' && cfg->tls_key[0] == '\0'))
		config_error(p, 0, "monitor_listen %s needs TLS (%s): set "
		    "monitor_tls_cert and monitor_tls_key (or the global "
		    "tls_cert and tls_key)", cfg->monitor_listen,
		    config_monitor_loopback(&cfg->monitor_addr) ?
		    "monitor_tls_cert is set" : "not a loopback address");
}

/* The certificate and key the monitor serves. */
const char *
config_monitor_cert(const struct bw_config *cfg)
{
	return cfg->monitor_tls_cert[0] != '\0' ? cfg->monitor_tls_cert :
	    cfg->tls_cert;
}

const char *
config_monitor_key(const struct bw_config *cfg)
{
	return cfg->monitor_tls_key[0] != '\0' ? cfg->monitor_tls_key :
	    cfg->tls_key;
}
