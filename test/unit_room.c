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
                         const char *event, const struct hub_args *a)
{
    (void)ud, (void)nsp, (void)a;
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
    fa_broadcast, fa_sockets_op, fa_ask, fa_server_emit, fa_server_reply,
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
    RUN(chat_join_lists_members_of_every_node_and_ids_carry_the_node);
    return check_summary("unit_room");
}
