/*
 * controld: the admin daemon.  It listens on controld.sock for the daemons
 * (which report their status to it) and on control.sock for bwctl.
 *
 * Trust: controld.sock admits only the daemon roles, each from its own uid
 * (production) or ours (development), checked by SO_PEERCRED in peer.c.
 * control.sock is mode 0660 with group admin_group (0600 without one), and
 * controld checks again that a bwctl peer is root, a member of admin_group,
 * or, in development mode, our own uid.  Every frame is checked against the
 * message catalog before a handler sees it; queued's replies are copied out
 * and their strings terminated before use.  controld keeps no files open and
 * runs as user_controld without a chroot.
 *
 * Limits: ctl_timeout per bwctl request, CTL_REQUESTS_MAX requests in
 * flight, and the row ceilings in controld.h.
 */
#include "bw_autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "privdrop.h"
#include "util.h"
#include "controld.h"
#include "controld_alert.h"
#include "controld_mon.h"
#include "controld_hist.h"

struct controld		*ctl_env;

static struct bw_peer_listener	*ctl_daemon_listener;
static struct bw_peer_listener	*ctl_client_listener;

/* The admin group, if it exists: control.sock's group. */
static void
ctl_admin_group(struct controld *env)
{
	struct group	*gr;

	env->have_admin_gid = 0;
	env->admin_gid = (gid_t)-1;
	if (env->d.cfg->admin_group[0] == '\0')
		return;
	if ((gr = getgrnam(env->d.cfg->admin_group)) == NULL) {
		log_info("admin group %s does not exist: control socket is "
		    "for root only", env->d.cfg->admin_group);
		return;
	}
	env->admin_gid = gr->gr_gid;
	env->have_admin_gid = 1;
}

static void
ctl_listen(struct controld *env)
{
	char	 path[PATH_MAX];
	mode_t	 mode;

	if (config_runtime_path(env->d.cfg, BW_SOCK_CONTROLD, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_CONTROLD);
	/* Each daemon runs as its own user; SO_PEERCRED does the check. */
	ctl_daemon_listener = bw_peer_listen(env->d.base, path,
	    BW_ROLE_SMTPD | BW_ROLE_QUEUED | BW_ROLE_DELIVERD |
	    BW_ROLE_DNSCACHED, 0666, (gid_t)-1,
	    ctl_daemon_msg_cb, ctl_daemon_state_cb, env);
	if (ctl_daemon_listener == NULL)
		fatal("listen on %s", path);

	if (config_runtime_path(env->d.cfg, BW_SOCK_CONTROL, path,
	    sizeof(path)) == -1)
		fatalx("runtime path for %s too long", BW_SOCK_CONTROL);
	mode = env->have_admin_gid ? 0660 : 0600;
	ctl_client_listener = bw_peer_listen(env->d.base, path, BW_ROLE_BWCTL,
	    mode, env->admin_gid, ctl_client_msg_cb, ctl_client_state_cb, env);
	if (ctl_client_listener == NULL)
		fatal("listen on %s", path);
	log_info("listening on %s mode=%04o group=%s", path, (unsigned)mode,
	    env->have_admin_gid ? env->d.cfg->admin_group : "-");
}

/* A reload: the monitor reads its password file again. */
static int
ctl_reload_apply(struct bw_daemon *d, struct bw_config *nc,
    struct bw_config *oc, char *err, size_t errsz, void *arg)
{
	(void)mon_http_reload(nc);	/* a bad file keeps the old users */
	return 0;
}

int
main(int argc, char *argv[])
{
	struct controld	 env;

	memset(&env, 0, sizeof(env));
	ctl_env = &env;
	TAILQ_INIT(&env.daemons);
	TAILQ_INIT(&env.reqs);
	TAILQ_INIT(&env.clients);
	ctl_cmd_check_table();
	env.next_reqid = 1;
	bw_daemon_init(&env.d, "controld");
	bw_daemon_args(&env.d, argc, argv, NULL, NULL, NULL, NULL);
	bw_daemon_setup(&env.d);

	/*
	 * Each daemon's user (production); in development mode every process
	 * runs as us and peer.c admits our uid.
	 */
	bw_daemon_peer_uids(&env.d, BW_ROLE_SMTPD | BW_ROLE_QUEUED |
	    BW_ROLE_DELIVERD | BW_ROLE_DNSCACHED);
	ctl_admin_group(&env);
	bw_daemon_events(&env.d);
	ctl_listen(&env);
	ctl_redirect_start(env.d.cfg);	/* monitor_dir, as root */
	/* the monitor's port and key need root */
	(void)mon_http_start(env.d.base, env.d.cfg);
	ctl_metrics_routes();
	env.d.on_reload = ctl_reload_apply;

	bw_daemon_privdrop(&env.d, env.d.cfg->user_controld, NULL);
	ctl_alert_start();

	/* history: opened as user_controld, so its files are its own */
	if (mon_hist_open(env.d.cfg) == 0)
		mon_sample_start();

	bw_daemon_run(&env.d, NULL);

	/* Orderly teardown so that the sanitizers see no leak. */
	ctl_req_target_gone(NULL);
	ctl_clients_free();
	mon_http_stop();
	ctl_debug_free();
	ctl_alert_stop();
	mon_sample_stop();
	mon_hist_close();
	bw_peer_listener_close(ctl_client_listener);
	bw_peer_listener_close(ctl_daemon_listener);
	/* The deferred frees of the peers may still use the daemon list. */
	bw_daemon_base_free(&env.d);
	while (!TAILQ_EMPTY(&env.daemons)) {
		struct ctl_daemon *d = TAILQ_FIRST(&env.daemons);

		TAILQ_REMOVE(&env.daemons, d, entry);
		free(d);
	}
	bw_daemon_cleanup(&env.d);
	return 0;
}
