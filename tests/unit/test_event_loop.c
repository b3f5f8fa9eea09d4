/*
 * test_event_loop.c - the event loop's contract: tasks run on the loop's
 * thread in the order posted (from one thread and from several), timers
 * fire in deadline order and never early, repeating timers repeat until
 * cancelled, shutdown runs what was queued, refuses what comes after and
 * hands every registered channel to its closing hook; the group hands out
 * its loops in turn.
 *
 * Every wait is bounded (a latch with a time limit), so a broken loop
 * fails a check instead of hanging; an alarm ends the program if
 * something hangs anyway. The only sleeps are the measuring windows of
 * the polling test, where time passing is the thing measured.
 */
#include "06-two-selectors/event_loop.h"
#include "sync_helpers.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIMIT_MS 10000L

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        continue;
}

static event_loop *new_loop(long poll_ms)
{
    event_loop_options options = event_loop_default_options();
    options.poll_ms = poll_ms;
    options.program = "test_event_loop";
    return event_loop_create(&options);
}

/* --- where tasks run ------------------------------------------------------ */

typedef struct where {
    bool in_loop;
    bool same_thread_as_main;
    pthread_t main_thread;
    latch done;
} where;

static void record_where(event_loop *loop, void *arg)
{
    where *w = arg;
    w->in_loop = in_event_loop(loop);
    w->same_thread_as_main = pthread_equal(pthread_self(), w->main_thread);
    latch_count_down(&w->done);
}

static void test_runs_on_loop_thread(tap *t)
{
    event_loop *loop = new_loop(0);
    TAP_OK(t, loop != NULL, "a loop starts");
    TAP_OK(t, !in_event_loop(loop), "the main thread is not in the loop");
    where w = {.main_thread = pthread_self()};
    latch_init(&w.done, 1);
    TAP_OK(t, event_loop_execute(loop, record_where, &w) == EVENT_LOOP_OK,
           "execute accepts a task");
    TAP_OK(t, latch_await(&w.done, LIMIT_MS), "the task runs");
    TAP_OK(t, w.in_loop && !w.same_thread_as_main,
           "on the loop's own thread, where in_event_loop is true");
    TAP_OK(t, event_loop_execute(loop, NULL, NULL) == EVENT_LOOP_BAD_ARGUMENT,
           "a NULL task is refused");
    TAP_OK(t, event_loop_free(loop) == EVENT_LOOP_OK, "the loop is freed");
    latch_destroy(&w.done);
}

/* --- FIFO ------------------------------------------------------------------
 */

enum { PRODUCERS = 4, PER_PRODUCER = 2500 };

typedef struct fifo_log {
    /* Written by the loop's thread only; read after the latch opens. */
    int producer[PRODUCERS * PER_PRODUCER];
    int seq[PRODUCERS * PER_PRODUCER];
    size_t count;
    latch all_ran;
} fifo_log;

typedef struct fifo_item {
    fifo_log *log;
    int producer, seq;
} fifo_item;

static void log_item(event_loop *loop, void *arg)
{
    (void)loop;
    fifo_item *item = arg;
    fifo_log *log = item->log;
    log->producer[log->count] = item->producer;
    log->seq[log->count] = item->seq;
    log->count++;
    latch_count_down(&log->all_ran);
}

typedef struct producer_args {
    event_loop *loop;
    fifo_item *items;
    int failures;
} producer_args;

static void *produce(void *arg)
{
    producer_args *p = arg;
    for (int i = 0; i < PER_PRODUCER; i++)
        if (event_loop_execute(p->loop, log_item, &p->items[i]) !=
            EVENT_LOOP_OK)
            p->failures++;
    return NULL;
}

static void test_fifo(tap *t)
{
    event_loop *loop = new_loop(0);
    fifo_log *log = calloc(1, sizeof *log);
    fifo_item *items = calloc(PRODUCERS * PER_PRODUCER, sizeof *items);

    /* One producer: the exact order. */
    latch_init(&log->all_ran, PER_PRODUCER);
    for (int i = 0; i < PER_PRODUCER; i++) {
        items[i] = (fifo_item){log, 0, i};
        event_loop_execute(loop, log_item, &items[i]);
    }
    bool ran = latch_await(&log->all_ran, LIMIT_MS);
    bool in_order = log->count == PER_PRODUCER;
    for (size_t i = 0; in_order && i < log->count; i++)
        in_order = log->seq[i] == (int)i;
    TAP_OK(t, ran && in_order, "%d tasks from one thread run in post order",
           PER_PRODUCER);
    latch_destroy(&log->all_ran);

    /* Several producers at once: each one's tasks keep their order. */
    log->count = 0;
    latch_init(&log->all_ran, PRODUCERS * PER_PRODUCER);
    pthread_t threads[PRODUCERS];
    producer_args args[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++) {
        for (int i = 0; i < PER_PRODUCER; i++)
            items[p * PER_PRODUCER + i] = (fifo_item){log, p, i};
        args[p] = (producer_args){loop, &items[p * PER_PRODUCER], 0};
        pthread_create(&threads[p], NULL, produce, &args[p]);
    }
    int failures = 0;
    for (int p = 0; p < PRODUCERS; p++) {
        pthread_join(threads[p], NULL);
        failures += args[p].failures;
    }
    ran = latch_await(&log->all_ran, LIMIT_MS);
    int last[PRODUCERS] = {-1, -1, -1, -1};
    size_t seen[PRODUCERS] = {0};
    in_order = true;
    for (size_t i = 0; i < log->count; i++) {
        int p = log->producer[i];
        in_order = in_order && log->seq[i] == last[p] + 1;
        last[p] = log->seq[i];
        seen[p]++;
    }
    TAP_OK(t, failures == 0 && ran && log->count == PRODUCERS * PER_PRODUCER,
           "%d threads post %d tasks each; all %d run", PRODUCERS, PER_PRODUCER,
           PRODUCERS * PER_PRODUCER);
    bool all_seen = true;
    for (int p = 0; p < PRODUCERS; p++)
        all_seen = all_seen && seen[p] == PER_PRODUCER;
    TAP_OK(t, in_order && all_seen,
           "each thread's tasks run in the order that thread posted them");
    event_loop_free(loop);
    latch_destroy(&log->all_ran);
    free(items);
    free(log);
}

/* --- timers ----------------------------------------------------------------
 */

enum { TIMERS = 8 };

typedef struct timer_log {
    int64_t deadline[TIMERS]; /* written by main before scheduling */
    int order[TIMERS];        /* loop thread */
    int64_t fired_at[TIMERS]; /* loop thread */
    bool on_loop[TIMERS];
    int count;
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
    log->order[log->count++] = item->index;
    latch_count_down(&log->done);
}

static void test_timers_in_order(tap *t)
{
    event_loop *loop = new_loop(0);
    static const long delays[TIMERS] = {120, 40, 80, 0, 40, 160, 20, 60};
    /* Expected: by delay, and in scheduling order for the two 40s. */
    static const int expected[TIMERS] = {3, 6, 1, 4, 7, 2, 0, 5};
    timer_log log = {.count = 0};
    timer_item items[TIMERS];
    latch_init(&log.done, TIMERS);
    bool scheduled = true;
    for (int i = 0; i < TIMERS; i++) {
        items[i] = (timer_item){&log, i};
        log.deadline[i] = now_ns() + delays[i] * 1000000;
        scheduled =
            scheduled && event_loop_schedule(loop, delays[i], timer_fired,
                                             &items[i], NULL) == EVENT_LOOP_OK;
    }
    TAP_OK(t, scheduled, "%d one-shot timers scheduled from another thread",
           TIMERS);
    TAP_OK(t, latch_await(&log.done, LIMIT_MS), "all of them fire");
    bool in_order = true, never_early = true, on_loop = true;
    for (int i = 0; i < TIMERS; i++) {
        in_order = in_order && log.order[i] == expected[i];
        never_early = never_early && log.fired_at[i] >= log.deadline[i];
        on_loop = on_loop && log.on_loop[i];
    }
    TAP_OK(t, in_order,
           "in deadline order: 0, 20, 40, 40, 60, 80, 120, 160 ms "
           "(got %d %d %d %d %d %d %d %d)",
           log.order[0], log.order[1], log.order[2], log.order[3], log.order[4],
           log.order[5], log.order[6], log.order[7]);
    TAP_OK(t, never_early, "none fires before its deadline");
    TAP_OK(t, on_loop, "each runs on the loop's thread");
    TAP_OK(t,
           event_loop_schedule(loop, -1, timer_fired, &items[0], NULL) ==
                   EVENT_LOOP_BAD_ARGUMENT &&
               event_loop_schedule_at_fixed_rate(loop, 0, 0, timer_fired,
                                                 &items[0], NULL) ==
                   EVENT_LOOP_BAD_ARGUMENT,
           "a negative delay and a zero period are refused");
    event_loop_free(loop);
    latch_destroy(&log.done);
}

/* A repeating timer, scheduled from the loop's thread, that cancels itself
 * on its fifth run; then a one-shot timer later shows it stayed quiet. */
typedef struct repeat_state {
    event_loop_timer id;
    int runs;
    bool cancel_result;
    int64_t first_run, fifth_run;
    int runs_when_sentinel_fired;
    latch sentinel;
} repeat_state;

static void sentinel_fired(event_loop *loop, void *arg)
{
    (void)loop;
    repeat_state *s = arg;
    s->runs_when_sentinel_fired = s->runs;
    latch_count_down(&s->sentinel);
}

static void repeat_run(event_loop *loop, void *arg)
{
    repeat_state *s = arg;
    if (++s->runs == 1)
        s->first_run = now_ns();
    if (s->runs == 5) {
        s->fifth_run = now_ns();
        s->cancel_result = event_loop_cancel_timer(loop, s->id);
        event_loop_schedule(loop, 100, sentinel_fired, s, NULL);
    }
}

static void start_repeating(event_loop *loop, void *arg)
{
    repeat_state *s = arg;
    event_loop_schedule_at_fixed_rate(loop, 0, 10, repeat_run, s, &s->id);
}

static void test_repeating_timer(tap *t)
{
    event_loop *loop = new_loop(0);
    repeat_state s = {.runs = 0};
    latch_init(&s.sentinel, 1);
    event_loop_execute(loop, start_repeating, &s);
    TAP_OK(t, latch_await(&s.sentinel, LIMIT_MS),
           "a repeating timer runs five times and schedules a sentinel");
    TAP_OK(t, s.cancel_result, "cancelling itself from its fifth run works");
    TAP_OK(t, s.runs_when_sentinel_fired == 5,
           "no sixth run in the 100 ms after (runs: %d)",
           s.runs_when_sentinel_fired);
    TAP_OK(t, s.fifth_run - s.first_run >= 40 * 1000000,
           "four periods of 10 ms lie between the first and fifth runs");
    event_loop_free(loop);
    latch_destroy(&s.sentinel);
}

typedef struct cancel_state {
    atomic_bool cancelled_ran;
    latch sentinel;
} cancel_state;

static void must_not_run(event_loop *loop, void *arg)
{
    (void)loop;
    cancel_state *s = arg;
    atomic_store(&s->cancelled_ran, true);
}

static void cancel_sentinel(event_loop *loop, void *arg)
{
    (void)loop;
    cancel_state *s = arg;
    latch_count_down(&s->sentinel);
}

static void test_cancel_timer(tap *t)
{
    event_loop *loop = new_loop(0);
    cancel_state s;
    atomic_init(&s.cancelled_ran, false);
    latch_init(&s.sentinel, 1);
    event_loop_timer id = 0;
    event_loop_schedule(loop, 50, must_not_run, &s, &id);
    TAP_OK(t, id != 0 && event_loop_cancel_timer(loop, id),
           "a pending timer is cancelled from another thread");
    TAP_OK(t, !event_loop_cancel_timer(loop, id),
           "cancelling it again finds nothing");
    event_loop_schedule(loop, 100, cancel_sentinel, &s, NULL);
    TAP_OK(t,
           latch_await(&s.sentinel, LIMIT_MS) && !atomic_load(&s.cancelled_ran),
           "a later timer fires; the cancelled one never did");
    event_loop_free(loop);
    latch_destroy(&s.sentinel);
}

/* --- shutdown ---------------------------------------------------------------
 */

typedef struct gate {
    latch entered; /* the first task is running */
    latch open;    /* the test lets it finish */
    atomic_int ran;
    atomic_bool timer_ran;
} gate;

static void gate_task(event_loop *loop, void *arg)
{
    (void)loop;
    gate *g = arg;
    latch_count_down(&g->entered);
    latch_await(&g->open, LIMIT_MS);
    atomic_fetch_add(&g->ran, 1);
}

static void counted_task(event_loop *loop, void *arg)
{
    (void)loop;
    gate *g = arg;
    atomic_fetch_add(&g->ran, 1);
}

static void late_timer(event_loop *loop, void *arg)
{
    (void)loop;
    gate *g = arg;
    atomic_store(&g->timer_ran, true);
}

static void test_shutdown_drains(tap *t)
{
    event_loop *loop = new_loop(0);
    gate g;
    latch_init(&g.entered, 1);
    latch_init(&g.open, 1);
    atomic_init(&g.ran, 0);
    atomic_init(&g.timer_ran, false);
    event_loop_execute(loop, gate_task, &g);
    for (int i = 0; i < 99; i++)
        event_loop_execute(loop, counted_task, &g);
    event_loop_schedule(loop, 60000, late_timer, &g, NULL);
    TAP_OK(t, latch_await(&g.entered, LIMIT_MS), "the first task is running");
    event_loop_shutdown(loop);
    TAP_OK(t, event_loop_is_shutting_down(loop), "shutdown has begun");
    TAP_OK(t,
           event_loop_execute(loop, counted_task, &g) == EVENT_LOOP_SHUT_DOWN,
           "a task posted after shutdown is refused");
    TAP_OK(t,
           event_loop_schedule(loop, 1, late_timer, &g, NULL) ==
               EVENT_LOOP_SHUT_DOWN,
           "so is a timer");
    latch_count_down(&g.open);
    int64_t start = now_ns();
    TAP_OK(t, event_loop_free(loop) == EVENT_LOOP_OK,
           "free waits for the loop");
    TAP_OK(t, atomic_load(&g.ran) == 100,
           "all 100 tasks queued before shutdown ran (%d)",
           atomic_load(&g.ran));
    TAP_OK(t, !atomic_load(&g.timer_ran) && now_ns() - start < 30000000000LL,
           "the pending one-minute timer is dropped, not waited for");
    latch_destroy(&g.entered);
    latch_destroy(&g.open);
}

static void free_self(event_loop *loop, void *arg)
{
    event_loop_status *status = arg;
    *status = event_loop_free(loop);
}

static void test_free_from_inside(tap *t)
{
    event_loop *loop = new_loop(0);
    event_loop_status status = EVENT_LOOP_OK;
    event_loop_execute(loop, free_self, &status);
    event_loop_free(loop); /* runs the queued task first */
    TAP_OK(t, status == EVENT_LOOP_WRONG_THREAD,
           "a loop cannot free itself from its own thread (%s)",
           event_loop_status_name(status));
    TAP_OK(t, event_loop_free(NULL) == EVENT_LOOP_OK, "freeing NULL is fine");
}

/* --- channels and the closing hook -----------------------------------------
 */

enum { PAIRS = 3 };

typedef struct conn_set {
    channel *listener;
    channel *client[PAIRS]; /* main's ends */
    channel *server[PAIRS]; /* registered on the loop */
    atomic_int closed;
    event_loop_status first, again, foreign;
    latch registered;
} conn_set;

static void conn_ready(event_loop *loop, selection_key *key, void *context)
{
    (void)loop;
    (void)key;
    (void)context;
}

static void conn_closing(event_loop *loop, selection_key *key, void *context)
{
    (void)loop;
    conn_set *set = *(conn_set **)context;
    if (!key_is_valid(key))
        atomic_fetch_add(&set->closed, 1);
    channel_close(key_channel(key));
    free(context);
}

static const event_loop_handler conn_handler = {conn_ready, conn_closing};

static void register_all(event_loop *loop, void *arg)
{
    conn_set *set = arg;
    for (int i = 0; i < PAIRS; i++) {
        conn_set **context = malloc(sizeof *context);
        *context = set;
        event_loop_status s = event_loop_register(loop, set->server[i], OP_READ,
                                                  &conn_handler, context, NULL);
        if (i == 0)
            set->first = s;
        if (s != EVENT_LOOP_OK)
            free(context);
    }
    set->again = event_loop_register(loop, set->server[0], OP_READ,
                                     &conn_handler, set, NULL);
    latch_count_down(&set->registered);
}

static bool open_pairs(conn_set *set)
{
    socket_address address;
    if (socket_address_resolve(&address, "127.0.0.1", 0) != 0)
        return false;
    set->listener = channel_open_server(&address, 16);
    if (set->listener == NULL ||
        socket_address_resolve(&address, "127.0.0.1",
                               channel_local_port(set->listener)) != 0)
        return false;
    for (int i = 0; i < PAIRS; i++) {
        set->client[i] = channel_open_connected(&address);
        set->server[i] = channel_accept(set->listener);
        if (set->client[i] == NULL || set->server[i] == NULL ||
            channel_configure_blocking(set->server[i], false) < 0)
            return false;
    }
    return true;
}

static void test_closing_hook(tap *t)
{
    event_loop *loop = new_loop(0);
    conn_set set = {.listener = NULL};
    atomic_init(&set.closed, 0);
    latch_init(&set.registered, 1);
    TAP_OK(t, open_pairs(&set), "%d TCP connections on loopback", PAIRS);
    set.foreign = event_loop_register(loop, set.server[0], OP_READ,
                                      &conn_handler, &set, NULL);
    TAP_OK(t, set.foreign == EVENT_LOOP_WRONG_THREAD,
           "registering from another thread is refused (%s)",
           event_loop_status_name(set.foreign));
    event_loop_execute(loop, register_all, &set);
    TAP_OK(t,
           latch_await(&set.registered, LIMIT_MS) && set.first == EVENT_LOOP_OK,
           "a task registers them on the loop's thread");
    TAP_OK(t, set.again == EVENT_LOOP_BAD_ARGUMENT,
           "registering a channel twice is refused");
    event_loop_free(loop);
    TAP_OK(t, atomic_load(&set.closed) == PAIRS,
           "shutdown hands each registered channel to its closing hook, "
           "its key already cancelled");
    bool all_eof = true;
    for (int i = 0; i < PAIRS; i++) {
        buffer *b = buffer_allocate(16);
        all_eof = all_eof && channel_read(set.client[i], b) == CHANNEL_EOF;
        buffer_free(b);
        channel_close(set.client[i]);
    }
    TAP_OK(t, all_eof, "the clients see end of stream: the hook closed them");
    channel_close(set.listener);
    latch_destroy(&set.registered);
}

/* --- the group
 * ---------------------------------------------------------------- */

typedef struct next_args {
    event_loop_group *group;
    atomic_int *picks; /* one counter per loop */
} next_args;

static void *pick_many(void *arg)
{
    next_args *a = arg;
    for (int i = 0; i < 300; i++) {
        event_loop *loop = event_loop_group_next(a->group);
        atomic_fetch_add(&a->picks[event_loop_index(loop)], 1);
    }
    return NULL;
}

static void test_group(tap *t)
{
    event_loop_options options = event_loop_default_options();
    event_loop_group *group = event_loop_group_create(0, &options);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    TAP_OK(t,
           group != NULL &&
               event_loop_group_size(group) == (size_t)(cpus > 0 ? cpus : 1),
           "a group of 0 loops gets one per online CPU (%zu)",
           event_loop_group_size(group));
    event_loop_group_free(group);

    group = event_loop_group_create(3, &options);
    bool turns = true;
    for (int i = 0; i < 9; i++)
        turns = turns && event_loop_group_next(group) ==
                             event_loop_group_get(group, (size_t)i % 3);
    TAP_OK(t, turns, "next gives loops 0, 1, 2, 0, 1, 2, ...");
    bool indexed = true;
    for (size_t i = 0; i < 3; i++)
        indexed =
            indexed && event_loop_index(event_loop_group_get(group, i)) == i;
    TAP_OK(t, indexed && event_loop_group_get(group, 3) == NULL,
           "loop i knows its index; there is no loop 3");

    atomic_int picks[3];
    for (int i = 0; i < 3; i++)
        atomic_init(&picks[i], 0);
    pthread_t threads[4];
    next_args args = {group, picks};
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, pick_many, &args);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    TAP_OK(t,
           atomic_load(&picks[0]) == 400 && atomic_load(&picks[1]) == 400 &&
               atomic_load(&picks[2]) == 400,
           "1,200 picks from 4 threads: exactly 400 per loop");

    where w[3];
    bool separate = true;
    for (size_t i = 0; i < 3; i++) {
        w[i] = (where){.main_thread = pthread_self()};
        latch_init(&w[i].done, 1);
        event_loop_execute(event_loop_group_get(group, i), record_where, &w[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        separate = separate && latch_await(&w[i].done, LIMIT_MS) &&
                   w[i].in_loop && !w[i].same_thread_as_main;
        latch_destroy(&w[i].done);
    }
    TAP_OK(t, separate, "each loop runs its tasks on its own thread");
    TAP_OK(t, event_loop_group_free(group) == EVENT_LOOP_OK,
           "the group shuts down and frees its loops");
}

/* --- polling versus blocking: wakeups while idle ---------------------------
 */

static void test_idle_wakeups(tap *t)
{
    event_loop *blocking = new_loop(0);
    event_loop *polling = new_loop(1);
    event_loop_stats b0 = event_loop_get_stats(blocking);
    event_loop_stats p0 = event_loop_get_stats(polling);
    sleep_ms(300);
    event_loop_stats b1 = event_loop_get_stats(blocking);
    event_loop_stats p1 = event_loop_get_stats(polling);
    uint64_t b = b1.selects - b0.selects, p = p1.selects - p0.selects;
    TAP_OK(t, b == 0, "idle for 300 ms, a blocking loop wakes 0 times (%llu)",
           (unsigned long long)b);
    TAP_OK(t, p >= 30,
           "a loop polling every 1 ms wakes again and again (%llu times)",
           (unsigned long long)p);
    event_loop_free(blocking);
    event_loop_free(polling);
}

int main(void)
{
    tap t = {0};
    alarm(120); /* the last resort if a bounded wait is not bounded */
    test_runs_on_loop_thread(&t);
    test_fifo(&t);
    test_timers_in_order(&t);
    test_repeating_timer(&t);
    test_cancel_timer(&t);
    test_shutdown_drains(&t);
    test_free_from_inside(&t);
    test_closing_hook(&t);
    test_group(&t);
    test_idle_wakeups(&t);
    return tap_done(&t);
}
