/* http.c -- an HTTP/1.1 request parser with no I/O and no allocation
 * SPDX-License-Identifier: MIT
 *
 * wshub speaks just enough HTTP to serve static files and to read the
 * WebSocket opening handshake, which is an ordinary GET (RFC 6455 §4.1).
 * This file parses a request head into pointers into the caller's buffer,
 * in the manner of picohttpparser: call it again with more bytes until it
 * says the head is complete. It also decodes and normalises request paths
 * so that nothing outside the served folder can be named, and it holds the
 * Origin policy that keeps other sites' pages out (RFC 6455 §10.2).
 *
 * Request bodies are framed, not read. Once the head is complete the
 * parser applies RFC 9112 §6.3's length rules and puts the body's length
 * in req->content_length: the caller reads Content-Length bytes after the
 * head; chunked bodies are refused with 411, and every other
 * Transfer-Encoding with 400 or 501. A head whose framing is doubtful is
 * an error, because two servers that disagree about where a body ends are
 * how requests get smuggled (RFC 9112 §11.2). Absolute-form targets are
 * not paths; http_decode_path refuses them with 400.
 *
 * References: RFC 9112 §2.2 (message parsing, bare LF), §3 (request line),
 * §5 (field lines; obs-fold rejected, §5.2), §6.1 (Transfer-Encoding),
 * §6.3 (message body length), §7 (transfer coding names); RFC 9110 §5.3
 * (repeated fields form one list), §5.6.1 (lists), §5.6.2 (tokens), §8.6
 * (Content-Length), §15 (status codes); RFC 6585 §5 (431); RFC 3986 §2.1
 * (percent-encoding) and §5.2.4 (removing dot segments); RFC 6454 §4 and
 * §7 (origins and the Origin field); RFC 6455 §10.2 (origin policy).
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

/* ========================================================================
 * Body framing, RFC 9112 §6
 *
 * A request says how long its body is in one of two ways: Content-Length,
 * a decimal count of bytes, or Transfer-Encoding, whose last coding must
 * then be chunked. Saying neither means there is no body (§6.3 item 7).
 * Saying both, or saying either in a way two readers could take
 * differently, is refused: the body's end is where the next request
 * begins, so any doubt about it is a way to hide one request in another.
 * ======================================================================== */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Read one Content-Length field value into *value, as a list of
 * 1*DIGIT (RFC 9110 §8.6) each of which must equal *value if *seen is
 * already set; sets *seen. Returns 0, or fails req with 400.
 *
 * RFC 9110 §8.6 lets a recipient either reject "5, 5" and repeated equal
 * fields as invalid or take them as the one value, which is what §6.3
 * item 5 then frames the body with. We take them, since an upstream proxy
 * that folds duplicates produces exactly that and the meaning is not in
 * doubt. Everything else that is not 1*DIGIT is refused: a sign, a space
 * inside ("1 0"), an empty value or an empty list element ("5,"), since
 * §5.6.1's leniency about empty elements is not worth extending to the
 * field that frames the body. Digits are added one at a time against
 * HTTP_MAX_CONTENT_LENGTH, so an 8,000-digit value cannot overflow (§8.6
 * asks for exactly that care). The limit, 2^53 - 1, is far past any body
 * a client will send and still exact in a double, so a JavaScript client
 * or a JSON log shows the same number we framed with. */
static int content_length_value(const char *v, size_t n, bool *seen,
                                uint64_t *value, struct http_request *req)
{
    size_t i = 0;
    for (;;) {
        while (i < n && is_ows(v[i]))
            i++;
        size_t start = i;
        uint64_t x = 0;
        while (i < n && v[i] >= '0' && v[i] <= '9') {
            uint64_t d = (uint64_t)(v[i] - '0');
            if (x > (HTTP_MAX_CONTENT_LENGTH - d) / 10)
                return fail(req, 400, "Content-Length over 2^53 - 1");
            x = x * 10 + d;
            i++;
        }
        if (i == start)
            return fail(req, 400, "Content-Length is not a decimal number");
        while (i < n && is_ows(v[i]))
            i++;
        if (i < n && v[i] != ',')
            return fail(req, 400, "Content-Length is not a decimal number");
        if (*seen && x != *value)
            return fail(req, 400, "Content-Length values differ");
        *seen = true;
        *value = x;
        if (i == n)
            return 0;
        i++; /* past the comma; another value must follow */
    }
}

/* Walk every Transfer-Encoding field as one list (RFC 9110 §5.3) and
 * decide what the request gets. Returns HTTP_ERROR always, since wshub
 * reads no transfer-coded body:
 *   400  no coding named, or a coding that is not a token;
 *   400  the final coding is not chunked: the body's length cannot be
 *        known (§6.3 item 4);
 *   400  chunked applied twice (§6.1: a sender MUST NOT);
 *   501  chunked after codings we do not decode, "gzip, chunked" (§6.1:
 *        a coding the server does not understand);
 *   411  plain chunked: we do not decode chunked request bodies, and §6.3
 *        lets a server insist on Content-Length with 411 instead.
 * Coding names are case-insensitive (§7). Parameters after a ';' are
 * skipped, not parsed; a quoted comma inside one can make the list split
 * in the wrong place, but since every outcome here is a refusal that only
 * changes which status is sent, never whether a body is read. */
static int refuse_transfer_encoding(struct http_request *req)
{
    size_t codings = 0, chunked = 0;
    bool last_chunked = false;
    for (size_t h = 0; h < req->nheaders; h++) {
        const struct http_header *f = &req->headers[h];
        if (f->name_len != 17 ||
            strncasecmp(f->name, "Transfer-Encoding", 17) != 0)
            continue;
        const char *v = f->value;
        size_t n = f->value_len, i = 0;
        while (i < n) {
            /* §5.6.1: empty list elements are ignored. */
            while (i < n && (is_ows(v[i]) || v[i] == ','))
                i++;
            if (i == n)
                break;
            size_t start = i;
            while (i < n && is_tchar((unsigned char)v[i]))
                i++;
            size_t name_len = i - start;
            while (i < n && is_ows(v[i]))
                i++;
            if (name_len == 0 || (i < n && v[i] != ',' && v[i] != ';'))
                return fail(req, 400, "malformed Transfer-Encoding");
            while (i < n && v[i] != ',')
                i++; /* parameters, if any */
            last_chunked = name_len == 7 &&
                           strncasecmp(v + start, "chunked", 7) == 0;
            codings++;
            if (last_chunked)
                chunked++;
        }
    }
    if (codings == 0)
        return fail(req, 400, "Transfer-Encoding names no coding");
    if (!last_chunked)
        return fail(req, 400, "final transfer coding is not chunked");
    if (chunked > 1)
        return fail(req, 400, "chunked applied more than once");
    if (codings > 1)
        return fail(req, 501, "transfer coding not implemented");
    return fail(req, 411, "chunked request body; send Content-Length");
}

/* Decide the body's length once the head is complete (§6.3). Sets
 * req->content_length and returns 0, or returns HTTP_ERROR with req
 * failed as the comments below say. */
static int frame_body(struct http_request *req)
{
    int te_fields, cl_fields;
    http_find_header(req, "Transfer-Encoding", &te_fields);
    http_find_header(req, "Content-Length", &cl_fields);

    if (te_fields > 0) {
        /* §6.1: an HTTP/1.0 message with Transfer-Encoding MUST be taken
         * as faulty framing, even if Content-Length is present: 1.0 has
         * no transfer codings, so whoever sent it is confused. */
        if (req->minor_version == 0)
            return fail(req, 400, "Transfer-Encoding in an HTTP/1.0 request");
        /* §6.3 item 3: both at once "ought to be handled as an error";
         * it is the classic request-smuggling shape (§11.2). */
        if (cl_fields > 0)
            return fail(req, 400, "both Content-Length and Transfer-Encoding");
        return refuse_transfer_encoding(req);
    }

    /* §6.3 items 5 and 6: every Content-Length value valid and equal, or
     * 400. §6.3 item 7: with neither field the body is empty. */
    bool seen = false;
    uint64_t value = 0;
    for (size_t h = 0; h < req->nheaders; h++) {
        const struct http_header *f = &req->headers[h];
        if (f->name_len != 14 ||
            strncasecmp(f->name, "Content-Length", 14) != 0)
            continue;
        if (content_length_value(f->value, f->value_len, &seen, &value,
                                 req) != 0)
            return HTTP_ERROR;
    }
    req->content_length = value;
    return 0;
}

/* Parse the request head at buf[0..len). Returns the head's length (up to
 * and including the blank line), HTTP_NEED_MORE, or HTTP_ERROR with
 * req->status and req->why set: 400 for bad syntax or doubtful body
 * framing, 411 for a chunked body, 414 for a request line over
 * HTTP_MAX_REQUEST_LINE, 431 for a head over HTTP_MAX_HEAD or more than
 * HTTP_MAX_HEADERS lines, 501 for a transfer coding we do not decode, 505
 * for HTTP/2 and beyond. On success req->content_length says how many
 * body bytes follow the head; the parser never looks at them, so the
 * caller reads (or skips) them before the next request. Every pointer in
 * req points into buf. The same bytes always give the same answer, and a
 * prefix of a complete head always gives HTTP_NEED_MORE, since framing is
 * judged only once the whole head is there. */
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
        if (end == pos) {
            /* The blank line: the head is complete. */
            if (frame_body(req) != 0)
                return HTTP_ERROR;
            return (int)next;
        }
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
 * The Origin policy, RFC 6455 §10.2 and RFC 6454
 *
 * A browser names the page that made a request in the Origin field
 * (RFC 6454 §7). A page from another site must not reach us carrying the
 * user's cookies (CWE-1385), so only our own origin and the ones the
 * operator listed get through. No Origin at all means a program, not a
 * browser, and there is no page to protect the user from.
 * ======================================================================== */

/* True if the Origin value origin[0..olen) names the same authority as
 * the Host value host[0..hlen): compared without case, with the scheme's
 * default port (RFC 6454 §4) treated as absent on either side, so Origin
 * "http://Example.com" matches Host "example.com:80" but not
 * "example.com:443". "null" and schemes other than http and https never
 * match a Host. */
static bool origin_matches_host(const char *origin, size_t olen,
                                const char *host, size_t hlen)
{
    const char *scheme_port;
    if (olen > 7 && strncasecmp(origin, "http://", 7) == 0) {
        origin += 7;
        olen -= 7;
        scheme_port = ":80";
    } else if (olen > 8 && strncasecmp(origin, "https://", 8) == 0) {
        origin += 8;
        olen -= 8;
        scheme_port = ":443";
    } else {
        return false;
    }
    size_t plen = strlen(scheme_port);
    if (olen > plen && strncasecmp(origin + olen - plen, scheme_port, plen) == 0)
        olen -= plen;
    if (hlen > plen && strncasecmp(host + hlen - plen, scheme_port, plen) == 0)
        hlen -= plen;
    return olen == hlen && strncasecmp(origin, host, olen) == 0;
}

/* Classify the request's Origin against origins, the --origin policy:
 * NULL or "" allows only the request's own Host, "*" allows every origin,
 * anything else is a comma-separated list of exact origins
 * ("http://localhost:3000,https://example.org", compared without case).
 * The same Host wins over the list, and the list over "*", so the answer
 * says the most specific reason a request is allowed. A request without
 * exactly one Host can never be same-origin. Returns an enum http_origin.
 *
 * A caller answering CORS uses the kind: HTTP_ORIGIN_ANY gets
 * "Access-Control-Allow-Origin: *" (never with credentials, which the
 * Fetch standard forbids beside "*"); HTTP_ORIGIN_LISTED gets the Origin
 * echoed back, may add "Access-Control-Allow-Credentials: true", and
 * needs "Vary: Origin"; HTTP_ORIGIN_SAME and HTTP_ORIGIN_ABSENT need no
 * CORS headers at all. */
enum http_origin http_classify_origin(const struct http_request *req,
                                      const char *origins)
{
    int count;
    const struct http_header *org = http_find_header(req, "Origin", &count);
    if (count > 1)
        return HTTP_ORIGIN_DUPLICATE;
    if (!org)
        return HTTP_ORIGIN_ABSENT;
    const struct http_header *host = http_find_header(req, "Host", &count);
    if (count == 1 && origin_matches_host(org->value, org->value_len,
                                          host->value, host->value_len))
        return HTTP_ORIGIN_SAME;
    if (origins && strcmp(origins, "*") == 0)
        return HTTP_ORIGIN_ANY;
    if (origins && http_has_token(origins, strlen(origins), org->value,
                                  org->value_len))
        return HTTP_ORIGIN_LISTED;
    return HTTP_ORIGIN_FOREIGN;
}

/* True if a page from origin[0..olen) ("http://host:port", as a
 * browser writes it) may use this server under the --origin policy:
 * req's own Host, a listed origin, or any with "*". For callers that
 * learn a page's origin from somewhere other than the Origin field (a
 * JSONP script load carries only a Referer). */
bool http_origin_allowed(const char *origin, size_t olen,
                         const struct http_request *req, const char *origins)
{
    int count;
    const struct http_header *host = http_find_header(req, "Host", &count);
    if (count == 1 && origin_matches_host(origin, olen, host->value, host->value_len))
        return true;
    if (origins && strcmp(origins, "*") == 0)
        return true;
    return origins && http_has_token(origins, strlen(origins), origin, olen);
}

/* Apply the Origin policy (see http_classify_origin for what origins
 * means). Returns 0 when the request may go ahead, 400 for a duplicate
 * Origin field, 403 for an origin that is not allowed. *why is always set
 * to a static line saying which. */
int http_check_origin(const struct http_request *req, const char *origins,
                      const char **why)
{
    switch (http_classify_origin(req, origins)) {
    case HTTP_ORIGIN_ABSENT:
        *why = "no Origin: not a browser";
        return 0;
    case HTTP_ORIGIN_SAME:
        *why = "Origin is this host";
        return 0;
    case HTTP_ORIGIN_LISTED:
        *why = "Origin is listed in --origin";
        return 0;
    case HTTP_ORIGIN_ANY:
        *why = "any Origin allowed (--origin '*')";
        return 0;
    case HTTP_ORIGIN_DUPLICATE:
        *why = "duplicate Origin";
        return 400;
    case HTTP_ORIGIN_FOREIGN:
        break;
    }
    *why = "Origin not allowed (see --origin)";
    return 403;
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
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
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
