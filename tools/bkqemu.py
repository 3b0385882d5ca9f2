"""QEMU command lines and exit-status decoding, shared by `bulkhead run`,
the test runner and the benchmarks.

The kernel reports its exit status (enum kernel_exit in kernel/kernel.h) through
a QEMU device: on x86-64 isa-debug-exit (QEMU exits 33 + 2*status), on RISC-V the
SiFive test device (QEMU exits 32 + status). Any other exit code means the
kernel never got to report (QEMU error, reset or triple fault with -no-reboot).
"""
import shutil

STATUS_NAMES = {0: "pass", 1: "fail", 2: "user-fault", 3: "panic"}
OPENSBI_FW_DYNAMIC = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
# Debian's fw_jump jumps to 0x80200000, where QEMU's -kernel puts the
# kernel, with the device tree at 0x82200000 (PLATFORM-NOTES).
OPENSBI_FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
# The machines the kernel boots on (docs/smp.md, "Boot matrix"): x86-64 q35
# (PCI Express, ECAM through ACPI's MCFG) and pc (i440FX: no MCFG, so the
# block driver finds no configuration window and says so); RISC-V virt, and
# virt with its ACLINT (aclint=on: the kernel then sends IPIs through the
# SSWI device instead of the firmware, docs/smp.md).
MACHINES = {"x86_64": ("q35", "pc"), "riscv64": ("virt", "virt-aclint")}
# What -M gets for each machine whose name is not QEMU's own.
MACHINE_ARGS = {"virt-aclint": "virt,aclint=on"}
ARCHES = ("x86_64", "riscv64")


def qemu_binary(arch):
    return {"x86_64": "qemu-system-x86_64", "riscv64": "qemu-system-riscv64"}[arch]


def command(arch, kernel=None, image=None, iso=None, append=None, memory="512M", cpu=None,
            bios=None, kvm=False, interactive=False, icount=False, disk=None, iommu=False,
            extra=(), disk_options="", smp=None, machine=None):
    """Returns the argv that boots `kernel` (or `iso`) with boot image `image`,
    and `disk` (a raw image file) as a virtio block device: virtio-pci, modern
    only, on q35; virtio-mmio version 2 on virt. `iommu` (x86-64) adds an
    Intel VT-d unit, before any PCI device (QEMU puts a device behind it
    only if it exists when the device is made), and makes the disk's DMA go
    through it (virtio's ACCESS_PLATFORM). Under TCG it needs no split
    irqchip: the kernel leaves interrupt remapping off. `disk_options` is
    appended to the disk's -drive (e.g. the noisy-neighbour bench's
    ",cache=writeback,aio=threads,throttling.iops-total=500"). `smp` is the
    number of CPUs (-smp; QEMU's default, one, when None). Under -icount
    QEMU runs the vCPUs in turn on one thread (PLATFORM-NOTES). `machine`
    is one of MACHINES[arch] (the first when None)."""
    machine = machine or MACHINES[arch][0]
    if machine not in MACHINES[arch]:
        raise ValueError(f"machine {machine!r} is not one of {', '.join(MACHINES[arch])} "
                         f"for {arch}")
    cmd = [qemu_binary(arch)]
    if arch == "x86_64":
        cmd += ["-M", machine, "-cpu", cpu or ("host" if kvm else "max"),
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        if iommu:
            cmd += ["-device", "intel-iommu"]
        if bios:  # e.g. OVMF, for UEFI
            cmd += ["-bios", bios]
    else:
        cmd += ["-M", MACHINE_ARGS.get(machine, machine), "-bios", bios or "default"]
        if cpu:
            cmd += ["-cpu", cpu]
    cmd += ["-accel", "kvm" if kvm else "tcg", "-m", memory, "-no-reboot"]
    if smp:
        cmd += ["-smp", str(smp)]
    if interactive and arch == "x86_64":
        # No VGA and no NIC: SeaBIOS then prints no screen escapes and iPXE no
        # banner, so the console shows only the kernel. mon: keeps Ctrl-A X.
        cmd += ["-display", "none", "-vga", "none", "-net", "none", "-serial", "mon:stdio"]
    elif interactive:
        cmd += ["-nographic"]
    else:
        cmd += ["-display", "none", "-serial", "stdio", "-monitor", "none"]
    if icount:
        cmd += ["-icount", "shift=0,sleep=off"]
    if disk:
        cmd += ["-drive", f"file={disk},if=none,id=disk0,format=raw{disk_options}"]
        if arch == "x86_64":
            # No NIC: the disk's INTx line is then the only PCI line in use.
            if "-net" not in cmd:
                cmd += ["-net", "none"]
            cmd += ["-device", "virtio-blk-pci,drive=disk0,disable-legacy=on" +
                    (",iommu_platform=on" if iommu else "")]
        else:
            cmd += ["-global", "virtio-mmio.force-legacy=false",
                    "-device", "virtio-blk-device,drive=disk0"]
    if iso:
        cmd += ["-cdrom", str(iso)]
    else:
        cmd += ["-kernel", str(kernel)]
        if image:
            cmd += ["-initrd", str(image)]
        if append:
            cmd += ["-append", append]
    return cmd + list(extra)


def decode_status(arch, code):
    """Maps QEMU's exit code to the kernel's status name, or None."""
    if arch == "x86_64":
        if code >= 33 and code % 2 == 1:
            return STATUS_NAMES.get((code - 33) // 2)
        return None
    if 32 <= code < 48:
        return STATUS_NAMES.get(code - 32)
    return None


def describe_exit(arch, code):
    status = decode_status(arch, code)
    if status:
        return f"kernel status '{status}' (QEMU exit code {code})"
    if code == 0:
        return "QEMU exited 0 without a kernel status (machine reset or triple fault?)"
    return f"QEMU exited {code} without a kernel status (QEMU error or crash)"


def make_disk(path, size):
    """Creates (or empties) the raw disk image `path` of `size` bytes, e.g. "4M"."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    n = int(size[:-1]) * units[size[-1].upper()] if size[-1].upper() in units else int(size)
    if n <= 0 or n % 512:
        raise ValueError(f"disk size {size}: not a positive multiple of 512 bytes")
    with open(path, "wb") as f:
        f.truncate(n)
    return path


def missing_tools(arch):
    return [b for b in (qemu_binary(arch),) if shutil.which(b) is None]
