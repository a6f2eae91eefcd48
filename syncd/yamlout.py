"""A strict YAML emitter for the frontmatter syncd creates (pure).

syncd never round-trips a user's YAML: it writes frontmatter with this emitter when it creates
a note; afterwards it replaces or inserts only the lines of a key it owns, where the user left
that key as syncd wrote it (merge rule 5, ``syncd.merge``). Strings are quoted whenever
YAML (js-yaml in Obsidian, YAML 1.1 or 1.2) could read them as anything but that string.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from datetime import date

Scalar = str | int | bool | date
Value = Scalar | Sequence[str]

_PLAIN_SAFE = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`~\\][^\n\t]*$")
_SPECIAL = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|[-+]?(?:\d[\d_]*)?(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN)|0[xob][0-9a-fA-F_]+|[-+]?\d[\d_]*(?::[0-5]?\d)+(?:\.\d*)?"
    r"|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?"
    r"|=|<<)$"  # YAML 1.1's value and merge keys: PyYAML cannot even load them as values
)


# Characters YAML does not allow raw (DEL, C1 controls, U+FFFE/U+FFFF: PyYAML rejects the
# file) or that a YAML 1.1 reader takes for line breaks (NEL, U+2028, U+2029: folded away).
_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


# json.dumps(text, ensure_ascii=False), without building an encoder on every call
_JSON = json.JSONEncoder(ensure_ascii=False)


def quote(text: str) -> str:
    """A double-quoted YAML scalar (JSON string syntax is valid YAML; JSON leaves the
    characters of ``_ESCAPE`` raw, so they are escaped here as ``\\uXXXX``)."""
    quoted = _JSON.encode(text)
    if not _ESCAPE.search(quoted):
        return quoted
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def scalar(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return plain_or_quoted(value)


@functools.lru_cache(maxsize=4096)  # pure; keys and many values repeat from note to note
def plain_or_quoted(text: str) -> str:
    """``text`` unquoted when every YAML reader gives back exactly ``text``, else quoted."""
    if (
        text
        and text == text.strip()
        and _PLAIN_SAFE.match(text)
        and not _SPECIAL.match(text)
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
        and text.isprintable()
    ):
        return text
    return quote(text)


def dump_frontmatter(items: Sequence[tuple[str, Value]]) -> str:
    """``---`` block for ``items`` in the given order (lists in block style); keys are quoted
    like values wherever YAML would misread them."""
    out = ["---"]
    for name, value in items:
        key = plain_or_quoted(name)  # page property names are free text: `[x`, `*a`, `#c`
        if isinstance(value, (str, int, bool, date)):
            out.append(f"{key}: {scalar(value)}")
            continue
        if not value:
            out.append(f"{key}: []")
            continue
        out.append(f"{key}:")
        out.extend(f"  - {plain_or_quoted(item)}" for item in value)
    out.append("---")
    return "\n".join(out) + "\n"
