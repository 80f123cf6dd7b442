/* server.c -- wshub's poll() loop: sockets, connections, timers and main()
 * SPDX-License-Identifier: MIT
 *
 * One process, one thread, one poll() loop. This file owns every socket:
 * it accepts TCP connections, reads bytes into buffers, hands them to the
 * file that understands them, and writes back what that file queued:
 *   web.c    answers HTTP requests (files, errors, CORS, the upgrade);
 *   wsconn.c speaks WebSocket frames once a connection is upgraded;
 *   engine.c carries Engine.IO sessions, over WebSocket or long-polling,
 *            between the network and the event hub (hub.c);
 *   ws.c and http.c are the pure parsers underneath.
 * Nobody else reads, writes or polls. conn.h is what the loop shares.
 * Bytes cross each socket through its conn_io(c) (conn.h): tcp_io below,
 * or tls_io (tls.c) when the listener speaks TLS; the loop is the same.
 *
 * Life of a connection (struct conn, state in enum conn_state):
 *   accept -> CONN_HTTP: read requests, answer files or errors, or hold
 *             a long-polling GET until its session has output
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
 * Time: every deadline -- a connection's, an Engine.IO session's, the
 * hub's -- is a timer in a min-heap (timer.c), poll() sleeps exactly
 * until the earliest, and a wake-up pops only the timers that are due.
 * An idle connection costs nothing per wake-up.
 *
 * Simplifications, named: the listener backs off for 100 ms when the fd
 * table is full rather than juggling a reserve descriptor; files are read
 * with read(), not sendfile().
 *
 * References: RFC 6455 §5.5 (control frames), §7.1 (closing); RFC 9112
 * §9.3 (persistent connections), §9.6 (tear-down).
 */
#define _GNU_SOURCE /* accept4 */
#include "apps.h"
#include "cluster.h"
#include "conn.h"
#include "history.h"
#include "hub.h"
#include "journal.h"
#include "metrics.h"
#include "pollset.h"
#include "pool.h"
#include "timer.h"
#include "tls.h"
#include "ws.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
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

/* Limits and timings that have no flag. Each says what happens at it. */
#define DRAIN_TIMEOUT_MS 2000    /* peer silent after our FIN: close anyway */
#define SHUTDOWN_FLUSH_MS 1000   /* SIGTERM: time allowed to flush output */
#define ACCEPT_BACKOFF_MS 100    /* pause accepting after EMFILE/ENFILE */
#define SPIN_US 50               /* after a busy turn, poll without sleeping
                                  * this long before blocking in poll() */
#define SPIN_MAX_FDS 256         /* ...but only while the hot set is small */
#define COLD_AFTER_MS 200        /* no input for this long, nothing queued:
                                  * the connection moves to the cold part */
#define COLD_BATCH 256           /* cold connections taken from epoll per
                                  * turn (the rest stay ready for the next) */
#define IDLE_FREE_MS 1000        /* no input for this long: a connection's
                                  * empty buffers are given back (one that
                                  * only receives re-allocates once a
                                  * second: cheaper than a field to tell) */
#define TRIM_AFTER (256 * 1024)  /* bytes freed in one tick that are worth
                                  * giving back to the kernel (glibc) */
#define TLS_SESSION_BYTES (32 * 1024) /* about what one TLS connection's
                                  * end frees, counted toward TRIM_AFTER */
#define READ_CHUNK (256 * 1024)  /* bytes read per readable event */
#define OUT_HIGH_WATER (1 << 20) /* stop reading while more is queued, or
                                  * half of --max-buffered if that is less */
#define BUF_KEEP (64 * 1024)     /* an empty buffer bigger than this is freed */
#define TRACE_PREVIEW 80         /* payload bytes shown per frame by --trace */

/* ========================================================================
 * Options
 * ======================================================================== */


/* ========================================================================
 * Buffers
 * ======================================================================== */

/* Make room for n more bytes after the live ones. Returns 0, or -1 if
 * memory ran out (the buffer is unchanged). */
int buf_reserve(struct buf *b, size_t n)
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
int buf_append(struct buf *b, const void *p, size_t n)
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
void buf_consume(struct buf *b, size_t n)
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

void buf_free(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ========================================================================
 * Connections
 * ======================================================================== */

struct server srv; /* what web.c and engine.c may see (conn.h) */

/* The loop's own state. */
static struct {
    int listen_fd;           /* the listening socket */
    struct pollset ps;       /* [0] the listener, then one per conn */
    struct timers timers;    /* every deadline of conns and sessions */
    int64_t now;             /* ms: the time this loop turn started */
    size_t freed;            /* buffer bytes freed since the last trim */
    struct conn *dead;       /* conns closed this turn, to be freed */
    struct conn *later;      /* conns to update at the end of the turn */
    struct timer accept_timer; /* the listener's pause after EMFILE */
    bool accept_failing;     /* accept() hit EMFILE and has not recovered */
    int64_t stop_deadline;   /* ms: SIGTERM flush ends then; 0: running */
    struct pool pool;        /* every struct conn (pool.h) */
    struct chat *chat;       /* the chat application, with --app chat */
    uint8_t rbuf[READ_CHUNK];/* every read lands here first */
} loop;

static volatile sig_atomic_t stop_signal; /* set by SIGINT/SIGTERM */
static volatile sig_atomic_t reload_signal; /* set by SIGHUP (with TLS) */
static sigset_t wait_mask; /* the signal mask while waiting in ppoll() */

/* ========================================================================
 * The connection pool
 *
 * Structs come from a pool (pool.c): 10,000 idle connections cost 10,000
 * structs packed side by side, with no malloc header each, and no holes
 * left between them by the buffers that come and go during a handshake.
 * ======================================================================== */

#define CONN_BLOCK 256 /* structs carved from one allocation */

static struct conn *conn_alloc(void)
{
    return pool_alloc(&loop.pool);
}

static void conn_release(struct conn *c)
{
    pool_release(&loop.pool, c);
}

static void format_peer(const struct in6_addr *addr, uint16_t port, char *out,
                        size_t cap);

/* "address:port" of c's client, for logs and --trace, from the address
 * accept() gave (getpeername() would fail by the time a close is logged,
 * when the peer has gone). Returns a static buffer, valid until the next
 * call. */
const char *conn_peer_name(const struct conn *c)
{
    static char name[64];
    format_peer(&c->peer, c->peer_port, name, sizeof name);
    return name;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_ms(void)
{
    return now_us() / 1000;
}

/* One line to stderr, prefixed with the connection's peer. */
void conn_log(const struct conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "wshub: %s ", conn_peer_name(c));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Mark a connection closed. The fd is closed and the close logged now;
 * the memory is freed by reap_dead() once the loop is done with it. */
void conn_kill(struct conn *c, const char *why)
{
    if (c->state == CONN_DEAD)
        return;
    if (why)
        c->why = why;
    /* After our Close, the code and reason are the ones we sent; say so
     * if the peer never answered it. */
    conn_log(c, "close %s %d %s%s%s", c->path[0] ? c->path : "-", c->status,
             c->why ? c->why : "",
             c->state == CONN_WS_CLOSING ? " (no Close reply)" : "",
             c->io_unclean_end ? " (no TLS close_notify)" : "");
    /* A WebSocket's close: open or closing, or draining after a Close
     * (then c->status is a close code, 1000 up; HTTP's are below 600). */
    if (c->state == CONN_WS_OPEN || c->state == CONN_WS_CLOSING ||
        (c->state == CONN_DRAINING && c->status >= 1000))
        metrics_ws_close(c->status);
    if (c->tls)
        loop.freed += TLS_SESSION_BYTES; /* what SSL_free gives back */
    conn_io(c)->close(c);
    close(c->fd);
    if (c->file_fd >= 0)
        close(c->file_fd);
    c->fd = -1;
    c->file_fd = -1;
    c->state = CONN_DEAD;
    c->next = loop.dead;
    loop.dead = c;
}

/* ---- The poll set: hot and cold ------------------------------------------
 *
 * poll() costs time in proportion to the descriptors it is given, ready
 * or not: 10,000 idle sockets cost 1.7 ms a call here, and a poll() that
 * sleeps on them takes 5.6 ms to wake when one has input. In a chat most
 * connections are idle most of the time, so pollset.c keeps two parts:
 * hot connections (input in the last COLD_AFTER_MS, or output pending),
 * which poll() is given on every turn, and cold ones, which an epoll
 * instance watches for us. The epoll descriptor is itself one of the
 * hot entries: it turns readable the moment any cold connection has
 * input, poll() returns, and pollset_cold_events() says which. So:
 *   - a poll() costs what the hot part costs, however many sit idle;
 *   - a quiet user's message wakes the loop as fast as a busy one's,
 *     whether the loop was asleep or busy with others.
 * A cold connection that wakes up is hot again until it falls quiet. */

/* Free every connection killed this turn and give its poll slot to
 * another, so the pollfd array stays dense without a rebuild. */
static void reap_dead(void)
{
    while (loop.dead) {
        struct conn *c = loop.dead;
        loop.dead = c->next;
        /* The hub may answer with broadcasts to others (presence, say);
         * it sends nothing more to this connection. Connections it sends
         * to that are dead too ignore it (conn_send checks). */
        if (c->role == ROLE_FAYE_HELD || c->role == ROLE_FAYE_WS)
            faye_conn_gone(c);
        else if (c->eio)
            engine_conn_gone(c);
        timers_cancel(&loop.timers, &c->timer);
        pollset_remove(&loop.ps, c);
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
void trace_bytes(const uint8_t *p, size_t n)
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

/* ========================================================================
 * Plain TCP: the simplest side of the seam (conn.h; TLS is in tls.c)
 * ======================================================================== */

static ssize_t tcp_read(struct conn *c, void *p, size_t n)
{
    return read(c->fd, p, n);
}

static ssize_t tcp_write(struct conn *c, const void *p, size_t n)
{
    return write(c->fd, p, n);
}

static int tcp_shutdown(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
    return 0;
}

static void tcp_close(struct conn *c)
{
    (void)c; /* nothing beside the descriptor, which the loop closes */
}

const struct conn_io tcp_io = {
    .read = tcp_read,
    .write = tcp_write,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
};

/* ========================================================================
 * Output
 * ======================================================================== */

/* Queue bytes for the socket. On out-of-memory the connection is killed
 * and -1 returned; callers just stop. */
int conn_send(struct conn *c, const void *p, size_t n)
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

/* Stop taking requests or frames; flush, shut down, then close. */
void conn_drain(struct conn *c)
{
    if (c->state == CONN_DEAD)
        return;
    c->state = CONN_DRAINING;
    c->deadline = now_ms() + DRAIN_TIMEOUT_MS;
    c->body_left = 0;
    buf_consume(&c->in, c->in.len);
    buf_consume(&c->msg, c->msg.len);
}

/* ========================================================================
 * Reading and writing
 * ======================================================================== */

/* Run the parsers over loop.rbuf[0..len) and keep what they did not use
 * in c->in: a partial header, or input held back (paused) while a file,
 * a held GET or a large reply is still being written. */
static void conn_process(struct conn *c, size_t len)
{
    uint8_t *data = loop.rbuf;
    size_t used = 0;
    if (c->state == CONN_HTTP)
        used = web_input(c, data, len);
    if (c->state == CONN_WS_OPEN || c->state == CONN_WS_CLOSING)
        used += conn_ws_input(c, data + used, len - used);
    if (c->state == CONN_DRAINING || c->state == CONN_DEAD || used == len)
        return;
    if (buf_append(&c->in, data + used, len - used) != 0) {
        conn_kill(c, "out of memory");
        return;
    }
    c->paused = c->out.len >= srv.high_water || conn_http_busy(c);
}

/* Move the bytes held in c->in to the front of loop.rbuf. Returns how many. */
static size_t conn_take_held(struct conn *c)
{
    size_t have = c->in.len;
    if (have > 0)
        memcpy(loop.rbuf, c->in.data + c->in.off, have);
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
    ssize_t n = conn_io(c)->read(c, loop.rbuf + have, READ_CHUNK - have);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        /* EPROTO: the stream has said why itself (a TLS handshake that
         * failed), and that reason is the one to log. */
        bool stream_said = n < 0 && errno == EPROTO;
        if (c->state == CONN_WS_OPEN) {
            c->status = WS_CLOSE_ABNORMAL;
            if (!stream_said)
                c->why = n == 0 ? "peer closed TCP without a Close frame"
                                : "read error";
        } else if (c->state == CONN_HTTP && c->why == NULL) {
            c->why = "peer closed";
        }
        conn_kill(c, NULL);
        return;
    }
    c->last_input = loop.now;
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
        ssize_t n = conn_io(c)->write(c, c->out.data + c->out.off, c->out.len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->blocked = true;
                return;
            }
            if (errno == EINTR)
                return;
            if (c->state == CONN_WS_OPEN)
                c->status = WS_CLOSE_ABNORMAL;
            conn_kill(c, "write failed (peer gone)");
            return;
        }
        buf_consume(&c->out, (size_t)n);
        if (c->out.len == 0)
            c->blocked = false;
        if (c->out.len == 0 && c->file_fd >= 0)
            web_file_refill(c);
    }
    if (c->state == CONN_DRAINING && !c->wr_shut) {
        /* Everything is sent: our FIN tells the peer we are done. We then
         * read until its FIN, so that closing with unread data cannot
         * turn into a RST that destroys our last reply (RFC 9112 §9.6). */
        if (conn_io(c)->shutdown(c) != 0)
            return; /* TLS: no room for close_notify yet; POLLOUT again */
        c->wr_shut = true;
        c->deadline = now_ms() + DRAIN_TIMEOUT_MS;
    }
}

/* True while c should be read: its output is below the high-water mark
 * and no file is being sent (conn_update asks poll() for POLLIN then). */
static bool conn_takes_input(const struct conn *c)
{
    return c->out.len < srv.high_water && c->file_fd < 0;
}

/* True while c holds memory it could give back: any buffer allocated. */
static bool conn_has_buffers(const struct conn *c)
{
    return c->in.data || c->out.data || c->msg.data;
}

/* Arm c's timer for the earliest thing that can happen to it with no
 * input: its state's deadline (c->deadline), falling cold, or giving its
 * buffers back. Lazily (timer.h): a timer that is due earlier than
 * needed is left alone to fire, and set again then, so the many calls
 * that only move a time later cost no heap work. */
static void conn_arm(struct conn *c)
{
    int64_t next = c->deadline ? c->deadline : INT64_MAX;
    if (pollset_is_hot(&loop.ps, c) && c->last_input + COLD_AFTER_MS < next)
        next = c->last_input + COLD_AFTER_MS;
    if (conn_has_buffers(c) && c->last_input + IDLE_FREE_MS < next)
        next = c->last_input + IDLE_FREE_MS;
    if (next == INT64_MAX)
        timers_cancel(&loop.timers, &c->timer);
    else if ((!timer_armed(&c->timer) || next < c->timer.when) &&
             timers_set(&loop.timers, &c->timer, next) != 0)
        conn_kill(c, "out of memory"); /* no deadline could ever end it */
}

/* After any work on c: write, resume held-back input if output has
 * drained, ask poll() for exactly the events we can act on, and set the
 * timer for what comes next. */
static void conn_update(struct conn *c)
{
    conn_write(c);
    if (c->state == CONN_DEAD)
        return;
    if (c->paused && c->out.len < srv.high_water && !conn_http_busy(c)) {
        c->paused = false;
        conn_process(c, conn_take_held(c));
        conn_write(c);
        if (c->state == CONN_DEAD)
            return;
    }
    /* A TLS write that waits for input waits on POLLIN, not POLLOUT
     * (which would be ready at once, and again, and again). */
    /* And a TLS read that waits to write waits on POLLOUT alone: input
     * that is ready would only wake it to find the socket still full. */
    short ev = 0;
    if ((conn_takes_input(c) && !(c->io_wait & IO_READ_WANTS_OUT)) ||
        (c->io_wait & IO_WRITE_WANTS_IN))
        ev |= POLLIN;
    if ((c->out.len > 0 && !(c->io_wait & IO_WRITE_WANTS_IN)) ||
        (c->io_wait & (IO_READ_WANTS_OUT | IO_SHUTDOWN_WANTS_OUT)))
        ev |= POLLOUT;
    pollset_set_events(&loop.ps, c, ev);
    if (c->io_more && conn_takes_input(c))
        conn_later(c); /* input poll() cannot see: update_later reads it */
    conn_arm(c);
}

/* The request that held c's input back is answered: process what waits
 * in c->in at the end of this turn (not now: the caller may be in the
 * middle of another connection's bytes in loop.rbuf). */
void conn_resume(struct conn *c)
{
    if (c->state == CONN_DEAD)
        return;
    c->paused = c->in.len > 0;
    conn_later(c);
}

/* Have c updated (written, its poll events set) at the end of this loop
 * turn rather than now: for connections the hub writes to from inside
 * another's handler, for timers, and for cold connections that woke up. */
void conn_later(struct conn *c)
{
    if (c->later || c->state == CONN_DEAD)
        return;
    c->later = true;
    c->next_later = loop.later;
    loop.later = c;
}

/* The end of a loop turn: one write per connection that has output, only
 * for the connections touched. Those that sent us something this turn,
 * or could not take all their output, are hot now; a client that only
 * receives (a broadcast's audience) and took it all stays cold. */
static void update_later(void)
{
    while (loop.later) {
        struct conn *c = loop.later;
        loop.later = c->next_later;
        c->later = false;
        if (c->state == CONN_DEAD)
            continue;
        if (!pollset_is_hot(&loop.ps, c) &&
            (c->out.len > 0 || c->last_input == loop.now)) {
            pollset_heat(&loop.ps, c);
            if (srv.opt.trace) {
                printf("%s    poll set: hot\n", conn_peer_name(c));
                fflush(stdout);
            }
        }
        if (c->io_more && conn_takes_input(c)) {
            conn_read(c);
            if (c->state == CONN_DEAD)
                continue;
        }
        conn_update(c);
    }
}

/* ========================================================================
 * Accepting and timers
 * ======================================================================== */

/* Keep sa's address in 18 bytes: as IPv6, an IPv4 one mapped into
 * ::ffff:0:0/96 (RFC 4291 §2.5.5.2), and its port in host order. */
static void peer_store(const struct sockaddr_storage *sa, struct in6_addr *addr,
                       uint16_t *port)
{
    memset(addr, 0, sizeof *addr);
    *port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        addr->s6_addr[10] = addr->s6_addr[11] = 0xff;
        memcpy(&addr->s6_addr[12], &s4->sin_addr, 4);
        *port = ntohs(s4->sin_port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        *addr = s6->sin6_addr;
        *port = ntohs(s6->sin6_port);
    }
}

/* "1.2.3.4:port" or "[::1]:port". */
static void format_peer(const struct in6_addr *addr, uint16_t port, char *out,
                        size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (IN6_IS_ADDR_V4MAPPED(addr)) {
        inet_ntop(AF_INET, &addr->s6_addr[12], host, sizeof host);
        snprintf(out, cap, "%s:%u", host, port);
    } else {
        inet_ntop(AF_INET6, addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, port);
    }
}

static void conn_fire(struct timer *t, int64_t now);

/* The listener's pause after EMFILE is over: listen again. */
static void accept_fire(struct timer *t, int64_t now)
{
    (void)t;
    (void)now;
    if (loop.stop_deadline == 0)
        loop.ps.pfds[0].events = POLLIN;
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
        int fd = accept4(loop.listen_fd, (struct sockaddr *)&sa, &salen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                if (!loop.accept_failing) /* one line per episode, not per try */
                    fprintf(stderr, "wshub: accept: %s; pausing %d ms at a time\n",
                            strerror(errno), ACCEPT_BACKOFF_MS);
                loop.accept_failing = true;
                loop.ps.pfds[0].events = 0;
                timers_set(&loop.timers, &loop.accept_timer,
                           loop.now + ACCEPT_BACKOFF_MS);
            }
            return; /* EAGAIN: no one else is waiting */
        }
        if (loop.accept_failing) {
            fprintf(stderr, "wshub: accept: working again\n");
            loop.accept_failing = false;
        }
        if (pollset_full(&loop.ps)) {
            char peer[64];
            struct in6_addr addr;
            uint16_t port;
            peer_store(&sa, &addr, &port);
            format_peer(&addr, port, peer, sizeof peer);
            if (srv.opt.tls_cert) { /* a plain 503 would be noise to TLS */
                close(fd);
                fprintf(stderr, "wshub: %s refused (--max-conns %zu reached)\n",
                        peer, srv.opt.max_conns);
                continue;
            }
#define BUSY_BODY "503 Service Unavailable: server is at --max-conns\n"
            static const char busy[] =
                "HTTP/1.1 503 Service Unavailable\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Connection: close\r\n"
                "Content-Length: 50\r\n\r\n" BUSY_BODY;
            _Static_assert(sizeof BUSY_BODY - 1 == 50, "Content-Length");
            ssize_t w = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
            (void)w; /* best effort: the socket buffer is empty, so it fits */
            metrics_http_response(503);
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
        peer_store(&sa, &c->peer, &c->peer_port);
        if (srv.opt.tls_cert && tls_attach(c) != 0) {
            close(fd);
            conn_release(c);
            continue;
        }
        c->file_fd = -1;
        c->state = CONN_HTTP;
        c->keep_alive = true;
        c->deadline = loop.now + srv.opt.request_timeout;
        c->last_input = loop.now;
        c->timer.fire = conn_fire;
        pollset_add(&loop.ps, c, fd); /* hot: a request is on its way */
        conn_arm(c);
        conn_log(c, "open");
    }
}

/* A connection's deadline passed: what that means depends on its state. */
static void conn_timeout(struct conn *c, int64_t now)
{
    switch (c->state) {
    case CONN_HTTP:
        if (!tls_handshake_done(c)) {
            /* The clock has run since the accept: a handshake that
             * stopped halfway, or a ClientHello trickled too slowly. */
            metrics_tls_handshake(false);
            conn_kill(c, "TLS handshake not finished in time (--request-timeout)");
        } else if (c->out.len > 0 || c->file_fd >= 0) {
            /* Still sending a reply: the clock is for requests. */
            c->deadline = now + srv.opt.request_timeout;
        } else if (c->in.len > 0 || c->msg.len > 0) {
            /* A head or a body still arriving: a slowloris, or a slow
             * client; either way the request is late. */
            c->keep_alive = false;
            web_error(c, 408, "no complete request in time (--request-timeout)",
                       "", false);
            conn_drain(c);
        } else {
            conn_kill(c, "idle timeout");
        }
        break;
    case CONN_WS_OPEN:
        if (!c->ping_sent) {
            /* §5.5.2: a Ping asks "are you still there?" */
            conn_ws_send_frame(c, WS_OP_PING, NULL, 0);
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

/* Give back the empty buffers of a connection that has sent nothing
 * for IDLE_FREE_MS, so an idle connection costs its struct and nothing
 * more, while a busy one keeps its buffers and the hot path does not
 * allocate per message. Returns the bytes freed. */
static size_t release_idle_buffers(struct conn *c)
{
    size_t freed = 0;
    struct buf *bufs[] = {&c->in, &c->out, &c->msg};
    for (int k = 0; k < 3; k++) {
        if (bufs[k]->len == 0 && bufs[k]->data) {
            freed += bufs[k]->cap;
            buf_free(bufs[k]);
        }
    }
    return freed;
}

/* c's timer is due (conn_arm chose the earliest of three things): its
 * deadline may have passed, it may have been quiet long enough to go
 * cold, or idle long enough to give its buffers back. Whatever is not
 * due yet is armed again by conn_update. */
static void conn_fire(struct timer *t, int64_t now)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    if (c->state == CONN_DEAD)
        return;
    if (c->deadline != 0 && now >= c->deadline)
        conn_timeout(c, now);
    if (c->state == CONN_DEAD)
        return;
    bool quiet = now - c->last_input >= COLD_AFTER_MS && c->out.len == 0 &&
                 c->file_fd < 0 && !c->paused && !c->later;
    if (quiet && pollset_is_hot(&loop.ps, c)) {
        /* The kernel may refuse to watch one more descriptor (its
         * fs.epoll.max_user_watches); kept hot, c would come back here
         * on every turn, so it is closed, with the reason logged. */
        if (pollset_cool(&loop.ps, c) != 0) {
            conn_kill(c, errno == ENOSPC ? "epoll watch limit reached" : "out of memory");
            return;
        }
        if (srv.opt.trace) {
            printf("%s    poll set: cold (no input for %d ms)\n",
                   conn_peer_name(c), COLD_AFTER_MS);
            fflush(stdout);
        }
    }
    if (now - c->last_input >= IDLE_FREE_MS)
        loop.freed += release_idle_buffers(c);
    conn_later(c);
}

/* Run every timer that is due: connections', Engine.IO sessions' (both
 * in loop.timers) and the hub's. Costs one step per timer that fires. */
static void run_timers(int64_t now)
{
    struct timer *t;
    while ((t = timers_pop(&loop.timers, now)) != NULL)
        t->fire(t, now);
    hub_tick(srv.hub, now);
    faye_tick(now);
#ifdef __GLIBC__
    /* free() keeps memory in the process; after a burst of connections
     * the freed buffers sit between live structs, where the heap cannot
     * shrink. glibc can still hand whole free pages back to the kernel. */
    if (loop.freed >= TRIM_AFTER) {
        malloc_trim(0);
        loop.freed = 0;
    }
#endif
}

/* When a ping every `interval` ms, last sent (or answered) at `now`, is
 * next due: now + interval, rounded up to a grid of about interval/64 ms
 * (a power of two). 10,000 connections ping every 25 s, 400 a second;
 * each wake-up of a loop with 10,000 descriptors costs milliseconds, so
 * on a 256 ms grid their pings share four wake-ups a second instead. A
 * ping that is at most 1/64 of its interval late harms nobody. Only
 * pings are rounded: a deadline that ends a connection fires when due. */
int64_t loop_ping_time(int64_t now, int interval)
{
    int64_t grid = 1;
    while (grid * 2 <= interval / 64)
        grid *= 2;
    return (now + interval + grid - 1) / grid * grid;
}

/* The loop's timers, for engine.c: set t to fire at `when` (ms), or
 * cancel it. */
void loop_timer_set(struct timer *t, int64_t when)
{
    timers_set(&loop.timers, t, when);
}

void loop_timer_cancel(struct timer *t)
{
    timers_cancel(&loop.timers, t);
}

/* The open connections, for /metrics: WebSockets (open or closing),
 * long-polling requests in flight (an Engine.IO GET or POST, a held
 * Bayeux connect), and every other HTTP connection, draining ones too.
 * One look at each connection: a scrape costs what --max-conns costs. */
void loop_count_conns(size_t *http, size_t *websocket, size_t *polling)
{
    *http = *websocket = *polling = 0;
    for (size_t i = loop.ps.nfixed; i < loop.ps.n; i++) {
        const struct conn *c = loop.ps.owners[i];
        if (c->state == CONN_DEAD)
            continue; /* closed this turn, not yet freed */
        if (c->state == CONN_WS_OPEN || c->state == CONN_WS_CLOSING)
            (*websocket)++;
        else if (c->role == ROLE_POLL_GET || c->role == ROLE_POLL_POST ||
                 c->role == ROLE_FAYE_HELD)
            (*polling)++;
        else
            (*http)++;
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

static void on_hangup(int sig)
{
    reload_signal = sig;
}

/* Wait for events on the first n entries, at most timeout ms (-1: no
 * limit). SIGINT and SIGTERM are blocked everywhere but here: ppoll()
 * unblocks them only for the wait, atomically, so a signal that comes
 * just after the loop looked at stop_signal cannot be missed (with plain
 * poll() it would wait, perhaps forever, with the signal already
 * handled). The handler's only effect is to end the wait with EINTR. */
static int wait_poll(size_t n, int timeout)
{
    struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000};
    return ppoll(loop.ps.pfds, n, timeout < 0 ? NULL : &ts, &wait_mask);
}

/* SIGINT/SIGTERM: stop accepting, end every Engine.IO session, send every
 * WebSocket a 1001 Close, and give output SHUTDOWN_FLUSH_MS to leave. */
static void begin_shutdown(int64_t now)
{
    fprintf(stderr, "wshub: shutting down\n");
    loop.stop_deadline = now + SHUTDOWN_FLUSH_MS;
    loop.ps.pfds[0].events = 0;
    engine_shutdown(); /* sockets hear "server shutting down" */
    engine_end_of_turn(); /* held GETs get their answer now */
    for (size_t i = loop.ps.nfixed; i < loop.ps.n; i++) {
        struct conn *c = loop.ps.owners[i];
        if (c->state == CONN_WS_OPEN) {
            conn_ws_start_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
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
    for (size_t i = loop.ps.nfixed; i < loop.ps.n; i++) {
        if (loop.ps.owners[i]->out.len > 0)
            return false;
    }
    return true;
}

/* Act on the events poll() or epoll found for c: read, then write and
 * set its poll events. A cold connection that woke up is made hot at the
 * end of the turn (update_later), since slots may not move now. */
static void handle_conn(struct conn *c, short revents)
{
    if (revents == 0 || c->state == CONN_DEAD)
        return;
    if ((revents & (POLLIN | POLLHUP | POLLERR)) ||
        ((revents & POLLOUT) && (c->io_wait & IO_READ_WANTS_OUT)))
        conn_read(c);
    if (c->state != CONN_DEAD)
        conn_update(c);
    if (!pollset_is_hot(&loop.ps, c))
        conn_later(c);
}

/* Handle the events of one poll(): the hot part's slots from the bottom
 * up, since connections accepted earlier sit lower and two requests that
 * arrive together should be handled in the order they came; then up to
 * COLD_BATCH cold connections that the epoll instance reports. No slot
 * moves during this: connections are only marked dead or queued for
 * later. */
static void handle_events(size_t nhot)
{
    for (size_t i = loop.ps.nfixed; i < nhot; i++)
        handle_conn(loop.ps.owners[i], loop.ps.pfds[i].revents);
    if (loop.ps.pfds[loop.ps.cold_slot].revents & POLLIN) {
        struct conn *woke[COLD_BATCH];
        size_t n = pollset_cold_events(&loop.ps, woke, COLD_BATCH);
        for (size_t k = 0; k < n; k++)
            handle_conn(woke[k], loop.ps.pfds[woke[k]->slot].revents);
    }
}

/* The loop. Each turn: poll, for no longer than until the earliest
 * deadline; handle what is ready; run the timers that are due; then
 * write, once, to every connection that has output. Returns 0 after a
 * shutdown, -1 if poll() itself failed. */
static int run(void)
{
    int64_t last_busy = 0; /* us: when a turn last found work */
    for (;;) {
        loop.now = now_ms();
        if (stop_signal && loop.stop_deadline == 0)
            begin_shutdown(loop.now);
        if (reload_signal) {
            reload_signal = 0;
            tls_reload(); /* new connections get the new pair */
        }
        if (loop.stop_deadline != 0 &&
            (all_flushed() || loop.now >= loop.stop_deadline))
            return 0;

        /* Sleep no longer than until the earliest deadline. */
        int64_t next = timers_next(&loop.timers);
        int64_t hub_next = hub_next_timer(srv.hub);
        if (hub_next < next)
            next = hub_next;
        int64_t faye_next = faye_next_deadline();
        if (faye_next < next)
            next = faye_next;
        if (loop.stop_deadline != 0 && loop.stop_deadline < next)
            next = loop.stop_deadline;
        int timeout = next == INT64_MAX ? -1
                      : next <= loop.now ? 0
                      : next - loop.now > INT_MAX ? INT_MAX : (int)(next - loop.now);
        /* Going to sleep in poll() and being woken costs tens of
         * microseconds (more in a virtual machine). Right after a turn
         * that had work, the next message is likely close behind, so we
         * look again without sleeping for SPIN_US first, as long as
         * looking is cheap (a small hot set). */
        bool spin = loop.ps.nhot <= SPIN_MAX_FDS && now_us() - last_busy < SPIN_US;

        /* One poll() on the hot part, which includes the epoll
         * descriptor for the cold part (see "The poll set"). */
        size_t hot = loop.ps.nhot;
        int ready = wait_poll(hot, spin ? 0 : timeout);
        if (ready < 0 && errno != EINTR) {
            perror("wshub: poll");
            return -1;
        }
        if (ready > 0)
            last_busy = now_us();
        loop.now = now_ms();
        if (ready > 0) {
            handle_events(hot);
            if (loop.ps.pfds[0].revents & POLLIN)
                accept_all();
            if (srv.opt.redis)
                cluster_io(loop.ps.pfds + 1);
        }
        run_timers(loop.now);
        /* Freeing a dead connection may make the hub write to others
         * (a "disconnect" handler tells the room), so repeat until
         * nothing is left to answer, write or free. */
        do {
            faye_end_of_turn(); /* what was published this turn goes out */
            engine_end_of_turn();
            update_later();
            reap_dead();
        } while (loop.later || engine_pending());
    }
}

/* Close and free everything, so a leak checker reports real leaks only. */
static void cleanup(void)
{
    for (size_t i = loop.ps.nfixed; i < loop.ps.n; i++)
        conn_kill(loop.ps.owners[i], loop.stop_deadline ? "server shut down" : NULL);
    reap_dead();
    cluster_free();
    engine_free();
    faye_free();
    admin_free();
    chat_close_data(loop.chat); /* its sync timer is the hub's: first */
    hub_free(srv.hub);
    chat_free(loop.chat);
    pool_free(&loop.pool);
    tls_free();
    if (loop.listen_fd >= 0)
        close(loop.listen_fd);
    pollset_free(&loop.ps);
    timers_free(&loop.timers);
}

/* What /metrics reads from the chat at scrape time (metrics.h): its
 * rooms, and whether its journal can still be written. */
static size_t rooms_now(void *chat)
{
    return chat_history(chat)->nrooms;
}

static bool journal_ok(void)
{
    return chat_data_healthy(loop.chat);
}

int main(int argc, char **argv)
{
    int r = options_parse(argc, argv, &srv.opt);
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
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: ppoll() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    /* Blocked from now on, except inside ppoll() (see wait_poll()). */
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    if (srv.opt.tls_cert) {
        /* SIGHUP reloads the certificate. Without TLS it keeps its
         * default meaning: the terminal went away, so do we. */
        sa.sa_handler = on_hangup;
        sigaction(SIGHUP, &sa, NULL);
        sigaddset(&stops, SIGHUP);
    }
    sigprocmask(SIG_BLOCK, &stops, &wait_mask);

    /* A client's own replies stop its reading at half the cap, so only
     * what others send it can push it over --max-buffered. */
    srv.high_water = OUT_HIGH_WATER;
    if (srv.high_water > srv.opt.max_buffered / 2)
        srv.high_water = srv.opt.max_buffered / 2;

    struct hub_options ho = {
        .connect_timeout = srv.opt.connect_timeout,
        .max_payload = srv.opt.max_message,
    };
    srv.hub = hub_new(engine_transport(), &ho);
    if (!srv.hub) {
        fprintf(stderr, "wshub: cannot start the hub\n");
        return 1;
    }
    if (strcmp(srv.opt.app, "chat") == 0)
        loop.chat = chat_init(srv.hub);
    if ((strcmp(srv.opt.app, "chat") == 0 && !loop.chat) ||
        (strcmp(srv.opt.app, "echo") == 0 && echoapp_init(srv.hub) != 0)) {
        fprintf(stderr, "wshub: cannot start --app %s\n", srv.opt.app);
        return 1;
    }
    if ((srv.opt.admin_auth_file || srv.opt.admin_readonly) && !srv.opt.admin)
        srv.opt.admin = true; /* asking for its login or mode asks for it */
    if (srv.opt.admin && admin_init(srv.hub, srv.opt.admin_auth_file, srv.opt.admin_readonly) != 0)
        return 1;
    if ((srv.opt.faye_token_file) && !srv.opt.faye) {
        fprintf(stderr, "wshub: --faye-token-file needs --faye PATH\n");
        return 1;
    }
    if (srv.opt.faye && faye_init(loop.chat) != 0)
        return 1;
    if ((srv.opt.data_dir || srv.opt.api_token_file) && !loop.chat) {
        fprintf(stderr, "wshub: --data and --api-token-file need the chat (--app chat)\n");
        return 1;
    }
    if (srv.opt.data_dir && chat_open_data(loop.chat, srv.opt.data_dir) != 0)
        return 1;
    if (api_init(loop.chat, srv.opt.api_token_file) != 0)
        return 1;
    if (loop.chat)
        metrics_set_rooms(rooms_now, loop.chat);
    if (srv.opt.data_dir)
        metrics_set_journal(journal_stats(chat_journal(loop.chat)), journal_ok);

    if (srv.opt.tls_cert && tls_init(srv.opt.tls_cert, srv.opt.tls_key) != 0)
        return 1;
    loop.listen_fd = listen_on(srv.opt.host, srv.opt.port);
    if (loop.listen_fd < 0)
        return 1;
    pool_init(&loop.pool, sizeof(struct conn), CONN_BLOCK);
    /* The poll set's own entries: the listener, and with --redis the
     * two connections to Redis, always polled (pollset.c adds the
     * epoll descriptor of the cold part after them). */
    if (pollset_init(&loop.ps, srv.opt.max_conns, srv.opt.redis ? 1 + CLUSTER_SLOTS : 1) != 0) {
        perror("wshub: poll set");
        return 1;
    }
    loop.ps.pfds[0].fd = loop.listen_fd;
    loop.ps.pfds[0].events = POLLIN;
    if (srv.opt.redis &&
        cluster_start(srv.hub, srv.opt.redis, srv.opt.redis_key, srv.opt.redis_timeout,
                      srv.opt.max_buffered, loop.ps.pfds + 1) != 0)
        return 1;
    loop.accept_timer.fire = accept_fire;

    struct sockaddr_storage sa_bound;
    socklen_t salen = sizeof sa_bound;
    getsockname(loop.listen_fd, (struct sockaddr *)&sa_bound, &salen);
    char where[64];
    struct in6_addr addr;
    uint16_t port;
    peer_store(&sa_bound, &addr, &port);
    format_peer(&addr, port, where, sizeof where);
    printf("wshub listening on %s://%s\n", srv.opt.tls_cert ? "https" : "http", where);
    fflush(stdout);

    int failed = run();
    cleanup();
    return failed ? 1 : 0;
}
