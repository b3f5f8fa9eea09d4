/*
 * test_pipeline.c - the pipeline's contract, on embedded pipelines (no
 * socket): inbound events go head -> tail and outbound operations tail ->
 * head, a context starts an operation from its own place, a handler can
 * pass an event on or stop it, an exception reaches the handler that
 * catches it (and the tail closes when none does), a handler's state is
 * per pipeline and freed with it; the line decoder gives the same lines
 * for every split of the stream, bounds a line, and the encoders add what
 * they should.
 */
#include "06-two-selectors/channel_pipeline.h"
#include "06-two-selectors/codecs.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every recording handler appends "NAME:event " here. */
static char trace[4096];

static void note(channel_handler_context *ctx, const char *event)
{
    size_t used = strlen(trace);
    snprintf(trace + used, sizeof trace - used, "%s:%s ", ctx_name(ctx), event);
}

static void rec_active(channel_handler_context *ctx)
{
    note(ctx, "active");
    ctx_fire_channel_active(ctx);
}

static void rec_read(channel_handler_context *ctx, const message *msg)
{
    char text[64];
    snprintf(text, sizeof text, "read(%.*s)", (int)msg->length, msg->data);
    note(ctx, text);
    ctx_fire_channel_read(ctx, msg);
}

static void rec_read_complete(channel_handler_context *ctx)
{
    note(ctx, "complete");
    ctx_fire_channel_read_complete(ctx);
}

static void rec_inactive(channel_handler_context *ctx)
{
    note(ctx, "inactive");
    ctx_fire_channel_inactive(ctx);
}

static void rec_write(channel_handler_context *ctx, const message *msg)
{
    char text[64];
    snprintf(text, sizeof text, "write(%.*s)", (int)msg->length, msg->data);
    note(ctx, text);
    ctx_write(ctx, msg);
}

static void rec_flush(channel_handler_context *ctx)
{
    note(ctx, "flush");
    ctx_flush(ctx);
}

static void rec_close(channel_handler_context *ctx)
{
    note(ctx, "close");
    ctx_close(ctx);
}

static const channel_handler recorder = {.channel_active = rec_active,
                                         .channel_read = rec_read,
                                         .channel_read_complete =
                                             rec_read_complete,
                                         .channel_inactive = rec_inactive,
                                         .write = rec_write,
                                         .flush = rec_flush,
                                         .close = rec_close};

/* Stops every read: it neither passes it on nor answers. */
static void stop_read(channel_handler_context *ctx, const message *msg)
{
    (void)msg;
    note(ctx, "stopped");
}

static const channel_handler stopper = {.channel_read = stop_read};

static channel_pipeline *with_recorders(const char *names)
{
    channel_pipeline *p = channel_pipeline_new_embedded();
    for (const char *n = names; *n != '\0'; n++) {
        char name[2] = {*n, '\0'};
        channel_pipeline_add_last(p, name, &recorder, NULL, NULL);
    }
    trace[0] = '\0';
    return p;
}

static void test_inbound_order(tap *t)
{
    channel_pipeline *p = with_recorders("ABC");
    channel_pipeline_fire_channel_active(p);
    message m = message_bytes("x", 1);
    channel_pipeline_fire_channel_read(p, &m);
    channel_pipeline_fire_channel_read_complete(p);
    channel_pipeline_close(p);
    TAP_OK(t,
           strcmp(trace, "A:active B:active C:active A:read(x) B:read(x) "
                         "C:read(x) A:complete B:complete C:complete "
                         "C:close B:close A:close A:inactive B:inactive "
                         "C:inactive ") == 0,
           "inbound events go head to tail, close tail to head: %s", trace);
    TAP_OK(t, !channel_pipeline_is_open(p), "closed after close");
    trace[0] = '\0';
    channel_pipeline_fire_channel_read(p, &m);
    TAP_OK(t, trace[0] == '\0', "a closed pipeline reads nothing: '%s'", trace);
    channel_pipeline_free(p);
}

static void test_outbound_order(tap *t)
{
    channel_pipeline *p = with_recorders("ABC");
    message m = message_bytes("hi", 2);
    channel_pipeline_write_and_flush(p, &m);
    TAP_OK(t,
           strcmp(trace, "C:write(hi) B:write(hi) A:write(hi) C:flush "
                         "B:flush A:flush ") == 0,
           "outbound operations go tail to head: %s", trace);
    char out[16] = {0};
    size_t n = channel_pipeline_take_outbound(p, out, sizeof out);
    TAP_OK(t, n == 2 && memcmp(out, "hi", 2) == 0,
           "the head took the bytes (%zu)", n);
    channel_pipeline_free(p);
}

/* B writes from its own context: only A (in front of it) sees the write. */
static void write_from_b(channel_handler_context *ctx, const message *msg)
{
    note(ctx, "answers");
    ctx_write_and_flush(ctx, msg);
}

static const channel_handler answerer = {.channel_read = write_from_b};

static void test_write_from_context(tap *t)
{
    channel_pipeline *p = channel_pipeline_new_embedded();
    channel_pipeline_add_last(p, "A", &recorder, NULL, NULL);
    channel_pipeline_add_last(p, "B", &answerer, NULL, NULL);
    channel_pipeline_add_last(p, "C", &recorder, NULL, NULL);
    trace[0] = '\0';
    message m = message_bytes("q", 1);
    channel_pipeline_fire_channel_read(p, &m);
    TAP_OK(t, strcmp(trace, "A:read(q) B:answers A:write(q) A:flush ") == 0,
           "a context writes from its own place, C never sees it: %s", trace);
    channel_pipeline_free(p);
}

static void test_pass_and_stop(tap *t)
{
    channel_pipeline *p = channel_pipeline_new_embedded();
    channel_pipeline_add_last(p, "A", &recorder, NULL, NULL);
    channel_pipeline_add_last(p, "B", &stopper, NULL, NULL);
    channel_pipeline_add_last(p, "C", &recorder, NULL, NULL);
    trace[0] = '\0';
    message m = message_bytes("z", 1);
    channel_pipeline_fire_channel_read(p, &m);
    channel_pipeline_fire_channel_read_complete(p);
    TAP_OK(t, strcmp(trace, "A:read(z) B:stopped A:complete C:complete ") == 0,
           "A passes the read on, B stops it; B passes read complete "
           "on (no callback): %s",
           trace);
    channel_pipeline_free(p);
}

/* --- exceptions ----------------------------------------------------------- */

static int caught_code;
static char caught_by[8];

static void throw_on_read(channel_handler_context *ctx, const message *msg)
{
    (void)msg;
    pipeline_error e = {EPROTO, "bad message"};
    ctx_fire_exception_caught(ctx, &e);
}

static void catch_it(channel_handler_context *ctx, const pipeline_error *e)
{
    caught_code = e->code;
    snprintf(caught_by, sizeof caught_by, "%s", ctx_name(ctx));
}

static const channel_handler thrower = {.channel_read = throw_on_read};
static const channel_handler catcher = {.exception_caught = catch_it};

static void test_exceptions(tap *t)
{
    channel_pipeline *p = channel_pipeline_new_embedded();
    channel_pipeline_add_last(p, "T", &thrower, NULL, NULL);
    channel_pipeline_add_last(p, "R", &recorder, NULL, NULL); /* passes on */
    channel_pipeline_add_last(p, "K", &catcher, NULL, NULL);
    message m = message_bytes("x", 1);
    channel_pipeline_fire_channel_read(p, &m);
    TAP_OK(t, caught_code == EPROTO && strcmp(caught_by, "K") == 0,
           "an exception passes R and reaches K's exception caught (%d, %s)",
           caught_code, caught_by);
    TAP_OK(t, channel_pipeline_is_open(p), "K caught it: still open");
    channel_pipeline_free(p);

    /* Nobody catches: the tail closes the channel. */
    p = channel_pipeline_new_embedded();
    channel_pipeline_add_last(p, "T", &thrower, NULL, NULL);
    channel_pipeline_add_last(p, "R", &recorder, NULL, NULL);
    channel_pipeline_fire_channel_active(p);
    trace[0] = '\0';
    channel_pipeline_fire_channel_read(p, &m);
    TAP_OK(t, !channel_pipeline_is_open(p),
           "an exception nobody catches closes the channel at the tail");
    TAP_OK(t, strcmp(trace, "R:close R:inactive ") == 0,
           "and inactive follows: %s", trace);
    channel_pipeline_free(p);

    /* A string that reaches the head without an encoder. */
    p = channel_pipeline_new_embedded();
    channel_pipeline_add_last(p, "K", &catcher, NULL, NULL);
    caught_code = 0;
    message s = message_string("no encoder");
    channel_pipeline_write_and_flush(p, &s);
    TAP_OK(t, caught_code == EINVAL && channel_pipeline_pending_bytes(p) == 0,
           "a string at the head is an exception, nothing is written");
    channel_pipeline_free(p);
}

/* --- per-connection state ------------------------------------------------- */

static int freed;

static void count_read(channel_handler_context *ctx, const message *msg)
{
    (void)msg;
    int *n = ctx_state(ctx);
    ++*n;
}

static void free_counter(void *state)
{
    freed++;
    free(state);
}

static const channel_handler counter = {.channel_read = count_read};

static void test_state(tap *t)
{
    channel_pipeline *a = channel_pipeline_new_embedded();
    channel_pipeline *b = channel_pipeline_new_embedded();
    int *na = calloc(1, sizeof *na), *nb = calloc(1, sizeof *nb);
    channel_pipeline_add_last(a, "count", &counter, na, free_counter);
    channel_pipeline_add_last(b, "count", &counter, nb, free_counter);
    message m = message_bytes("x", 1);
    channel_pipeline_fire_channel_read(a, &m);
    channel_pipeline_fire_channel_read(a, &m);
    channel_pipeline_fire_channel_read(b, &m);
    TAP_OK(t, *na == 2 && *nb == 1, "each pipeline has its own state (%d, %d)",
           *na, *nb);
    freed = 0;
    channel_pipeline_free(a);
    channel_pipeline_free(b);
    TAP_OK(t, freed == 2, "the state is freed with its pipeline (%d)", freed);
}

/* --- codecs --------------------------------------------------------------- */

static char lines[4096];
static int too_long_count;

static void collect(channel_handler_context *ctx, const message *msg)
{
    (void)ctx;
    size_t used = strlen(lines);
    snprintf(lines + used, sizeof lines - used, "%s%s|",
             msg->kind == MESSAGE_STRING ? "s:" : "b:", msg->data);
}

static void count_too_long(channel_handler_context *ctx,
                           const pipeline_error *e)
{
    (void)ctx;
    if (e->code == EMSGSIZE)
        too_long_count++;
}

static const channel_handler collector = {.channel_read = collect,
                                          .exception_caught = count_too_long};

static channel_pipeline *decoding(size_t max)
{
    channel_pipeline *p = channel_pipeline_new_embedded();
    line_based_frame_decoder_add(p, "framer", max);
    string_decoder_add(p, "decoder");
    channel_pipeline_add_last(p, "collect", &collector, NULL, NULL);
    lines[0] = '\0';
    too_long_count = 0;
    return p;
}

static void feed(channel_pipeline *p, const char *data, size_t length)
{
    message m = message_bytes(data, length);
    channel_pipeline_fire_channel_read(p, &m);
}

static void test_decoder_splits(tap *t)
{
    static const char input[] = "hello\nworld\r\n\nlast line here\npartial";
    static const char want[] = "s:hello|s:world|s:|s:last line here|";
    size_t length = sizeof input - 1;
    int bad = 0;
    for (size_t i = 0; i <= length; i++) {
        for (size_t j = i; j <= length; j++) {
            channel_pipeline *p = decoding(16);
            feed(p, input, i);
            feed(p, input + i, j - i);
            feed(p, input + j, length - j);
            if (strcmp(lines, want) != 0 || too_long_count != 0) {
                if (bad++ == 0)
                    TAP_OK(t, 0, "split at %zu and %zu gave %s", i, j, lines);
            }
            channel_pipeline_free(p);
        }
    }
    TAP_OK(t, bad == 0,
           "every split of the stream in three gives the same lines (%d bad)",
           bad);
    channel_pipeline *p = decoding(16);
    for (size_t i = 0; i < length; i++)
        feed(p, input + i, 1);
    TAP_OK(t, strcmp(lines, want) == 0, "one byte at a time: %s", lines);
    channel_pipeline_free(p);
}

static void test_decoder_bound(tap *t)
{
    static const char input[] = "12345678\n123456789\nok\r\n123456789\r\n"
                                "abcdefghijklmnop\nend\n";
    static const char want[] = "s:12345678|s:ok|s:end|";
    size_t length = sizeof input - 1;
    int bad = 0;
    for (size_t i = 0; i <= length; i++) {
        channel_pipeline *p = decoding(8);
        feed(p, input, i);
        feed(p, input + i, length - i);
        if (strcmp(lines, want) != 0 || too_long_count != 3) {
            if (bad++ == 0)
                TAP_OK(t, 0, "split at %zu: %s, %d too long", i, lines,
                       too_long_count);
        }
        channel_pipeline_free(p);
    }
    TAP_OK(t, bad == 0,
           "lines over 8 bytes are dropped and reported (EMSGSIZE), at "
           "every split; the next line is whole (%d bad)",
           bad);
}

/* Closes the channel on the line "b": the lines after it in the same read
 * must not be delivered. */
static void close_on_b(channel_handler_context *ctx, const message *msg)
{
    collect(ctx, msg);
    if (strcmp(msg->data, "b") == 0)
        ctx_close(ctx);
}

static const channel_handler closer = {.channel_read = close_on_b};

static void test_close_mid_read(tap *t)
{
    channel_pipeline *p = channel_pipeline_new_embedded();
    line_based_frame_decoder_add(p, "framer", 16);
    string_decoder_add(p, "decoder");
    channel_pipeline_add_last(p, "closer", &closer, NULL, NULL);
    lines[0] = '\0';
    feed(p, "a\nb\nc\n", 6);
    TAP_OK(t, strcmp(lines, "s:a|s:b|") == 0 && !channel_pipeline_is_open(p),
           "a handler closing on 'b' stops 'c' in the same read: %s", lines);
    channel_pipeline_free(p);
}

static void test_encoders(tap *t)
{
    channel_pipeline *p = channel_pipeline_new_embedded();
    line_encoder_add(p, "encoder");
    message a = message_string("received"), b = message_string("again");
    channel_pipeline_write(p, &a);
    char out[64] = {0};
    TAP_OK(t, channel_pipeline_take_outbound(p, out, sizeof out) == 0,
           "nothing leaves before flush");
    channel_pipeline_write_and_flush(p, &b);
    size_t n = channel_pipeline_take_outbound(p, out, sizeof out);
    TAP_OK(t, n == 15 && memcmp(out, "received\nagain\n", 15) == 0,
           "the line encoder ends each string with \\n: '%.*s'", (int)n, out);
    channel_pipeline_free(p);

    p = channel_pipeline_new_embedded();
    string_encoder_add(p, "encoder");
    channel_pipeline_write_and_flush(p, &a);
    n = channel_pipeline_take_outbound(p, out, sizeof out);
    TAP_OK(t, n == 8 && memcmp(out, "received", 8) == 0,
           "the string encoder sends the string's bytes only");
    channel_pipeline_free(p);
}

int main(void)
{
    tap t = {0};
    test_inbound_order(&t);
    test_outbound_order(&t);
    test_write_from_context(&t);
    test_pass_and_stop(&t);
    test_exceptions(&t);
    test_state(&t);
    test_decoder_splits(&t);
    test_decoder_bound(&t);
    test_close_mid_read(&t);
    test_encoders(&t);
    return tap_done(&t);
}
