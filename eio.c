/* eio.c -- Engine.IO v4 packets and polling payloads, no I/O
 * SPDX-License-Identifier: MIT
 *
 * Socket.IO rides on Engine.IO. Over WebSocket each Engine.IO packet is one
 * frame: a type character and its data in a text frame, or raw bytes in a
 * binary frame. Over HTTP long-polling many packets share one body, joined
 * by the record separator 0x1e, and binary data travels as 'b' + base64.
 * This file reads and writes both spellings, and the base64 they need.
 *
 * It never touches a socket and never allocates. Decoding is done in the
 * caller's buffer: base64 is decoded over its own text (the bytes are
 * always fewer than the characters), and what comes back points there.
 *
 * It knows nothing of sessions, sids, heartbeats or upgrades: which packet
 * may arrive when is the server's business, not the codec's. Nor does it
 * look inside a message; sio.c reads the Socket.IO packet in it.
 *
 * References: engine.io-protocol v4, "Protocol" (packet types), "Packet
 * encoding" (HTTP long-polling and WebSocket), "From v3 to v4" (the
 * separator, base64 always); RFC 4648 §3.5, §4, §10 (base64); RFC 3629
 * §4 (UTF-8 syntax), via ws_utf8_feed in ws.c.
 */
#include "eio.h"
#include "ws.h"

#include <limits.h>
#include <string.h>

/* Store a static reason for the caller's log and return -1. */
static int bad(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

/* ========================================================================
 * Base64, RFC 4648 §4
 * ======================================================================== */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of one character of the §4 alphabet, 0..63, or -1 for any
 * other byte. '=' is -1 too: padding is handled by the caller, which
 * knows where padding may stand. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Characters that base64 of n bytes takes: 4 for every 3 bytes or part of
 * 3, padding included (§4). n must be well below SIZE_MAX / 4 * 3, which
 * any size the server accepts is. */
size_t eio_base64_len(size_t n)
{
    return n / 3 * 4 + (n % 3 != 0 ? 4 : 0);
}

/* Base64-encode n bytes into out, which holds eio_base64_len(n) chars.
 * Writes no NUL. Returns the characters written, eio_base64_len(n). */
size_t eio_base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    /* §4: each 24-bit group of input becomes four 6-bit characters. */
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    /* §4 cases (2) and (3): a final 8 or 16 bits is padded with zero bits
     * to whole characters, then with '=' to four. */
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = '=';
    }
    return o;
}

/* Decode the n characters at in, padded base64 (§4), into out. out may be
 * in itself: each group of four characters is read before its three bytes
 * are written, and they land no further on than the group began. Returns
 * the bytes written (n / 4 * 3 less the padding), or -1 if the text is not
 * canonical padded base64: a length that is not a multiple of 4, a byte
 * outside the alphabet (white space and line breaks included), '=' other
 * than one or two at the very end, or non-zero bits under the padding.
 * On -1, out may hold some bytes already decoded. */
long eio_base64_decode(const char *in, size_t n, uint8_t *out)
{
    /* §4: with padding, the text is always whole 4-character groups. */
    if (n % 4 != 0)
        return -1;
    if (n / 4 > (size_t)LONG_MAX / 3)
        return -1; /* the count would not fit the return type */
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        /* §4 (2), (3): "==" or "=" may end the last group, and nothing
         * else; a '=' anywhere else fails as a character below. */
        size_t pad = 0;
        if (i + 4 == n && in[i + 3] == '=')
            pad = in[i + 2] == '=' ? 2 : 1;
        uint32_t v = 0;
        for (size_t j = 0; j < 4 - pad; j++) {
            int d = b64_value((unsigned char)in[i + j]);
            if (d < 0)
                return -1;
            v = v << 6 | (uint32_t)d;
        }
        v <<= 6 * pad;
        /* §3.5: the bits under the padding must be zero in a canonical
         * encoding, and a decoder MAY reject one where they are not. We
         * do, so each byte string has exactly one spelling: re-encoding a
         * decoded payload gives back the same bytes, which the fuzzer
         * checks. Every encoder we meet (Node's Buffer, the engine.io
         * client) writes zeros there. */
        if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0))
            return -1;
        out[o++] = (uint8_t)(v >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(v >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)v;
    }
    return (long)o;
}

/* ========================================================================
 * Packets
 * ======================================================================== */

/* "Protocol": the seven packet types are the digits '0'..'6'. */
static bool type_known(int c)
{
    return c >= EIO_OPEN && c <= EIO_NOOP;
}

/* Decode the one packet at p[0..n), n >= 1, spelled as either transport
 * spells it: a type character and its data, or 'b' and base64 that is
 * decoded in place. check_utf8 asks for the data of a text packet to be
 * checked as UTF-8. Returns 0 with pkt filled, or -1 with *why. */
static int decode_packet(uint8_t *p, size_t n, bool check_utf8,
                         struct eio_packet *pkt, const char **why)
{
    if (p[0] == EIO_BINARY_PREFIX) {
        /* "Packet encoding": binary is 'b' + base64; it is a message. */
        long got = eio_base64_decode((const char *)p + 1, n - 1, p + 1);
        if (got < 0)
            return bad(why, "binary packet is not valid base64");
        pkt->type = EIO_MESSAGE;
        pkt->binary = true;
        pkt->data = p + 1;
        pkt->len = (size_t)got;
        return 0;
    }
    if (!type_known(p[0]))
        return bad(why, "unknown packet type");
    if (check_utf8) {
        /* "Packet encoding": the character encoding is UTF-8. A text
         * packet goes on to WebSocket clients as a text frame, and RFC
         * 6455 §8.1 lets those carry nothing else. */
        struct ws_utf8 u = {0, 0, 0};
        if (ws_utf8_feed(&u, p + 1, n - 1) != 0 || !ws_utf8_complete(&u))
            return bad(why, "text packet is not valid UTF-8");
    }
    pkt->type = p[0];
    pkt->binary = false;
    pkt->data = p + 1;
    pkt->len = n - 1;
    return 0;
}

/* Decode the next packet of the polling payload body[0..n) (the body of a
 * client's POST), starting at *pos, which begins at 0. Returns 1 with pkt
 * filled and *pos moved past the packet and the separator after it; 0 when
 * *pos == n and the payload is used up; -1 with *why when the payload is
 * malformed. A caller loops until 0 or -1, acting on each packet as it
 * comes, as the reference server does; after -1 the session is closed.
 * Neither 0 nor -1 moves *pos; on -1 it is where the bad packet begins.
 *
 * Base64 packets are decoded in place, so body is changed: pkt->data then
 * points at the decoded bytes, over the base64 text they came from. The
 * bytes of packets already returned are never touched again.
 *
 * Malformed is: an empty body; an empty packet, which is what a separator
 * at the start or the end or next to another one leaves ("4a\x1e" is two
 * packets, the second empty); a type that is not '0'..'6' or 'b'; base64
 * that eio_base64_decode refuses; text data that is not UTF-8. */
int eio_payload_next(uint8_t *body, size_t n, size_t *pos,
                     struct eio_packet *pkt, const char **why)
{
    size_t start = *pos;
    memset(pkt, 0, sizeof *pkt);
    if (start >= n) {
        /* The end. It is only a clean end if a packet came last, not a
         * separator. body[n - 1] still holds what the client sent: base64
         * decoding never reaches the last character of its text. */
        if (n == 0)
            return bad(why, "empty payload");
        if (body[n - 1] == EIO_SEPARATOR)
            return bad(why, "payload ends with a separator");
        return 0;
    }

    /* "HTTP long-polling": packets are split at \x1e. The text of a packet
     * never holds one (base64 cannot; the spec assumes text does not), and
     * no byte of a multi-byte UTF-8 sequence can be 0x1e, so the first
     * 0x1e found is the end of this packet. */
    uint8_t *sep = memchr(body + start, EIO_SEPARATOR, n - start);
    size_t end = sep ? (size_t)(sep - body) : n;
    if (end == start)
        return bad(why, start == 0 ? "payload starts with a separator"
                                   : "two separators in a row");
    if (decode_packet(body + start, end - start, true, pkt, why) != 0)
        return -1;
    *pos = sep ? end + 1 : n;
    return 1;
}

/* Decode the packet in one whole WebSocket message p[0..n) ("Packet
 * encoding", WebSocket): a binary message is an EIO_MESSAGE of exactly
 * its bytes, data == p, possibly empty; a text message is a type character
 * and its data. Its UTF-8 is not checked again: ws.c did that (RFC 6455
 * §8.1) before the message was whole. A text message may also be 'b' and
 * base64, which is decoded in place like a polling packet: the v4 spec
 * sends binary as frames, but the reference decoder takes both, and the
 * engine.io client's forceBase64 option sends this one. Returns 0 with pkt
 * filled, or -1 with *why: an empty text message, an unknown type, bad
 * base64. */
int eio_parse_message(uint8_t *p, size_t n, bool binary,
                      struct eio_packet *pkt, const char **why)
{
    memset(pkt, 0, sizeof *pkt);
    if (binary) {
        pkt->type = EIO_MESSAGE;
        pkt->binary = true;
        pkt->data = p;
        pkt->len = n;
        return 0;
    }
    if (n == 0)
        return bad(why, "empty text message");
    return decode_packet(p, n, false, pkt, why);
}

/* Bytes one packet takes in a polling payload, not counting a separator:
 * 1 + len for text ("4hello"), 1 + its base64 for binary ("bAQID"). Over
 * WebSocket a text packet takes the same 1 + len, and binary just len. */
size_t eio_encoded_len(bool binary, size_t len)
{
    return 1 + (binary ? eio_base64_len(len) : len);
}

/* Write one packet as a polling payload spells it into out, which holds
 * eio_encoded_len(binary, len) bytes: the type character and the text, or
 * 'b' and base64 (type is then ignored: binary is always a message).
 * Writes no separator and no NUL. Returns the bytes written.
 *
 * The caller joins packets with EIO_SEPARATOR, so text data must not
 * contain one (check it with eio_polling_safe): "4a\x1e1" would reach a
 * polling client as a message and a close. */
size_t eio_encode(char *out, int type, bool binary, const uint8_t *data,
                  size_t len)
{
    if (binary) {
        out[0] = EIO_BINARY_PREFIX;
        return 1 + eio_base64_encode(data, len, out + 1);
    }
    out[0] = (char)type;
    if (len > 0)
        memcpy(out + 1, data, len);
    return 1 + len;
}

/* True if a packet with this data can travel in a polling payload and
 * come out as one packet: any binary data (base64 has no 0x1e), or text
 * with no EIO_SEPARATOR in it. "From v3 to v4" names the limit: "this
 * assumes the record separator is not used in the data". A JSON string
 * cannot hold a raw 0x1e, but a Socket.IO namespace name can. */
bool eio_polling_safe(bool binary, const uint8_t *data, size_t len)
{
    return binary || len == 0 || memchr(data, EIO_SEPARATOR, len) == NULL;
}

/* The name of a packet type, for --trace. Returns a static string, "?" for
 * a byte that is not a packet type. */
const char *eio_type_name(int type)
{
    switch (type) {
    case EIO_OPEN: return "open";
    case EIO_CLOSE: return "close";
    case EIO_PING: return "ping";
    case EIO_PONG: return "pong";
    case EIO_MESSAGE: return "message";
    case EIO_UPGRADE: return "upgrade";
    case EIO_NOOP: return "noop";
    default: return "?";
    }
}
