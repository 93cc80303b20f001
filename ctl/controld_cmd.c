/*
 * Parse one CTL_CMD from bwctl and start the command.  The payload comes
 * from an admin's bwctl, but it is still checked: the protocol version,
 * argc against BW_CTL_ARGC_MAX, and every argument is terminated before use.
 * Usage errors answer with exit code 2, operational errors with 1.
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "ctl_trace.h"
#include "controld.h"
#include "controld_alert.h"

/* Argument text made printable for an error line. */
static const char *
ctl_cmd_arg(char *dst, size_t dstsz, const char *arg)
{
	return log_escape(dst, dstsz, arg, strlen(arg));
}

/* A queue id argument, upper-cased and checked; -1 if it is not one. */
static int
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

static int
ctl_cmd_limit(const char *arg, uint64_t *limit)
{
	char			*end;
	unsigned long long	 v;

	if (!isdigit((unsigned char)arg[0]))
		return -1;
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > CTL_LIST_MAX)
		return -1;
	*limit = v;
	return 0;
}

/* queue verify | repair | quarantine | release QID | delete QID */
static void
ctl_cmd_queue(struct bw_peer *client, const struct bw_ctl_cmd *cmd, int json)
{
	static const struct {
		const char	*name;
		uint32_t	 op;
		uint32_t	 argc;
	} ops[] = {
		{ "verify", BW_VERIFY_CHECK, 2 },
		{ "repair", BW_VERIFY_REPAIR, 2 },
		{ "quarantine", BW_VERIFY_LIST, 2 },
		{ "release", BW_VERIFY_RELEASE, 3 },
		{ "delete", BW_VERIFY_DELETE, 3 },
	};
	struct ctl_req	*req;
	char		 e1[64], qid[BW_QID_LEN + 1];
	size_t		 i;

	qid[0] = '\0';
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(cmd->argv[1], ops[i].name) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]) || cmd->argc != ops[i].argc) {
		ctl_reply_error(client, 2, "usage: queue verify | repair | "
		    "quarantine | release QID | delete QID");
		return;
	}
	if (ops[i].argc == 3 && ctl_cmd_qid(cmd->argv[2], qid) == -1) {
		ctl_reply_error(client, 2, "invalid queue id '%s': %d hex "
		    "digits expected", ctl_cmd_arg(e1, sizeof(e1),
		    cmd->argv[2]), BW_QID_LEN);
		return;
	}
	if ((req = ctl_req_new(client, CTL_REQ_VERIFY, json)) != NULL)
		ctl_verify_start(req, ops[i].op, qid);
}

/* trace ADDRESS [--listener NAME] [--helo NAME] [--from A] [--rcpt A]... */
static void
ctl_cmd_trace(struct bw_peer *client, const struct bw_ctl_cmd *cmd, int json)
{
	struct bw_trace_req	 tr;
	struct ctl_req		*req;
	char			*argv[BW_CTL_ARGC_MAX];
	char			 err[CTL_TRACE_ERR_MAX];
	uint32_t		 i;

	for (i = 0; i < cmd->argc; i++)
		argv[i] = (char *)cmd->argv[i];
	if (ctl_trace_args((int)cmd->argc, argv, &tr, &json, err,
	    sizeof(err)) == -1) {
		ctl_reply_error(client, 2, "trace: %s", err);
		return;
	}
	if ((req = ctl_req_new(client, CTL_REQ_TRACE, json)) != NULL)
		ctl_trace_start(req, &tr);
}

void
ctl_cmd_dispatch(struct bw_peer *client, const struct bw_ctl_cmd *in)
{
	struct bw_ctl_cmd	 cmd = *in;
	struct ctl_req		*req;
	char			 e1[64], e2[64], qid[BW_QID_LEN + 1];
	uint64_t		 limit = CTL_LIST_DEFAULT;
	uint32_t		 i;
	int			 json;

	if (cmd.version != BW_IMSG_VERSION) {
		ctl_reply_error(client, 2, "protocol version mismatch: bwctl "
		    "speaks %u, controld %u; use the bwctl of the installed "
		    "release", cmd.version, BW_IMSG_VERSION);
		return;
	}
	if (cmd.argc == 0 || cmd.argc > BW_CTL_ARGC_MAX) {
		ctl_reply_error(client, 2, "bad argument count %u",
		    cmd.argc);
		return;
	}
	for (i = 0; i < cmd.argc; i++)
		cmd.argv[i][BW_CTL_ARG_MAX - 1] = '\0';
	json = (cmd.flags & BW_CTL_F_JSON) != 0;
	log_debug("ctl command %s argc=%u json=%d",
	    ctl_cmd_arg(e1, sizeof(e1), cmd.argv[0]), cmd.argc, json);

	if (strcmp(cmd.argv[0], "status") == 0 && cmd.argc == 1) {
		if ((req = ctl_req_new(client, CTL_REQ_STATUS, json)) != NULL)
			ctl_status_start(req);
		return;
	}
	if (strcmp(cmd.argv[0], "show") == 0 && cmd.argc >= 2) {
		if (strcmp(cmd.argv[1], "queue") == 0 && cmd.argc == 2) {
			if ((req = ctl_req_new(client, CTL_REQ_QUEUE,
			    json)) != NULL)
				ctl_queue_start(req);
			return;
		}
		if (strcmp(cmd.argv[1], "alerts") == 0) {
			ctl_alert_cmd(client, &cmd, json);
			return;
		}
		if (strcmp(cmd.argv[1], "senders") == 0) {
			ctl_senders_cmd(client, &cmd, json);
			return;
		}
		if (strcmp(cmd.argv[1], "dns") == 0 && cmd.argc == 2) {
			if ((req = ctl_req_new(client, CTL_REQ_DNS_SHOW,
			    json)) != NULL)
				ctl_dns_show_start(req);
			return;
		}
		if (strcmp(cmd.argv[1], "message") == 0 && cmd.argc == 3) {
			if (ctl_cmd_qid(cmd.argv[2], qid) == -1) {
				ctl_reply_error(client, 2, "invalid queue id "
				    "'%s': %d hex digits expected",
				    ctl_cmd_arg(e1, sizeof(e1), cmd.argv[2]),
				    BW_QID_LEN);
				return;
			}
			if ((req = ctl_req_new(client, CTL_REQ_MESSAGE,
			    json)) != NULL)
				ctl_message_start(req, qid);
			return;
		}
	}
	if ((strcmp(cmd.argv[0], "show") == 0 && cmd.argc == 3 &&
	    strcmp(cmd.argv[1], "domain") == 0) || (cmd.argc == 2 &&
	    (strcmp(cmd.argv[0], "retry") == 0 ||
	    strcmp(cmd.argv[0], "suspend") == 0 ||
	    strcmp(cmd.argv[0], "resume") == 0))) {
		const char	*dom = cmd.argv[cmd.argc - 1];
		uint32_t	 op = BW_DOMAIN_SHOW;

		if (strcmp(cmd.argv[0], "retry") == 0)
			op = BW_DOMAIN_RETRY;
		else if (strcmp(cmd.argv[0], "suspend") == 0)
			op = BW_DOMAIN_SUSPEND;
		else if (strcmp(cmd.argv[0], "resume") == 0)
			op = BW_DOMAIN_RESUME;
		if (dom[0] == '\0' || strlen(dom) > BW_DOMAIN_MAX ||
		    strchr(dom, '@') != NULL) {
			ctl_reply_error(client, 2, "invalid domain '%s'",
			    ctl_cmd_arg(e1, sizeof(e1), dom));
			return;
		}
		if ((req = ctl_req_new(client, CTL_REQ_DOMAIN, json)) != NULL)
			ctl_domain_start(req, op, dom);
		return;
	}
	if (strcmp(cmd.argv[0], "config") == 0 && cmd.argc == 2 &&
	    strcmp(cmd.argv[1], "reload") == 0) {
		if ((req = ctl_req_new(client, CTL_REQ_RELOAD, json)) != NULL)
			ctl_reload_start(req);
		return;
	}
	if (strcmp(cmd.argv[0], "trace") == 0) {
		ctl_cmd_trace(client, &cmd, json);
		return;
	}
	if (strcmp(cmd.argv[0], "redirect") == 0) {
		ctl_redirect_cmd(client, &cmd, json);
		return;
	}
	if (ctl_qact_is_cmd(&cmd)) {
		ctl_qact_cmd(client, &cmd, json);
		return;
	}
	if (strcmp(cmd.argv[0], "debug") == 0) {
		ctl_debug_cmd(client, &cmd, json);
		return;
	}
	if (strcmp(cmd.argv[0], "queue") == 0 && cmd.argc >= 2) {
		ctl_cmd_queue(client, &cmd, json);
		return;
	}
	if (strcmp(cmd.argv[0], "dns") == 0 && cmd.argc == 2 &&
	    strcmp(cmd.argv[1], "flush") == 0) {
		if ((req = ctl_req_new(client, CTL_REQ_DNS_FLUSH, json)) != NULL)
			ctl_dns_flush_start(req);
		return;
	}
	if (strcmp(cmd.argv[0], "list") == 0 && cmd.argc >= 2 &&
	    cmd.argc <= 3 && strcmp(cmd.argv[1], "messages") == 0) {
		if (cmd.argc == 3 && ctl_cmd_limit(cmd.argv[2], &limit) == -1) {
			ctl_reply_error(client, 2, "invalid limit '%s': "
			    "a number from 1 to %d expected",
			    ctl_cmd_arg(e1, sizeof(e1), cmd.argv[2]),
			    CTL_LIST_MAX);
			return;
		}
		if ((req = ctl_req_new(client, CTL_REQ_LIST, json)) != NULL)
			ctl_list_start(req, limit);
		return;
	}
	ctl_reply_error(client, 2, "unknown command '%s%s%s'; run 'bwctl help'",
	    ctl_cmd_arg(e1, sizeof(e1), cmd.argv[0]), cmd.argc > 1 ? " " : "",
	    cmd.argc > 1 ? ctl_cmd_arg(e2, sizeof(e2), cmd.argv[1]) : "");
}
