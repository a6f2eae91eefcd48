"""Page names from Logseq file names (rows N1, N2, N3, N6; readwise-format.md a.5),
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
