/*
 * event_loop.c - one thread, one selector, a task queue and timers. See
 * event_loop.h.
 *
 * What is shared and what is not: the task queue, the timer heap and the
 * shutdown flag are shared (guarded by `lock`); the selector, its keys and
 * the registrations belong to the loop's thread alone, which is why other
 * threads reach them only through tasks.
 */
#include "event_loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stop.h"
#include "timer_heap.h"
#include "clock.h"

typedef struct task {
    event_loop_task_fn *run;
    void *arg;
} task;

/* A growable array of tasks. Two of them take turns: threads append to
 * `incoming` under the lock; the loop swaps it with `running` and runs
 * that one with the lock released, so posting never waits for a task. */
typedef struct task_list {
    task *items;
    size_t count;
    size_t capacity;
} task_list;

typedef struct loop_timer {
    event_loop_timer id;
    int64_t deadline; /* CLOCK_MONOTONIC ns */
    int64_t period;   /* ns; 0 for a one-shot timer */
    event_loop_task_fn *run;
    void *arg;
    bool cancelled; /* set while it runs: do not put it back */
} loop_timer;

/* What a key's attachment points to. */
typedef struct registration {
    const event_loop_handler *handler;
    void *context;
} registration;

struct event_loop {
    event_loop_options options;
    size_t index;
    selector *sel;
    pthread_t thread; /* for pthread_join, by the loop's owner */
    bool joined;      /* the owner's thread only */
    pthread_t self;   /* written by the loop's thread before create returns */

    pthread_mutex_t lock;
    pthread_cond_t started_cond;
    bool started;              /* guarded by lock */
    atomic_bool shutting_down; /* written under lock, read anywhere */
    task_list incoming;        /* guarded by lock */
    timer_heap timers;         /* guarded by lock */
    loop_timer *running_timer; /* guarded by lock */
    atomic_uint_fast64_t next_timer_id;

    task_list running; /* the loop's thread only */

    atomic_uint_fast64_t selects, events, tasks, timer_runs;
};

struct event_loop_group {
    size_t count;
    event_loop **loops;
    atomic_size_t next;
};

const char *event_loop_status_name(event_loop_status status)
{
    switch (status) {
    case EVENT_LOOP_OK: return "EVENT_LOOP_OK";
    case EVENT_LOOP_SHUT_DOWN: return "EVENT_LOOP_SHUT_DOWN";
    case EVENT_LOOP_WRONG_THREAD: return "EVENT_LOOP_WRONG_THREAD";
    case EVENT_LOOP_BAD_ARGUMENT: return "EVENT_LOOP_BAD_ARGUMENT";
    case EVENT_LOOP_NO_MEMORY: return "EVENT_LOOP_NO_MEMORY";
    case EVENT_LOOP_SELECTOR_ERROR: return "EVENT_LOOP_SELECTOR_ERROR";
    case EVENT_LOOP_UNSUPPORTED: return "EVENT_LOOP_UNSUPPORTED";
    }
    return "EVENT_LOOP_UNKNOWN_STATUS";
}

event_loop_options event_loop_default_options(void)
{
    return (event_loop_options){.backend = selector_default_backend(),
                                .poll_ms = 0,
                                .program = "event-loop",
                                .log = LOG_WARN};
}

static void count(atomic_uint_fast64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static int task_list_append(task_list *list, task t)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 64;
        task *grown = capacity > SIZE_MAX / sizeof *grown
                          ? NULL
                          : realloc(list->items, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        list->items = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = t;
    return 0;
}

bool in_event_loop(const event_loop *loop)
{
    return loop != NULL && pthread_equal(pthread_self(), loop->self);
}

/* --- tasks --------------------------------------------------------------- */

/* excerpt:begin execute */
event_loop_status event_loop_execute(event_loop *loop, event_loop_task_fn *run,
                                     void *arg)
{
    /* lab:begin execute "Posting a task" (void)task_list_append; return EVENT_LOOP_UNSUPPORTED; */
    if (loop == NULL || run == NULL)
        return EVENT_LOOP_BAD_ARGUMENT;
    pthread_mutex_lock(&loop->lock);
    if (atomic_load(&loop->shutting_down)) {
        pthread_mutex_unlock(&loop->lock);
        return EVENT_LOOP_SHUT_DOWN;
    }
    int rc = task_list_append(&loop->incoming, (task){run, arg});
    pthread_mutex_unlock(&loop->lock);
    if (rc < 0)
        return EVENT_LOOP_NO_MEMORY;
    /* The loop may be blocked in select with an infinite timeout: wake it.
     * The wakeup is sticky, so it also works when the loop has checked the
     * queue but not yet entered select. Its own thread needs no wakeup:
     * it looks at the queue before it selects again. */
    if (!in_event_loop(loop) && loop->options.poll_ms == 0)
        selector_wakeup(loop->sel);
    return EVENT_LOOP_OK;
    /* lab:end execute */
}
/* excerpt:end execute */

/* Runs the tasks queued so far. Tasks they post wait for the next turn, so
 * a task that keeps re-posting itself cannot starve the channels. */
static size_t run_tasks(event_loop *loop)
{
    /* lab:begin run_tasks "Posting a task" return 0; */
    pthread_mutex_lock(&loop->lock);
    task_list batch = loop->incoming;
    loop->incoming = loop->running;
    pthread_mutex_unlock(&loop->lock);
    for (size_t i = 0; i < batch.count; i++) {
        batch.items[i].run(loop, batch.items[i].arg);
        count(&loop->tasks);
    }
    size_t ran = batch.count;
    batch.count = 0;
    loop->running = batch;
    return ran;
    /* lab:end run_tasks */
}

/* --- timers -------------------------------------------------------------- */

static event_loop_status add_timer(event_loop *loop, long delay_ms,
                                   long period_ms, event_loop_task_fn *run,
                                   void *arg, event_loop_timer *id)
{
    if (loop == NULL || run == NULL || delay_ms < 0 || period_ms < 0)
        return EVENT_LOOP_BAD_ARGUMENT;
    loop_timer *t = malloc(sizeof *t);
    if (t == NULL)
        return EVENT_LOOP_NO_MEMORY;
    *t = (loop_timer){.id = atomic_fetch_add(&loop->next_timer_id, 1),
                      .deadline = monotonic_ns() + (int64_t)delay_ms * 1000000,
                      .period = (int64_t)period_ms * 1000000,
                      .run = run,
                      .arg = arg};
    pthread_mutex_lock(&loop->lock);
    timer_heap_entry first;
    bool earliest =
        !timer_heap_peek(&loop->timers, &first) || t->deadline < first.deadline;
    event_loop_status status = EVENT_LOOP_OK;
    if (atomic_load(&loop->shutting_down))
        status = EVENT_LOOP_SHUT_DOWN;
    else if (timer_heap_push(&loop->timers,
                             (timer_heap_entry){t->deadline, t->id, t}) < 0)
        status = EVENT_LOOP_NO_MEMORY;
    pthread_mutex_unlock(&loop->lock);
    if (status != EVENT_LOOP_OK) {
        free(t);
        return status;
    }
    /* From here the heap owns t; the loop frees it after its last run. */
    if (id != NULL)
        *id = t->id;
    /* A loop asleep until a later deadline must recompute its timeout. */
    if (earliest && !in_event_loop(loop) && loop->options.poll_ms == 0)
        selector_wakeup(loop->sel);
    /* cppcheck-suppress memleak ; t is in the heap, which frees it */
    return EVENT_LOOP_OK;
}

event_loop_status event_loop_schedule(event_loop *loop, long delay_ms,
                                      event_loop_task_fn *run, void *arg,
                                      event_loop_timer *id)
{
    return add_timer(loop, delay_ms, 0, run, arg, id);
}

event_loop_status
event_loop_schedule_at_fixed_rate(event_loop *loop, long initial_delay_ms,
                                  long period_ms, event_loop_task_fn *run,
                                  void *arg, event_loop_timer *id)
{
    if (period_ms <= 0)
        return EVENT_LOOP_BAD_ARGUMENT;
    return add_timer(loop, initial_delay_ms, period_ms, run, arg, id);
}

bool event_loop_cancel_timer(event_loop *loop, event_loop_timer id)
{
    if (loop == NULL)
        return false;
    pthread_mutex_lock(&loop->lock);
    bool found = false;
    timer_heap_entry entry;
    if (loop->running_timer != NULL && loop->running_timer->id == id) {
        /* Cancelled while it runs (maybe by itself): a repeating timer
         * is not put back. */
        found =
            loop->running_timer->period > 0 && !loop->running_timer->cancelled;
        loop->running_timer->cancelled = true;
    } else if (timer_heap_remove(&loop->timers, id, &entry)) {
        free(entry.item);
        found = true;
    }
    pthread_mutex_unlock(&loop->lock);
    return found;
}

/* excerpt:begin timers */
/* Runs every timer whose deadline has passed, earliest first. The lock is
 * released around each run, so the run may schedule or cancel timers. */
static void run_timers(event_loop *loop)
{
    /* lab:begin run_timers "Timers" */
    int64_t now = monotonic_ns();
    timer_heap_entry first;
    pthread_mutex_lock(&loop->lock);
    while (timer_heap_peek(&loop->timers, &first) && first.deadline <= now) {
        timer_heap_pop(&loop->timers, &first);
        loop_timer *t = first.item;
        loop->running_timer = t;
        pthread_mutex_unlock(&loop->lock);
        t->run(loop, t->arg);
        count(&loop->timer_runs);
        pthread_mutex_lock(&loop->lock);
        loop->running_timer = NULL;
        if (t->period > 0 && !t->cancelled) {
            /* Fixed rate: the next deadline is one period after the last;
             * periods that passed while the loop was busy are skipped. */
            t->deadline += (1 + (now - t->deadline) / t->period) * t->period;
            if (timer_heap_push(&loop->timers,
                                (timer_heap_entry){t->deadline, t->id, t}) == 0)
                continue;
            log_at(loop->options.log, LOG_ERROR, loop->options.program,
                   "out of memory: a repeating timer stops");
        }
        free(t);
    }
    pthread_mutex_unlock(&loop->lock);
    /* lab:end run_timers */
}
/* excerpt:end timers */

/* excerpt:begin timeout */
/* How long select may sleep: until the earliest timer (rounded up, so a
 * timer never fires early), 0 when a task waits, -1 for "until woken". */
static long select_timeout_ms(event_loop *loop)
{
    /* lab:begin select_timeout_ms "How long to sleep" return -1; */
    long timeout = -1;
    timer_heap_entry first;
    pthread_mutex_lock(&loop->lock);
    if (loop->incoming.count > 0 || atomic_load(&loop->shutting_down)) {
        timeout = 0;
    } else if (timer_heap_peek(&loop->timers, &first)) {
        int64_t wait = first.deadline - monotonic_ns();
        int64_t ms = wait <= 0 ? 0 : (wait + 999999) / 1000000;
        timeout = ms > INT_MAX ? INT_MAX : (long)ms;
    }
    pthread_mutex_unlock(&loop->lock);
    return timeout;
    /* lab:end select_timeout_ms */
}
/* excerpt:end timeout */

static void drop_timers(event_loop *loop)
{
    timer_heap_entry entry;
    pthread_mutex_lock(&loop->lock);
    while (timer_heap_pop(&loop->timers, &entry))
        free(entry.item);
    timer_heap_clear(&loop->timers);
    pthread_mutex_unlock(&loop->lock);
}

/* --- channels ------------------------------------------------------------ */

event_loop_status event_loop_register(event_loop *loop, channel *ch, int ops,
                                      const event_loop_handler *handler,
                                      void *context, selection_key **key)
{
    if (loop == NULL || ch == NULL || handler == NULL || handler->ready == NULL)
        return EVENT_LOOP_BAD_ARGUMENT;
    if (!in_event_loop(loop))
        return EVENT_LOOP_WRONG_THREAD;
    if (selector_key_for(loop->sel, ch) != NULL)
        return EVENT_LOOP_BAD_ARGUMENT; /* registered already */
    registration *r = malloc(sizeof *r);
    if (r == NULL)
        return EVENT_LOOP_NO_MEMORY;
    *r = (registration){handler, context};
    selection_key *k = NULL;
    selector_status s = selector_register(loop->sel, ch, ops, r, &k);
    if (s != SELECTOR_OK) {
        free(r);
        if (s == SELECTOR_NO_MEMORY)
            return EVENT_LOOP_NO_MEMORY;
        log_at(loop->options.log, LOG_WARN, loop->options.program,
               "loop %zu: register: %s", loop->index, selector_status_name(s));
        return EVENT_LOOP_SELECTOR_ERROR;
    }
    if (key != NULL)
        *key = k;
    return EVENT_LOOP_OK;
}

void event_loop_deregister(event_loop *loop, selection_key *key)
{
    if (key == NULL || !in_event_loop(loop) || key_selector(key) != loop->sel)
        return;
    free(key_attach(key, NULL));
    key_cancel(key);
}

/* excerpt:begin dispatch */
static void dispatch(event_loop *loop)
{
    /* lab:begin dispatch "Dispatch" */
    key_iterator it = selector_selected_keys(loop->sel);
    selection_key *key;
    while ((key = key_iterator_next(&it)) != NULL) {
        key_iterator_remove(&it);
        /* An earlier handler in this batch may have cancelled it. */
        if (!key_is_valid(key))
            continue;
        registration *r = key_attachment(key);
        count(&loop->events);
        r->handler->ready(loop, key, r->context);
    }
    /* lab:end dispatch */
}
/* excerpt:end dispatch */

/* Shutdown: every channel still registered is cancelled and handed to its
 * handler's closing hook. Cancelling leaves the key list as it is until
 * the next selection, so walking it meanwhile is safe. */
static void close_registrations(event_loop *loop)
{
    key_iterator it = selector_keys(loop->sel);
    selection_key *key;
    while ((key = key_iterator_next(&it)) != NULL) {
        if (!key_is_valid(key))
            continue;
        registration *r = key_attach(key, NULL);
        key_cancel(key);
        if (r != NULL && r->handler->closing != NULL)
            r->handler->closing(loop, key, r->context);
        free(r);
    }
}

/* --- the loop ------------------------------------------------------------ */

/* excerpt:begin wait */
/* Java's select(0) and ours block forever, so "do not wait" must be
 * selectNow, never a timeout of 0. */
static int wait_for_events(event_loop *loop, long timeout_ms)
{
    long poll = loop->options.poll_ms;
    if (poll > 0 && (timeout_ms < 0 || timeout_ms > poll))
        timeout_ms = poll; /* the seed's select(1): wake up anyway */
    if (timeout_ms == 0)
        return selector_select_now(loop->sel);
    if (timeout_ms < 0)
        return selector_select(loop->sel);
    return selector_select_timeout(loop->sel, timeout_ms);
}
/* excerpt:end wait */

/* excerpt:begin run */
static void *loop_thread(void *arg)
{
    event_loop *loop = arg;
    stop_signals_block_in_thread();
    pthread_mutex_lock(&loop->lock);
    loop->self = pthread_self();
    loop->started = true;
    pthread_cond_signal(&loop->started_cond);
    pthread_mutex_unlock(&loop->lock);

    /* lab:begin run "One turn" (void)select_timeout_ms; (void)wait_for_events; (void)dispatch; (void)run_timers; (void)run_tasks; (void)close_registrations; (void)drop_timers; (void)count; */
    while (!atomic_load(&loop->shutting_down)) {
        if (wait_for_events(loop, select_timeout_ms(loop)) < 0) {
            log_at(loop->options.log, LOG_ERROR, loop->options.program,
                   "loop %zu: select: %s; the loop stops", loop->index,
                   strerror(errno));
            event_loop_shutdown(loop);
            break;
        }
        count(&loop->selects);
        dispatch(loop);
        run_timers(loop);
        run_tasks(loop);
    }
    /* Shutting down: what was accepted runs, then the channels close. */
    while (run_tasks(loop) > 0)
        continue;
    close_registrations(loop);
    drop_timers(loop);
    /* lab:end run */
    return NULL;
}
/* excerpt:end run */

static event_loop *create_loop(const event_loop_options *options, size_t index)
{
    event_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return NULL;
    loop->options = options != NULL ? *options : event_loop_default_options();
    if (loop->options.program == NULL)
        loop->options.program = "event-loop";
    if (loop->options.poll_ms < 0)
        loop->options.poll_ms = 0;
    loop->index = index;
    loop->timers = (timer_heap)TIMER_HEAP_INIT;
    atomic_init(&loop->shutting_down, false);
    atomic_init(&loop->next_timer_id, 1);
    atomic_init(&loop->selects, 0);
    atomic_init(&loop->events, 0);
    atomic_init(&loop->tasks, 0);
    atomic_init(&loop->timer_runs, 0);
    loop->sel = selector_open(loop->options.backend);
    if (loop->sel == NULL) {
        free(loop);
        return NULL;
    }
    int rc = pthread_mutex_init(&loop->lock, NULL);
    if (rc == 0) {
        rc = pthread_cond_init(&loop->started_cond, NULL);
        if (rc != 0)
            pthread_mutex_destroy(&loop->lock);
    }
    if (rc == 0) {
        rc = pthread_create(&loop->thread, NULL, loop_thread, loop);
        if (rc != 0) {
            pthread_cond_destroy(&loop->started_cond);
            pthread_mutex_destroy(&loop->lock);
        }
    }
    if (rc != 0) {
        selector_close(loop->sel);
        free(loop);
        errno = rc;
        return NULL;
    }
    /* Wait until the thread knows itself: from here on in_event_loop
     * answers right on every thread. */
    pthread_mutex_lock(&loop->lock);
    while (!loop->started)
        pthread_cond_wait(&loop->started_cond, &loop->lock);
    pthread_mutex_unlock(&loop->lock);
    return loop;
}

event_loop *event_loop_create(const event_loop_options *options)
{
    return create_loop(options, 0);
}

void event_loop_shutdown(event_loop *loop)
{
    if (loop == NULL)
        return;
    pthread_mutex_lock(&loop->lock);
    atomic_store(&loop->shutting_down, true);
    pthread_mutex_unlock(&loop->lock);
    selector_wakeup(loop->sel); /* in polling mode too: do not wait */
}

bool event_loop_is_shutting_down(event_loop *loop)
{
    return loop != NULL && atomic_load(&loop->shutting_down);
}

event_loop_status event_loop_await_termination(event_loop *loop)
{
    if (loop == NULL)
        return EVENT_LOOP_BAD_ARGUMENT;
    if (in_event_loop(loop))
        return EVENT_LOOP_WRONG_THREAD;
    if (!loop->joined) {
        pthread_join(loop->thread, NULL);
        loop->joined = true;
    }
    return EVENT_LOOP_OK;
}

event_loop_status event_loop_free(event_loop *loop)
{
    if (loop == NULL)
        return EVENT_LOOP_OK;
    if (in_event_loop(loop))
        return EVENT_LOOP_WRONG_THREAD;
    event_loop_shutdown(loop);
    event_loop_await_termination(loop);
    selector_close(loop->sel);
    pthread_cond_destroy(&loop->started_cond);
    pthread_mutex_destroy(&loop->lock);
    free(loop->incoming.items);
    free(loop->running.items);
    free(loop);
    return EVENT_LOOP_OK;
}

size_t event_loop_index(const event_loop *loop)
{
    return loop != NULL ? loop->index : 0;
}

event_loop_stats event_loop_get_stats(const event_loop *loop)
{
    event_loop_stats s = {0, 0, 0, 0};
    if (loop == NULL)
        return s;
    /* The counters are atomics: reading them from another thread while
     * the loop runs is defined, if a little stale. Casting away const is
     * fine for a load. */
    event_loop *l = (event_loop *)loop;
    s.selects = atomic_load_explicit(&l->selects, memory_order_relaxed);
    s.events = atomic_load_explicit(&l->events, memory_order_relaxed);
    s.tasks = atomic_load_explicit(&l->tasks, memory_order_relaxed);
    s.timers = atomic_load_explicit(&l->timer_runs, memory_order_relaxed);
    return s;
}

/* --- the group ----------------------------------------------------------- */

size_t event_loop_default_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

event_loop_group *event_loop_group_create(size_t count,
                                          const event_loop_options *options)
{
    if (count == 0)
        count = event_loop_default_count();
    event_loop_group *group = calloc(1, sizeof *group);
    if (group == NULL)
        return NULL;
    group->loops = calloc(count, sizeof *group->loops);
    if (group->loops == NULL) {
        free(group);
        return NULL;
    }
    atomic_init(&group->next, 0);
    for (size_t i = 0; i < count; i++) {
        group->loops[i] = create_loop(options, i);
        if (group->loops[i] == NULL) {
            int saved = errno;
            group->count = i;
            event_loop_group_free(group);
            errno = saved;
            return NULL;
        }
    }
    group->count = count;
    return group;
}

size_t event_loop_group_size(const event_loop_group *group)
{
    return group != NULL ? group->count : 0;
}

event_loop *event_loop_group_get(const event_loop_group *group, size_t index)
{
    return group != NULL && index < group->count ? group->loops[index] : NULL;
}

/* excerpt:begin next */
event_loop *event_loop_group_next(event_loop_group *group)
{
    if (group == NULL || group->count == 0)
        return NULL;
    size_t turn =
        atomic_fetch_add_explicit(&group->next, 1, memory_order_relaxed);
    return group->loops[turn % group->count];
}
/* excerpt:end next */

void event_loop_group_shutdown(event_loop_group *group)
{
    for (size_t i = 0; group != NULL && i < group->count; i++)
        event_loop_shutdown(group->loops[i]);
}

event_loop_status event_loop_group_await_termination(event_loop_group *group)
{
    if (group == NULL)
        return EVENT_LOOP_BAD_ARGUMENT;
    for (size_t i = 0; i < group->count; i++) {
        if (in_event_loop(group->loops[i]))
            return EVENT_LOOP_WRONG_THREAD;
    }
    for (size_t i = 0; i < group->count; i++)
        event_loop_await_termination(group->loops[i]);
    return EVENT_LOOP_OK;
}

event_loop_status event_loop_group_free(event_loop_group *group)
{
    if (group == NULL)
        return EVENT_LOOP_OK;
    for (size_t i = 0; i < group->count; i++) {
        if (in_event_loop(group->loops[i]))
            return EVENT_LOOP_WRONG_THREAD;
    }
    /* All at once first, so the loops close their channels in parallel. */
    event_loop_group_shutdown(group);
    for (size_t i = 0; i < group->count; i++)
        event_loop_free(group->loops[i]);
    free(group->loops);
    free(group);
    return EVENT_LOOP_OK;
}
