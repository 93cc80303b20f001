/*
 * The one privilege-drop function.  Order follows OpenBSD's proc_run():
 * look the user up before chroot (no passwd file afterwards), chroot,
 * then groups, gid, uid, and a check that root cannot be regained.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "util.h"

int
bw_user_lookup(const char *name, struct bw_user *u)
{
	struct passwd	*pw;

	if ((pw = getpwnam(name)) == NULL)
		return -1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	strlcpy(u->name, name, sizeof(u->name));
	return 0;
}

void
bw_privdrop(const char *user, const char *chroot_dir, int dev_mode)
{
	struct bw_user	 u;

	if (dev_mode || geteuid() != 0) {
		log_info("development mode: running as uid=%ld, no chroot, "
		    "no privilege drop (would be user=%s chroot=%s)",
		    (long)geteuid(), user, chroot_dir ? chroot_dir : "none");
		return;
	}
	if (bw_user_lookup(user, &u) == -1)
		fatalx("privdrop: unknown user %s", user);
	if (chroot_dir != NULL) {
		if (chroot(chroot_dir) == -1)
			fatal("privdrop: chroot %s", chroot_dir);
		if (chdir("/") == -1)
			fatal("privdrop: chdir / in %s", chroot_dir);
	}
	if (setgroups(1, &u.gid) == -1)
		fatal("privdrop: setgroups %s", user);
	if (setresgid(u.gid, u.gid, u.gid) == -1)
		fatal("privdrop: setresgid %s", user);
	if (setresuid(u.uid, u.uid, u.uid) == -1)
		fatal("privdrop: setresuid %s", user);
	if (u.uid != 0 && setresuid(0, 0, 0) != -1)
		fatalx("privdrop: could regain root after dropping to %s", user);
	log_info("dropped privileges: user=%s uid=%ld chroot=%s", user,
	    (long)u.uid, chroot_dir ? chroot_dir : "none");
}
