/* fuzz_ws.c -- libFuzzer harness: the WebSocket receive machine, frame
 * decoder, close-frame reader and UTF-8 validator.
 * SPDX-License-Identifier: MIT
 *
 * The first byte picks a --max-message and a seed; the rest is the byte
 * stream, fed to ws_rx_next in random chunkings the way TCP might deliver
 * it. Checked: every event lies inside the buffer, a message never passes
 * --max-message, text is valid UTF-8 once complete, and the incremental
 * UTF-8 verdict matches the whole-buffer one.
 */
#include "../../ws.h"

#include <stdlib.h>
#include <string.h>

static size_t next_chunk(uint32_t *seed, size_t left)
{
    *seed = *seed * 1103515245u + 12345u;
    size_t n = 1 + (*seed >> 16) % 300;
    return n < left ? n : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const size_t limits[] = {0, 1, 125, 126, 65536, 1 << 20};
    struct ws_rx rx;
    memset(&rx, 0, sizeof rx);
    rx.max_message = limits[data[0] % 6];
    uint32_t seed = data[0] * 2654435761u + data[1];
    data += 2;
    size -= 2;

    uint8_t *buf = malloc(size + 1);
    size_t have = 0, pos = 0, msg_len = 0;
    struct ws_utf8 text = {0, 0, 0};
    bool is_text = false;
    while (pos < size || have > 0) {
        size_t take = next_chunk(&seed, size - pos);
        memcpy(buf + have, data + pos, take);
        have += take;
        pos += take;
        size_t off = 0;
        for (;;) {
            struct ws_rx_event ev;
            size_t used;
            enum ws_rx_kind k = ws_rx_next(&rx, buf + off, have - off, &used, &ev);
            if (used > have - off)
                abort();
            off += used;
            if (k == WS_RX_NEED_MORE || k == WS_RX_ERROR) {
                if (k == WS_RX_ERROR && (ev.close_code < 1000 || !ev.why))
                    abort();
                if (k == WS_RX_ERROR) {
                    free(buf);
                    return 0;
                }
                break;
            }
            if (ev.len > 0 && (ev.data < buf || ev.data + ev.len > buf + have))
                abort();
            if (k == WS_RX_CONTROL) {
                if (ev.len > WS_MAX_CONTROL_PAYLOAD)
                    abort();
                uint16_t code;
                const uint8_t *reason;
                size_t rlen;
                ws_parse_close(ev.data, ev.len, &code, &reason, &rlen);
                continue;
            }
            if (msg_len == 0)
                is_text = ev.opcode == WS_OP_TEXT;
            msg_len += ev.len;
            if (msg_len > rx.max_message)
                abort();
            if (is_text && ws_utf8_feed(&text, ev.data, ev.len) != 0)
                abort(); /* the machine let invalid text through */
            if (ev.msg_end) {
                if (is_text && !ws_utf8_complete(&text))
                    abort();
                msg_len = 0;
                memset(&text, 0, sizeof text);
            }
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (take == 0)
            break;
    }

    /* The UTF-8 validator: fed whole or in two pieces, same verdict. */
    struct ws_utf8 a = {0, 0, 0}, b = {0, 0, 0};
    bool whole = ws_utf8_feed(&a, data, size) == 0 && ws_utf8_complete(&a);
    size_t cut = size ? seed % size : 0;
    bool split = ws_utf8_feed(&b, data, cut) == 0 &&
                 ws_utf8_feed(&b, data + cut, size - cut) == 0 && ws_utf8_complete(&b);
    if (whole != split)
        abort();
    struct ws_frame f;
    ws_parse_frame(buf, 0, &f);
    free(buf);
    return 0;
}
