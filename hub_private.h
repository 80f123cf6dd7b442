/* hub_private.h -- the hub's own structs, shared by hub.c and room.c
 * SPDX-License-Identifier: MIT
 *
 * The hub is two files: hub.c (namespaces, handlers, sessions, sockets,
 * the Socket.IO packets and acks) and room.c (rooms, selections of
 * sockets, broadcasts, and the cluster's side). Both need the structs
 * below; nothing outside the hub includes this header, so to every
 * other module the hub stays the opaque types of hub.h.
 *
 * Error convention: as hub.h (0 or -1).
 */
#ifndef HUB_PRIVATE_H
#define HUB_PRIVATE_H

#include "hub.h"
#include "json.h"
#include "map.h"
#include "pool.h"
#include "sio.h"
#include "timer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A handshake this short lives inside struct hub_session, which comes
 * from a pool: a malloc'd block of its own, made while the connection's
 * buffers come and go, would pin pages of freed memory around it (an
 * idle session measured 1,331 bytes that way, 990 inline). Address,
 * "/socket.io/?EIO=4&transport=websocket" and a Host field fit. */
#define HUB_HANDSHAKE_INLINE 72

struct listener {
    char *event;     /* event name, malloc'd */
    hub_handler *fn; /* called with the socket, the event and ud */
    hub_server_handler *server; /* instead of fn: a server-side event
                                 * (hub_on_server), from another node */
    void *ud;        /* the handler's own pointer */
};

/* A room: a named set of sockets, stored densely so that a broadcast
 * walks exactly its members and a member leaves in O(1). */
struct hub_room {
    struct map_node node;        /* key: name; in nsp->rooms */
    struct hub_socket **members; /* members[0..count) */
    size_t count;                /* members now */
    size_t cap;                  /* slots allocated */
    char name[];                 /* NUL-terminated */
};

/* A socket's place in one room: room->members[index] == the socket. */
struct membership {
    struct hub_room *room;
    size_t index;
};

/* A function an application hooked in (middleware.c), with its pointer. */
struct hook {
    void (*fn)(void); /* cast back to its real type where it is called */
    void *ud;
};

struct hooks {
    struct hook *v; /* v[0..n), in the order they run */
    size_t n, cap;
};

/* An ack we asked the client for (hub_emit_ack). */
struct pending_ack {
    int64_t id;       /* the ack id sent with the event */
    int64_t deadline; /* ms; the callback gets timed_out after it */
    hub_ack_cb *cb;
    void *ud;
};

enum sock_state {
    SOCK_OPEN,    /* connected to its namespace */
    SOCK_CLOSING, /* "disconnect" handlers are running */
    SOCK_CLOSED   /* out of every table; freed when the hub is idle */
};

struct hub_socket {
    struct map_node node;       /* key: id; in nsp->by_id */
    char id[21];                /* 20 base64url characters from RAND_bytes */
    uint8_t state;              /* enum sock_state; only SOCK_OPEN sockets
                                 * get packets */
    struct hub_nsp *nsp;        /* the namespace it is connected to */
    struct hub_session *ss;     /* the connection it travels on */
    size_t nsp_index;           /* nsp->sockets[nsp_index] == this */
    struct membership *rooms;   /* rooms joined, rooms[0..nrooms) */
    size_t nrooms, roomcap;     /* used and allocated entries of rooms */
    struct pending_ack *acks;   /* acks awaited from the client */
    size_t nacks, ackcap;       /* used and allocated entries of acks */
    int64_t next_ack_id;        /* id for the next hub_emit_ack */
    uint32_t mark;              /* == hub->epoch: taken (or excluded) by
                                 * the selection being walked (room.c) */
    char *auth;                 /* the CONNECT's payload (handshake.auth),
                                 * or NULL for {} */
    void *data;                 /* the application's per-socket state */
    struct hub_socket *next;    /* next socket of the session, or in the
                                 * hub's graveyard once closed */
};

struct hub_nsp {
    struct hub *hub;
    char *name;                 /* "/", "/custom", ... */
    struct listener *ls;        /* handlers, in registration order */
    size_t nls, lcap;           /* used and allocated entries of ls */
    struct hub_socket **sockets;/* every open socket, densely */
    size_t nsockets, scap;      /* used and allocated entries of sockets */
    struct map by_id;       /* socket id -> socket */
    struct map rooms;       /* room name -> struct hub_room */
    struct hooks use;           /* connection middleware (hub_use) */
    struct hooks filters;       /* packet middleware (hub_use_packet) */
    struct hooks any;           /* onAny listeners, before the others */
    struct hooks any_out;       /* onAnyOutgoing listeners */
    hub_describe_fn *describe;  /* writes a socket's data, or NULL: {} */
    void *describe_ud;          /* its own pointer */
    struct hub_nsp *next;       /* next namespace of the hub */
};

/* A BINARY_EVENT or BINARY_ACK whose attachments are still arriving. */
struct pending_bin {
    char *text;                     /* the packet text, copied */
    size_t len;                     /* bytes at text */
    int need;                       /* attachments announced */
    int have;                       /* attachments received */
    struct hub_blob bins[SIO_MAX_ATTACHMENTS]; /* each malloc'd */
    size_t bytes;                   /* text + attachments, <= max_payload */
};

struct hub_session {
    struct hub *hub;
    void *peer;                 /* the transport's handle */
    bool closed;                /* no more packets are processed */
    struct hub_socket *sockets; /* one per namespace joined, linked */
    struct timer timer;         /* until the first CONNECT: the connect
                                 * timeout; then the earliest ack deadline
                                 * of its sockets (lazily: it may fire
                                 * early, and is set again then) */
    bool connected;             /* a CONNECT has come */
    int64_t issued;             /* ms since 1970: when it opened, for
                                 * the handshake other nodes are shown */
    char *handshake;            /* hub_session_handshake's copy, or NULL:
                                 * "address\0url\0" then "name\0value\0"
                                 * per header kept, then "\0"; in
                                 * hs_inline when it fits */
    char hs_inline[HUB_HANDSHAKE_INLINE]; /* a short handshake's home */
    bool secure;                /* the handshake came over TLS */
    struct pending_bin *bin;    /* packet awaiting attachments, or NULL */
    struct hub_connect *pending;/* CONNECTs awaiting middleware, linked */
    struct hub_session *prev, *next; /* the hub's list of sessions */
};

struct hub {
    struct hub_transport t;       /* how bytes leave */
    struct hub_options opt;       /* timings and limits */
    struct hub_nsp *nsps;         /* namespaces, linked */
    struct hub_session *sessions; /* live sessions, doubly linked */
    struct hub_session *dead;     /* sessions gone, freed when idle */
    struct hub_socket *graveyard; /* sockets closed, freed when idle */
    int depth;                    /* nesting of entry points; 0 = idle */
    int64_t now;                  /* ms, the time the caller last gave */
    struct timers timers;         /* connect and ack deadlines */
    struct pool sessions_pool;    /* every struct hub_session (pool.h) */
    struct pool sockets_pool;     /* every struct hub_socket */
    struct jbuf scratch;          /* where emits are encoded, reused */
    uint32_t seed;                /* random hash seed, against flooding */
    uint32_t epoch;               /* the current selection's mark (room.c) */
    const struct hub_adapter *adapter; /* other nodes, or NULL (room.c) */
    void *adapter_ud;             /* the adapter's own pointer */
    const struct hub_observer *obs; /* who watches, or NULL (hub_observe) */
    void *obs_ud;
    size_t nsessions;             /* sessions open */
    hub_nsp_factory *factory;     /* makes namespaces on demand, or NULL */
    void *factory_ud;
    uint64_t volatile_dropped;    /* volatile packets not sent (room.c) */
    uint32_t node;                /* this node's number in its cluster,
                                   * 0 .. HUB_MAX_NODES-1; 0 alone */
};

/* A packet ready to send: the Socket.IO text, then one binary message
 * per attachment. Built once per emit, then handed unchanged to every
 * recipient. The text lives in the hub's scratch buffer, which keeps its
 * memory from one emit to the next: no allocation per message. The
 * attachments are the caller's own bytes, not copied. */
struct outgoing {
    const char *text;             /* the packet, e.g. 2["news",1] */
    size_t len;                   /* bytes at text */
    const struct hub_blob *bins;  /* attachments, or NULL */
    size_t nbins;                 /* how many */
};


/* hub.c */
void hub_enter(struct hub *h);
void hub_exit(struct hub *h);
int hub_build(struct hub *h, struct outgoing *o, int type,
              const struct hub_nsp *nsp, int64_t ack_id, const char *event,
              const struct hub_args *a);
void hub_deliver(struct hub_session *ss, const struct outgoing *o);
struct hub_reply *hub_reply_new(struct hub_nsp *nsp, struct hub_socket *s,
                                int64_t ack_id, const char *token);

void hub_connect_error(struct hub_session *ss, const char *nsp, size_t nsp_len,
                       const char *json);
void hub_socket_open(struct hub_session *ss, struct hub_nsp *nsp,
                     const char *auth, size_t auth_len);

/* middleware.c */
bool hub_connect_pending(const struct hub_session *ss, const char *nsp, size_t len);
void hub_connect_begin(struct hub_session *ss, struct hub_nsp *nsp,
                       const char *auth, size_t auth_len);
void hub_connect_cancel_all(struct hub_session *ss);
struct hub_nsp *hub_dynamic_nsp(struct hub *h, const char *name, size_t len);
bool hub_filter_event(struct hub_socket *s, struct hub_event *ev);
void hub_notify_outgoing(struct hub_socket *s, const char *event,
                         const struct hub_args *a);
void hub_hooks_free(struct hooks *hs);

/* room.c */
int hub_grow(void **arr, size_t *cap, size_t used, size_t elem);
struct hub_socket *hub_find_socket(struct hub_nsp *nsp, const char *id);
void hub_leave_at(struct hub_socket *s, size_t k);

#endif
