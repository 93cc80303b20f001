/*
 * MTA-STS (RFC 8461) in deliverd: the pure parsers (deliverd_mtasts_parse.c)
 * and the per-worker policy cache with its discovery (deliverd_mtasts.c).
 *
 * The TXT record `_mta-sts.DOMAIN` says whether a policy exists and its id;
 * the policy itself comes from https://mta-sts.DOMAIN/.well-known/mta-sts.txt
 * and says which MX hosts may receive the domain's mail and whether a host
 * that is not one of them, or offers no valid TLS, is skipped (enforce) or
 * only logged (testing).
 */
#ifndef DELIVERD_MTASTS_H
#define DELIVERD_MTASTS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define DLV_STS_ID_MAX		32	/* RFC 8461 3.1: 1*32 ALPHA/DIGIT */
#define DLV_STS_MX_MAX		16	/* mx patterns kept in one policy; a
					   policy with more is refused (a
					   cut list could block a listed
					   MX in enforce mode) */
#define DLV_STS_MAX_AGE_MAX	31557600	/* RFC 8461 3.2: one year;
					   larger values are cut to it */
#define DLV_STS_POLICY_MAX	65536	/* policy body bytes (RFC 8461 3.3
					   suggests 64 KiB) */
#define DLV_STS_WHY_MAX		160	/* a parse error, for the log */

enum dlv_sts_mode {
	DLV_STS_MODE_NONE = 0,
	DLV_STS_MODE_TESTING,
	DLV_STS_MODE_ENFORCE,
};
const char	*dlv_sts_mode_name(int);

/* A parsed policy (RFC 8461 3.2). */
struct dlv_sts_policy {
	enum dlv_sts_mode	 mode;
	uint32_t		 max_age;	/* seconds, <= DLV_STS_MAX_AGE_MAX */
	int			 nmx;
	char			 mx[DLV_STS_MX_MAX][BW_DOMAIN_MAX + 1];
					/* lower case, "*.x.y" or "x.y" */
};

/*
 * The TXT records of _mta-sts.DOMAIN (RFC 8461 3.1): records not starting
 * with "v=STSv1" are ignored; exactly one must remain and be valid.  1 and
 * its id in id (DLV_STS_ID_MAX + 1 bytes), 0 when there is no usable record
 * (why says which way), never more.
 */
int	 dlv_sts_txt_select(const char *const *recs, int nrecs,
	    char id[DLV_STS_ID_MAX + 1], char *why, size_t whysz);
/* One record: 1 valid (id set), 0 not an STSv1 record, -1 invalid (why). */
int	 dlv_sts_txt_parse(const char *rec, char id[DLV_STS_ID_MAX + 1],
	    char *why, size_t whysz);

/*
 * A policy body (len bytes, any content) into p: 0, or -1 with why when it
 * is not a policy (missing or bad version, mode or max_age, enforce or
 * testing without mx, a bad mx pattern, NUL bytes, too long).  Lines end in
 * CRLF or LF; unknown keys are ignored; of a repeated version, mode or
 * max_age the first counts.
 */
int	 dlv_sts_policy_parse(const char *body, size_t len,
	    struct dlv_sts_policy *p, char *why, size_t whysz);

/*
 * Does MX host name (any case, trailing dot or not) match one of the
 * policy's patterns (RFC 8461 4.1: "*.example.com" matches exactly one more
 * label on the left)?  1 or 0.
 */
int	 dlv_sts_mx_match(const struct dlv_sts_policy *, const char *host);

/* ---- the cache and discovery (deliverd_mtasts.c) ---- */

struct dlv_agent;
struct dlv_tls_want;

#define DLV_STS_CACHE_MAX	1000	/* domains with a policy (or a
					   recent failure) remembered per
					   worker: ~4 KiB each; the least
					   recently used goes */
#define DLV_STS_FETCHES_MAX	16	/* discoveries at once per worker;
					   an agent past it goes on as
					   without MTA-STS (logged) */
#define DLV_STS_DNS_MS		10000	/* TXT, then A/AAAA of mta-sts.D */
#define DLV_STS_FETCH_MS	10000	/* the whole HTTPS fetch: connect,
					   handshake, request, body */
#define DLV_STS_HEADERS_MAX	8192	/* HTTP response headers */
#define DLV_STS_RETRY_MS	300000	/* after a failed fetch without a
					   cached policy, the same id is
					   not fetched again before this:
					   a server that hangs costs its
					   domain one timeout, not one per
					   resolution */
#define DLV_STS_SWEEP_MS	60000	/* cache sweep: proactive refresh
					   of policies past half their
					   max_age, expired ones freed */
#define DLV_STS_HTTPS_PORT	443	/* RFC 8461 3.3 */

/*
 * Called first by dlv_mx_resolve(): for a destination with mta_sts yes and
 * no route, the policy is made current (TXT, maybe a fetch).  1: the agent
 * waits (mx_state RESOLVING) and dlv_mx_resolve() is called again when the
 * policy is settled; 0: go on now.
 */
int	 dlv_sts_prepare(struct dlv_agent *);
/*
 * After the MX answer: in enforce mode hosts not matching the policy are
 * marked sts_excluded (and logged); in testing mode they are logged.  -1
 * when no host is left (the jobs were deferred), else 0.
 */
int	 dlv_sts_mx_filter(struct dlv_agent *);
/*
 * The TLS requirement MTA-STS adds for a new connection to host hostidx:
 * enforce -> VERIFY with the MX name, testing -> the same with testing=1;
 * nothing when DANE already decided (RFC 8461 2) or there is no policy.
 */
void	 dlv_sts_tls_want(const struct dlv_agent *, int hostidx,
	    struct dlv_tls_want *);
/* The policy in force for a domain, or NULL. */
const struct dlv_sts_policy *dlv_sts_policy_for(const char *domain);
/* The STATUS counters (mta_sts_*). */
struct bw_status;
void	 dlv_sts_status(struct bw_status *);
void	 dlv_sts_init(void);
void	 dlv_sts_shutdown(void);

#endif
