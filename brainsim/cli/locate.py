"""Where each key of a TOML file is: `key_lines(text)` maps key paths to 1-based line numbers.

`tomllib` parses a file into plain dicts and lists and keeps no positions, so config errors
could not name a line. This module reads the text a second time, after `tomllib` has accepted
it, and follows only what decides a key's path: table headers (`[a.b]`), array-of-tables
headers (`[[a]]`, each one a new element), dotted keys (`a.b = 1`), inline tables
(`a = { b = 1 }`) and arrays (`a = [{ b = 1 }, ...]`, possibly over several lines). Strings
(basic, literal and multi-line) and comments are skipped whole, so a `[` or `=` inside them
changes nothing. Because the syntax is already known to be valid, the reader needs no error
handling of its own; it never decides what a value is, only where it starts.

A path is a tuple of keys and array indices, as the parsed data is indexed:
`("projections", 1, "weight")` is `data["projections"][1]["weight"]`. Every table also gets
the line of its header (or of the first key that created it), so an error about a missing
key can point at the table.
"""

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_VALUE_END = frozenset(" \t\r\n,]}#")


def key_lines(text: str) -> dict[tuple, int]:
    """Line (1-based) of every key, table and array-of-tables element in valid TOML `text`.

    **Arguments:**
    - `text`: the document; it must already parse with `tomllib`.

    **Returns:** `{path: line}`, with `path` a tuple of `str` keys and `int` array indices.
    """
    return _Reader(text).read()


class _Reader:
    """A cursor over the text that records paths as it passes keys and headers."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.lines: dict[tuple, int] = {}
        self.array_counts: dict[tuple, int] = {}  # concrete path of a [[table]] -> elements so far
        self.table: tuple = ()

    # -- positions -----------------------------------------------------------------------------
    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def record(self, path: tuple, line: int) -> None:
        for end in range(1, len(path) + 1):  # parents created implicitly point here too
            self.lines.setdefault(path[:end], line)

    # -- skipping ------------------------------------------------------------------------------
    def skip_blank(self, newlines: bool) -> None:
        """Spaces, tabs and comments; also newlines if `newlines`."""
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self.pos += 1
            elif c == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def skip_string(self) -> str:
        """Skip the string at the cursor and return its contents (escapes left as written)."""
        for quote in ('"""', "'''"):
            if self.peek(3) == quote:
                start = self.pos + 3
                end = self.text.find(quote, start)
                while quote == '"""' and end > 0 and _escaped(self.text, end):
                    end = self.text.find(quote, end + 1)
                end = len(self.text) if end < 0 else end
                while self.text[end + 3 : end + 4] == quote[0]:  # up to two quotes may close it
                    end += 1
                self.pos = end + 3
                return self.text[start:end]
        quote = self.text[self.pos]
        start = self.pos + 1
        end = start
        while end < len(self.text) and self.text[end] != quote:
            end += 2 if quote == '"' and self.text[end] == "\\" else 1
        self.pos = end + 1
        return self.text[start:end]

    # -- grammar -------------------------------------------------------------------------------
    def read(self) -> dict[tuple, int]:
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return self.lines
            if self.peek(2) == "[[":
                self.header(array=True)
            elif self.peek() == "[":
                self.header(array=False)
            else:
                line = self.line()
                keys = self.key()
                self.record(self.table + keys, line)
                self.value(self.table + keys)

    def header(self, array: bool) -> None:
        line = self.line()
        self.pos += 2 if array else 1
        names = self.key()
        self.skip_blank(newlines=False)
        self.pos += 2 if array else 1
        path = self.resolve(names[:-1]) + (names[-1],)
        if array:
            index = self.array_counts.get(path, 0)
            self.array_counts[path] = index + 1
            path = path + (index,)
        self.table = path
        self.record(path, line)

    def resolve(self, names: tuple) -> tuple:
        """A header's dotted names as a concrete path: an array of tables means its last element."""
        path: tuple = ()
        for name in names:
            path = path + (name,)
            if path in self.array_counts:
                path = path + (self.array_counts[path] - 1,)
        return path

    def key(self) -> tuple:
        """A possibly dotted, possibly quoted key, up to and excluding `=` or `]`."""
        names = []
        while True:
            self.skip_blank(newlines=False)
            if self.peek() in ('"', "'"):
                names.append(self.skip_string())
            else:
                start = self.pos
                while self.pos < len(self.text) and self.text[self.pos] in _BARE_KEY:
                    self.pos += 1
                names.append(self.text[start : self.pos])
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                break
            self.pos += 1
        if self.peek() == "=":
            self.pos += 1
        return tuple(names)

    def value(self, path: tuple) -> None:
        """Skip one value, recording the keys of inline tables inside it."""
        self.skip_blank(newlines=False)
        c = self.peek()
        if c == "{":
            self.pos += 1
            while True:
                self.skip_blank(newlines=False)
                if self.peek() == "}":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    continue
                line = self.line()
                keys = self.key()
                self.record(path + keys, line)
                self.value(path + keys)
        elif c == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    index += 1
                    continue
                self.record(path + (index,), self.line())
                self.value(path + (index,))
        elif c in ('"', "'"):
            self.skip_string()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in _VALUE_END:
                self.pos += 1
            # a date-time may contain one space ("1979-05-27 07:32:00"): the next token is a value
            if self.peek() == " " and self.text[self.pos + 1 : self.pos + 2].isdigit():
                self.pos += 1
                self.value(path)


def _escaped(text: str, index: int) -> bool:
    """Whether the character at `index` is escaped by an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1
