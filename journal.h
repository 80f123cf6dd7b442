/* journal.h -- an append-only journal of records, one per line: the
 * interface of journal.c
 * SPDX-License-Identifier: MIT
 *
 * The journal keeps records for an owner (the chat, with --data DIR) and
 * gives them back when the process starts again. It knows nothing of what
 * a record means: a record is one JSON object, and the owner decides what
 * it says ({"op":"post",...} and so on). The journal frames it, writes it,
 * makes it durable, reads it back, and now and then asks the owner to
 * write out everything still alive so the file stops growing.
 *
 * On disk, DIR/journal is text a student can read with `less`:
 *
 *   7735eb98 {"op":"room","room":"general"}\n
 *   936e3286 {"op":"delete","room":"general","id":1}\n
 *   ^^^^^^^^ ^                                      ^
 *   CRC-32   one space, then the JSON object        one LF ends it
 *
 * The CRC-32 (IEEE 802.3, the one zlib's crc32() computes) is of the
 * JSON text alone, written as 8 lowercase hex digits. A record therefore
 * costs JOURNAL_RECORD_OVERHEAD bytes more than its JSON. There is one
 * spelling: no leading zeros dropped, no upper case, no blank around the
 * JSON, no CR.
 *
 * Error convention, for the whole file: journal_open returns NULL with a
 * one-line reason in err; journal_append and journal_write_record return
 * 0 or -1 with errno set (see each one's comment in journal.c);
 * journal_parse_line returns the bytes of one good record (> 0),
 * JOURNAL_NEED_MORE (0) or JOURNAL_BAD (-1). Nothing here exits, except
 * the crash test hook (WSHUB_JOURNAL_CRASH, below), which exists to.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_NEED_MORE 0
#define JOURNAL_BAD (-1)

/* "%08x " before the JSON and "\n" after it. */
#define JOURNAL_RECORD_OVERHEAD 10

/* Limits. */
#define JOURNAL_MAX_LINE (1024u * 1024) /* bytes of one record, framing and
                                         * LF included: longer is refused
                                         * when written and a bad record
                                         * when read; it bounds the memory
                                         * replay needs for one line */
#define JOURNAL_REWRITE_MIN (64u * 1024) /* a file smaller than this is
                                          * never rewritten, however much
                                          * of it is dead, nor one that
                                          * grew less than this since the
                                          * last rewrite */
#define JOURNAL_SYNC_INTERVAL_MS 1000    /* journal_tick's fdatasync and
                                          * rewrite check: at most once
                                          * in this many ms */

/* Test hook, and only that: with WSHUB_JOURNAL_CRASH=N in the
 * environment when the journal is opened, the process calls
 * _exit(JOURNAL_CRASH_EXIT) at step N of the next rewrite, so a test can
 * kill it at each step and prove that a restart loses nothing. */
#define JOURNAL_CRASH_ENV "WSHUB_JOURNAL_CRASH"
#define JOURNAL_CRASH_EXIT 70
enum journal_crash_step {
    JOURNAL_CRASH_NONE = 0,
    JOURNAL_CRASH_CREATED = 1, /* journal.new exists, empty */
    JOURNAL_CRASH_HALF = 2,    /* about half the live records written */
    JOURNAL_CRASH_WRITTEN = 3, /* all of them written, not yet fsync'd */
    JOURNAL_CRASH_SYNCED = 4,  /* journal.new fsync'd, not yet renamed */
    JOURNAL_CRASH_RENAMED = 5  /* renamed over journal, DIR not fsync'd */
};

struct journal;        /* an open journal; see journal.c */
struct journal_writer; /* a rewrite in progress, handed to dump() */

/* What the owner provides. The struct must outlive the journal. */
struct journal_replay {
    /* Called by journal_open for each good record, in file order, with
     * the JSON object's text (not NUL-terminated, valid for the call
     * only). Returns 0, or -1 for a record the owner cannot use: the
     * journal logs its offset and goes on. */
    int (*record)(void *ud, const char *json, size_t len);
    /* Called by a rewrite: write every live record, in the order replay
     * must see them, with journal_write_record. Returns 0, or -1 to
     * abandon the rewrite (the old journal is kept). NULL: never rewrite. */
    int (*dump)(void *ud, struct journal_writer *w);
    /* The bytes dump() would write now: the sum over the live records of
     * journal_record_size(len). An estimate is fine; it only decides when
     * a rewrite is worth it. NULL: never rewrite. */
    uint64_t (*live_bytes)(void *ud);
};

/* Counters for /metrics. Latencies are of the write(2) calls of one
 * journal_append. The buckets are cumulative, as Prometheus's are:
 * write_seconds_bucket[i] counts the appends that took at most
 * journal_write_bounds[i] seconds, and the last one (+Inf) counts all. */
#define JOURNAL_WRITE_BOUNDS 6
extern const double journal_write_bounds[JOURNAL_WRITE_BOUNDS];

struct journal_stats {
    uint64_t writes;        /* records appended */
    uint64_t write_errors;  /* appends that failed */
    uint64_t fsyncs;        /* fdatasync calls by journal_tick */
    uint64_t rewrites;      /* rewrites completed */
    uint64_t replayed;      /* good records read by journal_open */
    uint64_t skipped;       /* bad or torn records journal_open skipped */
    uint64_t size;          /* bytes in DIR/journal now */
    double write_seconds_sum;  /* total time of the appends' writes */
    double write_seconds_last; /* the last append's */
    uint64_t write_seconds_bucket[JOURNAL_WRITE_BOUNDS + 1];
};

struct journal *journal_open(const char *dir, const struct journal_replay *cb,
                             void *ud, char *err, size_t cap);
int journal_append(struct journal *j, const char *json, size_t len);
void journal_tick(struct journal *j, int64_t now_ms);
int journal_write_record(struct journal_writer *w, const char *json,
                         size_t len);
bool journal_healthy(const struct journal *j);
const struct journal_stats *journal_stats(const struct journal *j);
void journal_close(struct journal *j);

/* Pure: no I/O, no allocation. */
long journal_parse_line(const char *p, size_t n, const char **json,
                        size_t *jlen);
uint32_t journal_crc32(const void *p, size_t n);

/* The bytes a record of len bytes of JSON takes in the file. */
static inline uint64_t journal_record_size(size_t len)
{
    return (uint64_t)len + JOURNAL_RECORD_OVERHEAD;
}

#endif
