/*
 * The table of kernel object types and the generic half of creating and
 * destroying objects (see object.h for the counting rule).
 *
 * Invariants:
 *  - a counted object's refs equals the number of slots whose cap names it;
 *  - an object is destroyed exactly once, when refs drops to 0, and its
 *    memory is reused only after the untyped it came from has no children
 *    left (untyped.c), so no cap ever names reused memory.
 *
 * Each object file (cnode.c now; tcb.c, endpoint.c, notification.c,
 * vspace and irq code later) fills in its row of object_types[] with the
 * hooks it needs. Hooks never fail and never delete a CNode or TCB: the
 * objects that hold caps are emptied by the zombies of cnode.c, a batch
 * per kernel entry, not by their hooks, and the threads waiting on an
 * endpoint or notification are woken by zombies too (the waiters zombies
 * below). (An interrupt line's hook deletes the notification cap it
 * holds: one step, which may leave such a zombie.)
 */
#include "object.h"

#include "asid_pool.h"
#include "cdt.h"
#include "cnode.h"
#include "kernel.h"
#include "ipc.h"
#include "iospace.h"
#include "irq.h"
#include "reply.h"
#include "sched_context.h"
#include "vspace_object.h"

struct object_type {
    const char *name;
    bool retypable;      /* untyped_retype() may create it */
    bool derivable;      /* copy and mint may make more caps from one */
    bool counted;        /* has a struct kobj_header (see object.h) */
    uint8_t fixed_bits;  /* size of a fixed-size retypable type, else 0 */
    /* Runs when the final cap to a counted object is deleted. */
    void (*destroy)(const cap_t *final_cap);
    /* Runs for every deleted cap of the type, before the count drops: the
     * place for per-cap state such as a frame cap's mapping (vspace code). */
    void (*cap_deleted)(const cap_t *cap);
    /* Runs when a deleted badged cap was the last of its badge family
     * (cnode.c) and the object lives on. */
    void (*badge_retired)(const cap_t *cap);
};

static const struct object_type object_types[CAP_TYPE_COUNT] = {
    [CAP_NULL] = { "null", false, false, false, 0, NULL, NULL, NULL },
    [CAP_UNTYPED] = { "untyped", true, true, false, 0, NULL, NULL, NULL },
    /* Its slots are emptied by the zombie its final cap becomes (cnode.c). */
    [CAP_CNODE] = { "cnode", true, true, true, 0, NULL, NULL, NULL },
    [CAP_TCB] = { "tcb", true, true, true, OBJ_TCB_BITS, tcb_destroy, NULL, NULL },
    /* A badge's last cap cancels the sends queued with it (endpoint.c);
     * the zombie of a cap with waiters wakes them (cnode.c). */
    [CAP_ENDPOINT] = { "endpoint", true, true, true, OBJ_ENDPOINT_BITS, NULL, NULL,
                       endpoint_badge_retired },
    [CAP_NOTIFICATION] = { "notification", true, true, true, OBJ_NOTIFICATION_BITS,
                           notification_destroy, NULL, NULL },
    /* Its last cap cancels the Call it holds (reply.c). */
    [CAP_REPLY] = { "reply", true, true, true, OBJ_REPLY_BITS, reply_destroy, NULL, NULL },
    /* Frames and tables have no room for a count: a per-cap hook unmaps. */
    [CAP_FRAME] = { "frame", true, true, false, 0, NULL, frame_cap_deleted, NULL },
    /* One cap per table, so it is hooked in at most one place (page_table.c). */
    [CAP_PAGE_TABLE] = { "page_table", true, false, false, OBJ_PAGE_TABLE_BITS, NULL,
                         page_table_cap_deleted, NULL },
    [CAP_VSPACE] = { "vspace", true, true, true, OBJ_VSPACE_BITS, vspace_destroy, NULL, NULL },
    /* The control caps are unique (seL4 does not derive them either). */
    [CAP_IRQ_CONTROL] = { "irq_control", false, false, false, 0, NULL, NULL, NULL },
    /* Counted per line, not per object: see irq_handler.c. */
    [CAP_IRQ_HANDLER] = { "irq_handler", false, true, false, 0, NULL, irq_handler_cap_deleted,
                          NULL },
    [CAP_IOPORT_CONTROL] = { "ioport_control", false, false, false, 0, NULL, NULL, NULL },
    [CAP_IOPORT] = { "ioport", false, true, false, 0, NULL, NULL, NULL },
    [CAP_DOMAIN] = { "domain", false, true, false, 0, NULL, NULL, NULL },
    [CAP_SCHED_CONTROL] = { "sched_control", false, true, false, 0, NULL, NULL, NULL },
    /* Unlike the control caps it may be copied: the root task hands it to
     * the programs whose console output it wants (debug.c). */
    [CAP_DEBUG] = { "debug", false, true, false, 0, NULL, NULL, NULL },
    /* Made from a final CNode or TCB cap, never derived; emptied by cnode.c. */
    [CAP_ZOMBIE] = { "zombie", false, false, false, 0, NULL, NULL, NULL },
    [CAP_SCHED_CONTEXT] = { "sched_context", true, true, true, OBJ_SCHED_CONTEXT_BITS,
                            sched_context_destroy, NULL, NULL },
    /* Unique, like the other control caps; only it makes pools. */
    [CAP_ASID_CONTROL] = { "asid_control", false, false, false, 0, NULL, NULL, NULL },
    /* Made by ASIDControl: MakePool, not Retype: a pool takes a range of
     * the ASID space, which only ASIDControl hands out. Its last cap frees
     * the range, or becomes a waiters zombie that first takes back the
     * entries (asid_pool.c). */
    [CAP_ASID_POOL] = { "asid_pool", false, true, true, OBJ_ASID_POOL_BITS, asid_pool_destroy,
                        NULL, NULL },
    [CAP_IOSPACE_CONTROL] = { "iospace_control", false, false, false, 0, NULL, NULL, NULL },
    /* Names a device, not memory: its mappings belong to the caps of the
     * IO page tables and frames that made them (iospace.c). */
    [CAP_IOSPACE] = { "iospace", false, true, false, 0, NULL, NULL, NULL },
    /* Like a page table: one cap, hooked in at most one place. */
    [CAP_IO_PAGE_TABLE] = { "io_page_table", true, false, false, OBJ_IO_PAGE_TABLE_BITS, NULL,
                            io_page_table_cap_deleted, NULL },
};

/* At most one per 64 bytes of retyped RAM: cannot wrap. */
static uint64_t live_objects[CAP_TYPE_COUNT];

static const struct object_type *type_info(enum cap_type type)
{
    return (unsigned)type < CAP_TYPE_COUNT ? &object_types[type] : &object_types[CAP_NULL];
}

const char *object_type_name(enum cap_type type)
{
    return (unsigned)type < CAP_TYPE_COUNT ? object_types[type].name : "invalid";
}

bool object_is_retypable(enum cap_type type)
{
    return type_info(type)->retypable;
}

bool object_is_derivable(enum cap_type type)
{
    return type_info(type)->derivable;
}

bool object_is_counted(enum cap_type type)
{
    return type_info(type)->counted;
}

static kerror_t size_in_range(unsigned size_arg, unsigned min, unsigned max,
                              struct kerror_info *info)
{
    if (size_arg >= min && size_arg <= max)
        return KERR_OK;
    info->range_min = min;
    info->range_max = max;
    return KERR_RANGE;
}

kerror_t object_size_bits(enum cap_type type, unsigned size_arg, unsigned *obj_bits,
                          struct kerror_info *info)
{
    kerror_t err = KERR_OK;
    switch (type) {
    case CAP_UNTYPED:
        err = size_in_range(size_arg, OBJ_UNTYPED_MIN_BITS, OBJ_UNTYPED_MAX_BITS, info);
        *obj_bits = size_arg;
        break;
    case CAP_CNODE:
        err = size_in_range(size_arg, CNODE_RADIX_MIN, CNODE_RADIX_MAX, info);
        *obj_bits = size_arg + CNODE_SLOT_BITS;
        break;
    case CAP_FRAME:
        err = size_in_range(size_arg, OBJ_FRAME_BITS, OBJ_LARGE_FRAME_BITS, info);
        if (!err && size_arg != OBJ_FRAME_BITS && size_arg != OBJ_LARGE_FRAME_BITS)
            err = KERR_INVALID_ARGUMENT;
        *obj_bits = size_arg;
        break;
    default:
        *obj_bits = type_info(type)->fixed_bits;
        break;
    }
    return err;
}

uint64_t *object_refs(const cap_t *cap)
{
    /* A CNode is nothing but slots; its header is slot 0's spare word. */
    if (cap_type(cap) == CAP_CNODE)
        return &((struct cte *)cap_object(cap))[0].spare.header.refs;
    return &((struct kobj_header *)cap_object(cap))->refs;
}

/* The cap retype hands out for a new object at kernel address `obj`. */
static cap_t first_cap(enum cap_type type, paddr_t pa, void *obj, unsigned obj_bits,
                       bool is_device)
{
    switch (type) {
    case CAP_UNTYPED:
        return cap_make_untyped(pa, obj_bits, is_device);
    case CAP_FRAME:
        return cap_make_frame(pa, obj_bits, CAP_RIGHTS_ALL, is_device);
    case CAP_CNODE:
        return cap_make_cnode(obj, obj_bits - CNODE_SLOT_BITS, 0, 0);
    case CAP_ENDPOINT:
        return cap_make_endpoint(obj, 0, CAP_RIGHTS_ALL);
    case CAP_NOTIFICATION:
        return cap_make_notification(obj, 0, CAP_RIGHTS_ALL);
    default:
        return cap_make_object(type, obj, CAP_RIGHTS_ALL);
    }
}

cap_t object_create(enum cap_type type, paddr_t pa, unsigned obj_bits, bool is_device)
{
    if (!is_device && type != CAP_UNTYPED)
        memset(arch_phys_to_virt(pa), 0, (size_t)1 << obj_bits);
    return object_create_zeroed(type, pa, obj_bits, is_device);
}

cap_t object_create_zeroed(enum cap_type type, paddr_t pa, unsigned obj_bits, bool is_device)
{
    /* Device memory may not be in the direct map, and untyped memory is
     * zeroed when objects are made from it, so neither is touched here. */
    if (is_device || type == CAP_UNTYPED)
        return first_cap(type, pa, NULL, obj_bits, is_device);
    void *obj = arch_phys_to_virt(pa);
    cap_t cap = first_cap(type, pa, obj, obj_bits, is_device);
    if (object_is_counted(type)) {
        *object_refs(&cap) = 1;
        live_objects[type]++;
    }
    if (type == CAP_VSPACE)
        vspace_object_init(&cap, pa); /* installs the kernel half, takes an ASID */
    return cap;
}

bool object_derive(const cap_t *src, cap_t *out)
{
    enum cap_type type = cap_type(src);
    if (!type_info(type)->derivable)
        return false;
    *out = *src;
    if (type == CAP_FRAME)
        cap_frame_set_mapping(out, 0, 0); /* each frame cap maps at most once */
    else if (type == CAP_UNTYPED)
        cap_untyped_mark_copy(out);
    return true;
}

void object_cap_added(const cap_t *cap)
{
    if (object_is_counted(cap_type(cap)))
        (*object_refs(cap))++;
    else if (cap_type(cap) == CAP_IRQ_HANDLER)
        irq_handler_cap_added(cap); /* a line is freed when its last cap goes */
}

bool object_cap_deleted(const cap_t *cap, bool family_ended)
{
    enum cap_type type = cap_type(cap);
    const struct object_type *t = type_info(type);
    if (t->cap_deleted)
        t->cap_deleted(cap);
    if (!t->counted)
        return false;
    if (--*object_refs(cap) != 0) {
        if (family_ended && t->badge_retired)
            t->badge_retired(cap);
        return false;
    }
    live_objects[type]--;
    if (t->destroy)
        t->destroy(cap);
    return true;
}

bool object_delete_leaves_waiters(const cap_t *cap, bool family_ended)
{
    if (cap_type(cap) == CAP_ASID_POOL)
        return *object_refs(cap) == 1 && asid_pool_has_entries(asid_pool_of_cap(cap));
    if (cap_type(cap) == CAP_NOTIFICATION)
        return *object_refs(cap) == 1 && ((const struct notification *)cap_object(cap))->head;
    if (cap_type(cap) != CAP_ENDPOINT)
        return false;
    const struct endpoint *ep = cap_object(cap);
    if (*object_refs(cap) == 1)
        return ep->head != NULL;
    return family_ended && ep->state == EP_SENDING;
}

cap_t object_waiters_zombie(const cap_t *cap, bool destroyed)
{
    bool is_pool = cap_type(cap) == CAP_ASID_POOL;
    return cap_make_waiters_zombie(cap_object(cap), cap_type(cap) == CAP_NOTIFICATION, is_pool,
                                   destroyed || is_pool ? 0 : cap_badge(cap));
}

bool object_wake_waiters(const cap_t *zombie, unsigned *budget)
{
    void *obj = cap_object(zombie);
    if (cap_zombie_is_asid_pool(zombie))
        return asid_pool_reclaim(obj, budget);
    if (cap_zombie_is_notification(zombie))
        return notification_cancel_all(obj, budget);
    if (cap_zombie_badge(zombie) == 0)
        return endpoint_cancel_all(obj, budget);
    return endpoint_cancel_badged_sends(obj, cap_zombie_badge(zombie), budget);
}

uint64_t object_live_count(enum cap_type type)
{
    return (unsigned)type < CAP_TYPE_COUNT ? live_objects[type] : 0;
}
