/* unit_hub.c -- the event hub and the chat, driven with no network at all
 * SPDX-License-Identifier: MIT
 *
 * A fake transport records every message the hub sends to each fake peer,
 * and a fake clock is passed to hub_tick. Tests feed packets in as a
 * client would (hub_session_message) and call handlers directly
 * (hub_fire), which is all testing an event-driven design needs.
 *
 * The fake stands where engine.c does: it writes Engine.IO's "4" in front
 * of each text message it records, and say() takes it off again, so the
 * strings in these tests read as they look on a WebSocket ("42[...]").
 * A packet the test can predict byte for byte is compared whole; one that
 * carries ids or times is parsed, and each of its fields is compared
 * whole (field(), below).
 */
#include "../apps.h"
#include "../hub.h"
#include "../json.h"
#include "../sio.h"
#include "check.h"

#include "fakehub.h"

/* ------------------------------------------------------------------------
 * Handlers the tests register
 * ------------------------------------------------------------------------ */

struct seen {
    int calls;
    char name[64];
    char args[256];
    size_t nbins;
    struct hub_socket *socket;
};

static void record(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct seen *seen = ud;
    seen->calls++;
    snprintf(seen->name, sizeof seen->name, "%s", ev->name);
    snprintf(seen->args, sizeof seen->args, "%.*s", (int)ev->args.len, ev->args.json);
    seen->nbins = ev->args.nbins;
    seen->socket = s;
}

static void ack_back(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    hub_ack(s, ev, &ev->args);
}

static void join_room(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    char room[32];
    snprintf(room, sizeof room, "%.*s", (int)ev->args.len - 2, ev->args.json + 1);
    hub_join(s, room);
}

static void disconnect_me(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ev;
    (void)ud;
    hub_disconnect(s);
}

struct ack_result {
    int calls;
    bool timed_out;
    char reply[128];
};

static void on_ack(struct hub_socket *s, bool timed_out,
                   const struct hub_args *reply, void *ud)
{
    struct ack_result *r = ud;
    (void)s;
    r->calls++;
    r->timed_out = timed_out;
    if (reply)
        snprintf(r->reply, sizeof r->reply, "%.*s", (int)reply->len, reply->json);
}

/* ------------------------------------------------------------------------
 * Engine.IO
 * ------------------------------------------------------------------------ */

TEST(session_without_connect_is_closed_at_connect_timeout)
{
    struct hub *h = hub_new(&fake, &opts);
    hub_of(h, "/");
    struct peer p;
    open_peer(h, &p);
    clock_ms += 999;
    hub_tick(h, clock_ms);
    CHECK_EQ_INT(p.close_why, 0);
    clock_ms += 1;
    hub_tick(h, clock_ms);
    CHECK_EQ_INT(p.close_why, HUB_CLOSE_TIMEOUT);
    hub_session_gone(p.ss, "transport close");
    hub_free(h);
}

/* ------------------------------------------------------------------------
 * Namespaces, events, acks
 * ------------------------------------------------------------------------ */

TEST(connect_to_a_namespace_and_refusal_of_unknown_ones)
{
    struct hub *h = hub_new(&fake, &opts);
    struct seen conn = {0}, admin = {0};
    hub_on(hub_of(h, "/"), "connection", record, &conn);
    hub_on(hub_of(h, "/admin"), "connection", record, &admin);
    struct peer p;
    open_peer(h, &p);
    say(&p, "40{\"token\":\"123\"}");
    /* Answered with CONNECT {"sid": the new socket's id}. */
    CHECK(starts_with(last(&p), "40{"));
    CHECK_EQ_STR(text(get(payload(last(&p)), "sid")), quoted(hub_socket_id(conn.socket)));
    CHECK_EQ_INT(conn.calls, 1);
    CHECK_EQ_STR(conn.name, "connection");
    CHECK_EQ_STR(conn.args, "{\"token\":\"123\"}");
    say(&p, "40/admin,");
    CHECK(starts_with(last(&p), "40/admin,{"));
    CHECK_EQ_STR(text(get(payload(last(&p)), "sid")), quoted(hub_socket_id(admin.socket)));
    CHECK(strcmp(hub_socket_id(admin.socket), hub_socket_id(conn.socket)) != 0);
    CHECK_EQ_STR(admin.args, "{}"); /* no auth payload: an empty object */
    say(&p, "40/nope,");
    CHECK_EQ_STR(last(&p), "44/nope,{\"message\":\"Invalid namespace\"}");
    CHECK_EQ_INT(p.close_why, 0); /* the session stays */
    hub_session_gone(p.ss, "transport close");
    hub_free(h);
}

TEST(event_reaches_every_listener_with_raw_args)
{
    struct hub *h = hub_new(&fake, &opts);
    struct hub_nsp *nsp = hub_of(h, "/");
    struct seen a = {0}, b = {0}, other = {0};
    hub_on(nsp, "message", record, &a);
    hub_on(nsp, "message", record, &b);
    hub_on(nsp, "other", record, &other);
    struct peer p;
    open_peer(h, &p);
    say(&p, "40");
    say(&p, "42[\"message\",1,\"2\",{\"3\":[true]}]");
    CHECK_EQ_INT(a.calls, 1);
    CHECK_EQ_INT(b.calls, 1);
    CHECK_EQ_INT(other.calls, 0);
    CHECK_EQ_STR(a.name, "message");
    CHECK_EQ_STR(a.args, "1,\"2\",{\"3\":[true]}");
    hub_session_gone(p.ss, "transport close");
    hub_free(h);
}

TEST(handlers_can_be_fired_directly_with_no_network)
{
    struct hub *h = hub_new(&fake, &opts);
    struct hub_nsp *nsp = hub_of(h, "/");
    struct seen seen = {0};
    hub_on(nsp, "audit", record, &seen);
    struct hub_event ev = {"audit", hub_json("\"room-created\",\"lobby\""), -1, false};
    CHECK_EQ_INT(hub_fire(nsp, NULL, &ev), 1);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(seen.socket == NULL);
    CHECK_EQ_STR(seen.args, "\"room-created\",\"lobby\"");
    struct hub_event none = {"nobody-listens", hub_json(""), -1, false};
    CHECK_EQ_INT(hub_fire(nsp, NULL, &none), 0);
    hub_free(h);
}

TEST(client_ack_is_answered_once)
{
    struct hub *h = hub_new(&fake, &opts);
    struct hub_nsp *nsp = hub_of(h, "/admin");
    hub_on(nsp, "echo", ack_back, NULL);
    hub_on(nsp, "echo", ack_back, NULL); /* a second answer is not sent */
    struct peer p;
    open_peer(h, &p);
    say(&p, "40/admin,");
    int before = p.nframes;
    say(&p, "42/admin,17[\"echo\",\"x\",{\"y\":1}]");
    CHECK_EQ_INT(p.nframes, before + 1);
    CHECK_EQ_STR(last(&p), "43/admin,17[\"x\",{\"y\":1}]");
    hub_session_gone(p.ss, "transport close");
    hub_free(h);
}

TEST(server_ack_gets_the_reply_or_a_timeout)
{
    struct hub *h = hub_new(&fake, &opts);
    struct seen conn = {0};
    hub_on(hub_of(h, "/"), "connection", record, &conn);
    struct peer p;
    open_peer(h, &p);
    say(&p, "40");
    struct ack_result r1 = {0}, r2 = {0};
    struct hub_args q = hub_json("\"question\"");
    CHECK_EQ_INT(hub_emit_ack(conn.socket, "ask", &q, 500, on_ack, &r1), 0);
    CHECK_EQ_STR(last(&p), "420[\"ask\",\"question\"]");
    CHECK_EQ_INT(hub_emit_ack(conn.socket, "ask", &q, 500, on_ack, &r2), 0);
    CHECK_EQ_STR(last(&p), "421[\"ask\",\"question\"]");
    say(&p, "430[\"answer\",42]");
    CHECK_EQ_INT(r1.calls, 1);
    CHECK(!r1.timed_out);
    CHECK_EQ_STR(r1.reply, "\"answer\",42");
    clock_ms += 499;
    hub_tick(h, clock_ms);
    CHECK_EQ_INT(r2.calls, 0);
    clock_ms += 1;
    hub_tick(h, clock_ms);
    CHECK_EQ_INT(r2.calls, 1);
    CHECK(r2.timed_out);
    say(&p, "431[\"too late\"]"); /* ignored */
    CHECK_EQ_INT(r2.calls, 1);
    CHECK_EQ_INT(p.close_why, 0);
    hub_session_gone(p.ss, "transport close");
    hub_free(h);
}

TEST(binary_attachments_arrive_with_their_event)
{
    struct hub *h = hub_new(&fake, &opts);
    struct seen seen = {0};
    struct hub_nsp *nsp = hub_of(h, "/");
    hub_on(nsp, "upload", record, &seen);
    hub_on(nsp, "upload", ack_back, NULL);
    struct peer p;
    open_peer(h, &p);
    say(&p, "40");
    say(&p, "452-3[\"upload\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    CHECK_EQ_INT(seen.calls, 0); /* waits for both attachments */
    say_binary(&p, "\x01\x02", 2);
    CHECK_EQ_INT(seen.calls, 0);
    say_binary(&p, "\x03", 1);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK_EQ_INT(seen.nbins, 2);
    /* The ack carries them back as a BINARY_ACK and two binary frames. */
    CHECK_EQ_STR(p.text[p.nframes - 3], "462-3[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    CHECK(p.binary[p.nframes - 2]);
    CHECK(p.len[p.nframes - 2] == 2 && memcmp(p.text[p.nframes - 2], "\x01\x02", 2) == 0);
    CHECK(p.len[p.nframes - 1] == 1 && p.text[p.nframes - 1][0] == 3);
    hub_session_gone(p.ss, "transport close");
    hub_free(h);
}

/* ------------------------------------------------------------------------
 * Rooms and broadcasts
 * ------------------------------------------------------------------------ */

TEST(rooms_broadcast_only_to_members_with_one_encoding)
{
    struct hub *h = hub_new(&fake, &opts);
    struct hub_nsp *nsp = hub_of(h, "/");
    struct seen conn = {0};
    hub_on(nsp, "join", join_room, NULL);
    hub_on(nsp, "connection", record, &conn);
    struct peer a, b, c;
    open_peer(h, &a);
    say(&a, "40");
    struct hub_socket *sa = conn.socket;
    open_peer(h, &b);
    say(&b, "40");
    struct hub_socket *sb = conn.socket;
    open_peer(h, &c);
    say(&c, "40");
    say(&a, "42[\"join\",\"blue\"]");
    say(&b, "42[\"join\",\"blue\"]");
    CHECK_EQ_INT(hub_room_size(nsp, "blue"), 2);
    CHECK(hub_in_room(sa, "blue"));
    CHECK(hub_in_room(sa, hub_socket_id(sa))); /* its own room */
    CHECK_EQ_INT(hub_room_size(nsp, hub_socket_id(sa)), 1);

    struct hub_args news = hub_json("\"hello blue\"");
    hub_emit_to(nsp, "blue", NULL, "news", &news);
    CHECK_EQ_STR(last(&a), "42[\"news\",\"hello blue\"]");
    CHECK_EQ_STR(last(&b), "42[\"news\",\"hello blue\"]");
    CHECK(!received(&c, "42[\"news\",\"hello blue\"]"));
    /* Encoded once: both got the very same bytes. */
    CHECK(a.raw[a.nframes - 1] == b.raw[b.nframes - 1]);

    struct hub_args others = hub_json("\"not you\"");
    hub_emit_to(nsp, "blue", sa, "news", &others);
    CHECK(!received(&a, "42[\"news\",\"not you\"]"));
    CHECK(received(&b, "42[\"news\",\"not you\"]"));

    struct hub_args all = hub_json("\"everyone\"");
    hub_emit_to(nsp, NULL, NULL, "news", &all);
    CHECK(received(&c, "42[\"news\",\"everyone\"]"));

    struct hub_args dm = hub_json("\"direct\"");
    hub_emit_to(nsp, hub_socket_id(sb), NULL, "news", &dm);
    CHECK(received(&b, "42[\"news\",\"direct\"]"));
    CHECK(!received(&a, "42[\"news\",\"direct\"]"));
    /* Nobody may take another socket's id as a room name. */
    CHECK_EQ_INT(hub_join(sa, hub_socket_id(sb)), -1);

    hub_leave(sa, "blue");
    CHECK_EQ_INT(hub_room_size(nsp, "blue"), 1);
    hub_session_gone(b.ss, "transport close"); /* leaves every room */
    CHECK_EQ_INT(hub_room_size(nsp, "blue"), 0);
    size_t n;
    CHECK(hub_room_members(nsp, "blue", &n) == NULL && n == 0);
    hub_session_gone(a.ss, "transport close");
    hub_session_gone(c.ss, "transport close");
    hub_free(h);
}

TEST(room_membership_survives_swaps)
{
    /* Many sockets join, some leave from the middle: the dense arrays
     * and their back-indexes must stay consistent. */
    struct hub *h = hub_new(&fake, &opts);
    struct hub_nsp *nsp = hub_of(h, "/");
    struct seen conn = {0};
    hub_on(nsp, "connection", record, &conn);
    struct peer p[8];
    struct hub_socket *s[8];
    for (int i = 0; i < 8; i++) {
        open_peer(h, &p[i]);
        say(&p[i], "40");
        s[i] = conn.socket;
        hub_join(s[i], "r1");
        hub_join(s[i], "r2");
    }
    hub_leave(s[0], "r1");
    hub_leave(s[3], "r1");
    hub_session_gone(p[5].ss, "transport close");
    hub_leave(s[7], "r2");
    CHECK_EQ_INT(hub_room_size(nsp, "r1"), 5);
    CHECK_EQ_INT(hub_room_size(nsp, "r2"), 6);
    size_t n;
    struct hub_socket *const *m = hub_room_members(nsp, "r1", &n);
    for (size_t i = 0; i < n; i++)
        CHECK(hub_in_room(m[i], "r1"));
    struct hub_args x = hub_json("1");
    hub_emit_to(nsp, "r1", NULL, "x", &x);
    for (int i = 0; i < 8; i++) {
        bool member = i != 0 && i != 3 && i != 5;
        CHECK_EQ_INT(received(&p[i], "42[\"x\",1]"), member);
    }
    for (int i = 0; i < 8; i++) {
        if (i != 5)
            hub_session_gone(p[i].ss, "transport close");
    }
    hub_free(h);
}

/* ------------------------------------------------------------------------
 * Disconnects and malformed input
 * ------------------------------------------------------------------------ */

TEST(disconnect_reasons)
{
    struct hub *h = hub_new(&fake, &opts);
    struct hub_nsp *nsp = hub_of(h, "/");
    struct seen gone = {0};
    hub_on(nsp, "disconnect", record, &gone);
    hub_on(nsp, "kick-me", disconnect_me, NULL);
    struct peer p;
    open_peer(h, &p);
    say(&p, "40");
    say(&p, "41");
    CHECK_EQ_STR(gone.args, "\"client namespace disconnect\"");
    say(&p, "40");
    say(&p, "42[\"kick-me\"]");
    CHECK_EQ_STR(gone.args, "\"server namespace disconnect\"");
    CHECK_EQ_STR(last(&p), "41");
    say(&p, "40");
    hub_session_gone(p.ss, "transport close");
    CHECK_EQ_STR(gone.args, "\"transport close\"");
    CHECK_EQ_INT(gone.calls, 3);

    struct peer q;
    open_peer(h, &q);
    say(&q, "40");
    hub_session_gone(q.ss, "transport close"); /* e.g. Engine.IO close */
    CHECK_EQ_STR(gone.args, "\"transport close\"");
    CHECK_EQ_INT(q.close_why, 0); /* gone already: nothing to close */
    hub_free(h);
}

TEST(malformed_packets_close_the_session)
{
    static const char *const bad[] = {
        "4abc", "42{}", "42abc[\"x\"]", "42\"x\"", "42[]", "42[\"\"]", "42[1]",
        "42[\"connect\"]", "42[\"disconnect\"]", "42[\"newListener\"]",
        "42[\"removeListener\"]", "42[\"connect_error\"]", "42[\"disconnecting\"]",
        "42[\"connection\"]",
        "4", "4x", "47", "4 ", "4511-[\"x\"]",
        "451-[\"x\",{\"_placeholder\":true,\"num\":1}]",
        "451-[\"x\",{\"_placeholder\":true,\"num\":-1}]",
        "451-[\"x\",{\"_placeholder\":true,\"num\":\"a\"}]",
        "42[\"x\",{\"_placeholder\":true,\"num\":0}]",
        "429007199254740992[\"x\"]", "42/other,[\"x\"]", "43[\"x\"]",
        "42[\"x\",\"\\ud800\"", "42[\"x\\ud800\"]",
    };
    struct hub *h = hub_new(&fake, &opts);
    struct seen gone = {0};
    hub_on(hub_of(h, "/"), "disconnect", record, &gone);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct peer p;
        open_peer(h, &p);
        say(&p, "40");
        say(&p, bad[i]);
        if (p.close_why != HUB_CLOSE_PROTOCOL)
            fprintf(stderr, "  packet: %s\n", bad[i]);
        CHECK_EQ_INT(p.close_why, HUB_CLOSE_PROTOCOL);
        CHECK_EQ_STR(gone.args, "\"parse error\"");
        memset(&gone, 0, sizeof gone);
        hub_session_gone(p.ss, "transport close");
    }
    /* JSON nested 10,000 levels, and a 64 KiB namespace name. */
    static char deep[20100];
    int o = sprintf(deep, "42[\"x\",");
    memset(deep + o, '[', 10000);
    memset(deep + o + 10000, ']', 10001);
    static char nsp[65600];
    memcpy(nsp, "40/", 3);
    memset(nsp + 3, 'n', 65536);
    const char *const big[] = {deep, nsp};
    for (int i = 0; i < 2; i++) {
        struct peer p;
        open_peer(h, &p);
        say(&p, "40");
        say(&p, big[i]);
        CHECK_EQ_INT(p.close_why, HUB_CLOSE_PROTOCOL);
        hub_session_gone(p.ss, "transport close");
    }
    /* A binary frame nobody announced, and text while one is due. */
    struct peer p;
    open_peer(h, &p);
    say(&p, "40");
    say_binary(&p, "x", 1);
    CHECK_EQ_INT(p.close_why, HUB_CLOSE_PROTOCOL);
    hub_session_gone(p.ss, "transport close");
    open_peer(h, &p);
    say(&p, "40");
    say(&p, "451-[\"x\",{\"_placeholder\":true,\"num\":0}]");
    say(&p, "42[\"y\"]");
    CHECK_EQ_INT(p.close_why, HUB_CLOSE_PROTOCOL);
    hub_session_gone(p.ss, "transport close");
    hub_free(h);
}

TEST(ten_attachments_are_accepted_eleven_are_not)
{
    struct hub *h = hub_new(&fake, &opts);
    struct seen seen = {0};
    hub_on(hub_of(h, "/"), "many", record, &seen);
    struct peer p;
    open_peer(h, &p);
    say(&p, "40");
    char text[600];
    int o = sprintf(text, "4510-[\"many\"");
    for (int i = 0; i < 10; i++)
        o += sprintf(text + o, ",{\"_placeholder\":true,\"num\":%d}", i);
    sprintf(text + o, "]");
    say(&p, text);
    for (int i = 0; i < 10; i++)
        say_binary(&p, "b", 1);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK_EQ_INT(seen.nbins, 10);
    say(&p, "4511-[\"many\"]");
    CHECK_EQ_INT(p.close_why, HUB_CLOSE_PROTOCOL);
    hub_session_gone(p.ss, "transport close");
    hub_free(h);
}

/* ------------------------------------------------------------------------
 * The chat application, through its handlers
 * ------------------------------------------------------------------------ */

/* A timestamp as the chat writes it: "YYYY-MM-DDTHH:MM:SS.mmmZ", in
 * quotes (ISO 8601 in UTC, as JavaScript's toISOString gives). */
static bool is_utc_timestamp(const char *json)
{
    const char *shape = "\"dddd-dd-ddTdd:dd:dd.dddZ\"";
    if (!json || strlen(json) != strlen(shape))
        return false;
    for (size_t i = 0; shape[i]; i++) {
        bool ok = shape[i] == 'd' ? json[i] >= '0' && json[i] <= '9' : json[i] == shape[i];
        if (!ok)
            return false;
    }
    return true;
}

/* The member count the rooms ack [[{room, members}, ...]] gives room, as
 * JSON text, or NULL if the room is not listed. */
static const char *members_of(const char *ack, const char *room)
{
    struct span rooms = at(payload(ack), 0);
    for (int i = 0; at(rooms, i).p; i++) {
        const char *name = text(get(at(rooms, i), "room"));
        if (name && strcmp(name, quoted(room)) == 0)
            return text(get(at(rooms, i), "members"));
    }
    return NULL;
}

TEST(chat_message_goes_to_everyone_with_an_ack)
{
    struct hub *h = hub_new(&fake, &opts);
    struct chat *chat = chat_init(h);
    struct peer a, b;
    open_peer(h, &a);
    say(&a, "40");
    open_peer(h, &b);
    say(&b, "40");
    const char *joined = last_event(&a, "presence");
    CHECK_EQ_STR(field(joined, 1, "action"), "\"join\"");
    CHECK_EQ_STR(field(joined, 1, "room"), "\"general\"");
    CHECK_EQ_STR(field(joined, 1, "userId"), sid(&b));
    say(&a, "421[\"nick\",\"alice\"]");
    CHECK_EQ_STR(last(&a), "431[{\"name\":\"alice\"}]");
    say(&a, "422[\"message\",{\"text\":\"hi \\\"all\\\"\"}]");
    const char *m = last_event(&b, "message");
    CHECK_EQ_STR(field(m, 1, "id"), "1");
    CHECK_EQ_STR(field(m, 1, "text"), "\"hi \\\"all\\\"\"");
    CHECK_EQ_STR(field(m, 1, "userId"), sid(&a));
    CHECK_EQ_STR(field(m, 1, "name"), "\"alice\"");
    CHECK_EQ_STR(field(m, 1, "room"), "\"general\"");
    CHECK(is_utc_timestamp(field(m, 1, "timestamp")));
    CHECK_EQ_STR(last_event(&a, "message"), m); /* the sender gets it too */
    /* The ack names the message: its id and the very same timestamp. */
    const char *ack = last(&a);
    CHECK(starts_with(ack, "432["));
    CHECK_EQ_STR(field(ack, 0, "id"), "1");
    CHECK_EQ_STR(field(ack, 0, "timestamp"), field(m, 1, "timestamp"));
    hub_session_gone(a.ss, "transport close");
    hub_session_gone(b.ss, "transport close");
    chat_free(chat);
    hub_free(h);
}

TEST(chat_bad_input_gets_an_error_ack_and_no_broadcast)
{
    struct hub *h = hub_new(&fake, &opts);
    struct chat *chat = chat_init(h);
    struct peer a, b;
    open_peer(h, &a);
    say(&a, "40");
    open_peer(h, &b);
    say(&b, "40");
    static const char *const bad[] = {
        "425[\"message\",{\"text\":\"\"}]", "425[\"message\",{\"text\":\"  \"}]",
        "425[\"message\",{\"text\":42}]", "425[\"message\",\"bare\"]",
        "425[\"message\",{\"text\":\"bell\\u0007\"}]", "425[\"nick\",\"\"]",
        "425[\"nick\",\"a\\nb\"]", "425[\"join\",\"bad room!\"]",
        "425[\"join\",\"\"]", "425[\"room-message\",{\"room\":\"nowhere\",\"text\":\"x\"}]",
        "425[\"typing\",{\"room\":\"nowhere\",\"typing\":true}]", "425[\"leave\",\"nowhere\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int before = b.nframes;
        say(&a, bad[i]);
        check_row(bad[i]);
        CHECK(starts_with(last(&a), "435["));
        CHECK_EQ_INT(type_of(get(at(payload(last(&a)), 0), "error")), JSON_STRING);
        CHECK_EQ_INT(b.nframes, before);
    }
    check_row(NULL);
    /* 2000 bytes of text pass, 2001 do not. */
    static char text[2100];
    for (int len = 2000; len <= 2001; len++) {
        int o = sprintf(text, "427[\"message\",{\"text\":\"");
        memset(text + o, 'x', (size_t)len);
        sprintf(text + o + len, "\"}]");
        say(&a, text);
        struct span answer = at(payload(last(&a)), 0);
        CHECK(starts_with(last(&a), "437["));
        CHECK_EQ_INT(type_of(get(answer, "error")), len == 2001 ? JSON_STRING : JSON_NONE);
        CHECK_EQ_INT(type_of(get(answer, "id")), len == 2001 ? JSON_NONE : JSON_NUMBER);
    }
    CHECK_EQ_INT(a.close_why, 0);
    hub_session_gone(a.ss, "transport close");
    hub_session_gone(b.ss, "transport close");
    chat_free(chat);
    hub_free(h);
}

TEST(chat_rooms_presence_typing_and_history)
{
    struct hub *h = hub_new(&fake, &opts);
    struct chat *chat = chat_init(h);
    struct peer a, b, c;
    open_peer(h, &a);
    say(&a, "40");
    open_peer(h, &b);
    say(&b, "40");
    open_peer(h, &c);
    say(&c, "40");
    say(&a, "421[\"join\",\"blue\"]");
    /* The join is acked with the room, its members and its history. */
    const char *ack = last(&a);
    CHECK(starts_with(ack, "431["));
    CHECK_EQ_STR(field(ack, 0, "room"), "\"blue\"");
    struct span members = get(at(payload(ack), 0), "members");
    CHECK_EQ_INT(count(members), 1);
    CHECK_EQ_STR(text(get(at(members, 0), "userId")), sid(&a));
    CHECK_EQ_STR(field(ack, 0, "history"), "[]");
    say(&a, "422[\"room-message\",{\"room\":\"blue\",\"text\":\"first\"}]");
    say(&b, "421[\"join\",\"blue\"]");
    const char *joined = last_event(&a, "presence");
    CHECK_EQ_STR(field(joined, 1, "action"), "\"join\"");
    CHECK_EQ_STR(field(joined, 1, "room"), "\"blue\"");
    CHECK_EQ_STR(field(joined, 1, "userId"), sid(&b));
    ack = last(&b);
    CHECK_EQ_INT(count(get(at(payload(ack), 0), "members")), 2);
    struct span history = get(at(payload(ack), 0), "history");
    CHECK_EQ_INT(count(history), 1);
    CHECK_EQ_STR(text(get(at(history, 0), "text")), "\"first\"");
    CHECK_EQ_STR(last_event(&c, "message"), ""); /* c is not in blue */

    int before_a = a.nframes;
    say(&b, "42[\"typing\",{\"room\":\"blue\",\"typing\":true}]");
    const char *typing = last_event(&a, "typing");
    CHECK_EQ_STR(field(typing, 1, "typing"), "true");
    CHECK_EQ_STR(field(typing, 1, "room"), "\"blue\"");
    CHECK_EQ_STR(field(typing, 1, "userId"), sid(&b));
    CHECK(a.nframes == before_a + 1);
    CHECK_EQ_STR(last_event(&b, "typing"), ""); /* not to herself */

    say(&b, "423[\"rooms\"]");
    CHECK_EQ_INT(count(at(payload(last(&b)), 0)), 2);
    CHECK_EQ_STR(members_of(last(&b), "blue"), "2");
    CHECK_EQ_STR(members_of(last(&b), "general"), "3");

    say(&b, "42[\"leave\",\"blue\"]");
    CHECK_EQ_STR(field(last_event(&a, "presence"), 1, "action"), "\"leave\"");
    CHECK_EQ_STR(field(last_event(&a, "presence"), 1, "userId"), sid(&b));
    say(&a, "424[\"nick\",\"Ann\"]");
    CHECK_EQ_STR(field(last_event(&c, "presence"), 1, "action"), "\"rename\"");
    CHECK_EQ_STR(field(last_event(&c, "presence"), 1, "name"), "\"Ann\"");
    CHECK_EQ_STR(field(last_event(&c, "presence"), 1, "userId"), sid(&a));

    /* A user who goes away is announced as leaving. */
    hub_session_gone(a.ss, "transport close");
    CHECK_EQ_STR(field(last_event(&c, "presence"), 1, "action"), "\"leave\"");
    CHECK_EQ_STR(field(last_event(&c, "presence"), 1, "userId"), sid(&a));
    /* Blue is empty now, and an empty room is forgotten. */
    say(&c, "425[\"rooms\"]");
    CHECK_EQ_INT(count(at(payload(last(&c)), 0)), 1);
    CHECK(members_of(last(&c), "blue") == NULL);
    CHECK_EQ_STR(members_of(last(&c), "general"), "2");
    hub_session_gone(b.ss, "transport close");
    hub_session_gone(c.ss, "transport close");
    chat_free(chat);
    hub_free(h);
}

TEST(chat_history_keeps_the_last_50)
{
    struct hub *h = hub_new(&fake, &opts);
    struct chat *chat = chat_init(h);
    struct peer a, b;
    open_peer(h, &a);
    say(&a, "40");
    for (int i = 1; i <= 55; i++) {
        char msg[80];
        snprintf(msg, sizeof msg, "42[\"message\",{\"text\":\"m%d\"}]", i);
        a.nframes = 0; /* keep the recorder from filling up */
        say(&a, msg);
    }
    open_peer(h, &b);
    say(&b, "40");
    b.nframes = 0;
    say(&b, "421[\"join\",\"general\"]");
    const char *ack = b.whole; /* the join's ack, however long */
    CHECK(starts_with(ack, "431["));
    CHECK_EQ_STR(field(ack, 0, "room"), "\"general\"");
    /* The oldest five are dropped; the rest come oldest first. */
    struct span history = get(at(payload(ack), 0), "history");
    CHECK_EQ_INT(count(history), 50);
    for (int k = 0; k < 50; k++) {
        char want[16];
        snprintf(want, sizeof want, "\"m%d\"", k + 6);
        CHECK_EQ_STR(text(get(at(history, k), "text")), want);
    }
    hub_session_gone(a.ss, "transport close");
    hub_session_gone(b.ss, "transport close");
    chat_free(chat);
    hub_free(h);
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 20);
}

TEST(ten_thousand_session_ids_are_distinct)
{
    enum { N = 10000 };
    char (*ids)[21] = malloc(N * sizeof *ids);
    int failed = 0;
    for (int i = 0; i < N; i++)
        failed += hub_random_id(ids[i]) != 0;
    CHECK_EQ_INT(failed, 0);
    qsort(ids, N, sizeof *ids, cmp_id);
    int dups = 0;
    for (int i = 1; i < N; i++)
        dups += memcmp(ids[i - 1], ids[i], 20) == 0;
    CHECK_EQ_INT(dups, 0);
    /* And every character is base64url: 120 random bits in 20 chars. */
    int bad = 0;
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 20; k++) {
            char c = ids[i][k];
            bad += !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                     (c >= '0' && c <= '9') || c == '-' || c == '_');
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(ids);
}

int main(void)
{
    RUN(session_without_connect_is_closed_at_connect_timeout);
    RUN(connect_to_a_namespace_and_refusal_of_unknown_ones);
    RUN(event_reaches_every_listener_with_raw_args);
    RUN(handlers_can_be_fired_directly_with_no_network);
    RUN(client_ack_is_answered_once);
    RUN(server_ack_gets_the_reply_or_a_timeout);
    RUN(binary_attachments_arrive_with_their_event);
    RUN(rooms_broadcast_only_to_members_with_one_encoding);
    RUN(room_membership_survives_swaps);
    RUN(disconnect_reasons);
    RUN(malformed_packets_close_the_session);
    RUN(ten_attachments_are_accepted_eleven_are_not);
    RUN(chat_message_goes_to_everyone_with_an_ack);
    RUN(chat_bad_input_gets_an_error_ack_and_no_broadcast);
    RUN(chat_rooms_presence_typing_and_history);
    RUN(chat_history_keeps_the_last_50);
    RUN(ten_thousand_session_ids_are_distinct);
    return check_summary("unit_hub");
}
