/*
 * The host test world (see kworld.h): set up directly with kernel
 * functions, as boot does (kernel/boot/rootcaps.c), then driven only
 * through the kernel's syscall entry.
 */
#include "kworld.h"
#include "revoke_all.h"

#include <stdlib.h>
#include <string.h>

#include "boot/boot_params.h"
#include "debug/invariants.h"
#include "object.h"
#include "timer.h"
#include "untyped.h"
#include "vspace.h"
#include "vspace_object.h"

#define KW_MEM_BITS 23 /* 8 MiB: room for a 2 MiB frame */

unsigned kw_retype(struct kworld *w, enum cap_type type, unsigned size_arg, unsigned count)
{
    struct kerror_info info = { 0 };
    unsigned first = w->next_slot;
    kerror_t err = untyped_retype(&w->untyped, type, size_arg, &w->slots[first], count, &info);
    if (err != KERR_OK) {
        printf("  kw_retype(type %d): error %d\n", (int)type, (int)err);
        abort();
    }
    w->next_slot += count;
    return first;
}

unsigned kw_mint(struct kworld *w, unsigned slot, cap_rights_t rights, uint64_t badge)
{
    struct kerror_info info = { 0 };
    unsigned dest = w->next_slot++;
    CHECK_EQ(cnode_mint(&w->slots[slot], &w->slots[dest], rights, badge, &info), KERR_OK);
    return dest;
}

/* The driver thread: a TCB in the root CNode, running in its own space,
 * made current as the boot code makes the root task current. */
static void make_root(struct kworld *w)
{
    struct kerror_info info = { 0 };
    w->next_slot = KW_ROOT_TCB;
    kw_retype(w, CAP_TCB, 0, 1);
    kw_retype(w, CAP_VSPACE, 0, 1);
    w->next_slot = KW_ROOT_SC;
    kw_retype(w, CAP_SCHED_CONTEXT, 0, 1);
    w->next_slot = KW_FIRST_FREE;
    struct thread *root = kw_tcb(w, KW_ROOT_TCB);
    cnode_boot_install(&w->slots[KW_SCHED_CONTROL], cap_make_sched_control(0));
    struct sched_context *sc = sched_context_of(&w->slots[KW_ROOT_SC].cap);
    sched_context_set(sc, BK_SCHED_ROOT_PERIOD_NS, BK_SCHED_ROOT_PERIOD_NS, 1);
    sched_context_bind(sc, root);
    CHECK_EQ(cnode_copy(&w->slots[KW_CNODE], &root->cspace_root, CAP_RIGHTS_ALL, &info), KERR_OK);
    root->priority = root->mcp = 255;
    strcpy(root->name, "root");
    root->state = THREAD_RUNNABLE;
    current_thread = root;
    charge_switch(root->sc); /* as the boot's first choice of a thread does */
    w->root = root;
}

/* ASIDControl and a pool made with it, which gives the driver's VSpace
 * its ASID before the driver is configured into it (as boot does). */
static void make_asid_pool(struct kworld *w)
{
    cnode_boot_install(&w->slots[KW_ASID_CONTROL],
                       cap_make_object(CAP_ASID_CONTROL, NULL, CAP_RIGHTS_ALL));
    w->next_slot = KW_POOL_UNTYPED;
    kw_retype(w, CAP_UNTYPED, BK_ASID_POOL_BITS, 1);
    w->next_slot = KW_FIRST_FREE;
    CHECK_EQ(kw_invoke(w, KW_ASID_CONTROL, BK_LABEL_ASID_CONTROL_MAKE_POOL, 4, KW_POOL_UNTYPED,
                       KW_CNODE, KW_ASID_POOL, 64),
             0);
    CHECK_EQ(kw_invoke(w, KW_ASID_POOL, BK_LABEL_ASID_POOL_ASSIGN, 1, KW_ROOT_VSPACE, 0, 0, 0),
             0);
    vspace_add_thread(vspace_of_cap(&w->slots[KW_ROOT_VSPACE].cap), w->root);
}

void kw_init(struct kworld *w)
{
    kw_init_sized(w, KW_MEM_BITS, KW_RADIX);
}

void kw_init_sized(struct kworld *w, unsigned mem_bits, unsigned radix)
{
    fake_reset();
    timer_start(); /* the tick, as kernel_main() starts it */
    memset(w, 0, sizeof(*w));
    size_t size = (size_t)1 << mem_bits;
    w->mem = aligned_alloc(size, size);
    memset(w->mem, 0xa5, size);
    paddr_t base = arch_virt_to_phys(w->mem);
    /* Only RAM the kernel knows of can hold an IPC buffer (vspace.c). */
    static struct boot_params bp;
    bp.ram[0] = (struct phys_region){ base, size };
    bp.ram_count = 1;
    vspace_note_ram(&bp);
    cnode_boot_install(&w->untyped, cap_make_untyped(base, mem_bits, false));
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&w->untyped, CAP_CNODE, radix, &w->cnode, 1, &info), KERR_OK);
    cap_cnode_set_guard(&w->cnode.cap, 64 - radix, 0);
    w->slots = cnode_slots(&w->cnode.cap);
    CHECK_EQ(cnode_copy(&w->cnode, &w->slots[KW_CNODE], CAP_RIGHTS_ALL, &info), KERR_OK);
    cnode_boot_install(&w->slots[KW_IRQ_CONTROL],
                       cap_make_object(CAP_IRQ_CONTROL, NULL, CAP_RIGHTS_ALL));
    cnode_boot_install(&w->slots[KW_DEBUG], cap_make_object(CAP_DEBUG, NULL, CAP_RIGHTS_ALL));
    make_root(w);
    make_asid_pool(w);
    kw_space_init_root(w);
    CHECK_EQ(untyped_retype(&w->untyped, CAP_ENDPOINT, 0, &w->slots[KW_PARK], 1, &info),
             KERR_OK);
    unsigned waker = kw_thread(w, KW_ROOT_VSPACE, 1);
    CHECK_EQ(cnode_move(&w->slots[waker], &w->slots[KW_WAKER_TCB], &info), KERR_OK);
    w->waker = kw_tcb(w, KW_WAKER_TCB);
    strcpy(w->waker->name, "waker");
}

void kw_park(struct kworld *w)
{
    kw_recv(w->root, KW_PARK);
}

void kw_back_to_root(struct kworld *w)
{
    CHECK(current_thread == w->waker);
    kw_send(w->waker, KW_PARK, 0, NULL);
    CHECK(current_thread == w->root);
}

void kw_free(struct kworld *w)
{
    /* The walk runs as the running thread; an idle kernel has none. */
    if (fake_cpu.exit != FAKE_EXIT_IDLE)
        CHECK_EQ(kw_invariants(w), 0);
    revoke_all(&w->untyped); /* a bounded batch per call, as a restarted Revoke */
    cnode_delete(&w->untyped);
    current_thread = NULL;
    charge_switch(NULL);
    CHECK_EQ(cpu_here()->ready_top, -1); /* every thread went with its TCB */
    free(w->mem);
}

/* ---- Invocations by the driver thread ----------------------------------------- */

uint64_t kw_invoke(struct kworld *w, uint64_t cptr, uint64_t label, unsigned n, uint64_t a0,
                   uint64_t a1, uint64_t a2, uint64_t a3)
{
    CHECK(current_thread == w->root);
    enum fake_exit how = kw_sys(w->root, BK_SYS_CALL, cptr, BK_MSGINFO(n, 0, 0, label), a0, a1,
                                a2, a3);
    CHECK_EQ(how, FAKE_EXIT_USER);
    CHECK(current_thread == w->root); /* nothing outranks the driver */
    return BK_MSGINFO_LABEL(kw_info(w->root));
}

uint64_t kw_result(const struct kworld *w, unsigned i)
{
    return kw_mr(w->root, i);
}

/* Three page tables and the IPC buffer frame at KW_IPC_BUFFER. */
static void space_init(struct kworld *w, unsigned vs)
{
    unsigned pt = kw_retype(w, CAP_PAGE_TABLE, 0, 3);
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(kw_invoke(w, pt + i, BK_LABEL_PAGE_TABLE_MAP, 2, vs, KW_IPC_BUFFER, 0, 0), 0);
    unsigned frame = kw_retype(w, CAP_FRAME, 12, 1);
    CHECK_EQ(kw_invoke(w, frame, BK_LABEL_FRAME_MAP, 4, vs, KW_IPC_BUFFER,
                       BK_VM_READ | BK_VM_WRITE, 0), 0);
}

void kw_space_init_root(struct kworld *w)
{
    space_init(w, KW_ROOT_VSPACE);
    w->root->ipc_buffer_vaddr = KW_IPC_BUFFER;
    w->root->ipc_buffer_epoch = 0;
}

unsigned kw_vspace_from(struct kworld *w, unsigned pool)
{
    unsigned vs = kw_retype(w, CAP_VSPACE, 0, 1);
    CHECK_EQ(kw_invoke(w, pool, BK_LABEL_ASID_POOL_ASSIGN, 1, vs, 0, 0, 0), 0);
    return vs;
}

unsigned kw_vspace(struct kworld *w)
{
    return kw_vspace_from(w, KW_ASID_POOL);
}

unsigned kw_space_from(struct kworld *w, unsigned pool)
{
    unsigned vs = kw_vspace_from(w, pool);
    space_init(w, vs);
    return vs;
}

unsigned kw_space(struct kworld *w)
{
    return kw_space_from(w, KW_ASID_POOL);
}

unsigned kw_asid_pool(struct kworld *w)
{
    unsigned page = kw_retype(w, CAP_UNTYPED, BK_ASID_POOL_BITS, 1);
    unsigned pool = w->next_slot++;
    CHECK_EQ(kw_invoke(w, KW_ASID_CONTROL, BK_LABEL_ASID_CONTROL_MAKE_POOL, 4, page, KW_CNODE,
                       pool, 64),
             0);
    return pool;
}

unsigned kw_give_cpu(struct kworld *w, unsigned tcb)
{
    unsigned sc = kw_retype(w, CAP_SCHED_CONTEXT, 0, 1);
    /* The fifth word, the badge, comes from the driver's IPC buffer: any. */
    CHECK_EQ(kw_invoke(w, KW_SCHED_CONTROL, BK_LABEL_SCHED_CONTROL_CONFIGURE, 5, sc,
                       BK_SCHED_ROOT_PERIOD_NS, BK_SCHED_ROOT_PERIOD_NS, 1),
             0);
    CHECK_EQ(kw_invoke(w, sc, BK_LABEL_SCHED_CONTEXT_BIND, 1, tcb, 0, 0, 0), 0);
    return sc;
}

unsigned kw_thread(struct kworld *w, unsigned space, uint8_t prio)
{
    unsigned tcb = kw_retype(w, CAP_TCB, 0, 1);
    kw_give_cpu(w, tcb);
    CHECK_EQ(kw_invoke(w, tcb, BK_LABEL_TCB_CONFIGURE, 4, KW_CNODE, 0, space, KW_IPC_BUFFER), 0);
    CHECK_EQ(kw_invoke(w, tcb, BK_LABEL_TCB_SET_MC_PRIORITY, 2, KW_ROOT_TCB, prio, 0, 0), 0);
    CHECK_EQ(kw_invoke(w, tcb, BK_LABEL_TCB_SET_PRIORITY, 2, KW_ROOT_TCB, prio, 0, 0), 0);
    CHECK_EQ(kw_invoke(w, tcb, BK_LABEL_TCB_WRITE_REGISTERS, 4, 1, KW_ENTRY, KW_STACK, tcb), 0);
    snprintf(kw_tcb(w, tcb)->name, sizeof(kw_tcb(w, tcb)->name), "slot%u", tcb);
    return tcb;
}

/* ---- Syscalls ------------------------------------------------------------------- */

enum fake_exit kw_sys(struct thread *t, unsigned long nr, uint64_t a0, uint64_t a1, uint64_t a2,
                      uint64_t a3, uint64_t a4, uint64_t a5)
{
    if (current_thread != t) {
        printf("  kw_sys: thread '%s' is not the one running ('%s')\n", t->name,
               current_thread ? current_thread->name : "none");
        check_failures_in_test++;
        return FAKE_EXIT_NONE;
    }
    const uint64_t args[6] = { a0, a1, a2, a3, a4, a5 };
    enum fake_exit how = fake_syscall(nr, args);
    if (how == FAKE_EXIT_USER || how == FAKE_EXIT_FASTPATH)
        CHECK(fake_cpu.entered == &current_thread->regs);
    return how;
}

static const uint64_t no_words[4];

static enum fake_exit ipc(struct thread *t, unsigned long nr, uint64_t cptr, uint64_t info,
                          const uint64_t *mr)
{
    mr = mr ? mr : no_words;
    return kw_sys(t, nr, cptr, info, mr[0], mr[1], mr[2], mr[3]);
}

enum fake_exit kw_call(struct thread *t, uint64_t cptr, uint64_t info, const uint64_t *mr)
{
    return ipc(t, BK_SYS_CALL, cptr, info, mr);
}

enum fake_exit kw_send(struct thread *t, uint64_t cptr, uint64_t info, const uint64_t *mr)
{
    return ipc(t, BK_SYS_SEND, cptr, info, mr);
}

enum fake_exit kw_nbsend(struct thread *t, uint64_t cptr, uint64_t info, const uint64_t *mr)
{
    return ipc(t, BK_SYS_NBSEND, cptr, info, mr);
}

enum fake_exit kw_reply_recv(struct thread *t, uint64_t cptr, uint64_t info, const uint64_t *mr)
{
    return ipc(t, BK_SYS_REPLY_RECV, cptr, info, mr);
}

enum fake_exit kw_reply(struct thread *t, uint64_t info, const uint64_t *mr)
{
    return ipc(t, BK_SYS_REPLY, 0, info, mr);
}

enum fake_exit kw_recv(struct thread *t, uint64_t cptr)
{
    return ipc(t, BK_SYS_RECV, cptr, 0, NULL);
}

enum fake_exit kw_nbrecv(struct thread *t, uint64_t cptr)
{
    return ipc(t, BK_SYS_NBRECV, cptr, 0, NULL);
}

enum fake_exit kw_yield(struct thread *t)
{
    return ipc(t, BK_SYS_YIELD, 0, 0, NULL);
}

struct bk_ipc_buffer *kw_buffer(struct thread *t)
{
    return thread_ipc_buffer(t);
}

uint64_t kw_invariants(struct kworld *w)
{
    /* The walk runs as Debug: CheckInvariants does, in the current thread
     * (every thread here has the root CNode as its CSpace). */
    struct invariant_report report;
    return invariants_check(current_thread ? current_thread : w->root, &report);
}
