/*
 * Keys of queued's time indexes (delay warnings due, deleted messages'
 * purge times): the time as a big-endian 64-bit number, so that a cursor
 * walks the index in time order, then the queue id.
 */
#ifndef QUEUED_TIMEKEY_H
#define QUEUED_TIMEKEY_H

#include <stdint.h>
#include <string.h>

#include "imsg_catalog.h"

#define QUEUE_TIMEKEY_LEN	(8 + BW_QID_LEN)

static inline void
queue_timekey_put(unsigned char k[QUEUE_TIMEKEY_LEN], int64_t when,
    const char *qid)
{
	uint64_t	 v = (uint64_t)when;
	int		 i;

	for (i = 7; i >= 0; i--) {
		k[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	memcpy(k + 8, qid, BW_QID_LEN);
}

static inline int64_t
queue_timekey_when(const unsigned char *k)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | k[i];
	return (int64_t)v;
}

#endif
