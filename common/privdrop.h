/*
 * The one privilege-drop function every process uses.  Order: resolve the
 * user before chroot, chroot (if asked) and chdir("/"), setgroups,
 * setresgid, setresuid, then prove that regaining root fails.
 * In development mode (not started as root, or with a base directory on the
 * command line) it changes nothing and logs one line saying so.
 */
#ifndef BW_PRIVDROP_H
#define BW_PRIVDROP_H

#include <sys/types.h>

struct bw_user {
	uid_t	 uid;
	gid_t	 gid;
	char	 name[64];
};

/* Look a user up (before chroot); -1 if unknown. */
int	 bw_user_lookup(const char *name, struct bw_user *);
/* Drop to user, chroot to dir if not NULL; fatal on any failure. */
void	 bw_privdrop(const char *user, const char *chroot_dir, int dev_mode);

#endif
