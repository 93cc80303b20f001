/*
 * The alert mail settings (controld_alert.c):
 *
 *   alert_mail_to ADDRESS ...   who gets the alert mails (at most
 *                               BW_ALERT_MAIL_TO_MAX; again: appended)
 *   alert_mail_from ADDRESS     the From: of the mails (default
 *                               postmaster@hostname)
 *
 * Both apply at a reload.  An address is local@domain with a dot-atom
 * local part (RFC 5322 3.2.3): the mails are composed by controld and
 * the addresses go into their header unquoted.
 *
 * Trust: the administrator's file, checked as any other statement.
 */
#include "bw_autoconf.h"

#include <string.h>

#include "config.h"
#include "config_int.h"
#include "util.h"

/* RFC 5322 atext, and the dots between atoms. */
static int
config_alert_local_valid(const char *s, size_t len)
{
	static const char	 special[] = "!#$%&'*+-/=?^_`{|}~";
	size_t			 i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char	 c = (unsigned char)s[i];

		if (c == '.') {
			if (s[i + 1] == '.')
				return 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != '\0' &&
		    strchr(special, c) != NULL)))
			return 0;
	}
	return 1;
}

/* 1 if a is local@domain as the alert mails can carry it. */
int
config_alert_addr_valid(const char *a)
{
	const char	*at = strrchr(a, '@');

	return at != NULL && strlen(a) < BW_ADDR_MAX &&
	    config_alert_local_valid(a, (size_t)(at - a)) &&
	    config_domain_valid(at + 1);
}

/* alert_mail_to ADDRESS ... | alert_mail_from ADDRESS; 0 if k is
 * neither. */
int
config_alert_stmt(struct config_parser *p)
{
	struct bw_config	*cfg = p->cfg;
	const char		*k = p->tok[0].s;
	char			 e[CONFIG_ESC_MAX];
	int			 i;

	if (strcmp(k, "alert_mail_from") == 0) {
		if (config_args(p, 1) == -1)
			return 1;
		if (!config_alert_addr_valid(p->tok[1].s)) {
			config_error(p, p->line, "alert_mail_from: bad address "
			    "\"%s\" (local@domain)", config_esc(e, sizeof(e),
			    p->tok[1].s));
			return 1;
		}
		strlcpy(cfg->alert_mail_from, p->tok[1].s,
		    sizeof(cfg->alert_mail_from));
		return 1;
	}
	if (strcmp(k, "alert_mail_to") != 0)
		return 0;
	if (p->ntok < 2) {
		config_error(p, p->line, "alert_mail_to: expected one address "
		    "or more");
		return 1;
	}
	for (i = 1; i < p->ntok; i++) {
		if (!config_alert_addr_valid(p->tok[i].s)) {
			config_error(p, p->line, "alert_mail_to: bad address "
			    "\"%s\" (local@domain)", config_esc(e, sizeof(e),
			    p->tok[i].s));
			continue;
		}
		if (cfg->nalert_mail_to >= BW_ALERT_MAIL_TO_MAX) {
			config_error(p, p->line, "alert_mail_to: too many "
			    "addresses (max %d)", BW_ALERT_MAIL_TO_MAX);
			return 1;
		}
		strlcpy(cfg->alert_mail_to[cfg->nalert_mail_to++],
		    p->tok[i].s, sizeof(cfg->alert_mail_to[0]));
	}
	return 1;
}
