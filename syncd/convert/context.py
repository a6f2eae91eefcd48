"""What conversion rules may know: the graph-wide index and the user's options (pure values).

Rules only read the graph-wide index (``syncd.migrate`` keeps it), so converting one page
never needs another page's text. Readwise notes are rendered with the same context.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from syncd.logseq.dates import format_moment, parse_journal_title
from syncd.logseq.graph_config import GraphConfig


@dataclass(slots=True, unsafe_hash=True)
class InlineContext:
    """Journal links (row J2): the graph's journal title formats, the daily-note format."""

    journal_title_formats: tuple[str, ...] = ("MMM do, yyyy",)
    daily_note_format: str = "YYYY-MM-DD"  # Obsidian daily notes (moment.js syntax)

    def journal_date(self, name: str) -> date | None:
        return _journal_date(name.strip(), self.journal_title_formats)

    def daily_note(self, day: date) -> str:
        return _daily_note(day, self.daily_note_format)


# Both are pure and see the same few names and days again and again (every [[link]] of every
# block asks whether it is a journal date): cached, with a bound.
@functools.lru_cache(maxsize=8192)
def _journal_date(name: str, formats: tuple[str, ...]) -> date | None:
    return parse_journal_title(name, formats)


@functools.lru_cache(maxsize=8192)
def _daily_note(day: date, fmt: str) -> str:
    return format_moment(day, fmt)


class TagStyle(enum.Enum):
    """Row L3: ``#[[multi word]]``."""

    TAG = "tag"  # -> #multi-word (default)
    LINK = "link"  # -> [[multi word]]


class BlockRefStyle(enum.Enum):
    """Row R1: ``((uuid))``."""

    LINK = "link"  # -> [[Note#^uuid]] (default)
    EMBED = "embed"  # -> ![[Note#^uuid]] (shows the text inline, as Logseq does)


class TaskStyle(enum.Enum):
    """Rows T2, T3: priorities and dates."""

    TASKS = "tasks"  # Tasks-plugin emoji: ⏫ 🔼 🔽, ⏳ 📅 🔁 (default)
    DATAVIEW = "dataview"  # [priority:: high], [scheduled:: 2024-09-01], [due:: …]


class LogbookStyle(enum.Enum):
    """Row T4: ``:LOGBOOK:`` drawers."""

    DROP = "drop"  # default
    COMMENT = "comment"  # kept inside %% … %%


class BlockPropertyStyle(enum.Enum):
    """Row B1: block properties."""

    INLINE = "inline"  # key:: value, a Dataview inline field (default)
    BRACKETED = "bracketed"  # [key:: value]


class ReadwiseLayout(enum.Enum):
    """Where ``include: all`` puts a Readwise page's note."""

    PAGE = "page"  # its Logseq page name and namespace folder, like any page (default)
    CATEGORY = "category"  # <into>/<Category>/<Title>.md, as include: readwise does


@dataclass(slots=True, unsafe_hash=True)
class ConvertOptions:
    """The ALT rows of logseq-to-obsidian.md as choices; defaults are the REC rows."""

    tag_style: TagStyle = TagStyle.TAG
    block_ref_style: BlockRefStyle = BlockRefStyle.LINK
    task_style: TaskStyle = TaskStyle.TASKS
    logbook: LogbookStyle = LogbookStyle.DROP
    block_properties: BlockPropertyStyle = BlockPropertyStyle.INLINE
    journal_link_alias: bool = True  # J2: [[2023-02-12|Feb 12th, 2023]] (False: [[2023-02-12]])
    date_properties_as_dates: bool = False  # P2f ALT: created/date/published -> bare ISO date
    keep_icon: bool = False  # P10 ALT: keep icon: for the Iconize plugin
    publish_property: bool = False  # P6 ALT: public:: true -> publish: true
    expand_macros: bool = True  # M3: expand user macros from config.edn :macros
    embed_assets_as_wikilinks: bool = True  # A1: ![[x.png]] (False: ![alt](assets/x.png))
    comma_values_as_links: bool = True  # P2b: ["[[a]]", "[[b]]"] (False: plain strings [a, b])
    keep_title: bool = False  # P5 ALT: keep title:: as a title: property
    timestamps_as_dates: bool = False  # P11 ALT: created-at/updated-at -> created/updated dates
    doing_as_tag: bool = False  # T1a ALT: DOING/NOW -> "- [ ] x #doing" (default "- [/] x")
    readwise_layout: ReadwiseLayout = ReadwiseLayout.PAGE  # Readwise pages: page name or category


@dataclass(slots=True, unsafe_hash=True)
class GraphIndex:
    """Graph-wide facts from the first pass. Keys of ``names`` are lower-cased page names
    *and* aliases; values are the Obsidian link target of the note (vault-relative path without
    ``.md``, shortened to the bare name when that is unique in the vault)."""

    names: Mapping[str, str] = field(default_factory=dict)
    # lower-cased alias -> the canonical page's name as written (for [[Target|alias]])
    aliases: Mapping[str, str] = field(default_factory=dict)
    # block uuid (lower-case) -> link target of the note that holds the block
    blocks: Mapping[str, str] = field(default_factory=dict)
    # asset file name -> vault-relative path where it was copied
    assets: Mapping[str, str] = field(default_factory=dict)
    # uuid of a page-properties block (id:: in the pre-block, row P7) -> link target of the
    # note: ((uuid)) to it becomes [[Note]], there is no block to anchor
    page_uuids: Mapping[str, str] = field(default_factory=dict)
    # lower-cased names of whiteboards (not converted): links and embeds to them are reported
    whiteboards: frozenset[str] = frozenset()


@dataclass(slots=True, unsafe_hash=True)
class ConvertContext:
    graph: GraphConfig
    index: GraphIndex
    options: ConvertOptions
    inline: InlineContext  # journal formats and daily-note format for J2
    page_name: str  # the page being converted (for reports and self-references)
    # block uuid (lower-cased) -> a block anchor in the note being written: a ref to it is a
    # link inside that note (a Readwise highlight's id:: -> its ^rw- anchor)
    anchors: Mapping[str, str] = field(default_factory=dict)
    # a line's conversion by its text, kept while the context lives (syncd.note: the same
    # tag and header lines recur in every Readwise note). A context is made for one pass,
    # with the index as it is then; one with other ``anchors`` starts with its own
    converted: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    # a [[name]]'s link by its name, kept as long (convert.inline; tags recur from line to line)
    links: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
