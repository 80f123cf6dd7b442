/* fuzz_eio.c -- libFuzzer harness: the Engine.IO polling payload and
 * WebSocket message decoders, and base64.
 * SPDX-License-Identifier: MIT
 *
 * The input is a POST body, copied into a heap block of exactly its size
 * and decoded packet by packet until the end or an error. Checked: every
 * packet lies inside the block and *pos only moves forward; re-encoding
 * the packets that decoded gives back the input's own bytes up to where
 * decoding stopped (base64 is canonical, so a packet has one spelling);
 * that re-encoding decodes to the same packets and ends cleanly. The same
 * bytes then go through eio_parse_message as a text and as a binary
 * WebSocket message, and through base64 decoding, both in place and not.
 */
#include "../../eio.h"

#include <stdlib.h>
#include <string.h>

/* A heap block of exactly n bytes, so ASan sees a read past its end. */
static uint8_t *exact(const uint8_t *src, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        abort();
    if (src && n)
        memcpy(p, src, n);
    return p;
}

/* Decode body[0..n), storing up to cap packets. Returns the count; *end
 * is the last call's result, *stop the *pos it left. */
static size_t decode_all(uint8_t *body, size_t n, struct eio_packet *pkts,
                         size_t cap, int *end, size_t *stop)
{
    size_t pos = 0, count = 0;
    for (;;) {
        struct eio_packet p;
        const char *why = NULL;
        size_t before = pos;
        int r = eio_payload_next(body, n, &pos, &p, &why);
        if (r != 1) {
            if ((r != 0 && r != -1) || (r == -1 && !why) || pos != before)
                abort();
            *end = r;
            *stop = pos;
            return count;
        }
        if (pos <= before || pos > n || count == cap)
            abort();
        if (p.len > 0 && (p.data < body + before || p.data + p.len > body + pos))
            abort();
        if (p.binary ? p.type != EIO_MESSAGE
                     : strcmp(eio_type_name(p.type), "?") == 0)
            abort();
        if (!eio_polling_safe(p.binary, p.data, p.len))
            abort(); /* a decoded text packet never holds a separator */
        pkts[count++] = p;
    }
}

/* The packets as one polling payload, in a block of exactly its size. */
static uint8_t *encode_all(const struct eio_packet *pkts, size_t count,
                           size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += eio_encoded_len(pkts[i].binary, pkts[i].len) + (i > 0);
    uint8_t *out = exact(NULL, total);
    size_t o = 0;
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            out[o++] = EIO_SEPARATOR;
        o += eio_encode((char *)out + o, pkts[i].type, pkts[i].binary,
                        pkts[i].data, pkts[i].len);
    }
    if (o != total)
        abort();
    *len = total;
    return out;
}

static void check_payload(const uint8_t *data, size_t size)
{
    /* Every packet takes a byte and a separator, but the last. */
    size_t cap = size / 2 + 1;
    struct eio_packet *pkts = malloc(cap * sizeof *pkts);
    struct eio_packet *again = malloc(cap * sizeof *again);
    uint8_t *body = exact(data, size);
    if (!pkts || !again)
        abort();
    int end;
    size_t stop;
    size_t count = decode_all(body, size, pkts, cap, &end, &stop);
    if (end == -1 && count == 0 && stop != 0)
        abort();

    if (count > 0) {
        /* Byte for byte: what decoded re-encodes to what was sent. The
         * packets' data is still intact, though later packets were
         * decoded in place after them. */
        size_t want = end == 0 ? size : stop - 1;
        size_t len;
        uint8_t *re = encode_all(pkts, count, &len);
        if (len != want || memcmp(re, data, len) != 0)
            abort();
        int end2;
        size_t stop2;
        size_t count2 = decode_all(re, len, again, cap, &end2, &stop2);
        if (end2 != 0 || count2 != count)
            abort();
        for (size_t i = 0; i < count; i++) {
            if (again[i].type != pkts[i].type || again[i].binary != pkts[i].binary ||
                again[i].len != pkts[i].len ||
                (pkts[i].len && memcmp(again[i].data, pkts[i].data, pkts[i].len)))
                abort();
        }
        free(re);
    }
    free(body);
    free(again);
    free(pkts);
}

static void check_message(const uint8_t *data, size_t size)
{
    struct eio_packet p;
    const char *why = NULL;
    uint8_t *msg = exact(data, size);
    if (eio_parse_message(msg, size, false, &p, &why) == 0) {
        if (size == 0 || p.data != msg + 1 || p.len > size - 1)
            abort();
        if (!p.binary && (p.type != data[0] || p.len != size - 1))
            abort();
        if (p.binary) {
            /* 'b' + canonical base64: re-encoding gives the input back. */
            size_t len = eio_encoded_len(true, p.len);
            uint8_t *re = exact(NULL, len);
            if (eio_encode((char *)re, EIO_MESSAGE, true, p.data, p.len) != len ||
                len != size || memcmp(re, data, size) != 0)
                abort();
            free(re);
        }
    } else if (!why) {
        abort();
    }
    free(msg);
    msg = exact(data, size);
    if (eio_parse_message(msg, size, true, &p, &why) != 0 || !p.binary ||
        p.type != EIO_MESSAGE || p.data != msg || p.len != size)
        abort();
    free(msg);
}

static void check_base64(const uint8_t *data, size_t size)
{
    /* Into a separate block and over itself: the same verdict and bytes. */
    uint8_t *text = exact(data, size);
    uint8_t *out = exact(NULL, size / 4 * 3);
    long a = eio_base64_decode((const char *)text, size, out);
    long b = eio_base64_decode((const char *)text, size, text);
    if (a != b || (a >= 0 && memcmp(out, text, (size_t)a) != 0))
        abort();
    if (a >= 0) {
        size_t len = eio_base64_len((size_t)a);
        char *re = (char *)exact(NULL, len);
        if (eio_base64_encode(out, (size_t)a, re) != len || len != size ||
            memcmp(re, data, size) != 0)
            abort();
        free(re);
    }
    free(out);
    free(text);

    /* Any bytes encode, and decode back to themselves. */
    size_t len = eio_base64_len(size);
    char *enc = (char *)exact(NULL, len);
    if (eio_base64_encode(data, size, enc) != len)
        abort();
    uint8_t *back = exact(NULL, size);
    if (eio_base64_decode(enc, len, back) != (long)size ||
        (size && memcmp(back, data, size) != 0))
        abort();
    free(back);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_payload(data, size);
    check_message(data, size);
    check_base64(data, size);
    return 0;
}
