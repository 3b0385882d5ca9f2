/*
 * Host tests of the device-tree reader (kernel/parse/fdt.c) and of what the
 * RISC-V boot takes from a tree (kernel/boot/fdt_boot.c and the port's
 * device list and timebase, arch/riscv/board.c). Test blobs are
 * built here token by token (struct builder), then copied into a malloc'd
 * buffer of exactly their size so AddressSanitizer catches any read past
 * the end; the broken ones are good blobs with one field spoiled.
 */
#include "board.h" /* arch/riscv/board.h */
#include "boot/boot_params.h"
#include "check.h"
#include "bk_fdt.h" /* kernel/parse/bk_fdt.h */

#include <string.h>

/* ---- A small FDT writer --------------------------------------------------- */

struct builder {
    uint8_t structure[4096];
    uint32_t struct_len;
    char strings[1024];
    uint32_t strings_len;
    uint64_t rsv[8][2];
    unsigned rsv_count;
};

static void put32_at(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64_at(uint8_t *p, uint64_t v)
{
    put32_at(p, (uint32_t)(v >> 32));
    put32_at(p + 4, (uint32_t)v);
}

static void emit32(struct builder *b, uint32_t v)
{
    put32_at(b->structure + b->struct_len, v);
    b->struct_len += 4;
}

static void emit_bytes(struct builder *b, const void *data, uint32_t len)
{
    if (len)
        memcpy(b->structure + b->struct_len, data, len);
    b->struct_len += len;
    while (b->struct_len % 4)
        b->structure[b->struct_len++] = 0;
}

static uint32_t string_offset(struct builder *b, const char *name)
{
    for (uint32_t off = 0; off < b->strings_len; off += (uint32_t)strlen(b->strings + off) + 1) {
        if (strcmp(b->strings + off, name) == 0)
            return off;
    }
    uint32_t off = b->strings_len;
    strcpy(b->strings + off, name);
    b->strings_len += (uint32_t)strlen(name) + 1;
    return off;
}

static void begin(struct builder *b, const char *name)
{
    emit32(b, 1);
    emit_bytes(b, name, (uint32_t)strlen(name) + 1);
}

static void end(struct builder *b)
{
    emit32(b, 2);
}

static void prop(struct builder *b, const char *name, const void *data, uint32_t len)
{
    emit32(b, 3);
    emit32(b, len);
    emit32(b, string_offset(b, name));
    emit_bytes(b, data, len);
}

static void prop_str(struct builder *b, const char *name, const char *s)
{
    prop(b, name, s, (uint32_t)strlen(s) + 1);
}

/* A property of `n` cells given as 32-bit values. */
static void prop_cells(struct builder *b, const char *name, unsigned n, const uint32_t *cells)
{
    uint8_t buf[64];
    for (unsigned i = 0; i < n; i++)
        put32_at(buf + 4 * i, cells[i]);
    prop(b, name, buf, 4 * n);
}

#define CELLS(b, name, ...)                                                         \
    prop_cells(b, name, sizeof((uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t),    \
               (uint32_t[]){ __VA_ARGS__ })

static void finish(struct builder *b)
{
    emit32(b, 9);
}

/* Lays the blob out as header (40 bytes), reservation block, structure
 * block, strings block; returns a malloc'd copy of exactly *size bytes. */
static uint8_t *assemble(const struct builder *b, uint32_t *size)
{
    static uint8_t out[8192];
    uint32_t rsv_off = 40, rsv_len = 16 * (b->rsv_count + 1);
    uint32_t struct_off = rsv_off + rsv_len, strings_off = struct_off + b->struct_len;
    uint32_t total = strings_off + b->strings_len;
    memset(out, 0, sizeof(out));
    put32_at(out, FDT_MAGIC);
    put32_at(out + 4, total);
    put32_at(out + 8, struct_off);
    put32_at(out + 12, strings_off);
    put32_at(out + 16, rsv_off);
    put32_at(out + 20, 17);
    put32_at(out + 24, 16);
    put32_at(out + 32, b->strings_len);
    put32_at(out + 36, b->struct_len);
    for (unsigned i = 0; i < b->rsv_count; i++) {
        put64_at(out + rsv_off + 16 * i, b->rsv[i][0]);
        put64_at(out + rsv_off + 16 * i + 8, b->rsv[i][1]);
    }
    memcpy(out + struct_off, b->structure, b->struct_len);
    memcpy(out + strings_off, b->strings, b->strings_len);
    uint8_t *blob = malloc(total);
    memcpy(blob, out, total);
    *size = total;
    return blob;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- The trees --------------------------------------------------------------- */

/* A tree shaped like QEMU virt's after OpenSBI: root cells 2/2, one
 * memory node, a /reserved-memory child, /chosen, /cpus with the
 * timebase, and a soc bus (empty ranges) with the usual devices. */
static void build_virt_like(struct builder *b, bool initrd64)
{
    memset(b, 0, sizeof(*b));
    b->rsv[b->rsv_count][0] = 0x80040000;
    b->rsv[b->rsv_count++][1] = 0x1800;
    begin(b, "");
    CELLS(b, "#address-cells", 2);
    CELLS(b, "#size-cells", 2);
    prop_str(b, "model", "test,virt-like");
    prop(b, "compatible", "riscv-virtio\0", 13);
    begin(b, "aliases");
    prop_str(b, "serial0", "/soc/serial@10000000");
    end(b);
    begin(b, "chosen");
    prop_str(b, "bootargs", "bulkhead.selftest=none quiet");
    prop_str(b, "stdout-path", "/soc/serial@10000000");
    if (initrd64) {
        CELLS(b, "linux,initrd-start", 0x1, 0x00000000);
        CELLS(b, "linux,initrd-end", 0x1, 0x00123456);
    } else {
        CELLS(b, "linux,initrd-start", 0x84200000);
        CELLS(b, "linux,initrd-end", 0x84280100);
    }
    end(b);
    begin(b, "memory@80000000");
    prop_str(b, "device_type", "memory");
    CELLS(b, "reg", 0, 0x80000000, 0, 0x20000000);
    end(b);
    begin(b, "reserved-memory");
    CELLS(b, "#address-cells", 2);
    CELLS(b, "#size-cells", 2);
    prop(b, "ranges", NULL, 0);
    begin(b, "mmode_resv0@80000000");
    CELLS(b, "reg", 0, 0x80000000, 0, 0x20000);
    prop(b, "no-map", NULL, 0);
    end(b);
    end(b);
    begin(b, "cpus");
    CELLS(b, "#address-cells", 1);
    CELLS(b, "#size-cells", 0);
    CELLS(b, "timebase-frequency", 10000000);
    begin(b, "cpu@0");
    prop_str(b, "device_type", "cpu");
    CELLS(b, "reg", 0);
    end(b);
    end(b);
    begin(b, "soc");
    CELLS(b, "#address-cells", 2);
    CELLS(b, "#size-cells", 2);
    prop_str(b, "compatible", "simple-bus");
    prop(b, "ranges", NULL, 0);
    begin(b, "serial@10000000");
    CELLS(b, "reg", 0, 0x10000000, 0, 0x100);
    prop_str(b, "compatible", "ns16550a");
    end(b);
    begin(b, "test@100000");
    CELLS(b, "reg", 0, 0x100000, 0, 0x1000);
    prop(b, "compatible", "sifive,test1\0sifive,test0\0syscon\0", 33);
    end(b);
    begin(b, "virtio_mmio@10001000");
    CELLS(b, "reg", 0, 0x10001000, 0, 0x1000);
    prop_str(b, "compatible", "virtio,mmio");
    prop_str(b, "status", "disabled");
    end(b);
    begin(b, "plic@c000000");
    CELLS(b, "reg", 0, 0xc000000, 0, 0x600000);
    prop(b, "compatible", "sifive,plic-1.0.0\0riscv,plic0\0", 30);
    end(b);
    begin(b, "clint@2000000");
    CELLS(b, "reg", 0, 0x2000000, 0, 0x10000);
    prop(b, "compatible", "sifive,clint0\0riscv,clint0\0", 27);
    end(b);
    end(b);
    end(b);
    finish(b);
}

static uint8_t *virt_blob(uint32_t *size, struct fdt *f)
{
    struct builder b;
    build_virt_like(&b, false);
    uint8_t *blob = assemble(&b, size);
    const char *err = fdt_open(f, blob, *size);
    CHECK(err == NULL);
    if (err)
        printf("  fdt_open: %s at 0x%x\n", err, f->error_offset);
    return blob;
}

static bool has_region(const struct phys_region *r, unsigned n, uint64_t base, uint64_t size)
{
    for (unsigned i = 0; i < n; i++) {
        if (r[i].base == base && r[i].size == size)
            return true;
    }
    return false;
}

/* ---- Good trees --------------------------------------------------------------- */

static void test_good_tree_lookups(void)
{
    struct fdt f;
    uint32_t size;
    uint8_t *blob = virt_blob(&size, &f);
    CHECK_EQ(f.rsvmap_count, 1);
    int serial = fdt_find_path(&f, "/soc/serial@10000000");
    CHECK(serial != FDT_NONE);
    CHECK_EQ(fdt_find_path(&f, "/soc/serial"), serial);
    CHECK_EQ(fdt_find_path(&f, "/soc/serial@2"), FDT_NONE);
    CHECK_EQ(fdt_find_path(&f, "/"), f.root);
    CHECK_EQ(fdt_find_path(&f, "soc"), FDT_NONE);
    CHECK_EQ(fdt_stdout_node(&f), serial);
    CHECK_EQ(fdt_find_compatible(&f, FDT_NONE, "ns16550a"), serial);
    CHECK_EQ(fdt_find_compatible(&f, serial, "ns16550a"), FDT_NONE);
    int test = fdt_find_compatible(&f, FDT_NONE, "sifive,test0");
    CHECK(test != FDT_NONE && strcmp(fdt_node_name(&f, test), "test@100000") == 0);
    CHECK(fdt_is_compatible(&f, test, "syscon"));
    CHECK(!fdt_is_compatible(&f, test, "sifive,test"));
    CHECK_EQ(fdt_parent(&f, serial), fdt_find_path(&f, "/soc"));
    CHECK_EQ(fdt_parent(&f, f.root), FDT_NONE);
    uint64_t base = 0, len = 0;
    CHECK(fdt_reg(&f, serial, 0, &base, &len));
    CHECK_EQ(base, 0x10000000);
    CHECK_EQ(len, 0x100);
    CHECK(!fdt_reg(&f, serial, 1, &base, &len));
    uint32_t v = 0;
    CHECK(fdt_get_u32(&f, fdt_find_path(&f, "/cpus"), "timebase-frequency", &v));
    CHECK_EQ(v, 10000000);
    CHECK(fdt_get_string(&f, f.root, "model") != NULL);
    CHECK(fdt_get_string(&f, f.root, "#size-cells") == NULL); /* not a string */
    CHECK(!fdt_node_enabled(&f, fdt_find_path(&f, "/soc/virtio_mmio@10001000")));
    free(blob);
}

static void test_good_tree_walk(void)
{
    struct fdt f;
    uint32_t size;
    uint8_t *blob = virt_blob(&size, &f);
    unsigned nodes = 0, children = 0;
    for (int n = fdt_next_node(&f, FDT_NONE); n != FDT_NONE; n = fdt_next_node(&f, n))
        nodes++;
    CHECK_EQ(nodes, 14);
    for (int n = fdt_first_child(&f, f.root); n != FDT_NONE; n = fdt_next_sibling(&f, n))
        children++;
    CHECK_EQ(children, 6);
    /* A handle that is no node at all is refused, never followed. */
    CHECK(fdt_get_prop(&f, 4, "reg", NULL) == NULL);
    CHECK_EQ(fdt_first_child(&f, 100000), FDT_NONE);
    CHECK_EQ(fdt_next_sibling(&f, FDT_NONE), FDT_NONE);
    CHECK_EQ(fdt_node_name(&f, 3)[0], '\0');
    free(blob);
}

static void test_boot_params_from_good_tree(void)
{
    struct fdt f;
    uint32_t size;
    uint8_t *blob = virt_blob(&size, &f);
    static struct boot_params bp;
    memset(&bp, 0, sizeof(bp));
    const char *err = riscv_board_params(&f, 0x9fe00000, &bp);
    CHECK(err == NULL);
    CHECK_EQ(bp.ram_count, 1);
    CHECK(has_region(bp.ram, bp.ram_count, 0x80000000, 0x20000000));
    CHECK(has_region(bp.reserved, bp.reserved_count, 0x9fe00000, 4096)); /* the blob */
    CHECK(has_region(bp.reserved, bp.reserved_count, 0x80040000, 0x2000)); /* memreserve */
    CHECK(has_region(bp.reserved, bp.reserved_count, 0x80000000, 0x20000)); /* reserved-memory */
    CHECK(has_region(bp.reserved, bp.reserved_count, 0x84200000, 0x81000)); /* initrd, rounded */
    CHECK_EQ(bp.reserved_count, 4);
    CHECK_EQ(bp.module_count, 1);
    CHECK_EQ(bp.modules[0].base, 0x84200000);
    CHECK_EQ(bp.modules[0].size, 0x80100);
    CHECK(strcmp(bp.modules[0].name, "initrd") == 0);
    CHECK(strcmp(bp.cmdline, "bulkhead.selftest=none quiet") == 0);
    CHECK(strcmp(bp.platform, "test,virt-like") == 0);
    CHECK_EQ(bp.timer_hz, 10000000);
    /* uart, test, plic, clint; the disabled virtio node is left out */
    CHECK_EQ(bp.device_count, 4);
    CHECK(has_region(bp.devices, bp.device_count, 0x10000000, 0x1000));
    CHECK(has_region(bp.devices, bp.device_count, 0x100000, 0x1000));
    CHECK(has_region(bp.devices, bp.device_count, 0xc000000, 0x600000));
    CHECK(has_region(bp.devices, bp.device_count, 0x2000000, 0x10000));
    free(blob);
}

static void test_initrd_64bit_cells(void)
{
    struct builder b;
    struct fdt f;
    uint32_t size;
    build_virt_like(&b, true);
    uint8_t *blob = assemble(&b, &size);
    CHECK(fdt_open(&f, blob, size) == NULL);
    static struct boot_params bp;
    memset(&bp, 0, sizeof(bp));
    CHECK(riscv_board_params(&f, 0x9fe00000, &bp) == NULL);
    CHECK_EQ(bp.module_count, 1);
    CHECK_EQ(bp.modules[0].base, 0x100000000ull);
    CHECK_EQ(bp.modules[0].size, 0x123456);
    CHECK(has_region(bp.reserved, bp.reserved_count, 0x100000000ull, 0x124000));
    free(blob);
}

/* Root with #address-cells = 1, #size-cells = 1: memory and reserved
 * ranges in single cells; a soc bus with a real (non-identity) ranges. */
static void test_one_cell_tree_and_ranges(void)
{
    struct builder b;
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    CELLS(&b, "#address-cells", 1);
    CELLS(&b, "#size-cells", 1);
    begin(&b, "memory");
    CELLS(&b, "reg", 0x40000000, 0x08000000, 0x50000000, 0x00100800);
    end(&b);
    begin(&b, "chosen");
    prop_str(&b, "stdout-path", "serial0:115200n8");
    end(&b);
    begin(&b, "aliases");
    prop_str(&b, "serial0", "/bus@f0000000/uart@200");
    end(&b);
    begin(&b, "bus@f0000000");
    CELLS(&b, "#address-cells", 1);
    CELLS(&b, "#size-cells", 1);
    CELLS(&b, "ranges", 0x0, 0xf0000000, 0x10000);
    begin(&b, "uart@200");
    prop_str(&b, "compatible", "ns16550a");
    CELLS(&b, "reg", 0x200, 0x20);
    end(&b);
    end(&b);
    end(&b);
    finish(&b);
    struct fdt f;
    uint32_t size;
    uint8_t *blob = assemble(&b, &size);
    CHECK(fdt_open(&f, blob, size) == NULL);
    int uart = fdt_stdout_node(&f);
    CHECK(uart == fdt_find_path(&f, "/bus/uart"));
    uint64_t base = 0, len = 0;
    CHECK(fdt_reg(&f, uart, 0, &base, &len));
    CHECK_EQ(base, 0xf0000200);
    CHECK_EQ(len, 0x20);
    static struct boot_params bp;
    memset(&bp, 0, sizeof(bp));
    CHECK(riscv_board_params(&f, 0x47f00000, &bp) == NULL);
    CHECK_EQ(bp.ram_count, 2);
    CHECK(has_region(bp.ram, bp.ram_count, 0x40000000, 0x08000000));
    CHECK(has_region(bp.ram, bp.ram_count, 0x50000000, 0x00100000)); /* rounded in */
    CHECK(has_region(bp.devices, bp.device_count, 0xf0000000, 0x1000));
    CHECK_EQ(bp.timer_hz, 0);
    CHECK_EQ(bp.module_count, 0);
    CHECK_EQ(bp.cmdline[0], '\0');
    free(blob);
}

/* #address-cells = 2, #size-cells = 1, and a bus without "ranges" (its
 * children are not CPU-addressable). */
static void test_mixed_cells_and_unmapped_bus(void)
{
    struct builder b;
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    CELLS(&b, "#address-cells", 2);
    CELLS(&b, "#size-cells", 1);
    begin(&b, "memory@0");
    prop_str(&b, "device_type", "memory");
    CELLS(&b, "reg", 0x1, 0x0, 0x40000000, 0x0, 0x0, 0x10000000);
    end(&b);
    begin(&b, "i2c");
    CELLS(&b, "#address-cells", 1);
    CELLS(&b, "#size-cells", 0);
    begin(&b, "dev@50");
    prop_str(&b, "compatible", "ns16550a");
    CELLS(&b, "reg", 0x50);
    end(&b);
    end(&b);
    end(&b);
    finish(&b);
    struct fdt f;
    uint32_t size;
    uint8_t *blob = assemble(&b, &size);
    CHECK(fdt_open(&f, blob, size) == NULL);
    static struct boot_params bp;
    memset(&bp, 0, sizeof(bp));
    CHECK(riscv_board_params(&f, 0x1000, &bp) == NULL);
    CHECK_EQ(bp.ram_count, 2);
    CHECK(has_region(bp.ram, bp.ram_count, 0x100000000ull, 0x40000000));
    CHECK(has_region(bp.ram, bp.ram_count, 0x0, 0x10000000));
    CHECK_EQ(bp.device_count, 0);
    uint64_t base, len;
    int dev = fdt_find_path(&f, "/i2c/dev@50");
    CHECK(fdt_read_reg(&f, dev, 0, 1, 0, &base, &len) && base == 0x50 && len == 0);
    CHECK(!fdt_reg(&f, dev, 0, &base, &len));
    free(blob);
}

static void test_no_memory_is_an_error(void)
{
    struct builder b;
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    end(&b);
    finish(&b);
    struct fdt f;
    uint32_t size;
    uint8_t *blob = assemble(&b, &size);
    CHECK(fdt_open(&f, blob, size) == NULL);
    static struct boot_params bp;
    memset(&bp, 0, sizeof(bp));
    CHECK(riscv_board_params(&f, 0, &bp) != NULL);
    free(blob);
}

/* ---- Broken blobs --------------------------------------------------------------- */

/* Opens a copy of `blob` of `size` bytes (exactly, for ASan) and returns
 * the error, or NULL. */
static const char *open_copy(const uint8_t *blob, uint32_t size, uint32_t max)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, blob, size);
    struct fdt f;
    const char *err = fdt_open(&f, copy, max);
    free(copy);
    return err;
}

static bool contains(const char *s, const char *word)
{
    return s && strstr(s, word) != NULL;
}

static void test_truncated_blob(void)
{
    struct fdt f;
    uint32_t size;
    uint8_t *blob = virt_blob(&size, &f);
    CHECK(contains(open_copy(blob, 20, 20), "too small"));
    CHECK(contains(open_copy(blob, size - 16, size - 16), "totalsize larger"));
    free(blob);
}

static void test_bad_magic(void)
{
    struct fdt f;
    uint32_t size;
    uint8_t *blob = virt_blob(&size, &f);
    blob[3] ^= 1;
    CHECK(contains(open_copy(blob, size, size), "magic"));
    free(blob);
}

static void test_bad_version(void)
{
    struct fdt f;
    uint32_t size;
    uint8_t *blob = virt_blob(&size, &f);
    put32_at(blob + 20, 15);
    CHECK(contains(open_copy(blob, size, size), "version older"));
    put32_at(blob + 20, 18);
    put32_at(blob + 24, 18);
    CHECK(contains(open_copy(blob, size, size), "last_comp_version"));
    /* Version 16 (no size_dt_struct) is still read. */
    put32_at(blob + 20, 16);
    put32_at(blob + 24, 16);
    put32_at(blob + 36, 0);
    CHECK(open_copy(blob, size, size) == NULL);
    free(blob);
}

static void test_totalsize_larger_than_buffer(void)
{
    struct fdt f;
    uint32_t size;
    uint8_t *blob = virt_blob(&size, &f);
    put32_at(blob + 4, size + 4);
    CHECK(contains(open_copy(blob, size, size), "totalsize larger"));
    put32_at(blob + 4, size);
    CHECK(contains(open_copy(blob, size, size - 1), "totalsize larger"));
    free(blob);
}

static void test_blocks_outside_or_overlapping(void)
{
    struct fdt f;
    uint32_t size;
    uint8_t *blob = virt_blob(&size, &f);
    uint32_t struct_off = get32(blob + 8), struct_size = get32(blob + 36);
    put32_at(blob + 36, struct_size + 8);
    CHECK(contains(open_copy(blob, size, size), "overlap"));
    put32_at(blob + 36, (size + 3) & ~3u);
    CHECK(contains(open_copy(blob, size, size), "structure block outside"));
    put32_at(blob + 36, struct_size);
    put32_at(blob + 32, get32(blob + 32) + 1);
    CHECK(contains(open_copy(blob, size, size), "strings block outside"));
    put32_at(blob + 32, get32(blob + 32) - 1);
    put32_at(blob + 8, struct_off + 2);
    CHECK(contains(open_copy(blob, size, size), "aligned"));
    put32_at(blob + 8, struct_off);
    put32_at(blob + 16, 44);
    CHECK(contains(open_copy(blob, size, size), "8-byte aligned"));
    put32_at(blob + 16, 40);
    put32_at(blob + 40 + 16 + 4, 1); /* spoil the reservation end marker */
    CHECK(open_copy(blob, size, size) != NULL);
    free(blob);
}

/* A blob whose only node holds one property, with `len` and `name_off`
 * written as given. */
static uint8_t *one_prop_blob(uint32_t len, uint32_t name_off, uint32_t *size)
{
    struct builder b;
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    CELLS(&b, "x", 7);
    end(&b);
    finish(&b);
    put32_at(b.structure + 12, len); /* after BEGIN_NODE "" and the PROP token */
    put32_at(b.structure + 16, name_off);
    return assemble(&b, size);
}

static void test_property_length_past_end(void)
{
    uint32_t size;
    uint8_t *blob = one_prop_blob(0x1000, 0, &size);
    CHECK(contains(open_copy(blob, size, size), "property value runs past"));
    free(blob);
    blob = one_prop_blob(0xfffffffc, 0, &size);
    CHECK(contains(open_copy(blob, size, size), "property value runs past"));
    free(blob);
}

static void test_string_offset_past_strings(void)
{
    uint32_t size;
    uint8_t *blob = one_prop_blob(4, 2, &size); /* "x\0" has 2 bytes */
    CHECK(contains(open_copy(blob, size, size), "name offset past"));
    free(blob);
    blob = one_prop_blob(4, 0, &size);
    blob[size - 1] = 'y'; /* the last string loses its NUL */
    CHECK(contains(open_copy(blob, size, size), "not terminated inside the strings"));
    free(blob);
}

static void test_missing_end_token(void)
{
    struct builder b;
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    CELLS(&b, "a", 1);
    end(&b);
    uint32_t size;
    uint8_t *blob = assemble(&b, &size);
    CHECK(contains(open_copy(blob, size, size), "without FDT_END"));
    free(blob);
}

static void test_unbalanced_nodes(void)
{
    struct builder b;
    uint32_t size;
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    begin(&b, "a");
    end(&b);
    finish(&b); /* root never closed */
    uint8_t *blob = assemble(&b, &size);
    CHECK(contains(open_copy(blob, size, size), "unclosed"));
    free(blob);
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    end(&b);
    end(&b);
    finish(&b);
    blob = assemble(&b, &size);
    CHECK(contains(open_copy(blob, size, size), "without a matching"));
    free(blob);
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    end(&b);
    begin(&b, "");
    end(&b);
    finish(&b);
    blob = assemble(&b, &size);
    CHECK(contains(open_copy(blob, size, size), "two roots"));
    free(blob);
}

static void test_bad_nesting_and_names(void)
{
    struct builder b;
    uint32_t size;
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    begin(&b, "child");
    end(&b);
    CELLS(&b, "late", 1);
    end(&b);
    finish(&b);
    uint8_t *blob = assemble(&b, &size);
    CHECK(contains(open_copy(blob, size, size), "property after a child"));
    free(blob);
    memset(&b, 0, sizeof(b));
    CELLS(&b, "early", 1);
    finish(&b);
    blob = assemble(&b, &size);
    CHECK(contains(open_copy(blob, size, size), "outside any node"));
    free(blob);
    memset(&b, 0, sizeof(b));
    emit32(&b, 1);
    emit_bytes(&b, "abcd", 4); /* name fills the block, no NUL */
    blob = assemble(&b, &size);
    CHECK(contains(open_copy(blob, size, size), "node name not terminated"));
    free(blob);
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    emit32(&b, 7);
    end(&b);
    finish(&b);
    blob = assemble(&b, &size);
    CHECK(contains(open_copy(blob, size, size), "unknown token"));
    free(blob);
}

static void test_too_deep(void)
{
    struct builder b;
    uint32_t size;
    memset(&b, 0, sizeof(b));
    for (int i = 0; i <= FDT_MAX_DEPTH; i++)
        begin(&b, i ? "n" : "");
    for (int i = 0; i <= FDT_MAX_DEPTH; i++)
        end(&b);
    finish(&b);
    uint8_t *blob = assemble(&b, &size);
    CHECK(contains(open_copy(blob, size, size), "deeper"));
    free(blob);
}

static void test_bad_initrd(void)
{
    struct builder b;
    uint32_t size;
    memset(&b, 0, sizeof(b));
    begin(&b, "");
    CELLS(&b, "#address-cells", 2);
    CELLS(&b, "#size-cells", 2);
    begin(&b, "memory");
    CELLS(&b, "reg", 0, 0x80000000, 0, 0x1000000);
    end(&b);
    begin(&b, "chosen");
    CELLS(&b, "linux,initrd-start", 0x2000);
    CELLS(&b, "linux,initrd-end", 0x1000);
    end(&b);
    end(&b);
    finish(&b);
    uint8_t *blob = assemble(&b, &size);
    struct fdt f;
    CHECK(fdt_open(&f, blob, size) == NULL);
    static struct boot_params bp;
    memset(&bp, 0, sizeof(bp));
    CHECK(contains(riscv_board_params(&f, 0, &bp), "below"));
    free(blob);
}

/* A tree of 64-bit cells whose /cpus node is open, for its cpu nodes. */
static void begin_cpus_tree(struct builder *b)
{
    memset(b, 0, sizeof(*b));
    begin(b, "");
    CELLS(b, "#address-cells", 2);
    CELLS(b, "#size-cells", 2);
    begin(b, "cpus");
    CELLS(b, "#address-cells", 1);
    CELLS(b, "#size-cells", 0);
}

/* Closes the root node, and opens the blob the builder made. */
static uint8_t *open_built(struct builder *b, struct fdt *f)
{
    end(b);
    finish(b);
    uint32_t size;
    uint8_t *blob = assemble(b, &size);
    CHECK(fdt_open(f, blob, size) == NULL);
    return blob;
}

/* Harts' extensions (arch/riscv/board.c): a token of the riscv,isa
 * string after an '_', whole (a prefix does not count), or an entry of the
 * riscv,isa-extensions list; per hart, by its reg. */
static void test_hart_extensions(void)
{
    struct builder b;
    begin_cpus_tree(&b);
    begin(&b, "cpu@0");
    CELLS(&b, "reg", 0);
    prop_str(&b, "riscv,isa", "rv64imafdch_zicsr_zifencei_sstc");
    end(&b);
    begin(&b, "cpu@1");
    CELLS(&b, "reg", 1);
    prop_str(&b, "riscv,isa", "rv64imac_sstcx_zsstc");
    end(&b);
    begin(&b, "cpu@2");
    CELLS(&b, "reg", 2);
    prop_str(&b, "riscv,isa", "rv64imac");
    prop(&b, "riscv,isa-extensions", "i\0m\0a\0c\0sstc\0", 13);
    end(&b);
    end(&b);
    struct fdt f;
    uint8_t *blob = open_built(&b, &f);
    CHECK(strcmp(riscv_board_hart_isa(&f, 0), "rv64imafdch_zicsr_zifencei_sstc") == 0);
    CHECK(riscv_board_hart_has_extension(&f, 0, "sstc"));
    CHECK(riscv_board_hart_has_extension(&f, 0, "zicsr"));
    CHECK(!riscv_board_hart_has_extension(&f, 0, "zics"));
    CHECK(!riscv_board_hart_has_extension(&f, 1, "sstc"));
    CHECK(riscv_board_hart_has_extension(&f, 2, "sstc"));
    CHECK(!riscv_board_hart_has_extension(&f, 2, "sst"));
    CHECK(!riscv_board_hart_has_extension(&f, 3, "sstc"));
    CHECK(riscv_board_hart_isa(&f, 3) == NULL);
    free(blob);
}

/* Interrupt lists (arch/riscv/board.c): a hart's "riscv,cpu-intc" by its
 * reg, and the place of an (intc, cause) entry in a node's
 * interrupts-extended, which the PLIC's S-mode context and the ACLINT
 * SSWI's register of each hart are; -1 for an entry it lacks, a phandle
 * nobody has, or a list cut short. */
static void intc_cpu(struct builder *b, const char *name, uint32_t reg, uint32_t phandle)
{
    begin(b, name);
    prop_str(b, "device_type", "cpu");
    CELLS(b, "reg", reg);
    begin(b, "interrupt-controller");
    prop_str(b, "compatible", "riscv,cpu-intc");
    CELLS(b, "#interrupt-cells", 1);
    CELLS(b, "phandle", phandle);
    end(b);
    end(b);
}

static void test_interrupt_lists(void)
{
    struct builder b;
    begin_cpus_tree(&b);
    intc_cpu(&b, "cpu@0", 0, 1);
    intc_cpu(&b, "cpu@3", 3, 2);
    end(&b);
    begin(&b, "sswi@2f00000"); /* hart 3's register first */
    CELLS(&b, "interrupts-extended", 2, 1, 1, 1);
    end(&b);
    begin(&b, "plic@c000000"); /* M and S contexts per hart */
    CELLS(&b, "interrupts-extended", 1, 11, 1, 9, 2, 11, 2, 9);
    end(&b);
    begin(&b, "stray");
    CELLS(&b, "interrupts-extended", 7, 1);
    end(&b);
    begin(&b, "short");
    CELLS(&b, "interrupts-extended", 1, 11, 2);
    end(&b);
    struct fdt f;
    uint8_t *blob = open_built(&b, &f);
    int h0 = riscv_board_hart_intc(&f, 0), h3 = riscv_board_hart_intc(&f, 3);
    CHECK(h0 != FDT_NONE && h3 != FDT_NONE && h0 != h3);
    CHECK(riscv_board_hart_intc(&f, 1) == FDT_NONE);
    int sswi = fdt_find_path(&f, "/sswi@2f00000"), plic = fdt_find_path(&f, "/plic@c000000");
    CHECK_EQ(riscv_board_irq_index(&f, sswi, h3, 1), 0);
    CHECK_EQ(riscv_board_irq_index(&f, sswi, h0, 1), 1);
    CHECK_EQ(riscv_board_irq_index(&f, sswi, h0, 9), -1);
    CHECK_EQ(riscv_board_irq_index(&f, plic, h0, 9), 1);
    CHECK_EQ(riscv_board_irq_index(&f, plic, h3, 9), 3);
    CHECK_EQ(riscv_board_irq_index(&f, fdt_find_path(&f, "/stray"), h0, 1), -1);
    CHECK_EQ(riscv_board_irq_index(&f, fdt_find_path(&f, "/short"), h3, 11), -1);
    CHECK_EQ(riscv_board_irq_index(&f, fdt_find_path(&f, "/cpus"), h0, 1), -1); /* no list */
    free(blob);
}

TEST_MAIN(TEST(test_good_tree_lookups), TEST(test_good_tree_walk),
          TEST(test_boot_params_from_good_tree), TEST(test_initrd_64bit_cells),
          TEST(test_one_cell_tree_and_ranges), TEST(test_mixed_cells_and_unmapped_bus),
          TEST(test_no_memory_is_an_error), TEST(test_truncated_blob), TEST(test_bad_magic),
          TEST(test_bad_version), TEST(test_totalsize_larger_than_buffer),
          TEST(test_blocks_outside_or_overlapping), TEST(test_property_length_past_end),
          TEST(test_string_offset_past_strings), TEST(test_missing_end_token),
          TEST(test_unbalanced_nodes), TEST(test_bad_nesting_and_names), TEST(test_too_deep),
          TEST(test_interrupt_lists),
          TEST(test_bad_initrd), TEST(test_hart_extensions))
