/*
 * The memory server's state (docs/memory.md, "The memory server"): its
 * free memory, a stack of one-page untyped caps, and the accounts, each
 * with its charges, regions, the record of the caps made for it and the
 * faults it refused. pages.c spends and takes back pages; main.c has the
 * loop, the handlers and the pager.
 *
 * Invariants:
 *  - every page of untyped memory the server manages is either free (its
 *    cap in FREE_CNODE below `free_count`) or an account's (its cap in one
 *    of the account's books, beside the cap of the one object made from
 *    it, or in its directory beside a book); so free + the sum of every
 *    account's charges = total, to the byte;
 *  - an account's `charges` are the pages recorded for it, by kind;
 *  - a hole (an entry of page_of[] below `objects` equal to HOLE) has both
 *    its book slots empty, and is listed once in `holes`;
 *  - the slots SCRATCH_UT and SCRATCH_OBJ are empty between requests.
 */
#pragma once

#include <protocols/mem_server.h>

#include "account.h"

#define W BK_WORD_BITS

/* Badges: the administrator's cap is unbadged; an account's tenant cap is
 * badged with its id, its threads' fault endpoint with MEM_FAULT_BADGE |
 * id (protocol.toml). */
#define MEM_FAULT_BADGE (1ull << 62)

#define ACCOUNTS 8
#define REGIONS 8
#define FAULTS_KEPT 4
#define NAME_CHARS 16
#define BOOK_BITS 6           /* a book or directory: a CNode of 64 slots, one page */
#define MAX_OBJECTS (MEM_BOOKS * MEM_BOOK_OBJECTS)
#define HOLE 2                /* page_of[] of an entry emptied by RemoveRegion */
#define POOL_MAX_BITS 26      /* the most the server uses of the untyped it is given: 64 MiB */

/* Slots of the server's CNode (2^8 slots, from bk_process_spawn). */
#define ENDPOINT BK_PROCESS_CAP_ARG
#define RECV_SLOT 12
#define POOL_SLOT 13          /* the administrator moves an untyped cap here */
#define FREE_CNODE 14         /* the free pages' caps, slots 0 .. free_count - 1 */
#define PROBE_FRAME 15        /* a zero page, never writable: probes translations */
#define SCRATCH_UT 16
#define SCRATCH_OBJ 17
#define ACCOUNT_SLOT(i, k) (20 + 4 * (i) + (k))
#define SPACE_SLOT(i) ACCOUNT_SLOT(i, 0)      /* a copy of its VSpace cap */
#define DIR_SLOT(i) ACCOUNT_SLOT(i, 1)        /* its directory: books 0-31, their pages 32-63 */
#define DIR_UT_SLOT(i) ACCOUNT_SLOT(i, 2)     /* the page its directory was made from */
#define SUPERVISOR_SLOT(i) ACCOUNT_SLOT(i, 3) /* a notification to signal, or empty */

/* The top of user space: x86-64's lower half (47 bits), RISC-V Sv39's
 * (38 bits). */
#if defined(__x86_64__)
#define USER_TOP (1ull << 47)
#else
#define USER_TOP (1ull << 38)
#endif

struct account {
    bool open;
    uint64_t id;
    char name[NAME_CHARS + 1];
    struct mem_charges charges;
    struct mem_region regions[REGIONS];
    unsigned region_count;
    unsigned books, objects;   /* books made; entries used in them, holes included */
    uint64_t page_of[MAX_OBJECTS]; /* a frame's page address | 1; 0 a table; HOLE */
    uint16_t holes[MAX_OBJECTS];   /* entries emptied by RemoveRegion, reused first */
    unsigned hole_count;
    uint64_t faults, refused;
    struct mem_error pending[FAULTS_KEPT]; /* refused faults, oldest first */
    unsigned pending_count;
    bool supervised;
};

extern struct account accounts[ACCOUNTS];

/* ---- pages.c ---------------------------------------------------------- */

/* Sets the server's memory up from the untyped cap in POOL_SLOT, once:
 * true when it is (now or before). */
bool pages_ready(void);

/* Free and managed bytes. */
uint64_t pages_free_bytes(void);
uint64_t pages_total_bytes(void);

/* Makes account `a`'s directory from a free page (charged as a CNode):
 * 0, or -BK_ERR_NOT_ENOUGH_MEMORY with nothing changed. */
long pages_open(struct account *a);

/* Returns every page of `a` to the free memory: each object made for it is
 * deleted (a frame or table leaves its address space). Returns the bytes. */
uint64_t pages_close(struct account *a);

/* What backing the page at `vaddr` of `a` would take. */
enum backing { BACK_NEEDED, BACK_MAPPED, BACK_FAILED };
enum backing pages_probe(const struct account *a, uint64_t vaddr, unsigned *tables);

/* Backs `vaddr` with a zeroed frame mapped with `rights`, after making the
 * `tables` page tables missing on the way and the books to record them:
 * the caller checked the quota and the free memory for
 * mem_backing_pages(). 0 or the kernel's error. */
long pages_back(struct account *a, uint64_t vaddr, uint32_t rights, unsigned tables);

/* Deletes every frame of `a` mapped in [base, base + size) and returns
 * its page, refunded; their book entries become holes. Returns how many. */
uint64_t pages_release(struct account *a, uint64_t base, uint64_t size);

/* Book entries of `a` in use (holes not counted). */
unsigned pages_recorded(const struct account *a);

/* True if the server mapped a frame of `a` at page `vaddr`. */
bool pages_backed_by_us(const struct account *a, uint64_t vaddr);
