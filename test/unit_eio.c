/* unit_eio.c -- eio.c checked on byte arrays against engine.io-protocol v4
 * SPDX-License-Identifier: MIT
 *
 * No sockets and no server: every payload here is a literal or is built in
 * memory. The fixtures are the spec's own ("Packet encoding": the two
 * polling examples and the WebSocket one) and RFC 4648 §10's base64
 * vectors. Every decode runs on a heap block of exactly the input's size,
 * and every truncation of each example is decoded too, so under ASan a
 * read one byte past the end is caught where it happens. Each malformed
 * payload is a named table row with the reason it must be refused for.
 */
#include "../eio.h"
#include "check.h"

#include <stdint.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

#define MAX_PACKETS 16

/* What decoding one payload gave, copied out of the decoder's buffer. */
struct decoded {
    int count;          /* packets returned before the end */
    int end;            /* what the last call returned: 0 or -1 */
    const char *why;    /* its reason, when end is -1 */
    size_t pos_at_end;  /* *pos after the last call */
    struct {
        int type;
        bool binary;
        size_t len;
        uint8_t data[512];
    } pkt[MAX_PACKETS];
};

/* Decode src[0..n) from a heap block of exactly n bytes, packet by packet,
 * into d. Checks on the way that each packet lies inside the block and
 * that *pos only moves forward, never past n. */
static void decode(const void *src, size_t n, struct decoded *d)
{
    uint8_t *buf = exact_copy(src, n);
    memset(d, 0, sizeof *d);
    size_t pos = 0;
    for (;;) {
        struct eio_packet p;
        const char *why = NULL;
        size_t before = pos;
        int r = eio_payload_next(buf, n, &pos, &p, &why);
        if (r != 1) {
            d->end = r;
            d->why = why;
            d->pos_at_end = pos;
            CHECK(r == 0 || (r == -1 && why != NULL));
            CHECK(pos == before); /* neither the end nor an error moves it */
            break;
        }
        CHECK(pos > before && pos <= n);
        CHECK(p.data >= buf + before && p.data + p.len <= buf + pos);
        CHECK(p.binary ? p.type == EIO_MESSAGE : p.len < pos - before);
        if (d->count == MAX_PACKETS || p.len > sizeof d->pkt[0].data) {
            CHECK(!"payload larger than the test expects");
            break;
        }
        d->pkt[d->count].type = p.type;
        d->pkt[d->count].binary = p.binary;
        d->pkt[d->count].len = p.len;
        if (p.len)
            memcpy(d->pkt[d->count].data, p.data, p.len);
        d->count++;
    }
    free(buf);
}

/* One packet as a test expects it. */
struct want {
    int type;
    bool binary;
    const char *data;
    size_t len;
};

#define TEXT(type, s) {type, false, s, sizeof s - 1}
#define BINARY(s) {EIO_MESSAGE, true, s, sizeof s - 1}

/* Check d holds exactly the n packets in w, and ended cleanly. */
static void check_packets(const struct decoded *d, const struct want *w, int n)
{
    CHECK_EQ_INT(d->end, 0);
    CHECK_EQ_INT(d->count, n);
    for (int i = 0; i < n && i < d->count; i++) {
        CHECK_EQ_INT(d->pkt[i].type, w[i].type);
        CHECK_EQ_INT(d->pkt[i].binary, w[i].binary);
        CHECK_EQ_INT(d->pkt[i].len, w[i].len);
        CHECK(d->pkt[i].len == w[i].len &&
              memcmp(d->pkt[i].data, w[i].data, w[i].len) == 0);
    }
}

/* Encode the n packets in w as one polling payload into out, joined by
 * separators. Returns its length. */
static size_t encode_payload(const struct want *w, int n, char *out)
{
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0)
            out[o++] = EIO_SEPARATOR;
        o += eio_encode(out + o, w[i].type, w[i].binary,
                        (const uint8_t *)w[i].data, w[i].len);
    }
    return o;
}

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* ------------------------------------------------------------------------
 * The spec's examples ("Packet encoding")
 * ------------------------------------------------------------------------ */

static const char spec_text_payload[] = "4hello\x1e" "2\x1e" "4world";
static const struct want spec_text_packets[] = {
    TEXT(EIO_MESSAGE, "hello"), TEXT(EIO_PING, ""), TEXT(EIO_MESSAGE, "world"),
};
static const char spec_binary_payload[] = "4hello\x1e" "bAQIDBA==";
static const struct want spec_binary_packets[] = {
    TEXT(EIO_MESSAGE, "hello"), BINARY("\x01\x02\x03\x04"),
};

TEST(decodes_spec_text_payload_example)
{
    struct decoded d;
    decode(spec_text_payload, sizeof spec_text_payload - 1, &d);
    check_packets(&d, spec_text_packets, 3);
    CHECK_EQ_INT(d.pos_at_end, sizeof spec_text_payload - 1);
}

TEST(decodes_spec_binary_payload_example_in_place)
{
    uint8_t buf[] = "4hello\x1e" "bAQIDBA==";
    size_t n = sizeof buf - 1, pos = 0;
    struct eio_packet a, b, end;
    const char *why = NULL;
    CHECK_EQ_INT(eio_payload_next(buf, n, &pos, &a, &why), 1);
    CHECK_EQ_INT(pos, 7);
    CHECK_EQ_INT(eio_payload_next(buf, n, &pos, &b, &why), 1);
    CHECK_EQ_INT(pos, n);
    CHECK_EQ_INT(eio_payload_next(buf, n, &pos, &end, &why), 0);
    /* The message still reads "hello" after the next packet decoded; the
     * bytes sit where their base64 began, right after the 'b'. */
    CHECK(a.type == EIO_MESSAGE && !a.binary && a.len == 5 &&
          memcmp(a.data, "hello", 5) == 0);
    CHECK(b.type == EIO_MESSAGE && b.binary && b.len == 4 &&
          memcmp(b.data, "\x01\x02\x03\x04", 4) == 0);
    CHECK(a.data == buf + 1 && b.data == buf + 8);
}

TEST(encodes_spec_payload_examples_byte_for_byte)
{
    char out[64];
    size_t n = encode_payload(spec_text_packets, 3, out);
    CHECK(n == sizeof spec_text_payload - 1 &&
          memcmp(out, spec_text_payload, n) == 0);
    n = encode_payload(spec_binary_packets, 2, out);
    CHECK(n == sizeof spec_binary_payload - 1 &&
          memcmp(out, spec_binary_payload, n) == 0);
}

TEST(decodes_spec_websocket_example)
{
    uint8_t text[] = "4hello";
    struct eio_packet p;
    const char *why = NULL;
    CHECK_EQ_INT(eio_parse_message(text, 6, false, &p, &why), 0);
    CHECK(p.type == EIO_MESSAGE && !p.binary && p.data == text + 1 && p.len == 5);
    /* "Binary payloads are sent as is, without modification." */
    uint8_t bin[] = {0x01, 0x02, 0x03, 0x04};
    CHECK_EQ_INT(eio_parse_message(bin, 4, true, &p, &why), 0);
    CHECK(p.type == EIO_MESSAGE && p.binary && p.data == bin && p.len == 4);
    CHECK(memcmp(bin, "\x01\x02\x03\x04", 4) == 0);
}

/* ------------------------------------------------------------------------
 * Truncation: a POST body cut anywhere
 * ------------------------------------------------------------------------ */

/* True if why is a reason a cut payload may be refused for. */
static bool truncation_reason(const char *why)
{
    static const char *const ok[] = {
        "empty payload", "payload ends with a separator",
        "binary packet is not valid base64", "text packet is not valid UTF-8",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (why && strcmp(why, ok[i]) == 0)
            return true;
    }
    return false;
}

/* Cut src at every length 0..n and decode each prefix in its own exact
 * heap block. Each must give the whole payload's packets in order, the
 * last one possibly shorter (a prefix of its data), then end or fail for
 * a reason a cut can cause. */
static void check_every_truncation(const char *src, size_t n)
{
    struct decoded full, cut;
    decode(src, n, &full);
    CHECK_EQ_INT(full.end, 0);
    for (size_t k = 0; k <= n; k++) {
        decode(src, k, &cut);
        CHECK(cut.count <= full.count);
        for (int i = 0; i < cut.count && i < full.count; i++) {
            bool last = i == cut.count - 1;
            CHECK_EQ_INT(cut.pkt[i].type, full.pkt[i].type);
            CHECK_EQ_INT(cut.pkt[i].binary, full.pkt[i].binary);
            CHECK(last ? cut.pkt[i].len <= full.pkt[i].len
                       : cut.pkt[i].len == full.pkt[i].len);
            CHECK(cut.pkt[i].len > full.pkt[i].len ||
                  memcmp(cut.pkt[i].data, full.pkt[i].data, cut.pkt[i].len) == 0);
        }
        if (cut.end == -1 && !truncation_reason(cut.why))
            fprintf(stderr, "  cut at %zu: \"%s\"\n", k, cut.why);
        CHECK(cut.end == 0 || truncation_reason(cut.why));
        if (k == 0)
            CHECK_EQ_STR(cut.why, "empty payload");
        else if (src[k - 1] == EIO_SEPARATOR)
            CHECK_EQ_STR(cut.why, "payload ends with a separator");
    }
}

TEST(every_truncation_decodes_to_a_prefix_or_fails)
{
    check_every_truncation(spec_text_payload, sizeof spec_text_payload - 1);
    check_every_truncation(spec_binary_payload, sizeof spec_binary_payload - 1);
    /* A cut inside a multi-byte character, and inside base64. */
    static const char more[] = "2probe\x1e" "4\xe2\x82\xac\xf0\x9f\x98\x80\x1e"
                               "bAQIDBAUG\x1e" "5";
    check_every_truncation(more, sizeof more - 1);
}

TEST(every_truncation_of_a_cut_base64_packet_has_a_fixed_verdict)
{
    /* "bAQIDBA==" cut: only whole 4-character groups decode. */
    static const struct { size_t cut; int end; size_t bytes; } rows[] = {
        {1, 0, 0}, {2, -1, 0}, {3, -1, 0}, {4, -1, 0}, {5, 0, 3},
        {6, -1, 0}, {7, -1, 0}, {8, -1, 0}, {9, 0, 4},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct decoded d;
        decode("bAQIDBA==", rows[i].cut, &d);
        CHECK_EQ_INT(d.end, rows[i].end);
        CHECK_EQ_INT(d.count, rows[i].end == 0 ? 1 : 0);
        if (d.end == 0)
            CHECK_EQ_INT(d.pkt[0].len, rows[i].bytes);
        else
            CHECK_EQ_STR(d.why, "binary packet is not valid base64");
    }
}

TEST(every_truncation_of_a_websocket_message_stays_inside_it)
{
    static const char *const msgs[] = {"4hello", "bAQIDBA==", "2probe", "3"};
    for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
        size_t n = strlen(msgs[m]);
        for (size_t k = 0; k <= n; k++) {
            uint8_t *buf = exact_copy(msgs[m], k);
            struct eio_packet p;
            const char *why = NULL;
            int r = eio_parse_message(buf, k, false, &p, &why);
            if (k == 0) {
                CHECK_EQ_INT(r, -1);
                CHECK_EQ_STR(why, "empty text message");
            } else if (r == 0) {
                CHECK(p.data == buf + 1 && p.data + p.len <= buf + k);
            } else {
                CHECK_EQ_STR(why, "binary packet is not valid base64");
            }
            r = eio_parse_message(buf, k, true, &p, &why);
            CHECK(r == 0 && p.binary && p.data == buf && p.len == k);
            free(buf);
        }
    }
}

/* ------------------------------------------------------------------------
 * What a payload may not be
 * ------------------------------------------------------------------------ */

#define ROW(name, bytes, before, why) {name, bytes, sizeof bytes - 1, before, why}

static const struct {
    const char *name;
    const char *bytes;
    size_t len;
    int before; /* good packets returned before the refusal */
    const char *why;
} refused[] = {
    ROW("empty_body", "", 0, "empty payload"),
    ROW("lone_separator", "\x1e", 0, "payload starts with a separator"),
    ROW("leading_separator", "\x1e" "4a", 0, "payload starts with a separator"),
    ROW("double_separator", "4a\x1e\x1e" "4b", 1, "two separators in a row"),
    ROW("trailing_separator", "4a\x1e", 1, "payload ends with a separator"),
    ROW("trailing_separator_after_empty_ping", "2\x1e", 1,
        "payload ends with a separator"),
    ROW("trailing_separator_after_binary", "bAQID\x1e", 1,
        "payload ends with a separator"),
    ROW("type_7", "7", 0, "unknown packet type"),
    ROW("type_letter", "x", 0, "unknown packet type"),
    ROW("type_capital_b", "BAQID", 0, "unknown packet type"),
    ROW("type_nul", "\0" "4", 0, "unknown packet type"),
    ROW("type_non_ascii", "\xc3\xa9", 0, "unknown packet type"),
    ROW("unknown_type_after_a_good_packet", "4a\x1e" "9", 1, "unknown packet type"),
    ROW("base64_length_1", "bA", 0, "binary packet is not valid base64"),
    ROW("base64_short_padding", "bAQ=", 0, "binary packet is not valid base64"),
    ROW("base64_length_7", "bAQIDBA=", 0, "binary packet is not valid base64"),
    ROW("base64_unpadded", "bAQIDBA", 0, "binary packet is not valid base64"),
    ROW("base64_three_pads", "bA===", 0, "binary packet is not valid base64"),
    ROW("base64_only_pads", "b====", 0, "binary packet is not valid base64"),
    ROW("base64_pad_inside_a_group", "bA=QD", 0, "binary packet is not valid base64"),
    ROW("base64_pad_before_the_last_group", "bAQ==AQID", 0,
        "binary packet is not valid base64"),
    ROW("base64_char_outside_alphabet", "bAQ*D", 0, "binary packet is not valid base64"),
    ROW("base64_space", "bAQ D", 0, "binary packet is not valid base64"),
    ROW("base64_line_break", "bAQI\nAQID", 0, "binary packet is not valid base64"),
    ROW("base64url_alphabet", "b-_8=", 0, "binary packet is not valid base64"),
    ROW("base64_bits_under_double_pad", "bAR==", 0, "binary packet is not valid base64"),
    ROW("base64_bits_under_single_pad", "bAQJ=", 0, "binary packet is not valid base64"),
    ROW("bad_base64_after_a_good_packet", "4a\x1e" "b!!!!", 1,
        "binary packet is not valid base64"),
    ROW("utf8_overlong_2_byte", "4\xc0\xaf", 0, "text packet is not valid UTF-8"),
    ROW("utf8_overlong_3_byte", "4\xe0\x80\xaf", 0, "text packet is not valid UTF-8"),
    ROW("utf8_surrogate", "4\xed\xa0\x80", 0, "text packet is not valid UTF-8"),
    ROW("utf8_above_u10ffff", "4\xf4\x90\x80\x80", 0, "text packet is not valid UTF-8"),
    ROW("utf8_stray_continuation", "4\x80", 0, "text packet is not valid UTF-8"),
    ROW("utf8_byte_ff", "4\xff", 0, "text packet is not valid UTF-8"),
    ROW("utf8_truncated_at_the_end", "4\xe2\x82", 0, "text packet is not valid UTF-8"),
    ROW("utf8_truncated_before_a_separator", "4\xe2\x82\x1e" "4a", 0,
        "text packet is not valid UTF-8"),
    ROW("utf8_bad_in_the_second_packet", "4ok\x1e" "4\xc0\xaf", 1,
        "text packet is not valid UTF-8"),
    ROW("utf8_bad_in_a_ping", "2\xed\xa0\x80", 0, "text packet is not valid UTF-8"),
};

TEST(refuses_each_malformed_payload_for_its_reason)
{
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct decoded d;
        decode(refused[i].bytes, refused[i].len, &d);
        bool right = d.end == -1 && d.count == refused[i].before && d.why &&
                     strcmp(d.why, refused[i].why) == 0;
        if (!right)
            fprintf(stderr, "  row %s: end %d after %d packets, \"%s\"\n",
                    refused[i].name, d.end, d.count, d.why ? d.why : "NULL");
        CHECK(right);
    }
}

TEST(accepts_empty_data_every_type_and_multibyte_text)
{
    struct decoded d;
    static const struct want pings[] = {
        TEXT(EIO_PING, ""), TEXT(EIO_NOOP, ""), TEXT(EIO_PONG, ""),
        TEXT(EIO_PONG, "probe"), TEXT(EIO_MESSAGE, ""), BINARY(""),
    };
    static const char p1[] = "2\x1e" "6\x1e" "3\x1e" "3probe\x1e" "4\x1e" "b";
    decode(p1, sizeof p1 - 1, &d);
    check_packets(&d, pings, 6);

    static const char all[] = "0\x1e" "1\x1e" "2\x1e" "3\x1e" "4\x1e" "5\x1e" "6";
    decode(all, sizeof all - 1, &d);
    CHECK_EQ_INT(d.count, 7);
    for (int i = 0; i < d.count; i++)
        CHECK(d.pkt[i].type == '0' + i && !d.pkt[i].binary && d.pkt[i].len == 0);

    /* U+20AC, U+1F600, and control bytes other than 0x1e: all UTF-8. */
    static const struct want text[] = {
        TEXT(EIO_MESSAGE, "\xe2\x82\xac"), TEXT(EIO_MESSAGE, "\xf0\x9f\x98\x80"),
        TEXT(EIO_MESSAGE, "a\x1f\x01\x7f"),
    };
    static const char p2[] = "4\xe2\x82\xac\x1e" "4\xf0\x9f\x98\x80\x1e" "4a\x1f\x01\x7f";
    decode(p2, sizeof p2 - 1, &d);
    check_packets(&d, text, 3);

    decode("4\0", 2, &d); /* U+0000 is valid UTF-8 */
    CHECK(d.end == 0 && d.count == 1 && d.pkt[0].len == 1 && d.pkt[0].data[0] == 0);
}

/* ------------------------------------------------------------------------
 * Base64, RFC 4648
 * ------------------------------------------------------------------------ */

/* Encode n bytes into an exact heap block and compare with want. */
static void check_encodes_to(const void *in, size_t n, const char *want)
{
    size_t len = eio_base64_len(n);
    CHECK_EQ_INT(len, strlen(want));
    char *out = exact_alloc(len);
    CHECK_EQ_INT(eio_base64_encode(in, n, out), len);
    CHECK(memcmp(out, want, len) == 0);
    free(out);
}

/* Decode the text from an exact heap block and compare with want. */
static void check_decodes_to(const char *text, const void *want, size_t n)
{
    size_t len = strlen(text);
    char *in = (char *)exact_copy(text, len);
    uint8_t out[64];
    CHECK_EQ_INT(eio_base64_decode(in, len, out), (long)n);
    CHECK(memcmp(out, want, n) == 0);
    free(in);
}

TEST(base64_matches_rfc_4648_section_10)
{
    static const char *const vec[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        check_encodes_to(vec[i][0], strlen(vec[i][0]), vec[i][1]);
        check_decodes_to(vec[i][1], vec[i][0], strlen(vec[i][0]));
    }
}

TEST(base64_of_zero_to_three_bytes)
{
    static const uint8_t b[] = {0x01, 0x02, 0x03};
    static const char *const want[] = {"", "AQ==", "AQI=", "AQID"};
    for (size_t n = 0; n <= 3; n++) {
        check_encodes_to(b, n, want[n]);
        check_decodes_to(want[n], b, n);
    }
    CHECK_EQ_INT(eio_base64_len(4), 8);
    CHECK_EQ_INT(eio_base64_len(6), 8);
    CHECK_EQ_INT(eio_base64_len(7), 12);
}

#define B64(s) {s, sizeof s - 1}

TEST(base64_refuses_bad_padding_length_and_alphabet)
{
    static const struct { const char *text; size_t len; } bad[] = {
        B64("AQ="), B64("A==="), B64("===="), B64("A"), B64("AQ"), B64("AQI"),
        B64("AQIDA"), B64("A*=="), B64("AQ=A"), B64("=AQI"), B64("AQ==AQ=="),
        B64("AQI=AQID"), B64("AR=="), B64("AQJ="), B64("AQ\n="),
        B64("Zm9v\r\n"), B64("Zm9v    "), B64("Zm-_"), B64("Zm9v\0\0\0\0"),
        B64("\xc3\xa9=="),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *in = (char *)exact_copy(bad[i].text, bad[i].len);
        uint8_t out[16];
        long r = eio_base64_decode(in, bad[i].len, out);
        if (r != -1)
            fprintf(stderr, "  base64 row %zu decoded to %ld bytes\n", i, r);
        CHECK_EQ_INT(r, -1);
        free(in);
    }
}

TEST(base64_decodes_over_its_own_text)
{
    char buf[] = "Zm9vYmFyZm9vYg==";
    long n = eio_base64_decode(buf, 16, (uint8_t *)buf);
    CHECK_EQ_INT(n, 10);
    CHECK(memcmp(buf, "foobarfoob", 10) == 0);
}

TEST(base64_round_trips_every_byte_value_and_random_data)
{
    /* Lengths 0..256 count up through every byte value; longer ones are
     * random. Each buffer is an exact heap block. */
    for (size_t n = 0; n <= 300; n++) {
        uint8_t *in = exact_alloc(n);
        for (size_t i = 0; i < n; i++)
            in[i] = n <= 256 ? (uint8_t)i : (uint8_t)rng();
        char *text = exact_alloc(eio_base64_len(n));
        size_t tlen = eio_base64_encode(in, n, text);
        CHECK_EQ_INT(tlen, eio_base64_len(n));
        uint8_t *back = exact_alloc(n);
        CHECK_EQ_INT(eio_base64_decode(text, tlen, back), (long)n);
        CHECK(n == 0 || memcmp(back, in, n) == 0);
        free(back);
        free(text);
        free(in);
    }
}

/* ------------------------------------------------------------------------
 * Encoding, and the round trip
 * ------------------------------------------------------------------------ */

TEST(encoded_len_is_what_encode_writes)
{
    uint8_t data[40];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)('a' + i % 26);
    for (size_t n = 0; n <= sizeof data; n++) {
        for (int binary = 0; binary <= 1; binary++) {
            size_t len = eio_encoded_len(binary, n);
            CHECK_EQ_INT(len, binary ? 1 + (n + 2) / 3 * 4 : 1 + n);
            char *out = exact_alloc(len);
            CHECK_EQ_INT(eio_encode(out, EIO_MESSAGE, binary, data, n), len);
            CHECK_EQ_INT(out[0], binary ? 'b' : '4');
            free(out);
        }
    }
    char out[8];
    CHECK_EQ_INT(eio_encode(out, EIO_PING, false, NULL, 0), 1);
    CHECK_EQ_INT(out[0], '2');
    CHECK_EQ_INT(eio_encode(out, EIO_MESSAGE, true, NULL, 0), 1);
    CHECK_EQ_INT(out[0], 'b');
    CHECK_EQ_INT(eio_encode(out, EIO_MESSAGE, true, (const uint8_t *)"\x01\x02\x03", 3), 5);
    CHECK(memcmp(out, "bAQID", 5) == 0);
}

/* Random text that is valid UTF-8 and holds no separator. */
static size_t random_text(char *out, size_t max)
{
    static const char *const pieces[] = {
        "a", "Z", " ", "[", "\"", "\x01", "\x1f", "\x7f", "\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf",
    };
    size_t n = 0;
    size_t count = rng() % 12;
    for (size_t i = 0; i < count; i++) {
        const char *p = pieces[rng() % (sizeof pieces / sizeof pieces[0])];
        size_t len = strlen(p);
        if (n + len > max)
            break;
        memcpy(out + n, p, len);
        n += len;
    }
    return n;
}

TEST(payload_of_random_packets_round_trips)
{
    static char store[MAX_PACKETS][120];
    for (int round = 0; round < 500; round++) {
        struct want w[MAX_PACKETS];
        int count = 1 + (int)(rng() % MAX_PACKETS);
        size_t total = 0;
        for (int i = 0; i < count; i++) {
            w[i].binary = rng() % 3 == 0;
            w[i].type = w[i].binary ? EIO_MESSAGE : '0' + (int)(rng() % 7);
            if (w[i].binary) {
                w[i].len = rng() % 90;
                for (size_t j = 0; j < w[i].len; j++)
                    store[i][j] = (char)rng();
            } else {
                w[i].len = random_text(store[i], 90);
            }
            w[i].data = store[i];
            total += eio_encoded_len(w[i].binary, w[i].len) + 1;
        }
        char *body = exact_alloc(total - 1);
        size_t n = encode_payload(w, count, body);
        CHECK_EQ_INT(n, total - 1);
        struct decoded d;
        decode(body, n, &d);
        check_packets(&d, w, count);
        free(body);
    }
}

/* ------------------------------------------------------------------------
 * WebSocket messages, the separator, names
 * ------------------------------------------------------------------------ */

TEST(parse_message_reads_each_kind_of_frame)
{
    struct eio_packet p;
    const char *why = NULL;
    uint8_t empty[1] = {0};
    CHECK_EQ_INT(eio_parse_message(empty, 0, true, &p, &why), 0);
    CHECK(p.binary && p.type == EIO_MESSAGE && p.len == 0);
    CHECK_EQ_INT(eio_parse_message(empty, 0, false, &p, &why), -1);
    CHECK_EQ_STR(why, "empty text message");

    uint8_t seven[] = "7";
    CHECK_EQ_INT(eio_parse_message(seven, 1, false, &p, &why), -1);
    CHECK_EQ_STR(why, "unknown packet type");
    uint8_t sep[] = "\x1e";
    CHECK_EQ_INT(eio_parse_message(sep, 1, false, &p, &why), -1);
    CHECK_EQ_STR(why, "unknown packet type");

    uint8_t probe[] = "2probe";
    CHECK_EQ_INT(eio_parse_message(probe, 6, false, &p, &why), 0);
    CHECK(p.type == EIO_PING && !p.binary && p.len == 5 && memcmp(p.data, "probe", 5) == 0);
    uint8_t upgrade[] = "5";
    CHECK_EQ_INT(eio_parse_message(upgrade, 1, false, &p, &why), 0);
    CHECK(p.type == EIO_UPGRADE && p.len == 0);

    /* The engine.io client's forceBase64: binary as 'b' + base64 text. */
    uint8_t b64[] = "bAQID";
    CHECK_EQ_INT(eio_parse_message(b64, 5, false, &p, &why), 0);
    CHECK(p.type == EIO_MESSAGE && p.binary && p.data == b64 + 1 && p.len == 3 &&
          memcmp(p.data, "\x01\x02\x03", 3) == 0);
    uint8_t badb64[] = "b!";
    CHECK_EQ_INT(eio_parse_message(badb64, 2, false, &p, &why), -1);
    CHECK_EQ_STR(why, "binary packet is not valid base64");

    /* A binary frame that looks like text is still bytes. */
    uint8_t looks[] = "4hi";
    CHECK_EQ_INT(eio_parse_message(looks, 3, true, &p, &why), 0);
    CHECK(p.binary && p.type == EIO_MESSAGE && p.data == looks && p.len == 3);
}

TEST(parse_message_leaves_utf8_to_ws_c)
{
    /* ws.c checked a text message before it was whole (RFC 6455 §8.1);
     * checking again here would only cost time. */
    struct eio_packet p;
    const char *why = NULL;
    uint8_t raw[] = "4\xff";
    CHECK_EQ_INT(eio_parse_message(raw, 2, false, &p, &why), 0);
}

TEST(polling_safe_refuses_text_holding_a_separator)
{
    CHECK(eio_polling_safe(false, (const uint8_t *)"hello", 5));
    CHECK(eio_polling_safe(false, NULL, 0));
    CHECK(!eio_polling_safe(false, (const uint8_t *)"a\x1e" "1", 3));
    CHECK(eio_polling_safe(true, (const uint8_t *)"a\x1e" "1", 3));
}

TEST(type_names_for_trace)
{
    static const char *const names[] = {
        "open", "close", "ping", "pong", "message", "upgrade", "noop",
    };
    for (int i = 0; i < 7; i++)
        CHECK_EQ_STR(eio_type_name('0' + i), names[i]);
    CHECK_EQ_STR(eio_type_name('7'), "?");
    CHECK_EQ_STR(eio_type_name('b'), "?");
    CHECK_EQ_STR(eio_type_name(0), "?");
    CHECK_EQ_STR(eio_type_name(4), "?"); /* the character, not the number */
}

int main(void)
{
    RUN(decodes_spec_text_payload_example);
    RUN(decodes_spec_binary_payload_example_in_place);
    RUN(encodes_spec_payload_examples_byte_for_byte);
    RUN(decodes_spec_websocket_example);
    RUN(every_truncation_decodes_to_a_prefix_or_fails);
    RUN(every_truncation_of_a_cut_base64_packet_has_a_fixed_verdict);
    RUN(every_truncation_of_a_websocket_message_stays_inside_it);
    RUN(refuses_each_malformed_payload_for_its_reason);
    RUN(accepts_empty_data_every_type_and_multibyte_text);
    RUN(base64_matches_rfc_4648_section_10);
    RUN(base64_of_zero_to_three_bytes);
    RUN(base64_refuses_bad_padding_length_and_alphabet);
    RUN(base64_decodes_over_its_own_text);
    RUN(base64_round_trips_every_byte_value_and_random_data);
    RUN(encoded_len_is_what_encode_writes);
    RUN(payload_of_random_packets_round_trips);
    RUN(parse_message_reads_each_kind_of_frame);
    RUN(parse_message_leaves_utf8_to_ws_c);
    RUN(polling_safe_refuses_text_holding_a_separator);
    RUN(type_names_for_trace);
    return check_summary("unit_eio");
}
