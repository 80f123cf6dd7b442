/* sio.h -- Socket.IO v5 packet encoding: the interface of sio.c
 * SPDX-License-Identifier: MIT
 *
 * Error convention: parsers return 0, or -1 with *why set to a static
 * one-line reason (the session is then closed with "parse error").
 */
#ifndef SIO_H
#define SIO_H

#include "json.h"

#include <stddef.h>
#include <stdint.h>

/* Socket.IO v5 packet types (socket.io-protocol, "Exchange protocol"). */
enum sio_type {
    SIO_CONNECT = 0,
    SIO_DISCONNECT = 1,
    SIO_EVENT = 2,
    SIO_ACK = 3,
    SIO_CONNECT_ERROR = 4,
    SIO_BINARY_EVENT = 5,
    SIO_BINARY_ACK = 6
};

/* Limits, each refused as a parse error when exceeded. */
#define SIO_MAX_ATTACHMENTS 10          /* binary attachments per packet */
#define SIO_MAX_NSP 128                 /* bytes of a namespace name */
#define SIO_MAX_EVENT_NAME 128          /* bytes of an event name */
#define SIO_MAX_ACK_ID 9007199254740991 /* 2^53 - 1: exact in a JS number */

/* One decoded packet. Every pointer points into the caller's text. */
struct sio_packet {
    int type;          /* enum sio_type */
    int attachments;   /* binary frames that follow (BINARY_* only) */
    const char *nsp;   /* namespace, "/" when the packet names none */
    size_t nsp_len;    /* bytes at nsp */
    int64_t ack_id;    /* acknowledgement id, or -1 for none */
    const char *data;  /* JSON payload, white space trimmed; may be empty */
    size_t data_len;   /* bytes at data */
};

int sio_parse(const char *p, size_t n, struct sio_packet *pkt,
              const char **why);
int sio_event(const struct sio_packet *pkt, char *name, size_t cap,
              const char **args, size_t *args_len, const char **why);
int sio_ack_args(const struct sio_packet *pkt, const char **args,
                 size_t *args_len);
void sio_encode(struct jbuf *jb, int type, const char *nsp, size_t nsp_len,
                int nbins, int64_t ack_id);

#endif
