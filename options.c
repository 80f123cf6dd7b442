/* options.c -- wshub's flags: their defaults, --help, and parsing
 * SPDX-License-Identifier: MIT
 *
 * Every limit and timing a user can change is a flag here, with its
 * default beside it and its range checked before the server starts; the
 * README's "Flags and limits" table says what a client sees at each.
 * Nothing here opens a socket. Also here: reading a secret (a write
 * token) from a file or the environment, for api.c and faye.c.
 */
#include "conn.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct options default_options = {
    .host = "127.0.0.1",
    .port = 8080,
    .root = "www",
    .trace = false,
    .max_message = 1000000,
    .max_conns = 10000,
    .max_buffered = 4 << 20,
    .origins = NULL,
    .ping_interval = 25000,
    .ping_timeout = 20000,
    .request_timeout = 10000,
    .close_timeout = 5000,
    .connect_timeout = 45000,
    .app = "chat",
    .redis = NULL,
    .redis_key = "socket.io",
    .redis_timeout = 5000,
    .admin = false,
    .admin_auth_file = NULL,
    .admin_readonly = false,
    .faye = NULL,
    .faye_token_file = NULL,
    .faye_timeout = 60,
    .faye_max_batch = 100,
    .faye_max_subs = 100,
    .faye_max_clients = 10000,
    .data_dir = NULL,
    .api_token_file = NULL,
    .tls_cert = NULL,
    .tls_key = NULL,
};


static void usage(FILE *f)
{
    fprintf(f,
        "usage: wshub [options]\n"
        "A WebSocket server (RFC 6455) and Socket.IO v5 event hub: it serves\n"
        "files, echoes on /echo, and runs an application on /socket.io/, over\n"
        "WebSocket or Engine.IO long-polling.\n"
        "\n"
        "  --host ADDR           address to listen on (127.0.0.1)\n"
        "  --port N              TCP port, 0 picks a free one (8080)\n"
        "  --root DIR            folder of static files (www)\n"
        "  --trace               print handshakes and frames, decoded\n"
        "  --max-message BYTES   largest message; bigger closes 1009, a bigger\n"
        "                        request body gets 413 (1000000)\n"
        "  --max-conns N         concurrent connections; more get 503 (10000)\n"
        "  --max-buffered BYTES  output others may queue to one client; past\n"
        "                        it the client is closed with 1008 (4194304)\n"
        "  --origin LIST         extra allowed Origins, comma-separated, or '*'\n"
        "                        (default: only the server's own Host)\n"
        "  --ping-interval MS    ping an open WebSocket (or Socket.IO session)\n"
        "                        this often (25000)\n"
        "  --ping-timeout MS     close if the pong takes longer (20000)\n"
        "  --request-timeout MS  time to send a whole request or handshake;\n"
        "                        after it: 408 and close (10000)\n"
        "  --close-timeout MS    wait this long for the reply to our Close (5000)\n"
        "  --app NAME            the Socket.IO application: chat or echo (chat);\n"
        "                        echo also serves plain Engine.IO at /engine.io/\n"
        "  --connect-timeout MS  close a Socket.IO session that has not joined\n"
        "                        a namespace in this time (45000)\n"
        "  --redis URL           join other nodes on Redis, as socket.io's Redis\n"
        "                        adapter does: redis://[:password@]HOST[:PORT][/DB]\n"
        "  --redis-key PREFIX    the adapter's channel prefix (socket.io)\n"
        "  --redis-timeout MS    wait this long for other nodes' answers (5000)\n"
        "  --admin               serve the Socket.IO Admin UI's protocol on /admin\n"
        "  --admin-auth-file FILE  its login, one line username:password\n"
        "                        (without it: loopback clients only)\n"
        "  --admin-readonly      the UI may look, not act\n"
        "  --faye PATH           serve faye's Bayeux pub/sub at PATH (e.g. /faye)\n"
        "  --faye-timeout S      hold a Bayeux connect this long (60)\n"
        "  --faye-token-file FILE  the token that /private/ channels need\n"
        "  --faye-max-batch N    messages in one request or frame; more: 413\n"
        "                        or close 1008 (100)\n"
        "  --faye-max-subs N     subscriptions per Bayeux client (100)\n"
        "  --faye-max-clients N  Bayeux sessions in all (10000)\n"
        "  --data DIR            keep the chat's rooms and messages in DIR/journal\n"
        "  --api-token-file FILE  the token REST API writes need (or the\n"
        "                        WSHUB_API_TOKEN environment variable)\n"
        "  --tls-cert FILE       speak TLS (https://, wss://) with this PEM\n"
        "                        certificate, or chain; SIGHUP reloads it\n"
        "  --tls-key FILE        ...and this PEM private key\n"
        "  --help, --version\n");
}

/* Parse a whole decimal number in [lo, hi]. Returns 0, or -1 with a
 * message on stderr. */
static int parse_num(const char *flag, const char *s, long long lo,
                     long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "wshub: %s wants a number from %lld to %lld, not '%s'\n",
                flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Fill opt from argv. Returns 0 to run, 1 if --help/--version was
 * answered, -1 on a bad flag. */
int options_parse(int argc, char **argv, struct options *opt)
{
    enum { O_HOST = 256, O_PORT, O_ROOT, O_TRACE, O_MAXMSG, O_MAXCONNS, O_MAXBUF,
           O_ORIGIN, O_PINGI, O_PINGT, O_REQT, O_CLOSET, O_APP, O_CONNT,
           O_REDIS, O_REDIS_KEY, O_REDIS_TIMEOUT, O_ADMIN, O_ADMIN_AUTH, O_ADMIN_RO,
           O_FAYE, O_FAYE_TIMEOUT, O_FAYE_TOKEN, O_FAYE_BATCH, O_FAYE_SUBS, O_FAYE_CLIENTS,
           O_DATA, O_API_TOKEN, O_TLS_CERT, O_TLS_KEY,
           O_HELP, O_VERSION };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"root", required_argument, NULL, O_ROOT},
        {"trace", no_argument, NULL, O_TRACE},
        {"max-message", required_argument, NULL, O_MAXMSG},
        {"max-conns", required_argument, NULL, O_MAXCONNS},
        {"max-buffered", required_argument, NULL, O_MAXBUF},
        {"origin", required_argument, NULL, O_ORIGIN},
        {"ping-interval", required_argument, NULL, O_PINGI},
        {"ping-timeout", required_argument, NULL, O_PINGT},
        {"request-timeout", required_argument, NULL, O_REQT},
        {"close-timeout", required_argument, NULL, O_CLOSET},
        {"app", required_argument, NULL, O_APP},
        {"connect-timeout", required_argument, NULL, O_CONNT},
        {"redis", required_argument, NULL, O_REDIS},
        {"redis-key", required_argument, NULL, O_REDIS_KEY},
        {"redis-timeout", required_argument, NULL, O_REDIS_TIMEOUT},
        {"admin", no_argument, NULL, O_ADMIN},
        {"admin-auth-file", required_argument, NULL, O_ADMIN_AUTH},
        {"admin-readonly", no_argument, NULL, O_ADMIN_RO},
        {"faye", required_argument, NULL, O_FAYE},
        {"faye-timeout", required_argument, NULL, O_FAYE_TIMEOUT},
        {"faye-token-file", required_argument, NULL, O_FAYE_TOKEN},
        {"faye-max-batch", required_argument, NULL, O_FAYE_BATCH},
        {"faye-max-subs", required_argument, NULL, O_FAYE_SUBS},
        {"faye-max-clients", required_argument, NULL, O_FAYE_CLIENTS},
        {"data", required_argument, NULL, O_DATA},
        {"api-token-file", required_argument, NULL, O_API_TOKEN},
        {"tls-cert", required_argument, NULL, O_TLS_CERT},
        {"tls-key", required_argument, NULL, O_TLS_KEY},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    *opt = default_options;
    int ch;
    long long v;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case O_HOST: opt->host = optarg; break;
        case O_ROOT: opt->root = optarg; break;
        case O_TRACE: opt->trace = true; break;
        case O_ORIGIN: opt->origins = optarg; break;
        case O_PORT:
            if (parse_num("--port", optarg, 0, 65535, &v)) return -1;
            opt->port = (int)v;
            break;
        case O_MAXMSG:
            if (parse_num("--max-message", optarg, 0, 1LL << 40, &v)) return -1;
            opt->max_message = (size_t)v;
            break;
        case O_MAXCONNS:
            if (parse_num("--max-conns", optarg, 1, 1000000, &v)) return -1;
            opt->max_conns = (size_t)v;
            break;
        case O_MAXBUF:
            if (parse_num("--max-buffered", optarg, 1024, 1LL << 40, &v)) return -1;
            opt->max_buffered = (size_t)v;
            break;
        case O_PINGI:
            if (parse_num("--ping-interval", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->ping_interval = (int)v;
            break;
        case O_PINGT:
            if (parse_num("--ping-timeout", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->ping_timeout = (int)v;
            break;
        case O_REQT:
            if (parse_num("--request-timeout", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->request_timeout = (int)v;
            break;
        case O_CLOSET:
            if (parse_num("--close-timeout", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->close_timeout = (int)v;
            break;
        case O_APP:
            if (strcmp(optarg, "chat") != 0 && strcmp(optarg, "echo") != 0) {
                fprintf(stderr, "wshub: --app is chat or echo, not '%s'\n", optarg);
                return -1;
            }
            opt->app = optarg;
            break;
        case O_CONNT:
            if (parse_num("--connect-timeout", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->connect_timeout = (int)v;
            break;
        case O_REDIS: opt->redis = optarg; break;
        case O_REDIS_KEY: opt->redis_key = optarg; break;
        case O_REDIS_TIMEOUT:
            if (parse_num("--redis-timeout", optarg, 1, INT_MAX / 2, &v)) return -1;
            opt->redis_timeout = (int)v;
            break;
        case O_ADMIN: opt->admin = true; break;
        case O_ADMIN_AUTH: opt->admin_auth_file = optarg; break;
        case O_ADMIN_RO: opt->admin_readonly = true; break;
        case O_FAYE: opt->faye = optarg; break;
        case O_FAYE_TOKEN: opt->faye_token_file = optarg; break;
        case O_FAYE_TIMEOUT:
            if (parse_num("--faye-timeout", optarg, 1, 3600, &v)) return -1;
            opt->faye_timeout = (int)v;
            break;
        case O_FAYE_BATCH:
            if (parse_num("--faye-max-batch", optarg, 1, 100000, &v)) return -1;
            opt->faye_max_batch = (size_t)v;
            break;
        case O_FAYE_SUBS:
            if (parse_num("--faye-max-subs", optarg, 1, 100000, &v)) return -1;
            opt->faye_max_subs = (size_t)v;
            break;
        case O_FAYE_CLIENTS:
            if (parse_num("--faye-max-clients", optarg, 1, 1000000, &v)) return -1;
            opt->faye_max_clients = (size_t)v;
            break;
        case O_DATA: opt->data_dir = optarg; break;
        case O_API_TOKEN: opt->api_token_file = optarg; break;
        case O_TLS_CERT: opt->tls_cert = optarg; break;
        case O_TLS_KEY: opt->tls_key = optarg; break;
        case O_HELP: usage(stdout); return 1;
        case O_VERSION: printf("wshub " WSHUB_VERSION "\n"); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wshub: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (!opt->tls_cert != !opt->tls_key) {
        fprintf(stderr, "wshub: %s needs %s as well\n",
                opt->tls_cert ? "--tls-cert" : "--tls-key",
                opt->tls_cert ? "--tls-key" : "--tls-cert");
        return -1;
    }
    return 0;
}

/* ========================================================================
 * Secrets: write tokens, read from a file or the environment
 * ======================================================================== */

/* Take a secret from p[0..n): its line end trimmed, then 1 to max bytes
 * with no CR, LF or NUL left inside, copied into out (max + 1 bytes, with
 * its NUL). Secrets come from files or the environment, never from a
 * flag's value, which any local user can read in ps. Returns its length,
 * or 0 if it is not one such line (out is then ""). */
size_t options_take_secret(const char *p, size_t n, char *out, size_t max)
{
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--; /* the line's own end */
    if (n == 0 || n > max || memchr(p, '\n', n) || memchr(p, '\r', n) || memchr(p, '\0', n)) {
        out[0] = '\0';
        return 0;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

/* Read the secret in file (see options_take_secret), for the flag named
 * flag. Returns its length, or 0 said on stderr. */
size_t options_read_secret(const char *flag, const char *file, char *out, size_t max)
{
    out[0] = '\0';
    char *buf = malloc(max + 3); /* a line of max, its CR LF, and one more */
    FILE *f = buf ? fopen(file, "r") : NULL;
    if (!f) {
        fprintf(stderr, "wshub: %s %s: %s\n", flag, file, buf ? "cannot open" : "out of memory");
        free(buf);
        return 0;
    }
    size_t n = fread(buf, 1, max + 3, f);
    fclose(f);
    size_t len = options_take_secret(buf, n, out, max);
    free(buf);
    if (len == 0)
        fprintf(stderr, "wshub: %s %s: want one line of 1 to %zu bytes\n", flag, file, max);
    return len;
}
