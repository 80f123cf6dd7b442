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
#include <stddef.h>

struct hub;
struct chat;

struct chat *chat_init(struct hub *h); /* chat.c: the chat (default); NULL
                                        * if out of memory */
void chat_free(struct chat *c);        /* chat.c: its rooms and history */
/* The chat's way in for other protocols (faye.c's Bayeux bridge): a
 * listener that hears every message posted on this node (room, and the
 * Socket.IO "message" object as JSON), and a post that goes through the
 * chat's own rules; it returns 0, or -1 with *why for the client. */
typedef void chat_listener(void *ud, const char *room, const char *msg, size_t len);
void chat_listen(struct chat *c, chat_listener *fn, void *ud);
int chat_post_from(struct chat *c, const char *room, const char *user_id, const char *via,
                   const char *text, size_t tlen, const char *name, size_t nlen,
                   const char *dflt_name, const char **why);
int echoapp_init(struct hub *h);       /* echoapp.c: the protocol test app */
int admin_init(struct hub *h, const char *auth_file, bool readonly);
                                       /* admin.c: the Admin UI on /admin
                                        * (--admin); -1 said on stderr */
void admin_free(void);

#endif
