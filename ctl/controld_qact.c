/*
 * bwctl delete | undelete | bounce | hold | release {QID | --domain D
 * [--gateway G] | --sender A | --older-than DUR} [--dry-run] [--limit N],
 * and bwctl show held: forwarded to queued (QUEUE_ACTION_REQ), whose rows
 * (QUEUE_ACTION_ROW, one per message matched) are collected until
 * QUEUE_ACTION_END and rendered as text or JSON.  --dry-run is the
 * confirmation step: the rows say what would be done, nothing is.
 *
 * Who asked goes to queued with the request ("bwctl uid=U pid=P"), which
 * logs it with each message acted on.  A queue id that was not acted on
 * (not found, already in that state, in delivery now, undo window over)
 * exits 1 with one line saying so; a walk exits 0 and counts what it
 * skipped.  Walks other than by queue id may read the whole spool, so
 * their deadline is ctl_verify_timeout.
 *
 * Trust: arguments come from an admin's bwctl and are checked for form
 * here; queued's rows carry addresses that came from the Internet: each
 * string is terminated on receipt and escaped on output.  Rows kept are
 * capped (CTL_QACT_ROWS_MAX).
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "ctl_json.h"
#include "controld.h"

#define CTL_QACT_ESC_MAX	(BW_ADDR_MAX * 4 + 1)

/* One request's state (req->qact). */
struct ctl_qact {
	struct bw_queue_action_req	 req;
	struct ctl_rows			 rows;	/* bw_queue_action_row */
};

static const char *const ctl_qact_done_words[BW_QACT_OP__COUNT] = {
	"deleted", "undeleted", "bounced", "held", "released", "listed"
};

static void
ctl_qact_usage(struct bw_peer *client, const char *op)
{
	if (strcmp(op, "show") == 0)
		ctl_reply_error(client, 2, "usage: show held [--limit N]");
	else
		ctl_reply_error(client, 2, "usage: %s QID | --domain D "
		    "[--gateway G] | --sender A | --older-than DURATION "
		    "[--dry-run] [--limit N]", op);
}

/* A queue id argument, upper-cased and checked; -1 if it is not one. */
static int
ctl_qact_qid(const char *arg, char qid[BW_QID_LEN + 1])
{
	size_t	 i;

	if (strlen(arg) != BW_QID_LEN)
		return -1;
	for (i = 0; i < BW_QID_LEN; i++)
		qid[i] = (char)toupper((unsigned char)arg[i]);
	qid[BW_QID_LEN] = '\0';
	return bw_qid_valid(qid) ? 0 : -1;
}

/*
 * The selector and options of cmd into r: 0, or -1 with the error line
 * in err (exit 2).
 */
static int
ctl_qact_parse(const struct bw_ctl_cmd *cmd, uint32_t first,
    struct bw_queue_action_req *r, char *err, size_t errsz)
{
	char			 e1[64];
	const char		*a, *v;
	char			*end;
	long long		 ms;
	unsigned long long	 n;
	uint32_t		 i;
	int			 nsel = 0;

	for (i = first; i < cmd->argc; i++) {
		a = cmd->argv[i];
		v = i + 1 < cmd->argc ? cmd->argv[i + 1] : NULL;
		if (strcmp(a, "--dry-run") == 0) {
			r->dry_run = 1;
			continue;
		}
		if (strncmp(a, "--", 2) == 0 && v == NULL) {
			snprintf(err, errsz, "%s needs a value", log_escape(e1,
			    sizeof(e1), a, strlen(a)));
			return -1;
		}
		if (strcmp(a, "--domain") == 0) {
			if (v[0] == '\0' || strlen(v) > BW_DOMAIN_MAX ||
			    strchr(v, '@') != NULL) {
				snprintf(err, errsz, "invalid domain '%s'",
				    log_escape(e1, sizeof(e1), v, strlen(v)));
				return -1;
			}
			bw_lowercase(r->domain, v, sizeof(r->domain));
			r->sel = BW_QSEL_DOMAIN;
			nsel++;
		} else if (strcmp(a, "--gateway") == 0) {
			if (v[0] == '\0' || strlen(v) >= BW_NAME_MAX) {
				snprintf(err, errsz, "invalid gateway '%s'",
				    log_escape(e1, sizeof(e1), v, strlen(v)));
				return -1;
			}
			strlcpy(r->gateway, v, sizeof(r->gateway));
		} else if (strcmp(a, "--sender") == 0) {
			/* "<>" or "" is the null sender; brackets dropped */
			if (v[0] == '<' && strlen(v) >= 2 &&
			    v[strlen(v) - 1] == '>') {
				strlcpy(r->sender, v + 1, sizeof(r->sender));
				r->sender[strlen(r->sender) - 1] = '\0';
			} else
				strlcpy(r->sender, v, sizeof(r->sender));
			r->sel = BW_QSEL_SENDER;
			nsel++;
		} else if (strcmp(a, "--older-than") == 0) {
			if (bw_limit_parse_value(BW_UNIT_MS, v, &ms) == -1 ||
			    ms < 0) {
				snprintf(err, errsz, "invalid duration '%s' "
				    "(30m, 2h, 1d)", log_escape(e1, sizeof(e1),
				    v, strlen(v)));
				return -1;
			}
			r->older_than = ms / 1000;
			r->sel = BW_QSEL_AGE;
			nsel++;
		} else if (strcmp(a, "--limit") == 0) {
			errno = 0;
			n = strtoull(v, &end, 10);
			if (!isdigit((unsigned char)v[0]) || errno != 0 ||
			    *end != '\0' || n == 0 || n > CTL_QACT_ROWS_MAX) {
				snprintf(err, errsz, "invalid limit '%s': a "
				    "number from 1 to %d expected",
				    log_escape(e1, sizeof(e1), v, strlen(v)),
				    CTL_QACT_ROWS_MAX);
				return -1;
			}
			r->limit = n;
		} else if (strncmp(a, "--", 2) == 0) {
			snprintf(err, errsz, "unknown option '%s'",
			    log_escape(e1, sizeof(e1), a, strlen(a)));
			return -1;
		} else {
			if (ctl_qact_qid(a, r->qid) == -1) {
				snprintf(err, errsz, "invalid queue id '%s': %d "
				    "hex digits expected", log_escape(e1,
				    sizeof(e1), a, strlen(a)), BW_QID_LEN);
				return -1;
			}
			r->sel = BW_QSEL_QID;
			nsel++;
			continue;
		}
		i++;	/* the option's value */
	}
	if (r->op == BW_QACT_LIST) {
		if (nsel == 0)
			r->sel = BW_QSEL_ALL;
		return 0;
	}
	if (nsel != 1) {
		snprintf(err, errsz, "%s", nsel == 0 ? "a queue id or a "
		    "selector is needed" : "one queue id or selector at a "
		    "time");
		return -1;
	}
	if (r->gateway[0] != '\0' && r->sel != BW_QSEL_DOMAIN) {
		snprintf(err, errsz, "--gateway goes with --domain");
		return -1;
	}
	return 0;
}

/* "bwctl uid=U pid=P": who asked, as queued logs it. */
static void
ctl_qact_who(struct bw_peer *client, char *dst, size_t dstsz)
{
	uid_t	 uid;
	pid_t	 pid = bw_peer_pid(client);

	if (ctl_client_uid(pid, &uid) == 0)
		snprintf(dst, dstsz, "bwctl uid=%lu pid=%ld",
		    (unsigned long)uid, (long)pid);
	else
		snprintf(dst, dstsz, "bwctl pid=%ld", (long)pid);
}

/* 1 for the commands of this file (controld_cmd.c asks). */
int
ctl_qact_is_cmd(const struct bw_ctl_cmd *cmd)
{
	int	 op;

	if (cmd->argc >= 2 && strcmp(cmd->argv[0], "show") == 0 &&
	    strcmp(cmd->argv[1], "held") == 0)
		return 1;
	for (op = 0; op < BW_QACT_LIST; op++)
		if (strcmp(cmd->argv[0], bw_qact_op_name(op)) == 0)
			return 1;
	return 0;
}

/* delete | undelete | bounce | hold | release ... ; show held */
void
ctl_qact_cmd(struct bw_peer *client, const struct bw_ctl_cmd *cmd, int json)
{
	struct bw_queue_action_req	 r;
	struct ctl_daemon		*d;
	struct ctl_req			*req;
	struct ctl_qact			*qa;
	char				 err[256];
	uint32_t			 first = 1, op;

	for (op = 0; op < BW_QACT_LIST; op++)
		if (strcmp(cmd->argv[0], bw_qact_op_name((int)op)) == 0)
			break;
	if (strcmp(cmd->argv[0], "show") == 0) {
		op = BW_QACT_LIST;
		first = 2;
	}
	memset(&r, 0, sizeof(r));
	r.op = op;
	if (ctl_qact_parse(cmd, first, &r, err, sizeof(err)) == -1) {
		ctl_reply_error(client, 2, "%s: %s; run 'bwctl help'",
		    cmd->argv[0], err);
		return;
	}
	if (op == BW_QACT_LIST && r.sel != BW_QSEL_ALL) {
		ctl_qact_usage(client, "show");
		return;
	}
	ctl_qact_who(client, r.who, sizeof(r.who));
	if ((req = ctl_req_new(client, CTL_REQ_QACT, json)) == NULL)
		return;
	if ((qa = calloc(1, sizeof(*qa))) == NULL) {
		ctl_req_fail(req, 1, "controld: out of memory");
		return;
	}
	req->qact = qa;
	qa->req = r;
	ctl_rows_init(&qa->rows, sizeof(struct bw_queue_action_row),
	    CTL_QACT_ROWS_MAX);
	if (r.sel != BW_QSEL_QID)
		ctl_req_arm(req, (uint64_t)BW_LIMIT(ctl_env->d.cfg,
		    LIM_CTL_VERIFY_TIMEOUT));
	if ((d = ctl_daemon_find_role(BW_ROLE_QUEUED)) == NULL) {
		ctl_req_fail(req, 1, "queued is not running (not connected "
		    "to controld)");
		return;
	}
	if (bw_peer_send(d->peer, BW_IMSG_QUEUE_ACTION_REQ, req->id, -1, &r,
	    sizeof(r)) == -1)
		ctl_req_fail(req, 1, "cannot send the request to queued");
}

/* Why a message was not acted on, as one line. */
static void
ctl_qact_why(char *dst, size_t dstsz, const struct bw_queue_action_req *r,
    const struct bw_queue_action_row *row)
{
	const char	*op = bw_qact_op_name((int)r->op);

	switch (row->result) {
	case BW_QACT_ALREADY:
		snprintf(dst, dstsz, "already %s", ctl_qact_done_words[r->op]);
		break;
	case BW_QACT_BUSY:
		snprintf(dst, dstsz, "being delivered now: left alone, try "
		    "again");
		break;
	case BW_QACT_NOTFOUND:
		snprintf(dst, dstsz, "not found in the queue");
		break;
	case BW_QACT_EXPIRED:
		snprintf(dst, dstsz, "expired: its undo window "
		    "(queue_undelete_window) is over, it is gone for good");
		break;
	case BW_QACT_NOTHELD:
		snprintf(dst, dstsz, "not %s", r->op == BW_QACT_UNDELETE ?
		    "deleted" : "held");
		break;
	case BW_QACT_DELETED:
		snprintf(dst, dstsz, "deleted: bwctl undelete it first");
		break;
	case BW_QACT_QUARANTINED:
		snprintf(dst, dstsz, "in the quarantine (bwctl queue release "
		    "| delete)");
		break;
	default:
		snprintf(dst, dstsz, "queued could not %s it (see its log)",
		    op);
		break;
	}
}

static const char *
ctl_qact_kind_name(uint32_t kind)
{
	switch (kind) {
	case BW_QKIND_LIVE:
		return "queued";
	case BW_QKIND_HELD:
		return "held";
	case BW_QKIND_DELETED:
		return "deleted";
	}
	return "?";
}

static void
ctl_qact_render_json(struct ctl_req *req, const struct ctl_qact *qa,
    const struct bw_queue_action_end *e)
{
	const struct bw_queue_action_row	*r = qa->rows.v;
	struct ctl_json				 j;
	size_t					 i;

	ctl_json_init(&j, req->out);
	ctl_json_obj_open(&j, NULL);
	ctl_json_str(&j, "op", qa->req.op == BW_QACT_LIST ? "show held" :
	    bw_qact_op_name((int)qa->req.op));
	ctl_json_bool(&j, "dry_run", qa->req.dry_run != 0);
	ctl_json_arr_open(&j, "messages");
	for (i = 0; i < qa->rows.n; i++) {
		ctl_json_obj_open(&j, NULL);
		ctl_json_str(&j, "qid", r[i].qid);
		ctl_json_str(&j, "result", bw_qact_result_name(
		    (int)r[i].result));
		ctl_json_str(&j, "state", ctl_qact_kind_name(r[i].kind));
		ctl_json_str(&j, "sender", r[i].sender);
		ctl_json_uint(&j, "nrcpt", r[i].nrcpt);
		ctl_json_int(&j, "created", r[i].created);
		ctl_json_int(&j, "since", r[i].when);
		ctl_json_int(&j, "expires", r[i].expires);
		ctl_json_str(&j, "by", r[i].who);
		ctl_json_obj_close(&j);
	}
	ctl_json_arr_close(&j);
	ctl_json_uint(&j, "matched", e->matched);
	ctl_json_uint(&j, "done", e->done);
	ctl_json_uint(&j, "skipped", e->skipped);
	ctl_json_bool(&j, "truncated", e->truncated || qa->rows.truncated);
	ctl_json_obj_close(&j);
	ctl_json_end(&j);
}

/* show held: a table of the hold area. */
static void
ctl_qact_render_held(struct ctl_req *req, const struct ctl_qact *qa)
{
	const struct bw_queue_action_row	*r = qa->rows.v;
	char					 esc[CTL_QACT_ESC_MAX];
	char					 wesc[BW_ACTOR_MAX * 4 + 1];
	char					 t1[64], t2[64];
	size_t					 i, nheld = 0;

	if (qa->rows.n == 0) {
		evbuffer_add_printf(req->out, "no message is held or "
		    "deleted\n");
		return;
	}
	evbuffer_add_printf(req->out, "%-16s  %-7s  %-19s  %-19s  %5s  %s\n",
	    "QUEUE ID", "STATE", "SINCE", "PURGED AT", "RCPTS",
	    "SENDER  BY");
	for (i = 0; i < qa->rows.n; i++) {
		ctl_fmt_time(t1, sizeof(t1), r[i].when);
		if (r[i].expires != 0)
			ctl_fmt_time(t2, sizeof(t2), r[i].expires);
		else
			strlcpy(t2, "-", sizeof(t2));
		nheld += r[i].kind == BW_QKIND_HELD;
		evbuffer_add_printf(req->out, "%-16s  %-7s  %-19s  %-19s  "
		    "%5u  <%s>  %s\n", r[i].qid, ctl_qact_kind_name(r[i].kind),
		    t1, t2, r[i].nrcpt, log_escape(esc, sizeof(esc),
		    r[i].sender, strlen(r[i].sender)), log_escape(wesc,
		    sizeof(wesc), r[i].who, strlen(r[i].who)));
	}
	evbuffer_add_printf(req->out, "total: %zu held, %zu deleted (bwctl "
	    "release QID | undelete QID)%s\n", nheld, qa->rows.n - nheld,
	    qa->rows.truncated ? " (list truncated)" : "");
}

static void
ctl_qact_render_text(struct ctl_req *req, const struct ctl_qact *qa,
    const struct bw_queue_action_end *e)
{
	const struct bw_queue_action_row	*r = qa->rows.v;
	const char				*done;
	char					 esc[CTL_QACT_ESC_MAX];
	char					 why[256], t[64];
	size_t					 i;

	done = ctl_qact_done_words[qa->req.op];
	for (i = 0; i < qa->rows.n; i++) {
		if (r[i].result != BW_QACT_DONE) {
			ctl_qact_why(why, sizeof(why), &qa->req, &r[i]);
			evbuffer_add_printf(req->out, "%s  not %s: %s\n",
			    r[i].qid, done, why);
			continue;
		}
		evbuffer_add_printf(req->out, "%s  %s%s  from=<%s> nrcpt=%u",
		    r[i].qid, qa->req.dry_run ? "would be " : "", done,
		    log_escape(esc, sizeof(esc), r[i].sender,
		    strlen(r[i].sender)), r[i].nrcpt);
		if (!qa->req.dry_run && qa->req.op == BW_QACT_DELETE) {
			ctl_fmt_time(t, sizeof(t), r[i].expires);
			evbuffer_add_printf(req->out, "  (bwctl undelete "
			    "until %s)", t);
		}
		evbuffer_add_printf(req->out, "\n");
	}
	if (qa->req.dry_run)
		evbuffer_add_printf(req->out, "dry run: %" PRIu64 " messages "
		    "would be %s, %" PRIu64 " skipped; nothing was done\n",
		    e->done, done, e->skipped);
	else if (qa->req.sel != BW_QSEL_QID)
		evbuffer_add_printf(req->out, "%s: %" PRIu64 " messages %s, %"
		    PRIu64 " skipped\n", bw_qact_op_name((int)qa->req.op),
		    e->done, done, e->skipped);
	if (e->truncated || qa->rows.truncated)
		evbuffer_add_printf(req->out, "(stopped at the limit of %"
		    PRIu64 " messages: run again for the rest)\n",
		    qa->req.limit ? qa->req.limit : (uint64_t)
		    CTL_QACT_ROWS_MAX);
}

static void
ctl_qact_end(struct ctl_req *req, const struct bw_queue_action_end *e)
{
	struct ctl_qact				*qa = req->qact;
	const struct bw_queue_action_row	*r = qa->rows.v;
	char					 why[256];
	int					 exitcode = 0;

	switch (e->status) {
	case BW_QACT_END_DONE:
		break;
	case BW_QACT_END_BUSY:
		ctl_req_fail(req, 1, "queued is busy with other queue actions; "
		    "try again when they are done");
		return;
	default:
		ctl_req_fail(req, 1, "queued could not %s (see its log)",
		    bw_qact_op_name((int)qa->req.op));
		return;
	}
	/* one queue id not acted on: an error, said in one line */
	if (qa->req.sel == BW_QSEL_QID && qa->rows.n == 1 &&
	    r[0].result != BW_QACT_DONE) {
		exitcode = 1;
		if (!req->json) {
			ctl_qact_why(why, sizeof(why), &qa->req, &r[0]);
			ctl_req_fail(req, 1, "%s %s: %s",
			    bw_qact_op_name((int)qa->req.op), r[0].qid, why);
			return;
		}
	}
	if (req->json)
		ctl_qact_render_json(req, qa, e);
	else if (qa->req.op == BW_QACT_LIST)
		ctl_qact_render_held(req, qa);
	else
		ctl_qact_render_text(req, qa, e);
	ctl_req_finish(req, exitcode);
}

/* QUEUE_ACTION_ROW, QUEUE_ACTION_END from queued. */
void
ctl_qact_msg(struct ctl_req *req, struct bw_imsg *imsg)
{
	struct bw_queue_action_row	 row;
	struct bw_queue_action_end	 end;

	if (req->qact == NULL)
		return;
	if (imsg->hdr.type == BW_IMSG_QUEUE_ACTION_ROW) {
		memcpy(&row, imsg->data, sizeof(row));
		row.qid[sizeof(row.qid) - 1] = '\0';
		row.sender[sizeof(row.sender) - 1] = '\0';
		row.who[sizeof(row.who) - 1] = '\0';
		if (row.result >= BW_QACT_RESULT__COUNT)
			row.result = BW_QACT_ERROR;
		ctl_rows_add(&req->qact->rows, &row);
		return;
	}
	memcpy(&end, imsg->data, sizeof(end));
	ctl_qact_end(req, &end);
}

/* The deadline passed: what queued did so far stays done. */
void
ctl_qact_timeout(struct ctl_req *req)
{
	ctl_env->c_requests_timeout++;
	ctl_req_fail(req, 1, "queued did not finish within the time allowed "
	    "(ctl_timeout; ctl_verify_timeout for walks); what it did stays "
	    "done: see bwctl show held");
}

void
ctl_qact_free(struct ctl_req *req)
{
	if (req->qact == NULL)
		return;
	ctl_rows_free(&req->qact->rows);
	free(req->qact);
	req->qact = NULL;
}
