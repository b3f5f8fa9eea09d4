/*
 * lab_selector.c - the unit stages of chapter 3's lab, in the order of the
 * lesson: the select step and its key sets, cancel, ready ops, wakeup,
 * then the poll backend. Checked through selector.h only.
 *
 * The stages of the selector itself run on the chapter's epoll backend
 * (select where there is no epoll), so that each stage checks what its
 * section teaches and nothing else; the poll-backend stage then runs the
 * same kind of checks on the learner's poll backend.
 *
 * The sockets are Unix socket pairs (a selector reports what the kernel
 * says, so they must be real), and the listener and the connect of the
 * ready-ops stage are loopback TCP. Timeouts are checked from below with
 * slack, "at once" means well under a long timeout.
 */
#define _GNU_SOURCE /* syscall(SYS_gettid), to watch a blocked thread */
#include "03-selector/selector.h"
#include "lab_check.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { SHORT_MS = 200, LONG_MS = 4000, AT_ONCE_MS = 2000 };

static const char *ops_text(int ops)
{
    static char text[4][48];
    static int next;
    char *out = text[next++ % 4];
    if (ops == 0)
        return "none";
    snprintf(out, 48, "%s%s%s%s", ops & OP_READ ? "OP_READ " : "",
             ops & OP_WRITE ? "OP_WRITE " : "",
             ops & OP_CONNECT ? "OP_CONNECT " : "",
             ops & OP_ACCEPT ? "OP_ACCEPT " : "");
    out[strlen(out) - 1] = '\0';
    return out;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static selector_backend selector_stages_backend(void)
{
    return selector_backend_available(SELECTOR_BACKEND_EPOLL)
               ? SELECTOR_BACKEND_EPOLL
               : SELECTOR_BACKEND_SELECT;
}

static selector *open_selector(selector_backend backend)
{
    selector *sel = selector_open(backend);
    if (sel == NULL)
        lab_fail("selector_open to return a selector", "NULL (%s)",
                 strerror(errno));
    return sel;
}

/* A socket pair: `near` is registered, `far` plays the peer. */
typedef struct pair {
    int near, far;
} pair;

static pair open_pair(void)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0 ||
        fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0)
        lab_fail("a socket pair", "%s", strerror(errno));
    return (pair){fds[0], fds[1]};
}

static void close_pair(pair *p)
{
    if (p->near >= 0)
        close(p->near);
    if (p->far >= 0)
        close(p->far);
    p->near = p->far = -1;
}

static selection_key *register_fd(selector *sel, int fd, int ops,
                                  void *attachment)
{
    selection_key *key = NULL;
    selector_status s = selector_register_fd(sel, fd, ops, attachment, &key);
    if (s != SELECTOR_OK || key == NULL)
        lab_fail("selector_register_fd to give a key", "%s",
                 selector_status_name(s));
    return key;
}

static void peer_write(const pair *p, const char *text)
{
    if (write(p->far, text, strlen(text)) != (ssize_t)strlen(text))
        lab_fail("the test's own write to work", "%s", strerror(errno));
}

/* Is `key` in the selected-key set? */
static bool is_selected(selector *sel, const selection_key *key)
{
    key_iterator it = selector_selected_keys(sel);
    selection_key *k;
    while ((k = key_iterator_next(&it)) != NULL)
        if (k == key)
            return true;
    return false;
}

static bool in_keys(selector *sel, const selection_key *key)
{
    key_iterator it = selector_keys(sel);
    selection_key *k;
    while ((k = key_iterator_next(&it)) != NULL)
        if (k == key)
            return true;
    return false;
}

static void remove_all_selected(selector *sel)
{
    key_iterator it = selector_selected_keys(sel);
    while (key_iterator_next(&it) != NULL)
        key_iterator_remove(&it);
}

/* A selection that must find something: selector_select_timeout with a
 * long timeout, so that a selector that finds nothing fails, not hangs. */
static int select_long(selector *sel)
{
    int n = selector_select_timeout(sel, LONG_MS);
    LAB_EXPECT(n >= 0, "a count, not -1", "-1 (%s)", strerror(errno));
    return n;
}

/* --- the select step ---------------------------------------------------- */

static void stage_select_step(void)
{
    selector *sel = open_selector(selector_stages_backend());
    pair a = open_pair(), b = open_pair();
    int tag_a = 1, tag_b = 2;
    selection_key *ka = register_fd(sel, a.near, OP_READ, &tag_a);
    selection_key *kb = register_fd(sel, b.near, OP_READ, &tag_b);

    lab_did("selector_select_now with two keys (OP_READ), nothing to read");
    int n = selector_select_now(sel);
    LAB_EXPECT(n == 0 && selector_selected_count(sel) == 0,
               "0, and the selected-key set empty", "%d, %zu selected (%s)", n,
               selector_selected_count(sel), n < 0 ? strerror(errno) : "");

    lab_did("the peer of A writes \"x\"; selector_select_timeout(%d ms)",
            LONG_MS);
    peer_write(&a, "x");
    n = select_long(sel);
    LAB_EXPECT(n == 1 && selector_selected_count(sel) == 1 &&
                   is_selected(sel, ka) && !is_selected(sel, kb),
               "1: A's key, and only it, in the selected-key set",
               "%d; %zu selected; A %s, B %s", n, selector_selected_count(sel),
               is_selected(sel, ka) ? "in" : "not in",
               is_selected(sel, kb) ? "in" : "not in");
    LAB_EXPECT(key_ready_ops(ka) == OP_READ && key_attachment(ka) == &tag_a,
               "A ready for OP_READ, with its attachment",
               "ready %s, attachment %s", ops_text(key_ready_ops(ka)),
               key_attachment(ka) == &tag_a ? "right" : "wrong");

    lab_did("selector_select_now again without removing A (still "
            "readable, nothing new)");
    n = selector_select_now(sel);
    LAB_EXPECT(n == 0 && selector_selected_count(sel) == 1 &&
                   key_ready_ops(ka) == OP_READ,
               "0 (no key's ready set grew); A stays selected, OP_READ",
               "%d; %zu selected; ready %s", n, selector_selected_count(sel),
               ops_text(key_ready_ops(ka)));

    lab_did("A still selected; its interest set to OP_WRITE alone; "
            "selector_select_now");
    key_set_interest_ops(ka, OP_WRITE);
    n = selector_select_now(sel);
    LAB_EXPECT(n == 1 && key_ready_ops(ka) == (OP_READ | OP_WRITE),
               "1, and ready ops accumulated: OP_READ OP_WRITE (a key "
               "still in the set keeps what it had)",
               "%d, ready %s", n, ops_text(key_ready_ops(ka)));

    lab_did("A removed with key_iterator_remove; selector_select_now");
    key_iterator it = selector_selected_keys(sel);
    while (key_iterator_next(&it) != NULL)
        key_iterator_remove(&it);
    LAB_EXPECT(selector_selected_count(sel) == 0,
               "the selected-key set empty after the removal", "%zu left",
               selector_selected_count(sel));
    n = selector_select_now(sel);
    LAB_EXPECT(n == 1 && is_selected(sel, ka) && key_ready_ops(ka) == OP_WRITE,
               "1; A selected again with a fresh ready set: OP_WRITE only "
               "(its interest), not what it had before",
               "%d; A %s; ready %s", n, is_selected(sel, ka) ? "in" : "not in",
               ops_text(key_ready_ops(ka)));

    lab_did("the peer of B writes too; selector_select_now with A still "
            "selected");
    peer_write(&b, "y");
    n = select_long(sel);
    LAB_EXPECT(
        n == 1 && selector_selected_count(sel) == 2 && is_selected(sel, kb) &&
            key_ready_ops(kb) == OP_READ,
        "1 (only B is new); both keys selected, B ready for OP_READ",
        "%d; %zu selected; B %s, ready %s", n, selector_selected_count(sel),
        is_selected(sel, kb) ? "in" : "not in", ops_text(key_ready_ops(kb)));
    LAB_EXPECT(selector_key_count(sel) == 2, "2 keys in keys()", "%zu",
               selector_key_count(sel));

    selector_close(sel);
    close_pair(&a);
    close_pair(&b);
}

static void stage_cancel(void)
{
    selector *sel = open_selector(selector_stages_backend());
    pair a = open_pair(), b = open_pair();
    selection_key *ka = register_fd(sel, a.near, OP_READ, NULL);
    selection_key *kb = register_fd(sel, b.near, OP_READ, NULL);
    peer_write(&a, "x");
    peer_write(&b, "y");

    lab_did("key_cancel(A) while A has bytes to read");
    key_cancel(ka);
    LAB_EXPECT(!key_is_valid(ka), "A invalid at once", "still valid");
    LAB_EXPECT(selector_key_count(sel) == 2 && in_keys(sel, ka),
               "A still in keys() until the next selection (deferred, as in "
               "Java)",
               "%zu keys, A %s", selector_key_count(sel),
               in_keys(sel, ka) ? "in" : "not in");

    lab_did("selector_select_timeout(%d ms) after the cancel", LONG_MS);
    int n = select_long(sel);
    LAB_EXPECT(n == 1 && is_selected(sel, kb) &&
                   selector_selected_count(sel) == 1,
               "1: B selected, A not (a cancelled key is never selected)",
               "%d; %zu selected", n, selector_selected_count(sel));
    LAB_EXPECT(selector_key_count(sel) == 1 && !in_keys(sel, ka),
               "1 key left in keys(): the cancelled one left at this "
               "selection",
               "%zu keys, A %s", selector_key_count(sel),
               in_keys(sel, ka) ? "still in" : "not in");

    lab_did("cancel, then close; a new socket pair (the same descriptor "
            "numbers, most likely) registered");
    close_pair(&a);
    a = open_pair();
    ka = register_fd(sel, a.near, OP_READ, NULL);
    peer_write(&a, "z");
    remove_all_selected(sel);
    n = select_long(sel);
    LAB_EXPECT(n >= 1 && is_selected(sel, ka) && key_ready_ops(ka) == OP_READ,
               "the new key selected, OP_READ", "%d; new key %s; ready %s", n,
               is_selected(sel, ka) ? "selected" : "not selected",
               ops_text(key_ready_ops(ka)));

    lab_did("key_cancel(B) while B is in the selected-key set; "
            "selector_select_now");
    LAB_EXPECT(is_selected(sel, kb), "B in the selected-key set first",
               "it is not");
    key_cancel(kb);
    n = selector_select_now(sel);
    LAB_EXPECT(selector_selected_count(sel) == 1 && is_selected(sel, ka) &&
                   selector_key_count(sel) == 1,
               "B gone from the selected-key set and from keys(); the new "
               "key still there",
               "%zu selected, %zu keys", selector_selected_count(sel),
               selector_key_count(sel));
    selector_close(sel);
    close_pair(&a);
    close_pair(&b);
}

/* --- ready ops ---------------------------------------------------------- */

static void stage_ready_ops(void)
{
    selector *sel = open_selector(selector_stages_backend());
    pair a = open_pair();
    selection_key *ka = register_fd(sel, a.near, OP_READ, NULL);

    lab_did("A registered for OP_READ: writable, nothing to read; "
            "selector_select_now");
    int n = selector_select_now(sel);
    LAB_EXPECT(n == 0 && selector_selected_count(sel) == 0,
               "0: writable is not what A asked for", "%d; A ready %s", n,
               ops_text(key_ready_ops(ka)));

    lab_did("A's interest OP_READ | OP_WRITE, nothing to read; "
            "selector_select_now");
    key_set_interest_ops(ka, OP_READ | OP_WRITE);
    n = selector_select_now(sel);
    LAB_EXPECT(n == 1 && key_ready_ops(ka) == OP_WRITE,
               "1, ready OP_WRITE only", "%d, ready %s", n,
               ops_text(key_ready_ops(ka)));

    lab_did("the peer writes; A removed from the set; selector_select_now");
    peer_write(&a, "x");
    remove_all_selected(sel);
    n = selector_select_now(sel);
    LAB_EXPECT(n == 1 && key_ready_ops(ka) == (OP_READ | OP_WRITE),
               "1, ready OP_READ OP_WRITE", "%d, ready %s", n,
               ops_text(key_ready_ops(ka)));

    lab_did("A's interest OP_READ, then its peer closes (end of stream); "
            "selector_select_now");
    char sink[8];
    while (read(a.near, sink, sizeof sink) > 0)
        continue;
    key_set_interest_ops(ka, OP_READ);
    remove_all_selected(sel);
    close(a.far);
    a.far = -1;
    n = selector_select_now(sel);
    LAB_EXPECT(n == 1 && key_ready_ops(ka) == OP_READ,
               "1, ready OP_READ: the end shows up as readable (the read "
               "will say what happened)",
               "%d, ready %s", n, ops_text(key_ready_ops(ka)));
    remove_all_selected(sel);
    key_cancel(ka); /* it would be selected again: leaves at the next one */

    lab_did("a non-blocking listener registered for OP_ACCEPT; a client "
            "connects; selector_select_timeout");
    socket_address address;
    socket_address_resolve(&address, "127.0.0.1", 0);
    channel *listener = channel_open_server(&address, 4);
    if (listener == NULL || channel_configure_blocking(listener, false) < 0)
        lab_fail("a listener on 127.0.0.1", "%s", strerror(errno));
    selection_key *kl = NULL;
    selector_status s = selector_register(sel, listener, OP_ACCEPT, NULL, &kl);
    LAB_EXPECT(s == SELECTOR_OK, "SELECTOR_OK", "%s", selector_status_name(s));
    socket_address_resolve(&address, "127.0.0.1", channel_local_port(listener));
    channel *client = channel_open_connected(&address);
    if (client == NULL)
        lab_fail("the client to connect", "%s", strerror(errno));
    n = select_long(sel);
    LAB_EXPECT(n == 1 && is_selected(sel, kl) &&
                   key_ready_ops(kl) == OP_ACCEPT && key_is_acceptable(kl),
               "1, the listener's key ready for OP_ACCEPT",
               "%d; listener %s; ready %s", n,
               is_selected(sel, kl) ? "selected" : "not selected",
               ops_text(key_ready_ops(kl)));
    remove_all_selected(sel);

    lab_did("a non-blocking connect to the listener, its key registered for "
            "OP_CONNECT; selector_select_timeout");
    channel *connecting = channel_open_socket(&address);
    if (connecting == NULL || channel_configure_blocking(connecting, false) < 0)
        lab_fail("a socket", "%s", strerror(errno));
    int rc = channel_connect(connecting, &address);
    if (rc == 0) { /* pending: Java reports OP_CONNECT until it is done */
        selection_key *kc = NULL;
        selector_register(sel, connecting, OP_CONNECT, NULL, &kc);
        n = select_long(sel);
        LAB_EXPECT(n >= 1 && is_selected(sel, kc) &&
                       key_ready_ops(kc) == OP_CONNECT,
                   "the connecting key selected, ready OP_CONNECT",
                   "%d; key %s; ready %s", n,
                   is_selected(sel, kc) ? "selected" : "not selected",
                   ops_text(key_ready_ops(kc)));
        channel_finish_connect(connecting);
        key_cancel(kc);
    }
    key_cancel(kl);
    selector_select_now(sel);
    channel_close(connecting);
    channel_close(client);
    channel_close(listener);
    selector_close(sel);
    close_pair(&a);
}

/* --- wakeup ------------------------------------------------------------- */

/* The time one selector_select_timeout(ms) takes, and its result. */
static long long timed_select(selector *sel, long ms, int *result)
{
    long long start = now_ms();
    *result = selector_select_timeout(sel, ms);
    return now_ms() - start;
}

typedef struct blocked_select {
    selector *sel;
    atomic_int tid;
    atomic_bool done;
    int result;
} blocked_select;

static void *select_in_thread(void *arg)
{
    blocked_select *b = arg;
    atomic_store(&b->tid, (int)syscall(SYS_gettid));
    b->result = selector_select(b->sel);
    atomic_store(&b->done, true);
    return NULL;
}

/* True once the thread sleeps in the kernel ('S' in /proc's stat). */
static bool asleep(blocked_select *b)
{
    for (int i = 0; i < 2000 && !atomic_load(&b->done); i++) {
        int tid = atomic_load(&b->tid);
        if (tid != 0) {
            char path[64], stat[256];
            snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
            FILE *f = fopen(path, "r");
            size_t n = f != NULL ? fread(stat, 1, sizeof stat - 1, f) : 0;
            if (f != NULL)
                fclose(f);
            stat[n] = '\0';
            const char *end = strrchr(stat, ')');
            if (end != NULL && end[1] == ' ' && end[2] == 'S')
                return true;
        }
        struct timespec pause = {.tv_nsec = 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return false;
}

static void expect_waits(selector *sel, const char *why)
{
    int n;
    long long took = timed_select(sel, SHORT_MS, &n);
    LAB_EXPECT(n == 0 && took >= SHORT_MS / 2, why,
               "it returned %d after %lld ms", n, took);
}

static void expect_at_once(selector *sel, const char *why)
{
    int n;
    long long took = timed_select(sel, LONG_MS, &n);
    LAB_EXPECT(n == 0 && took < AT_ONCE_MS, why,
               "it returned %d after %lld ms (%s)", n, took,
               n < 0 ? strerror(errno) : "no wakeup seen");
}

static void stage_wakeup(void)
{
    selector *sel = open_selector(selector_stages_backend());
    pair a = open_pair();
    register_fd(sel, a.near, OP_READ, NULL);

    lab_did("selector_select_timeout(%d ms) with nothing ready, no wakeup",
            SHORT_MS);
    expect_waits(sel, "0 after waiting the whole timeout");

    lab_did("selector_wakeup, then selector_select_timeout(%d ms)", LONG_MS);
    selector_wakeup(sel);
    expect_at_once(sel, "0 at once: a wakeup before the selection is kept "
                        "for it (sticky)");

    lab_did("selector_select_timeout(%d ms) after that wakeup was used",
            SHORT_MS);
    expect_waits(sel, "0 after the whole timeout: the wakeup was used up");

    lab_did("selector_wakeup a second time, then selector_select_timeout");
    selector_wakeup(sel);
    expect_at_once(sel, "0 at once: every new wakeup counts, not just the "
                        "first");

    lab_did("three selector_wakeups, one selection, then another selection");
    selector_wakeup(sel);
    selector_wakeup(sel);
    selector_wakeup(sel);
    expect_at_once(sel, "0 at once for the first selection");
    expect_waits(sel, "the second one waits: several wakeups count as one");

    lab_did("selector_wakeup, then selector_select_now, then "
            "selector_select_timeout(%d ms)",
            SHORT_MS);
    selector_wakeup(sel);
    selector_select_now(sel);
    expect_waits(sel, "it waits: select_now used the wakeup up");

    lab_did("a thread blocks in selector_select (no timeout); another calls "
            "selector_wakeup");
    blocked_select b = {.sel = sel};
    pthread_t thread;
    pthread_create(&thread, NULL, select_in_thread, &b);
    if (!asleep(&b)) {
        pthread_join(thread, NULL);
        lab_fail("selector_select to block while nothing is ready",
                 "it returned %d at once", b.result);
    }
    selector_wakeup(sel);
    for (int i = 0; i < 1000 && !atomic_load(&b.done); i++) {
        struct timespec pause = {.tv_nsec = 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    LAB_EXPECT(atomic_load(&b.done), "the blocked selection to return",
               "it is still blocked after 5 s");
    pthread_join(thread, NULL);
    LAB_EXPECT(b.result == 0, "it returns 0 (no key is ready)", "%d", b.result);
    selector_close(sel);
    close_pair(&a);
}

/* --- the poll backend --------------------------------------------------- */

static void stage_poll_backend(void)
{
    lab_did("selector_open(SELECTOR_BACKEND_POLL)");
    selector *sel = open_selector(SELECTOR_BACKEND_POLL);
    pair p[3] = {open_pair(), open_pair(), open_pair()};
    selection_key *k[3];
    for (int i = 0; i < 3; i++)
        k[i] = register_fd(sel, p[i].near, OP_READ, NULL);

    lab_did("three keys for OP_READ, nothing to read; "
            "selector_select_timeout(%d ms)",
            SHORT_MS);
    int n;
    long long took = timed_select(sel, SHORT_MS, &n);
    LAB_EXPECT(n == 0 && took >= SHORT_MS / 2,
               "0 after waiting the whole timeout", "%d after %lld ms%s%s", n,
               took, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");

    lab_did("the peer of the second writes; selector_select_timeout");
    peer_write(&p[1], "x");
    n = select_long(sel);
    LAB_EXPECT(n == 1 && is_selected(sel, k[1]) &&
                   key_ready_ops(k[1]) == OP_READ,
               "1: the second key, OP_READ", "%d; second %s; ready %s", n,
               is_selected(sel, k[1]) ? "selected" : "not selected",
               ops_text(key_ready_ops(k[1])));
    remove_all_selected(sel);

    lab_did("the first key cancelled (poll_remove), the third's interest "
            "changed to OP_WRITE (poll_modify); selector_select_now");
    key_cancel(k[0]);
    selector_select_now(sel);
    remove_all_selected(sel);
    close_pair(&p[0]);
    key_set_interest_ops(k[2], OP_WRITE);
    n = selector_select_now(sel);
    LAB_EXPECT(n == 2 && is_selected(sel, k[2]) &&
                   key_ready_ops(k[2]) == OP_WRITE && is_selected(sel, k[1]),
               "2: the third ready for OP_WRITE, the second still OP_READ",
               "%d; third %s, ready %s; second %s", n,
               is_selected(sel, k[2]) ? "selected" : "not selected",
               ops_text(key_ready_ops(k[2])),
               is_selected(sel, k[1]) ? "selected" : "not selected");
    remove_all_selected(sel);

    lab_did("the second key's interest set to none (bytes still waiting), "
            "the third's back to OP_READ; selector_select_now");
    key_set_interest_ops(k[1], 0);
    key_set_interest_ops(k[2], OP_READ);
    n = selector_select_now(sel);
    LAB_EXPECT(n == 0,
               "0: no interest, no selection; nothing to read on "
               "the third",
               "%d (second ready %s, third ready %s)", n,
               ops_text(key_ready_ops(k[1])), ops_text(key_ready_ops(k[2])));

    lab_did("the second's interest back to OP_READ; the third's peer "
            "closes; selector_select_now");
    key_set_interest_ops(k[1], OP_READ);
    close(p[2].far);
    p[2].far = -1;
    n = selector_select_now(sel);
    LAB_EXPECT(n == 2 && key_ready_ops(k[1]) == OP_READ &&
                   key_ready_ops(k[2]) == OP_READ,
               "2: the second readable again, the third readable (its end "
               "of stream)",
               "%d; second %s, third %s", n, ops_text(key_ready_ops(k[1])),
               ops_text(key_ready_ops(k[2])));
    char sink[8];
    while (read(p[1].near, sink, sizeof sink) > 0)
        continue; /* the second's byte, so that it is not selected again */
    key_cancel(k[2]);
    selector_select_now(sel);
    remove_all_selected(sel);
    close_pair(&p[2]);

    lab_did("200 more keys (the arrays grow); the last one's peer writes");
    enum { MANY = 200 };
    pair many[MANY];
    selection_key *last = NULL;
    for (int i = 0; i < MANY; i++) {
        many[i] = open_pair();
        last = register_fd(sel, many[i].near, OP_READ, NULL);
    }
    peer_write(&many[MANY - 1], "x");
    n = select_long(sel);
    LAB_EXPECT(n == 1 && is_selected(sel, last) &&
                   selector_selected_count(sel) == 1,
               "1: that key alone", "%d; %zu selected", n,
               selector_selected_count(sel));

    lab_did("selector_wakeup on the poll backend, then a selection");
    remove_all_selected(sel);
    while (read(many[MANY - 1].near, sink, sizeof sink) > 0)
        continue;
    selector_wakeup(sel);
    took = timed_select(sel, LONG_MS, &n);
    LAB_EXPECT(n == 0 && took < AT_ONCE_MS, "0 at once", "%d after %lld ms", n,
               took);
    selector_close(sel);
    for (int i = 0; i < MANY; i++)
        close_pair(&many[i]);
    close_pair(&p[1]);
}

int main(int argc, char **argv)
{
    static const lab_stage stages[] = {
        {"select-step", stage_select_step},   {"cancel", stage_cancel},
        {"ready-ops", stage_ready_ops},       {"wakeup", stage_wakeup},
        {"poll-backend", stage_poll_backend},
    };
    return lab_main(argc, argv, stages, sizeof stages / sizeof stages[0]);
}
