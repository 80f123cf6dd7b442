/* server.c -- wshub's poll() loop: sockets, connections, timers and main()
 * SPDX-License-Identifier: MIT
 *
 * One process, one thread, one poll() loop. This file owns every socket:
 * it accepts TCP connections, reads bytes into buffers, hands them to the
 * pure parsers in http.c and ws.c, and writes back what they produce. It
 * serves static files from --root, echoes WebSocket messages on /echo,
 * and carries Socket.IO sessions on /socket.io/ between the network and
 * the event hub (hub.c), which never sees a socket itself.
 *
 * Life of a connection (struct conn, state in enum conn_state):
 *   accept -> CONN_HTTP: read requests, answer files or errors
 *          -> CONN_WS_OPEN after a valid upgrade on /echo or /socket.io/
 *             (RFC 6455 §4.2.2)
 *          -> CONN_WS_CLOSING when we send a Close first (§7.1.2)
 *          -> CONN_DRAINING: flush what is queued, shut our side, read the
 *             peer's last bytes until EOF, then close (§7.1.1: the server
 *             closes TCP first)
 *
 * It never blocks: all sockets are non-blocking, output waits in a buffer
 * and POLLOUT is asked for only while that buffer is not empty.
 *
 * Performance, in three ideas: every read lands in one shared buffer and
 * every complete frame in it is handled before anything is written; each
 * connection's output is gathered and written once per loop turn; and the
 * pollfd array keeps busy connections at the front so that a wake-up
 * looks at those, not at 10,000 idle ones (see "The poll set").
 *
 * Simplifications, named: timers are checked on a 50 ms tick rather than
 * kept in a heap, so a deadline fires up to one tick late (the tick walks
 * every connection, 20 times a second, not on every wake-up); the
 * listener backs off for 100 ms when the fd table is full rather than
 * juggling a reserve descriptor; files are read with read(), not
 * sendfile().
 *
 * References: RFC 6455 §4.2, §5.5, §7.1; RFC 9110 §9.3.1-2 (GET, HEAD),
 * §15; RFC 9112 §9.3 (persistent connections), §9.6 (tear-down);
 * engine.io-protocol v4 "Transports / WebSocket" (the /socket.io/ query).
 */
#define _GNU_SOURCE /* accept4 */
#include "apps.h"
#include "http.h"
#include "hub.h"
#include "ws.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WSHUB_VERSION "0.1.0"

/* Limits and timings that have no flag. Each says what happens at it. */
#define DRAIN_TIMEOUT_MS 2000    /* peer silent after our FIN: close anyway */
#define SHUTDOWN_FLUSH_MS 1000   /* SIGTERM: time allowed to flush output */
#define ACCEPT_BACKOFF_MS 100    /* pause accepting after EMFILE/ENFILE */
#define TICK_MS 50               /* how often deadlines are checked */
#define SPIN_US 50               /* after a busy turn, poll without sleeping
                                  * this long before blocking in poll() */
#define SPIN_MAX_FDS 256         /* ...but only while the hot set is small */
#define COLD_TICKS 4             /* ticks without input before a connection
                                  * moves to the cold part of the poll set */
#define FULL_POLL_MS 10          /* how often the cold part is polled while
                                  * hot connections keep the loop busy... */
#define FULL_POLL_PER_MS 250     /* ...plus 1 ms per this many cold ones: a
                                  * full poll of 10,000 costs milliseconds */
#define IDLE_TICKS 20            /* ticks without traffic before a
                                  * connection's empty buffers are freed */
#define TRIM_AFTER (256 * 1024)  /* bytes freed in one tick that are worth
                                  * giving back to the kernel (glibc) */
#define READ_CHUNK (256 * 1024)  /* bytes read per readable event */
#define OUT_HIGH_WATER (1 << 20) /* stop reading while more is queued, or
                                  * half of --max-buffered if that is less */
#define FILE_CHUNK (64 * 1024)   /* bytes of a file queued at a time */
#define BUF_KEEP (64 * 1024)     /* an empty buffer bigger than this is freed */
#define TRACE_PREVIEW 80         /* payload bytes shown per frame by --trace */

/* ========================================================================
 * Options
 * ======================================================================== */

struct options {
    const char *host;      /* address to listen on */
    int port;              /* TCP port; 0 lets the kernel pick */
    const char *root;      /* folder of static files */
    bool trace;            /* print handshakes and frames on stdout */
    size_t max_message;    /* bytes; a bigger message closes with 1009 */
    size_t max_conns;      /* open connections; one more gets 503 */
    size_t max_buffered;   /* bytes others may queue to one client */
    const char *origins;   /* --origin list; NULL: same host only */
    int ping_interval;     /* ms between our pings on an idle WebSocket */
    int ping_timeout;      /* ms to wait for the pong */
    int request_timeout;   /* ms to finish a request (and the handshake) */
    int close_timeout;     /* ms to wait for the reply to our Close */
    int connect_timeout;   /* ms for a Socket.IO session to CONNECT */
    const char *app;       /* "chat" or "echo": the hub's application */
};

static const struct options default_options = {
    .host = "127.0.0.1",
    .port = 8080,
    .root = "www",
    .trace = false,
    .max_message = 1000000,
    .max_conns = 10000,
    .max_buffered = 4 << 20,
    .origins = NULL,
    .ping_interval = 25000,
    .ping_timeout = 20000,
    .request_timeout = 10000,
    .close_timeout = 5000,
    .connect_timeout = 45000,
    .app = "chat",
};

/* ========================================================================
 * Buffers
 * ======================================================================== */

/* A byte queue: live bytes are data[off .. off+len). Memory is allocated
 * on first use and given back when the queue empties, so an idle
 * connection holds no buffer at all. */
struct buf {
    uint8_t *data; /* malloc'd storage, or NULL while unused */
    size_t off;    /* start of the live bytes */
    size_t len;    /* number of live bytes */
    size_t cap;    /* bytes allocated at data */
};

/* Make room for n more bytes after the live ones. Returns 0, or -1 if
 * memory ran out (the buffer is unchanged). */
static int buf_reserve(struct buf *b, size_t n)
{
    if (b->cap - b->off - b->len >= n)
        return 0;
    if (b->off > 0) { /* slide the live bytes to the front first */
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        if (b->cap - b->len >= n)
            return 0;
    }
    if (n > SIZE_MAX / 2 - b->len)
        return -1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Append n bytes. Returns 0 or -1 (out of memory). */
static int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->off + b->len, p, n);
    b->len += n;
    return 0;
}

/* Drop n bytes from the front; free the storage once empty if it grew big. */
static void buf_consume(struct buf *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (b->len == 0) {
        b->off = 0;
        if (b->cap > BUF_KEEP) {
            free(b->data);
            b->data = NULL;
            b->cap = 0;
        }
    }
}

static void buf_free(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ========================================================================
 * Connections
 * ======================================================================== */

enum conn_state {
    CONN_HTTP,       /* reading HTTP requests, maybe sending a file */
    CONN_WS_OPEN,    /* WebSocket open: frames both ways */
    CONN_WS_CLOSING, /* we sent a Close and wait for the peer's */
    CONN_DRAINING,   /* flush output, then shut down and wait for EOF */
    CONN_DEAD        /* closed; freed at the end of this loop turn */
};

struct conn {
    int fd;                 /* non-blocking socket */
    enum conn_state state;  /* what the next bytes mean */
    size_t slot;            /* index of our entry in srv.pfds / srv.conns */
    char path[64];          /* last request-target, truncated, for logs */
    struct buf in;          /* bytes read but not yet parsed */
    struct buf out;         /* bytes queued for the socket */
    struct buf msg;         /* WebSocket message being reassembled */
    struct ws_rx rx;        /* frame decoder state (WebSocket only) */
    struct hub_session *session; /* Socket.IO session, or NULL (/echo) */
    int64_t deadline;       /* ms, monotonic; what it means depends on state */
    bool ping_sent;         /* WS_OPEN: a ping awaits its pong */
    bool keep_alive;        /* HTTP: read another request after this one */
    bool wr_shut;           /* DRAINING: our FIN has been sent */
    bool paused;            /* input held in c->in until output drains */
    uint8_t idle_ticks;     /* timer ticks since the last traffic */
    uint8_t quiet_ticks;    /* timer ticks since the client last sent */
    bool in_flush;          /* on srv.flush: the hub queued it output */
    struct conn *next_flush;/* link in srv.flush while in_flush */
    int file_fd;            /* file being sent, or -1 */
    uint64_t file_left;     /* bytes of file_fd still to queue */
    int status;             /* last HTTP status or WebSocket close code */
    const char *why;        /* static text: why it closed, for the log */
    struct conn *next_dead; /* link in srv.dead while state is CONN_DEAD */
};

static struct {
    struct options opt;
    int listen_fd;           /* the listening socket */
    struct pollfd *pfds;     /* [0] listener, [1..npfds) one per conn:
                              * hot ones in [1..nhot), cold after */
    struct conn **conns;     /* conns[i] owns pfds[i]; conns[0] unused */
    size_t npfds;            /* pfds in use, listener included */
    size_t nhot;             /* pfds[0..nhot) are polled on every turn */
    int64_t full_poll_due;   /* ms: when the cold part is next polled */
    struct conn *dead;       /* conns closed this turn, to be freed */
    struct conn *flush;      /* conns the hub wrote to this turn */
    char root[PATH_MAX];     /* realpath of --root */
    int64_t next_tick;       /* ms: when deadlines are next checked */
    int64_t accept_resume;   /* ms: listener paused until then; 0: not */
    bool accept_failing;     /* accept() hit EMFILE and has not recovered */
    int64_t stop_deadline;   /* ms: SIGTERM flush ends then; 0: running */
    struct conn *free_conns; /* recycled structs, linked by next_dead */
    struct conn_block *blocks; /* every block of structs, to free at exit */
    struct hub *hub;         /* the event hub behind /socket.io/ */
    struct chat *chat;       /* the chat application, with --app chat */
    size_t high_water;       /* bytes queued to a client before we stop
                              * reading its requests */
    uint8_t rbuf[READ_CHUNK];/* every read lands here first */
} srv;

static volatile sig_atomic_t stop_signal; /* set by SIGINT/SIGTERM */

/* ========================================================================
 * The connection pool
 *
 * Structs are carved from blocks of CONN_BLOCK and recycled through a
 * free list. 10,000 idle connections then cost 10,000 structs packed side
 * by side: no malloc header each, and no holes left between them by the
 * buffers that come and go during a handshake.
 * ======================================================================== */

#define CONN_BLOCK 256

struct conn_block {
    struct conn_block *next;
    struct conn conns[CONN_BLOCK];
};

/* A zeroed struct conn, or NULL if out of memory. */
static struct conn *conn_alloc(void)
{
    if (!srv.free_conns) {
        struct conn_block *b = malloc(sizeof *b);
        if (!b)
            return NULL;
        b->next = srv.blocks;
        srv.blocks = b;
        for (int i = CONN_BLOCK - 1; i >= 0; i--) {
            b->conns[i].next_dead = srv.free_conns;
            srv.free_conns = &b->conns[i];
        }
    }
    struct conn *c = srv.free_conns;
    srv.free_conns = c->next_dead;
    memset(c, 0, sizeof *c);
    return c;
}

static void conn_release(struct conn *c)
{
    c->next_dead = srv.free_conns;
    srv.free_conns = c;
}

static void format_peer(const struct sockaddr_storage *sa, char *out,
                        size_t cap);

/* "address:port" of c's client, for logs and --trace. Asked of the socket
 * each time rather than stored, to keep struct conn small. Returns a
 * static buffer, valid until the next call. */
static const char *peer_name(const struct conn *c)
{
    static char name[64];
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (getpeername(c->fd, (struct sockaddr *)&sa, &len) != 0)
        return "?";
    format_peer(&sa, name, sizeof name);
    return name;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
    return now_us() / 1000;
}

/* One line to stderr, prefixed with the connection's peer. */
static void conn_log(const struct conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "wshub: %s ", peer_name(c));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Mark a connection closed. The fd is closed and the close logged now;
 * the memory is freed by reap_dead() once the loop is done with it. */
static void conn_kill(struct conn *c, const char *why)
{
    if (c->state == CONN_DEAD)
        return;
    if (why)
        c->why = why;
    /* After our Close, the code and reason are the ones we sent; say so
     * if the peer never answered it. */
    conn_log(c, "close %s %d %s%s", c->path[0] ? c->path : "-", c->status,
             c->why ? c->why : "",
             c->state == CONN_WS_CLOSING ? " (no Close reply)" : "");
    close(c->fd);
    if (c->file_fd >= 0)
        close(c->file_fd);
    c->fd = -1;
    c->file_fd = -1;
    c->state = CONN_DEAD;
    c->next_dead = srv.dead;
    srv.dead = c;
}

/* ---- The poll set: hot and cold ------------------------------------------
 *
 * poll() costs time in proportion to the descriptors it is given, ready
 * or not. 10,000 idle connections would make every wake-up of a busy
 * server scan 10,000 entries. So the array is kept in two parts: hot
 * connections (traffic in the last COLD_TICKS ticks, or output pending)
 * at the front, polled on every turn; cold ones behind, polled with the
 * rest only every FULL_POLL_MS plus 1 ms per FULL_POLL_PER_MS of them
 * (10 ms with a few hundred, 50 ms with 10,000), or whenever nothing is
 * hot. A cold connection's first message after a quiet spell may thus
 * wait that long while others are busy; after that it is hot again.
 * Slots move only by swapping, so the array stays dense and no move
 * costs more than one swap. */

/* Put the connections of slots a and b in each other's place. */
static void swap_slots(size_t a, size_t b)
{
    struct pollfd p = srv.pfds[a];
    struct conn *c = srv.conns[a];
    srv.pfds[a] = srv.pfds[b];
    srv.conns[a] = srv.conns[b];
    srv.pfds[b] = p;
    srv.conns[b] = c;
    srv.conns[a]->slot = a;
    srv.conns[b]->slot = b;
}

static bool is_hot(const struct conn *c)
{
    return c->slot < srv.nhot;
}

/* Move a cold connection to the end of the hot part. */
static void make_hot(struct conn *c)
{
    if (!is_hot(c))
        swap_slots(c->slot, srv.nhot++);
}

/* Move a hot connection to the start of the cold part. */
static void make_cold(struct conn *c)
{
    if (is_hot(c))
        swap_slots(c->slot, --srv.nhot);
}

/* Free every connection killed this turn and give its poll slot to
 * another, so the pollfd array stays dense without a rebuild. */
static void reap_dead(void)
{
    while (srv.dead) {
        struct conn *c = srv.dead;
        srv.dead = c->next_dead;
        /* The hub may answer with broadcasts to others (presence, say);
         * it sends nothing more to this connection. Connections it sends
         * to that are dead too ignore it (conn_send checks). */
        if (c->session)
            hub_session_gone(c->session, "transport close");
        make_cold(c); /* now at the start of the cold part */
        swap_slots(c->slot, srv.npfds - 1);
        srv.npfds--;
        buf_free(&c->in);
        buf_free(&c->out);
        buf_free(&c->msg);
        conn_release(c);
    }
}

/* ========================================================================
 * --trace: the protocol, decoded, for learners
 * ======================================================================== */

/* Print up to TRACE_PREVIEW bytes as a C-style escaped string. */
static void trace_bytes(const uint8_t *p, size_t n)
{
    size_t show = n < TRACE_PREVIEW ? n : TRACE_PREVIEW;
    putchar('"');
    for (size_t i = 0; i < show; i++) {
        if (p[i] == '"' || p[i] == '\\')
            printf("\\%c", p[i]);
        else if (p[i] >= 0x20 && p[i] < 0x7F)
            putchar(p[i]);
        else
            printf("\\x%02x", p[i]);
    }
    putchar('"');
    if (show < n)
        printf("...");
}

/* One line per frame: direction, FIN, RSV, opcode, MASK and key, length,
 * payload preview. dir is "<-" for client-to-server, "->" for ours. */
static void trace_frame(const struct conn *c, const char *dir,
                        const struct ws_header *h, const uint8_t *payload,
                        size_t shown)
{
    printf("%s %s frame FIN=%d RSV=%d %s MASK=%d", peer_name(c), dir, h->fin,
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

static void trace_request(const struct conn *c, const struct http_request *req)
{
    static const char *const shown[] = {
        "Host", "Upgrade", "Connection", "Origin", "Sec-WebSocket-Key",
        "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Extensions",
    };
    printf("%s <- %.*s %.*s HTTP/1.%d\n", peer_name(c), (int)req->method_len,
           req->method, (int)req->target_len, req->target, req->minor_version);
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) {
        const struct http_header *h = http_find_header(req, shown[i], NULL);
        if (h)
            printf("%s <-   %s: %.*s\n", peer_name(c), shown[i], (int)h->value_len,
                   h->value);
    }
    fflush(stdout);
}

/* ========================================================================
 * Output: responses and frames
 * ======================================================================== */

/* Queue bytes for the socket. On out-of-memory the connection is killed
 * and -1 returned; callers just stop. */
static int conn_send(struct conn *c, const void *p, size_t n)
{
    if (c->state == CONN_DEAD)
        return -1;
    if (buf_append(&c->out, p, n) != 0) {
        c->status = WS_CLOSE_INTERNAL_ERROR;
        conn_kill(c, "out of memory");
        return -1;
    }
    return 0;
}

/* Queue one unmasked frame (§5.1: a server never masks). */
static int ws_send_frame(struct conn *c, int opcode, const uint8_t *p,
                         size_t n)
{
    uint8_t hdr[WS_MAX_HEADER];
    size_t hn = ws_write_header(hdr, true, opcode, n, NULL);
    if (srv.opt.trace) {
        struct ws_header h;
        ws_parse_header(hdr, hn, &h);
        trace_frame(c, "->", &h, p, n);
    }
    if (buf_reserve(&c->out, hn + n) != 0) {
        c->status = WS_CLOSE_INTERNAL_ERROR;
        conn_kill(c, "out of memory");
        return -1;
    }
    buf_append(&c->out, hdr, hn);
    buf_append(&c->out, p, n);
    return 0;
}

/* Queue a Close frame with code and a short reason, and record the code
 * for the log. The reason must be UTF-8 and at most 123 bytes (§5.5.1). */
static void ws_send_close(struct conn *c, uint16_t code, const char *reason)
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
    ws_send_frame(c, WS_OP_CLOSE, p, n + 2);
}

/* Stop taking requests or frames; flush, shut down, then close. */
static void conn_drain(struct conn *c)
{
    if (c->state == CONN_DEAD)
        return;
    c->state = CONN_DRAINING;
    c->deadline = now_ms() + DRAIN_TIMEOUT_MS;
    buf_consume(&c->in, c->in.len);
    buf_consume(&c->msg, c->msg.len);
}

/* Start the closing handshake ourselves (§7.1.2): send Close, then wait
 * up to --close-timeout for the peer's Close before dropping TCP. */
static void ws_start_close(struct conn *c, uint16_t code, const char *reason)
{
    if (c->state != CONN_WS_OPEN)
        return;
    ws_send_close(c, code, reason);
    if (c->state == CONN_DEAD)
        return;
    c->state = CONN_WS_CLOSING;
    c->deadline = now_ms() + srv.opt.close_timeout;
}

/* Queue a response head; the caller queues the body, if any. extra is
 * more header lines, each ending in CRLF, or "". */
static void http_send(struct conn *c, int status, const char *type,
                      uint64_t length, const char *extra)
{
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\n"
                     "Server: wshub/" WSHUB_VERSION "\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %llu\r\n"
                     "%s%s\r\n",
                     status, http_status_text(status), type,
                     (unsigned long long)length, extra,
                     c->keep_alive ? "" : "Connection: close\r\n");
    c->status = status;
    conn_send(c, hdr, (size_t)n);
}

/* Answer with an error page: the status line and the one-line reason.
 * Errors that leave the stream in doubt also close the connection. */
static void http_error(struct conn *c, int status, const char *why,
                       const char *extra, bool head_only)
{
    char body[160];
    int n = snprintf(body, sizeof body, "%d %s: %s\n", status,
                     http_status_text(status), why);
    if (status != 301 && status != 403 && status != 404 && status != 405)
        c->keep_alive = false; /* the stream itself may be in doubt */
    c->why = why;
    http_send(c, status, "text/plain; charset=utf-8", (uint64_t)n, extra);
    if (!head_only)
        conn_send(c, body, (size_t)n);
}

/* ========================================================================
 * HTTP: static files and the upgrade
 * ======================================================================== */

/* Queue the next chunk of the file being sent; close it when done. */
static void file_refill(struct conn *c)
{
    size_t want = c->file_left < FILE_CHUNK ? (size_t)c->file_left : FILE_CHUNK;
    if (buf_reserve(&c->out, want) != 0) {
        conn_kill(c, "out of memory");
        return;
    }
    ssize_t n = read(c->file_fd, c->out.data + c->out.off + c->out.len, want);
    if (n <= 0) { /* the file shrank or failed under us: the length is a lie */
        conn_kill(c, "file read failed");
        return;
    }
    c->out.len += (size_t)n;
    c->file_left -= (uint64_t)n;
    if (c->file_left == 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
}

/* Serve the file that path names under --root: 200 with the file, 301 to
 * add the slash a directory needs, 403 for anything that resolves outside
 * the root (a symlink, say), 404 if it does not exist. */
static void serve_file(struct conn *c, const struct http_request *req,
                       const char *path, bool head_only)
{
    char want[PATH_MAX], real[PATH_MAX];
    size_t plen = strlen(path);
    int n = snprintf(want, sizeof want, "%s%s%s", srv.root, path,
                     path[plen - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof want) {
        http_error(c, 414, "path too long", "", head_only);
        return;
    }
    if (!realpath(want, real)) {
        http_error(c, 404, "no such file", "", head_only);
        return;
    }
    /* The path had no ".." left, but a symlink inside the root may still
     * point out of it: only the resolved path tells. */
    size_t rlen = strlen(srv.root);
    if (strncmp(real, srv.root, rlen) != 0 || (real[rlen] != '/' && real[rlen] != '\0')) {
        http_error(c, 403, "path resolves outside the root", "", head_only);
        return;
    }
    struct stat st;
    if (stat(real, &st) != 0) {
        http_error(c, 404, "no such file", "", head_only);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        /* Relative links in /dir/index.html need the trailing slash.
         * Location is built from the raw target, which the parser allows
         * only printable ASCII into, so no header can be injected. */
        const char *q = memchr(req->target, '?', req->target_len);
        size_t pathpart = q ? (size_t)(q - req->target) : req->target_len;
        char loc[HTTP_MAX_REQUEST_LINE + 32];
        snprintf(loc, sizeof loc, "Location: %.*s/%.*s\r\n", (int)pathpart,
                 req->target, (int)(req->target_len - pathpart),
                 req->target + pathpart);
        http_error(c, 301, "directory needs a trailing slash", loc, head_only);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        http_error(c, 403, "not a regular file", "", head_only);
        return;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        http_error(c, 403, "cannot open file", "", head_only);
        return;
    }
    http_send(c, 200, http_mime_type(real), (uint64_t)st.st_size, "");
    c->why = "ok";
    if (head_only || st.st_size == 0) {
        close(fd);
        return;
    }
    c->file_fd = fd;
    c->file_left = (uint64_t)st.st_size;
    file_refill(c);
}

/* Answer the upgrade (§4.2.2), or refuse it with the status that
 * ws_check_upgrade chose. With socket_io, the new WebSocket carries an
 * Engine.IO session: the hub sends its open packet right behind the 101. */
static void serve_upgrade(struct conn *c, const struct http_request *req,
                          bool socket_io)
{
    assert(c->state == CONN_HTTP);
    char accept[WS_ACCEPT_LEN + 1];
    const char *why;
    int status = ws_check_upgrade(req, srv.opt.origins, accept, &why);
    if (status != 101) {
        http_error(c, status, why,
                   status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "", false);
        return;
    }
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "\r\n", accept);
    if (srv.opt.trace) {
        printf("%s -> HTTP/1.1 101 Switching Protocols\n", peer_name(c));
        printf("%s ->   Sec-WebSocket-Accept: %s"
               "  (base64 of SHA-1 of key + \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\")\n",
               peer_name(c), accept);
        fflush(stdout);
    }
    if (conn_send(c, resp, (size_t)n) != 0)
        return;
    c->state = CONN_WS_OPEN;
    c->status = 0;
    c->why = "open";
    memset(&c->rx, 0, sizeof c->rx);
    c->rx.max_message = srv.opt.max_message;
    c->deadline = now_ms() + srv.opt.ping_interval;
    c->ping_sent = false;
    conn_log(c, "websocket open %s", c->path);
    if (socket_io) {
        /* Engine.IO has its own heartbeat (pings "2", pongs "3"), run by
         * the hub, so no WebSocket-level pings on this connection. */
        c->deadline = 0;
        c->session = hub_session_open(srv.hub, c, now_ms());
        if (!c->session)
            ws_start_close(c, WS_CLOSE_INTERNAL_ERROR, "no session");
    }
}

/* Refuse an Engine.IO request the way the reference server does: 400
 * with {"code":N,"message":"..."} (engine.io's Server.errorMessages). */
static void engine_error(struct conn *c, int code, const char *message)
{
    char body[128];
    int n = snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"%s\"}",
                     code, message);
    c->keep_alive = false;
    c->why = message;
    http_send(c, 400, "application/json", (uint64_t)n, "");
    conn_send(c, body, (size_t)n);
}

/* GET /socket.io/?EIO=4&transport=websocket: check the query, then
 * upgrade. Only the WebSocket transport exists here; long-polling asks
 * are refused as "Transport unknown", and a sid (an upgrade from
 * polling) can name no session we know. Other parameters are ignored. */
static void serve_engine_io(struct conn *c, const struct http_request *req)
{
    const char *v;
    size_t n;
    if (http_query_param(req->target, req->target_len, "EIO", &v, &n) != 0 ||
        n != 1 || v[0] != '4') {
        engine_error(c, 5, "Unsupported protocol version");
        return;
    }
    if (http_query_param(req->target, req->target_len, "transport", &v, &n) != 0 ||
        n != 9 || memcmp(v, "websocket", 9) != 0) {
        engine_error(c, 0, "Transport unknown");
        return;
    }
    if (http_query_param(req->target, req->target_len, "sid", &v, &n) == 0) {
        engine_error(c, 1, "Session ID unknown");
        return;
    }
    serve_upgrade(c, req, true);
}

/* The browser client, built into the binary, so it is served whatever
 * --root is (as socket.io's serveClient option does). */
extern const unsigned char client_js[];
extern const size_t client_js_len;

static void serve_client_js(struct conn *c, bool head_only)
{
    http_send(c, 200, "text/javascript; charset=utf-8", client_js_len, "");
    c->why = "ok";
    if (!head_only)
        conn_send(c, client_js, client_js_len);
}

/* Route one parsed request. */
static void handle_request(struct conn *c, const struct http_request *req)
{
    assert(c->state == CONN_HTTP);
    size_t n = req->target_len < sizeof c->path - 1 ? req->target_len
                                                    : sizeof c->path - 1;
    memcpy(c->path, req->target, n);
    c->path[n] = '\0';
    if (srv.opt.trace)
        trace_request(c, req);

    /* Persistence, RFC 9112 §9.3: 1.1 keeps the connection unless told
     * "close"; 1.0 closes unless told "keep-alive". A request body we do
     * not read would be mistaken for the next request, so any body ends
     * the connection after the answer. */
    const struct http_header *h = http_find_header(req, "Connection", NULL);
    if (req->minor_version >= 1)
        c->keep_alive = !(h && http_has_token(h->value, h->value_len, "close", 5));
    else
        c->keep_alive = h && http_has_token(h->value, h->value_len, "keep-alive", 10);
    const struct http_header *cl = http_find_header(req, "Content-Length", NULL);
    if (http_find_header(req, "Transfer-Encoding", NULL) ||
        (cl && !(cl->value_len == 1 && cl->value[0] == '0')))
        c->keep_alive = false;

    bool get = http_method_is(req, "GET");
    bool head = http_method_is(req, "HEAD");
    /* RFC 9112 §3.2: a 1.1 request without exactly one Host is a 400. */
    int hosts;
    http_find_header(req, "Host", &hosts);
    if ((req->minor_version >= 1 && hosts != 1) || hosts > 1) {
        http_error(c, 400, "need exactly one Host header", "", head);
        return;
    }
    if (!get && !head) {
        http_error(c, 405, "only GET and HEAD are served",
                   "Allow: GET, HEAD\r\n", false);
        return;
    }
    char path[HTTP_MAX_REQUEST_LINE];
    const char *why;
    int status = http_decode_path(req->target, req->target_len, path,
                                  sizeof path, &why);
    if (status != 0) {
        http_error(c, status, why, "", head);
        return;
    }
    bool upgrade = http_find_header(req, "Upgrade", NULL) != NULL ||
                   http_find_header(req, "Sec-WebSocket-Key", NULL) != NULL;
    if (strcmp(path, "/echo") == 0) {
        serve_upgrade(c, req, false);
        return;
    }
    if (strcmp(path, "/socket.io/") == 0 || strcmp(path, "/socket.io") == 0) {
        serve_engine_io(c, req);
        return;
    }
    if (strcmp(path, "/socket.io/socket.io.js") == 0) {
        serve_client_js(c, head);
        return;
    }
    if (upgrade) {
        http_error(c, 404, "no WebSocket endpoint here (try /echo or /socket.io/)",
                   "", head);
        return;
    }
    serve_file(c, req, path, head);
}

/* Parse and answer every complete request in data. Returns bytes used.
 * Stops early while a file is still being sent (pipelined requests wait
 * their turn) or once the connection leaves the HTTP state. */
static size_t http_input(struct conn *c, uint8_t *data, size_t len)
{
    size_t used = 0;
    while (c->state == CONN_HTTP && c->file_fd < 0 && used < len) {
        struct http_request req;
        int n = http_parse_request((const char *)data + used, len - used, &req);
        if (n == HTTP_NEED_MORE)
            break;
        if (n == HTTP_ERROR) {
            c->keep_alive = false;
            http_error(c, req.status, req.why, "", false);
            conn_drain(c);
            return len;
        }
        used += (size_t)n;
        handle_request(c, &req);
        if (c->state == CONN_HTTP) {
            if (!c->keep_alive) {
                conn_drain(c);
                return len;
            }
            c->deadline = now_ms() + srv.opt.request_timeout;
        }
    }
    return used;
}

/* ========================================================================
 * WebSocket: frames in, echo out
 * ======================================================================== */

/* The peer broke the protocol: send the Close that says why, then go. */
static void ws_fail(struct conn *c, uint16_t code, const char *why)
{
    if (c->state == CONN_WS_OPEN)
        ws_send_close(c, code, why);
    c->status = code;
    c->why = why;
    conn_drain(c);
}

/* A complete message arrived: a Socket.IO session hands it to the hub;
 * /echo sends it straight back. */
static void on_message(struct conn *c, int opcode, const uint8_t *p, size_t n)
{
    assert(c->state == CONN_WS_OPEN);
    if (c->session)
        hub_session_message(c->session, opcode == WS_OP_BINARY, p, n, now_ms());
    else
        ws_send_frame(c, opcode, p, n);
}

/* Ping, pong or close (§5.5). */
static void on_control(struct conn *c, const struct ws_rx_event *ev)
{
    assert(c->state == CONN_WS_OPEN || c->state == CONN_WS_CLOSING);
    if (ev->opcode == WS_OP_PING) {
        /* §5.5.2: answer with a Pong carrying the same payload, unless we
         * are already closing (§5.5.1: nothing may follow our Close). */
        if (c->state == CONN_WS_OPEN)
            ws_send_frame(c, WS_OP_PONG, ev->data, ev->len);
        return;
    }
    if (ev->opcode == WS_OP_PONG) {
        /* §5.5.3: a Pong may be unsolicited; either way it shows life. */
        c->ping_sent = false;
        if (c->state == CONN_WS_OPEN && !c->session)
            c->deadline = now_ms() + srv.opt.ping_interval;
        return;
    }
    uint16_t code;
    const uint8_t *reason;
    size_t rlen;
    int bad = ws_parse_close(ev->data, ev->len, &code, &reason, &rlen);
    if (bad) {
        ws_fail(c, (uint16_t)bad, bad == WS_CLOSE_INVALID_DATA
                                      ? "close reason is not UTF-8"
                                      : "invalid close frame or code");
        return;
    }
    if (c->state == CONN_WS_OPEN) {
        /* §5.5.1: answer a Close with a Close, echoing its code; a Close
         * with no code is answered with 1000. */
        uint16_t reply = code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : code;
        ws_send_close(c, reply, "");
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
static size_t ws_input(struct conn *c, uint8_t *data, size_t len)
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
                printf("%s <- protocol error: %s -> close %u\n", peer_name(c),
                       ev.why, ev.close_code);
            ws_fail(c, ev.close_code, ev.why);
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
            ws_fail(c, WS_CLOSE_INTERNAL_ERROR, "out of memory");
            return len;
        }
        if (ev.msg_end) {
            on_message(c, ev.opcode, c->msg.data + c->msg.off, c->msg.len);
            buf_consume(&c->msg, c->msg.len);
        }
    }
    return used;
}

/* ========================================================================
 * Reading and writing
 * ======================================================================== */

/* Run the parsers over srv.rbuf[0..len) and keep what they did not use
 * in c->in: a partial header, or input held back (paused) while a file
 * or a large reply is still being written. */
static void conn_process(struct conn *c, size_t len)
{
    uint8_t *data = srv.rbuf;
    size_t used = 0;
    if (c->state == CONN_HTTP)
        used = http_input(c, data, len);
    if (c->state == CONN_WS_OPEN || c->state == CONN_WS_CLOSING)
        used += ws_input(c, data + used, len - used);
    if (c->state == CONN_DRAINING || c->state == CONN_DEAD || used == len)
        return;
    if (buf_append(&c->in, data + used, len - used) != 0) {
        conn_kill(c, "out of memory");
        return;
    }
    c->paused = c->out.len >= srv.high_water || c->file_fd >= 0;
}

/* Move the bytes held in c->in to the front of srv.rbuf. Returns how many. */
static size_t conn_take_held(struct conn *c)
{
    size_t have = c->in.len;
    if (have > 0)
        memcpy(srv.rbuf, c->in.data + c->in.off, have);
    buf_consume(&c->in, have);
    return have;
}

/* The socket is readable: read once into the shared buffer, behind any
 * bytes held from last time, and process it all. One read per wake-up
 * keeps one busy client from starving the others. */
static void conn_read(struct conn *c)
{
    size_t have = c->in.len;
    if (have >= READ_CHUNK) { /* cannot happen: c->in stays below this */
        conn_kill(c, "input buffer full");
        return;
    }
    ssize_t n = read(c->fd, srv.rbuf + have, READ_CHUNK - have);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        if (c->state == CONN_WS_OPEN) {
            c->status = WS_CLOSE_ABNORMAL;
            c->why = n == 0 ? "peer closed TCP without a Close frame"
                            : "read error";
        } else if (c->state == CONN_HTTP && c->why == NULL) {
            c->why = "peer closed";
        }
        conn_kill(c, NULL);
        return;
    }
    c->quiet_ticks = 0;
    if (c->state == CONN_DRAINING)
        return; /* the peer's last words are read and dropped */
    conn_take_held(c);
    conn_process(c, have + (size_t)n);
}

/* Write what is queued. Called whenever output may have grown, so most
 * replies leave in the same loop turn without waiting for POLLOUT. */
static void conn_write(struct conn *c)
{
    while (c->state != CONN_DEAD && c->out.len > 0) {
        ssize_t n = write(c->fd, c->out.data + c->out.off, c->out.len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            if (c->state == CONN_WS_OPEN)
                c->status = WS_CLOSE_ABNORMAL;
            conn_kill(c, "write failed (peer gone)");
            return;
        }
        buf_consume(&c->out, (size_t)n);
        if (c->out.len == 0 && c->file_fd >= 0)
            file_refill(c);
    }
    if (c->state == CONN_DRAINING && !c->wr_shut) {
        /* Everything is sent: our FIN tells the peer we are done. We then
         * read until its FIN, so that closing with unread data cannot
         * turn into a RST that destroys our last reply (RFC 9112 §9.6). */
        shutdown(c->fd, SHUT_WR);
        c->wr_shut = true;
        c->deadline = now_ms() + DRAIN_TIMEOUT_MS;
    }
}

/* After any work on c: write, resume held-back input if output has
 * drained, and ask poll() for exactly the events we can act on. */
static void conn_update(struct conn *c)
{
    c->idle_ticks = 0;
    conn_write(c);
    if (c->state == CONN_DEAD)
        return;
    if (c->paused && c->out.len < srv.high_water && c->file_fd < 0) {
        c->paused = false;
        conn_process(c, conn_take_held(c));
        conn_write(c);
        if (c->state == CONN_DEAD)
            return;
    }
    short ev = 0;
    if (c->out.len < srv.high_water && c->file_fd < 0)
        ev |= POLLIN;
    if (c->out.len > 0)
        ev |= POLLOUT;
    srv.pfds[c->slot].events = ev;
}

/* Have c updated (written, its poll events set) at the end of this loop
 * turn rather than now: for connections the hub writes to from inside
 * another's handler, for timers, and for cold connections that woke up. */
static void conn_later(struct conn *c)
{
    if (c->in_flush || c->state == CONN_DEAD)
        return;
    c->in_flush = true;
    c->next_flush = srv.flush;
    srv.flush = c;
}

/* The end of a loop turn: one write per connection that has output, only
 * for the connections touched. Those that sent us something, or could not
 * take all their output, are hot now; a client that only receives (a
 * broadcast's audience) and took it all stays cold. */
static void update_later_conns(void)
{
    while (srv.flush) {
        struct conn *c = srv.flush;
        srv.flush = c->next_flush;
        c->in_flush = false;
        if (c->state == CONN_DEAD)
            continue;
        conn_update(c);
        if (c->state != CONN_DEAD && (c->out.len > 0 || c->quiet_ticks == 0))
            make_hot(c);
    }
}

/* ========================================================================
 * The hub's transport: how the hub's frames reach a connection
 * ======================================================================== */

/* Queue a frame the hub built. For a broadcast the hub passes the same
 * bytes for every recipient; they are copied into each one's queue. A
 * connection that is closing or closed gets nothing (§5.5.1). */
static void transport_send(void *peer, const uint8_t *frame, size_t len)
{
    struct conn *c = peer;
    if (c->state != CONN_WS_OPEN)
        return;
    /* --max-buffered: a client that does not read cannot make us hold
     * broadcasts for it forever. Past the cap it gets no more frames but
     * a Close 1008, queued behind what it has not read; if it never reads
     * that either, --close-timeout drops TCP. Its own requests cannot
     * reach the cap: we stop reading from a client while srv.high_water
     * (at most half the cap) of replies wait. One frame bigger than the
     * cap may still go to a client whose queue is empty. */
    if (c->out.len > 0 && c->out.len + len > srv.opt.max_buffered) {
        ws_start_close(c, WS_CLOSE_POLICY, "output over --max-buffered");
        conn_later(c);
        return;
    }
    if (srv.opt.trace) {
        struct ws_header h;
        if (ws_parse_header(frame, len, &h) > 0)
            trace_frame(c, "->", &h, frame + h.size, (size_t)h.len);
    }
    /* Written at the end of this loop turn, once, with whatever else
     * the hub queues for it meanwhile: no extra trip through poll(). */
    if (conn_send(c, frame, len) == 0)
        conn_later(c);
}

/* The hub ends a session: start the WebSocket closing handshake. */
static void transport_close(void *peer, uint16_t code, const char *reason)
{
    struct conn *c = peer;
    ws_start_close(c, code, reason);
    conn_later(c);
}

static const struct hub_transport transport = {transport_send, transport_close};

/* ========================================================================
 * Accepting and timers
 * ======================================================================== */

static void format_peer(const struct sockaddr_storage *sa, char *out,
                        size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        port = ntohs(s4->sin_port);
        snprintf(out, cap, "%s:%d", host, port);
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        port = ntohs(s6->sin6_port);
        snprintf(out, cap, "[%s]:%d", host, port);
    }
}

/* Accept every pending connection. At --max-conns the newcomer gets 503
 * and is closed at once. When the process is out of descriptors accept()
 * fails with EMFILE while the connection stays queued, so poll() would
 * wake us at once forever: instead the listener sleeps ACCEPT_BACKOFF_MS. */
static void accept_all(void)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        int fd = accept4(srv.listen_fd, (struct sockaddr *)&sa, &salen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                if (!srv.accept_failing) /* one line per episode, not per try */
                    fprintf(stderr, "wshub: accept: %s; pausing %d ms at a time\n",
                            strerror(errno), ACCEPT_BACKOFF_MS);
                srv.accept_failing = true;
                srv.pfds[0].events = 0;
                srv.accept_resume = now_ms() + ACCEPT_BACKOFF_MS;
            }
            return; /* EAGAIN: no one else is waiting */
        }
        if (srv.accept_failing) {
            fprintf(stderr, "wshub: accept: working again\n");
            srv.accept_failing = false;
        }
        if (srv.npfds - 1 >= srv.opt.max_conns) {
            char peer[64];
            format_peer(&sa, peer, sizeof peer);
#define BUSY_BODY "503 Service Unavailable: server is at --max-conns\n"
            static const char busy[] =
                "HTTP/1.1 503 Service Unavailable\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Connection: close\r\n"
                "Content-Length: 50\r\n\r\n" BUSY_BODY;
            _Static_assert(sizeof BUSY_BODY - 1 == 50, "Content-Length");
            ssize_t w = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
            (void)w; /* best effort: the socket buffer is empty, so it fits */
            close(fd);
            fprintf(stderr, "wshub: %s refused 503 (--max-conns %zu reached)\n",
                    peer, srv.opt.max_conns);
            continue;
        }
        struct conn *c = conn_alloc();
        if (!c) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->file_fd = -1;
        c->state = CONN_HTTP;
        c->keep_alive = true;
        c->deadline = now_ms() + srv.opt.request_timeout;
        c->slot = srv.npfds++;
        srv.conns[c->slot] = c;
        srv.pfds[c->slot].fd = fd;
        srv.pfds[c->slot].events = POLLIN;
        srv.pfds[c->slot].revents = 0;
        make_hot(c); /* a request is on its way */
        conn_log(c, "open");
    }
}

/* A connection's deadline passed: what that means depends on its state. */
static void conn_timeout(struct conn *c, int64_t now)
{
    switch (c->state) {
    case CONN_HTTP:
        if (c->out.len > 0 || c->file_fd >= 0) {
            /* Still sending a reply: the clock is for requests. */
            c->deadline = now + srv.opt.request_timeout;
        } else if (c->in.len > 0) {
            c->keep_alive = false;
            http_error(c, 408, "no complete request in time (--request-timeout)",
                       "", false);
            conn_drain(c);
        } else {
            conn_kill(c, "idle timeout");
        }
        break;
    case CONN_WS_OPEN:
        if (!c->ping_sent) {
            /* §5.5.2: a Ping asks "are you still there?" */
            ws_send_frame(c, WS_OP_PING, NULL, 0);
            c->ping_sent = true;
            c->deadline = now + srv.opt.ping_timeout;
        } else {
            c->status = WS_CLOSE_ABNORMAL;
            conn_kill(c, "ping timeout");
        }
        break;
    case CONN_WS_CLOSING:
        conn_kill(c, NULL); /* logged with "(no Close reply)" */
        break;
    case CONN_DRAINING:
        conn_kill(c, NULL);
        break;
    case CONN_DEAD:
        break;
    }
}

/* Give back the buffers of a connection that has had no traffic for
 * IDLE_TICKS ticks (a second), so an idle connection costs its struct and
 * nothing more, while a busy one keeps its buffers and the hot path does
 * not allocate per message. */
static size_t release_idle_buffers(struct conn *c)
{
    size_t freed = 0;
    if (c->idle_ticks < IDLE_TICKS) {
        c->idle_ticks++;
        return 0;
    }
    struct buf *bufs[] = {&c->in, &c->out, &c->msg};
    for (int k = 0; k < 3; k++) {
        if (bufs[k]->len == 0 && bufs[k]->data) {
            freed += bufs[k]->cap;
            buf_free(bufs[k]);
        }
    }
    return freed;
}

/* Check every deadline and release idle buffers. Runs once per TICK_MS,
 * not once per wake-up. */
static void check_timers(int64_t now)
{
    size_t freed = 0;
    hub_tick(srv.hub, now);
    for (size_t i = 1; i < srv.npfds; i++) {
        struct conn *c = srv.conns[i];
        if (c->state == CONN_DEAD)
            continue;
        freed += release_idle_buffers(c);
        if (c->quiet_ticks < UINT8_MAX)
            c->quiet_ticks++;
        if (c->deadline != 0 && now >= c->deadline) {
            conn_timeout(c, now);
            conn_later(c);
        }
        /* Silent for COLD_TICKS with nothing to send: cold. The swap
         * brings a connection we have not looked at yet into slot i, so
         * look at slot i again. */
        bool quiet = c->quiet_ticks >= COLD_TICKS && c->out.len == 0 &&
                     c->file_fd < 0 && !c->paused && !c->in_flush;
        if (is_hot(c) && quiet && c->state != CONN_DEAD) {
            bool moved_other = c->slot != srv.nhot - 1;
            make_cold(c);
            if (moved_other)
                i--;
        }
    }
#ifdef __GLIBC__
    /* free() keeps memory in the process; after a burst of connections
     * the freed buffers sit between live structs, where the heap cannot
     * shrink. glibc can still hand whole free pages back to the kernel. */
    if (freed >= TRIM_AFTER)
        malloc_trim(0);
#endif
    if (srv.accept_resume != 0 && now >= srv.accept_resume &&
        srv.stop_deadline == 0) {
        srv.accept_resume = 0;
        srv.pfds[0].events = POLLIN;
    }
}

/* ========================================================================
 * Start-up, the loop, shut-down
 * ======================================================================== */

/* Bind and listen on host:port. Returns the socket, or -1 with a message
 * on stderr. */
static int listen_on(const char *host, int port)
{
    struct addrinfo hints = {0}, *res;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int err = getaddrinfo(host, portstr, &hints, &res);
    if (err != 0) {
        fprintf(stderr, "wshub: %s: %s\n", host, gai_strerror(err));
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    res->ai_protocol);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, 511) != 0) {
        fprintf(stderr, "wshub: listen on %s:%d: %s\n", host, port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* SIGINT/SIGTERM: stop accepting, send every WebSocket a 1001 Close, and
 * give output SHUTDOWN_FLUSH_MS to leave. */
static void begin_shutdown(int64_t now)
{
    fprintf(stderr, "wshub: shutting down\n");
    srv.stop_deadline = now + SHUTDOWN_FLUSH_MS;
    srv.pfds[0].events = 0;
    hub_shutdown(srv.hub); /* sockets hear "server shutting down" */
    for (size_t i = 1; i < srv.npfds; i++) {
        struct conn *c = srv.conns[i];
        if (c->state == CONN_WS_OPEN) {
            ws_start_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
            conn_update(c);
        } else if (c->state == CONN_HTTP && c->out.len == 0) {
            conn_kill(c, "server shutting down");
        }
    }
    reap_dead();
}

/* True once no connection has output left to send. */
static bool all_flushed(void)
{
    for (size_t i = 1; i < srv.npfds; i++) {
        if (srv.conns[i]->out.len > 0)
            return false;
    }
    return true;
}

static void run(void)
{
    int64_t last_busy = 0; /* us: when a turn last found work */
    srv.next_tick = now_ms() + TICK_MS;
    for (;;) {
        int64_t now = now_ms();
        if (stop_signal && srv.stop_deadline == 0)
            begin_shutdown(now);
        if (srv.stop_deadline != 0 && (all_flushed() || now >= srv.stop_deadline))
            return;

        int timeout = (int)(srv.next_tick - now);
        if (timeout < 0)
            timeout = 0;
        /* Poll the hot part only, unless nothing is hot or the cold
         * part is due (see "The poll set: hot and cold"). */
        bool full = srv.nhot <= 1 || now >= srv.full_poll_due;
        size_t npoll = full ? srv.npfds : srv.nhot;
        if (full)
            srv.full_poll_due = now + FULL_POLL_MS +
                                (int64_t)((srv.npfds - srv.nhot) / FULL_POLL_PER_MS);
        else if (timeout > srv.full_poll_due - now)
            timeout = (int)(srv.full_poll_due - now);
        /* Going to sleep in poll() and being woken costs tens of
         * microseconds (more in a virtual machine). Right after a turn
         * that had work, the next message is likely close behind, so we
         * look again without sleeping for SPIN_US first, as long as
         * looking is cheap (a small hot set). An idle server sleeps as
         * before; a busy one never gets here. */
        if (npoll <= SPIN_MAX_FDS && now_us() - last_busy < SPIN_US)
            timeout = 0;
        int ready = poll(srv.pfds, npoll, timeout);
        if (ready > 0)
            last_busy = now_us();
        if (ready < 0 && errno != EINTR) {
            perror("wshub: poll");
            return;
        }
        now = now_ms();

        /* No slot moves during this walk: connections are only marked
         * dead, and cold ones that woke up are made hot at the end. */
        for (size_t i = npoll - 1; ready > 0 && i >= 1; i--) {
            struct pollfd *p = &srv.pfds[i];
            struct conn *c = srv.conns[i];
            if (p->revents == 0 || c->state == CONN_DEAD)
                continue;
            if (p->revents & (POLLIN | POLLHUP | POLLERR))
                conn_read(c);
            if (c->state != CONN_DEAD)
                conn_update(c);
            if (!is_hot(c))
                conn_later(c);
        }
        if (srv.pfds[0].revents & POLLIN)
            accept_all();
        if (now >= srv.next_tick) {
            check_timers(now);
            srv.next_tick = now + TICK_MS;
        }
        /* Freeing a dead connection may make the hub write to others
         * (a "disconnect" handler tells the room), so repeat until both
         * lists are empty. */
        do {
            update_later_conns();
            reap_dead();
        } while (srv.flush);
    }
}

/* Close and free everything, so a leak checker reports real leaks only. */
static void cleanup(void)
{
    for (size_t i = 1; i < srv.npfds; i++)
        conn_kill(srv.conns[i], srv.stop_deadline ? "server shut down" : NULL);
    reap_dead();
    hub_free(srv.hub);
    chat_free(srv.chat);
    while (srv.blocks) {
        struct conn_block *b = srv.blocks;
        srv.blocks = b->next;
        free(b);
    }
    if (srv.listen_fd >= 0)
        close(srv.listen_fd);
    free(srv.pfds);
    free(srv.conns);
}

/* ========================================================================
 * Command line
 * ======================================================================== */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: wshub [options]\n"
        "A WebSocket server (RFC 6455) and Socket.IO v5 event hub: it serves\n"
        "files, echoes on /echo, and runs an application on /socket.io/.\n"
        "\n"
        "  --host ADDR           address to listen on (127.0.0.1)\n"
        "  --port N              TCP port, 0 picks a free one (8080)\n"
        "  --root DIR            folder of static files (www)\n"
        "  --trace               print handshakes and frames, decoded\n"
        "  --max-message BYTES   largest message; bigger closes 1009 (1000000)\n"
        "  --max-conns N         concurrent connections; more get 503 (10000)\n"
        "  --max-buffered BYTES  output others may queue to one client; past\n"
        "                        it the client is closed with 1008 (4194304)\n"
        "  --origin LIST         extra allowed Origins, comma-separated, or '*'\n"
        "                        (default: only the server's own Host)\n"
        "  --ping-interval MS    ping an open WebSocket (or Socket.IO session)\n"
        "                        this often (25000)\n"
        "  --ping-timeout MS     close if the pong takes longer (20000)\n"
        "  --request-timeout MS  time to send a whole request or handshake;\n"
        "                        after it: 408 and close (10000)\n"
        "  --close-timeout MS    wait this long for the reply to our Close (5000)\n"
        "  --app NAME            the Socket.IO application: chat or echo (chat)\n"
        "  --connect-timeout MS  close a Socket.IO session that has not joined\n"
        "                        a namespace in this time (45000)\n"
        "  --help, --version\n");
}

/* Parse a whole decimal number in [lo, hi]. Returns 0, or -1 with a
 * message on stderr. */
static int parse_num(const char *flag, const char *s, long long lo,
                     long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "wshub: %s wants a number from %lld to %lld, not '%s'\n",
                flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Fill opt from argv. Returns 0 to run, 1 if --help/--version was
 * answered, -1 on a bad flag. */
static int parse_args(int argc, char **argv, struct options *opt)
{
    enum { O_HOST = 256, O_PORT, O_ROOT, O_TRACE, O_MAXMSG, O_MAXCONNS, O_MAXBUF,
           O_ORIGIN, O_PINGI, O_PINGT, O_REQT, O_CLOSET, O_APP, O_CONNT,
           O_HELP, O_VERSION };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"root", required_argument, NULL, O_ROOT},
        {"trace", no_argument, NULL, O_TRACE},
        {"max-message", required_argument, NULL, O_MAXMSG},
        {"max-conns", required_argument, NULL, O_MAXCONNS},
        {"max-buffered", required_argument, NULL, O_MAXBUF},
        {"origin", required_argument, NULL, O_ORIGIN},
        {"ping-interval", required_argument, NULL, O_PINGI},
        {"ping-timeout", required_argument, NULL, O_PINGT},
        {"request-timeout", required_argument, NULL, O_REQT},
        {"close-timeout", required_argument, NULL, O_CLOSET},
        {"app", required_argument, NULL, O_APP},
        {"connect-timeout", required_argument, NULL, O_CONNT},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    *opt = default_options;
    int ch;
    long long v;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case O_HOST: opt->host = optarg; break;
        case O_ROOT: opt->root = optarg; break;
        case O_TRACE: opt->trace = true; break;
        case O_ORIGIN: opt->origins = optarg; break;
        case O_PORT:
            if (parse_num("--port", optarg, 0, 65535, &v)) return -1;
            opt->port = (int)v;
            break;
        case O_MAXMSG:
            if (parse_num("--max-message", optarg, 0, 1LL << 40, &v)) return -1;
            opt->max_message = (size_t)v;
            break;
        case O_MAXCONNS:
            if (parse_num("--max-conns", optarg, 1, 1000000, &v)) return -1;
            opt->max_conns = (size_t)v;
            break;
        case O_MAXBUF:
            if (parse_num("--max-buffered", optarg, 1024, 1LL << 40, &v)) return -1;
            opt->max_buffered = (size_t)v;
            break;
        case O_PINGI:
            if (parse_num("--ping-interval", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->ping_interval = (int)v;
            break;
        case O_PINGT:
            if (parse_num("--ping-timeout", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->ping_timeout = (int)v;
            break;
        case O_REQT:
            if (parse_num("--request-timeout", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->request_timeout = (int)v;
            break;
        case O_CLOSET:
            if (parse_num("--close-timeout", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->close_timeout = (int)v;
            break;
        case O_APP:
            if (strcmp(optarg, "chat") != 0 && strcmp(optarg, "echo") != 0) {
                fprintf(stderr, "wshub: --app is chat or echo, not '%s'\n", optarg);
                return -1;
            }
            opt->app = optarg;
            break;
        case O_CONNT:
            if (parse_num("--connect-timeout", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->connect_timeout = (int)v;
            break;
        case O_HELP: usage(stdout); return 1;
        case O_VERSION: printf("wshub " WSHUB_VERSION "\n"); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wshub: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int r = parse_args(argc, argv, &srv.opt);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if (!realpath(srv.opt.root, srv.root)) {
        fprintf(stderr, "wshub: --root %s: %s\n", srv.opt.root, strerror(errno));
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* A write to a closed socket must return EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);

    /* A client's own replies stop its reading at half the cap, so only
     * what others send it can push it over --max-buffered. */
    srv.high_water = OUT_HIGH_WATER;
    if (srv.high_water > srv.opt.max_buffered / 2)
        srv.high_water = srv.opt.max_buffered / 2;

    struct hub_options ho = {
        .ping_interval = srv.opt.ping_interval,
        .ping_timeout = srv.opt.ping_timeout,
        .connect_timeout = srv.opt.connect_timeout,
        .max_payload = srv.opt.max_message,
    };
    srv.hub = hub_new(&transport, &ho);
    if (!srv.hub) {
        fprintf(stderr, "wshub: cannot start the hub\n");
        return 1;
    }
    if (strcmp(srv.opt.app, "chat") == 0)
        srv.chat = chat_init(srv.hub);
    if ((strcmp(srv.opt.app, "chat") == 0 && !srv.chat) ||
        (strcmp(srv.opt.app, "echo") == 0 && echoapp_init(srv.hub) != 0)) {
        fprintf(stderr, "wshub: cannot start --app %s\n", srv.opt.app);
        return 1;
    }

    srv.listen_fd = listen_on(srv.opt.host, srv.opt.port);
    if (srv.listen_fd < 0)
        return 1;
    srv.pfds = calloc(srv.opt.max_conns + 1, sizeof *srv.pfds);
    srv.conns = calloc(srv.opt.max_conns + 1, sizeof *srv.conns);
    if (!srv.pfds || !srv.conns) {
        fprintf(stderr, "wshub: out of memory\n");
        return 1;
    }
    srv.pfds[0].fd = srv.listen_fd;
    srv.pfds[0].events = POLLIN;
    srv.npfds = 1;
    srv.nhot = 1; /* the listener is always polled */

    struct sockaddr_storage sa_bound;
    socklen_t salen = sizeof sa_bound;
    getsockname(srv.listen_fd, (struct sockaddr *)&sa_bound, &salen);
    char where[64];
    format_peer(&sa_bound, where, sizeof where);
    printf("wshub listening on http://%s\n", where);
    fflush(stdout);

    run();
    cleanup();
    return 0;
}
