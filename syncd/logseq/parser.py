"""Logseq page text -> ``Page``: page properties, then the block outline.

Rules (logseq-to-obsidian.md §0, checked against mldoc by tests/test_parser_vs_mldoc.py):
- a block starts at a ``- `` bullet; nesting comes from *relative* indentation, every
  whitespace character (TAB or space) counting as one column, as in mldoc,
- every following line that is not a bullet is a continuation line of the current block,
  except a Markdown heading at the start of a line (``## Usage`` without ``- ``): as in mldoc
  it starts a top-level block of its own (``Block.bulleted`` false), and the indented bullets
  after it are its children,
- nothing inside a fenced code block or a ``#+BEGIN_X`` ... ``#+END_X`` block is a bullet or a
  property. A fence opens at a line starting with ```` ``` ```` or ``~~~`` and closes at the
  next such line, whatever follows on it; ``#+BEGIN_QUOTE`` closes at ``#+END_QUOTE`` (any
  case); one that never closes is text (mldoc's rules, not CommonMark's),
- a block's properties are its first run of ``key:: value`` lines outside code (usually right
  after the first line; Logseq keeps the first run only); text before the first bullet, or a
  first bullet made only of properties, holds the page properties.

The parser never raises: any text gives some ``Page``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from syncd.logseq.model import Block, Page, Property

BULLET_RE = re.compile(r"^([ \t]*)-(?:[ \t]+(.*)|[ \t]*)$")
# an unbulleted heading line: mldoc starts a block there (at the start of the line only)
HEADING_START_RE = re.compile(r"^(#{1,6}[ \t].*)$")
# mldoc: a key is any run of characters but whitespace and ``:`` (``ключ``, ``hl-page``,
# ``logseq.order-list-type``); ``::`` is followed by a space or by the end of the line
PROPERTY_RE = re.compile(r"^[ \t]*([^\s:]+)::(?: (.*)|[ \t]*)$")
# a code fence line; group 1: its run of backticks or tildes (a closing fence is at least as long)
FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
BEGIN_RE = re.compile(r"^[ \t]*#\+BEGIN_(\S+)", re.IGNORECASE)
END_RE = re.compile(r"^[ \t]*#\+END_(\S+)", re.IGNORECASE)
# a Markdown backslash escape: the backslash before ASCII punctuation (Readwise's plugin
# wrote ``\-`` for every ``-`` in mid-2023, metadata and [[dates]] included)
_MARKDOWN_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescape_markdown(text: str) -> str:
    """``text`` as Markdown shows it, without backslash escapes:
    ``https://green\\-thumb.example`` -> ``https://green-thumb.example``,
    ``2024\\-03\\-09`` -> ``2024-03-09``."""
    if "\\" not in text:
        return text
    return _MARKDOWN_ESCAPE_RE.sub(r"\1", text)


def parse_property(line: str, index: int) -> Property | None:
    if "::" not in line:  # most lines; PROPERTY_RE needs it
        return None
    match = PROPERTY_RE.match(line)
    if match is None:
        return None
    key, value = match.groups()
    return Property(key, (value or "").strip(), index)


def opaque_spans(
    lines: Sequence[str], heads: Sequence[str] | None = None
) -> list[tuple[int, int, bool]]:
    """The fenced code and ``#+BEGIN_X`` blocks among ``lines``: (first, last, fence?), the
    last flag true for fenced code, false for a ``#+BEGIN_X`` ... ``#+END_X`` block.

    ``heads[i]`` is what may open a block on line ``i`` (the text after ``- `` on a bullet
    line); closing lines are read from ``lines``. Inside a block nothing else opens.
    """
    heads = lines if heads is None else heads
    blob = "\n".join(lines)
    if "```" not in blob and "~~~" not in blob and "#+" not in blob:
        return []  # nothing can open or close a block (heads are parts of lines)
    fences = [i for i, line in enumerate(lines) if FENCE_RE.match(line)]
    ends: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        end = END_RE.match(line)
        if end is not None:
            ends.setdefault(end.group(1).upper(), []).append(i)
    spans: list[tuple[int, int, bool]] = []
    start = 0
    while start < len(lines):
        head = heads[start]
        begin = BEGIN_RE.match(head)
        if FENCE_RE.match(head):
            closers, fence = fences, True
        elif begin is not None:
            closers, fence = ends.get(begin.group(1).upper(), []), False
        else:
            start += 1
            continue
        after = bisect.bisect_right(closers, start)
        if after == len(closers):  # never closed: text
            start += 1
            continue
        spans.append((start, closers[after], fence))
        start = closers[after] + 1
    return spans


def _opaque_line_mask(lines: Sequence[str]) -> list[bool]:
    """For each line, whether it is in fenced code or a ``#+BEGIN_X`` block (opening and
    closing lines included): no property there."""
    mask = [False] * len(lines)
    for first, last, _fence in opaque_spans(lines):
        mask[first : last + 1] = [True] * (last + 1 - first)
    return mask


def _freeze(
    depth: int, indent: str, lines: list[str], children: list[Block], line: int, bulleted: bool
) -> Block:
    """The ``Block`` of a bullet whose lines and children are complete."""
    frozen = tuple(lines)
    return Block(depth, indent, frozen, block_properties(frozen), tuple(children), line, bulleted)


def block_properties(lines: Sequence[str]) -> tuple[Property, ...]:
    """Properties of a block: its first run of ``key:: value`` lines outside code and
    ``#+BEGIN`` blocks (mldoc reads every such run as a property drawer; Logseq keeps the
    first one).

    A ``> quote`` goes on until a blank line: mldoc reads the lines after it as more of the
    quote (Markdown's lazy continuation), ``key:: value`` included, except ``id::``."""
    if "::" not in "\n".join(lines):
        return ()  # no line can be a property (most blocks)
    found: list[Property] = []
    in_quote = False
    for index, (line, in_code) in enumerate(zip(lines, _opaque_line_mask(lines), strict=True)):
        prop = None if in_code else parse_property(line, index)
        if prop is not None and in_quote and prop.key.lower() != "id":
            prop = None
        if prop is not None:
            found.append(prop)
            in_quote = False
            continue
        if found:
            break
        if not line.strip():
            in_quote = False
        elif not in_code and line.lstrip().startswith(">"):
            in_quote = True
    return tuple(found)


def _strip_continuation(raw: str, indent: str) -> str:
    """Remove the bullet's indentation and Logseq's two-space continuation indent (a line
    less indented than its bullet, in a hand-edited page, loses what whitespace it has)."""
    if not raw.startswith(indent):
        return raw.lstrip(" \t")
    rest = raw[len(indent) :]
    if rest.startswith("  "):
        return rest[2:]
    return rest[1:] if rest[:1] in (" ", "\t") else rest


def parse_page(text: str) -> Page:
    """Parse a page. ``text`` must already be decoded with ``\\n`` line ends."""
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    match = BULLET_RE.match
    bullets = [match(raw) for raw in raw_lines]
    if "#" in text:  # an unbulleted heading starts a top-level block (mldoc)
        heading = HEADING_START_RE.match
        bullets = [
            heading(raw) if b is None and raw[:1] == "#" else b
            for raw, b in zip(raw_lines, bullets, strict=True)
        ]
    if "```" in text or "~~~" in text or "#+" in text:  # else no line opens a block
        heads = [
            raw if b is None or b.re is not BULLET_RE else b.group(2) or ""
            for raw, b in zip(raw_lines, bullets, strict=True)
        ]
        for first, last, _fence in opaque_spans(raw_lines, heads):
            # in code or a #+BEGIN block, after its opening line: no bullet
            bullets[first + 1 : last + 1] = [None] * (last - first)
    preamble: list[str] = []
    roots: list[Block] = []
    # the open bullets, outermost first: (width, then _freeze's arguments); a bullet becomes a
    # Block when the next bullet at its column or left of it (or the end of the page) closes
    # it, so every block is built once, children first
    stack: list[tuple[int, int, str, list[str], list[Block], int, bool]] = []
    lines: list[str] | None = None  # of the open bullet that continuation lines go to
    indent = ""
    for number, (raw, bullet) in enumerate(zip(raw_lines, bullets, strict=True), start=1):
        if bullet is None:
            if lines is None:
                preamble.append(raw)
            else:
                lines.append(_strip_continuation(raw, indent))
            continue
        if bullet.re is BULLET_RE:
            indent, head = bullet.groups()
            bulleted = True
        else:  # an unbulleted heading: a top-level block
            indent, head, bulleted = "", bullet.group(1), False
        width = len(indent)  # outline column: mldoc counts a TAB like a space
        while stack and stack[-1][0] >= width:  # close the bullets this one ends
            block = _freeze(*stack.pop()[1:])
            (stack[-1][4] if stack else roots).append(block)
        lines = [head or ""]
        depth = stack[-1][1] + 1 if stack else 0
        stack.append((width, depth, indent, lines, [], number, bulleted))
    while stack:
        block = _freeze(*stack.pop()[1:])
        (stack[-1][4] if stack else roots).append(block)

    blocks = tuple(roots)
    front, properties = page_properties(preamble)
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
        front_matter=front,
    )


def page_head(text: str) -> Page | None:
    """``parse_page(text)`` without its blocks, for a page none of whose blocks can hold a
    property or a block id (no ``::`` nor ``:id:`` in them, no code before them); None for any
    other page. Equivalence test: tests/test_fastpath.py."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    start, at = preamble_end(lines)
    before, rest = text[:at], text[at:]
    if "::" in rest or ":id:" in rest.lower() or any(m in before for m in ("```", "~~~", "#+")):
        return None  # (a code block before the first bullet may hide one)
    front, properties = page_properties(lines[:start])
    return Page(properties, tuple(lines[:start]), (), front_matter=front)


def preamble_end(lines: Sequence[str]) -> tuple[int, int]:
    """(lines, characters with their line ends) of a page's ``lines`` before its first block:
    a bullet, or an unbulleted heading (``parse_page``'s rule, where no code block is open)."""
    at, bullet = 0, BULLET_RE.match
    for index, line in enumerate(lines):
        if bullet(line) is not None or (line[:1] == "#" and HEADING_START_RE.match(line)):
            return index, at
        at += len(line) + 1
    return len(lines), at


def page_properties(preamble: Sequence[str]) -> tuple[int, tuple[Property, ...]]:
    """(lines in a YAML front matter, page properties) of the lines before the first bullet:
    the front matter's ``key: value`` lines, then the next paragraph's ``key:: value`` ones."""
    front, properties = _front_matter(preamble)
    properties += tuple(
        Property(p.key, p.value, p.index + front) for p in _preamble_properties(preamble[front:])
    )
    return front, properties


YAML_KEY_RE = re.compile(r"^([A-Za-z0-9_][\w.-]*):(?:[ \t]+(.*))?$")


def _front_matter(preamble: Sequence[str]) -> tuple[int, tuple[Property, ...]]:
    """A YAML front matter block at the top (``---`` / ``title: X`` / ``---``): how many
    preamble lines it holds and its ``key: value`` lines as page properties. Only a block
    made of simple ``key: value`` lines is read so (anything else stays text, as written)."""
    if not preamble or preamble[0].rstrip() != "---":
        return 0, ()
    found: list[Property] = []
    for index in range(1, len(preamble)):
        line = preamble[index]
        if line.rstrip() == "---":
            return (index + 1, tuple(found)) if found else (0, ())
        match = YAML_KEY_RE.match(line.rstrip())
        if match is None:
            if line.strip():
                return 0, ()
            continue
        found.append(Property(match.group(1), (match.group(2) or "").strip(), index))
    return 0, ()


def _preamble_properties(preamble: Sequence[str]) -> tuple[Property, ...]:
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
