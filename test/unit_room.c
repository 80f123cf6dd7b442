/* unit_room.c -- selections, broadcasts and the cluster's side of the hub, with no network
 * SPDX-License-Identifier: MIT
 *
 * room.c's rules tested by calling the hub: a selection takes the
 * members of its rooms minus those of its except rooms, each socket
 * once; what is not local is handed to the adapter; cluster questions
 * gather this node's part and the adapter's, and answer once. The
 * adapter here is a fake that records what it was given and answers as
 * another node would, so cluster.c's wire format is not involved (the
 * Redis integration test covers that, against real Node peers).
 */
#include "../apps.h"
#include "../hub.h"
#include "../json.h"
#include "check.h"
#include "fakehub.h"

/* ------------------------------------------------------------------------
 * A fake adapter: records each call; answers questions when told to
 * ------------------------------------------------------------------------ */

static struct {
    int broadcasts;              /* calls of .broadcast */
    char event[64];              /* the last one's event */
    size_t nrooms, nexcept;      /* and its selection */
    char rooms[4][32], except[4][32];
    int ops;                     /* calls of .sockets_op */
    enum hub_op op;
    char op_room[32];
    int asks;                    /* calls of .ask */
    struct hub_gather *g;        /* the last question, still open */
    char reply_token[32];        /* the last .server_reply */
    char reply_args[128];
    bool refuse;                 /* .ask returns -1 */
} fa;

static void fa_broadcast(void *ud, struct hub_nsp *nsp, const struct hub_select *sel,
                         const char *event, const struct hub_args *a, bool is_volatile)
{
    (void)ud, (void)nsp, (void)a, (void)is_volatile;
    fa.broadcasts++;
    snprintf(fa.event, sizeof fa.event, "%s", event);
    fa.nrooms = sel->nrooms;
    fa.nexcept = sel->nexcept;
    for (size_t i = 0; i < sel->nrooms && i < 4; i++)
        snprintf(fa.rooms[i], sizeof fa.rooms[i], "%s", sel->rooms[i]);
    for (size_t i = 0; i < sel->nexcept && i < 4; i++)
        snprintf(fa.except[i], sizeof fa.except[i], "%s", sel->except[i]);
}

static void fa_sockets_op(void *ud, struct hub_nsp *nsp, const struct hub_select *sel,
                          enum hub_op op, const char *room, bool close)
{
    (void)ud, (void)nsp, (void)sel, (void)close;
    fa.ops++;
    fa.op = op;
    snprintf(fa.op_room, sizeof fa.op_room, "%s", room ? room : "");
}

static int fa_ask(void *ud, struct hub_nsp *nsp, enum hub_ask what,
                  const struct hub_select *sel, struct hub_gather *g)
{
    (void)ud, (void)nsp, (void)what, (void)sel;
    fa.asks++;
    if (fa.refuse)
        return -1;
    fa.g = g;
    return 0;
}

static void fa_server_emit(void *ud, struct hub_nsp *nsp, const char *event,
                           const struct hub_args *a)
{
    (void)ud, (void)nsp, (void)a;
    snprintf(fa.event, sizeof fa.event, "%s", event);
}

static void fa_server_reply(void *ud, struct hub_nsp *nsp, const char *token,
                            const struct hub_args *a)
{
    (void)ud, (void)nsp;
    snprintf(fa.reply_token, sizeof fa.reply_token, "%s", token);
    snprintf(fa.reply_args, sizeof fa.reply_args, "%.*s", (int)a->len, a->json);
}

static const struct hub_adapter fake_adapter = {
    fa_broadcast, fa_sockets_op, fa_ask, fa_server_emit, fa_server_reply, NULL, NULL,
};

/* An answer the hub gave to a cluster question. */
static struct {
    int calls;
    char json[4096];
} answer;

static void on_answer(const char *json, size_t len, void *ud)
{
    (void)ud;
    answer.calls++;
    snprintf(answer.json, sizeof answer.json, "%.*s", (int)len, json);
}

/* ------------------------------------------------------------------------
 * Set-up: n peers connected to "/", each a socket
 * ------------------------------------------------------------------------ */

static struct hub_socket *last_socket;

static void remember(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ev, (void)ud;
    last_socket = s;
}

static struct hub *hub_with(struct peer *p, struct hub_socket **s, int n)
{
    struct hub *h = hub_new(&fake, &opts);
    hub_on(hub_of(h, "/"), "connection", remember, NULL);
    for (int i = 0; i < n; i++) {
        open_peer(h, &p[i]);
        say(&p[i], "40");
        s[i] = last_socket;
    }
    memset(&fa, 0, sizeof fa);
    memset(&answer, 0, sizeof answer);
    return h;
}

/* How many times peer p got exactly this message. */
static int times(const struct peer *p, const char *msg)
{
    int k = 0;
    for (int i = 0; i < p->nframes; i++)
        k += strcmp(p->text[i], msg) == 0;
    return k;
}

/* ------------------------------------------------------------------------
 * Selections
 * ------------------------------------------------------------------------ */

TEST(a_selection_takes_each_member_of_its_rooms_once_minus_except)
{
    struct peer p[4];
    struct hub_socket *s[4];
    struct hub *h = hub_with(p, s, 4);
    struct hub_nsp *nsp = hub_of(h, "/");
    hub_join(s[0], "a");
    hub_join(s[0], "b"); /* in both target rooms: one copy */
    hub_join(s[1], "b");
    hub_join(s[2], "b");
    hub_join(s[2], "x"); /* excluded */
    const char *rooms[] = {"a", "b"}, *except[] = {"x"};
    struct hub_select sel = {rooms, 2, except, 1, false};
    struct hub_args a = hub_json("1");
    hub_broadcast(nsp, &sel, "e", &a);
    CHECK_EQ_INT(times(&p[0], "42[\"e\",1]"), 1);
    CHECK_EQ_INT(times(&p[1], "42[\"e\",1]"), 1);
    CHECK_EQ_INT(times(&p[2], "42[\"e\",1]"), 0);
    CHECK_EQ_INT(times(&p[3], "42[\"e\",1]"), 0); /* in no target room */
    hub_free(h);
}

TEST(everyone_but_the_sender_is_except_its_own_id)
{
    struct peer p[3];
    struct hub_socket *s[3];
    struct hub *h = hub_with(p, s, 3);
    struct hub_args a = hub_json("\"x\"");
    hub_emit_to(hub_of(h, "/"), NULL, s[1], "news", &a);
    CHECK_EQ_INT(times(&p[0], "42[\"news\",\"x\"]"), 1);
    CHECK_EQ_INT(times(&p[1], "42[\"news\",\"x\"]"), 0);
    CHECK_EQ_INT(times(&p[2], "42[\"news\",\"x\"]"), 1);
    hub_free(h);
}

TEST(a_socket_id_selects_that_one_socket)
{
    struct peer p[2];
    struct hub_socket *s[2];
    struct hub *h = hub_with(p, s, 2);
    const char *rooms[] = {hub_socket_id(s[1])};
    struct hub_select sel = {rooms, 1, NULL, 0, true};
    struct hub_args a = hub_json("");
    hub_broadcast(hub_of(h, "/"), &sel, "only", &a);
    CHECK_EQ_INT(times(&p[0], "42[\"only\"]"), 0);
    CHECK_EQ_INT(times(&p[1], "42[\"only\"]"), 1);
    hub_free(h);
}

/* ------------------------------------------------------------------------
 * The adapter's side
 * ------------------------------------------------------------------------ */

TEST(broadcasts_go_to_the_adapter_unless_local)
{
    struct peer p[1];
    struct hub_socket *s[1];
    struct hub *h = hub_with(p, s, 1);
    hub_set_adapter(h, &fake_adapter, NULL);
    struct hub_args a = hub_json("1");
    hub_emit_to(hub_of(h, "/"), "r", s[0], "ev", &a);
    CHECK_EQ_INT(fa.broadcasts, 1);
    CHECK_EQ_STR(fa.event, "ev");
    CHECK_EQ_INT((int)fa.nrooms, 1);
    CHECK_EQ_STR(fa.rooms[0], "r");
    CHECK_EQ_INT((int)fa.nexcept, 1);
    CHECK_EQ_STR(fa.except[0], hub_socket_id(s[0]));
    struct hub_select here = {NULL, 0, NULL, 0, true};
    hub_broadcast(hub_of(h, "/"), &here, "ev", &a);
    CHECK_EQ_INT(fa.broadcasts, 1); /* local: this node only */
    CHECK_EQ_INT(times(&p[0], "42[\"ev\",1]"), 1);
    hub_free(h);
}

TEST(sockets_join_leave_and_disconnect_act_here_and_tell_the_adapter)
{
    struct peer p[3];
    struct hub_socket *s[3];
    struct hub *h = hub_with(p, s, 3);
    struct hub_nsp *nsp = hub_of(h, "/");
    hub_set_adapter(h, &fake_adapter, NULL);
    hub_join(s[0], "a");
    hub_join(s[1], "a");
    const char *rooms[] = {"a"};
    struct hub_select sel = {rooms, 1, NULL, 0, false};
    hub_sockets_join(nsp, &sel, "b");
    CHECK(hub_in_room(s[0], "b") && hub_in_room(s[1], "b") && !hub_in_room(s[2], "b"));
    CHECK_EQ_INT(fa.ops, 1);
    CHECK_EQ_INT(fa.op, HUB_OP_JOIN);
    CHECK_EQ_STR(fa.op_room, "b");
    hub_sockets_leave(nsp, &sel, "a"); /* leaving the very room selected */
    CHECK_EQ_INT((int)hub_room_size(nsp, "a"), 0);
    CHECK(hub_in_room(s[0], "b"));
    const char *b[] = {"b"};
    struct hub_select in_b = {b, 1, NULL, 0, true};
    hub_disconnect_sockets(nsp, &in_b, false);
    CHECK_EQ_INT(fa.ops, 2); /* local: not told */
    CHECK(received(&p[0], "41") && received(&p[1], "41") && !received(&p[2], "41"));
    CHECK_EQ_INT((int)hub_room_size(nsp, "b"), 0);
    hub_free(h);
}

TEST(disconnect_sockets_with_close_ends_the_session)
{
    struct peer p[1];
    struct hub_socket *s[1];
    struct hub *h = hub_with(p, s, 1);
    struct hub_select all = {NULL, 0, NULL, 0, true};
    hub_disconnect_sockets(hub_of(h, "/"), &all, true);
    CHECK(received(&p[0], "41"));
    CHECK_EQ_INT(p[0].close_why, HUB_CLOSE_SERVER);
    hub_free(h);
}

TEST(fetch_sockets_gathers_here_and_there_then_answers_once)
{
    struct peer p[2];
    struct hub_socket *s[2];
    struct hub *h = hub_with(p, s, 2);
    struct hub_nsp *nsp = hub_of(h, "/");
    hub_join(s[1], "room");
    const char *rooms[] = {"room"};
    struct hub_select sel = {rooms, 1, NULL, 0, false};

    /* Alone: the answer is this node's, at once. */
    CHECK_EQ_INT(hub_fetch_sockets(nsp, &sel, on_answer, NULL), 0);
    CHECK_EQ_INT(answer.calls, 1);
    struct span arr = {answer.json, strlen(answer.json)};
    CHECK_EQ_INT(count(arr), 1);
    CHECK_EQ_STR(text(get(at(arr, 0), "id")), quoted(hub_socket_id(s[1])));
    CHECK_EQ_STR(text(get(at(arr, 0), "data")), "{}");
    CHECK_EQ_INT(count(get(at(arr, 0), "rooms")), 2); /* its id and "room" */
    CHECK_EQ_INT(type_of(get(get(at(arr, 0), "handshake"), "issued")), JSON_NUMBER);

    /* With an adapter: the answer waits for the other nodes. */
    hub_set_adapter(h, &fake_adapter, NULL);
    CHECK_EQ_INT(hub_fetch_sockets(nsp, &sel, on_answer, NULL), 0);
    CHECK_EQ_INT(answer.calls, 1);
    const char *remote = "{\"id\":\"R1\",\"rooms\":[\"R1\",\"room\"],\"data\":{}}";
    hub_gather_add(fa.g, remote, strlen(remote));
    hub_gather_add(fa.g, "", 0); /* a node with none */
    hub_gather_end(fa.g);
    CHECK_EQ_INT(answer.calls, 2);
    arr = (struct span){answer.json, strlen(answer.json)};
    CHECK_EQ_INT(count(arr), 2);
    CHECK_EQ_STR(text(get(at(arr, 1), "id")), "\"R1\"");

    /* An adapter that cannot ask (Redis is down): this node's answer. */
    fa.refuse = true;
    CHECK_EQ_INT(hub_fetch_sockets(nsp, &sel, on_answer, NULL), 0);
    CHECK_EQ_INT(answer.calls, 3);
    hub_free(h);
}

TEST(a_fetched_socket_shows_the_handshake_as_socket_io_does)
{
    struct peer p[2];
    struct hub_socket *s[2];
    struct hub *h = hub_with(p, s, 0);
    const char *url = "/socket.io/?EIO=4&transport=websocket&room=a+b&x=%41%zz";
    struct hub_header f[] = {
        {"Host", 4, "localhost:8080", 14},
        {"Origin", 6, "http://localhost:8080", 21},
        {"Sec-WebSocket-Key", 17, "dGhlIHNhbXBsZSBub25jZQ==", 24}, /* not kept */
        {"User-Agent", 10, "a browser, with \"quotes\"", 24},
    };
    struct hub_handshake hs = {"127.0.0.1", url, strlen(url), f, 4, false};
    for (int i = 0; i < 2; i++) {
        open_peer(h, &p[i]);
        if (i == 0)
            hub_session_handshake(p[i].ss, &hs);
        say(&p[i], i == 0 ? "40{\"token\":\"t1\"}" : "40");
        s[i] = last_socket;
    }
    struct hub_select all = {NULL, 0, NULL, 0, true};
    hub_fetch_sockets(hub_of(h, "/"), &all, on_answer, NULL);
    struct span arr = {answer.json, strlen(answer.json)}, hsj = none;
    for (int i = 0; i < 2; i++) {
        if (strcmp(text(get(at(arr, i), "id")), quoted(hub_socket_id(s[0]))) == 0)
            hsj = get(at(arr, i), "handshake");
    }
    CHECK_EQ_STR(text(get(hsj, "address")), "\"127.0.0.1\"");
    CHECK_EQ_STR(text(get(hsj, "url")), quoted(url));
    CHECK_EQ_STR(text(get(get(hsj, "headers"), "host")), "\"localhost:8080\"");
    CHECK_EQ_STR(text(get(get(hsj, "headers"), "user-agent")), "\"a browser, with \\\"quotes\\\"\"");
    CHECK(get(get(hsj, "headers"), "sec-websocket-key").p == NULL);
    CHECK_EQ_STR(text(get(get(hsj, "query"), "EIO")), "\"4\"");
    CHECK_EQ_STR(text(get(get(hsj, "query"), "room")), "\"a b\"");
    CHECK_EQ_STR(text(get(get(hsj, "query"), "x")), "\"A%zz\"");
    CHECK_EQ_STR(text(get(hsj, "auth")), "{\"token\":\"t1\"}");
    CHECK_EQ_STR(text(get(hsj, "xdomain")), "true");
    CHECK_EQ_STR(text(get(hsj, "secure")), "false");
    /* The other session told the hub nothing: the same shape, empty. */
    for (int i = 0; i < 2; i++) {
        if (strcmp(text(get(at(arr, i), "id")), quoted(hub_socket_id(s[1]))) == 0)
            hsj = get(at(arr, i), "handshake");
    }
    CHECK_EQ_STR(text(get(hsj, "headers")), "{}");
    CHECK_EQ_STR(text(get(hsj, "auth")), "{}");
    CHECK_EQ_INT(type_of(get(hsj, "time")), JSON_STRING);
    hub_free(h);
}

TEST(all_rooms_is_a_set_across_nodes)
{
    struct peer p[1];
    struct hub_socket *s[1];
    struct hub *h = hub_with(p, s, 1);
    hub_join(s[0], "b");
    hub_join(s[0], "a");
    hub_set_adapter(h, &fake_adapter, NULL);
    CHECK_EQ_INT(hub_all_rooms(hub_of(h, "/"), on_answer, NULL), 0);
    hub_gather_add(fa.g, "\"a\",\"c\"", 7);
    hub_gather_end(fa.g);
    /* Each name once, in sorted order: the id, "a", "b", "c" (an id is
     * base64url, so it may sort anywhere among them). */
    struct span arr = {answer.json, strlen(answer.json)};
    CHECK_EQ_INT(count(arr), 4);
    for (int i = 1; i < 4; i++)
        CHECK(strcmp(text(at(arr, i - 1)), text(at(arr, i))) < 0);
    CHECK(strstr(answer.json, "\"c\"") != NULL);
    CHECK(strstr(answer.json, hub_socket_id(s[0])) != NULL);
    hub_free(h);
}

/* ------------------------------------------------------------------------
 * Answers given later
 * ------------------------------------------------------------------------ */

static struct hub_reply *kept;

static void keep_ack(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    kept = hub_ack_later(s, ev);
}

TEST(an_ack_answered_later_is_sent_once_and_is_safe_after_the_socket_went)
{
    struct peer p[1];
    struct hub_socket *s[1];
    struct hub *h = hub_with(p, s, 1);
    hub_on(hub_of(h, "/"), "slow", keep_ack, NULL);
    say(&p[0], "427[\"slow\"]");
    CHECK(kept != NULL);
    CHECK(!received(&p[0], "437[]")); /* nothing yet: the handler returned */
    struct hub_args a = hub_json("\"done\"");
    hub_reply_send(kept, &a);
    CHECK(received(&p[0], "437[\"done\"]"));

    say(&p[0], "428[\"slow\"]");
    struct hub_reply *r = kept;
    say(&p[0], "41"); /* the socket leaves before the answer */
    hub_reply_send(r, &a); /* dropped, not sent, no crash */
    CHECK(!received(&p[0], "438[\"done\"]"));

    say(&p[0], "40");
    say(&p[0], "429[\"slow\"]");
    hub_reply_drop(kept); /* given up: nothing sent */
    CHECK(!received(&p[0], "439[]"));
    hub_free(h);
}

static void count_calls(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)s, (void)ev;
    *(int *)ud += 1;
}

static void server_listener(struct hub_nsp *nsp, const char *event,
                            const struct hub_args *a, struct hub_reply *reply,
                            void *ud)
{
    (void)nsp, (void)event;
    *(int *)ud += 1;
    if (reply)
        hub_reply_send(reply, a);
}

TEST(server_side_events_reach_server_listeners_only_and_answer_once)
{
    struct peer p[1];
    struct hub_socket *s[1];
    struct hub *h = hub_with(p, s, 1);
    struct hub_nsp *nsp = hub_of(h, "/");
    int heard = 0;
    int client = 0;
    hub_on(nsp, "ping", count_calls, &client);
    hub_on_server(nsp, "ping", server_listener, &heard);
    hub_set_adapter(h, &fake_adapter, NULL);
    struct hub_args a = hub_json("\"x\",2");
    hub_server_event(nsp, "ping", &a, "REQ1");
    CHECK_EQ_INT(heard, 1);
    CHECK_EQ_INT(client, 0); /* a socket listener is not a server one */
    CHECK_EQ_STR(fa.reply_token, "REQ1");
    CHECK_EQ_STR(fa.reply_args, "\"x\",2");
    say(&p[0], "42[\"ping\"]"); /* and a client's event skips server listeners */
    CHECK_EQ_INT(client, 1);
    CHECK_EQ_INT(heard, 1);
    hub_server_emit(nsp, "out", &a);
    CHECK_EQ_STR(fa.event, "out");
    hub_free(h);
}

/* ------------------------------------------------------------------------
 * Middleware, catch-all listeners, dynamic namespaces (middleware.c)
 * ------------------------------------------------------------------------ */

static struct hub_connect *held;
static char seen_auth[64];

static void hold(struct hub_connect *c, const struct hub_args *auth, void *ud)
{
    (void)ud;
    snprintf(seen_auth, sizeof seen_auth, "%.*s", (int)auth->len, auth->json);
    held = c;
}

static void refuse(struct hub_connect *c, const struct hub_args *auth, void *ud)
{
    (void)auth, (void)ud;
    hub_refuse(c, "no \"entry\"", "{\"code\":7}");
}

TEST(middleware_decides_later_and_the_socket_exists_only_after)
{
    struct peer p[2];
    struct hub_socket *s[2];
    struct hub *h = hub_with(p, s, 0);
    hub_use(hub_of(h, "/"), hold, NULL);
    open_peer(h, &p[0]);
    say(&p[0], "40{\"token\":\"t\"}");
    CHECK(held != NULL);
    CHECK_EQ_STR(seen_auth, "{\"token\":\"t\"}");
    CHECK_EQ_INT(p[0].nframes, 0); /* no answer yet */
    CHECK_EQ_INT((int)hub_room_size(hub_of(h, "/"), "x"), 0);
    say(&p[0], "40"); /* a second CONNECT while one is pending: ignored */
    hub_accept(held);
    CHECK(starts_with(last(&p[0]), "40{\"sid\":"));

    /* The session ends before the middleware answers: the handle is only
     * freed (ASan checks that nothing else happens). */
    held = NULL;
    open_peer(h, &p[1]);
    say(&p[1], "40");
    struct hub_connect *c = held;
    hub_session_gone(p[1].ss, "transport close");
    hub_accept(c);
    CHECK_EQ_INT(p[1].nframes, 0);
    hub_free(h);
}

TEST(a_refusal_is_connect_error_with_message_and_data)
{
    struct peer p[1];
    struct hub_socket *s[1];
    struct hub *h = hub_with(p, s, 0);
    hub_use(hub_of(h, "/"), refuse, NULL);
    open_peer(h, &p[0]);
    say(&p[0], "40");
    CHECK_EQ_STR(last(&p[0]), "44{\"message\":\"no \\\"entry\\\"\",\"data\":{\"code\":7}}");
    CHECK_EQ_INT(p[0].close_why, 0); /* the session stays */
    hub_free(h);
}

static bool drop_secret(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)s, (void)ud;
    return strcmp(ev->name, "secret") != 0;
}

static char order[64];

static void mark_a(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)s, (void)ev, (void)ud;
    strcat(order, "a");
}

static void mark_b(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)s, (void)ev, (void)ud;
    strcat(order, "b");
}

static void mark_h(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)s, (void)ev, (void)ud;
    strcat(order, "h");
}

static void mark_o(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)s, (void)ud;
    strcat(order, ev->name);
}

TEST(packet_middleware_then_any_listeners_then_handlers)
{
    struct peer p[1];
    struct hub_socket *s[1];
    struct hub *h = hub_with(p, s, 1);
    struct hub_nsp *nsp = hub_of(h, "/");
    hub_use_packet(nsp, drop_secret, NULL);
    hub_on(nsp, "e", mark_h, NULL);
    hub_on(nsp, "secret", mark_h, NULL);
    hub_on_any(nsp, mark_a, NULL);
    hub_prepend_any(nsp, mark_b, NULL);
    order[0] = '\0';
    say(&p[0], "42[\"e\"]");
    CHECK_EQ_STR(order, "bah");
    order[0] = '\0';
    say(&p[0], "42[\"secret\"]");
    CHECK_EQ_STR(order, ""); /* dropped before anyone heard it */
    hub_off_any(nsp, mark_b);
    order[0] = '\0';
    say(&p[0], "42[\"e\"]");
    CHECK_EQ_STR(order, "ah");
    hub_on_any_outgoing(nsp, mark_o, NULL);
    order[0] = '\0';
    struct hub_args none = hub_json("");
    hub_emit(s[0], "out", &none);
    CHECK_EQ_STR(order, "out");
    hub_off_any_outgoing(nsp, mark_o);
    hub_emit(s[0], "out", &none);
    CHECK_EQ_STR(order, "out");
    hub_free(h);
}

static struct hub_nsp *teams(struct hub *h, const char *name, void *ud)
{
    (void)ud;
    return strncmp(name, "/team-", 6) == 0 ? hub_of(h, name) : NULL;
}

TEST(namespaces_are_made_on_demand_by_the_factory)
{
    struct peer p[1];
    struct hub_socket *s[1];
    struct hub *h = hub_with(p, s, 0);
    hub_on_new_nsp(h, teams, NULL);
    open_peer(h, &p[0]);
    say(&p[0], "40/team-1,");
    CHECK(starts_with(last(&p[0]), "40/team-1,{\"sid\":"));
    say(&p[0], "40/other,");
    CHECK_EQ_STR(last(&p[0]), "44/other,{\"message\":\"Invalid namespace\"}");
    hub_free(h);
}

static struct {
    int calls;
    bool timed_out;
    size_t missing;
    char replies[256];
} acked;

static void on_acks(bool timed_out, const char *replies, size_t len, size_t missing, void *ud)
{
    (void)ud;
    acked.calls++;
    acked.timed_out = timed_out;
    acked.missing = missing;
    snprintf(acked.replies, sizeof acked.replies, "%.*s", (int)len, replies);
}

static struct hub_acks *remote_acks;

static int fa_broadcast_ack(void *ud, struct hub_nsp *nsp, const struct hub_select *sel,
                            const char *event, const struct hub_args *a, int timeout_ms,
                            struct hub_acks *k)
{
    (void)ud, (void)nsp, (void)sel, (void)event, (void)a, (void)timeout_ms;
    remote_acks = k;
    return 0;
}

TEST(a_broadcast_with_acks_counts_this_node_and_the_others)
{
    struct peer p[3];
    struct hub_socket *s[3];
    struct hub *h = hub_with(p, s, 3);
    struct hub_nsp *nsp = hub_of(h, "/");
    struct hub_select all = {NULL, 0, NULL, 0, true};
    struct hub_args a = hub_json("1");
    memset(&acked, 0, sizeof acked);
    CHECK_EQ_INT(hub_broadcast_ack(nsp, &all, "q", &a, 1000, on_acks, NULL), 0);
    CHECK(starts_with(last(&p[0]), "420[\"q\",1]")); /* each with its own ack id */
    say(&p[0], "430[\"a\"]");
    say(&p[1], "430[\"b\",\"ignored\"]");
    CHECK_EQ_INT(acked.calls, 0);
    clock_ms += 1000;
    hub_tick(h, clock_ms); /* p[2] never answers */
    CHECK_EQ_INT(acked.calls, 1);
    CHECK(acked.timed_out);
    CHECK_EQ_INT((int)acked.missing, 1);
    CHECK_EQ_STR(acked.replies, "[\"a\",\"b\"]");

    /* With another node: its count and answers are awaited too. */
    static struct hub_adapter with_acks;
    with_acks = fake_adapter;
    with_acks.broadcast_ack = fa_broadcast_ack;
    hub_set_adapter(h, &with_acks, NULL);
    memset(&acked, 0, sizeof acked);
    struct hub_select everyone = {NULL, 0, NULL, 0, false};
    hub_broadcast_ack(nsp, &everyone, "q", &a, 1000, on_acks, NULL);
    for (int i = 0; i < 3; i++)
        say(&p[i], i == 0 ? "431[1]" : i == 1 ? "431[2]" : "431[3]");
    CHECK_EQ_INT(acked.calls, 0); /* the other node has not said */
    hub_acks_nodes(remote_acks, 1);
    hub_acks_count(remote_acks, 1);
    CHECK_EQ_INT(acked.calls, 0);
    hub_acks_reply(remote_acks, "4", 1);
    CHECK_EQ_INT(acked.calls, 1);
    CHECK(!acked.timed_out);
    CHECK_EQ_STR(acked.replies, "[1,2,3,4]");
    hub_acks_release(remote_acks);
    hub_free(h);
}

static bool never_writable(void *peer)
{
    (void)peer;
    return false;
}

TEST(volatile_packets_skip_a_transport_that_cannot_take_them)
{
    static const struct hub_transport busy = {fake_send, fake_close, never_writable, NULL};
    struct hub *h = hub_new(&busy, &opts);
    hub_on(hub_of(h, "/"), "connection", remember, NULL);
    struct peer p;
    open_peer(h, &p);
    say(&p, "40");
    struct hub_args a = hub_json("1");
    struct hub_select all = {NULL, 0, NULL, 0, true};
    int before = p.nframes;
    hub_broadcast_volatile(hub_of(h, "/"), &all, "v", &a);
    hub_emit_volatile(last_socket, "v", &a);
    CHECK_EQ_INT(p.nframes, before);
    CHECK_EQ_INT((int)hub_volatile_dropped(h), 2);
    hub_broadcast(hub_of(h, "/"), &all, "v", &a); /* not volatile: sent */
    CHECK_EQ_INT(p.nframes, before + 1);
    hub_free(h);
}

/* ------------------------------------------------------------------------
 * The chat in a cluster
 * ------------------------------------------------------------------------ */

TEST(chat_join_lists_members_of_every_node_and_ids_carry_the_node)
{
    struct hub *h = hub_new(&fake, &opts);
    struct chat *c = chat_init(h);
    struct peer p;
    open_peer(h, &p);
    say(&p, "40");
    hub_set_adapter(h, &fake_adapter, NULL);
    memset(&fa, 0, sizeof fa);
    say(&p, "421[\"join\",\"blue\"]");
    CHECK(!starts_with(last(&p), "431")); /* waits for the other nodes */
    const char *bob = "{\"id\":\"BOB\",\"rooms\":[\"BOB\",\"blue\"],\"data\":{\"name\":\"bob\"}}";
    hub_gather_add(fa.g, bob, strlen(bob));
    hub_gather_end(fa.g);
    CHECK(starts_with(last(&p), "431["));
    struct span members = get(at(payload(last(&p)), 0), "members");
    CHECK_EQ_INT(count(members), 2);
    CHECK_EQ_STR(text(get(at(members, 1), "name")), "\"bob\"");

    hub_set_node(h, 7);
    say(&p, "422[\"room-message\",{\"room\":\"blue\",\"text\":\"hi\"}]");
    CHECK_EQ_STR(field(last(&p), 0, "id"), "1031"); /* seq 1 * 1024 + 7 */
    hub_session_gone(p.ss, "transport close");
    chat_free(c);
    hub_free(h);
}

int main(void)
{
    RUN(a_selection_takes_each_member_of_its_rooms_once_minus_except);
    RUN(everyone_but_the_sender_is_except_its_own_id);
    RUN(a_socket_id_selects_that_one_socket);
    RUN(broadcasts_go_to_the_adapter_unless_local);
    RUN(sockets_join_leave_and_disconnect_act_here_and_tell_the_adapter);
    RUN(disconnect_sockets_with_close_ends_the_session);
    RUN(fetch_sockets_gathers_here_and_there_then_answers_once);
    RUN(a_fetched_socket_shows_the_handshake_as_socket_io_does);
    RUN(all_rooms_is_a_set_across_nodes);
    RUN(an_ack_answered_later_is_sent_once_and_is_safe_after_the_socket_went);
    RUN(server_side_events_reach_server_listeners_only_and_answer_once);
    RUN(middleware_decides_later_and_the_socket_exists_only_after);
    RUN(a_refusal_is_connect_error_with_message_and_data);
    RUN(packet_middleware_then_any_listeners_then_handlers);
    RUN(namespaces_are_made_on_demand_by_the_factory);
    RUN(a_broadcast_with_acks_counts_this_node_and_the_others);
    RUN(volatile_packets_skip_a_transport_that_cannot_take_them);
    RUN(chat_join_lists_members_of_every_node_and_ids_carry_the_node);
    return check_summary("unit_room");
}
