/*
 * smtpd's link to dnscached and the client's reverse DNS.
 *
 * The link: a bw_peer to dnscached.sock (by path inside the chroot, as for
 * queued and controld), reconnected with backoff by peer.c, and the
 * process's dnscached client (common/dns_client.c) on it.  Without
 * dnscached smtpd keeps serving: a lookup that cannot be asked ends at once
 * as a temporary failure.
 *
 * Reverse DNS, forward-confirmed (Postfix's rule): at connect, PTR for the
 * client's address; then A (IPv4 client) or AAAA (IPv6) for each PTR name,
 * at most SMTPD_RDNS_NAMES_MAX of them.  The first name whose addresses
 * include the client's is the session's name (state confirmed); no PTR
 * (NXDOMAIN, NODATA): unknown; PTR names that do not resolve back:
 * unconfirmed ("name does not resolve to address"); a DNS failure,
 * dnscached down, or the budget (smtpd_dns_timeout, one deadline for the
 * whole chain) passed: tempfail.  Only a confirmed name is used (log,
 * Received:); every other state leaves the name "unknown".
 *
 * Trust: record text from dnscached (a hostile DNS answer passed through
 * it) is copied with its bound by the client and must be a valid RFC 5321
 * domain, not numeric, to be used at all (else the state is unconfirmed,
 * logged as ptr=?); addresses are parsed with inet_pton.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dns_client.h"
#include "log.h"
#include "util.h"
#include "smtpd.h"

static const char *const smtpd_rdns_names[] = {
	[SMTPD_RDNS_OFF] = "off",
	[SMTPD_RDNS_PENDING] = "pending",
	[SMTPD_RDNS_CONFIRMED] = "confirmed",
	[SMTPD_RDNS_UNKNOWN] = "unknown",
	[SMTPD_RDNS_UNCONFIRMED] = "unconfirmed",
	[SMTPD_RDNS_TEMPFAIL] = "tempfail",
};

const char *
smtpd_rdns_state_name(int st)
{
	if (st < 0 || (size_t)st >= sizeof(smtpd_rdns_names) /
	    sizeof(smtpd_rdns_names[0]))
		return "?";
	return smtpd_rdns_names[st];
}

/* ---- the link ---- */

static void
smtpd_dns_msg_cb(struct bw_peer *peer, struct bw_imsg *imsg, void *arg)
{
	struct smtpd_env	*env = arg;

	if (!bw_dns_client_dispatch(env->dns, imsg)) {
		log_warnx("unexpected %s from dnscached",
		    bw_imsg_type_name(imsg->hdr.type));
		bw_peer_drop(peer, "unexpected message type");
	}
}

static void
smtpd_dns_state_cb(struct bw_peer *peer, int up, void *arg)
{
	struct smtpd_env	*env = arg;

	if (up) {
		env->c.dnscached_connects++;
		log_info("connected to dnscached");
		return;
	}
	log_warnx("lost connection to dnscached; lookups in flight fail");
	bw_dns_client_down(env->dns);
}

void
smtpd_dns_connect(struct smtpd_env *env)
{
	char	 path[PATH_MAX];

	if (smtpd_peer_path(env, BW_SOCK_DNSCACHED, path, sizeof(path)) == -1)
		fatalx("dnscached socket path too long");
	env->dnscached = bw_peer_connect(env->d.base, path, BW_ROLE_SMTPD,
	    (uint32_t)env->worker,
	    smtpd_dns_msg_cb, smtpd_dns_state_cb, env);
	if (env->dnscached == NULL)
		fatal("bw_peer_connect %s", path);
	if ((env->dns = bw_dns_client_new(env->d.base, env->dnscached)) ==
	    NULL)
		fatal("dns client");
}

int
smtpd_dns_up(struct smtpd_env *env)
{
	return bw_dns_client_is_up(env->dns);
}

/* At shutdown, after the sessions: nothing is in flight any more. */
void
smtpd_dns_close(struct smtpd_env *env)
{
	bw_dns_client_free(env->dns);
	env->dns = NULL;
	bw_peer_close(env->dnscached);
	env->dnscached = NULL;
}

/* ---- reverse DNS of the client ---- */

/*
 * The address to look up and compare, with an IPv4-mapped IPv6 address
 * (a dual-stack listener) taken as the IPv4 address it is.  -1: none.
 */
int
smtpd_rdns_addr(const struct sockaddr_storage *ss, int *family,
    unsigned char bin[16])
{
	const struct sockaddr_in6	*s6;

	if (ss->ss_family == AF_INET) {
		*family = AF_INET;
		memcpy(bin, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)ss;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		*family = AF_INET;
		memcpy(bin, &s6->sin6_addr.s6_addr[12], 4);
		return 0;
	}
	*family = AF_INET6;
	memcpy(bin, &s6->sin6_addr, 16);
	return 0;
}

/*
 * Is the lookup wanted for this client on this listener?  reverse_dns yes:
 * always; no: never; not set: on public listeners, except for loopback
 * clients (the host itself: its name tells nothing, and local reinjection
 * must not wait on DNS).
 */
int
smtpd_rdns_wanted(const struct bw_listener_conf *lc,
    const struct sockaddr_storage *ss)
{
	unsigned char	 bin[16];
	int		 family;
	static const unsigned char loop6[16] = { [15] = 1 };

	if (lc->reverse_dns >= 0)
		return lc->reverse_dns;
	if (!lc->public || smtpd_rdns_addr(ss, &family, bin) == -1)
		return 0;
	if (family == AF_INET)
		return bin[0] != 127;
	return memcmp(bin, loop6, sizeof(loop6)) != 0;
}

/* Forget every query still in flight. */
static void
smtpd_rdns_cancel_all(struct smtpd_session *s)
{
	struct smtpd_rdns	*r = &s->rdns;
	int			 i;

	bw_dns_client_cancel(s->env->dns, r->ptr_req);
	r->ptr_req = NULL;
	for (i = 0; i < SMTPD_RDNS_NAMES_MAX; i++) {
		bw_dns_client_cancel(s->env->dns, r->fwd_req[i]);
		r->fwd_req[i] = NULL;
	}
	r->npending = 0;
}

/* A connection's outcome, counted (a bwctl trace probe is no connection). */
static void
smtpd_rdns_count(struct smtpd_session *s)
{
	switch (s->rdns.state) {
	case SMTPD_RDNS_CONFIRMED:
		s->env->c.rdns_confirmed++;
		break;
	case SMTPD_RDNS_UNKNOWN:
		s->env->c.rdns_unknown++;
		break;
	case SMTPD_RDNS_UNCONFIRMED:
		s->env->c.rdns_unconfirmed++;
		log_info("session=%llu addr=%s ptr=%s: name does not resolve "
		    "to address", (unsigned long long)s->id, s->addr,
		    s->rdns.names[0]);
		break;
	case SMTPD_RDNS_TEMPFAIL:
		s->env->c.rdns_tempfail++;
		break;
	default:
		break;
	}
}

/*
 * The PTR names are not needed any more: freed, or (keep) shrunk to the
 * first, which the connect line and bwctl trace show for an unconfirmed
 * client.
 */
static void
smtpd_rdns_names_drop(struct smtpd_rdns *r, int keep)
{
	void	*one;

	if (r->names == NULL)
		return;
	if (keep && (one = realloc(r->names, sizeof(r->names[0]))) != NULL) {
		r->names = one;
		r->nnames = 1;
		return;
	}
	if (keep)
		return;		/* realloc failed: the larger block stays */
	free(r->names);
	r->names = NULL;
	r->nnames = 0;
}

/* The state is settled: count it, take the name, tell the session. */
static void
smtpd_rdns_finish(struct smtpd_session *s, enum smtpd_rdns_state st,
    const char *name)
{
	struct smtpd_rdns	*r = &s->rdns;

	smtpd_rdns_cancel_all(s);
	r->state = st;
	if (st == SMTPD_RDNS_CONFIRMED)
		(void)smtpd_session_str(s, &s->name, name, strlen(name),
		    smtpd_str_unknown);
	if (!s->probe)
		smtpd_rdns_count(s);
	smtpd_rdns_names_drop(r, st == SMTPD_RDNS_UNCONFIRMED);
	smtpd_session_lookups_done(s);
}

/*
 * A PTR target usable as the client's name: an RFC 5321 domain whose last
 * label is not all digits (no top-level domain is: "192.0.2.1" as a
 * name would pass for an address in the log and in Received:, as
 * Postfix's "numeric domain name in resolved hostname" says).
 */
static int
smtpd_rdns_name_ok(const char *name, size_t len)
{
	const char	*last;

	if (len == 0 || len > BW_DOMAIN_MAX ||
	    smtp_domain_valid(name, len, 0) == -1)
		return 0;
	last = strrchr(name, '.');
	last = last != NULL ? last + 1 : name;
	for (; *last != '\0'; last++)
		if (*last < '0' || *last > '9')
			return 1;
	return 0;
}

/* An A or AAAA answer for PTR name i: does it hold the client's address? */
static int
smtpd_rdns_match(const struct smtpd_rdns *r, const struct bw_dns_result *res)
{
	struct bw_dns_rr	 rr;
	unsigned char		 bin[16];
	uint32_t		 i;
	uint16_t		 want = r->family == AF_INET ? BW_DNS_T_A :
				    BW_DNS_T_AAAA;

	for (i = 0; bw_dns_result_rr(res, i, &rr) == 0; i++) {
		if (rr.type != want ||
		    inet_pton(r->family, rr.data, bin) != 1)
			continue;
		if (memcmp(bin, r->bin, r->family == AF_INET ? 4 : 16) == 0)
			return 1;
	}
	return 0;
}

static void
smtpd_rdns_fwd_cb(const struct bw_dns_result *res, void *arg)
{
	struct smtpd_session	*s = arg;
	struct smtpd_rdns	*r = &s->rdns;
	int			 i;

	for (i = 0; i < r->nnames; i++)
		if (r->fwd_req[i] != NULL && strcmp(r->names[i],
		    res->name) == 0)
			break;
	if (i == r->nnames)
		return;		/* not reached: names are unique */
	r->fwd_req[i] = NULL;
	r->npending--;
	if (res->outcome != BW_DNSC_ANSWERED) {
		/* the budget, or dnscached gone: the rest would go too */
		smtpd_rdns_finish(s, SMTPD_RDNS_TEMPFAIL, NULL);
		return;
	}
	if (res->status == BW_DNS_OK && smtpd_rdns_match(r, res)) {
		smtpd_rdns_finish(s, SMTPD_RDNS_CONFIRMED, r->names[i]);
		return;
	}
	if (res->status != BW_DNS_OK && res->status != BW_DNS_NXDOMAIN &&
	    res->status != BW_DNS_NODATA)
		r->ftemp = 1;
	if (r->npending > 0)
		return;
	/* every name answered, none leads back: unless one failed */
	smtpd_rdns_finish(s, r->ftemp ? SMTPD_RDNS_TEMPFAIL :
	    SMTPD_RDNS_UNCONFIRMED, NULL);
}

static void
smtpd_rdns_ptr_cb(const struct bw_dns_result *res, void *arg)
{
	struct smtpd_session	*s = arg;
	struct smtpd_rdns	*r = &s->rdns;
	struct bw_dns_rr	 rr;
	uint32_t		 i;
	int			 k;
	uint16_t		 qtype = r->family == AF_INET ? BW_DNS_T_A :
				    BW_DNS_T_AAAA;

	r->ptr_req = NULL;
	if (res->outcome != BW_DNSC_ANSWERED) {
		smtpd_rdns_finish(s, SMTPD_RDNS_TEMPFAIL, NULL);
		return;
	}
	if (res->status == BW_DNS_NXDOMAIN || res->status == BW_DNS_NODATA) {
		smtpd_rdns_finish(s, SMTPD_RDNS_UNKNOWN, NULL);
		return;
	}
	if (res->status != BW_DNS_OK) {
		smtpd_rdns_finish(s, SMTPD_RDNS_TEMPFAIL, NULL);
		return;
	}
	if ((r->names = calloc(SMTPD_RDNS_NAMES_MAX, sizeof(r->names[0]))) ==
	    NULL) {
		log_warn("session=%llu: PTR names", (unsigned long long)s->id);
		smtpd_rdns_finish(s, SMTPD_RDNS_TEMPFAIL, NULL);
		return;
	}
	/* the first SMTPD_RDNS_NAMES_MAX valid, distinct names */
	for (i = 0; r->nnames < SMTPD_RDNS_NAMES_MAX &&
	    bw_dns_result_rr(res, i, &rr) == 0; i++) {
		size_t	 len = strlen(rr.data);

		if (rr.type != BW_DNS_T_PTR ||
		    (rr.flags & BW_DNS_RRF_TRUNCATED) ||
		    !smtpd_rdns_name_ok(rr.data, len))
			continue;
		for (k = 0; k < r->nnames; k++)
			if (strcmp(r->names[k], rr.data) == 0)
				break;
		if (k < r->nnames)
			continue;
		strlcpy(r->names[r->nnames++], rr.data, sizeof(r->names[0]));
	}
	if (r->nnames == 0) {
		/* PTR records, none usable as a name (hostile or broken) */
		strlcpy(r->names[0], "?", sizeof(r->names[0]));
		smtpd_rdns_finish(s, SMTPD_RDNS_UNCONFIRMED, NULL);
		return;
	}
	for (k = 0; k < r->nnames; k++) {
		r->fwd_req[k] = bw_dns_client_query(s->env->dns, r->names[k],
		    qtype, r->deadline, smtpd_rdns_fwd_cb, s);
		if (r->fwd_req[k] == NULL) {
			smtpd_rdns_finish(s, SMTPD_RDNS_TEMPFAIL, NULL);
			return;
		}
		r->npending++;
	}
}

/*
 * Start the lookup at connect; it may settle at once (not wanted, or
 * dnscached down), and smtpd_session_lookups_done() runs either way.
 */
void
smtpd_rdns_start(struct smtpd_session *s)
{
	struct smtpd_rdns	*r = &s->rdns;
	char			 qname[BW_DOMAIN_MAX + 1];

	memset(r, 0, sizeof(*r));
	if (!smtpd_rdns_wanted(s->lconf, &s->ss) ||
	    smtpd_rdns_addr(&s->ss, &r->family, r->bin) == -1) {
		r->state = SMTPD_RDNS_OFF;
		smtpd_session_lookups_done(s);
		return;
	}
	r->state = SMTPD_RDNS_PENDING;
	r->deadline = bw_now_ms() + (uint64_t)SMTPD_LIM(s,
	    LIM_SMTPD_DNS_TIMEOUT);
	if (bw_dns_ptr_name(r->family, r->bin, qname, sizeof(qname)) == -1 ||
	    (r->ptr_req = bw_dns_client_query(s->env->dns, qname,
	    BW_DNS_T_PTR, r->deadline, smtpd_rdns_ptr_cb, s)) == NULL) {
		smtpd_rdns_finish(s, SMTPD_RDNS_TEMPFAIL, NULL);
		return;
	}
}

/* The session ends: nothing may call back into it. */
void
smtpd_rdns_cancel(struct smtpd_session *s)
{
	smtpd_rdns_cancel_all(s);
}

/* The session is freed: its queries and names go. */
void
smtpd_rdns_free(struct smtpd_session *s)
{
	smtpd_rdns_cancel_all(s);
	smtpd_rdns_names_drop(&s->rdns, 0);
}
