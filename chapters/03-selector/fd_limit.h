/*
 * fd_limit.h - the per-process limit on open descriptors.
 *
 * A server that holds thousands of connections needs as many descriptors,
 * and the usual soft limit (1,024) is far below the hard limit most
 * systems allow. Like the JVM, which raises its soft limit at start-up,
 * programs that expect many connections raise theirs here.
 */
#ifndef NIO_FD_LIMIT_H
#define NIO_FD_LIMIT_H

/* Raises the soft RLIMIT_NOFILE to `wanted`, or to the hard limit when
 * `wanted` is 0 or above it (65,536 when the hard limit is unlimited);
 * never lowers it. Returns the soft limit in
 * force afterwards (LONG_MAX for "unlimited"), or -1 with errno. */
long fd_limit_raise(long wanted);

/* The hard limit: how far fd_limit_raise can go (LONG_MAX: unlimited). */
long fd_limit_hard(void);

#endif
