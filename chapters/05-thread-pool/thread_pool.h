/*
 * thread_pool.h - a fixed-size thread pool with a bounded task queue: Java's
 * Executors.newFixedThreadPool / ThreadPoolExecutor, in C with pthreads.
 *
 * A pool starts a fixed number of worker threads at creation. Submitting a
 * task puts it on a FIFO queue of bounded capacity; an idle worker takes it
 * and runs it. What happens when the queue is full is the pool's policy:
 * the submitter waits for room (THREAD_POOL_BLOCK), or the submission is
 * refused at once (THREAD_POOL_REJECT, Java's AbortPolicy).
 *
 * Java's newFixedThreadPool uses an unbounded queue, so a server that
 * accepts faster than it serves grows that queue until memory runs out.
 * Here the bound is mandatory: overload shows up as a blocked or rejected
 * submit that the caller must handle, not as a slow death.
 *
 * The life cycle follows Java's ExecutorService:
 *
 *     RUNNING --shutdown--> SHUTDOWN --queue drained--> TERMINATED
 *        |                                                  ^
 *        +--shutdown_now--> STOP ---running tasks end-------+
 *
 * shutdown refuses new tasks but runs every queued one; shutdown_now also
 * drops the queued ones. Neither interrupts a task that is running: C has
 * no Thread.interrupt(), so a long task that wants to stop early can check
 * thread_pool_is_shutdown. Neither waits, either: await_termination does.
 *
 * Errors are values. Where Java throws RejectedExecutionException or
 * NullPointerException, submit returns a thread_pool_status. Creation
 * returns NULL and sets errno (EINVAL for bad arguments, ENOMEM, or the
 * error pthread_create gave, such as EAGAIN).
 *
 * Every function is safe to call from any thread, including from a task
 * running in the pool, except thread_pool_free (see there).
 */
#ifndef NIO_THREAD_POOL_H
#define NIO_THREAD_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum thread_pool_status {
    THREAD_POOL_OK = 0,
    THREAD_POOL_REJECTED,     /* queue full under THREAD_POOL_REJECT */
    THREAD_POOL_SHUT_DOWN,    /* the pool no longer accepts tasks */
    THREAD_POOL_BAD_ARGUMENT, /* NULL pool or function, or misuse */
    THREAD_POOL_NO_MEMORY,    /* the queue could not grow to its bound */
    THREAD_POOL_UNSUPPORTED   /* never returned here; a lab's submit that is
                                 not written yet says it */
} thread_pool_status;

/* What submit does when the queue is full. Java's other policies map onto
 * these: CallerRunsPolicy is "on REJECTED, run it yourself"; DiscardPolicy
 * is "on REJECTED, ignore it". */
typedef enum thread_pool_policy {
    THREAD_POOL_BLOCK, /* wait for room, like BlockingQueue.put */
    THREAD_POOL_REJECT /* return THREAD_POOL_REJECTED, like AbortPolicy */
} thread_pool_policy;

/* Java's Runnable: a function and the argument it runs with. */
typedef void thread_pool_fn(void *arg);

typedef struct thread_pool_task {
    thread_pool_fn *run;
    void *arg;
} thread_pool_task;

/* Receives each task that shutdown_now dropped, so that the caller can
 * free or close what the argument owns; `context` is the caller's. */
typedef void thread_pool_drop_fn(thread_pool_task task, void *context);

typedef struct thread_pool thread_pool;

/* A short name for a status, such as "THREAD_POOL_REJECTED". */
const char *thread_pool_status_name(thread_pool_status status);

/* --- creating, submitting, stopping ------------------------------------ */

/* Starts `workers` threads (>= 1) with a queue that holds at most
 * `queue_capacity` waiting tasks (>= 1). The worker threads block every
 * signal, so a process-directed signal such as SIGINT is delivered to a
 * thread that did not come from the pool. */
thread_pool *thread_pool_create(size_t workers, size_t queue_capacity,
                                thread_pool_policy policy);

/* Java's execute(): queues run(arg) to be run once by some worker. Tasks
 * start in the order they were queued. A submitter waiting for room under
 * THREAD_POOL_BLOCK returns THREAD_POOL_SHUT_DOWN when the pool shuts down
 * meanwhile. A task that submits to its own pool under THREAD_POOL_BLOCK
 * can wait forever if every worker does the same: prefer REJECT there. */
thread_pool_status thread_pool_submit(thread_pool *pool, thread_pool_fn *run,
                                      void *arg);

/* Java's shutdown(): no new tasks; queued and running ones still run.
 * Returns at once; calling it again does nothing. */
void thread_pool_shutdown(thread_pool *pool);

/* Java's shutdownNow(): no new tasks, and the queued ones are removed
 * without running. Returns how many were dropped. If `dropped` is not NULL
 * it is called once per dropped task, in queue order, on the calling
 * thread and with no lock held (Java returns them as a List). Tasks
 * already running are not interrupted. */
size_t thread_pool_shutdown_now(thread_pool *pool, thread_pool_drop_fn *dropped,
                                void *context);

/* Java's awaitTermination(): waits until the pool has shut down and every
 * worker has finished, or until `timeout_ms` milliseconds have passed
 * (a negative timeout waits without limit; 0 only looks). Returns true
 * when the pool is terminated. It does not shut the pool down itself, and
 * a task that awaits its own pool's termination can only time out. */
bool thread_pool_await_termination(thread_pool *pool, long timeout_ms);

/* Shuts down gracefully if that has not happened (so every queued task
 * still runs), waits for the workers to finish and releases the pool.
 * The safe order is:
 *   1. make sure no thread will call into the pool again (a submitter
 *      already waiting for room is fine: it is released and waited for);
 *   2. optionally thread_pool_shutdown_now, to skip the queued tasks, and
 *      free what their arguments own;
 *   3. thread_pool_free.
 * Called from one of the pool's own tasks it would wait for itself
 * forever, so it returns THREAD_POOL_BAD_ARGUMENT and does nothing.
 * A NULL pool is THREAD_POOL_OK, as free(NULL) is. */
thread_pool_status thread_pool_free(thread_pool *pool);

/* --- state and counters (each a snapshot taken under the pool's lock) -- */

bool thread_pool_is_shutdown(thread_pool *pool);   /* isShutdown() */
bool thread_pool_is_terminated(thread_pool *pool); /* isTerminated() */
size_t thread_pool_size(thread_pool *pool);        /* getPoolSize() */
/* Tasks running right now (getActiveCount). */
size_t thread_pool_active_count(thread_pool *pool);
/* Tasks that have finished running (getCompletedTaskCount). */
uint64_t thread_pool_completed_count(thread_pool *pool);
/* Tasks queued and not yet taken by a worker (getQueue().size()). */
size_t thread_pool_queue_length(thread_pool *pool);
size_t thread_pool_queue_capacity(thread_pool *pool);
/* Submitters waiting for room under THREAD_POOL_BLOCK: when this is above
 * zero the pool is exhausted and is holding its callers up. */
size_t thread_pool_waiting_submitters(thread_pool *pool);

#endif
