/*
 * Per-host counters (issue 11): a table keyed by the client's address
 * that knows, for each connecting host, its concurrent connections, a
 * messages window and a recipients window, lifetime totals, when it was
 * last seen and the labels its asker sent along (sender group, policy,
 * score).  One process owns it (queued); smtpd asks through imsg, and a
 * cluster may later back the same operations with a shared store.
 *
 * Pure data structure: no I/O, no clock, no event loop.  The caller gives
 * `now' in milliseconds of one clock (queued: the wall clock, so that a
 * reopen time can be told to a client).  `now' may go backwards (the
 * wall clock is set): a window opened after `now' counts as closed, so
 * the next take opens a new one, and no host is forgotten early.
 *
 * - Addresses: a family (4 or 6) and 16 bytes; an IPv4-mapped IPv6
 *   address is folded to IPv4, so a host is one host on either stack.
 * - Connections: take(CONN) counts one more unless `limit' (> 0) is
 *   reached; release(CONN) counts one less.  Each connection belongs to an
 *   owner (queued: the smtpd link it came on); the table remembers how
 *   many connections each owner holds at each host, so that when an owner
 *   goes away (owner_gone) all its connections are released at once --
 *   the counts stay exact when an smtpd dies.
 * - Windows (MSG, RCPT): fixed windows.  A window opens at the first
 *   count and closes window_ms later; a take beyond `limit' in an open
 *   window is refused, and the answer says when the window reopens.  A
 *   limit of 0 counts without refusing.
 * - Bounds: at most max_entries hosts.  A host with no connection and no
 *   open window, idle for idle_ms, is forgotten by expire(); when the
 *   table is full the least recently used host without connections is
 *   forgotten to make room; when every host holds a connection, a take is
 *   granted without being remembered (fail open: a counter never stops
 *   mail) and counted as an overflow.  Hosts with a connection are never
 *   forgotten.
 * - Hostile input: a bad family, kind, n, limit or window is refused with
 *   -1 (EINVAL) and changes nothing; counts saturate instead of wrapping;
 *   labels are cut to their fixed sizes.
 *
 * Not thread-safe: a table belongs to one thread.
 */
#ifndef BW_HOSTCOUNT_H
#define BW_HOSTCOUNT_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#ifndef BW_MUST_CHECK
#define BW_MUST_CHECK	__attribute__((warn_unused_result))
#endif

#define BW_HC_FAMILY_INET	4
#define BW_HC_FAMILY_INET6	6
#define BW_HC_LABEL_MAX		32	/* group, policy names (config names) */
#define BW_HC_SCORE_MAX		16	/* "-10.0", "none" */
#define BW_HC_N_MAX		(1u << 20)	/* one take counts at most this */
#define BW_HC_WINDOW_MAX_MS	(7LL * 24 * 3600 * 1000)	/* a week */
#define BW_HC_ENTRIES_MAX	((size_t)10 * 1000 * 1000)	/* hosts */

enum bw_hc_kind {
	BW_HC_CONN = 0,		/* concurrent connections */
	BW_HC_MSG,		/* messages in a window */
	BW_HC_RCPT,		/* recipients in a window */
	BW_HC__KINDS
};
const char	*bw_hc_kind_name(int);

struct bw_hc_addr {
	uint8_t		 family;	/* BW_HC_FAMILY_* */
	uint8_t		 addr[16];	/* IPv4: 4 bytes, the rest zero */
};

/* The client's address as a key; -1 for a family that is not IP. */
int	 bw_hc_addr_from_sockaddr(struct bw_hc_addr *, const struct sockaddr *);
/* From wire fields: checked and folded (IPv4-mapped to IPv4, an IPv4
 * key's unused bytes zeroed); -1 for a family that is not 4 or 6. */
int	 bw_hc_addr_set(struct bw_hc_addr *, uint32_t family,
	    const uint8_t addr[16]);
/* Text form (inet_ntop) into dst of at least 46 bytes. */
const char *bw_hc_addr_text(const struct bw_hc_addr *, char *dst,
	    size_t dstsz);

/* What the asker knows about the host; NULL strings keep the old text. */
struct bw_hc_labels {
	const char	*group;
	const char	*policy;
	const char	*score;
};

struct bw_hc_result {
	int		 granted;
	int		 remembered;	/* 0: the table was full (overflow) */
	uint64_t	 count;		/* connections, or the window's count,
					   after the take */
	uint64_t	 reopen_at;	/* refused MSG/RCPT: when the window
					   closes; 0 otherwise */
};

/* One host in a listing. */
struct bw_hc_row {
	struct bw_hc_addr addr;
	uint64_t	 conns;		/* now */
	uint64_t	 total_conns;
	uint64_t	 total_msgs;
	uint64_t	 total_rcpts;
	uint64_t	 win_msgs;	/* in the open window, else 0 */
	uint64_t	 win_rcpts;
	uint64_t	 refused;	/* takes refused, lifetime */
	uint64_t	 last_seen;	/* the caller's ms */
	char		 group[BW_HC_LABEL_MAX];
	char		 policy[BW_HC_LABEL_MAX];
	char		 score[BW_HC_SCORE_MAX];
};

struct bw_hc_stats {
	uint64_t	 hosts;		/* remembered now */
	uint64_t	 owners;	/* owners holding connections */
	uint64_t	 takes;
	uint64_t	 refusals;
	uint64_t	 overflow;	/* granted, not remembered: full */
	uint64_t	 evicted;	/* forgotten to make room */
	uint64_t	 expired;	/* forgotten after idle_ms */
	uint64_t	 releases_unknown;	/* a release nobody held */
	uint64_t	 connected;	/* hosts with a connection now */
};

struct bw_hostcount;

/* max_entries 1..BW_HC_ENTRIES_MAX; NULL (errno) on no memory. */
struct bw_hostcount *bw_hostcount_new(size_t max_entries, uint64_t idle_ms);
void	 bw_hostcount_free(struct bw_hostcount *);
/* New bounds (a reload); a lower maximum is reached by expire(). */
void	 bw_hostcount_set_bounds(struct bw_hostcount *, size_t max_entries,
	    uint64_t idle_ms);

/*
 * Count n (CONN: n must be 1) for the host.  limit 0: no limit.  MSG and
 * RCPT need window_ms in 1..BW_HC_WINDOW_MAX_MS; CONN ignores it.  owner:
 * who holds a CONN (ignored for the others).  0 with *res filled, or -1
 * with errno EINVAL (nothing changed).
 */
int	 bw_hostcount_take(struct bw_hostcount *, const struct bw_hc_addr *,
	    int kind, uint32_t n, uint64_t limit, uint64_t window_ms,
	    uint32_t owner, const struct bw_hc_labels *, uint64_t now,
	    struct bw_hc_result *res) BW_MUST_CHECK;
/* One connection of owner at the host ends: 0, or -1 if owner held none
 * there (ENOENT; counted) or kind is not CONN (EINVAL). */
int	 bw_hostcount_release(struct bw_hostcount *, const struct bw_hc_addr *,
	    int kind, uint32_t owner, uint64_t now);
/* Every connection owner holds ends; returns how many. */
uint64_t bw_hostcount_owner_gone(struct bw_hostcount *, uint32_t owner,
	    uint64_t now);
/* Forget idle hosts (and hosts over a lowered maximum), looking at most
 * at max_steps hosts; returns how many were forgotten. */
size_t	 bw_hostcount_expire(struct bw_hostcount *, uint64_t now,
	    size_t max_steps);
/* The host as a row; 0, or -1 if it is not remembered. */
int	 bw_hostcount_get(struct bw_hostcount *, const struct bw_hc_addr *,
	    uint64_t now, struct bw_hc_row *);
/*
 * The top n hosts, by connections now, then lifetime connections, then
 * address, into rows (n of them); returns how many.  One walk over the
 * table with a heap of n: O(hosts log n).
 */
size_t	 bw_hostcount_top(struct bw_hostcount *, uint64_t now,
	    struct bw_hc_row *rows, size_t n);
void	 bw_hostcount_stats(const struct bw_hostcount *, struct bw_hc_stats *);

#endif
