#!/usr/bin/env python3
"""Make a BIOS+UEFI bootable ISO (grub-mkrescue) that boots the Bulkhead kernel
with GRUB's multiboot2 command and passes the boot image as a module.

  mkiso.py --kernel kernel.elf --image bootimage.img -o bulkhead.iso [--cmdline ARGS]
"""
import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

GRUB_CFG = """\
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_output serial console
menuentry "Bulkhead" {{
    multiboot2 /boot/kernel.elf {cmdline}
    module2 /boot/bootimage.img bootimage
    boot
}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--cmdline", default="")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    if shutil.which("grub-mkrescue") is None:
        sys.exit("mkiso: grub-mkrescue not found (run tools/bulkhead setup)")
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp) / "iso"
        (root / "boot/grub").mkdir(parents=True)
        shutil.copy(a.kernel, root / "boot/kernel.elf")
        shutil.copy(a.image, root / "boot/bootimage.img")
        (root / "boot/grub/grub.cfg").write_text(GRUB_CFG.format(cmdline=a.cmdline))
        proc = subprocess.run(["grub-mkrescue", "-o", a.output, str(root)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            sys.exit("mkiso: grub-mkrescue failed:\n" + proc.stdout.decode(errors="replace"))


if __name__ == "__main__":
    main()
