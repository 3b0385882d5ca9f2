#!/usr/bin/env python3
"""Where the instructions before a point went, function by function.

  pc_trail.py --arch x86_64 (--at-clock-read-in FUNCTION | --at-pc HEX ...)
              [--image bench-image.img] [--program bench.elf] [--kernel kernel-nodebug.elf]
              [--append "bench.iterations=1000"] [--records FIRST:END] [--from FUNCTION]
              [--show N] [--top K] [--ring N] [--smp N] [--build-dir DIR]

Boots the image under -icount with the QEMU plugin tests/bench/plugin/pctrail.c, which
keeps the last --ring (a power of two) instructions' addresses and writes them out each time a trigger
executes: the clock reads (rdtsc; RISC-V rdtime) in the user program's function
--at-clock-read-in, or the addresses --at-pc. Each such execution is a record, in order
(--records picks a slice: a bench runs many scenarios). A record's trail is kept whole,
or with --from FUNCTION cut at the first instruction of FUNCTION in the kernel entry
that ran it last (for functions that run once an entry: trap handlers,
kernel_timer_at_preemption, kernel_syscall). Prints the trails' lengths (p50 / p99 / max,
instructions) and the mean instructions per function, innermost inlined function first,
outermost after a '/';
--show N prints record N's trail as runs of one function, the oldest first.

docs/performance.md, "Taking a path apart", says how session 30 used it on the
CPU-isolation victim. One vCPU only; the plugin makes QEMU some ten times slower.
"""
import argparse
import collections
import math
import pathlib
import struct
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import bkqemu  # noqa: E402
import plugins  # noqa: E402 (tools/bench, this script's folder)

USER_TOP = 0x80000000  # user programs lie below, both kernels above


def clock_reads_in(elf, function):
    """The addresses of the clock reads in `function` of `elf`."""
    text = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", str(elf)],
                          capture_output=True, text=True, check=True).stdout
    found, inside = [], False
    for line in text.splitlines():
        if line.endswith(">:") and "<.L" not in line:  # a local label is its function's
            inside = line.split("<", 1)[1].startswith(function + ">")
        elif inside and ("rdtsc" in line or "rdtime" in line):
            found.append(int(line.split(":")[0], 16))
    return found


def run(args, build, triggers, log):
    out = build / args.arch
    plugin = ",".join([str(plugins.build(build, "pctrail"))] +
                      [f"at={t:x}" for t in triggers] +
                      [f"out={log}", f"ring={args.ring}"])
    cmd = bkqemu.command(args.arch, kernel=out / args.kernel, image=out / args.image,
                         append=args.append, icount=True, extra=["-plugin", plugin],
                         smp=args.smp)
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False)


def records(log):
    with open(log, "rb") as f:
        data = f.read()
    pos, out = 0, []
    while pos + 16 <= len(data):
        _, n = struct.unpack_from("<QQ", data, pos)
        pos += 16
        out.append(struct.unpack_from(f"<{n}Q", data, pos))
        pos += 8 * n
    return out


def symbolise(elf, pcs):
    """Each address's innermost function and the one it is inlined into."""
    if not pcs:
        return {}
    text = subprocess.run(["llvm-symbolizer", "--obj", str(elf), "--functions=short",
                           "--inlines"], input="\n".join(hex(p) for p in pcs),
                          capture_output=True, text=True, check=True).stdout
    names = {}
    for pc, block in zip(pcs, text.strip().split("\n\n")):
        frames = block.split("\n")[::2]
        names[pc] = frames[0] if len(frames) == 1 else f"{frames[0]}/{frames[-1]}"
    return names


def cut(trail, names, start):
    """The trail from the first instruction of `start` in the last kernel
    entry that ran it (after the user-mode instruction before its last one),
    or None if it did not run."""
    if not start:
        return trail
    inside = [k for k, pc in enumerate(trail) if names[pc].split("/")[0] == start]
    if not inside:
        return None
    last_user = max((k for k in range(inside[-1]) if trail[k] < USER_TOP), default=-1)
    return trail[next(k for k in inside if k > last_user):]


def runs(trail, names):
    out = []
    for pc in trail:
        if out and out[-1][0] == names[pc]:
            out[-1][1] += 1
        else:
            out.append([names[pc], 1])
    return out


def pct(values, p):
    values = sorted(values)
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=["x86_64", "riscv64"])
    ap.add_argument("--build-dir", default=str(ROOT / "build/all"))
    ap.add_argument("--kernel", default="kernel-nodebug.elf")
    ap.add_argument("--image", default="bench-image.img")
    ap.add_argument("--program", default="bench.elf", help="the user program's ELF")
    ap.add_argument("--append", default="bench.iterations=1000")
    ap.add_argument("--at-clock-read-in", metavar="FUNCTION")
    ap.add_argument("--at-pc", action="append", default=[], metavar="HEX")
    ap.add_argument("--records", default=":", metavar="FIRST:END")
    ap.add_argument("--from", dest="start", metavar="FUNCTION")
    ap.add_argument("--show", type=int, action="append", default=[], metavar="N")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--ring", type=int, default=8192)
    ap.add_argument("--smp", type=int, default=None,
                    help="CPUs (-smp); the ring holds every vCPU's instructions, interleaved "
                         "as QEMU ran them, so the others should be idle")
    args = ap.parse_args()
    if args.ring < 2 or args.ring & (args.ring - 1) or args.ring > 65536:
        sys.exit(f"pc_trail: --ring {args.ring}: a power of two from 2 to 65536 (the plugin's RING_MAX)")
    build = pathlib.Path(args.build_dir)
    program = build / args.arch / args.program
    triggers = [int(p, 16) for p in args.at_pc]
    if args.at_clock_read_in:
        triggers += clock_reads_in(program, args.at_clock_read_in)
    if not triggers:
        sys.exit("pc_trail: no trigger (--at-pc, or --at-clock-read-in a function with one)")
    with tempfile.TemporaryDirectory() as tmp:
        log = pathlib.Path(tmp) / "trail.bin"
        run(args, build, triggers, log)
        trails = records(log)
    first, _, end = args.records.partition(":")
    picked = list(range(len(trails)))[slice(int(first) if first else None,
                                            int(end) if end else None)]
    if not picked:
        sys.exit(f"pc_trail: {len(trails)} records, none in {args.records}")
    shown = [n for n in args.show if 0 <= n < len(trails)]
    pcs = sorted({pc for i in picked + shown for pc in trails[i]})
    names = symbolise(program, [p for p in pcs if p < USER_TOP])
    names.update(symbolise(build / args.arch / args.kernel, [p for p in pcs if p >= USER_TOP]))
    per_function, lengths = collections.Counter(), []
    for i in picked:
        trail = cut(trails[i], names, args.start)
        if trail is None:
            continue
        lengths.append(len(trail))
        per_function.update(names[pc] for pc in trail)
    print(f"{len(trails)} records, {len(picked)} picked, {len(lengths)} with "
          f"{args.start or 'the whole ring'}")
    if lengths:
        print(f"instructions: p50 {pct(lengths, 50):,} / p99 {pct(lengths, 99):,} / "
              f"max {max(lengths):,}")
        for name, count in per_function.most_common(args.top):
            print(f"{count / len(lengths):9.1f}  {name}")
    for n in shown:
        trail = cut(trails[n], names, args.start) or trails[n]
        print(f"--- record {n}: {len(trail)} instructions")
        for name, count in runs(trail, names):
            print(f"{count:6d}  {name}")


if __name__ == "__main__":
    main()
