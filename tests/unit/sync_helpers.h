/*
 * sync_helpers.h - what the threaded unit tests share to wait for another
 * thread without a sleep standing in for synchronisation: a countdown latch
 * whose every wait is bounded, so that a broken module fails a check
 * instead of hanging the run, and a monotonic clock in nanoseconds.
 *
 * Header-only (static inline), so that each unit test links as before: its
 * own file, tap.c and the chapter libraries.
 */
#ifndef NIO_TEST_SYNC_HELPERS_H
#define NIO_TEST_SYNC_HELPERS_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Java's CountDownLatch: opens when `remaining` reaches zero. */
typedef struct latch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long remaining;
} latch;

static inline void latch_init(latch *l, long count)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, &attr);
    pthread_condattr_destroy(&attr);
    l->remaining = count;
}

static inline void latch_destroy(latch *l)
{
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
}

static inline void latch_count_down(latch *l)
{
    pthread_mutex_lock(&l->lock);
    if (l->remaining > 0 && --l->remaining == 0)
        pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

/* Opens it at once, whatever the count: for a one-shot event. */
static inline void latch_open(latch *l)
{
    pthread_mutex_lock(&l->lock);
    l->remaining = 0;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

/* True when the latch opened within `ms` milliseconds. */
static inline bool latch_await(latch *l, long ms)
{
    int64_t end = now_ns() + (int64_t)ms * 1000000;
    struct timespec deadline = {(time_t)(end / 1000000000),
                                (long)(end % 1000000000)};
    pthread_mutex_lock(&l->lock);
    int rc = 0;
    while (l->remaining > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&l->cond, &l->lock, &deadline);
    bool open = l->remaining == 0;
    pthread_mutex_unlock(&l->lock);
    return open;
}

#endif
