/* web.c -- HTTP serving: routing, static files, errors, CORS and the upgrade
 * SPDX-License-Identifier: MIT
 *
 * server.c hands this file the bytes a connection sent while it speaks
 * HTTP; this file parses them with http.c's pure parser, one request at a
 * time, and queues the answer:
 *   /echo                   the WebSocket upgrade, then frames echo back
 *   /socket.io/             Engine.IO, WebSocket or long-polling (engine.c)
 *   /engine.io/             plain Engine.IO, with --app echo only
 *   /socket.io/socket.io.js the browser client, built into the binary
 *   --faye PATH             Bayeux: faye's transports (faye.c)
 *   /api/                   the REST API into the chat (api.c)
 *   /metrics, /healthz      Prometheus metrics and a health check (metrics.c)
 *   anything else           a file under --root, or 404
 *
 * Request bodies are read here, by Content-Length (RFC 9112 §6.2), and
 * only POSTs to the Engine.IO paths may have one; any other body is
 * answered and then the connection closed, since we never read it.
 * http.c refuses chunked bodies with 411 and every ambiguous length with
 * 400. A body counts against --request-timeout like the head does.
 *
 * CORS (Fetch standard, "CORS protocol"): cross-origin requests to the
 * Engine.IO paths follow --origin, the same policy as the WebSocket
 * upgrade; an allowed Origin is echoed back with credentials, and only
 * --origin '*' is answered with "*".
 *
 * References: RFC 9110 §9.3.1-2 (GET, HEAD), §9.3.3 (POST), §9.3.7
 * (OPTIONS), §15 (status codes); RFC 9112 §6 (message body), §9.3
 * (persistent connections); RFC 6455 §4.2.2 (the server's handshake).
 */
#define _GNU_SOURCE /* realpath, strdup, O_CLOEXEC, PATH_MAX */
#include "conn.h"
#include "http.h"
#include "metrics.h"

#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_CHUNK (64 * 1024) /* bytes of a file queued at a time */

/* ========================================================================
 * --trace
 * ======================================================================== */

static void trace_request(const struct conn *c, const struct http_request *req)
{
    static const char *const shown[] = {
        "Host", "Upgrade", "Connection", "Origin", "Content-Length",
        "Content-Type", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions",
    };
    const char *peer = conn_peer_name(c);
    printf("%s <- %.*s %.*s HTTP/1.%d\n", peer, (int)req->method_len,
           req->method, (int)req->target_len, req->target, req->minor_version);
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) {
        const struct http_header *h = http_find_header(req, shown[i], NULL);
        if (h)
            printf("%s <-   %s: %.*s\n", peer, shown[i], (int)h->value_len,
                   h->value);
    }
    fflush(stdout);
}

/* ========================================================================
 * Responses
 * ======================================================================== */

/* Queue a response head; the caller queues the body, if any. extra is
 * more header lines, each ending in CRLF, or "". */
void web_send_head(struct conn *c, int status, const char *type,
                   uint64_t length, const char *extra)
{
    char hdr[1024];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\n"
                     "Server: wshub/" WSHUB_VERSION "\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %llu\r\n"
                     "%s%s\r\n",
                     status, http_status_text(status), type,
                     (unsigned long long)length, extra,
                     c->keep_alive ? "" : "Connection: close\r\n");
    c->status = status;
    metrics_http_response(status);
    if (n > 0 && (size_t)n < sizeof hdr)
        conn_send(c, hdr, (size_t)n);
    else
        conn_kill(c, "response head too long");
}

/* Answer with an error page: the status line and the one-line reason.
 * Errors that leave the stream in doubt also close the connection. */
void web_error(struct conn *c, int status, const char *why, const char *extra,
               bool head_only)
{
    char body[160];
    int n = snprintf(body, sizeof body, "%d %s: %s\n", status,
                     http_status_text(status), why);
    if (status != 301 && status != 403 && status != 404 && status != 405)
        c->keep_alive = false; /* the stream itself may be in doubt */
    c->why = why;
    web_send_head(c, status, "text/plain; charset=utf-8", (uint64_t)n, extra);
    if (!head_only)
        conn_send(c, body, (size_t)n);
}

/* The answer to a request is queued: make ready for the next request,
 * or close if this one said so. */
static void next_request(struct conn *c)
{
    if (c->state != CONN_HTTP)
        return;
    if (!c->keep_alive)
        conn_drain(c);
    else
        c->deadline = now_ms() + srv.opt.request_timeout;
}

/* A held request has been answered from outside web_input (engine.c
 * answering a long-polling GET): go on to the requests that were
 * pipelined behind it and wait in c->in. */
void web_request_done(struct conn *c)
{
    next_request(c);
    if (c->state == CONN_HTTP)
        conn_resume(c);
}

/* ========================================================================
 * CORS
 * ======================================================================== */

/* Decide whether a cross-origin page may use req, and write the CORS
 * response headers into out (CRLF-terminated lines, or "" when the
 * request has no Origin). Returns 0, or the status to refuse with: 403
 * for an Origin --origin does not allow, 400 for two Origin headers. */
int web_cors(const struct http_request *req, char *out, size_t cap)
{
    const char *why;
    out[0] = '\0';
    int status = http_check_origin(req, srv.opt.origins, &why);
    if (status != 0)
        return status;
    const struct http_header *org = http_find_header(req, "Origin", NULL);
    if (!org)
        return 0; /* not a browser: no page to protect, nothing to say */
    if (srv.opt.origins && strcmp(srv.opt.origins, "*") == 0) {
        snprintf(out, cap, "Access-Control-Allow-Origin: *\r\n");
        return 0;
    }
    /* An allowed origin is named, never "*", so that the browser may send
     * cookies; Vary tells caches the answer depends on Origin. Lines that
     * would not fit are a refusal, never a head cut short. */
    int n = snprintf(out, cap,
                     "Access-Control-Allow-Origin: %.*s\r\n"
                     "Access-Control-Allow-Credentials: true\r\n"
                     "Vary: Origin\r\n",
                     (int)org->value_len, org->value);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return 400;
    }
    return 0;
}

/* OPTIONS, a CORS preflight: 204 with what the Engine.IO paths accept. */
static void serve_preflight(struct conn *c, const struct http_request *req,
                            const char *cors)
{
    char extra[1024];
    const struct http_header *rh =
        http_find_header(req, "Access-Control-Request-Headers", NULL);
    int n = snprintf(extra, sizeof extra,
                     "%sAccess-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                     "Access-Control-Max-Age: 86400\r\n", cors);
    if (rh && rh->value_len < 256 && n > 0 && (size_t)n < sizeof extra)
        snprintf(extra + n, sizeof extra - (size_t)n,
                 "Access-Control-Allow-Headers: %.*s\r\n", (int)rh->value_len,
                 rh->value);
    web_send_head(c, 204, "text/plain; charset=utf-8", 0, extra);
    c->why = "preflight";
}

/* ========================================================================
 * Static files
 * ======================================================================== */

/* Queue the next chunk of the file being sent; close it when done. */
void web_file_refill(struct conn *c)
{
    size_t want = c->file_left < FILE_CHUNK ? (size_t)c->file_left : FILE_CHUNK;
    if (buf_reserve(&c->out, want) != 0) {
        conn_kill(c, "out of memory");
        return;
    }
    ssize_t n = read(c->file_fd, c->out.data + c->out.off + c->out.len, want);
    if (n <= 0) { /* the file shrank or failed under us: the length is a lie */
        conn_kill(c, "file read failed");
        return;
    }
    c->out.len += (size_t)n;
    c->file_left -= (uint64_t)n;
    if (c->file_left == 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
}

/* Serve the file that path names under --root: 200 with the file, 301 to
 * add the slash a directory needs, 403 for anything that resolves outside
 * the root (a symlink, say), 404 if it does not exist. */
static void serve_file(struct conn *c, const struct http_request *req,
                       const char *path, bool head_only)
{
    char want[PATH_MAX], real[PATH_MAX];
    size_t plen = strlen(path);
    int n = snprintf(want, sizeof want, "%s%s%s", srv.root, path,
                     path[plen - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof want) {
        web_error(c, 414, "path too long", "", head_only);
        return;
    }
    if (!realpath(want, real)) {
        web_error(c, 404, "no such file", "", head_only);
        return;
    }
    /* The path had no ".." left, but a symlink inside the root may still
     * point out of it: only the resolved path tells. */
    size_t rlen = strlen(srv.root);
    if (strncmp(real, srv.root, rlen) != 0 || (real[rlen] != '/' && real[rlen] != '\0')) {
        web_error(c, 403, "path resolves outside the root", "", head_only);
        return;
    }
    struct stat st;
    if (stat(real, &st) != 0) {
        web_error(c, 404, "no such file", "", head_only);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        /* Relative links in /dir/index.html need the trailing slash.
         * Location is built from the raw target, which the parser allows
         * only printable ASCII into, so no header can be injected. */
        const char *q = memchr(req->target, '?', req->target_len);
        size_t pathpart = q ? (size_t)(q - req->target) : req->target_len;
        char loc[HTTP_MAX_REQUEST_LINE + 32];
        snprintf(loc, sizeof loc, "Location: %.*s/%.*s\r\n", (int)pathpart,
                 req->target, (int)(req->target_len - pathpart),
                 req->target + pathpart);
        web_error(c, 301, "directory needs a trailing slash", loc, head_only);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        web_error(c, 403, "not a regular file", "", head_only);
        return;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        web_error(c, 403, "cannot open file", "", head_only);
        return;
    }
    web_send_head(c, 200, http_mime_type(real), (uint64_t)st.st_size, "");
    c->why = "ok";
    if (head_only || st.st_size == 0) {
        close(fd);
        return;
    }
    c->file_fd = fd;
    c->file_left = (uint64_t)st.st_size;
    web_file_refill(c);
}

/* The browser clients, built into the binary, so they are served
 * whatever --root is (as socket.io's serveClient option does): the
 * Socket.IO one, and with --faye the Bayeux one. */
extern const unsigned char client_js[], faye_js[];
extern const size_t client_js_len, faye_js_len;

static void serve_client_js(struct conn *c, const unsigned char *js, size_t len,
                            bool head_only)
{
    web_send_head(c, 200, "text/javascript; charset=utf-8", len, "");
    c->why = "ok";
    if (!head_only)
        conn_send(c, js, len);
}

/* ========================================================================
 * The upgrade
 * ======================================================================== */

/* Answer the upgrade (RFC 6455 §4.2.2) and turn c into an open WebSocket,
 * or refuse it with the status ws_check_upgrade chose. The caller learns
 * which from c->state: CONN_WS_OPEN, or still CONN_HTTP with an error
 * queued. */
void web_upgrade(struct conn *c, const struct http_request *req)
{
    assert(c->state == CONN_HTTP);
    char accept[WS_ACCEPT_LEN + 1];
    const char *why;
    int status = ws_check_upgrade(req, srv.opt.origins, accept, &why);
    if (status != 101) {
        web_error(c, status, why,
                  status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "", false);
        return;
    }
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "\r\n", accept);
    if (srv.opt.trace) {
        const char *peer = conn_peer_name(c);
        printf("%s -> HTTP/1.1 101 Switching Protocols\n", peer);
        printf("%s ->   Sec-WebSocket-Accept: %s"
               "  (base64 of SHA-1 of key + \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\")\n",
               peer, accept);
        fflush(stdout);
    }
    if (conn_send(c, resp, (size_t)n) != 0)
        return;
    metrics_http_response(101);
    conn_ws_open(c);
    conn_log(c, "websocket open %s", c->path);
}

/* ========================================================================
 * Routing
 * ======================================================================== */

/* Which handler a path belongs to. */
enum route { R_FILE, R_ECHO, R_ENGINE, R_CLIENT_JS, R_FAYE, R_FAYE_JS, R_API,
             R_METRICS, R_HEALTHZ };

/* req is needed only to tell Bayeux at "/" from the chat page. */
static enum route route_of(const char *path, const struct http_request *req)
{
    if (faye_client_path(path))
        return R_FAYE_JS;
    if (faye_route(path, req))
        return R_FAYE;
    if (strcmp(path, "/echo") == 0)
        return R_ECHO;
    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0)
        return R_API;
    if (strcmp(path, "/metrics") == 0)
        return R_METRICS;
    if (strcmp(path, "/healthz") == 0)
        return R_HEALTHZ;
    if (strcmp(path, "/socket.io/") == 0 || strcmp(path, "/socket.io") == 0)
        return R_ENGINE;
    /* Plain Engine.IO, for the engine.io-protocol test suite. */
    if (strcmp(srv.opt.app, "echo") == 0 &&
        (strcmp(path, "/engine.io/") == 0 || strcmp(path, "/engine.io") == 0))
        return R_ENGINE;
    if (strcmp(path, "/socket.io/socket.io.js") == 0)
        return R_CLIENT_JS;
    return R_FILE;
}

/* Route one request whose body, if any, is body[0..body_len). */
static void handle_request(struct conn *c, const struct http_request *req,
                           uint8_t *body, size_t body_len)
{
    assert(c->state == CONN_HTTP);
    size_t n = req->target_len < sizeof c->path - 1 ? req->target_len
                                                    : sizeof c->path - 1;
    memcpy(c->path, req->target, n);
    c->path[n] = '\0';
    if (srv.opt.trace)
        trace_request(c, req);

    /* Persistence, RFC 9112 §9.3: 1.1 keeps the connection unless told
     * "close"; 1.0 closes unless told "keep-alive". */
    const struct http_header *h = http_find_header(req, "Connection", NULL);
    if (req->minor_version >= 1)
        c->keep_alive = !(h && http_has_token(h->value, h->value_len, "close", 5));
    else
        c->keep_alive = h && http_has_token(h->value, h->value_len, "keep-alive", 10);

    bool head = http_method_is(req, "HEAD");
    /* RFC 9112 §3.2: a 1.1 request without exactly one Host is a 400. */
    int hosts;
    http_find_header(req, "Host", &hosts);
    if ((req->minor_version >= 1 && hosts != 1) || hosts > 1) {
        web_error(c, 400, "need exactly one Host header", "", head);
        return;
    }
    char path[HTTP_MAX_REQUEST_LINE];
    const char *why;
    int status = http_decode_path(req->target, req->target_len, path,
                                  sizeof path, &why);
    if (status != 0) {
        web_error(c, status, why, "", head);
        return;
    }
    enum route r = route_of(path, req);
    if (r == R_FAYE) {
        faye_request(c, req, body, body_len);
        return;
    }
    if (r == R_API) {
        api_request(c, req, path, body, body_len);
        return;
    }
    if (r == R_ENGINE) {
        char cors[1024];
        status = web_cors(req, cors, sizeof cors);
        if (status != 0) {
            engine_refuse(c, status);
            return;
        }
        if (http_method_is(req, "OPTIONS")) {
            serve_preflight(c, req, cors);
            return;
        }
        engine_request(c, req, cors, body, body_len);
        return;
    }
    if (req->content_length > 0)
        c->keep_alive = false; /* a body we do not read ends the connection */
    if (!http_method_is(req, "GET") && !head) {
        web_error(c, 405, "only GET and HEAD are served here",
                  "Allow: GET, HEAD\r\n", false);
        return;
    }
    switch (r) {
    case R_ECHO:
        web_upgrade(c, req);
        return;
    case R_CLIENT_JS:
        serve_client_js(c, client_js, client_js_len, head);
        return;
    case R_FAYE_JS:
        serve_client_js(c, faye_js, faye_js_len, head);
        return;
    case R_METRICS:
        metrics_serve(c, head);
        return;
    case R_HEALTHZ:
        healthz_serve(c, head);
        return;
    case R_FILE:
    case R_ENGINE:
    case R_FAYE:
    case R_API:
        break;
    }
    if (http_find_header(req, "Upgrade", NULL) ||
        http_find_header(req, "Sec-WebSocket-Key", NULL)) {
        web_error(c, 404, "no WebSocket endpoint here (try /echo or /socket.io/)",
                  "", head);
        return;
    }
    serve_file(c, req, path, head);
}

/* A POST to an Engine.IO path or to Bayeux, or a POST or PUT to the API:
 * the only requests whose body we read. */
static bool body_wanted(const struct http_request *req)
{
    char path[HTTP_MAX_REQUEST_LINE];
    const char *why;
    bool post = http_method_is(req, "POST"), put = http_method_is(req, "PUT");
    if (!(post || put) ||
        http_decode_path(req->target, req->target_len, path, sizeof path, &why) != 0)
        return false;
    enum route r = route_of(path, req);
    return r == R_API || (post && (r == R_ENGINE || r == R_FAYE));
}

/* True if req is for the REST API. */
static bool is_api(const struct http_request *req)
{
    char path[HTTP_MAX_REQUEST_LINE];
    const char *why;
    return http_decode_path(req->target, req->target_len, path, sizeof path, &why) == 0 &&
           route_of(path, req) == R_API;
}

/* Bayeux's and the API's bodies have no session to check before they
 * are read. */
static bool bayeux_post(const struct http_request *req)
{
    char path[HTTP_MAX_REQUEST_LINE];
    const char *why;
    if (http_decode_path(req->target, req->target_len, path, sizeof path, &why) != 0)
        return false;
    enum route r = route_of(path, req);
    return r == R_FAYE || r == R_API;
}

/* The request head at the start of c->msg is complete and its body has
 * all arrived behind it: parse the head again (it is small) and answer. */
static void finish_body(struct conn *c)
{
    struct http_request req;
    uint8_t *m = c->msg.data + c->msg.off;
    int n = http_parse_request((const char *)m, c->msg.len, &req);
    assert(n > 0 && (uint64_t)n + req.content_length == c->msg.len);
    handle_request(c, &req, m + n, (size_t)req.content_length);
    buf_consume(&c->msg, c->msg.len);
}

/* Parse and answer every complete request in data. Returns bytes used;
 * the loop keeps the rest and offers it again with more bytes. Stops
 * early while conn_http_busy(), or once the connection leaves HTTP. */
size_t web_input(struct conn *c, uint8_t *data, size_t len)
{
    size_t used = 0;
    if (c->body_left > 0) { /* a body is arriving into c->msg */
        size_t take = c->body_left < len ? (size_t)c->body_left : len;
        if (buf_append(&c->msg, data, take) != 0) {
            conn_kill(c, "out of memory");
            return len;
        }
        c->body_left -= take;
        used = take;
        if (c->body_left > 0)
            return used;
        finish_body(c);
        if (!conn_http_busy(c))
            next_request(c);
    }
    while (c->state == CONN_HTTP && !conn_http_busy(c) && used < len) {
        struct http_request req;
        int n = http_parse_request((const char *)data + used, len - used, &req);
        if (n == HTTP_NEED_MORE)
            break;
        if (n == HTTP_ERROR) {
            c->keep_alive = false;
            web_error(c, req.status, req.why, "", false);
            conn_drain(c);
            return len;
        }
        uint64_t body = req.content_length;
        size_t have = len - used - (size_t)n;
        bool wanted = body > 0 && body_wanted(&req);
        if (wanted && body > srv.opt.max_message) {
            /* Refused before it is read (RFC 9110 §15.5.14); the API
             * answers every error in JSON. */
            c->keep_alive = false;
            if (is_api(&req))
                api_refuse(c, 413, "request body over --max-message");
            else
                web_error(c, 413, "request body over --max-message", "", false);
            conn_drain(c);
            return len;
        }
        if (body > have && wanted) {
            if (!bayeux_post(&req) && engine_post_begin(c, &req) != 0) {
                c->keep_alive = false; /* the body would be read as requests */
                next_request(c);
                return len;
            }
            /* Keep head and body together until the body is all here. */
            if (srv.opt.trace) {
                printf("%s <- %.*s %.*s: %llu body bytes still to come\n",
                       conn_peer_name(c), (int)req.method_len, req.method,
                       (int)req.target_len, req.target,
                       (unsigned long long)(body - have));
                fflush(stdout);
            }
            if (buf_append(&c->msg, data + used, len - used) != 0) {
                conn_kill(c, "out of memory");
                return len;
            }
            c->body_left = body - have;
            return len;
        }
        if (body > have) {
            /* A body nobody reads: answer the head, then close. */
            handle_request(c, &req, NULL, 0);
            c->keep_alive = false;
            next_request(c);
            return len;
        }
        handle_request(c, &req, data + used + n, (size_t)body);
        used += (size_t)n + (size_t)body;
        if (!conn_http_busy(c))
            next_request(c);
    }
    return used;
}
