/*
 * Requests answered by dnscached: `show dns` (its STATUS counters, one per
 * line, or a JSON object) and `dns flush` (DNS_FLUSH, answered with the
 * number of cache entries removed).  The request id travels in
 * hdr.peerid; the request has the ctl_timeout deadline.
 *
 * Trust: counter names come from dnscached and are escaped on output.
 */
#include "bw_autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "peer.h"
#include "util.h"
#include "controld.h"

/* show dns: dnscached's STATUS, kept until it is written. */
struct ctl_dns_priv {
	struct bw_status	 st;
	uint64_t		 flushed;	/* dns flush */
};

static void
ctl_dns_show_start(struct ctl_req *req)
{
	ctl_req_send(req, BW_ROLE_DNSCACHED, BW_IMSG_STATUS_REQ, NULL, 0);
}

static void
ctl_dns_flush_start(struct ctl_req *req)
{
	ctl_req_send(req, BW_ROLE_DNSCACHED, BW_IMSG_DNS_FLUSH, NULL, 0);
}

/* dnscached's STATUS (made whole by ctl_status_parse) for `show dns`. */
static void
ctl_dns_show_msg(struct ctl_req *req, struct bw_peer *peer,
    struct bw_imsg *imsg)
{
	struct ctl_dns_priv	*p = req->priv;

	if (imsg->hdr.type != BW_IMSG_STATUS ||
	    bw_peer_role(peer) != BW_ROLE_DNSCACHED) {
		log_debug("late %s for request %u",
		    bw_imsg_type_name(imsg->hdr.type), req->id);
		return;
	}
	memcpy(&p->st, imsg->data, sizeof(p->st));
	ctl_req_done(req);
}

static int
ctl_dns_show_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_dns_priv	*p = req->priv;
	const struct bw_status	*st = &p->st;
	char			 name[BW_NAME_MAX * 4 + 1];
	size_t			 i;

	ctl_out_obj_open(o, NULL);
	ctl_out_int(o, "pid", st->pid);
	ctl_out_int(o, "started", st->started);
	ctl_out_obj_open(o, "counters");
	for (i = 0; i < st->ncounters; i++)
		ctl_out_uint(o, st->counters[i].name, st->counters[i].value);
	ctl_out_obj_close(o);
	ctl_out_note(o, "dnscached pid %u", st->pid);
	for (i = 0; i < st->ncounters; i++)
		ctl_out_note(o, "%-20s %" PRIu64, log_escape(name,
		    sizeof(name), st->counters[i].name,
		    strlen(st->counters[i].name)), st->counters[i].value);
	ctl_out_obj_close(o);
	return 0;
}

/* DNS_FLUSH_DONE for `dns flush`. */
static void
ctl_dns_flush_msg(struct ctl_req *req, struct bw_peer *peer,
    struct bw_imsg *imsg)
{
	struct ctl_dns_priv		*p = req->priv;
	struct bw_dns_flush_done	 d;

	if (imsg->hdr.type != BW_IMSG_DNS_FLUSH_DONE) {
		ctl_req_fail(req, 1, "unexpected answer from dnscached");
		return;
	}
	ctl_payload(&d, sizeof(d), imsg);
	p->flushed = d.flushed;
	log_info("dns cache flushed by %s entries=%" PRIu64, req->who.name,
	    d.flushed);
	ctl_req_done(req);
}

static int
ctl_dns_flush_render(struct ctl_req *req, struct ctl_out *o)
{
	struct ctl_dns_priv	*p = req->priv;

	ctl_out_obj_open(o, NULL);
	ctl_out_uint(o, "flushed", p->flushed);
	ctl_out_note(o, "dns cache flushed: %" PRIu64 " entries", p->flushed);
	ctl_out_obj_close(o);
	return 0;
}

static void
ctl_dns_timeout(struct ctl_req *req)
{
	ctl_env->c_requests_timeout++;
	log_warnx("ctl request id=%u: dnscached did not answer within %lld ms",
	    req->id, BW_LIMIT(ctl_env->d.cfg, LIM_CTL_TIMEOUT));
	ctl_req_fail(req, 1, "dnscached did not answer within %lld ms",
	    BW_LIMIT(ctl_env->d.cfg, LIM_CTL_TIMEOUT));
}

/* dnscached disconnected: its requests fail now. */
static void
ctl_dns_gone(struct ctl_req *req, int role)
{
	if (role == BW_ROLE_DNSCACHED)
		ctl_req_fail(req, 1, "dnscached went away while answering; "
		    "try again");
}

const struct ctl_cmd_ops ctl_dns_show_ops = {
	.privsz = sizeof(struct ctl_dns_priv),
	.start = ctl_dns_show_start,
	.on_imsg = ctl_dns_show_msg,
	.render = ctl_dns_show_render,
	.timeout = ctl_dns_timeout,
	.daemon_gone = ctl_dns_gone,
};

const struct ctl_cmd_ops ctl_dns_flush_ops = {
	.privsz = sizeof(struct ctl_dns_priv),
	.start = ctl_dns_flush_start,
	.on_imsg = ctl_dns_flush_msg,
	.render = ctl_dns_flush_render,
	.timeout = ctl_dns_timeout,
	.daemon_gone = ctl_dns_gone,
};
