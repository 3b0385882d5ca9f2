/*
 * Programs sealed from ELF files (Mem: SealProgram; docs/memory.md,
 * "Spawning tenants").
 *
 * The administrator copies an ELF executable into a region of an account
 * of its own (backed by Populate) and asks for a program. The server maps
 * the region's frames, copies of their caps, one after the other in its
 * ELF window and reads the file in place with the one ELF parser of the
 * tree (kernel/parse/elf.c, as the kernel checks the root task and libsys
 * every program it spawns). Each loadable segment becomes an image: new
 * frames of the account, filled with the segment's file bytes through the
 * copy window (the rest of each page zeros, as Retype made it), sealed as
 * SealImage seals. One image more holds a copy of the server's own
 * start-info page, which the start code of every tenant reads. Spawn maps
 * them: code read-execute and constants read-only, shared by every tenant
 * of the program; data read-write, copied on its first write.
 */
#include <bulkhead/format.h>

#include "bk_elf.h" /* kernel/parse/bk_elf.h */
#include "server.h"

#define ELF_CNODE_BITS 8

static struct program programs[PROGRAMS];
static uint64_t next_program_id = 1, next_image_id = 1;

/* Segments go below the stack: the parser refuses anything else. */
static const struct elf_limits limits = {
    .machine = BK_ELF_MACHINE,
    .user_min = BK_USER_IMAGE_MIN,
    .user_max = STACK_BOTTOM,
    .page_size = MEM_PAGE,
};

const struct program *program_by_id(uint64_t id)
{
    for (unsigned i = 0; i < PROGRAMS; i++) {
        if (programs[i].live && programs[i].id == id)
            return &programs[i];
    }
    return NULL;
}

void programs_forget(const struct account *a)
{
    for (unsigned i = 0; i < PROGRAMS; i++)
        programs[i].live = programs[i].live && programs[i].owner != a;
}

struct image *image_free_slot(void)
{
    for (unsigned k = 0; k < IMAGES; k++) {
        if (!images[k].live)
            return &images[k];
    }
    return NULL;
}

uint64_t image_next_id(void)
{
    return next_image_id++;
}

static unsigned free_images(void)
{
    unsigned n = 0;
    for (unsigned k = 0; k < IMAGES; k++)
        n += !images[k].live;
    return n;
}

/* ---- The file, read in place -------------------------------------------- */

/* Unmaps the file: the copies deleted. */
static void unmap_file(unsigned pages)
{
    for (unsigned i = 0; i < pages; i++)
        sys_cnode_delete(ELF_CNODE, i, ELF_CNODE_BITS);
}

/* The `pages` frames of `a` from `base` on, mapped read-only at ELF_WINDOW
 * (every one backed: the caller checked). */
static bool map_file(const struct account *a, uint64_t base, unsigned pages)
{
    for (unsigned i = 0; i < pages; i++) {
        struct where at = book_slot(a, (unsigned)pages_entry_of(a, base + i * MEM_PAGE), 0);
        /* A copy, since a frame cap maps once; invoked from our CNode. */
        if (sys_cnode_copy(BK_CAP_ROOT_CNODE, SCRATCH_SRC, W, at.root, at.index, at.depth,
                           BK_RIGHTS_ALL) != 0 ||
            sys_frame_map(SCRATCH_SRC, BK_CAP_ROOT_VSPACE, ELF_WINDOW + i * MEM_PAGE, BK_VM_READ,
                          0) != 0 ||
            sys_cnode_move(ELF_CNODE, i, ELF_CNODE_BITS, BK_CAP_ROOT_CNODE, SCRATCH_SRC, W) != 0) {
            sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_SRC, W);
            unmap_file(i);
            return false;
        }
    }
    return true;
}

/* ---- Making the images -------------------------------------------------- */

/* Pages segment `s` spans. */
static uint64_t segment_pages(const struct elf_segment *s)
{
    uint64_t first = s->vaddr & ~(MEM_PAGE - 1);
    return (s->vaddr + s->mem_size - first + MEM_PAGE - 1) / MEM_PAGE;
}

static uint32_t segment_rights(const struct elf_segment *s)
{
    if (s->flags & ELF_PF_X)
        return BK_VM_READ | BK_VM_EXEC;
    return (s->flags & ELF_PF_W) ? BK_VM_READ | BK_VM_WRITE : BK_VM_READ;
}

/* A new frame of `a` holding `size` bytes of `src` at `offset`, recorded
 * as a page of image `im` (page `i`). */
static long image_page(struct account *a, struct image *im, unsigned i, uint64_t offset,
                       const void *src, uint64_t size)
{
    long r = pages_make_frame();
    if (r == 0 && size)
        r = pages_fill(offset, src, size);
    if (r == 0)
        r = pages_record_object(a, MEM_KIND_FRAME, SEALED);
    if (r != 0) {
        pages_scratch_clear();
        return r;
    }
    im->entry[i] = (uint16_t)pages_last_entry();
    return 0;
}

static struct image *new_image(struct account *a, unsigned pages)
{
    struct image *im = image_free_slot();
    im->live = true;
    im->id = image_next_id();
    im->owner = a;
    im->pages = pages;
    return im;
}

/* Segment `s` of the file at ELF_WINDOW as a new image of `a`. */
static long seal_segment(struct account *a, const struct elf_segment *s, struct mem_region *out)
{
    uint64_t first = s->vaddr & ~(MEM_PAGE - 1), pages = segment_pages(s);
    struct image *im = new_image(a, (unsigned)pages);
    long r = 0;
    for (unsigned i = 0; r == 0 && i < pages; i++) {
        struct elf_span span = elf_page_span(s, first + i * MEM_PAGE, MEM_PAGE);
        r = image_page(a, im, i, span.page_offset,
                       (const void *)(uintptr_t)(ELF_WINDOW + span.file_offset), span.size);
    }
    *out = (struct mem_region){ first, pages * MEM_PAGE, segment_rights(s),
                                (uint32_t)(im - images) + 1 };
    return r;
}

/* The start-info image: a copy of ours (its identity, IPC buffer and first
 * free slot are a tenant's too). */
static long seal_info(struct account *a, struct mem_region *out)
{
    uint64_t size = sizeof(struct bk_bootinfo), pages = (size + MEM_PAGE - 1) / MEM_PAGE;
    struct image *im = new_image(a, (unsigned)pages);
    long r = 0;
    for (unsigned i = 0; r == 0 && i < pages; i++) {
        uint64_t off = i * MEM_PAGE, n = size - off < MEM_PAGE ? size - off : MEM_PAGE;
        r = image_page(a, im, i, 0, (const char *)server_info + off, n);
    }
    *out = (struct mem_region){ BK_ROOT_BOOTINFO_VADDR, pages * MEM_PAGE, BK_VM_READ,
                                (uint32_t)(im - images) + 1 };
    return r;
}

/* Pages the program of `info` takes: its segments' and the start-info's. */
static uint64_t program_pages(const struct elf_info *info)
{
    uint64_t pages = (sizeof(struct bk_bootinfo) + MEM_PAGE - 1) / MEM_PAGE;
    for (unsigned i = 0; i < info->segment_count; i++)
        pages += segment_pages(&info->segments[i]);
    return pages;
}

/* ---- Mem: SealProgram --------------------------------------------------- */

/* The checks of the parsed file against what a program may hold here. */
static int check_program(struct mem_call *call, const struct account *a,
                         const struct elf_info *info)
{
    char why[96];
    if (info->segment_count > SEGMENTS) {
        bk_snprintf(why, sizeof(why), "%u loadable segments (a tenant's space holds %u)",
                    info->segment_count, SEGMENTS);
        return mem_fail_bad_elf(call, a->name, why);
    }
    for (unsigned i = 0; i < info->segment_count; i++) {
        if (segment_pages(&info->segments[i]) > IMAGE_PAGES)
            return mem_fail_too_many_images(call, a->name, IMAGES,
                                            segment_pages(&info->segments[i]), IMAGE_PAGES);
    }
    if (free_images() < info->segment_count + 1)
        return mem_fail_too_many_images(call, a->name, IMAGES, program_pages(info), IMAGE_PAGES);
    return 0;
}

/* The file at ELF_WINDOW (`size` bytes) parsed and checked. */
static int parse(struct mem_call *call, const struct account *a, uint64_t size,
                 struct elf_info *info)
{
    char why[96];
    if (!elf_check((const uint8_t *)(uintptr_t)ELF_WINDOW, size, &limits, info, why,
                   sizeof(why))) {
        /* Its sentences start "ELF: ", which our own words already say. */
        bool prefixed = strlen(why) > 5 && memcmp(why, "ELF: ", 5) == 0;
        return mem_fail_bad_elf(call, a->name, prefixed ? why + 5 : why);
    }
    return check_program(call, a, info);
}

/* The file's checks before it is read: its size and its pages. */
static int check_file(struct mem_call *call, const struct account *a,
                      const struct mem_region *r, uint64_t size)
{
    char why[96];
    if (size == 0 || size > r->size || size > ELF_MAX_BYTES) {
        bk_snprintf(why, sizeof(why), "its %llu bytes do not fit its region (%llu bytes) or "
                    "the server's %llu", (unsigned long long)size, (unsigned long long)r->size,
                    (unsigned long long)ELF_MAX_BYTES);
        return mem_fail_bad_elf(call, a->name, why);
    }
    uint64_t pages = (size + MEM_PAGE - 1) / MEM_PAGE;
    uint64_t backed = pages_backed_in(a, r->base, pages * MEM_PAGE);
    if (backed != pages)
        return mem_fail_not_backed(call, a->name, r->base, pages, backed);
    return 0;
}

static struct program *free_program(void)
{
    for (unsigned i = 0; i < PROGRAMS; i++) {
        if (!programs[i].live)
            return &programs[i];
    }
    return NULL;
}

/* Every image of `info`'s program, made for `a` into `p`. A failure half
 * way (the kernel refused what the checks let through) leaves no image:
 * the frames made stay charged to `a` until it closes. */
static long seal_all(struct account *a, const struct elf_info *info, struct program *p)
{
    bool was_live[IMAGES];
    for (unsigned k = 0; k < IMAGES; k++)
        was_live[k] = images[k].live;
    long r = pages_make_books(a, (unsigned)program_pages(info));
    p->segments = 0;
    for (unsigned i = 0; r == 0 && i < info->segment_count; i++)
        r = seal_segment(a, &info->segments[i], &p->segment[p->segments++]);
    if (r == 0)
        r = seal_info(a, &p->info);
#if defined(__riscv)
    __asm__ volatile("fence.i" ::: "memory"); /* the code was written as data */
#endif
    for (unsigned k = 0; r != 0 && k < IMAGES; k++)
        images[k].live = was_live[k];
    return r;
}

int mem_handle_seal_program(struct mem_call *call, uint64_t tenant, uint64_t base, uint64_t size,
                            uint64_t *program, uint64_t *pages)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    struct account *a = account_by_id(tenant);
    if (!a)
        return mem_fail_unknown_tenant(call, tenant);
    const struct mem_region *r = NULL;
    for (unsigned i = 0; i < a->region_count && !r; i++)
        r = a->regions[i].base == base && !a->regions[i].image ? &a->regions[i] : NULL;
    if (!r)
        return mem_fail_unknown_region(call, a->name, base);
    int err = check_file(call, a, r, size);
    if (err)
        return err;
    unsigned file_pages = (unsigned)((size + MEM_PAGE - 1) / MEM_PAGE);
    if (!map_file(a, base, file_pages))
        return mem_fail_no_memory(call, a->name, 0, pages_free_bytes());
    struct elf_info info;
    struct program *p = free_program();
    err = parse(call, a, size, &info);
    if (!err && !p)
        err = mem_fail_too_many_images(call, a->name, IMAGES, program_pages(&info), IMAGE_PAGES);
    uint64_t cost = err ? 0 : program_pages(&info);
    if (!err)
        err = account_can_pay(call, a, (unsigned)(cost + mem_books_needed(pages_recorded(a),
                                                                          a->books,
                                                                          (unsigned)cost)));
    if (!err && seal_all(a, &info, p) != 0)
        err = mem_fail_no_memory(call, a->name, cost * MEM_PAGE, pages_free_bytes());
    unmap_file(file_pages);
    if (err)
        return err;
    p->live = true;
    p->id = next_program_id++;
    p->owner = a;
    p->entry = info.entry;
    *program = p->id;
    *pages = cost;
    return 0;
}
