#!/usr/bin/env python3
"""Boot a policy's image and check that the system is the one its table says.

  policyboot.py --table IMAGE.captable.json [--expect-failure TEXT]
                [--driver-fault N | --driver-hang N | --driver-stray-dma N]
                [--driver-start-crashes K]
                --arch A --kernel K --image IMAGE.img [runtest args]

With --expect-failure the image is one built wrong on purpose (captable.py
--corrupt): the checks against the table must fail with a line containing
TEXT (a test of this checker: what it would miss otherwise).

Every expectation comes from the JSON capability table the image was built
from (tools/captable.py), never from the serial log: the root task's line per
component (objects, caps, program, priority, budget), each component's list
of its own capabilities as the kernel identifies them (slot, type, rights;
exactly the table's caps and the Debug cap the root task adds in slot
BK_CAP_DEBUG, no more; a real server lists none: that it answers is the
check), the root task's line per set-up call with the table's numbers and
the id the server gave, and each tenant's use of each channel: the memory
server reports the table's quota for its account and refuses a populate
past it with the quota error naming the tenant; the scheduler server
reports a budget within the table's reservation and limit; the IO server
answers each set-up call with the reservation its capacity has left after
the table's reservations, opens each tenant's session on a disk of the
table's size, and moves its blocks to the disk and back; the driver's
device is found; a stand-in answers with the channel's badge; a tenant that
pays its IO session from its quota sees its account grow by the session's
64 KiB. With --driver-fault N the driver faults after its Nth Block: Submit
(the root task's boot option roottask.blk_fault_after): the root task must
restart it and tell the IO server, and everything above must still hold;
with --driver-hang N it stops answering instead (roottask.blk_hang_after),
which the IO server's watch reports to the root task's fault watcher; with
--driver-stray-dma N (and --iommu) it sends that request to an unmapped IO
address, which the IOMMU blocks and its DMA fault line reports; with
--driver-start-crashes K as well the next K incarnations die in their
start-up (roottask.blk_start_crashes) and the root task starts another
after each. A root task that built anything else, or
ignored a field of the table, fails. Runs tools/runtest.py.
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import captable  # noqa: E402
import policy  # noqa: E402

# The programs built from servers/demo/tenant.c (servers/servers.cmake),
# which say which CPU they run on as they start.
DEMO_TENANT_PROGRAMS = ("web", "db")


def budget_us(cpu, consts):
    if cpu.get("percent") is not None:
        period = consts["BK_SCHED_ROOT_PERIOD_NS"] // 1000
        return period * cpu["percent"] // 100, period
    return cpu["budget_us"], cpu["period_us"]


def setup_lines(table):
    out = []
    left = policy.IO_SERVER_CAPACITY_IOPS
    programs = 0
    for s in table.get("setup", []):
        if s["kind"] == "io.set_policy":
            left -= s["args"][0]
            out.append(rf"roottask: set-up '{s['server']}': IO: SetPolicy '{s['subject']}' as "
                       rf"tenant {s['id']}, reservation {s['args'][0]} IOPS, limit {s['args'][1]} "
                       rf"IOPS, weight {s['weight']}, latency target {s['latency_target_us']} us: "
                       rf"{left} IOPS left\b")
        elif s["kind"] == "io.set_disk":
            out.append(rf"roottask: set-up '{s['server']}': IO: SetDisk '{s['subject']}' as "
                       rf"tenant {s['id']}, {s['args'][1]} sectors from sector {s['args'][0]}\b")
        elif s["kind"] == "mem.create_account":
            out.append(rf"roottask: set-up '{s['server']}': Mem: CreateAccount '{s['subject']}', "
                       rf"quota {s['args'][0]} bytes: account {s['id']}\b")
        elif s["kind"] == "tenants.add_program":
            programs += 1
            out.append(rf"roottask: set-up '{s['server']}': program '{s['program']}' sealed by "
                       rf"'{s['seals_with'].split('.')[0]}' \(program \d+, \d+ pages, account "
                       rf"'programs' \d+\), Tenants: AddProgram: {programs} programs")
        elif s["kind"] == "tenants.watch":
            out.append(rf"roottask: set-up '{s['server']}': Tenants: Watch '{s['subject']}': "
                       rf"account {s['id']}, scheduler tenant {s['args'][0] & 0xffff}, IO tenant "
                       rf"{s['args'][1] & 0xff}\b")
        elif s["kind"] == "tenants.configure_io":
            mask = sum(1 << n for n in s["io_numbers"])
            out.append(rf"roottask: set-up '{s['server']}': Tenants: ConfigureIo, "
                       rf"{s['args'][0] & 0xffffffff} IOPS of reservations, IO tenant numbers "
                       rf"{mask:#x}, {s['args'][2]} sectors from sector {s['args'][1]}, the IO "
                       rf"server is the memory server's server {s['args'][0] >> 32 & 0xff}\b")
        elif s["kind"] == "tenants.configure":
            m, c = s["args"][0], s["args"][1]
            out.append(rf"roottask: set-up '{s['server']}': Tenants: Configure, allowance {m} bytes "
                       rf"and {c} %: the manager holds {m} bytes and {c} % on CPUs "
                       rf"{s['args'][2] or 1:#x}, 0 bytes and 0 % given to 0 tenants")
        else:
            out.append(rf"roottask: set-up '{s['server']}': Sched: CreateTenant '{s['subject']}', "
                       rf"reservation {s['args'][0]} %, limit {s['args'][1]} %, weight "
                       rf"{s['weight']}, CPUs {s['cpus']:#x}: tenant {s['id']}\b")
    return out


def channel_lines(table, comp):
    """What tenant `comp` prints for each of its channels."""
    n, out = comp["name"], []
    objects = table["objects"]
    setups = {}
    for s in table.get("setup", []):
        setups.setdefault((s["server"], s["subject"]), s)  # an IO tenant's: its policy
    disks = {s["subject"]: s for s in table.get("setup", []) if s["kind"] == "io.set_disk"}
    for s in comp["slots"]:
        o = objects[s["object_id"]]
        if o["type"] != "BK_OBJ_ENDPOINT" or "BK_RIGHT_WRITE" not in s["rights"] \
                or "BK_RIGHT_READ" in s["rights"]:
            continue
        setup = setups.get((o["owner"], n))
        if setup and setup["kind"] == "mem.create_account":
            q = setup["args"][0]
            out += [rf"{n}: mem: account quota {q} bytes, \d+ used",
                    rf"{n}: mem: populate past the quota refused: tenant {n}: memory quota "
                    rf"{re.escape(policy.size_text(q))} exhausted",
                    rf"{n}: mem: used \d+ of quota {q} bytes; [1-9]\d* pages backed, each "
                    rf"written and read back",
                    rf"{n}: mem: region removed, [1-9]\d* pages returned: used \d+ bytes"]
        elif setup and setup["kind"] == "io.set_policy":
            disk = disks[n]["args"][1] * 512
            grant = captable.io_grant(table, comp)
            if grant:
                holder, tenant = grant.split(":")
                out.append(rf"{n}: io: session paid from its account \(Mem: Grant \d+ toward "
                           rf"server {holder} for tenant {tenant}\): used \d+ -> \d+ bytes, "
                           rf"\+65536\b")
            out += [rf"{n}: io: session open: tenant {setup['id']}, disk {disk} bytes, 8 buffers, "
                    rf"65536 bytes",
                    rf"{n}: io: wrote 2 blocks of 4096 bytes at 0 and {disk - 4096}, statuses 0 0, "
                    rf"read them back, statuses 0 0: as written",
                    rf"{n}: io: a write at {disk}, past its disk's end: status 4\b",
                    rf"{n}: io: stats: 4 operations, 16384 bytes"]
        elif setup:
            cpus = [c for c in range(policy.SCHED_CPUS) if setup["cpus"] >> c & 1]
            out.append(rf"{n}: sched: budget \d+ permille")
            out += [rf"{n}: sched: worker on CPU {c} registered \({len(cpus)} threads\), "
                    rf"[1-9]\d* spins; throttled \d+ times, budget \d+ permille" for c in cpus]
        else:
            out.append(rf"{n}: channel slot={s['slot']} answered by {o['owner'][:8]}, "
                       rf"badge {s['badge']}\b")
    return out


def budget_errors(table, log):
    """Each scheduler tenant's budget as the server reported it, within
    the table's reservation and limit (per mille)."""
    errors = []
    programs = {c["name"]: c["program"] for c in table["components"]}
    for s in table.get("setup", []):
        if s["kind"] != "sched.create_tenant":
            continue
        m = re.search(rf"{s['subject']}: sched: budget (\d+) permille", log)
        low, high = s["args"][0] * 10, s["args"][1] * 10
        n = bin(s.get("cpus") or 1).count("1")  # Sched: Usage sums the tenant's CPUs
        if m and not low * n <= int(m.group(1)) <= high * n:
            errors.append(f"FAIL: {s['subject']}: the scheduler server's budget {m.group(1)} "
                          f"permille is outside the table's reservation..limit {low}..{high} on "
                          f"each of its {n} CPUs")
        elif not m and programs.get(s["subject"]) in DEMO_TENANT_PROGRAMS:
            errors.append(f"FAIL: {s['subject']}: no budget from the scheduler server in the log")
        # Each worker, hungry (throttled over and over) with spare CPU left
        # on its CPU: it borrows above its reservation there when its limit
        # allows, never past the limit. A root task that passed another
        # limit, or a server that pooled the CPUs, fails here.
        for m in re.finditer(rf"{s['subject']}: sched: worker on CPU (\d+) registered "
                             rf"\((\d+) threads\).* throttled (\d+) times, budget (\d+) permille",
                             log):
            cpu, threads, throttled, budget = (int(x) for x in m.groups())
            if throttled < 20 * threads or budget > high or budget < low or \
                    (high > low and budget <= low):
                errors.append(f"FAIL: {s['subject']}: its worker on CPU {cpu}, throttled "
                              f"{throttled} times in all, has a budget of {budget} permille; the "
                              f"table's reservation {low} and limit {high} permille want "
                              f"{'above ' + str(low) + ' and ' if high > low else ''}at most "
                              f"{high}, after at least 20 throttles each")
    return errors


def paid_errors(table, log):
    """Each tenant that pays its IO session (captable.io_grant()): its
    account's use grew by exactly the session's 64 KiB, by the numbers the
    memory server reported (not the tenant's subtraction)."""
    errors = []
    for c in table["components"]:
        if c["kind"] != "tenant" or not captable.io_grant(table, c):
            continue
        m = re.search(rf"{c['name']}: io: session paid from its account .*: used (\d+) -> (\d+) "
                      rf"bytes", log)
        if m and int(m.group(2)) - int(m.group(1)) != 65536:
            errors.append(f"FAIL: {c['name']}: its account's use went from {m.group(1)} to "
                          f"{m.group(2)} bytes with its IO session, not by the session's 65536")
    return errors


def io_pattern(name, offset):
    """The page tenant `name` writes at `offset` of its virtual disk
    (servers/demo/tenant.c, io_pattern)."""
    seed = int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little") ^ offset
    out = bytearray(4096)
    for i in range(4096):
        seed = (seed * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out[i] = seed >> 56
    return bytes(out)


def disk_errors(table, disk):
    """After the run: each IO tenant's two blocks lie on the disk image at
    the sectors its table entry gave it (IO: SetDisk), nowhere else."""
    errors = []
    data = pathlib.Path(disk).read_bytes()
    for s in table.get("setup", []):
        if s["kind"] != "io.set_disk":
            continue
        first, size = s["args"][0] * 512, s["args"][1] * 512
        for offset in (0, size - 4096):
            got = data[first + offset:first + offset + 4096]
            if got != io_pattern(s["subject"], offset):
                errors.append(f"FAIL: {s['subject']}: the disk image at byte {first + offset} "
                              f"(its disk's byte {offset}, sector {s['args'][0]} on) does not hold "
                              "the block it wrote there")
    return errors


def expectations(table, consts):
    objects = table["objects"]
    debug = (consts["BK_CAP_DEBUG"], consts["BK_OBJ_DEBUG"], consts["BK_RIGHTS_ALL"])
    ncaps = sum(len(c["slots"]) for c in table["components"])
    out = [rf"roottask: capability table of .*: {len(objects)} objects, "
           rf"{len(table['components'])} components, {ncaps} caps"] + setup_lines(table)
    for c in table["components"]:
        n, owned = c["name"], sum(1 for o in objects if o["owner"] == c["name"])
        budget, period = budget_us(c["cpu"], consts)
        cpu = c["cpu"].get("cpu") or 0
        out.append(rf"roottask: start {c['kind']} '{n}': {owned} objects, {len(c['slots'])} caps, "
                   rf"program {re.escape(c['program'])}, priority {c['cpu']['priority']}, "
                   rf"budget {budget} of {period} us on CPU {cpu}\b")
        if c["kind"] == "tenant" and c["program"] in DEMO_TENANT_PROGRAMS:
            out.append(rf"{n}: tenant started on CPU {cpu}, arguments")
        if c.get("device") == "console":
            out.append(rf"roottask: device console of '{n}': the serial line's receive "
                       rf"interrupt, line \d+")
            out.append(r"tenants: serving; console ready on the serial line")
        elif c.get("device"):
            out.append(rf"roottask: device {c['device']} of '{n}': virtio-(pci|mmio)")
            for client in driver_clients(table, c):
                out.append(rf"roottask: driver '{n}' watched: '{client}' reports it hung after "
                           rf"{c['hang_timeout_ms']} ms with requests owed and none completed")
        if c["program"] in policy.SERVER_LAYOUTS:
            continue
        caps = [(s["slot"], objects[s["object_id"]]["type_value"], s["rights_value"])
                for s in c["slots"]] + [debug]
        for slot, otype, rights in sorted(caps):
            out.append(rf"(?m)^{n}: cap slot={slot} type={otype} rights={rights}\r?$")
        out.append(rf"(?m)^{n}: {len(caps)} caps\r?$")
        if c["kind"] != "tenant":
            continue
        out += channel_lines(table, c)
        out.append(rf"{n}: done")
    out.append("roottask: every tenant finished; the system ran as its table says")
    return out


def console_of(table):
    """The component with the table's console, or None."""
    return next((c for c in table["components"] if c.get("device") == "console"), None)


def console_session(table, full):
    """runtest.py's arguments for the tenant manager's console, which the
    root task waits on once the table's tenants have finished: with `full`
    a session whose numbers come from the table (the manager's allowance,
    its first program): a tenant created with a quarter of the memory and
    half the CPU, listed with its usage, a second one over what is left
    refused, its quotas changed, a CPU quota over the allowance refused, it
    listed again and killed, everything back in the allowance; then `exit`,
    which ends the run. Else `exit` alone."""
    mgr = console_of(table)
    if mgr is None:
        return [], []
    size = policy.size_text
    start = ["--type-after", rf"roottask: the console is '{mgr['name']}''s now", "--prompt",
             "tenants> "]
    end = [rf"tenants: console closed", rf"roottask: '{mgr['name']}' closed its console"]
    if not full or not mgr.get("programs") or not mgr.get("allowance"):
        return start + ["--type", "exit"], end
    memory, cpu, prog = mgr["allowance"]["memory"], mgr["allowance"]["cpu"], mgr["programs"][0]
    q1, c1 = memory // 4, max(cpu // 2, 1)
    lines = [(f"create alpha {prog} mem={q1 // 1024}K cpu={c1}%",
              rf"created alpha \(tenant \d+\): program {prog}, memory {size(q1)}, CPU {c1} %"),
             ("list", rf"(?m)^alpha +running +\d+\.\d % +{c1} % +(\d+ KiB) / {size(q1)} +-\r?$"),
             ("list", rf"1 tenants, allowance left: memory {size(memory - q1)} of {size(memory)}, "
                      rf"CPU {cpu - c1} % of {cpu} %"),
             *table_rows(table, mgr),
             (f"create big {prog} mem={memory // 1024}K cpu=1%",
              rf"error: tenant big: memory {size(memory)} exceeds the manager's allowance "
              rf"\({size(memory - q1)} left of {size(memory)}\)"),
             (f"quota alpha mem={2 * q1 // 1024}K cpu={c1 + 1}%",
              rf"alpha: memory quota {size(2 * q1)}, CPU {c1 + 1} %"),
             (f"quota alpha cpu={cpu + 1}%",
              rf"error: tenant alpha: CPU {cpu + 1} % exceeds the manager's allowance "
              rf"\({cpu} % left of {cpu} %\)"),
             ("list", rf"(?m)^alpha +running +\d+\.\d % +{c1 + 1} % +(\d+ KiB) / {size(2 * q1)}")]
    sched_slot = policy.SERVER_LAYOUTS[mgr["program"]]["channels"]["sched"]
    if any("channel" in c and c["slot"] == sched_slot for c in mgr["slots"]):
        # its tenants' CPU is the scheduler server's: a limit and a weight too
        lines += [(f"quota alpha cpumax={c1 + 3}% weight=3",
                   rf"alpha: memory quota {size(2 * q1)}, CPU {c1 + 1}-{c1 + 3} % w3"),
                  ("quota alpha cpumax=101%",
                   r"error: tenant alpha: CPU 101 % refused \(1 to 100\)")]
    lines += [("kill alpha", r"killed alpha: [1-9]\d* bytes freed \(\d+ KiB\)")]
    lines += other_cpu(mgr, prog)
    lines += io_session(table, mgr, prog, memory - 2 * q1)
    lines += [("list", rf"0 tenants, allowance left: memory {size(memory)} of {size(memory)}, "
                       rf"CPU {cpu} % of {cpu} %")]
    args = list(start)
    for i, (line, _) in enumerate(lines):
        if line != "list" or lines[i - 1][0] != "list":
            args += ["--type", line]
    return args + ["--type", "exit"], [e for _, e in lines] + end


def table_rows(table, mgr):
    """The table's tenants the manager watches (Tenants: Watch): each a row
    of the first `list` in state `table` with the table's quotas (its
    memory quota, its scheduler reservation, limit and weight, its IO
    rates), then refused when the console would kill one (not_ours)."""
    size = policy.size_text
    setups = table.get("setup", [])
    quota = {s["subject"]: s["args"][0] for s in setups if s["kind"] == "mem.create_account"}
    rows = []
    for s in setups:
        if s["kind"] != "tenants.watch" or s["server"] != mgr["name"]:
            continue
        a, b = s["args"][0], s["args"][1]
        cpu, limit, weight = (a >> 16) & 0xff, (a >> 24) & 0xff, a >> 32
        cpu_text = "-" if not a & 0xffff else \
            f"{cpu} %" if limit == cpu and weight <= 1 else f"{cpu}-{limit} % w{weight}"
        io = rf"\d+ ops, {(b >> 8) & 0xfffffff}-{b >> 36} IOPS" if b & 0xff else "-"
        rows.append(("list", rf"(?m)^{s['subject']} +table +\d+\.\d % +{cpu_text} +\d+ KiB / "
                             rf"{size(quota[s['subject']])} +{io}"))
    if rows:
        name = rows[0][1].split("^")[1].split(" ")[0]
        rows.append((f"kill {name}", rf"error: tenant {name}: a tenant of the system's table: "
                                     rf"its quotas are the policy's and its objects not the "
                                     rf"manager's"))
    return rows


def other_cpu(mgr, prog):
    """With an allowance on a CPU other than 0: a tenant created there
    (`on=C`), listed with its CPU and the stack it touched (`console_errors`
    checks it ran: only a SchedContext on that CPU runs it), and killed."""
    others = [c for c in mgr["allowance"].get("cpus") or [0] if c != 0]
    if not others:
        return []
    c, size = others[0], policy.size_text
    return [(f"create gamma {prog} mem=256K cpu=1% on={c}",
             rf"created gamma \(tenant \d+\): program {prog}, memory 256 KiB, CPU 1 % @{c}"),
            ("list", rf"(?m)^gamma +running +\d+\.\d % +1 % @{c} +(\d+) KiB / 256 KiB"),
            ("kill gamma", r"killed gamma: [1-9]\d* bytes freed \(\d+ KiB\)")]


def io_session(table, mgr, prog, memory):
    """With an allowance with IO: a tenant with a disk of 64 KiB and half
    the allowance's reservation (its limit twice that), listed with its IO
    policy, one over the reservations left refused, one larger than the
    manager's free sectors refused (over_disk), its rates changed, and
    killed (IO: CloseTenant, then its account); `console_errors` checks that
    its operations grew while the console ran."""
    al = mgr["allowance"]
    iops = al.get("io_iops") or 0
    if al.get("blocks") is None or not iops:
        return []
    size = policy.size_text
    i1, quota = max(iops // 2, 1), min(memory, 512 << 10)
    # The whole of the manager's sectors: beta's 64 KiB leave one run short of it.
    disk_kib = al["blocks"][1] * 512 >> 10
    numbers = len(next(s["io_numbers"] for s in table.get("setup", []) if s["kind"] ==
                       "tenants.configure_io" and s["server"] == mgr["name"]))
    row = r"(?m)^beta +running +\d+\.\d % +1 % +\d+ KiB / {} +(\d+) ops, {}-{} IOPS, disk 64 KiB"
    return [(f"create beta {prog} mem={quota // 1024}K cpu=1% disk=64K io={i1} limit={2 * i1}",
             rf"created beta \(tenant \d+\): program {prog}, memory {size(quota)}, CPU 1 %, disk "
             rf"64 KiB, IO {i1}-{2 * i1} IOPS"),
            ("list", row.format(size(quota), i1, 2 * i1)),
            ("list", rf", IO {iops - i1} IOPS of {iops}"),
            (f"create gamma {prog} mem=64K cpu=1% disk=64K io={iops - i1 + 1} limit={iops}",
             rf"error: tenant gamma: IO reservation {iops - i1 + 1} IOPS exceeds the manager's "
             rf"allowance \({iops - i1} IOPS left of {iops}\)"),
            (f"create gamma {prog} mem=64K cpu=1% disk={disk_kib}K io=1 limit=2",
             rf"error: tenant gamma: disk {size(disk_kib << 10)} does not fit \(largest free run "
             rf"{size((disk_kib << 10) - (64 << 10))}, {numbers - 1} IO tenant numbers left\)"),
            (f"quota beta io={iops} limit={2 * iops}",
             rf"beta: memory quota {size(quota)}, CPU 1 %, IO {iops}-{2 * iops} IOPS"),
            ("list", row.format(size(quota), iops, 2 * iops)),
            ("kill beta", r"killed beta: [1-9]\d* bytes freed \(\d+ KiB, 64 KiB of it its IO "
                          r"session\)")]


def console_errors(table, log):
    """The bytes `kill alpha` and `kill beta` freed are what the last `list`
    showed each using (the memory server's account, to the KiB: beta's with
    its IO session's grant); beta's IO operations grew."""
    if console_of(table) is None or "killed alpha" not in log:
        return []
    for name in ("alpha", "beta"):
        used = re.findall(rf"(?m)^{name} +running .* (\d+) KiB / ", log)
        freed = re.search(rf"killed {name}: (\d+) bytes freed", log)
        if freed and (not used or int(freed.group(1)) != int(used[-1]) * 1024):
            return [f"console: kill {name} freed {freed.group(1)} bytes, the last list showed "
                    f"it using {used[-1] if used else '?'} KiB"]
    gamma = re.findall(r"(?m)^gamma +running .* @\d+ +(\d+) KiB / ", log)
    if "created gamma" in log and (not gamma or int(gamma[-1]) < 32):
        return [f"console: gamma, on another CPU, never ran: it uses {gamma} KiB, less than "
                "the 32 KiB of stack it touches first"]
    ops = [int(n) for n in re.findall(r"(?m)^beta +running .* (\d+) ops, ", log)]
    if "created beta" in log and (len(ops) < 2 or ops[-1] <= ops[0]):
        return [f"console: beta's IO operations did not grow while the console ran: {ops}"]
    return []


def driver_clients(table, driver):
    """The IO servers that hold a cap to the driver component's endpoint."""
    return [h["name"] for h in table["components"] if h["program"] == "io-server" and
            any(s["object"] == f"{driver['name']}.endpoint" for s in h["slots"])]


def driver_fault_args(table, after, start_crashes=0, how="fault"):
    """runtest.py's arguments for a run whose driver fails on purpose after
    its `after`th Block: Submit (the root task's boot option): it faults
    (`how` "fault"), stops answering, so that only the IO server's watch
    sees it ("hang"), or sends that request to an unmapped IO address, so
    that only the IOMMU's DMA fault line tells ("dma": run with --iommu).
    The root task's fault watcher stops it, and the root task restarts
    it on its device and tells the IO server (requests re-issued, the first
    death of a row); every other expectation of the run stands: the
    tenants' sessions go on. No fault reaches the console: the watcher
    takes them all. With `start_crashes` the next incarnations that many
    die in their start-up too (roottask.blk_start_crashes): each is
    followed by another at once, and the one that lives is told as the
    death that many + 1 of a row."""
    option = {"fault": "roottask.blk_fault_after", "hang": "roottask.blk_hang_after",
              "dma": "roottask.blk_stray_dma_after"}[how]
    out = ["--append", f"{option}={after}", "--reject", "FAILED|PANIC|user fault"]
    if start_crashes:
        out[1] += f" roottask.blk_start_crashes={start_crashes}"
    for c in table["components"]:
        if not c.get("device") or c["device"] == "console":
            continue
        client = driver_clients(table, c)[0]
        for k in range(start_crashes):
            out += ["--expect", rf"roottask: driver '{c['name']}' incarnation {k + 2} died in its "
                                rf"start-up \('{client}' answered IO: DriverRestarted with: "
                                rf"the block driver is down \(it died {k + 1} times in a row\)"]
        if how == "hang":
            out += ["--expect", rf"roottask: '{c['name']}' stops answering on purpose after its "
                                rf"Block: Submit number {after} ",
                    "--expect", r"blk-server: incarnation 1 stops answering on purpose"]
            death = (rf"hung: none of the requests it owes '{client}' completed in "
                     rf"{c['hang_timeout_ms']} ms")
        elif how == "dma":
            out += ["--expect", rf"roottask: '{c['name']}' sends its Block: Submit number {after} "
                                r"to an unmapped IO address on purpose",
                    "--expect", rf"blk-server: incarnation 1 sends its Submit {after} to IO "
                                r"address 0x[0-9a-f]+, where nothing is mapped",
                    "--expect", r"IOMMU: DMA fault blocked: device [0-9a-f:.]+ (read from|wrote "
                                r"to) IO address"]
            death = "its device's DMA outside its memory, which the IOMMU blocked"
        else:
            out += ["--expect", rf"roottask: '{c['name']}' faults on purpose after its Block: "
                                rf"Submit number {after} ",
                    "--expect", r"blk-server: incarnation 1 faults on purpose"]
            death = "a page fault"
        out += ["--expect", rf"roottask: driver '{c['name']}' died \(incarnation "
                            rf"{start_crashes + 1}, {death}\): restarted as "
                            rf"incarnation {start_crashes + 2}; '{client}': IO: "
                            rf"DriverRestarted: [1-9]\d* requests re-issued, "
                            rf"{start_crashes + 1} deaths in a row"]
    return out


def main(argv):
    if len(argv) < 2 or argv[0] != "--table":
        sys.exit(__doc__)
    table = json.loads(pathlib.Path(argv[1]).read_text())
    expect_failure = None
    if len(argv) > 3 and argv[2] == "--expect-failure":
        expect_failure = argv[3]
        argv = argv[:2] + argv[4:]
    fault_after = None
    if "--driver-fault" in argv:
        i = argv.index("--driver-fault")
        fault_after = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    how = "fault"
    for flag, kind in (("--driver-hang", "hang"), ("--driver-stray-dma", "dma")):
        if flag in argv:
            i = argv.index(flag)
            fault_after, how = int(argv[i + 1]), kind
            argv = argv[:i] + argv[i + 2:]
    start_crashes = 0
    if "--driver-start-crashes" in argv:
        i = argv.index("--driver-start-crashes")
        start_crashes = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    full_console = "--console" in argv
    if full_console:
        argv = [a for a in argv if a != "--console"]
    typing, console_expect = console_session(table, full_console)
    cmd = [sys.executable, str(ROOT / "tools" / "runtest.py")] + argv[2:] + ["--status", "pass"]
    if "--iommu" in cmd and "--stderr-apart" not in cmd:
        # QEMU's IOMMU warns on stderr while the kernel writes its DMA fault
        # line, and a warning in the middle of that line hid it from the
        # --expect (a local ctest run of policy-demo-driver-dma, 2026-12-08).
        cmd.append("--stderr-apart")
    cmd += typing
    for e in expectations(table, policy.kernel_constants()) + console_expect:
        cmd += ["--expect", e]
    if fault_after is None:
        cmd += ["--reject", "FAILED|PANIC|user fault"]
    else:
        cmd += driver_fault_args(table, fault_after, start_crashes, how)
    # The checks below read the whole serial output, which runtest.py
    # prints only when a pattern fails: it writes it to a file always.
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "serial.txt"
        cmd += ["--output-file", str(out)]
        run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log = out.read_text() if out.exists() else run.stdout
    print(run.stdout, end="")
    errors = budget_errors(table, log) + paid_errors(table, log) + console_errors(table, log)
    if run.returncode == 0 and "--disk" in argv:
        errors += disk_errors(table, argv[argv.index("--disk") + 1])
    for e in errors:
        print(e)
    if expect_failure is not None:
        found = any(expect_failure in e for e in errors)
        print(f"{'PASS' if found else 'FAIL'}: a failure containing {expect_failure!r} "
              f"{'found' if found else 'not found'}")
        return 0 if found else 1
    return run.returncode or (1 if errors else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
