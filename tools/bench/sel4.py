#!/usr/bin/env python3
"""seL4's IPC round trip, measured the way Bulkhead's is (issue 17: every anchor
reproducible), from a seL4 source tree the user provides.

  tools/bench/sel4.py --sel4-src PATH [--arch x86_64] [--arch riscv64]
                      [--config NAME ...] [--iterations N] [--out FILE]
                      [--build-dir DIR] [--timeout S] [-v]
  tools/bench/sel4.py --self-test

PATH must hold seL4 14.0.0 or later (seL4_TCB_SetFlags). For each arch and configuration (CONFIGS) it
1. configures and builds seL4's standalone kernel (cmake + ninja, Debian's
   gcc or gcc-riscv64-linux-gnu) with the options of PLATFORM-NOTES' "How the
   seL4 figures were measured": release, fast path on, printing off, one core;
   x86-64 pc99 with the FS/GS base through MSRs, FXSAVE and no PCID; RISC-V
   qemu-riscv-virt (its device tree dumped from this host's QEMU with 512 MiB);
   the variants turn on MCS, or (x86-64) turn off the Meltdown skim window;
2. builds our own root task (tools/bench/sel4/roottask.c) against that tree's
   libsel4 headers: an endpoint and a server TCB, the server looping on
   ReplyRecv in a second VSpace that shares the root task's code frames, then
   in the root task's own; 0-word Calls, WARMUP then N timed one by one;
3. boots it under QEMU TCG with -icount shift=0,sleep=off, where rdtsc (x86-64)
   and rdinstret (RISC-V) count guest instructions: x86-64 through QEMU's
   multiboot loader (-kernel: seL4's kernel.elf as ELF32, -initrd: the root
   task); RISC-V through OpenSBI and a loader of ours
   (tools/bench/sel4/loader_riscv64.c) in place of seL4's elfloader;
4. parses the SEL4BENCH lines of the serial output into records
   {"arch", "system": "sel4", "operation", "unit": "instructions", "min",
   "median", "p99", "iterations", "sel4_version", "config", "server",
   "address_spaces", "counter"}, operations named sel4_[mcs_]ipc_call_reply_0w_
   {2as,1as}[_noskim], and writes them to FILE (default build/bench/sel4.json),
   which `run.py --sel4 FILE` merges into results.json.

Nothing is installed: a missing tool or Python module of seL4's build is named
with the `apt-get install` line that provides it (Debian packages only; seL4's
device-tree tools import pyfdt, which Debian does not package, so a stand-in
of ours, tools/bench/sel4/pyfdt, is put on their path). seL4's build runs with
/usr/bin first on PATH, so that Debian's python3 (with those modules) runs its
generators. Not part of CI (it needs a seL4 tree); --self-test checks the
serial-log parser, the records and run.py's merge on a canned log, and is.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import bkqemu  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent / "sel4"
DEFAULT_BUILD = ROOT / "build" / "bench" / "sel4"
DEFAULT_OUT = ROOT / "build" / "bench" / "sel4.json"
DEFAULT_ITERATIONS, WARMUP = 10000, 1000
MEMORY_MIB = 512  # the guest's RAM; the RISC-V device tree is dumped with it

# PLATFORM-NOTES, "How the seL4 figures were measured". LibSel4UseThreadLocals
# only shapes libsel4's headers (the IPC buffer pointer becomes a global, so
# the server needs no TLS); the kernel is the same.
COMMON_OPTIONS = {
    "KernelMaxNumNodes": "1", "KernelOptimisation": "-O2", "KernelFastpath": "ON",
    "KernelDebugBuild": "OFF", "KernelPrinting": "OFF", "KernelBenchmarks": "none",
    "KernelVerificationBuild": "OFF", "KernelIsMCS": "OFF", "LibSel4UseThreadLocals": "OFF",
}
ARCH_OPTIONS = {
    "x86_64": {"KernelPlatform": "pc99", "KernelSel4Arch": "x86_64", "KernelFSGSBase": "msr",
               "KernelFPU": "FXSAVE", "KernelSupportPCID": "OFF", "KernelSkimWindow": "ON"},
    "riscv64": {"KernelPlatform": "qemu-riscv-virt", "KernelSel4Arch": "riscv64",
                "QEMU_MEMORY": str(MEMORY_MIB)},
}
# name: (options over the arch's, operation prefix, operation suffix, the
# server's kind). "noskim" is the like-for-like x86-64 configuration:
# Bulkhead has no Meltdown mitigation of that kind.
CONFIGS = {
    "x86_64": {"default": ({}, "sel4_", "", "active"),
               "noskim": ({"KernelSkimWindow": "OFF"}, "sel4_", "_noskim", "active"),
               "mcs": ({"KernelIsMCS": "ON"}, "sel4_mcs_", "", "passive")},
    "riscv64": {"default": ({}, "sel4_", "", "active"),
                "mcs": ({"KernelIsMCS": "ON"}, "sel4_mcs_", "", "passive")},
}
ROOTTASK_OPERATIONS = ("ipc_call_reply_0w_2as", "ipc_call_reply_0w_1as")
COUNTER = {"x86_64": "rdtsc", "riscv64": "rdinstret"}
CROSS_PREFIX = {"x86_64": "", "riscv64": "riscv64-linux-gnu-"}
CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-ffreestanding",
          "-fno-stack-protector", "-fno-pic", "-fno-pie", "-nostdlib", "-static", "-no-pie",
          "-Wl,--build-id=none", "-Wl,-z,max-page-size=4096", "-Wl,--no-warn-rwx-segments"]
# Neither thread may touch FPU or SIMD registers: seL4 runs both with FPU
# switching disabled (seL4_TCBFlag_fpuDisabled), as in PLATFORM-NOTES.
ARCH_CFLAGS = {
    "x86_64": ["-mgeneral-regs-only", "-mno-red-zone"],
    "riscv64": ["-march=rv64imac_zicsr_zifencei", "-mabi=lp64", "-mcmodel=medany",
                "-Wl,--no-relax"],
}
# Physical placement on RISC-V virt (RAM from 0x80000000; seL4's kernel at
# 0x80200000, right after OpenSBI; QEMU's device tree near the top): our
# loader, the copy of the device tree, the root task's ELF file as QEMU loads
# it, and the user image seL4 is given, in the ascending order seL4 wants.
RISCV_LOADER, RISCV_DTB, RISCV_ROOTTASK_FILE, RISCV_UI = (0x90000000, 0x90800000, 0x91000000,
                                                           0x92000000)

# What seL4's build needs, as (how to test for it, Debian package).
TOOLS = {"cmake": "cmake", "ninja": "ninja-build", "gcc": "gcc", "objcopy": "binutils",
         "xmllint": "libxml2-utils"}
ARCH_TOOLS = {"x86_64": {"qemu-system-x86_64": "qemu-system-x86"},
              "riscv64": {"riscv64-linux-gnu-gcc": "gcc-riscv64-linux-gnu",
                          "dtc": "device-tree-compiler", "qemu-system-riscv64": "qemu-system-misc"}}
# The modules seL4 16's generators import (xmllint checks its syscall XML).
PY_MODULES = {"ply": "python3-ply", "jinja2": "python3-jinja2", "lxml": "python3-lxml",
              "yaml": "python3-yaml"}
HOST_PYTHON = "/usr/bin/python3"

LINE = re.compile(r"^SEL4BENCH (.*)$")


class BenchError(Exception):
    pass


# ---- Host checks ------------------------------------------------------------

def missing_packages(arches, which=shutil.which, python_has=None, exists=os.path.exists):
    """Debian packages whose tools, files or Python modules are missing, in order."""
    def default_python_has(module):
        return subprocess.run([HOST_PYTHON, "-c", f"import {module}"], capture_output=True
                              ).returncode == 0
    python_has = python_has or default_python_has
    missing = []
    tools = dict(TOOLS)
    for arch in arches:
        tools.update(ARCH_TOOLS[arch])
    for tool, package in tools.items():
        if not which(tool) and package not in missing:
            missing.append(package)
    if not exists(HOST_PYTHON):
        missing.append("python3")
    else:
        missing += [pkg for mod, pkg in PY_MODULES.items() if not python_has(mod)]
    if "riscv64" in arches and not exists(bkqemu.OPENSBI_FW_DYNAMIC):
        missing.append("opensbi")
    return missing


def check_host(arches):
    missing = missing_packages(arches)
    if missing:
        raise BenchError("missing for seL4's build and boot: "
                         f"apt-get install -y --no-install-recommends {' '.join(missing)}")


def sel4_version(src):
    """The tree's seL4 version, once it is known to be a tree the method works
    with: it needs seL4_TCB_SetFlags (seL4 14.0.0 on) to turn FPU switching off."""
    version = src / "VERSION"
    if not (src / "CMakeLists.txt").exists() or not version.exists():
        raise BenchError(f"{src}: not a seL4 source tree (no CMakeLists.txt and VERSION)")
    constants = src / "libsel4" / "include" / "sel4" / "constants.h"
    if not constants.exists() or "seL4_TCBFlag_fpuDisabled" not in constants.read_text():
        raise BenchError(f"{src}: seL4 {version.read_text().strip()} has no "
                         "seL4_TCBFlag_fpuDisabled (seL4_TCB_SetFlags came in 14.0.0), and the "
                         "method runs both threads with FPU switching disabled")
    return version.read_text().strip()


# ---- Building ---------------------------------------------------------------

def build_env(build):
    """PATH with Debian's python3 first (seL4's cmake runs `python3`), and
    our pyfdt stand-in on PYTHONPATH."""
    bindir = build / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    link = bindir / "python3"
    if not link.exists():
        link.symlink_to(HOST_PYTHON)
    return dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", PYTHONPATH=str(HERE))


def options_for(arch, config):
    opts = dict(COMMON_OPTIONS, **ARCH_OPTIONS[arch])
    opts.update(CONFIGS[arch][config][0])
    return opts


def step(cmd, log, env=None, cwd=None, verbose=False):
    """Runs one build step; its output goes to `log`, and on failure its tail
    into the error."""
    if verbose:
        print("$ " + " ".join(str(c) for c in cmd), flush=True)
    with open(log, "a") as f:
        f.write("$ " + " ".join(str(c) for c in cmd) + "\n")
        f.flush()
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    if proc.returncode != 0:
        tail = "".join(pathlib.Path(log).read_text().splitlines(True)[-15:])
        raise BenchError(f"{cmd[0]} failed (exit {proc.returncode}); the end of {log}:\n{tail}")


def build_kernel(src, arch, config, out, env, verbose):
    """seL4's kernel.elf and the libsel4 headers it generates, in out/kernel."""
    kdir = out / "kernel"
    kdir.mkdir(parents=True, exist_ok=True)
    log = out / "build.log"
    log.write_text("")
    opts = options_for(arch, config)
    step(["cmake", "-G", "Ninja", f"-DCMAKE_TOOLCHAIN_FILE={src / 'gcc.cmake'}",
          f"-DCROSS_COMPILER_PREFIX={CROSS_PREFIX[arch]}"] +
         [f"-D{k}={v}" for k, v in opts.items()] + [str(src)], log, env, kdir, verbose)
    targets = subprocess.run(["ninja", "-t", "targets", "all"], cwd=kdir, env=env,
                             capture_output=True, text=True).stdout
    headers = [t.split(":")[0] for t in targets.splitlines() if re.match(r"^libsel4/\S+\.h:", t)]
    step(["ninja", "kernel.elf"] + headers, log, env, kdir, verbose)
    return kdir


def include_dirs(src, kdir, arch):
    """libsel4's include path: the tree's headers, then those its build made."""
    a, plat = ("x86", "pc99") if arch == "x86_64" else ("riscv", "qemu-riscv-virt")
    lib, gen = src / "libsel4", kdir / "libsel4"
    dirs = [lib / "include", lib / "arch_include" / a, lib / "sel4_arch_include" / arch,
            lib / "sel4_plat_include" / plat, lib / "mode_include" / "64", gen / "include",
            gen / "arch_include" / a, gen / "sel4_arch_include" / arch, gen / "autoconf",
            gen / "gen_config", kdir / "gen_config"]
    return [f"-I{d}" for d in dirs]


def build_roottask(src, kdir, arch, out, iterations, env, verbose):
    elf = out / "roottask.elf"
    step([CROSS_PREFIX[arch] + "gcc"] + CFLAGS + ARCH_CFLAGS[arch] +
         [f"-DITERATIONS={iterations}", f"-DWARMUP={WARMUP}", f"-Wl,-T,{HERE / 'roottask.ld'}"] +
         include_dirs(src, kdir, arch) +
         [str(HERE / f"start_{arch}.S"), str(HERE / "roottask.c"), "-o", str(elf)],
         out / "build.log", env, verbose=verbose)
    return elf


def elf_entry_and_base(path):
    """(entry, lowest p_vaddr, its p_paddr) of a 64-bit little-endian ELF."""
    data = pathlib.Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise BenchError(f"{path}: not a 64-bit ELF file")
    entry, phoff = int.from_bytes(data[24:32], "little"), int.from_bytes(data[32:40], "little")
    phentsize, phnum = int.from_bytes(data[54:56], "little"), int.from_bytes(data[56:58], "little")
    loads = []
    for i in range(phnum):
        ph = data[phoff + i * phentsize:phoff + (i + 1) * phentsize]
        if int.from_bytes(ph[0:4], "little") == 1:
            loads.append((int.from_bytes(ph[16:24], "little"), int.from_bytes(ph[24:32], "little")))
    if not loads:
        raise BenchError(f"{path}: no loadable segment")
    vaddr, paddr = min(loads)
    return entry, vaddr, paddr


def build_boot_files(kdir, arch, out, env, verbose):
    """What QEMU boots: x86-64, the kernel as ELF32 (QEMU's multiboot loader
    takes no ELF64); RISC-V, our loader, told where the kernel lives."""
    kernel = kdir / "kernel.elf"
    if arch == "x86_64":
        kernel32 = out / "kernel32.elf"
        step(["objcopy", "-O", "elf32-i386", str(kernel), str(kernel32)], out / "build.log", env,
             verbose=verbose)
        return {"kernel": kernel32}
    entry, vaddr, paddr = elf_entry_and_base(kernel)
    giga = (1 << 30) - 1
    if vaddr & giga != paddr & giga:
        # The loader maps the kernel's window with one 1 GiB page.
        raise BenchError(f"{kernel}: virtual {vaddr:#x} and physical {paddr:#x} differ within "
                         "a 1 GiB page; the loader cannot map that")
    loader = out / "loader.elf"
    defines = {"KERNEL_ENTRY": entry, "KERNEL_VBASE": vaddr & ~giga, "KERNEL_PBASE": paddr & ~giga,
               "ROOTTASK_FILE": RISCV_ROOTTASK_FILE, "DTB_PADDR": RISCV_DTB, "UI_PADDR": RISCV_UI}
    step([CROSS_PREFIX[arch] + "gcc"] + CFLAGS + ARCH_CFLAGS[arch] +
         [f"-D{k}={v:#x}ul" for k, v in defines.items()] +
         [f"-Wl,--defsym,LOADER_PADDR={RISCV_LOADER:#x}", f"-Wl,-T,{HERE / 'loader_riscv64.ld'}",
          str(HERE / "loader_riscv64.S"), str(HERE / "loader_riscv64.c"), "-o", str(loader)],
         out / "build.log", env, verbose=verbose)
    return {"kernel": kernel, "loader": loader}


# ---- Booting ------------------------------------------------------------------

def qemu_command(arch, boot, roottask):
    memory = f"{MEMORY_MIB}M"
    if arch == "x86_64":
        return bkqemu.command(arch, kernel=boot["kernel"], image=roottask, memory=memory,
                              icount=True)
    return bkqemu.command(arch, kernel=boot["loader"], memory=memory, icount=True, extra=[
        "-device", f"loader,file={boot['kernel']}",
        "-device", f"loader,file={roottask},addr={RISCV_ROOTTASK_FILE:#x},force-raw=on"])


def boot(cmd, timeout, log):
    """The serial output of one boot: until QEMU exits (the root task ends it
    through QEMU's exit device) or `timeout` seconds pass."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        text, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        text, _ = proc.communicate()
    text = text.decode(errors="replace")
    pathlib.Path(log).write_text(text)
    return text


# ---- Results --------------------------------------------------------------------

def parse_serial(text):
    """{operation: {"min", "median", "p99", "iterations"}} from a root task's
    serial output. Raises BenchError when the root task reported a failure,
    did not finish, or a line is malformed, missing or repeated."""
    results, done = {}, False
    for raw in text.splitlines():
        m = LINE.match(raw.strip())
        if not m:
            continue
        body = m.group(1)
        if body == "done":
            done = True
        elif body.startswith("failed"):
            raise BenchError(f"the root task stopped: {body}")
        else:
            try:
                r = json.loads(body)
            except json.JSONDecodeError as e:
                raise BenchError(f"malformed result line {raw.strip()!r}: {e}") from None
            keys = ("operation", "min", "median", "p99", "iterations")
            if any(k not in r for k in keys) or not all(isinstance(r[k], int) for k in keys[1:]):
                raise BenchError(f"result line lacks a field or a number: {raw.strip()!r}")
            if not r["min"] <= r["median"] <= r["p99"]:
                raise BenchError("result line out of order (min <= median <= p99): "
                                 f"{raw.strip()!r}")
            if r["operation"] in results:
                raise BenchError(f"operation {r['operation']} reported twice")
            results[r["operation"]] = {k: r[k] for k in keys[1:]}
    missing = [op for op in ROOTTASK_OPERATIONS if op not in results]
    if missing or not done:
        raise BenchError("the root task did not finish: " +
                         (f"no result for {', '.join(missing)}" if missing else "no 'done' line"))
    return results


def operation_name(arch, config, op):
    _, prefix, suffix, _ = CONFIGS[arch][config]
    return f"{prefix}{op}{suffix}"


def make_records(results, arch, config, version):
    """The results.json rows of one boot, the configuration in each."""
    opts = options_for(arch, config)
    server = CONFIGS[arch][config][3]
    records = []
    for op in ROOTTASK_OPERATIONS:
        r = results[op]
        records.append({
            "arch": arch, "system": "sel4", "operation": operation_name(arch, config, op),
            "unit": "instructions", "min": r["min"], "median": r["median"], "p99": r["p99"],
            "iterations": r["iterations"], "sel4_version": version, "config": opts,
            "server": server, "address_spaces": 2 if op.endswith("_2as") else 1,
            "counter": COUNTER[arch]})
    return records


def load_records(path):
    """seL4 records from a sel4.py output file, checked (for run.py --sel4)."""
    try:
        records = json.loads(pathlib.Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise BenchError(f"{path}: {e}") from None
    if not isinstance(records, list):
        raise BenchError(f"{path}: not a list of records")
    for r in records:
        ok = (isinstance(r, dict) and r.get("system") == "sel4" and r.get("unit") == "instructions"
              and r.get("arch") in CONFIGS and isinstance(r.get("operation"), str)
              and all(isinstance(r.get(k), int) for k in ("min", "median", "p99", "iterations")))
        if not ok:
            raise BenchError(f"{path}: not a seL4 record of sel4.py: {r!r}")
    return records


def measure(src, arch, config, build, iterations, timeout, verbose, version):
    out = build / f"{arch}-{config}"
    out.mkdir(parents=True, exist_ok=True)
    env = build_env(build)
    started = time.monotonic()
    kdir = build_kernel(src, arch, config, out, env, verbose)
    roottask = build_roottask(src, kdir, arch, out, iterations, env, verbose)
    files = build_boot_files(kdir, arch, out, env, verbose)
    cmd = qemu_command(arch, files, roottask)
    if verbose:
        print("$ " + " ".join(str(c) for c in cmd), flush=True)
    text = boot(cmd, timeout, out / "serial.log")
    if verbose:
        sys.stdout.write(text)
    try:
        results = parse_serial(text)
    except BenchError as e:
        raise BenchError(f"{arch} {config}: {e} (serial output in {out / 'serial.log'})") from None
    print(f"sel4: {arch} {config}: built and measured in {time.monotonic() - started:.0f} s",
          flush=True)
    return make_records(results, arch, config, version)


def table(records):
    rows = ["| arch | operation | min | median | p99 | iterations |",
            "|---|---|---:|---:|---:|---:|"]
    rows += [f"| {r['arch']} | `{r['operation']}` | {r['min']:,} | {r['median']:,} | "
             f"{r['p99']:,} | {r['iterations']:,} |" for r in records]
    return "\n".join(rows)


# ---- Self-test ----------------------------------------------------------------------

CANNED_LOG = """\
SeaBIOS (version 1.16.2-debian-1.16.2-1)
Booting from ROM..
sel4bench: root task up
SEL4BENCH {"operation": "ipc_call_reply_0w_2as", "min": 461, "median": 461, "p99": 463, \
"iterations": 10000}
SEL4BENCH {"operation": "ipc_call_reply_0w_1as", "min": 459, "median": 460, "p99": 470, \
"iterations": 10000}
SEL4BENCH done
"""


def self_test():
    """The parser, the records and run.py's merge on a canned serial log;
    each broken log is refused. Builds and boots nothing."""
    failures = []

    def expect(what, ok):
        if not ok:
            failures.append(what)

    def refused(what, text):
        try:
            parse_serial(text)
            failures.append(f"{what}: accepted")
        except BenchError:
            pass

    results = parse_serial(CANNED_LOG)
    want = {"ipc_call_reply_0w_2as": {"min": 461, "median": 461, "p99": 463, "iterations": 10000},
            "ipc_call_reply_0w_1as": {"min": 459, "median": 460, "p99": 470, "iterations": 10000}}
    expect(f"parsed figures, got {results}", results == want)
    refused("no done line", CANNED_LOG.replace("SEL4BENCH done\n", ""))
    refused("a variant missing",
            "\n".join(line for line in CANNED_LOG.splitlines() if "_1as" not in line))
    refused("a failure line", CANNED_LOG + "SEL4BENCH failed: map a frame (seL4 error 6)\n")
    refused("a malformed line", CANNED_LOG.replace('"min": 461,', '"min": 461'))
    refused("a field missing", CANNED_LOG.replace('"p99": 463, ', ""))
    refused("min above median", CANNED_LOG.replace('"min": 461', '"min": 999'))
    first = CANNED_LOG.splitlines()[3]
    refused("a line twice", CANNED_LOG.replace("SEL4BENCH done", first + "\nSEL4BENCH done"))
    refused("an empty log", "")

    recs = make_records(results, "x86_64", "noskim", "16.0.0")
    names = [r["operation"] for r in recs]
    expect(f"noskim names, got {names}",
           names == ["sel4_ipc_call_reply_0w_2as_noskim", "sel4_ipc_call_reply_0w_1as_noskim"])
    config = recs[0]["config"]
    expect("the configuration in the row", config["KernelSkimWindow"] == "OFF" and
           config["KernelFastpath"] == "ON" and config["KernelIsMCS"] == "OFF")
    expect("address spaces and server", recs[0]["address_spaces"] == 2 and
           recs[1]["address_spaces"] == 1 and recs[0]["server"] == "active")
    mcs = make_records(results, "riscv64", "mcs", "16.0.0")
    expect("MCS names and server", mcs[0]["operation"] == "sel4_mcs_ipc_call_reply_0w_2as" and
           mcs[0]["server"] == "passive" and mcs[0]["config"]["KernelIsMCS"] == "ON" and
           mcs[0]["counter"] == "rdinstret")
    expect("default names", operation_name("x86_64", "default", "ipc_call_reply_0w_2as") ==
           "sel4_ipc_call_reply_0w_2as")

    got = missing_packages(["riscv64"], which=lambda t: t != "dtc",
                           python_has=lambda m: m != "ply", exists=lambda f: True)
    expect(f"packages named for what is missing, got {got}",
           got == ["device-tree-compiler", "python3-ply"])
    got = missing_packages(["x86_64"], which=lambda t: True, python_has=lambda m: True,
                           exists=lambda f: f != HOST_PYTHON)
    expect(f"no /usr/bin/python3: python3, got {got}", got == ["python3"])

    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        tree = pathlib.Path(tmp)
        for name, text in (("CMakeLists.txt", ""), ("VERSION", "13.0.0\n"),
                           ("libsel4/include/sel4/constants.h", "seL4_MaxPrio")):
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_text(text)
        try:
            sel4_version(tree)
            failures.append("a seL4 tree without seL4_TCB_SetFlags accepted")
        except BenchError:
            pass
        (tree / "libsel4/include/sel4/constants.h").write_text("seL4_TCBFlag_fpuDisabled = 0x1,")
        (tree / "VERSION").write_text("16.0.0\n")
        expect("a seL4 16 tree's version", sel4_version(tree) == "16.0.0")
        (tree / "VERSION").unlink()
        try:
            sel4_version(tree)
            failures.append("a tree without VERSION accepted")
        except BenchError:
            pass
    sys.path.insert(0, str(ROOT / "tools" / "bench"))
    import run  # noqa: E402  (run.py's report takes these records)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "sel4.json"
        path.write_text(json.dumps(recs + mcs))
        loaded = load_records(path)
        expect("records load back", loaded == recs + mcs)
        path.write_text(json.dumps([dict(recs[0], median="461")]))
        try:
            load_records(path)
            failures.append("a record with a non-numeric median loaded")
        except BenchError:
            pass
        bulkhead = {"arch": "x86_64", "system": "bulkhead", "operation": run.RATIO_BASE,
                    "unit": "instructions", "min": 230, "median": 230, "p99": 240, "iterations": 1}
        text = run.report([bulkhead] + loaded)
        row = "| x86_64 | sel4 | `sel4_ipc_call_reply_0w_2as_noskim` | 461 | 461 | 463 | 10,000 |"
        expect("run.py's table shows the seL4 row", row in text)
        expect("run.py's ratio to Bulkhead's round trip", "461 / 230 | 2.0x" in text)
    for f in failures:
        print("FAIL: " + f)
    print(f"sel4.py self-test: {'FAILED' if failures else 'passed'}")
    return 1 if failures else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sel4-src", required=True, help="a seL4 source tree (e.g. release 16.0.0)")
    ap.add_argument("--arch", action="append", choices=list(CONFIGS),
                    help="x86_64 and/or riscv64 (default both)")
    ap.add_argument("--config", action="append",
                    help="default, noskim (x86-64), mcs (default: all of the arch's)")
    ap.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    ap.add_argument("--build-dir", default=str(DEFAULT_BUILD))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--timeout", type=float, default=600, help="seconds per boot")
    ap.add_argument("-v", "--verbose", action="store_true", help="echo commands and serial output")
    a = ap.parse_args()
    arches = a.arch or list(CONFIGS)
    src, build = pathlib.Path(a.sel4_src).resolve(), pathlib.Path(a.build_dir).resolve()
    if not 1 <= a.iterations <= 100000:
        ap.error("--iterations: 1 to 100000 (the root task keeps every sample)")
    try:
        version = sel4_version(src)
        check_host(arches)
        records = []
        for arch in arches:
            configs = a.config or list(CONFIGS[arch])
            unknown = [c for c in configs if c not in CONFIGS[arch]]
            if unknown:
                raise BenchError(f"{arch}: no configuration {', '.join(unknown)} "
                                 f"(there are {', '.join(CONFIGS[arch])})")
            for config in configs:
                records += measure(src, arch, config, build, a.iterations, a.timeout, a.verbose,
                                   version)
    except BenchError as e:
        print(f"sel4: {e}", file=sys.stderr)
        return 1
    out = pathlib.Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=1) + "\n")
    print(f"seL4 {version}, guest instructions per round trip (QEMU TCG, -icount shift=0):")
    print(table(records))
    print(f"sel4: wrote {out} (merge it with tools/bench/run.py --sel4 {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
