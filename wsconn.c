/* wsconn.c -- WebSocket on a connection: frames in, frames out, the closing handshake
 * SPDX-License-Identifier: MIT
 *
 * Once web.c has answered an upgrade with 101, the connection's bytes are
 * WebSocket frames. This file runs them through ws.c's receive machine
 * (ws_rx_next), gathers data frames into messages, answers pings, and
 * plays our part of the closing handshake; it queues frames with a
 * header from ws_write_header(). A complete message goes to engine.c if
 * the connection carries an Engine.IO session, or straight back on /echo.
 *
 * It reads and writes no socket: it works on the bytes server.c has read
 * and queues what server.c will write (conn.h's rule holds: a queued
 * frame can kill the connection, so callers check c->state after).
 *
 * References: RFC 6455 §5.1 (masking), §5.4 (fragments), §5.5 (control
 * frames), §7.1 (closing the connection), §7.4 (close codes).
 */
#include "conn.h"
#include "metrics.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* One line per frame: direction, FIN, RSV, opcode, MASK and key, length,
 * payload preview. dir is "<-" for client-to-server, "->" for ours. */
static void trace_frame(const struct conn *c, const char *dir,
                        const struct ws_header *h, const uint8_t *payload,
                        size_t shown)
{
    printf("%s %s frame FIN=%d RSV=%d %s MASK=%d", conn_peer_name(c), dir, h->fin,
           h->rsv, ws_opcode_name(h->opcode), h->masked);
    if (h->masked)
        printf(" key=%02x%02x%02x%02x", h->mask[0], h->mask[1], h->mask[2],
               h->mask[3]);
    printf(" len=%llu ", (unsigned long long)h->len);
    trace_bytes(payload, shown);
    if (h->opcode == WS_OP_CLOSE && shown >= 2 && shown == h->len)
        printf(" (code %u)", (unsigned)(payload[0] << 8 | payload[1]));
    putchar('\n');
    fflush(stdout);
}

/* ========================================================================
 * Frames out
 * ======================================================================== */

/* Queue one unmasked frame (§5.1: a server never masks) whose payload is
 * the byte `first` (unless it is -1) followed by p[0..n). Engine.IO puts
 * its packet type there, so a packet needs no copy to become a frame.
 * Returns 0, or -1 with the connection killed (out of memory). */
int conn_ws_send_prefixed(struct conn *c, int opcode, int first,
                          const uint8_t *p, size_t n)
{
    size_t plen = n + (first >= 0 ? 1 : 0);
    uint8_t hdr[WS_MAX_HEADER];
    size_t hn = ws_write_header(hdr, true, opcode, plen, NULL);
    if (c->state == CONN_DEAD)
        return -1;
    if (buf_reserve(&c->out, hn + plen) != 0) {
        c->status = WS_CLOSE_INTERNAL_ERROR;
        conn_kill(c, "out of memory");
        return -1;
    }
    buf_append(&c->out, hdr, hn);
    if (first >= 0) {
        uint8_t b = (uint8_t)first;
        buf_append(&c->out, &b, 1);
    }
    buf_append(&c->out, p, n);
    /* A data frame is a whole message (we never fragment); Bayeux's
     * are counted by faye.c, per Bayeux message. */
    if ((opcode == WS_OP_TEXT || opcode == WS_OP_BINARY) && c->role != ROLE_FAYE_WS)
        metrics_messages(METRICS_WEBSOCKET, true, 1, plen);
    if (srv.opt.trace) {
        struct ws_header h;
        ws_parse_header(hdr, hn, &h);
        trace_frame(c, "->", &h, c->out.data + c->out.off + c->out.len - plen, plen);
    }
    return 0;
}

/* Queue one frame with payload p[0..n). Returns 0, or -1 as above. */
int conn_ws_send_frame(struct conn *c, int opcode, const uint8_t *p, size_t n)
{
    return conn_ws_send_prefixed(c, opcode, -1, p, n);
}

/* Queue a Close frame with code and a short reason, and record the code
 * for the log. The reason must be UTF-8 and at most 123 bytes (§5.5.1). */
static void conn_ws_send_close(struct conn *c, uint16_t code, const char *reason)
{
    uint8_t p[WS_MAX_CONTROL_PAYLOAD];
    size_t n = strlen(reason);
    if (n > WS_MAX_CONTROL_PAYLOAD - 2)
        n = WS_MAX_CONTROL_PAYLOAD - 2;
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, n);
    c->status = code;
    c->why = reason;
    conn_ws_send_frame(c, WS_OP_CLOSE, p, n + 2);
}

/* The upgrade's 101 is queued: c now speaks WebSocket, with our pings
 * every --ping-interval unless its Engine.IO session runs its own. */
void conn_ws_open(struct conn *c)
{
    c->state = CONN_WS_OPEN;
    c->status = 0;
    c->why = "open";
    memset(&c->rx, 0, sizeof c->rx);
    c->rx.max_message = srv.opt.max_message;
    c->deadline = loop_ping_time(now_ms(), srv.opt.ping_interval);
    c->ping_sent = false;
}

/* Start the closing handshake ourselves (§7.1.2): send Close, then wait
 * up to --close-timeout for the peer's Close before dropping TCP. */
void conn_ws_start_close(struct conn *c, uint16_t code, const char *reason)
{
    if (c->state != CONN_WS_OPEN)
        return;
    conn_ws_send_close(c, code, reason);
    if (c->state == CONN_DEAD)
        return;
    c->state = CONN_WS_CLOSING;
    c->deadline = now_ms() + srv.opt.close_timeout;
}

/* ========================================================================
 * Frames in
 * ======================================================================== */

/* The peer broke the protocol: send the Close that says why, then go. */
static void conn_ws_fail(struct conn *c, uint16_t code, const char *why)
{
    if (c->state == CONN_WS_OPEN)
        conn_ws_send_close(c, code, why);
    c->status = code;
    c->why = why;
    conn_drain(c);
}

/* A complete message arrived: an Engine.IO connection hands it to
 * engine.c, a Bayeux one to faye.c; /echo sends it straight back. */
static void on_message(struct conn *c, int opcode, uint8_t *p, size_t n)
{
    assert(c->state == CONN_WS_OPEN);
    if (c->role != ROLE_FAYE_WS) /* faye.c counts Bayeux's messages */
        metrics_messages(METRICS_WEBSOCKET, false, 1, n);
    if (c->role == ROLE_WEBSOCKET || c->role == ROLE_PROBE)
        engine_ws_message(c, opcode, p, n);
    else if (c->role == ROLE_FAYE_WS)
        faye_ws_message(c, opcode, p, n);
    else
        conn_ws_send_frame(c, opcode, p, n);
}

/* Ping, pong or close (§5.5). */
static void on_control(struct conn *c, const struct ws_rx_event *ev)
{
    assert(c->state == CONN_WS_OPEN || c->state == CONN_WS_CLOSING);
    if (ev->opcode == WS_OP_PING) {
        /* §5.5.2: answer with a Pong carrying the same payload, unless we
         * are already closing (§5.5.1: nothing may follow our Close). */
        if (c->state == CONN_WS_OPEN)
            conn_ws_send_frame(c, WS_OP_PONG, ev->data, ev->len);
        return;
    }
    if (ev->opcode == WS_OP_PONG) {
        /* §5.5.3: a Pong may be unsolicited; either way it shows life. */
        c->ping_sent = false;
        if (c->state == CONN_WS_OPEN && (c->role == ROLE_NONE || c->role == ROLE_FAYE_WS))
            c->deadline = loop_ping_time(now_ms(), srv.opt.ping_interval);
        return;
    }
    uint16_t code;
    const uint8_t *reason;
    size_t rlen;
    int bad = ws_parse_close(ev->data, ev->len, &code, &reason, &rlen);
    if (bad) {
        conn_ws_fail(c, (uint16_t)bad, bad == WS_CLOSE_INVALID_DATA
                                      ? "close reason is not UTF-8"
                                      : "invalid close frame or code");
        return;
    }
    if (c->state == CONN_WS_OPEN) {
        /* §5.5.1: answer a Close with a Close, echoing its code; a Close
         * with no code is answered with 1000. */
        uint16_t reply = code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : code;
        conn_ws_send_close(c, reply, "");
        c->why = "peer closed";
    } else {
        c->status = code;
        c->why = "closing handshake complete";
    }
    conn_drain(c);
}

/* Decode every frame in data. Returns bytes used; stops early when the
 * connection is no longer open or has too much output queued (the rest
 * waits, so a client that does not read cannot make us buffer forever). */
size_t conn_ws_input(struct conn *c, uint8_t *data, size_t len)
{
    size_t used = 0;
    while ((c->state == CONN_WS_OPEN || c->state == CONN_WS_CLOSING) &&
           c->out.len < srv.high_water) {
        struct ws_rx_event ev;
        size_t n;
        enum ws_rx_kind k = ws_rx_next(&c->rx, data + used, len - used, &n, &ev);
        used += n;
        if (srv.opt.trace && k != WS_RX_NEED_MORE && k != WS_RX_ERROR &&
            ev.frame_start)
            trace_frame(c, "<-", &ev.frame, ev.data, ev.len);
        if (k == WS_RX_NEED_MORE)
            break;
        if (k == WS_RX_ERROR) {
            if (srv.opt.trace)
                printf("%s <- protocol error: %s -> close %u\n", conn_peer_name(c),
                       ev.why, ev.close_code);
            conn_ws_fail(c, ev.close_code, ev.why);
            return len;
        }
        if (k == WS_RX_CONTROL) {
            on_control(c, &ev);
            continue;
        }
        if (c->state != CONN_WS_OPEN)
            continue; /* §7.1.2: after our Close, data is discarded */
        /* A whole unfragmented message needs no copy; pieces are
         * gathered in c->msg, which --max-message bounds. */
        if (ev.msg_end && c->msg.len == 0) {
            on_message(c, ev.opcode, ev.data, ev.len);
            continue;
        }
        if (buf_append(&c->msg, ev.data, ev.len) != 0) {
            conn_ws_fail(c, WS_CLOSE_INTERNAL_ERROR, "out of memory");
            return len;
        }
        if (ev.msg_end) {
            on_message(c, ev.opcode, c->msg.data + c->msg.off, c->msg.len);
            buf_consume(&c->msg, c->msg.len);
        }
    }
    return used;
}

