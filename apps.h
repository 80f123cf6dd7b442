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
/* The chat's way in for other protocols (faye.c's Bayeux bridge, api.c's
 * REST API): a listener that hears every message posted on this node
 * (room, and the Socket.IO "message" object as JSON), posts, edits and
 * deletes that go through the chat's own rules (owner: the socket id
 * that must be the author, or NULL), and its rooms and messages to read. */
enum chat_result {
    CHAT_DONE,       /* done, and the room told */
    CHAT_NO_ROOM,    /* no such room */
    CHAT_NO_MESSAGE, /* no such message kept */
    CHAT_INVALID,    /* the chat's rules refuse the text or name */
    CHAT_NOT_YOURS,  /* a socket may change only its own messages */
    CHAT_FAILED      /* out of memory, or the journal could not be written */
};
struct hist;
struct hist_msg;
struct hub_nsp;
struct journal;
typedef void chat_listener(void *ud, const char *room, const char *msg, size_t len);
void chat_listen(struct chat *c, chat_listener *fn, void *ud);
enum chat_result chat_post_from(struct chat *c, const char *room, const char *user_id,
                                const char *via, const char *text, size_t tlen,
                                const char *name, size_t nlen, const char *dflt_name,
                                long long *id, const char **why);
enum chat_result chat_edit(struct chat *c, const char *room, long long id, const char *text,
                           size_t tlen, const char *owner, const char **why);
enum chat_result chat_delete(struct chat *c, const char *room, long long id, const char *owner,
                             const char **why);
const struct hist_msg *chat_message(struct chat *c, const char *room, long long id);
const struct hist *chat_history(const struct chat *c);
struct jbuf;
void chat_members_json(struct chat *c, const char *room, struct jbuf *jb);
struct hub_nsp *chat_nsp(const struct chat *c);
int chat_open_data(struct chat *c, const char *dir); /* --data: 0, or -1 said */
bool chat_data_healthy(const struct chat *c);
void chat_close_data(struct chat *c);
const struct journal *chat_journal(const struct chat *c);
int api_init(struct chat *chat, const char *token_file); /* api.c: 0, or -1
                                        * said on stderr */
int echoapp_init(struct hub *h);       /* echoapp.c: the protocol test app */
int admin_init(struct hub *h, const char *auth_file, bool readonly);
                                       /* admin.c: the Admin UI on /admin
                                        * (--admin); -1 said on stderr */
void admin_free(void);

#endif
