#!/usr/bin/env python3
"""Checks the shape of the tree that review would otherwise have to catch.

  treecheck.py SOURCE_DIR
  treecheck.py --self-test     checks that every kind of breach is reported

1. Include boundaries (docs/architecture.md, STYLE.md): kernel/ reaches a port
   only through kernel/arch.h and <arch_types.h>; a port never includes the
   other port; nothing in kernel/ or arch/ includes libsys/ or servers/; user
   code (libsys/, servers/, the in-QEMU tests) sees only libsys's headers,
   the generated ABI and the pure parsers, never the rest of kernel/ or arch/.
   The pure parsers (kernel/parse/, built into both the kernel and libsys)
   include only the compiler's headers and each other: nothing of the
   kernel's, of a port's or of libsys's, not even the generated ABI. Their
   headers are named bk_*.h: they are found through -I kernel/parse, and a
   bare "elf.h" or "fdt.h" would be told apart from the C library's or
   libfdt's only by the order of the include path.
2. Size budgets: no C function in kernel/, arch/, libsys/ or servers/ longer
   than FUNCTION_LINES lines, no source file longer than FILE_LINES.
3. Conditional compilation in kernel/: only the macros in KERNEL_CONDITIONALS
   (generic code must not fork per arch or per configuration).

Prints every finding as file:line: message and exits 1 if there is any.
"""
import pathlib
import re
import sys

FUNCTION_LINES = 60
FILE_LINES = 900
KERNEL_CONDITIONALS = {
    "ARCH_HAS_IOPORTS",        # the x86 I/O port space (kernel/arch.h)
    "ARCH_LARGE_PAGE_BITS",    # a default for ports without large pages
    "BULKHEAD_KERNEL_DEBUG",   # debug-only facilities (the invariant walk)
}
# Headers every freestanding C file may use: the compiler's own.
COMPILER_HEADERS = {"stdint.h", "stddef.h", "stdbool.h", "stdarg.h", "stdatomic.h",
                    "stdalign.h", "stdnoreturn.h", "limits.h", "float.h"}
GENERATED = {"bulkhead/abi.h", "bulkhead/syscall_stubs.h"}
# A protocol's generated headers (tools/protogen.py): <protocols/<name>.h>,
# <protocols/<name>_client.h>, <protocols/<name>_server.h>.
GENERATED_PROTOCOL = re.compile(r"protocols/[a-z][a-z0-9_]*\.h")
PARSE_DIR = "kernel/parse"
USER_DIRS = ("libsys", "servers", "tests/ktest", "tests/fuzz", "tests/bench/bulkhead",
             "tests/qemu")
CLOSE = {"<": ">", '"': '"'}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
CONDITIONAL = re.compile(r'^\s*#\s*(if|ifdef|ifndef|elif)\b(.*)')


def part_of(path):
    """The part of the tree a file belongs to, for the include rules."""
    p = path.as_posix()
    if p.startswith(PARSE_DIR + "/"):
        return "parse"
    if p.startswith("arch/"):
        return "arch/" + p.split("/")[1]
    for d in ("kernel",) + USER_DIRS:
        if p == d or p.startswith(d + "/"):
            return "user" if d in USER_DIRS else d
    return None


def resolve(root, src, quote, name):
    """Where an include lands, as a path relative to root, or None for a
    header outside the tree (the compiler's, the generated ones)."""
    if quote == '"':
        local = (root / src).parent / name
        if local.exists():
            return local.resolve().relative_to(root)
    part = part_of(src)
    search = []
    if part == "parse":
        # The kernel's build has kernel/ on the path too: look there, so
        # that a parser reaching for a kernel header is named as such.
        search = [root / PARSE_DIR, root / "kernel"]
    elif part == "kernel" or (part or "").startswith("arch/"):
        search = [root / "kernel", root / PARSE_DIR]
        if part.startswith("arch/"):
            search.append(root / part / "include")
    elif part == "user":
        search = [root / "libsys" / "include", root / PARSE_DIR]
    for d in search:
        if (d / name).exists():
            return (d / name).resolve().relative_to(root)
    return None


def include_findings(root, src, lineno, quote, name):
    part = part_of(src)
    target = resolve(root, src, quote, name)
    where = f"{src}:{lineno}"
    if part == "parse":
        if target is None and name in COMPILER_HEADERS:
            return []
        if target is None or not target.as_posix().startswith(PARSE_DIR + "/"):
            what = target.as_posix() if target else f"{quote}{name}{CLOSE[quote]}"
            return [f"{where}: pure parser includes {what}: only compiler headers and "
                    f"{PARSE_DIR}/"]
        return []
    if target is None:
        if name in COMPILER_HEADERS or name in GENERATED or \
                (part == "user" and GENERATED_PROTOCOL.fullmatch(name)):
            return []
        if part == "kernel" and name == "arch_types.h":
            return []  # the port's names, as kernel/arch.h documents
        if part in ("kernel", "user") or (part or "").startswith("arch/"):
            return [f"{where}: #include {quote}{name}{CLOSE[quote]}: not a header of this part "
                    "of the tree"]
        return []
    t = target.as_posix()
    if part == "kernel" and not t.startswith("kernel/"):
        return [f"{where}: kernel/ includes {t}: only kernel/ headers and <arch_types.h>"]
    if part and part.startswith("arch/"):
        if t.startswith("arch/") and not t.startswith(part + "/"):
            return [f"{where}: {part} includes the other port's {t}"]
        if not (t.startswith("kernel/") or t.startswith(part + "/")):
            return [f"{where}: {part} includes {t}: only kernel/ and its own files"]
    if part == "user" and (t.startswith("kernel/") or t.startswith("arch/")) and \
            not t.startswith(PARSE_DIR + "/"):
        return [f"{where}: user code includes {t}: only libsys headers, the generated ABI "
                f"and {PARSE_DIR}/"]
    return []


def parser_header_findings(src):
    """A header of the pure parsers must carry the bk_ prefix."""
    if src.suffix == ".h" and not src.name.startswith("bk_"):
        return [f"{src}:1: a header in {PARSE_DIR}/ is named bk_*.h, so that no system "
                "header of the same name can stand in for it"]
    return []


def function_findings(src, lines):
    """C functions (a line with '{' alone at column 0, the header above it)
    longer than the budget."""
    found, start = [], None
    for i, line in enumerate(lines):
        if line == "{" and start is None:
            start = i - 1
            while start > 0 and lines[start - 1].strip() and not lines[start - 1].rstrip().endswith(
                    (";", "}", "*/")) and not lines[start - 1].startswith("#"):
                start -= 1
        elif line == "}" and start is not None:
            length = i - start + 1
            if length > FUNCTION_LINES:
                found.append(f"{src}:{start + 1}: function of {length} lines "
                             f"(budget {FUNCTION_LINES}): {lines[start].strip()[:60]}")
            start = None
    return found


def conditional_findings(src, lines):
    found = []
    for i, line in enumerate(lines):
        m = CONDITIONAL.match(line)
        if not m:
            continue
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(2))) - {"defined"}
        bad = sorted(n for n in names if n not in KERNEL_CONDITIONALS)
        if bad:
            found.append(f"{src}:{i + 1}: #{m.group(1)} on {', '.join(bad)}: kernel/ code "
                         "may only be conditional on " + ", ".join(sorted(KERNEL_CONDITIONALS)))
    return found


def check_file(root, path):
    src = path.relative_to(root)
    text = path.read_text(errors="replace")
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        m = INCLUDE.match(line)
        if m:
            found += include_findings(root, src, i + 1, m.group(1), m.group(2))
    part = part_of(src)
    if part in ("kernel", "parse", "user") or (part or "").startswith("arch/"):
        if len(lines) > FILE_LINES:
            found.append(f"{src}:1: file of {len(lines)} lines (budget {FILE_LINES})")
        if path.suffix == ".c" and not src.as_posix().startswith("tests/"):
            found += function_findings(src, lines)
    if part in ("kernel", "parse") and path.suffix in (".c", ".h"):
        found += conditional_findings(src, lines)
    if part == "parse":
        found += parser_header_findings(src)
    return found


def check_tree(root):
    findings = []
    for top in ("kernel", "arch", "libsys", "servers", "tests"):
        for path in sorted((root / top).rglob("*")):
            if path.suffix in (".c", ".h", ".S"):
                findings += check_file(root, path)
    return findings


# --self-test: a small tree with one breach of each rule, each of which must
# be reported (so the check itself can fail), and one clean file.
SELF_TEST_FILES = {
    "kernel/arch.h": "#include <arch_types.h>\n",
    "kernel/good.c": '#include "arch.h"\n#include <bulkhead/abi.h>\n#ifdef ARCH_HAS_IOPORTS\n#endif\n',
    "kernel/reaches_port.c": '#include "../arch/riscv/riscv.h"\n',
    "kernel/reaches_libsys.c": '#include "../libsys/include/bulkhead/sys.h"\n',
    "kernel/forks.c": "#if defined(__x86_64__)\n#endif\n",
    "kernel/long.c": "void f(void)\n{\n" + "    x();\n" * 70 + "}\n",
    "arch/riscv/riscv.h": "",
    "arch/x86_64/crosses.c": '#include "../riscv/riscv.h"\n',
    "libsys/include/bulkhead/sys.h": "",
    "libsys/src/peeks.c": '#include "../../kernel/arch.h"\n',
    "servers/x/main.c": '#include <bulkhead/sys.h>\n#include <protocols/x_server.h>\n',
    # A protocol's generated headers are for user code only.
    "kernel/uses_protocol.c": '#include <protocols/x.h>\n',
    # The pure parsers: used by the kernel, a port and libsys alike, while
    # they themselves reach for nothing outside kernel/parse/.
    "kernel/types.h": "",
    "kernel/parse/bk_elf.h": "#include <stdint.h>\n",
    "kernel/parse/elf.c": '#include "bk_elf.h"\n#include <stdbool.h>\n',
    "kernel/uses_parser.c": '#include "bk_elf.h"\n',
    "arch/riscv/uses_parser.c": '#include "bk_elf.h"\n',
    "libsys/src/uses_parser.c": '#include "bk_elf.h"\n',
    "kernel/parse/fdt.h": "#include <stdint.h>\n",
    "kernel/parse/uses_kernel.c": '#include "types.h"\n',
    "kernel/parse/uses_kernel_path.c": '#include "../arch.h"\n',
    "kernel/parse/uses_abi.c": '#include <bulkhead/abi.h>\n',
    "kernel/parse/uses_libc.c": '#include <string.h>\n',
    "kernel/parse/uses_libsys.c": '#include "../../libsys/include/bulkhead/sys.h"\n',
    "kernel/parse/forks.c": "#ifdef __riscv\n#endif\n",
}
SELF_TEST_EXPECT = ["kernel/reaches_port.c:1", "kernel/uses_protocol.c:1", "kernel/reaches_libsys.c:1", "kernel/forks.c:1",
                    "kernel/long.c:1", "arch/x86_64/crosses.c:1", "libsys/src/peeks.c:1",
                    "kernel/parse/uses_kernel.c:1", "kernel/parse/uses_kernel_path.c:1",
                    "kernel/parse/uses_abi.c:1", "kernel/parse/uses_libc.c:1",
                    "kernel/parse/uses_libsys.c:1", "kernel/parse/forks.c:1",
                    "kernel/parse/fdt.h:1"]


def self_test():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        root = pathlib.Path(d).resolve()
        for rel, text in SELF_TEST_FILES.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        findings = check_tree(root)
    missed = [e for e in SELF_TEST_EXPECT if not any(f.startswith(e + ":") for f in findings)]
    extra = [f for f in findings if not any(f.startswith(e + ":") for e in SELF_TEST_EXPECT)]
    for f in findings:
        print("  found: " + f)
    for m in missed:
        print(f"treecheck self-test: the breach at {m} was not reported")
    for f in extra:
        print(f"treecheck self-test: a clean file was reported: {f}")
    print("treecheck self-test: " + ("ok" if not missed and not extra else "FAILED"))
    return 1 if missed or extra else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    findings = check_tree(pathlib.Path(sys.argv[1]).resolve())
    for f in findings:
        print(f)
    print(f"treecheck: {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
