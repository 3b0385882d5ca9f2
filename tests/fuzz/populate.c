/*
 * The state the fuzzer starts from, and returns to after every reset.
 *
 * Random operations on an empty window mostly fail their first lookup.
 * So before them, and after each fz_reset(), the fuzzer builds what a
 * busy system holds, and random operations then hit live objects in
 * interesting states:
 *  - objects of every type the root task can retype: a child untyped,
 *    endpoints, notifications, TCBs, CNodes, a VSpace, page tables, frames;
 *  - a CSpace three levels deep: CNode A holds a copy of CNode B, which
 *    holds a copy of CNode C, which holds an endpoint cap;
 *  - badged endpoint caps (three badges) with copies of copies below them,
 *    so deletes and revokes end badge families and walk derivation chains;
 *  - threads blocked in Recv on both endpoints and on a notification,
 *    one of them with the notification bound, so deletions, badge
 *    cancellations and IPC find waiters;
 *  - an ASID pool (from a page of the fuzz untyped) that gave the
 *    VSpace its ASID, and frames mapped through page tables made for
 *    them in that VSpace.
 * Each step may fail on a kernel that changed shape; the count of steps
 * that worked is printed, and a fuzz run whose state could not be built at
 * all says so (fz_populate() returns the number of live objects made).
 */
#include "fuzz.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS

/* Where the populated objects sit: offsets from the window's first slot.
 * Slots from P_FREE on are left for the random operations. */
enum {
    P_UNTYPED = 0,
    P_EP = 1,         /* 2 endpoints */
    P_NTFN = 3,       /* 2 notifications */
    P_TCB = 5,        /* 3 TCBs, blocked in Recv */
    P_CNODE = 8,      /* 3 CNodes: A (radix 4), B (radix 3), C (radix 2) */
    P_VSPACE = 11,
    P_FRAME = 12,     /* 4 frames */
    P_PT = 16,        /* up to 4 page tables, as many as mapping needs */
    P_BADGED = 20,    /* 3 badged endpoint caps */
    P_COPIES = 23,    /* two copies below each badged cap, the second of the first */
    P_SC = 29,        /* 3 SchedContexts, one per TCB, whole-CPU */
    P_POOL_UNTYPED = 32, /* a page of untyped, which became... */
    P_POOL = 33,      /* ...the ASID pool the VSpace has its ASID from */
    P_FREE = 34,
};

#define MAP_BASE (1ull << 30) /* where the frames go in the populated VSpace */

struct populate {
    struct fuzz *f;
    unsigned done, failed;
};

static uint64_t slot(const struct populate *p, unsigned offset)
{
    return p->f->window + offset;
}

/* Counts a step; a failure is only counted (and named when tracing). */
static int step(struct populate *p, long r, const char *what)
{
    if (r == 0) {
        p->done++;
        return 1;
    }
    p->failed++;
    if (p->f->trace_from == 0)
        debug_printf("fuzz: populate: %s failed: %s\n", what, bk_error_name(r));
    return 0;
}

static void retype(struct populate *p, uint64_t type, uint64_t size_bits, unsigned offset,
                   unsigned count)
{
    step(p, sys_untyped_retype(p->f->untyped, type, size_bits, ROOT, 0, 0, slot(p, offset), count),
         "retype");
}

/* A to C nested: A's slot 1 holds B, B's slot 1 holds C, C's slot 1 holds
 * endpoint 0. */
static void build_deep_cspace(struct populate *p)
{
    uint64_t a = slot(p, P_CNODE), b = a + 1, c = a + 2;
    retype(p, BK_OBJ_CNODE, 4, P_CNODE, 1);
    retype(p, BK_OBJ_CNODE, 3, P_CNODE + 1, 1);
    retype(p, BK_OBJ_CNODE, 2, P_CNODE + 2, 1);
    p->f->radix[P_CNODE] = 4;
    p->f->radix[P_CNODE + 1] = 3;
    p->f->radix[P_CNODE + 2] = 2;
    step(p, sys_cnode_copy(c, 1, 2, ROOT, slot(p, P_EP), W, BK_RIGHTS_ALL), "copy into C");
    step(p, sys_cnode_copy(b, 1, 3, ROOT, c, W, BK_RIGHTS_ALL), "copy C into B");
    step(p, sys_cnode_copy(a, 1, 4, ROOT, b, W, BK_RIGHTS_ALL), "copy B into A");
}

/* Badges 1..3 minted from endpoint 1; below each a copy, and a copy of it. */
static void build_badge_families(struct populate *p)
{
    for (unsigned i = 0; i < 3; i++) {
        uint64_t badged = slot(p, P_BADGED + i), c1 = slot(p, P_COPIES + 2 * i);
        step(p, sys_cnode_mint(ROOT, badged, W, ROOT, slot(p, P_EP + 1), W, BK_RIGHTS_ALL, i + 1),
             "mint");
        step(p, sys_cnode_copy(ROOT, c1, W, ROOT, badged, W, BK_RIGHTS_ALL), "copy");
        step(p, sys_cnode_copy(ROOT, c1 + 1, W, ROOT, c1, W, BK_RIGHTS_ALL), "copy of copy");
    }
}

/* Frames at MAP_BASE in the populated VSpace, with the page tables the
 * kernel asks for (a map without them fails its lookup). */
static void map_frames(struct populate *p)
{
    uint64_t vs = slot(p, P_VSPACE);
    unsigned tables = 0;
    for (unsigned i = 0; i < 4; i++) {
        uint64_t frame = slot(p, P_FRAME + i), va = MAP_BASE + (uint64_t)i * BK_PAGE_SIZE;
        long r = sys_frame_map(frame, vs, va, BK_VM_READ | BK_VM_WRITE, 0);
        while (r == -BK_ERR_FAILED_LOOKUP && tables < 4) {
            uint64_t pt = slot(p, P_PT + tables++);
            if (sys_untyped_retype(p->f->untyped, BK_OBJ_PAGE_TABLE, 0, ROOT, 0, 0, pt, 1) ||
                sys_page_table_map(pt, vs, va))
                break;
            p->done++;
            r = sys_frame_map(frame, vs, va, BK_VM_READ | BK_VM_WRITE, 0);
        }
        step(p, r, "frame map");
    }
}

static void block_threads(struct populate *p)
{
    static const unsigned on[] = { P_EP, P_EP + 1, P_NTFN };
    for (unsigned i = 0; i < 3; i++) {
        step(p, sys_sched_control_configure(BK_CAP_SCHED_CONTROL, slot(p, P_SC + i),
                                            BK_SCHED_ROOT_PERIOD_NS, BK_SCHED_ROOT_PERIOD_NS, 1,
                                            i),
             "sched configure");
        step(p, sys_sched_context_bind(slot(p, P_SC + i), slot(p, P_TCB + i)), "sched bind");
        step(p, fz_start_blocked_helper(p->f, slot(p, P_TCB + i), slot(p, on[i])), "helper");
    }
    step(p, sys_tcb_bind_notification(slot(p, P_TCB + 2), slot(p, P_NTFN + 1)), "bind");
}

unsigned fz_populate(struct fuzz *f)
{
    struct populate p = { .f = f };
    retype(&p, BK_OBJ_UNTYPED, 14, P_UNTYPED, 1);
    retype(&p, BK_OBJ_ENDPOINT, 0, P_EP, 2);
    retype(&p, BK_OBJ_NOTIFICATION, 0, P_NTFN, 2);
    retype(&p, BK_OBJ_TCB, 0, P_TCB, 3);
    retype(&p, BK_OBJ_SCHED_CONTEXT, 0, P_SC, 3);
    retype(&p, BK_OBJ_VSPACE, 0, P_VSPACE, 1);
    retype(&p, BK_OBJ_UNTYPED, BK_ASID_POOL_BITS, P_POOL_UNTYPED, 1);
    step(&p, sys_asid_control_make_pool(BK_CAP_ASID_CONTROL, slot(&p, P_POOL_UNTYPED), ROOT,
                                        slot(&p, P_POOL), W),
         "make pool");
    step(&p, sys_asid_pool_assign(slot(&p, P_POOL), slot(&p, P_VSPACE)), "assign");
    retype(&p, BK_OBJ_FRAME, BK_PAGE_BITS, P_FRAME, 4);
    build_deep_cspace(&p);
    build_badge_families(&p);
    map_frames(&p);
    block_threads(&p);
    fz_refresh(f);
    unsigned live = 0;
    for (unsigned i = 0; i < P_FREE; i++)
        live += f->type[i] != 0;
    f->populated_steps += p.done;
    f->populate_failures += p.failed;
    return live;
}
