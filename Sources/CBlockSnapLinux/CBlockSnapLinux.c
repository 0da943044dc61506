#define _GNU_SOURCE
#include "CBlockSnapLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>
#include <linux/falloc.h>
#endif

int cbs_seek_data(void) {
#ifdef SEEK_DATA
    return SEEK_DATA;
#else
    return -1;
#endif
}

int cbs_seek_hole(void) {
#ifdef SEEK_HOLE
    return SEEK_HOLE;
#else
    return -1;
#endif
}

int cbs_punch_hole(int fd, int64_t offset, int64_t length) {
#if defined(__linux__) && defined(FALLOC_FL_PUNCH_HOLE)
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
#else
    (void)fd; (void)offset; (void)length;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int cbs_block_device_size(int fd, uint64_t *size_bytes) {
#if defined(__linux__) && defined(BLKGETSIZE64)
    return ioctl(fd, BLKGETSIZE64, size_bytes);
#else
    (void)fd; (void)size_bytes;
    errno = ENOTTY;
    return -1;
#endif
}

int cbs_is_block_device(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    return S_ISBLK(st.st_mode) ? 1 : 0;
}

int cbs_fsync(int fd) {
#ifdef __linux__
    return fdatasync(fd);
#else
    return fsync(fd);
#endif
}

int cbs_errno(void) { return errno; }
