/* eio.h -- Engine.IO v4 packets and polling payloads: the interface of eio.c
 * SPDX-License-Identifier: MIT
 *
 * Everything here works on byte arrays the caller owns. Nothing reads or
 * writes a socket and nothing allocates; what a decoder hands out points
 * into the caller's buffer.
 *
 * Error convention, for the whole file: eio_payload_next returns 1 (one
 * packet decoded), 0 (the payload is used up) or -1 (the payload is
 * malformed) with *why set to a static one-line reason. eio_parse_message
 * returns 0 or -1 with *why. eio_base64_decode returns a byte count or -1.
 * The encoders cannot fail: the caller sizes the output with the matching
 * _len function first.
 *
 * One packet, engine.io-protocol v4 "Protocol" and "Packet encoding":
 *
 *   text:    <type>[<data>]        type '0'..'6', data UTF-8, maybe empty
 *   binary:  b<base64 of data>     in polling; over WebSocket a binary
 *                                  frame carries the bytes as they are
 *                                  (a forceBase64 client sends this form)
 *
 * A polling payload (an HTTP body) is one or more packets joined by the
 * record separator, never followed by one:
 *
 *   4hello \x1e 2 \x1e 4world          message "hello", ping, message "world"
 *   4hello \x1e bAQIDBA==              message "hello", message <01 02 03 04>
 */
#ifndef EIO_H
#define EIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Packet types ("Protocol"): each is sent as this one ASCII character. */
enum eio_type {
    EIO_OPEN = '0',    /* server to client: the handshake's JSON */
    EIO_CLOSE = '1',   /* the transport may be closed */
    EIO_PING = '2',    /* heartbeat, sent by the server in v4 */
    EIO_PONG = '3',    /* heartbeat answer, with the ping's data */
    EIO_MESSAGE = '4', /* application data: a Socket.IO packet */
    EIO_UPGRADE = '5', /* client: switch this session to WebSocket */
    EIO_NOOP = '6'     /* ends a pending poll during an upgrade */
};

#define EIO_SEPARATOR 0x1e     /* between packets of a polling payload */
#define EIO_BINARY_PREFIX 'b'  /* starts a base64 (binary) polling packet */

/* One decoded packet. */
struct eio_packet {
    int type;      /* enum eio_type; a binary packet is always EIO_MESSAGE */
    bool binary;   /* data is bytes: a "b"+base64 packet or a binary frame */
    uint8_t *data; /* after the type character (text) or the decoded bytes
                    * (binary); points into the caller's buffer */
    size_t len;    /* bytes at data; 0 is allowed ("2", "6", "b") */
};

/* ------------------------------------------------------------------------
 * Packets and payloads
 * ------------------------------------------------------------------------ */

int eio_payload_next(uint8_t *body, size_t n, size_t *pos,
                     struct eio_packet *pkt, const char **why);
int eio_parse_message(uint8_t *p, size_t n, bool binary,
                      struct eio_packet *pkt, const char **why);
size_t eio_encoded_len(bool binary, size_t len);
size_t eio_encode(char *out, int type, bool binary, const uint8_t *data,
                  size_t len);
bool eio_polling_safe(bool binary, const uint8_t *data, size_t len);
const char *eio_type_name(int type);

/* ------------------------------------------------------------------------
 * Base64, RFC 4648 §4 (the standard alphabet, with padding)
 * ------------------------------------------------------------------------ */

size_t eio_base64_len(size_t n);
size_t eio_base64_encode(const uint8_t *in, size_t n, char *out);
long eio_base64_decode(const char *in, size_t n, uint8_t *out);

#endif
