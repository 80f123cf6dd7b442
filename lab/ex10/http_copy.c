/* http_copy.c -- exercise 10: a copy of http.c's request parser, with a bug in it
 * SPDX-License-Identifier: MIT
 *
 * This is wshub's HTTP/1.1 request parser (http.c, tour step 4) as it
 * was copied into the lab, renamed lab_http_parse_request, with one bug
 * planted in it. lab/checks/ex10.c runs the tests http.c's parser passes
 * (test/unit_http.c does the same to the real one); one of them fails
 * here. Find the bug from that failure, fix it in this file, and run
 * make lab EX=10. (Comparing this file with http.c would find it too,
 * and teach nothing: read the failing test, then the code it points at.)
 *
 * Below the #include is http.c's text as copied, bug and all, with only
 * the name changed; the real http.c is not touched by this exercise.
 *
 * References: RFC 9112 §2.2 (message parsing, bare LF), §3 (request line),
 * §5 (field lines), §6.3 (message body length).
 */
#include "../../http.h"

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
        if (c == '\r' && buf[i + 1] != '\n')
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
int lab_http_parse_request(const char *buf, size_t len, struct http_request *req)
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
