/*
 * static_handler.c - one request for a file, from the path to the
 * streamed body (static_handler.h).
 */
#include "07-http-server/static_handler.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "07-http-server/static_cache.h"
#include "07-http-server/static_file.h"
#include "07-http-server/static_path.h"

enum {
    PATH_MAX_BYTES = 8192, /* a longer decoded path is 414 */
    CACHE_SLOTS = 64,      /* small files kept in memory (static_cache.h) */
    CACHE_MAX_FILE = 16384 /* bigger ones are sent with sendfile */
};

int static_site_open(static_site *site, const char *root, bool list_directories,
                     long cache_valid_ms, const char *program, log_level log)
{
    int fd;
    do
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -1;
    static_cache *cache =
        static_cache_create(CACHE_SLOTS, CACHE_MAX_FILE, cache_valid_ms);
    if (cache == NULL) {
        close(fd);
        return -1;
    }
    *site = (static_site){.root_fd = fd,
                          .list_directories = list_directories,
                          .path_flags = 0,
                          .cache = cache,
                          .program = program,
                          .log = log};
    return 0;
}

void static_site_close(static_site *site)
{
    if (site->root_fd >= 0)
        close(site->root_fd);
    site->root_fd = -1;
    static_cache_free(site->cache);
    site->cache = NULL;
}

/* A status with its reason as the body, as the framework answers. */
static void answer(http_response *response, int status)
{
    http_response_set_status(response, status);
    http_response_add_header(response, "Content-Type",
                             "text/plain; charset=utf-8");
    http_response_printf(response, "%s\r\n", http_status_reason(status));
}

/* excerpt:begin body */
/* The body of a file response: where the file is and how far it has
 * gone. The response owns it from set_body_stream on, and releases it
 * (closing the file) once, whether the body was sent, cut short by a
 * reset, or abandoned at shutdown. */
typedef struct file_body {
    int fd;
    uint64_t offset;
} file_body;

static ssize_t file_body_send(void *source, int socket_fd, uint64_t max)
{
    file_body *body = source;
    return static_file_send(body->fd, socket_fd, &body->offset, max);
}

static void file_body_release(void *source)
{
    file_body *body = source;
    close(body->fd);
    free(body);
}
/* excerpt:end body */

/* The first value of a field, or {NULL, 0} when it was not sent. */
static http_string field(const http_request *request, const char *name)
{
    const http_header *h = http_request_header(request, name);
    return h != NULL ? h->value : (http_string){NULL, 0};
}

/* excerpt:begin file */
/* Decides from the request's validators and range (static_file_decide)
 * and writes the fields it chose. */
static void decide(const http_request *request, http_response *response,
                   const struct stat *st, const char *content_type,
                   static_response *r)
{
    const static_request rq = {
        .head = request->method == HTTP_HEAD,
        .if_match = field(request, "If-Match"),
        .if_none_match = field(request, "If-None-Match"),
        .if_modified_since = field(request, "If-Modified-Since"),
        .if_unmodified_since = field(request, "If-Unmodified-Since"),
        .range = field(request, "Range"),
        .if_range = field(request, "If-Range"),
        .now = (int64_t)time(NULL), /* the Date field's second, or one before */
    };
    static_file_decide(&rq, st, content_type, r);
    http_response_set_status(response, r->status);
    if (r->content_type != NULL) {
        http_response_add_header(response, "Content-Type", r->content_type);
        http_response_add_header(response, "X-Content-Type-Options", "nosniff");
    }
    if (r->status == 200 || r->status == 206)
        http_response_add_header(response, "Accept-Ranges", "bytes");
    if (r->etag[0] != '\0')
        http_response_add_header(response, "ETag", r->etag);
    if (r->last_modified[0] != '\0')
        http_response_add_header(response, "Last-Modified", r->last_modified);
    if (r->content_range[0] != '\0')
        http_response_add_header(response, "Content-Range", r->content_range);
}

/* A regular file too big to cache: the response streams it from the
 * descriptor with sendfile. HEAD gets the same fields (and the same
 * Content-Length), and the server sends no body. */
static void send_file(const http_request *request, http_response *response,
                      static_file *file)
{
    static_response r;
    decide(request, response, &file->st, file->content_type, &r);
    file_body *body = NULL;
    if (r.status != 200 && r.status != 206) { /* 304, 412, 416: no body */
        close(file->fd);
        return;
    }
    if ((body = malloc(sizeof *body)) == NULL) {
        close(file->fd);
        http_response_reset(response);
        answer(response, 500);
        return;
    }
    *body = (file_body){file->fd, r.offset};
    http_response_set_body_stream(response, r.length, file_body_send,
                                  file_body_release, body);
}

/* A small file from the cache: its bytes go into the response's body
 * buffer, and out in the same writev(2) as the status line and fields. */
static void send_cached(const http_request *request, http_response *response,
                        const static_cached *file)
{
    static_response r;
    decide(request, response, &file->st, file->content_type, &r);
    if (r.status == 200 || r.status == 206)
        http_response_write(response, file->bytes + r.offset, (size_t)r.length);
}
/* excerpt:end file */ /* excerpt:end file */

static void list_directory(const static_site *site, http_response *response,
                           static_file *dir, const char *path)
{
    if (!site->list_directories) {
        close(dir->fd);
        answer(response, 403);
        return;
    }
    char *html = NULL;
    size_t length = 0;
    int rc = static_file_list_directory(dir->fd, path, site->path_flags, &html,
                                        &length);
    int error = errno;
    close(dir->fd);
    if (rc < 0) {
        log_at(site->log, LOG_WARN, site->program, "listing %s: %s", path,
               strerror(error));
        answer(response, 500);
        return;
    }
    http_response_add_header(response, "Content-Type", dir->content_type);
    http_response_add_header(response, "X-Content-Type-Options", "nosniff");
    http_response_write(response, html, length);
    free(html);
}

static void redirect(const static_site *site, http_response *response,
                     const char *path)
{
    /* Sized from the path: every byte may become "%XX", then the '/'. */
    size_t size = 3 * strlen(path) + 2;
    char *location = malloc(size);
    if (location == NULL || static_file_location(path, location, size) == 0 ||
        !http_response_add_header(response, "Location", location)) {
        log_at(site->log, LOG_WARN, site->program,
               "no Location for a %zu-byte path", strlen(path));
        free(location);
        answer(response, 500);
        return;
    }
    free(location);
    http_response_set_status(response, 301);
    http_response_add_header(response, "Content-Type",
                             "text/plain; charset=utf-8");
    http_response_printf(response, "%s\r\n", http_status_reason(301));
}

/* excerpt:begin handler */
void static_handler(const http_request *request, http_response *response,
                    void *context)
{
    const static_site *site = context;
    char path[PATH_MAX_BYTES];
    /* 1. Decode once, then normalise: "/a/%2e%2e/b" is "/b"; "/../x" is
     * refused (400), never clamped. */
    static_path_status ps =
        static_path_normalize(request->path.data, request->path.length,
                              site->path_flags, path, sizeof path, NULL);
    if (ps != STATIC_PATH_OK) {
        answer(response, static_path_http_status(ps));
        return;
    }
    /* 2. A small file seen before, and unchanged since: one stat, or
     * none if it was checked less than cache_valid_ms ago. */
    const static_cached *cached =
        site->cache ? static_cache_acquire(site->cache, site->root_fd, path)
                    : NULL;
    if (cached != NULL) {
        send_cached(request, response, cached);
        static_cache_release(site->cache, cached);
        return;
    }
    /* 3. Walk down from the root, one openat(O_NOFOLLOW) per segment. */
    static_file file;
    static_open_status os = static_file_open(site->root_fd, path, &file);
    if (os == STATIC_OPEN_FILE && site->cache != NULL &&
        (cached = static_cache_insert(site->cache, path, &file)) != NULL) {
        close(file.fd);
        send_cached(request, response, cached);
        static_cache_release(site->cache, cached);
        return;
    }
    switch (os) {
    case STATIC_OPEN_FILE: send_file(request, response, &file); return;
    case STATIC_OPEN_DIRECTORY:
        list_directory(site, response, &file, path);
        return;
    case STATIC_OPEN_REDIRECT: redirect(site, response, path); return;
    case STATIC_OPEN_ERROR:
        log_at(site->log, LOG_WARN, site->program, "opening %s: %s", path,
               strerror(errno));
        break;
    case STATIC_OPEN_NOT_FOUND:
    case STATIC_OPEN_FORBIDDEN: break;
    }
    answer(response, static_open_http_status(os));
}
/* excerpt:end handler */
