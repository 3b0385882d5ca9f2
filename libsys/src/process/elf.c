/*
 * Loading an ELF program from memory (the boot image) into a new address
 * space: every loadable segment gets fresh frames, filled through a scratch
 * mapping in the caller's space, then mapped into the target with the
 * segment's rights. The file is checked before anything is created: a
 * malformed program is an error, never a crash of the loader.
 */
#include <bulkhead/sys.h>

#define PAGE ((uint64_t)BK_PAGE_SIZE) /* kernel/abi.toml */

struct ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static bool segment_ok(const struct phdr *ph, size_t size)
{
    return ph->filesz <= ph->memsz && ph->offset <= size && ph->filesz <= size - ph->offset &&
           ph->vaddr >= BK_USER_IMAGE_MIN && ph->vaddr + ph->memsz >= ph->vaddr &&
           ph->vaddr + ph->memsz <= BK_ROOT_BOOTINFO_VADDR &&
           !((ph->flags & 2) && (ph->flags & 1)); /* W^X */
}

static long check(const uint8_t *elf, size_t size, struct ehdr *eh)
{
    if (size < sizeof(*eh))
        return -BK_ERR_INVALID_ARGUMENT;
    memcpy(eh, elf, sizeof(*eh));
    if (memcmp(eh->ident, "\x7f" "ELF", 4) != 0 || eh->ident[4] != 2 || eh->type != 2 ||
        eh->machine != BK_ELF_MACHINE || eh->phentsize != sizeof(struct phdr) ||
        eh->phoff > size || eh->phnum * sizeof(struct phdr) > size - eh->phoff)
        return -BK_ERR_INVALID_ARGUMENT;
    for (unsigned i = 0; i < eh->phnum; i++) {
        struct phdr ph;
        memcpy(&ph, elf + eh->phoff + i * sizeof(ph), sizeof(ph));
        if (ph.type == 1 && !segment_ok(&ph, size))
            return -BK_ERR_INVALID_ARGUMENT;
    }
    return 0;
}

/* One page of a segment: a new frame holding the file bytes that fall in
 * [page, page + PAGE), mapped into `vspace` with the segment's rights. */
static long load_page(uint64_t vspace, const uint8_t *elf, const struct phdr *ph, uint64_t page)
{
    uint64_t frame = bk_alloc_object(BK_OBJ_FRAME, 12);
    if (!frame)
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    uint64_t lo = page < ph->vaddr ? ph->vaddr : page;
    uint64_t file_end = ph->vaddr + ph->filesz;
    uint64_t hi = page + PAGE < file_end ? page + PAGE : file_end;
    long r = 0;
    if (lo < hi)
        r = bk_copy_to_frame(frame, lo - page, elf + ph->offset + (lo - ph->vaddr), hi - lo);
    uint64_t rights = BK_VM_READ | ((ph->flags & 2) ? BK_VM_WRITE : 0) |
                      ((ph->flags & 1) ? BK_VM_EXEC : 0);
    return r ? r : bk_map_frame(vspace, frame, page, rights, 0);
}

long bk_elf_load(uint64_t vspace, const void *image, size_t size, uint64_t *entry)
{
    const uint8_t *elf = image;
    struct ehdr eh;
    long r = check(elf, size, &eh);
    for (unsigned i = 0; r == 0 && i < eh.phnum; i++) {
        struct phdr ph;
        memcpy(&ph, elf + eh.phoff + i * sizeof(ph), sizeof(ph));
        if (ph.type != 1 || ph.memsz == 0)
            continue;
        for (uint64_t page = ph.vaddr & ~(PAGE - 1); r == 0 && page < ph.vaddr + ph.memsz;
             page += PAGE)
            r = load_page(vspace, elf, &ph, page);
    }
    if (r == 0)
        *entry = eh.entry;
    return r;
}
