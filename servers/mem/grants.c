/*
 * Session memory a tenant grants a server (Mem: Grant, TakeGrant,
 * EndGrant; docs/memory.md, "Quota travels with requests").
 *
 * A tenant that opens a session with a server (the IO server) pays for
 * the memory the server spends on it: it asks us for a grant toward that
 * server, we set 64 KiB of our memory aside, charged to its account, and
 * the server takes it by the grant's number. What the server gets is a
 * CNode holding untyped caps that are originals (made by Retype from our
 * units), so it can retype them; we keep the units they were made from.
 * So:
 *  - the tenant never holds a cap to the memory: it is no ancestor of what
 *    the server makes, and cannot revoke it under the server's feet;
 *  - we revoke the units, deleting everything the server made of them
 *    wherever it lies, only when the grant ends: by the server that took
 *    it (its session closed), by the administrator (a dead server), or by
 *    the tenant while no server has taken it; an account with a taken grant
 *    does not close (grant_in_use);
 *  - the bytes go back to the account that paid, exactly.
 *
 * Layout of the 64 KiB: 8 whole units. Unit 0 holds the CNode of 8 slots
 * (512 bytes) and a 4 KiB untyped; units 1-7 an 8 KiB untyped each. The
 * CNode's cap lives in our GRANT_SLOT(k) until the grant ends.
 */
#include "server.h"

#define GRANTS 32
#define GRANT_UNITS 8
#define GRANT_BYTES (GRANT_UNITS * 2 * MEM_PAGE)
#define GRANT_CNODE_BITS 3
#define SERVERS_MAX 15
#define GRANT_SLOT(k) (160 + (k)) /* our CNode: the grant's CNode cap */

struct grant {
    bool live, taken;
    uint64_t id;
    struct account *payer;
    uint64_t holder, beneficiary;
    uint32_t unit[GRANT_UNITS];
};

static struct grant grants[GRANTS];
static uint64_t next_grant = 1;

/* Takes back units [0, n) of `g` (revoking deletes whatever was made). */
static void give_units(const struct grant *g, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        unit_give_whole(g->unit[i]);
}

/* The grant's CNode into GRANT_SLOT(k) and its untypeds into the CNode's
 * slots, from units already taken. */
static long make_memory(const struct grant *g, unsigned k)
{
    long r = unit_retype_to(g->unit[0], BK_OBJ_CNODE, GRANT_CNODE_BITS, BK_CAP_ROOT_CNODE, 0,
                            0, GRANT_SLOT(k));
    /* The rest of unit 0 (a page: Retype aligns it past the CNode). */
    if (r == 0)
        r = unit_retype_to(g->unit[0], BK_OBJ_UNTYPED, BK_PAGE_BITS, BK_CAP_ROOT_CNODE,
                           GRANT_SLOT(k), W, 0);
    for (unsigned i = 1; r == 0 && i < GRANT_UNITS; i++)
        r = unit_retype_to(g->unit[i], BK_OBJ_UNTYPED, BK_PAGE_BITS + 1, BK_CAP_ROOT_CNODE,
                           GRANT_SLOT(k), W, i);
    return r;
}

int mem_handle_grant(struct mem_call *call, uint64_t tenant, uint64_t holder,
                     uint64_t beneficiary, uint64_t *grant)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    if (holder == 0 || holder > SERVERS_MAX)
        return mem_fail_bad_server(call, a->name, holder);
    uint64_t left = mem_left(&a->charges);
    if (GRANT_BYTES > left)
        return mem_fail_quota(call, a->name, a->charges.quota, GRANT_BYTES, left);
    unsigned k = 0;
    while (k < GRANTS && grants[k].live)
        k++;
    if (k == GRANTS)
        return mem_fail_too_many_grants(call, a->name, GRANTS);
    struct grant *g = &grants[k];
    *g = (struct grant){ false, false, next_grant, a, holder, beneficiary, { 0 } };
    unsigned n = 0;
    for (long u; n < GRANT_UNITS && (u = unit_take_whole()) >= 0; n++)
        g->unit[n] = (uint32_t)u;
    if (n < GRANT_UNITS || make_memory(g, k) != 0) {
        give_units(g, n);
        return mem_fail_no_memory(call, a->name, GRANT_BYTES, pages_free_bytes());
    }
    g->live = true;
    next_grant++;
    mem_charge(&a->charges, MEM_KIND_SESSION, GRANT_BYTES);
    *grant = g->id;
    return 0;
}

/* Grant `id`, live, or NULL; its place in *k. */
static struct grant *grant_by_id(uint64_t id, unsigned *k)
{
    for (*k = 0; *k < GRANTS; (*k)++) {
        if (grants[*k].live && grants[*k].id == id)
            return &grants[*k];
    }
    return NULL;
}

int mem_handle_take_grant(struct mem_call *call, uint64_t grant, uint64_t beneficiary,
                          uint64_t *bytes, bk_cptr_t *memory)
{
    if (!(call->badge & MEM_SERVER_BADGE))
        return mem_fail_not_server(call, call->badge);
    unsigned k;
    struct grant *g = grant_by_id(grant, &k);
    /* Made for this server and this client of it, and not taken: else
     * whoever names it gets nothing, and learns nothing of whose it is. */
    if (!g || g->taken || g->holder != (call->badge & ~MEM_SERVER_BADGE) ||
        g->beneficiary != beneficiary)
        return mem_fail_unknown_grant(call, grant, call->badge);
    g->taken = true;
    *bytes = GRANT_BYTES;
    *memory = GRANT_SLOT(k);
    return 0;
}

/* Ends grant `g`: its units revoked, its bytes back to its payer. */
static uint64_t end(struct grant *g)
{
    give_units(g, GRANT_UNITS); /* the CNode in GRANT_SLOT goes with unit 0 */
    mem_refund(&g->payer->charges, MEM_KIND_SESSION, GRANT_BYTES);
    g->live = false;
    return GRANT_BYTES;
}

int mem_handle_end_grant(struct mem_call *call, uint64_t grant, uint64_t *returned)
{
    unsigned k;
    struct grant *g = grant_by_id(grant, &k);
    uint64_t badge = call->badge;
    bool holder = g && g->taken && (badge & MEM_SERVER_BADGE) &&
                  g->holder == (badge & ~MEM_SERVER_BADGE);
    bool payer = g && badge != 0 && badge == g->payer->id;
    if (!g || !(badge == 0 || holder || payer))
        return mem_fail_unknown_grant(call, grant, badge);
    if (payer && g->taken)
        return mem_fail_grant_taken(call, g->payer->name, grant, g->holder);
    *returned = end(g);
    return 0;
}

int grants_close(struct mem_call *call, const struct account *a, uint64_t *returned)
{
    *returned = 0;
    for (unsigned k = 0; k < GRANTS; k++) {
        const struct grant *g = &grants[k];
        if (g->live && g->payer == a && g->taken)
            return mem_fail_grant_in_use(call, a->name, g->id, g->holder, GRANT_BYTES);
    }
    for (unsigned k = 0; k < GRANTS; k++) {
        if (grants[k].live && grants[k].payer == a)
            *returned += end(&grants[k]);
    }
    return 0;
}
