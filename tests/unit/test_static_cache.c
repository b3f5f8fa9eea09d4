/*
 * test_static_cache.c - the small-file cache: a hit serves the bytes that
 * were read; any change to the file that its ETag (or its change time)
 * would show makes the next lookup miss; big files, long paths and links
 * are never cached; an entry evicted while held stays readable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "07-http-server/static_cache.h"
#include "07-http-server/static_file.h"
#include "tap.h"

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* What the server does on a miss: the walk, then the cache. */
static const static_cached *walk_and_insert(static_cache *c, int root,
                                            const char *path)
{
    static_file file;
    if (static_file_open(root, path, &file) != STATIC_OPEN_FILE)
        return NULL;
    const static_cached *e = static_cache_insert(c, path, &file);
    close(file.fd);
    return e;
}

static bool holds(const static_cached *e, const char *text)
{
    return e != NULL && e->size == strlen(text) &&
           memcmp(e->bytes, text, e->size) == 0;
}

/* A hit returns the bytes; the caller gives the entry back. */
static bool hit(static_cache *c, int root, const char *path, const char *text)
{
    const static_cached *e = static_cache_acquire(c, root, path);
    bool ok = holds(e, text);
    if (e != NULL)
        static_cache_release(c, e);
    return ok;
}

/* A cache with the given window that holds w.txt as "old", which is then
 * rewritten on disk as "newer". */
static static_cache *cache_then_change(const char *dir, int root, long valid_ms)
{
    static_cache *c = static_cache_create(8, 16, valid_ms);
    write_file(dir, "w.txt", "old");
    const static_cached *e = walk_and_insert(c, root, "/w.txt");
    if (e != NULL)
        static_cache_release(c, e);
    write_file(dir, "w.txt", "newer");
    return c;
}

int main(void)
{
    tap t = {0};
    char dir[] = "/tmp/test_static_cache.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0755);
    write_file(dir, "a.txt", "first");
    write_file(dir, "sub/index.html", "<p>index</p>");
    write_file(dir, "big.bin", "0123456789abcdefX"); /* 17 bytes */
    int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    static_cache *c = static_cache_create(8, 16, 0);
    TAP_OK(&t, root >= 0 && c != NULL, "a root and a cache");

    TAP_OK(&t, static_cache_acquire(c, root, "/a.txt") == NULL,
           "nothing is cached at first");
    const static_cached *e = walk_and_insert(c, root, "/a.txt");
    TAP_OK(&t, holds(e, "first"), "insert reads the whole file");
    TAP_OK(&t,
           e != NULL &&
               strcmp(e->content_type, "text/plain; charset=utf-8") == 0,
           "with its media type");
    if (e != NULL)
        static_cache_release(c, e);
    TAP_OK(&t, hit(c, root, "/a.txt", "first"), "the next lookup hits");

    /* Rewritten with another size: a miss, and the walk reads it anew. */
    write_file(dir, "a.txt", "second!");
    TAP_OK(&t, static_cache_acquire(c, root, "/a.txt") == NULL,
           "a rewritten file misses");
    e = walk_and_insert(c, root, "/a.txt");
    TAP_OK(&t, holds(e, "second!"), "and is read again");
    if (e != NULL)
        static_cache_release(c, e);

    /* The same size, only the modification time moved (as a rewrite in
     * the same clock tick of a coarse file system could not): a miss. */
    char path[700];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    struct timespec times[2] = {{0, UTIME_OMIT}, {784111777, 0}};
    TAP_OK(&t, utimensat(AT_FDCWD, path, times, 0) == 0, "touch a.txt");
    TAP_OK(&t, static_cache_acquire(c, root, "/a.txt") == NULL,
           "a new modification time misses");
    e = walk_and_insert(c, root, "/a.txt");
    if (e != NULL)
        static_cache_release(c, e);

    /* Replaced by a new file of the same size (a new inode): a miss. */
    char fresh[700];
    snprintf(fresh, sizeof fresh, "%s/fresh", dir);
    write_file(dir, "fresh", "SECOND!");
    TAP_OK(&t, rename(fresh, path) == 0, "rename over a.txt");
    TAP_OK(&t, static_cache_acquire(c, root, "/a.txt") == NULL,
           "a file renamed in its place misses");
    e = walk_and_insert(c, root, "/a.txt");
    TAP_OK(&t, holds(e, "SECOND!"), "and the new bytes are read");

    /* Evicted while held (a write, then a lookup by another request):
     * the holder's bytes stay valid until it lets go. */
    write_file(dir, "a.txt", "third, longer");
    TAP_OK(&t, static_cache_acquire(c, root, "/a.txt") == NULL,
           "a change drops the entry");
    TAP_OK(&t, holds(e, "SECOND!"), "a holder still reads its bytes");
    if (e != NULL)
        static_cache_release(c, e);

    /* Replaced by a link: never served from the cache. */
    e = walk_and_insert(c, root, "/a.txt");
    if (e != NULL)
        static_cache_release(c, e);
    TAP_OK(&t, unlink(path) == 0 && symlink("sub/index.html", path) == 0,
           "a.txt becomes a link");
    TAP_OK(&t, static_cache_acquire(c, root, "/a.txt") == NULL,
           "a link in the file's place misses");
    TAP_OK(&t, walk_and_insert(c, root, "/a.txt") == NULL,
           "and the walk refuses it");

    /* Removed: a miss. */
    unlink(path);
    TAP_OK(&t, static_cache_acquire(c, root, "/a.txt") == NULL,
           "a removed file misses");

    /* A directory's index.html is cached under the directory's path, and
     * validated by the index's own metadata. */
    e = walk_and_insert(c, root, "/sub/");
    TAP_OK(&t, holds(e, "<p>index</p>"), "/sub/ caches sub/index.html");
    if (e != NULL)
        static_cache_release(c, e);
    TAP_OK(&t, hit(c, root, "/sub/", "<p>index</p>"), "/sub/ hits");
    write_file(dir, "sub/index.html", "<p>new index</p>");
    TAP_OK(&t, static_cache_acquire(c, root, "/sub/") == NULL,
           "a changed index.html misses");

    /* Bigger than max_file: not cached. */
    TAP_OK(&t, walk_and_insert(c, root, "/big.bin") == NULL,
           "a file over max_file is not cached");
    TAP_OK(&t, static_cache_acquire(c, root, "/big.bin") == NULL,
           "and never hits");

    static_cache_free(c);

    /* With a validity window, an entry checked less than valid_ms ago is
     * served without a stat, stale or not: the old bytes, consistently.
     * 60 s is longer than any run of this test. */
    c = cache_then_change(dir, root, 60000);
    TAP_OK(&t, hit(c, root, "/w.txt", "old"),
           "within valid_ms, a changed file is still served as it was");
    static_cache_free(c);

    /* Once valid_ms has passed, the next lookup checks and misses. */
    c = cache_then_change(dir, root, 20);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool missed = false;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited = (now.tv_sec - start.tv_sec) * 1000 +
                      (now.tv_nsec - start.tv_nsec) / 1000000;
        const static_cached *w = static_cache_acquire(c, root, "/w.txt");
        if (w == NULL) {
            missed = true;
            break;
        }
        static_cache_release(c, w);
        if (waited > 5000)
            break;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    TAP_OK(&t, missed, "after valid_ms the change is seen: a miss");
    static_cache_free(c);
    snprintf(path, sizeof path, "%s/w.txt", dir);
    unlink(path);

    close(root);
    snprintf(path, sizeof path, "%s/a.txt", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/big.bin", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/sub/index.html", dir);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
    return tap_done(&t);
}
