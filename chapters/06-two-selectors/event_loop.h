/*
 * event_loop.h - Netty's NioEventLoop and NioEventLoopGroup in C: one
 * thread that owns one Selector (chapter 3), a queue of tasks that any
 * thread may hand it, and timers.
 *
 * The rule that makes it work: everything about a loop's channels happens
 * on the loop's own thread. The selector is not thread-safe, so another
 * thread never registers a channel or touches a key; it posts a task
 * (event_loop_execute), the post wakes the selector, and the loop runs the
 * task on its thread between two selections. Tasks run in the order they
 * were posted. Timers (event_loop_schedule*) run on the loop's thread too,
 * in deadline order, and the nearest deadline decides how long the loop
 * may sleep in select: an idle loop makes no system call at all until a
 * channel, a task or a timer needs it.
 *
 * One turn of the loop:
 *     select (block until I/O, a wakeup, or the nearest timer)
 *     -> call the handler of each ready key
 *     -> run the timers that are due
 *     -> run the tasks that were queued
 *
 * Shutting down (event_loop_shutdown, Netty's shutdownGracefully) refuses
 * new tasks and timers from then on; the loop finishes its turn, runs
 * every task already queued, cancels every registered key and calls its
 * handler's `closing` hook (which closes the channel and frees what the
 * handler owns), drops the pending timers, and its thread ends.
 * event_loop_free waits for that and frees the loop.
 *
 * Threads: register and deregister only from the loop's own thread
 * (register returns EVENT_LOOP_WRONG_THREAD elsewhere); free from any
 * thread but the loop's; everything else from any thread. Loop threads
 * block SIGINT and SIGTERM (common/stop.h), so that stop signals reach
 * the main thread.
 */
#ifndef NIO_EVENT_LOOP_H
#define NIO_EVENT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "03-selector/selector.h"
#include "log.h"

typedef enum event_loop_status {
    EVENT_LOOP_OK = 0,
    EVENT_LOOP_SHUT_DOWN,      /* RejectedExecutionException: shutting down */
    EVENT_LOOP_WRONG_THREAD,   /* only the loop's own thread may do this */
    EVENT_LOOP_BAD_ARGUMENT,   /* NULL pointers, a negative delay, ... */
    EVENT_LOOP_NO_MEMORY,      /* the queue or the heap could not grow */
    EVENT_LOOP_SELECTOR_ERROR, /* the selector refused; see the log */
    EVENT_LOOP_UNSUPPORTED     /* never returned here; a lab's function
                                  that is not written yet says it */
} event_loop_status;

typedef struct event_loop event_loop;
typedef struct event_loop_group event_loop_group;

/* A task or a timer: Java's Runnable, with the loop it runs on and the
 * argument it was given. */
typedef void event_loop_task_fn(event_loop *loop, void *arg);

/* What a registered channel does (a one-handler ChannelPipeline). */
typedef struct event_loop_handler {
    /* The key is selected: its ready ops say for what. */
    void (*ready)(event_loop *loop, selection_key *key, void *context);
    /* The loop is shutting down: the key is cancelled already; close the
     * channel and free `context`. May be NULL. */
    void (*closing)(event_loop *loop, selection_key *key, void *context);
} event_loop_handler;

typedef struct event_loop_options {
    selector_backend backend;
    /* 0: select blocks until something happens and posts wake it (the
     * right way). > 0: the seed's way, for comparison: select wakes every
     * poll_ms milliseconds whether or not there is work, and posting a
     * task does not wake it (the task waits for the next poll). */
    long poll_ms;
    /* Where the loop reports a failing selector. */
    const char *program;
    log_level log;
} event_loop_options;

typedef uint64_t event_loop_timer; /* 0 is never a timer */

/* Counters, for the lesson and the tests (each read on its own). */
typedef struct event_loop_stats {
    uint64_t selects; /* times the loop returned from select */
    uint64_t events;  /* ready keys handled */
    uint64_t tasks;   /* tasks run */
    uint64_t timers;  /* timer runs */
} event_loop_stats;

const char *event_loop_status_name(event_loop_status status);

/* The default backend, no polling, logging errors as "event-loop". */
event_loop_options event_loop_default_options(void);

/* --- one loop ---------------------------------------------------------- */

/* Opens the selector and starts the loop's thread. NULL with errno. */
event_loop *event_loop_create(const event_loop_options *options);

/* Netty's inEventLoop(): is the caller the loop's own thread? */
bool in_event_loop(const event_loop *loop);

/* Netty's execute(): runs task(loop, arg) on the loop's thread, after the
 * tasks posted before it. From another thread, wakes the selector. Fails
 * with EVENT_LOOP_SHUT_DOWN once shutdown has begun (even from a task the
 * loop is running): then the task will not run and `arg` is still the
 * caller's. */
event_loop_status event_loop_execute(event_loop *loop, event_loop_task_fn *task,
                                     void *arg);

/* Netty's schedule(): task(loop, arg) once, delay_ms (>= 0) from now.
 * `id` (may be NULL) receives a name for event_loop_cancel_timer. Timers
 * still pending at shutdown are dropped without running, so their `arg`
 * must not be the only owner of memory. */
event_loop_status event_loop_schedule(event_loop *loop, long delay_ms,
                                      event_loop_task_fn *task, void *arg,
                                      event_loop_timer *id);
/* Netty's scheduleAtFixedRate(): first after initial_delay_ms (>= 0), then
 * every period_ms (> 0) after the previous deadline. A run missed because
 * the loop was busy is skipped, not made up in a burst. */
event_loop_status
event_loop_schedule_at_fixed_rate(event_loop *loop, long initial_delay_ms,
                                  long period_ms, event_loop_task_fn *task,
                                  void *arg, event_loop_timer *id);
/* Any thread. Stops a timer; a repeating one may cancel itself from its
 * own run, and a run that has begun finishes. True when it was pending (or
 * a repeating timer was running); false when a one-shot timer has fired
 * or is firing, or it was cancelled already, or never existed. */
bool event_loop_cancel_timer(event_loop *loop, event_loop_timer id);

/* Loop thread only. Registers a non-blocking channel on the loop's
 * selector; handler->ready(loop, key, context) runs when it is selected.
 * `handler` must outlive the registration (a static const table). The
 * key's attachment belongs to the loop: use `context`. */
event_loop_status event_loop_register(event_loop *loop, channel *ch, int ops,
                                      const event_loop_handler *handler,
                                      void *context, selection_key **key);
/* Loop thread only. Cancels the key and forgets its handler; close the
 * channel afterwards (a key is cancelled before its channel is closed). */
void event_loop_deregister(event_loop *loop, selection_key *key);

/* Netty's shutdownGracefully(): any thread, returns at once, idempotent. */
void event_loop_shutdown(event_loop *loop);
bool event_loop_is_shutting_down(event_loop *loop);
/* Netty's awaitTermination(): waits until the loop's thread has ended
 * (after a shutdown; it does not shut down by itself). Afterwards, what
 * the loop's thread wrote may be read without a lock. Call it, and free,
 * from the thread that owns the loop. Not from the loop's own thread. */
event_loop_status event_loop_await_termination(event_loop *loop);
/* Shuts down, waits for the thread to end, frees the loop. Not from the
 * loop's own thread (EVENT_LOOP_WRONG_THREAD, nothing done). NULL is OK. */
event_loop_status event_loop_free(event_loop *loop);

/* The loop's place in its group (0 for a loop made on its own). */
size_t event_loop_index(const event_loop *loop);
event_loop_stats event_loop_get_stats(const event_loop *loop);

/* --- a group of loops ---------------------------------------------------- */

/* The number of online CPUs (at least 1): the default group size.
 * (Netty's default is twice that; one loop per core is enough for a
 * server whose handlers never block.) */
size_t event_loop_default_count(void);

/* Netty's NioEventLoopGroup(n): n loops (0: event_loop_default_count()),
 * loop i with index i. NULL with errno; nothing is left running. */
event_loop_group *event_loop_group_create(size_t count,
                                          const event_loop_options *options);
size_t event_loop_group_size(const event_loop_group *group);
event_loop *event_loop_group_get(const event_loop_group *group, size_t index);
/* Netty's next(): the loops in turn, round-robin. Any thread. */
event_loop *event_loop_group_next(event_loop_group *group);
/* Shuts down every loop (returns at once). */
void event_loop_group_shutdown(event_loop_group *group);
/* Waits for every loop of the group (event_loop_await_termination). */
event_loop_status event_loop_group_await_termination(event_loop_group *group);
/* Shuts down every loop, then waits for and frees each. Not from one of
 * the group's own threads. NULL is OK. */
event_loop_status event_loop_group_free(event_loop_group *group);

#endif
