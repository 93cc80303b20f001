/*
 * The host access table's matcher: which row of a listener's table
 * (sender group and mail flow policy) a connecting host gets.  Pure: it
 * reads the configuration and what the admission learned of the host
 * (struct smtpd_hat_facts) and keeps no state, so the Check test drives
 * it without daemons and `bwctl trace` asks the same question.
 */
#ifndef SMTPD_HAT_H
#define SMTPD_HAT_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum smtpd_hat_rdns {
	SMTPD_HAT_RDNS_OFF = 0,		/* not looked up */
	SMTPD_HAT_RDNS_CONFIRMED,
	SMTPD_HAT_RDNS_MISSING,		/* no PTR */
	SMTPD_HAT_RDNS_UNCONFIRMED,	/* PTR names, none resolves back */
	SMTPD_HAT_RDNS_TEMPFAIL,
};

struct smtpd_hat_facts {
	const struct sockaddr	*sa;		/* the client (after PROXY) */
	enum smtpd_hat_rdns	 rdns;
	const char		*name;		/* confirmed name, or NULL */
	int			 score_known;
	int			 score_off;	/* not looked up at all: a
						   "score none" group does not
						   match (none means asked,
						   no answer) */
	int			 score;		/* tenths, -100..100 */
	/*
	 * Is the client listed in zone (with one of addrs, when n > 0)?
	 * 1 listed, 0 not, -1 no answer (a group does not match on a
	 * lookup that failed).
	 */
	int			(*listed)(void *arg, const char *zone,
				    const uint32_t *addrs, size_t n);
	void			*arg;
};

/* 1 if the group matches the host. */
int	 smtpd_hat_group_match(const struct bw_group_conf *,
	    const struct smtpd_hat_facts *);
/* The first matching row of the listener's table, or its default row. */
const struct bw_hat_entry *smtpd_hat_match(const struct bw_listener_conf *,
	    const struct smtpd_hat_facts *);
/* Names for logs and Received: ("none": no group, no policy). */
const char *smtpd_hat_group_name(const struct bw_hat_entry *);
const char *smtpd_hat_policy_name(const struct bw_hat_entry *);
/* Name of a confirmed reverse DNS name matching "host" or ".suffix". */
int	 smtpd_hat_name_match(const char *pattern, const char *name);

#endif
