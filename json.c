/* json.c -- a JSON scanner that validates without building a tree
 * SPDX-License-Identifier: MIT
 *
 * Socket.IO carries event arguments as JSON text. The hub never needs a
 * tree of them: it must know the text is valid, find the event name, and
 * hand the rest to a handler untouched. So this file scans: json_scan()
 * walks one value and says where it ends, json_string() unescapes one
 * string (json_cstring() into a C string, json_get_cstring() by key),
 * json_get() finds a key in an object. None of them allocate or
 * recurse; nesting is tracked in a fixed stack of JSON_MAX_DEPTH levels,
 * so 10,000 opening brackets cost one refusal, not a crashed stack.
 *
 * json_scan also polices Socket.IO's binary placeholders: an object with
 * a "_placeholder" key must be {"_placeholder":true,"num":N} with N naming
 * one of the attachments that really came (socket.io-parser's CVE-2022-2421
 * was type confusion on exactly these objects).
 *
 * The builder half (jb_*) writes JSON with every string escaped, so no
 * user text is ever pasted into a reply by sprintf.
 *
 * References: RFC 8259 §2 (grammar), §6 (numbers), §7 (strings, escapes,
 * surrogate pairs), §9 (parsers may limit nesting depth); RFC 3629 (UTF-8).
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* ========================================================================
 * Scanning
 * ======================================================================== */

/* Offset of the first byte in p[0..n) that is not JSON white space. */
long json_skip_ws(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return (long)i;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Read the 4 hex digits of a \u escape at p. Returns 0..0xFFFF or -1. */
static long hex4(const char *p, size_t n)
{
    if (n < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Scan the string token starting at p[0] == '"'. Returns its length
 * including both quotes, or JSON_ERROR for a raw control character, a bad
 * escape or a missing closing quote (RFC 8259 §7). Lone surrogates in \u
 * escapes are legal JSON syntax and pass here; json_string refuses them. */
static long scan_string(const char *p, size_t n)
{
    size_t i = 1;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"')
            return (long)(i + 1);
        if (c < 0x20)
            return JSON_ERROR;
        if (c == '\\') {
            if (i + 1 >= n)
                return JSON_ERROR;
            char e = p[i + 1];
            if (e == 'u') {
                if (hex4(p + i + 2, n - i - 2) < 0)
                    return JSON_ERROR;
                i += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0')
                return JSON_ERROR;
            i += 2;
            continue;
        }
        i++;
    }
    return JSON_ERROR;
}

/* number = [ "-" ] int [ frac ] [ exp ] (RFC 8259 §6). Returns length. */
static long scan_number(const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p[i] == '-')
        i++;
    if (i >= n)
        return JSON_ERROR;
    if (p[i] == '0') {
        i++;
    } else if (p[i] >= '1' && p[i] <= '9') {
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
    } else {
        return JSON_ERROR;
    }
    if (i < n && p[i] == '.') {
        size_t start = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start)
            return JSON_ERROR;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t start = i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start)
            return JSON_ERROR;
    }
    return (long)i;
}

/* A string, number or literal at p. Returns its length or JSON_ERROR. */
static long scan_scalar(const char *p, size_t n)
{
    if (n == 0)
        return JSON_ERROR;
    if (p[0] == '"')
        return scan_string(p, n);
    if (p[0] == '-' || (p[0] >= '0' && p[0] <= '9'))
        return scan_number(p, n);
    static const char *const lits[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t len = strlen(lits[k]);
        if (n >= len && memcmp(p, lits[k], len) == 0)
            return (long)len;
    }
    return JSON_ERROR;
}

/* Which key of an object was read last, for the placeholder check. */
enum key_kind { KEY_OTHER, KEY_PLACEHOLDER, KEY_NUM };

/* One open container on the scanner's stack. */
struct level {
    char close;            /* ']' or '}' */
    enum key_kind key;     /* object: what the current key is */
    bool has_placeholder;  /* object: a "_placeholder" key was seen */
    bool placeholder_true; /* ... and its value was true */
    long long num;         /* ... "num" as an integer, or -1 */
};

/* Unescape a key to compare it with the names that matter. Keys longer
 * than the buffer cannot be one of them. */
static enum key_kind key_kind_of(const char *p, size_t n)
{
    char k[16];
    size_t klen;
    if (json_string(p, n, k, sizeof k, &klen) < 0)
        return KEY_OTHER;
    if (klen == 12 && memcmp(k, "_placeholder", 12) == 0)
        return KEY_PLACEHOLDER;
    if (klen == 3 && memcmp(k, "num", 3) == 0)
        return KEY_NUM;
    return KEY_OTHER;
}

/* Validate one JSON value at p (leading white space allowed) and return
 * the offset just past it, or JSON_ERROR. placeholders is the number of
 * binary attachments the packet announced: objects with a "_placeholder"
 * key must then be {"_placeholder":true,"num":N} with 0 <= N <
 * placeholders, and with placeholders == 0 no such object may appear at
 * all. Pass -1 to scan plain JSON with no such rule. */
long json_scan(const char *p, size_t n, int placeholders)
{
    struct level stack[JSON_MAX_DEPTH];
    int depth = 0;
    size_t i = (size_t)json_skip_ws(p, n);

    for (;;) {
        /* A value starts at p[i]. */
        if (i >= n)
            return JSON_ERROR;
        if (p[i] == '[' || p[i] == '{') {
            if (depth == JSON_MAX_DEPTH)
                return JSON_ERROR;
            struct level *lv = &stack[depth++];
            memset(lv, 0, sizeof *lv);
            lv->close = p[i] == '[' ? ']' : '}';
            lv->num = -1;
            i++;
            i += (size_t)json_skip_ws(p + i, n - i);
            if (i < n && p[i] == lv->close) {
                depth--;
                i++;
                goto after_value;
            }
            if (lv->close == ']')
                continue;
            goto read_key;
        }
        {
            long len = scan_scalar(p + i, n - i);
            if (len < 0)
                return JSON_ERROR;
            if (depth > 0 && stack[depth - 1].close == '}') {
                struct level *lv = &stack[depth - 1];
                if (lv->key == KEY_PLACEHOLDER)
                    lv->placeholder_true = (len == 4 && memcmp(p + i, "true", 4) == 0);
                int64_t v;
                if (lv->key == KEY_NUM && json_int(p + i, (size_t)len, 1 << 30, &v) == 0)
                    lv->num = v;
            }
            i += (size_t)len;
        }

    after_value:
        if (depth == 0)
            return (long)i;
        i += (size_t)json_skip_ws(p + i, n - i);
        if (i >= n)
            return JSON_ERROR;
        if (p[i] == stack[depth - 1].close) {
            struct level *lv = &stack[--depth];
            i++;
            if (lv->close == '}' && lv->has_placeholder && placeholders >= 0) {
                if (!lv->placeholder_true || lv->num < 0 || lv->num >= placeholders)
                    return JSON_ERROR;
            }
            goto after_value;
        }
        if (p[i] != ',')
            return JSON_ERROR;
        i++;
        i += (size_t)json_skip_ws(p + i, n - i);
        if (stack[depth - 1].close == ']')
            continue;

    read_key:
        /* member = string ":" value */
        if (i >= n || p[i] != '"')
            return JSON_ERROR;
        {
            long klen = scan_string(p + i, n - i);
            if (klen < 0)
                return JSON_ERROR;
            struct level *lv = &stack[depth - 1];
            lv->key = key_kind_of(p + i, (size_t)klen);
            if (lv->key == KEY_PLACEHOLDER)
                lv->has_placeholder = true;
            i += (size_t)klen;
        }
        i += (size_t)json_skip_ws(p + i, n - i);
        if (i >= n || p[i] != ':')
            return JSON_ERROR;
        i++;
        i += (size_t)json_skip_ws(p + i, n - i);
    }
}

/* The type of the value at p, judged by its first byte. */
enum json_type json_type_of(const char *p, size_t n)
{
    size_t i = (size_t)json_skip_ws(p, n);
    if (i >= n)
        return JSON_NONE;
    switch (p[i]) {
    case '{': return JSON_OBJECT;
    case '[': return JSON_ARRAY;
    case '"': return JSON_STRING;
    case 't': return JSON_TRUE;
    case 'f': return JSON_FALSE;
    case 'n': return JSON_NULL;
    default: return JSON_NUMBER;
    }
}

/* Append code point cp to out as UTF-8 (RFC 3629 §3). Returns the bytes
 * written, or 0 if they do not fit in cap - *len. */
static size_t put_utf8(char *out, size_t cap, size_t len, uint32_t cp)
{
    unsigned char b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | cp >> 6);
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | cp >> 12);
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | cp >> 18);
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    if (cap - len < k)
        return 0;
    memcpy(out + len, b, k);
    return k;
}

/* Unescape the string token at p (p[0] == '"') into out, which holds cap
 * bytes; *out_len gets the bytes written (no NUL is added). Returns the
 * token's length including quotes, or JSON_ERROR if it is malformed, if
 * it does not fit, or if it holds what a C string or UTF-8 cannot: a
 * \u0000, or a \u surrogate that is not half of a proper pair (§7). */
long json_string(const char *p, size_t n, char *out, size_t cap,
                 size_t *out_len)
{
    size_t i = 1, o = 0;
    *out_len = 0;
    if (n == 0 || p[0] != '"')
        return JSON_ERROR;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"') {
            *out_len = o;
            return (long)(i + 1);
        }
        if (c < 0x20)
            return JSON_ERROR;
        if (c != '\\') {
            if (o == cap)
                return JSON_ERROR;
            out[o++] = (char)c;
            i++;
            continue;
        }
        if (i + 1 >= n)
            return JSON_ERROR;
        char e = p[i + 1];
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default: return JSON_ERROR;
        }
        if (simple) {
            if (o == cap)
                return JSON_ERROR;
            out[o++] = simple;
            i += 2;
            continue;
        }
        long cp = hex4(p + i + 2, n - i - 2);
        i += 6;
        if (cp < 0 || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
            return JSON_ERROR;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* A high surrogate must be followed by \u and a low one. */
            if (i + 1 >= n || p[i] != '\\' || p[i + 1] != 'u')
                return JSON_ERROR;
            long lo = hex4(p + i + 2, n - i - 2);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return JSON_ERROR;
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        size_t k = put_utf8(out, cap, o, (uint32_t)cp);
        if (k == 0)
            return JSON_ERROR;
        o += k;
    }
    return JSON_ERROR;
}

/* The JSON value v[0..n), which must be a string, unescaped into out as
 * a C string (cap bytes, its NUL included). Returns its length, or -1,
 * with out "", if v is NULL, not a string, or too long for out. */
long json_cstring(const char *v, size_t n, char *out, size_t cap)
{
    size_t len;
    if (cap == 0)
        return -1;
    if (!v || json_type_of(v, n) != JSON_STRING ||
        json_string(v, n, out, cap - 1, &len) < 0) {
        out[0] = '\0';
        return -1;
    }
    out[len] = '\0';
    return (long)len;
}

/* The string field key of the object obj[0..n) into out, as
 * json_cstring() does; -1 (out "") also when there is no such key. */
long json_get_cstring(const char *obj, size_t n, const char *key, char *out,
                      size_t cap)
{
    const char *v;
    size_t vn;
    if (json_get(obj, n, key, &v, &vn) != 0)
        v = NULL;
    return json_cstring(v, vn, out, cap);
}

/* Find key in the object at obj (leading white space allowed). Returns 0
 * and points *val at the value (white space trimmed), or -1 if the key is
 * absent, obj is not an object, or the text is malformed. Keys are
 * compared after unescaping; the first match wins. */
int json_get(const char *obj, size_t n, const char *key, const char **val,
             size_t *val_len)
{
    size_t pos = 0, want = strlen(key), klen, vlen;
    const char *k, *v;
    while (json_object_next(obj, n, &pos, &k, &klen, &v, &vlen) == 1) {
        char name[64];
        size_t nlen;
        /* A key too long to be ours, or that does not unescape, is not. */
        if (json_string(k, klen, name, sizeof name, &nlen) > 0 && nlen == want &&
            memcmp(name, key, want) == 0) {
            *val = v;
            *val_len = vlen;
            return 0;
        }
    }
    return -1;
}

/* Step through the members of the object at obj, as json_array_next does
 * an array's elements. *pos starts at 0; each call that returns 1 sets
 * *key to the member's name as written (the JSON string, quotes and
 * escapes included) and *val to its value. Returns 0 after the last
 * member, -1 if the text is not a well-formed object. */
int json_object_next(const char *obj, size_t n, size_t *pos, const char **key,
                     size_t *key_len, const char **val, size_t *val_len)
{
    size_t i = *pos;
    if (i == 0) {
        i = (size_t)json_skip_ws(obj, n);
        if (i >= n || obj[i] != '{')
            return -1;
        i++;
        i += (size_t)json_skip_ws(obj + i, n - i);
        if (i < n && obj[i] == '}') {
            *pos = i + 1;
            return 0;
        }
    } else {
        i += (size_t)json_skip_ws(obj + i, n - i);
        if (i < n && obj[i] == '}')
            return 0;
        if (i >= n || obj[i] != ',')
            return -1;
        i++;
        i += (size_t)json_skip_ws(obj + i, n - i);
    }
    if (i >= n || obj[i] != '"')
        return -1;
    long kl = scan_string(obj + i, n - i);
    if (kl < 0)
        return -1;
    *key = obj + i;
    *key_len = (size_t)kl;
    i += (size_t)kl;
    i += (size_t)json_skip_ws(obj + i, n - i);
    if (i >= n || obj[i] != ':')
        return -1;
    i++;
    i += (size_t)json_skip_ws(obj + i, n - i);
    long vl = json_scan(obj + i, n - i, -1);
    if (vl < 0)
        return -1;
    *val = obj + i;
    *val_len = (size_t)vl;
    *pos = i + (size_t)vl;
    return 1;
}

/* Step through the array at arr. *pos starts at 0; each call that returns
 * 1 sets *val to the next element. Returns 0 after the last element, -1
 * if the text is not a well-formed array. */
int json_array_next(const char *arr, size_t n, size_t *pos, const char **val,
                    size_t *val_len)
{
    size_t i = *pos;
    if (i == 0) {
        i = (size_t)json_skip_ws(arr, n);
        if (i >= n || arr[i] != '[')
            return -1;
        i++;
        i += (size_t)json_skip_ws(arr + i, n - i);
        if (i < n && arr[i] == ']') {
            *pos = i + 1;
            return 0;
        }
    } else {
        i += (size_t)json_skip_ws(arr + i, n - i);
        if (i < n && arr[i] == ']')
            return 0;
        if (i >= n || arr[i] != ',')
            return -1;
        i++;
        i += (size_t)json_skip_ws(arr + i, n - i);
    }
    long vl = json_scan(arr + i, n - i, -1);
    if (vl < 0)
        return -1;
    *val = arr + i;
    *val_len = (size_t)vl;
    *pos = i + (size_t)vl;
    return 1;
}

/* Read p[0..n) as a whole non-negative integer no larger than max (which
 * must be >= 0), with no sign, fraction or exponent. Returns 0 and sets
 * *out, or -1. The bound is checked before each step, so 19 nines cannot
 * overflow on the way (a fuzzer found that they did). */
int json_int(const char *p, size_t n, int64_t max, int64_t *out)
{
    if (n == 0 || n > 19 || (n > 1 && p[0] == '0'))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        int digit = p[i] - '0';
        /* v * 10 + digit would pass max. The first test keeps max - digit
         * from going negative, where C's division rounds toward zero and
         * would let one digit too many through ((0 - 7) / 10 is 0). */
        if (digit > max || v > (max - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

/* ========================================================================
 * Building
 * ======================================================================== */

static void jb_reserve(struct jbuf *jb, size_t n)
{
    if (jb->oom || jb->cap - jb->len >= n)
        return;
    size_t cap = jb->cap ? jb->cap : 128;
    while (cap - jb->len < n) {
        if (cap > SIZE_MAX / 2) {
            jb->oom = true;
            return;
        }
        cap *= 2;
    }
    char *p = realloc(jb->p, cap);
    if (!p) {
        jb->oom = true;
        return;
    }
    jb->p = p;
    jb->cap = cap;
}

/* Append n bytes of ready-made JSON (or packet syntax) as they are. */
void jb_raw(struct jbuf *jb, const char *s, size_t n)
{
    jb_reserve(jb, n);
    if (jb->oom || n == 0)
        return;
    memcpy(jb->p + jb->len, s, n);
    jb->len += n;
}

/* Append a NUL-terminated literal as it is. */
void jb_lit(struct jbuf *jb, const char *s)
{
    jb_raw(jb, s, strlen(s));
}

/* Append s[0..n) as a JSON string, quoted and escaped (RFC 8259 §7):
 * quote, backslash and every control character. UTF-8 passes through. */
void jb_str(struct jbuf *jb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    jb_raw(jb, "\"", 1);
    size_t run = 0; /* bytes that need no escape, copied in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jb_raw(jb, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        jb_raw(jb, esc, elen);
    }
    jb_raw(jb, s + run, n - run);
    jb_raw(jb, "\"", 1);
}

/* Append an integer in decimal. */
void jb_int(struct jbuf *jb, long long v)
{
    char b[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        b[sizeof b - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b[sizeof b - 1 - n++] = '-';
    jb_raw(jb, b + sizeof b - n, n);
}

/* Empty jb but keep its memory, for the next text. */
void jb_reset(struct jbuf *jb)
{
    jb->len = 0;
    jb->oom = false;
}

/* Free the text and reset jb to empty. */
void jb_free(struct jbuf *jb)
{
    free(jb->p);
    memset(jb, 0, sizeof *jb);
}

/* Append count names as a JSON array of strings: ["a","b"]. */
void jb_strings(struct jbuf *jb, const char *const *names, size_t count)
{
    jb_lit(jb, "[");
    for (size_t k = 0; k < count; k++) {
        if (k > 0)
            jb_lit(jb, ",");
        jb_str(jb, names[k], strlen(names[k]));
    }
    jb_lit(jb, "]");
}

/* Append Socket.IO's data array for an event, ["event",arg,...]: event
 * as a string (NULL: none, an ack's array), then args[0..len), a list of
 * JSON values joined by commas as the hub holds them (left out when it
 * is only white space). */
void jb_event(struct jbuf *jb, const char *event, const char *args, size_t len)
{
    bool have = len > (size_t)json_skip_ws(args, len);
    jb_lit(jb, "[");
    if (event) {
        jb_str(jb, event, strlen(event));
        if (have)
            jb_lit(jb, ",");
    }
    if (have)
        jb_raw(jb, args, len);
    jb_lit(jb, "]");
}
