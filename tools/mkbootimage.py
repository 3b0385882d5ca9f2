#!/usr/bin/env python3
"""Pack user programs into a Bulkhead boot image (format: tools/bootimage.py).

  mkbootimage.py --arch x86_64 --root roottask.elf [--module prog.elf ...] -o boot.img
  mkbootimage.py --corrupt KIND -i good.img -o bad.img     (for the bad-image tests)
  mkbootimage.py --list boot.img
"""
import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bootimage  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=bootimage.ARCHES)
    ap.add_argument("--root", help="the root task ELF")
    ap.add_argument("--module", action="append", default=[], help="another program ELF")
    ap.add_argument("--corrupt", choices=sorted(bootimage.CORRUPTIONS))
    ap.add_argument("-i", "--input", help="image to corrupt")
    ap.add_argument("--list", metavar="IMAGE", help="print an image's modules")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()

    if args.list:
        arch, mods = bootimage.parse(pathlib.Path(args.list).read_bytes())
        print(f"arch {arch}")
        for name, off, size, flags in mods:
            print(f"  {name:24} offset 0x{off:08x} size {size:8} {'root' if flags & 1 else ''}")
        return
    if not args.output:
        ap.error("-o is required")
    if args.corrupt:
        if not args.input:
            ap.error("--corrupt needs -i")
        data = bootimage.corrupt(pathlib.Path(args.input).read_bytes(), args.corrupt)
    else:
        if not args.arch or not args.root:
            ap.error("--arch and --root are required")
        mods = [(pathlib.Path(args.root).stem, pathlib.Path(args.root).read_bytes(), True)]
        mods += [(pathlib.Path(m).stem, pathlib.Path(m).read_bytes(), False) for m in args.module]
        try:
            data = bootimage.pack(args.arch, mods)
        except ValueError as e:
            sys.exit(f"mkbootimage: {e}")
    pathlib.Path(args.output).write_bytes(data)


if __name__ == "__main__":
    main()
