/*
 * The memory server's accounts: opening and closing them, and finding them
 * by id (the badge of a tenant's cap) and by name (docs/memory.md,
 * "Accounts and who may do what"). The table and the name chains live in
 * the reserved area (units.c); each account's record in a block of it.
 */
#include "server.h"

#define ACCOUNT_BITS 11 /* a struct account takes a 2 KiB block of the reserved area */

_Static_assert(sizeof(struct account) <= (1u << ACCOUNT_BITS), "an account fits its block");

static uint64_t next_id = 1, open_accounts;

/* Account `id` lives in place id mod the table's size (ids grow, and skip
 * places taken, so no two open accounts share one). */
struct account *account_by_id(uint64_t id)
{
    if (id == 0 || !account_table)
        return NULL;
    struct account *a = account_table[id & ((1ull << accounts_bits) - 1)];
    return a && a->id == id ? a : NULL;
}

/* Open accounts by name: account_names[] holds 2^accounts_bits chains
 * by hash, account_name_next[a->slot] the account after a in its chain. */
#define by_name account_names
#define name_next account_name_next

static uint64_t name_hash(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *name; name++)
        h = (h ^ (uint8_t)*name) * 0x100000001b3ull;
    return h & ((1ull << accounts_bits) - 1);
}

static struct account *account_by_name(const char *name)
{
    if (!by_name)
        return NULL;
    for (struct account *a = by_name[name_hash(name)]; a; a = name_next[a->slot]) {
        if (strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

int account_new(struct mem_call *call, const char *name, uint64_t quota, struct account **out)
{
    uint64_t places = 1ull << accounts_bits, skipped = 0;
    while (account_table[next_id & (places - 1)] && skipped < places) {
        next_id++;
        skipped++;
    }
    if (skipped == places)
        return mem_fail_no_room(call, (uint32_t)places);
    struct account *a = meta_alloc(ACCOUNT_BITS);
    if (!a)
        return mem_fail_no_room(call, (uint32_t)open_accounts);
    a->id = next_id;
    a->slot = (unsigned)(next_id & (places - 1));
    a->charges.quota = quota;
    a->tcb_entry = -1;
    a->sc_entry = -1;
    a->asid_pool_entry = -1;
    memcpy(a->name, name, strlen(name) + 1);
    if (pages_open(a) != 0) {
        meta_free(a, ACCOUNT_BITS);
        return mem_fail_no_memory(call, name, MEM_PAGE, pages_free_bytes());
    }
    next_id++;
    account_table[a->slot] = a;
    uint64_t h = name_hash(name);
    name_next[a->slot] = by_name[h];
    by_name[h] = a;
    open_accounts++;
    *out = a;
    return 0;
}

uint64_t account_close(struct account *a)
{
    uint64_t bytes = pages_close(a);
    for (unsigned k = 0; k < IMAGES; k++)
        images[k].live = images[k].live && images[k].owner != a;
    programs_forget(a);
    struct account **p = &by_name[name_hash(a->name)];
    while (*p != a)
        p = &name_next[(*p)->slot];
    *p = name_next[a->slot];
    account_table[a->slot] = NULL;
    open_accounts--;
    meta_free(a, ACCOUNT_BITS);
    return bytes;
}

int account_checks(struct mem_call *call, const char *name, uint64_t quota)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    if (!mem_quota_valid(quota))
        return mem_fail_bad_quota(call, name, quota, MEM_QUOTA_MAX);
    const struct account *same = account_by_name(name);
    if (same)
        return mem_fail_name_taken(call, name, same->id);
    if (!pages_ready())
        return mem_fail_no_memory(call, name, MEM_PAGE, 0);
    return 0;
}

int account_named(struct mem_call *call, uint64_t tenant, struct account **out)
{
    if (call->badge != 0 && tenant != 0 && tenant != call->badge)
        return mem_fail_not_admin(call, call->badge);
    uint64_t id = call->badge != 0 ? call->badge : tenant;
    *out = account_by_id(id);
    return *out ? 0 : mem_fail_unknown_tenant(call, id);
}

uint64_t accounts_open(void)
{
    return open_accounts;
}
