/*
 * Flattened device tree reader (Devicetree Specification v0.4, chapter 5).
 *
 * fdt_open() validates everything once: the header, that the three blocks
 * (memory reservations, structure, strings) lie inside totalsize without
 * overlapping, and every token of the structure block (terminated names,
 * property values and name offsets in bounds, balanced nesting, a single
 * root, properties before child nodes, a final FDT_END). The lookups decode
 * tokens through the same bounds-checked decoder, so even a stale or bogus
 * node handle cannot make them read outside the blob. All values in the
 * blob are big-endian and read a byte at a time (no alignment assumed).
 */
#include "bk_fdt.h"

#define FDT_HEADER_SIZE 40u

/* Structure block tokens (spec 5.4.1). */
enum {
    FDT_BEGIN_NODE = 1,
    FDT_END_NODE = 2,
    FDT_PROP = 3,
    FDT_NOP = 4,
    FDT_END = 9,
};

/* One decoded token of the structure block. */
struct token {
    uint32_t kind;
    uint32_t next;       /* offset of the following token */
    const char *name;    /* node name (BEGIN_NODE) or property name (PROP) */
    const uint8_t *data; /* property value (PROP) */
    uint32_t len;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* A value of 0, 1 or 2 big-endian cells. */
static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
    return cells == 0 ? 0 : cells == 1 ? be32(p) : be64(p);
}

/* Length of the string at `s`, looking at no more than `max` bytes;
 * returns `max` when no NUL was found. */
static uint32_t bounded_len(const uint8_t *s, uint32_t max)
{
    uint32_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* Whether the first `n` bytes of a equal b[0..n) and b has no more. */
static bool str_eq_n(const char *a, size_t n, const char *b)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] || b[i] == '\0')
            return false;
    }
    return b[n] == '\0';
}

static uint32_t align4(uint32_t x)
{
    return (x + 3u) & ~3u;
}

/* ---- Header and block validation ---------------------------------------- */

static const char *fail(struct fdt *fdt, uint32_t offset, const char *message)
{
    fdt->error_offset = offset;
    return message;
}

/* [off, off + size) inside [FDT_HEADER_SIZE, total), without overflow. */
static bool block_inside(uint32_t off, uint32_t size, uint32_t total)
{
    return off >= FDT_HEADER_SIZE && off <= total && size <= total - off;
}

static bool blocks_overlap(uint32_t a, uint32_t a_size, uint32_t b, uint32_t b_size)
{
    return a_size && b_size && a < b + b_size && b < a + a_size;
}

static const char *check_header(struct fdt *fdt, const uint8_t *h, size_t max_size)
{
    if (max_size < FDT_HEADER_SIZE)
        return fail(fdt, 0, "fdt: blob too small to hold the 40-byte header");
    if (be32(h) != FDT_MAGIC)
        return fail(fdt, 0, "fdt: bad magic (expected 0xd00dfeed)");
    fdt->total_size = be32(h + 4);
    fdt->version = be32(h + 20);
    if (fdt->version < 16)
        return fail(fdt, 20, "fdt: version older than 16");
    if (be32(h + 24) > 17)
        return fail(fdt, 24, "fdt: last_comp_version newer than 17 (incompatible format)");
    if (fdt->total_size < FDT_HEADER_SIZE)
        return fail(fdt, 4, "fdt: totalsize smaller than the header");
    if (fdt->total_size > max_size)
        return fail(fdt, 4, "fdt: totalsize larger than the buffer holding the blob");
    fdt->struct_off = be32(h + 8);
    fdt->strings_off = be32(h + 12);
    fdt->rsvmap_off = be32(h + 16);
    fdt->boot_cpuid = be32(h + 28);
    fdt->strings_size = be32(h + 32);
    return NULL;
}

/* Version 16 headers have no size_dt_struct: the structure block then runs
 * to the next block or to the end of the blob. */
static uint32_t v16_struct_size(const struct fdt *fdt)
{
    uint32_t end = fdt->total_size;
    if (fdt->strings_off > fdt->struct_off && fdt->strings_off < end)
        end = fdt->strings_off;
    if (fdt->rsvmap_off > fdt->struct_off && fdt->rsvmap_off < end)
        end = fdt->rsvmap_off;
    return fdt->struct_off <= end ? (end - fdt->struct_off) & ~3u : 0;
}

/* Counts memory-reservation entries (16 bytes each: address, size) up to
 * the all-zero end marker, which must lie inside the blob. */
static const char *scan_rsvmap(struct fdt *fdt)
{
    uint32_t off = fdt->rsvmap_off;
    if (off % 8 != 0)
        return fail(fdt, 16, "fdt: memory reservation block not 8-byte aligned");
    if (!block_inside(off, 0, fdt->total_size))
        return fail(fdt, 16, "fdt: memory reservation block outside the blob");
    for (uint32_t n = 0;; n++, off += 16) {
        if (fdt->total_size - off < 16)
            return fail(fdt, off, "fdt: memory reservation block has no end marker");
        if (be64(fdt->blob + off) == 0 && be64(fdt->blob + off + 8) == 0) {
            fdt->rsvmap_count = n;
            return NULL;
        }
    }
}

static const char *check_blocks(struct fdt *fdt)
{
    const char *err = scan_rsvmap(fdt);
    if (err)
        return err;
    uint32_t rsv_size = (fdt->rsvmap_count + 1) * 16;
    fdt->struct_size = fdt->version >= 17 ? be32(fdt->blob + 36) : v16_struct_size(fdt);
    if (fdt->struct_off % 4 != 0 || fdt->struct_size % 4 != 0)
        return fail(fdt, 8, "fdt: structure block offset or size not 4-byte aligned");
    if (!block_inside(fdt->struct_off, fdt->struct_size, fdt->total_size))
        return fail(fdt, 8, "fdt: structure block outside the blob");
    if (!block_inside(fdt->strings_off, fdt->strings_size, fdt->total_size))
        return fail(fdt, 12, "fdt: strings block outside the blob");
    if (blocks_overlap(fdt->struct_off, fdt->struct_size, fdt->strings_off, fdt->strings_size))
        return fail(fdt, 12, "fdt: structure and strings blocks overlap");
    if (blocks_overlap(fdt->rsvmap_off, rsv_size, fdt->struct_off, fdt->struct_size) ||
        blocks_overlap(fdt->rsvmap_off, rsv_size, fdt->strings_off, fdt->strings_size))
        return fail(fdt, 16, "fdt: memory reservation block overlaps another block");
    return NULL;
}

/* ---- Tokens ----------------------------------------------------------------- */

static const char *decode_prop(const struct fdt *fdt, uint32_t off, struct token *t)
{
    const uint8_t *s = fdt->blob + fdt->struct_off;
    if (fdt->struct_size - off < 8)
        return "fdt: property header runs past the structure block";
    t->len = be32(s + off);
    uint32_t name_off = be32(s + off + 4);
    off += 8;
    if (t->len > fdt->struct_size - off)
        return "fdt: property value runs past the structure block";
    if (name_off >= fdt->strings_size)
        return "fdt: property name offset past the strings block";
    const uint8_t *name = fdt->blob + fdt->strings_off + name_off;
    if (bounded_len(name, fdt->strings_size - name_off) == fdt->strings_size - name_off)
        return "fdt: property name not terminated inside the strings block";
    t->name = (const char *)name;
    t->data = s + off;
    t->next = align4(off + t->len);
    return NULL;
}

/* Decodes the token at structure offset `off`. The struct size is a
 * multiple of 4, so aligning an in-bounds end never leaves the block. */
static const char *decode_token(const struct fdt *fdt, uint32_t off, struct token *t)
{
    const uint8_t *s = fdt->blob + fdt->struct_off;
    if (off > fdt->struct_size || fdt->struct_size - off < 4)
        return "fdt: structure block ends without FDT_END";
    t->kind = be32(s + off);
    off += 4;
    t->next = off;
    if (t->kind == FDT_BEGIN_NODE) {
        uint32_t n = bounded_len(s + off, fdt->struct_size - off);
        if (n == fdt->struct_size - off)
            return "fdt: node name not terminated inside the structure block";
        t->name = (const char *)(s + off);
        t->next = align4(off + n + 1);
    } else if (t->kind == FDT_PROP) {
        return decode_prop(fdt, off, t);
    } else if (t->kind != FDT_END_NODE && t->kind != FDT_NOP && t->kind != FDT_END) {
        return "fdt: unknown token in the structure block";
    }
    return NULL;
}

/* Nesting state of the validation walk. had_child[d]: the open node at
 * depth d already has a child, so no more properties may follow. */
struct nesting {
    unsigned depth;
    bool root_seen;
    bool had_child[FDT_MAX_DEPTH + 1];
};

static const char *check_nesting(struct nesting *n, const struct token *t)
{
    switch (t->kind) {
    case FDT_BEGIN_NODE:
        if (n->depth == 0 && n->root_seen)
            return "fdt: node after the root node closed (two roots)";
        if (n->depth == 0 && t->name[0] != '\0')
            return "fdt: root node has a name";
        if (n->depth == FDT_MAX_DEPTH)
            return "fdt: nodes nested deeper than FDT_MAX_DEPTH";
        n->had_child[n->depth] = true;
        n->had_child[++n->depth] = false;
        n->root_seen = true;
        return NULL;
    case FDT_END_NODE:
        if (n->depth == 0)
            return "fdt: FDT_END_NODE without a matching FDT_BEGIN_NODE";
        n->depth--;
        return NULL;
    case FDT_PROP:
        if (n->depth == 0)
            return "fdt: property outside any node";
        return n->had_child[n->depth] ? "fdt: property after a child node" : NULL;
    case FDT_END:
        if (!n->root_seen)
            return "fdt: no root node";
        return n->depth ? "fdt: FDT_END inside an unclosed node" : NULL;
    default:
        return NULL;
    }
}

static const char *check_structure(struct fdt *fdt)
{
    struct nesting n = { 0 };
    struct token t;
    for (uint32_t off = 0;; off = t.next) {
        const char *err = decode_token(fdt, off, &t);
        if (!err)
            err = check_nesting(&n, &t);
        if (err)
            return fail(fdt, fdt->struct_off + off, err);
        if (t.kind == FDT_BEGIN_NODE && n.depth == 1)
            fdt->root = (int)off;
        if (t.kind == FDT_END)
            return NULL;
    }
}

const char *fdt_open(struct fdt *fdt, const void *blob, size_t max_size)
{
    *fdt = (struct fdt){ .blob = blob, .root = FDT_NONE };
    if (blob == NULL)
        return fail(fdt, 0, "fdt: no blob");
    const char *err = check_header(fdt, blob, max_size);
    if (!err)
        err = check_blocks(fdt);
    if (!err)
        err = check_structure(fdt);
    if (err)
        fdt->root = FDT_NONE;
    return err;
}

/* ---- Walking ------------------------------------------------------------------ */

/* Decodes the token at `node` if it is a node. */
static bool node_token(const struct fdt *fdt, int node, struct token *t)
{
    return node >= 0 && fdt->root != FDT_NONE && !decode_token(fdt, (uint32_t)node, t) &&
           t->kind == FDT_BEGIN_NODE;
}

const char *fdt_node_name(const struct fdt *fdt, int node)
{
    struct token t;
    return node_token(fdt, node, &t) ? t.name : "";
}

/* The next BEGIN_NODE at or after `off` at the same level, skipping
 * properties and NOPs; FDT_NONE at an END_NODE or END. */
static int node_at_or_after(const struct fdt *fdt, uint32_t off)
{
    struct token t;
    for (; !decode_token(fdt, off, &t); off = t.next) {
        if (t.kind == FDT_BEGIN_NODE)
            return (int)off;
        if (t.kind != FDT_PROP && t.kind != FDT_NOP)
            break;
    }
    return FDT_NONE;
}

int fdt_first_child(const struct fdt *fdt, int node)
{
    struct token t;
    return node_token(fdt, node, &t) ? node_at_or_after(fdt, t.next) : FDT_NONE;
}

int fdt_next_sibling(const struct fdt *fdt, int node)
{
    struct token t;
    if (!node_token(fdt, node, &t))
        return FDT_NONE;
    unsigned depth = 1;
    for (uint32_t off = t.next; !decode_token(fdt, off, &t); off = t.next) {
        if (t.kind == FDT_BEGIN_NODE)
            depth++;
        else if (t.kind == FDT_END_NODE && --depth == 0)
            return node_at_or_after(fdt, t.next);
        else if (t.kind == FDT_END)
            break;
    }
    return FDT_NONE;
}

int fdt_next_node(const struct fdt *fdt, int node)
{
    struct token t;
    if (node == FDT_NONE)
        return fdt->root;
    if (!node_token(fdt, node, &t))
        return FDT_NONE;
    for (uint32_t off = t.next; !decode_token(fdt, off, &t); off = t.next) {
        if (t.kind == FDT_BEGIN_NODE)
            return (int)off;
        if (t.kind == FDT_END)
            break;
    }
    return FDT_NONE;
}

int fdt_parent(const struct fdt *fdt, int node)
{
    int stack[FDT_MAX_DEPTH];
    unsigned depth = 0;
    struct token t;
    if (fdt->root == FDT_NONE)
        return FDT_NONE;
    for (uint32_t off = (uint32_t)fdt->root; !decode_token(fdt, off, &t); off = t.next) {
        if (t.kind == FDT_BEGIN_NODE) {
            if ((int)off == node)
                return depth ? stack[depth - 1] : FDT_NONE;
            if (depth == FDT_MAX_DEPTH)
                break;
            stack[depth++] = (int)off;
        } else if (t.kind == FDT_END_NODE && depth) {
            depth--;
        } else if (t.kind == FDT_END) {
            break;
        }
    }
    return FDT_NONE;
}

/* Whether node `name` matches path component comp[0..len): exactly, or as
 * "comp@unit" when the component has no unit address. */
static bool name_matches(const char *name, const char *comp, size_t len)
{
    bool has_unit = false;
    for (size_t i = 0; i < len; i++) {
        if (name[i] != comp[i] || name[i] == '\0')
            return false;
        has_unit |= comp[i] == '@';
    }
    return name[len] == '\0' || (!has_unit && name[len] == '@');
}

static int child_named(const struct fdt *fdt, int node, const char *comp, size_t len)
{
    int child = fdt_first_child(fdt, node);
    while (child != FDT_NONE && !name_matches(fdt_node_name(fdt, child), comp, len))
        child = fdt_next_sibling(fdt, child);
    return child;
}

/* Path lookup over path[0..len) (the path need not be NUL-terminated). */
static int find_path_n(const struct fdt *fdt, const char *path, size_t len)
{
    if (len == 0 || path[0] != '/')
        return FDT_NONE;
    int node = fdt->root;
    size_t pos = 1;
    while (pos < len && node != FDT_NONE) {
        size_t end = pos;
        while (end < len && path[end] != '/')
            end++;
        if (end > pos)
            node = child_named(fdt, node, path + pos, end - pos);
        pos = end + 1;
    }
    return node;
}

int fdt_find_path(const struct fdt *fdt, const char *path)
{
    size_t len = 0;
    while (path[len])
        len++;
    return find_path_n(fdt, path, len);
}

/* ---- Properties ---------------------------------------------------------------- */

/* Property lookup by name[0..name_len). Properties precede child nodes
 * (fdt_open checked it), so the scan stops at the first child. */
static const struct token *find_prop_n(const struct fdt *fdt, int node, const char *name,
                                       size_t name_len, struct token *t)
{
    if (!node_token(fdt, node, t))
        return NULL;
    for (uint32_t off = t->next; !decode_token(fdt, off, t); off = t->next) {
        if (t->kind == FDT_PROP && str_eq_n(name, name_len, t->name))
            return t;
        if (t->kind != FDT_PROP && t->kind != FDT_NOP)
            break;
    }
    return NULL;
}

const void *fdt_get_prop(const struct fdt *fdt, int node, const char *name, uint32_t *len)
{
    struct token t;
    size_t name_len = 0;
    while (name[name_len])
        name_len++;
    if (!find_prop_n(fdt, node, name, name_len, &t))
        return NULL;
    if (len)
        *len = t.len;
    return t.data;
}

const char *fdt_get_string(const struct fdt *fdt, int node, const char *name)
{
    uint32_t len;
    const uint8_t *v = fdt_get_prop(fdt, node, name, &len);
    return v && len && v[len - 1] == '\0' ? (const char *)v : NULL;
}

bool fdt_get_u32(const struct fdt *fdt, int node, const char *name, uint32_t *value)
{
    uint32_t len;
    const uint8_t *v = fdt_get_prop(fdt, node, name, &len);
    if (!v || len != 4)
        return false;
    *value = be32(v);
    return true;
}

bool fdt_get_u64(const struct fdt *fdt, int node, const char *name, uint64_t *value)
{
    uint32_t len;
    const uint8_t *v = fdt_get_prop(fdt, node, name, &len);
    if (!v || (len != 4 && len != 8))
        return false;
    *value = read_cells(v, len / 4);
    return true;
}

bool fdt_is_compatible(const struct fdt *fdt, int node, const char *compat)
{
    uint32_t len;
    const uint8_t *v = fdt_get_prop(fdt, node, "compatible", &len);
    for (uint32_t pos = 0; v && pos < len;) {
        uint32_t n = bounded_len(v + pos, len - pos);
        if (n < len - pos && str_eq((const char *)v + pos, compat))
            return true;
        pos += n + 1;
    }
    return false;
}

int fdt_find_compatible(const struct fdt *fdt, int after, const char *compat)
{
    int node = fdt_next_node(fdt, after);
    while (node != FDT_NONE && !fdt_is_compatible(fdt, node, compat))
        node = fdt_next_node(fdt, node);
    return node;
}

bool fdt_node_enabled(const struct fdt *fdt, int node)
{
    const char *status = fdt_get_string(fdt, node, "status");
    return !status || str_eq(status, "okay") || str_eq(status, "ok");
}

int fdt_stdout_node(const struct fdt *fdt)
{
    int chosen = fdt_find_path(fdt, "/chosen");
    const char *path = fdt_get_string(fdt, chosen, "stdout-path");
    if (!path)
        path = fdt_get_string(fdt, chosen, "linux,stdout-path");
    if (!path)
        return FDT_NONE;
    size_t len = 0; /* up to the options, as in "serial0:115200n8" */
    while (path[len] && path[len] != ':')
        len++;
    if (path[0] == '/')
        return find_path_n(fdt, path, len);
    struct token t;
    int aliases = fdt_find_path(fdt, "/aliases");
    if (!find_prop_n(fdt, aliases, path, len, &t) || !t.len || t.data[t.len - 1] != '\0')
        return FDT_NONE;
    return fdt_find_path(fdt, (const char *)t.data);
}

/* ---- reg and ranges ----------------------------------------------------------- */

uint32_t fdt_address_cells(const struct fdt *fdt, int bus)
{
    uint32_t cells;
    return fdt_get_u32(fdt, bus, "#address-cells", &cells) ? cells : 2;
}

uint32_t fdt_size_cells(const struct fdt *fdt, int bus)
{
    uint32_t cells;
    return fdt_get_u32(fdt, bus, "#size-cells", &cells) ? cells : 1;
}

bool fdt_read_reg(const struct fdt *fdt, int node, unsigned index, uint32_t address_cells,
                  uint32_t size_cells, uint64_t *base, uint64_t *size)
{
    uint32_t len;
    const uint8_t *v = fdt_get_prop(fdt, node, "reg", &len);
    if (!v || address_cells < 1 || address_cells > 2 || size_cells > 2)
        return false;
    uint32_t entry = 4 * (address_cells + size_cells);
    if (index >= len / entry)
        return false;
    v += (size_t)index * entry;
    *base = read_cells(v, address_cells);
    *size = read_cells(v + 4 * address_cells, size_cells);
    return true;
}

/* Maps a child-bus address of `bus` to its parent's address space with
 * bus's "ranges" (spec 2.3.8: child address, parent address, length). An
 * empty ranges is the identity; a missing one means "not mapped". */
static bool translate_one(const struct fdt *fdt, int bus, int parent, uint64_t *addr)
{
    uint32_t len;
    const uint8_t *r = fdt_get_prop(fdt, bus, "ranges", &len);
    if (!r)
        return false;
    if (len == 0)
        return true;
    uint32_t ca = fdt_address_cells(fdt, bus), pa = fdt_address_cells(fdt, parent);
    uint32_t sc = fdt_size_cells(fdt, bus);
    if (ca < 1 || ca > 2 || pa < 1 || pa > 2 || sc > 2)
        return false;
    uint32_t entry = 4 * (ca + pa + sc);
    for (uint32_t off = 0; off + entry <= len; off += entry) {
        uint64_t child = read_cells(r + off, ca);
        uint64_t parent_base = read_cells(r + off + 4 * ca, pa);
        uint64_t size = read_cells(r + off + 4 * (ca + pa), sc);
        if (*addr >= child && *addr - child < size) {
            *addr = parent_base + (*addr - child);
            return true;
        }
    }
    return false;
}

bool fdt_reg(const struct fdt *fdt, int node, unsigned index, uint64_t *base, uint64_t *size)
{
    int bus = fdt_parent(fdt, node);
    if (bus == FDT_NONE)
        return false;
    if (!fdt_read_reg(fdt, node, index, fdt_address_cells(fdt, bus), fdt_size_cells(fdt, bus),
                      base, size))
        return false;
    for (unsigned hops = 0; bus != fdt->root; hops++) {
        int parent = fdt_parent(fdt, bus);
        if (parent == FDT_NONE || hops == FDT_MAX_DEPTH || !translate_one(fdt, bus, parent, base))
            return false;
        bus = parent;
    }
    return true;
}

bool fdt_rsvmap_entry(const struct fdt *fdt, unsigned index, uint64_t *base, uint64_t *size)
{
    if (fdt->root == FDT_NONE || index >= fdt->rsvmap_count)
        return false;
    const uint8_t *e = fdt->blob + fdt->rsvmap_off + 16 * (size_t)index;
    *base = be64(e);
    *size = be64(e + 8);
    return true;
}
