/*
 * Who may use bwctl: root, members of admin_group, and in development mode
 * the user controld runs as.  control.sock's mode (0660, group admin_group;
 * 0600 without one) lets only those connect, peer.c checks the peer's uid
 * from SO_PEERCRED, and this file checks once more, on HELLO, from the
 * credentials of the peer process itself (its effective uid, gid and
 * supplementary groups in /proc/PID/status), so that a group membership
 * revoked since the socket was created no longer counts.
 *
 * Everyone admitted gets both rights, view and act (CTL_MAY_*); each
 * command's row in ctl_cmdtab[] says which it needs, checked at dispatch.
 *
 * Input trusted: the pid, which peer.c took from SO_PEERCRED; the /proc
 * text is the kernel's.  Lines are bounded by CTL_PROC_LINE_MAX.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "controld.h"

#define CTL_PROC_LINE_MAX	4096	/* one line of /proc/PID/status */

struct ctl_cred {
	uid_t	 euid;
	gid_t	 egid;
	int	 have_uid;
	int	 have_gid;
	int	 in_admin;	/* admin gid among the supplementary groups */
};

/* Field n (0-based) of a whitespace-separated id list. */
static int
ctl_cred_field(const char *s, int n, unsigned long *v)
{
	char	*end;
	int	 i;

	for (i = 0; ; i++) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '\n')
			return -1;
		errno = 0;
		*v = strtoul(s, &end, 10);
		if (errno != 0 || end == s)
			return -1;
		if (i == n)
			return 0;
		s = end;
	}
}

static int
ctl_cred_read(pid_t pid, gid_t admin, int have_admin, struct ctl_cred *c)
{
	char		 path[64], line[CTL_PROC_LINE_MAX];
	unsigned long	 v;
	FILE		*f;
	int		 i;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Uid:", 4) == 0 &&
		    ctl_cred_field(line + 4, 1, &v) == 0) {
			c->euid = (uid_t)v;
			c->have_uid = 1;
		} else if (strncmp(line, "Gid:", 4) == 0 &&
		    ctl_cred_field(line + 4, 1, &v) == 0) {
			c->egid = (gid_t)v;
			c->have_gid = 1;
		} else if (strncmp(line, "Groups:", 7) == 0 && have_admin) {
			for (i = 0; ctl_cred_field(line + 7, i, &v) == 0; i++)
				if ((gid_t)v == admin)
					c->in_admin = 1;
		}
	}
	fclose(f);
	return c->have_uid && c->have_gid ? 0 : -1;
}

/*
 * 1 if the bwctl process pid may use controld, with who it is and its
 * rights in who; why says why not.  Rights: every caller admitted here
 * (root, our own uid, admin_group) may view and act; a read-only bwctl
 * role would be a group of its own checked here, with CTL_MAY_VIEW only.
 */
int
ctl_client_allowed(pid_t pid, struct ctl_principal *who, const char **why)
{
	struct controld	*env = ctl_env;
	struct ctl_cred	 c;

	if (pid <= 0 || ctl_cred_read(pid, env->admin_gid,
	    env->have_admin_gid, &c) == -1) {
		*why = "cannot read the peer's credentials";
		return 0;
	}
	if (c.euid != 0 && c.euid != geteuid() && !(env->have_admin_gid &&
	    (c.egid == env->admin_gid || c.in_admin))) {
		*why = "neither root nor a member of the admin group";
		return 0;
	}
	snprintf(who->name, sizeof(who->name), "bwctl uid=%lu pid=%ld",
	    (unsigned long)c.euid, (long)pid);
	who->may = CTL_MAY_VIEW | CTL_MAY_ACT;
	return 1;
}
