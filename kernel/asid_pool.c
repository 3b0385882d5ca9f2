/*
 * ASID pools: the kernel's table of ASID ranges, the pool objects that
 * cover them, how a VSpace gets and loses its ASID, and the ASIDPool
 * methods of kernel/abi.toml (assign). See asid_pool.h for the names.
 *
 * Invariants:
 *  - asid_ranges[r] is the pool that covers range r, or NULL; a pool
 *    covers its range from ASIDControl: MakePool until its last entry is
 *    taken back after its last cap went, and only then can its memory be
 *    reused (its cap, or the waiters zombie that cap became, is a child of
 *    the untyped it was made from until then);
 *  - pool->entry[i] names VSpace vs  <=>  vs->asid is the name of
 *    (pool->range, i) with entry i's generation; pool->assigned counts
 *    such entries. A VSpace leaves its entry when it is destroyed, before
 *    its memory can be reused, so asid_lookup() never returns a dead one;
 *  - a VSpace with no ASID has no thread configured in it and no
 *    translation of its own, or was revoked (asid_revoked): then it keeps
 *    whatever its tables map, but no thread runs in it and no lookup or
 *    walk reaches it ever again, so what those tables name does not
 *    matter (their caps could no longer unmap them: the name is gone);
 *  - every range is either covered, or in the free queue, or never used
 *    (at or above next_fresh_range).
 *
 * The kernel allocates nothing here: pools are the untyped memory of
 * whoever made them, and the table of ranges is fixed at build time
 * (ASID_RANGES pointers, 32 KiB).
 */
#include "asid_pool.h"

#include "invoke.h"
#include "kernel.h"
#include "preempt.h"
#include "thread.h"
#include "vspace_object.h"

#define ENTRY_GENERATION_MASK (((uintptr_t)1 << ASID_GENERATION_BITS) - 1)

_Static_assert(((uintptr_t)1 << ASID_GENERATION_BITS) <= (1u << OBJ_VSPACE_BITS),
               "a VSpace address leaves room for the generation");

static struct asid_pool *asid_ranges[ASID_RANGES];
/* Ranges never handed out are taken in order from here... */
static unsigned next_fresh_range = 1;
/* ...then freed ones, oldest first: a ring of range numbers. */
static uint16_t freed_ranges[ASID_RANGES];
static unsigned freed_head, freed_count;

/* ---- Names ------------------------------------------------------------- */

static uint32_t asid_name(unsigned range, unsigned entry, unsigned generation)
{
    return (uint32_t)generation << (ASID_RANGE_BITS + ASID_ENTRY_BITS) |
           (uint32_t)range << ASID_ENTRY_BITS | (uint32_t)entry;
}

static unsigned name_entry(uint32_t asid)
{
    return asid & ((1u << ASID_ENTRY_BITS) - 1);
}

static unsigned name_range(uint32_t asid)
{
    return (asid >> ASID_ENTRY_BITS) & (ASID_RANGES - 1);
}

static unsigned name_generation(uint32_t asid)
{
    return asid >> (ASID_RANGE_BITS + ASID_ENTRY_BITS);
}

static struct vspace_object *entry_vspace(uintptr_t e)
{
    return (struct vspace_object *)(e & ~ENTRY_GENERATION_MASK);
}

static unsigned entry_generation(uintptr_t e)
{
    return (unsigned)(e & ENTRY_GENERATION_MASK);
}

struct vspace_object *asid_lookup(uint32_t asid)
{
    struct asid_pool *pool = asid_ranges[name_range(asid)];
    unsigned i = name_entry(asid);
    if (asid == 0 || !pool || i >= ASID_POOL_ENTRIES ||
        entry_generation(pool->entry[i]) != name_generation(asid))
        return NULL;
    return entry_vspace(pool->entry[i]);
}

/* ---- Ranges ------------------------------------------------------------ */

bool asid_range_available(void)
{
    return next_fresh_range < ASID_RANGES || freed_count > 0;
}

void asid_pool_take_range(struct asid_pool *pool)
{
    unsigned r;
    if (next_fresh_range < ASID_RANGES) {
        r = next_fresh_range++;
    } else {
        r = freed_ranges[freed_head];
        freed_head = (freed_head + 1) % ASID_RANGES;
        freed_count--;
    }
    pool->range = (uint16_t)r;
    asid_ranges[r] = pool;
}

/* The destroyed pool's entries are all free: its range goes to the back
 * of the queue, so it is handed out again as late as possible. */
static void release_range(struct asid_pool *pool)
{
    if (asid_ranges[pool->range] != pool)
        return; /* released already */
    asid_ranges[pool->range] = NULL;
    freed_ranges[(freed_head + freed_count) % ASID_RANGES] = pool->range;
    freed_count++;
}

/* ---- Entries ----------------------------------------------------------- */

bool asid_pool_assign(struct asid_pool *pool, struct vspace_object *vs)
{
    unsigned i = pool->next;
    for (unsigned n = 0; n < ASID_POOL_ENTRIES; n++, i = (i + 1) % ASID_POOL_ENTRIES) {
        if (entry_vspace(pool->entry[i]))
            continue;
        unsigned generation = (entry_generation(pool->entry[i]) + 1) & ENTRY_GENERATION_MASK;
        pool->entry[i] = (uintptr_t)vs | generation;
        pool->assigned++;
        pool->next = (uint16_t)((i + 1) % ASID_POOL_ENTRIES);
        vs->asid = asid_name(pool->range, i, generation);
        return true;
    }
    return false;
}

/* Entry i of `pool` names nothing now (its generation stays). */
static void clear_entry(struct asid_pool *pool, unsigned i)
{
    pool->entry[i] &= ENTRY_GENERATION_MASK;
    pool->assigned--;
    /* A pool whose last cap went frees its range with its last entry. */
    if (pool->assigned == 0 && pool->header.refs == 0)
        release_range(pool);
}

void asid_release_entry(struct vspace_object *vs)
{
    if (!vs->asid)
        return;
    struct asid_pool *pool = asid_ranges[name_range(vs->asid)];
    clear_entry(pool, name_entry(vs->asid));
    vs->asid = 0;
}

/* ---- Destroying a pool ------------------------------------------------- */

void asid_pool_destroy(const cap_t *final_cap)
{
    struct asid_pool *pool = asid_pool_of_cap(final_cap);
    if (pool->assigned == 0)
        release_range(pool);
}

bool asid_pool_has_entries(const struct asid_pool *pool)
{
    return pool->assigned != 0;
}

/* `vs` loses its ASID for good, its threads stopped already. It may be
 * in the CPU's translation register still (spaces are switched lazily):
 * the arch leaves it and drops its TLB tag now, as for a destroyed space
 * (which does that again, harmlessly, when its memory goes). */
static void revoke(struct asid_pool *pool, unsigned i, struct vspace_object *vs)
{
    vs->asid = 0;
    vs->asid_revoked = true;
    arch_vspace_destroy(&vs->arch);
    clear_entry(pool, i);
}

bool asid_pool_reclaim(struct asid_pool *pool, unsigned *budget)
{
    /* No cap names the pool any more, so no entry is assigned behind the
     * cursor: those in use all lie at or past it. */
    while (pool->assigned != 0 && pool->reclaimed < ASID_POOL_ENTRIES) {
        if (*budget == 0)
            return false;
        struct vspace_object *vs = entry_vspace(pool->entry[pool->reclaimed]);
        if (vs) {
            if (!vspace_stop_threads(vs, budget) || *budget == 0)
                return false; /* on from this entry next time */
            revoke(pool, pool->reclaimed, vs);
        }
        pool->reclaimed++;
        batch_step(budget);
    }
    if (pool->assigned != 0)
        panic("asid_pool: %u entries in use past the end of pool %p", pool->assigned,
              (void *)pool);
    return true;
}

/* ---- ASIDPool: Assign -------------------------------------------------- */

/* The checks of docs/objects.md, in order, with nothing changed. */
static kerror_t check_assign(struct invocation *inv, struct vspace_object **vs,
                             struct kerror_info *info)
{
    kerror_t err = vspace_cap_arg(inv, inv->args[0], vs, info);
    if (err != KERR_OK)
        return err;
    if (vspace_has_asid(*vs) || (*vs)->asid_revoked)
        return KERR_ILLEGAL_OPERATION; /* one ASID per VSpace life */
    if (asid_pool_of_cap(&inv->slot->cap)->assigned == ASID_POOL_ENTRIES)
        return KERR_DELETE_FIRST;
    return KERR_OK;
}

kerror_t asid_pool_invoke_assign(struct invocation *inv, struct kerror_info *info)
{
    struct vspace_object *vs;
    kerror_t err = check_assign(inv, &vs, info);
    if (err != KERR_OK)
        return err;
    if (!asid_pool_assign(asid_pool_of_cap(&inv->slot->cap), vs))
        panic("asid_pool: no free entry in a pool with %u assigned",
              asid_pool_of_cap(&inv->slot->cap)->assigned);
    return KERR_OK;
}

/* ---- Boot --------------------------------------------------------------- */

BOOT_CODE cap_t asid_pool_boot(paddr_t pa, struct vspace_object *root_vspace)
{
    cap_t cap = object_create(CAP_ASID_POOL, pa, OBJ_ASID_POOL_BITS, false);
    struct asid_pool *pool = asid_pool_of_cap(&cap);
    asid_pool_take_range(pool);
    if (!asid_pool_assign(pool, root_vspace))
        panic("asid_pool: the boot pool refused the root task's VSpace");
    return cap;
}

/* ---- Checks (kernel/debug/invariants.c) -------------------------------- */

const char *asid_pool_broken(const struct asid_pool *pool)
{
    if (pool->range == 0 || pool->range >= ASID_RANGES)
        return "its range is outside the ASID space";
    bool covers = pool->header.refs != 0 || pool->assigned != 0;
    if (covers && asid_ranges[pool->range] != pool)
        return "the table of ranges does not name it for its range";
    unsigned count = 0;
    for (unsigned i = 0; i < ASID_POOL_ENTRIES; i++) {
        const struct vspace_object *vs = entry_vspace(pool->entry[i]);
        if (!vs)
            continue;
        count++;
        if (vs->asid != asid_name(pool->range, i, entry_generation(pool->entry[i])))
            return "an entry names a VSpace that holds another ASID";
    }
    return count == pool->assigned ? NULL : "its count of entries in use is wrong";
}
