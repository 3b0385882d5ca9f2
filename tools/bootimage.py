"""The Bulkhead boot-image format (the kernel's reader is kernel/boot/bootimage.c).

Layout, little-endian:
  header (64 bytes): magic "BKBOOTIM", u32 version, u32 header_size, u32 module_count,
    u32 entry_size, u64 image_size, u32 table_crc, u32 header_crc, char arch[16],
    u64 reserved
  module table: module_count entries of 64 bytes: char name[32], u64 offset, u64 size,
    u32 crc, u32 flags, u64 reserved
  module data: each module at a 4 KiB-aligned offset after the table.
CRCs are CRC-32 (zlib.crc32); header_crc covers the header with header_crc = 0.
"""
import struct
import zlib

MAGIC = b"BKBOOTIM"
VERSION = 1
HEADER = struct.Struct("<8sIIIIQII16sQ")
ENTRY = struct.Struct("<32sQQIIQ")
ALIGN = 4096
FLAG_ROOT = 1
MAX_MODULES = 16
ARCHES = ("x86_64", "riscv64")


def _align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


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
        if not 0 < len(raw) < 32:
            raise ValueError(f"module name {name!r} must be 1 to 31 bytes")
        table += ENTRY.pack(raw, offset, len(data), zlib.crc32(data), FLAG_ROOT if is_root else 0, 0)
        blobs.append((offset, data))
        offset = _align(offset + len(data))
    size = max(off + len(d) for off, d in blobs)
    header = HEADER.pack(MAGIC, VERSION, HEADER.size, len(modules), ENTRY.size, size,
                         zlib.crc32(table), 0, arch.encode(), 0)
    header = HEADER.pack(MAGIC, VERSION, HEADER.size, len(modules), ENTRY.size, size,
                         zlib.crc32(table), zlib.crc32(header), arch.encode(), 0)
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
    magic, version, hsize, count, esize, size, tcrc, hcrc, arch, _ = HEADER.unpack_from(image)
    if magic != MAGIC or version != VERSION or hsize != HEADER.size or esize != ENTRY.size:
        raise ValueError("not a version-1 Bulkhead boot image")
    if size > len(image):
        raise ValueError("truncated image")
    mods = []
    for i in range(count):
        name, off, msize, crc, flags, _ = ENTRY.unpack_from(image, HEADER.size + i * ENTRY.size)
        if zlib.crc32(image[off:off + msize]) != crc:
            raise ValueError(f"module {i} checksum mismatch")
        mods.append((name.rstrip(b"\0").decode(), off, msize, flags))
    return arch.rstrip(b"\0").decode(), mods


def _rewrite_header(image, **changes):
    fields = list(HEADER.unpack_from(image))
    names = ["magic", "version", "header_size", "module_count", "entry_size", "image_size",
             "table_crc", "header_crc", "arch", "reserved"]
    for k, v in changes.items():
        fields[names.index(k)] = v
    fields[7] = 0
    fields[7] = zlib.crc32(HEADER.pack(*fields))
    image[:HEADER.size] = HEADER.pack(*fields)


def _rewrite_entry(image, index, **changes):
    pos = HEADER.size + index * ENTRY.size
    fields = list(ENTRY.unpack_from(image, pos))
    names = ["name", "offset", "size", "crc", "flags", "reserved"]
    for k, v in changes.items():
        fields[names.index(k)] = v
    image[pos:pos + ENTRY.size] = ENTRY.pack(*fields)
    count = HEADER.unpack_from(image)[3]
    _rewrite_header(image, table_crc=zlib.crc32(bytes(image[HEADER.size:HEADER.size + count * ENTRY.size])))


def _root_index(image):
    count = HEADER.unpack_from(image)[3]
    for i in range(count):
        if ENTRY.unpack_from(image, HEADER.size + i * ENTRY.size)[4] & FLAG_ROOT:
            return i
    raise ValueError("no root module")


def _patch_root_elf(image, patch):
    """Applies patch(bytearray elf) to the root module and fixes its CRC."""
    i = _root_index(image)
    _, off, size, _, flags, _ = ENTRY.unpack_from(image, HEADER.size + i * ENTRY.size)
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


# Each corruption yields an image the kernel must reject with a clear panic.
CORRUPTIONS = {
    "truncated": lambda img: img[: len(img) // 2],
    "short-header": lambda img: img[:40],
    "bad-magic": lambda img: img.__setitem__(slice(0, 8), b"NOTBKIMG"),
    "bad-header-crc": lambda img: img.__setitem__(56, img[56] ^ 0xFF),  # the reserved field
    "wrong-arch": lambda img: _rewrite_header(
        img, arch=b"riscv64" if bytes(img[40:46]) == b"x86_64" else b"x86_64"),
    "bad-table-crc": lambda img: img.__setitem__(HEADER.size + 40, img[HEADER.size + 40] ^ 1),
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
