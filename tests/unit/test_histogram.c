/*
 * test_histogram.c - percentiles from the latency histogram are right to
 * within a bucket (about 3%), at both ends of the range.
 */
#include "06-two-selectors/histogram.h"
#include "tap.h"

#include <stdbool.h>
#include <stdlib.h>

/* Within 1/32 of the exact answer, and never below it. */
static bool close_to(uint64_t got, uint64_t exact)
{
    return got >= exact && got - exact <= exact / 32 + 1;
}

int main(void)
{
    tap t = {0};
    histogram *h = malloc(sizeof *h);
    if (h == NULL)
        return 1;

    histogram_init(h);
    TAP_OK(&t, histogram_percentile(h, 99) == 0 && h->total == 0,
           "an empty histogram answers 0");

    for (uint64_t v = 1; v <= 1000; v++)
        histogram_record(h, v);
    TAP_OK(&t, h->total == 1000 && h->min == 1 && h->max == 1000,
           "count, min and max of 1..1000");
    TAP_OK(&t, close_to(histogram_percentile(h, 50), 500),
           "p50 of 1..1000 is 500 within a bucket (got %llu)",
           (unsigned long long)histogram_percentile(h, 50));
    TAP_OK(&t, close_to(histogram_percentile(h, 99), 990),
           "p99 of 1..1000 is 990 within a bucket (got %llu)",
           (unsigned long long)histogram_percentile(h, 99));
    TAP_OK(&t, histogram_percentile(h, 100) == 1000,
           "p100 is the largest value recorded");
    TAP_OK(&t, histogram_percentile(h, 0) == 1, "p0 is the smallest");

    histogram_init(h);
    for (int i = 0; i < 990; i++)
        histogram_record(h, 100000); /* 100 us */
    for (int i = 0; i < 10; i++)
        histogram_record(h, 50000000); /* 50 ms */
    TAP_OK(&t, close_to(histogram_percentile(h, 99), 100000),
           "99 in 100 fast: p99 is the fast value");
    TAP_OK(&t, close_to(histogram_percentile(h, 99.9), 50000000),
           "p99.9 sees the slow tail");

    histogram_init(h);
    for (uint64_t v = 0; v < 32; v++)
        histogram_record(h, v);
    bool exact = true;
    for (int p = 1; p <= 100; p++) {
        uint64_t rank = (uint64_t)(p / 100.0 * 32 + 0.5);
        exact = exact && histogram_percentile(h, p) == (rank ? rank - 1 : 0);
    }
    TAP_OK(&t, exact, "values below 32 are counted exactly");

    histogram_init(h);
    histogram_record(h, UINT64_MAX);
    histogram_record(h, 0);
    TAP_OK(&t,
           histogram_percentile(h, 100) == UINT64_MAX &&
               histogram_percentile(h, 1) == 0,
           "0 and UINT64_MAX both fit");
    free(h);
    return tap_done(&t);
}
