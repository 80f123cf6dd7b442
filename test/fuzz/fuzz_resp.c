/* fuzz_resp.c -- libFuzzer harness: the RESP2 reply decoder, the pub/sub
 * classifier and the command encoder.
 * SPDX-License-Identifier: MIT
 *
 * The input is what a Redis connection might deliver, copied into a heap
 * block of exactly its size and decoded reply by reply until "need more"
 * or an error. Checked for each reply: every string lies inside the
 * reply's bytes, in order; the spans add up; re-encoding the values gives
 * back exactly the bytes the reply took (each value has one spelling);
 * the same bytes less their last one need more; decoding with a small
 * bulk cap agrees, or fails for that cap; a push's fields point inside
 * the reply. An array of bulk strings is a command's shape, so it is
 * encoded with resp_command, which must give back the very same bytes,
 * and decoded again. Last, the input cut into arguments is encoded as a
 * command and decoded back to those arguments.
 */
#include "../../resp.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_CAP 16 /* a --max-message far below RESP_MAX_BULK */

/* A heap block of exactly n bytes, so ASan sees a read past its end. */
static char *exact(const void *src, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (!p)
        abort();
    if (src && n)
        memcpy(p, src, n);
    else if (n == 0)
        p[0] = 0;
    return p;
}

/* Every string of r inside p[0..used), in order; spans that add up. */
static void check_table(const struct resp_reply *r, const char *p, size_t used)
{
    if (r->n < 1 || r->n > RESP_MAX_ELEMS || r->v[0].span != r->n)
        abort();
    const char *last = p;
    for (size_t i = 0; i < r->n; i++) {
        const struct resp_value *v = &r->v[i];
        bool stringy = v->type == RESP_T_SIMPLE || v->type == RESP_T_ERROR ||
                       v->type == RESP_T_BULK;
        if (stringy != (v->str != NULL))
            abort();
        if (v->str) {
            if (v->str <= last || v->str + v->len > p + used)
                abort();
            last = v->str + v->len;
        } else if (v->len != 0) {
            abort();
        }
        if (v->type == RESP_T_ARRAY) {
            size_t sum = 1, j = i + 1;
            for (size_t e = 0; e < v->nelems; e++) {
                if (j >= r->n)
                    abort();
                sum += r->v[j].span;
                j += r->v[j].span;
            }
            if (v->span != sum || i + sum > r->n)
                abort();
        } else if (v->span != 1 || v->nelems != 0) {
            abort();
        }
    }
}

/* Re-encode r, the reply that took p[0..used), and compare byte for byte.
 * A nil is spelled "$-1" or "*-1"; the input says which. */
static void check_reencodes(const struct resp_reply *r, const char *p,
                            size_t used)
{
    char *out = exact(NULL, used);
    size_t o = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct resp_value *v = &r->v[i];
        char head[32];
        int h = 0;
        switch (v->type) {
        case RESP_T_SIMPLE:
        case RESP_T_ERROR:
            h = snprintf(head, sizeof head, "%c", v->type);
            break;
        case RESP_T_INTEGER:
            h = snprintf(head, sizeof head, ":%lld\r\n", (long long)v->integer);
            break;
        case RESP_T_BULK:
            h = snprintf(head, sizeof head, "$%zu\r\n", v->len);
            break;
        case RESP_T_ARRAY:
            h = snprintf(head, sizeof head, "*%zu\r\n", v->nelems);
            break;
        case RESP_T_NIL:
            if (o >= used || (p[o] != '$' && p[o] != '*'))
                abort();
            h = snprintf(head, sizeof head, "%c-1\r\n", p[o]);
            break;
        default:
            abort();
        }
        if (h <= 0 || used - o < (size_t)h)
            abort();
        memcpy(out + o, head, (size_t)h);
        o += (size_t)h;
        if (v->str) {
            if (used - o < v->len + 2)
                abort();
            memcpy(out + o, v->str, v->len);
            memcpy(out + o + v->len, "\r\n", 2);
            o += v->len + 2;
        }
    }
    if (o != used || memcmp(out, p, used) != 0)
        abort();
    free(out);
}

/* A push's fields, when there, lie inside p[0..used). */
static void check_push(const struct resp_reply *r, const char *p, size_t used)
{
    struct resp_push push;
    const char *why = NULL;
    int kind = resp_pubsub(r, &push, &why);
    if (kind == RESP_ERROR) {
        if (!why || push.kind != RESP_PUSH_NONE)
            abort();
        return;
    }
    if (kind < RESP_PUSH_NONE || kind > RESP_PUSH_PONG || push.kind != kind)
        abort();
    const struct resp_bytes *f[3] = {&push.pattern, &push.channel, &push.payload};
    for (int i = 0; i < 3; i++) {
        if (f[i]->ptr == NULL ? f[i]->len != 0
                              : f[i]->ptr < p || f[i]->ptr + f[i]->len > p + used)
            abort();
    }
    if ((kind == RESP_PUSH_MESSAGE || kind == RESP_PUSH_PMESSAGE) &&
        (push.channel.ptr == NULL || push.payload.ptr == NULL))
        abort();
    if (kind == RESP_PUSH_PMESSAGE && push.pattern.ptr == NULL)
        abort();
    if (push.count < 0)
        abort();
}

/* An array of bulk strings is a command's shape: resp_command must write
 * exactly the bytes it came from, and they must decode to it again. */
static void check_as_command(const struct resp_reply *r, const char *p,
                             size_t used)
{
    if (r->v[0].type != RESP_T_ARRAY || r->v[0].nelems == 0 ||
        r->n != 1 + r->v[0].nelems)
        return;
    const char *argv[RESP_MAX_ELEMS];
    size_t lens[RESP_MAX_ELEMS];
    int argc = (int)r->v[0].nelems;
    for (int i = 0; i < argc; i++) {
        if (r->v[1 + i].type != RESP_T_BULK)
            return;
        argv[i] = r->v[1 + i].str;
        lens[i] = r->v[1 + i].len;
    }
    size_t n = resp_command_len(argc, argv, lens);
    if (n != used)
        abort();
    char *out = exact(NULL, n);
    if (resp_command(out, argc, argv, lens) != n || memcmp(out, p, n) != 0)
        abort();
    struct resp_reply again;
    const char *why = NULL;
    if (resp_parse(out, n, RESP_MAX_BULK, &again, &why) != (ptrdiff_t)n ||
        again.n != r->n)
        abort();
    free(out);
}

static void check_stream(const uint8_t *data, size_t size)
{
    char *buf = exact(data, size);
    size_t pos = 0;
    for (;;) {
        struct resp_reply r, small;
        const char *why = NULL, *small_why = NULL;
        ptrdiff_t got = resp_parse(buf + pos, size - pos, RESP_MAX_BULK, &r, &why);
        ptrdiff_t capped = resp_parse(buf + pos, size - pos, SMALL_CAP, &small,
                                      &small_why);
        if (capped != got &&
            !(capped == RESP_ERROR && strcmp(small_why, "bulk string too long") == 0))
            abort();
        if (got == RESP_ERROR && (!why || r.n != 0))
            abort();
        if (got <= 0) {
            if (got != RESP_ERROR && got != RESP_NEED_MORE)
                abort();
            if (r.n != 0)
                abort();
            break;
        }
        size_t used = (size_t)got;
        if (used > size - pos)
            abort();
        const char *p = buf + pos;
        check_table(&r, p, used);
        check_reencodes(&r, p, used);
        check_push(&r, p, used);
        check_as_command(&r, p, used);

        /* One byte short, at the end of its own block: need more. */
        char *cut = exact(p, used - 1);
        struct resp_reply c;
        if (resp_parse(cut, used - 1, RESP_MAX_BULK, &c, &why) != RESP_NEED_MORE)
            abort();
        free(cut);
        pos += used;
    }
    free(buf);
}

/* The input after its first byte, split at that byte into arguments,
 * encoded as a command and decoded back. */
static void check_command(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    char *text = exact(data + 1, size - 1);
    const char *argv[RESP_MAX_ELEMS - 1];
    size_t lens[RESP_MAX_ELEMS - 1];
    int argc = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size - 1 && argc < RESP_MAX_ELEMS - 1; i++) {
        if (i == size - 1 || (uint8_t)text[i] == data[0]) {
            argv[argc] = text + start;
            lens[argc] = i - start;
            argc++;
            start = i + 1;
        }
    }
    size_t n = resp_command_len(argc, argv, lens);
    char *out = exact(NULL, n);
    if (resp_command(out, argc, argv, lens) != n)
        abort();
    struct resp_reply r;
    const char *why = NULL;
    if (resp_parse(out, n, RESP_MAX_BULK, &r, &why) != (ptrdiff_t)n ||
        r.n != 1 + (size_t)argc || r.v[0].type != RESP_T_ARRAY)
        abort();
    for (int i = 0; i < argc; i++) {
        const struct resp_value *v = &r.v[1 + i];
        if (v->type != RESP_T_BULK || v->len != lens[i] ||
            (lens[i] && memcmp(v->str, argv[i], lens[i]) != 0))
            abort();
    }
    free(out);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_stream(data, size);
    check_command(data, size);
    return 0;
}
