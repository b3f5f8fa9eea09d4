/*
 * selector_epoll.c - the epoll(7) backend, Linux only. The kernel keeps the
 * interest set between calls (epoll_ctl changes it), and epoll_wait returns
 * only the descriptors that are ready: O(ready), not O(watched), per
 * selection. Level-triggered, like Java's selector: a descriptor stays
 * ready until it has been read or written.
 */
#ifdef __linux__

#include "selector_backend.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct epoll_state {
    int epfd;
    struct epoll_event events[256]; /* one batch of results */
};

static void *epoll_create_state(void)
{
    struct epoll_state *s = malloc(sizeof *s);
    if (s == NULL)
        return NULL;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        int saved = errno;
        free(s);
        errno = saved;
        return NULL;
    }
    return s;
}

static void epoll_destroy(void *state)
{
    struct epoll_state *s = state;
    close(s->epfd);
    free(s);
}

static int epoll_control(struct epoll_state *s, int op, int fd, int events)
{
    struct epoll_event ev = {0};
    ev.events = ((events & BACKEND_READ) ? EPOLLIN : 0u) |
                ((events & BACKEND_WRITE) ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    return epoll_ctl(s->epfd, op, fd, &ev);
}

static int epoll_add(void *state, int fd, int events)
{
    return epoll_control(state, EPOLL_CTL_ADD, fd, events);
}

static int epoll_modify(void *state, int fd, int old_events, int new_events)
{
    (void)old_events;
    return epoll_control(state, EPOLL_CTL_MOD, fd, new_events);
}

static void epoll_remove(void *state, int fd, int old_events)
{
    (void)old_events;
    /* Fails harmlessly (EBADF, ENOENT) when fd was closed already: the
     * kernel dropped it from the set when its last reference went. */
    epoll_control(state, EPOLL_CTL_DEL, fd, 0);
}

static int epoll_wait_events(void *state, int timeout_ms, backend_event *fired,
                             int capacity)
{
    struct epoll_state *s = state;
    /* excerpt:begin wait */
    int max = capacity < 256 ? capacity : 256;
    int n = epoll_wait(s->epfd, s->events, max, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        unsigned r = s->events[i].events;
        fired[i].fd = s->events[i].data.fd;
        fired[i].events = ((r & EPOLLIN) ? BACKEND_READ : 0) |
                          ((r & EPOLLOUT) ? BACKEND_WRITE : 0) |
                          ((r & (EPOLLERR | EPOLLHUP)) ? BACKEND_ERROR : 0);
    }
    return n;
    /* excerpt:end wait */
}

const backend_ops backend_epoll_ops = {
    .name = "epoll",
    .max_fd = INT_MAX,
    .create = epoll_create_state,
    .destroy = epoll_destroy,
    .add = epoll_add,
    .modify = epoll_modify,
    .remove = epoll_remove,
    .wait = epoll_wait_events,
};

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int selector_epoll_unavailable;
#endif
