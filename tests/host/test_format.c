/* Host tests of the kernel's printf engine (kernel/lib/format.c). */
#include "check.h"
#include "lib/format.h"

#include <stdarg.h>
#include <string.h>

struct buf {
    char text[256];
    size_t len;
};

static void sink(char c, void *ctx)
{
    struct buf *b = ctx;
    if (b->len < sizeof(b->text) - 1)
        b->text[b->len++] = c;
    b->text[b->len] = '\0';
}

static const char *fmt(struct buf *b, const char *f, ...)
{
    va_list ap;
    b->len = 0;
    b->text[0] = '\0';
    va_start(ap, f);
    format(sink, b, f, ap);
    va_end(ap);
    return b->text;
}

static void test_integers(void)
{
    struct buf b;
    CHECK(strcmp(fmt(&b, "%d %i %u", -42, 7, 4000000000u), "-42 7 4000000000") == 0);
    CHECK(strcmp(fmt(&b, "%ld", (long)-9223372036854775807L - 1), "-9223372036854775808") == 0);
    CHECK(strcmp(fmt(&b, "%llx %X", 0xdeadbeefcafeULL, 0xabcu), "deadbeefcafe ABC") == 0);
    CHECK(strcmp(fmt(&b, "%zu", (size_t)123), "123") == 0);
}

static void test_width_and_flags(void)
{
    struct buf b;
    CHECK(strcmp(fmt(&b, "[%5d]", 42), "[   42]") == 0);
    CHECK(strcmp(fmt(&b, "[%-5d]", 42), "[42   ]") == 0);
    CHECK(strcmp(fmt(&b, "[%08x]", 0xbeefu), "[0000beef]") == 0);
    CHECK(strcmp(fmt(&b, "[%05d]", -42), "[-0042]") == 0);
}

static void test_strings_and_chars(void)
{
    struct buf b;
    CHECK(strcmp(fmt(&b, "%s|%c|%%", "abc", 'z'), "abc|z|%") == 0);
    CHECK(strcmp(fmt(&b, "%.2s", "abcdef"), "ab") == 0);
    CHECK(strcmp(fmt(&b, "[%-4s]", "ab"), "[ab  ]") == 0);
    CHECK(strcmp(fmt(&b, "%s", (const char *)NULL), "(null)") == 0);
}

static void test_pointer_and_unknown(void)
{
    struct buf b;
    CHECK(strcmp(fmt(&b, "%p", (void *)0x1000), "0x1000") == 0);
    CHECK(strcmp(fmt(&b, "%q"), "%q") == 0);
    CHECK(strcmp(fmt(&b, "end%"), "end%") == 0);
}

TEST_MAIN(TEST(test_integers), TEST(test_width_and_flags), TEST(test_strings_and_chars),
          TEST(test_pointer_and_unknown))
