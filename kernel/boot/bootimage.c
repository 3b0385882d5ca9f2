/*
 * Boot-image validation. The image comes from outside the kernel (a file the
 * boot loader copied), so every field is checked, in this order, before any
 * module is used: header size, magic, version, layout sizes, header CRC,
 * declared size against what the loader delivered, architecture, module
 * count, table bounds and CRC, then each module (name, alignment, bounds,
 * overlap, CRC) and finally that exactly one module is the root task.
 */
#include "boot/bootimage.h"

#include "kernel.h"
#include "lib/crc32.h"
#include "lib/format.h"

#define FAIL(...)                                   \
    do {                                            \
        snformat(err, errlen, __VA_ARGS__);         \
        return false;                               \
    } while (0)

static bool check_header(const struct bootimage_header *h, const uint8_t *data,
                         uint64_t avail, const char *arch, char *err, size_t errlen)
{
    if (memcmp(h->magic, BOOTIMAGE_MAGIC, sizeof(h->magic)) != 0)
        FAIL("boot image: bad magic (not a Bulkhead boot image)");
    if (h->version != BOOTIMAGE_VERSION)
        FAIL("boot image: version %u, this kernel reads version %u", h->version,
             BOOTIMAGE_VERSION);
    if (h->header_size != BOOTIMAGE_HEADER_SIZE || h->entry_size != BOOTIMAGE_ENTRY_SIZE)
        FAIL("boot image: header size %u / entry size %u, expected %u / %u",
             h->header_size, h->entry_size, BOOTIMAGE_HEADER_SIZE, BOOTIMAGE_ENTRY_SIZE);
    struct bootimage_header copy = *h;
    copy.header_crc = 0;
    uint32_t crc = crc32(&copy, sizeof(copy));
    if (crc != h->header_crc)
        FAIL("boot image: header checksum mismatch (stored 0x%08x, computed 0x%08x)",
             h->header_crc, crc);
    if (h->image_size > avail)
        FAIL("boot image: truncated: header says %llu bytes, boot loader delivered %llu",
             (unsigned long long)h->image_size, (unsigned long long)avail);
    if (strnlen(h->arch, sizeof(h->arch)) == sizeof(h->arch) || strcmp(h->arch, arch) != 0)
        FAIL("boot image: built for architecture '%.16s', this kernel is %s", h->arch, arch);
    if (h->module_count == 0 || h->module_count > BOOTIMAGE_MAX_MODULES)
        FAIL("boot image: %u modules, must be 1 to %u", h->module_count,
             BOOTIMAGE_MAX_MODULES);
    uint64_t table_end = BOOTIMAGE_HEADER_SIZE + (uint64_t)h->module_count * BOOTIMAGE_ENTRY_SIZE;
    if (table_end > h->image_size)
        FAIL("boot image: module table (%llu bytes) runs past the image end (%llu)",
             (unsigned long long)table_end, (unsigned long long)h->image_size);
    crc = crc32(data + BOOTIMAGE_HEADER_SIZE, table_end - BOOTIMAGE_HEADER_SIZE);
    if (crc != h->table_crc)
        FAIL("boot image: module table checksum mismatch (stored 0x%08x, computed 0x%08x)",
             h->table_crc, crc);
    return true;
}

static bool check_entry(const struct bootimage_entry *e, unsigned i, uint64_t table_end,
                        uint64_t image_size, char *err, size_t errlen)
{
    size_t name_len = strnlen(e->name, BOOTIMAGE_NAME_LEN);
    if (name_len == 0 || name_len == BOOTIMAGE_NAME_LEN)
        FAIL("boot image: module %u has an empty or unterminated name", i);
    if (!IS_ALIGNED(e->offset, BOOTIMAGE_ALIGN))
        FAIL("boot image: module %u '%s' at offset 0x%llx is not 4 KiB aligned", i, e->name,
             (unsigned long long)e->offset);
    if (e->offset < table_end || e->offset > image_size || e->size > image_size - e->offset)
        FAIL("boot image: module %u '%s' (offset 0x%llx, %llu bytes) lies outside the "
             "image data (0x%llx..0x%llx)", i, e->name, (unsigned long long)e->offset,
             (unsigned long long)e->size, (unsigned long long)table_end,
             (unsigned long long)image_size);
    if (e->flags & ~BOOTIMAGE_FLAG_ROOT)
        FAIL("boot image: module %u '%s' has unknown flags 0x%x", i, e->name, e->flags);
    return true;
}

static bool check_overlaps(const struct bootimage *img, char *err, size_t errlen)
{
    for (unsigned i = 0; i < img->module_count; i++) {
        for (unsigned j = i + 1; j < img->module_count; j++) {
            const struct bootimage_module *a = &img->modules[i], *b = &img->modules[j];
            if (a->offset < b->offset + b->size && b->offset < a->offset + a->size)
                FAIL("boot image: modules %u '%s' and %u '%s' overlap", i, a->name, j,
                     b->name);
        }
    }
    return true;
}

static bool check_modules(const uint8_t *data, const struct bootimage_header *h,
                          struct bootimage *out, char *err, size_t errlen)
{
    uint64_t table_end = BOOTIMAGE_HEADER_SIZE + (uint64_t)h->module_count * BOOTIMAGE_ENTRY_SIZE;
    unsigned roots = 0;
    for (unsigned i = 0; i < h->module_count; i++) {
        const struct bootimage_entry *e =
            (const struct bootimage_entry *)(data + BOOTIMAGE_HEADER_SIZE) + i;
        if (!check_entry(e, i, table_end, h->image_size, err, errlen))
            return false;
        uint32_t crc = crc32(data + e->offset, e->size);
        if (crc != e->crc)
            FAIL("boot image: module %u '%s' checksum mismatch (stored 0x%08x, computed "
                 "0x%08x)", i, e->name, e->crc, crc);
        bool root = (e->flags & BOOTIMAGE_FLAG_ROOT) != 0;
        if (root) {
            out->root_index = i;
            roots++;
        }
        out->modules[i] = (struct bootimage_module){ e->name, data + e->offset, e->offset,
                                                     e->size, root };
    }
    out->module_count = h->module_count;
    if (roots != 1)
        FAIL("boot image: %u modules are marked as the root task, exactly one must be", roots);
    return check_overlaps(out, err, errlen);
}

bool bootimage_parse(const uint8_t *data, uint64_t avail, const char *arch,
                     struct bootimage *out, char *err, size_t errlen)
{
    if (!data || avail < BOOTIMAGE_HEADER_SIZE)
        FAIL("boot image: truncated: %llu bytes, the header alone is %u",
             (unsigned long long)avail, BOOTIMAGE_HEADER_SIZE);
    if (!IS_ALIGNED((uintptr_t)data, 8))
        FAIL("boot image: not 8-byte aligned in memory");
    const struct bootimage_header *h = (const struct bootimage_header *)data;
    if (!check_header(h, data, avail, arch, err, errlen))
        return false;
    memset(out, 0, sizeof(*out));
    out->size = h->image_size;
    return check_modules(data, h, out, err, errlen);
}
