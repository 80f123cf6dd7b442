/* ex01.c -- the lab's check for exercise 1: a frame decoded by hand
 * SPDX-License-Identifier: MIT
 *
 * Reads the student's answers from lab/mine/ex01-frame.txt ("name = value"
 * lines) and compares each with what wshub's own decoder finds in the same
 * twelve bytes: ws_parse_header() for the §5.2 header, ws_unmask() for the
 * payload, ws_parse_close() for the §5.5.1 body. A wrong answer is named
 * without the right one: the point is to find it.
 */
#include "../../ws.h"
#include "../../test/check.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ANSWERS "lab/mine/ex01-frame.txt"

/* The captured frame; the same bytes are printed in ANSWERS. */
static const uint8_t captured[] = {0x88, 0x86, 0x37, 0xfa, 0x21, 0x3d,
                                   0x34, 0x13, 0x43, 0x44, 0x52, 0xdb};

static char answers[16][2][128]; /* name, value */
static int nanswers;

/* Read ANSWERS: every "name = value" line outside comments. Returns 0 or -1. */
static int read_answers(void)
{
    FILE *f = fopen(ANSWERS, "r");
    char line[256];
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f) && nanswers < 16) {
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        char *name = line, *value = eq + 1;
        while (isspace((unsigned char)*name))
            name++;
        while (isspace((unsigned char)*value))
            value++;
        for (char *e = name + strlen(name); e > name && isspace((unsigned char)e[-1]);)
            *--e = '\0';
        for (char *e = value + strlen(value); e > value && isspace((unsigned char)e[-1]);)
            *--e = '\0';
        snprintf(answers[nanswers][0], sizeof answers[0][0], "%s", name);
        snprintf(answers[nanswers][1], sizeof answers[0][1], "%s", value);
        nanswers++;
    }
    fclose(f);
    return 0;
}

/* The student's value for name, or "" if the line is missing. */
static const char *answer(const char *name)
{
    for (int i = 0; i < nanswers; i++) {
        if (strcmp(answers[i][0], name) == 0)
            return answers[i][1];
    }
    return "";
}

/* Judge one field: ok says whether the student's value agrees. */
static void judge(const char *name, bool ok)
{
    const char *v = answer(name);
    if (!*v) {
        check_failed++;
        fprintf(stderr, "FAIL ex01/%s: not filled in yet (" ANSWERS ")\n", name);
    } else if (!ok) {
        check_failed++;
        fprintf(stderr, "FAIL ex01/%s: \"%s\" is not what ws.c's decoder finds\n", name, v);
    } else {
        check_passed++;
    }
}

/* A bit written as 1/0, yes/no or true/false: 1, 0, or -1 if neither. */
static int bit(const char *v)
{
    if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true"))
        return 1;
    if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false"))
        return 0;
    return -1;
}

/* A whole number in decimal (or 0x hex); -1 if it is not one. */
static long number(const char *v)
{
    char *end;
    long x = strtol(v, &end, 0);
    return *v && *end == '\0' && x >= 0 ? x : -1;
}

int main(void)
{
    if (read_answers() != 0) {
        fprintf(stderr, "FAIL ex01: cannot read " ANSWERS "\n");
        return 1;
    }
    struct ws_header h;
    int n = ws_parse_header(captured, sizeof captured, &h);
    if (n <= 0) {
        fprintf(stderr, "FAIL ex01: ws_parse_header refuses the captured frame (%d)\n", n);
        return 1;
    }
    uint8_t payload[sizeof captured];
    size_t plen = sizeof captured - (size_t)n;
    memcpy(payload, captured + n, plen);
    ws_unmask(payload, plen, h.mask, 0);
    uint16_t code = 0;
    const uint8_t *reason;
    size_t rlen;
    if (ws_parse_close(payload, plen, &code, &reason, &rlen) != 0) {
        fprintf(stderr, "FAIL ex01: ws_parse_close refuses the captured close body\n");
        return 1;
    }

    judge("fin", bit(answer("fin")) == h.fin);
    judge("rsv", number(answer("rsv")) == h.rsv);
    const char *op = answer("opcode");
    judge("opcode", number(op) == h.opcode || !strcasecmp(op, ws_opcode_name(h.opcode)));
    judge("masked", bit(answer("masked")) == h.masked);
    char key[16];
    snprintf(key, sizeof key, "%02x%02x%02x%02x", h.mask[0], h.mask[1], h.mask[2], h.mask[3]);
    char given[32] = "";
    size_t k = 0;
    for (const char *p = answer("mask_key"); *p && k < sizeof given - 1; p++) {
        if (!isspace((unsigned char)*p))
            given[k++] = (char)tolower((unsigned char)*p);
    }
    given[k] = '\0';
    judge("mask_key", !strcmp(given, key) ||
                          (!strncmp(given, "0x", 2) && !strcmp(given + 2, key)));
    judge("payload_length", number(answer("payload_length")) == (long)h.len);
    judge("close_code", number(answer("close_code")) == code);
    const char *r = answer("reason");
    size_t rl = strlen(r);
    if (rl >= 2 && r[0] == '"' && r[rl - 1] == '"') { /* quotes are fine */
        r++;
        rl -= 2;
    }
    judge("reason", rl == rlen && memcmp(r, reason, rlen) == 0);
    return check_summary("ex01");
}
