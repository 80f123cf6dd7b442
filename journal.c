/* journal.c -- an append-only journal, one CRC-checked JSON record a line
 * SPDX-License-Identifier: MIT
 *
 * With --data DIR the chat keeps its rooms and messages in DIR/journal:
 * every change is one more line at the end (the format is drawn in
 * journal.h), and on start the lines are read back in order to rebuild
 * the state. This file owns that file and nothing else. It does not know
 * what a record says; its owner (chat.c) does, through the callbacks of
 * struct journal_replay.
 *
 * What it promises, and what it costs:
 *
 * - A record is in the kernel before journal_append returns. The owner
 *   appends before it acknowledges, so `kill -9` loses nothing that was
 *   acknowledged: the page cache belongs to the kernel, not the process.
 *
 * - The fsync policy is Redis's `appendfsync everysec`: journal_tick,
 *   called by the loop, runs fdatasync(2) at most once a second, and only
 *   if something was written since the last one. Never once per message:
 *   a flush to the disk takes from a fraction of a millisecond (an SSD
 *   with a cache it trusts) to tens of milliseconds (a spinning disk),
 *   and the single loop would wait that long for every message of every
 *   room. So a power cut or a kernel crash can lose the records of about
 *   the last second (the interval, plus the time one flush takes).
 *   Redis runs the flush in a background thread so that even this wait
 *   leaves its loop alone; we keep one thread, and name the price: on a
 *   slow disk the loop stalls for one fdatasync, once a second at most.
 *
 * - A torn record (a crash in the middle of a write, or the zeros a
 *   filesystem may leave after a power cut) is found on start by its
 *   missing LF or its CRC, logged, skipped, and cut off the file, so that
 *   new records follow a whole line. A bad record in the middle is logged
 *   and skipped; the server always starts.
 *
 * - The file would grow forever, since the chat keeps only the last 50
 *   messages of a room. When it is over twice the live content (and over
 *   JOURNAL_REWRITE_MIN), journal_tick asks the owner to write the live
 *   state into DIR/journal.new, fsyncs it, renames it over DIR/journal and
 *   fsyncs DIR. rename(2) replaces the name in one step, so at every
 *   instant the name DIR/journal is either the old file, whole, or the new
 *   one, whole and on disk: a crash at any point loses nothing, and a
 *   journal.new found on start is only an unfinished rewrite, removed.
 *   The rewrite runs in the loop, synchronously: it writes the live
 *   state once (at most 100 rooms of 50 messages), and Redis's reason to
 *   fork for it, a dataset of gigabytes, does not apply to us.
 *
 * Deliberately left out: checksums over the whole file, compression,
 * and more than one writer (a second process on the same DIR is refused
 * by an fcntl lock, not coordinated with).
 *
 * References: POSIX.1-2008 write() (partial writes, EINTR), fdatasync()
 * (synchronized I/O data integrity: the data and the file size, not the
 * times), rename() ("shall be atomic" with respect to the name), fsync()
 * of a directory to make a new or renamed entry durable, fcntl() F_SETLK;
 * RFC 1952 §8 (the CRC-32 of gzip and zlib, with its sample code); the
 * Redis manual, "Redis persistence", "Append-only file" and "Log
 * rewriting".
 */
#define _POSIX_C_SOURCE 200809L /* fdatasync, clock_gettime, O_CLOEXEC */

#include "journal.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_READ_CHUNK (64u * 1024) /* bytes replay reads at a time */
#define JOURNAL_WRITER_BUF JOURNAL_MAX_LINE /* a rewrite's output buffer:
                                             * any one record fits */

const double journal_write_bounds[JOURNAL_WRITE_BOUNDS] = {
    1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1,
};

struct journal {
    int fd;           /* DIR/journal, opened O_APPEND; holds our lock */
    char *dir;        /* DIR, fsync'd after a rename */
    char *path;       /* DIR/journal */
    char *new_path;   /* DIR/journal.new, which exists only mid-rewrite */
    const struct journal_replay *cb; /* the owner's callbacks */
    void *ud;         /* the owner's pointer, handed back to them */
    uint64_t rewrite_base; /* stats.size just after the last rewrite (0
                            * before any): the next one waits until the
                            * file has grown JOURNAL_REWRITE_MIN past it */
    char *line;       /* journal_append's room for one framed record */
    size_t line_cap;  /* bytes allocated at line */
    bool dirty;       /* written since the last fdatasync */
    bool tail_torn;   /* a failed append may have left part of a record
                       * past stats.size; cut it off before writing more */
    bool write_failed; /* the last append failed */
    bool sync_failed; /* a flush failed: unhealthy until a rewrite has
                       * put the whole live state on disk again */
    bool ticked;      /* journal_tick has done its work once */
    int64_t last_tick_ms; /* when it did, on the caller's clock */
    int crash_at;     /* test hook: the enum journal_crash_step to die at,
                       * from WSHUB_JOURNAL_CRASH at open; 0 for none */
    struct journal_stats stats; /* stats.size is the end of the last
                                 * whole record: the file's length,
                                 * unless tail_torn */
};

struct journal_writer {
    struct journal *j; /* the journal being rewritten */
    int fd;            /* DIR/journal.new */
    char *buf;         /* framed records not yet handed to write(2) */
    size_t used;       /* bytes at buf */
    uint64_t written;  /* bytes of records accepted so far, buffered or
                        * not: the new file's size when all is flushed */
    uint64_t half;     /* crash step 2 fires at the first record end at
                        * or past this many bytes */
    bool failed;       /* a record was refused or a write failed: the
                        * rewrite is abandoned */
    int saved_errno;   /* why it failed, for the log */
};

/* ========================================================================
 * CRC-32
 * ======================================================================== */

/* The CRC-32 of IEEE 802.3, as gzip and zlib compute it (RFC 1952 §8):
 * the polynomial 0x04C11DB7 taken bit-reversed (0xEDB88320), because the
 * bits of each byte are fed least significant first; the register starts
 * at all ones and is inverted at the end, so leading zero bytes still
 * count. The table holds the effect of eight shifts for each byte value,
 * so the loop takes a byte a step instead of a bit. It is computed the
 * first time it is needed; the process has one thread, so no lock. */
static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
    for (uint32_t byte = 0; byte < 256; byte++) {
        uint32_t c = byte;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[byte] = c;
    }
    crc_ready = true;
}

/* The CRC-32 of p[0..n). crc32("123456789") is cbf43926, the check value
 * every CRC-32 implementation is tested against. */
uint32_t journal_crc32(const void *p, size_t n)
{
    const unsigned char *b = p;
    if (!crc_ready)
        crc_init();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ b[i]) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ========================================================================
 * One record: framing it, and reading it back (pure)
 * ======================================================================== */

static int lower_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Read one record from the front of p[0..n): "<8 hex> <JSON object>\n".
 * Returns the bytes of the whole line, LF included, with *json and *jlen
 * set to the object's text inside p; JOURNAL_NEED_MORE when p holds no LF
 * (at the end of the file, that is a torn record); JOURNAL_BAD when the
 * line is not a good record: a CRC that is not 8 lowercase hex digits, no
 * space after it, text that is not exactly one JSON object, a CRC that
 * does not match, or no LF within JOURNAL_MAX_LINE bytes. After
 * JOURNAL_BAD the line, if it has an end, ends at the first LF in p; the
 * caller skips to it. Reads nothing outside p[0..n) and allocates nothing
 * (the CRC table, filled once, is the only state it touches). */
long journal_parse_line(const char *p, size_t n, const char **json,
                        size_t *jlen)
{
    *json = NULL;
    *jlen = 0;
    size_t window = n < JOURNAL_MAX_LINE ? n : JOURNAL_MAX_LINE;
    const char *lf = memchr(p, '\n', window);
    if (!lf)
        return n >= JOURNAL_MAX_LINE ? JOURNAL_BAD : JOURNAL_NEED_MORE;
    size_t line = (size_t)(lf - p); /* bytes before the LF */

    /* The shortest record is "xxxxxxxx {}": the frame less its LF, and
     * the two bytes of an empty object. */
    if (line < JOURNAL_RECORD_OVERHEAD - 1 + 2)
        return JOURNAL_BAD;
    uint32_t crc = 0;
    for (int i = 0; i < 8; i++) {
        int h = lower_hex(p[i]);
        if (h < 0)
            return JOURNAL_BAD;
        crc = crc << 4 | (uint32_t)h;
    }
    if (p[8] != ' ')
        return JOURNAL_BAD;

    /* An object, starting right after the space (no white space before
     * it, so there is one spelling) and ending right before the LF. No
     * raw LF can hide inside it: JSON strings refuse control bytes. */
    const char *obj = p + 9;
    size_t olen = line - 9;
    if (obj[0] != '{' || json_scan(obj, olen, -1) != (long)olen)
        return JOURNAL_BAD;
    if (journal_crc32(obj, olen) != crc)
        return JOURNAL_BAD;
    *json = obj;
    *jlen = olen;
    return (long)line + 1;
}

/* Write the framed record for json[0..len) at out, which has room for
 * journal_record_size(len) bytes, and check it with the very parser that
 * replay uses, so nothing is written that could not be read back (a raw
 * LF inside, text that is not one object). Returns 0, or -1 with errno
 * EINVAL. */
static int frame(char *out, const char *json, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t crc = journal_crc32(json, len);
    for (int i = 0; i < 8; i++) /* most significant digit first */
        out[i] = hex[(crc >> (28 - 4 * i)) & 0xFu];
    out[8] = ' ';
    if (len > 0)
        memcpy(out + JOURNAL_RECORD_OVERHEAD - 1, json, len);
    out[JOURNAL_RECORD_OVERHEAD - 1 + len] = '\n';

    size_t n = (size_t)journal_record_size(len);
    const char *j;
    size_t jl;
    if (journal_parse_line(out, n, &j, &jl) != (long)n) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* ========================================================================
 * Small I/O helpers
 * ======================================================================== */

/* Write all of p[0..n) to fd: write(2) may write less than asked (a full
 * disk, a signal) and must then be called again for the rest. Returns 0,
 * or -1 with errno from write(2): ENOSPC, EIO, EDQUOT, EFBIG ... */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) { /* not done by regular files; never spin on it */
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* dir + "/" + name in a malloc'd string, or NULL. */
static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

/* fsync the directory itself: a file's new name (from open's O_CREAT or
 * from rename) is data of the directory, not of the file. Returns 0, or
 * -1 with errno from open(2) or fsync(2). */
static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* Take an advisory write lock on the whole file, or fail at once with
 * EACCES or EAGAIN if another process holds one. The lock goes with the
 * process: kill -9 drops it. */
static int lock_file(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET; /* from the start, l_len 0: to any end */
    return fcntl(fd, F_SETLK, &fl);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Test hook: die here if WSHUB_JOURNAL_CRASH named this step. _exit, not
 * exit: no atexit handlers, no stdio flush, as near a crash as a process
 * can choose to come. */
static void crash_point(const struct journal *j, enum journal_crash_step step)
{
    if (j->crash_at == (int)step)
        _exit(JOURNAL_CRASH_EXIT);
}

/* WSHUB_JOURNAL_CRASH=1..5 from the environment, or 0. */
static int crash_step_from_env(void)
{
    const char *v = getenv(JOURNAL_CRASH_ENV);
    if (!v || !*v)
        return JOURNAL_CRASH_NONE;
    if (v[0] >= '1' && v[0] <= '5' && v[1] == '\0') {
        fprintf(stderr, "wshub: journal: test hook %s=%s: the next rewrite "
                "exits with %d at step %s\n", JOURNAL_CRASH_ENV, v,
                JOURNAL_CRASH_EXIT, v);
        return v[0] - '0';
    }
    fprintf(stderr, "wshub: journal: %s=%s ignored (want 1 to 5)\n",
            JOURNAL_CRASH_ENV, v);
    return JOURNAL_CRASH_NONE;
}

/* ========================================================================
 * Opening: replay
 * ======================================================================== */

/* Read DIR/journal from its first byte, handing each good record to the
 * owner, then cut off whatever follows the last good record. A bad
 * record is only "in the middle" once a later line is seen, so its log
 * line waits until then (pending); one still pending at the end, or bytes
 * with no LF, make the torn last record. Returns 0, or -1 with err set
 * when the file cannot be read or cut. */
static int replay(struct journal *j, char *err, size_t cap)
{
    size_t bcap = JOURNAL_READ_CHUNK;
    char *buf = malloc(bcap);
    if (!buf) {
        snprintf(err, cap, "%s: out of memory reading it", j->path);
        return -1;
    }
    uint64_t base = 0;     /* file offset of buf[0] */
    size_t len = 0;        /* bytes at buf */
    size_t pos = 0;        /* bytes of buf dealt with */
    uint64_t good_end = 0; /* file offset just past the last good record */
    int64_t pending = -1;  /* offset of a bad record not yet known not to
                            * be the last one, or -1 */
    bool skipping = false; /* inside a line longer than JOURNAL_MAX_LINE */
    bool eof = false;

    for (;;) {
        while (pos < len) {
            if (skipping) {
                const char *lf = memchr(buf + pos, '\n', len - pos);
                pos = lf ? (size_t)(lf - buf) + 1 : len;
                skipping = lf == NULL;
                continue;
            }
            const char *json;
            size_t jlen;
            long r = journal_parse_line(buf + pos, len - pos, &json, &jlen);
            if (r == JOURNAL_NEED_MORE)
                break;
            if (pending >= 0) {
                fprintf(stderr, "wshub: journal: bad record at byte %lld skipped\n",
                        (long long)pending);
                pending = -1;
            }
            if (r == JOURNAL_BAD) {
                pending = (int64_t)(base + pos);
                j->stats.skipped++;
                const char *lf = memchr(buf + pos, '\n', len - pos);
                pos = lf ? (size_t)(lf - buf) + 1 : len;
                skipping = lf == NULL;
                continue;
            }
            if (j->cb && j->cb->record && j->cb->record(j->ud, json, jlen) != 0)
                fprintf(stderr, "wshub: journal: record at byte %llu not "
                        "understood by its owner, skipped\n",
                        (unsigned long long)(base + pos));
            j->stats.replayed++;
            pos += (size_t)r;
            good_end = base + pos;
        }
        if (eof)
            break;

        /* Keep the unread tail of a line at the front, then read more. A
         * line that needs more is under JOURNAL_MAX_LINE bytes (the parser
         * calls a longer one bad), so the buffer never outgrows that. */
        memmove(buf, buf + pos, len - pos);
        base += pos;
        len -= pos;
        pos = 0;
        if (len == bcap) {
            size_t grown = bcap * 2 < JOURNAL_MAX_LINE ? bcap * 2 : JOURNAL_MAX_LINE;
            char *nb = realloc(buf, grown);
            if (!nb) {
                snprintf(err, cap, "%s: out of memory reading it", j->path);
                free(buf);
                return -1;
            }
            buf = nb;
            bcap = grown;
        }
        ssize_t got = read(j->fd, buf + len, bcap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(err, cap, "%s: cannot read it: %s", j->path, strerror(errno));
            free(buf);
            return -1;
        }
        if (got == 0)
            eof = true;
        len += (size_t)got;
    }
    free(buf);

    /* What is left: a line with no LF (torn, or the rest of one too long
     * to be a record), or a bad line that turned out to be the last. */
    uint64_t file_end = base + len;
    int64_t torn = -1;
    if (skipping || (pending >= 0 && pos == len)) {
        torn = pending;
    } else if (pos < len) {
        if (pending >= 0)
            fprintf(stderr, "wshub: journal: bad record at byte %lld skipped\n",
                    (long long)pending);
        torn = (int64_t)(base + pos);
        j->stats.skipped++;
    }
    if (torn >= 0)
        fprintf(stderr, "wshub: journal: torn last record at byte %lld skipped\n",
                (long long)torn);

    if (file_end > good_end) {
        if (ftruncate(j->fd, (off_t)good_end) != 0 || fdatasync(j->fd) != 0) {
            snprintf(err, cap, "%s: cannot cut it back to its last good "
                     "record: %s", j->path, strerror(errno));
            return -1;
        }
        fprintf(stderr, "wshub: journal: %s cut from %llu to %llu bytes, the "
                "end of its last good record\n", j->path,
                (unsigned long long)file_end, (unsigned long long)good_end);
    }
    j->stats.size = good_end;
    return 0;
}

/* Open the journal in dir, creating dir (one level, mode 0700) and
 * dir/journal (mode 0600: the chat's messages are its owner's to read)
 * if they are missing, and replay it through cb->record before
 * returning; see replay() for what is skipped and cut. A leftover
 * dir/journal.new, from a rewrite a crash interrupted, is removed: the
 * journal beside it is whole. The journal is locked against a second
 * process (fcntl). cb and ud are kept for the rewrites and must outlive
 * the journal. Reads WSHUB_JOURNAL_CRASH (the test hook) once, here.
 * Returns the journal, or NULL with a one-line reason in err[0..cap):
 * dir cannot be made, the file cannot be opened, locked, read or cut
 * back, or memory ran out. */
struct journal *journal_open(const char *dir, const struct journal_replay *cb,
                             void *ud, char *err, size_t cap)
{
    struct journal *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    j->fd = -1;
    j->cb = cb;
    j->ud = ud;
    j->dir = malloc(strlen(dir) + 1);
    j->path = join(dir, "journal");
    j->new_path = join(dir, "journal.new");
    if (!j->dir || !j->path || !j->new_path) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    memcpy(j->dir, dir, strlen(dir) + 1);

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, cap, "%s: cannot create it: %s", dir, strerror(errno));
        goto fail;
    }
    j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        snprintf(err, cap, "%s: %s", j->path, strerror(errno));
        goto fail;
    }
    if (lock_file(j->fd) != 0) {
        if (errno == EACCES || errno == EAGAIN)
            snprintf(err, cap, "%s: in use by another process", j->path);
        else
            snprintf(err, cap, "%s: cannot lock it: %s", j->path, strerror(errno));
        goto fail;
    }
    /* Only now, holding the lock: the journal.new of a live process is
     * not ours to remove. */
    if (unlink(j->new_path) == 0) {
        fprintf(stderr, "wshub: journal: removed %s, left by a rewrite that "
                "did not finish\n", j->new_path);
    } else if (errno != ENOENT) {
        snprintf(err, cap, "%s: cannot remove it: %s", j->new_path, strerror(errno));
        goto fail;
    }
    if (replay(j, err, cap) != 0)
        goto fail;
    /* The journal may be new, and its name must survive a power cut too. */
    if (fsync_dir(dir) != 0) {
        snprintf(err, cap, "%s: cannot fsync it: %s", dir, strerror(errno));
        goto fail;
    }
    j->crash_at = crash_step_from_env();
    return j;

fail:
    if (j->fd >= 0)
        close(j->fd);
    free(j->dir);
    free(j->path);
    free(j->new_path);
    free(j);
    return NULL;
}

/* ========================================================================
 * Appending
 * ======================================================================== */

/* Cut the file back to the end of the last whole record, after a failed
 * append may have left part of one there: the next record must start a
 * line, or it would be read back glued to the broken one and lost too. */
static int repair_tail(struct journal *j)
{
    if (ftruncate(j->fd, (off_t)j->stats.size) != 0)
        return -1;
    j->tail_torn = false;
    return 0;
}

static void observe_write(struct journal_stats *s, double secs)
{
    s->writes++;
    s->write_seconds_sum += secs;
    s->write_seconds_last = secs;
    for (int i = 0; i < JOURNAL_WRITE_BOUNDS; i++) {
        if (secs <= journal_write_bounds[i])
            s->write_seconds_bucket[i]++;
    }
    s->write_seconds_bucket[JOURNAL_WRITE_BOUNDS]++;
}

/* Append one record, json[0..len), one JSON object on one line, and
 * return only when all of it has been handed to the kernel by write(2):
 * the caller may then acknowledge it, and `kill -9` can no longer lose it
 * (a power cut still can, until the next journal_tick). Returns 0, or -1
 * with errno:
 *   EMSGSIZE  the record would be over JOURNAL_MAX_LINE; nothing written
 *   EINVAL    json is not one object on one line; nothing written
 *   ENOMEM    no memory to frame it; nothing written
 *   anything write(2) or ftruncate(2) sets (ENOSPC, EIO, ...): the disk
 *             refused it, and the journal is unhealthy until an append
 *             succeeds again. Whatever part of the record reached the file
 *             is cut off again, now or before the next append. */
int journal_append(struct journal *j, const char *json, size_t len)
{
    uint64_t n = journal_record_size(len);
    if (n > JOURNAL_MAX_LINE) {
        errno = EMSGSIZE;
        return -1;
    }
    if (n > j->line_cap) {
        char *grown = realloc(j->line, (size_t)n);
        if (!grown) {
            errno = ENOMEM;
            return -1;
        }
        j->line = grown;
        j->line_cap = (size_t)n;
    }
    if (frame(j->line, json, len) != 0)
        return -1;

    int rc = 0;
    double t0 = now_seconds();
    if (j->tail_torn)
        rc = repair_tail(j);
    if (rc == 0)
        rc = write_all(j->fd, j->line, (size_t)n);
    if (rc != 0) {
        int e = errno;
        j->tail_torn = true;
        (void)repair_tail(j); /* at once if it can; else before the next */
        if (!j->write_failed)
            fprintf(stderr, "wshub: journal: %s: write failed: %s\n", j->path,
                    strerror(e));
        j->write_failed = true;
        j->stats.write_errors++;
        errno = e;
        return -1;
    }
    observe_write(&j->stats, now_seconds() - t0);
    if (j->write_failed)
        fprintf(stderr, "wshub: journal: %s: writing again\n", j->path);
    j->write_failed = false;
    j->stats.size += n;
    j->dirty = true;
    return 0;
}

/* ========================================================================
 * Rewriting: the live state into journal.new, then over journal
 * ======================================================================== */

static int writer_fail(struct journal_writer *w, int e)
{
    w->failed = true;
    w->saved_errno = e;
    errno = e;
    return -1;
}

static int writer_flush(struct journal_writer *w)
{
    if (w->used > 0 && write_all(w->fd, w->buf, w->used) != 0)
        return writer_fail(w, errno);
    w->used = 0;
    return 0;
}

/* For the owner's dump(): add one live record, json[0..len), to the
 * journal being rewritten. Records are buffered and written in large
 * pieces; the order of the calls is the order replay will see. Returns
 * 0, or -1 with errno (EMSGSIZE, EINVAL as for journal_append, or from
 * write(2)); after a failure the rewrite is abandoned, every later call
 * returns -1 too, and dump() may simply stop. */
int journal_write_record(struct journal_writer *w, const char *json, size_t len)
{
    if (w->failed) {
        errno = w->saved_errno;
        return -1;
    }
    uint64_t n = journal_record_size(len);
    if (n > JOURNAL_MAX_LINE)
        return writer_fail(w, EMSGSIZE);
    if (w->used + n > JOURNAL_WRITER_BUF && writer_flush(w) != 0)
        return -1;
    if (frame(w->buf + w->used, json, len) != 0)
        return writer_fail(w, EINVAL);
    w->used += (size_t)n;
    w->written += n;
    if (w->j->crash_at == JOURNAL_CRASH_HALF && w->written >= w->half) {
        if (writer_flush(w) != 0)
            return -1;
        crash_point(w->j, JOURNAL_CRASH_HALF);
    }
    return 0;
}

/* Write the owner's live state into journal.new and put it in the
 * journal's place; the steps are the crash hook's. Until the rename
 * journal is untouched (and still appended to, by nobody: the loop is
 * here), so any failure before it only removes journal.new. After it,
 * the descriptor of journal.new simply becomes the journal's: it was
 * opened O_APPEND and locked for that, so there is no reopening that
 * could fail with the old file already gone. Returns 0 or -1 (logged;
 * the old journal is kept, and the next try waits for
 * JOURNAL_REWRITE_MIN more bytes). */
static int rewrite(struct journal *j)
{
    struct journal_writer w;
    memset(&w, 0, sizeof w);
    w.j = j;
    w.fd = -1;
    w.half = j->cb->live_bytes(j->ud) / 2;
    const char *step = "allocate its buffer";
    w.buf = malloc(JOURNAL_WRITER_BUF);
    if (!w.buf) {
        w.saved_errno = ENOMEM;
        goto fail;
    }

    step = "create it";
    w.fd = open(j->new_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (w.fd < 0 || lock_file(w.fd) != 0) {
        w.saved_errno = errno;
        goto fail;
    }
    crash_point(j, JOURNAL_CRASH_CREATED);

    step = "write the live records";
    if (j->cb->dump(j->ud, &w) != 0 && !w.failed) {
        step = "have the owner dump its state";
        writer_fail(&w, 0);
    }
    if (!w.failed)
        writer_flush(&w);
    if (w.failed)
        goto fail;
    crash_point(j, JOURNAL_CRASH_HALF); /* if too few records reached it */
    crash_point(j, JOURNAL_CRASH_WRITTEN);

    step = "fsync it";
    if (fsync(w.fd) != 0) {
        w.saved_errno = errno;
        goto fail;
    }
    crash_point(j, JOURNAL_CRASH_SYNCED);

    step = "rename it over the journal";
    if (rename(j->new_path, j->path) != 0) {
        w.saved_errno = errno;
        goto fail;
    }
    crash_point(j, JOURNAL_CRASH_RENAMED);

    /* The new file is the journal now, whole and on disk. */
    close(j->fd);
    j->fd = w.fd;
    j->stats.size = w.written;
    j->rewrite_base = w.written;
    j->dirty = false;
    j->tail_torn = false;
    j->sync_failed = false;
    j->stats.rewrites++;
    free(w.buf);
    if (fsync_dir(j->dir) != 0) {
        /* The rename may not survive a power cut, and the records written
         * from now on would be in a file that then has no name. */
        fprintf(stderr, "wshub: journal: %s: cannot fsync it after a rewrite: "
                "%s\n", j->dir, strerror(errno));
        j->sync_failed = true;
    }
    return 0;

fail:
    fprintf(stderr, "wshub: journal: rewrite abandoned, %s kept: %s: cannot "
            "%s%s%s\n", j->path, j->new_path, step, w.saved_errno ? ": " : "",
            w.saved_errno ? strerror(w.saved_errno) : "");
    if (w.fd >= 0)
        close(w.fd);
    (void)unlink(j->new_path);
    free(w.buf);
    j->rewrite_base = j->stats.size;
    return -1;
}

/* Whether the file has enough dead records to be worth a rewrite: over
 * twice what the owner says is alive, and JOURNAL_REWRITE_MIN past what
 * the last rewrite left (past 0 before any), so that an owner's estimate
 * that is off cannot make us rewrite every second. After a failed flush,
 * always: a rewrite is what makes everything durable again. */
static bool rewrite_due(const struct journal *j)
{
    if (!j->cb || !j->cb->dump || !j->cb->live_bytes)
        return false;
    if (j->sync_failed)
        return true;
    if (j->stats.size <= j->rewrite_base + JOURNAL_REWRITE_MIN)
        return false;
    return j->stats.size > 2 * j->cb->live_bytes(j->ud);
}

/* fdatasync(2): the records and the file's length, not its times, which
 * replay does not need. A failure may mean the kernel dropped the data
 * it could not write, and on Linux a second call can then succeed
 * without writing it (the error is reported once); so sync_failed stays
 * set until a rewrite has written the whole live state again. */
static void sync_now(struct journal *j)
{
    j->stats.fsyncs++;
    if (fdatasync(j->fd) != 0) {
        if (!j->sync_failed)
            fprintf(stderr, "wshub: journal: %s: fdatasync failed: %s\n",
                    j->path, strerror(errno));
        j->sync_failed = true;
        return;
    }
    j->dirty = false;
}

/* The loop's once-a-second work, the everysec policy: calls more often
 * than JOURNAL_SYNC_INTERVAL_MS return at once. Otherwise it flushes what
 * was written since the last flush, then rewrites the file if
 * rewrite_due() says so. The loop must call it at least once a second
 * while it runs (a 1 s timer), or the power-cut bound grows with the gap.
 * now_ms is any millisecond clock, the same one every call. */
void journal_tick(struct journal *j, int64_t now_ms)
{
    if (j->ticked && now_ms - j->last_tick_ms < JOURNAL_SYNC_INTERVAL_MS)
        return;
    j->ticked = true;
    j->last_tick_ms = now_ms;
    if (j->dirty)
        sync_now(j);
    if (rewrite_due(j))
        (void)rewrite(j);
}

/* ========================================================================
 * Health, counters, closing
 * ======================================================================== */

/* False while the journal cannot be trusted to keep what it is given:
 * the last append failed, or a flush failed and no rewrite has repaired
 * it yet. /healthz answers 503 then. */
bool journal_healthy(const struct journal *j)
{
    return !j->write_failed && !j->sync_failed && !j->tail_torn;
}

/* The counters, owned by the journal, valid until journal_close. */
const struct journal_stats *journal_stats(const struct journal *j)
{
    return &j->stats;
}

/* Flush what was written since the last tick (a clean shutdown loses
 * nothing even to a power cut right after it), close, free. NULL is
 * fine. */
void journal_close(struct journal *j)
{
    if (!j)
        return;
    if (j->dirty)
        sync_now(j);
    close(j->fd);
    free(j->line);
    free(j->dir);
    free(j->path);
    free(j->new_path);
    free(j);
}
