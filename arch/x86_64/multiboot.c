/*
 * Multiboot v1 and v2 boot information parser (see multiboot.h). Layouts:
 * Multiboot Specification 0.6.96 section 3.3 (v1) and Multiboot2
 * Specification 2.0 section 3.6 (v2). Every read goes through
 * window_get(), which refuses anything outside the readable window; fields
 * are loaded byte by byte, so no alignment is assumed.
 */
#include "multiboot.h"

#define ONE_MIB 0x100000ull
#define PAGE 4096ull
#define MAX_STRING_SCAN 4096ull /* longest string looked at, NUL included */
#define MEMORY_AVAILABLE 1      /* memory map type of usable RAM */

#define STRINGIFY(x) #x
#define XSTRINGIFY(x) STRINGIFY(x)

/* v1 information: offsets of the fields used, and their flag bits. */
#define MB1_FLAGS 0
#define MB1_MEM_UPPER 8
#define MB1_CMDLINE 16
#define MB1_MODS_COUNT 20
#define MB1_MODS_ADDR 24
#define MB1_MMAP_LENGTH 44
#define MB1_MMAP_ADDR 48
#define MB1_LOADER_NAME 64
#define MB1_INFO_SIZE 68 /* up to and including boot_loader_name */
#define MB1_MODULE_SIZE 16
#define MB1_HAS_MEM (1u << 0)
#define MB1_HAS_CMDLINE (1u << 2)
#define MB1_HAS_MODS (1u << 3)
#define MB1_HAS_MMAP (1u << 6)
#define MB1_HAS_LOADER (1u << 9)

/* v2 tag types. */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_MEMINFO 4
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14 /* a copy of an ACPI 1.0 RSDP */
#define MB2_TAG_ACPI_NEW 15 /* a copy of an ACPI 2.0+ RSDP */

struct parser {
    const struct multiboot_window *mem;
    struct boot_params *bp;
    uint64_t where; /* physical address of the structure that failed */
    bool have_mmap;
    bool have_meminfo;
    uint64_t mem_upper_kib;
};

/* ---- Reading the window ------------------------------------------------ */

static uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load64(const uint8_t *p)
{
    return (uint64_t)load32(p) | (uint64_t)load32(p + 4) << 32;
}

/* Physical [pa, pa + len) in the window, or NULL if not wholly inside. */
static const uint8_t *window_get(const struct multiboot_window *mem, uint64_t pa, uint64_t len)
{
    if (pa < mem->pa)
        return NULL;
    uint64_t off = pa - mem->pa;
    if (off > mem->size || len > mem->size - off)
        return NULL;
    return mem->base + off;
}

static bool has_nul(const uint8_t *p, uint64_t max)
{
    for (uint64_t i = 0; i < max; i++)
        if (p[i] == 0)
            return true;
    return false;
}

/* The string at physical `pa` ("" for 0), or NULL unless it ends within
 * MAX_STRING_SCAN bytes inside the window. */
static const char *window_string(const struct multiboot_window *mem, uint64_t pa)
{
    if (pa == 0)
        return "";
    const uint8_t *p = window_get(mem, pa, 1);
    if (!p)
        return NULL;
    uint64_t avail = mem->size - (pa - mem->pa);
    return has_nul(p, avail < MAX_STRING_SCAN ? avail : MAX_STRING_SCAN) ? (const char *)p : NULL;
}

static const char *fail(struct parser *ps, uint64_t pa, const char *message)
{
    ps->where = pa;
    return message;
}

/* ---- Recording what was found ------------------------------------------- */

static bool touches(const struct phys_region *r, uint64_t base, uint64_t end)
{
    return base <= r->base + r->size && end >= r->base;
}

/* Grows ram[i] to include [base, end), then absorbs any other region the
 * grown one now touches. */
static void ram_merge(struct boot_params *bp, unsigned i, uint64_t base, uint64_t end)
{
    struct phys_region *r = &bp->ram[i];
    uint64_t lo = base < r->base ? base : r->base;
    uint64_t hi = end > r->base + r->size ? end : r->base + r->size;
    r->base = lo;
    r->size = hi - lo;
    for (unsigned j = 0; j < bp->ram_count; j++) {
        struct phys_region *o = &bp->ram[j];
        if (j == i || !touches(o, r->base, r->base + r->size))
            continue;
        uint64_t o_base = o->base, o_end = o->base + o->size;
        *o = bp->ram[--bp->ram_count]; /* remove o; i may have moved */
        if (i == bp->ram_count)
            i = j;
        ram_merge(bp, i, o_base, o_end);
        return;
    }
}

/* Keeps the part of [base, end) below 1 MiB, in whole pages, as
 * bp->low_ram if it is larger than the one kept so far. */
static void note_low_ram(struct boot_params *bp, uint64_t base, uint64_t end)
{
    base = ALIGN_UP(base, PAGE);
    end = ALIGN_DOWN(end < ONE_MIB ? end : ONE_MIB, PAGE);
    if (base < end && end - base > bp->low_ram.size)
        bp->low_ram = (struct phys_region){ base, end - base };
}

/* Adds available memory [base, base + len): clipped to start at 1 MiB,
 * shrunk to whole pages, merged with regions it touches. The part below
 * 1 MiB is only noted (note_low_ram). */
static const char *add_ram(struct boot_params *bp, uint64_t base, uint64_t len)
{
    if (len == 0)
        return NULL;
    if (base > UINT64_MAX - len)
        return "memory map entry wraps around the end of the address space";
    if (base < ONE_MIB)
        note_low_ram(bp, base, base + len);
    uint64_t end = ALIGN_DOWN(base + len, PAGE);
    if (base < ONE_MIB)
        base = ONE_MIB;
    if (base >= end)
        return NULL;
    base = ALIGN_UP(base, PAGE); /* cannot wrap: base < end <= 2^64 - PAGE */
    if (base >= end)
        return NULL;
    for (unsigned i = 0; i < bp->ram_count; i++) {
        if (touches(&bp->ram[i], base, end)) {
            ram_merge(bp, i, base, end);
            return NULL;
        }
    }
    if (!boot_params_add_ram(bp, base, end - base))
        return "more than " XSTRINGIFY(BOOT_MAX_RAM_REGIONS) " separate RAM regions";
    return NULL;
}

/* A module [start, end) (end exclusive, as both loaders set it), also
 * reserved in whole pages. */
static const char *add_module(struct boot_params *bp, uint64_t start, uint64_t end,
                              const char *name)
{
    if (end < start)
        return "boot module ends before it starts";
    if (!boot_params_add_module(bp, start, end - start, name))
        return "more than " XSTRINGIFY(BOOT_MAX_MODULES) " boot modules";
    uint64_t lo = ALIGN_DOWN(start, PAGE), hi = ALIGN_UP(end, PAGE); /* 32-bit values */
    if (hi > lo && !boot_params_add_reserved(bp, lo, hi - lo))
        return "more than " XSTRINGIFY(BOOT_MAX_RESERVED_REGIONS) " reserved regions";
    return NULL;
}

/* ---- Multiboot v1 ---------------------------------------------------------- */

/* Memory map entries: u32 size (of the rest), u64 base, u64 length,
 * u32 type; the next entry starts size + 4 bytes further. */
static const char *mb1_mmap(struct parser *ps, uint64_t addr, uint64_t length)
{
    const uint8_t *map = window_get(ps->mem, addr, length);
    if (!map)
        return fail(ps, addr, "multiboot1 memory map lies outside readable memory");
    for (uint64_t off = 0; off < length;) {
        if (length - off < 4)
            return fail(ps, addr + off, "multiboot1 memory map entry cut off by mmap_length");
        uint64_t size = load32(map + off);
        if (size < 20)
            return fail(ps, addr + off, "multiboot1 memory map entry size is below 20");
        if (size > length - off - 4)
            return fail(ps, addr + off, "multiboot1 memory map entry runs past mmap_length");
        const uint8_t *e = map + off + 4;
        if (load32(e + 16) == MEMORY_AVAILABLE) {
            const char *err = add_ram(ps->bp, load64(e), load64(e + 8));
            if (err)
                return fail(ps, addr + off, err);
        }
        off += 4 + size;
    }
    ps->have_mmap = true;
    return NULL;
}

/* Module list: mods_count entries of u32 mod_start, mod_end, string, pad. */
static const char *mb1_modules(struct parser *ps, uint64_t addr, uint64_t count)
{
    if (count > BOOT_MAX_MODULES)
        return fail(ps, addr, "more than " XSTRINGIFY(BOOT_MAX_MODULES) " boot modules");
    const uint8_t *list = window_get(ps->mem, addr, count * MB1_MODULE_SIZE);
    if (!list)
        return fail(ps, addr, "multiboot1 module list lies outside readable memory");
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *m = list + i * MB1_MODULE_SIZE;
        uint64_t pa = addr + i * MB1_MODULE_SIZE;
        const char *name = window_string(ps->mem, load32(m + 8));
        if (!name)
            return fail(ps, pa, "multiboot1 module string is unterminated or unreadable");
        const char *err = add_module(ps->bp, load32(m), load32(m + 4), name);
        if (err)
            return fail(ps, pa, err);
    }
    return NULL;
}

/* Finds the string at physical `pa` (in *out); the failure `what` when it
 * is unreadable or unterminated. */
static const char *mb1_string(struct parser *ps, uint64_t pa, const char **out, const char *what)
{
    *out = window_string(ps->mem, pa);
    return *out ? NULL : fail(ps, pa, what);
}

static const char *mb1_parse(struct parser *ps, uint64_t info_pa)
{
    const uint8_t *info = window_get(ps->mem, info_pa, MB1_INFO_SIZE);
    if (!info)
        return fail(ps, info_pa, "multiboot1 information lies outside readable memory");
    uint32_t flags = load32(info + MB1_FLAGS);
    const char *err = NULL;

    if (flags & MB1_HAS_MMAP)
        err = mb1_mmap(ps, load32(info + MB1_MMAP_ADDR), load32(info + MB1_MMAP_LENGTH));
    else if (flags & MB1_HAS_MEM)
        err = add_ram(ps->bp, ONE_MIB, (uint64_t)load32(info + MB1_MEM_UPPER) * 1024);
    else
        err = "multiboot1 information has neither a memory map nor mem_upper";
    if (!err && (flags & MB1_HAS_MODS))
        err = mb1_modules(ps, load32(info + MB1_MODS_ADDR), load32(info + MB1_MODS_COUNT));
    const char *s = NULL;
    if (!err && (flags & MB1_HAS_CMDLINE)) {
        err = mb1_string(ps, load32(info + MB1_CMDLINE), &s,
                         "multiboot1 command line is unterminated or unreadable");
        if (!err)
            boot_params_set_cmdline(ps->bp, s);
    }
    boot_params_set_string(ps->bp->loader, "multiboot1");
    if (!err && (flags & MB1_HAS_LOADER)) {
        err = mb1_string(ps, load32(info + MB1_LOADER_NAME), &s,
                         "multiboot1 boot loader name is unterminated or unreadable");
        if (!err)
            boot_params_set_string(ps->bp->loader, s);
    }
    if (err && ps->where == 0)
        ps->where = info_pa;
    return err;
}

/* ---- Multiboot v2 ---------------------------------------------------------- */

/* Tag 6: u32 entry_size, u32 entry_version, then entries of u64 base,
 * u64 length, u32 type, u32 reserved (entry_size bytes apart). */
static const char *mb2_mmap(struct parser *ps, const uint8_t *tag, uint64_t size, uint64_t pa)
{
    if (size < 16)
        return fail(ps, pa, "multiboot2 memory map tag is shorter than 16 bytes");
    uint64_t entry_size = load32(tag + 8);
    if (entry_size < 24 || entry_size % 8)
        return fail(ps, pa, "multiboot2 memory map entry_size is below 24 or not a multiple of 8");
    if ((size - 16) % entry_size)
        return fail(ps, pa, "multiboot2 memory map tag size is not 16 + a multiple of entry_size");
    for (uint64_t off = 16; off < size; off += entry_size) {
        const uint8_t *e = tag + off;
        if (load32(e + 16) != MEMORY_AVAILABLE)
            continue;
        const char *err = add_ram(ps->bp, load64(e), load64(e + 8));
        if (err)
            return fail(ps, pa + off, err);
    }
    ps->have_mmap = true;
    return NULL;
}

/* A tag holding a string from `offset` to its end (command line, loader
 * name, module): NULL unless the string ends inside the tag. */
static const char *tag_string(const uint8_t *tag, uint64_t size, uint64_t offset)
{
    if (size <= offset || !has_nul(tag + offset, size - offset))
        return NULL;
    return (const char *)tag + offset;
}

/* Tag 3: u32 mod_start, u32 mod_end, then the module's string. */
static const char *mb2_module(struct parser *ps, const uint8_t *tag, uint64_t size, uint64_t pa)
{
    const char *name = tag_string(tag, size, 16);
    if (!name)
        return fail(ps, pa, "multiboot2 module tag string is missing or unterminated");
    const char *err = add_module(ps->bp, load32(tag + 8), load32(tag + 12), name);
    return err ? fail(ps, pa, err) : NULL;
}

/* An ACPI tag holds a copy of the RSDP (a UEFI machine's is nowhere a BIOS
 * would leave it). The bytes are kept as they are, up to 36, and checked by
 * the caller (early.c) with the ACPI reader; a 2.0+ copy wins over a 1.0
 * one, whatever their order. */
static void mb2_acpi(struct boot_params *bp, const uint8_t *tag, uint64_t size, bool is_new)
{
    uint64_t body = size > 8 ? size - 8 : 0; /* the parser checked size >= 8; be sure */
    uint64_t n = body < BOOT_ACPI_RSDP_MAX ? body : BOOT_ACPI_RSDP_MAX;
    if (!is_new && bp->acpi_rsdp_size > 20)
        return;
    for (unsigned i = 0; i < BOOT_ACPI_RSDP_MAX; i++)
        bp->acpi_rsdp[i] = i < n ? tag[8 + i] : 0;
    bp->acpi_rsdp_size = (uint32_t)n;
}

static const char *mb2_tag(struct parser *ps, const uint8_t *tag, uint32_t type, uint64_t size,
                           uint64_t pa)
{
    const char *s;
    switch (type) {
    case MB2_TAG_CMDLINE:
    case MB2_TAG_LOADER:
        s = tag_string(tag, size, 8);
        if (!s)
            return fail(ps, pa, "multiboot2 string tag is missing its terminating NUL");
        if (type == MB2_TAG_CMDLINE)
            boot_params_set_cmdline(ps->bp, s);
        else
            boot_params_set_string(ps->bp->loader, s);
        return NULL;
    case MB2_TAG_MODULE:
        return mb2_module(ps, tag, size, pa);
    case MB2_TAG_MEMINFO:
        if (size < 16)
            return fail(ps, pa, "multiboot2 basic memory information tag is too short");
        ps->have_meminfo = true;
        ps->mem_upper_kib = load32(tag + 12);
        return NULL;
    case MB2_TAG_MMAP:
        return mb2_mmap(ps, tag, size, pa);
    case MB2_TAG_ACPI_OLD:
    case MB2_TAG_ACPI_NEW:
        mb2_acpi(ps->bp, tag, size, type == MB2_TAG_ACPI_NEW);
        return NULL;
    default:
        return NULL; /* framebuffer, ELF sections, EFI...: not needed */
    }
}

/* Header: u32 total_size, u32 reserved; then 8-byte aligned tags of
 * u32 type, u32 size (unpadded), ending with tag 0 of size 8. */
static const char *mb2_parse(struct parser *ps, uint64_t info_pa)
{
    if (info_pa % 8)
        return fail(ps, info_pa, "multiboot2 information is not 8-byte aligned");
    const uint8_t *info = window_get(ps->mem, info_pa, 8);
    if (!info)
        return fail(ps, info_pa, "multiboot2 information lies outside readable memory");
    uint64_t total = load32(info);
    if (total < 16)
        return fail(ps, info_pa, "multiboot2 total_size is below 16");
    if (!window_get(ps->mem, info_pa, total))
        return fail(ps, info_pa, "multiboot2 total_size runs past readable memory");

    boot_params_set_string(ps->bp->loader, "multiboot2");
    for (uint64_t off = 8; off < total; off = ALIGN_UP(off + load32(info + off + 4), 8)) {
        uint64_t pa = info_pa + off;
        if (total - off < 8)
            return fail(ps, pa, "multiboot2 tag header runs past total_size");
        uint32_t type = load32(info + off);
        uint64_t size = load32(info + off + 4);
        if (size < 8)
            return fail(ps, pa, "multiboot2 tag size is below 8");
        if (size > total - off)
            return fail(ps, pa, "multiboot2 tag runs past total_size");
        if (type == MB2_TAG_END)
            return size == 8 ? NULL : fail(ps, pa, "multiboot2 end tag size is not 8");
        const char *err = mb2_tag(ps, info + off, type, size, pa);
        if (err)
            return err;
    }
    return fail(ps, info_pa, "multiboot2 information has no end tag within total_size");
}

/* ---- Entry ------------------------------------------------------------------- */

const char *multiboot_parse(uint32_t magic, uint64_t info_pa, const struct multiboot_window *mem,
                            struct boot_params *bp, uint64_t *where)
{
    struct parser ps = { .mem = mem, .bp = bp, .where = 0 };
    const char *err;

    if (magic == MULTIBOOT1_BOOTLOADER_MAGIC)
        err = mb1_parse(&ps, info_pa);
    else if (magic == MULTIBOOT2_BOOTLOADER_MAGIC)
        err = mb2_parse(&ps, info_pa);
    else
        err = fail(&ps, info_pa, "unknown boot loader magic (neither multiboot1 nor multiboot2)");
    if (!err && magic == MULTIBOOT2_BOOTLOADER_MAGIC && !ps.have_mmap) {
        if (ps.have_meminfo)
            err = add_ram(bp, ONE_MIB, ps.mem_upper_kib * 1024);
        else
            err = fail(&ps, info_pa, "multiboot2 information has neither a memory map nor "
                                     "basic memory information");
    }
    if (!err && bp->ram_count == 0)
        err = fail(&ps, info_pa, "the memory map lists no RAM above 1 MiB");
    if (err && where)
        *where = ps.where;
    return err;
}
