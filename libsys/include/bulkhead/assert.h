/*
 * assert for user programs, as C's <assert.h>: assert(cond) checks `cond`
 * and, when it is false, prints
 *
 *   libsys: assertion failed: <expression> (<file>:<line>, in <function>)
 *
 * on the debug console and ends the calling thread with exit status
 * BK_ASSERT_EXIT_STATUS. With NDEBUG defined where this header is included,
 * assert(cond) does nothing and does not evaluate `cond`. Like C's header,
 * this one may be included again after NDEBUG changes.
 */
#ifndef BULKHEAD_ASSERT_H
#define BULKHEAD_ASSERT_H

/* The exit status of a thread stopped by a failed assert ("asse"). */
#define BK_ASSERT_EXIT_STATUS 0xa55e

/* Prints the failure and ends the thread with BK_ASSERT_EXIT_STATUS
 * (libsys/src/base/assert.c). Safe to call from any thread. */
_Noreturn void bk_assert_fail(const char *expression, const char *file, int line,
                              const char *function);

#if !defined(static_assert) && !defined(__cplusplus)
#define static_assert _Static_assert
#endif

#endif /* BULKHEAD_ASSERT_H */

#undef assert
#ifdef NDEBUG
#define assert(cond) ((void)0)
#else
#define assert(cond) ((cond) ? (void)0 : bk_assert_fail(#cond, __FILE__, __LINE__, __func__))
#endif
