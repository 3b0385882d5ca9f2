/*
 * The benchmark's echo server as a process of its own (another address
 * space): answers every Call on the endpoint its parent gave it with a
 * message of the same length. Built a second time with
 * BENCH_SERVER_USES_FPU (module "server_fpu"), it also does a little
 * floating-point work before each reply, so that its FPU state is live and
 * dirty at every switch.
 */
#include <bulkhead/sys.h>

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
        use_fpu();
        m.info = bk_msginfo(0, BK_MSGINFO_LENGTH(m.info));
        sys_reply_recv(BK_PROCESS_CAP_ARG, &m);
    }
}
