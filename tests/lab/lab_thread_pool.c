/*
 * lab_thread_pool.c - the stages of chapter 5's lab, in the order of the
 * lesson: tasks run once each and in order, several at once, the reject
 * and block policies of a full queue, shutdown, shutdown_now and
 * await_termination. Only thread_pool.h is used, so any correct
 * thread_pool.c passes.
 *
 * No sleep orders the threads. A "gate" task holds a worker until the
 * stage opens it, so that the next tasks are surely queued; latches say
 * when tasks have started or ended. Every wait is bounded (LIMIT_MS), and
 * a call that may block when the pool is wrong (a submit that should not
 * wait, thread_pool_free, await_termination) runs on a helper thread that
 * the stage waits for with a bound: a pool that deadlocks fails a check
 * that says which call never returned.
 */
#include "../unit/sync_helpers.h"
#include "05-thread-pool/thread_pool.h"
#include "lab_check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* How long any wait may take before the check that needed it fails. */
#define LIMIT_MS 3000L

#define STATUS(s) thread_pool_status_name(s)

/* --- tasks -----------------------------------------------------------------
 */

/* What the stage's tasks did: how many times each ran, in what order. */
enum { MAX_TASKS = 64 };
typedef struct record {
    pthread_mutex_t lock;
    int runs[MAX_TASKS];
    int order[MAX_TASKS * 4];
    int count;
    latch done; /* counted down by every run */
} record;

static record rec = {.lock = PTHREAD_MUTEX_INITIALIZER};
static bool rec_latch_made;

/* Expects `runs` more runs: rec.done opens after them. */
static void record_expect(long runs)
{
    if (rec_latch_made)
        latch_destroy(&rec.done);
    latch_init(&rec.done, runs);
    rec_latch_made = true;
}

static void record_reset(long expected)
{
    pthread_mutex_lock(&rec.lock);
    memset(rec.runs, 0, sizeof rec.runs);
    rec.count = 0;
    pthread_mutex_unlock(&rec.lock);
    record_expect(expected);
}

static void count_task(void *arg)
{
    int id = (int)(intptr_t)arg;
    pthread_mutex_lock(&rec.lock);
    rec.runs[id]++;
    if (rec.count < MAX_TASKS * 4)
        rec.order[rec.count++] = id;
    pthread_mutex_unlock(&rec.lock);
    latch_count_down(&rec.done);
}

static int runs_of(int id)
{
    pthread_mutex_lock(&rec.lock);
    int n = rec.runs[id];
    pthread_mutex_unlock(&rec.lock);
    return n;
}

static int total_runs(void)
{
    pthread_mutex_lock(&rec.lock);
    int n = rec.count;
    pthread_mutex_unlock(&rec.lock);
    return n;
}

/* Holds a worker until the stage opens it; `started` says it was taken. */
typedef struct gate {
    latch started;
    latch release;
    atomic_bool finished;
} gate;

static void gate_task(void *arg)
{
    gate *g = arg;
    latch_count_down(&g->started);
    latch_await(&g->release, LIMIT_MS * 2);
    atomic_store(&g->finished, true);
}

static void gate_init(gate *g)
{
    latch_init(&g->started, 1);
    latch_init(&g->release, 1);
    atomic_init(&g->finished, false);
}

static void submit_ok(thread_pool *pool, thread_pool_fn *run, void *arg,
                      const char *what)
{
    thread_pool_status s = thread_pool_submit(pool, run, arg);
    LAB_EXPECT(s == THREAD_POOL_OK, "THREAD_POOL_OK from submit", "%s (%s)",
               STATUS(s), what);
}

/* Submits the gate and waits until a worker has taken it. */
static void hold_worker(thread_pool *pool, gate *g)
{
    gate_init(g);
    lab_did("submit a task that holds its worker until the check lets go");
    submit_ok(pool, gate_task, g, "the holding task");
    LAB_EXPECT(latch_await(&g->started, LIMIT_MS),
               "a worker takes the task and runs it",
               "it had not started after %ld ms", LIMIT_MS);
}

/* --- calls that may block when the pool is wrong ------------------------- */

typedef enum call_kind { CALL_SUBMIT, CALL_FREE, CALL_AWAIT } call_kind;

typedef struct call {
    call_kind kind;
    thread_pool *pool;
    void *arg;       /* CALL_SUBMIT: the task's argument */
    long timeout_ms; /* CALL_AWAIT */
    thread_pool_status status;
    bool result;
    latch returned;
    pthread_t thread;
} call;

static void *call_main(void *arg)
{
    call *c = arg;
    switch (c->kind) {
    case CALL_SUBMIT:
        c->status = thread_pool_submit(c->pool, count_task, c->arg);
        break;
    case CALL_FREE: c->status = thread_pool_free(c->pool); break;
    case CALL_AWAIT:
        c->result = thread_pool_await_termination(c->pool, c->timeout_ms);
        break;
    }
    latch_count_down(&c->returned);
    return NULL;
}

static void call_start(call *c, call_kind kind, thread_pool *pool)
{
    c->kind = kind;
    c->pool = pool;
    latch_init(&c->returned, 1);
    if (pthread_create(&c->thread, NULL, call_main, c) != 0)
        lab_fail("a helper thread for the check", "pthread_create failed");
}

static bool call_returned(call *c, long ms)
{
    return latch_await(&c->returned, ms);
}

static void call_join(call *c)
{
    pthread_join(c->thread, NULL);
}

/* thread_pool_free, which must return once the tasks have ended. */
static void free_pool(thread_pool *pool)
{
    call c;
    lab_did("thread_pool_free (shuts the pool down, waits for its workers)");
    call_start(&c, CALL_FREE, pool);
    LAB_EXPECT(call_returned(&c, LIMIT_MS),
               "thread_pool_free returns: after thread_pool_shutdown the "
               "idle workers leave their loop",
               "it had not returned after %ld ms (workers still waiting?)",
               LIMIT_MS);
    call_join(&c);
}

static thread_pool *new_pool(size_t workers, size_t capacity,
                             thread_pool_policy policy)
{
    thread_pool *pool = thread_pool_create(workers, capacity, policy);
    if (pool == NULL)
        lab_fail("thread_pool_create to return a pool", "NULL");
    return pool;
}

/* --- the stages ------------------------------------------------------------
 */

static void stage_run_tasks(void)
{
    thread_pool *pool = new_pool(2, 16, THREAD_POOL_BLOCK);
    lab_did("thread_pool_submit(pool, NULL, NULL)");
    thread_pool_status s = thread_pool_submit(pool, NULL, NULL);
    LAB_EXPECT(s == THREAD_POOL_BAD_ARGUMENT,
               "THREAD_POOL_BAD_ARGUMENT: there is nothing to run", "%s",
               STATUS(s));

    record_reset(10);
    lab_did("submit 10 tasks to a pool of 2 workers (queue of 16)");
    for (int i = 0; i < 10; i++)
        submit_ok(pool, count_task, (void *)(intptr_t)i, "one of 10 tasks");
    bool all = latch_await(&rec.done, LIMIT_MS);
    LAB_EXPECT(all, "all 10 tasks run", "%d runs after %ld ms", total_runs(),
               LIMIT_MS);
    for (int i = 0; i < 10; i++)
        LAB_EXPECT(runs_of(i) == 1, "each task runs exactly once",
                   "task %d ran %d times", i, runs_of(i));
    free_pool(pool);
    LAB_EXPECT(total_runs() == 10, "no task runs again", "%d runs in all",
               total_runs());

    pool = new_pool(1, 16, THREAD_POOL_BLOCK);
    gate g;
    hold_worker(pool, &g);
    record_reset(8);
    lab_did("with its one worker held, submit tasks 0..7, then let go");
    for (int i = 0; i < 8; i++)
        submit_ok(pool, count_task, (void *)(intptr_t)i, "one of 8 tasks");
    size_t queued = thread_pool_queue_length(pool);
    LAB_EXPECT(queued == 8, "thread_pool_queue_length = 8 (all waiting)", "%zu",
               queued);
    latch_open(&g.release);
    LAB_EXPECT(latch_await(&rec.done, LIMIT_MS), "all 8 tasks run", "%d runs",
               total_runs());
    for (int i = 0; i < 8; i++)
        LAB_EXPECT(rec.order[i] == i,
                   "the tasks start in the order they were queued (FIFO)",
                   "task %d ran in place %d", rec.order[i], i);
    free_pool(pool);
}

/* Tasks that all must be running at once to get past the barrier. */
typedef struct together {
    latch arrived;
    latch release;
} together;

static void together_task(void *arg)
{
    together *t = arg;
    latch_count_down(&t->arrived);
    latch_await(&t->release, LIMIT_MS);
}

static void stage_parallel(void)
{
    thread_pool *pool = new_pool(4, 16, THREAD_POOL_BLOCK);
    together t;
    latch_init(&t.arrived, 4);
    latch_init(&t.release, 1);
    lab_did("submit 4 tasks to 4 workers; each waits until all 4 are running");
    for (int i = 0; i < 4; i++)
        submit_ok(pool, together_task, &t, "one of 4 waiting tasks");
    bool all = latch_await(&t.arrived, LIMIT_MS);
    pthread_mutex_lock(&t.arrived.lock);
    long missing = t.arrived.remaining;
    pthread_mutex_unlock(&t.arrived.lock);
    LAB_EXPECT(all,
               "all 4 running at once: a worker runs its task without "
               "holding the pool's lock",
               "%ld of 4 running after %ld ms", 4 - missing, LIMIT_MS);
    size_t active = thread_pool_active_count(pool);
    LAB_EXPECT(active == 4, "thread_pool_active_count = 4", "%zu", active);
    latch_open(&t.release);
    free_pool(pool);
}

static void stage_reject(void)
{
    thread_pool *pool = new_pool(1, 2, THREAD_POOL_REJECT);
    gate g;
    hold_worker(pool, &g);
    record_reset(2);
    lab_did("REJECT policy, queue of 2, its worker held: submit tasks 0 and 1");
    submit_ok(pool, count_task, (void *)0, "task 0, queue not full");
    submit_ok(pool, count_task, (void *)1, "task 1, queue not full");

    lab_did("submit task 2 to the full queue");
    call c;
    c.arg = (void *)2;
    call_start(&c, CALL_SUBMIT, pool);
    LAB_EXPECT(call_returned(&c, LIMIT_MS),
               "submit returns at once: REJECT never waits for room",
               "it had not returned after %ld ms", LIMIT_MS);
    call_join(&c);
    LAB_EXPECT(c.status == THREAD_POOL_REJECTED,
               "THREAD_POOL_REJECTED (Java's RejectedExecutionException)", "%s",
               STATUS(c.status));
    size_t queued = thread_pool_queue_length(pool);
    LAB_EXPECT(queued == 2, "the queue still holds 2 tasks", "%zu", queued);

    lab_did("let the worker go, wait for tasks 0 and 1, submit task 2 again");
    latch_open(&g.release);
    LAB_EXPECT(latch_await(&rec.done, LIMIT_MS) && runs_of(2) == 0,
               "tasks 0 and 1 run, and the rejected task 2 does not",
               "%d runs (task 2: %d)", total_runs(), runs_of(2));
    record_expect(1);
    submit_ok(pool, count_task, (void *)2, "task 2, now that there is room");
    LAB_EXPECT(latch_await(&rec.done, LIMIT_MS) && runs_of(2) == 1,
               "task 2 runs once", "%d runs of task 2", runs_of(2));
    free_pool(pool);
}

/* Waits (bounded) until the pool says a submitter is waiting for room. */
static bool submitter_waits(thread_pool *pool, call *c)
{
    for (int i = 0; i < LIMIT_MS; i++) {
        if (thread_pool_waiting_submitters(pool) == 1)
            return true;
        if (call_returned(c, 1))
            return false;
    }
    return false;
}

static void stage_block(void)
{
    thread_pool *pool = new_pool(1, 1, THREAD_POOL_BLOCK);
    gate g;
    hold_worker(pool, &g);
    record_reset(2);
    lab_did("BLOCK policy, queue of 1, its worker held: submit task 0");
    submit_ok(pool, count_task, (void *)0, "task 0, queue not full");

    lab_did("another thread submits task 1 to the full queue");
    call c;
    c.arg = (void *)1;
    call_start(&c, CALL_SUBMIT, pool);
    bool waits = submitter_waits(pool, &c);
    LAB_EXPECT(waits && !call_returned(&c, 0),
               "that submit waits for room (thread_pool_waiting_submitters "
               "= 1), like BlockingQueue.put",
               "%s",
               call_returned(&c, 0) ? STATUS(c.status)
                                    : "it never "
                                      "counted as waiting");

    lab_did("let the worker go");
    latch_open(&g.release);
    LAB_EXPECT(call_returned(&c, LIMIT_MS),
               "the waiting submit returns once a worker takes task 0 and "
               "makes room",
               "it still waited after %ld ms", LIMIT_MS);
    call_join(&c);
    LAB_EXPECT(c.status == THREAD_POOL_OK, "THREAD_POOL_OK from that submit",
               "%s", STATUS(c.status));
    LAB_EXPECT(latch_await(&rec.done, LIMIT_MS) && runs_of(0) == 1 &&
                   runs_of(1) == 1,
               "tasks 0 and 1 each run once", "task 0: %d, task 1: %d",
               runs_of(0), runs_of(1));
    size_t waiting = thread_pool_waiting_submitters(pool);
    LAB_EXPECT(waiting == 0, "thread_pool_waiting_submitters back to 0", "%zu",
               waiting);
    free_pool(pool);
}

static void stage_shutdown(void)
{
    thread_pool *pool = new_pool(1, 8, THREAD_POOL_BLOCK);
    gate g;
    hold_worker(pool, &g);
    record_reset(3);
    lab_did("its worker held, submit tasks 0, 1, 2; then thread_pool_shutdown");
    for (int i = 0; i < 3; i++)
        submit_ok(pool, count_task, (void *)(intptr_t)i, "one of 3 tasks");
    thread_pool_shutdown(pool);
    LAB_EXPECT(thread_pool_is_shutdown(pool), "thread_pool_is_shutdown true",
               "false");

    lab_did("submit task 3 after the shutdown");
    thread_pool_status s = thread_pool_submit(pool, count_task, (void *)3);
    LAB_EXPECT(s == THREAD_POOL_SHUT_DOWN,
               "THREAD_POOL_SHUT_DOWN: no new tasks after shutdown", "%s",
               STATUS(s));

    lab_did("let the worker go");
    latch_open(&g.release);
    bool all = latch_await(&rec.done, LIMIT_MS);
    LAB_EXPECT(all && runs_of(0) == 1 && runs_of(1) == 1 && runs_of(2) == 1,
               "tasks 0, 1 and 2 still run: shutdown drains the queue",
               "%d of the 3 queued tasks ran", total_runs());
    free_pool(pool);
    LAB_EXPECT(runs_of(3) == 0, "task 3 never runs", "it ran");

    pool = new_pool(1, 1, THREAD_POOL_BLOCK);
    hold_worker(pool, &g);
    record_reset(1);
    lab_did("queue of 1 full, another thread waits in submit; then "
            "thread_pool_shutdown");
    submit_ok(pool, count_task, (void *)0, "task 0, queue not full");
    call c;
    c.arg = (void *)1;
    call_start(&c, CALL_SUBMIT, pool);
    if (!submitter_waits(pool, &c))
        lab_fail("the second submit to wait for room (see stage block)",
                 "it did not");
    thread_pool_shutdown(pool);
    LAB_EXPECT(call_returned(&c, LIMIT_MS),
               "the waiting submit returns: shutdown wakes it",
               "it still waited after %ld ms", LIMIT_MS);
    call_join(&c);
    LAB_EXPECT(c.status == THREAD_POOL_SHUT_DOWN,
               "THREAD_POOL_SHUT_DOWN from that submit", "%s",
               STATUS(c.status));
    latch_open(&g.release);
    LAB_EXPECT(latch_await(&rec.done, LIMIT_MS) && runs_of(0) == 1,
               "task 0, queued before the shutdown, still runs",
               "it ran %d times", runs_of(0));
    free_pool(pool);
    LAB_EXPECT(runs_of(1) == 0, "task 1 never runs", "it ran");
}

typedef struct dropped_list {
    int ids[8];
    int count;
    bool right_function;
} dropped_list;

static void on_dropped(thread_pool_task task, void *context)
{
    dropped_list *d = context;
    if (d->count < 8)
        d->ids[d->count] = (int)(intptr_t)task.arg;
    d->count++;
    d->right_function = d->right_function && task.run == count_task;
}

/* Waits (bounded) until the pool says it has terminated (or, with
 * `completed` >= 0, that it has completed that many tasks and runs none):
 * a look every millisecond, for at most LIMIT_MS. */
static bool pool_reaches(thread_pool *pool, long completed)
{
    latch never;
    latch_init(&never, 1);
    bool done = false;
    for (long i = 0; i < LIMIT_MS && !done; i++) {
        done = completed < 0
                   ? thread_pool_is_terminated(pool)
                   : thread_pool_completed_count(pool) == (uint64_t)completed &&
                         thread_pool_active_count(pool) == 0;
        if (!done)
            latch_await(&never, 1); /* a bounded pause between two looks */
    }
    latch_destroy(&never);
    return done;
}

static bool becomes_terminated(thread_pool *pool)
{
    return pool_reaches(pool, -1);
}

static bool becomes_idle(thread_pool *pool, long completed)
{
    return pool_reaches(pool, completed);
}

static void stage_shutdown_now(void)
{
    thread_pool *pool = new_pool(1, 8, THREAD_POOL_BLOCK);
    gate g;
    hold_worker(pool, &g);
    record_reset(3);
    lab_did("its worker held, submit tasks 0, 1, 2; then "
            "thread_pool_shutdown_now");
    for (int i = 0; i < 3; i++)
        submit_ok(pool, count_task, (void *)(intptr_t)i, "one of 3 tasks");
    dropped_list d = {.right_function = true};
    size_t n = thread_pool_shutdown_now(pool, on_dropped, &d);
    LAB_EXPECT(n == 3, "3: the number of queued tasks removed", "%zu", n);
    LAB_EXPECT(d.count == 3 && d.ids[0] == 0 && d.ids[1] == 1 &&
                   d.ids[2] == 2 && d.right_function,
               "each removed task handed back once, in queue order: 0, 1, 2 "
               "(Java returns them as a List)",
               "%d handed back%s%s", d.count,
               d.count >= 3 && (d.ids[0] != 0 || d.ids[1] != 1 || d.ids[2] != 2)
                   ? ", in another order"
                   : "",
               d.right_function ? "" : ", with the wrong function");
    LAB_EXPECT(
        thread_pool_is_shutdown(pool) && thread_pool_queue_length(pool) == 0,
        "the pool shut down, its queue empty", "is_shutdown %s, %zu queued",
        thread_pool_is_shutdown(pool) ? "true" : "false",
        thread_pool_queue_length(pool));
    thread_pool_status s = thread_pool_submit(pool, count_task, (void *)3);
    LAB_EXPECT(s == THREAD_POOL_SHUT_DOWN, "THREAD_POOL_SHUT_DOWN from submit",
               "%s", STATUS(s));

    lab_did("let the held task go, then thread_pool_free");
    latch_open(&g.release);
    free_pool(pool);
    LAB_EXPECT(atomic_load(&g.finished),
               "the running task was not interrupted: it ran to its end",
               "it did not finish");
    LAB_EXPECT(total_runs() == 0, "none of the removed tasks ran",
               "%d of them ran", total_runs());

    pool = new_pool(2, 8, THREAD_POOL_BLOCK);
    lab_did("2 workers run a task each and go back to waiting for work; "
            "then thread_pool_shutdown_now");
    together t;
    latch_init(&t.arrived, 2);
    latch_init(&t.release, 1);
    submit_ok(pool, together_task, &t, "one of 2 tasks");
    submit_ok(pool, together_task, &t, "one of 2 tasks");
    LAB_EXPECT(latch_await(&t.arrived, LIMIT_MS), "both tasks run at once",
               "they did not");
    latch_open(&t.release);
    /* A worker counts its task done under the lock and waits for the
     * next one without letting go of it in between: once the count says
     * both are done, both workers are waiting. */
    LAB_EXPECT(becomes_idle(pool, 2),
               "thread_pool_completed_count 2 and thread_pool_active_count "
               "0 once both tasks end",
               "completed %llu, active %zu",
               (unsigned long long)thread_pool_completed_count(pool),
               thread_pool_active_count(pool));
    n = thread_pool_shutdown_now(pool, on_dropped, &d);
    LAB_EXPECT(n == 0, "0: nothing was queued", "%zu", n);
    LAB_EXPECT(becomes_terminated(pool),
               "thread_pool_is_terminated becomes true: shutdown_now wakes "
               "the idle workers, and they leave",
               "still false after %ld ms", LIMIT_MS);
    free_pool(pool);
}

/* thread_pool_await_termination(pool, ms) on a helper thread, which must
 * return within LIMIT_MS; the result is in c->result. */
static void await_within(call *c, thread_pool *pool, long ms)
{
    c->timeout_ms = ms;
    call_start(c, CALL_AWAIT, pool);
    LAB_EXPECT(call_returned(c, LIMIT_MS),
               "await_termination returns once its timeout has passed",
               "it had not returned after %ld ms (timeout %ld ms)", LIMIT_MS,
               ms);
    call_join(c);
}

static void stage_await(void)
{
    thread_pool *pool = new_pool(2, 4, THREAD_POOL_BLOCK);
    gate g;
    hold_worker(pool, &g);
    lab_did("thread_pool_await_termination(pool, 0) on a running pool");
    call c;
    await_within(&c, pool, 0);
    LAB_EXPECT(!c.result, "false: the pool is running", "true");

    lab_did("thread_pool_await_termination(pool, 50), not shut down");
    await_within(&c, pool, 50);
    LAB_EXPECT(!c.result && !thread_pool_is_shutdown(pool),
               "false, and the pool still running: awaiting does not shut "
               "the pool down",
               "%s, is_shutdown %s", c.result ? "true" : "false",
               thread_pool_is_shutdown(pool) ? "true" : "false");

    lab_did("thread_pool_shutdown, then thread_pool_await_termination(pool, "
            "50) while the held task still runs");
    thread_pool_shutdown(pool);
    await_within(&c, pool, 50);
    LAB_EXPECT(!c.result && !thread_pool_is_terminated(pool),
               "false: shut down, but not terminated while a task runs",
               "%s, is_terminated %s", c.result ? "true" : "false",
               thread_pool_is_terminated(pool) ? "true" : "false");

    lab_did("another thread awaits with no limit (-1), then the held task "
            "is let go");
    c.timeout_ms = -1;
    call_start(&c, CALL_AWAIT, pool);
    LAB_EXPECT(!call_returned(&c, 100),
               "await_termination(-1) still waiting while the task runs",
               "it returned %s", c.result ? "true" : "false");
    latch_open(&g.release);
    LAB_EXPECT(call_returned(&c, LIMIT_MS),
               "the awaiter wakes when the last worker leaves",
               "it still waited after %ld ms", LIMIT_MS);
    call_join(&c);
    LAB_EXPECT(c.result && thread_pool_is_terminated(pool),
               "true, and thread_pool_is_terminated true",
               "%s, is_terminated %s", c.result ? "true" : "false",
               thread_pool_is_terminated(pool) ? "true" : "false");
    free_pool(pool);
}

int main(int argc, char **argv)
{
    static const lab_stage stages[] = {
        {"run-tasks", stage_run_tasks}, {"parallel", stage_parallel},
        {"reject", stage_reject},       {"block", stage_block},
        {"shutdown", stage_shutdown},   {"shutdown-now", stage_shutdown_now},
        {"await", stage_await},
    };
    return lab_main(argc, argv, stages, sizeof stages / sizeof stages[0]);
}
