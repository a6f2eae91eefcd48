"""Where a Logseq reference points in the vault (rows L1, L4, J2, J3, R1, P4).

Pure lookups in the graph-wide index: a page name (or alias) gives the note's link target, a
journal title in any of the graph's title formats gives the daily note, a block uuid gives the
note that holds the block.

>>> from syncd.convert.context import ConvertContext, ConvertOptions, GraphIndex, InlineContext
>>> from syncd.logseq.graph_config import GraphConfig
>>> ctx = ConvertContext(GraphConfig(), GraphIndex(names={"ml": "Machine Learning"}),
...                      ConvertOptions(), InlineContext(), "x")
>>> wikilink("ML", ctx), wikilink("Feb 12th, 2023", ctx), wikilink("Nowhere", ctx)
('[[Machine Learning|ML]]', '[[2023-02-12|Feb 12th, 2023]]', '[[Nowhere]]')
"""

from __future__ import annotations

import re
from datetime import date

from syncd.convert.context import ConvertContext
from syncd.convert.report import name_key
from syncd.logseq.parser import unescape_markdown

# Obsidian block ids: letters, digits and dashes (a Logseq uuid as it is)
ANCHOR_ID_RE = re.compile(r"[A-Za-z0-9-]+")


def anchor_id(value: str) -> str | None:
    """An ``id::`` value, lower-cased, when Obsidian accepts it as a block id (B2, P7)."""
    value = value.strip().lower()
    return value if ANCHOR_ID_RE.fullmatch(value) else None


def journal_day(name: str, ctx: ConvertContext) -> date | None:
    """The date of a journal title in one of the graph's title formats (J2), else None;
    also written with Markdown escapes (Readwise's ``[[2024\\-03\\-09]]``)."""
    try:
        day = ctx.inline.journal_date(name)
        if day is None and "\\" in name:
            day = ctx.inline.journal_date(unescape_markdown(name))
        return day
    except ValueError:
        return None


def page_target(name: str, ctx: ConvertContext) -> tuple[str, bool]:
    """(link target, is a daily note) for the page ``name``; unknown pages keep their name."""
    day = journal_day(name, ctx)
    if day is not None:
        return ctx.inline.daily_note(day), True
    names = ctx.index.names
    target = names.get(name_key(name)) if names else None
    return (target if target else name.strip()), False


def _linked(name: str, target: str, journal: bool, ctx: ConvertContext) -> str:
    """The target written in the link: a note of the graph (a journal's daily note, a page the
    index knows) named like a file gets its ``.md``; an unknown name stays as it is (it may
    be an attachment, and converting the note again must not change it)."""
    names = ctx.index.names
    if journal or (names and name_key(name) in names):
        return note_link_target(target)
    return target


# Obsidian reads a link whose last part ends like a file extension (``tasks.json``,
# ``config.edn``, ``v1.2``) as a link to an attachment, not to a note
_FILE_LIKE_RE = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def note_link_target(target: str) -> str:
    """``target`` (a note of the vault) as Obsidian finds it: ``tasks.json`` ->
    ``tasks.json.md`` (a page named like a file, row L1); any other target as it is."""
    last = target.rpartition("/")[2]
    if _FILE_LIKE_RE.search(last) and not last.lower().endswith(".md") and last.strip(".") != "":
        return f"{target}.md"
    return target


def same_name(a: str, b: str) -> bool:
    """Obsidian resolves links case-insensitively."""
    return a == b or name_key(a) == name_key(b)


def wikilink(name: str, ctx: ConvertContext, label: str | None = None) -> str:
    """``[[Target|text]]`` for a reference to ``name`` shown as ``label`` (default: ``name``):
    only a target whose name differs (alias, renamed or sanitized note, journal date) adds
    ``Target|``; journal links drop their text with ``journal_link_alias`` off."""
    target, journal = page_target(name, ctx)
    shown = label if label else unescape_markdown(name) if journal else name
    linked = _linked(name, target, journal, ctx)
    if journal and not label and not ctx.options.journal_link_alias and linked == target:
        return f"[[{target}]]"
    if same_name(target, shown) and linked == target:
        return f"[[{shown}]]"
    return f"[[{linked}|{shown}]]"


def property_link(name: str, ctx: ConvertContext) -> str:
    """A link inside a frontmatter value (P2, P2f): ``[[2023-02-12]]`` for a journal (no
    text), ``[[Target|alias]]`` for an alias or a renamed note."""
    target, journal = page_target(name, ctx)
    linked = _linked(name, target, journal, ctx)
    if (journal or same_name(target, name)) and linked == target:
        return f"[[{target if journal else name.strip()}]]"
    return f"[[{linked}|{name.strip()}]]"


def embed_target(name: str, ctx: ConvertContext) -> str:
    """The target of ``![[...]]`` for a page embed (E1, J3): no text part."""
    target, journal = page_target(name, ctx)
    shown = target if journal or not same_name(target, name) else name.strip()
    return _linked(name, shown, journal, ctx)


def block_target(uuid: str, ctx: ConvertContext) -> str | None:
    """``Note#^uuid`` for a block ref (R1, E2, L6), ``Note`` for the page-properties block
    (P7); None when the uuid is not in the graph."""
    key = uuid.lower()
    if ctx.anchors:
        anchor = ctx.anchors.get(key)
        if anchor is not None:
            return f"#^{anchor}"  # a block of the note itself
    note = ctx.index.blocks.get(key)
    if note is not None:
        return f"{note_link_target(note)}#^{key}"
    page = ctx.index.page_uuids.get(key)
    return note_link_target(page) if page is not None else None
