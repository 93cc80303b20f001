/*
 * CRC-32C (Castagnoli), as in iSCSI and ext4 metadata: the check value of
 * each stored body piece.  Hardware instruction where the CPU has it.
 */
#ifndef BW_CRC32C_H
#define BW_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue crc (0 to start) over len bytes. */
uint32_t	bw_crc32c(uint32_t crc, const void *data, size_t len);

#endif
