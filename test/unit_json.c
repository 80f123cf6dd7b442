/* unit_json.c -- json.c and sio.c on strings: the scanner, the placeholder
 * rule, unescaping, the builder, and every packet example of the
 * Socket.IO v5 spec plus the malformed ones the hub must refuse.
 * SPDX-License-Identifier: MIT
 */
#include "../json.h"
#include "../sio.h"
#include "check.h"

static long scan(const char *s, int placeholders)
{
    size_t n = strlen(s);
    char *copy = (char *)exact_copy(s, n);
    long r = json_scan(copy, n, placeholders);
    free(copy);
    return r;
}

TEST(scans_valid_values_to_their_end)
{
    static const char *const good[] = {
        "0", "-0", "12", "-3.25e+10", "1E5", "true", "false", "null", "\"\"",
        "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\"", "[]", "{}", "[1,[2,[3]]]",
        "{\"a\":{\"b\":[true,null]}}", " [ 1 , 2 ] ", "\"\xc3\xa9\"",
        "\"\\ud800\"", /* a lone surrogate is legal JSON text (RFC 8259 §8.2) */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        long end = scan(good[i], -1);
        size_t want = strlen(good[i]);
        while (want > 0 && good[i][want - 1] == ' ')
            want--;
        if (end != (long)want)
            fprintf(stderr, "  value: %s\n", good[i]);
        CHECK_EQ_INT(end, (long)want);
    }
}

TEST(refuses_malformed_values)
{
    static const char *const bad[] = {
        "", " ", "01", "-", "1.", ".5", "1e", "+1", "tru", "nul", "True",
        "\"abc", "\"a\nb\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "'a'",
        "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}",
        "[", "]", "{", "[1}", "{\"a\":1]", "\"\\", "[\"a\",",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* Either refused, or a shorter value with junk after it ("01"
         * scans as 0 then 1), which callers refuse by checking the end. */
        long r = scan(bad[i], -1);
        bool whole = r == (long)strlen(bad[i]);
        if (whole)
            fprintf(stderr, "  value: %s\n", bad[i]);
        CHECK(r == JSON_ERROR || !whole);
    }
}

TEST(every_truncation_of_a_container_is_refused)
{
    static const char *const texts[] = {
        "[\"message\",1,\"2\",{\"3\":[true]}]",
        "{\"text\":\"h\\u00e9llo\",\"n\":[1.5e3,null]}",
    };
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(texts[i]);
        for (size_t cut = 0; cut < n; cut++) {
            char *copy = (char *)exact_copy(texts[i], cut);
            CHECK_EQ_INT(json_scan(copy, cut, -1), JSON_ERROR);
            free(copy);
        }
        CHECK_EQ_INT(scan(texts[i], -1), (long)n);
    }
}

TEST(nesting_depth_limit_at_its_edge)
{
    static char deep[2 * 10000 + 1];
    for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        deep[2 * depth] = '\0';
        CHECK_EQ_INT(scan(deep, -1), depth == JSON_MAX_DEPTH ? 2 * depth : JSON_ERROR);
    }
    /* 10,000 levels: refused at level 33, without recursion. */
    memset(deep, '[', 10000);
    memset(deep + 10000, ']', 10000);
    deep[20000] = '\0';
    CHECK_EQ_INT(scan(deep, -1), JSON_ERROR);
}

TEST(placeholders_must_name_a_real_attachment)
{
    const char *ph0 = "[\"m\",{\"_placeholder\":true,\"num\":0}]";
    CHECK_EQ_INT(scan(ph0, 1), (long)strlen(ph0));
    CHECK_EQ_INT(scan(ph0, 0), JSON_ERROR); /* in a plain EVENT */
    CHECK_EQ_INT(scan(ph0, -1), (long)strlen(ph0)); /* plain JSON: no rule */
    CHECK_EQ_INT(scan("[{\"_placeholder\":true,\"num\":1}]", 1), JSON_ERROR);
    CHECK_EQ_INT(scan("[{\"_placeholder\":true,\"num\":-1}]", 1), JSON_ERROR);
    CHECK_EQ_INT(scan("[{\"_placeholder\":true,\"num\":\"0\"}]", 1), JSON_ERROR);
    CHECK_EQ_INT(scan("[{\"_placeholder\":true,\"num\":0.5}]", 1), JSON_ERROR);
    CHECK_EQ_INT(scan("[{\"_placeholder\":true}]", 1), JSON_ERROR);
    CHECK_EQ_INT(scan("[{\"_placeholder\":1,\"num\":0}]", 1), JSON_ERROR);
    const char *swapped = "[{\"num\":0,\"_placeholder\":true}]";
    CHECK_EQ_INT(scan(swapped, 1), (long)strlen(swapped));
    /* An escaped key is the same key once decoded. */
    CHECK_EQ_INT(scan("[{\"\\u005fplaceholder\":true,\"num\":5}]", 1), JSON_ERROR);
    CHECK_EQ_INT(scan("[{\"_placeholder\":true,\"num\":9}]", 10), 31);
}

TEST(unescapes_strings)
{
    char out[64];
    size_t n;
    CHECK_EQ_INT(json_string("\"a\\nb\"", 6, out, sizeof out, &n), 6);
    CHECK(n == 3 && memcmp(out, "a\nb", 3) == 0);
    const char *e = "\"\\u00e9\\u20ac\\ud83d\\ude00\"";
    CHECK_EQ_INT(json_string(e, strlen(e), out, sizeof out, &n), (long)strlen(e));
    CHECK(n == 9 && memcmp(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9) == 0);
    /* Lone surrogates, \u0000, broken escapes, and too little room. */
    static const char *const bad[] = {
        "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\ud83dx\"",
        "\"\\u0000\"", "\"\\u00\"", "\"\\uzzzz\"", "\"\\q\"", "\"abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(json_string(bad[i], strlen(bad[i]), out, sizeof out, &n), JSON_ERROR);
    CHECK_EQ_INT(json_string("\"abcdef\"", 8, out, 5, &n), JSON_ERROR);
    CHECK_EQ_INT(json_string("\"abcde\"", 7, out, 5, &n), 7);
}

TEST(finds_keys_and_walks_arrays)
{
    const char *obj = "{\"room\":\"a\",\"text\":\"hi \\\"x\\\"\",\"n\":{\"text\":1}}";
    const char *v;
    size_t vlen;
    CHECK_EQ_INT(json_get(obj, strlen(obj), "text", &v, &vlen), 0);
    CHECK(vlen == 10 && memcmp(v, "\"hi \\\"x\\\"\"", 10) == 0);
    CHECK_EQ_INT(json_get(obj, strlen(obj), "missing", &v, &vlen), -1);
    CHECK_EQ_INT(json_get("[1]", 3, "a", &v, &vlen), -1);
    CHECK_EQ_INT(json_get("{\"a\":}", 6, "a", &v, &vlen), -1);

    const char *arr = "[1, \"two\", [3]]";
    size_t pos = 0;
    int count = 0;
    while (json_array_next(arr, strlen(arr), &pos, &v, &vlen) == 1)
        count++;
    CHECK_EQ_INT(count, 3);
    pos = 0;
    CHECK_EQ_INT(json_array_next("[]", 2, &pos, &v, &vlen), 0);
}

TEST(integers_at_their_bounds)
{
    int64_t v;
    CHECK_EQ_INT(json_int("9007199254740991", 16, SIO_MAX_ACK_ID, &v), 0);
    CHECK(v == SIO_MAX_ACK_ID);
    CHECK_EQ_INT(json_int("9007199254740992", 16, SIO_MAX_ACK_ID, &v), -1);
    CHECK_EQ_INT(json_int("99999999999999999999", 20, SIO_MAX_ACK_ID, &v), -1);
    CHECK_EQ_INT(json_int("9999999999999999999", 19, INT64_MAX, &v), -1);
    CHECK_EQ_INT(json_int("9223372036854775807", 19, INT64_MAX, &v), 0);
    CHECK(v == INT64_MAX);
    CHECK_EQ_INT(json_int("100", 3, 100, &v), 0);
    CHECK_EQ_INT(json_int("101", 3, 100, &v), -1);
    CHECK_EQ_INT(json_int("01", 2, 100, &v), -1);
    CHECK_EQ_INT(json_int("-1", 2, 100, &v), -1);
    CHECK_EQ_INT(json_int("", 0, 100, &v), -1);
}

TEST(builder_escapes_every_string)
{
    struct jbuf jb = {0};
    const char raw[] = "q\"b\\n\n\t\x01\x1f\xc3\xa9<";
    jb_str(&jb, raw, sizeof raw - 1);
    jb_raw(&jb, ",", 1);
    jb_int(&jb, -9007199254740991LL);
    jb_raw(&jb, "", 0);
    CHECK(!jb.oom);
    const char *want = "\"q\\\"b\\\\n\\n\\t\\u0001\\u001f\xc3\xa9<\",-9007199254740991";
    CHECK(jb.len == strlen(want) && memcmp(jb.p, want, jb.len) == 0);
    /* And what it wrote scans and unescapes back to the original. */
    char back[64];
    size_t n;
    size_t qlen = strchr(want + 1, ',') - want;
    CHECK_EQ_INT(json_string(jb.p, jb.len, back, sizeof back, &n), (long)qlen);
    CHECK(n == sizeof raw - 1 && memcmp(back, raw, n) == 0);
    jb_free(&jb);
}

/* ------------------------------------------------------------------------
 * sio.c: packets
 * ------------------------------------------------------------------------ */

static int parse_packet(const char *text, struct sio_packet *p, const char **why)
{
    return sio_parse(text, strlen(text), p, why);
}

TEST(parses_every_example_of_the_spec)
{
    struct sio_packet p;
    const char *why = NULL;
    /* "Connection to a namespace" */
    CHECK_EQ_INT(parse_packet("0", &p, &why), 0);
    CHECK(p.type == SIO_CONNECT && p.nsp_len == 1 && p.data_len == 0);
    CHECK_EQ_INT(parse_packet("0/admin,{\"token\":\"123\"}", &p, &why), 0);
    CHECK(p.nsp_len == 6 && memcmp(p.nsp, "/admin", 6) == 0);
    CHECK(p.data_len == 15);
    /* "Sending and receiving data" */
    CHECK_EQ_INT(parse_packet("2[\"foo\"]", &p, &why), 0);
    CHECK(p.type == SIO_EVENT && p.ack_id == -1);
    CHECK_EQ_INT(parse_packet("2/admin,[\"bar\"]", &p, &why), 0);
    CHECK_EQ_INT(parse_packet("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", &p, &why), 0);
    CHECK(p.type == SIO_BINARY_EVENT && p.attachments == 1);
    CHECK_EQ_INT(parse_packet("52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", &p, &why), 0);
    CHECK(p.attachments == 2 && p.nsp_len == 6);
    /* "Acknowledgement" */
    CHECK_EQ_INT(parse_packet("212[\"foo\"]", &p, &why), 0);
    CHECK(p.ack_id == 12);
    CHECK_EQ_INT(parse_packet("3/admin,13[\"bar\"]", &p, &why), 0);
    CHECK(p.type == SIO_ACK && p.ack_id == 13);
    CHECK_EQ_INT(parse_packet("61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", &p, &why), 0);
    CHECK(p.type == SIO_BINARY_ACK && p.ack_id == 15 && p.attachments == 1);
    CHECK_EQ_INT(parse_packet("30[]", &p, &why), 0);
    /* "Disconnection from a namespace" */
    CHECK_EQ_INT(parse_packet("1", &p, &why), 0);
    CHECK_EQ_INT(parse_packet("1/admin,", &p, &why), 0);
    CHECK(p.type == SIO_DISCONNECT && p.nsp_len == 6);
}

TEST(splits_an_event_into_name_and_raw_args)
{
    struct sio_packet p;
    const char *why, *args;
    size_t alen;
    char name[SIO_MAX_EVENT_NAME + 1];
    CHECK_EQ_INT(parse_packet("2[\"message\",1,\"2\",{\"3\":[true]}]", &p, &why), 0);
    CHECK_EQ_INT(sio_event(&p, name, sizeof name, &args, &alen, &why), 0);
    CHECK_EQ_STR(name, "message");
    CHECK(alen == 18 && memcmp(args, "1,\"2\",{\"3\":[true]}", 18) == 0);
    CHECK_EQ_INT(parse_packet("2[\"n\\u00e9\"]", &p, &why), 0);
    CHECK_EQ_INT(sio_event(&p, name, sizeof name, &args, &alen, &why), 0);
    CHECK_EQ_STR(name, "n\xc3\xa9");
    CHECK_EQ_INT(alen, 0);
}

TEST(refuses_malformed_packets)
{
    static const char *const bad[] = {
        "", "abc", "7", "4{\"message\":\"x\"}", /* CONNECT_ERROR from a client */
        "2{}", "2abc[\"x\"]", "2\"x\"", "2", "2[", "2[\"x\",]",
        "5[\"x\"]", "5-[\"x\"]", "511-[\"x\"]", "5a-[\"x\"]",
        "51-[\"x\",{\"_placeholder\":true,\"num\":1}]",
        "51-[\"x\",{\"_placeholder\":true,\"num\":-1}]",
        "51-[\"x\",{\"_placeholder\":true,\"num\":\"0\"}]",
        "2[\"x\",{\"_placeholder\":true,\"num\":0}]",
        "51-[\"x\",{\"_placeholder\":true,\"num\":9999999999999999999}]",
        "3[\"x\"]", "29007199254740992[\"x\"]", "299999999999999999999[\"x\"]",
        "0[1]", "0\"tok\"", "012", "1[\"x\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sio_packet p;
        const char *why = NULL;
        int r = parse_packet(bad[i], &p, &why);
        if (r == 0)
            fprintf(stderr, "  packet: %s\n", bad[i]);
        CHECK_EQ_INT(r, -1);
        CHECK(why != NULL);
    }
}

TEST(refuses_bad_event_names)
{
    static const char *const bad[] = {
        "2[]", "2[1]", "2[\"\"]", "2[null]", "2[\"connect\"]",
        "2[\"connect_error\"]", "2[\"disconnect\"]", "2[\"disconnecting\"]",
        "2[\"newListener\"]", "2[\"removeListener\"]", "2[\"connection\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sio_packet p;
        const char *why = NULL, *args;
        size_t alen;
        char name[SIO_MAX_EVENT_NAME + 1];
        int r = parse_packet(bad[i], &p, &why);
        if (r == 0)
            r = sio_event(&p, name, sizeof name, &args, &alen, &why);
        CHECK_EQ_INT(r, -1);
    }
    /* A name of 128 bytes is fine; 129 is not. */
    char text[300], name[SIO_MAX_EVENT_NAME + 1];
    for (int len = 128; len <= 129; len++) {
        int o = sprintf(text, "2[\"");
        memset(text + o, 'e', (size_t)len);
        sprintf(text + o + len, "\"]");
        struct sio_packet p;
        const char *why, *args;
        size_t alen;
        CHECK_EQ_INT(parse_packet(text, &p, &why), 0);
        CHECK_EQ_INT(sio_event(&p, name, sizeof name, &args, &alen, &why), len == 128 ? 0 : -1);
    }
}

TEST(namespace_and_attachment_limits_at_their_edges)
{
    char text[400];
    struct sio_packet p;
    const char *why;
    for (int len = SIO_MAX_NSP; len <= SIO_MAX_NSP + 1; len++) {
        text[0] = '0';
        text[1] = '/';
        memset(text + 2, 'n', (size_t)len - 1);
        text[len + 1] = ',';
        text[len + 2] = '\0';
        CHECK_EQ_INT(parse_packet(text, &p, &why), len == SIO_MAX_NSP ? 0 : -1);
    }
    CHECK_EQ_INT(parse_packet("510-[\"x\"]", &p, &why), 0);
    CHECK_EQ_INT(parse_packet("511-[\"x\"]", &p, &why), -1);
}

TEST(encodes_packet_heads)
{
    struct jbuf jb = {0};
    sio_encode(&jb, SIO_EVENT, "/", 1, 0, -1);
    sio_encode(&jb, SIO_EVENT, "/admin", 6, 2, 7);
    sio_encode(&jb, SIO_ACK, "/", 1, 1, 15);
    sio_encode(&jb, SIO_CONNECT_ERROR, "/x,y", 2, 0, -1); /* length, not NUL */
    CHECK(jb.len == 21 && memcmp(jb.p, "2" "52-/admin,7" "61-15" "4/x,", 21) == 0);
    jb_free(&jb);
}

int main(void)
{
    RUN(scans_valid_values_to_their_end);
    RUN(refuses_malformed_values);
    RUN(every_truncation_of_a_container_is_refused);
    RUN(nesting_depth_limit_at_its_edge);
    RUN(placeholders_must_name_a_real_attachment);
    RUN(unescapes_strings);
    RUN(finds_keys_and_walks_arrays);
    RUN(integers_at_their_bounds);
    RUN(builder_escapes_every_string);
    RUN(parses_every_example_of_the_spec);
    RUN(splits_an_event_into_name_and_raw_args);
    RUN(refuses_malformed_packets);
    RUN(refuses_bad_event_names);
    RUN(namespace_and_attachment_limits_at_their_edges);
    RUN(encodes_packet_heads);
    return check_summary("unit_json");
}
