/* unit_ws.c -- ws.c checked on byte arrays, rule by rule, against RFC 6455
 * SPDX-License-Identifier: MIT
 *
 * No sockets: every frame here is a literal or is built in memory. The
 * examples are the RFC's own (§1.3 key, §5.7 frames); the UTF-8 table is
 * the one Autobahn's case 6 uses. Every truncation of each §5.7 example
 * and of each length encoding's header is fed in a heap block of exactly
 * its size; every truncation of the 64 KiB frame is fed at the end of one
 * block of the whole frame's size. Either way the truncation ends where
 * the block ends, so under ASan a parser that reads past it is caught.
 * The upgrade and Origin checks are tables of named rows, each with the
 * exact status and reason.
 */
#include "../http.h"
#include "../ws.h"
#include "check.h"

#include <stdint.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* Build a masked client frame into out. Returns its size. */
static size_t client_frame(uint8_t *out, bool fin, int opcode,
                           const void *payload, size_t n)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = ws_write_header(out, fin, opcode, n, key);
    memcpy(out + h, payload, n);
    ws_unmask(out + h, n, key, 0); /* masking is its own inverse */
    return h + n;
}

/* Feed bytes to a receive machine in chunks of `step` bytes, as TCP
 * might deliver them, collecting message bytes into msg. Returns the
 * error close code, or 0 if all was consumed without error. *messages
 * counts completed messages; *controls counts control frames. */
static int rx_feed_all(struct ws_rx *rx, const uint8_t *wire, size_t len,
                       size_t step, uint8_t *msg, size_t *msg_len,
                       int *messages, int *controls)
{
    uint8_t pending[1 << 17];
    size_t have = 0, pos = 0;
    *messages = 0;
    *controls = 0;
    *msg_len = 0;
    while (pos < len || have > 0) {
        size_t take = len - pos < step ? len - pos : step;
        memcpy(pending + have, wire + pos, take);
        have += take;
        pos += take;
        size_t off = 0;
        for (;;) {
            struct ws_rx_event ev;
            size_t used;
            enum ws_rx_kind k = ws_rx_next(rx, pending + off, have - off, &used, &ev);
            off += used;
            if (k == WS_RX_ERROR)
                return ev.close_code;
            if (k == WS_RX_NEED_MORE)
                break;
            if (k == WS_RX_CONTROL) {
                (*controls)++;
                continue;
            }
            memcpy(msg + *msg_len, ev.data, ev.len);
            *msg_len += ev.len;
            if (ev.msg_end)
                (*messages)++;
        }
        memmove(pending, pending + off, have - off);
        have -= off;
        if (take == 0 && have > 0)
            break; /* input ended inside a frame */
    }
    return 0;
}

static struct ws_rx fresh_rx(size_t max_message)
{
    struct ws_rx rx;
    memset(&rx, 0, sizeof rx);
    rx.max_message = max_message;
    return rx;
}

/* ------------------------------------------------------------------------
 * §1.3 and §4.2: the handshake
 * ------------------------------------------------------------------------ */

TEST(accept_key_matches_rfc_1_3)
{
    char out[WS_ACCEPT_LEN + 1];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
    CHECK_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(key_must_be_base64_of_16_bytes)
{
    CHECK_EQ_INT(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==", 24), 0);
    /* 15 bytes: 20 characters. 17 bytes: 24 characters, one '='. */
    CHECK_EQ_INT(ws_key_valid("AAAAAAAAAAAAAAAAAAAA", 20), -1);
    CHECK_EQ_INT(ws_key_valid("AAAAAAAAAAAAAAAAAAAAAAA=", 24), -1);
    CHECK_EQ_INT(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ", 22), -1);
    CHECK_EQ_INT(ws_key_valid("dGhlIHNhbXBsZSBub25j!Q==", 24), -1);
    CHECK_EQ_INT(ws_key_valid("dGhlIHNhbXBsZSBub25jZR==", 24), -1); /* stray bits */
    CHECK_EQ_INT(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==x", 25), -1);
}

/* One opening handshake and what ws_check_upgrade must answer. The reason
 * is checked too: most refusals are 400, and only the reason tells which
 * rule refused. */
struct upgrade_case {
    const char *name;
    const char *origins; /* the --origin list, or NULL for same-host only */
    const char *request;
    int status;
    const char *why;
};

/* The §4.2.1 request, one header field to a line, so each row shows which
 * field it drops or changes. */
#define GET_LINE "GET /echo HTTP/1.1\r\n"
#define HOST "Host: localhost:8080\r\n"
#define UPGRADE "Upgrade: websocket\r\n"
#define CONNECTION "Connection: Upgrade\r\n"
#define VERSION "Sec-WebSocket-Version: 13\r\n"
#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define KEY_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* §1.3's answer to KEY */

static const struct upgrade_case upgrade_cases[] = {
    {"accepts_the_4_2_1_request", NULL,
     GET_LINE HOST UPGRADE CONNECTION VERSION KEY "\r\n",
     101, "upgrade accepted"},
    {"tokens_match_in_any_case_among_others", NULL,
     GET_LINE HOST "Upgrade: WebSocket\r\n" "Connection: keep-alive, Upgrade\r\n"
     VERSION KEY "\r\n",
     101, "upgrade accepted"},
    {"refuses_post", NULL,
     "POST /echo HTTP/1.1\r\n" HOST UPGRADE CONNECTION VERSION KEY "\r\n",
     400, "upgrade must be a GET"},
    {"refuses_http_1_0", NULL,
     "GET /echo HTTP/1.0\r\n" HOST UPGRADE CONNECTION VERSION KEY "\r\n",
     400, "upgrade needs HTTP/1.1"},
    {"refuses_missing_host", NULL,
     GET_LINE UPGRADE CONNECTION VERSION KEY "\r\n",
     400, "need exactly one Host header"},
    {"refuses_two_hosts", NULL,
     GET_LINE HOST HOST UPGRADE CONNECTION VERSION KEY "\r\n",
     400, "need exactly one Host header"},
    {"refuses_upgrade_to_another_protocol", NULL,
     GET_LINE HOST "Upgrade: h2c\r\n" CONNECTION VERSION KEY "\r\n",
     400, "missing Upgrade: websocket"},
    {"refuses_connection_without_upgrade", NULL,
     GET_LINE HOST UPGRADE "Connection: keep-alive\r\n" VERSION KEY "\r\n",
     400, "missing Connection: Upgrade"},
    {"refuses_missing_key", NULL,
     GET_LINE HOST UPGRADE CONNECTION VERSION "\r\n",
     400, "Sec-WebSocket-Key is not base64 of 16 bytes"},
    {"refuses_two_keys", NULL,
     GET_LINE HOST UPGRADE CONNECTION VERSION KEY KEY "\r\n",
     400, "duplicate Sec-WebSocket-Key"},
    {"refuses_key_of_15_bytes", NULL,
     GET_LINE HOST UPGRADE CONNECTION VERSION
     "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n" "\r\n",
     400, "Sec-WebSocket-Key is not base64 of 16 bytes"},
    {"refuses_missing_version", NULL,
     GET_LINE HOST UPGRADE CONNECTION KEY "\r\n",
     400, "missing Sec-WebSocket-Version"},
    {"426_for_version_8", NULL,
     GET_LINE HOST UPGRADE CONNECTION "Sec-WebSocket-Version: 8\r\n" KEY "\r\n",
     426, "unsupported Sec-WebSocket-Version"},
    {"426_for_two_versions", NULL,
     GET_LINE HOST UPGRADE CONNECTION VERSION VERSION KEY "\r\n",
     426, "unsupported Sec-WebSocket-Version"},
};

/* §10.2: a page from another site must not reach us with its user's
 * cookies. The host's own origin passes in any case and with its default
 * port implied; any other needs --origin. */
static const struct upgrade_case origin_cases[] = {
    {"allows_own_host_in_any_case", NULL,
     GET_LINE HOST UPGRADE CONNECTION VERSION KEY
     "Origin: http://LOCALHOST:8080\r\n" "\r\n",
     101, "upgrade accepted"},
    {"allows_own_host_with_default_port_implied", NULL,
     GET_LINE "Host: example.org\r\n" UPGRADE CONNECTION VERSION KEY
     "Origin: https://example.org:443\r\n" "\r\n",
     101, "upgrade accepted"},
    {"403_for_a_foreign_origin", NULL,
     GET_LINE HOST UPGRADE CONNECTION VERSION KEY
     "Origin: http://evil.example\r\n" "\r\n",
     403, "Origin not allowed (see --origin)"},
    {"403_for_own_name_on_another_port", NULL,
     GET_LINE HOST UPGRADE CONNECTION VERSION KEY
     "Origin: http://localhost:9999\r\n" "\r\n",
     403, "Origin not allowed (see --origin)"},
    {"403_for_the_opaque_origin_null", NULL,
     GET_LINE HOST UPGRADE CONNECTION VERSION KEY "Origin: null\r\n" "\r\n",
     403, "Origin not allowed (see --origin)"},
    {"allows_an_origin_in_the_list", "http://a.example, http://evil.example",
     GET_LINE HOST UPGRADE CONNECTION VERSION KEY
     "Origin: http://evil.example\r\n" "\r\n",
     101, "upgrade accepted"},
    {"403_for_a_longer_name_than_listed", "http://evil.example",
     GET_LINE HOST UPGRADE CONNECTION VERSION KEY
     "Origin: http://evil.example.com\r\n" "\r\n",
     403, "Origin not allowed (see --origin)"},
    {"allows_any_origin_for_star", "*",
     GET_LINE HOST UPGRADE CONNECTION VERSION KEY
     "Origin: http://evil.example\r\n" "\r\n",
     101, "upgrade accepted"},
};

/* Parse the row's request in an exact-size heap copy and check the
 * status and reason ws_check_upgrade gives, and on 101 the accept key. */
static void check_upgrade(const struct upgrade_case *c)
{
    check_row(c->name);
    size_t n = strlen(c->request);
    char *text = (char *)exact_copy(c->request, n);
    struct http_request req;
    int used = http_parse_request(text, n, &req);
    CHECK_EQ_INT(used, (int)n); /* the row itself must be a whole request */
    if (used == (int)n) {
        char accept[WS_ACCEPT_LEN + 1] = "";
        const char *why = NULL;
        CHECK_EQ_INT(ws_check_upgrade(&req, c->origins, accept, &why), c->status);
        CHECK_EQ_STR(why, c->why);
        if (c->status == 101)
            CHECK_EQ_STR(accept, KEY_ACCEPT);
    }
    free(text);
    check_row(NULL);
}

TEST(upgrade_checks_follow_4_2_1)
{
    for (size_t i = 0; i < sizeof upgrade_cases / sizeof upgrade_cases[0]; i++)
        check_upgrade(&upgrade_cases[i]);
}

TEST(origin_policy_follows_10_2)
{
    for (size_t i = 0; i < sizeof origin_cases / sizeof origin_cases[0]; i++)
        check_upgrade(&origin_cases[i]);
}

/* ------------------------------------------------------------------------
 * §5.2 and §5.7: frames
 * ------------------------------------------------------------------------ */

struct example {
    const char *name;
    uint8_t bytes[16];
    size_t len;
    bool fin;
    int opcode;
    bool masked;
    const char *payload;
};

/* RFC 6455 §5.7, byte for byte. */
static const struct example examples[] = {
    {"unmasked text", {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, 7, true, WS_OP_TEXT, false, "Hello"},
    {"masked text", {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, 11, true, WS_OP_TEXT, true, "Hello"},
    {"first fragment", {0x01, 0x03, 'H', 'e', 'l'}, 5, false, WS_OP_TEXT, false, "Hel"},
    {"last fragment", {0x80, 0x02, 'l', 'o'}, 4, true, WS_OP_CONT, false, "lo"},
    {"unmasked ping", {0x89, 0x05, 'H', 'e', 'l', 'l', 'o'}, 7, true, WS_OP_PING, false, "Hello"},
    {"masked pong", {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, 11, true, WS_OP_PONG, true, "Hello"},
};

TEST(parses_rfc_5_7_examples)
{
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const struct example *e = &examples[i];
        uint8_t *buf = exact_copy(e->bytes, e->len);
        struct ws_frame f;
        CHECK_EQ_INT(ws_parse_frame(buf, e->len, &f), (int)e->len);
        CHECK_EQ_INT(f.h.fin, e->fin);
        CHECK_EQ_INT(f.h.opcode, e->opcode);
        CHECK_EQ_INT(f.h.masked, e->masked);
        CHECK_EQ_INT(f.h.len, strlen(e->payload));
        if (f.h.masked)
            ws_unmask(f.payload, (size_t)f.h.len, f.h.mask, 0);
        CHECK(memcmp(f.payload, e->payload, (size_t)f.h.len) == 0);
        free(buf);

        /* The encoder writes the same header the RFC shows. */
        uint8_t hdr[WS_MAX_HEADER];
        size_t hn = ws_write_header(hdr, e->fin, e->opcode, strlen(e->payload),
                                    e->masked ? e->bytes + 2 : NULL);
        CHECK(hn == (e->masked ? 6u : 2u) && memcmp(hdr, e->bytes, hn) == 0);
    }
}

TEST(every_truncation_needs_more)
{
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const struct example *e = &examples[i];
        for (size_t cut = 0; cut < e->len; cut++) {
            uint8_t *buf = exact_copy(e->bytes, cut);
            struct ws_frame f;
            CHECK_EQ_INT(ws_parse_frame(buf, cut, &f), WS_NEED_MORE);
            free(buf);
        }
    }
}

/* 256 bytes use the 16-bit length, 64 KiB the 64-bit one (§5.7). */
TEST(length_encodings_at_their_boundaries)
{
    static const struct { uint64_t len; size_t hdr; uint8_t b1; } cases[] = {
        {0, 2, 0}, {125, 2, 125}, {126, 4, 126}, {256, 4, 126},
        {65535, 4, 126}, {65536, 10, 127}, {(1ULL << 63) - 1, 10, 127},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t hdr[WS_MAX_HEADER];
        size_t hn = ws_write_header(hdr, true, WS_OP_BINARY, cases[i].len, NULL);
        CHECK_EQ_INT(hn, cases[i].hdr);
        CHECK_EQ_INT(hdr[1], cases[i].b1);
        struct ws_header h;
        CHECK_EQ_INT(ws_parse_header(hdr, hn, &h), (int)hn);
        CHECK(h.len == cases[i].len);
        for (size_t cut = 0; cut < hn; cut++) {
            uint8_t *part = exact_copy(hdr, cut);
            CHECK_EQ_INT(ws_parse_header(part, cut, &h), WS_NEED_MORE);
            free(part);
        }
    }
    /* The RFC's own bytes for 256 and 65536. */
    uint8_t h256[] = {0x82, 0x7E, 0x01, 0x00};
    uint8_t h64k[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    struct ws_header h;
    CHECK_EQ_INT(ws_parse_header(h256, sizeof h256, &h), 4);
    CHECK_EQ_INT(h.len, 256);
    CHECK_EQ_INT(ws_parse_header(h64k, sizeof h64k, &h), 10);
    CHECK_EQ_INT(h.len, 65536);

    /* A whole 64 KiB frame, then every cut short of it. Each cut is copied
     * to the end of one block of the frame's size, so a read past the cut
     * is a read past the block. (A block of its own per cut would be
     * 65,546 allocations of up to 64 KiB: 6 s under ASan, not 0.2 s.) */
    size_t n = 10 + 65536;
    uint8_t *frame = calloc(1, n);
    uint8_t *block = malloc(n);
    if (!frame || !block) {
        perror("malloc");
        exit(2);
    }
    memcpy(frame, h64k, 10);
    struct ws_frame f;
    CHECK_EQ_INT(ws_parse_frame(frame, n, &f), (int)n);
    size_t wrong = 0, first_wrong = 0;
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *part = block + n - cut;
        memcpy(part, frame, cut);
        if (ws_parse_frame(part, cut, &f) != WS_NEED_MORE) {
            if (wrong == 0)
                first_wrong = cut;
            wrong++;
        }
    }
    if (wrong > 0)
        fprintf(stderr, "  %zu cuts of the 64 KiB frame were not \"need more\", "
                "the first at %zu bytes\n", wrong, first_wrong);
    CHECK_EQ_INT(wrong, 0);
    free(block);
    free(frame);
}

TEST(rejects_length_with_top_bit_set)
{
    uint8_t hdr[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    struct ws_header h;
    CHECK_EQ_INT(ws_parse_header(hdr, sizeof hdr, &h), WS_ERROR);
    CHECK_EQ_INT(h.close_code, WS_CLOSE_PROTOCOL_ERROR);
    hdr[2] = 0x7F; /* 2^63 - 1 is legal, if absurd */
    CHECK_EQ_INT(ws_parse_header(hdr, sizeof hdr, &h), 14);
}

TEST(rejects_rsv_bits_and_reserved_opcodes)
{
    struct ws_header h;
    for (int rsv = 1; rsv < 8; rsv++) {
        uint8_t b[] = {(uint8_t)(0x81 | rsv << 4), 0x80, 0, 0, 0, 0};
        CHECK_EQ_INT(ws_parse_header(b, sizeof b, &h), WS_ERROR);
        CHECK_EQ_INT(h.close_code, 1002);
    }
    for (int op = 0; op < 16; op++) {
        uint8_t b[] = {(uint8_t)(0x80 | op), 0x80, 0, 0, 0, 0};
        bool known = op <= 2 || (op >= 8 && op <= 10);
        CHECK_EQ_INT(ws_parse_header(b, sizeof b, &h), known ? 6 : WS_ERROR);
    }
}

TEST(rejects_fragmented_or_long_control_frames)
{
    struct ws_header h;
    uint8_t frag_ping[] = {0x09, 0x80, 0, 0, 0, 0};
    CHECK_EQ_INT(ws_parse_header(frag_ping, sizeof frag_ping, &h), WS_ERROR);
    uint8_t long_ping[] = {0x89, 0xFE, 0x00, 0x7E, 0, 0, 0, 0};
    CHECK_EQ_INT(ws_parse_header(long_ping, sizeof long_ping, &h), WS_ERROR);
    uint8_t ping125[] = {0x89, 0xFD, 0, 0, 0, 0};
    CHECK_EQ_INT(ws_parse_header(ping125, sizeof ping125, &h), 6);
    uint8_t frag_close[] = {0x08, 0x80, 0, 0, 0, 0};
    CHECK_EQ_INT(ws_parse_header(frag_close, sizeof frag_close, &h), WS_ERROR);
}

TEST(unmask_word_at_a_time_matches_bytewise)
{
    static const uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
    uint8_t data[160], ref[160];
    for (size_t start = 0; start < 8; start++) {
        for (size_t n = 0; n < 100; n++) {
            for (size_t off = 0; off < 4; off++) {
                for (size_t i = 0; i < sizeof data; i++)
                    data[i] = ref[i] = (uint8_t)(i * 7 + n);
                ws_unmask(data + start, n, key, off);
                for (size_t i = 0; i < n; i++)
                    ref[start + i] ^= key[(off + i) & 3];
                CHECK(memcmp(data, ref, sizeof data) == 0);
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * The receive machine: §5.1, §5.4, §5.5
 * ------------------------------------------------------------------------ */

TEST(rx_reassembles_fragments_in_every_chunking)
{
    uint8_t wire[256];
    size_t n = 0;
    n += client_frame(wire + n, false, WS_OP_TEXT, "Hel", 3);
    n += client_frame(wire + n, true, WS_OP_PING, "p", 1); /* between, §5.4 */
    n += client_frame(wire + n, false, WS_OP_CONT, "", 0);
    n += client_frame(wire + n, true, WS_OP_CONT, "lo", 2);
    for (size_t step = 1; step <= n; step++) {
        struct ws_rx rx = fresh_rx(100);
        uint8_t msg[64];
        size_t len;
        int msgs, ctl;
        CHECK_EQ_INT(rx_feed_all(&rx, wire, n, step, msg, &len, &msgs, &ctl), 0);
        CHECK_EQ_INT(msgs, 1);
        CHECK_EQ_INT(ctl, 1);
        CHECK(len == 5 && memcmp(msg, "Hello", 5) == 0);
    }
}

TEST(rx_returns_empty_messages)
{
    uint8_t wire[64];
    size_t n = client_frame(wire, true, WS_OP_TEXT, "", 0);
    n += client_frame(wire + n, true, WS_OP_BINARY, "", 0);
    struct ws_rx rx = fresh_rx(10);
    uint8_t msg[8];
    size_t len;
    int msgs, ctl;
    CHECK_EQ_INT(rx_feed_all(&rx, wire, n, n, msg, &len, &msgs, &ctl), 0);
    CHECK_EQ_INT(msgs, 2);
    CHECK_EQ_INT(len, 0);
}

/* Feed the wire to a fresh receive machine allowing max bytes a message.
 * Returns the close code it fails with, or 0 if every frame was good. */
static int rx_verdict(const uint8_t *wire, size_t n, size_t max)
{
    struct ws_rx rx = fresh_rx(max);
    static uint8_t msg[1 << 17];
    size_t len;
    int msgs, ctl;
    return rx_feed_all(&rx, wire, n, n, msg, &len, &msgs, &ctl);
}

TEST(rejects_unmasked_client_frame)
{
    uint8_t wire[] = {0x81, 0x02, 'h', 'i'};
    CHECK_EQ_INT(rx_verdict(wire, sizeof wire, 100), 1002);
}

TEST(rejects_continuation_with_no_message_open)
{
    uint8_t wire[32];
    size_t n = client_frame(wire, true, WS_OP_CONT, "x", 1);
    CHECK_EQ_INT(rx_verdict(wire, n, 100), 1002);
    /* ... and after a message has ended with FIN. */
    n = client_frame(wire, true, WS_OP_TEXT, "a", 1);
    n += client_frame(wire + n, true, WS_OP_CONT, "b", 1);
    CHECK_EQ_INT(rx_verdict(wire, n, 100), 1002);
}

TEST(rejects_new_data_frame_inside_a_message)
{
    uint8_t wire[32];
    size_t n = client_frame(wire, false, WS_OP_BINARY, "a", 1);
    n += client_frame(wire + n, true, WS_OP_TEXT, "b", 1);
    CHECK_EQ_INT(rx_verdict(wire, n, 100), 1002);
}

TEST(max_message_is_enforced_at_its_edge)
{
    static uint8_t wire[4096];
    static uint8_t payload[1000];
    memset(payload, 'a', sizeof payload);
    size_t n = client_frame(wire, true, WS_OP_TEXT, payload, 1000);
    CHECK_EQ_INT(rx_verdict(wire, n, 1000), 0);
    CHECK_EQ_INT(rx_verdict(wire, n, 999), 1009);
    /* Across fragments the total counts. */
    n = client_frame(wire, false, WS_OP_TEXT, payload, 600);
    n += client_frame(wire + n, true, WS_OP_CONT, payload, 400);
    CHECK_EQ_INT(rx_verdict(wire, n, 1000), 0);
    CHECK_EQ_INT(rx_verdict(wire, n, 999), 1009);
    /* Each message has the whole allowance: the last one's size does
     * not count against the next. */
    n = client_frame(wire, true, WS_OP_TEXT, payload, 1000);
    n += client_frame(wire + n, false, WS_OP_BINARY, payload, 600);
    n += client_frame(wire + n, true, WS_OP_CONT, payload, 400);
    n += client_frame(wire + n, true, WS_OP_BINARY, payload, 1000);
    CHECK_EQ_INT(rx_verdict(wire, n, 1000), 0);
    /* A header claiming 2^63-1 bytes fails at once, with no payload sent. */
    uint8_t huge[] = {0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4};
    CHECK_EQ_INT(rx_verdict(huge, sizeof huge, (size_t)1 << 40), 1009);
    /* A continuation whose length, added to what is open, would pass
     * any size_t on a 32-bit machine: checked without the addition. */
    n = client_frame(wire, false, WS_OP_BINARY, payload, 10);
    uint8_t cont[] = {0x80, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF8, 1, 2, 3, 4};
    memcpy(wire + n, cont, sizeof cont);
    CHECK_EQ_INT(rx_verdict(wire, n + sizeof cont, (size_t)1 << 40), 1009);
}

/* ------------------------------------------------------------------------
 * §8.1: UTF-8
 * ------------------------------------------------------------------------ */

struct utf8_case {
    const char *hex;
    bool valid;
};

/* Autobahn case 6's payloads, plus the classic edges. */
static const struct utf8_case utf8_cases[] = {
    {"48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121", true},
    {"cebae1bdb9cf83cebcceb5", true},
    {"cebae1bdb9cf83cebcceb5eda080656469746564", false}, /* surrogate */
    {"cebae1bdb9cf83cebcceb5f4908080656469746564", false}, /* > U+10FFFF */
    {"00", true}, {"7f", true}, {"c280", true}, {"dfbf", true},
    {"e0a080", true}, {"efbfbf", true}, {"f0908080", true}, {"f48fbfbf", true},
    {"ed9fbf", true}, {"ee8080", true}, {"efbfbd", true}, {"efbfbe", true},
    {"ce", false}, {"cebae1", false}, {"cebae1bd", false}, {"cebae1bdb9cf", false},
    {"80", false}, {"bf", false}, {"80bf80bf", false},
    {"c0", false}, {"c1bf", false}, {"c0af", false}, {"c080", false},  /* overlong */
    {"e080af", false}, {"e09fbf", false}, {"e08080", false},
    {"f08080af", false}, {"f08fbfbf", false}, {"f0808080", false},
    {"f888808080", false}, {"fc8480808080", false}, {"f7bfbfbf", false},
    {"f4908080", false}, {"fe", false}, {"ff", false}, {"fefeffff", false},
    {"eda080", false}, {"edbfbf", false}, {"eda080edb080", false},
    {"c020", false}, {"e020", false}, {"f020", false},
};

static size_t from_hex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static bool utf8_ok(const uint8_t *p, size_t n)
{
    struct ws_utf8 u = {0, 0, 0};
    return ws_utf8_feed(&u, p, n) == 0 && ws_utf8_complete(&u);
}

TEST(utf8_verdict_matches_the_table)
{
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        uint8_t b[64];
        size_t n = from_hex(utf8_cases[i].hex, b);
        check_row(utf8_cases[i].hex);
        CHECK_EQ_INT(utf8_ok(b, n), utf8_cases[i].valid);
    }
    check_row(NULL);
}

/* Split every case at every byte position: same verdict, and an invalid
 * sequence fails in the piece that holds the bad byte, not later. */
TEST(utf8_split_at_every_position_fails_fast)
{
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        uint8_t b[64];
        size_t n = from_hex(utf8_cases[i].hex, b);
        check_row(utf8_cases[i].hex);
        /* Where does the whole-buffer validator first fail? Find it by
         * growing a prefix one byte at a time. */
        size_t bad_at = n;
        for (size_t k = 1; k <= n; k++) {
            struct ws_utf8 u = {0, 0, 0};
            if (ws_utf8_feed(&u, b, k) != 0) {
                bad_at = k - 1;
                break;
            }
        }
        for (size_t cut = 0; cut <= n; cut++) {
            struct ws_utf8 u = {0, 0, 0};
            int first = ws_utf8_feed(&u, b, cut);
            CHECK_EQ_INT(first, cut > bad_at ? -1 : 0);
            if (first == 0) {
                bool ok = ws_utf8_feed(&u, b + cut, n - cut) == 0 &&
                          ws_utf8_complete(&u);
                CHECK_EQ_INT(ok, utf8_cases[i].valid);
            }
        }
    }
    check_row(NULL);
}

TEST(rx_fails_text_fast_inside_an_unfinished_frame)
{
    /* Autobahn 6.4.3: one frame, delivered in chops; the bad bytes must
     * be refused before the rest of the frame arrives. */
    uint8_t payload[64];
    size_t pn = from_hex("cebae1bdb9cf83cebcceb5f4908080656469746564", payload);
    uint8_t wire[96];
    size_t n = client_frame(wire, true, WS_OP_TEXT, payload, pn);
    size_t hdr = n - pn;
    struct ws_rx rx = fresh_rx(1000);
    struct ws_rx_event ev;
    size_t used;
    /* Header and the valid first 11 bytes: accepted. */
    enum ws_rx_kind k = ws_rx_next(&rx, wire, hdr + 11, &used, &ev);
    CHECK_EQ_INT(k, WS_RX_DATA);
    CHECK_EQ_INT(used, hdr + 11);
    /* The next 4 bytes (f4 90 80 80): refused at once. */
    k = ws_rx_next(&rx, wire + hdr + 11, 4, &used, &ev);
    CHECK_EQ_INT(k, WS_RX_ERROR);
    CHECK_EQ_INT(ev.close_code, 1007);
}

TEST(rx_invalid_utf8_split_across_fragments_at_every_position)
{
    uint8_t payload[64];
    size_t pn = from_hex("cebae1bdb9cf83cebcceb5eda080656469746564", payload);
    for (size_t cut = 0; cut <= pn; cut++) {
        uint8_t wire[128];
        size_t n = client_frame(wire, false, WS_OP_TEXT, payload, cut);
        n += client_frame(wire + n, true, WS_OP_CONT, payload + cut, pn - cut);
        CHECK_EQ_INT(rx_verdict(wire, n, 1000), 1007);
    }
    /* A message that ends inside a code point is invalid too. */
    uint8_t wire[32];
    size_t n = client_frame(wire, true, WS_OP_TEXT, "\xce", 1);
    CHECK_EQ_INT(rx_verdict(wire, n, 1000), 1007);
    /* Binary is never checked. */
    n = client_frame(wire, true, WS_OP_BINARY, "\xff\xfe", 2);
    CHECK_EQ_INT(rx_verdict(wire, n, 1000), 0);
}

/* ------------------------------------------------------------------------
 * §7.4: close codes
 * ------------------------------------------------------------------------ */

TEST(close_code_valid_only_if_defined_or_private)
{
    for (unsigned code = 0; code < 70000; code++) {
        bool want = (code >= 1000 && code <= 1003) ||
                    (code >= 1007 && code <= 1014) ||
                    (code >= 3000 && code <= 4999);
        if (ws_close_code_valid(code) != want) {
            CHECK_EQ_INT(code, -1); /* names the first wrong code */
            return;
        }
    }
    CHECK(!ws_close_code_valid(999));
    CHECK(!ws_close_code_valid(1004));
    CHECK(!ws_close_code_valid(1005));
    CHECK(!ws_close_code_valid(1006));
    CHECK(!ws_close_code_valid(1015));
    CHECK(!ws_close_code_valid(1016));
    CHECK(!ws_close_code_valid(2999));
    CHECK(ws_close_code_valid(3000));
    CHECK(ws_close_code_valid(4999));
    CHECK(!ws_close_code_valid(5000));
}

TEST(close_payload_is_empty_or_a_valid_code_then_utf8)
{
    uint16_t code;
    const uint8_t *reason;
    size_t rlen;
    CHECK_EQ_INT(ws_parse_close((const uint8_t *)"", 0, &code, &reason, &rlen), 0);
    CHECK_EQ_INT(code, WS_CLOSE_NO_STATUS);
    CHECK_EQ_INT(ws_parse_close((const uint8_t *)"\x03", 1, &code, &reason, &rlen), 1002);
    CHECK_EQ_INT(ws_parse_close((const uint8_t *)"\x03\xe8ok", 4, &code, &reason, &rlen), 0);
    CHECK_EQ_INT(code, 1000);
    CHECK(rlen == 2 && memcmp(reason, "ok", 2) == 0);
    CHECK_EQ_INT(ws_parse_close((const uint8_t *)"\x03\xe7", 2, &code, &reason, &rlen), 1002);
    CHECK_EQ_INT(ws_parse_close((const uint8_t *)"\x03\xed", 2, &code, &reason, &rlen), 1002);
    CHECK_EQ_INT(ws_parse_close((const uint8_t *)"\x03\xe8\xce", 3, &code, &reason, &rlen), 1007);
    CHECK_EQ_INT(ws_parse_close((const uint8_t *)"\x0f\xa0", 2, &code, &reason, &rlen), 0);
}

int main(void)
{
    RUN(accept_key_matches_rfc_1_3);
    RUN(key_must_be_base64_of_16_bytes);
    RUN(upgrade_checks_follow_4_2_1);
    RUN(origin_policy_follows_10_2);
    RUN(parses_rfc_5_7_examples);
    RUN(every_truncation_needs_more);
    RUN(length_encodings_at_their_boundaries);
    RUN(rejects_length_with_top_bit_set);
    RUN(rejects_rsv_bits_and_reserved_opcodes);
    RUN(rejects_fragmented_or_long_control_frames);
    RUN(unmask_word_at_a_time_matches_bytewise);
    RUN(rx_reassembles_fragments_in_every_chunking);
    RUN(rx_returns_empty_messages);
    RUN(rejects_unmasked_client_frame);
    RUN(rejects_continuation_with_no_message_open);
    RUN(rejects_new_data_frame_inside_a_message);
    RUN(max_message_is_enforced_at_its_edge);
    RUN(utf8_verdict_matches_the_table);
    RUN(utf8_split_at_every_position_fails_fast);
    RUN(rx_fails_text_fast_inside_an_unfinished_frame);
    RUN(rx_invalid_utf8_split_across_fragments_at_every_position);
    RUN(close_code_valid_only_if_defined_or_private);
    RUN(close_payload_is_empty_or_a_valid_code_then_utf8);
    return check_summary("unit_ws");
}
