/*
 * clock.h - the monotonic clock every timer, timeout and measurement in
 * the course reads: CLOCK_MONOTONIC never jumps when the wall clock is
 * set, so a difference of two readings is always a true duration.
 */
#ifndef NIO_CLOCK_H
#define NIO_CLOCK_H

#include <stdint.h>

/* Nanoseconds since an arbitrary point (the machine's boot, on Linux). */
int64_t monotonic_ns(void);
/* The same in milliseconds, and in seconds as a double. */
int64_t monotonic_ms(void);
double monotonic_seconds(void);

#endif
