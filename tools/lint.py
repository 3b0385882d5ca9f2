#!/usr/bin/env python3
"""Static checks that must stay clean: cppcheck over every C file of the kernel,
both ports, libsys, the servers, the tests and the generated protocol code.

  lint.py SOURCE_DIR GEN_DIR
Exits non-zero and prints the findings if there are any.
"""
import pathlib
import subprocess
import sys


def groups(src, gen):
    """(files, include dirs, defines) per part of the tree."""
    k = src / "kernel"
    common_defs = ["-DBULKHEAD_VERSION=\"lint\""]
    yield (sorted(k.rglob("*.c")), [k, src / "tests/host/fake_arch", gen / "include"], common_defs)
    # The host fake arch and the host tests that drive the whole kernel
    # through it (tests/host/CMakeLists.txt: bulkhead_kernel_test).
    host = src / "tests/host"
    yield (sorted(host.glob("fake_*.c")) + [host / "kworld.c"] +
           [host / f"test_{t}.c" for t in ("endpoint", "notification", "sched", "tcb",
                                           "fastpath", "vspace", "irq", "ipc_random")],
           [k, host / "fake_arch", host, gen / "include"], common_defs)
    for arch, d in (("x86_64", "x86_64"), ("riscv64", "riscv")):
        yield (sorted((src / "arch" / d).rglob("*.c")),
               [k, src / "arch" / d / "include", src / "arch" / d, gen / "include"], common_defs)
    user = [src / "libsys/include", gen / "include", gen / "x86_64"]
    yield (sorted((src / "libsys").rglob("*.c")) + sorted((src / "servers").rglob("*.c")), user, [])
    yield (sorted((src / "tests/qemu").rglob("*.c")), user, ["-DFAULT_KIND=1"])
    # Server protocols: the generated stubs and dispatch (tools/protogen.py)
    # and the code written against them.
    proto = gen / "proto"
    yield (sorted(proto.glob("*.c")) + sorted((src / "tests/ktest/kv").glob("*.c")) +
           [src / "tests/ktest/proto_tests.c"], user + [proto / "include"], [])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, gen = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    failed = False
    for files, incs, defs in groups(src, gen):
        if not files:
            continue
        cmd = ["cppcheck", "-q", "--error-exitcode=1", "--std=c11", "--inline-suppr",
               "--enable=warning,portability,performance", "--suppress=missingIncludeSystem",
               # cppcheck does not model register-asm variables in the generated stubs
               "--suppress=constStatement:*syscall_stubs.h",
               *defs, *[f"-I{i}" for i in incs], *map(str, files)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0 or proc.stdout.strip():
            print(proc.stdout)
            failed = True
    print("lint: " + ("findings above" if failed else "cppcheck clean"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
