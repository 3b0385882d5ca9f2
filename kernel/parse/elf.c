/*
 * ELF64 executable checker (see bk_elf.h). Input comes from a boot image or a
 * program's memory, so nothing in the file is trusted: every offset and
 * size is checked with overflow-safe arithmetic before use, and fields are
 * read a byte at a time (little-endian, as the identification requires),
 * so an unaligned file never causes an unaligned access. Layouts: System V
 * gABI, "ELF Header" and "Program Header" (64-bit forms).
 */
#include "bk_elf.h"

#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define PT_LOAD 1
#define EHDR_SIZE 64 /* sizeof(Elf64_Ehdr) */
#define PHDR_SIZE 56 /* sizeof(Elf64_Phdr) */

struct ehdr {
    uint16_t type, machine, phentsize, phnum;
    uint64_t entry, phoff;
};

struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
};

/* One check in progress: the file, the limits and where a message goes. */
struct check {
    const uint8_t *data;
    uint64_t size;
    const struct elf_limits *lim;
    char *err;
    size_t errlen;
};

/* ---- Messages ------------------------------------------------------------ */

/* The parser may call nothing, not even a printf: messages are written by
 * this small writer, where "%u" takes the next value in decimal and "%x" in
 * hexadecimal, the values being passed as VALUES(a, b, ...). */
#define VALUES(...) ((const uint64_t[]){ __VA_ARGS__ })

struct writer {
    char *buf;
    size_t len, pos;
};

static void put_char(struct writer *w, char c)
{
    if (w->pos + 1 < w->len)
        w->buf[w->pos++] = c;
}

static void put_number(struct writer *w, uint64_t v, unsigned base)
{
    char digits[20];
    unsigned n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        put_char(w, digits[--n]);
}

static bool fail(const struct check *c, const char *format, const uint64_t *values)
{
    struct writer w = { c->err, c->errlen, 0 };
    for (const char *f = format; *f; f++) {
        if (f[0] == '%' && (f[1] == 'u' || f[1] == 'x')) {
            put_number(&w, *values++, f[1] == 'u' ? 10 : 16);
            f++;
        } else {
            put_char(&w, *f);
        }
    }
    if (w.len)
        w.buf[w.pos] = '\0';
    return false;
}

/* ---- Reading the file ----------------------------------------------------- */

static uint64_t load_le(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    while (bytes--)
        v = v << 8 | p[bytes];
    return v;
}

static struct ehdr read_ehdr(const uint8_t *p)
{
    return (struct ehdr){
        .type = (uint16_t)load_le(p + 16, 2),
        .machine = (uint16_t)load_le(p + 18, 2),
        .entry = load_le(p + 24, 8),
        .phoff = load_le(p + 32, 8),
        .phentsize = (uint16_t)load_le(p + 54, 2),
        .phnum = (uint16_t)load_le(p + 56, 2),
    };
}

static struct phdr read_phdr(const uint8_t *p)
{
    return (struct phdr){
        .type = (uint32_t)load_le(p, 4),
        .flags = (uint32_t)load_le(p + 4, 4),
        .offset = load_le(p + 8, 8),
        .vaddr = load_le(p + 16, 8),
        .filesz = load_le(p + 32, 8),
        .memsz = load_le(p + 40, 8),
        .align = load_le(p + 48, 8),
    };
}

/* ---- Checks ---------------------------------------------------------------- */

static bool check_ident(const struct check *c)
{
    const uint8_t *id = c->data;
    if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
        return fail(c, "ELF: bad magic (not an ELF file)", NULL);
    if (id[4] != ELFCLASS64 || id[5] != ELFDATA2LSB || id[6] != EV_CURRENT)
        return fail(c, "ELF: not a 64-bit little-endian version-1 file", NULL);
    return true;
}

static bool check_header(const struct check *c, const struct ehdr *eh)
{
    if (!check_ident(c))
        return false;
    if (eh->type != ET_EXEC)
        return fail(c, "ELF: type %u, only static executables (ET_EXEC) can be loaded",
                    VALUES(eh->type));
    if (eh->machine != c->lim->machine)
        return fail(c, "ELF: machine %u, this kernel runs machine %u",
                    VALUES(eh->machine, c->lim->machine));
    if (eh->phentsize != PHDR_SIZE)
        return fail(c, "ELF: program header size %u, expected %u",
                    VALUES(eh->phentsize, PHDR_SIZE));
    if (eh->phnum == 0)
        return fail(c, "ELF: no program headers", NULL);
    if (eh->phoff > c->size || (uint64_t)eh->phnum * PHDR_SIZE > c->size - eh->phoff)
        return fail(c, "ELF: program headers (offset 0x%x, %u entries) run past the file end (%u)",
                    VALUES(eh->phoff, eh->phnum, c->size));
    return true;
}

/* Every PT_LOAD is checked, even one of p_memsz 0 that is then not loaded:
 * a file that lies in a header it does not need is still malformed. */
static bool check_segment(const struct check *c, const struct phdr *ph, unsigned i)
{
    const struct elf_limits *lim = c->lim;
    if (ph->filesz > ph->memsz)
        return fail(c, "ELF: segment %u file size %u exceeds memory size %u",
                    VALUES(i, ph->filesz, ph->memsz));
    if (ph->offset > c->size || ph->filesz > c->size - ph->offset)
        return fail(c, "ELF: segment %u (offset 0x%x, %u bytes) runs past the file end (%u)",
                    VALUES(i, ph->offset, ph->filesz, c->size));
    if (ph->vaddr < lim->user_min || ph->vaddr > lim->user_max ||
        ph->memsz > lim->user_max - ph->vaddr)
        return fail(c, "ELF: segment %u at 0x%x (+%u bytes) is outside user memory 0x%x..0x%x",
                    VALUES(i, ph->vaddr, ph->memsz, lim->user_min, lim->user_max));
    if ((ph->vaddr % lim->page_size) != (ph->offset % lim->page_size))
        return fail(c, "ELF: segment %u address and file offset disagree modulo the page size",
                    VALUES(i));
    if ((ph->flags & ELF_PF_W) && (ph->flags & ELF_PF_X))
        return fail(c, "ELF: segment %u is both writable and executable (W^X)", VALUES(i));
    return true;
}

static uint64_t page_down(uint64_t x, uint64_t page)
{
    return x - x % page;
}

/* Exclusive end of the last page of `s`; user_max bounds it, so no wrap. */
static uint64_t page_end(const struct elf_segment *s, uint64_t page)
{
    uint64_t end = s->vaddr + s->mem_size;
    return end % page ? page_down(end, page) + page : end;
}

/* Each page gets the rights of one segment, so no two may share one. */
static bool check_disjoint_pages(const struct check *c, const struct elf_info *info)
{
    uint64_t page = c->lim->page_size;
    for (unsigned i = 0; i < info->segment_count; i++) {
        const struct elf_segment *a = &info->segments[i];
        for (unsigned j = i + 1; j < info->segment_count; j++) {
            const struct elf_segment *b = &info->segments[j];
            if (page_down(a->vaddr, page) < page_end(b, page) &&
                page_down(b->vaddr, page) < page_end(a, page))
                return fail(c, "ELF: loadable segments %u and %u share a page", VALUES(i, j));
        }
    }
    return true;
}

static bool entry_is_executable(const struct elf_info *info, uint64_t entry)
{
    for (unsigned i = 0; i < info->segment_count; i++) {
        const struct elf_segment *s = &info->segments[i];
        if ((s->flags & ELF_PF_X) && entry >= s->vaddr && entry - s->vaddr < s->mem_size)
            return true;
    }
    return false;
}

static bool collect_segments(const struct check *c, const struct ehdr *eh, struct elf_info *out)
{
    for (unsigned i = 0; i < eh->phnum; i++) {
        struct phdr ph = read_phdr(c->data + eh->phoff + (uint64_t)i * PHDR_SIZE);
        if (ph.type != PT_LOAD)
            continue;
        if (ph.memsz && out->segment_count == ELF_MAX_SEGMENTS)
            return fail(c, "ELF: more than %u loadable segments", VALUES(ELF_MAX_SEGMENTS));
        if (!check_segment(c, &ph, i))
            return false;
        if (ph.memsz == 0)
            continue;
        /* Only the permission bits mean anything to a loader here; the
         * OS- and processor-specific ones (PF_MASKOS, PF_MASKPROC) are
         * dropped, so that no caller acts on a bit it was not meant to. */
        out->segments[out->segment_count++] = (struct elf_segment){
            ph.vaddr, ph.offset, ph.filesz, ph.memsz, ph.flags & (ELF_PF_R | ELF_PF_W | ELF_PF_X),
            ph.align };
    }
    if (out->segment_count == 0)
        return fail(c, "ELF: no loadable segments", NULL);
    return true;
}

bool elf_check(const uint8_t *data, uint64_t size, const struct elf_limits *lim,
               struct elf_info *out, char *err, size_t errlen)
{
    const struct check c = { data, size, lim, err, errlen };
    out->entry = 0;
    out->machine = 0;
    out->segment_count = 0;
    if (!data || size < EHDR_SIZE)
        return fail(&c, "ELF: truncated: %u bytes, the header alone is %u",
                    VALUES(size, EHDR_SIZE));
    struct ehdr eh = read_ehdr(data);
    if (!check_header(&c, &eh) || !collect_segments(&c, &eh, out) ||
        !check_disjoint_pages(&c, out))
        return false;
    if (!entry_is_executable(out, eh.entry))
        return fail(&c, "ELF: entry point 0x%x is not inside an executable segment",
                    VALUES(eh.entry));
    out->entry = eh.entry;
    out->machine = eh.machine;
    return true;
}

/* ---- Loading ------------------------------------------------------------------ */

struct elf_span elf_page_span(const struct elf_segment *s, uint64_t page, uint64_t page_size)
{
    /* The part of this page that holds file bytes: [lo, hi) in user addresses. */
    uint64_t lo = page < s->vaddr ? s->vaddr : page;
    uint64_t file_end = s->vaddr + s->file_size;
    uint64_t hi = page + page_size < file_end ? page + page_size : file_end;
    if (lo >= hi)
        return (struct elf_span){ 0, 0, 0 };
    return (struct elf_span){ lo - page, s->file_offset + (lo - s->vaddr), hi - lo };
}
