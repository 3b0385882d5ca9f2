/* Host tests of the paging-structure objects (kernel/frame.c,
 * page_table.c, vspace_object.c) against the fake arch's software page
 * table (tests/host/fake_vspace.c), through the syscall entry: PageTable:
 * Map at the level the walk finds missing, Frame: Map, Unmap and Remap of
 * 4 KiB and 2 MiB frames with their checks (alignment, the user half,
 * W^X, rights, one mapping per cap, a slot already in use, a missing
 * table), what deleting caps and tables takes away, and the kernel
 * reading user memory through the page table (Debug: Write). */
#include <string.h>

#include "kworld.h"
#include "vspace.h"
#include "vspace_object.h"

#define VA 0x40000000ull /* a 1 GiB-aligned region no kw_space() table covers */

static uint64_t map_table(struct kworld *w, unsigned pt, unsigned vs, uint64_t va)
{
    return kw_invoke(w, pt, BK_LABEL_PAGE_TABLE_MAP, 2, vs, va, 0, 0);
}

static uint64_t map_frame(struct kworld *w, unsigned frame, unsigned vs, uint64_t va,
                          uint64_t rights)
{
    return kw_invoke(w, frame, BK_LABEL_FRAME_MAP, 4, vs, va, rights, 0);
}

/* The fake page table's answer for `va` in the VSpace at `vs`: its
 * rights, or 0 if nothing maps it; *pa the physical address. */
static unsigned translate(struct kworld *w, unsigned vs, uint64_t va, paddr_t *pa)
{
    unsigned rights = 0;
    paddr_t where = 0;
    if (!arch_vspace_translate(&vspace_of_cap(&w->slots[vs].cap)->arch, va, &where, &rights))
        return 0;
    if (pa)
        *pa = where;
    return rights;
}

static void test_tables_by_level(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned vs = kw_vspace(&w);
    unsigned frame = kw_retype(&w, CAP_FRAME, 12, 1);
    unsigned pt = kw_retype(&w, CAP_PAGE_TABLE, 0, 4);
    /* No table yet: the reply names the missing level (3, below the root)
     * and the address bits it would translate. */
    CHECK_EQ(map_frame(&w, frame, vs, VA, BK_VM_READ), BK_ERR_FAILED_LOOKUP);
    CHECK_EQ(kw_result(&w, 2), vspace_level_span_bits(3));
    CHECK_EQ(kw_result(&w, 3), 3);
    for (unsigned i = 0; i < 3; i++) {
        CHECK_EQ(map_table(&w, pt + i, vs, VA + 0x1234), 0);
        CHECK_EQ(pt_cap_mapped_level(&w.slots[pt + i].cap), 3 - i);
        CHECK_EQ(pt_cap_mapped_vaddr(&w.slots[pt + i].cap),
                 ALIGN_DOWN(VA, 1ull << vspace_level_span_bits(3 - i)));
    }
    CHECK_EQ(map_table(&w, pt + 3, vs, VA), BK_ERR_DELETE_FIRST); /* every level is there */
    CHECK_EQ(map_table(&w, pt, vs, VA + (1ull << 40)), BK_ERR_ILLEGAL_OPERATION); /* mapped */
    CHECK_EQ(map_table(&w, pt + 3, vs, ARCH_USER_VADDR_MAX), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_frame(&w, frame, vs, VA, BK_VM_READ), 0);
    CHECK_EQ(translate(&w, vs, VA + 5, NULL), VM_READ);
    /* Unmapping the level-1 table takes its pages with it, and zeroes it. */
    uint64_t epoch = vspace_epoch;
    CHECK_EQ(kw_invoke(&w, pt + 2, BK_LABEL_PAGE_TABLE_UNMAP, 0, 0, 0, 0, 0), 0);
    CHECK(vspace_epoch > epoch);
    CHECK_EQ(translate(&w, vs, VA, NULL), 0);
    CHECK_EQ(((uint64_t *)kw_object(&w, pt + 2))[0], 0);
    CHECK_EQ(map_table(&w, pt + 2, vs, VA), 0); /* and it can go back */
    CHECK_EQ(translate(&w, vs, VA, NULL), 0);  /* empty */
    kw_free(&w);
}

/* A VSpace with the three tables above VA. */
static unsigned space_at_va(struct kworld *w)
{
    unsigned vs = kw_vspace(w);
    unsigned pt = kw_retype(w, CAP_PAGE_TABLE, 0, 3);
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(map_table(w, pt + i, vs, VA), 0);
    return vs;
}

static void test_frame_map_checks(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned vs = space_at_va(&w);
    unsigned frame = kw_retype(&w, CAP_FRAME, 12, 2);
    CHECK_EQ(map_frame(&w, frame, vs, VA + 0x800, BK_VM_READ), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_frame(&w, frame, vs, ARCH_USER_VADDR_MAX, BK_VM_READ), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_frame(&w, frame, vs, VA, BK_VM_WRITE | BK_VM_EXEC), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_frame(&w, frame, vs, VA, 8), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_frame(&w, frame, KW_CNODE, VA, BK_VM_READ), BK_ERR_INVALID_CAPABILITY);
    CHECK_EQ(translate(&w, vs, VA, NULL), 0); /* the refusals mapped nothing */
    CHECK_EQ(map_frame(&w, frame, vs, VA, BK_VM_READ | BK_VM_WRITE), 0);
    paddr_t pa;
    CHECK_EQ(translate(&w, vs, VA + 0x10, &pa), VM_READ | VM_WRITE);
    CHECK_EQ(pa, cap_frame_base(&w.slots[frame].cap) + 0x10);
    CHECK_EQ(map_frame(&w, frame, vs, VA + 0x1000, BK_VM_READ), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(map_frame(&w, frame + 1, vs, VA, BK_VM_READ), BK_ERR_DELETE_FIRST);
    /* A copy of a mapped frame cap starts unmapped and maps elsewhere. */
    unsigned copy = kw_mint(&w, frame, CAP_RIGHTS_ALL, 0);
    CHECK_EQ(map_frame(&w, copy, vs, VA + 0x1000, BK_VM_READ), 0);
    CHECK_EQ(translate(&w, vs, VA + 0x1000, &pa), VM_READ);
    CHECK_EQ(pa, cap_frame_base(&w.slots[frame].cap));
    kw_free(&w);
}

/* Rights come from the cap and only ever shrink. */
static void test_rights_and_remap(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned vs = space_at_va(&w);
    unsigned frame = kw_retype(&w, CAP_FRAME, 12, 1);
    unsigned read_only = kw_mint(&w, frame, CAP_RIGHT_READ, 0);
    unsigned no_read = kw_mint(&w, frame, CAP_RIGHT_WRITE, 0);
    CHECK_EQ(map_frame(&w, no_read, vs, VA, BK_VM_READ), BK_ERR_INSUFFICIENT_RIGHTS);
    CHECK_EQ(map_frame(&w, read_only, vs, VA, BK_VM_READ | BK_VM_WRITE), 0);
    CHECK_EQ(translate(&w, vs, VA, NULL), VM_READ); /* no write without the write right */
    CHECK_EQ(map_frame(&w, frame, vs, VA + 0x1000, BK_VM_READ | BK_VM_WRITE), 0);
    uint64_t epoch = vspace_epoch;
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_REMAP, 1, BK_VM_READ, 0, 0, 0), 0);
    CHECK_EQ(translate(&w, vs, VA + 0x1000, NULL), VM_READ);
    CHECK(vspace_epoch > epoch);
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_REMAP, 1, BK_VM_READ | BK_VM_WRITE, 0, 0, 0),
             0);
    CHECK_EQ(translate(&w, vs, VA + 0x1000, NULL), VM_READ); /* does not grow back */
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_REMAP, 1, BK_VM_WRITE | BK_VM_EXEC, 0, 0, 0),
             BK_ERR_INVALID_ARGUMENT);
    unsigned unmapped = kw_mint(&w, frame, CAP_RIGHTS_ALL, 0);
    CHECK_EQ(kw_invoke(&w, unmapped, BK_LABEL_FRAME_REMAP, 1, BK_VM_READ, 0, 0, 0),
             BK_ERR_ILLEGAL_OPERATION);
    /* GetAddress needs the physical-address right for RAM. */
    CHECK_EQ(kw_invoke(&w, read_only, BK_LABEL_FRAME_GET_ADDRESS, 0, 0, 0, 0, 0),
             BK_ERR_INSUFFICIENT_RIGHTS);
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_GET_ADDRESS, 0, 0, 0, 0, 0), 0);
    CHECK_EQ(kw_result(&w, 0), cap_frame_base(&w.slots[frame].cap));
    kw_free(&w);
}

static void test_unmap_and_delete(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned vs = space_at_va(&w);
    unsigned frame = kw_retype(&w, CAP_FRAME, 12, 2);
    CHECK_EQ(map_frame(&w, frame, vs, VA, BK_VM_READ), 0);
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_UNMAP, 0, 0, 0, 0, 0), 0);
    CHECK_EQ(translate(&w, vs, VA, NULL), 0);
    CHECK_EQ(cap_frame_mapped_asid(&w.slots[frame].cap), 0);
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_UNMAP, 0, 0, 0, 0, 0), 0); /* twice: fine */
    CHECK_EQ(map_frame(&w, frame, vs, VA, BK_VM_READ), 0); /* and it maps again */
    CHECK_EQ(map_frame(&w, frame + 1, vs, VA + 0x1000, BK_VM_READ), 0);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, frame + 1, 64, 0, 0), 0);
    CHECK_EQ(translate(&w, vs, VA + 0x1000, NULL), 0); /* the cap took its mapping along */
    CHECK_EQ(translate(&w, vs, VA, NULL), VM_READ);
    /* A deleted VSpace: the frame cap's record is stale and harmless. */
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, vs, 64, 0, 0), 0);
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_UNMAP, 0, 0, 0, 0, 0), 0);
    kw_free(&w);
}

static void test_large_frame(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned vs = kw_vspace(&w);
    unsigned pt = kw_retype(&w, CAP_PAGE_TABLE, 0, 2);
    unsigned big = kw_retype(&w, CAP_FRAME, ARCH_LARGE_PAGE_BITS, 1);
    CHECK_EQ(map_table(&w, pt, vs, VA), 0);
    CHECK_EQ(map_frame(&w, big, vs, VA, BK_VM_READ), BK_ERR_FAILED_LOOKUP);
    CHECK_EQ(kw_result(&w, 3), 2);
    CHECK_EQ(map_table(&w, pt + 1, vs, VA), 0);
    CHECK_EQ(map_frame(&w, big, vs, VA + 0x1000, BK_VM_READ), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_frame(&w, big, vs, VA, BK_VM_READ), 0);
    paddr_t pa;
    CHECK_EQ(translate(&w, vs, VA + 0x123456, &pa), VM_READ);
    CHECK_EQ(pa, cap_frame_base(&w.slots[big].cap) + 0x123456);
    /* The large leaf fills the slot a level-1 table would take. */
    unsigned pt1 = kw_retype(&w, CAP_PAGE_TABLE, 0, 1);
    CHECK_EQ(map_table(&w, pt1, vs, VA), BK_ERR_DELETE_FIRST);
    kw_free(&w);
}

/* An unmapped IPC buffer is no buffer: long messages shrink to registers. */
static void test_ipc_buffer_follows_mapping(void)
{
    struct kworld w;
    kw_init(&w);
    CHECK(kw_buffer(w.root) != NULL);
    unsigned frame = KW_FIRST_FREE + 3; /* kw_space_init_root()'s buffer frame */
    CHECK_EQ(cap_type(&w.slots[frame].cap), CAP_FRAME);
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_UNMAP, 0, 0, 0, 0, 0), 0);
    CHECK(kw_buffer(w.root) == NULL);
    CHECK_EQ(map_frame(&w, frame, KW_ROOT_VSPACE, KW_IPC_BUFFER, BK_VM_READ), 0);
    CHECK(kw_buffer(w.root) == NULL); /* read-only: not a buffer */
    kw_free(&w);
}

/* The kernel reads user memory only through translations: Debug: Write
 * copies what the page table maps, across a page boundary, and refuses
 * (printing nothing) a range with an unmapped byte. */
static void test_kernel_reads_user_memory(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned vs = space_at_va(&w);
    unsigned frame = kw_retype(&w, CAP_FRAME, 12, 2);
    CHECK_EQ(map_frame(&w, frame, vs, VA, BK_VM_READ), 0);
    CHECK_EQ(map_frame(&w, frame + 1, vs, VA + 0x1000, BK_VM_READ), 0);
    unsigned tcb = kw_retype(&w, CAP_TCB, 0, 1);
    kw_give_cpu(&w, tcb);
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_CONFIGURE, 4, KW_CNODE, 0, vs, 0), 0);
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_SET_PRIORITY, 2, KW_ROOT_TCB, 10, 0, 0), 0);
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_WRITE_REGISTERS, 4, 1, KW_ENTRY, KW_STACK, 0), 0);
    char *end_of_first = (char *)kw_object(&w, frame) + 0xffe;
    memcpy(end_of_first, "he", 2);
    memcpy(kw_object(&w, frame + 1), "llo", 3);
    struct thread *t = kw_tcb(&w, tcb);
    kw_park(&w);
    CHECK(current_thread == t);
    fake_console_reset();
    kw_sys(t, BK_SYS_CALL, KW_DEBUG, BK_MSGINFO(2, 0, 0, BK_LABEL_DEBUG_WRITE), VA + 0xffe, 5, 0,
           0);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(t)), 0);
    CHECK_EQ(kw_mr(t, 0), 5);
    CHECK(strcmp(fake_console, "hello") == 0);
    fake_console_reset();
    kw_sys(t, BK_SYS_CALL, KW_DEBUG, BK_MSGINFO(2, 0, 0, BK_LABEL_DEBUG_WRITE), VA + 0x1ffe, 5,
           0, 0);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(t)), BK_ERR_INVALID_ADDRESS);
    kw_sys(t, BK_SYS_CALL, KW_DEBUG, BK_MSGINFO(2, 0, 0, BK_LABEL_DEBUG_WRITE), VA,
           BK_DEBUG_WRITE_MAX + 1, 0, 0);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(t)), BK_ERR_RANGE);
    CHECK_EQ(fake_console_len, 0);
    kw_free(&w);
}

TEST_MAIN(TEST(test_kernel_reads_user_memory), TEST(test_tables_by_level), TEST(test_frame_map_checks), TEST(test_rights_and_remap),
          TEST(test_unmap_and_delete), TEST(test_large_frame),
          TEST(test_ipc_buffer_follows_mapping))
