"""Page names from Logseq file names and back (rows N1, N2, N3, N6; readwise-format.md a.5).

Logseq derives a page's name from its file name (when the page has no ``title::``) with the
graph's ``:file/name-format`` (``logseq.graph-parser.util/title-parsing``):

- ``triple-lowbar`` (graphs created by Logseq >= 0.8.9): ``___`` -> ``/``, then every ``%XX``
  that decodes to one ASCII character is decoded (``%2F`` -> ``/``, ``%3A`` -> ``:``,
  ``%25`` -> ``%``); empty namespace segments are dropped. Like Logseq, a ``%XX`` above
  ``%7F`` is left as written: Logseq decodes each ``%XX`` alone, and a lone UTF-8 byte does
  not decode, so ``%C3%BC`` stays ``%C3%BC`` in Logseq too.
- ``legacy`` (older graphs, and any config.edn without the key): ``.`` meant ``/`` in files
  written before May 2022, then the whole name is URL-decoded (all or nothing, as
  ``decodeURIComponent``: a stray ``%`` leaves the name undecoded).

The legacy dot rule is applied conservatively, because Logseq >= May 2022 writes literal dots
in legacy file names (and records the real title in ``title::``): splitting every dot would
turn ``Wr... (highlights)`` into folders. A dot separates namespaces only when

1. the name has no ``%2F`` (files that spell ``/`` as ``%2F`` are from the percent era, so
   their dots are literal),
2. it does not sit between two digits (``v1.2``, ``3.14``, ``2023.01.05`` are not
   namespaces), and
3. after splitting at the remaining dots, every part is non-empty and neither starts nor ends
   with white space (``Mr. Smith``, ``...``, ``a..b``, ``.hidden``, ``end.`` do not split).

If any part fails rule 3, no dot splits at all. Every name is NFC-normalised at the end
(macOS may hand back NFD file names) and has empty namespace segments removed.
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
    """The page name Logseq gives ``pages/<stem>.md`` under ``:file/name-format`` ``fmt``.

    ``fmt`` is ``"triple-lowbar"`` or ``"legacy"`` (:attr:`GraphConfig.file_name_format`).

    >>> page_name_from_file("Projects___Syncd___Design", "triple-lowbar")
    'Projects/Syncd/Design'
    >>> page_name_from_file("AWS%3A How to VPC%3F (highlights)", "triple-lowbar")
    'AWS: How to VPC? (highlights)'
    >>> page_name_from_file("Ted Chiang Is a Great Wr... (highlights)", "legacy")
    'Ted Chiang Is a Great Wr... (highlights)'
    """
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

    >>> file_stem_for_page("AWS: How to VPC? (highlights)")
    'AWS%3A How to VPC%3F (highlights)'
    >>> file_stem_for_page("../../x (highlights)")
    '..___..___x (highlights)'
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
