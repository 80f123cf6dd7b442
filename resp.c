/* resp.c -- RESP2 replies and commands, the Redis protocol, no I/O
 * SPDX-License-Identifier: MIT
 *
 * A Redis client in the poll() loop needs two things from the protocol:
 * to write commands (PUBLISH, SUBSCRIBE, AUTH ...) and to cut the bytes
 * it reads into whole replies. This file does both, and sorts the pushes a
 * subscribed connection receives (message, pmessage, subscribe ...).
 *
 * It never touches a socket and never allocates. A reply is decoded into
 * a fixed table the caller provides, pointing into the caller's buffer,
 * with arrays walked by a loop and a small stack of open arrays, never by
 * recursion. It keeps no state between calls: a reply that has not fully
 * arrived is read again from its first byte when more bytes come. That
 * stays cheap because bulk payloads are skipped by their length, not
 * scanned, and every other part of a reply is short and bounded.
 *
 * Deliberately left out: RESP3 (we never send HELLO 3, so its types are
 * refused as unknown), inline commands, and the sharded pushes (smessage,
 * ssubscribe) that only SSUBSCRIBE brings.
 *
 * References: redis.io "Redis serialization protocol specification":
 * "RESP protocol description", "Simple strings", "Simple errors",
 * "Integers", "Bulk strings", "Null bulk strings", "Arrays", "Null
 * arrays", "Sending commands to a Redis server"; redis.io "Redis Pub/Sub":
 * "Format of pushed messages", "Pattern-matching subscriptions"; the PING
 * command page (its reply in subscribed mode); proto-max-bulk-len in
 * redis.conf.
 */
#include "resp.h"

#include <stdbool.h>
#include <string.h>

/* Store a static reason for the caller's log and return RESP_ERROR. */
static int bad(const char **why, const char *reason)
{
    *why = reason;
    return RESP_ERROR;
}

/* ========================================================================
 * Lines and numbers
 * ======================================================================== */

/* Read the decimal integer that fills the line at p[0..avail), through
 * the CRLF that ends it, into *value. Only the spelling Redis writes is
 * taken: an optional '-', then "0" or a digit 1-9 and more digits, and
 * the value must fit in int64_t. ("Integers" also allows a '+'; Redis
 * never sends one. Refusing it, leading zeros and "-0" gives each number
 * one spelling, which lets the fuzzer check decoding by re-encoding.)
 * Returns the bytes used, RESP_NEED_MORE while what is there could still
 * begin such a line, or RESP_ERROR with *why at the first byte that
 * cannot. */
static ptrdiff_t read_number(const char *p, size_t avail, int64_t *value,
                             const char **why)
{
    size_t i = 0;
    bool negative = avail > 0 && p[0] == '-';
    if (negative)
        i = 1;
    size_t first = i;
    /* The largest magnitude each sign allows: 2^63 - 1, or 2^63. */
    uint64_t max = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t mag = 0;
    for (; i < avail && p[i] != '\r'; i++) {
        if (p[i] < '0' || p[i] > '9')
            return bad(why, "number is not digits");
        if (i > first && p[first] == '0')
            return bad(why, "number has a leading zero");
        if (negative && p[i] == '0' && i == first)
            return bad(why, "number has a leading zero"); /* "-0" */
        unsigned digit = (unsigned)(p[i] - '0');
        /* Check before multiplying, so the sum never wraps. */
        if (mag > (max - digit) / 10)
            return bad(why, "number out of range");
        mag = mag * 10 + digit;
    }
    if (i == avail)
        return RESP_NEED_MORE;
    if (i == first)
        return bad(why, "number is not digits"); /* "\r" or "-\r" */
    if (i + 1 == avail)
        return RESP_NEED_MORE;
    if (p[i + 1] != '\n')
        return bad(why, "CR not followed by LF");
    /* -(2^63) has no positive int64_t twin: negate one less, subtract 1. */
    if (negative)
        *value = -(int64_t)(mag - 1) - 1;
    else
        *value = (int64_t)mag;
    return (ptrdiff_t)(i + 2);
}

/* Find the end of the simple string or error text at p[0..avail).
 * "Simple strings": the text holds no CR or LF, so the first CR must be
 * the start of the CRLF that ends it. Returns the bytes used, text and
 * CRLF, with *text_len set; RESP_NEED_MORE; or RESP_ERROR with *why for
 * a lone CR or LF, or text over RESP_MAX_LINE bytes. */
static ptrdiff_t read_line(const char *p, size_t avail, size_t *text_len,
                           const char **why)
{
    for (size_t i = 0; i < avail; i++) {
        if (p[i] == '\n')
            return bad(why, "LF without CR");
        if (p[i] == '\r') {
            if (i + 1 == avail)
                return RESP_NEED_MORE;
            if (p[i + 1] != '\n')
                return bad(why, "CR not followed by LF");
            *text_len = i;
            return (ptrdiff_t)(i + 2);
        }
        if (i == RESP_MAX_LINE)
            return bad(why, "line too long");
    }
    return RESP_NEED_MORE;
}

/* ========================================================================
 * Replies
 * ======================================================================== */

/* Read one value at p[0..avail) into *v: a whole simple string, error,
 * integer or bulk string, or just the header line of an array (its
 * elements are values of their own). room is how many more entries the
 * reply table has after this one, which an array's count must fit.
 * Returns the bytes used, RESP_NEED_MORE or RESP_ERROR with *why. */
static ptrdiff_t read_value(const char *p, size_t avail, size_t max_bulk,
                            size_t room, struct resp_value *v,
                            const char **why)
{
    memset(v, 0, sizeof *v);
    v->span = 1;
    if (avail == 0)
        return RESP_NEED_MORE;
    const char *q = p + 1;
    size_t left = avail - 1;
    ptrdiff_t got;
    int64_t num = 0;

    switch (p[0]) {
    case RESP_T_SIMPLE:
    case RESP_T_ERROR: /* "Simple errors": a simple string marked '-' */
        got = read_line(q, left, &v->len, why);
        if (got <= 0)
            return got;
        v->type = p[0];
        v->str = q;
        return 1 + got;

    case RESP_T_INTEGER:
        got = read_number(q, left, &num, why);
        if (got <= 0)
            return got;
        v->type = RESP_T_INTEGER;
        v->integer = num;
        return 1 + got;

    case RESP_T_BULK: {
        got = read_number(q, left, &num, why);
        if (got <= 0)
            return got;
        /* "Null bulk strings": -1 is the only negative length. */
        if (num == -1) {
            v->type = RESP_T_NIL;
            return 1 + got;
        }
        if (num < 0)
            return bad(why, "negative length other than -1");
        if ((uint64_t)num > max_bulk)
            return bad(why, "bulk string too long");
        q += got;
        left -= (size_t)got;
        /* "Bulk strings": the length counts the bytes, then CRLF comes.
         * Each byte is looked at only once it has arrived, so a cut
         * payload asks for more and a wrong terminator fails at once.
         * The length is at most max_bulk, so nothing here can wrap. */
        size_t blen = (size_t)num;
        if (left > blen && q[blen] != '\r')
            return bad(why, "bulk string not followed by CRLF");
        if (left > blen + 1 && q[blen + 1] != '\n')
            return bad(why, "bulk string not followed by CRLF");
        if (left < blen + 2)
            return RESP_NEED_MORE;
        v->type = RESP_T_BULK;
        v->str = q;
        v->len = blen;
        return (ptrdiff_t)(1 + (size_t)got + blen + 2);
    }

    case RESP_T_ARRAY:
        got = read_number(q, left, &num, why);
        if (got <= 0)
            return got;
        /* "Null arrays": *-1. */
        if (num == -1) {
            v->type = RESP_T_NIL;
            return 1 + got;
        }
        if (num < 0)
            return bad(why, "negative length other than -1");
        /* Known now, before any element has arrived. */
        if ((uint64_t)num > room)
            return bad(why, "too many elements");
        v->type = RESP_T_ARRAY;
        v->nelems = (size_t)num;
        return 1 + got;

    default:
        return bad(why, "unknown type byte");
    }
}

/* Decode the reply that starts at buf[0], with len bytes there so far,
 * into r. Bulk strings over max_bulk bytes are refused: pass RESP_MAX_BULK,
 * or a smaller cap such as the server's --max-message; a larger one acts
 * as RESP_MAX_BULK.
 *
 * Returns the reply's size in bytes, with r->n entries of r->v filled in
 * as resp.h describes, their strings pointing into buf, which the caller
 * must keep until it is done with them; any bytes after the reply are the
 * next reply's, untouched. Returns RESP_NEED_MORE if buf ends before the
 * reply does: call again, from the same first byte, once more bytes have
 * been read. Returns RESP_ERROR with *why if the bytes cannot be a RESP2
 * reply or cross a limit; the connection is then out of step and must be
 * closed. With either of those, r->n is 0. Nothing is read past
 * buf[len - 1], and an error is reported as soon as the byte that causes
 * it has arrived (a limit on a length, once its line is whole).
 *
 * Refused: a type byte other than + - : $ *; a number that is not the
 * spelling read_number takes; a length below -1; a bulk string not ended
 * by CRLF, or over max_bulk; a lone CR or LF in a line, or a line over
 * RESP_MAX_LINE; an array inside RESP_MAX_DEPTH others; a reply of more
 * than RESP_MAX_ELEMS values. */
ptrdiff_t resp_parse(const char *buf, size_t len, size_t max_bulk,
                     struct resp_reply *r, const char **why)
{
    /* The arrays still open, innermost last: where each sits in r->v,
     * and how many of its elements are not yet whole. */
    struct {
        size_t at;
        size_t left;
    } open_arrays[RESP_MAX_DEPTH];
    size_t depth = 0, pos = 0, n = 0;
    /* Elements that open arrays announced and that have not begun: each
     * will take at least one entry, so the table always has room for
     * them, and an array's count must fit in what they leave. */
    size_t promised = 0;

    r->n = 0;
    if (max_bulk > RESP_MAX_BULK)
        max_bulk = RESP_MAX_BULK;
    if (len > PTRDIFF_MAX)
        len = PTRDIFF_MAX; /* so that any size we return fits */

    for (;;) {
        if (depth > 0)
            promised--; /* this value is one of them */
        struct resp_value *v = &r->v[n];
        size_t room = RESP_MAX_ELEMS - (n + 1) - promised;
        ptrdiff_t got = read_value(buf + pos, len - pos, max_bulk, room, v,
                                   why);
        if (got <= 0)
            return got;
        if (v->type == RESP_T_ARRAY && depth == RESP_MAX_DEPTH)
            return bad(why, "arrays nested too deep");
        pos += (size_t)got;
        n++;
        if (v->type == RESP_T_ARRAY && v->nelems > 0) {
            open_arrays[depth].at = n - 1;
            open_arrays[depth].left = v->nelems;
            depth++;
            promised += v->nelems;
            continue;
        }
        /* A value is whole. It may be the last element of its array,
         * which makes that array whole, and so on outwards. */
        while (depth > 0 && --open_arrays[depth - 1].left == 0) {
            depth--;
            r->v[open_arrays[depth].at].span = n - open_arrays[depth].at;
        }
        if (depth == 0)
            break;
    }
    r->n = n;
    return (ptrdiff_t)pos;
}

/* ========================================================================
 * Pub/sub pushes
 * ======================================================================== */

/* The kinds of push, by the name in their first element, with the types
 * of the elements after it ("Format of pushed messages"; the PING page
 * for "pong"). 'c' marks a channel or pattern: a bulk string, or nil in
 * an unsubscribe push sent when nothing was subscribed. */
static const struct {
    const char *name;
    const char *fields; /* one type byte per element after the name */
    int kind;
} push_kinds[] = {
    {"message", "$$", RESP_PUSH_MESSAGE},       /* channel, payload */
    {"pmessage", "$$$", RESP_PUSH_PMESSAGE},    /* pattern, channel, payload */
    {"subscribe", "$:", RESP_PUSH_SUBSCRIBE},   /* channel, count */
    {"unsubscribe", "c:", RESP_PUSH_UNSUBSCRIBE},
    {"psubscribe", "$:", RESP_PUSH_PSUBSCRIBE}, /* pattern, count */
    {"punsubscribe", "c:", RESP_PUSH_PUNSUBSCRIBE},
    {"pong", "$", RESP_PUSH_PONG},              /* PING's argument or "" */
};

/* True if v is a bulk string holding exactly the C string s. */
static bool bulk_is(const struct resp_value *v, const char *s)
{
    size_t n = strlen(s);
    return v->type == RESP_T_BULK && v->len == n && memcmp(v->str, s, n) == 0;
}

/* True if v has the type that fields byte f asks for. */
static bool field_fits(const struct resp_value *v, char f)
{
    if (f == 'c')
        return v->type == RESP_T_BULK || v->type == RESP_T_NIL;
    if (f == RESP_T_INTEGER)
        return v->type == RESP_T_INTEGER && v->integer >= 0;
    return v->type == RESP_T_BULK;
}

/* v's bytes as a struct resp_bytes; a nil gives {NULL, 0}. */
static struct resp_bytes bytes_of(const struct resp_value *v)
{
    struct resp_bytes b = {v->str, v->len};
    return b;
}

/* Classify r, a reply resp_parse decoded, as a pub/sub push and fill
 * *out with pointers into the reply's buffer. Returns the enum
 * resp_push_kind; RESP_PUSH_NONE (0) if r is not a push: not an array, an
 * empty one, or one whose first element is not a push kind's name (a
 * bulk string); RESP_ERROR with *why if it is one but the rest does not
 * have that kind's shape (push_kinds). Names are matched exactly: Redis
 * writes them in lower case. "+PONG", the answer to PING on a connection
 * with no subscription yet, is taken as a RESP_PUSH_PONG with no payload,
 * so a caller can treat both answers alike. */
int resp_pubsub(const struct resp_reply *r, struct resp_push *out,
                const char **why)
{
    memset(out, 0, sizeof *out);
    const struct resp_value *v = r->v;
    if (r->n == 1 && v[0].type == RESP_T_SIMPLE && v[0].len == 4 &&
        memcmp(v[0].str, "PONG", 4) == 0) {
        out->kind = RESP_PUSH_PONG;
        return RESP_PUSH_PONG;
    }
    if (v[0].type != RESP_T_ARRAY || v[0].nelems == 0)
        return RESP_PUSH_NONE;

    size_t k = 0, count = sizeof push_kinds / sizeof push_kinds[0];
    while (k < count && !bulk_is(&v[1], push_kinds[k].name))
        k++;
    if (k == count)
        return RESP_PUSH_NONE;
    const char *fields = push_kinds[k].fields;
    if (v[0].nelems != 1 + strlen(fields))
        return bad(why, "push has the wrong number of elements");
    /* Checked in order, so the first element that is an array stops the
     * loop before any entry inside it is taken for an element. */
    for (size_t i = 0; fields[i] != '\0'; i++) {
        if (!field_fits(&v[2 + i], fields[i]))
            return bad(why, fields[i] == RESP_T_INTEGER
                                ? "push count is not a count"
                                : "push field is not a bulk string");
    }

    out->kind = push_kinds[k].kind;
    switch (out->kind) {
    case RESP_PUSH_MESSAGE:
        out->channel = bytes_of(&v[2]);
        out->payload = bytes_of(&v[3]);
        break;
    case RESP_PUSH_PMESSAGE:
        out->pattern = bytes_of(&v[2]);
        out->channel = bytes_of(&v[3]);
        out->payload = bytes_of(&v[4]);
        break;
    case RESP_PUSH_SUBSCRIBE:
    case RESP_PUSH_UNSUBSCRIBE:
        out->channel = bytes_of(&v[2]);
        out->count = v[3].integer;
        break;
    case RESP_PUSH_PSUBSCRIBE:
    case RESP_PUSH_PUNSUBSCRIBE:
        out->pattern = bytes_of(&v[2]);
        out->count = v[3].integer;
        break;
    case RESP_PUSH_PONG:
        out->payload = bytes_of(&v[2]);
        break;
    }
    return out->kind;
}

/* The name of a value type, for --trace. Returns a static string, "?" for
 * anything else. */
const char *resp_type_name(int type)
{
    switch (type) {
    case RESP_T_SIMPLE: return "simple";
    case RESP_T_ERROR: return "error";
    case RESP_T_INTEGER: return "integer";
    case RESP_T_BULK: return "bulk";
    case RESP_T_ARRAY: return "array";
    case RESP_T_NIL: return "nil";
    default: return "?";
    }
}

/* ========================================================================
 * Commands ("Sending commands to a Redis server")
 * ======================================================================== */

/* Decimal digits in n: 1 for 0..9, 2 for 10..99, and so on. */
static size_t digits(size_t n)
{
    size_t d = 1;
    for (; n >= 10; n /= 10)
        d++;
    return d;
}

/* Write n in decimal at out, with no NUL. Returns the digits written. */
static size_t put_decimal(char *out, size_t n)
{
    size_t d = digits(n);
    for (size_t i = d; i > 0; i--) {
        out[i - 1] = (char)('0' + n % 10);
        n /= 10;
    }
    return d;
}

/* The length of argument i: lens[i], or strlen when lens is NULL. */
static size_t arg_len(const char *const *argv, const size_t *lens, int i)
{
    return lens ? lens[i] : strlen(argv[i]);
}

/* Bytes resp_command writes for this command: "*argc\r\n", then for
 * each argument "$len\r\n", its bytes and "\r\n". lens[i] is the length
 * of argv[i], which may hold any bytes; lens may be NULL when every
 * argument is a C string. argc is at least 1 (the command's name), and
 * the total must fit in a size_t, as any buffer's size does. */
size_t resp_command_len(int argc, const char *const *argv,
                        const size_t *lens)
{
    size_t total = 1 + digits((size_t)argc) + 2;
    for (int i = 0; i < argc; i++) {
        size_t n = arg_len(argv, lens, i);
        total += 1 + digits(n) + 2 + n + 2;
    }
    return total;
}

/* Write the command as RESP2 sends every command, an array of bulk
 * strings, into out, which holds resp_command_len(argc, argv, lens)
 * bytes. Writes no NUL. Returns the bytes written. */
size_t resp_command(char *out, int argc, const char *const *argv,
                    const size_t *lens)
{
    size_t o = 0;
    out[o++] = '*';
    o += put_decimal(out + o, (size_t)argc);
    out[o++] = '\r';
    out[o++] = '\n';
    for (int i = 0; i < argc; i++) {
        size_t n = arg_len(argv, lens, i);
        out[o++] = '$';
        o += put_decimal(out + o, n);
        out[o++] = '\r';
        out[o++] = '\n';
        if (n > 0)
            memcpy(out + o, argv[i], n);
        o += n;
        out[o++] = '\r';
        out[o++] = '\n';
    }
    return o;
}
