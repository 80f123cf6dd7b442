/* msgpack.c -- MessagePack as the Socket.IO Redis adapter writes it, no I/O
 * SPDX-License-Identifier: MIT
 *
 * A Node server in a Redis cluster publishes each broadcast as msgpack:
 * [uid, {type, data, nsp}, {rooms, except, flags}]. This file reads and
 * writes that format and turns its `data` into what the hub holds, JSON
 * text plus binary attachments, and back. It never touches a socket; the
 * readers never allocate and hand out pointers into the caller's bytes.
 *
 * Reading is done one item at a time (mp_read): a scalar, or the header of
 * an array or map, whose elements are the items after it. Nesting is kept
 * on a small explicit stack, as hiredis's reader keeps it, never on the C
 * stack, so a message of 10,000 opening brackets costs one refusal.
 *
 * It reads every format of the msgpack spec but writes only what notepack
 * writes for a socket.io payload (nil, bool, int, float64, str, bin, array,
 * map), always in the smallest encoding, as notepack does. Of the "ext"
 * formats only the timestamp (type -1) has a meaning here; every other ext
 * is read as nil. That includes notepack's own pre-3.0 spellings, which
 * notepack still reads and no current peer writes: undefined (d4 00 00), a
 * Date (d7 00) and an ArrayBuffer (ext type 0). A simplification, named.
 *
 * References: the MessagePack specification ("Formats", "Timestamp
 * extension type"); notepack.io 3.0.1, lib/encode.js and lib/decode.js (the
 * adapter's codec); socket.io-redis-adapter notes §4 (the broadcast), §5
 * (receiving it); socket.io-parser's deconstructPacket (placeholders in
 * order of appearance); ECMA-262 "Date Time String Format" and TimeClip
 * (how a Date reaches JSON); RFC 8259 §6, §7 (JSON numbers and strings);
 * RFC 3629 (UTF-8), via ws_utf8_feed in ws.c.
 */
#include "msgpack.h"
#include "ws.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mp_to_json's text must pass json_scan, placeholders one level deeper. */
_Static_assert(MP_MAX_DEPTH <= JSON_MAX_DEPTH, "msgpack nests no deeper than JSON");

/* Store a static reason for the caller's log and return MP_ERROR. */
static int bad(const char **why, const char *reason)
{
    *why = reason;
    return MP_ERROR;
}

/* True if p[0..n) is complete, valid UTF-8 (RFC 3629 §4). */
static bool utf8_ok(const uint8_t *p, size_t n)
{
    struct ws_utf8 u = {0, 0, 0};
    return ws_utf8_feed(&u, p, n) == 0 && ws_utf8_complete(&u);
}

/* ========================================================================
 * Reading one item
 * ======================================================================== */

/* The big-endian unsigned integer in p[0..k), k <= 8. */
static uint64_t be(const uint8_t *p, size_t k)
{
    uint64_t v = 0;
    for (size_t j = 0; j < k; j++)
        v = v << 8 | p[j];
    return v;
}

/* The w-byte two's complement integer v as an int64_t, computed without
 * an out-of-range conversion (which C leaves to the implementation). */
static int64_t sign_extend(uint64_t v, size_t w)
{
    if (w < 8 && (v >> (8 * w - 1) & 1))
        v |= ~(uint64_t)0 << (8 * w);
    if (v >> 63)
        return -(int64_t)~v - 1;
    return (int64_t)v;
}

static int truncated(const char **why)
{
    return bad(why, "truncated: the message ends inside a value");
}

/* The payload of a str, bin or ext: len bytes after a header of head
 * bytes (which the caller has checked are there). Returns the whole
 * item's size, or MP_ERROR when the length runs past the end. */
static long payload(const uint8_t *p, size_t n, size_t head, uint64_t len,
                    struct mp_item *it, const char **why)
{
    if (len > n - head)
        return bad(why, "a length runs past the end of the message");
    it->p = p + head;
    it->len = (size_t)len;
    return (long)(head + len);
}

/* The header of an array or map of count elements (pairs for a map),
 * head bytes long. Each element takes at least one byte, so a count
 * larger than the bytes left is refused before anyone loops on it. */
static long container(size_t n, size_t head, uint64_t count, bool map,
                      struct mp_item *it, const char **why)
{
    uint64_t room = n - head;
    if (count > (map ? room / 2 : room))
        return bad(why, "an array or map claims more elements than bytes remain");
    it->kind = map ? MP_MAP : MP_ARRAY;
    it->count = (size_t)count;
    return (long)head;
}

/* Read the one item at p[0..n) into *it: a scalar whole, a str, bin or
 * ext with its payload (it->p points into p), or only the header of an
 * array or map (it->count says how many items follow it). Returns the
 * bytes read, or MP_ERROR if the item is cut short, a length runs past n,
 * or the type byte is 0xc1, which the spec never uses. */
long mp_read(const uint8_t *p, size_t n, struct mp_item *it, const char **why)
{
    memset(it, 0, sizeof *it);
    if (n == 0)
        return truncated(why);
    if (n > (size_t)LONG_MAX)
        return bad(why, "message too large");
    uint8_t t = p[0];

    /* The fix formats hold their value, count or length in the type byte. */
    if (t <= 0x7f || t >= 0xe0) {
        it->kind = MP_INT;
        it->i = t <= 0x7f ? t : (int)t - 256;
        return 1;
    }
    if (t <= 0x8f)
        return container(n, 1, t & 0x0f, true, it, why);
    if (t <= 0x9f)
        return container(n, 1, t & 0x0f, false, it, why);
    if (t <= 0xbf) {
        it->kind = MP_STR;
        return payload(p, n, 1, t & 0x1f, it, why);
    }

    /* 0xc0-0xdf: first what the item is, and the width w of the field
     * after the type byte (a length, a count, or the value). A family
     * lists its variants smallest first, and the width doubles at each
     * step: variant t of a family that starts at byte f has 1 << (t - f). */
    size_t w = 0;
    switch (t) {
    case 0xc0: it->kind = MP_NIL; return 1;
    case 0xc2: case 0xc3: it->kind = MP_BOOL; it->b = t == 0xc3; return 1;
    case 0xc4: case 0xc5: case 0xc6: it->kind = MP_BIN; w = 1u << (t - 0xc4); break;
    case 0xc7: case 0xc8: case 0xc9: it->kind = MP_EXT; w = 1u << (t - 0xc7); break;
    case 0xca: case 0xcb: it->kind = MP_FLOAT; w = t == 0xca ? 4 : 8; break;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: it->kind = MP_UINT; w = 1u << (t - 0xcc); break;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: it->kind = MP_INT; w = 1u << (t - 0xd0); break;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: it->kind = MP_EXT; w = 1; break;
    case 0xd9: case 0xda: case 0xdb: it->kind = MP_STR; w = 1u << (t - 0xd9); break;
    case 0xdc: case 0xdd: it->kind = MP_ARRAY; w = t == 0xdc ? 2 : 4; break;
    case 0xde: case 0xdf: it->kind = MP_MAP; w = t == 0xde ? 2 : 4; break;
    default: return bad(why, "type byte 0xc1 is never used");
    }
    if (n < 1 + w)
        return truncated(why);
    uint64_t v = be(p + 1, w);

    /* Then the item itself. */
    switch (it->kind) {
    case MP_BIN:
    case MP_STR:
        return payload(p, n, 1 + w, v, it, why);
    case MP_EXT:
        if (t >= 0xd4) { /* fixext 1-16: the field is the type, then the bytes */
            it->ext_type = (int8_t)sign_extend(v, 1);
            return payload(p, n, 2, 1u << (t - 0xd4), it, why);
        }
        if (n < 2 + w) /* ext 8-32: the length, the type, then the bytes */
            return truncated(why);
        it->ext_type = (int8_t)sign_extend(p[1 + w], 1);
        return payload(p, n, 2 + w, v, it, why);
    case MP_ARRAY:
    case MP_MAP:
        return container(n, 1 + w, v, it->kind == MP_MAP, it, why);
    case MP_FLOAT: /* IEEE 754 bits, big-endian like everything else */
        if (w == 4) {
            uint32_t bits = (uint32_t)v;
            float f;
            memcpy(&f, &bits, sizeof f);
            it->f = f;
        } else {
            memcpy(&it->f, &v, sizeof it->f);
        }
        break;
    case MP_UINT: /* most are MP_INT, to spare every caller a case */
        if (v <= INT64_MAX) {
            it->kind = MP_INT;
            it->i = (int64_t)v;
        } else {
            it->u = v;
        }
        break;
    default: /* MP_INT */
        it->i = sign_extend(v, w);
        break;
    }
    return (long)(1 + w);
}

/* Step over the one whole value at p[0..n), nested arrays and maps
 * included, checking only its structure. Returns its size, or MP_ERROR
 * as mp_read does, or when it nests deeper than MP_MAX_DEPTH. */
long mp_skip(const uint8_t *p, size_t n, const char **why)
{
    size_t left[MP_MAX_DEPTH]; /* items still to come in each open container */
    int depth = 0;
    size_t i = 0;
    do {
        struct mp_item it;
        long k = mp_read(p + i, n - i, &it, why);
        if (k < 0)
            return MP_ERROR;
        i += (size_t)k;
        if (depth > 0)
            left[depth - 1]--;
        if (it.kind == MP_ARRAY || it.kind == MP_MAP) {
            if (depth == MP_MAX_DEPTH)
                return bad(why, "nested deeper than MP_MAX_DEPTH");
            left[depth++] = it.kind == MP_MAP ? 2 * it.count : it.count;
        }
        while (depth > 0 && left[depth - 1] == 0)
            depth--;
    } while (depth > 0);
    return (long)i;
}

/* Step through a list of strings. *pos starts at 0; each call that
 * returns 1 sets *s to the next one. Returns 0 after the last, -1 if the
 * list holds something else (never one that mp_broadcast_decode made). */
int mp_list_next(const struct mp_list *l, size_t *pos, struct mp_str *s)
{
    struct mp_item it;
    const char *why;
    if (*pos >= l->n)
        return 0;
    long k = mp_read(l->p + *pos, l->n - *pos, &it, &why);
    if (k < 0 || it.kind != MP_STR)
        return -1;
    s->p = (const char *)it.p;
    s->len = it.len;
    *pos += (size_t)k;
    return 1;
}

/* ========================================================================
 * Writing, in the smallest encoding (as notepack's encode.js chooses)
 * ======================================================================== */

/* A type byte, then v in k big-endian bytes (k = 0: the type byte alone). */
static void put_be(struct jbuf *b, uint8_t type, uint64_t v, size_t k)
{
    unsigned char out[9];
    out[0] = type;
    for (size_t j = 0; j < k; j++)
        out[1 + j] = (unsigned char)(v >> (8 * (k - 1 - j)));
    jb_raw(b, (const char *)out, 1 + k);
}

/* The smallest header for n, the length of a str or bin, the count of an
 * array or map, or a non-negative integer's value: the fix form fix | n
 * when n < fix_end, else the first of t8, t16, t32, t64 whose field holds
 * it (0: the family has no such form). A length that none holds -- msgpack
 * stops at 32 bits -- is recorded as b->oom. */
static void put_head(struct jbuf *b, uint8_t fix, uint64_t fix_end, uint8_t t8,
                     uint8_t t16, uint8_t t32, uint8_t t64, uint64_t n)
{
    if (n < fix_end)
        put_be(b, (uint8_t)(fix | n), 0, 0);
    else if (t8 && n <= 0xff)
        put_be(b, t8, n, 1);
    else if (n <= 0xffff)
        put_be(b, t16, n, 2);
    else if (n <= 0xffffffff)
        put_be(b, t32, n, 4);
    else if (t64)
        put_be(b, t64, n, 8);
    else
        b->oom = true;
}

void mp_put_nil(struct jbuf *b)
{
    put_be(b, 0xc0, 0, 0);
}

void mp_put_bool(struct jbuf *b, bool v)
{
    put_be(b, v ? 0xc3 : 0xc2, 0, 0);
}

/* A non-negative integer: fixint to 127, then uint 8, 16, 32 or 64. */
void mp_put_uint(struct jbuf *b, uint64_t v)
{
    put_head(b, 0x00, 0x80, 0xcc, 0xcd, 0xce, 0xcf, v);
}

/* An integer: as mp_put_uint when v >= 0; else negative fixint down to
 * -32, then int 8, 16, 32 or 64, whose bytes are v's two's complement. */
void mp_put_int(struct jbuf *b, int64_t v)
{
    uint64_t bits = (uint64_t)v; /* conversion to unsigned is modulo 2^64 */
    if (v >= 0)
        mp_put_uint(b, bits);
    else if (v >= -32)
        put_be(b, (uint8_t)bits, 0, 0);
    else if (v >= INT8_MIN)
        put_be(b, 0xd0, bits, 1);
    else if (v >= INT16_MIN)
        put_be(b, 0xd1, bits, 2);
    else if (v >= INT32_MIN)
        put_be(b, 0xd2, bits, 4);
    else
        put_be(b, 0xd3, bits, 8);
}

/* Always float64, as notepack writes every non-integer number. */
void mp_put_float(struct jbuf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_be(b, 0xcb, bits, 8);
}

static void put_str_head(struct jbuf *b, size_t n)
{
    put_head(b, 0xa0, 32, 0xd9, 0xda, 0xdb, 0, n);
}

/* A string of n bytes, which the caller vouches are UTF-8. */
void mp_put_str(struct jbuf *b, const char *s, size_t n)
{
    put_str_head(b, n);
    jb_raw(b, s, n);
}

void mp_put_bin(struct jbuf *b, const uint8_t *p, size_t n)
{
    put_head(b, 0, 0, 0xc4, 0xc5, 0xc6, 0, n);
    jb_raw(b, (const char *)p, n);
}

/* The header of an array; its count elements are written next. */
void mp_put_array(struct jbuf *b, size_t count)
{
    put_head(b, 0x90, 16, 0, 0xdc, 0xdd, 0, count);
}

/* The header of a map; its count keys and values follow, alternately. */
void mp_put_map(struct jbuf *b, size_t count)
{
    put_head(b, 0x80, 16, 0, 0xde, 0xdf, 0, count);
}

/* ========================================================================
 * msgpack to JSON
 * ======================================================================== */

/* Append d as JSON. NaN and +-Infinity are null, as JSON.stringify writes
 * them. An integer value of magnitude below 2^63 is written as an
 * integer (so -0 is 0); any other value in the fewest of 15, 16 or 17
 * significant digits that read back as the same double. Either way the
 * text reads back (mp_from_json) as the same number, which is then written
 * the same again; the fuzzer checks that. JavaScript would write 1e-7
 * where C writes 1e-07: the spelling differs, the number does not. (The
 * '.' of printf and strtod is the C locale's; the server never changes
 * locale.) */
static void json_double(struct jbuf *out, double d)
{
    if (!isfinite(d)) {
        jb_lit(out, "null");
        return;
    }
    if (d >= -0x1p63 && d < 0x1p63 && (double)(int64_t)d == d) {
        jb_int(out, (long long)(int64_t)d);
        return;
    }
    char text[32];
    for (int prec = 15;; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, d);
        if (prec == 17 || strtod(text, NULL) == d)
            break;
    }
    jb_lit(out, text);
}

/* Append a timestamp (ext type -1) as the JSON a Node server sends for
 * it: notepack reads it as a Date, and JSON.stringify writes a Date as
 * its toISOString(), "2023-11-14T22:13:20.123Z". The spec's three forms:
 * 4 bytes of seconds; 8 bytes of 30-bit nanoseconds and 34-bit seconds;
 * 4 bytes of nanoseconds and 8 of signed seconds. Any other length, and a
 * Date out of JavaScript's range (an Invalid Date), are null. */
static void json_timestamp(struct jbuf *out, const uint8_t *p, size_t len)
{
    /* TimeClip: a Date holds whole milliseconds, at most 8.64e15 from the
     * epoch, and new Date(x) truncates x toward zero. */
    const int64_t max_ms = 8640000000000000;
    int64_t sec = INT64_MIN; /* stays out of range for any other length */
    uint64_t ns = 0;
    if (len == 4) {
        sec = (int64_t)be(p, 4);
    } else if (len == 8) {
        ns = be(p, 8) >> 34;
        sec = (int64_t)(be(p, 8) & 0x3ffffffff);
    } else if (len == 12) {
        ns = be(p, 4);
        sec = sign_extend(be(p + 4, 8), 8);
    }
    int64_t ms = INT64_MAX; /* out of range, unless sec is in it */
    if (sec <= max_ms / 1000 + 5 && sec >= -max_ms / 1000 - 5) {
        ms = sec * 1000 + (int64_t)(ns / 1000000);
        if (ms < 0 && ns % 1000000 != 0)
            ms++; /* -999.999999 truncates to -999, not -1000 */
    }
    if (ms > max_ms || ms < -max_ms) {
        jb_lit(out, "null");
        return;
    }
    int64_t days = ms / 86400000, msday = ms % 86400000;
    if (msday < 0) {
        msday += 86400000;
        days--;
    }
    /* Days since 1970-01-01 to a date of the proleptic Gregorian calendar
     * (H. Hinnant's civil_from_days): count 400-year eras of 146097 days
     * from 0000-03-01, so that the leap day ends each year. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                 /* 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);          /* 0..365 from 1 March */
    int64_t mp = (5 * doy + 2) / 153;                               /* 0..11, March is 0 */
    int day = (int)(doy - (153 * mp + 2) / 5 + 1);
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    long long year = (long long)(yoe + era * 400 + (month <= 2));
    /* Years 0-9999 take four digits; others a sign and six ("expanded"). */
    char y[16], text[64];
    snprintf(y, sizeof y, year >= 0 && year <= 9999 ? "%04lld" : "%+07lld", year);
    snprintf(text, sizeof text, "\"%s-%02d-%02dT%02d:%02d:%02d.%03dZ\"", y, month,
             day, (int)(msday / 3600000), (int)(msday / 60000 % 60),
             (int)(msday / 1000 % 60), (int)(msday % 1000));
    jb_lit(out, text);
}

/* Write the scalar item *it as JSON: anything but an array or map. A
 * bin becomes the next placeholder, unless at_limit (it would be one
 * object too deep) or all SIO_MAX_ATTACHMENTS are used. Returns NULL, or
 * the reason it cannot be written. */
static const char *json_scalar(struct jbuf *out, const struct mp_item *it,
                               bool is_key, bool at_limit,
                               struct hub_blob *bins, size_t *nbins)
{
    char num[24];
    switch (it->kind) {
    case MP_NIL: jb_lit(out, "null"); break;
    case MP_BOOL: jb_lit(out, it->b ? "true" : "false"); break;
    case MP_INT: jb_int(out, (long long)it->i); break;
    case MP_FLOAT: json_double(out, it->f); break;
    case MP_UINT:
        snprintf(num, sizeof num, "%" PRIu64, it->u);
        jb_lit(out, num);
        break;
    case MP_EXT:
        if (it->ext_type == -1)
            json_timestamp(out, it->p, it->len);
        else
            jb_lit(out, "null");
        break;
    case MP_STR:
        if (!utf8_ok(it->p, it->len))
            return "a string is not valid UTF-8";
        if (is_key && it->len == 12 && memcmp(it->p, "_placeholder", 12) == 0)
            return "a map has a _placeholder key";
        jb_str(out, (const char *)it->p, it->len);
        break;
    case MP_BIN:
        if (at_limit)
            return "nested deeper than MP_MAX_DEPTH";
        if (*nbins == SIO_MAX_ATTACHMENTS)
            return "more than 10 bin values";
        bins[*nbins].data = it->p;
        bins[*nbins].len = it->len;
        jb_lit(out, "{\"_placeholder\":true,\"num\":");
        jb_int(out, (long long)(*nbins)++);
        jb_lit(out, "}");
        break;
    default: /* MP_ARRAY, MP_MAP: the caller's */
        break;
    }
    return NULL;
}

/* One open array or map on mp_to_json's stack. */
struct open_container {
    size_t items; /* items it holds: elements, or keys and values */
    size_t done;  /* items written so far */
    bool map;     /* a map: items alternate key, value */
};

/* Write the one msgpack value at p[0..n) as JSON text, appended to out.
 * Every bin becomes {"_placeholder":true,"num":i}, numbered in order of
 * appearance as socket.io-parser numbers them, and bins[i] points at its
 * bytes in p; *nbins says how many. Returns the bytes of p the value took
 * (the caller decides what may follow), or MP_ERROR with out->len as it
 * was when: the value is malformed as for mp_read, or nests deeper than
 * MP_MAX_DEPTH (a bin counts a level: it becomes an object); a map key is
 * not a string, or is "_placeholder", which would forge an attachment
 * (socket.io-parser's CVE-2022-2421 was type confusion on exactly these);
 * a string is not UTF-8; there are more than SIO_MAX_ATTACHMENTS bins; or
 * memory ran out. Numbers as json_double and json_timestamp say; a uint64
 * above INT64_MAX is written exactly, though JavaScript would round it. */
long mp_to_json(const uint8_t *p, size_t n, struct jbuf *out,
                struct hub_blob bins[SIO_MAX_ATTACHMENTS], size_t *nbins,
                const char **why)
{
    struct open_container stack[MP_MAX_DEPTH];
    int depth = 0;
    size_t i = 0, start = out->len;
    *nbins = 0;
    do {
        bool is_key = false;
        if (depth > 0) { /* the separator, and whether a key comes next */
            struct open_container *c = &stack[depth - 1];
            if (c->done > 0)
                jb_raw(out, c->map && c->done % 2 == 1 ? ":" : ",", 1);
            is_key = c->map && c->done % 2 == 0;
            c->done++;
        }
        struct mp_item it;
        long k = mp_read(p + i, n - i, &it, why);
        if (k < 0)
            goto fail;
        i += (size_t)k;
        const char *err = NULL;
        if (is_key && it.kind != MP_STR) {
            err = "a map key is not a string";
        } else if (it.kind != MP_ARRAY && it.kind != MP_MAP) {
            err = json_scalar(out, &it, is_key, depth == MP_MAX_DEPTH, bins, nbins);
        } else if (depth == MP_MAX_DEPTH) {
            err = "nested deeper than MP_MAX_DEPTH";
        } else {
            struct open_container *c = &stack[depth++];
            c->map = it.kind == MP_MAP;
            c->items = c->map ? 2 * it.count : it.count;
            c->done = 0;
            jb_raw(out, c->map ? "{" : "[", 1);
        }
        if (err) {
            bad(why, err);
            goto fail;
        }
        /* Close whatever is now complete, innermost first. */
        while (depth > 0 && stack[depth - 1].done == stack[depth - 1].items) {
            depth--;
            jb_raw(out, stack[depth].map ? "}" : "]", 1);
        }
    } while (depth > 0);
    if (out->oom) {
        bad(why, "out of memory");
        goto fail;
    }
    return (long)i;
fail:
    out->len = start;
    return MP_ERROR;
}

/* ========================================================================
 * JSON to msgpack
 * ======================================================================== */

/* The four hex digits at s, which json_scan has already checked. */
static uint32_t hex4(const char *s)
{
    uint32_t v = 0;
    for (int j = 0; j < 4; j++) {
        int c = (unsigned char)s[j];
        v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Append code point cp as UTF-8 (RFC 3629 §3), or only count its bytes
 * when out is NULL. Returns the byte count. */
static size_t put_utf8(struct jbuf *out, uint32_t cp)
{
    static const unsigned char lead[5] = {0, 0x00, 0xc0, 0xe0, 0xf0};
    size_t k = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    unsigned char u[4];
    u[0] = (unsigned char)(lead[k] | cp >> (6 * (k - 1)));
    for (size_t j = 1; j < k; j++) /* six bits a byte, the last bits last */
        u[j] = (unsigned char)(0x80 | (cp >> (6 * (k - 1 - j)) & 0x3f));
    if (out)
        jb_raw(out, (const char *)u, k);
    return k;
}

/* The bytes of the JSON string token s[0..n), quotes included, which
 * json_scan has checked: appended to out, or only counted when out is
 * NULL. Returns the count. This is not json_string, for two reasons: a
 * msgpack string is counted, not NUL-terminated, so \u0000 is a character
 * like any other; and a \u surrogate that is not half of a pair (legal
 * JSON, RFC 8259 §8.2) becomes U+FFFD, as Node's Buffer writes one. */
static size_t unescape(const char *s, size_t n, struct jbuf *out)
{
    size_t count = 0, i = 1, end = n - 1; /* between the quotes */
    while (i < end) {
        size_t run = i;
        while (i < end && s[i] != '\\')
            i++;
        if (out)
            jb_raw(out, s + run, i - run);
        count += i - run;
        if (i == end)
            break;
        char e = s[i + 1], c;
        i += 2;
        switch (e) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': c = 0; break;
        default: c = e; break; /* \" \\ \/ */
        }
        if (e != 'u') {
            if (out)
                jb_raw(out, &c, 1);
            count++;
            continue;
        }
        uint32_t cp = hex4(s + i);
        i += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && end - i >= 6 && s[i] == '\\' &&
            s[i + 1] == 'u') {
            uint32_t lo = hex4(s + i + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xfffd; /* half a pair, alone */
        count += put_utf8(out, cp);
    }
    return count;
}

static void put_json_string(struct jbuf *out, const char *s, size_t n)
{
    put_str_head(out, unescape(s, n, NULL));
    unescape(s, n, out);
}

/* A number as notepack writes a JavaScript number: with an integer value
 * in the int64 range, as an integer; else as float64. Except Infinity,
 * which JSON.parse makes of 1e400: it is nil, the null that every client
 * would see of it, so that the text mp_to_json writes makes the same
 * bytes again. */
static void put_double(struct jbuf *out, double d)
{
    if (!isfinite(d))
        mp_put_nil(out);
    else if (d >= -0x1p63 && d < 0x1p63 && (double)(int64_t)d == d)
        mp_put_int(out, (int64_t)d);
    else
        mp_put_float(out, d);
}

/* The JSON number s[0..n) (RFC 8259 §6, checked by json_scan). Integer
 * text that fits 64 bits is written exactly; any other number is read as
 * JSON.parse reads it, as a double, and written by put_double, so 1.0
 * and 1e3 go out as integers, as they would from Node. */
static void put_json_number(struct jbuf *out, const char *s, size_t n)
{
    bool neg = s[0] == '-';
    uint64_t mag = 0;
    size_t i = neg;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned digit = (unsigned)(s[i] - '0');
        if (mag > (UINT64_MAX - digit) / 10)
            break; /* too big for 64 bits: a double, below */
        mag = mag * 10 + digit;
    }
    if (i == n && !neg) {
        mp_put_uint(out, mag);
        return;
    }
    if (i == n && mag <= (uint64_t)INT64_MAX + 1) {
        mp_put_int(out, mag > INT64_MAX ? INT64_MIN : -(int64_t)mag);
        return;
    }
    /* strtod wants a NUL-terminated copy: the text may end the buffer. */
    char small[64];
    char *text = n < sizeof small ? small : malloc(n + 1);
    if (!text) {
        out->oom = true;
        return;
    }
    memcpy(text, s, n);
    text[n] = '\0';
    put_double(out, strtod(text, NULL));
    if (text != small)
        free(text);
}

/* Write the JSON value v[0..n) (white space trimmed, checked by
 * json_scan): a scalar whole, a placeholder as the bin it names, an array
 * or object as its header and then its members. This one recurses, which
 * the decoders do not: json_scan has already refused text nested deeper
 * than JSON_MAX_DEPTH, so the C stack holds at most that many calls.
 * Returns 0 or MP_ERROR. */
static int put_json_value(const char *v, size_t n, const struct hub_blob *bins,
                          size_t nbins, struct jbuf *out, const char **why)
{
    const char *key, *val;
    size_t kl, vl, count = 0, pos = 0;
    int64_t num;
    switch (json_type_of(v, n)) {
    case JSON_NULL: mp_put_nil(out); return 0;
    case JSON_TRUE: mp_put_bool(out, true); return 0;
    case JSON_FALSE: mp_put_bool(out, false); return 0;
    case JSON_NUMBER: put_json_number(out, v, n); return 0;
    case JSON_STRING: put_json_string(out, v, n); return 0;
    case JSON_OBJECT:
        /* json_scan has checked that an object with this key is
         * {"_placeholder":true,"num":N}; other keys it may have are
         * dropped, as socket.io-parser's reconstructPacket drops them. */
        if (json_get(v, n, "_placeholder", &val, &vl) == 0) {
            /* The range is checked here, not by json_int's max: json_int
             * lets one digit above a max below 9 through ((0-7)/10 is 0). */
            if (json_get(v, n, "num", &val, &vl) != 0 ||
                json_int(val, vl, INT64_MAX, &num) != 0 || num >= (int64_t)nbins)
                return bad(why, "a placeholder names no attachment");
            mp_put_bin(out, bins[num].data, bins[num].len);
            return 0;
        }
        while (json_object_next(v, n, &pos, &key, &kl, &val, &vl) == 1)
            count++;
        mp_put_map(out, count);
        for (pos = 0; json_object_next(v, n, &pos, &key, &kl, &val, &vl) == 1;) {
            put_json_string(out, key, kl);
            if (put_json_value(val, vl, bins, nbins, out, why) < 0)
                return MP_ERROR;
        }
        return 0;
    case JSON_ARRAY:
        while (json_array_next(v, n, &pos, &val, &vl) == 1)
            count++;
        mp_put_array(out, count);
        for (pos = 0; json_array_next(v, n, &pos, &val, &vl) == 1;) {
            if (put_json_value(val, vl, bins, nbins, out, why) < 0)
                return MP_ERROR;
        }
        return 0;
    default:
        return bad(why, "not a JSON value");
    }
}

/* Write the one JSON value in json[0..n) (white space allowed around it)
 * as msgpack, appended to out, with each {"_placeholder":true,"num":i}
 * written as a bin of bins[i]; an attachment may be named any number of
 * times, or never. Strings are written unescaped (see unescape); numbers
 * as put_json_number says. Returns 0, or MP_ERROR with out->len as it was
 * when: there are more than SIO_MAX_ATTACHMENTS bins; the text is not
 * UTF-8, or not one JSON value (json_scan: nesting over JSON_MAX_DEPTH
 * included); a placeholder is malformed or names no attachment; or memory
 * ran out. */
int mp_from_json(const char *json, size_t n, const struct hub_blob *bins,
                 size_t nbins, struct jbuf *out, const char **why)
{
    size_t start = out->len;
    if (nbins > SIO_MAX_ATTACHMENTS)
        return bad(why, "more than 10 attachments");
    if (!utf8_ok((const uint8_t *)json, n))
        return bad(why, "JSON text is not valid UTF-8");
    long end = json_scan(json, n, (int)nbins);
    if (end < 0)
        return bad(why, "not valid JSON, or a placeholder names no attachment");
    if ((size_t)end + (size_t)json_skip_ws(json + end, n - (size_t)end) != n)
        return bad(why, "text after the JSON value");
    size_t first = (size_t)json_skip_ws(json, n);
    if (put_json_value(json + first, (size_t)end - first, bins, nbins, out, why) < 0)
        goto fail;
    if (out->oom) {
        bad(why, "out of memory");
        goto fail;
    }
    return 0;
fail:
    out->len = start;
    return MP_ERROR;
}

/* ========================================================================
 * The adapter's broadcast message (notes §4)
 * ======================================================================== */

/* Append m as the message a Node adapter publishes for it (notes §4, §9),
 * byte for byte. The message is written out as JSON text first, so its
 * shape reads as the notes print it, then turned into msgpack by
 * mp_from_json, which keeps the key order (the adapter's) and checks the
 * names are UTF-8 on the way. flags holds volatile: true and compress:
 * false only when set. type is always 2, bins or not: a Node server that
 * receives a 5 breaks its clients (§4). Returns 0, or MP_ERROR with
 * out->len as it was when a name is not UTF-8, the arguments are not
 * valid JSON whose placeholders name m->args.bins, or memory ran out.
 * Only what this returns 0 for may be published: Node does not survive a
 * malformed broadcast (§4). */
int mp_broadcast_encode(struct jbuf *out, const struct mp_publish *m,
                        const char **why)
{
    struct jbuf j = {0};
    jb_lit(&j, "[");
    jb_str(&j, m->uid, strlen(m->uid));
    jb_lit(&j, ",{\"type\":2,\"data\":");
    size_t data = j.len;
    jb_event(&j, m->event, m->args.json, m->args.len); /* the hub's list, as it is */
    /* The arguments must be a list of values that stays inside data:
     * 1]},{"rooms":["x" would otherwise rewrite the message around it. */
    bool data_ok = !j.oom && json_scan(j.p + data, j.len - data, -1) == (long)(j.len - data);
    jb_lit(&j, ",\"nsp\":");
    jb_str(&j, m->nsp, strlen(m->nsp));
    jb_lit(&j, "},{\"rooms\":");
    jb_strings(&j, m->rooms, m->nrooms);
    jb_lit(&j, ",\"except\":");
    jb_strings(&j, m->except, m->nexcept);
    jb_lit(&j, ",\"flags\":{");
    if (m->is_volatile)
        jb_lit(&j, m->no_compress ? "\"volatile\":true," : "\"volatile\":true");
    if (m->no_compress)
        jb_lit(&j, "\"compress\":false");
    jb_lit(&j, "}}]");
    int r;
    if (j.oom)
        r = bad(why, "out of memory");
    else if (!data_ok)
        r = bad(why, "the arguments are not a list of JSON values");
    else
        r = mp_from_json(j.p, j.len, m->args.bins, m->args.nbins, out, why);
    jb_free(&j);
    return r;
}

#define ABSENT SIZE_MAX /* read_fields: the map has no such key */

/* Read the map at p[*pos], noting where the value of each key in
 * names[0..count) starts (at[k], or ABSENT). A key that comes twice
 * counts the second time, as in the object notepack would build. Other
 * keys are skipped with their values, which need only be well-formed.
 * Returns 0 with *pos past the map, or MP_ERROR: not_map if it is not a
 * map, or a key that is not a string, or what mp_skip refuses. */
static int read_fields(const uint8_t *p, size_t n, size_t *pos,
                       const char *const *names, size_t count, size_t *at,
                       const char *not_map, const char **why)
{
    struct mp_item it, key;
    long k = mp_read(p + *pos, n - *pos, &it, why);
    if (k < 0)
        return MP_ERROR;
    if (it.kind != MP_MAP)
        return bad(why, not_map);
    *pos += (size_t)k;
    for (size_t j = 0; j < count; j++)
        at[j] = ABSENT;
    for (size_t pair = 0; pair < it.count; pair++) {
        k = mp_read(p + *pos, n - *pos, &key, why);
        if (k < 0)
            return MP_ERROR;
        if (key.kind != MP_STR)
            return bad(why, "a map key is not a string");
        *pos += (size_t)k;
        for (size_t j = 0; j < count; j++) {
            if (key.len == strlen(names[j]) && memcmp(key.p, names[j], key.len) == 0)
                at[j] = *pos;
        }
        k = mp_skip(p + *pos, n - *pos, why);
        if (k < 0)
            return MP_ERROR;
        *pos += (size_t)k;
    }
    return 0;
}

/* The UTF-8 string at p[at], or MP_ERROR with why = what. */
static int read_str(const uint8_t *p, size_t n, size_t at, struct mp_str *s,
                    const char *what, const char **why)
{
    struct mp_item it;
    if (mp_read(p + at, n - at, &it, why) < 0)
        return MP_ERROR;
    if (it.kind != MP_STR || !utf8_ok(it.p, it.len))
        return bad(why, what);
    s->p = (const char *)it.p;
    s->len = it.len;
    return 0;
}

/* The array of UTF-8 strings at p[at] (none when at is ABSENT), or
 * MP_ERROR with why = what. Node keeps room names as strings and matches
 * no room named by a number (notes §4), so anything else is refused. */
static int read_list(const uint8_t *p, size_t n, size_t at, struct mp_list *l,
                     const char *what, const char **why)
{
    struct mp_item it;
    l->p = p;
    l->n = l->count = 0;
    if (at == ABSENT)
        return 0;
    long k = mp_read(p + at, n - at, &it, why);
    if (k < 0)
        return MP_ERROR;
    if (it.kind != MP_ARRAY)
        return bad(why, what);
    size_t i = at + (size_t)k;
    l->p = p + i;
    l->count = it.count;
    for (size_t e = 0; e < it.count; e++) {
        struct mp_str s;
        if (read_str(p, n, i, &s, what, why) < 0)
            return MP_ERROR;
        i = (size_t)((const uint8_t *)s.p + s.len - p);
    }
    l->n = (size_t)(p + i - l->p);
    return 0;
}

/* True if the value at p[at] is the boolean want. */
static bool flag_is(const uint8_t *p, size_t n, size_t at, bool want)
{
    struct mp_item it;
    const char *why;
    return at != ABSENT && mp_read(p + at, n - at, &it, &why) > 0 &&
           it.kind == MP_BOOL && it.b == want;
}

/* Read the whole message p[0..n) as a broadcast (notes §4, §5) into *b;
 * data goes to json as mp_to_json writes it, with its bins. Keys are found
 * by name in any order (the adapter and the emitter differ), and keys it
 * does not know are skipped. nsp may be missing ("/"), and so may rooms,
 * except and flags (empty), as Node allows; a flag is on only when it is
 * the boolean that turns it on. Returns 0, or MP_ERROR with json->len as
 * it was, when: p is not one well-formed value with nothing after it (a
 * Node peer would throw "trailing bytes"); it is not [uid, packet, opts,
 * ...] with a string uid and maps after it; packet.type is not 2 -- a 5,
 * which no Node server publishes, included, since the Node peers could
 * not deliver it either, and every other type is no broadcast; data is
 * not an array that starts with a string; nsp is not a string; rooms or
 * except hold anything but strings; or mp_to_json refuses data. Whether
 * the namespace and the uid are this node's is for the caller (§5). */
int mp_broadcast_decode(const uint8_t *p, size_t n, struct jbuf *json,
                        struct mp_broadcast *b, const char **why)
{
    static const char *const packet_keys[] = {"type", "data", "nsp"};
    static const char *const opts_keys[] = {"rooms", "except", "flags"};
    static const char *const flag_keys[] = {"volatile", "compress"};
    size_t pk[3], ok[3], fk[2] = {ABSENT, ABSENT};
    struct mp_item it, first;
    memset(b, 0, sizeof *b);

    long k = mp_read(p, n, &it, why);
    if (k < 0)
        return MP_ERROR;
    if (it.kind != MP_ARRAY || it.count < 3)
        return bad(why, "a broadcast is an array [uid, packet, opts]");
    size_t i = (size_t)k;
    if (read_str(p, n, i, &b->uid, "uid is not a string", why) < 0)
        return MP_ERROR;
    i = (size_t)((const uint8_t *)b->uid.p + b->uid.len - p);
    if (read_fields(p, n, &i, packet_keys, 3, pk, "packet is not a map", why) < 0 ||
        read_fields(p, n, &i, opts_keys, 3, ok, "opts is not a map", why) < 0)
        return MP_ERROR;
    for (size_t extra = 3; extra < it.count; extra++) { /* as Node ignores them */
        k = mp_skip(p + i, n - i, why);
        if (k < 0)
            return MP_ERROR;
        i += (size_t)k;
    }
    if (i != n)
        return bad(why, "bytes after the broadcast");

    if (pk[0] == ABSENT || mp_read(p + pk[0], n - pk[0], &it, why) < 0 ||
        it.kind != MP_INT || it.i != SIO_EVENT)
        return bad(why, "packet type is not 2 (EVENT)");
    b->nsp.p = "/";
    b->nsp.len = 1;
    if (pk[2] != ABSENT && read_str(p, n, pk[2], &b->nsp, "nsp is not a string", why) < 0)
        return MP_ERROR;
    if (read_list(p, n, ok[0], &b->rooms, "rooms are not all strings", why) < 0 ||
        read_list(p, n, ok[1], &b->except, "except is not all strings", why) < 0)
        return MP_ERROR;
    if (ok[2] != ABSENT) {
        size_t at = ok[2];
        if (read_fields(p, n, &at, flag_keys, 2, fk, "flags is not a map", why) < 0)
            return MP_ERROR;
    }
    b->is_volatile = flag_is(p, n, fk[0], true);
    b->no_compress = flag_is(p, n, fk[1], false);

    /* Last, so that nothing after it can fail and leave json changed. */
    if (pk[1] == ABSENT || (k = mp_read(p + pk[1], n - pk[1], &it, why)) < 0 ||
        it.kind != MP_ARRAY || it.count == 0 ||
        mp_read(p + pk[1] + k, n - pk[1] - (size_t)k, &first, why) < 0 ||
        first.kind != MP_STR)
        return bad(why, "data is not an array that starts with the event name");
    size_t start = json->len;
    if (mp_to_json(p + pk[1], n - pk[1], json, b->bins, &b->nbins, why) < 0)
        return MP_ERROR;
    b->data = json->p + start;
    b->data_len = json->len - start;
    return 0;
}
