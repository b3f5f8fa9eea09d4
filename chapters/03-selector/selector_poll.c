/*
 * selector_poll.c - the poll(2) backend. No FD_SETSIZE limit, but like
 * select it passes every watched descriptor to the kernel on each call and
 * scans them all afterwards: O(watched descriptors) per selection.
 *
 * The pollfd array is kept dense (removal swaps the last entry in), and
 * slot_of maps a descriptor to its entry so that modify and remove are
 * O(1).
 */
#include "selector_backend.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>

struct poll_state {
    struct pollfd *fds;
    int count, capacity;
    int *slot_of; /* slot_of[fd] = index in fds, or -1 */
    int slots;    /* length of slot_of */
};

static void *poll_create(void)
{
    return calloc(1, sizeof(struct poll_state));
}

static void poll_destroy(void *state)
{
    struct poll_state *s = state;
    free(s->fds);
    free(s->slot_of);
    free(s);
}

/* lab:begin poll_helpers "Three backends" */
static short poll_bits(int events)
{
    return (short)(((events & BACKEND_READ) ? POLLIN : 0) |
                   ((events & BACKEND_WRITE) ? POLLOUT : 0));
}

/* Grows both arrays so that fd fits; doubling keeps it amortised O(1). */
static int poll_reserve(struct poll_state *s, int fd)
{
    if (fd >= s->slots) {
        int slots = s->slots ? s->slots : 64;
        while (slots <= fd)
            slots *= 2;
        int *grown = realloc(s->slot_of, (size_t)slots * sizeof *grown);
        if (grown == NULL)
            return -1;
        for (int i = s->slots; i < slots; i++)
            grown[i] = -1;
        s->slot_of = grown;
        s->slots = slots;
    }
    if (s->count == s->capacity) {
        int capacity = s->capacity ? s->capacity * 2 : 64;
        struct pollfd *grown =
            realloc(s->fds, (size_t)capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        s->fds = grown;
        s->capacity = capacity;
    }
    return 0;
}
/* lab:end poll_helpers */

static int poll_add(void *state, int fd, int events)
{
    /* lab:begin poll_add "Three backends" errno = ENOSYS; return -1; */
    struct poll_state *s = state;
    if (fd < 0) {
        errno = EINVAL;
        return -1;
    }
    if (poll_reserve(s, fd) < 0) {
        errno = ENOMEM;
        return -1;
    }
    s->fds[s->count] = (struct pollfd){.fd = fd, .events = poll_bits(events)};
    s->slot_of[fd] = s->count++;
    return 0;
    /* lab:end poll_add */
}

static int poll_modify(void *state, int fd, int old_events, int new_events)
{
    /* lab:begin poll_modify "Three backends" errno = ENOSYS; return -1; */
    struct poll_state *s = state;
    (void)old_events;
    if (fd < 0 || fd >= s->slots || s->slot_of[fd] < 0) {
        errno = ENOENT;
        return -1;
    }
    s->fds[s->slot_of[fd]].events = poll_bits(new_events);
    return 0;
    /* lab:end poll_modify */
}

static void poll_remove(void *state, int fd, int old_events)
{
    /* lab:begin poll_remove "Three backends"  */
    struct poll_state *s = state;
    (void)old_events;
    if (fd < 0 || fd >= s->slots || s->slot_of[fd] < 0)
        return;
    int slot = s->slot_of[fd];
    s->fds[slot] = s->fds[--s->count];
    s->slot_of[s->fds[slot].fd] = slot;
    s->slot_of[fd] = -1;
    /* lab:end poll_remove */
}

static int poll_wait(void *state, int timeout_ms, backend_event *fired,
                     int capacity)
{
    /* lab:begin poll_wait "Three backends" errno = ENOSYS; return -1; */
    struct poll_state *s = state;
    int n = poll(s->fds, (nfds_t)s->count, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    int count = 0;
    for (int i = 0; i < s->count && count < capacity && n > 0; i++) {
        short r = s->fds[i].revents;
        if (r == 0)
            continue;
        n--;
        fired[count].fd = s->fds[i].fd;
        fired[count].events =
            ((r & POLLIN) ? BACKEND_READ : 0) |
            ((r & POLLOUT) ? BACKEND_WRITE : 0) |
            ((r & (POLLERR | POLLHUP | POLLNVAL)) ? BACKEND_ERROR : 0);
        count++;
    }
    return count;
    /* lab:end poll_wait */
}

const backend_ops backend_poll_ops = {
    .name = "poll",
    .max_fd = INT_MAX,
    .create = poll_create,
    .destroy = poll_destroy,
    .add = poll_add,
    .modify = poll_modify,
    .remove = poll_remove,
    .wait = poll_wait,
};
