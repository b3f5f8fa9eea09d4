/*
 * http_router.c - the route table (http_router.h). A linear scan: a server
 * has a handful of routes, and a scan over a few entries in one cache line
 * or two beats a cleverer structure until there are dozens.
 */
#include "07-http-server/http_router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int http_router_add(http_router *router, const http_route *route)
{
    if (router == NULL || route == NULL || route->handler == NULL ||
        route->methods == 0 || route->path == NULL || route->path[0] != '/') {
        errno = EINVAL;
        return -1;
    }
    if (router->count == router->capacity) {
        size_t capacity = router->capacity ? router->capacity * 2 : 8;
        http_route *routes = realloc(router->routes, capacity * sizeof *routes);
        if (routes == NULL)
            return -1;
        router->routes = routes;
        router->capacity = capacity;
    }
    http_route copy = *route;
    if (copy.methods & HTTP_METHODS(HTTP_GET))
        copy.methods |= HTTP_METHODS(HTTP_HEAD);
    router->routes[router->count++] = copy;
    router->methods |= copy.methods;
    return 0;
}

void http_router_free(http_router *router)
{
    free(router->routes);
    *router = (http_router)HTTP_ROUTER_INIT;
}

/* How well a route's path fits: 0 not at all, else longer is better and
 * an exact match beats every prefix. */
static size_t fit(const http_route *route, http_string path)
{
    size_t n = strlen(route->path);
    if (route->flags & HTTP_ROUTE_PREFIX) {
        if (path.length >= n && memcmp(path.data, route->path, n) == 0)
            return n;
        return 0;
    }
    if (path.length == n && memcmp(path.data, route->path, n) == 0)
        return (size_t)-1;
    return 0;
}

/* excerpt:begin find */
const http_route *http_router_find(const http_router *router,
                                   http_method method, http_string path,
                                   int *status, unsigned *allow)
{
    unsigned bit = HTTP_METHODS(method);
    *allow = 0;
    if (method == HTTP_METHOD_OTHER ||
        (!(router->methods & bit) && method != HTTP_OPTIONS)) {
        *status = 501; /* no route anywhere answers this method */
        return NULL;
    }
    size_t best = 0;
    for (size_t i = 0; i < router->count; i++) {
        size_t f = fit(&router->routes[i], path);
        if (f > best) {
            best = f;
            *allow = 0;
        }
        if (f == best && f > 0)
            *allow |= router->routes[i].methods;
    }
    if (best == 0) {
        *status = 404;
        return NULL;
    }
    for (size_t i = 0; i < router->count; i++)
        if (fit(&router->routes[i], path) == best &&
            (router->routes[i].methods & bit)) {
            *status = 0;
            return &router->routes[i];
        }
    *status = method == HTTP_OPTIONS ? 204 : 405;
    return NULL;
}
/* excerpt:end find */

char *http_router_allow_text(unsigned methods, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    methods |= HTTP_METHODS(HTTP_OPTIONS);
    for (int m = HTTP_GET; m <= HTTP_PATCH; m++) {
        if (!(methods & HTTP_METHODS(m)))
            continue;
        const char *name = http_method_name((http_method)m);
        size_t need = strlen(name) + (used ? 2 : 0);
        if (used + need + 1 > size)
            break;
        if (used)
            memcpy(out + used, ", ", 2);
        memcpy(out + used + (used ? 2 : 0), name, strlen(name) + 1);
        used += need;
    }
    return out;
}
