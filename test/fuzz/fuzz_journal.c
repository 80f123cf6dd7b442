/* fuzz_journal.c -- libFuzzer harness: the journal's record parser, and
 * the replay of a journal file with any content.
 * SPDX-License-Identifier: MIT
 *
 * The input is a journal file as a crash, a full disk or a hand edit
 * might leave it. Random bytes almost never carry a right CRC, so each
 * input is tried twice: as it is, and with the first 8 bytes of every
 * line rewritten to the CRC of what follows its ninth, so that the
 * fuzzer's changes to the JSON reach the object check and the owner. Each
 * version is first walked line by line with the pure parser,
 * on a heap block of exactly its size. Checked for each good record: it
 * ends in the LF the parser says, inside the input; its JSON starts after
 * the CRC and its space and is one object that json_scan accepts whole;
 * the CRC matches; framing the JSON again gives back the very same bytes
 * (one spelling); the same bytes less their LF need more. A bad line
 * either has an LF to skip to or is over JOURNAL_MAX_LINE; "need more"
 * means no LF is left.
 *
 * Then the same bytes are written to DIR/journal and opened for real.
 * Checked: the owner is handed exactly the good records the walk found,
 * in order; the file is cut to the end of the last of them and is
 * otherwise untouched; a record appended then, and the file opened again,
 * replays the same records plus that one, with only the bad records in
 * the middle skipped. Rewrites are not reached: the inputs are far under
 * JOURNAL_REWRITE_MIN (the unit tests drive them).
 *
 * The journal logs every torn input on stderr, which would bury
 * libFuzzer's own lines, so the stdio stream stderr is pointed at
 * /dev/null (set FUZZ_JOURNAL_LOG=1 to keep it). File descriptor 2 stays
 * as it is: libFuzzer kept its own FILE for it, and ASan writes its
 * reports straight to it. Assigning stderr is glibc's allowance, not
 * ISO C's; this harness only runs on Linux.
 */
#define _GNU_SOURCE /* mkdtemp; stderr as an assignable variable */

#include "../../journal.h"
#include "../../json.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];    /* a directory of our own, on tmpfs if there is one */
static char jpath[96];  /* dir/journal */

/* A heap block of exactly n bytes, so ASan sees a read past its end. */
static char *exact(const void *src, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (!p)
        abort();
    if (src && n)
        memcpy(p, src, n);
    return p;
}

static void cleanup(void)
{
    unlink(jpath);
    char newpath[128];
    snprintf(newpath, sizeof newpath, "%s/journal.new", dir);
    unlink(newpath);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/fuzz_journal.XXXXXX", base);
    if (!mkdtemp(dir))
        abort();
    snprintf(jpath, sizeof jpath, "%s/journal", dir);
    atexit(cleanup);
    if (!getenv("FUZZ_JOURNAL_LOG")) {
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull)
            stderr = devnull;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The walk: the pure parser over the whole input
 * ------------------------------------------------------------------------ */

struct span {
    size_t off; /* where the JSON starts in the input */
    size_t len; /* its bytes */
};

struct walk {
    struct span *good; /* the good records, in order */
    size_t ngood;
    size_t bad_before_end; /* bad lines before the last good record */
    size_t good_end;       /* offset just past the last good record */
};

static void check_good(const char *p, size_t n, long r, const char *json,
                       size_t jlen)
{
    size_t used = (size_t)r;
    if (used > n || used < 12 || p[used - 1] != '\n')
        abort();
    if (json != p + 9 || jlen != used - JOURNAL_RECORD_OVERHEAD || p[8] != ' ')
        abort();
    if (json[0] != '{' || json_type_of(json, jlen) != JSON_OBJECT ||
        json_scan(json, jlen, -1) != (long)jlen)
        abort();
    if (memchr(json, '\n', jlen))
        abort();
    char head[16];
    snprintf(head, sizeof head, "%08lx ", (unsigned long)journal_crc32(json, jlen));
    if (memcmp(head, p, 9) != 0)
        abort();

    char *cut = exact(p, used - 1);
    const char *j2;
    size_t l2;
    if (journal_parse_line(cut, used - 1, &j2, &l2) != JOURNAL_NEED_MORE ||
        j2 != NULL || l2 != 0)
        abort();
    free(cut);
}

static void walk(const char *buf, size_t size, struct walk *w)
{
    w->good = malloc((size / 12 + 1) * sizeof *w->good);
    if (!w->good)
        abort();
    w->ngood = 0;
    w->bad_before_end = 0;
    w->good_end = 0;
    size_t bad = 0, pos = 0;
    while (pos < size) {
        const char *json = (const char *)1;
        size_t jlen = 7;
        long r = journal_parse_line(buf + pos, size - pos, &json, &jlen);
        const char *lf = memchr(buf + pos, '\n', size - pos);
        if (r > 0) {
            check_good(buf + pos, size - pos, r, json, jlen);
            w->good[w->ngood].off = (size_t)(json - buf);
            w->good[w->ngood].len = jlen;
            w->ngood++;
            pos += (size_t)r;
            w->good_end = pos;
            w->bad_before_end = bad;
            continue;
        }
        if (json != NULL || jlen != 0)
            abort();
        if (r == JOURNAL_NEED_MORE) {
            if (lf || size - pos >= JOURNAL_MAX_LINE)
                abort();
            break;
        }
        if (r != JOURNAL_BAD)
            abort();
        if (!lf && size - pos < JOURNAL_MAX_LINE)
            abort(); /* bad without an LF only when too long to be one */
        bad++;
        pos = lf ? (size_t)(lf - buf) + 1 : size;
    }
}

/* ------------------------------------------------------------------------
 * The replay: the same bytes as a file
 * ------------------------------------------------------------------------ */

struct seen {
    const char *input;   /* the fuzzer's bytes */
    const struct walk *w;
    size_t next;         /* the good record the next call must be */
    const char *extra;   /* one more record expected after them, or NULL */
};

static int on_record(void *ud, const char *json, size_t len)
{
    struct seen *s = ud;
    if (s->next < s->w->ngood) {
        const struct span *g = &s->w->good[s->next];
        if (len != g->len || memcmp(json, s->input + g->off, len) != 0)
            abort();
    } else if (s->next == s->w->ngood && s->extra) {
        if (len != strlen(s->extra) || memcmp(json, s->extra, len) != 0)
            abort();
    } else {
        abort(); /* more records than the file holds */
    }
    s->next++;
    return 0;
}

static const struct journal_replay cb = {on_record, NULL, NULL};

static void check_file_is(const char *want, size_t n)
{
    int fd = open(jpath, O_RDONLY);
    if (fd < 0)
        abort();
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size != n)
        abort();
    char *got = exact(NULL, n);
    if (n && read(fd, got, n) != (ssize_t)n)
        abort();
    close(fd);
    if (n && memcmp(got, want, n) != 0)
        abort();
    free(got);
}

static void replay_file(const char *buf, size_t size, const struct walk *w)
{
    int fd = open(jpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (size && write(fd, buf, size) != (ssize_t)size))
        abort();
    close(fd);

    char err[256];
    struct seen s = {buf, w, 0, NULL};
    struct journal *j = journal_open(dir, &cb, &s, err, sizeof err);
    if (!j || s.next != w->ngood)
        abort();
    const struct journal_stats *st = journal_stats(j);
    if (st->replayed != w->ngood || st->size != w->good_end || !journal_healthy(j))
        abort();
    check_file_is(buf, w->good_end); /* only the tail was cut */

    static const char extra[] = "{\"op\":\"room\",\"room\":\"after\"}";
    if (journal_append(j, extra, sizeof extra - 1) != 0)
        abort();
    journal_close(j);

    struct seen again = {buf, w, 0, extra};
    j = journal_open(dir, &cb, &again, err, sizeof err);
    if (!j || again.next != w->ngood + 1)
        abort();
    if (journal_stats(j)->skipped != w->bad_before_end)
        abort();
    journal_close(j);
    unlink(jpath);
}

/* A copy of data in which every line of 9 bytes or more starts with the
 * CRC of its bytes after the ninth (up to its LF, or the end). */
static char *with_right_crcs(const uint8_t *data, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    char *p = exact(data, size);
    size_t pos = 0;
    while (pos < size) {
        const char *lf = memchr(p + pos, '\n', size - pos);
        size_t end = lf ? (size_t)(lf - p) : size;
        if (end - pos >= 9) {
            uint32_t crc = journal_crc32(p + pos + 9, end - pos - 9);
            for (int i = 0; i < 8; i++)
                p[pos + (size_t)i] = hex[(crc >> (28 - 4 * i)) & 0xFu];
        }
        pos = end + 1;
    }
    return p;
}

static void check_one(const char *buf, size_t size)
{
    struct walk w;
    walk(buf, size, &w);
    replay_file(buf, size, &w);
    free(w.good);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = exact(data, size);
    check_one(raw, size);
    char *fixed = with_right_crcs(data, size);
    if (size && memcmp(fixed, raw, size) != 0)
        check_one(fixed, size);
    free(fixed);
    free(raw);
    return 0;
}
