"""Rendering a Readwise document as Obsidian Markdown (pure).

The outline stays Logseq's (TAB-indented ``- `` bullets); each block's lines go through the
rules of every Logseq page (``syncd.convert``), and each highlight gets a ``^rw-…`` anchor at
the end of its text so syncd recognises it after the user edits or moves it. Readwise's own:
those anchors (look-alikes escaped), the layout, the block properties Logseq adds to a
highlight (dropped; any other ``key:: value`` line is text) and the frontmatter keys.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace

from syncd.convert.blocks import HTML_LINE_RE, anchored, convert_text_lines
from syncd.convert.context import ConvertContext
from syncd.convert.inline import InlineEnv, contains, may_rewrite
from syncd.convert.properties import TAG_LINKS_KEY, name_tags, property_names
from syncd.convert.report import Findings
from syncd.logseq.model import Block, Page
from syncd.logseq.parser import FENCE_RE
from syncd.readwise import (
    INTERNAL_BLOCK_PROPERTIES,
    Document,
    Item,
    Section,
    category_property,
    document_url,
    normalize_text,
    unquote_value,
)
from syncd.yamlout import Value

ID_KEY = "syncd-id"
ANCHOR_RE = re.compile(r"\s\^(rw-[0-9a-f]{12})\s*$")
_FAKE_ANCHOR_RE = re.compile(r"(^|\s)\^(rw-[0-9a-f]{12}\s*)$")  # in source text: escaped
# Logseq block properties with no meaning in Obsidian (P8, P11, B2 handled by anchors)
DROPPED_BLOCK_PROPERTIES = INTERNAL_BLOCK_PROPERTIES
# page properties syncd turns into its own frontmatter keys
OWN_PAGE_PROPERTIES = frozenset(
    {"title", "author", "full-title", "category", "url", "summary", "tags", "alias", "aliases"}
)
DROPPED_PAGE_PROPERTIES = frozenset({"id", "collapsed", "filters", "icon", "public"})


def text_sha(lines: Sequence[str]) -> str:
    """Edit-detection hash of a highlight's rendered text (indentation and anchor ignored)."""
    if len(lines) == 1:  # most highlights: nothing to join
        text = lines[0]
        if contains(text, "^rw-"):
            text = ANCHOR_RE.sub("", text)
    else:
        text = "\n".join(ANCHOR_RE.sub("", line) if "^rw-" in line else line for line in lines)
    return hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()


MAX_CONVERTED = 8192  # lines a context keeps converted (a bound on memory)


def _env(ctx: ConvertContext) -> InlineEnv:
    """The inline rules' state for one rendering (a Readwise note's findings are not kept)."""
    return InlineEnv(ctx, Findings())


def _block_lines(block: Block, ctx: ConvertContext) -> list[str]:
    """A block's content lines (dropped properties removed), converted."""
    if len(block.lines) == 1 and not block.properties:  # most blocks: one line of text
        line = block.lines[0]
        if "^" not in line and not may_rewrite(line):
            return [line]  # no anchor look-alike (^rw-), no token a rule rewrites
        known = ctx.converted.get(line)
        if known is None:
            if len(ctx.converted) >= MAX_CONVERTED:
                ctx.converted.clear()
            known = ctx.converted[line] = "\n".join(_converted([line], ctx, block.line))
        return known.split("\n")
    if block.properties:
        dropped = {p.index for p in block.properties if p.key.lower() in DROPPED_BLOCK_PROPERTIES}
        lines = [line for i, line in enumerate(block.lines) if i not in dropped]
    else:
        lines = list(block.lines)
    return _converted(lines, ctx, block.line)


def _converted(lines: list[str], ctx: ConvertContext, first_line: int) -> list[str]:
    # text that ends like syncd's own anchor would make a later highlight look written
    lines = [
        _FAKE_ANCHOR_RE.sub(r"\1\\^\2", line) if contains(line, "^rw-") else line for line in lines
    ]
    return convert_text_lines(lines or [""], _env(ctx), first_line)


def indent_lines(lines: Sequence[str], depth: int) -> list[str]:
    """Lay out a block's lines as a bullet at ``depth`` (TAB per level, Logseq style)."""
    indent = "\t" * depth
    out = [f"{indent}- {lines[0]}".rstrip() if lines[0] else f"{indent}-"]
    if len(lines) > 1:
        out.extend(f"{indent}  {line}" if line.strip() else "" for line in lines[1:])
    return out


def with_anchor(lines: list[str], anchor: str) -> list[str]:
    """A highlight's lines with ``^anchor`` on its last line that is not blank (``anchored``)."""
    out = list(lines)
    while len(out) > 1 and not out[-1].strip():
        out.pop()
    last = out[-1]
    fence = ("`" in last or "~" in last) and FENCE_RE.match(last) is not None
    out[-1:] = anchored(last, anchor, fence=fence)
    return out


def renders_as_is(line: str) -> bool:
    """Whether a one-line highlight is written as it is, its anchor appended (the fast paths):
    no anchor look-alike, no token a rule rewrites, no fence, no HTML."""
    return (
        "^" not in line
        and "`" not in line
        and "~" not in line
        and not may_rewrite(line)
        and not ("<" in line and HTML_LINE_RE.match(line))
    )


# what renders_as_is and _block_lines look for in a line but "[[" and "(("
_REWRITE_MARKS = ("#", "{", "^", "`", "~", "<", "assets/")


def links_only(text: str, start: int = 0) -> bool:
    """No line of ``text[start:]`` holds what ``renders_as_is`` or ``_block_lines`` look for
    but ``[[`` and ``((``: for a line of it without ``((``, both are ``"[[" not in line``."""
    return not any(text.find(mark, start) >= 0 for mark in _REWRITE_MARKS)


def render_own(item: Item, depth: int, ctx: ConvertContext) -> tuple[list[str], str]:
    """A highlight's own lines at ``depth``, anchored, and its text's hash (``text_sha``)."""
    block = item.block
    if item.is_block:  # not a highlight: no anchor
        lines = _block_lines(block, ctx)
        return indent_lines(lines, depth), text_sha(lines)
    if len(block.lines) == 1 and not block.properties:
        line = block.lines[0]
        if renders_as_is(line):
            # most highlights: what the general path below comes down to for them
            # (tests/test_fastpath.py)
            text, anchor = line.rstrip(), item.anchor
            own = f"{text} ^{anchor}" if text else f"^{anchor}"
            sha = hashlib.sha1(normalize_text(line).encode("utf-8")).hexdigest()
            indent = "\t" * depth
            return [f"{indent}- {own}"], sha
    lines = _block_lines(block, ctx)
    return indent_lines(with_anchor(lines, item.anchor), depth), text_sha(lines)


def render_attributes(item: Item, depth: int, ctx: ConvertContext) -> list[str]:
    return [line for block in item.attributes for line in render_block_tree(block, depth + 1, ctx)]


def render_trailing(item: Item, depth: int, ctx: ConvertContext) -> list[str]:
    """The blocks after a highlight that belong to it (a location link), at its depth."""
    return [line for block in item.trailing for line in render_block_tree(block, depth, ctx)]


def document_context(doc: Document, ctx: ConvertContext) -> ConvertContext:
    """``ctx`` for rendering ``doc``: a ref to one of its highlights links to its anchor."""
    return replace(ctx, anchors=doc.anchors, converted={}) if doc.anchors else ctx


def render_block_tree(block: Block, depth: int, ctx: ConvertContext) -> list[str]:
    out = indent_lines(_block_lines(block, ctx), depth)
    for child in block.children:
        out.extend(render_block_tree(child, depth + 1, ctx))
    return out


def render_header(section: Section, ctx: ConvertContext) -> list[str]:
    assert section.header is not None
    return indent_lines(_block_lines(section.header, ctx), 0)


def frontmatter_items(doc: Document, ctx: ConvertContext) -> list[tuple[str, Value]]:
    """The frontmatter syncd writes when it creates a document's note (design.md)."""
    page = doc.page
    items: list[tuple[str, Value]] = []
    if doc.author:
        items.append(("author", f"[[{doc.author}]]"))
    items.append(("full-title", doc.full_title))
    if doc.category:
        items.append(("category", doc.category))
    url = document_url(page)
    if url:
        items.append(("url", url))
    summary = page.property_value("summary")
    if summary:
        items.append(("summary", unquote_value(summary)))
    # tags:: (P3), then what category:: holds besides the category (design.md "Note path")
    tag_names = property_names(page.property_value("tags") or "", ctx.graph)
    names = [*tag_names, *doc.category_tags]
    tags, tag_links = name_tags(names, _env(ctx)) if names else ([], [])
    if tags:
        items.append(("tags", tags))
    if tag_links:
        items.append((TAG_LINKS_KEY, tag_links))
    # one key once (Obsidian reads property names case-insensitively), and never syncd's own
    # identity key: a page property named syncd-id would otherwise hijack the note's identity
    taken = {key.casefold() for key, _ in items} | {"aliases", ID_KEY}
    category_from = category_property(page)
    if doc.category and category_from is not None:
        taken.add(category_from[0])  # media:: read as the category is the category key
    for prop in page.properties:
        key = prop.key.lower()
        if key in OWN_PAGE_PROPERTIES or key in DROPPED_PAGE_PROPERTIES or not prop.value:
            continue
        if prop.key.casefold() in taken:
            continue
        taken.add(prop.key.casefold())
        items.append(
            (prop.key, unquote_value(prop.value) if prop.value.startswith('"') else prop.value)
        )
    aliases = [doc.page_name] if doc.page_name and doc.page_name != doc.title else []
    alias = page.property_value("alias") or page.property_value("aliases") or ""
    for name in property_names(alias, ctx.graph):  # row P4
        if name not in aliases:
            aliases.append(name)
    if aliases:
        items.append(("aliases", aliases))
    items.append((ID_KEY, str(doc.id)))
    return items


def preamble_body(page: Page, ctx: ConvertContext) -> list[str]:
    """Non-property lines before the first bullet (the cover image ``![](…)``)."""
    prop_lines = {p.index for p in page.properties} if not page.properties_in_first_block else set()
    prop_lines.update(range(page.front_matter))  # a YAML front matter block: page properties
    lines = [line for i, line in enumerate(page.preamble) if i not in prop_lines]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return convert_text_lines(lines, _env(ctx)) if lines else []
