/* unit_tls.c -- tls.c's side of the connection seam, with no server around it
 * SPDX-License-Identifier: MIT
 *
 * A socketpair stands in for a TCP connection: one end is a struct conn
 * with tls_io on it, as the loop would have it; the other end is an
 * OpenSSL client driven by hand, a step at a time. So each thing the
 * loop relies on can be made to happen on purpose: a read that must
 * write first, a write that must read first, input left in OpenSSL's
 * buffer, both kinds of end, and every refusal with its log text.
 *
 * Certificates are made here with libcrypto, into a temporary folder;
 * one of them carries 3,000 names, so that the server's first flight is
 * far bigger than the socket buffer.
 *
 * tls.c calls the loop (conn_peer_name, srv), so it is included here
 * with those two defined.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "../conn.h"
#include "check.h"

struct server srv;

const char *conn_peer_name(const struct conn *c)
{
    (void)c;
    return "peer";
}

static int handshakes_ok, handshakes_failed; /* what /metrics would count */
static int64_t clock_ms = 1000000;             /* the loop's clock, by hand */

int64_t now_ms(void)
{
    return clock_ms;
}

void metrics_tls_handshake(bool ok)
{
    if (ok)
        handshakes_ok++;
    else
        handshakes_failed++;
}

#include "../tls.c"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define STEPS 200 /* handshake steps before a test gives up */

static char dir[] = "/tmp/wshub-unit-tls-XXXXXX";
static char cert_a[64], key_a[64];     /* serial 1 */
static char cert_b[64], key_b[64];     /* serial 2 */
static char cert_big[64], key_big[64]; /* serial 3, 3,000 names */
static char cert_live[64], key_live[64]; /* what tls_init loaded */

/* ---- certificates ---------------------------------------------------------- */

/* A self-signed P-256 certificate for localhost with the given serial
 * (and `names` extra DNS names), written as PEM to cert and key. */
static void make_pair(const char *cert, const char *key, long serial, int names)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, n);
    if (names > 0) {
        size_t cap = (size_t)names * 32 + 32, len = 0;
        char *alt = malloc(cap);
        len += (size_t)snprintf(alt, cap, "DNS:localhost");
        for (int i = 0; i < names; i++)
            len += (size_t)snprintf(alt + len, cap - len, ",DNS:name%d.example.org", i);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, alt);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        free(alt);
    }
    X509_sign(x, k, EVP_sha256());
    FILE *f = fopen(cert, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void copy_file(const char *from, const char *to)
{
    char buf[1 << 16];
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
}

/* ---- a connection and its client ------------------------------------------- */

struct pair {
    struct conn c;  /* the server's end, as the loop has it */
    SSL_CTX *cctx;  /* the client's */
    SSL *client;
    int cfd;        /* the client's socket */
};

/* A fresh server conn with tls_io and a client SSL on the other end.
 * max_version 0: the client's default. */
static void pair_open(struct pair *p, int max_version, const char *ciphers)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    memset(p, 0, sizeof *p);
    p->c.fd = sv[0];
    p->c.file_fd = -1;
    CHECK_EQ_INT(tls_attach(&p->c), 0);
    p->cfd = sv[1];
    p->cctx = SSL_CTX_new(TLS_client_method());
    if (max_version) {
        SSL_CTX_set_min_proto_version(p->cctx, TLS1_VERSION);
        SSL_CTX_set_max_proto_version(p->cctx, max_version);
    }
    if (ciphers)
        SSL_CTX_set_cipher_list(p->cctx, ciphers);
    p->client = SSL_new(p->cctx);
    SSL_set_fd(p->client, p->cfd);
    SSL_set_connect_state(p->client);
}

static void pair_close(struct pair *p)
{
    if (p->c.tls)
        tls_io.close(&p->c);
    close(p->c.fd);
    SSL_free(p->client);
    SSL_CTX_free(p->cctx);
    if (p->cfd >= 0)
        close(p->cfd);
}

/* One step of the server: the loop's read, into buf. */
static ssize_t server_read(struct pair *p, char *buf, size_t n)
{
    errno = 0;
    return tls_io.read(&p->c, buf, n);
}

/* Step both sides until both have finished the handshake. Returns true
 * if they did; *saw_wait collects the io_wait bits the server set. */
static bool handshake(struct pair *p, uint8_t *saw_wait)
{
    char buf[64];
    for (int i = 0; i < STEPS; i++) {
        int r = SSL_do_handshake(p->client);
        ssize_t n = server_read(p, buf, sizeof buf);
        if (saw_wait)
            *saw_wait |= p->c.io_wait;
        if (n < 0 && errno != EAGAIN)
            return false;
        if (r == 1 && tls_handshake_done(&p->c))
            return true;
    }
    return false;
}

/* The client reads what the server sent (after a few steps). */
static int client_read(struct pair *p, char *buf, int n)
{
    for (int i = 0; i < STEPS; i++) {
        int r = SSL_read(p->client, buf, n);
        if (r > 0 || SSL_get_error(p->client, r) != SSL_ERROR_WANT_READ)
            return r;
    }
    return -1;
}

static long served_serial(struct pair *p)
{
    X509 *x = SSL_get1_peer_certificate(p->client);
    long s = x ? ASN1_INTEGER_get(X509_get_serialNumber(x)) : -1;
    X509_free(x);
    return s;
}

/* ---- the tests ---------------------------------------------------------------- */

TEST(handshake_then_data_both_ways)
{
    struct pair p;
    int ok_before = handshakes_ok;
    pair_open(&p, 0, NULL);
    CHECK(!tls_handshake_done(&p.c));
    CHECK(handshake(&p, NULL));
    CHECK_EQ_INT(handshakes_ok, ok_before + 1);
    CHECK_EQ_STR(SSL_get_version(p.client), "TLSv1.3");
    SSL_write(p.client, "hello", 5);
    char buf[64] = {0};
    CHECK_EQ_INT(server_read(&p, buf, sizeof buf), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ_INT(tls_io.write(&p.c, "world", 5), 5);
    CHECK_EQ_INT(client_read(&p, buf, sizeof buf), 5);
    CHECK(memcmp(buf, "world", 5) == 0);
    CHECK_EQ_INT(p.c.io_wait, 0);
    CHECK(!p.c.io_more);
    /* Nothing more to read: "try again", as read() says it. */
    CHECK_EQ_INT(server_read(&p, buf, sizeof buf), -1);
    CHECK_EQ_INT(errno, EAGAIN);
    pair_close(&p);
}

TEST(a_write_before_the_handshake_waits_for_input)
{
    struct pair p;
    pair_open(&p, 0, NULL);
    /* The server cannot send a byte before the ClientHello: the write
     * waits for input, and says so, so the loop polls for POLLIN. */
    CHECK_EQ_INT(tls_io.write(&p.c, "x", 1), -1);
    CHECK_EQ_INT(errno, EAGAIN);
    CHECK(p.c.io_wait & IO_WRITE_WANTS_IN);
    CHECK(handshake(&p, NULL));
    CHECK_EQ_INT(tls_io.write(&p.c, "x", 1), 1);
    CHECK_EQ_INT(p.c.io_wait, 0);
    pair_close(&p);
}

TEST(a_read_that_must_write_first_waits_for_output)
{
    copy_file(cert_big, cert_live);
    copy_file(key_big, key_live);
    tls_reload();
    struct pair p;
    pair_open(&p, 0, NULL);
    int small = 4096;
    setsockopt(p.c.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    uint8_t saw = 0;
    CHECK(handshake(&p, &saw));
    CHECK(saw & IO_READ_WANTS_OUT); /* the 3,000-name flight did not fit */
    CHECK_EQ_INT(served_serial(&p), 3);
    CHECK_EQ_INT(p.c.io_wait, 0);
    pair_close(&p);
    copy_file(cert_a, cert_live);
    copy_file(key_a, key_live);
    tls_reload();
}

TEST(input_beyond_our_buffer_is_read_again_without_waiting)
{
    struct pair p;
    pair_open(&p, 0, NULL);
    CHECK(handshake(&p, NULL));
    char msg[1000];
    memset(msg, 'm', sizeof msg);
    SSL_write(p.client, msg, sizeof msg);
    char buf[100];
    size_t total = 0;
    int reads = 0;
    for (;;) {
        ssize_t n = server_read(&p, buf, sizeof buf);
        if (n <= 0)
            break;
        total += (size_t)n;
        reads++;
        if (!p.c.io_more)
            break; /* the loop would wait for poll() now */
    }
    CHECK_EQ_INT(total, sizeof msg);
    CHECK_EQ_INT(reads, 10); /* io_more said "again" after each of 9 */
    CHECK(!p.c.io_more);
    pair_close(&p);
}

TEST(close_notify_is_an_orderly_end)
{
    struct pair p;
    pair_open(&p, 0, NULL);
    CHECK(handshake(&p, NULL));
    SSL_shutdown(p.client);
    char buf[16];
    CHECK_EQ_INT(server_read(&p, buf, sizeof buf), 0);
    CHECK(!p.c.io_unclean_end);
    pair_close(&p);
}

TEST(an_end_without_close_notify_is_noted_not_refused)
{
    struct pair p;
    pair_open(&p, 0, NULL);
    CHECK(handshake(&p, NULL));
    char ticket[1]; /* take the session ticket, or the close is a reset */
    SSL_read(p.client, ticket, 1);
    close(p.cfd);
    p.cfd = -1;
    char buf[16];
    CHECK_EQ_INT(server_read(&p, buf, sizeof buf), 0);
    CHECK(p.c.io_unclean_end);
    pair_close(&p);
}

TEST(our_close_sends_close_notify)
{
    struct pair p;
    pair_open(&p, 0, NULL);
    CHECK(handshake(&p, NULL));
    tls_io.close(&p.c);
    CHECK(p.c.tls == NULL);
    char buf[16];
    CHECK_EQ_INT(client_read(&p, buf, sizeof buf), 0);
    CHECK_EQ_INT(SSL_get_error(p.client, 0), SSL_ERROR_ZERO_RETURN);
    pair_close(&p);
}

/* The raw bytes a client might send instead of a handshake, and the
 * reason the log gets for each. */
TEST(what_is_not_a_handshake_is_refused_with_its_reason)
{
    static const struct {
        const char *name, *bytes, *why;
    } rows[] = {
        {"plain HTTP", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
         "TLS handshake failed: plain HTTP sent to the TLS port"},
        {"garbage", "\x01\x02\x03\x04\x05 not TLS at all",
         "TLS handshake failed: wrong version number"},
        {"peer closed", NULL, "TLS handshake failed: peer closed"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].name);
        int failed_before = handshakes_failed;
        struct pair p;
        pair_open(&p, 0, NULL);
        if (rows[i].bytes) {
            ssize_t w = write(p.cfd, rows[i].bytes, strlen(rows[i].bytes));
            CHECK(w > 0);
        } else {
            close(p.cfd);
            p.cfd = -1;
        }
        char buf[16];
        CHECK_EQ_INT(server_read(&p, buf, sizeof buf), -1);
        CHECK_EQ_INT(errno, EPROTO);
        CHECK_EQ_STR(p.c.why, rows[i].why);
        CHECK(!tls_handshake_done(&p.c));
        CHECK_EQ_INT(handshakes_failed, failed_before + 1);
        /* A broken session sends nothing more and frees cleanly. */
        CHECK_EQ_INT(tls_io.write(&p.c, "x", 1), -1);
        pair_close(&p);
    }
    check_row(NULL);
}

TEST(a_close_notify_halfway_through_the_handshake_is_a_failed_one)
{
    struct pair p;
    pair_open(&p, 0, NULL);
    int failed_before = handshakes_failed;
    SSL_do_handshake(p.client); /* the ClientHello */
    static const char close_notify[] = "\x15\x03\x03\x00\x02\x01\x00";
    ssize_t w = write(p.cfd, close_notify, sizeof close_notify - 1);
    CHECK_EQ_INT(w, (ssize_t)sizeof close_notify - 1);
    char buf[16];
    ssize_t n;
    for (int i = 0; i < STEPS && (n = server_read(&p, buf, sizeof buf)) < 0 && errno == EAGAIN; i++)
        ;
    CHECK_EQ_INT(n, -1);
    CHECK_EQ_INT(errno, EPROTO);
    CHECK_EQ_STR(p.c.why, "TLS handshake failed: peer closed");
    CHECK_EQ_INT(handshakes_failed, failed_before + 1);
    pair_close(&p);
}

TEST(policy_tls_1_2_and_1_3_only_and_aead_for_1_2)
{
    static const struct {
        const char *name;
        int max_version;
        const char *ciphers; /* the client's offer */
        bool ok;
        const char *why;
    } rows[] = {
        {"TLS 1.3", 0, NULL, true, NULL},
        {"TLS 1.2 ECDHE AES-GCM", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", true, NULL},
        {"TLS 1.2 ECDHE ChaCha20", TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", true, NULL},
        {"TLS 1.2 CBC", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256", false,
         "TLS handshake failed: no shared cipher"},
        {"TLS 1.1", TLS1_1_VERSION, "DEFAULT@SECLEVEL=0", false,
         "TLS handshake failed: unsupported protocol"},
        {"TLS 1.0", TLS1_VERSION, "DEFAULT@SECLEVEL=0", false,
         "TLS handshake failed: unsupported protocol"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].name);
        struct pair p;
        pair_open(&p, rows[i].max_version, rows[i].ciphers);
        CHECK_EQ_INT(handshake(&p, NULL), rows[i].ok);
        if (!rows[i].ok)
            CHECK_EQ_STR(p.c.why, rows[i].why);
        pair_close(&p);
    }
    check_row(NULL);
}

TEST(alpn_picks_http_1_1_and_goes_on_without_it)
{
    static const unsigned char both[] = "\x02h2\x08http/1.1", h2[] = "\x02h2";
    const unsigned char *got;
    unsigned int len;

    struct pair p;
    pair_open(&p, 0, NULL);
    SSL_set_alpn_protos(p.client, both, sizeof both - 1);
    CHECK(handshake(&p, NULL));
    SSL_get0_alpn_selected(p.client, &got, &len);
    CHECK(len == 8 && memcmp(got, "http/1.1", 8) == 0);
    pair_close(&p);

    pair_open(&p, 0, NULL);
    SSL_set_alpn_protos(p.client, h2, sizeof h2 - 1);
    CHECK(handshake(&p, NULL));
    SSL_get0_alpn_selected(p.client, &got, &len);
    CHECK_EQ_INT(len, 0);
    pair_close(&p);
}

TEST(renegotiation_is_refused)
{
    struct pair p;
    pair_open(&p, TLS1_2_VERSION, NULL);
    CHECK(handshake(&p, NULL));
    CHECK_EQ_INT(SSL_renegotiate(p.client), 1);
    SSL_do_handshake(p.client); /* sends the new ClientHello */
    char buf[16];
    CHECK_EQ_INT(server_read(&p, buf, sizeof buf), -1);
    CHECK_EQ_INT(errno, EPROTO);
    CHECK_EQ_STR(p.c.why, "TLS renegotiation refused");
    pair_close(&p);
}

/* Send one TLS 1.3 KeyUpdate from the client. */
static void client_key_update(struct pair *p)
{
    SSL_key_update(p->client, SSL_KEY_UPDATE_NOT_REQUESTED);
    SSL_do_handshake(p->client); /* sends it */
}

TEST(a_keyupdate_flood_is_ended_and_a_few_a_minute_are_not)
{
    struct pair p;
    pair_open(&p, 0, NULL);
    CHECK(handshake(&p, NULL));
    char buf[16];
    /* 32 in a minute, then a minute later 32 more: all fine. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < KEY_UPDATES_MAX; i++)
            client_key_update(&p);
        SSL_write(p.client, "ok", 2);
        CHECK_EQ_INT(server_read(&p, buf, sizeof buf), 2);
        clock_ms += KEY_UPDATE_WINDOW_MS;
    }
    /* 33 in one minute: the read that sees the 33rd ends it. */
    for (int i = 0; i <= KEY_UPDATES_MAX; i++)
        client_key_update(&p);
    SSL_write(p.client, "no", 2);
    CHECK_EQ_INT(server_read(&p, buf, sizeof buf), -1);
    CHECK_EQ_INT(errno, EPROTO);
    CHECK_EQ_STR(p.c.why, "TLS KeyUpdate flood (over 32 a minute)");
    pair_close(&p);
}

TEST(an_error_behind_data_is_reported_by_the_next_read)
{
    struct pair p;
    pair_open(&p, 0, NULL);
    CHECK(handshake(&p, NULL));
    char ticket[1];
    SSL_read(p.client, ticket, 1); /* take the ticket */
    SSL_write(p.client, "good", 4);
    /* Then a record that is not the client's: it cannot decrypt. */
    static const char forged[] = "\x17\x03\x03\x00\x20"
                                 "0123456789abcdef0123456789abcdef";
    ssize_t w = write(p.cfd, forged, sizeof forged - 1);
    CHECK_EQ_INT(w, (ssize_t)sizeof forged - 1);
    char buf[64];
    CHECK_EQ_INT(server_read(&p, buf, sizeof buf), 4);
    CHECK(p.c.io_more); /* read again at once: the reason is waiting */
    CHECK_EQ_INT(server_read(&p, buf, sizeof buf), -1);
    CHECK_EQ_INT(errno, EPROTO);
    CHECK_EQ_STR(p.c.why, "TLS error: decryption failed or bad record mac");
    CHECK(!p.c.io_unclean_end); /* not taken for a peer that just left */
    pair_close(&p);
}

TEST(close_notify_waits_for_room_before_the_fin)
{
    struct pair p;
    pair_open(&p, 0, NULL);
    CHECK(handshake(&p, NULL));
    char ticket[1];
    SSL_read(p.client, ticket, 1);
    /* Fill the socket as the loop would: a write that would block is
     * retried with the same bytes until the kernel has taken them all,
     * the client reading one record at a time to make room. Then the
     * output is empty and the socket full: the drain's moment. */
    static char block[16384];
    memset(block, 'b', sizeof block);
    char buf[16384];
    size_t sent = 0, got = 0;
    while (tls_io.write(&p.c, block, sizeof block) > 0)
        sent += sizeof block;
    int r;
    do {
        r = SSL_read(p.client, buf, sizeof buf);
        if (r > 0)
            got += (size_t)r;
    } while (tls_io.write(&p.c, block, sizeof block) < 0);
    sent += sizeof block;
    CHECK_EQ_INT(tls_io.shutdown(&p.c), -1); /* no room for close_notify */
    CHECK_EQ_INT(errno, EAGAIN);
    CHECK(p.c.io_wait & IO_SHUTDOWN_WANTS_OUT);
    /* The client reads on; the loop's POLLOUT calls shutdown again. */
    while (got < sent) {
        r = SSL_read(p.client, buf, sizeof buf);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (tls_io.shutdown(&p.c) == 0)
            CHECK_EQ_INT(p.c.io_wait & IO_SHUTDOWN_WANTS_OUT, 0);
    }
    CHECK_EQ_INT(got, sent);
    CHECK_EQ_INT(tls_io.shutdown(&p.c), 0);
    /* The orderly end, not a cut-off stream. */
    CHECK_EQ_INT(client_read(&p, buf, sizeof buf), 0);
    CHECK_EQ_INT(SSL_get_error(p.client, 0), SSL_ERROR_ZERO_RETURN);
    pair_close(&p);
}

TEST(reload_takes_a_good_pair_and_keeps_the_old_on_a_bad_one)
{
    struct pair old;
    pair_open(&old, 0, NULL);
    CHECK(handshake(&old, NULL));
    CHECK_EQ_INT(served_serial(&old), 1);

    /* A new certificate with the old key: refused, the old pair kept. */
    copy_file(cert_b, cert_live);
    tls_reload();
    struct pair p;
    pair_open(&p, 0, NULL);
    CHECK(handshake(&p, NULL));
    CHECK_EQ_INT(served_serial(&p), 1);
    pair_close(&p);

    /* Both files renewed: new connections get serial 2... */
    copy_file(key_b, key_live);
    tls_reload();
    pair_open(&p, 0, NULL);
    CHECK(handshake(&p, NULL));
    CHECK_EQ_INT(served_serial(&p), 2);
    pair_close(&p);

    /* ...and the connection from before the reload carries on. */
    char buf[16] = {0};
    SSL_write(old.client, "still", 5);
    CHECK_EQ_INT(server_read(&old, buf, sizeof buf), 5);
    CHECK_EQ_INT(tls_io.write(&old.c, "here", 4), 4);
    CHECK_EQ_INT(client_read(&old, buf, sizeof buf), 4);
    pair_close(&old);

    copy_file(cert_a, cert_live);
    copy_file(key_a, key_live);
    tls_reload();
}

TEST(init_refuses_a_key_that_does_not_match)
{
    tls_free();
    CHECK_EQ_INT(tls_init(cert_a, key_b), -1);
    CHECK(tls.ctx == NULL);
    CHECK_EQ_INT(tls_init(cert_a, "/nonexistent/key.pem"), -1);
    CHECK_EQ_INT(tls_init(cert_live, key_live), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the server does: EPIPE, not death */
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(cert_a, sizeof cert_a, "%s/a.crt", dir);
    snprintf(key_a, sizeof key_a, "%s/a.key", dir);
    snprintf(cert_b, sizeof cert_b, "%s/b.crt", dir);
    snprintf(key_b, sizeof key_b, "%s/b.key", dir);
    snprintf(cert_big, sizeof cert_big, "%s/big.crt", dir);
    snprintf(key_big, sizeof key_big, "%s/big.key", dir);
    snprintf(cert_live, sizeof cert_live, "%s/live.crt", dir);
    snprintf(key_live, sizeof key_live, "%s/live.key", dir);
    make_pair(cert_a, key_a, 1, 0);
    make_pair(cert_b, key_b, 2, 0);
    make_pair(cert_big, key_big, 3, 3000);
    copy_file(cert_a, cert_live);
    copy_file(key_a, key_live);
    if (tls_init(cert_live, key_live) != 0)
        return 1;

    RUN(handshake_then_data_both_ways);
    RUN(a_write_before_the_handshake_waits_for_input);
    RUN(a_read_that_must_write_first_waits_for_output);
    RUN(input_beyond_our_buffer_is_read_again_without_waiting);
    RUN(close_notify_is_an_orderly_end);
    RUN(an_end_without_close_notify_is_noted_not_refused);
    RUN(our_close_sends_close_notify);
    RUN(what_is_not_a_handshake_is_refused_with_its_reason);
    RUN(a_close_notify_halfway_through_the_handshake_is_a_failed_one);
    RUN(policy_tls_1_2_and_1_3_only_and_aead_for_1_2);
    RUN(alpn_picks_http_1_1_and_goes_on_without_it);
    RUN(renegotiation_is_refused);
    RUN(a_keyupdate_flood_is_ended_and_a_few_a_minute_are_not);
    RUN(an_error_behind_data_is_reported_by_the_next_read);
    RUN(close_notify_waits_for_room_before_the_fin);
    RUN(reload_takes_a_good_pair_and_keeps_the_old_on_a_bad_one);
    RUN(init_refuses_a_key_that_does_not_match);

    tls_free();
    const char *files[] = {cert_a, key_a, cert_b, key_b, cert_big, key_big, cert_live, key_live};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(dir);
    return check_summary("unit_tls");
}
