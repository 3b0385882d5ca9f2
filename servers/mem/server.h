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
 *  - the slots SCRATCH_UT, SCRATCH_OBJ and SCRATCH_SRC are empty between
 *    requests;
 *  - an image's frames are book entries of its owner (marked SEALED), mapped
 *    nowhere themselves; every mapping of an image page is a copy of its
 *    cap in the book of the account whose space it is mapped in (marked
 *    SHARED: no page of its own, nothing charged), so an account's
 *    `shared` is its SHARED entries and its private pages are its frames;
 *  - an image lives while its owner's account is open, and the owner
 *    closes only when no other account has a region of the image.
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
#define PRIVATE 1             /* page_of[]: vaddr | PRIVATE, a frame of the account mapped there */
#define SHARED 4              /* page_of[]: vaddr | SHARED, a copy of an image page's cap */
#define SEALED 8              /* page_of[]: a frame of an image the account owns */
#define IMAGES 4
#define IMAGE_PAGES 256       /* 1 MiB */
#define POOL_MAX_BITS 26      /* the most the server uses of the untyped it is given: 64 MiB */

/* Slots of the server's CNode (2^8 slots, from bk_process_spawn). */
#define ENDPOINT BK_PROCESS_CAP_ARG
#define RECV_SLOT 12
#define POOL_SLOT 13          /* the administrator moves an untyped cap here */
#define FREE_CNODE 14         /* the free pages' caps, slots 0 .. free_count - 1 */
#define PROBE_FRAME 15        /* a zero page, never writable: probes translations */
#define SCRATCH_UT 16
#define SCRATCH_OBJ 17
#define SCRATCH_SRC 18        /* a copy of an image page's cap, mapped in our window */
#define WINDOW_TABLE(k) (60 + (k)) /* the page tables under our copy window, k < 3 */
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

/* Two pages of our own address space (BK_SPAWN_GIVE_VSPACE) where a copy
 * on write maps the image page (read) and the new frame (write): above
 * libsys's heap (which ends at 128 GiB), below both tops. */
#define COPY_WINDOW (192ull << 30)

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
    unsigned shared;               /* SHARED entries: image pages mapped, not written */
    uint64_t faults, refused;
    struct mem_error pending[FAULTS_KEPT]; /* refused faults, oldest first */
    unsigned pending_count;
    bool supervised;
};

extern struct account accounts[ACCOUNTS];

/* A program image (Mem: SealImage): pages of its owner's, shared
 * copy-on-write by every account that maps it (Mem: MapImage). */
struct image {
    bool live;
    uint64_t id;
    struct account *owner;
    unsigned pages;
    uint16_t entry[IMAGE_PAGES]; /* page i's book entry in its owner's books */
};

extern struct image images[IMAGES];

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

/* Probes page `vaddr` of the space whose VSpace cap is in slot `space`
 * with the zero page mapped read-only and unmapped at once: 0 if it could
 * be mapped (nothing there, no table missing), 1-3 the level of the first
 * table missing, or minus the kernel's error (DELETE_FIRST: mapped). */
long pages_probe_space(uint64_t space, uint64_t vaddr);

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

/* What the server mapped in `a`'s space at page `vaddr`: PRIVATE (a
 * frame of the account), SHARED (an image page), or 0 (nothing). */
unsigned pages_mapped_by_us(const struct account *a, uint64_t vaddr);

/* ---- images.c --------------------------------------------------------- */

/* Pages of [base, base + size) backed by frames of `a`. */
uint64_t pages_backed_in(const struct account *a, uint64_t base, uint64_t size);

/* Makes image `im` of the pages of [base, base + size), every one backed
 * (the caller checked): each frame is unmapped and marked SEALED. */
void pages_seal(struct account *a, uint64_t base, uint64_t size, struct image *im);

/* Maps page `page` of image `im` at `vaddr` of `a`'s space, read-only (or
 * read-execute as `rights` says), after the `tables` missing tables and
 * the books: a SHARED entry, nothing charged but the tables and books.
 * 0 or the kernel's error. */
long pages_share(struct account *a, uint64_t vaddr, const struct image *im, unsigned page,
                 uint32_t rights, unsigned tables);

/* Backs `vaddr` of `a` with a new frame holding a copy of page `page` of
 * image `im`, mapped with `rights`, after the missing tables and books
 * (as pages_back()). 0 or the kernel's error. */
long pages_copy(struct account *a, uint64_t vaddr, const struct image *im, unsigned page,
                uint32_t rights, unsigned tables);

/* Unmaps the SHARED entry of `a` at `vaddr` (it becomes a hole). */
void pages_unshare(struct account *a, uint64_t vaddr);

/* Sets up the copy window in our own space from the pool (`used` grows by
 * the tables made): false if we have no VSpace cap (then no copies). */
bool pages_window_init(uint64_t *used);

/* Shared helpers of pages.c for images.c. */
long pages_make_books(struct account *a, unsigned more);
long pages_make_tables(struct account *a, uint64_t vaddr, unsigned tables);
long pages_make_frame(void);
long pages_record(struct account *a, uint64_t page);
long pages_record_frame(struct account *a, uint64_t vaddr, uint32_t rights);
void pages_scratch_clear(void);
uint64_t pages_book_index(unsigned n, unsigned which);
void pages_forget(struct account *a, unsigned n);
