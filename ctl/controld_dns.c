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
#include "ctl_json.h"
#include "controld.h"

/* The connected dnscached, or fail the request; NULL then. */
static struct bw_peer *
ctl_dns_peer(struct ctl_req *req)
{
	struct ctl_daemon	*d;

	if ((d = ctl_daemon_find_role(BW_ROLE_DNSCACHED)) == NULL) {
		ctl_req_fail(req, 1, "dnscached is not running (not connected "
		    "to controld)");
		return NULL;
	}
	return d->peer;
}

void
ctl_dns_show_start(struct ctl_req *req)
{
	struct bw_peer	*peer;

	if ((peer = ctl_dns_peer(req)) == NULL)
		return;
	if (bw_peer_send(peer, BW_IMSG_STATUS_REQ, req->id, -1, NULL, 0) == -1)
		ctl_req_fail(req, 1, "cannot send the request to dnscached");
}

void
ctl_dns_flush_start(struct ctl_req *req)
{
	struct bw_peer	*peer;

	if ((peer = ctl_dns_peer(req)) == NULL)
		return;
	if (bw_peer_send(peer, BW_IMSG_DNS_FLUSH, req->id, -1, NULL, 0) == -1)
		ctl_req_fail(req, 1, "cannot send the request to dnscached");
}

/* dnscached's STATUS for `show dns`. */
void
ctl_dns_status(struct ctl_req *req, const struct bw_status *st)
{
	struct ctl_json	 j;
	char		 name[BW_NAME_MAX * 4 + 1];
	size_t		 i;

	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_int(&j, "pid", st->pid);
		ctl_json_int(&j, "started", st->started);
		ctl_json_obj_open(&j, "counters");
		for (i = 0; i < st->ncounters; i++) {
			bw_imsg_str(name, sizeof(name), st->counters[i].name,
			    sizeof(st->counters[i].name));
			ctl_json_uint(&j, name, st->counters[i].value);
		}
		ctl_json_obj_close(&j);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
	} else {
		evbuffer_add_printf(req->out, "dnscached pid %u\n", st->pid);
		for (i = 0; i < st->ncounters; i++) {
			log_escape(name, sizeof(name), st->counters[i].name,
			    strnlen(st->counters[i].name,
			    sizeof(st->counters[i].name)));
			evbuffer_add_printf(req->out, "%-20s %" PRIu64 "\n",
			    name, st->counters[i].value);
		}
	}
	ctl_req_finish(req, 0);
}

/* DNS_FLUSH_DONE for `dns flush`. */
void
ctl_dns_msg(struct ctl_req *req, struct bw_imsg *imsg)
{
	struct bw_dns_flush_done	 d;
	struct ctl_json			 j;

	if (req->kind != CTL_REQ_DNS_FLUSH ||
	    imsg->hdr.type != BW_IMSG_DNS_FLUSH_DONE) {
		ctl_req_fail(req, 1, "unexpected answer from dnscached");
		return;
	}
	memset(&d, 0, sizeof(d));
	memcpy(&d, imsg->data, imsg->datalen < sizeof(d) ? imsg->datalen :
	    sizeof(d));
	if (req->json) {
		ctl_json_init(&j, req->out);
		ctl_json_obj_open(&j, NULL);
		ctl_json_uint(&j, "flushed", d.flushed);
		ctl_json_obj_close(&j);
		ctl_json_end(&j);
	} else
		evbuffer_add_printf(req->out, "dns cache flushed: %" PRIu64
		    " entries\n", d.flushed);
	log_info("dns cache flushed by bwctl entries=%" PRIu64, d.flushed);
	ctl_req_finish(req, 0);
}

void
ctl_dns_timeout(struct ctl_req *req)
{
	ctl_env->c_requests_timeout++;
	log_warnx("ctl request id=%u: dnscached did not answer within %lld ms",
	    req->id, BW_LIMIT(ctl_env->d.cfg, LIM_CTL_TIMEOUT));
	ctl_req_fail(req, 1, "dnscached did not answer within %lld ms",
	    BW_LIMIT(ctl_env->d.cfg, LIM_CTL_TIMEOUT));
}

/* dnscached disconnected: its requests fail now. */
void
ctl_dns_gone(void)
{
	struct ctl_req	*req, *next;

	for (req = TAILQ_FIRST(&ctl_env->reqs); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (req->kind == CTL_REQ_DNS_SHOW ||
		    req->kind == CTL_REQ_DNS_FLUSH)
			ctl_req_fail(req, 1, "dnscached went away while "
			    "answering; try again");
	}
}
