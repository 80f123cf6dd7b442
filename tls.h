/* tls.h -- TLS on the loop's connections, through OpenSSL's libssl
 * SPDX-License-Identifier: MIT
 *
 * With --tls-cert and --tls-key the listener speaks TLS: each accepted
 * connection's conn_io(c) becomes tls_io (conn.h's seam), and the loop goes
 * on reading, writing and closing as it does on plain TCP.
 */
#ifndef TLS_H
#define TLS_H

#include "conn.h"

/* Load the certificate (or chain) and its key, under wshub's policy
 * (tls.c). Returns 0, or -1 with the reason on stderr. */
int tls_init(const char *cert_file, const char *key_file);

/* SIGHUP: load the pair again from the same files. New connections use
 * the new pair, open ones keep theirs; a pair that fails to load is
 * refused with a log line, and the current one is kept. */
void tls_reload(void);

/* Give c a TLS session as the server's side of a handshake yet to come.
 * Returns 0, or -1 if memory ran out (c is untouched). */
int tls_attach(struct conn *c);

/* True once c's handshake is done (plain connections: always). */
bool tls_handshake_done(const struct conn *c);

void tls_free(void);

#endif
