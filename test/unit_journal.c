/* unit_journal.c -- journal.c checked on byte arrays and on real files
 * SPDX-License-Identifier: MIT
 *
 * The record parser is pure, so its tests are byte arrays: named rows,
 * each on a heap block of exactly its size (ASan catches a read one byte
 * past it), every truncation of a good record asking for more, and each
 * limit at its edge and one past it. The CRC is checked against the check
 * value every CRC-32 is tested with.
 *
 * The rest works on files, in a fresh directory under /tmp for each test.
 * The owner here is a small key-value model, not the chat: a record
 * {"k":N,"v":"..."} sets key N, {"k":N} deletes it, and only the last
 * record of each live key survives a rewrite. The crash points and the
 * lock need a second process: the child sets WSHUB_JOURNAL_CRASH before
 * journal_open, starts a rewrite and must die with 70; the parent then
 * reopens and finds every live record exactly once.
 *
 * Log lines the journal writes are caught in a file and checked where the
 * behaviour is that they are written; elsewhere they are kept off the
 * terminal.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv, fileno */

#include "../journal.h"
#include "../json.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Helpers: directories, files, the log
 * ------------------------------------------------------------------------ */

static char top[64];         /* this test's directory, from mkdtemp */
static char dir[96];         /* the DIR given to journal_open: top, or
                              * a directory inside it not made yet */
static char jpath[128];      /* dir/journal */
static char newpath[128];    /* dir/journal.new */

/* A fresh directory for one test; sub names a directory inside it that
 * does not exist yet, for journal_open to create, or NULL for itself. */
static const char *fresh_dir(const char *sub)
{
    snprintf(top, sizeof top, "/tmp/unit_journal.XXXXXX");
    if (!mkdtemp(top)) {
        perror("mkdtemp");
        exit(2);
    }
    if (sub)
        snprintf(dir, sizeof dir, "%s/%s", top, sub);
    else
        snprintf(dir, sizeof dir, "%s", top);
    snprintf(jpath, sizeof jpath, "%s/journal", dir);
    snprintf(newpath, sizeof newpath, "%s/journal.new", dir);
    return dir;
}

/* Remove what a test left: the two files and the directories. */
static void remove_dir(void)
{
    unlink(jpath);
    unlink(newpath);
    rmdir(dir);
    rmdir(top);
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n)) {
        perror(path);
        exit(2);
    }
    close(fd);
}

/* The whole file in a malloc'd block (NUL after it), its size in *n; NULL
 * if it does not exist. */
static char *read_whole(const char *path, size_t *n)
{
    *n = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    fstat(fd, &st);
    char *p = exact_alloc((size_t)st.st_size + 1);
    ssize_t got = read(fd, p, (size_t)st.st_size);
    close(fd);
    *n = got > 0 ? (size_t)got : 0;
    p[*n] = '\0';
    return p;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* The journal's log lines go to stderr. log_catch() sends them to a file
 * until log_release(), which returns what was written (static, reused). */
static int saved_stderr = -1;
static char log_text[64 * 1024];

static void log_catch(void)
{
    fflush(stderr);
    saved_stderr = dup(2);
    int fd = open("/tmp/unit_journal.log", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
}

static const char *log_release(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    size_t n;
    char *p = read_whole("/tmp/unit_journal.log", &n);
    unlink("/tmp/unit_journal.log");
    snprintf(log_text, sizeof log_text, "%s", p ? p : "");
    free(p);
    return log_text;
}

/* ------------------------------------------------------------------------
 * Helpers: records, and the owner (a key-value model)
 * ------------------------------------------------------------------------ */

/* One framed line for json, as journal.h draws it, in out; its length. */
static size_t frame_line(char *out, const char *json)
{
    return (size_t)sprintf(out, "%08lx %s\n",
                           (unsigned long)journal_crc32(json, strlen(json)), json);
}

#define MODEL_KEYS 64
#define MODEL_MAX_RECS 4096

struct model {
    char *live[MODEL_KEYS];       /* the last record that set each key,
                                   * or NULL once deleted / never set */
    char *seen[MODEL_MAX_RECS];   /* every record replayed, in order */
    size_t nseen;                 /* records at seen */
    size_t refused;               /* records record() said -1 to */
    bool fail_dump;               /* dump() fails after one record */
};

static void model_free(struct model *m)
{
    for (size_t i = 0; i < MODEL_KEYS; i++)
        free(m->live[i]);
    for (size_t i = 0; i < m->nseen; i++)
        free(m->seen[i]);
    memset(m, 0, sizeof *m);
}

static char *dup_n(const char *s, size_t n)
{
    char *p = exact_alloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int model_record(void *ud, const char *json, size_t len)
{
    struct model *m = ud;
    if (m->nseen < MODEL_MAX_RECS)
        m->seen[m->nseen++] = dup_n(json, len);
    const char *v;
    size_t vl;
    int64_t k;
    if (json_get(json, len, "k", &v, &vl) != 0 ||
        json_int(v, vl, MODEL_KEYS - 1, &k) != 0) {
        m->refused++;
        return -1;
    }
    free(m->live[k]);
    m->live[k] = json_get(json, len, "v", &v, &vl) == 0 ? dup_n(json, len) : NULL;
    return 0;
}

static int model_dump(void *ud, struct journal_writer *w)
{
    struct model *m = ud;
    int written = 0;
    for (size_t k = 0; k < MODEL_KEYS; k++) {
        if (!m->live[k])
            continue;
        if (m->fail_dump && written == 1)
            return -1;
        if (journal_write_record(w, m->live[k], strlen(m->live[k])) != 0)
            return -1;
        written++;
    }
    return 0;
}

static uint64_t model_live_bytes(void *ud)
{
    struct model *m = ud;
    uint64_t sum = 0;
    for (size_t k = 0; k < MODEL_KEYS; k++) {
        if (m->live[k])
            sum += journal_record_size(strlen(m->live[k]));
    }
    return sum;
}

static size_t model_live_count(const struct model *m)
{
    size_t n = 0;
    for (size_t k = 0; k < MODEL_KEYS; k++)
        n += m->live[k] != NULL;
    return n;
}

static const struct journal_replay model_cb = {
    .record = model_record,
    .dump = model_dump,
    .live_bytes = model_live_bytes,
};

/* Set key k to a value whose text depends on round, through the journal
 * and the model both, as the chat does: journal first, then the state. */
static int model_set(struct journal *j, struct model *m, int k, int round)
{
    char rec[160];
    int n = snprintf(rec, sizeof rec,
                     "{\"k\":%d,\"v\":\"round %d of key %d, padded to be a line of some length\"}",
                     k, round, k);
    if (journal_append(j, rec, (size_t)n) != 0)
        return -1;
    free(m->live[k]);
    m->live[k] = dup_n(rec, (size_t)n);
    return 0;
}

/* The same with a value of exactly vlen bytes of 'x' after a prefix. */
static int model_set_long(struct journal *j, struct model *m, int k, int round,
                          size_t vlen)
{
    char rec[4096];
    int n = snprintf(rec, sizeof rec, "{\"k\":%d,\"v\":\"%d.%d:", k, round, k);
    if (n < 0 || (size_t)n + vlen + 2 >= sizeof rec)
        return -1;
    memset(rec + n, 'x', vlen);
    memcpy(rec + n + vlen, "\"}", 3);
    size_t len = (size_t)n + vlen + 2;
    if (journal_append(j, rec, len) != 0)
        return -1;
    free(m->live[k]);
    m->live[k] = dup_n(rec, len);
    return 0;
}

static struct journal *open_quiet(struct model *m)
{
    char err[256];
    log_catch();
    struct journal *j = journal_open(dir, &model_cb, m, err, sizeof err);
    log_release();
    if (!j)
        fprintf(stderr, "journal_open: %s\n", err);
    return j;
}

/* ------------------------------------------------------------------------
 * CRC-32 and the record parser, on byte arrays
 * ------------------------------------------------------------------------ */

TEST(crc32_gives_the_check_values)
{
    CHECK_EQ_INT(journal_crc32("123456789", 9), 0xcbf43926u);
    CHECK_EQ_INT(journal_crc32("", 0), 0);
    CHECK_EQ_INT(journal_crc32("The quick brown fox jumps over the lazy dog", 43),
                 0x414fa339u);
    CHECK_EQ_INT(journal_crc32("{}", 2), 0xa3a6bf43u); /* as zlib.crc32 */
}

struct parse_row {
    const char *name;
    const char *in;   /* the bytes, NUL-terminated unless in_len */
    size_t in_len;    /* 0: strlen(in) */
    long want;        /* bytes, JOURNAL_NEED_MORE or JOURNAL_BAD */
    const char *json; /* the object a good row gives */
};

static const struct parse_row parse_rows[] = {
    {"room_record", "7735eb98 {\"op\":\"room\",\"room\":\"general\"}\n", 0, 40,
     "{\"op\":\"room\",\"room\":\"general\"}"},
    {"post_record", "298d886d {\"op\":\"post\",\"msg\":{\"id\":1,\"text\":\"hi\"}}\n", 0,
     50, "{\"op\":\"post\",\"msg\":{\"id\":1,\"text\":\"hi\"}}"},
    {"empty_object_is_the_shortest", "a3a6bf43 {}\n", 0, 12, "{}"},
    {"takes_one_line_of_two", "a3a6bf43 {}\na3a6bf43 {}\n", 0, 12, "{}"},
    {"utf8_text", "f78f79f5 {\"t\":\"caf\xc3\xa9\"}\n", 0, 23, "{\"t\":\"caf\xc3\xa9\"}"},
    {"escape_in_text", "aed995d5 {\"a\":\"\\u00e9\"}\n", 0, 24, "{\"a\":\"\\u00e9\"}"},
    {"empty_input_needs_more", "", 0, JOURNAL_NEED_MORE, NULL},
    {"no_lf_needs_more", "7735eb98 {\"op\":\"room\"", 0, JOURNAL_NEED_MORE, NULL},
    {"whole_record_but_lf_needs_more", "a3a6bf43 {}", 0, JOURNAL_NEED_MORE, NULL},
    {"empty_line", "\n", 0, JOURNAL_BAD, NULL},
    {"crc_alone", "a3a6bf43\n", 0, JOURNAL_BAD, NULL},
    {"crc_and_space_alone", "a3a6bf43 \n", 0, JOURNAL_BAD, NULL},
    {"crc_mismatch", "a3a6bf44 {}\n", 0, JOURNAL_BAD, NULL},
    {"crc_of_other_text", "48466150 {\"k\":1,\"v\":\"b\"}\n", 0, JOURNAL_BAD, NULL},
    {"crc_upper_case", "A3A6BF43 {}\n", 0, JOURNAL_BAD, NULL},
    {"crc_seven_digits", "3a6bf43 {}\n", 0, JOURNAL_BAD, NULL},
    {"crc_not_hex", "a3a6bfx3 {}\n", 0, JOURNAL_BAD, NULL},
    {"tab_for_space", "a3a6bf43\t{}\n", 0, JOURNAL_BAD, NULL},
    {"two_spaces", "2573324e  {}\n", 0, JOURNAL_BAD, NULL},
    {"blank_after_object", "061a79d0 {} \n", 0, JOURNAL_BAD, NULL},
    {"cr_before_lf", "ea8c36e5 {\"a\":1}\r\n", 0, JOURNAL_BAD, NULL},
    {"array_not_object", "088b50bf [1,2]\n", 0, JOURNAL_BAD, NULL},
    {"string_not_object", "15fa204d \"s\"\n", 0, JOURNAL_BAD, NULL},
    {"unfinished_object", "6ab07ff3 {\"a\":\n", 0, JOURNAL_BAD, NULL},
    {"garbage_after_object", "0a09de2e {} x\n", 0, JOURNAL_BAD, NULL},
    {"two_objects", "1cfd0143 {\"a\":1}{\"b\":2}\n", 0, JOURNAL_BAD, NULL},
    {"nul_inside", "a3a6bf43 {\0}\n", 13, JOURNAL_BAD, NULL},
    {"zeros_of_a_power_cut", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16, JOURNAL_NEED_MORE, NULL},
};

TEST(parse_line_named_rows)
{
    for (size_t i = 0; i < sizeof parse_rows / sizeof parse_rows[0]; i++) {
        const struct parse_row *r = &parse_rows[i];
        check_row(r->name);
        size_t n = r->in_len ? r->in_len : strlen(r->in);
        char *p = (char *)exact_copy(r->in, n);
        const char *json = (const char *)1;
        size_t jlen = 99;
        long got = journal_parse_line(p, n, &json, &jlen);
        CHECK_EQ_INT(got, r->want);
        if (r->want > 0 && got == r->want) {
            CHECK(json == p + 9);
            CHECK_EQ_INT(jlen, strlen(r->json));
            CHECK(memcmp(json, r->json, jlen) == 0);
        } else {
            CHECK(json == NULL && jlen == 0);
        }
        free(p);
    }
    check_row(NULL);
}

/* picohttpparser's rule: a good input cut anywhere before its end is not
 * an error, only not yet whole. */
TEST(parse_line_every_truncation_of_a_good_record_needs_more)
{
    for (size_t i = 0; i < sizeof parse_rows / sizeof parse_rows[0]; i++) {
        const struct parse_row *r = &parse_rows[i];
        if (r->want <= 0)
            continue;
        check_row(r->name);
        for (size_t cut = 0; cut < (size_t)r->want; cut++) {
            char *p = (char *)exact_copy(r->in, cut);
            const char *json;
            size_t jlen;
            CHECK_EQ_INT(journal_parse_line(p, cut, &json, &jlen), JOURNAL_NEED_MORE);
            free(p);
        }
    }
    check_row(NULL);
}

/* A line of {"x":"aaa..."} framed to exactly total bytes, LF included. */
static char *line_of(size_t total)
{
    size_t jlen = total - JOURNAL_RECORD_OVERHEAD;
    char *json = exact_alloc(jlen + 1);
    memset(json, 'a', jlen);
    memcpy(json, "{\"x\":\"", 6);
    memcpy(json + jlen - 2, "\"}", 2);
    json[jlen] = '\0';
    char *line = exact_alloc(total + 1);
    size_t n = frame_line(line, json);
    free(json);
    CHECK_EQ_INT(n, total);
    return line;
}

TEST(parse_line_max_line_at_its_edge_and_one_past)
{
    const char *json;
    size_t jlen;

    char *at = line_of(JOURNAL_MAX_LINE);
    CHECK_EQ_INT(journal_parse_line(at, JOURNAL_MAX_LINE, &json, &jlen),
                 (long)JOURNAL_MAX_LINE);
    /* The same bytes without their LF: still under the limit, so more may
     * come. */
    CHECK_EQ_INT(journal_parse_line(at, JOURNAL_MAX_LINE - 1, &json, &jlen),
                 JOURNAL_NEED_MORE);
    free(at);

    char *past = line_of(JOURNAL_MAX_LINE + 1);
    CHECK_EQ_INT(journal_parse_line(past, JOURNAL_MAX_LINE + 1, &json, &jlen),
                 JOURNAL_BAD);
    /* JOURNAL_MAX_LINE bytes and no LF among them: it can never be a
     * record, however much follows. */
    CHECK_EQ_INT(journal_parse_line(past, JOURNAL_MAX_LINE, &json, &jlen), JOURNAL_BAD);
    free(past);
}

/* ------------------------------------------------------------------------
 * Appending and replaying
 * ------------------------------------------------------------------------ */

TEST(append_then_replay_round_trip)
{
    fresh_dir("data"); /* journal_open must create it */
    struct model m = {0};
    struct journal *j = open_quiet(&m);
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK_EQ_INT(m.nseen, 0);
    CHECK(journal_healthy(j));
    const char *first = "{\"op\":\"room\",\"room\":\"general\"}";
    CHECK_EQ_INT(journal_append(j, first, strlen(first)), 0);
    for (int i = 0; i < 40; i++)
        CHECK_EQ_INT(model_set(j, &m, i % MODEL_KEYS, i), 0);
    const struct journal_stats *st = journal_stats(j);
    CHECK_EQ_INT(st->writes, 41);
    CHECK_EQ_INT(st->write_seconds_bucket[JOURNAL_WRITE_BOUNDS], 41);
    CHECK(st->write_seconds_bucket[0] <= st->write_seconds_bucket[JOURNAL_WRITE_BOUNDS - 1]);
    CHECK(st->write_seconds_sum >= st->write_seconds_last);
    CHECK_EQ_INT(st->size, file_size(jpath));
    journal_close(j);

    /* The file is the text journal.h draws: less can show it. */
    size_t n;
    char *text = read_whole(jpath, &n);
    CHECK(text && strncmp(text, "7735eb98 {\"op\":\"room\",\"room\":\"general\"}\n", 40) == 0);
    free(text);

    struct model again = {0};
    j = open_quiet(&again);
    CHECK(j != NULL);
    if (j) {
        CHECK_EQ_INT(again.nseen, 41);
        CHECK_EQ_INT(journal_stats(j)->replayed, 41);
        CHECK_EQ_INT(journal_stats(j)->skipped, 0);
        CHECK_EQ_STR(again.seen[0], first);
        CHECK_EQ_INT(again.refused, 1); /* the room record has no "k" */
        for (int k = 0; k < MODEL_KEYS; k++)
            CHECK((m.live[k] == NULL) == (again.live[k] == NULL) &&
                  (!m.live[k] || strcmp(m.live[k], again.live[k]) == 0));
        journal_close(j);
    }
    model_free(&m);
    model_free(&again);
    remove_dir();
}

TEST(append_refuses_what_replay_could_not_read)
{
    fresh_dir(NULL);
    struct model m = {0};
    struct journal *j = open_quiet(&m);
    if (!j) {
        CHECK(j != NULL);
        return;
    }
    errno = 0;
    CHECK_EQ_INT(journal_append(j, "{\"a\":\"x\ny\"}", 11), -1);
    CHECK_EQ_INT(errno, EINVAL);
    errno = 0;
    CHECK_EQ_INT(journal_append(j, "[1,2]", 5), -1);
    CHECK_EQ_INT(errno, EINVAL);
    errno = 0;
    CHECK_EQ_INT(journal_append(j, " {}", 3), -1);
    CHECK_EQ_INT(errno, EINVAL);
    errno = 0;
    CHECK_EQ_INT(journal_append(j, "", 0), -1);
    CHECK_EQ_INT(errno, EINVAL);

    size_t big = JOURNAL_MAX_LINE - JOURNAL_RECORD_OVERHEAD + 1;
    char *huge = exact_alloc(big);
    memset(huge, 'a', big);
    memcpy(huge, "{\"x\":\"", 6);
    memcpy(huge + big - 2, "\"}", 2);
    errno = 0;
    CHECK_EQ_INT(journal_append(j, huge, big), -1);
    CHECK_EQ_INT(errno, EMSGSIZE);
    /* One byte less is the longest record there is, and it goes in. */
    memcpy(huge + big - 3, "\"}", 2);
    CHECK_EQ_INT(journal_append(j, huge, big - 1), 0);
    free(huge);

    CHECK(journal_healthy(j)); /* refusing bad input is not a disk fault */
    CHECK_EQ_INT(file_size(jpath), JOURNAL_MAX_LINE);
    journal_close(j);
    model_free(&m);
    remove_dir();
}

/* Three good records, then a last line a crash tore. */
struct torn_row {
    const char *name;
    const char *tail; /* NUL-terminated unless tail_len */
    size_t tail_len;  /* 0: strlen(tail) */
};

static const struct torn_row torn_rows[] = {
    {"no_lf", "48466150 {\"k\":1,\"v\":\"a\"}", 0},
    {"half_a_record", "4846615", 0},
    {"bad_crc", "48466151 {\"k\":1,\"v\":\"a\"}\n", 0},
    {"bad_json", "6ab07ff3 {\"a\":\n", 0},
    {"zeros_of_a_power_cut", "\0\0\0\0\0\0\0\0", 8},
};

/* The three good records for the torn and bad tests, framed into out. */
static size_t three_good(char *out, size_t ends[3])
{
    const char *recs[3] = {"{\"k\":1,\"v\":\"one\"}", "{\"k\":2,\"v\":\"two\"}",
                           "{\"k\":3,\"v\":\"three\"}"};
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        n += frame_line(out + n, recs[i]);
        ends[i] = n;
    }
    return n;
}

TEST(torn_last_record_is_skipped_logged_and_cut)
{
    for (size_t i = 0; i < sizeof torn_rows / sizeof torn_rows[0]; i++) {
        const struct torn_row *r = &torn_rows[i];
        check_row(r->name);
        fresh_dir(NULL);
        char file[512];
        size_t ends[3];
        size_t good = three_good(file, ends);
        size_t tlen = r->tail_len ? r->tail_len : strlen(r->tail);
        memcpy(file + good, r->tail, tlen);
        write_file(jpath, file, good + tlen);

        struct model m = {0};
        char err[256];
        log_catch();
        struct journal *j = journal_open(dir, &model_cb, &m, err, sizeof err);
        const char *log = log_release();
        CHECK(j != NULL);
        if (!j) {
            remove_dir();
            continue;
        }
        char want[128];
        snprintf(want, sizeof want,
                 "wshub: journal: torn last record at byte %zu skipped\n", good);
        CHECK(strstr(log, want) != NULL);
        CHECK(strstr(log, "bad record") == NULL);
        CHECK_EQ_INT(m.nseen, 3);
        CHECK_EQ_INT(journal_stats(j)->skipped, 1);
        CHECK_EQ_INT(file_size(jpath), good);

        /* The next record starts a line of its own. */
        CHECK_EQ_INT(model_set(j, &m, 4, 0), 0);
        journal_close(j);
        struct model again = {0};
        log_catch();
        j = journal_open(dir, &model_cb, &again, err, sizeof err);
        log = log_release();
        CHECK(j != NULL);
        CHECK_EQ_INT(again.nseen, 4);
        CHECK(strstr(log, "torn") == NULL);
        journal_close(j);
        model_free(&m);
        model_free(&again);
        remove_dir();
    }
    check_row(NULL);
}

TEST(bad_middle_record_is_skipped_and_kept)
{
    fresh_dir(NULL);
    char file[512];
    size_t ends[3];
    three_good(file, ends);
    /* good, bad, good, good: spoil a digit of the second record's CRC. */
    file[ends[0]] = file[ends[0]] == '0' ? '1' : '0';
    write_file(jpath, file, ends[2]);

    struct model m = {0};
    char err[256];
    log_catch();
    struct journal *j = journal_open(dir, &model_cb, &m, err, sizeof err);
    const char *log = log_release();
    CHECK(j != NULL);
    char want[128];
    snprintf(want, sizeof want, "wshub: journal: bad record at byte %zu skipped\n",
             ends[0]);
    CHECK(strstr(log, want) != NULL);
    CHECK(strstr(log, "torn") == NULL);
    CHECK_EQ_INT(m.nseen, 2);
    CHECK(m.live[1] && m.live[3] && !m.live[2]);
    CHECK_EQ_INT(file_size(jpath), ends[2]); /* not cut: good records follow */
    journal_close(j);
    model_free(&m);
    remove_dir();
}

TEST(bad_record_then_torn_one_are_both_logged_and_cut)
{
    fresh_dir(NULL);
    char file[512];
    size_t ends[3];
    three_good(file, ends);
    /* good, bad (with its LF), torn (without): cut after the good one. */
    file[ends[0]] = file[ends[0]] == '0' ? '1' : '0';
    write_file(jpath, file, ends[2] - 1);

    struct model m = {0};
    char err[256];
    log_catch();
    struct journal *j = journal_open(dir, &model_cb, &m, err, sizeof err);
    const char *log = log_release();
    CHECK(j != NULL);
    char want[128];
    snprintf(want, sizeof want, "bad record at byte %zu skipped", ends[0]);
    CHECK(strstr(log, want) != NULL);
    snprintf(want, sizeof want, "torn last record at byte %zu skipped", ends[1]);
    CHECK(strstr(log, want) != NULL);
    CHECK_EQ_INT(m.nseen, 1);
    CHECK_EQ_INT(file_size(jpath), ends[0]);
    journal_close(j);
    model_free(&m);
    remove_dir();
}

/* A line longer than JOURNAL_MAX_LINE is one bad record, skipped whole,
 * in the middle; at the end, without an LF, the torn last one. */
TEST(overlong_line_is_one_bad_record)
{
    size_t big = JOURNAL_MAX_LINE + 4096;
    char *file = exact_alloc(big + 512);
    size_t n = frame_line(file, "{\"k\":1,\"v\":\"before\"}");
    size_t long_at = n;
    memset(file + n, 'z', big);
    n += big;
    file[n++] = '\n';
    n += frame_line(file + n, "{\"k\":2,\"v\":\"after\"}");

    fresh_dir(NULL);
    write_file(jpath, file, n);
    struct model m = {0};
    char err[256];
    log_catch();
    struct journal *j = journal_open(dir, &model_cb, &m, err, sizeof err);
    const char *log = log_release();
    CHECK(j != NULL);
    char want[128];
    snprintf(want, sizeof want, "bad record at byte %zu skipped", long_at);
    CHECK(strstr(log, want) != NULL);
    CHECK_EQ_INT(m.nseen, 2);
    CHECK_EQ_INT(file_size(jpath), n);
    journal_close(j);
    model_free(&m);
    remove_dir();

    /* The same long line last, with no LF: torn, and cut. */
    fresh_dir(NULL);
    write_file(jpath, file, long_at + big);
    struct model m2 = {0};
    log_catch();
    j = journal_open(dir, &model_cb, &m2, err, sizeof err);
    log = log_release();
    CHECK(j != NULL);
    snprintf(want, sizeof want, "torn last record at byte %zu skipped", long_at);
    CHECK(strstr(log, want) != NULL);
    CHECK_EQ_INT(m2.nseen, 1);
    CHECK_EQ_INT(file_size(jpath), long_at);
    journal_close(j);
    model_free(&m2);
    remove_dir();
    free(file);
}

TEST(every_truncation_replays_a_prefix)
{
    const char *recs[] = {
        "{}",
        "{\"k\":1,\"v\":\"a\"}",
        "{\"k\":2,\"v\":\"caf\xc3\xa9 \\\"quoted\\\"\"}",
        "{\"op\":\"post\",\"msg\":{\"id\":1,\"text\":\"hi\",\"room\":\"general\"}}",
        "{\"k\":1}",
        "{\"a\":[1,2,{\"b\":null}],\"c\":true}",
    };
    size_t nrec = sizeof recs / sizeof recs[0];
    char file[1024];
    size_t ends[8], n = 0;
    for (size_t i = 0; i < nrec; i++) {
        n += frame_line(file + n, recs[i]);
        ends[i] = n;
    }
    fresh_dir(NULL);
    for (size_t cut = 0; cut <= n; cut++) {
        write_file(jpath, file, cut);
        size_t whole = 0; /* records whose LF is inside the cut */
        while (whole < nrec && ends[whole] <= cut)
            whole++;
        struct model m = {0};
        struct journal *j = open_quiet(&m);
        CHECK(j != NULL);
        if (!j)
            break;
        CHECK_EQ_INT(m.nseen, whole);
        for (size_t i = 0; i < m.nseen && i < whole; i++)
            CHECK_EQ_STR(m.seen[i], recs[i]);
        CHECK_EQ_INT(file_size(jpath), whole ? ends[whole - 1] : 0);
        journal_close(j);
        model_free(&m);
    }
    remove_dir();
}

TEST(leftover_journal_new_is_removed_at_open)
{
    fresh_dir(NULL);
    mkdir(dir, 0700);
    char line[128];
    size_t n = frame_line(line, "{\"k\":5,\"v\":\"kept\"}");
    write_file(jpath, line, n);
    write_file(newpath, "half a rewri", 12);

    struct model m = {0};
    char err[256];
    log_catch();
    struct journal *j = journal_open(dir, &model_cb, &m, err, sizeof err);
    const char *log = log_release();
    CHECK(j != NULL);
    CHECK(!exists(newpath));
    CHECK(strstr(log, "journal.new, left by a rewrite that did not finish") != NULL);
    CHECK_EQ_INT(m.nseen, 1);
    journal_close(j);
    model_free(&m);
    remove_dir();
}

/* ------------------------------------------------------------------------
 * The everysec flush and the rewrite
 * ------------------------------------------------------------------------ */

TEST(tick_flushes_at_most_once_a_second_and_only_when_written)
{
    fresh_dir(NULL);
    struct model m = {0};
    struct journal *j = open_quiet(&m);
    if (!j) {
        CHECK(j != NULL);
        return;
    }
    const struct journal_stats *st = journal_stats(j);
    journal_tick(j, 10000);
    CHECK_EQ_INT(st->fsyncs, 0); /* nothing written yet */
    model_set(j, &m, 1, 0);
    journal_tick(j, 10500);
    CHECK_EQ_INT(st->fsyncs, 0); /* under a second since the last tick */
    journal_tick(j, 11000);
    CHECK_EQ_INT(st->fsyncs, 1);
    model_set(j, &m, 1, 1);
    model_set(j, &m, 1, 2);
    journal_tick(j, 11999);
    CHECK_EQ_INT(st->fsyncs, 1);
    journal_tick(j, 12000);
    CHECK_EQ_INT(st->fsyncs, 2); /* one flush for both */
    journal_tick(j, 20000);
    CHECK_EQ_INT(st->fsyncs, 2);
    CHECK_EQ_INT(st->rewrites, 0); /* far under JOURNAL_REWRITE_MIN */
    journal_close(j);
    model_free(&m);
    remove_dir();
}

/* Write rounds over keys 0..keys-1 until the file passes bytes. */
static int fill(struct journal *j, struct model *m, int keys, long long bytes)
{
    int round = 0;
    while ((long long)journal_stats(j)->size <= bytes) {
        for (int k = 0; k < keys; k++) {
            if (model_set(j, m, k, round) != 0)
                return -1;
        }
        round++;
    }
    return 0;
}

TEST(rewrite_past_twice_live_keeps_exactly_the_live_records)
{
    fresh_dir(NULL);
    struct model m = {0};
    struct journal *j = open_quiet(&m);
    if (!j) {
        CHECK(j != NULL);
        return;
    }
    const struct journal_stats *st = journal_stats(j);
    int64_t now = 0;

    /* Mostly dead but under 64 KiB: left alone. */
    fill(j, &m, 20, JOURNAL_REWRITE_MIN - 2048);
    journal_tick(j, now += 1000);
    CHECK_EQ_INT(st->rewrites, 0);

    /* Past 64 KiB and past twice the live 20 records: rewritten. */
    fill(j, &m, 20, JOURNAL_REWRITE_MIN + 1024);
    /* A delete, so the rewrite must leave the key out. */
    CHECK_EQ_INT(journal_append(j, "{\"k\":7}", 7), 0);
    free(m.live[7]);
    m.live[7] = NULL;
    log_catch();
    journal_tick(j, now += 1000);
    log_release();
    CHECK_EQ_INT(st->rewrites, 1);
    CHECK_EQ_INT(st->size, model_live_bytes(&m));
    CHECK_EQ_INT(file_size(jpath), model_live_bytes(&m));
    CHECK(!exists(newpath));
    CHECK(journal_healthy(j));

    /* Straight after, nothing is due, though the live count is the file. */
    journal_tick(j, now += 1000);
    CHECK_EQ_INT(st->rewrites, 1);

    /* Appends now go to the new file. */
    CHECK_EQ_INT(model_set(j, &m, 30, 99), 0);
    journal_close(j);

    struct model again = {0};
    j = open_quiet(&again);
    CHECK(j != NULL);
    CHECK_EQ_INT(again.nseen, model_live_count(&m)); /* each live record once */
    CHECK_EQ_INT(again.refused, 0);
    for (int k = 0; k < MODEL_KEYS; k++)
        CHECK((m.live[k] == NULL) == (again.live[k] == NULL) &&
              (!m.live[k] || strcmp(m.live[k], again.live[k]) == 0));
    journal_close(j);
    model_free(&m);
    model_free(&again);
    remove_dir();
}

/* Over 64 KiB is not enough: the file must be over twice what lives. */
TEST(no_rewrite_until_the_file_is_over_twice_the_live_records)
{
    fresh_dir(NULL);
    struct model m = {0};
    struct journal *j = open_quiet(&m);
    if (!j) {
        CHECK(j != NULL);
        return;
    }
    const struct journal_stats *st = journal_stats(j);
    int64_t now = 0;
    for (int k = 0; k < MODEL_KEYS; k++)
        model_set_long(j, &m, k, 0, 2000); /* 128 KiB, all of it live */
    journal_tick(j, now += 1000);
    CHECK_EQ_INT(st->rewrites, 0);
    for (int k = 0; k < MODEL_KEYS; k++)
        model_set_long(j, &m, k, 1, 2000); /* exactly twice: not over */
    CHECK_EQ_INT(st->size, 2 * model_live_bytes(&m));
    journal_tick(j, now += 1000);
    CHECK_EQ_INT(st->rewrites, 0);
    CHECK_EQ_INT(journal_append(j, "{\"k\":0,\"v\":\"\"}", 14), 0); /* over */
    free(m.live[0]);
    m.live[0] = dup_n("{\"k\":0,\"v\":\"\"}", 14);
    journal_tick(j, now += 1000);
    CHECK_EQ_INT(st->rewrites, 1);
    CHECK_EQ_INT(st->size, model_live_bytes(&m));
    journal_close(j);
    model_free(&m);
    remove_dir();
}

TEST(failed_dump_keeps_the_old_journal)
{
    fresh_dir(NULL);
    struct model m = {0};
    struct journal *j = open_quiet(&m);
    if (!j) {
        CHECK(j != NULL);
        return;
    }
    fill(j, &m, 10, JOURNAL_REWRITE_MIN + 1024);
    long long before = file_size(jpath);
    m.fail_dump = true;
    log_catch();
    journal_tick(j, 1000);
    const char *log = log_release();
    CHECK(strstr(log, "rewrite abandoned") != NULL);
    CHECK_EQ_INT(journal_stats(j)->rewrites, 0);
    CHECK_EQ_INT(file_size(jpath), before);
    CHECK(!exists(newpath));
    CHECK(journal_healthy(j));
    /* It does not try again every second: it waits for more bytes. */
    m.fail_dump = false;
    journal_tick(j, 2000);
    CHECK_EQ_INT(journal_stats(j)->rewrites, 0);
    CHECK_EQ_INT(model_set(j, &m, 1, 1), 0);
    uint64_t records = journal_stats(j)->writes;
    journal_close(j);

    struct model again = {0};
    j = open_quiet(&again);
    CHECK(j != NULL);
    CHECK_EQ_INT(again.nseen, records); /* every record, none rewritten */
    for (int k = 0; k < MODEL_KEYS; k++)
        CHECK((m.live[k] == NULL) == (again.live[k] == NULL));
    journal_close(j);
    model_free(&m);
    model_free(&again);
    remove_dir();
}

/* ------------------------------------------------------------------------
 * In a second process: the crash points, the lock, a failing disk
 * ------------------------------------------------------------------------ */

/* Run fn in a child process; its exit status, or -1 if it was killed. */
static int in_child(int (*fn)(void *), void *arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0)
        _exit(fn(arg));
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The child of a crash test: arm the hook, open (replaying the journal
 * the parent wrote), and tick once, which starts a rewrite that must not
 * come back. Exits 70 from the hook, or 1 if it returned. */
static int crash_child(void *arg)
{
    char step[4];
    snprintf(step, sizeof step, "%d", *(int *)arg);
    setenv(JOURNAL_CRASH_ENV, step, 1);
    struct model m = {0};
    char err[256];
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    struct journal *j = journal_open(dir, &model_cb, &m, err, sizeof err);
    if (!j)
        return 2;
    journal_tick(j, 1000);
    return 1;
}

TEST(rewrite_interrupted_at_each_step_loses_nothing)
{
    for (int step = JOURNAL_CRASH_CREATED; step <= JOURNAL_CRASH_RENAMED; step++) {
        char name[32];
        snprintf(name, sizeof name, "step_%d", step);
        check_row(name);
        fresh_dir(NULL);

        /* A journal that a rewrite would shrink: 25 live keys, rewritten
         * again and again, and some deleted. */
        struct model m = {0};
        struct journal *j = open_quiet(&m);
        if (!j) {
            CHECK(j != NULL);
            continue;
        }
        fill(j, &m, 25, JOURNAL_REWRITE_MIN + 4096);
        for (int k = 0; k < 25; k += 5) {
            char del[32];
            int n = snprintf(del, sizeof del, "{\"k\":%d}", k);
            CHECK_EQ_INT(journal_append(j, del, (size_t)n), 0);
            free(m.live[k]);
            m.live[k] = NULL;
        }
        uint64_t records = journal_stats(j)->writes;
        journal_close(j);
        size_t old_len;
        char *old = read_whole(jpath, &old_len);

        CHECK_EQ_INT(in_child(crash_child, &step), JOURNAL_CRASH_EXIT);

        /* What the crash left on disk. */
        size_t now_len, new_len;
        char *now = read_whole(jpath, &now_len);
        char *part = read_whole(newpath, &new_len);
        if (step < JOURNAL_CRASH_RENAMED) {
            CHECK(now && now_len == old_len && memcmp(now, old, old_len) == 0);
            CHECK(part != NULL);
            if (step == JOURNAL_CRASH_CREATED)
                CHECK_EQ_INT(new_len, 0);
            if (step == JOURNAL_CRASH_HALF)
                CHECK(new_len > 0 && new_len < model_live_bytes(&m));
            if (step >= JOURNAL_CRASH_WRITTEN)
                CHECK_EQ_INT(new_len, model_live_bytes(&m));
        } else {
            CHECK(part == NULL);
            CHECK(now && now_len == model_live_bytes(&m));
        }
        free(now);
        free(part);
        free(old);

        /* The restart: the old journal whole, or the new one whole. */
        struct model again = {0};
        j = open_quiet(&again);
        CHECK(j != NULL);
        if (j) {
            CHECK(!exists(newpath));
            if (step < JOURNAL_CRASH_RENAMED)
                CHECK_EQ_INT(again.nseen, records);
            else
                CHECK_EQ_INT(again.nseen, model_live_count(&m));
            CHECK_EQ_INT(journal_stats(j)->skipped, 0);
            for (int k = 0; k < MODEL_KEYS; k++)
                CHECK((m.live[k] == NULL) == (again.live[k] == NULL) &&
                      (!m.live[k] || strcmp(m.live[k], again.live[k]) == 0));
            journal_close(j);
        }
        model_free(&m);
        model_free(&again);
        remove_dir();
    }
    check_row(NULL);
}

/* The child of the lock test: a second opener of the same DIR. */
static int second_opener(void *arg)
{
    (void)arg;
    struct model m = {0};
    char err[256];
    struct journal *j = journal_open(dir, &model_cb, &m, err, sizeof err);
    if (j) {
        journal_close(j);
        model_free(&m);
        return 1;
    }
    return strstr(err, "in use by another process") ? 0 : 3;
}

TEST(second_process_on_the_same_dir_is_refused)
{
    fresh_dir(NULL);
    struct model m = {0};
    struct journal *j = open_quiet(&m);
    CHECK(j != NULL);
    CHECK_EQ_INT(in_child(second_opener, NULL), 0);
    journal_close(j);
    /* Closed, the lock is gone, and the directory may be opened again. */
    CHECK_EQ_INT(in_child(second_opener, NULL), 1);
    model_free(&m);
    remove_dir();
}

/* The child of the failing-disk test: RLIMIT_FSIZE plays a full disk.
 * write(2) writes what fits below the limit and then fails with EFBIG,
 * so the record is torn mid-write; the journal must report the failure,
 * cut the piece off, and recover once the "disk" has room. Returns the
 * number of failed checks. */
static int full_disk_child(void *arg)
{
    (void)arg;
    int failed = 0;
    signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of a killed process */
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    struct model m = {0};
    char err[256];
    struct journal *j = journal_open(dir, &model_cb, &m, err, sizeof err);
    if (!j)
        return 100;
    failed += model_set(j, &m, 1, 0) != 0;
    long long good = file_size(jpath);
    struct rlimit old, small;
    getrlimit(RLIMIT_FSIZE, &old);
    small = old;
    small.rlim_cur = (rlim_t)good + 20; /* room for part of a record */
    setrlimit(RLIMIT_FSIZE, &small);
    errno = 0;
    failed += model_set(j, &m, 2, 0) != -1;
    failed += errno != EFBIG;
    failed += journal_healthy(j);
    failed += file_size(jpath) != good; /* the torn piece is gone */
    failed += journal_stats(j)->write_errors != 1;
    setrlimit(RLIMIT_FSIZE, &old);
    failed += model_set(j, &m, 3, 0) != 0;
    failed += !journal_healthy(j);
    journal_close(j);

    struct model again = {0};
    j = journal_open(dir, &model_cb, &again, err, sizeof err);
    if (!j)
        return 101;
    failed += again.nseen != 2;
    failed += journal_stats(j)->skipped != 0;
    journal_close(j);
    model_free(&m);
    model_free(&again);
    return failed;
}

TEST(failed_write_is_reported_cut_off_and_recovered_from)
{
    fresh_dir(NULL);
    CHECK_EQ_INT(in_child(full_disk_child, NULL), 0);
    remove_dir();
}

int main(void)
{
    RUN(crc32_gives_the_check_values);
    RUN(parse_line_named_rows);
    RUN(parse_line_every_truncation_of_a_good_record_needs_more);
    RUN(parse_line_max_line_at_its_edge_and_one_past);
    RUN(append_then_replay_round_trip);
    RUN(append_refuses_what_replay_could_not_read);
    RUN(torn_last_record_is_skipped_logged_and_cut);
    RUN(bad_middle_record_is_skipped_and_kept);
    RUN(bad_record_then_torn_one_are_both_logged_and_cut);
    RUN(overlong_line_is_one_bad_record);
    RUN(every_truncation_replays_a_prefix);
    RUN(leftover_journal_new_is_removed_at_open);
    RUN(tick_flushes_at_most_once_a_second_and_only_when_written);
    RUN(rewrite_past_twice_live_keeps_exactly_the_live_records);
    RUN(no_rewrite_until_the_file_is_over_twice_the_live_records);
    RUN(failed_dump_keeps_the_old_journal);
    RUN(rewrite_interrupted_at_each_step_loses_nothing);
    RUN(second_process_on_the_same_dir_is_refused);
    RUN(failed_write_is_reported_cut_off_and_recovered_from);
    return check_summary("unit_journal");
}
