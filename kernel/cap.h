/*
 * The capability: three 64-bit words naming one kernel object (or a range of
 * memory) and what its holder may do with it. Only the inline accessors in
 * this file know the bit layout; everything else reads and builds caps
 * through them.
 *
 * Layout (bit numbers within each word):
 *
 *   w0  [4:0]   type (enum cap_type); 0 is the null cap, so zeroed memory
 *               is a table of empty slots
 *       [9:5]   rights (CAP_RIGHT_* bits)
 *       [10]    UNTYPED: this cap is a copy (cannot be retyped, see untyped.c)
 *               CNODE: flat, kept equal to guard_size + radix == 64 and
 *               guard == 0 (one level resolves every cptr; the IPC fast
 *               path tests this one bit instead of three fields, with the
 *               type in one mask that fits a RISC-V 12-bit immediate)
 *       [11]    UNTYPED, FRAME: device memory (never zeroed, never a kernel object)
 *       [12]    ZOMBIE: the slots are a TCB's (else a CNode's)
 *       [13]    ZOMBIE: names an endpoint or notification whose waiters it
 *               wakes (a waiters zombie), not slots
 *       [14]    ZOMBIE, waiters: the object is a notification
 *       [15]    ZOMBIE, waiters: the object is an ASID pool whose entries
 *               it takes back (asid_pool.c), not a queue
 *       [21:16] UNTYPED, FRAME: size_bits (log2 bytes); CNODE, ZOMBIE: radix (log2 slots)
 *       [29:24] CNODE: guard_size (bits)
 *       [63:32] FRAME, PAGE_TABLE: ASID of the address space it is mapped in
 *               (0: unmapped; asid_pool.h says how a name is made)
 *       [63:22] UNTYPED: clean, in 64-byte units: [free_index, clean) is
 *               known to hold zeros (untyped.c)
 *   w1          the object's kernel-virtual address (direct map), or for
 *               UNTYPED and FRAME the physical base address
 *   w2          UNTYPED: free_index, the watermark in bytes from the base
 *               CNODE: guard
 *               ENDPOINT, NOTIFICATION: badge, all 64 bits (0 = unbadged)
 *               FRAME: user virtual address it is mapped at (0: unmapped)
 *               IRQ_HANDLER: the IRQ number; IOPORT: first [15:0], last [31:16]
 *               ZOMBIE: the index of the next slot to empty (w1: the slots);
 *               a waiters zombie: the badge whose sends it cancels, or 0
 *               when it wakes every waiter of its destroyed object (w1)
 *               others: free for their object code
 *
 * Rights are kept in every cap (copy and mint only ever clear bits), but
 * only the methods of ENDPOINT, NOTIFICATION, REPLY and FRAME look at them.
 * The field grew from 4 to 5 bits for CAP_RIGHT_PHYS_ADDRESS: a right must
 * sit in the one field that copy and mint mask (cap_mask_rights), so that
 * it shrinks like the others with no special case in derivation. Bit 9 was
 * the device bit, which moved to 11; the flat bit stays at 10 (above).
 * The ASID field grew from 16 to 32 bits when ASIDs came from pools, so
 * that names are not what limits the number of address spaces.
 */
#pragma once

#include <bulkhead/abi.h>

#include "types.h"

/* User space names types and rights with the ABI's numbers (BK_OBJ_* and
 * BK_RIGHT_* of kernel/abi.toml), and the syscall layer passes them through,
 * so the kernel's names are defined from the generated ones. The types the
 * ABI does not name (reply, zombie, and the scheduling-domain cap to come)
 * take numbers abi.toml leaves free for them. */
enum cap_type {
    CAP_NULL = 0,                               /* empty slot */
    CAP_UNTYPED = BK_OBJ_UNTYPED,               /* aligned power-of-two physical memory */
    CAP_CNODE = BK_OBJ_CNODE,                   /* a table of 2^radix capability slots */
    CAP_TCB = BK_OBJ_TCB,                       /* a thread */
    CAP_ENDPOINT = BK_OBJ_ENDPOINT,             /* synchronous IPC rendezvous */
    CAP_NOTIFICATION = BK_OBJ_NOTIFICATION,     /* a word of signal bits */
    CAP_REPLY = BK_OBJ_REPLY,                   /* holds one saved Call until it is answered */
    CAP_FRAME = BK_OBJ_FRAME,                   /* a page of memory a thread can map */
    CAP_PAGE_TABLE = BK_OBJ_PAGE_TABLE,         /* an intermediate translation table */
    CAP_VSPACE = BK_OBJ_VSPACE,                 /* the root of an address space */
    CAP_IRQ_CONTROL = BK_OBJ_IRQ_CONTROL,       /* makes IRQ_HANDLER caps; one, made at boot */
    CAP_IRQ_HANDLER = BK_OBJ_IRQ_HANDLER,       /* acknowledge and bind one interrupt line */
    CAP_IOPORT_CONTROL = BK_OBJ_IOPORT_CONTROL, /* makes IOPORT caps (x86-64); one, at boot */
    CAP_IOPORT = BK_OBJ_IOPORT,                 /* a range of x86 I/O ports */
    CAP_DOMAIN = 14,                            /* sets a thread's scheduling domain (later) */
    CAP_SCHED_CONTROL = BK_OBJ_SCHED_CONTROL,   /* gives SchedContexts time; one per CPU, at boot */
    CAP_DEBUG = BK_OBJ_DEBUG,                   /* the kernel's debugging aids; made at boot */
    CAP_ZOMBIE = 17,                            /* a dead object being finished (cnode.c) */
    CAP_SCHED_CONTEXT = BK_OBJ_SCHED_CONTEXT,   /* a budget of CPU time a thread runs on */
    CAP_ASID_CONTROL = BK_OBJ_ASID_CONTROL,     /* makes ASID pools; one, made at boot */
    CAP_ASID_POOL = BK_OBJ_ASID_POOL,           /* a page of ASIDs for VSpaces */
    CAP_TYPE_COUNT
};

typedef unsigned cap_rights_t;
/* receive (endpoint, notification), read (frame) */
#define CAP_RIGHT_READ ((cap_rights_t)BK_RIGHT_READ)
/* send (endpoint, notification), write (frame) */
#define CAP_RIGHT_WRITE ((cap_rights_t)BK_RIGHT_WRITE)
/* transfer capabilities through the endpoint */
#define CAP_RIGHT_GRANT ((cap_rights_t)BK_RIGHT_GRANT)
/* transfer capabilities through the reply to a Call */
#define CAP_RIGHT_GRANT_REPLY ((cap_rights_t)BK_RIGHT_GRANT_REPLY)
/* learn a RAM frame's physical address (frame.c) */
#define CAP_RIGHT_PHYS_ADDRESS ((cap_rights_t)BK_RIGHT_PHYS_ADDRESS)
#define CAP_RIGHTS_ALL ((cap_rights_t)BK_RIGHTS_ALL)

typedef struct cap {
    uint64_t w[3];
} cap_t;

/* ---- Bit-field helpers (this file only) ------------------------------ */

#define CAP_TYPE_SHIFT 0
#define CAP_TYPE_WIDTH 5
#define CAP_RIGHTS_SHIFT 5
#define CAP_RIGHTS_WIDTH 5
#define CAP_DEVICE_BIT 11
#define CAP_COPY_BIT 10
#define CAP_CNODE_FLAT_BIT 10
#define CAP_ZOMBIE_TCB_BIT 12
#define CAP_ZOMBIE_WAITERS_BIT 13
#define CAP_ZOMBIE_NOTIFICATION_BIT 14
#define CAP_ZOMBIE_ASID_POOL_BIT 15
#define CAP_SIZE_SHIFT 16
#define CAP_SIZE_WIDTH 6
#define CAP_GUARD_SIZE_SHIFT 24
#define CAP_GUARD_SIZE_WIDTH 6
#define CAP_UNTYPED_CLEAN_SHIFT 22
#define CAP_UNTYPED_CLEAN_WIDTH 42 /* 64-byte units: up to 2^48 bytes */
#define CAP_ASID_SHIFT 32
#define CAP_ASID_WIDTH 32

_Static_assert(CAP_RIGHTS_ALL >> CAP_RIGHTS_WIDTH == 0 &&
                   CAP_RIGHTS_SHIFT + CAP_RIGHTS_WIDTH <= CAP_CNODE_FLAT_BIT,
               "every right fits the rights field, below the flat and device bits");
_Static_assert(CAP_CNODE_FLAT_BIT < 11, "the fast path's flat-CNode mask fits 12 bits");
_Static_assert(CAP_SIZE_SHIFT + CAP_SIZE_WIDTH <= CAP_ASID_SHIFT,
               "a frame's ASID lies above its size");
_Static_assert(CAP_TYPE_COUNT <= 1u << CAP_TYPE_WIDTH, "every type fits the type field");

static inline uint64_t cap_field(uint64_t word, unsigned shift, unsigned width)
{
    return (word >> shift) & ((1ull << width) - 1);
}

static inline uint64_t cap_field_set(uint64_t word, unsigned shift, unsigned width,
                                     uint64_t value)
{
    uint64_t mask = ((1ull << width) - 1) << shift;
    return (word & ~mask) | ((value << shift) & mask);
}

static inline uint64_t cap_ptr_word(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* ---- Every cap --------------------------------------------------------- */

static inline cap_t cap_null(void)
{
    return (cap_t){ { 0, 0, 0 } };
}

static inline enum cap_type cap_type(const cap_t *c)
{
    return (enum cap_type)cap_field(c->w[0], CAP_TYPE_SHIFT, CAP_TYPE_WIDTH);
}

static inline bool cap_is_null(const cap_t *c)
{
    return cap_type(c) == CAP_NULL;
}

/* The rights held in a cap's first word (kept apart by the IPC fast path,
 * which saves that word whole: one store). */
static inline cap_rights_t cap_word_rights(uint64_t w0)
{
    return (cap_rights_t)cap_field(w0, CAP_RIGHTS_SHIFT, CAP_RIGHTS_WIDTH);
}

static inline cap_rights_t cap_rights(const cap_t *c)
{
    return cap_word_rights(c->w[0]);
}

/* Keeps only the rights also in `mask`: rights can shrink, never grow. */
static inline void cap_mask_rights(cap_t *c, cap_rights_t mask)
{
    c->w[0] = cap_field_set(c->w[0], CAP_RIGHTS_SHIFT, CAP_RIGHTS_WIDTH, cap_rights(c) & mask);
}

/* The object a pointer-carrying cap names (CNODE, TCB, ENDPOINT,
 * NOTIFICATION, REPLY, PAGE_TABLE, VSPACE), as a kernel-virtual pointer. */
static inline void *cap_object(const cap_t *c)
{
    return (void *)(uintptr_t)c->w[1];
}

/* Builds the header word of a cap. */
static inline uint64_t cap_word0(enum cap_type type, cap_rights_t rights)
{
    uint64_t w = cap_field_set(0, CAP_TYPE_SHIFT, CAP_TYPE_WIDTH, (uint64_t)type);
    return cap_field_set(w, CAP_RIGHTS_SHIFT, CAP_RIGHTS_WIDTH, rights);
}

/* A cap of a type that carries only an object pointer (TCB, REPLY,
 * PAGE_TABLE, VSPACE) or nothing at all (IRQ_CONTROL, IOPORT_CONTROL,
 * DOMAIN, SCHED_CONTROL, DEBUG: obj NULL). */
static inline cap_t cap_make_object(enum cap_type type, void *obj, cap_rights_t rights)
{
    return (cap_t){ { cap_word0(type, rights), cap_ptr_word(obj), 0 } };
}

/* ---- SCHED_CONTROL ----------------------------------------------------- */

/* A SchedControl cap names no object but its CPU, kept in the object word. */
static inline cap_t cap_make_sched_control(unsigned cpu)
{
    return (cap_t){ { cap_word0(CAP_SCHED_CONTROL, CAP_RIGHTS_ALL), cpu, 0 } };
}

static inline unsigned cap_sched_control_cpu(const cap_t *c)
{
    return (unsigned)c->w[1];
}

/* ---- UNTYPED ----------------------------------------------------------- */

static inline cap_t cap_make_untyped(paddr_t base, unsigned size_bits, bool is_device)
{
    uint64_t w = cap_word0(CAP_UNTYPED, CAP_RIGHTS_ALL);
    w = cap_field_set(w, CAP_SIZE_SHIFT, CAP_SIZE_WIDTH, size_bits);
    w = cap_field_set(w, CAP_DEVICE_BIT, 1, is_device);
    return (cap_t){ { w, base, 0 } };
}

static inline paddr_t cap_untyped_base(const cap_t *c)
{
    return c->w[1];
}

static inline unsigned cap_untyped_size_bits(const cap_t *c)
{
    return (unsigned)cap_field(c->w[0], CAP_SIZE_SHIFT, CAP_SIZE_WIDTH);
}

static inline bool cap_untyped_is_device(const cap_t *c)
{
    return cap_field(c->w[0], CAP_DEVICE_BIT, 1);
}

static inline bool cap_untyped_is_copy(const cap_t *c)
{
    return cap_field(c->w[0], CAP_COPY_BIT, 1);
}

static inline void cap_untyped_mark_copy(cap_t *c)
{
    c->w[0] = cap_field_set(c->w[0], CAP_COPY_BIT, 1, 1);
}

static inline uint64_t cap_untyped_free_index(const cap_t *c)
{
    return c->w[2];
}

static inline void cap_untyped_set_free_index(cap_t *c, uint64_t bytes)
{
    c->w[2] = bytes;
}

/* The end of the zeroed memory above the watermark, in bytes (a multiple
 * of 64: every object is, so every watermark is). */
static inline uint64_t cap_untyped_clean(const cap_t *c)
{
    return cap_field(c->w[0], CAP_UNTYPED_CLEAN_SHIFT, CAP_UNTYPED_CLEAN_WIDTH) << 6;
}

static inline void cap_untyped_set_clean(cap_t *c, uint64_t bytes)
{
    c->w[0] = cap_field_set(c->w[0], CAP_UNTYPED_CLEAN_SHIFT, CAP_UNTYPED_CLEAN_WIDTH, bytes >> 6);
}

/* ---- CNODE ------------------------------------------------------------- */

/* The flat bit for these fields (see the layout above). */
static inline uint64_t cap_cnode_with_flat(uint64_t w0, unsigned radix, unsigned guard_size,
                                           uint64_t guard)
{
    return cap_field_set(w0, CAP_CNODE_FLAT_BIT, 1, radix + guard_size == 64 && guard == 0);
}

static inline cap_t cap_make_cnode(void *slots, unsigned radix, unsigned guard_size,
                                   uint64_t guard)
{
    uint64_t w = cap_word0(CAP_CNODE, CAP_RIGHTS_ALL);
    w = cap_field_set(w, CAP_SIZE_SHIFT, CAP_SIZE_WIDTH, radix);
    w = cap_field_set(w, CAP_GUARD_SIZE_SHIFT, CAP_GUARD_SIZE_WIDTH, guard_size);
    w = cap_cnode_with_flat(w, radix, guard_size, guard);
    return (cap_t){ { w, cap_ptr_word(slots), guard } };
}

static inline unsigned cap_cnode_radix(const cap_t *c)
{
    return (unsigned)cap_field(c->w[0], CAP_SIZE_SHIFT, CAP_SIZE_WIDTH);
}

static inline unsigned cap_cnode_guard_size(const cap_t *c)
{
    return (unsigned)cap_field(c->w[0], CAP_GUARD_SIZE_SHIFT, CAP_GUARD_SIZE_WIDTH);
}

static inline uint64_t cap_cnode_guard(const cap_t *c)
{
    return c->w[2];
}

/* Whether `c` is a CNode cap whose one level resolves every 64-bit cptr
 * (radix + guard_size == 64, guard 0): one load and one compare. */
static inline bool cap_is_flat_cnode(const cap_t *c)
{
    uint64_t mask = cap_field_set(0, CAP_TYPE_SHIFT, CAP_TYPE_WIDTH, ~0ull) |
                    1ull << CAP_CNODE_FLAT_BIT;
    return (c->w[0] & mask) == (CAP_CNODE | 1ull << CAP_CNODE_FLAT_BIT);
}

static inline void cap_cnode_set_guard(cap_t *c, unsigned guard_size, uint64_t guard)
{
    uint64_t w = cap_field_set(c->w[0], CAP_GUARD_SIZE_SHIFT, CAP_GUARD_SIZE_WIDTH, guard_size);
    c->w[0] = cap_cnode_with_flat(w, cap_cnode_radix(c), guard_size, guard);
    c->w[2] = guard;
}

/* ---- ZOMBIE -------------------------------------------------------------
 * What the final cap of a CNode or of a TCB becomes while Delete, Revoke
 * or TCB: Configure empties the object's slots across kernel entries
 * (cnode.c): no rights, the slots (a CNode's table, or a TCB's own two),
 * their number as a radix, whose they are, and how far the emptying got. */

static inline cap_t cap_make_zombie(void *slots, unsigned radix, bool is_tcb)
{
    uint64_t w = cap_word0(CAP_ZOMBIE, 0);
    w = cap_field_set(w, CAP_SIZE_SHIFT, CAP_SIZE_WIDTH, radix);
    w = cap_field_set(w, CAP_ZOMBIE_TCB_BIT, 1, is_tcb);
    return (cap_t){ { w, cap_ptr_word(slots), 0 } };
}

static inline unsigned cap_zombie_radix(const cap_t *c)
{
    return (unsigned)cap_field(c->w[0], CAP_SIZE_SHIFT, CAP_SIZE_WIDTH);
}

static inline bool cap_zombie_is_tcb(const cap_t *c)
{
    return cap_field(c->w[0], CAP_ZOMBIE_TCB_BIT, 1);
}

static inline uint64_t cap_zombie_next(const cap_t *c)
{
    return c->w[2];
}

static inline void cap_zombie_set_next(cap_t *c, uint64_t index)
{
    c->w[2] = index;
}

/* A waiters zombie: what the final cap of an endpoint or notification
 * that threads wait on becomes (badge 0), or the last cap of a badge
 * family of an endpoint with sends queued (its badge), while Delete,
 * Revoke or an emptying wakes those threads a batch per kernel entry
 * (cnode.c). It names the object, not slots, and holds no caps. The final
 * cap of an ASID pool whose entries name VSpaces becomes one too
 * (`is_asid_pool`): its batches take the entries back (asid_pool.c). */
static inline cap_t cap_make_waiters_zombie(void *obj, bool is_notification, bool is_asid_pool,
                                            uint64_t badge)
{
    uint64_t w = cap_word0(CAP_ZOMBIE, 0);
    w = cap_field_set(w, CAP_ZOMBIE_WAITERS_BIT, 1, 1);
    w = cap_field_set(w, CAP_ZOMBIE_NOTIFICATION_BIT, 1, is_notification);
    w = cap_field_set(w, CAP_ZOMBIE_ASID_POOL_BIT, 1, is_asid_pool);
    return (cap_t){ { w, cap_ptr_word(obj), badge } };
}

static inline bool cap_zombie_is_waiters(const cap_t *c)
{
    return cap_field(c->w[0], CAP_ZOMBIE_WAITERS_BIT, 1);
}

static inline bool cap_zombie_is_notification(const cap_t *c)
{
    return cap_field(c->w[0], CAP_ZOMBIE_NOTIFICATION_BIT, 1);
}

static inline bool cap_zombie_is_asid_pool(const cap_t *c)
{
    return cap_field(c->w[0], CAP_ZOMBIE_ASID_POOL_BIT, 1);
}

static inline uint64_t cap_zombie_badge(const cap_t *c)
{
    return c->w[2];
}

/* ---- ENDPOINT, NOTIFICATION -------------------------------------------- */

static inline cap_t cap_make_endpoint(void *obj, uint64_t badge, cap_rights_t rights)
{
    return (cap_t){ { cap_word0(CAP_ENDPOINT, rights), cap_ptr_word(obj), badge } };
}

static inline cap_t cap_make_notification(void *obj, uint64_t badge, cap_rights_t rights)
{
    return (cap_t){ { cap_word0(CAP_NOTIFICATION, rights), cap_ptr_word(obj), badge } };
}

static inline uint64_t cap_badge(const cap_t *c)
{
    return c->w[2];
}

static inline void cap_set_badge(cap_t *c, uint64_t badge)
{
    c->w[2] = badge;
}

/* An endpoint or notification cap that carries a badge (0 is none). */
static inline bool cap_is_badged(const cap_t *c)
{
    return (cap_type(c) == CAP_ENDPOINT || cap_type(c) == CAP_NOTIFICATION) && cap_badge(c) != 0;
}

/* ---- FRAME ------------------------------------------------------------- */

static inline cap_t cap_make_frame(paddr_t base, unsigned size_bits, cap_rights_t rights,
                                   bool is_device)
{
    uint64_t w = cap_word0(CAP_FRAME, rights);
    w = cap_field_set(w, CAP_SIZE_SHIFT, CAP_SIZE_WIDTH, size_bits);
    w = cap_field_set(w, CAP_DEVICE_BIT, 1, is_device);
    return (cap_t){ { w, base, 0 } };
}

static inline paddr_t cap_frame_base(const cap_t *c)
{
    return c->w[1];
}

static inline unsigned cap_frame_size_bits(const cap_t *c)
{
    return (unsigned)cap_field(c->w[0], CAP_SIZE_SHIFT, CAP_SIZE_WIDTH);
}

static inline bool cap_frame_is_device(const cap_t *c)
{
    return cap_field(c->w[0], CAP_DEVICE_BIT, 1);
}

static inline vaddr_t cap_frame_mapped_vaddr(const cap_t *c)
{
    return (vaddr_t)c->w[2];
}

/* The ASID a FRAME or PAGE_TABLE cap recorded when it was mapped; 0 if
 * it is not. */
static inline uint32_t cap_mapped_asid(const cap_t *c)
{
    return (uint32_t)cap_field(c->w[0], CAP_ASID_SHIFT, CAP_ASID_WIDTH);
}

static inline void cap_set_mapped_asid(cap_t *c, uint32_t asid)
{
    c->w[0] = cap_field_set(c->w[0], CAP_ASID_SHIFT, CAP_ASID_WIDTH, asid);
}

static inline uint32_t cap_frame_mapped_asid(const cap_t *c)
{
    return cap_mapped_asid(c);
}

/* Records where this cap's frame is mapped; (0, 0) means unmapped. Each
 * frame cap maps the frame at most once, as in seL4. */
static inline void cap_frame_set_mapping(cap_t *c, vaddr_t vaddr, uint32_t asid)
{
    cap_set_mapped_asid(c, asid);
    c->w[2] = (uint64_t)vaddr;
}

/* ---- IRQ_HANDLER, IOPORT ----------------------------------------------- */

static inline cap_t cap_make_irq_handler(unsigned irq)
{
    return (cap_t){ { cap_word0(CAP_IRQ_HANDLER, CAP_RIGHTS_ALL), 0, irq } };
}

static inline unsigned cap_irq_number(const cap_t *c)
{
    return (unsigned)c->w[2];
}

static inline cap_t cap_make_ioport(uint16_t first, uint16_t last)
{
    return (cap_t){ { cap_word0(CAP_IOPORT, CAP_RIGHTS_ALL), 0,
                      (uint64_t)first | (uint64_t)last << 16 } };
}

static inline uint16_t cap_ioport_first(const cap_t *c)
{
    return (uint16_t)cap_field(c->w[2], 0, 16);
}

static inline uint16_t cap_ioport_last(const cap_t *c)
{
    return (uint16_t)cap_field(c->w[2], 16, 16);
}
