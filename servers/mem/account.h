/*
 * The memory server's arithmetic, with no syscall in it (so the host tests
 * run it: tests/host/test_mem_account.c): what an account is charged, by
 * kind, against its quota; how many pages backing one more page costs; and
 * the checks and lookups of an account's regions.
 *
 * Invariants (the server keeps them; the functions assume them):
 *  - an account's charges sum to at most its quota, and every charge is a
 *    whole number of pages;
 *  - an account's regions are page-aligned, non-empty, below the top of
 *    user space and pairwise disjoint.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_PAGE 4096ull
/* Caps the server keeps per page it spends for an account: the object's
 * and the page of untyped memory it was made from (servers/mem/pages.c). */
#define MEM_BOOK_OBJECTS 32u /* objects one book (a CNode of 64 slots) records */
#define MEM_BOOKS 32u        /* books one directory (a CNode of 64 slots) records */
#define MEM_QUOTA_MIN (2 * MEM_PAGE)
/* The directory and its books pay for themselves out of the quota, so an
 * account can never have more objects than its books record. */
#define MEM_QUOTA_MAX (1024 * MEM_PAGE)

/* What a page (or, for a VSpace, two) of an account was spent on: the
 * kernel objects of a tenant Spawn made (its address space, its CSpace's
 * CNode, its thread, its SchedContext) each take a page of their own,
 * charged whole. */
enum mem_kind {
    MEM_KIND_FRAME,
    MEM_KIND_PAGE_TABLE,
    MEM_KIND_CNODE,
    MEM_KIND_VSPACE,
    MEM_KIND_TCB,
    MEM_KIND_SCHED_CONTEXT,
    MEM_KIND_SESSION, /* session memory granted to a server (grants.c) */
    MEM_KIND_IPC,     /* endpoints, notifications and Reply objects Make made (make.c) */
    MEM_KINDS
};

struct mem_charges {
    uint64_t quota;
    uint64_t bytes[MEM_KINDS];
};

/* Bytes charged, all kinds together, and what the quota has left. */
uint64_t mem_used(const struct mem_charges *c);
uint64_t mem_left(const struct mem_charges *c);

/* True if `quota` is acceptable: whole pages, MEM_QUOTA_MIN to
 * MEM_QUOTA_MAX. */
bool mem_quota_valid(uint64_t quota);

/* Charges (or refunds) `bytes` of `kind`; the caller checked with
 * mem_left() that a charge fits, and refunds only what it charged. */
void mem_charge(struct mem_charges *c, enum mem_kind kind, uint64_t bytes);
void mem_refund(struct mem_charges *c, enum mem_kind kind, uint64_t bytes);

/* New books an account with `objects` recorded in `books` books needs to
 * record `more` objects. */
unsigned mem_books_needed(unsigned objects, unsigned books, unsigned more);

/* Pages that backing one page costs when `tables` page tables are missing
 * on the way to it: the frame, the tables and the books to record them. */
unsigned mem_backing_pages(unsigned objects, unsigned books, unsigned tables);

/* Pages Mem: Spawn's kernel objects take (the VSpace two, the CNode, TCB
 * and SchedContext one each) with the books to record the four, for an
 * account with `objects` recorded in `books` books. */
unsigned mem_spawn_pages(unsigned objects, unsigned books);

struct mem_region {
    uint64_t base, size;
    uint32_t rights; /* BK_VM_* */
    uint32_t image;  /* 0: anonymous; else 1 + the server's index of the image backing it */
};

enum mem_region_check { MEM_REGION_OK, MEM_REGION_BAD_RANGE, MEM_REGION_BAD_RIGHTS };

/* Checks a region to be declared, range first: page-aligned, not empty, no
 * wrap, ends at or below `top`; then rights: read, with write or execute
 * but not both. */
enum mem_region_check mem_region_check(uint64_t base, uint64_t size, uint32_t rights,
                                       uint64_t top);

/* The first of `n` regions that shares a byte with [base, base + size), or
 * NULL. The range must not wrap. */
const struct mem_region *mem_region_overlapping(const struct mem_region *r, unsigned n,
                                                uint64_t base, uint64_t size);

/* The region of `n` that holds all of [base, base + size), or NULL. */
const struct mem_region *mem_region_holding(const struct mem_region *r, unsigned n,
                                            uint64_t base, uint64_t size);

/* True if a fault with `access` (BK_FAULT_ACCESS_* bits: 1 read, 2 write,
 * 4 execute) is one the region's `rights` (BK_VM_*: the same bits) allow. */
bool mem_access_allowed(uint32_t rights, uint64_t access);
