/*
 * The table of bwctl commands, shared by bwctl (its help, which commands
 * it answers itself, which it sends) and controld (dispatch, rights,
 * argument counts): one list, so the two cannot drift.  The handlers are
 * controld's, in a table of its own indexed by the same ids
 * (controld_cmd.c, ctl_cmd_ops[]).
 *
 * To add a command: an id below (before CTL_CMD__COUNT), a row in
 * ctl_cmdtab[] (ctl_cmdtab.c; the order of the rows is the order of the
 * help), and its struct ctl_cmd_ops in controld_cmd.c.
 */
#ifndef CTL_CMDTAB_H
#define CTL_CMDTAB_H

#include <stdio.h>

#define CTL_CMD_WORDS_MAX	3	/* words that name a command */

/* Rights: what a caller may do (bwctl callers admitted today have both). */
#define CTL_MAY_VIEW	0x01	/* read state: status, show, list */
#define CTL_MAY_ACT	0x02	/* change something: retry, reload, ... */

/* Command flags. */
#define CTL_CMD_LOCAL	0x01	/* bwctl answers it alone */
#define CTL_CMD_LONG	0x02	/* deadline ctl_verify_timeout, not
				   ctl_timeout */
#define CTL_CMD_WALK	0x04	/* the same when a selector (--domain,
				   --sender, --older-than) is given */

enum ctl_cmd_id {
	CTL_CMD_STATUS,
	CTL_CMD_SHOW_QUEUE,
	CTL_CMD_SHOW_MESSAGE,
	CTL_CMD_SHOW_SENDERS,
	CTL_CMD_LIST_MESSAGES,
	CTL_CMD_SHOW_DNS,
	CTL_CMD_DNS_FLUSH,
	CTL_CMD_SHOW_DOMAIN,
	CTL_CMD_RETRY,
	CTL_CMD_SUSPEND,
	CTL_CMD_RESUME,
	CTL_CMD_QUEUE_VERIFY,
	CTL_CMD_QUEUE_REPAIR,
	CTL_CMD_QUEUE_QUARANTINE,
	CTL_CMD_QUEUE_RELEASE,
	CTL_CMD_QUEUE_DELETE,
	CTL_CMD_CONFIG_CHECK,
	CTL_CMD_CONFIG_LIMITS,
	CTL_CMD_CONFIG_RELOAD,
	CTL_CMD_TRACE,
	CTL_CMD_DEBUG,
	CTL_CMD_HELP,
	CTL_CMD_SHOW_ALERTS,
	CTL_CMD_DELETE,
	CTL_CMD_UNDELETE,
	CTL_CMD_BOUNCE,
	CTL_CMD_HOLD,
	CTL_CMD_RELEASE,
	CTL_CMD_SHOW_HELD,
	CTL_CMD_REDIRECT,
	CTL_CMD_PASSWD,
	CTL_CMD_METRICS,
	CTL_CMD_SHOW_HISTORY,
	CTL_CMD__COUNT
};

struct ctl_cmd_def {
	enum ctl_cmd_id	 id;
	const char	*words[CTL_CMD_WORDS_MAX + 1];	/* NULL-terminated */
	unsigned	 may;		/* CTL_MAY_*: needed to run it */
	unsigned	 flags;		/* CTL_CMD_* */
	int		 argmin;	/* arguments after the words */
	int		 argmax;	/* -1: up to BW_CTL_ARGC_MAX */
	const char	*usage;		/* "show message QID"; a command of
					   several forms (lines) checks its
					   own counts (argmax -1) */
	const char	*help;		/* one or more lines, no indent */
};

extern const struct ctl_cmd_def ctl_cmdtab[];
extern const size_t ctl_cmdtab_n;

/* The command argv names (the longest match of its words), and how many
 * words that took; NULL if none. */
const struct ctl_cmd_def *ctl_cmdtab_find(int argc, char *const argv[],
	    int *nwords);
const struct ctl_cmd_def *ctl_cmdtab_get(enum ctl_cmd_id);
/* 1 if some command sent to controld starts with this word. */
int	 ctl_cmdtab_remote_word(const char *word);
/* Does the argument count after the words fit? */
int	 ctl_cmdtab_nargs_ok(const struct ctl_cmd_def *, int nargs);
/* The "commands:" part of bwctl's help. */
void	 ctl_cmdtab_help(FILE *);
/* "view", "act", "view,act" */
const char *ctl_may_name(unsigned may);

#endif
