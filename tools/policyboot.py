#!/usr/bin/env python3
"""Boot a policy's image and check that the system is the one its table says.

  policyboot.py --table IMAGE.captable.json --arch A --kernel K --image IMAGE.img [runtest args]

Every expectation comes from the JSON capability table the image was built
from (tools/captable.py), never from the serial log: the root task's line per
component (objects, caps, program, priority, budget), each component's list
of its own capabilities as the kernel identifies them (slot, type, rights;
exactly the table's caps and the Debug cap the root task adds in slot
BK_CAP_DEBUG, no more), and each tenant's call on each of its channels
answered by the channel's server with the channel's badge. A root task that
built anything else, or ignored the table, fails. Runs tools/runtest.py.
"""
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import policy  # noqa: E402


def budget_us(cpu, consts):
    if cpu.get("percent") is not None:
        period = consts["BK_SCHED_ROOT_PERIOD_NS"] // 1000
        return period * cpu["percent"] // 100, period
    return cpu["budget_us"], cpu["period_us"]


def expectations(table, consts):
    objects = table["objects"]
    debug = (consts["BK_CAP_DEBUG"], consts["BK_OBJ_DEBUG"], consts["BK_RIGHTS_ALL"])
    ncaps = sum(len(c["slots"]) for c in table["components"])
    out = [rf"roottask: capability table of .*: {len(objects)} objects, "
           rf"{len(table['components'])} components, {ncaps} caps"]
    for c in table["components"]:
        n, owned = c["name"], sum(1 for o in objects if o["owner"] == c["name"])
        budget, period = budget_us(c["cpu"], consts)
        out.append(rf"roottask: start {c['kind']} '{n}': {owned} objects, {len(c['slots'])} caps, "
                   rf"program {re.escape(c['program'])}, priority {c['cpu']['priority']}, "
                   rf"budget {budget} of {period} us")
        caps = [(s["slot"], objects[s["object_id"]]["type_value"], s["rights_value"])
                for s in c["slots"]] + [debug]
        for slot, otype, rights in sorted(caps):
            out.append(rf"(?m)^{n}: cap slot={slot} type={otype} rights={rights}\r?$")
        out.append(rf"(?m)^{n}: {len(caps)} caps\r?$")
        if c["kind"] != "tenant":
            continue
        for s in c["slots"]:
            o = objects[s["object_id"]]
            if o["type"] == "BK_OBJ_ENDPOINT" and "BK_RIGHT_WRITE" in s["rights"] \
                    and "BK_RIGHT_READ" not in s["rights"]:
                out.append(rf"{n}: channel slot={s['slot']} answered by {o['owner'][:8]}, "
                           rf"badge {s['badge']}\b")
        out.append(rf"{n}: done")
    out.append("roottask: every tenant finished; the system ran as its table says")
    return out


def main(argv):
    if len(argv) < 2 or argv[0] != "--table":
        sys.exit(__doc__)
    table = json.loads(pathlib.Path(argv[1]).read_text())
    cmd = [sys.executable, str(ROOT / "tools" / "runtest.py")] + argv[2:] + ["--status", "pass"]
    for e in expectations(table, policy.kernel_constants()):
        cmd += ["--expect", e]
    cmd += ["--reject", "FAILED|PANIC|user fault"]
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
