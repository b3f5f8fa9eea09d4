/*
 * histogram.h - latencies counted into buckets, for percentiles without
 * keeping every sample: the idea of HdrHistogram, in a few lines.
 *
 * Values (nanoseconds, or any unsigned count) below 32 get a bucket each;
 * above that, every power of two is cut into 32 equal buckets, so a
 * bucket is never wider than 1/32 (about 3%) of the values it holds. The
 * whole range of uint64_t fits in under 2,000 counters, and recording is
 * a few shifts.
 */
#ifndef NIO_HISTOGRAM_H
#define NIO_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_SUB_BITS 5
#define HISTOGRAM_BUCKETS  ((64 - HISTOGRAM_SUB_BITS + 1) << HISTOGRAM_SUB_BITS)

typedef struct histogram {
    uint64_t counts[HISTOGRAM_BUCKETS];
    uint64_t total;
    uint64_t min, max;
} histogram;

void histogram_init(histogram *h);
void histogram_record(histogram *h, uint64_t value);
/* The value below which `percent` (0 to 100) of the recorded values lie,
 * to within one bucket (it answers the bucket's highest value, never more
 * than the largest recorded). 0 when nothing was recorded. */
uint64_t histogram_percentile(const histogram *h, double percent);

#endif
