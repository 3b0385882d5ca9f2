/*
 * C startup: runs main() and turns its result into the thread's exit.
 */
#include <bulkhead/sys.h>

_Noreturn void bk_start(const struct bk_bootinfo *bootinfo);

_Noreturn void bk_start(const struct bk_bootinfo *bootinfo)
{
    sys_thread_exit(main(bootinfo));
}
