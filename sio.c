/* sio.c -- Socket.IO v5 packet encoding, no I/O
 * SPDX-License-Identifier: MIT
 *
 * A Socket.IO packet travels as the text of an Engine.IO "message" packet
 * (type 4), so "42["hi",1]" on the wire is Engine.IO message + Socket.IO
 * EVENT. This file reads and writes the Socket.IO part:
 *
 *   <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
 *
 * It checks each packet's shape against what its type allows (socket.io-
 * protocol "Exchange protocol" and "Packet encoding"): an EVENT carries a
 * non-empty array whose first element is the event name, an ACK carries an
 * array and an id, and so on. Anything else is a parse error, which closes
 * the session, as the reference server does.
 *
 * It does not reassemble binary attachments (hub.c waits for those
 * messages) and knows nothing of the Engine.IO layer beneath: sio_parse
 * takes the packet without Engine.IO's "4", and sio_encode writes it
 * without one; engine.c adds and removes that prefix.
 *
 * References: socket.io-protocol v5, "Packet encoding" and "Exchange
 * protocol"; engine.io-protocol v4, "Protocol" (packet type 4).
 */
#include "sio.h"

#include <string.h>

/* Event names the client may not emit: socket.io reserves them for its
 * own lifecycle (socket.io's RESERVED_EVENTS), and wshub adds
 * "connection", which its hub fires through the same handler table as
 * client events: a client that could emit it would run the application's
 * connection handler a second time (the Socket.IO fuzzer found that the
 * chat then leaked its first user record). */
static const char *const reserved_events[] = {
    "connect", "connect_error", "disconnect", "disconnecting",
    "newListener", "removeListener", "connection",
};

static int bad(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

/* The JSON payload must be exactly one value of the right kind, with the
 * given number of binary placeholders allowed in it. */
static int payload_is(const struct sio_packet *pkt, enum json_type want,
                      int placeholders)
{
    if (json_type_of(pkt->data, pkt->data_len) != want)
        return -1;
    long end = json_scan(pkt->data, pkt->data_len, placeholders);
    return end == (long)pkt->data_len ? 0 : -1;
}

/* Decode the Socket.IO packet in p[0..n) (the payload of an Engine.IO
 * message, without its "4"). Returns 0 with pkt filled, or -1 with *why. Only what a client
 * may send is accepted: CONNECT_ERROR is the server's alone. */
int sio_parse(const char *p, size_t n, struct sio_packet *pkt,
              const char **why)
{
    size_t i = 0;
    memset(pkt, 0, sizeof *pkt);
    pkt->nsp = "/";
    pkt->nsp_len = 1;
    pkt->ack_id = -1;

    if (n == 0 || p[0] < '0' || p[0] > '6')
        return bad(why, "unknown packet type");
    pkt->type = p[i++] - '0';
    if (pkt->type == SIO_CONNECT_ERROR)
        return bad(why, "CONNECT_ERROR is sent by servers only");

    /* <attachments>-, for BINARY_EVENT and BINARY_ACK only. */
    if (pkt->type == SIO_BINARY_EVENT || pkt->type == SIO_BINARY_ACK) {
        size_t start = i;
        while (i < n && p[i] >= '0' && p[i] <= '9' && i - start < 3)
            i++;
        int64_t count;
        if (i == start || i >= n || p[i] != '-' ||
            json_int(p + start, i - start, 999, &count) != 0)
            return bad(why, "binary packet without an attachment count");
        if (count > SIO_MAX_ATTACHMENTS)
            return bad(why, "more than 10 attachments");
        pkt->attachments = (int)count;
        i++;
    }

    /* <namespace>, : present when it starts with '/', ends at ','. */
    if (i < n && p[i] == '/') {
        size_t start = i;
        while (i < n && p[i] != ',' && i - start <= SIO_MAX_NSP)
            i++;
        if (i - start > SIO_MAX_NSP)
            return bad(why, "namespace name too long");
        pkt->nsp = p + start;
        pkt->nsp_len = i - start;
        if (i < n)
            i++; /* the ',' */
    }

    /* <ack id>: decimal digits, at most 2^53 - 1. */
    size_t start = i;
    while (i < n && p[i] >= '0' && p[i] <= '9' && i - start <= 16)
        i++;
    if (i > start) {
        if (json_int(p + start, i - start, SIO_MAX_ACK_ID, &pkt->ack_id) != 0)
            return bad(why, "ack id is not an integer below 2^53");
    }

    long ws = json_skip_ws(p + i, n - i);
    pkt->data = p + i + ws;
    pkt->data_len = n - i - (size_t)ws;
    while (pkt->data_len > 0 && strchr(" \t\r\n", pkt->data[pkt->data_len - 1]))
        pkt->data_len--;

    switch (pkt->type) {
    case SIO_CONNECT:
        /* Optional auth payload, an object (v5 "CONNECT ... payload"). */
        if (pkt->data_len > 0 && payload_is(pkt, JSON_OBJECT, -1) != 0)
            return bad(why, "CONNECT payload is not an object");
        if (pkt->ack_id >= 0)
            return bad(why, "CONNECT takes no ack id");
        return 0;
    case SIO_DISCONNECT:
        if (pkt->data_len > 0 || pkt->ack_id >= 0)
            return bad(why, "DISCONNECT takes no payload");
        return 0;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        /* "The payload is mandatory and MUST be a non-empty array." */
        if (payload_is(pkt, JSON_ARRAY, pkt->attachments) != 0)
            return bad(why, "EVENT payload is not a valid JSON array");
        return 0;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        /* "The payload is mandatory and MUST be an array (possibly empty)." */
        if (pkt->ack_id < 0)
            return bad(why, "ACK without an id");
        if (payload_is(pkt, JSON_ARRAY, pkt->attachments) != 0)
            return bad(why, "ACK payload is not a valid JSON array");
        return 0;
    default:
        return bad(why, "unknown packet type");
    }
}

/* Split an EVENT's payload ["name", args...] into the unescaped name (a
 * NUL-terminated string in name[0..cap)) and the raw text of the other
 * arguments, without brackets: ["a",1,{"b":2}] gives a and 1,{"b":2}.
 * Returns 0, or -1 with *why when the name is missing, not a string,
 * empty, too long or reserved. The payload was validated by sio_parse. */
int sio_event(const struct sio_packet *pkt, char *name, size_t cap,
              const char **args, size_t *args_len, const char **why)
{
    size_t pos = 0;
    const char *v;
    size_t vlen;
    if (json_array_next(pkt->data, pkt->data_len, &pos, &v, &vlen) != 1)
        return bad(why, "EVENT payload is an empty array");
    long nlen = json_cstring(v, vlen, name, cap);
    if (nlen < 0)
        return bad(why, "event name is not a string of at most 128 bytes");
    if (nlen == 0 || strlen(name) != (size_t)nlen)
        return bad(why, "event name is empty");
    for (size_t k = 0; k < sizeof reserved_events / sizeof reserved_events[0]; k++) {
        if (strcmp(name, reserved_events[k]) == 0)
            return bad(why, "event name is reserved");
    }
    /* The arguments are what follows the name's comma, up to the ']'. */
    size_t i = pos + (size_t)json_skip_ws(pkt->data + pos, pkt->data_len - pos);
    if (pkt->data[i] == ',')
        i++;
    i += (size_t)json_skip_ws(pkt->data + i, pkt->data_len - i);
    *args = pkt->data + i;
    *args_len = pkt->data_len - 1 - i; /* drop the closing ']' */
    while (*args_len > 0 && strchr(" \t\r\n", (*args)[*args_len - 1]))
        (*args_len)--;
    return 0;
}

/* An ACK's arguments: the array's contents without brackets. */
int sio_ack_args(const struct sio_packet *pkt, const char **args,
                 size_t *args_len)
{
    size_t i = (size_t)json_skip_ws(pkt->data, pkt->data_len) + 1;
    i += (size_t)json_skip_ws(pkt->data + i, pkt->data_len - i);
    *args = pkt->data + i;
    *args_len = pkt->data_len - 1 - i;
    while (*args_len > 0 && strchr(" \t\r\n", (*args)[*args_len - 1]))
        (*args_len)--;
    return 0;
}

/* Write the head of a Socket.IO packet, <type>[<nbins>-][<nsp>,][<ack id>],
 * for the namespace nsp[0..nsp_len). The caller appends the payload.
 * EVENT and ACK become BINARY_EVENT and BINARY_ACK when nbins > 0. */
void sio_encode(struct jbuf *jb, int type, const char *nsp, size_t nsp_len,
                int nbins, int64_t ack_id)
{
    if (nbins > 0 && type == SIO_EVENT)
        type = SIO_BINARY_EVENT;
    if (nbins > 0 && type == SIO_ACK)
        type = SIO_BINARY_ACK;
    char head = (char)('0' + type);
    jb_raw(jb, &head, 1);
    if (nbins > 0) {
        jb_int(jb, nbins);
        jb_raw(jb, "-", 1);
    }
    /* "Packet encoding": the namespace is written only when it is not the
     * main one, and is followed by a comma. */
    if (!(nsp_len == 1 && nsp[0] == '/')) {
        jb_raw(jb, nsp, nsp_len);
        jb_raw(jb, ",", 1);
    }
    if (ack_id >= 0)
        jb_int(jb, ack_id);
}
