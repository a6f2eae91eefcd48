"""What a page conversion found besides its text (``Findings``, what the rules of one page write
into): references, anchors, assets, and the Logseq features with no Obsidian equivalent
(``Unsupported``, for the migration report; section 9 of logseq-to-obsidian.md).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

EXCERPT_CHARS = 80


@dataclass(slots=True, unsafe_hash=True)
class Unsupported:
    """Something kept as text (or dropped) because Obsidian has nothing like it."""

    row: str  # the row ID of the reference table (Q1, M2, R1...)
    reason: str  # a short phrase for the report
    excerpt: str  # the Logseq text (shortened)
    line: int = 0  # its 1-based line in the page (0 when unknown)


def excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def name_key(name: str) -> str:
    """The index key of a page name: Logseq compares names case-insensitively (NFC)."""
    name = name.strip()
    if not name.isascii():  # ASCII text is NFC already
        name = unicodedata.normalize("NFC", name)
    return name.lower()


@dataclass(slots=True)
class Findings:
    """Collected while one page is converted (not shared between pages)."""

    references: set[str] = field(default_factory=set)
    block_refs: set[str] = field(default_factory=set)
    anchors: list[str] = field(default_factory=list)
    assets: set[str] = field(default_factory=set)
    unsupported: list[Unsupported] = field(default_factory=list)
    line: int = 0  # source line of what is being converted, for reports
    # what the rules dropped (docs/logseq-rows.md names each with its reason): how often
    dropped: dict[str, int] = field(default_factory=dict)

    def reference(self, name: str) -> None:
        if key := name_key(name):
            self.references.add(key)

    def report(self, row: str, reason: str, text: str) -> None:
        item = Unsupported(row=row, reason=reason, excerpt=excerpt(text), line=self.line)
        if item not in self.unsupported:
            self.unsupported.append(item)

    def drop(self, what: str) -> None:
        """Count one thing a rule dropped (``collapsed::``, ``card-*``, ``:LOGBOOK:``)."""
        self.dropped[what] = self.dropped.get(what, 0) + 1


# keys a rule writes another way (an ``^anchor``, a heading): not dropped
_NOT_DROPPED = frozenset({"id", "custom-id", "custom_id", "heading"})


def dropped_key(key: str) -> str | None:
    """How a dropped property is counted: ``collapsed::``, one name per prefix family
    (``card-*``, ``logseq.*``, ``hl-*``); None for a key that is not dropped but rewritten."""
    key = key.lower()
    if key in _NOT_DROPPED:
        return None
    for prefix in ("card-", "logseq.", "hl-"):
        if key.startswith(prefix):
            return f"{prefix}*::"
    return f"{key}::"
