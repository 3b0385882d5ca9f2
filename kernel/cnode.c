/*
 * CNode objects, CSpace lookup and the slot operations (see cnode.h).
 *
 * Invariants of a CNode of radix r (1 <= r <= 24):
 *  - it is 2^r slots of 64 bytes, 2^(r+6) bytes aligned to its size;
 *  - while it lives, slot 0's spare word is its object header (refs = the
 *    number of CNode caps naming it) and the other spare words are 0;
 *  - once its final cap is deleted it is on the dead list until every slot
 *    is empty (emptied within that kernel entry), or, when CNode: Delete
 *    or Revoke deleted it, its final cap stays in its slot as a zombie
 *    until every slot is empty (emptied a batch per kernel entry; see
 *    "Zombies" below); no CNode cap names it, so no lookup can reach it
 *    meanwhile;
 *  - a CNode cap's guard_size + radix <= 64 and its guard fits guard_size.
 *
 * Deleting the final cap of a CNode must delete every cap inside it, and
 * those may be final caps of further CNodes, to any depth. Kernel stacks
 * are small, so nothing recurses: the destroy hook only puts the CNode on
 * an intrusive list of dead CNodes (linked through the spare words of its
 * first two slots), and the outermost delete empties them one by one.
 * CNode: Delete and Revoke bound that work per kernel entry with zombies.
 *
 * A CNode holding the only cap to itself (or CNodes holding each other's
 * only caps) can no longer be reached by any lookup, and its count never
 * drops to 0 by deleting caps from outside. Such memory is not lost: the
 * cycle's caps are descendants of the untyped the CNodes came from, and
 * revoking that untyped deletes them, which destroys the CNodes.
 */
#include "cnode.h"

#include "kernel.h"
#include "object.h"
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

/* CNodes whose final cap is gone and whose slots still have to be emptied;
 * linked through slot 1's spare word (see the top of this file). */
static struct cte *dead_cnodes;

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

/* Puts a dead CNode on the list the outermost delete empties. */
static void queue_dead(struct cte *slots, unsigned radix)
{
    slots[0].spare.dead_slots = 1ull << radix;
    slots[1].spare.next_dead = dead_cnodes;
    dead_cnodes = slots;
}

void cnode_destroy(const cap_t *final_cap)
{
    queue_dead(cnode_slots(final_cap), cap_cnode_radix(final_cap));
}

/* Empties one slot: the cap leaves the tree (its children move up), then
 * the object hears of it, and of the end of its badge family. A final
 * CNode cap only queues that CNode, and so does a zombie (below): a delete
 * that cannot restart (a destroy hook's, or TCB: Configure's) empties it
 * at once, through the dead list, instead of across kernel entries.
 * Returns true if an object was destroyed. */
static bool delete_one(struct cte *slot)
{
    if (cap_is_null(&slot->cap))
        return false;
    cap_t cap = slot->cap;
    bool family_ends = ends_badge_family(slot);
    cdt_remove(slot);
    slot->cap = cap_null();
    if (cap_type(&cap) == CAP_ZOMBIE) {
        queue_dead(cnode_slots(&cap), cap_cnode_radix(&cap));
        return true;
    }
    return object_cap_deleted(&cap, family_ends);
}

/* Empties every queued CNode; emptying one may queue more. Returns true if
 * there was any (then slots other than the one deleted may have changed). */
static bool empty_dead_cnodes(void)
{
    bool any = false;
    while (dead_cnodes) {
        struct cte *slots = dead_cnodes;
        uint64_t count = slots[0].spare.dead_slots;
        dead_cnodes = slots[1].spare.next_dead;
        slots[0].spare.raw = 0;
        slots[1].spare.raw = 0;
        for (uint64_t i = 0; i < count; i++)
            (void)delete_one(&slots[i]);
        any = true;
    }
    return any;
}

void cnode_delete(struct cte *slot)
{
    (void)delete_one(slot);
    (void)empty_dead_cnodes();
}

void cnode_delete_nested(struct cte *slot)
{
    (void)delete_one(slot);
}

/* ---- Zombies: CNodes emptied across kernel entries ---------------------- */

/*
 * Emptying a CNode costs a step per slot, up to 2^24, and its caps may be
 * the final caps of further CNodes, to any depth. Delete and Revoke (the
 * invocations) therefore empty a CNode a bounded batch per kernel entry,
 * restarting the syscall in between, and meanwhile the CNode's final cap
 * stays in its slot and in the derivation tree as a zombie (CAP_ZOMBIE,
 * as seL4 does): no lookup passes it, no method, copy or move takes it,
 * and its untyped still has a descendant, so the CNode's memory cannot be
 * reset and retyped while its slots hold caps linked into the tree. The
 * object counts as destroyed from the start (its count is 0); the zombie
 * goes with the last slot emptied.
 *
 * A final CNode cap met inside a zombie becomes a zombie in its own slot
 * and is emptied first. The chain is linked through the spare words of
 * the CNodes' first two slots: slot 0's names the slot of the enclosing
 * zombie (NULL in the outermost), slot 1's, in the outermost, the zombie
 * being emptied now, so a restart resumes in O(1) at any depth. Each
 * zombie cap holds the index of its next slot to empty. A zombie met
 * inside another (an interrupted Delete's, whose CNode then died) joins
 * the chain with its own. A delete that cannot restart (delete_one())
 * hands a zombie to the dead list instead, where it is emptied at once.
 */
#define DELETE_BATCH 64 /* caps deleted or slots emptied per kernel entry */

static bool is_final_cnode_cap(const struct cte *slot)
{
    return cap_type(&slot->cap) == CAP_CNODE && *object_refs(&slot->cap) == 1;
}

/* Deletes the final CNode cap in `slot` as a zombie, inside the zombie in
 * `outer` (NULL: the outermost). Its destroy hook queued the CNode for
 * emptying at once; it is taken back (it is the newest on the list). */
static void make_zombie(struct cte *slot, struct cte *outer)
{
    cap_t cap = slot->cap;
    struct cte *slots = cnode_slots(&cap);
    (void)object_cap_deleted(&cap, false);
    dead_cnodes = slots[1].spare.next_dead;
    slots[0].spare.zombie_outer = outer;
    slots[1].spare.zombie_current = outer ? NULL : slot;
    slot->cap = cap_make_zombie(&cap);
}

/* The zombie met in `inner` (the slot being emptied of `z`) joins z's
 * chain; returns where to go on: the zombie its own chain was at. */
static struct cte *join_chain(struct cte *inner, struct cte *z)
{
    struct cte *slots = cnode_slots(&inner->cap);
    struct cte *current = slots[1].spare.zombie_current;
    slots[0].spare.zombie_outer = z;
    slots[1].spare.raw = 0;
    return current ? current : inner;
}

/* Empties slot `i` of zombie `z`, a step of the chain whose outermost is
 * `z0`; returns the zombie to go on with, or NULL if the step met a cycle
 * (see reduce_zombie()). */
static struct cte *zombie_step(struct cte *z0, struct cte *z, uint64_t i)
{
    struct cte *s = &cnode_slots(&z->cap)[i];
    if (s == z) {
        /* A CNode that held the only cap to itself: that slot is emptied
         * last, with the zombie, when nothing else in the CNode is left. */
        cap_zombie_set_next(&z->cap, i + 1);
        return z;
    }
    if (cap_type(&s->cap) == CAP_ZOMBIE) {
        /* A zombie of this chain (the outermost, or one that names an
         * enclosing zombie): CNodes that held each other's only caps. */
        if (s == z0 || cnode_slots(&s->cap)[0].spare.zombie_outer)
            return NULL;
        return join_chain(s, z);
    }
    if (is_final_cnode_cap(s)) {
        make_zombie(s, z);
        return s;
    }
    (void)delete_one(s);
    (void)empty_dead_cnodes(); /* what destroy hooks queued (a TCB's CSpace root) */
    /* Unless such a hook took the chain to the dead list (a CNode holding
     * the TCB whose CSpace root is the outermost zombie), which emptied it. */
    if (cap_type(&z->cap) == CAP_ZOMBIE)
        cap_zombie_set_next(&z->cap, i + 1);
    return z;
}

/* Works on the chain whose outermost zombie is in `z0` for up to *budget
 * steps. True once z0's CNode is empty (z0 itself is the caller's to
 * clear, if it is still there: a destroy hook run by a step may have taken
 * it to the dead list, which emptied it). The current zombie is written
 * back after every step, so such a hook finds the chain as it is.
 *
 * CNodes that hold each other's only caps (a cycle no lookup reaches, met
 * when revoking their untyped) have no order in which each is emptied
 * before its own cap goes: the chain is then emptied at once through the
 * dead list, as before zombies (one kernel entry, a step per slot). */
static bool reduce_zombie(struct cte *z0, unsigned *budget)
{
    struct cte *z = cnode_slots(&z0->cap)[1].spare.zombie_current;
    while (*budget > 0) {
        struct cte *slots = cnode_slots(&z->cap);
        uint64_t i = cap_zombie_next(&z->cap);
        if (i < 1ull << cap_cnode_radix(&z->cap)) {
            (*budget)--;
            z = zombie_step(z0, z, i);
            if (!z) {
                (void)delete_one(z0);
                (void)empty_dead_cnodes();
            }
            if (cap_type(&z0->cap) != CAP_ZOMBIE)
                return true;
            cnode_slots(&z0->cap)[1].spare.zombie_current = z;
            continue;
        }
        struct cte *outer = slots[0].spare.zombie_outer;
        slots[0].spare.raw = 0;
        slots[1].spare.raw = 0;
        if (!outer)
            return true;
        /* z is the slot of outer's CNode being emptied: it is done. */
        cdt_remove(z);
        z->cap = cap_null();
        cap_zombie_set_next(&outer->cap, cap_zombie_next(&outer->cap) + 1);
        z = outer;
        cnode_slots(&z0->cap)[1].spare.zombie_current = z;
    }
    return false;
}

/* Deletes the cap in `slot` within *budget steps. False if it is a zombie
 * whose CNode still holds caps: call again. */
static bool delete_bounded(struct cte *slot, unsigned *budget)
{
    if (is_final_cnode_cap(slot))
        make_zombie(slot, NULL);
    if (cap_type(&slot->cap) != CAP_ZOMBIE) {
        (*budget)--;
        (void)delete_one(slot);
        (void)empty_dead_cnodes();
        return true;
    }
    if (!reduce_zombie(slot, budget))
        return false;
    if (cap_type(&slot->cap) == CAP_ZOMBIE) {
        cdt_remove(slot);
        slot->cap = cap_null();
    }
    return true;
}

bool cnode_delete_bounded(struct cte *slot)
{
    unsigned budget = DELETE_BATCH;
    return delete_bounded(slot, &budget);
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
