"""The sync engine: every configured source, one run at a time (I/O edge).

    read bytes -> decode -> parse -> classify -> document -> locate note -> merge
               -> write atomically inside the vault -> record in state

``include: all`` sources are graph migrations (``syncd.migrate``); ``include: readwise``
sources are scanned here, page by page. Both write through the one ``syncd.writer.Writer``,
which records a page as done only after its note is durable.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from syncd.config import Config, Include, SourceConfig, VaultConfig
from syncd.errors import SyncdError
from syncd.helper_pool import MIN_PAGES as HELPERS_MIN_PAGES
from syncd.logseq.dates import COMMON_TITLE_FORMATS
from syncd.logseq.graph_config import GraphConfig, load_graph_config
from syncd.logseq.parser import parse_page
from syncd.migrate import GraphMigration
from syncd.pagefile import check_page_stat, read_page
from syncd.pipeline.page import readwise_document
from syncd.prepare import PageTask, Prepared, ScanHelpers, SourceParams
from syncd.readwise import (
    could_be_readwise_page,
    is_readwise_page,
)
from syncd.rewrite import InlineContext
from syncd.state import SourceRecord, StateStore
from syncd.textio import decode_page
from syncd.vault import is_temp_file
from syncd.writer import (
    BATCH_PAGES,
    NoteHome,
    ReadwiseHint,
    RunReport,
    Writer,
    sha256,
    vault_unavailable,
)

log = logging.getLogger(__name__)


Progress = Callable[[int, int], None]


class _Source:
    """One configured source of one vault, with what its graph's config.edn says."""

    def __init__(self, vault: VaultConfig, config: SourceConfig) -> None:
        self.vault_name = vault.name
        self.home = NoteHome(vault.name, config.into)
        self.config = config
        self.root = config.path
        self._root_prefix = str(self.root).rstrip("/") + "/"
        self.graph: GraphConfig = load_graph_config(config.path)
        self.pages_dir = self.root / self.graph.pages_directory
        formats = (self.graph.journal_title_format, *COMMON_TITLE_FORMATS)
        self.ctx = InlineContext(journal_title_formats=tuple(dict.fromkeys(formats)))

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
        log_report: bool = True,
        helpers: int = 0,
    ) -> None:
        """``log_report`` False leaves the migration report to the caller (the CLI prints
        it)."""
        self.config = config
        self.state = state
        self.dry_run = dry_run
        self.diff = diff
        self.bulk = bulk
        self.clock = clock or (lambda: datetime.now(UTC))
        self.writer = Writer(config, state, dry_run=dry_run, diff=diff, bulk=bulk, clock=self.clock)
        self.log_report = log_report
        # helper processes that read, parse and render pages ahead of a large scan
        # (syncd.prepare); 0: none. The writer stays the only writer.
        self.helpers = helpers
        self._helpers: ScanHelpers | None = None
        self._prestat: dict[int, os.stat_result] = {}  # work index -> stat, from the pre-pass
        self._unchanged_at: set[int] = set()  # work indexes the pre-pass found unchanged
        self._sources = [
            _Source(v, s) for v in config.vaults for s in v.sources if s.include is Include.READWISE
        ]
        # include: all sources: the whole graph, Readwise pages included
        self._migrations = [
            GraphMigration(self.writer, v.name, s, helpers=helpers)
            for v in config.vaults
            for s in v.sources
            if s.include is Include.ALL
        ]
        self.writer.stagers.extend(self._migrations)
        # (vault, source key) -> record, read in one query at the start of a scan
        self._known_stamps: dict[tuple[str, str], tuple[int, int, str]] | None = None
        # work index -> the note and recorded highlights a helper was handed with that page
        self._hints: dict[int, ReadwiseHint] = {}

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
        self.writer.keep_documents(True)
        try:
            report = self._run(work, progress)
        finally:
            self._known_stamps = None
            self.writer.keep_documents(False)
        self._migrate(None, report, progress)
        if not self.dry_run:
            self.state.set_meta("last_scan", self.clock().isoformat(timespec="seconds"))
        return report

    def _sweep_temp_files(self) -> None:
        for vault in self.writer.vaults.values():
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
            if self.writer.closed_vaults({migration.vault_name}, part):
                continue
            self.writer.forget_note_ids()
            migration.run(mine, part, progress)
        if self.log_report:
            for line in part.migration.lines():
                log.info("%s", line)
        report.merge(part)

    def _run(self, work: list[tuple[_Source, Path]], progress: Progress | None) -> RunReport:
        report = RunReport()
        self.writer.forget_note_ids()
        closed = self.writer.closed_vaults({source.vault_name for source, _ in work}, report)
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
        self.writer.commit()
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
            if self.writer.pending_count() >= BATCH_PAGES:
                self.writer.commit()
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
            hint = self.writer.readwise_hint(source.vault_name, previous)
            if hint is not None:
                task = PageTask(
                    index, task.path, task.previous_sha, hint.doc_id, hint.text, hint.seen
                )
                self._hints[index] = hint
            yield params[id(source)], task

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
            self.writer.record_page(
                vault_name, key, replace(previous, size=prep.size, mtime_ns=prep.mtime_ns)
            )
            return True
        if prep.kind == "other":
            skipped = SourceRecord(
                prep.size, prep.mtime_ns, prep.sha256, None, "skipped", None, None
            )
            self.writer.record_page(vault_name, key, skipped)
            return True
        if prep.kind != "readwise":
            return False
        hint = self._hints.pop(prep.index, None)
        return self.writer.finish_readwise(source.home, key, prep, hint, report) is not None

    def _fail(self, source: _Source, path: Path, reason: str, report: RunReport) -> None:
        self.writer.fail(source.vault_name, path, reason, report)

    def _previous_record(self, vault_name: str, key: str) -> SourceRecord | None:
        if self._known_stamps is not None and (vault_name, key) not in self._known_stamps:
            return None  # a new page (the scan read every key)
        return self.state.get_source(vault_name, key)

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
            self.writer.record_page(
                vault_name, key, replace(previous, size=len(data), mtime_ns=st.st_mtime_ns)
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
            self.writer.record_page(vault_name, key, fingerprint)
            return
        page = parse_page(text)
        if not is_readwise_page(page):
            self.writer.record_page(vault_name, key, fingerprint)
            return
        doc = readwise_document(page, path, source.graph.file_name_format)
        self.writer.sync_document(source.home, path, key, doc, fingerprint, report, source.ctx)

    # -- where a document's note is --------------------------------------------------------


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
