/*
 * histogram.c - log-linear buckets. See histogram.h.
 *
 * Bucket of v: below 2^S (S = HISTOGRAM_SUB_BITS) it is v itself. Above,
 * with e the position of v's highest set bit, the S bits after that bit
 * pick one of 2^S buckets in the power of two [2^e, 2^(e+1)).
 */
#include "histogram.h"

#include <string.h>

#define SUB_COUNT (1u << HISTOGRAM_SUB_BITS)

static unsigned highest_bit(uint64_t v)
{
    unsigned e = 0;
    while (v >> 1) {
        v >>= 1;
        e++;
    }
    return e;
}

static unsigned bucket_of(uint64_t v)
{
    if (v < SUB_COUNT)
        return (unsigned)v;
    unsigned shift = highest_bit(v) - HISTOGRAM_SUB_BITS;
    unsigned sub = (unsigned)(v >> shift) - SUB_COUNT;
    return SUB_COUNT + shift * SUB_COUNT + sub;
}

/* The largest value that lands in bucket b. */
static uint64_t bucket_high(unsigned b)
{
    if (b < SUB_COUNT)
        return b;
    unsigned shift = (b - SUB_COUNT) / SUB_COUNT;
    uint64_t sub = (b - SUB_COUNT) % SUB_COUNT;
    uint64_t low = (SUB_COUNT + sub) << shift;
    return low + ((uint64_t)1 << shift) - 1;
}

void histogram_init(histogram *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void histogram_record(histogram *h, uint64_t value)
{
    h->counts[bucket_of(value)]++;
    h->total++;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

uint64_t histogram_percentile(const histogram *h, double percent)
{
    if (h->total == 0)
        return 0;
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    /* The rank of the value asked for, counting from 1. */
    uint64_t rank = (uint64_t)(percent / 100.0 * (double)h->total + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;
    uint64_t seen = 0;
    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank) {
            uint64_t high = bucket_high(b);
            return high < h->max ? high : h->max;
        }
    }
    return h->max;
}
