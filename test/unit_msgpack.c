/* unit_msgpack.c -- msgpack.c checked on byte arrays against the adapter's wire format
 * SPDX-License-Identifier: MIT
 *
 * No Redis and no Node: every message here is a literal. The fixtures are
 * the bytes captured from @socket.io/redis-adapter 8.3.0 and the emitter
 * (socket.io-redis-adapter notes §4, §6, §7, §9), and what notepack.io
 * 3.0.1 writes for each JavaScript value in the notes' table, checked with
 * notepack itself when this file was written. Each is decoded and encoded
 * byte for byte. Every decode runs on a heap block of exactly the input's
 * size, and every truncation of each fixture is decoded too, so under ASan
 * a read one byte past the end is caught where it happens. Limits are
 * checked at their edges, and each input that must be refused is a named
 * row with the reason it is refused for.
 */
#include "../msgpack.h"
#include "check.h"

#include <stdint.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

#define MAX_BYTES 512

/* Hex text (spaces allowed, for readability) to bytes. Returns the count. */
static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (const char *h = hex; *h;) {
        if (*h == ' ') {
            h++;
            continue;
        }
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1 || n == MAX_BYTES) {
            fprintf(stderr, "bad hex fixture: %s\n", hex);
            exit(2);
        }
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

/* True if jb holds exactly the bytes the hex text names. */
static bool bytes_are(const struct jbuf *jb, const char *hex)
{
    uint8_t want[MAX_BYTES];
    size_t n = unhex(hex, want);
    return jb->len == n && memcmp(jb->p, want, n) == 0;
}

/* What one mp_to_json call gave. */
struct decoded {
    long r;                  /* its result */
    const char *why;         /* its reason, when r is MP_ERROR */
    char json[8192];         /* the text, NUL-terminated */
    size_t nbins;            /* attachments */
    size_t bin_off[SIO_MAX_ATTACHMENTS]; /* where each lies in the input */
    size_t bin_len[SIO_MAX_ATTACHMENTS];
};

/* mp_to_json on src[0..n) copied to a heap block of exactly n bytes.
 * Checks on the way that a result lies inside the block, that every
 * attachment does, that an error leaves the output as it was, and that
 * the text it writes is JSON that json_scan accepts with its placeholders. */
static void to_json(const uint8_t *src, size_t n, struct decoded *d)
{
    uint8_t *buf = exact_copy(src, n);
    struct jbuf out = {0};
    struct hub_blob bins[SIO_MAX_ATTACHMENTS];
    jb_lit(&out, "prefix");
    memset(d, 0, sizeof *d);
    d->why = NULL;
    d->r = mp_to_json(buf, n, &out, bins, &d->nbins, &d->why);
    if (d->r == MP_ERROR) {
        CHECK(d->why != NULL);
        CHECK_EQ_INT(out.len, 6); /* left as it was */
    } else {
        CHECK(d->r > 0 && (size_t)d->r <= n);
        CHECK(d->nbins <= SIO_MAX_ATTACHMENTS);
        size_t len = out.len - 6;
        CHECK(len < sizeof d->json);
        if (len < sizeof d->json) {
            memcpy(d->json, out.p + 6, len);
            d->json[len] = '\0';
        }
        CHECK(json_scan(out.p + 6, len, (int)d->nbins) == (long)len);
        for (size_t i = 0; i < d->nbins; i++) {
            CHECK(bins[i].data >= buf && bins[i].data + bins[i].len <= buf + d->r);
            d->bin_off[i] = (size_t)(bins[i].data - buf);
            d->bin_len[i] = bins[i].len;
        }
    }
    jb_free(&out);
    free(buf);
}

/* mp_from_json on the NUL-terminated json, from an exact heap block. */
static int from_json(const char *json, const struct hub_blob *bins, size_t nbins,
                     struct jbuf *out, const char **why)
{
    size_t n = strlen(json);
    char *buf = (char *)exact_copy(json, n);
    *why = NULL;
    int r = mp_from_json(buf, n, bins, nbins, out, why);
    CHECK(r == 0 || (r == MP_ERROR && *why != NULL));
    free(buf);
    return r;
}

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t rng_state = 2024;
static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* ------------------------------------------------------------------------
 * The captured messages (notes §4, §6, §7, §9)
 * ------------------------------------------------------------------------ */

/* §9: io.to("room1").emit("hello", {a: 1}) from uid fZY28M, 66 bytes. */
static const char worked_example[] =
    "93 a6665a5932384d 83 a474797065 02 a464617461 92 a568656c6c6f 81a16101"
    " a36e7370 a12f 83 a5726f6f6d73 91a5726f6f6d31 a6657863657074 90"
    " a5666c616773 80";

/* §7: the emitter's keys come in another order: rooms, flags, except. */
static const char emitter_example[] =
    "93 a7656d6974746572 83 a474797065 02 a464617461 92 ab66726f6d456d6974746572"
    " 81a16202 a36e7370 a12f 83 a5726f6f6d73 91a5726f6f6d31 a5666c616773 80"
    " a6657863657074 90";

/* §4: io.emit("bin", Buffer[1,2,3], {nested: Buffer[ff]}). The notes show
 * the middle of it; data has three elements, so it is 93, not the 92 the
 * notes print (notepack writes 93). */
static const char binary_example[] =
    "93 a6665a5932384d 83 a474797065 02 a464617461"
    " 93 a362696e c403010203 81 a66e6573746564 c401ff"
    " a36e7370 a12f 83 a5726f6f6d73 90 a6657863657074 90 a5666c616773 80";
static const char binary_fragment[] = "a362696ec40301020381a66e6573746564c401ff";

/* §9: socket.broadcast.emit("bcast", "from-c3"): the sender is excepted. */
static const char broadcast_example[] =
    "93 a6665a5932384d 83 a474797065 02 a464617461 92 a56263617374 a766726f6d2d6333"
    " a36e7370 a12f 83 a5726f6f6d73 90 a6657863657074 91 a730484466534944"
    " a5666c616773 80";

/* §9: io.volatile.compress(false).emit("vol", 2). */
static const char volatile_example[] =
    "93 a6665a5932384d 83 a474797065 02 a464617461 92 a3766f6c 02 a36e7370 a12f"
    " 83 a5726f6f6d73 90 a6657863657074 90 a5666c616773"
    " 82 a8766f6c6174696c65 c3 a8636f6d7072657373 c2";

/* §6: the msgpack request of an ack broadcast (type 7), and an ack (9). */
static const char ack_request_example[] =
    "85 a3756964 a6665a5932384d a9726571756573744964 a64b4a56556948"
    " a474797065 07 a67061636b6574 83 a474797065 02 a464617461 92 a661636b726571 09"
    " a36e7370 a12f a46f707473 83 a5726f6f6d73 90 a6657863657074 90"
    " a5666c616773 81 a774696d656f7574 cd07d0";
static const char ack_request_json[] =
    "{\"uid\":\"fZY28M\",\"requestId\":\"KJVUiH\",\"type\":7,\"packet\":{\"type\":2,"
    "\"data\":[\"ackreq\",9],\"nsp\":\"/\"},\"opts\":{\"rooms\":[],\"except\":[],"
    "\"flags\":{\"timeout\":2000}}}";
static const char ack_example[] =
    "83 a474797065 09 a9726571756573744964 a64b4a56556948 a67061636b6574"
    " b461636b2d66726f6d2d633140425b726f6f6d315d";
static const char ack_json[] =
    "{\"type\":9,\"requestId\":\"KJVUiH\",\"packet\":\"ack-from-c1@B[room1]\"}";

/* Every captured message, with the JSON mp_to_json must make of it. */
static const struct {
    const char *name, *hex, *json;
} captured[] = {
    {"worked_example_s9", worked_example,
     "[\"fZY28M\",{\"type\":2,\"data\":[\"hello\",{\"a\":1}],\"nsp\":\"/\"},"
     "{\"rooms\":[\"room1\"],\"except\":[],\"flags\":{}}]"},
    {"emitter_s7", emitter_example,
     "[\"emitter\",{\"type\":2,\"data\":[\"fromEmitter\",{\"b\":2}],\"nsp\":\"/\"},"
     "{\"rooms\":[\"room1\"],\"flags\":{},\"except\":[]}]"},
    {"binary_s4", binary_example,
     "[\"fZY28M\",{\"type\":2,\"data\":[\"bin\",{\"_placeholder\":true,\"num\":0},"
     "{\"nested\":{\"_placeholder\":true,\"num\":1}}],\"nsp\":\"/\"},"
     "{\"rooms\":[],\"except\":[],\"flags\":{}}]"},
    {"broadcast_except_s9", broadcast_example,
     "[\"fZY28M\",{\"type\":2,\"data\":[\"bcast\",\"from-c3\"],\"nsp\":\"/\"},"
     "{\"rooms\":[],\"except\":[\"0HDfSID\"],\"flags\":{}}]"},
    {"volatile_s9", volatile_example,
     "[\"fZY28M\",{\"type\":2,\"data\":[\"vol\",2],\"nsp\":\"/\"},"
     "{\"rooms\":[],\"except\":[],\"flags\":{\"volatile\":true,\"compress\":false}}]"},
    {"ack_request_s6", ack_request_example, ack_request_json},
    {"ack_s6", ack_example, ack_json},
};
#define NCAPTURED (sizeof captured / sizeof captured[0])

TEST(worked_example_is_66_bytes_and_reads_as_the_notes_say)
{
    uint8_t b[MAX_BYTES];
    size_t n = unhex(worked_example, b);
    CHECK_EQ_INT(n, 66);
    uint8_t *msg = exact_copy(b, n);
    struct jbuf json = {0};
    struct mp_broadcast bc;
    const char *why = NULL;
    CHECK_EQ_INT(mp_broadcast_decode(msg, n, &json, &bc, &why), 0);
    CHECK(bc.uid.len == 6 && memcmp(bc.uid.p, "fZY28M", 6) == 0);
    CHECK(bc.uid.p == (const char *)msg + 2); /* into the message */
    CHECK(bc.nsp.len == 1 && bc.nsp.p[0] == '/');
    CHECK(bc.data_len == 17 && memcmp(bc.data, "[\"hello\",{\"a\":1}]", 17) == 0);
    CHECK_EQ_INT(bc.nbins, 0);
    CHECK_EQ_INT(bc.rooms.count, 1);
    CHECK_EQ_INT(bc.except.count, 0);
    CHECK(!bc.is_volatile && !bc.no_compress);
    size_t pos = 0;
    struct mp_str room;
    CHECK_EQ_INT(mp_list_next(&bc.rooms, &pos, &room), 1);
    CHECK(room.len == 5 && memcmp(room.p, "room1", 5) == 0);
    CHECK_EQ_INT(mp_list_next(&bc.rooms, &pos, &room), 0);
    pos = 0;
    CHECK_EQ_INT(mp_list_next(&bc.except, &pos, &room), 0);
    jb_free(&json);
    free(msg);
}

TEST(every_captured_message_decodes_to_its_json)
{
    for (size_t k = 0; k < NCAPTURED; k++) {
        check_row(captured[k].name);
        uint8_t b[MAX_BYTES];
        size_t n = unhex(captured[k].hex, b);
        struct decoded d;
        to_json(b, n, &d);
        CHECK_EQ_INT(d.r, (long)n);
        CHECK_EQ_STR(d.json, captured[k].json);
    }
    check_row(NULL);
}

TEST(every_captured_message_encodes_from_its_json_byte_for_byte)
{
    /* The binary one needs its two attachments. */
    static const uint8_t three[] = {1, 2, 3}, ff[] = {0xff};
    const struct hub_blob bins[] = {{three, 3}, {ff, 1}};
    for (size_t k = 0; k < NCAPTURED; k++) {
        check_row(captured[k].name);
        struct jbuf out = {0};
        const char *why;
        CHECK_EQ_INT(from_json(captured[k].json, bins, 2, &out, &why), 0);
        CHECK(bytes_are(&out, captured[k].hex));
        jb_free(&out);
    }
    check_row(NULL);
}

TEST(binary_example_hands_out_attachments_inside_the_message)
{
    uint8_t b[MAX_BYTES], frag[64];
    size_t n = unhex(binary_example, b), fn = unhex(binary_fragment, frag);
    /* The notes' fragment, after its first byte, is in the message. */
    bool found = false;
    for (size_t i = 0; i + fn <= n; i++)
        found = found || memcmp(b + i, frag, fn) == 0;
    CHECK(found);
    uint8_t *msg = exact_copy(b, n);
    struct jbuf json = {0};
    struct mp_broadcast bc;
    const char *why = NULL;
    CHECK_EQ_INT(mp_broadcast_decode(msg, n, &json, &bc, &why), 0);
    CHECK_EQ_INT(bc.nbins, 2);
    CHECK(bc.bins[0].len == 3 && memcmp(bc.bins[0].data, "\x01\x02\x03", 3) == 0);
    CHECK(bc.bins[1].len == 1 && bc.bins[1].data[0] == 0xff);
    CHECK(bc.bins[0].data > msg && bc.bins[1].data + 1 <= msg + n);
    static const char data[] = "[\"bin\",{\"_placeholder\":true,\"num\":0},"
                               "{\"nested\":{\"_placeholder\":true,\"num\":1}}]";
    CHECK(bc.data_len == sizeof data - 1 && memcmp(bc.data, data, bc.data_len) == 0);
    jb_free(&json);
    free(msg);
}

/* struct hub_args for a literal list of arguments. */
#define ARGS(s, bins, nbins) {s, sizeof s - 1, bins, nbins}

/* One mp_broadcast_encode call and the bytes the adapter sends for it. */
TEST(broadcast_encode_writes_what_the_adapter_writes)
{
    static const uint8_t three[] = {1, 2, 3}, ff[] = {0xff};
    const struct hub_blob bins[] = {{three, 3}, {ff, 1}};
    const char *room1[] = {"room1"}, *sender[] = {"0HDfSID"};
    const struct {
        const char *name;
        struct mp_publish m;
        const char *hex;
    } rows[] = {
        {"worked_example_s9",
         {"fZY28M", "/", "hello", ARGS("{\"a\":1}", NULL, 0), room1, 1, NULL, 0, false, false},
         worked_example},
        {"binary_s4",
         {"fZY28M", "/", "bin",
          ARGS("{\"_placeholder\":true,\"num\":0},{\"nested\":{\"_placeholder\":true,\"num\":1}}",
               bins, 2),
          NULL, 0, NULL, 0, false, false},
         binary_example},
        {"broadcast_except_s9",
         {"fZY28M", "/", "bcast", ARGS("\"from-c3\"", NULL, 0), NULL, 0, sender, 1, false, false},
         broadcast_example},
        {"volatile_s9",
         {"fZY28M", "/", "vol", ARGS(" 2 ", NULL, 0), NULL, 0, NULL, 0, true, true},
         volatile_example},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        struct jbuf out = {0};
        const char *why = NULL;
        CHECK_EQ_INT(mp_broadcast_encode(&out, &rows[k].m, &why), 0);
        CHECK(bytes_are(&out, rows[k].hex));
        if (!bytes_are(&out, rows[k].hex))
            fprintf(stderr, "  got %zu bytes\n", out.len);
        jb_free(&out);
    }
    check_row(NULL);
}

TEST(broadcast_encode_with_no_arguments_and_both_flags_alone)
{
    struct mp_publish m = {"u", "/admin", "ping", {"", 0, NULL, 0}, NULL, 0, NULL, 0,
                           true, false};
    struct jbuf out = {0};
    const char *why;
    CHECK_EQ_INT(mp_broadcast_encode(&out, &m, &why), 0);
    struct decoded d;
    to_json((const uint8_t *)out.p, out.len, &d);
    CHECK_EQ_STR(d.json, "[\"u\",{\"type\":2,\"data\":[\"ping\"],\"nsp\":\"/admin\"},"
                         "{\"rooms\":[],\"except\":[],\"flags\":{\"volatile\":true}}]");
    jb_reset(&out);
    m.is_volatile = false;
    m.no_compress = true;
    CHECK_EQ_INT(mp_broadcast_encode(&out, &m, &why), 0);
    to_json((const uint8_t *)out.p, out.len, &d);
    CHECK_EQ_STR(d.json, "[\"u\",{\"type\":2,\"data\":[\"ping\"],\"nsp\":\"/admin\"},"
                         "{\"rooms\":[],\"except\":[],\"flags\":{\"compress\":false}}]");
    jb_free(&out);
}

TEST(broadcast_round_trips_several_rooms_in_order)
{
    /* io.to(["a", "b\"q", "\xc3\xa9"]).except(["s1", "s2"]).emit("m", 1): two
     * or more rooms go out on the bare channel, every one in the list. */
    const char *rooms[] = {"a", "b\"q", "\xc3\xa9"}, *except[] = {"s1", "s2"};
    struct mp_publish m = {"n0", "/chat", "m", ARGS("1", NULL, 0), rooms, 3, except, 2,
                           false, false};
    struct jbuf out = {0}, json = {0};
    const char *why = NULL;
    CHECK_EQ_INT(mp_broadcast_encode(&out, &m, &why), 0);
    uint8_t *msg = exact_copy(out.p, out.len);
    struct mp_broadcast bc;
    CHECK_EQ_INT(mp_broadcast_decode(msg, out.len, &json, &bc, &why), 0);
    CHECK_EQ_INT(bc.rooms.count, 3);
    CHECK_EQ_INT(bc.except.count, 2);
    size_t pos = 0, k = 0;
    struct mp_str s;
    while (mp_list_next(&bc.rooms, &pos, &s) == 1 && k < 3) {
        CHECK(s.len == strlen(rooms[k]) && memcmp(s.p, rooms[k], s.len) == 0);
        CHECK((const uint8_t *)s.p > msg && (const uint8_t *)s.p + s.len <= msg + out.len);
        k++;
    }
    CHECK_EQ_INT(k, 3);
    for (pos = 0, k = 0; mp_list_next(&bc.except, &pos, &s) == 1 && k < 2; k++)
        CHECK(s.len == 2 && memcmp(s.p, except[k], 2) == 0);
    CHECK_EQ_INT(k, 2);
    CHECK(bc.nsp.len == 5 && memcmp(bc.nsp.p, "/chat", 5) == 0);
    CHECK(bc.data_len == 7 && memcmp(bc.data, "[\"m\",1]", 7) == 0);
    free(msg);
    jb_free(&json);
    jb_free(&out);
}

TEST(broadcast_decode_finds_keys_in_any_order_and_reads_the_flags)
{
    const struct {
        const char *name, *hex;
        bool is_volatile, no_compress;
        size_t rooms, except;
    } rows[] = {
        {"emitter_order", emitter_example, false, false, 1, 0},
        {"volatile_uncompressed", volatile_example, true, true, 0, 0},
        {"except_sender", broadcast_example, false, false, 0, 1},
        /* flags: {"volatile":false,"compress":true}: both off. */
        {"flags_that_turn_nothing_on",
         "93 a175 82 a474797065 02 a464617461 91 a165 81 a5666c616773"
         " 82 a8766f6c6174696c65 c2 a8636f6d7072657373 c3", false, false, 0, 0},
        /* flags: {"volatile":1,"compress":0}: not booleans, so absent. */
        {"flags_that_are_not_booleans",
         "93 a175 82 a474797065 02 a464617461 91 a165 81 a5666c616773"
         " 82 a8766f6c6174696c65 01 a8636f6d7072657373 00", false, false, 0, 0},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        uint8_t b[MAX_BYTES];
        size_t n = unhex(rows[k].hex, b);
        uint8_t *msg = exact_copy(b, n);
        struct jbuf json = {0};
        struct mp_broadcast bc;
        const char *why = NULL;
        CHECK_EQ_INT(mp_broadcast_decode(msg, n, &json, &bc, &why), 0);
        CHECK_EQ_INT(bc.is_volatile, rows[k].is_volatile);
        CHECK_EQ_INT(bc.no_compress, rows[k].no_compress);
        CHECK_EQ_INT(bc.rooms.count, rows[k].rooms);
        CHECK_EQ_INT(bc.except.count, rows[k].except);
        jb_free(&json);
        free(msg);
    }
    check_row(NULL);
}

TEST(broadcast_decode_accepts_what_node_accepts)
{
    /* [uid, {type:2, data:["e"]}, {}]: no nsp ("/"), no rooms, except or
     * flags; then with unknown keys, a repeated key (the last counts) and
     * a fourth element, all of which Node ignores. */
    static const char minimal[] = "93 a175 82 a474797065 02 a464617461 91 a165 80";
    static const char extras[] =
        "94 a175 85 a3787878 c0 a474797065 05 a474797065 02 a464617461 91 a165"
        " a36e7370 a62f61646d696e"
        " 82 a3797979 93 01 02 03 a5726f6f6d73 91 a472382d31"
        " c3";
    uint8_t b[MAX_BYTES];
    size_t n = unhex(minimal, b);
    uint8_t *msg = exact_copy(b, n);
    struct jbuf json = {0};
    struct mp_broadcast bc;
    const char *why = NULL;
    CHECK_EQ_INT(mp_broadcast_decode(msg, n, &json, &bc, &why), 0);
    CHECK(bc.nsp.len == 1 && bc.nsp.p[0] == '/');
    CHECK(bc.rooms.count == 0 && bc.except.count == 0);
    CHECK(bc.data_len == 5 && memcmp(bc.data, "[\"e\"]", 5) == 0);
    free(msg);

    n = unhex(extras, b);
    msg = exact_copy(b, n);
    jb_reset(&json);
    CHECK_EQ_INT(mp_broadcast_decode(msg, n, &json, &bc, &why), 0);
    CHECK(bc.nsp.len == 6 && memcmp(bc.nsp.p, "/admin", 6) == 0);
    size_t pos = 0;
    struct mp_str room;
    CHECK_EQ_INT(mp_list_next(&bc.rooms, &pos, &room), 1);
    CHECK(room.len == 4 && memcmp(room.p, "r8-1", 4) == 0);
    jb_free(&json);
    free(msg);
}

/* ------------------------------------------------------------------------
 * Truncation: a message cut anywhere
 * ------------------------------------------------------------------------ */

/* True if why is a reason a cut message may be refused for. */
static bool truncation_reason(const char *why)
{
    static const char *const ok[] = {
        "truncated: the message ends inside a value",
        "a length runs past the end of the message",
        "an array or map claims more elements than bytes remain",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (why && strcmp(why, ok[i]) == 0)
            return true;
    }
    return false;
}

/* Cut src at every length 0..n-1, each prefix in its own exact heap
 * block. A msgpack value says where it ends, so no prefix of one is a
 * value: each must be refused, for a reason a cut can cause, by every
 * reader. The broadcast reader may name the part that is cut instead. */
static void check_every_truncation(const char *hex, bool broadcast)
{
    uint8_t b[MAX_BYTES];
    size_t n = unhex(hex, b);
    for (size_t k = 0; k < n; k++) {
        struct decoded d;
        to_json(b, k, &d);
        CHECK_EQ_INT(d.r, MP_ERROR);
        CHECK(truncation_reason(d.why));
        if (!truncation_reason(d.why))
            fprintf(stderr, "  cut at %zu: \"%s\"\n", k, d.why ? d.why : "");
        uint8_t *cut = exact_copy(b, k);
        const char *why = NULL;
        CHECK_EQ_INT(mp_skip(cut, k, &why), MP_ERROR);
        CHECK(truncation_reason(why));
        if (broadcast) {
            struct jbuf json = {0};
            struct mp_broadcast bc;
            why = NULL;
            CHECK_EQ_INT(mp_broadcast_decode(cut, k, &json, &bc, &why), MP_ERROR);
            CHECK(why != NULL);
            CHECK_EQ_INT(json.len, 0);
            jb_free(&json);
        }
        free(cut);
    }
    struct decoded d;
    to_json(b, n, &d);
    CHECK_EQ_INT(d.r, (long)n);
}

TEST(every_truncation_of_every_fixture_is_refused_inside_its_block)
{
    for (size_t k = 0; k < NCAPTURED; k++) {
        check_row(captured[k].name);
        check_every_truncation(captured[k].hex, k < 5);
    }
    check_row("scalars_and_timestamps");
    static const char *const more[] = {
        "cb40f1170000000000", "ca3f800000", "cfffffffffffffffff", "d38000000000000000",
        "ce00011170", "d1ff7f", "d6ff6553f100", "d7ff1d5353006553f100",
        "c70cff3b8b87c0ffffffffffffffff", "c80001 05 00", "c9000000020701ff",
        "d5010203", "d8 00 000102030405060708090a0b0c0d0e0f", "c50003 616263",
        "c600000001 ff", "da0001 61", "db00000001 61", "dc0001 c0", "dd00000001 c0",
        "de0001 a161 c0", "df00000001 a161 c0",
    };
    for (size_t k = 0; k < sizeof more / sizeof more[0]; k++)
        check_every_truncation(more[k], false);
    check_row(NULL);
}

/* ------------------------------------------------------------------------
 * The notes' table: what notepack writes for each JavaScript value
 * ------------------------------------------------------------------------ */

TEST(each_value_in_the_notes_table_both_ways)
{
    /* Each row: the JSON, the bytes notepack writes for its value, and
     * whether mp_from_json must write those exact bytes back. */
    static const struct {
        const char *name, *json, *hex;
        bool encodes_back;
    } rows[] = {
        {"null", "null", "c0", true},
        {"false", "false", "c2", true},
        {"true", "true", "c3", true},
        {"zero", "0", "00", true},
        {"fixint_top", "127", "7f", true},
        {"negative_fixint", "-1", "ff", true},
        {"negative_fixint_bottom", "-32", "e0", true},
        {"uint32_70000", "70000", "ce00011170", true},
        {"float64_70000_is_70000_too", "70000", "cb40f1170000000000", false},
        {"half", "0.5", "cb3fe0000000000000", true},
        {"nan_is_null", "null", "cb7ff8000000000000", false},
        {"infinity_is_null", "null", "cb7ff0000000000000", false},
        {"minus_infinity_is_null", "null", "cbfff0000000000000", false},
        {"float32_one", "1", "ca3f800000", false},
        {"float32_tenth_widened", "0.10000000149011612", "ca3dcccccd", false},
        {"fixstr", "\"hello\"", "a568656c6c6f", true},
        {"empty_string", "\"\"", "a0", true},
        {"fixarray", "[1,[]]", "92 01 90", true},
        {"fixmap", "{\"a\":{}}", "81 a161 80", true},
        {"binary_payload", "[\"event\",1,{\"a\":[true,null]}]",
         "93a56576656e740181a16192c3c0", true},
        {"date_epoch", "\"1970-01-01T00:00:00.000Z\"", "d6ff00000000", false},
        {"date_timestamp32", "\"2023-11-14T22:13:20.000Z\"", "d6ff6553f100", false},
        {"date_timestamp64", "\"2023-11-14T22:13:20.123Z\"", "d7ff1d5353006553f100", false},
        {"date_timestamp96_before_1970", "\"1969-12-31T23:59:59.999Z\"",
         "c70cff3b8b87c0ffffffffffffffff", false},
        {"date_sub_ms_truncates_toward_zero", "\"1969-12-31T23:59:59.001Z\"",
         "c70cff00000001ffffffffffffffff", false},
        {"date_year_2514", "\"2514-05-30T01:53:04.000Z\"", "c70cff000000000000000400000000", false},
        {"date_year_minus_1", "\"-000001-01-01T00:00:00.000Z\"",
         "c70cff00000000fffffff184aa5080", false},
        {"date_out_of_range_is_null", "null", "c70cff000000007fffffffffffffff", false},
        {"timestamp_of_odd_length_is_null", "null", "c703ff010203", false},
        {"other_ext_is_nil", "[null,null]", "92 d40100 c7020a0102", false},
        {"notepack_undefined_is_nil", "null", "d40000", false},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        uint8_t b[MAX_BYTES];
        size_t n = unhex(rows[k].hex, b);
        struct decoded d;
        to_json(b, n, &d);
        CHECK_EQ_INT(d.r, (long)n);
        CHECK_EQ_STR(d.json, rows[k].json);
        if (rows[k].encodes_back) {
            struct jbuf out = {0};
            const char *why;
            CHECK_EQ_INT(from_json(rows[k].json, NULL, 0, &out, &why), 0);
            CHECK(bytes_are(&out, rows[k].hex));
            jb_free(&out);
        }
    }
    check_row(NULL);
}

/* ------------------------------------------------------------------------
 * Limits at their edges
 * ------------------------------------------------------------------------ */

TEST(integers_at_every_width_boundary)
{
    static const struct {
        const char *name;
        int64_t v;
        const char *hex, *json;
    } rows[] = {
        {"fixint_max", 127, "7f", "127"},
        {"uint8_min", 128, "cc80", "128"},
        {"uint8_max", 255, "ccff", "255"},
        {"uint16_min", 256, "cd0100", "256"},
        {"uint16_max", 65535, "cdffff", "65535"},
        {"uint32_min", 65536, "ce00010000", "65536"},
        {"uint32_max", 4294967295, "ceffffffff", "4294967295"},
        {"uint64_min", 4294967296, "cf0000000100000000", "4294967296"},
        {"int64_max", INT64_MAX, "cf7fffffffffffffff", "9223372036854775807"},
        {"negative_fixint_min", -32, "e0", "-32"},
        {"int8_max", -33, "d0df", "-33"},
        {"int8_min", -128, "d080", "-128"},
        {"int16_max", -129, "d1ff7f", "-129"},
        {"int16_min", -32768, "d18000", "-32768"},
        {"int32_max", -32769, "d2ffff7fff", "-32769"},
        {"int32_min", INT32_MIN, "d280000000", "-2147483648"},
        {"int64_max_negative", (int64_t)INT32_MIN - 1, "d3ffffffff7fffffff", "-2147483649"},
        {"int64_min", INT64_MIN, "d38000000000000000", "-9223372036854775808"},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        struct jbuf out = {0};
        mp_put_int(&out, rows[k].v);
        CHECK(bytes_are(&out, rows[k].hex));
        struct mp_item it;
        const char *why;
        CHECK_EQ_INT(mp_read((const uint8_t *)out.p, out.len, &it, &why), (long)out.len);
        CHECK(it.kind == MP_INT && it.i == rows[k].v);
        struct decoded d;
        to_json((const uint8_t *)out.p, out.len, &d);
        CHECK_EQ_STR(d.json, rows[k].json);
        jb_reset(&out);
        CHECK_EQ_INT(from_json(rows[k].json, NULL, 0, &out, &why), 0);
        CHECK(bytes_are(&out, rows[k].hex));
        jb_free(&out);
    }
    check_row("uint64_above_int64_max");
    struct jbuf out = {0};
    mp_put_uint(&out, UINT64_MAX);
    CHECK(bytes_are(&out, "cfffffffffffffffff"));
    struct mp_item it;
    const char *why;
    CHECK_EQ_INT(mp_read((const uint8_t *)out.p, out.len, &it, &why), 9);
    CHECK(it.kind == MP_UINT && it.u == UINT64_MAX);
    struct decoded d;
    to_json((const uint8_t *)out.p, out.len, &d);
    CHECK_EQ_STR(d.json, "18446744073709551615");
    jb_reset(&out);
    CHECK_EQ_INT(from_json("9223372036854775808", NULL, 0, &out, &why), 0);
    CHECK(bytes_are(&out, "cf8000000000000000"));
    jb_reset(&out);
    /* One past 64 bits is no integer: a double, as JSON.parse reads it. */
    CHECK_EQ_INT(from_json("18446744073709551616", NULL, 0, &out, &why), 0);
    CHECK(bytes_are(&out, "cb43f0000000000000"));
    jb_reset(&out);
    /* Too big for a double: Infinity to JavaScript, null to every client. */
    CHECK_EQ_INT(from_json("1e400", NULL, 0, &out, &why), 0);
    CHECK(bytes_are(&out, "c0"));
    jb_free(&out);
    check_row(NULL);
}

/* Encode a str, bin, array or map of size n with mp_put_*, check its
 * header, then decode it back. */
static void check_size_edge(const char *name, enum mp_kind kind, size_t n,
                            const char *head)
{
    check_row(name);
    struct jbuf out = {0};
    char *fill = calloc(n ? n : 1, 1);
    if (!fill)
        exit(2);
    memset(fill, 'x', n);
    if (kind == MP_STR)
        mp_put_str(&out, fill, n);
    else if (kind == MP_BIN)
        mp_put_bin(&out, (const uint8_t *)fill, n);
    if (kind == MP_ARRAY)
        mp_put_array(&out, n);
    for (size_t i = 1; kind == MP_ARRAY && i <= n; i++)
        mp_put_nil(&out);
    if (kind == MP_MAP)
        mp_put_map(&out, n);
    for (size_t i = 1; kind == MP_MAP && i <= n; i++) {
        char key[8];
        snprintf(key, sizeof key, "%zx", i);
        mp_put_str(&out, key, strlen(key));
        mp_put_nil(&out);
    }
    uint8_t want[8];
    size_t hn = unhex(head, want);
    CHECK(out.len >= hn && memcmp(out.p, want, hn) == 0);
    uint8_t *msg = exact_copy(out.p, out.len);
    struct mp_item it;
    const char *why;
    bool bytes = kind == MP_STR || kind == MP_BIN;
    CHECK_EQ_INT(mp_read(msg, out.len, &it, &why), (long)(hn + (bytes ? n : 0)));
    CHECK_EQ_INT(it.kind, kind);
    CHECK_EQ_INT(bytes ? it.len : it.count, n);
    CHECK_EQ_INT(mp_skip(msg, out.len, &why), (long)out.len);
    free(msg);
    free(fill);
    jb_free(&out);
}

TEST(str_bin_array_and_map_headers_at_their_boundaries)
{
    check_size_edge("fixstr_31", MP_STR, 31, "bf");
    check_size_edge("str8_32", MP_STR, 32, "d920");
    check_size_edge("str8_255", MP_STR, 255, "d9ff");
    check_size_edge("str16_256", MP_STR, 256, "da0100");
    check_size_edge("str16_65535", MP_STR, 65535, "daffff");
    check_size_edge("str32_65536", MP_STR, 65536, "db00010000");
    check_size_edge("bin8_0", MP_BIN, 0, "c400");
    check_size_edge("bin8_255", MP_BIN, 255, "c4ff");
    check_size_edge("bin16_256", MP_BIN, 256, "c50100");
    check_size_edge("bin16_65535", MP_BIN, 65535, "c5ffff");
    check_size_edge("bin32_65536", MP_BIN, 65536, "c600010000");
    check_size_edge("fixarray_15", MP_ARRAY, 15, "9f");
    check_size_edge("array16_16", MP_ARRAY, 16, "dc0010");
    check_size_edge("array16_65535", MP_ARRAY, 65535, "dcffff");
    check_size_edge("array32_65536", MP_ARRAY, 65536, "dd00010000");
    check_size_edge("fixmap_15", MP_MAP, 15, "8f");
    check_size_edge("map16_16", MP_MAP, 16, "de0010");
    check_row(NULL);
}

TEST(str_boundaries_through_the_bridge)
{
    /* JSON strings of 255/256 and 65535/65536 bytes come out as str8/16/32. */
    static const struct {
        size_t n;
        const char *head;
    } rows[] = {{31, "bf"}, {32, "d920"}, {255, "d9ff"}, {256, "da0100"},
                {65535, "daffff"}, {65536, "db00010000"}};
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        size_t n = rows[k].n;
        char *json = malloc(n + 3);
        if (!json)
            exit(2);
        json[0] = '"';
        memset(json + 1, 'y', n);
        json[n + 1] = '"';
        json[n + 2] = '\0';
        struct jbuf out = {0};
        const char *why;
        CHECK_EQ_INT(from_json(json, NULL, 0, &out, &why), 0);
        uint8_t want[8];
        size_t hn = unhex(rows[k].head, want);
        CHECK(out.len == hn + n && memcmp(out.p, want, hn) == 0);
        struct jbuf back = {0};
        struct hub_blob bins[SIO_MAX_ATTACHMENTS];
        size_t nbins;
        CHECK_EQ_INT(mp_to_json((const uint8_t *)out.p, out.len, &back, bins, &nbins, &why),
                     (long)out.len);
        CHECK(back.len == n + 2 && memcmp(back.p, json, n + 2) == 0);
        jb_free(&back);
        jb_free(&out);
        free(json);
    }
}

/* depth arrays nested, around inner: 91 91 ... inner. */
static size_t nested(uint8_t *out, int depth, const char *inner)
{
    memset(out, 0x91, (size_t)depth);
    return (size_t)depth + unhex(inner, out + depth);
}

TEST(depth_limit_at_its_edge)
{
    uint8_t b[MAX_BYTES];
    struct decoded d;
    const char *why;
    size_t n = nested(b, MP_MAX_DEPTH, "c0"); /* 32 arrays: allowed */
    to_json(b, n, &d);
    CHECK_EQ_INT(d.r, (long)n);
    CHECK_EQ_INT(mp_skip(b, n, &why), (long)n);
    n = nested(b, MP_MAX_DEPTH, "90"); /* an empty 33rd: refused */
    to_json(b, n, &d);
    CHECK_EQ_INT(d.r, MP_ERROR);
    CHECK_EQ_STR(d.why, "nested deeper than MP_MAX_DEPTH");
    CHECK_EQ_INT(mp_skip(b, n, &why), MP_ERROR);
    /* A bin becomes an object, so it needs a level of its own. */
    n = nested(b, MP_MAX_DEPTH - 1, "c40161");
    to_json(b, n, &d);
    CHECK_EQ_INT(d.r, (long)n);
    CHECK_EQ_INT(d.nbins, 1);
    n = nested(b, MP_MAX_DEPTH, "c40161");
    to_json(b, n, &d);
    CHECK_EQ_STR(d.why, "nested deeper than MP_MAX_DEPTH");
    /* Deep but flat: 32 levels then their siblings close correctly. */
    n = nested(b, 3, "92 91 01 02");
    b[0] = 0x92;
    b[n++] = 0x03;
    to_json(b, n, &d);
    CHECK_EQ_STR(d.json, "[[[[[1],2]]],3]");

    /* JSON: 32 brackets are JSON_MAX_DEPTH, 33 are refused by json_scan. */
    char json[80];
    memset(json, '[', 32);
    memset(json + 32, ']', 32);
    json[64] = '\0';
    struct jbuf out = {0};
    CHECK_EQ_INT(from_json(json, NULL, 0, &out, &why), 0);
    CHECK_EQ_INT(out.len, 32);
    jb_reset(&out);
    memset(json, '[', 33);
    memset(json + 33, ']', 33);
    json[66] = '\0';
    CHECK_EQ_INT(from_json(json, NULL, 0, &out, &why), MP_ERROR);
    jb_free(&out);
}

TEST(count_limit_refuses_a_header_that_promises_more_than_the_bytes)
{
    static const struct {
        const char *name, *hex;
    } rows[] = {
        {"array32_of_four_billion", "ddffffffff 00 00"},
        {"map32_of_four_billion", "dfffffffff 00 00"},
        {"fixarray_of_15_in_3_bytes", "9f 00 00 00"},
        {"fixmap_cut_after_three_items", "82 a161 00 00"},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        uint8_t b[MAX_BYTES];
        size_t n = unhex(rows[k].hex, b);
        struct mp_item it;
        const char *why = NULL;
        uint8_t *msg = exact_copy(b, n);
        long r = mp_read(msg, n, &it, &why);
        if (k < 3) {
            CHECK_EQ_INT(r, MP_ERROR);
            CHECK_EQ_STR(why, "an array or map claims more elements than bytes remain");
        }
        CHECK_EQ_INT(mp_skip(msg, n, &why), MP_ERROR);
        free(msg);
    }
    check_row(NULL);
}

/* ------------------------------------------------------------------------
 * The bridge: JSON -> msgpack -> JSON
 * ------------------------------------------------------------------------ */

TEST(json_round_trips_through_msgpack)
{
    static const uint8_t a[] = {1, 2, 3}, b[] = {0xff}, c[] = {0};
    const struct hub_blob bins[] = {{a, 3}, {b, 1}, {c, 0}};
    /* Each row: JSON in, the attachments it may name, the JSON out (the
     * same unless a number or escape has one canonical spelling). */
    static const struct {
        const char *name, *in;
        size_t nbins;
        const char *out;
    } rows[] = {
        {"event_with_args", "[\"event\",1,{\"a\":[true,null]}]", 0, NULL},
        {"empty_array", "[]", 0, NULL},
        {"empty_object", "{}", 0, NULL},
        {"nested_placeholders",
         "[\"bin\",{\"_placeholder\":true,\"num\":0},{\"nested\":{\"_placeholder\":true,\"num\":1},"
         "\"deeper\":[[{\"_placeholder\":true,\"num\":2}]]}]", 3, NULL},
        {"placeholder_named_twice_is_two_bins",
         "[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":1}]", 2,
         "[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"},
        {"placeholder_extra_keys_dropped", "[{\"num\":0,\"_placeholder\":true,\"x\":1}]", 1,
         "[{\"_placeholder\":true,\"num\":0}]"},
        {"white_space_goes", " [ 1 , { \"k\" : \"v\" } ] ", 0, "[1,{\"k\":\"v\"}]"},
        {"integral_doubles_are_integers", "[1.0,1e3,-0,4294967296.0,-0.0]", 0,
         "[1,1000,0,4294967296,0]"},
        {"fractions", "[0.1,-2.5e-7,1.5,123456789.125,1e300,-1e-300]", 0,
         "[0.1,-2.5e-07,1.5,123456789.125,1e+300,-1e-300]"},
        {"overflow_is_nil", "[1e400,-1e400]", 0, "[null,null]"},
        {"int64_edges", "[9223372036854775807,-9223372036854775808,18446744073709551615]", 0,
         NULL},
        {"escapes_unescaped_then_escaped_again", "[\"\\u00e9\\/\\b\\f\\n\\r\\t\\\"\\\\\"]", 0,
         "[\"\xc3\xa9/\\b\\f\\n\\r\\t\\\"\\\\\"]"},
        {"nul_is_a_character", "[\"a\\u0000b\"]", 0, NULL},
        {"surrogate_pair", "[\"\\ud83d\\ude00\"]", 0, "[\"\xf0\x9f\x98\x80\"]"},
        {"lone_surrogate_becomes_u_fffd", "[\"\\ud800x\\udc00\"]", 0,
         "[\"\xef\xbf\xbdx\xef\xbf\xbd\"]"},
        {"utf8_passes_through", "[\"\xe2\x82\xac \xf0\x9f\x98\x80\"]", 0, NULL},
        {"escaped_placeholder_key_is_a_placeholder",
         "[{\"\\u005fplaceholder\":true,\"num\":0}]", 1, "[{\"_placeholder\":true,\"num\":0}]"},
        {"long_number", "[1.00000000000000000000000000000000000000000000000000000000000000000001]",
         0, "[1]"},
        {"s6_fetch_response",
         "{\"requestId\":\"qeDFBh\",\"rooms\":[\"0HDf\",\"room1\",\"70fv\",\"room2\",\"room3\"]}",
         0, NULL},
        {"s6_remote_fetch_request",
         "{\"uid\":\"fZY28M\",\"requestId\":\"BlZmaH\",\"type\":5,\"opts\":{\"rooms\":[\"room1\"],"
         "\"except\":[]}}", 0, NULL},
        {"s6_server_side_emit", "{\"uid\":\"fZY28M\",\"requestId\":\"VdFp3F\",\"type\":6,"
         "\"data\":[\"hi\",2]}", 0, NULL},
        {"s8_sharded_broadcast",
         "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"hello\",{\"a\":1}]},\"opts\":"
         "{\"rooms\":[\"room1\"],\"except\":[],\"flags\":{}}},\"uid\":\"6d14\",\"nsp\":\"/\"}", 0, NULL},
        {"s6_ack_request", ack_request_json, 0, NULL},
        {"s6_ack", ack_json, 0, NULL},
        {"bare_number_at_end_of_buffer", "12.5", 0, NULL},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        struct jbuf mp = {0};
        const char *why = NULL;
        CHECK_EQ_INT(from_json(rows[k].in, bins, rows[k].nbins, &mp, &why), 0);
        struct decoded d;
        to_json((const uint8_t *)mp.p, mp.len, &d);
        CHECK_EQ_INT(d.r, (long)mp.len);
        CHECK_EQ_STR(d.json, rows[k].out ? rows[k].out : rows[k].in);
        jb_free(&mp);
    }
    check_row(NULL);
}

TEST(placeholders_number_the_bins_in_order_of_appearance)
{
    /* ["x", bin "A", {"k": [bin "BB"]}, bin ""] */
    uint8_t b[MAX_BYTES];
    size_t n = unhex("94 a178 c40141 81 a16b 91 c4024242 c400", b);
    struct decoded d;
    to_json(b, n, &d);
    CHECK_EQ_STR(d.json, "[\"x\",{\"_placeholder\":true,\"num\":0},{\"k\":[{\"_placeholder\":"
                         "true,\"num\":1}]},{\"_placeholder\":true,\"num\":2}]");
    CHECK_EQ_INT(d.nbins, 3);
    CHECK(d.bin_off[0] == 5 && d.bin_len[0] == 1);
    CHECK(d.bin_off[1] == 12 && d.bin_len[1] == 2);
    CHECK(d.bin_off[2] == 16 && d.bin_len[2] == 0);
    /* Exactly 10 bins is the limit, and fine. */
    uint8_t ten[MAX_BYTES];
    ten[0] = 0x9a;
    for (int i = 0; i < 10; i++) {
        ten[1 + 2 * i] = 0xc4;
        ten[2 + 2 * i] = 0x00;
    }
    to_json(ten, 21, &d);
    CHECK_EQ_INT(d.nbins, 10);
}

/* Random values: msgpack -> JSON -> msgpack -> JSON gives the same text. */
static void random_value(struct jbuf *b, int depth)
{
    uint32_t r = rng() % (depth < 6 ? 12 : 9);
    char key[8];
    switch (r) {
    case 0: mp_put_nil(b); break;
    case 1: mp_put_bool(b, rng() & 1); break;
    case 2: { /* any width, either sign */
        uint64_t u = ((uint64_t)rng() << 40 ^ (uint64_t)rng() << 20 ^ rng()) >> (rng() % 60);
        mp_put_int(b, u & 1 ? -(int64_t)(u >> 1) : (int64_t)(u >> 1));
        break;
    }
    case 3: mp_put_int(b, (int32_t)rng() % 300); break;
    case 4: mp_put_float(b, (double)(int32_t)rng() / (double)(rng() | 1)); break;
    case 5: mp_put_uint(b, UINT64_MAX - rng()); break;
    case 6: { /* whole UTF-8 pieces, some of which JSON must escape */
        static const char *const pieces[] = {"a", "\"", "\\", "\n", "\x01", "\xc3\xa9",
                                             "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
        char str[32];
        size_t len = 0;
        for (uint32_t i = rng() % 6; i > 0; i--) {
            const char *piece = pieces[rng() % 8];
            memcpy(str + len, piece, strlen(piece));
            len += strlen(piece);
        }
        mp_put_str(b, str, len);
        break;
    }
    case 7: mp_put_bin(b, (const uint8_t *)"bytes", rng() % 6); break;
    case 8: mp_put_str(b, "\xe2\x82\xac", 3); break;
    case 9: case 10: {
        size_t n = rng() % 5;
        mp_put_array(b, n);
        for (size_t i = 0; i < n; i++)
            random_value(b, depth + 1);
        break;
    }
    default: {
        size_t n = rng() % 4;
        mp_put_map(b, n);
        for (size_t i = 0; i < n; i++) {
            snprintf(key, sizeof key, "k%u", (unsigned)(rng() % 10));
            mp_put_str(b, key, strlen(key));
            random_value(b, depth + 1);
        }
    }
    }
}

TEST(random_values_round_trip_to_the_same_json)
{
    int done = 0;
    for (int t = 0; t < 2000; t++) {
        struct jbuf mp = {0};
        random_value(&mp, 0);
        struct decoded d1, d2;
        to_json((const uint8_t *)mp.p, mp.len, &d1);
        if (d1.r == MP_ERROR) { /* over 10 bins, now and then */
            CHECK_EQ_STR(d1.why, "more than 10 bin values");
            jb_free(&mp);
            continue;
        }
        CHECK_EQ_INT(d1.r, (long)mp.len);
        struct hub_blob bins[SIO_MAX_ATTACHMENTS];
        for (size_t i = 0; i < d1.nbins; i++) {
            bins[i].data = (const uint8_t *)mp.p + d1.bin_off[i];
            bins[i].len = d1.bin_len[i];
        }
        struct jbuf again = {0};
        const char *why;
        CHECK_EQ_INT(from_json(d1.json, bins, d1.nbins, &again, &why), 0);
        to_json((const uint8_t *)again.p, again.len, &d2);
        CHECK_EQ_STR(d2.json, d1.json);
        CHECK_EQ_INT(d2.nbins, d1.nbins);
        for (size_t i = 0; i < d1.nbins && i < d2.nbins; i++) {
            CHECK(d2.bin_len[i] == d1.bin_len[i] &&
                  memcmp(again.p + d2.bin_off[i], mp.p + d1.bin_off[i], d1.bin_len[i]) == 0);
        }
        jb_free(&again);
        jb_free(&mp);
        done++;
    }
    CHECK(done > 1500);
}

/* ------------------------------------------------------------------------
 * What must be refused, and why
 * ------------------------------------------------------------------------ */

TEST(to_json_refuses_each_malformed_value_for_its_reason)
{
    static const struct {
        const char *name, *hex, *why;
    } rows[] = {
        {"non_string_map_key", "81 01 02", "a map key is not a string"},
        {"nil_map_key", "81 c0 02", "a map key is not a string"},
        {"bad_utf8_byte", "a1 ff", "a string is not valid UTF-8"},
        {"utf8_overlong", "a2 c080", "a string is not valid UTF-8"},
        {"utf8_surrogate", "a3 eda080", "a string is not valid UTF-8"},
        {"utf8_cut_short", "a2 e282", "a string is not valid UTF-8"},
        {"bad_utf8_in_a_key", "81 a1 ff 00", "a string is not valid UTF-8"},
        {"eleven_bins", "9b c400 c400 c400 c400 c400 c400 c400 c400 c400 c400 c400",
         "more than 10 bin values"},
        {"truncated_float64", "cb 0000", "truncated: the message ends inside a value"},
        {"truncated_float32", "ca 00", "truncated: the message ends inside a value"},
        {"truncated_uint16", "cd 01", "truncated: the message ends inside a value"},
        {"str_length_past_end", "d9 05 61", "a length runs past the end of the message"},
        {"bin_length_past_end", "c6 7fffffff 00", "a length runs past the end of the message"},
        {"ext_length_past_end", "c7 05 01 00", "a length runs past the end of the message"},
        {"fixext_past_end", "d8 01 00", "a length runs past the end of the message"},
        {"never_used_c1", "c1", "type byte 0xc1 is never used"},
        {"c1_inside_an_array", "92 01 c1", "type byte 0xc1 is never used"},
        {"placeholder_key_forged", "81 ac 5f706c616365686f6c646572 c3",
         "a map has a _placeholder key"},
        {"empty_input", "", "truncated: the message ends inside a value"},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        uint8_t b[MAX_BYTES];
        size_t n = unhex(rows[k].hex, b);
        struct decoded d;
        to_json(b, n, &d);
        CHECK_EQ_INT(d.r, MP_ERROR);
        CHECK_EQ_STR(d.why, rows[k].why);
    }
    check_row("depth_over_limit");
    uint8_t b[MAX_BYTES];
    size_t n = nested(b, MP_MAX_DEPTH + 1, "c0");
    struct decoded d;
    to_json(b, n, &d);
    CHECK_EQ_STR(d.why, "nested deeper than MP_MAX_DEPTH");
    check_row("ten_thousand_brackets_cost_one_refusal");
    uint8_t *deep = malloc(10000);
    if (!deep)
        exit(2);
    memset(deep, 0x91, 10000);
    to_json(deep, 10000, &d);
    CHECK_EQ_STR(d.why, "nested deeper than MP_MAX_DEPTH");
    const char *why;
    CHECK_EQ_INT(mp_skip(deep, 10000, &why), MP_ERROR);
    free(deep);
    check_row(NULL);
}

TEST(to_json_returns_the_value_length_and_leaves_what_follows)
{
    uint8_t b[] = {0x92, 0x01, 0x02, 0xc1, 0xff};
    struct decoded d;
    to_json(b, sizeof b, &d);
    CHECK_EQ_INT(d.r, 3);
    CHECK_EQ_STR(d.json, "[1,2]");
}

TEST(from_json_refuses_each_bad_input_for_its_reason)
{
    static const uint8_t a[] = {1};
    struct hub_blob eleven[11];
    for (int i = 0; i < 11; i++) {
        eleven[i].data = a;
        eleven[i].len = 1;
    }
    static const struct {
        const char *name, *json;
        size_t nbins;
        const char *why;
    } rows[] = {
        {"not_json", "[1,", 0, "not valid JSON, or a placeholder names no attachment"},
        {"empty", "", 0, "not valid JSON, or a placeholder names no attachment"},
        {"two_values", "[1] [2]", 0, "text after the JSON value"},
        {"bad_utf8", "[\"\xff\"]", 0, "JSON text is not valid UTF-8"},
        {"placeholder_without_attachments", "[{\"_placeholder\":true,\"num\":0}]", 0,
         "not valid JSON, or a placeholder names no attachment"},
        {"placeholder_num_out_of_range", "[{\"_placeholder\":true,\"num\":1}]", 1,
         "not valid JSON, or a placeholder names no attachment"},
        {"placeholder_false", "[{\"_placeholder\":false,\"num\":0}]", 1,
         "not valid JSON, or a placeholder names no attachment"},
        {"placeholder_num_not_an_integer", "[{\"_placeholder\":true,\"num\":0.0}]", 1,
         "not valid JSON, or a placeholder names no attachment"},
        {"placeholder_first_num_out_of_range",
         "[{\"_placeholder\":true,\"num\":7,\"num\":0}]", 1, "a placeholder names no attachment"},
        {"eleven_attachments", "[1]", 11, "more than 10 attachments"},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        struct jbuf out = {0};
        jb_lit(&out, "keep");
        const char *why = NULL;
        CHECK_EQ_INT(from_json(rows[k].json, eleven, rows[k].nbins, &out, &why), MP_ERROR);
        CHECK_EQ_STR(why, rows[k].why);
        CHECK_EQ_INT(out.len, 4); /* left as it was */
        jb_free(&out);
    }
    check_row(NULL);
}

TEST(broadcast_decode_refuses_each_malformed_message_for_its_reason)
{
    static const struct {
        const char *name, *hex, *why;
    } rows[] = {
        {"not_an_array", "83 a175 00 a176 00 a177 00", "a broadcast is an array [uid, packet, opts]"},
        {"only_two_elements", "92 a175 80", "a broadcast is an array [uid, packet, opts]"},
        {"uid_not_a_string", "93 01 80 80", "uid is not a string"},
        {"packet_not_a_map", "93 a175 90 80", "packet is not a map"},
        {"opts_not_a_map", "93 a175 80 90", "opts is not a map"},
        {"no_type", "93 a175 81 a464617461 91 a165 80", "packet type is not 2 (EVENT)"},
        {"binary_event_type_5", "93 a175 82 a474797065 05 a464617461 91 a165 80",
         "packet type is not 2 (EVENT)"},
        {"ack_type_3", "93 a175 82 a474797065 03 a464617461 91 a165 80",
         "packet type is not 2 (EVENT)"},
        {"type_as_a_string", "93 a175 82 a474797065 a132 a464617461 91 a165 80",
         "packet type is not 2 (EVENT)"},
        {"no_data", "93 a175 81 a474797065 02 80",
         "data is not an array that starts with the event name"},
        {"empty_data", "93 a175 82 a474797065 02 a464617461 90 80",
         "data is not an array that starts with the event name"},
        {"event_name_not_a_string", "93 a175 82 a474797065 02 a464617461 91 01 80",
         "data is not an array that starts with the event name"},
        {"nsp_not_a_string", "93 a175 83 a474797065 02 a464617461 91 a165 a36e7370 c0 80",
         "nsp is not a string"},
        {"numeric_room", "93 a175 82 a474797065 02 a464617461 91 a165 81 a5726f6f6d73 91 2a",
         "rooms are not all strings"},
        {"rooms_not_a_list", "93 a175 82 a474797065 02 a464617461 91 a165 81 a5726f6f6d73 a178",
         "rooms are not all strings"},
        {"numeric_except", "93 a175 82 a474797065 02 a464617461 91 a165 81 a6657863657074 91 2a",
         "except is not all strings"},
        {"flags_not_a_map", "93 a175 82 a474797065 02 a464617461 91 a165 81 a5666c616773 c3",
         "flags is not a map"},
        {"room_not_utf8", "93 a175 82 a474797065 02 a464617461 91 a165 81 a5726f6f6d73 91 a1ff",
         "rooms are not all strings"},
        {"non_string_key", "93 a175 82 01 02 a464617461 91 a165 80", "a map key is not a string"},
        {"trailing_bytes", "93 a175 82 a474797065 02 a464617461 91 a165 80 c0",
         "bytes after the broadcast"},
        {"ignored_fourth_element_cut_short", "94 a175 82 a474797065 02 a464617461 91 a165 80",
         "truncated: the message ends inside a value"},
        {"data_with_a_forged_placeholder",
         "93 a175 82 a474797065 02 a464617461 92 a165 81 ac5f706c616365686f6c646572 c3 80",
         "a map has a _placeholder key"},
        {"json_instead_of_msgpack", "7b7d", "a broadcast is an array [uid, packet, opts]"},
        {"the_byte_c1", "c1", "type byte 0xc1 is never used"},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        uint8_t b[MAX_BYTES];
        size_t n = unhex(rows[k].hex, b);
        uint8_t *msg = exact_copy(b, n);
        struct jbuf json = {0};
        jb_lit(&json, "keep");
        struct mp_broadcast bc;
        const char *why = NULL;
        CHECK_EQ_INT(mp_broadcast_decode(msg, n, &json, &bc, &why), MP_ERROR);
        CHECK_EQ_STR(why, rows[k].why);
        CHECK_EQ_INT(json.len, 4);
        jb_free(&json);
        free(msg);
    }
    check_row(NULL);
}

TEST(broadcast_encode_refuses_what_must_not_reach_redis)
{
    static const uint8_t a[] = {1};
    const struct hub_blob one[] = {{a, 1}};
    const char *bad_room[] = {"ok", "\xff"};
    const struct {
        const char *name;
        struct mp_publish m;
        const char *why;
    } rows[] = {
        {"arguments_that_leave_data",
         {"u", "/", "e", ARGS("1]},{\"rooms\":[\"x\"", NULL, 0), NULL, 0, NULL, 0, false, false},
         "the arguments are not a list of JSON values"},
        {"arguments_not_json", {"u", "/", "e", ARGS("1,", NULL, 0), NULL, 0, NULL, 0, false, false},
         "the arguments are not a list of JSON values"},
        {"room_not_utf8", {"u", "/", "e", {"", 0, NULL, 0}, bad_room, 2, NULL, 0, false, false},
         "JSON text is not valid UTF-8"},
        {"event_not_utf8", {"u", "/", "\xc3", {"", 0, NULL, 0}, NULL, 0, NULL, 0, false, false},
         "JSON text is not valid UTF-8"},
        {"placeholder_past_the_bins",
         {"u", "/", "e", ARGS("{\"_placeholder\":true,\"num\":1}", one, 1), NULL, 0, NULL, 0,
          false, false},
         "not valid JSON, or a placeholder names no attachment"},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        check_row(rows[k].name);
        struct jbuf out = {0};
        jb_lit(&out, "keep");
        const char *why = NULL;
        CHECK_EQ_INT(mp_broadcast_encode(&out, &rows[k].m, &why), MP_ERROR);
        CHECK_EQ_STR(why, rows[k].why);
        CHECK_EQ_INT(out.len, 4);
        jb_free(&out);
    }
    check_row(NULL);
}

TEST(list_next_refuses_a_list_that_holds_something_else)
{
    uint8_t b[] = {0xa1, 'x', 0x01};
    struct mp_list l = {b, sizeof b, 2};
    size_t pos = 0;
    struct mp_str s;
    CHECK_EQ_INT(mp_list_next(&l, &pos, &s), 1);
    CHECK_EQ_INT(mp_list_next(&l, &pos, &s), -1);
}

TEST(encoder_remembers_a_length_msgpack_cannot_hold)
{
    struct jbuf out = {0};
    if (sizeof(size_t) > 4) {
        mp_put_array(&out, (size_t)UINT32_MAX + 1);
        CHECK(out.oom);
    }
    jb_free(&out);
}

int main(void)
{
    RUN(worked_example_is_66_bytes_and_reads_as_the_notes_say);
    RUN(every_captured_message_decodes_to_its_json);
    RUN(every_captured_message_encodes_from_its_json_byte_for_byte);
    RUN(binary_example_hands_out_attachments_inside_the_message);
    RUN(broadcast_encode_writes_what_the_adapter_writes);
    RUN(broadcast_encode_with_no_arguments_and_both_flags_alone);
    RUN(broadcast_round_trips_several_rooms_in_order);
    RUN(broadcast_decode_finds_keys_in_any_order_and_reads_the_flags);
    RUN(broadcast_decode_accepts_what_node_accepts);
    RUN(every_truncation_of_every_fixture_is_refused_inside_its_block);
    RUN(each_value_in_the_notes_table_both_ways);
    RUN(integers_at_every_width_boundary);
    RUN(str_bin_array_and_map_headers_at_their_boundaries);
    RUN(str_boundaries_through_the_bridge);
    RUN(depth_limit_at_its_edge);
    RUN(count_limit_refuses_a_header_that_promises_more_than_the_bytes);
    RUN(json_round_trips_through_msgpack);
    RUN(placeholders_number_the_bins_in_order_of_appearance);
    RUN(random_values_round_trip_to_the_same_json);
    RUN(to_json_refuses_each_malformed_value_for_its_reason);
    RUN(to_json_returns_the_value_length_and_leaves_what_follows);
    RUN(from_json_refuses_each_bad_input_for_its_reason);
    RUN(broadcast_decode_refuses_each_malformed_message_for_its_reason);
    RUN(broadcast_encode_refuses_what_must_not_reach_redis);
    RUN(list_next_refuses_a_list_that_holds_something_else);
    RUN(encoder_remembers_a_length_msgpack_cannot_hold);
    return check_summary("unit_msgpack");
}
