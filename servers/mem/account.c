/*
 * The memory server's arithmetic (account.h): charges against quotas, the
 * cost of backing a page, and the region checks. Pure: the host tests run
 * it as it is.
 */
#include "account.h"

/* The BK_VM_* bits, restated so that this file needs no header of libsys
 * (kernel/abi.toml defines them: read 1, write 2, execute 4). */
#define VM_READ 1u
#define VM_WRITE 2u
#define VM_EXEC 4u

uint64_t mem_used(const struct mem_charges *c)
{
    uint64_t sum = 0;
    for (unsigned k = 0; k < MEM_KINDS; k++)
        sum += c->bytes[k];
    return sum;
}

uint64_t mem_left(const struct mem_charges *c)
{
    uint64_t used = mem_used(c);
    return used < c->quota ? c->quota - used : 0;
}

bool mem_quota_valid(uint64_t quota)
{
    return quota % MEM_PAGE == 0 && quota >= MEM_QUOTA_MIN && quota <= MEM_QUOTA_MAX;
}

void mem_charge(struct mem_charges *c, enum mem_kind kind, uint64_t bytes)
{
    c->bytes[kind] += bytes;
}

void mem_refund(struct mem_charges *c, enum mem_kind kind, uint64_t bytes)
{
    c->bytes[kind] -= bytes <= c->bytes[kind] ? bytes : c->bytes[kind];
}

unsigned mem_books_needed(unsigned objects, unsigned books, unsigned more)
{
    unsigned room = books * MEM_BOOK_OBJECTS - objects;
    if (more <= room)
        return 0;
    return (more - room + MEM_BOOK_OBJECTS - 1) / MEM_BOOK_OBJECTS;
}

unsigned mem_backing_pages(unsigned objects, unsigned books, unsigned tables)
{
    unsigned more = 1 + tables;
    return more + mem_books_needed(objects, books, more);
}

unsigned mem_spawn_pages(unsigned objects, unsigned books)
{
    return 2 + 3 + mem_books_needed(objects, books, 4);
}

enum mem_region_check mem_region_check(uint64_t base, uint64_t size, uint32_t rights,
                                       uint64_t top)
{
    /* The size is compared with the room below `top`, never added to the
     * base, so no huge size can wrap the end back into range. */
    if (base % MEM_PAGE != 0 || size % MEM_PAGE != 0 || size == 0 || base >= top ||
        size > top - base)
        return MEM_REGION_BAD_RANGE;
    bool rw = rights == (VM_READ | VM_WRITE), rx = rights == (VM_READ | VM_EXEC);
    if (rights != VM_READ && !rw && !rx)
        return MEM_REGION_BAD_RIGHTS;
    return MEM_REGION_OK;
}

/* [a, a + as) and [b, b + bs) share a byte (neither wraps). */
static bool ranges_meet(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
    return a < b + bs && b < a + as;
}

const struct mem_region *mem_region_overlapping(const struct mem_region *r, unsigned n,
                                                uint64_t base, uint64_t size)
{
    for (unsigned i = 0; i < n; i++) {
        if (ranges_meet(r[i].base, r[i].size, base, size))
            return &r[i];
    }
    return NULL;
}

const struct mem_region *mem_region_holding(const struct mem_region *r, unsigned n,
                                            uint64_t base, uint64_t size)
{
    for (unsigned i = 0; i < n; i++) {
        if (base >= r[i].base && size <= r[i].size && base - r[i].base <= r[i].size - size)
            return &r[i];
    }
    return NULL;
}

bool mem_access_allowed(uint32_t rights, uint64_t access)
{
    /* The hardware reports reads, writes and fetches; each needs its right
     * (a read needs only the read right every region has). */
    if ((access & VM_WRITE) && !(rights & VM_WRITE))
        return false;
    if ((access & VM_EXEC) && !(rights & VM_EXEC))
        return false;
    return (access & ~(uint64_t)(VM_READ | VM_WRITE | VM_EXEC)) == 0;
}
