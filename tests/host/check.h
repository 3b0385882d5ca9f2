/*
 * A minimal unit-test harness for host tests: CHECK records a failure with
 * its location and carries on; TEST_MAIN runs every test function listed
 * and prints one line per test and the closing line "N passed, N failed".
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>

/* One counter for the whole program (weak: every file that includes this
 * header shares it), so helpers in other files can fail the running test. */
__attribute__((weak)) int check_failures_in_test;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            printf("  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures_in_test++;                                         \
        }                                                                     \
    } while (0)

#define CHECK_EQ(a, b)                                                           \
    do {                                                                         \
        unsigned long long check_a_ = (unsigned long long)(a);                   \
        unsigned long long check_b_ = (unsigned long long)(b);                   \
        if (check_a_ != check_b_) {                                              \
            printf("  %s:%d: CHECK_EQ failed: %s == %s (0x%llx != 0x%llx)\n",    \
                   __FILE__, __LINE__, #a, #b, check_a_, check_b_);              \
            check_failures_in_test++;                                            \
        }                                                                        \
    } while (0)

struct check_test {
    const char *name;
    void (*fn)(void);
};

static inline int check_run_all(const struct check_test *tests, size_t count)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        check_failures_in_test = 0;
        tests[i].fn();
        if (check_failures_in_test) {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        } else {
            printf("ok   %s\n", tests[i].name);
            passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    if (passed + failed == 0) {
        printf("no tests ran: a suite that tests nothing must not pass\n");
        return EXIT_FAILURE;
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#define TEST(fn) { #fn, fn }
#define TEST_MAIN(...)                                                        \
    int main(void)                                                            \
    {                                                                         \
        static const struct check_test tests[] = { __VA_ARGS__ };            \
        return check_run_all(tests, sizeof(tests) / sizeof(tests[0]));        \
    }
