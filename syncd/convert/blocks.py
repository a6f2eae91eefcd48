"""Blocks: the outline and everything that lives on block lines (rows B1–B10, T1–T4, A4; each
row's rule in docs/logseq-rows.md and tests/test_rows.py).

The outline is kept as Logseq wrote it (TAB-indented ``- `` bullets, continuation lines under
them); each block's lines are converted one by one and laid out again with the exact
indentation of the source line they came from (``SourceLines``), so only rewritten tokens
change. Nothing inside fenced code (also inside a quote), ``$$`` math blocks or ``%%``
comments is touched (C1).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from syncd.convert.context import BlockPropertyStyle, LogbookStyle
from syncd.convert.inline import InlineEnv, convert_inline
from syncd.convert.links import anchor_id
from syncd.convert.properties import RAW_KEYS, is_internal, wrapped_in_quotes
from syncd.convert.report import dropped_key
from syncd.convert.tasks import Stamp, is_stamp_line, parse_task, stamps, task_line
from syncd.logseq.model import Block, Property
from syncd.logseq.parser import opaque_spans


class Kind(enum.Enum):
    TEXT = "text"
    BLANK = "blank"
    PROPERTY = "property"
    CODE = "code"
    COMMENT = "comment"
    STAMP = "stamp"


@dataclass(slots=True)
class Out:
    """One output line of a block: its text without outline indentation, the index of the
    block line it came from (None for a new line) and what it is."""

    text: str
    src: int | None
    kind: Kind


_FENCE_LINE_RE = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:```|~~~)")
_BEGIN_RE = re.compile(r"^[ \t]*#\+BEGIN_(?P<name>\w+)(?:[ \t]+(?P<args>.*?))?[ \t]*$", re.I)
_DRAWER_RE = re.compile(r"^[ \t]*:(?P<name>LOGBOOK|PROPERTIES):[ \t]*$", re.I)
_DRAWER_END_RE = re.compile(r"^[ \t]*:END:[ \t]*$", re.I)
_DRAWER_PROP_RE = re.compile(r"^[ \t]*:(?P<key>[^:\s]+):(?:[ \t]+(?P<value>.*?))?[ \t]*$")
_PROP_LINE_RE = re.compile(
    r"^(?P<head>[ \t]*[^\s:]+::)(?P<gap>[ \t]*)(?P<value>.*?)(?P<tail>[ \t]*)$"
)
_HEADING_RE = re.compile(r"^#{1,6}(?:[ \t]|$)")
CALLOUTS = {"pinned": "note"}  # any other block is a callout of its name (note, tip, warning…)
QUERY_CALLOUT = "> [!info] Logseq query (not converted)"
ORDER_KEY = "logseq.order-list-type"
_DRAWER_KEY_RENAMES = {"custom_id": "id", "custom-id": "id", "last-modified-at": "updated-at"}


def code_mask(lines: Sequence[str]) -> list[bool]:
    """Which lines are fenced code (fence lines included): fences pair up in order, as in
    mldoc; a last fence with no partner is text. Fences inside a ``>`` quote count too; a
    fence line inside a ``#+BEGIN_X`` block is that block's text (C1, B7, B9: the block is
    converted as a whole, and a fence after it pairs with the next fence, not with this one)."""
    fences = [i for i, line in enumerate(lines) if _FENCE_LINE_RE.match(line)]
    if fences:
        inside = _inside_begin_blocks(lines)
        fences = [i for i in fences if i not in inside] if inside else fences
    mask = [False] * len(lines)
    for opening, closing in zip(fences[::2], fences[1::2], strict=False):
        for i in range(opening, closing + 1):
            mask[i] = True
    return mask


def _inside_begin_blocks(lines: Sequence[str]) -> set[int]:
    """The lines after the opening line of each ``#+BEGIN_X`` block, up to its ``#+END_X``,
    found the way the parser finds them (``opaque_spans``: mldoc's rules)."""
    return {
        i
        for first, last, fence in opaque_spans(lines)
        if not fence
        for i in range(first + 1, last + 1)
    }


def drawer_properties(lines: Sequence[str]) -> list[Property]:
    """Org-style ``:PROPERTIES:`` drawer entries of a block, as ``key:: value`` properties
    (Logseq's ``->new-properties``: ``custom_id`` -> ``id``, ``_`` -> ``-``)."""
    mask = code_mask(lines)
    found: list[Property] = []
    inside = False
    for index, line in enumerate(lines):
        if mask[index]:
            continue
        if not inside:
            drawer = _DRAWER_RE.match(line)
            inside = drawer is not None and drawer.group("name").upper() == "PROPERTIES"
            continue
        if _DRAWER_END_RE.match(line):
            inside = False
            continue
        match = _DRAWER_PROP_RE.match(line)
        if match is not None:
            key = match.group("key").replace("_", "-")
            key = _DRAWER_KEY_RENAMES.get(key.lower(), key)
            found.append(Property(key=key, value=(match.group("value") or "").strip(), index=index))
    return found


def block_uuid(block: Block) -> str | None:
    """The block's ``id::`` (or ``:id:`` drawer entry), lower-cased, when Obsidian accepts it
    as a block id."""
    for prop in block.properties:
        if prop.key.lower() == "id":
            return anchor_id(prop.value)
    # drawer entries come only after a line _DRAWER_RE matches as PROPERTIES, which holds
    # ":PROPERTIES:" (same IGNORECASE): without one, skip the drawer scan (most blocks)
    if not any(_PROPERTIES_HINT_RE.search(line) for line in block.lines):
        return None
    for prop in drawer_properties(block.lines):
        if prop.key.lower() == "id":
            return anchor_id(prop.value)
    return None


_PROPERTIES_HINT_RE = re.compile(":PROPERTIES:", re.I)


# --- converting a block's lines ------------------------------------------------------------


class _Region:
    """Converts a run of block lines; ``base`` is the index of its first line in the block."""

    def __init__(
        self,
        env: InlineEnv,
        first_line: int,
        props: Mapping[int, Property],
        collect: list[Stamp] | None,
    ) -> None:
        self.env = env
        self.first_line = first_line  # 1-based source line of the block's line 0
        self.props = props
        self.collect = collect

    def convert(self, lines: Sequence[str], base: int) -> list[Out]:
        mask = code_mask(lines)
        out: list[Out] = []
        i = 0
        while i < len(lines):
            line, src = lines[i], base + i
            self.env.findings.line = self.first_line + src
            if mask[i]:
                out.append(Out(line, src, Kind.CODE))
                i += 1
                continue
            if src in self.props:
                out.extend(self.property(self.props[src], line, src))
                i += 1
                continue
            end = self.region_end(lines, mask, i)
            if end is not None:
                out.extend(self.region(lines, base, i, end))
                i = end + 1
                continue
            if self.collect is not None and is_stamp_line(line):
                self.collect.extend(stamps(line))  # T3: moved onto the task line
            elif not line.strip():
                out.append(Out(line, src, Kind.BLANK))
            else:
                kind = Kind.STAMP if is_stamp_line(line) else Kind.TEXT
                out.append(Out(convert_inline(line, self.env), src, kind))
            i += 1
        return out

    @staticmethod
    def region_end(lines: Sequence[str], mask: Sequence[bool], i: int) -> int | None:
        """The closing line of an org block, drawer, ``%%`` comment or ``$$`` math block
        opening at line ``i``; None when line ``i`` opens none (or it is never closed)."""
        line = lines[i]
        begin = _BEGIN_RE.match(line)
        if begin is not None:
            closing = re.compile(rf"^[ \t]*#\+END_{re.escape(begin.group('name'))}[ \t]*$", re.I)
        elif _DRAWER_RE.match(line):
            closing = _DRAWER_END_RE
        elif line.strip() in ("%%", "$$"):
            mark = line.strip()
            return next((k for k in range(i + 1, len(lines)) if lines[k].strip() == mark), None)
        else:
            return None
        return next(
            (k for k in range(i + 1, len(lines)) if not mask[k] and closing.match(lines[k])), None
        )

    def region(self, lines: Sequence[str], base: int, i: int, end: int) -> list[Out]:
        line = lines[i]
        inner = lines[i + 1 : end]
        begin = _BEGIN_RE.match(line)
        if begin is not None:
            return self.org_block(
                begin.group("name").lower(), begin.group("args") or "", inner, base + i, base + end
            )
        drawer = _DRAWER_RE.match(line)
        if drawer is not None:
            return self.drawer(drawer.group("name").upper(), lines[i : end + 1], base + i)
        kind = Kind.COMMENT if line.strip() == "%%" else Kind.CODE
        return [Out(lines[k], base + k, kind) for k in range(i, end + 1)]

    def org_block(
        self, name: str, args: str, inner: Sequence[str], start: int, end: int
    ) -> list[Out]:
        verbatim = [Out(text, start + 1 + k, Kind.CODE) for k, text in enumerate(inner)]
        if name == "comment":  # B9
            comment = [Out(o.text, o.src, Kind.COMMENT) for o in verbatim]
            return [Out("%%", start, Kind.COMMENT), *comment, Out("%%", end, Kind.COMMENT)]
        if name == "export" and args.strip().lower() == "html":
            return verbatim
        head: list[Out] = []
        if name == "query":  # B10: a callout, then the query as code
            self.env.findings.line = self.first_line + start
            self.env.findings.report(
                "B10", "advanced query (kept verbatim in a code block)", "\n".join(inner)
            )
            head, args = [Out(QUERY_CALLOUT, start, Kind.TEXT)], "clojure"
        if name in ("src", "example", "export", "query"):  # B9
            lang = args.split()[0] if name != "example" and args.split() else ""
            fence = _fence_for(inner)
            opening = Out(f"{fence}{lang}", start, Kind.CODE)
            return [*head, opening, *verbatim, Out(fence, end, Kind.CODE)]
        # B7 quote, B8 callouts (any other custom block becomes a callout of its own type)
        converted = self.convert(inner, start + 1)
        quoted = [Out(f"> {o.text}" if o.text.strip() else ">", o.src, o.kind) for o in converted]
        if name == "quote":
            return quoted or [Out(">", start, Kind.TEXT)]
        return [Out(f"> [!{CALLOUTS.get(name, name)}]", start, Kind.TEXT), *quoted]

    def drawer(self, name: str, lines: Sequence[str], start: int) -> list[Out]:
        if name == "PROPERTIES":
            kept: list[Out] = []
            for prop in drawer_properties(lines):
                kept.extend(self.property(prop, f"{prop.key}:: {prop.value}", start + prop.index))
            return kept
        if self.env.ctx.options.logbook is LogbookStyle.COMMENT:  # T4
            body = [Out(text, start + k, Kind.COMMENT) for k, text in enumerate(lines)]
            last = Out("%%", start + len(lines) - 1, Kind.COMMENT)
            return [Out("%%", start, Kind.COMMENT), *body, last]
        self.env.findings.drop(f":{name}: drawer")
        return []

    def property(self, prop: Property, line: str, src: int) -> list[Out]:
        """B1: keep a user property as an inline field, drop Logseq's own."""
        key, value = prop.key, prop.value.strip()
        lower = key.lower()
        if lower.startswith("hl-") or (lower == "ls-type" and value == "annotation"):
            self.env.findings.report("A4", "PDF highlight (position not kept)", line)
        if lower.startswith("card-"):
            self.env.findings.report("M3", "flashcard review state (dropped)", line)
        if lower == ORDER_KEY:
            return []  # B6: the list's numbers
        if is_internal(lower, self.env.ctx.graph) or not value:
            what = dropped_key(lower) if value else "empty block property"
            if what is not None:
                self.env.findings.drop(what)
            return []
        bracketed = self.env.ctx.options.block_properties is BlockPropertyStyle.BRACKETED
        if bracketed and line.strip().startswith("[") and line.strip().endswith("]"):
            return [Out(convert_inline(line, self.env), src, Kind.PROPERTY)]  # already [k:: v]
        converted = self.value(key, value)
        if bracketed:
            return [Out(f"[{key}:: {converted}]", src, Kind.PROPERTY)]
        match = _PROP_LINE_RE.match(line)
        if match is None:
            return [Out(f"{key}:: {converted}", src, Kind.PROPERTY)]
        text = match.group("head") + match.group("gap") + converted + match.group("tail")
        return [Out(text, src, Kind.PROPERTY)]

    def value(self, key: str, value: str) -> str:
        lower = key.lower()
        literal = lower in RAW_KEYS or lower in self.env.ctx.graph.ignored_page_reference_keywords
        return value if literal or wrapped_in_quotes(value) else convert_inline(value, self.env)


def _fence_for(lines: Sequence[str]) -> str:
    longest = max(
        (len(m.group(0)) for line in lines if (m := re.match(r"[ \t]*(`+)", line))), default=0
    )
    return "`" * max(3, longest + 1)


def _heading_level(value: str | None, depth: int) -> int | None:
    """B3: ``heading:: 2`` -> 2; ``heading:: true`` (auto heading) -> the block's level."""
    if value is None:
        return None
    value = value.strip().lower()
    if value == "true":
        return min(depth + 1, 6)
    if value.isdigit() and 1 <= int(value) <= 6:
        return int(value)
    return None


def convert_block(block: Block, env: InlineEnv) -> tuple[list[Out], bool]:
    """The block's output lines (first line first) and whether it is a numbered item (B6)."""
    lines = list(block.lines) or [""]
    props = {prop.index: prop for prop in block.properties}
    task = parse_task(lines[0]) if 0 not in props else None
    if task is not None:
        lines[0] = task.text
    found: list[Stamp] = []
    region = _Region(env, block.line, props, found if task is not None else None)
    out = region.convert(lines, 0)
    first = out[0] if out and out[0].src == 0 and out[0].kind is Kind.TEXT else None
    if task is not None and first is not None:
        first.text = task_line(task, first.text, found, env.ctx.options)
    elif task is not None and (not out or out[0].src != 0):
        out.insert(0, Out(task_line(task, "", found, env.ctx.options), 0, Kind.TEXT))
    level = _heading_level(block.property_value("heading"), block.depth)
    if level and task is None and first is not None and not _HEADING_RE.match(first.text):
        first.text = f"{'#' * level} {first.text}"
    uuid = block_uuid(block)
    if uuid is not None and uuid not in env.findings.anchors:
        env.findings.anchors.append(uuid)
        _place_anchor(out, uuid)
    if not out:
        out = [Out("", 0, Kind.BLANK)]
    order = block.property_value(ORDER_KEY)
    return out, order is not None and order.strip().lower() == "number"


# a line CommonMark starts an HTML block with (``<div …>``, ``<!-- …``): ``^id`` on it, or on
# the line after (the HTML block runs to a blank line), is HTML, not a block id
# (a tag's name ends at a space, ``>``, ``/`` or the line's end: ``<https://x>`` is a link)
HTML_LINE_RE = re.compile(r"^[ \t]*<(?:/?[A-Za-z][A-Za-z0-9-]*(?:[ \t/>]|$)|!--)")


def anchored(line: str, anchor: str, *, fence: bool) -> list[str]:
    """B2, the one rule for where ``^anchor`` goes (graph pages and Readwise highlights): the
    lines that replace a block's last line ``line``. At the end of its text; on a line of its
    own after a closing ``fence`` (Obsidian reads ``^id`` on a fence line as code), and below
    a blank line after HTML (an HTML block runs to a blank line)."""
    if fence:
        return [line, f"^{anchor}"]
    if "<" in line and HTML_LINE_RE.match(line):
        return [line, "", f"^{anchor}"]
    return [f"{line.rstrip()} ^{anchor}" if line.strip() else f"^{anchor}"]


def _place_anchor(out: list[Out], uuid: str) -> None:
    """``anchored`` on the block's last line of its own text (none: ``^uuid`` first)."""
    own = [k for k, o in enumerate(out) if o.kind in (Kind.TEXT, Kind.CODE) and o.text.strip()]
    if not own:
        out.insert(0, Out(f"^{uuid}", 0, Kind.TEXT))
        return
    last = own[-1]
    first, *more = anchored(out[last].text, uuid, fence=out[last].kind is Kind.CODE)
    out[last].text = first
    out[last + 1 : last + 1] = [Out(t, None, Kind.TEXT if t else Kind.BLANK) for t in more]


# --- laying out the outline ----------------------------------------------------------------


_BULLET_PREFIX_RE = re.compile(r"[ \t]*-[ \t]*")


class SourceLines:
    """The page text the blocks were parsed from, to keep each line's indentation exactly."""

    def __init__(self, text: str | None) -> None:
        lines = text.split("\n") if text is not None else []
        if lines and lines[-1] == "":
            lines.pop()
        self.lines = lines

    def prefix(self, block: Block, index: int) -> str | None:
        """What precedes the block's line ``index`` in the source (``\\t- ``, ``\\t  ``), or
        None when the source does not match the block (no source, or another text)."""
        number = block.line - 1 + index
        if not 0 <= number < len(self.lines) or index >= len(block.lines):
            return None
        raw, content = self.lines[number], block.lines[index]
        if not raw.endswith(content):
            return None
        prefix = raw[: len(raw) - len(content)]
        ok = _BULLET_PREFIX_RE.fullmatch(prefix) if index == 0 else not prefix.strip()
        return prefix if ok else None


def layout_block(
    block: Block, out: Sequence[Out], number: int | None, source: SourceLines
) -> list[str]:
    """The block's output lines with their outline indentation (B5, B6).

    An unbulleted heading (``## Usage`` without ``- ``) stays unbulleted when it has no
    children; with children it gets a bullet, so that they are its children in Obsidian and
    not an indented code block (CommonMark reads a TAB-indented outline after a heading so)."""
    bullet = source.prefix(block, 0)
    unbulleted = not block.bulleted and not block.children
    lift = not block.bulleted and bool(block.children)
    if unbulleted:
        bullet = block.indent
    elif bullet is None or lift:
        bullet = f"{block.indent}- " if out[0].text else f"{block.indent}-"
    extra = ""  # what continuation lines add under a number wider than "- "
    if number is not None:
        bullet, extra = f"{block.indent}{number}. ", " " * len(str(number))
    lines = [bullet + out[0].text]
    for o in out[1:]:
        prefix = source.prefix(block, o.src) if o.src and not lift else None
        if prefix is not None and o.text and o.src and not block.lines[o.src].strip():
            prefix = None  # a blank source line that now has text (">" in a quote)
        if prefix is None:
            prefix = f"{block.indent}  " if o.text else ""
        if extra and o.text and prefix.startswith(block.indent):
            prefix = block.indent + extra + prefix[len(block.indent) :]
        lines.append(prefix + o.text)
    return lines


def render_blocks(blocks: Sequence[Block], env: InlineEnv, source: SourceLines) -> list[str]:
    """Every block of the outline, in order, numbered runs counted per level (B6)."""
    lines: list[str] = []
    stack: list[tuple[Iterator[Block], list[int]]] = [(iter(blocks), [0])]
    while stack:
        siblings, counter = stack[-1]
        block = next(siblings, None)
        if block is None:
            stack.pop()
            continue
        out, numbered = convert_block(block, env)
        counter[0] = counter[0] + 1 if numbered else 0
        lines.extend(layout_block(block, out, counter[0] if numbered else None, source))
        if block.children:
            stack.append((iter(block.children), [0]))
    return lines


def convert_text_lines(lines: Sequence[str], env: InlineEnv, first_line: int = 1) -> list[str]:
    """Lines outside the outline (text before the first bullet) or a block's lines without
    its properties (a Readwise note's): same rules, no properties."""
    if len(lines) == 1:
        # fast path (tests/test_convert_fast.py): one line pairs with no fence and closes no
        # region (a #+BEGIN, drawer, %% or $$ block needs a later line), so it is text
        env.findings.line = first_line
        return [convert_inline(lines[0], env)]
    return [o.text for o in _Region(env, first_line, {}, None).convert(lines, 0)]
