"""The parsed shape of a Logseq page: page properties, then an outline of blocks.

Everything here is a frozen value; the parser (``logseq.parser``) builds it from text and the
renderers read it. Lines are kept verbatim (minus the outline indentation) so that rewriting
rules change only the tokens they own and the rest of the page survives byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(slots=True, unsafe_hash=True)
class Property:
    """A ``key:: value`` line. ``index`` is the line's position in its owner's ``lines``."""

    key: str  # as written (Logseq compares keys case-insensitively)
    value: str  # raw text after ``::``, stripped
    index: int


def property_value(properties: tuple[Property, ...], key: str) -> str | None:
    """The value of ``key`` (compared case-insensitively, as Logseq does), or None."""
    wanted = key.lower()
    for prop in properties:
        if prop.key.lower() == wanted:
            return prop.value
    return None


@dataclass(slots=True, unsafe_hash=True)
class Block:
    """One ``- `` bullet and what is nested under it. ``lines[0]`` is the text after ``- ``;
    the other lines are continuation lines with the bullet's indentation and the two-space
    continuation indent removed (code fences, block properties, SCHEDULED, :LOGBOOK: ... all
    live here, in source order)."""

    depth: int  # 0 = top-level bullet; from relative indentation, not a fixed unit
    indent: str  # exact leading whitespace of the bullet line
    lines: tuple[str, ...]
    properties: tuple[Property, ...]  # block properties: the first run of key:: value lines (mldoc)
    children: tuple[Block, ...]
    line: int  # 1-based line number of the bullet in the source text
    # False for a Markdown heading written at the start of a line without ``- `` (``## Usage``):
    # mldoc starts a top-level block there, and the indented bullets below are its children
    bulleted: bool = True

    @property
    def first_line(self) -> str:
        return self.lines[0] if self.lines else ""

    def property_value(self, key: str) -> str | None:
        return property_value(self.properties, key)

    def walk(self) -> list[Block]:
        return _walk([self])


@dataclass(slots=True, unsafe_hash=True)
class Page:
    """A parsed page. ``preamble`` is the text before the first bullet (page properties
    included, as written); ``properties`` are the page properties found there, or in a first
    bullet made only of ``key:: value`` lines (then ``properties_in_first_block`` is true and
    that bullet is *not* in ``blocks``)."""

    properties: tuple[Property, ...]
    preamble: tuple[str, ...]
    blocks: tuple[Block, ...]
    properties_in_first_block: bool = False
    # lines of ``preamble`` that are a YAML front matter block (``---`` / ``title: X`` / ``---``
    # at the top, older graphs): its ``key: value`` lines are page properties, as in Logseq
    front_matter: int = 0

    def property_value(self, key: str) -> str | None:
        return property_value(self.properties, key)

    def walk(self) -> list[Block]:
        return _walk(self.blocks)


def _walk(blocks: Sequence[Block]) -> list[Block]:
    """``blocks`` and all their descendants, in document order (a loop: no recursion)."""
    out: list[Block] = []
    todo = list(reversed(blocks))
    while todo:
        block = todo.pop()
        out.append(block)
        if block.children:
            todo.extend(reversed(block.children))
    return out
