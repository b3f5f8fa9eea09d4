/*
 * test_thread_pool.c - the thread pool's contract, checked without a single
 * sleep standing in for synchronisation.
 *
 * Tests that need a task to be surely running, or surely queued, hold the
 * pool's only worker in a "gate" task that waits for the test to open it.
 * Every wait here is bounded, so a broken pool fails a check instead of
 * hanging the run; an alarm ends the whole program if something still
 * hangs (for instance a submit that should have returned at once).
 */
#include "sync_helpers.h"
#include "tap.h"
#include "05-thread-pool/thread_pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long any wait may take before the check that needed it fails. */
#define LIMIT_MS 10000L

static bool latch_wait(latch *l)
{
    return latch_await(l, LIMIT_MS);
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000L +
           (now.tv_nsec - since->tv_nsec) / 1000000L;
}

/* --- tasks -----------------------------------------------------------------
 */

/* Holds a worker until the test opens `release`. `started` tells the test
 * that the worker took it, so the next submitted tasks stay queued. */
typedef struct gate {
    latch started;
    latch release;
    atomic_bool finished; /* set as the task's very last step */
} gate;

static void gate_init(gate *g)
{
    latch_init(&g->started, 1);
    latch_init(&g->release, 1);
    atomic_init(&g->finished, false);
}

static void gate_destroy(gate *g)
{
    latch_destroy(&g->started);
    latch_destroy(&g->release);
}

static void gate_task(void *arg)
{
    gate *g = arg;
    latch_open(&g->started);
    /* Longer than any wait of the test's own, so that a gate never opens
     * by itself while the test still waits for something it holds back. */
    latch_await(&g->release, 3 * LIMIT_MS);
    atomic_store(&g->finished, true);
}

static void count_task(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

/* Submits a gate task and waits until the pool's worker is inside it. */
static bool hold_worker(thread_pool *pool, gate *g)
{
    return thread_pool_submit(pool, gate_task, g) == THREAD_POOL_OK &&
           latch_wait(&g->started);
}

/* The pool is the only one who knows that a submitter has gone to sleep
 * inside submit, so the test asks it. This is the one polling loop in the
 * file; it only observes, and nothing in the pool depends on it. */
static bool wait_for_waiting_submitters(thread_pool *pool, size_t n)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (thread_pool_waiting_submitters(pool) != n) {
        if (elapsed_ms(&start) > LIMIT_MS)
            return false;
        nanosleep(&(struct timespec){.tv_nsec = 1000000L}, NULL);
    }
    return true;
}

/* --- names and bad arguments -----------------------------------------------
 */

static void test_status_names(tap *t)
{
    static const struct {
        thread_pool_status status;
        const char *name;
    } names[] = {
        {THREAD_POOL_OK, "THREAD_POOL_OK"},
        {THREAD_POOL_REJECTED, "THREAD_POOL_REJECTED"},
        {THREAD_POOL_SHUT_DOWN, "THREAD_POOL_SHUT_DOWN"},
        {THREAD_POOL_BAD_ARGUMENT, "THREAD_POOL_BAD_ARGUMENT"},
        {THREAD_POOL_NO_MEMORY, "THREAD_POOL_NO_MEMORY"},
        {(thread_pool_status)99, "THREAD_POOL_UNKNOWN_STATUS"},
    };
    bool all = true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        all = all && strcmp(thread_pool_status_name(names[i].status),
                            names[i].name) == 0;
    }
    TAP_OK(t, all, "every status has its name, and unknown ones say so");
}

static void test_bad_arguments(tap *t)
{
    errno = 0;
    TAP_OK(t, thread_pool_create(0, 1, THREAD_POOL_BLOCK) == NULL,
           "create with no workers fails");
    TAP_OK(t, errno == EINVAL, "... with EINVAL");
    errno = 0;
    TAP_OK(t, thread_pool_create(1, 0, THREAD_POOL_BLOCK) == NULL,
           "create with no queue capacity fails");
    TAP_OK(t, errno == EINVAL, "... with EINVAL");
    errno = 0;
    TAP_OK(t, thread_pool_create(1, SIZE_MAX, THREAD_POOL_REJECT) == NULL,
           "create with a capacity no memory could hold fails");
    TAP_OK(t, errno == EINVAL, "... with EINVAL");
    errno = 0;
    TAP_OK(t, thread_pool_create(1, 1, (thread_pool_policy)42) == NULL,
           "create with an unknown policy fails");
    TAP_OK(t, errno == EINVAL, "... with EINVAL");

    atomic_int runs;
    atomic_init(&runs, 0);
    TAP_OK(t,
           thread_pool_submit(NULL, count_task, &runs) ==
               THREAD_POOL_BAD_ARGUMENT,
           "submit to a NULL pool is BAD_ARGUMENT");
    thread_pool *pool = thread_pool_create(1, 1, THREAD_POOL_BLOCK);
    TAP_OK(t, pool != NULL, "create(1 worker, capacity 1) succeeds");
    TAP_OK(t, thread_pool_submit(pool, NULL, &runs) == THREAD_POOL_BAD_ARGUMENT,
           "submit of a NULL function is BAD_ARGUMENT");
    TAP_OK(t, thread_pool_free(pool) == THREAD_POOL_OK, "free succeeds");
    TAP_OK(t, atomic_load(&runs) == 0, "nothing ran");

    /* NULL everywhere else: a value back, no crash. */
    thread_pool_shutdown(NULL);
    TAP_OK(t,
           thread_pool_shutdown_now(NULL, NULL, NULL) == 0 &&
               !thread_pool_await_termination(NULL, 0) &&
               !thread_pool_is_shutdown(NULL) &&
               !thread_pool_is_terminated(NULL) &&
               thread_pool_size(NULL) == 0 &&
               thread_pool_active_count(NULL) == 0 &&
               thread_pool_completed_count(NULL) == 0 &&
               thread_pool_queue_length(NULL) == 0 &&
               thread_pool_queue_capacity(NULL) == 0 &&
               thread_pool_waiting_submitters(NULL) == 0 &&
               thread_pool_free(NULL) == THREAD_POOL_OK,
           "a NULL pool is harmless everywhere else");
}

/* --- every task runs exactly once --------------------------------------------
 */

#define MANY_TASKS  100000
#define SUBMITTERS  2
#define MANY_WORKER 8

/* `runs` counts executions, so a task run twice is seen, not a race;
 * `seen` is a plain field, so TSan reports it if the pool's hand-over from
 * submitter to worker to awaiter lacks a happens-before edge. */
typedef struct item {
    atomic_int runs;
    size_t seen;
    size_t index;
} item;

static void item_task(void *arg)
{
    item *it = arg;
    atomic_fetch_add(&it->runs, 1);
    it->seen = it->index;
}

typedef struct submitter {
    thread_pool *pool;
    item *items;
    size_t from, to;
    size_t failures;
} submitter;

static void *submit_range(void *arg)
{
    submitter *s = arg;
    for (size_t i = s->from; i < s->to; i++)
        if (thread_pool_submit(s->pool, item_task, &s->items[i]) !=
            THREAD_POOL_OK)
            s->failures++;
    return NULL;
}

static void test_every_task_once(tap *t)
{
    item *items = calloc(MANY_TASKS, sizeof *items);
    for (size_t i = 0; i < MANY_TASKS; i++) {
        atomic_init(&items[i].runs, 0);
        items[i].index = i;
        items[i].seen = SIZE_MAX;
    }
    /* A small queue, so that the submitters keep filling it and block:
     * the full-queue path is exercised thousands of times. */
    thread_pool *pool = thread_pool_create(MANY_WORKER, 64, THREAD_POOL_BLOCK);
    TAP_OK(t, pool != NULL && thread_pool_size(pool) == MANY_WORKER,
           "a pool of %d workers starts", MANY_WORKER);
    TAP_OK(t, thread_pool_queue_capacity(pool) == 64, "its capacity is 64");

    pthread_t threads[SUBMITTERS];
    submitter subs[SUBMITTERS];
    for (size_t s = 0; s < SUBMITTERS; s++) {
        subs[s] = (submitter){.pool = pool,
                              .items = items,
                              .from = s * MANY_TASKS / SUBMITTERS,
                              .to = (s + 1) * MANY_TASKS / SUBMITTERS};
        pthread_create(&threads[s], NULL, submit_range, &subs[s]);
    }
    size_t failures = 0;
    for (size_t s = 0; s < SUBMITTERS; s++) {
        pthread_join(threads[s], NULL);
        failures += subs[s].failures;
    }
    TAP_OK(t, failures == 0, "%d submits from %d threads all return OK",
           MANY_TASKS, SUBMITTERS);
    thread_pool_shutdown(pool);
    TAP_OK(t, thread_pool_await_termination(pool, LIMIT_MS),
           "the pool terminates after shutdown");

    size_t wrong_runs = 0, wrong_seen = 0;
    for (size_t i = 0; i < MANY_TASKS; i++) {
        wrong_runs += atomic_load(&items[i].runs) != 1;
        wrong_seen += items[i].seen != i;
    }
    TAP_OK(t, wrong_runs == 0, "every task ran exactly once (%zu did not)",
           wrong_runs);
    TAP_OK(t, wrong_seen == 0, "every task's write is visible after await");
    TAP_OK(t, thread_pool_completed_count(pool) == MANY_TASKS,
           "completed_count is %d", MANY_TASKS);
    TAP_OK(t,
           thread_pool_queue_length(pool) == 0 &&
               thread_pool_active_count(pool) == 0,
           "queue empty and no task active");
    TAP_OK(t, thread_pool_free(pool) == THREAD_POOL_OK, "free succeeds");
    free(items);
}

/* --- shutting down
 * ------------------------------------------------------------ */

static void test_graceful_shutdown(tap *t)
{
    gate g;
    gate_init(&g);
    atomic_int runs;
    atomic_init(&runs, 0);
    thread_pool *pool = thread_pool_create(1, 16, THREAD_POOL_BLOCK);
    TAP_OK(t, hold_worker(pool, &g),
           "graceful: the gate task holds the worker");
    size_t ok = 0;
    for (int i = 0; i < 10; i++)
        ok += thread_pool_submit(pool, count_task, &runs) == THREAD_POOL_OK;
    TAP_OK(t, ok == 10, "graceful: 10 tasks queued behind it");
    TAP_OK(t,
           thread_pool_queue_length(pool) == 10 &&
               thread_pool_active_count(pool) == 1,
           "graceful: queue_length 10, active_count 1");

    thread_pool_shutdown(pool);
    TAP_OK(t, thread_pool_is_shutdown(pool), "graceful: is_shutdown");
    TAP_OK(t, !thread_pool_is_terminated(pool),
           "graceful: not terminated while tasks remain");
    TAP_OK(t,
           thread_pool_submit(pool, count_task, &runs) == THREAD_POOL_SHUT_DOWN,
           "graceful: submit after shutdown is SHUT_DOWN");
    thread_pool_shutdown(pool);
    TAP_OK(t, thread_pool_queue_length(pool) == 10,
           "graceful: a second shutdown drops nothing");

    latch_open(&g.release);
    TAP_OK(t, thread_pool_await_termination(pool, LIMIT_MS),
           "graceful: terminates once the gate opens");
    TAP_OK(t, atomic_load(&runs) == 10, "graceful: all 10 queued tasks ran");
    TAP_OK(t, thread_pool_completed_count(pool) == 11,
           "graceful: completed_count 11 (gate + 10)");
    TAP_OK(t, thread_pool_is_terminated(pool), "graceful: is_terminated");
    thread_pool_free(pool);
    gate_destroy(&g);
}

/* The argument shutdown_now hands back owns memory; the drop function
 * frees it, so LeakSanitizer proves every dropped task was handed back. */
typedef struct owned {
    atomic_int *runs;
    int index;
} owned;

static void owned_task(void *arg)
{
    owned *o = arg;
    atomic_fetch_add(o->runs, 1);
    free(o);
}

typedef struct drops {
    int count;
    bool in_order;
    bool right_function;
} drops;

static void drop_owned(thread_pool_task task, void *context)
{
    drops *d = context;
    owned *o = task.arg;
    d->in_order = d->in_order && o->index == d->count;
    d->right_function = d->right_function && task.run == owned_task;
    d->count++;
    free(o);
}

static void test_shutdown_now(tap *t)
{
    gate g;
    gate_init(&g);
    atomic_int runs;
    atomic_init(&runs, 0);
    thread_pool *pool = thread_pool_create(1, 16, THREAD_POOL_BLOCK);
    TAP_OK(t, hold_worker(pool, &g), "now: the gate task holds the worker");
    size_t ok = 0;
    for (int i = 0; i < 10; i++) {
        owned *o = malloc(sizeof *o);
        *o = (owned){.runs = &runs, .index = i};
        ok += thread_pool_submit(pool, owned_task, o) == THREAD_POOL_OK;
    }
    TAP_OK(t, ok == 10 && thread_pool_queue_length(pool) == 10,
           "now: 10 tasks queued behind it");

    drops d = {.count = 0, .in_order = true, .right_function = true};
    size_t dropped = thread_pool_shutdown_now(pool, drop_owned, &d);
    TAP_OK(t, dropped == 10, "now: shutdown_now reports 10 dropped (%zu)",
           dropped);
    TAP_OK(t, d.count == 10 && d.in_order && d.right_function,
           "now: each dropped task is handed back once, in queue order");
    TAP_OK(t, thread_pool_queue_length(pool) == 0, "now: the queue is empty");
    TAP_OK(t, thread_pool_is_shutdown(pool), "now: is_shutdown");
    TAP_OK(t, thread_pool_active_count(pool) == 1,
           "now: the running gate task is not interrupted");
    TAP_OK(t,
           thread_pool_submit(pool, count_task, &runs) == THREAD_POOL_SHUT_DOWN,
           "now: submit after shutdown_now is SHUT_DOWN");
    TAP_OK(t, thread_pool_shutdown_now(pool, drop_owned, &d) == 0,
           "now: a second shutdown_now drops nothing");
    thread_pool_shutdown(pool);
    TAP_OK(t, thread_pool_is_shutdown(pool),
           "now: shutdown after shutdown_now keeps it shut down");

    latch_open(&g.release);
    TAP_OK(t, thread_pool_await_termination(pool, LIMIT_MS),
           "now: terminates once the gate opens");
    TAP_OK(t, atomic_load(&runs) == 0, "now: no dropped task ran");
    TAP_OK(t, thread_pool_completed_count(pool) == 1,
           "now: completed_count 1 (the gate)");
    thread_pool_free(pool);
    gate_destroy(&g);

    /* Without a drop function the tasks are only counted. */
    gate_init(&g);
    pool = thread_pool_create(1, 4, THREAD_POOL_REJECT);
    hold_worker(pool, &g);
    thread_pool_submit(pool, count_task, &runs);
    thread_pool_submit(pool, count_task, &runs);
    TAP_OK(t, thread_pool_shutdown_now(pool, NULL, NULL) == 2,
           "now: with no drop function, still counts 2 dropped");
    latch_open(&g.release);
    thread_pool_free(pool);
    TAP_OK(t, atomic_load(&runs) == 0, "now: and they did not run");
    gate_destroy(&g);
}

/* --- full queue policies
 * --------------------------------------------------------- */

static void test_reject_policy(tap *t)
{
    gate g;
    gate_init(&g);
    atomic_int runs;
    atomic_init(&runs, 0);
    thread_pool *pool = thread_pool_create(1, 2, THREAD_POOL_REJECT);
    TAP_OK(t, hold_worker(pool, &g), "reject: the gate task holds the worker");
    TAP_OK(t,
           thread_pool_submit(pool, count_task, &runs) == THREAD_POOL_OK &&
               thread_pool_submit(pool, count_task, &runs) == THREAD_POOL_OK,
           "reject: two tasks fill the queue of 2");
    thread_pool_status s = thread_pool_submit(pool, count_task, &runs);
    TAP_OK(t, s == THREAD_POOL_REJECTED, "reject: the third is REJECTED (%s)",
           thread_pool_status_name(s));
    TAP_OK(t, thread_pool_queue_length(pool) == 2,
           "reject: the queue still holds 2");
    TAP_OK(t, thread_pool_waiting_submitters(pool) == 0,
           "reject: nobody waits under REJECT");
    latch_open(&g.release);
    thread_pool_shutdown(pool);
    TAP_OK(t, thread_pool_await_termination(pool, LIMIT_MS),
           "reject: terminates");
    TAP_OK(t, atomic_load(&runs) == 2, "reject: the rejected task never ran");
    thread_pool_free(pool);
    gate_destroy(&g);
}

/* A task that writes its name into a trace that only the pool's single
 * worker touches; the test reads it after await_termination. */
typedef struct ordered {
    char *trace;
    size_t *length;
    char name;
} ordered;

static void ordered_task(void *arg)
{
    ordered *o = arg;
    o->trace[(*o->length)++] = o->name;
}

/* A second thread that submits one task and reports how it went. */
typedef struct blocked {
    thread_pool *pool;
    thread_pool_fn *run;
    void *arg;
    gate *holder; /* the gate that holds the worker meanwhile */
    thread_pool_status status;
    bool gate_done_first; /* had the gate task finished when submit returned? */
    atomic_bool returned;
    latch done;
} blocked;

static void *submit_one(void *arg)
{
    blocked *b = arg;
    b->status = thread_pool_submit(b->pool, b->run, b->arg);
    b->gate_done_first = atomic_load(&b->holder->finished);
    atomic_store(&b->returned, true);
    latch_open(&b->done);
    return NULL;
}

static void start_submitter(blocked *b, pthread_t *thread)
{
    atomic_init(&b->returned, false);
    latch_init(&b->done, 1);
    pthread_create(thread, NULL, submit_one, b);
}

static void test_block_policy(tap *t)
{
    /* Everything the other threads touch lives on the heap: if the pool
     * never lets the submitter go, the test leaks it and moves on, and
     * the stuck thread must not point into a reused stack frame. */
    struct {
        gate g;
        char trace[4];
        size_t length;
        ordered a, b;
        blocked sub;
    } *c = calloc(1, sizeof *c);
    gate_init(&c->g);
    c->a = (ordered){c->trace, &c->length, 'A'};
    c->b = (ordered){c->trace, &c->length, 'B'};
    thread_pool *pool = thread_pool_create(1, 1, THREAD_POOL_BLOCK);
    TAP_OK(t, hold_worker(pool, &c->g),
           "block: the gate task holds the worker");
    TAP_OK(t, thread_pool_submit(pool, ordered_task, &c->a) == THREAD_POOL_OK,
           "block: task A fills the queue of 1");

    c->sub = (blocked){
        .pool = pool, .run = ordered_task, .arg = &c->b, .holder = &c->g};
    pthread_t thread;
    start_submitter(&c->sub, &thread);
    TAP_OK(t, wait_for_waiting_submitters(pool, 1),
           "block: the submitter of B waits inside submit");
    TAP_OK(t, !atomic_load(&c->sub.returned),
           "block: ... and has not returned while the queue is full");
    TAP_OK(t, thread_pool_queue_length(pool) == 1,
           "block: the queue never holds more than its capacity");

    latch_open(&c->g.release);
    bool returned = latch_wait(&c->sub.done);
    TAP_OK(t, returned, "block: B's submit returns once A leaves");
    if (!returned)
        return; /* leak it all rather than hang in join or free */
    pthread_join(thread, NULL);
    TAP_OK(t, c->sub.status == THREAD_POOL_OK, "block: ... with OK (%s)",
           thread_pool_status_name(c->sub.status));
    TAP_OK(t, c->sub.gate_done_first,
           "block: ... only after the gate task ended and A was taken");
    thread_pool_shutdown(pool);
    TAP_OK(t, thread_pool_await_termination(pool, LIMIT_MS),
           "block: terminates");
    TAP_OK(t, c->length == 2 && c->trace[0] == 'A' && c->trace[1] == 'B',
           "block: A ran, then B (trace \"%s\")", c->trace);
    thread_pool_free(pool);
    latch_destroy(&c->sub.done);
    gate_destroy(&c->g);
    free(c);
}

/* A submitter asleep on a full queue must not sleep through a shutdown. */
static void test_blocked_submitter_released(tap *t)
{
    for (int now = 0; now <= 1; now++) {
        const char *how = now ? "shutdown_now" : "shutdown";
        /* On the heap: if the pool fails to release the submitter, the
         * test leaves it stuck and goes on, and the stuck thread must not
         * point into a stack frame that later tests reuse. */
        gate *g = malloc(sizeof *g);
        blocked *sub = malloc(sizeof *sub);
        atomic_int *runs = malloc(sizeof *runs);
        gate_init(g);
        atomic_init(runs, 0);
        thread_pool *pool = thread_pool_create(1, 1, THREAD_POOL_BLOCK);
        hold_worker(pool, g);
        thread_pool_submit(pool, count_task, runs);

        *sub = (blocked){
            .pool = pool, .run = count_task, .arg = runs, .holder = g};
        pthread_t thread;
        start_submitter(sub, &thread);
        TAP_OK(t, wait_for_waiting_submitters(pool, 1),
               "%s: a submitter waits on the full queue", how);
        size_t dropped = 0;
        if (now)
            dropped = thread_pool_shutdown_now(pool, NULL, NULL);
        else
            thread_pool_shutdown(pool);
        bool released = latch_wait(&sub->done);
        TAP_OK(t, released, "%s: releases it", how);
        latch_open(&g->release);
        if (!released)
            continue; /* leak it all rather than hang in join or free */
        pthread_join(thread, NULL);
        TAP_OK(t, sub->status == THREAD_POOL_SHUT_DOWN,
               "%s: its submit returns SHUT_DOWN (%s)", how,
               thread_pool_status_name(sub->status));
        TAP_OK(t, thread_pool_waiting_submitters(pool) == 0,
               "%s: nobody waits any more", how);
        TAP_OK(t, thread_pool_await_termination(pool, LIMIT_MS),
               "%s: terminates", how);
        TAP_OK(t,
               atomic_load(runs) == (now ? 0 : 1) && dropped == (now ? 1 : 0),
               "%s: the queued task %s", how, now ? "was dropped" : "ran");
        thread_pool_free(pool);
        latch_destroy(&sub->done);
        gate_destroy(g);
        free(runs);
        free(sub);
        free(g);
    }
}

/* The ring starts small and doubles; growing it while the queue wraps
 * around its end must keep the tasks in order. */
static void test_queue_grows_in_order(tap *t)
{
    enum { FIRST = 10, CAPACITY = 1000 };
    static char trace[FIRST + CAPACITY];
    static ordered tasks[FIRST + CAPACITY];
    size_t length = 0;
    gate g1, g2;
    gate_init(&g1);
    gate_init(&g2);
    thread_pool *pool = thread_pool_create(1, CAPACITY, THREAD_POOL_REJECT);
    for (size_t i = 0; i < FIRST + CAPACITY; i++)
        tasks[i] = (ordered){trace, &length, (char)('a' + i % 26)};

    /* First move the ring's head away from slot 0, so that later the
     * queue wraps around the end of the ring before it grows. */
    hold_worker(pool, &g1);
    for (size_t i = 0; i < FIRST; i++)
        thread_pool_submit(pool, ordered_task, &tasks[i]);
    thread_pool_submit(pool, gate_task, &g2);
    latch_open(&g1.release);
    TAP_OK(t, latch_wait(&g2.started), "grow: the ring's head has moved on");

    size_t ok = 0;
    for (size_t i = FIRST; i < FIRST + CAPACITY; i++)
        ok +=
            thread_pool_submit(pool, ordered_task, &tasks[i]) == THREAD_POOL_OK;
    TAP_OK(t, ok == CAPACITY, "grow: %d tasks fill the queue", CAPACITY);
    TAP_OK(t,
           thread_pool_submit(pool, ordered_task, &tasks[0]) ==
               THREAD_POOL_REJECTED,
           "grow: one more is REJECTED at exactly the capacity");
    TAP_OK(t, thread_pool_queue_length(pool) == CAPACITY,
           "grow: queue_length is the capacity");
    latch_open(&g2.release);
    thread_pool_shutdown(pool);
    TAP_OK(t, thread_pool_await_termination(pool, LIMIT_MS),
           "grow: terminates");
    bool in_order = length == FIRST + CAPACITY;
    for (size_t i = 0; in_order && i < length; i++)
        in_order = trace[i] == (char)('a' + i % 26);
    TAP_OK(t, in_order, "grow: all %d tasks ran, in submission order",
           FIRST + CAPACITY);
    thread_pool_free(pool);
    gate_destroy(&g1);
    gate_destroy(&g2);
}

/* --- waiting and freeing
 * ------------------------------------------------------- */

static void test_await_termination(tap *t)
{
    gate g;
    gate_init(&g);
    thread_pool *pool = thread_pool_create(2, 4, THREAD_POOL_BLOCK);
    hold_worker(pool, &g);

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    TAP_OK(t, !thread_pool_await_termination(pool, 20),
           "await: false on a pool that was never shut down");
    thread_pool_shutdown(pool);
    TAP_OK(t, !thread_pool_await_termination(pool, 0),
           "await: timeout 0 is false while a task is held");
    TAP_OK(t, !thread_pool_await_termination(pool, 50),
           "await: timeout 50 ms is false while a task is held");
    /* A lower bound only: a timed wait must not give up early. */
    long waited = elapsed_ms(&start);
    TAP_OK(t, waited >= 70, "await: the two timeouts really waited (%ld ms)",
           waited);
    TAP_OK(t, !thread_pool_is_terminated(pool), "await: not terminated yet");

    latch_open(&g.release);
    TAP_OK(t, thread_pool_await_termination(pool, LIMIT_MS),
           "await: true once the task is released");
    TAP_OK(t, thread_pool_await_termination(pool, 0),
           "await: and stays true, even with timeout 0");
    TAP_OK(t, thread_pool_await_termination(pool, -1),
           "await: and with no limit");
    thread_pool_free(pool);
    gate_destroy(&g);

    /* An idle pool terminates as soon as it is shut down. */
    pool = thread_pool_create(3, 1, THREAD_POOL_REJECT);
    thread_pool_shutdown(pool);
    TAP_OK(t, thread_pool_await_termination(pool, -1),
           "await: an idle pool terminates right after shutdown");
    thread_pool_free(pool);
}

static void test_free_runs_the_queue(tap *t)
{
    atomic_int runs;
    atomic_init(&runs, 0);
    thread_pool *pool = thread_pool_create(2, 128, THREAD_POOL_BLOCK);
    for (int i = 0; i < 100; i++)
        thread_pool_submit(pool, count_task, &runs);
    TAP_OK(t, thread_pool_free(pool) == THREAD_POOL_OK,
           "free without shutdown succeeds");
    TAP_OK(t, atomic_load(&runs) == 100,
           "free shuts down gracefully: all 100 queued tasks ran (%d)",
           atomic_load(&runs));
}

typedef struct self_free {
    thread_pool *pool;
    thread_pool_status free_status;
    thread_pool_status submit_status;
    atomic_int runs;
    latch done;
} self_free;

static void follow_up_task(void *arg)
{
    self_free *s = arg;
    atomic_fetch_add(&s->runs, 1);
    latch_open(&s->done);
}

/* A task may use its own pool, except to free it. */
static void self_task(void *arg)
{
    self_free *s = arg;
    s->free_status = thread_pool_free(s->pool);
    s->submit_status = thread_pool_submit(s->pool, follow_up_task, s);
}

static void test_calls_from_a_task(tap *t)
{
    self_free s = {.pool = thread_pool_create(1, 4, THREAD_POOL_REJECT)};
    atomic_init(&s.runs, 0);
    latch_init(&s.done, 1);
    thread_pool_submit(s.pool, self_task, &s);
    TAP_OK(t, latch_wait(&s.done), "a task's own submit runs");
    thread_pool_shutdown(s.pool);
    TAP_OK(t, thread_pool_await_termination(s.pool, LIMIT_MS),
           "that pool terminates");
    TAP_OK(t, s.free_status == THREAD_POOL_BAD_ARGUMENT,
           "free from inside a task is BAD_ARGUMENT, not a deadlock");
    TAP_OK(t, s.submit_status == THREAD_POOL_OK && atomic_load(&s.runs) == 1,
           "submit from inside a task works");
    thread_pool_free(s.pool);
    latch_destroy(&s.done);
}

/* --- signals -----------------------------------------------------------------
 */

typedef struct mask_seen {
    bool int_blocked, term_blocked, usr1_blocked;
    latch done;
} mask_seen;

static void mask_task(void *arg)
{
    mask_seen *m = arg;
    sigset_t set;
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    m->int_blocked = sigismember(&set, SIGINT) == 1;
    m->term_blocked = sigismember(&set, SIGTERM) == 1;
    m->usr1_blocked = sigismember(&set, SIGUSR1) == 1;
    latch_open(&m->done);
}

static void test_workers_block_signals(tap *t)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    mask_seen m = {0};
    latch_init(&m.done, 1);
    thread_pool *pool = thread_pool_create(2, 2, THREAD_POOL_BLOCK);
    thread_pool_submit(pool, mask_task, &m);
    TAP_OK(t, latch_wait(&m.done), "signals: the task ran");
    TAP_OK(t, m.int_blocked && m.term_blocked && m.usr1_blocked,
           "signals: a worker blocks SIGINT, SIGTERM and SIGUSR1");
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    TAP_OK(t, sigismember(&set, SIGINT) == 0,
           "signals: the creating thread's mask is given back unchanged");
    thread_pool_free(pool);
    latch_destroy(&m.done);
}

int main(void)
{
    tap t = {0, 0};
    /* A hang is a failure too: if a wait that should end never does, the
     * alarm kills the program and the test fails instead of stalling. */
    alarm(60);
    test_status_names(&t);
    test_bad_arguments(&t);
    test_every_task_once(&t);
    test_graceful_shutdown(&t);
    test_shutdown_now(&t);
    test_reject_policy(&t);
    test_block_policy(&t);
    test_blocked_submitter_released(&t);
    test_queue_grows_in_order(&t);
    test_await_termination(&t);
    test_free_runs_the_queue(&t);
    test_calls_from_a_task(&t);
    test_workers_block_signals(&t);
    return tap_done(&t);
}
