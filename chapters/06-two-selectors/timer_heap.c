/*
 * timer_heap.c - a binary min-heap in an array. See timer_heap.h.
 *
 * The children of entries[i] are entries[2i+1] and entries[2i+2]; every
 * entry is earlier than (or ties and was pushed before) its children, so
 * the earliest is always entries[0].
 */
#include "timer_heap.h"

#include <errno.h>
#include <stdlib.h>

/* lab:begin order "Timers" */
static bool earlier(const timer_heap_entry *a, const timer_heap_entry *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->seq < b->seq;
}

static void swap(timer_heap_entry *a, timer_heap_entry *b)
{
    timer_heap_entry t = *a;
    *a = *b;
    *b = t;
}

/* excerpt:begin sift */
/* An entry earlier than its parent moves up... */
static void sift_up(timer_heap *heap, size_t i)
{
    timer_heap_entry *e = heap->entries;
    while (i > 0 && earlier(&e[i], &e[(i - 1) / 2])) {
        swap(&e[i], &e[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

/* ...and one later than a child moves down, swapping with the earlier
 * child. Each is one walk along a path: O(log n). */
static void sift_down(timer_heap *heap, size_t i)
{
    timer_heap_entry *e = heap->entries;
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, first = i;
        if (left < heap->count && earlier(&e[left], &e[first]))
            first = left;
        if (right < heap->count && earlier(&e[right], &e[first]))
            first = right;
        if (first == i)
            return;
        swap(&e[i], &e[first]);
        i = first;
    }
}
/* excerpt:end sift */
/* lab:end order */

int timer_heap_push(timer_heap *heap, timer_heap_entry entry)
{
    /* lab:begin push "Timers" errno = ENOSYS; return -1; */
    if (heap->count == heap->capacity) {
        size_t capacity = heap->capacity ? heap->capacity * 2 : 16;
        if (capacity > SIZE_MAX / sizeof *heap->entries) {
            errno = ENOMEM;
            return -1;
        }
        timer_heap_entry *grown =
            realloc(heap->entries, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        heap->entries = grown;
        heap->capacity = capacity;
    }
    heap->entries[heap->count++] = entry;
    sift_up(heap, heap->count - 1);
    return 0;
    /* lab:end push */
}

bool timer_heap_peek(const timer_heap *heap, timer_heap_entry *out)
{
    if (heap->count == 0)
        return false;
    *out = heap->entries[0];
    return true;
}

/* Takes entries[i] out: the last entry fills the hole and moves whichever
 * way restores the order. */
/* lab:begin remove_at "Timers" */
static timer_heap_entry remove_at(timer_heap *heap, size_t i)
{
    timer_heap_entry removed = heap->entries[i];
    heap->count--;
    if (i < heap->count) {
        heap->entries[i] = heap->entries[heap->count];
        sift_down(heap, i);
        sift_up(heap, i);
    }
    return removed;
}
/* lab:end remove_at */

bool timer_heap_pop(timer_heap *heap, timer_heap_entry *out)
{
    /* lab:begin pop "Timers" return false; */
    if (heap->count == 0)
        return false;
    *out = remove_at(heap, 0);
    return true;
    /* lab:end pop */
}

bool timer_heap_remove(timer_heap *heap, uint64_t seq, timer_heap_entry *out)
{
    /* lab:begin remove "Timers" return false; */
    for (size_t i = 0; i < heap->count; i++) {
        if (heap->entries[i].seq == seq) {
            *out = remove_at(heap, i);
            return true;
        }
    }
    return false;
    /* lab:end remove */
}

size_t timer_heap_size(const timer_heap *heap)
{
    return heap->count;
}

void timer_heap_clear(timer_heap *heap)
{
    free(heap->entries);
    *heap = (timer_heap)TIMER_HEAP_INIT;
}
