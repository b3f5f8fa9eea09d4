/*
 * test_event_loop_register.c - the cross-thread register problem, and why
 * posting a task solves it.
 *
 * The seed's boss thread calls clientChannel.register(clientSelector, ...)
 * while the worker thread sits in clientSelector.select(). In Java,
 * register then waits for that select to return (select holds the lock
 * register needs); the seed hides the wait by selecting with a 1 ms
 * timeout, at the price of waking a thousand times a second. In C, with
 * select(2) or poll(2), the kernel watches the set it was handed when the
 * call began, so a channel added meanwhile is not watched until the next
 * call; and our selector's tables are not thread-safe at all.
 *
 * 1. Java's behaviour, modelled with a lock held across select: a
 *    registration from another thread waits for the whole select timeout.
 * 2. The fix: the registration is a task posted to the loop. Posting wakes
 *    the loop at once, even when it is blocked with no timeout; it
 *    registers the channel on its own thread and serves the data that is
 *    already waiting, in far less time than any poll interval.
 * 3. The loop refuses a registration from another thread outright.
 */
#include "06-two-selectors/event_loop.h"
#include "sync_helpers.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIMIT_MS 10000L

/* A connected pair on loopback: `client` is the test's end, `server` the
 * non-blocking end that gets registered. */
typedef struct pair {
    channel *listener, *client, *server;
} pair;

static bool open_pair(pair *p)
{
    socket_address address;
    if (socket_address_resolve(&address, "127.0.0.1", 0) != 0)
        return false;
    p->listener = channel_open_server(&address, 4);
    if (p->listener == NULL ||
        socket_address_resolve(&address, "127.0.0.1",
                               channel_local_port(p->listener)) != 0)
        return false;
    p->client = channel_open_connected(&address);
    p->server = channel_accept(p->listener);
    return p->client != NULL && p->server != NULL &&
           channel_configure_blocking(p->server, false) == 0;
}

static void close_pair(pair *p)
{
    channel_close(p->client);
    channel_close(p->server);
    channel_close(p->listener);
}

static bool send_text(channel *ch, const char *text)
{
    buffer *b = buffer_wrap((uint8_t *)text, strlen(text));
    ssize_t n = channel_write(ch, b);
    buffer_free(b);
    return n == (ssize_t)strlen(text);
}

/* --- 1. Java's register waits for the select in progress ---------------- */

typedef struct java_model {
    selector *sel;
    pthread_mutex_t lock; /* Java's lock on the selector's key set */
    atomic_bool selecting;
} java_model;

static void *java_select_thread(void *arg)
{
    java_model *m = arg;
    pthread_mutex_lock(&m->lock);
    atomic_store(&m->selecting, true);
    selector_select_timeout(m->sel, 300); /* nothing will be ready */
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

static void test_java_register_waits(tap *t)
{
    pair p = {NULL, NULL, NULL};
    java_model m;
    m.sel = selector_open(SELECTOR_BACKEND_POLL);
    pthread_mutex_init(&m.lock, NULL);
    atomic_init(&m.selecting, false);
    TAP_OK(t, m.sel != NULL && open_pair(&p), "a selector and a connection");

    pthread_t selecting_thread;
    pthread_create(&selecting_thread, NULL, java_select_thread, &m);
    int64_t deadline = now_ns() + LIMIT_MS * 1000000;
    while (!atomic_load(&m.selecting) && now_ns() < deadline)
        sched_yield();

    /* Like channel.register(selector) in Java 8: take the lock select
     * holds, so wait until the select in progress is over. */
    int64_t start = now_ns();
    pthread_mutex_lock(&m.lock);
    int64_t waited_ms = (now_ns() - start) / 1000000;
    selector_status s = selector_register(m.sel, p.server, OP_READ, NULL, NULL);
    pthread_mutex_unlock(&m.lock);
    pthread_join(selecting_thread, NULL);

    TAP_OK(t, s == SELECTOR_OK, "the registration succeeds in the end");
    TAP_OK(t, waited_ms >= 200,
           "but only after the other thread's 300 ms select returned "
           "(waited %lld ms)",
           (long long)waited_ms);
    selector_close(m.sel);
    pthread_mutex_destroy(&m.lock);
    close_pair(&p);
}

/* --- 2. posting the registration to the loop --------------------------------
 */

typedef struct handoff {
    pair pair;
    selection_key *key;
    event_loop_status status;
    bool served_on_loop;
    int64_t served_at;
    char got[16];
    latch parked; /* the loop finished a task and went back to select */
    latch served; /* the handler read the waiting bytes */
} handoff;

static void served(event_loop *loop, selection_key *key, void *context)
{
    handoff *h = context;
    buffer *b = buffer_allocate(sizeof h->got - 1);
    ssize_t n = channel_read(key_channel(key), b);
    if (n > 0) {
        memcpy(h->got, buffer_array(b), (size_t)n);
        h->served_at = now_ns();
        h->served_on_loop = in_event_loop(loop);
        event_loop_deregister(loop, key);
        latch_open(&h->served);
    }
    buffer_free(b);
}

static const event_loop_handler served_handler = {served, NULL};

static void adopt(event_loop *loop, void *arg)
{
    handoff *h = arg;
    h->status = event_loop_register(loop, h->pair.server, OP_READ,
                                    &served_handler, h, &h->key);
}

static void park(event_loop *loop, void *arg)
{
    (void)loop;
    latch_open(&((handoff *)arg)->parked);
}

static void test_posting_fixes_it(tap *t)
{
    event_loop_options options = event_loop_default_options();
    options.backend = SELECTOR_BACKEND_POLL; /* the seed's select-style set */
    event_loop *loop = event_loop_create(&options);
    handoff h;
    memset(&h, 0, sizeof h);
    latch_init(&h.parked, 1);
    latch_init(&h.served, 1);
    TAP_OK(t, loop != NULL && open_pair(&h.pair),
           "a loop (poll backend, no timers, no polling) and a connection");
    TAP_OK(t, send_text(h.pair.client, "ping\n"),
           "the client's data waits before the channel is registered");

    /* After this task, the loop has nothing to do but select forever. */
    event_loop_execute(loop, park, &h);
    TAP_OK(t, latch_await(&h.parked, LIMIT_MS), "the loop is idle");
    event_loop_stats before = event_loop_get_stats(loop);

    int64_t posted = now_ns();
    TAP_OK(t, event_loop_execute(loop, adopt, &h) == EVENT_LOOP_OK,
           "another thread posts the registration as a task");
    TAP_OK(t, latch_await(&h.served, LIMIT_MS),
           "the loop wakes, registers and serves the channel");
    long long ms = (h.served_at - posted) / 1000000;
    TAP_OK(t, h.status == EVENT_LOOP_OK && strcmp(h.got, "ping\n") == 0,
           "on its own thread it registered and read \"ping\"");
    TAP_OK(t, h.served_on_loop, "the handler ran on the loop's thread");
    TAP_OK(t, ms < 1000,
           "at once, though the loop was blocked with no timeout (%lld ms)",
           ms);
    event_loop_stats after = event_loop_get_stats(loop);
    TAP_OK(t, after.selects - before.selects <= 3,
           "in one or two turns of the loop: a wakeup, then the data "
           "(%llu selections)",
           (unsigned long long)(after.selects - before.selects));

    event_loop_free(loop);
    latch_destroy(&h.parked);
    latch_destroy(&h.served);
    close_pair(&h.pair);
}

/* --- 3. no registration from outside ------------------------------------- */

static void test_refused_from_outside(tap *t)
{
    event_loop *loop = event_loop_create(NULL);
    pair p = {NULL, NULL, NULL};
    handoff h;
    memset(&h, 0, sizeof h);
    TAP_OK(t, loop != NULL && open_pair(&p), "a loop and a connection");
    event_loop_status s =
        event_loop_register(loop, p.server, OP_READ, &served_handler, &h, NULL);
    TAP_OK(t, s == EVENT_LOOP_WRONG_THREAD,
           "registering directly from another thread is refused (%s)",
           event_loop_status_name(s));
    event_loop_free(loop);
    close_pair(&p);
}

int main(void)
{
    tap t = {0};
    alarm(60);
    test_java_register_waits(&t);
    test_posting_fixes_it(&t);
    test_refused_from_outside(&t);
    return tap_done(&t);
}
