/* json.h -- a small JSON scanner and builder: the interface of json.c
 * SPDX-License-Identifier: MIT
 *
 * Error convention, for the whole file: scanners return the number of
 * bytes a value occupies (> 0) or JSON_ERROR (-1); they never allocate and
 * hand out pointers into the caller's text. The builder (struct jbuf)
 * allocates; it remembers a failed allocation in jb->oom instead of
 * returning it from every call, so building code stays readable, and the
 * caller checks jb->oom once at the end.
 */
#ifndef JSON_H
#define JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_ERROR (-1)
#define JSON_MAX_DEPTH 32 /* deeper nesting is refused as malformed */

enum json_type {
    JSON_NONE, JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_NUMBER,
    JSON_TRUE, JSON_FALSE, JSON_NULL
};

long json_skip_ws(const char *p, size_t n);
long json_scan(const char *p, size_t n, int placeholders);
enum json_type json_type_of(const char *p, size_t n);
long json_string(const char *p, size_t n, char *out, size_t cap,
                 size_t *out_len);
long json_cstring(const char *v, size_t n, char *out, size_t cap);
long json_get_cstring(const char *obj, size_t n, const char *key, char *out,
                      size_t cap);
int json_get(const char *obj, size_t n, const char *key, const char **val,
             size_t *val_len);
int json_array_next(const char *arr, size_t n, size_t *pos, const char **val,
                    size_t *val_len);
int json_object_next(const char *obj, size_t n, size_t *pos, const char **key,
                     size_t *key_len, const char **val, size_t *val_len);
int json_int(const char *p, size_t n, int64_t max, int64_t *out);

/* A growing output buffer for building JSON text. */
struct jbuf {
    char *p;    /* malloc'd text, not NUL-terminated; NULL until used */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    bool oom;   /* an allocation failed: the text is incomplete */
};

void jb_raw(struct jbuf *jb, const char *s, size_t n);
void jb_lit(struct jbuf *jb, const char *s);
void jb_str(struct jbuf *jb, const char *s, size_t n);
void jb_int(struct jbuf *jb, long long v);
void jb_strings(struct jbuf *jb, const char *const *names, size_t count);
void jb_event(struct jbuf *jb, const char *event, const char *args, size_t len);
void jb_reset(struct jbuf *jb);
void jb_free(struct jbuf *jb);

#endif
