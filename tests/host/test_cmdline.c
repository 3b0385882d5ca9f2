/* Host tests of the kernel command-line options (kernel/boot/boot_params.c):
 * "key=value" found only where it starts a word, the value compared up to
 * the next space. */
#include "boot/boot_params.h"
#include "check.h"

#include <string.h>

static void test_option_found_at_word_starts(void)
{
    const char *line = "bulkhead.kpti=on bulkhead.selftest=vspace";
    CHECK(boot_cmdline_option(line, "bulkhead.kpti") == line + strlen("bulkhead.kpti="));
    const char *v = boot_cmdline_option(line, "bulkhead.selftest");
    CHECK(v && strcmp(v, "vspace") == 0);
    CHECK(boot_cmdline_option("", "bulkhead.kpti") == NULL);
    CHECK(boot_cmdline_option("bulkhead.kpti", "bulkhead.kpti") == NULL); /* no '=' */
}

static void test_option_not_inside_words(void)
{
    /* A longer key, a key inside another word, and a prefix of the key. */
    CHECK(boot_cmdline_option("bulkhead.kptix=on", "bulkhead.kpti") == NULL);
    CHECK(boot_cmdline_option("xbulkhead.kpti=on", "bulkhead.kpti") == NULL);
    CHECK(boot_cmdline_option("bulkhead.kp=on", "bulkhead.kpti") == NULL);
    const char *v = boot_cmdline_option("a=xbulkhead.kpti=off bulkhead.kpti=on", "bulkhead.kpti");
    CHECK(v && boot_option_is(v, "on"));
}

static void test_value_compared_to_the_space(void)
{
    CHECK(boot_option_is("on", "on"));
    CHECK(boot_option_is("on rest", "on"));
    CHECK(!boot_option_is("onx", "on"));
    CHECK(!boot_option_is("o", "on"));
    CHECK(!boot_option_is("", "on"));
    CHECK(boot_option_is("", ""));
}

static void test_flag_is_a_whole_word(void)
{
    CHECK(boot_cmdline_flag("bulkhead.slow_console", "bulkhead.slow_console"));
    CHECK(boot_cmdline_flag("a=1 bulkhead.slow_console b", "bulkhead.slow_console"));
    CHECK(!boot_cmdline_flag("bulkhead.slow_consoles", "bulkhead.slow_console"));
    CHECK(!boot_cmdline_flag("xbulkhead.slow_console", "bulkhead.slow_console"));
    CHECK(!boot_cmdline_flag("bulkhead.slow_console=1", "bulkhead.slow_console"));
    CHECK(!boot_cmdline_flag("", "bulkhead.slow_console"));
}

/* The command line keeps BOOT_MAX_CMDLINE - 1 characters, terminated, and
 * remembers how long the loader's was, so the kernel can say it cut it. */
static void test_cmdline_kept_up_to_its_bound(void)
{
    static struct boot_params bp;
    static char line[BOOT_MAX_CMDLINE + 100];
    memset(line, 'a', sizeof(line) - 1);
    boot_params_set_cmdline(&bp, line);
    CHECK_EQ(bp.cmdline_length, sizeof(line) - 1);
    CHECK_EQ(strlen(bp.cmdline), BOOT_MAX_CMDLINE - 1);
    line[BOOT_MAX_CMDLINE - 1] = '\0'; /* exactly what fits */
    boot_params_set_cmdline(&bp, line);
    CHECK_EQ(bp.cmdline_length, BOOT_MAX_CMDLINE - 1);
    CHECK(strcmp(bp.cmdline, line) == 0);
    boot_params_set_cmdline(&bp, NULL);
    CHECK_EQ(bp.cmdline_length, 0);
    CHECK_EQ(bp.cmdline[0], '\0');
}

TEST_MAIN(TEST(test_cmdline_kept_up_to_its_bound), TEST(test_flag_is_a_whole_word), TEST(test_option_found_at_word_starts), TEST(test_option_not_inside_words),
          TEST(test_value_compared_to_the_space))
