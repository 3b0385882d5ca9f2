"""The Bulkhead boot-image format (the kernel's reader is kernel/boot/bootimage.c).

The format is defined once, in kernel/boot/bootimage.h: its BOOTIMAGE_*
constants and the two packed structures (struct bootimage_header, struct
bootimage_entry). This module reads them from there when it is imported,
with a strict parser (read_format) that refuses anything it does not fully
understand, so the writer here and the kernel's reader cannot drift apart.
`bootimage.py --check SOURCE_DIR` (ctest tools/bootimage-format) shows the
parser refusing broken copies of the header, packs and re-reads an image,
and compares docs/boot.md's header table with the header.

Layout, little-endian: the header; the module table, module_count entries;
the module data, each module at an ALIGN-aligned offset after the table.
CRCs are CRC-32 (zlib.crc32); header_crc covers the header with header_crc = 0.
"""
import pathlib
import re
import struct
import sys
import zlib

FORMAT_HEADER = pathlib.Path(__file__).resolve().parent.parent / "kernel" / "boot" / "bootimage.h"
# The constants the header must define, each exactly once.
CONSTANTS = ("MAGIC", "VERSION", "HEADER_SIZE", "ENTRY_SIZE", "MAX_MODULES", "NAME_LEN", "ALIGN",
             "FLAG_ROOT")
# C field types and their struct codes and sizes (= alignment, all natural).
C_TYPES = {"uint32_t": ("I", 4), "uint64_t": ("Q", 8), "char": ("s", 1)}
DEFINE_RE = re.compile(r'^#define BOOTIMAGE_([A-Z_]+) +("[A-Z]+"|[0-9]+u?)\s*$')
FIELD_RE = re.compile(r"^\s*(uint32_t|uint64_t|char) +([a-z_]+)(?:\[([0-9]+|BOOTIMAGE_[A-Z_]+)\])?;"
                      r"\s*(?:/\*.*\*/)?\s*$")


class FormatError(ValueError):
    """kernel/boot/bootimage.h is not in the form this module can read."""


def _read_constants(lines):
    consts = {}
    for line in lines:
        m = DEFINE_RE.match(line)
        if not m:
            if line.startswith("#define BOOTIMAGE_"):
                raise FormatError(f"cannot read this definition: {line.strip()!r}")
            continue
        name, value = m.groups()
        if name in consts:
            raise FormatError(f"BOOTIMAGE_{name} is defined twice")
        consts[name] = value[1:-1].encode() if value.startswith('"') else int(value.rstrip("u"))
    missing = [c for c in CONSTANTS if c not in consts]
    if missing:
        raise FormatError("missing " + ", ".join("BOOTIMAGE_" + c for c in missing))
    return consts


def _read_struct(lines, tag, consts):
    """[(field, struct code, offset)] and the size of `struct tag`, which
    must have no padding (a packed little-endian struct.Struct is then the
    same layout as the C one)."""
    try:
        first = lines.index(f"struct {tag} {{") + 1
        last = lines.index("};", first)
    except ValueError:
        raise FormatError(f"no 'struct {tag} {{ ... }};' block") from None
    fields, offset, align = [], 0, 1
    for line in lines[first:last]:
        m = FIELD_RE.match(line)
        if not m:
            raise FormatError(f"struct {tag}: cannot read the field {line.strip()!r}")
        ctype, name, count = m.groups()
        code, size = C_TYPES[ctype]
        if (ctype == "char") != (count is not None):
            raise FormatError(f"struct {tag}.{name}: only char fields may be arrays, and must be")
        if count is not None:
            n = int(count) if count.isdigit() else consts.get(count[len("BOOTIMAGE_"):])
            if not isinstance(n, int):
                raise FormatError(f"struct {tag}.{name}: unknown length {count}")
            code, size = f"{n}s", n
        if offset % C_TYPES[ctype][1]:
            raise FormatError(f"struct {tag}.{name}: padding before it (offset {offset})")
        align = max(align, C_TYPES[ctype][1])
        fields.append((name, code, offset))
        offset += size
    if offset % align:
        raise FormatError(f"struct {tag}: padding at its end ({offset} bytes)")
    return fields, offset


def read_format(text):
    """The format from the text of kernel/boot/bootimage.h: (constants,
    header fields, entry fields). Raises FormatError for anything else."""
    lines = text.splitlines()
    consts = _read_constants(lines)
    header, hsize = _read_struct(lines, "bootimage_header", consts)
    entry, esize = _read_struct(lines, "bootimage_entry", consts)
    if hsize != consts["HEADER_SIZE"] or esize != consts["ENTRY_SIZE"]:
        raise FormatError(f"the structures are {hsize} and {esize} bytes, BOOTIMAGE_HEADER_SIZE "
                          f"and BOOTIMAGE_ENTRY_SIZE say {consts['HEADER_SIZE']} and "
                          f"{consts['ENTRY_SIZE']}")
    if ("magic", f"{len(consts['MAGIC'])}s", 0) not in header:
        raise FormatError("the header must open with char magic[len(BOOTIMAGE_MAGIC)]")
    return consts, header, entry


_CONSTS, _HEADER_FIELDS, _ENTRY_FIELDS = read_format(FORMAT_HEADER.read_text())
MAGIC = _CONSTS["MAGIC"]
VERSION = _CONSTS["VERSION"]
ALIGN = _CONSTS["ALIGN"]
FLAG_ROOT = _CONSTS["FLAG_ROOT"]
MAX_MODULES = _CONSTS["MAX_MODULES"]
NAME_LEN = _CONSTS["NAME_LEN"]
HEADER = struct.Struct("<" + "".join(code for _, code, _ in _HEADER_FIELDS))
ENTRY = struct.Struct("<" + "".join(code for _, code, _ in _ENTRY_FIELDS))
HEADER_NAMES = [name for name, _, _ in _HEADER_FIELDS]
ENTRY_NAMES = [name for name, _, _ in _ENTRY_FIELDS]
ARCHES = ("x86_64", "riscv64")


def header_offset(field):
    """Where `field` of the header starts."""
    return next(off for name, _, off in _HEADER_FIELDS if name == field)


def entry_offset(field):
    """Where `field` of a module table entry starts."""
    return next(off for name, _, off in _ENTRY_FIELDS if name == field)


def _pack(layout, names, **values):
    """One structure from every one of its fields, by name."""
    if sorted(values) != sorted(names):
        raise FormatError(f"fields {sorted(values)}, the structure has {names}")
    return layout.pack(*(values[n] for n in names))


def _unpack(layout, names, data, offset=0):
    return dict(zip(names, layout.unpack_from(data, offset)))


def _align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _header(arch, count, size, table, header_crc):
    return _pack(HEADER, HEADER_NAMES, magic=MAGIC, version=VERSION, header_size=HEADER.size,
                 module_count=count, entry_size=ENTRY.size, image_size=size,
                 table_crc=zlib.crc32(table), header_crc=header_crc, arch=arch.encode(),
                 reserved=0)


def pack(arch, modules):
    """modules: list of (name, bytes, is_root). Returns the image bytes."""
    if arch not in ARCHES:
        raise ValueError(f"unknown arch {arch!r}")
    if not 1 <= len(modules) <= MAX_MODULES:
        raise ValueError(f"{len(modules)} modules; 1 to {MAX_MODULES} allowed")
    if sum(1 for m in modules if m[2]) != 1:
        raise ValueError("exactly one module must be the root task")
    offset = _align(HEADER.size + ENTRY.size * len(modules))
    table, blobs = b"", []
    for name, data, is_root in modules:
        raw = name.encode()
        if not 0 < len(raw) < NAME_LEN:
            raise ValueError(f"module name {name!r} must be 1 to {NAME_LEN - 1} bytes")
        table += _pack(ENTRY, ENTRY_NAMES, name=raw, offset=offset, size=len(data),
                       crc=zlib.crc32(data), flags=FLAG_ROOT if is_root else 0, reserved=0)
        blobs.append((offset, data))
        offset = _align(offset + len(data))
    size = max(off + len(d) for off, d in blobs)
    header = _header(arch, len(modules), size, table, 0)
    header = _header(arch, len(modules), size, table, zlib.crc32(header))
    image = bytearray(size)
    image[:HEADER.size] = header
    image[HEADER.size:HEADER.size + len(table)] = table
    for off, data in blobs:
        image[off:off + len(data)] = data
    return bytes(image)


def parse(image):
    """Returns (arch, [(name, offset, size, flags)]); raises ValueError if malformed."""
    if len(image) < HEADER.size:
        raise ValueError("truncated header")
    h = _unpack(HEADER, HEADER_NAMES, image)
    if h["magic"] != MAGIC or h["version"] != VERSION or h["header_size"] != HEADER.size or \
            h["entry_size"] != ENTRY.size:
        raise ValueError(f"not a version-{VERSION} Bulkhead boot image")
    if h["image_size"] > len(image):
        raise ValueError("truncated image")
    mods = []
    for i in range(h["module_count"]):
        e = _unpack(ENTRY, ENTRY_NAMES, image, HEADER.size + i * ENTRY.size)
        if zlib.crc32(image[e["offset"]:e["offset"] + e["size"]]) != e["crc"]:
            raise ValueError(f"module {i} checksum mismatch")
        mods.append((e["name"].rstrip(b"\0").decode(), e["offset"], e["size"], e["flags"]))
    return h["arch"].rstrip(b"\0").decode(), mods


def _rewrite_header(image, **changes):
    fields = _unpack(HEADER, HEADER_NAMES, image)
    fields.update(changes, header_crc=0)
    fields["header_crc"] = zlib.crc32(_pack(HEADER, HEADER_NAMES, **fields))
    image[:HEADER.size] = _pack(HEADER, HEADER_NAMES, **fields)


def _module_count(image):
    return _unpack(HEADER, HEADER_NAMES, image)["module_count"]


def _rewrite_entry(image, index, **changes):
    pos = HEADER.size + index * ENTRY.size
    fields = _unpack(ENTRY, ENTRY_NAMES, image, pos)
    fields.update(changes)
    image[pos:pos + ENTRY.size] = _pack(ENTRY, ENTRY_NAMES, **fields)
    table = bytes(image[HEADER.size:HEADER.size + _module_count(image) * ENTRY.size])
    _rewrite_header(image, table_crc=zlib.crc32(table))


def _entry(image, index):
    return _unpack(ENTRY, ENTRY_NAMES, image, HEADER.size + index * ENTRY.size)


def _root_index(image):
    for i in range(_module_count(image)):
        if _entry(image, i)["flags"] & FLAG_ROOT:
            return i
    raise ValueError("no root module")


def _patch_root_elf(image, patch):
    """Applies patch(bytearray elf) to the root module and fixes its CRC."""
    i = _root_index(image)
    e = _entry(image, i)
    off, size = e["offset"], e["size"]
    elf = bytearray(image[off:off + size])
    patch(elf)
    image[off:off + size] = elf
    _rewrite_entry(image, i, crc=zlib.crc32(bytes(elf)))


def _elf_phdr_offset(elf, index):
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, = struct.unpack_from("<H", elf, 0x36)
    return phoff + index * phentsize


def _first_load(elf):
    phnum, = struct.unpack_from("<H", elf, 0x38)
    for i in range(phnum):
        if struct.unpack_from("<I", elf, _elf_phdr_offset(elf, i))[0] == 1:
            return _elf_phdr_offset(elf, i)
    raise ValueError("no PT_LOAD")


def _set(fmt, offset, value):
    return lambda elf: struct.pack_into(fmt, elf, offset, value)


def _flip(image, offset, bits):
    """Damages one byte without fixing any CRC."""
    image[offset] ^= bits


# Each corruption yields an image the kernel must reject with a clear panic.
CORRUPTIONS = {
    "truncated": lambda img: img[: len(img) // 2],
    "short-header": lambda img: img[:40],
    "bad-magic": lambda img: img.__setitem__(slice(0, 8), b"NOTBKIMG"),
    "bad-header-crc": lambda img: _flip(img, header_offset("reserved"), 0xFF),
    "wrong-arch": lambda img: _rewrite_header(
        img, arch=b"riscv64" if _unpack(HEADER, HEADER_NAMES, img)["arch"].startswith(b"x86_64")
        else b"x86_64"),
    "bad-table-crc": lambda img: _flip(img, HEADER.size + entry_offset("size"), 1),
    "module-out-of-bounds": lambda img: _rewrite_entry(img, 0, size=1 << 40),
    "module-crc": lambda img: img.__setitem__(len(img) - 1, img[len(img) - 1] ^ 0x5A),
    "no-root": lambda img: _rewrite_entry(img, _root_index(img), flags=0),
    "elf-bad-magic": lambda img: _patch_root_elf(img, _set("<I", 0, 0x464C457E)),
    "elf-wrong-machine": lambda img: _patch_root_elf(img, _set("<H", 0x12, 40)),
    "elf-phdrs-out-of-file": lambda img: _patch_root_elf(img, _set("<Q", 0x20, 1 << 32)),
    "elf-segment-out-of-file": lambda img: _patch_root_elf(
        img, lambda elf: struct.pack_into("<Q", elf, _first_load(elf) + 8, 1 << 40)),
    "elf-segment-in-kernel-half": lambda img: _patch_root_elf(
        img, lambda elf: struct.pack_into("<Q", elf, _first_load(elf) + 16, 0xFFFFFFFF80000000)),
    "elf-entry-outside": lambda img: _patch_root_elf(img, _set("<Q", 0x18, 0x10)),
}


def corrupt(image, kind):
    """Returns a copy of image damaged in the named way (see CORRUPTIONS)."""
    img = bytearray(image)
    result = CORRUPTIONS[kind](img)
    return bytes(result if result is not None else img)


# ---- --check: the one definition holds (ctest tools/bootimage-format) -----

def _broken_copies(text):
    """The real header broken in one way each: read_format must refuse all."""
    edits = [
        ("a constant missing", "#define BOOTIMAGE_ALIGN ", "#define BOOTIMAGE_ALIGNMENT "),
        ("a constant written as an expression", "#define BOOTIMAGE_MAX_MODULES 16",
         "#define BOOTIMAGE_MAX_MODULES (8 * 2)"),
        ("a field of a type it does not know", "    uint64_t image_size;",
         "    size_t image_size;"),
        ("padding between fields", "    uint32_t header_size;", "    uint64_t header_size;"),
        ("a structure size the constant does not say", "#define BOOTIMAGE_ENTRY_SIZE 64",
         "#define BOOTIMAGE_ENTRY_SIZE 72"),
        ("an array of integers", "    uint32_t crc;", "    uint32_t crc[1];"),
        ("an array of unknown length", "char name[BOOTIMAGE_NAME_LEN];", "char name[NAME_LEN];"),
        ("a structure missing", "struct bootimage_entry {", "struct bootimage_module_entry {"),
    ]
    copies = [("a constant defined twice", text + "#define BOOTIMAGE_VERSION 2\n")]
    for what, old, new in edits:
        if old not in text:
            raise FormatError(f"--check: cannot make the copy with {what}: {old!r} is gone")
        copies.append((what, text.replace(old, new, 1)))
    return copies


def _docs_findings(docs):
    """docs/boot.md's header table against the header's fields."""
    types = {"I": "u32", "Q": "u64"}
    want = [f"{off} {types[code]} {name}" if code in types else f"{off} char {name}[{code[:-1]}]"
            for name, code, off in _HEADER_FIELDS]
    rows = re.findall(r"^\| (\d+) \| `(char|u32|u64) ([a-z_]+(?:\[\d+\])?)` \|", docs, re.M)
    have = [f"{off} {ctype} {name}" for off, ctype, name in rows]
    return [] if have == want else [f"docs/boot.md's header table says {have}, the header {want}"]


def check(root):
    """Returns a list of problems (empty: the format is read from one place)."""
    problems = []
    text = (root / "kernel" / "boot" / "bootimage.h").read_text()
    for what, copy in _broken_copies(text):
        try:
            read_format(copy)
            problems.append(f"a header with {what} was read without complaint")
        except FormatError as e:
            print(f"  refused, {what}: {e}")
    modules = [("root", b"\x7fELF" + bytes(5000), True), ("other", b"data", False)]
    for arch in ARCHES:
        if parse(pack(arch, modules)) != (arch, [("root", ALIGN, 5004, FLAG_ROOT),
                                                 ("other", 3 * ALIGN, 4, 0)]):
            problems.append(f"{arch}: an image packed here does not read back")
    problems += _docs_findings((root / "docs" / "boot.md").read_text())
    print(f"  header {HEADER.size} bytes: {', '.join(f'{n}@{o}' for n, _, o in _HEADER_FIELDS)}")
    print(f"  entry {ENTRY.size} bytes: {', '.join(f'{n}@{o}' for n, _, o in _ENTRY_FIELDS)}")
    return problems


if __name__ == "__main__":
    if sys.argv[1:] != ["--check"]:
        sys.exit("usage: bootimage.py --check   (the format module is imported, not run)")
    found = check(FORMAT_HEADER.parent.parent.parent)
    for f in found:
        print("bootimage: " + f)
    print("bootimage format check: " + ("ok" if not found else "FAILED"))
    sys.exit(1 if found else 0)
