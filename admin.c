/* admin.c -- the official Socket.IO Admin UI, served on /admin (--admin)
 * SPDX-License-Identifier: MIT
 *
 * @socket.io/admin-ui is a dashboard that connects to a server's /admin
 * namespace and shows its sockets, rooms, clients and events live. This
 * file speaks the protocol the UI (0.5.x) expects, written only against
 * hub.h, like the other applications:
 *
 *   on connect     "session" (after a login), "config" {supportedFeatures},
 *                  "all_sockets" [every socket of every namespace]
 *   every 2 s      "server_stats" {serverId, hostname, pid, uptime,
 *                  clientsCount, pollingClientsCount, aggregatedEvents,
 *                  namespaces:[{name, socketsCount}]}
 *   as it happens  "socket_connected", "socket_disconnected",
 *                  "room_joined", "room_left", "event_received",
 *                  "event_sent" (a struct hub_observer tells us)
 *   commands       "emit" nsp, filter, ev, ...args; "join" nsp, room,
 *                  filter; "leave" nsp, room, filter; "_disconnect" nsp,
 *                  close, filter -- a filter is a room (a socket's id is
 *                  one); none means the whole namespace
 *
 * Who may connect: with --admin-auth-file, the UI's {username, password}
 * must match the file's "username:password" (compared in constant time,
 * as SHA-256 digests, so neither the content nor the length leaks); a
 * wrong one gets connect_error "invalid credentials", which the UI shows
 * as such. A login is given a session id the UI keeps and comes back
 * with. Without the file only loopback addresses may connect.
 * --admin-readonly offers no command, and ignores any that comes.
 *
 * Everything goes out as broadcasts to /admin, so with --redis an admin
 * on any node sees every node (each sends its own server_stats).
 *
 * Simplifications, named: "aggregatedEvents" counts socket connections
 * and disconnections and events in and out, not bytes; clientId is
 * the Engine.IO id's first 12 characters, as the reference server shows.
 *
 * References: socketio/socket.io-admin-ui lib/typed-events.ts and
 * lib/index.ts (0.5.1), read for the event names and shapes.
 */
#define _POSIX_C_SOURCE 200809L /* gethostname, clock_gettime */
#include "apps.h"
#include "hub.h"
#include "json.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_NSP "/admin"
#define ADMIN_STATS_MS 2000    /* server_stats period, as the reference */
#define ADMIN_MAX_CRED 256     /* bytes of the auth file's line */
#define ADMIN_MAX_SESSIONS 64  /* logins remembered; the oldest is forgotten */

static struct {
    struct hub *hub;
    struct hub_nsp *nsp;          /* /admin */
    bool readonly;
    bool have_file;               /* --admin-auth-file was given */
    unsigned char user_md[32];    /* SHA-256 of the username */
    unsigned char pass_md[32];    /* SHA-256 of the password */
    char sessions[ADMIN_MAX_SESSIONS][17]; /* session ids handed out */
    size_t next_session;
    struct timer stats;           /* the next server_stats */
    int64_t started;              /* hub time at start, for uptime */
    long long connects, disconnects; /* since the last server_stats */
    long long packets_in, packets_out; /* events, since then too */
    char server_id[300];          /* hostname#pid */
    char hostname[256];
    struct jbuf out;              /* messages are built here */
} adm;

/* ========================================================================
 * Small helpers
 * ======================================================================== */

static void sha256(const char *p, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
        memset(out, 0, 32);
}

/* The current wall time as JSON: a JavaScript Date, ISO 8601. */
static void jb_now(struct jbuf *jb)
{
    struct timespec ts;
    struct tm tm;
    char s[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(s + n, sizeof s - n, ".%03ldZ", ts.tv_nsec / 1000000);
    jb_str(jb, s, strlen(s));
}

static struct jbuf *out(void)
{
    jb_reset(&adm.out);
    return &adm.out;
}

/* Append s as one more argument of the event being built in jb: a JSON
 * string, after a comma unless it is the first. */
static void arg(struct jbuf *jb, const char *s)
{
    if (jb->len > 0)
        jb_lit(jb, ",");
    jb_str(jb, s, strlen(s));
}

/* Append the time as the last argument, as the UI's events end. */
static void arg_now(struct jbuf *jb)
{
    jb_lit(jb, ",");
    jb_now(jb);
}

/* Send the arguments built in jb to every admin, on every node. */
static void tell_admins(const char *event, struct jbuf *jb)
{
    if (jb->oom)
        return;
    struct hub_args a = {jb->p, jb->len, NULL, 0};
    struct hub_select all = {NULL, 0, NULL, 0, false};
    hub_broadcast(adm.nsp, &all, event, &a);
}

/* A socket as the UI shows one: {id, clientId, transport, nsp, data,
 * handshake, rooms}. */
static void jb_socket(struct jbuf *jb, struct hub_socket *s)
{
    const char *sid;
    const char *transport = hub_socket_transport(s, &sid);
    const char *nsp = hub_nsp_name(hub_socket_nsp(s));
    jb_lit(jb, "{\"id\":");
    jb_str(jb, hub_socket_id(s), strlen(hub_socket_id(s)));
    jb_lit(jb, ",\"clientId\":");
    jb_str(jb, sid, strlen(sid) > 12 ? 12 : strlen(sid));
    jb_lit(jb, ",\"transport\":");
    jb_str(jb, transport, strlen(transport));
    jb_lit(jb, ",\"nsp\":");
    jb_str(jb, nsp, strlen(nsp));
    jb_lit(jb, ",\"data\":");
    hub_describe_data(s, jb);
    jb_lit(jb, ",\"handshake\":");
    hub_describe_handshake(s, jb, false); /* auth stays on the server */
    jb_lit(jb, ",\"rooms\":");
    hub_describe_rooms(s, jb);
    jb_lit(jb, "}");
}

/* What happens in /admin itself is not reported, as the reference
 * server does not. */
static bool watched(const struct hub_socket *s)
{
    return hub_socket_nsp(s) != adm.nsp;
}

/* ========================================================================
 * What the hub tells us (struct hub_observer)
 * ======================================================================== */

static void on_connected(void *ud, struct hub_socket *s)
{
    (void)ud;
    adm.connects++;
    if (!watched(s))
        return;
    struct jbuf *jb = out();
    jb_socket(jb, s);
    arg_now(jb);
    tell_admins("socket_connected", jb);
}

static void on_disconnected(void *ud, struct hub_socket *s, const char *reason)
{
    (void)ud;
    adm.disconnects++;
    if (!watched(s))
        return;
    struct jbuf *jb = out();
    arg(jb, hub_nsp_name(hub_socket_nsp(s)));
    arg(jb, hub_socket_id(s));
    arg(jb, reason);
    arg_now(jb);
    tell_admins("socket_disconnected", jb);
}

/* room_joined and room_left: nsp, room, id, timestamp. */
static void room_event(struct hub_socket *s, const char *room, const char *event)
{
    if (!watched(s))
        return;
    struct jbuf *jb = out();
    arg(jb, hub_nsp_name(hub_socket_nsp(s)));
    arg(jb, room);
    arg(jb, hub_socket_id(s));
    arg_now(jb);
    tell_admins(event, jb);
}

static void on_joined(void *ud, struct hub_socket *s, const char *room)
{
    (void)ud;
    room_event(s, room, "room_joined");
}

static void on_left(void *ud, struct hub_socket *s, const char *room)
{
    (void)ud;
    room_event(s, room, "room_left");
}

/* event_received and event_sent: nsp, id, [event, ...args], timestamp.
 * Binary arguments are not shown (their placeholders are). */
static void traffic(struct hub_socket *s, const char *event,
                    const struct hub_args *a, const char *what)
{
    if (!watched(s))
        return;
    struct jbuf *jb = out();
    arg(jb, hub_nsp_name(hub_socket_nsp(s)));
    arg(jb, hub_socket_id(s));
    jb_lit(jb, ",");
    jb_event(jb, event, a ? a->json : "", a ? a->len : 0);
    arg_now(jb);
    tell_admins(what, jb);
}

static void on_received(void *ud, struct hub_socket *s, const struct hub_event *ev)
{
    (void)ud;
    adm.packets_in++;
    traffic(s, ev->name, &ev->args, "event_received");
}

static void on_sent(void *ud, struct hub_socket *s, const char *event,
                    const struct hub_args *a)
{
    (void)ud;
    adm.packets_out++;
    traffic(s, event, a, "event_sent");
}

/* socket_updated {id, nsp, transport}: it upgraded to WebSocket. */
static void on_upgraded(void *ud, struct hub_socket *s)
{
    (void)ud;
    if (!watched(s))
        return;
    const char *sid;
    const char *transport = hub_socket_transport(s, &sid);
    const char *nsp = hub_nsp_name(hub_socket_nsp(s));
    struct jbuf *jb = out();
    jb_lit(jb, "{\"id\":");
    jb_str(jb, hub_socket_id(s), strlen(hub_socket_id(s)));
    jb_lit(jb, ",\"nsp\":");
    jb_str(jb, nsp, strlen(nsp));
    jb_lit(jb, ",\"transport\":");
    jb_str(jb, transport, strlen(transport));
    jb_lit(jb, "}");
    tell_admins("socket_updated", jb);
}

static const struct hub_observer observer = {
    on_connected, on_disconnected, on_joined, on_left, on_received, on_sent,
    on_upgraded,
};

/* ========================================================================
 * server_stats
 * ======================================================================== */

static void stats_fire(struct timer *t, int64_t now)
{
    if (adm.started == 0) /* the first one: the hub's clock starts now */
        adm.started = now;
    size_t polling;
    size_t clients = hub_sessions(adm.hub, &polling);
    struct jbuf *jb = out();
    jb_lit(jb, "{\"serverId\":");
    jb_str(jb, adm.server_id, strlen(adm.server_id));
    jb_lit(jb, ",\"hostname\":");
    jb_str(jb, adm.hostname, strlen(adm.hostname));
    jb_lit(jb, ",\"pid\":");
    jb_int(jb, (long long)getpid());
    char up[32];
    snprintf(up, sizeof up, "%.3f", (double)(now - adm.started) / 1000.0);
    jb_lit(jb, ",\"uptime\":");
    jb_lit(jb, up);
    jb_lit(jb, ",\"clientsCount\":");
    jb_int(jb, (long long)clients);
    jb_lit(jb, ",\"pollingClientsCount\":");
    jb_int(jb, (long long)polling);
    /* This period's connections, at the start of the current second. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long second = (long long)ts.tv_sec * 1000;
    jb_lit(jb, ",\"aggregatedEvents\":[");
    bool first = true;
    const struct { const char *type; long long n; } kinds[] = {
        {"rawConnection", adm.connects}, {"rawDisconnection", adm.disconnects},
        {"packetsIn", adm.packets_in}, {"packetsOut", adm.packets_out},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (kinds[i].n == 0)
            continue;
        if (!first)
            jb_lit(jb, ",");
        first = false;
        jb_lit(jb, "{\"timestamp\":");
        jb_int(jb, second);
        jb_lit(jb, ",\"type\":");
        jb_str(jb, kinds[i].type, strlen(kinds[i].type));
        jb_lit(jb, ",\"count\":");
        jb_int(jb, kinds[i].n);
        jb_lit(jb, "}");
    }
    adm.connects = adm.disconnects = adm.packets_in = adm.packets_out = 0;
    jb_lit(jb, "],\"namespaces\":[");
    for (struct hub_nsp *n = hub_first_nsp(adm.hub); n; n = hub_next_nsp(n)) {
        if (n != hub_first_nsp(adm.hub))
            jb_lit(jb, ",");
        jb_lit(jb, "{\"name\":");
        jb_str(jb, hub_nsp_name(n), strlen(hub_nsp_name(n)));
        jb_lit(jb, ",\"socketsCount\":");
        jb_int(jb, (long long)hub_nsp_size(n));
        jb_lit(jb, "}");
    }
    jb_lit(jb, "]}");
    tell_admins("server_stats", jb);
    hub_timer_set(adm.hub, t, now + ADMIN_STATS_MS);
}

/* ========================================================================
 * Who may connect
 * ======================================================================== */

static bool loopback(const char *address)
{
    return strncmp(address, "127.", 4) == 0 || strcmp(address, "::1") == 0 ||
           strncmp(address, "::ffff:127.", 11) == 0;
}

/* Field key of the JSON object auth as a string into out (cap bytes). */
static bool auth_field(const struct hub_args *auth, const char *key, char *out, size_t cap)
{
    return json_get_cstring(auth->json, auth->len, key, out, cap) >= 0;
}

static bool known_session(const char *id)
{
    for (size_t i = 0; i < ADMIN_MAX_SESSIONS; i++) {
        if (adm.sessions[i][0] && strlen(id) == 16 && CRYPTO_memcmp(adm.sessions[i], id, 16) == 0)
            return true;
    }
    return false;
}

static void check_admin(struct hub_connect *c, const struct hub_args *auth, void *ud)
{
    (void)ud;
    if (!adm.have_file) {
        if (loopback(hub_connect_address(c)))
            hub_accept(c);
        else
            hub_refuse(c, "the admin UI is open to loopback only (see --admin-auth-file)", NULL);
        return;
    }
    char user[ADMIN_MAX_CRED], pass[ADMIN_MAX_CRED], sid[32];
    if (auth_field(auth, "sessionId", sid, sizeof sid) && known_session(sid)) {
        hub_accept(c);
        return;
    }
    unsigned char u[32], p[32];
    bool have = auth_field(auth, "username", user, sizeof user) &&
                auth_field(auth, "password", pass, sizeof pass);
    sha256(have ? user : "", have ? strlen(user) : 0, u);
    sha256(have ? pass : "", have ? strlen(pass) : 0, p);
    /* Both compared, always: the time says nothing about which was wrong. */
    int bad = CRYPTO_memcmp(u, adm.user_md, 32) | CRYPTO_memcmp(p, adm.pass_md, 32);
    if (have && bad == 0)
        hub_accept(c);
    else
        hub_refuse(c, "invalid credentials", NULL); /* the UI's own words */
}

/* ========================================================================
 * An admin connects, and its commands
 * ======================================================================== */

static void take_socket(struct hub_socket *s, void *ud)
{
    struct jbuf *jb = ud;
    if (jb->p[jb->len - 1] != '[')
        jb_lit(jb, ",");
    jb_socket(jb, s);
}

static void on_admin(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ev, (void)ud;
    if (adm.have_file) { /* a session id the UI comes back with */
        unsigned char b[8];
        char *id = adm.sessions[adm.next_session++ % ADMIN_MAX_SESSIONS];
        if (RAND_bytes(b, sizeof b) == 1) {
            for (int i = 0; i < 8; i++)
                snprintf(id + 2 * i, 3, "%02x", b[i]);
            struct jbuf *jb = out();
            jb_str(jb, id, 16);
            struct hub_args a = {jb->p, jb->len, NULL, 0};
            if (!jb->oom)
                hub_emit(s, "session", &a);
        }
    }
    struct jbuf *jb = out();
    jb_lit(jb, adm.readonly
               ? "{\"supportedFeatures\":[\"AGGREGATED_EVENTS\",\"ALL_EVENTS\"]}"
               : "{\"supportedFeatures\":[\"EMIT\",\"JOIN\",\"LEAVE\",\"DISCONNECT\","
                 "\"MJOIN\",\"MLEAVE\",\"MDISCONNECT\",\"AGGREGATED_EVENTS\",\"ALL_EVENTS\"]}");
    struct hub_args config = {jb->p, jb->len, NULL, 0};
    hub_emit(s, "config", &config);
    /* This node's sockets; other nodes' admins hear of theirs live. */
    struct jbuf all = {0};
    jb_lit(&all, "[");
    struct hub_select everyone = {NULL, 0, NULL, 0, true};
    for (struct hub_nsp *n = hub_first_nsp(adm.hub); n; n = hub_next_nsp(n))
        hub_select_each(n, &everyone, take_socket, &all);
    jb_lit(&all, "]");
    struct hub_args a = {all.p, all.len, NULL, 0};
    if (!all.oom)
        hub_emit(s, "all_sockets", &a);
    jb_free(&all);
}

/* The arguments of a command: a[i] as JSON text (span), up to 4 of them,
 * the rest after the 4th kept whole in *rest (for emit). */
struct cmd {
    const char *v[4];
    size_t n[4];
    size_t count;
    struct hub_args rest;
};

static void split(const struct hub_event *ev, struct cmd *c, size_t want)
{
    memset(c, 0, sizeof *c);
    size_t pos = 0;
    const char *p = ev->args.json, *end = p + ev->args.len;
    while (c->count < want && pos < ev->args.len) {
        long n = json_scan(p + pos, ev->args.len - pos, (int)ev->args.nbins);
        if (n <= 0)
            break;
        long ws = json_skip_ws(p + pos, ev->args.len - pos);
        c->v[c->count] = p + pos + (ws > 0 ? ws : 0);
        c->n[c->count] = (size_t)n - (size_t)(ws > 0 ? ws : 0);
        c->count++;
        pos += (size_t)n;
        while (pos < ev->args.len && (p[pos] == ',' || p[pos] == ' '))
            pos++;
    }
    c->rest.json = p + pos;
    c->rest.len = (size_t)(end - (p + pos));
    c->rest.bins = ev->args.bins;
    c->rest.nbins = ev->args.nbins;
}

/* Argument i as a string into out; false if it is not one. */
static bool str_arg(const struct cmd *c, size_t i, char *out, size_t cap)
{
    return i < c->count && json_cstring(c->v[i], c->n[i], out, cap) >= 0;
}

static struct hub_nsp *find_nsp(const char *name)
{
    for (struct hub_nsp *n = hub_first_nsp(adm.hub); n; n = hub_next_nsp(n)) {
        if (strcmp(hub_nsp_name(n), name) == 0)
            return n;
    }
    return NULL;
}

/* One command: "emit", "join", "leave" or "_disconnect". */
static void on_command(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)s, (void)ud;
    if (adm.readonly)
        return;
    struct cmd c;
    char nspname[129], a1[256], filter[256], event[129];
    bool emit = strcmp(ev->name, "emit") == 0;
    split(ev, &c, 3);
    struct hub_nsp *nsp = str_arg(&c, 0, nspname, sizeof nspname) ? find_nsp(nspname) : NULL;
    if (!nsp || nsp == adm.nsp)
        return;
    /* emit: nsp, filter, ev, ...args; the others: nsp, x, filter */
    size_t fi = emit ? 1 : 2;
    bool has_filter = str_arg(&c, fi, filter, sizeof filter);
    const char *rooms[1] = {filter};
    struct hub_select sel = {has_filter ? rooms : NULL, has_filter ? 1 : 0, NULL, 0, false};
    if (emit) {
        if (str_arg(&c, 2, event, sizeof event))
            hub_broadcast(nsp, &sel, event, &c.rest);
    } else if (strcmp(ev->name, "join") == 0 || strcmp(ev->name, "leave") == 0) {
        if (!str_arg(&c, 1, a1, sizeof a1))
            return;
        if (ev->name[0] == 'j')
            hub_sockets_join(nsp, &sel, a1);
        else
            hub_sockets_leave(nsp, &sel, a1);
    } else {
        bool close = c.count > 1 && json_type_of(c.v[1], c.n[1]) == JSON_TRUE;
        hub_disconnect_sockets(nsp, &sel, close);
    }
}

/* ========================================================================
 * Starting and stopping
 * ======================================================================== */

/* Serve the Admin UI's protocol on /admin. auth_file: "username:password"
 * (NULL: loopback only). Returns 0, or -1 with a message on stderr. */
int admin_init(struct hub *h, const char *auth_file, bool readonly)
{
    memset(&adm, 0, sizeof adm);
    adm.hub = h;
    adm.readonly = readonly;
    if (auth_file) {
        FILE *f = fopen(auth_file, "r");
        char line[ADMIN_MAX_CRED * 2];
        if (!f || !fgets(line, sizeof line, f)) {
            fprintf(stderr, "wshub: --admin-auth-file %s: cannot read it\n", auth_file);
            if (f)
                fclose(f);
            return -1;
        }
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        char *colon = strchr(line, ':');
        if (!colon || colon == line || colon[1] == '\0' ||
            strlen(line) >= ADMIN_MAX_CRED) {
            fprintf(stderr, "wshub: --admin-auth-file %s: want one line username:password\n", auth_file);
            return -1;
        }
        *colon = '\0';
        sha256(line, strlen(line), adm.user_md);
        sha256(colon + 1, strlen(colon + 1), adm.pass_md);
        OPENSSL_cleanse(line, sizeof line);
        adm.have_file = true;
    }
    if (gethostname(adm.hostname, sizeof adm.hostname - 1) != 0)
        strcpy(adm.hostname, "wshub");
    snprintf(adm.server_id, sizeof adm.server_id, "%s#%d", adm.hostname, (int)getpid());
    adm.nsp = hub_of(h, ADMIN_NSP);
    if (!adm.nsp || hub_use(adm.nsp, check_admin, NULL) != 0 ||
        hub_on(adm.nsp, "connection", on_admin, NULL) != 0 ||
        hub_on(adm.nsp, "emit", on_command, NULL) != 0 ||
        hub_on(adm.nsp, "join", on_command, NULL) != 0 ||
        hub_on(adm.nsp, "leave", on_command, NULL) != 0 ||
        hub_on(adm.nsp, "_disconnect", on_command, NULL) != 0) {
        fprintf(stderr, "wshub: --admin: out of memory\n");
        return -1;
    }
    hub_observe(h, &observer, NULL);
    adm.stats.fire = stats_fire;
    hub_timer_set(h, &adm.stats, 0); /* the first stats on the first turn */
    return 0;
}

void admin_free(void)
{
    if (!adm.hub)
        return;
    hub_observe(adm.hub, NULL, NULL);
    hub_timer_cancel(adm.hub, &adm.stats);
    jb_free(&adm.out);
    memset(&adm, 0, sizeof adm);
}
