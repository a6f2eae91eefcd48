"""The daemon's worker thread, in-process, with a fake engine and the real state store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from syncd.config import Config, DaemonConfig, SourceConfig, VaultConfig
from syncd.daemon import service
from syncd.daemon.service import Worker
from syncd.state import StateStore

WAIT = 30.0


@dataclass
class Report:
    changed: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    known_failures: list[tuple[str, str]] = field(default_factory=list)
    deferred: list[Path] = field(default_factory=list)
    pages: int = 0


class Engine:
    def __init__(self, config: Config, label: str = "first") -> None:
        self.config = config
        self.label = label
        self.batches: list[list[Path]] = []
        self.scanned: list[int] = []
        self.scan_gate: threading.Event | None = None  # block the scan after its first page
        self.in_scan = threading.Event()
        self.lock = threading.Lock()

    def watched_roots(self) -> list[Path]:
        return [s.path for v in self.config.vaults for s in v.sources]

    def is_relevant(self, path: Path) -> bool:
        return path.suffix == ".md"

    def scan(self, progress: Callable[[str, int, int], None] | None = None) -> Report:
        total = 5
        for done in range(1, total + 1):
            with self.lock:
                self.scanned.append(done)
            if done == 1 and self.scan_gate is not None:
                self.in_scan.set()
                self.scan_gate.wait(WAIT)
            if progress is not None:
                progress("pages", done, total)
        return Report(pages=total)

    def sync_paths(self, paths: Iterable[Path]) -> Report:
        batch = list(paths)
        if len(batch) > 1 and any(p.name == "bad.md" for p in batch):
            raise RuntimeError("engine bug on bad.md")
        if batch == [Path("/g/bad.md")]:
            raise RuntimeError("engine bug on bad.md")
        with self.lock:
            self.batches.append(batch)
        return Report(changed=[p.name for p in batch], pages=len(batch))


def _config(tmp_path: Path, settle: float = 0.0) -> Config:
    return Config(
        vaults=(VaultConfig("main", tmp_path / "vault", (SourceConfig(tmp_path / "graph"),)),),
        state_dir=tmp_path / "state",
        daemon=DaemonConfig(settle_seconds=settle),
    )


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.01)


@pytest.fixture
def run_worker(tmp_path: Path) -> Iterator[Callable[..., tuple[Worker, Engine]]]:
    workers: list[Worker] = []

    def start(
        engine_factory: Callable[[Config, Any], Engine] | None = None, settle: float = 0.0
    ) -> tuple[Worker, Engine]:
        worker = Worker(
            _config(tmp_path, settle),
            engine_factory=engine_factory or (lambda config, state: Engine(config)),
            state_factory=StateStore.open,
            prepare=lambda config, state: None,
        )
        worker.start()
        engine = worker.started.result(WAIT)
        assert isinstance(engine, Engine)
        workers.append(worker)
        return worker, engine

    yield start
    for worker in workers:
        worker.stop()
        worker.join(WAIT)


def test_settled_paths_are_synced_in_batches_in_first_seen_order(
    run_worker: Callable[..., tuple[Worker, Engine]],
) -> None:
    worker, engine = run_worker()
    paths = [Path(f"/g/{n:03}.md") for n in range(70)]
    now = time.monotonic()
    for path in paths:
        worker.submit(path, now)
    worker.submit(paths[0], now)  # a duplicate event: still one sync
    _wait(lambda: sum(len(b) for b in engine.batches) >= len(paths))
    assert [p for b in engine.batches for p in b] == paths
    assert max(len(b) for b in engine.batches) <= service.SYNC_BATCH
    assert worker.healthy(time.monotonic())


def test_an_engine_crash_on_one_page_does_not_lose_the_others(
    run_worker: Callable[..., tuple[Worker, Engine]],
) -> None:
    worker, engine = run_worker()
    paths = [Path("/g/a.md"), Path("/g/bad.md"), Path("/g/c.md")]
    now = time.monotonic()
    for path in paths:
        worker.submit(path, now)
    _wait(lambda: len(engine.batches) >= 2)
    assert engine.batches == [[Path("/g/a.md")], [Path("/g/c.md")]]
    assert worker.is_alive()


def test_scan_requests_are_merged_and_recorded(
    run_worker: Callable[..., tuple[Worker, Engine]], tmp_path: Path
) -> None:
    worker, engine = run_worker()
    gate = threading.Event()
    engine.scan_gate = gate
    worker.request_scan("start")
    assert engine.in_scan.wait(WAIT)
    for reason in ("periodic", "watchdog: overflow", "periodic"):
        worker.request_scan(reason)  # arrive while the first scan runs: one more scan
    gate.set()
    _wait(lambda: worker.scans_done == 2)
    worker.submit(Path("/g/a.md"), time.monotonic())  # one more pass through the loop
    _wait(lambda: len(engine.batches) == 1)
    assert worker.scans_done == 2  # no third scan
    assert worker.last_scan_summary == "5 pages, 0 changed, 0 failed"
    worker.stop()
    worker.join(WAIT)
    with StateStore.open(tmp_path / "state" / "state.sqlite3") as state:
        assert state.get_meta("last_scan_result") == "5 pages, 0 changed, 0 failed"
        assert state.get_meta("daemon_stopped") is not None
        assert state.get_meta("pending") == "0"


def test_stop_during_a_scan_ends_it_after_the_current_page(
    run_worker: Callable[..., tuple[Worker, Engine]],
) -> None:
    worker, engine = run_worker()
    gate = threading.Event()
    engine.scan_gate = gate
    worker.request_scan("start")
    assert engine.in_scan.wait(WAIT)
    worker.stop()
    gate.set()
    worker.join(WAIT)
    assert not worker.is_alive()
    assert engine.scanned == [1]  # page 1 finished, pages 2-5 never started
    assert worker.last_scan_summary == "interrupted"


def test_stuck_engine_call_makes_the_worker_unhealthy(
    run_worker: Callable[..., tuple[Worker, Engine]],
) -> None:
    worker, engine = run_worker()
    gate = threading.Event()
    engine.scan_gate = gate
    worker.request_scan("start")
    assert engine.in_scan.wait(WAIT)
    busy_since = worker.busy_since
    assert busy_since is not None
    assert worker.healthy(busy_since + service.BUSY_STALL - 1)
    assert not worker.healthy(busy_since + service.BUSY_STALL + 1)
    gate.set()
    _wait(lambda: worker.scans_done == 1)
    assert worker.healthy(time.monotonic())


def test_reload_swaps_the_engine_or_keeps_the_old_one(
    run_worker: Callable[..., tuple[Worker, Engine]], tmp_path: Path
) -> None:
    made: list[Engine] = []

    def factory(config: Config, state: Any) -> Engine:
        if config.daemon.settle_seconds == 9.0:
            raise ValueError("broken engine setup")
        made.append(Engine(config, label=f"engine {len(made)}"))
        return made[-1]

    worker, first = run_worker(factory)
    with pytest.raises(ValueError, match="broken engine setup"):
        worker.request_reload(_config(tmp_path, settle=9.0)).result(WAIT)
    worker.submit(Path("/g/a.md"), time.monotonic())
    _wait(lambda: len(first.batches) == 1)  # the old engine still works

    second = worker.request_reload(_config(tmp_path, settle=0.05)).result(WAIT)
    assert second is made[-1] and second is not first
    assert worker.debouncer.settle == 0.05
    worker.submit(Path("/g/b.md"), time.monotonic())
    _wait(lambda: len(second.batches) == 1)
    assert first.batches == [[Path("/g/a.md")]]
    assert second.batches == [[Path("/g/b.md")]]


def test_state_that_cannot_open_fails_the_start(tmp_path: Path) -> None:
    def broken(path: Path) -> StateStore:
        raise OSError(13, "Permission denied")

    worker = Worker(
        _config(tmp_path),
        engine_factory=lambda config, state: Engine(config),
        state_factory=broken,
        prepare=lambda c, s: None,
    )
    worker.start()
    with pytest.raises(OSError, match="Permission denied"):
        worker.started.result(WAIT)
    worker.join(WAIT)
    assert not worker.is_alive()
