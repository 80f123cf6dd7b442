/* apps.h -- the applications that run on the hub, chosen with --app
 * SPDX-License-Identifier: MIT
 *
 * An application is a set of handlers registered on a hub. It never sees
 * a socket or a byte of WebSocket: only events, rooms and acks.
 * echoapp_init returns 0, or -1 if out of memory.
 */
#ifndef APPS_H
#define APPS_H

#include <stdbool.h>

struct hub;
struct chat;

struct chat *chat_init(struct hub *h); /* chat.c: the chat (default); NULL
                                        * if out of memory */
void chat_free(struct chat *c);        /* chat.c: its rooms and history */
int echoapp_init(struct hub *h);       /* echoapp.c: the protocol test app */
int admin_init(struct hub *h, const char *auth_file, bool readonly);
                                       /* admin.c: the Admin UI on /admin
                                        * (--admin); -1 said on stderr */
void admin_free(void);

#endif
