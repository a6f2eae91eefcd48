"""A Logseq page or journal -> an Obsidian note (pure; the entry point of ``syncd.convert``).

``convert_page`` turns the parsed page into frontmatter items (``properties``, rows P1–P13)
and a Markdown body (``blocks`` for the outline, ``inline`` for the tokens), using only the
graph-wide index in the context for other pages. The body is a fixpoint: converting it again
(``parse_page`` on the body, then ``convert_page``) gives the same body.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.convert.blocks import SourceLines, block_uuid, convert_text_lines, render_blocks
from syncd.convert.context import ConvertContext
from syncd.convert.inline import InlineEnv
from syncd.convert.links import anchor_id
from syncd.convert.properties import page_aliases, page_frontmatter
from syncd.convert.report import Findings, Unsupported
from syncd.logseq.model import Page
from syncd.yamlout import Value, dump_frontmatter

__all__ = [
    "ConvertedNote",
    "Unsupported",
    "convert_page",
    "page_aliases",
    "page_block_ids",
    "page_uuid",
    "render_note",
]


@dataclass(slots=True, unsafe_hash=True)
class ConvertedNote:
    frontmatter: tuple[tuple[str, Value], ...]
    body: str  # Markdown, ends with "\n" (or is "")
    references: frozenset[str]  # lower-cased page names and aliases the page refers to
    block_ids: frozenset[str]  # uuids of the blocks that got a ^anchor here
    unsupported: tuple[Unsupported, ...]  # what has no Obsidian equivalent, for the report
    block_refs: frozenset[str] = frozenset()  # uuids of other blocks this page points at
    assets: frozenset[str] = frozenset()  # asset paths (inside assets/) the page uses
    # what the rules dropped and how often (docs/logseq-rows.md), for the run's summary
    dropped: tuple[tuple[str, int], ...] = ()


def convert_page(page: Page, ctx: ConvertContext, source: str | None = None) -> ConvertedNote:
    """Convert one page. ``source`` is the text ``page`` was parsed from: with it every line
    keeps its exact indentation; without it lines are indented the way Logseq writes them."""
    findings = Findings()
    env = InlineEnv(ctx, findings)
    if ctx.page_name.lower().startswith("hls__"):
        findings.report("A4", "PDF highlights page (annotation positions not kept)", ctx.page_name)
    frontmatter = page_frontmatter(page, env)
    lines = _preamble(page, env)
    lines.extend(render_blocks(page.blocks, env, SourceLines(source)))
    body = "\n".join(lines) + "\n" if lines else ""
    return ConvertedNote(
        frontmatter=tuple(frontmatter),
        body=body,
        references=frozenset(findings.references),
        block_ids=frozenset(findings.anchors),
        unsupported=tuple(findings.unsupported),
        block_refs=frozenset(findings.block_refs),
        assets=frozenset(findings.assets),
        dropped=tuple(sorted(findings.dropped.items())),
    )


def _preamble(page: Page, env: InlineEnv) -> list[str]:
    """Text before the first bullet, without the page-property lines (P1) and the YAML front
    matter block (its ``key: value`` lines are page properties)."""
    lines = list(page.preamble)
    if page.properties and not page.properties_in_first_block:
        drop = {prop.index for prop in page.properties} | set(range(page.front_matter))
        lines = [line for i, line in enumerate(lines) if i not in drop]
        while lines and not lines[0].strip():
            lines.pop(0)
    return convert_text_lines(lines, env)


def render_note(converted: ConvertedNote) -> str:
    """The note's text: the frontmatter block (none when empty), then the body."""
    if not converted.frontmatter:
        return converted.body
    return dump_frontmatter(converted.frontmatter) + converted.body


def page_block_ids(page: Page, text: str | None = None) -> tuple[str, ...]:
    """The lower-cased uuids of the page's blocks with an ``id::`` (row B2), for the index:
    ``((uuid))`` elsewhere becomes ``[[Note#^uuid]]``. A uuid repeated on the page counts once
    (only its first block gets the anchor). ``text``: what ``page`` was parsed from; when it
    holds no ``id::`` nor ``:id:`` in any case, no block has an id and none is looked at."""
    if text is not None:
        low = text.lower()
        if "id::" not in low and ":id:" not in low:
            return ()
    seen: dict[str, None] = {}
    for block in page.walk():
        uuid = block_uuid(block)
        if uuid is not None:
            seen.setdefault(uuid, None)
    return tuple(seen)


def page_uuid(page: Page) -> str | None:
    """The ``id::`` of the page-properties block (row P7), lower-cased: a ``((uuid))`` to it
    links to the whole note (``GraphIndex.page_uuids``)."""
    value = page.property_value("id")
    return anchor_id(value) if value is not None else None
