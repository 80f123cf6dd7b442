/* redis.h -- one non-blocking connection to Redis, inside the loop: the interface of redis.c
 * SPDX-License-Identifier: MIT
 *
 * The Redis adapter (cluster.c) uses two of these, as socket.io's
 * adapter does: one for PUBLISH and questions, one in subscriber mode.
 * Each one connects, says AUTH and SELECT as the URL asks, and from then
 * on sends commands and hands back replies in order, or pushes
 * (messages, subscribe confirmations) on a subscriber.
 *
 * It never blocks. The loop gives it one entry of its poll set (a
 * struct pollfd that stays put) and calls redis_io() when that entry is
 * ready; redis.c keeps the entry's fd and events right itself. When the
 * connection fails, times out or Redis sends what RESP does not allow,
 * every callback still waiting is told (reply NULL), `lost` runs, and it
 * reconnects after a backoff: REDIS_BACKOFF_MIN_MS doubling to
 * REDIS_BACKOFF_MAX_MS.
 *
 * Error convention: redis_url_parse returns 0 or -1 with *why;
 * redis_command returns 0, or -1 when the command is dropped (not
 * connected, or output over the cap): then its callback never runs.
 */
#ifndef REDIS_H
#define REDIS_H

#include "resp.h"
#include "timer.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDIS_BACKOFF_MIN_MS 100   /* first retry after a failure */
#define REDIS_BACKOFF_MAX_MS 5000  /* retries never wait longer */
#define REDIS_TIMEOUT_MS 5000      /* a connect or a reply taking longer
                                    * means Redis is stuck: reconnect */
#define REDIS_PING_MS 10000        /* a quiet connection is PINGed this
                                    * often, so a dead Redis is noticed */

/* What --redis redis://[[user]:password@]HOST[:PORT][/DB] says. */
struct redis_url {
    char host[256];     /* name or address */
    char port[8];       /* decimal; "6379" by default */
    char user[128];     /* AUTH user (Redis 6 ACLs); "" for none */
    char password[256]; /* AUTH password; "" for none */
    int db;             /* SELECT this; 0 by default */
};

struct redis;

/* One reply to a command, in order; NULL when the connection was lost
 * before it came. The reply's strings live only during the call. */
typedef void redis_reply_cb(struct redis *r, const struct resp_reply *reply,
                            void *ud);

struct redis_events {
    void (*ready)(struct redis *r, void *ud);  /* connected, AUTH and
                                                * SELECT done */
    void (*lost)(struct redis *r, const char *why, void *ud);
    void (*push)(struct redis *r, const struct resp_push *p,
                 const struct resp_reply *reply, void *ud); /* subscriber */
};

int redis_url_parse(const char *url, struct redis_url *u, const char **why);
struct redis *redis_new(const struct redis_url *u, const char *name,
                        bool subscriber, size_t max_output,
                        const struct redis_events *ev, void *ud,
                        struct pollfd *slot);
void redis_free(struct redis *r);
bool redis_ready(const struct redis *r);
int redis_command(struct redis *r, int argc, const char *const *argv,
                  const size_t *lens, redis_reply_cb *cb, void *ud);
void redis_io(struct redis *r, short revents);
uint64_t redis_dropped(const struct redis *r);

#endif
