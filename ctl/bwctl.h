/*
 * bwctl: the admin's command-line tool.  Private header.
 */
#ifndef BWCTL_H
#define BWCTL_H

#include "config.h"

#define BWCTL_OUTPUT_MAX	(64 * 1024 * 1024)	/* reply text kept */
#define BWCTL_TIMEOUT_MARGIN_MS	1000	/* beyond controld's own deadline */

/* Exit codes. */
#define BWCTL_EXIT_OK		0
#define BWCTL_EXIT_FAIL		1	/* the command failed */
/* bwctl waits this much longer than controld waits for a reload's answers */
#define BWCTL_RELOAD_MARGIN_MS	2000
#define BWCTL_EXIT_USAGE	2	/* bad command line, version mismatch */
#define BWCTL_EXIT_DAMAGE	3	/* queue verify found damage: a report,
					   printed on stdout */

struct evbuffer;

/* bwctl.c: write all of buf to fd; -1 on error. */
int	 bwctl_flush(struct evbuffer *, int fd);

/*
 * bwctl_conn.c: send one command to controld, print its answer.
 * admin_group only names, in a refusal, the group that would be let in.
 */
int	 bwctl_request(const char *sockpath, const char *admin_group,
	    long long timeout_ms, int json, int argc, char *argv[]);

/* bwctl_config.c: `bwctl config check [FILE]`, no controld needed. */
int	 bwctl_config_check(const char *path, const char *basedir, int json);
int	 bwctl_config_limits(const char *path, const char *basedir, int json);

/* bwctl_passwd.c: `bwctl passwd USER [view|act]`, local. */
int	 bwctl_passwd(int argc, char *argv[]);

#endif
