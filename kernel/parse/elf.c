/*
 * ELF64 loader. Input comes from the boot image, so nothing in the file is
 * trusted: all offsets and sizes are checked with overflow-safe arithmetic
 * before use, and the structures are copied out with memcpy so an unaligned
 * file cannot cause unaligned accesses.
 */
#include "elf.h"

#include "arch.h"
#include "kernel.h"
#include "lib/format.h"

#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define PT_LOAD 1
#define PF_X 1
#define PF_W 2
#define PF_R 4

struct elf64_ehdr {
    uint8_t ident[EI_NIDENT];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define FAIL(...)                           \
    do {                                    \
        snformat(err, errlen, __VA_ARGS__); \
        return false;                       \
    } while (0)

static bool check_header(const struct elf64_ehdr *eh, uint64_t size,
                         const struct elf_limits *lim, char *err, size_t errlen)
{
    static const uint8_t magic[4] = { 0x7f, 'E', 'L', 'F' };
    if (memcmp(eh->ident, magic, 4) != 0)
        FAIL("ELF: bad magic (not an ELF file)");
    if (eh->ident[4] != ELFCLASS64 || eh->ident[5] != ELFDATA2LSB || eh->ident[6] != EV_CURRENT)
        FAIL("ELF: not a 64-bit little-endian version-1 file");
    if (eh->type != ET_EXEC)
        FAIL("ELF: type %u, only static executables (ET_EXEC) can be loaded", eh->type);
    if (eh->machine != lim->machine)
        FAIL("ELF: machine %u, this kernel runs machine %u", eh->machine, lim->machine);
    if (eh->phentsize != sizeof(struct elf64_phdr))
        FAIL("ELF: program header size %u, expected %zu", eh->phentsize,
             sizeof(struct elf64_phdr));
    if (eh->phnum == 0)
        FAIL("ELF: no program headers");
    if (eh->phoff > size || (uint64_t)eh->phnum * sizeof(struct elf64_phdr) > size - eh->phoff)
        FAIL("ELF: program headers (offset 0x%llx, %u entries) run past the file end (%llu)",
             (unsigned long long)eh->phoff, eh->phnum, (unsigned long long)size);
    return true;
}

static bool check_segment(const struct elf64_phdr *ph, unsigned i, uint64_t size,
                          const struct elf_limits *lim, char *err, size_t errlen)
{
    if (ph->filesz > ph->memsz)
        FAIL("ELF: segment %u file size %llu exceeds memory size %llu", i,
             (unsigned long long)ph->filesz, (unsigned long long)ph->memsz);
    if (ph->offset > size || ph->filesz > size - ph->offset)
        FAIL("ELF: segment %u (offset 0x%llx, %llu bytes) runs past the file end (%llu)", i,
             (unsigned long long)ph->offset, (unsigned long long)ph->filesz,
             (unsigned long long)size);
    if (ph->vaddr < lim->user_min || ph->vaddr > lim->user_max ||
        ph->memsz > lim->user_max - ph->vaddr)
        FAIL("ELF: segment %u at 0x%llx (+%llu bytes) is outside user memory "
             "0x%llx..0x%llx", i, (unsigned long long)ph->vaddr,
             (unsigned long long)ph->memsz, (unsigned long long)lim->user_min,
             (unsigned long long)lim->user_max);
    if ((ph->vaddr % lim->page_size) != (ph->offset % lim->page_size))
        FAIL("ELF: segment %u address and file offset disagree modulo the page size", i);
    if ((ph->flags & PF_W) && (ph->flags & PF_X))
        FAIL("ELF: segment %u is both writable and executable (W^X)", i);
    return true;
}

static unsigned segment_rights(uint32_t flags)
{
    return VM_READ | ((flags & PF_W) ? VM_WRITE : 0) | ((flags & PF_X) ? VM_EXEC : 0);
}

static bool check_disjoint_pages(const struct elf_info *info, uint64_t page, char *err,
                                 size_t errlen)
{
    for (unsigned i = 0; i < info->segment_count; i++) {
        const struct elf_segment *a = &info->segments[i];
        vaddr_t a0 = ALIGN_DOWN(a->vaddr, page), a1 = ALIGN_UP(a->vaddr + a->mem_size, page);
        for (unsigned j = i + 1; j < info->segment_count; j++) {
            const struct elf_segment *b = &info->segments[j];
            vaddr_t b0 = ALIGN_DOWN(b->vaddr, page), b1 = ALIGN_UP(b->vaddr + b->mem_size, page);
            if (a0 < b1 && b0 < a1)
                FAIL("ELF: loadable segments %u and %u share a page", i, j);
        }
    }
    return true;
}

static bool entry_is_executable(const struct elf_info *info, vaddr_t entry)
{
    for (unsigned i = 0; i < info->segment_count; i++) {
        const struct elf_segment *s = &info->segments[i];
        if ((s->rights & VM_EXEC) && entry >= s->vaddr && entry - s->vaddr < s->mem_size)
            return true;
    }
    return false;
}

static bool collect_segments(const uint8_t *data, uint64_t size, const struct elf64_ehdr *eh,
                             const struct elf_limits *lim, struct elf_info *out, char *err,
                             size_t errlen)
{
    for (unsigned i = 0; i < eh->phnum; i++) {
        struct elf64_phdr ph;
        memcpy(&ph, data + eh->phoff + i * sizeof(ph), sizeof(ph));
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        if (out->segment_count == ELF_MAX_SEGMENTS)
            FAIL("ELF: more than %d loadable segments", ELF_MAX_SEGMENTS);
        if (!check_segment(&ph, i, size, lim, err, errlen))
            return false;
        out->segments[out->segment_count++] = (struct elf_segment){
            ph.vaddr, ph.offset, ph.filesz, ph.memsz, segment_rights(ph.flags) };
    }
    if (out->segment_count == 0)
        FAIL("ELF: no loadable segments");
    return true;
}

bool elf_check(const uint8_t *data, uint64_t size, const struct elf_limits *lim,
               struct elf_info *out, char *err, size_t errlen)
{
    struct elf64_ehdr eh;
    if (!data || size < sizeof(eh))
        FAIL("ELF: truncated: %llu bytes, the header alone is %zu", (unsigned long long)size,
             sizeof(eh));
    memcpy(&eh, data, sizeof(eh));
    memset(out, 0, sizeof(*out));
    if (!check_header(&eh, size, lim, err, errlen) ||
        !collect_segments(data, size, &eh, lim, out, err, errlen) ||
        !check_disjoint_pages(out, lim->page_size, err, errlen))
        return false;
    if (!entry_is_executable(out, eh.entry))
        FAIL("ELF: entry point 0x%llx is not inside an executable segment",
             (unsigned long long)eh.entry);
    out->entry = eh.entry;
    return true;
}

static bool load_segment(const uint8_t *data, const struct elf_segment *s, uint64_t page,
                         elf_page_fn get_page, void *ctx)
{
    vaddr_t end = s->vaddr + s->mem_size;
    for (vaddr_t va = ALIGN_DOWN(s->vaddr, page); va < end; va += page) {
        uint8_t *dst = get_page(ctx, va, s->rights);
        if (!dst)
            return false;
        /* The part of this page that holds file bytes: [lo, hi) in user addresses. */
        vaddr_t lo = va < s->vaddr ? s->vaddr : va;
        vaddr_t file_end = s->vaddr + s->file_size;
        vaddr_t hi = va + page < file_end ? va + page : file_end;
        if (lo < hi)
            memcpy(dst + (lo - va), data + s->file_offset + (lo - s->vaddr), hi - lo);
    }
    return true;
}

bool elf_load(const uint8_t *data, const struct elf_info *info, uint64_t page_size,
              elf_page_fn get_page, void *ctx)
{
    for (unsigned i = 0; i < info->segment_count; i++) {
        if (!load_segment(data, &info->segments[i], page_size, get_page, ctx))
            return false;
    }
    return true;
}
