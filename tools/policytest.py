#!/usr/bin/env python3
"""Tests of the policy checker (tools/policy.py) over the example policies.

Usage: policytest.py --examples DIR    every *.toml under DIR: a file with
                                       "# expect: TEXT" lines must be refused
                                       with each TEXT in the output (a file
                                       under a reject/ folder must have
                                       them); any other must be accepted, and
                                       its lowered table must be well formed
       policytest.py --fuzz COUNT --seed SEED DIR
                                       COUNT random mutations of the examples:
                                       the checker never raises, and on every
                                       mutant tomllib accepts, the position
                                       of each value points at that value
"""
import json
import pathlib
import random
import sys
import tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import policy  # noqa: E402
import policytoml  # noqa: E402


def expectations(text):
    return [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.startswith("# expect:")]


def table_problems(table):
    """What is wrong with a lowered table (docs/policy.md, "The capability table")."""
    out = []
    objects = {o["name"]: o for o in table["objects"]}
    if len(objects) != len(table["objects"]):
        out.append("two objects share a name")
    if [o["id"] for o in table["objects"]] != list(range(len(table["objects"]))):
        out.append("object ids are not their indices")
    for comp in table["components"]:
        slots = [c["slot"] for c in comp["slots"]]
        if len(set(slots)) != len(slots):
            out.append(f"{comp['name']}: a slot is used twice")
        for cap in comp["slots"]:
            o = objects.get(cap["object"])
            if o is None or o["type"] != cap["type"] or table["objects"][cap["object_id"]] is not o:
                out.append(f"{comp['name']} slot {cap['slot']}: no object {cap['object']} of its type")
            if not 0 < cap["slot"] < (1 << comp["cspace"]["radix"]):
                out.append(f"{comp['name']} slot {cap['slot']} outside its CNode")
    again = json.loads(policy.table_json(table))
    if again != json.loads(json.dumps(table)):
        out.append("the table does not survive JSON")
    return out


def check_examples(root):
    files = sorted(pathlib.Path(root).rglob("*.toml"))
    consts = policy.kernel_constants()
    failed = 0
    for f in files:
        text = f.read_text()
        expect = expectations(text)
        report, table, results = policy.analyse(text, str(f), consts)
        said = "\n".join(report.lines())
        problems = []
        if "reject" in f.parts and not expect:
            problems.append("a policy under reject/ needs '# expect:' lines")
        if expect:
            if not report.errors:
                problems.append("accepted, but it must be refused")
            problems += [f"the output lacks {e!r}" for e in expect if e not in said]
        else:
            if report.errors:
                problems.append("refused:\n" + said)
            else:
                problems += table_problems(table)
                second = policy.analyse(text, str(f), consts)[1]
                if policy.table_json(second) != policy.table_json(table):
                    problems.append("lowering twice gives two tables")
                if "tenants are apart" not in "\n".join(policy.summary(table, results)):
                    problems.append("no proof summary")
        if table is not None:
            graph = json.loads(json.dumps(policy.graph_json(table, results)))
            if bool(graph["leaks"]) != ("E0501" in expect):
                problems.append(f"the JSON graph's leaks ({graph['leaks']}) disagree with E0501")
            if not policy.graph_svg(graph).startswith("<svg"):
                problems.append("no SVG picture")
        failed += bool(problems)
        verdict = "refused" if expect else "accepted"
        print(f"{'FAILED' if problems else 'ok'}: {f} {verdict}"
              + "".join(f"\n  {p}" for p in problems))
    print(f"{len(files) - failed} passed, {failed} failed")
    return 1 if failed or not files else 0


TOKENS = ["[", "]", "[[", "]]", "{", "}", "=", ",", ".", '"', "'", '"""', "#", "\n", " ",
          "0", "-1", "0x10", "1e3", "true", "99999999999999999999", '"4 GiB"', '"x"',
          "[[channels]]", "[tenants.x]", "rights", "badge", "cpu", "[]", "{}", "nan", "\\"]


# Valid TOML values of every kind, to put in place of a value (the checker
# must refuse a wrong type with an error, never raise).
VALUES = ['"x"', '""', "-1", "0", "1", "255", "true", "[]", "{}", '[1, "a"]', "{ a = 1 }",
          "99999999999999999999", "1.5", '"4 GiB"', '"0 B"', '["read"]', "[[1, 2]]", "[[0, 0]]",
          '["web", "db"]', '["mem"]', '"mem"', '"web"', "{ percent = 1, priority = 1 }",
          '{ quota = "1 GiB" }', "2000-01-01", "inf", "[-1, 5]"]


def mutate(rng, text):
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        if op >= 6:  # keeps the file valid TOML: a value of another kind
            lines = text.split("\n")
            at = [j for j, line in enumerate(lines) if " = " in line and not line.startswith("#")]
            if at:
                j = rng.choice(at)
                key = lines[j].split(" = ", 1)[0]
                lines[j] = f"{key} = {rng.choice(VALUES)}"
                text = "\n".join(lines)
            continue
        i = rng.randrange(len(text) + 1)
        if op == 0:
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif op == 1:
            text = text[:i] + text[i + rng.randint(1, 8):]
        elif op == 2:
            lines = text.split("\n")
            j = rng.randrange(len(lines))
            lines.insert(rng.randrange(len(lines) + 1), lines[j])
            text = "\n".join(lines)
        elif op == 3:
            lines = text.split("\n")
            del lines[rng.randrange(len(lines))]
            text = "\n".join(lines)
        elif op == 4:  # a value of another kind in place of a number or string
            for old in ('"', "1", "0", "true"):
                j = text.find(old, i)
                if j >= 0:
                    text = text[:j] + rng.choice(TOKENS[14:]) + text[j + 1:]
                    break
        else:
            text = text[:i] + chr(rng.randrange(1, 0x3000)) + text[i:]
    return text


def value_starts_at(text, line, col, value):
    """Does the text at (line, col) start the written form of `value`?"""
    row = text.split("\n")[line - 1]
    head = row[col - 1:]
    if isinstance(value, bool):
        return head.startswith("true" if value else "false")
    if isinstance(value, str):
        return head[:1] in "\"'"
    if isinstance(value, (int, float)):
        return head[:1] in "+-0123456789in"
    if isinstance(value, list):
        return head.startswith("[")
    return True  # a table: its header or inline brace, checked by the paths below it


def check_positions(text):
    data, positions = policytoml.load(text)
    problems = []
    for path in policytoml.leaf_paths(data):
        value = data
        for p in path:
            value = value[p]
        if isinstance(value, dict):
            continue
        if path not in positions:
            problems.append(f"no position for {policy.field_name(path)}")
        elif not value_starts_at(text, *positions[path], value):
            problems.append(f"{policy.field_name(path)} at {positions[path]} is not its value")
    return problems


def fuzz(count, seed, root):
    rng = random.Random(seed)
    seeds = [f.read_text() for f in sorted(pathlib.Path(root).rglob("*.toml"))]
    consts = policy.kernel_constants()
    valid = refused = failed = 0
    for n in range(count):
        text = mutate(rng, rng.choice(seeds))
        try:
            report, _, _ = policy.analyse(text, "fuzz.toml", consts)
            refused += bool(report.errors)
            for line in report.lines():
                if not line.startswith("fuzz.toml:") and not line.startswith("  hop "):
                    raise AssertionError(f"an error without its place: {line}")
            try:
                tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                continue
            valid += 1
            problems = check_positions(text)
            if problems:
                raise AssertionError("; ".join(problems[:3]))
        except Exception as e:  # the point: any exception is a failure, shown with its input
            failed += 1
            if failed <= 5:
                print(f"FAILED: mutant {n} (seed {seed}): {type(e).__name__}: {e}\n--- input:\n"
                      f"{text}\n---")
    print(f"{count} mutants: {valid} valid TOML, {refused} refused, {failed} failed")
    return 1 if failed else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--examples":
        return check_examples(argv[2])
    if len(argv) == 6 and argv[1] == "--fuzz" and argv[3] == "--seed":
        return fuzz(int(argv[2]), int(argv[4]), argv[5])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
