/* stop.c - see stop.h. */
#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;
static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int number)
{
    int saved = errno; /* a handler must not change errno under main */
    stop_signal = number;
    if (stop_pipe[1] >= 0) {
        char byte = 1;
        /* The pipe is non-blocking: if it is full, it is readable already. */
        ssize_t ignored = write(stop_pipe[1], &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

int stop_signals_install(void)
{
    if (stop_pipe[0] < 0) {
        if (pipe(stop_pipe) < 0)
            return -1;
        for (int i = 0; i < 2; i++) {
            if (fcntl(stop_pipe[i], F_SETFD, FD_CLOEXEC) < 0 ||
                fcntl(stop_pipe[i], F_SETFL, O_NONBLOCK) < 0)
                return -1;
        }
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; /* no SA_RESTART: accept() must return EINTR */
    if (sigaction(SIGINT, &action, NULL) < 0 ||
        sigaction(SIGTERM, &action, NULL) < 0)
        return -1;
    action.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &action, NULL);
}

bool stop_requested(void)
{
    return stop_signal != 0;
}

int stop_signal_number(void)
{
    return stop_signal;
}

int stop_signals_fd(void)
{
    return stop_pipe[0];
}

void stop_signals_block_in_thread(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}
