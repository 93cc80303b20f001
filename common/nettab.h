/*
 * A table of networks (IPv4 and IPv6 CIDR) that answers "is this address
 * inside any of them" in O(log n), for lists of thousands of networks
 * (relay networks, the sender groups of a host access table) where
 * bw_net_match()'s linear scan would cost a comparison per entry on every
 * connection.
 *
 * Built once from parsed networks (bw_net_parse) and read-only after:
 * every address is taken in its IPv4-mapped IPv6 form, every network
 * becomes a range of that 128-bit space, and overlapping or adjacent
 * ranges are merged, so a lookup is one binary search.  The answers are
 * exactly bw_net_match()'s: an IPv4 network matches IPv4 clients and
 * their mapped IPv6 form, an IPv6 network matches the IPv6 address as
 * written (and IPv4 clients through the mapped form).
 */
#ifndef BW_NETTAB_H
#define BW_NETTAB_H

#include <sys/socket.h>
#include <stddef.h>

#include "config.h"

/*
 * Networks one table holds, at most: a whole country's allocations or a
 * large DNSBL export fit, and 32 bytes each keeps the largest table at
 * 32 MiB.
 */
#define BW_NETTAB_MAX	(1024 * 1024)

struct bw_nettab;

/* NULL when out of memory or n > BW_NETTAB_MAX; n == 0 is an empty table. */
struct bw_nettab *bw_nettab_new(const struct bw_net *nets, size_t n);
void		 bw_nettab_free(struct bw_nettab *);
/* 1 if sa (AF_INET or AF_INET6) is inside one of the networks. */
int		 bw_nettab_match(const struct bw_nettab *,
		    const struct sockaddr *sa);
/* Ranges left after merging (for tests and `config check`). */
size_t		 bw_nettab_ranges(const struct bw_nettab *);

#endif
