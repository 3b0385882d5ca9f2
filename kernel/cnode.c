/*
 * CNode objects, CSpace lookup and the slot operations (see cnode.h).
 *
 * Invariants of a CNode of radix r (1 <= r <= 24):
 *  - it is 2^r slots of 64 bytes, 2^(r+6) bytes aligned to its size;
 *  - while it lives, slot 0's spare word is its object header (refs = the
 *    number of CNode caps naming it) and the other spare words are 0;
 *  - once its final cap is deleted, that cap stays in its slot as a zombie
 *    until every slot is empty (emptied a batch per kernel entry, and so
 *    are a TCB's own slots when its final cap goes; see "Zombies" below);
 *    no CNode cap names it, so no lookup can reach it meanwhile;
 *  - a CNode cap's guard_size + radix <= 64 and its guard fits guard_size.
 *
 * Deleting the final cap of a CNode must delete every cap inside it, and
 * those may be final caps of further CNodes (or TCBs, which hold caps
 * too), to any depth. Kernel stacks are small, so nothing recurses, and a
 * kernel entry does a bounded batch of that work: the zombies below keep
 * the progress between entries, in the objects themselves.
 *
 * A CNode holding the only cap to itself (or CNodes holding each other's
 * only caps, or a CNode holding the only cap to the thread whose CSpace
 * root it is) can no longer be reached by any lookup, and its count never
 * drops to 0 by deleting caps from outside. Such memory is not lost: the
 * cycle's caps are descendants of the untyped the objects came from, and
 * revoking that untyped deletes them, which destroys the objects, in
 * bounded batches like any other delete.
 */
#include "cnode.h"

#include "kernel.h"
#include "object.h"
#include "thread.h"
#include "untyped.h"

/* ---- Lookup ------------------------------------------------------------ */

/* Bits [shift + width - 1 : shift] of `cptr`; width 0 gives 0. */
static uint64_t cptr_bits(cptr_t cptr, unsigned shift, unsigned width)
{
    if (width == 0)
        return 0;
    uint64_t mask = width >= 64 ? ~0ull : (1ull << width) - 1;
    return (cptr >> shift) & mask;
}

static kerror_t lookup_fail(struct lookup_fault *f, enum lookup_fault_kind kind,
                            unsigned bits_left)
{
    *f = (struct lookup_fault){ .kind = kind, .bits_left = bits_left };
    return KERR_FAILED_LOOKUP;
}

/* One level of the walk: with `left` bits still to consume, the top
 * guard_size of them must equal the CNode cap's guard, and the next radix
 * bits select the slot. */
static kerror_t resolve_level(const cap_t *cn, cptr_t cptr, unsigned left, struct cte **slot,
                              struct lookup_fault *f)
{
    unsigned radix = cap_cnode_radix(cn), guard_size = cap_cnode_guard_size(cn);
    if (radix + guard_size > left) {
        lookup_fail(f, LOOKUP_FAULT_DEPTH_MISMATCH, left);
        f->bits_needed = radix + guard_size;
        return KERR_FAILED_LOOKUP;
    }
    uint64_t guard = cptr_bits(cptr, left - guard_size, guard_size);
    if (guard != cap_cnode_guard(cn)) {
        lookup_fail(f, LOOKUP_FAULT_GUARD_MISMATCH, left);
        f->guard_size = guard_size;
        f->guard_found = guard;
        f->guard_expected = cap_cnode_guard(cn);
        return KERR_FAILED_LOOKUP;
    }
    *slot = cnode_slots(cn) + cptr_bits(cptr, left - guard_size - radix, radix);
    return KERR_OK;
}

/* The walk: level after level until `depth` bits are consumed. Every level
 * consumes at least one bit (radix >= 1), so at most 64 levels, even
 * through a CNode that holds a cap to itself. With `invoked`, reaching a
 * non-empty, non-CNode slot early ends the walk successfully. */
static kerror_t resolve(const cap_t *root, cptr_t cptr, unsigned depth, bool invoked,
                        struct cte **out, struct lookup_fault *f)
{
    if (cap_type(root) != CAP_CNODE)
        return lookup_fail(f, LOOKUP_FAULT_INVALID_ROOT, depth);
    /* The usual root: the slot the walk below would find, without it. */
    if (depth == 64 && cspace_flat_slot(root, cptr, out))
        return KERR_OK;
    const cap_t *cn = root;
    unsigned left = depth;
    for (;;) {
        struct cte *slot;
        kerror_t err = resolve_level(cn, cptr, left, &slot, f);
        if (err)
            return err;
        left -= cap_cnode_radix(cn) + cap_cnode_guard_size(cn);
        if (left == 0 || (invoked && !cap_is_null(&slot->cap) &&
                          cap_type(&slot->cap) != CAP_CNODE)) {
            *out = slot;
            return KERR_OK;
        }
        if (cap_type(&slot->cap) != CAP_CNODE)
            return lookup_fail(f, LOOKUP_FAULT_MISSING_CAPABILITY, left);
        cn = &slot->cap;
    }
}

kerror_t cspace_lookup_slot(const cap_t *root, cptr_t cptr, unsigned depth, struct cte **slot,
                            struct lookup_fault *fault)
{
    if (depth < CSPACE_DEPTH_MIN || depth > CSPACE_DEPTH_MAX)
        return KERR_RANGE;
    return resolve(root, cptr, depth, false, slot, fault);
}

kerror_t cspace_lookup_cap(const cap_t *root, cptr_t cptr, struct cte **slot,
                           struct lookup_fault *fault)
{
    return resolve(root, cptr, CSPACE_DEPTH_MAX, true, slot, fault);
}

kerror_t cnode_slot_range(const cap_t *cnode, uint64_t offset, uint64_t count,
                          struct cte **first, struct kerror_info *info)
{
    if (cap_type(cnode) != CAP_CNODE)
        return KERR_INVALID_CAPABILITY;
    uint64_t slots = 1ull << cap_cnode_radix(cnode);
    if (offset >= slots) {
        info->range_min = 0;
        info->range_max = slots - 1;
        return KERR_RANGE;
    }
    if (count < 1 || count > slots - offset) {
        info->range_min = 1;
        info->range_max = slots - offset;
        return KERR_RANGE;
    }
    *first = cnode_slots(cnode) + offset;
    return KERR_OK;
}

/* ---- Checks shared by the slot operations ------------------------------ */

/* Every operation filling `dest` from `src` needs a cap in src (seL4
 * reports an empty source as a failed lookup) and an empty dest. */
static kerror_t check_src_dest(const struct cte *src, const struct cte *dest,
                               struct kerror_info *info)
{
    if (cap_is_null(&src->cap)) {
        info->lookup_was_source = true;
        info->lookup = (struct lookup_fault){ .kind = LOOKUP_FAULT_MISSING_CAPABILITY };
        return KERR_FAILED_LOOKUP;
    }
    if (!cap_is_null(&dest->cap))
        return KERR_DELETE_FIRST;
    return KERR_OK;
}

/* The cap a copy or mint of `src` starts from. An untyped cap can be copied
 * only while nothing was made from it (as in seL4), so a copy never stands
 * for memory that is partly in use. */
static kerror_t derive(const struct cte *src, cap_rights_t rights, cap_t *out)
{
    enum cap_type type = cap_type(&src->cap);
    if (!object_is_derivable(type))
        return KERR_ILLEGAL_OPERATION;
    if (type == CAP_UNTYPED && cte_has_children(src))
        return KERR_REVOKE_FIRST;
    *out = object_derive(&src->cap);
    cap_mask_rights(out, rights);
    return KERR_OK;
}

/* Sets the guard of a CNode cap from a cnode_guard_data() word. */
static kerror_t set_guard(cap_t *cap, uint64_t data, struct kerror_info *info)
{
    unsigned guard_size = (unsigned)BK_CNODE_GUARD_SIZE(data);
    uint64_t guard = BK_CNODE_GUARD_VALUE(data);
    unsigned radix = cap_cnode_radix(cap);
    if (guard_size + radix > 64) {
        info->range_min = 0;
        info->range_max = 64 - radix;
        return KERR_RANGE;
    }
    /* seL4 silently drops guard bits above guard_size; a guard that does
     * not fit is almost certainly a mistake, so say so. */
    if (guard >> guard_size != 0)
        return KERR_INVALID_ARGUMENT;
    cap_cnode_set_guard(cap, guard_size, guard);
    return KERR_OK;
}

/* Applies mint's or mutate's `data` to `cap`. Mint ignores it for types
 * that carry no badge or guard (as seL4 does); mutate refuses them. */
static kerror_t apply_data(cap_t *cap, uint64_t data, bool is_mutate,
                           struct kerror_info *info)
{
    switch (cap_type(cap)) {
    case CAP_ENDPOINT:
    case CAP_NOTIFICATION:
        /* A badge, once set, is fixed: a server tells clients apart by it. */
        if (cap_badge(cap) != 0)
            return KERR_ILLEGAL_OPERATION;
        cap_set_badge(cap, data);
        return KERR_OK;
    case CAP_CNODE:
        return set_guard(cap, data, info);
    default:
        return is_mutate ? KERR_ILLEGAL_OPERATION : KERR_OK;
    }
}

/* ---- Copy, mint, move, mutate ------------------------------------------ */

static void install_derived(struct cte *src, struct cte *dest, cap_t cap)
{
    object_cap_added(&cap);
    cdt_install(dest, cap, src);
}

kerror_t cnode_copy(struct cte *src, struct cte *dest, cap_rights_t rights,
                    struct kerror_info *info)
{
    cap_t cap;
    kerror_t err = check_src_dest(src, dest, info);
    if (!err)
        err = derive(src, rights, &cap);
    if (err)
        return err;
    install_derived(src, dest, cap);
    return KERR_OK;
}

kerror_t cnode_mint(struct cte *src, struct cte *dest, cap_rights_t rights, uint64_t data,
                    struct kerror_info *info)
{
    cap_t cap;
    kerror_t err = check_src_dest(src, dest, info);
    if (!err)
        err = derive(src, rights, &cap);
    if (!err)
        err = apply_data(&cap, data, false, info);
    if (err)
        return err;
    install_derived(src, dest, cap);
    return KERR_OK;
}

static void move_slot(struct cte *src, struct cte *dest, cap_t cap)
{
    dest->cap = cap;
    cdt_move(src, dest);
    src->cap = cap_null();
}

kerror_t cnode_move(struct cte *src, struct cte *dest, struct kerror_info *info)
{
    kerror_t err = check_src_dest(src, dest, info);
    if (err)
        return err;
    /* A zombie's chain names its slot (see Zombies below). */
    if (cap_type(&src->cap) == CAP_ZOMBIE)
        return KERR_ILLEGAL_OPERATION;
    move_slot(src, dest, src->cap);
    return KERR_OK;
}

kerror_t cnode_mutate(struct cte *src, struct cte *dest, uint64_t data,
                      struct kerror_info *info)
{
    kerror_t err = check_src_dest(src, dest, info);
    if (err)
        return err;
    cap_t cap = src->cap;
    err = apply_data(&cap, data, true, info);
    if (err)
        return err;
    /* A badge set above existing copies would leave unbadged caps below a
     * badged one, against cdt.h's badge rule. */
    if (cap_is_badged(&cap) && cte_has_children(src))
        return KERR_REVOKE_FIRST;
    move_slot(src, dest, cap);
    return KERR_OK;
}

/* ---- Delete, destroy and revoke ---------------------------------------- */

/* Whether `other` (NULL: no such slot) holds `cap`'s badge to its object. */
static bool carries_badge(const struct cte *other, const cap_t *cap)
{
    return other && cap_type(&other->cap) == cap_type(cap) &&
           cap_object(&other->cap) == cap_object(cap) && cap_badge(&other->cap) == cap_badge(cap);
}

/* Whether the cap in `slot` is the last of its badge family: the caps
 * copied, directly or not, from one badged cap that Mint or Mutate made.
 * Copies are children and carry their source's badge (cdt.h's badge
 * rule), and the members of a family that are siblings are adjacent
 * (cdt.h), so a family ends with a badged cap that has no children, no
 * adjacent sibling with its badge to its object and, if it is an only
 * child, a parent without it. (A sibling lacking the badge proves the
 * parent lacks it too: every child of a badged cap carries its badge.)
 * O(1): the parent is read only from an only child, which is a first
 * child and stores it. A badge minted twice on one object makes two
 * families; the kernel does not tell them apart (docs/objects.md,
 * Badges). */
static bool ends_badge_family(const struct cte *slot)
{
    const cap_t *cap = &slot->cap;
    if (!cap_is_badged(cap) || cte_has_children(slot))
        return false;
    const struct cte *prev = cte_prev_sibling(slot), *next = cte_next_sibling(slot);
    if (prev || next)
        return !carries_badge(prev, cap) && !carries_badge(next, cap);
    return !carries_badge(cte_parent(slot), cap);
}

/* Empties a slot that holds no zombie and no final cap of an object with
 * slots (those go through the zombies below): the cap leaves the tree
 * (its children move up), then the object hears of it, and of the end of
 * its badge family. One step: no destroy hook deletes caps. */
static void delete_one(struct cte *slot)
{
    cap_t cap = slot->cap;
    bool family_ends = ends_badge_family(slot);
    cdt_remove(slot);
    slot->cap = cap_null();
    (void)object_cap_deleted(&cap, family_ends);
}

/* Takes a zombie whose slots are all empty out of its slot and the tree. */
static void remove_zombie(struct cte *slot)
{
    cdt_remove(slot);
    slot->cap = cap_null();
}

/* ---- Zombies: objects with slots, emptied across kernel entries --------- */

/*
 * Two kinds of object hold caps: a CNode (2^radix slots, up to 2^24) and a
 * TCB (its CSpace root and fault endpoint, thread.h's slots[]). Deleting
 * the final cap of either must delete every cap inside, and those may be
 * final caps of further CNodes and TCBs, to any depth. So that no kernel
 * entry does more than DELETE_BATCH steps, the final cap stays in its slot
 * and in the derivation tree as a zombie (CAP_ZOMBIE, as seL4 does) while
 * the object's slots are emptied, a batch per entry, the syscall (Delete,
 * Revoke, TCB: Configure) restarting in between. No lookup passes a
 * zombie, no method, copy or move takes one, and its untyped still has a
 * descendant, so the object's memory cannot be reset and retyped while
 * its slots hold caps linked into the tree. The object counts as
 * destroyed from the start (its count is 0; a thread is stopped first, by
 * its destroy hook, so it never runs with a half-emptied CSpace); the
 * zombie goes with the last slot emptied. A zombie names its slots as a
 * table of 2^radix, and says whose they are (cap.h).
 *
 * Every delete goes this way, so no destroy hook deletes caps and nothing
 * is ever emptied at once: cnode_delete() runs the same bounded steps to
 * the end, for callers whose caps take one step.
 *
 * A final CNode or TCB cap met inside a zombie becomes a zombie in its own
 * slot and is emptied first. The zombies being emptied form a chain,
 * linked through the spare words of their tables' first two slots: slot
 * 0's names the slot of the enclosing zombie (NULL in the outermost), slot
 * 1's, in the outermost, the zombie being emptied now (the innermost), so
 * a restart resumes in O(1) at any depth. Each zombie cap holds the index
 * of its next slot to empty; an enclosing zombie's points at the slot of
 * the zombie inside it. A zombie met inside another (an interrupted
 * Delete's, whose holder then died) joins the chain with its own.
 *
 * Objects that hold each other's only caps (CNodes, or a CNode and the
 * thread whose CSpace root it is) have no order that empties each before
 * its own cap goes: the innermost zombie then meets the outermost one in
 * its own slots. Such a cycle is broken one zombie at a time, in O(1):
 * the outermost trades places with the innermost (caps and places in the
 * tree; the spare words stay with the slots). The innermost now sits in
 * its own slots, like a CNode holding the only cap to itself, and is
 * what the delete in progress finishes (its own slot is emptied last,
 * with it); the rest of the chain, one shorter, waits in the innermost's
 * old slot for whoever deletes or revokes its outermost zombie next (a
 * revoke of their untyped does: every zombie keeps its place in the tree).
 */
#define DELETE_BATCH 64 /* caps deleted, zombies made or removed, per kernel entry */

/* Whether deleting the cap in `slot` destroys an object that holds caps. */
static bool is_final_cap_of_slots(const struct cte *slot)
{
    enum cap_type type = cap_type(&slot->cap);
    return (type == CAP_CNODE || type == CAP_TCB) && *object_refs(&slot->cap) == 1;
}

static struct cte *zombie_slots(const cap_t *zombie)
{
    return cap_object(zombie);
}

static uint64_t zombie_size(const cap_t *zombie)
{
    return 1ull << cap_zombie_radix(zombie);
}

/* The zombie that encloses the one in `slot` (NULL: it is outermost). */
static struct cte *zombie_outer(const struct cte *slot)
{
    return zombie_slots(&slot->cap)[0].spare.zombie_outer;
}

/* Deletes the final CNode or TCB cap in `slot` as a zombie, inside the
 * zombie in `outer` (NULL: the outermost). Destroying the object first
 * runs its hook: a thread stops (tcb.c). */
static void make_zombie(struct cte *slot, struct cte *outer)
{
    cap_t cap = slot->cap;
    bool is_tcb = cap_type(&cap) == CAP_TCB;
    struct cte *slots = is_tcb ? tcb_thread(&cap)->slots : cnode_slots(&cap);
    unsigned radix = is_tcb ? TCB_SLOTS_RADIX : cap_cnode_radix(&cap);
    (void)object_cap_deleted(&cap, false);
    slots[0].spare.zombie_outer = outer; /* a CNode's count, 0 now, was there */
    slots[1].spare.zombie_current = outer ? NULL : slot;
    slot->cap = cap_make_zombie(slots, radix, is_tcb);
}

/* The zombie met in `inner` (the slot being emptied of `z`) joins z's
 * chain; returns where to go on: the zombie its own chain was at. */
static struct cte *join_chain(struct cte *inner, struct cte *z)
{
    struct cte *slots = zombie_slots(&inner->cap);
    struct cte *current = slots[1].spare.zombie_current;
    slots[0].spare.zombie_outer = z;
    slots[1].spare.raw = 0;
    return current ? current : inner;
}

/* Trades the caps of `a` and `b` and their places in the tree; the spare
 * words, which belong to the slots, stay. */
static void swap_slots(struct cte *a, struct cte *b)
{
    struct cte scratch = { 0 };
    move_slot(a, &scratch, a->cap);
    move_slot(b, a, b->cap);
    move_slot(&scratch, b, scratch.cap);
}

/* Breaks a cycle (see above): the innermost zombie `z` met the outermost,
 * `z0`, in its own slots. They trade places; z, now in z0's slot and
 * inside its own slots, is the outermost of a chain of one; the rest of
 * the chain rests with z0 in z's old slot, and its innermost is the
 * zombie that enclosed z. Returns z's new slot, the one to go on with. */
static struct cte *break_cycle(struct cte *z0, struct cte *z)
{
    struct cte *enclosing = zombie_outer(z);
    struct cte *first_inner = &zombie_slots(&z0->cap)[cap_zombie_next(&z0->cap)];
    swap_slots(z0, z);
    struct cte *rest = z, *mine = zombie_slots(&z0->cap);
    mine[0].spare.zombie_outer = NULL;
    mine[1].spare.zombie_current = z0;
    struct cte *rest_slots = zombie_slots(&rest->cap);
    if (enclosing == z0) { /* a cycle of two: z0 is all that is left */
        rest_slots[1].spare.zombie_current = rest;
    } else {
        rest_slots[1].spare.zombie_current = enclosing;
        zombie_slots(&first_inner->cap)[0].spare.zombie_outer = rest;
    }
    return z0;
}

/* Empties slot `i` of zombie `z`, a step of the chain whose outermost is
 * `z0`; returns the zombie to go on with. */
static struct cte *zombie_step(struct cte *z0, struct cte *z, uint64_t i)
{
    struct cte *s = &zombie_slots(&z->cap)[i];
    if (s == z) {
        /* An object that held the only cap to itself: that slot is emptied
         * last, with the zombie, when nothing else in it is left. */
        cap_zombie_set_next(&z->cap, i + 1);
        return z;
    }
    if (cap_type(&s->cap) == CAP_ZOMBIE)
        return s == z0 ? break_cycle(z0, z) : join_chain(s, z);
    if (is_final_cap_of_slots(s)) {
        make_zombie(s, z);
        return s;
    }
    if (!cap_is_null(&s->cap))
        delete_one(s);
    cap_zombie_set_next(&z->cap, i + 1);
    return z;
}

/* The zombie `z` has no caps left in its slots: its chain forgets it, and
 * it leaves its slot, which is the one its enclosing zombie was emptying.
 * Returns that enclosing zombie (NULL: z was the outermost, and stays for
 * the caller to remove). */
static struct cte *finish_zombie(struct cte *z)
{
    struct cte *slots = zombie_slots(&z->cap), *outer = slots[0].spare.zombie_outer;
    slots[0].spare.raw = 0;
    slots[1].spare.raw = 0;
    if (outer) {
        remove_zombie(z);
        cap_zombie_set_next(&outer->cap, cap_zombie_next(&outer->cap) + 1);
    }
    return outer;
}

/* Works on the chain whose outermost zombie is in `z0` for up to *budget
 * steps (a slot emptied, or a zombie made, joined, swapped or finished).
 * True once z0's slots are empty (z0 itself is the caller's to remove).
 * z0's slot may hold another zombie on return, after a cycle was broken. */
static bool reduce_zombie(struct cte *z0, unsigned *budget)
{
    struct cte *z = zombie_slots(&z0->cap)[1].spare.zombie_current;
    while (*budget > 0) {
        (*budget)--;
        uint64_t i = cap_zombie_next(&z->cap);
        if (i < zombie_size(&z->cap)) {
            z = zombie_step(z0, z, i);
        } else {
            z = finish_zombie(z);
            if (!z)
                return true;
        }
        zombie_slots(&z0->cap)[1].spare.zombie_current = z;
    }
    return false;
}

/* The outermost zombie of the chain the zombie in `slot` belongs to. A
 * revoke can meet a zombie inside a chain whose delete stopped halfway
 * (its thread was stopped): it then works on that chain from the top.
 * The walk is as long as the chain is deep; only a revoke of such an
 * interrupted chain's untyped takes it. */
static struct cte *outermost_of(struct cte *slot)
{
    while (zombie_outer(slot))
        slot = zombie_outer(slot);
    return slot;
}

/* Deletes the cap in `slot` within *budget steps. False if it is (or
 * became) a zombie whose slots still hold caps: call again. */
static bool delete_bounded(struct cte *slot, unsigned *budget)
{
    if (is_final_cap_of_slots(slot))
        make_zombie(slot, NULL);
    if (cap_type(&slot->cap) != CAP_ZOMBIE) {
        (*budget)--;
        if (!cap_is_null(&slot->cap))
            delete_one(slot);
        return true;
    }
    struct cte *z0 = outermost_of(slot);
    if (!reduce_zombie(z0, budget))
        return false;
    remove_zombie(z0);
    return z0 == slot;
}

bool cnode_delete_bounded(struct cte *slot)
{
    unsigned budget = DELETE_BATCH;
    return delete_bounded(slot, &budget);
}

void cnode_delete(struct cte *slot)
{
    /* Kernel callers pass caps that take one step (a fault endpoint's, an
     * interrupt's notification); host tests pass anything. */
    while (!cnode_delete_bounded(slot))
        ;
}

bool cnode_delete_needs_batches(const struct cte *slot)
{
    return is_final_cap_of_slots(slot) || cap_type(&slot->cap) == CAP_ZOMBIE;
}

/*
 * Revoke deletes the first child of `root` until there is none. Each
 * delete is O(1): the deleted cap's children take its place at the head of
 * root's list (cdt.h), so they are deleted next, and every descendant is
 * deleted exactly once, top down, with no walk and no stack. A tenant
 * decides how many descendants a cap has, so one kernel entry does at
 * most DELETE_BATCH steps (a cap deleted or a zombie's slot emptied); then
 * cnode_revoke() returns false and the caller restarts the syscall
 * (cnode_invoke.c): the tree itself holds the progress, and interrupts
 * and other threads get their turn in between. When a deletion destroys a
 * CNode, its emptying may delete caps anywhere, root included: if root is
 * then empty, revoke is over (its remaining descendants moved up to
 * root's parent, as any delete does; a zombie among them is finished by
 * whoever deletes or revokes it next).
 */
bool cnode_revoke(struct cte *root)
{
    unsigned budget = DELETE_BATCH;
    while (budget > 0 && !cap_is_null(&root->cap) && cte_has_children(root))
        (void)delete_bounded(cte_first_child(root), &budget);
    if (cap_is_null(&root->cap))
        return true;
    if (cte_has_children(root))
        return false;
    if (cap_type(&root->cap) == CAP_UNTYPED)
        untyped_reset(root);
    return true;
}

BOOT_CODE void cnode_boot_install(struct cte *slot, cap_t cap)
{
    cdt_install(slot, cap, NULL);
}
