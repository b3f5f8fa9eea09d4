/*
 * static_handler.h - the servlet that serves files from a document root:
 * Tomcat's DefaultServlet, as an http_handler for the route table.
 *
 * It strings together the three steps of static_path.h and static_file.h
 * for one request: normalise the path, open the file by walking down from
 * the root, decide the answer from the validators and the range, and hand
 * the file to the response as a streamed body, which the server sends
 * with sendfile(2) as the socket drains (backpressure: a slow reader
 * costs an offset, not memory).
 *
 * httpd adds it as a prefix route for "/" with GET (and so HEAD): the
 * exact routes (/hello, /echo, /stats, /sleep) win over it, any other
 * method on a file gets 405 with Allow. It runs on the event loop: a
 * file on a local disk opens in microseconds (see the lesson for when
 * that stops being true).
 */
#ifndef NIO_STATIC_HANDLER_H
#define NIO_STATIC_HANDLER_H

#include <stdbool.h>

#include "07-http-server/http_router.h"
#include "log.h"

/* The route's context: read-only once the server runs, so the worker
 * loops share it without a lock (the cache has its own). */
typedef struct static_site {
    int root_fd;           /* the root, opened once: every walk starts here */
    bool list_directories; /* a directory without index.html: listed, or 403 */
    unsigned path_flags;   /* for static_path_normalize */
    struct static_cache *cache; /* small files (static_cache.h); NULL: none */
    const char *program;        /* for log lines */
    log_level log;
} static_site;

/* Opens `root` (a directory; links are followed here, once: the operator
 * chose it) for the site's lifetime. Small files are served from memory,
 * checked against the disk at most every cache_valid_ms (0: on every
 * request). 0, or -1 with errno. */
int static_site_open(static_site *site, const char *root, bool list_directories,
                     long cache_valid_ms, const char *program, log_level log);
void static_site_close(static_site *site);

/* The handler; `context` is the static_site. */
void static_handler(const http_request *request, http_response *response,
                    void *context);

#endif
