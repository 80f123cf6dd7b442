/* bayeux.h -- Bayeux 1.0 as faye speaks it: sessions, channels, meta messages; the interface of bayeux.c
 * SPDX-License-Identifier: MIT
 *
 * Bayeux is publish/subscribe over JSON messages: a client handshakes
 * for a clientId, subscribes to channels such as /chat/general or
 * /foo/{**} (a wildcard; a C comment cannot show it plainly), publishes to channels, and holds a /meta/connect open so the
 * server has a reply to put deliveries in. faye's clients (Node and
 * browser) are the peers; ../shared/specs/bayeux-faye.md, cited by §,
 * holds what they do.
 *
 * This module is the protocol and nothing else: no sockets, no HTTP, no
 * frames. A transport (faye.c) hands it batches of messages with
 * bx_input() on a struct bx_port -- one HTTP request, or one WebSocket --
 * and it answers through the port's ops: a request gets exactly one
 * answer (perhaps later, when a held connect ends), a socket gets a
 * frame whenever there is something to say.
 *
 *   transport --bx_input(port, "[{...},...]")--> bayeux.c
 *   transport <--ops->send(port, "[{...},...]")-- bayeux.c
 *
 * Time comes in as `now` (ms, any monotonic clock); bx_next_deadline()
 * and bx_tick() let the caller's loop sleep until the next connect to
 * release or session to expire. bx_flush() at the end of each loop turn
 * hands out what was published in it: everything published in one turn
 * reaches a held connect in one reply (§5: faye's 0 s delivery delay).
 *
 * Error convention: bx_input returns 0 or a named BX_ERR_*; bx_new
 * returns NULL when out of memory; the others cannot fail (running out
 * of memory while answering ends the session or drops the delivery,
 * with one log line on stderr).
 */
#ifndef BAYEUX_H
#define BAYEUX_H

#include "json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BX_VERSION "1.0"
#define BX_MAX_CHANNEL 256 /* bytes of a channel name: longer is 405 */
#define BX_ID_LEN 31       /* clientId: 160 random bits in base 36 (§4) */

/* bx_input's refusals: the transport answers them itself (faye gives
 * each the same 400 "Bad request"; the batch limit is ours: 413). */
#define BX_ERR_MALFORMED (-1) /* not JSON, or not an object or array of them */
#define BX_ERR_TOO_MANY (-2)  /* more messages than max_batch */

struct bx;
struct bx_client;
struct bx_port;

/* What a transport does for the engine. */
struct bx_port_ops {
    /* Send json[0..len), a JSON array of messages: on a request, its one
     * answer (the port is then done); on a socket, one frame. */
    void (*send)(struct bx_port *p, const char *json, size_t len);
    /* A socket only: the session on it disconnected, close it. */
    void (*close)(struct bx_port *p);
};

/* One transport endpoint: an HTTP request or a WebSocket. The transport
 * owns it, zeroes it, sets ops, socket and origin, and calls
 * bx_port_gone() before freeing it. */
struct bx_port {
    const struct bx_port_ops *ops;
    bool socket;              /* a WebSocket: deliveries go out at once */
    bool answered;            /* a request whose answer has been sent */
    bool foreign_page;        /* from a page whose origin may not use
                               * WebSocket or CORS here: a handshake on it
                               * is offered neither (see meta_handshake) */
    const char *origin;       /* the page's Origin, NUL-terminated, or NULL */
    struct bx_client *bound;  /* socket: the client whose connect came on
                               * it (§2.4); deliveries are pushed here */
    struct bx_client *held;   /* the client whose connect this port holds */
    struct jbuf answer;       /* request: replies gathered for its answer */
    void *ud;                 /* the transport's own */
};

/* A message, as extensions and channel handlers see it: spans of JSON
 * text inside the batch (NULL when absent), and the channel unescaped. */
struct bx_message {
    const char *raw;          /* the whole message object */
    size_t raw_len;
    char channel[BX_MAX_CHANNEL + 1]; /* "" when missing or too long */
    bool channel_ok;          /* channel is a string of at most BX_MAX_CHANNEL */
    char client_id[BX_ID_LEN + 1]; /* "" when missing or not one of ours */
    const char *client_id_json; /* the clientId value as sent */
    size_t client_id_json_len;
    const char *id, *data, *ext, *subscription; /* values as sent */
    size_t id_len, data_len, ext_len, subscription_len;
    const struct bx_port *port; /* where it came from (origin, socket) */
};

/* An extension (faye's extensible.js, §7): incoming sees every message
 * before it is handled and may refuse it by writing a Bayeux error
 * ("code:params:text", so that clients parse it) into err and returning
 * true; the reply then says successful:false and nothing else happens.
 * outgoing sees every delivery to every client before it is queued, and
 * may withhold it by returning false. Either hook may be NULL. */
struct bx_extension {
    bool (*incoming)(void *ud, const struct bx_message *m, char *err, size_t cap);
    bool (*outgoing)(void *ud, const struct bx_client *to, const char *channel,
                     const char *delivery, size_t len);
    void *ud;
};

/* A server-side channel: a publish to a channel under prefix is handed
 * to fn instead of being broadcast. fn returns true to accept it, or
 * writes a Bayeux error into err and returns false. */
typedef bool bx_channel_handler(void *ud, const struct bx_message *m, char *err,
                                size_t cap);

struct bx_limits {
    size_t max_batch;   /* messages in one request or frame */
    size_t max_subs;    /* subscriptions per client */
    size_t max_clients; /* sessions in all */
    size_t max_queue;   /* bytes of deliveries waiting for one client:
                         * past it the session ends */
    int timeout_ms;     /* a connect is held this long; a session with no
                         * connect for twice as long expires (§5) */
};

struct bx *bx_new(const struct bx_limits *lim);
void bx_free(struct bx *bx);
int bx_add_extension(struct bx *bx, const struct bx_extension *ext);
int bx_add_channel(struct bx *bx, const char *prefix, bx_channel_handler *fn, void *ud);

int bx_input(struct bx *bx, struct bx_port *port, const char *json, size_t len,
             int64_t now);
void bx_port_gone(struct bx *bx, struct bx_port *port);
void bx_publish(struct bx *bx, const char *channel, const char *data, size_t len);
void bx_flush(struct bx *bx);
int64_t bx_next_deadline(const struct bx *bx);
void bx_tick(struct bx *bx, int64_t now);

const char *bx_client_id(const struct bx_client *c);
size_t bx_clients(const struct bx *bx);

/* Pure helpers, for the transports and the tests. */
bool bx_channel_valid(const char *name, bool pattern_ok);
bool bx_channel_matches(const char *pattern, const char *name);
bool bx_jsonp_name_ok(const char *name, size_t len);

#endif
