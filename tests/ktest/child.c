/*
 * A program the kernel test suite starts as a process of its own (libsys
 * bk_process_spawn): it calls the endpoint its parent gave it, checks the
 * answer and its start-info page, reports, and exits.
 */
#include <bulkhead/sys.h>

int main(const struct bk_bootinfo *info)
{
    struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { 41 } };
    sys_call(BK_PROCESS_CAP_ARG, &m);
    /* The answer also says our priority: spawn made it our MCP too, so we
     * may give it to a thread of ours (here ourselves), and no more. */
    uint64_t prio = m.mr[1];
    bool mcp_ok = sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, prio) == 0 &&
                  sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, prio + 1) ==
                      -BK_ERR_RANGE;
    uint64_t ok = m.mr[0] == 42 && info->magic == BK_BOOTINFO_MAGIC &&
                  info->ipc_buffer == BK_ROOT_IPC_BUFFER_VADDR && mcp_ok;
    /* Its own IPC buffer works: a 6-word message uses it. */
    m = (struct bk_msg){ .info = bk_msginfo(0, 6), .mr = { ok, 1, 2, 3 } };
    bk_ipc_buffer->mr[4] = 4;
    bk_ipc_buffer->mr[5] = 5;
    sys_call(BK_PROCESS_CAP_ARG, &m);
    /* The parent's memory is not here: this read faults and stops us. */
    volatile uint64_t *parent_boot_image = (volatile uint64_t *)(uintptr_t)BK_ROOT_BOOTIMAGE_VADDR;
    m.mr[0] = *parent_boot_image;
    sys_call(BK_PROCESS_CAP_ARG, &m); /* never reached */
    return 0;
}
