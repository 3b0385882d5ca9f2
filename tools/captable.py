#!/usr/bin/env python3
"""The capability table as a boot module, and the boot image built from a policy.

  captable.py image POLICY.toml --arch A --build-dir DIR -o IMAGE [--corrupt KIND]
        check and lower the policy (tools/policy.py), encode its table as the
        boot module "captable" and pack it with the root task and every program
        the table names (DIR/<program>.elf) into a boot image; the JSON table
        goes beside the image as <image stem>.captable.json
  captable.py decode MODULE
        print an encoded table, record by record
  captable.py --self-test
        encode the demo policy, decode it, compare; every corruption refused

The binary format is defined once, in servers/roottask/captable.h; this module
reads its CAPTABLE_* constants from there and checks its record sizes against
them. --corrupt makes the broken tables the root task must refuse (tests).
"""
import argparse
import pathlib
import re
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import bootimage  # noqa: E402
import policy  # noqa: E402

FORMAT_HEADER = ROOT / "servers" / "roottask" / "captable.h"
DEFINE_RE = re.compile(r'^#define CAPTABLE_([A-Z_]+) +("[a-zA-Z]+"|[0-9]+u?)(\s.*)?$')


def read_constants(path=FORMAT_HEADER):
    consts = {}
    for line in path.read_text().splitlines():
        m = DEFINE_RE.match(line)
        if m:
            name, value = m.group(1), m.group(2)
            consts[name] = value[1:-1] if value.startswith('"') else int(value.rstrip("u"))
    return consts


C = read_constants()
HEADER = struct.Struct("<8s8I")
OBJECT = struct.Struct("<6I")
COMPONENT = struct.Struct("<6I2Q10I")
CAP = struct.Struct("<4IQ")
SETUP = struct.Struct("<4I4Q")
for _s, _n in ((HEADER, "HEADER_SIZE"), (OBJECT, "OBJECT_SIZE"), (COMPONENT, "COMPONENT_SIZE"),
               (CAP, "CAP_SIZE"), (SETUP, "SETUP_SIZE")):
    if _s.size != C[_n]:
        raise SystemExit(f"captable.py: CAPTABLE_{_n} is {C[_n]} in {FORMAT_HEADER}, "
                         f"the encoder's record has {_s.size} bytes")

if policy.DEVICES != {"virtio-blk": C["DEVICE_VIRTIO_BLK"], "console": C["DEVICE_CONSOLE"]}:
    raise SystemExit(f"captable.py: tools/policy.py's DEVICES {policy.DEVICES} differ from "
                     f"CAPTABLE_DEVICE_* in {FORMAT_HEADER}")

if policy.HANG_TIMEOUT_MS_RANGE != (C["HANG_TIMEOUT_MIN"], C["HANG_TIMEOUT_MAX"]):
    raise SystemExit(f"captable.py: tools/policy.py's HANG_TIMEOUT_MS_RANGE "
                     f"{policy.HANG_TIMEOUT_MS_RANGE} differs from CAPTABLE_HANG_TIMEOUT_* in "
                     f"{FORMAT_HEADER}")

CORRUPTIONS = ("bad-magic", "object-out-of-range", "missing-program", "slot-out-of-range",
               "truncated", "setup-refused", "limit-ignored", "asid-control-copied",
               "missing-manager-program", "hang-timeout-out-of-range", "cpu-out-of-range",
               "cpu-not-online")


class Strings:
    """The string area: each distinct string once, NUL-terminated."""

    def __init__(self):
        self.data, self.at = bytearray(), {}

    def add(self, s):
        if s not in self.at:
            self.at[s] = len(self.data)
            self.data += s.encode() + b"\0"
        return self.at[s]


def retype_bits(obj):
    """Untyped: Retype's size argument for the object (a kernel-made cap:
    its CPU)."""
    if obj.get("kernel"):
        return obj["cpu"]
    if obj["type"] == "BK_OBJ_CNODE":
        return obj["radix"]
    if obj["type"] in ("BK_OBJ_FRAME", "BK_OBJ_UNTYPED", "BK_OBJ_ASID_POOL"):
        return obj["size_bits"]  # an ASID pool: the untyped ASIDControl: MakePool takes
    return 0


def budget_period(cpu, consts):
    """(budget, period) in ns: a percent is of one BK_SCHED_ROOT_PERIOD_NS."""
    if cpu.get("percent") is not None:
        period = consts["BK_SCHED_ROOT_PERIOD_NS"]
        return period * cpu["percent"] // 100, period
    return cpu["budget_us"] * 1000, cpu["period_us"] * 1000


def object_flags(obj):
    if obj.get("kernel"):
        return C["OBJECT_KERNEL"]
    return 0 if obj["ram"] else C["OBJECT_DEVICE"]


def io_grant(table, comp):
    """`HOLDER:TENANT` when tenant `comp` can pay its IO session from its
    own memory quota: it calls an IO server that calls a memory server as
    its server HOLDER (badge MEM_SERVER_BADGE | HOLDER), and calls that
    memory server too. TENANT is its number with the IO server (its
    channel's badge): Mem: Grant's beneficiary. None otherwise."""
    owners = {c["name"]: c for c in table["components"]}
    mine = {s["object"].split(".")[0]: s for s in comp["slots"] if "channel" in s}
    for name, cap in mine.items():
        if owners[name]["program"] != "io-server":
            continue
        for s in owners[name]["slots"]:
            server = s["object"].split(".")[0]
            if "channel" in s and s["badge"] & policy.MEM_SERVER_BADGE and server in mine:
                return f"{s['badge'] & ~policy.MEM_SERVER_BADGE}:{cap['badge']}"
    return None


def cmdline(table, comp):
    """The start-info page's command line: the component's name and args,
    then, if it has channels, `--channels` and PROTOCOL:SLOT for each (the
    server's protocol, or its name), so a program finds its servers
    wherever the table put their caps; `--io-grant` (io_grant()) and
    `--worker SLOT` (each worker thread) where they apply, each followed
    by `--worker-cpu CPU` when that worker is for a CPU other than 0 (one
    worker for each CPU the scheduler server admitted the tenant on)."""
    owners = {c["name"]: c for c in table["components"]}
    words = [comp["name"]] + list(comp["args"])
    chans = []
    for s in comp["slots"]:
        if "channel" in s:
            server = owners[s["object"].split(".")[0]]
            chans.append(f"{server['protocol'] or server['name']}:{s['slot']}")
    if chans:
        words += ["--channels", ",".join(chans)]
    grant = io_grant(table, comp)
    if grant:
        words += ["--io-grant", grant]
    objects = {o["name"]: o for o in table["objects"]}
    for s in comp["slots"]:
        o = objects.get(s["object"], {})
        if o.get("worker"):
            words += ["--worker", str(s["slot"])]
            if o.get("worker_cpu"):
                words += ["--worker-cpu", str(o["worker_cpu"])]
    return " ".join(words)


def setup_args(s, strings):
    """A set-up call's arguments; a program's name goes in as its string."""
    if "program" in s:
        return [strings.add(s["program"])] + s["args"][1:]
    return s["args"]


def encode(table, consts=None):
    """The table (tools/policy.py's lowering) as the boot module's bytes."""
    consts = consts or policy.kernel_constants()
    strings = Strings()
    index = {c["name"]: i for i, c in enumerate(table["components"])}
    objects = b"".join(OBJECT.pack(o["type_value"], retype_bits(o), index[o["owner"]],
                                   strings.add(o["name"]),
                                   object_flags(o), 0)
                       for o in table["objects"])
    ids = {o["name"]: o["id"] for o in table["objects"]}
    comps, caps = b"", b""
    first = 0
    for c in table["components"]:
        n = c["name"]
        budget, period = budget_period(c["cpu"], consts)
        comps += COMPONENT.pack(
            strings.add(n), strings.add(c["program"]), strings.add(cmdline(table, c)),
            C["KIND_SERVER"] if c["kind"] == "server" else C["KIND_TENANT"],
            c["cpu"]["priority"], c["cspace"]["radix"], budget, period,
            ids[f"{n}.tcb"], ids[f"{n}.cnode"], ids[f"{n}.vspace"], ids[f"{n}.sched_context"],
            ids[f"{n}.ipc_buffer"], first, len(c["slots"]),
            policy.DEVICES.get(c.get("device"), C["DEVICE_NONE"]), c.get("hang_timeout_ms", 0),
            c["cpu"].get("cpu") or 0)
        for s in c["slots"]:
            caps += CAP.pack(s["slot"], s["object_id"], s["rights_value"], 0, s["badge"])
        first += len(c["slots"])
    setups = b"".join(SETUP.pack(s["kind_value"], index[s["server"]], index[s["subject"]],
                                 ids[f"{s['server']}.endpoint"], s["id"], *setup_args(s, strings))
                      for s in table["setup"])
    source = strings.add(table["source"])
    while len(strings.data) % 8:
        strings.data += b"\0"
    body = objects + comps + caps + setups + bytes(strings.data)
    header = HEADER.pack(C["MAGIC"].encode(), C["VERSION"], HEADER.size + len(body),
                         len(table["objects"]), len(table["components"]), first,
                         len(strings.data), source, len(table["setup"]))
    return header + body


def decode(data):
    """The records of an encoded table, for printing and the self-test."""
    h = HEADER.unpack_from(data, 0)
    nobj, ncomp, ncap, nstr = h[3], h[4], h[5], h[6]
    off = HEADER.size
    objs = [OBJECT.unpack_from(data, off + i * OBJECT.size) for i in range(nobj)]
    off += nobj * OBJECT.size
    comps = [COMPONENT.unpack_from(data, off + i * COMPONENT.size) for i in range(ncomp)]
    off += ncomp * COMPONENT.size
    caps = [CAP.unpack_from(data, off + i * CAP.size) for i in range(ncap)]
    off += ncap * CAP.size
    setups = [SETUP.unpack_from(data, off + i * SETUP.size) for i in range(h[8])]
    off += h[8] * SETUP.size
    area = data[off:off + nstr]

    def s(o):
        return area[o:area.index(b"\0", o)].decode()
    return {"header": h, "source": s(h[7]),
            "objects": [(s(o[3]), o[0], o[1], o[2], o[4]) for o in objs],
            "components": [(s(c[0]), s(c[1]), s(c[2])) + c[3:] for c in comps], "caps": caps,
            "setups": setups}


def corrupted_table(table, kind):
    """A copy of the lowered table broken as the test `kind` needs."""
    import copy
    t = copy.deepcopy(table)
    tenant = next(c for c in t["components"] if c["kind"] == "tenant")
    if kind == "object-out-of-range":
        tenant["slots"][-1]["object_id"] = len(t["objects"]) + 7
    elif kind == "missing-program":
        tenant["program"] = "no-such-program"
    elif kind == "slot-out-of-range":
        tenant["slots"][-1]["slot"] = 1 << tenant["cspace"]["radix"]
    elif kind == "setup-refused":
        # Past the memory server's largest account: the server refuses it
        # at run time (tools/policy.py refuses it in a policy: E0902).
        t["setup"][0]["args"][0] = policy.MEM_QUOTA_MAX * 2
    elif kind == "asid-control-copied":
        # ASIDControl cannot be copied: a second cap to it, the tenant's.
        ctl = next(o for o in t["objects"] if o["type"] == "BK_OBJ_ASID_CONTROL")
        last = tenant["slots"][-1]
        tenant["slots"].append(dict(last, slot=last["slot"] + 1, object=ctl["name"],
                                    object_id=ctl["id"], badge=0))
    elif kind == "missing-manager-program":
        next(s for s in t["setup"] if "program" in s)["program"] = "no-such-program"
    elif kind == "cpu-out-of-range":
        tenant["cpu"]["cpu"] = 9  # past CAPTABLE_CPUS (tools/policy.py: E0202 past system.cpus)
    elif kind == "cpu-not-online":
        tenant["cpu"]["cpu"] = 1  # the demo's machine has one CPU (E0202 as well)
    elif kind == "hang-timeout-out-of-range":
        # Below what the IO server accepts (tools/policy.py refuses it: E0407).
        next(c for c in t["components"] if c.get("device") == "virtio-blk")["hang_timeout_ms"] = 5
    elif kind == "limit-ignored":
        # What a root task that ignored `cpu.limit` would ask: each tenant's
        # limit its reservation (policyboot.py must notice, from the JSON
        # table of the honest policy).
        for s in t["setup"]:
            if s["kind"] == "sched.create_tenant":
                s["args"][1] = s["args"][0]
    return t


def corrupt_bytes(data, kind):
    if kind == "bad-magic":
        return b"BKXXXXXX" + data[8:]
    if kind == "truncated":
        return data[:HEADER.size + 8]
    return data


def program_elves(table, build_dir):
    """(program, ELF path) for every program the table names, in table order."""
    seen = []
    for c in table["components"]:
        for p in [c["program"]] + c.get("programs", []):
            if p not in seen:
                seen.append(p)
    return [(p, pathlib.Path(build_dir) / f"{p}.elf") for p in seen]


def build_image(policy_path, arch, build_dir, output, corrupt=None):
    """Checks and lowers the policy, then packs the boot image. Returns the
    table, or exits with the policy's errors."""
    path = pathlib.Path(policy_path)
    # Named from the tree's top when it lies inside it: the table (and the
    # image) then do not depend on where the tree is checked out.
    try:
        name = str(path.resolve().relative_to(ROOT))
    except ValueError:
        name = str(policy_path)
    report, table, _ = policy.analyse(path.read_text(), name)
    if report.errors:
        print("\n".join(report.lines()))
        sys.exit(f"captable: {policy_path}: {len(report.errors)} error(s): no image built")
    encoded_table = corrupted_table(table, corrupt) if corrupt else table
    blob = encode(encoded_table)
    if corrupt:
        blob = corrupt_bytes(blob, corrupt)
    root = pathlib.Path(build_dir) / "roottask.elf"
    mods = [("roottask", root.read_bytes(), True), (C["MODULE"], blob, False)]
    for program, elf in program_elves(table, build_dir):
        if not elf.exists():
            sys.exit(f"captable: {policy_path}: program '{program}' has no ELF file {elf} "
                     "(a user program of that name must be built)")
        mods.append((program, elf.read_bytes(), False))
    out = pathlib.Path(output)
    out.write_bytes(bootimage.pack(arch, mods))
    out.with_suffix(".captable.json").write_text(policy.table_json(table))
    return table


def self_test():
    demo = ROOT / "policies" / "demo.toml"
    report, table, _ = policy.analyse(demo.read_text(), str(demo))
    assert not report.errors, report.lines()
    blob = encode(table)
    d = decode(blob)
    assert d["header"][0] == C["MAGIC"].encode() and d["header"][2] == len(blob)
    assert [o[0] for o in d["objects"]] == [o["name"] for o in table["objects"]]
    assert [c[0] for c in d["components"]] == [c["name"] for c in table["components"]]
    want = [(s["slot"], s["object_id"], s["rights_value"], s["badge"])
            for c in table["components"] for s in c["slots"]]
    assert [(c[0], c[1], c[2], c[4]) for c in d["caps"]] == want
    assert encode(table) == blob, "the encoding is stable"
    assert [(x[0], x[4], x[6], x[7]) for x in d["setups"]] == \
        [(s["kind_value"], s["id"], *s["args"][1:]) for s in table["setup"]], "set-up calls"
    names = [s.get("program") for s in table["setup"]]
    assert all(n is None or blob[len(blob) - d["header"][6]:][x[5]:].split(b"\0")[0] == n.encode()
               for n, x in zip(names, d["setups"])) and any(names), "programs named"
    assert [x[5] for x, n in zip(d["setups"], names) if n is None] == \
        [s["args"][0] for s in table["setup"] if "program" not in s], "set-up calls' first args"
    for kind in CORRUPTIONS:
        t = corrupted_table(table, kind)
        assert corrupt_bytes(encode(t), kind) != blob, f"{kind} changes nothing"
    driver = ROOT / "policies" / "tests" / "accept" / "driver.toml"
    report, dtable, _ = policy.analyse(driver.read_text(), str(driver))
    assert not report.errors, report.lines()
    flagged = [o[0] for o in decode(encode(dtable))["objects"] if o[4] & C["OBJECT_DEVICE"]]
    want = [o["name"] for o in dtable["objects"] if not o["ram"]]
    assert flagged == want and want, f"device objects flagged {flagged}, expected {want}"
    print(f"captable self-test: {len(blob)} bytes, {len(d['objects'])} objects, "
          f"{len(d['caps'])} caps; {len(CORRUPTIONS)} corruptions differ: ok")
    return 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    im = sub.add_parser("image")
    im.add_argument("policy")
    im.add_argument("--arch", required=True, choices=bootimage.ARCHES)
    im.add_argument("--build-dir", required=True)
    im.add_argument("-o", "--output", required=True)
    im.add_argument("--corrupt", choices=CORRUPTIONS)
    de = sub.add_parser("decode")
    de.add_argument("module")
    args = ap.parse_args(argv)
    if args.command == "image":
        table = build_image(args.policy, args.arch, args.build_dir, args.output, args.corrupt)
        print(f"captable: {args.output}: {len(table['objects'])} objects, "
              f"{sum(len(c['slots']) for c in table['components'])} capabilities, "
              f"{len(table['components'])} components")
        return 0
    d = decode(pathlib.Path(args.module).read_bytes())
    print(f"table from {d['source']}: header {d['header'][1:7]}")
    for i, o in enumerate(d["objects"]):
        print(f"  object {i}: {o}")
    for c in d["components"]:
        print(f"  component {c}")
    for c in d["caps"]:
        print(f"  cap {c}")
    for x in d["setups"]:
        print(f"  setup {x}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
