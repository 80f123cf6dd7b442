/* unit_resp.c -- resp.c checked on byte arrays against the RESP2 spec
 * SPDX-License-Identifier: MIT
 *
 * No sockets and no Redis: every reply here is a literal or is built in
 * memory. The fixtures are the spec's own examples ("Redis serialization
 * protocol specification") and the pub/sub traffic of a socket.io node
 * on Redis (the adapter notes, shared/specs/socket.io-redis-adapter.md
 * §2, §4), written out by hand from those documents, a pmessage with a binary
 * msgpack payload holding CR, LF and NUL among them. Every decode runs on
 * a heap block of exactly the input's size, and every truncation of each
 * fixture must ask for more, so under ASan a read one byte past the end is
 * caught where it happens. Each malformed reply is a named row with the
 * reason it is refused for and the shortest prefix that already fails.
 * Each limit is tried at its edge and one past it.
 */
#include "../resp.h"
#include "check.h"

#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t rng_state = 4242;
static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Append s to out at *o, bytes that are not printable ASCII (and the
 * quote and backslash) as \xNN. */
static void put_escaped(char *out, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            *o += (size_t)sprintf(out + *o, "\\x%02x", c);
        else
            out[(*o)++] = (char)c;
    }
}

/* Write value i of r, and all inside it, as text: +"OK", -"ERR x", :12,
 * "bulk", nil, [a, b]. Returns the index of the value after it. */
static size_t render_at(const struct resp_reply *r, size_t i, char *out,
                        size_t *o)
{
    const struct resp_value *v = &r->v[i];
    switch (v->type) {
    case RESP_T_SIMPLE:
    case RESP_T_ERROR:
        out[(*o)++] = (char)v->type;
        /* fall through */
    case RESP_T_BULK:
        out[(*o)++] = '"';
        put_escaped(out, o, v->str, v->len);
        out[(*o)++] = '"';
        return i + 1;
    case RESP_T_INTEGER:
        *o += (size_t)sprintf(out + *o, ":%lld", (long long)v->integer);
        return i + 1;
    case RESP_T_NIL:
        *o += (size_t)sprintf(out + *o, "nil");
        return i + 1;
    case RESP_T_ARRAY: {
        size_t next = i + 1;
        out[(*o)++] = '[';
        for (size_t e = 0; e < v->nelems; e++) {
            if (e > 0) {
                out[(*o)++] = ',';
                out[(*o)++] = ' ';
            }
            next = render_at(r, next, out, o);
        }
        out[(*o)++] = ']';
        return next;
    }
    default:
        *o += (size_t)sprintf(out + *o, "?%d", v->type);
        return i + 1;
    }
}

/* The whole reply as text, in a static buffer. */
static const char *render(const struct resp_reply *r)
{
    static char out[4 * RESP_MAX_LINE + 64]; /* any line, escaped */
    size_t o = 0;
    if (r->n > 0)
        render_at(r, 0, out, &o);
    out[o] = '\0';
    return out;
}

/* Check the table of a decoded reply against itself and its buffer
 * buf[0..used): every string lies inside it, in order; every span is
 * 1 for a scalar and 1 plus its elements' spans for an array; nothing
 * is left over. */
static void check_table(const struct resp_reply *r, const char *buf,
                        size_t used)
{
    CHECK(r->n >= 1 && r->n <= RESP_MAX_ELEMS);
    CHECK_EQ_INT(r->v[0].span, r->n);
    const char *last = buf;
    for (size_t i = 0; i < r->n && i < RESP_MAX_ELEMS; i++) {
        const struct resp_value *v = &r->v[i];
        if (v->str) {
            CHECK(v->str > last && v->str + v->len <= buf + used);
            last = v->str + v->len;
        }
        if (v->type == RESP_T_ARRAY) {
            size_t sum = 1, j = i + 1;
            for (size_t e = 0; e < v->nelems && j < r->n; e++) {
                sum += r->v[j].span;
                j += r->v[j].span;
            }
            CHECK_EQ_INT(v->span, sum);
        } else {
            CHECK_EQ_INT(v->span, 1);
            CHECK_EQ_INT(v->nelems, 0);
        }
    }
}

/* Decode src[0..n) from an exact heap block. Returns what resp_parse did;
 * on success *text is the reply rendered (static storage), on error *why
 * is the reason. */
static ptrdiff_t decode(const void *src, size_t n, size_t max_bulk,
                        const char **text, const char **why)
{
    char *buf = (char *)exact_copy(src, n);
    if (n == 0)
        buf[0] = 0; /* exact_copy's one byte for an empty input: set it */
    struct resp_reply r;
    *why = NULL;
    *text = "";
    ptrdiff_t got = resp_parse(buf, n, max_bulk, &r, why);
    if (got > 0) {
        CHECK((size_t)got <= n);
        check_table(&r, buf, (size_t)got);
        *text = render(&r);
    } else {
        CHECK_EQ_INT(r.n, 0);
        CHECK(got == RESP_NEED_MORE || (got == RESP_ERROR && *why != NULL));
    }
    free(buf);
    return got;
}

/* ------------------------------------------------------------------------
 * Fixtures: the spec's examples, and socket.io's traffic on Redis
 * ------------------------------------------------------------------------ */

/* A broadcast as the adapter publishes it (adapter notes §4), its one
 * argument a Buffer: msgpack [uid, {type, data: ["bin", <bin>], nsp},
 * {rooms, except, flags}]. The bin bytes are CR LF NUL 0xff '$': what a
 * reader that scans payloads for CRLF, or stops at NUL, gets wrong. */
#define BROADCAST_PAYLOAD                                                  \
    "\x93" "\xa6" "fZY28M" "\x83" "\xa4" "type" "\x02" "\xa4" "data"       \
    "\x92" "\xa3" "bin" "\xc4\x05" "\r\n\0\xff$" "\xa3" "nsp" "\xa1" "/"   \
    "\x83" "\xa5" "rooms" "\x90" "\xa6" "except" "\x90" "\xa5" "flags" "\x80"

#define PMESSAGE_WIRE                                                      \
    "*4\r\n$8\r\npmessage\r\n$13\r\nsocket.io#/#*\r\n"                     \
    "$12\r\nsocket.io#/#\r\n$61\r\n" BROADCAST_PAYLOAD "\r\n"

#define REQUEST_JSON "{\"uid\":\"fZY28M\",\"requestId\":\"qeDFBh\",\"type\":1}"

struct fixture {
    const char *name;
    const char *wire;
    size_t len;
    const char *want; /* render() of the reply; NULL: checked elsewhere */
};

#define FIX(name, wire, want) {name, wire, sizeof wire - 1, want}

static const struct fixture fixtures[] = {
    /* "Simple strings", "Simple errors" */
    FIX("simple_ok", "+OK\r\n", "+\"OK\""),
    FIX("simple_empty", "+\r\n", "+\"\""),
    FIX("error_noauth", "-NOAUTH Authentication required.\r\n",
        "-\"NOAUTH Authentication required.\""),
    FIX("error_wrongpass",
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        "-\"WRONGPASS invalid username-password pair or user is disabled.\""),
    /* "Integers" */
    FIX("integer_zero", ":0\r\n", ":0"),
    FIX("integer_1000", ":1000\r\n", ":1000"),
    FIX("integer_negative", ":-1\r\n", ":-1"),
    FIX("integer_int64_max", ":9223372036854775807\r\n", ":9223372036854775807"),
    FIX("integer_int64_min", ":-9223372036854775808\r\n", ":-9223372036854775808"),
    /* "Bulk strings", "Null bulk strings" */
    FIX("bulk_hello", "$5\r\nhello\r\n", "\"hello\""),
    FIX("bulk_empty", "$0\r\n\r\n", "\"\""),
    FIX("bulk_nil", "$-1\r\n", "nil"),
    FIX("bulk_holding_crlf_and_nul", "$6\r\na\r\n\0\r\n\r\n",
        "\"a\\x0d\\x0a\\x00\\x0d\\x0a\""),
    FIX("bulk_ten_bytes", "$10\r\n0123456789\r\n", "\"0123456789\""),
    /* "Arrays", "Null arrays", "Null elements in arrays" */
    FIX("array_empty", "*0\r\n", "[]"),
    FIX("array_nil", "*-1\r\n", "nil"),
    FIX("array_of_two_bulks", "*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n",
        "[\"hello\", \"world\"]"),
    FIX("array_of_integers", "*3\r\n:1\r\n:2\r\n:3\r\n", "[:1, :2, :3]"),
    FIX("array_mixed", "*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n",
        "[:1, :2, :3, :4, \"hello\"]"),
    FIX("array_nested", "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
        "[[:1, :2, :3], [+\"Hello\", -\"World\"]]"),
    FIX("array_with_nil_element", "*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n",
        "[\"hello\", nil, \"world\"]"),
    FIX("array_holding_empty_arrays", "*3\r\n*0\r\n*1\r\n*0\r\n*-1\r\n",
        "[[], [[]], nil]"),
    /* What the adapter's commands get back (adapter notes §2, §6, §10) */
    FIX("auth_or_select_ok", "+OK\r\n", "+\"OK\""),
    FIX("publish_reached_two", ":2\r\n", ":2"),
    FIX("pubsub_numsub", "*2\r\n$20\r\nsocket.io-request#/#\r\n:3\r\n",
        "[\"socket.io-request#/#\", :3]"),
    FIX("psubscribe_confirmed",
        "*3\r\n$10\r\npsubscribe\r\n$13\r\nsocket.io#/#*\r\n:1\r\n",
        "[\"psubscribe\", \"socket.io#/#*\", :1]"),
    FIX("subscribe_request_channel",
        "*3\r\n$9\r\nsubscribe\r\n$20\r\nsocket.io-request#/#\r\n:2\r\n",
        "[\"subscribe\", \"socket.io-request#/#\", :2]"),
    FIX("subscribe_response_channel",
        "*3\r\n$9\r\nsubscribe\r\n$21\r\nsocket.io-response#/#\r\n:3\r\n",
        "[\"subscribe\", \"socket.io-response#/#\", :3]"),
    FIX("subscribe_own_response_channel",
        "*3\r\n$9\r\nsubscribe\r\n$28\r\nsocket.io-response#/#fZY28M#\r\n:4\r\n",
        "[\"subscribe\", \"socket.io-response#/#fZY28M#\", :4]"),
    FIX("message_with_a_json_request",
        "*3\r\n$7\r\nmessage\r\n$20\r\nsocket.io-request#/#\r\n$46\r\n"
        REQUEST_JSON "\r\n",
        "[\"message\", \"socket.io-request#/#\", "
        "\"{\\x22uid\\x22:\\x22fZY28M\\x22,\\x22requestId\\x22:\\x22qeDFBh\\x22,"
        "\\x22type\\x22:1}\"]"),
    FIX("pmessage_with_a_binary_broadcast", PMESSAGE_WIRE, NULL),
    FIX("unsubscribe_with_none_left", "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
        "[\"unsubscribe\", nil, :0]"),
    FIX("punsubscribe_pattern",
        "*3\r\n$12\r\npunsubscribe\r\n$13\r\nsocket.io#/#*\r\n:0\r\n",
        "[\"punsubscribe\", \"socket.io#/#*\", :0]"),
    FIX("pong_while_subscribed", "*2\r\n$4\r\npong\r\n$0\r\n\r\n",
        "[\"pong\", \"\"]"),
    FIX("pong_with_data", "*2\r\n$4\r\npong\r\n$5\r\nhello\r\n",
        "[\"pong\", \"hello\"]"),
    FIX("pong_unsubscribed", "+PONG\r\n", "+\"PONG\""),
};

#define NFIXTURES (sizeof fixtures / sizeof fixtures[0])

TEST(decodes_every_fixture)
{
    for (size_t i = 0; i < NFIXTURES; i++) {
        const struct fixture *f = &fixtures[i];
        check_row(f->name);
        const char *text, *why;
        CHECK_EQ_INT(decode(f->wire, f->len, RESP_MAX_BULK, &text, &why),
                     (ptrdiff_t)f->len);
        if (f->want)
            CHECK_EQ_STR(text, f->want);
    }
    check_row(NULL);
}

TEST(decodes_the_binary_pmessage_byte_for_byte)
{
    static const char wire[] = PMESSAGE_WIRE;
    static const char payload[] = BROADCAST_PAYLOAD;
    size_t n = sizeof wire - 1, plen = sizeof payload - 1;
    CHECK_EQ_INT(plen, 61);
    char *buf = (char *)exact_copy(wire, n);
    struct resp_reply r;
    const char *why = NULL;
    CHECK_EQ_INT(resp_parse(buf, n, RESP_MAX_BULK, &r, &why), (ptrdiff_t)n);
    CHECK_EQ_INT(r.n, 5);
    CHECK(r.v[0].type == RESP_T_ARRAY && r.v[0].nelems == 4 && r.v[0].span == 5);
    CHECK(r.v[4].type == RESP_T_BULK && r.v[4].len == plen &&
          memcmp(r.v[4].str, payload, plen) == 0);
    /* The payload is not copied: it is where it was in the buffer. */
    CHECK(r.v[4].str == buf + n - 2 - plen);
    free(buf);
}

TEST(every_truncation_needs_more)
{
    for (size_t i = 0; i < NFIXTURES; i++) {
        const struct fixture *f = &fixtures[i];
        check_row(f->name);
        for (size_t k = 0; k < f->len; k++) {
            const char *text, *why;
            ptrdiff_t got = decode(f->wire, k, RESP_MAX_BULK, &text, &why);
            if (got != RESP_NEED_MORE)
                fprintf(stderr, "  cut at %zu: %td (%s)\n", k, got, why ? why : "");
            CHECK_EQ_INT(got, RESP_NEED_MORE);
        }
    }
    check_row(NULL);
}

TEST(stops_at_the_end_of_the_first_reply)
{
    /* Pipelined replies share a buffer: each call takes exactly one. */
    for (size_t i = 0; i < NFIXTURES; i++) {
        const struct fixture *f = &fixtures[i];
        check_row(f->name);
        char two[512];
        CHECK(2 * f->len <= sizeof two);
        memcpy(two, f->wire, f->len);
        memcpy(two + f->len, f->wire, f->len);
        const char *text, *why;
        CHECK_EQ_INT(decode(two, f->len + 1, RESP_MAX_BULK, &text, &why),
                     (ptrdiff_t)f->len);
        CHECK_EQ_INT(decode(two, 2 * f->len, RESP_MAX_BULK, &text, &why),
                     (ptrdiff_t)f->len);
    }
    check_row(NULL);
}

TEST(a_stream_read_in_pieces_gives_each_reply_once)
{
    /* All fixtures back to back, arriving the way recv() might hand them
     * over: a few bytes at a time, sizes varying. Each reply is taken
     * off the front as soon as it is whole, as the poll loop will. */
    static char wire[8192], pending[8192];
    size_t total = 0;
    for (size_t i = 0; i < NFIXTURES; i++) {
        memcpy(wire + total, fixtures[i].wire, fixtures[i].len);
        total += fixtures[i].len;
    }
    for (int round = 0; round < 50; round++) {
        size_t sent = 0, have = 0, next = 0;
        while (sent < total || have > 0) {
            size_t step = 1 + rng() % (round < 10 ? 1 + (size_t)round : 97);
            if (step > total - sent)
                step = total - sent;
            memcpy(pending + have, wire + sent, step);
            have += step;
            sent += step;
            for (;;) {
                struct resp_reply r;
                const char *why = NULL;
                ptrdiff_t got = resp_parse(pending, have, RESP_MAX_BULK, &r, &why);
                CHECK(got >= 0);
                if (got <= 0)
                    break;
                CHECK(next < NFIXTURES && (size_t)got == fixtures[next].len &&
                      memcmp(pending, fixtures[next].wire, (size_t)got) == 0);
                next++;
                memmove(pending, pending + got, have - (size_t)got);
                have -= (size_t)got;
            }
            if (step == 0)
                break;
        }
        CHECK_EQ_INT(next, NFIXTURES);
        CHECK_EQ_INT(have, 0);
    }
}

/* ------------------------------------------------------------------------
 * Malformed replies: each refused for its reason, as early as it can be
 * ------------------------------------------------------------------------ */

struct bad_reply {
    const char *name;
    const char *wire;
    size_t len;
    size_t at;       /* the shortest prefix that fails; shorter ones need more */
    const char *why;
};

#define BAD(name, wire, at, why) {name, wire, sizeof wire - 1, at, why}

/* "*1\r\n" eight times: eight arrays, one inside another. */
#define EIGHT_DEEP "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
/* 31 integers, filling a *31. */
#define INTS_31                                                            \
    ":1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n"   \
    ":1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n"   \
    ":1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n"

static const struct bad_reply bad_replies[] = {
    /* "RESP protocol description": the first byte is the type. */
    BAD("unknown_type_byte", "?\r\n", 1, "unknown type byte"),
    BAD("resp3_map", "%1\r\n+a\r\n+b\r\n", 1, "unknown type byte"),
    BAD("resp3_push", ">3\r\n$7\r\nmessage\r\n", 1, "unknown type byte"),
    BAD("resp3_null", "_\r\n", 1, "unknown type byte"),
    BAD("inline_text", "OK\r\n", 1, "unknown type byte"),
    BAD("nul_type_byte", "\0\r\n", 1, "unknown type byte"),
    /* Lengths ("Bulk strings", "Arrays"): digits, or exactly -1. */
    BAD("length_not_digits", "$abc\r\n", 2, "number is not digits"),
    BAD("length_empty", "$\r\n", 2, "number is not digits"),
    BAD("length_with_plus", "$+5\r\nhello\r\n", 2, "number is not digits"),
    BAD("length_with_space", "$ 5\r\nhello\r\n", 2, "number is not digits"),
    BAD("length_with_trailing_space", "$5 \r\nhello\r\n", 3, "number is not digits"),
    BAD("length_bare_minus", "$-\r\n", 3, "number is not digits"),
    BAD("length_ended_by_lf_alone", "*1\n:1\r\n", 3, "number is not digits"),
    BAD("length_cr_without_lf", "*1\r:1\r\n", 4, "CR not followed by LF"),
    BAD("length_leading_zero", "$05\r\nhello\r\n", 3, "number has a leading zero"),
    BAD("length_minus_zero", "$-0\r\n", 3, "number has a leading zero"),
    BAD("length_twenty_nines", "$99999999999999999999\r\n", 20, "number out of range"),
    BAD("bulk_length_minus_two", "$-2\r\n", 5, "negative length other than -1"),
    BAD("bulk_length_minus_ten", "$-10\r\nhelloworld\r\n", 6,
        "negative length other than -1"),
    BAD("array_length_minus_five", "*-5\r\n", 5, "negative length other than -1"),
    BAD("bulk_over_proto_max_bulk_len", "$536870913\r\n", 12, "bulk string too long"),
    /* "Bulk strings": exactly length bytes, then CRLF. */
    BAD("bulk_missing_crlf", "$5\r\nhelloXY", 10, "bulk string not followed by CRLF"),
    BAD("bulk_missing_lf", "$5\r\nhello\rX", 11, "bulk string not followed by CRLF"),
    BAD("bulk_ended_by_lf_alone", "$5\r\nhello\n\r", 10,
        "bulk string not followed by CRLF"),
    BAD("bulk_longer_than_its_length", "$3\r\nhello\r\n", 8,
        "bulk string not followed by CRLF"),
    /* "Integers": a signed 64-bit number, one spelling. */
    BAD("integer_over_int64_max", ":9223372036854775808\r\n", 20, "number out of range"),
    BAD("integer_under_int64_min", ":-9223372036854775809\r\n", 21, "number out of range"),
    BAD("integer_twenty_nines", ":99999999999999999999\r\n", 20, "number out of range"),
    BAD("integer_with_plus", ":+1\r\n", 2, "number is not digits"),
    BAD("integer_empty", ":\r\n", 2, "number is not digits"),
    BAD("integer_leading_zero", ":007\r\n", 3, "number has a leading zero"),
    BAD("integer_minus_zero", ":-0\r\n", 3, "number has a leading zero"),
    BAD("integer_with_fraction", ":1.5\r\n", 3, "number is not digits"),
    BAD("integer_cr_without_lf", ":1\rX", 4, "CR not followed by LF"),
    /* "Simple strings": no CR or LF inside. */
    BAD("simple_cr_without_lf", "+OK\rX\n", 5, "CR not followed by LF"),
    BAD("simple_lf_without_cr", "+OK\n", 4, "LF without CR"),
    BAD("error_lf_without_cr", "-ERR\nmore\r\n", 5, "LF without CR"),
    /* RESP_MAX_ELEMS: known from the count, before the elements come. */
    BAD("array_of_64_fills_more_than_64", "*64\r\n", 5, "too many elements"),
    BAD("array_of_huge_count", "*9223372036854775807\r\n", 22, "too many elements"),
    BAD("nested_count_over_what_is_left", "*2\r\n*62\r\n", 9, "too many elements"),
    BAD("second_array_over_what_is_left", "*2\r\n*31\r\n" INTS_31 "*31\r\n",
        138, "too many elements"),
    /* RESP_MAX_DEPTH */
    BAD("nine_arrays_deep", EIGHT_DEEP "*1\r\n:1\r\n", 36, "arrays nested too deep"),
    BAD("empty_array_nine_deep", EIGHT_DEEP "*0\r\n", 36, "arrays nested too deep"),
    /* A bad element fails the whole reply. */
    BAD("bad_element_inside_an_array", "*3\r\n$3\r\nfoo\r\n$x\r\n", 15,
        "number is not digits"),
};

#define NBAD (sizeof bad_replies / sizeof bad_replies[0])

TEST(refuses_each_malformed_reply_as_soon_as_it_can)
{
    for (size_t i = 0; i < NBAD; i++) {
        const struct bad_reply *b = &bad_replies[i];
        check_row(b->name);
        for (size_t k = 0; k <= b->len; k++) {
            const char *text, *why;
            ptrdiff_t got = decode(b->wire, k, RESP_MAX_BULK, &text, &why);
            if (k < b->at) {
                CHECK_EQ_INT(got, RESP_NEED_MORE);
            } else {
                CHECK_EQ_INT(got, RESP_ERROR);
                CHECK_EQ_STR(why, b->why);
            }
        }
    }
    check_row(NULL);
}

/* ------------------------------------------------------------------------
 * Limits, each at its edge and one past it
 * ------------------------------------------------------------------------ */

TEST(bulk_cap_from_the_caller_is_enforced_at_its_edge)
{
    /* As for a server run with --max-message 16. */
    const char *text, *why;
    static const char at16[] = "$16\r\n0123456789abcdef\r\n";
    CHECK_EQ_INT(decode(at16, sizeof at16 - 1, 16, &text, &why),
                 (ptrdiff_t)(sizeof at16 - 1));
    static const char at17[] = "$17\r\n0123456789abcdefg\r\n";
    CHECK_EQ_INT(decode(at17, sizeof at17 - 1, 16, &text, &why), RESP_ERROR);
    CHECK_EQ_STR(why, "bulk string too long");
    /* Refused at the header, before any of its bytes arrive. */
    CHECK_EQ_INT(decode("$17\r\n", 5, 16, &text, &why), RESP_ERROR);
    CHECK_EQ_INT(decode(at17, sizeof at17 - 1, 17, &text, &why),
                 (ptrdiff_t)(sizeof at17 - 1));
    /* A cap of 0 leaves only the empty string and nil. */
    CHECK_EQ_INT(decode("$0\r\n\r\n", 6, 0, &text, &why), 6);
    CHECK_EQ_INT(decode("$-1\r\n", 5, 0, &text, &why), 5);
    CHECK_EQ_INT(decode("$1\r\nx\r\n", 7, 0, &text, &why), RESP_ERROR);
    CHECK_EQ_STR(why, "bulk string too long");
    /* Inside an array, as a pmessage payload is. */
    static const char msg[] = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$17\r\n"
                              "0123456789abcdefg\r\n";
    CHECK_EQ_INT(decode(msg, sizeof msg - 1, 16, &text, &why), RESP_ERROR);
    CHECK_EQ_STR(why, "bulk string too long");
    CHECK_EQ_INT(decode(msg, sizeof msg - 1, 17, &text, &why),
                 (ptrdiff_t)(sizeof msg - 1));
}

TEST(proto_max_bulk_len_is_the_ceiling)
{
    /* 512 MiB is taken (and waited for), one byte more is not, whatever
     * cap the caller passes. Nothing that large is ever allocated. */
    const char *text, *why;
    CHECK_EQ_INT(RESP_MAX_BULK, 536870912);
    CHECK_EQ_INT(decode("$536870912\r\n", 12, RESP_MAX_BULK, &text, &why),
                 RESP_NEED_MORE);
    CHECK_EQ_INT(decode("$536870912\r\nabc", 15, RESP_MAX_BULK, &text, &why),
                 RESP_NEED_MORE);
    CHECK_EQ_INT(decode("$536870913\r\n", 12, RESP_MAX_BULK, &text, &why),
                 RESP_ERROR);
    CHECK_EQ_STR(why, "bulk string too long");
    CHECK_EQ_INT(decode("$536870913\r\n", 12, SIZE_MAX, &text, &why), RESP_ERROR);
    CHECK_EQ_STR(why, "bulk string too long");
    CHECK_EQ_INT(decode("$9223372036854775807\r\n", 22, SIZE_MAX, &text, &why),
                 RESP_ERROR);
    CHECK_EQ_STR(why, "bulk string too long");
}

/* Append n copies of s to out at *o. */
static void repeat(char *out, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(out + *o, s, strlen(s));
        *o += strlen(s);
    }
}

/* Check that wire[0..n) decodes whole into entries values, and that
 * every truncation of it needs more. */
static void check_whole(const char *wire, size_t n, size_t entries)
{
    char *buf = (char *)exact_copy(wire, n);
    struct resp_reply r;
    const char *why = NULL;
    CHECK_EQ_INT(resp_parse(buf, n, RESP_MAX_BULK, &r, &why), (ptrdiff_t)n);
    CHECK_EQ_INT(r.n, entries);
    check_table(&r, buf, n);
    free(buf);
    for (size_t k = 0; k < n; k++) {
        const char *text;
        CHECK_EQ_INT(decode(wire, k, RESP_MAX_BULK, &text, &why), RESP_NEED_MORE);
    }
}

TEST(element_count_is_enforced_at_its_edge)
{
    static char wire[4096];
    size_t o = 0;
    /* 1 + 63 = RESP_MAX_ELEMS entries: taken. */
    repeat(wire, &o, "*63\r\n", 1);
    repeat(wire, &o, ":1\r\n", 63);
    check_whole(wire, o, RESP_MAX_ELEMS);

    /* Nested: 1 + (1 + 31) + (1 + 30) = 64 entries. */
    o = 0;
    repeat(wire, &o, "*2\r\n*31\r\n", 1);
    repeat(wire, &o, ":1\r\n", 31);
    repeat(wire, &o, "*30\r\n", 1);
    repeat(wire, &o, ":1\r\n", 30);
    check_whole(wire, o, RESP_MAX_ELEMS);

    /* Nil elements take an entry each too: 1 + 63 nils. */
    o = 0;
    repeat(wire, &o, "*63\r\n", 1);
    repeat(wire, &o, "$-1\r\n", 63);
    check_whole(wire, o, RESP_MAX_ELEMS);

    /* One more, at the end of a complete-looking reply: refused. */
    o = 0;
    repeat(wire, &o, "*3\r\n*31\r\n", 1);
    repeat(wire, &o, ":1\r\n", 31);
    repeat(wire, &o, "*30\r\n", 1);
    repeat(wire, &o, ":1\r\n", 30);
    repeat(wire, &o, ":1\r\n", 1);
    const char *text, *why;
    CHECK_EQ_INT(decode(wire, o, RESP_MAX_BULK, &text, &why), RESP_ERROR);
    CHECK_EQ_STR(why, "too many elements");
}

TEST(depth_is_enforced_at_its_edge)
{
    /* RESP_MAX_DEPTH arrays, one inside another, the innermost empty or
     * holding a value: taken. A nil inside them is not an array. */
    static const char empty8[] = "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*0\r\n";
    check_whole(empty8, sizeof empty8 - 1, RESP_MAX_DEPTH);
    static const char int8[] = EIGHT_DEEP ":1\r\n";
    check_whole(int8, sizeof int8 - 1, RESP_MAX_DEPTH + 1);
    static const char nil8[] = EIGHT_DEEP "*-1\r\n";
    check_whole(nil8, sizeof nil8 - 1, RESP_MAX_DEPTH + 1);
    /* Deep, then shallow again: the depth is counted, not the total. */
    static const char wide[] = "*3\r\n" "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*0\r\n"
                               "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*0\r\n" ":7\r\n";
    check_whole(wide, sizeof wide - 1, 1 + 7 + 7 + 1);
    /* One deeper is in the malformed table: nine_arrays_deep. */
}

TEST(line_length_is_enforced_at_its_edge)
{
    size_t n = 1 + RESP_MAX_LINE + 1 + 2;
    char *wire = malloc(n);
    CHECK(wire != NULL);
    if (!wire)
        return;
    wire[0] = '-';
    memset(wire + 1, 'e', RESP_MAX_LINE + 1);
    const char *text, *why;
    /* RESP_MAX_LINE bytes of text: taken, and a few cuts need more. */
    memcpy(wire + 1 + RESP_MAX_LINE, "\r\n", 2);
    CHECK_EQ_INT(decode(wire, n - 1, RESP_MAX_BULK, &text, &why), (ptrdiff_t)(n - 1));
    CHECK_EQ_INT(decode(wire, n - 2, RESP_MAX_BULK, &text, &why), RESP_NEED_MORE);
    CHECK_EQ_INT(decode(wire, n - 3, RESP_MAX_BULK, &text, &why), RESP_NEED_MORE);
    /* One byte more: refused once that byte is there, CRLF or not. */
    wire[1 + RESP_MAX_LINE] = 'e';
    memcpy(wire + 2 + RESP_MAX_LINE, "\r\n", 2);
    CHECK_EQ_INT(decode(wire, n, RESP_MAX_BULK, &text, &why), RESP_ERROR);
    CHECK_EQ_STR(why, "line too long");
    CHECK_EQ_INT(decode(wire, 2 + RESP_MAX_LINE, RESP_MAX_BULK, &text, &why),
                 RESP_ERROR);
    CHECK_EQ_STR(why, "line too long");
    CHECK_EQ_INT(decode(wire, 1 + RESP_MAX_LINE, RESP_MAX_BULK, &text, &why),
                 RESP_NEED_MORE);
    /* A bulk string has no such limit: its length says where it ends. */
    free(wire);
}

/* ------------------------------------------------------------------------
 * Pub/sub pushes
 * ------------------------------------------------------------------------ */

struct push_case {
    const char *fixture;  /* the name of a row of fixtures[] */
    int kind;
    const char *pattern;  /* NULL: the field must be {NULL, 0} */
    const char *channel;
    const char *payload;
    size_t payload_len;
    int64_t count;
};

static const struct push_case pushes[] = {
    {"psubscribe_confirmed", RESP_PUSH_PSUBSCRIBE, "socket.io#/#*", NULL, NULL, 0, 1},
    {"subscribe_request_channel", RESP_PUSH_SUBSCRIBE, NULL,
     "socket.io-request#/#", NULL, 0, 2},
    {"subscribe_own_response_channel", RESP_PUSH_SUBSCRIBE, NULL,
     "socket.io-response#/#fZY28M#", NULL, 0, 4},
    {"message_with_a_json_request", RESP_PUSH_MESSAGE, NULL,
     "socket.io-request#/#", REQUEST_JSON, sizeof REQUEST_JSON - 1, 0},
    {"pmessage_with_a_binary_broadcast", RESP_PUSH_PMESSAGE, "socket.io#/#*",
     "socket.io#/#", BROADCAST_PAYLOAD, sizeof BROADCAST_PAYLOAD - 1, 0},
    {"unsubscribe_with_none_left", RESP_PUSH_UNSUBSCRIBE, NULL, NULL, NULL, 0, 0},
    {"punsubscribe_pattern", RESP_PUSH_PUNSUBSCRIBE, "socket.io#/#*", NULL, NULL, 0, 0},
    {"pong_while_subscribed", RESP_PUSH_PONG, NULL, NULL, "", 0, 0},
    {"pong_with_data", RESP_PUSH_PONG, NULL, NULL, "hello", 5, 0},
    {"pong_unsubscribed", RESP_PUSH_PONG, NULL, NULL, NULL, 0, 0},
    /* Ordinary replies are not pushes. */
    {"simple_ok", RESP_PUSH_NONE, NULL, NULL, NULL, 0, 0},
    {"error_noauth", RESP_PUSH_NONE, NULL, NULL, NULL, 0, 0},
    {"publish_reached_two", RESP_PUSH_NONE, NULL, NULL, NULL, 0, 0},
    {"bulk_hello", RESP_PUSH_NONE, NULL, NULL, NULL, 0, 0},
    {"array_empty", RESP_PUSH_NONE, NULL, NULL, NULL, 0, 0},
    {"array_nil", RESP_PUSH_NONE, NULL, NULL, NULL, 0, 0},
    {"array_of_two_bulks", RESP_PUSH_NONE, NULL, NULL, NULL, 0, 0},
    {"array_nested", RESP_PUSH_NONE, NULL, NULL, NULL, 0, 0},
    {"pubsub_numsub", RESP_PUSH_NONE, NULL, NULL, NULL, 0, 0},
};

static const struct fixture *fixture_named(const char *name)
{
    for (size_t i = 0; i < NFIXTURES; i++) {
        if (strcmp(fixtures[i].name, name) == 0)
            return &fixtures[i];
    }
    fprintf(stderr, "no fixture %s\n", name);
    exit(2);
}

/* b is {NULL, 0} when want is NULL, else want's bytes inside buf[0..n). */
static void check_bytes(struct resp_bytes b, const char *want, size_t want_len,
                        const char *buf, size_t n)
{
    if (!want) {
        CHECK(b.ptr == NULL && b.len == 0);
        return;
    }
    CHECK(b.ptr >= buf && b.ptr + b.len <= buf + n);
    CHECK_EQ_INT(b.len, want_len);
    CHECK(b.len == want_len && memcmp(b.ptr, want, want_len) == 0);
}

TEST(classifies_each_push_and_points_into_the_buffer)
{
    for (size_t i = 0; i < sizeof pushes / sizeof pushes[0]; i++) {
        const struct push_case *c = &pushes[i];
        const struct fixture *f = fixture_named(c->fixture);
        check_row(c->fixture);
        char *buf = (char *)exact_copy(f->wire, f->len);
        struct resp_reply r;
        struct resp_push p;
        const char *why = NULL;
        CHECK_EQ_INT(resp_parse(buf, f->len, RESP_MAX_BULK, &r, &why),
                     (ptrdiff_t)f->len);
        CHECK_EQ_INT(resp_pubsub(&r, &p, &why), c->kind);
        CHECK_EQ_INT(p.kind, c->kind);
        check_bytes(p.pattern, c->pattern, c->pattern ? strlen(c->pattern) : 0,
                    buf, f->len);
        check_bytes(p.channel, c->channel, c->channel ? strlen(c->channel) : 0,
                    buf, f->len);
        check_bytes(p.payload, c->payload, c->payload_len, buf, f->len);
        CHECK_EQ_INT(p.count, c->count);
        free(buf);
    }
    check_row(NULL);
}

struct bad_push {
    const char *name;
    const char *wire;
    size_t len;
    int want;         /* RESP_ERROR, or RESP_PUSH_NONE */
    const char *why;  /* for RESP_ERROR */
};

#define PUSH(name, wire, want, why) {name, wire, sizeof wire - 1, want, why}

static const struct bad_push bad_pushes[] = {
    PUSH("message_missing_payload", "*2\r\n$7\r\nmessage\r\n$2\r\nch\r\n",
         RESP_ERROR, "push has the wrong number of elements"),
    PUSH("message_with_extra_element",
         "*4\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n$1\r\ny\r\n",
         RESP_ERROR, "push has the wrong number of elements"),
    PUSH("pmessage_without_pattern", "*3\r\n$8\r\npmessage\r\n$2\r\nch\r\n$1\r\nx\r\n",
         RESP_ERROR, "push has the wrong number of elements"),
    PUSH("message_channel_integer", "*3\r\n$7\r\nmessage\r\n:1\r\n$1\r\nx\r\n",
         RESP_ERROR, "push field is not a bulk string"),
    PUSH("message_channel_simple_string", "*3\r\n$7\r\nmessage\r\n+ch\r\n$1\r\nx\r\n",
         RESP_ERROR, "push field is not a bulk string"),
    PUSH("message_channel_nested_array",
         "*3\r\n$7\r\nmessage\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nx\r\n",
         RESP_ERROR, "push field is not a bulk string"),
    PUSH("pmessage_nil_payload",
         "*4\r\n$8\r\npmessage\r\n$1\r\np\r\n$1\r\nc\r\n$-1\r\n",
         RESP_ERROR, "push field is not a bulk string"),
    PUSH("subscribe_nil_channel", "*3\r\n$9\r\nsubscribe\r\n$-1\r\n:0\r\n",
         RESP_ERROR, "push field is not a bulk string"),
    PUSH("unsubscribe_channel_integer", "*3\r\n$11\r\nunsubscribe\r\n:1\r\n:0\r\n",
         RESP_ERROR, "push field is not a bulk string"),
    PUSH("subscribe_count_as_bulk", "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n$1\r\n1\r\n",
         RESP_ERROR, "push count is not a count"),
    PUSH("subscribe_negative_count", "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:-1\r\n",
         RESP_ERROR, "push count is not a count"),
    PUSH("pong_nil_data", "*2\r\n$4\r\npong\r\n$-1\r\n",
         RESP_ERROR, "push field is not a bulk string"),
    /* Names match exactly; anything else is just a reply. */
    PUSH("name_in_upper_case", "*3\r\n$7\r\nMESSAGE\r\n$2\r\nch\r\n$1\r\nx\r\n",
         RESP_PUSH_NONE, NULL),
    PUSH("name_as_simple_string", "*3\r\n+message\r\n$2\r\nch\r\n$1\r\nx\r\n",
         RESP_PUSH_NONE, NULL),
    PUSH("name_alone", "$7\r\nmessage\r\n", RESP_PUSH_NONE, NULL),
    PUSH("sharded_smessage", "*3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$1\r\nx\r\n",
         RESP_PUSH_NONE, NULL),
    PUSH("pong_in_lower_case_simple", "+pong\r\n", RESP_PUSH_NONE, NULL),
};

TEST(refuses_each_misshapen_push)
{
    for (size_t i = 0; i < sizeof bad_pushes / sizeof bad_pushes[0]; i++) {
        const struct bad_push *b = &bad_pushes[i];
        check_row(b->name);
        char *buf = (char *)exact_copy(b->wire, b->len);
        struct resp_reply r;
        struct resp_push p;
        const char *why = NULL;
        CHECK_EQ_INT(resp_parse(buf, b->len, RESP_MAX_BULK, &r, &why),
                     (ptrdiff_t)b->len);
        why = NULL;
        CHECK_EQ_INT(resp_pubsub(&r, &p, &why), b->want);
        CHECK_EQ_INT(p.kind, RESP_PUSH_NONE);
        if (b->why)
            CHECK_EQ_STR(why, b->why);
        else
            CHECK(why == NULL);
        free(buf);
    }
    check_row(NULL);
}

/* ------------------------------------------------------------------------
 * Commands ("Sending commands to a Redis server")
 * ------------------------------------------------------------------------ */

struct command_case {
    const char *name;
    int argc;
    const char *argv[4];
    size_t lens[4];
    const char *wire;
    size_t wire_len;
};

#define CMD(name, argc, argv, lens, wire) {name, argc, argv, lens, wire, sizeof wire - 1}
#define ARGS(...) {__VA_ARGS__}

static const struct command_case commands[] = {
    CMD("ping", 1, ARGS("PING"), ARGS(4), "*1\r\n$4\r\nPING\r\n"),
    CMD("auth", 2, ARGS("AUTH", "s3cret"), ARGS(4, 6),
        "*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n"),
    CMD("auth_with_user", 3, ARGS("AUTH", "wshub", "s3cret"), ARGS(4, 5, 6),
        "*3\r\n$4\r\nAUTH\r\n$5\r\nwshub\r\n$6\r\ns3cret\r\n"),
    CMD("select", 2, ARGS("SELECT", "0"), ARGS(6, 1), "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"),
    CMD("psubscribe", 2, ARGS("PSUBSCRIBE", "socket.io#/#*"), ARGS(10, 13),
        "*2\r\n$10\r\nPSUBSCRIBE\r\n$13\r\nsocket.io#/#*\r\n"),
    CMD("subscribe_three", 4,
        ARGS("SUBSCRIBE", "socket.io-request#/#", "socket.io-response#/#",
             "socket.io-response#/#fZY28M#"),
        ARGS(9, 20, 21, 28),
        "*4\r\n$9\r\nSUBSCRIBE\r\n$20\r\nsocket.io-request#/#\r\n"
        "$21\r\nsocket.io-response#/#\r\n$28\r\nsocket.io-response#/#fZY28M#\r\n"),
    CMD("publish_binary_broadcast", 3,
        ARGS("PUBLISH", "socket.io#/#", BROADCAST_PAYLOAD), ARGS(7, 12, 61),
        "*3\r\n$7\r\nPUBLISH\r\n$12\r\nsocket.io#/#\r\n$61\r\n" BROADCAST_PAYLOAD "\r\n"),
    CMD("empty_argument", 2, ARGS("PING", ""), ARGS(4, 0),
        "*2\r\n$4\r\nPING\r\n$0\r\n\r\n"),
    CMD("argument_of_crlf_and_nul", 2, ARGS("ECHO", "\r\n\0*1\r\n"), ARGS(4, 7),
        "*2\r\n$4\r\nECHO\r\n$7\r\n\r\n\0*1\r\n\r\n"),
};

TEST(encodes_each_command_byte_for_byte)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct command_case *c = &commands[i];
        check_row(c->name);
        size_t n = resp_command_len(c->argc, c->argv, c->lens);
        CHECK_EQ_INT(n, c->wire_len);
        char *out = exact_alloc(n);
        CHECK_EQ_INT(resp_command(out, c->argc, c->argv, c->lens), n);
        CHECK(n == c->wire_len && memcmp(out, c->wire, n) == 0);
        free(out);
    }
    check_row(NULL);
}

TEST(lens_may_be_null_for_c_strings)
{
    static const char *const argv[] = {"PUBLISH", "socket.io#/#", "hi"};
    static const char want[] = "*3\r\n$7\r\nPUBLISH\r\n$12\r\nsocket.io#/#\r\n$2\r\nhi\r\n";
    char out[64];
    CHECK_EQ_INT(resp_command_len(3, argv, NULL), sizeof want - 1);
    CHECK_EQ_INT(resp_command(out, 3, argv, NULL), sizeof want - 1);
    CHECK(memcmp(out, want, sizeof want - 1) == 0);
}

TEST(length_digits_at_each_decimal_boundary)
{
    /* $9, $10, $99, $100 ... and *9, *10: one more digit each time. */
    static const size_t sizes[] = {0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65536};
    static char arg[65536];
    memset(arg, 'x', sizeof arg);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *argv[1] = {arg};
        size_t lens[1] = {sizes[i]};
        size_t digits = (size_t)snprintf(NULL, 0, "%zu", sizes[i]);
        size_t n = resp_command_len(1, argv, lens);
        CHECK_EQ_INT(n, 4 + 1 + digits + 2 + sizes[i] + 2);
        char *out = exact_alloc(n);
        CHECK_EQ_INT(resp_command(out, 1, argv, lens), n);
        char head[32];
        int h = snprintf(head, sizeof head, "*1\r\n$%zu\r\n", sizes[i]);
        CHECK(memcmp(out, head, (size_t)h) == 0);
        CHECK(memcmp(out + n - 2, "\r\n", 2) == 0);
        free(out);
    }
    for (int argc = 9; argc <= 11; argc++) {
        const char *argv[11];
        for (int i = 0; i < argc; i++)
            argv[i] = "a";
        size_t n = resp_command_len(argc, argv, NULL);
        CHECK_EQ_INT(n, (argc < 10 ? 4 : 5) + (size_t)argc * 7);
        char out[128];
        CHECK_EQ_INT(resp_command(out, argc, argv, NULL), n);
        CHECK(memcmp(out, argc < 10 ? "*9\r\n" : argc == 10 ? "*10\r\n" : "*11\r\n",
                     argc < 10 ? 4 : 5) == 0);
    }
}

/* Encode argv into an exact block, decode it back, and check it is an
 * array of argc bulk strings with exactly those bytes. */
static void check_round_trip(int argc, const char *const *argv, const size_t *lens)
{
    size_t n = resp_command_len(argc, argv, lens);
    char *out = exact_alloc(n);
    CHECK_EQ_INT(resp_command(out, argc, argv, lens), n);
    struct resp_reply r;
    const char *why = NULL;
    CHECK_EQ_INT(resp_parse(out, n, RESP_MAX_BULK, &r, &why), (ptrdiff_t)n);
    CHECK_EQ_INT(r.n, 1 + (size_t)argc);
    CHECK(r.v[0].type == RESP_T_ARRAY && r.v[0].nelems == (size_t)argc);
    for (int i = 0; i < argc && (size_t)i + 1 < r.n; i++) {
        const struct resp_value *v = &r.v[1 + i];
        CHECK(v->type == RESP_T_BULK && v->len == lens[i] &&
              (lens[i] == 0 || memcmp(v->str, argv[i], lens[i]) == 0));
    }
    free(out);
}

TEST(encoded_commands_decode_as_arrays_of_their_arguments)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        check_row(commands[i].name);
        check_round_trip(commands[i].argc, commands[i].argv, commands[i].lens);
    }
    check_row(NULL);
    /* Random commands: up to the 63 arguments a reply table holds, any
     * bytes in them, CR, LF and '$' more often than chance. */
    static char store[RESP_MAX_ELEMS - 1][300];
    for (int round = 0; round < 300; round++) {
        const char *argv[RESP_MAX_ELEMS - 1];
        size_t lens[RESP_MAX_ELEMS - 1];
        int argc = 1 + (int)(rng() % (RESP_MAX_ELEMS - 1));
        for (int i = 0; i < argc; i++) {
            lens[i] = rng() % 4 == 0 ? 0 : rng() % sizeof store[i];
            for (size_t j = 0; j < lens[i]; j++) {
                static const char tricky[] = "\r\n$*:+-\0";
                store[i][j] = rng() % 3 == 0 ? tricky[rng() % 8] : (char)rng();
            }
            argv[i] = store[i];
        }
        check_round_trip(argc, argv, lens);
    }
}

TEST(type_names_for_trace)
{
    CHECK_EQ_STR(resp_type_name(RESP_T_SIMPLE), "simple");
    CHECK_EQ_STR(resp_type_name(RESP_T_ERROR), "error");
    CHECK_EQ_STR(resp_type_name(RESP_T_INTEGER), "integer");
    CHECK_EQ_STR(resp_type_name(RESP_T_BULK), "bulk");
    CHECK_EQ_STR(resp_type_name(RESP_T_ARRAY), "array");
    CHECK_EQ_STR(resp_type_name(RESP_T_NIL), "nil");
    CHECK_EQ_STR(resp_type_name('%'), "?");
    CHECK_EQ_STR(resp_type_name(0), "?");
}

int main(void)
{
    RUN(decodes_every_fixture);
    RUN(decodes_the_binary_pmessage_byte_for_byte);
    RUN(every_truncation_needs_more);
    RUN(stops_at_the_end_of_the_first_reply);
    RUN(a_stream_read_in_pieces_gives_each_reply_once);
    RUN(refuses_each_malformed_reply_as_soon_as_it_can);
    RUN(bulk_cap_from_the_caller_is_enforced_at_its_edge);
    RUN(proto_max_bulk_len_is_the_ceiling);
    RUN(element_count_is_enforced_at_its_edge);
    RUN(depth_is_enforced_at_its_edge);
    RUN(line_length_is_enforced_at_its_edge);
    RUN(classifies_each_push_and_points_into_the_buffer);
    RUN(refuses_each_misshapen_push);
    RUN(encodes_each_command_byte_for_byte);
    RUN(lens_may_be_null_for_c_strings);
    RUN(length_digits_at_each_decimal_boundary);
    RUN(encoded_commands_decode_as_arrays_of_their_arguments);
    RUN(type_names_for_trace);
    return check_summary("unit_resp");
}
