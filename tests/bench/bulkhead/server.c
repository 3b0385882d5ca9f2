/*
 * The benchmark's echo server as a process of its own (another address
 * space): answers every Call on the endpoint its parent gave it with a
 * message of the same length.
 */
#include <bulkhead/sys.h>

int main(const struct bk_bootinfo *info)
{
    (void)info;
    struct bk_msg m = { 0 };
    sys_recv(BK_PROCESS_CAP_ARG, &m);
    for (;;) {
        m.info = bk_msginfo(0, BK_MSGINFO_LENGTH(m.info));
        sys_reply_recv(BK_PROCESS_CAP_ARG, &m);
    }
}
