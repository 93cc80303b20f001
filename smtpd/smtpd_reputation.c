/*
 * Reputation of the connecting address (issue 11, "Reputation"): at
 * connect, beside the reverse DNS lookup (smtpd_dns.c), one A query per
 * zone of the session's configuration (reputation_zone, dns_list and the
 * zones sender groups name, config_reputation.c) through dnscached, which
 * caches and coalesces them: the address's reversed octets (IPv4) or
 * nibbles (IPv6), then the zone (RFC 5782 2.1, 2.4).  Every query has the
 * same deadline, smtpd_reputation_timeout from connect (the budget); one
 * that has not answered by then is FAILED and counted in rep_timeouts.
 * When every zone has settled, the scoring zones' answers go to the
 * combiner (smtpd_score.c) and the session hears it through
 * smtpd_session_lookups_done() (smtpd_admit.c); the answers stay, per zone, for the
 * sender groups' dns_list criterion (smtpd_reputation_listed()).
 *
 * Default per listener ("reputation yes|no"), as reverse_dns: on for
 * public listeners but not for loopback clients, off for private ones.
 *
 * Trust: none in the answers.  dnscached has parsed the packet (a garbled
 * or truncated one never reaches us: it waits for a good one, retries
 * over TCP, or answers SERVFAIL; a CNAME chain it follows only so far,
 * then says CNAME_LOOP); the client has checked the record count against
 * the frame.  Here each record must be an A record whose text parses as
 * an IPv4 address in 127.0.0.0/8, not one of RFC 5782's error answers
 * (127.255.255.0/24), and for a reputation_zone a score that decodes;
 * at most SMTPD_SCORE_ANSWERS_MAX are kept per zone.  Every other record
 * is dropped, counted in rep_hostile and named in one log line per zone
 * lookup; a CNAME loop is counted there too and the zone is FAILED.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns_client.h"
#include "log.h"
#include "util.h"
#include "smtpd.h"

#define REP_LOOPBACK_NET	0x7f000000u	/* 127.0.0.0/8 */
#define REP_LOOPBACK_MASK	0xff000000u
#define REP_ERROR_NET		0x7fffff00u	/* 127.255.255.0/24 */
#define REP_ERROR_MASK		0xffffff00u
#define REP_LIST_FIRST		0x7f000002u	/* 127.0.0.2: below it no
						   list answer (RFC 5782 5) */

/*
 * Is the lookup wanted for this client on this listener?  As reverse DNS
 * (smtpd_rdns_wanted): reputation yes: always; no: never; not set: on
 * public listeners, except for loopback clients (this host).  Never
 * without zones.
 */
int
smtpd_reputation_wanted(const struct bw_listener_conf *lc,
    const struct sockaddr_storage *ss)
{
	unsigned char	 bin[16];
	int		 family;
	static const unsigned char loop6[16] = { [15] = 1 };

	if (lc->reputation >= 0)
		return lc->reputation;
	if (!lc->public || smtpd_rdns_addr(ss, &family, bin) == -1)
		return 0;
	if (family == AF_INET)
		return bin[0] != 127;
	return memcmp(bin, loop6, sizeof(loop6)) != 0;
}

int
smtpd_reputation_pending(const struct smtpd_session *s)
{
	return s->rep.phase == SMTPD_REPUTE_PENDING;
}

/* Why an answer of a zone of this kind is not kept; NULL: keep it. */
static const char *
smtpd_rep_answer_bad(enum bw_rep_kind kind, uint32_t a)
{
	int	 t;

	if ((a & REP_LOOPBACK_MASK) != REP_LOOPBACK_NET)
		return "outside 127.0.0.0/8";
	if ((a & REP_ERROR_MASK) == REP_ERROR_NET)
		return "an RFC 5782 error answer";
	if (kind == BW_REP_SCORE && smtpd_score_decode(a, &t) == -1)
		return "not a score";
	return NULL;
}

/* Every zone settled: the score, then the session goes on. */
static void
smtpd_rep_finish(struct smtpd_session *s)
{
	struct smtpd_rep_source	 src[BW_REP_ZONES_MAX];
	const struct bw_rep_zone *cz;
	struct smtpd_rep_zone	*z;
	char			 buf[16];
	size_t			 i, n = 0;

	for (i = 0; i < s->rep.nzones && n < BW_REP_ZONES_MAX; i++) {
		cz = config_rep_zone_at(s->cfg, i);
		z = &s->rep.z[i];
		if (cz == NULL || cz->kind == BW_REP_QUERY)
			continue;
		memset(&src[n], 0, sizeof(src[n]));
		src[n].kind = cz->kind == BW_REP_SCORE ? SMTPD_REP_ZONE :
		    SMTPD_REP_LIST;
		src[n].weight = cz->weight;
		src[n].returns = cz->returns;
		src[n].nreturns = (size_t)cz->nreturns;
		src[n].state = z->state;
		memcpy(src[n].answers, z->answers, sizeof(z->answers));
		src[n].nanswers = z->nanswers;
		n++;
	}
	smtpd_score_combine(src, n, &s->score);
	s->rep.phase = SMTPD_REPUTE_DONE;
	log_debug("session=%llu addr=%s reputation score=%s listed=%d "
	    "ignored=%d", (unsigned long long)s->id, s->addr,
	    smtpd_score_text(&s->score, buf, sizeof(buf)), s->score.listed,
	    s->score.ignored);
	smtpd_session_lookups_done(s);
}

/* A positive answer: keep the usable A records, count the rest. */
static void
smtpd_rep_answer_keep(struct smtpd_session *s, size_t zi,
    const struct bw_rep_zone *cz, const struct bw_dns_result *res)
{
	struct smtpd_rep_zone	*z = &s->rep.z[zi];
	struct bw_dns_rr	 rr;
	struct in_addr		 in;
	const char		*why, *first_why = NULL;
	char			 first[BW_HOSTADDR_MAX] = "";
	uint32_t		 i, a;
	unsigned int		 bad = 0;

	for (i = 0; bw_dns_result_rr(res, i, &rr) == 0; i++) {
		if (rr.type != BW_DNS_T_A)
			continue;	/* dnscached gives only what we asked */
		a = 0;
		if ((rr.flags & BW_DNS_RRF_TRUNCATED) ||
		    inet_pton(AF_INET, rr.data, &in) != 1)
			why = "not an address";
		else if ((why = smtpd_rep_answer_bad(cz->kind,
		    a = ntohl(in.s_addr))) == NULL &&
		    z->nanswers >= SMTPD_SCORE_ANSWERS_MAX)
			why = "more records than are looked at";
		if (why == NULL) {
			z->answers[z->nanswers++] = a;
			continue;
		}
		if (bad++ == 0) {
			first_why = why;
			log_escape(first, sizeof(first), rr.data,
			    strnlen(rr.data, sizeof(rr.data)));
		}
	}
	if (res->flags & BW_DNS_ANSF_TRUNCATED) {
		/* dnscached cut the answer at BW_DNS_RR_MAX records */
		if (bad++ == 0)
			first_why = "more records than are looked at";
	}
	z->state = z->nanswers > 0 ? SMTPD_REP_FOUND : SMTPD_REP_NOTFOUND;
	if (z->nanswers > 0)
		s->env->c.rep_listed++;
	if (bad == 0)
		return;
	s->env->c.rep_hostile += bad;
	if (z->nanswers == 0)
		z->state = SMTPD_REP_FAILED;	/* only garbage: no answer */
	log_warnx("session=%llu addr=%s zone=%s: %u answer%s ignored "
	    "(%s%s%s), %zu kept", (unsigned long long)s->id, s->addr,
	    cz->name, bad, bad == 1 ? "" : "s", first[0] ? first : "",
	    first[0] ? ": " : "", first_why, z->nanswers);
}

static void
smtpd_rep_answer_cb(const struct bw_dns_result *res, void *arg)
{
	struct smtpd_rep_zone	*z = arg;
	struct smtpd_session	*s = z->s;
	const struct bw_rep_zone *cz;
	size_t			 zi = (size_t)(z - s->rep.z);

	z->req = NULL;
	s->rep.npending--;
	cz = config_rep_zone_at(s->cfg, zi);
	z->state = SMTPD_REP_FAILED;
	if (res->outcome == BW_DNSC_TIMEDOUT ||
	    (res->outcome == BW_DNSC_ANSWERED &&
	    res->status == BW_DNS_TIMEOUT)) {
		s->env->c.rep_timeouts++;
		log_debug("session=%llu addr=%s zone=%s: no answer within "
		    "the budget", (unsigned long long)s->id, s->addr,
		    cz->name);
	} else if (res->outcome == BW_DNSC_ANSWERED) {
		switch (res->status) {
		case BW_DNS_OK:
			smtpd_rep_answer_keep(s, zi, cz, res);
			break;
		case BW_DNS_NXDOMAIN:
		case BW_DNS_NODATA:
			z->state = SMTPD_REP_NOTFOUND;
			break;
		case BW_DNS_CNAME_LOOP:
			s->env->c.rep_hostile++;
			log_warnx("session=%llu addr=%s zone=%s: answer "
			    "ignored (a CNAME loop or too long a chain)",
			    (unsigned long long)s->id, s->addr, cz->name);
			break;
		default:	/* SERVFAIL, FORMERR: no answer */
			log_debug("session=%llu addr=%s zone=%s: %s",
			    (unsigned long long)s->id, s->addr, cz->name,
			    bw_dns_status_name(res->status));
			break;
		}
	}
	if (s->rep.npending == 0)
		smtpd_rep_finish(s);
}

/*
 * Start the lookups at connect; they may settle at once (not wanted, no
 * zones, dnscached down), and smtpd_session_lookups_done() runs either
 * way.
 */
void
smtpd_reputation_start(struct smtpd_session *s)
{
	struct smtpd_rep	*r = &s->rep;
	const struct bw_rep_zone *cz;
	char			 qname[BW_DOMAIN_MAX + 1];
	unsigned char		 bin[16];
	size_t			 i, n = config_rep_zone_count(s->cfg);
	int			 family;

	memset(r, 0, sizeof(*r));
	memset(&s->score, 0, sizeof(s->score));
	if (n == 0 || !smtpd_reputation_wanted(s->lconf, &s->ss) ||
	    smtpd_rdns_addr(&s->ss, &family, bin) == -1)
		goto off;
	if ((r->z = calloc(n, sizeof(*r->z))) == NULL) {
		log_warn("session=%llu addr=%s: no memory for reputation "
		    "lookups", (unsigned long long)s->id, s->addr);
		goto off;
	}
	r->nzones = n;
	r->phase = SMTPD_REPUTE_PENDING;
	r->deadline = bw_now_ms() + (uint64_t)SMTPD_LIM(s,
	    LIM_SMTPD_REPUTATION_TIMEOUT);
	for (i = 0; i < n; i++) {
		cz = config_rep_zone_at(s->cfg, i);
		r->z[i].s = s;
		r->z[i].state = SMTPD_REP_FAILED;
		/* the zone's length was checked at load: never refused */
		if (bw_dns_list_name(family, bin, cz->name, qname,
		    sizeof(qname)) == -1)
			continue;
		s->env->c.rep_lookups++;
		/* NULL: dnscached down, no callback; FAILED stands */
		if ((r->z[i].req = bw_dns_client_query(s->env->dns, qname,
		    BW_DNS_T_A, r->deadline, smtpd_rep_answer_cb,
		    &r->z[i])) != NULL)
			r->npending++;
	}
	if (r->npending == 0)
		smtpd_rep_finish(s);
	return;
off:
	r->phase = SMTPD_REPUTE_OFF;
	smtpd_session_lookups_done(s);
}

/* The session ends: nothing may call back into it. */
void
smtpd_reputation_cancel(struct smtpd_session *s)
{
	size_t	 i;

	for (i = 0; i < s->rep.nzones; i++) {
		bw_dns_client_cancel(s->env->dns, s->rep.z[i].req);
		s->rep.z[i].req = NULL;
	}
	s->rep.npending = 0;
}

void
smtpd_reputation_free(struct smtpd_session *s)
{
	smtpd_reputation_cancel(s);
	free(s->rep.z);
	s->rep.z = NULL;
	s->rep.nzones = 0;
}

int
smtpd_reputation_listed_at(const struct smtpd_session *s, size_t zi,
    const uint32_t *addrs, size_t naddrs)
{
	const struct bw_rep_zone *cz;
	const struct smtpd_rep_zone *z;
	size_t			 i, k;

	if (s->rep.phase != SMTPD_REPUTE_DONE || zi >= s->rep.nzones ||
	    (cz = config_rep_zone_at(s->cfg, zi)) == NULL)
		return -1;
	z = &s->rep.z[zi];
	if (z->state == SMTPD_REP_FAILED)
		return -1;
	if (z->state == SMTPD_REP_NOTFOUND)
		return 0;
	for (i = 0; i < z->nanswers; i++) {
		if (naddrs == 0) {
			/* a score is a record; a list's 127.0.0.0-1 is not
			 * a listing (RFC 5782 5) */
			if (cz->kind == BW_REP_SCORE ||
			    z->answers[i] >= REP_LIST_FIRST)
				return 1;
			continue;
		}
		for (k = 0; k < naddrs; k++)
			if (z->answers[i] == addrs[k])
				return 1;
	}
	return 0;
}

int
smtpd_reputation_listed(const struct smtpd_session *s, const char *zone,
    const uint32_t *addrs, size_t naddrs)
{
	int	 zi;

	if ((zi = config_rep_zone_find(s->cfg, zone)) == -1)
		return -1;
	return smtpd_reputation_listed_at(s, (size_t)zi, addrs, naddrs);
}

const char *
smtpd_reputation_text(const struct smtpd_session *s, char *buf,
    size_t bufsz)
{
	if (s->rep.phase == SMTPD_REPUTE_OFF) {
		strlcpy(buf, "off", bufsz);
		return buf;
	}
	return smtpd_score_text(&s->score, buf, bufsz);
}
