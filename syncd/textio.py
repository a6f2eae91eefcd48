"""Bytes of a source page -> text the parser can trust (pure).

BOM stripped, CRLF/CR turned into LF, mojibake optionally repaired. Bytes that are not a
text page (NUL bytes, invalid UTF-8) raise ``PageError`` with the reason; an empty page
(nothing but white space) is the empty text, not an error.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from syncd.errors import PageError

# Sequences UTF-8 text shows after being decoded as cp1252/latin-1 once too often.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2\u00c3\u00c5\u00e2][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)


def decode_page(data: bytes, path: Path | str = "", *, repair_mojibake: bool = True) -> str:
    """Decode a page's bytes. Raises ``PageError`` naming ``path`` when they are not text."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        return ""  # an empty page: not an error (include: all gives it an empty note)
    if b"\x00" in data:
        raise PageError("binary file, not a text page (contains NUL bytes)", path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PageError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})", path
        ) from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if repair_mojibake:
        text = repair(text)
    return text


@functools.cache
def _ftfy() -> tuple[Any, Any]:
    """ftfy and the configuration syncd uses, imported on first need: the import costs tens
    of milliseconds, a large part of a run with nothing to do, and most pages never need it."""
    import ftfy

    config = ftfy.TextFixerConfig(
        unescape_html=False,
        remove_terminal_escapes=False,
        fix_encoding=True,
        restore_byte_a0=True,
        replace_lossy_sequences=False,
        decode_inconsistent_utf8=True,
        fix_c1_controls=False,
        fix_latin_ligatures=False,
        fix_character_width=False,
        uncurl_quotes=False,
        fix_line_breaks=False,
        fix_surrogates=False,
        remove_control_chars=False,
        normalization=None,
        explain=False,
    )
    return ftfy, config


def repair(text: str) -> str:
    """Repair mojibake (``â€”`` -> ``—``) line by line, only where it shows."""
    if text.isascii() or not _MOJIBAKE_HINT.search(text):  # every hint is non-ASCII
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _MOJIBAKE_HINT.search(line):
            ftfy, config = _ftfy()
            lines[i] = ftfy.fix_text(line, config)
    return "\n".join(lines)
