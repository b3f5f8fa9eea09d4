/*
 * buffer.h - a byte buffer with the semantics of Java's java.nio.ByteBuffer.
 *
 * A buffer is a fixed-size array of bytes plus four indexes that obey
 *
 *     0 <= mark <= position <= limit <= capacity
 *
 * after every operation. Data is put in at `position`, `flip` turns the
 * buffer around so that what was written can be read back, and `compact`
 * keeps unread bytes while making room for more.
 *
 * Errors are values: where Java throws an exception, these functions return
 * a buffer_status and change nothing. Functions that create a buffer return
 * NULL and set errno (EINVAL for bad arguments, ENOMEM when out of memory).
 *
 * Ownership: the bytes live in a reference-counted storage block. A buffer
 * made by buffer_allocate owns its block; slice, duplicate and
 * as_read_only make views that share the block and keep it alive, so a
 * view may safely outlive the buffer it came from. Each buffer (original or
 * view) is released with buffer_free; the bytes go when the last one does.
 * buffer_wrap borrows the caller's memory, which must outlive every buffer
 * that uses it. Buffers are not thread-safe, exactly like Java's.
 */
#ifndef NIO_BUFFER_H
#define NIO_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One status per exception that java.nio.ByteBuffer can throw. */
typedef enum buffer_status {
    BUFFER_OK = 0,
    BUFFER_OVERFLOW,           /* BufferOverflowException: no room to put */
    BUFFER_UNDERFLOW,          /* BufferUnderflowException: nothing to get */
    BUFFER_INVALID_MARK,       /* InvalidMarkException: reset without mark */
    BUFFER_INDEX_OUT_OF_RANGE, /* IndexOutOfBoundsException */
    BUFFER_READ_ONLY,          /* ReadOnlyBufferException */
    BUFFER_BAD_ARGUMENT,       /* IllegalArgumentException, NULL pointers */
    BUFFER_UNSUPPORTED         /* UnsupportedOperationException: never
                                  returned here; a lab's function that is
                                  not written yet says it */
} buffer_status;

typedef enum buffer_order {
    BUFFER_BIG_ENDIAN,   /* ByteOrder.BIG_ENDIAN, the default */
    BUFFER_LITTLE_ENDIAN /* ByteOrder.LITTLE_ENDIAN */
} buffer_order;

typedef struct buffer buffer;

/* A short name for a status, such as "BUFFER_OVERFLOW". */
const char *buffer_status_name(buffer_status status);

/* --- creating and releasing ------------------------------------------- */

buffer *buffer_allocate(size_t capacity);
/* Borrows `bytes`: capacity = `capacity`, position 0, limit = capacity. */
buffer *buffer_wrap(void *bytes, size_t capacity);
/* Java's wrap(array, offset, length): position = offset,
 * limit = offset + length; EINVAL when that does not fit in capacity. */
buffer *buffer_wrap_range(void *bytes, size_t capacity, size_t offset,
                          size_t length);
void buffer_free(buffer *b);

/* Views share the bytes. As in Java, a view starts in big-endian order. */
buffer *buffer_slice(const buffer *b);
buffer *buffer_slice_range(const buffer *b, size_t index, size_t length);
buffer *buffer_duplicate(const buffer *b);
buffer *buffer_as_read_only(const buffer *b);

/* --- the four indexes ------------------------------------------------- */

size_t buffer_capacity(const buffer *b);
size_t buffer_position(const buffer *b);
size_t buffer_limit(const buffer *b);
size_t buffer_remaining(const buffer *b);
bool buffer_has_remaining(const buffer *b);
bool buffer_is_read_only(const buffer *b);
/* Java keeps the mark private; C shows it so that a demo can draw it.
 * Returns false when no mark is set. */
bool buffer_mark_value(const buffer *b, size_t *mark);

/* position > limit is BAD_ARGUMENT; a mark above the new position goes. */
buffer_status buffer_set_position(buffer *b, size_t position);
/* limit > capacity is BAD_ARGUMENT; position and mark are pulled down. */
buffer_status buffer_set_limit(buffer *b, size_t limit);

void buffer_mark(buffer *b);
buffer_status buffer_reset(buffer *b);
void buffer_clear(buffer *b);
void buffer_flip(buffer *b);
void buffer_rewind(buffer *b);
buffer_status buffer_compact(buffer *b);

buffer_order buffer_get_order(const buffer *b);
void buffer_set_order(buffer *b, buffer_order order);

/* --- single bytes ----------------------------------------------------- */

buffer_status buffer_get(buffer *b, uint8_t *out);
buffer_status buffer_put(buffer *b, uint8_t value);
buffer_status buffer_get_at(const buffer *b, size_t index, uint8_t *out);
buffer_status buffer_put_at(buffer *b, size_t index, uint8_t value);

/* --- bulk transfers: all or nothing ----------------------------------- */

buffer_status buffer_get_bytes(buffer *b, void *dst, size_t length);
buffer_status buffer_put_bytes(buffer *b, const void *src, size_t length);
buffer_status buffer_get_bytes_at(const buffer *b, size_t index, void *dst,
                                  size_t length);
buffer_status buffer_put_bytes_at(buffer *b, size_t index, const void *src,
                                  size_t length);
/* Moves all of src's remaining bytes into dst (src == dst is BAD_ARGUMENT). */
buffer_status buffer_put_buffer(buffer *dst, buffer *src);

/* --- integers, in the buffer's byte order ----------------------------- */

buffer_status buffer_get_short(buffer *b, int16_t *out);
buffer_status buffer_get_int(buffer *b, int32_t *out);
buffer_status buffer_get_long(buffer *b, int64_t *out);
buffer_status buffer_put_short(buffer *b, int16_t value);
buffer_status buffer_put_int(buffer *b, int32_t value);
buffer_status buffer_put_long(buffer *b, int64_t value);
buffer_status buffer_get_short_at(const buffer *b, size_t index, int16_t *out);
buffer_status buffer_get_int_at(const buffer *b, size_t index, int32_t *out);
buffer_status buffer_get_long_at(const buffer *b, size_t index, int64_t *out);
buffer_status buffer_put_short_at(buffer *b, size_t index, int16_t value);
buffer_status buffer_put_int_at(buffer *b, size_t index, int32_t value);
buffer_status buffer_put_long_at(buffer *b, size_t index, int64_t value);

/* --- comparing the remaining bytes ------------------------------------ */

bool buffer_equals(const buffer *a, const buffer *b);
/* <0, 0, >0 like Java's compareTo: bytes compare as signed values. */
int buffer_compare(const buffer *a, const buffer *b);

/* --- the bytes themselves (Java's array() and arrayOffset()) ----------- */

/* Index 0 of this buffer, for system calls such as read(2): NULL for a
 * read-only buffer, as Java's array() throws ReadOnlyBufferException. */
uint8_t *buffer_array(buffer *b);
/* The same bytes for reading, allowed on every buffer. */
const uint8_t *buffer_const_array(const buffer *b);

/* True when 0 <= mark <= position <= limit <= capacity; for tests. */
bool buffer_invariant_holds(const buffer *b);

#endif
