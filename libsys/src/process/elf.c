/*
 * Loading an ELF program from memory (the boot image) into a new address
 * space. The file is checked first by the one ELF parser, shared with the
 * kernel (kernel/parse/elf.c): a malformed program is an error, never a
 * crash of the loader, and nothing is created for it. Then every loadable
 * segment gets fresh frames, filled through the kernel's copy into a frame
 * and mapped into the target with the segment's rights.
 */
#include <bulkhead/sys.h>

#include "bk_elf.h" /* kernel/parse/bk_elf.h */

#define PAGE ((uint64_t)BK_PAGE_SIZE) /* kernel/abi.toml */

/* A spawned program may use what a root task may, up to the boot-info page. */
static const struct elf_limits limits = {
    .machine = BK_ELF_MACHINE,
    .user_min = BK_USER_IMAGE_MIN,
    .user_max = BK_ROOT_BOOTINFO_VADDR,
    .page_size = PAGE,
};

/* One page of a segment: a new frame holding the file bytes that fall in
 * [page, page + PAGE), mapped into `vspace` with the segment's rights. */
static long load_page(uint64_t vspace, const uint8_t *elf, const struct elf_segment *s,
                      uint64_t page)
{
    uint64_t frame = bk_alloc_object(BK_OBJ_FRAME, BK_PAGE_BITS);
    if (!frame)
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    struct elf_span span = elf_page_span(s, page, PAGE);
    long r = 0;
    if (span.size)
        r = bk_copy_to_frame(frame, span.page_offset, elf + span.file_offset, span.size);
    uint64_t rights = BK_VM_READ | ((s->flags & ELF_PF_W) ? BK_VM_WRITE : 0) |
                      ((s->flags & ELF_PF_X) ? BK_VM_EXEC : 0);
    return r ? r : bk_map_frame(vspace, frame, page, rights, 0);
}

long bk_elf_load(uint64_t vspace, const void *image, size_t size, uint64_t *entry, char *err,
                 size_t errlen)
{
    const uint8_t *elf = image;
    struct elf_info info;
    /* The parser's sentence goes to the caller, who can name the program. */
    if (!elf_check(elf, size, &limits, &info, err, errlen))
        return -BK_ERR_INVALID_ARGUMENT;
    if (errlen)
        err[0] = '\0';
    long r = 0;
    for (unsigned i = 0; r == 0 && i < info.segment_count; i++) {
        const struct elf_segment *s = &info.segments[i];
        for (uint64_t page = s->vaddr & ~(PAGE - 1); r == 0 && page < s->vaddr + s->mem_size;
             page += PAGE)
            r = load_page(vspace, elf, s, page);
    }
    if (r == 0)
        *entry = info.entry;
    return r;
}
