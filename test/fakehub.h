/* fakehub.h -- a fake transport and packet readers for the hub's unit tests
 * SPDX-License-Identifier: MIT
 *
 * Shared by unit_hub.c and unit_room.c: the fake stands where engine.c
 * does and records what the hub sends each fake peer; the readers pick
 * JSON values out of recorded packets. The helpers are static inline
 * only so that a test file that uses some of them draws no "unused"
 * warning for the others.
 */
#ifndef FAKEHUB_H
#define FAKEHUB_H

#include "../hub.h"
#include "../json.h"
#include "../sio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * A fake transport
 * ------------------------------------------------------------------------ */

#define MAX_FRAMES 64

struct peer {
    int nframes;
    bool binary[MAX_FRAMES];        /* an attachment, not a packet */
    char text[MAX_FRAMES][512];     /* message, "4" added, NUL-terminated */
    size_t len[MAX_FRAMES];         /* bytes of the message, "4" included */
    const uint8_t *raw[MAX_FRAMES]; /* the pointer the hub passed */
    char whole[16384];              /* the last message, however long */
    enum hub_close close_why;       /* 0 until the hub closes us */
    char close_reason[128];
    struct hub_session *ss;
};

static inline void fake_send(void *p, bool binary, const uint8_t *msg, size_t len)
{
    struct peer *peer = p;
    char *w = peer->whole;
    size_t n = 0;
    if (peer->nframes == MAX_FRAMES || len + 2 > sizeof peer->whole)
        return;
    if (!binary)
        w[n++] = '4'; /* Engine.IO message */
    memcpy(w + n, msg, len);
    n += len;
    w[n] = '\0';
    int i = peer->nframes++;
    size_t keep = n < sizeof peer->text[i] ? n : sizeof peer->text[i] - 1;
    peer->binary[i] = binary;
    peer->len[i] = n;
    memcpy(peer->text[i], w, keep);
    peer->text[i][keep] = '\0';
    peer->raw[i] = msg;
}

static inline void fake_close(void *p, enum hub_close why, const char *text)
{
    struct peer *peer = p;
    peer->close_why = why;
    snprintf(peer->close_reason, sizeof peer->close_reason, "%s", text);
}

static const struct hub_transport fake = {fake_send, fake_close, NULL, NULL};
static const struct hub_options opts = {
    .connect_timeout = 1000, .max_payload = 100000,
};

static int64_t clock_ms = 1000;

static inline void open_peer(struct hub *h, struct peer *p)
{
    memset(p, 0, sizeof *p);
    p->ss = hub_session_open(h, p, clock_ms);
}

/* The client sends an Engine.IO message packet, "4" and all; the hub is
 * handed what follows the "4", as engine.c would hand it. */
static inline void say(struct peer *p, const char *text)
{
    if (text[0] != '4') {
        fprintf(stderr, "say(): not an Engine.IO message: %s\n", text);
        abort();
    }
    hub_session_message(p->ss, false, (const uint8_t *)text + 1,
                        strlen(text) - 1, clock_ms);
}

static inline void say_binary(struct peer *p, const void *data, size_t n)
{
    hub_session_message(p->ss, true, data, n, clock_ms);
}

/* The last message the peer received, cut to 511 bytes (whole keeps all
 * of it), or "" before the first. */
static inline const char *last(const struct peer *p)
{
    return p->nframes ? p->text[p->nframes - 1] : "";
}

static inline bool received(const struct peer *p, const char *text)
{
    for (int i = 0; i < p->nframes; i++) {
        if (strcmp(p->text[i], text) == 0)
            return true;
    }
    return false;
}

static inline bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ------------------------------------------------------------------------
 * Reading the JSON in a packet, field by field
 *
 * A test asks for one value and compares all of it: field(packet, 1,
 * "name") is the exact JSON text of "name" in the object at index 1 of the
 * packet's array, so "\"alice\"" matches "alice" and nothing longer,
 * shorter or nested elsewhere. A missing value is NULL, which
 * CHECK_EQ_STR reports as a failure.
 * ------------------------------------------------------------------------ */

/* A JSON value inside a received packet; p is NULL when there is none. */
struct span {
    const char *p;
    size_t n;
};

static const struct span none = {NULL, 0};

/* The JSON payload of a packet as the peer got it, "4" first: the array
 * of 42[...] or 431[...], the object of 40{...}. None unless sio_parse
 * takes the packet whole (one cut short by the recorder is not). */
static inline struct span payload(const char *packet)
{
    struct sio_packet pkt;
    const char *why;
    if (packet[0] != '4' ||
        sio_parse(packet + 1, strlen(packet) - 1, &pkt, &why) != 0)
        return none;
    return (struct span){pkt.data, pkt.data_len};
}

/* Element i of the array v, counting from 0. */
static inline struct span at(struct span v, int i)
{
    size_t pos = 0;
    struct span e;
    for (int k = 0; v.p && json_array_next(v.p, v.n, &pos, &e.p, &e.n) == 1; k++) {
        if (k == i)
            return e;
    }
    return none;
}

/* The value of key in the object v. */
static inline struct span get(struct span v, const char *key)
{
    struct span e;
    if (!v.p || json_get(v.p, v.n, key, &e.p, &e.n) != 0)
        return none;
    return e;
}

/* Elements in the array v, or -1 if v is not a well-formed array. */
static inline int count(struct span v)
{
    size_t pos = 0;
    struct span e;
    int k = 0, r;
    if (!v.p)
        return -1;
    while ((r = json_array_next(v.p, v.n, &pos, &e.p, &e.n)) == 1)
        k++;
    return r == 0 ? k : -1;
}

static inline enum json_type type_of(struct span v)
{
    return v.p ? json_type_of(v.p, v.n) : JSON_NONE;
}

/* A NUL-terminated copy of s in one of eight static buffers, used in
 * turn, so that a CHECK can compare two. */
static inline const char *keep(const char *s, size_t n)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%.*s", (int)n, s);
    return b;
}

/* v's JSON text, or NULL if there is no value. */
static inline const char *text(struct span v)
{
    return v.p ? keep(v.p, v.n) : NULL;
}

/* s as a JSON string: quoted("ab") is "\"ab\"" (s needs no escapes). */
static inline const char *quoted(const char *s)
{
    char q[128];
    int n = snprintf(q, sizeof q, "\"%s\"", s);
    return keep(q, (size_t)n);
}

/* The JSON text of key in the object at index i of the packet's array. */
static inline const char *field(const char *packet, int i, const char *key)
{
    return text(get(at(payload(packet), i), key));
}

/* The last EVENT "name" the peer got on "/" (42["name",...]), or "". */
static inline const char *last_event(const struct peer *p, const char *name)
{
    for (int i = p->nframes - 1; i >= 0; i--) {
        const char *got = text(at(payload(p->text[i]), 0));
        if (starts_with(p->text[i], "42[") && got && strcmp(got, quoted(name)) == 0)
            return p->text[i];
    }
    return "";
}

/* The session id the peer's CONNECT to "/" was answered with (40{"sid":
 * ...}), as JSON text: the userId the chat gives that peer. */
static inline const char *sid(const struct peer *p)
{
    for (int i = 0; i < p->nframes; i++) {
        if (starts_with(p->text[i], "40{"))
            return text(get(payload(p->text[i]), "sid"));
    }
    return NULL;
}


#endif
