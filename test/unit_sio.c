/* unit_sio.c -- sio.c on strings: Socket.IO v5 packets, read and written
 * SPDX-License-Identifier: MIT
 *
 * One table holds the examples of the spec ("Packet encoding" and
 * "Exchange protocol") with every field each one decodes to. sio_parse
 * must give exactly those fields; sio_encode, given them, must write the
 * spec's text, and sio_parse must read that text back to the same fields.
 * Both directions work on the Socket.IO packet alone: Engine.IO's "4" is
 * neither written nor expected. Those packets are parsed from a heap
 * block of exactly their size, so under ASan an over-read is caught.
 * Then come the malformed packets and event names the hub must refuse,
 * and each limit at its edge.
 */
#include "../json.h"
#include "../sio.h"
#include "check.h"

/* p[0..n) as a NUL-terminated string, for CHECK_EQ_STR. The copy lives
 * until the next call. */
static const char *str(const char *p, size_t n)
{
    static char buf[1024];
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static int parse_packet(const char *text, struct sio_packet *p, const char **why)
{
    return sio_parse(text, strlen(text), p, why);
}

/* ------------------------------------------------------------------------
 * The spec's packets, both ways
 * ------------------------------------------------------------------------ */

/* A packet as text, and the fields it decodes to. */
struct packet_case {
    const char *name;
    const char *text;  /* without Engine.IO's "4" */
    int type;          /* enum sio_type */
    int attachments;   /* the N of "N-"; 0 unless BINARY_* */
    const char *nsp;   /* "/" when the text names none */
    int64_t ack_id;    /* -1 when the text has none */
    const char *data;  /* the JSON payload, or "" */
};

#define PH(n) "{\"_placeholder\":true,\"num\":" #n "}"

static const struct packet_case packets[] = {
    /* "Connection to a namespace" */
    {"connect_to_main", "0", SIO_CONNECT, 0, "/", -1, ""},
    {"connect_to_main_with_auth", "0{\"token\":\"123\"}",
     SIO_CONNECT, 0, "/", -1, "{\"token\":\"123\"}"},
    {"connect_to_admin", "0/admin,", SIO_CONNECT, 0, "/admin", -1, ""},
    {"connect_to_admin_with_auth", "0/admin,{\"token\":\"123\"}",
     SIO_CONNECT, 0, "/admin", -1, "{\"token\":\"123\"}"},
    /* "Disconnection from a namespace" */
    {"disconnect_from_main", "1", SIO_DISCONNECT, 0, "/", -1, ""},
    {"disconnect_from_admin", "1/admin,", SIO_DISCONNECT, 0, "/admin", -1, ""},
    /* "Sending and receiving data" */
    {"event", "2[\"foo\"]", SIO_EVENT, 0, "/", -1, "[\"foo\"]"},
    {"event_to_admin", "2/admin,[\"bar\"]", SIO_EVENT, 0, "/admin", -1, "[\"bar\"]"},
    {"binary_event", "51-[\"baz\"," PH(0) "]",
     SIO_BINARY_EVENT, 1, "/", -1, "[\"baz\"," PH(0) "]"},
    {"binary_event_to_admin", "52-/admin,[\"baz\"," PH(0) "," PH(1) "]",
     SIO_BINARY_EVENT, 2, "/admin", -1, "[\"baz\"," PH(0) "," PH(1) "]"},
    {"binary_event_with_ten_attachments", "510-[\"x\"]",
     SIO_BINARY_EVENT, 10, "/", -1, "[\"x\"]"},
    /* "Acknowledgement" */
    {"event_with_ack_id", "212[\"foo\"]", SIO_EVENT, 0, "/", 12, "[\"foo\"]"},
    {"event_with_ack_id_0", "20[\"foo\"]", SIO_EVENT, 0, "/", 0, "[\"foo\"]"},
    {"event_with_the_largest_ack_id", "29007199254740991[\"foo\"]",
     SIO_EVENT, 0, "/", SIO_MAX_ACK_ID, "[\"foo\"]"},
    {"event_to_admin_with_ack_id", "2/admin,7[\"bar\"]",
     SIO_EVENT, 0, "/admin", 7, "[\"bar\"]"},
    {"ack_to_admin", "3/admin,13[\"bar\"]", SIO_ACK, 0, "/admin", 13, "[\"bar\"]"},
    {"ack_with_no_arguments", "30[]", SIO_ACK, 0, "/", 0, "[]"},
    {"binary_ack", "61-15[\"bar\"," PH(0) "]",
     SIO_BINARY_ACK, 1, "/", 15, "[\"bar\"," PH(0) "]"},
    {"binary_ack_to_admin", "61-/admin,15[\"bar\"," PH(0) "]",
     SIO_BINARY_ACK, 1, "/admin", 15, "[\"bar\"," PH(0) "]"},
};

#define NPACKETS (sizeof packets / sizeof packets[0])

/* Check that p holds exactly the fields of row c. */
static void check_fields(const struct sio_packet *p, const struct packet_case *c)
{
    CHECK_EQ_INT(p->type, c->type);
    CHECK_EQ_INT(p->attachments, c->attachments);
    CHECK_EQ_INT(p->nsp_len, strlen(c->nsp));
    CHECK_EQ_STR(str(p->nsp, p->nsp_len), c->nsp);
    CHECK_EQ_INT(p->ack_id, c->ack_id);
    CHECK_EQ_INT(p->data_len, strlen(c->data));
    CHECK_EQ_STR(str(p->data, p->data_len), c->data);
}

TEST(parses_every_example_of_the_spec)
{
    for (size_t i = 0; i < NPACKETS; i++) {
        const struct packet_case *c = &packets[i];
        check_row(c->name);
        size_t n = strlen(c->text);
        char *text = (char *)exact_copy(c->text, n);
        struct sio_packet p;
        const char *why = NULL;
        CHECK_EQ_INT(sio_parse(text, n, &p, &why), 0);
        check_fields(&p, c);
        free(text);
    }
    check_row(NULL);
}

/* sio_encode writes the head; the caller appends the payload. */
TEST(encoding_then_parsing_gives_every_field_back)
{
    for (size_t i = 0; i < NPACKETS; i++) {
        const struct packet_case *c = &packets[i];
        check_row(c->name);
        struct jbuf jb = {0};
        sio_encode(&jb, c->type, c->nsp, strlen(c->nsp), c->attachments, c->ack_id);
        jb_raw(&jb, c->data, strlen(c->data));
        CHECK(!jb.oom);
        CHECK_EQ_STR(str(jb.p, jb.len), c->text);
        char *text = (char *)exact_copy(jb.p, jb.len);
        struct sio_packet p;
        const char *why = NULL;
        CHECK_EQ_INT(sio_parse(text, jb.len, &p, &why), 0);
        check_fields(&p, c);
        free(text);
        jb_free(&jb);
    }
    check_row(NULL);
}

/* What sio_encode writes for heads the table above does not show. */
struct head_case {
    const char *name;
    int type;
    const char *nsp;
    size_t nsp_len;
    int nbins;
    int64_t ack_id;
    const char *head;
};

static const struct head_case heads[] = {
    {"writes_no_engine_io_4", SIO_CONNECT, "/", 1, 0, -1, "0"},
    {"event_with_attachments_becomes_binary_event", SIO_EVENT, "/admin", 6, 2, 7,
     "52-/admin,7"},
    {"ack_with_attachments_becomes_binary_ack", SIO_ACK, "/", 1, 1, 15, "61-15"},
    {"connect_error_names_its_namespace", SIO_CONNECT_ERROR, "/nope", 5, 0, -1,
     "4/nope,"},
    {"namespace_ends_at_its_length_not_at_nul", SIO_CONNECT_ERROR, "/x,y", 2, 0, -1,
     "4/x,"},
};

TEST(encodes_packet_heads)
{
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        const struct head_case *c = &heads[i];
        check_row(c->name);
        struct jbuf jb = {0};
        sio_encode(&jb, c->type, c->nsp, c->nsp_len, c->nbins, c->ack_id);
        CHECK(!jb.oom);
        CHECK_EQ_STR(str(jb.p, jb.len), c->head);
        jb_free(&jb);
    }
    check_row(NULL);
}

/* ------------------------------------------------------------------------
 * Events and acks: the payload split for the hub
 * ------------------------------------------------------------------------ */

TEST(splits_an_event_into_name_and_raw_args)
{
    struct sio_packet p;
    const char *why, *args;
    size_t alen;
    char name[SIO_MAX_EVENT_NAME + 1];
    CHECK_EQ_INT(parse_packet("2[\"message\",1,\"2\",{\"3\":[true]}]", &p, &why), 0);
    CHECK_EQ_INT(sio_event(&p, name, sizeof name, &args, &alen, &why), 0);
    CHECK_EQ_STR(name, "message");
    CHECK_EQ_STR(str(args, alen), "1,\"2\",{\"3\":[true]}");
    CHECK_EQ_INT(parse_packet("2[\"n\\u00e9\"]", &p, &why), 0);
    CHECK_EQ_INT(sio_event(&p, name, sizeof name, &args, &alen, &why), 0);
    CHECK_EQ_STR(name, "n\xc3\xa9");
    CHECK_EQ_INT(alen, 0);
}

TEST(ack_args_are_the_array_without_its_brackets)
{
    static const struct { const char *text, *args; } cases[] = {
        {"30[]", ""},
        {"31[ ]", ""},
        {"32[\"answer\",42]", "\"answer\",42"},
        {"3/admin,3[ {\"a\":[1]} , null ]", "{\"a\":[1]} , null"},
        {"61-4[" PH(0) "]", PH(0)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_row(cases[i].text);
        struct sio_packet p;
        const char *why, *args;
        size_t alen;
        CHECK_EQ_INT(parse_packet(cases[i].text, &p, &why), 0);
        CHECK_EQ_INT(sio_ack_args(&p, &args, &alen), 0);
        CHECK_EQ_STR(str(args, alen), cases[i].args);
    }
    check_row(NULL);
}

/* ------------------------------------------------------------------------
 * What a client may not send
 * ------------------------------------------------------------------------ */

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
        check_row(bad[i]);
        struct sio_packet p;
        const char *why = NULL;
        CHECK_EQ_INT(parse_packet(bad[i], &p, &why), -1);
        CHECK(why != NULL);
    }
    check_row(NULL);
}

TEST(refuses_bad_event_names)
{
    static const char *const bad[] = {
        "2[]", "2[1]", "2[\"\"]", "2[null]", "2[\"connect\"]",
        "2[\"connect_error\"]", "2[\"disconnect\"]", "2[\"disconnecting\"]",
        "2[\"newListener\"]", "2[\"removeListener\"]", "2[\"connection\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_row(bad[i]);
        struct sio_packet p;
        const char *why = NULL, *args;
        size_t alen;
        char name[SIO_MAX_EVENT_NAME + 1];
        int r = parse_packet(bad[i], &p, &why);
        if (r == 0)
            r = sio_event(&p, name, sizeof name, &args, &alen, &why);
        CHECK_EQ_INT(r, -1);
    }
    check_row(NULL);
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

int main(void)
{
    RUN(parses_every_example_of_the_spec);
    RUN(encoding_then_parsing_gives_every_field_back);
    RUN(encodes_packet_heads);
    RUN(splits_an_event_into_name_and_raw_args);
    RUN(ack_args_are_the_array_without_its_brackets);
    RUN(refuses_malformed_packets);
    RUN(refuses_bad_event_names);
    RUN(namespace_and_attachment_limits_at_their_edges);
    return check_summary("unit_sio");
}
