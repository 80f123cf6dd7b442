/* conn.h -- a connection, as the loop shares it with the files that answer it
 * SPDX-License-Identifier: MIT
 *
 * server.c owns every socket: it accepts, reads, writes, polls and closes.
 * Four files decide what to say on a connection, and this header is all
 * they see of the loop:
 *   web.c    -- HTTP: routing, static files, errors, CORS, the upgrade;
 *   wsconn.c -- WebSocket frames on an upgraded connection;
 *   engine.c -- Engine.IO: sessions over WebSocket or long-polling;
 *   faye.c   -- Bayeux's transports (--faye), on bayeux.c.
 * They never call read(), write() or poll(). They queue bytes with
 * conn_send() and friends, and the loop writes them at the end of the turn.
 *
 * The loop's rule, for every function here that queues output or ends a
 * connection: any call that writes may leave the connection CONN_DEAD
 * (out of memory, a failed write). Check c->state before touching the
 * connection again. A dead connection is freed only at the end of the
 * loop turn, so the pointer itself stays valid until then.
 *
 * Error convention: functions that can fail return 0 or -1; a -1 has
 * already killed the connection and logged why.
 */
#ifndef CONN_H
#define CONN_H

#include "timer.h"
#include "ws.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/types.h> /* ssize_t */

#define WSHUB_VERSION "0.2.0"

#ifndef PATH_MAX /* <limits.h> has it only in POSIX mode; Linux's value */
#define PATH_MAX 4096
#endif

/* ---- options: every flag, with its default in server.c ------------------ */

struct options {
    const char *host;      /* address to listen on */
    int port;              /* TCP port; 0 lets the kernel pick */
    const char *root;      /* folder of static files */
    bool trace;            /* print handshakes, frames and packets */
    size_t max_message;    /* bytes; a bigger message closes with 1009, a
                            * bigger request body gets 413 */
    size_t max_conns;      /* open connections (and Engine.IO sessions);
                            * one more gets 503 */
    size_t max_buffered;   /* bytes others may queue to one client */
    const char *origins;   /* --origin list; NULL: same host only */
    int ping_interval;     /* ms between pings (WebSocket and Engine.IO) */
    int ping_timeout;      /* ms to wait for the pong */
    int request_timeout;   /* ms to finish a request, its body included */
    int close_timeout;     /* ms to wait for the reply to our Close */
    int connect_timeout;   /* ms for a Socket.IO session to CONNECT */
    const char *app;       /* "chat" or "echo": the hub's application */
    const char *redis;     /* --redis URL, or NULL: this node alone */
    const char *redis_key; /* the adapter's channel prefix */
    int redis_timeout;     /* ms to wait for other nodes' answers */
    bool admin;            /* --admin: the Admin UI's protocol on /admin */
    const char *admin_auth_file; /* its "username:password", or NULL */
    bool admin_readonly;   /* the UI may not act */
    const char *faye;      /* --faye PATH: the Bayeux mount, or NULL */
    const char *faye_token_file; /* the token /private/ needs, or NULL */
    int faye_timeout;      /* s: a connect is held this long */
    size_t faye_max_batch; /* messages in one request or frame */
    size_t faye_max_subs;  /* subscriptions per Bayeux client */
    size_t faye_max_clients; /* Bayeux sessions in all */
    const char *data_dir;  /* --data DIR: the chat's journal, or NULL */
    const char *api_token_file; /* the REST API's write token, or NULL */
    const char *tls_cert;  /* --tls-cert: PEM certificate (chain), or NULL */
    const char *tls_key;   /* --tls-key: its PEM private key */
};

size_t options_take_secret(const char *p, size_t n, char *out, size_t max);
size_t options_read_secret(const char *flag, const char *file, char *out, size_t max);
                           /* options.c: a token, one line of 1..max bytes,
                            * from the environment or a file; its length,
                            * or 0 (read_secret has said why on stderr) */
int options_parse(int argc, char **argv, struct options *opt); /* options.c:
                            * 0 to run, 1 after --help or --version, -1 on
                            * a bad flag (said on stderr) */

/* ---- buffers ----------------------------------------------------------- */

/* A byte queue: live bytes are data[off .. off+len). Memory is allocated
 * on first use and given back when the queue empties, so an idle
 * connection holds no buffer at all. */
struct buf {
    uint8_t *data; /* malloc'd storage, or NULL while unused */
    size_t off;    /* start of the live bytes */
    size_t len;    /* number of live bytes */
    size_t cap;    /* bytes allocated at data */
};

int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);

/* ---- connections --------------------------------------------------------- */

enum conn_state {
    CONN_HTTP,       /* reading HTTP requests, maybe sending a file */
    CONN_WS_OPEN,    /* WebSocket open: frames both ways */
    CONN_WS_CLOSING, /* we sent a Close and wait for the peer's */
    CONN_DRAINING,   /* flush output, then shut down and wait for EOF */
    CONN_DEAD        /* closed; freed at the end of this loop turn */
};

/* What a connection does for an Engine.IO session (c->eio). Fields of
 * struct conn are ordered largest first, so that 10,000 of them carry no
 * padding holes. */
enum conn_role {
    ROLE_NONE,       /* nothing: a file, /echo, an error */
    ROLE_WEBSOCKET,  /* the session's transport is this WebSocket */
    ROLE_PROBE,      /* a WebSocket that is upgrading a polling session */
    ROLE_POLL_GET,   /* a long-polling GET, held until there is output */
    ROLE_POLL_POST,  /* a long-polling POST whose body is arriving */
    ROLE_FAYE_HELD,  /* a Bayeux request held for its connect (faye.c) */
    ROLE_FAYE_WS     /* a Bayeux WebSocket (faye.c) */
};

struct eio_session;
struct faye_port;
struct tls_session;
struct conn;

/* The byte stream under a connection: plain TCP, or TLS (tls.c). This is
 * the seam between the loop and what carries its bytes, after Redis's
 * connection.h: server.c reads, writes and ends every connection through
 * conn_io(c), so nothing above it (web.c, the parsers, the hub) can tell
 * which kind it is on. read and write return the bytes moved, read 0 at
 * the peer's orderly end, or -1 with errno: EAGAIN to try again when
 * poll() says so (c->io_wait names the event, when it is not the obvious
 * one), anything else to give up (c->why may then say why). */
struct conn_io {
    ssize_t (*read)(struct conn *c, void *p, size_t n);
    ssize_t (*write)(struct conn *c, const void *p, size_t n);
    int (*shutdown)(struct conn *c);  /* we have no more to send: end our
                                       * direction (TLS: close_notify, FIN);
                                       * 0, or -1 with EAGAIN to try again
                                       * when the socket takes output */
    void (*close)(struct conn *c);    /* free the stream's state; the loop
                                       * then closes the descriptor */
};
extern const struct conn_io tcp_io; /* server.c: read(), write(), shutdown() */
extern const struct conn_io tls_io; /* tls.c: libssl */

/* c->io_wait: a TLS read may need to write first (a handshake message
 * the kernel would not take), a write may need to read (a message from
 * the peer must come first), and a shutdown may find no room for its
 * close_notify. Plain TCP never sets any. */
enum {
    IO_READ_WANTS_OUT = 1, /* call read again once the socket is writable */
    IO_WRITE_WANTS_IN = 2, /* call write again once the socket is readable */
    IO_SHUTDOWN_WANTS_OUT = 4 /* call shutdown again once it is writable */
};

/* struct conn is laid out for size: 10,000 idle ones are most of an
 * idle server's memory, so pointers and 8-byte fields come first, then
 * the 4-byte ones, then the bytes, with no padding between. */
struct conn {
    struct tls_session *tls;/* tls.c's state on a TLS connection, or NULL:
                             * it also says which conn_io carries the
                             * bytes (conn_io() below; a pointer to the
                             * table would cost 8 bytes a connection) */
    char path[48];          /* last request-target, truncated, for logs */
    struct buf in;          /* bytes read but not yet parsed */
    struct buf out;         /* bytes queued for the socket */
    struct buf msg;         /* a WebSocket message being reassembled, or
                             * a request head and body being received */
    uint64_t body_left;     /* HTTP: body bytes still to come into msg */
    struct ws_rx rx;        /* frame decoder state (WebSocket only) */
    union {
        struct eio_session *eio; /* ROLE_WEBSOCKET..ROLE_POLL_POST: the
                                  * Engine.IO session served, or NULL */
        struct faye_port *faye;  /* ROLE_FAYE_*: the Bayeux port */
    };
    int64_t deadline;       /* ms, monotonic; what it means depends on
                             * state (see conn_timeout); 0: none */
    int64_t last_input;     /* ms: when the client last sent bytes */
    struct timer timer;     /* fires at the earliest of deadline, falling
                             * cold and giving buffers back (conn_arm) */
    uint64_t file_left;     /* bytes of file_fd still to queue */
    const char *why;        /* static text: why it closed, for the log */
    struct conn *next_later;/* link in the loop's later list while later */
    struct conn *next;      /* link in the dead list while CONN_DEAD (a
                             * released struct holds pool.c's free-list
                             * link in its first bytes instead) */
    int fd;                 /* non-blocking socket */
    uint32_t slot;          /* index of our entry in the poll set */
    int file_fd;            /* file being sent, or -1 */
    int status;             /* last HTTP status or WebSocket close code */
    struct in6_addr peer;   /* the client's address (IPv4 as ::ffff:a.b.c.d)
                             * and port, from accept(), for logs: */
    uint16_t peer_port;     /* getpeername() fails once the peer has gone */
    uint8_t state;          /* enum conn_state: what the next bytes mean */
    uint8_t role;           /* enum conn_role: what this is to eio */
    bool ping_sent;         /* WS_OPEN: a ping awaits its pong */
    bool keep_alive;        /* HTTP: read another request after this one */
    bool wr_shut;           /* DRAINING: our FIN has been sent */
    bool paused;            /* input held in c->in until output drains */
    bool blocked;           /* the last write left bytes the kernel would
                             * not take: the client is behind */
    bool later;             /* on the loop's list of conns to update at
                             * the end of the turn (conn_later) */
    uint8_t io_wait;        /* IO_READ_WANTS_OUT, ..._SHUTDOWN_WANTS_OUT */
    bool io_more;           /* the stream holds input already taken from
                             * the socket, which poll() cannot see: read
                             * again without waiting (TLS records) */
    bool io_unclean_end;    /* the peer ended without the stream's own end
                             * marker (TLS: no close_notify); logged */
};

/* The stream under c: TLS if it has a TLS session, else plain TCP. */
static inline const struct conn_io *conn_io(const struct conn *c)
{
    return c->tls ? &tls_io : &tcp_io;
}

/* True while c's next HTTP request must wait: a file is being sent, or a
 * long-polling GET (or Bayeux connect) is held until there is something
 * to say. */
static inline bool conn_http_busy(const struct conn *c)
{
    return c->file_fd >= 0 || c->role == ROLE_POLL_GET || c->role == ROLE_FAYE_HELD;
}

/* ---- what the loop offers --------------------------------------------------- */

/* The server's state that web.c and engine.c may read. */
struct server {
    struct options opt;    /* the flags */
    char root[PATH_MAX];   /* realpath of --root */
    struct hub *hub;       /* the event hub behind /socket.io/ */
    size_t high_water;     /* bytes queued to a client before we stop
                            * reading its requests */
};
extern struct server srv;

int64_t now_ms(void);
void loop_timer_set(struct timer *t, int64_t when);
int64_t loop_ping_time(int64_t now, int interval);
void loop_timer_cancel(struct timer *t);
void loop_count_conns(size_t *http, size_t *websocket, size_t *polling);
const char *conn_peer_name(const struct conn *c);
void conn_log(const struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int conn_send(struct conn *c, const void *p, size_t n);
void conn_later(struct conn *c);
void conn_kill(struct conn *c, const char *why);
void conn_drain(struct conn *c);
void conn_resume(struct conn *c);
int conn_ws_send_frame(struct conn *c, int opcode, const uint8_t *p, size_t n);
int conn_ws_send_prefixed(struct conn *c, int opcode, int first,
                          const uint8_t *p, size_t n);
void conn_ws_start_close(struct conn *c, uint16_t code, const char *reason);
void conn_ws_open(struct conn *c);
size_t conn_ws_input(struct conn *c, uint8_t *data, size_t len);
void trace_bytes(const uint8_t *p, size_t n);

/* ---- wsconn.c: the functions conn_ws_* above, and conn_ws_input ---------- */

/* ---- web.c ------------------------------------------------------------------ */

struct http_request;
size_t web_input(struct conn *c, uint8_t *data, size_t len);
void web_send_head(struct conn *c, int status, const char *type,
                   uint64_t length, const char *extra);
void web_error(struct conn *c, int status, const char *why, const char *extra,
               bool head_only);
void web_upgrade(struct conn *c, const struct http_request *req);
int web_cors(const struct http_request *req, char *out, size_t cap);
void web_request_done(struct conn *c);
void web_file_refill(struct conn *c);

/* ---- engine.c ----------------------------------------------------------------- */

struct hub_transport;
const struct hub_transport *engine_transport(void);
void engine_request(struct conn *c, const struct http_request *req,
                    const char *cors, uint8_t *body, size_t body_len);
int engine_post_begin(struct conn *c, const struct http_request *req);
void engine_refuse(struct conn *c, int status);
void engine_ws_message(struct conn *c, int opcode, uint8_t *p, size_t n);
void engine_conn_gone(struct conn *c);
void engine_end_of_turn(void);
void engine_shutdown(void);
void engine_free(void);
bool engine_pending(void);

/* ---- api.c: the REST API; metrics.c: /metrics and /healthz ------------------ */

void api_request(struct conn *c, const struct http_request *req, const char *path,
                 uint8_t *body, size_t body_len);
void api_refuse(struct conn *c, int status, const char *why);
void metrics_serve(struct conn *c, bool head_only);
void healthz_serve(struct conn *c, bool head_only);

/* ---- faye.c: Bayeux (--faye) ------------------------------------------------ */

struct chat;
int faye_init(struct chat *chat);
bool faye_route(const char *path, const struct http_request *req);
bool faye_client_path(const char *path);
void faye_request(struct conn *c, const struct http_request *req, uint8_t *body,
                  size_t body_len);
void faye_ws_message(struct conn *c, int opcode, uint8_t *p, size_t n);
void faye_conn_gone(struct conn *c);
void faye_end_of_turn(void);
int64_t faye_next_deadline(void);
void faye_tick(int64_t now);
void faye_free(void);
size_t faye_sessions(void);

#endif
