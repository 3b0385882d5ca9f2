#!/usr/bin/env python3
"""The system policy: read it, lower it to a capability table, check it.

Usage: policy.py check POLICY.toml [--json GRAPH.json] [--svg GRAPH.svg]
       policy.py lower POLICY.toml [-o TABLE.json]
       policy.py --self-test DEMO.toml  (each check refuses a broken copy of it)

docs/policy.md teaches the format, the table and the rules; every error is
"file:line:column: field: message [Ecode]" and all errors are printed at once.
The checks run over the lowered table (every object, every capability in
every slot), so what is checked is what a root task would build.
"""
import copy
import json
import math
import pathlib
import re
import sys
import tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import policytoml  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
ABI_TOML = ROOT / "kernel" / "abi.toml"
OBJECT_H = ROOT / "kernel" / "object.h"
TABLE_FORMAT = "bulkhead-captable"
TABLE_VERSION = 3

RIGHTS = {"read": "BK_RIGHT_READ", "write": "BK_RIGHT_WRITE", "grant": "BK_RIGHT_GRANT",
          "grant_reply": "BK_RIGHT_GRANT_REPLY"}
# What a capability to each kind of object gives its holder over the object's
# owner (docs/policy.md, "The authority check").
CONTROL_TYPES = {"BK_OBJ_CNODE", "BK_OBJ_TCB", "BK_OBJ_VSPACE", "BK_OBJ_UNTYPED"}
FLOW_TYPES = {"BK_OBJ_FRAME", "BK_OBJ_NOTIFICATION"}
CARRIABLE = {"frame": "BK_OBJ_FRAME", "notification": "BK_OBJ_NOTIFICATION",
             "endpoint": "BK_OBJ_ENDPOINT", "vspace": "BK_OBJ_VSPACE", "tcb": "BK_OBJ_TCB",
             "cnode": "BK_OBJ_CNODE", "untyped": "BK_OBJ_UNTYPED",
             "sched_context": "BK_OBJ_SCHED_CONTEXT"}
SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB|TiB)?\s*$")
UNITS = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
CNODE_RADIX = 8          # a process's CNode: 2^8 slots (docs/libsys.md, the slot table)
MAX_PRIORITY = 255

# The real servers take their capabilities in fixed slots of their CNode,
# the ones their spawner fills (bk_process_spawn() and the moves after it),
# and use the other slots for themselves; the table puts each cap where the
# program looks for it and gives it nothing else (E0118). The numbers are
# the programs' own: servers/mem/server.h (ENDPOINT = BK_PROCESS_CAP_ARG,
# POOL_SLOT 13), servers/sched/server.h (ENDPOINT, SchedControl in
# BK_CAP_SCHED_CONTROL, POOL_SLOT(0) = 11). "setup" names the
# administrator's calls the root task makes for each tenant with a channel
# to the server (SETUP_KINDS); its VSpace cap in slot 3 is the server's own
# (BK_SPAWN_GIVE_VSPACE), its SchedContext, IPC buffer and Reply object are
# not in its CSpace (it never names them).
SERVER_LAYOUTS = {
    # It spawns tenants for a tenant manager (Mem: Spawn): SchedControl of
    # its CPU in BK_CAP_SCHED_CONTROL 8 (their SchedContexts) and an ASID
    # pool in ASID_POOL_SLOT(0) 40 (their address spaces); ASIDControl in
    # ASID_CONTROL 30 makes each account its own pool (Mem: Make).
    "mem-server": {"protocol": "mem", "endpoint": 6, "untyped": 13, "setup": "mem",
                   "sched_control": 8, "asid_pool": 40, "asid_control": 30},
    # Its slot 8 holds CPU 0's SchedControl whatever CPU it runs on (its
    # own threads run on CPU 0), and CPU c's for each other CPU c its
    # tenants run on in slot 96 + c (servers/sched/server.h, CPU_SLOT).
    "sched-server": {"protocol": "sched", "endpoint": 6, "sched_control": 8, "untyped": 11,
                     "setup": "sched", "cpu_slots": 96},
    # servers/tenants/tenants.h: TENANTS_SLOT_MEM 11, its channel to the
    # memory server (unbadged: the manager is that server's administrator);
    # TENANTS_SLOT_CHANNEL 12, the endpoint it passes its tenants' hellos
    # on to; TENANTS_SLOT_IO 18, its channel to the IO server (unbadged: it
    # sets its tenants' IO policies and disks and mints each a badged copy)
    # for an allowance with IO (Tenants: ConfigureIo); TENANTS_SLOT_SCHED 20,
    # its channel to the scheduler server (unbadged, with grant: its tenants'
    # CPU quotas are reservations there, their threads handed over with
    # Sched: AddThread; Mem: Thread answers with each, so its channel to the
    # memory server needs grant_reply then); TENANTS_SLOT_SIGNAL 14, the
    # notification its console's interrupt signals (the handler,
    # TENANTS_SLOT_IRQ 13, the root task puts in at boot for
    # `device = "console"`); TENANTS_SLOT_DONE 15, what its
    # console's `exit` signals (the root task waits on it). `programs` are
    # sealed by the root task and named to it (Tenants: AddProgram).
    "tenants-server": {"protocol": "tenants", "endpoint": 6,
                       "channels": {"mem": 11, "io": 18, "sched": 20},
                       "allowance": True, "own_endpoints": {"channel": 12},
                       "notification": 14, "done": 15, "device": "console",
                       "programs": True},
    # servers/io/io.h: the driver's endpoint in IO_SLOT_DRIVER 16, the
    # session pool (8 x 64 KiB) in IO_SLOT_POOL 17, its own 256 KiB in
    # IO_SLOT_MEMORY 18; SchedControl (its timer thread's time) in
    # BK_CAP_SCHED_CONTROL. Its tenants get Io: SetPolicy and Io: SetDisk.
    # IO_SLOT_MEM_SERVER 28 (IO_SLOT_SESSION 20 + 8 tenants): its channel to
    # the memory server, as that server's server n (badge MEM_SERVER_BADGE |
    # n, E0909), so tenants can pay their sessions (IO: OpenGranted).
    "io-server": {"protocol": "io", "endpoint": 6, "sched_control": 8,
                  "channels": {"blk": 16, "mem": 28},
                  "untyped": 17, "untyped_bytes": 512 << 10, "memory": (18, 256 << 10),
                  "setup": "io"},
    # servers/blk/blk.h: its DMA memory (BLK_MEMORY_BITS) in BLK_SLOT_MEMORY
    # 9 and the notification its lines signal in BLK_SLOT_NOTIFICATION 10.
    # The device's own caps (start page 8, IRQ handlers 12-27, register
    # pages 28-35, IOSpace 36) the root task puts in at boot, from the
    # device it finds (DEVICES).
    "blk-server": {"protocol": "blk", "endpoint": 6, "untyped": 9, "untyped_bytes": 128 << 10,
                   "notification": 10, "device": "virtio-blk", "device_required": True},
}
# The devices a policy can name (a driver's `device`): the root task finds
# each at boot from what the kernel hands over (the device tree on RISC-V,
# ACPI's MCFG and the PCI bus on x86-64; servers/blk/discover.c), so the
# policy names no board's addresses or lines. The value is its number in
# the table (servers/roottask/captable.h, CAPTABLE_DEVICE_*).
DEVICES = {"virtio-blk": 1, "console": 2}
# A virtio-blk driver's hang timeout (`hang_timeout_ms`): how long its IO
# server waits, owed answers and with none completing, before it reports the
# driver hung to the root task, which restarts it (IO: WatchDriver). The
# bounds are the IO server's (servers/io/main.c, WATCH_MIN_MS and
# WATCH_MAX_MS); the default is generous because a TCG guest's clock runs
# on while a loaded host is slow over a disk request.
HANG_TIMEOUT_MS_DEFAULT = 2000
HANG_TIMEOUT_MS_RANGE = (10, 60000)
# The badge of a manager's cap to its `done` notification, so that the root
# task's poll tells a signal from nothing (captable.h, CAPTABLE_CONSOLE_DONE_BADGE).
CONSOLE_DONE_BADGE = 1
# The programs a tenant manager may spawn (`programs`): at most its table's
# (servers/tenants/tenants.h, TENANTS_PROGRAMS), each a boot module the root
# task seals (Mem: SealProgram) in one account of the memory server with
# this quota (the ELF file while it is read, its segments' images and
# start-info page, page tables), counted with the tenants' quotas (E0304).
MANAGER_PROGRAMS = 8
PROGRAMS_QUOTA = 1 << 20
# The IO server's tenants (servers/io/iosched.h, IOSCHED_TENANTS) and the
# capacity its reservations may sum to (servers/io/main.c, CAPACITY_IOPS);
# a block is one of the device's 512-byte sectors.
IO_TENANTS = 8
IO_SERVER_CAPACITY_IOPS = 1000
IO_DEFAULT_LATENCY_US = 100000
# The memory server tells a server that takes its tenants' grants (Mem:
# TakeGrant) by this bit of the badge, with the server's number 1..15 below
# it (servers/mem/server.h, MEM_SERVER_BADGE; Mem: Grant's `holder`).
MEM_SERVER_BADGE = 1 << 61
MEM_SERVER_HOLDERS = 15
# The set-up calls (servers/roottask/captable.h, CAPTABLE_SETUP_*).
SETUP_KINDS = {"mem": ("mem.create_account", 1), "sched": ("sched.create_tenant", 2),
               "allowance": ("tenants.configure", 3), "io": ("io.set_policy", 4),
               "io_disk": ("io.set_disk", 5), "program": ("tenants.add_program", 6),
               "io_allowance": ("tenants.configure_io", 7), "watch": ("tenants.watch", 8)}
# The memory server's largest account (servers/mem/account.h, MEM_QUOTA_MAX)
# and smallest (two pages: its CNode page and one more).
MEM_QUOTA_MAX = 4 << 20
MEM_QUOTA_MIN = 8 << 10
# The scheduler server's period and capacity (servers/sched/server.h,
# PERIOD_NS and CAPACITY_PERCENT): a tenant's reservation is a whole percent
# of that period, and the reservations sum to at most the capacity.
SCHED_PERIOD_US = 10000
SCHED_CAPACITY_PERCENT = 95
SCHED_CPUS = 8   # servers/sched/server.h, CPUS: the CPUs it can hand out, 0 to 7


# -- the kernel's numbers ---------------------------------------------------

def kernel_constants():
    """BK_* constants of kernel/abi.toml, and the object sizes the ABI does
    not carry (TCB, endpoint, notification, page table, VSpace, CNode slot)
    from kernel/object.h's OBJ_*_BITS, the kernel's own definitions."""
    with open(ABI_TOML, "rb") as f:
        abi = tomllib.load(f)
    consts = {c["name"]: c["value"] for c in abi["constants"]}
    header = OBJECT_H.read_text()
    for name, value in re.findall(r"#define\s+((?:OBJ|CNODE)_\w+_BITS)\s+(\d+)\b", header):
        consts[name] = int(value)
    return consts


def object_bits(consts):
    """log2 bytes of each fixed-size object type, in retyped RAM."""
    return {
        "BK_OBJ_TCB": consts["OBJ_TCB_BITS"],
        "BK_OBJ_ENDPOINT": consts["OBJ_ENDPOINT_BITS"],
        "BK_OBJ_NOTIFICATION": consts["OBJ_NOTIFICATION_BITS"],
        "BK_OBJ_VSPACE": consts["OBJ_VSPACE_BITS"],
        "BK_OBJ_PAGE_TABLE": consts["OBJ_PAGE_TABLE_BITS"],
        "BK_OBJ_REPLY": consts["BK_REPLY_BITS"],
        "BK_OBJ_SCHED_CONTEXT": consts["BK_SCHED_CONTEXT_BITS"],
        "BK_OBJ_FRAME": consts["BK_PAGE_BITS"],
    }


# -- errors -----------------------------------------------------------------

class Report:
    """Collects every error with its place; printed all at once."""

    def __init__(self, filename, positions):
        self.filename = filename
        self.positions = positions
        self.errors = []

    def at(self, path):
        line, col = policytoml.position(self.positions, path)
        return {"line": line, "column": col, "field": field_name(path)}

    def error(self, path, code, message):
        where = self.at(path)
        self.errors.append((where["line"], where["column"], where["field"], code, message, ()))

    def error_at(self, where, code, message, notes=()):
        self.errors.append((where["line"], where["column"], where["field"], code, message,
                            tuple(notes)))

    def codes(self):
        return sorted({e[3] for e in self.errors})

    def lines(self):
        out = []
        for line, col, field, code, message, notes in sorted(set(self.errors)):
            out.append(f"{self.filename}:{line}:{col}: {field}: {message} [{code}]")
            out.extend(notes)
        return out


def field_name(path):
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + str(p))
    return out or "(file)"


def size_text(n):
    for unit in ("GiB", "MiB", "KiB"):
        if n >= UNITS[unit] and n % UNITS[unit] == 0:
            return f"{n // UNITS[unit]} {unit}"
    for unit in ("GiB", "MiB", "KiB"):
        if n >= UNITS[unit]:
            return f"{n / UNITS[unit]:.1f} {unit}"
    return f"{n} bytes"


# -- reading the policy -----------------------------------------------------

class Reader:
    """Typed access to the policy's fields; a wrong field is an error, not
    an exception, and unknown fields are errors too (a typo must not pass)."""

    def __init__(self, data, report):
        self.data = data
        self.report = report

    def table(self, path, value, allowed, required=()):
        if not isinstance(value, dict):
            self.report.error(path, "E0103", f"expected a table, found {type_name(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.report.error(path + (key,), "E0101",
                                  f"unknown field (known: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.report.error(path, "E0102", f"missing field '{key}'")
        return value

    def get(self, path, value, key, kind, default=None):
        if not isinstance(value, dict) or key not in value:
            return default
        v = value[key]
        p = path + (key,)
        if kind == "size":
            return self.size(p, v, default)
        if kind == "int" and (type(v) is not int):
            self.report.error(p, "E0103", f"expected an integer, found {type_name(v)}")
            return default
        if kind == "str" and not isinstance(v, str):
            self.report.error(p, "E0103", f"expected a string, found {type_name(v)}")
            return default
        if kind == "bool" and not isinstance(v, bool):
            self.report.error(p, "E0103", f"expected true or false, found {type_name(v)}")
            return default
        if kind == "strs":
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                self.report.error(p, "E0103", "expected a list of strings")
                return default
        if kind == "ints":
            if not isinstance(v, list) or not all(type(x) is int for x in v):
                self.report.error(p, "E0103", "expected a list of integers")
                return default
        if kind == "ranges":
            if (not isinstance(v, list) or not all(
                    isinstance(r, list) and len(r) == 2 and all(type(x) is int and x >= 0 for x in r)
                    for r in v)):
                self.report.error(p, "E0103", "expected a list of [start, count] pairs")
                return default
        return v

    def size(self, path, v, default):
        if type(v) is int and v >= 0:
            return v
        m = SIZE.match(v) if isinstance(v, str) else None
        if not m:
            self.report.error(path, "E0104",
                              f"expected a size (bytes, or a string like \"4 MiB\"), found {v!r}")
            return default
        return int(m.group(1)) * UNITS[m.group(2)]


def type_name(v):
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


COMPONENT_FIELDS = {"program", "args", "trusted", "protocol", "cpu", "memory", "io",
                    "devices", "untyped", "allowance", "device", "programs", "hang_timeout_ms"}
ALLOWANCE_FIELDS = {"memory", "cpu", "cpus", "io_iops", "blocks"}
CPU_FIELDS = {"cpu", "cpus", "percent", "budget_us", "period_us", "priority", "limit", "weight"}
MEMORY_FIELDS = {"quota", "minimum"}
IO_FIELDS = {"reservation_iops", "limit_iops", "weight", "blocks", "latency_target_us"}
DEVICE_FIELDS = {"irqs", "ioports", "memory"}


def read_policy(data, report, consts):
    """The policy as plain records (each with the paths of its fields)."""
    r = Reader(data, report)
    r.table((), data, {"system", "servers", "tenants", "channels", "shared", "caps", "exceptions"},
            ("system",))
    system = data.get("system", {})
    r.table(("system",), system, {"name", "ram", "cpus", "kernel_reserved", "io_capacity_iops"},
            ("name", "ram"))
    pol = {
        "name": r.get(("system",), system, "name", "str", "unnamed"),
        "ram": r.get(("system",), system, "ram", "size", 0),
        "cpus": r.get(("system",), system, "cpus", "int", 1),
        "kernel_reserved": r.get(("system",), system, "kernel_reserved", "size", 4 << 20),
        "io_capacity": r.get(("system",), system, "io_capacity_iops", "int", None),
        "components": [], "channels": [], "shared": [], "caps": [], "exceptions": [],
    }
    seen = {}
    for kind in ("servers", "tenants"):
        group = data.get(kind, {})
        if not isinstance(group, dict):
            report.error((kind,), "E0103", f"expected a table of {kind}")
            continue
        for name, body in group.items():
            path = (kind, name)
            if not NAME.match(name):
                report.error(path, "E0105", "a name is 1-16 of a-z, 0-9 and '-', "
                             "starting with a letter")
            if name in seen:
                report.error(path, "E0106", f"'{name}' is also {seen[name]}")
                continue
            seen[name] = field_name(path)
            comp = read_component(r, path, body, kind[:-1], name)
            if comp:
                pol["components"].append(comp)
    read_channels(r, data, pol)
    read_shared(r, data, pol)
    read_caps(r, data, pol)
    read_exceptions(r, data, pol)
    return pol


def read_hang_timeout(r, path, comp):
    """A virtio-blk driver's `hang_timeout_ms` (default HANG_TIMEOUT_MS_DEFAULT),
    within the IO server's bounds; nobody else's: E0407."""
    ms, (low, high) = comp["hang_timeout_ms"], HANG_TIMEOUT_MS_RANGE
    if comp["device"] != "virtio-blk":
        if ms is not None:
            r.report.error(path + ("hang_timeout_ms",), "E0407",
                           "only a block driver (device = \"virtio-blk\") is watched for hangs")
        comp["hang_timeout_ms"] = 0
    elif ms is None:
        comp["hang_timeout_ms"] = HANG_TIMEOUT_MS_DEFAULT
    elif not low <= ms <= high:
        r.report.error(path + ("hang_timeout_ms",), "E0407",
                       f"{ms} ms is outside {low}..{high} ms, what the IO server accepts "
                       "(IO: WatchDriver)")


def read_component(r, path, body, kind, name):
    if r.table(path, body, COMPONENT_FIELDS, ("program", "cpu", "memory")) is None:
        return None
    comp = {"name": name, "kind": kind, "path": path,
            "program": r.get(path, body, "program", "str", ""),
            "args": r.get(path, body, "args", "strs", []),
            "trusted": r.get(path, body, "trusted", "bool", False),
            "protocol": r.get(path, body, "protocol", "str", None),
            "untyped": r.get(path, body, "untyped", "size", 0),
            "device": r.get(path, body, "device", "str", None),
            "programs": r.get(path, body, "programs", "strs", []),
            "hang_timeout_ms": r.get(path, body, "hang_timeout_ms", "int", None)}
    if comp["device"] is not None and comp["device"] not in DEVICES:
        r.report.error(path + ("device",), "E0406", f"no device '{comp['device']}' "
                       f"(known: {', '.join(DEVICES)})")
    if comp["device"] is not None and kind == "tenant":
        r.report.error(path + ("device",), "E0406", "a device is driven by a server, not a tenant")
    read_hang_timeout(r, path, comp)
    if comp["protocol"] and not (ROOT / "servers" / comp["protocol"] / "protocol.toml").exists():
        r.report.error(path + ("protocol",), "E0107",
                       f"no server protocol '{comp['protocol']}' (servers/*/protocol.toml)")
    if kind == "tenant" and comp["untyped"]:
        r.report.error(path + ("untyped",), "E0108",
                       "a tenant gets memory by quota from the memory server, not as untyped")
    cpu = body.get("cpu", {})
    p = path + ("cpu",)
    if r.table(p, cpu, CPU_FIELDS, ("priority",)) is not None:
        comp["cpu"] = {"cpu": r.get(p, cpu, "cpu", "int", 0),
                       "percent": r.get(p, cpu, "percent", "int", None),
                       "budget_us": r.get(p, cpu, "budget_us", "int", None),
                       "period_us": r.get(p, cpu, "period_us", "int", None),
                       "priority": r.get(p, cpu, "priority", "int", 0),
                       "limit": r.get(p, cpu, "limit", "int", None),
                       "weight": r.get(p, cpu, "weight", "int", 1),
                       "cpus": r.get(p, cpu, "cpus", "ints", None)}
    mem = body.get("memory", {})
    p = path + ("memory",)
    if r.table(p, mem, MEMORY_FIELDS, ("quota",)) is not None:
        comp["memory"] = {"quota": r.get(p, mem, "quota", "size", None),
                          "minimum": r.get(p, mem, "minimum", "size", 0)}
    if "io" in body:
        io = body["io"]
        p = path + ("io",)
        if r.table(p, io, IO_FIELDS, ("limit_iops",)) is not None:
            comp["io"] = {"reservation_iops": r.get(p, io, "reservation_iops", "int", 0),
                          "limit_iops": r.get(p, io, "limit_iops", "int", 0),
                          "weight": r.get(p, io, "weight", "int", 1),
                          "blocks": r.get(p, io, "blocks", "ints", None),
                          "latency_target_us": r.get(p, io, "latency_target_us", "int",
                                                     IO_DEFAULT_LATENCY_US)}
    if "allowance" in body:
        al = body["allowance"]
        p = path + ("allowance",)
        if r.table(p, al, ALLOWANCE_FIELDS, ("memory", "cpu")) is not None:
            comp["allowance"] = {"memory": r.get(p, al, "memory", "size", 0) or 0,
                                 "cpu": r.get(p, al, "cpu", "int", 0) or 0,
                                 "cpus": r.get(p, al, "cpus", "ints", None) or [0],
                                 "io_iops": r.get(p, al, "io_iops", "int", 0) or 0,
                                 "blocks": r.get(p, al, "blocks", "ints", None)}
    if "devices" in body:
        dev = body["devices"]
        p = path + ("devices",)
        if r.table(p, dev, DEVICE_FIELDS) is not None:
            comp["devices"] = {"irqs": r.get(p, dev, "irqs", "ints", []),
                               "ioports": r.get(p, dev, "ioports", "ranges", []),
                               "memory": r.get(p, dev, "memory", "ranges", [])}
    return comp


def array_of_tables(r, data, key, fields, required):
    items = data.get(key, [])
    if not isinstance(items, list):
        r.report.error((key,), "E0103", f"expected [[{key}]] entries")
        return []
    out = []
    for i, item in enumerate(items):
        if r.table((key, i), item, fields, required) is not None:
            out.append((i, item))
    return out


def read_channels(r, data, pol):
    for i, ch in array_of_tables(r, data, "channels",
                                 {"from", "to", "badge", "rights", "carries"},
                                 ("from", "to", "badge", "rights")):
        p = ("channels", i)
        pol["channels"].append({
            "index": i, "path": p, "from": r.get(p, ch, "from", "str", ""),
            "to": r.get(p, ch, "to", "str", ""), "badge": r.get(p, ch, "badge", "int", 0),
            "rights": r.get(p, ch, "rights", "strs", []),
            "carries": r.get(p, ch, "carries", "strs", [])})


def read_shared(r, data, pol):
    for i, sh in array_of_tables(r, data, "shared", {"name", "kind", "between", "size", "rights"},
                                 ("name", "kind", "between")):
        p = ("shared", i)
        pol["shared"].append({
            "index": i, "path": p, "name": r.get(p, sh, "name", "str", f"shared{i}"),
            "kind": r.get(p, sh, "kind", "str", "frame"),
            "between": r.get(p, sh, "between", "strs", []),
            "size": r.get(p, sh, "size", "size", 4096),
            "rights": r.get(p, sh, "rights", "strs", ["read", "write"])})


def read_caps(r, data, pol):
    for i, cp in array_of_tables(r, data, "caps", {"holder", "object", "rights", "badge"},
                                 ("holder", "object", "rights")):
        p = ("caps", i)
        pol["caps"].append({"index": i, "path": p, "holder": r.get(p, cp, "holder", "str", ""),
                            "object": r.get(p, cp, "object", "str", ""),
                            "rights": r.get(p, cp, "rights", "strs", []),
                            "badge": r.get(p, cp, "badge", "int", 0)})


def read_exceptions(r, data, pol):
    for i, ex in array_of_tables(r, data, "exceptions", {"between", "reason"},
                                 ("between", "reason")):
        p = ("exceptions", i)
        reason = r.get(p, ex, "reason", "str", "")
        if "reason" in ex and not str(reason).strip():
            r.report.error(p + ("reason",), "E0502", "an exception needs a reason a reviewer can read")
        pol["exceptions"].append({"index": i, "path": p, "reason": reason,
                                  "between": r.get(p, ex, "between", "strs", [])})


# -- lowering: every object, every capability in every slot -----------------

# The fields whose place the table keeps, for the checks' errors.
FIELD_PLACES = ["cpu", "cpu.cpu", "cpu.cpus", "cpu.percent", "cpu.budget_us", "cpu.priority", "memory",
                "memory.quota", "memory.minimum", "io", "io.reservation_iops", "io.weight",
                "io.blocks", "untyped", "allowance", "allowance.blocks", "allowance.cpus"]


def field_at(comp, name):
    return comp["fields_at"][name]


class Lowering:
    """Builds the table (docs/policy.md, "The capability table")."""

    def __init__(self, pol, report, consts):
        self.pol = pol
        self.report = report
        self.consts = consts
        self.bits = object_bits(consts)
        self.objects = []
        self.by_name = {}
        self.components = {}
        self.next_slot = {}
        self.setups = []

    def obj(self, name, otype, owner, at, size_bits=None, ram=True, **extra):
        bits = self.bits.get(otype) if size_bits is None else size_bits
        o = {"name": name, "type": otype, "type_value": self.consts[otype], "owner": owner,
             "size_bits": bits, "bytes": (1 << bits) if (ram and bits is not None) else 0,
             "ram": ram, "at": at}
        o.update(extra)
        self.objects.append(o)
        self.by_name[name] = o
        return o

    def cap(self, holder, obj, rights, at, badge=0, slot=None, **extra):
        comp = self.components[holder]
        layout = SERVER_LAYOUTS.get(comp["program"]) if comp["kind"] == "server" else None
        if slot is None and layout:
            target = self.components.get(obj["owner"])
            want = layout.get("channels", {}).get(target["protocol"]) \
                if "channel" in extra and target else None
            if want is not None and all(c["slot"] != want for c in comp["slots"]):
                slot = want
            else:
                self.report.error_at(at, "E0118", f"{holder} runs {comp['program']}, which takes "
                                     f"its capabilities in fixed slots and uses the others itself: "
                                     f"it cannot hold {obj['name']} too")
        if slot is None:
            slot = self.next_slot[holder]
            self.next_slot[holder] += 1
        names = [RIGHTS[r] for r in ("read", "write", "grant", "grant_reply") if r in rights]
        c = {"slot": slot, "object": obj["name"], "type": obj["type"], "rights": names,
             "rights_value": sum(self.consts[n] for n in names), "badge": badge, "at": at}
        c.update(extra)
        comp["slots"].append(c)
        return c

    def component(self, c):
        at = self.report.at(c["path"])
        name = c["name"]
        entry = {"name": name, "kind": c["kind"], "trusted": c["trusted"], "program": c["program"],
                 "args": c["args"], "protocol": c["protocol"], "at": at,
                 "cpu": c.get("cpu"), "memory": c.get("memory"), "io": c.get("io"),
                 "devices": c.get("devices"), "device": c.get("device"),
                 "hang_timeout_ms": c.get("hang_timeout_ms", 0),
                 "untyped_bytes": c["untyped"],
                 "allowance": c.get("allowance"), "programs": c.get("programs") or [],
                 "fields_at": {f: self.report.at(c["path"] + tuple(f.split(".")))
                               for f in FIELD_PLACES},
                 "cspace": {"object": f"{name}.cnode", "radix": CNODE_RADIX}, "slots": []}
        self.components[name] = entry
        self.next_slot[name] = self.consts["BK_PROCESS_FIRST_FREE_SLOT"]
        allr = ("read", "write", "grant", "grant_reply")
        self.cap(name, self.obj(f"{name}.tcb", "BK_OBJ_TCB", name, at), allr, at,
                 slot=self.consts["BK_CAP_ROOT_TCB"])
        self.cap(name, self.obj(f"{name}.cnode", "BK_OBJ_CNODE", name, at,
                                size_bits=CNODE_RADIX + self.consts["CNODE_SLOT_BITS"], radix=CNODE_RADIX),
                 allr, at, slot=self.consts["BK_CAP_ROOT_CNODE"])
        self.cap(name, self.obj(f"{name}.vspace", "BK_OBJ_VSPACE", name, at), allr, at,
                 slot=self.consts["BK_CAP_ROOT_VSPACE"])
        layout = SERVER_LAYOUTS.get(c["program"]) if c["kind"] == "server" else None
        if c.get("allowance") and not (layout and layout.get("allowance")):
            self.report.error(c["path"] + ("allowance",), "E0118", "an allowance is the tenant "
                              "manager's (program tenants-server)")
        if c.get("device") in DEVICES and not (layout and layout.get("device") == c["device"]):
            self.report.error(c["path"] + ("device",), "E0406",
                              f"{c['program']} drives no {c['device']}: its driver is "
                              f"{', '.join(p for p, l in SERVER_LAYOUTS.items() if l.get('device') == c['device'])}")
        if c.get("programs") and not (layout and layout.get("programs")):
            self.report.error(c["path"] + ("programs",), "E0118", "programs to spawn are the "
                              "tenant manager's (program tenants-server)")
        if layout:
            self.fixed_layout(c, layout, at)
            return
        self.cap(name, self.obj(f"{name}.sched_context", "BK_OBJ_SCHED_CONTEXT", name,
                                self.report.at(c["path"] + ("cpu",))), allr, at)
        self.cap(name, self.obj(f"{name}.ipc_buffer", "BK_OBJ_FRAME", name, at), allr, at)
        if c["kind"] == "server":
            self.cap(name, self.obj(f"{name}.endpoint", "BK_OBJ_ENDPOINT", name, at), allr, at)
            self.cap(name, self.obj(f"{name}.reply", "BK_OBJ_REPLY", name, at), allr, at)
        if c["untyped"]:
            self.untyped(c, at)
        if c.get("devices"):
            self.devices(c)

    def fixed_layout(self, c, layout, at):
        """A real server's objects, its caps in the slots its program reads."""
        name, allr = c["name"], ("read", "write", "grant", "grant_reply")
        if c["protocol"] != layout["protocol"]:
            self.report.error(c["path"] + ("program",), "E0118",
                              f"{c['program']} serves protocol '{layout['protocol']}', "
                              f"not {c['protocol']!r}")
        self.obj(f"{name}.sched_context", "BK_OBJ_SCHED_CONTEXT", name,
                 self.report.at(c["path"] + ("cpu",)))
        self.obj(f"{name}.ipc_buffer", "BK_OBJ_FRAME", name, at)
        self.cap(name, self.obj(f"{name}.endpoint", "BK_OBJ_ENDPOINT", name, at), allr, at,
                 slot=layout["endpoint"])
        self.obj(f"{name}.reply", "BK_OBJ_REPLY", name, at)
        if "sched_control" in layout:
            cpu = 0 if "cpu_slots" in layout else (c.get("cpu") or {}).get("cpu") or 0
            o = self.obj(f"{name}.sched_control", "BK_OBJ_SCHED_CONTROL", name,
                         self.report.at(c["path"] + ("cpu",)), size_bits=0, ram=False,
                         kernel=True, cpu=cpu)
            self.cap(name, o, allr, o["at"], slot=layout["sched_control"])
        if "untyped" in layout and not c["untyped"]:
            self.report.error(c["path"], "E0118", f"{c['program']} needs memory of its own: "
                              "give it 'untyped'")
        if c["untyped"] and layout.get("untyped_bytes", c["untyped"]) != c["untyped"]:
            self.report.error(c["path"] + ("untyped",), "E0118",
                              f"{c['program']} takes an untyped of exactly "
                              f"{size_text(layout['untyped_bytes'])}, not {size_text(c['untyped'])}")
        elif c["untyped"]:
            self.untyped(c, at, slot=layout["untyped"])
        if "memory" in layout:
            # A second untyped of the program's own, of the size it reads.
            slot, size = layout["memory"]
            o = self.obj(f"{name}.memory", "BK_OBJ_UNTYPED", name, at,
                         size_bits=size.bit_length() - 1)
            self.cap(name, o, allr, at, slot=slot)
        if "notification" in layout:
            o = self.obj(f"{name}.notification", "BK_OBJ_NOTIFICATION", name, at)
            self.cap(name, o, allr, at, slot=layout["notification"])
        if "done" in layout:
            o = self.obj(f"{name}.done", "BK_OBJ_NOTIFICATION", name, at)
            self.cap(name, o, ("write",), at, badge=CONSOLE_DONE_BADGE, slot=layout["done"])
        for what, slot in layout.get("own_endpoints", {}).items():
            o = self.obj(f"{name}.{what}", "BK_OBJ_ENDPOINT", name, at)
            self.cap(name, o, allr, at, slot=slot)
        if "asid_control" in layout:
            # The kernel's one ASIDControl cap: it cannot be copied, so the
            # root task moves its own, once, after making every ASID pool.
            first = next((o for o in self.objects if o["type"] == "BK_OBJ_ASID_CONTROL"), None)
            if first:
                self.report.error(c["path"], "E0118", f"{c['program']} takes ASIDControl, the "
                                  f"kernel's one such cap, which {first['owner']} holds already "
                                  "(it cannot be copied)")
            else:
                o = self.obj(f"{name}.asid_control", "BK_OBJ_ASID_CONTROL", name, at,
                             size_bits=0, ram=False, kernel=True, cpu=0)
                self.cap(name, o, allr, at, slot=layout["asid_control"])
        if "asid_pool" in layout:
            o = self.obj(f"{name}.asid_pool", "BK_OBJ_ASID_POOL", name, at,
                         size_bits=self.consts["BK_ASID_POOL_BITS"])
            self.cap(name, o, allr, at, slot=layout["asid_pool"])
        if layout.get("device_required") and not c.get("device"):
            self.report.error(c["path"], "E0118", f"{c['program']} is a driver: name its device "
                              f"(device = \"{layout['device']}\")")
        if c.get("devices"):
            self.report.error(c["path"] + ("devices",), "E0118",
                              f"{c['program']} drives no devices")
        if layout.get("allowance") and not c.get("allowance"):
            self.report.error(c["path"], "E0118", f"{c['program']} hands out an allowance: give it "
                              "'allowance = { memory, cpu }'")

    def untyped(self, c, at, slot=None):
        size = c["untyped"]
        p = c["path"] + ("untyped",)
        if size < 4096 or size & (size - 1):
            self.report.error(p, "E0305", f"untyped of {size} bytes: a power of two from 4 KiB")
            return
        o = self.obj(f"{c['name']}.untyped", "BK_OBJ_UNTYPED", c["name"], self.report.at(p),
                     size_bits=size.bit_length() - 1)
        self.cap(c["name"], o, ("read", "write", "grant", "grant_reply"), o["at"], slot=slot)

    def devices(self, c):
        name, dev = c["name"], c["devices"]
        base = c["path"] + ("devices",)
        allr = ("read", "write", "grant", "grant_reply")
        for i, irq in enumerate(dev["irqs"]):
            at = self.report.at(base + ("irqs", i))
            o = self.obj(f"{name}.irq{irq}", "BK_OBJ_IRQ_HANDLER", name, at, size_bits=0,
                         ram=False, irq=irq)
            self.cap(name, o, allr, at)
        for i, (start, count) in enumerate(dev["ioports"]):
            at = self.report.at(base + ("ioports", i))
            o = self.obj(f"{name}.ioport{start:#x}", "BK_OBJ_IOPORT", name, at, size_bits=0,
                         ram=False, first=start, count=count)
            self.cap(name, o, allr, at)
        for i, (start, size) in enumerate(dev["memory"]):
            at = self.report.at(base + ("memory", i))
            if start % 4096 or size % 4096 or size == 0:
                self.report.error(base + ("memory", i), "E0404",
                                  f"device memory [{start:#x}, +{size:#x}) is not whole 4 KiB pages")
                continue
            o = self.obj(f"{name}.devmem{start:#x}", "BK_OBJ_FRAME", name, at, ram=False,
                         phys=start, pages=size // 4096, device=True)
            self.cap(name, o, ("read", "write"), at)

    def known(self, path, name, kind=None):
        comp = self.components.get(name)
        if comp is None:
            self.report.error(path, "E0109", f"no server or tenant '{name}'")
            return False
        if kind and comp["kind"] != kind:
            self.report.error(path, "E0110", f"'{name}' is a {comp['kind']}, not a {kind}")
            return False
        return True

    def rights(self, path, rights):
        ok = True
        for i, r in enumerate(rights):
            if r not in RIGHTS:
                self.report.error(path + (i,), "E0111",
                                  f"unknown right '{r}' (known: {', '.join(RIGHTS)})")
                ok = False
        return ok

    def channel(self, ch):
        p = ch["path"]
        ok = self.known(p + ("from",), ch["from"]) & self.known(p + ("to",), ch["to"], "server")
        ok &= self.rights(p + ("rights",), ch["rights"])
        for i, kind in enumerate(ch["carries"]):
            if kind not in CARRIABLE:
                self.report.error(p + ("carries", i), "E0112",
                                  f"unknown capability kind '{kind}' (known: {', '.join(CARRIABLE)})")
        moves = {"grant", "grant_reply"} & set(ch["rights"])
        if moves and not ch["carries"]:
            self.report.error(p + ("rights",), "E0801", f"{' and '.join(sorted(moves))} lets "
                              "capabilities travel: list which in 'carries'")
        if ch["carries"] and not moves:
            self.report.error(p + ("carries",), "E0802", "capabilities travel only with "
                              "'grant' (to the server) or 'grant_reply' (back)")
        if "write" not in ch["rights"]:
            self.report.error(p + ("rights",), "E0803", "a channel needs 'write' to call")
        if not ok:
            return
        at = self.report.at(p)
        server = self.by_name[f"{ch['to']}.endpoint"]
        self.cap(ch["from"], server, ch["rights"], at, badge=ch["badge"], channel=ch["index"],
                 carries=[CARRIABLE[k] for k in ch["carries"] if k in CARRIABLE])

    def shared(self, sh):
        p = sh["path"]
        kinds = {"frame": "BK_OBJ_FRAME", "notification": "BK_OBJ_NOTIFICATION",
                 "endpoint": "BK_OBJ_ENDPOINT", "cnode": "BK_OBJ_CNODE"}
        if sh["kind"] not in kinds:
            self.report.error(p + ("kind",), "E0113", f"unknown kind '{sh['kind']}' "
                              f"(known: {', '.join(kinds)})")
            return
        ok = len(sh["between"]) >= 1
        if not ok:
            self.report.error(p + ("between",), "E0114", "name at least one component")
        for i, n in enumerate(sh["between"]):
            ok &= self.known(p + ("between", i), n)
        ok &= self.rights(p + ("rights",), sh["rights"])
        bits = None
        if sh["kind"] == "frame":
            if sh["size"] not in (4096, 1 << self.consts.get("OBJ_LARGE_FRAME_BITS", 21)):
                self.report.error(p + ("size",), "E0115", f"a shared frame is 4 KiB or 2 MiB, "
                                  f"not {size_text(sh['size'])}")
                return
            bits = sh["size"].bit_length() - 1
        if sh["kind"] == "cnode":
            bits = CNODE_RADIX + self.consts["CNODE_SLOT_BITS"]
        if not ok or f"shared.{sh['name']}" in self.by_name:
            if ok:
                self.report.error(p + ("name",), "E0106", f"a second shared object '{sh['name']}'")
            return
        at = self.report.at(p)
        o = self.obj(f"shared.{sh['name']}", kinds[sh["kind"]], sh["between"][0], at,
                     size_bits=bits, shared=sh["index"])
        for n in dict.fromkeys(sh["between"]):
            self.cap(n, o, sh["rights"], at)

    def extra_cap(self, cp):
        """An explicit capability: a holder gets a copy of a lowered object."""
        p = cp["path"]
        ok = self.known(p + ("holder",), cp["holder"]) & self.rights(p + ("rights",), cp["rights"])
        o = self.by_name.get(cp["object"])
        if o is None:
            self.report.error(p + ("object",), "E0117", f"no object '{cp['object']}' in the table "
                              "(names are <component>.<object>: tcb, cnode, vspace, "
                              "sched_context, ipc_buffer, endpoint, reply, untyped; shared.<name>)")
        elif ok:
            self.cap(cp["holder"], o, cp["rights"], self.report.at(p), badge=cp["badge"])

    def setup_calls(self):
        """The administrator's calls for each tenant with a channel to a real
        server, in the order of the channels' badges: the server numbers
        its tenants 1, 2, ... in the order it is told of them, and that
        number is the badge it tells a tenant's calls apart by, so the
        badges must be exactly 1..n (E0901)."""
        for server in self.components.values():
            layout = SERVER_LAYOUTS.get(server["program"]) if server["kind"] == "server" else None
            if layout and layout.get("allowance") and server["allowance"]:
                self.setup_allowance(server)
            if not layout or "setup" not in layout:
                continue
            calls = []
            for comp in self.components.values():
                for cap in comp["slots"]:
                    if comp["kind"] == "tenant" and "channel" in cap and \
                            cap["object"] == f"{server['name']}.endpoint":
                        calls.append((cap["badge"], comp, cap))
            calls.sort(key=lambda x: x[0])
            if layout["setup"] == "mem":
                self.check_mem_servers(server)
            if layout["setup"] == "io":
                self.setup_io(server, calls)
                continue
            for i, (badge, comp, cap) in enumerate(calls):
                if badge != i + 1:
                    self.report.error_at(cap["at"], "E0901", f"{comp['name']} calls {server['name']} "
                                         f"with badge {badge}, but {server['program']} numbers its "
                                         f"tenants 1..{len(calls)} as it is told of them, and would "
                                         f"know {comp['name']} as {i + 1}")
                args = getattr(self, f"setup_{layout['setup']}")(server, comp, cap)
                if args is None:
                    continue
                if layout["setup"] == "sched":
                    self.worker(comp, cap["at"])
                kind, value = SETUP_KINDS[layout["setup"]]
                rec = {"kind": kind, "kind_value": value, "server": server["name"],
                       "subject": comp["name"], "id": badge, "args": args, "at": cap["at"]}
                if layout["setup"] == "mem":
                    rec["gives"] = f"{comp['name']}.vspace"
                if layout["setup"] == "sched":  # args[2] is both, for the root task
                    rec["weight"], rec["cpus"] = args[2] & 0xffffffff, args[2] >> 32
                self.setups.append(rec)
            if layout["setup"] == "sched":
                self.sched_cpus(server, layout)
        admitted = {s["subject"] for s in self.setups if s["kind"] == "sched.create_tenant"}
        for comp in self.components.values():
            if (comp["cpu"] or {}).get("cpus") is not None and comp["name"] not in admitted:
                self.report.error_at(comp["fields_at"]["cpu.cpus"], "E0207",
                                     f"{comp['name']}: cpus: only a tenant of a scheduler "
                                     "server runs on several CPUs (its workers, one a CPU)")
        # Last: the account of a manager's programs is opened after every
        # tenant's, whose ids are their channels' badges (E0901).
        for server in self.components.values():
            layout = SERVER_LAYOUTS.get(server["program"]) if server["kind"] == "server" else None
            if layout and layout.get("programs"):
                self.setup_programs(server)
            if layout and layout.get("allowance") and server["allowance"]:
                self.setup_watch(server)

    def check_mem_servers(self, server):
        """A server's channel to the memory server, other than its
        administrator's (badge 0), makes it the memory server's server n:
        the badge is MEM_SERVER_BADGE | n, n of 1..15, and Mem: TakeGrant
        answers with a CNode of the tenant's memory, so it needs
        grant_reply (E0909). Else Mem: TakeGrant, and with it IO:
        OpenGranted, would be refused at run time."""
        for comp in self.components.values():
            for cap in comp["slots"]:
                if comp["kind"] != "server" or "channel" not in cap or cap["badge"] == 0 or \
                        cap["object"] != f"{server['name']}.endpoint":
                    continue
                n = cap["badge"] & ~MEM_SERVER_BADGE
                if not cap["badge"] & MEM_SERVER_BADGE or not 1 <= n <= MEM_SERVER_HOLDERS or \
                        RIGHTS["grant_reply"] not in cap["rights"]:
                    self.report.error_at(cap["at"], "E0909", f"{comp['name']} calls "
                                         f"{server['name']} with badge {cap['badge']:#x}: "
                                         f"{server['program']} knows a server n as badge "
                                         f"{MEM_SERVER_BADGE:#x} | n, n of 1..{MEM_SERVER_HOLDERS}, "
                                         "with 'grant_reply' (Mem: TakeGrant answers with a CNode)")

    def worker(self, comp, at):
        """A scheduler server's tenant gets a worker per CPU it is admitted
        on (its `cpu.cpus`, else its own CPU): a TCB of its own, configured
        by the root task in the tenant's spaces at most at the server's
        borrowing band (CAPTABLE_WORKER_MCP) and with no SchedContext, which
        the tenant registers with the server for that CPU (Sched:
        AddThread): the server's budget there is then what the kernel
        enforces for it. The first is `NAME.worker`, the others
        `NAME.worker_cpuC`; each object says its CPU (`worker_cpu`)."""
        name = comp["name"]
        for i, c in enumerate(tenant_cpus(comp)):
            o = self.obj(f"{name}.worker" if i == 0 else f"{name}.worker_cpu{c}", "BK_OBJ_TCB",
                         name, at, worker=True, worker_cpu=c)
            self.cap(name, o, ("read", "write", "grant", "grant_reply"), at)

    def setup_allowance(self, server):
        """Tenants: Configure: the manager's allowance, what it may hand out."""
        al = server["allowance"]
        where = self.report.at(("servers", server["name"], "allowance"))
        if not 1 <= al["cpu"] <= 100:
            self.report.error_at(where, "E0905", f"{server['name']}: an allowance of {al['cpu']} % "
                                 "of the CPU: the tenant manager takes 1 to 100")
            return
        kind, value = SETUP_KINDS["allowance"]
        sched = self.manager_sched_server(server)
        cpus = al["cpus"]
        at = self.report.at(("servers", server["name"], "allowance", "cpus"))
        if len(set(cpus)) != len(cpus) or any(not 0 <= c < SCHED_CPUS for c in cpus) or \
                (cpus != [0] and not sched):
            self.report.error_at(at, "E0207", f"{server['name']}: allowance cpus {cpus}: each "
                                 f"CPU once, 0 to {SCHED_CPUS - 1}, and a CPU other than 0 only "
                                 "with a channel to a scheduler server (a fixed budget is the "
                                 "memory server's, on CPU 0)")
            cpus = [0]
        rec = {"kind": kind, "kind_value": value, "server": server["name"],
               "subject": server["name"], "id": 0,
               "args": [al["memory"], al["cpu"], sum(1 << c for c in cpus)], "at": where}
        if sched:
            rec["sched_server"] = sched
        self.setups.append(rec)
        if al["blocks"] is not None or al["io_iops"]:
            self.setup_io_allowance(server, al, where)

    def manager_sched_server(self, server):
        """The scheduler server a tenant manager's channel reaches (its tenants'
        CPU quotas are reservations there, on CPU 0), or None."""
        slot = SERVER_LAYOUTS[server["program"]]["channels"]["sched"]
        caps = [cap for cap in server["slots"] if "channel" in cap and cap["slot"] == slot]
        return caps[0]["object"].split(".")[0] if caps else None

    def setup_io_allowance(self, server, al, where):
        """Tenants: ConfigureIo: the IO a manager may hand out. It needs its
        channel to an IO server (badge 0: it is that server's administrator)
        and its sectors (`blocks`); it gets the IO tenant numbers no table
        tenant's channel to that server uses, and the IO server's number
        with the memory server (its tenants pay their sessions there:
        Mem: Grant's holder)."""
        slot = SERVER_LAYOUTS[server["program"]]["channels"]["io"]
        io = [cap for cap in server["slots"] if "channel" in cap and cap["slot"] == slot]
        if not io or io[0]["badge"] != 0:
            self.report.error_at(where, "E0118", f"{server['name']}: an allowance with IO needs "
                                 "a channel to the IO server with badge 0 (it sets its tenants' "
                                 "IO policies and disks as its administrator)")
            return
        blocks = al["blocks"]
        if blocks is None or len(blocks) != 2 or blocks[0] < 0 or blocks[1] <= 0:
            self.report.error_at(where, "E0703", f"{server['name']}: an allowance with IO needs "
                                 "its disk's sectors, blocks = [first, count], count at least 1")
            return
        io_server = io[0]["object"].split(".")[0]
        used = {cap["badge"] for comp in self.components.values() for cap in comp["slots"]
                if comp["kind"] == "tenant" and "channel" in cap and
                cap["object"] == f"{io_server}.endpoint"}
        numbers = [n for n in range(1, IO_TENANTS + 1) if n not in used]
        holders = [cap["badge"] & ~MEM_SERVER_BADGE
                   for cap in self.components[io_server]["slots"]
                   if "channel" in cap and cap["badge"] & MEM_SERVER_BADGE]
        if not numbers:
            self.report.error_at(where, "E0906", f"{server['name']}: the table's tenants use "
                                 f"all {IO_TENANTS} of {io_server}'s tenant numbers: none is "
                                 "left for the manager's")
            return
        if not holders:
            self.report.error_at(where, "E0909", f"{server['name']}: {io_server} has no channel "
                                 "to a memory server as its server n, so the manager's tenants "
                                 "could not pay their sessions (Mem: Grant)")
            return
        kind, value = SETUP_KINDS["io_allowance"]
        mask = sum(1 << (n - 1) for n in numbers)
        self.setups.append({"kind": kind, "kind_value": value, "server": server["name"],
                            "subject": server["name"], "id": 0,
                            "args": [al["io_iops"] | holders[0] << 32 | mask << 40,
                                     blocks[0], blocks[1]],
                            "io_numbers": numbers, "at": where})

    def setup_watch(self, server):
        """Tenants: Watch for each tenant of the table with an account at the
        memory server the manager administers, so its console lists it
        (seen, not changed) beside the tenants it made: the tenant's
        scheduler and IO tenancies where they are with the manager's own
        scheduler and IO servers (captable.h packs the numbers)."""
        lay = SERVER_LAYOUTS[server["program"]]["channels"]
        mine = {cap["slot"]: cap["object"].split(".")[0] for cap in server["slots"]
                if "channel" in cap and cap["badge"] == 0}
        mem, sched, io = mine.get(lay["mem"]), mine.get(lay["sched"]), mine.get(lay["io"])
        kind, value = SETUP_KINDS["watch"]
        for comp in self.components.values():
            if comp["kind"] != "tenant":
                continue
            of = {s["kind"]: s for s in self.setups if s["subject"] == comp["name"]}
            account = of.get("mem.create_account")
            if not account or account["server"] != mem:
                continue
            st, ip = of.get("sched.create_tenant"), of.get("io.set_policy")
            st = st if st and st["server"] == sched else None
            ip = ip if ip and ip["server"] == io else None
            a = (st["id"] | st["args"][0] << 16 | st["args"][1] << 24 |
                 (st["args"][2] & 0xffffffff) << 32) if st else 0
            b = (ip["id"] | ip["args"][0] << 8 | ip["args"][1] << 36) if ip else 0
            self.setups.append({"kind": kind, "kind_value": value, "server": server["name"],
                                "subject": comp["name"], "id": account["id"], "args": [a, b, 0],
                                "at": account["at"]})

    def setup_programs(self, server):
        """Tenants: AddProgram for each program the manager may spawn, after
        the root task has sealed it (Mem: SealProgram) with the memory
        server the manager administers: its channel to that server says
        which. args: the program's name (a string of the binary table),
        that server's endpoint (its object index) and the quota of the
        account that owns the programs (PROGRAMS_QUOTA)."""
        programs = server["programs"]
        where = self.report.at(("servers", server["name"], "programs"))
        if not programs:
            return
        slot = SERVER_LAYOUTS[server["program"]]["channels"]["mem"]
        mem = [cap for cap in server["slots"] if "channel" in cap and cap["slot"] == slot]
        if not mem or mem[0]["badge"] != 0:
            self.report.error_at(where, "E0118", f"{server['name']}: its programs are sealed "
                                 "with the memory server it administers (and it spawns them "
                                 "there): give it a channel to it with badge 0")
            return
        if len(programs) > MANAGER_PROGRAMS:
            self.report.error_at(where, "E0118", f"{server['name']}: {len(programs)} programs, "
                                 f"{server['program']} keeps {MANAGER_PROGRAMS}")
        kind, value = SETUP_KINDS["program"]
        for i, program in enumerate(programs):
            at = self.report.at(("servers", server["name"], "programs", i))
            if not re.match(r"^[a-z][a-z0-9-]{0,14}$", program):
                self.report.error_at(at, "E0105", f"program '{program}': a program the manager "
                                     "spawns is named 1-15 of a-z, 0-9 and '-', starting with a "
                                     "letter (its console types it)")
                continue
            if program in programs[:i]:
                self.report.error_at(at, "E0106", f"program '{program}' is named twice")
                continue
            self.setups.append({"kind": kind, "kind_value": value, "server": server["name"],
                                "subject": server["name"], "id": 0, "program": program,
                                "seals_with": mem[0]["object"],
                                "args": [0, 0, PROGRAMS_QUOTA], "at": at})

    def setup_io(self, server, calls):
        """Io: SetPolicy and Io: SetDisk for each tenant of the IO server.
        Its tenants are numbered by the administrator (the `tenant`
        argument), so a badge is any of its 1..IO_TENANTS; the tenant's
        `io` gives the policy and the disk. The reservations must fit the
        server's capacity, which it would refuse at run time (admission)."""
        total = 0
        for badge, comp, cap in calls:
            if not 1 <= badge <= IO_TENANTS:
                self.report.error_at(cap["at"], "E0906", f"{comp['name']} calls {server['name']} "
                                     f"with badge {badge}: {server['program']} knows tenants "
                                     f"1..{IO_TENANTS} by their badge")
                continue
            io = comp["io"]
            if not io or io["blocks"] is None or len(io["blocks"]) != 2:
                self.report.error_at(cap["at"], "E0907", f"{comp['name']} calls "
                                     f"{server['name']} but has no IO policy and disk: give it "
                                     "'io = { reservation_iops, limit_iops, weight, blocks }'")
                continue
            latency = io["latency_target_us"]
            total += io["reservation_iops"]
            kind, value = SETUP_KINDS["io"]
            self.setups.append({"kind": kind, "kind_value": value, "server": server["name"],
                                "subject": comp["name"], "id": badge,
                                "args": [io["reservation_iops"], io["limit_iops"],
                                         io["weight"] | (latency << 32)],
                                "weight": io["weight"], "latency_target_us": latency,
                                "at": comp["fields_at"]["io"]})
            kind, value = SETUP_KINDS["io_disk"]
            self.setups.append({"kind": kind, "kind_value": value, "server": server["name"],
                                "subject": comp["name"], "id": badge,
                                "args": [io["blocks"][0], io["blocks"][1], 0],
                                "at": comp["fields_at"]["io.blocks"]})
        if total > IO_SERVER_CAPACITY_IOPS:
            self.report.error_at(server["at"], "E0908", f"the tenants' IO reservations with "
                                 f"{server['name']} sum to {total} IOPS, over its capacity of "
                                 f"{IO_SERVER_CAPACITY_IOPS} IOPS")

    def setup_mem(self, server, comp, cap):
        """Mem: CreateAccount's quota: the tenant's memory quota."""
        quota = (comp["memory"] or {}).get("quota") or 0
        if not MEM_QUOTA_MIN <= quota <= MEM_QUOTA_MAX:
            self.report.error_at(comp["fields_at"]["memory"], "E0902",
                                 f"{comp['name']}: quota {size_text(quota)}: {server['program']} "
                                 f"opens accounts of {size_text(MEM_QUOTA_MIN)} to "
                                 f"{size_text(MEM_QUOTA_MAX)}")
            return None
        return [quota, 0, 0]

    def sched_cpus(self, server, layout):
        """The scheduler server admits per CPU: its tenants' reservations on
        each CPU within its capacity (E0904); and it holds the SchedControl
        of each CPU its tenants run on (CPU 0's in its slot 8 already)."""
        per_cpu = {}
        for s in self.setups:
            if s["server"] == server["name"]:
                cpus = s["args"][2] >> 32
                for c in (c for c in range(SCHED_CPUS) if cpus >> c & 1):
                    per_cpu[c] = per_cpu.get(c, 0) + s["args"][0]
        for comp in self.components.values():  # a manager's tenants: CPU 0
            its = SERVER_LAYOUTS.get(comp["program"], {})
            if comp["kind"] == "server" and its.get("allowance") and comp["allowance"] and \
                    self.manager_sched_server(comp) == server["name"]:
                for c in comp["allowance"]["cpus"]:  # any of them may get it all
                    per_cpu[c] = per_cpu.get(c, 0) + comp["allowance"]["cpu"]
        for c, total in sorted(per_cpu.items()):
            if total > SCHED_CAPACITY_PERCENT:
                self.report.error_at(server["at"], "E0904", f"the tenants' reservations with "
                                     f"{server['name']} on CPU {c} sum to {total} %, over its "
                                     f"capacity of {SCHED_CAPACITY_PERCENT} %")
            if c != 0:
                name = server["name"]
                o = self.obj(f"{name}.sched_control_cpu{c}", "BK_OBJ_SCHED_CONTROL", name,
                             server["at"], size_bits=0, ram=False, kernel=True, cpu=c)
                self.cap(name, o, ("read", "write", "grant", "grant_reply"), o["at"],
                         slot=layout["cpu_slots"] + c)

    def setup_sched(self, server, comp, cap):
        """Sched: CreateTenant's reservation (the tenant's CPU share, a whole
        percent of the server's period), limit, and weight with the
        tenant's CPU set above it (bit c for CPU c, from bit 32): the CPU
        its SchedContext is on, where its worker runs too."""
        cpu = comp["cpu"] or {}
        where = comp["fields_at"]["cpu"]
        if cpu.get("percent") is not None:
            reservation = cpu["percent"]
        elif cpu.get("period_us") == SCHED_PERIOD_US and cpu.get("budget_us") is not None \
                and (cpu["budget_us"] * 100) % SCHED_PERIOD_US == 0:
            reservation = cpu["budget_us"] * 100 // SCHED_PERIOD_US
        else:
            self.report.error_at(where, "E0903", f"{comp['name']}: {server['program']} reserves whole "
                                 f"percents of its {SCHED_PERIOD_US} us period; budget "
                                 f"{cpu.get('budget_us')} us of {cpu.get('period_us')} us is not one")
            return None
        limit = cpu.get("limit") if cpu.get("limit") is not None else reservation
        weight = cpu.get("weight") if cpu.get("weight") is not None else 1
        if not reservation <= limit <= 100 or weight < 1:
            self.report.error_at(where, "E0903", f"{comp['name']}: reservation {reservation} % <= "
                                 f"limit {limit} % <= 100 % and weight {weight} >= 1 do not hold")
            return None
        cpus = tenant_cpus(comp)
        if max(cpus) >= SCHED_CPUS:
            self.report.error_at(where, "E0903", f"{comp['name']}: {server['program']} hands out "
                                 f"CPUs 0 to {SCHED_CPUS - 1}, not CPU {max(cpus)}")
            return None
        return [reservation, limit, weight | sum(1 << c for c in set(cpus)) << 32]

    def table(self, filename):
        for c in self.pol["components"]:
            self.component(c)
        for ch in self.pol["channels"]:
            self.channel(ch)
        for sh in self.pol["shared"]:
            self.shared(sh)
        for cp in self.pol["caps"]:
            self.extra_cap(cp)
        self.setup_calls()
        for comp in self.components.values():
            if self.next_slot[comp["name"]] > (1 << CNODE_RADIX):
                self.report.error_at(comp["at"], "E0116",
                                     f"{len(comp['slots'])} capabilities do not fit a CNode "
                                     f"of {1 << CNODE_RADIX} slots")
        # Numbers beside the names, for a consumer in C: an object's index in
        # "objects", and each cap's object by that index.
        ids = {o["name"]: i for i, o in enumerate(self.objects)}
        for i, o in enumerate(self.objects):
            o["id"] = i
        for comp in self.components.values():
            comp["slots"].sort(key=lambda c: c["slot"])
            for cap in comp["slots"]:
                cap["object_id"] = ids[cap["object"]]
        for s in self.setups:  # the memory server a program is sealed with
            if "seals_with" in s:
                s["args"][1] = ids[s["seals_with"]]
        return {"format": TABLE_FORMAT, "version": TABLE_VERSION, "source": filename,
                "system": dict({k: self.pol[k] for k in ("name", "ram", "cpus", "kernel_reserved",
                                                         "io_capacity")},
                               at={k: self.report.at(("system", k)) for k in
                                   ("ram", "cpus", "io_capacity_iops")}),
                "object_bits": self.bits,
                "exceptions": [{"between": e["between"], "reason": e["reason"],
                                "at": self.report.at(e["path"])} for e in self.pol["exceptions"]],
                "objects": self.objects,
                "components": list(self.components.values()),
                "setup": self.setups}


# -- checks over the table --------------------------------------------------

def check_cpu(table, report, consts):
    per_cpu = {}
    cpus = table["system"]["cpus"]
    for comp in table["components"]:
        cpu = comp["cpu"]
        if not cpu:
            continue
        where = field_at(comp, "cpu")
        if not 0 <= cpu["priority"] <= MAX_PRIORITY:
            report.error_at(field_at(comp, "cpu.priority"), "E0206", f"priority {cpu['priority']} outside 0..{MAX_PRIORITY}")
        if not 0 <= cpu["cpu"] < cpus:
            report.error_at(field_at(comp, "cpu.cpu"), "E0202", f"CPU {cpu['cpu']} does not exist "
                            f"(system.cpus = {cpus})")
        check_cpu_set(comp, cpus, report)
        share = cpu_share(cpu, comp, report, consts)
        if share is not None:
            per_cpu.setdefault(cpu["cpu"], []).append((comp["name"], share, where))
        if comp.get("allowance"):  # the manager's tenants, on any of its CPUs: all on each
            for c in comp["allowance"].get("cpus") or [0]:
                if not 0 <= c < cpus:
                    report.error_at(field_at(comp, "allowance.cpus"), "E0202",
                                    f"CPU {c} does not exist (system.cpus = {cpus})")
                    continue
                per_cpu.setdefault(c, []).append((f"{comp['name']}'s allowance",
                                                  float(comp["allowance"]["cpu"]), where))
    for n, users in sorted(per_cpu.items()):
        total = sum(s for _, s, _ in users)
        if total > 100 + 1e-9:
            parts = ", ".join(f"{name} {s:.4g} %" for name, s, _ in users)
            report.error_at(users[-1][2], "E0201",
                            f"CPU {n} reservations sum to {total:.4g} %, over 100 % ({parts})")
    return per_cpu


def tenant_cpus(comp):
    """The CPUs a scheduler server admits tenant `comp` on: its `cpu.cpus`,
    its own CPU first, or its own CPU alone."""
    cpu = comp["cpu"] or {}
    own = cpu.get("cpu") or 0
    return [own] + [c for c in (cpu.get("cpus") or []) if c != own]


def check_cpu_set(comp, cpus, report):
    """`cpu.cpus`, the CPUs a scheduler server's tenant is admitted on:
    CPUs of the system (E0202), each once and its own `cpu.cpu` among them
    (E0207). Lowering refuses it on anyone else (E0207)."""
    cpu = comp["cpu"]
    if cpu.get("cpus") is None:
        return
    where = field_at(comp, "cpu.cpus")
    for c in cpu["cpus"]:
        if not 0 <= c < cpus:
            report.error_at(where, "E0202", f"CPU {c} does not exist (system.cpus = {cpus})")
    if not cpu["cpus"] or len(set(cpu["cpus"])) != len(cpu["cpus"]) or cpu["cpu"] not in cpu["cpus"]:
        report.error_at(where, "E0207", f"cpus {cpu['cpus']}: each CPU once, and the "
                        f"component's own CPU {cpu['cpu']} among them")


def cpu_share(cpu, comp, report, consts):
    """The reserved percent of one CPU, or None when the fields are wrong."""
    where = field_at(comp, "cpu")
    forms = (cpu["percent"] is not None, cpu["budget_us"] is not None or cpu["period_us"] is not None)
    if forms[0] == forms[1]:
        report.error_at(where, "E0205", "give either 'percent' or 'budget_us' with 'period_us'")
        return None
    if forms[0]:
        if not 0 <= cpu["percent"] <= 100:
            report.error_at(field_at(comp, "cpu.percent"), "E0203", f"percent {cpu['percent']} outside 0..100")
            return None
        return float(cpu["percent"])
    budget, period = cpu["budget_us"], cpu["period_us"]
    if budget is None or period is None:
        report.error_at(where, "E0205", "'budget_us' and 'period_us' go together")
        return None
    low, high = consts["BK_SCHED_MIN_BUDGET_NS"], consts["BK_SCHED_MAX_PERIOD_NS"]
    if not low <= budget * 1000 <= period * 1000 <= high:
        report.error_at(field_at(comp, "cpu.budget_us"), "E0204", f"budget {budget} us and period {period} us: the kernel "
                        f"takes {low // 1000} us <= budget <= period <= {high // 1000} us")
        return None
    return 100.0 * budget / period


def check_memory(table, report):
    ram = table["system"]["ram"]
    page = 1 << table["object_bits"]["BK_OBJ_FRAME"]  # BK_PAGE_SIZE: what the memory server charges
    owned = {}
    for o in table["objects"]:
        owned[o["owner"]] = owned.get(o["owner"], 0) + o["bytes"]
    totals = {}
    quotas_of_tenants = 0
    for comp in table["components"]:
        mem = dict(comp["memory"] or {"quota": 0, "minimum": 0})
        unreadable = mem["quota"] is None  # reported already (E0104 or E0102)
        mem["quota"] = mem["quota"] or 0
        where = field_at(comp, "memory.quota")
        total = mem["quota"] + owned.get(comp["name"], 0)
        totals[comp["name"]] = {"quota": mem["quota"], "kernel_objects": owned.get(comp["name"], 0)
                                - comp["untyped_bytes"], "untyped": comp["untyped_bytes"],
                                "total": total}
        if total > ram:
            report.error_at(where, "E0301", f"{size_text(total)} (quota {size_text(mem['quota'])} "
                            f"and kernel objects {size_text(total - mem['quota'])}) exceeds "
                            f"RAM {size_text(ram)}")
        if mem["quota"] % page or mem["minimum"] % page:
            report.error_at(where, "E0306", f"quota {mem['quota']} and minimum {mem['minimum']} "
                            f"bytes: memory is given in whole pages of {page} bytes")
        if mem["minimum"] > mem["quota"] and not unreadable:
            report.error_at(field_at(comp, "memory.minimum"), "E0303", f"minimum {size_text(mem['minimum'])} exceeds quota "
                            f"{size_text(mem['quota'])}")
        if comp["kind"] == "tenant":
            quotas_of_tenants += mem["quota"]
        if comp.get("allowance"):  # the manager's tenants are the memory server's too
            quotas_of_tenants += comp["allowance"]["memory"]
        if comp.get("programs"):  # and so is the account that owns its programs
            quotas_of_tenants += PROGRAMS_QUOTA
    # Tenants' quotas are paid by the memory server from its untyped; servers'
    # quotas are their images and stacks, loaded by the root task.
    system = sum(t["kernel_objects"] + t["untyped"] for t in totals.values())
    system += sum(c["memory"]["quota"] or 0 for c in table["components"]
                  if c["kind"] == "server" and c["memory"])
    system += table["system"]["kernel_reserved"]
    mem_servers = [c for c in table["components"] if c["protocol"] == "mem"]
    if not mem_servers:
        system += quotas_of_tenants
    for m in mem_servers:
        if quotas_of_tenants > m["untyped_bytes"]:
            report.error_at(field_at(m, "untyped"), "E0304",
                            f"the tenants' quotas (and allowances) sum to {size_text(quotas_of_tenants)}, more than "
                            f"the memory server's untyped {size_text(m['untyped_bytes'])}")
    if system > ram:
        report.error_at(table["system"]["at"]["ram"], "E0302",
                        f"the system needs {size_text(system)} (kernel reserve, kernel objects, "
                        f"untyped, server images), more than RAM {size_text(ram)}")
    return totals, system


def overlaps(items):
    """Pairs of (start, end, label, at) that overlap, each reported once."""
    out = []
    items = sorted(items, key=lambda x: (x[0], x[1]))
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if b[0] >= a[1]:
                break
            out.append((a, b))
    return out


def check_devices(table, report):
    irqs, ports, mem = {}, [], []
    drivers = {}
    for comp in table["components"]:
        dev = comp.get("device")
        if dev in drivers:
            first = drivers[dev]
            report.error_at(comp["at"], "E0405", f"device '{dev}' is driven by {first['name']} "
                            f"already (line {first['at']['line']}): a device has one driver")
        elif dev:
            drivers[dev] = comp
    for o in table["objects"]:
        if o["type"] == "BK_OBJ_IRQ_HANDLER":
            if o["irq"] in irqs:
                first = irqs[o["irq"]]
                report.error_at(o["at"], "E0401", f"IRQ {o['irq']} is owned by {first['owner']} "
                                f"already ({first['at']['field']}, line {first['at']['line']})")
            else:
                irqs[o["irq"]] = o
        elif o["type"] == "BK_OBJ_IOPORT":
            ports.append((o["first"], o["first"] + o["count"], o))
        elif o.get("device"):
            mem.append((o["phys"], o["phys"] + 4096 * o["pages"], o))
    for code, what, items in (("E0402", "IO ports", ports), ("E0403", "device memory", mem)):
        for a, b in overlaps(items):
            report.error_at(b[2]["at"], code, f"{what} [{b[0]:#x}, {b[1]:#x}) of {b[2]['owner']} "
                            f"overlap [{a[0]:#x}, {a[1]:#x}) of {a[2]['owner']} "
                            f"({a[2]['at']['field']}, line {a[2]['at']['line']})")


def check_io(table, report):
    total, ranges = 0, []
    for comp in table["components"]:
        io = comp["io"]
        if not io:
            continue
        where = field_at(comp, "io.blocks")
        if not 0 <= io["reservation_iops"] <= io["limit_iops"]:
            report.error_at(field_at(comp, "io.reservation_iops"), "E0701", f"reservation {io['reservation_iops']} IOPS must be "
                            f"between 0 and the limit {io['limit_iops']} IOPS")
        if not 1 <= io["weight"] <= 10000:
            report.error_at(field_at(comp, "io.weight"), "E0702", f"weight {io['weight']} outside 1..10000")
        total += max(io["reservation_iops"], 0)
        blocks = io["blocks"]
        if blocks is not None:
            if len(blocks) != 2 or blocks[1] <= 0 or blocks[0] < 0:
                report.error_at(where, "E0703", "blocks is [first, count], count at least 1")
            else:
                ranges.append((blocks[0], blocks[0] + blocks[1], dict(owner=comp["name"], at=where)))
    for comp in table["components"]:  # a tenant manager's sectors and reservations
        al = comp.get("allowance") or {}
        blocks = al.get("blocks")
        total += max(al.get("io_iops") or 0, 0)
        if blocks is not None and len(blocks) == 2 and blocks[1] > 0 and blocks[0] >= 0:
            ranges.append((blocks[0], blocks[0] + blocks[1],
                           dict(owner=f"{comp['name']}'s allowance",
                                at=field_at(comp, "allowance.blocks"))))
    for a, b in overlaps(ranges):
        report.error_at(b[2]["at"], "E0704", f"blocks [{b[0]}, {b[1]}) of {b[2]['owner']} overlap "
                        f"[{a[0]}, {a[1]}) of {a[2]['owner']}")
    capacity = table["system"]["io_capacity"]
    if capacity is not None and total > capacity:
        report.error_at(table["system"]["at"]["io_capacity_iops"], "E0705",
                        f"IO reservations sum to {total} IOPS, more than the capacity {capacity}")


def channel_caps(table):
    """(holder, cap, server) for each cap that lets its holder call a server:
    a channel's, or a [[caps]] copy of a server's endpoint with write."""
    owner = {o["name"]: o["owner"] for o in table["objects"]}
    for comp in table["components"]:
        for cap in comp["slots"]:
            server = owner[cap["object"]]
            calls = cap["object"] == f"{server}.endpoint" and RIGHTS["write"] in cap["rights"]
            if "channel" in cap or (calls and server != comp["name"]):
                yield comp, cap, server


def check_calls(table, report):
    """Calls go uphill in priority; the call graph has no cycle."""
    comps = {c["name"]: c for c in table["components"]}
    prio = {n: (c["cpu"] or {}).get("priority", 0) for n, c in comps.items()}
    calls = {}
    for comp, cap, server in channel_caps(table):
        calls.setdefault(comp["name"], []).append((server, cap))
        if prio[server] < prio[comp["name"]]:
            report.error_at(cap["at"], "E0601", f"{comp['name']} (priority {prio[comp['name']]}) "
                            f"calls {server} (priority {prio[server]}): a Call must go to a "
                            "priority at least the caller's")
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m, cap in calls.get(n, []):
            if state.get(m) == "open":
                cycle = stack[stack.index(m):] + [m]
                report.error_at(cap["at"], "E0602", "the calls form a cycle: " + " -> ".join(cycle))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = "done"

    for n in sorted(calls):
        if n not in state:
            visit(n)
    return calls


def check_badges(table, report):
    trusted = {c["name"] for c in table["components"] if c["trusted"]}
    seen = {}
    for comp, cap, server in channel_caps(table):
        key = (cap["object"], cap["badge"])
        if cap["badge"] == 0 and comp["name"] not in trusted:
            report.error_at(cap["at"], "E0805", f"badge 0 on {server}'s endpoint is its "
                            f"administrator's; {comp['name']} is not trusted")
        if key in seen and seen[key][0] != comp["name"]:
            first = seen[key]
            report.error_at(cap["at"], "E0804", f"{comp['name']} and {first[0]} call {server} with "
                            f"the same badge {cap['badge']} ({first[1]['field']}, line "
                            f"{first[1]['line']}): the server cannot tell them apart")
        seen.setdefault(key, (comp["name"], cap["at"]))


# -- the authority check ----------------------------------------------------

def has(cap, right):
    return RIGHTS[right] in cap["rights"]


def authority_edges(table):
    """Directed edges a -> b: what a can pass to b (authority or data), each
    with the capability and the policy place that makes it (docs/policy.md,
    "The authority check"). Declared interfaces (a channel's plain Call to
    the endpoint's owner) are returned apart: they move data, no authority."""
    holders = {}
    for comp in table["components"]:
        for cap in comp["slots"]:
            holders.setdefault(cap["object"], []).append((comp["name"], cap))
    edges, interfaces = [], []

    def edge(a, b, kind, cap, holder, text):
        edges.append({"from": a, "to": b, "kind": kind, "object": cap["object"],
                      "holder": holder, "slot": cap["slot"], "at": cap["at"], "why": text})

    for o in table["objects"]:
        caps = holders.get(o["name"], [])
        w = o["owner"]
        for h, cap in caps:
            if h != w and o["type"] in CONTROL_TYPES:
                text = (f"{h} holds {o['name']} ({o['type']}) in slot {cap['slot']}: "
                        f"full control of {w}")
                edge(h, w, "control", cap, h, text)
                edge(w, h, "control", cap, h, text)
        if o["type"] in FLOW_TYPES:
            for a, ca in caps:
                for b, cb in caps:
                    if a != b and has(ca, "write") and has(cb, "read"):
                        edge(a, b, "flow", ca, a, f"{a} writes {o['name']} ({o['type']}, slot "
                             f"{ca['slot']}), {b} reads it (slot {cb['slot']})")
        if o["type"] == "BK_OBJ_ENDPOINT":
            endpoint_edges(o, caps, edge, interfaces)
    # A set-up call that sends a server a tenant's object (Mem: CreateAccount
    # sends the tenant's VSpace) gives the server the control a cap would.
    objects = {o["name"]: o for o in table["objects"]}
    for s in table.get("setup", []):
        if "gives" in s:
            o = objects[s["gives"]]
            cap = {"object": o["name"], "slot": None, "at": s["at"]}
            text = (f"{s['server']} is sent {o['name']} ({o['type']}) by the root task's "
                    f"{s['kind']} for {s['subject']}: full control of {o['owner']}")
            edge(s["server"], o["owner"], "control", cap, s["server"], text)
            edge(o["owner"], s["server"], "control", cap, s["server"], text)
    return edges, interfaces


def endpoint_edges(o, caps, edge, interfaces):
    w = o["owner"]
    for s, cs in caps:
        if not has(cs, "write"):
            continue
        for r, cr in caps:
            if r == s or not has(cr, "read"):
                continue
            if has(cs, "grant"):
                edge(s, r, "grant", cs, s, f"{s} sends capabilities to {r}: slot {cs['slot']} "
                     f"holds {o['name']} with grant, {r} receives on it (slot {cr['slot']})")
            if has(cs, "grant_reply"):
                edge(r, s, "grant_reply", cs, s, f"{r} answers {s}'s calls with capabilities: "
                     f"{s}'s slot {cs['slot']} holds {o['name']} with grant_reply")
            if r == w and "channel" in cs:
                interfaces.append({"from": s, "to": r, "object": o["name"], "badge": cs["badge"],
                                   "slot": cs["slot"], "at": cs["at"]})
            else:
                edge(s, r, "flow", cs, s, f"{s} sends on {o['name']} (slot {cs['slot']}) and "
                     f"{r}, not its owner's interface, receives on it (slot {cr['slot']})")


def check_authority(table, report):
    comps = {c["name"]: c for c in table["components"]}
    trusted = {n for n, c in comps.items() if c["trusted"]}
    edges, interfaces = authority_edges(table)
    # A hostile component with control of a trusted one makes it hostile too.
    compromised = set()
    for e in edges:
        if e["kind"] == "control" and e["holder"] not in trusted and e["to"] in trusted \
                and e["from"] == e["holder"]:
            report.error_at(e["at"], "E0503", f"{e['holder']} is not trusted but controls "
                            f"trusted {e['to']}: {e['why']}")
            compromised.add(e["to"])
    relay = {n for n in comps if n not in trusted or n in compromised}
    out = {}
    for e in edges:
        out.setdefault(e["from"], []).append(e)
    tenants = [n for n, c in comps.items() if c["kind"] == "tenant"]
    allowed, used = {}, set()
    for i, ex in enumerate(table["exceptions"]):
        for a in ex["between"]:
            for b in ex["between"]:
                allowed.setdefault(frozenset((a, b)), i)
    leaks = {}
    for t in tenants:
        for other, path in reachable(t, out, relay).items():
            if other == t or comps[other]["kind"] != "tenant":
                continue
            pair = frozenset((t, other))
            if pair in allowed:
                used.add(allowed[pair])
                continue
            if pair not in leaks or len(path) < len(leaks[pair]):
                leaks[pair] = path
    for pair, path in sorted(leaks.items(), key=lambda kv: sorted(kv[0])):
        names = [path[0]["from"]] + [e["to"] for e in path]
        notes = [f"  hop {i + 1}: {e['from']} -> {e['to']} ({e['kind']}): {e['why']} "
                 f"[{table['source']}:{e['at']['line']}:{e['at']['column']} {e['at']['field']}]"
                 for i, e in enumerate(path)]
        report.error_at(path[0]["at"], "E0501", f"tenants {names[0]} and {names[-1]} are joined "
                        f"outside a declared interface: {' -> '.join(names)}", notes)
    for i, ex in enumerate(table["exceptions"]):
        for j, n in enumerate(ex["between"]):
            if n not in comps:
                report.error_at(ex["at"], "E0109", f"no server or tenant '{n}'")
        if i not in used and all(n in comps for n in ex["between"]):
            report.error_at(ex["at"], "E0504", "this exception allows nothing: no path joins "
                            f"{' and '.join(ex['between'])} (remove it)")
    return {"edges": edges, "interfaces": interfaces, "trusted": sorted(trusted),
            "compromised": sorted(compromised), "leaks": leaks, "relay": relay}


def reachable(start, out, relay):
    """Shortest edge path from `start` to each node it reaches; a path goes
    on only through nodes that relay (hostile ones)."""
    paths = {start: []}
    queue = [start]
    while queue:
        n = queue.pop(0)
        if n != start and n not in relay:
            continue
        for e in out.get(n, []):
            if e["to"] not in paths:
                paths[e["to"]] = paths[n] + [e]
                queue.append(e["to"])
    return paths


def domains(table, graph):
    """Connected groups of hostile components (edges between them joined)."""
    hostile = [c["name"] for c in table["components"] if c["name"] in graph["relay"]]
    parent = {n: n for n in hostile}

    def find(n):
        while parent[n] != n:
            n = parent[n]
        return n
    for e in graph["edges"]:
        if e["from"] in parent and e["to"] in parent:
            parent[find(e["from"])] = find(e["to"])
    groups = {}
    for n in hostile:
        groups.setdefault(find(n), []).append(n)
    return sorted(groups.values())


# -- running it -------------------------------------------------------------

def analyse(text, filename, consts=None):
    """(report, table, results) of a policy's text; table None on a
    syntax error. Never raises on any input text."""
    consts = consts or kernel_constants()
    try:
        data, positions = policytoml.load(text)
    except tomllib.TOMLDecodeError as e:
        report = Report(filename, {})
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(e))
        report.error_at({"line": line, "column": col, "field": "(syntax)"}, "E0001",
                        f"TOML: {message}")
        return report, None, None
    report = Report(filename, positions)
    pol = read_policy(data, report, consts)
    table = Lowering(pol, report, consts).table(filename)
    results = {"cpu": check_cpu(table, report, consts), "memory": check_memory(table, report)}
    check_devices(table, report)
    check_io(table, report)
    results["calls"] = check_calls(table, report)
    check_badges(table, report)
    results["authority"] = check_authority(table, report)
    return report, table, results


def summary(table, results):
    """The proof summary of an accepted policy."""
    g = results["authority"]
    comps = table["components"]
    caps = sum(len(c["slots"]) for c in comps)
    lines = [f"policy {table['system']['name']} ({table['source']}): tenants are apart",
             f"  table: {len(table['objects'])} objects, {caps} capabilities in "
             f"{len(comps)} CSpaces"]
    lines.append("  trusted base (not hostile; a path stops there): "
                 + (", ".join(g["trusted"]) or "none"))
    lines.append("  domains (hostile components, each group joined only inside itself):")
    for group in domains(table, g):
        kinds = [f"{n} ({next(c['kind'] for c in comps if c['name'] == n)})" for n in group]
        lines.append("    " + ", ".join(kinds))
    lines.append("  what joins components (every edge; those into the trusted base end there):")
    seen = set()
    for e in g["edges"]:
        key = (e["from"], e["to"], e["kind"], e["object"])
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"    {e['from']} -> {e['to']} {e['kind']} via {e['object']} "
                     f"(line {e['at']['line']})")
    for ex in table["exceptions"]:
        lines.append(f"    allowed by exception (line {ex['at']['line']}): "
                     f"{' and '.join(ex['between'])}: {ex['reason']}")
    lines.append("  declared interfaces (Calls that move data, no capabilities):")
    for i in g["interfaces"]:
        badge = i["badge"] if i["badge"] < 1 << 32 else f"{i['badge']:#x}"  # bit 61: a server's
        lines.append(f"    {i['from']} -> {i['to']} badge {badge} (line {i['at']['line']})")
    cross, inert = cross_caps(table, g)
    lines.append(f"  nothing else joins them: of {caps} capabilities, {caps - len(cross)} name an "
                 f"object of their holder's own; the {len(cross)} others each make an edge or a "
                 "declared interface above" + (", or carry no right that moves anything:" if inert
                                               else ""))
    lines += [f"    {c}" for c in inert]
    lines.append("  and no path of the edges links two tenants through hostile components "
                 "outside an exception")
    per_cpu = results["cpu"]
    if table.get("setup"):
        lines.append("  set-up calls the root task makes as the servers' administrator:")
        for st in table["setup"]:
            if "program" in st:
                lines.append(f"    {st['server']}: {st['kind']} {st['program']}, sealed by "
                             f"{st['seals_with'].split('.')[0]} in an account of "
                             f"{size_text(st['args'][2])} (line {st['at']['line']})")
                continue
            args = ' '.join(str(x) for x in st['args'])
            if st["kind"] == "sched.create_tenant":
                args = (f"reservation {st['args'][0]} %, limit {st['args'][1]} %, weight "
                        f"{st['weight']}, CPUs {st['cpus']:#x}")
            if st["kind"] == "tenants.configure_io":
                args = (f"reservations {st['args'][0] & 0xffffffff} IOPS, IO tenant numbers "
                        f"{','.join(str(n) for n in st['io_numbers'])}, sectors "
                        f"[{st['args'][1]}, +{st['args'][2]}), the IO server is the memory "
                        f"server's server {st['args'][0] >> 32 & 0xff}")
            lines.append(f"    {st['server']}: {st['kind']} for {st['subject']} {args}"
                         + (f" -> id {st['id']}" if st["id"] else "")
                         + f" (line {st['at']['line']})")
    for n, users in sorted(per_cpu.items()):
        lines.append(f"  CPU {n}: {sum(s for _, s, _ in users):.4g} % reserved")
    admitted = {}  # the scheduler servers' own admission, per CPU (E0904)
    for st in table["setup"]:
        if st["kind"] == "sched.create_tenant":
            for c in (c for c in range(SCHED_CPUS) if st["cpus"] >> c & 1):
                cpus = admitted.setdefault(st["server"], {})
                cpus[c] = cpus.get(c, 0) + st["args"][0]
        if st["kind"] == "tenants.configure" and st.get("sched_server"):
            cpus = admitted.setdefault(st["sched_server"], {})
            for c in (c for c in range(SCHED_CPUS) if st["args"][2] >> c & 1):
                cpus[c] = cpus.get(c, 0) + st["args"][1]
    for server, cpus in sorted(admitted.items()):
        lines.append(f"  {server} admits: " + ", ".join(
            f"CPU {c} {r} % of {SCHED_CAPACITY_PERCENT} %" for c, r in sorted(cpus.items())))
    totals, system = results["memory"]
    lines.append(f"  memory: {size_text(system)} of {size_text(table['system']['ram'])} RAM")
    for name, t in totals.items():
        lines.append(f"    {name}: quota {size_text(t['quota'])}, kernel objects "
                     f"{size_text(t['kernel_objects'])}, untyped {size_text(t['untyped'])}")
    return lines


def cross_caps(table, graph):
    """Caps naming another component's object, and those of them that make
    neither an edge nor an interface (so move nothing)."""
    owner = {o["name"]: o["owner"] for o in table["objects"]}
    used = {(e["holder"], e["slot"]) for e in graph["edges"]}
    used |= {(e["from"], e["slot"]) for e in graph["edges"] if e["kind"] == "flow"}
    used |= {(i["from"], i["slot"]) for i in graph["interfaces"]}
    cross, inert = [], []
    for comp in table["components"]:
        for cap in comp["slots"]:
            if owner[cap["object"]] != comp["name"]:
                cross.append((comp["name"], cap["slot"]))
                if (comp["name"], cap["slot"]) not in used:
                    inert.append(f"{comp['name']} slot {cap['slot']}: {cap['object']} with "
                                 f"{', '.join(cap['rights']) or 'no rights'}")
    return cross, inert


def graph_json(table, results):
    g = results["authority"]
    return {"format": "bulkhead-authority-graph", "version": 1, "source": table["source"],
            "nodes": [{"name": c["name"], "kind": c["kind"], "trusted": c["trusted"]}
                      for c in table["components"]],
            "edges": [{k: e[k] for k in ("from", "to", "kind", "object", "slot", "why", "at")}
                      for e in g["edges"]],
            "interfaces": g["interfaces"],
            "leaks": [[e["from"] for e in p] + [p[-1]["to"]] for p in g["leaks"].values()],
            "domains": domains(table, g)}


def graph_svg(graph):
    """Components on a circle, edges as arrows: red joins, grey interfaces."""
    nodes = graph["nodes"]
    n = max(len(nodes), 1)
    size, radius = 640, 240
    where = {}
    for i, node in enumerate(nodes):
        a = 2 * math.pi * i / n - math.pi / 2
        where[node["name"]] = (size / 2 + radius * math.cos(a), size / 2 + radius * math.sin(a))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
           f'font-family="sans-serif" font-size="12">',
           '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
           'markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z"/></marker></defs>']
    drawn = set()
    for e, colour in ([(i, "#999") for i in graph["interfaces"]]
                      + [(e, "#c00") for e in graph["edges"]]):
        if (e["from"], e["to"], colour) in drawn:
            continue
        drawn.add((e["from"], e["to"], colour))
        (x1, y1), (x2, y2) = where[e["from"]], where[e["to"]]
        # end the line at the circles' edges, a little apart for the way back
        d = max(math.hypot(x2 - x1, y2 - y1), 1)
        ux, uy = (x2 - x1) / d, (y2 - y1) / d
        x1, y1, x2, y2 = x1 + 36 * ux - 4 * uy, y1 + 36 * uy + 4 * ux, x2 - 36 * ux - 4 * uy, \
            y2 - 36 * uy + 4 * ux
        out.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                   f'stroke="{colour}" marker-end="url(#a)"/>')
    for node in nodes:
        x, y = where[node["name"]]
        fill = "#dfe" if node["trusted"] else ("#fdd" if node["kind"] == "tenant" else "#ffd")
        out.append(f'<circle cx="{x:.0f}" cy="{y:.0f}" r="34" fill="{fill}" stroke="#333"/>')
        out.append(f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle">{node["name"]}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def table_json(table):
    return json.dumps(table, indent=1, sort_keys=False) + "\n"


def cmd_check(args):
    path = pathlib.Path(args[0])
    opts = dict(zip(args[1::2], args[2::2]))
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        print(f"{path}:1:1: (file): cannot read: {e} [E0002]")
        return 1
    report, table, results = analyse(text, str(path))
    if table is not None and "--json" in opts:
        pathlib.Path(opts["--json"]).write_text(json.dumps(graph_json(table, results), indent=1) + "\n")
    if table is not None and "--svg" in opts:
        pathlib.Path(opts["--svg"]).write_text(graph_svg(graph_json(table, results)))
    if report.errors:
        for line in report.lines():
            print(line)
        print(f"{path}: {len(report.errors)} error(s): policy refused")
        return 1
    print("\n".join(summary(table, results)))
    return 0


def cmd_lower(args):
    path = pathlib.Path(args[0])
    report, table, _ = analyse(path.read_text(), str(path))
    if report.errors:
        print("\n".join(report.lines()))
        return 1
    text = table_json(table)
    if len(args) == 3 and args[1] == "-o":
        pathlib.Path(args[2]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


# -- self-test: each check refuses a broken copy of the demo policy ---------

def appended(text):
    return lambda s: s + "\n" + text


def replaced(old, new):
    def f(s):
        if old not in s:
            raise AssertionError(f"self-test: {old!r} is not in the demo policy")
        return s.replace(old, new, 1)
    return f


DEVICE_SERVER = """
[servers.{name}]
program = "{name}"
cpu = {{ percent = 1, priority = 200 }}
memory = {{ quota = "64 KiB" }}
devices = {{ {devices} }}
"""
CACHE = """
[servers.cache]
program = "cache"
cpu = { percent = 1, priority = 200 }
memory = { quota = "64 KiB" }
[[channels]]
from = "web"
to = "cache"
badge = 1
rights = ["write", "grant"]
carries = ["frame"]
[[channels]]
from = "db"
to = "cache"
badge = 2
rights = ["write", "grant_reply"]
carries = ["frame"]
"""
SELF_TESTS = [
    ("TOML syntax", replaced('ram = "512 MiB"', 'ram = "512 MiB'), "E0001"),
    ("unknown field", replaced("cpus = 1", "cpus = 1\nram_size = 3"), "E0101"),
    ("missing field", replaced('program = "db"\n', ""), "E0102"),
    ("wrong type", replaced("cpus = 1", 'cpus = "one"'), "E0103"),
    ("bad size", replaced('"4 MiB", minimum', '"4 MB", minimum'), "E0104"),
    ("bad name", appended('[tenants.Big]\nprogram = "b"\ncpu = { percent = 1, priority = 1 }\n'
                          'memory = { quota = 0 }'), "E0105"),
    ("a name twice", appended('[tenants.mem]\nprogram = "b"\ncpu = { percent = 1, priority = 1 }\n'
                              'memory = { quota = 0 }'), "E0106"),
    ("unknown protocol", replaced('protocol = "io"', 'protocol = "iox"'), "E0107"),
    ("untyped for a tenant", replaced('args = ["--port", "80"]', 'untyped = "4 KiB"'), "E0108"),
    ("unknown component", replaced('to = "mem"', 'to = "nope"'), "E0109"),
    ("channel to a tenant", replaced('to = "io"\nbadge = 1', 'to = "db"\nbadge = 1'), "E0110"),
    ("unknown right", replaced('rights = ["write"]', 'rights = ["write", "own"]'), "E0111"),
    ("unknown carried kind", replaced('carries = ["tcb"]', 'carries = ["tcbs"]'), "E0112"),
    ("unknown shared kind", appended('[[shared]]\nname = "p"\nkind = "pipe"\nbetween = ["web"]'),
     "E0113"),
    ("shared between nobody", appended('[[shared]]\nname = "p"\nkind = "frame"\nbetween = []'),
     "E0114"),
    ("shared frame size", appended('[[shared]]\nname = "p"\nkind = "frame"\nsize = "8 KiB"\n'
                                   'between = ["web"]'), "E0115"),
    ("CNode full", appended("".join(f'[[channels]]\nfrom = "web"\nto = "io"\nbadge = {100 + i}\n'
                                    'rights = ["write"]\n' for i in range(250))), "E0116"),
    ("unknown object", appended('[[caps]]\nholder = "web"\nobject = "db.tbc"\nrights = ["read"]'),
     "E0117"),
    ("a fixed-slot server given more", appended('[[channels]]\nfrom = "sched"\nto = "io"\n'
                                                'badge = 9\nrights = ["write"]'), "E0118"),
    ("CPU over 100 %", replaced("percent = 40", "percent = 90"), "E0201"),
    ("no such CPU", replaced("cpu = { percent = 40", "cpu = { cpu = 1, percent = 40"), "E0202"),
    ("percent range", replaced("percent = 40", "percent = 140"), "E0203"),
    ("budget range", replaced("budget_us = 3000", "budget_us = 1"), "E0204"),
    ("two CPU forms", replaced("percent = 40,", "percent = 40, budget_us = 10,"), "E0205"),
    ("priority range", replaced("priority = 120", "priority = 300"), "E0206"),
    ("a CPU set without the component's own CPU",
     lambda s: replaced("cpus = 1", "cpus = 2")(
         replaced("cpu = { budget_us = 3000", "cpu = { cpus = [1], budget_us = 3000")(s)), "E0207"),
    ("a CPU set on a component no scheduler server admits",
     lambda s: replaced("cpus = 1", "cpus = 2")(
         replaced("cpu = { percent = 5, priority = 250 }\nmemory = { quota = \"1 MiB\" }",
                  "cpu = { cpus = [0, 1], percent = 5, priority = 250 }\n"
                  "memory = { quota = \"1 MiB\" }")(s)), "E0207"),
    ("tenant over RAM", replaced('"4 MiB", minimum', '"4 GiB", minimum'), "E0301"),
    ("system over RAM", replaced('ram = "512 MiB"', 'ram = "24 MiB"'), "E0302"),
    ("minimum over quota", replaced('minimum = "1 MiB"', 'minimum = "8 MiB"'), "E0303"),
    ("quotas over the memory server", replaced('untyped = "16 MiB"', 'untyped = "4 MiB"'), "E0304"),
    ("quota not in pages", replaced('quota = "4 MiB" }', 'quota = "4097" }'), "E0306"),
    ("untyped size", replaced('untyped = "16 MiB"', 'untyped = "48 MiB"'), "E0305"),
    ("IRQ twice", appended(DEVICE_SERVER.format(name="d1", devices="irqs = [11]")
                           + DEVICE_SERVER.format(name="d2", devices="irqs = [11]")), "E0401"),
    ("IO ports twice", appended(DEVICE_SERVER.format(name="d1", devices="ioports = [[0xc000, 64]]")
                                + DEVICE_SERVER.format(name="d2", devices="ioports = [[0xc020, 8]]")),
     "E0402"),
    ("device memory twice",
     appended(DEVICE_SERVER.format(name="d1", devices="memory = [[0xfebf0000, 0x2000]]")
              + DEVICE_SERVER.format(name="d2", devices="memory = [[0xfebf1000, 0x1000]]")), "E0403"),
    ("device memory pages", appended(DEVICE_SERVER.format(name="d1", devices="memory = [[0x100, 8]]")),
     "E0404"),
    ("a device driven twice", appended('[servers.blk2]\nprogram = "blk-server"\nprotocol = "blk"\n'
                                        'trusted = true\ndevice = "virtio-blk"\n'
                                        'untyped = "128 KiB"\n'
                                        'cpu = { percent = 0, priority = 245 }\n'
                                        'memory = { quota = "64 KiB" }'), "E0405"),
    ("an unknown device", replaced('device = "virtio-blk"', 'device = "virtio-net"'), "E0406"),
    ("a device its program does not drive",
     replaced('device = "console"', 'device = "virtio-blk"'), "E0406"),
    ("programs to spawn on a server that is no tenant manager",
     replaced('program = "sched-server"\n', 'program = "sched-server"\nprograms = ["web"]\n'),
     "E0118"),
    ("programs without the memory server to seal them",
     replaced('[[channels]]\nfrom = "tenants"\nto = "mem"\nbadge = 0\n'
              'rights = ["write", "grant", "grant_reply"]\ncarries = ["endpoint", "tcb"]\n', ''),
     "E0118"),
    ("programs with a memory server the manager does not administer",
     replaced('from = "tenants"\nto = "mem"\nbadge = 0', 'from = "tenants"\nto = "mem"\nbadge = 3'),
     "E0118"),
    ("a program name the console cannot type",
     replaced('programs = ["tenant-worker"]', 'programs = ["Tenant Worker"]'), "E0105"),
    ("a program named twice",
     replaced('programs = ["tenant-worker"]', 'programs = ["tenant-worker", "tenant-worker"]'),
     "E0106"),
    ("ASIDControl for two memory servers",
     appended('[servers.mem2]\nprogram = "mem-server"\nprotocol = "mem"\ntrusted = true\n'
              'untyped = "64 KiB"\ncpu = { percent = 0, priority = 250 }\n'
              'memory = { quota = "64 KiB" }'), "E0118"),
    ("tenants joined", appended(CACHE), "E0501"),
    ("exception without reason", appended(CACHE + '[[exceptions]]\nbetween = ["web", "db"]\n'
                                          'reason = " "'), "E0502"),
    ("hostile controls trusted", appended('[[caps]]\nholder = "web"\nobject = "mem.cnode"\n'
                                          'rights = ["read"]'), "E0503"),
    ("stale exception", appended('[[exceptions]]\nbetween = ["web", "db"]\nreason = "none"'),
     "E0504"),
    ("call downhill", replaced("priority = 240", "priority = 50"), "E0601"),
    ("call cycle", appended('[[channels]]\nfrom = "mem"\nto = "sched"\nbadge = 9\nrights = ["write"]\n'
                            '[[channels]]\nfrom = "sched"\nto = "mem"\nbadge = 9\nrights = ["write"]'),
     "E0602"),
    ("IO reservation over limit", replaced("reservation_iops = 200", "reservation_iops = 900"),
     "E0701"),
    ("IO weight", replaced("weight = 2", "weight = 0"), "E0702"),
    ("IO blocks form", replaced("blocks = [0, 8192]", "blocks = [0]"), "E0703"),
    ("IO blocks overlap", replaced("blocks = [8192, 4096]", "blocks = [1000, 4096]"), "E0704"),
    ("IO capacity", replaced("io_capacity_iops = 1000", "io_capacity_iops = 500"), "E0705"),
    ("grant without carries", replaced('carries = ["tcb"]', ""), "E0801"),
    ("carries without grant", replaced('badge = 1\nrights = ["write"]',
                                       'badge = 1\nrights = ["write"]\ncarries = ["frame"]'), "E0802"),
    ("channel without write", replaced('rights = ["write"]', 'rights = ["read"]'), "E0803"),
    ("badge twice", replaced('badge = 2\nrights = ["write"]', 'badge = 1\nrights = ["write"]'),
     "E0804"),
    ("administrator badge", replaced('badge = 1\nrights = ["write"]', 'badge = 0\nrights = ["write"]'),
     "E0805"),
    ("badge not the server's id", replaced('to = "mem"\nbadge = 2', 'to = "mem"\nbadge = 3'),
     "E0901"),
    ("quota over the memory server's account",
     replaced('quota = "4 MiB", minimum', 'quota = "8 MiB", minimum'), "E0902"),
    ("budget not a whole percent of the scheduler's period",
     replaced("budget_us = 3000, period_us = 10000", "budget_us = 3000, period_us = 20000"),
     "E0903"),
    ("a scheduler tenant on a CPU the server cannot hand out",
     lambda s: replaced("cpus = 1", "cpus = 16")(
         replaced("cpu = { budget_us = 3000, period_us = 10000",
                  "cpu = { cpu = 9, budget_us = 3000, period_us = 10000")(s)), "E0903"),
    ("allowance out of range", replaced("memory = \"4 MiB\", cpu = 10,",
                                        "memory = \"4 MiB\", cpu = 0,"), "E0905"),
    ("an allowance's sectors over a tenant's disk",
     replaced("blocks = [12288, 4096]", "blocks = [12000, 4096]"), "E0704"),
    ("an allowance on a CPU the system lacks",
     replaced("cpu = 10, io_iops", "cpu = 10, cpus = [0, 1], io_iops"), "E0202"),
    ("an allowance naming a CPU twice",
     replaced("cpu = 10, io_iops", "cpu = 10, cpus = [0, 0], io_iops"), "E0207"),
    ("an allowance on CPU 1 without a scheduler server",
     lambda s: replaced("cpu = 10, io_iops", "cpu = 10, cpus = [0, 1], io_iops")(
         replaced('from = "tenants"\nto = "sched"', 'from = "tenants"\nto = "blk"')(
             replaced("cpus = 1\n", "cpus = 2\n")(s))), "E0207"),
    ("an allowance with IO but no sectors",
     replaced(", blocks = [12288, 4096] }", " }"), "E0703"),
    ("an allowance with IO but no channel to the IO server",
     replaced('from = "tenants"\nto = "io"', 'from = "tenants"\nto = "blk"'), "E0118"),
    ("the allowance's IO reservations over the capacity",
     replaced("io_iops = 100,", "io_iops = 500,"), "E0705"),
    ("an IO tenant's badge outside 1..8",
     replaced('to = "io"\nbadge = 2', 'to = "io"\nbadge = 9'), "E0906"),
    ("an IO tenant without its policy",
     replaced('io = { reservation_iops = 400, limit_iops = 800, weight = 4, blocks = [8192, 4096] }',
              ''), "E0907"),
    ("IO reservations over the IO server's capacity",
     lambda s: replaced("reservation_iops = 400", "reservation_iops = 900")(
         replaced("limit_iops = 800", "limit_iops = 900")(
             replaced("io_capacity_iops = 1000", "io_capacity_iops = 2000")(s))), "E0908"),
    ("a server's channel to the memory server not its server n",
     replaced("badge = 0x2000000000000001", "badge = 0x2000000000000010"), "E0909"),
    ("a driver's hang timeout below what the IO server accepts",
     replaced("hang_timeout_ms = 2000", "hang_timeout_ms = 5"), "E0407"),
    ("reservations over the scheduler's capacity",
     replaced("budget_us = 3000, period_us = 10000", "budget_us = 5600, period_us = 10000"),
     "E0904"),
]


def self_test(demo):
    """The demo policy passes; each broken copy fails with its own code."""
    good = pathlib.Path(demo).read_text()
    consts = kernel_constants()
    report, _, _ = analyse(good, demo, consts)
    failed = 0
    if report.errors:
        print("FAILED: the demo policy itself:\n" + "\n".join(report.lines()))
        failed += 1
    for what, breaks, code in SELF_TESTS:
        report, _, _ = analyse(breaks(good), demo, consts)
        ok = code in report.codes()
        failed += not ok
        said = "; ".join(report.lines()[:3]) or "accepted"
        print(f"{'ok' if ok else 'FAILED'}: {what} [{code}]: {said}")
    import contextlib
    import io
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        code = cmd_check([str(ROOT / "policies" / "no-such-policy.toml")])
    ok = code == 1 and "[E0002]" in said.getvalue()
    failed += not ok
    print(f"{'ok' if ok else 'FAILED'}: unreadable file [E0002]: {said.getvalue().strip()}")
    documented = set(re.findall(r"\| (E\d{4}) \|", (ROOT / "docs" / "policy.md").read_text()))
    tested = {code for _, _, code in SELF_TESTS}
    tested.add("E0002")
    if documented != tested:
        print(f"FAILED: docs/policy.md's code table and the self-test differ: "
              f"undocumented {sorted(tested - documented)}, untested "
              f"{sorted(documented - tested)}")
        failed += 1
    print(f"{len(SELF_TESTS) + 3 - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        return self_test(argv[2])
    if len(argv) >= 3 and argv[1] == "check":
        return cmd_check(argv[2:])
    if len(argv) >= 3 and argv[1] == "lower":
        return cmd_lower(argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
