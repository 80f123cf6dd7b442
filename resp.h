/* resp.h -- RESP2, the Redis protocol: the interface of resp.c
 * SPDX-License-Identifier: MIT
 *
 * Everything here works on byte arrays the caller owns. Nothing reads or
 * writes a socket and nothing allocates: a decoded reply is a table of
 * values in a struct the caller provides, and every string in it points
 * into the caller's buffer.
 *
 * Error convention, for the whole file: resp_parse returns the bytes of
 * one whole reply (> 0), RESP_NEED_MORE (0) when the buffer ends before
 * the reply does, or RESP_ERROR (-1) with *why set to a static one-line
 * reason. resp_pubsub returns an enum resp_push_kind, RESP_PUSH_NONE (0)
 * for a reply that is not a push, or RESP_ERROR with *why. The encoders
 * cannot fail: the caller sizes the output with resp_command_len first.
 *
 * The wire, from redis.io "Redis serialization protocol specification"
 * (RESP2). Every line ends in CRLF; the type is the first byte:
 *
 *   +OK\r\n                        simple string (no CR or LF inside)
 *   -NOAUTH Authentication ...\r\n error, the same shape
 *   :1000\r\n                      integer, signed 64 bits
 *   $5\r\nhello\r\n                bulk string: length, bytes, CRLF
 *   $-1\r\n                        nil bulk string ("null")
 *   *2\r\n$3\r\nfoo\r\n:7\r\n       array: a count, then that many replies
 *   *-1\r\n                        nil array (also "null")
 *
 * A command is always an array of bulk strings, so any bytes may be an
 * argument:  PUBLISH ch <msgpack>  is  *3 $7 PUBLISH $2 ch $N <N bytes>.
 * After SUBSCRIBE or PSUBSCRIBE the server pushes arrays ("Pub/Sub"):
 *
 *   *3  "message"   channel  payload      a PUBLISH to a channel
 *   *4  "pmessage"  pattern  channel  payload   ... matching a pattern
 *   *3  "subscribe" channel  :count       (unsubscribe, psubscribe and
 *                                          punsubscribe alike)
 *   *2  "pong"      data                  PING on a subscribed connection
 */
#ifndef RESP_H
#define RESP_H

#include <stddef.h>
#include <stdint.h>

#define RESP_NEED_MORE 0
#define RESP_ERROR (-1)

/* Limits. Each one, when crossed, makes resp_parse fail. */
#define RESP_MAX_BULK (512u * 1024 * 1024) /* bytes in one bulk string: the
                                            * default proto-max-bulk-len */
#define RESP_MAX_LINE (64u * 1024)  /* bytes in a simple string or error:
                                     * Redis's own inline limit */
#define RESP_MAX_DEPTH 8            /* arrays nested one inside another */
#define RESP_MAX_ELEMS 64           /* values in one reply, arrays and all
                                     * that is inside them counted */

/* The type of one value. Each wire type is its first byte. */
enum resp_type {
    RESP_T_SIMPLE = '+',  /* simple string: str, len */
    RESP_T_ERROR = '-',   /* error reply: str, len, e.g. "ERR ..." */
    RESP_T_INTEGER = ':', /* integer */
    RESP_T_BULK = '$',    /* bulk string: str, len; any bytes */
    RESP_T_ARRAY = '*',   /* array of nelems values, which follow it */
    RESP_T_NIL = '_'      /* $-1 or *-1; RESP2 has no byte of its own for
                           * null, '_' is the one RESP3 gave it */
};

/* One value of a reply. */
struct resp_value {
    int type;         /* enum resp_type */
    const char *str;  /* SIMPLE, ERROR, BULK: the bytes, in the caller's
                       * buffer, not NUL-terminated; otherwise NULL */
    size_t len;       /* bytes at str; 0 for other types */
    int64_t integer;  /* INTEGER: the value; otherwise 0 */
    size_t nelems;    /* ARRAY: the values directly inside it */
    size_t span;      /* entries of the table this value takes, itself and
                       * all inside it: 1 except for a non-empty array */
};

/* One whole reply, flattened in order: v[0] is the reply itself, and an
 * array's elements follow it, each with everything inside it, so the
 * next element of an array at v[i] is at v[i + v[i].span]. */
struct resp_reply {
    size_t n;                             /* entries used in v, >= 1 */
    struct resp_value v[RESP_MAX_ELEMS];  /* v[0 .. n) */
};

/* The pub/sub pushes resp_pubsub knows ("Pub/Sub", "Format of pushed
 * messages"). */
enum resp_push_kind {
    RESP_PUSH_NONE = 0,        /* an ordinary reply, not a push */
    RESP_PUSH_MESSAGE,         /* channel, payload */
    RESP_PUSH_PMESSAGE,        /* pattern, channel, payload */
    RESP_PUSH_SUBSCRIBE,       /* channel, count */
    RESP_PUSH_UNSUBSCRIBE,     /* channel (NULL after "none left"), count */
    RESP_PUSH_PSUBSCRIBE,      /* pattern, count */
    RESP_PUSH_PUNSUBSCRIBE,    /* pattern (NULL after "none left"), count */
    RESP_PUSH_PONG             /* payload: PING's argument, maybe empty */
};

/* Bytes inside the caller's buffer. */
struct resp_bytes {
    const char *ptr;  /* NULL when the push has no such field */
    size_t len;       /* bytes at ptr */
};

/* One push, classified. */
struct resp_push {
    int kind;                  /* enum resp_push_kind */
    struct resp_bytes pattern; /* the pattern PSUBSCRIBEd, or matched */
    struct resp_bytes channel; /* the channel published to, or SUBSCRIBEd */
    struct resp_bytes payload; /* what was published; PONG: the data */
    int64_t count;             /* (un)subscribe: subscriptions now held */
};

/* ------------------------------------------------------------------------
 * Replies. A read loop takes whole replies off the front of its buffer:
 *
 *   while ((got = resp_parse(in + off, have - off, cap, &reply, &why)) > 0) {
 *       handle(&reply);      strings point into in: use them before
 *       off += got;          the buffer is compacted or refilled
 *   }
 *   if (got == RESP_ERROR)  log why, close the connection
 * ------------------------------------------------------------------------ */

ptrdiff_t resp_parse(const char *buf, size_t len, size_t max_bulk,
                     struct resp_reply *r, const char **why);
int resp_pubsub(const struct resp_reply *r, struct resp_push *out,
                const char **why);
const char *resp_type_name(int type);

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

size_t resp_command_len(int argc, const char *const *argv,
                        const size_t *lens);
size_t resp_command(char *out, int argc, const char *const *argv,
                    const size_t *lens);

#endif
