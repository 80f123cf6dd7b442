/* hub.h -- the event hub: EventEmitter-style handlers over Socket.IO v5
 * SPDX-License-Identifier: MIT
 *
 * The pattern, as socket.io users know it:
 *
 *     socket.on("message", fn)            hub_on(nsp, "message", fn, ud)
 *     socket.emit("news", x)              hub_emit(s, "news", &args)
 *     io.to("room").emit("news", x)       hub_emit_to(nsp, "room", NULL, ...)
 *     socket.to("room").emit(...)         hub_emit_to(nsp, "room", s, ...)
 *     socket.timeout(ms).emit(..., cb)    hub_emit_ack(s, ..., ms, cb, ud)
 *     callback(reply) in a handler        hub_ack(s, ev, &reply)
 *     socket.join("room")                 hub_join(s, "room")
 *     io.to(a).except(b).emit(...)        hub_broadcast(nsp, &sel, ...)
 *     io.in(a).socketsJoin("r")           hub_sockets_join(nsp, &sel, "r")
 *     io.in(a).fetchSockets()             hub_fetch_sockets(nsp, &sel, cb, ud)
 *     io.of("/").adapter.allRooms()       hub_all_rooms(nsp, cb, ud)
 *     io.serverSideEmit("x", ...)         hub_server_emit(nsp, "x", &args)
 *     io.on("x", (...args, cb) => ...)    hub_on_server(nsp, "x", fn, ud)
 *     io.use((socket, next) => ...)       hub_use(nsp, fn, ud)
 *     socket.use(([ev], next) => ...)     hub_use_packet(nsp, fn, ud)
 *     socket.onAny(fn)                    hub_on_any(nsp, fn, ud)
 *     io.timeout(ms).emit(..., cb)        hub_broadcast_ack(nsp, &sel, ...)
 *     io.volatile.emit(...)               hub_broadcast_volatile(nsp, &sel, ...)
 *     io.of(/^\/team-\d+$/)               hub_on_new_nsp(h, factory, ud)
 *
 * With more than one node (cluster.c, over Redis), an adapter sits
 * beside the hub (struct hub_adapter): every broadcast and room
 * operation that is not `local` is also handed to it, and what other
 * nodes send comes back in through the same calls with `local` set. The
 * cluster-wide questions (fetch, all rooms) are answered later, through
 * a callback, because other nodes answer later.
 *
 * The hub knows nothing about sockets, HTTP, WebSocket frames or which
 * transport carries a session. It sits on the Engine.IO layer (engine.c):
 * it is fed the payloads of Engine.IO "message" packets through
 * hub_session_message() -- a Socket.IO packet as text, or a binary
 * attachment -- and talks back only through struct hub_transport, so a
 * test can drive it with no network.
 *
 * Error convention: functions that can fail return 0 or -1 (out of memory
 * or a bad argument); emits to a closed socket are silently dropped.
 * Handlers run synchronously, inside hub_session_message or hub_tick.
 * Time is whatever the caller last passed in: hub_tick runs what is due
 * then, and hub_next_timer says when that will next be.
 */
#ifndef HUB_H
#define HUB_H

#include "json.h"
#include "timer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hub;         /* the whole hub: namespaces and sessions */
struct hub_nsp;     /* a namespace: its handlers, sockets and rooms */
struct hub_session; /* one Engine.IO session, on whatever transport */
struct hub_socket;  /* one Socket.IO socket: a session in a namespace */
struct hub_reply;   /* an answer promised now and given later */
struct hub_gather;  /* a cluster-wide question whose answers are coming */
struct hub_connect; /* a CONNECT waiting for its namespace's middleware */
struct hub_acks;    /* the answers to a broadcast with acks, coming in */
struct hub_event;   /* one event as a handler sees it (below) */
struct hub_args;    /* event arguments (below) */

/* Why the hub ends a session. The transport chooses what the client sees
 * (engine.c maps these to WebSocket close codes). */
enum hub_close {
    HUB_CLOSE_PROTOCOL = 1, /* the client broke Socket.IO v5 */
    HUB_CLOSE_TOO_BIG,      /* attachments over max_payload */
    HUB_CLOSE_TIMEOUT,      /* no CONNECT within connect_timeout */
    HUB_CLOSE_INTERNAL,     /* out of memory or randomness */
    HUB_CLOSE_SERVER        /* the application ended it on purpose
                             * (disconnectSockets(true)) */
};

/* What the hub needs from whoever carries its packets. */
struct hub_transport {
    /* Queue one Engine.IO message for peer: a Socket.IO packet as text
     * ("2[\"hi\"]", without Engine.IO's "4"), or one binary attachment.
     * A broadcast passes the very same bytes for every recipient. */
    void (*send)(void *peer, bool binary, const uint8_t *p, size_t len);
    /* End peer's session; text says why, for the client and the log.
     * The transport later calls hub_session_gone(). */
    void (*close)(void *peer, enum hub_close why, const char *text);
    /* Could peer take a packet now without queueing it behind others
     * (for volatile emits)? NULL: always. */
    bool (*writable)(void *peer);
    /* peer's transport now ("websocket" or "polling"), and its Engine.IO
     * session id in *sid: what the Admin UI shows. NULL: unknown. */
    const char *(*info)(void *peer, const char **sid);
};

/* Someone watching the hub (the Admin UI, admin.c): told after each
 * thing happens, in every namespace. Any hook may be NULL. */
struct hub_observer {
    void (*connected)(void *ud, struct hub_socket *s);
    void (*disconnected)(void *ud, struct hub_socket *s, const char *reason);
    void (*joined)(void *ud, struct hub_socket *s, const char *room);
    void (*left)(void *ud, struct hub_socket *s, const char *room);
    void (*received)(void *ud, struct hub_socket *s, const struct hub_event *ev);
    void (*sent)(void *ud, struct hub_socket *s, const char *event,
                 const struct hub_args *a);
    void (*upgraded)(void *ud, struct hub_socket *s); /* new transport */
};

struct hub_options {
    int connect_timeout; /* ms for a session to CONNECT to a namespace */
    size_t max_payload;  /* bytes: largest message, attachments included */
};

/* One header field of the request that opened a session. */
struct hub_header {
    const char *name;  /* as sent; compared without case */
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* What the transport knew of the request that opened a session. The hub
 * keeps a copy (of the fields in HUB_HANDSHAKE_HEADERS only) and shows
 * it as socket.io's socket.handshake, to other nodes' fetchSockets(). */
struct hub_handshake {
    const char *address;             /* the client's IP address */
    const char *url;                 /* the request target, query and all */
    size_t url_len;
    const struct hub_header *headers;/* the request's header fields */
    size_t nheaders;
    bool secure;                     /* it came over TLS */
};

/* The header fields kept: what apps read of a handshake (who, from
 * where, with what credentials), not all of them, since every session
 * keeps its copy. A field longer than HUB_MAX_HEADER is left out. */
#define HUB_HANDSHAKE_HEADERS \
    "host", "origin", "referer", "user-agent", "cookie", "authorization", \
    "x-forwarded-for"
#define HUB_MAX_HEADER 1024

/* A binary attachment. */
struct hub_blob {
    const uint8_t *data;
    size_t len;
};

/* Event arguments: the JSON values, comma-separated, without brackets,
 * exactly as they arrived (1,"2",{"3":[true]}); plus binary attachments
 * that the JSON refers to as {"_placeholder":true,"num":i}. */
struct hub_args {
    const char *json;           /* "" for no arguments */
    size_t len;                 /* bytes at json */
    const struct hub_blob *bins;/* attachments, or NULL */
    size_t nbins;               /* number of attachments */
};

/* One event as a handler sees it. */
struct hub_event {
    const char *name;     /* the event name, NUL-terminated */
    struct hub_args args; /* its arguments */
    int64_t ack_id;       /* the client asked for an ack with this id; -1: no */
    bool acked;           /* hub_ack has answered it */
};

/* Which sockets of a namespace an emit or a room operation reaches, as
 * socket.io's io.to(rooms).except(rooms): every member of any of rooms
 * (nrooms == 0: every socket), minus every member of any except room,
 * each socket once. A socket's id names a room of one, so except
 * {sender's id} is "everyone but the sender". */
struct hub_select {
    const char *const *rooms;  /* target rooms, or NULL with nrooms 0 */
    size_t nrooms;
    const char *const *except; /* rooms whose members are left out */
    size_t nexcept;
    bool local;                /* this node only, like io.local; what
                                * arrives from other nodes is local */
};

typedef void hub_handler(struct hub_socket *s, struct hub_event *ev, void *ud);
/* A server-side event from another node (io.serverSideEmit). reply is
 * NULL unless the sender wants an answer; then the handler must give it
 * to hub_reply_send or hub_reply_drop, now or later. */
typedef void hub_server_handler(struct hub_nsp *nsp, const char *event,
                                const struct hub_args *a,
                                struct hub_reply *reply, void *ud);
/* Writes s's data as a JSON value (socket.data: what other nodes see). */
typedef void hub_describe_fn(struct hub_socket *s, struct jbuf *out,
                             void *ud);
/* Connection middleware (io.use): decide on c, now or later, by calling
 * hub_accept(c) or hub_refuse(c, ...) exactly once. auth is the
 * CONNECT's payload ({} when it had none). */
typedef void hub_middleware(struct hub_connect *c, const struct hub_args *auth,
                            void *ud);
/* Packet middleware (socket.use): sees each event from a client before
 * any handler. Returns true to let it through; false drops it (the
 * filter may hub_ack() it with an error first). */
typedef bool hub_packet_filter(struct hub_socket *s, struct hub_event *ev,
                               void *ud);
/* Makes the namespace name on its first CONNECT (a dynamic namespace):
 * hub_of() it, register its handlers and return it; NULL refuses it. */
typedef struct hub_nsp *hub_nsp_factory(struct hub *h, const char *name,
                                        void *ud);
/* The answers to a broadcast with acks: replies is a JSON array of each
 * client's first ack argument; timed_out says some did not answer in
 * time, and missing how many of those the hub knew of. */
typedef void hub_acks_cb(bool timed_out, const char *replies, size_t len,
                         size_t missing, void *ud);
/* A cluster-wide answer: a JSON array, whole. */
typedef void hub_answer_cb(const char *json, size_t len, void *ud);
typedef void hub_ack_cb(struct hub_socket *s, bool timed_out,
                        const struct hub_args *reply, void *ud);

/* Arguments from a NUL-terminated JSON list: hub_json("1,\"two\""). */
struct hub_args hub_json(const char *json);

/* ---- the hub and its namespaces ------------------------------------- */
struct hub *hub_new(const struct hub_transport *t, const struct hub_options *o);
void hub_free(struct hub *h);
struct hub_nsp *hub_of(struct hub *h, const char *name);
const char *hub_nsp_name(const struct hub_nsp *nsp);
struct hub *hub_nsp_hub(const struct hub_nsp *nsp);

void hub_on_new_nsp(struct hub *h, hub_nsp_factory *fn, void *ud);

/* ---- handlers --------------------------------------------------------- */
int hub_on(struct hub_nsp *nsp, const char *event, hub_handler *fn, void *ud);
int hub_fire(struct hub_nsp *nsp, struct hub_socket *s, struct hub_event *ev);
int hub_on_any(struct hub_nsp *nsp, hub_handler *fn, void *ud);
int hub_prepend_any(struct hub_nsp *nsp, hub_handler *fn, void *ud);
void hub_off_any(struct hub_nsp *nsp, hub_handler *fn);
int hub_on_any_outgoing(struct hub_nsp *nsp, hub_handler *fn, void *ud);
void hub_off_any_outgoing(struct hub_nsp *nsp, hub_handler *fn);

/* ---- middleware ---------------------------------------------------------- */
int hub_use(struct hub_nsp *nsp, hub_middleware *fn, void *ud);
int hub_use_packet(struct hub_nsp *nsp, hub_packet_filter *fn, void *ud);
void hub_accept(struct hub_connect *c);
void hub_refuse(struct hub_connect *c, const char *message, const char *data);
struct hub_nsp *hub_connect_nsp(const struct hub_connect *c);
const char *hub_connect_address(const struct hub_connect *c);
const char *hub_connect_url(const struct hub_connect *c);
const char *hub_connect_header(const struct hub_connect *c, const char *name);

/* ---- emitting ------------------------------------------------------------ */
void hub_emit(struct hub_socket *s, const char *event, const struct hub_args *a);
void hub_emit_to(struct hub_nsp *nsp, const char *room,
                 const struct hub_socket *except, const char *event,
                 const struct hub_args *a);
int hub_emit_ack(struct hub_socket *s, const char *event,
                 const struct hub_args *a, int timeout_ms, hub_ack_cb *cb,
                 void *ud);
void hub_ack(struct hub_socket *s, struct hub_event *ev,
             const struct hub_args *reply);

void hub_broadcast(struct hub_nsp *nsp, const struct hub_select *sel,
                   const char *event, const struct hub_args *a);
void hub_broadcast_volatile(struct hub_nsp *nsp, const struct hub_select *sel,
                            const char *event, const struct hub_args *a);
void hub_emit_volatile(struct hub_socket *s, const char *event,
                       const struct hub_args *a);
int hub_broadcast_ack(struct hub_nsp *nsp, const struct hub_select *sel,
                      const char *event, const struct hub_args *a,
                      int timeout_ms, hub_acks_cb *cb, void *ud);
uint64_t hub_volatile_dropped(const struct hub *h);

/* ---- acks answered later ------------------------------------------------- */
struct hub_reply *hub_ack_later(struct hub_socket *s, struct hub_event *ev);
void hub_reply_send(struct hub_reply *r, const struct hub_args *a);
void hub_reply_drop(struct hub_reply *r);

/* ---- rooms ---------------------------------------------------------------- */
int hub_join(struct hub_socket *s, const char *room);
void hub_leave(struct hub_socket *s, const char *room);
bool hub_in_room(const struct hub_socket *s, const char *room);
size_t hub_room_size(struct hub_nsp *nsp, const char *room);
struct hub_socket *const *hub_room_members(struct hub_nsp *nsp,
                                           const char *room, size_t *n);
size_t hub_socket_rooms(const struct hub_socket *s, const char **names,
                        size_t max);

size_t hub_select_each(struct hub_nsp *nsp, const struct hub_select *sel,
                       void (*fn)(struct hub_socket *s, void *ud), void *ud);
void hub_sockets_join(struct hub_nsp *nsp, const struct hub_select *sel,
                      const char *room);
void hub_sockets_leave(struct hub_nsp *nsp, const struct hub_select *sel,
                       const char *room);
void hub_disconnect_sockets(struct hub_nsp *nsp, const struct hub_select *sel,
                            bool close);

/* ---- questions to the whole cluster ------------------------------------ */
int hub_fetch_sockets(struct hub_nsp *nsp, const struct hub_select *sel,
                      hub_answer_cb *cb, void *ud);
int hub_all_rooms(struct hub_nsp *nsp, hub_answer_cb *cb, void *ud);
void hub_server_emit(struct hub_nsp *nsp, const char *event,
                     const struct hub_args *a);
int hub_on_server(struct hub_nsp *nsp, const char *event,
                  hub_server_handler *fn, void *ud);

/* ---- sockets ---------------------------------------------------------- */
const char *hub_socket_id(const struct hub_socket *s);
struct hub_nsp *hub_socket_nsp(const struct hub_socket *s);
void *hub_socket_data(const struct hub_socket *s);
void hub_socket_set_data(struct hub_socket *s, void *data);
void hub_disconnect(struct hub_socket *s);
void hub_on_describe(struct hub_nsp *nsp, hub_describe_fn *fn, void *ud);
const char *hub_socket_transport(const struct hub_socket *s, const char **sid);
void hub_observe(struct hub *h, const struct hub_observer *o, void *ud);
size_t hub_sessions(const struct hub *h, size_t *polling);
size_t hub_nsp_size(const struct hub_nsp *nsp);

/* ---- an application's own timers, in the hub's heap (timer.h) ------- */
int hub_timer_set(struct hub *h, struct timer *t, int64_t when);
void hub_timer_cancel(struct hub *h, struct timer *t);
int64_t hub_now(const struct hub *h);
void hub_describe_socket(struct hub_socket *s, struct jbuf *out);
void hub_describe_handshake(const struct hub_socket *s, struct jbuf *out, bool with_auth);
void hub_describe_rooms(const struct hub_socket *s, struct jbuf *out);
void hub_describe_data(struct hub_socket *s, struct jbuf *out);

/* ---- the transport's side --------------------------------------------- */
struct hub_session *hub_session_open(struct hub *h, void *peer, int64_t now);
int hub_session_handshake(struct hub_session *ss, const struct hub_handshake *hs);
void hub_session_message(struct hub_session *ss, bool binary,
                         const uint8_t *p, size_t n, int64_t now);
void hub_session_gone(struct hub_session *ss, const char *reason);
void hub_session_upgraded(struct hub_session *ss);
void hub_tick(struct hub *h, int64_t now);
int64_t hub_next_timer(const struct hub *h);
int hub_random_id(char out[21]);

/* ---- the adapter's side (cluster.c) -------------------------------------
 * What the hub hands to other nodes, and how their answers come back.
 * Every hook is called with the adapter's own ud. */
enum hub_ask { HUB_ASK_SOCKETS, HUB_ASK_ROOMS };
enum hub_op { HUB_OP_JOIN, HUB_OP_LEAVE, HUB_OP_DISCONNECT };

struct hub_adapter {
    /* A broadcast this node has just delivered to its own sockets. */
    void (*broadcast)(void *ud, struct hub_nsp *nsp,
                      const struct hub_select *sel, const char *event,
                      const struct hub_args *a, bool is_volatile);
    /* A room operation done here, for the others to do too: room is the
     * room to join or leave; close (disconnect) also ends the session. */
    void (*sockets_op)(void *ud, struct hub_nsp *nsp,
                       const struct hub_select *sel, enum hub_op op,
                       const char *room, bool close);
    /* Ask the other nodes; their answers go to hub_gather_add, and
     * hub_gather_end once all have answered or time is up. Returns 0, or
     * -1 if it cannot ask (then the answer is this node's alone). */
    int (*ask)(void *ud, struct hub_nsp *nsp, enum hub_ask what,
               const struct hub_select *sel, struct hub_gather *g);
    /* A server-side event for the other nodes (no answer wanted). */
    void (*server_emit)(void *ud, struct hub_nsp *nsp, const char *event,
                        const struct hub_args *a);
    /* The answer to a server-side event that token identifies. */
    void (*server_reply)(void *ud, struct hub_nsp *nsp, const char *token,
                         const struct hub_args *a);
    /* A namespace made on demand (hub_on_new_nsp), to subscribe to. */
    void (*nsp_created)(void *ud, struct hub_nsp *nsp);
    /* Broadcast with acks to the other nodes; report with hub_acks_nodes,
     * hub_acks_count and hub_acks_reply, and hub_acks_release when done
     * with k. Returns 0, or -1 if it cannot (the acks are this node's). */
    int (*broadcast_ack)(void *ud, struct hub_nsp *nsp,
                         const struct hub_select *sel, const char *event,
                         const struct hub_args *a, int timeout_ms,
                         struct hub_acks *k);
};

void hub_set_adapter(struct hub *h, const struct hub_adapter *a, void *ud);
void hub_gather_add(struct hub_gather *g, const char *items, size_t len);
void hub_gather_end(struct hub_gather *g);
void hub_acks_nodes(struct hub_acks *k, size_t nodes);
void hub_acks_count(struct hub_acks *k, size_t clients);
void hub_acks_reply(struct hub_acks *k, const char *json, size_t len);
void hub_acks_release(struct hub_acks *k);
void hub_local_rooms(struct hub_nsp *nsp, struct jbuf *out);
void hub_server_event(struct hub_nsp *nsp, const char *event,
                      const struct hub_args *a, const char *token);
#define HUB_MAX_NODES 1024 /* node numbers are 0 .. HUB_MAX_NODES-1 */
void hub_set_node(struct hub *h, uint32_t node);
uint32_t hub_node(const struct hub *h);
struct hub_nsp *hub_first_nsp(struct hub *h);
struct hub_nsp *hub_next_nsp(struct hub_nsp *nsp);

#endif
