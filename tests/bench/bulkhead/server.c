/*
 * The benchmark's echo server as a process of its own (another address
 * space): answers every Call on the endpoint its parent gave it with a
 * message of the same length. Built a second time with
 * BENCH_SERVER_USES_FPU (module "server_fpu"), it also does a little
 * floating-point work before each reply, so that its FPU state is live and
 * dirty at every switch. Built a third time with BENCH_SERVER_MARKS
 * (module "server_mark", the multi-core bench: smp.c), it executes a bench
 * marker on receiving each request, so that the plugin that counts each
 * vCPU's instructions can tell the server's share of a round trip.
 */
#include <bulkhead/sys.h>

#if BENCH_SERVER_MARKS
#include "smp_marker.h"
#define MARK_RECEIVED() BENCH_MARK(7) /* smp.c: MARK_SERVER_RECEIVED */
#else
#define MARK_RECEIVED() ((void)0)
#endif

#if BENCH_SERVER_USES_FPU
static volatile double accumulator = 1.0;

static inline void use_fpu(void)
{
    accumulator = accumulator * 1.0000001 + 0.5;
}
#else
static inline void use_fpu(void)
{
}
#endif

int main(const struct bk_bootinfo *info)
{
    (void)info;
    struct bk_msg m = { 0 };
    sys_recv(BK_PROCESS_CAP_ARG, &m);
    for (;;) {
        MARK_RECEIVED();
        use_fpu();
        m.info = bk_msginfo(0, BK_MSGINFO_LENGTH(m.info));
        sys_reply_recv(BK_PROCESS_CAP_ARG, &m);
    }
}
