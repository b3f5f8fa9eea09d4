/*
 * thread_pool.c - a fixed thread pool over pthreads. See thread_pool.h for
 * the contract.
 *
 * One mutex guards all of the pool's state, and three condition variables
 * say what changed: a task was queued (workers wait for that), room was
 * made (blocked submitters wait for that), or the pool finished (awaiters
 * and thread_pool_free wait for that). Nobody ever polls: every wait is a
 * pthread_cond_wait on the change it needs, and every change signals.
 *
 * The queue is a ring buffer of tasks. It starts small and doubles up to
 * the capacity the caller asked for, so that a generous bound costs memory
 * only when the queue actually fills up.
 */
#include "thread_pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

/* The ring's first size; a pool whose queue stays short never grows it. */
#define INITIAL_RING 64

/* Java's run states, minus TIDYING, which only matters to its hooks. */
enum run_state {
    RUNNING,  /* accepts and runs tasks */
    SHUTDOWN, /* refuses new tasks, runs the queued ones */
    STOP      /* refuses new tasks, queue emptied by shutdown_now */
};

struct thread_pool {
    pthread_mutex_t lock;
    pthread_cond_t task_queued; /* workers wait here for work */
    pthread_cond_t room_made;   /* BLOCK submitters wait here for room */
    pthread_cond_t pool_done;   /* on CLOCK_MONOTONIC, for timed waits */

    thread_pool_task *ring; /* queued tasks, oldest at ring[head] */
    size_t ring_size;       /* slots allocated, <= capacity */
    size_t head;
    size_t length;   /* tasks queued */
    size_t capacity; /* the bound the caller chose */
    thread_pool_policy policy;
    enum run_state state;

    pthread_t *threads;
    size_t workers; /* threads started */
    size_t live;    /* workers that have not exited yet */
    size_t active;  /* workers running a task right now */
    size_t waiting; /* submitters waiting for room */
    uint64_t completed;
};

const char *thread_pool_status_name(thread_pool_status status)
{
    switch (status) {
    case THREAD_POOL_OK: return "THREAD_POOL_OK";
    case THREAD_POOL_REJECTED: return "THREAD_POOL_REJECTED";
    case THREAD_POOL_SHUT_DOWN: return "THREAD_POOL_SHUT_DOWN";
    case THREAD_POOL_BAD_ARGUMENT: return "THREAD_POOL_BAD_ARGUMENT";
    case THREAD_POOL_NO_MEMORY: return "THREAD_POOL_NO_MEMORY";
    case THREAD_POOL_UNSUPPORTED: return "THREAD_POOL_UNSUPPORTED";
    }
    return "THREAD_POOL_UNKNOWN_STATUS";
}

/* --- the queue (callers hold the lock) ---------------------------------- */

/* Doubles the ring, up to the capacity. The tasks move to the front of the
 * new ring in queue order, so head starts again at 0. */
static bool ring_grow(thread_pool *pool)
{
    size_t size = pool->ring_size;
    size = size > pool->capacity / 2 ? pool->capacity : size * 2;
    thread_pool_task *ring = malloc(size * sizeof *ring);
    if (ring == NULL)
        return false;
    for (size_t i = 0; i < pool->length; i++)
        ring[i] = pool->ring[(pool->head + i) % pool->ring_size];
    free(pool->ring);
    pool->ring = ring;
    pool->ring_size = size;
    pool->head = 0;
    return true;
}

static void ring_push(thread_pool *pool, thread_pool_task task)
{
    pool->ring[(pool->head + pool->length) % pool->ring_size] = task;
    pool->length++;
}

static thread_pool_task ring_pop(thread_pool *pool)
{
    thread_pool_task task = pool->ring[pool->head];
    pool->head = (pool->head + 1) % pool->ring_size;
    pool->length--;
    return task;
}

/* --- workers -------------------------------------------------------------- */

/* excerpt:begin worker */
static void *worker_main(void *arg)
{
    /* lab:begin worker "The pool's code" (void)ring_pop; return NULL; */
    thread_pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        /* A loop, not an if: a wake-up may be spurious, or another worker
         * may have taken the task first. */
        while (pool->length == 0 && pool->state == RUNNING)
            pthread_cond_wait(&pool->task_queued, &pool->lock);
        /* SHUTDOWN still drains the queue; STOP has emptied it. */
        if (pool->length == 0)
            break;
        thread_pool_task task = ring_pop(pool);
        pool->active++;
        pthread_cond_signal(&pool->room_made);
        /* The task runs without the lock, or the pool would run one task
         * at a time however many workers it had. */
        pthread_mutex_unlock(&pool->lock);
        task.run(task.arg);
        pthread_mutex_lock(&pool->lock);
        pool->active--;
        pool->completed++;
    }
    /* The last worker out tells awaiters that the pool has terminated. */
    if (--pool->live == 0)
        pthread_cond_broadcast(&pool->pool_done);
    pthread_mutex_unlock(&pool->lock);
    return NULL;
    /* lab:end worker */
}
/* excerpt:end worker */

/* --- creating ------------------------------------------------------------- */

/* The end of every pool: shut down (so that idle workers leave once the
 * queue is drained), wait for each worker, and release everything. */
static void join_and_release(thread_pool *pool)
{
    thread_pool_shutdown(pool);
    for (size_t i = 0; i < pool->workers; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->pool_done);
    pthread_cond_destroy(&pool->room_made);
    pthread_cond_destroy(&pool->task_queued);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool->ring);
    free(pool);
}

/* pool_done measures timeouts on CLOCK_MONOTONIC: the wall clock can be
 * set back or forward while someone waits, which would stretch or cut
 * their timeout. */
static int init_sync(thread_pool *pool)
{
    pthread_condattr_t attr;
    int rc = pthread_mutex_init(&pool->lock, NULL);
    if (rc != 0)
        return rc;
    if ((rc = pthread_cond_init(&pool->task_queued, NULL)) != 0)
        goto no_task_queued;
    if ((rc = pthread_cond_init(&pool->room_made, NULL)) != 0)
        goto no_room_made;
    if ((rc = pthread_condattr_init(&attr)) != 0)
        goto no_attr;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&pool->pool_done, &attr);
    pthread_condattr_destroy(&attr);
    if (rc == 0)
        return 0;
no_attr:
    pthread_cond_destroy(&pool->room_made);
no_room_made:
    pthread_cond_destroy(&pool->task_queued);
no_task_queued:
    pthread_mutex_destroy(&pool->lock);
    return rc;
}

thread_pool *thread_pool_create(size_t workers, size_t queue_capacity,
                                thread_pool_policy policy)
{
    if (workers == 0 || queue_capacity == 0 ||
        queue_capacity > SIZE_MAX / sizeof(thread_pool_task) ||
        (policy != THREAD_POOL_BLOCK && policy != THREAD_POOL_REJECT)) {
        errno = EINVAL;
        return NULL;
    }
    thread_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    pool->capacity = queue_capacity;
    pool->policy = policy;
    pool->state = RUNNING;
    pool->ring_size =
        queue_capacity < INITIAL_RING ? queue_capacity : INITIAL_RING;
    pool->ring = malloc(pool->ring_size * sizeof *pool->ring);
    pool->threads = calloc(workers, sizeof *pool->threads);
    if (pool->ring == NULL || pool->threads == NULL) {
        free(pool->ring);
        free(pool->threads);
        free(pool);
        errno = ENOMEM;
        return NULL;
    }
    int rc = init_sync(pool);
    if (rc != 0) {
        free(pool->ring);
        free(pool->threads);
        free(pool);
        errno = rc;
        return NULL;
    }

    /* A signal sent to the process goes to any one thread that does not
     * block it. A server stops on SIGINT/SIGTERM by having its main thread
     * notice the signal (a flag checked after EINTR, a self-pipe, sigwait);
     * if a worker caught it instead, the main thread would never wake, and
     * a handler could interrupt a task at any point. So workers block
     * every signal. They inherit the mask from this thread at birth:
     * blocking inside worker_main would leave a window, between the
     * thread's start and its first line, in which a signal could land. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pool->live = workers;
    for (size_t i = 0; i < workers; i++) {
        rc = pthread_create(&pool->threads[i], NULL, worker_main, pool);
        if (rc != 0)
            break;
        pool->workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        /* The live count must match the threads that really exist. */
        pthread_mutex_lock(&pool->lock);
        pool->live -= workers - pool->workers;
        pthread_mutex_unlock(&pool->lock);
        join_and_release(pool);
        errno = rc;
        return NULL;
    }
    return pool;
}

/* --- submitting ----------------------------------------------------------- */

/* excerpt:begin submit */
thread_pool_status thread_pool_submit(thread_pool *pool, thread_pool_fn *run,
                                      void *arg)
{
    /* lab:begin submit "The pool's code" return THREAD_POOL_UNSUPPORTED; */
    if (pool == NULL || run == NULL)
        return THREAD_POOL_BAD_ARGUMENT;
    bool waited = false;
    pthread_mutex_lock(&pool->lock);
    /* Checked again after every wait: the pool may have shut down while
     * this submitter slept, and then it must not queue anything. */
    while (pool->state == RUNNING && pool->length == pool->capacity) {
        if (pool->policy == THREAD_POOL_REJECT) {
            pthread_mutex_unlock(&pool->lock);
            return THREAD_POOL_REJECTED;
        }
        pool->waiting++;
        pthread_cond_wait(&pool->room_made, &pool->lock);
        pool->waiting--;
        waited = true;
    }
    thread_pool_status status = THREAD_POOL_OK;
    if (pool->state != RUNNING) {
        status = THREAD_POOL_SHUT_DOWN;
        /* thread_pool_free may be waiting for the last waiter to leave. */
        if (waited && pool->waiting == 0)
            pthread_cond_broadcast(&pool->pool_done);
    } else if (pool->length == pool->ring_size && !ring_grow(pool)) {
        status = THREAD_POOL_NO_MEMORY;
        /* The room this submitter was woken for is still free: pass the
         * wake-up on, or the next waiter would sleep beside an open slot. */
        if (waited)
            pthread_cond_signal(&pool->room_made);
    } else {
        ring_push(pool, (thread_pool_task){.run = run, .arg = arg});
        pthread_cond_signal(&pool->task_queued);
    }
    pthread_mutex_unlock(&pool->lock);
    return status;
    /* lab:end submit */
}
/* excerpt:end submit */

/* --- stopping ------------------------------------------------------------- */

/* Wakes everyone whose wait depends on the run state: idle workers (to
 * leave, or to drain the queue first) and blocked submitters (to give up).
 * Awaiters need no wake-up here: workers leave only after a shutdown, so
 * the last one to leave is always there to tell them. */
static void wake_all(thread_pool *pool)
{
    pthread_cond_broadcast(&pool->task_queued);
    pthread_cond_broadcast(&pool->room_made);
}

void thread_pool_shutdown(thread_pool *pool)
{
    /* lab:begin shutdown "The idea" (void)wake_all; (void)ring_push; */
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    if (pool->state == RUNNING)
        pool->state = SHUTDOWN;
    wake_all(pool);
    pthread_mutex_unlock(&pool->lock);
    /* lab:end shutdown */
}

/* excerpt:begin shutdown_now */
size_t thread_pool_shutdown_now(thread_pool *pool, thread_pool_drop_fn *dropped,
                                void *context)
{
    /* lab:begin shutdown_now "The pool's code" (void)ring_grow; return 0; */
    if (pool == NULL)
        return 0;
    pthread_mutex_lock(&pool->lock);
    pool->state = STOP;
    /* Take the whole queue out under the lock, and hand it over after
     * unlocking: the caller's function may take its own locks, or ask the
     * pool for its state, without risk of deadlock. */
    thread_pool_task *ring = pool->ring;
    size_t ring_size = pool->ring_size, head = pool->head;
    size_t count = pool->length;
    pool->ring = NULL;
    pool->ring_size = pool->head = pool->length = 0;
    wake_all(pool);
    pthread_mutex_unlock(&pool->lock);

    for (size_t i = 0; dropped != NULL && i < count; i++)
        dropped(ring[(head + i) % ring_size], context);
    free(ring);
    return count;
    /* lab:end shutdown_now */
}
/* excerpt:end shutdown_now */

/* now + ms on CLOCK_MONOTONIC, the clock pool_done waits on. */
static struct timespec deadline_after(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static bool terminated(const thread_pool *pool)
{
    return pool->state != RUNNING && pool->live == 0;
}

bool thread_pool_await_termination(thread_pool *pool, long timeout_ms)
{
    /* lab:begin await "Java ↔ C" (void)deadline_after; return false; */
    if (pool == NULL)
        return false;
    struct timespec deadline = deadline_after(timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&pool->lock);
    while (!terminated(pool)) {
        int rc = timeout_ms < 0
                     ? pthread_cond_wait(&pool->pool_done, &pool->lock)
                     : pthread_cond_timedwait(&pool->pool_done, &pool->lock,
                                              &deadline);
        if (rc == ETIMEDOUT)
            break;
    }
    bool done = terminated(pool);
    pthread_mutex_unlock(&pool->lock);
    return done;
    /* lab:end await */
}

thread_pool_status thread_pool_free(thread_pool *pool)
{
    if (pool == NULL)
        return THREAD_POOL_OK;
    /* pool->threads is written only by create, before any task could run,
     * so it is safe to read here without the lock. */
    pthread_t self = pthread_self();
    for (size_t i = 0; i < pool->workers; i++)
        if (pthread_equal(self, pool->threads[i]))
            return THREAD_POOL_BAD_ARGUMENT;
    thread_pool_shutdown(pool);
    /* Submitters released by the shutdown still have to take the lock
     * once more to leave submit; destroying it under them would be a
     * use-after-free. */
    pthread_mutex_lock(&pool->lock);
    while (pool->waiting > 0)
        pthread_cond_wait(&pool->pool_done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    join_and_release(pool);
    return THREAD_POOL_OK;
}

/* --- state and counters --------------------------------------------------- */

/* Each getter reads under the lock: the fields change on other threads,
 * and an unlocked read would be a data race, not just a stale value. */
#define GETTER(type, name, expr)                                               \
    type thread_pool_##name(thread_pool *pool)                                 \
    {                                                                          \
        if (pool == NULL)                                                      \
            return 0;                                                          \
        pthread_mutex_lock(&pool->lock);                                       \
        type value = (expr);                                                   \
        pthread_mutex_unlock(&pool->lock);                                     \
        return value;                                                          \
    }

GETTER(bool, is_shutdown, pool->state != RUNNING)
GETTER(bool, is_terminated, terminated(pool))
GETTER(size_t, size, pool->workers)
GETTER(size_t, active_count, pool->active)
GETTER(uint64_t, completed_count, pool->completed)
GETTER(size_t, queue_length, pool->length)
GETTER(size_t, queue_capacity, pool->capacity)
GETTER(size_t, waiting_submitters, pool->waiting)
