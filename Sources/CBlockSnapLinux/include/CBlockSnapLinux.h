#ifndef BLOCKSNAP_CBLOCKSNAPLINUX_H
#define BLOCKSNAP_CBLOCKSNAPLINUX_H

#include <stdint.h>
#include <sys/types.h>

/// lseek whence for "next offset holding data" (SEEK_DATA), or -1 when the platform lacks it.
int cbs_seek_data(void);
/// lseek whence for "next hole" (SEEK_HOLE), or -1 when the platform lacks it.
int cbs_seek_hole(void);
/// Punches a hole (deallocates) [offset, offset+length) keeping the file size.
/// Returns 0 on success, -1 with errno set (EOPNOTSUPP where unsupported).
int cbs_punch_hole(int fd, int64_t offset, int64_t length);
/// Size in bytes of a block device (BLKGETSIZE64). Returns 0 on success, -1 with errno set.
int cbs_block_device_size(int fd, uint64_t *size_bytes);
/// Whether the descriptor refers to a block device (1), not (0), or error (-1, errno set).
int cbs_is_block_device(int fd);
/// Flushes data and metadata of a file (fdatasync where available). 0 or -1 with errno.
int cbs_fsync(int fd);
/// The current errno.
int cbs_errno(void);

/// Hints the CPU to start loading the cache line holding `p` (no fault, no effect on results).
/// Inline, so a tree walk can ask for the next node while it compares the current one.
static inline void cbs_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
