/* fuzz_http.c -- libFuzzer harness: the HTTP request parser and the path,
 * token and query helpers, on any bytes.
 * SPDX-License-Identifier: MIT
 *
 * Besides "no crash, no sanitizer report", it checks the parser's
 * contract: a head length never exceeds the input, every pointer lies
 * inside it, an error always carries a status, and a prefix of a complete
 * head never parses as a different head.
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
    return 0;
}
