#!/usr/bin/env python3
"""The CPU-isolation victim's wake-ups taken apart, from a trace of clock reads.

  wakeup_trace.py --arch x86_64 [--build-dir DIR] [--kernel NAME] [--iterations N]
                  [--refill-at-yield] [--log FILE]

Boots the bench image (as tools/bench/run.py does, with -icount) under the QEMU
plugin tests/bench/plugin/clockreads.c, which logs the instruction count at every
clock read, and for each of the victim's 500 timed wake-ups in each scenario
(alone, beside the spinning hog, beside the syscall hog) prints p50 / p99 / max of:

  row   what the bench reports: the victim's reading minus (the last one + 1 ms)
  b     from the kernel's charging read (serve_due() after a timer interrupt, or
        charge_switch()) that began the victim's run, to the victim's reading
  c     from the victim's reading to its Yield's reading (yield_budget())
  true  the wake-up's latency: the victim's reading minus the instant its refill
        came due, which is the last run's charging read + 1 ms (since 871d2ab), or
        with --refill-at-yield (kernels before it) the last Yield's reading + 1 ms

in instructions (ns under -icount while the CPU never idles, as in this scenario).
See docs/performance.md, "Why the rows moved after the refill join". The counts
are the plugin's, not the guest's clock: on x86-64 they drift from the TSC inside
the syscall hog's long calls, so that scenario's row and true are not the TSC's there.
"""
import argparse
import math
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import bkqemu  # noqa: E402
import plugins  # noqa: E402 (tools/bench, this script's folder)

PERIOD = 1000000  # VICTIM_PERIOD in tests/bench/bulkhead/cpu.c
WAKES, WARMUP = 500, 20
SCENARIOS = ["alone", "beside_hog", "beside_syscall_hog"]
CHARGING = ("serve_due", "charge_switch")


def trace(arch, build, kernel, iterations, log):
    out = build / arch
    cmd = bkqemu.command(arch, kernel=out / kernel, image=out / "bench-image.img",
                         append=f"bench.iterations={iterations}", icount=True,
                         extra=["-plugin", str(plugins.build(build, "clockreads")), "-d", "plugin",
                                "-D", str(log)])
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False)
    reads = []
    with open(log) as f:
        for line in f:
            if line.startswith("BKPC "):
                _, pc, count = line.split()
                reads.append((int(pc, 16), int(count)))
    return reads


def functions(elf, pcs):
    """Each address's function and the functions it is inlined into."""
    pcs = sorted(pcs)
    text = subprocess.run(["llvm-symbolizer", "--obj", str(elf), "--functions=short", "--inlines"],
                          input="\n".join(hex(p) for p in pcs), capture_output=True, text=True,
                          check=True).stdout
    frames = text.strip().split("\n\n")
    return {pc: set(block.split("\n")[::2]) for pc, block in zip(pcs, frames)}


def pct(values, p):
    values = sorted(values)
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def summary(values):
    return f"{pct(values, 50):,} / {pct(values, 99):,} / {max(values):,}"


def take_apart(reads, arch, build, kernel, refill_at_yield):
    user = {pc for pc, _ in reads if pc < 0x80000000}
    kern = {pc for pc, _ in reads if pc >= 0x80000000}
    user_fns = functions(build / arch / "bench.elf", user)
    kern_fns = functions(build / arch / kernel, kern)
    in_victim = [pc for pc in user if "victim" in user_fns[pc]]
    victim_pc = max(in_victim, key=lambda pc: sum(1 for p, _ in reads if p == pc))
    charging = {pc for pc in kern if kern_fns[pc] & set(CHARGING)}
    yielding = {pc for pc in kern if "yield_budget" in kern_fns[pc]}
    wakes = [i for i, (pc, _) in enumerate(reads) if pc == victim_pc]
    per = WARMUP + WAKES
    if len(wakes) != per * len(SCENARIOS):
        sys.exit(f"wakeup_trace: {len(wakes)} victim readings, {per * len(SCENARIOS)} expected")
    for k, name in enumerate(SCENARIOS):
        r, s, y = [], [], []
        for i in wakes[k * per:(k + 1) * per]:
            r.append(reads[i][1])
            j = i - 1
            while reads[j][0] not in charging:
                j -= 1
            s.append(reads[j][1])
            j = i + 1
            while reads[j][0] not in yielding:
                j += 1
            y.append(reads[j][1])
        base = y if refill_at_yield else s
        timed = range(WARMUP, per)
        rows = {"row": [max(0, r[i] - r[i - 1] - PERIOD) for i in timed],
                "b": [r[i] - s[i] for i in timed],
                "c": [y[i] - r[i] for i in timed],
                "true": [r[i] - base[i - 1] - PERIOD for i in timed]}
        print(f"{arch} {name}: " + "; ".join(f"{key} {summary(v)}" for key, v in rows.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=["x86_64", "riscv64"])
    ap.add_argument("--build-dir", default=str(ROOT / "build/all"))
    ap.add_argument("--kernel", default="kernel-nodebug.elf")
    ap.add_argument("--iterations", type=int, default=10000)
    ap.add_argument("--refill-at-yield", action="store_true",
                    help="the kernel refills at the Yield's instant (before 871d2ab)")
    ap.add_argument("--log", help="where QEMU writes the trace (large: ~300 MB)")
    args = ap.parse_args()
    build = pathlib.Path(args.build_dir)
    log = pathlib.Path(args.log or build / f"wakeup-trace-{args.arch}.log")
    reads = trace(args.arch, build, args.kernel, args.iterations, log)
    take_apart(reads, args.arch, build, args.kernel, args.refill_at_yield)


if __name__ == "__main__":
    main()
