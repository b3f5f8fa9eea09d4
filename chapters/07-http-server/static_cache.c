/*
 * static_cache.c - small files kept in memory, validated by a stat at
 * most every valid_ms (static_cache.h).
 */
#include "07-http-server/static_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"

enum { NAME_BYTES = 256 }; /* longer paths are served, just not cached */

typedef struct entry {
    static_cached public;       /* first: the caller's pointer is the entry's */
    size_t refs;                /* the table's (while in it) and the readers' */
    _Atomic int64_t checked_ms; /* when a stat last found it unchanged */
    char path[NAME_BYTES];      /* the request path: the key */
    char file[NAME_BYTES];      /* what to stat, relative to the root */
    unsigned char bytes[];      /* public.size of them */
} entry;

struct static_cache {
    pthread_mutex_t lock;
    size_t slots;
    size_t max_file;
    int64_t valid_ms;
    entry **table;
};

static_cache *static_cache_create(size_t slots, size_t max_file, long valid_ms)
{
    static_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->table = calloc(slots, sizeof *c->table);
    if (c->table == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->table);
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    c->slots = slots;
    c->max_file = max_file;
    c->valid_ms = valid_ms > 0 ? valid_ms : 0;
    return c;
}

void static_cache_free(static_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->slots; i++)
        free(c->table[i]); /* nobody may still hold one */
    free(c->table);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

size_t static_cache_max_file(const static_cache *c)
{
    return c->max_file;
}

/* FNV-1a: short paths, a small table; good enough and obvious. */
static size_t slot_of(const static_cache *c, const char *path)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % c->slots;
}

/* Drops one reference; the last one frees. Called with the lock held. */
static void unref(entry *e)
{
    if (--e->refs == 0)
        free(e);
}

/* excerpt:begin same-file */
/* The name still leads to the file that was read, and nothing about it
 * that a write, a chmod, a rename or a new link would change has moved. */
static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_mode == b->st_mode && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}
/* excerpt:end same-file */

/* excerpt:begin acquire */
const static_cached *static_cache_acquire(static_cache *c, int root_fd,
                                          const char *path)
{
    size_t slot = slot_of(c, path);
    pthread_mutex_lock(&c->lock);
    entry *e = c->table[slot];
    if (e == NULL || strcmp(e->path, path) != 0) {
        pthread_mutex_unlock(&c->lock);
        return NULL;
    }
    e->refs++;
    pthread_mutex_unlock(&c->lock);
    /* Checked a moment ago: no system call at all. */
    int64_t now_ms = c->valid_ms > 0 ? monotonic_ms() : 0;
    if (c->valid_ms > 0 &&
        now_ms - atomic_load_explicit(&e->checked_ms, memory_order_relaxed) <
            c->valid_ms)
        return &e->public;
    /* Else the one system call of a hit, made outside the lock. A link in
     * place of the file has another inode; a link in place of a
     * directory on the way can only lead to this same inode, which the
     * change time says has not been moved or linked since it was read. */
    struct stat now;
    if (fstatat(root_fd, e->file, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
        same_file(&now, &e->public.st)) {
        atomic_store_explicit(&e->checked_ms, now_ms, memory_order_relaxed);
        return &e->public;
    }
    pthread_mutex_lock(&c->lock);
    if (c->table[slot] == e) { /* stale: forget it (ours is not the last) */
        c->table[slot] = NULL;
        e->refs--;
    }
    unref(e);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}
/* excerpt:end acquire */

/* Reads exactly `size` bytes from the start of `fd`: false when the file
 * is shorter or longer than that now (it is changing: do not cache it). */
static bool read_whole(int fd, unsigned char *out, size_t size)
{
    size_t done = 0;
    while (done <= size) {
        unsigned char probe = 0;
        /* One byte past the end tells a file that grew. */
        unsigned char *into = done < size ? out + done : &probe;
        size_t want = done < size ? size - done : 1;
        ssize_t n = pread(fd, into, want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        if (n == 0)
            return done == size;
        done += (size_t)n;
    }
    return false;
}

const static_cached *static_cache_insert(static_cache *c, const char *path,
                                         const static_file *file)
{
    if (file->st.st_size < 0 || (uint64_t)file->st.st_size > c->max_file)
        return NULL;
    size_t size = (size_t)file->st.st_size;
    size_t n = strlen(path);
    /* "/dir/" was answered with its index.html: that is the file. */
    const char *index = n > 0 && path[n - 1] == '/' ? "index.html" : "";
    if (n >= NAME_BYTES || n + strlen(index) >= NAME_BYTES)
        return NULL;
    entry *e = malloc(sizeof *e + size);
    if (e == NULL)
        return NULL;
    memcpy(e->path, path, n + 1);
    /* fstatat wants it relative to the root: "a/b.txt", "index.html". */
    snprintf(e->file, sizeof e->file, "%s%s", path + 1, index);
    e->public = (static_cached){.st = file->st,
                                .content_type = file->content_type,
                                .size = size,
                                .bytes = e->bytes};
    if (!read_whole(file->fd, e->bytes, size)) {
        free(e);
        return NULL;
    }
    e->refs = 2; /* the table's and the caller's */
    /* The walk's fstat has just checked it. */
    atomic_init(&e->checked_ms, c->valid_ms > 0 ? monotonic_ms() : 0);
    size_t slot = slot_of(c, path);
    pthread_mutex_lock(&c->lock);
    if (c->table[slot] != NULL)
        unref(c->table[slot]);
    c->table[slot] = e;
    pthread_mutex_unlock(&c->lock);
    return &e->public;
}

void static_cache_release(static_cache *c, const static_cached *cached)
{
    entry *e = (entry *)(uintptr_t)cached; /* public is the first member */
    pthread_mutex_lock(&c->lock);
    unref(e);
    pthread_mutex_unlock(&c->lock);
}
