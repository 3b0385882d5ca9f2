"""The bench's QEMU plugins (tests/bench/plugin/*.c), built on demand with clang
into <build>/bench-plugin/ by the scripts that load them (wakeup_trace.py,
pc_trail.py); the build's own plugins are CMake's (tests/bench/bench.cmake)."""
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def build(build_dir, name):
    """<build_dir>/bench-plugin/NAME.so from tests/bench/plugin/NAME.c, rebuilt when
    the source is newer."""
    out = pathlib.Path(build_dir) / "bench-plugin" / f"{name}.so"
    src = ROOT / "tests/bench/plugin" / f"{name}.c"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["clang", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
                        "-fvisibility=hidden", "-o", str(out), str(src)], check=True)
    return out
