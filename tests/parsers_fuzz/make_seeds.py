#!/usr/bin/env python3
"""Writes the seed corpus of the parser fuzz targets (tests/parsers_fuzz):
one small valid input per parser, from which libFuzzer mutates.

  make_seeds.py OUT_DIR [--dtb FILE]

  elf/minimal.elf           a static x86-64 executable: one r-x PT_LOAD at 4 MiB
  bootimage/minimal.img     a boot image holding that ELF as its root task
  multiboot/v1-mmap.bin     selector byte 0 (v1, info at the window start) and a
                            multiboot v1 information block with a memory map
  multiboot/v2-mmap.bin     selector byte 1 (v2) and a v2 block with a memory-map tag
  fdt/<name>.dtb            the device tree given with --dtb, cut to its totalsize
"""
import pathlib
import struct
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent.parent / "tools"))
import bootimage  # noqa: E402


def minimal_elf():
    """ELF64 header + one program header + 16 bytes of code (ud2 loop)."""
    code = b"\x0f\x0b" * 8
    ehdr = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, b"\0" * 7,
                       2, 62, 1, 0x400000 + 0x78, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x78 + len(code),
                       0x78 + len(code), 0x1000)
    return ehdr + phdr + code


def multiboot_v1():
    """flags: mem (bit 0) and mmap (bit 6); the map follows the 120-byte info."""
    mmap_pa = 0x10000 + 120
    entries = b"".join(struct.pack("<IQQI", 20, base, length, kind)
                       for base, length, kind in ((0, 0x9fc00, 1), (0x100000, 0x7f00000, 1),
                                                  (0xfec00000, 0x1000, 2)))
    info = struct.pack("<III", (1 << 0) | (1 << 6), 639, 130048)
    info += b"\0" * (44 - len(info)) + struct.pack("<II", len(entries), mmap_pa)
    info += b"\0" * (120 - len(info))
    return b"\x00" + info + entries


def multiboot_v2():
    """total size, reserved, one memory-map tag (type 6), the end tag."""
    entries = b"".join(struct.pack("<QQII", base, length, kind, 0)
                       for base, length, kind in ((0, 0x9fc00, 1), (0x100000, 0x7f00000, 1)))
    tag = struct.pack("<IIII", 6, 16 + len(entries), 24, 0) + entries
    tag += b"\0" * (-len(tag) % 8)
    end = struct.pack("<II", 0, 8)
    body = tag + end
    return b"\x01" + struct.pack("<II", 8 + len(body), 0) + body


def dmar():
    """An ACPI DMAR as QEMU's q35 makes it with -device intel-iommu: one
    unit at 0xfed90000 that includes every PCI device, with I/O APIC 0 in
    its scope; then an RMRR for device 00:1d.7. The first byte (2) makes
    fuzz_acpi read it as a table."""
    drhd = struct.pack("<HHBBHQ", 0, 24, 1, 0, 0, 0xfed90000) + bytes([3, 8, 0, 0, 0, 0xff, 0, 0])
    rmrr = struct.pack("<HHHHQQ", 1, 32, 0, 0, 0x7f000000, 0x7f00ffff) + bytes([1, 8, 0, 0, 0, 0, 0x1d, 7])
    body = bytes([38, 1]) + bytes(10) + drhd + rmrr
    length = 36 + len(body)
    header = b"DMAR" + struct.pack("<IBB", length, 1, 0) + b"BOCHS BXPC    " + bytes(12)
    table = bytearray(header + body)
    table[9] = (-sum(table)) & 0xff
    return bytes([2]) + bytes(table)


def main():
    out = pathlib.Path(sys.argv[1])
    seeds = {
        "elf/minimal.elf": minimal_elf(),
        "bootimage/minimal.img": bootimage.pack("x86_64", [("root", minimal_elf(), True)]),
        "multiboot/v1-mmap.bin": multiboot_v1(),
        "multiboot/v2-mmap.bin": multiboot_v2(),
        "acpi/dmar": dmar(),
    }
    if "--dtb" in sys.argv:
        dtb = pathlib.Path(sys.argv[sys.argv.index("--dtb") + 1]).read_bytes()
        total = struct.unpack(">I", dtb[4:8])[0]
        seeds["fdt/qemu-virt.dtb"] = dtb[:total]
    for rel, data in seeds.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
        print(f"{out / rel}: {len(data)} bytes")


if __name__ == "__main__":
    main()
