#!/usr/bin/env python3
"""The Linux side of Bulkhead's IPC benchmark (issue 4), in guest instructions.

  tools/bench/linux.py [--iterations N] [--out FILE] [--build-dir DIR] [--no-vm]
                       [--no-cpu] [--no-ipc] [--no-density] [--no-io] [--self-test]

Boots Debian's own x86-64 kernel (the package that linux-image-amd64 depends on,
fetched with `apt-get download`, never installed) on QEMU TCG with
`-icount shift=0,sleep=off`, from an initramfs holding busybox-static and our
static test programs, and collects their results, each as min, median and 99th
percentile of guest instructions per operation over N individually timed
iterations after a warm-up:
- tests/bench/linux/pingpong.c: null syscall, pipe, futex, UNIX socket and TCP
  loopback ping-pong between two processes;
- tests/bench/linux/cpu_isolation.c (issue 12): a victim waking every 1 ms
  (clock_nanosleep, timer slack 1 ns) alone and beside a hog limited to 70 %
  by cgroup v2's cpu.max, its wake-up lateness in ns of virtual time and both
  groups' CPU shares; --no-cpu leaves it out;
- tests/bench/linux/vmexit.c (issue 17): a VMM of our own on KVM, which the
  guest kernel offers because TCG's `-cpu max` has AMD SVM; /init loads the
  kernel package's own irqbypass, kvm, ccp and kvm-amd modules first. It
  measures VM exits handled in KVM (cpuid, an unknown hypercall) and an exit
  to the VMM (an `out`), against an empty loop. --no-vm leaves it out.
(--no-ipc leaves out that whole first guest.) Then, each in guests of their own:
- the VM way's density (issue 13, --no-density leaves it out): the smallest
  `-m` at which a guest of busybox and tests/bench/linux/hello.c reaches that
  program, by bisection over boots (smallest_passing), and the TSC hello reads
  first: QEMU start to the program in instructions (vm_min_memory_mib,
  vm_tenants_in_256mib, vm_boot_to_program);
- tests/bench/linux/blkio.c on a virtio-blk disk (issue 14, --no-io leaves it
  out): one 4 KiB O_DIRECT read's instructions under -icount with the kernel's
  idle time taken out (linux_read_4k), then, without -icount and with the disk
  throttled to IO_CAPACITY IOPS, the noisy neighbour under no control,
  io.max, BFQ and io.cost (io_victim_alone_linux,
  io_victim_beside_flooder_<set-up>, io_device_busy_percent_<set-up>).
--self-test checks the bisection and the parsers on made-up input.

Writes the records to FILE (default build/bench/linux.json) as a JSON list of
{"arch", "system", "operation", "unit", "min", "median", "p99", "iterations"}
(the wake-up lateness rows add "max"; the share rows are {"arch", "system",
"operation", "unit": "percent", "value", "policy_percent", "policy",
"used_ns", "elapsed_ns"}; the density and IO rows are described in tools/bench/README.md) and prints a table. Exits non-zero, saying why, when a tool or package is
missing, the build fails, or any record does not arrive.

Downloads and extractions are cached under DIR/cache and reused as they are:
delete that folder to pick up a newer Debian kernel.
"""
import argparse
import json
import lzma
import math
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SOURCES = ROOT / "tests" / "bench" / "linux"
DEFAULT_BUILD = ROOT / "build" / "bench" / "linux"
DEFAULT_OUT = ROOT / "build" / "bench" / "linux.json"

OPERATIONS = ("null_syscall", "pipe_pingpong", "futex_pingpong", "unix_pingpong",
              "tcp_loopback_pingpong")
# cpu_isolation.c's records, in its order: the victim's wake-up lateness (ns)
# alone and beside the hog, then each cgroup's share of the CPU (percent).
CPU_OPERATIONS = ("cpu_victim_wake_alone", "cpu_victim_wake_beside_hog", "cpu_share_victim",
                  "cpu_share_hog")
# vmexit.c's records, in its order: the empty L2 loop is the baseline.
VM_OPERATIONS = ("vm_l2_empty_loop", "vm_exit_cpuid", "vm_exit_hypercall", "vm_exit_pio_ioeventfd",
                 "vm_exit_pio_to_vmm")
# The kernel modules KVM on AMD needs, in load order (each one's "depends="
# field names only modules before it: kvm needs irqbypass, kvm-amd needs kvm
# and ccp, for SEV), as paths in the kernel package.
KVM_MODULES = {
    "irqbypass": "kernel/virt/lib/irqbypass.ko",
    "kvm": "kernel/arch/x86/kvm/kvm.ko",
    "ccp": "kernel/drivers/crypto/ccp/ccp.ko",
    "kvm-amd": "kernel/arch/x86/kvm/kvm-amd.ko",
}
# The modules the IO benchmarks need (issue 14), in load order: Debian builds
# virtio, its PCI transport, virtio-blk and BFQ as modules. Each one's
# "depends=" names only modules before it.
BLOCK_MODULES = {
    "virtio_ring": "kernel/drivers/virtio/virtio_ring.ko",
    "virtio": "kernel/drivers/virtio/virtio.ko",
    "virtio_pci_modern_dev": "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "virtio_pci_legacy_dev": "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "virtio_pci": "kernel/drivers/virtio/virtio_pci.ko",
    "virtio_blk": "kernel/drivers/block/virtio_blk.ko",
    "bfq": "kernel/block/bfq.ko",
}
RECORD_KEYS = ("arch", "system", "operation", "unit", "min", "median", "p99", "iterations")
OPTIONAL_KEYS = ("max",)
SHARE_KEYS = ("arch", "system", "operation", "unit", "value", "policy_percent", "policy", "used_ns",
              "elapsed_ns")
WARMUP = 2000
APPEND = "console=ttyS0 quiet panic=-1"

# Debian package -> a file that shows it is installed.
HOST_PACKAGES = {
    "qemu-system-x86": "/usr/bin/qemu-system-x86_64",
    "libc6-dev": "/usr/lib/x86_64-linux-gnu/libc.a",
    "linux-libc-dev": "/usr/include/linux/kvm.h",  # the KVM API, for vmexit.c
}


class BenchError(Exception):
    pass


def say(msg):
    print(f"bench-linux: {msg}", flush=True)


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise BenchError(f"`{' '.join(str(c) for c in cmd)}` failed (exit {proc.returncode}):\n"
                         f"{proc.stdout}{proc.stderr}".rstrip())
    return proc.stdout


def sudo():
    return [] if os.geteuid() == 0 else ["sudo"]


def apt_install(packages):
    say("installing " + " ".join(packages) + " (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    proc = subprocess.run(sudo() + ["apt-get", "install", "-y", "-q", *packages], env=env)
    if proc.returncode != 0:
        subprocess.run(sudo() + ["apt-get", "update", "-q"], env=env)
        proc = subprocess.run(sudo() + ["apt-get", "install", "-y", "-q", *packages], env=env)
    if proc.returncode != 0:
        raise BenchError("could not install " + " ".join(packages))


def compiler():
    cc = os.environ.get("CC")
    if cc:
        return cc
    for name in ("gcc", "clang", "cc"):
        if shutil.which(name):
            return name
    return None


def ensure_host_tools():
    for tool in ("apt-get", "apt-cache", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise BenchError(f"'{tool}' not found: this script needs a Debian host")
    missing = [pkg for pkg, path in HOST_PACKAGES.items() if not os.path.exists(path)]
    if compiler() is None:
        missing.append("gcc")
    if missing:
        apt_install(missing)


# --- (a) Debian packages, downloaded and unpacked without installing ---------

def kernel_package():
    """The versioned linux-image-*-amd64 package that linux-image-amd64 depends on."""
    for attempt in range(2):
        out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                             capture_output=True, text=True).stdout
        m = re.search(r"^\s*Depends:\s*(linux-image-\S+-amd64)\s*$", out, re.M)
        if m:
            return m.group(1)
        if attempt == 0:
            say("apt-cache knows no linux-image-amd64: running apt-get update")
            subprocess.run(sudo() + ["apt-get", "update", "-q"], capture_output=True)
    raise BenchError("apt-cache cannot resolve linux-image-amd64 (is a Debian mirror configured?)")


def fetch_package(cache, package, wanted):
    """Downloads `package` into `cache` and unpacks the files whose paths match
    the regex `wanted` into cache/<package>/. Does nothing if that was done."""
    dest = cache / package
    info_file = dest / "package.json"
    if info_file.exists():
        return json.loads(info_file.read_text())
    cache.mkdir(parents=True, exist_ok=True)
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        say(f"downloading {package} (apt-get download)")
        # Root's downloads are otherwise sandboxed as user _apt, which cannot write here.
        run(["apt-get", "-q", "-o", "APT::Sandbox::User=root", "download", package], cwd=cache)
        debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        raise BenchError(f"apt-get download {package} left no .deb in {cache}")
    deb = debs[-1]
    version = run(["dpkg-deb", "-f", deb, "Version"]).strip()
    # Unpack only what we use (the kernel package also holds ~400 MB of modules):
    # dpkg-deb gives the data tarball, Python's tarfile picks the files.
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files = []
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            name = member.name.lstrip("./")
            if member.isfile() and re.fullmatch(wanted, name):
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                target.chmod(0o755)
                files.append(name)
    proc.stdout.close()
    if proc.wait() != 0:
        raise BenchError(f"dpkg-deb --fsys-tarfile {deb} failed")
    if not files:
        raise BenchError(f"{deb.name} holds no file matching {wanted}")
    info = {"package": package, "version": version, "files": files}
    info_file.write_text(json.dumps(info, indent=2) + "\n")
    return info


# The kernel, and the KVM modules built with it (a module loads only into the
# kernel of its own build: same version, same symbol CRCs). Compressed names
# are accepted too: Debian 12's package ships them as plain .ko, later
# kernels may compress them.
ALL_MODULES = {**KVM_MODULES, **BLOCK_MODULES}
KERNEL_FILES = (r"boot/vmlinuz-.*|boot/config-.*|lib/modules/[^/]+/(" +
                "|".join(re.escape(p) for p in ALL_MODULES.values()) + r")(\.xz|\.zst)?")


def unpacked_all(info):
    """Whether a cached unpacking holds every module of ALL_MODULES and the config."""
    return (all(any(f.split("/", 3)[-1].startswith(path) for f in info["files"])
                for path in ALL_MODULES.values()) and
            any(f.startswith("boot/config-") for f in info["files"]))


def fetch_kernel(cache):
    done = sorted(cache.glob("linux-image-*-amd64/package.json"))
    info = json.loads(done[-1].read_text()) if done else None
    if info and not unpacked_all(info):
        # A cache filled before the VM or IO benchmarks holds fewer files:
        # unpack the same package again (its .deb is kept).
        say(f"{info['package']}: unpacking its KVM and block modules and its config too")
        (cache / info["package"] / "package.json").unlink()
        info = fetch_package(cache, info["package"], KERNEL_FILES)
    if info is None:
        info = fetch_package(cache, kernel_package(), KERNEL_FILES)
    vmlinuz = cache / info["package"] / next(f for f in info["files"] if f.startswith("boot/vmlinuz-"))
    return vmlinuz, info


def kvm_modules(cache, info, table=None):
    """{name: module bytes, uncompressed} for `table` (KVM_MODULES by default), in load order.
    busybox's insmod passes the file to the kernel as it is, and Linux 6.1
    loads only uncompressed modules that way, so .ko.xz is decompressed here
    (Python's lzma); .ko.zst has no decompressor in Python's standard library."""
    modules = {}
    for name, path in (table or KVM_MODULES).items():
        found = [f for f in info["files"] if re.fullmatch(r"lib/modules/[^/]+/" + re.escape(path) +
                                                          r"(\.xz|\.zst)?", f)]
        if not found:
            raise BenchError(f"{info['package']} {info['version']} has no {path}(.xz): "
                             "cannot load it in the guest (--no-vm skips the VM rows, --no-io "
                             "the IO rows)")
        data = (cache / info["package"] / found[0]).read_bytes()
        if found[0].endswith(".xz"):
            data = lzma.decompress(data)
        elif found[0].endswith(".zst"):
            raise BenchError(f"{found[0]} is zstd-compressed, which Python's standard library "
                             "cannot decompress (use --no-vm to skip the VM rows)")
        modules[name] = data
    return modules


def fetch_busybox(cache):
    info = fetch_package(cache, "busybox-static", r"bin/busybox")
    return cache / "busybox-static" / "bin" / "busybox", info


# --- (b) the test program ----------------------------------------------------

def build_program(build_dir, name):
    """tests/bench/linux/<name>.c as a static program build_dir/<name>."""
    source, exe = SOURCES / f"{name}.c", build_dir / name
    if exe.exists() and exe.stat().st_mtime >= source.stat().st_mtime:
        return exe
    cc = compiler()
    say(f"building {exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe} with {cc}")
    run([cc, "-std=c17", "-O2", "-static", "-Wall", "-Wextra", "-Werror", "-o", exe, source])
    return exe


# --- (c) the initramfs, cpio "newc" --------------------------------------------

INIT = """#!/bin/busybox sh
# Bulkhead benchmark guest: mount the basics, bring up loopback, run, power off.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
$bb ip link set lo up 2>/dev/null || $bb ifconfig lo 127.0.0.1 up
echo "BENCH-START kernel $($bb uname -r)"
/pingpong {args}
echo "BENCH-END status $?"
{cpu}{vm}$bb poweroff -f
"""

# The VM part of /init: load KVM, run the VMM. Every way it can fail prints a
# "vmexit:" line (collect() reports them all): a module insmod refused, no
# /dev/kvm (with the kernel's own KVM messages: on a CPU without SVM,
# kvm-amd says so there), and the VMM's own errors.
INIT_VM = """for m in {modules}; do
    if ! out=$($bb insmod /lib/modules/$m.ko 2>&1); then echo "vmexit: insmod $m.ko failed: $out"; fi
done
if [ ! -e /dev/kvm ]; then
    echo "vmexit: no /dev/kvm after loading {modules}; the kernel's messages:"
    $bb dmesg | $bb grep -iE 'kvm|svm|ccp' | $bb sed 's/^/vmexit:   /'
fi
# What KVM runs with: TCG's SVM features as the guest kernel sees them, and
# kvm_amd's choices (npt=Y: nested paging; nrips=1: the CPU reports the next
# rip, so KVM skips an intercepted instruction without decoding it).
echo "# cpu: $($bb grep -m1 '^flags' /proc/cpuinfo | $bb tr ' ' '\\n' | $bb grep -xE 'svm|npt|nrip_save|vgif|vmcb_clean|flushbyasid|decodeassists|tsc_scale|lbrv|avic|v_vmsave_vmload|pausefilter|constant_tsc|nonstop_tsc' | $bb tr '\\n' ' ')"
echo "# kvm_amd: $(cd /sys/module/kvm_amd/parameters 2>/dev/null && $bb grep -H . npt nrips vgif vls avic lbrv nested 2>/dev/null | $bb tr '\\n' ' ')"
/vmexit {args}
echo "BENCH-VM-END status $?"
"""

# The CPU-isolation part of /init: cpu_isolation.c mounts cgroup2 itself.
INIT_CPU = """/cpu_isolation
echo "BENCH-CPU-END status $?"
"""


class Cpio:
    """Writes a cpio archive in the "newc" (SVR4, no CRC) format the kernel unpacks."""

    def __init__(self):
        self.parts = []
        self.ino = 1

    def _entry(self, name, mode, data=b"", nlink=1, rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0)
        self.ino += 1
        header = b"070701" + b"".join(b"%08x" % f for f in fields)
        self.parts += [header, name_b, b"\0" * (-(len(header) + len(name_b)) % 4),
                       data, b"\0" * (-len(data) % 4)]

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, perm=0o755):
        self._entry(name, stat.S_IFREG | perm, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, perm=0o600):
        self._entry(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def finish(self):
        self.ino = 0
        self._entry("TRAILER!!!", 0)
        blob = b"".join(self.parts)
        return blob + b"\0" * (-len(blob) % 512)


def write_initramfs(path, busybox, pingpong, args, vm=None, cpu=None):
    """vm, when given, is (vmexit program, {module name: bytes}, its arguments);
    cpu the cpu_isolation program."""
    c = Cpio()
    c.dir(".")
    for d in ("bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)
    c.file("bin/busybox", busybox.read_bytes())
    c.symlink("bin/sh", "busybox")
    c.file("pingpong", pingpong.read_bytes())
    cpu_part = ""
    if cpu:
        c.file("cpu_isolation", cpu.read_bytes())
        cpu_part = INIT_CPU
    vm_part = ""
    if vm:
        vmexit, modules, vm_args = vm
        c.file("vmexit", vmexit.read_bytes())
        for name, data in modules.items():
            c.file(f"lib/modules/{name}.ko", data, 0o644)
        vm_part = INIT_VM.format(modules=" ".join(modules), args=" ".join(vm_args))
    c.file("init", INIT.format(args=" ".join(args), cpu=cpu_part, vm=vm_part).encode())
    path.write_bytes(c.finish())
    return path


# --- (d) boot and (e) collect ----------------------------------------------------

# Two inputs would still differ from run to run under -icount: TCG's RDRAND and
# RDSEED return host entropy, and the RTC starts at the host's wall clock; both
# seed the kernel's RNG (KASLR, ASLR, TCP sequence numbers, hash keys), which
# moves TCP medians by a few instructions. Without them, and with a fixed
# virtual RTC, every run repeats to the instruction. The measured paths do not
# use RDRAND: the medians match those with plain `-cpu max`.
CPU = "max,-rdrand,-rdseed"
RTC = "base=2024-01-01T00:00:00,clock=vm"


def qemu_command(vmlinuz, initramfs, memory="512M", icount=True, disk=None, append=APPEND):
    """disk, when given, is (raw image, throttle in IOPS or None): a
    virtio-blk disk with the host page cache and a thread pool, as issue 14
    prescribes for the noisy-neighbour scenario."""
    cmd = ["qemu-system-x86_64", "-M", "q35", "-accel", "tcg", "-cpu", CPU, "-m", memory,
           "-smp", "1"] + (["-icount", "shift=0,sleep=off"] if icount else []) + [
           "-rtc", RTC, "-display", "none",
           "-serial", "stdio", "-monitor", "none", "-no-reboot", "-kernel", str(vmlinuz),
           "-initrd", str(initramfs), "-append", append]
    if disk:
        image, iops = disk
        drive = f"file={image},if=none,id=bench-disk,format=raw,cache=writeback,aio=threads"
        if iops:
            drive += f",throttling.iops-total={iops}"
        cmd += ["-drive", drive, "-device", "virtio-blk-pci,drive=bench-disk"]
    return cmd


def boot(cmd, log_path, timeout, echo=None):
    """Runs QEMU, saving the serial output to log_path; returns (lines, exit code
    or None on timeout, seconds)."""
    start = time.monotonic()
    lines = []
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)

        def reader():
            for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip("\r\n")
                lines.append(line)
                log.write(line + "\n")
                log.flush()
                if echo:
                    echo(line)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        t.join(timeout=5)
    return lines, code, time.monotonic() - start


def keep(rec):
    """The record's fields, or the names of those missing."""
    keys = SHARE_KEYS if rec.get("unit") == "percent" else RECORD_KEYS
    missing = [k for k in keys if k not in rec]
    if missing:
        return None, missing
    return {k: rec[k] for k in keys + OPTIONAL_KEYS if k in rec}, []


def parse(lines):
    records, problems, warnings, kernel, status, vm_status, cpu_status = \
        {}, [], [], None, None, None, None
    for line in lines:
        m = re.search(r"BENCH (\{.*\})", line)
        if m:
            try:
                rec = json.loads(m.group(1))
            except json.JSONDecodeError as e:
                problems.append(f"unreadable record ({e}): {line}")
                continue
            kept, missing = keep(rec)
            if missing:
                problems.append(f"record without {', '.join(missing)}: {line}")
                continue
            records[rec["operation"]] = kept
            continue
        m = re.search(r"BENCH-START kernel (\S+)", line)
        if m:
            kernel = m.group(1)
        m = re.search(r"BENCH-END status (\d+)", line)
        if m:
            status = int(m.group(1))
        m = re.search(r"BENCH-VM-END status (\d+)", line)
        if m:
            vm_status = int(m.group(1))
        m = re.search(r"BENCH-CPU-END status (\d+)", line)
        if m:
            cpu_status = int(m.group(1))
        if line.startswith("# "):
            continue  # what a program reports besides its records
        if "pingpong: warning:" in line:
            warnings.append(line.strip())
        elif "pingpong:" in line or "vmexit:" in line or "cpu_isolation:" in line:
            problems.append(line.strip())
    return records, problems, warnings, kernel, status, vm_status, cpu_status


def table(records, title):
    """Shares (percent) print their value under "median" and their policy
    under "p99"."""
    rows = [("operation", "min", "median", "p99", "iterations")]
    for r in records:
        if r["unit"] == "percent":
            policy = "-" if r["policy_percent"] is None else f"policy {r['policy_percent']} %"
            rows.append((r["operation"], "", f"{r['value']:.2f} %", policy, ""))
        else:
            rows.append((r["operation"], f"{r['min']:,}", f"{r['median']:,}", f"{r['p99']:,}",
                         f"{r['iterations']:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    out = [title]
    for n, row in enumerate(rows):
        out.append("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                             for i, c in enumerate(row)))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def collect(iterations=10000, out=DEFAULT_OUT, build_dir=DEFAULT_BUILD, warmup=WARMUP,
            block=0, timeout=None, verbose=False, vm=True, cpu=True, ipc=True, dense=True,
            io=True):
    """Prepares, boots and returns the list of records (also written to `out`).
    vm=False leaves out the VM exits (vmexit.c and the KVM modules), cpu=False
    the CPU-isolation scenario (cpu_isolation.c), ipc=False that whole first
    guest (pingpong, cpu_isolation, vmexit); dense=False the VM way's density
    (hello.c, issue 13), io=False the IO rows (blkio.c, issue 14)."""
    build_dir = pathlib.Path(build_dir).resolve()
    out = pathlib.Path(out).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    ensure_host_tools()
    cache = build_dir / "cache"
    vmlinuz, kinfo = fetch_kernel(cache)
    busybox, binfo = fetch_busybox(cache)
    ordered, failed = [], []
    if ipc:
        ordered += ipc_run(build_dir, cache, vmlinuz, kinfo, busybox, binfo, iterations, warmup,
                           block, timeout, verbose, vm, cpu)
    if dense:
        ordered += density(build_dir, cache, vmlinuz, kinfo, busybox)
        print(density_table(ordered))
    if io:
        # One QEMU at a time: the instruction count first, then the scenario
        # timed on host real time. A failed IO part (read4k races the host:
        # see io_run) costs its own rows, not the rows measured before it.
        for mode in ("read4k", "noisy"):
            try:
                rows = io_run_retried(mode, build_dir, cache, vmlinuz, kinfo, busybox, verbose)
            except BenchError as e:
                failed.append(str(e))
                continue
            if mode == "read4k":
                print(f"Linux 4 KiB O_DIRECT read: median {rows[0]['median']:,} instructions "
                      f"(-icount, reads whose window held no idle time)")
            else:
                print(io_table(rows))
            ordered += rows
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(ordered, indent=2) + "\n")
    say(f"wrote {out}")
    if failed:
        raise BenchError(f"{out} holds every row but the IO part's that failed:\n" +
                         "\n".join(failed))
    return ordered


IO_TRIES = 3


def io_run_retried(mode, build_dir, cache, vmlinuz, kinfo, busybox, verbose):
    """read4k counts only the reads the host answered before the guest ran
    out of work, a race in host time: a boot with too few of them is tried
    again (up to IO_TRIES boots). The noisy scenario runs once."""
    tries = IO_TRIES if mode == "read4k" else 1
    for attempt in range(1, tries + 1):
        try:
            return io_run(mode, build_dir, cache, vmlinuz, kinfo, busybox, verbose=verbose)
        except BenchError as e:
            if attempt == tries:
                raise
            reason = (str(e).splitlines() + [""])[1].strip()  # the first "  - " line
            say(f"IO {mode}: boot {attempt} of {tries} failed ({reason}), booting again")
    raise AssertionError("unreachable")


def ipc_run(build_dir, cache, vmlinuz, kinfo, busybox, binfo, iterations, warmup, block,
            timeout, verbose, vm, cpu):
    """The first guest: pingpong, cpu_isolation and vmexit, under -icount."""
    pingpong = build_program(build_dir, "pingpong")
    counts = ["-n", str(iterations), "-w", str(warmup)]
    args = counts + (["-t", str(block)] if block else [])
    vm_part = (build_program(build_dir, "vmexit"), kvm_modules(cache, kinfo), counts) if vm else None
    cpu_program = build_program(build_dir, "cpu_isolation") if cpu else None
    initramfs = write_initramfs(build_dir / "initramfs.cpio", busybox, pingpong, args, vm_part,
                                cpu_program)
    cmd = qemu_command(vmlinuz, initramfs)
    if timeout is None:
        # A whole default run (12,000 round trips of each operation) takes about
        # 15 s here, boot included, and the VM exits about as long again
        # (TCG runs each VMRUN and #VMEXIT through a TLB flush), the CPU
        # scenario about 10 s (two seconds of virtual time, most of it a
        # spinning hog): this leaves head-room for slower hosts.
        timeout = 120 + 0.02 * (iterations + warmup) + (60 if cpu else 0)
    say(f"booting {kinfo['package']} {kinfo['version']} with busybox-static {binfo['version']}, "
        f"{iterations} iterations after {warmup} warm-up (timeout {timeout:.0f} s)")

    def echo(line):
        if verbose or line.startswith(("BENCH", "# ")) or any(
                f"{p}:" in line for p in ("pingpong", "vmexit", "cpu_isolation")):
            print("  | " + line, flush=True)

    log = build_dir / "serial.log"
    lines, code, secs = boot(cmd, log, timeout, echo)
    records, problems, warnings, kernel, status, vm_status, cpu_status = parse(lines)
    operations = OPERATIONS + (CPU_OPERATIONS if cpu else ()) + (VM_OPERATIONS if vm else ())
    missing = [op for op in operations if op not in records]
    say(f"QEMU ran {secs:.1f} s, " + ("timed out" if code is None else f"exit code {code}"))
    if (missing or problems or status != 0 or code != 0 or (vm and vm_status != 0) or
            (cpu and cpu_status != 0)):
        why = []
        if code is None:
            why.append(f"QEMU did not finish within {timeout:.0f} s (killed)")
        elif code != 0:
            why.append(f"QEMU exited {code}")
        if kernel is None:
            why.append("the guest never started /init (no BENCH-START line)")
        elif status is None:
            why.append("/pingpong never finished (no BENCH-END line)")
        elif status != 0:
            why.append(f"/pingpong exited {status}")
        if cpu and status is not None and cpu_status is None:
            why.append("/cpu_isolation never finished (no BENCH-CPU-END line)")
        elif cpu and cpu_status:
            why.append(f"/cpu_isolation exited {cpu_status}")
        if vm and status is not None and vm_status is None:
            why.append("/vmexit never finished (no BENCH-VM-END line)")
        elif vm and vm_status:
            why.append(f"/vmexit exited {vm_status}")
        why += problems
        if missing:
            why.append("missing records: " + ", ".join(missing))
        tail = "\n".join("  | " + l for l in lines[-25:])
        raise BenchError("Linux benchmark failed:\n  - " + "\n  - ".join(why) +
                         f"\nlast serial lines (whole log: {log}):\n{tail}")
    for w in warnings:
        say(w)
    ordered = [records[op] for op in operations]
    print(table(ordered, f"Linux {kernel} ({kinfo['package']} {kinfo['version']}), QEMU TCG "
                         f"-icount shift=0, 1 vCPU: guest instructions per operation"))
    return ordered


# --- (f) the VM way's density (issue 13) ----------------------------------------

# The smallest `-m` is searched between these (MiB), to 1 MiB. 256 MiB is the
# memory Bulkhead's density row fills with tenants; a guest that needs more
# would fit no tenant there, so the search starts above it only if 256 fails.
DENSITY_LOW_MIB, DENSITY_HIGH_MIB, DENSITY_CEILING_MIB = 8, 256, 1024
DENSITY_MEMORY_MIB = 256  # tenants per this much memory, as Bulkhead's row
DENSITY_INIT = """#!/bin/busybox sh
# Bulkhead density guest: the trivial program, then power off.
/bin/busybox mount -t proc proc /proc
/hello
/bin/busybox poweroff -f
"""


def smallest_passing(passes, low, high):
    """The smallest m in [low, high] for which passes(m) is true, when passes
    is monotone (false below some m, true from it on), by bisection; and the
    probes as [(m, result)] in the order made. passes(high) is probed first
    and must be true (else BenchError). At most 1 + ceil(log2(high - low + 1))
    probes: each one a Linux boot, so the search stays bounded."""
    if low > high:
        raise BenchError(f"empty search range [{low}, {high}]")
    probes = []

    def probe(m):
        result = bool(passes(m))
        probes.append((m, result))
        return result

    if not probe(high):
        raise BenchError(f"the guest does not run at {high} MiB either")
    good, bad = high, low - 1  # passes(good); not passes(bad), or bad below the range
    while good - bad > 1:
        mid = (good + bad) // 2
        if probe(mid):
            good = mid
        else:
            bad = mid
    return good, probes


def parse_hello(lines):
    """The BENCH-HELLO line's fields {tsc, monotonic_ns, idle_ns}, or None."""
    for line in lines:
        m = re.search(r"BENCH-HELLO tsc=(\d+) monotonic_ns=(\d+) idle_ns=(-?\d+)", line)
        if m:
            return {"tsc": int(m.group(1)), "monotonic_ns": int(m.group(2)),
                    "idle_ns": int(m.group(3))}
    return None


def why_not(lines):
    """The guest's last words when it did not reach the program (a panic,
    the OOM killer, a failed unpacking), for the log."""
    keys = ("Kernel panic", "Out of memory", "Initramfs unpacking failed", "not syncing",
            "oom-kill", "Unable to", "error")
    found = [l.strip() for l in lines if any(k in l for k in keys)]
    return found[-1] if found else (lines[-1].strip() if lines else "no output")


def density(build_dir, cache, vmlinuz, kinfo, busybox, timeout=180):
    """The VM way's rows: vm_min_memory_mib (bisection of -m over boots of a
    guest with busybox and tests/bench/linux/hello.c), vm_tenants_in_256mib
    and vm_boot_to_program (the TSC hello reads first, at the minimum -m)."""
    hello = build_program(build_dir, "hello")
    c = Cpio()
    c.dir(".")
    for d in ("bin", "dev", "proc"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.file("bin/busybox", busybox.read_bytes())
    c.symlink("bin/sh", "busybox")
    c.file("hello", hello.read_bytes())
    c.file("init", DENSITY_INIT.encode())
    initramfs = build_dir / "initramfs-density.cpio"
    initramfs.write_bytes(c.finish())
    seen = {}

    def passes(mib):
        cmd = qemu_command(vmlinuz, initramfs, memory=f"{mib}M")
        lines, code, secs = boot(cmd, build_dir / f"serial-density-{mib}M.log", timeout)
        hello_line = parse_hello(lines)
        seen[mib] = hello_line
        say(f"-m {mib}M: " + (f"hello ran at TSC {hello_line['tsc']:,} ({secs:.0f} s)" if hello_line
                              else f"no program ({'timed out' if code is None else f'exit {code}'}"
                                   f", {secs:.0f} s): {why_not(lines)}"))
        return hello_line is not None

    say(f"density: bisecting -m in [{DENSITY_LOW_MIB}, {DENSITY_HIGH_MIB}] MiB, one boot per probe")
    high = DENSITY_HIGH_MIB
    while True:
        try:
            low_mib = DENSITY_LOW_MIB if high == DENSITY_HIGH_MIB else high // 2 + 1
            mib, probes = smallest_passing(passes, low_mib, high)
            break
        except BenchError:
            if high >= DENSITY_CEILING_MIB:
                raise BenchError(f"the density guest does not reach its program even with "
                                 f"{high} MiB (logs: {build_dir}/serial-density-*.log)")
            high *= 2
    at_min, at_high = seen[mib], seen[high]
    common = {"arch": "x86_64", "system": "linux", "kernel": kinfo["package"]}
    pre_kernel = at_min["tsc"] - at_min["monotonic_ns"]
    return [
        {**common, "operation": "vm_min_memory_mib", "unit": "MiB", "value": mib,
         "probes": [[m, ok] for m, ok in probes], "initramfs_bytes": initramfs.stat().st_size},
        {**common, "operation": "vm_tenants_in_256mib", "unit": "tenants",
         "value": DENSITY_MEMORY_MIB // mib, "memory_mib": DENSITY_MEMORY_MIB,
         "per_tenant_mib": mib},
        {**common, "operation": "vm_boot_to_program", "unit": "instructions",
         "min": at_min["tsc"], "median": at_min["tsc"], "p99": at_min["tsc"], "iterations": 1,
         "memory_mib": mib, "before_kernel_clock": pre_kernel,
         "kernel_to_program": at_min["monotonic_ns"], "kernel_idle_ns": at_min["idle_ns"],
         f"at_{high}_mib": at_high["tsc"]},
    ]


# --- (g) the IO benchmarks (issue 14) -------------------------------------------

IO_CAPACITY = 500      # QEMU's throttling.iops-total: the disk's capacity in IOPS
IO_RESERVATION = 100   # the victim's reservation, IOPS (Linux's io.max set-up leaves it free)
IO_SECONDS = 8         # each timed run of the victim
IO_DISK_MIB = 64
IO_SETUPS = ("nocontrol", "iomax", "bfq", "iocost")
IO_INIT = """#!/bin/busybox sh
# Bulkhead IO benchmark guest: the block modules, then blkio, then power off.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
for m in {modules}; do
    if ! out=$($bb insmod /lib/modules/$m.ko 2>&1); then echo "blkio: insmod $m.ko failed: $out"; fi
done
[ -b /dev/vda ] || echo "blkio: no /dev/vda after loading {modules}"
echo "BENCH-START kernel $($bb uname -r)"
/blkio {args}
echo "BENCH-IO-END status $?"
$bb poweroff -f
"""


def io_operations(mode):
    if mode == "read4k":
        return ("linux_read_4k",)
    ops = ["io_victim_alone_linux"]
    for setup in IO_SETUPS:
        ops += [f"io_victim_beside_flooder_{setup}", f"io_device_busy_percent_{setup}"]
    return tuple(ops)


def parse_io(lines):
    """(records by operation, problems, status) from the IO guest's output."""
    records, problems, status = {}, [], None
    for line in lines:
        m = re.search(r"BENCH (\{.*\})", line)
        if m:
            try:
                rec = json.loads(m.group(1))
                records[rec["operation"]] = rec
            except (json.JSONDecodeError, KeyError) as e:
                problems.append(f"unreadable record ({e}): {line}")
            continue
        m = re.search(r"BENCH-IO-END status (\d+)", line)
        if m:
            status = int(m.group(1))
        elif "blkio:" in line and not line.startswith("# "):
            problems.append(line.strip())
    return records, problems, status


def make_disk(path, mib=IO_DISK_MIB):
    """A raw disk image of zeros, every block written (no holes: each read is a
    real read of the host file)."""
    if path.exists() and path.stat().st_size == mib << 20:
        return path
    chunk = b"\0" * (1 << 20)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(chunk)
    return path


def io_run(mode, build_dir, cache, vmlinuz, kinfo, busybox, iterations=2000, timeout=None,
           verbose=False):
    """Boots the IO guest once: mode "noisy" without -icount and with the
    throttled disk, "read4k" under -icount with the disk unthrottled."""
    blkio = build_program(build_dir, "blkio")
    modules = kvm_modules(cache, kinfo, BLOCK_MODULES)
    if mode == "noisy":
        args = ["noisy", "-d", "/dev/vda", "-c", str(IO_CAPACITY), "-r", str(IO_RESERVATION),
                "-t", str(IO_SECONDS)]
    else:
        args = ["read4k", "-d", "/dev/vda", "-n", str(iterations), "-w", "100"]
    c = Cpio()
    c.dir(".")
    for d in ("bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)
    c.file("bin/busybox", busybox.read_bytes())
    c.symlink("bin/sh", "busybox")
    c.file("blkio", blkio.read_bytes())
    for name, data in modules.items():
        c.file(f"lib/modules/{name}.ko", data, 0o644)
    c.file("init", IO_INIT.format(modules=" ".join(modules), args=" ".join(args)).encode())
    initramfs = build_dir / f"initramfs-io-{mode}.cpio"
    initramfs.write_bytes(c.finish())
    disk = make_disk(build_dir / "disk.img")
    # read4k's disk is not throttled: a read the host answers in microseconds
    # often completes before the vCPU runs out of work, and those reads are
    # the ones counted (blkio.c says why). A throttled read would halt the
    # vCPU for milliseconds of host time, in which sleep=off runs every
    # guest timer there is, each jump a timer interrupt inside the window.
    # idle=poll (read4k only): a read the host has not answered when the
    # guest runs out of work spins in the idle loop instead of halting. A
    # halt under sleep=off jumps the virtual clock to the next guest timer,
    # whose interrupt then lands in the window; spinning keeps the clock
    # moving by instructions, so fewer windows hold idle time (200 reads at
    # load 5: 176 counted against 146 with halts) and the counted ones are
    # the same read path (median 14,697 both ways).
    cmd = qemu_command(vmlinuz, initramfs, icount=(mode == "read4k"),
                       disk=(disk, IO_CAPACITY if mode == "noisy" else None),
                       append=APPEND + (" idle=poll" if mode == "read4k" else ""))
    if timeout is None:
        # Noisy: per set-up two timed runs, the drains and the flooder's
        # settling, about 20 s; read4k: about 0.3 s of host time per read.
        timeout = 180 + (len(IO_SETUPS) * (2 * IO_SECONDS + 4) if mode == "noisy"
                         else 0.3 * iterations)
    say(f"IO {mode}: booting with {disk.name} ({IO_DISK_MIB} MiB)"
        + (f", throttled to {IO_CAPACITY} IOPS, host real time (no -icount)" if mode == "noisy"
           else ", -icount shift=0,sleep=off") + f" (timeout {timeout:.0f} s)")

    def echo(line):
        if verbose or line.startswith(("BENCH", "# ")) or "blkio:" in line:
            print("  | " + line, flush=True)

    log = build_dir / f"serial-io-{mode}.log"
    lines, code, secs = boot(cmd, log, timeout, echo)
    records, problems, status = parse_io(lines)
    missing = [op for op in io_operations(mode) if op not in records]
    say(f"QEMU ran {secs:.1f} s, " + ("timed out" if code is None else f"exit code {code}"))
    if missing or problems or status != 0 or code != 0:
        why = problems + ([f"missing records: {', '.join(missing)}"] if missing else [])
        why.append("QEMU timed out" if code is None else f"QEMU exited {code}, blkio {status}")
        tail = "\n".join("  | " + l for l in lines[-25:])
        raise BenchError(f"Linux IO benchmark ({mode}) failed:\n  - " + "\n  - ".join(why) +
                         f"\nlast serial lines (whole log: {log}):\n{tail}")
    return [records[op] for op in io_operations(mode)]


def density_table(records):
    by = {r["operation"]: r for r in records}
    m, t, b = by["vm_min_memory_mib"], by["vm_tenants_in_256mib"], by["vm_boot_to_program"]
    probes = ", ".join(f"{mib} " + ("runs" if ok else "fails") for mib, ok in m["probes"])
    return (f"The VM way: smallest -m that runs hello {m['value']} MiB "
            f"(probes in MiB: {probes}), "
            f"{t['value']} tenants in {t['memory_mib']} MiB; QEMU start to hello "
            f"{b['median']:,} instructions ({b['before_kernel_clock']:,} before the kernel's clock "
            f"starts, {b['kernel_to_program']:,} after)")


def io_table(records):
    rows = [("operation", "IOPS", "p50 us", "p99 us", "victim share", "busy")]
    busy = {r["setup"]: r for r in records if r["operation"].startswith("io_device_busy")}
    for r in records:
        if r["unit"] != "us":
            continue
        share = f"{r['victim_share_percent']:.1f} %" if "victim_share_percent" in r else ""
        b = busy.get(r["setup"]) if "victim_share_percent" in r else None
        rows.append((r["operation"], f"{r['iops']:.1f}", f"{r['median']:,}", f"{r['p99']:,}",
                     share, f"{b['value']:.1f} %" if b else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                               for i, c in enumerate(row)) for row in rows)


def self_test():
    """Checks the pure logic against made-up input: the -m bisection against
    every threshold of a small range (and that a guest failing at the top
    is an error), the BENCH-HELLO and IO parsers, and that each record
    lacking a field or an end line is reported. Boots nothing."""
    failures = []

    def expect(what, got, want):
        if got != want:
            failures.append(f"{what}: got {got!r}, want {want!r}")

    low, high = 8, 40
    for threshold in range(low, high + 1):
        calls = []
        found, probes = smallest_passing(lambda m: calls.append(m) or m >= threshold, low, high)
        expect(f"bisection, threshold {threshold}", found, threshold)
        expect(f"bisection, threshold {threshold}: probes recorded", [p[0] for p in probes], calls)
        bound = 1 + math.ceil(math.log2(high - low + 1))
        if len(calls) > bound:
            failures.append(f"bisection, threshold {threshold}: {len(calls)} probes > {bound}")
        if any(m < low or m > high for m in calls):
            failures.append(f"bisection, threshold {threshold}: probed outside [{low}, {high}]")
    try:
        smallest_passing(lambda m: False, low, high)
        failures.append("bisection: a guest that fails at the top of the range was not refused")
    except BenchError:
        pass
    expect("hello line", parse_hello(["noise", "BENCH-HELLO tsc=6135425424 monotonic_ns=1750000000 "
                                      "idle_ns=0"]),
           {"tsc": 6135425424, "monotonic_ns": 1750000000, "idle_ns": 0})
    expect("no hello line", parse_hello(["Kernel panic - not syncing: Out of memory"]), None)
    expect("why not", why_not(["a", "Kernel panic - not syncing: System is deadlocked on memory",
                               "b"]), "Kernel panic - not syncing: System is deadlocked on memory")
    good = ['BENCH {"operation": "linux_read_4k", "unit": "instructions", "median": 5}',
            "BENCH-IO-END status 0"]
    records, problems, status = parse_io(good)
    expect("IO records", list(records), ["linux_read_4k"])
    expect("IO problems", problems, [])
    expect("IO status", status, 0)
    records, problems, status = parse_io(['BENCH {"unit": "us"}', "blkio: pread /dev/vda: EIO",
                                          "# blkio: a note"])
    expect("IO record without an operation", len(problems), 2)
    expect("IO without its end line", status, None)
    expect("IO operations of noisy", io_operations("noisy")[:2],
           ("io_victim_alone_linux", "io_victim_beside_flooder_nocontrol"))
    made_up = [{"operation": "vm_min_memory_mib", "value": 89, "probes": [[256, True], [88, False]]},
               {"operation": "vm_tenants_in_256mib", "value": 2, "memory_mib": 256},
               {"operation": "vm_boot_to_program", "median": 6000, "before_kernel_clock": 4000,
                "kernel_to_program": 2000}]
    text = density_table(made_up)
    if not all(part in text for part in ("89 MiB", "256 runs, 88 fails", "2 tenants", "6,000")):
        failures.append(f"density summary: {text}")
    text = io_table([{"operation": "io_victim_beside_flooder_bfq", "unit": "us", "setup": "bfq",
                      "iops": 256.0, "median": 3702, "p99": 11462, "victim_share_percent": 51.5},
                     {"operation": "io_device_busy_percent_bfq", "unit": "percent", "setup": "bfq",
                      "value": 99.3}])
    if "51.5 %" not in text or "99.3 %" not in text:
        failures.append(f"IO table: {text}")
    for f in failures:
        print("FAIL: " + f)
    print(f"linux.py self-test: {'FAILED' if failures else 'passed'} "
          f"({high - low + 1} bisection thresholds, parsers)")
    return 1 if failures else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=10000,
                    help="timed iterations per operation (default 10000)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="JSON results (default build/bench/linux.json)")
    ap.add_argument("--build-dir", default=str(DEFAULT_BUILD),
                    help="work folder with the download cache (default build/bench/linux)")
    ap.add_argument("--warmup", type=int, default=WARMUP,
                    help=f"untimed round trips before each operation (default {WARMUP})")
    ap.add_argument("--block", type=int, default=0,
                    help="also print the median of every BLOCK round trips, warm-up included")
    ap.add_argument("--timeout", type=float, help="seconds before QEMU is killed")
    ap.add_argument("-v", "--verbose", action="store_true", help="echo the whole serial output")
    ap.add_argument("--no-vm", action="store_true",
                    help="leave out the VM exits (vmexit.c on KVM inside the guest)")
    ap.add_argument("--no-cpu", action="store_true",
                    help="leave out the CPU-isolation scenario (cpu_isolation.c, cgroup v2)")
    ap.add_argument("--no-ipc", action="store_true",
                    help="leave out the first guest (pingpong, cpu_isolation and vmexit)")
    ap.add_argument("--no-density", action="store_true",
                    help="leave out the VM way's density (the -m bisection, hello.c)")
    ap.add_argument("--no-io", action="store_true",
                    help="leave out the IO rows (blkio.c: one read's instructions, the noisy "
                         "neighbour)")
    ap.add_argument("--self-test", action="store_true",
                    help="check the bisection and the parsers against made-up input, boot nothing")
    a = ap.parse_args(argv)
    if a.self_test:
        return self_test()
    if a.iterations < 1 or a.warmup < 0:
        ap.error("--iterations must be at least 1 and --warmup at least 0")
    try:
        collect(a.iterations, a.out, a.build_dir, a.warmup, a.block, a.timeout, a.verbose,
                not a.no_vm, not a.no_cpu, not a.no_ipc, not a.no_density, not a.no_io)
    except BenchError as e:
        print(f"bench-linux: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
