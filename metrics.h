/* metrics.h -- counters for /metrics: the interface of metrics.c
 * SPDX-License-Identifier: MIT
 *
 * The rest of the server tells metrics.c what happened with one plain
 * call at the place it happens: a response sent, a WebSocket closed, a
 * message in or out. metrics.c only adds; it never looks back into the
 * caller. What is state rather than an event (connections open, sessions,
 * rooms, memory) is not counted here at all: metrics_serve asks the
 * modules that own it at scrape time, so a gauge can never drift from the
 * truth.
 *
 * Every label value comes from a small fixed table (a status code, a
 * close code, a method, a transport), and anything outside a table is
 * counted under "other": what a client sends can choose which counter
 * moves, never add one, so the page and the memory behind it stay
 * bounded whatever clients do.
 *
 * One thread, so the counters are plain integers. None of these calls
 * can fail, allocate or write to a connection.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>

/* How a message travelled, the `transport` label. Each message is
 * counted under exactly one:
 *   websocket  one RFC 6455 data message (text or binary) on /echo or an
 *              Engine.IO WebSocket, where it is one Engine.IO packet;
 *   polling    one Engine.IO packet in a long-polling POST or GET answer;
 *   bayeux     one Bayeux message, in any of faye's transports. */
enum metrics_transport {
    METRICS_WEBSOCKET,
    METRICS_POLLING,
    METRICS_BAYEUX,
    METRICS_TRANSPORTS /* how many there are */
};

/* Events, each counted once where it happens. */
void metrics_http_response(int status);  /* a response head queued */
void metrics_ws_close(int code);         /* a WebSocket closed, with the
                                          * code it closed with (below 1000,
                                          * i.e. none: counted as 1006) */
void metrics_messages(enum metrics_transport t, bool sent, size_t count,
                      size_t bytes);     /* count messages, bytes in all,
                                          * received (sent false) or sent */
void metrics_tls_handshake(bool ok);     /* a TLS handshake done, or
                                          * failed (refused, broken off,
                                          * or out of time) */
void metrics_api_request(const char *method, int status); /* one /api/
                                          * request answered; method is
                                          * "GET", "POST", ... */

/* State that lives elsewhere, read at scrape time. Both may be left
 * unset: without them there is no rooms sample, and the journal's
 * counters stay 0 and /healthz ignores it.
 *   rooms(ud)  the chat's rooms now;
 *   s          the journal's counters (journal.h), valid while it is open;
 *   healthy()  false once the journal cannot be written: /healthz 503. */
struct journal_stats;
void metrics_set_rooms(size_t (*rooms)(void *ud), void *ud);
void metrics_set_journal(const struct journal_stats *s, bool (*healthy)(void));

/* metrics_serve and healthz_serve, the two pages, are in conn.h with the
 * other request handlers. */

#endif
