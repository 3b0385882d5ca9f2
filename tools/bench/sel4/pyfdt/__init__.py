"""A stand-in for the `pyfdt` package (not packaged by Debian), written for
tools/bench/sel4.py: seL4's tools/hardware reads the device tree blob of
qemu-riscv-virt through it. Only what those tools use is here (see pyfdt.py)."""
