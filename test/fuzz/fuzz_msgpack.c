/* fuzz_msgpack.c -- libFuzzer harness: the msgpack reader, the bridge to
 * JSON and back, and the broadcast codec.
 * SPDX-License-Identifier: MIT
 *
 * The input, in a heap block of exactly its size, is read three ways.
 *   1. As msgpack, by mp_to_json. Checked: on refusal the output is left
 *      as it was; on success the length is inside the input and agrees
 *      with mp_skip, every attachment lies inside the value, and the text
 *      is JSON that json_scan accepts with exactly those placeholders.
 *      Then mp_from_json turns the text back into msgpack, and mp_to_json
 *      of that must give the very same text and the same attachments.
 *   2. As a broadcast, by mp_broadcast_decode. On success every string and
 *      list it hands out lies inside the input, data is a JSON array that
 *      starts with a string, and the message re-encoded by
 *      mp_broadcast_encode decodes to the same data, nsp and lists.
 *   3. As JSON text, by mp_from_json with three attachments on hand. On
 *      success mp_to_json reads the msgpack whole, and its text turns back
 *      into the same msgpack bytes.
 */
#include "../../msgpack.h"

#include <stdlib.h>
#include <string.h>

/* A heap block of exactly n bytes, so ASan sees a read past its end. */
static uint8_t *exact(const void *src, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        abort();
    if (src && n)
        memcpy(p, src, n);
    return p;
}

static bool inside(const void *p, size_t len, const uint8_t *buf, size_t n)
{
    const uint8_t *q = p;
    return q >= buf && len <= n && q - buf <= (ptrdiff_t)(n - len);
}

static bool same_bins(const struct hub_blob *a, const struct hub_blob *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].len != b[i].len || (a[i].len && memcmp(a[i].data, b[i].data, a[i].len)))
            return false;
    }
    return true;
}

static void check_to_json(const uint8_t *buf, size_t size)
{
    struct jbuf json = {0}, mp = {0}, again = {0};
    struct hub_blob bins[SIO_MAX_ATTACHMENTS], bins2[SIO_MAX_ATTACHMENTS];
    size_t nbins, nbins2;
    const char *why = NULL;
    long r = mp_to_json(buf, size, &json, bins, &nbins, &why);
    long skip = mp_skip(buf, size, &why);
    if (r == MP_ERROR) {
        if (!why || json.len != 0)
            abort();
        jb_free(&json);
        return;
    }
    if (r <= 0 || (size_t)r > size || skip != r || nbins > SIO_MAX_ATTACHMENTS)
        abort();
    for (size_t i = 0; i < nbins; i++) {
        if (!inside(bins[i].data, bins[i].len, buf, (size_t)r))
            abort();
    }
    if (json_scan(json.p, json.len, (int)nbins) != (long)json.len)
        abort();
    if (mp_from_json(json.p, json.len, bins, nbins, &mp, &why) != 0)
        abort();
    if (mp_to_json((const uint8_t *)mp.p, mp.len, &again, bins2, &nbins2, &why) != (long)mp.len)
        abort();
    if (again.len != json.len || memcmp(again.p, json.p, json.len) != 0)
        abort();
    if (nbins2 != nbins || !same_bins(bins, bins2, nbins))
        abort();
    jb_free(&again);
    jb_free(&mp);
    jb_free(&json);
}

/* s as a NUL-terminated copy, or NULL if it holds a NUL. */
static char *cstr(const struct mp_str *s)
{
    if (memchr(s->p, 0, s->len))
        return NULL;
    char *c = (char *)exact(NULL, s->len + 1);
    memcpy(c, s->p, s->len);
    c[s->len] = '\0';
    return c;
}

/* Every string of l, inside buf, as C strings in names (NULL: a NUL). */
static size_t list_names(const struct mp_list *l, const uint8_t *buf, size_t n,
                         char **names)
{
    size_t pos = 0, k = 0;
    struct mp_str s;
    int r;
    while ((r = mp_list_next(l, &pos, &s)) == 1) {
        if (!inside(s.p, s.len, buf, n) || k == l->count)
            abort();
        names[k++] = cstr(&s);
    }
    if (r != 0 || k != l->count)
        abort();
    return k;
}

static void check_broadcast(const uint8_t *buf, size_t size)
{
    struct jbuf json = {0};
    struct mp_broadcast b;
    const char *why = NULL;
    if (mp_broadcast_decode(buf, size, &json, &b, &why) != 0) {
        if (!why || json.len != 0)
            abort();
        jb_free(&json);
        return;
    }
    if (!inside(b.uid.p, b.uid.len, buf, size) ||
        !(inside(b.nsp.p, b.nsp.len, buf, size) || (b.nsp.len == 1 && b.nsp.p[0] == '/')))
        abort();
    if (json_type_of(b.data, b.data_len) != JSON_ARRAY ||
        json_scan(b.data, b.data_len, (int)b.nbins) != (long)b.data_len)
        abort();
    size_t pos = 0;
    const char *v;
    size_t vlen;
    if (json_array_next(b.data, b.data_len, &pos, &v, &vlen) != 1 ||
        json_type_of(v, vlen) != JSON_STRING)
        abort();

    /* Publish it again; it must read back the same. */
    char event[4096], *uid = cstr(&b.uid), *nsp = cstr(&b.nsp);
    size_t elen;
    char **rooms = calloc(b.rooms.count + 1, sizeof *rooms);
    char **except = calloc(b.except.count + 1, sizeof *except);
    if (!rooms || !except)
        abort();
    size_t nrooms = list_names(&b.rooms, buf, size, rooms);
    size_t nexcept = list_names(&b.except, buf, size, except);
    bool names_ok = uid && nsp && json_string(v, vlen, event, sizeof event - 1, &elen) > 0;
    for (size_t k = 0; k < nrooms; k++)
        names_ok = names_ok && rooms[k];
    for (size_t k = 0; k < nexcept; k++)
        names_ok = names_ok && except[k];
    if (names_ok) {
        event[elen] = '\0';
        /* The arguments: after the name's comma, before the ']'. */
        size_t i = pos + (size_t)json_skip_ws(b.data + pos, b.data_len - pos);
        if (b.data[i] == ',')
            i++;
        struct mp_publish m = {uid, nsp, event, {b.data + i, b.data_len - 1 - i, b.bins, b.nbins},
                               (const char *const *)rooms, nrooms,
                               (const char *const *)except, nexcept,
                               b.is_volatile, b.no_compress};
        struct jbuf out = {0}, json2 = {0};
        struct mp_broadcast b2;
        if (mp_broadcast_encode(&out, &m, &why) != 0)
            abort();
        if (mp_broadcast_decode((const uint8_t *)out.p, out.len, &json2, &b2, &why) != 0)
            abort();
        if (b2.data_len != b.data_len || memcmp(b2.data, b.data, b.data_len) != 0 ||
            b2.nbins != b.nbins || !same_bins(b.bins, b2.bins, b.nbins) ||
            b2.nsp.len != b.nsp.len || memcmp(b2.nsp.p, b.nsp.p, b.nsp.len) != 0 ||
            b2.uid.len != b.uid.len || memcmp(b2.uid.p, b.uid.p, b.uid.len) != 0 ||
            b2.rooms.count != nrooms || b2.except.count != nexcept ||
            b2.is_volatile != b.is_volatile || b2.no_compress != b.no_compress)
            abort();
        jb_free(&json2);
        jb_free(&out);
    }
    for (size_t k = 0; k < nrooms; k++)
        free(rooms[k]);
    for (size_t k = 0; k < nexcept; k++)
        free(except[k]);
    free(rooms);
    free(except);
    free(uid);
    free(nsp);
    jb_free(&json);
}

static void check_from_json(const uint8_t *buf, size_t size)
{
    static const uint8_t a[] = {1, 2, 3}, b[] = {0xff}, c[] = {0};
    const struct hub_blob bins[] = {{a, 3}, {b, 1}, {c, 0}};
    struct jbuf mp = {0}, json = {0}, mp2 = {0};
    struct hub_blob out_bins[SIO_MAX_ATTACHMENTS];
    size_t nbins;
    const char *why = NULL;
    if (mp_from_json((const char *)buf, size, bins, 3, &mp, &why) != 0) {
        if (!why || mp.len != 0)
            abort();
        jb_free(&mp);
        return;
    }
    if (mp_to_json((const uint8_t *)mp.p, mp.len, &json, out_bins, &nbins, &why) != (long)mp.len)
        abort();
    /* The text is canonical, so it makes the same msgpack again. */
    if (mp_from_json(json.p, json.len, out_bins, nbins, &mp2, &why) != 0 ||
        mp2.len != mp.len || memcmp(mp2.p, mp.p, mp.len) != 0)
        abort();
    jb_free(&mp2);
    jb_free(&json);
    jb_free(&mp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = exact(data, size);
    check_to_json(buf, size);
    check_broadcast(buf, size);
    check_from_json(buf, size);
    free(buf);
    return 0;
}
