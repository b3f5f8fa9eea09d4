/*
 * selector_backend.h - the small interface that select(2), poll(2) and
 * epoll(7) each fill in, one file per backend (after Redis's ae.c).
 *
 * A backend knows nothing of keys or Java: it watches descriptors for
 * "readable" and "writable" and reports what fired in an array. The
 * selector (selector.c) turns that into ready ops.
 */
#ifndef NIO_SELECTOR_BACKEND_H
#define NIO_SELECTOR_BACKEND_H

#include <stdbool.h>

enum {
    BACKEND_READ = 1,  /* readable, or a listener with a pending connection */
    BACKEND_WRITE = 2, /* writable, or a connect that finished */
    BACKEND_ERROR = 4  /* hang-up or error: ready for whatever is wanted */
};

typedef struct backend_event {
    int fd;
    int events; /* BACKEND_* bits */
} backend_event;

/* excerpt:begin backend-ops */
typedef struct backend_ops {
    const char *name;
    int max_fd; /* the largest descriptor it can watch */
    /* NULL with errno on failure. */
    void *(*create)(void);
    void (*destroy)(void *state);
    /* Start, change or stop watching fd. `events` is never 0 for add and
     * modify: a key with no interest is removed instead, because poll and
     * epoll report hang-ups even for an empty interest set. 0 or -1. */
    int (*add)(void *state, int fd, int events);
    int (*modify)(void *state, int fd, int old_events, int new_events);
    void (*remove)(void *state, int fd, int old_events);
    /* Waits up to timeout_ms (-1: forever, 0: not at all); fills at most
     * `capacity` events and returns how many, 0 when interrupted by a
     * signal, -1 with errno on failure. */
    int (*wait)(void *state, int timeout_ms, backend_event *fired,
                int capacity);
} backend_ops;
/* excerpt:end backend-ops */

extern const backend_ops backend_select_ops;
extern const backend_ops backend_poll_ops;
#ifdef __linux__
extern const backend_ops backend_epoll_ops;
#endif

#endif
