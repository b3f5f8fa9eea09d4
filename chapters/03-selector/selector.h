/*
 * selector.h - Java's Selector and SelectionKey in C, on select(2), poll(2)
 * or epoll(7), chosen when the selector is opened.
 *
 * A channel (chapter 2) is registered with interest ops and an attachment
 * and gets a selection_key. selector_select waits until some registered
 * channel is ready for an operation it is interested in, and puts its key
 * in the selected-key set, where it stays until the caller removes it
 * (Java's `it.next(); it.remove();`).
 *
 * Semantics follow java.nio: level-triggered readiness; a channel has one
 * key per selector; registering again updates the key; cancel makes a key
 * invalid at once and removes it at the next selection; wakeup is sticky
 * and callable from any thread; end of stream, a reset or a pending error
 * make a key readable (an error or hang-up makes it ready for all its
 * interest ops), so the handler learns of them from its next read or write.
 *
 * Threads: selector_wakeup may be called from any thread. Everything else
 * belongs to the thread that selects (chapter 6 shows how other threads
 * hand work to it).
 *
 * Memory: keys belong to the selector. A cancelled key is freed during the
 * next selection, so do not touch it after that; selector_close frees every
 * key. Attachments are the caller's: free them before closing.
 *
 * Closing a registered channel cancels its keys, as in Java: the backend
 * stops watching the descriptor while it is still open, so nothing stale
 * fires when the kernel gives its number to the next socket. Cancel, then
 * close, works as well. A bare descriptor (selector_register_fd) has no
 * channel to tell the selector it closed: cancel its key first; if not,
 * registering the newcomer that gets its number gives SELECTOR_FD_IN_USE
 * until the stale key is cancelled.
 *
 * Where Java throws CancelledKeyException from a getter, C has two ways:
 * key_interest_ops and key_ready_ops answer 0 for a cancelled key (so a
 * handler never acts on one), and key_get_interest_ops and
 * key_get_ready_ops return SELECTOR_CANCELLED_KEY.
 */
#ifndef NIO_SELECTOR_H
#define NIO_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "02-blocking-echo/channel.h"

/* Java's SelectionKey constants, with Java's values. */
enum {
    OP_READ = 1 << 0,
    OP_WRITE = 1 << 2,
    OP_CONNECT = 1 << 3,
    OP_ACCEPT = 1 << 4
};

typedef enum selector_status {
    SELECTOR_OK = 0,
    SELECTOR_BAD_ARGUMENT,     /* NULL pointers, or a bad backend name */
    SELECTOR_CLOSED,           /* ClosedSelectorException */
    SELECTOR_CANCELLED_KEY,    /* CancelledKeyException */
    SELECTOR_BLOCKING_CHANNEL, /* IllegalBlockingModeException */
    SELECTOR_INVALID_OPS,      /* IllegalArgumentException: not validOps() */
    SELECTOR_FD_TOO_LARGE,     /* select(2) cannot watch fd >= FD_SETSIZE */
    SELECTOR_FD_IN_USE,        /* another channel with this fd is still
                                  registered: closed before its key was
                                  cancelled */
    SELECTOR_SYSTEM_ERROR,     /* the OS refused: see errno */
    SELECTOR_NO_MEMORY,
    SELECTOR_CLOSED_CHANNEL /* ClosedChannelException */
} selector_status;

typedef enum selector_backend {
    SELECTOR_BACKEND_SELECT,
    SELECTOR_BACKEND_POLL,
    SELECTOR_BACKEND_EPOLL
} selector_backend;

typedef struct selector selector;
typedef struct selection_key selection_key;

/* Iterates the selected-key set (or every key); see below. */
typedef struct key_iterator {
    selector *owner;
    selection_key *current;
    selection_key *next;
    bool selected_set;
} key_iterator;

const char *selector_status_name(selector_status status);

/* "select", "poll", "epoll" -> backend; false when unknown. */
bool selector_backend_parse(const char *name, selector_backend *out);
const char *selector_backend_name(selector_backend backend);
/* epoll where the system has it, poll elsewhere. */
selector_backend selector_default_backend(void);
/* False when this system lacks it (epoll outside Linux). */
bool selector_backend_available(selector_backend backend);
/* The --backend option of the later chapters' programs: a backend this
 * system has, or die with "bad backend 'NAME': want select, poll or epoll". */
selector_backend selector_backend_or_die(const char *program, const char *name);

/* Selector.open(). NULL with errno (ENOSYS: backend not on this system). */
selector *selector_open(selector_backend backend);
selector_backend selector_get_backend(const selector *sel);
/* Invalidates and frees every key, then the selector. Channels stay open. */
void selector_close(selector *sel);

/* channel.register(selector, ops, attachment). A second registration of
 * the same channel updates its key: the interest ops always, the
 * attachment when `attachment` is not NULL. `key` may be NULL. */
selector_status selector_register(selector *sel, channel *ch, int ops,
                                  void *attachment, selection_key **key);
/* The same for a bare non-blocking descriptor such as a pipe (Java's
 * Pipe.SourceChannel): valid ops are OP_READ and OP_WRITE. */
selector_status selector_register_fd(selector *sel, int fd, int ops,
                                     void *attachment, selection_key **key);
/* The key of a channel on this selector, or NULL (Java's keyFor): a
 * cancelled key too, until the next selection takes it away. */
selection_key *selector_key_for(const selector *sel, const channel *ch);

/* select(): blocks until at least one key is selected, a wakeup, or a
 * signal. Returns the number of keys whose ready set was updated, or -1
 * with errno (EBADF when closed). */
int selector_select(selector *sel);
/* select(timeout): as Java, timeout_ms must be positive; 0 blocks forever
 * (use selector_select_now to poll). */
int selector_select_timeout(selector *sel, long timeout_ms);
/* selectNow(): never blocks; clears a pending wakeup. */
int selector_select_now(selector *sel);
/* wakeup(): any thread. The current or else the next selection returns
 * at once; several wakeups before it count as one. */
void selector_wakeup(selector *sel);

/* The selected-key set. The set keeps a key until the caller removes it:
 *     key_iterator it = selector_selected_keys(sel);
 *     selection_key *key;
 *     while ((key = key_iterator_next(&it)) != NULL) {
 *         key_iterator_remove(&it);
 *         ...
 *     }
 */
key_iterator selector_selected_keys(selector *sel);
/* Every registered key (Java's keys()); remove is not allowed on it. */
key_iterator selector_keys(selector *sel);
selection_key *key_iterator_next(key_iterator *it);
/* Removes the key last returned by next from the selected-key set. */
selector_status key_iterator_remove(key_iterator *it);
size_t selector_selected_count(const selector *sel);
size_t selector_key_count(const selector *sel);

/* Java's validOps(): what this kind of channel can ever do (OP_ACCEPT
 * for a server, OP_READ | OP_WRITE | OP_CONNECT for a socket, OP_READ for
 * a pipe's source, OP_WRITE for its sink). */
int channel_valid_ops(const channel *ch);

/* --- SelectionKey ----------------------------------------------------- */

/* 0 for a cancelled key; key_get_interest_ops tells why. */
int key_interest_ops(const selection_key *key);
/* Java's interestOps() that throws: SELECTOR_CANCELLED_KEY when cancelled */
selector_status key_get_interest_ops(const selection_key *key, int *ops);
selector_status key_set_interest_ops(selection_key *key, int ops);
/* Java's interestOpsOr / interestOpsAnd, the usual way to toggle OP_WRITE;
 * `previous` (may be NULL) gets the ops before, as Java returns them. */
selector_status key_interest_ops_or(selection_key *key, int ops, int *previous);
selector_status key_interest_ops_and(selection_key *key, int ops,
                                     int *previous);
/* 0 for a cancelled key; key_get_ready_ops tells why. */
int key_ready_ops(const selection_key *key);
selector_status key_get_ready_ops(const selection_key *key, int *ops);
bool key_is_readable(const selection_key *key);
bool key_is_writable(const selection_key *key);
bool key_is_connectable(const selection_key *key);
bool key_is_acceptable(const selection_key *key);
void *key_attachment(const selection_key *key);
/* Sets the attachment and returns the previous one. */
void *key_attach(selection_key *key, void *attachment);
/* Invalid at once, and no longer watched; leaves the key sets (and is
 * freed) at the next selection. Cancel before closing the channel. */
void key_cancel(selection_key *key);
bool key_is_valid(const selection_key *key);
/* NULL for keys made with selector_register_fd. A closed channel until
 * the key leaves its selector (channel_is_open says so), as in Java. */
channel *key_channel(const selection_key *key);
int key_fd(const selection_key *key);
selector *key_selector(const selection_key *key);

#endif
