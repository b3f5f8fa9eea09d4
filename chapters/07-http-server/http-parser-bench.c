/*
 * http-parser-bench.c - how long the request parser takes for a realistic
 * request: a browser's GET of about 700 bytes, with the fields a browser
 * sends (User-Agent, Accept-*, Cookie, Sec-Fetch-*, ...).
 *
 * Two figures: the request parsed in one call (the usual case: a whole
 * request arrives in one read), and fed one byte at a time (a client, or
 * an attacker, trickling it in). The second shows that resuming costs a
 * constant per call, not a re-parse from the start: its cost per byte is
 * the cost of a call, not of the bytes before it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "07-http-server/http_parser.h"
#include "cli.h"
#include "log.h"
#include "clock.h"

#define PROGRAM "http-parser-bench"

/* A browser's request for a page, as Firefox sends it. */
static const char request_text[] =
    "GET /chapters/07-http-server/README.html?from=index&lang=en HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
    "Firefox/128.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/"
    "avif,image/webp,*/*;q=0.8\r\n"
    "Accept-Language: en-GB,en;q=0.7,fr;q=0.3\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Referer: http://127.0.0.1:8080/chapters/06-two-selectors/README.html\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: theme=dark; session=6f1c2a9e0b7d4e55a3c1f0e2d9b8a7c6; "
    "seen=1,2,3,4,5,6\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Priority: u=0, i\r\n"
    "If-None-Match: \"2a1f-65b7c3d2\"\r\n"
    "\r\n";

static void usage(FILE *out)
{
    fprintf(out, "usage: " PROGRAM " [-n REQUESTS]\n"
                 "Times the HTTP request parser on a ~700-byte browser "
                 "request,\n"
                 "parsed whole and fed one byte at a time.\n"
                 "\n"
                 "  -n, --requests N   requests parsed whole (default "
                 "2000000;\n"
                 "                     a fiftieth of that byte by byte)\n"
                 "  -h, --help         show this help\n");
}

int main(int argc, char **argv)
{
    unsigned long requests = 2000000;
    static const struct option options[] = {
        {"requests", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "n:h", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            requests = cli_ulong_or_die(PROGRAM, "request count", optarg, 50,
                                        1000000000ul);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);

    size_t n = sizeof request_text - 1;
    http_limits limits = HTTP_LIMITS_DEFAULT;
    http_header headers[64];
    http_parser parser;
    http_request request;
    http_parser_init(&parser, &limits, headers, 64);
    if (http_parser_parse_request(&parser, request_text, n, &request) !=
        HTTP_PARSE_DONE)
        die(PROGRAM, "the sample request does not parse: %s",
            parser.reason ? parser.reason : "incomplete");
    printf("request: %zu bytes, %zu header fields\n", n, request.header_count);

    /* excerpt:begin bench */
    size_t fields = 0;
    double start = (double)monotonic_ns();
    for (unsigned long i = 0; i < requests; i++) {
        http_parser_reset(&parser);
        http_parser_parse_request(&parser, request_text, n, &request);
        fields += request.header_count; /* keeps the work observable */
    }
    double whole = ((double)monotonic_ns() - start) / (double)requests;
    /* excerpt:end bench */

    unsigned long slow = requests / 50;
    start = (double)monotonic_ns();
    for (unsigned long i = 0; i < slow; i++) {
        http_parser_reset(&parser);
        for (size_t k = 1; k <= n; k++)
            if (http_parser_parse_request(&parser, request_text, k, &request) !=
                HTTP_PARSE_MORE)
                break;
        fields += request.header_count;
    }
    double bytewise = ((double)monotonic_ns() - start) / (double)slow;

    printf("whole:        %8.0f ns/request  %6.2f ns/byte  (%lu requests)\n",
           whole, whole / (double)n, requests);
    printf("byte by byte: %8.0f ns/request  %6.2f ns/call  (%zu calls "
           "each)\n",
           bytewise, bytewise / (double)n, n);
    return fields == 0; /* never: the requests had fields */
}
