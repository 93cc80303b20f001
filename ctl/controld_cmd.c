/*
 * Find, check and start a command: from bwctl (CTL_CMD) or from a caller
 * inside controld (ctl_cmd_run: the web pages, /metrics).  The names,
 * rights and argument counts are the rows of ctl_cmdtab[] (shared with
 * bwctl); the handlers are ctl_cmd_ops[] below, by the same ids.
 *
 * The payload comes from an admin's bwctl, but it is still checked: the
 * protocol version, argc against BW_CTL_ARGC_MAX, and every argument is
 * terminated before use.  Usage errors answer with exit code 2,
 * operational errors (and a right the caller lacks) with 1.
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"
#include "controld_hist.h"

/* The handlers of every command controld runs (NULL: bwctl's own). */
const struct ctl_cmd_ops *const ctl_cmd_ops[CTL_CMD__COUNT] = {
	[CTL_CMD_STATUS] = &ctl_status_ops,
	[CTL_CMD_SHOW_QUEUE] = &ctl_queue_ops,
	[CTL_CMD_SHOW_MESSAGE] = &ctl_message_ops,
	[CTL_CMD_SHOW_SENDERS] = &ctl_senders_ops,
	[CTL_CMD_LIST_MESSAGES] = &ctl_list_ops,
	[CTL_CMD_SHOW_DNS] = &ctl_dns_show_ops,
	[CTL_CMD_DNS_FLUSH] = &ctl_dns_flush_ops,
	[CTL_CMD_SHOW_DOMAIN] = &ctl_domain_ops,
	[CTL_CMD_RETRY] = &ctl_domain_ops,
	[CTL_CMD_SUSPEND] = &ctl_domain_ops,
	[CTL_CMD_RESUME] = &ctl_domain_ops,
	[CTL_CMD_QUEUE_VERIFY] = &ctl_verify_ops,
	[CTL_CMD_QUEUE_REPAIR] = &ctl_verify_ops,
	[CTL_CMD_QUEUE_QUARANTINE] = &ctl_verify_ops,
	[CTL_CMD_QUEUE_RELEASE] = &ctl_verify_ops,
	[CTL_CMD_QUEUE_DELETE] = &ctl_verify_ops,
	[CTL_CMD_CONFIG_RELOAD] = &ctl_reload_ops,
	[CTL_CMD_TRACE] = &ctl_trace_ops,
	[CTL_CMD_DEBUG] = &ctl_debug_ops,
	[CTL_CMD_SHOW_ALERTS] = &ctl_alert_ops,
	[CTL_CMD_METRICS] = &ctl_metrics_ops,
	[CTL_CMD_DELETE] = &ctl_qact_ops,
	[CTL_CMD_UNDELETE] = &ctl_qact_ops,
	[CTL_CMD_BOUNCE] = &ctl_qact_ops,
	[CTL_CMD_HOLD] = &ctl_qact_ops,
	[CTL_CMD_RELEASE] = &ctl_qact_ops,
	[CTL_CMD_SHOW_HELD] = &ctl_qact_ops,
	[CTL_CMD_REDIRECT] = &ctl_redirect_ops,
	[CTL_CMD_SHOW_HISTORY] = &mon_hist_ops,
};

/* At start: every remote row has handlers, every row its own id. */
void
ctl_cmd_check_table(void)
{
	size_t	 i;

	for (i = 0; i < ctl_cmdtab_n; i++) {
		if ((unsigned)ctl_cmdtab[i].id >= CTL_CMD__COUNT ||
		    ctl_cmdtab_get(ctl_cmdtab[i].id) != &ctl_cmdtab[i])
			fatalx("ctl command table: row %zu has a bad id", i);
		if (!(ctl_cmdtab[i].flags & CTL_CMD_LOCAL) &&
		    (ctl_cmd_ops[ctl_cmdtab[i].id] == NULL ||
		    ctl_cmd_ops[ctl_cmdtab[i].id]->start == NULL ||
		    ctl_cmd_ops[ctl_cmdtab[i].id]->render == NULL))
			fatalx("ctl command %s: no handlers",
			    ctl_cmdtab[i].usage);
	}
}

/* Argument text made printable for an error line. */
static const char *
ctl_cmd_arg(char *dst, size_t dstsz, const char *arg)
{
	return log_escape(dst, dstsz, arg, strlen(arg));
}

/* A queue id argument, upper-cased and checked; -1 if it is not one. */
int
ctl_cmd_qid(const char *arg, char qid[BW_QID_LEN + 1])
{
	size_t	 i;

	if (strlen(arg) != BW_QID_LEN)
		return -1;
	for (i = 0; i < BW_QID_LEN; i++)
		qid[i] = (char)toupper((unsigned char)arg[i]);
	qid[BW_QID_LEN] = '\0';
	return bw_qid_valid(qid) ? 0 : -1;
}

/* Check and start argv for target; the answer goes there in any case. */
static uint32_t
ctl_cmd_start(struct ctl_target *target, const struct ctl_principal *who,
    enum ctl_fmt fmt, int argc, char *argv[])
{
	const struct ctl_cmd_def	*def;
	const struct ctl_cmd_ops	*ops;
	struct ctl_parse		 pc;
	struct ctl_req			*req;
	char				 e1[64], e2[64];
	void				*priv = NULL;
	uint32_t			 id;
	int				 nwords;

	if ((def = ctl_cmdtab_find(argc, argv, &nwords)) == NULL ||
	    (def->flags & CTL_CMD_LOCAL) ||
	    (ops = ctl_cmd_ops[def->id]) == NULL) {
		ctl_reply_error(target, 2, "unknown command '%s%s%s'; run "
		    "'bwctl help'", ctl_cmd_arg(e1, sizeof(e1), argv[0]),
		    argc > 1 ? " " : "", argc > 1 ? ctl_cmd_arg(e2,
		    sizeof(e2), argv[1]) : "");
		return 0;
	}
	if (!ctl_cmdtab_nargs_ok(def, argc - nwords)) {
		ctl_reply_error(target, 2, "usage: %s", def->usage);
		return 0;
	}
	if (ops->privsz > 0 && (priv = calloc(1, ops->privsz)) == NULL) {
		ctl_reply_error(target, 1, "controld: out of memory");
		return 0;
	}
	memset(&pc, 0, sizeof(pc));
	pc.fmt = fmt;
	if (ops->parse != NULL && ops->parse(priv, argc, argv, &pc) == -1) {
		if (ops->free != NULL)
			ops->free(priv);
		free(priv);
		ctl_reply_error(target, 2, "%s", pc.err);
		return 0;
	}
	if (((def->may | pc.need) & ~who->may) != 0) {
		if (ops->free != NULL)
			ops->free(priv);
		free(priv);
		log_warnx("ctl command %s refused to %s: needs %s", def->usage,
		    who->name, ctl_may_name(def->may | pc.need));
		ctl_reply_error(target, 1, "permission denied: '%s' needs the "
		    "right to %s", ctl_cmd_arg(e1, sizeof(e1), argv[0]),
		    (def->may | pc.need) & CTL_MAY_ACT ? "act" : "view");
		return 0;
	}
	if ((req = ctl_req_new(target, who, def, ops, priv, pc.fmt)) == NULL)
		return 0;
	id = req->id;
	ops->start(req);
	return ctl_req_find(id) != NULL ? id : 0;
}

/* CTL_CMD from a bwctl connection. */
void
ctl_cmd_dispatch(struct bw_peer *client, const struct bw_ctl_cmd *in)
{
	static const struct ctl_principal nobody = { "bwctl (not admitted)",
	    0 };
	struct bw_ctl_cmd	 cmd = *in;
	struct ctl_target	 target;
	const struct ctl_principal *who = &nobody;
	struct ctl_client	*c;
	char			*argv[BW_CTL_ARGC_MAX];
	char			 e1[64];
	uint32_t		 i;
	int			 json;

	memset(&target, 0, sizeof(target));
	target.kind = CTL_TARGET_BWCTL;
	target.peer = client;
	if (cmd.version != BW_IMSG_VERSION) {
		ctl_reply_error(&target, 2, "protocol version mismatch: bwctl "
		    "speaks %u, controld %u; use the bwctl of the installed "
		    "release", cmd.version, BW_IMSG_VERSION);
		return;
	}
	if (cmd.argc == 0 || cmd.argc > BW_CTL_ARGC_MAX) {
		ctl_reply_error(&target, 2, "bad argument count %u",
		    cmd.argc);
		return;
	}
	for (i = 0; i < cmd.argc; i++) {
		cmd.argv[i][BW_CTL_ARG_MAX - 1] = '\0';
		argv[i] = cmd.argv[i];
	}
	json = (cmd.flags & BW_CTL_F_JSON) != 0;
	log_debug("ctl command %s argc=%u json=%d",
	    ctl_cmd_arg(e1, sizeof(e1), cmd.argv[0]), cmd.argc, json);
	TAILQ_FOREACH(c, &ctl_env->clients, entry)
		if (c->peer == client)
			who = &c->who;
	(void)ctl_cmd_start(&target, who, json ? CTL_FMT_JSON : CTL_FMT_TEXT,
	    (int)cmd.argc, argv);
}

static uint32_t
ctl_cmd_run_view(ctl_done_cb cb, void *arg, const struct ctl_principal *who,
    enum ctl_fmt fmt, const struct ctl_html_view *view, int argc,
    char *argv[])
{
	struct ctl_target	 target;

	memset(&target, 0, sizeof(target));
	target.kind = CTL_TARGET_INTERNAL;
	target.cb = cb;
	target.arg = arg;
	if (view != NULL)
		target.view = *view;
	if (argc <= 0 || argc > BW_CTL_ARGC_MAX) {
		ctl_reply_error(&target, 2, "bad argument count %d", argc);
		return 0;
	}
	return ctl_cmd_start(&target, who, fmt, argc, argv);
}

uint32_t
ctl_cmd_run(ctl_done_cb cb, void *arg, const struct ctl_principal *who,
    enum ctl_fmt fmt, int argc, char *argv[])
{
	return ctl_cmd_run_view(cb, arg, who, fmt, NULL, argc, argv);
}

uint32_t
ctl_cmd_run_html(ctl_done_cb cb, void *arg, const struct ctl_principal *who,
    const struct ctl_html_view *view, int argc, char *argv[])
{
	return ctl_cmd_run_view(cb, arg, who, CTL_FMT_HTML, view, argc, argv);
}

/* The internal caller went away: its request ends without an answer. */
void
ctl_cmd_cancel(uint32_t reqid)
{
	struct ctl_req	*req;

	if (reqid == 0 || (req = ctl_req_find(reqid)) == NULL ||
	    req->target.kind != CTL_TARGET_INTERNAL)
		return;
	req->target.cb = NULL;
	log_debug("ctl request id=%u cancelled by its caller", reqid);
}
