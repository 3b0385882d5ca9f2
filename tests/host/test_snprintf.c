/*
 * Host tests of the libsys printf engine (libsys/src/base/format.c): its
 * bk_snprintf against the host libc's snprintf for many formats and values,
 * plus the cases where it deliberately differs (bulkhead/format.h).
 *
 * The engine prints doubles exactly (every digit of the exact binary value,
 * rounded half to even), which is what glibc does, so doubles are compared
 * without restriction: any value, precisions 0-12 and some far larger.
 */
#include "check.h"

#include <bulkhead/format.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

static int compared, mismatches;

/* Formats with both engines and checks they agree on text and length; also
 * checks the result against a buffer cut to half its length. */
__attribute__((format(printf, 1, 2))) static void same(const char *fmt, ...)
{
    char mine[1200], host[1200], cut_mine[64], cut_host[64];
    va_list ap, ap2, ap3, ap4;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    va_copy(ap3, ap);
    va_copy(ap4, ap);
    int n_mine = bk_vsnprintf(mine, sizeof(mine), fmt, ap);
    int n_host = vsnprintf(host, sizeof(host), fmt, ap2);
    size_t cut = (size_t)(n_host > 0 ? n_host / 2 + 1 : 1);
    cut = cut < sizeof(cut_mine) ? cut : sizeof(cut_mine);
    int c_mine = bk_vsnprintf(cut_mine, cut, fmt, ap3);
    int c_host = vsnprintf(cut_host, cut, fmt, ap4);
    va_end(ap);
    va_end(ap2);
    va_end(ap3);
    va_end(ap4);
    compared++;
    if (n_mine != n_host || strcmp(mine, host) != 0 || c_mine != c_host ||
        strcmp(cut_mine, cut_host) != 0) {
        if (mismatches++ < 20)
            printf("  \"%s\": mine [%s] (%d), host [%s] (%d)\n", fmt, mine, n_mine, host, n_host);
        check_failures_in_test++;
    }
}

/* bk_snprintf's output for the checks of deliberate differences. */
__attribute__((format(printf, 1, 2))) static const char *mine(const char *fmt, ...)
{
    static char buf[256];
    va_list ap;
    va_start(ap, fmt);
    bk_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull; /* fixed seed: reproducible runs */

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- Integers, strings, characters ------------------------------------ */

static const char *const int_flags[] = { "", "-", "+", " ", "#", "0", "-0", "+0", " 0", "#0",
                                         "-#", "+ ", "-+ #0" };
static const char *const widths[] = { "", "1", "5", "12", "25" };
static const char *const precisions[] = { "", ".", ".0", ".1", ".3", ".10", ".22" };

static void test_integers_all_flags(void)
{
    static const long long values[] = { 0, 1, -1, 7, 8, 9, 10, 15, 16, 255, 256, -128, 127,
                                        32767, -32768, 65535, 65536, INT_MAX, INT_MIN,
                                        UINT_MAX, LLONG_MAX, LLONG_MIN, 01234567, 0xdeadbeef,
                                        -1000000007, 4294967296ll };
    static const char convs[] = "diouxX";
    char fmt[32];
    for (size_t f = 0; f < sizeof(int_flags) / sizeof(int_flags[0]); f++)
        for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++)
            for (size_t p = 0; p < sizeof(precisions) / sizeof(precisions[0]); p++)
                for (size_t c = 0; convs[c]; c++)
                    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
                        long long x = values[v];
                        snprintf(fmt, sizeof(fmt), "%%%s%s%s%c|", int_flags[f], widths[w],
                                 precisions[p], convs[c]);
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
                        same(fmt, (int)x);
                        snprintf(fmt, sizeof(fmt), "%%%s%s%sll%c|", int_flags[f], widths[w],
                                 precisions[p], convs[c]);
                        same(fmt, x);
#pragma clang diagnostic pop
                    }
    printf("  %d comparisons\n", compared);
}

static void test_integer_lengths(void)
{
    for (int i = 0; i < 20000; i++) {
        uint64_t u = rng() >> (rng() % 64);
        long long s = (long long)u;
        same("%hhd %hhu %hhx %hho|%hd %hu %hX %ho", (signed char)s, (unsigned char)u,
             (unsigned char)u, (unsigned char)u, (short)s, (unsigned short)u, (unsigned short)u,
             (unsigned short)u);
        same("%d %u %x|%ld %lu %lx %lo", (int)s, (unsigned)u, (unsigned)u, (long)s,
             (unsigned long)u, (unsigned long)u, (unsigned long)u);
        same("%lld %llu %llX|%jd %ju|%zd %zu %zx|%td %tx", s, (unsigned long long)u,
             (unsigned long long)u, (intmax_t)s, (uintmax_t)u, (ssize_t)s, (size_t)u, (size_t)u,
             (ptrdiff_t)s, (ptrdiff_t)s);
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat"
        /* Full ints given for hh and h: converted down as C says. */
        same("%hhd %hhu %hhx|%hd %hu %hx", (int)s, (unsigned)u, (unsigned)u, (int)s, (unsigned)u,
             (unsigned)u);
#pragma clang diagnostic pop
        same("%+hhd % hd %+ld %-+20lld| %#lo %#lx %#20.15llX", (signed char)s, (short)s, (long)s,
             s, (unsigned long)u, (unsigned long)u, (unsigned long long)u);
    }
}

static void test_star_width_and_precision(void)
{
    for (int w = -30; w <= 30; w += 3)
        for (int p = -3; p <= 25; p += 2) {
            same("%*d|%-*d|%.*d|%*.*x|%0*d", w, 12345, w, -12345, p, 42, w, p, 0xabcu, w, -77);
            same("%*s|%.*s|%*.*s|%*c", w, "star", p, "precision", w, p, "both", w, 'z');
            same("%*.*f|%.*e|%*.*g", w, p, 3.14159, p, 2.5e-7, w, p, 123456.789);
        }
    same("%.*d", INT_MIN, 5);
}

static void test_strings_and_chars(void)
{
    static const char *const strings[] = { "", "a", "hello", "with space", "0123456789abcdef" };
    char fmt[32];
    for (size_t s = 0; s < sizeof(strings) / sizeof(strings[0]); s++)
        for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++)
            for (size_t p = 0; p < sizeof(precisions) / sizeof(precisions[0]); p++)
                for (int left = 0; left < 2; left++) {
                    snprintf(fmt, sizeof(fmt), "[%%%s%s%ss]", left ? "-" : "", widths[w],
                             precisions[p]);
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
                    same(fmt, strings[s]);
#pragma clang diagnostic pop
                }
    /* A precision bounds how much is read: no NUL needed within it (ASan's
     * interceptor of the host's vsnprintf reads on, so this one is mine only). */
    char unterminated[4] = { 'a', 'b', 'c', 'd' };
    CHECK(strcmp(mine("%.4s|%.2s|%.0s|%-6.3s|", unterminated, unterminated, unterminated,
                      unterminated), "abcd|ab||abc   |") == 0);
    for (int c = 1; c < 256; c++)
        same("%c|%3c|%-3c", c, c, c);
    same("%%|%c%c%%", 'x', 'y');
    same("no conversions at all");
    same("%s", "");
    same("%s|%.3s|%10s|%.6s", (char *)NULL, (char *)NULL, (char *)NULL, (char *)NULL);
}

static void test_pointers(void)
{
    int x;
    void *ptrs[] = { &x, (void *)1, (void *)0xffffffffffffffffull, (void *)test_pointers };
    for (size_t i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++)
        same("%p|%20p|%-20p|", ptrs[i], ptrs[i], ptrs[i]);
}

/* ---- Doubles ------------------------------------------------------------ */

static double bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

/* A finite double over the whole exponent range: random bits, the exponent
 * field drawn uniformly (subnormals included). */
static double random_double(void)
{
    uint64_t bits = rng();
    uint64_t exponent = rng() % 2047; /* 0x7ff (inf, nan) excluded */
    bits = (bits & ~(0x7ffull << 52)) | exponent << 52;
    return bits_to_double(bits);
}

/* A double near 10^k with few significant digits, where rounding ties and
 * carries (9.995, 0.125, 1e15 - 0.5...) are common. */
static double random_short_decimal(void)
{
    static const double powers[] = { 1e-9, 1e-6, 1e-3, 1e-2, 1e-1, 1,
                                     10,   1e3,  1e6,  1e9,  1e12, 1e15 };
    double v = (double)(rng() % 100000) * powers[rng() % 12];
    if (rng() % 4 == 0)
        v = (double)(rng() % 4096) / 1024.0 + (double)(rng() % 100); /* exact binary fractions */
    return rng() % 2 ? -v : v;
}

static void compare_double(double v)
{
    char fmt[32];
    static const char convs[] = "fFeEgG";
    for (int p = 0; p <= 12; p++)
        for (size_t c = 0; convs[c]; c++) {
            snprintf(fmt, sizeof(fmt), "%%.%d%c", p, convs[c]);
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
            same(fmt, v);
#pragma clang diagnostic pop
        }
}

static void test_doubles_random(void)
{
    for (int i = 0; i < 3000; i++)
        compare_double(random_double());
    for (int i = 0; i < 3000; i++)
        compare_double(random_short_decimal());
    /* Moderate magnitudes, the everyday case: |v| in [1e-10, 1e16). */
    for (int i = 0; i < 3000; i++) {
        double v = bits_to_double(((rng() % 87) + 990) << 52 | (rng() >> 12));
        compare_double(rng() % 2 ? -v : v);
    }
    printf("  %d comparisons\n", compared);
}

static void test_doubles_special(void)
{
    static const double values[] = { 0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, 0.125, 0.375,
                                     9.5, 99.5, 0.05, 0.15, 0.25, 0.35, 1e15, 1e15 + 0.5,
                                     999999999999999.0, 9.9999999999999e14, 1e16, 1e21, 1e22,
                                     1e23, 123456789.123456789, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3,
                                     9.9999995, 0.000099995, 1e-5, 1e-4, 9.9999e-5, 1e100,
                                     1e300, 1e-300, DBL_MAX, -DBL_MAX, DBL_MIN, DBL_TRUE_MIN,
                                     DBL_MIN - DBL_TRUE_MIN, DBL_EPSILON, 4503599627370496.5,
                                     9007199254740993.0, 18446744073709551616.0 };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        compare_double(values[i]);
        same("%f|%e|%g|%F|%E|%G", values[i], values[i], values[i], values[i], values[i], values[i]);
    }
    same("%.0f %.0f %.0f %.0f %.0f", 0.5, 1.5, 2.5, 3.5, -0.5);
    same("%.1f %.1f %.2f %.2f", 0.25, 0.35, 1.005, 1.125);
    same("%f %e %g %F %E %G", INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY);
    same("%f %e %g %F %E %G", -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY);
    same("%f %e %g %F %E %G", NAN, NAN, NAN, NAN, NAN, NAN);
    same("%f %e %g %F %E %G", -NAN, -NAN, -NAN, -NAN, -NAN, -NAN);
    same("%+f|% e|%010f|%-10g|%+010.3e|%#.0f|%#.0e|%#g|%#.3g", 1.0, 2.0, -3.5, 4.25, 5e10, 7.0,
         8.0, 9.0, 0.0001);
    same("%08.3f|%-8.3f|%+08.3f|% 08.3f|%08f|%8f|%-8f|%+8f", -0.0, 1.5, 2.5, 3.5, INFINITY,
         -INFINITY, NAN, NAN);
    same("%.0e|%.0g|%g|%g|%g|%g|%g", 9.5, 9.5, 100000.0, 1000000.0, 0.0001, 0.00001, 123456789.0);
    same("%.20f|%.30e|%.40g", 0.1, 1.0 / 3, 2.0 / 3);
    same("%.60f", DBL_TRUE_MIN * 1e300);
    same("%.17g|%.17g|%.17g|%.16e", 0.1, DBL_MAX, DBL_TRUE_MIN, 5e-324);
    same("%.330f", DBL_MIN);
    same("%f", DBL_MAX);
    same("%.1074e", DBL_TRUE_MIN);
    same("%.766e|%.767e|%.768e", DBL_MIN - DBL_TRUE_MIN, DBL_MIN - DBL_TRUE_MIN,
         DBL_MIN - DBL_TRUE_MIN);
}

static void test_doubles_flags(void)
{
    static const char *const flags[] = { "", "-", "+", " ", "#", "0", "-0", "+0", " 0", "#0",
                                         "+#", "-+ #0" };
    static const char convs[] = "feg";
    char fmt[32];
    for (int i = 0; i < 300; i++) {
        double v = rng() % 3 ? random_short_decimal() : random_double();
        for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
            for (size_t c = 0; convs[c]; c++) {
                snprintf(fmt, sizeof(fmt), "%%%s%d.%d%c", flags[f], (int)(rng() % 30),
                         (int)(rng() % 10), convs[c]);
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
                same(fmt, v);
#pragma clang diagnostic pop
            }
    }
}

/* ---- snprintf's contract and deliberate differences ---------------------- */

static void test_truncation_and_terminator(void)
{
    char buf[16];
    memset(buf, 'X', sizeof(buf));
    CHECK_EQ(bk_snprintf(buf, 5, "%d-%s", 12345, "abc"), 9);
    CHECK(strcmp(buf, "1234") == 0);
    CHECK_EQ(buf[5], 'X');
    memset(buf, 'X', sizeof(buf));
    CHECK_EQ(bk_snprintf(buf, 1, "hello"), 5);
    CHECK_EQ(buf[0], '\0');
    CHECK_EQ(buf[1], 'X');
    CHECK_EQ(bk_snprintf(NULL, 0, "%s=%d", "answer", 42), 9);
    CHECK_EQ(bk_snprintf(buf, sizeof(buf), "%s", ""), 0);
    CHECK_EQ(buf[0], '\0');
    CHECK_EQ(bk_snprintf(buf, 10, "%.3f", 2.0), 5);
    CHECK(strcmp(buf, "2.000") == 0);
    CHECK_EQ(bk_snprintf(buf, 3, "%100d", 7), 100);
    CHECK(strcmp(buf, "  ") == 0);
}

static void count_sink(void *ctx, const char *chars, size_t len)
{
    *(size_t *)ctx += len;
    (void)chars;
}

static int vformat_count(size_t *total, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = bk_vformat(count_sink, total, fmt, ap);
    va_end(ap);
    return n;
}

static void test_overflow_and_sink(void)
{
    size_t total = 0;
    CHECK_EQ(vformat_count(&total, "%*d%*d", INT_MAX - 1, 1, 10, 2), -1);
    CHECK_EQ(total, (size_t)INT_MAX - 1 + 10);
    total = 0;
    CHECK_EQ(vformat_count(&total, "%s and %d", "this", 1000), 13);
    CHECK_EQ(total, 13);
    /* A width too big for an int saturates rather than wrapping. */
    total = 0;
    CHECK_EQ(vformat_count(&total, "%99999999999d", 1), INT_MAX);
    CHECK_EQ(total, (size_t)INT_MAX);
}

static void test_deliberate_differences(void)
{
    CHECK(strcmp(mine("%p", (void *)0), "0x0") == 0); /* glibc: (nil) */
    CHECK(strcmp(mine("%p", (void *)0x1234), "0x1234") == 0);
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat"
#pragma clang diagnostic ignored "-Wformat-extra-args"
    /* Unsupported: copied as they stand; the arguments of %a and %n are skipped. */
    CHECK(strcmp(mine("[%a|%d]", 1.5, 7), "[%a|7]") == 0);
    int n = 99;
    CHECK(strcmp(mine("[%n|%d]", &n, 8), "[%n|8]") == 0);
    CHECK_EQ(n, 99);
    CHECK(strcmp(mine("[%Lf]"), "[%Lf]") == 0);
    CHECK(strcmp(mine("[%y|%d]", 5), "[%y|5]") == 0);
    CHECK(strcmp(mine("[%5"), "[%5") == 0);
    CHECK(strcmp(mine("[%"), "[%") == 0);
#pragma clang diagnostic pop
}

TEST_MAIN(TEST(test_integers_all_flags), TEST(test_integer_lengths),
          TEST(test_star_width_and_precision), TEST(test_strings_and_chars), TEST(test_pointers),
          TEST(test_doubles_random), TEST(test_doubles_special), TEST(test_doubles_flags),
          TEST(test_truncation_and_terminator), TEST(test_overflow_and_sink),
          TEST(test_deliberate_differences))
