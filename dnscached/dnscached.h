/*
 * dnscached: the DNS cache.  Private header.
 *
 * This is the process skeleton: it serves dnscached.sock to smtpd and the
 * deliverd workers and reports its status to controld.  Resolution (ldns,
 * cache, negative cache, coalescing) comes next.
 */
#ifndef DNSCACHED_H
#define DNSCACHED_H

#include <stdint.h>

#include "config.h"

struct bw_peer;
struct bw_imsg;
struct event_base;

struct dnscached {
	struct event_base	*base;
	struct bw_config	 cfg;
	int64_t			 started;
	int			 shutting_down;
	struct bw_peer		*controld;
	/* counters */
	uint64_t		 c_clients;		/* connections accepted */
	uint64_t		 c_clients_active;
	uint64_t		 c_queries;
	uint64_t		 c_controld_connects;
};
extern struct dnscached *dns_env;

/* dnscached_imsg.c */
void	 dns_client_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 dns_client_state_cb(struct bw_peer *, int, void *);
void	 dns_controld_msg_cb(struct bw_peer *, struct bw_imsg *, void *);
void	 dns_controld_state_cb(struct bw_peer *, int, void *);

#endif
