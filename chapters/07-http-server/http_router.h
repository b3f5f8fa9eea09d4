/*
 * http_router.h - which handler answers a request: the seed's servlet
 * dispatch, as a table instead of a class scan.
 *
 * The seed finds every subclass of HttpServlet on the class path and calls
 * service() on each of them, for every request. Here a route says which
 * methods and which path it answers, and exactly one handler runs: the
 * route whose path matches exactly, else the one with the longest prefix.
 * The framework answers what no handler should have to:
 *   404  no route has this path;
 *   405  a route has the path but not the method (with Allow);
 *   501  no route anywhere uses the method (TRACE, PURGE, ...);
 *   OPTIONS gets 204 with Allow; HEAD goes wherever GET goes.
 *
 * A route can ask for the request's body (the server reads it all before
 * the handler runs) and can be marked blocking (it runs on a thread pool,
 * not on the event loop). The table is filled before the server starts
 * and only read afterwards, so threads share it without a lock.
 */
#ifndef NIO_HTTP_ROUTER_H
#define NIO_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "07-http-server/http_parser.h"
#include "07-http-server/http_response.h"

/* Java's HttpServlet.service(request, response), with the servlet's own
 * state as `context`. */
typedef void http_handler(const http_request *request, http_response *response,
                          void *context);

/* A set of methods: HTTP_METHODS(HTTP_GET) | HTTP_METHODS(HTTP_POST). */
#define HTTP_METHODS(m) (1u << (m))

enum http_route_flags {
    HTTP_ROUTE_PREFIX = 1,     /* `path` is a prefix ("/files/") */
    HTTP_ROUTE_READS_BODY = 2, /* the handler needs request->body */
    HTTP_ROUTE_BLOCKING = 4    /* run the handler on the thread pool */
};

typedef struct http_route {
    unsigned methods; /* HTTP_METHODS(...) | ...; GET brings HEAD along */
    const char *path; /* "/hello", or a prefix with HTTP_ROUTE_PREFIX */
    unsigned flags;
    http_handler *handler;
    void *context;
} http_route;

typedef struct http_router {
    http_route *routes;
    size_t count;
    size_t capacity;
    unsigned methods; /* every method some route answers */
} http_router;

#define HTTP_ROUTER_INIT                                                       \
    {                                                                          \
        NULL, 0, 0, 0                                                          \
    }

/* Adds a copy of `route` (its path must outlive the router). 0, or -1
 * with errno (EINVAL: no handler, no methods, a path not starting with
 * '/'; ENOMEM). */
int http_router_add(http_router *router, const http_route *route);
void http_router_free(http_router *router);

/* The route for `method` and `path`, or NULL with *status the answer the
 * framework gives (404, 405, 501, or 204 for OPTIONS) and *allow the
 * methods the path does answer (for 405 and OPTIONS). */
const http_route *http_router_find(const http_router *router,
                                   http_method method, http_string path,
                                   int *status, unsigned *allow);

/* "GET, HEAD, POST" for a set of methods; OPTIONS is always listed.
 * Returns `out`. */
char *http_router_allow_text(unsigned methods, char *out, size_t size);

#endif
