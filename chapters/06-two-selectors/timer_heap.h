/*
 * timer_heap.h - the event loop's timers, kept in deadline order: a binary
 * min-heap, the structure Netty's scheduled-task queue and libuv's timers
 * use. The loop asks it for the earliest deadline (how long it may sleep)
 * and pops whatever is due.
 *
 * Entries with the same deadline leave in the order they went in: each
 * carries a sequence number, compared when the deadlines tie, so timers
 * set for the same moment fire first come, first served.
 *
 * Deadlines are nanoseconds on CLOCK_MONOTONIC; the heap never reads a
 * clock itself. It is not thread-safe: it belongs to one loop's thread.
 */
#ifndef NIO_TIMER_HEAP_H
#define NIO_TIMER_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct timer_heap_entry {
    int64_t deadline; /* CLOCK_MONOTONIC nanoseconds */
    uint64_t seq;     /* tie-breaker, and a name for cancelling */
    void *item;       /* the caller's */
} timer_heap_entry;

typedef struct timer_heap {
    timer_heap_entry *entries;
    size_t count;
    size_t capacity;
} timer_heap;

/* An empty heap needs no allocation: `timer_heap h = TIMER_HEAP_INIT;` */
#define TIMER_HEAP_INIT                                                        \
    {                                                                          \
        NULL, 0, 0                                                             \
    }

/* O(log n). 0, or -1 with errno ENOMEM. */
int timer_heap_push(timer_heap *heap, timer_heap_entry entry);
/* The earliest entry without removing it; false when empty. */
bool timer_heap_peek(const timer_heap *heap, timer_heap_entry *out);
/* Removes and returns the earliest entry; false when empty. O(log n). */
bool timer_heap_pop(timer_heap *heap, timer_heap_entry *out);
/* Removes the entry with this sequence number: O(n) to find it, O(log n)
 * to repair the heap. False when no entry has it. */
bool timer_heap_remove(timer_heap *heap, uint64_t seq, timer_heap_entry *out);
size_t timer_heap_size(const timer_heap *heap);
/* Frees the array (not the items) and leaves an empty heap. */
void timer_heap_clear(timer_heap *heap);

#endif
