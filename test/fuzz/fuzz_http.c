/* fuzz_http.c -- libFuzzer harness: the HTTP request parser, its body
 * framing, the Origin policy and the path, token and query helpers, on
 * any bytes.
 * SPDX-License-Identifier: MIT
 *
 * Besides "no crash, no sanitizer report", it checks the parser's
 * contract: a head length never exceeds the input, every pointer lies
 * inside it, an error always carries a status, and a prefix of a complete
 * head never parses as a different head. For framing: a head that parses
 * has no Transfer-Encoding, a content_length within the limit, and 0 when
 * there is no Content-Length. For the Origin policy: the answer is 0, 400
 * or 403 and agrees with http_classify_origin.
 */
#include "../../http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void inside(const char *buf, size_t n, const char *p, size_t len)
{
    if (len > 0 && (p < buf || p + len > buf + n))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct http_request req;
    int r = http_parse_request(buf, size, &req);
    if (r == HTTP_ERROR) {
        if (req.status < 400 || req.status > 599 || !req.why)
            abort();
        return 0;
    }
    if (r == HTTP_NEED_MORE)
        return 0;
    if ((size_t)r > size || req.nheaders > HTTP_MAX_HEADERS)
        abort();
    inside(buf, size, req.method, req.method_len);
    inside(buf, size, req.target, req.target_len);
    for (size_t i = 0; i < req.nheaders; i++) {
        inside(buf, size, req.headers[i].name, req.headers[i].name_len);
        inside(buf, size, req.headers[i].value, req.headers[i].value_len);
        http_has_token(req.headers[i].value, req.headers[i].value_len, "upgrade", 7);
    }
    /* A strict prefix of a complete head is never complete. */
    struct http_request again;
    if (r > 1 && http_parse_request(buf, (size_t)r - 1, &again) > 0)
        abort();

    char path[HTTP_MAX_REQUEST_LINE];
    const char *why;
    if (http_decode_path(req.target, req.target_len, path, sizeof path, &why) == 0) {
        /* A clean path: rooted, no "..", no "//", no NUL inside. */
        size_t plen = strlen(path);
        if (path[0] != '/' || strstr(path, "/../") || strstr(path, "//") ||
            (plen >= 3 && strcmp(path + plen - 3, "/..") == 0))
            abort();
    }
    const char *v;
    size_t vlen;
    if (http_query_param(req.target, req.target_len, "EIO", &v, &vlen) == 0)
        inside(req.target, req.target_len, v, vlen);
    http_find_header(&req, "Host", NULL);

    /* Framing (RFC 9112 §6.3): only Content-Length bodies get through. */
    int cl_fields;
    if (http_find_header(&req, "Transfer-Encoding", NULL))
        abort();
    http_find_header(&req, "Content-Length", &cl_fields);
    if (req.content_length > HTTP_MAX_CONTENT_LENGTH ||
        (cl_fields == 0 && req.content_length != 0))
        abort();

    /* The Origin policy, under each kind of --origin list. */
    static const char *const policies[] = {NULL, "", "*",
                                           "http://a.example, null"};
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        int st = http_check_origin(&req, policies[i], &why);
        enum http_origin kind = http_classify_origin(&req, policies[i]);
        int want = kind == HTTP_ORIGIN_DUPLICATE ? 400
                   : kind == HTTP_ORIGIN_FOREIGN ? 403 : 0;
        if (st != want || !why)
            abort();
        if (kind == HTTP_ORIGIN_ANY && (!policies[i] || strcmp(policies[i], "*") != 0))
            abort();
    }
    return 0;
}
