/*
 * The memory server's free memory and its own bookkeeping (server.h has
 * the invariants).
 *
 * The administrator moves untyped caps into POOL_SLOT and POOL_EXTRA(k).
 * At the first request that finds them the server measures each (the
 * largest untyped a Retype can carve from it), sets aside what it needs
 * for itself from the largest (the reserved area: its CNodes, the page
 * tables of its windows, a zero page for probing, and 1/20 of the memory
 * as frames mapped at META_WINDOW for its tables of accounts and book
 * entries), and splits everything else into **units** of 8 KiB, kept in
 * UNIT_CNODE.
 *
 * Why units of two pages: a VSpace is 8 KiB, everything else the server
 * makes is one page. A unit is taken whole for a VSpace, or split into two
 * one-page untyped caps (Retype) when a page is needed and no split unit
 * has a free half. A split unit stays split when both halves are free
 * again (so a page costs one CNode: Move, as the pager's round trip
 * measures), until a VSpace is needed and no unit is whole: then revoking
 * it deletes both halves and it is whole again. So a spawn after any
 * number of spawns and kills finds its VSpace's two pages if the memory is
 * there.
 *
 * Retype zeroes what it makes: nothing a tenant had reaches another.
 */
#include "server.h"

#define POOL_TRY_BITS 40      /* the largest pool the server looks for */
#define UNIT_BITS (BK_PAGE_BITS + 1)
#define UNIT_BYTES (2 * MEM_PAGE)
#define SLOT_BITS 6           /* a CNode slot is 64 bytes */
#define ELF_CNODE_BITS 8      /* IMAGE_PAGES slots */
#define ON_HALF_STACK 0x80
#define ON_PAIR_STACK 0x40
#define UNIT_STATE 0x3f
/* The reserved area is 1/20 of the memory: about 2.5 KiB of bookkeeping
 * per account (its record and a book's entries) against the 60 KiB the
 * smallest spawned tenant takes, so memory runs out first. */
#define META_SHARE 20

enum unit_state { UNIT_FREE, UNIT_WHOLE, UNIT_SPLIT };

struct account **account_table, **account_names, **account_name_next;
unsigned accounts_bits;

static bool ready;
static unsigned unit_cnode_bits, meta_cnode_bits;
static unsigned halves_cnode_bits;
static uint32_t units, free_top, half_top, pair_top, halves;
static uint8_t *state;                 /* enum unit_state | ON_HALF_STACK | ON_PAIR_STACK */
static uint8_t *half_mask;             /* which halves of a split unit are free */
static uint32_t *free_stack, *half_stack, *pair_stack;
static uint64_t reserved;              /* bytes set aside at setup */
static uint8_t *meta_next, *meta_end;  /* the reserved area's unused part */
static uint64_t meta_in_use;
static void *meta_free_list[BK_PAGE_BITS + 1];

/* A unit's state changes; whether it is on a stack does not (a stale
 * place there is skipped when popped). */
static void set_state(uint32_t k, enum unit_state s)
{
    state[k] = (uint8_t)(s | (state[k] & ~UNIT_STATE));
}

/* ---- Measuring --------------------------------------------------------- */

/* The size of the untyped in `slot`, in bits: the largest untyped a
 * Retype can carve from it (made and revoked at once), or 0. */
static unsigned pool_bits(uint64_t slot)
{
    for (unsigned b = POOL_TRY_BITS; b >= BK_PAGE_BITS; b--) {
        if (sys_untyped_retype(slot, BK_OBJ_UNTYPED, b, BK_CAP_ROOT_CNODE, 0, 0, SCRATCH_UT,
                               1) == 0) {
            sys_cnode_revoke(BK_CAP_ROOT_CNODE, slot, W);
            return b > POOL_MAX_BITS ? POOL_MAX_BITS : b;
        }
    }
    return 0;
}

static uint64_t pool_slot(unsigned i)
{
    return i == 0 ? POOL_SLOT : POOL_EXTRA(i - 1);
}

static unsigned log2_up(uint64_t n)
{
    unsigned b = 0;
    while ((1ull << b) < n)
        b++;
    return b;
}

/* ---- The reserved area ------------------------------------------------- */

static void *meta_bump(uint64_t bytes, uint64_t align)
{
    uintptr_t p = ((uintptr_t)meta_next + align - 1) & ~(uintptr_t)(align - 1);
    if (p + bytes > (uintptr_t)meta_end)
        return NULL;
    meta_next = (uint8_t *)(p + bytes);
    meta_in_use += bytes;
    return (void *)p;
}

/* A page of the area cut into blocks of 2^bits bytes, onto their list
 * (so blocks of different sizes never waste the space between them). */
static bool meta_carve(unsigned bits)
{
    uint8_t *page = meta_bump(MEM_PAGE, MEM_PAGE);
    if (!page)
        return false;
    meta_in_use -= MEM_PAGE; /* counted as blocks are handed out */
    for (uint64_t off = MEM_PAGE; off > 0; off -= 1ull << bits) {
        void *block = page + off - (1ull << bits);
        *(void **)block = meta_free_list[bits];
        meta_free_list[bits] = block;
    }
    return true;
}

void *meta_alloc(unsigned bits)
{
    if (!meta_free_list[bits] && !meta_carve(bits))
        return NULL;
    void *p = meta_free_list[bits];
    meta_free_list[bits] = *(void **)p;
    meta_in_use += 1ull << bits;
    memset(p, 0, 1ull << bits);
    return p;
}

void meta_free(void *p, unsigned bits)
{
    if (!p)
        return;
    *(void **)p = meta_free_list[bits];
    meta_free_list[bits] = p;
    meta_in_use -= 1ull << bits;
}

uint64_t meta_reserved_bytes(void)
{
    return reserved;
}

uint64_t meta_used_bytes(void)
{
    return meta_in_use;
}

/* `pages` frames from the untyped in `pool` into META_CNODE, mapped at
 * META_WINDOW one after the other. */
static bool map_meta(uint64_t pool, uint64_t pages)
{
    for (uint64_t i = 0; i < pages; i += BK_RETYPE_MAX_OBJECTS) {
        uint64_t n = pages - i < BK_RETYPE_MAX_OBJECTS ? pages - i : BK_RETYPE_MAX_OBJECTS;
        if (sys_untyped_retype(pool, BK_OBJ_FRAME, BK_PAGE_BITS, META_CNODE, 0, 0, i, n) != 0)
            return false;
    }
    for (uint64_t i = 0; i < pages; i++) {
        /* A cap is invoked through our CNode only: out, mapped, back. */
        if (sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W, META_CNODE, i, meta_cnode_bits) != 0 ||
            sys_frame_map(SCRATCH_OBJ, BK_CAP_ROOT_VSPACE, META_WINDOW + i * MEM_PAGE,
                          BK_VM_READ | BK_VM_WRITE, 0) != 0 ||
            sys_cnode_move(META_CNODE, i, meta_cnode_bits, BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W) != 0)
            return false;
    }
    meta_next = (uint8_t *)(uintptr_t)META_WINDOW;
    meta_end = meta_next + pages * MEM_PAGE;
    return true;
}

/* ---- Setting up -------------------------------------------------------- */

struct plan {
    unsigned bits[POOLS];
    uint64_t used[POOLS];
    unsigned largest;
    uint64_t total, meta_pages;
};

/* A CNode of 2^bits slots in our `slot`, from the largest pool. */
static bool make_cnode(struct plan *p, uint64_t slot, unsigned bits)
{
    uint64_t size = 1ull << (bits + SLOT_BITS);
    if (sys_untyped_retype(pool_slot(p->largest), BK_OBJ_CNODE, bits, BK_CAP_ROOT_CNODE, 0, 0,
                           slot, 1) != 0)
        return false;
    p->used[p->largest] += size;
    reserved += size;
    return true;
}

/* The CNodes of the reserved part, largest first (each aligned to its
 * size, so nothing is lost between them), then its pages. */
static bool reserve(struct plan *p)
{
    uint64_t units_max = p->total / UNIT_BYTES;
    unit_cnode_bits = log2_up(units_max);
    halves_cnode_bits = unit_cnode_bits + 1;
    accounts_bits = log2_up(p->total >> 15);
    accounts_bits = accounts_bits < 4 ? 4 : accounts_bits > ACCOUNTS_MAX_BITS ? ACCOUNTS_MAX_BITS
                                                                                : accounts_bits;
    p->meta_pages = p->total / META_SHARE / MEM_PAGE;
    unsigned meta_bits = log2_up(p->meta_pages);
    meta_cnode_bits = meta_bits;
    struct {
        uint64_t slot;
        unsigned bits;
    } cnodes[] = { { UNIT_CNODE, unit_cnode_bits },
                   { HALVES_CNODE, halves_cnode_bits },
                   { ACCOUNTS_CNODE, accounts_bits + 2 },
                   { META_CNODE, meta_bits },
                   { ELF_CNODE, ELF_CNODE_BITS } };
    unsigned n = sizeof(cnodes) / sizeof(cnodes[0]);
    for (unsigned done = 0; done < n; done++) { /* largest first */
        unsigned best = n;
        for (unsigned i = 0; i < n; i++)
            if (cnodes[i].bits && (best == n || cnodes[i].bits > cnodes[best].bits))
                best = i;
        if (best == n || !make_cnode(p, cnodes[best].slot, cnodes[best].bits))
            return false;
        cnodes[best].bits = 0;
    }
    uint64_t pool = pool_slot(p->largest), pages = 1 + p->meta_pages;
    if (sys_untyped_retype(pool, BK_OBJ_FRAME, BK_PAGE_BITS, BK_CAP_ROOT_CNODE, 0, 0,
                           PROBE_FRAME, 1) != 0 ||
        !pages_window_init(pool, &pages, p->meta_pages) || !map_meta(pool, p->meta_pages))
        return false;
    /* The Reply objects that hold callers while swap transfers wait
     * (main.c, serve_until): REPLIES of 64 bytes in one more page. */
    if (sys_untyped_retype(pool, BK_OBJ_REPLY, 0, BK_CAP_ROOT_CNODE, 0, 0, REPLY_SLOT(0),
                           REPLIES) != 0)
        return false;
    replies_made();
    pages++;
    pages += pages & 1; /* the units after them are aligned to two pages */
    p->used[p->largest] += pages * MEM_PAGE;
    reserved += pages * MEM_PAGE;
    return true;
}

/* The unit tables and the accounts table, in the reserved area. */
static bool tables(uint64_t units_max)
{
    state = meta_bump(units_max, 8);
    half_mask = meta_bump(units_max, 8);
    free_stack = meta_bump(units_max * 4, 8);
    half_stack = meta_bump(units_max * 4, 8);
    pair_stack = meta_bump(units_max * 4, 8);
    account_table = meta_bump(sizeof(*account_table) << accounts_bits, 8);
    account_names = meta_bump(sizeof(*account_table) << accounts_bits, 8);
    account_name_next = meta_bump(sizeof(*account_table) << accounts_bits, 8);
    return state && half_mask && free_stack && half_stack && pair_stack && account_table &&
           account_names &&
           account_name_next;
}

/* Everything left of each pool, as units. */
static bool split_pools(const struct plan *p)
{
    for (unsigned i = 0; i < POOLS; i++) {
        uint64_t bytes = p->bits[i] ? (1ull << p->bits[i]) - p->used[i] : 0;
        uint64_t count = bytes / UNIT_BYTES;
        for (uint64_t j = 0; j < count; j += BK_RETYPE_MAX_OBJECTS) {
            uint64_t n = count - j < BK_RETYPE_MAX_OBJECTS ? count - j : BK_RETYPE_MAX_OBJECTS;
            if (sys_untyped_retype(pool_slot(i), BK_OBJ_UNTYPED, UNIT_BITS, UNIT_CNODE, 0, 0,
                                   units + j, n) != 0)
                return false;
        }
        for (uint64_t j = 0; j < count; j++) {
            state[units + j] = UNIT_FREE;
            free_stack[free_top++] = (uint32_t)(units + count - 1 - j); /* lowest on top */
        }
        units += (uint32_t)count;
    }
    return true;
}

static bool set_up(void)
{
    struct plan p = { 0 };
    for (unsigned i = 0; i < POOLS; i++) {
        p.bits[i] = pool_bits(pool_slot(i));
        p.total += p.bits[i] ? 1ull << p.bits[i] : 0;
        if (p.bits[i] > p.bits[p.largest])
            p.largest = i;
    }
    if (p.bits[p.largest] < 16) /* room for the reserved part and a few pages */
        return false;
    return reserve(&p) && tables(p.total / UNIT_BYTES) && split_pools(&p);
}

bool pages_ready(void)
{
    if (ready)
        return true;
    ready = set_up();
    if (!ready) {
        for (unsigned i = 0; i < POOLS; i++)
            sys_cnode_revoke(BK_CAP_ROOT_CNODE, pool_slot(i), W);
        units = free_top = half_top = pair_top = halves = 0;
        reserved = 0;
    }
    return ready;
}

uint64_t pages_free_bytes(void)
{
    return free_top * UNIT_BYTES + halves * MEM_PAGE;
}

uint64_t pages_total_bytes(void)
{
    return units * UNIT_BYTES;
}

/* ---- Units in and out -------------------------------------------------- */

/* Unit k's halves, once split, lie in HALVES_CNODE slots 2k and 2k + 1
 * while free; `halves[k]` says which are (bit 0, bit 1). A unit split
 * stays split when both halves come back: a page is then one CNode: Move
 * away, as it was before units existed, and a VSpace revokes the unit
 * (both halves go) only when no unit is whole. */
static uint64_t half_slot(uint32_t unit, unsigned which)
{
    return 2ull * unit + which;
}

/* Pushes `k` on the stack its state puts it on, once. */
static void push(uint32_t k)
{
    uint8_t h = half_mask[k];
    if (h == 3 && !(state[k] & ON_PAIR_STACK)) {
        state[k] |= ON_PAIR_STACK;
        pair_stack[pair_top++] = k;
    } else if ((h == 1 || h == 2) && !(state[k] & ON_HALF_STACK)) {
        state[k] |= ON_HALF_STACK;
        half_stack[half_top++] = k;
    }
}

/* A unit from `stack` whose free halves are `mask` (stale places skipped). */
static long pop(uint32_t *stack, uint32_t *top, uint8_t flag, bool both)
{
    while (*top) {
        uint32_t k = stack[--*top];
        state[k] &= (uint8_t)~flag;
        bool split = (state[k] & UNIT_STATE) == UNIT_SPLIT;
        if (split && (both ? half_mask[k] == 3 : half_mask[k] == 1 || half_mask[k] == 2))
            return k;
    }
    return -1;
}

/* A whole free unit split into its two halves, both free. */
static long split_whole(void)
{
    if (free_top == 0)
        return -1;
    uint32_t k = free_stack[free_top - 1];
    long r = sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_UNIT, W, UNIT_CNODE, k, unit_cnode_bits);
    if (r == 0)
        r = sys_untyped_retype(SCRATCH_UNIT, BK_OBJ_UNTYPED, BK_PAGE_BITS, HALVES_CNODE, 0, 0,
                               half_slot(k, 0), 2);
    sys_cnode_move(UNIT_CNODE, k, unit_cnode_bits, BK_CAP_ROOT_CNODE, SCRATCH_UNIT, W);
    if (r != 0)
        return -1;
    free_top--;
    set_state(k, UNIT_SPLIT);
    half_mask[k] = 3;
    halves += 2;
    return k;
}

long unit_take_page(void)
{
    long k = pop(half_stack, &half_top, ON_HALF_STACK, false);
    if (k < 0)
        k = pop(pair_stack, &pair_top, ON_PAIR_STACK, true);
    if (k < 0)
        k = split_whole();
    if (k < 0)
        return -1;
    unsigned which = (half_mask[k] & 1) ? 0 : 1;
    if (sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_UT, W, HALVES_CNODE, half_slot((uint32_t)k, which),
                       halves_cnode_bits) != 0) {
        push((uint32_t)k);
        return -1;
    }
    half_mask[k] &= (uint8_t)~(1u << which);
    halves--;
    push((uint32_t)k);
    return k;
}

long unit_retype(uint32_t unit, uint64_t type, unsigned size_bits, uint64_t slot, unsigned n)
{
    /* A cap is invoked through our CNode only: out, retyped, back. */
    long r = sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_UNIT, W, UNIT_CNODE, unit, unit_cnode_bits);
    if (r != 0)
        return r;
    r = sys_untyped_retype(SCRATCH_UNIT, type, size_bits, BK_CAP_ROOT_CNODE, 0, 0, slot, n);
    sys_cnode_move(UNIT_CNODE, unit, unit_cnode_bits, BK_CAP_ROOT_CNODE, SCRATCH_UNIT, W);
    return r;
}

long unit_retype_to(uint32_t unit, uint64_t type, unsigned size_bits, uint64_t root,
                    uint64_t index, uint64_t depth, uint64_t offset)
{
    long r = sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_UNIT, W, UNIT_CNODE, unit, unit_cnode_bits);
    if (r != 0)
        return r;
    r = sys_untyped_retype(SCRATCH_UNIT, type, size_bits, root, index, depth, offset, 1);
    sys_cnode_move(UNIT_CNODE, unit, unit_cnode_bits, BK_CAP_ROOT_CNODE, SCRATCH_UNIT, W);
    return r;
}

long unit_take_whole(void)
{
    if (free_top) {
        uint32_t k = free_stack[--free_top];
        set_state(k, UNIT_WHOLE);
        return k;
    }
    /* A split unit with both halves free: revoking it deletes them. */
    long k = pop(pair_stack, &pair_top, ON_PAIR_STACK, true);
    if (k < 0 || sys_cnode_revoke(UNIT_CNODE, (uint64_t)k, unit_cnode_bits) != 0)
        return -1;
    half_mask[k] = 0;
    halves -= 2;
    set_state((uint32_t)k, UNIT_WHOLE);
    return k;
}

void unit_give_page(uint32_t unit, uint64_t root, uint64_t index, uint64_t depth)
{
    sys_cnode_revoke(root, index, depth);
    unsigned which = (half_mask[unit] & 1) ? 1 : 0;
    if (sys_cnode_move(HALVES_CNODE, half_slot(unit, which), halves_cnode_bits, root, index,
                       depth) != 0)
        return;
    half_mask[unit] |= (uint8_t)(1u << which);
    halves++;
    push(unit);
}

void unit_give_whole(uint32_t unit)
{
    sys_cnode_revoke(UNIT_CNODE, unit, unit_cnode_bits);
    set_state(unit, UNIT_FREE);
    free_stack[free_top++] = unit;
}
