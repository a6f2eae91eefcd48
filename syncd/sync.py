"""The sync engine: one straight line from a source page to a durable note (I/O edge).

    read bytes -> decode -> parse -> classify -> document -> locate note -> merge
               -> write atomically inside the vault -> record in state

It is the only writer. A page is recorded as done only after its note is durable; in bulk
runs notes are written without a per-file fsync and one ``syncfs`` precedes each state
commit, so a crash at any point is repaired by the next run (merging is idempotent).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from syncd.config import Config, Include, SourceConfig, VaultConfig
from syncd.convert.context import ConvertContext, readwise_context
from syncd.errors import ConcurrentModification, SyncdError
from syncd.helper_pool import MIN_PAGES as HELPERS_MIN_PAGES
from syncd.logseq.dates import COMMON_TITLE_FORMATS
from syncd.logseq.filenames import page_name_from_file
from syncd.logseq.graph_config import GraphConfig, load_graph_config
from syncd.logseq.model import Page
from syncd.logseq.parser import parse_page
from syncd.merge import merge_document
from syncd.migrate import Converter, GraphMigration, MigrationReport
from syncd.names import check_title, note_stem, unique_name
from syncd.note import ID_KEY, frontmatter_items, note_folder, preamble_body
from syncd.pagefile import check_page_stat, read_page
from syncd.prepare import PageTask, Prepared, ScanHelpers, SourceParams
from syncd.readwise import (
    Document,
    could_be_readwise_page,
    document_from_page,
    is_readwise_page,
)
from syncd.state import DocumentRecord, SourceRecord, StateStore, unpack_highlights
from syncd.textio import decode_page
from syncd.vault import FileStamp, Vault, is_temp_file
from syncd.yamlout import dump_frontmatter

log = logging.getLogger(__name__)

VAULT_MARKER = ".obsidian"  # an Obsidian vault's folder of settings; syncd's "is mounted" check
BATCH_PAGES = 1024  # pages per state commit in bulk runs
_ID_LINE_RE = re.compile(rf"^{ID_KEY}:\s*(.+?)\s*$", re.MULTILINE)

Progress = Callable[[int, int], None]


@dataclass
class RunReport:
    """What a run did; the CLI turns it into output and an exit status."""

    changed: list[str] = field(default_factory=list)  # vault notes written (would be, dry run)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (source path, reason)
    pages: int = 0  # source pages looked at
    unchanged: int = 0  # pages skipped because state says nothing changed
    diffs: list[str] = field(default_factory=list)
    notes_created: int = 0
    highlights_added: int = 0
    migration: MigrationReport = field(default_factory=MigrationReport)  # include: all sources

    def merge(self, other: RunReport) -> None:
        self.changed += other.changed
        self.failures += other.failures
        self.pages += other.pages
        self.unchanged += other.unchanged
        self.diffs += other.diffs
        self.notes_created += other.notes_created
        self.highlights_added += other.highlights_added
        self.migration.merge(other.migration)


@dataclass(frozen=True, slots=True)
class ReadwiseHint:
    """What a page that went into a note last run is handed to a helper with: its document,
    that note (vault path, text and stamp as read then) and the highlights recorded for it."""

    doc_id: str
    note: str
    text: str
    stamp: FileStamp
    seen: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Pending:
    """State to commit once the notes written since the last commit are durable."""

    vault: str
    source: str
    record: SourceRecord
    doc_id: str | None = None
    note: str | None = None
    note_sha: str | None = None
    highlights: Mapping[str, str] = field(default_factory=dict)
    packed: bytes = b""  # more highlights, as pack_highlights made them (in a helper)


@dataclass
class _Batch:
    """What one commit records for one vault."""

    sources: dict[str, SourceRecord] = field(default_factory=dict)
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    highlights: dict[str, dict[str, str]] = field(default_factory=dict)
    # highlights of documents with one packed item only, still packed (state.pack_highlights)
    packed: dict[str, bytes] = field(default_factory=dict)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Source:
    """One configured source of one vault, with what its graph's config.edn says."""

    def __init__(self, vault: VaultConfig, config: SourceConfig) -> None:
        self.vault_name = vault.name
        self.config = config
        self.root = config.path
        self._root_prefix = str(self.root).rstrip("/") + "/"
        self.graph: GraphConfig = load_graph_config(config.path)
        self.pages_dir = self.root / self.graph.pages_directory
        formats = (self.graph.journal_title_format, *COMMON_TITLE_FORMATS)
        self.ctx = readwise_context(tuple(dict.fromkeys(formats)), graph_config=self.graph)

    def page_files(self) -> list[Path]:
        """Every ``*.md`` file under the pages folder, in path order (``Path`` ordering)."""
        if not self.pages_dir.is_dir():
            return []
        found: list[tuple[tuple[str, ...], str]] = []
        _walk_pages(str(self.pages_dir), (), found)
        found.sort()
        return [Path(full) for _, full in found]

    def owns(self, path: Path) -> bool:
        try:
            rel = path.relative_to(self.pages_dir)
        except ValueError:
            return False
        return path.suffix == ".md" and not is_temp_file(path.name) and bool(rel.parts)

    def key(self, path: Path) -> str:
        """The state key of a source page: its path relative to the graph root."""
        full = str(path)
        if full.startswith(self._root_prefix):  # what relative_to gives, without its cost
            return full[len(self._root_prefix) :]
        return path.relative_to(self.root).as_posix()


class SyncEngine:
    def __init__(
        self,
        config: Config,
        state: StateStore,
        *,
        dry_run: bool = False,
        diff: bool = False,
        clock: Callable[[], datetime] | None = None,
        bulk: bool = True,
        converter: Converter | None = None,
        log_report: bool = True,
        helpers: int = 0,
    ) -> None:
        """``converter`` replaces syncd.convert's page converter (tests); ``log_report``
        False leaves the migration report to the caller (the CLI prints it)."""
        self.config = config
        self.state = state
        self.dry_run = dry_run
        self.diff = diff
        self.bulk = bulk
        self.clock = clock or (lambda: datetime.now(UTC))
        self._vaults = {v.name: Vault(v.path) for v in config.vaults}
        self.log_report = log_report
        # helper processes that read, parse and render pages ahead of a large scan
        # (syncd.prepare); 0: none. This engine stays the only writer.
        self.helpers = helpers
        self._helpers: ScanHelpers | None = None
        self._prestat: dict[int, os.stat_result] = {}  # work index -> stat, from the pre-pass
        self._unchanged_at: set[int] = set()  # work indexes the pre-pass found unchanged
        self._sources = [
            _Source(v, s) for v in config.vaults for s in v.sources if s.include is Include.READWISE
        ]
        # include: all sources: the whole graph, Readwise pages through this engine
        self._graph_sources: dict[int, _Source] = {}
        self._migrations: list[GraphMigration] = []
        for v in config.vaults:
            for s in v.sources:
                if s.include is Include.ALL:
                    source = _Source(v, s)
                    migration = GraphMigration(
                        self, v.name, self._vaults[v.name], s, source.graph, converter
                    )
                    self._graph_sources[id(migration)] = source
                    self._migrations.append(migration)
        self._pending: list[_Pending] = []
        self._pending_docs: dict[tuple[str, str], _Pending] = {}
        self._id_index: dict[str, dict[str, str]] = {}  # vault -> syncd-id -> note
        # notes of _pending_docs, lower-cased, per vault (_claimed without a scan of them all)
        self._claimed_notes: dict[str, set[str]] = {}
        # (vault, source key) -> record, read in one query at the start of a scan
        self._known_stamps: dict[tuple[str, str], tuple[int, int, str]] | None = None
        # vault -> doc_id -> record during a scan: read in one query when first needed, and
        # kept up to date by _commit (documents change only through it)
        self._known_documents: dict[str, dict[str, DocumentRecord]] | None = None
        # work index -> the note and recorded highlights a helper was handed with that page
        self._hints: dict[int, ReadwiseHint] = {}
        # (into, note_folder) -> the vault folder of such notes, POSIX ("" for the root)
        self._note_folders: dict[tuple[str, str], str] = {}

    # -- what the daemon needs -------------------------------------------------------------
    def watched_roots(self) -> list[Path]:
        return sorted({s.root for s in self._sources} | {m.root for m in self._migrations})

    def is_relevant(self, path: Path) -> bool:
        return any(s.owns(path) for s in self._sources) or any(
            m.owns(path) for m in self._migrations
        )

    # -- runs --------------------------------------------------------------------------------
    def scan(self, progress: Progress | None = None) -> RunReport:
        """A full pass over every page of every source.

        It starts by removing the temp files a killed run left in the vaults: syncd is
        their only writer, and this engine is not writing now.
        """
        if not self.dry_run:
            self._sweep_temp_files()
        work = [(source, path) for source in self._sources for path in source.page_files()]
        # (size, mtime, status) of every page in one query instead of a record per page; a
        # scan looks at each page once, and only the page itself changes its record, so what
        # was read at the start stays right
        self._known_stamps = {
            (vault_name, key): stamp
            for vault_name in {source.vault_name for source, _ in work}
            for key, stamp in self.state.source_stamps(vault_name).items()
        }
        self._known_documents = {}
        try:
            report = self._run(work, progress)
        finally:
            self._known_stamps = None
            self._known_documents = None
        self._migrate(None, report, progress)
        if not self.dry_run:
            self.state.set_meta("last_scan", self.clock().isoformat(timespec="seconds"))
        return report

    def _sweep_temp_files(self) -> None:
        for vault in self._vaults.values():
            if vault_unavailable(vault.root) is None:
                removed = vault.sweep_temp_files()
                if removed:
                    log.info("%s: removed %d temp file(s) a killed run left", vault.root, removed)

    def sync_paths(self, paths: Iterable[Path]) -> RunReport:
        paths = list(paths)
        work = []
        for path in paths:
            for source in self._sources:
                if source.owns(path):
                    work.append((source, path))
        report = self._run(work, None)
        self._migrate(list(paths), report, None)
        return report

    def _migrate(
        self, paths: list[Path] | None, report: RunReport, progress: Progress | None
    ) -> None:
        """Run the graph migrations (include: all) over ``paths`` (None: everything)."""
        part = RunReport()
        for migration in self._migrations:
            if paths is not None:
                mine = [p for p in paths if migration.owns(p)]
                if not mine:
                    continue
            else:
                mine = None
            if self._closed_vaults({migration.vault_name}, part):
                continue
            self._id_index.clear()
            migration.run(mine, part, progress)
        if self.log_report:
            for line in part.migration.lines():
                log.info("%s", line)
        report.merge(part)

    def _run(self, work: list[tuple[_Source, Path]], progress: Progress | None) -> RunReport:
        report = RunReport()
        self._id_index.clear()
        closed = self._closed_vaults({source.vault_name for source, _ in work}, report)
        try:
            self._start_helpers(self._prepass(work, closed))
            self._run_pages(work, closed, report, progress)
        finally:
            if self._helpers is not None:
                log.debug(
                    "helpers: %d pages prepared, %d used as prepared",
                    self._helpers.handed_out,
                    self._helpers.used,
                )
                self._helpers.close()
                self._helpers = None
            self._prestat = {}
            self._unchanged_at = set()
            self._hints = {}
        self._commit()
        return report

    def _run_pages(
        self,
        work: list[tuple[_Source, Path]],
        closed: set[str],
        report: RunReport,
        progress: Progress | None,
    ) -> None:
        for done, (source, path) in enumerate(work, start=1):
            if source.vault_name in closed:
                # fail closed: not recorded either, so the next run after it returns syncs it
                if progress is not None:
                    progress(done, len(work))
                continue
            report.pages += 1
            if done - 1 in self._unchanged_at:
                report.unchanged += 1
            else:
                self._sync_page_reporting(source, path, report, done - 1)
            if len(self._pending) >= BATCH_PAGES:
                self._commit()
            if progress is not None:
                progress(done, len(work))

    def _sync_page_reporting(
        self, source: _Source, path: Path, report: RunReport, index: int
    ) -> None:
        """``_sync_page``; whatever goes wrong is this page's failure, never the run's."""
        try:
            self._sync_page(source, path, report, index=index)
        except SyncdError as exc:
            self._fail(source, path, str(exc.message), report)
        except OSError as exc:
            self._fail(source, path, exc.strerror or str(exc), report)
        except RecursionError:
            # parse, merge and render recurse once per outline level
            self._fail(source, path, "outline nested too deeply to process", report)
        except Exception as exc:
            # one page must never stop the run (nor the daemon's scan) for the others
            log.debug("%s: unexpected error", path, exc_info=True)
            reason = f"internal error, please report: {type(exc).__name__}: {exc}"
            self._fail(source, path, reason, report)

    # -- helper processes (syncd.prepare) ---------------------------------------------------
    def _prepass(
        self, work: list[tuple[_Source, Path]], closed: set[str]
    ) -> list[tuple[int, _Source, Path, str]]:
        """In a scan, stat every page up front: the pages the state has with this size and
        mtime are unchanged (the loop only counts them), the stats of the others are kept
        for _sync_page. The changed pages (index, source, path, key) that can be read."""
        changed: list[tuple[int, _Source, Path, str]] = []
        if self._known_stamps is None:
            return changed  # a few paths from the daemon: _sync_page does it all
        limit = self.config.max_page_bytes
        for index, (source, path) in enumerate(work):
            if source.vault_name in closed:
                continue
            try:
                st = path.stat()
            except OSError:
                continue  # _sync_page meets it again and reports it
            key = source.key(path)
            readable = stat.S_ISREG(st.st_mode) and st.st_size <= limit
            if readable and _stamp_unchanged(self._known_stamps.get((source.vault_name, key)), st):
                self._unchanged_at.add(index)
                continue
            self._prestat[index] = st
            if readable:
                changed.append((index, source, path, key))
        return changed

    def _start_helpers(self, changed: list[tuple[int, _Source, Path, str]]) -> None:
        """Start helpers when a scan has many pages to read, and hand those out."""
        if self.helpers <= 0 or self.dry_run or self.diff or len(changed) < HELPERS_MIN_PAGES:
            return
        try:
            groups = [(index, id(source)) for index, source, _, _ in changed]
            self._helpers = ScanHelpers(self.helpers, self._helper_tasks(changed), groups)
        except (RuntimeError, OSError, ValueError) as exc:
            log.debug("no helper processes: %s", exc)

    def _helper_tasks(
        self, changed: list[tuple[int, _Source, Path, str]]
    ) -> Iterator[tuple[SourceParams, PageTask]]:
        """The tasks for the helpers, made when they are handed out. A page that went into a
        note last time comes with that note's text and recorded highlights, to merge into."""
        params: dict[int, SourceParams] = {}
        for index, source, path, key in changed:
            previous = self._previous_record(source.vault_name, key)
            if id(source) not in params:
                params[id(source)] = SourceParams(
                    source.graph.file_name_format,
                    source.ctx,
                    self.config.max_page_bytes,
                    self.config.repair_mojibake,
                )
            ok = previous is not None and previous.status != "failed"
            task = PageTask(index, str(path), previous.sha256 if ok and previous else None)
            hint = self.readwise_hint(source.vault_name, previous)
            if hint is not None:
                task = PageTask(
                    index, task.path, task.previous_sha, hint.doc_id, hint.text, hint.seen
                )
                self._hints[index] = hint
            yield params[id(source)], task

    def readwise_hint(self, vault_name: str, previous: SourceRecord | None) -> ReadwiseHint | None:
        """What a helper merges a page into, when the page went into a readable note last run
        (``previous``); else None."""
        if previous is None or previous.status == "failed":
            return None
        if not previous.doc_id or not previous.note:
            return None
        try:
            current = self._vaults[vault_name].read_text(previous.note)
        except (SyncdError, OSError):
            return None
        if current is None:
            return None
        text, stamp = current
        seen = self.state.seen_highlights(vault_name, previous.doc_id)
        return ReadwiseHint(previous.doc_id, previous.note, text, stamp, seen)

    def _use_prepared(
        self,
        source: _Source,
        key: str,
        previous: SourceRecord | None,
        prep: Prepared,
        report: RunReport,
    ) -> bool:
        """Finish a page from a helper's result; False: the result cannot be used (an
        assumption does not hold, or the helper failed) and the page is done here."""
        vault_name = source.vault_name
        if prep.kind == "gone":
            return True  # removed since the stat: gone (rule 6)
        if prep.kind == "same":
            if previous is None or previous.status == "failed" or previous.sha256 != prep.sha256:
                return False
            report.unchanged += 1
            self._queue(
                _Pending(vault_name, key, replace(previous, size=prep.size, mtime_ns=prep.mtime_ns))
            )
            return True
        if prep.kind == "other":
            skipped = SourceRecord(
                prep.size, prep.mtime_ns, prep.sha256, None, "skipped", None, None
            )
            self._queue(_Pending(vault_name, key, skipped))
            return True
        if prep.kind != "readwise":
            return False
        hint = self._hints.pop(prep.index, None)
        return self._finish_readwise(source, key, prep, hint, report) is not None

    def _finish_readwise(
        self,
        source: _Source,
        key: str,
        prep: Prepared,
        hint: ReadwiseHint | None,
        report: RunReport,
        taken: Callable[[str], bool] | None = None,
    ) -> str | None:
        """Write and queue a helper's ``readwise`` result for page ``key``: the note's path,
        or None when it is not what ``_sync_document`` would merge now (the note holds
        another text than ``hint``'s, other highlights are recorded, the user deleted the
        note, an earlier page of this batch holds the document, the note changed under the
        write); then nothing was done and the caller does the page itself. ``hint``: the
        note (path, text, stamp) and recorded highlights the page was handed out with;
        ``taken``: note paths held by others (a migration's pages)."""
        vault_name = source.vault_name
        vault = self._vaults[vault_name]
        if (vault_name, prep.doc_id) in self._pending_docs:
            return None  # an earlier page of this batch holds the same document
        record = self._get_document(vault_name, prep.doc_id)
        known_note = record.note if record is not None else None
        seen = dict(self.state.seen_highlights(vault_name, prep.doc_id)) if record else {}
        merged = hint if hint is not None and prep.hinted else None
        current: tuple[str, FileStamp] | None
        if merged is not None and merged.note == known_note and prep.changed:
            # the note as the helper merged into it, not read again: the write below is a
            # compare-and-swap on its stamp, so a note changed since fails it (then the page
            # is done here, from what the note holds now)
            note, current = merged.note, (merged.text, merged.stamp)
        else:
            note, current = self._locate_by(
                source, vault, prep.doc_id, prep.title, prep.folder, known_note, taken, prep.stem
            )
        if current is None and known_note is not None:
            return None  # the user deleted the note: only new highlights come back
        existing = current[0] if current is not None else None
        merged_into = merged.text if merged is not None else None
        if existing != merged_into or (
            merged is not None and existing is not None and seen != merged.seen
        ):
            return None  # merged into another text than the note holds now
        written = False
        if prep.changed:
            try:
                self._write_counted(
                    vault, note, prep.data, prep.added, prep.updated, current, report
                )
            except ConcurrentModification:
                return None  # merged again from what is there now
            written = True
        self._queue_document(
            vault_name,
            key,
            SourceRecord(prep.size, prep.mtime_ns, prep.sha256, prep.doc_id, "ok", None, note),
            note,
            prep.data_sha256 if written else None,
            current,
            prep.record or {},  # (hinted: merged into a note; else packed)
            prep.packed,
        )
        return note

    def _closed_vaults(self, names: set[str], report: RunReport) -> set[str]:
        """Vaults not to touch in this run: folder or ``.obsidian/`` marker missing (an
        unmounted disk or a moved vault must not look like an empty vault to fill)."""
        closed: set[str] = set()
        for name in sorted(names):
            root = self._vaults[name].root
            reason = vault_unavailable(root)
            if reason is not None:
                log.error("%s: %s", root, reason)
                report.failures.append((str(root), reason))
                closed.add(name)
        return closed

    def _fail(self, source: _Source, path: Path, reason: str, report: RunReport) -> None:
        self.fail(source.vault_name, path, reason, report)

    def fail(self, vault_name: str, path: Path, reason: str, report: RunReport) -> None:
        """Report a page that cannot be synced (logged, counted, remembered in state)."""
        log.error("%s: %s", path, reason)
        report.failures.append((str(path), reason))
        if not self.dry_run:
            self._commit()
            when = self.clock().isoformat(timespec="seconds")
            self.state.record_failure(vault_name, str(path), reason, when)

    def flush(self, *, force: bool = False) -> None:
        """Commit when a batch is full (``force``: whatever is pending)."""
        waiting = len(self._pending) + sum(m.pending_count() for m in self._migrations)
        if force or waiting >= BATCH_PAGES or not self.bulk:
            self._commit()

    def _commit(self) -> None:
        """Make the notes written so far durable, then record them, in one transaction."""
        for vault in self._vaults.values():
            vault.end_batch()  # the next batch checks its folders again
        migrations = [m for m in self._migrations if m.has_state()]
        if not self._pending and not migrations:
            return
        if self.bulk:
            for vault in self._vaults.values():
                if vault.root.is_dir():
                    vault.syncfs()
        with self.state.transaction():
            for migration in migrations:
                migration.write_state(self.state)
            # three statements per vault, not three per page; a later item for the same
            # page or document replaces an earlier one, as one statement each would
            batches: dict[str, _Batch] = {}
            for item in self._pending:
                batch = batches.setdefault(item.vault, _Batch())
                batch.sources[item.source] = item.record
                if item.doc_id is not None and item.note is not None:
                    record = DocumentRecord(note=item.note, note_sha256=item.note_sha or "")
                    batch.documents[item.doc_id] = record
                    _add_highlights(batch, item)
            for vault_name, batch in batches.items():
                self.state.put_sources(vault_name, batch.sources)
                self.state.put_documents(vault_name, batch.documents)
                self.state.add_highlights_many(vault_name, batch.highlights, batch.packed)
        if self._known_documents is not None:
            for vault_name, batch in batches.items():
                if vault_name in self._known_documents:
                    self._known_documents[vault_name].update(batch.documents)
        self._pending.clear()
        self._pending_docs.clear()
        self._claimed_notes.clear()

    def _previous_record(self, vault_name: str, key: str) -> SourceRecord | None:
        if self._known_stamps is not None and (vault_name, key) not in self._known_stamps:
            return None  # a new page (the scan read every key)
        return self.state.get_source(vault_name, key)

    def _get_document(self, vault_name: str, doc_id: str) -> DocumentRecord | None:
        if self._known_documents is None:
            return self.state.get_document(vault_name, doc_id)
        known = self._known_documents.get(vault_name)
        if known is None:
            known = self._known_documents[vault_name] = self.state.documents(vault_name)
        return known.get(doc_id)

    def _queue(self, item: _Pending) -> None:
        if self.dry_run:
            return
        self._pending.append(item)
        if item.doc_id is not None:
            self._pending_docs[(item.vault, item.doc_id)] = item
            if item.note is not None:
                self._claimed_notes.setdefault(item.vault, set()).add(item.note.lower())
        if not self.bulk:
            self._commit()

    # -- what a graph migration needs (syncd.migrate.Host) ----------------------------------
    def read_page(self, path: Path) -> tuple[bytes, os.stat_result] | None:
        """A page's bytes and their stat (None: gone); PageError for a FIFO or a huge file."""
        return read_page(path, self.config.max_page_bytes)

    @property
    def repair_mojibake(self) -> bool:
        return self.config.repair_mojibake

    @property
    def max_page_bytes(self) -> int:
        return self.config.max_page_bytes

    def keep_documents(self, keep: bool) -> None:
        """From ``keep`` on (a migration run) until it is False again, document records are
        read in one query per vault and kept up to date by ``_commit`` (documents change only
        through it), as during a scan, instead of one query per Readwise page."""
        self._known_documents = {} if keep else None

    def find_readwise_note(self, vault_name: str, doc_id: str) -> str | None:
        """The note of a Readwise document: where the state says, else the vault note whose
        frontmatter carries its id (moved, or written before the state was lost)."""
        record = self._get_document(vault_name, doc_id)
        if record is not None:
            return record.note
        return self._find_by_id(vault_name, self._vaults[vault_name], doc_id)

    def sync_readwise_page(
        self,
        migration: GraphMigration,
        path: Path,
        page: Page,
        record: SourceRecord,
        ctx: ConvertContext,
        taken: Callable[[str], bool],
        report: RunReport,
    ) -> str:
        """Merge a Readwise page of an include: all graph into its note; the note's path.
        ``ctx`` carries the graph's link targets; ``taken`` says which note paths other pages
        of the graph hold."""
        source = self._graph_sources[id(migration)]
        page_name = page_name_from_file(path.stem, migration.graph.file_name_format)
        doc = document_from_page(page, page_name)
        check_title(doc.title, path)
        return self._sync_document(
            source, path, source.key(path), doc, record, report, ctx=ctx, taken=taken
        )

    def sync_prepared_readwise_page(
        self,
        migration: GraphMigration,
        path: Path,
        prep: Prepared,
        hint: ReadwiseHint | None,
        taken: Callable[[str], bool],
        report: RunReport,
    ) -> str | None:
        """``sync_readwise_page`` from a helper's result (syncd.migrate_helpers makes it with
        ``prepare_document``, as a scan's helpers do): finished as a scan finishes its
        helpers' results (``_finish_readwise``). The note's path, or None: nothing was done
        and the caller does the page itself."""
        source = self._graph_sources[id(migration)]
        return self._finish_readwise(source, source.key(path), prep, hint, report, taken)

    # -- one page ----------------------------------------------------------------------------
    def _sync_page(
        self, source: _Source, path: Path, report: RunReport, *, index: int | None = None
    ) -> None:
        """``index``: the page's place in the scan's work list (stat and helper result)."""
        key = source.key(path)
        vault_name = source.vault_name
        st = self._prestat.pop(index, None) if index is not None else None
        if st is None:
            try:
                st = path.stat()
            except FileNotFoundError:
                return  # gone: its note stays (rule 6)
        check_page_stat(path, st, self.config.max_page_bytes)
        previous = self._previous_record(vault_name, key)
        if _unchanged(previous, st):
            report.unchanged += 1
            return
        if self._helpers is not None and index is not None:
            prepared = self._helpers.take(index)
            if prepared is not None and self._use_prepared(source, key, previous, prepared, report):
                self._helpers.used += 1
                return
        read = read_page(path, self.config.max_page_bytes)
        if read is None:
            return  # removed since the stat: gone (rule 6)
        data, st = read
        digest = sha256(data)
        if previous is not None and previous.status != "failed" and previous.sha256 == digest:
            report.unchanged += 1
            self._queue(
                _Pending(
                    vault_name, key, replace(previous, size=len(data), mtime_ns=st.st_mtime_ns)
                )
            )
            return
        text = decode_page(data, path, repair_mojibake=self.config.repair_mojibake)
        fingerprint = SourceRecord(
            size=len(data),
            mtime_ns=st.st_mtime_ns,
            sha256=digest,
            doc_id=None,
            status="skipped",
            error=None,
            note=None,
        )
        if not could_be_readwise_page(text):  # most plain pages: no parse needed
            self._queue(_Pending(vault_name, key, fingerprint))
            return
        page = parse_page(text)
        if not is_readwise_page(page):
            self._queue(_Pending(vault_name, key, fingerprint))
            return
        page_name = page_name_from_file(path.stem, source.graph.file_name_format)
        doc = document_from_page(page, page_name)
        check_title(doc.title, path)
        self._sync_document(source, path, key, doc, fingerprint, report)

    def _sync_document(
        self,
        source: _Source,
        path: Path,
        key: str,
        doc: Document,
        fingerprint: SourceRecord,
        report: RunReport,
        *,
        ctx: ConvertContext | None = None,
        taken: Callable[[str], bool] | None = None,
    ) -> str:
        """Merge ``doc`` into its note; the note's vault path. ``ctx`` defaults to the
        source's; ``taken`` tells note paths held by others (besides vault files)."""
        ctx = source.ctx if ctx is None else ctx
        vault_name = source.vault_name
        vault = self._vaults[vault_name]
        pending = self._pending_docs.get((vault_name, doc.id))
        known_note: str | None = None
        if pending is not None:
            seen = dict(self.state.seen_highlights(vault_name, doc.id))
            seen.update(pending.highlights)
            known_note = pending.note
        else:
            record = self._get_document(vault_name, doc.id)
            known_note = record.note if record is not None else None
            # highlights are recorded only together with their document (_commit): a document
            # without a record has none, and a new one needs no query for them
            seen = dict(self.state.seen_highlights(vault_name, doc.id)) if record else {}

        note, current = self._locate_note(source, vault, doc, known_note, taken)
        deleted = current is None and known_note is not None
        written = False
        for attempt in range(3):
            if current is not None:
                existing: str | None = current[0]
            else:
                # a note the user deleted comes back only for highlights never written
                existing = _skeleton(doc, ctx) if deleted else None
            result = merge_document(existing, doc, seen, ctx)
            if not result.changed or (deleted and not result.added):
                break
            try:
                self._write_counted(
                    vault,
                    note,
                    result.text,
                    len(result.added),
                    len(result.updated),
                    current,
                    report,
                )
                written = True
                break
            except ConcurrentModification:
                if attempt == 2:
                    raise
                log.info("%s changed while syncing; merging again", note)
                current = vault.read_text(note)
        self._queue_document(
            vault_name,
            key,
            replace(fingerprint, doc_id=str(doc.id), status="ok", error=None, note=note),
            note,
            sha256(result.text.encode("utf-8")) if written else None,
            current,
            result.record,
        )
        return note

    def _queue_document(
        self,
        vault_name: str,
        key: str,
        done: SourceRecord,
        note: str,
        written_sha: str | None,
        current: tuple[str, FileStamp] | None,
        highlights: Mapping[str, str],
        packed: bytes = b"",
    ) -> None:
        """Queue the state of a synced document page (``done``: its source record, with the
        document id), committed once its note is durable. ``written_sha``: the hash of the
        note text written (None: nothing written, the note is ``current`` or absent); the
        highlights (or their ``packed`` form) count only for a note that exists."""
        if written_sha is not None:
            note_sha: str | None = written_sha
        elif current is not None:
            note_sha = sha256(current[0].encode("utf-8"))
        else:
            note_sha = None
        keep = note_sha is not None
        self._queue(
            _Pending(
                vault_name,
                key,
                done,
                doc_id=done.doc_id,
                note=note,
                note_sha=note_sha,
                highlights=dict(highlights) if keep else {},
                packed=packed if keep else b"",
            )
        )

    def _write_counted(
        self,
        vault: Vault,
        note: str,
        text: str | bytes,
        added: int,
        updated: int,
        current: tuple[str, FileStamp] | None,
        report: RunReport,
    ) -> None:
        """Write a merged document's note (``text`` or its UTF-8 bytes), logged with the
        number of highlights it adds and changes."""
        if updated:
            extra = f" (+{added} highlights, {updated} changed)"
        else:
            extra = f" (+{added} highlights)"
        self.write_note(vault, note, text, current, report, extra)
        report.highlights_added += added

    def write_note(
        self,
        vault: Vault,
        note: str,
        text: str | bytes,
        current: tuple[str, FileStamp] | None,
        report: RunReport,
        detail: str = "",
    ) -> None:
        """Write ``text`` (or its UTF-8 bytes) as ``note`` (compare-and-swap on ``current``'s
        stamp; None: create, never over an existing file); counted, diffed and logged.
        Nothing in a dry run."""
        if self.diff:
            before = current[0] if current is not None else ""
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            report.diffs.append(
                "".join(
                    difflib.unified_diff(
                        before.splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        fromfile=f"a/{note}",
                        tofile=f"b/{note}",
                    )
                )
            )
        verb = "created" if current is None else "updated"
        if self.dry_run:
            log.info(
                "would %s %s%s", {"created": "create", "updated": "update"}[verb], note, detail
            )
        else:
            vault.write_atomic(
                note,
                text,
                expected=current[1] if current is not None else None,
                create_only=current is None,
                durable=not self.bulk,
            )
            log.info("%s %s%s", verb, note, detail)
        report.changed.append(note)
        if current is None:
            report.notes_created += 1

    # -- where a document's note is --------------------------------------------------------
    def _locate_note(
        self,
        source: _Source,
        vault: Vault,
        doc: Document,
        known: str | None,
        taken_elsewhere: Callable[[str], bool] | None = None,
    ) -> tuple[str, tuple[str, FileStamp] | None]:
        """(note path, its current text and stamp, or None when it must be created)."""
        return self._locate_by(
            source, vault, str(doc.id), doc.title, note_folder(doc), known, taken_elsewhere
        )

    def _locate_by(
        self,
        source: _Source,
        vault: Vault,
        doc_id: str,
        title: str,
        folder_name: str,
        known: str | None,
        taken_elsewhere: Callable[[str], bool] | None = None,
        stem: str | None = None,
    ) -> tuple[str, tuple[str, FileStamp] | None]:
        """``_locate_note`` from what it needs of the document: its id, its title and the
        folder of its category (``note_folder``); ``stem``: ``note_stem(title)`` if known."""
        if known is not None:
            current = vault.read_text(known)
            if current is not None:
                return known, current
        moved = self._find_by_id(source.vault_name, vault, doc_id)
        if moved is not None:
            current = vault.read_text(moved)
            if current is not None:
                if known is not None:
                    log.info("note for %s moved: %s -> %s", title, known, moved)
                return moved, current
        if known is not None:
            return known, None  # deleted by the user; recreated only for new highlights
        folder = self._note_folders.get((source.config.into, folder_name))
        if folder is None:
            path = (
                PurePosixPath(source.config.into) / folder_name
                if source.config.into
                else PurePosixPath(folder_name)
            )
            folder = path.as_posix()
            if folder == ".":
                folder = ""
            self._note_folders[(source.config.into, folder_name)] = folder
        if stem is None:
            stem = note_stem(title)

        def taken(candidate: str) -> bool:
            path = f"{folder}/{candidate}.md" if folder else f"{candidate}.md"
            return (
                vault.exists_ci(folder, candidate + ".md")
                or self._claimed(source.vault_name, path)
                or (taken_elsewhere is not None and taken_elsewhere(path))
            )

        name = unique_name(stem, taken)
        return (f"{folder}/{name}.md" if folder else f"{name}.md"), None

    def _claimed(self, vault_name: str, note: str) -> bool:
        """Whether a note not committed yet already has this path (case-insensitively)."""
        return note.lower() in self._claimed_notes.get(vault_name, ())

    def _find_by_id(self, vault_name: str, vault: Vault, doc_id: str) -> str | None:
        index = self._id_index.get(vault_name)
        if index is None:
            index = {}
            for note in vault.iter_notes():
                try:
                    current = vault.read_text(note)
                except SyncdError as exc:
                    # a note that is not UTF-8, or a FIFO named like one, holds no id we can
                    # read; it must not stop every new document of the vault
                    log.warning("%s (skipped while looking for moved notes)", exc)
                    continue
                if current is None:
                    continue
                head = current[0][:4096]
                if not head.startswith("---"):
                    continue
                match = _ID_LINE_RE.search(head)
                if match is not None:
                    index.setdefault(_yaml_string(match.group(1)), note)
            self._id_index[vault_name] = index
        return index.get(doc_id)


def _walk_pages(folder: str, rel: tuple[str, ...], out: list[tuple[tuple[str, ...], str]]) -> None:
    """What ``Path(folder).rglob("*.md")`` filtered by ``is_file()`` gives (symlinks followed
    like rglob does: to files yes, into folders no), without a stat per file: the directory
    entries' types suffice for all but symlinks. Each entry is (relative parts, full path)."""
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    for entry in entries:
        name = entry.name
        try:
            if entry.is_dir(follow_symlinks=False):
                _walk_pages(entry.path, (*rel, name), out)
            elif name.endswith(".md") and not is_temp_file(name) and entry.is_file():
                out.append(((*rel, name), entry.path))
        except OSError:
            continue


def _add_highlights(batch: _Batch, item: _Pending) -> None:
    """Add the highlights of a document page to its batch. A later item of the same document
    updates an earlier one's (as one statement per item would); a document's packed
    highlights stay packed while they are its only ones (the state writes them as they are)."""
    doc_id = item.doc_id
    assert doc_id is not None
    if item.packed and doc_id not in batch.highlights and doc_id not in batch.packed:
        batch.packed[doc_id] = item.packed
        return
    mapping = dict(item.highlights)
    if item.packed:
        mapping.update(unpack_highlights(item.packed))
    if not mapping:
        return
    earlier = batch.packed.pop(doc_id, None)
    if earlier is not None:
        batch.highlights[doc_id] = unpack_highlights(earlier)
    batch.highlights.setdefault(doc_id, {}).update(mapping)


def vault_unavailable(root: Path) -> str | None:
    """Why syncd must not write into the vault at ``root`` now, or None when it may.

    The vault's ``.obsidian/`` folder is its marker (like Syncthing's ``.stfolder``); syncd
    creates it only when it creates a new vault (``syncd.vault.prepare_vaults``).
    """
    if not root.is_dir():
        return "vault folder is missing (unmounted or moved?); nothing written, retried next run"
    if not (root / VAULT_MARKER).is_dir():
        return (
            f"vault has no {VAULT_MARKER}/ folder (unmounted or moved?); nothing written, "
            "retried next run"
        )
    return None


def _yaml_string(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        try:
            value = json.loads(raw)
        except ValueError:
            return raw[1:-1]
        return str(value)
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    return raw


def _stamp_unchanged(stamp: tuple[int, int, str] | None, st: os.stat_result) -> bool:
    """``_unchanged`` from a (size, mtime_ns, status) stamp."""
    return (
        stamp is not None
        and stamp[2] != "failed"
        and stamp[0] == st.st_size
        and stamp[1] == st.st_mtime_ns
    )


def _unchanged(previous: SourceRecord | None, st: os.stat_result) -> bool:
    """The state says the page was synced as it is (same size and mtime, not failed)."""
    stamp = None if previous is None else (previous.size, previous.mtime_ns, previous.status)
    return _stamp_unchanged(stamp, st)


def _skeleton(doc: Document, ctx: ConvertContext) -> str:
    preamble = preamble_body(doc.page, ctx)
    body = "\n".join(preamble) + "\n" if preamble else ""
    return dump_frontmatter(frontmatter_items(doc, ctx)) + body
