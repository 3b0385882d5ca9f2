"""The subset of pyfdt's API that seL4's tools/hardware uses, on the standard
library: parse a flattened device tree blob (DTB, version 17) into nodes and
properties, with properties typed the way pyfdt types them (empty, strings,
32-bit words, or bytes).

  FdtBlobParse(file).to_fdt().get_rootnode() -> FdtNode
  FdtNode: get_name(), iteration over its properties and subnodes,
           walk() -> (path, item) for every property and node below it
  FdtProperty: get_name(); FdtPropertyStrings.strings,
           FdtPropertyWords.words, FdtPropertyBytes.bytes
"""
import struct

FDT_MAGIC = 0xd00dfeed
FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END = 1, 2, 3, 4, 9


class FdtProperty:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class FdtPropertyStrings(FdtProperty):
    def __init__(self, name, strings):
        super().__init__(name)
        self.strings = strings


class FdtPropertyWords(FdtProperty):
    def __init__(self, name, words):
        super().__init__(name)
        self.words = words


class FdtPropertyBytes(FdtProperty):
    def __init__(self, name, data):
        super().__init__(name)
        self.bytes = data


class FdtNode:
    def __init__(self, name):
        self.name = name
        self.items = []

    def get_name(self):
        return self.name

    def __iter__(self):
        return iter(self.items)

    def walk(self, path=""):
        """(path, item) for each property and subnode, depth first, as pyfdt."""
        for item in self.items:
            item_path = f"{path}/{item.get_name()}"
            yield item_path, item
            if isinstance(item, FdtNode):
                yield from item.walk(item_path)


class Fdt:
    def __init__(self, root):
        self.root = root

    def get_rootnode(self):
        return self.root


def is_strings(data):
    """pyfdt's rule: NUL-terminated, non-empty, printable pieces."""
    if not data or data[-1] != 0:
        return False
    pieces = data[:-1].split(b"\0")
    return all(p and all(0x20 <= c < 0x7f for c in p) for p in pieces)


def make_property(name, data):
    if not data:
        return FdtProperty(name)
    if is_strings(data):
        return FdtPropertyStrings(name, [p.decode() for p in data[:-1].split(b"\0")])
    if len(data) % 4 == 0:
        return FdtPropertyWords(name, list(struct.unpack(f">{len(data) // 4}I", data)))
    return FdtPropertyBytes(name, list(data))


class FdtBlobParse:
    def __init__(self, blob_file):
        blob = blob_file.read()
        magic, _, off_struct, off_strings = struct.unpack(">4I", blob[:16])
        if magic != FDT_MAGIC:
            raise ValueError(f"not a device tree blob (magic {magic:#x})")
        self.blob, self.pos, self.strings = blob, off_struct, off_strings
        self.root = None

    def word(self):
        (v,) = struct.unpack(">I", self.blob[self.pos:self.pos + 4])
        self.pos += 4
        return v

    def cstring(self, at):
        return self.blob[at:self.blob.index(b"\0", at)].decode()

    def to_fdt(self):
        stack = []
        while True:
            token = self.word()
            if token == FDT_BEGIN_NODE:
                name = self.cstring(self.pos)
                self.pos = (self.pos + len(name) + 1 + 3) & ~3
                node = FdtNode(name if stack else "/")
                if stack:
                    stack[-1].items.append(node)
                else:
                    self.root = node
                stack.append(node)
            elif token == FDT_END_NODE:
                stack.pop()
            elif token == FDT_PROP:
                size, name_off = self.word(), self.word()
                data = self.blob[self.pos:self.pos + size]
                self.pos = (self.pos + size + 3) & ~3
                stack[-1].items.append(make_property(self.cstring(self.strings + name_off), data))
            elif token == FDT_END:
                return Fdt(self.root)
            elif token != FDT_NOP:
                raise ValueError(f"device tree blob: unknown token {token}")
