/* http.c -- an HTTP/1.1 request parser with no I/O and no allocation
 * SPDX-License-Identifier: MIT
 *
 * wshub speaks just enough HTTP to serve static files and to read the
 * WebSocket opening handshake, which is an ordinary GET (RFC 6455 §4.1).
 * This file parses a request head into pointers into the caller's buffer,
 * in the manner of picohttpparser: call it again with more bytes until it
 * says the head is complete. It also decodes and normalises request paths
 * so that nothing outside the served folder can be named.
 *
 * It does not read request bodies (wshub accepts only GET and HEAD), chunked
 * encoding, or absolute-form targets; server.c answers those with an error.
 *
 * References: RFC 9112 §2.2 (message parsing, bare LF), §3 (request line),
 * §5 (field lines; obs-fold rejected, §5.2); RFC 9110 §5.6.2 (tokens),
 * §5.6.1 (lists), §15 (status codes); RFC 6585 §5 (431); RFC 3986 §2.1
 * (percent-encoding) and §5.2.4 (removing dot segments).
 */
#include "http.h"

#include <string.h>
#include <strings.h>

/* ========================================================================
 * Character classes
 * ======================================================================== */

/* RFC 9110 §5.6.2: tchar, the characters of a token such as a method or
 * a header name. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte that may never appear in a request head: control characters
 * other than tab, CR and LF, and DEL. A NUL is the classic example. */
static bool is_forbidden(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F;
}

/* ========================================================================
 * The request parser
 * ======================================================================== */

static int fail(struct http_request *req, int status, const char *why)
{
    req->status = status;
    req->why = why;
    return HTTP_ERROR;
}

/* Find the end of the line that starts at buf[from]. On success returns 1
 * and sets *content_end (before any CR) and *next (after the LF). Returns
 * 0 if the buffer ends first, -1 on a forbidden byte or a CR that is not
 * followed by LF. RFC 9112 §2.2 lets a recipient accept a bare LF as a
 * line end, and we do: some hand-typed clients (nc) send them. */
static int scan_line(const char *buf, size_t from, size_t len,
                     size_t *content_end, size_t *next)
{
    for (size_t i = from; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n') {
            *content_end = (i > from && buf[i - 1] == '\r') ? i - 1 : i;
            *next = i + 1;
            return 1;
        }
        if (c == '\r' && i + 1 < len && buf[i + 1] != '\n')
            return -1;
        if (is_forbidden(c))
            return -1;
    }
    return 0;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3) */
static int parse_request_line(const char *p, size_t n, struct http_request *req)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return fail(req, 400, "malformed method");
    req->method = p;
    req->method_len = i;
    i++;

    size_t t = i;
    while (i < n && p[i] > 0x20 && p[i] < 0x7F)
        i++;
    if (i == t || i >= n || p[i] != ' ')
        return fail(req, 400, "malformed request-target");
    req->target = p + t;
    req->target_len = i - t;
    i++;

    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. */
    if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 ||
        p[i + 5] < '0' || p[i + 5] > '9' || p[i + 6] != '.' ||
        p[i + 7] < '0' || p[i + 7] > '9')
        return fail(req, 400, "malformed HTTP version");
    if (p[i + 5] != '1')
        return fail(req, 505, "only HTTP/1.x is spoken here");
    req->minor_version = p[i + 7] - '0';
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5) */
static int parse_header_line(const char *p, size_t n, struct http_request *req)
{
    /* §5.2: a line starting with white space is obs-fold, which a server
     * may reject with 400; accepting it invites smuggling. */
    if (p[0] == ' ' || p[0] == '\t')
        return fail(req, 400, "obsolete line folding");
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    /* §5.1: no white space is allowed between the name and the colon. */
    if (i == 0 || i >= n || p[i] != ':')
        return fail(req, 400, "malformed header line");

    struct http_header *h = &req->headers[req->nheaders++];
    h->name = p;
    h->name_len = i;
    size_t v = i + 1;
    while (v < n && (p[v] == ' ' || p[v] == '\t'))
        v++;
    size_t end = n;
    while (end > v && (p[end - 1] == ' ' || p[end - 1] == '\t'))
        end--;
    h->value = p + v;
    h->value_len = end - v;
    return 0;
}

/* Parse the request head at buf[0..len). Returns the head's length (up to
 * and including the blank line), HTTP_NEED_MORE, or HTTP_ERROR with
 * req->status set: 400 for bad syntax, 414 for a request line over
 * HTTP_MAX_REQUEST_LINE, 431 for a head over HTTP_MAX_HEAD or more than
 * HTTP_MAX_HEADERS lines, 505 for HTTP/2 and beyond. Every pointer in req
 * points into buf. The same bytes always give the same answer, and a
 * prefix of a valid head always gives HTTP_NEED_MORE. */
int http_parse_request(const char *buf, size_t len, struct http_request *req)
{
    size_t end, next;
    memset(req, 0, offsetof(struct http_request, headers));
    req->status = 0;
    req->why = NULL;

    /* RFC 9112 §2.2: ignore empty lines before the request line. */
    size_t pos = 0;
    while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n') && pos < 4)
        pos++;

    int r = scan_line(buf, pos, len, &end, &next);
    if (r < 0)
        return fail(req, 400, "forbidden byte in request line");
    if (r == 0) {
        if (len - pos > HTTP_MAX_REQUEST_LINE)
            return fail(req, 414, "request line too long");
        return HTTP_NEED_MORE;
    }
    if (end - pos > HTTP_MAX_REQUEST_LINE)
        return fail(req, 414, "request line too long");
    if (parse_request_line(buf + pos, end - pos, req) != 0)
        return HTTP_ERROR;
    pos = next;

    for (;;) {
        r = scan_line(buf, pos, len, &end, &next);
        if (r < 0)
            return fail(req, 400, "forbidden byte in header");
        if (r == 0 || next > HTTP_MAX_HEAD) {
            if ((r == 0 ? len : next) > HTTP_MAX_HEAD)
                return fail(req, 431, "request head over 8 KiB");
            return HTTP_NEED_MORE;
        }
        if (end == pos)
            return (int)next; /* the blank line: the head is complete */
        if (req->nheaders == HTTP_MAX_HEADERS)
            return fail(req, 431, "more than 100 header lines");
        if (parse_header_line(buf + pos, end - pos, req) != 0)
            return HTTP_ERROR;
        pos = next;
    }
}

/* ========================================================================
 * Reading headers
 * ======================================================================== */

/* Find the header called name (case-insensitive, RFC 9110 §5.1). Returns
 * the first one or NULL; if count is not NULL it is set to how many there
 * are, so callers can refuse duplicates of headers that must be unique. */
const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name, int *count)
{
    const struct http_header *first = NULL;
    size_t n = strlen(name);
    int seen = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct http_header *h = &req->headers[i];
        if (h->name_len == n && strncasecmp(h->name, name, n) == 0) {
            if (!first)
                first = h;
            seen++;
        }
    }
    if (count)
        *count = seen;
    return first;
}

/* True if the comma-separated list (RFC 9110 §5.6.1) holds the item
 * token[0..tlen), compared case-insensitively. One pass, no backtracking:
 * linear in len whatever the input, so a header of 10,000 commas costs
 * 10,000 steps (the `ws` ReDoS of 2021 came from a regular expression
 * doing this job). */
bool http_has_token(const char *list, size_t len, const char *token,
                    size_t tlen)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
            i++;
        size_t start = i;
        while (i < len && list[i] != ',')
            i++;
        size_t stop = i;
        while (stop > start && (list[stop - 1] == ' ' || list[stop - 1] == '\t'))
            stop--;
        if (stop - start == tlen && strncasecmp(list + start, token, tlen) == 0)
            return true;
    }
    return false;
}

/* True if the request's method is exactly method (methods are
 * case-sensitive, RFC 9110 §9.1). */
bool http_method_is(const struct http_request *req, const char *method)
{
    size_t n = strlen(method);
    return req->method_len == n && memcmp(req->method, method, n) == 0;
}

/* Find a query parameter in a request-target ("/x?a=1&b=2"). Returns 0
 * and points *val at its raw value (not percent-decoded) or -1 if the
 * target has no such parameter. Names are compared exactly. */
int http_query_param(const char *target, size_t len, const char *name,
                     const char **val, size_t *val_len)
{
    const char *q = memchr(target, '?', len);
    if (!q)
        return -1;
    size_t nlen = strlen(name);
    const char *end = target + len;
    const char *p = q + 1;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0) {
            *val = eq ? eq + 1 : stop;
            *val_len = (size_t)(stop - *val);
            return 0;
        }
        p = stop + 1;
    }
    return -1;
}

/* ========================================================================
 * Paths
 * ======================================================================== */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Turn an origin-form request-target into a clean path in out (cap bytes,
 * NUL-terminated). The query is dropped, %XX escapes are decoded first
 * (RFC 3986 §2.1), and only then are "." and ".." segments resolved
 * (§5.2.4), so "%2e%2e%2f" and "..%2f" are caught like "../". The result
 * always starts with '/', has no "." or ".." segment and no "//", and
 * keeps a trailing '/' if there was one. Returns 0, or 400 for a bad
 * escape, a NUL byte or a target that is not a path, 403 for a path that
 * climbs above the root, 414 if out is too small. *why explains. */
int http_decode_path(const char *target, size_t len, char *out, size_t cap,
                     const char **why)
{
    size_t o = 0;
    if (len == 0 || target[0] != '/') {
        *why = "request-target is not a path";
        return 400;
    }
    for (size_t i = 0; i < len && target[i] != '?' && target[i] != '#'; i++) {
        char c = target[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(target[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(target[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *why = "bad percent-escape in path";
                return 400;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
            if (c == '\0') {
                *why = "NUL byte in path";
                return 400;
            }
        }
        if (o + 2 > cap) {
            *why = "path too long";
            return 414;
        }
        out[o++] = c;
    }
    out[o] = '\0';

    /* Resolve segments in place. w is the write position; each segment
     * read at r is copied, skipped ("" and "."), or undoes the last one
     * (".."). Writing never overtakes reading, so in place is safe. */
    size_t w = 0, r = 0;
    while (r < o) {
        size_t s = r + 1; /* out[r] is '/' */
        size_t e = s;
        while (e < o && out[e] != '/')
            e++;
        size_t n = e - s;
        bool last = (e == o);
        if (n == 2 && out[s] == '.' && out[s + 1] == '.') {
            if (w == 0) {
                *why = "path climbs above the root";
                return 403;
            }
            while (w > 0 && out[w - 1] != '/')
                w--;
            w--; /* drop the '/' that began the removed segment */
            if (last)
                out[w++] = '/';
        } else if (n == 0 || (n == 1 && out[s] == '.')) {
            if (last)
                out[w++] = '/';
        } else {
            memmove(out + w, out + r, e - r);
            w += e - r;
        }
        r = e;
    }
    if (w == 0)
        out[w++] = '/';
    out[w] = '\0';
    return 0;
}

/* ========================================================================
 * Tables
 * ======================================================================== */

/* The reason phrase for a status (RFC 9110 §15, RFC 6585 §5). */
const char *http_status_text(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* The Content-Type for a file, chosen by its extension. Returns a static
 * string; unknown extensions are sent as opaque bytes. */
const char *http_mime_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".md", "text/markdown; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".wasm", "application/wasm"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}
