/*
 * selector_select.c - the select(2) backend: the oldest, the most portable,
 * and limited twice over. It can only watch descriptors below FD_SETSIZE
 * (1,024 on Linux): FD_SET on a larger one writes past the end of the set,
 * so add refuses it. And every call hands the kernel the whole set and
 * scans all of it afterwards: O(highest descriptor) per selection.
 */
#include "selector_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/select.h>

struct select_state {
    fd_set readers, writers; /* what we want; select overwrites copies */
    int max_fd;              /* highest watched descriptor, -1 for none */
};

static void *select_create(void)
{
    struct select_state *s = malloc(sizeof *s);
    if (s == NULL)
        return NULL;
    FD_ZERO(&s->readers);
    FD_ZERO(&s->writers);
    s->max_fd = -1;
    return s;
}

static void select_destroy(void *state)
{
    free(state);
}

static int select_modify(void *state, int fd, int old_events, int new_events)
{
    struct select_state *s = state;
    (void)old_events;
    /* excerpt:begin fd-setsize */
    /* An fd_set is a bit array of FD_SETSIZE bits: FD_SET on a larger
     * descriptor writes past its end. do_register refuses such a one
     * first (max_fd below); this is the last line of defence. */
    if (fd < 0 || fd >= FD_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    /* excerpt:end fd-setsize */
    if (new_events & BACKEND_READ)
        FD_SET(fd, &s->readers);
    else
        FD_CLR(fd, &s->readers);
    if (new_events & BACKEND_WRITE)
        FD_SET(fd, &s->writers);
    else
        FD_CLR(fd, &s->writers);
    if (new_events != 0 && fd > s->max_fd)
        s->max_fd = fd;
    /* Shrink max_fd past descriptors no longer watched. */
    while (s->max_fd >= 0 && !FD_ISSET(s->max_fd, &s->readers) &&
           !FD_ISSET(s->max_fd, &s->writers))
        s->max_fd--;
    return 0;
}

static int select_add(void *state, int fd, int events)
{
    return select_modify(state, fd, 0, events);
}

static void select_remove(void *state, int fd, int old_events)
{
    select_modify(state, fd, old_events, 0);
}

static int select_wait(void *state, int timeout_ms, backend_event *fired,
                       int capacity)
{
    struct select_state *s = state;
    fd_set r = s->readers, w = s->writers;
    struct timeval tv, *tvp = NULL;
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    /* excerpt:begin scan */
    int n = select(s->max_fd + 1, &r, &w, NULL, tvp);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    /* The O(n) part: look at every descriptor up to the highest. */
    int count = 0;
    for (int fd = 0; fd <= s->max_fd && count < capacity && n > 0; fd++) {
        int events = (FD_ISSET(fd, &r) ? BACKEND_READ : 0) |
                     (FD_ISSET(fd, &w) ? BACKEND_WRITE : 0);
        if (events != 0) {
            fired[count].fd = fd;
            fired[count].events = events;
            count++;
            /* select counts set bits: one or two per descriptor */
            n -= (events & BACKEND_READ ? 1 : 0) +
                 (events & BACKEND_WRITE ? 1 : 0);
        }
    }
    return count;
    /* excerpt:end scan */
}

const backend_ops backend_select_ops = {
    .name = "select",
    .max_fd = FD_SETSIZE - 1,
    .create = select_create,
    .destroy = select_destroy,
    .add = select_add,
    .modify = select_modify,
    .remove = select_remove,
    .wait = select_wait,
};
