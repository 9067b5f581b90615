/*
 * json_schema_number.c — number ranges as GBNF digit patterns (see
 * json_schema.h).
 *
 * A range of n-digit strings [a, b] splits at the first digit where a
 * and b differ: that digit equal to a's followed by what is >= the rest
 * of a, a digit strictly between followed by anything, or b's digit
 * followed by what is <= the rest of b ("1" [3-9] [0-9] | [2-4] [0-9]{2}
 * ...). Integers split by digit count first, so none has a leading zero.
 *
 * Numbers are fixed-point: with p fraction digits, the value N / 10^p,
 * an integer part and p digits after the point. The bounds in units of
 * 10^-p are found by parsing the candidate texts with strtod, as a
 * validator parses the output, so a bound like 0.3 is met exactly.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen/json_schema.h"
#include "util/error.h"

#define MAX_DIGITS 15   /* integer parts: below 2^53, exact in a double */
#define MAX_FRACTION 3

static const int64_t MAX_INT = 999999999999999; /* 10^15 - 1 */

static int64_t pow10i(int p)
{
    int64_t x = 1;
    while (p-- > 0)
        x *= 10;
    return x;
}

/* " [0-9]{m}" */
static void any_digits(FILE *f, int m)
{
    if (m == 1)
        fputs(" [0-9]", f);
    else if (m > 1)
        fprintf(f, " [0-9]{%d}", m);
}

static bool all(const char *s, int m, char c)
{
    for (int i = 0; i < m; i++)
        if (s[i] != c)
            return false;
    return true;
}

/* m-digit strings >= s (leading zeros allowed). */
static void at_least(FILE *f, const char *s, int m)
{
    if (m == 0)
        return;
    if (all(s, m, '0')) {
        any_digits(f, m);
        return;
    }
    fprintf(f, " (\"%c\"", s[0]);
    at_least(f, s + 1, m - 1);
    if (s[0] < '9') {
        fprintf(f, " | [%c-9]", s[0] + 1);
        any_digits(f, m - 1);
    }
    fputs(")", f);
}

/* m-digit strings <= s. */
static void at_most(FILE *f, const char *s, int m)
{
    if (m == 0)
        return;
    if (all(s, m, '9')) {
        any_digits(f, m);
        return;
    }
    fputs(" (", f);
    if (s[0] > '0') {
        fprintf(f, "[0-%c]", s[0] - 1);
        any_digits(f, m - 1);
        fputs(" | ", f);
    }
    fprintf(f, "\"%c\"", s[0]);
    at_most(f, s + 1, m - 1);
    fputs(")", f);
}

/* n-digit strings in [a, b], a <= b. */
static void between(FILE *f, const char *a, const char *b, int n)
{
    int k = 0;
    while (k < n && a[k] == b[k])
        k++;
    if (k)
        fprintf(f, " \"%.*s\"", k, a);
    if (k == n)
        return;
    a += k, b += k, n -= k;
    if (all(a + 1, n - 1, '0') && all(b + 1, n - 1, '9')) {
        fprintf(f, " [%c-%c]", a[0], b[0]);
        any_digits(f, n - 1);
        return;
    }
    fprintf(f, " (\"%c\"", a[0]);
    at_least(f, a + 1, n - 1);
    if (a[0] + 1 == b[0] - 1)
        fprintf(f, " | \"%c\"", a[0] + 1);
    else if (a[0] + 1 < b[0] - 1)
        fprintf(f, " | [%c-%c]", a[0] + 1, b[0] - 1);
    if (a[0] + 1 <= b[0] - 1)
        any_digits(f, n - 1);
    fprintf(f, " | \"%c\"", b[0]);
    at_most(f, b + 1, n - 1);
    fputs(")", f);
}

static int n_digits(int64_t x)
{
    int d = 1;
    while (x >= 10)
        x /= 10, d++;
    return d;
}

/* The integers lo..hi (0 <= lo <= hi), without leading zeros, as
 * alternatives (" | " between them). */
static void naturals(FILE *f, int64_t lo, int64_t hi)
{
    for (int d = n_digits(lo); d <= n_digits(hi); d++) {
        const int64_t first = d == 1 ? 0 : pow10i(d - 1), last = pow10i(d) - 1;
        const int64_t a = lo > first ? lo : first, b = hi < last ? hi : last;
        char sa[24], sb[24];
        snprintf(sa, sizeof sa, "%" PRId64, a);
        snprintf(sb, sizeof sb, "%" PRId64, b);
        fputs(d > n_digits(lo) ? " |" : "", f);
        between(f, sa, sb, d);
    }
}

/* p-digit fractions lo..hi (leading zeros kept). */
static void fraction(FILE *f, int64_t lo, int64_t hi, int p)
{
    char sa[24], sb[24];
    snprintf(sa, sizeof sa, "%0*" PRId64, p, lo);
    snprintf(sb, sizeof sb, "%0*" PRId64, p, hi);
    between(f, sa, sb, p);
}

/* Non-negative values lo..hi in units of 10^-p (p = 0: integers). */
static void fixed(FILE *f, int64_t lo, int64_t hi, int p)
{
    const int64_t one = pow10i(p);
    if (!p) {
        fputs(" (", f);
        naturals(f, lo, hi);
        fputs(")", f);
        return;
    }
    const int64_t il = lo / one, fl = lo % one, ih = hi / one, fh = hi % one;
    fputs(" (", f);
    fprintf(f, "\"%" PRId64 ".\"", il);
    fraction(f, fl, il == ih ? fh : one - 1, p);
    if (il + 1 <= ih - 1) {
        fputs(" | (", f);
        naturals(f, il + 1, ih - 1);
        fputs(") \".\"", f);
        any_digits(f, p);
    }
    if (ih > il) {
        fprintf(f, " | \"%" PRId64 ".\"", ih);
        fraction(f, 0, fh, p);
    }
    fputs(")", f);
}

/* The value of the text of n units of 10^-p, as a validator reads it. */
static double value_of(int64_t n, int p)
{
    char buf[48];
    const int64_t one = pow10i(p), a = n < 0 ? -n : n;
    if (p)
        snprintf(buf, sizeof buf, "%s%" PRId64 ".%0*" PRId64, n < 0 ? "-" : "", a / one, p,
                 a % one);
    else
        snprintf(buf, sizeof buf, "%" PRId64, n);
    return strtod(buf, NULL);
}

static bool above(int64_t n, int p, schema_bound lo)
{
    const double v = value_of(n, p);
    return !lo.set || (lo.exclusive ? v > lo.value : v >= lo.value);
}

static bool below(int64_t n, int p, schema_bound hi)
{
    const double v = value_of(n, p);
    return !hi.set || (hi.exclusive ? v < hi.value : v <= hi.value);
}

/* The units of 10^-p in range: [*nl, *nh]; false when none. */
static bool units(schema_bound lo, schema_bound hi, int p, int64_t *nl, int64_t *nh)
{
    const int64_t max = (MAX_INT + 1) * pow10i(p) - 1;
    const double scale = (double)pow10i(p);
    *nl = !lo.set ? -max : lo.value * scale <= -(double)max ? -max
        : lo.value * scale >= (double)max ? max : (int64_t)ceil(lo.value * scale);
    *nh = !hi.set ? max : hi.value * scale >= (double)max ? max
        : hi.value * scale <= -(double)max ? -max : (int64_t)floor(hi.value * scale);
    /* the guesses may be one off where scaling rounded */
    while (*nl > -max && above(*nl - 1, p, lo))
        (*nl)--;
    while (*nl <= max && !above(*nl, p, lo))
        (*nl)++;
    while (*nh < max && below(*nh + 1, p, hi))
        (*nh)++;
    while (*nh >= -max && !below(*nh, p, hi))
        (*nh)--;
    return *nl <= *nh;
}

heed_status schema_number_range(FILE *f, bool integer, schema_bound lo, schema_bound hi,
                                const char *path)
{
    int n_alts = 0;
    fputs("(", f);
    for (int p = 0; p <= (integer ? 0 : MAX_FRACTION); p++) {
        int64_t nl, nh;
        if (!units(lo, hi, p, &nl, &nh))
            continue;
        if (nl < 0) { /* the negative ones, as "-" and their magnitude */
            fputs(n_alts++ ? " | \"-\"" : " \"-\"", f);
            fixed(f, nh < 0 ? -nh : 1, -nl, p);
        }
        if (nh >= 0) {
            fputs(n_alts++ ? " |" : "", f);
            fixed(f, nl > 0 ? nl : 0, nh, p);
        }
    }
    fputs(" )", f);
    if (!n_alts)
        return heed_fail(HEED_ERR_UNSUPPORTED, "json schema: %s: no %s is within the bounds",
                         path, integer ? "integer of up to 15 digits"
                         : "number with up to 15 digits before the point and 3 after");
    return HEED_OK;
}
