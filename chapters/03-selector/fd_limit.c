/* fd_limit.c - see fd_limit.h. */
#include "fd_limit.h"

#include <limits.h>
#include <sys/resource.h>

static long as_long(rlim_t value)
{
    return value == RLIM_INFINITY || value > (rlim_t)LONG_MAX ? LONG_MAX
                                                              : (long)value;
}

long fd_limit_hard(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
        return -1;
    return as_long(limit.rlim_max);
}

long fd_limit_raise(long wanted)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
        return -1;
    rlim_t target = wanted <= 0 ? limit.rlim_max : (rlim_t)wanted;
    if (limit.rlim_max != RLIM_INFINITY && target > limit.rlim_max)
        target = limit.rlim_max;
    if (target == RLIM_INFINITY) /* some systems refuse an unlimited soft */
        target = 65536;
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= target)
        return as_long(limit.rlim_cur);
    limit.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
        return -1;
    return as_long(limit.rlim_cur);
}
