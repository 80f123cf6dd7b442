/* fuzz_sio.c -- libFuzzer harness: the Socket.IO packet parser, then the
 * whole hub behind it.
 * SPDX-License-Identifier: MIT
 *
 * The input is a sequence of WebSocket messages for one session: each is
 * a length byte, a kind byte (odd: binary) and that many bytes. Each text
 * message goes first to sio_parse and sio_event on their own, then every
 * message goes through hub_session_message into a hub running the chat
 * and echo handlers, as from a real client. At the end the session is
 * gone and the hub freed, so LeakSanitizer sees anything left behind.
 */
#include "../../apps.h"
#include "../../hub.h"
#include "../../sio.h"

#include <stdlib.h>
#include <string.h>

static void fake_send(void *peer, const uint8_t *frame, size_t len)
{
    (void)peer;
    (void)frame;
    (void)len;
}

static void fake_close(void *peer, uint16_t code, const char *reason)
{
    (void)peer;
    if (code < 1000 || !reason)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct hub_transport t = {fake_send, fake_close};
    static const struct hub_options o = {100, 100, 1000, 4096};
    struct hub *h = hub_new(&t, &o);
    struct chat *chat = chat_init(h);
    hub_of(h, "/custom");
    int peer;
    int64_t now = 0;
    struct hub_session *ss = hub_session_open(h, &peer, now);
    size_t i = 0;
    while (i + 2 <= size) {
        size_t len = data[i];
        bool binary = data[i + 1] & 1;
        i += 2;
        if (len > size - i)
            len = size - i;
        const uint8_t *msg = data + i;
        i += len;
        if (!binary && len > 1 && msg[0] == '4') {
            struct sio_packet pkt;
            const char *why, *args;
            size_t alen;
            char name[SIO_MAX_EVENT_NAME + 1];
            if (sio_parse((const char *)msg + 1, len - 1, &pkt, &why) == 0 &&
                (pkt.type == SIO_EVENT || pkt.type == SIO_BINARY_EVENT) &&
                sio_event(&pkt, name, sizeof name, &args, &alen, &why) == 0 &&
                (args < pkt.data || args + alen > pkt.data + pkt.data_len))
                abort();
        }
        hub_session_message(ss, binary, msg, len, now);
        now += 40;
        hub_tick(h, now);
    }
    hub_session_gone(ss, "transport close");
    chat_free(chat);
    hub_free(h);
    return 0;
}
