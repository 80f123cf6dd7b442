/* metrics.c -- /metrics in Prometheus's text format, and /healthz
 * SPDX-License-Identifier: MIT
 *
 * Two pages for whoever runs wshub. GET /metrics answers with every
 * counter and gauge below in the Prometheus text exposition format,
 * version 0.0.4, which Prometheus scrapes and `promtool check metrics`
 * checks; GET /healthz answers 200 "ok" while the server can do its work,
 * for a load balancer or a supervisor. Neither is a browser's business,
 * so --origin does not apply to them, and HEAD works on both.
 *
 * Counters (things that happened) are bumped by the rest of the server
 * through metrics.h, one call where each thing happens. Gauges (how
 * things are now) are asked of the modules that own them while the page
 * is written: the loop's connections (server.c), the hub's sessions,
 * Bayeux's clients (faye.c), the chat's rooms, the journal, /proc/self.
 *
 * The format, as this file writes it (one family):
 *
 *     # HELP wshub_websocket_closes_total WebSocket connections closed, by close code.
 *     # TYPE wshub_websocket_closes_total counter
 *     wshub_websocket_closes_total{code="1000"} 12
 *     wshub_websocket_closes_total{code="1006"} 1
 *
 * HELP and TYPE come first and once, then the family's samples together;
 * a label value escapes \ " and newline as \\ \" \n, a HELP text \ and
 * newline; every line ends in LF, the last one too. A histogram is
 * cumulative buckets NAME_bucket{le="..."}, up to le="+Inf", which equals
 * NAME_count, then NAME_sum. Names follow Prometheus's conventions:
 * the wshub_ prefix, base units (seconds, bytes) in the name, and _total
 * on every counter.
 *
 * A label set that never happened is left out rather than written as 0
 * (except the fixed ones, transport and kind, which are always all
 * there): Prometheus treats a series that appears as starting from 0.
 *
 * References: Prometheus, "Exposition formats" (text format 0.0.4),
 * "Metric and label naming"; RFC 9110 §15 (status codes); RFC 6455
 * §7.4 (close codes).
 */
#define _POSIX_C_SOURCE 200809L /* sysconf */
#include "conn.h"
#include "hub.h"
#include "journal.h"
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ========================================================================
 * The counters
 * ======================================================================== */

/* Limits of the label tables. Statuses are three digits (RFC 9110
 * §15): one slot each. Close codes 1000-1015 are the ones RFC 6455 §7.4
 * and its registry define: one slot each; the libraries' and
 * applications' own (3000-4999), which a peer chooses, share "other". */
#define STATUS_MIN 100
#define STATUS_MAX 599
#define STATUS_OTHER (STATUS_MAX - STATUS_MIN + 1) /* the slot after them */
#define CLOSE_MIN 1000
#define CLOSE_MAX 1015
#define CLOSE_OTHER (CLOSE_MAX - CLOSE_MIN + 1)

/* The API's methods and the statuses api.c answers with; any other
 * method or status is counted as "other". */
static const char *const api_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
};
static const int api_statuses[] = {
    200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 408, 411, 412, 413,
    415, 422, 431, 500, 501, 503,
};
#define API_METHODS (sizeof api_methods / sizeof api_methods[0])
#define API_STATUSES (sizeof api_statuses / sizeof api_statuses[0])

static const char *const transport_names[METRICS_TRANSPORTS] = {
    "websocket", "polling", "bayeux",
};

/* Everything counted. Each table has one more slot than it has labels:
 * the last is "other". */
static struct {
    uint64_t http[STATUS_OTHER + 1];                 /* responses by status */
    uint64_t closes[CLOSE_OTHER + 1];                /* WebSocket closes by code */
    uint64_t api[API_METHODS + 1][API_STATUSES + 1]; /* API requests */
    uint64_t msgs_in[METRICS_TRANSPORTS];            /* messages received */
    uint64_t msgs_out[METRICS_TRANSPORTS];           /* messages sent */
    uint64_t bytes_in[METRICS_TRANSPORTS];           /* their payload bytes */
    uint64_t bytes_out[METRICS_TRANSPORTS];
    uint64_t tls[2];                     /* TLS handshakes: [0] ok, [1] failed */
    size_t (*rooms)(void *ud);           /* the chat's rooms, or NULL */
    void *rooms_ud;
    const struct journal_stats *journal; /* the journal's counters, or NULL */
    bool (*journal_healthy)(void);       /* false: the journal cannot write */
} registry;

void metrics_http_response(int status)
{
    bool known = status >= STATUS_MIN && status <= STATUS_MAX;
    registry.http[known ? status - STATUS_MIN : STATUS_OTHER]++;
}

/* RFC 6455 §7.1.5: a connection that ended without a Close frame has
 * the close code 1006, so a code below 1000 (none set) counts as that. */
void metrics_ws_close(int code)
{
    if (code < CLOSE_MIN)
        code = WS_CLOSE_ABNORMAL;
    bool known = code <= CLOSE_MAX;
    registry.closes[known ? code - CLOSE_MIN : CLOSE_OTHER]++;
}

void metrics_messages(enum metrics_transport t, bool sent, size_t count,
                      size_t bytes)
{
    if (sent) {
        registry.msgs_out[t] += count;
        registry.bytes_out[t] += bytes;
    } else {
        registry.msgs_in[t] += count;
        registry.bytes_in[t] += bytes;
    }
}

void metrics_tls_handshake(bool ok)
{
    registry.tls[ok ? 0 : 1]++;
}

void metrics_api_request(const char *method, int status)
{
    size_t i = 0, k = 0;
    while (i < API_METHODS && strcmp(api_methods[i], method) != 0)
        i++;
    while (k < API_STATUSES && api_statuses[k] != status)
        k++;
    registry.api[i][k]++; /* i == API_METHODS, k == API_STATUSES: "other" */
}

void metrics_set_rooms(size_t (*rooms)(void *ud), void *ud)
{
    registry.rooms = rooms;
    registry.rooms_ud = ud;
}

void metrics_set_journal(const struct journal_stats *s, bool (*healthy)(void))
{
    registry.journal = s;
    registry.journal_healthy = healthy;
}

/* ========================================================================
 * Writing the page
 * ======================================================================== */

/* The page being written, in one buffer, sent once. */
struct page {
    struct buf text; /* the exposition so far */
    bool oom;        /* an allocation failed: the page is incomplete */
    int labels;      /* labels written so far on the current sample */
};

/* Append printf-style text. Out of memory is remembered in pg->oom and
 * checked once, at the end, so the writing code reads straight on. */
static void put(struct page *pg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct page *pg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (pg->oom || n < 0 || buf_reserve(&pg->text, (size_t)n + 1) != 0) {
        pg->oom = true;
        return;
    }
    char *end = (char *)pg->text.data + pg->text.off + pg->text.len;
    va_start(ap, fmt);
    vsnprintf(end, (size_t)n + 1, fmt, ap);
    va_end(ap);
    pg->text.len += (size_t)n;
}

/* Append n bytes as they are. */
static void put_bytes(struct page *pg, const char *p, size_t n)
{
    if (!pg->oom && buf_append(&pg->text, p, n) != 0)
        pg->oom = true;
}

/* Append s with the format's escapes: backslash and newline always,
 * and the double quote inside a label value (in_label). */
static void put_escaped(struct page *pg, const char *s, bool in_label)
{
    for (; *s; s++) {
        if (*s == '\\')
            put_bytes(pg, "\\\\", 2);
        else if (*s == '\n')
            put_bytes(pg, "\\n", 2);
        else if (*s == '"' && in_label)
            put_bytes(pg, "\\\"", 2);
        else
            put_bytes(pg, s, 1);
    }
}

/* A family's two header lines. type is "counter", "gauge" or
 * "histogram". */
static void family(struct page *pg, const char *name, const char *type,
                   const char *help)
{
    put(pg, "# HELP %s ", name);
    put_escaped(pg, help, false);
    put(pg, "\n# TYPE %s %s\n", name, type);
}

/* A sample line is written in three steps: its name, each label, then
 * its value, which ends the line. */
static void sample(struct page *pg, const char *name)
{
    put(pg, "%s", name);
    pg->labels = 0;
}

static void label(struct page *pg, const char *key, const char *value)
{
    put(pg, "%c%s=\"", pg->labels++ == 0 ? '{' : ',', key);
    put_escaped(pg, value, true);
    put(pg, "\"");
}

static void value_u64(struct page *pg, uint64_t v)
{
    put(pg, "%s %llu\n", pg->labels ? "}" : "", (unsigned long long)v);
}

/* Twelve significant digits: finer than anything measured here, and
 * short ("0.37", not "0.36999999999999999"). */
static void value_double(struct page *pg, double v)
{
    put(pg, "%s %.12g\n", pg->labels ? "}" : "", v);
}

/* A family of one unlabelled sample. */
static void single(struct page *pg, const char *name, const char *type,
                   const char *help, uint64_t v)
{
    family(pg, name, type, help);
    sample(pg, name);
    value_u64(pg, v);
}

/* A counter family with one sample per transport, all of them. */
static void by_transport(struct page *pg, const char *name, const char *help,
                         const uint64_t *v)
{
    family(pg, name, "counter", help);
    for (int t = 0; t < METRICS_TRANSPORTS; t++) {
        sample(pg, name);
        label(pg, "transport", transport_names[t]);
        value_u64(pg, v[t]);
    }
}

/* A counter family from a table of codes: v[i] counts code first + i,
 * v[other] the codes outside the table. Codes never seen are left out. */
static void by_code(struct page *pg, const char *name, const char *help,
                    const char *key, const uint64_t *v, int first, int other)
{
    char num[16];
    family(pg, name, "counter", help);
    for (int i = 0; i <= other; i++) {
        if (v[i] == 0)
            continue;
        snprintf(num, sizeof num, "%d", first + i);
        sample(pg, name);
        label(pg, key, i < other ? num : "other");
        value_u64(pg, v[i]);
    }
}

/* ========================================================================
 * The families
 * ======================================================================== */

/* Gauges asked of their owners now. */
static void write_state(struct page *pg)
{
    static const char *const kinds[] = {"http", "websocket", "polling"};
    size_t conns[3];
    loop_count_conns(&conns[0], &conns[1], &conns[2]);
    family(pg, "wshub_connections", "gauge",
           "Open client connections, by kind: websocket (upgraded), polling "
           "(an Engine.IO or Bayeux long-polling request in flight), http (the rest).");
    for (int k = 0; k < 3; k++) {
        sample(pg, "wshub_connections");
        label(pg, "kind", kinds[k]);
        value_u64(pg, conns[k]);
    }
    size_t polling;
    single(pg, "wshub_socketio_sessions", "gauge",
           "Engine.IO sessions open for the hub (Socket.IO), on either transport.",
           hub_sessions(srv.hub, &polling));
    single(pg, "wshub_bayeux_sessions", "gauge",
           "Bayeux (faye) client sessions open.", faye_sessions());
    family(pg, "wshub_rooms", "gauge", "Chat rooms that exist.");
    if (registry.rooms) {
        sample(pg, "wshub_rooms");
        value_u64(pg, registry.rooms(registry.rooms_ud));
    }
}

/* Messages and bytes, per transport. */
static void write_traffic(struct page *pg)
{
    by_transport(pg, "wshub_messages_received_total",
                 "Messages received from clients, by transport.", registry.msgs_in);
    by_transport(pg, "wshub_messages_sent_total",
                 "Messages sent to clients, by transport.", registry.msgs_out);
    by_transport(pg, "wshub_received_bytes_total",
                 "Payload bytes of the messages received, by transport.", registry.bytes_in);
    by_transport(pg, "wshub_sent_bytes_total",
                 "Payload bytes of the messages sent, by transport.", registry.bytes_out);
    single(pg, "wshub_volatile_dropped_total", "counter",
           "Volatile Socket.IO events not sent because the client was behind.",
           hub_volatile_dropped(srv.hub));
    family(pg, "wshub_tls_handshakes_total", "counter",
           "TLS handshakes (--tls-cert), by result: ok, or failed (refused, "
           "broken off, or not finished within --request-timeout).");
    for (int k = 0; k < 2; k++) {
        sample(pg, "wshub_tls_handshakes_total");
        label(pg, "result", k == 0 ? "ok" : "failed");
        value_u64(pg, registry.tls[k]);
    }
}

/* The tables: closes, responses, API requests. */
static void write_tables(struct page *pg)
{
    by_code(pg, "wshub_websocket_closes_total",
            "WebSocket connections closed, by close code (1006: no Close frame).",
            "code", registry.closes, CLOSE_MIN, CLOSE_OTHER);
    by_code(pg, "wshub_http_responses_total", "HTTP responses sent, by status code.",
            "status", registry.http, STATUS_MIN, STATUS_OTHER);
    char num[16];
    family(pg, "wshub_api_requests_total", "counter",
           "REST API requests answered, by method and status code.");
    for (size_t i = 0; i <= API_METHODS; i++) {
        for (size_t k = 0; k <= API_STATUSES; k++) {
            if (registry.api[i][k] == 0)
                continue;
            if (k < API_STATUSES)
                snprintf(num, sizeof num, "%d", api_statuses[k]);
            sample(pg, "wshub_api_requests_total");
            label(pg, "method", i < API_METHODS ? api_methods[i] : "other");
            label(pg, "status", k < API_STATUSES ? num : "other");
            value_u64(pg, registry.api[i][k]);
        }
    }
}

/* The journal's counters (journal.h): all 0 without --data. */
static void write_journal(struct page *pg)
{
    static const struct journal_stats none;
    const struct journal_stats *j = registry.journal ? registry.journal : &none;
    single(pg, "wshub_journal_writes_total", "counter",
           "Records appended to the journal (--data).", j->writes);
    single(pg, "wshub_journal_write_errors_total", "counter",
           "Journal appends that failed.", j->write_errors);
    const char *h = "wshub_journal_write_seconds";
    family(pg, h, "histogram", "Time the write(2) calls of one journal append took.");
    for (int i = 0; i <= JOURNAL_WRITE_BOUNDS; i++) {
        char le[32];
        if (i < JOURNAL_WRITE_BOUNDS)
            snprintf(le, sizeof le, "%g", journal_write_bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        sample(pg, "wshub_journal_write_seconds_bucket");
        label(pg, "le", le);
        value_u64(pg, j->write_seconds_bucket[i]); /* cumulative already */
    }
    sample(pg, "wshub_journal_write_seconds_sum");
    value_double(pg, j->write_seconds_sum);
    sample(pg, "wshub_journal_write_seconds_count");
    value_u64(pg, j->write_seconds_bucket[JOURNAL_WRITE_BOUNDS]);
    single(pg, "wshub_journal_fsyncs_total", "counter",
           "fdatasync calls on the journal (at most one a second).", j->fsyncs);
    single(pg, "wshub_journal_rewrites_total", "counter",
           "Journal rewrites completed (compaction to the live records).", j->rewrites);
    single(pg, "wshub_journal_size_bytes", "gauge",
           "Bytes in the journal file now.", j->size);
}

/* CPU time and resident memory, from Linux's /proc/self (proc(5)):
 * stat's fields 14 and 15 are user and system time in clock ticks,
 * statm's second is resident pages. A file that cannot be read leaves
 * its family without a sample. */
static void write_process(struct page *pg)
{
    char text[1024];
    family(pg, "wshub_process_cpu_seconds_total", "counter",
           "CPU time the process has used, user and system, in seconds.");
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    /* Field 2, the command name, is in parentheses and may hold spaces
     * or parentheses itself: the fields we want follow the last ')'. */
    const char *p = strrchr(text, ')');
    unsigned long utime, stime;
    long hz = sysconf(_SC_CLK_TCK);
    if (p && hz > 0 &&
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &utime, &stime) == 2) {
        sample(pg, "wshub_process_cpu_seconds_total");
        value_double(pg, (double)(utime + stime) / (double)hz);
    }
    family(pg, "wshub_process_resident_memory_bytes", "gauge",
           "Resident set size of the process, in bytes.");
    f = fopen("/proc/self/statm", "r");
    unsigned long size, resident;
    long pagesize = sysconf(_SC_PAGESIZE);
    if (f && pagesize > 0 && fscanf(f, "%lu %lu", &size, &resident) == 2) {
        sample(pg, "wshub_process_resident_memory_bytes");
        value_u64(pg, (uint64_t)resident * (uint64_t)pagesize);
    }
    if (f)
        fclose(f);
}

/* GET /metrics: the whole page, written into one buffer and sent once
 * (HEAD: its head only, with the same Content-Length). */
void metrics_serve(struct conn *c, bool head_only)
{
    struct page pg = {0};
    write_state(&pg);
    write_traffic(&pg);
    write_tables(&pg);
    write_journal(&pg);
    write_process(&pg);
    if (pg.oom) {
        buf_free(&pg.text);
        web_error(c, 500, "out of memory", "", head_only);
        return;
    }
    web_send_head(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                  pg.text.len, "Cache-Control: no-store\r\n");
    c->why = "metrics";
    if (!head_only)
        conn_send(c, pg.text.data + pg.text.off, pg.text.len);
    buf_free(&pg.text);
}

/* ========================================================================
 * /healthz
 * ======================================================================== */

/* GET /healthz: 200 "ok" while wshub can do its work, 503 once the
 * journal cannot be written (--data), since every post would then fail.
 * That the loop runs is shown by the answer itself: a loop that is stuck
 * answers nothing, and a prober's timeout counts that as down. */
void healthz_serve(struct conn *c, bool head_only)
{
    bool ok = !registry.journal_healthy || registry.journal_healthy();
    const char *body = ok ? "ok\n" : "journal not writable\n";
    size_t n = strlen(body);
    web_send_head(c, ok ? 200 : 503, "text/plain; charset=utf-8", n,
                  "Cache-Control: no-store\r\n");
    c->why = ok ? "healthz ok" : "healthz: journal not writable";
    if (!head_only)
        conn_send(c, body, n);
}
