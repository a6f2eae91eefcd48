"""File names for vault notes: a title in, a stem every file system and Obsidian accept out.

Pure. ``sanitize_title`` is deterministic, so a re-sync finds the note it created before;
``unique_name`` picks the first free ``"stem (n)"``. No title is refused (design.md "Note path").

>>> sanitize_title("Thinking, Fast and Slow: A Summary?")
'Thinking, Fast and Slow - A Summary'
>>> sanitize_title("../../.bashrc"), sanitize_title("con.txt"), sanitize_title("// On Tides")
('bashrc', 'con_.txt', 'On Tides')
>>> sanitize_title("/var/tmp Is Not a Backup")
'var-tmp Is Not a Backup'
>>> unique_name("Notes", lambda stem: stem.lower() in {"notes", "notes (2)"})
'Notes (3)'
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import PurePosixPath

from syncd.errors import VaultWriteError

MAX_NAME_BYTES = 255  # the longest file name (in UTF-8 bytes) common file systems allow
FALLBACK_STEM = "Untitled"
MIN_MAX_BYTES = 16  # enough for FALLBACK_STEM and a reserved name with its "_"
MAX_UNIQUE_TRIES = 100_000

# Characters Windows, macOS or Linux reject in a file name, and the ones that break Obsidian
# links (``[[a#b]]`` is a heading link, ``^`` a block ref, ``[ ]`` nest links, ``|`` an alias).
_REPLACEMENTS: dict[str, str] = {
    "/": "-",
    "\\": "-",
    ":": "-",
    "|": "-",
    '"': "'",
    "[": "(",
    "]": ")",
    "*": "",
    "?": "",
    "<": "",
    ">": "",
    "#": "",
    "^": "",
}
_TRANSLATE = str.maketrans(_REPLACEMENTS)

# Invisible characters that only confuse: bidi overrides/isolates (can make "gpj.exe" look like
# "exe.jpg"), the byte-order mark, and the Unicode line/paragraph separators.
_DROP = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u200e\u200f\u061c")

# Stems Windows refuses (with or without an extension: "CON.txt" is as bad as "CON").
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")}
)

# Left behind at the end of a cut: a joiner or variation selector without what it joined.
_DANGLING_TAIL = "\u200d\u200c\ufe0e\ufe0f"


def sanitize_title(title: str, *, max_bytes: int = 240) -> str:
    """A file-name stem (without ``.md``) for ``title``: NFC, no character a file system or
    Obsidian links reject (``_REPLACEMENTS``; ``": "`` is ``" - "``), no control or invisible
    characters, single spaces, no leading ``.``, ``/``, ``\\`` or space, no trailing dot or
    space, no Windows reserved name, never empty (``"Untitled"``), at most ``max_bytes`` UTF-8
    bytes (cut on a character boundary; the caller leaves room for ``.md`` and ``" (n)"``)."""
    if max_bytes < MIN_MAX_BYTES:
        raise ValueError(f"max_bytes must be at least {MIN_MAX_BYTES}, got {max_bytes}")
    text = _clean_characters(unicodedata.normalize("NFC", title))
    text = text.lstrip("./\\ ")  # "../../x", "/etc/x", ".hidden": no leading dot or separator
    text = text.replace(": ", " - ")  # "A/B: C" -> "A-B - C", not "A-B- C"
    text = text.translate(_TRANSLATE)
    text = " ".join(text.split())  # collapse runs (all whitespace is a plain space by now)
    text = unicodedata.normalize("NFC", text)  # removals can bring a base and its accent together
    text = _trim(text)
    text = _trim(_truncate_utf8(text, max_bytes))
    if not text or all(unicodedata.category(ch) == "Cf" for ch in text):
        return FALLBACK_STEM  # nothing to see: zero-width characters only
    return _avoid_reserved(text, max_bytes)


def unique_name(
    stem: str, taken: Callable[[str], bool], *, max_bytes: int = MAX_NAME_BYTES - len(".md")
) -> str:
    """``stem``, else the first of ``"stem (2)"``, ``"stem (3)"``, … ``taken`` says is free
    (``taken`` compares ignoring case and NFC/NFD, as macOS, Windows and Obsidian do). Within
    ``max_bytes``: where the suffix would not fit, the stem is cut before it."""
    if not taken(stem):
        return stem
    for n in range(2, MAX_UNIQUE_TRIES):
        suffix = f" ({n})"
        head = stem
        if len(stem.encode("utf-8")) + len(suffix) > max_bytes:
            head = _trim(_truncate_utf8(stem, max_bytes - len(suffix)))
        candidate = head + suffix
        if not taken(candidate):
            return candidate
    raise VaultWriteError(f"no free file name for {stem!r} after {MAX_UNIQUE_TRIES} tries")


@functools.lru_cache(maxsize=1024)  # a new note's plan and its note path ask for the same one
def note_stem(title: str) -> str:
    """The stem of a new note with this title, room left for ``.md`` and `` (99)``."""
    return sanitize_title(title, max_bytes=MAX_NAME_BYTES - len(".md") - len(" (99)"))


def is_reserved_stem(stem: str) -> bool:
    """True when Windows refuses ``stem`` as a file name (``CON``, ``com1.txt``, ``Nul .md``)."""
    base = stem.split(".", 1)[0].rstrip(" ")
    return base.upper() in _RESERVED


def _clean_characters(text: str) -> str:
    """``text`` without invisible, control and unencodable characters, every space a plain one
    (printable ASCII, most titles, as it is)."""
    if text.isascii() and text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if ch in _DROP:
            continue
        if ch.isspace():
            out.append(" ")  # tabs, newlines, NBSP, U+2028 …: one kind of space
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):  # control characters, lone surrogates (not encodable)
            continue
        out.append(ch)
    return "".join(out)


def _trim(text: str) -> str:
    """No leading dot/space (hidden file), no trailing dot/space (Windows drops them)."""
    text = text.lstrip(". ")
    while True:
        stripped = text.rstrip(". ").rstrip(_DANGLING_TAIL)
        if stripped == text:
            return text
        text = stripped


def _truncate_utf8(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    # Cut at max_bytes and drop a partial trailing sequence.
    return data[:max_bytes].decode("utf-8", errors="ignore")


def _avoid_reserved(text: str, max_bytes: int) -> str:
    if not is_reserved_stem(text):
        return text
    # "CON" -> "CON_", "con.txt" -> "con_.txt": the "_" goes right after the device name,
    # because Windows looks only at the part before the first dot.
    head, dot, rest = text.partition(".")
    base = head.rstrip(" ")
    tail = head[len(base) :] + dot + rest
    room = max_bytes - len(base.encode("utf-8")) - 1
    return _trim(base + "_" + _truncate_utf8(tail, room))


@functools.lru_cache(maxsize=4096)  # a new note's path is folded about eight times, at once
def fold_name(name: str) -> str:
    """The key two names share when macOS, Windows or Obsidian see them as one file: canonical
    caseless matching (Unicode §3.13; ``ß`` == ``ss`` errs on the safe side)."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


def plain_path(note: str) -> bool:
    """Whether ``note`` has no empty or ``.`` segment (``PurePosixPath`` leaves it as it is)."""
    return not (
        note.startswith(("/", "./"))
        or note.endswith(("/", "/."))
        or "//" in note
        or "/./" in note
        or note == "."
    )


def note_name(note: str) -> str:
    """``PurePosixPath(note).name`` without building the path (for every note of a graph)."""
    if not plain_path(note):
        return PurePosixPath(note).name
    return note.rpartition("/")[2]


def note_path_stem(note: str) -> str:
    """``PurePosixPath(note).stem``, as ``note_name`` (``note_stem`` makes a stem of a title)."""
    name = note_name(note)
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


CONFLICT_INFIX = ".sync-conflict-"


def conflict_copy_paths(note: str, when: datetime) -> Iterator[str]:
    """The names a conflict copy of ``note`` tries in turn (99):
    ``<folder>/<stem>.sync-conflict-<YYYYMMDD-HHMMSS>[-n].md``, the name <= 255 bytes."""
    path = PurePosixPath(note)
    stem, folder, stamp = path.stem.encode("utf-8"), str(path.parent), f"{when:%Y%m%d-%H%M%S}"
    for attempt in range(1, 100):
        suffix = f"{CONFLICT_INFIX}{stamp}" + (f"-{attempt}" if attempt > 1 else "")
        room = MAX_NAME_BYTES - len(suffix.encode("utf-8")) - len(".md")
        name = f"{stem[:room].decode('utf-8', errors='ignore')}{suffix}.md"
        yield name if folder == "." else f"{folder}/{name}"
