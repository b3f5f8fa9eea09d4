/*
 * static_cache.h - small files kept in memory, so that serving one costs
 * one stat(2) instead of a walk, an open, a sendfile and a close: nginx's
 * open_file_cache, with the bytes as well.
 *
 * An entry is made only from a file that static_file_open found by its
 * safe walk (no links, regular, inside the root), and it stays valid only
 * while the name still leads to that very file, unchanged: a lookup stats
 * the path again, without following a final link, and compares the
 * device, inode, size, type, modification time and change time. Those
 * are what the ETag is made of (plus the change time, which moves on any
 * write, chmod, rename or new hard link), so a hit never serves bytes
 * whose ETag would differ: what a client could see change, the cache sees
 * change too - at once when `valid_ms` is 0, or within valid_ms when the
 * check is skipped for an entry checked less than valid_ms ago (nginx's
 * open_file_cache_valid): bytes and ETag then both stay the old ones, a
 * consistent answer, for at most that long.
 *
 * The table is fixed: `slots` entries, one per slot (a new path evicts
 * the one whose hash lands on the same slot), each at most `max_file`
 * bytes. Entries are shared by the worker loops: a mutex guards the
 * table, a reference count keeps an entry alive while a response copies
 * from it, even if another thread evicts it meanwhile.
 */
#ifndef NIO_STATIC_CACHE_H
#define NIO_STATIC_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "07-http-server/static_file.h"

typedef struct static_cache static_cache;

/* A file's bytes and what was known of it when they were read. Read-only
 * for whoever holds it. */
typedef struct static_cached {
    struct stat st;           /* as validated by the lookup that returned it */
    const char *content_type; /* from the name, as static_file_open says */
    size_t size;
    const unsigned char *bytes;
} static_cached;

/* NULL with errno on ENOMEM. `valid_ms`: how long a checked entry is
 * served without a new stat (0: check on every lookup). */
static_cache *static_cache_create(size_t slots, size_t max_file, long valid_ms);
void static_cache_free(static_cache *cache);
size_t static_cache_max_file(const static_cache *cache);

/* The entry for the request path `path` (from static_path_normalize),
 * if there is one and its file under `root_fd` is unchanged (or was,
 * less than valid_ms ago); NULL otherwise (and a stale entry is dropped). Give
 * it back with static_cache_release. */
const static_cached *static_cache_acquire(static_cache *cache, int root_fd,
                                          const char *path);

/* Reads the regular file `file` (just opened by static_file_open for the
 * request path `path`) into a new entry, which replaces whatever held its
 * slot, and returns it acquired. NULL, and nothing cached, when the file
 * is bigger than max_file, the path too long, memory short, or the file
 * did not read back at the size fstat gave. Does not close file->fd. */
const static_cached *static_cache_insert(static_cache *cache, const char *path,
                                         const static_file *file);

void static_cache_release(static_cache *cache, const static_cached *entry);

#endif
