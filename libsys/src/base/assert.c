/*
 * The failure path of assert (bulkhead/assert.h).
 */
#include <bulkhead/assert.h>
#include <bulkhead/sys.h>

_Noreturn void bk_assert_fail(const char *expression, const char *file, int line,
                              const char *function)
{
    debug_printf("libsys: assertion failed: %s (%s:%d, in %s)\n", expression, file, line,
                 function);
    sys_thread_exit(BK_ASSERT_EXIT_STATUS);
}
