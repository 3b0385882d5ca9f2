/*
 * An echo server the kernel test suite starts as a process of its own
 * (another address space, libsys bk_process_spawn): answers every Call on
 * the endpoint its parent gave it with the words it got, the same length
 * and label + 1, by ReplyRecv. The IPC path counter test
 * (fastpath_tests.c) calls it across address spaces.
 */
#include <bulkhead/sys.h>

int main(const struct bk_bootinfo *info)
{
    (void)info;
    struct bk_msg m = { 0 };
    sys_recv(BK_PROCESS_CAP_ARG, &m);
    for (;;) {
        m.badge = 0;
        m.info = BK_MSGINFO(BK_MSGINFO_LENGTH(m.info), 0, 0, BK_MSGINFO_LABEL(m.info) + 1);
        sys_reply_recv(BK_PROCESS_CAP_ARG, &m);
    }
}
