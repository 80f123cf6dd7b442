/* ws.c -- RFC 6455 framing and handshake, no I/O
 * SPDX-License-Identifier: MIT
 *
 * This file owns the WebSocket protocol itself: the frame header (§5.2),
 * masking (§5.3), fragmentation (§5.4), control frames (§5.5), the close
 * codes (§7.4), UTF-8 checking of text (§8.1) and the opening handshake's
 * checks and accept key (§4.2).
 *
 * It never touches a socket and never allocates. The caller reads bytes
 * into its own buffer and hands them here; what comes back points into that
 * same buffer. That is what lets test/unit_ws.c check every rule on a byte
 * array, and what lets server.c stay a plain poll() loop.
 *
 * Deliberately left out: extensions (§9). No RSV bit is ever allowed, and
 * permessage-deflate (RFC 7692) offers are ignored, so every message is
 * sent and received exactly as the application wrote it.
 *
 * References: RFC 6455 §4.2.1, §4.2.2, §5.2-§5.5, §7.1.5, §7.4, §8.1;
 * RFC 3629 §4 (UTF-8 syntax); RFC 4648 §4 (base64); FIPS 180-4 (SHA-1).
 */
#include "ws.h"
#include "http.h"

#include <openssl/evp.h>
#include <string.h>

/* ========================================================================
 * Frame headers
 * ======================================================================== */

/* Decode the frame header at buf. Returns the header's size in bytes,
 * WS_NEED_MORE if buf ends inside it, or WS_ERROR with h->close_code set
 * when the header alone already breaks RFC 6455. Rules that depend on the
 * connection (masking, fragmentation order, size limits) are checked by
 * ws_rx_next, not here, so a client could use this parser too. */
int ws_parse_header(const uint8_t *buf, size_t len, struct ws_header *h)
{
    memset(h, 0, sizeof *h);
    if (len < 2)
        return WS_NEED_MORE;

    h->fin = (buf[0] & 0x80) != 0;
    h->rsv = (buf[0] >> 4) & 0x07;
    h->opcode = buf[0] & 0x0F;
    h->masked = (buf[1] & 0x80) != 0;
    uint64_t len7 = buf[1] & 0x7F;
    h->close_code = WS_CLOSE_PROTOCOL_ERROR;

    /* §5.2: RSV1-3 MUST be 0 unless an extension gave them a meaning. */
    if (h->rsv != 0)
        return WS_ERROR;
    /* §5.2: reserved opcodes MUST fail the connection. */
    switch (h->opcode) {
    case WS_OP_CONT: case WS_OP_TEXT: case WS_OP_BINARY:
    case WS_OP_CLOSE: case WS_OP_PING: case WS_OP_PONG:
        break;
    default:
        return WS_ERROR;
    }
    /* §5.5: control frames MUST NOT be fragmented and carry <= 125 bytes,
     * so their length always fits the 7-bit field. */
    if (h->opcode & 0x08) {
        if (!h->fin || len7 > WS_MAX_CONTROL_PAYLOAD)
            return WS_ERROR;
    }

    size_t need = 2;
    if (len7 == 126)
        need += 2;
    else if (len7 == 127)
        need += 8;
    if (h->masked)
        need += 4;
    if (len < need)
        return WS_NEED_MORE;

    const uint8_t *p = buf + 2;
    if (len7 == 126) {
        h->len = ((uint64_t)p[0] << 8) | p[1];
        p += 2;
    } else if (len7 == 127) {
        h->len = 0;
        for (int i = 0; i < 8; i++)
            h->len = (h->len << 8) | p[i];
        p += 8;
        /* §5.2: "the most significant bit MUST be 0". */
        if (h->len >> 63)
            return WS_ERROR;
    } else {
        h->len = len7;
    }
    /* §5.2 says "the minimal number of bytes MUST be used", but gives no
     * failure for a peer that does not; like most servers we accept a
     * longer encoding than needed, since its meaning is unambiguous. */
    if (h->masked)
        memcpy(h->mask, p, 4);
    h->size = (uint8_t)need;
    h->close_code = 0;
    return (int)need;
}

/* Decode a whole frame, header and payload, at buf. Returns the frame's
 * total size, WS_NEED_MORE, or WS_ERROR (f->h.close_code says why).
 * The payload is left masked; f->payload points at it inside buf. */
int ws_parse_frame(uint8_t *buf, size_t len, struct ws_frame *f)
{
    int n = ws_parse_header(buf, len, &f->h);
    if (n <= 0)
        return n;
    /* Compare without adding, so a huge h.len cannot wrap the sum. */
    if (f->h.len > len - f->h.size)
        return WS_NEED_MORE;
    if (f->h.len > (uint64_t)(INT32_MAX) - f->h.size) {
        f->h.close_code = WS_CLOSE_TOO_BIG; /* return type cannot say it */
        return WS_ERROR;
    }
    f->payload = buf + f->h.size;
    return (int)(f->h.size + f->h.len);
}

/* XOR n bytes at p with the masking key, in place (§5.3). offset is how
 * many bytes of this frame's payload came before p, so a payload can be
 * unmasked piece by piece as it arrives. Masking twice unmasks. */
void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset)
{
    size_t i = 0;
    /* Byte by byte until p is 8-byte aligned, then 8 bytes at a time with
     * the key rotated to the right phase. memcpy keeps it legal C on any
     * alignment; compilers turn it into one load and one store. */
    while (i < n && ((uintptr_t)(p + i) & 7) != 0) {
        p[i] ^= mask[(offset + i) & 3];
        i++;
    }
    if (n - i >= 8) {
        uint8_t k8[8];
        for (int j = 0; j < 8; j++)
            k8[j] = mask[(offset + i + (size_t)j) & 3];
        uint64_t k;
        memcpy(&k, k8, 8);
        for (; n - i >= 8; i += 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            w ^= k;
            memcpy(p + i, &w, 8);
        }
    }
    for (; i < n; i++)
        p[i] ^= mask[(offset + i) & 3];
}

/* Write a frame header for a payload of len bytes into out. mask is NULL
 * for a server frame (§5.1: a server MUST NOT mask) or the 4-byte key a
 * client uses. Returns the header's size. The smallest length form is
 * always chosen, as §5.2 requires. */
size_t ws_write_header(uint8_t out[WS_MAX_HEADER], bool fin, int opcode,
                       uint64_t len, const uint8_t *mask)
{
    size_t n = 0;
    uint8_t maskbit = mask ? 0x80 : 0x00;
    out[n++] = (uint8_t)((fin ? 0x80 : 0x00) | (opcode & 0x0F));
    if (len <= 125) {
        out[n++] = (uint8_t)(maskbit | len);
    } else if (len <= 0xFFFF) {
        out[n++] = (uint8_t)(maskbit | 126);
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = (uint8_t)(maskbit | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(len >> shift);
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

/* The name of an opcode, for --trace. Returns a static string. */
const char *ws_opcode_name(int opcode)
{
    switch (opcode) {
    case WS_OP_CONT: return "CONT";
    case WS_OP_TEXT: return "TEXT";
    case WS_OP_BINARY: return "BINARY";
    case WS_OP_CLOSE: return "CLOSE";
    case WS_OP_PING: return "PING";
    case WS_OP_PONG: return "PONG";
    default: return "RESERVED";
    }
}

/* ========================================================================
 * UTF-8 (RFC 3629 §4) and close frames (§5.5.1, §7.4)
 * ======================================================================== */

/* Check n more bytes of a UTF-8 stream. Returns 0 if they are valid so far
 * (a code point may still be open at the end), -1 at the first byte that
 * can never be valid: an overlong form, a surrogate (U+D800-DFFF), a value
 * above U+10FFFF, a stray continuation byte, or 0xF5-0xFF. Failing at that
 * byte, not at the end of the message, is what §8.1's "fail fast" means. */
int ws_utf8_feed(struct ws_utf8 *u, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (u->need > 0) {
            if (b < u->lo || b > u->hi)
                return -1;
            u->need--;
            u->lo = 0x80;
            u->hi = 0xBF;
            continue;
        }
        if (b < 0x80)
            continue;
        /* A lead byte: how many continuation bytes follow, and the range
         * the first of them must fall in (RFC 3629 §4, UTF8-2..UTF8-4). */
        u->lo = 0x80;
        u->hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) {
            u->need = 1;
        } else if (b == 0xE0) {
            u->need = 2;
            u->lo = 0xA0; /* no overlong 3-byte forms */
        } else if (b == 0xED) {
            u->need = 2;
            u->hi = 0x9F; /* no surrogates */
        } else if (b >= 0xE1 && b <= 0xEF) {
            u->need = 2;
        } else if (b == 0xF0) {
            u->need = 3;
            u->lo = 0x90; /* no overlong 4-byte forms */
        } else if (b >= 0xF1 && b <= 0xF3) {
            u->need = 3;
        } else if (b == 0xF4) {
            u->need = 3;
            u->hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            return -1; /* 0x80-0xC1 as a lead, or 0xF5-0xFF */
        }
    }
    return 0;
}

/* True when the stream ends on a code point boundary. */
bool ws_utf8_complete(const struct ws_utf8 *u)
{
    return u->need == 0;
}

/* True if code may appear in a Close frame on the wire (§7.4.1, §7.4.2):
 * 1000-1003, 1007-1011 (1012-1014 were later registered by IANA and are
 * accepted too), and the ranges 3000-3999 and 4000-4999. Never 1004, 1005,
 * 1006, 1015, and nothing below 1000 or in the unassigned 1016-2999. */
bool ws_close_code_valid(unsigned code)
{
    if (code >= 1000 && code <= 1003)
        return true;
    if (code >= 1007 && code <= 1014)
        return true;
    return code >= 3000 && code <= 4999;
}

/* Read a Close frame's payload (§5.5.1): empty, or a 2-byte big-endian
 * code followed by a UTF-8 reason. On success returns 0, with *code set
 * to the peer's code (WS_CLOSE_NO_STATUS if there was none) and *reason
 * pointing into p. On failure returns the close code to answer with:
 * 1002 for a 1-byte payload or a code that may not be sent, 1007 for a
 * reason that is not UTF-8. */
int ws_parse_close(const uint8_t *p, size_t n, uint16_t *code,
                   const uint8_t **reason, size_t *reason_len)
{
    *code = WS_CLOSE_NO_STATUS;
    *reason = p;
    *reason_len = 0;
    if (n == 0)
        return 0;
    if (n == 1)
        return WS_CLOSE_PROTOCOL_ERROR;
    *code = (uint16_t)((p[0] << 8) | p[1]);
    if (!ws_close_code_valid(*code))
        return WS_CLOSE_PROTOCOL_ERROR;
    struct ws_utf8 u = {0, 0, 0};
    if (ws_utf8_feed(&u, p + 2, n - 2) != 0 || !ws_utf8_complete(&u))
        return WS_CLOSE_INVALID_DATA;
    *reason = p + 2;
    *reason_len = n - 2;
    return 0;
}

/* ========================================================================
 * The receive machine
 *
 * Bytes arrive from TCP in arbitrary pieces. ws_rx_next turns them into
 * events, one per call:
 *   - a control frame is returned only once it is whole (at most 131
 *     bytes), because a ping must be answered with its exact payload;
 *   - a data frame's payload is returned piece by piece as it arrives,
 *     already unmasked, already UTF-8 checked. A 16 MiB message never has
 *     to sit in the read buffer, and a bad byte is caught the moment it
 *     arrives (Autobahn 6.4.x tests exactly this).
 * ======================================================================== */

static enum ws_rx_kind rx_fail(struct ws_rx_event *ev, uint16_t code,
                               const char *why)
{
    ev->close_code = code;
    ev->why = why;
    return WS_RX_ERROR;
}

/* Start a data frame: check it against the message that is open. */
static enum ws_rx_kind rx_begin_data(struct ws_rx *rx, struct ws_rx_event *ev,
                                     const struct ws_header *h)
{
    /* §5.4: a continuation needs an open message, and a new TEXT or
     * BINARY frame may not start while one is open. */
    if (h->opcode == WS_OP_CONT && rx->msg_opcode == 0)
        return rx_fail(ev, WS_CLOSE_PROTOCOL_ERROR,
                       "continuation frame with no message open");
    if (h->opcode != WS_OP_CONT && rx->msg_opcode != 0)
        return rx_fail(ev, WS_CLOSE_PROTOCOL_ERROR,
                       "new data frame inside a fragmented message");
    if (h->opcode != WS_OP_CONT) {
        rx->msg_opcode = h->opcode;
        rx->msg_len = 0;
        memset(&rx->utf8, 0, sizeof rx->utf8);
    }
    /* The limit is checked on the header, before any payload arrives,
     * and without an addition that could wrap. */
    if (h->len > rx->max_message - rx->msg_len)
        return rx_fail(ev, WS_CLOSE_TOO_BIG, "message over --max-message");
    rx->fr = *h;
    rx->left = h->len;
    rx->in_payload = true;
    return WS_RX_NEED_MORE; /* caller goes on to the payload */
}

/* Hand out the next piece of the current data frame's payload. */
static enum ws_rx_kind rx_payload(struct ws_rx *rx, uint8_t *buf, size_t len,
                                  size_t *used, struct ws_rx_event *ev)
{
    size_t n = len;
    if (n > rx->left)
        n = (size_t)rx->left;
    if (n == 0 && rx->left > 0)
        return WS_RX_NEED_MORE;

    size_t offset = (size_t)(rx->fr.len - rx->left);
    ev->frame = rx->fr;
    ev->frame_start = (offset == 0);
    ws_unmask(buf, n, rx->fr.mask, offset);
    if (rx->msg_opcode == WS_OP_TEXT && ws_utf8_feed(&rx->utf8, buf, n) != 0)
        return rx_fail(ev, WS_CLOSE_INVALID_DATA, "text is not UTF-8");

    rx->left -= n;
    rx->msg_len += n;
    *used += n;
    ev->opcode = rx->msg_opcode;
    ev->data = buf;
    ev->len = n;
    ev->msg_end = false;
    if (rx->left == 0) {
        rx->in_payload = false;
        if (rx->fr.fin) {
            if (rx->msg_opcode == WS_OP_TEXT && !ws_utf8_complete(&rx->utf8))
                return rx_fail(ev, WS_CLOSE_INVALID_DATA,
                               "text ends inside a UTF-8 sequence");
            ev->msg_end = true;
            rx->msg_opcode = 0;
        }
    }
    return WS_RX_DATA;
}

/* Find the next event in buf[0..len). *used is set to the bytes consumed,
 * which the caller drops from its buffer; it may be > 0 even when the
 * result is WS_RX_NEED_MORE (a data header was consumed, say). Payload
 * bytes are unmasked in place, so ev->data points into buf. */
enum ws_rx_kind ws_rx_next(struct ws_rx *rx, uint8_t *buf, size_t len,
                           size_t *used, struct ws_rx_event *ev)
{
    memset(ev, 0, sizeof *ev);
    *used = 0;
    if (rx->in_payload)
        return rx_payload(rx, buf, len, used, ev);

    struct ws_header h;
    int n = ws_parse_header(buf, len, &h);
    if (n == WS_ERROR)
        return rx_fail(ev, h.close_code, "bad frame header (RSV, opcode or length)");
    if (n == WS_NEED_MORE)
        return WS_RX_NEED_MORE;
    /* §5.1: "The server MUST close the connection upon receiving a frame
     * that is not masked." */
    if (!h.masked)
        return rx_fail(ev, WS_CLOSE_PROTOCOL_ERROR, "unmasked client frame");

    if (h.opcode & 0x08) {
        /* A control frame: wait until it is whole, then return it. It
         * may arrive between the fragments of a message (§5.4). */
        if (h.len > len - h.size)
            return WS_RX_NEED_MORE;
        uint8_t *payload = buf + h.size;
        ws_unmask(payload, (size_t)h.len, h.mask, 0);
        *used = h.size + (size_t)h.len;
        ev->frame = h;
        ev->frame_start = true;
        ev->opcode = h.opcode;
        ev->data = payload;
        ev->len = (size_t)h.len;
        return WS_RX_CONTROL;
    }

    enum ws_rx_kind k = rx_begin_data(rx, ev, &h);
    if (k == WS_RX_ERROR)
        return k;
    *used = h.size;
    return rx_payload(rx, buf + h.size, len - h.size, used, ev);
}

/* ========================================================================
 * The opening handshake, §4.2
 * ======================================================================== */

/* Decode one base64 character (RFC 4648 §4). Returns 0..63, or -1. */
static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* §4.2.1 item 5: Sec-WebSocket-Key must be base64 of exactly 16 bytes.
 * That is 24 characters: 22 of data, then "==", and since 16 bytes use
 * only 128 of the 132 bits the last data character carries, its low four
 * bits must be zero (RFC 4648 §3.5 canonical encoding). Returns 0 or -1. */
int ws_key_valid(const char *key, size_t len)
{
    if (len != WS_KEY_LEN || key[22] != '=' || key[23] != '=')
        return -1;
    for (size_t i = 0; i < 22; i++) {
        if (b64_value(key[i]) < 0)
            return -1;
    }
    return (b64_value(key[21]) & 0x0F) == 0 ? 0 : -1;
}

/* Base64-encode n bytes into out, which must hold 4*ceil(n/3)+1 bytes.
 * Writes a terminating NUL. */
static void b64_encode(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* §4.2.2 item 5.4: the accept key is base64(SHA-1(key + GUID)), which
 * proves the server read this handshake and is not a confused HTTP
 * server. key must be the WS_KEY_LEN characters ws_key_valid accepted.
 * Writes 28 characters and a NUL to out. */
void ws_accept_key(const char key[WS_KEY_LEN], char out[WS_ACCEPT_LEN + 1])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char joined[WS_KEY_LEN + sizeof guid - 1];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;

    memcpy(joined, key, WS_KEY_LEN);
    memcpy(joined + WS_KEY_LEN, guid, sizeof guid - 1);
    EVP_Digest(joined, sizeof joined, digest, &digest_len, EVP_sha1(), NULL);
    b64_encode(digest, digest_len, out); /* SHA-1: 20 bytes, 28 chars */
}

/* Check a request against RFC 6455 §4.2.1 and wshub's origin policy.
 * origins is the --origin list, as http_check_origin reads it: NULL or ""
 * allows only the request's own Host, "*" allows every origin, otherwise a
 * comma-separated list of exact origins
 * ("http://localhost:3000,https://example.org").
 * Returns 101 and fills accept when the upgrade may go ahead. Otherwise
 * returns the status to answer with and sets *why: 400 for a malformed
 * handshake, 403 for a refused Origin (§10.2), 426 for a version other
 * than 13 (§4.4; the caller adds "Sec-WebSocket-Version: 13"). */
int ws_check_upgrade(const struct http_request *req, const char *origins,
                     char accept[WS_ACCEPT_LEN + 1], const char **why)
{
    int count;
    const struct http_header *h;

    /* §4.2.1 item 1: "An HTTP/1.1 or higher GET request". */
    if (!http_method_is(req, "GET")) {
        *why = "upgrade must be a GET";
        return 400;
    }
    if (req->minor_version < 1) {
        *why = "upgrade needs HTTP/1.1";
        return 400;
    }
    /* Item 2: a Host header field, exactly one (RFC 9112 §3.2). */
    http_find_header(req, "Host", &count);
    if (count != 1) {
        *why = "need exactly one Host header";
        return 400;
    }
    /* Items 3 and 4: Upgrade and Connection hold these tokens, in any case,
     * possibly among others ("Connection: keep-alive, Upgrade"). */
    h = http_find_header(req, "Upgrade", NULL);
    if (!h || !http_has_token(h->value, h->value_len, "websocket", 9)) {
        *why = "missing Upgrade: websocket";
        return 400;
    }
    h = http_find_header(req, "Connection", NULL);
    if (!h || !http_has_token(h->value, h->value_len, "upgrade", 7)) {
        *why = "missing Connection: Upgrade";
        return 400;
    }
    /* Item 5: one Sec-WebSocket-Key, base64 of 16 bytes. */
    const struct http_header *key =
        http_find_header(req, "Sec-WebSocket-Key", &count);
    if (count != 1 || ws_key_valid(key->value, key->value_len) != 0) {
        *why = count > 1 ? "duplicate Sec-WebSocket-Key"
                         : "Sec-WebSocket-Key is not base64 of 16 bytes";
        return 400;
    }
    /* Item 6 and §4.4: version 13, or 426 naming the one we speak. */
    h = http_find_header(req, "Sec-WebSocket-Version", &count);
    if (count == 0) {
        *why = "missing Sec-WebSocket-Version";
        return 400;
    }
    if (count > 1 || h->value_len != 2 || memcmp(h->value, "13", 2) != 0) {
        *why = "unsupported Sec-WebSocket-Version";
        return 426;
    }
    /* Item 7 and §10.2: a browser always sends Origin, and a page from
     * another site must not reach us with the user's cookies. The policy
     * lives in http.c, where plain HTTP requests share it. */
    int status = http_check_origin(req, origins, why);
    if (status != 0)
        return status;
    /* Sec-WebSocket-Protocol and Sec-WebSocket-Extensions are not read at
     * all: we select no subprotocol and no extension (§4.2.2 item 5.5 and
     * 5.6 let a server answer without either). */
    ws_accept_key(key->value, accept);
    *why = "upgrade accepted";
    return 101;
}
