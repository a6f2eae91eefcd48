"""One page of a Logseq graph on its way to a note (pure): its name, its note path, a plain
page or journal rendered with the graph index. ``syncd.plan.plan_page`` calls these, inline or
wherever the executor (``syncd.parallel``) runs it: the same functions either way.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from syncd.convert.index import JOURNAL, PAGE, READWISE
from syncd.logseq.dates import DateFormat, format_moment
from syncd.logseq.filenames import journal_date_from_file, page_name_from_file
from syncd.logseq.graph_config import GraphConfig
from syncd.logseq.model import Page
from syncd.names import note_path_stem, note_stem, plain_path, sanitize_title
from syncd.readwise import HIGHLIGHTS_SUFFIX_RE, category_folder, unquote_value

WHITEBOARD = "whiteboard"
ORG = "org"
PDF_HIGHLIGHTS = "pdf-highlights"
HIDDEN = "hidden"  # a page file under a ``:hidden`` path of logseq/config.edn
NOTE_KINDS = frozenset({PAGE, JOURNAL, READWISE})
PAGE_SUFFIXES = (".md", ".markdown")

DEFAULT_DAILY_FORMAT = "YYYY-MM-DD"
DEFAULT_ATTACHMENTS = "assets"


@dataclass(slots=True, unsafe_hash=True)
class VaultLayout:
    """Where Obsidian wants daily notes and attachments (read from ``.obsidian/``)."""

    daily_folder: str = ""  # vault-relative, "" = vault root
    daily_format: str = DEFAULT_DAILY_FORMAT  # moment.js
    attachments: str = DEFAULT_ATTACHMENTS  # vault-relative folder for copied assets


def join_path(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


class Sent:
    """A slots dataclass sent between processes, pickled as its class and field values: the
    C pickler then does the work (a slots dataclass otherwise pickles through Python code,
    for every page's task and plan)."""

    __slots__ = ()

    def __reduce__(self) -> tuple[type[Sent], tuple[object, ...]]:
        return type(self), tuple(map(self.__getattribute__, self.__slots__))


@dataclass(slots=True, unsafe_hash=True)
class FoundFile(Sent):
    """A file of the graph: its state key (graph-relative POSIX path), where, and its stat."""

    key: str
    abspath: str
    size: int
    mtime_ns: int
    kind: str  # PAGE or JOURNAL (page files), WHITEBOARD / ORG / PDF_HIGHLIGHTS, or "asset"

    @property
    def path(self) -> Path:
        return Path(self.abspath)

    @property
    def stem(self) -> str:  # path.stem, without a Path (the key ends in the file's name)
        return note_path_stem(self.key)


def page_note_path(name: str, into: str) -> str:
    """``<into>/<namespace folders>/<leaf>.md`` for page ``name`` (rows N1, N2, N6)."""
    parts = [p for p in unicodedata.normalize("NFC", name).split("/") if p.strip(". ")]
    segments = [note_stem(p) for p in parts] or [sanitize_title(name)]
    return join_path(into, *segments) + ".md"


def page_place(name: str) -> tuple[str, str]:
    """(namespace folder, file stem) of page ``name``'s note inside ``into``: where
    ``include: all`` puts a Readwise page's new note unless ``readwise_layout: category``."""
    folder, _, leaf = page_note_path(name, "").removesuffix(".md").rpartition("/")
    return folder, leaf


def journal_note_path(day: date, layout: VaultLayout) -> str:
    """Where Obsidian's Daily notes plugin keeps the note of ``day`` (row J1)."""
    return join_path(layout.daily_folder, format_moment(day, layout.daily_format)) + ".md"


@dataclass(slots=True, unsafe_hash=True)
class PageWork:
    """What reading and converting one page needs besides the page (pure values): the main
    process and the executor's (``syncd.parallel``) do it with the same one."""

    graph: GraphConfig
    journal_title: DateFormat
    repair_mojibake: bool
    max_page_bytes: int
    into: str  # the vault folder the graph's notes go into
    layout: VaultLayout  # where the daily notes go
    kinds: frozenset[str] = NOTE_KINDS  # the kinds of page the source makes notes of
    # a Readwise page's note in <into>/<Category>/ (include: readwise, or include: all with
    # readwise_layout: category); else at its page name like any page
    readwise_folders: bool = True


def page_name(work: PageWork, found: FoundFile, head: Page) -> tuple[str, date | None]:
    """The Logseq name of a page (``title::``, else the decoded file name); a journal's is
    the title of its date."""
    graph = work.graph
    if found.kind == JOURNAL:
        day = journal_date_from_file(found.stem, graph.journal_file_format)
        if day is not None:
            return work.journal_title.format(day), day
    title = unquote_value(head.property_value("title") or "")
    if title:
        return unicodedata.normalize("NFC", title), None
    return page_name_from_file(found.stem, graph.file_name_format), None


def natural_note(work: PageWork, key: str, kind: str, name: str, category: str) -> str:
    """The note path of page ``key`` when no other note has it: a journal's daily note, a
    Readwise page's note in the folder of its ``category`` (``Document.category``) where
    ``work.readwise_folders``, else the page's namespace path.
    Pure, so a page's plan works it out with its facts, in any process."""
    if kind == JOURNAL:
        day = journal_date_from_file(PurePosixPath(key).stem, work.graph.journal_file_format)
        assert day is not None, key  # JOURNAL facts come from a parsed date
        return journal_note_path(day, work.layout)
    if kind == READWISE and work.readwise_folders:
        title = HIGHLIGHTS_SUFFIX_RE.sub("", name)  # the document's title (document_names)
        folder = category_folder(category)
        return join_path(work.into, folder, note_stem(title.strip() or name)) + ".md"
    return page_note_path(name, work.into)


def split_note(note: str) -> tuple[str, str]:
    """(folder, stem): ``PurePosixPath(note)``'s parent ("" for none) and stem."""
    if plain_path(note):
        return note.rpartition("/")[0], note_path_stem(note)
    path = PurePosixPath(note)
    folder = str(path.parent)
    return ("" if folder == "." else folder), path.stem
