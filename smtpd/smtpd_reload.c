/*
 * Reload in smtpd.  smtpd is chrooted and cannot open the configuration
 * file: it applies the descriptor controld sends (`bwctl config reload`),
 * and on SIGHUP it asks controld for one.  Sessions keep the limits of the
 * configuration they started under (each holds a reference to it);
 * listeners are matched, added and removed by smtpd_listeners_reload().
 *
 * Trust: the descriptor comes from controld, the text from the
 * administrator's file, parsed with the checks of a start-up load.
 */
#include "bw_autoconf.h"

#include "log.h"
#include "smtpd.h"

static int
smtpd_reload_apply(struct bw_daemon *d, struct bw_config *nc,
    struct bw_config *oc, char *err, size_t errsz, void *arg)
{
	struct smtpd_env	*env = arg;

	return smtpd_listeners_reload(env, nc, oc, err, errsz);
}

static void
smtpd_reload_sighup(struct bw_daemon *d, void *arg)
{
	struct smtpd_env	*env = arg;

	if (bw_status_link_config_request(env->controld) == -1)
		log_warnx("reload: controld is not connected; smtpd cannot "
		    "read the configuration inside its chroot, nothing "
		    "changed (use bwctl config reload when controld runs)");
}

/* CONFIG_RELOAD from controld: the file as a descriptor. */
void
smtpd_reload_link_cb(int fd, struct bw_config_reload_result *res, void *arg)
{
	struct smtpd_env	*env = arg;

	(void)bw_daemon_reload(&env->d, fd, res);
}

void
smtpd_reload_init(struct smtpd_env *env)
{
	env->d.on_reload = smtpd_reload_apply;
	env->d.on_sighup = smtpd_reload_sighup;
	env->d.on_reload_arg = env;
}
