#ifndef BLOCKSNAP_CZSTD_SHIM_H
#define BLOCKSNAP_CZSTD_SHIM_H
#include <zstd.h>
#endif
