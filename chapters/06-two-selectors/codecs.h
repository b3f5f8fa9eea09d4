/*
 * codecs.h - Netty's codecs as pipeline handlers (channel_pipeline.h):
 *
 *   line_based_frame_decoder  bytes -> one message per line, without its
 *                             "\n" or "\r\n" (LineBasedFrameDecoder);
 *                             chapter 4's framing as a reusable stage
 *   string_decoder            bytes -> string (StringDecoder)
 *   string_encoder            string -> bytes (StringEncoder)
 *   line_encoder              string -> bytes and "\n" (LineEncoder)
 *
 * The frame decoder keeps the part of a line that has arrived until the
 * rest comes, so any split of the byte stream gives the same lines; it
 * never holds more than max_length bytes. A longer line is dropped up to
 * its "\n" and reported as exception caught (Netty's
 * TooLongFrameException, EMSGSIZE here); what the connection does about it
 * is the business handler's decision. The part of a line still held when
 * the connection closes is dropped, as Netty does.
 *
 * Bytes are passed as they are (no character set is decoded or checked):
 * the course's protocols are ASCII lines.
 *
 * Each *_add appends the handler (with its per-connection state) to the
 * pipeline, like Netty's pipeline.addLast(name, new LineBasedFrameDecoder(
 * max)); 0 or -1 on ENOMEM.
 */
#ifndef NIO_CODECS_H
#define NIO_CODECS_H

#include <stddef.h>

#include "channel_pipeline.h"

int line_based_frame_decoder_add(channel_pipeline *p, const char *name,
                                 size_t max_length);
int string_decoder_add(channel_pipeline *p, const char *name);
int string_encoder_add(channel_pipeline *p, const char *name);
int line_encoder_add(channel_pipeline *p, const char *name);

#endif
