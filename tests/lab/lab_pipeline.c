/*
 * lab_pipeline.c - the unit stages of part 2 of chapter 6's lab, in the
 * order of chapters/06-two-selectors/pipeline.md: inbound events through
 * the contexts, outbound operations the other way, the line-based frame
 * decoder, and the string codecs. (The servers are shell stages in
 * tests/lab/06-two-selectors.stages.) Every check goes through
 * channel_pipeline.h and codecs.h only, on embedded pipelines (no socket,
 * no event loop), so any correct channel_pipeline.c and codecs.c pass.
 *
 * Handlers here write what they saw into `trace` as "NAME:event ", so a
 * failing check shows the path an event really took.
 */
#include "06-two-selectors/channel_pipeline.h"
#include "06-two-selectors/codecs.h"
#include "lab_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char trace[4096];

static void note(channel_handler_context *ctx, const char *event)
{
    size_t used = strlen(trace);
    snprintf(trace + used, sizeof trace - used, "%s:%s ", ctx_name(ctx), event);
}

static const char *shown(void)
{
    return trace[0] != '\0' ? trace : "(no handler saw anything)";
}

static channel_pipeline *embedded(void)
{
    channel_pipeline *p = channel_pipeline_new_embedded();
    if (p == NULL)
        lab_fail("channel_pipeline_new_embedded to make a pipeline",
                 "NULL (%s)", strerror(errno));
    return p;
}

static void add(channel_pipeline *p, const char *name,
                const channel_handler *handler, void *state,
                void (*free_state)(void *state))
{
    errno = 0;
    int r = channel_pipeline_add_last(p, name, handler, state, free_state);
    LAB_EXPECT(r == 0,
               "channel_pipeline_add_last to return 0: the handler gets a "
               "context between the last handler and the tail",
               "%d (%s) adding \"%s\"", r, strerror(errno), name);
}

static void expect_trace(const char *want, const char *expected)
{
    LAB_EXPECT(strcmp(trace, want) == 0, expected, "%s", shown());
}

/* --- handlers that record ------------------------------------------------- */

static void rec_active(channel_handler_context *ctx)
{
    note(ctx, "active");
    ctx_fire_channel_active(ctx);
}

static void rec_read(channel_handler_context *ctx, const message *msg)
{
    char text[80];
    snprintf(text, sizeof text, "read(%.*s)", (int)msg->length, msg->data);
    note(ctx, text);
    ctx_fire_channel_read(ctx, msg);
}

static void rec_complete(channel_handler_context *ctx)
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
    char text[80];
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
                                         .channel_read_complete = rec_complete,
                                         .channel_inactive = rec_inactive,
                                         .write = rec_write,
                                         .flush = rec_flush,
                                         .close = rec_close};

/* Only outbound callbacks: every inbound event must pass it by. */
static const channel_handler outbound_only = {.write = rec_write};
/* Only inbound callbacks: every outbound operation must pass it by. */
static const channel_handler inbound_only = {.channel_read = rec_read};

static void stop_read(channel_handler_context *ctx, const message *msg)
{
    (void)msg;
    note(ctx, "stopped");
}

static const channel_handler stopper = {.channel_read = stop_read};

/* Per-pipeline state: counts its reads; freed with the pipeline. */
typedef struct counter {
    int reads;
    int *frees;
} counter;

static void count_read(channel_handler_context *ctx, const message *msg)
{
    counter *c = ctx_state(ctx);
    c->reads++;
    ctx_fire_channel_read(ctx, msg);
}

static void free_counter(void *state)
{
    counter *c = state;
    (*c->frees)++;
    free(c);
}

static const channel_handler counting = {.channel_read = count_read};

static counter *new_counter(int *frees)
{
    counter *c = calloc(1, sizeof *c);
    if (c == NULL)
        lab_fail("memory for the stage", "calloc returned NULL");
    c->frees = frees;
    return c;
}

/* Exceptions: a thrower fires one from its own context on every read. */
static void throw_on_read(channel_handler_context *ctx, const message *msg)
{
    (void)msg;
    note(ctx, "throws");
    pipeline_error e = {EPROTO, "bad message"};
    ctx_fire_exception_caught(ctx, &e);
}

static void catch_it(channel_handler_context *ctx, const pipeline_error *e)
{
    char text[80];
    snprintf(text, sizeof text, "caught(%s)", e->text);
    note(ctx, text);
}

static const channel_handler thrower = {.channel_read = throw_on_read};
static const channel_handler catcher = {.exception_caught = catch_it};

static void fire_read(channel_pipeline *p, const char *text)
{
    message m = message_bytes(text, strlen(text));
    channel_pipeline_fire_channel_read(p, &m);
}

/* --- stage pipeline-inbound ----------------------------------------------- */

static void stage_pipeline_inbound(void)
{
    lab_did("add handlers A, B, C (in that order) to an embedded pipeline, "
            "then fire channel active, a read of \"x\" and read complete "
            "from the head");
    channel_pipeline *p = embedded();
    add(p, "A", &recorder, NULL, NULL);
    add(p, "B", &recorder, NULL, NULL);
    add(p, "C", &recorder, NULL, NULL);
    trace[0] = '\0';
    channel_pipeline_fire_channel_active(p);
    fire_read(p, "x");
    channel_pipeline_fire_channel_read_complete(p);
    expect_trace("A:active B:active C:active A:read(x) B:read(x) C:read(x) "
                 "A:complete B:complete C:complete ",
                 "each event to reach A, then B, then C: inbound goes from "
                 "the head to the tail, in the order the handlers were added, "
                 "and each handler passes it on with ctx_fire_*");
    channel_pipeline_free(p);

    lab_did("A, then W (no channel_read callback), then B (stops every read), "
            "then C; fire a read of \"y\" and read complete");
    p = embedded();
    add(p, "A", &recorder, NULL, NULL);
    add(p, "W", &outbound_only, NULL, NULL);
    add(p, "B", &stopper, NULL, NULL);
    add(p, "C", &recorder, NULL, NULL);
    trace[0] = '\0';
    fire_read(p, "y");
    channel_pipeline_fire_channel_read_complete(p);
    expect_trace("A:read(y) B:stopped A:complete C:complete ",
                 "the read to pass W by (a NULL callback passes the event "
                 "on) and stop at B (it does not pass it on), while read "
                 "complete, which B has no callback for, reaches C");
    channel_pipeline_free(p);

    lab_did("T throws (fires exception caught from its own context) on a "
            "read; catchers X before it and Y after it");
    p = embedded();
    add(p, "X", &catcher, NULL, NULL);
    add(p, "T", &thrower, NULL, NULL);
    add(p, "Y", &catcher, NULL, NULL);
    trace[0] = '\0';
    fire_read(p, "z");
    expect_trace("T:throws Y:caught(bad message) ",
                 "only Y to catch it: an exception travels inbound, towards "
                 "the tail, from the handler that fired it");
    LAB_EXPECT(channel_pipeline_is_open(p),
               "the pipeline still open: Y caught the exception", "closed");
    channel_pipeline_free(p);

    lab_did("A, then T throws on a read, and nobody after T catches: "
            "channel active first, then a read");
    p = embedded();
    add(p, "A", &recorder, NULL, NULL);
    add(p, "T", &thrower, NULL, NULL);
    channel_pipeline_fire_channel_active(p);
    trace[0] = '\0';
    fire_read(p, "boom");
    LAB_EXPECT(!channel_pipeline_is_open(p),
               "the tail to catch it and close the pipeline (the walk ends at "
               "the tail, which handles every exception)",
               "still open; the handlers saw: %s", shown());
    expect_trace("A:read(boom) T:throws A:close A:inactive ",
                 "the close to pass A on its way to the head, then channel "
                 "inactive once");
    trace[0] = '\0';
    fire_read(p, "late");
    expect_trace("", "a closed pipeline to fire no more reads");
    channel_pipeline_free(p);

    lab_did("two pipelines, each with its own counting handler and state; "
            "two reads on the first, one on the second, then free both");
    int frees = 0;
    counter *one = new_counter(&frees), *two = new_counter(&frees);
    channel_pipeline *p1 = embedded(), *p2 = embedded();
    add(p1, "count", &counting, one, free_counter);
    add(p2, "count", &counting, two, free_counter);
    fire_read(p1, "a");
    fire_read(p1, "b");
    fire_read(p2, "c");
    LAB_EXPECT(one->reads == 2 && two->reads == 1,
               "2 reads counted in the first pipeline's state, 1 in the "
               "second's: ctx_state gives each context its own state",
               "%d and %d", one->reads, two->reads);
    channel_pipeline_free(p1);
    channel_pipeline_free(p2);
    LAB_EXPECT(frees == 2,
               "each state freed once, with its pipeline (free_state)",
               "%d call(s) of free_state", frees);
}

/* --- stage pipeline-outbound ---------------------------------------------- */

static size_t take(channel_pipeline *p, char *out, size_t size)
{
    size_t n = channel_pipeline_take_outbound(p, out, size - 1);
    out[n] = '\0';
    return n;
}

static void answer(channel_handler_context *ctx, const message *msg)
{
    note(ctx, "answers");
    ctx_write_and_flush(ctx, msg);
}

static const channel_handler answerer = {.channel_read = answer};

static void close_on_read(channel_handler_context *ctx, const message *msg)
{
    (void)msg;
    note(ctx, "closes");
    ctx_close(ctx);
}

static const channel_handler closer = {.channel_read = close_on_read};

static void stage_pipeline_outbound(void)
{
    char out[256];
    lab_did("A, B, C; channel_pipeline_write_and_flush(\"hi\") from the "
            "tail");
    channel_pipeline *p = embedded();
    add(p, "A", &recorder, NULL, NULL);
    add(p, "B", &recorder, NULL, NULL);
    add(p, "C", &recorder, NULL, NULL);
    trace[0] = '\0';
    message hi = message_bytes("hi", 2);
    channel_pipeline_write_and_flush(p, &hi);
    expect_trace("C:write(hi) B:write(hi) A:write(hi) C:flush B:flush "
                 "A:flush ",
                 "the write, then the flush, to reach C, then B, then A: "
                 "outbound goes from the tail towards the head");
    take(p, out, sizeof out);
    LAB_EXPECT(strcmp(out, "hi") == 0,
               "\"hi\" flushed by the head (the walk ends at the head)",
               "\"%s\"", out);

    lab_did("write \"a\" from the tail, look at what was flushed, then flush");
    message a = message_bytes("a", 1);
    trace[0] = '\0';
    channel_pipeline_write(p, &a);
    take(p, out, sizeof out);
    LAB_EXPECT(out[0] == '\0',
               "nothing flushed yet: a write only queues the bytes at the "
               "head",
               "\"%s\"", out);
    channel_pipeline_flush(p);
    take(p, out, sizeof out);
    LAB_EXPECT(strcmp(out, "a") == 0, "\"a\" after the flush", "\"%s\" (%s)",
               out, shown());
    channel_pipeline_free(p);

    lab_did("A, then B (writes back what it reads, from its own context), "
            "then C; fire a read of \"q\"");
    p = embedded();
    add(p, "A", &recorder, NULL, NULL);
    add(p, "B", &answerer, NULL, NULL);
    add(p, "C", &recorder, NULL, NULL);
    trace[0] = '\0';
    fire_read(p, "q");
    expect_trace("A:read(q) B:answers A:write(q) A:flush ",
                 "B's write and flush to start at B's place and go to A "
                 "only: C, behind B, never sees them");
    take(p, out, sizeof out);
    LAB_EXPECT(strcmp(out, "q") == 0, "\"q\" flushed", "\"%s\"", out);
    channel_pipeline_free(p);

    lab_did("A, then I (no write callback), then C; write \"w\" from the "
            "tail");
    p = embedded();
    add(p, "A", &recorder, NULL, NULL);
    add(p, "I", &inbound_only, NULL, NULL);
    add(p, "C", &recorder, NULL, NULL);
    trace[0] = '\0';
    message w = message_bytes("w", 1);
    channel_pipeline_write(p, &w);
    expect_trace("C:write(w) A:write(w) ",
                 "the write to pass I by: a NULL callback passes it on");
    channel_pipeline_free(p);

    lab_did("A, B, C, channel active, then channel_pipeline_close twice");
    p = embedded();
    add(p, "A", &recorder, NULL, NULL);
    add(p, "B", &recorder, NULL, NULL);
    add(p, "C", &recorder, NULL, NULL);
    channel_pipeline_fire_channel_active(p);
    trace[0] = '\0';
    channel_pipeline_close(p);
    LAB_EXPECT(!channel_pipeline_is_open(p), "the pipeline closed", "open (%s)",
               shown());
    expect_trace("C:close B:close A:close A:inactive B:inactive C:inactive ",
                 "close to go C, B, A to the head, which closes; then channel "
                 "inactive from the head to the tail");
    trace[0] = '\0';
    channel_pipeline_close(p);
    LAB_EXPECT(strstr(trace, "inactive") == NULL,
               "no second channel inactive: the head finds the channel "
               "closed already",
               "%s", shown());
    channel_pipeline_free(p);

    lab_did("A, then B (closes from its own context on a read), then C; "
            "fire a read of \"bye\"");
    p = embedded();
    add(p, "A", &recorder, NULL, NULL);
    add(p, "B", &closer, NULL, NULL);
    add(p, "C", &recorder, NULL, NULL);
    channel_pipeline_fire_channel_active(p);
    trace[0] = '\0';
    fire_read(p, "bye");
    expect_trace("A:read(bye) B:closes A:close A:inactive C:inactive ",
                 "B's close to start at B and reach A only (C never sees "
                 "close), then channel inactive");
    channel_pipeline_free(p);

    lab_did("A, then a catcher X; write a string (not bytes) from the tail: "
            "there is no encoder");
    p = embedded();
    add(p, "A", &recorder, NULL, NULL);
    add(p, "X", &catcher, NULL, NULL);
    trace[0] = '\0';
    message s = message_string("text");
    channel_pipeline_write_and_flush(p, &s);
    LAB_EXPECT(strstr(trace, "X:caught(") != NULL,
               "the head to refuse the string with exception caught, which "
               "travels inbound from the head to X",
               "%s", shown());
    channel_pipeline_free(p);
}

/* --- a collector at the end of a decoding pipeline ------------------------ */

enum { MAX_LINES = 32 };

typedef struct collected {
    int count;
    char lines[MAX_LINES][80];
    message_kind kinds[MAX_LINES];
    bool terminated[MAX_LINES]; /* a NUL right after the string's bytes */
    const char *data[MAX_LINES];
    int errors;
    int last_code;
} collected;

static collected got;

static void collect(channel_handler_context *ctx, const message *msg)
{
    (void)ctx;
    if (got.count == MAX_LINES)
        return;
    int i = got.count++;
    snprintf(got.lines[i], sizeof got.lines[i], "%.*s", (int)msg->length,
             msg->data);
    got.kinds[i] = msg->kind;
    got.data[i] = msg->data;
    got.terminated[i] =
        msg->kind == MESSAGE_STRING &&
        memchr(msg->data, '\0', msg->length + 1) == msg->data + msg->length;
}

static void collect_error(channel_handler_context *ctx, const pipeline_error *e)
{
    (void)ctx;
    got.errors++;
    got.last_code = e->code;
}

static const channel_handler collector = {.channel_read = collect,
                                          .exception_caught = collect_error};

/* "one|two|" for the lines collected so far. */
static const char *lines_shown(void)
{
    static char text[MAX_LINES * 84];
    text[0] = '\0';
    for (int i = 0; i < got.count; i++) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof text - used, "\"%s\" ", got.lines[i]);
    }
    if (got.errors > 0) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof text - used, "and %d exception(s)",
                 got.errors);
    }
    return text[0] != '\0' ? text : "(nothing)";
}

static channel_pipeline *decoding(size_t max_length)
{
    channel_pipeline *p = embedded();
    errno = 0;
    int r = line_based_frame_decoder_add(p, "framer", max_length);
    LAB_EXPECT(r == 0, "line_based_frame_decoder_add to return 0", "%d (%s)", r,
               strerror(errno));
    add(p, "collector", &collector, NULL, NULL);
    memset(&got, 0, sizeof got);
    return p;
}

static void feed(channel_pipeline *p, const char *data, size_t length)
{
    message m = message_bytes(data, length);
    channel_pipeline_fire_channel_read(p, &m);
}

static void feed_text(channel_pipeline *p, const char *text)
{
    feed(p, text, strlen(text));
}

static bool lines_are(const char *const *want, int n)
{
    if (got.count != n || got.errors != 0)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(got.lines[i], want[i]) != 0 || got.kinds[i] != MESSAGE_BYTES)
            return false;
    return true;
}

/* --- stage line-decoder --------------------------------------------------- */

static void stage_line_decoder(void)
{
    lab_did("a line decoder (max 64) before a collector; one read of "
            "\"one\\ntwo\\r\\n\\nthree\\n\"");
    channel_pipeline *p = decoding(64);
    feed_text(p, "one\ntwo\r\n\nthree\n");
    static const char *const four[] = {"one", "two", "", "three"};
    LAB_EXPECT(lines_are(four, 4),
               "four lines, as bytes, each without its \"\\n\" or "
               "\"\\r\\n\": \"one\" \"two\" \"\" \"three\"",
               "%s", lines_shown());

    lab_did("read \"par\", then \"tial\\nno end\"");
    memset(&got, 0, sizeof got);
    feed_text(p, "par");
    LAB_EXPECT(got.count == 0,
               "nothing yet: \"par\" is part of a line, kept until its "
               "\"\\n\" comes",
               "%s", lines_shown());
    feed_text(p, "tial\nno end");
    static const char *const partial[] = {"partial"};
    LAB_EXPECT(lines_are(partial, 1),
               "one line, \"partial\": the part kept, then the rest; \"no "
               "end\" is kept for later",
               "%s", lines_shown());

    lab_did("a string message (not bytes) into the decoder");
    memset(&got, 0, sizeof got);
    message s = message_string("as it is");
    channel_pipeline_fire_channel_read(p, &s);
    LAB_EXPECT(got.count == 1 && got.kinds[0] == MESSAGE_STRING &&
                   strcmp(got.lines[0], "as it is") == 0,
               "the string passed on as it is: a decoder decodes bytes "
               "only",
               "%s", lines_shown());
    channel_pipeline_free(p); /* with "no end" still held: no leak */

    static const char stream[] = "alpha\r\nbeta\n\ngamma delta\nz\r\n";
    static const char *const want[] = {"alpha", "beta", "", "gamma delta", "z"};
    size_t n = sizeof stream - 1;
    lab_did("the stream \"alpha\\r\\nbeta\\n\\ngamma delta\\nz\\r\\n\" cut "
            "into three reads, at every pair of points");
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            p = decoding(64);
            feed(p, stream, i);
            feed(p, stream + i, j - i);
            feed(p, stream + j, n - j);
            LAB_EXPECT(lines_are(want, 5),
                       "the same five lines, \"alpha\" \"beta\" \"\" "
                       "\"gamma delta\" \"z\", however TCP cuts the stream",
                       "%s when cut after byte %zu and byte %zu", lines_shown(),
                       i, j);
            channel_pipeline_free(p);
        }
    }
    lab_did("the same stream, one byte per read");
    p = decoding(64);
    for (size_t i = 0; i < n; i++)
        feed(p, stream + i, 1);
    LAB_EXPECT(lines_are(want, 5), "the same five lines", "%s", lines_shown());
    channel_pipeline_free(p);

    lab_did("a decoder with max 8: \"12345678\\n\" then \"abcdefgh\\r\\n\"");
    p = decoding(8);
    feed_text(p, "12345678\n");
    feed_text(p, "abcdefgh\r\n");
    static const char *const fit[] = {"12345678", "abcdefgh"};
    LAB_EXPECT(lines_are(fit, 2),
               "both lines: 8 bytes is the most, and the \"\\r\" before a "
               "\"\\n\" is not part of the line",
               "%s", lines_shown());

    lab_did("max 8: \"123456789\\nok\\n\" in one read");
    memset(&got, 0, sizeof got);
    feed_text(p, "123456789\nok\n");
    LAB_EXPECT(got.errors == 1 && got.last_code == EMSGSIZE && got.count == 1 &&
                   strcmp(got.lines[0], "ok") == 0,
               "one exception caught with EMSGSIZE for the 9-byte line (not "
               "passed on), then \"ok\"",
               "%s (last code %d)", lines_shown(), got.last_code);

    lab_did("max 8: a long line over three reads, \"abcdefghij\", "
            "\"klmnop\", \"qr\\nnext\\n\"");
    memset(&got, 0, sizeof got);
    feed_text(p, "abcdefghij");
    feed_text(p, "klmnop");
    feed_text(p, "qr\nnext\n");
    LAB_EXPECT(got.errors == 1 && got.count == 1 &&
                   strcmp(got.lines[0], "next") == 0,
               "one exception (EMSGSIZE) as soon as the line is too long, the "
               "rest of it dropped up to its \"\\n\", then \"next\"; never "
               "more than 8 bytes held",
               "%s", lines_shown());

    lab_did("max 8: \"123456789012\" one byte per read, then \"\\nend\\n\"");
    memset(&got, 0, sizeof got);
    for (const char *c = "123456789012"; *c != '\0'; c++)
        feed(p, c, 1);
    feed_text(p, "\nend\n");
    LAB_EXPECT(got.errors == 1 && got.count == 1 &&
                   strcmp(got.lines[0], "end") == 0,
               "one exception, then \"end\"", "%s", lines_shown());
    channel_pipeline_free(p);
}

/* --- stage codecs --------------------------------------------------------- */

static void echo_read(channel_handler_context *ctx, const message *msg)
{
    note(ctx, msg->kind == MESSAGE_STRING ? "string" : "bytes");
    ctx_write(ctx, msg);
}

static void echo_complete(channel_handler_context *ctx)
{
    ctx_flush(ctx);
}

static const channel_handler echo = {.channel_read = echo_read,
                                     .channel_read_complete = echo_complete,
                                     .exception_caught = catch_it};

static void expect_out(channel_pipeline *p, const char *want,
                       const char *expected)
{
    char out[256];
    take(p, out, sizeof out);
    LAB_EXPECT(strcmp(out, want) == 0, expected, "\"%s\"%s%s", out,
               trace[0] != '\0' ? "; the handlers saw: " : "", trace);
}

static void stage_codecs(void)
{
    lab_did("a string decoder before a collector; a read of the 5 bytes "
            "\"hello\" out of \"hello world\", then of \"hi\"");
    channel_pipeline *p = embedded();
    errno = 0;
    int r = string_decoder_add(p, "decoder");
    LAB_EXPECT(r == 0, "string_decoder_add to return 0", "%d (%s)", r,
               strerror(errno));
    add(p, "collector", &collector, NULL, NULL);
    memset(&got, 0, sizeof got);
    feed(p, "hello world", 5);
    feed_text(p, "hi");
    LAB_EXPECT(got.count == 2 && got.kinds[0] == MESSAGE_STRING &&
                   got.kinds[1] == MESSAGE_STRING,
               "two messages of kind MESSAGE_STRING", "%d message(s)%s",
               got.count, got.count == 2 ? ", not both strings" : "");
    LAB_EXPECT(strcmp(got.lines[0], "hello") == 0 &&
                   strcmp(got.lines[1], "hi") == 0,
               "\"hello\" (5 bytes), then \"hi\"", "%s", lines_shown());
    LAB_EXPECT(got.terminated[0] && got.terminated[1],
               "each string NUL-terminated right after its bytes: a C "
               "string, even in a buffer reused from a longer one",
               "\"hello\" %s, \"hi\" %s",
               got.terminated[0] ? "terminated" : "not terminated",
               got.terminated[1] ? "terminated" : "not terminated");
    lab_did("a string message (not bytes) into the string decoder");
    memset(&got, 0, sizeof got);
    message s = message_string("kept");
    channel_pipeline_fire_channel_read(p, &s);
    LAB_EXPECT(got.count == 1 && got.data[0] == s.data,
               "the same message passed on: only bytes are decoded", "%s",
               lines_shown());
    channel_pipeline_free(p);

    lab_did("a string encoder, then a catcher X; write the string \"abc\", "
            "then the bytes \"xyz\", from the tail, and flush");
    p = embedded();
    errno = 0;
    r = string_encoder_add(p, "encoder");
    LAB_EXPECT(r == 0, "string_encoder_add to return 0", "%d (%s)", r,
               strerror(errno));
    add(p, "X", &catcher, NULL, NULL);
    trace[0] = '\0';
    message abc = message_string("abc");
    message xyz = message_bytes("xyz", 3);
    channel_pipeline_write(p, &abc);
    channel_pipeline_write_and_flush(p, &xyz);
    expect_out(p, "abcxyz",
               "\"abcxyz\" at the head: the string as bytes (nothing added), "
               "the bytes as they were");
    channel_pipeline_free(p);

    lab_did("a line encoder, then a catcher X; write the string \"hi\", then "
            "the bytes \"raw\", from the tail, and flush");
    p = embedded();
    errno = 0;
    r = line_encoder_add(p, "encoder");
    LAB_EXPECT(r == 0, "line_encoder_add to return 0", "%d (%s)", r,
               strerror(errno));
    add(p, "X", &catcher, NULL, NULL);
    trace[0] = '\0';
    message line = message_string("hi");
    message raw = message_bytes("raw", 3);
    channel_pipeline_write(p, &line);
    channel_pipeline_write_and_flush(p, &raw);
    expect_out(p, "hi\nraw",
               "\"hi\\nraw\": the string's bytes and one \"\\n\", the bytes "
               "as they were (no \"\\n\")");
    channel_pipeline_free(p);

    lab_did("framer (max 16) -> string decoder -> line encoder -> E (writes "
            "back each string it reads, flushes on read complete); reads "
            "\"a\\nbb\\r\\ncc\" and \"c\\n\", each with read complete");
    p = embedded();
    if (line_based_frame_decoder_add(p, "framer", 16) < 0 ||
        string_decoder_add(p, "decoder") < 0 ||
        line_encoder_add(p, "encoder") < 0)
        lab_fail("the codecs added", "-1 (%s)", strerror(errno));
    add(p, "E", &echo, NULL, NULL);
    trace[0] = '\0';
    feed_text(p, "a\nbb\r\ncc");
    channel_pipeline_fire_channel_read_complete(p);
    feed_text(p, "c\n");
    channel_pipeline_fire_channel_read_complete(p);
    expect_out(p, "a\nbb\nccc\n",
               "\"a\\nbb\\nccc\\n\": each line decoded to a string, written "
               "back, encoded with its \"\\n\"");
    expect_trace("E:string E:string E:string ", "E to read three strings");
    channel_pipeline_free(p);
}

int main(int argc, char **argv)
{
    static const lab_stage stages[] = {
        {"pipeline-inbound", stage_pipeline_inbound},
        {"pipeline-outbound", stage_pipeline_outbound},
        {"line-decoder", stage_line_decoder},
        {"codecs", stage_codecs},
    };
    return lab_main(argc, argv, stages, sizeof stages / sizeof stages[0]);
}
