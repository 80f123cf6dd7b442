/* fuzz_bayeux.c -- libFuzzer harness: the Bayeux engine driven through fake HTTP requests and WebSockets
 * SPDX-License-Identifier: MIT
 *
 * The input is a short script, one step a line:
 *
 *   [... or {...}  a batch, sent as one HTTP request and then as one
 *                  frame on socket 0 (so a plain JSON input is tried both
 *                  ways)
 *   r<batch>       a batch as one HTTP request
 *   o<batch>       the same from a page --origin refuses (foreign_page)
 *   s<batch>       a frame on socket 0; S<batch> on socket 1
 *   x, X           socket 0 (1) closes; the next frame opens a new one
 *   q              the oldest held request is given up by its client
 *   f              the end of a loop turn: bx_flush
 *   t<digit>       time moves on d quarter-timeouts: bx_tick, bx_flush
 *   p<ch> <json>   the server publishes json on channel ch
 *
 * In a batch, #0 to #3 stand for the clientIds of the first four
 * successful handshakes so far (a fuzzer cannot guess 160 random bits),
 * so a script can handshake, then connect, subscribe and publish as
 * that client. One engine per input, with small limits, an incoming
 * extension, an outgoing one and a server-side channel that publishes
 * again from inside its handler (as the chat bridge does). Ports live
 * on the heap and are freed when they go, so a port the engine still
 * points at is a use after free that ASan reports.
 *
 * Checked on every send: the payload is valid JSON from its first byte
 * to its last, an array of objects each with a string channel; a reply
 * says successful true or false, with an error exactly when false; a
 * delivery is {channel, data, id?} on a valid non-meta name (ours,
 * bayeux.h); a handshake's clientId is 31 base-36 characters; a failed
 * connect carries no clientId (§4); no object names a field twice. A
 * request is answered at most once, at once unless its connect is held,
 * and by the end (a held one is freed inside its late send, as faye.c
 * does); close is only called on a socket; bx_input's refusals send
 * nothing; sessions never pass max_clients; once time has run three
 * timeouts past the last step, every session has expired. At the end
 * every port goes, the engine is freed, and LeakSanitizer sees what was
 * left behind.
 *
 * Build with -DFUZZ_BAYEUX_NARROW to step around the two bugs known at
 * the time of writing, and look for others: (1) a socket that held
 * connects for two clients in turn is still pointed at by the first
 * after it goes -- such a socket is then kept allocated after it goes,
 * and its late sends are ignored; (2) a handshake that carries a
 * clientId is answered with two -- a second clientId is then let pass.
 */
#include "../../bayeux.h"
#include "../../json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT 1000  /* ms: the engine's hold */
#define MAX_STEPS 48  /* lines of one script */
#define MAX_HELD 6    /* requests kept waiting on a held connect */
#define MAX_IDS 4     /* #0 .. #3 */

static const struct bx_limits limits = {
    .max_batch = 6,
    .max_subs = 4,
    .max_clients = 4,
    .max_queue = 600,
    .timeout_ms = TIMEOUT,
};

struct fport {
    struct bx_port port; /* first: the ops get it back as this */
    int sends;           /* send calls on it */
    bool kept;           /* a request waiting in run.held */
    bool switched;       /* a socket whose bound client changed */
    bool gone;           /* bx_port_gone was called (narrow build only) */
};

static struct {
    struct bx *bx;
    int64_t now;                     /* ms */
    char ids[MAX_IDS][BX_ID_LEN + 1];
    size_t nids;                     /* handshakes learnt, at most MAX_IDS */
    struct fport *held[MAX_HELD];    /* requests waiting, oldest first */
    size_t nheld;
    struct fport *sock[2];           /* open sockets, or NULL */
    struct fport *zombies[16];       /* narrow build: gone switched sockets */
    size_t nzombies;
} run;

/* ------------------------------------------------------------------------
 * What every payload must look like
 * ------------------------------------------------------------------------ */

static bool is_base36_id(const char *s, size_t n)
{
    if (n != BX_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
            return false;
    return true;
}

static bool has(const char *obj, size_t n, const char *key)
{
    const char *v;
    size_t vn;
    return json_get(obj, n, key, &v, &vn) == 0;
}

/* Each member name of the object m once (RFC 8259 §4 says SHOULD: a
 * JavaScript client keeps the last of two, json_get the first). The
 * narrow build lets a handshake reply carry two clientIds. Returns the
 * last clientId's value, or NULL, in *cid. */
static void check_keys_once(const char *m, size_t n, bool handshake, const char **cid,
                            size_t *cid_n)
{
    const char *keys[32];
    size_t lens[32], nkeys = 0, pos = 0, kn, vn;
    const char *k, *v;
    int r;
    (void)handshake; /* only the narrow build looks at it */
    *cid = NULL;
    *cid_n = 0;
    while ((r = json_object_next(m, n, &pos, &k, &kn, &v, &vn)) == 1) {
        bool client_id = kn == 10 && memcmp(k, "\"clientId\"", 10) == 0;
        for (size_t i = 0; i < nkeys; i++) {
            bool allowed = false;
#ifdef FUZZ_BAYEUX_NARROW
            allowed = handshake && client_id;
#endif
            if (lens[i] == kn && memcmp(keys[i], k, kn) == 0 && !allowed)
                abort();
        }
        if (nkeys == 32)
            abort(); /* no message of ours has that many fields */
        keys[nkeys] = k;
        lens[nkeys++] = kn;
        if (client_id) {
            *cid = v;
            *cid_n = vn;
        }
    }
    if (r != 0)
        abort();
}

/* The connection types a handshake reply offers (§2, "Advice for
 * wshub"; bayeux.h on foreign_page). */
static const char all_types[] =
    "[\"long-polling\",\"cross-origin-long-polling\",\"callback-polling\",\"websocket\"]";
static const char page_types[] = "[\"long-polling\",\"callback-polling\"]";

/* One message the engine sent on port p: a reply or a delivery. */
static void check_message(const struct bx_port *p, const char *m, size_t n)
{
    char channel[BX_MAX_CHANNEL + 1];
    if (json_type_of(m, n) != JSON_OBJECT)
        abort();
    if (json_get_cstring(m, n, "channel", channel, sizeof channel) < 0)
        abort();
    const char *cid;
    size_t cid_n;
    check_keys_once(m, n, strcmp(channel, "/meta/handshake") == 0, &cid, &cid_n);
    const char *ok;
    size_t okn;
    if (json_get(m, n, "successful", &ok, &okn) != 0) {
        /* A delivery: ours are {channel, data, id}, on a real name. */
        size_t pos = 0, kn, vn;
        const char *k, *v;
        int r;
        while ((r = json_object_next(m, n, &pos, &k, &kn, &v, &vn)) == 1) {
            bool known = (kn == 9 && memcmp(k, "\"channel\"", 9) == 0) ||
                         (kn == 6 && memcmp(k, "\"data\"", 6) == 0) ||
                         (kn == 4 && memcmp(k, "\"id\"", 4) == 0);
            if (!known)
                abort();
        }
        if (r != 0 || !has(m, n, "data"))
            abort();
        if (!bx_channel_valid(channel, false) || strncmp(channel, "/meta/", 6) == 0)
            abort();
        return;
    }
    bool success = okn == 4 && memcmp(ok, "true", 4) == 0;
    if (!success && !(okn == 5 && memcmp(ok, "false", 5) == 0))
        abort();
    if (has(m, n, "error") == success)
        abort();
    if (strcmp(channel, "/meta/handshake") == 0) {
        const char *t;
        size_t tn;
        const char *want = p->foreign_page ? page_types : all_types;
        if (json_get(m, n, "supportedConnectionTypes", &t, &tn) != 0 || tn != strlen(want) ||
            memcmp(t, want, tn) != 0)
            abort();
    }
    if (success && strcmp(channel, "/meta/handshake") == 0) {
        char id[64];
        size_t len;
        if (!cid || json_type_of(cid, cid_n) != JSON_STRING ||
            json_string(cid, cid_n, id, sizeof id - 1, &len) < 0 || !is_base36_id(id, len))
            abort();
        id[len] = '\0';
        if (run.nids < MAX_IDS)
            memcpy(run.ids[run.nids++], id, BX_ID_LEN + 1);
    }
    if (!success && strcmp(channel, "/meta/connect") == 0 && has(m, n, "clientId"))
        abort();
}

/* A payload on p: a JSON array of messages, exactly len bytes of it. */
static void check_payload(const struct bx_port *p, const char *json, size_t len)
{
    char *copy = malloc(len ? len : 1); /* exactly its size, for ASan */
    if (!copy)
        abort();
    memcpy(copy, json, len);
    if (json_scan(copy, len, -1) != (long)len || json_type_of(copy, len) != JSON_ARRAY)
        abort();
    size_t pos = 0, en;
    const char *e;
    int r;
    while ((r = json_array_next(copy, len, &pos, &e, &en)) == 1)
        check_message(p, e, en);
    if (r != 0)
        abort();
    free(copy);
}

/* ------------------------------------------------------------------------
 * The fake transport
 * ------------------------------------------------------------------------ */

static void port_free(struct fport *fp);

static void on_send(struct bx_port *p, const char *json, size_t len)
{
    struct fport *fp = (struct fport *)p;
    if (fp->gone)
        return; /* narrow build: the known bug, stepped around */
    fp->sends++;
    /* A request gets one answer, and is marked answered before it. */
    if (!p->socket && (fp->sends > 1 || !p->answered))
        abort();
    check_payload(p, json, len);
    if (fp->kept) { /* as faye.c does: the late answer ends the request */
        size_t i = 0;
        while (run.held[i] != fp)
            i++;
        memmove(run.held + i, run.held + i + 1, (--run.nheld - i) * sizeof run.held[0]);
        port_free(fp);
    }
}

static void on_close(struct bx_port *p)
{
    if (!p->socket) /* only a socket is ever closed by the engine */
        abort();
}

static const struct bx_port_ops ops = {on_send, on_close};

static struct fport *port_new(bool socket)
{
    struct fport *fp = calloc(1, sizeof *fp);
    if (!fp)
        abort();
    fp->port.ops = &ops;
    fp->port.socket = socket;
    return fp;
}

/* The transport is done with fp. */
static void port_free(struct fport *fp)
{
    bx_port_gone(run.bx, &fp->port);
#ifdef FUZZ_BAYEUX_NARROW
    if (fp->switched && run.nzombies < sizeof run.zombies / sizeof run.zombies[0]) {
        fp->gone = true;
        run.zombies[run.nzombies++] = fp;
        return;
    }
#endif
    free(fp);
}

static void drop_oldest_held(void)
{
    if (run.nheld == 0)
        return;
    port_free(run.held[0]);
    memmove(run.held, run.held + 1, --run.nheld * sizeof run.held[0]);
}

/* ------------------------------------------------------------------------
 * The steps
 * ------------------------------------------------------------------------ */

/* line[0..n) with each #0..#3 that names a known client replaced by its
 * clientId, in a heap block of exactly the result's size; *out_n its
 * length. */
static char *expand(const char *line, size_t n, size_t *out_n)
{
    char *out = malloc(n * (BX_ID_LEN / 2 + 1) + 1); /* "#0" grows to 31 */
    if (!out)
        abort();
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '#' && i + 1 < n && line[i + 1] >= '0' &&
            line[i + 1] < '0' + MAX_IDS && (size_t)(line[i + 1] - '0') < run.nids) {
            memcpy(out + o, run.ids[line[i + 1] - '0'], BX_ID_LEN);
            o += BX_ID_LEN;
            i++;
        } else {
            out[o++] = line[i];
        }
    }
    char *exact = malloc(o ? o : 1);
    if (!exact)
        abort();
    memcpy(exact, out, o);
    free(out);
    *out_n = o;
    return exact;
}

static void request(const char *json, size_t n, bool foreign)
{
    struct fport *fp = port_new(false);
    fp->port.foreign_page = foreign;
    int r = bx_input(run.bx, &fp->port, json, n, run.now);
    if (r != 0) {
        if (r != BX_ERR_MALFORMED && r != BX_ERR_TOO_MANY)
            abort();
        if (fp->sends || fp->port.held || fp->port.answered)
            abort(); /* refused whole: the transport answers 400 or 413 */
        port_free(fp);
        return;
    }
    if (fp->port.held) {
        if (fp->sends)
            abort();
        if (run.nheld == MAX_HELD)
            drop_oldest_held();
        fp->kept = true;
        run.held[run.nheld++] = fp;
        return;
    }
    if (fp->sends != 1) /* not held: answered now */
        abort();
    port_free(fp);
}

static void frame(int k, const char *json, size_t n)
{
    if (!run.sock[k])
        run.sock[k] = port_new(true);
    struct fport *fp = run.sock[k];
    const struct bx_client *before = fp->port.bound;
    int sends = fp->sends;
    int r = bx_input(run.bx, &fp->port, json, n, run.now);
    if (r != 0 && fp->sends != sends)
        abort();
    if (before && fp->port.bound && fp->port.bound != before)
        fp->switched = true;
}

/* "p/chan data": a publish from the server, when both parts are sound. */
static void server_publish(const char *s, size_t n)
{
    const char *sp = memchr(s, ' ', n);
    char channel[BX_MAX_CHANNEL + 1];
    if (!sp || (size_t)(sp - s) > BX_MAX_CHANNEL)
        return;
    memcpy(channel, s, (size_t)(sp - s));
    channel[sp - s] = '\0';
    const char *data = sp + 1;
    size_t dn = n - (size_t)(data - s);
    if (!bx_channel_valid(channel, false) || json_scan(data, dn, -1) != (long)dn)
        return;
    bx_publish(run.bx, channel, data, dn);
}

static void step(const char *line, size_t n)
{
    if (n == 0)
        return;
    char op = line[0];
    size_t jn;
    char *json;
    switch (op) {
    case '[':
    case '{':
        json = expand(line, n, &jn);
        request(json, jn, false);
        frame(0, json, jn);
        free(json);
        break;
    case 'r':
    case 'o':
    case 's':
    case 'S':
        json = expand(line + 1, n - 1, &jn);
        if (op == 'r' || op == 'o')
            request(json, jn, op == 'o');
        else
            frame(op == 's' ? 0 : 1, json, jn);
        free(json);
        break;
    case 'x':
    case 'X':
        if (run.sock[op == 'X']) {
            port_free(run.sock[op == 'X']);
            run.sock[op == 'X'] = NULL;
        }
        break;
    case 'q':
        drop_oldest_held();
        break;
    case 'f':
        bx_flush(run.bx);
        break;
    case 't':
        run.now += (n > 1 && line[1] >= '0' && line[1] <= '9' ? line[1] - '0' : 1) * (TIMEOUT / 4);
        bx_tick(run.bx, run.now);
        bx_flush(run.bx);
        break;
    case 'p':
        json = expand(line + 1, n - 1, &jn);
        server_publish(json, jn);
        free(json);
        break;
    default:
        break;
    }
    if (bx_clients(run.bx) > limits.max_clients)
        abort();
}

/* ------------------------------------------------------------------------
 * The engine's helpers, as a server would add them
 * ------------------------------------------------------------------------ */

/* Refuses a message whose ext has a "deny" key, with faye's error shape;
 * one whose ext has "blank" is refused with no text. */
static bool deny(void *ud, const struct bx_message *m, char *err, size_t cap)
{
    (void)ud;
    const char *v;
    size_t vn;
    if (!m->ext)
        return false;
    if (json_get(m->ext, m->ext_len, "blank", &v, &vn) == 0)
        return true;
    if (json_get(m->ext, m->ext_len, "deny", &v, &vn) != 0)
        return false;
    snprintf(err, cap, "403:%s:Denied", m->channel);
    return true;
}

/* Withholds deliveries on channels under /hidden/. */
static bool hide(void *ud, const struct bx_client *to, const char *channel,
                 const char *delivery, size_t len)
{
    (void)ud;
    if (!to || !bx_client_id(to)[0] || json_scan(delivery, len, -1) != (long)len)
        abort();
    return strncmp(channel, "/hidden/", 8) != 0;
}

/* /h/...: refuses string data; otherwise publishes it again on /echo
 * from inside the handler, as the chat bridge does. */
static bool handler(void *ud, const struct bx_message *m, char *err, size_t cap)
{
    (void)ud;
    if (json_type_of(m->data, m->data_len) == JSON_STRING) {
        snprintf(err, cap, "400:%s:No strings", m->channel);
        return false;
    }
    bx_publish(run.bx, "/echo", m->data, m->data_len);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(&run, 0, sizeof run);
    run.now = 1000000;
    run.bx = bx_new(&limits);
    if (!run.bx)
        abort();
    struct bx_extension ext = {deny, hide, NULL};
    bx_add_extension(run.bx, &ext);
    bx_add_channel(run.bx, "/h/", handler, NULL);

    const char *p = (const char *)data;
    size_t left = size;
    for (int steps = 0; left > 0 && steps < MAX_STEPS; steps++) {
        const char *nl = memchr(p, '\n', left);
        size_t n = nl ? (size_t)(nl - p) : left;
        step(p, n);
        p += n;
        left -= n;
        if (nl) {
            p++;
            left--;
        }
    }

    /* Long after the last step: every hold has ended, every session
     * expired, and so every request kept waiting has had its answer. */
    bx_flush(run.bx);
    run.now += 3 * TIMEOUT;
    bx_tick(run.bx, run.now);
    bx_flush(run.bx);
    if (bx_clients(run.bx) != 0 || run.nheld != 0)
        abort();
    for (int k = 0; k < 2; k++)
        if (run.sock[k])
            port_free(run.sock[k]);
    bx_free(run.bx);
    for (size_t i = 0; i < run.nzombies; i++)
        free(run.zombies[i]);
    return 0;
}
