"""The sync engine: every configured source, one run at a time (I/O edge).

A source is a Logseq graph (``include: all``: every page, journal, Readwise document and
asset; ``include: readwise``: the Readwise documents), run by ``syncd.migrate.GraphMigration``:
pages are planned (``syncd.plan``, by ``syncd.parallel``) and written by ``syncd.writer.Writer``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from syncd.config import Config
from syncd.failures import record_vault
from syncd.migrate import GraphMigration
from syncd.state import StateStore, iso
from syncd.writer import RunReport, Writer, vault_unavailable

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (phase, done, total)


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
        workers: int = 0,
        retry_backoff: bool = False,
        settle: float | None = None,
    ) -> None:
        """``log_report`` False: the caller (the CLI) prints the migration report. ``workers``:
        planning processes (``syncd.parallel``; 0: none). The daemon's ``retry_backoff``: a
        transient failure is tried again after a wait (``syncd.failures``), not every run;
        its ``settle``: a page changed less than that many seconds ago, or held open for
        writing, is deferred (else a run waits for pages held open)."""
        self.config = config
        self.state = state
        self.dry_run = dry_run
        self.clock = clock or (lambda: datetime.now(UTC))
        self.writer = Writer(config, state, dry_run=dry_run, diff=diff, bulk=bulk, clock=self.clock)
        self.log_report = log_report
        self._sources = [
            GraphMigration(self.writer, v.name, s, workers=workers)
            for v in config.vaults
            for s in v.sources
        ]
        self.writer.stagers.extend(self._sources)
        self._closed: dict[str, str | None] = {}  # vault -> why _is_closed said it is
        for source in self._sources:
            source.failed.backoff = retry_backoff
            source.settle = settle

    # -- what the daemon needs -------------------------------------------------------------
    def watched_roots(self) -> list[Path]:
        return sorted({source.root for source in self._sources})

    def is_relevant(self, path: Path) -> bool:
        return any(source.owns(path) for source in self._sources)

    # -- runs --------------------------------------------------------------------------------
    def scan(self, progress: Progress | None = None) -> RunReport:
        """A full pass over every page of every source, after removing the temp files a killed
        run left in the vaults (syncd is their only writer, and it is not writing now)."""
        if not self.dry_run:
            self._sweep_temp_files()
        report = self._run(None, progress)
        if not self.dry_run:
            self.state.set_meta("last_scan", iso(self.clock()))
        return report

    def sync_paths(self, paths: Iterable[Path]) -> RunReport:
        """The pages (and assets, config files) at ``paths`` that changed."""
        return self._run(list(paths), None)

    def _sweep_temp_files(self) -> None:
        for vault in self.writer.vaults.values():
            if vault_unavailable(vault.root) is None:
                removed = vault.sweep_temp_files()
                if removed:
                    log.info("%s: removed %d temp file(s) a killed run left", vault.root, removed)

    def _run(self, paths: list[Path] | None, progress: Progress | None) -> RunReport:
        """Run every source over ``paths`` (None: everything)."""
        report = RunReport()
        self.writer.start_run()
        for source in self._sources:
            mine: list[Path] | None = None
            if paths is not None:
                mine = [p for p in paths if source.owns(p)]
                if not mine:
                    continue
            if self._is_closed(source.vault_name, report):
                continue
            self.writer.forget_note_ids()
            source.run(mine, report, progress)
        self.writer.commit()
        if self.log_report:
            for line in report.migration.lines():
                log.info("%s", line)
        return report

    def _is_closed(self, name: str, report: RunReport) -> bool:
        """Whether vault ``name`` is not to be touched in this run (``vault_unavailable``): one
        failure, logged once while its reason stays, recorded until the vault opens again."""
        root = self.writer.vaults[name].root
        reason = vault_unavailable(root)
        if reason is not None and name in self.writer.new_vaults:
            return False  # a vault a dry run would create: previewed as an empty one
        said = self._closed.get(name, "")  # "": not checked by this engine yet
        self._closed[name] = reason
        if reason is None:
            if said is not None and not self.dry_run:
                record_vault(self.state, name, root, None)
            if said:
                log.info("%s: vault is open again", root)
            return False
        if reason == said:
            report.known_failures.append((str(root), reason))
            return True
        log.error("%s: %s", root, reason)
        report.failures.append((str(root), reason))
        if not self.dry_run:
            record_vault(self.state, name, root, reason, iso(self.clock()))
        return True
