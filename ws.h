/* ws.h -- RFC 6455 framing and handshake: the interface of ws.c
 * SPDX-License-Identifier: MIT
 *
 * Everything here works on byte arrays the caller owns. Nothing reads or
 * writes a socket and nothing allocates, so every function can be tested on
 * a buffer and a student can follow one frame from bytes to meaning.
 *
 * Return conventions, by family (each function's comment says which):
 *   frame parsers (ws_parse_header, ws_parse_frame): the bytes they used
 *     (> 0), WS_NEED_MORE (0) when the buffer ends too early to say, or
 *     WS_ERROR (-1) with the §7.4 close code in the header's close_code;
 *   the receive machine (ws_rx_next): an enum ws_rx_kind, with *used
 *     bytes consumed and, for WS_RX_ERROR, the close code in the event;
 *   close frames (ws_parse_close): 0, or the §7.4 code to close with;
 *   the opening handshake (ws_check_upgrade): an HTTP status, 101 when
 *     the upgrade may go ahead;
 *   checkers (ws_utf8_feed, ws_key_valid): 0, or -1 when invalid;
 *   predicates (ws_utf8_complete, ws_close_code_valid): bool;
 *   writers (ws_write_header, ws_accept_key): cannot fail.
 *
 * The base frame, RFC 6455 §5.2:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |     Extended payload length continued, if payload len == 127  |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               |Masking-key, if MASK set to 1  |
 *   +-------------------------------+-------------------------------+
 *   | Masking-key (continued)       |          Payload Data         |
 *   +-------------------------------- - - - - - - - - - - - - - - - +
 *   :                     Payload Data continued ...                :
 *   + - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - +
 *   |                     Payload Data continued ...                |
 *   +---------------------------------------------------------------+
 */
#ifndef WS_H
#define WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_NEED_MORE 0
#define WS_ERROR (-1)

/* Opcodes, RFC 6455 §5.2 and §11.8. 3-7 and 11-15 are reserved. */
enum ws_opcode {
    WS_OP_CONT = 0x0,   /* continuation of a fragmented message, §5.4 */
    WS_OP_TEXT = 0x1,   /* UTF-8 text, §5.6 */
    WS_OP_BINARY = 0x2, /* arbitrary bytes, §5.6 */
    WS_OP_CLOSE = 0x8,  /* §5.5.1 */
    WS_OP_PING = 0x9,   /* §5.5.2 */
    WS_OP_PONG = 0xA    /* §5.5.3 */
};

/* Close codes, RFC 6455 §7.4.1. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_UNSUPPORTED_DATA = 1003,
    WS_CLOSE_NO_STATUS = 1005,      /* never sent: "the close had no code" */
    WS_CLOSE_ABNORMAL = 1006,       /* never sent: "TCP died without a close" */
    WS_CLOSE_INVALID_DATA = 1007,   /* e.g. text that is not UTF-8 */
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_MANDATORY_EXT = 1010,
    WS_CLOSE_INTERNAL_ERROR = 1011
};

#define WS_MAX_CONTROL_PAYLOAD 125 /* §5.5: control frames carry <= 125 bytes */
#define WS_MAX_HEADER 14           /* 2 + 8 (64-bit length) + 4 (mask) */
#define WS_KEY_LEN 24              /* base64 of the 16-byte Sec-WebSocket-Key */
#define WS_ACCEPT_LEN 28           /* base64 of a 20-byte SHA-1 */

/* One frame header, decoded. (Fields are ordered largest first: every
 * connection keeps one of these, and holes would cost each of them.) */
struct ws_header {
    uint64_t len;       /* payload length in bytes, < 2^63 */
    uint8_t mask[4];    /* masking key, valid when masked */
    uint16_t close_code;/* set when parsing fails: why, as a §7.4 code */
    uint8_t size;       /* bytes of header: 2, 4, 10, plus 4 if masked */
    bool fin;           /* last fragment of its message */
    uint8_t rsv;        /* RSV1..3 as bits 2..0; must be 0 with no extension */
    uint8_t opcode;     /* enum ws_opcode */
    bool masked;        /* MASK bit; every client-to-server frame has it */
};

/* A complete frame inside the caller's buffer. */
struct ws_frame {
    struct ws_header h;
    uint8_t *payload; /* points into the caller's buffer, h.len bytes */
};

/* Incremental UTF-8 validator, RFC 3629 §4, as RFC 6455 §8.1 asks of text.
 * The state survives between calls so a code point may straddle fragments. */
struct ws_utf8 {
    uint8_t need; /* continuation bytes still expected, 0..3 */
    uint8_t lo;   /* smallest byte allowed next (when need > 0) */
    uint8_t hi;   /* largest byte allowed next (when need > 0) */
};

/* ------------------------------------------------------------------------
 * Frames
 * ------------------------------------------------------------------------ */

int ws_parse_header(const uint8_t *buf, size_t len, struct ws_header *h);
int ws_parse_frame(uint8_t *buf, size_t len, struct ws_frame *f);
void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset);
size_t ws_write_header(uint8_t out[WS_MAX_HEADER], bool fin, int opcode,
                       uint64_t len, const uint8_t *mask);
const char *ws_opcode_name(int opcode);

/* ------------------------------------------------------------------------
 * UTF-8 and close frames
 * ------------------------------------------------------------------------ */

int ws_utf8_feed(struct ws_utf8 *u, const uint8_t *p, size_t n);
bool ws_utf8_complete(const struct ws_utf8 *u);
bool ws_close_code_valid(unsigned code);
int ws_parse_close(const uint8_t *p, size_t n, uint16_t *code,
                   const uint8_t **reason, size_t *reason_len);

/* ------------------------------------------------------------------------
 * The receive machine: frames in, message pieces out
 * ------------------------------------------------------------------------ */

/* What ws_rx_next found. */
enum ws_rx_kind {
    WS_RX_NEED_MORE, /* nothing complete yet: read more bytes */
    WS_RX_DATA,      /* a piece of a text or binary message */
    WS_RX_CONTROL,   /* a whole ping, pong or close frame */
    WS_RX_ERROR      /* the peer broke the protocol: close with ev.close_code */
};

struct ws_rx_event {
    struct ws_header frame; /* header of the frame this event came from */
    bool frame_start;   /* this event is the first from that frame */
    uint8_t opcode;     /* message opcode (TEXT/BINARY) or control opcode */
    uint8_t *data;      /* unmasked payload bytes, inside the caller's buffer */
    size_t len;         /* bytes at data */
    bool msg_end;       /* DATA: this piece ends the message */
    uint16_t close_code;/* ERROR: the §7.4 code to close with */
    const char *why;    /* ERROR: one line for the log */
};

/* Per-connection receive state. Zero it, then set max_message. */
struct ws_rx {
    size_t max_message;  /* bytes; a longer message fails with 1009 */
    struct ws_header fr; /* that data frame's header */
    uint64_t left;       /* bytes of that payload not yet seen */
    size_t msg_len;      /* bytes of the open message seen so far */
    bool in_payload;     /* a data frame's payload is still arriving */
    uint8_t msg_opcode;  /* TEXT or BINARY while a message is open, else 0 */
    struct ws_utf8 utf8; /* validator state across the open text message */
};

enum ws_rx_kind ws_rx_next(struct ws_rx *rx, uint8_t *buf, size_t len,
                           size_t *used, struct ws_rx_event *ev);

/* ------------------------------------------------------------------------
 * Opening handshake, RFC 6455 §4.2
 * ------------------------------------------------------------------------ */

struct http_request;
int ws_check_upgrade(const struct http_request *req, const char *origins,
                     char accept[WS_ACCEPT_LEN + 1], const char **why);
int ws_key_valid(const char *key, size_t len);
void ws_accept_key(const char key[WS_KEY_LEN], char out[WS_ACCEPT_LEN + 1]);

#endif
