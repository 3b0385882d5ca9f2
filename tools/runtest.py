#!/usr/bin/env python3
"""Boot Bulkhead under QEMU (TCG) and check what it printed and how it ended.

  runtest.py --arch x86_64 --kernel kernel.elf --image boot.img --status pass \\
             --expect 'roottask: hello' --reject 'PANIC'

Passes when QEMU ends within --timeout with the given kernel status, every
--expect regex matches the serial output, no --reject regex does, and each
--at-most N REGEX matches at most N times (output that must stay bounded, such
as rate-limited kernel messages). On failure prints the command, the reason and
the whole serial output.

With --type LINE (repeatable) the runner types on the serial line, as a person
at the console would: the first line once the output matches --type-after, each
next one once the output since the last line matches --prompt, one byte at a
time (QEMU's UART holds back what its FIFO cannot take, so nothing is lost).
"""
import argparse
import pathlib
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bkqemu  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=bkqemu.ARCHES)
    ap.add_argument("--kernel")
    ap.add_argument("--image")
    ap.add_argument("--iso")
    ap.add_argument("--append")
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--cpu")
    ap.add_argument("--bios")
    ap.add_argument("--status", required=True, choices=sorted(bkqemu.STATUS_NAMES.values()))
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--at-most", nargs=2, action="append", default=[], metavar=("N", "REGEX"))
    ap.add_argument("--icount", action="store_true",
                    help="run with -icount shift=0,sleep=off: guest time follows instructions, "
                         "so tick counts repeat exactly whatever the host's load")
    ap.add_argument("--disk", help="a raw disk image to attach as a virtio block device; "
                                     "made afresh (zeroed) with --disk-size")
    ap.add_argument("--disk-size", help="size of the fresh disk image, e.g. 4M")
    ap.add_argument("--iommu", action="store_true",
                    help="x86-64: an Intel IOMMU (-device intel-iommu) that the disk's DMA "
                         "goes through (iommu_platform=on)")
    ap.add_argument("--stderr-apart", action="store_true",
                    help="keep QEMU's own messages out of the serial output and add them at "
                         "its end (QEMU's IOMMU warns on stderr while the kernel writes a line)")
    ap.add_argument("--qemu-arg", action="append", default=[],
                    help="one more argument for QEMU, after all others (repeat for more)")
    ap.add_argument("--type", action="append", default=[], metavar="LINE",
                    help="a line to type on the serial line (repeat for more, in order)")
    ap.add_argument("--type-after", default=None, metavar="REGEX",
                    help="type the first line once the output matches this")
    ap.add_argument("--prompt", default=None, metavar="REGEX",
                    help="type each next line once the output since the last one matches this")
    ap.add_argument("--smp", type=int, help="number of CPUs (QEMU -smp); one if not given")
    ap.add_argument("--machine", help="QEMU machine: x86-64 q35 (default) or pc, RISC-V virt")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--output-file", metavar="FILE",
                    help="write the serial output to FILE, pass or fail (a caller that checks "
                         "more than the patterns reads it: a passing run prints none)")
    a = ap.parse_args()
    if a.machine and a.machine not in bkqemu.MACHINES[a.arch]:
        ap.error(f"--machine {a.machine}: {a.arch} boots on {', '.join(bkqemu.MACHINES[a.arch])}")
    if a.type and (a.type_after is None or a.prompt is None):
        ap.error("--type needs --type-after and --prompt")
    return a


class Typist:
    """Collects QEMU's output on a thread and types the lines in turn."""

    def __init__(self, proc, lines, after, prompt):
        self.proc, self.lines, self.after, self.prompt = proc, list(lines), after, prompt
        self.output = bytearray()
        self.lock = threading.Lock()

    def collect(self):
        for chunk in iter(lambda: self.proc.stdout.read1(4096), b""):
            with self.lock:
                self.output += chunk

    def text(self, start=0):
        with self.lock:
            return self.output[start:].decode(errors="replace")

    def type_lines(self, deadline):
        """Types every line; False if the output stopped matching in time."""
        mark, wait_for = 0, self.after
        for line in self.lines:
            while not re.search(wait_for, self.text(mark)):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    return False
                time.sleep(0.05)
            with self.lock:
                mark = len(self.output)
            for byte in (line + "\n").encode():
                self.proc.stdin.write(bytes([byte]))
                self.proc.stdin.flush()
            wait_for = self.prompt
        return True


def run_typing(cmd, a):
    """Runs QEMU with its serial input from us: (output, exit code or None)."""
    deadline = time.monotonic() + a.timeout
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    typist = Typist(proc, a.type, a.type_after, a.prompt)
    reader = threading.Thread(target=typist.collect, daemon=True)
    reader.start()
    typed = typist.type_lines(deadline)
    try:
        code = proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = None
    reader.join(timeout=5)
    output = typist.text()
    if not typed:
        output += "\n---- runtest: stopped typing: the output did not match in time ----\n"
    return output, code


def run_quietly(cmd, a):
    """Runs QEMU with no serial input: (output, exit code or None)."""
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE if a.stderr_apart else subprocess.STDOUT,
                              timeout=a.timeout)
        output, code = proc.stdout.decode(errors="replace"), proc.returncode
        if a.stderr_apart:
            output += "\n---- QEMU's stderr ----\n" + proc.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        output, code = (e.stdout or b"").decode(errors="replace"), None
        if a.stderr_apart and e.stderr:
            output += "\n---- QEMU's stderr ----\n" + e.stderr.decode(errors="replace")
    return output, code


def main():
    a = parse_args()
    if a.disk and a.disk_size:
        bkqemu.make_disk(a.disk, a.disk_size)
    cmd = bkqemu.command(a.arch, kernel=a.kernel, image=a.image, iso=a.iso, append=a.append,
                         memory=a.memory, cpu=a.cpu, bios=a.bios, icount=a.icount,
                         disk=a.disk, iommu=a.iommu, extra=a.qemu_arg, smp=a.smp,
                         machine=a.machine)
    print("$ " + " ".join(cmd), flush=True)
    output, code = run_typing(cmd, a) if a.type else run_quietly(cmd, a)
    if a.output_file:
        with open(a.output_file, "w") as f:
            f.write(output)
    problems = []
    if code is None:
        problems.append(f"timed out after {a.timeout:.0f} s (hang?)")
    elif bkqemu.decode_status(a.arch, code) != a.status:
        problems.append(f"expected kernel status '{a.status}', got: {bkqemu.describe_exit(a.arch, code)}")
    for pattern in a.expect:
        if not re.search(pattern, output):
            problems.append(f"expected output not found: /{pattern}/")
    for pattern in a.reject:
        m = re.search(pattern, output)
        if m:
            problems.append(f"rejected output found: /{pattern}/ matched {m.group(0)!r}")
    for limit, pattern in a.at_most:
        count = len(re.findall(pattern, output))
        if count > int(limit):
            problems.append(f"/{pattern}/ matched {count} times, at most {limit} allowed")
    if problems:
        print("---- serial output ----\n" + output + "---- end ----")
        for p in problems:
            print("FAIL: " + p)
        return 1
    print(f"PASS: {bkqemu.describe_exit(a.arch, code)}; {len(a.expect)} expected lines found")
    closing = re.findall(r"^(?:\S+ )?(?:\S+: )?\d+ passed, \d+ failed.*$", output, re.M)
    if closing:
        print(f"SUITE {a.arch}: {closing[-1].strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
