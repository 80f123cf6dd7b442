/* echoapp.c -- the protocol-testing application (--app echo)
 * SPDX-License-Identifier: MIT
 *
 * The same contract as the server that socket.io-protocol's test suite
 * runs against ("Test suite" in the v5 spec): in the namespaces "/" and
 * "/custom", a client that connects is sent "auth" with its CONNECT
 * payload; "message" comes back as "message-back" with the same
 * arguments, attachments included; "message-with-ack" is acked with the
 * same arguments. Any other namespace is refused with CONNECT_ERROR.
 *
 * Two more events exercise what that contract leaves out: "ask-me" makes
 * the server emit "ask" with the same arguments and an ack, and report the
 * client's answer as "answer" (or "ask-timeout" after 2 s); "kick-me"
 * makes the server disconnect the socket from its namespace.
 *
 * The rest exercise the hub's selections and, with --redis, the cluster
 * (test/redis.test.js drives them, against Node socket.io nodes):
 *
 *   join room / leave room             ack true
 *   broadcast {rooms?,except?,event}, ...args
 *                                      io.to(rooms).except(except).emit(event,
 *                                      ...args) on every node; ack true
 *   broadcast-others {rooms?,event}, ...args
 *                                      the same without the sender
 *   fetch-sockets {rooms?}             ack [{id, handshake, rooms, data}], the
 *                                      whole cluster's
 *   all-rooms                          ack [room names], the whole cluster's
 *   set-data value                     the socket's data, as fetch shows it
 *   server-side-emit event, ...args    io.serverSideEmit(event, ...args)
 *
 *   ask-all {rooms?,timeout,event}, ...args
 *                                      io.timeout(t).to(rooms).emit(event, ...args,
 *                                      cb): ack {timedOut, replies, missing}
 *   volatile {event, count}, ...args   io.volatile.emit(event, ...args), count
 *                                      times: ack {dropped}, those not sent
 *   stats                              ack {in, out}: events seen by onAny and
 *                                      onAnyOutgoing, all namespaces together
 *
 * Its middleware: a CONNECT whose auth has "token":"bad" is refused
 * ("unauthorized", data {"reason":"bad token"}); "token":"slow" is let in
 * only after a question to the cluster (hub_all_rooms) has been
 * answered, so the answer comes after the middleware returned. The
 * event "forbidden" is dropped by packet middleware, its ack answered
 * {"error":"forbidden"}. Namespaces /team-N (N digits) exist on demand.
 *
 * and it listens for the server-side event "hello-servers": its
 * arguments go to every socket here as "server-side", and the answer,
 * if one is wanted, is "wshub".
 *
 * Each handler shows one thing about the hub: the arguments of an event
 * are passed on as they arrived, never decoded and encoded.
 */
#include "apps.h"
#include "hub.h"
#include "json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_MAX_ROOMS 16   /* rooms in one broadcast's rooms or except */
#define ECHO_MAX_ROOM 128   /* bytes of one room name */
#define ECHO_MAX_DATA 4096  /* bytes of set-data's value */

static void on_connection(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    hub_emit(s, "auth", &ev->args); /* args: the auth object, or {} */
}

static void on_message(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    hub_emit(s, "message-back", &ev->args);
}

static void on_message_with_ack(struct hub_socket *s, struct hub_event *ev,
                                void *ud)
{
    (void)ud;
    hub_ack(s, ev, &ev->args);
}

/* The client answered our "ask" (or did not): tell it what we heard. */
static void on_answer(struct hub_socket *s, bool timed_out,
                      const struct hub_args *reply, void *ud)
{
    (void)ud;
    if (timed_out) {
        struct hub_args none = hub_json("");
        hub_emit(s, "ask-timeout", &none);
    } else {
        hub_emit(s, "answer", reply);
    }
}

static void on_ask_me(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    hub_emit_ack(s, "ask", &ev->args, 2000, on_answer, NULL);
}

static void on_kick_me(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ev;
    (void)ud;
    hub_disconnect(s);
}

/* ---- the selections and the cluster -------------------------------- */

/* Room names from a JSON array of strings (absent: none). */
struct room_list {
    char name[ECHO_MAX_ROOMS][ECHO_MAX_ROOM + 1];
    const char *v[ECHO_MAX_ROOMS];
    size_t n;
};

/* Read obj's array field key into l. Returns 0, or -1 if it is there but
 * not an array of at most ECHO_MAX_ROOMS short strings. */
static int room_list(const char *obj, size_t n, const char *key, struct room_list *l)
{
    const char *arr, *v;
    size_t alen, vlen, pos = 0, got;
    int r;
    l->n = 0;
    if (json_get(obj, n, key, &arr, &alen) != 0)
        return 0;
    while ((r = json_array_next(arr, alen, &pos, &v, &vlen)) == 1) {
        if (l->n == ECHO_MAX_ROOMS || json_type_of(v, vlen) != JSON_STRING ||
            json_string(v, vlen, l->name[l->n], ECHO_MAX_ROOM, &got) < 0)
            return -1;
        l->name[l->n][got] = '\0';
        l->v[l->n] = l->name[l->n];
        l->n++;
    }
    return r == 0 ? 0 : -1;
}

/* The first argument's text, and the arguments after it. */
static void first_and_rest(const struct hub_args *a, const char **first, size_t *flen,
                           struct hub_args *rest)
{
    long end = json_scan(a->json, a->len, (int)a->nbins);
    size_t n = end > 0 ? (size_t)end : 0;
    *first = a->json;
    *flen = n;
    while (n < a->len && (a->json[n] == ',' || a->json[n] == ' '))
        n++;
    *rest = *a;
    rest->json = a->json + n;
    rest->len = a->len - n;
}

static void ack_true(struct hub_socket *s, struct hub_event *ev)
{
    struct hub_args t = hub_json("true");
    hub_ack(s, ev, &t);
}

/* A room name as the only argument, into out. Returns 0 or -1. */
static int room_arg(const struct hub_event *ev, char out[ECHO_MAX_ROOM + 1])
{
    const char *first;
    size_t flen, got;
    struct hub_args rest;
    first_and_rest(&ev->args, &first, &flen, &rest);
    if (json_type_of(first, flen) != JSON_STRING ||
        json_string(first, flen, out, ECHO_MAX_ROOM, &got) < 0 || got == 0)
        return -1;
    out[got] = '\0';
    return 0;
}

static void on_join(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    char room[ECHO_MAX_ROOM + 1];
    (void)ud;
    if (room_arg(ev, room) == 0 && hub_join(s, room) == 0)
        ack_true(s, ev);
}

static void on_leave(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    char room[ECHO_MAX_ROOM + 1];
    (void)ud;
    if (room_arg(ev, room) == 0) {
        hub_leave(s, room);
        ack_true(s, ev);
    }
}

/* broadcast and broadcast-others: ud is non-NULL for "others". */
static void on_broadcast(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    const char *first, *v;
    size_t flen, vlen, got;
    struct hub_args rest;
    char event[ECHO_MAX_ROOM + 1];
    static struct room_list rooms, except;
    first_and_rest(&ev->args, &first, &flen, &rest);
    if (json_get(first, flen, "event", &v, &vlen) != 0 || json_type_of(v, vlen) != JSON_STRING ||
        json_string(v, vlen, event, ECHO_MAX_ROOM, &got) < 0 ||
        room_list(first, flen, "rooms", &rooms) != 0 ||
        room_list(first, flen, "except", &except) != 0 || except.n == ECHO_MAX_ROOMS)
        return;
    event[got] = '\0';
    if (ud) { /* socket.broadcast: everyone but the sender */
        strcpy(except.name[except.n], hub_socket_id(s));
        except.v[except.n] = except.name[except.n];
        except.n++;
    }
    struct hub_select sel = {rooms.v, rooms.n, except.v, except.n, false};
    hub_broadcast(hub_socket_nsp(s), &sel, event, &rest);
    ack_true(s, ev);
}

/* An answer from the cluster goes to the ack kept for it. */
static void answer(const char *json, size_t len, void *ud)
{
    struct hub_args a = {json, len, NULL, 0};
    hub_reply_send(ud, &a);
}

static void on_fetch_sockets(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    const char *first;
    size_t flen;
    struct hub_args rest;
    static struct room_list rooms;
    (void)ud;
    first_and_rest(&ev->args, &first, &flen, &rest);
    if (room_list(first, flen, "rooms", &rooms) != 0)
        return;
    struct hub_select sel = {rooms.v, rooms.n, NULL, 0, false};
    struct hub_reply *r = hub_ack_later(s, ev);
    if (r && hub_fetch_sockets(hub_socket_nsp(s), &sel, answer, r) != 0)
        hub_reply_drop(r);
}

static void on_all_rooms(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    struct hub_reply *r = hub_ack_later(s, ev);
    if (r && hub_all_rooms(hub_socket_nsp(s), answer, r) != 0)
        hub_reply_drop(r);
}

/* The socket's data is kept as JSON text in hub_socket_data. */
static void on_set_data(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    const char *first;
    size_t flen;
    struct hub_args rest;
    (void)ud;
    first_and_rest(&ev->args, &first, &flen, &rest);
    if (flen == 0 || flen > ECHO_MAX_DATA || ev->args.nbins > 0)
        return;
    char *copy = malloc(flen + 1);
    if (!copy)
        return;
    memcpy(copy, first, flen);
    copy[flen] = '\0';
    free(hub_socket_data(s));
    hub_socket_set_data(s, copy);
    ack_true(s, ev);
}

static void describe(struct hub_socket *s, struct jbuf *out, void *ud)
{
    (void)ud;
    if (hub_socket_data(s))
        jb_lit(out, hub_socket_data(s));
}

static void on_disconnect(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ev;
    (void)ud;
    free(hub_socket_data(s));
    hub_socket_set_data(s, NULL);
}

static void on_server_side_emit(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    const char *first;
    size_t flen, got;
    struct hub_args rest;
    char event[ECHO_MAX_ROOM + 1];
    (void)ud;
    first_and_rest(&ev->args, &first, &flen, &rest);
    if (json_type_of(first, flen) != JSON_STRING ||
        json_string(first, flen, event, ECHO_MAX_ROOM, &got) < 0)
        return;
    event[got] = '\0';
    hub_server_emit(hub_socket_nsp(s), event, &rest);
    ack_true(s, ev);
}

/* Another node's io.serverSideEmit("hello-servers", ...args[, cb]). */
static void on_hello_servers(struct hub_nsp *nsp, const char *event,
                             const struct hub_args *a, struct hub_reply *reply,
                             void *ud)
{
    (void)event;
    (void)ud;
    struct hub_select here = {NULL, 0, NULL, 0, true};
    hub_broadcast(nsp, &here, "server-side", a);
    if (reply) {
        struct hub_args w = hub_json("\"wshub\"");
        hub_reply_send(reply, &w);
    }
}

/* ---- middleware, broadcast acks, volatile, catch-all ------------------- */

static void admit_later(const char *json, size_t len, void *ud)
{
    (void)json, (void)len;
    hub_accept(ud);
}

static void check_token(struct hub_connect *c, const struct hub_args *auth, void *ud)
{
    const char *v;
    size_t vlen;
    (void)ud;
    bool has = json_get(auth->json, auth->len, "token", &v, &vlen) == 0;
    if (has && vlen == 5 && memcmp(v, "\"bad\"", 5) == 0)
        hub_refuse(c, "unauthorized", "{\"reason\":\"bad token\"}");
    else if (has && vlen == 6 && memcmp(v, "\"slow\"", 6) == 0) {
        if (hub_all_rooms(hub_connect_nsp(c), admit_later, c) != 0)
            hub_refuse(c, "out of memory", NULL);
    } else
        hub_accept(c);
}

static bool drop_forbidden(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    if (strcmp(ev->name, "forbidden") != 0)
        return true;
    struct hub_args e = hub_json("{\"error\":\"forbidden\"}");
    hub_ack(s, ev, &e);
    return false;
}

/* Events seen by the catch-all listeners, all namespaces of the app
 * together (one hub per process, so one count). */
static struct counts {
    long long in, out;
} counts;

static void count_in(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)s, (void)ev;
    ((struct counts *)ud)->in++;
}

static void count_out(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)s, (void)ev;
    ((struct counts *)ud)->out++;
}

static void on_stats(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct counts *k = ud;
    struct jbuf jb = {0};
    jb_lit(&jb, "{\"in\":");
    jb_int(&jb, k->in);
    jb_lit(&jb, ",\"out\":");
    jb_int(&jb, k->out);
    jb_lit(&jb, "}");
    if (!jb.oom) {
        struct hub_args a = {jb.p, jb.len, NULL, 0};
        hub_ack(s, ev, &a);
    }
    jb_free(&jb);
}

static void all_answered(bool timed_out, const char *replies, size_t len,
                         size_t missing, void *ud)
{
    struct jbuf jb = {0};
    jb_lit(&jb, timed_out ? "{\"timedOut\":true,\"replies\":" : "{\"timedOut\":false,\"replies\":");
    jb_raw(&jb, replies, len);
    jb_lit(&jb, ",\"missing\":");
    jb_int(&jb, (long long)missing);
    jb_lit(&jb, "}");
    struct hub_args a = {jb.p, jb.len, NULL, 0};
    if (jb.oom)
        hub_reply_drop(ud);
    else
        hub_reply_send(ud, &a);
    jb_free(&jb);
}

static void on_ask_all(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    const char *first, *v;
    size_t flen, vlen, got;
    struct hub_args rest;
    char event[ECHO_MAX_ROOM + 1];
    static struct room_list rooms;
    int64_t timeout = 2000;
    (void)ud;
    first_and_rest(&ev->args, &first, &flen, &rest);
    if (json_get(first, flen, "event", &v, &vlen) != 0 || json_type_of(v, vlen) != JSON_STRING ||
        json_string(v, vlen, event, ECHO_MAX_ROOM, &got) < 0 ||
        room_list(first, flen, "rooms", &rooms) != 0)
        return;
    event[got] = '\0';
    if (json_get(first, flen, "timeout", &v, &vlen) == 0 && json_int(v, vlen, 60000, &timeout) != 0)
        return;
    struct hub_select sel = {rooms.v, rooms.n, NULL, 0, false};
    struct hub_reply *r = hub_ack_later(s, ev);
    if (r && hub_broadcast_ack(hub_socket_nsp(s), &sel, event, &rest, (int)timeout, all_answered, r) != 0)
        hub_reply_drop(r);
}

static void on_volatile(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    const char *first, *v;
    size_t flen, vlen, got;
    struct hub_args rest;
    char event[ECHO_MAX_ROOM + 1];
    int64_t count = 1;
    (void)ud;
    first_and_rest(&ev->args, &first, &flen, &rest);
    if (json_get(first, flen, "event", &v, &vlen) != 0 || json_type_of(v, vlen) != JSON_STRING ||
        json_string(v, vlen, event, ECHO_MAX_ROOM, &got) < 0)
        return;
    event[got] = '\0';
    if (json_get(first, flen, "count", &v, &vlen) == 0 && json_int(v, vlen, 100000, &count) != 0)
        return;
    struct hub *h = NULL;
    uint64_t before = 0;
    struct hub_select all = {NULL, 0, NULL, 0, false};
    for (int64_t i = 0; i < count; i++) {
        if (i == 0) {
            h = hub_nsp_hub(hub_socket_nsp(s));
            before = hub_volatile_dropped(h);
        }
        hub_broadcast_volatile(hub_socket_nsp(s), &all, event, &rest);
    }
    struct jbuf jb = {0};
    jb_lit(&jb, "{\"dropped\":");
    jb_int(&jb, h ? (long long)(hub_volatile_dropped(h) - before) : 0);
    jb_lit(&jb, "}");
    struct hub_args a = {jb.p, jb.len, NULL, 0};
    if (!jb.oom)
        hub_ack(s, ev, &a);
    jb_free(&jb);
}

static int setup(struct hub_nsp *nsp);

/* /team-N on demand, with the same handlers. */
static struct hub_nsp *team_factory(struct hub *h, const char *name, void *ud)
{
    (void)ud;
    if (strncmp(name, "/team-", 6) != 0 || name[6] == '\0' ||
        strspn(name + 6, "0123456789") != strlen(name + 6))
        return NULL;
    struct hub_nsp *nsp = hub_of(h, name);
    if (!nsp || setup(nsp) != 0)
        return NULL;
    return nsp;
}

/* Every handler of the app on nsp. Returns 0, or -1 if out of memory. */
static int setup(struct hub_nsp *nsp)
{
    struct counts *k = &counts;
    if (hub_on(nsp, "connection", on_connection, NULL) != 0 ||
        hub_on(nsp, "message", on_message, NULL) != 0 ||
        hub_on(nsp, "message-with-ack", on_message_with_ack, NULL) != 0 ||
        hub_on(nsp, "ask-me", on_ask_me, NULL) != 0 ||
        hub_on(nsp, "kick-me", on_kick_me, NULL) != 0 ||
        hub_on(nsp, "join", on_join, NULL) != 0 ||
        hub_on(nsp, "leave", on_leave, NULL) != 0 ||
        hub_on(nsp, "broadcast", on_broadcast, NULL) != 0 ||
        hub_on(nsp, "broadcast-others", on_broadcast, nsp) != 0 ||
        hub_on(nsp, "fetch-sockets", on_fetch_sockets, NULL) != 0 ||
        hub_on(nsp, "all-rooms", on_all_rooms, NULL) != 0 ||
        hub_on(nsp, "set-data", on_set_data, NULL) != 0 ||
        hub_on(nsp, "disconnect", on_disconnect, NULL) != 0 ||
        hub_on(nsp, "server-side-emit", on_server_side_emit, NULL) != 0 ||
        hub_on(nsp, "ask-all", on_ask_all, NULL) != 0 ||
        hub_on(nsp, "volatile", on_volatile, NULL) != 0 ||
        hub_on(nsp, "stats", on_stats, k) != 0 ||
        hub_on_any(nsp, count_in, k) != 0 ||
        hub_on_any_outgoing(nsp, count_out, k) != 0 ||
        hub_use(nsp, check_token, NULL) != 0 ||
        hub_use_packet(nsp, drop_forbidden, NULL) != 0 ||
        hub_on_server(nsp, "hello-servers", on_hello_servers, NULL) != 0)
        return -1;
    hub_on_describe(nsp, describe, NULL);
    return 0;
}

int echoapp_init(struct hub *h)
{
    static const char *const names[] = {"/", "/custom"};
    memset(&counts, 0, sizeof counts);
    for (int i = 0; i < 2; i++) {
        struct hub_nsp *nsp = hub_of(h, names[i]);
        if (!nsp || setup(nsp) != 0)
            return -1;
    }
    hub_on_new_nsp(h, team_factory, NULL);
    return 0;
}
