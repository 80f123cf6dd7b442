/* wsload.c -- a WebSocket, Socket.IO, Bayeux and REST API load generator for wshub's benchmark
 * SPDX-License-Identifier: MIT
 *
 * One thread, non-blocking sockets, one poll() loop, speaking RFC 6455 as
 * a client (masked frames, §5.3) with wshub's own ws.c for framing, on
 * ws:// or, with --tls or a wss:// --url, on wss:// through OpenSSL's
 * libssl (see "TLS" below). Six modes:
 *
 *   echo    N connections to a WebSocket echo endpoint, each keeping D
 *           messages of S bytes in flight. Every echo is checked byte for
 *           byte. Reports messages/s and round-trip p50/p99. With
 *           --quiet MS, one more connection sends a message every MS ms
 *           and times its echo alone (quiet_p50_us, quiet_max_us): the
 *           chat user who types now and then, beside --idle ones that
 *           never do and N hot ones (N may be 0).
 *   fanout  N Socket.IO receivers in the chat, plus one sender that emits
 *           "message" {text:"<seq> <ns>"} at a steady rate. Reports
 *           deliveries/s, delivery latency p50/p99, and checks that every
 *           receiver got every message, in order. With --port2 N, the
 *           second half of the receivers join a second server at port N
 *           (a node of the same cluster), the sender and the first half
 *           stay on --port: every message crosses from node 1 to node 2.
 *   idle    N connections (WebSocket, or Socket.IO sessions with --sio),
 *           opened (all at once, or --ahead K at a time) and held;
 *           reports the server's RSS growth per connection, read from
 *           /proc/PID/status.
 *
 *   bayeux  N Bayeux (faye) subscribers on WebSockets at --path, all on
 *           one channel, and one publisher that publishes as fast as they
 *           keep up: at most --window K publishes unanswered, and the
 *           subscribers together at most K publishes behind. Reports
 *           deliveries/s and their latency, and checks that every
 *           subscriber got every sequence number (lost=). See "Bayeux"
 *           below for what each client says.
 *
 *   api     N keep-alive HTTP/1.1 connections to the chat's REST API,
 *           each with one POST {"text":"..."} out at a time, to --path
 *           (/api/rooms/general/messages), the bearer token read from
 *           --token-file. Counts the 201s that carry the text sent;
 *           anything else is an error. Reports writes/s (msgs_per_s) and
 *           their round trip p50/p99. See "REST API writes" below.
 *
 *   handshake  new connections per second: --conns N at once, each a new
 *           TCP connection, with --tls a full TLS handshake, then the
 *           WebSocket upgrade to --path answered 101, then closed and
 *           replaced by the next. Reports handshakes_per_s (connections
 *           that reached 101 per second), connect-to-101 p50/p99, and
 *           resumed (TLS sessions resumed: always 0, see "TLS").
 *
 * With --bayeux, idle opens N Bayeux clients instead, each handshaken,
 * connected and subscribed, and reports the RSS growth per client.
 *
 * With --polling, echo and idle use Socket.IO sessions on Engine.IO's
 * HTTP long-polling instead (engine.io-protocol v4, "HTTP long-polling"),
 * with a hand-written HTTP/1.1 keep-alive client and a loop of its own
 * (see "Long-polling" below), against the echo app's contract (echoapp.c):
 *   echo    N sessions, each with one "message" in flight: sent in a POST,
 *           its "message-back" awaited on the held GET, then the next.
 *           Every echo is checked byte for byte, and its sequence number.
 *   idle    N sessions connected to "/", each with its GET held.
 *
 * Every mode reports its own CPU time and the server's (from
 * /proc/PID/schedstat, in ns) over the measured window, and the server's
 * CPU per message, which stays meaningful when this tool is the
 * bottleneck. The last line printed is "key=value ..." for bench/run.js.
 *
 * Simplifications: the masking key comes from a fast PRNG, not a CSPRNG
 * (RFC 6455 §10.3 asks unpredictability of browsers, not of a benchmark);
 * Socket.IO packets are matched by prefix, not parsed as JSON; the
 * HTTP client reads only what the servers send (Content-Length
 * bodies, no chunked encoding) and sends text packets only; a Bayeux
 * frame is split into its messages, but within a message the fields
 * are found by their bytes in compact JSON ("key":value), which is how
 * both servers write them.
 */
#define _GNU_SOURCE
#include "../ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536
#define BX_ID_MAX 64  /* Bayeux: longest clientId accepted; both servers send 31 */
#define FAIL_REPORTS 10 /* reasons printed on stderr, at most, per kind of failure */

/* ========================================================================
 * Time, CPU, memory
 * ======================================================================== */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of a process in ns (user + system), from /proc/PID/schedstat;
 * pid 0 means this process. */
static uint64_t cpu_ns(int pid)
{
    char path[64];
    if (pid)
        snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    else
        snprintf(path, sizeof path, "/proc/self/schedstat");
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return ns;
}

/* Resident memory of pid in KiB, from /proc/PID/status (VmRSS). */
static long rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    }
    if (f)
        fclose(f);
    return kib;
}

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint32_t rand32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* ========================================================================
 * Latency samples
 * ======================================================================== */

struct samples {
    uint32_t *v; /* microseconds */
    size_t n, cap;
};

static void sample_add(struct samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1 << 16;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) {
            perror("wsload: realloc");
            exit(1);
        }
    }
    s->v[s->n++] = (uint32_t)(ns / 1000);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile(struct samples *s, double p)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_u32);
    size_t i = (size_t)(p * (double)(s->n - 1));
    return s->v[i];
}

/* ========================================================================
 * Connections
 * ======================================================================== */

enum cstate {
    C_CONNECTING, /* TCP connect() in progress */
    C_TLS,        /* wss://: the TLS handshake in progress, the upgrade request queued */
    C_HANDSHAKE,  /* the upgrade request sent (or being sent), its 101 awaited */
    C_OPEN,       /* the WebSocket is open */
    C_DEAD        /* ended, counted as an error if it should not have */
};

struct client {
    int fd;
    enum cstate state;
    SSL *ssl;           /* wss://: the TLS connection on fd; NULL on a plain one */
    bool tls_read_on_pollout; /* TLS: the handshake or SSL_read stopped with WANT_WRITE;
                               * made again once fd is writable */
    bool tls_write_on_pollin; /* TLS: SSL_write stopped with WANT_READ; made again
                               * once fd is readable, and no POLLOUT asked until then */
    uint8_t *in;        /* received, not yet parsed */
    size_t in_len, in_cap;
    uint8_t *out;       /* queued to send */
    size_t out_len, out_cap;
    uint64_t sent_seq;  /* echo, api: next sequence number to send */
    uint64_t recv_seq;  /* echo, api: next sequence number expected; fanout, bayeux: last seen */
    uint64_t sent_at;   /* api: when the request out was queued; handshake: when
                         * the connection was opened; ns */
    bool sio_ready;     /* Socket.IO: CONNECT answered */
    bool bx_posting;    /* Bayeux: fd carries the handshake POST, not yet the WebSocket */
    bool bx_ready;      /* Bayeux: subscribed (the publisher: connected) */
    unsigned bx_next_id; /* Bayeux: the "id" of this client's next message */
    char bx_id[BX_ID_MAX + 1]; /* Bayeux: clientId, from the handshake reply */
};

struct opts {
    const char *mode;
    const char *host;
    int port;
    const char *path;
    int conns, depth, size, seconds, rate, sources, server_pid, idle, quiet;
    bool busy, sio, polling, bayeux;
    bool tls;                          /* wss://: TLS on every connection */
    const char *ca;                    /* TLS: trust only this PEM file; NULL: trust any */
    int window;                        /* bayeux: publishes in flight, at most */
    int port2, server_pid2, redis_pid; /* fanout: a second node, and Redis */
    int settle;                        /* fanout: ms of quiet before sending */
    int ahead;                         /* idle: connections opening at once, at most; 0: all */
    const char *token_file;            /* api: its first line is the bearer token */
};

static struct opts o = {
    .mode = "echo", .host = "127.0.0.1", .port = 8080, .path = "/echo",
    .conns = 1, .depth = 1, .size = 32, .seconds = 5, .rate = 100,
    .sources = 1, .server_pid = 0, .idle = 0, .quiet = 0, .busy = false, .sio = false,
    .polling = false, .bayeux = false, .window = 16,
};

static struct client *cl;
static struct pollfd *pfd;
static int ncl;
static long errors;

/* The server connection i goes to: --port, except, in fanout mode with
 * --port2, the second half of the receivers (the sender, last, is not
 * one of them). */
static int port_of(int i)
{
    if (o.port2 && strcmp(o.mode, "fanout") == 0 && i >= o.conns - o.conns / 2 && i < o.conns)
        return o.port2;
    return o.port;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Open a non-blocking connection from 127.0.0.(1 + i % sources). */
static int open_conn(int i)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("wsload: socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (o.sources > 1) {
        struct sockaddr_in src = {0};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7F000001u + (uint32_t)(i % o.sources));
        if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0)
            die("wsload: bind source address");
    }
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port_of(i));
    inet_pton(AF_INET, o.host, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
        die("wsload: connect");
    return fd;
}

static void queue(struct client *c, const void *p, size_t n)
{
    if (c->out_cap - c->out_len < n) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap - c->out_len < n)
            cap *= 2;
        c->out = realloc(c->out, cap);
        if (!c->out)
            die("wsload: realloc");
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

/* Queue one masked client frame (§5.3). */
static void queue_frame(struct client *c, int opcode, const void *p, size_t n)
{
    uint8_t hdr[WS_MAX_HEADER];
    uint32_t k = rand32();
    uint8_t key[4];
    memcpy(key, &k, 4);
    size_t hn = ws_write_header(hdr, true, opcode, n, key);
    queue(c, hdr, hn);
    size_t at = c->out_len;
    queue(c, p, n);
    ws_unmask(c->out + at, n, key, 0);
}

static void queue_handshake(struct client *c, const char *path, int port)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n", path, o.host, port);
    queue(c, req, (size_t)n);
}

/* ========================================================================
 * TLS: wss:// through libssl
 * ======================================================================== */

/* With --tls (or a wss:// --url) each connection speaks TLS once its TCP
 * connect is done: RFC 6455 §4.1 has a secure client perform the TLS
 * handshake first and send the opening handshake over it, and §3 makes
 * wss:// exactly that. The socket stays non-blocking and in the same
 * poll() loop. SSL_do_handshake(), SSL_read() and SSL_write() never
 * block: they return SSL_ERROR_WANT_READ or SSL_ERROR_WANT_WRITE, and the
 * same call is made again once poll() says the socket is ready that way.
 * Either call can want either direction: a read may have to write first
 * (the handshake's own flights, or a TLS 1.3 KeyUpdate answered), and a
 * write may have to read first (a TLS 1.2 renegotiation). The two
 * crossed cases are kept in the client's tls_read_on_pollout and
 * tls_write_on_pollin; the straight ones are what the loop does anyway.
 *
 * Every handshake is a full one. The client keeps no sessions, so it
 * never offers one back for resumption (RFC 8446 §2.2); handshake mode
 * counts the resumed ones to show it (resumed=0).
 *
 * Simplifications. Without --ca the server's certificate is not checked
 * at all (SSL_VERIFY_NONE): this is a benchmark on loopback against a
 * throwaway self-signed certificate, and trusting any certificate is
 * wrong anywhere else. With --ca FILE the chain must end at a
 * certificate in FILE and name --host, an IP address, in its
 * subjectAltName (RFC 9110 §4.3.4). --host is always an IP address, so
 * no Server Name Indication is sent, though §4.1 asks for it: RFC 6066
 * §3 does not allow an address there. */

static SSL_CTX *tls_ctx; /* the client context; NULL on ws:// */

/* Setup failed: say what, with OpenSSL's queued reasons, and exit. */
static void tls_die(const char *what)
{
    fprintf(stderr, "wsload: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* Make tls_ctx: TLS 1.2 or 1.3; ALPN offering http/1.1, as a browser
 * does; no session cache; read-ahead, so that one read() takes in many
 * records (without it, OpenSSL reads each record's 5-byte header and
 * then its body, two system calls a record). Writes may be partial and
 * their buffer may move between retries, as flush() and queue() need.
 * A peer that closes without close_notify reads as the end of the
 * stream, as it does on a plain socket. In idle mode each idle
 * connection gives back its read and write buffers (SSL_MODE_RELEASE_
 * BUFFERS), so that 5,000 of them fit here without 34 KiB each; the
 * busy modes keep theirs, which saves a malloc and free per record. */
static void tls_setup(void)
{
    static const unsigned char alpn[] = "\x08http/1.1"; /* RFC 7301 §3.1: length, name */
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_ctx)
        tls_die("SSL_CTX_new failed");
    if (SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION) != 1)
        tls_die("cannot ask for TLS 1.2 at least");
    SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_read_ahead(tls_ctx, 1);
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (strcmp(o.mode, "idle") == 0)
        SSL_CTX_set_mode(tls_ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (SSL_CTX_set_alpn_protos(tls_ctx, alpn, sizeof alpn - 1) != 0) /* 0 is success here */
        tls_die("cannot offer ALPN http/1.1");
    if (!o.ca) {
        SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL); /* a bench: trust any certificate */
        return;
    }
    if (SSL_CTX_load_verify_locations(tls_ctx, o.ca, NULL) != 1)
        tls_die("cannot read the --ca file");
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(tls_ctx), o.host) != 1)
        tls_die("--host is not an IP address to check the certificate against");
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
}

/* Say why a TLS connection failed, the first FAIL_REPORTS times, and
 * empty OpenSSL's error queue, which must be empty before the next call
 * for SSL_get_error() to mean anything. */
static void tls_report(const struct client *c)
{
    static int reported;
    char why[256] = "";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    long v = SSL_get_verify_result(c->ssl);
    if (reported++ < FAIL_REPORTS)
        fprintf(stderr, "wsload: TLS: %s%s%s\n", e ? why : "connection failed",
                v != X509_V_OK ? ": " : "", v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
    ERR_clear_error();
}

/* What a TLS call on c that returned r means, in read(2)'s and
 * write(2)'s terms: r bytes if r > 0; 0 at the end of the stream (the
 * peer's close_notify, or a close without one); -1 with errno EAGAIN if
 * the call must be made again once poll() says so; -1 with another
 * errno if the connection failed (EPROTO: a TLS error, its reason on
 * stderr; else the socket's error). crossed is the SSL_ERROR_WANT_* that
 * points the other way from the call (WANT_WRITE for a read or the
 * handshake, WANT_READ for a write); *waits_crossed is set when the
 * call stopped for that one, and cleared otherwise. */
static ssize_t tls_result(struct client *c, int r, int crossed, bool *waits_crossed)
{
    *waits_crossed = false;
    if (r > 0)
        return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *waits_crossed = e == crossed;
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (e == SSL_ERROR_SYSCALL && errno != 0) {
        int err = errno; /* the socket's own error, ECONNRESET say */
        ERR_clear_error();
        errno = err;
        return -1;
    }
    tls_report(c);
    errno = EPROTO;
    return -1;
}

/* One step of c's TLS handshake, after its TCP connect. Returns 1 once
 * the handshake is done, 0 while it waits for poll(), -1 if it failed
 * (the reason on stderr). */
static int tls_handshake(struct client *c)
{
    ssize_t r = tls_result(c, SSL_do_handshake(c->ssl), SSL_ERROR_WANT_WRITE,
                           &c->tls_read_on_pollout);
    if (r > 0)
        return 1;
    return r < 0 && errno == EAGAIN ? 0 : -1;
}

/* What the first TLS handshake agreed, "tls=VERSION/CIPHER alpn=NAME "
 * (alpn=- if none), for the report line; empty until then. */
static char tls_agreed[128];

static void tls_note_agreed(const struct client *c)
{
    const unsigned char *p;
    unsigned int n;
    if (tls_agreed[0])
        return;
    SSL_get0_alpn_selected(c->ssl, &p, &n);
    snprintf(tls_agreed, sizeof tls_agreed, "tls=%s/%s alpn=%.*s ", SSL_get_version(c->ssl),
             SSL_get_cipher_name(c->ssl), n ? (int)n : 1, n ? (const char *)p : "-");
}

/* read(2) on c: from fd itself, or through its TLS connection. */
static ssize_t conn_read(struct client *c, void *buf, size_t n)
{
    if (!c->ssl)
        return read(c->fd, buf, n);
    int r = SSL_read(c->ssl, buf, n < INT_MAX ? (int)n : INT_MAX);
    return tls_result(c, r, SSL_ERROR_WANT_WRITE, &c->tls_read_on_pollout);
}

/* write(2) on c: to fd itself, or through its TLS connection. */
static ssize_t conn_write(struct client *c, const void *buf, size_t n)
{
    if (!c->ssl)
        return write(c->fd, buf, n);
    int r = SSL_write(c->ssl, buf, n < INT_MAX ? (int)n : INT_MAX);
    return tls_result(c, r, SSL_ERROR_WANT_READ, &c->tls_write_on_pollin);
}

/* Whether c has something to read that poll() will not announce: TLS
 * records that read-ahead has already taken off the socket. */
static bool conn_pending(const struct client *c)
{
    return c->ssl && SSL_has_pending(c->ssl);
}

/* ========================================================================
 * A connection's life, plain or TLS
 * ======================================================================== */

/* Open connection i into c (a fresh one, or one client_close() ended),
 * TLS on it with --tls, its upgrade request to path queued (none with
 * path NULL); it is sent once connected, and with TLS once the TLS
 * handshake is done too. */
static void client_open(struct client *c, int i, const char *path)
{
    c->fd = open_conn(i);
    c->state = C_CONNECTING;
    c->in_len = c->out_len = 0;
    c->tls_read_on_pollout = c->tls_write_on_pollin = false;
    c->sent_at = now_ns();
    if (tls_ctx) {
        c->ssl = SSL_new(tls_ctx);
        if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
            tls_die("SSL_new failed");
        SSL_set_connect_state(c->ssl);
    }
    if (path)
        queue_handshake(c, path, port_of(i));
}

/* End c's connection: with TLS, a close_notify first (RFC 8446 §6.1) if
 * the handshake is done and nothing has failed (OpenSSL forbids it after
 * a fatal error), tried once, so a full socket buffer drops it; then the
 * socket. c's buffers stay, for client_open() to use again. */
static void client_close(struct client *c)
{
    if (c->ssl) {
        if (c->state == C_HANDSHAKE || c->state == C_OPEN)
            SSL_shutdown(c->ssl);
        ERR_clear_error(); /* a failed close_notify is no one's business */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->fd);
    c->fd = -1;
    c->state = C_DEAD;
}

/* Write what c has queued, as much of it as the socket takes now; the
 * rest stays queued. A write that fails ends c, with an error. */
static void flush(struct client *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t n = conn_write(c, c->out + off, c->out_len - off);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) { /* (0: a TLS connection the peer has closed) */
            c->state = C_DEAD;
            errors++;
            break;
        }
        off += (size_t)n;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
}

/* ========================================================================
 * Modes
 * ======================================================================== */

/* What each mode does with one complete frame from the server. */
typedef void on_frame_fn(struct client *c, int i, int opcode, const uint8_t *p,
                         size_t n, uint64_t now);

static struct samples lat;
static struct samples quiet_lat; /* --quiet: the quiet client's round trips */
static bool quiet_waiting;       /* its message is out, the echo not back */
static uint64_t measured;       /* messages counted in the window */
static bool measuring;
static uint64_t window_start, window_end;

/* ---- echo ---- */

/* Payload: 8-byte sequence, 8-byte send time, then a pattern of the seq. */
static void echo_send(struct client *c)
{
    uint8_t buf[1 << 20];
    size_t n = (size_t)o.size;
    uint64_t seq = c->sent_seq++;
    uint64_t t = now_ns();
    for (size_t k = 0; k < n; k++)
        buf[k] = (uint8_t)(seq + k);
    if (n >= 16) {
        memcpy(buf, &seq, 8);
        memcpy(buf + 8, &t, 8);
    }
    queue_frame(c, WS_OP_BINARY, buf, n);
}

static void echo_frame(struct client *c, int i, int opcode, const uint8_t *p,
                       size_t n, uint64_t now)
{
    (void)i;
    if (opcode == WS_OP_PING) {
        queue_frame(c, WS_OP_PONG, p, n);
        return;
    }
    if (opcode != WS_OP_BINARY || n != (size_t)o.size) {
        errors++;
        return;
    }
    uint64_t seq = c->recv_seq++, t = 0;
    bool ok = true;
    for (size_t k = 16; k < n; k++)
        ok &= p[k] == (uint8_t)(seq + k);
    if (n >= 16) {
        uint64_t got;
        memcpy(&got, p, 8);
        memcpy(&t, p + 8, 8);
        ok &= got == seq;
    }
    if (!ok)
        errors++;
    if (o.quiet && i == o.conns) { /* the quiet one: timed, not resent */
        quiet_waiting = false;
        if (measuring && t)
            sample_add(&quiet_lat, now - t);
        return;
    }
    if (measuring) {
        measured++;
        if (t)
            sample_add(&lat, now - t);
    }
    echo_send(c);
}

/* ---- fanout ---- */

static uint64_t fan_sent;   /* messages the sender emitted */
static uint64_t fan_got;    /* deliveries counted, all receivers */
static uint64_t fan_first;  /* seq of the first message in the window */
static uint64_t fan_last_frame; /* when a receiver last got a frame (--settle) */
static uint64_t fan_in_window;  /* deliveries that came before sending stopped */
static struct samples lat_node[2]; /* --port2: latency by the receiver's node */

static void sio_frame(struct client *c, int i, int opcode, const uint8_t *p,
                      size_t n, uint64_t now)
{
    if (opcode == WS_OP_PING) {
        queue_frame(c, WS_OP_PONG, p, n);
        return;
    }
    if (opcode != WS_OP_TEXT || n == 0)
        return;
    fan_last_frame = now;
    if (p[0] == '2' && n == 1) { /* Engine.IO ping */
        queue_frame(c, WS_OP_TEXT, "3", 1);
        return;
    }
    if (p[0] == '0') { /* open: join the default namespace */
        queue_frame(c, WS_OP_TEXT, "40", 2);
        return;
    }
    if (n >= 2 && p[0] == '4' && p[1] == '0') {
        c->sio_ready = true;
        return;
    }
    static const char tag[] = "42[\"message\",{";
    if (strcmp(o.mode, "fanout") != 0 || i == ncl - 1 || n < sizeof tag ||
        memcmp(p, tag, sizeof tag - 1) != 0)
        return;
    /* ... "text":"<seq> <ns>" ... */
    const uint8_t *t = memmem(p, n, "\"text\":\"", 8);
    if (!t) {
        errors++;
        return;
    }
    unsigned long long seq, ns;
    if (sscanf((const char *)t + 8, "%llu %llu", &seq, &ns) != 2) {
        errors++;
        return;
    }
    if (seq != c->recv_seq + 1 && !(c->recv_seq == 0 && seq >= 1))
        errors++; /* out of order or missing */
    c->recv_seq = seq;
    if (seq >= fan_first && measuring) {
        fan_got++;
        fan_in_window += now < window_start + (uint64_t)o.seconds * 1000000000ull;
        sample_add(&lat, now - ns);
        if (o.port2)
            sample_add(&lat_node[port_of(i) == o.port2], now - ns);
    }
}

/* ========================================================================
 * The loop
 * ======================================================================== */

/* Bayeux's two steps before the frames (see "Bayeux" below). */
static void bx_posted(struct client *c, int i);
static void bx_opened(struct client *c, int i);
/* An API connection's answers, instead of frames (see "REST API writes"). */
static void api_answered(struct client *c, int i, uint64_t now);

/* Parse what c has received: the 101 response, then frames; for a
 * Bayeux client, the handshake POST's answer before all that. An API
 * connection never leaves HTTP: all it receives are answers, and fn
 * (NULL in api mode) is not called. */
static void consume(struct client *c, int i, on_frame_fn *fn, uint64_t now)
{
    size_t off = 0;
    if (strcmp(o.mode, "api") == 0) {
        api_answered(c, i, now);
        return;
    }
    if (c->state == C_HANDSHAKE && c->bx_posting) {
        bx_posted(c, i);
        return;
    }
    if (c->state == C_HANDSHAKE) {
        uint8_t *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end)
            return;
        if (c->in_len < 12 || memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
            errors++;
            c->state = C_DEAD;
            return;
        }
        off = (size_t)(end - c->in) + 4;
        c->state = C_OPEN;
        if (strcmp(o.mode, "echo") == 0 && i < o.conns) {
            for (int k = 0; k < o.depth; k++)
                echo_send(c);
        }
        if (o.bayeux)
            bx_opened(c, i);
    }
    for (;;) {
        struct ws_frame f;
        int n = ws_parse_frame(c->in + off, c->in_len - off, &f);
        if (n == WS_NEED_MORE)
            break;
        if (n == WS_ERROR || f.h.masked || !f.h.fin) {
            errors++; /* a server frame is never masked; ours are unfragmented */
            c->state = C_DEAD;
            return;
        }
        off += (size_t)n;
        if (f.h.opcode == WS_OP_CLOSE) {
            c->state = C_DEAD;
            errors++;
            return;
        }
        fn(c, i, f.h.opcode, f.payload, (size_t)f.h.len, now);
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

/* The connections polled on most steps: in echo mode with --idle, only
 * the busy ones; the idle ones (they only ever see a ping) are polled
 * every 100 ms, so this tool's own poll() does not grow with them and
 * the server is measured, not the tool. */
static int busy_limit(void)
{
    static uint64_t last_full;
    uint64_t now = now_ns();
    if (!measuring || strcmp(o.mode, "echo") != 0 || o.idle == 0 ||
        now - last_full > 100000000ull) {
        last_full = now;
        return ncl;
    }
    return o.conns + (o.quiet ? 1 : 0); /* the quiet one sits after the hot */
}

/* Read what c has waiting onto c->in. Returns false at end of stream or
 * on a read error; what came before it stays in c->in. (An SSL_read()
 * returns one record at most, so a short one does not mean the socket
 * is empty; the loop goes on while read-ahead holds more.) */
static bool read_in(struct client *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < RBUF) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 2 * RBUF;
            uint8_t *p = realloc(c->in, cap);
            if (!p)
                die("wsload: realloc");
            c->in = p;
            c->in_cap = cap;
        }
        ssize_t n = conn_read(c, c->in + c->in_len, RBUF);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (n < RBUF && !conn_pending(c))
                return true; /* the socket is empty, and so is TLS's read-ahead */
            continue;
        }
        if (n == 0)
            errno = 0; /* end of stream, not an error */
        return n < 0 && (errno == EAGAIN || errno == EINTR);
    }
}

/* Whether c waits for its socket to be writable: while it connects;
 * while its TLS handshake or an SSL_read() waits for that; and while it
 * has output queued, unless that waits for the TLS handshake to finish
 * or for an SSL_write() that must read first. */
static bool wants_pollout(const struct client *c)
{
    if (c->state == C_CONNECTING || c->tls_read_on_pollout)
        return true;
    return c->out_len && c->state != C_TLS && !c->tls_write_on_pollin;
}

/* One turn of the loop: poll the connections, then for each that is
 * ready finish its connect, take its TLS handshake a step further, read
 * and consume what came (fn gets the frames; with TLS, also records the
 * handshake's reads took in ahead, which poll() cannot see), and write
 * what is queued. */
static void step(on_frame_fn *fn, int timeout)
{
    int n = busy_limit();
    for (int i = 0; i < n; i++) {
        struct client *c = &cl[i];
        pfd[i].fd = c->state == C_DEAD ? -1 : c->fd;
        pfd[i].events = POLLIN | (wants_pollout(c) ? POLLOUT : 0);
    }
    int r = poll(pfd, (nfds_t)n, o.busy ? 0 : timeout);
    if (r <= 0)
        return;
    uint64_t now = now_ns();
    for (int i = 0; i < n; i++) {
        struct client *c = &cl[i];
        if (!pfd[i].revents || c->state == C_DEAD)
            continue;
        if (c->state == C_CONNECTING && (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err) {
                errors++;
                c->state = C_DEAD;
                continue;
            }
            c->state = c->ssl ? C_TLS : C_HANDSHAKE;
        }
        if (c->state == C_TLS) {
            /* The handshake reads and writes for itself, whichever way
             * poll() found the socket ready; once it is done, the
             * upgrade request goes (below). */
            int done = tls_handshake(c);
            if (done < 0) {
                errors++;
                c->state = C_DEAD;
                continue;
            }
            if (done == 0)
                continue;
            tls_note_agreed(c);
            c->state = C_HANDSHAKE;
        }
        short ready = pfd[i].revents;
        if ((ready & (POLLIN | POLLHUP | POLLERR)) || conn_pending(c) ||
            (c->tls_read_on_pollout && (ready & POLLOUT))) {
            /* A handshake POST's answer ends with the server's close
             * ("Connection: close"): read it all, then see. */
            bool posting = c->bx_posting;
            bool open = read_in(c);
            if (open || posting)
                consume(c, i, fn, now);
            if (!open && c->state != C_DEAD && (!posting || c->bx_posting)) {
                errors++;
                c->state = C_DEAD;
            }
        }
        /* (A Bayeux client whose POST was just answered is connecting
         * anew, its upgrade request queued for when it is writable.) */
        if (c->state != C_DEAD && c->state != C_CONNECTING && c->out_len)
            flush(c);
    }
}

static int count_state(enum cstate s)
{
    int n = 0;
    for (int i = 0; i < ncl; i++)
        n += cl[i].state == s;
    return n;
}

/* Open n connections, each with the upgrade request to path queued; with
 * path NULL (api mode) nothing is queued, and the caller queues each
 * connection's first request. */
static void open_all(int n, const char *path)
{
    ncl = n;
    cl = calloc((size_t)n, sizeof *cl);
    pfd = calloc((size_t)n, sizeof *pfd);
    if (!cl || !pfd)
        die("wsload: calloc");
    for (int i = 0; i < n; i++)
        client_open(&cl[i], i, path);
}

/* Run the loop until every connection is open (or dead), up to 30 s. */
static void wait_open(on_frame_fn *fn, bool need_sio)
{
    uint64_t limit = now_ns() + 30000000000ull;
    for (;;) {
        int open = 0, sio = 0;
        for (int i = 0; i < ncl; i++) {
            open += cl[i].state == C_OPEN;
            sio += cl[i].sio_ready;
        }
        if ((need_sio ? sio : open) + count_state(C_DEAD) >= ncl || now_ns() > limit)
            break;
        step(fn, 100);
    }
}

static uint64_t srv2_0, redis0; /* fanout: --server-pid2's and --redis-pid's CPU at the start */

/* With --server-pid2, "server" is both nodes together; Redis, with
 * --redis-pid, is shown on its own and in cluster_ns_per_<unit>. */
static void report_cpu(uint64_t tool0, uint64_t srv0, double secs, double msgs,
                       const char *unit)
{
    double tool = (double)(cpu_ns(0) - tool0) / 1e9;
    double srv = o.server_pid ? (double)(cpu_ns(o.server_pid) - srv0) / 1e9 : 0;
    double srv2 = o.server_pid2 ? (double)(cpu_ns(o.server_pid2) - srv2_0) / 1e9 : 0;
    double red = o.redis_pid ? (double)(cpu_ns(o.redis_pid) - redis0) / 1e9 : 0;
    printf("tool_cpu=%.2f server_cpu=%.2f server_ns_per_%s=%.0f ",
           tool / secs, (srv + srv2) / secs, unit, msgs > 0 ? (srv + srv2) * 1e9 / msgs : 0);
    if (o.server_pid2)
        printf("node1_cpu=%.2f node2_cpu=%.2f ", srv / secs, srv2 / secs);
    if (o.redis_pid)
        printf("redis_cpu=%.2f cluster_ns_per_%s=%.0f ", red / secs, unit,
               msgs > 0 ? (srv + srv2 + red) * 1e9 / msgs : 0);
}

/* --quiet: send the quiet client's next message once MS ms have passed
 * since its last one was answered. Returns how long step() may wait. */
static int quiet_tick(void)
{
    static uint64_t next;
    if (!o.quiet)
        return 100;
    uint64_t now = now_ns();
    if (quiet_waiting || cl[o.conns].state != C_OPEN)
        return 100;
    if (now >= next) {
        echo_send(&cl[o.conns]);
        flush(&cl[o.conns]);
        quiet_waiting = true;
        next = now + (uint64_t)o.quiet * 1000000ull;
        return 100;
    }
    uint64_t ms = (next - now) / 1000000 + 1;
    return ms < 100 ? (int)ms : 100;
}

static int run_echo(void)
{
    /* Hot ones first, then the quiet one, then those only answering pings. */
    open_all(o.conns + (o.quiet ? 1 : 0) + o.idle, o.path);
    wait_open(echo_frame, false);
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 1000000000ull) /* warm up */
        step(echo_frame, quiet_tick());
    measuring = true;
    uint64_t tool0 = cpu_ns(0), srv0 = o.server_pid ? cpu_ns(o.server_pid) : 0;
    window_start = now_ns();
    while (now_ns() - window_start < (uint64_t)o.seconds * 1000000000ull)
        step(echo_frame, quiet_tick());
    window_end = now_ns();
    measuring = false;
    double secs = (double)(window_end - window_start) / 1e9;
    printf("mode=echo conns=%d idle=%d depth=%d size=%d msgs_per_s=%.0f p50_us=%.0f p99_us=%.0f %s",
           o.conns, o.idle, o.depth, o.size, (double)measured / secs, percentile(&lat, 0.5),
           percentile(&lat, 0.99), tls_agreed);
    if (o.quiet)
        printf("quiet_samples=%zu quiet_p50_us=%.0f quiet_max_us=%.0f ", quiet_lat.n,
               percentile(&quiet_lat, 0.5), percentile(&quiet_lat, 1.0));
    report_cpu(tool0, srv0, secs, (double)measured, "msg");
    printf("errors=%ld\n", errors + count_state(C_DEAD));
    return errors ? 1 : 0;
}

static int run_fanout(void)
{
    /* Receivers first, then the sender last (index ncl-1). */
    open_all(o.conns + 1, "/socket.io/?EIO=4&transport=websocket");
    wait_open(sio_frame, true);
    int ready = 0;
    for (int i = 0; i < ncl; i++)
        ready += cl[i].sio_ready;
    if (ready < ncl) {
        printf("mode=fanout errors=%d (only %d of %d connected)\n", ncl - ready, ready, ncl);
        return 1;
    }
    /* Let the connection-time presence broadcasts drain: for 1 s, or with
     * --settle MS until no receiver has heard anything for MS ms (at most
     * 30 s; a slow server can take seconds over 1,000 joins). */
    uint64_t t0 = now_ns();
    fan_last_frame = t0;
    if (o.settle) {
        while (now_ns() - fan_last_frame < (uint64_t)o.settle * 1000000ull &&
               now_ns() - t0 < 30000000000ull)
            step(sio_frame, 50);
    } else {
        while (now_ns() - t0 < 1000000000ull)
            step(sio_frame, 50);
    }
    uint64_t settle_ns = now_ns() - t0;
    struct client *sender = &cl[ncl - 1];
    uint64_t interval = 1000000000ull / (uint64_t)o.rate;
    fan_first = 1;
    measuring = true;
    uint64_t tool0 = cpu_ns(0), srv0 = o.server_pid ? cpu_ns(o.server_pid) : 0;
    srv2_0 = o.server_pid2 ? cpu_ns(o.server_pid2) : 0;
    redis0 = o.redis_pid ? cpu_ns(o.redis_pid) : 0;
    window_start = now_ns();
    uint64_t next = window_start;
    uint64_t stop = window_start + (uint64_t)o.seconds * 1000000000ull;
    while (now_ns() < stop) {
        uint64_t now = now_ns();
        while (next <= now && next < stop) {
            char msg[128];
            int n = snprintf(msg, sizeof msg,
                             "42%llu[\"message\",{\"text\":\"%llu %llu\"}]",
                             (unsigned long long)(fan_sent % 1000000),
                             (unsigned long long)(fan_sent + 1),
                             (unsigned long long)now_ns());
            queue_frame(sender, WS_OP_TEXT, msg, (size_t)n);
            fan_sent++;
            next += interval;
        }
        flush(sender);
        int wait = (int)((next > now ? next - now : 0) / 1000000);
        step(sio_frame, wait < 1 ? 1 : wait);
    }
    /* Wait (up to 10 s) for every delivery of what was sent. */
    uint64_t expect = fan_sent * (uint64_t)o.conns;
    uint64_t drain_until = now_ns() + 10000000000ull;
    while (fan_got < expect && now_ns() < drain_until)
        step(sio_frame, 10);
    window_end = now_ns();
    measuring = false;
    double secs = (double)(stop - window_start) / 1e9;
    long missing = (long)(expect - fan_got);
    printf("mode=fanout receivers=%d rate=%d sent=%llu deliveries_per_s=%.0f "
           "p50_us=%.0f p99_us=%.0f missing=%ld ",
           o.conns, o.rate, (unsigned long long)fan_sent, (double)fan_got / secs,
           percentile(&lat, 0.5), percentile(&lat, 0.99), missing);
    /* A server that cannot keep up is still delivering after the sender
     * stops; deliveries_per_s counts that too (up to 10 s of it), so it
     * is the rate offered, not the rate sustained. These say which. */
    if (o.port2 || o.settle)
        printf("receivers2=%d in_window_per_s=%.0f drain_ms=%.0f settle_ms=%.0f ",
               o.port2 ? o.conns / 2 : 0, (double)fan_in_window / secs,
               (double)(window_end - stop) / 1e6, (double)settle_ns / 1e6);
    if (o.port2)
        printf("node1_p50_us=%.0f node1_p99_us=%.0f node2_p50_us=%.0f node2_p99_us=%.0f ",
               percentile(&lat_node[0], 0.5), percentile(&lat_node[0], 0.99),
               percentile(&lat_node[1], 0.5), percentile(&lat_node[1], 0.99));
    report_cpu(tool0, srv0, (double)(window_end - window_start) / 1e9,
               (double)fan_got, "delivery");
    printf("errors=%ld\n", errors + missing + count_state(C_DEAD));
    return errors || missing ? 1 : 0;
}

/* Open n connections to path, at most o.ahead of them on their way at
 * once, and run the loop until each is open (for Socket.IO, connected)
 * or dead, up to 60 s. ncl counts those started, so step() polls only
 * them. */
static void open_ahead(int n, const char *path, on_frame_fn *fn, bool need_sio)
{
    cl = calloc((size_t)n, sizeof *cl);
    pfd = calloc((size_t)n, sizeof *pfd);
    if (!cl || !pfd)
        die("wsload: calloc");
    ncl = 0;
    uint64_t limit = now_ns() + 60000000000ull;
    for (;;) {
        int done = count_state(C_DEAD);
        for (int i = 0; i < ncl; i++)
            done += need_sio ? cl[i].sio_ready : cl[i].state == C_OPEN;
        if (done == n || now_ns() > limit)
            break;
        for (; ncl < n && ncl - done < o.ahead; ncl++)
            client_open(&cl[ncl], ncl, path);
        step(fn, 100);
    }
}

static int run_idle(void)
{
    if (!o.server_pid) {
        fprintf(stderr, "wsload: idle needs --server-pid\n");
        return 2;
    }
    long before = rss_kib(o.server_pid);
    const char *path = o.sio ? "/socket.io/?EIO=4&transport=websocket" : o.path;
    uint64_t t_open = now_ns();
    if (o.ahead) {
        open_ahead(o.conns, path, o.sio ? sio_frame : echo_frame, o.sio);
    } else {
        open_all(o.conns, path);
        wait_open(o.sio ? sio_frame : echo_frame, o.sio);
    }
    t_open = now_ns() - t_open;
    /* Hold them a moment, answering pings, so nothing is half-done. */
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 1500000000ull)
        step(o.sio ? sio_frame : echo_frame, 100);
    long after = rss_kib(o.server_pid);
    int open = count_state(C_OPEN);
    printf("mode=idle kind=%s conns=%d open=%d %sopen_ms=%.0f rss_before_kib=%ld "
           "rss_after_kib=%ld bytes_per_conn=%.0f errors=%ld\n", o.sio ? "socket.io" : "websocket",
           o.conns, open, tls_agreed, (double)t_open / 1e6, before, after,
           open ? (double)(after - before) * 1024.0 / open : 0, errors + (o.conns - open));
    return open == o.conns && !errors ? 0 : 1;
}

/* ---- handshake ---- */

/* New connections per second, and what one costs the server. --conns
 * connections are on their way at any time; each that reaches its 101
 * is counted (while measuring) and timed from its connect(), then
 * closed, and a new one opened in its place; one that fails has counted
 * its error already and is replaced too. A connection is the TCP
 * handshake, the TLS one (with --tls) and the WebSocket upgrade: what a
 * new wss:// client costs before its first message. The upgrade is one
 * more round trip and a few hundred bytes of HTTP, small beside the TLS
 * handshake's key exchange and signature; ending at 101 also reads the
 * TLS 1.3 session tickets the server sends after its handshake, so the
 * close is an orderly one and not a reset over unread bytes. */

static uint64_t hs_resumed; /* TLS sessions resumed: none is offered, so 0 */

/* Count each connection that has reached its 101, and open a new one in
 * its place; open one in the place of each that failed, too. */
static void hs_renew(void)
{
    uint64_t now = now_ns();
    for (int i = 0; i < ncl; i++) {
        struct client *c = &cl[i];
        if (c->state == C_OPEN) {
            hs_resumed += c->ssl && SSL_session_reused(c->ssl);
            if (measuring) {
                measured++;
                sample_add(&lat, now - c->sent_at);
            }
        } else if (c->state != C_DEAD) {
            continue;
        }
        client_close(c);
        client_open(c, i, o.path);
    }
}

/* Renew connections for ns nanoseconds. */
static void hs_run_for(uint64_t ns)
{
    uint64_t stop = now_ns() + ns;
    while (now_ns() < stop) {
        step(echo_frame, 10);
        hs_renew();
    }
}

static int run_handshake(void)
{
    open_all(o.conns, o.path);
    hs_run_for(1000000000ull); /* warm up */
    measuring = true;
    uint64_t tool0 = cpu_ns(0), srv0 = o.server_pid ? cpu_ns(o.server_pid) : 0;
    window_start = now_ns();
    hs_run_for((uint64_t)o.seconds * 1000000000ull);
    window_end = now_ns();
    measuring = false;
    double secs = (double)(window_end - window_start) / 1e9;
    printf("mode=handshake conns=%d %shandshakes_per_s=%.0f p50_us=%.0f p99_us=%.0f "
           "resumed=%llu ", o.conns, tls_agreed, (double)measured / secs,
           percentile(&lat, 0.5), percentile(&lat, 0.99), (unsigned long long)hs_resumed);
    report_cpu(tool0, srv0, secs, (double)measured, "handshake");
    printf("errors=%ld\n", errors);
    return errors || hs_resumed ? 1 : 0;
}

/* ========================================================================
 * Long-polling: Engine.IO v4 over HTTP/1.1, by hand
 * ======================================================================== */

/* A session is two keep-alive connections, as a browser's would be: one
 * carries the GETs the server holds until it has packets for us, the
 * other the POSTs that carry ours. Each connection has at most one
 * request out (no pipelining), and a session has at most one GET and one
 * POST out, as "Sending data" and "Receiving data" require. A packet
 * that must go while a POST is out waits for its "ok" and goes in the
 * next POST, joined to the others by \x1e ("Packet encoding").
 *
 * A connection the server closes between two requests (its keep-alive
 * timeout) is opened again when the next request is due; one it closes
 * with a request out, a status other than 200, or a packet we did not
 * expect ends the session with an error, its reason on stderr. */

#define SID_MAX 64            /* longest sid accepted; both servers send 20 */
#define HEAD_MAX 8192         /* a longer response head is an error */
#define BODY_MAX (16u << 20)  /* a longer response body is an error */
#define OPEN_AHEAD 128        /* sessions opening at once: their 256
                               * connects stay under a listen backlog of
                               * 511 (wshub's, and Node's default), which
                               * 10,000 at once overflow */

enum { PC_GET, PC_POST };     /* a session's two connections */

enum pstate {
    P_OPENING,  /* handshake GET out, awaiting the open packet */
    P_JOINING,  /* "40" due or out, awaiting the CONNECT answer */
    P_READY,    /* connected to "/" */
    P_FAILED    /* ended by an error; its connections are closed */
};

struct session {
    struct client conn[2];  /* [PC_GET], [PC_POST]; fd -1 while closed */
    bool opened[2];         /* the connection has been opened before */
    bool waiting[2];        /* a request is out, its response not all in */
    enum pstate state;
    char sid[SID_MAX + 1];  /* from the open packet */
    bool join_due;          /* "40" to go in the next POST */
    int pongs_due;          /* "3"s to go in the next POST */
    bool msg_due;           /* echo: the next message to go in the next POST */
    bool msg_out;           /* echo: a message sent, its echo not back */
    uint64_t sent_seq;      /* echo: messages sent */
    uint64_t recv_seq;      /* echo: echoes checked */
    uint64_t due_at;        /* echo: when the message in flight became due */
};

static struct session *ss;
static int nss;
static int started;         /* sessions opened so far: ss[0..started) */
static long reopened;       /* connections the server closed, opened again */
static char text[1 << 20];  /* scratch: one message's text */

static const char MSG_HEAD[] = "42[\"message\",\"";
static const char ECHO_HEAD[] = "42[\"message-back\",\"";
static const char MSG_TAIL[] = "\"]";

/* The text of message seq, o.size bytes: its number in hex, then letters
 * that depend on it, so a lost, repeated or reordered echo is noticed. */
static void msg_text(uint64_t seq)
{
    char num[17];
    snprintf(num, sizeof num, "%016llx", (unsigned long long)seq);
    for (int k = 0; k < o.size; k++)
        text[k] = k < 16 && o.size >= 16 ? num[k] : (char)('a' + (seq + (uint64_t)k) % 26);
}

static void hang_up(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = C_DEAD;
    c->in_len = c->out_len = 0;
}

static void fail(struct session *s, int i, const char *why)
{
    static int reported;
    if (s->state == P_FAILED)
        return;
    if (reported++ < FAIL_REPORTS)
        fprintf(stderr, "wsload: polling session %d (sid %s): %s\n", i,
                s->sid[0] ? s->sid : "none yet", why);
    errors++;
    s->state = P_FAILED;
    hang_up(&s->conn[PC_GET]);
    hang_up(&s->conn[PC_POST]);
}

/* Start a request on s's connection k, opening it first if it is not
 * open: the first request on it, or the server closed it since the
 * last. The caller queues the body, then calls send_now(). */
static struct client *request(struct session *s, int i, int k, const char *head,
                              size_t n)
{
    struct client *c = &s->conn[k];
    if (c->fd < 0) {
        c->fd = open_conn(i);
        c->state = C_CONNECTING;
        reopened += s->opened[k];
        s->opened[k] = true;
    }
    queue(c, head, n);
    s->waiting[k] = true;
    return c;
}

static void send_now(struct client *c)
{
    if (c->state == C_OPEN && c->out_len)
        flush(c);
}

/* The next GET: the handshake while there is no sid, then one to hold. */
static void get_next(struct session *s, int i)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "GET %s?EIO=4&transport=polling%s%s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n\r\n", o.path, s->sid[0] ? "&sid=" : "",
                     s->sid, o.host, o.port);
    send_now(request(s, i, PC_GET, head, (size_t)n));
}

/* If no POST is out, send one with everything due: "40", pongs, and the
 * next message, joined by \x1e. */
static void post_next(struct session *s, int i)
{
    if (s->state == P_FAILED || s->waiting[PC_POST])
        return;
    bool msg = s->msg_due && s->state == P_READY;
    int parts = s->join_due + s->pongs_due + msg;
    if (parts == 0)
        return;
    size_t len = (size_t)parts - 1 + (s->join_due ? 2 : 0) + (size_t)s->pongs_due +
                 (msg ? sizeof MSG_HEAD - 1 + (size_t)o.size + sizeof MSG_TAIL - 1 : 0);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "POST %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\n"
                     "Host: %s:%d\r\nContent-Type: text/plain;charset=UTF-8\r\n"
                     "Content-Length: %zu\r\n\r\n", o.path, s->sid, o.host, o.port, len);
    struct client *c = request(s, i, PC_POST, head, (size_t)n);
    const char *sep = "";
    if (s->join_due) {
        queue(c, "40", 2);
        sep = "\x1e";
    }
    for (; s->pongs_due > 0; s->pongs_due--) {
        queue(c, sep, strlen(sep));
        queue(c, "3", 1);
        sep = "\x1e";
    }
    if (msg) {
        queue(c, sep, strlen(sep));
        msg_text(s->sent_seq++);
        queue(c, MSG_HEAD, sizeof MSG_HEAD - 1);
        queue(c, text, (size_t)o.size);
        queue(c, MSG_TAIL, sizeof MSG_TAIL - 1);
        s->msg_out = true;
    }
    s->join_due = s->msg_due = false;
    send_now(c);
}

/* An echo: it must be the message out, byte for byte. The next is due. */
static void poll_echo(struct session *s, int i, const uint8_t *p, size_t n,
                      uint64_t now)
{
    msg_text(s->recv_seq);
    size_t hn = sizeof ECHO_HEAD - 1, tn = sizeof MSG_TAIL - 1;
    if (!s->msg_out || n != hn + (size_t)o.size + tn ||
        memcmp(p + hn, text, (size_t)o.size) != 0 || memcmp(p + n - tn, MSG_TAIL, tn) != 0) {
        fail(s, i, "an echo that is not the message sent");
        return;
    }
    s->recv_seq++;
    s->msg_out = false;
    if (measuring) {
        measured++;
        sample_add(&lat, now - s->due_at);
    }
    s->msg_due = true;
    s->due_at = now;
}

/* One packet of a GET's answer ("Protocol"; Socket.IO inside "4"). */
static void poll_packet(struct session *s, int i, const uint8_t *p, size_t n,
                        uint64_t now)
{
    static const char sid_key[] = "\"sid\":\"";
    static const char auth[] = "42[\"auth\",";
    if (n == 1 && p[0] == '2') { /* ping */
        s->pongs_due++;
        return;
    }
    if (n == 1 && p[0] == '6') /* noop */
        return;
    if (n > 1 && p[0] == '0' && s->state == P_OPENING) { /* open */
        const uint8_t *k = memmem(p, n, sid_key, sizeof sid_key - 1);
        const uint8_t *v = k ? k + sizeof sid_key - 1 : NULL;
        const uint8_t *e = v ? memchr(v, '"', (size_t)(p + n - v)) : NULL;
        if (!e || e == v || e - v > SID_MAX) {
            fail(s, i, "an open packet without a sid");
            return;
        }
        memcpy(s->sid, v, (size_t)(e - v));
        s->sid[e - v] = '\0';
        s->state = P_JOINING;
        s->join_due = true;
        return;
    }
    if (n >= 2 && p[0] == '4' && p[1] == '0' && s->state == P_JOINING) { /* CONNECT */
        s->state = P_READY;
        if (strcmp(o.mode, "echo") == 0) {
            s->msg_due = true;
            s->due_at = now;
        }
        return;
    }
    if (n >= sizeof auth - 1 && memcmp(p, auth, sizeof auth - 1) == 0)
        return; /* the echo app greets each socket with its auth */
    if (n >= sizeof ECHO_HEAD - 1 && memcmp(p, ECHO_HEAD, sizeof ECHO_HEAD - 1) == 0 &&
        s->state == P_READY) {
        poll_echo(s, i, p, n, now);
        return;
    }
    char why[96];
    snprintf(why, sizeof why, "unexpected packet \"%.*s\"", n > 40 ? 40 : (int)n,
             (const char *)p);
    fail(s, i, why);
}

/* A GET answered: its packets, then the next GET, and a POST if the
 * packets made one due. */
static void get_answer(struct session *s, int i, const uint8_t *p, size_t n,
                       uint64_t now)
{
    if (n == 0) {
        fail(s, i, "an empty answer to a GET");
        return;
    }
    size_t pos = 0;
    for (;;) {
        const uint8_t *sep = memchr(p + pos, 0x1e, n - pos);
        size_t end = sep ? (size_t)(sep - p) : n;
        poll_packet(s, i, p + pos, end - pos, now);
        if (s->state == P_FAILED)
            return;
        if (!sep)
            break;
        pos = end + 1;
    }
    get_next(s, i);
    post_next(s, i);
}

/* The head's status, Content-Length and "Connection: close". Returns 0,
 * or -1 unless it is HTTP/1.1 with a Content-Length (both servers send
 * one; chunked answers are not read). */
static int parse_head(const uint8_t *p, size_t n, int *status, size_t *len,
                      bool *close)
{
    if (n < 16 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' || p[9] > '5' ||
        p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
        return -1;
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    *len = SIZE_MAX;
    *close = false;
    const uint8_t *line = (const uint8_t *)memchr(p, '\n', n) + 1, *end = p + n;
    while (line < end) {
        const uint8_t *eol = memchr(line, '\n', (size_t)(end - line));
        char h[128];
        size_t hl = (size_t)(eol - line) < sizeof h - 1 ? (size_t)(eol - line) : sizeof h - 1;
        memcpy(h, line, hl);
        h[hl] = '\0';
        if (strncasecmp(h, "Content-Length:", 15) == 0) {
            char *q = h + 15;
            while (*q == ' ')
                q++;
            if (*q < '0' || *q > '9')
                return -1;
            *len = (size_t)strtoull(q, NULL, 10);
        } else if (strncasecmp(h, "Connection:", 11) == 0 && strcasestr(h, "close")) {
            *close = true;
        } else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0) {
            return -1;
        }
        line = eol + 1;
    }
    return *len == SIZE_MAX ? -1 : 0;
}

/* The responses connection k of s has received: each completes its
 * request. Returns true if the server said it closes the connection
 * (it is closed, and opened again for the next request). */
static bool poll_consume(struct session *s, int i, int k, uint64_t now)
{
    struct client *c = &s->conn[k];
    bool closed = false;
    size_t off = 0;
    while (!closed && s->state != P_FAILED && off < c->in_len) {
        const uint8_t *p = c->in + off;
        size_t have = c->in_len - off;
        const uint8_t *e = memmem(p, have, "\r\n\r\n", 4);
        if (!s->waiting[k]) {
            fail(s, i, "bytes with no request out");
            return false;
        }
        if (!e) {
            if (have > HEAD_MAX)
                fail(s, i, "a response head over HEAD_MAX");
            break;
        }
        size_t hn = (size_t)(e - p) + 4, len;
        int status;
        if (parse_head(p, hn, &status, &len, &closed) != 0 || len > BODY_MAX) {
            fail(s, i, "a response head without Content-Length");
            return false;
        }
        if (status != 200) {
            char why[160];
            snprintf(why, sizeof why, "%s answered %d: %.*s", k == PC_GET ? "GET" : "POST",
                     status, have - hn < len ? 0 : (int)(len < 80 ? len : 80),
                     (const char *)p + hn);
            fail(s, i, why);
            return false;
        }
        if (have - hn < len) {
            closed = false;
            break;
        }
        s->waiting[k] = false;
        off += hn + len;
        if (closed) { /* the body is still in c->in: close, then read it */
            close(c->fd);
            c->fd = -1;
            c->state = C_DEAD;
            c->out_len = 0;
        }
        if (k == PC_GET) {
            get_answer(s, i, p + hn, len, now);
        } else if (len != 2 || memcmp(p + hn, "ok", 2) != 0) {
            fail(s, i, "a POST answered with something other than \"ok\"");
        } else {
            post_next(s, i);
        }
    }
    if (s->state == P_FAILED)
        return false;
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    if (closed)
        c->in_len = 0;
    return closed;
}

/* One turn of the polling loop: every connection of every session. */
static void poll_step(int timeout)
{
    int n = 2 * nss;
    for (int j = 0; j < n; j++) {
        struct client *c = &ss[j / 2].conn[j % 2];
        pfd[j].fd = c->state == C_DEAD ? -1 : c->fd;
        pfd[j].events = POLLIN | (c->out_len || c->state == C_CONNECTING ? POLLOUT : 0);
    }
    if (poll(pfd, (nfds_t)n, timeout) <= 0)
        return;
    uint64_t now = now_ns();
    for (int j = 0; j < n; j++) {
        int i = j / 2, k = j % 2;
        struct session *s = &ss[i];
        struct client *c = &s->conn[k];
        if (!pfd[j].revents || c->state == C_DEAD || s->state == P_FAILED)
            continue;
        if (c->state == C_CONNECTING && (pfd[j].revents & (POLLOUT | POLLERR | POLLHUP))) {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err) {
                fail(s, i, strerror(err));
                continue;
            }
            c->state = C_OPEN;
        }
        if (pfd[j].revents & (POLLIN | POLLHUP | POLLERR)) {
            bool open = read_in(c);
            int err = errno;
            bool closed = poll_consume(s, i, k, now);
            if (!open && !closed && s->state != P_FAILED) {
                char why[128];
                snprintf(why, sizeof why, "the %s connection %s with a request out",
                         k == PC_GET ? "GET" : "POST", err ? strerror(err) : "closed");
                if (s->waiting[k])
                    fail(s, i, why);
                else
                    hang_up(c); /* keep-alive timeout: opened again when needed */
            }
        }
        if (s->state != P_FAILED)
            send_now(c);
        if (c->state == C_DEAD && c->fd >= 0)
            fail(s, i, "a write failed");
    }
}

static void poll_alloc(int n)
{
    nss = n;
    ss = calloc((size_t)n, sizeof *ss);
    pfd = calloc(2 * (size_t)n, sizeof *pfd);
    if (!ss || !pfd)
        die("wsload: calloc");
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            ss[i].conn[k].fd = -1; /* opened with its first request */
            ss[i].conn[k].state = C_DEAD;
        }
    }
}

static int count_pstate(enum pstate p)
{
    int n = 0;
    for (int i = 0; i < nss; i++)
        n += ss[i].state == p;
    return n;
}

/* Run until every session is connected to "/" (or failed), up to 60 s,
 * opening them OPEN_AHEAD at a time. A session's GET connection opens
 * with the handshake, its POST connection with the first POST ("40"). */
static void poll_open_all(void)
{
    uint64_t limit = now_ns() + 60000000000ull;
    for (;;) {
        int done = count_pstate(P_READY) + count_pstate(P_FAILED);
        if (done == nss || now_ns() > limit)
            break;
        for (; started < nss && started - done < OPEN_AHEAD; started++)
            get_next(&ss[started], started);
        poll_step(100);
    }
}

static int run_poll_echo(void)
{
    poll_alloc(o.conns);
    poll_open_all();
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 1000000000ull) /* warm up */
        poll_step(100);
    measuring = true;
    uint64_t tool0 = cpu_ns(0), srv0 = o.server_pid ? cpu_ns(o.server_pid) : 0;
    window_start = now_ns();
    while (now_ns() - window_start < (uint64_t)o.seconds * 1000000000ull)
        poll_step(100);
    window_end = now_ns();
    measuring = false;
    double secs = (double)(window_end - window_start) / 1e9;
    int ready = count_pstate(P_READY);
    printf("mode=echo kind=polling conns=%d ready=%d size=%d msgs_per_s=%.0f p50_us=%.0f "
           "p99_us=%.0f reopened=%ld ", o.conns, ready, o.size, (double)measured / secs,
           percentile(&lat, 0.5), percentile(&lat, 0.99), reopened);
    report_cpu(tool0, srv0, secs, (double)measured, "msg");
    printf("errors=%ld\n", errors + (nss - ready - count_pstate(P_FAILED)));
    return errors || ready < nss ? 1 : 0;
}

static int run_poll_idle(void)
{
    if (!o.server_pid) {
        fprintf(stderr, "wsload: idle needs --server-pid\n");
        return 2;
    }
    long before = rss_kib(o.server_pid);
    poll_alloc(o.conns);
    uint64_t t_open = now_ns();
    poll_open_all();
    t_open = now_ns() - t_open;
    /* Hold them a moment, answering pings, so every GET is held. */
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 1500000000ull)
        poll_step(100);
    long after = rss_kib(o.server_pid);
    int ready = count_pstate(P_READY), held = 0, posts = 0;
    for (int i = 0; i < nss; i++) {
        held += ss[i].state == P_READY && ss[i].waiting[PC_GET];
        posts += ss[i].conn[PC_POST].fd >= 0;
    }
    printf("mode=idle kind=polling conns=%d ready=%d held=%d post_conns=%d reopened=%ld "
           "open_ms=%.0f rss_before_kib=%ld rss_after_kib=%ld bytes_per_conn=%.0f errors=%ld\n",
           o.conns, ready, held, posts, reopened, (double)t_open / 1e6, before, after,
           ready ? (double)(after - before) * 1024.0 / ready : 0,
           errors + (nss - ready - count_pstate(P_FAILED)));
    return ready == nss && !errors ? 0 : 1;
}

/* ========================================================================
 * REST API writes: POST on keep-alive HTTP/1.1
 * ======================================================================== */

/* Each connection carries one request at a time, as a fetch() or curl
 * does on a keep-alive connection (no pipelining, RFC 9112 §9.3.2):
 *
 *   POST /api/rooms/general/messages HTTP/1.1     (--path)
 *   Host: 127.0.0.1:8080
 *   Authorization: Bearer TOKEN                   (RFC 6750 §2.1)
 *   Content-Type: application/json
 *   Content-Length: 43
 *
 *   {"text":"0000000000000000qrstuvwxyzabcdef"}   (--size bytes of text)
 *
 * and the next goes once its answer is all in. The answer must be 201
 * with a Content-Length body holding the message as stored, whose
 * "text" is the one sent (the text is the request's sequence number in
 * hex, then letters that depend on it: msg_text() above; the head is
 * read by the long-polling client's parse_head()). Any other status is
 * an error, counted, and the connection goes on with its next request;
 * an answer we cannot read, one that says "Connection: close", or the
 * server closing (RFC 9112 §9.3: HTTP/1.1 keeps a connection open
 * unless told otherwise, and wshub does) is an error that ends the
 * connection. The first FAIL_REPORTS errors say why on stderr. A
 * write's latency is from its request queued to its answer read.
 *
 * The token comes from a file, not from argv, for the reason wshub
 * takes its own that way: any local user can read argv in ps. */

#define API_TOKEN_MAX 256     /* a longer token file is refused */
#define API_PATH_MAX 256      /* a longer --path is refused */

static const char API_BODY_HEAD[] = "{\"text\":\"";
static const char API_BODY_TAIL[] = "\"}";
static char api_token[API_TOKEN_MAX + 1]; /* from --token-file */

/* The first line of file, without its line end, into api_token. Returns
 * 0, or -1 if the file cannot be read, the line is empty, or it is over
 * API_TOKEN_MAX bytes. */
static int api_read_token(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    char line[API_TOKEN_MAX + 3]; /* the token, CR LF, NUL */
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!got)
        return -1;
    size_t n = strcspn(line, "\r\n");
    if (n == 0 || n > API_TOKEN_MAX)
        return -1;
    memcpy(api_token, line, n);
    api_token[n] = '\0';
    return 0;
}

/* Queue c's next POST, its text made from c's next sequence number, and
 * note when it went. */
static void api_send(struct client *c)
{
    char head[API_PATH_MAX + API_TOKEN_MAX + 256];
    size_t body = sizeof API_BODY_HEAD - 1 + (size_t)o.size + sizeof API_BODY_TAIL - 1;
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     o.path, o.host, o.port, api_token, body);
    queue(c, head, (size_t)n);
    msg_text(c->sent_seq++);
    queue(c, API_BODY_HEAD, sizeof API_BODY_HEAD - 1);
    queue(c, text, (size_t)o.size);
    queue(c, API_BODY_TAIL, sizeof API_BODY_TAIL - 1);
    c->sent_at = now_ns();
}

/* Count an error on API connection i, and say why on stderr the first
 * FAIL_REPORTS times, with up to 80 bytes of the answer's body (p, n;
 * NULL for none). With end, close the connection too; its buffers stay
 * as they are, since api_answered() may be walking them. */
static void api_error(struct client *c, int i, bool end, const char *why,
                      const uint8_t *p, size_t n)
{
    static int reported;
    if (reported++ < FAIL_REPORTS)
        fprintf(stderr, "wsload: api connection %d: %s%s%.*s\n", i, why, p ? ": " : "",
                p ? (n > 80 ? 80 : (int)n) : 0, p ? (const char *)p : "");
    errors++;
    if (end) {
        close(c->fd);
        c->fd = -1;
        c->state = C_DEAD;
    }
}

/* One whole answer to c's request out: a write if it is a 201 holding
 * the text sent (counted and timed while measuring), else an error. */
static void api_check(struct client *c, int i, int status, const uint8_t *body,
                      size_t len, uint64_t now)
{
    static const char key[] = "\"text\":\"";
    size_t kn = sizeof key - 1, tn = (size_t)o.size;
    msg_text(c->recv_seq++);
    if (status != 201) {
        char why[48];
        snprintf(why, sizeof why, "answered %d, not 201", status);
        api_error(c, i, false, why, body, len);
        return;
    }
    const uint8_t *t = memmem(body, len, key, kn);
    if (!t || (size_t)(body + len - t) < kn + tn + 1 || memcmp(t + kn, text, tn) != 0 ||
        t[kn + tn] != '"') {
        api_error(c, i, false, "a 201 whose message is not the one sent", body, len);
        return;
    }
    if (measuring) {
        measured++;
        sample_add(&lat, now - c->sent_at);
    }
}

/* What c has received: each whole answer completes its request, and the
 * next request is queued (step() sends it). Bytes with no request out,
 * an answer without Content-Length, or one that closes the connection
 * end c; a part of an answer waits in c->in for the rest. */
static void api_answered(struct client *c, int i, uint64_t now)
{
    size_t off = 0;
    while (c->state != C_DEAD && off < c->in_len) {
        const uint8_t *p = c->in + off;
        size_t have = c->in_len - off;
        if (c->recv_seq == c->sent_seq) {
            api_error(c, i, true, "bytes with no request out", p, have);
            return;
        }
        const uint8_t *e = memmem(p, have, "\r\n\r\n", 4);
        if (!e) {
            if (have > HEAD_MAX)
                api_error(c, i, true, "an answer's head over HEAD_MAX", NULL, 0);
            break;
        }
        size_t hn = (size_t)(e - p) + 4, len;
        int status;
        bool closes;
        if (parse_head(p, hn, &status, &len, &closes) != 0 || len > BODY_MAX) {
            api_error(c, i, true, "an answer without Content-Length", p, hn);
            return;
        }
        if (have - hn < len)
            break; /* the body is not all in */
        off += hn + len;
        api_check(c, i, status, p + hn, len, now);
        if (closes) {
            api_error(c, i, true, "the server closes the keep-alive connection", NULL, 0);
            return;
        }
        api_send(c);
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

static int run_api(void)
{
    if (!o.token_file || api_read_token(o.token_file) != 0) {
        fprintf(stderr, "wsload: api needs --token-file FILE, the token on its first line "
                        "(1 to %d bytes)\n", API_TOKEN_MAX);
        return 2;
    }
    open_all(o.conns, NULL);
    for (int i = 0; i < ncl; i++)
        api_send(&cl[i]); /* sent once connected */
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 1000000000ull) /* warm up */
        step(NULL, 100);
    measuring = true;
    uint64_t tool0 = cpu_ns(0), srv0 = o.server_pid ? cpu_ns(o.server_pid) : 0;
    window_start = now_ns();
    while (now_ns() - window_start < (uint64_t)o.seconds * 1000000000ull)
        step(NULL, 100);
    window_end = now_ns();
    measuring = false;
    double secs = (double)(window_end - window_start) / 1e9;
    int open = ncl - count_state(C_DEAD);
    printf("mode=api conns=%d open=%d size=%d msgs_per_s=%.0f p50_us=%.0f p99_us=%.0f ",
           o.conns, open, o.size, (double)measured / secs, percentile(&lat, 0.5),
           percentile(&lat, 0.99));
    report_cpu(tool0, srv0, secs, (double)measured, "msg");
    /* (Every connection that died counted an error as it did.) */
    printf("errors=%ld\n", errors);
    return errors ? 1 : 0;
}

/* ========================================================================
 * Bayeux: faye's pub/sub on WebSockets
 * ======================================================================== */

/* Each client does what faye's own Node client does, as faye 1.4.3
 * speaks it (../shared/specs/bayeux-faye.md; § below are its):
 *
 *   1. the handshake in an HTTP/1.1 POST on a connection of its own
 *      (§2: a client never handshakes over WebSocket), its answer read
 *      for the clientId, then that connection closed;
 *   2. a WebSocket on the same path (§2.4), with no subprotocol;
 *   3. on it, /meta/connect, which the server holds (§5) and which is sent
 *      again whenever its reply comes back, and /meta/subscribe (§4).
 *
 * Simplified: faye's client opens its WebSocket while the handshake is
 * still out (§2, the warm-up) and may keep its HTTP connection alive;
 * here the two come one after the other and the POST's connection is
 * closed, so an idle client holds one connection, the WebSocket.
 *
 * Every message goes in a text frame of its own, as [{...}] (§2.4). A
 * server frame is a JSON array of one or more messages: replies, which
 * carry "successful", and deliveries, which do not (§5, "Client
 * timing"). A client that is refused, or whose answer makes no sense,
 * ends with an error, its reason on stderr.
 *
 * In bayeux mode the publisher, last in cl[], is such a client too
 * (handshaken and connected, not subscribed), and publishes on the
 * WebSocket: {"seq":N,"pad":"xx.."}, BX_PAYLOAD bytes of data, N from 1
 * up. A subscriber expects N = its last + 1: a higher N counts the gap
 * as lost, a lower or repeated one is an error. */

#define BX_FAN_CHANNEL "/bench/fan"   /* bayeux: what all subscribe to */
#define BX_IDLE_CHANNEL "/bench/idle" /* idle --bayeux: likewise, never published on */
#define BX_PAYLOAD 32                 /* bytes of each publish's data, as JSON */
#define BX_DRAIN_NS 10000000000ull    /* wait this long for the last deliveries */

static const char BX_HANDSHAKE[] =
    "[{\"channel\":\"/meta/handshake\",\"version\":\"1.0\","
    "\"supportedConnectionTypes\":[\"websocket\",\"long-polling\"],\"id\":\"1\"}]";

static int bx_publisher = -1;   /* cl[] index of the publisher; -1: none */
static const char *bx_channel;  /* the subscribers' channel */
static char bx_channel_json[64]; /* the same as a JSON string, "\"/bench/fan\"" */
static uint64_t bx_published;   /* publishes sent, = the last seq */
static uint64_t bx_answered;    /* publish replies (refusals included) */
static uint64_t bx_seen;        /* all subscribers: sum of their last seq */
static uint64_t bx_lost;        /* gaps in a subscriber's sequence */
static uint64_t bx_delivered;   /* deliveries that came in the window */
static uint64_t *bx_sent_at;    /* when publish seq went out, [seq] */
static size_t bx_sent_cap;

/* End client i with an error, closing its connection. Its buffers stay
 * as they are: consume() may be walking them. */
static void bx_fail(struct client *c, int i, const char *why, const uint8_t *p, size_t n)
{
    static int reported;
    if (c->state == C_DEAD)
        return;
    if (reported++ < FAIL_REPORTS)
        fprintf(stderr, "wsload: bayeux client %d (%s): %s%s%.*s\n", i,
                c->bx_id[0] ? c->bx_id : "no clientId yet", why, p ? ": " : "",
                p ? (n > 200 ? 200 : (int)n) : 0, p ? (const char *)p : "");
    errors++;
    close(c->fd);
    c->fd = -1;
    c->state = C_DEAD;
}

/* Start client i: connect, with the handshake POST queued. */
static void bx_start(int i)
{
    struct client *c = &cl[i];
    char head[512];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", o.path, o.host, o.port,
                     sizeof BX_HANDSHAKE - 1);
    c->fd = open_conn(i);
    c->state = C_CONNECTING;
    c->bx_posting = true;
    c->bx_next_id = 2; /* "1" was the handshake */
    queue(c, head, (size_t)n);
    queue(c, BX_HANDSHAKE, sizeof BX_HANDSHAKE - 1);
}

/* Where the value of key (a quoted name and its colon, "\"name\":")
 * starts in the message m[0..n), or NULL. The key is found by its
 * bytes, so it must not also occur inside a value; in what the servers
 * send us it does not (our data holds only "seq" and "pad"). */
static const uint8_t *bx_field(const uint8_t *m, size_t n, const char *key)
{
    size_t kn = strlen(key);
    const uint8_t *k = memmem(m, n, key, kn);
    return k ? k + kn : NULL;
}

/* Whether the value at v (up to end) begins with the JSON text lit. */
static bool bx_is(const uint8_t *v, const uint8_t *end, const char *lit)
{
    size_t ln = strlen(lit);
    return v && (size_t)(end - v) >= ln && memcmp(v, lit, ln) == 0;
}

/* The next message of a server frame: p[*pos..n) is the rest of a JSON
 * array of objects, or of one bare object (a client takes either,
 * §2.4). Sets *m and *mn to the object's bytes, moves *pos past it, and
 * returns 1; returns 0 at the end, -1 if the text is not that. Strings
 * are skipped with their escapes, so a brace in one is not counted;
 * nothing else is checked. */
static int bx_next_message(const uint8_t *p, size_t n, size_t *pos, const uint8_t **m,
                           size_t *mn)
{
    size_t k = *pos;
    while (k < n && (p[k] == ' ' || p[k] == '\n' || p[k] == '\r' || p[k] == '\t' ||
                     p[k] == ',' || (k == 0 && p[k] == '[')))
        k++;
    if (k == n || p[k] == ']')
        return k == n && *pos == 0 ? -1 : 0; /* an empty frame is not JSON */
    if (p[k] != '{')
        return -1;
    size_t start = k;
    int depth = 0;
    bool in_string = false;
    for (; k < n; k++) {
        uint8_t ch = p[k];
        if (in_string) {
            if (ch == '\\')
                k++; /* the escaped byte is skipped with it */
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if ((ch == '}' || ch == ']') && --depth == 0) {
            *m = p + start;
            *mn = k + 1 - start;
            *pos = k + 1;
            return 1;
        }
    }
    return -1; /* the object does not end in this frame */
}

/* Queue one Bayeux message for c, in a frame of its own. fields is the
 * object's inside after the channel, without the trailing id; each
 * message gets c's next id, as faye's client numbers them. */
static void bx_send(struct client *c, const char *channel, const char *fields)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "[{\"channel\":\"%s\",%s,\"id\":\"%u\"}]", channel,
                     fields, c->bx_next_id++);
    queue_frame(c, WS_OP_TEXT, msg, (size_t)n);
}

static void bx_connect(struct client *c)
{
    char f[160];
    snprintf(f, sizeof f, "\"clientId\":\"%s\",\"connectionType\":\"websocket\"", c->bx_id);
    bx_send(c, "/meta/connect", f);
}

/* The handshake POST's answer, once all of it is in c->in: keep the
 * clientId, close that connection and open the WebSocket. Until then,
 * nothing. A status other than 200, a refusal or no clientId ends c. */
static void bx_posted(struct client *c, int i)
{
    const uint8_t *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!e) {
        if (c->in_len > HEAD_MAX)
            bx_fail(c, i, "a handshake answer's head over HEAD_MAX", NULL, 0);
        return;
    }
    size_t hn = (size_t)(e - c->in) + 4, len;
    int status;
    bool closes;
    if (parse_head(c->in, hn, &status, &len, &closes) != 0 || len > BODY_MAX) {
        bx_fail(c, i, "a handshake answer without Content-Length", NULL, 0);
        return;
    }
    if (c->in_len - hn < len)
        return;
    const uint8_t *b = c->in + hn, *end = b + len;
    const uint8_t *id = bx_field(b, len, "\"clientId\":\"");
    const uint8_t *q = id ? memchr(id, '"', (size_t)(end - id)) : NULL;
    if (status != 200 || !bx_is(bx_field(b, len, "\"successful\":"), end, "true") || !q ||
        q == id || q - id > BX_ID_MAX) {
        bx_fail(c, i, "handshake refused", b, len);
        return;
    }
    memcpy(c->bx_id, id, (size_t)(q - id));
    c->bx_id[q - id] = '\0';
    close(c->fd);
    c->in_len = c->out_len = 0;
    c->bx_posting = false;
    c->fd = open_conn(i);
    c->state = C_CONNECTING;
    queue_handshake(c, o.path, o.port);
}

/* The WebSocket is open: connect, and subscribe unless c publishes. */
static void bx_opened(struct client *c, int i)
{
    bx_connect(c);
    if (i == bx_publisher) {
        c->bx_ready = true;
        return;
    }
    char f[160];
    snprintf(f, sizeof f, "\"clientId\":\"%s\",\"subscription\":\"%s\"", c->bx_id, bx_channel);
    bx_send(c, "/meta/subscribe", f);
}

/* The unsigned decimal at v (up to end), into *x; false if none. */
static bool bx_uint(const uint8_t *v, const uint8_t *end, uint64_t *x)
{
    if (!v || v == end || *v < '0' || *v > '9')
        return false;
    for (*x = 0; v < end && *v >= '0' && *v <= '9'; v++)
        *x = *x * 10 + (uint64_t)(*v - '0');
    return true;
}

/* One message from the server: a reply to one of c's, or a delivery. */
static void bx_message(struct client *c, int i, const uint8_t *m, size_t n, uint64_t now)
{
    const uint8_t *end = m + n;
    const uint8_t *ch = bx_field(m, n, "\"channel\":");
    const uint8_t *ok = bx_field(m, n, "\"successful\":");
    if (ok) { /* a reply */
        bool yes = bx_is(ok, end, "true");
        if (bx_is(ch, end, "\"/meta/connect\"")) {
            if (!yes) {
                bx_fail(c, i, "connect refused", m, n);
                return;
            }
            bx_connect(c); /* held until now: hold the next one */
        } else if (bx_is(ch, end, "\"/meta/subscribe\"")) {
            if (!yes) {
                bx_fail(c, i, "subscribe refused", m, n);
                return;
            }
            c->bx_ready = true;
        } else if (i == bx_publisher && bx_is(ch, end, bx_channel_json)) {
            bx_answered++; /* a refused one is answered too, and its seq lost */
            if (!yes)
                bx_fail(c, i, "publish refused", m, n);
        } else {
            bx_fail(c, i, "a reply to nothing we sent", m, n);
        }
        return;
    }
    uint64_t seq;
    if (i == bx_publisher || !bx_is(ch, end, bx_channel_json) ||
        !bx_uint(bx_field(m, n, "\"seq\":"), end, &seq)) {
        bx_fail(c, i, "a delivery we did not subscribe to", m, n);
        return;
    }
    if (seq <= c->recv_seq || seq > bx_published) {
        bx_fail(c, i, "a delivery out of order, repeated, or never published", m, n);
        return;
    }
    bx_lost += seq - c->recv_seq - 1;
    bx_seen += seq - c->recv_seq;
    c->recv_seq = seq;
    if (measuring) {
        bx_delivered++;
        sample_add(&lat, now - bx_sent_at[seq]);
    }
}

/* One frame from the server: every message in it, in order. */
static void bayeux_frame(struct client *c, int i, int opcode, const uint8_t *p, size_t n,
                         uint64_t now)
{
    if (opcode == WS_OP_PING) {
        queue_frame(c, WS_OP_PONG, p, n);
        return;
    }
    if (opcode != WS_OP_TEXT) {
        bx_fail(c, i, "a frame that is not text", NULL, 0);
        return;
    }
    size_t pos = 0;
    const uint8_t *m;
    size_t mn;
    int r;
    while (c->state == C_OPEN && (r = bx_next_message(p, n, &pos, &m, &mn)) == 1)
        bx_message(c, i, m, mn, now);
    if (c->state == C_OPEN && r < 0)
        bx_fail(c, i, "a frame that is not a JSON array of messages", p, n);
}

static int count_bx_ready(void)
{
    int n = 0;
    for (int i = 0; i < ncl; i++)
        n += cl[i].bx_ready && cl[i].state == C_OPEN;
    return n;
}

/* Start n clients on channel, OPEN_AHEAD at a time (the servers' listen
 * backlog), and run the loop until each is ready or dead, up to 60 s.
 * ncl counts those started, so step() polls only them. */
static void bx_open_all(int n, const char *channel)
{
    bx_channel = channel;
    snprintf(bx_channel_json, sizeof bx_channel_json, "\"%s\"", channel);
    cl = calloc((size_t)n, sizeof *cl);
    pfd = calloc((size_t)n, sizeof *pfd);
    if (!cl || !pfd)
        die("wsload: calloc");
    ncl = 0;
    uint64_t limit = now_ns() + 60000000000ull;
    for (;;) {
        int done = count_bx_ready() + count_state(C_DEAD);
        if (done == n || now_ns() > limit)
            break;
        for (; ncl < n && ncl - done < OPEN_AHEAD; ncl++)
            bx_start(ncl);
        step(bayeux_frame, 100);
    }
}

/* Publish the next seq from the publisher p. */
static void bx_publish(struct client *p)
{
    uint64_t seq = ++bx_published;
    if (seq >= bx_sent_cap) {
        bx_sent_cap = bx_sent_cap ? 2 * bx_sent_cap : 1 << 16;
        bx_sent_at = realloc(bx_sent_at, bx_sent_cap * sizeof *bx_sent_at);
        if (!bx_sent_at)
            die("wsload: realloc");
    }
    bx_sent_at[seq] = now_ns();
    char data[BX_PAYLOAD + 1]; /* 16 bytes, the seq, the pad: room for 14 digits */
    int n = snprintf(data, sizeof data, "{\"seq\":%llu,\"pad\":\"", (unsigned long long)seq);
    while (n < BX_PAYLOAD - 2)
        data[n++] = 'x';
    memcpy(data + n, "\"}", 3);
    char f[BX_PAYLOAD + 160];
    snprintf(f, sizeof f, "\"data\":%s,\"clientId\":\"%s\"", data, p->bx_id);
    bx_send(p, bx_channel, f);
}

/* The window: another publish may go while fewer than K are unanswered
 * and the subscribers together are fewer than K publishes behind (K x N
 * deliveries due), so that a server which answers publishes faster than
 * it delivers them is held to the pace of its deliveries, not left to
 * pile them up. */
static bool bx_window_open(void)
{
    uint64_t k = (uint64_t)o.window, due = bx_published * (uint64_t)o.conns - bx_seen;
    return bx_published - bx_answered < k && due < k * (uint64_t)o.conns;
}

/* Publish for ns nanoseconds, as fast as the window lets. */
static void bx_publish_for(uint64_t ns)
{
    struct client *p = &cl[bx_publisher];
    uint64_t stop = now_ns() + ns;
    while (now_ns() < stop && p->state == C_OPEN) {
        while (bx_window_open())
            bx_publish(p);
        flush(p);
        step(bayeux_frame, 10);
    }
}

static int run_bayeux(void)
{
    bx_publisher = o.conns; /* the subscribers, then the publisher */
    bx_open_all(o.conns + 1, BX_FAN_CHANNEL);
    int ready = count_bx_ready();
    if (ready < ncl || ncl < o.conns + 1) {
        printf("mode=bayeux errors=%d (only %d of %d subscribed)\n", o.conns + 1 - ready, ready,
               o.conns + 1);
        return 1;
    }
    bx_publish_for(1000000000ull); /* warm up; its deliveries are checked too */
    measuring = true;
    uint64_t tool0 = cpu_ns(0), srv0 = o.server_pid ? cpu_ns(o.server_pid) : 0;
    window_start = now_ns();
    bx_publish_for((uint64_t)o.seconds * 1000000000ull);
    window_end = now_ns();
    measuring = false;
    double secs = (double)(window_end - window_start) / 1e9;
    /* The CPU is the window's, read now; the rest once the drain is over
     * (sorting the latencies takes a while). */
    printf("mode=bayeux subscribers=%d window=%d published=%llu deliveries_per_s=%.0f ",
           o.conns, o.window, (unsigned long long)bx_published, (double)bx_delivered / secs);
    report_cpu(tool0, srv0, secs, (double)bx_delivered, "delivery");
    /* How far behind the slowest subscriber is as the window ends. */
    uint64_t behind = 0;
    for (int i = 0; i < o.conns; i++)
        if (bx_published - cl[i].recv_seq > behind)
            behind = bx_published - cl[i].recv_seq;
    /* Wait for what is still in flight: the last replies and deliveries. */
    uint64_t drain_until = now_ns() + BX_DRAIN_NS;
    uint64_t all = bx_published * (uint64_t)o.conns;
    while ((bx_answered < bx_published || bx_seen < all) && now_ns() < drain_until &&
           count_state(C_DEAD) == 0)
        step(bayeux_frame, 10);
    uint64_t lost = bx_lost;
    for (int i = 0; i < o.conns; i++)
        lost += bx_published - cl[i].recv_seq; /* the tail that never came */
    double drain_ms = (double)(now_ns() - window_end) / 1e6;
    /* (Every client that died counted an error as it did.) */
    printf("p50_us=%.0f p99_us=%.0f max_behind=%llu unanswered=%llu drain_ms=%.0f lost=%llu "
           "errors=%ld\n", percentile(&lat, 0.5), percentile(&lat, 0.99),
           (unsigned long long)behind, (unsigned long long)(bx_published - bx_answered),
           drain_ms, (unsigned long long)lost, errors);
    return errors || lost ? 1 : 0;
}

static int run_bayeux_idle(void)
{
    if (!o.server_pid) {
        fprintf(stderr, "wsload: idle needs --server-pid\n");
        return 2;
    }
    long before = rss_kib(o.server_pid);
    uint64_t t_open = now_ns();
    bx_open_all(o.conns, BX_IDLE_CHANNEL);
    t_open = now_ns() - t_open;
    /* Hold them a moment, so nothing is half-done. */
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 1500000000ull)
        step(bayeux_frame, 100);
    long after = rss_kib(o.server_pid);
    int ready = count_bx_ready();
    int stuck = o.conns - ready - count_state(C_DEAD); /* neither, after 60 s */
    printf("mode=idle kind=bayeux conns=%d ready=%d open_ms=%.0f rss_before_kib=%ld "
           "rss_after_kib=%ld bytes_per_conn=%.0f errors=%ld\n", o.conns, ready,
           (double)t_open / 1e6, before, after,
           ready ? (double)(after - before) * 1024.0 / ready : 0, errors + stuck);
    return ready == o.conns && !errors ? 0 : 1;
}

/* 2 descriptors per polling session, 1 per WebSocket: lift the soft
 * limit to the hard one. */
static void raise_fd_limit(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("wsload: getrlimit");
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            die("wsload: setrlimit");
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)need + 16 > rl.rlim_cur) {
        fprintf(stderr, "wsload: %d connections need more descriptors than "
                        "RLIMIT_NOFILE allows (%llu; see ulimit -Hn)\n",
                need, (unsigned long long)rl.rlim_cur);
        exit(2);
    }
}

/* --url ws://HOST:PORT/PATH, or wss://: the ws-URI of RFC 6455 §3, the
 * port 80 or 443 if left out, the path "/" if left out, a query kept in
 * the path (the resource name). Sets --host, --port, --path and, for
 * wss, --tls. Returns 0, or -1 if url is not such a URI. HOST is checked
 * as --host is, in main(). */
static int parse_url(const char *url)
{
    static char host[64];
    const char *rest;
    if (strncmp(url, "wss://", 6) == 0) {
        o.tls = true;
        rest = url + 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        o.tls = false;
        rest = url + 5;
    } else {
        return -1;
    }
    size_t hn = strcspn(rest, ":/?");
    if (hn == 0 || hn >= sizeof host)
        return -1;
    memcpy(host, rest, hn);
    host[hn] = '\0';
    rest += hn;
    long port = o.tls ? 443 : 80;
    if (*rest == ':') {
        char *end;
        port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || port < 1 || port > 65535)
            return -1;
        rest = end;
    }
    if (*rest != '\0' && *rest != '/')
        return -1;
    o.host = host;
    o.port = (int)port;
    o.path = *rest ? rest : "/";
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
        "usage: wsload echo|fanout|idle|bayeux|api|handshake [options]\n"
        "  --host A --port N --path P   server (127.0.0.1:8080, /echo); A is an\n"
        "                               IPv4 address\n"
        "  --url ws[s]://A:N/P          the same, and TLS for wss://\n"
        "  --tls                        wss://: TLS on every connection (echo,\n"
        "                               idle, handshake; not --polling, --bayeux)\n"
        "  --ca FILE                    TLS: trust only the PEM certificates in\n"
        "                               FILE (default: trust any; a benchmark)\n"
        "  --conns N                    connections, or receivers (1)\n"
        "  --depth D --size S           echo: messages in flight, bytes (1, 32)\n"
        "  --rate R                     fanout: messages per second (100)\n"
        "  --port2 N                    fanout: half the receivers on a second\n"
        "                               node at port N; sender stays on --port\n"
        "  --server-pid2 PID            fanout: that node's pid, CPU added in\n"
        "  --redis-pid PID              fanout: Redis's pid, its CPU shown\n"
        "  --settle MS                  fanout: start once receivers heard\n"
        "                               nothing for MS ms (default: after 1 s)\n"
        "  --seconds T                  measured time (5)\n"
        "  --sources N                  spread over 127.0.0.1..N (1)\n"
        "  --idle N                     echo: N more connections held idle\n"
        "  --quiet MS                   echo: one more connection sends every\n"
        "                               MS ms and times its echo (--conns may be 0)\n"
        "  --server-pid PID             read the server's CPU and RSS\n"
        "  --busy                       busy-poll, for latency\n"
        "  --sio                        idle: Socket.IO sessions\n"
        "  --ahead K                    idle: at most K connections on their way\n"
        "                               at once (default: all at once)\n"
        "  --polling                    echo, idle: Socket.IO sessions on\n"
        "                               long-polling at --path (/socket.io/)\n"
        "  --window K                   bayeux: publishes in flight, at most (16)\n"
        "  --bayeux                     idle: Bayeux clients, handshaken,\n"
        "                               connected and subscribed\n"
        "                               (bayeux, idle --bayeux: --path /faye)\n"
        "  --token-file FILE            api: the bearer token, its first line\n"
        "                               (api: --path /api/rooms/general/messages,\n"
        "                               --size is the text's bytes)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    o.mode = argv[1];
    bool path_set = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--busy")) { o.busy = true; continue; }
        if (!strcmp(a, "--sio")) { o.sio = true; continue; }
        if (!strcmp(a, "--polling")) { o.polling = true; continue; }
        if (!strcmp(a, "--bayeux")) { o.bayeux = true; continue; }
        if (!strcmp(a, "--tls")) { o.tls = true; continue; }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--host")) o.host = v;
        else if (!strcmp(a, "--port")) o.port = atoi(v);
        else if (!strcmp(a, "--path")) o.path = v, path_set = true;
        else if (!strcmp(a, "--conns")) o.conns = atoi(v);
        else if (!strcmp(a, "--depth")) o.depth = atoi(v);
        else if (!strcmp(a, "--size")) o.size = atoi(v);
        else if (!strcmp(a, "--rate")) o.rate = atoi(v);
        else if (!strcmp(a, "--seconds")) o.seconds = atoi(v);
        else if (!strcmp(a, "--sources")) o.sources = atoi(v);
        else if (!strcmp(a, "--server-pid")) o.server_pid = atoi(v);
        else if (!strcmp(a, "--idle")) o.idle = atoi(v);
        else if (!strcmp(a, "--quiet")) o.quiet = atoi(v);
        else if (!strcmp(a, "--port2")) o.port2 = atoi(v);
        else if (!strcmp(a, "--server-pid2")) o.server_pid2 = atoi(v);
        else if (!strcmp(a, "--redis-pid")) o.redis_pid = atoi(v);
        else if (!strcmp(a, "--settle")) o.settle = atoi(v);
        else if (!strcmp(a, "--window")) o.window = atoi(v);
        else if (!strcmp(a, "--token-file")) o.token_file = v;
        else if (!strcmp(a, "--ca")) o.ca = v;
        else if (!strcmp(a, "--ahead")) o.ahead = atoi(v);
        else if (!strcmp(a, "--url")) {
            if (parse_url(v) != 0)
                usage();
            path_set = true;
        }
        else usage();
    }
    if (!strcmp(o.mode, "bayeux"))
        o.bayeux = true;
    if (o.size > 1 << 20 || o.conns < (o.quiet ? 0 : 1) || o.depth < 1 || o.rate < 1 ||
        o.window < 1 || o.ahead < 0 || (o.polling && (o.depth != 1 || o.idle != 0)) ||
        (o.bayeux && (o.polling || o.sio)) ||
        (!strcmp(o.mode, "api") && (o.polling || o.sio || o.bayeux || o.idle || o.quiet ||
                                    o.size < 1 || strlen(o.path) > API_PATH_MAX)))
        usage();
    struct in_addr any;
    bool tls_mode = !strcmp(o.mode, "echo") || !strcmp(o.mode, "idle") ||
                    !strcmp(o.mode, "handshake");
    if (inet_pton(AF_INET, o.host, &any) != 1 ||
        (o.tls && (!tls_mode || o.polling || o.bayeux)) || (o.ca && !o.tls))
        usage();
    if (o.polling && !path_set)
        o.path = "/socket.io/";
    if (o.bayeux && !path_set)
        o.path = "/faye";
    if (!strcmp(o.mode, "api") && !path_set)
        o.path = "/api/rooms/general/messages";
    rng ^= now_ns();
    raise_fd_limit(o.polling ? 2 * o.conns : o.conns + o.idle + 2);
    /* A peer that has closed makes a write fail with EPIPE, an error
     * counted, not a signal that ends this process. */
    signal(SIGPIPE, SIG_IGN);
    if (o.tls)
        tls_setup();
    if (o.polling && !strcmp(o.mode, "echo"))
        return run_poll_echo();
    if (o.polling && !strcmp(o.mode, "idle"))
        return run_poll_idle();
    if (!strcmp(o.mode, "echo"))
        return run_echo();
    if (!strcmp(o.mode, "fanout"))
        return run_fanout();
    if (!strcmp(o.mode, "bayeux"))
        return run_bayeux();
    if (!strcmp(o.mode, "api"))
        return run_api();
    if (!strcmp(o.mode, "handshake"))
        return run_handshake();
    if (o.bayeux && !strcmp(o.mode, "idle"))
        return run_bayeux_idle();
    if (!strcmp(o.mode, "idle"))
        return run_idle();
    usage();
    return 2;
}
