/* echoapp.c -- the protocol-testing application (--app echo)
 * SPDX-License-Identifier: MIT
 *
 * The same contract as the server that socket.io-protocol's test suite
 * runs against ("Test suite" in the v5 spec): in the namespaces "/" and
 * "/custom", a client that connects is sent "auth" with its CONNECT
 * payload; "message" comes back as "message-back" with the same
 * arguments, attachments included; "message-with-ack" is acked with the
 * same arguments. Any other namespace is refused with CONNECT_ERROR.
 *
 * Five handlers, and each shows one thing about the hub: the arguments
 * of an event are passed on as they arrived, never decoded and encoded.
 */
#include "apps.h"
#include "hub.h"

static void on_connection(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    hub_emit(s, "auth", &ev->args); /* args: the auth object, or {} */
}

static void on_message(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    hub_emit(s, "message-back", &ev->args);
}

static void on_message_with_ack(struct hub_socket *s, struct hub_event *ev,
                                void *ud)
{
    (void)ud;
    hub_ack(s, ev, &ev->args);
}

int echoapp_init(struct hub *h)
{
    static const char *const names[] = {"/", "/custom"};
    for (int i = 0; i < 2; i++) {
        struct hub_nsp *nsp = hub_of(h, names[i]);
        if (!nsp || hub_on(nsp, "connection", on_connection, NULL) != 0 ||
            hub_on(nsp, "message", on_message, NULL) != 0 ||
            hub_on(nsp, "message-with-ack", on_message_with_ack, NULL) != 0)
            return -1;
    }
    return 0;
}
