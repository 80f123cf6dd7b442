/* fuzz_sio.c -- libFuzzer harness: the Socket.IO packet parser, then the
 * whole hub behind it.
 * SPDX-License-Identifier: MIT
 *
 * The input is a sequence of WebSocket messages for one session: each is
 * a length byte, a kind byte (odd: binary) and that many bytes. A text
 * message is an Engine.IO packet: only message packets ("4...") reach the
 * hub, without their "4", as engine.c passes them. Each goes first to
 * sio_parse and sio_event on their own, then through hub_session_message
 * into a hub running the chat and echo handlers, as from a real client. At the end the session is
 * gone and the hub freed, so LeakSanitizer sees anything left behind.
 */
#include "../../apps.h"
#include "../../hub.h"
#include "../../sio.h"

#include <stdlib.h>
#include <string.h>

static void fake_send(void *peer, bool binary, const uint8_t *p, size_t len)
{
    (void)peer;
    (void)binary;
    (void)p;
    (void)len;
}

static void fake_close(void *peer, enum hub_close why, const char *text)
{
    (void)peer;
    if (why < HUB_CLOSE_PROTOCOL || why > HUB_CLOSE_SERVER || !text)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct hub_transport t = {fake_send, fake_close, NULL, NULL};
    static const struct hub_options o = {.connect_timeout = 1000, .max_payload = 4096};
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
        if (!binary && (len == 0 || msg[0] != '4'))
            continue; /* not an Engine.IO message: engine.c's, not ours */
        if (!binary) {
            msg++;
            len--;
            struct sio_packet pkt;
            const char *why, *args;
            size_t alen;
            char name[SIO_MAX_EVENT_NAME + 1];
            if (sio_parse((const char *)msg, len, &pkt, &why) == 0 &&
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
