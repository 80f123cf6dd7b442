/* check.h -- the smallest test harness that says what failed and where
 * SPDX-License-Identifier: MIT
 *
 * CHECK(cond) records a pass or prints the failing line; CHECK_EQ_INT and
 * CHECK_EQ_STR show both values. check_summary() prints the closing line
 * "N passed, N failed" and returns the exit status for main().
 * A table-driven test calls check_row() with each row's name, so that a
 * failure names the row as well as the test.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed, check_failed;
static const char *check_test = ""; /* the TEST that RUN is running */
static const char *check_case = ""; /* what a failure names: test or test/row */

#define TEST(name) static void name(void)
#define RUN(name) (check_test = check_case = #name, name())

/* From here on, failures read "FAIL test/row (...)"; check_row(NULL)
 * goes back to the test's own name. */
static inline void check_row(const char *row)
{
    static char name[256];
    if (!row) {
        check_case = check_test;
        return;
    }
    snprintf(name, sizeof name, "%s/%s", check_test, row);
    check_case = name;
}

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (cond) {                                                        \
            check_passed++;                                                \
        } else {                                                           \
            check_failed++;                                                \
            fprintf(stderr, "FAIL %s (%s:%d): %s\n", check_case, __FILE__, \
                    __LINE__, #cond);                                      \
        }                                                                  \
    } while (0)

#define CHECK_EQ_INT(got, want)                                            \
    do {                                                                   \
        long long g_ = (long long)(got), w_ = (long long)(want);           \
        if (g_ == w_) {                                                    \
            check_passed++;                                                \
        } else {                                                           \
            check_failed++;                                                \
            fprintf(stderr, "FAIL %s (%s:%d): %s is %lld, want %lld\n",    \
                    check_case, __FILE__, __LINE__, #got, g_, w_);         \
        }                                                                  \
    } while (0)

#define CHECK_EQ_STR(got, want)                                            \
    do {                                                                   \
        const char *g_ = (got), *w_ = (want);                              \
        if (g_ && w_ && strcmp(g_, w_) == 0) {                             \
            check_passed++;                                                \
        } else {                                                           \
            check_failed++;                                                \
            fprintf(stderr, "FAIL %s (%s:%d): %s is \"%s\", want \"%s\"\n",\
                    check_case, __FILE__, __LINE__, #got, g_ ? g_ : "NULL",\
                    w_ ? w_ : "NULL");                                     \
        }                                                                  \
    } while (0)

/* A heap block of exactly n bytes (one, for n == 0), contents unset, for
 * output that must not run past its size: under ASan a writer or reader
 * that goes one byte too far is caught at once. */
static inline void *exact_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        perror("malloc");
        exit(2);
    }
    return p;
}

/* A copy of p[0..n) in a block from exact_alloc. */
static inline unsigned char *exact_copy(const void *p, size_t n)
{
    unsigned char *q = exact_alloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}

static int check_summary(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

#endif
