/*
 * C startup: gives the program's first thread its thread-local storage,
 * runs main() and turns its result into the thread's exit.
 */
#include <bulkhead/sys.h>
#include <bulkhead/tls.h>

_Noreturn void bk_start(const struct bk_bootinfo *bootinfo);

/* The first thread's TLS block. Its size bounds the program's
 * `_Thread_local` data (libsys itself needs a few words). */
#define MAIN_TLS_AREA 4096
static unsigned char main_tls_area[MAIN_TLS_AREA] __attribute__((aligned(64)));

/* Exit status of a program whose first thread could not get its TLS. */
#define START_FAILED 127

/* Everything after the thread pointer is set: kept out of line so that no
 * TLS access the compiler might make early lands before it. */
static __attribute__((noinline)) _Noreturn void run_main(const struct bk_bootinfo *bootinfo)
{
    /* The root task learns where its IPC buffer is from the boot info
     * (and so does a process started by bk_process_spawn()). */
    bk_ipc_buffer = (struct bk_ipc_buffer *)(uintptr_t)bootinfo->ipc_buffer;
    sys_thread_exit(main(bootinfo));
}

static _Noreturn void no_room_for_tls(void)
{
    debug_printf("libsys: the program's thread-local data (%zu bytes with libsys's) "
                 "does not fit the first thread's %u-byte TLS area\n",
                 bk_tls_block_size(), MAIN_TLS_AREA);
    sys_thread_exit(START_FAILED);
}

_Noreturn void bk_start(const struct bk_bootinfo *bootinfo)
{
    uint64_t tp;
    struct bk_thread *t = bk_tls_init(main_tls_area, sizeof(main_tls_area), &tp);
    if (!t)
        no_room_for_tls();
    else
        t->tcb = BK_CAP_ROOT_TCB;
    long r = bk_tls_set_own_thread_pointer(BK_CAP_ROOT_TCB, tp);
    if (r != 0) {
        debug_printf("libsys: cannot set the first thread's thread pointer through its TCB "
                     "cap in slot %u: %s\n", (unsigned)BK_CAP_ROOT_TCB, bk_error_name(-r));
        sys_thread_exit(START_FAILED);
    }
    run_main(bootinfo);
}
