/*
 * bwctl queue verify | repair | quarantine | release QID | delete QID:
 * forwarded to queued (QUEUE_VERIFY_REQ), whose rows (QUEUE_VERIFY_ROW)
 * are collected until QUEUE_VERIFY_END and written as a table (text or
 * JSON).
 * verify and repair read the whole spool, so their deadline is
 * ctl_verify_timeout rather than ctl_timeout.  Exit status: 0 clean (or
 * done), 3 (CTL_EXIT_DAMAGE) when verify found damage or repair left a
 * damaged message in place, 1 when the command could not run.
 *
 * Trust: queued's rows carry text built from the store (gateway and
 * domain names came from the Internet); each string is terminated on
 * receipt and escaped on output.  Rows are capped (CTL_VERIFY_ROWS_MAX).
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"

#define CTL_VERIFY_ESC_MAX	(BW_VERIFY_TEXT_MAX * 4 + 1)

static const char *const ctl_verify_names[BW_VERIFY_OP__COUNT] = {
	"verify", "repair", "quarantine", "release", "delete"
};

struct ctl_verify_priv {
	uint32_t			 vop;	/* enum bw_verify_op */
	char				 qid[BW_QID_LEN + 1];
	struct ctl_rows			 rows;	/* bw_queue_verify_row */
	struct bw_queue_verify_end	 end;
};

/* queue verify | repair | quarantine | release QID | delete QID */
static int
ctl_verify_parse(void *arg, int argc, char *argv[], struct ctl_parse *pc)
{
	struct ctl_verify_priv	*p = arg;
	char			 e1[64];
	uint32_t		 op;

	for (op = 0; op < BW_VERIFY_OP__COUNT; op++)
		if (strcmp(argv[1], ctl_verify_names[op]) == 0)
			break;
	if (op == BW_VERIFY_OP__COUNT) {
		snprintf(pc->err, sizeof(pc->err), "usage: queue verify | "
		    "repair | quarantine | release QID | delete QID");
		return -1;
	}
	p->vop = op;
	if (argc == 3 && ctl_cmd_qid(argv[2], p->qid) == -1) {
		snprintf(pc->err, sizeof(pc->err), "invalid queue id '%s': %d "
		    "hex digits expected", log_escape(e1, sizeof(e1), argv[2],
		    strlen(argv[2])), BW_QID_LEN);
		return -1;
	}
	return 0;
}

static void
ctl_verify_start(struct ctl_req *req)
{
	struct ctl_verify_priv		*p = req->priv;
	struct bw_queue_verify_req	 m;

	ctl_rows_init(&p->rows, sizeof(struct bw_queue_verify_row),
	    CTL_VERIFY_ROWS_MAX);
	if (req->def->flags & CTL_CMD_LONG)
		ctl_req_arm(req, (uint64_t)BW_LIMIT(ctl_env->d.cfg,
		    LIM_CTL_VERIFY_TIMEOUT));
	memset(&m, 0, sizeof(m));
	m.op = p->vop;
	strlcpy(m.qid, p->qid, sizeof(m.qid));
	if (p->vop == BW_VERIFY_RELEASE || p->vop == BW_VERIFY_DELETE ||
	    p->vop == BW_VERIFY_REPAIR)
		log_info("queue %s%s%s by %s", ctl_verify_names[p->vop],
		    p->qid[0] ? " " : "", p->qid, req->who.name);
	ctl_req_send(req, BW_ROLE_QUEUED, BW_IMSG_QUEUE_VERIFY_REQ, &m,
	    sizeof(m));
}

static void
ctl_verify_free(void *arg)
{
	struct ctl_verify_priv	*p = arg;

	ctl_rows_free(&p->rows);
}

static int
ctl_verify_qid_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct qids of the rows of one kind, sorted, as a list. */
static void
ctl_verify_qids(struct ctl_out *o, const char *key,
    const struct ctl_rows *rows, uint32_t kind)
{
	const struct bw_queue_verify_row	*r = rows->v;
	const char				**v;
	size_t					 i, n = 0;

	ctl_out_list_open(o, key);
	if (rows->n > 0 && (v = calloc(rows->n, sizeof(*v))) != NULL) {
		for (i = 0; i < rows->n; i++)
			if (r[i].kind == kind)
				v[n++] = r[i].qid;
		qsort(v, n, sizeof(*v), ctl_verify_qid_cmp);
		for (i = 0; i < n; i++)
			if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
				ctl_out_str(o, NULL, v[i]);
		free(v);
	}
	ctl_out_list_close(o);
}

static const struct ctl_col ctl_quar_cols[] = {
	{ "qid", "QUEUE ID", CTL_T_STR, CTL_COL_BOTH, 16, NULL },
	{ "when", "QUARANTINED", CTL_T_TIME, CTL_COL_BOTH, 19, NULL },
	{ "why", "WHY", CTL_T_STR, CTL_COL_BOTH, 0, NULL },
};
static const struct ctl_table ctl_quar_table = { "quarantine",
    ctl_quar_cols, CTL_NCOLS(ctl_quar_cols), NULL };

static const struct ctl_col ctl_vrow_cols[] = {
	{ "qid", "QUEUE ID", CTL_T_STR, CTL_COL_BOTH, 16, NULL },
	{ "kind", "FOUND", CTL_T_STR, CTL_COL_BOTH, 11, NULL },
	{ "what", "WHAT", CTL_T_STR, CTL_COL_BOTH, 0, NULL },
};
static const struct ctl_table ctl_vrow_table = { "rows", ctl_vrow_cols,
    CTL_NCOLS(ctl_vrow_cols), NULL };

static void
ctl_verify_quarantine(struct ctl_out *o, const struct ctl_verify_priv *p)
{
	const struct bw_queue_verify_row	*r = p->rows.v;
	size_t					 i;

	ctl_out_table_open(o, &ctl_quar_table);
	ctl_out_table_empty(o, "the quarantine is empty");
	for (i = 0; i < p->rows.n; i++) {
		ctl_out_row_open(o);
		ctl_out_str(o, "qid", r[i].qid);
		ctl_out_int(o, "when", r[i].when);
		ctl_out_str(o, "why", r[i].what);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	ctl_out_uint(o, "count", p->rows.n);
	if (p->rows.n > 0)
		ctl_out_note(o, "%zu messages in the quarantine (bwctl queue "
		    "release QID | delete QID)", p->rows.n);
}

/* verify and repair: the summary in one line of text. */
static void
ctl_verify_summary(struct ctl_out *o, const struct ctl_verify_priv *p,
    int damage)
{
	const struct bw_queue_verify_end	*e = &p->end;
	char					 line[512], more[160];

	snprintf(line, sizeof(line), "%s: %" PRIu64 " messages, %" PRIu64
	    " body pieces (%" PRIu64 " bytes), %" PRIu64 " records checked; "
	    "%" PRIu64 " damaged messages, %" PRIu64 " orphan records",
	    ctl_verify_names[p->vop], e->messages, e->pieces, e->bytes,
	    e->records, e->damaged, e->orphans);
	more[0] = '\0';
	if (p->vop == BW_VERIFY_REPAIR)
		snprintf(more, sizeof(more), "; %" PRIu64 " quarantined, %"
		    PRIu64 " left in place (see bwctl queue quarantine)",
		    e->quarantined, e->skipped);
	else if (e->quarantined > 0)
		snprintf(more, sizeof(more), "; %" PRIu64 " in the "
		    "quarantine, not checked", e->quarantined);
	ctl_out_note(o, "%s%s%s", line, more, damage ? "" : " -- clean");
}

static void
ctl_verify_report(struct ctl_out *o, const struct ctl_verify_priv *p,
    int damage)
{
	const struct bw_queue_verify_end	*e = &p->end;
	const struct bw_queue_verify_row	*r = p->rows.v;
	size_t					 i;

	ctl_out_bool(o, "clean", !damage);
	ctl_out_uint(o, "messages", e->messages);
	ctl_out_uint(o, "pieces", e->pieces);
	ctl_out_uint(o, "bytes", e->bytes);
	ctl_out_uint(o, "records", e->records);
	ctl_out_uint(o, "damaged", e->damaged);
	ctl_out_uint(o, "orphans", e->orphans);
	ctl_out_uint(o, "quarantined", e->quarantined);
	ctl_out_uint(o, "skipped", e->skipped);
	ctl_verify_qids(o, "damaged_qids", &p->rows, BW_VROW_DAMAGED);
	ctl_verify_qids(o, "orphan_qids", &p->rows, BW_VROW_ORPHAN);
	ctl_verify_qids(o, "quarantined_qids", &p->rows,
	    BW_VROW_QUARANTINED);
	ctl_out_table_open(o, &ctl_vrow_table);
	ctl_out_table_empty(o, "%s", "");
	for (i = 0; i < p->rows.n; i++) {
		ctl_out_row_open(o);
		ctl_out_str(o, "qid", r[i].qid);
		ctl_out_str(o, "kind", bw_verify_row_kind_name((int)r[i].kind));
		ctl_out_str(o, "what", r[i].what);
		ctl_out_row_close(o);
	}
	ctl_out_table_close(o);
	if (p->rows.truncated)
		ctl_out_note(o, "(list truncated at %d rows)",
		    CTL_VERIFY_ROWS_MAX);
	ctl_verify_summary(o, p, damage);
}

static int
ctl_verify_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_verify_priv	*p = req->priv;
	const struct bw_queue_verify_end *e = &p->end;
	int			 damage;

	ctl_out_obj_open(o, NULL);
	if (p->vop == BW_VERIFY_RELEASE || p->vop == BW_VERIFY_DELETE) {
		ctl_out_str(o, "qid", p->qid);
		ctl_out_str(o, "done", ctl_verify_names[p->vop]);
		ctl_out_note(o, "%s %sd", p->qid, ctl_verify_names[p->vop]);
		ctl_out_obj_close(o);
		return 0;
	}
	damage = p->vop == BW_VERIFY_CHECK ? e->damaged + e->orphans > 0 :
	    p->vop == BW_VERIFY_REPAIR ? e->skipped > 0 : 0;
	ctl_out_str(o, "op", ctl_verify_names[p->vop]);
	if (p->vop == BW_VERIFY_LIST)
		ctl_verify_quarantine(o, p);
	else
		ctl_verify_report(o, p, damage);
	ctl_out_bool(o, "truncated", p->rows.truncated);
	ctl_out_obj_close(o);
	return damage ? CTL_EXIT_DAMAGE : 0;
}

static void
ctl_verify_end(struct ctl_req *req)
{
	struct ctl_verify_priv	*p = req->priv;

	switch (p->end.status) {
	case BW_VERIFY_DONE:
		ctl_req_done(req);
		return;
	case BW_VERIFY_BUSY:
		ctl_req_fail(req, 1, "a queue verify or repair is already "
		    "running; try again when it is done");
		return;
	case BW_VERIFY_NOTFOUND:
		ctl_req_fail(req, 1, "message %s is not in the quarantine",
		    p->qid);
		return;
	default:
		ctl_req_fail(req, 1, "queued could not %s (see its log)",
		    ctl_verify_names[p->vop]);
		return;
	}
}

static void
ctl_verify_msg(struct ctl_req *req, struct bw_peer *peer,
    struct bw_imsg *imsg)
{
	struct ctl_verify_priv		*p = req->priv;
	struct bw_queue_verify_row	 row;

	switch (imsg->hdr.type) {
	case BW_IMSG_QUEUE_VERIFY_ROW:
		ctl_payload(&row, sizeof(row), imsg);
		row.qid[sizeof(row.qid) - 1] = '\0';
		row.what[sizeof(row.what) - 1] = '\0';
		ctl_rows_add(&p->rows, &row);
		return;
	case BW_IMSG_QUEUE_VERIFY_END:
		ctl_payload(&p->end, sizeof(p->end), imsg);
		ctl_verify_end(req);
		return;
	default:
		log_debug("late %s for request %u",
		    bw_imsg_type_name(imsg->hdr.type), req->id);
		return;
	}
}

static void
ctl_verify_timeout(struct ctl_req *req)
{
	ctl_env->c_requests_timeout++;
	ctl_req_fail(req, 1, "queued did not finish within the time allowed "
	    "(ctl_verify_timeout for verify and repair)");
}

const struct ctl_cmd_ops ctl_verify_ops = {
	.privsz = sizeof(struct ctl_verify_priv),
	.parse = ctl_verify_parse,
	.start = ctl_verify_start,
	.on_imsg = ctl_verify_msg,
	.render = ctl_verify_render,
	.timeout = ctl_verify_timeout,
	.daemon_gone = ctl_req_queued_gone,
	.free = ctl_verify_free,
};
