/*
 * bwctl delete | undelete | bounce | hold | release {QID | --domain D
 * [--gateway G] | --sender A | --older-than DUR} [--dry-run] [--limit N],
 * and bwctl show held: forwarded to queued (QUEUE_ACTION_REQ), whose rows
 * (QUEUE_ACTION_ROW, one per message matched) are collected until
 * QUEUE_ACTION_END and written as a table (JSON) with a text layout of
 * its own, or a table of the hold area for show held.  --dry-run is the
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
#include "controld.h"

#define CTL_QACT_ESC_MAX	(BW_ADDR_MAX * 4 + 1)

/* One request's state (req->priv). */
struct ctl_qact {
	struct bw_queue_action_req	 req;
	struct ctl_rows			 rows;	/* bw_queue_action_row */
	struct bw_queue_action_end	 end;
};

static const char *const ctl_qact_done_words[BW_QACT_OP__COUNT] = {
	"deleted", "undeleted", "bounced", "held", "released", "listed"
};

/*
 * The selector and options of cmd into r: 0, or -1 with the error line
 * in err (exit 2).
 */
static int
ctl_qact_args(int argc, char *argv[], int first,
    struct bw_queue_action_req *r, char *err, size_t errsz)
{
	char			 e1[64];
	const char		*a, *v;
	char			*end;
	long long		 ms;
	unsigned long long	 n;
	int			 i, nsel = 0;

	for (i = first; i < argc; i++) {
		a = argv[i];
		v = i + 1 < argc ? argv[i + 1] : NULL;
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
			if (ctl_cmd_qid(a, r->qid) == -1) {
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

/* delete | undelete | bounce | hold | release ... ; show held */
static int
ctl_qact_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	struct ctl_qact	*qa = arg;
	char		 err[256];
	int		 first = 1;
	uint32_t	 op;

	for (op = 0; op < BW_QACT_LIST; op++)
		if (strcmp(argv[0], bw_qact_op_name((int)op)) == 0)
			break;
	if (strcmp(argv[0], "show") == 0) {
		op = BW_QACT_LIST;
		first = 2;
	}
	qa->req.op = op;
	if (ctl_qact_args(argc, argv, first, &qa->req, err,
	    sizeof(err)) == -1) {
		snprintf(pc->err, sizeof(pc->err), "%s: %s; run 'bwctl help'",
		    argv[0], err);
		return -1;
	}
	if (op == BW_QACT_LIST && qa->req.sel != BW_QSEL_ALL) {
		snprintf(pc->err, sizeof(pc->err), "usage: show held "
		    "[--limit N]");
		return -1;
	}
	return 0;
}

static void
ctl_qact_start(struct ctl_req *req)
{
	struct ctl_qact	*qa = req->priv;

	/* who asked goes to queued, which logs it with each message */
	strlcpy(qa->req.who, req->who.name, sizeof(qa->req.who));
	ctl_rows_init(&qa->rows, sizeof(struct bw_queue_action_row),
	    CTL_QACT_ROWS_MAX);
	if (qa->req.sel != BW_QSEL_QID)
		ctl_req_arm(req, (uint64_t)BW_LIMIT(ctl_env->d.cfg,
		    LIM_CTL_VERIFY_TIMEOUT));
	ctl_req_send(req, BW_ROLE_QUEUED, BW_IMSG_QUEUE_ACTION_REQ, &qa->req,
	    sizeof(qa->req));
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

/* The rows as data; show held's text is a table of the same rows. */
static const struct ctl_col ctl_qact_cols[] = {
	{ "qid", "QUEUE ID", CTL_T_STR, CTL_COL_BOTH, 16, NULL },
	{ "result", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "state", "STATE", CTL_T_STR, CTL_COL_BOTH, 7, NULL },
	{ "sender", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "nrcpt", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "created", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "since", "SINCE", CTL_T_TIME, CTL_COL_BOTH, 19, NULL },
	{ "expires", "PURGED AT", CTL_T_TIME, CTL_COL_BOTH, 19, NULL },
	{ "rcpts", "RCPTS", CTL_T_UINT, CTL_COL_TEXT | CTL_COL_RIGHT, 5,
	    NULL },
	{ "sender_by", "SENDER  BY", CTL_T_STR, CTL_COL_TEXT, 0, NULL },
	{ "by", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table ctl_held_table = { "messages", ctl_qact_cols,
    CTL_NCOLS(ctl_qact_cols), NULL };

/* The same columns as data only: an action's text is lines of its own. */
static const struct ctl_col ctl_qact_data_cols[] = {
	{ "qid", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "result", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "state", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "sender", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
	{ "nrcpt", NULL, CTL_T_UINT, CTL_COL_DATA, 0, NULL },
	{ "created", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "since", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "expires", NULL, CTL_T_TIME, CTL_COL_DATA, 0, NULL },
	{ "by", NULL, CTL_T_STR, CTL_COL_DATA, 0, NULL },
};
static const struct ctl_table ctl_qact_table = { "messages",
    ctl_qact_data_cols, CTL_NCOLS(ctl_qact_data_cols), NULL };

/* One message's row; its text line (an action's) as the row's note. */
static void
ctl_qact_row(struct ctl_out *o, const struct ctl_qact *qa,
    const struct bw_queue_action_row *r)
{
	char	 esc[CTL_QACT_ESC_MAX], why[256], t[64];
	char	 sb[CTL_QACT_ESC_MAX + BW_ACTOR_MAX + 8];
	char	 until[96];
	int	 held = qa->req.op == BW_QACT_LIST;

	ctl_out_row_open(o);
	ctl_out_str(o, "qid", r->qid);
	ctl_out_str(o, "result", bw_qact_result_name((int)r->result));
	ctl_out_str(o, "state", ctl_qact_kind_name(r->kind));
	ctl_out_str(o, "sender", r->sender);
	ctl_out_uint(o, "nrcpt", r->nrcpt);
	ctl_out_int(o, "created", r->created);
	ctl_out_int(o, "since", r->when);
	ctl_out_int(o, "expires", r->expires);
	ctl_out_str(o, "by", r->who);
	if (held) {
		ctl_out_uint(o, "rcpts", r->nrcpt);
		snprintf(sb, sizeof(sb), "<%s>  %s", r->sender, r->who);
		ctl_out_str(o, "sender_by", sb);
	} else if (r->result != BW_QACT_DONE) {
		ctl_qact_why(why, sizeof(why), &qa->req, r);
		ctl_out_note(o, "%s  not %s: %s", r->qid,
		    ctl_qact_done_words[qa->req.op], why);
	} else {
		until[0] = '\0';
		if (!qa->req.dry_run && qa->req.op == BW_QACT_DELETE) {
			ctl_fmt_time(t, sizeof(t), r->expires);
			snprintf(until, sizeof(until), "  (bwctl undelete "
			    "until %s)", t);
		}
		ctl_out_note(o, "%s  %s%s  from=<%s> nrcpt=%u%s", r->qid,
		    qa->req.dry_run ? "would be " : "",
		    ctl_qact_done_words[qa->req.op], log_escape(esc,
		    sizeof(esc), r->sender, strlen(r->sender)), r->nrcpt,
		    until);
	}
	ctl_out_row_close(o);
}

/* The lines after an action's rows. */
static void
ctl_qact_summary(struct ctl_out *o, const struct ctl_qact *qa)
{
	const struct bw_queue_action_end	*e = &qa->end;
	const char				*done;
	const struct bw_queue_action_row	*r = qa->rows.v;
	size_t					 i, nheld = 0;

	if (qa->req.op == BW_QACT_LIST) {
		for (i = 0; i < qa->rows.n; i++)
			nheld += r[i].kind == BW_QKIND_HELD;
		if (qa->rows.n > 0)
			ctl_out_note(o, "total: %zu held, %zu deleted (bwctl "
			    "release QID | undelete QID)%s", nheld,
			    qa->rows.n - nheld, qa->rows.truncated ?
			    " (list truncated)" : "");
		return;
	}
	done = ctl_qact_done_words[qa->req.op];
	if (qa->req.dry_run)
		ctl_out_note(o, "dry run: %" PRIu64 " messages would be %s, %"
		    PRIu64 " skipped; nothing was done", e->done, done,
		    e->skipped);
	else if (qa->req.sel != BW_QSEL_QID)
		ctl_out_note(o, "%s: %" PRIu64 " messages %s, %" PRIu64
		    " skipped", bw_qact_op_name((int)qa->req.op), e->done,
		    done, e->skipped);
	if (e->truncated || qa->rows.truncated)
		ctl_out_note(o, "(stopped at the limit of %" PRIu64 " messages: "
		    "run again for the rest)", qa->req.limit ? qa->req.limit :
		    (uint64_t)CTL_QACT_ROWS_MAX);
}

/* One queue id not acted on: an error (exit 1). */
static int
ctl_qact_refused(const struct ctl_qact *qa)
{
	const struct bw_queue_action_row	*r = qa->rows.v;

	return qa->req.sel == BW_QSEL_QID && qa->rows.n == 1 &&
	    r[0].result != BW_QACT_DONE;
}

static int
ctl_qact_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_qact				*qa = req->priv;
	const struct bw_queue_action_row	*r = qa->rows.v;
	const struct bw_queue_action_end	*e = &qa->end;
	size_t					 i;

	ctl_out_obj_open(o, NULL);
	ctl_out_str(o, "op", qa->req.op == BW_QACT_LIST ? "show held" :
	    bw_qact_op_name((int)qa->req.op));
	ctl_out_bool(o, "dry_run", qa->req.dry_run != 0);
	if (qa->req.op == BW_QACT_LIST) {
		ctl_out_table_open(o, &ctl_held_table);
		ctl_out_table_empty(o, "no message is held or deleted");
	} else
		ctl_out_table_open(o, &ctl_qact_table);
	for (i = 0; i < qa->rows.n; i++)
		ctl_qact_row(o, qa, &r[i]);
	ctl_out_table_close(o);
	ctl_out_uint(o, "matched", e->matched);
	ctl_out_uint(o, "done", e->done);
	ctl_out_uint(o, "skipped", e->skipped);
	ctl_out_bool(o, "truncated", e->truncated || qa->rows.truncated);
	ctl_qact_summary(o, qa);
	ctl_out_obj_close(o);
	return ctl_qact_refused(qa) ? 1 : 0;
}

static void
ctl_qact_end(struct ctl_req *req)
{
	struct ctl_qact				*qa = req->priv;
	const struct bw_queue_action_row	*r = qa->rows.v;
	char					 why[256];

	switch (qa->end.status) {
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
	/* one queue id not acted on: said in one line (data: the rows) */
	if (ctl_qact_refused(qa) && req->fmt == CTL_FMT_TEXT) {
		ctl_qact_why(why, sizeof(why), &qa->req, &r[0]);
		ctl_req_fail(req, 1, "%s %s: %s",
		    bw_qact_op_name((int)qa->req.op), r[0].qid, why);
		return;
	}
	ctl_req_done(req);
}

/* QUEUE_ACTION_ROW, QUEUE_ACTION_END from queued. */
static void
ctl_qact_msg(struct ctl_req *req, struct bw_peer *peer, struct bw_imsg *imsg)
{
	struct ctl_qact			*qa = req->priv;
	struct bw_queue_action_row	 row;

	if (imsg->hdr.type == BW_IMSG_QUEUE_ACTION_ROW) {
		ctl_payload(&row, sizeof(row), imsg);
		row.qid[sizeof(row.qid) - 1] = '\0';
		row.sender[sizeof(row.sender) - 1] = '\0';
		row.who[sizeof(row.who) - 1] = '\0';
		if (row.result >= BW_QACT_RESULT__COUNT)
			row.result = BW_QACT_ERROR;
		ctl_rows_add(&qa->rows, &row);
		return;
	}
	if (imsg->hdr.type != BW_IMSG_QUEUE_ACTION_END) {
		log_debug("late %s for request %u",
		    bw_imsg_type_name(imsg->hdr.type), req->id);
		return;
	}
	ctl_payload(&qa->end, sizeof(qa->end), imsg);
	ctl_qact_end(req);
}

/* The deadline passed: what queued did so far stays done. */
static void
ctl_qact_timeout(struct ctl_req *req)
{
	ctl_env->c_requests_timeout++;
	ctl_req_fail(req, 1, "queued did not finish within the time allowed "
	    "(ctl_timeout; ctl_verify_timeout for walks); what it did stays "
	    "done: see bwctl show held");
}

static void
ctl_qact_free(void *arg)
{
	struct ctl_qact	*qa = arg;

	ctl_rows_free(&qa->rows);
}

const struct ctl_cmd_ops ctl_qact_ops = {
	.privsz = sizeof(struct ctl_qact),
	.parse = ctl_qact_parse,
	.start = ctl_qact_start,
	.on_imsg = ctl_qact_msg,
	.render = ctl_qact_render,
	.timeout = ctl_qact_timeout,
	.daemon_gone = ctl_req_queued_gone,
	.free = ctl_qact_free,
};
