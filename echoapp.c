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
 * Two more events exercise what that contract leaves out: "ask-me" makes
 * the server emit "ask" with the same arguments and an ack, and report the
 * client's answer as "answer" (or "ask-timeout" after 2 s); "kick-me"
 * makes the server disconnect the socket from its namespace.
 *
 * Five handlers, and each shows one thing about the hub: the arguments
 * of an event are passed on as they arrived, never decoded and encoded.
 */
#include "apps.h"
#include "hub.h"

#include <stdbool.h>

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

/* The client answered our "ask" (or did not): tell it what we heard. */
static void on_answer(struct hub_socket *s, bool timed_out,
                      const struct hub_args *reply, void *ud)
{
    (void)ud;
    if (timed_out) {
        struct hub_args none = hub_json("");
        hub_emit(s, "ask-timeout", &none);
    } else {
        hub_emit(s, "answer", reply);
    }
}

static void on_ask_me(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ud;
    hub_emit_ack(s, "ask", &ev->args, 2000, on_answer, NULL);
}

static void on_kick_me(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    (void)ev;
    (void)ud;
    hub_disconnect(s);
}

int echoapp_init(struct hub *h)
{
    static const char *const names[] = {"/", "/custom"};
    for (int i = 0; i < 2; i++) {
        struct hub_nsp *nsp = hub_of(h, names[i]);
        if (!nsp || hub_on(nsp, "connection", on_connection, NULL) != 0 ||
            hub_on(nsp, "message", on_message, NULL) != 0 ||
            hub_on(nsp, "message-with-ack", on_message_with_ack, NULL) != 0 ||
            hub_on(nsp, "ask-me", on_ask_me, NULL) != 0 ||
            hub_on(nsp, "kick-me", on_kick_me, NULL) != 0)
            return -1;
    }
    return 0;
}
