/*
 * selector.c - Java's Selector on top of one backend (selector_backend.h).
 *
 * The bookkeeping Java keeps in three sets lives in the keys themselves:
 * each key is on the list of all keys, maybe on the selected list, maybe on
 * the cancelled list. A table indexed by descriptor finds the key for a
 * descriptor that fired, as Redis's event loop does. Since the kernel
 * reuses a closed descriptor's number at once (and malloc a freed
 * channel's memory), a key also remembers which open file it watches.
 */
#include "selector.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "selector_backend.h"

struct selection_key {
    /* The key's place on its channel's list of keys (channel.h). First,
     * so that the link the channel hands back is the key itself. */
    channel_key_link link;
    selector *owner;
    channel *ch; /* NULL for selector_register_fd */
    void *attachment;
    selection_key *all_prev, *all_next;
    selection_key *sel_prev, *sel_next;
    selection_key *cancel_next;
    /* Which open file the descriptor named when it registered. A closed
     * descriptor's number comes back at once, and a freed channel's memory
     * too, so neither fd nor ch alone tells "the same channel again" from
     * "a new channel where an old one was". */
    dev_t dev;
    ino_t ino;
    int fd;
    /* Java's ops fit in a byte; an int each would push the key past 120
     * bytes, into the next size of malloc block (see below). */
    uint8_t valid_ops;
    uint8_t interest;
    uint8_t ready;
    bool cancelled;
    bool in_selected;
};

/* Every connection has a key: with glibc's malloc, 120 bytes is the
 * largest key that takes a 128-byte block, and the next block is 144. */
_Static_assert(sizeof(selection_key) <= 120,
               "selection_key outgrew its 128-byte block of memory");

struct selector {
    const backend_ops *ops;
    void *state;
    selector_backend backend;
    selection_key **key_of_fd; /* key_of_fd[fd], NULL when none */
    int fd_slots;
    selection_key *all_keys;
    size_t key_count;
    selection_key *selected;
    selection_key *selected_tail;
    size_t selected_count;
    selection_key *cancelled;
    backend_event *fired;
    int fired_capacity;
    /* wakeup: a Pipe channel whose source the backend watches, and a flag
     * so that a burst of wakeups writes one byte, not thousands. */
    channel *wake_source, *wake_sink;
    int wake_fd; /* wake_source's descriptor, -1 when none */
    atomic_bool wake_pending;
};

const char *selector_status_name(selector_status status)
{
    switch (status) {
    case SELECTOR_OK: return "SELECTOR_OK";
    case SELECTOR_BAD_ARGUMENT: return "SELECTOR_BAD_ARGUMENT";
    case SELECTOR_CLOSED: return "SELECTOR_CLOSED";
    case SELECTOR_CANCELLED_KEY: return "SELECTOR_CANCELLED_KEY";
    case SELECTOR_BLOCKING_CHANNEL: return "SELECTOR_BLOCKING_CHANNEL";
    case SELECTOR_INVALID_OPS: return "SELECTOR_INVALID_OPS";
    case SELECTOR_FD_TOO_LARGE: return "SELECTOR_FD_TOO_LARGE";
    case SELECTOR_FD_IN_USE: return "SELECTOR_FD_IN_USE";
    case SELECTOR_SYSTEM_ERROR: return "SELECTOR_SYSTEM_ERROR";
    case SELECTOR_NO_MEMORY: return "SELECTOR_NO_MEMORY";
    case SELECTOR_CLOSED_CHANNEL: return "SELECTOR_CLOSED_CHANNEL";
    }
    return "SELECTOR_UNKNOWN_STATUS";
}

/* --- backends --------------------------------------------------------- */

static const backend_ops *ops_of(selector_backend backend)
{
    switch (backend) {
    case SELECTOR_BACKEND_SELECT: return &backend_select_ops;
    case SELECTOR_BACKEND_POLL: return &backend_poll_ops;
    case SELECTOR_BACKEND_EPOLL:
#ifdef __linux__
        return &backend_epoll_ops;
#else
        return NULL;
#endif
    }
    return NULL;
}

static const char *const backend_names[] = {"select", "poll", "epoll"};

bool selector_backend_parse(const char *name, selector_backend *out)
{
    for (int i = 0; name != NULL && i < 3; i++) {
        const char *a = name, *b = backend_names[i];
        while (*a != '\0' && *a == *b)
            a++, b++;
        if (*a == '\0' && *b == '\0') {
            *out = (selector_backend)i;
            return true;
        }
    }
    return false;
}

const char *selector_backend_name(selector_backend backend)
{
    return (unsigned)backend < 3 ? backend_names[backend] : "?";
}

selector_backend selector_default_backend(void)
{
#ifdef __linux__
    return SELECTOR_BACKEND_EPOLL;
#else
    return SELECTOR_BACKEND_POLL;
#endif
}

bool selector_backend_available(selector_backend backend)
{
    return ops_of(backend) != NULL;
}

selector_backend selector_backend_or_die(const char *program, const char *name)
{
    selector_backend backend;
    if (!selector_backend_parse(name, &backend) ||
        !selector_backend_available(backend))
        die(program, "bad backend '%s': want select, poll or epoll", name);
    return backend;
}

/* --- opening and closing ---------------------------------------------- */

static int grow_tables(selector *sel, int fd);

selector *selector_open(selector_backend backend)
{
    const backend_ops *ops = ops_of(backend);
    if (ops == NULL) {
        errno = ENOSYS;
        return NULL;
    }
    selector *sel = calloc(1, sizeof *sel);
    if (sel == NULL)
        return NULL;
    sel->ops = ops;
    sel->backend = backend;
    sel->wake_fd = -1;
    atomic_init(&sel->wake_pending, false);
    if (channel_open_pipe(&sel->wake_source, &sel->wake_sink) < 0) {
        free(sel);
        return NULL;
    }
    sel->wake_fd = channel_fd(sel->wake_source);
    sel->state = ops->create();
    if (sel->state == NULL || grow_tables(sel, sel->wake_fd) < 0 ||
        channel_configure_blocking(sel->wake_source, false) < 0 ||
        channel_configure_blocking(sel->wake_sink, false) < 0 ||
        sel->wake_fd > ops->max_fd ||
        ops->add(sel->state, sel->wake_fd, BACKEND_READ) < 0) {
        int saved = sel->wake_fd > ops->max_fd ? EMFILE : errno;
        selector_close(sel);
        errno = saved;
        return NULL;
    }
    return sel;
}

selector_backend selector_get_backend(const selector *sel)
{
    return sel->backend;
}

static void unlink_all(selector *sel, selection_key *key)
{
    if (key->all_prev != NULL)
        key->all_prev->all_next = key->all_next;
    else
        sel->all_keys = key->all_next;
    if (key->all_next != NULL)
        key->all_next->all_prev = key->all_prev;
    sel->key_count--;
}

static void unlink_selected(selector *sel, selection_key *key)
{
    if (!key->in_selected)
        return;
    if (key->sel_prev != NULL)
        key->sel_prev->sel_next = key->sel_next;
    else
        sel->selected = key->sel_next;
    if (key->sel_next != NULL)
        key->sel_next->sel_prev = key->sel_prev;
    else
        sel->selected_tail = key->sel_prev;
    key->sel_prev = key->sel_next = NULL;
    key->in_selected = false;
    sel->selected_count--;
}

/* lab:begin link_selected "The three key sets" */
static void link_selected(selector *sel, selection_key *key)
{
    key->sel_prev = sel->selected_tail;
    key->sel_next = NULL;
    if (sel->selected_tail != NULL)
        sel->selected_tail->sel_next = key;
    else
        sel->selected = key;
    sel->selected_tail = key;
    key->in_selected = true;
    sel->selected_count++;
}
/* lab:end link_selected */

/* Backend events for a set of interest ops. */
static int backend_events(int ops)
{
    return ((ops & (OP_READ | OP_ACCEPT)) ? BACKEND_READ : 0) |
           ((ops & (OP_WRITE | OP_CONNECT)) ? BACKEND_WRITE : 0);
}

/* Stops watching a key's descriptor. Done when the key is cancelled, while
 * the descriptor is still open (cancel comes before close): epoll forgets a
 * closed descriptor only when no other descriptor shares its open file
 * (after dup or fork), and EPOLL_CTL_DEL on a closed one fails, so a later
 * removal could leave it firing forever. */
static void unwatch(selector *sel, selection_key *key)
{
    int events = backend_events(key->interest);
    if (events != 0 && sel->state != NULL)
        sel->ops->remove(sel->state, key->fd, events);
}

/* Takes a key out of every set and frees it; the channel lets go of it
 * too (and is freed then if it was closed meanwhile). */
static void deregister(selector *sel, selection_key *key)
{
    if (!key->cancelled)
        unwatch(sel, key);
    if (key->fd < sel->fd_slots && sel->key_of_fd[key->fd] == key)
        sel->key_of_fd[key->fd] = NULL;
    unlink_all(sel, key);
    unlink_selected(sel, key);
    if (key->ch != NULL)
        channel_remove_key(key->ch, &key->link);
    free(key);
}

/* How a channel's close cancels its keys (channel.h). The link is the
 * key's first member, so it points at the key. */
static void cancel_for_channel(channel_key_link *link)
{
    key_cancel((selection_key *)link);
}

/* lab:begin flush_cancelled "The three key sets" */
static void flush_cancelled(selector *sel)
{
    while (sel->cancelled != NULL) {
        selection_key *key = sel->cancelled;
        sel->cancelled = key->cancel_next;
        deregister(sel, key);
    }
}
/* lab:end flush_cancelled */

void selector_close(selector *sel)
{
    if (sel == NULL)
        return;
    while (sel->all_keys != NULL)
        deregister(sel, sel->all_keys);
    sel->cancelled = NULL;
    if (sel->state != NULL)
        sel->ops->destroy(sel->state);
    channel_close(sel->wake_source);
    channel_close(sel->wake_sink);
    free(sel->key_of_fd);
    free(sel->fired);
    free(sel);
}

/* --- registering ------------------------------------------------------ */

static int grow_tables(selector *sel, int fd)
{
    if (fd >= sel->fd_slots) {
        int slots = sel->fd_slots ? sel->fd_slots : 64;
        while (slots <= fd)
            slots = slots > INT_MAX / 2 ? INT_MAX : slots * 2;
        selection_key **grown =
            realloc(sel->key_of_fd, (size_t)slots * sizeof *grown);
        if (grown == NULL)
            return -1;
        for (int i = sel->fd_slots; i < slots; i++)
            grown[i] = NULL;
        sel->key_of_fd = grown;
        sel->fd_slots = slots;
    }
    /* Room for every key and the wakeup pipe to fire at once. */
    if (sel->key_count + 2 > (size_t)sel->fired_capacity) {
        int capacity = sel->fired_capacity ? sel->fired_capacity * 2 : 64;
        backend_event *grown =
            realloc(sel->fired, (size_t)capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        sel->fired = grown;
        sel->fired_capacity = capacity;
    }
    return 0;
}

/* A new key, watched by the backend and on the list of all keys. */
static selector_status add_key(selector *sel, channel *ch, int fd,
                               const struct stat *file, int valid_ops, int ops,
                               void *attachment, selection_key **out)
{
    if (grow_tables(sel, fd) < 0)
        return SELECTOR_NO_MEMORY;
    selection_key *key = calloc(1, sizeof *key);
    if (key == NULL)
        return SELECTOR_NO_MEMORY;
    *key = (selection_key){.owner = sel,
                           .ch = ch,
                           .fd = fd,
                           .dev = file->st_dev,
                           .ino = file->st_ino,
                           .valid_ops = valid_ops,
                           .interest = ops,
                           .attachment = attachment};
    if (ch != NULL && channel_add_key(ch, &key->link, cancel_for_channel) < 0) {
        int error = errno;
        free(key);
        return error == EBADF    ? SELECTOR_CLOSED_CHANNEL
               : error == EAGAIN ? SELECTOR_BLOCKING_CHANNEL
                                 : SELECTOR_NO_MEMORY;
    }
    int events = backend_events(ops);
    if (events != 0 && sel->ops->add(sel->state, fd, events) < 0) {
        if (ch != NULL)
            channel_remove_key(ch, &key->link);
        free(key);
        return SELECTOR_SYSTEM_ERROR;
    }
    sel->key_of_fd[fd] = key;
    key->all_next = sel->all_keys;
    if (sel->all_keys != NULL)
        sel->all_keys->all_prev = key;
    sel->all_keys = key;
    sel->key_count++;
    if (out != NULL)
        *out = key;
    return SELECTOR_OK;
}

/* excerpt:begin register */
static selector_status do_register(selector *sel, channel *ch, int fd,
                                   int valid_ops, int ops, void *attachment,
                                   selection_key **out)
{
    if (ops & ~valid_ops)
        return SELECTOR_INVALID_OPS;
    if (fd > sel->ops->max_fd)
        return SELECTOR_FD_TOO_LARGE;
    struct stat file;
    if (fstat(fd, &file) < 0)
        return SELECTOR_SYSTEM_ERROR;
    selection_key *key = fd < sel->fd_slots ? sel->key_of_fd[fd] : NULL;
    bool same_file =
        key != NULL && key->dev == file.st_dev && key->ino == file.st_ino;
    if (same_file) {
        /* Registered already: Java updates the existing key, unless it
         * was cancelled (until the next selection takes it away). */
        if (key->cancelled)
            return SELECTOR_CANCELLED_KEY;
        if (key->ch != ch)
            return SELECTOR_FD_IN_USE; /* a second channel on one socket */
        selector_status s = key_set_interest_ops(key, ops);
        if (s == SELECTOR_OK && attachment != NULL)
            key->attachment = attachment;
        if (s == SELECTOR_OK && out != NULL)
            *out = key;
        return s;
    }
    if (key != NULL) {
        /* The number names another file now. Fine if the old key was
         * cancelled before its descriptor was closed (channel_close sees
         * to that): it stays in the sets until the next selection but
         * gives up the number. If not, a bare descriptor was closed while
         * still registered. */
        if (!key->cancelled)
            return SELECTOR_FD_IN_USE;
        sel->key_of_fd[fd] = NULL;
    }
    return add_key(sel, ch, fd, &file, valid_ops, ops, attachment, out);
}
/* excerpt:end register */

selector_status selector_register(selector *sel, channel *ch, int ops,
                                  void *attachment, selection_key **key)
{
    if (sel == NULL || ch == NULL)
        return SELECTOR_BAD_ARGUMENT;
    if (sel->state == NULL)
        return SELECTOR_CLOSED;
    /* Java checks the ops first, then that the channel is open, then
     * its blocking mode; so do we. */
    int valid = channel_valid_ops(ch);
    if (ops & ~valid)
        return SELECTOR_INVALID_OPS;
    if (!channel_is_open(ch))
        return SELECTOR_CLOSED_CHANNEL;
    if (channel_is_blocking(ch))
        return SELECTOR_BLOCKING_CHANNEL;
    return do_register(sel, ch, channel_fd(ch), valid, ops, attachment, key);
}

selector_status selector_register_fd(selector *sel, int fd, int ops,
                                     void *attachment, selection_key **key)
{
    if (sel == NULL || fd < 0)
        return SELECTOR_BAD_ARGUMENT;
    if (ops & ~(OP_READ | OP_WRITE))
        return SELECTOR_INVALID_OPS;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return SELECTOR_SYSTEM_ERROR;
    if (!(flags & O_NONBLOCK))
        return SELECTOR_BLOCKING_CHANNEL;
    return do_register(sel, NULL, fd, OP_READ | OP_WRITE, ops, attachment, key);
}

/* excerpt:begin valid-ops */
int channel_valid_ops(const channel *ch)
{
    switch (channel_get_kind(ch)) {
    case CHANNEL_SERVER: return OP_ACCEPT;
    case CHANNEL_SOCKET: return OP_READ | OP_WRITE | OP_CONNECT;
    case CHANNEL_PIPE_SOURCE: return OP_READ;
    case CHANNEL_PIPE_SINK: return OP_WRITE;
    }
    return 0;
}
/* excerpt:end valid-ops */

/* As Java's keyFor: a cancelled key is still the channel's key until the
 * next selection takes it away. */
selection_key *selector_key_for(const selector *sel, const channel *ch)
{
    if (sel == NULL || ch == NULL)
        return NULL;
    int fd = channel_fd(ch);
    if (fd >= 0) {
        selection_key *key = fd < sel->fd_slots ? sel->key_of_fd[fd] : NULL;
        return key != NULL && key->ch == ch ? key : NULL;
    }
    /* Closed, so no longer in the table by number. */
    for (selection_key *key = sel->all_keys; key != NULL; key = key->all_next)
        if (key->ch == ch)
            return key;
    return NULL;
}

/* --- selecting -------------------------------------------------------- */

static void drain_wakeups(selector *sel)
{
    /* lab:begin drain_wakeups "Wakeup"  */
    char sink[64];
    while (recv(sel->wake_fd, sink, sizeof sink, 0) > 0)
        continue;
    /* Cleared after draining: a wakeup that arrives in between merges
     * with this one instead of being lost. */
    atomic_store(&sel->wake_pending, false);
    /* lab:end drain_wakeups */
}

/* lab:begin ready_ops "What" */
/* excerpt:begin connect-ops */
/* The ops a channel's connection state allows, Java's rule: a socket is
 * connectable only while its connect is pending, readable and writable
 * only once connected. A writable socket alone cannot tell the two
 * apart; the channel can. */
static int ops_allowed(const selection_key *key)
{
    if (key->ch == NULL || channel_get_kind(key->ch) != CHANNEL_SOCKET)
        return key->valid_ops;
    if (channel_is_connection_pending(key->ch))
        return OP_CONNECT;
    return channel_is_connected(key->ch) ? OP_READ | OP_WRITE : 0;
}
/* excerpt:end connect-ops */

/* excerpt:begin ready-ops */
/* What the backend saw, in ops this key is interested in. An error or a
 * hang-up makes it ready for all of them (Java's rule): the next read or
 * write reports what happened. */
static int ready_ops_for(const selection_key *key, int events)
{
    if (events & BACKEND_ERROR)
        return key->interest;
    int ready = 0;
    if (events & BACKEND_READ)
        ready |= key->interest & (OP_READ | OP_ACCEPT);
    if (events & BACKEND_WRITE)
        ready |= key->interest & (OP_WRITE | OP_CONNECT);
    return ready & ops_allowed(key);
}
/* lab:end ready_ops */
/* excerpt:end ready-ops */

/* excerpt:begin select */
static int do_select(selector *sel, int timeout_ms)
{
    /* lab:begin select "The three key sets" errno = ENOSYS; return -1; */
    if (sel == NULL || sel->state == NULL) {
        errno = EBADF;
        return -1;
    }
    flush_cancelled(sel); /* step 1: cancelled keys leave */
    int n = sel->ops->wait(sel->state, timeout_ms, sel->fired,
                           sel->fired_capacity > 0 ? sel->fired_capacity : 1);
    if (n < 0)
        return -1;
    int updated = 0;
    for (int i = 0; i < n; i++) {
        int fd = sel->fired[i].fd;
        if (fd == sel->wake_fd) {
            drain_wakeups(sel);
            continue;
        }
        selection_key *key = fd < sel->fd_slots ? sel->key_of_fd[fd] : NULL;
        if (key == NULL || key->cancelled)
            continue;
        int ready = ready_ops_for(key, sel->fired[i].events);
        if (ready == 0)
            continue;
        if (!key->in_selected) { /* step 2: new in the selected set */
            key->ready = ready;
            link_selected(sel, key);
            updated++;
        } else if ((key->ready | ready) != key->ready) {
            key->ready |= ready; /* still there: ready ops accumulate */
            updated++;
        }
    }
    return updated;
    /* lab:end select */
}
/* excerpt:end select */

int selector_select(selector *sel)
{
    return do_select(sel, -1);
}

int selector_select_timeout(selector *sel, long timeout_ms)
{
    if (timeout_ms < 0) {
        errno = EINVAL;
        return -1;
    }
    if (timeout_ms == 0) /* Java: 0 means no timeout at all */
        return do_select(sel, -1);
    return do_select(sel, timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms);
}

int selector_select_now(selector *sel)
{
    int n = do_select(sel, 0);
    /* selectNow clears a pending wakeup even when the pipe did not fire
     * in this call's results. */
    if (n >= 0 && atomic_load(&sel->wake_pending))
        drain_wakeups(sel);
    return n;
}

/* excerpt:begin wakeup */
void selector_wakeup(selector *sel)
{
    /* lab:begin wakeup "Wakeup"  */
    if (sel == NULL)
        return;
    /* Only the first wakeup since the last selection writes a byte. */
    if (!atomic_exchange(&sel->wake_pending, true)) {
        char byte = 1;
        ssize_t ignored =
            send(channel_fd(sel->wake_sink), &byte, 1, MSG_NOSIGNAL);
        (void)ignored; /* a full pipe is readable already: that is enough */
    }
    /* lab:end wakeup */
}
/* excerpt:end wakeup */

/* --- the sets --------------------------------------------------------- */

key_iterator selector_selected_keys(selector *sel)
{
    return (key_iterator){.owner = sel,
                          .next = sel != NULL ? sel->selected : NULL,
                          .selected_set = true};
}

key_iterator selector_keys(selector *sel)
{
    return (key_iterator){.owner = sel,
                          .next = sel != NULL ? sel->all_keys : NULL,
                          .selected_set = false};
}

selection_key *key_iterator_next(key_iterator *it)
{
    if (it == NULL)
        return NULL;
    it->current = it->next;
    if (it->current != NULL)
        it->next =
            it->selected_set ? it->current->sel_next : it->current->all_next;
    return it->current;
}

selector_status key_iterator_remove(key_iterator *it)
{
    if (it == NULL || !it->selected_set || it->current == NULL)
        return SELECTOR_BAD_ARGUMENT;
    unlink_selected(it->owner, it->current);
    it->current = NULL;
    return SELECTOR_OK;
}

size_t selector_selected_count(const selector *sel)
{
    return sel != NULL ? sel->selected_count : 0;
}

size_t selector_key_count(const selector *sel)
{
    return sel != NULL ? sel->key_count : 0;
}

/* --- keys ------------------------------------------------------------- */

int key_interest_ops(const selection_key *key)
{
    return key_is_valid(key) ? key->interest : 0;
}

selector_status key_get_interest_ops(const selection_key *key, int *ops)
{
    if (key == NULL || ops == NULL)
        return SELECTOR_BAD_ARGUMENT;
    if (key->cancelled)
        return SELECTOR_CANCELLED_KEY;
    *ops = key->interest;
    return SELECTOR_OK;
}

selector_status key_set_interest_ops(selection_key *key, int ops)
{
    if (key == NULL)
        return SELECTOR_BAD_ARGUMENT;
    if (key->cancelled)
        return SELECTOR_CANCELLED_KEY;
    if (ops & ~key->valid_ops)
        return SELECTOR_INVALID_OPS;
    selector *sel = key->owner;
    int before = backend_events(key->interest), after = backend_events(ops);
    int rc = 0;
    if (before != after) {
        /* An empty interest set leaves the backend: poll and epoll would
         * keep reporting a hang-up for it, and spin. */
        if (before == 0)
            rc = sel->ops->add(sel->state, key->fd, after);
        else if (after == 0)
            sel->ops->remove(sel->state, key->fd, before);
        else
            rc = sel->ops->modify(sel->state, key->fd, before, after);
    }
    if (rc < 0)
        return SELECTOR_SYSTEM_ERROR;
    key->interest = ops;
    return SELECTOR_OK;
}

selector_status key_interest_ops_or(selection_key *key, int ops, int *previous)
{
    int before = key_interest_ops(key);
    selector_status s = key_set_interest_ops(key, before | ops);
    if (s == SELECTOR_OK && previous != NULL)
        *previous = before;
    return s;
}

selector_status key_interest_ops_and(selection_key *key, int ops, int *previous)
{
    int before = key_interest_ops(key);
    selector_status s = key_set_interest_ops(key, before & ops);
    if (s == SELECTOR_OK && previous != NULL)
        *previous = before;
    return s;
}

int key_ready_ops(const selection_key *key)
{
    return key_is_valid(key) ? key->ready : 0;
}

selector_status key_get_ready_ops(const selection_key *key, int *ops)
{
    if (key == NULL || ops == NULL)
        return SELECTOR_BAD_ARGUMENT;
    if (key->cancelled)
        return SELECTOR_CANCELLED_KEY;
    *ops = key->ready;
    return SELECTOR_OK;
}

bool key_is_readable(const selection_key *key)
{
    return (key_ready_ops(key) & OP_READ) != 0;
}

bool key_is_writable(const selection_key *key)
{
    return (key_ready_ops(key) & OP_WRITE) != 0;
}

bool key_is_connectable(const selection_key *key)
{
    return (key_ready_ops(key) & OP_CONNECT) != 0;
}

bool key_is_acceptable(const selection_key *key)
{
    return (key_ready_ops(key) & OP_ACCEPT) != 0;
}

void *key_attachment(const selection_key *key)
{
    return key != NULL ? key->attachment : NULL;
}

void *key_attach(selection_key *key, void *attachment)
{
    if (key == NULL)
        return NULL;
    void *previous = key->attachment;
    key->attachment = attachment;
    return previous;
}

void key_cancel(selection_key *key)
{
    /* lab:begin cancel "The three key sets"  */
    if (key == NULL || key->cancelled)
        return;
    unwatch(key->owner, key);
    key->cancelled = true;
    if (key->ch != NULL)
        channel_key_cancelled(key->ch, &key->link);
    key->cancel_next = key->owner->cancelled;
    key->owner->cancelled = key;
    /* lab:end cancel */
}

bool key_is_valid(const selection_key *key)
{
    return key != NULL && !key->cancelled;
}

channel *key_channel(const selection_key *key)
{
    return key != NULL ? key->ch : NULL;
}

int key_fd(const selection_key *key)
{
    return key != NULL ? key->fd : -1;
}

selector *key_selector(const selection_key *key)
{
    return key != NULL ? key->owner : NULL;
}
