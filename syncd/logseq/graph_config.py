"""``logseq/config.edn``: the graph settings that change how pages are converted (section 8).

The file is EDN as Logseq's own reader (``cljs.reader``, i.e. tools.reader.edn) accepts it.
``edn_format`` is not used for reading: it rejects or misreads forms that occur in real
config files (``#_#_ :key value``, the idiom for commenting out one map entry; ``#js``/``#queue``
and other tagged literals; ``#"regex"`` literals; ``:a/b/c``), and its errors give a lexer
offset instead of a line. The small reader below covers the whole EDN syntax plus those
extras; the tests cross-check it against ``edn_format`` on generated data.

Reader output: maps -> ``dict``, vectors and lists -> ``tuple``, sets -> ``frozenset``,
keywords -> :class:`Keyword`, symbols -> :class:`Symbol`, strings and characters -> ``str``,
integers -> ``int``, decimals -> ``float``, ``nil`` -> ``None``. Tagged literals keep only their
value (``#inst "2020-01-01"`` -> ``"2020-01-01"``); ``#"re"`` reads as the string ``"re"``;
``^meta`` is dropped. A map or vector used as a map key or set member is frozen into a tuple.
Duplicate map keys keep the last value (tools.reader would refuse the file; we warn).

Only :func:`load_graph_config` touches the file system.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from syncd.errors import SyncdError
from syncd.logseq.dates import DEFAULT_FILE_NAME_FORMAT, DEFAULT_TITLE_FORMAT, compile_format

log = logging.getLogger(__name__)

FileNameFormat = Literal["triple-lowbar", "legacy"]
CONFIG_PATH = Path("logseq") / "config.edn"


# --- EDN -------------------------------------------------------------------------------------


@dataclass(slots=True, unsafe_hash=True)
class Keyword:
    """``:file/name-format`` is ``Keyword("file/name-format")``."""

    name: str

    def __str__(self) -> str:
        return f":{self.name}"


@dataclass(slots=True, unsafe_hash=True)
class Symbol:
    name: str

    def __str__(self) -> str:
        return self.name


class EdnError(SyncdError):
    """Unreadable EDN. ``reason`` says what is wrong; ``line`` and ``column`` are 1-based."""

    def __init__(self, reason: str, line: int, column: int, path: Path | None = None) -> None:
        super().__init__(f"{reason} (line {line}, column {column})", path)
        self.reason = reason
        self.line = line
        self.column = column


_WHITESPACE = frozenset(" \t\n\r\f\v,")
_DELIMITERS = _WHITESPACE | frozenset('()[]{}";')
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_STRING_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "\\": "\\", '"': '"', "b": "\b", "f": "\f"}
_NAMED_CHARS = {
    "newline": "\n",
    "space": " ",
    "tab": "\t",
    "return": "\r",
    "formfeed": "\f",
    "backspace": "\b",
}
_INT = re.compile(r"[+-]?(?:0|[1-9]\d*)N?")
_HEX = re.compile(r"([+-]?)0[xX]([0-9a-fA-F]+)N?")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?")
_RATIO = re.compile(r"([+-]?\d+)/(\d+)")
_SPECIAL_FLOATS = {"Inf": float("inf"), "-Inf": float("-inf"), "NaN": float("nan")}


@dataclass(slots=True, unsafe_hash=True)
class _Close:
    """A closing bracket, seen where a form may end a collection."""

    char: str
    pos: int


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # errors and positions

    def error(self, message: str, pos: int | None = None) -> EdnError:
        at = self.pos if pos is None else pos
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return EdnError(message, line, column)

    def skip_space(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch in _WHITESPACE:
                self.pos += 1
            elif ch == ";" or text.startswith("#!", self.pos):
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end + 1
            else:
                return

    # forms

    def next_form(self) -> object:
        """The next form, a ``_Close`` for a closing bracket, or raise at end of input."""
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                raise self.error("unexpected end of input")
            if self.text.startswith("#_", self.pos):
                self.pos += 2
                self.required_form("a form to discard after #_")
                continue
            return self.form()

    def required_form(self, what: str) -> object:
        value = self.next_form()
        if isinstance(value, _Close):
            raise self.error(f"expected {what}, found {value.char!r}", value.pos)
        return value

    def form(self) -> object:
        text, start = self.text, self.pos
        ch = text[start]
        if ch in _CLOSERS:
            self.pos += 1
            items = self.collection(_CLOSERS[ch], start)
            return self.make_map(items, start) if ch == "{" else tuple(items)
        if ch in ")]}":
            self.pos += 1
            return _Close(ch, start)
        if ch == '"':
            return self.string()
        if ch == "\\":
            return self.character()
        if ch == "#":
            return self.dispatch()
        if ch == "^":  # metadata: read and drop it
            self.pos += 1
            self.required_form("metadata after ^")
            return self.required_form("a form after metadata")
        return self.atom(self.token(), start)

    def collection(self, closer: str, start: int) -> list[object]:
        items: list[object] = []
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                raise self.error(f"unclosed {self.text[start]!r}", start)
            value = self.next_form()
            if isinstance(value, _Close):
                if value.char != closer:
                    raise self.error(f"expected {closer!r}, found {value.char!r}", value.pos)
                return items
            items.append(value)

    def make_map(self, items: list[object], start: int) -> dict[object, object]:
        if len(items) % 2:
            raise self.error("a map needs an even number of forms", start)
        result: dict[object, object] = {}
        for key, value in zip(items[::2], items[1::2], strict=True):
            frozen = _freeze(key)
            if frozen in result:
                line = self.text.count("\n", 0, start) + 1
                log.warning(
                    "duplicate key %s in the map opened on line %d: last one wins", key, line
                )
            result[frozen] = value
        return result

    def dispatch(self) -> object:
        text, start = self.text, self.pos
        nxt = text[start + 1 : start + 2]
        if nxt == "{":
            self.pos += 2
            return frozenset(_freeze(item) for item in self.collection("}", start))
        if nxt == '"':  # regex literal: its source, escapes untouched
            self.pos += 1
            return self.string(raw=True)
        if nxt == "#":
            self.pos += 2
            name = self.token()
            if name not in _SPECIAL_FLOATS:
                raise self.error(f"unknown symbolic value ##{name}", start)
            return _SPECIAL_FLOATS[name]
        if nxt and nxt.isalpha():  # tagged literal: keep the value, drop the tag
            self.pos += 1
            self.token()
            return self.required_form("a value after the tag")
        raise self.error(f"unsupported reader macro #{nxt}", start)

    def token(self) -> str:
        text, start, n = self.text, self.pos, len(self.text)
        end = start
        while end < n and text[end] not in _DELIMITERS:
            end += 1
        self.pos = end
        return text[start:end]

    def atom(self, tok: str, start: int) -> object:
        if not tok:
            raise self.error(f"unexpected character {self.text[start]!r}", start)
        if tok == "nil":
            return None
        if tok in ("true", "false"):
            return tok == "true"
        if tok[0] == ":":
            if tok in (":", "::"):
                raise self.error("empty keyword", start)
            return Keyword(tok[2:] if tok[1] == ":" else tok[1:])
        digits = tok[1:] if tok[0] in "+-" else tok
        if digits[:1].isdigit():
            return self.number(tok, start)
        return Symbol(tok)

    def number(self, tok: str, start: int) -> int | float:
        if _INT.fullmatch(tok):
            return int(tok.rstrip("N"))
        hex_match = _HEX.fullmatch(tok)
        if hex_match:
            value = int(hex_match.group(2), 16)
            return -value if hex_match.group(1) == "-" else value
        if _FLOAT.fullmatch(tok):
            return float(tok.rstrip("M"))
        ratio = _RATIO.fullmatch(tok)
        if ratio and int(ratio.group(2)):
            return int(ratio.group(1)) / int(ratio.group(2))
        raise self.error(f"invalid number {tok!r}", start)

    def string(self, *, raw: bool = False) -> str:
        text, start, n = self.text, self.pos, len(self.text)
        out: list[str] = []
        i = start + 1
        while i < n:
            ch = text[i]
            if ch == '"':
                self.pos = i + 1
                return "".join(out)
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            esc = text[i + 1 : i + 2]
            if raw:
                out.append(text[i : i + 2])
                i += 2
            elif esc in _STRING_ESCAPES:
                out.append(_STRING_ESCAPES[esc])
                i += 2
            elif esc == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
            else:
                raise self.error(f"invalid escape \\{esc} in string", i)
        raise self.error("unterminated string", start)

    def character(self) -> str:
        start = self.pos
        self.pos += 1
        if self.pos >= len(self.text):
            raise self.error("character literal at end of input", start)
        # the first character is taken even if it is a delimiter (\( \space \,)
        first = self.text[self.pos]
        self.pos += 1
        name = first + self.token()
        if len(name) == 1:
            return name
        if name in _NAMED_CHARS:
            return _NAMED_CHARS[name]
        if re.fullmatch(r"u[0-9a-fA-F]{4}", name):
            return chr(int(name[1:], 16))
        if re.fullmatch(r"o[0-7]{1,3}", name):
            return chr(int(name[1:], 8))
        raise self.error(f"invalid character literal \\{name}", start)


def _freeze(value: object) -> object:
    """A hashable stand-in for ``value`` (maps become tuples of pairs)."""
    if isinstance(value, dict):
        return tuple((_freeze(k), _freeze(v)) for k, v in value.items())
    if isinstance(value, tuple):
        return tuple(_freeze(v) for v in value)
    return value


def read_edn(text: str) -> object:
    """Read the single top-level form of ``text``. Raises :class:`EdnError`."""
    reader = _Reader(text)
    try:
        value = reader.required_form("a form")
        reader.skip_space()
        while reader.text.startswith("#_", reader.pos):  # trailing discards are fine
            reader.pos += 2
            reader.required_form("a form to discard after #_")
            reader.skip_space()
        if reader.pos < len(text):
            raise reader.error("more than one top-level form")
    except RecursionError:
        raise reader.error("nested too deeply") from None
    return value


# --- GraphConfig -----------------------------------------------------------------------------


@dataclass(slots=True, unsafe_hash=True)
class GraphConfig:
    """The settings of one Logseq graph that matter for conversion (reference section 8).

    Key names in ``separated_by_commas``, ``ignored_page_reference_keywords`` and
    ``block_hidden_properties`` are lower-case, without the leading ``:``.
    """

    # Logseq's defaults for a new graph (whose config.edn gets ``:file/name-format
    # :triple-lowbar``: a graph without config.edn is modern)
    file_name_format: FileNameFormat = "triple-lowbar"
    journal_title_format: str = DEFAULT_TITLE_FORMAT
    journal_file_format: str = DEFAULT_FILE_NAME_FORMAT
    pages_directory: str = "pages"
    journals_directory: str = "journals"
    whiteboards_directory: str = "whiteboards"
    hidden: tuple[str, ...] = ()
    separated_by_commas: frozenset[str] = frozenset()
    ignored_page_reference_keywords: frozenset[str] = frozenset()
    block_hidden_properties: frozenset[str] = frozenset()
    macros: tuple[tuple[str, str], ...] = ()

    def macro(self, name: str) -> str | None:
        """The template of the user macro ``{{name ...}}``, or None."""
        return next((template for key, template in self.macros if key == name), None)


def _name(value: object) -> str | None:
    """The text of a keyword, symbol or string (other values: None)."""
    if isinstance(value, Keyword | Symbol):
        return value.name
    if isinstance(value, str):
        return value
    return None


class _Fields:
    """Reads typed values out of the config map, warning about (and skipping) bad ones."""

    def __init__(self, data: Mapping[object, object], where: str) -> None:
        self.data = data
        self.where = where

    def has(self, key: str) -> bool:
        return Keyword(key) in self.data

    def bad(self, key: str, expected: str) -> None:
        log.warning("%s: :%s should be %s; using the default", self.where, key, expected)

    def string(self, key: str, default: str) -> str:
        value = self.data.get(Keyword(key))
        if value is None:
            return default
        if isinstance(value, str) and value.strip():
            return value
        self.bad(key, "a non-empty string")
        return default

    def name(self, key: str, default: str) -> str:
        value = self.data.get(Keyword(key))
        if value is None:
            return default
        text = _name(value)
        if text:
            return text
        self.bad(key, "a keyword or a string")
        return default

    def names(self, key: str) -> tuple[str, ...]:
        value = self.data.get(Keyword(key))
        if value is None:
            return ()
        if isinstance(value, str | Keyword | Symbol):
            value = (value,)
        if not isinstance(value, tuple | frozenset):
            self.bad(key, "a vector or a set")
            return ()
        out: list[str] = []
        for item in _sorted_if_set(value):
            text = _name(item)
            if text is None:
                log.warning("%s: ignoring %r in :%s", self.where, item, key)
            else:
                out.append(text)
        return tuple(out)

    def macros(self, key: str) -> tuple[tuple[str, str], ...]:
        value = self.data.get(Keyword(key))
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.bad(key, "a map")
            return ()
        out: list[tuple[str, str]] = []
        for name, template in value.items():
            text = _name(name)
            if text is None or not isinstance(template, str):
                log.warning("%s: ignoring macro %r in :%s", self.where, name, key)
                continue
            out.append((text, template))
        return tuple(out)


def _sorted_if_set(items: Iterable[object]) -> list[object]:
    if isinstance(items, frozenset):
        return sorted(items, key=repr)  # deterministic order for warnings and tuples
    return list(items)


def _lower(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


def _date_format(fields: _Fields, key: str, default: str, fallback_key: str | None = None) -> str:
    fmt = fields.string(key, "")
    if not fmt and fallback_key:
        fmt = fields.string(fallback_key, "")
    if not fmt:
        return default
    try:
        compile_format(fmt)
    except ValueError as exc:
        log.warning("%s: :%s: %s; using %r", fields.where, key, exc, default)
        return default
    return fmt


def _file_name_format(fields: _Fields) -> FileNameFormat:
    if not fields.has("file/name-format"):
        return "legacy"  # row N3: a config.edn without the key belongs to a pre-0.8.9 graph
    value = fields.name("file/name-format", "legacy")
    if value == "triple-lowbar":
        return "triple-lowbar"
    if value != "legacy":
        log.warning(
            "%s: unknown :file/name-format %s; Logseq reads it as legacy", fields.where, value
        )
    return "legacy"


def parse_graph_config(text: str, *, path: Path | None = None) -> GraphConfig:
    """The :class:`GraphConfig` of a ``config.edn`` text; missing keys take Logseq's defaults,
    except ``:file/name-format`` (absent: "legacy", a file older than Logseq 0.8.9). Bad values
    are warned about and replaced by the default; unreadable EDN raises SyncdError."""
    reader = _Reader(text)
    reader.skip_space()
    if reader.pos >= len(text):
        return GraphConfig()
    try:
        data = read_edn(text)
    except EdnError as exc:
        reason = f"not valid EDN: {exc.reason}"
        raise EdnError(reason, exc.line, exc.column, path) from exc
    if not isinstance(data, dict):
        raise SyncdError("config.edn must hold one map {...}", path)
    fields = _Fields(data, str(path) if path is not None else "config.edn")
    return GraphConfig(
        file_name_format=_file_name_format(fields),
        journal_title_format=_date_format(
            fields, "journal/page-title-format", DEFAULT_TITLE_FORMAT, "date-formatter"
        ),
        journal_file_format=_date_format(
            fields, "journal/file-name-format", DEFAULT_FILE_NAME_FORMAT
        ),
        pages_directory=fields.string("pages-directory", "pages"),
        journals_directory=fields.string("journals-directory", "journals"),
        whiteboards_directory=fields.string("whiteboards-directory", "whiteboards"),
        hidden=fields.names("hidden"),
        separated_by_commas=_lower(fields.names("property/separated-by-commas")),
        ignored_page_reference_keywords=_lower(fields.names("ignored-page-references-keywords")),
        block_hidden_properties=_lower(fields.names("block-hidden-properties")),
        macros=fields.macros("macros"),
    )


def load_graph_config(graph_root: Path) -> GraphConfig:
    """Read ``<graph_root>/logseq/config.edn``; a graph without one gets the defaults."""
    path = graph_root / CONFIG_PATH
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        log.debug("%s: no config.edn, using Logseq's defaults", graph_root)
        return GraphConfig()
    except OSError as exc:
        raise SyncdError(f"cannot read config.edn: {exc.strerror or exc}", path) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SyncdError(f"config.edn is not UTF-8 (byte {exc.start})", path) from exc
    return parse_graph_config(text, path=path)
