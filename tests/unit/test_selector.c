/*
 * test_selector.c - the Selector's contract, checked against one backend
 * (argv[1]: select, poll or epoll; with no argument, every backend this
 * system has). The same checks run on each backend, because the point of
 * the interface is that the three cannot be told apart, except where the
 * select backend must refuse a descriptor >= FD_SETSIZE.
 *
 * Sockets are real TCP connections on 127.0.0.1: a selector is about what
 * the kernel reports, and only the kernel can say it.
 */
#include "03-selector/selector.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

/* Timeouts are checked from below with some slack (a kernel may round a
 * timeout to its clock tick) and from above loosely (sanitizers and busy
 * machines are slow); "at once" means well under the blocking timeout. */
enum { SHORT_MS = 100, LONG_MS = 10000, AT_ONCE_MS = 2000 };

typedef struct fixture {
    tap *t;
    selector_backend backend;
    const char *name; /* prefix for each check */
    channel *listener;
    socket_address address; /* where listener listens */
} fixture;

/* A connection over loopback: `near` is registered, `far` plays the peer. */
typedef struct pair {
    channel *near;
    channel *far;
} pair;

#define CHECK(f, cond, ...)                                                    \
    do {                                                                       \
        char what_[160];                                                       \
        snprintf(what_, sizeof what_, __VA_ARGS__);                            \
        TAP_OK((f)->t, (cond), "[%s] %s", (f)->name, what_);                   \
    } while (0)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_fd_count(void)
{
    int count = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            count++;
    return count;
}

static bool set_nonblocking_fd(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

/* A connected pair through the fixture's listener, both non-blocking. */
static bool pair_open(fixture *f, pair *p)
{
    p->far = channel_open_connected(&f->address);
    if (p->far == NULL)
        return false;
    /* The listener may be non-blocking: wait for the connection to be
     * queued rather than assume it already is. */
    struct pollfd ready = {.fd = channel_fd(f->listener), .events = POLLIN};
    poll(&ready, 1, LONG_MS);
    p->near = channel_accept(f->listener);
    if (p->near == NULL || channel_configure_blocking(p->near, false) < 0 ||
        channel_configure_blocking(p->far, false) < 0) {
        channel_close(p->near);
        channel_close(p->far);
        return false;
    }
    return true;
}

static void pair_close(pair *p)
{
    channel_close(p->near);
    channel_close(p->far);
    p->near = p->far = NULL;
}

static bool send_text(channel *ch, const char *text)
{
    size_t length = strlen(text);
    return write(channel_fd(ch), text, length) == (ssize_t)length;
}

/* Runs one selection and tells whether `key` is in the selected set. */
static bool is_selected(selector *sel, selection_key *key)
{
    key_iterator it = selector_selected_keys(sel);
    selection_key *k;
    while ((k = key_iterator_next(&it)) != NULL)
        if (k == key)
            return true;
    return false;
}

static void clear_selected(selector *sel)
{
    key_iterator it = selector_selected_keys(sel);
    while (key_iterator_next(&it) != NULL)
        key_iterator_remove(&it);
}

/* Selects with a timeout until `key` is selected (the kernel may need a
 * moment to deliver loopback data); false if it never is. */
static bool select_until(selector *sel, selection_key *key)
{
    long long deadline = now_ms() + LONG_MS;
    while (now_ms() < deadline) {
        if (selector_select_timeout(sel, SHORT_MS) < 0)
            return false;
        if (is_selected(sel, key))
            return true;
    }
    return false;
}

/* --- registration ----------------------------------------------------- */

static void test_registration(fixture *f)
{
    selector *sel = selector_open(f->backend);
    pair p;
    if (!pair_open(f, &p)) {
        CHECK(f, false, "a loopback connection opens");
        selector_close(sel);
        return;
    }
    int a = 1, b = 2;
    selection_key *key = NULL;

    /* channel_accept hands out a blocking channel, as Java does. */
    channel *blocking = channel_open_connected(&f->address);
    channel *accepted = channel_accept(f->listener);
    CHECK(f,
          selector_register(sel, accepted, OP_READ, NULL, &key) ==
              SELECTOR_BLOCKING_CHANNEL,
          "a blocking channel is refused (IllegalBlockingModeException)");
    CHECK(f, selector_key_count(sel) == 0, "and nothing was registered");
    channel_close(blocking);
    channel_close(accepted);

    CHECK(f,
          selector_register(sel, p.near, OP_ACCEPT, NULL, &key) ==
              SELECTOR_INVALID_OPS,
          "OP_ACCEPT on a connected socket is refused");
    CHECK(f,
          selector_register(sel, f->listener, OP_READ, NULL, &key) ==
              SELECTOR_INVALID_OPS,
          "OP_READ on a listening socket is refused");
    CHECK(f,
          selector_register(sel, p.near, 2, NULL, &key) == SELECTOR_INVALID_OPS,
          "a bit that is no operation (2) is refused");
    CHECK(f,
          selector_register(NULL, p.near, OP_READ, NULL, &key) ==
                  SELECTOR_BAD_ARGUMENT &&
              selector_register(sel, NULL, OP_READ, NULL, &key) ==
                  SELECTOR_BAD_ARGUMENT,
          "NULL selector or channel is BAD_ARGUMENT");

    key = NULL;
    CHECK(f,
          selector_register(sel, p.near, OP_READ, &a, &key) == SELECTOR_OK &&
              key != NULL,
          "a non-blocking socket registers for OP_READ");
    CHECK(f, key_interest_ops(key) == OP_READ && key_ready_ops(key) == 0,
          "interest is OP_READ, ready is empty");
    CHECK(f, key_attachment(key) == &a, "the attachment is kept");
    CHECK(f, key_channel(key) == p.near && key_fd(key) == channel_fd(p.near),
          "the key knows its channel and descriptor");
    CHECK(f, key_selector(key) == sel && key_is_valid(key),
          "the key knows its selector and is valid");
    CHECK(f, selector_key_count(sel) == 1, "keys() holds one key");

    selection_key *again = NULL;
    CHECK(f,
          selector_register(sel, p.near, OP_READ | OP_WRITE, NULL, &again) ==
                  SELECTOR_OK &&
              again == key,
          "registering again returns the same key");
    CHECK(f, key_interest_ops(key) == (OP_READ | OP_WRITE),
          "and updates its interest ops");
    CHECK(f, key_attachment(key) == &a,
          "and keeps the attachment when none is given");
    CHECK(f,
          selector_register(sel, p.near, OP_WRITE, &b, NULL) == SELECTOR_OK &&
              key_attachment(key) == &b && key_interest_ops(key) == OP_WRITE,
          "a third registration with an attachment replaces it");
    CHECK(f, selector_key_count(sel) == 1, "still one key");
    CHECK(f, key_attach(key, &a) == &b && key_attachment(key) == &a,
          "attach returns the previous attachment");

    CHECK(f,
          selector_register(sel, p.near, OP_ACCEPT, NULL, NULL) ==
                  SELECTOR_INVALID_OPS &&
              key_interest_ops(key) == OP_WRITE,
          "an invalid re-registration changes nothing");
    CHECK(f,
          key_set_interest_ops(key, OP_ACCEPT) == SELECTOR_INVALID_OPS &&
              key_interest_ops(key) == OP_WRITE,
          "interest ops the channel cannot do are refused");
    CHECK(f,
          selector_register_fd(sel, channel_fd(p.near), OP_READ, NULL, NULL) ==
              SELECTOR_FD_IN_USE,
          "a second registration of the same socket under another name is "
          "FD_IN_USE");

    /* The listener takes only OP_ACCEPT. */
    selection_key *accept_key = NULL;
    channel_configure_blocking(f->listener, false);
    CHECK(f,
          selector_register(sel, f->listener, OP_ACCEPT, NULL, &accept_key) ==
              SELECTOR_OK,
          "a non-blocking listener registers for OP_ACCEPT");
    key_cancel(accept_key);

    /* Bare descriptors: the stop pipe's way in. */
    int fds[2];
    if (pipe(fds) == 0) {
        selection_key *pipe_key = NULL;
        CHECK(f,
              selector_register_fd(sel, fds[0], OP_READ, NULL, &pipe_key) ==
                  SELECTOR_BLOCKING_CHANNEL,
              "a blocking pipe is refused");
        set_nonblocking_fd(fds[0]);
        CHECK(f,
              selector_register_fd(sel, fds[0], OP_ACCEPT, NULL, &pipe_key) ==
                  SELECTOR_INVALID_OPS,
              "OP_ACCEPT on a pipe is refused");
        CHECK(f,
              selector_register_fd(sel, fds[0], OP_READ, &b, &pipe_key) ==
                      SELECTOR_OK &&
                  key_channel(pipe_key) == NULL && key_fd(pipe_key) == fds[0],
              "a non-blocking pipe registers, with no channel");
        CHECK(f,
              selector_register_fd(sel, -1, OP_READ, NULL, NULL) ==
                  SELECTOR_BAD_ARGUMENT,
              "a negative descriptor is BAD_ARGUMENT");
        CHECK(f,
              write(fds[1], "x", 1) == 1 && select_until(sel, pipe_key) &&
                  key_ready_ops(pipe_key) == OP_READ,
              "a pipe with data is selected as readable");
        key_cancel(pipe_key);
        selector_select_now(sel);
        close(fds[0]);
        close(fds[1]);
    }

    /* A cancelled key cannot be registered again until a selection has
     * taken it away (Java's CancelledKeyException). */
    key_cancel(key);
    CHECK(f,
          selector_register(sel, p.near, OP_READ, NULL, NULL) ==
              SELECTOR_CANCELLED_KEY,
          "re-registering a cancelled key is CANCELLED_KEY");
    CHECK(f, key_set_interest_ops(key, OP_READ) == SELECTOR_CANCELLED_KEY,
          "changing a cancelled key's interest is CANCELLED_KEY");
    CHECK(f, selector_select_now(sel) == 0 && selector_key_count(sel) == 0,
          "the next selection takes it away");
    selection_key *fresh = NULL;
    CHECK(f,
          selector_register(sel, p.near, OP_READ, NULL, &fresh) ==
                  SELECTOR_OK &&
              key_is_valid(fresh) && selector_key_count(sel) == 1,
          "after that the channel registers anew");
    selector_close(sel);
    pair_close(&p);
}

/* --- interest and ready ops ------------------------------------------- */

static void test_interest_and_ready(fixture *f)
{
    selector *sel = selector_open(f->backend);
    pair p;
    if (!pair_open(f, &p)) {
        CHECK(f, false, "a loopback connection opens");
        selector_close(sel);
        return;
    }
    selection_key *key = NULL;
    selector_register(sel, p.near, OP_READ, NULL, &key);

    long long start = now_ms();
    int n = selector_select_timeout(sel, SHORT_MS);
    CHECK(f, n == 0 && selector_selected_count(sel) == 0,
          "nothing to read: select times out with 0");
    CHECK(f, now_ms() - start >= SHORT_MS - 20, "after the timeout");

    send_text(p.far, "ping");
    CHECK(f, select_until(sel, key) && selector_selected_count(sel) == 1,
          "data arrives: the key is selected");
    CHECK(f,
          key_ready_ops(key) == OP_READ && key_is_readable(key) &&
              !key_is_writable(key) && !key_is_acceptable(key) &&
              !key_is_connectable(key),
          "ready ops: exactly OP_READ (a writable socket with no OP_WRITE "
          "interest is not reported)");

    clear_selected(sel);
    key_set_interest_ops(key, OP_READ | OP_WRITE);
    CHECK(f,
          selector_select_now(sel) == 1 &&
              key_ready_ops(key) == (OP_READ | OP_WRITE),
          "interest OP_READ|OP_WRITE: ready for both");

    clear_selected(sel);
    key_set_interest_ops(key, OP_WRITE);
    CHECK(f, selector_select_now(sel) == 1 && key_ready_ops(key) == OP_WRITE,
          "interest OP_WRITE: unread data is not reported");

    clear_selected(sel);
    key_set_interest_ops(key, 0);
    start = now_ms();
    CHECK(f,
          selector_select_timeout(sel, SHORT_MS) == 0 &&
              selector_selected_count(sel) == 0,
          "no interest: the key is never selected");
    CHECK(f, now_ms() - start >= SHORT_MS - 20, "select blocked meanwhile");

    CHECK(f,
          key_interest_ops_or(key, OP_READ, NULL) == SELECTOR_OK &&
              key_interest_ops_or(key, OP_WRITE, NULL) == SELECTOR_OK &&
              key_interest_ops(key) == (OP_READ | OP_WRITE),
          "interest_ops_or adds ops");
    CHECK(f,
          key_interest_ops_and(key, ~OP_WRITE, NULL) == SELECTOR_OK &&
              key_interest_ops(key) == OP_READ,
          "interest_ops_and removes them");
    CHECK(f, select_until(sel, key) && key_ready_ops(key) == OP_READ,
          "interest restored: readable again (level-triggered: the data "
          "is still there)");
    clear_selected(sel);

    /* Accept. */
    selection_key *accept_key = NULL;
    channel_configure_blocking(f->listener, false);
    selector_register(sel, f->listener, OP_ACCEPT, NULL, &accept_key);
    channel *client = channel_open_connected(&f->address);
    CHECK(f,
          client != NULL && select_until(sel, accept_key) &&
              key_ready_ops(accept_key) == OP_ACCEPT &&
              key_is_acceptable(accept_key),
          "a pending connection makes the listener acceptable");
    channel *accepted = channel_accept(f->listener);
    CHECK(f, accepted != NULL, "and accept takes it");
    channel_close(accepted);
    channel_close(client);
    key_cancel(accept_key);
    clear_selected(sel);

    /* Connect. */
    channel *connecting = channel_open_socket(&f->address);
    channel_configure_blocking(connecting, false);
    int rc = channel_connect(connecting, &f->address);
    selection_key *connect_key = NULL;
    CHECK(f,
          rc >= 0 && selector_register(sel, connecting, OP_CONNECT, NULL,
                                       &connect_key) == SELECTOR_OK,
          "a connecting socket registers for OP_CONNECT");
    CHECK(f,
          select_until(sel, connect_key) &&
              key_ready_ops(connect_key) == OP_CONNECT &&
              key_is_connectable(connect_key),
          "the finished connect makes it connectable");
    CHECK(f, channel_finish_connect(connecting) == 1,
          "and finish_connect completes it");
    accepted = channel_accept(f->listener);
    channel_close(accepted);
    key_cancel(connect_key);
    channel_close(connecting);

    selector_close(sel);
    pair_close(&p);
}

/* --- the selected-key set --------------------------------------------- */

static void test_selected_set(fixture *f)
{
    selector *sel = selector_open(f->backend);
    pair p, q, r;
    if (!pair_open(f, &p) || !pair_open(f, &q) || !pair_open(f, &r)) {
        CHECK(f, false, "three loopback connections open");
        selector_close(sel);
        return;
    }
    selection_key *kp, *kq, *kr;
    selector_register(sel, p.near, OP_READ, NULL, &kp);
    selector_register(sel, q.near, OP_READ, NULL, &kq);
    selector_register(sel, r.near, OP_READ, NULL, &kr);

    send_text(p.far, "p");
    CHECK(f, select_until(sel, kp) && selector_selected_count(sel) == 1,
          "one ready channel, one selected key");
    CHECK(f, selector_select_now(sel) == 0 && is_selected(sel, kp),
          "a key stays selected until removed; an unchanged key is not "
          "counted again");

    key_set_interest_ops(kp, OP_READ | OP_WRITE);
    CHECK(f,
          selector_select_now(sel) == 1 &&
              key_ready_ops(kp) == (OP_READ | OP_WRITE),
          "a key still selected gains new ready ops (they accumulate)");
    key_set_interest_ops(kp, OP_WRITE);
    selector_select_now(sel);
    CHECK(f, key_ready_ops(kp) == (OP_READ | OP_WRITE),
          "and keeps old ones while it stays selected");
    clear_selected(sel);
    selector_select_now(sel);
    CHECK(f, is_selected(sel, kp) && key_ready_ops(kp) == OP_WRITE,
          "once removed, the next selection sets ready ops afresh");
    clear_selected(sel);
    key_set_interest_ops(kp, OP_READ);

    send_text(q.far, "q");
    send_text(r.far, "r");
    long long deadline = now_ms() + LONG_MS;
    while (selector_selected_count(sel) < 3 && now_ms() < deadline)
        selector_select_timeout(sel, SHORT_MS);
    CHECK(f, selector_selected_count(sel) == 3, "three ready, three selected");

    /* Iteration with removal of the second key only. */
    key_iterator it = selector_selected_keys(sel);
    CHECK(f, key_iterator_remove(&it) == SELECTOR_BAD_ARGUMENT,
          "remove before next is refused");
    int seen = 0;
    selection_key *second = NULL, *k;
    while ((k = key_iterator_next(&it)) != NULL) {
        if (++seen == 2) {
            second = k;
            CHECK(f, key_iterator_remove(&it) == SELECTOR_OK,
                  "remove after next succeeds");
            CHECK(f, key_iterator_remove(&it) == SELECTOR_BAD_ARGUMENT,
                  "a second remove of the same key is refused");
        }
    }
    CHECK(f, seen == 3, "iteration visits every selected key (%d)", seen);
    CHECK(f, selector_selected_count(sel) == 2 && !is_selected(sel, second),
          "only the removed key left the selected set");

    /* The Java idiom: next, remove, handle. Nothing is skipped. */
    it = selector_selected_keys(sel);
    seen = 0;
    while ((k = key_iterator_next(&it)) != NULL) {
        key_iterator_remove(&it);
        seen++;
    }
    CHECK(f, seen == 2 && selector_selected_count(sel) == 0,
          "next+remove empties the set without skipping");

    /* keys(): every registered key; remove is not allowed on it. */
    it = selector_keys(sel);
    seen = 0;
    bool all = true;
    while ((k = key_iterator_next(&it)) != NULL) {
        seen++;
        all = all && (k == kp || k == kq || k == kr);
    }
    CHECK(f, seen == 3 && all && selector_key_count(sel) == 3,
          "keys() iterates the three registered keys");
    it = selector_keys(sel);
    key_iterator_next(&it);
    CHECK(f, key_iterator_remove(&it) == SELECTOR_BAD_ARGUMENT,
          "keys() does not allow remove");

    selector_close(sel);
    pair_close(&p);
    pair_close(&q);
    pair_close(&r);
}

/* --- cancel, descriptor reuse, close ---------------------------------- */

static void test_cancel(fixture *f)
{
    selector *sel = selector_open(f->backend);
    pair p, q;
    if (!pair_open(f, &p) || !pair_open(f, &q)) {
        CHECK(f, false, "two loopback connections open");
        selector_close(sel);
        return;
    }
    selection_key *kp, *kq;
    selector_register(sel, p.near, OP_READ, NULL, &kp);
    selector_register(sel, q.near, OP_READ, NULL, &kq);
    send_text(p.far, "p");
    send_text(q.far, "q");
    long long deadline = now_ms() + LONG_MS;
    while (selector_selected_count(sel) < 2 && now_ms() < deadline)
        selector_select_timeout(sel, SHORT_MS);

    key_cancel(kp);
    CHECK(f, !key_is_valid(kp) && key_is_valid(kq),
          "a cancelled key is invalid at once");
    CHECK(f, selector_key_for(sel, p.near) == kp,
          "key_for still finds it until the next selection (Java's keyFor)");
    CHECK(f, selector_key_count(sel) == 2 && selector_selected_count(sel) == 2,
          "it stays in keys() and the selected set until the next selection");
    key_cancel(kp); /* twice is harmless, as in Java */
    CHECK(f,
          selector_select_now(sel) == 0 && selector_key_count(sel) == 1 &&
              selector_selected_count(sel) == 1 && is_selected(sel, kq),
          "the next selection removes it from both, even though its "
          "channel is still readable");
    clear_selected(sel);
    CHECK(f, select_until(sel, kq), "the other key still works");

    /* Cancel, then close: the descriptor number comes back for the next
     * socket, usually with the freed channel's very address. */
    int old_fd = channel_fd(q.near);
    void *old_address = q.near;
    key_cancel(kq);
    channel_close(q.near);
    q.near = NULL;
    channel *reuse = channel_open_connected(&f->address);
    channel *reuse_peer = channel_accept(f->listener);
    selection_key *kr = NULL;
    CHECK(f, reuse != NULL && channel_fd(reuse) == old_fd,
          "the kernel reuses the closed descriptor (%d)", old_fd);
    if ((void *)reuse != old_address)
        printf("# the new channel has another address; reuse of the "
               "address is not exercised this time\n");
    channel_configure_blocking(reuse, false);
    CHECK(f,
          selector_register(sel, reuse, OP_READ, NULL, &kr) == SELECTOR_OK &&
              kr != NULL && key_is_valid(kr) && !key_is_valid(kq),
          "a new channel on a reused descriptor registers, before the old "
          "key has left");
    CHECK(f, selector_key_for(sel, reuse) == kr, "key_for finds the new key");
    selector_select_now(sel);
    CHECK(f, selector_key_count(sel) == 1 && selector_key_for(sel, reuse) == kr,
          "the old key leaves at the next selection; the new one stays");
    send_text(reuse_peer, "r");
    CHECK(f, select_until(sel, kr) && key_ready_ops(kr) == OP_READ,
          "and the new key is selected for its own data");
    clear_selected(sel);

    /* Close without cancel: as in Java, close cancels the key. */
    int stale_fd = channel_fd(reuse);
    channel_close(reuse);
    CHECK(f, !key_is_valid(kr), "closing a registered channel cancels its key");
    channel *stranger = channel_open_connected(&f->address);
    channel *stranger_peer = channel_accept(f->listener);
    channel_configure_blocking(stranger, false);
    selection_key *ks = NULL;
    CHECK(f,
          channel_fd(stranger) == stale_fd &&
              selector_register(sel, stranger, OP_READ, NULL, &ks) ==
                  SELECTOR_OK,
          "so the newcomer on its descriptor registers at once");
    send_text(stranger_peer, "s");
    CHECK(f, select_until(sel, ks) && !is_selected(sel, kr),
          "and only the newcomer's key is selected for its data");
    /* A bare descriptor has no close to tell the selector: FD_IN_USE. */
    int raw[2];
    selection_key *kraw = NULL;
    bool raw_ok =
        pipe(raw) == 0 && set_nonblocking_fd(raw[0]) &&
        selector_register_fd(sel, raw[0], OP_READ, NULL, &kraw) == SELECTOR_OK;
    int raw_fd = raw[0];
    close(raw[0]);
    /* The lowest free number, raw_fd, for another file. */
    int again = open("/dev/null", O_RDONLY | O_NONBLOCK);
    CHECK(f,
          raw_ok && again == raw_fd &&
              selector_register_fd(sel, again, OP_WRITE, NULL, NULL) ==
                  SELECTOR_FD_IN_USE,
          "a bare descriptor closed while registered is caught when its "
          "number comes back for another file (FD_IN_USE)");
    key_cancel(kraw);
    close(again);
    close(raw[1]);
    key_cancel(ks);
    channel_close(stranger);
    channel_close(stranger_peer);
    channel_close(reuse_peer);

    /* A descriptor shared with another one (dup, or a child after fork):
     * closing ours does not close the socket. Cancel must have stopped
     * the backend watching it, or epoll would report it forever. */
    selection_key *kd = NULL;
    selector_register(sel, p.near, OP_READ, NULL, &kd);
    clear_selected(sel);
    selector_select_now(sel); /* the cancelled kp is gone; kd is new */
    clear_selected(sel);
    int twin = dup(channel_fd(p.near));
    key_cancel(kd);
    channel_close(p.near);
    p.near = NULL;
    send_text(p.far, "more");
    long long start = now_ms();
    int n = selector_select_timeout(sel, SHORT_MS);
    CHECK(f, n == 0 && now_ms() - start >= SHORT_MS - 20,
          "a cancelled key's socket, still open elsewhere, no longer wakes "
          "the selector");
    CHECK(f, selector_key_count(sel) == 0, "no keys are left");
    close(twin);

    selector_close(sel);
    pair_close(&p);
    pair_close(&q);
}

static void test_close(fixture *f)
{
    selector *sel = selector_open(f->backend);
    pair p[4];
    int opened = 0;
    while (opened < 4 && pair_open(f, &p[opened]))
        opened++;
    CHECK(f, opened == 4, "four loopback connections open");
    for (int i = 0; i < opened; i++) {
        int *attachment = malloc(sizeof *attachment);
        *attachment = i;
        selector_register(sel, p[i].near, OP_READ, attachment, NULL);
    }
    /* One key selected, one cancelled, one with no interest. */
    send_text(p[0].far, "x");
    selection_key *k0 = selector_key_for(sel, p[0].near);
    select_until(sel, k0);
    key_cancel(selector_key_for(sel, p[1].near));
    key_set_interest_ops(selector_key_for(sel, p[2].near), 0);

    /* Attachments are the caller's: free them before closing. */
    key_iterator it = selector_keys(sel);
    selection_key *k;
    int freed = 0;
    while ((k = key_iterator_next(&it)) != NULL) {
        free(key_attach(k, NULL));
        freed++;
    }
    CHECK(f, freed == opened, "keys() hands back every attachment (%d)", freed);
    selector_close(sel); /* the sanitizer run checks nothing leaks */
    selector_close(NULL);

    bool open_still = true;
    for (int i = 0; i < opened; i++)
        open_still = open_still && fcntl(channel_fd(p[i].near), F_GETFD) >= 0;
    CHECK(f, open_still, "closing the selector leaves the channels open");
    selector *other = selector_open(f->backend);
    selection_key *again = NULL;
    CHECK(f,
          selector_register(other, p[0].near, OP_READ, NULL, &again) ==
                  SELECTOR_OK &&
              select_until(other, again),
          "and they can register with another selector");
    selector_close(other);
    for (int i = 0; i < opened; i++)
        pair_close(&p[i]);

    errno = 0;
    CHECK(f, selector_select(NULL) == -1 && errno == EBADF,
          "selecting on no selector is EBADF");
}

/* --- wakeup and timeouts ---------------------------------------------- */

typedef struct waker {
    selector *sel;
    atomic_bool selecting; /* main is about to select */
    atomic_bool woke;
    int count;
} waker;

/* Linux shows a thread's state in /proc: 'S' while it sleeps in a system
 * call. Waiting for it makes "wakeup during a select" likely rather than
 * hoped for; elsewhere a short pause does the same job less surely. */
static void wait_until_main_sleeps(void)
{
#ifdef __linux__
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)getpid());
    long long deadline = now_ms() + AT_ONCE_MS;
    while (now_ms() < deadline) {
        char text[512];
        FILE *file = fopen(path, "r");
        size_t got = file != NULL ? fread(text, 1, sizeof text - 1, file) : 0;
        if (file != NULL)
            fclose(file);
        text[got] = '\0';
        const char *state = strrchr(text, ')');
        if (state != NULL && state[1] == ' ' && state[2] == 'S')
            return;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
#else
    struct timespec pause = {0, 50000000};
    nanosleep(&pause, NULL);
#endif
}

static void *wake_later(void *arg)
{
    waker *w = arg;
    while (!atomic_load(&w->selecting))
        sched_yield();
    wait_until_main_sleeps();
    for (int i = 0; i < w->count; i++)
        selector_wakeup(w->sel);
    atomic_store(&w->woke, true);
    return NULL;
}

static void *wake_now(void *arg)
{
    waker *w = arg;
    for (int i = 0; i < w->count; i++)
        selector_wakeup(w->sel);
    atomic_store(&w->woke, true);
    return NULL;
}

static void test_wakeup(fixture *f)
{
    selector *sel = selector_open(f->backend);
    long long start;

    selector_wakeup(sel);
    start = now_ms();
    CHECK(f,
          selector_select_timeout(sel, LONG_MS) == 0 &&
              now_ms() - start < AT_ONCE_MS,
          "a wakeup before select makes it return at once (sticky)");
    start = now_ms();
    CHECK(f,
          selector_select_timeout(sel, SHORT_MS) == 0 &&
              now_ms() - start >= SHORT_MS - 20,
          "and is used up: the next select waits its timeout");

    for (int i = 0; i < 5; i++)
        selector_wakeup(sel);
    start = now_ms();
    selector_select_timeout(sel, LONG_MS);
    CHECK(f, now_ms() - start < AT_ONCE_MS, "five wakeups: select returns");
    start = now_ms();
    selector_select_timeout(sel, SHORT_MS);
    CHECK(f, now_ms() - start >= SHORT_MS - 20,
          "and they counted as one: the select after waits");

    selector_wakeup(sel);
    CHECK(f, selector_select_now(sel) == 0, "select_now after a wakeup: 0");
    start = now_ms();
    selector_select_timeout(sel, SHORT_MS);
    CHECK(f, now_ms() - start >= SHORT_MS - 20,
          "select_now clears a pending wakeup");

    /* From another thread, before the select. */
    waker w = {.sel = sel, .count = 3};
    atomic_init(&w.selecting, false);
    atomic_init(&w.woke, false);
    pthread_t thread;
    pthread_create(&thread, NULL, wake_now, &w);
    pthread_join(thread, NULL);
    start = now_ms();
    CHECK(f,
          selector_select_timeout(sel, LONG_MS) == 0 &&
              now_ms() - start < AT_ONCE_MS,
          "a wakeup from another thread before select: returns at once");

    /* From another thread, while select blocks. */
    atomic_store(&w.woke, false);
    w.count = 1;
    pthread_create(&thread, NULL, wake_later, &w);
    atomic_store(&w.selecting, true);
    start = now_ms();
    int n = selector_select_timeout(sel, LONG_MS);
    long long took = now_ms() - start;
    pthread_join(thread, NULL);
    CHECK(f, n == 0 && took < LONG_MS / 2 && atomic_load(&w.woke),
          "a wakeup from another thread ends a blocked select (%lld ms)", took);
    start = now_ms();
    selector_select_timeout(sel, SHORT_MS);
    CHECK(f, now_ms() - start >= SHORT_MS - 20,
          "and is not left over for the next one");

    /* A wakeup does not hide ready keys. */
    pair p;
    if (pair_open(f, &p)) {
        selection_key *key = NULL;
        selector_register(sel, p.near, OP_READ, NULL, &key);
        send_text(p.far, "x");
        select_until(sel, key);
        clear_selected(sel);
        selector_wakeup(sel);
        CHECK(f, selector_select(sel) == 1 && is_selected(sel, key),
              "a select woken up still reports the ready keys");
        pair_close(&p);
    }
    selector_close(sel);
}

static void test_timeouts(fixture *f)
{
    selector *sel = selector_open(f->backend);
    long long start = now_ms();
    CHECK(f, selector_select_now(sel) == 0 && now_ms() - start < AT_ONCE_MS,
          "select_now with nothing ready returns 0 at once");
    start = now_ms();
    CHECK(f, selector_select_timeout(sel, 2 * SHORT_MS) == 0,
          "select with a timeout and nothing ready returns 0");
    long long took = now_ms() - start;
    CHECK(f, took >= 2 * SHORT_MS - 20 && took < LONG_MS,
          "after about the timeout (%lld ms)", took);
    errno = 0;
    CHECK(f, selector_select_timeout(sel, -1) == -1 && errno == EINVAL,
          "a negative timeout is EINVAL (IllegalArgumentException)");

    pair p;
    if (pair_open(f, &p)) {
        selection_key *key = NULL;
        selector_register(sel, p.near, OP_WRITE, NULL, &key);
        start = now_ms();
        CHECK(f,
              selector_select_timeout(sel, LONG_MS) == 1 &&
                  now_ms() - start < AT_ONCE_MS,
              "a ready key ends a long timeout at once");
        clear_selected(sel);
        CHECK(f, selector_select(sel) == 1, "select() returns a ready key");
        pair_close(&p);
    }
    selector_close(sel);
}

/* --- end of stream, reset, refused connect ---------------------------- */

static void test_hangups(fixture *f)
{
    selector *sel = selector_open(f->backend);
    pair p, q, r;
    if (!pair_open(f, &p) || !pair_open(f, &q) || !pair_open(f, &r)) {
        CHECK(f, false, "three loopback connections open");
        selector_close(sel);
        return;
    }
    buffer *b = buffer_allocate(64);
    selection_key *kp, *kq, *kr;

    selector_register(sel, p.near, OP_READ, NULL, &kp);
    channel_close(p.far);
    p.far = NULL;
    CHECK(f, select_until(sel, kp) && key_is_readable(kp),
          "a peer that closed makes the key readable");
    CHECK(f, channel_read(p.near, b) == CHANNEL_EOF,
          "and read reports end of stream");

    selector_register(sel, q.near, OP_READ, NULL, &kq);
    channel_shutdown_output(q.far);
    CHECK(f,
          select_until(sel, kq) && key_is_readable(kq) &&
              channel_read(q.near, b) == CHANNEL_EOF,
          "a half-close (shutdown) is end of stream too");

    selector_register(sel, r.near, OP_READ, NULL, &kr);
    struct linger abort_on_close = {.l_onoff = 1, .l_linger = 0};
    setsockopt(channel_fd(r.far), SOL_SOCKET, SO_LINGER, &abort_on_close,
               sizeof abort_on_close);
    channel_close(r.far); /* sends a reset */
    r.far = NULL;
    errno = 0;
    CHECK(f, select_until(sel, kr) && key_is_readable(kr),
          "a reset makes the key readable");
    CHECK(f, channel_read(r.near, b) == CHANNEL_ERROR && errno == ECONNRESET,
          "and read reports ECONNRESET");

    /* A connect to a port nobody listens on. */
    socket_address nowhere;
    socket_address_resolve(&nowhere, "127.0.0.1", 0);
    channel *gone = channel_open_server(&nowhere, 1);
    CHECK(f, gone != NULL, "a listener on a free port opens");
    /* Its port, once it is closed, has nobody listening. */
    socket_address_resolve(&nowhere, "127.0.0.1", channel_local_port(gone));
    channel_close(gone);
    channel *refused = channel_open_socket(&nowhere);
    channel_configure_blocking(refused, false);
    int rc = channel_connect(refused, &nowhere);
    selection_key *kc = NULL;
    if (rc == 0) {
        selector_register(sel, refused, OP_CONNECT, NULL, &kc);
        CHECK(f, select_until(sel, kc) && key_is_connectable(kc),
              "a refused connect makes the key connectable");
        errno = 0;
        CHECK(f, channel_finish_connect(refused) == -1 && errno == ECONNREFUSED,
              "and finish_connect reports ECONNREFUSED");
        key_cancel(kc);
    } else {
        CHECK(f, rc == -1 && errno == ECONNREFUSED,
              "a refused connect is reported at once");
    }
    channel_close(refused);

    buffer_free(b);
    selector_close(sel);
    pair_close(&p);
    pair_close(&q);
    pair_close(&r);
}

/* --- key_for ---------------------------------------------------------- */

static void test_key_for(fixture *f)
{
    selector *sel = selector_open(f->backend);
    selector *other = selector_open(f->backend);
    pair p;
    if (!pair_open(f, &p)) {
        CHECK(f, false, "a loopback connection opens");
        selector_close(sel);
        selector_close(other);
        return;
    }
    CHECK(f, selector_key_for(sel, p.near) == NULL,
          "key_for an unregistered channel is NULL");
    selection_key *key = NULL, *key2 = NULL;
    selector_register(sel, p.near, OP_READ, NULL, &key);
    selector_register(other, p.near, OP_WRITE, NULL, &key2);
    CHECK(f,
          selector_key_for(sel, p.near) == key &&
              selector_key_for(other, p.near) == key2 && key != key2,
          "a channel has one key per selector");
    CHECK(f,
          selector_key_for(sel, p.far) == NULL &&
              selector_key_for(sel, NULL) == NULL &&
              selector_key_for(NULL, p.near) == NULL,
          "key_for another channel, NULL channel or NULL selector is NULL");
    key_cancel(key);
    CHECK(f,
          selector_key_for(sel, p.near) == key &&
              selector_key_for(other, p.near) == key2,
          "key_for finds a cancelled key until the next selection");
    selector_select_now(sel);
    CHECK(f,
          selector_key_for(sel, p.near) == NULL &&
              selector_key_for(other, p.near) == key2,
          "then NULL; the other selector's key remains");
    selector_close(sel);
    selector_close(other);
    pair_close(&p);
}

/* --- where the selector used to differ from Java's -------------------- */

/* Closing a registered channel: Java cancels its keys. */
static void test_close_registered(fixture *f)
{
    selector *sel = selector_open(f->backend);
    pair p;
    if (!pair_open(f, &p)) {
        CHECK(f, false, "a loopback connection opens");
        selector_close(sel);
        return;
    }
    selection_key *key = NULL;
    selector_register(sel, p.near, OP_READ, NULL, &key);
    send_text(p.far, "x");
    CHECK(f, select_until(sel, key), "a readable key is selected");
    clear_selected(sel);
    channel *closed = p.near;
    channel_close(p.near); /* no key_cancel first */
    p.near = NULL;
    CHECK(f, !key_is_valid(key), "closing its channel cancels the key at once");
    CHECK(f, key_channel(key) == closed && !channel_is_open(closed),
          "the key still names its channel, closed (Java's key.channel())");
    long long start = now_ms();
    int n = selector_select_timeout(sel, SHORT_MS);
    CHECK(f, n == 0 && selector_selected_count(sel) == 0,
          "the next select succeeds and selects nothing (%d)", n);
    CHECK(f, now_ms() - start >= SHORT_MS - 20,
          "it waits its timeout: nothing stale fires");
    CHECK(f, selector_key_count(sel) == 0, "and the key has left keys()");
    selector_close(sel);
    pair_close(&p);
}

/* OP_CONNECT only while a connect is pending, OP_WRITE only once connected;
 * a refused connect closes the channel, and its key with it. */
static void test_connect_ops(fixture *f)
{
    selector *sel = selector_open(f->backend);
    channel *c = channel_open_socket(&f->address);
    channel_configure_blocking(c, false);
    int rc = channel_connect(c, &f->address);
    selection_key *key = NULL;
    selector_register(sel, c, OP_CONNECT | OP_WRITE, NULL, &key);
    CHECK(f, select_until(sel, key), "a connecting socket's key is selected");
    int want = rc == 0 ? OP_CONNECT : OP_WRITE;
    CHECK(f, key_ready_ops(key) == want, "ready: %s only, while %s (got %d)",
          rc == 0 ? "OP_CONNECT" : "OP_WRITE",
          rc == 0 ? "the connect is pending" : "connected at once",
          key_ready_ops(key));
    CHECK(f, channel_finish_connect(c) == 1 && channel_is_connected(c),
          "finish_connect: connected");
    clear_selected(sel);
    CHECK(f, select_until(sel, key) && key_ready_ops(key) == OP_WRITE,
          "once connected: OP_WRITE, never OP_CONNECT again (got %d)",
          key_ready_ops(key));
    channel *peer = channel_accept(f->listener);
    channel_close(c); /* no cancel: close does it */
    channel_close(peer);
    selector_select_now(sel);

    /* A connect to a port nobody listens on. */
    socket_address nowhere;
    socket_address_resolve(&nowhere, "127.0.0.1", 0);
    channel *gone = channel_open_server(&nowhere, 1);
    socket_address_resolve(&nowhere, "127.0.0.1", channel_local_port(gone));
    channel_close(gone);
    channel *refused = channel_open_socket(&nowhere);
    channel_configure_blocking(refused, false);
    if (channel_connect(refused, &nowhere) != 0) {
        printf("ok %d - [%s] # SKIP the refused connect failed at once\n",
               ++f->t->run, f->name);
        channel_close(refused);
        selector_close(sel);
        return;
    }
    selector_register(sel, refused, OP_CONNECT | OP_READ, NULL, &key);
    CHECK(f, select_until(sel, key) && key_is_connectable(key),
          "a refused connect makes the key connectable");
    errno = 0;
    CHECK(f, channel_finish_connect(refused) == -1 && errno == ECONNREFUSED,
          "finish_connect reports ECONNREFUSED");
    CHECK(f, !key_is_valid(key) && !channel_is_open(refused),
          "and closes the channel, which cancels its key");
    clear_selected(sel);
    long long start = now_ms();
    int n = selector_select_timeout(sel, SHORT_MS);
    CHECK(f,
          n == 0 && selector_selected_count(sel) == 0 &&
              now_ms() - start >= SHORT_MS - 20 && selector_key_count(sel) == 0,
          "the selector no longer returns it: no spin on a dead socket");
    CHECK(f,
          selector_register(sel, refused, OP_READ, NULL, NULL) ==
              SELECTOR_CLOSED_CHANNEL,
          "registering the closed channel: SELECTOR_CLOSED_CHANNEL");
    channel_close(refused);
    selector_close(sel);
}

/* Blocking mode, cancelled keys' getters, isRegistered, validOps, the
 * previous ops from interestOpsOr/And, a Pipe's channels. */
static void test_key_state(fixture *f)
{
    selector *sel = selector_open(f->backend);
    pair p;
    if (!pair_open(f, &p)) {
        CHECK(f, false, "a loopback connection opens");
        selector_close(sel);
        return;
    }
    CHECK(f,
          channel_valid_ops(f->listener) == OP_ACCEPT &&
              channel_valid_ops(p.near) == (OP_READ | OP_WRITE | OP_CONNECT),
          "valid ops: OP_ACCEPT for a server, read/write/connect for a socket");
    CHECK(f, !channel_is_registered(p.near), "a new channel is not registered");
    selection_key *key = NULL;
    selector_register(sel, p.near, OP_READ, NULL, &key);
    CHECK(f, channel_is_registered(p.near), "registered once it has a key");
    errno = 0;
    CHECK(f,
          channel_configure_blocking(p.near, true) == -1 && errno == EBUSY &&
              !channel_is_blocking(p.near),
          "blocking mode while registered: -1, EBUSY "
          "(IllegalBlockingModeException), still non-blocking");
    int previous = -1;
    CHECK(f,
          key_interest_ops_or(key, OP_WRITE, &previous) == SELECTOR_OK &&
              previous == OP_READ &&
              key_interest_ops(key) == (OP_READ | OP_WRITE),
          "interest_ops_or gives the ops before (%d), as Java returns them",
          previous);
    CHECK(f,
          key_interest_ops_and(key, ~OP_WRITE, &previous) == SELECTOR_OK &&
              previous == (OP_READ | OP_WRITE) &&
              key_interest_ops(key) == OP_READ,
          "and interest_ops_and (%d)", previous);
    send_text(p.far, "x");
    select_until(sel, key);

    key_cancel(key);
    int ops = 99;
    CHECK(f,
          key_get_interest_ops(key, &ops) == SELECTOR_CANCELLED_KEY &&
              key_get_ready_ops(key, &ops) == SELECTOR_CANCELLED_KEY &&
              ops == 99,
          "a cancelled key's getters report SELECTOR_CANCELLED_KEY");
    CHECK(f,
          key_interest_ops(key) == 0 && key_ready_ops(key) == 0 &&
              !key_is_readable(key),
          "and the plain getters answer 0: no handler acts on it");
    CHECK(f,
          selector_key_for(sel, p.near) == key && channel_is_registered(p.near),
          "key_for still finds it, and the channel is still registered");
    CHECK(f,
          selector_register(sel, p.near, OP_READ, NULL, NULL) ==
              SELECTOR_CANCELLED_KEY,
          "registering again before the next selection: CANCELLED_KEY");
    CHECK(f,
          channel_configure_blocking(p.near, true) == 0 &&
              channel_configure_blocking(p.near, false) == 0,
          "with no valid key, blocking mode is allowed again");
    selector_select_now(sel);
    CHECK(f,
          selector_key_for(sel, p.near) == NULL &&
              !channel_is_registered(p.near),
          "after the next selection: no key, not registered");

    channel *source = NULL, *sink = NULL;
    selection_key *ks = NULL, *kw = NULL;
    CHECK(f,
          channel_open_pipe(&source, &sink) == 0 &&
              channel_valid_ops(source) == OP_READ &&
              channel_valid_ops(sink) == OP_WRITE &&
              selector_register(sel, source, OP_READ, NULL, &ks) ==
                  SELECTOR_BLOCKING_CHANNEL,
          "a pipe: source OP_READ, sink OP_WRITE; blocking until told");
    channel_configure_blocking(source, false);
    channel_configure_blocking(sink, false);
    CHECK(f,
          selector_register(sel, source, OP_WRITE, NULL, &ks) ==
                  SELECTOR_INVALID_OPS &&
              selector_register(sel, source, OP_READ, NULL, &ks) ==
                  SELECTOR_OK &&
              selector_register(sel, sink, OP_WRITE, NULL, &kw) == SELECTOR_OK,
          "OP_WRITE on a source is INVALID_OPS; each end registers");
    CHECK(f,
          select_until(sel, kw) && !is_selected(sel, ks) &&
              key_ready_ops(kw) == OP_WRITE,
          "an empty pipe: the sink is writable, the source not");
    clear_selected(sel);
    buffer *b = buffer_allocate(4);
    buffer_put(b, 'w');
    buffer_flip(b);
    channel_write(sink, b);
    CHECK(f, select_until(sel, ks) && key_ready_ops(ks) == OP_READ,
          "a byte in it: the source is readable");
    buffer_free(b);
    channel_close(source);
    channel_close(sink);
    selector_close(sel);
    pair_close(&p);
}

/* --- one channel, several selectors ---------------------------------- */

/* A channel keeps the list of its keys, one per selector: removing a key
 * from the middle of that list keeps the others, and close cancels every
 * one; the channel lives until the last selector lets go. (The sanitizer
 * run catches a channel freed too early or never.) */
static void test_keys_of_one_channel(fixture *f)
{
    enum { SELECTORS = 3 };
    selector *sels[SELECTORS];
    selection_key *keys[SELECTORS] = {NULL};
    pair p;
    for (int i = 0; i < SELECTORS; i++)
        sels[i] = selector_open(f->backend);
    if (!pair_open(f, &p)) {
        CHECK(f, false, "a loopback connection opens");
        for (int i = 0; i < SELECTORS; i++)
            selector_close(sels[i]);
        return;
    }
    bool registered = true;
    for (int i = 0; i < SELECTORS; i++)
        registered =
            registered && selector_register(sels[i], p.near, OP_READ, NULL,
                                            &keys[i]) == SELECTOR_OK;
    CHECK(f, registered && channel_is_registered(p.near),
          "one channel registers with three selectors");

    key_cancel(keys[1]);
    selector_select_now(sels[1]);
    errno = 0;
    CHECK(f,
          selector_key_for(sels[1], p.near) == NULL &&
              channel_is_registered(p.near) &&
              channel_configure_blocking(p.near, true) == -1 && errno == EBUSY,
          "the middle key gone, the other two still hold it: registered, "
          "no blocking mode");
    send_text(p.far, "x");
    CHECK(f, select_until(sels[0], keys[0]) && select_until(sels[2], keys[2]),
          "and both still select it");

    channel *closed = p.near;
    channel_close(p.near);
    p.near = NULL;
    CHECK(f, !key_is_valid(keys[0]) && !key_is_valid(keys[2]),
          "closing it cancels both remaining keys at once");
    selector_select_now(sels[0]);
    CHECK(f,
          selector_key_count(sels[0]) == 0 && key_channel(keys[2]) == closed &&
              !channel_is_open(closed) && channel_is_registered(closed),
          "one selector lets go; the other's key still names the closed, "
          "still registered channel");
    selector_select_now(sels[2]);
    CHECK(f, selector_key_count(sels[2]) == 0,
          "the last selector lets go (and frees the channel)");
    for (int i = 0; i < SELECTORS; i++)
        selector_close(sels[i]);
    pair_close(&p);
}

/* Chapter 7's listener: every worker's selector registers the one channel
 * from its own thread. The list and its lock must take registrations and
 * cancellations from several threads at once (ThreadSanitizer checks). */
enum { REGISTRARS = 4, ROUNDS = 200 };

typedef struct registrar {
    selector_backend backend;
    channel *shared; /* the channel all of them register */
    channel *own;    /* and one of its own, on whatever lock it hashes to */
    int failures;
} registrar;

static void *register_and_cancel(void *arg)
{
    registrar *r = arg;
    selector *sel = selector_open(r->backend);
    for (int i = 0; sel != NULL && i < ROUNDS; i++) {
        selection_key *shared = NULL, *own = NULL;
        if (selector_register(sel, r->shared, OP_READ, NULL, &shared) !=
                SELECTOR_OK ||
            selector_register(sel, r->own, OP_READ, NULL, &own) !=
                SELECTOR_OK) {
            r->failures++;
            continue;
        }
        key_cancel(shared);
        key_cancel(own);
        if (selector_select_now(sel) < 0 || selector_key_count(sel) != 0)
            r->failures++;
    }
    if (sel == NULL)
        r->failures++;
    selector_close(sel);
    return NULL;
}

static void test_keys_from_threads(fixture *f)
{
    pair shared, own[REGISTRARS];
    registrar r[REGISTRARS];
    pthread_t threads[REGISTRARS];
    int opened = 0, started = 0;
    if (!pair_open(f, &shared)) {
        CHECK(f, false, "a loopback connection opens");
        return;
    }
    while (opened < REGISTRARS && pair_open(f, &own[opened]))
        opened++;
    for (int i = 0; i < opened; i++) {
        r[i] = (registrar){
            .backend = f->backend, .shared = shared.near, .own = own[i].near};
        if (pthread_create(&threads[i], NULL, register_and_cancel, &r[i]) == 0)
            started++;
        else
            break;
    }
    int failures = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        failures += r[i].failures;
    }
    CHECK(f, opened == REGISTRARS && started == REGISTRARS && failures == 0,
          "%d threads register one channel with their own selectors, %d "
          "times each: every registration and cancel works (%d failed)",
          started, ROUNDS, failures);
    CHECK(f,
          !channel_is_registered(shared.near) &&
              channel_configure_blocking(shared.near, true) == 0,
          "afterwards no key is left: blocking mode is allowed again");
    for (int i = 0; i < opened; i++)
        pair_close(&own[i]);
    pair_close(&shared);
}

/* --- FD_SETSIZE ------------------------------------------------------- */

static void test_large_descriptor(fixture *f)
{
    enum { HIGH = 1100 };
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0 ||
        (limit.rlim_max != RLIM_INFINITY && limit.rlim_max <= HIGH + 16)) {
        printf("ok %d - [%s] # SKIP the hard descriptor limit is below %d\n",
               ++f->t->run, f->name, HIGH + 16);
        return;
    }
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur <= HIGH + 16) {
        limit.rlim_cur = HIGH + 16;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    selector *sel = selector_open(f->backend);
    pair p;
    if (!pair_open(f, &p)) {
        CHECK(f, false, "a loopback connection opens");
        selector_close(sel);
        return;
    }
    int high = dup2(channel_fd(p.near), HIGH);
    CHECK(f, high == HIGH, "a socket is duplicated to descriptor %d", HIGH);
    selection_key *key = NULL;
    selector_status s = selector_register_fd(sel, high, OP_READ, NULL, &key);
    if (f->backend == SELECTOR_BACKEND_SELECT) {
        CHECK(f, s == SELECTOR_FD_TOO_LARGE,
              "select refuses descriptor %d (>= FD_SETSIZE %d): %s", HIGH,
              FD_SETSIZE, selector_status_name(s));
        CHECK(f, selector_key_count(sel) == 0, "and registers nothing");
    } else {
        CHECK(f, s == SELECTOR_OK, "descriptor %d registers", HIGH);
        send_text(p.far, "x");
        CHECK(f, select_until(sel, key) && key_fd(key) == HIGH,
              "and is selected when readable");
        key_cancel(key);
    }
    close(high);

    /* Fill the table below 1,024 so that the next channel lands above. */
    int filler[FD_SETSIZE + 8], filled = 0;
    int fd = -1;
    while (filled < FD_SETSIZE + 8 &&
           (fd = dup(channel_fd(f->listener))) >= 0 && fd < FD_SETSIZE)
        filler[filled++] = fd;
    if (fd >= FD_SETSIZE)
        close(fd);
    channel *big = channel_open_connected(&f->address);
    channel *big_peer = channel_accept(f->listener);
    channel_configure_blocking(big, false);
    CHECK(f, big != NULL && channel_fd(big) >= FD_SETSIZE,
          "a channel opened while 0..1023 are taken has descriptor %d",
          channel_fd(big));
    s = selector_register(sel, big, OP_READ, NULL, &key);
    if (f->backend == SELECTOR_BACKEND_SELECT) {
        CHECK(f, s == SELECTOR_FD_TOO_LARGE,
              "select refuses that channel with FD_TOO_LARGE");
        errno = 0;
        selector *late = selector_open(SELECTOR_BACKEND_SELECT);
        CHECK(f, late == NULL && errno != 0,
              "and a select selector cannot even open there: %s",
              strerror(errno));
        selector_close(late);
    } else {
        CHECK(f, s == SELECTOR_OK, "%s takes that channel", f->name);
        key_cancel(key);
    }
    channel_close(big);
    channel_close(big_peer);
    for (int i = 0; i < filled; i++)
        close(filler[i]);

    selector_close(sel);
    pair_close(&p);
}

/* --- names ------------------------------------------------------------ */

static void test_names(fixture *f)
{
    selector_backend parsed;
    CHECK(f,
          selector_backend_parse(f->name, &parsed) && parsed == f->backend &&
              strcmp(selector_backend_name(parsed), f->name) == 0,
          "the backend name round-trips");
    CHECK(f,
          !selector_backend_parse("kqueue", &parsed) &&
              !selector_backend_parse("pol", &parsed) &&
              !selector_backend_parse("polll", &parsed) &&
              !selector_backend_parse(NULL, &parsed),
          "unknown names are refused");
    CHECK(f, selector_backend_available(selector_default_backend()),
          "the default backend (%s) is available",
          selector_backend_name(selector_default_backend()));
    CHECK(f,
          strcmp(selector_status_name(SELECTOR_FD_TOO_LARGE),
                 "SELECTOR_FD_TOO_LARGE") == 0 &&
              strcmp(selector_status_name((selector_status)99),
                     "SELECTOR_UNKNOWN_STATUS") == 0,
          "statuses have names");
    selector *sel = selector_open(f->backend);
    CHECK(f,
          sel != NULL && selector_get_backend(sel) == f->backend &&
              selector_key_count(sel) == 0 && selector_selected_count(sel) == 0,
          "a new selector is empty and knows its backend");
    selector_close(sel);
}

static void run_suite(tap *t, selector_backend backend)
{
    fixture f = {
        .t = t, .backend = backend, .name = selector_backend_name(backend)};
    int fds_before = open_fd_count();
    socket_address any;
    socket_address_resolve(&any, "127.0.0.1", 0);
    f.listener = channel_open_server(&any, 64);
    if (f.listener == NULL) {
        CHECK(&f, false, "a loopback listener opens: %s", strerror(errno));
        return;
    }
    socket_address_resolve(&f.address, "127.0.0.1",
                           channel_local_port(f.listener));

    test_names(&f);
    test_registration(&f);
    test_interest_and_ready(&f);
    test_selected_set(&f);
    test_cancel(&f);
    test_close(&f);
    test_wakeup(&f);
    test_timeouts(&f);
    test_hangups(&f);
    test_key_for(&f);
    test_close_registered(&f);
    test_connect_ops(&f);
    test_key_state(&f);
    test_keys_of_one_channel(&f);
    test_keys_from_threads(&f);
    test_large_descriptor(&f);

    channel_close(f.listener);
    int fds_after = open_fd_count();
    CHECK(&f, fds_after == fds_before, "no descriptor leaked (%d, then %d)",
          fds_before, fds_after);
}

int main(int argc, char **argv)
{
    tap t = {0};
    if (argc > 2) {
        fprintf(stderr, "usage: %s [select|poll|epoll]\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        selector_backend backend;
        if (!selector_backend_parse(argv[1], &backend)) {
            fprintf(stderr, "%s: unknown backend '%s'\n", argv[0], argv[1]);
            return 2;
        }
        if (!selector_backend_available(backend)) {
            printf("1..0 # SKIP %s is not available here\n", argv[1]);
            return 0;
        }
        run_suite(&t, backend);
    } else {
        for (int b = SELECTOR_BACKEND_SELECT; b <= SELECTOR_BACKEND_EPOLL; b++)
            if (selector_backend_available((selector_backend)b))
                run_suite(&t, (selector_backend)b);
    }
    return tap_done(&t);
}
