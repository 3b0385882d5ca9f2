"""Where each value of a TOML file stands: line and column by key path.

Python's tomllib reads the values (and reports a syntax error with its line
and column), but it keeps no positions, and every policy error must name
line, column and field (docs/policy.md, Errors). So the policy tools read a
file twice: tomllib for the values, this scanner for the positions. The
scanner trusts tomllib to have accepted the file first; it walks the same
grammar (comments, [table] and [[array]] headers, dotted and quoted keys,
strings of the four kinds, arrays and inline tables) and records, for every
key path, where its value (or table header) starts.

A path is a tuple of keys and array indices, as the data is indexed:
("tenants", "web", "memory", "quota") or ("channels", 2, "rights", 0).
"""
import re
import tomllib

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class Scanner:
    def __init__(self, text):
        self.text = text
        self.i = 0
        self.line = 1
        self.col = 1
        self.positions = {}
        self.array_tables = {}  # path -> how many [[path]] seen

    # -- characters --------------------------------------------------------
    def peek(self, n=0):
        j = self.i + n
        return self.text[j] if j < len(self.text) else ""

    def startswith(self, s):
        return self.text.startswith(s, self.i)

    def advance(self, n=1):
        for _ in range(n):
            if self.i >= len(self.text):
                return
            if self.text[self.i] == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
            self.i += 1

    def here(self):
        return (self.line, self.col)

    def skip_blank(self, newlines):
        """Spaces, tabs, comments; newlines too when `newlines`."""
        while self.i < len(self.text):
            c = self.peek()
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                while self.i < len(self.text) and self.peek() != "\n":
                    self.advance()
            else:
                return

    # -- keys --------------------------------------------------------------
    def key_part(self):
        c = self.peek()
        if c in "\"'":
            return self.string()
        m = BARE_KEY.match(self.text, self.i)
        if not m:
            raise ValueError(f"scanner: key expected at {self.here()}")
        self.advance(len(m.group(0)))
        return m.group(0)

    def dotted_key(self):
        parts = [self.key_part()]
        self.skip_blank(False)
        while self.peek() == ".":
            self.advance()
            self.skip_blank(False)
            parts.append(self.key_part())
            self.skip_blank(False)
        return tuple(parts)

    # -- values ------------------------------------------------------------
    def string(self):
        """Reads a string of any kind; returns its value (tomllib's)."""
        for quote in ('"""', "'''", '"', "'"):
            if self.startswith(quote):
                break
        start = self.i
        self.advance(len(quote))
        literal = quote[0] == "'"
        while self.i < len(self.text):
            if not literal and self.peek() == "\\":
                self.advance(2)
                continue
            if self.startswith(quote):
                # a multi-line string may end with up to two extra quotes
                while len(quote) == 3 and self.peek(3) == quote[0]:
                    self.advance()
                self.advance(len(quote))
                break
            self.advance()
        raw = self.text[start:self.i]
        return tomllib.loads("v = " + raw)["v"]

    def value(self, path):
        self.positions.setdefault(path, self.here())
        c = self.peek()
        if c in "\"'":
            self.string()
        elif c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        else:  # number, boolean, date: up to the next separator
            while self.i < len(self.text) and self.peek() not in ",]}#\n \t\r":
                self.advance()

    def array(self, path):
        self.advance()
        index = 0
        while True:
            self.skip_blank(True)
            if self.peek() == "]":
                self.advance()
                return
            self.value(path + (index,))
            index += 1
            self.skip_blank(True)
            if self.peek() == ",":
                self.advance()

    def inline_table(self, path):
        self.advance()
        while True:
            self.skip_blank(False)
            if self.peek() == "}":
                self.advance()
                return
            key = self.dotted_key()
            self.skip_blank(False)
            self.advance()  # '='
            self.skip_blank(False)
            self.value(path + key)
            self.skip_blank(False)
            if self.peek() == ",":
                self.advance()

    # -- statements --------------------------------------------------------
    def header(self):
        at = self.here()
        double = self.startswith("[[")
        self.advance(2 if double else 1)
        self.skip_blank(False)
        key = self.dotted_key()
        self.advance(2 if double else 1)
        table = self.resolve(key)
        if double:
            n = self.array_tables.get(table, 0)
            self.array_tables[table] = n + 1
            # a new element forgets the sub-arrays of the previous one
            for k in [k for k in self.array_tables if k[:len(table)] == table and k != table]:
                del self.array_tables[k]
            self.positions.setdefault(table, at)
            table = table + (n,)
        self.positions.setdefault(table, at)
        return table

    def resolve(self, key):
        """A header's keys, with the index of each enclosing [[array]]."""
        path = ()
        for part in key:
            path += (part,)
            if path in self.array_tables and path != key:
                path += (self.array_tables[path] - 1,)
        return path

    def scan(self):
        table = ()
        while True:
            self.skip_blank(True)
            if self.i >= len(self.text):
                return self.positions
            if self.peek() == "[":
                table = self.header()
                continue
            key = self.dotted_key()
            self.skip_blank(False)
            self.advance()  # '='
            self.skip_blank(False)
            self.value(table + key)


def load(text):
    """(data, positions) of TOML text; tomllib.TOMLDecodeError if invalid."""
    data = tomllib.loads(text)
    return data, Scanner(text).scan()


def position(positions, path):
    """The position of `path`, or of its nearest enclosing value; (1, 1)."""
    path = tuple(path)
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return (1, 1)


def leaf_paths(data, path=()):
    """Every key path of a tomllib result (for the scanner's own tests)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield path + (k,)
            yield from leaf_paths(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield path + (i,)
            yield from leaf_paths(v, path + (i,))
