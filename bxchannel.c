/* bxchannel.c -- Bayeux's channel names: the grammar, wildcard matching, and JSONP names
 * SPDX-License-Identifier: MIT
 *
 * Pure functions on strings, for bayeux.c, faye.c and the tests. A
 * channel name is /seg(/seg)*; a pattern ends in a one-segment wildcard
 * {*} or a many-segment one {**} (a C comment cannot show them plainly:
 * they are a slash and one or two stars). faye's grammar.js and
 * channel.js are the rules followed, as ../shared/specs/bayeux-faye.md §6
 * gives them.
 */
#include "bayeux.h"

#include <string.h>


/* faye's segment characters: [A-Za-z0-9-_!~()$@]. */
static bool seg_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || (ch != '\0' && strchr("-_!~()$@", ch));
}

/* True if p[0..n) is "/seg(/seg)*", no segment empty. */
static bool is_name(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/')
        return false;
    size_t seg = 0;
    for (size_t i = 1; i < n; i++) {
        if (p[i] == '/') {
            if (seg == 0)
                return false;
            seg = 0;
        } else if (!seg_char(p[i])) {
            return false;
        } else {
            seg++;
        }
    }
    return seg > 0;
}

/* Length of the wildcard ending name ("/{**}" 3, "/{*}" 2), or 0. */
static size_t wildcard_len(const char *name, size_t n)
{
    if (n >= 3 && strcmp(name + n - 3, "/**") == 0)
        return 3;
    if (n >= 2 && strcmp(name + n - 2, "/*") == 0)
        return 2;
    return 0;
}

/* True if name is a channel name, or with pattern_ok also a pattern: a
 * name, perhaps empty, then "/{*}" or "/{**}". A wildcard may only be the
 * last segment (grammar.js), and nothing is longer than BX_MAX_CHANNEL. */
bool bx_channel_valid(const char *name, bool pattern_ok)
{
    size_t n = strlen(name);
    if (n > BX_MAX_CHANNEL)
        return false;
    if (is_name(name, n))
        return true;
    size_t w = pattern_ok ? wildcard_len(name, n) : 0;
    return w > 0 && (n == w || is_name(name, n - w));
}

/* True if a message on channel name reaches a subscriber of pattern:
 * "*" is exactly one last segment, "**" one or more (/a/{**} does not
 * match /a). Both must be valid. */
bool bx_channel_matches(const char *pattern, const char *name)
{
    size_t pl = strlen(pattern), nl = strlen(name);
    size_t w = wildcard_len(pattern, pl);
    if (w == 0)
        return strcmp(pattern, name) == 0;
    size_t k = pl - w + 1; /* the prefix with its trailing '/' */
    if (nl <= k || strncmp(name, pattern, k) != 0)
        return false;
    return w == 3 || strchr(name + k, '/') == NULL;
}

/* A JSONP callback name, as faye checks it:
 * /^[a-z_$][a-z0-9_$]*(\.[a-z_$][a-z0-9_$]*)*$/i. */
bool bx_jsonp_name_ok(const char *name, size_t len)
{
    bool start = true;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     ch == '_' || ch == '$';
        if (ch == '.') {
            if (start)
                return false;
            start = true;
        } else if (alpha || (!start && ch >= '0' && ch <= '9')) {
            start = false;
        } else {
            return false;
        }
    }
    return !start;
}
