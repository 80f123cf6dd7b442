/* tls.c -- TLS under the loop's connections: libssl, non-blocking
 * SPDX-License-Identifier: MIT
 *
 * With --tls-cert and --tls-key every accepted connection gets an SSL
 * object, and conn_io(c) is tls_io instead of tcp_io (conn.h). The loop
 * reads, writes and ends connections through that seam, so the parsers,
 * the transports and the hub never learn which kind they are on.
 *
 * Everything stays non-blocking, in the one poll() loop. OpenSSL reads
 * and writes the socket itself, and any call may find the socket not
 * ready, in either direction:
 *   SSL_ERROR_WANT_READ   wait for input, as a plain read would;
 *   SSL_ERROR_WANT_WRITE  wait until the socket takes output.
 * The surprise is that a read may want to write (the handshake's reply
 * did not fit in the socket buffer) and a write may want to read (a
 * handshake message must come first). c->io_wait tells the loop which
 * event to wait for, and which call to repeat when it comes.
 *
 * A second surprise: OpenSSL may take more from the socket than it has
 * given us (records read ahead, or a record bigger than our buffer).
 * poll() cannot see those bytes; c->io_more makes the loop read again.
 *
 * The handshake needs no state of its own in the loop: the connection
 * is CONN_HTTP from the start, its first read performs the handshake,
 * and the request clock (--request-timeout) runs from the accept, so a
 * handshake that stops halfway ends like a request that does.
 *
 * Policy, in tls_context(): TLS 1.2 and 1.3 only; for 1.2, ECDHE key
 * exchange with AEAD ciphers only; OpenSSL's default 1.3 suites; no
 * renegotiation, no compression; ALPN http/1.1; sessions resumable by
 * ticket or from a bounded cache. Buffers are released while idle
 * (SSL_MODE_RELEASE_BUFFERS): an idle TLS connection holds no 34 KB of
 * record buffers, only its session's state.
 *
 * References: RFC 8446 (TLS 1.3) §6.1 (close_notify), RFC 5246 §7.4.1.2
 * and RFC 5746 (renegotiation), RFC 7301 (ALPN), RFC 9325 §4.2 (ciphers
 * that are recommended for TLS 1.2).
 */
#include "tls.h"
#include "metrics.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h> /* X509_R_KEY_VALUES_MISMATCH */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h> /* shutdown */

#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL" /* RFC 9325 §4.2 */
#define TLS_SESSION_CACHE 1024 /* sessions kept for resumption by id */
#define TLS_REASON_MAX 160     /* bytes of a handshake failure's text */
#define KEY_UPDATES_MAX 32     /* TLS 1.3 KeyUpdates a client may send in */
#define KEY_UPDATE_WINDOW_MS 60000 /* ...this long; one more ends it */

/* One TLS connection's state, beside its struct conn. */
struct tls_session {
    SSL *ssl;
    int64_t key_update_window; /* ms: when the current count began */
    const char *failure; /* a fatal error found after data was handed
                          * up: OpenSSL's reason, for the next read */
    uint8_t key_updates; /* KeyUpdates received in that window */
    bool handshaken;    /* the handshake is done (SSL_is_init_finished
                         * is false again while TLS 1.3 sends a ticket
                         * or a key update, so we keep our own bit) */
    bool broken;        /* a fatal error: no close_notify may follow */
    bool ended;         /* the peer's end was found after data was
                         * handed up: the next read returns 0 */
    bool notified;      /* our close_notify has left (or cannot) */
    bool renegotiation; /* the peer asked to renegotiate (refused) */
    bool key_flood;     /* over KEY_UPDATES_MAX in the window */
};

static struct {
    SSL_CTX *ctx;          /* what new connections are given */
    const char *cert_file; /* --tls-cert */
    const char *key_file;  /* --tls-key */
} tls;

/* ========================================================================
 * The context: certificate, key and policy
 * ======================================================================== */

/* The text of OpenSSL's oldest queued error ("unsupported protocol"), or
 * fallback if it queued none. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : fallback;
}

/* ALPN (RFC 7301 §3.2): the client lists what it speaks, we pick
 * http/1.1. A client that offers only something else (h2) goes on
 * without ALPN rather than being refused. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x08http/1.1";
    (void)ssl;
    (void)arg;
    unsigned char *chosen;
    if (SSL_select_next_proto(&chosen, outlen, ours, sizeof ours - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* OpenSSL tells us about alerts it sends. With SSL_OP_NO_RENEGOTIATION a
 * TLS 1.2 client's new ClientHello is answered with a no_renegotiation
 * alert, and nothing else happens; we mark the connection, so that the
 * read that caused it can end it with a log line. */
static void on_info(const SSL *ssl, int where, int ret)
{
    if ((where & SSL_CB_WRITE_ALERT) == SSL_CB_WRITE_ALERT && /* sent, not received */
        (ret & 0xff) == SSL_AD_NO_RENEGOTIATION) {
        struct conn *c = SSL_get_app_data(ssl);
        if (c && c->tls)
            c->tls->renegotiation = true;
    }
}

/* OpenSSL shows us each handshake message. A TLS 1.3 KeyUpdate (RFC 8446
 * §4.6.3) costs the server a key derivation and carries no data, and
 * OpenSSL sets no limit on them: a client sending a stream of them would
 * keep the loop deriving keys. We count them per connection, and a client
 * over KEY_UPDATES_MAX a minute is ended by the read that saw it. (A real
 * client updates its keys after gigabytes, or on a timer of hours.) */
static void on_message(int write_p, int version, int content_type, const void *buf,
                       size_t len, SSL *ssl, void *arg)
{
    (void)version;
    (void)arg;
    if (write_p || content_type != SSL3_RT_HANDSHAKE || len == 0 ||
        ((const unsigned char *)buf)[0] != SSL3_MT_KEY_UPDATE)
        return;
    struct conn *c = SSL_get_app_data(ssl);
    if (!c || !c->tls)
        return;
    struct tls_session *t = c->tls;
    int64_t now = now_ms();
    if (now - t->key_update_window >= KEY_UPDATE_WINDOW_MS) {
        t->key_update_window = now;
        t->key_updates = 0;
    }
    if (++t->key_updates > KEY_UPDATES_MAX)
        t->key_flood = true;
}

/* A key that needs a passphrase would make OpenSSL ask on the terminal;
 * a server must not wait for that, so the answer is "no passphrase". */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/* True if path can be opened; if not, err says why, for flag. */
static bool readable(const char *flag, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, cap, "%s %s: %s", flag, path, strerror(errno));
        return false;
    }
    fclose(f);
    return true;
}

/* A new context holding cert_file's certificate (and the chain after it)
 * and key_file's key, or NULL with the reason in err. */
static SSL_CTX *tls_context(const char *cert_file, const char *key_file,
                            char *err, size_t cap)
{
    ERR_clear_error();
    SSL_CTX *x = SSL_CTX_new(TLS_server_method());
    if (!x) {
        snprintf(err, cap, "cannot make a TLS context: %s", ssl_reason("out of memory"));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
    SSL_CTX_set_options(x, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                           SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_cipher_list(x, TLS12_CIPHERS); /* 1.3's suites stay the default */
    /* Partial writes and a moving buffer: conn_write hands SSL_write the
     * front of c->out, which may be reallocated before a retry.
     * Read-ahead: one read() takes what the kernel has, not a record
     * header and then its body. */
    SSL_CTX_set_mode(x, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Without auto-retry, an SSL_read that meets records with no data
     * for us (KeyUpdates, say) returns once what it has read is used up,
     * instead of going back to the socket for more: one call costs at
     * most one buffer's worth, however fast a client sends. */
    SSL_CTX_clear_mode(x, SSL_MODE_AUTO_RETRY);
    SSL_CTX_set_read_ahead(x, 1);
    SSL_CTX_set_alpn_select_cb(x, select_alpn, NULL);
    SSL_CTX_set_info_callback(x, on_info);
    SSL_CTX_set_msg_callback(x, on_message);
    SSL_CTX_set_default_passwd_cb(x, no_passphrase);
    SSL_CTX_set_session_id_context(x, (const unsigned char *)"wshub", 5);
    SSL_CTX_sess_set_cache_size(x, TLS_SESSION_CACHE);
    SSL_CTX_set_num_tickets(x, 1); /* TLS 1.3: one ticket to resume with */

    if (!readable("--tls-cert", cert_file, err, cap) || !readable("--tls-key", key_file, err, cap))
        ; /* err says which */
    else if (SSL_CTX_use_certificate_chain_file(x, cert_file) != 1)
        snprintf(err, cap, "--tls-cert %s: %s", cert_file, ssl_reason("cannot read it"));
    else if (SSL_CTX_use_PrivateKey_file(x, key_file, SSL_FILETYPE_PEM) != 1 &&
             ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH)
        snprintf(err, cap, "--tls-key %s: %s", key_file, ssl_reason("cannot read it"));
    else if (SSL_CTX_check_private_key(x) != 1) /* also when loading said so */
        snprintf(err, cap, "--tls-key %s does not match --tls-cert %s", key_file, cert_file);
    else
        return x;
    SSL_CTX_free(x);
    ERR_clear_error();
    return NULL;
}

int tls_init(const char *cert_file, const char *key_file)
{
    char err[2 * PATH_MAX];
    tls.cert_file = cert_file;
    tls.key_file = key_file;
    tls.ctx = tls_context(cert_file, key_file, err, sizeof err);
    if (!tls.ctx) {
        fprintf(stderr, "wshub: %s\n", err);
        return -1;
    }
    return 0;
}

void tls_reload(void)
{
    char err[2 * PATH_MAX];
    SSL_CTX *fresh = tls_context(tls.cert_file, tls.key_file, err, sizeof err);
    if (!fresh) {
        fprintf(stderr, "wshub: tls: reload refused: %s; keeping the current certificate\n", err);
        return;
    }
    /* Open connections hold a reference to the old context; it is freed
     * with the last of them. */
    SSL_CTX_free(tls.ctx);
    tls.ctx = fresh;
    fprintf(stderr, "wshub: tls: reloaded certificate from %s\n", tls.cert_file);
}

void tls_free(void)
{
    SSL_CTX_free(tls.ctx);
    tls.ctx = NULL;
}

/* ========================================================================
 * A connection's session
 * ======================================================================== */

int tls_attach(struct conn *c)
{
    struct tls_session *t = calloc(1, sizeof *t);
    SSL *ssl = t ? SSL_new(tls.ctx) : NULL;
    if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
        SSL_free(ssl);
        free(t);
        ERR_clear_error();
        return -1;
    }
    SSL_set_accept_state(ssl);
    SSL_set_app_data(ssl, c);
    t->ssl = ssl;
    c->tls = t; /* and so conn_io(c) is &tls_io */
    return 0;
}

bool tls_handshake_done(const struct conn *c)
{
    return !c->tls || c->tls->handshaken;
}

/* --trace: what the handshake agreed, before the first request. */
static void trace_handshake(struct conn *c)
{
    const unsigned char *alpn;
    unsigned int alen;
    SSL_get0_alpn_selected(c->tls->ssl, &alpn, &alen);
    printf("%s    tls: %s %s, ALPN %.*s\n", conn_peer_name(c),
           SSL_get_version(c->tls->ssl), SSL_get_cipher_name(c->tls->ssl),
           alen ? (int)alen : 1, alen ? (const char *)alpn : "-");
    fflush(stdout);
}

/* Why a handshake failed, in a line for the log: the static buffer is
 * read by conn_kill at once. */
static const char *handshake_failure(int err)
{
    static char why[TLS_REASON_MAX];
    unsigned long e = ERR_peek_error();
    const char *reason;
    if (ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST)
        reason = "plain HTTP sent to the TLS port";
    else if (err == SSL_ERROR_ZERO_RETURN)
        reason = "peer closed"; /* with a close_notify */
    else if (e == 0 && err == SSL_ERROR_SYSCALL)
        reason = errno == 0 ? "peer closed" : strerror(errno);
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    else if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        reason = "peer closed";
#endif
    else
        reason = ssl_reason("unknown error");
    snprintf(why, sizeof why, "TLS handshake failed: %s", reason);
    return why;
}

/* True if the failure err, after the handshake, is the peer ending TCP
 * without a close_notify: common (browsers do it), and no attack. */
static bool unclean_end(int err)
{
    unsigned long e = ERR_peek_error();
    if (err == SSL_ERROR_SYSCALL && e == 0)
        return errno == 0;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    return ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#else
    return false;
#endif
}

/* OpenSSL's reason for the failure err, or the system's (a reset), as a
 * static string. */
static const char *failure_reason(int err)
{
    if (ERR_peek_error() == 0 && err == SSL_ERROR_SYSCALL && errno != 0)
        return strerror(errno);
    return ssl_reason("read failed");
}

/* "TLS error: <reason>", for the log: read by conn_kill at once. */
static const char *error_why(const char *reason)
{
    static char why[TLS_REASON_MAX];
    snprintf(why, sizeof why, "TLS error: %s", reason);
    return why;
}

/* Turn a read's SSL_get_error() into the seam's answer (conn.h). */
static ssize_t read_failed(struct conn *c, int err)
{
    struct tls_session *t = c->tls;
    switch (err) {
    case SSL_ERROR_WANT_READ:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        c->io_wait |= IO_READ_WANTS_OUT;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        if (t->handshaken)
            return 0; /* the peer's close_notify: an orderly end */
        break; /* a close_notify halfway through a handshake: a failure */
    }
    t->broken = true;
    if (!t->handshaken) {
        c->why = handshake_failure(err);
        metrics_tls_handshake(false);
    } else if (unclean_end(err)) {
        c->io_unclean_end = true;
        ERR_clear_error();
        return 0;
    } else {
        c->why = error_why(failure_reason(err));
    }
    ERR_clear_error();
    errno = EPROTO;
    return -1;
}

/* A read has handed up data and then met err: keep what err means for
 * the next read, which must come at once (c->io_more), because OpenSSL's
 * state has moved on and a second SSL_read would not say it again. */
static void read_failed_later(struct conn *c, int err)
{
    struct tls_session *t = c->tls;
    if (err == SSL_ERROR_ZERO_RETURN) {
        t->ended = true;
    } else if (unclean_end(err)) {
        t->ended = true;
        c->io_unclean_end = true;
    } else {
        t->failure = failure_reason(err);
        t->broken = true;
    }
    c->io_more = true;
}

/* The handshake has just finished, on a read or a write. */
static void handshake_done(struct conn *c)
{
    c->tls->handshaken = true;
    metrics_tls_handshake(true);
    if (srv.opt.trace)
        trace_handshake(c);
}

/* What a client did that ends its connection, seen by OpenSSL's
 * callbacks during the last call, or NULL. */
static const char *refusal(struct tls_session *t)
{
    if (t->renegotiation)
        return "TLS renegotiation refused"; /* it has had our alert */
    if (t->key_flood)
        return "TLS KeyUpdate flood (over 32 a minute)";
    return NULL;
}

/* The seam's read: finish the handshake if it is not done, then take
 * records until n bytes or until OpenSSL holds no more. */
static ssize_t tls_read(struct conn *c, void *p, size_t n)
{
    struct tls_session *t = c->tls;
    c->io_wait &= (uint8_t)~IO_READ_WANTS_OUT;
    c->io_more = false;
    if (t->ended)
        return 0;
    if (t->failure) {
        c->why = error_why(t->failure);
        t->failure = NULL;
    }
    if (t->broken) {
        errno = EPROTO;
        return -1;
    }
    ERR_clear_error();
    if (!t->handshaken) {
        int r = SSL_do_handshake(t->ssl);
        if (r != 1)
            return read_failed(c, SSL_get_error(t->ssl, r));
        handshake_done(c);
    }
    size_t got = 0;
    while (got < n) {
        size_t want = n - got > INT_MAX ? INT_MAX : n - got;
        int r = SSL_read(t->ssl, (char *)p + got, (int)want);
        const char *refused = refusal(t);
        if (refused) {
            t->broken = true;
            ERR_clear_error();
            c->why = refused;
            errno = EPROTO;
            return -1;
        }
        if (r > 0) {
            got += (size_t)r;
            if (!SSL_has_pending(t->ssl))
                break; /* all it took from the socket is ours */
            continue;
        }
        if (got == 0)
            return read_failed(c, SSL_get_error(t->ssl, r));
        /* Bytes first; the reason they stopped comes on the next read. A
         * lack of input is reported again by poll(), a wish to write by
         * POLLOUT; an end or an error is kept for the next read. */
        int err = SSL_get_error(t->ssl, r);
        if (err == SSL_ERROR_WANT_WRITE)
            c->io_wait |= IO_READ_WANTS_OUT;
        else if (err != SSL_ERROR_WANT_READ)
            read_failed_later(c, err);
        ERR_clear_error();
        return (ssize_t)got;
    }
    if (got == n && SSL_has_pending(t->ssl))
        c->io_more = true; /* our buffer is full, OpenSSL's is not empty */
    return (ssize_t)got;
}

/* The seam's write: one SSL_write, which with partial writes on returns
 * after each record (16 KB at most) the kernel took. */
static ssize_t tls_write(struct conn *c, const void *p, size_t n)
{
    struct tls_session *t = c->tls;
    c->io_wait &= (uint8_t)~IO_WRITE_WANTS_IN;
    if (t->broken) {
        errno = EPIPE;
        return -1;
    }
    ERR_clear_error();
    int r = SSL_write(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0) {
        if (!t->handshaken) /* a write may finish it too */
            handshake_done(c);
        return r;
    }
    switch (SSL_get_error(t->ssl, r)) {
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_READ:
        c->io_wait |= IO_WRITE_WANTS_IN;
        errno = EAGAIN;
        return -1;
    }
    t->broken = true;
    ERR_clear_error();
    errno = EPIPE;
    return -1;
}

/* Send our close_notify (RFC 8446 §6.1), once, if the session can still
 * carry one. We do not wait for the peer's: the loop reads until EOF
 * anyway, and a peer's close_notify read there is an orderly end.
 * Returns -1 if the socket would not take it yet (OpenSSL keeps the
 * alert, and a second SSL_shutdown sends it), else 0. */
static int send_close_notify(struct tls_session *t)
{
    if (t->broken || !t->handshaken || t->notified)
        return 0;
    ERR_clear_error();
    int r = SSL_shutdown(t->ssl);
    int err = r < 0 ? SSL_get_error(t->ssl, r) : SSL_ERROR_NONE;
    ERR_clear_error();
    if (err == SSL_ERROR_WANT_WRITE)
        return -1;
    t->notified = true;
    return 0;
}

/* Our FIN only after our close_notify has left: a FIN before it would
 * look to the peer like a cut-off stream. */
static int tls_shutdown(struct conn *c)
{
    c->io_wait &= (uint8_t)~IO_SHUTDOWN_WANTS_OUT;
    if (send_close_notify(c->tls) != 0) {
        c->io_wait |= IO_SHUTDOWN_WANTS_OUT;
        errno = EAGAIN;
        return -1;
    }
    shutdown(c->fd, SHUT_WR);
    return 0;
}

/* The end: a close_notify if none was sent (a kill without a drain), then
 * the session is freed; the loop closes the descriptor. */
static void tls_close(struct conn *c)
{
    struct tls_session *t = c->tls;
    send_close_notify(t); /* best effort: the descriptor closes now */
    SSL_free(t->ssl);
    free(t);
    c->tls = NULL;
}

const struct conn_io tls_io = {
    .read = tls_read,
    .write = tls_write,
    .shutdown = tls_shutdown,
    .close = tls_close,
};
