#!/usr/bin/env python3
"""The Bulkhead side of the IPC benchmark, and the report that puts it beside Linux.

  run.py --arch x86_64 [--arch riscv64] [--build-dir DIR] [--iterations N]
         [--check --ceilings FILE] [--linux FILE] [--sel4 FILE] [--out-dir DIR]

Boots the bench root task (tests/bench/bulkhead/bench.c, boot image
<build>/<arch>/bench-image.img) with the release kernel (<build>/<arch>/kernel-nodebug.elf,
built without BULKHEAD_KERNEL_DEBUG and so without the IPC path counters; or
--kernel NAME) on QEMU TCG with `-icount shift=0,sleep=off`, where
the guest's instruction counter advances by one per guest instruction, and collects
its BENCH lines. Writes <out-dir>/results.json (Bulkhead records, plus the Linux
records of --linux FILE and the seL4 records of --sel4 FILE (tools/bench/sel4.py,
run by hand with a seL4 source tree) when given), results.md (a table, and the ratios of the
Linux and VM-exit rows to Bulkhead's IPC round trip, then the CPU-isolation
rows of issue 12 per system: the victim's wake-up lateness alone, beside the
spinning hog and beside the syscall hog, with the ratios of their p99s, and each
tenant's CPU share against its policy) and chart.svg (a log-scale bar chart of the instruction counts, and
the CPU-isolation rows beneath, the syscall hog's among them). With --check, fails if any median exceeds its ceiling in --ceilings
(a JSON object {arch: {operation: max_instructions}}): the regression test that
keeps the IPC path from growing; its "ratios" entry ({"a / b": max}) bounds one
operation's median against another's on each arch (the general path against the
fast path; "a - c / b" bounds a's less c's), or their p99s with a "p99: " prefix (the CPU-isolation victim's
wake-up beside a hog against alone: issue 12's 1.1x), with one step of the
arch's clock ("clock_step_ns": RISC-V's time CSR counts 100 ns) as slack.
Speed goals live here, never in timed tests. After each arch's IPC bench it boots
bench-mem-image (tests/bench/bulkhead/mem.c): the memory server's
page_fault_roundtrip and cow_copy rows; then bench-io-image
(tests/bench/bulkhead/io.c) with a 4 MiB disk attached: io_read_4k_path;
then (not with --check) bench-noisy-image (tests/bench/bulkhead/noisy.c) twice,
without -icount, on a disk QEMU throttles as tools/bench/linux.py's: the IO
noisy neighbour's io_victim_alone, io_victim_beside_flooder and
io_device_busy_percent, and the "_limit" set-up's rows with the flooder capped;
then bench-density-image
(tests/bench/bulkhead/density.c) in a 256 MiB guest: tenants spawned through
the memory server until it refuses, reported as tenants_in_256mib (count),
tenant_private_bytes (bytes an idle tenant is charged) and tenant_spawn,
tenant_first_run (instructions), with a density section in results.md.
"""
import argparse
import json
import math
import os
import pathlib
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "bench"))
import bkqemu  # noqa: E402
import linux  # noqa: E402  (the noisy neighbour's capacity, reservation, seconds and disk)
import sel4  # noqa: E402  (checks the records of --sel4 FILE)

# Operation names, in report order (documented in docs/performance.md).
BULKHEAD_OPS = ["null_syscall", "ipc_call_reply_0w_2as", "ipc_call_reply_4w_2as",
                "ipc_call_reply_0w_2as_passive", "ipc_call_reply_0w_2as_fpu",
                "ipc_call_reply_0w_1as", "ipc_call_reply_4w_1as", "ipc_slowpath_cap_transfer",
                "ipc_call_reply_5w_2as_general", "ipc_call_reply_cap_copy_1as", "cnode_delete_copy",
                "notification_roundtrip", "irq_to_user",
                "timeout_fault_to_handler", "timeout_fault_roundtrip",
                "page_fault_roundtrip", "cow_copy", "io_read_4k_path", "tenant_spawn",
                "tenant_first_run",
                "cpu_victim_wake_alone", "cpu_victim_wake_beside_hog",
                "cpu_share_victim", "cpu_share_hog",
                "cpu_victim_wake_beside_syscall_hog",
                "cpu_share_victim_beside_syscall_hog", "cpu_share_syscall_hog"]
# x86-64 runs the bench a second time with the Meltdown window forced on
# (bulkhead.kpti=on, arch/x86_64/kpti.c): these operations are reported
# again with the suffix "_kpti", the cost of the mitigation in one run.
KPTI_OPS = ["null_syscall", "ipc_call_reply_0w_2as", "ipc_call_reply_0w_1as", "irq_to_user"]
LINUX_OPS = ["null_syscall", "pipe_pingpong", "futex_pingpong", "unix_pingpong",
             "tcp_loopback_pingpong"]
# The CPU-isolation scenario (issue 12), the same names on Bulkhead (bench.c)
# and Linux (tests/bench/linux/cpu_isolation.c): the victim's wake-up
# lateness in ns of virtual time ("min", "median", "p99", "max"), and each
# tenant's share of the CPU in percent ("value", beside "policy_percent",
# null where the system has no such policy, and "policy" in words). The
# syscall hog (a tenant making the longest kernel calls it can instead of
# spinning) is Bulkhead's only: its lateness row carries what the hog did
# in the window ("retypes", "revokes", "deletes", their sizes, and
# "fill_call_instructions").
WAKE_ALONE, WAKE_BESIDE = "cpu_victim_wake_alone", "cpu_victim_wake_beside_hog"
WAKE_SYSCALLS = "cpu_victim_wake_beside_syscall_hog"
SHARE_OPS = ["cpu_share_victim", "cpu_share_hog", "cpu_share_victim_beside_syscall_hog",
             "cpu_share_syscall_hog"]
# The VM boundary (tests/bench/linux/vmexit.c, system "kvm"): what each costs
# against the IPC round trip between two address spaces on the same arch is
# the comparison the project's claim rests on (docs/performance.md).
RATIO_BASE = "ipc_call_reply_0w_2as"
RATIO_OPS = [("linux", "pipe_pingpong"), ("linux", "tcp_loopback_pingpong"),
             ("kvm", "vm_exit_cpuid"), ("kvm", "vm_exit_hypercall"),
             ("kvm", "vm_exit_pio_ioeventfd"), ("kvm", "vm_exit_pio_to_vmm"),
             # seL4 measured from its source (tools/bench/sel4.py --sel4): the
             # like-for-like x86-64 row is the one without the skim window.
             ("sel4", "sel4_ipc_call_reply_0w_2as"), ("sel4", "sel4_ipc_call_reply_0w_2as_noskim"),
             ("sel4", "sel4_mcs_ipc_call_reply_0w_2as")]


def kernel_for(out, name):
    """The kernel to measure: `name`, else the release build (no debugging aids)."""
    if name:
        return out / name
    release = out / "kernel-nodebug.elf"
    return release if release.exists() else out / "kernel.elf"


# The density rows (issue 13, tests/bench/bulkhead/density.c): a count and
# a size, beside the instruction counts of tenant_spawn and tenant_first_run.
DENSITY_OPS = ["tenants_in_256mib", "tenant_private_bytes"]
DENSITY_MEMORY = "256M"


def run_arch(arch, build, iterations, timeout, kernel_name=None, extra_append="",
             image="bench-image.img", disk=None, memory="512M", icount=True, disk_options=""):
    out = build / arch
    kernel = kernel_for(out, kernel_name)
    cmd = bkqemu.command(arch, kernel=kernel, image=out / image, memory=memory,
                         append=f"bench.iterations={iterations}{extra_append}", icount=icount,
                         disk=disk, disk_options=disk_options)
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout)
    text = proc.stdout.decode(errors="replace")
    records = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("BENCH ")]
    status = bkqemu.decode_status(arch, proc.returncode)
    if status != "pass" or not records:
        sys.stdout.write(text)
        sys.exit(f"bench: {arch}: {bkqemu.describe_exit(arch, proc.returncode)}, "
                 f"{len(records)} records")
    # The bench program asks the kernel whether it counts IPC paths.
    counters = "on" if "bench: kernel IPC path counters: on" in text else "off"
    print(f"bench: {arch}: measured {kernel.name}, IPC path counters {counters}")
    for r in records:
        r["kernel"] = kernel.name
        r["path_counters"] = counters == "on"
    return records


def run_mem(arch, build, iterations, timeout, kernel_name=None):
    """The memory server's rows (tests/bench/bulkhead/mem.c, issue 13):
    page_fault_roundtrip and cow_copy, from a boot image of their own."""
    return run_arch(arch, build, iterations, timeout, kernel_name, image="bench-mem-image.img")


def run_io(arch, build, iterations, timeout, kernel_name=None):
    """The IO path's row (tests/bench/bulkhead/io.c, issue 14): io_read_4k_path,
    with a fresh zeroed 4 MiB disk image under the build directory."""
    disk = build / arch / "bench-io-disk.img"
    with open(disk, "wb") as f:
        f.truncate(4 << 20)
    return run_arch(arch, build, iterations, timeout, kernel_name, image="bench-io-image.img",
                    disk=disk)


# The command line a bench root task reads: the kernel keeps its first 1,023
# characters for the boot info (BOOT_MAX_CMDLINE, kernel/boot/boot_params.h).
BOOTINFO_CMDLINE = 1023


def noisy_append(kernel, iterations, flooder_limit):
    """The noisy neighbour's key for the kernel command line; exits when the
    whole line (the kernel's path first) would be cut for the bootinfo."""
    append = (f" bench.noisy={linux.IO_CAPACITY},{linux.IO_RESERVATION},{linux.IO_SECONDS},"
              f"{linux.IO_DISK_MIB},{flooder_limit}")
    if len(f"{kernel} bench.iterations={iterations}{append}") > BOOTINFO_CMDLINE:
        sys.exit(f"bench: the noisy neighbour's command line would be cut at {BOOTINFO_CMDLINE} "
                 f"characters (kernel path {kernel}): use a shorter --build-dir")
    return append


def run_noisy(arch, build, iterations, timeout, kernel_name=None, flooder_limit=0):
    """The IO noisy neighbour (tests/bench/bulkhead/noisy.c, issue 14):
    io_victim_alone, io_victim_beside_flooder, io_device_busy_percent (with
    `flooder_limit` IOPS on the flooder, the "_limit" set-up's beside and
    busy rows), on the Linux guest's terms (tools/bench/linux.py): a 64 MiB
    disk with every block written, throttled by QEMU to linux.IO_CAPACITY
    IOPS with the host page cache and a thread pool, the victim reserving
    linux.IO_RESERVATION IOPS, linux.IO_SECONDS per run, and no -icount: the
    throttle runs on host real time, and so does the guest's clock then."""
    kernel = kernel_for(build / arch, kernel_name)
    append = noisy_append(kernel, iterations, flooder_limit)
    disk = linux.make_disk(build / arch / "bench-noisy-disk.img", linux.IO_DISK_MIB)
    options = f",cache=writeback,aio=threads,throttling.iops-total={linux.IO_CAPACITY}"
    cmd = bkqemu.command(arch, kernel=kernel, image=build / arch / "bench-noisy-image.img",
                         append=f"bench.iterations={iterations}{append}", disk=disk,
                         disk_options=options)
    for attempt in range(1, NOISY_ATTEMPTS + 1):
        records, ratio = noisy_boot(arch, cmd, timeout)
        print(f"bench: {arch}: noisy neighbour: the guest's clock ran {ratio:.4f} s of host time "
              f"a second")
        if abs(ratio - 1) <= NOISY_CLOCK_TOLERANCE:
            for r in records:
                r.update(kernel=kernel.name, host_seconds_per_guest_second=round(ratio, 4))
            return records
        print(f"bench: {arch}: the guest's clock is {abs(ratio - 1) * 100:.1f} % off host time "
              f"(its rate measured at boot under host load?): attempt {attempt} of "
              f"{NOISY_ATTEMPTS} thrown away")
    sys.exit(f"bench: {arch}: the noisy neighbour's clock was off host time in every attempt; "
             "run it on a quieter host")


# The noisy neighbour's latencies are the guest's clock (Debug: Time); on
# x86-64 that is the TSC at the rate the kernel measured against the PIT at
# boot (arch/x86_64/apic.c measures again while the host held the vCPU back
# inside the interval's ends; before it did, a loaded host threw the rate
# off by up to 25 %), and on both arches QEMU's clocks under host load. run.py
# timestamps two marks the bench prints and keeps a run only when the
# guest's clock kept to host time within this fraction.
NOISY_CLOCK_TOLERANCE = 0.02
NOISY_ATTEMPTS = 3


def clock_ratio(marks):
    """Host seconds per guest second from [(host s, guest ns), ...], the
    first and last mark; None without two."""
    if len(marks) < 2 or marks[-1][1] == marks[0][1]:
        return None
    return (marks[-1][0] - marks[0][0]) / ((marks[-1][1] - marks[0][1]) / 1e9)


def noisy_boot(arch, cmd, timeout):
    """Boots the noisy-neighbour image once, timestamping its clock marks as
    they arrive; returns (records, host seconds per guest second)."""
    lines, marks = [], []
    with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT) as proc:
        watchdog = threading.Timer(timeout, proc.kill)  # a guest that hangs
        watchdog.start()
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            if line.startswith("bench-noisy: clock mark "):
                marks.append((time.monotonic(), int(line.split()[3])))
        code = proc.wait()
        watchdog.cancel()
    records = [json.loads(line[6:]) for line in lines if line.startswith("BENCH ")]
    ratio = clock_ratio(marks)
    if bkqemu.decode_status(arch, code) != "pass" or not records or ratio is None:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.exit(f"bench: {arch}: noisy neighbour: {bkqemu.describe_exit(arch, code)}, "
                 f"{len(records)} records, {len(marks)} clock marks")
    return records, ratio


def run_density(arch, build, iterations, timeout, kernel_name=None):
    """The density rows (tests/bench/bulkhead/density.c, issue 13): tenants
    spawned through the memory server in a 256 MiB guest until it refuses."""
    return run_arch(arch, build, iterations, timeout, kernel_name,
                    image="bench-density-image.img", memory=DENSITY_MEMORY)


# The multi-core rows (issue 16, tests/bench/bulkhead/smp.c), booted with
# several CPUs without -icount (the vCPUs run in parallel, as cores do;
# under -icount they would share one clock) and the QEMU plugin that counts
# each vCPU's instructions (tests/bench/plugin/vcpu_insns.c): the guest marks
# its timed windows, the plugin prints the marking vCPU's count. As many
# vCPUs as the host has cores, 4 at most (--smp-cpus): a vCPU the host
# deschedules while it holds or waits for the kernel lock makes the others
# spin (a ticket lock serves in order), and that spinning counts.
SMP_MAX_CPUS = 4


def smp_cpus_default():
    return max(2, min(SMP_MAX_CPUS, os.cpu_count() or 1))

SMP_OPS = ["ipc_call_reply_0w_2as_smp", "ipc_call_reply_0w_2as_smp_busy",
           "ipc_call_reply_0w_2as_smp_kbusy",
           "ipc_cross_core_roundtrip", "ipc_cross_core_roundtrip_sswi",
           "ipc_scaling_1cpu", "ipc_scaling_2cpu", "ipc_scaling_4cpu"]
SMP_PLUGIN = "bench-plugin/vcpu_insns.so"
# CPU isolation with the tenants on two CPUs (smp_isolation.c): the victim's
# wake-up lateness on CPU 1 in ns of host time, BENCH records of their own.
SMP_ISOLATION_OPS = ["cpu_victim_wake_2cpu_alone", "cpu_victim_wake_2cpu_beside_hog",
                     "cpu_victim_wake_2cpu_beside_syscall_hog"]
# And CPU 1's instructions per wake-up in each (markers, SMPOP segments).
SMP_WAKE_OPS = [op.replace("_wake_", "_wake_insns_") for op in SMP_ISOLATION_OPS]


def percentiles(v):
    """min, median and p99 as samples.c's report_counts() takes them."""
    v = sorted(v)
    return v[0], v[len(v) // 2], v[len(v) * 99 // 100]


def smp_segments(text):
    """The SMPOP operations of a bench-smp boot, each with the BKMARK lines
    printed after it and before the next: [(op, {marker: [(vcpu, count)]})]."""
    segments = []
    for line in text.splitlines():
        if line.startswith("SMPOP "):
            segments.append((json.loads(line[6:]), {}))
        elif line.startswith("BKMARK ") and segments:
            fields = line.split()
            if len(fields) == 4 and all(f.isdigit() for f in fields[1:]):
                vcpu, marker, count = map(int, fields[1:])
                segments[-1][1].setdefault(marker, []).append((vcpu, count))
    return segments


def per_vcpu(marks):
    by = {}
    for vcpu, count in marks:
        by.setdefault(vcpu, []).append(count)
    return by


def smp_record(arch, op, marks, iterations, cpus):
    """One BENCH record from an operation's markers: on each client vCPU the
    instructions from each start marker to its end marker; with a partner
    (the server on another CPU marks each request it receives, the last
    iterations + 1 of them timed) the server CPU's instructions from one
    timed request's mark to the next are added to the client's window."""
    starts, ends = per_vcpu(marks.get(op["start"], [])), per_vcpu(marks.get(op["end"], []))
    name = op["operation"]
    iterations = op.get("iterations", iterations)  # a row with a count of its own
    if not starts or sorted(starts) != sorted(ends):
        raise ValueError(f"{name}: start markers on vCPUs {sorted(starts)}, end markers on {sorted(ends)}")
    client, per_cpu = [], {}
    for vcpu in sorted(starts):
        windows = [e - s for s, e in zip(starts[vcpu], ends[vcpu])]
        if len(starts[vcpu]) != iterations or len(ends[vcpu]) != iterations or min(windows) <= 0:
            raise ValueError(f"{name}: vCPU {vcpu} marked {len(starts[vcpu])} starts and "
                             f"{len(ends[vcpu])} ends, {iterations} expected")
        per_cpu[vcpu] = percentiles(windows)[1]
        client += windows
    record = {"arch": arch, "system": "bulkhead", "operation": name, "unit": "instructions",
              "cpus_online": cpus, "host_cores": os.cpu_count(),
              "counter": "plugin (per vCPU, no -icount)",
              "client_cpus": len(starts), "per_cpu_median": {str(k): v for k, v in per_cpu.items()}}
    samples = client
    if "partner" in op:
        partner = per_vcpu(m for m in marks.get(op["partner"], []) if m[0] not in starts)
        if len(partner) != 1 or len(next(iter(partner.values()))) < iterations + 1:
            raise ValueError(f"{name}: the server's marks: {dict((k, len(v)) for k, v in partner.items())} "
                             f"(one vCPU other than the client's, {iterations + 1} at least, expected)")
        received = next(iter(partner.values()))[-(iterations + 1):]
        server = [b - a for a, b in zip(received, received[1:])]
        samples = [c + s for c, s in zip(client, server)]
        record["client_median"], record["server_median"] = percentiles(client)[1], percentiles(server)[1]
    if "cpus" in op:
        record["pairs"] = op["cpus"]
    record["min"], record["median"], record["p99"] = percentiles(samples)
    record["iterations"] = len(samples)
    return record


def smp_records(text, arch, iterations, cpus):
    return [smp_record(arch, op, marks, iterations, cpus) for op, marks in smp_segments(text)]


def run_smp(arch, build, iterations, timeout, kernel_name=None, cpus=SMP_MAX_CPUS,
            machine=None):
    """The multi-core rows: bench-smp-image on `cpus` CPUs, counted per vCPU
    by the plugin (QEMU prints its lines to the log: -d plugin)."""
    out = build / arch
    kernel = kernel_for(out, kernel_name)
    plugin = build / SMP_PLUGIN
    cmd = bkqemu.command(arch, kernel=kernel, image=out / "bench-smp-image.img",
                         append=f"bench.iterations={iterations}", smp=cpus, machine=machine,
                         extra=["-plugin", str(plugin), "-d", "plugin"])
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout)
    text = proc.stdout.decode(errors="replace")
    status = bkqemu.decode_status(arch, proc.returncode)
    try:
        records = smp_records(text, arch, iterations, cpus) if status == "pass" else []
    except ValueError as e:
        records, status = [], f"markers do not add up: {e}"
    isolation = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("BENCH ")]
    if sorted(r["operation"] for r in isolation) != sorted(SMP_ISOLATION_OPS):
        records, status = [], f"{len(isolation)} CPU-isolation records of {len(SMP_ISOLATION_OPS)}"
    else:
        for r in isolation:
            r["cpus_online"], r["host_cores"] = cpus, os.cpu_count()
        records += isolation
    # ipc_cross_core_roundtrip_sswi is run_smp_sswi()'s; ipc_scaling_4cpu needs 4 CPUs
    expected = len(SMP_OPS) - 1 + len(SMP_WAKE_OPS) + len(SMP_ISOLATION_OPS)
    if len(records) < expected - (cpus < 4):
        sys.stdout.write("\n".join(l for l in text.splitlines() if not l.startswith("BKMARK")) + "\n")
        sys.exit(f"bench: {arch}: bench-smp: {bkqemu.describe_exit(arch, proc.returncode)}, "
                 f"{status}, {len(records)} records")
    print(f"bench: {arch}: measured {kernel.name} on {cpus} CPUs, counted per vCPU")
    for r in records:
        r["kernel"] = kernel.name
    return records


def run_smp_sswi(arch, build, iterations, timeout, kernel_name=None, cpus=SMP_MAX_CPUS):
    """RISC-V's cross-core round trip once more on virt with its ACLINT, whose
    SSWI device the kernel sends IPIs through instead of the firmware
    (arch/riscv/sswi.c): ipc_cross_core_roundtrip_sswi. The other rows take
    no IPI inside their windows and are the plain boot's."""
    if arch != "riscv64":
        return []
    records = run_smp(arch, build, iterations, timeout, kernel_name, cpus, "virt-aclint")
    cross = [r for r in records if r["operation"] == "ipc_cross_core_roundtrip"]
    for r in cross:
        r["operation"] += "_sswi"
        r["machine"] = "virt,aclint=on"
    return cross


def smp_table(records):
    """The multi-core section of results.md: each row's split between the
    CPUs, and the scaling of independent pairs against one pair."""
    rows = [r for r in records if r["operation"] in SMP_OPS]
    if not rows:
        return ""
    isolation = [r for r in records if r["operation"] in SMP_ISOLATION_OPS]
    out = ["\nSeveral CPUs (issue 16): instructions per round trip counted per vCPU by a "
           f"QEMU plugin, {rows[0]['cpus_online']} CPUs online on a host of "
           f"{rows[0]['host_cores']} cores, no -icount:\n",
           "| arch | operation | median | p99 | split | throughput vs 1 pair |",
           "|---|---|---:|---:|---|---:|"]
    one = {r["arch"]: r["median"] for r in rows if r["operation"] == "ipc_scaling_1cpu"}
    for r in rows:
        split = "-"
        if "client_median" in r:
            split = f"client CPU {r['client_median']:,} + server CPU {r['server_median']:,}"
        elif len(r["per_cpu_median"]) > 1:
            split = "per CPU " + " / ".join(f"{v:,}" for v in r["per_cpu_median"].values())
        scale = "-"
        if "pairs" in r and one.get(r["arch"]):
            # Pairs run at once, each on its CPU: each CPU's rate is 1 / median.
            scale = f"{sum(one[r['arch']] / v for v in r['per_cpu_median'].values()):.2f}x"
        out.append(f"| {r['arch']} | `{r['operation']}` | {r['median']:,} | {r['p99']:,} | "
                   f"{split} | {scale} |")
    if isolation:
        out += ["\nCPU isolation with the tenants on two CPUs: the victim on CPU 1, tenant B "
                "on CPU 0 (nothing, two spinning threads, or two threads making long kernel "
                "calls); CPU 1's instructions per wake-up (median / p99, counted per vCPU: its "
                "waits for the kernel lock included), and the wake-up's lateness in ns of host "
                "time (no -icount: min / median / p99 / max, the host's noise in it) of 500 "
                "wake-ups:\n",
                "| arch | operation | CPU 1's instructions | p99 / p99 alone | "
                "lateness (host ns) | B's long calls |",
                "|---|---|---:|---:|---:|---:|"]
        insns = {(r["arch"], r["operation"]): r for r in records
                 if r["operation"] in SMP_WAKE_OPS}
        for r in isolation:
            i = insns.get((r["arch"], r["operation"].replace("_wake_", "_wake_insns_")))
            base = insns.get((r["arch"], SMP_WAKE_OPS[0]))
            count = f"{i['median']:,} / {i['p99']:,}" if i else "-"
            ratio = f"{i['p99'] / base['p99']:.2f}x" if i and base else "-"
            late = " / ".join(f"{r[k]:,}" for k in ("min", "median", "p99", "max"))
            calls = f"{r['hog_calls']:,}" if r.get("hog_calls") else "-"
            out.append(f"| {r['arch']} | `{r['operation']}` | {count} | {ratio} | {late} | "
                       f"{calls} |")
    return "\n".join(out) + "\n"


def run_kpti(build, iterations, timeout, kernel_name=None):
    """The KPTI_OPS records of an x86-64 run with the Meltdown window on."""
    records = run_arch("x86_64", build, iterations, timeout, kernel_name, " bulkhead.kpti=on")
    kept = [r for r in records if r["operation"] in KPTI_OPS]
    for r in kept:
        r["operation"] += "_kpti"
    return kept


def check_floors(records, floors):
    """Values that must not fall: ceilings["floors"] ({arch: {operation: min}}),
    e.g. tenants_in_256mib."""
    problems = []
    for r in records:
        least = floors.get(r["arch"], {}).get(r["operation"])
        if least is None:
            continue
        verdict = "ok" if r["value"] >= least else "UNDER"
        print(f"  {r['arch']:8} {r['operation']:28} value  {r['value']:7} floor   {least:7} {verdict}")
        if r["value"] < least:
            problems.append(f"{r['arch']} {r['operation']}: {r['value']} < floor {least}")
    return problems


def ratio_term(value, term):
    """One side of a ratio: an operation's value, or "a - b", one operation's
    less another's (the real cap transfer: its round trip less the Delete
    the server makes in it), or None if one is not measured."""
    ops = [op.strip() for op in term.split(" - ")]
    if any(op not in value for op in ops):
        return None
    return value[ops[0]] - sum(value[op] for op in ops[1:])


def check(records, ceilings):
    """Medians (or a single value, as tenant_private_bytes' or a CPU share's in
    percent: a hog's never above its limit) against the
    per-arch ceilings, values against ceilings["floors"], and the ratios
    between two operations of one arch against ceilings["ratios"]
    ({"a / b": max})."""
    ratios = ceilings.get("ratios", {})
    floors = ceilings.get("floors", {})
    problems = check_floors(records, floors)
    arches = {k: v for k, v in ceilings.items()
              if k not in ("ratios", "floors", "clock_step_ns")}
    for r in records:
        limit = arches.get(r["arch"], {}).get(r["operation"])
        if limit is None:
            continue
        what = "median" if "median" in r else "value"
        got = r[what]
        verdict = "ok" if got <= limit else "OVER"
        print(f"  {r['arch']:8} {r['operation']:28} {what:6} {got:7} ceiling {limit:7} {verdict}")
        if got > limit:
            problems.append(f"{r['arch']} {r['operation']}: {what} {got} > ceiling {limit}")
    for arch, ops in floors.items():
        seen = {r["operation"] for r in records if r["arch"] == arch}
        if any(r["arch"] == arch for r in records):
            problems += [f"{arch} {op}: no measurement" for op in ops if op not in seen]
    for arch, ops in arches.items():
        seen = {r["operation"] for r in records if r["arch"] == arch}
        if any(r["arch"] == arch for r in records):
            problems += [f"{arch} {op}: no measurement" for op in ops if op not in seen]
    steps = ceilings.get("clock_step_ns", {})
    for arch in sorted({r["arch"] for r in records if r["system"] == "bulkhead"}):
        ours = [r for r in records if r["arch"] == arch and r["system"] == "bulkhead"]
        for name, limit in ratios.items():
            field, ops = ("p99", name[4:]) if name.startswith("p99:") else ("median", name)
            value = {r["operation"]: r[field] for r in ours if field in r}
            top, bottom = (ratio_term(value, op) for op in ops.split("/"))
            if top is None or bottom is None:
                problems.append(f"{arch} {name}: no measurement")
                continue
            ratio = top / bottom
            # A time read in steps (RISC-V's time CSR: 100 ns) cannot tell
            # apart two values less than a step apart: one step of slack.
            step = steps.get(arch, 0) if field == "p99" else 0
            ok = top <= limit * bottom + step
            verdict = "ok" if ok else "OVER"
            slack = f" (+{step} ns, one clock step)" if step else ""
            print(f"  {arch:8} {name:56} {ratio:5.2f}x ceiling {limit}x{slack} {verdict}")
            if not ok:
                problems.append(f"{arch} {name}: {ratio:.2f}x > {limit}x{slack}")
    return problems


def is_count(r):
    """Whether a record is an instruction count (the main table and chart)."""
    return r["unit"] == "instructions"


def table(records):
    rows = ["| arch | system | operation | min | median | p99 | iterations |",
            "|---|---|---|---:|---:|---:|---:|"]
    for r in filter(is_count, records):
        rows.append(f"| {r['arch']} | {r['system']} | `{r['operation']}` | {r['min']:,} | "
                    f"{r['median']:,} | {r['p99']:,} | {r['iterations']:,} |")
    return "\n".join(rows) + "\n"


def ratios(records):
    """(arch, system, operation, median, base median, ratio) for each RATIO_OPS
    row that has a Bulkhead RATIO_BASE row on the same arch."""
    base = {r["arch"]: r["median"] for r in records
            if r["system"] == "bulkhead" and r["operation"] == RATIO_BASE}
    rows = []
    for system, op in RATIO_OPS:
        for r in records:
            if r["system"] == system and r["operation"] == op and base.get(r["arch"]):
                b = base[r["arch"]]
                rows.append((r["arch"], system, op, r["median"], b, r["median"] / b))
    return rows


def ratio_table(records):
    rows = ratios(records)
    if not rows:
        return ""
    out = [f"\nRatios of medians to Bulkhead's `{RATIO_BASE}` on the same arch:\n",
           f"| arch | system | operation | median | / `{RATIO_BASE}` |", "|---|---|---|---:|---:|"]
    for arch, system, op, median, base, ratio in rows:
        out.append(f"| {arch} | {system} | `{op} / {RATIO_BASE}` | {median:,} / {base:,} | "
                   f"{ratio:,.1f}x |")
    return "\n".join(out) + "\n"


def p99_ratio(r, alone):
    """r's p99 over the p99 alone (None without r)."""
    if r is None:
        return None
    return r["p99"] / alone["p99"] if alone["p99"] else math.inf


def lateness(records):
    """(system, arch, alone, beside, p99 beside / p99 alone, beside the
    syscall hog or None, its p99 / p99 alone or None) for each system and
    arch that has the first two lateness rows."""
    by = {(r["system"], r["arch"], r["operation"]): r for r in records}
    rows = []
    for system, arch in sorted({(r["system"], r["arch"]) for r in records
                                if r["operation"] == WAKE_ALONE}):
        alone, beside = by.get((system, arch, WAKE_ALONE)), by.get((system, arch, WAKE_BESIDE))
        calls = by.get((system, arch, WAKE_SYSCALLS))
        if alone and beside:
            rows.append((system, arch, alone, beside, p99_ratio(beside, alone), calls,
                         p99_ratio(calls, alone)))
    return rows


def shares(records):
    return [r for r in records if r["operation"] in SHARE_OPS]


def policy_text(r):
    return "none" if r["policy_percent"] is None else f"{r['policy_percent']} %"


def cpu_tables(records):
    """The CPU-isolation section of results.md ("" without its rows)."""
    late, share = lateness(records), shares(records)
    if not late and not share:
        return ""
    out = ["\nCPU isolation (issue 12): the victim's wake-up lateness in ns of virtual time "
           "(p50 / p99 / max of 500 wake-ups), alone, beside the spinning hog and beside the "
           "syscall hog (Bulkhead only; - where not run):\n",
           "| system | arch | alone | beside the hog | p99 beside / p99 alone | "
           "beside the syscall hog | p99 beside it / p99 alone |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for system, arch, alone, beside, ratio, calls, calls_ratio in late:
        cells = [" / ".join(f"{r[k]:,}" if k in r else "-" for k in ("median", "p99", "max"))
                 if r else "-" for r in (alone, beside, calls)]
        calls_cell = "-" if calls_ratio is None else f"{calls_ratio:.2f}x"
        out.append(f"| {system} | {arch} | {cells[0]} | {cells[1]} | {ratio:.2f}x | {cells[2]} | "
                   f"{calls_cell} |")
    hogs = [(system, arch, calls) for system, arch, _, _, _, calls, _ in late if calls]
    if hogs:
        out += ["\nWhat the syscall hog's calls ended while the victim's wake-ups were timed, and "
                "one of its fill Retypes (256 endpoints, one kernel entry) timed alone:\n",
                "| system | arch | Retypes of | Revokes of | Deletes of a CNode of | "
                "one fill Retype |", "|---|---|---:|---:|---:|---:|"]
        for system, arch, r in hogs:
            out.append(f"| {system} | {arch} | {r['retypes']} x {r['retype_bytes'] >> 20} MiB | "
                       f"{r['revokes']} x {r['revoke_caps']:,} caps | "
                       f"{r['deletes']} x {r['delete_cnode_slots']:,} slots | "
                       f"{r['fill_call_instructions']:,} instructions |")
    if share:
        out += ["\nEach tenant's share of the CPU while the victim's wake-ups were timed "
                "beside the hog (and, in the `_syscall_hog` rows, beside the syscall hog), "
                "against its policy:\n",
                "| system | arch | operation | share | policy | policy in words |",
                "|---|---|---|---:|---:|---|"]
        for r in share:
            out.append(f"| {r['system']} | {r['arch']} | `{r['operation']}` | {r['value']:.2f} % | "
                       f"{policy_text(r)} | {r['policy']} |")
    return "\n".join(out) + "\n"


def density_breakdown_table(records):
    """Bulkhead's density in detail ("" without its rows): per arch, the
    tenants a 256 MiB guest held, what an idle one is charged, by kind, and
    what stopped the spawning."""
    by = {(r["arch"], r["operation"]): r for r in records if r["operation"] in DENSITY_OPS}
    arches = sorted({arch for arch, _ in by})
    if not arches:
        return ""
    out = ["\nDensity (issue 13): tenants of one program spawned through the memory server "
           "in a 256 MiB guest until it refused; an idle tenant's charge (Mem: Usage, exact) "
           "by kind, in bytes:\n",
           "| arch | tenants_in_256mib | tenant_private_bytes | VSpace | TCB | SchedContext | "
           "CNodes | page tables | private pages | shared pages | server bookkeeping per "
           "tenant | stopped by |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for arch in arches:
        n, p = by.get((arch, "tenants_in_256mib")), by.get((arch, "tenant_private_bytes"))
        if not n or not p:
            continue
        out.append(f"| {arch} | {n['value']:,} | {p['value']:,} | {p['vspaces']:,} | "
                   f"{p['tcbs']:,} | {p['sched_contexts']:,} | {p['cnodes']:,} | "
                   f"{p['page_tables']:,} | {p['frames']:,} | {p['shared_pages']} | "
                   f"{p['server_bookkeeping_per_tenant']:,} | {n['stopped_by']} |")
    return "\n".join(out) + "\n"



# Issue 13's density rows: Bulkhead's per arch (tests/bench/bulkhead, from
# tenants spawned through the memory server) beside the VM way's
# (tools/bench/linux.py: the smallest -m at which the bench's Linux guest
# runs a trivial program). Either side may be absent from a run; the
# section says so rather than failing.
DENSITY_BULKHEAD = ("tenants_in_256mib", "tenant_private_bytes", "tenant_spawn")
DENSITY_VM = ("vm_min_memory_mib", "vm_tenants_in_256mib", "vm_boot_to_program")
# Issue 14's IO rows: the victim's records ("unit" "us": "iops", "median",
# "p99", and beside the flooder "victim_share_percent", "flooder_iops",
# "p99_alone") and the device's busy percentage per set-up. Bulkhead names
# them io_victim_alone, io_victim_beside_flooder, io_device_busy_percent;
# Linux adds "_linux" to the alone row and the set-up to the others.
IO_READ_OPS = ("io_read_4k_path", "linux_read_4k")
IO_GOAL_P99_RATIO, IO_GOAL_BUSY_PERCENT = 1.2, 98


def amount(r):
    """A single-figure record's figure ("value"), else its median."""
    return r.get("value", r.get("median"))


def density_rows(records):
    """{(system, arch, operation): record} for the density operations."""
    names = DENSITY_BULKHEAD + DENSITY_VM
    return {(r["system"], r["arch"], r["operation"]): r for r in records if r["operation"] in names}


def density_table(records):
    """The density section of results.md ("" when neither side ran)."""
    rows = density_rows(records)
    if not rows:
        return ""
    arches = sorted({arch for system, arch, _ in rows if system == "bulkhead"})
    vm = {op: r for (system, _, op), r in rows.items() if system == "linux"}

    def bulkhead(op, arch, fmt):
        r = rows.get(("bulkhead", arch, op))
        return fmt(amount(r)) if r else "-"

    def the_vm(op, fmt):
        return fmt(amount(vm[op])) if op in vm else "-"

    head = "| |" + "".join(f" Bulkhead {a} |" for a in arches) + " the VM way (Linux 6.1 guest) |"
    out = ["\nDensity (issue 13): tenants started from one image in 256 MiB, and what one costs "
           "(- where not measured in this run):\n", head,
           "|---|" + "---:|" * (len(arches) + 1)]
    measures = [
        ("tenants in 256 MiB", "tenants_in_256mib", "vm_tenants_in_256mib", lambda v: f"{v:,}"),
        ("memory per tenant", "tenant_private_bytes", "vm_min_memory_mib", None),
        ("instructions to start one", "tenant_spawn", "vm_boot_to_program", lambda v: f"{v:,}"),
    ]
    for label, b_op, vm_op, fmt in measures:
        b_fmt = fmt or (lambda v: f"{v:,} bytes")
        vm_fmt = fmt or (lambda v: f"{v} MiB (smallest -m)")
        cells = [bulkhead(b_op, a, b_fmt) for a in arches] + [the_vm(vm_op, vm_fmt)]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    if "vm_min_memory_mib" in vm:
        probes = ", ".join(f"{m} {'runs' if ok else 'fails'}"
                           for m, ok in vm["vm_min_memory_mib"].get("probes", []))
        out.append(f"\nThe VM way's -m probes (MiB, in order): {probes}.")
    return "\n".join(out) + "\n"


def io_setup(r):
    """The set-up a victim or busy record belongs to: its "setup" field, else
    what follows the operation's stem ("" for Bulkhead's own rows)."""
    if "setup" in r:
        return r["setup"]
    for stem in ("io_victim_beside_flooder", "io_device_busy_percent"):
        if r["operation"].startswith(stem):
            return r["operation"][len(stem):].lstrip("_")
    return ""


def io_rows(records):
    """(system, arch, set-up, beside record, busy record or None, alone
    record or None) for each victim-beside-flooder record."""
    alone = {(r["system"], r["arch"]): r for r in records
             if r["operation"] in ("io_victim_alone", "io_victim_alone_linux")}
    busy = {(r["system"], r["arch"], io_setup(r)): r for r in records
            if r["operation"].startswith("io_device_busy_percent")}
    rows = []
    for r in records:
        if r["operation"].startswith("io_victim_beside_flooder"):
            key = (r["system"], r["arch"])
            rows.append((*key, io_setup(r), r, busy.get((*key, io_setup(r))), alone.get(key)))
    return rows


def p99_alone(beside, alone):
    """The victim's p99 alone for this set-up: the record's own "p99_alone"
    (measured in the same set-up), else the alone row's."""
    if "p99_alone" in beside:
        return beside["p99_alone"]
    return alone["p99"] if alone else None


def io_goal(beside, busy, alone):
    """Whether issue 14's goal holds: the reservation kept, p99 at most 1.2x
    alone, the device at least 98 % busy ("-" when a figure is missing)."""
    base = p99_alone(beside, alone)
    if base is None or busy is None:
        return "-"
    reserved = beside.get("reservation_iops")
    kept = reserved is None or beside["iops"] >= reserved
    ok = kept and beside["p99"] <= IO_GOAL_P99_RATIO * base and busy["value"] >= IO_GOAL_BUSY_PERCENT
    return "yes" if ok else "no"


def io_tables(records):
    """The IO section of results.md ("" without its rows)."""
    rows = io_rows(records)
    reads = [r for r in records if r["operation"] in IO_READ_OPS]
    if not rows and not reads:
        return ""
    out = []
    if rows:
        out += ["\nIO noisy neighbour (issue 14): a queue-depth-1 victim of 4 KiB random reads alone "
                "and beside a flooder of 16 queue-depth-1 streams, on a disk throttled to "
                "a fixed IOPS (host real time); latencies in us:\n",
                "| system | set-up | victim alone IOPS / p50 / p99 | beside: IOPS / p50 / p99 | "
                "p99 beside / alone | victim share | flooder IOPS | device busy | given up IOPS | "
                "goal met |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for system, arch, setup, beside, busy, alone in rows:
            base = p99_alone(beside, alone)
            alone_cell = (f"{beside['iops_alone']:.0f} / {beside.get('p50_alone', '-'):,} / {base:,}"
                          if "iops_alone" in beside
                          else f"{alone['iops']:.0f} / {alone['median']:,} / {alone['p99']:,}"
                          if alone else "-")
            ratio = f"{beside['p99'] / base:.2f}x" if base else "-"
            share = beside.get("victim_share_percent")
            out.append(
                f"| {system} {arch} | {setup or 'IO server'} | {alone_cell} | "
                f"{beside['iops']:.0f} / {beside['median']:,} / {beside['p99']:,} | {ratio} | "
                + (f"{share:.1f} %" if share is not None else "-") + " | "
                + (f"{beside['flooder_iops']:.0f}" if "flooder_iops" in beside else "-") + " | "
                + (f"{busy['value']:.1f} %" if busy else "-") + " | "
                + (f"{round(busy['given_up_iops'])}" if busy and "given_up_iops" in busy else "-")
                + f" | {io_goal(beside, busy, alone)} |")
        policies = {(s, st): b.get("policy") for s, _, st, b, _, _ in rows if b.get("policy")}
        if policies:
            out.append("")
            out += [f"- {system} `{setup or 'IO server'}`: {policy}"
                    for (system, setup), policy in policies.items()]
    if reads:
        out += ["\nOne 4 KiB read through the whole path, in instructions (-icount):\n",
                "| system | arch | operation | min | median | p99 |", "|---|---|---|---:|---:|---:|"]
        out += [f"| {r['system']} | {r['arch']} | `{r['operation']}` | {r['min']:,} | "
                f"{r['median']:,} | {r['p99']:,} |" for r in reads]
    return "\n".join(out) + "\n"


def svg_extra(records, top, label_w, plot_w):
    """The density and IO parts of the chart from y = `top`: tenants per
    256 MiB (log scale), then the IO victim's p99 beside the flooder and the
    device's busy percentage per set-up; returns (parts, the height used)."""
    bar_h, gap = 14, 4
    colors = {"bulkhead": "#2b6cb0", "linux": "#c05621"}
    parts, y = [], top
    tenants = [r for r in records if r["operation"] in ("tenants_in_256mib", "vm_tenants_in_256mib")]
    if tenants:
        parts.append(f'<text x="10" y="{y + 14}" font-size="14" font-weight="bold">Density: '
                     "tenants in 256 MiB (log scale; Linux: one VM per tenant)</text>")
        y += 26
        lmax = math.log10(max([amount(r) for r in tenants] + [10])) + 0.2
        for r in tenants:
            w = plot_w * math.log10(max(amount(r), 1)) / lmax
            parts.append(f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end">'
                         f'{r["system"]} {r["arch"]} {r["operation"]}</text>')
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{colors.get(r["system"], "#666")}"/>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 11}">{amount(r):,}</text>')
            y += bar_h + gap
        y += 10
    rows = io_rows(records)
    if rows:
        parts.append(f'<text x="10" y="{y + 14}" font-size="14" font-weight="bold">IO: the '
                     "victim's p99 beside the flooder over its p99 alone (linear), and the "
                     "device busy (percent)</text>")
        y += 26
        io_top = y
        ratios = [(s, a, st, b, busy, p99_alone(b, al)) for s, a, st, b, busy, al in rows]
        rmax = max([b["p99"] / base for *_, b, _, base in ratios if base] + [IO_GOAL_P99_RATIO])
        for system, arch, setup, beside, busy, base in ratios:
            label = f"{system} {arch} {setup or 'IO server'}"
            ratio = beside["p99"] / base if base else 0
            w = plot_w * ratio / rmax
            parts.append(f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end">{label} '
                         "p99 ratio</text>")
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{colors.get(system, "#666")}"/>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 11}">{ratio:.2f}x</text>')
            y += bar_h + gap
            if busy:
                w = plot_w * min(busy["value"], 100) / 100
                parts.append(f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end">{label} '
                             "device busy</text>")
                parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                             f'fill="{colors.get(system, "#666")}" fill-opacity="0.5"/>')
                parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 11}">{busy["value"]:.1f} %'
                             "</text>")
                y += bar_h + gap
            y += gap
        x = label_w + plot_w * IO_GOAL_P99_RATIO / rmax
        parts.append(f'<line x1="{x:.1f}" y1="{io_top}" x2="{x:.1f}" y2="{y}" stroke="#000" '
                     'stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 12}" text-anchor="middle">dashed: the goal, p99 at '
                     f'most {IO_GOAL_P99_RATIO}x alone (with the device at least '
                     f'{IO_GOAL_BUSY_PERCENT} % busy)</text>')
        y += 20
    return parts, y - top


def report(records):
    """results.md: the instruction counts, their ratios, CPU isolation,
    density and IO."""
    return (table(records) + ratio_table(records) + cpu_tables(records) + density_table(records)
            + density_breakdown_table(records) + io_tables(records) + smp_table(records))


# The lateness bars of one system and arch, lighter the heavier the company.
OPACITY = {"alone": 1, "beside hog": 0.6, "beside syscall hog": 0.35}


def svg_cpu(late, share, top, label_w, plot_w):
    """The CPU-isolation part of the chart from y = `top`: the lateness p99s
    alone, beside the hog and beside the syscall hog on a linear ns scale,
    then the shares (percent, linear) with each policy marked; returns
    (parts, the height used)."""
    bar_h, gap = 14, 4
    colors = {"bulkhead": "#2b6cb0", "linux": "#c05621"}
    parts = [f'<text x="10" y="{top + 14}" font-size="14" font-weight="bold">CPU isolation: the '
             "victim's wake-up lateness, p99 in ns (linear), alone and beside each hog</text>"]
    y = top + 26
    vmax = max([r["p99"] for row in late for r in (row[2], row[3], row[5]) if r] + [1])
    for system, arch, alone, beside, ratio, calls, calls_ratio in late:
        bars = [("alone", alone, None), ("beside hog", beside, ratio)]
        if calls:
            bars.append(("beside syscall hog", calls, calls_ratio))
        for what, r, r_ratio in bars:
            w = plot_w * r["p99"] / vmax
            parts.append(f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end">'
                         f'{system} {arch} {what}</text>')
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{colors.get(system, "#666")}" '
                         f'fill-opacity="{OPACITY[what]}"/>')
            note = f' ({r_ratio:.2f}x)' if r_ratio is not None else ""
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 11}">{r["p99"]:,}{note}</text>')
            y += bar_h + gap
        y += gap
    if share:
        y += 10
        parts.append(f'<text x="10" y="{y + 14}" font-size="14" font-weight="bold">CPU share beside '
                     "the hog, percent (linear; black mark: the policy)</text>")
        y += 26
        for r in share:
            w = plot_w * r["value"] / 100
            parts.append(f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end">'
                         f'{r["system"]} {r["arch"]} {r["operation"]}</text>')
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{colors.get(r["system"], "#666")}"/>')
            if r["policy_percent"] is not None:
                x = label_w + plot_w * r["policy_percent"] / 100
                parts.append(f'<line x1="{x:.1f}" y1="{y - 2}" x2="{x:.1f}" y2="{y + bar_h + 2}" '
                             'stroke="#000" stroke-width="2"/>')
            parts.append(f'<text x="{label_w + max(w, plot_w * (r["policy_percent"] or 0) / 100) + 4:.1f}" '
                         f'y="{y + 11}">{r["value"]:.2f} % (policy {policy_text(r)})</text>')
            y += bar_h + gap
    return parts, y - top + 10


def decade_label(decade):
    """10^decade, short enough that ten decades fit the axis: 1, 10, 100,
    1k ... 1G, 10G."""
    prefix, power = next((p, k) for p, k in (("G", 9), ("M", 6), ("k", 3), ("", 0)) if decade >= k)
    return f"{10 ** (decade - power)}{prefix}"


def svg_chart(records):
    """A horizontal bar chart of medians on a log scale; the CPU-isolation
    rows beneath it (svg_cpu)."""
    late, share = lateness(records), shares(records)
    all_records, records = records, list(filter(is_count, records))
    bar_h, gap, label_w, plot_w = 18, 6, 330, 460
    top = 40
    height = top + len(records) * (bar_h + gap) + 40
    cpu_parts, cpu_height = svg_cpu(late, share, height, label_w, plot_w) if late or share else ([], 0)
    extra_parts, extra_height = svg_extra(all_records, height + cpu_height, label_w, plot_w)
    total = height + cpu_height + extra_height
    vmax = max(r["median"] for r in records)
    lmax = math.log10(max(vmax, 10)) + 0.2
    colors = {"bulkhead": "#2b6cb0", "linux": "#c05621", "kvm": "#6b46c1", "sel4": "#2f855a"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 150}" '
             f'height="{total}" font-family="sans-serif" font-size="12">',
             '<text x="10" y="20" font-size="14" font-weight="bold">Guest instructions per '
             'operation (median, log scale; QEMU TCG -icount)</text>']
    for decade in range(0, int(lmax) + 1):
        x = label_w + plot_w * decade / lmax
        parts.append(f'<line x1="{x:.1f}" y1="{top - 5}" x2="{x:.1f}" y2="{height - 30}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 15}" text-anchor="middle">'
                     f'{decade_label(decade)}</text>')
    for i, r in enumerate(records):
        y = top + i * (bar_h + gap)
        w = plot_w * math.log10(max(r["median"], 1)) / lmax
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">'
                     f'{r["system"]} {r["arch"]} {r["operation"]}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{colors.get(r["system"], "#666")}"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{r["median"]:,}</text>')
    parts += cpu_parts + extra_parts
    parts.append("</svg>\n")
    return "\n".join(parts)


def self_test():
    """The density and IO sections against made-up records: absent, one
    side only, both sides; the goal verdict both ways; the chart drawn
    with and without them. Boots nothing."""
    failures = []

    def expect(what, ok):
        if not ok:
            failures.append(what)

    ipc = [{"arch": "x86_64", "system": "bulkhead", "operation": "null_syscall",
            "unit": "instructions", "min": 1, "median": 1, "p99": 1, "iterations": 1}]
    vm = [{"arch": "x86_64", "system": "linux", "operation": "vm_min_memory_mib", "unit": "MiB",
           "value": 89, "probes": [[256, True], [89, True], [88, False]]},
          {"arch": "x86_64", "system": "linux", "operation": "vm_tenants_in_256mib",
           "unit": "tenants", "value": 2, "memory_mib": 256},
          {"arch": "x86_64", "system": "linux", "operation": "vm_boot_to_program",
           "unit": "instructions", "min": 6, "median": 6, "p99": 6, "iterations": 1}]
    ours = [{"arch": "riscv64", "system": "bulkhead", "operation": "tenants_in_256mib",
             "unit": "tenants", "value": 1234},
            {"arch": "riscv64", "system": "bulkhead", "operation": "tenant_spawn",
             "unit": "instructions", "min": 5, "median": 50, "p99": 90, "iterations": 10}]
    text = report(ipc)
    expect("no density or IO section without their rows", "Density" not in text and "IO" not in text)
    text = density_table(ipc + vm)
    expect("the VM way alone: its figures", "| 2 |" in text and "89 MiB" in text and "88 fails" in text)
    text = density_table(ipc + vm + ours)
    expect("both sides: Bulkhead's column", "| Bulkhead riscv64 | the VM way" in text and
           "| tenants in 256 MiB | 1,234 | 2 |" in text and "| instructions to start one | 50 | 6 |" in text)
    expect("the VM way alone: one column", "| | the VM way" in density_table(ipc + vm))
    expect("both sides: '-' for what Bulkhead did not measure", "| - |" in text)
    alone = {"arch": "x86_64", "system": "linux", "operation": "io_victim_alone_linux", "unit": "us",
             "iops": 500.0, "median": 2000, "p99": 4000}

    def beside(setup, p99, busy):
        return [{"arch": "x86_64", "system": "linux", "operation": f"io_victim_beside_flooder_{setup}",
                 "unit": "us", "setup": setup, "iops": 120.0, "median": 2500, "p99": p99,
                 "reservation_iops": 100, "victim_share_percent": 24.0, "flooder_iops": 380.0},
                {"arch": "x86_64", "system": "linux", "operation": f"io_device_busy_percent_{setup}",
                 "unit": "percent", "setup": setup, "value": busy, "given_up_iops": 0.0}]
    io = [alone] + beside("good", 4400, 99.0) + beside("slow", 4900, 99.0) + beside("idle", 4000, 90.0)
    text = io_tables(io)
    verdicts = [line.rsplit("|", 2)[-2].strip() for line in text.splitlines() if "| linux x86_64 |" in line]
    expect(f"goal verdicts yes/no/no, got {verdicts}", verdicts == ["yes", "no", "no"])
    bulkhead_io = [{"arch": "x86_64", "system": "bulkhead", "operation": "io_victim_beside_flooder",
                    "unit": "us", "iops": 100.0, "median": 1, "p99": 2}]
    expect("a Bulkhead IO row without its alone row or busy row", "IO server" in io_tables(bulkhead_io))
    bulkhead_io[0]["policy"] = "victim: reservation 100 IOPS"
    expect("Bulkhead's own set-up's policy named",
           "- bulkhead `IO server`: victim" in io_tables(bulkhead_io))
    expect("the noisy key", noisy_append("/k.elf", 10000, 400) ==
           f" bench.noisy={linux.IO_CAPACITY},{linux.IO_RESERVATION},{linux.IO_SECONDS},"
           f"{linux.IO_DISK_MIB},400")
    expect("clock ratio", clock_ratio([(10.0, 0), (26.0, 16 * 10 ** 9)]) == 1.0 and
           abs(clock_ratio([(10.0, 5), (30.0, 16 * 10 ** 9 + 5)]) - 1.25) < 1e-9 and
           clock_ratio([(1.0, 7)]) is None)
    try:
        noisy_append("/" + "k" * 1000 + ".elf", 10000, 0)
        expect("a command line the bootinfo would cut refused", False)
    except SystemExit:
        pass
    for records in (ipc, ipc + vm + ours + io + bulkhead_io):
        svg = svg_chart(records)
        expect("chart closes", svg.rstrip().endswith("</svg>"))
    expect("chart draws the density and IO parts", "Density" in svg_chart(ipc + vm + io) and
           "Density" not in svg_chart(ipc))
    # The multi-core rows from a canned boot: two timed iterations, the
    # server's warm-up mark first, then one per timed request and one more.
    log = "\n".join([
        'SMPOP {"operation": "ipc_call_reply_0w_2as_smp", "start": 1, "end": 2}',
        "BKMARK 0 1 100", "BKMARK 0 2 150", "BKMARK 0 1 200", "BKMARK 0 2 260",
        'SMPOP {"operation": "ipc_cross_core_roundtrip", "start": 5, "end": 6, "partner": 7}',
        "BKMARK 1 7 10", "BKMARK 1 7 40", "BKMARK 0 5 1000", "BKMARK 1 7 70",
        "BKMARK 0 6 1020", "BKMARK 0 5 2000", "BKMARK 1 7 110", "BKMARK 0 6 2030",
        'SMPOP {"operation": "ipc_scaling_2cpu", "start": 10, "end": 11, "cpus": 2}',
        "BKMARK 0 10 0", "BKMARK 1 10 0", "BKMARK 0 11 40", "BKMARK 1 11 60",
        "BKMARK 0 10 100", "BKMARK 0 11 140", "BKMARK 1 10 100", "BKMARK 1 11 160", ""])
    smp = smp_records(log, "x86_64", 2, 2)
    expect(f"same-core windows 50 and 60, got {smp[0]}",
           (smp[0]["min"], smp[0]["median"], smp[0]["iterations"]) == (50, 60, 2))
    # Client windows 20 and 30; server cycles 70-40 = 30 and 110-70 = 40.
    expect(f"cross-core: client + server, got {smp[1]}",
           (smp[1]["min"], smp[1]["median"], smp[1]["client_median"], smp[1]["server_median"])
           == (50, 70, 30, 40))
    expect(f"scaling: both CPUs' windows, got {smp[2]}",
           smp[2]["per_cpu_median"] == {"0": 40, "1": 60} and smp[2]["pairs"] == 2)
    expect("the multi-core table", "| x86_64 | `ipc_scaling_2cpu` |" in smp_table(smp))
    try:
        smp_records(log.replace("BKMARK 0 2 260\n", ""), "x86_64", 2, 2)
        expect("a missing end marker refused", False)
    except ValueError:
        pass
    # A row with a count of its own (the CPU-isolation victim's 3 wake-ups,
    # whatever bench.iterations says), beside its lateness record.
    wake = smp_records("\n".join([
        'SMPOP {"operation": "cpu_victim_wake_insns_2cpu_alone", "start": 16, "end": 17, '
        '"iterations": 3}',
        "BKMARK 1 16 0", "BKMARK 1 17 10", "BKMARK 1 16 50", "BKMARK 1 17 80",
        "BKMARK 1 16 100", "BKMARK 1 17 120", ""]), "x86_64", 2, 2)
    expect(f"the victim's own count of wake-ups, got {wake}",
           (wake[0]["iterations"], wake[0]["median"], wake[0]["p99"]) == (3, 20, 30))
    late = {"arch": "x86_64", "operation": SMP_ISOLATION_OPS[0], "min": 1, "median": 2, "p99": 3,
            "max": 4}
    expect("the CPU-isolation table on two CPUs",
           "| x86_64 | `cpu_victim_wake_2cpu_alone` | 20 / 30 | 1.00x | 1 / 2 / 3 / 4 | - |"
           in smp_table(smp + wake + [late]))
    for f in failures:
        print("FAIL: " + f)
    print(f"run.py self-test: {'FAILED' if failures else 'passed'}")
    return 1 if failures else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", action="append", choices=bkqemu.ARCHES, required=True)
    ap.add_argument("--build-dir", default=str(ROOT / "build" / "all"))
    ap.add_argument("--iterations", type=int, default=10000)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--ceilings", default=str(ROOT / "tools" / "bench" / "ceilings.json"))
    ap.add_argument("--linux", help="Linux records to include (tools/bench/linux.py output)")
    ap.add_argument("--sel4", help="seL4 records to include (tools/bench/sel4.py output)")
    ap.add_argument("--out-dir", default=str(ROOT / "build" / "bench"))
    ap.add_argument("--kernel", help="kernel ELF name in <build>/<arch> (default: kernel-nodebug.elf)")
    ap.add_argument("--no-smp", action="store_true",
                    help="leave out the multi-core rows (bench-smp-image)")
    ap.add_argument("--smp-cpus", type=int, default=smp_cpus_default(),
                    help="CPUs of the multi-core rows (default: the host's cores, 2 to 4)")
    ap.add_argument("--smp-only", action="store_true",
                    help="only the multi-core rows (the bench-smp ctest runs them so)")
    ap.add_argument("--no-noisy", action="store_true",
                    help="leave out the IO noisy-neighbour rows (host time: they need a quiet host)")
    a = ap.parse_args()
    build, out = pathlib.Path(a.build_dir), pathlib.Path(a.out_dir)
    sel4_records = []
    if a.sel4:  # checked before the long run, not after
        try:
            sel4_records = sel4.load_records(a.sel4)
        except sel4.BenchError as e:
            sys.exit(f"bench: --sel4: {e}")
    records = []
    for arch in a.arch if a.smp_only else []:
        records += run_smp(arch, build, a.iterations, a.timeout, a.kernel, a.smp_cpus)
        records += run_smp_sswi(arch, build, a.iterations, a.timeout, a.kernel, a.smp_cpus)
    for arch in [] if a.smp_only else a.arch:
        records += run_arch(arch, build, a.iterations, a.timeout, a.kernel)
        records += run_mem(arch, build, a.iterations, a.timeout, a.kernel)
        records += run_io(arch, build, a.iterations, a.timeout, a.kernel)
        if not a.check and not a.no_noisy:
            # Host time, about 25 s a run, and no ceiling: not for the
            # regression test (--check), which guards instruction counts.
            records += run_noisy(arch, build, a.iterations, a.timeout, a.kernel)
            # Linux's io.max set-up: the flooder capped at the capacity less
            # the victim's reservation, here on top of the reservation and
            # weights.
            records += run_noisy(arch, build, a.iterations, a.timeout, a.kernel,
                                 linux.IO_CAPACITY - linux.IO_RESERVATION)
        if not a.check and not a.no_smp:
            # Several CPUs without -icount: no ceiling either (host timing
            # reaches the lock's waits), so not for --check.
            records += run_smp(arch, build, a.iterations, a.timeout, a.kernel, a.smp_cpus)
            records += run_smp_sswi(arch, build, a.iterations, a.timeout, a.kernel, a.smp_cpus)
        records += run_density(arch, build, a.iterations, a.timeout, a.kernel)
        if arch == "x86_64":
            records += run_kpti(build, a.iterations, a.timeout, a.kernel)
    ops = (BULKHEAD_OPS + [op + "_kpti" for op in KPTI_OPS] + DENSITY_OPS + SMP_OPS
           + SMP_WAKE_OPS + SMP_ISOLATION_OPS)
    order = {op: i for i, op in enumerate(ops)}
    records.sort(key=lambda r: (r["arch"], order.get(r["operation"], 99)))
    if a.linux:
        records += json.loads(pathlib.Path(a.linux).read_text())
    records += sel4_records
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(records, indent=1) + "\n")
    (out / "results.md").write_text(report(records))
    (out / "chart.svg").write_text(svg_chart(records))
    print(report(records))
    print(f"bench: wrote {out / 'results.json'}, results.md, chart.svg")
    if a.check:
        problems = check(records, json.loads(pathlib.Path(a.ceilings).read_text()))
        for p in problems:
            print("FAIL: " + p)
        print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
