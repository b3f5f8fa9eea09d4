/*
 * selector-bench.c - what one selection costs with one active descriptor
 * and N idle ones, for each backend.
 *
 * The active descriptor is one end of a socketpair with a byte waiting in
 * it, so every selection finds exactly one ready key (level-triggered: the
 * byte is never read). The idle descriptors are both ends of other
 * socketpairs, registered for OP_READ, where nothing ever arrives. select
 * and poll hand the kernel every watched descriptor on each call and scan
 * them all afterwards, so their cost grows with N; epoll keeps the watched
 * set in the kernel and returns only what is ready, so its cost does not.
 *
 * Prints a Markdown table of microseconds per selection; --data writes the
 * same figures as a tab-separated file for plotting.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "03-selector/fd_limit.h"
#include "03-selector/selector.h"
#include "cli.h"
#include "log.h"
#include "clock.h"

static const char PROGRAM[] = "selector-bench";

enum { MAX_SIZES = 16, ROUNDS = 5, BACKENDS = 3, SPARE_FDS = 64 };

typedef struct options {
    unsigned long sizes[MAX_SIZES];
    int size_count;
    bool use[BACKENDS];
    unsigned long time_ms; /* per measurement */
    const char *data;
} options;

/* One cell of the table: microseconds per selection, or why there is none. */
typedef struct cell {
    double us;
    const char *missing; /* NULL when measured */
} cell;

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool nonblocking_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
        return false;
    for (int i = 0; i < 2; i++) {
        int flags = fcntl(fds[i], F_GETFL);
        if (flags < 0 || fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) < 0)
            return false;
    }
    return true;
}

/* excerpt:begin measure */
/* The median over ROUNDS rounds of the mean time of one selection. */
static cell measure(selector *sel, unsigned long time_ms)
{
    double per_round = (double)time_ms / 1000.0 / ROUNDS, results[ROUNDS];
    for (int round = -1; round < ROUNDS; round++) { /* round -1 warms up */
        long iterations = 0;
        double start = monotonic_seconds(), elapsed;
        do {
            for (int i = 0; i < 16; i++, iterations++) {
                if (selector_select(sel) != 1)
                    return (cell){0, "a selection did not find the key"};
                key_iterator it = selector_selected_keys(sel);
                while (key_iterator_next(&it) != NULL)
                    key_iterator_remove(&it);
            }
            elapsed = monotonic_seconds() - start;
        } while (elapsed < per_round);
        if (round >= 0)
            results[round] = elapsed / (double)iterations * 1e6;
    }
    qsort(results, ROUNDS, sizeof results[0], compare_double);
    return (cell){results[ROUNDS / 2], NULL};
}
/* excerpt:end measure */

/* Registers the active descriptor and the first `idle` idle ones,
 * measures, and takes them out again. */
static cell run_cell(selector *sel, int active, const int *idle_fds,
                     unsigned long idle, unsigned long time_ms)
{
    if (selector_get_backend(sel) == SELECTOR_BACKEND_SELECT && idle > 0 &&
        idle_fds[idle - 1] >= FD_SETSIZE)
        return (cell){0, "n/a (descriptors above FD_SETSIZE)"};
    cell result = {0, "registration failed"};
    if (selector_register_fd(sel, active, OP_READ, NULL, NULL) != SELECTOR_OK)
        return result;
    unsigned long done = 0;
    while (done < idle && selector_register_fd(sel, idle_fds[done], OP_READ,
                                               NULL, NULL) == SELECTOR_OK)
        done++;
    if (done == idle)
        result = measure(sel, time_ms);
    key_iterator it = selector_keys(sel);
    selection_key *key;
    while ((key = key_iterator_next(&it)) != NULL)
        key_cancel(key);
    selector_select_now(sel); /* the cancelled keys leave */
    key_iterator sel_it = selector_selected_keys(sel);
    while (key_iterator_next(&sel_it) != NULL)
        key_iterator_remove(&sel_it);
    return result;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--backend NAME]... [--idle N,N,...] [--time-ms MS] "
            "[--data FILE]\n"
            "Measures one selection with one active descriptor and N idle "
            "ones, per backend.\n"
            "      --backend NAME  select, poll or epoll; repeat for several "
            "(default: all)\n"
            "      --idle LIST     idle descriptor counts (default "
            "10,100,1000,10000)\n"
            "      --time-ms MS    time spent on each measurement (default "
            "250)\n"
            "      --data FILE     also write the figures, tab-separated, to "
            "FILE\n"
            "  -h, --help          show this help\n",
            PROGRAM);
}

static options parse_options(int argc, char **argv)
{
    options o = {
        .sizes = {10, 100, 1000, 10000}, .size_count = 4, .time_ms = 250};
    bool chose = false;
    enum { OPT_BACKEND = 256, OPT_IDLE, OPT_TIME, OPT_DATA };
    static const struct option longs[] = {
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"idle", required_argument, NULL, OPT_IDLE},
        {"time-ms", required_argument, NULL, OPT_TIME},
        {"data", required_argument, NULL, OPT_DATA},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        selector_backend b;
        switch (opt) {
        case OPT_BACKEND:
            if (!selector_backend_parse(optarg, &b))
                die(PROGRAM, "unknown backend '%s' (select, poll or epoll)",
                    optarg);
            o.use[b] = chose = true;
            break;
        case OPT_IDLE: {
            o.size_count = 0;
            char *copy = strdup(optarg), *save = NULL;
            for (char *part = strtok_r(copy, ",", &save); part != NULL;
                 part = strtok_r(NULL, ",", &save)) {
                if (o.size_count == MAX_SIZES ||
                    !cli_parse_ulong(part, 0, 1000000,
                                     &o.sizes[o.size_count++])) {
                    free(copy);
                    die(PROGRAM, "bad --idle list '%s' (up to %d counts)",
                        optarg, MAX_SIZES);
                }
            }
            free(copy);
            if (o.size_count == 0)
                die(PROGRAM, "bad --idle list '%s'", optarg);
            break;
        }
        case OPT_TIME:
            if (!cli_parse_ulong(optarg, 10, 60000, &o.time_ms))
                die(PROGRAM, "bad --time-ms '%s' (10 to 60000)", optarg);
            break;
        case OPT_DATA: o.data = optarg; break;
        case 'h': usage(stdout); exit(0);
        case ':':
            die(PROGRAM, "option '%s' needs a value (see --help)",
                argv[optind - 1]);
        default:
            if (optopt != 0 && optopt < OPT_BACKEND)
                die(PROGRAM, "unknown option '-%c' (see --help)", optopt);
            die(PROGRAM, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);
    for (int b = 0; b < BACKENDS; b++)
        if (!chose)
            o.use[b] = selector_backend_available((selector_backend)b);
        else if (o.use[b] && !selector_backend_available((selector_backend)b))
            die(PROGRAM, "the %s backend is not available here",
                selector_backend_name((selector_backend)b));
    return o;
}

int main(int argc, char **argv)
{
    options o = parse_options(argc, argv);
    unsigned long largest = 0;
    for (int i = 0; i < o.size_count; i++)
        if (o.sizes[i] > largest)
            largest = o.sizes[i];

    /* Selectors first, so that their own descriptors are low numbers
     * (select cannot watch its wakeup pipe above FD_SETSIZE). */
    selector *sels[BACKENDS] = {NULL};
    for (int b = 0; b < BACKENDS; b++)
        if (o.use[b] && (sels[b] = selector_open((selector_backend)b)) == NULL)
            die(PROGRAM, "cannot open a %s selector: %s",
                selector_backend_name((selector_backend)b), strerror(errno));
    int active[2];
    if (!nonblocking_pair(active) || write(active[1], "x", 1) != 1)
        die(PROGRAM, "cannot make the active socketpair: %s", strerror(errno));

    /* Both ends of each idle socketpair are idle descriptors. */
    long limit = fd_limit_raise((long)(largest + SPARE_FDS));
    unsigned long available = 0;
    int *idle = calloc(largest + 2, sizeof *idle);
    if (idle == NULL)
        die(PROGRAM, "out of memory");
    while (available < largest) {
        int pair[2];
        if (!nonblocking_pair(pair))
            break;
        idle[available++] = pair[0];
        idle[available++] = pair[1];
    }

    FILE *data = NULL;
    if (o.data != NULL && (data = fopen(o.data, "w")) == NULL)
        die(PROGRAM, "cannot write %s: %s", o.data, strerror(errno));
    if (data != NULL)
        fprintf(data, "# idle\tselect\tpoll\tepoll (microseconds per "
                      "selection, - when not measured)\n");

    printf("| idle descriptors |");
    for (int b = 0; b < BACKENDS; b++)
        if (o.use[b])
            printf(" %s (µs) |", selector_backend_name((selector_backend)b));
    printf("\n|---:|");
    for (int b = 0; b < BACKENDS; b++)
        if (o.use[b])
            printf("---:|");
    printf("\n");
    fflush(stdout);

    for (int i = 0; i < o.size_count; i++) {
        unsigned long n = o.sizes[i];
        cell cells[BACKENDS];
        for (int b = 0; b < BACKENDS; b++) {
            if (!o.use[b])
                continue;
            if (n > available)
                cells[b] = (cell){0, "skipped: too few descriptors"};
            else
                cells[b] = run_cell(sels[b], active[0], idle, n, o.time_ms);
        }
        printf("| %lu |", n);
        if (data != NULL)
            fprintf(data, "%lu", n);
        for (int b = 0; b < BACKENDS; b++) {
            if (!o.use[b]) {
                if (data != NULL)
                    fprintf(data, "\t-");
                continue;
            }
            if (cells[b].missing != NULL)
                printf(" %s |", cells[b].missing);
            else
                printf(" %.2f |", cells[b].us);
            if (data != NULL) {
                if (cells[b].missing != NULL)
                    fprintf(data, "\t-");
                else
                    fprintf(data, "\t%.3f", cells[b].us);
            }
        }
        printf("\n");
        if (data != NULL)
            fprintf(data, "\n");
        fflush(stdout);
    }
    if (available < largest)
        printf("\nOnly %lu idle descriptors could be opened (descriptor "
               "limit %ld, hard limit %ld): rows above that were "
               "skipped.\n",
               available, limit, fd_limit_hard());

    if (data != NULL)
        fclose(data);
    for (unsigned long i = 0; i < available; i++)
        close(idle[i]);
    free(idle);
    close(active[0]);
    close(active[1]);
    for (int b = 0; b < BACKENDS; b++)
        selector_close(sels[b]);
    return 0;
}
