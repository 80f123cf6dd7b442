/* msgpack.h -- the MessagePack subset of the Redis adapter: the interface of msgpack.c
 * SPDX-License-Identifier: MIT
 *
 * Node's @socket.io/redis-adapter publishes every broadcast as msgpack
 * (notepack.io 3.x); wshub holds event arguments as JSON text plus binary
 * attachments (struct hub_args). This file reads and writes the msgpack,
 * and bridges the two forms: a msgpack `bin` is a JSON placeholder
 * {"_placeholder":true,"num":i} whose bytes are attachment i.
 *
 * Error convention, for the whole file: decoders return the number of
 * input bytes a value occupies (> 0) or MP_ERROR (-1), with *why set to a
 * static one-line reason; functions that return int return 0 or MP_ERROR
 * with *why. Nothing here distinguishes "need more": a Redis message
 * arrives whole, so a value cut short is simply an error. Decoders never
 * read outside p[0..n) and hand out pointers into it. The encoders write
 * into a struct jbuf (json.h), used as a byte buffer: like the JSON
 * builder they remember a failed allocation in jb->oom (a length too big
 * for msgpack's 32-bit fields counts as one too), and the caller checks
 * it once at the end. The bridge and broadcast functions check it for
 * the caller, and when they fail they take back what they appended:
 * out->len is what it was before the call.
 *
 * The formats read (msgpack spec, "Formats"; fix* = the value or length is
 * in the type byte itself; all multi-byte fields are big-endian):
 *
 *   00-7f positive fixint  80-8f fixmap   90-9f fixarray  a0-bf fixstr
 *   c0 nil  c2 false  c3 true             c4 c5 c6  bin 8/16/32
 *   c7 c8 c9  ext 8/16/32                 ca float32  cb float64
 *   cc cd ce cf  uint 8/16/32/64          d0 d1 d2 d3  int 8/16/32/64
 *   d4-d8 fixext 1/2/4/8/16               d9 da db  str 8/16/32
 *   dc dd array 16/32   de df map 16/32   e0-ff negative fixint
 *   c1 is never used and is refused.
 *
 * Limits, each refused as MP_ERROR:
 *   - nesting: at most MP_MAX_DEPTH open arrays and maps around a value;
 *   - counts: an array or map may not claim more elements than there are
 *     bytes left (each element takes at least one), so a 5-byte header
 *     cannot promise four billion of them;
 *   - attachments: at most SIO_MAX_ATTACHMENTS bin values per JSON text.
 */
#ifndef MSGPACK_H
#define MSGPACK_H

#include "hub.h"
#include "json.h"
#include "sio.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_ERROR (-1)
#define MP_MAX_DEPTH 32 /* = JSON_MAX_DEPTH, so what decodes also scans */

/* What one msgpack item is. Integers that fit int64 are MP_INT whatever
 * their encoding; MP_UINT is only for uint64 values above INT64_MAX. */
enum mp_kind {
    MP_NIL, MP_BOOL, MP_INT, MP_UINT, MP_FLOAT, MP_STR, MP_BIN,
    MP_ARRAY, MP_MAP, MP_EXT
};

/* One item as mp_read sees it: a scalar, or the header of a container. */
struct mp_item {
    enum mp_kind kind;
    bool b;           /* MP_BOOL */
    int64_t i;        /* MP_INT */
    uint64_t u;       /* MP_UINT: always > INT64_MAX */
    double f;         /* MP_FLOAT; a float32 is widened */
    const uint8_t *p; /* MP_STR, MP_BIN, MP_EXT: the payload, in the input */
    size_t len;       /* bytes at p */
    size_t count;     /* MP_ARRAY: elements; MP_MAP: key/value pairs */
    int8_t ext_type;  /* MP_EXT: the application's type byte (-1: time) */
};

/* A string inside a decoded message: UTF-8, not NUL-terminated. */
struct mp_str {
    const char *p;
    size_t len;
};

/* An array of strings inside a decoded message, read with mp_list_next. */
struct mp_list {
    const uint8_t *p; /* the first element's first byte, in the input */
    size_t n;         /* bytes the elements take */
    size_t count;     /* elements */
};

/* ------------------------------------------------------------------------
 * Decoding and encoding
 * ------------------------------------------------------------------------ */

long mp_read(const uint8_t *p, size_t n, struct mp_item *it, const char **why);
long mp_skip(const uint8_t *p, size_t n, const char **why);
int mp_list_next(const struct mp_list *l, size_t *pos, struct mp_str *s);

void mp_put_nil(struct jbuf *b);
void mp_put_bool(struct jbuf *b, bool v);
void mp_put_int(struct jbuf *b, int64_t v);
void mp_put_uint(struct jbuf *b, uint64_t v);
void mp_put_float(struct jbuf *b, double v);
void mp_put_str(struct jbuf *b, const char *s, size_t n);
void mp_put_bin(struct jbuf *b, const uint8_t *p, size_t n);
void mp_put_array(struct jbuf *b, size_t count);
void mp_put_map(struct jbuf *b, size_t count);

/* ------------------------------------------------------------------------
 * The bridge: msgpack <-> JSON text plus attachments
 * ------------------------------------------------------------------------ */

long mp_to_json(const uint8_t *p, size_t n, struct jbuf *out,
                struct hub_blob bins[SIO_MAX_ATTACHMENTS], size_t *nbins,
                const char **why);
int mp_from_json(const char *json, size_t n, const struct hub_blob *bins,
                 size_t nbins, struct jbuf *out, const char **why);

/* ------------------------------------------------------------------------
 * The adapter's broadcast message (socket.io-redis-adapter notes §4):
 *   [uid, {"type":2, "data":[event, args...], "nsp":nsp},
 *         {"rooms":[...], "except":[...], "flags":{...}}]
 * ------------------------------------------------------------------------ */

/* What to publish: io.to(rooms).except(except).emit(event, ...args). */
struct mp_publish {
    const char *uid;           /* this node's adapter uid, never "emitter" */
    const char *nsp;           /* namespace name, with its slash */
    const char *event;         /* event name */
    struct hub_args args;      /* its arguments, as the hub holds them */
    const char *const *rooms;  /* target rooms; nrooms == 0: everyone */
    size_t nrooms;
    const char *const *except; /* rooms whose members are skipped */
    size_t nexcept;
    bool is_volatile;          /* flags.volatile: may be dropped */
    bool no_compress;          /* flags.compress = false: do not deflate */
};

/* A received broadcast. Strings, lists and bins point into the message;
 * data points into the caller's jbuf and is valid until it changes. */
struct mp_broadcast {
    struct mp_str uid;         /* the sender's uid; "emitter" from the emitter */
    struct mp_str nsp;         /* packet.nsp; "/" when the packet has none */
    const char *data;          /* packet.data as JSON: ["event",arg,...] */
    size_t data_len;           /* bytes at data */
    struct hub_blob bins[SIO_MAX_ATTACHMENTS]; /* placeholder num i is bins[i] */
    size_t nbins;              /* bins used */
    struct mp_list rooms;      /* opts.rooms; empty: the whole namespace */
    struct mp_list except;     /* opts.except */
    bool is_volatile;          /* flags.volatile was true */
    bool no_compress;          /* flags.compress was false */
};

int mp_broadcast_encode(struct jbuf *out, const struct mp_publish *m,
                        const char **why);
int mp_broadcast_decode(const uint8_t *p, size_t n, struct jbuf *json,
                        struct mp_broadcast *b, const char **why);

#endif
