#!/usr/bin/env python3
"""Generate a server protocol's client stubs, server dispatch and reference
from its description (servers/<name>/protocol.toml; docs/servers.md).

Usage: protogen.py --abi ABI_TOML PROTOCOL_TOML OUT_DIR
       protogen.py --abi ABI_TOML --self-test PROTOCOL_TOML
                                   (each check refuses a broken copy)

Writes, for protocol <p>, under OUT_DIR:
  include/protocols/<p>.h         ids, labels, error codes, struct <p>_error
  include/protocols/<p>_client.h  one function per method (<p>_<method>)
  include/protocols/<p>_server.h  the handlers a server implements, <p>_dispatch
  <p>.c                           errors: lengths, packing, the text formatter
  <p>_client.c, <p>_server.c      the stubs and the dispatch
  <p>.md                          the reference (docs/protocols/<p>.md must match)
The message limits come from the ABI (BK_MSG_MAX_WORDS, BK_MSG_MAX_CAPS).
Files are only rewritten when their content changes.
"""
import copy
import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
IDENT = re.compile(r"[a-z][a-z0-9_]*")
NAME_TYPE = re.compile(r"name\[(\d+)\]")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
FIRST_CODE = 32          # codes below are the shared BK_PROTO_ERR_* (libsys proto.h)
MAX_NUMBER = 0x7fff      # largest method number and error code (the label's low 15 bits)
MAX_NAME = 256           # longest name type, in characters
# Scalar types: C type, and the check a received word must pass (None: any).
SCALARS = {
    "u64": ("uint64_t", None),
    "i64": ("int64_t", None),
    "u32": ("uint32_t", "{w} <= 0xffffffffu"),
    "bool": ("bool", "{w} <= 1"),
}


def fail(msg):
    sys.exit(f"protogen: error: {msg}")


def abi_limits(path):
    with open(path, "rb") as f:
        abi = tomllib.load(f)
    consts = {c["name"]: int(str(c["value"]), 0) for c in abi["constants"]}
    return consts["BK_MSG_MAX_WORDS"], consts["BK_MSG_MAX_CAPS"]


def load(path, limits):
    with open(path, "rb") as f:
        return check(tomllib.load(f), path, limits)


# ---- Checking a description ------------------------------------------------

def type_words(t, what):
    """Message words a value of type `t` takes (0 for a cap)."""
    if t in SCALARS:
        return 1
    if t == "cap":
        return 0
    m = NAME_TYPE.fullmatch(t)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= MAX_NAME:
            fail(f"{what}: name[{n}]: a name holds 1 to {MAX_NAME} characters")
        return (n + 7) // 8
    fail(f"{what}: unknown type '{t}' (known: u64, i64, u32, bool, name[N], cap)")


def name_max(t):
    m = NAME_TYPE.fullmatch(t)
    return int(m.group(1)) if m else None


def check_fields(fields, what, allow_cap):
    if not isinstance(fields, list):
        fail(f"{what}: must be a list of [type, name] pairs")
    seen = set()
    for f in fields:
        if not (isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f)):
            fail(f"{what}: each entry must be [type, name], not {f!r}")
        t, n = f
        if not IDENT.fullmatch(n):
            fail(f"{what}: '{n}' must be a lower-case C identifier")
        if n in seen:
            fail(f"{what}: two entries are named '{n}'")
        seen.add(n)
        type_words(t, f"{what}: {n}")
        if t == "cap" and not allow_cap:
            fail(f"{what}: {n}: a cap cannot travel here (an error reply carries none)")


def check_keys(entry, required, optional, what):
    missing = required - entry.keys()
    if missing:
        fail(f"{what}: missing {', '.join(sorted(missing))}")
    unknown = entry.keys() - required - optional
    if unknown:
        fail(f"{what}: unknown key {', '.join(sorted(unknown))}")


def check(proto, path, limits):
    max_words, max_caps = limits
    check_keys(proto, {"protocol", "methods"}, {"errors"}, str(path))
    p = proto["protocol"]
    check_keys(p, {"name", "id", "doc"}, {"display"}, "[protocol]")
    if not IDENT.fullmatch(p["name"]):
        fail(f"[protocol]: name '{p['name']}' must be a lower-case C identifier")
    if not isinstance(p["id"], int) or not 1 <= p["id"] <= 0xffff:
        fail("[protocol]: id must be an integer from 1 to 0xffff (labels are id << 16 | number)")
    proto.setdefault("errors", [])
    check_errors(proto, max_words)
    check_methods(proto, max_words, max_caps)
    return proto


def check_unique(entries, key, what):
    seen = {}
    for e in entries:
        if e[key] in seen:
            fail(f"duplicate {what} {key} {e[key]!r} ({seen[e[key]]} and {e['name']})")
        seen[e[key]] = e["name"]


def check_methods(proto, max_words, max_caps):
    if not proto["methods"]:
        fail("a protocol needs at least one method")
    errors = {e["name"] for e in proto["errors"]}
    for m in proto["methods"]:
        what = f"method {m.get('name', '?')}"
        check_keys(m, {"name", "number", "doc"}, {"args", "results", "errors"}, what)
        if not IDENT.fullmatch(m["name"]):
            fail(f"{what}: name must be a lower-case C identifier")
        if not isinstance(m["number"], int) or not 1 <= m["number"] <= MAX_NUMBER:
            fail(f"{what}: number must be an integer from 1 to {MAX_NUMBER:#x}")
        m.setdefault("args", [])
        m.setdefault("results", [])
        m.setdefault("errors", [])
        check_fields(m["args"], f"{what}: args", allow_cap=True)
        check_fields(m["results"], f"{what}: results", allow_cap=True)
        clash = {n for _, n in m["args"]} & {n for _, n in m["results"]}
        if clash:
            fail(f"{what}: '{sorted(clash)[0]}' is both an argument and a result")
        for side in ("args", "results"):
            caps = sum(t == "cap" for t, _ in m[side])
            if caps > min(1, max_caps):
                fail(f"{what}: {caps} caps in its {side}; at most 1 (the kernel puts one "
                     "capability per message in the receive slot)")
        for side in ("args", "results"):
            n = words(m[side])
            if n > max_words:
                fail(f"{what}: {side} take {n} words, too many words for a message "
                     f"(BK_MSG_MAX_WORDS is {max_words})")
        for e in m["errors"]:
            if e not in errors:
                fail(f"{what}: unknown error '{e}'")
    check_unique(proto["methods"], "name", "method")
    check_unique(proto["methods"], "number", "method")


def check_errors(proto, max_words):
    for e in proto["errors"]:
        what = f"error {e.get('name', '?')}"
        check_keys(e, {"name", "code", "doc", "message"}, {"fields"}, what)
        if not IDENT.fullmatch(e["name"]):
            fail(f"{what}: name must be a lower-case C identifier")
        if not isinstance(e["code"], int) or not FIRST_CODE <= e["code"] <= MAX_NUMBER:
            fail(f"{what}: code must be an integer from {FIRST_CODE} to {MAX_NUMBER:#x} "
                 f"(1-{FIRST_CODE - 1} are the shared BK_PROTO_ERR_* codes)")
        e.setdefault("fields", [])
        check_fields(e["fields"], f"{what}: fields", allow_cap=False)
        if words(e["fields"]) > max_words:
            fail(f"{what}: fields take {words(e['fields'])} words, too many words for a "
                 f"message (BK_MSG_MAX_WORDS is {max_words})")
        check_template(e, what)
    check_unique(proto["errors"], "name", "error")
    check_unique(proto["errors"], "code", "error")


def check_template(e, what):
    """Every {field} or {field:hex} / {field:size} (numbers only) names a
    field, and every field appears in the message."""
    types = {n: t for t, n in e["fields"]}
    used = set()
    for spec in PLACEHOLDER.findall(unbrace(e["message"])):
        name, _, fmt = spec.partition(":")
        if name not in types:
            fail(f"{what}: the message names '{{{spec}}}', which is not a field")
        if fmt and (fmt not in ("hex", "size") or types[name] not in ("u64", "u32")):
            fail(f"{what}: '{{{spec}}}': only u64 and u32 fields take :hex or :size")
        used.add(name)
    unused = [n for n in types if n not in used]
    if unused:
        fail(f"{what}: field '{unused[0]}' does not appear in the message")
    if re.search(r"[{}]", PLACEHOLDER.sub("", unbrace(e["message"]))):
        fail(f"{what}: unbalanced brace in the message (write {{{{ and }}}} for braces)")


def unbrace(text):
    return text.replace("{{", "").replace("}}", "")


def words(fields):
    return sum(type_words(t, n) for t, n in fields)


# ---- Names used in the generated code -----------------------------------------

def display(entry):
    return entry.get("display") or "".join(x.capitalize() for x in entry["name"].split("_"))


def source_name(path):
    try:
        return pathlib.Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return pathlib.Path(path).name


def note(proto):
    return (f"/* Generated by tools/protogen.py from {proto['source']}. Do not edit. */\n")


def P(proto):
    return proto["protocol"]["name"]


def U(proto):
    return P(proto).upper()


def layout(fields):
    """(type, name, first word) for each field, caps taking none."""
    out, at = [], 0
    for t, n in fields:
        out.append((t, n, at))
        at += type_words(t, n)
    return out


def c_param(t, n, side):
    """A C parameter for a field: side 'in' (a value the function gets),
    'out' (a result it writes), 'handler' (an argument a handler gets),
    'handler_out' (a result a handler writes). A cap argument is the cap a
    client sends and the receive slot its handler finds it in; a cap result
    is the slot a client has it land in and the cap its handler sends."""
    if t == "cap":
        return {"in": f"bk_cptr_t {n}", "out": f"bk_cptr_t {n}_slot",
                "handler": f"uint64_t {n}_slot", "handler_out": f"bk_cptr_t *{n}"}[side]
    if side == "handler_out":
        side = "out"
    if name_max(t):
        return f"char *{n}" if side == "out" else f"const char *{n}"
    ctype = SCALARS[t][0]
    return f"{ctype} *{n}" if side == "out" else f"{ctype} {n}"


def c_member(t, n):
    if name_max(t):
        return f"char {n}[{name_max(t) + 1}]"
    return f"{SCALARS[t][0]} {n}"


# ---- <p>.h: shared by clients and servers ---------------------------------------

def gen_common_h(proto):
    p, u, info = P(proto), U(proto), proto["protocol"]
    out = [note(proto), wrap_comment(f"{display_protocol(proto)}: {info['doc']}"),
           "#pragma once\n\n#include <bulkhead/proto.h>\n\n",
           f"#define {u}_PROTOCOL_ID 0x{info['id']:x}\n\n/* Method labels. */\n"]
    for m in proto["methods"]:
        out.append(f"#define {u}_LABEL_{m['name'].upper()} "
                   f"BK_PROTO_LABEL({u}_PROTOCOL_ID, {m['number']})\n")
    out.append("\n/* The longest name each name argument or result holds (a buffer for one\n"
               " * needs one more char, for the NUL). */\n")
    for m in proto["methods"]:
        for t, n in m["args"] + m["results"]:
            if name_max(t):
                out.append(f"#define {u}_{m['name'].upper()}_{n.upper()}_MAX {name_max(t)}\n")
    out.append(f"\n/* Error codes: 0 success, 1-{FIRST_CODE - 1} the shared BK_PROTO_ERR_*, then "
               "the protocol's own. */\n")
    for e in proto["errors"]:
        out.append(f"#define {u}_ERR_{e['name'].upper()} {e['code']} /* {comment_safe(e['doc'])} */\n")
    for e in proto["errors"]:
        out.append(f"\n/* The numbers of {u}_ERR_{e['name'].upper()}. */\n"
                   f"struct {p}_{e['name']} {{\n")
        out += [f"    {c_member(t, n)};\n" for t, n in e["fields"]] or ["    char unused;\n"]
        out.append("};\n")
    out.append(f"\n/* What a call came to: code 0, or the error and its numbers in the\n"
               f" * member of the same name (`proto` for the shared errors). */\n"
               f"struct {p}_error {{\n    int code;\n    uint64_t label; /* the method's */\n"
               "    union {\n        struct bk_proto_fault proto;\n")
    out += [f"        struct {p}_{e['name']} {e['name']};\n" for e in proto["errors"]]
    out.append("    };\n};\n\n")
    out.append(f"/* The text of `e`, as snprintf: the error's message with its numbers. */\n"
               f"int {p}_error_format(const struct {p}_error *e, char *buf, size_t size);\n\n"
               f"/* The name of the method with `label` (\"?\" if none). */\n"
               f"const char *{p}_method_name(uint64_t label);\n\n"
               f"/* Wire words of the protocol's own error `code`; -1 if unknown. */\n"
               f"int {p}_error_length(int code);\n\n"
               f"/* Writes the error reply for `e` (its code set) into `m`. */\n"
               f"void {p}_error_pack(struct bk_msg *m, const struct {p}_error *e);\n\n"
               f"/* Reads the numbers of error `code` from reply `m` into `e`; false if\n"
               f" * they are not valid values of their types. */\n"
               f"bool {p}_error_unpack(const struct bk_msg *m, int code, struct {p}_error *e);\n")
    return "".join(out)


def display_protocol(proto):
    info = proto["protocol"]
    return info.get("display") or info["name"]


# ---- <p>.c: the errors ------------------------------------------------------

def gen_common_c(proto):
    p, u = P(proto), U(proto)
    out = [note(proto), f"/* {display_protocol(proto)}: method names, and the errors: their "
           "lengths, how they travel, their text. */\n",
           f"#include <bulkhead/format.h>\n#include <protocols/{p}.h>\n\n"]
    out.append(f"const char *{p}_method_name(uint64_t label)\n{{\n    switch (label) {{\n")
    for m in proto["methods"]:
        out.append(f"    case {u}_LABEL_{m['name'].upper()}:\n        return \"{m['name']}\";\n")
    out.append("    default:\n        return \"?\";\n    }\n}\n\n")
    out.append(gen_arg_names(proto))
    out.append(f"int {p}_error_length(int code)\n{{\n    switch (code) {{\n")
    for e in proto["errors"]:
        out.append(f"    case {u}_ERR_{e['name'].upper()}:\n        return {words(e['fields'])};\n")
    out.append("    default:\n        return -1;\n    }\n}\n\n")
    out.append(gen_error_pack(proto))
    out.append(gen_error_unpack(proto))
    out.append(gen_error_format(proto))
    return "".join(out)


def gen_arg_names(proto):
    """Each method's argument names, for the text of BAD_VALUE."""
    p, u = P(proto), U(proto)
    out = []
    for m in proto["methods"]:
        names = ", ".join(f'"{n}"' for _, n in m["args"]) or '"?"'
        out.append(f"static const char *const {m['name']}_args[] = {{ {names} }};\n")
    out.append(f"\nstatic const char *const *arg_names(uint64_t label, unsigned *count)\n{{\n"
               "    switch (label) {\n")
    for m in proto["methods"]:
        out.append(f"    case {u}_LABEL_{m['name'].upper()}:\n"
                   f"        *count = {len(m['args'])};\n        return {m['name']}_args;\n")
    out.append("    default:\n        *count = 0;\n        return 0;\n    }\n}\n\n")
    return "".join(out)


def gen_error_pack(proto):
    p, u = P(proto), U(proto)
    out = [f"void {p}_error_pack(struct bk_msg *m, const struct {p}_error *e)\n{{\n"
           f"    switch (e->code) {{\n"]
    for e in proto["errors"]:
        out.append(f"    case {u}_ERR_{e['name'].upper()}:\n")
        for t, n, at in layout(e["fields"]):
            out.append("        " + pack_stmt(t, f"e->{e['name']}.{n}", at) + "\n")
        out.append(f"        m->info = BK_MSGINFO({words(e['fields'])}, 0, 0, "
                   f"BK_PROTO_ERROR_LABEL({u}_PROTOCOL_ID, e->code));\n        return;\n")
    out.append(f"    default:\n        bk_proto_fault_reply(m, {u}_PROTOCOL_ID, e->code, "
               "&e->proto);\n        return;\n    }\n}\n\n")
    return "".join(out)


def pack_stmt(t, value, at):
    if name_max(t):
        return f"bk_proto_pack_name(m, {at}, {value}, {name_max(t)});"
    if t == "u64":
        return f"bk_proto_set_word(m, {at}, {value});"
    return f"bk_proto_set_word(m, {at}, (uint64_t){value});"


def unpack_stmts(t, target, at, indent, on_bad, declare=False):
    """Statements reading a value of type `t` at word `at` of m into
    `target` (declared here if `declare`), doing `on_bad` if the word is
    not a valid value."""
    pad = " " * indent
    if name_max(t):
        return [f"{pad}if (!bk_proto_unpack_name(m, {at}, {name_max(t)}, {target}))\n",
                f"{pad}    {on_bad}\n"]
    ctype, test = SCALARS[t]
    out = []
    if test:
        out += [f"{pad}if (!({test.format(w=f'bk_proto_word(m, {at})')}))\n", f"{pad}    {on_bad}\n"]
    value = f"bk_proto_word(m, {at})" if ctype == "uint64_t" else f"({ctype})bk_proto_word(m, {at})"
    return out + [f"{pad}{ctype + ' ' if declare else ''}{target} = {value};\n"]


def gen_error_unpack(proto):
    p, u = P(proto), U(proto)
    out = [f"bool {p}_error_unpack(const struct bk_msg *m, int code, struct {p}_error *e)\n{{\n"
           "    e->code = code;\n    switch (code) {\n"]
    for e in proto["errors"]:
        out.append(f"    case {u}_ERR_{e['name'].upper()}:\n")
        for t, n, at in layout(e["fields"]):
            out += unpack_stmts(t, f"e->{e['name']}.{n}", at, 8, "return false;")
        out.append("        return true;\n")
    out.append("    default:\n        bk_proto_fault_unpack(m, code, &e->proto);\n"
               "        return true;\n    }\n}\n\n")
    return "".join(out)


def c_format(e):
    """The error's message as a printf format and its arguments."""
    types = {n: t for t, n in e["fields"]}
    fmt, args, sizes = [], [], 0
    pieces = re.split(r"(\{\{|\}\}|\{[^{}]*\})", e["message"])
    for piece in pieces:
        if piece in ("{{", "}}"):
            fmt.append(piece[0])
            continue
        if not (piece.startswith("{") and piece.endswith("}")):
            fmt.append(piece.replace("%", "%%"))
            continue
        name, _, how = piece[1:-1].partition(":")
        t, v = types[name], f"f->{name}"
        if how == "size":
            fmt.append("%s")
            args.append(f"bk_proto_size_text(size{sizes}, {v})")
            sizes += 1
        elif how == "hex":
            fmt.append("0x%llx")
            args.append(f"(unsigned long long){v}")
        elif name_max(t):
            fmt.append("%s")
            args.append(v)
        elif t == "bool":
            fmt.append("%s")
            args.append(f'{v} ? "true" : "false"')
        elif t == "i64":
            fmt.append("%lld")
            args.append(f"(long long){v}")
        else:
            fmt.append("%llu")
            args.append(f"(unsigned long long){v}")
    return "".join(fmt), args, sizes


def wrap_call(head, args, end=");", width=96):
    """`head` then the arguments, continuation lines under the first."""
    lines, line = [], head
    for i, a in enumerate(args):
        piece = a + (", " if i + 1 < len(args) else end)
        if len(line) + len(piece.rstrip()) > width and line.strip() != head.strip():
            lines.append(line.rstrip())
            line = " " * len(head)
        line += piece
    return "\n".join(lines + [line]) + "\n"


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gen_error_format(proto):
    p, u = P(proto), U(proto)
    out = []
    for e in proto["errors"]:
        fmt, args, sizes = c_format(e)
        out.append(f"static int format_{e['name']}(const struct {p}_{e['name']} *f, char *buf, "
                   "size_t size)\n{\n")
        if sizes:
            out.append(f"    char {', '.join(f'size{i}[BK_PROTO_SIZE_TEXT]' for i in range(sizes))};\n")
        if not e["fields"]:
            out.append("    (void)f;\n")
        out.append(wrap_call("    return bk_snprintf(", ["buf", "size", c_string(fmt)] + args)
                   + "}\n\n")
    out.append(f"int {p}_error_format(const struct {p}_error *e, char *buf, size_t size)\n{{\n"
               "    switch (e->code) {\n")
    for e in proto["errors"]:
        out.append(f"    case {u}_ERR_{e['name'].upper()}:\n"
                   f"        return format_{e['name']}(&e->{e['name']}, buf, size);\n")
    out.append("    default: {\n        unsigned count;\n"
               "        const char *const *args = arg_names(e->label, &count);\n"
               f"        return bk_proto_fault_format(buf, size, \"{display_protocol(proto)}\", "
               f"{p}_method_name(e->label), args, count,\n"
               "                                     e->code, &e->proto);\n    }\n    }\n}\n")
    return "".join(out)


# ---- The client -----------------------------------------------------------------

def client_signature(proto, m):
    params = [f"bk_cptr_t server"] + [c_param(t, n, "in") for t, n in m["args"]]
    params += [c_param(t, n, "out") for t, n in m["results"]]
    params.append(f"struct {P(proto)}_error *err")
    return wrap_call(f"int {P(proto)}_{m['name']}(", params, ")").rstrip("\n")


def method_doc(proto, m, side):
    u = U(proto)
    errs = ", ".join(f"{u}_ERR_{e.upper()}" for e in m["errors"]) or "none of its own"
    text = f"{display_protocol(proto)}: {display(m)}. {m['doc']}"
    if side == "client":
        outs = [n for t, n in m["results"] if name_max(t)]
        bufs = "".join(f" `{n}` needs {u}_{m['name'].upper()}_{n.upper()}_MAX + 1 chars." for n in outs)
        text += (f"{bufs} Returns 0, or the error code with its numbers in *err (may be NULL): "
                 f"{errs}, or a shared BK_PROTO_ERR_*.")
    else:
        text += f" Errors it may return: {errs}."
    return wrap_comment(text)


def comment_safe(text):
    """Text that cannot end the C comment it is put in."""
    return text.replace("*/", "* /")


def wrap_comment(text, width=88):
    text = comment_safe(text)
    lines, line = [], "/*"
    for word in text.split():
        if len(line) + 1 + len(word) > width:
            lines.append(line)
            line = " *"
        line += " " + word
    lines.append(line + " */")
    return "\n".join(lines) + "\n"


def gen_client_h(proto):
    p = P(proto)
    out = [note(proto), f"/* {display_protocol(proto)}: the client stubs. Each packs its "
           "arguments, Calls `server`, checks the reply\n * and unpacks the results. */\n"
           f"#pragma once\n\n#include <protocols/{p}.h>\n\n"]
    for m in proto["methods"]:
        out.append(method_doc(proto, m, "client") + client_signature(proto, m) + ";\n\n")
    return "".join(out)


def gen_client_c(proto):
    p, u = P(proto), U(proto)
    out = [note(proto), f"/* {display_protocol(proto)}: the client stubs. */\n"
           f"#include <protocols/{p}_client.h>\n\n",
           f"/* A failure before the Call, or a reply that is not what it claims. */\n"
           f"static int fault(struct {p}_error *err, uint64_t label, int code, uint64_t a, "
           "uint64_t b)\n{\n    if (err) {\n"
           "        err->code = code;\n        err->label = label;\n"
           "        bk_proto_fault(&err->proto, code, a, b, 0);\n    }\n    return code;\n}\n\n",
           reply_code_head(proto),
           f"    struct {p}_error e = {{ .label = label }};\n"
           f"    int code = bk_proto_reply_code{'_caps' if cap_results(proto) else ''}(m, label, "
           f"words, {'caps, ' if cap_results(proto) else ''}{p}_error_length);\n"
           "    if (code == 0)\n        return 0;\n"
           f"    if (!{p}_error_unpack(m, code, &e))\n"
           "        return fault(err, label, BK_PROTO_ERR_BAD_REPLY, BK_MSGINFO_LABEL(m->info),\n"
           "                     BK_MSGINFO_LENGTH(m->info));\n"
           "    if (err)\n        *err = e;\n    return code;\n}\n\n"]
    for m in proto["methods"]:
        out.append(gen_client_method(proto, m))
    return "".join(out)


def cap_results(proto):
    """True if a method of the protocol answers with a capability."""
    return any(t == "cap" for m in proto["methods"] for t, _ in m["results"])


def reply_code_head(proto):
    """The client's reply check takes the capability count only in a
    protocol that has a method answering with one (the others' generated
    code stays as it was)."""
    p = P(proto)
    if not cap_results(proto):
        return (f"/* 0 if `m` is the success reply of `label` with `words` words, else the\n"
                f" * error it carries, its numbers in *err. */\n"
                f"static int reply_code(const struct bk_msg *m, uint64_t label, unsigned words, "
                f"struct {p}_error *err)\n{{\n")
    return (f"/* 0 if `m` is the success reply of `label` with `words` words and `caps`\n"
            f" * capabilities, else the error it carries, its numbers in *err. */\n"
            f"static int reply_code(const struct bk_msg *m, uint64_t label, unsigned words, "
            f"unsigned caps,\n                      struct {p}_error *err)\n{{\n")


def gen_client_method(proto, m):
    u = U(proto)
    label = f"{u}_LABEL_{m['name'].upper()}"
    caps = [n for t, n in m["args"] if t == "cap"]
    out = [client_signature(proto, m) + "\n{\n",
           f"    struct bk_msg msg = {{ .info = BK_MSGINFO({words(m['args'])}, {len(caps)}, 0, "
           f"{label}) }}, *m = &msg;\n"]
    for i, (t, n, at) in enumerate(layout(m["args"])):
        if name_max(t):
            out.append(f"    if (!bk_proto_name_fits({n}, {name_max(t)}))\n"
                       f"        return fault(err, {label}, BK_PROTO_ERR_BAD_VALUE, {i}, 0);\n")
    for t, n, at in layout(m["args"]):
        if t == "cap":
            out.append(f"    bk_ipc_buffer->caps[0] = {n};\n")
        else:
            out.append("    " + pack_stmt(t, n, at) + "\n")
    landing = [n for t, n in m["results"] if t == "cap"]
    caps_arg = f"{len(landing)}, " if cap_results(proto) else ""
    if landing:
        out.append(f"    struct bk_proto_receive saved = bk_proto_receive_at({landing[0]}_slot);\n")
    out.append("    sys_call(server, m);\n")
    if not m["results"]:
        return "".join(out) + f"    return reply_code(m, {label}, 0, {caps_arg}err);\n}}\n\n"
    out.append(f"    int code = reply_code(m, {label}, {words(m['results'])}, {caps_arg}err);\n")
    if landing:
        out.append(f"    bk_proto_receive_done(&saved, {landing[0]}_slot, m, code == 0);\n")
    out.append("    if (code != 0)\n        return code;\n")
    for t, n, at in layout(m["results"]):
        if t == "cap":
            continue
        bad = (f"return fault(err, {label}, BK_PROTO_ERR_BAD_REPLY, {label}, "
               f"{words(m['results'])});")
        if name_max(t):
            out += unpack_stmts(t, n, at, 4, bad)
        else:
            out += unpack_stmts(t, f"*{n}", at, 4, bad)
    out.append("    return 0;\n}\n\n")
    return "".join(out)


# ---- The server ---------------------------------------------------------------------

def handler_signature(proto, m):
    p = P(proto)
    params = [f"struct {p}_call *call"] + [c_param(t, n, "handler") for t, n in m["args"]]
    params += [c_param(t, n, "handler_out") for t, n in m["results"]]
    return wrap_call(f"int {p}_handle_{m['name']}(", params, ")").rstrip("\n")


def gen_server_h(proto):
    p, u = P(proto), U(proto)
    out = [note(proto),
           f"/* {display_protocol(proto)}: the server side. The server implements one handler per\n"
           f" * method ({p}_handle_<method>) and runs {p}_dispatch() on each message it\n"
           " * receives (docs/servers.md). */\n"
           f"#pragma once\n\n#include <protocols/{p}.h>\n\n",
           f"/* One request as a handler sees it. */\nstruct {p}_call {{\n"
           "    uint64_t badge;                       /* who asked: the badge of its endpoint cap */\n"
           "    const struct bk_proto_server *server; /* server->state: the server's own */\n"
           f"    struct {p}_error error; /* filled by {p}_fail_*() */\n}};\n\n",
           f"/* Handles the request in `m` (received with its badge) and leaves the reply\n"
           f" * in `m` for ReplyRecv. A request of the wrong label, length, capability\n"
           f" * count or argument values gets an error reply and reaches no handler; a\n"
           f" * capability left in the receive slot is deleted. */\n"
           f"void {p}_dispatch(const struct bk_proto_server *server, struct bk_msg *m);\n\n",
           "/* The handlers, one per method: 0 on success (results written), or the\n"
           f" * value of a {p}_fail_*() call the method lists. Name arguments are\n"
           " * NUL-terminated and checked; a cap argument arrives as the receive slot:\n"
           " * move it away to keep it. */\n"]
    for m in proto["methods"]:
        out.append(method_doc(proto, m, "server") + handler_signature(proto, m) + ";\n\n")
    for e in proto["errors"]:
        out.append(gen_fail(proto, e))
    return "".join(out)


def gen_fail(proto, e):
    p, u = P(proto), U(proto)
    params = [f"struct {p}_call *call"] + [c_param(t, n, "handler") for t, n in e["fields"]]
    out = [wrap_comment(f"Fails the request with {u}_ERR_{e['name'].upper()}: \"{e['message']}\"."),
           wrap_call(f"static inline int {p}_fail_{e['name']}(", params, ")") + "{\n",
           f"    call->error.code = {u}_ERR_{e['name'].upper()};\n"]
    for t, n in e["fields"]:
        if name_max(t):
            out.append(f"    bk_proto_copy_name(call->error.{e['name']}.{n}, {n}, {name_max(t)});\n")
        else:
            out.append(f"    call->error.{e['name']}.{n} = {n};\n")
    out.append(f"    return {u}_ERR_{e['name'].upper()};\n}}\n\n")
    return "".join(out)


def gen_server_c(proto):
    p, u = P(proto), U(proto)
    out = [note(proto), f"/* {display_protocol(proto)}: the dispatch. Every request is checked "
           "in this order before its\n * handler runs: the label, the exact word count, the "
           "capability count (none\n * arriving as a badge), then each argument's value. */\n"
           f"#include <protocols/{p}_server.h>\n\n"]
    for m in proto["methods"]:
        out.append(gen_serve_method(proto, m))
    out.append(f"void {p}_dispatch(const struct bk_proto_server *server, struct bk_msg *m)\n{{\n"
               "    uint64_t info = m->info;\n"
               f"    struct {p}_call call = {{ .badge = m->badge, .server = server }};\n"
               "    int code;\n    switch (BK_MSGINFO_LABEL(info)) {\n")
    for m in proto["methods"]:
        out.append(f"    case {u}_LABEL_{m['name'].upper()}:\n"
                   f"        code = serve_{m['name']}(&call, m);\n        break;\n")
    out.append("    default:\n        code = bk_proto_fault(&call.error.proto, "
               "BK_PROTO_ERR_UNKNOWN_METHOD, BK_MSGINFO_LABEL(info), 0, 0);\n        break;\n"
               "    }\n    bk_proto_server_done(server, info);\n"
               "    if (code != 0) {\n        call.error.code = code;\n"
               f"        {p}_error_pack(m, &call.error);\n    }}\n}}\n")
    return "".join(out)


def gen_serve_method(proto, m):
    p, u = P(proto), U(proto)
    caps = sum(t == "cap" for t, _ in m["args"])
    label = f"{u}_LABEL_{m['name'].upper()}"
    out = [f"static int serve_{m['name']}(struct {p}_call *call, struct bk_msg *m)\n{{\n"]
    for t, n in m["args"] + m["results"]:
        if name_max(t):
            out.append(f"    char {n}[{name_max(t) + 1}];\n")
    for t, n in m["results"]:
        if t == "cap":
            out.append(f"    bk_cptr_t {n} = 0;\n")
        elif not name_max(t):
            out.append(f"    {SCALARS[t][0]} {n} = {'false' if t == 'bool' else '0'};\n")
    out.append(f"    int code = bk_proto_check_shape(m, {words(m['args'])}, {caps}, "
               "&call->error.proto);\n    if (code != 0)\n        return code;\n")
    for i, (t, n, at) in enumerate(layout(m["args"])):
        if t == "cap":
            continue
        bad = f"return bk_proto_fault(&call->error.proto, BK_PROTO_ERR_BAD_VALUE, {i}, 0, 0);"
        out += unpack_stmts(t, n, at, 4, bad, declare=True)
    for t, n in m["results"]:
        if name_max(t):
            out.append(f"    {n}[0] = 0;\n")
    args = ["call"] + [("call->server->recv_index" if t == "cap" else n) for t, n in m["args"]]
    args += [(n if name_max(t) else f"&{n}") for t, n in m["results"]]
    out.append(f"    code = {p}_handle_{m['name']}({', '.join(args)});\n")
    allowed = "".join(f" && code != {u}_ERR_{e.upper()}" for e in m["errors"])
    out.append(f"    if (code != 0{allowed})\n"
               "        return bk_proto_fault(&call->error.proto, BK_PROTO_ERR_SERVER, "
               "(uint64_t)code, 0, 0);\n")
    if m["errors"]:
        out.append("    if (code != 0)\n        return code;\n")
    for t, n, at in layout(m["results"]):
        if t == "cap":
            out.append(f"    bk_ipc_buffer->caps[0] = {n};\n")
            continue
        if name_max(t):
            out.append(f"    {n}[{name_max(t)}] = 0;\n"
                       f"    bk_proto_copy_name({n}, {n}, {name_max(t)});\n")
        out.append("    " + pack_stmt(t, n, at) + "\n")
    caps = sum(t == "cap" for t, _ in m["results"])
    out.append(f"    m->info = BK_MSGINFO({words(m['results'])}, {caps}, 0, {label});\n"
               "    return 0;\n}\n\n")
    return "".join(out)


# ---- The reference ------------------------------------------------------------

def plural(n, what):
    if n == 1:
        return f"1 {what}"
    return f"{n} {what[:-1] + 'ies' if what.endswith('y') else what + 's'}"


def md_type(t):
    if t == "cap":
        return "capability"
    if name_max(t):
        return f"name of at most {name_max(t)} characters"
    return t


def md_fields(fields, empty):
    if not fields:
        return empty + "\n\n"
    rows = ["| word | name | type |\n|---|---|---|\n"]
    for t, n, at in layout(fields):
        if t == "cap":
            where = "cap 0"
        else:
            w = type_words(t, n)
            where = f"{at}" if w == 1 else f"{at}-{at + w - 1}"
        rows.append(f"| {where} | `{n}` | {md_type(t)} |\n")
    return "".join(rows) + "\n"


def gen_markdown(proto):
    p, u, info = P(proto), U(proto), proto["protocol"]
    name = display_protocol(proto)
    out = [f"# Protocol: {name}\n\n",
           f"<!-- Generated by tools/protogen.py from {proto['source']}; a test checks\n"
           f"     that this file matches. Edit the description, rebuild, and copy\n"
           f"     build/<preset>/gen/proto/{p}.md here. -->\n\n",
           f"{info['doc']}\n\n",
           f"Protocol id `0x{info['id']:x}`: a request's label is `0x{info['id']:x}0000 | number`; "
           f"the success reply has the same label, an error reply `0x{info['id']:x}8000 | code` "
           "with the error's numbers as its words (`docs/servers.md` has the wire format). "
           f"Client stubs: `<protocols/{p}_client.h>`; handlers and dispatch: "
           f"`<protocols/{p}_server.h>`.\n\n## Methods\n\n"
           "| label | method | client stub | handler | description |\n|---|---|---|---|---|\n"]
    for m in proto["methods"]:
        out.append(f"| `0x{info['id']:x}{m['number']:04x}` | {name}: {display(m)} | "
                   f"`{p}_{m['name']}()` | `{p}_handle_{m['name']}()` | "
                   f"{m['doc'].split('. ')[0].rstrip('.')}. |\n")
    for m in proto["methods"]:
        out.append(f"\n### {name}: {display(m)}\n\n"
                   f"Label `0x{info['id']:x}{m['number']:04x}`; client `{p}_{m['name']}()`, "
                   f"handler `{p}_handle_{m['name']}()`.\n\n{m['doc']}\n\n")
        caps = sum(t == "cap" for t, _ in m["args"])
        if m["args"]:
            out.append(f"Arguments ({plural(words(m['args']), 'word')}"
                       + (f", {plural(caps, 'capability')}: the client's endpoint capability "
                          "needs the grant right" if caps else "") + "):\n\n")
            out.append(md_fields(m["args"], ""))
        else:
            out.append("No arguments.\n\n")
        caps = sum(t == "cap" for t, _ in m["results"])
        if m["results"]:
            out.append(f"Results ({plural(words(m['results']), 'word')}"
                       + (f", {plural(caps, 'capability')}: the client's endpoint capability "
                          "needs the grant-reply right" if caps else "") + "):\n\n")
            out.append(md_fields(m["results"], ""))
        else:
            out.append("No results.\n\n")
        errs = ", ".join(f"`{u}_ERR_{e.upper()}`" for e in m["errors"]) or "none of its own"
        out.append(f"Errors: {errs}.\n")
    out.append("\n## Errors\n\n| code | name | numbers | message |\n|---|---|---|---|\n")
    for e in proto["errors"]:
        nums = ", ".join(f"{n} ({md_type(t)})" for t, n in e["fields"]) or "none"
        out.append(f"| {e['code']} | `{u}_ERR_{e['name'].upper()}` | {nums} | "
                   f"`{e['message'].replace('|', '&#124;')}` |\n")
    out.append("\nEvery method can also fail with the shared errors (`BK_PROTO_ERR_*`, "
               "`<bulkhead/proto.h>`): a request of an unknown label, the wrong number of "
               "words or capabilities, or an invalid argument value is refused by the "
               "generated dispatch before any handler runs; the client stub reports a failed "
               "Call and a reply that fits no answer.\n")
    return "".join(out)


# ---- Output --------------------------------------------------------------------

def write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        return
    path.write_text(text)


def generate(proto, out):
    p = P(proto)
    inc = out / "include" / "protocols"
    write_if_changed(inc / f"{p}.h", gen_common_h(proto))
    write_if_changed(inc / f"{p}_client.h", gen_client_h(proto))
    write_if_changed(inc / f"{p}_server.h", gen_server_h(proto))
    write_if_changed(out / f"{p}.c", gen_common_c(proto))
    write_if_changed(out / f"{p}_client.c", gen_client_c(proto))
    write_if_changed(out / f"{p}_server.c", gen_server_c(proto))
    write_if_changed(out / f"{p}.md", gen_markdown(proto))


def method(proto, name):
    return next(m for m in proto["methods"] if m["name"] == name)


def error(proto, name):
    return next(e for e in proto["errors"] if e["name"] == name)


# Broken copies of a description, and what protogen must say about each.
SELF_TESTS = [
    ("a duplicate method", lambda p: p["methods"].append(copy.deepcopy(p["methods"][0])),
     "duplicate method name"),
    ("two methods with one number",
     lambda p: p["methods"][1].update(number=p["methods"][0]["number"]), "duplicate method number"),
    ("an unknown argument type", lambda p: p["methods"][0]["args"].append(["float", "x"]),
     "unknown type 'float'"),
    ("an unknown result type", lambda p: p["methods"][0].setdefault("results", []).append(["u16", "y"]),
     "unknown type 'u16'"),
    ("too many words for a message",
     lambda p: p["methods"][0]["args"].extend([["u64", f"w{i}"] for i in range(121)]),
     "too many words for a message"),
    ("results too long for a message",
     lambda p: p["methods"][0].setdefault("results", []).append(["name[1000]", "big"]),
     "a name holds 1 to 256"),
    ("two cap arguments",
     lambda p: p["methods"][0]["args"].extend([["cap", "c1"], ["cap", "c2"]]), "at most 1"),
    ("two cap results",
     lambda p: p["methods"][0].setdefault("results", []).extend([["cap", "c1"], ["cap", "c2"]]),
     "at most 1"),
    ("a cap in an error", lambda p: p["errors"][0]["fields"].append(["cap", "c"]),
     "an error reply carries none"),
    ("an error code in the shared range", lambda p: p["errors"][0].update(code=5),
     "code must be an integer from 32"),
    ("two errors with one code",
     lambda p: p["errors"][1].update(code=p["errors"][0]["code"]), "duplicate error code"),
    ("a method listing an unknown error",
     lambda p: p["methods"][0].setdefault("errors", []).append("no_such"), "unknown error 'no_such'"),
    ("a message naming no field",
     lambda p: p["errors"][0].update(message=p["errors"][0]["message"] + " {nothing}"),
     "not a field"),
    ("a field the message leaves out",
     lambda p: p["errors"][0].setdefault("fields", []).append(["u64", "forgotten"]),
     "field 'forgotten' does not appear"),
    ("a size format on a name", lambda p: p["errors"][0].update(
        fields=[["name[8]", "who"]], message="{who:size}"), "only u64 and u32"),
    ("an argument name that is not an identifier",
     lambda p: p["methods"][0]["args"].append(["u64", "Bad-Name"]), "lower-case C identifier"),
    ("a protocol id too large", lambda p: p["protocol"].update(id=0x10000), "id must be"),
    ("a method number of 0", lambda p: p["methods"][0].update(number=0), "number must be"),
    ("a misspelt key", lambda p: p["methods"][0].update(argz=[]), "unknown key argz"),
]


def with_spares(proto):
    """The description with two more methods and errors in front, so that
    every broken copy below can be made from any protocol."""
    methods, errors = proto["methods"], proto.get("errors", [])
    number = max(m.get("number", 0) for m in methods)
    code = max([e.get("code", 0) for e in errors] + [FIRST_CODE])
    spare_methods = [{"name": f"self_test_{i}", "number": number + 1 + i, "doc": "x",
                      "args": [["u64", "a"]]} for i in range(2)]
    spare_errors = [{"name": f"self_test_{i}", "code": code + 1 + i, "doc": "x",
                     "fields": [["u64", "n"]], "message": "{n}"} for i in range(2)]
    proto["methods"] = spare_methods + methods
    proto["errors"] = spare_errors + errors
    return proto


def self_test(path, limits):
    """Each check must refuse its broken copy with its own message."""
    with open(path, "rb") as f:
        good = tomllib.load(f)
    check(copy.deepcopy(good), path, limits)
    good = with_spares(good)
    failed = 0
    for what, breaks, expected in SELF_TESTS:
        proto = copy.deepcopy(good)
        breaks(proto)
        try:
            check(proto, path, limits)
            said = "accepted"
        except SystemExit as e:
            said = str(e.code)
        ok = expected in said
        failed += not ok
        print(f"{'ok' if ok else 'FAILED'}: {what}: {said}")
    print(f"{len(SELF_TESTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    args = argv[1:]
    if len(args) < 2 or args[0] != "--abi":
        sys.exit(__doc__)
    limits = abi_limits(args[1])
    rest = args[2:]
    if len(rest) == 2 and rest[0] == "--self-test":
        sys.exit(self_test(rest[1], limits))
    if len(rest) != 2:
        sys.exit(__doc__)
    proto = load(rest[0], limits)
    proto["source"] = source_name(rest[0])
    generate(proto, pathlib.Path(rest[1]))


if __name__ == "__main__":
    main(sys.argv)
