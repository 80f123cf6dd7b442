/* ex08_leave_test.c -- exercise 8: a unit test for the chat's leave handler
 * SPDX-License-Identifier: MIT
 *
 * Yours to write (lab/README.md, exercise 8). The chat runs on a hub with
 * a fake transport and no network, as in test/unit_hub.c: say() feeds a
 * peer's packet in as a client would send it, and each peer records what
 * the hub sent it (last(), received(), last_event(), field(); see
 * test/fakehub.h). Write CHECKs that say what `leave` must do: who hears
 * of it, what the ack says, where the leaver is afterwards, and what
 * happens to a leave that makes no sense.
 *
 * make lab EX=8 runs this file against the real chat.c, where every
 * check must pass, and then against broken copies of chat.c (mutants),
 * each of which some check must catch.
 */
#include "../../apps.h"
#include "../../hub.h"
#include "../../test/check.h"
#include "../../test/fakehub.h"

TEST(leave_a_room)
{
    struct hub *h = hub_new(&fake, &opts);
    struct chat *chat = chat_init(h);
    struct peer ada, bob;
    open_peer(h, &ada);
    say(&ada, "40");
    open_peer(h, &bob);
    say(&bob, "40");
    say(&ada, "421[\"join\",\"blue\"]");
    say(&bob, "421[\"join\",\"blue\"]");

    /* Your checks here: ada leaves blue (say(&ada, "422[\"leave\",\"blue\"]")),
     * and then? */

    hub_session_gone(ada.ss, "transport close");
    hub_session_gone(bob.ss, "transport close");
    chat_free(chat);
    hub_free(h);
}

int main(void)
{
    RUN(leave_a_room);
    return check_summary("ex08");
}
