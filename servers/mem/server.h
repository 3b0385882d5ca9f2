/*
 * The memory server's state (docs/memory.md, "The memory server"): its
 * free memory in units of two pages (units.c), its own bookkeeping in a
 * reserved area (units.c, heap_*), the accounts, each with its charges,
 * regions, the record of the caps made for it and the faults it refused
 * (pages.c), program images (images.c, programs.c) and tenants it spawned
 * (spawn.c). main.c has the loop, the handlers and the pager.
 *
 * Invariants:
 *  - every unit (8 KiB of untyped memory, its cap in UNIT_CNODE slot k) is
 *    free (on the free stack), whole and used by one object (a VSpace), or
 *    split into two one-page untyped caps, each free (in UNIT_CNODE slot
 *    HALF(k), the unit on the half stack) or an account's (in one of its
 *    books beside the one object made from it, or in its directory beside
 *    a book, or in its account slots as its directory's page); so free +
 *    the sum of every account's charges = total, to the byte;
 *  - the server's own bookkeeping (accounts, their book entries, the unit
 *    tables) lives in the reserved area, set aside once at setup and never
 *    part of `free`: opening and closing accounts never moves `free` by
 *    anything but what the accounts were charged;
 *  - an account's `charges` are what its recorded objects take, by kind;
 *  - a hole (an entry below `objects` whose `what` is HOLE) has both its
 *    book slots empty and is counted in `hole_count`;
 *  - a SWAPPED entry (evict.c) has both its book slots empty, its `unit`
 *    is a swap slot marked used (swap.c), it is still charged as a frame
 *    and counted in `swapped`; a PRIVATE frame marked ENTRY_COLD is
 *    unmapped from its tenant's space and counted in `cold`;
 *  - the scratch slots are empty between requests; SPACE_CUR holds the
 *    address space of `space_account` (the one cached), its own account
 *    slot then empty;
 *  - an image's frames are book entries of its owner (SEALED), mapped
 *    nowhere themselves; every mapping of an image page is a copy of its
 *    cap in the book of the account whose space it is mapped in (SHARED:
 *    no page of its own, nothing charged);
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
/* Server n's cap (it takes the session memory tenants grant it) is badged
 * MEM_SERVER_BADGE | n (grants.c). */
#define MEM_SERVER_BADGE (1ull << 61)

#define REGIONS 8
#define FAULTS_KEPT 4
#define NAME_CHARS 16
#define BOOK_BITS 6           /* a book or directory: a CNode of 64 slots, one page */
#define BOOK_DEPTH (2 * BOOK_BITS) /* directory slot, then book slot */
#define HOLE 2                /* entry.what of an entry emptied by RemoveRegion */
#define PRIVATE 1             /* entry.what: vaddr | PRIVATE, a frame of the account mapped there */
#define SHARED 4              /* entry.what: vaddr | SHARED, a copy of an image page's cap */
#define SEALED 8              /* entry.what: a frame of an image the account owns */
#define KERNEL_OBJECT 16      /* entry.what: a VSpace, CNode, TCB or SchedContext made by Spawn */
#define SWAPPED 32            /* entry.what: vaddr | SWAPPED, a frame of the account in swap slot `unit` */
#define MADE 64               /* entry.what: an object Mem: Make made for the tenant (make.c) */
#define ENTRY_COLD (1u << 16) /* entry.kind: a PRIVATE frame the clock unmapped (evict.c) */
#define ENTRY_BUSY (1u << 17) /* entry.kind: its page is on its way to or from swap (evict.c) */
#define IMAGES 16
#define IMAGE_PAGES 256       /* 1 MiB */
#define PROGRAMS 8
#define POOLS 9               /* untyped caps the administrator may give: POOL_SLOT and 8 more */
#define ASID_POOLS 16         /* ASID pools the administrator may give */
#define POOL_MAX_BITS 30      /* the most the server uses of one untyped: 1 GiB */
#define ACCOUNTS_MAX_BITS 14  /* at most 16,384 accounts open at once */
#define NO_UNIT 0xffffffffu   /* entry.unit of a SHARED entry: no memory of its own */
#define WHOLE_UNIT (1u << 31) /* entry.unit: the object took its unit whole (a VSpace) */

/* Slots of the server's CNode (2^8 slots, from bk_process_spawn). */
#define ENDPOINT BK_PROCESS_CAP_ARG
#define SCHED_CONTROL BK_CAP_SCHED_CONTROL /* BK_SPAWN_GIVE_SCHED_CONTROL puts a copy here */
#define RECV_SLOT 12
#define POOL_SLOT 13          /* the administrator moves an untyped cap here ... */
#define POOL_EXTRA(k) (32 + (k)) /* ... and up to 8 more here, k < 8 */
#define ASID_POOL_SLOT(k) (40 + (k)) /* ASID pools, k < ASID_POOLS */
#define UNIT_CNODE 14         /* unit k's cap in slot k */
#define PROBE_FRAME 15        /* a zero page, never writable: probes translations */
#define SCRATCH_UT 16         /* a page taken from a unit, while an object is made of it */
#define SCRATCH_OBJ2 17       /* the CNode of a tenant being spawned */
#define SCRATCH_OBJ 18
#define SCRATCH_SRC 19        /* a copy of an image page's cap, mapped in our window; a TCB */
#define PAIR_SECOND SCRATCH_SRC /* the second of two objects one Retype made into SCRATCH_OBJ */
#define SPACE_CUR 20          /* the cached account's address space */
#define SCRATCH_CAP 21        /* a minted endpoint, a supervisor's notification for a moment */
#define ACCOUNTS_CNODE 22     /* 4 slots per account: ACCOUNT_SPACE .. ACCOUNT_SUPERVISOR */
#define SCRATCH_UNIT 24       /* a unit's cap while it is retyped */
#define SWAP_IO 26            /* the IO server's endpoint cap of our swap session (swap.c) */
#define SWAP_NOTIFICATION 27  /* that session's notification */
#define SWAP_DOORBELL 28      /* that session's doorbell (IO: Doorbell): how we kick */
#define MAKE_OUT 29           /* a copy of what Make or Thread answers with, until the next */
#define ASID_CONTROL 30       /* ASIDControl, if the spawner copied it here: accounts' own pools */
#define SWAP_BUFFERS 8u       /* the session's buffers: transfers in flight at most (swap.c) */
#define HALVES_CNODE 25       /* unit k's free halves in slots 2k and 2k + 1 */
#define ELF_CNODE 23          /* copies of an ELF file's frames mapped in ELF_WINDOW */
#define WINDOW_TABLE(k) (64 + (k)) /* page tables under our windows, k < WINDOW_TABLES */
#define WINDOW_TABLES 64
#define META_CNODE 128        /* the frames of the reserved area; grants.c uses 160-191 */
#define REPLIES 32            /* Reply objects, made at setup (units.c) */
#define REPLY_SLOT(k) (192 + (k)) /* k < REPLIES: callers held while a transfer waits */
#define DEFER_CAP(k) (224 + (k))  /* k < REPLIES: the cap a deferred request brought */

/* An account's slots in ACCOUNTS_CNODE. */
#define ACCOUNT_SPACE 0       /* its VSpace cap (a copy), unless cached in SPACE_CUR */
#define ACCOUNT_DIR 1         /* its directory: books 0-31, their pages 32-63 */
#define ACCOUNT_DIR_PAGE 2    /* the page its directory was made from */
#define ACCOUNT_SUPERVISOR 3  /* a notification to signal, or empty */

/* The top of user space: x86-64's lower half (47 bits), RISC-V Sv39's
 * (38 bits). */
#if defined(__x86_64__)
#define USER_TOP (1ull << 47)
#else
#define USER_TOP (1ull << 38)
#endif

/* Windows in our own address space (BK_SPAWN_GIVE_VSPACE): above libsys's
 * heap (which ends at 128 GiB), below both tops. COPY_WINDOW: two pages
 * where a copy on write maps the image page (read) and the new frame
 * (write); ELF_WINDOW: an ELF file being sealed, read in place; META_WINDOW:
 * the reserved area of our bookkeeping. */
#define COPY_WINDOW (192ull << 30)
#define ELF_WINDOW (COPY_WINDOW + (2ull << 20))
#define ELF_MAX_BYTES (IMAGE_PAGES * MEM_PAGE)
#define META_WINDOW (COPY_WINDOW + (4ull << 20))
/* SWAP_WINDOW: our swap session's ring and buffers, mapped by the IO server
 * (from its own share) below the copy window. */
#define SWAP_WINDOW (COPY_WINDOW - (2ull << 20))

/* One object the server made for an account, or a hole. */
struct entry {
    uint64_t what;  /* vaddr | PRIVATE or SHARED, SEALED, KERNEL_OBJECT, 0 a table, HOLE */
    uint32_t unit;  /* the unit its page came from (| WHOLE_UNIT), or NO_UNIT */
    uint32_t kind;  /* enum mem_kind it is charged as (not for SHARED) */
};

struct account {
    uint64_t id;
    unsigned slot;             /* its place in the table: id mod the table's size */
    char name[NAME_CHARS + 1];
    struct mem_charges charges;
    struct mem_region regions[REGIONS];
    unsigned region_count;
    unsigned books, objects;   /* books made; entries used in them, holes included */
    unsigned hole_count, hole_hint, shared; /* hole_hint: the hole last made */
    struct entry *book[MEM_BOOKS]; /* entries 32 b .. 32 b + 31, from the reserved area */
    uint32_t book_unit[MEM_BOOKS];
    uint32_t dir_unit;
    int tcb_entry;             /* the entry of its thread, if Spawn made one, else -1 */
    int sc_entry;              /* the entry of that thread's SchedContext, else -1 */
    int asid_pool_entry;       /* the entry of its own ASID pool (Make), else -1 */
    uint64_t faults, refused;
    struct mem_error pending[FAULTS_KEPT]; /* refused faults, oldest first */
    unsigned pending_count;
    bool supervised;
    uint64_t minimum;          /* bytes of resident frames never evicted (SetMinimum) */
    uint64_t evicted, paged_in; /* pages written to swap, read back */
    uint64_t out_ticks, in_ticks; /* bk_counter() spent on them */
    unsigned swapped, cold;    /* entries SWAPPED now; PRIVATE frames marked ENTRY_COLD now */
};

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

/* ---- units.c: free memory and the reserved area ------------------------ */

/* Sets the server's memory up from the untyped caps in POOL_SLOT and
 * POOL_EXTRA(), once: true when it is (now or before). */
bool pages_ready(void);

/* Free and managed bytes (the reserved area excluded). */
uint64_t pages_free_bytes(void);
uint64_t pages_total_bytes(void);

/* The reserved area: bytes set aside at setup (CNodes, tables, the area)
 * and bytes of the area in use. */
uint64_t meta_reserved_bytes(void);
uint64_t meta_used_bytes(void);

/* A block of 2^bits bytes (9 to 12) of the reserved area, zeroed, or NULL
 * when the area is full; freed blocks are reused. */
void *meta_alloc(unsigned bits);
void meta_free(void *p, unsigned bits);

/* The accounts table: 2^accounts_bits places, set up with the memory. */
extern struct account **account_table;
extern struct account **account_names, **account_name_next; /* main.c: by name */
extern unsigned accounts_bits;

/* A free page into SCRATCH_UT: its unit, or -1 (none free). */
long unit_take_page(void);

/* A free whole unit (its cap stays in UNIT_CNODE slot k): k, or -1. */
long unit_take_whole(void);

/* Gives back the page of unit `unit` whose cap is at (root, index,
 * depth): whatever was made from it is deleted first. */
void unit_give_page(uint32_t unit, uint64_t root, uint64_t index, uint64_t depth);

/* Gives back a whole unit: whatever was made from it is deleted. */
void unit_give_whole(uint32_t unit);

/* Retypes whole unit `unit` into `n` objects in our slots from `slot`. */
long unit_retype(uint32_t unit, uint64_t type, unsigned size_bits, uint64_t slot, unsigned n);

/* Retypes whole unit `unit` (more than once if it has room) into one
 * object at slot `offset` of the CNode at (root, index, depth), or of our
 * CNode when depth is 0. */
long unit_retype_to(uint32_t unit, uint64_t type, unsigned size_bits, uint64_t root,
                    uint64_t index, uint64_t depth, uint64_t offset);

/* ---- pages.c: accounts' objects ----------------------------------------- */

/* Where a cap of an account lies: (root, index, depth) for the CNode
 * methods. */
struct where {
    uint64_t root, index, depth;
};
struct where account_slot(const struct account *a, unsigned which);
struct where book_slot(const struct account *a, unsigned n, unsigned which);

/* Entry n of `a`. */
struct entry *entry_at(const struct account *a, unsigned n);

/* The slot in our CNode holding `a`'s address space (cached in SPACE_CUR). */
uint64_t space_of(struct account *a);

/* A copy of the VSpace cap in our `slot` becomes `a`'s cached space (a
 * new account's: its own slot stays empty until it is uncached). */
long space_cache_copy(struct account *a, uint64_t slot);

/* SPACE_CUR back in its account's slot (before the slot is written). */
void space_uncache(void);

/* Makes account `a`'s directory from a free page (charged as a CNode):
 * 0, or -BK_ERR_NOT_ENOUGH_MEMORY with nothing changed. */
long pages_open(struct account *a);

/* Returns every page of `a` to the free memory: each object made for it is
 * deleted (a frame or table leaves its address space, a thread stops).
 * Returns the bytes. */
uint64_t pages_close(struct account *a);

/* What backing the page at `vaddr` of `a` would take. */
enum backing { BACK_NEEDED, BACK_MAPPED, BACK_FAILED };
enum backing pages_probe(struct account *a, uint64_t vaddr, unsigned *tables);

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

/* The first entry of `a` whose `what` is `what` or `or_what`, or -1. */
int pages_find(const struct account *a, uint64_t what, uint64_t or_what);

/* Book entries of `a` in use (holes not counted). */
unsigned pages_recorded(const struct account *a);

/* What the server mapped in `a`'s space at page `vaddr`: PRIVATE (a
 * frame of the account), SHARED (an image page), or 0 (nothing). */
unsigned pages_mapped_by_us(const struct account *a, uint64_t vaddr);

/* Shared helpers of pages.c for images.c, programs.c, spawn.c and make.c. */
/* A free page into SCRATCH_UT (pages_scratch_clear() gives it back): 0 or
 * -BK_ERR_NOT_ENOUGH_MEMORY. */
long pages_take_page(void);
long pages_make_books(struct account *a, unsigned more);
long pages_make_tables(struct account *a, uint64_t vaddr, unsigned tables);
long pages_make_frame(void);
long pages_make_object(uint64_t type, unsigned size_bits);
long pages_record(struct account *a, uint64_t what);
unsigned pages_last_entry(void); /* the entry the last record filled */
long pages_record_object(struct account *a, enum mem_kind kind, uint64_t what);
long pages_record_whole(struct account *a, uint32_t unit, enum mem_kind kind);
/* An object of `type` made from a fresh page into our `slot`. */
long pages_make_object_in(uint64_t type, unsigned size_bits, uint64_t slot);
/* The page in SCRATCH_UT recorded as the account's next entry *n, charged
 * as `kind`; its object stays where it is (still deleted with the page)
 * until pages_place_object() moves it from our `slot` into the entry. */
long pages_record_page(struct account *a, enum mem_kind kind, unsigned *n);
long pages_place_object(const struct account *a, unsigned n, uint64_t slot);
/* As pages_make_tables(), the first two from one whole unit in one Retype
 * when one is free (a fresh space's first tables: the caller made the
 * books). */
long pages_make_tables_paired(struct account *a, uint64_t vaddr, unsigned tables);
long pages_record_frame(struct account *a, uint64_t vaddr, uint32_t rights);
/* The frame in SCRATCH_OBJ (mapped by the caller) into entry n of `a`
 * (a SWAPPED entry read back), recorded as `what`: charged already. */
long pages_record_frame_at(struct account *a, unsigned n, uint64_t what);
void pages_scratch_clear(void);
uint64_t pages_book_index(unsigned n, unsigned which);
void pages_forget(struct account *a, unsigned n);

/* ---- images.c ----------------------------------------------------------- */

/* Pages of [base, base + size) backed by frames of `a`. */
uint64_t pages_backed_in(const struct account *a, uint64_t base, uint64_t size);

/* The book entry of `a`'s frame mapped at `vaddr`, or -1. */
int pages_entry_of(const struct account *a, uint64_t vaddr);

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

/* Copies `size` bytes from `src` (our memory) to offset `offset` of the
 * frame in SCRATCH_OBJ, through the copy window. 0 or the kernel's error. */
long pages_fill(uint64_t offset, const void *src, uint64_t size);

/* Sets up the windows in our own space, tables made from the untyped in
 * slot `pool` (`used` grows by what they take): false if we have no
 * VSpace cap (then no copies, no programs, no reserved area). */
bool pages_window_init(uint64_t pool, uint64_t *used, uint64_t meta_pages);

/* ---- programs.c ------------------------------------------------------- */

/* A tenant's space: its program's segments, then its stack, its IPC buffer
 * and its start-info page (BK_ROOT_* addresses, as bk_process_spawn's). */
#define STACK_BYTES (64 * 1024ull)
#define STACK_BOTTOM (BK_ROOT_STACK_TOP - STACK_BYTES)
#define SEGMENTS (REGIONS - 3)

/* A program sealed from an ELF file (Mem: SealProgram): an image per
 * loadable segment and one of a start-info page, all its owner's. */
struct program {
    bool live;
    uint64_t id;
    struct account *owner;
    uint64_t entry;
    unsigned segments;
    struct mem_region segment[SEGMENTS]; /* where each maps, with its image */
    struct mem_region info;              /* the start-info page's */
};

const struct program *program_by_id(uint64_t id);
void programs_forget(const struct account *a);

/* An image slot not in use, or NULL. */
struct image *image_free_slot(void);
uint64_t image_next_id(void);

/* The server's own start-info page (main's argument), which every
 * program sealed gets a copy of, for its tenants' start code. */
extern const struct bk_bootinfo *server_info;

/* ---- accounts.c ---------------------------------------------------------- */

/* Accounts open now. */
uint64_t accounts_open(void);

struct account *account_by_id(uint64_t id);

/* The checks of a new account's name and quota (CreateAccount, Spawn). */
int account_checks(struct mem_call *call, const char *name, uint64_t quota);

/* A new account named `name` with `quota`, its directory made and
 * charged. 0, or the error (nothing changed). */
int account_new(struct mem_call *call, const char *name, uint64_t quota, struct account **out);

/* Closes `a`: its memory back, the account forgotten. Returns the bytes. */
uint64_t account_close(struct account *a);

/* The account a request names: for a tenant its own (`tenant` 0 or its
 * id), for the administrator any. 0, or the error. */
int account_named(struct mem_call *call, uint64_t tenant, struct account **out);

/* ---- grants.c ----------------------------------------------------------- */

/* Before `a` closes: refused (grant_in_use) while a server holds one of
 * its grants; else its grants no server took are ended (*returned: their
 * bytes). 0 or the error. */
int grants_close(struct mem_call *call, const struct account *a, uint64_t *returned);

/* Checks the quota and the free memory for `pages` pages of `a`. */
int account_can_pay(struct mem_call *call, const struct account *a, unsigned pages);

/* Checks region `nr` of `a` (range, rights, overlap, room) and adds it. */
int account_add_region(struct mem_call *call, struct account *a, struct mem_region nr);

/* Backs page `vaddr` of region `r` of `a` (as a fault would). */
int account_back(struct mem_call *call, struct account *a, const struct mem_region *r,
                 uint64_t vaddr);

/* ---- evict.c: the clock and the pager's swap side ------------------------ */

/* Bytes of `a`'s frames in memory (charged frames less those in swap). */
uint64_t evict_resident(const struct account *a);

/* Evicts pages (clock, evict.c) until `bytes` are free or nothing more can
 * go: true if they are free. */
bool evict_make_room(uint64_t bytes);

/* A fault or Populate on `vaddr` of `a` that the clock unmapped or swapped:
 * maps it again (read back from swap first). 1 if it was such a page and
 * is mapped now, 0 if it is not one of them, or minus the kernel's error. */
long evict_restore(struct account *a, uint64_t vaddr, uint32_t rights);

/* Entry n of `a` (SWAPPED) forgotten: its swap slot free. */
void evict_forget_swapped(struct account *a, unsigned n);

/* ---- main.c: serving while swap transfers wait ------------------------- */

/* The Reply objects are made (units.c): all free. */
void replies_made(void);

/* Serves the endpoint until *done (a transfer's completion, swap.c):
 * requests and faults are answered meanwhile, or deferred until no
 * transfer is in flight when they touch a page in flight (serve_defer),
 * could free an account's pages (DestroyAccount, RemoveRegion, SealImage,
 * SealProgram) or bring a capability. The caller of the request being
 * served is held in a Reply object while it waits. */
void serve_until(const volatile bool *done);

/* The request being served must wait until no transfer is in flight (its
 * page is in flight, or no swap buffer is free): it is answered later, as
 * if it came then, whatever error it returns now. */
void serve_defer(void);

/* ---- swap.c: the swap area, an IO session of ours ----------------------- */

bool swap_ready(void);
uint64_t swap_slots(void);
uint64_t swap_slots_free(void);

/* A free slot, or -1. */
long swap_slot_take(void);
void swap_slot_free(uint32_t slot);

/* A transfer's buffer: swap_begin() takes a free one (its number, or -1
 * when all are in flight), swap_end() gives it back; swap_buffer() is
 * where its page waits for the write or lands from the read. */
long swap_begin(void);
void swap_end(unsigned b);
uint8_t *swap_buffer(unsigned b);

/* Writes buffer b to slot `slot` or reads the slot into it, and waits for
 * the completion (serving others meanwhile, serve_until): 0, or the ring's
 * status (nonzero). */
long swap_write(unsigned b, uint32_t slot);
long swap_read(unsigned b, uint32_t slot);

/* Completions come in: their transfers done (on the session's signal). */
void swap_reap(void);

/* Transfers kicked or held and not completed. */
unsigned swap_in_flight(void);

/* SwapHold: hold (write requests, kick none) or kick all held. Returns
 * swap_in_flight(). */
long swap_hold(bool hold);

/* The counter (bk_counter()) spent so far waiting for completions: the
 * device's time and whatever ran meanwhile, left out of the costs that
 * SwapStats reports. */
uint64_t swap_waited(void);

/* ---- spawn.c ------------------------------------------------------------ */

#define SPAWN_DEBUG 1u
#define SPAWN_START 2u
#define SPAWN_NO_SCHED 4u /* no SchedContext of ours: a scheduler server binds one */

struct spawn_args {
    uint32_t priority, flags;
    uint64_t budget, period, give_slot;
};

/* Makes tenant `a`'s kernel objects and space for program `p`: 0 or the
 * error (what was made stays recorded in `a`, for its close). */
int spawn_build(struct mem_call *call, struct account *a, const struct program *p,
                const struct spawn_args *args);

/* The thread of `a` resumed or suspended: 0, or the kernel's error. */
long spawn_run(struct account *a, bool run);

/* A copy of object `n` of `a` in our SCRATCH_SRC, to invoke it; unborrow
 * deletes the copy. */
long object_borrow(const struct account *a, unsigned n);
void object_unborrow(void);

/* The page or unit of entry n of `a` back to the free memory (its object
 * deleted with every copy of its cap), its charge refunded, the entry a
 * hole. Returns the bytes refunded. */
uint64_t pages_free_entry(struct account *a, unsigned n);
