"""Logseq page text -> ``Page``: page properties, then the block outline.

Rules (logseq-to-obsidian.md §0, checked against mldoc):
- a block starts at a ``- `` bullet; nesting comes from *relative* indentation, every
  whitespace character (TAB or space) counting as one column, as in mldoc,
- every following line that is not a bullet is a continuation line of the current block,
- nothing inside a fenced code block is a bullet, a property or anything else,
- ``key:: value`` lines right after a block's first line are block properties; text before the
  first bullet, or a first bullet made only of properties, holds the page properties.

The parser never raises: any text gives some ``Page``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from syncd.logseq.model import Block, Page, Property

BULLET_RE = re.compile(r"^([ \t]*)-(?:[ \t]+(.*)|[ \t]*)$")
PROPERTY_RE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_\-.*+!?/]*)::(?:[ \t]+(.*?))?[ \t]*$")
FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})")


def indent_width(indent: str) -> int:
    """Outline column of a bullet: mldoc counts a TAB like a space (level = 1 + characters)."""
    return len(indent)


def parse_property(line: str, index: int) -> Property | None:
    match = PROPERTY_RE.match(line)
    if match is None:
        return None
    return Property(key=match.group(1), value=(match.group(2) or "").strip(), index=index)


@dataclass
class _Draft:
    indent: str
    width: int
    line: int
    lines: list[str]
    children: list[_Draft] = field(default_factory=list)
    depth: int = 0

    def freeze(self) -> Block:
        lines = tuple(self.lines)
        return Block(
            depth=self.depth,
            indent=self.indent,
            lines=lines,
            properties=block_properties(lines),
            children=tuple(child.freeze() for child in self.children),
            line=self.line,
        )


def block_properties(lines: tuple[str, ...]) -> tuple[Property, ...]:
    """Properties of a block: a run of ``key:: value`` lines starting at its first line (a
    properties-only block) or right after it. Lines inside code fences never count."""
    if not lines:
        return ()
    start = 0 if PROPERTY_RE.match(lines[0]) else 1
    found: list[Property] = []
    for index in range(start, len(lines)):
        prop = parse_property(lines[index], index)
        if prop is None:
            break
        found.append(prop)
    return tuple(found)


def _strip_continuation(raw: str, indent: str) -> str:
    """Remove the bullet's indentation and Logseq's two-space continuation indent."""
    if raw.startswith(indent):
        rest = raw[len(indent) :]
    else:
        # less indented than its bullet (hand-edited page): drop what whitespace there is
        rest = raw.lstrip(" \t")
        return rest
    if rest.startswith("  "):
        return rest[2:]
    if rest.startswith(" ") or rest.startswith("\t"):
        return rest[1:]
    return rest


def _fence_toggle(open_fence: str | None, text: str) -> str | None:
    """Track fenced code: return the fence that is open after ``text``."""
    match = FENCE_RE.match(text)
    if match is None:
        return open_fence
    marker = match.group(1)
    if open_fence is None:
        return marker
    stripped = text.strip()
    if stripped.startswith(open_fence[0] * len(open_fence)) and set(stripped) <= {open_fence[0]}:
        return None
    return open_fence


def parse_page(text: str) -> Page:
    """Parse a page. ``text`` must already be decoded with ``\\n`` line ends."""
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    preamble: list[str] = []
    roots: list[_Draft] = []
    stack: list[_Draft] = []
    fence: str | None = None  # open code fence, if any
    current: _Draft | None = None
    for number, raw in enumerate(raw_lines, start=1):
        bullet = None if fence is not None else BULLET_RE.match(raw)
        if bullet is not None:
            indent = bullet.group(1)
            width = indent_width(indent)
            while stack and stack[-1].width >= width:
                stack.pop()
            draft = _Draft(indent=indent, width=width, line=number, lines=[bullet.group(2) or ""])
            if stack:
                draft.depth = stack[-1].depth + 1
                stack[-1].children.append(draft)
            else:
                roots.append(draft)
            stack.append(draft)
            current = draft
            fence = _fence_toggle(None, draft.lines[0])
            continue
        if current is None:
            preamble.append(raw)
            fence = _fence_toggle(fence, raw)
            continue
        content = _strip_continuation(raw, current.indent)
        current.lines.append(content)
        fence = _fence_toggle(fence, content)

    blocks = tuple(root.freeze() for root in roots)
    properties = _preamble_properties(preamble)
    in_first_block = False
    if not properties and blocks and _is_properties_only(blocks[0]):
        properties = blocks[0].properties
        blocks = blocks[1:]
        in_first_block = True
    return Page(
        properties=properties,
        preamble=tuple(preamble),
        blocks=blocks,
        properties_in_first_block=in_first_block,
    )


def _preamble_properties(preamble: list[str]) -> tuple[Property, ...]:
    """Page properties: the ``key:: value`` lines of the first paragraph before any bullet,
    when that paragraph starts with one (Readwise puts a cover ``![](…)`` line among them)."""
    found: list[Property] = []
    started = False
    for index, line in enumerate(preamble):
        if not line.strip():
            if started:
                break
            continue
        prop = parse_property(line, index)
        if prop is not None:
            found.append(prop)
            started = True
        elif not started:
            return ()
    return tuple(found)


def _is_properties_only(block: Block) -> bool:
    if block.children or not block.properties:
        return False
    prop_lines = {p.index for p in block.properties}
    return all(i in prop_lines or not line.strip() for i, line in enumerate(block.lines))
