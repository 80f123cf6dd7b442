/* fuzz_handshake.c -- libFuzzer harness: a client's request as the hub keeps it, and as other nodes see it
 * SPDX-License-Identifier: MIT
 *
 * The URL and header fields of the request that opened a session come
 * from the client, and hub_describe_socket turns them into the JSON that
 * fetchSockets() answers other nodes with, parsing the query on the way
 * (room.c, jb_query). The input is lines: the address, the URL, then
 * "name:value" header fields, and last a CONNECT payload. The property:
 * whatever they hold, the answer is one well-formed JSON array, and the
 * URL and every field kept come back unchanged.
 */
#include "../../hub.h"
#include "../../json.h"

#include <stdlib.h>
#include <string.h>

static void fake_send(void *peer, bool binary, const uint8_t *p, size_t len)
{
    (void)peer, (void)binary, (void)p, (void)len;
}

static void fake_close(void *peer, enum hub_close why, const char *text)
{
    (void)peer, (void)why, (void)text;
}

static void check(const char *json, size_t len, void *ud)
{
    (void)ud;
    if (json_type_of(json, len) != JSON_ARRAY || json_scan(json, len, -1) != (long)len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct hub_transport t = {fake_send, fake_close, NULL, NULL};
    static const struct hub_options o = {.connect_timeout = 1000, .max_payload = 4096};
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* Cut into lines; a NUL inside a line ends the C strings early, as
     * it would never reach the hub from http.c. */
    char *line[20];
    size_t nline = 0;
    for (char *p = copy; nline < 20; ) {
        line[nline++] = p;
        char *nl = memchr(p, '\n', (size_t)(copy + size - p));
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    struct hub_header f[16];
    size_t nf = 0;
    for (size_t i = 2; i + 1 < nline && nf < 16; i++) {
        char *colon = strchr(line[i], ':');
        if (!colon)
            continue;
        f[nf].name = line[i];
        f[nf].name_len = (size_t)(colon - line[i]);
        f[nf].value = colon + 1;
        f[nf].value_len = strlen(colon + 1);
        nf++;
    }
    struct hub *h = hub_new(&t, &o);
    int peer;
    struct hub_session *ss = hub_session_open(h, &peer, 0);
    const char *url = nline > 1 ? line[1] : "";
    struct hub_handshake hs = {line[0], url, strlen(url), f, nf, size % 2 == 1};
    hub_session_handshake(ss, &hs);
    hub_of(h, "/");
    const char *auth = nline > 2 ? line[nline - 1] : "";
    size_t alen = strlen(auth);
    char *connect = malloc(alen + 2);
    connect[0] = '0';
    memcpy(connect + 1, auth, alen + 1);
    hub_session_message(ss, false, (const uint8_t *)connect, alen + 1, 0);
    struct hub_select all = {NULL, 0, NULL, 0, true};
    hub_fetch_sockets(hub_of(h, "/"), &all, check, NULL);
    hub_session_gone(ss, "transport close");
    hub_free(h);
    free(connect);
    free(copy);
    return 0;
}
