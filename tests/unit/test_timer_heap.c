/*
 * test_timer_heap.c - the timer heap gives entries back earliest first,
 * ties in the order they went in, and survives removals from the middle.
 * A fixed-seed generator makes the random cases reproducible.
 */
#include "06-two-selectors/timer_heap.h"
#include "tap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t next(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

static bool before(const timer_heap_entry *a, const timer_heap_entry *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

/* Pops everything; true when it came out in order and `expected` long. */
static bool drains_in_order(timer_heap *h, size_t expected)
{
    timer_heap_entry previous, e;
    size_t n = 0;
    bool ordered = true;
    while (timer_heap_pop(h, &e)) {
        if (n > 0 && !before(&previous, &e))
            ordered = false;
        previous = e;
        n++;
    }
    return ordered && n == expected;
}

int main(void)
{
    tap t = {0};
    timer_heap h = TIMER_HEAP_INIT;
    timer_heap_entry e;

    TAP_OK(&t, !timer_heap_peek(&h, &e) && !timer_heap_pop(&h, &e),
           "an empty heap has nothing to peek at or pop");
    TAP_OK(&t, !timer_heap_remove(&h, 1, &e), "nor anything to remove");

    int items[3];
    timer_heap_push(&h, (timer_heap_entry){30, 1, &items[0]});
    timer_heap_push(&h, (timer_heap_entry){10, 2, &items[1]});
    timer_heap_push(&h, (timer_heap_entry){20, 3, &items[2]});
    TAP_OK(&t,
           timer_heap_peek(&h, &e) && e.deadline == 10 && e.item == &items[1] &&
               timer_heap_size(&h) == 3,
           "peek shows the earliest and leaves it there");
    TAP_OK(&t,
           timer_heap_pop(&h, &e) && e.seq == 2 && timer_heap_pop(&h, &e) &&
               e.seq == 3 && timer_heap_pop(&h, &e) && e.seq == 1,
           "pop gives 10, 20, 30 from 30, 10, 20");

    for (uint64_t s = 1; s <= 100; s++)
        timer_heap_push(&h, (timer_heap_entry){500, s, NULL});
    bool fifo = true;
    for (uint64_t s = 1; s <= 100; s++)
        fifo = fifo && timer_heap_pop(&h, &e) && e.seq == s;
    TAP_OK(&t, fifo, "100 equal deadlines come out in the order pushed");

    uint64_t rng = 0x7157ed;
    bool pushed = true;
    for (uint64_t s = 1; s <= 10000; s++)
        pushed =
            pushed &&
            timer_heap_push(&h, (timer_heap_entry){(int64_t)(next(&rng) % 1000),
                                                   s, NULL}) == 0;
    TAP_OK(&t, pushed && timer_heap_size(&h) == 10000,
           "10,000 random deadlines (many ties) go in");
    TAP_OK(&t, drains_in_order(&h, 10000),
           "and come out ordered by deadline, then by push order");

    for (uint64_t s = 1; s <= 1000; s++)
        timer_heap_push(
            &h, (timer_heap_entry){(int64_t)(next(&rng) % 100), s, NULL});
    size_t removed = 0;
    bool right = true;
    for (uint64_t s = 3; s <= 1000; s += 3) {
        right = right && timer_heap_remove(&h, s, &e) && e.seq == s;
        removed++;
    }
    TAP_OK(&t, right && timer_heap_size(&h) == 1000 - removed,
           "removing every third entry by its sequence number finds each");
    TAP_OK(&t, !timer_heap_remove(&h, 3, &e), "an entry removed once is gone");
    TAP_OK(&t, drains_in_order(&h, 1000 - removed),
           "the rest still come out in order");

    timer_heap_push(&h, (timer_heap_entry){1, 1, NULL});
    timer_heap_clear(&h);
    TAP_OK(&t, timer_heap_size(&h) == 0 && h.entries == NULL,
           "clear empties the heap and frees its array");
    return tap_done(&t);
}
