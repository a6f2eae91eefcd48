"""One source: a Logseq graph with a filter, synced into its vault (I/O edge).

``include: all`` makes a note of every page, journal and Readwise document and copies the
assets; ``include: readwise`` makes notes of the Readwise documents only. Both run this same
engine (design.md "Architecture"; logseq-to-obsidian.md §0, §10); the filter decides which
pages get a note (``GraphMigration.kinds``), nothing else.

A run (``_Run``) lists the graph and compares each file's size and mtime with the state store
(``graph_pages``): unchanged pages are not read, their facts (kind, name, aliases, block ids,
note path, what their note depends on) come from the state. The changed pages are planned
(``syncd.plan``, by the executor ``syncd.parallel``) with the graph index as the run found it
and written by the one writer (``syncd.writer``) in one pass, in path order. A page of a kind
the source makes no note of gives its facts only, and the note path it would have with
``include: all``: links to it read the same in both modes. After the pass the changed pages'
facts join the index (``GraphIndexer``: updated, never rebuilt) and every note that depends on
a name, alias, block or asset whose target moved is converted again.

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
- *Readwise pages* get their Readwise note (``<into>/<Category>/<Title>.md``, a free name
  beside it when another document has it) and the per-highlight merge (``syncd.merge``), in
  both modes; their links use the graph's link targets.
- *Assets*: every file of the graph's ``assets/`` folder is copied into the attachment folder of
  ``.obsidian/app.json`` (``attachmentFolderPath``: ``/`` = vault root, ``./sub`` = ``<into>/sub``,
  a folder name = that folder), default ``<into>/assets``; sub-folders are kept. A copy is made
  only when the source changed; a different file the user put at that path is never
  overwritten (the asset gets ``"<name> (2).<ext>"`` and is reported).
- A note path, once given to a page, is stored and never changes by itself.

Writing (merge rule 7, ``_Run.write_once``): a note still equal to what syncd last wrote (the
*base*) is replaced; one the user edited is three-way merged (``syncd.threeway``); where that
conflicts, the new version goes to ``<Note>.sync-conflict-<YYYYMMDD-HHMMSS>.md`` beside it.
Every write is a compare-and-swap on the stamp read before. A note the user deleted comes back
only when its page changes.

Skipped and reported: whiteboards, ``.org`` pages, ``assets/*.edn`` (PDF highlight stores),
pages under hidden paths (``:hidden``); ``logseq/bak`` and ``logseq/.recycle`` are never listed.
PDF highlight pages (``hls__*``) are converted as text and reported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from syncd.config import Include, page_folder_problems
from syncd.convert.context import (
    ConvertContext,
    ConvertOptions,
    GraphIndex,
    InlineContext,
    ReadwiseLayout,
)
from syncd.convert.index import JOURNAL, PAGE, READWISE, GraphIndexer, dependents, name_key
from syncd.convert.links import note_link_target
from syncd.convert.page import Unsupported
from syncd.errors import ConcurrentModification, SyncdError, VaultWriteError
from syncd.failures import FailedPages
from syncd.logseq.dates import COMMON_TITLE_FORMATS, compile_format, format_moment
from syncd.logseq.filenames import page_name_from_file
from syncd.logseq.graph_config import CONFIG_PATH, GraphConfig, load_graph_config
from syncd.names import conflict_copy_paths, fold_name, note_name, unique_name
from syncd.pagefile import open_for_writing
from syncd.parallel import Planner
from syncd.pipeline.page import (
    DEFAULT_ATTACHMENTS,
    DEFAULT_DAILY_FORMAT,
    HIDDEN,
    NOTE_KINDS,
    ORG,
    PAGE_SUFFIXES,
    PDF_HIGHLIGHTS,
    WHITEBOARD,
    FoundFile,
    PageWork,
    VaultLayout,
    join_path,
    natural_note,
    page_place,
    split_note,
)
from syncd.plan import PagePlan, PlanContext, PlanTask, plan_page
from syncd.state import GraphAsset, GraphPage, SourceRecord, StateStore, text_sha256
from syncd.threeway import merge3
from syncd.vault import file_sha256, is_temp_file
from syncd.writer import NoteHome, ReadwiseHint, RetryMerge, RunReport, Writer

if TYPE_CHECKING:
    from syncd.config import SourceConfig

log = logging.getLogger(__name__)

READWISE_ONLY = frozenset({READWISE})

FORMAT_VERSION = "2"  # bump when the conversion changes: every note is converted again
_SKIPPED_REASONS = {
    WHITEBOARD: "whiteboard (no Obsidian equivalent; not converted)",
    ORG: "Org-mode page (only Markdown graphs are converted)",
    PDF_HIGHLIGHTS: "PDF highlight store (positions cannot be kept; not copied)",
    HIDDEN: "page under a :hidden path of logseq/config.edn (not converted)",
}
_LOGSEQ_IGNORED = ("node_modules", "version-files")
OPEN_WAIT = 30.0  # syncd once: seconds it waits for pages held open for writing
Progress = Callable[[str, int, int], None]  # (phase, done, total)


# --------------------------------------------------------------------------------- settings


def read_vault_layout(vault_root: Path, into: str) -> VaultLayout:
    """Obsidian's daily-notes folder and format (``.obsidian/daily-notes.json``) and attachment
    folder (``app.json``; ``./sub``, next to each note, becomes ``<into>/sub``) where set; an
    unreadable or invalid value is warned about and the default used."""
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
    attachments = join_path(into, DEFAULT_ATTACHMENTS)
    if isinstance(attach_raw, str) and attach_raw.strip():
        raw = attach_raw.strip()
        if raw == "/":
            attachments = ""
        elif raw == "." or raw.startswith("./"):
            sub = _clean_folder(raw[2:], "app.json attachmentFolderPath")
            attachments = join_path(into, sub or "")
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


# --------------------------------------------------------------------------------- listing


@dataclass
class GraphListing:
    pages: dict[str, FoundFile] = field(default_factory=dict)  # pages and journals
    skipped: dict[str, FoundFile] = field(default_factory=dict)  # reported, not converted
    assets: dict[str, FoundFile] = field(default_factory=dict)  # key: path under assets/


def is_hidden(rel: str, patterns: Iterable[str]) -> bool:
    """Logseq's ``:hidden``: "/" + the graph-relative path starts with "/" + a pattern."""
    path = "/" + rel.lstrip("/")
    prefixes = (p if p.startswith("/") else "/" + p for p in patterns)
    return any(prefix != "/" and path.startswith(prefix) for prefix in prefixes)


def _ignored_segment(name: str) -> bool:
    """Logseq ignores dot folders/files (``.git``, ``.recycle``) but not ``..___x.md``."""
    return (len(name) > 1 and name[0] == "." and name[1] != ".") or name in _LOGSEQ_IGNORED


class GraphLayout:
    """Which files of a graph are pages, journals, assets or skipped (graph config + rules)."""

    def __init__(self, root: Path, graph: GraphConfig, *, notes_only: bool = False) -> None:
        self.root = root
        self.graph = graph
        self.notes_only = notes_only  # include: readwise: no assets, whiteboards or Org pages
        self.pages_dir = join_path(graph.pages_directory) or "."
        self.journals_dir = join_path(graph.journals_directory) or "."
        self.whiteboards_dir = join_path(graph.whiteboards_directory)
        self.assets_dir = "assets"
        self._special = {"logseq", self.assets_dir, self.whiteboards_dir} - {""}
        self._prefix = str(root).rstrip(os.sep) + os.sep

    def classify(self, rel: str) -> str | None:
        """PAGE, JOURNAL, WHITEBOARD, ORG, PDF_HIGHLIGHTS, "asset", or None (not ours)."""
        if ("/." in rel or rel.startswith(".")) and any(
            _ignored_segment(p) for p in rel.split("/")[:-1]
        ):
            return None  # in a dot folder (.git, .recycle)
        if rel.rpartition("/")[2].startswith(".") and not rel.endswith(PAGE_SUFFIXES):
            return None  # a dot file that is no page (.DS_Store); .@Name.md is a page
        if is_temp_file(rel) or rel.startswith("logseq/") or "node_modules/" in rel:
            return None
        if self.graph.hidden and is_hidden(rel, self.graph.hidden):
            # a page the user hid: skipped, and said so in the report (not silently)
            return HIDDEN if rel.endswith(PAGE_SUFFIXES) else None
        if not self.notes_only and _under(rel, self.assets_dir):
            return PDF_HIGHLIGHTS if rel.endswith(".edn") else "asset"
        if not self.notes_only and self.whiteboards_dir and _under(rel, self.whiteboards_dir):
            return WHITEBOARD if rel.endswith(".edn") else None
        for folder, kind in ((self.journals_dir, JOURNAL), (self.pages_dir, PAGE)):
            if folder == "." or _under(rel, folder):
                if rel.endswith(PAGE_SUFFIXES):
                    return kind
                if rel.endswith(".org") and not self.notes_only:
                    return ORG
        return None

    def list(self) -> GraphListing:
        listing = GraphListing()
        folders = {self.pages_dir, self.journals_dir, self.assets_dir, self.whiteboards_dir}
        if self.notes_only:
            folders = {self.pages_dir, self.journals_dir}
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


@dataclass
class _Staged:
    """What a run learned, waiting for the next commit (``GraphMigration.write_state``)."""

    pages: dict[str, GraphPage] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    sources: dict[str, SourceRecord] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=dict)
    assets: dict[str, GraphAsset] = field(default_factory=dict)
    assets_gone: set[str] = field(default_factory=set)
    meta: str | None = None


_NOTHING_STAGED = _Staged()  # (compared with, never changed)


class GraphMigration:
    """One source's migration into its vault. ``run`` does one pass; every note goes through
    ``writer``, and what the run learned reaches the state store through ``write_state``, which
    the writer calls inside its commit (a ``syncd.writer.Stager``), after the notes written so
    far are durable. ``workers``: processes that may plan pages ahead (``syncd.parallel``)."""

    def __init__(
        self, writer: Writer, vault_name: str, config: SourceConfig, *, workers: int = 0
    ) -> None:
        self.writer = writer
        self.workers = workers
        self.vault_name = vault_name
        self.vault = writer.vaults[vault_name]
        self.home = NoteHome(vault_name, config.into)
        self.config = config
        # the kinds of page this source makes notes of: include: readwise only Readwise
        # documents, include: all every page, journal and document
        self.kinds = NOTE_KINDS if config.include is Include.ALL else READWISE_ONLY
        self.root = config.path
        self.settle: float | None = None  # the daemon's settle_seconds (_Run.unsettled)
        self.graph_key = str(config.path)
        self.options: ConvertOptions = config.convert
        self._config_stamp = _stamp(config.path / CONFIG_PATH)
        self.failed = FailedPages(
            writer.state, vault_name, config.path, dry_run=writer.dry_run, clock=writer.clock
        )
        self.use_graph(load_graph_config(config.path))
        self._vault_layout: VaultLayout | None = None
        self._out = _Staged()

    def use_graph(self, graph: GraphConfig) -> None:
        self.graph = graph
        self.layout = GraphLayout(self.root, graph, notes_only=self.kinds == READWISE_ONLY)
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
        # syncd must never read its own notes as pages (refused at start the same way)
        vaults = [(vault.root.resolve(), name) for name, vault in self.writer.vaults.items()]
        problems = page_folder_problems(self.root, vaults, graph)
        for problem in problems:
            log.error("%s: %s; keeping the settings read before", self.root, problem)
        if problems:
            return
        if graph != self.graph:
            log.info("%s: graph settings changed: every page is converted again", self.root)
            self.use_graph(graph)

    # -- what the engine and the daemon need ---------------------------------------------------
    def owns(self, path: Path) -> bool:
        """Whether a change of ``path`` matters to this migration (fast, no I/O)."""
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return False
        return rel == "logseq/config.edn" or self.layout.classify(rel) is not None

    def pending_count(self) -> int:
        """Pages and assets waiting for the next commit (the engine's batch size counts them)."""
        return len(self._out.pages) + len(self._out.assets)

    def has_state(self) -> bool:
        return self._out != _NOTHING_STAGED

    def write_state(self, state: StateStore) -> None:
        """Record what was staged (inside the engine's transaction, after syncfs)."""
        v, g = self.vault_name, self.graph_key
        if self.failed.records:  # the failures of the pages synced (or gone) now are over
            self.failed.forget([*self._out.pages, *self._out.gone])
        if self._out.gone:
            state.delete_graph_pages(v, g, sorted(self._out.gone))
        if self._out.pages:
            state.put_graph_pages(v, g, self._out.pages)
        if self._out.sources:
            state.put_sources(v, self._out.sources)
        if self._out.bases:
            state.put_note_bases(v, self._out.bases)
        for asset in sorted(self._out.assets_gone):
            state.delete_graph_asset(v, g, asset)
        for asset, record in self._out.assets.items():
            state.put_graph_asset(v, g, asset, record)
        if self._out.meta is not None:
            state.set_meta(self._meta_key, self._out.meta)
        self.discard_state()

    def discard_state(self) -> None:
        self._out = _Staged()

    # -- settings ------------------------------------------------------------------------------
    @property
    def vault_layout(self) -> VaultLayout:
        if self._vault_layout is None:
            self._vault_layout = read_vault_layout(self.vault.root, self.config.into)
        return self._vault_layout

    def settings_fingerprint(self) -> str:
        """Everything besides the pages that the notes depend on: when it changes, every page
        is converted again."""
        layout, into = self.vault_layout, self.config.into
        return _digest(FORMAT_VERSION, self.graph, self.options, layout, into, sorted(self.kinds))

    def failure_settings(self) -> str:
        """What a page's failure depends on besides its bytes: syncd's version and the
        settings (a failure recorded under others is tried again)."""
        from syncd import __version__

        config = self.writer.config
        settings = self.settings_fingerprint()
        return _digest(__version__, settings, config.max_page_bytes, config.repair_mojibake)

    @property
    def _meta_key(self) -> str:
        return f"migrate:{self.vault_name}:{self.graph_key}"

    # -- a run ---------------------------------------------------------------------------------
    def run(
        self, paths: Iterable[Path] | None, report: RunReport, progress: Progress | None = None
    ) -> None:
        """Migrate what changed: the whole graph (``paths`` None: a full scan) or ``paths``."""
        self._vault_layout = None  # Obsidian's settings may have changed since the last run
        self.refresh_graph()
        self.failed.load(self.failure_settings())
        self.writer.keep_documents(True)
        try:
            _Run(self, report, progress).go(paths)
        finally:
            self.writer.flush(force=True)
            self.writer.keep_documents(False)

    # -- staging (nothing in a dry run) ------------------------------------------------------------
    def stage_page(self, key: str, page: GraphPage, source: SourceRecord | None = None) -> None:
        if self.writer.dry_run:
            return
        self._out.gone.discard(key)
        self._out.pages[key] = page
        if source is not None:
            self._out.sources[key] = source

    def stage_gone(self, key: str) -> None:
        if not self.writer.dry_run:
            self._out.pages.pop(key, None)
            self._out.gone.add(key)

    def stage_base(self, note: str, text: str) -> None:
        if not self.writer.dry_run:
            self._out.bases[note] = text

    def stage_asset(self, key: str, record: GraphAsset | None) -> None:
        if self.writer.dry_run:
            return
        if record is None:
            self._out.assets.pop(key, None)
            self._out.assets_gone.add(key)
        else:
            self._out.assets_gone.discard(key)
            self._out.assets[key] = record

    def stage_meta(self, settings: str) -> None:
        if not self.writer.dry_run:
            self._out.meta = settings

    def base_of(self, note: str) -> str | None:
        """The text syncd last wrote to ``note`` (staged this run, else recorded)."""
        if note in self._out.bases:
            return self._out.bases[note]
        record = self.writer.state.get_note_base(self.vault_name, note)
        return record.text if record is not None else None


class _Run:
    """One run of a source (the module docstring). The pages converted again after the pass
    take one round: a page's facts come from its own text, so converting it again moves
    nothing."""

    def __init__(
        self, migration: GraphMigration, report: RunReport, progress: Progress | None
    ) -> None:
        self.m = migration
        self.writer = migration.writer
        self.state = migration.writer.state
        self.report = report
        self.progress = progress
        self.facts: dict[str, GraphPage] = {}
        self.old_facts: dict[str, GraphPage] = {}
        self.changed: set[str] = set()
        self.found: dict[str, FoundFile] = {}
        self.claimed: dict[str, str] = {}  # folded note path -> page key
        # page -> its natural note path, held by a vault file syncd has no record of
        self.contested: dict[str, str] = {}
        self.collisions: dict[str, str] = {}  # page -> the page that keeps its note path (N7)
        self.assets: dict[str, str] = {}  # asset key -> vault path
        self.index = GraphIndex()
        self.copies: dict[str, str] = {}  # note -> its conflict copy written in this run
        self.listings: dict[str, set[str]] = {}  # vault folder -> folded names (see foreign)
        self.listings_frozen = True
        # task number -> the note text and recorded highlights a Readwise page was handed out
        # with (what its plan must still find: Writer.finish_readwise)
        self.hints: dict[int, ReadwiseHint] = {}
        self.ctx = InlineContext(migration.title_formats, migration.vault_layout.daily_format)
        self.recorded: set[str] | None = None  # pages with a record in the sources table
        self.counted: set[str] = set()  # plain pages and journals counted in the report
        self.deferred: set[str] = set()  # pages converted after the pass only (one_pass)
        self.work = PageWork(
            graph=migration.graph,
            journal_title=migration.journal_title,
            repair_mojibake=migration.writer.config.repair_mojibake,
            max_page_bytes=migration.writer.config.max_page_bytes,
            into=migration.config.into,
            layout=migration.vault_layout,
            kinds=migration.kinds,
            readwise_folders=migration.config.include is Include.READWISE
            or migration.config.convert.readwise_layout is ReadwiseLayout.CATEGORY,
        )

    # -- overview --------------------------------------------------------------------------
    def go(self, paths: Iterable[Path] | None) -> None:
        m = self.m
        settings = m.settings_fingerprint()
        self.settings_changed = settings_changed = self.state.get_meta(m._meta_key) != settings
        listing, full = self.listing(paths)
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
        # a page that failed and has not changed since is not read again (nor reported again)
        failed_gone = [
            k for k in m.failed.records if k not in listing.pages and (full or k in self.asked)
        ]
        passed = m.failed.pass_over(
            listing.pages, candidates, failed_gone, self.report.known_failures
        )
        candidates -= passed
        self.report.unchanged += len(listing.pages) - len(candidates) - len(passed)
        candidates -= self.unsettled(candidates)
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
                if v.kind in self.work.kinds and not v.note and k in self.found
            }
        self.old_facts = {k: v for k, v in rows.items() if v.kind in NOTE_KINDS}
        self.facts = {k: v for k, v in self.old_facts.items() if k not in removed}
        old_boards = {k: v.name for k, v in rows.items() if v.kind == WHITEBOARD}
        boards = {k: n for k, n in old_boards.items() if k not in removed}
        for key, found in listing.skipped.items():
            if found.kind == WHITEBOARD:
                boards[key] = self.whiteboard_name(found)
        for key in removed:
            m.stage_gone(key)
        self.assets = {k: r.dest for k, r in old_assets.items() if k not in gone_assets}
        self.sync_assets(listing, old_assets, asset_work, gone_assets)
        old_copies = {k: r.dest for k, r in old_assets.items()}
        # the index of the last run, then what changed before any page is read: pages gone,
        # asset copies, whiteboards; the pages are planned with it (a plan made with it
        # stands unless a key it read moves when the pass's pages join the index)
        indexer = GraphIndexer(self.old_facts, old_copies, old_boards.values())
        moved_before = indexer.update_many(dict.fromkeys(removed))
        moved_before |= indexer.set_assets(self.assets)
        moved_before |= indexer.set_whiteboards(boards.values())
        self.index = indexer.index
        self.claimed = {
            fold_name(p.note): k
            for k, p in sorted(self.facts.items())
            if p.note and p.kind in self.work.kinds
        }
        self.one_pass(sorted(candidates))
        targets_before = dict(self.index.names)
        moved = indexer.update_many({key: self.facts.get(key) for key in self.changed})
        settled = self.settle_contested()
        moved |= indexer.update_many(settled)
        kinds = self.work.kinds
        if len(moved) > len(self.facts) // 10:  # (a first run moves all: keep what notes need)
            moved &= set().union(*(p.deps for p in self.facts.values() if p.kind in kinds))
        moved = {
            key
            for key in moved
            if not key.startswith("n:")
            or not (
                # a journal's name links to its daily note by the date rule, never by the index
                self.ctx.journal_date(key[2:]) is not None
                or same_link(targets_before.get(key[2:]), self.index.names.get(key[2:]), key[2:])
            )
        }
        # the pages converted in this run read the index as the pass had it; the others, in
        # earlier runs, the last run's
        earlier = {k: p for k, p in self.facts.items() if k not in self.changed and p.kind in kinds}
        again = {
            key
            for key in self.changed
            if (page := self.facts.get(key)) is not None
            and page.note
            and page.kind in kinds
            and not moved.isdisjoint(page.deps)
        } | dependents(earlier, moved | moved_before)
        again |= self.deferred - settled.keys()  # (a first run's plain pages: one_pass)
        self.convert_again(sorted(again - set(self.collisions)))
        m.stage_meta(settings)

    def listing(self, paths: Iterable[Path] | None) -> tuple[GraphListing, bool]:
        """The files of this run: ``paths`` (asked for by the daemon), or every file of the
        graph (a scan, a changed config.edn or changed settings: then the paths asked for
        are in it too, even what a scan passes over, such as a FIFO named like a page, so
        that it is reported). True when the listing is the whole graph."""
        m = self.m
        self.asked: set[str] = set()
        full = paths is None or self.settings_changed
        listing = m.layout.list() if full else GraphListing()
        for path in paths or ():
            try:
                rel = path.relative_to(m.root).as_posix()
            except ValueError:
                continue
            if rel == "logseq/config.edn" and not full:
                full, listing = True, m.layout.list()
            kind = m.layout.classify(rel)
            if kind is None or rel in listing.pages:
                continue
            self.asked.add(rel)
            try:
                st = path.stat()
            except OSError:
                continue
            m.layout.add(listing, rel, str(path), st.st_size, st.st_mtime_ns, kind)
        return listing, full

    def unsettled(self, candidates: set[str]) -> set[str]:
        """The pages of ``candidates`` not to read now (a page is read once settled, design.md):
        the daemon (``settle`` set) defers those a process holds open for writing or changed
        less than ``settle`` s ago; ``syncd once`` waits up to ``OPEN_WAIT`` s for them."""
        busy = open_for_writing(self.m.root) & candidates if candidates else set()
        if self.m.settle is None:
            if busy:
                log.info("waiting for %d page(s) being written", len(busy))
            deadline = time.monotonic() + OPEN_WAIT
            while busy and time.monotonic() < deadline:
                time.sleep(0.05)
                busy &= open_for_writing(self.m.root)
            return set()
        now, settle = time.time_ns(), self.m.settle * 1e9
        busy |= {k for k in candidates if 0 <= now - self.found[k].mtime_ns < settle}
        self.report.deferred.extend(self.found[k].path for k in sorted(busy))
        return busy

    def report_skipped(self, listing: GraphListing, stamps: Mapping[str, tuple[int, int]]) -> None:
        """Whiteboards, .org pages, PDF highlight stores: reported when new or changed."""
        for key, found in sorted(listing.skipped.items()):
            if stamps.get(key) == (found.size, found.mtime_ns):
                continue
            self.report.migration.skipped.append((key, _SKIPPED_REASONS[found.kind]))
            name = self.whiteboard_name(found) if found.kind == WHITEBOARD else key
            self.m.stage_page(key, GraphPage(found.size, found.mtime_ns, "", found.kind, name, ""))

    def whiteboard_name(self, found: FoundFile) -> str:
        return page_name_from_file(found.stem, self.m.graph.file_name_format)

    def fail(self, path: Path, exc: SyncdError | OSError, key: str | None = None) -> None:
        if isinstance(exc, SyncdError):  # naming the note or folder that refused, if not the page
            reason = str(exc) if exc.path not in (None, path) else exc.message
        else:
            reason = exc.strerror or str(exc)
        if key is not None:
            self.page_failed(key, reason, exc)
        else:
            self.writer.fail(path, reason, self.report)

    def page_failed(self, key: str, reason: str, exc: BaseException) -> None:
        """Page ``key`` failed: reported, and remembered with its fingerprint (read again
        when it changes; a transient failure also after a wait). The same failure of the same
        bytes (only the mtime moved) is not reported again."""
        path = self.page_path(key)
        if not self.m.failed.record(key, reason, exc, self.writer.config.max_page_bytes):
            log.debug("%s: %s (failed before with the same bytes)", path, reason)
            self.report.known_failures.append((str(path), reason))
            return
        self.writer.fail(path, reason, self.report)

    # -- the pass ----------------------------------------------------------------------------
    def one_pass(self, keys: list[str]) -> None:
        """Plan and write every page of ``keys`` (changed since the last run), in order; in a
        first run plain pages and journals are written after it, with the whole index."""
        ctx = self.plan_context()
        if not self.old_facts and self.work.kinds != {READWISE}:
            ctx = replace(ctx, work=replace(self.work, kinds=self.work.kinds & {READWISE}))
        tasks = (self.task(n, key, hint=True) for n, key in enumerate(keys))
        workers = 0 if self.writer.dry_run else self.m.workers
        planner = Planner(ctx, tasks, len(keys), workers)
        try:
            for number, key in enumerate(keys):
                task = self.task(number, key)
                hinted = partial(self.task, number, key, hint=True)
                self.reporting_failures(key, partial(self.process, key, task, hinted, planner))
                if (number + 1) % 64 == 0:
                    self.progressed("pages", number + 1, len(keys))
                self.writer.flush()
        finally:
            planner.close()
        if keys:
            self.progressed("pages", len(keys), len(keys))

    def progressed(self, phase: str, done: int, total: int) -> None:
        """Tell the caller's progress callback: ``<source folder>: <phase>``, done, total."""
        if self.progress is not None:
            self.progress(f"{self.m.root.name}: {phase}", done, total)

    def task(self, number: int, key: str, *, hint: bool = False) -> PlanTask:
        """The plan task of page ``key``; ``hint``: a Readwise page that went into a note last
        run comes with that note's text and recorded highlights, to merge into (what the
        plan assumed is checked by ``Writer.finish_readwise``)."""
        found = self.found[key]
        cached = self.old_facts.get(key)
        task = PlanTask(number, found, self.reusable_sha(cached))
        if not hint or READWISE not in self.work.kinds:
            return task
        if cached is not None and cached.kind != READWISE:
            return task
        if self.recorded is None:  # (one query for the pages the state has a record of)
            self.recorded = set(self.state.source_stamps(self.m.vault_name))
        if key not in self.recorded:
            return task  # never went into a note
        previous = self.state.get_source(self.m.vault_name, key)
        made = self.writer.readwise_hint(self.m.vault_name, previous)
        if made is None:
            return task
        self.hints[number] = made
        return replace(task, doc_id=made.doc_id, existing=made.text, seen=made.packed)

    def reusable_sha(self, cached: GraphPage | None) -> str | None:
        """The hash a page must still have for its facts of last run to stand as they are
        (its note written, or it is of a kind this source makes no note of; the settings
        the same); None: plan it again."""
        if cached is None or self.settings_changed:
            return None
        if not cached.note and cached.kind in self.work.kinds:
            return None
        return cached.sha256

    def reporting_failures(self, key: str, work: Callable[[], None]) -> None:
        """``work()`` on page ``key``; whatever goes wrong is this page's failure, never the
        run's (reported with the page's path and the reason)."""
        try:
            work()
        except (SyncdError, OSError) as exc:
            self.fail(self.page_path(key), exc, key)
        except RecursionError as exc:
            # parse, merge and render recurse once per outline level
            self.page_failed(key, "outline nested too deeply to process", exc)
        except Exception as exc:
            # one page must never stop the run (nor the daemon's scan) for the others
            log.debug("%s: unexpected error", self.page_path(key), exc_info=True)
            reason = f"internal error, please report: {type(exc).__name__}: {exc}"
            self.page_failed(key, reason, exc)

    def page_path(self, key: str) -> Path:
        return self.found[key].path if key in self.found else self.m.root / key

    def process(
        self, key: str, task: PlanTask, hinted: Callable[[], PlanTask], planner: Planner
    ) -> None:
        """One page of the pass: planned, its facts kept, its note path given, its note
        written. ``hinted``: its task with what a Readwise merge starts from (made only where
        the plan is made now)."""
        cached = self.old_facts.get(key)
        plan = planner.plan(task, hinted)
        if plan.status == "gone":
            return  # gone since the listing: the next scan sees it removed
        if plan.status == "unfinished":
            log.info("%s: still being written (it ends inside its properties)", task.found.path)
            return  # not recorded: read again at the next change or scan
        if plan.status == "same" and cached is not None:
            # same bytes, new stat: nothing to convert
            self.facts[key] = replace(cached, size=plan.size, mtime_ns=plan.mtime_ns)
            self.m.stage_page(key, self.facts[key])
            return
        facts = self.facts_of(key, plan, cached)
        self.facts[key] = facts
        self.changed.add(key)
        if plan.not_taken:
            self.report.not_readwise.append((key, plan.not_taken))
            log.info("not a Readwise document: %s: %s", key, plan.not_taken)
        if not plan.planned and plan.kind not in self.work.kinds:
            self.m.stage_page(key, facts)  # a page of a kind this source makes no note of
            return
        if not facts.note:
            self.assign(key, plan)
            facts = self.facts[key]
            if not facts.note or key in self.contested:
                return  # a collision (reported), or settled after the pass
        if not plan.planned:
            self.deferred.add(key)  # its note after the pass (one_pass)
            return
        if plan.kind == READWISE:
            self.write_readwise(key, task, plan, facts, planner)
        else:
            self.page_done(key, facts, plan)

    def facts_of(self, key: str, plan: PagePlan, cached: GraphPage | None) -> GraphPage:
        """The facts of a page from its plan, with the note path it had (same kind), or for a
        Readwise document the note the state or the vault has for it."""
        note = cached.note if cached is not None and cached.kind == plan.kind else ""
        if plan.kind == READWISE:
            note = self.writer.find_readwise_note(self.m.vault_name, plan.doc_id) or note
        # a page of a kind this source makes no note of has the note it would have with
        # include: all, for the index only: links to it read as they would there
        return with_note(plan, note if plan.kind in self.work.kinds else plan.natural)

    def write_readwise(
        self, key: str, task: PlanTask, plan: PagePlan, facts: GraphPage, planner: Planner
    ) -> None:
        """Merge a Readwise page into its note: the plan's merge when what it assumed still
        holds (``Writer.finish_readwise``), else the document merged here."""
        taken = lambda n: self.taken_by_other(n, key)  # noqa: E731
        note: str | None = None
        retry: str | None = None
        if plan.readwise is not None:
            hint = self.hints.pop(task.index, None)
            try:
                note = self.writer.finish_readwise(
                    self.m.home, key, _record(facts), plan.readwise, hint, self.report, taken
                )
            except RetryMerge as changed:
                retry = changed.note
            if note is None:  # an assumption no longer holds: planned again, here
                plan = planner.inline(task)
                if plan.status != "ok" or plan.doc is None:
                    return  # gone or changed in kind since: the next run takes it
                facts = self.facts_of(key, plan, self.old_facts.get(key))
                facts = with_note(facts, facts.note or self.facts[key].note)
        if note is None:
            note = self.sync_document(key, plan, facts, self.readwise_ctx, retry=retry)
        self.readwise_done(key, facts, note)

    def sync_document(
        self,
        key: str,
        plan: PagePlan,
        facts: GraphPage,
        ctx: ConvertContext,
        *,
        again: bool = False,
        retry: str | None = None,
    ) -> str:
        """The Readwise document of page ``key``'s plan merged into its note by the writer
        (``Writer.sync_document``); the note's path."""
        assert plan.doc is not None
        taken = partial(self.taken_by_other, key=key)
        place = None if self.work.readwise_folders else page_place(plan.name)
        return self.writer.sync_document(
            self.m.home,
            self.page_path(key),
            key,
            plan.doc,
            _record(facts),
            self.report,
            ctx,
            taken,
            again=again,
            retry=retry,
            place=place,
        )

    def readwise_done(self, key: str, facts: GraphPage, note: str) -> None:
        """Count and stage a Readwise page merged into ``note`` (which may not be the path
        it was given: the writer finds a document's note by its id)."""
        if facts.note and self.claimed.get(fold_name(facts.note)) == key:
            del self.claimed[fold_name(facts.note)]
        self.claimed[fold_name(note)] = key
        self.facts[key] = facts = facts if facts.note == note else replace(facts, note=note)
        if PAGE in self.work.kinds:  # counted in a migration's report (include: all)
            self.report.migration.readwise += 1
        self.m.stage_page(key, facts)

    # -- note paths ------------------------------------------------------------------------
    def assign(self, key: str, plan: PagePlan) -> None:
        """Give a page without a note path one: its natural one unless another page holds
        it (a collision, N7: the first one in path order keeps it, and pages placed before
        come first; a Readwise document takes a free name beside it instead) or a vault file
        syncd has no record of is there (``settle_contested``)."""
        page = self.facts[key]
        natural = plan.natural or natural_note(self.work, key, page.kind, page.name, plan.category)
        holder = self.claimed.get(fold_name(natural))
        held = holder is not None and holder != key
        if held and page.kind != READWISE:
            assert holder is not None
            self.collisions[key] = holder
            other = self.facts[holder].name if holder in self.facts else holder
            self.report.migration.skipped.append(
                (key, f"same note as page {other!r} ({natural}): the first one keeps it (N7)")
            )
            self.facts[key] = replace(page, note="")
            self.m.stage_page(key, self.facts[key])  # looked at again when it changes
            return
        if page.kind != READWISE and not held and self.foreign(natural):
            # a vault file syncd has no record of: settled once the index is complete
            self.contested[key] = natural
            self.claimed[fold_name(natural)] = key
            self.facts[key] = with_note(page, natural)  # (in the index meanwhile)
            return
        note = natural
        if held or (page.kind == READWISE and self.foreign(natural)):
            note = self.free_name(natural, key)
        self.claimed[fold_name(note)] = key
        self.facts[key] = with_note(page, note)

    def free_name(self, natural: str, key: str) -> str:
        """``natural``, or ``"<stem> (2)"`` and on beside it: the first name no other page
        claims and no vault file has."""
        folder, stem = split_note(natural)

        def taken(candidate: str) -> bool:
            path = join_path(folder, candidate + ".md")
            return self.taken_by_other(path, key) or self.foreign(path)

        return join_path(folder, unique_name(stem, taken) + ".md")

    def settle_contested(self) -> dict[str, GraphPage]:
        """The facts of the pages whose note path holds a vault file syncd has no record of,
        settled after the pass: the path is kept when the file is exactly what the page gives
        (syncd wrote it before it lost its state), or for a journal (rule 7 keeps the user's
        daily note); else the page takes a free name beside it."""
        settled: dict[str, GraphPage] = {}
        ctx = self.plan_context()
        for key in sorted(self.contested):
            self.reporting_failures(key, partial(self.settle, ctx, key, settled))
        self.contested.clear()
        return settled

    def settle(self, ctx: PlanContext, key: str, settled: dict[str, GraphPage]) -> None:
        natural = self.contested[key]
        page = self.facts[key]
        plan = plan_page(ctx, PlanTask(0, self.found[key]), merge=False)
        if plan.status != "ok" or plan.kind != page.kind or plan.text is None:
            return  # gone or changed since the pass: the next run takes it
        note = natural
        if page.kind != JOURNAL and not self.holds(natural, plan.text):
            del self.claimed[fold_name(natural)]
            note = self.free_name(natural, key)
            self.claimed[fold_name(note)] = key
        facts = replace(with_note(page, note), deps=plan.deps)
        self.facts[key] = settled[key] = facts
        self.page_done(key, facts, plan)

    def holds(self, note: str, text: str | None) -> bool:
        """Whether the vault file ``note`` holds exactly ``text``."""
        try:
            current = self.m.vault.read_text(note)
        except (SyncdError, OSError):
            return False
        return current is not None and current[0] == text

    def foreign(self, note: str) -> bool:
        """A vault file at ``note`` that is not this page's note (the user's, or that of a page
        that left the graph: rule 6). Folders are listed once during the pass (notes written
        meanwhile are claimed); one out of the vault or not listable is the page's failure
        (VaultWriteError), never a reason to look for another name."""
        folder, _ = split_note(note)
        names = self.listings.get(folder)
        if names is None:
            path = self.m.vault.root if not folder else self.m.vault.resolve(folder)
            try:
                names = {fold_name(entry.name) for entry in os.scandir(path)}
            except (FileNotFoundError, NotADirectoryError):
                names = set()
            except OSError as exc:
                reason = f"cannot list folder: {exc.strerror or exc}"
                raise VaultWriteError(reason, Path(path)) from exc
            if self.listings_frozen:
                self.listings[folder] = names
        return fold_name(note_name(note)) in names

    def taken_by_other(self, note: str, key: str) -> bool:
        holder = self.claimed.get(fold_name(note))
        return holder is not None and holder != key

    def sync_assets(
        self, listing: GraphListing, old: Mapping[str, GraphAsset], work: set[str], gone: set[str]
    ) -> None:
        for key in sorted(gone):
            self.assets.pop(key, None)
            self.m.stage_asset(key, None)
        attachments = self.m.vault_layout.attachments
        for key in sorted(work):
            found = listing.assets[key]
            try:
                self.assets[key] = self.copy_asset(found, old.get(key), join_path(attachments, key))
            except (SyncdError, OSError) as exc:
                self.fail(found.path, exc)

    def copy_asset(self, found: FoundFile, record: GraphAsset | None, natural: str) -> str:
        """Copy one asset if it changed; never over a different file the user put there."""
        vault = self.m.vault
        with found.path.open("rb") as handle:
            digest = file_sha256(handle)
        if record is not None and record.sha256 == digest:
            self.m.stage_asset(found.key, replace(record, size=found.size, mtime_ns=found.mtime_ns))
            return record.dest
        dest = record.dest if record is not None else natural
        there = vault.file_digest(dest)
        ours = record is not None and there is not None and there[0] == record.dest_sha256
        if there is not None and there[0] != digest and not ours:
            if record is not None:
                self.report.migration.skipped.append(
                    (f"assets/{found.key}", f"{dest} was changed in the vault; kept as is")
                )
                record = GraphAsset(found.size, found.mtime_ns, digest, dest, there[0])
                self.m.stage_asset(found.key, record)
                return dest
            dest = self.free_asset_path(natural, digest)
            self.report.migration.skipped.append(
                (f"assets/{found.key}", f"{natural} holds another file; copied to {dest}")
            )
            there = vault.file_digest(dest)
        if there is None or there[0] != digest:
            if self.writer.dry_run:
                log.info("would have copied %s to %s", found.path, dest)
            else:
                # the one atomic writer, streaming the file: a compare-and-swap on the copy
                # read above, never over a file that appeared meanwhile
                vault.write_atomic(
                    dest,
                    found.path,
                    expected=there[1] if there is not None else None,
                    create_only=there is None,
                    durable=not self.writer.bulk,
                )
                log.info("copied %s", dest)
            self.report.migration.assets += 1
        self.m.stage_asset(found.key, GraphAsset(found.size, found.mtime_ns, digest, dest, digest))
        return dest

    def free_asset_path(self, natural: str, digest: str) -> str:
        folder, _ = split_note(natural)
        path = PurePosixPath(natural)
        stem, suffix = path.stem, path.suffix

        def taken(candidate: str) -> bool:
            there = self.m.vault.file_digest(join_path(folder, candidate + suffix))
            return there is not None and there[0] != digest

        return join_path(folder, unique_name(stem, taken) + suffix)

    @property
    def readwise_ctx(self) -> ConvertContext:
        """What Readwise notes are rendered with: the same rules, index and options as any
        page of the graph."""
        return ConvertContext(self.work.graph, self.index, self.m.options, self.ctx, "")

    def plan_context(self) -> PlanContext:
        """What pages are planned with now (the index as it is)."""
        return PlanContext(self.work, self.index, self.m.options, self.ctx, self.readwise_ctx)

    def page_done(self, key: str, facts: GraphPage, plan: PagePlan) -> None:
        """Write a plain page's or journal's note (rule 7), count, report, stage (a page
        converted again in the same run is counted and reported once)."""
        assert plan.text is not None
        self.write(facts.note, plan.text, key in self.changed)
        if key not in self.counted:
            self.counted.add(key)
            if facts.kind == JOURNAL:
                self.report.migration.journals += 1
            else:
                self.report.migration.pages += 1
            for item in plan.unsupported:
                self.report.migration.unsupported.append((facts.name, _describe(item)))
            counts = self.report.migration.dropped
            for what, count in plan.dropped:
                counts[what] = counts.get(what, 0) + count
        self.m.stage_page(key, facts, _record(facts))

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
        m, vault = self.m, self.m.vault
        current = vault.read_text(note)
        base = m.base_of(note)
        mine = current[0] if current is not None else None
        if mine is None and base is not None:
            if not page_changed:
                return  # the user deleted the note: it comes back when its page changes
            log.info("%s was deleted in the vault; its page changed, so it comes back", note)
        if mine == text:
            pass
        elif mine is None or (base is not None and text_sha256(mine) == text_sha256(base)):
            self.writer.write_note(vault, note, text, current, self.report)  # new or untouched
        elif base == text:
            return  # only the user changed it since: theirs stands
        elif base is not None and (merged := merge3(base, mine, text)) is not None:
            if merged != mine:
                self.writer.write_note(
                    vault, note, merged, current, self.report, " (merged with your edits)"
                )
                self.report.migration.merged.append(note)
        else:
            self.conflict(note, text)
        if mine != text or base != text:
            m.stage_base(note, text)

    def conflict(self, note: str, text: str) -> None:
        """The new version of an edited note that does not merge goes to a conflict copy
        beside it (one per note and run: converted again, the same copy is updated)."""
        vault = self.m.vault
        if note in self.copies:
            copy = self.copies[note]
            previous = vault.read_text(copy)
            if previous is None or previous[0] != text:
                self.writer.write_note(vault, copy, text, previous, self.report, " (conflict copy)")
            return
        when = self.writer.clock().astimezone()
        for copy in conflict_copy_paths(note, when):
            if vault.read_text(copy) is None:
                self.writer.write_note(vault, copy, text, None, self.report, " (conflict copy)")
                self.copies[note] = copy
                self.report.migration.conflicts.append(copy)
                log.warning(
                    "%s: edited in the vault and changed in Logseq; the new version is in %s",
                    note,
                    copy,
                )
                return
        raise VaultWriteError(f"no free conflict copy name for {note}")

    # -- after the pass ----------------------------------------------------------------------
    def convert_again(self, keys: list[str]) -> None:
        """Convert pages with the final index: a first run's plain pages and journals, and
        notes that depend on a name, alias, block or asset whose target moved."""
        self.listings.clear()
        self.listings_frozen = False
        tasks = [self.again_task(number, key) for number, key in enumerate(keys)]
        # plain pages and journals planned ahead by helpers (forked now: the final index)
        ahead = (t for t in tasks if t is not None and self.facts[t.found.key].kind != READWISE)
        workers = 0 if self.writer.dry_run else self.m.workers
        planner = Planner(self.plan_context(), ahead, len(keys), workers)
        try:
            for number, (key, task) in enumerate(zip(keys, tasks, strict=True), 1):
                if task is not None:
                    again = partial(self.convert_one_again, planner, task)
                    self.reporting_failures(key, again)
                self.writer.flush()
                if number % 64 == 0 or number == len(keys):
                    self.progressed("links", number, len(keys))
        finally:
            planner.close()

    def again_task(self, number: int, key: str) -> PlanTask | None:
        facts = self.facts.get(key)
        if facts is None or not facts.note:
            return None
        kind = JOURNAL if facts.kind == JOURNAL else PAGE
        found = self.found.get(key) or FoundFile(
            key, str(self.m.root / key), facts.size, facts.mtime_ns, kind
        )
        return PlanTask(number, found)

    def convert_one_again(self, planner: Planner, task: PlanTask) -> None:
        key, ctx = task.found.key, planner.ctx
        facts = self.facts[key]  # (with a note: again_task)
        # a Readwise page is merged again by the writer (its document, not a helper's merge)
        readwise = facts.kind == READWISE
        plan = planner.inline(task) if readwise else planner.plan(task, lambda: task)
        found = task.found
        if plan.status != "ok" or not plan.planned or plan.kind != facts.kind:
            return  # gone, or no longer a page of this kind: the next run takes it
        if plan.sha256 != facts.sha256 and key in self.changed:
            log.info("%s changed while syncing; the next run takes it", found.path)
            return
        if plan.doc is not None:  # a Readwise page merged in this run: merged again
            facts = replace(facts, sha256=plan.sha256, deps=plan.deps)
            note = self.sync_document(key, plan, facts, ctx.readwise, again=True)
            self.facts[key] = replace(facts, note=note)
            self.m.stage_page(key, self.facts[key])
            return
        facts = self.facts[key] = with_note(plan, facts.note)
        self.page_done(key, facts, plan)


def same_link(old: str | None, new: str | None, key: str) -> bool:
    """Whether a link to the page name ``key`` (an index key) reads the same with target
    ``old`` as with ``new`` (None: not in the index): a target that is the name itself, as
    Obsidian resolves it, is no target (``wikilink`` writes ``[[name]]`` for both), unless the
    name ends like a file (``tasks.json``: its link gets the note's ``.md``)."""

    def shown(target: str | None) -> str | None:
        if target is None or (name_key(target) == key and note_link_target(target) == target):
            return None
        return target

    return shown(old) == shown(new)


def _record(facts: GraphPage) -> SourceRecord:
    """The sources-table fingerprint of a page as the pass read it (``note``: its note)."""
    return SourceRecord(facts.size, facts.mtime_ns, facts.sha256, None, "ok", None, facts.note)


def _describe(item: Unsupported) -> str:
    """One line for the report: reason (row, line): excerpt."""
    where = ", ".join(x for x in (item.row, f"line {item.line}" if item.line else "") if x)
    return f"{item.reason} ({where})" + (f": {item.excerpt}" if item.excerpt else "")


def _digest(*values: object) -> str:
    return hashlib.sha256(repr(values).encode("utf-8")).hexdigest()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def with_note(page: GraphPage | PagePlan, note: str) -> GraphPage:
    """The facts of ``page`` (a page's facts, or its plan) with the note path ``note``: for
    facts, ``dataclasses.replace(page, note=note)`` at a quarter of its cost."""
    p, head = page, (page.size, page.mtime_ns, page.sha256, page.kind, page.name)
    return GraphPage(*head, note, p.aliases, p.block_ids, p.deps, p.page_uuid)
