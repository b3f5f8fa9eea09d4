/*
 * clock.c - the monotonic clock (clock.h).
 */
#include "clock.h"

#include <time.h>

int64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int64_t monotonic_ms(void)
{
    return monotonic_ns() / 1000000;
}

double monotonic_seconds(void)
{
    return (double)monotonic_ns() / 1e9;
}
