/*
 * bwctl queue verify | repair | quarantine | release QID | delete QID:
 * forwarded to queued (QUEUE_VERIFY_REQ), whose rows (QUEUE_VERIFY_ROW)
 * are collected until QUEUE_VERIFY_END and rendered as a table or JSON.
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
#include "ctl_json.h"
#include "controld.h"

#define CTL_VERIFY_ESC_MAX	(BW_VERIFY_TEXT_MAX * 4 + 1)

static const char *const ctl_verify_names[BW_VERIFY_OP__COUNT] = {
	"verify", "repair", "quarantine", "release", "delete"
};

void
ctl_verify_start(struct ctl_req *req, uint32_t op, const char *qid)
{
	struct bw_queue_verify_req	 m;
	struct ctl_daemon		*d;

	req->vop = op;
	strlcpy(req->qid, qid, sizeof(req->qid));
	if (op == BW_VERIFY_CHECK || op == BW_VERIFY_REPAIR)
		ctl_req_arm(req, (uint64_t)BW_LIMIT(ctl_env->d.cfg,
		    LIM_CTL_VERIFY_TIMEOUT));
	if ((d = ctl_daemon_find_role(BW_ROLE_QUEUED)) == NULL) {
		ctl_req_fail(req, 1, "queued is not running (not connected "
		    "to controld)");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.op = op;
	strlcpy(m.qid, qid, sizeof(m.qid));
	if (bw_peer_send(d->peer, BW_IMSG_QUEUE_VERIFY_REQ, req->id, -1, &m,
	    sizeof(m)) == -1)
		ctl_req_fail(req, 1, "cannot send the request to queued");
}

static int
ctl_verify_qid_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct qids of the rows of one kind, sorted, as a JSON array. */
static void
ctl_verify_qids(struct ctl_json *j, const char *key,
    const struct ctl_rows *rows, uint32_t kind)
{
	const struct bw_queue_verify_row	*r = rows->v;
	const char				**v;
	size_t					 i, n = 0;

	ctl_json_arr_open(j, key);
	if (rows->n > 0 && (v = calloc(rows->n, sizeof(*v))) != NULL) {
		for (i = 0; i < rows->n; i++)
			if (r[i].kind == kind)
				v[n++] = r[i].qid;
		qsort(v, n, sizeof(*v), ctl_verify_qid_cmp);
		for (i = 0; i < n; i++)
			if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
				ctl_json_str(j, NULL, v[i]);
		free(v);
	}
	ctl_json_arr_close(j);
}

static void
ctl_verify_render_json(struct ctl_req *req, const struct bw_queue_verify_end
    *e, int damage)
{
	const struct bw_queue_verify_row	*r = req->vrows.v;
	struct ctl_json				 j;
	size_t					 i;

	ctl_json_init(&j, req->out);
	ctl_json_obj_open(&j, NULL);
	ctl_json_str(&j, "op", ctl_verify_names[req->vop]);
	if (req->vop == BW_VERIFY_LIST) {
		ctl_json_arr_open(&j, "quarantine");
		for (i = 0; i < req->vrows.n; i++) {
			ctl_json_obj_open(&j, NULL);
			ctl_json_str(&j, "qid", r[i].qid);
			ctl_json_int(&j, "when", r[i].when);
			ctl_json_str(&j, "why", r[i].what);
			ctl_json_obj_close(&j);
		}
		ctl_json_arr_close(&j);
		ctl_json_uint(&j, "count", req->vrows.n);
	} else {
		ctl_json_bool(&j, "clean", !damage);
		ctl_json_uint(&j, "messages", e->messages);
		ctl_json_uint(&j, "pieces", e->pieces);
		ctl_json_uint(&j, "bytes", e->bytes);
		ctl_json_uint(&j, "records", e->records);
		ctl_json_uint(&j, "damaged", e->damaged);
		ctl_json_uint(&j, "orphans", e->orphans);
		ctl_json_uint(&j, "quarantined", e->quarantined);
		ctl_json_uint(&j, "skipped", e->skipped);
		ctl_verify_qids(&j, "damaged_qids", &req->vrows,
		    BW_VROW_DAMAGED);
		ctl_verify_qids(&j, "orphan_qids", &req->vrows,
		    BW_VROW_ORPHAN);
		ctl_verify_qids(&j, "quarantined_qids", &req->vrows,
		    BW_VROW_QUARANTINED);
		ctl_json_arr_open(&j, "rows");
		for (i = 0; i < req->vrows.n; i++) {
			ctl_json_obj_open(&j, NULL);
			ctl_json_str(&j, "qid", r[i].qid);
			ctl_json_str(&j, "kind",
			    bw_verify_row_kind_name((int)r[i].kind));
			ctl_json_str(&j, "what", r[i].what);
			ctl_json_obj_close(&j);
		}
		ctl_json_arr_close(&j);
	}
	ctl_json_bool(&j, "truncated", req->vrows.truncated);
	ctl_json_obj_close(&j);
	ctl_json_end(&j);
}

static void
ctl_verify_render_text(struct ctl_req *req, const struct bw_queue_verify_end
    *e, int damage)
{
	const struct bw_queue_verify_row	*r = req->vrows.v;
	char					 esc[CTL_VERIFY_ESC_MAX];
	char					 tbuf[64];
	size_t					 i;

	if (req->vop == BW_VERIFY_LIST) {
		if (req->vrows.n == 0) {
			evbuffer_add_printf(req->out, "the quarantine is "
			    "empty\n");
			return;
		}
		evbuffer_add_printf(req->out, "%-16s  %-19s  %s\n", "QUEUE ID",
		    "QUARANTINED", "WHY");
		for (i = 0; i < req->vrows.n; i++) {
			ctl_fmt_time(tbuf, sizeof(tbuf), r[i].when);
			evbuffer_add_printf(req->out, "%-16s  %-19s  %s\n",
			    r[i].qid, tbuf, log_escape(esc, sizeof(esc),
			    r[i].what, strlen(r[i].what)));
		}
		evbuffer_add_printf(req->out, "%zu messages in the quarantine "
		    "(bwctl queue release QID | delete QID)\n", req->vrows.n);
		return;
	}
	if (req->vrows.n > 0)
		evbuffer_add_printf(req->out, "%-16s  %-11s  %s\n", "QUEUE ID",
		    "FOUND", "WHAT");
	for (i = 0; i < req->vrows.n; i++)
		evbuffer_add_printf(req->out, "%-16s  %-11s  %s\n", r[i].qid,
		    bw_verify_row_kind_name((int)r[i].kind),
		    log_escape(esc, sizeof(esc), r[i].what,
		    strlen(r[i].what)));
	if (req->vrows.truncated)
		evbuffer_add_printf(req->out, "(list truncated at %d rows)\n",
		    CTL_VERIFY_ROWS_MAX);
	evbuffer_add_printf(req->out, "%s: %" PRIu64 " messages, %" PRIu64
	    " body pieces (%" PRIu64 " bytes), %" PRIu64 " records checked; "
	    "%" PRIu64 " damaged messages, %" PRIu64 " orphan records",
	    ctl_verify_names[req->vop], e->messages, e->pieces, e->bytes,
	    e->records, e->damaged, e->orphans);
	if (req->vop == BW_VERIFY_REPAIR)
		evbuffer_add_printf(req->out, "; %" PRIu64 " quarantined, %"
		    PRIu64 " left in place (see bwctl queue quarantine)",
		    e->quarantined, e->skipped);
	else if (e->quarantined > 0)
		evbuffer_add_printf(req->out, "; %" PRIu64 " in the "
		    "quarantine, not checked", e->quarantined);
	evbuffer_add_printf(req->out, "%s\n", damage ? "" : " -- clean");
}

static void
ctl_verify_end(struct ctl_req *req, const struct bw_queue_verify_end *e)
{
	int	 damage;

	switch (e->status) {
	case BW_VERIFY_DONE:
		break;
	case BW_VERIFY_BUSY:
		ctl_req_fail(req, 1, "a queue verify or repair is already "
		    "running; try again when it is done");
		return;
	case BW_VERIFY_NOTFOUND:
		ctl_req_fail(req, 1, "message %s is not in the quarantine",
		    req->qid);
		return;
	default:
		ctl_req_fail(req, 1, "queued could not %s (see its log)",
		    ctl_verify_names[req->vop]);
		return;
	}
	if (req->vop == BW_VERIFY_RELEASE || req->vop == BW_VERIFY_DELETE) {
		if (req->json) {
			struct ctl_json	 j;

			ctl_json_init(&j, req->out);
			ctl_json_obj_open(&j, NULL);
			ctl_json_str(&j, "qid", req->qid);
			ctl_json_str(&j, "done", ctl_verify_names[req->vop]);
			ctl_json_obj_close(&j);
			ctl_json_end(&j);
		} else
			evbuffer_add_printf(req->out, "%s %sd\n", req->qid,
			    ctl_verify_names[req->vop]);
		ctl_req_finish(req, 0);
		return;
	}
	damage = req->vop == BW_VERIFY_CHECK ? e->damaged + e->orphans > 0 :
	    req->vop == BW_VERIFY_REPAIR ? e->skipped > 0 : 0;
	if (req->json)
		ctl_verify_render_json(req, e, damage);
	else
		ctl_verify_render_text(req, e, damage);
	ctl_req_finish(req, damage ? CTL_EXIT_DAMAGE : 0);
}

void
ctl_verify_msg(struct ctl_req *req, struct bw_imsg *imsg)
{
	struct bw_queue_verify_row	 row;
	struct bw_queue_verify_end	 end;

	if (imsg->hdr.type == BW_IMSG_QUEUE_VERIFY_ROW) {
		memcpy(&row, imsg->data, sizeof(row));
		row.qid[sizeof(row.qid) - 1] = '\0';
		row.what[sizeof(row.what) - 1] = '\0';
		ctl_rows_add(&req->vrows, &row);
		return;
	}
	memcpy(&end, imsg->data, sizeof(end));
	ctl_verify_end(req, &end);
}
