"""What a block points at: page references, tags and block references (pure).

Read the way Logseq's parser (mldoc) reads them, never inside code (logseq-to-obsidian.md §0,
§3 and §11, checked against mldoc 1.6.0 by tests/test_parser_vs_mldoc.py):

- pages: ``[[Page]]`` (nested ``[[a [[b]]]]`` is the one page ``a [[b]]``),
  ``[label]([[Page]])``, ``[label](Page name)`` (a link target that is not a URL, a file or an
  ``#anchor``), ``{{embed [[Page]]}}``, and every tag;
- tags: ``#tag`` and ``#[[multi word]]`` after whitespace or at the start of a line; a tag runs
  to the next space or ``[[``, trailing ``. , ; : ! ? ' " #`` excluded (``#v1.2.`` is ``v1.2``);
- blocks: ``((uuid))``, ``[label](((uuid)))``, ``{{embed ((uuid))}}``, lower-cased;
- nothing counts inside fenced code (mldoc's fence rules, :func:`code_line_mask`), inline code,
  a link or image target, a URL, or a macro other than ``embed`` (``{{query [[x]]}}``);
- a block property line contributes the page references and tags of its value, as pages
  only, except for a value in double quotes (kept literally) and for the built-in properties
  whose value Logseq keeps as raw text (``id``, ``title``, ``filters``, ...;
  :data:`RAW_VALUE_KEYS`).

Deliberate differences from mldoc (tested in tests/test_parser_vs_mldoc.py): mldoc also reads a
``#`` glued to a preceding character as a tag (``a#b``, ``"#q"``, ``(#t)``, ``x [#A]``) and a
``((...))`` with any text as a block reference; Obsidian reads neither, the reference table
(row L2) keeps such text as it is, and only uuids can be block references.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from syncd.logseq.model import Block
from syncd.logseq.parser import code_line_mask

__all__ = ["RAW_VALUE_KEYS", "References", "references", "text_references"]

# Built-in properties whose value Logseq stores as written (graph-parser property.cljs: the
# hidden and editable built-ins that are neither linkable nor typed): no references in them.
RAW_VALUE_KEYS: frozenset[str] = frozenset(
    {
        "id",
        "custom-id",
        "title",
        "icon",
        "template",
        "filters",
        "macro",
        "filetags",
        "background-color",
        "background_color",
        "ls-type",
        "hl-type",
        "hl-color",
        "hl-value",
        "query-properties",
        "query-sort-by",
        "logseq.macro-name",
        "logseq.macro-arguments",
        "logseq.order-list-type",
    }
)

_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"

# One alternative per token, tried leftmost first. Protected spans (code, link targets, URLs)
# are the ones syncd.rewrite.split_protected leaves alone, so the rewriter and this reader agree
# on what is text; a link target that *is* a reference is recognised before it is skipped.
_TOKEN_RE = re.compile(
    r"(?P<code>(`+)(?:.*?[^`])?\2(?!`))"
    r"|\[(?P<label>[^\[\]\n]*)\]\((?P<target>\[\[[^\[\]\n]+\]\]|\(\([^()\s]+\)\)|[^()\n]*)\)"
    r"|\]\(\[\[(?P<link_page>[^\[\]\n]+)\]\]\)"
    rf"|\]\(\(\((?P<link_block>{_UUID})\)\)\)"
    r"|(?P<protected>\]\([^)\s]*\)|<https?://[^>\s]*>|https?://[^\s)\]]+)"
    r"|\{\{(?P<macro>.*?)\}\}"
    r"|(?P<hash_link>(?<!\S)#\[\[)"
    r"|(?P<page>\[\[)"
    rf"|\(\((?P<block>{_UUID})\)\)"
    r"|(?<!\S)#(?P<tag>[^ \t\n]+)"
)
_EMBED_RE = re.compile(rf"^embed\s+(?:\[\[(?P<page>.+)\]\]|\(\((?P<block>{_UUID})\)\))\s*$")
_TAG_TRAILING = ".,;:!?'\"#"
_TAG_NOT_FIRST = ",'\""
# a link target that names a page (graph-parser get-page-reference, "Search" links): not a URL
# (``scheme://``, ``http:``, ``mailto:`` ...), not ``#anchor`` ``/path`` ``*x`` ``[x``, and no
# file extension (``paper.pdf``, ``diagram.png``)
_NOT_A_PAGE_TARGET_RE = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|(?:https?|file|mailto):|[#*/\[])|\.[A-Za-z0-9]{1,5}$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class References:
    """Targets in first-seen order, each once. ``pages`` includes the tags."""

    pages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()


class _Collector:
    def __init__(self) -> None:
        self.pages: dict[str, None] = {}
        self.tags: dict[str, None] = {}
        self.blocks: dict[str, None] = {}

    def page(self, name: str) -> None:
        self.pages.setdefault(name, None)

    def tag(self, name: str) -> None:
        self.pages.setdefault(name, None)
        self.tags.setdefault(name, None)

    def block(self, uuid: str) -> None:
        self.blocks.setdefault(uuid.lower(), None)

    def result(self) -> References:
        return References(tuple(self.pages), tuple(self.tags), tuple(self.blocks))


def _closing_brackets(text: str, start: int) -> int:
    """Index just past the ``]]`` that closes the ``[[`` at ``start`` (nesting counted), or -1."""
    depth = 0
    pos = start
    while pos < len(text) - 1:
        pair = text[pos : pos + 2]
        if pair == "[[":
            depth += 1
            pos += 2
        elif pair == "]]":
            depth -= 1
            pos += 2
            if depth == 0:
                return pos
        elif text[pos] == "\n":
            return -1
        else:
            pos += 1
    return -1


def _tag_name(raw: str) -> tuple[str, int]:
    """The tag in the text after ``#`` and how much of ``raw`` it used ("" when none)."""
    cut = raw.find("[[")
    body = raw if cut < 0 else raw[:cut]
    used = len(body)
    body = body.rstrip(_TAG_TRAILING)
    if not body or body[0] in _TAG_NOT_FIRST:
        return "", used
    return body, used


def _link_target(target: str, out: _Collector) -> None:
    """``[label](target)``: ``[[Page]]``, ``((uuid))`` or a page name; URLs and files are not."""
    target = target.strip()
    if target.startswith("<") and target.endswith(">"):
        target = target[1:-1].strip()
    if target.startswith("[[") and target.endswith("]]"):
        out.page(target[2:-2])
    elif target.startswith("(("):
        if re.fullmatch(rf"\(\({_UUID}\)\)", target):
            out.block(target[2:-2])
    elif target and not _NOT_A_PAGE_TARGET_RE.search(target):
        out.page(target)


def _scan(text: str, out: _Collector) -> None:
    if text.lstrip().startswith("#+"):  # #+BEGIN_QUOTE, #+END_TIP ...: directives, no tags
        return
    pos = 0
    while True:
        match = _TOKEN_RE.search(text, pos)
        if match is None:
            return
        pos = match.end()
        kind = match.lastgroup
        if match.group("target") is not None:
            _scan(match.group("label"), out)
            _link_target(match.group("target"), out)
        elif kind == "link_page":
            out.page(match.group("link_page"))
        elif kind == "link_block":
            out.block(match.group("link_block"))
        elif kind == "macro":
            embed = _EMBED_RE.match(match.group("macro").strip())
            if embed is not None and embed.group("page") is not None:
                out.page(embed.group("page"))
            elif embed is not None:
                out.block(embed.group("block"))
        elif kind in ("hash_link", "page"):
            opening = match.end() - 2
            end = _closing_brackets(text, opening)
            if end < 0:
                pos = match.end()
                continue
            name = text[opening + 2 : end - 2]
            if name.strip():
                if kind == "hash_link":
                    out.tag(name)
                else:
                    out.page(name)
            pos = end
        elif kind == "block":
            out.block(match.group("block"))
        elif kind == "tag":
            name, used = _tag_name(match.group("tag"))
            if name:
                out.tag(name)
            pos = match.start("tag") + max(used, 1)
        # "code" and "protected": skipped


def text_references(text: str) -> References:
    """References in one piece of inline text (a line, a property value); no fence tracking."""
    out = _Collector()
    _scan(text, out)
    return out.result()


def references(block: Block, *, raw_keys: Collection[str] = RAW_VALUE_KEYS) -> References:
    """The pages, tags and block uuids ``block`` itself refers to (not its children's).

    ``raw_keys``: lower-case property keys whose values hold no references; add the graph's
    ``:ignored-page-references-keywords`` to the default set.
    """
    out = _Collector()
    skip = {
        p.index
        for p in block.properties
        if p.key.lower() in raw_keys or (len(p.value) >= 2 and p.value[0] == p.value[-1] == '"')
    }
    props = {p.index: p for p in block.properties}
    for index, (line, in_code) in enumerate(
        zip(block.lines, code_line_mask(block.lines), strict=True)
    ):
        if in_code or index in skip:
            continue
        prop = props.get(index)
        if prop is None:
            _scan(line, out)
            continue
        value = _Collector()
        _scan(prop.value, value)
        for name in value.pages:
            out.page(name)
    return out.result()
