/*
 * C startup: runs main() and turns its result into the thread's exit.
 */
#include <bulkhead/sys.h>

_Noreturn void bk_start(const struct bk_bootinfo *bootinfo);

struct bk_ipc_buffer *bk_ipc_buffer;

_Noreturn void bk_start(const struct bk_bootinfo *bootinfo)
{
    /* The root task learns where its IPC buffer is from the boot info. */
    bk_ipc_buffer = (struct bk_ipc_buffer *)(uintptr_t)bootinfo->ipc_buffer;
    sys_thread_exit(main(bootinfo));
}
