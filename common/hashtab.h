/*
 * The hash table of every process: intrusive, keyed by bytes, with a
 * keyed hash, growth by doubling with an incremental rehash, a maximum
 * size, and iteration that survives removing the current entry.
 *
 * - Intrusive: an entry embeds a struct bw_hlink; inserting allocates
 *   nothing (only growing the bucket array does), and the table never
 *   frees an entry.
 * - Keys are bytes.  A type says where an entry's key is: a fixed number
 *   of bytes or a NUL-terminated char array at an offset in the entry, or
 *   a function that lists the key's parts (a key of several fields, e.g.
 *   gateway and domain).  Lookups give the key as a struct bw_hkey of the
 *   same parts.  The parts are hashed as one byte string, so a key of
 *   several parts keeps their borders unambiguous: fixed-length parts,
 *   or strings with their NUL (bw_hkey_str).  Equality compares part by
 *   part, lengths and bytes.
 * - The hash is SipHash-1-3 under a 128-bit key drawn once per process
 *   from the system's random source, so a peer that picks keys (names,
 *   addresses) cannot aim them at one chain.  The full 64-bit hash is
 *   kept in the link: growth never hashes again, and a chain walk compares
 *   keys only when the hashes are equal.
 * - Growth: when an insert would make the entries outnumber the buckets,
 *   a bucket array twice as large is allocated and the entries move to it
 *   BW_HTAB_REHASH_STEP buckets per later insert or remove (lookups see
 *   both arrays meanwhile).  So no single call costs more than a bounded
 *   number of steps, even at a million entries (a rehash in one go would
 *   walk them all in one event-loop turn), and the move is over before
 *   the new array is full.  A failed allocation for growth only leaves
 *   chains longer; nothing fails.  Arrays never shrink (until free).
 * - Bounds: at most max_entries entries (given at init, at most
 *   BW_HTAB_MAX) and BW_HTAB_MAX buckets.
 * - Iteration (bw_htab_first/next) may remove the entry it returned last
 *   and may insert (a new entry may or may not be seen); it must not
 *   remove other entries.  While an iteration runs, the rehash pauses;
 *   an iteration left before its end must call bw_htab_iter_end.
 *
 * Not thread-safe: a table belongs to one thread.
 */
#ifndef BW_HASHTAB_H
#define BW_HASHTAB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BW_HTAB_MAX		((size_t)1 << 24)	/* entries and buckets
					   of one table: 128 MiB of buckets */
#define BW_HTAB_BUCKETS_MIN	16	/* first bucket array */
#define BW_HTAB_REHASH_STEP	64	/* old buckets moved per insert or
					   remove during growth */
#define BW_HKEY_PARTS		4	/* parts of one key */
#define BW_HTAB_KEY_STRING	((size_t)-1)	/* key_len: a C string */

#ifndef BW_MUST_CHECK
#define BW_MUST_CHECK	__attribute__((warn_unused_result))
#endif

struct bw_hlink {
	struct bw_hlink	*next;
	uint64_t	 hash;
};

/* A key: up to BW_HKEY_PARTS byte strings, hashed as one. */
struct bw_hkey {
	const void	*part[BW_HKEY_PARTS];
	size_t		 len[BW_HKEY_PARTS];
	unsigned int	 n;
};

struct bw_htab_type {
	const char	*name;		/* for the sanity messages */
	size_t		 link_off;	/* offsetof(entry, its bw_hlink) */
	/* The key inside the entry: key_len bytes at key_off, or with
	 * BW_HTAB_KEY_STRING a NUL-terminated char array there (not a
	 * pointer), hashed with its NUL.  Ignored when key is set. */
	size_t		 key_off;
	size_t		 key_len;
	/* A key of several parts: fill k with the entry's parts. */
	void		(*key)(const void *entry, struct bw_hkey *k);
	/* NULL: the keyed SipHash.  Tests (forced collisions) only. */
	uint64_t	(*hash)(const struct bw_hkey *);
};

struct bw_htab {
	const struct bw_htab_type *type;
	struct bw_hlink	**b[2];		/* [1]: the larger one during growth */
	size_t		 nb[2];		/* buckets, powers of two */
	size_t		 rehash;	/* next bucket of b[0] to move;
					   growing iff b[1] != NULL */
	size_t		 count;
	size_t		 max;
	unsigned int	 iterating;	/* iterations running */
	uint64_t	 grow_failures;	/* allocations refused */
};

#define BW_HTAB_INITIALIZER(type, max) \
	{ (type), { NULL, NULL }, { 0, 0 }, 0, 0, (max), 0, 0 }

struct bw_htab_iter {
	struct bw_htab	*t;
	struct bw_hlink	*next;		/* the entry after the current one */
	size_t		 arr;		/* which bucket array */
	size_t		 bucket;	/* the next bucket to look at */
	int		 running;
};

/* Keys (inline: every lookup builds one).  More than BW_HKEY_PARTS
 * parts is a caller's mistake: fatalx. */
void	 bw_hkey_too_many(void) __attribute__((noreturn));
uint64_t bw_hkey_hash(const struct bw_hkey *);		/* the keyed hash */

static inline void
bw_hkey_init(struct bw_hkey *k)
{
	k->n = 0;
}

static inline void
bw_hkey_bytes(struct bw_hkey *k, const void *p, size_t len)
{
	if (k->n >= BW_HKEY_PARTS)
		bw_hkey_too_many();
	k->part[k->n] = p;
	k->len[k->n] = len;
	k->n++;
}

/* A C string with its NUL. */
static inline void
bw_hkey_str(struct bw_hkey *k, const char *s)
{
	bw_hkey_bytes(k, s, strlen(s) + 1);
}

/* max: most entries, 1 to BW_HTAB_MAX (beyond: fatalx). */
void	 bw_htab_init(struct bw_htab *, const struct bw_htab_type *,
	    size_t max);
/* Buckets for n entries ahead, on an empty table: 0, or -1 (errno). */
int	 bw_htab_reserve(struct bw_htab *, size_t n) BW_MUST_CHECK;
/* Free the bucket arrays (not the entries); the table is then empty. */
void	 bw_htab_free(struct bw_htab *);

/* 0, or -1 with errno EEXIST (its key is in), ENOSPC (max entries) or
 * ENOMEM (the first bucket array). */
int	 bw_htab_insert(struct bw_htab *, void *entry) BW_MUST_CHECK;
void	*bw_htab_find(const struct bw_htab *, const struct bw_hkey *);
void	*bw_htab_find_str(const struct bw_htab *, const char *);
/* entry must be in the table (fatalx otherwise). */
void	 bw_htab_remove(struct bw_htab *, void *entry);
size_t	 bw_htab_count(const struct bw_htab *);

void	*bw_htab_first(struct bw_htab *, struct bw_htab_iter *);
void	*bw_htab_next(struct bw_htab_iter *);
void	 bw_htab_iter_end(struct bw_htab_iter *);

#endif
