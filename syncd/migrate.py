"""Migrating a whole Logseq graph (``include: all``): pages, journals and assets (I/O edge).

Two passes over graph-wide indexes (design.md; logseq-to-obsidian.md §0, §10):

1. **Index.** Every page whose size or mtime differs from the state store is read, and its
   *index facts* taken: kind (page, journal, Readwise document), name, aliases, block ids and
   note path. Unchanged pages are not read: their facts come from the state store
   (``graph_pages``, keyed by the page's fingerprint). From the facts of the whole graph comes
   the :class:`~syncd.convert.context.GraphIndex`: page names and aliases -> link targets, block
   uuids -> notes, assets -> vault paths.
2. **Convert.** Each changed page is converted and written, plus every unchanged page whose
   note depends on a name, alias, block or asset whose target changed between the index of the
   last run and this one (the reverse index of the ``deps`` recorded at each conversion). A
   page whose full parse disagrees with its pass-1 facts corrects the index and requeues the
   pages that depend on what moved.

Where notes go (decisions):

- *Pages*: ``<into>/<namespace folders>/<leaf>.md``: ``a/b/c`` gives folders ``a/b`` and the
  note ``c.md``, every segment sanitized (``syncd.names``), NFC. Two pages that map to one path
  (case-insensitively) collide: the first keeps it (pages already migrated first, then in
  path order); the other is not converted and is reported (row N7). A path held by a vault file
  syncd never wrote gets ``"<leaf> (2)"`` instead (nothing of the user's is touched).
- *Journals* go where Obsidian's Daily notes plugin expects them: the ``folder`` of
  ``.obsidian/daily-notes.json`` (relative to the **vault root**, not to ``into``: the plugin
  opens today's note there) and its moment.js ``format``; default ``YYYY-MM-DD`` at the vault
  root. A daily note the user already has there is never overwritten: the journal goes to a
  conflict copy beside it.
- *Readwise pages* keep their Readwise note (``<into>/<Category>/<Title>.md``) and the
  per-highlight merge (``syncd.sync``); their links use the graph's link targets.
- *Assets*: every file of the graph's ``assets/`` folder is copied into the attachment folder of
  ``.obsidian/app.json`` (``attachmentFolderPath``: ``/`` = vault root, ``./sub`` = ``<into>/sub``,
  a folder name = that folder), default ``<into>/assets``; sub-folders are kept. A copy is made
  only when the source changed; a different file the user put at that path is never
  overwritten (the asset gets ``"<name> (2).<ext>"`` and is reported).
- A note path, once given to a page, is stored and never changes by itself.

Writing (merge rule 7): a note still equal to what syncd last wrote (the *base*, in the state
store) is replaced; a note the user edited is three-way merged (``syncd.threeway``) with the new
version against the base; where that conflicts, the new version goes to
``<Note>.sync-conflict-<YYYYMMDD-HHMMSS>.md`` beside the note and the user's note stays as it
is. Every write is a compare-and-swap on the stamp read before. A note the user deleted comes
back only when its page changes.

Skipped and reported: whiteboards, ``.org`` pages, ``assets/*.edn`` (PDF highlight stores),
hidden paths (``:hidden``, not reported), ``logseq/bak`` and ``logseq/.recycle`` (never listed).
PDF highlight pages (``hls__*``) are converted as text and reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from syncd.convert import page as convert
from syncd.convert.context import (
    ConvertContext,
    ConvertOptions,
    GraphIndex,
    InlineContext,
    readwise_context,
)
from syncd.convert.page import ConvertedNote, Unsupported
from syncd.errors import ConcurrentModification, SyncdError, VaultWriteError
from syncd.helper_pool import MIN_PAGES as HELPERS_MIN_PAGES
from syncd.logseq.dates import COMMON_TITLE_FORMATS, DateFormat, compile_format, format_moment
from syncd.logseq.filenames import journal_date_from_file, page_name_from_file
from syncd.logseq.graph_config import CONFIG_PATH, GraphConfig, load_graph_config
from syncd.logseq.model import Page
from syncd.logseq.parser import FENCE_RE, parse_page
from syncd.names import MAX_NAME_BYTES, note_stem, sanitize_title, unique_name
from syncd.readwise import (
    ASIN_RE,
    CATEGORY_FOLDERS,
    document_from_page,
    is_readwise_page,
    unquote_value,
)
from syncd.state import GraphAsset, GraphPage, SourceRecord, StateStore, text_sha256
from syncd.textio import decode_page
from syncd.threeway import merge3
from syncd.vault import TEMP_PREFIX, TEMP_SUFFIX, FileStamp, Vault, fold_name, is_temp_file

if TYPE_CHECKING:
    from syncd.config import SourceConfig
    from syncd.helper_pool import HelperPool
    from syncd.migrate_helpers import Converted, ConvertTask, Scanned, ScanTask
    from syncd.prepare import Prepared
    from syncd.sync import ReadwiseHint, RunReport

log = logging.getLogger(__name__)

FORMAT_VERSION = "1"  # bump when the conversion changes: every note is converted again
PAGE = "page"
JOURNAL = "journal"
READWISE = "readwise"
WHITEBOARD = "whiteboard"
ORG = "org"
PDF_HIGHLIGHTS = "pdf-highlights"
NOTE_KINDS = frozenset({PAGE, JOURNAL, READWISE})
PAGE_SUFFIXES = (".md", ".markdown")
MAX_CORRECTIONS = 3  # times one page may be converted again in a run after the index moved
CONFLICT_INFIX = ".sync-conflict-"
DEFAULT_DAILY_FORMAT = "YYYY-MM-DD"
DEFAULT_ATTACHMENTS = "assets"
_SKIPPED_REASONS = {
    WHITEBOARD: "whiteboard (no Obsidian equivalent; not converted)",
    ORG: "Org-mode page (only Markdown graphs are converted)",
    PDF_HIGHLIGHTS: "PDF highlight store (positions cannot be kept; not copied)",
}
_ID_RE = re.compile(
    r"^[ \t]*id::[ \t]*([0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})[ \t]*$",
    re.MULTILINE,
)
_HEADER_LINE_RE = re.compile(
    r"^-[ \t]+(?:#{1,6}\s+)?(?:Highlights first synced by|New highlights added|"
    r"Highlights synced by)\b",
    re.MULTILINE | re.IGNORECASE,
)
_BULLET_RE = re.compile(r"[ \t]*-(?:[ \t]|$)")
_LOGSEQ_IGNORED = ("node_modules", "version-files")


# --------------------------------------------------------------------------------- converter


@dataclass(frozen=True, slots=True)
class Converter:
    """The page converter's entry points (``syncd.convert.page``; tests may substitute)."""

    convert_page: Callable[[Page, ConvertContext, str], ConvertedNote]  # (page, ctx, source)
    render_note: Callable[[ConvertedNote], str]
    page_aliases: Callable[[Page, GraphConfig], tuple[str, ...]]
    page_block_ids: Callable[[Page], tuple[str, ...]]
    page_uuid: Callable[[Page], str | None]


def load_converter() -> Converter:
    """The converter of ``syncd.convert.page``."""
    return Converter(
        convert_page=convert.convert_page,
        render_note=convert.render_note,
        page_aliases=convert.page_aliases,
        page_block_ids=convert.page_block_ids,
        page_uuid=convert.page_uuid,
    )


# --------------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class VaultLayout:
    """Where Obsidian wants daily notes and attachments (read from ``.obsidian/``)."""

    daily_folder: str = ""  # vault-relative, "" = vault root
    daily_format: str = DEFAULT_DAILY_FORMAT  # moment.js
    attachments: str = DEFAULT_ATTACHMENTS  # vault-relative folder for copied assets


def read_vault_layout(vault_root: Path, into: str) -> VaultLayout:
    """Daily-notes folder and format, attachment folder: Obsidian's settings where they exist.

    ``.obsidian/daily-notes.json``: ``folder`` (relative to the vault root) and ``format``
    (default ``YYYY-MM-DD``). ``.obsidian/app.json`` ``attachmentFolderPath``: ``/`` is the vault
    root, ``./`` and ``./sub`` (next to each note) become ``<into>`` and ``<into>/sub``, anything
    else is a vault folder; absent: ``<into>/assets``. Unreadable or invalid values are warned
    about and replaced by the default.
    """
    daily = _read_json(vault_root / ".obsidian" / "daily-notes.json")
    app = _read_json(vault_root / ".obsidian" / "app.json")
    folder = _clean_folder(daily.get("folder"), "daily-notes.json folder") or ""
    fmt = daily.get("format")
    daily_format = DEFAULT_DAILY_FORMAT
    if isinstance(fmt, str) and fmt.strip():
        try:
            format_moment(date(2023, 2, 12), fmt.strip())
        except ValueError as exc:
            log.warning("%s: daily-notes.json format: %s; using %s", vault_root, exc, fmt)
        else:
            daily_format = fmt.strip()
    attach_raw = app.get("attachmentFolderPath")
    attachments = _join(into, DEFAULT_ATTACHMENTS)
    if isinstance(attach_raw, str) and attach_raw.strip():
        raw = attach_raw.strip()
        if raw == "/":
            attachments = ""
        elif raw == "." or raw.startswith("./"):
            sub = _clean_folder(raw[2:], "app.json attachmentFolderPath")
            attachments = _join(into, sub or "")
        else:
            cleaned = _clean_folder(raw, "app.json attachmentFolderPath")
            if cleaned is not None:
                attachments = cleaned
    return VaultLayout(daily_folder=folder, daily_format=daily_format, attachments=attachments)


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s: not readable (%s); using Obsidian's defaults", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _clean_folder(value: object, what: str) -> str | None:
    """A vault-relative folder ("a/b"), or None when absent or unusable (warned about)."""
    if not isinstance(value, str):
        return None
    parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts or any("\0" in p for p in parts):
        log.warning("%s %r leaves the vault; using the default", what, value)
        return None
    return "/".join(parts)


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def _plain(note: str) -> bool:
    """Whether ``note`` is a plain relative path (no empty or ``.`` segment), which
    ``PurePosixPath`` leaves as it is: its parts are what splitting it at ``/`` gives."""
    return not (
        note.startswith(("/", "./"))
        or note.endswith(("/", "/."))
        or "//" in note
        or "/./" in note
        or note == "."
    )


def note_name(note: str) -> str:
    """``PurePosixPath(note).name`` without building the path (a few microseconds, for
    every note of the graph between the two passes, while one CPU waits)."""
    if not _plain(note):
        return PurePosixPath(note).name
    return note.rpartition("/")[2]


def note_path_stem(note: str) -> str:
    """``PurePosixPath(note).stem`` of a note path, as ``note_name`` (not
    ``names.note_stem``, which makes a file stem from a title)."""
    name = note_name(note)
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


# --------------------------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A file of the graph: its state key (graph-relative POSIX path), where, and its stat."""

    key: str
    abspath: str
    size: int
    mtime_ns: int
    kind: str  # PAGE or JOURNAL (page files), WHITEBOARD / ORG / PDF_HIGHLIGHTS, or "asset"

    @property
    def path(self) -> Path:
        return Path(self.abspath)


@dataclass
class GraphListing:
    pages: dict[str, FoundFile] = field(default_factory=dict)  # pages and journals
    skipped: dict[str, FoundFile] = field(default_factory=dict)  # reported, not converted
    assets: dict[str, FoundFile] = field(default_factory=dict)  # key: path under assets/


def is_hidden(rel: str, patterns: Iterable[str]) -> bool:
    """Logseq's ``:hidden``: "/" + the graph-relative path starts with "/" + a pattern."""
    path = "/" + rel.lstrip("/")
    for pattern in patterns:
        prefix = pattern if pattern.startswith("/") else "/" + pattern
        if prefix != "/" and path.startswith(prefix):
            return True
    return False


def _ignored_segment(name: str) -> bool:
    """Logseq ignores dot folders/files (``.git``, ``.recycle``) but not ``..___x.md``."""
    return (len(name) > 1 and name[0] == "." and name[1] != ".") or name in _LOGSEQ_IGNORED


class GraphLayout:
    """Which files of a graph are pages, journals, assets or skipped (graph config + rules)."""

    def __init__(self, root: Path, graph: GraphConfig) -> None:
        self.root = root
        self.graph = graph
        self.pages_dir = _join(graph.pages_directory) or "."
        self.journals_dir = _join(graph.journals_directory) or "."
        self.whiteboards_dir = _join(graph.whiteboards_directory)
        self.assets_dir = "assets"
        self._special = {"logseq", self.assets_dir, self.whiteboards_dir} - {""}
        self._prefix = str(root).rstrip(os.sep) + os.sep

    def classify(self, rel: str) -> str | None:
        """PAGE, JOURNAL, WHITEBOARD, ORG, PDF_HIGHLIGHTS, "asset", or None (not ours)."""
        if ("/." in rel or rel.startswith(".")) and any(
            _ignored_segment(p) for p in rel.split("/")
        ):
            return None
        if is_temp_file(rel) or rel.startswith("logseq/") or "node_modules/" in rel:
            return None
        if self.graph.hidden and is_hidden(rel, self.graph.hidden):
            return None
        if _under(rel, self.assets_dir):
            return PDF_HIGHLIGHTS if rel.endswith(".edn") else "asset"
        if self.whiteboards_dir and _under(rel, self.whiteboards_dir):
            return WHITEBOARD if rel.endswith(".edn") else None
        for folder, kind in ((self.journals_dir, JOURNAL), (self.pages_dir, PAGE)):
            if folder == "." or _under(rel, folder):
                if rel.endswith(PAGE_SUFFIXES):
                    return kind
                if rel.endswith(".org"):
                    return ORG
        return None

    def list(self) -> GraphListing:
        listing = GraphListing()
        folders = {self.pages_dir, self.journals_dir, self.assets_dir, self.whiteboards_dir}
        done: set[str] = set()
        for folder in sorted(f for f in folders if f):
            self._walk(folder, listing, done)
        return listing

    def _walk(self, folder: str, listing: GraphListing, done: set[str]) -> None:
        base = self.root if folder == "." else self.root / folder
        stack = [str(base)]
        while stack:
            current = stack.pop()
            try:
                entries = list(os.scandir(current))
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                log.warning("%s: cannot list folder: %s", current, exc.strerror or exc)
                continue
            prefix = self._prefix
            for entry in entries:
                rel = entry.path[len(prefix) :]
                if os.sep != "/":  # pragma: no cover - POSIX only
                    rel = rel.replace(os.sep, "/")
                if rel in done:
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not _ignored_segment(entry.name) and rel not in self._special - {folder}:
                            stack.append(entry.path)
                        continue
                    if not entry.is_file():
                        continue
                    kind = self.classify(rel)
                    if kind is None:
                        continue
                    st = entry.stat()
                except OSError:
                    continue
                done.add(rel)
                self.add(listing, rel, entry.path, st.st_size, st.st_mtime_ns, kind)

    def add(
        self, listing: GraphListing, rel: str, path: str, size: int, mtime_ns: int, kind: str
    ) -> None:
        if kind == "asset":
            key = rel[len(self.assets_dir) + 1 :]
            listing.assets[key] = FoundFile(key, path, size, mtime_ns, kind)
        elif kind in (PAGE, JOURNAL):
            listing.pages[rel] = FoundFile(rel, path, size, mtime_ns, kind)
        else:
            listing.skipped[rel] = FoundFile(rel, path, size, mtime_ns, kind)


def _under(rel: str, folder: str) -> bool:
    return rel.startswith(folder + "/")


# --------------------------------------------------------------------------------- pure parts


def page_note_path(name: str, into: str) -> str:
    """``<into>/<namespace folders>/<leaf>.md`` for page ``name`` (rows N1, N2, N6)."""
    parts = [p for p in unicodedata.normalize("NFC", name).split("/") if p.strip(". ")]
    segments = [note_stem(p) for p in parts] or [sanitize_title(name)]
    return _join(into, *segments) + ".md"


def journal_note_path(day: date, layout: VaultLayout) -> str:
    """Where Obsidian's Daily notes plugin keeps the note of ``day`` (row J1)."""
    return _join(layout.daily_folder, format_moment(day, layout.daily_format)) + ".md"


def link_target(note: str, leaf_counts: Mapping[str, int]) -> str:
    """The bare note name when no other note of the graph has it, else the path without .md."""
    stem = note_path_stem(note)
    if leaf_counts.get(fold_name(stem), 0) <= 1:
        return stem
    return note[: -len(".md")] if note.endswith(".md") else note


def name_key(name: str) -> str:
    """Index key of a page name: NFC, lower-cased (Logseq names are case-insensitive)."""
    return unicodedata.normalize("NFC", name).strip().lower()


def build_index(
    pages: Mapping[str, GraphPage],
    assets: Mapping[str, str],
    whiteboards: Iterable[str] = (),
) -> GraphIndex:
    """The graph-wide index from every page's facts (first page wins on a clash; page names
    win over aliases), the asset copies (path under assets/ -> vault path) and the names of
    the whiteboards (not converted).

    Block ids of Readwise pages link to the whole note (``page_uuids``): a Readwise note
    anchors its highlights with syncd's own ``^rw-`` ids, so ``#^uuid`` would not resolve."""
    notes = sorted((key, page) for key, page in pages.items() if page.note)
    leaves = Counter(fold_name(note_path_stem(page.note)) for _, page in notes)
    names: dict[str, str] = {}
    aliases: dict[str, str] = {}
    blocks: dict[str, str] = {}
    page_uuids: dict[str, str] = {}
    targets = {key: link_target(page.note, leaves) for key, page in notes}
    for key, page in notes:
        names.setdefault(name_key(page.name), targets[key])
    for key, page in notes:
        for alias in page.aliases:
            lowered = name_key(alias)
            if lowered and lowered not in names:
                names[lowered] = targets[key]
                aliases[lowered] = page.name
        if page.page_uuid:
            page_uuids.setdefault(page.page_uuid, targets[key])
        for uuid in page.block_ids:
            if page.kind == READWISE:
                page_uuids.setdefault(uuid.lower(), targets[key])
            else:
                blocks.setdefault(uuid.lower(), targets[key])
    return GraphIndex(
        names=names,
        aliases=aliases,
        blocks=blocks,
        assets=dict(assets),
        page_uuids=page_uuids,
        whiteboards=frozenset(name_key(name) for name in whiteboards),
    )


def _index_facts(page: GraphPage) -> tuple[object, ...]:
    """What ``build_index`` reads of a page."""
    return (page.note, page.name, page.aliases, page.kind, page.page_uuid, page.block_ids)


def index_changes(old: GraphIndex, new: GraphIndex) -> set[str]:
    """The dependency keys ("n:", "b:", "a:") whose target differs between two indexes."""
    changed: set[str] = set()
    for key in old.names.keys() | new.names.keys():
        if old.names.get(key) != new.names.get(key) or old.aliases.get(key) != new.aliases.get(key):
            changed.add("n:" + key)
    for key in (
        old.blocks.keys() | new.blocks.keys() | old.page_uuids.keys() | new.page_uuids.keys()
    ):
        if old.blocks.get(key) != new.blocks.get(key) or old.page_uuids.get(
            key
        ) != new.page_uuids.get(key):
            changed.add("b:" + key)
    changed.update("n:" + name for name in old.whiteboards ^ new.whiteboards)
    for key in old.assets.keys() | new.assets.keys():
        if old.assets.get(key) != new.assets.get(key):
            changed.add("a:" + key)
    return changed


def dependents(pages: Mapping[str, GraphPage], changed: set[str]) -> set[str]:
    """Pages whose note text depends on one of the ``changed`` keys (Readwise notes never:
    syncd only adds new highlights to them)."""
    if not changed:
        return set()
    return {
        key
        for key, page in pages.items()
        if page.kind in (PAGE, JOURNAL) and page.note and not changed.isdisjoint(page.deps)
    }


def page_deps(converted: ConvertedNote, facts: GraphPage) -> tuple[str, ...]:
    """What a note's text depends on besides its page: the names it links to and its own
    name and aliases (whose targets decide its ``aliases:``), the blocks it refers to, the
    assets it shows."""
    return deps_of(
        converted.references, converted.block_refs, converted.assets, facts.name, facts.aliases
    )


def deps_of(
    references: Iterable[str],
    block_refs: Iterable[str],
    assets: Iterable[str],
    name: str,
    aliases: Iterable[str],
) -> tuple[str, ...]:
    """``page_deps`` from the three sets of a ``ConvertedNote`` it reads and the page's
    ``name`` and ``aliases``."""
    names = {*references, name, *aliases}
    deps = {"n:" + name_key(name) for name in names if name.strip()}
    deps.update("b:" + uuid.lower() for uuid in block_refs)
    deps.update("a:" + path for path in assets)
    return tuple(sorted(deps))


def readwise_id(head: Page, name: str, text: str) -> str:
    """The document identity ``syncd.readwise.document_identity`` gives the whole page, from
    its head and a scan of its text: url::, else the first Kindle ASIN, else title + author."""
    url = (head.property_value("url") or "").strip()
    if url:
        return f"url:{url}"
    if "asin=" in text:
        match = ASIN_RE.search(text)
        if match is not None:
            return f"asin:{match.group(1).upper()}"
    return str(document_from_page(head, name).id)


def page_head(text: str) -> str:
    """The page up to its second bullet (outside code): the page properties in either form
    (before the first bullet, or the first bullet's own lines) and its first block's text."""
    pos, n, bullets = 0, len(text), 0
    fence: str | None = None
    while pos < n:
        end = text.find("\n", pos)
        end = n if end < 0 else end + 1
        line = text[pos:end].rstrip("\n")
        match = FENCE_RE.match(line)
        if fence is not None:
            closing = line.strip()
            if match is not None and set(closing) <= {fence[0]} and len(closing) >= len(fence):
                fence = None
        elif match is not None:
            fence = match.group(1)
        elif _BULLET_RE.match(line):
            bullets += 1
            if bullets == 2:
                return text[:pos]
        pos = end
    return text


def block_ids_in(text: str) -> tuple[str, ...]:
    """Lower-case uuids of ``id::`` lines (a fast over-approximation of the block ids)."""
    if "id::" not in text:
        return ()
    return tuple(dict.fromkeys(m.group(1).lower() for m in _ID_RE.finditer(text)))


# --------------------------------------------------------------------------------- one page


@dataclass(frozen=True, slots=True)
class PageWork:
    """What reading and converting one page needs besides the page (pure values): the main
    process and the helper processes (``syncd.migrate_helpers``) do it with the same one."""

    graph: GraphConfig
    converter: Converter
    journal_title: DateFormat
    repair_mojibake: bool
    max_page_bytes: int
    into: str  # the vault folder the graph's notes go into
    layout: VaultLayout  # where the daily notes go


@dataclass(frozen=True, slots=True)
class PageScan:
    """Pass-1 facts of a page from its text (no state, no vault): kind (PAGE, JOURNAL or
    READWISE), name, the Readwise category and document id, aliases, block ids, page uuid."""

    kind: str
    name: str
    category: str
    doc_id: str
    aliases: tuple[str, ...]
    block_ids: tuple[str, ...]
    page_uuid: str
    natural: str  # natural_note(): its note path unless taken ("" if it has none)


def page_name(work: PageWork, found: FoundFile, head: Page) -> tuple[str, date | None]:
    """The Logseq name of a page (``title::``, else the decoded file name); a journal's is
    the title of its date."""
    graph = work.graph
    if found.kind == JOURNAL:
        day = journal_date_from_file(found.path.stem, graph.journal_file_format)
        if day is not None:
            return work.journal_title.format(day), day
    title = unquote_value(head.property_value("title") or "")
    if title:
        return unicodedata.normalize("NFC", title), None
    return page_name_from_file(found.path.stem, graph.file_name_format), None


def scan_page(work: PageWork, found: FoundFile, data: bytes) -> PageScan:
    """Pass-1 facts of a changed page: from its head (page properties) and id:: lines,
    without parsing the whole outline (pass 2 checks them on the full parse)."""
    text = decode_page(data, found.path, repair_mojibake=work.repair_mojibake)
    head = parse_page(page_head(text))
    name, day = page_name(work, found, head)
    kind = JOURNAL if day is not None else PAGE
    category = doc_id = ""
    if kind == PAGE and (is_readwise_page(head) or _HEADER_LINE_RE.search(text)):
        kind = READWISE
        category = unquote_value(head.property_value("category") or "")
        doc_id = readwise_id(head, name, text)
    try:
        natural = natural_note(work, found.key, kind, name, category)
    except ValueError:
        natural = ""  # the main process asks again and reports it (_Run.assign)
    return PageScan(
        kind=kind,
        name=name,
        category=category,
        doc_id=doc_id,
        aliases=tuple(work.converter.page_aliases(head, work.graph)),
        block_ids=block_ids_in(text),
        page_uuid=work.converter.page_uuid(head) or "",
        natural=natural,
    )


def natural_note(work: PageWork, key: str, kind: str, name: str, category: str) -> str:
    """The note path of page ``key`` when no other note has it: a journal's daily note, a
    Readwise page's note in the folder of its ``category``, else the page's namespace path.
    Pure, so pass 1 works it out with the page's facts (in a helper too)."""
    if kind == JOURNAL:
        day = journal_date_from_file(PurePosixPath(key).stem, work.graph.journal_file_format)
        if day is None:  # pragma: no cover - JOURNAL facts come from a parsed date
            raise ValueError(f"{key}: not a journal file name")
        return journal_note_path(day, work.layout)
    if kind == READWISE:
        title = re.sub(r"\s*\(highlights\)\s*$", "", name, flags=re.IGNORECASE)
        category = category.lower()
        folder = CATEGORY_FOLDERS.get(category, category.capitalize() or "Other")
        return _join(work.into, folder, note_stem(title.strip() or name)) + ".md"
    return page_note_path(name, work.into)


@dataclass(frozen=True, slots=True)
class ParsedPage:
    """A page read and parsed for pass 2, with its facts from the full parse."""

    text: str
    page: Page
    kind: str
    aliases: tuple[str, ...]
    block_ids: tuple[str, ...]
    page_uuid: str


def parse_full(work: PageWork, data: bytes, path: Path, kind: str) -> ParsedPage:
    """Decode and parse a page for pass 2; ``kind`` is its pass-1 kind (a journal stays one,
    else the full parse tells a Readwise page from a plain one)."""
    text = decode_page(data, path, repair_mojibake=work.repair_mojibake)
    page = parse_page(text)
    if kind != JOURNAL:
        kind = READWISE if is_readwise_page(page) else PAGE
    converter = work.converter
    return ParsedPage(
        text=text,
        page=page,
        kind=kind,
        aliases=tuple(converter.page_aliases(page, work.graph)),
        block_ids=tuple(dict.fromkeys(b.lower() for b in converter.page_block_ids(page))),
        page_uuid=converter.page_uuid(page) or "",
    )


def render_page(
    work: PageWork,
    index: GraphIndex,
    options: ConvertOptions,
    inline: InlineContext,
    name: str,
    parsed: ParsedPage,
) -> tuple[ConvertedNote, str]:
    """(converted note, its text) of a plain page or journal named ``name``."""
    ctx = ConvertContext(
        graph=work.graph, index=index, options=options, inline=inline, page_name=name
    )
    converted = work.converter.convert_page(parsed.page, ctx, parsed.text)
    return converted, work.converter.render_note(converted)


def conflict_copy_path(note: str, when: datetime, attempt: int = 1) -> str:
    """``<folder>/<stem>.sync-conflict-<YYYYMMDD-HHMMSS>[-n].md``, the name <= 255 bytes."""
    path = PurePosixPath(note)
    suffix = f"{CONFLICT_INFIX}{when:%Y%m%d-%H%M%S}" + (f"-{attempt}" if attempt > 1 else "")
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8")) - len(".md")
    stem = path.stem.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    name = f"{stem}{suffix}.md"
    return name if str(path.parent) == "." else f"{path.parent}/{name}"


# --------------------------------------------------------------------------------- report


@dataclass
class MigrationReport:
    """What a graph migration did, and everything it could not carry over."""

    pages: int = 0  # plain pages converted and written (or found up to date)
    journals: int = 0
    readwise: int = 0  # Readwise pages merged
    assets: int = 0  # asset files copied
    merged: list[str] = field(default_factory=list)  # notes three-way merged with user edits
    conflicts: list[str] = field(default_factory=list)  # conflict copies written
    unsupported: list[tuple[str, str]] = field(default_factory=list)  # (page, what)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source file, why)

    def __bool__(self) -> bool:
        return bool(
            self.pages
            or self.journals
            or self.readwise
            or self.assets
            or self.merged
            or self.conflicts
            or self.unsupported
            or self.skipped
        )

    def merge(self, other: MigrationReport) -> None:
        self.pages += other.pages
        self.journals += other.journals
        self.readwise += other.readwise
        self.assets += other.assets
        self.merged += other.merged
        self.conflicts += other.conflicts
        self.unsupported += other.unsupported
        self.skipped += other.skipped

    def lines(self) -> list[str]:
        """The report as text lines (empty when nothing was migrated or found)."""
        if not self:
            return []
        out = [
            f"migration: {self.pages} pages, {self.journals} journals, {self.readwise} Readwise "
            f"pages converted, {self.assets} assets copied, {len(self.merged)} merged with "
            f"vault edits, {len(self.conflicts)} conflict copies"
        ]
        out += [f"  merged with your edits: {note}" for note in self.merged]
        out += [f"  conflict copy (your note kept): {note}" for note in self.conflicts]
        if self.unsupported:
            out.append(f"no Obsidian equivalent ({len(self.unsupported)}):")
            out += [f"  {page}: {what}" for page, what in sorted(self.unsupported)]
        if self.skipped:
            out.append(f"not migrated ({len(self.skipped)}):")
            out += [f"  {source}: {why}" for source, why in sorted(self.skipped)]
        return out


# --------------------------------------------------------------------------------- the engine


class Host(Protocol):
    """What a migration needs from the sync engine (``syncd.sync.SyncEngine``)."""

    dry_run: bool
    bulk: bool
    clock: Callable[[], datetime]

    helpers: int  # helper processes a bulk run may start (syncd.helper_pool); 0: none

    @property
    def state(self) -> StateStore: ...
    @property
    def repair_mojibake(self) -> bool: ...
    @property
    def max_page_bytes(self) -> int: ...

    def read_page(self, path: Path) -> tuple[bytes, os.stat_result] | None: ...

    def write_note(
        self,
        vault: Vault,
        note: str,
        text: str,
        current: tuple[str, FileStamp] | None,
        report: RunReport,
        detail: str = "",
    ) -> None: ...
    def flush(self, *, force: bool = False) -> None: ...
    def fail(self, vault: str, path: Path, reason: str, report: RunReport) -> None: ...
    def find_readwise_note(self, vault: str, doc_id: str) -> str | None: ...
    def readwise_hint(
        self, vault_name: str, previous: SourceRecord | None
    ) -> ReadwiseHint | None: ...
    def keep_documents(self, keep: bool) -> None: ...
    def sync_readwise_page(
        self,
        migration: GraphMigration,
        path: Path,
        page: Page,
        record: SourceRecord,
        ctx: ConvertContext,
        taken: Callable[[str], bool],
        report: RunReport,
    ) -> str: ...
    def sync_prepared_readwise_page(
        self,
        migration: GraphMigration,
        path: Path,
        prep: Prepared,
        hint: ReadwiseHint | None,
        taken: Callable[[str], bool],
        report: RunReport,
    ) -> str | None: ...


class GraphMigration:
    """The migration of one ``include: all`` source into its vault.

    ``run`` does one pass; what it learned reaches the state store through ``write_state``,
    which the engine calls inside its commit, after the notes written so far are durable.
    """

    def __init__(
        self,
        host: Host,
        vault_name: str,
        vault: Vault,
        config: SourceConfig,
        graph: GraphConfig,
        converter: Converter | None = None,
    ) -> None:
        self.host = host
        self.vault_name = vault_name
        self.vault = vault
        self.config = config
        self.root = config.path
        self.graph_key = str(config.path)
        self.options: ConvertOptions = config.convert
        self._converter = converter
        self._config_stamp = _stamp(config.path / CONFIG_PATH)
        self.use_graph(graph)
        self._vault_layout: VaultLayout | None = None
        # waiting for the next commit
        self._out_pages: dict[str, GraphPage] = {}
        self._out_gone: set[str] = set()
        self._out_sources: dict[str, SourceRecord] = {}
        self._out_bases: dict[str, str] = {}
        self._out_assets: dict[str, GraphAsset] = {}
        self._out_assets_gone: set[str] = set()
        self._out_meta: str | None = None

    def use_graph(self, graph: GraphConfig) -> None:
        self.graph = graph
        self.layout = GraphLayout(self.root, graph)
        formats = (graph.journal_title_format, *COMMON_TITLE_FORMATS)
        self.title_formats = tuple(dict.fromkeys(formats))
        self.journal_title = compile_format(graph.journal_title_format)

    def refresh_graph(self) -> None:
        """Read ``logseq/config.edn`` again when it changed since it was read (the daemon
        runs for weeks); a broken new one is reported and the old settings kept."""
        stamp = _stamp(self.root / CONFIG_PATH)
        if stamp == self._config_stamp:
            return
        try:
            graph = load_graph_config(self.root)
        except SyncdError as exc:
            log.error("%s; keeping the settings read before", exc)
            return
        self._config_stamp = stamp
        if graph != self.graph:
            log.info("%s: graph settings changed: every page is converted again", self.root)
            self.use_graph(graph)

    # -- what the engine and the daemon need ---------------------------------------------------
    @property
    def converter(self) -> Converter:
        if self._converter is None:
            self._converter = load_converter()
        return self._converter

    def owns(self, path: Path) -> bool:
        """Whether a change of ``path`` matters to this migration (fast, no I/O)."""
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return False
        return rel == "logseq/config.edn" or self.layout.classify(rel) is not None

    def pending_count(self) -> int:
        """Pages and assets waiting for the next commit (the engine's batch size counts them)."""
        return len(self._out_pages) + len(self._out_assets)

    def has_state(self) -> bool:
        return bool(
            self._out_pages
            or self._out_gone
            or self._out_sources
            or self._out_bases
            or self._out_assets
            or self._out_assets_gone
            or self._out_meta is not None
        )

    def write_state(self, state: StateStore) -> None:
        """Record what was staged (inside the engine's transaction, after syncfs)."""
        v, g = self.vault_name, self.graph_key
        if self._out_gone:
            state.delete_graph_pages(v, g, sorted(self._out_gone))
        if self._out_pages:
            state.put_graph_pages(v, g, self._out_pages)
        if self._out_sources:
            state.put_sources(v, self._out_sources)
        if self._out_bases:
            state.put_note_bases(v, self._out_bases)
        for asset in sorted(self._out_assets_gone):
            state.delete_graph_asset(v, g, asset)
        for asset, record in self._out_assets.items():
            state.put_graph_asset(v, g, asset, record)
        if self._out_meta is not None:
            state.set_meta(self._meta_key, self._out_meta)
        self.discard_state()

    def discard_state(self) -> None:
        self._out_pages.clear()
        self._out_gone.clear()
        self._out_sources.clear()
        self._out_bases.clear()
        self._out_assets.clear()
        self._out_assets_gone.clear()
        self._out_meta = None

    # -- settings ------------------------------------------------------------------------------
    @property
    def vault_layout(self) -> VaultLayout:
        if self._vault_layout is None:
            self._vault_layout = read_vault_layout(self.vault.root, self.config.into)
        return self._vault_layout

    def settings_fingerprint(self) -> str:
        """Everything besides the pages that the notes depend on: when it changes, every page
        is converted again."""
        text = repr((FORMAT_VERSION, self.graph, self.options, self.vault_layout, self.config.into))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def _meta_key(self) -> str:
        return f"migrate:{self.vault_name}:{self.graph_key}"

    def inline_context(self, index: GraphIndex) -> InlineContext:
        return InlineContext(
            journal_title_formats=self.title_formats,
            daily_note_format=self.vault_layout.daily_format,
        )

    # -- a run ---------------------------------------------------------------------------------
    def run(
        self,
        paths: Iterable[Path] | None,
        report: RunReport,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Migrate what changed: the whole graph (``paths`` None: a full scan) or ``paths``."""
        self._vault_layout = None  # Obsidian's settings may have changed since the last run
        self.refresh_graph()
        self.host.keep_documents(True)
        try:
            _Run(self, report, progress).go(paths)
        finally:
            self.host.flush(force=True)
            self.host.keep_documents(False)

    # -- staging (nothing in a dry run) ------------------------------------------------------------
    def stage_page(self, key: str, page: GraphPage, source: SourceRecord | None = None) -> None:
        if self.host.dry_run:
            return
        self._out_gone.discard(key)
        self._out_pages[key] = page
        if source is not None:
            self._out_sources[key] = source

    def stage_gone(self, key: str) -> None:
        if not self.host.dry_run:
            self._out_pages.pop(key, None)
            self._out_gone.add(key)

    def stage_base(self, note: str, text: str) -> None:
        if not self.host.dry_run:
            self._out_bases[note] = text

    def stage_asset(self, key: str, record: GraphAsset | None) -> None:
        if self.host.dry_run:
            return
        if record is None:
            self._out_assets.pop(key, None)
            self._out_assets_gone.add(key)
        else:
            self._out_assets_gone.discard(key)
            self._out_assets[key] = record

    def stage_meta(self, settings: str) -> None:
        if not self.host.dry_run:
            self._out_meta = settings

    def base_of(self, note: str) -> str | None:
        """The text syncd last wrote to ``note`` (staged this run, else recorded)."""
        if note in self._out_bases:
            return self._out_bases[note]
        record = self.host.state.get_note_base(self.vault_name, note)
        return record.text if record is not None else None


def _reusable_sha(cached: GraphPage | None, settings_changed: bool) -> str | None:
    """The hash a page must still have for its pass-1 facts of last run to be kept as they
    are (its note written, the conversion settings the same); None: scan it again."""
    if cached is None or not cached.note or settings_changed:
        return None
    return cached.sha256


class _Run:
    """One migration run: pass 1 (facts, note paths, assets, index), then pass 2."""

    def __init__(
        self,
        migration: GraphMigration,
        report: RunReport,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.m = migration
        self.host = migration.host
        self.state = migration.host.state
        self.report = report
        self.progress = progress
        self.facts: dict[str, GraphPage] = {}
        self.old_facts: dict[str, GraphPage] = {}
        self.changed: set[str] = set()
        self.found: dict[str, FoundFile] = {}
        self.categories: dict[str, str] = {}  # Readwise page -> its category (note folder)
        # changed page -> (its kind, its natural note) as its pass-1 scan found them
        self.naturals: dict[str, tuple[str, str]] = {}
        self.claimed: dict[str, str] = {}  # folded note path -> page key
        self.assets: dict[str, str] = {}  # asset key -> vault path
        self.index = GraphIndex()
        self.whiteboards: list[str] = []
        self.copies: dict[str, str] = {}  # note -> its conflict copy written in this run
        self.listings: dict[str, set[str]] = {}  # vault folder -> folded names (pass 1 only)
        self.listings_frozen = True
        self._ctx: InlineContext | None = None
        self.work = PageWork(
            graph=migration.graph,
            converter=migration.converter,
            journal_title=migration.journal_title,
            repair_mojibake=migration.host.repair_mojibake,
            max_page_bytes=migration.host.max_page_bytes,
            into=migration.config.into,
            layout=migration.vault_layout,
        )

    # -- overview --------------------------------------------------------------------------
    def go(self, paths: Iterable[Path] | None) -> None:
        m = self.m
        settings = m.settings_fingerprint()
        settings_changed = self.state.get_meta(m._meta_key) != settings
        listing, full = self.listing(paths, settings_changed)
        self.found = listing.pages
        self.report.pages += len(listing.pages)
        stamps = self.state.graph_page_stamps(m.vault_name, m.graph_key)
        candidates = {
            key
            for key, found in listing.pages.items()
            if settings_changed or stamps.get(key) != (found.size, found.mtime_ns)
        }
        removed = {k for k in stamps if k not in listing.pages and k not in listing.skipped}
        if not full:
            removed = {k for k in removed if not (m.root / k).exists() and k in self.asked}
        self.report.unchanged += len(listing.pages) - len(candidates)
        self.report_skipped(listing, stamps)
        old_assets = self.state.graph_assets(m.vault_name, m.graph_key)
        asset_work = {
            key
            for key, found in listing.assets.items()
            if (rec := old_assets.get(key)) is None
            or (rec.size, rec.mtime_ns) != (found.size, found.mtime_ns)
        }
        gone_assets = {k for k in old_assets if k not in listing.assets}
        if not full:
            gone_assets = {k for k in gone_assets if f"assets/{k}" in self.asked}
        if not (candidates or removed or asset_work or gone_assets):
            if settings_changed:
                m.stage_meta(settings)
            return
        rows = self.state.graph_pages(m.vault_name, m.graph_key)
        if removed:  # a page that lost a name collision may have its note now
            candidates |= {
                k
                for k, v in rows.items()
                if v.kind in NOTE_KINDS and not v.note and k in self.found
            }
        self.old_facts = {k: v for k, v in rows.items() if v.kind in NOTE_KINDS}
        self.facts = {k: v for k, v in self.old_facts.items() if k not in removed}
        old_boards = {k: v.name for k, v in rows.items() if v.kind == WHITEBOARD}
        boards = {k: n for k, n in old_boards.items() if k not in removed}
        for key, found in listing.skipped.items():
            if found.kind == WHITEBOARD:
                boards[key] = self.whiteboard_name(found)
        self.whiteboards = sorted(set(boards.values()))
        for key in removed:
            m.stage_gone(key)
        self.pass_one(sorted(candidates), settings_changed)
        self.assign_notes()
        self.assets = {k: r.dest for k, r in old_assets.items() if k not in gone_assets}
        self.sync_assets(listing, old_assets, asset_work, gone_assets)
        old_copies = {k: r.dest for k, r in old_assets.items()}
        old_index = build_index(self.old_facts, old_copies, old_boards.values())
        if self.index_inputs_unchanged(old_copies, old_boards.values()):
            self.index = old_index  # (the usual run after pages grew: nothing was renamed)
        else:
            self.index = build_index(self.facts, self.assets, self.whiteboards)
        self.settle_contested()
        moved = index_changes(old_index, self.index)
        queue = sorted(self.changed | (dependents(self.facts, moved) - set(self.collisions)))
        self.pass_two(queue)
        m.stage_meta(settings)

    def index_inputs_unchanged(
        self, old_copies: Mapping[str, str], old_boards: Iterable[str]
    ) -> bool:
        """Whether ``build_index`` reads the same now as from the facts of the last run:
        the same pages with the same note, name, aliases, kind and uuids, the same asset
        copies and whiteboards (then the index is the same, and is built once)."""
        if self.assets != old_copies or self.whiteboards != sorted(set(old_boards)):
            return False
        if self.facts.keys() != self.old_facts.keys():
            return False
        return all(
            page is self.old_facts[key] or _index_facts(page) == _index_facts(self.old_facts[key])
            for key, page in self.facts.items()
        )

    def listing(
        self, paths: Iterable[Path] | None, settings_changed: bool
    ) -> tuple[GraphListing, bool]:
        m = self.m
        self.asked: set[str] = set()
        if paths is None or settings_changed:
            return m.layout.list(), True
        listing = GraphListing()
        for path in paths:
            try:
                rel = path.relative_to(m.root).as_posix()
            except ValueError:
                continue
            if rel == "logseq/config.edn":
                return m.layout.list(), True
            kind = m.layout.classify(rel)
            if kind is None:
                continue
            self.asked.add(rel)
            try:
                st = path.stat()
            except OSError:
                continue
            m.layout.add(listing, rel, str(path), st.st_size, st.st_mtime_ns, kind)
        return listing, False

    def report_skipped(self, listing: GraphListing, stamps: Mapping[str, tuple[int, int]]) -> None:
        """Whiteboards, .org pages, PDF highlight stores: reported when new or changed."""
        for key, found in sorted(listing.skipped.items()):
            if stamps.get(key) == (found.size, found.mtime_ns):
                continue
            self.report.migration.skipped.append((key, _SKIPPED_REASONS[found.kind]))
            name = self.whiteboard_name(found) if found.kind == WHITEBOARD else key
            self.m.stage_page(key, GraphPage(found.size, found.mtime_ns, "", found.kind, name, ""))

    def whiteboard_name(self, found: FoundFile) -> str:
        return page_name_from_file(found.path.stem, self.m.graph.file_name_format)

    # -- pass 1 ----------------------------------------------------------------------------
    def pass_one(self, keys: list[str], settings_changed: bool) -> None:
        """Read the changed pages for their index facts (nothing else is kept); helper
        processes read and scan them ahead when there are many."""
        helpers = self.scan_helpers(keys, settings_changed)
        try:
            for number, key in enumerate(keys, start=1):
                scanned = None
                if helpers is not None:
                    scanned = helpers.take(number - 1)
                    helpers.used += scanned is not None and scanned.status != "error"
                self.scan(key, settings_changed, scanned)
                if self.progress is not None and number % 512 == 0:
                    self.progress(number, len(keys))
        finally:
            if helpers is not None:
                helpers.close()

    def scan(self, key: str, settings_changed: bool, scanned: Scanned | None) -> None:
        """Pass 1 of one page, from a helper's ``scanned`` where it has one (not an error)."""
        found = self.found[key]
        cached = self.old_facts.get(key)
        scan: PageScan | None = None
        try:
            if scanned is not None and scanned.status != "error":
                if scanned.status == "gone":
                    return  # gone since the listing: the next scan sees it removed
                data = b""
                digest, size, mtime_ns = scanned.sha256, scanned.size, scanned.mtime_ns
                scan = scanned.scan
            else:
                got = self.read(found.path)
                if got is None:
                    return  # gone since the listing: the next scan sees it removed
                data, now = got
                digest, size, mtime_ns = hashlib.sha256(data).hexdigest(), now.size, now.mtime_ns
            if cached is not None and _reusable_sha(cached, settings_changed) == digest:
                # same bytes, new stat: nothing to convert (a helper told by the same rule
                # sends no scan for such a page)
                self.facts[key] = replace(cached, size=size, mtime_ns=mtime_ns)
                self.m.stage_page(key, self.facts[key])
                return
            found = replace(found, size=size, mtime_ns=mtime_ns)
            if scan is None:
                scan = scan_page(self.work, found, data)
            self.facts[key] = self.page_facts(found, digest, scan, cached)
        except (SyncdError, OSError) as exc:
            self.fail(found.path, exc)
            return
        self.changed.add(key)

    def scan_helpers(
        self, keys: list[str], settings_changed: bool
    ) -> HelperPool[None, ScanTask, Scanned] | None:
        """Helper processes scanning ``keys`` ahead of pass 1, or None (few pages, one CPU,
        a dry run)."""
        if self.host.helpers <= 0 or self.host.dry_run or len(keys) < HELPERS_MIN_PAGES:
            return None
        from syncd import migrate_helpers

        def tasks() -> Iterator[tuple[None, ScanTask]]:
            for number, key in enumerate(keys):
                found = self.found[key]
                same = _reusable_sha(self.old_facts.get(key), settings_changed)
                yield None, migrate_helpers.ScanTask(number, found, same)

        return migrate_helpers.start(
            self.host.helpers, tasks(), migrate_helpers.scan_pages, self.work
        )

    def read(self, path: Path) -> tuple[bytes, FoundFile] | None:
        """The page's bytes and the stat they came with; None when it is gone. Too large
        pages and things that are not regular files (a FIFO never blocks) raise PageError."""
        got = self.host.read_page(path)
        if got is None:
            return None
        data, st = got
        key = path.relative_to(self.m.root).as_posix()
        return data, FoundFile(key, str(path), st.st_size, st.st_mtime_ns, PAGE)

    def fail(self, path: Path, exc: BaseException) -> None:
        if isinstance(exc, SyncdError):
            reason = exc.message
        elif isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
        else:  # pragma: no cover - only SyncdError and OSError are caught
            reason = str(exc)
        self.host.fail(self.m.vault_name, path, reason, self.report)

    def page_facts(
        self, found: FoundFile, digest: str, scan: PageScan, cached: GraphPage | None
    ) -> GraphPage:
        """Pass-1 facts of a changed page from its ``scan_page``: the note path it had
        (same kind), or for a Readwise document the note the state or the vault has for it."""
        kind = scan.kind
        if kind == READWISE:
            self.categories[found.key] = scan.category
        if scan.natural:
            self.naturals[found.key] = (kind, scan.natural)
        note = cached.note if cached is not None and cached.kind == kind else ""
        if kind == READWISE:
            known = self.host.find_readwise_note(self.m.vault_name, scan.doc_id)
            note = known or note
        return GraphPage(
            size=found.size,
            mtime_ns=found.mtime_ns,
            sha256=digest,
            kind=kind,
            name=scan.name,
            note=note,
            aliases=scan.aliases,
            block_ids=scan.block_ids,
            deps=cached.deps if cached is not None else (),
            page_uuid=scan.page_uuid,
        )

    # -- note paths ------------------------------------------------------------------------
    def natural_note(self, key: str, page: GraphPage) -> str:
        """``natural_note`` of a changed page: worked out by its pass-1 scan when the page
        still has the kind that scan found (the full parse may correct it), else here."""
        known = self.naturals.get(key)
        if known is not None and known[0] == page.kind:
            return known[1]
        return natural_note(self.work, key, page.kind, page.name, self.categories.get(key, ""))

    def assign_notes(self) -> None:
        """Give each page without a note path one. Pages placed before keep theirs; the others
        come in path order; a clash with another page's note is a collision (N7, reported)."""
        self.claimed = {fold_name(p.note): k for k, p in sorted(self.facts.items()) if p.note}
        self.collisions: dict[str, str] = {}
        self.contested: dict[str, str] = {}
        for key in sorted(k for k in self.changed if not self.facts[k].note):
            self.assign(key)

    def assign(self, key: str) -> None:
        page = self.facts[key]
        try:
            natural = self.natural_note(key, page)
        except ValueError as exc:
            self.fail(self.found[key].path if key in self.found else self.m.root / key, exc)
            return
        holder = self.claimed.get(fold_name(natural))
        if holder is not None and holder != key:
            self.collisions[key] = holder
            other = self.facts[holder].name if holder in self.facts else holder
            self.report.migration.skipped.append(
                (key, f"same note as page {other!r} ({natural}): the first one keeps it (N7)")
            )
            self.facts[key] = replace(page, note="")
            self.m.stage_page(key, self.facts[key])  # looked at again when it changes
            return
        note = natural
        if page.kind == PAGE and self.foreign(natural):
            self.contested[key] = natural  # settled before pass 2 (settle_contested)
        elif page.kind == READWISE and self.foreign(natural):
            folder, stem = _split_note(natural)

            def taken(candidate: str) -> bool:
                path = _join(folder, candidate + ".md")
                return self.taken_by_other(path, key) or self.foreign(path)

            note = _join(folder, unique_name(stem, taken) + ".md")
        self.claimed[fold_name(note)] = key
        self.facts[key] = with_note(page, note)

    def foreign(self, note: str) -> bool:
        """A vault file at ``note`` that is not this page's note: the user's own, or the note
        of a page that left the graph (rule 6: it stays as it is). Folder listings are read
        once per folder until pass 2 starts writing."""
        folder, _ = _split_note(note)
        names = self.listings.get(folder)
        if names is None:
            try:
                path = self.m.vault.root if not folder else self.m.vault.resolve(folder)
                names = {fold_name(entry.name) for entry in os.scandir(path)}
            except (FileNotFoundError, NotADirectoryError):
                names = set()
            except (OSError, VaultWriteError):
                return True
            if self.listings_frozen:
                self.listings[folder] = names
        return fold_name(note_name(note)) in names

    def taken_by_other(self, note: str, key: str) -> bool:
        holder = self.claimed.get(fold_name(note))
        return holder is not None and holder != key

    # -- assets ----------------------------------------------------------------------------
    def sync_assets(
        self,
        listing: GraphListing,
        old: Mapping[str, GraphAsset],
        work: set[str],
        gone: set[str],
    ) -> None:
        for key in sorted(gone):
            self.assets.pop(key, None)
            self.m.stage_asset(key, None)
        attachments = self.m.vault_layout.attachments
        for key in sorted(work):
            found = listing.assets[key]
            record = old.get(key)
            try:
                dest = self.copy_asset(found, record, _join(attachments, key))
            except (SyncdError, OSError) as exc:
                self.fail(found.path, exc)
                continue
            if dest is not None:
                self.assets[key] = dest

    def copy_asset(self, found: FoundFile, record: GraphAsset | None, natural: str) -> str | None:
        """Copy one asset if it changed; never over a different file the user put there."""
        vault = self.m.vault
        digest = _file_sha256(found.path)
        if record is not None and record.sha256 == digest:
            self.m.stage_asset(found.key, replace(record, size=found.size, mtime_ns=found.mtime_ns))
            return record.dest
        dest = record.dest if record is not None else natural
        current = _file_sha256_or_none(vault.resolve(dest))
        if current is not None and current != digest:
            ours = record is not None and current == record.dest_sha256
            if not ours:
                if record is not None:
                    self.report.migration.skipped.append(
                        (f"assets/{found.key}", f"{dest} was changed in the vault; kept as is")
                    )
                    self.m.stage_asset(
                        found.key, GraphAsset(found.size, found.mtime_ns, digest, dest, current)
                    )
                    return dest
                dest = self.free_asset_path(natural, digest)
                self.report.migration.skipped.append(
                    (f"assets/{found.key}", f"{natural} holds another file; copied to {dest}")
                )
                current = _file_sha256_or_none(vault.resolve(dest))
        if current != digest:
            if self.host.dry_run:
                log.info("would have copied %s to %s", found.path, dest)
            else:
                _copy_into_vault(
                    vault,
                    found.path,
                    dest,
                    replace_existing=current is not None,
                    durable=not self.host.bulk,
                )
                log.info("copied %s", dest)
            self.report.migration.assets += 1
        self.m.stage_asset(found.key, GraphAsset(found.size, found.mtime_ns, digest, dest, digest))
        return dest

    def free_asset_path(self, natural: str, digest: str) -> str:
        folder, _ = _split_note(natural)
        path = PurePosixPath(natural)
        stem, suffix = path.stem, path.suffix

        def taken(candidate: str) -> bool:
            existing = _file_sha256_or_none(self.m.vault.resolve(_join(folder, candidate + suffix)))
            return existing is not None and existing != digest

        return _join(folder, unique_name(stem, taken) + suffix)

    # -- pass 2 ----------------------------------------------------------------------------
    @property
    def ctx(self) -> InlineContext:
        if self._ctx is None:
            self._ctx = self.m.inline_context(self.index)
        return self._ctx

    @property
    def readwise_ctx(self) -> ConvertContext:
        """What Readwise pages are rendered with: the same rules, index and options."""
        return readwise_context(
            self.ctx.journal_title_formats,
            self.ctx.daily_note_format,
            graph_config=self.work.graph,
            index=self.index,
            options=self.m.options,
        )

    def pass_two(self, keys: list[str]) -> None:
        self.listings.clear()
        self.listings_frozen = False  # notes get written from here on
        queue = list(reversed(keys))
        queued = set(keys)
        redone: Counter[str] = Counter()
        done = 0
        helpers = self.convert_helpers(keys)
        try:
            while queue:
                key = queue.pop()
                queued.discard(key)
                done += 1
                prepared = None
                if helpers is not None and key in self.handed_out:
                    prepared = helpers.take(self.handed_out.pop(key))
                moved = self.convert(key, prepared)
                if helpers is not None and self.used_prepared:
                    helpers.used += 1
                if self.progress is not None:
                    self.progress(done, done + len(queue))
                self.host.flush()
                for other in sorted(dependents(self.facts, moved) - {key} - set(self.collisions)):
                    if other not in queued and redone[other] < MAX_CORRECTIONS:
                        redone[other] += 1
                        queue.append(other)
                        queued.add(other)
        finally:
            if helpers is not None:
                log.debug(
                    "migration helpers: %d pages prepared, %d used as prepared",
                    helpers.handed_out,
                    helpers.used,
                )
                helpers.close()

    def convert_helpers(self, keys: list[str]) -> HelperPool[None, ConvertTask, Converted] | None:
        """Helper processes converting ``keys`` ahead of pass 2 (in that order), or None.
        They are forked now and inherit the index: a result is used only while the index is
        still this one (``convert``)."""
        self.handed_out: dict[str, int] = {}
        # task number -> the note text and recorded highlights a Readwise page was handed
        # out with (what its result must still find: SyncEngine.sync_prepared_readwise_page)
        self.hints: dict[int, ReadwiseHint] = {}
        self.used_prepared = False
        if self.host.helpers <= 0 or self.host.dry_run or len(keys) < HELPERS_MIN_PAGES:
            return None
        from syncd import migrate_helpers

        self.forked_index = self.index
        context = migrate_helpers.ConvertContextForHelpers(
            self.work, self.index, self.m.options, self.ctx, self.readwise_ctx
        )

        def tasks() -> Iterator[tuple[None, ConvertTask]]:
            for number, key in enumerate(keys):
                used = self.facts.get(key)
                if used is None or not used.note or key in self.collisions:
                    continue
                self.handed_out[key] = number
                found = self.found.get(key)
                path = found.abspath if found is not None else str(self.m.root / key)
                yield None, self.convert_task(number, key, path, used)

        return migrate_helpers.start(
            self.host.helpers, tasks(), migrate_helpers.convert_pages, context
        )

    def convert_task(self, number: int, key: str, path: str, used: GraphPage) -> ConvertTask:
        """The helper task for page ``key``; a Readwise page that went into a note last run
        comes with that note's text and recorded highlights, to merge into."""
        from syncd.migrate_helpers import ConvertTask

        task = ConvertTask(number, path, used.sha256, used.kind, used.name)
        if used.kind != READWISE or key not in self.old_facts:
            return task
        previous = self.state.get_source(self.m.vault_name, key)
        hint = self.host.readwise_hint(self.m.vault_name, previous)
        if hint is None:
            return task
        self.hints[number] = hint
        return replace(task, doc_id=hint.doc_id, existing=hint.text, seen=hint.seen)

    def load(self, key: str, used: GraphPage) -> _Loaded | None:
        """Read and parse a page for pass 2, with its facts from the full parse; None when it
        changed since pass 1 (the next run takes it)."""
        path = self.found[key].path if key in self.found else self.m.root / key
        got = self.read(path)
        if got is None:
            return None  # gone: its note stays (rule 6)
        data, st = got
        digest = hashlib.sha256(data).hexdigest()
        if digest != used.sha256 and key in self.changed:
            log.info("%s changed while migrating; the next run takes it", path)
            return None
        parsed = parse_full(self.work, data, path, used.kind)
        return _Loaded(path, parsed, self.full_facts(used, st.size, st.mtime_ns, digest, parsed))

    def full_facts(
        self, used: GraphPage, size: int, mtime_ns: int, digest: str, parsed: ParsedPage
    ) -> GraphPage:
        """A page's facts from its full parse (the note path still the one pass 1 gave)."""
        return replace(
            used,
            size=size,
            mtime_ns=mtime_ns,
            sha256=digest,
            kind=parsed.kind,
            aliases=parsed.aliases,
            block_ids=parsed.block_ids,
            page_uuid=parsed.page_uuid,
        )

    def render(self, loaded: _Loaded) -> tuple[ConvertedNote, str]:
        """(converted note, its text) of a plain page or journal, with the current index."""
        return render_page(
            self.work, self.index, self.m.options, self.ctx, loaded.facts.name, loaded.parsed
        )

    def settle_contested(self) -> None:
        """Pages whose note path holds a vault file syncd has no record of: keep the path
        when the file is exactly what the page gives (syncd wrote it before it lost its
        state); else the page takes a free name beside it (the user's file stays)."""
        switched = False
        for key in sorted(self.contested):
            natural = self.contested[key]
            page = self.facts[key]
            try:
                loaded = self.load(key, page)
                current = self.m.vault.read_text(natural)
                if (
                    loaded is not None
                    and current is not None
                    and self.render(loaded)[1] == current[0]
                ):
                    continue
            except (SyncdError, OSError):
                pass  # pass 2 reports it
            folder, stem = _split_note(natural)

            def taken(candidate: str, folder: str = folder, key: str = key) -> bool:
                path = _join(folder, candidate + ".md")
                return self.taken_by_other(path, key) or self.foreign(path)

            note = _join(folder, unique_name(stem, taken) + ".md")
            self.claimed[fold_name(note)] = key
            self.facts[key] = replace(page, note=note)
            switched = True
        if switched:
            self.index = build_index(self.facts, self.assets, self.whiteboards)
            self._ctx = None

    def convert(self, key: str, prepared: Converted | None = None) -> set[str]:
        """Convert one page and write its note; the dependency keys whose target moved
        because its full parse corrected its pass-1 facts. ``prepared``: a helper's
        conversion of the page, used when every assumption it was made under still holds."""
        self.used_prepared = False
        used = self.facts.get(key)
        if used is None or not used.note or key in self.collisions:
            return set()
        path = self.found[key].path if key in self.found else self.m.root / key
        try:
            if prepared is not None:
                facts = self.use_prepared(key, path, used, prepared)
                if facts is not None:
                    self.used_prepared = True
                    return self.correct(key, used, facts)
            loaded = self.load(key, used)
            if loaded is None:
                return set()
            facts = loaded.facts
            if facts.kind != used.kind:
                if facts.kind == READWISE:
                    category = loaded.parsed.page.property_value("category") or ""
                    self.categories[key] = unquote_value(category)
                self.facts[key] = replace(facts, note="")
                self.claimed = {f: k for f, k in self.claimed.items() if k != key}
                self.assign(key)
                facts = replace(facts, note=self.facts[key].note)
                if not facts.note:
                    return self.correct(key, used, facts)
            if facts.kind == READWISE:
                note = self.host.sync_readwise_page(
                    self.m,
                    path,
                    loaded.parsed.page,
                    loaded.record,
                    self.readwise_ctx,
                    lambda n: self.taken_by_other(n, key),
                    self.report,
                )
                facts = self.readwise_done(key, facts, note)
            else:
                converted, new_text = self.render(replace(loaded, facts=facts))
                facts = replace(facts, deps=page_deps(converted, facts))
                self.page_done(key, facts, new_text, converted.unsupported)
        except (SyncdError, OSError) as exc:
            self.fail(path, exc)
            return set()
        return self.correct(key, used, facts)

    def use_prepared(
        self, key: str, path: Path, used: GraphPage, prep: Converted
    ) -> GraphPage | None:
        """Finish a page from a helper's conversion: its facts, or None when the result
        cannot be used and the page is done here. Used only when the helper read the bytes
        pass 1 read, found the kind pass 1 found, and converted with the index still in use
        (``correct`` replaces it); then it is what ``load`` and ``render`` give now."""
        if (
            prep.status != "ok"
            or prep.sha256 != used.sha256
            or prep.parsed_kind != used.kind
            or self.index is not self.forked_index
        ):
            return None
        text: str | None  # a plain page's or journal's note (a Readwise page's is written)
        deps: tuple[str, ...]
        if prep.parsed_kind == READWISE:
            if prep.readwise is None:
                return None
            note = self.host.sync_prepared_readwise_page(
                self.m,
                path,
                prep.readwise,
                self.hints.pop(prep.index, None),
                lambda n: self.taken_by_other(n, key),
                self.report,
            )
            if note is None:
                return None
            text, deps = None, ()
        else:
            text = prep.text
            if text is None:
                return None
            note = used.note
            deps = deps_of(prep.references, prep.block_refs, prep.assets, used.name, prep.aliases)
        facts = GraphPage(  # every field (a dataclasses.replace costs ~3 times as much)
            size=prep.size,
            mtime_ns=prep.mtime_ns,
            sha256=prep.sha256,
            kind=prep.parsed_kind,
            name=used.name,
            note=note,
            aliases=prep.aliases,
            block_ids=prep.block_ids,
            deps=deps,
            page_uuid=prep.page_uuid,
        )
        if text is None:
            self.readwise_counted(key, facts)
        else:
            self.page_done(key, facts, text, prep.unsupported)
        return facts

    def readwise_done(self, key: str, facts: GraphPage, note: str) -> GraphPage:
        """Count and stage a Readwise page merged into ``note``; its facts."""
        facts = replace(facts, note=note, deps=())
        self.readwise_counted(key, facts)
        return facts

    def readwise_counted(self, key: str, facts: GraphPage) -> None:
        """Count and stage a Readwise page with its final ``facts``."""
        self.report.migration.readwise += 1
        self.m.stage_page(key, facts)

    def page_done(
        self, key: str, facts: GraphPage, text: str, unsupported: Iterable[Unsupported]
    ) -> None:
        """Write a plain page's or journal's note ``text`` (rule 7), count, report, stage."""
        self.write(facts.note, text, key in self.changed)
        if facts.kind == JOURNAL:
            self.report.migration.journals += 1
        else:
            self.report.migration.pages += 1
        for item in unsupported:
            self.report.migration.unsupported.append((facts.name, _describe(item)))
        self.m.stage_page(key, facts, _record(facts))

    def correct(self, key: str, used: GraphPage, facts: GraphPage) -> set[str]:
        """Put the full-parse facts into the index; the dependency keys that moved."""
        self.facts[key] = facts
        if (used.kind, used.note, used.aliases, used.block_ids, used.page_uuid) == (
            facts.kind,
            facts.note,
            facts.aliases,
            facts.block_ids,
            facts.page_uuid,
        ):
            return set()
        log.debug("%s: index facts corrected by the full parse", key)
        if facts.note and fold_name(facts.note) not in self.claimed:
            self.claimed = {f: k for f, k in self.claimed.items() if k != key}
            self.claimed[fold_name(facts.note)] = key
        new_index = build_index(self.facts, self.assets, self.whiteboards)
        moved = index_changes(self.index, new_index)
        self.index = new_index
        self._ctx = None
        return moved

    # -- rule 7 ----------------------------------------------------------------------------
    def write(self, note: str, text: str, page_changed: bool) -> None:
        """Write ``text`` as ``note`` per merge rule 7; retried when the note changes under us."""
        for attempt in range(3):
            try:
                self.write_once(note, text, page_changed)
                return
            except ConcurrentModification:
                if attempt == 2:
                    raise
                log.info("%s changed while syncing; looking again", note)

    def write_once(self, note: str, text: str, page_changed: bool) -> None:
        m = self.m
        vault = m.vault
        current = vault.read_text(note)
        base = m.base_of(note)
        if current is None:
            if base is not None and not page_changed:
                return  # the user deleted the note: it comes back when its page changes
            if base is not None:
                log.info("%s was deleted in the vault; its page changed, so it comes back", note)
            self.host.write_note(vault, note, text, None, self.report)
            m.stage_base(note, text)
            return
        mine, _ = current
        if mine == text:
            if base != text:
                m.stage_base(note, text)
            return
        if base is not None and text_sha256(mine) == text_sha256(base):
            self.host.write_note(vault, note, text, current, self.report)  # untouched: replace
            m.stage_base(note, text)
            return
        if base == text:
            return  # only the user changed it since: theirs stands
        if base is not None:
            merged = merge3(base, mine, text)
            if merged.text is not None:
                if merged.text != mine:
                    self.host.write_note(
                        vault, note, merged.text, current, self.report, " (merged with your edits)"
                    )
                    self.report.migration.merged.append(note)
                m.stage_base(note, text)
                return
        if note in self.copies:  # converted again in this run: the same copy, updated
            copy = self.copies[note]
            previous = vault.read_text(copy)
            if previous is None or previous[0] != text:
                self.host.write_note(vault, copy, text, previous, self.report, " (conflict copy)")
        else:
            copy = self.conflict_copy(note, text)
            self.copies[note] = copy
            self.report.migration.conflicts.append(copy)
            log.warning(
                "%s: edited in the vault and changed in Logseq; the new version is in %s",
                note,
                copy,
            )
        m.stage_base(note, text)

    def conflict_copy(self, note: str, text: str) -> str:
        when = self.host.clock().astimezone()
        for attempt in range(1, 100):
            copy = conflict_copy_path(note, when, attempt)
            if self.m.vault.read_text(copy) is None:
                self.host.write_note(
                    self.m.vault, copy, text, None, self.report, " (conflict copy)"
                )
                return copy
        raise VaultWriteError(f"no free conflict copy name for {note}")


@dataclass(frozen=True, slots=True)
class _Loaded:
    """A page read and parsed for pass 2."""

    path: Path
    parsed: ParsedPage
    facts: GraphPage  # from the full parse (the note path still the one pass 1 gave)

    @property
    def record(self) -> SourceRecord:
        return _record(self.facts)


def _record(facts: GraphPage) -> SourceRecord:
    """The sources-table fingerprint of a page read for pass 2 (``note``: pass 1's)."""
    return SourceRecord(
        size=facts.size,
        mtime_ns=facts.mtime_ns,
        sha256=facts.sha256,
        doc_id=None,
        status="ok",
        error=None,
        note=facts.note,
    )


def _describe(item: Unsupported) -> str:
    """One line for the report: reason (row, line): excerpt."""
    where = ", ".join(x for x in (item.row, f"line {item.line}" if item.line else "") if x)
    return f"{item.reason} ({where})" + (f": {item.excerpt}" if item.excerpt else "")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def with_note(page: GraphPage, note: str) -> GraphPage:
    """``dataclasses.replace(page, note=note)`` at a third of its cost (every page of the
    graph gets its note path between the two passes, while one CPU waits)."""
    return GraphPage(
        page.size,
        page.mtime_ns,
        page.sha256,
        page.kind,
        page.name,
        note,
        page.aliases,
        page.block_ids,
        page.deps,
        page.page_uuid,
    )


def _split_note(note: str) -> tuple[str, str]:
    """(folder, stem): ``PurePosixPath(note)``'s parent ("" for none) and stem."""
    if _plain(note):
        return note.rpartition("/")[0], note_path_stem(note)
    path = PurePosixPath(note)
    folder = str(path.parent)
    return ("" if folder == "." else folder), path.stem


# --------------------------------------------------------------------------------- files


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _file_sha256_or_none(path: Path) -> str | None:
    try:
        if not path.is_file():
            return None if not path.exists() else "not-a-file"
        return _file_sha256(path)
    except FileNotFoundError:
        return None


def _copy_into_vault(
    vault: Vault, source: Path, dest: str, *, replace_existing: bool, durable: bool
) -> None:
    """Copy ``source`` to the vault path ``dest`` through a temp file beside it: linked into
    place when new (never clobbering), renamed over the old copy otherwise."""
    target = vault.resolve(dest)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VaultWriteError(f"cannot create folder: {exc.strerror or exc}", folder) from exc
    real = os.path.realpath(folder)
    if real != str(vault.root) and not real.startswith(str(vault.root) + os.sep):
        raise VaultWriteError(f"refused: folder leads outside the vault ({real})", folder)
    fd, tmp = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{target.name[:100]}.", suffix=TEMP_SUFFIX, dir=folder
    )
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        Path(tmp).chmod(0o644)
        if replace_existing:
            Path(tmp).replace(target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError as exc:
                raise ConcurrentModification(
                    "asset appeared before syncd copied it", target
                ) from exc
            Path(tmp).unlink()
        tmp = ""
        if durable:
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise VaultWriteError(f"cannot copy asset: {exc.strerror or exc}", target) from exc
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
