/* unit_json.c -- json.c on strings: the scanner, the placeholder rule,
 * unescaping, lookups, integers and the builder
 * SPDX-License-Identifier: MIT
 *
 * json_scan is always handed a heap block of exactly the value's length,
 * so under ASan a scanner that reads one byte past the value is caught;
 * each container is also cut at every byte, and every cut is refused.
 * The Socket.IO packets built on this scanner are tested in unit_sio.c.
 */
#include "../json.h"
#include "check.h"

/* 2^53 - 1, the largest integer a JavaScript number holds exactly: the
 * bound Socket.IO puts on ack ids (SIO_MAX_ACK_ID), and so the bound
 * json_int is used with. */
#define MAX_SAFE_INTEGER 9007199254740991

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

TEST(walks_the_members_of_an_object)
{
    const char *obj = " { \"a\\u0062\" : 1 , \"c\":[2,{\"d\":3}] } ";
    const char *k, *v;
    size_t klen, vlen, pos = 0;
    CHECK_EQ_INT(json_object_next(obj, strlen(obj), &pos, &k, &klen, &v, &vlen), 1);
    CHECK(klen == 9 && memcmp(k, "\"a\\u0062\"", 9) == 0); /* the name as written */
    CHECK(vlen == 1 && v[0] == '1');
    CHECK_EQ_INT(json_object_next(obj, strlen(obj), &pos, &k, &klen, &v, &vlen), 1);
    CHECK(vlen == 11 && memcmp(v, "[2,{\"d\":3}]", 11) == 0);
    CHECK_EQ_INT(json_object_next(obj, strlen(obj), &pos, &k, &klen, &v, &vlen), 0);
    pos = 0;
    CHECK_EQ_INT(json_object_next("{}", 2, &pos, &k, &klen, &v, &vlen), 0);
    /* What is not an object's member list: */
    static const char *const bad[] = {
        "[1]", "{1:2}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{\"a\":}", "{\"a\":1,}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r;
        pos = 0;
        while ((r = json_object_next(bad[i], strlen(bad[i]), &pos, &k, &klen, &v, &vlen)) == 1)
            ;
        check_row(bad[i]);
        CHECK_EQ_INT(r, -1);
    }
    check_row(NULL);
    /* json_get walks the same way: an unescaped key matches. */
    CHECK_EQ_INT(json_get(obj, strlen(obj), "ab", &v, &vlen), 0);
    CHECK(vlen == 1 && v[0] == '1');
}

TEST(integers_at_their_bounds)
{
    int64_t v;
    CHECK_EQ_INT(json_int("9007199254740991", 16, MAX_SAFE_INTEGER, &v), 0);
    CHECK(v == MAX_SAFE_INTEGER);
    CHECK_EQ_INT(json_int("9007199254740992", 16, MAX_SAFE_INTEGER, &v), -1);
    CHECK_EQ_INT(json_int("99999999999999999999", 20, MAX_SAFE_INTEGER, &v), -1);
    CHECK_EQ_INT(json_int("9999999999999999999", 19, INT64_MAX, &v), -1);
    /* A bound below ten: its own digit passes, the next does not. */
    CHECK_EQ_INT(json_int("3", 1, 3, &v), 0);
    CHECK_EQ_INT(v, 3);
    CHECK_EQ_INT(json_int("4", 1, 3, &v), -1);
    CHECK_EQ_INT(json_int("7", 1, 0, &v), -1);
    CHECK_EQ_INT(json_int("0", 1, 0, &v), 0);
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

TEST(a_string_becomes_a_c_string_only_if_it_fits)
{
    static const char obj[] = "{\"a\":\"hi\\u00e9\",\"n\":5,\"z\":\"a\\u0000b\"}";
    char out[8];
    CHECK_EQ_INT(json_get_cstring(obj, sizeof obj - 1, "a", out, sizeof out), 4);
    CHECK_EQ_STR(out, "hi\xc3\xa9");
    CHECK_EQ_INT(json_get_cstring(obj, sizeof obj - 1, "a", out, 5), 4); /* 4 + NUL */
    CHECK_EQ_INT(json_get_cstring(obj, sizeof obj - 1, "a", out, 4), -1); /* no room for NUL */
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(json_get_cstring(obj, sizeof obj - 1, "n", out, sizeof out), -1); /* a number */
    CHECK_EQ_INT(json_get_cstring(obj, sizeof obj - 1, "b", out, sizeof out), -1); /* absent */
    CHECK_EQ_INT(json_get_cstring(obj, sizeof obj - 1, "z", out, sizeof out), -1); /* \u0000 */
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(json_cstring(NULL, 0, out, sizeof out), -1);
    CHECK_EQ_INT(json_cstring("\"\"", 2, out, 1), 0);
    CHECK_EQ_STR(out, "");
}

int main(void)
{
    RUN(scans_valid_values_to_their_end);
    RUN(a_string_becomes_a_c_string_only_if_it_fits);
    RUN(refuses_malformed_values);
    RUN(every_truncation_of_a_container_is_refused);
    RUN(nesting_depth_limit_at_its_edge);
    RUN(placeholders_must_name_a_real_attachment);
    RUN(unescapes_strings);
    RUN(finds_keys_and_walks_arrays);
    RUN(walks_the_members_of_an_object);
    RUN(integers_at_their_bounds);
    RUN(builder_escapes_every_string);
    return check_summary("unit_json");
}
