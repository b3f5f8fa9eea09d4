/*
 * lab_event_loop.c - the unit stages of chapter 6's lab, in the order of
 * the lesson: tasks posted from other threads, the wakeup that makes them
 * prompt, dispatching ready channels, the timer heap, timers through the
 * loop, and shutdown. (The boss-to-worker hand-off is a shell stage in
 * tests/lab/06-two-selectors.stages.) Every check goes through
 * event_loop.h and timer_heap.h only, so any correct event_loop.c and
 * timer_heap.c pass.
 *
 * Threads are ordered by latches, never by sleeps, and every wait is
 * bounded: a loop that never runs a task fails a check after LIMIT_MS
 * instead of hanging. Only a loop that deadlocks the caller itself (a lock
 * never released) is left to the stage's timeout, which reports a hang.
 */
#include "06-two-selectors/event_loop.h"
#include "06-two-selectors/timer_heap.h"
#include "02-blocking-echo/channel.h"
#include "lab_check.h"
#include "../unit/sync_helpers.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long anything may take before it counts as "never": generous, as
 * the stages run under the sanitizers on a busy machine. */
#define LIMIT_MS  5000L
#define STATUS(s) event_loop_status_name(s)

static event_loop *new_loop(void)
{
    event_loop_options options = event_loop_default_options();
    options.program = "lab";
    event_loop *loop = event_loop_create(&options);
    if (loop == NULL)
        lab_fail("event_loop_create to start a loop", "NULL (%s)",
                 strerror(errno));
    return loop;
}

/* --- ending a loop, bounded ----------------------------------------------- */

typedef struct ender {
    event_loop *loop;
    latch ended;
} ender;

static void *await_loop(void *arg)
{
    ender *e = arg;
    event_loop_await_termination(e->loop);
    latch_open(&e->ended);
    return NULL;
}

/* Waits (bounded) for the loop's thread to end after a shutdown; false
 * when it is still running after LIMIT_MS. */
static bool ended_within_limit(event_loop *loop)
{
    ender e = {.loop = loop};
    latch_init(&e.ended, 1);
    pthread_t waiter;
    if (pthread_create(&waiter, NULL, await_loop, &e) != 0)
        lab_fail("a thread to wait for the loop", "%s", strerror(errno));
    bool ended = latch_await(&e.ended, LIMIT_MS);
    if (!ended)
        return false; /* the stage ends now; the waiter goes with it */
    pthread_join(waiter, NULL);
    latch_destroy(&e.ended);
    return true;
}

/* Shuts the loop down and frees it, failing the stage (not hanging it)
 * when the loop's thread does not end. */
static void finish(event_loop *loop)
{
    lab_did("event_loop_shutdown(loop), then wait for the loop's thread to "
            "end");
    event_loop_shutdown(loop);
    LAB_EXPECT(ended_within_limit(loop),
               "the loop's thread to end: each turn checks the shutting_down "
               "flag, and shutdown wakes the selector",
               "it was still running %ld s later", LIMIT_MS / 1000);
    event_loop_free(loop);
}

/* --- stage tasks: execute, run_tasks, the loop's turn --------------------- */

enum { MANY = 1000, PRODUCERS = 4, PER_PRODUCER = 500 };
enum {
    LOGGED = PRODUCERS * PER_PRODUCER > MANY ? PRODUCERS *PER_PRODUCER : MANY
};

typedef struct task_log {
    pthread_t main_thread;
    /* Written by the loop's thread; read after a latch says it ran. */
    bool in_loop, on_main;
    int producer[LOGGED];
    int seq[LOGGED];
    atomic_size_t count; /* read by main while tasks may still run */
    latch ran;
} task_log;

typedef struct task_item {
    task_log *log;
    int producer, seq;
} task_item;

static void where_am_i(event_loop *loop, void *arg)
{
    task_log *log = arg;
    log->in_loop = in_event_loop(loop);
    log->on_main = pthread_equal(pthread_self(), log->main_thread);
    latch_count_down(&log->ran);
}

static void log_task(event_loop *loop, void *arg)
{
    (void)loop;
    task_item *item = arg;
    task_log *log = item->log;
    size_t n = atomic_load(&log->count);
    if (n < LOGGED) {
        log->producer[n] = item->producer;
        log->seq[n] = item->seq;
    }
    atomic_store(&log->count, n + 1);
    latch_count_down(&log->ran);
}

typedef struct producer {
    event_loop *loop;
    task_item *items;
    int refused;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    for (int i = 0; i < PER_PRODUCER; i++)
        if (event_loop_execute(p->loop, log_task, &p->items[i]) !=
            EVENT_LOOP_OK)
            p->refused++;
    return NULL;
}

static void stage_tasks(void)
{
    event_loop *loop = new_loop();
    task_log *log = calloc(1, sizeof *log);
    task_item *items = calloc(LOGGED, sizeof *items);
    if (log == NULL || items == NULL)
        lab_fail("memory for the stage", "calloc returned NULL");
    log->main_thread = pthread_self();

    lab_did("event_loop_execute(loop, task, arg) from the main thread");
    latch_init(&log->ran, 1);
    event_loop_status s = event_loop_execute(loop, where_am_i, log);
    LAB_EXPECT(s == EVENT_LOOP_OK,
               "EVENT_LOOP_OK: a running loop accepts tasks", "%s", STATUS(s));
    LAB_EXPECT(latch_await(&log->ran, LIMIT_MS),
               "the task to run within a few seconds (the loop's turn calls "
               "run_tasks, which runs what execute queued)",
               "it had not run %ld s later", LIMIT_MS / 1000);
    LAB_EXPECT(log->in_loop && !log->on_main,
               "the task to run on the loop's own thread, where "
               "in_event_loop(loop) is true",
               "%s, in_event_loop %s",
               log->on_main ? "it ran on the main thread (the poster's)"
                            : "it ran on another thread",
               log->in_loop ? "true" : "false");
    latch_destroy(&log->ran);

    lab_did("event_loop_execute(loop, NULL, NULL)");
    s = event_loop_execute(loop, NULL, NULL);
    LAB_EXPECT(s == EVENT_LOOP_BAD_ARGUMENT,
               "EVENT_LOOP_BAD_ARGUMENT: there is no task to run", "%s",
               STATUS(s));

    lab_did("post %d tasks from the main thread, numbered 0 to %d", MANY,
            MANY - 1);
    latch_init(&log->ran, MANY);
    int refused = 0;
    for (int i = 0; i < MANY; i++) {
        items[i] = (task_item){log, 0, i};
        if (event_loop_execute(loop, log_task, &items[i]) != EVENT_LOOP_OK)
            refused++;
    }
    LAB_EXPECT(refused == 0, "every post accepted (EVENT_LOOP_OK)",
               "%d of %d refused", refused, MANY);
    LAB_EXPECT(latch_await(&log->ran, LIMIT_MS), "all of them to run",
               "%zu of %d had run %ld s later", atomic_load(&log->count), MANY,
               LIMIT_MS / 1000);
    /* A task posted last, and waited for, shows that nothing ran twice. */
    task_log marker_log = {.main_thread = pthread_self()};
    latch_init(&marker_log.ran, 1);
    event_loop_execute(loop, where_am_i, &marker_log);
    latch_await(&marker_log.ran, LIMIT_MS);
    latch_destroy(&marker_log.ran);
    LAB_EXPECT(atomic_load(&log->count) == MANY,
               "each task to run exactly once (a batch that has run is "
               "emptied)",
               "%zu runs for %d tasks", atomic_load(&log->count), MANY);
    for (size_t i = 0; i < atomic_load(&log->count) && i < MANY; i++)
        LAB_EXPECT(log->seq[i] == (int)i,
                   "the tasks to run in the order they were posted (first "
                   "in, first out)",
                   "task %d ran in place %zu (the first five ran: %d %d %d "
                   "%d %d)",
                   log->seq[i], i, log->seq[0], log->seq[1], log->seq[2],
                   log->seq[3], log->seq[4]);
    latch_destroy(&log->ran);

    lab_did("%d threads post %d tasks each, at the same time", PRODUCERS,
            PER_PRODUCER);
    atomic_store(&log->count, 0);
    latch_init(&log->ran, PRODUCERS * PER_PRODUCER);
    pthread_t threads[PRODUCERS];
    producer producers[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++) {
        for (int i = 0; i < PER_PRODUCER; i++)
            items[p * PER_PRODUCER + i] = (task_item){log, p, i};
        producers[p] = (producer){loop, &items[p * PER_PRODUCER], 0};
        if (pthread_create(&threads[p], NULL, produce, &producers[p]) != 0)
            lab_fail("a producer thread", "%s", strerror(errno));
    }
    refused = 0;
    for (int p = 0; p < PRODUCERS; p++) {
        pthread_join(threads[p], NULL);
        refused += producers[p].refused;
    }
    LAB_EXPECT(refused == 0, "every post accepted", "%d refused", refused);
    LAB_EXPECT(latch_await(&log->ran, LIMIT_MS),
               "all of them to run (the queue is shared: posting takes the "
               "loop's lock)",
               "%zu of %d had run %ld s later", atomic_load(&log->count),
               PRODUCERS * PER_PRODUCER, LIMIT_MS / 1000);
    int next[PRODUCERS] = {0};
    for (size_t i = 0; i < atomic_load(&log->count) && i < LOGGED; i++) {
        int p = log->producer[i];
        LAB_EXPECT(log->seq[i] == next[p],
                   "each thread's tasks to run in the order that thread "
                   "posted them, each once",
                   "thread %d's task %d ran when its task %d was due", p,
                   log->seq[i], next[p]);
        next[p]++;
    }
    latch_destroy(&log->ran);
    finish(loop);
    free(items);
    free(log);
}

/* --- stage wakeup: an idle loop is woken; it never sleeps on a task ------- */

enum { ROUNDS = 50, CHAIN = 20 };

typedef struct chain {
    event_loop *loop;
    atomic_int links;        /* read by main while it may still run */
    bool first_done;         /* loop thread only */
    bool second_saw_first;   /* loop thread only */
    event_loop_status again; /* what execute said on the loop's thread */
    latch done;
} chain;

static void count_down(event_loop *loop, void *arg)
{
    (void)loop;
    latch_count_down(arg);
}

/* A task that keeps the loop busy until the main thread opens the gate:
 * what main does meanwhile is all there before the loop's next select. */
typedef struct gate {
    latch entered, open;
} gate;

static void gate_task(event_loop *loop, void *arg)
{
    (void)loop;
    gate *g = arg;
    latch_count_down(&g->entered);
    latch_await(&g->open, LIMIT_MS);
}

static void gate_init(gate *g)
{
    latch_init(&g->entered, 1);
    latch_init(&g->open, 1);
}

static void gate_destroy(gate *g)
{
    latch_destroy(&g->entered);
    latch_destroy(&g->open);
}

/* Posts TASK and waits (bounded) until it has run: for the steps of a
 * stage that only need a working queue, which stage tasks checks. */
static void post_and_wait(event_loop *loop, event_loop_task_fn *task, void *arg,
                          latch *ran)
{
    event_loop_status s = event_loop_execute(loop, task, arg);
    if (s != EVENT_LOOP_OK)
        lab_fail("EVENT_LOOP_OK from event_loop_execute (stage tasks passes "
                 "first)",
                 "%s", STATUS(s));
    if (!latch_await(ran, LIMIT_MS))
        lab_fail("the task to run on the loop (stage tasks passes first)",
                 "it had not run %ld s later", LIMIT_MS / 1000);
}

typedef struct call {
    event_loop_task_fn *task;
    void *arg;
    latch done;
} call;

static void call_task(event_loop *loop, void *arg)
{
    call *c = arg;
    c->task(loop, c->arg);
    latch_count_down(&c->done);
}

/* Runs task(loop, arg) on the loop's thread and waits until it has. */
static void run_on_loop(event_loop *loop, event_loop_task_fn *task, void *arg)
{
    call c = {.task = task, .arg = arg};
    latch_init(&c.done, 1);
    post_and_wait(loop, call_task, &c, &c.done);
    latch_destroy(&c.done);
}

/* Posts the gate task and waits until the loop is inside it. */
static void gate_close(event_loop *loop, gate *g)
{
    post_and_wait(loop, gate_task, g, &g->entered);
}

static void second_task(event_loop *loop, void *arg)
{
    (void)loop;
    chain *c = arg;
    c->second_saw_first = c->first_done;
    latch_count_down(&c->done);
}

static void first_task(event_loop *loop, void *arg)
{
    chain *c = arg;
    c->again = event_loop_execute(loop, second_task, c);
    c->first_done = true;
}

static void link_task(event_loop *loop, void *arg)
{
    chain *c = arg;
    if (atomic_fetch_add(&c->links, 1) + 1 < CHAIN) {
        c->again = event_loop_execute(loop, link_task, c);
        if (c->again == EVENT_LOOP_OK)
            return;
    }
    latch_count_down(&c->done);
}

static void stage_wakeup(void)
{
    event_loop *loop = new_loop();
    for (int round = 1; round <= ROUNDS; round++) {
        lab_did("round %d of %d: post one task from the main thread to a "
                "loop with nothing else to do (asleep in select, no timeout)",
                round, ROUNDS);
        latch ran;
        latch_init(&ran, 1);
        event_loop_status s = event_loop_execute(loop, count_down, &ran);
        LAB_EXPECT(s == EVENT_LOOP_OK, "EVENT_LOOP_OK", "%s", STATUS(s));
        LAB_EXPECT(latch_await(&ran, LIMIT_MS),
                   "the task to run at once: execute wakes the selector "
                   "(selector_wakeup) when the caller is not the loop",
                   "it had not run %ld s later: the loop slept on",
                   LIMIT_MS / 1000);
        latch_destroy(&ran);
    }

    lab_did("a task on the loop's thread posts a second task (execute from "
            "the loop itself, which does not wake the selector)");
    chain c = {.loop = loop, .again = EVENT_LOOP_BAD_ARGUMENT};
    latch_init(&c.done, 1);
    event_loop_execute(loop, first_task, &c);
    bool ran = latch_await(&c.done, LIMIT_MS);
    LAB_EXPECT(c.again == EVENT_LOOP_OK || !ran,
               "EVENT_LOOP_OK from execute on the loop's own thread", "%s",
               STATUS(c.again));
    LAB_EXPECT(ran,
               "the second task to run: a loop with a task waiting must not "
               "sleep (select_timeout_ms is 0 while the queue is not empty); "
               "and run_tasks must not hold the lock while a task runs",
               "it had not run %ld s later", LIMIT_MS / 1000);
    LAB_EXPECT(c.second_saw_first,
               "the second task to run after the first had returned",
               "it ran inside the first, on the same call stack");
    latch_destroy(&c.done);

    lab_did("a task that posts itself again, %d times in a row", CHAIN);
    chain links = {.loop = loop};
    atomic_init(&links.links, 0);
    latch_init(&links.done, 1);
    uint64_t selects_before = event_loop_get_stats(loop).selects;
    event_loop_execute(loop, link_task, &links);
    bool all = latch_await(&links.done, LIMIT_MS);
    LAB_EXPECT(all && atomic_load(&links.links) == CHAIN, "all of them to run",
               "%d ran, the last execute said %s", atomic_load(&links.links),
               all ? STATUS(links.again) : "?");
    uint64_t selects = event_loop_get_stats(loop).selects - selects_before;
    LAB_EXPECT(selects >= CHAIN,
               "one turn of the loop per link, at least: a task posted by a "
               "task waits for the next turn, so the channels get theirs in "
               "between (and each turn counts its select in the stats)",
               "%llu selects for %d links", (unsigned long long)selects, CHAIN);
    latch_destroy(&links.done);
    finish(loop);
}

/* --- stage io: ready channels reach their handler ------------------------- */

typedef struct io_conn {
    struct io_state *state;
    int index;
    channel *server; /* the loop's end; NULL once closed */
    channel *client; /* the main thread's end */
    selection_key *key;
    /* Loop thread only, read by main after a latch. */
    int calls;
    bool in_loop, readable;
    char got[16];
} io_conn;

typedef struct io_state {
    channel *listener;
    io_conn conn[2];
    bool cancel_other; /* the batch test: the first handler cancels the
                          other key */
    event_loop_status registered[2];
    latch called;
} io_state;

static void io_ready(event_loop *loop, selection_key *key, void *context)
{
    io_conn *c = context;
    io_state *st = c->state;
    c->calls++;
    c->in_loop = in_event_loop(loop);
    c->readable = key_is_readable(key);
    ssize_t n = read(channel_fd(c->server), c->got, sizeof c->got - 1);
    c->got[n > 0 ? n : 0] = '\0';
    if (n > 0 && !st->cancel_other)
        (void)!write(channel_fd(c->server), "pong\n", 5);
    if (st->cancel_other) {
        io_conn *other = &st->conn[1 - c->index];
        if (other->server != NULL) {
            event_loop_deregister(loop, other->key);
            channel_close(other->server);
            other->server = NULL;
        }
    }
    latch_count_down(&st->called);
}

static void io_closing(event_loop *loop, selection_key *key, void *context)
{
    (void)loop;
    (void)key;
    io_conn *c = context;
    channel_close(c->server);
    c->server = NULL;
}

static const event_loop_handler io_handler = {io_ready, io_closing};

static void register_conn(event_loop *loop, void *arg)
{
    io_conn *c = arg;
    c->state->registered[c->index] =
        event_loop_register(loop, c->server, OP_READ, &io_handler, c, &c->key);
}

/* Leaves nothing registered, so that this stage does not depend on what
 * shutdown does with the keys still there (that is stage shutdown's). */
static void deregister_all(event_loop *loop, void *arg)
{
    io_state *st = arg;
    for (int i = 0; i < 2; i++) {
        if (st->conn[i].server != NULL) {
            event_loop_deregister(loop, st->conn[i].key);
            channel_close(st->conn[i].server);
            st->conn[i].server = NULL;
        }
    }
}

/* Runs a task on the loop and waits for it: what was ready when it was
 * posted has been dispatched by then, whatever the order of the turn. */
static void one_turn(event_loop *loop)
{
    for (int i = 0; i < 2; i++) {
        latch ran;
        latch_init(&ran, 1);
        post_and_wait(loop, count_down, &ran, &ran);
        latch_destroy(&ran);
    }
}

static void open_pair(io_state *st, int i)
{
    char error[CHANNEL_ERROR_TEXT];
    if (st->listener == NULL)
        st->listener = channel_listen("127.0.0.1", 0, 8, error, sizeof error);
    socket_address address;
    if (st->listener == NULL ||
        socket_address_resolve(&address, "127.0.0.1",
                               channel_local_port(st->listener)) != 0)
        lab_fail("a listener on 127.0.0.1", "none");
    io_conn *c = &st->conn[i];
    *c = (io_conn){.state = st, .index = i};
    c->client = channel_open_connected(&address);
    c->server = channel_accept(st->listener);
    if (c->client == NULL || c->server == NULL ||
        channel_configure_blocking(c->server, false) < 0)
        lab_fail("a TCP connection on loopback", "%s", strerror(errno));
}

/* Waits (bounded) until both server ends have their byte to read, so
 * that the loop's next selection reports both. */
static void both_readable(io_state *st)
{
    int64_t end = now_ns() + LIMIT_MS * 1000000;
    for (;;) {
        struct pollfd p[2] = {
            {.fd = channel_fd(st->conn[0].server), .events = POLLIN},
            {.fd = channel_fd(st->conn[1].server), .events = POLLIN}};
        if (poll(p, 2, 100) == 2 || now_ns() > end)
            return;
    }
}

/* Reads one line from the client's end, waiting at most LIMIT_MS. */
static const char *client_reads(io_conn *c)
{
    static char line[32];
    size_t used = 0;
    int64_t end = now_ns() + LIMIT_MS * 1000000;
    while (used < sizeof line - 1 && now_ns() < end) {
        struct pollfd p = {.fd = channel_fd(c->client), .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(p.fd, line + used, sizeof line - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        if (memchr(line, '\n', used) != NULL)
            break;
    }
    line[used] = '\0';
    return used > 0 ? line : "(nothing)";
}

static void stage_io(void)
{
    event_loop *loop = new_loop();
    io_state st = {.listener = NULL};
    open_pair(&st, 0);
    open_pair(&st, 1);

    lab_did("a task registers a connection's channel on the loop, OP_READ");
    run_on_loop(loop, register_conn, &st.conn[0]);
    LAB_EXPECT(st.registered[0] == EVENT_LOOP_OK, "EVENT_LOOP_OK", "%s",
               STATUS(st.registered[0]));

    lab_did("the other end writes \"ping\"; the loop is asleep in select");
    latch_init(&st.called, 1);
    (void)!write(channel_fd(st.conn[0].client), "ping", 4);
    io_conn *a = &st.conn[0];
    LAB_EXPECT(latch_await(&st.called, LIMIT_MS),
               "the channel's handler->ready to be called: the turn selects, "
               "then dispatch calls the handler of each selected key",
               "it was not called within %ld s", LIMIT_MS / 1000);
    LAB_EXPECT(a->in_loop && a->readable && strcmp(a->got, "ping") == 0,
               "a call on the loop's thread, the key readable, \"ping\" to "
               "read",
               "%s thread, key %s, read \"%s\"",
               a->in_loop ? "the loop's" : "another",
               a->readable ? "readable" : "not readable", a->got);
    const char *reply = client_reads(a);
    LAB_EXPECT(strcmp(reply, "pong\n") == 0,
               "the handler's reply \"pong\" at the other end", "%s", reply);
    latch_destroy(&st.called);

    lab_did("two more turns of the loop with nothing new on the channel");
    one_turn(loop);
    LAB_EXPECT(a->calls == 1,
               "no second call: dispatch takes each key out of the selected "
               "set (key_iterator_remove) before calling its handler, as "
               "the article forgot to",
               "the handler was called %d times for one \"ping\"", a->calls);

    lab_did("register a second channel; then, while a task keeps the loop "
            "busy, both channels get a byte; the first handler called "
            "cancels the other's key (event_loop_deregister) and closes it");
    run_on_loop(loop, register_conn, &st.conn[1]);
    LAB_EXPECT(st.registered[1] == EVENT_LOOP_OK, "EVENT_LOOP_OK", "%s",
               STATUS(st.registered[1]));
    a->calls = 0;
    st.cancel_other = true;
    latch_init(&st.called, 1);
    /* Both bytes are there before the next select, so one selection
     * reports both keys. */
    gate g;
    gate_init(&g);
    gate_close(loop, &g);
    (void)!write(channel_fd(st.conn[0].client), "x", 1);
    (void)!write(channel_fd(st.conn[1].client), "y", 1);
    both_readable(&st);
    latch_open(&g.open);
    LAB_EXPECT(latch_await(&st.called, LIMIT_MS),
               "one of the two handlers to be called", "none was, in %ld s",
               LIMIT_MS / 1000);
    one_turn(loop);
    int calls = st.conn[0].calls + st.conn[1].calls;
    LAB_EXPECT(calls == 1,
               "only the first handler called: the other key was cancelled "
               "in the same batch, and dispatch skips a key that is no "
               "longer valid (key_is_valid)",
               "%d handler calls", calls);
    latch_destroy(&st.called);
    gate_destroy(&g);

    run_on_loop(loop, deregister_all, &st);
    finish(loop);
    for (int i = 0; i < 2; i++) {
        channel_close(st.conn[i].server); /* if a task did not run */
        channel_close(st.conn[i].client);
    }
    channel_close(st.listener);
}

/* --- stage timer-heap: the heap's order ----------------------------------- */

static uint64_t random_next(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

static bool earlier_entry(const timer_heap_entry *a, const timer_heap_entry *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

/* What the heap should hold, as a plain array: the model the heap is
 * checked against. */
typedef struct model {
    timer_heap_entry *entries;
    size_t count;
} model;

static size_t model_earliest(const model *m)
{
    size_t best = 0;
    for (size_t i = 1; i < m->count; i++)
        if (earlier_entry(&m->entries[i], &m->entries[best]))
            best = i;
    return best;
}

static void model_take(model *m, size_t i)
{
    m->entries[i] = m->entries[--m->count];
}

static const char *entry_text(const timer_heap_entry *e)
{
    static char text[2][64];
    static int turn;
    turn = 1 - turn;
    snprintf(text[turn], sizeof text[turn], "(deadline %lld, seq %llu)",
             (long long)e->deadline, (unsigned long long)e->seq);
    return text[turn];
}

static void push_or_fail(timer_heap *h, timer_heap_entry e)
{
    int rc = timer_heap_push(h, e);
    LAB_EXPECT(rc == 0, "timer_heap_push to return 0", "%d (%s)", rc,
               strerror(errno));
}

static void stage_timer_heap(void)
{
    timer_heap h = TIMER_HEAP_INIT;
    timer_heap_entry e;
    int items[8];

    lab_did("pop and remove on an empty heap");
    LAB_EXPECT(!timer_heap_pop(&h, &e) && !timer_heap_remove(&h, 1, &e) &&
                   timer_heap_size(&h) == 0,
               "false from both, size 0", "something came out of nothing");

    lab_did("push deadlines 30, 10, 20 (seq 1, 2, 3), then pop three times");
    push_or_fail(&h, (timer_heap_entry){30, 1, &items[0]});
    push_or_fail(&h, (timer_heap_entry){10, 2, &items[1]});
    push_or_fail(&h, (timer_heap_entry){20, 3, &items[2]});
    LAB_EXPECT(timer_heap_size(&h) == 3, "size 3", "size %zu",
               timer_heap_size(&h));
    LAB_EXPECT(timer_heap_peek(&h, &e) && e.deadline == 10,
               "peek to show deadline 10, the earliest, at entries[0]", "%s",
               entry_text(&e));
    static const int64_t order[] = {10, 20, 30};
    static const int which[] = {1, 2, 0};
    for (int i = 0; i < 3; i++) {
        bool got = timer_heap_pop(&h, &e);
        LAB_EXPECT(got && e.deadline == order[i] && e.item == &items[which[i]],
                   "pop to give 10, 20, 30 with their items", "pop %d gave %s",
                   i + 1, got ? entry_text(&e) : "nothing (false)");
    }

    lab_did("push 10 entries with the same deadline, seq 1 to 10, then pop "
            "them all");
    for (uint64_t s = 1; s <= 10; s++)
        push_or_fail(&h, (timer_heap_entry){500, s, NULL});
    for (uint64_t s = 1; s <= 10; s++) {
        bool got = timer_heap_pop(&h, &e);
        LAB_EXPECT(got && e.seq == s,
                   "equal deadlines to leave in the order they went in: the "
                   "smaller seq first when deadlines tie",
                   "pop %llu gave %s", (unsigned long long)s,
                   got ? entry_text(&e) : "nothing (false)");
    }

    lab_did("push deadlines 50, 30, 50, 10, 30 (seq 1 to 5); remove seq 3; "
            "remove seq 99, which is not there");
    static const int64_t d5[] = {50, 30, 50, 10, 30};
    for (int i = 0; i < 5; i++)
        push_or_fail(&h, (timer_heap_entry){d5[i], (uint64_t)i + 1, &items[i]});
    bool removed = timer_heap_remove(&h, 3, &e);
    LAB_EXPECT(removed && e.seq == 3 && e.deadline == 50 && e.item == &items[2],
               "true, and the removed entry (deadline 50, seq 3) with its item",
               "%s, %s", removed ? "true" : "false", entry_text(&e));
    LAB_EXPECT(!timer_heap_remove(&h, 99, &e) && timer_heap_size(&h) == 4,
               "false for seq 99, and 4 entries left",
               "size %zu after removing an entry that is not there",
               timer_heap_size(&h));
    static const uint64_t left[] = {4, 2, 5, 1};
    for (int i = 0; i < 4; i++) {
        bool got = timer_heap_pop(&h, &e);
        LAB_EXPECT(got && e.seq == left[i],
                   "the rest in order: seq 4 (10), 2 (30), 5 (30), 1 (50)",
                   "pop %d gave %s", i + 1,
                   got ? entry_text(&e) : "nothing (false)");
    }

    enum { OPS = 4000 };
    lab_did("%d random pushes, pops and removes (many equal deadlines), "
            "each checked against a plain list",
            OPS);
    model m = {calloc(OPS, sizeof *m.entries), 0};
    if (m.entries == NULL)
        lab_fail("memory for the stage", "calloc returned NULL");
    uint64_t rng = 0x6c61620006ULL, seq = 100;
    for (int op = 1; op <= OPS; op++) {
        uint64_t r = random_next(&rng) % 10;
        if (r < 5 || m.count == 0) {
            timer_heap_entry in = {(int64_t)(random_next(&rng) % 200), ++seq,
                                   NULL};
            lab_did("random operation %d: push %s (%zu entries before)", op,
                    entry_text(&in), m.count);
            push_or_fail(&h, in);
            m.entries[m.count++] = in;
        } else if (r < 8) {
            size_t best = model_earliest(&m);
            lab_did("random operation %d: pop (%zu entries)", op, m.count);
            bool got = timer_heap_pop(&h, &e);
            LAB_EXPECT(got && e.seq == m.entries[best].seq &&
                           e.deadline == m.entries[best].deadline,
                       "the earliest entry, ties by seq", "%s where %s was due",
                       got ? entry_text(&e) : "nothing (false)",
                       entry_text(&m.entries[best]));
            model_take(&m, best);
        } else {
            size_t i = (size_t)(random_next(&rng) % m.count);
            timer_heap_entry want = m.entries[i];
            lab_did("random operation %d: remove seq %llu from the middle "
                    "(%zu entries)",
                    op, (unsigned long long)want.seq, m.count);
            bool got = timer_heap_remove(&h, want.seq, &e);
            LAB_EXPECT(got && e.seq == want.seq && e.deadline == want.deadline,
                       "true and that entry", "%s, %s", got ? "true" : "false",
                       entry_text(&e));
            model_take(&m, i);
        }
        LAB_EXPECT(timer_heap_size(&h) == m.count, "the size to follow",
                   "size %zu where %zu entries are left", timer_heap_size(&h),
                   m.count);
    }
    lab_did("pop the %zu entries left", m.count);
    while (m.count > 0) {
        size_t best = model_earliest(&m);
        bool got = timer_heap_pop(&h, &e);
        LAB_EXPECT(got && e.seq == m.entries[best].seq,
                   "every entry out, earliest first, ties by seq",
                   "%s where %s was due",
                   got ? entry_text(&e) : "nothing (false)",
                   entry_text(&m.entries[best]));
        model_take(&m, best);
    }
    LAB_EXPECT(!timer_heap_pop(&h, &e), "an empty heap at the end",
               "one more entry, %s", entry_text(&e));
    free(m.entries);
    timer_heap_clear(&h);
}

/* --- stage timers: timers through the loop -------------------------------- */

enum { TIMERS = 6 };

typedef struct timer_log {
    /* Each deadline lies between the clock read just before the schedule
     * call and just after it (plus the delay): written by main. */
    int64_t not_before[TIMERS], not_after[TIMERS];
    int64_t fired_at[TIMERS]; /* loop thread */
    bool on_loop[TIMERS];
    int order[TIMERS * 2];
    atomic_int count; /* read by main while timers may still run */
    latch done;
} timer_log;

typedef struct timer_item {
    timer_log *log;
    int index;
} timer_item;

static void timer_fired(event_loop *loop, void *arg)
{
    timer_item *item = arg;
    timer_log *log = item->log;
    log->fired_at[item->index] = now_ns();
    log->on_loop[item->index] = in_event_loop(loop);
    int n = atomic_load(&log->count);
    if (n < TIMERS * 2)
        log->order[n] = item->index;
    atomic_store(&log->count, n + 1);
    latch_count_down(&log->done);
}

typedef struct repeat {
    event_loop_timer id;
    atomic_int runs; /* read by main while the timer may still run */
    bool cancelled;
    int runs_at_sentinel;
    event_loop_status scheduled;
    latch sentinel;
} repeat;

static void repeat_sentinel(event_loop *loop, void *arg)
{
    (void)loop;
    repeat *r = arg;
    r->runs_at_sentinel = atomic_load(&r->runs);
    latch_count_down(&r->sentinel);
}

static void repeat_run(event_loop *loop, void *arg)
{
    repeat *r = arg;
    if (atomic_fetch_add(&r->runs, 1) + 1 == 3) {
        r->cancelled = event_loop_cancel_timer(loop, r->id);
        event_loop_schedule(loop, 60, repeat_sentinel, r, NULL);
    }
}

static void start_repeat(event_loop *loop, void *arg)
{
    repeat *r = arg;
    r->scheduled =
        event_loop_schedule_at_fixed_rate(loop, 10, 10, repeat_run, r, &r->id);
    if (r->scheduled != EVENT_LOOP_OK)
        latch_open(&r->sentinel);
}

static void flag_task(event_loop *loop, void *arg)
{
    (void)loop;
    atomic_store((atomic_bool *)arg, true);
}

/* Scheduled and cancelled on the loop's thread, where the timer cannot
 * fire in between, however slow the machine. */
typedef struct cancel_case {
    atomic_bool ran;
    bool was_pending;
} cancel_case;

static void schedule_and_cancel(event_loop *loop, void *arg)
{
    cancel_case *c = arg;
    event_loop_timer id = 0;
    c->was_pending = event_loop_schedule(loop, 30, flag_task, &c->ran, &id) ==
                         EVENT_LOOP_OK &&
                     event_loop_cancel_timer(loop, id);
}

static void stage_timers(void)
{
    event_loop *loop = new_loop();
    static const long delays[TIMERS] = {60, 20, 40, 0, 40, 10};
    timer_log log;
    atomic_init(&log.count, 0);
    timer_item items[TIMERS];
    latch_init(&log.done, TIMERS);
    lab_did("from the main thread, schedule one-shot timers of 60, 20, 40, "
            "0, 40 and 10 ms (timers 0 to 5)");
    for (int i = 0; i < TIMERS; i++) {
        items[i] = (timer_item){&log, i};
        log.not_before[i] = now_ns() + delays[i] * 1000000;
        event_loop_status s =
            event_loop_schedule(loop, delays[i], timer_fired, &items[i], NULL);
        log.not_after[i] = now_ns() + delays[i] * 1000000;
        LAB_EXPECT(s == EVENT_LOOP_OK, "EVENT_LOOP_OK from event_loop_schedule",
                   "%s for timer %d (the heap's push failed?)", STATUS(s), i);
    }
    LAB_EXPECT(latch_await(&log.done, LIMIT_MS),
               "all six to fire: the turn runs the timers that are due, and "
               "select sleeps only until the earliest deadline",
               "%d of %d fired in %ld s", atomic_load(&log.count), TIMERS,
               LIMIT_MS / 1000);
    for (int i = 0; i < TIMERS; i++) {
        int t = log.order[i];
        /* Judged by the deadlines the loop can have computed, so that a
         * main thread slowed down between two calls fails nothing. */
        for (int j = i + 1; j < TIMERS; j++) {
            int later = log.order[j];
            LAB_EXPECT(log.not_after[later] >= log.not_before[t],
                       "deadline order: 3 (0 ms), 5 (10), 1 (20), 2 (40), "
                       "4 (40, set after 2), 0 (60)",
                       "timer %d fired before timer %d, whose deadline was "
                       "earlier (order: %d %d %d %d %d %d)",
                       t, later, log.order[0], log.order[1], log.order[2],
                       log.order[3], log.order[4], log.order[5]);
        }
        LAB_EXPECT(log.fired_at[t] >= log.not_before[t],
                   "no timer to fire before its deadline",
                   "timer %d (%ld ms) fired %.1f ms early", t, delays[t],
                   (double)(log.not_before[t] - log.fired_at[t]) / 1e6);
        LAB_EXPECT(log.on_loop[t], "each to run on the loop's thread",
                   "timer %d ran elsewhere", t);
    }
    latch_destroy(&log.done);

    lab_did("schedule a 200 ms timer and wait for it");
    atomic_store(&log.count, 0);
    latch_init(&log.done, 1);
    log.not_before[0] = now_ns() + 200 * 1000000;
    event_loop_schedule(loop, 200, timer_fired, &items[0], NULL);
    LAB_EXPECT(latch_await(&log.done, LIMIT_MS), "it fires",
               "it did not, in %ld s", LIMIT_MS / 1000);
    LAB_EXPECT(log.fired_at[0] >= log.not_before[0],
               "not before 200 ms: run_timers runs only what is due",
               "it fired %.1f ms early",
               (double)(log.not_before[0] - log.fired_at[0]) / 1e6);
    latch_destroy(&log.done);

    lab_did("schedule a timer for 10 s from now; then, while the loop sleeps "
            "until it, schedule one for 20 ms from another thread");
    event_loop_timer far = 0;
    atomic_bool far_ran;
    atomic_init(&far_ran, false);
    event_loop_schedule(loop, 10000, flag_task, &far_ran, &far);
    atomic_store(&log.count, 0);
    latch_init(&log.done, 1);
    event_loop_schedule(loop, 20, timer_fired, &items[1], NULL);
    LAB_EXPECT(latch_await(&log.done, LIMIT_MS),
               "the 20 ms timer to fire long before the 10 s one: each turn "
               "computes the timeout again from the earliest deadline",
               "it had not fired %ld s later", LIMIT_MS / 1000);
    latch_destroy(&log.done);

    lab_did("cancel the 10 s timer, then cancel it again");
    bool first = event_loop_cancel_timer(loop, far);
    bool again = event_loop_cancel_timer(loop, far);
    LAB_EXPECT(first && !again,
               "true, then false: a pending timer is removed from the heap "
               "(timer_heap_remove) once",
               "%s, then %s", first ? "true" : "false",
               again ? "true" : "false");

    lab_did("a task on the loop schedules a 30 ms timer and cancels it at "
            "once; then wait for a 60 ms one");
    cancel_case cc;
    atomic_init(&cc.ran, false);
    run_on_loop(loop, schedule_and_cancel, &cc);
    atomic_store(&log.count, 0);
    latch_init(&log.done, 1);
    event_loop_schedule(loop, 60, timer_fired, &items[2], NULL);
    LAB_EXPECT(latch_await(&log.done, LIMIT_MS), "the 60 ms timer to fire",
               "it did not, in %ld s", LIMIT_MS / 1000);
    LAB_EXPECT(cc.was_pending && !atomic_load(&cc.ran),
               "cancel to say true, and the cancelled timer never to run",
               "cancel said %s and it %s", cc.was_pending ? "true" : "false",
               atomic_load(&cc.ran) ? "ran" : "did not run");
    latch_destroy(&log.done);

    lab_did("a repeating timer, every 10 ms, cancels itself on its third run "
            "and sets a 60 ms sentinel timer");
    repeat r = {.cancelled = false};
    atomic_init(&r.runs, 0);
    latch_init(&r.sentinel, 1);
    event_loop_execute(loop, start_repeat, &r);
    bool sentinel = latch_await(&r.sentinel, LIMIT_MS);
    LAB_EXPECT(r.scheduled == EVENT_LOOP_OK, "EVENT_LOOP_OK", "%s",
               STATUS(r.scheduled));
    LAB_EXPECT(sentinel,
               "three runs, then the sentinel: a repeating timer goes back "
               "into the heap one period later",
               "%d run(s), and no sentinel in %ld s", atomic_load(&r.runs),
               LIMIT_MS / 1000);
    LAB_EXPECT(r.cancelled,
               "event_loop_cancel_timer from its own run to say true: "
               "run_timers sets running_timer while a timer runs, with the "
               "lock released",
               "false");
    LAB_EXPECT(r.runs_at_sentinel == 3,
               "no fourth run: a timer cancelled while it runs is not put "
               "back",
               "%d runs by the time the sentinel fired", r.runs_at_sentinel);
    latch_destroy(&r.sentinel);
    finish(loop);
}

/* --- stage shutdown ---------------------------------------------------------
 */

enum { QUEUED = 100 };

typedef struct drain {
    gate g;
    latch spare;     /* for the tasks that should be refused */
    int ran[QUEUED]; /* loop thread; the order the queued tasks ran in */
    int count;
    event_loop_status reposted; /* execute from a task during the drain */
    atomic_bool timer_ran;
    /* the registered channel */
    channel *server, *client;
    int closing_calls;
    bool closing_on_loop, closing_key_valid;
    event_loop_status registered;
} drain;

typedef struct drain_item {
    drain *d;
    int index;
} drain_item;

static void queued_task(event_loop *loop, void *arg)
{
    drain_item *item = arg;
    drain *d = item->d;
    if (item->index == 0)
        d->reposted = event_loop_execute(loop, count_down, &d->spare);
    if (d->count < QUEUED)
        d->ran[d->count] = item->index;
    d->count++;
}

static void drain_ready(event_loop *loop, selection_key *key, void *context)
{
    (void)loop;
    (void)key;
    (void)context;
}

static void drain_closing(event_loop *loop, selection_key *key, void *context)
{
    drain *d = context;
    d->closing_calls++;
    d->closing_on_loop = in_event_loop(loop);
    d->closing_key_valid = key_is_valid(key);
    channel_close(d->server);
    d->server = NULL;
}

static const event_loop_handler drain_handler = {drain_ready, drain_closing};

static void register_drain(event_loop *loop, void *arg)
{
    drain *d = arg;
    d->registered =
        event_loop_register(loop, d->server, OP_READ, &drain_handler, d, NULL);
}

static void shut_down_from_inside(event_loop *loop, void *arg)
{
    (void)arg;
    event_loop_shutdown(loop);
}

static void stage_shutdown(void)
{
    event_loop *loop = new_loop();
    drain *d = calloc(1, sizeof *d);
    drain_item *items = calloc(QUEUED, sizeof *items);
    if (d == NULL || items == NULL)
        lab_fail("memory for the stage", "calloc returned NULL");
    atomic_init(&d->timer_ran, false);
    gate_init(&d->g);
    latch_init(&d->spare, 1);

    lab_did("register a connection's channel on the loop (its handler has a "
            "closing hook) and schedule a timer for 60 s");
    char error[CHANNEL_ERROR_TEXT];
    channel *listener = channel_listen("127.0.0.1", 0, 4, error, sizeof error);
    socket_address address;
    if (listener == NULL ||
        socket_address_resolve(&address, "127.0.0.1",
                               channel_local_port(listener)) != 0 ||
        (d->client = channel_open_connected(&address)) == NULL ||
        (d->server = channel_accept(listener)) == NULL ||
        channel_configure_blocking(d->server, false) < 0)
        lab_fail("a TCP connection on loopback", "%s", strerror(errno));
    channel_close(listener);
    run_on_loop(loop, register_drain, d);
    LAB_EXPECT(d->registered == EVENT_LOOP_OK,
               "EVENT_LOOP_OK from "
               "event_loop_register",
               "%s", STATUS(d->registered));
    event_loop_status s =
        event_loop_schedule(loop, 60000, flag_task, &d->timer_ran, NULL);
    LAB_EXPECT(s == EVENT_LOOP_OK, "EVENT_LOOP_OK", "%s", STATUS(s));

    lab_did("a task keeps the loop busy while %d more are queued behind it; "
            "then event_loop_shutdown from the main thread",
            QUEUED);
    gate_close(loop, &d->g);
    for (int i = 0; i < QUEUED; i++) {
        items[i] = (drain_item){d, i};
        s = event_loop_execute(loop, queued_task, &items[i]);
        LAB_EXPECT(s == EVENT_LOOP_OK, "EVENT_LOOP_OK", "%s for task %d",
                   STATUS(s), i);
    }
    event_loop_shutdown(loop);
    LAB_EXPECT(event_loop_is_shutting_down(loop),
               "event_loop_is_shutting_down to say true", "false");

    lab_did("after event_loop_shutdown: execute and schedule from the main "
            "thread");
    s = event_loop_execute(loop, count_down, &d->spare);
    LAB_EXPECT(s == EVENT_LOOP_SHUT_DOWN,
               "EVENT_LOOP_SHUT_DOWN: a loop shutting down refuses new tasks "
               "(and the task stays the caller's)",
               "%s", STATUS(s));
    s = event_loop_schedule(loop, 1, flag_task, &d->timer_ran, NULL);
    LAB_EXPECT(s == EVENT_LOOP_SHUT_DOWN, "EVENT_LOOP_SHUT_DOWN for a timer",
               "%s", STATUS(s));

    lab_did("let the first task finish and wait for the loop's thread to end");
    latch_open(&d->g.open);
    LAB_EXPECT(ended_within_limit(loop),
               "the loop's thread to end: it leaves its turns when the flag "
               "is set, runs what was queued, closes the channels and drops "
               "the timers",
               "it was still running %ld s later", LIMIT_MS / 1000);
    LAB_EXPECT(d->count == QUEUED,
               "all 100 tasks queued before the shutdown to run: the loop "
               "runs its queue until it is empty before it ends",
               "%d of them ran", d->count);
    for (int i = 0; i < QUEUED; i++)
        LAB_EXPECT(d->ran[i] == i, "in the order they were posted",
                   "task %d ran in place %d", d->ran[i], i);
    LAB_EXPECT(d->reposted == EVENT_LOOP_SHUT_DOWN,
               "EVENT_LOOP_SHUT_DOWN for a task posted by a task during the "
               "shutdown, too",
               "%s", STATUS(d->reposted));
    LAB_EXPECT(d->closing_calls == 1,
               "the registered channel's closing hook called once: the loop "
               "cancels every key left and calls its handler's closing",
               "%d call(s)", d->closing_calls);
    LAB_EXPECT(d->closing_on_loop && !d->closing_key_valid,
               "on the loop's thread, with the key cancelled already",
               "%s thread, key %s",
               d->closing_on_loop ? "the loop's" : "another",
               d->closing_key_valid ? "still valid" : "cancelled");
    LAB_EXPECT(!atomic_load(&d->timer_ran),
               "the 60 s timer dropped, not run (nor waited for)", "it ran");
    event_loop_free(loop);
    channel_close(d->client);
    channel_close(d->server); /* if the closing hook never ran */

    lab_did("a task on a new loop calls event_loop_shutdown on its own loop");
    loop = new_loop();
    event_loop_execute(loop, shut_down_from_inside, NULL);
    LAB_EXPECT(ended_within_limit(loop), "the loop's thread to end",
               "it was still running %ld s later", LIMIT_MS / 1000);
    event_loop_free(loop);

    gate_destroy(&d->g);
    latch_destroy(&d->spare);
    free(items);
    free(d);
}

int main(int argc, char **argv)
{
    static const lab_stage stages[] = {
        {"tasks", stage_tasks},   {"wakeup", stage_wakeup},
        {"io", stage_io},         {"timer-heap", stage_timer_heap},
        {"timers", stage_timers}, {"shutdown", stage_shutdown},
    };
    return lab_main(argc, argv, stages, sizeof stages / sizeof stages[0]);
}
