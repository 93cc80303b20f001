/*
 * Body segments: message bodies live outside Berkeley DB, in append-only
 * files under the spool (segments/NNNNNNNN).  The event loop writes each
 * body piece at the tail of the current segment (page cache only); the
 * group-commit flusher makes every segment written so far durable before
 * it flushes the log, so a message whose commit is durable has its body on
 * disk too.  A piece's place and CRC-32C are its record in body.db, in the
 * message's transaction.  When a message is gone for good, a segment with
 * no live piece left is kept as a spare (renamed spare-NNNNNNNN, at most
 * queue_segment_spares of them) or unlinked; the pieces of a segment that
 * still holds others are punched out (the file system frees the blocks) in
 * one sorted batch once the first of them has waited QSEG_PUNCH_DELAY_MS:
 * under load a segment empties in that time and goes whole, without a
 * punch per message, and a spare keeps its blocks and cached pages.
 *
 * Why spares: writing into a new file costs the file system a page, buffer
 * heads and a delayed-allocation reservation per 4 KiB, block allocation at
 * writeback and an inode update at each sync, and unlinking it drops every
 * cached page again; overwriting a file whose blocks and cached pages are
 * still there is a copy (132 -> 50 us of CPU per 100 KiB on ext4).  The
 * next segment takes a spare's place by rename.
 *
 * Why not in the database: a body stored in Berkeley DB is written three
 * times (log on insert, log again on delete for undo, then the pages), and
 * a large parked backlog of bodies fills its cache; here it is written once
 * and a parked body is never touched again until it is delivered.
 *
 * Threads: everything but qseg_sync() belongs to the event loop;
 * qseg_sync() runs in the flusher thread.
 */
#ifndef QUEUED_SEGMENT_H
#define QUEUED_SEGMENT_H

#include <sys/types.h>
#include <stdint.h>

#define QSEG_DIR	"segments"	/* under the spool */
#define QSEG_ALIGN	4096		/* pieces start on a block boundary */
#define QSEG_FD_CACHE	16		/* descriptors of older segments kept */
#define QSEG_VERIFY_RECENT 2		/* newest segments checked at start */
#define QSEG_FREED_MAX	4096		/* released ranges of a segment that
					   wait for their punch */
#define QSEG_PUNCH_DELAY_MS 10000	/* wait of a segment's first released
					   range before its punch */
#define QSEG_SPARE_PREFIX "spare-"	/* an emptied segment kept for reuse */
#define QSEG_ERR_MAX	128		/* text of the first sync failure */
#define QSEG_DIRECT_MAX	(128 * 1024)	/* largest piece read with O_DIRECT */

/* One body piece: where it is and its check value (a body.db record). */
struct qseg_ext {
	uint32_t	 seg;		/* segment number */
	uint32_t	 len;		/* bytes */
	uint64_t	 off;		/* in the segment, QSEG_ALIGN aligned */
	uint32_t	 crc;		/* CRC-32C of the bytes */
	uint32_t	 reserved;	/* 0 */
};

struct qseg;

struct qseg_stats {
	uint64_t	 segments;	/* files */
	uint64_t	 spares;	/* emptied files kept for reuse */
	uint64_t	 pieces;	/* live pieces */
	uint64_t	 bytes;		/* bytes in live pieces */
	uint64_t	 writes;
	uint64_t	 releases;
	uint64_t	 crc_errors;
};

/* Open (creating) dir; segment files found there wait for recovery, up to
 * spares spare files are kept for reuse (the rest unlinked).  NULL (errno,
 * and one log line) on failure. */
struct qseg	*qseg_open(const char *dir, uint64_t segment_size,
		    size_t spares);
/* Start-up, before any write: count one live piece. -1 when it names no
 * segment file or lies outside it (the caller drops its message). */
int		 qseg_recover_ref(struct qseg *, const struct qseg_ext *);
/* 1 when x lies in one of the newest segments, whose tail a crash may
 * have lost (its commit reached the log before its data reached the disk:
 * never acknowledged, but recovered); the caller reads it to check. */
int		 qseg_recent(const struct qseg *, const struct qseg_ext *);
/* qseg_read() of the bytes on the disk (O_DIRECT where the file system
 * has it), not of the page cache: the start-up check. */
ssize_t		 qseg_read_disk(struct qseg *, const struct qseg_ext *,
		    void *buf, size_t bufsz);
/* Start-up, after recovery: fdatasync every segment and the directory, so
 * that whatever recovery kept is on the disk: 0 or -1 (logged). */
int		 qseg_sync_all(struct qseg *);
/* End of recovery: unlink segments with no live piece, punch out every
 * byte no live piece covers.  Writes go to a new segment. */
void		 qseg_recover_done(struct qseg *);
/* Append a piece: 0, or -1 with errno (ENOSPC, EIO, ...). */
int		 qseg_write(struct qseg *, const void *, size_t,
		    struct qseg_ext *);
/* Read a piece into buf: its length, or -1 with errno (EBADMSG: the CRC
 * does not match, EINVAL: bufsz too small or a bad record). */
ssize_t		 qseg_read(struct qseg *, const struct qseg_ext *, void *,
		    size_t bufsz);
/* The piece is gone for good (its deletion is durable, or it was never
 * committed): unlink its segment when it was the last, else remember its
 * blocks for qseg_punch_due(). */
void		 qseg_release(struct qseg *, const struct qseg_ext *);
/* The same for n pieces at once (xs is reordered): neighbours in a
 * segment are freed with one punch. */
void		 qseg_release_batch(struct qseg *, struct qseg_ext *xs,
		    size_t n);
/* 1 when released blocks wait for qseg_punch_due(). */
int		 qseg_punch_pending(const struct qseg *);
/* Free the blocks of the released pieces of every segment whose first
 * waiting range was released at least min_wait_ms ago (0: all of them,
 * at shutdown): the milliseconds until the next one is due, or -1 when
 * none waits. */
int64_t		 qseg_punch_due(struct qseg *, uint64_t min_wait_ms);
/* Flusher thread: make every piece written so far durable: 0 or -1 (not
 * retried: see qseg_sync_error()). */
int		 qseg_sync(struct qseg *);
/* What the first failed sync was ("fdatasync of body segment 00000003:
 * Input/output error"). */
void		 qseg_sync_error(struct qseg *, char *dst, size_t dstsz);
void		 qseg_stats(const struct qseg *, struct qseg_stats *);
/* Sync and close everything (the flusher has stopped). */
void		 qseg_close(struct qseg *);

#endif
