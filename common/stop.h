/*
 * stop.h - stopping a server cleanly on SIGINT or SIGTERM.
 *
 * The handler only records the signal and writes one byte to a pipe (both
 * async-signal-safe). Blocking servers see their accept(2) fail with EINTR
 * and check stop_requested(); selector-based servers register the pipe's
 * read end and wake up like for any other event. SIGPIPE is ignored so that
 * a peer that vanished is an EPIPE error, never a dead server.
 *
 * Signal handlers are process-wide, so this is the one place with global
 * state: the flag and the pipe.
 */
#ifndef NIO_STOP_H
#define NIO_STOP_H

#include <stdbool.h>

/* Installs the handlers (without SA_RESTART, so that blocking calls are
 * interrupted). Returns 0, or -1 with errno. Call once, from main. */
int stop_signals_install(void);
/* True once SIGINT or SIGTERM has arrived. */
bool stop_requested(void);
/* The number of the signal that asked to stop, 0 if none. */
int stop_signal_number(void);
/* A descriptor that becomes readable when a stop signal arrives (it stays
 * readable); -1 before stop_signals_install. */
int stop_signals_fd(void);
/* Blocks SIGINT and SIGTERM in the calling thread, so that they go to the
 * main thread. Call at the start of every helper thread. */
void stop_signals_block_in_thread(void);

#endif
