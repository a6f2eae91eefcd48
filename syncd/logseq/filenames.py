"""Page names from Logseq file names and back (rows N1, N2, N3, N6; readwise-format.md a.5),
by the graph's ``:file/name-format`` (``logseq.graph-parser.util/title-parsing``):

- ``triple-lowbar`` (Logseq >= 0.8.9): ``___`` -> ``/``, then each ``%XX`` below ``%80`` is
  decoded on its own, as Logseq does (a lone UTF-8 byte does not decode: ``%C3%BC`` stays).
- ``legacy`` (older graphs, and any config.edn without the key): ``.`` meant ``/`` in files
  written before May 2022, then the whole name is URL-decoded, all or nothing
  (``decodeURIComponent``: a stray ``%`` leaves the name undecoded).

Logseq >= May 2022 writes literal dots in legacy names (``Wr... (highlights)``), so a dot
splits namespaces only in a name without ``%2F`` (the percent era), not between two digits
(``v1.2``, ``2023.01.05``), and only if every part is then non-empty without white space at
its ends (``Mr. Smith``, ``a..b``, ``.hidden`` do not split). Names are NFC-normalised (macOS
may give NFD) and lose empty namespace segments.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from syncd.logseq.dates import compile_format

_PERCENT_XX = re.compile(r"%([0-9A-Fa-f]{2})")
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_ENCODED_SLASH = re.compile(r"%2F", re.IGNORECASE)
_NAMESPACE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")  # a dot not between two digits

# Logseq's sanitizer (frontend.util.fs/tri-lb-file-name-sanity)
_RESERVED_RUN = re.compile(r'[:*?"<>|#\\]+')
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _drop_empty_segments(name: str) -> str:
    return "/".join(part for part in name.split("/") if part)


def _decode_ascii_escapes(text: str) -> str:
    """Decode each ``%XX`` below ``%80`` on its own (Logseq's ``safe-url-decode`` per match)."""

    def one(match: re.Match[str]) -> str:
        value = int(match.group(1), 16)
        return chr(value) if value < 0x80 else match.group(0)

    return _PERCENT_XX.sub(one, text)


def _decode_uri_component(text: str) -> str | None:
    """JavaScript's ``decodeURIComponent``: None where it would throw."""
    if text.count("%") != sum(len(m.group(0)) // 3 for m in _PERCENT_RUN.finditer(text)):
        return None  # a "%" that does not start a %XX escape

    failed = False

    def run(match: re.Match[str]) -> str:
        nonlocal failed
        try:
            return bytes.fromhex(match.group(0).replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            failed = True
            return match.group(0)

    decoded = _PERCENT_RUN.sub(run, text)
    return None if failed else decoded


def _split_legacy_dots(stem: str) -> str:
    if "." not in stem or _ENCODED_SLASH.search(stem):
        return stem
    parts = _NAMESPACE_DOT.split(stem)
    if len(parts) == 1:
        return stem
    if all(part and part == part.strip() for part in parts):
        return "/".join(parts)
    return stem


def page_name_from_file(stem: str, fmt: str) -> str:
    """The page name Logseq gives ``pages/<stem>.md`` under ``:file/name-format`` ``fmt``
    (``"triple-lowbar"`` or ``"legacy"``)."""
    if fmt == "triple-lowbar":
        name = _decode_ascii_escapes(stem.replace("___", "/"))
    elif fmt == "legacy":
        split = _split_legacy_dots(stem)
        decoded = _decode_uri_component(split)
        name = split if decoded is None else decoded
    else:
        raise ValueError(f"unknown file name format {fmt!r} (triple-lowbar or legacy)")
    return _nfc(_drop_empty_segments(name))


def journal_date_from_file(stem: str, journal_file_format: str) -> date | None:
    """The date of ``journals/<stem>.md`` under ``:journal/file-name-format``, or None."""
    return compile_format(journal_file_format).parse(_nfc(stem))


def file_stem_for_page(name: str) -> str:
    """The file stem Logseq writes for page ``name`` with ``:triple-lowbar`` (no ``.md``).

    Logseq's ``tri-lb-file-name-sanity``: strip one leading and one trailing ``/``, NFC;
    ``%XX`` look-alikes get their ``%`` escaped as ``%25``; runs of ``: * ? " < > | # \\`` are
    percent-encoded; a Windows device name or a trailing ``.`` gets a ``/`` appended;
    ``___``, ``_/``, ``/_`` have their ``_`` escaped as ``%5F``; finally ``/`` -> ``___``.
    A title starting with ``../`` therefore gives a dotfile (``..___x``), as in Logseq 0.10
    (some later Logseq builds write ``%2E`` for a leading dot; both decode the same).
    """
    if name.startswith("/"):
        name = name[1:]
    if name.endswith("/"):
        name = name[:-1]
    name = _nfc(name)
    name = _PERCENT_XX.sub(lambda m: "%25" + m.group(1), name)
    name = _RESERVED_RUN.sub(lambda m: _encode_reserved(m.group(0)), name)
    if name in _WINDOWS_RESERVED or name.endswith("."):
        name += "/"
    name = name.replace("___", "%5F%5F%5F").replace("_/", "%5F/").replace("/_", "/%5F")
    return name.replace("/", "___")


def _encode_reserved(run: str) -> str:
    # encodeURIComponent of ASCII punctuation, plus "*" which it leaves alone
    return "".join(f"%{ord(ch):02X}" for ch in run)
