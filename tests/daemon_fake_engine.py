"""Run the real daemon (``run_daemon``) with a fake sync engine, for tests/test_daemon_service.py.

    python tests/daemon_fake_engine.py CONFIG RECORD

Everything is real (configuration loading, lock, state store, observers, signals,
sd_notify) except the engine, which appends one JSON line per call to RECORD:
``{"call": "scan"}``, ``{"call": "sync", "paths": [...]}``. A page named ``hang.md`` makes
``sync_paths`` block (a stuck worker). Test knobs (environment): SYNCD_TEST_BUSY_STALL and
SYNCD_TEST_STOP_TIMEOUT override the daemon's limits in seconds.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncd.config import Config
from syncd.daemon import service
from syncd.daemon.logsetup import configure_logging


@dataclass
class FakeReport:
    changed: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    known_failures: list[tuple[str, str]] = field(default_factory=list)
    deferred: list[Path] = field(default_factory=list)
    pages: int = 0


class FakeEngine:
    def __init__(self, config: Config, state: Any, record: Path) -> None:
        self.roots = [source.path for vault in config.vaults for source in vault.sources]
        self.state = state
        self.record = record
        self.never = threading.Event()

    def _write(self, entry: dict[str, Any]) -> None:
        with self.record.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")

    def watched_roots(self) -> list[Path]:
        return list(self.roots)

    def is_relevant(self, path: Path) -> bool:
        return path.suffix == ".md" and any(root in path.parents for root in self.roots)

    def scan(self, progress: Callable[[str, int, int], None] | None = None) -> FakeReport:
        pages = sorted(p for root in self.roots for p in root.rglob("*.md"))
        for done, _page in enumerate(pages, start=1):
            if progress is not None:
                progress("pages", done, len(pages))
        self._write({"call": "scan", "pages": len(pages)})
        return FakeReport(pages=len(pages))

    def sync_paths(self, paths: Iterable[Path]) -> FakeReport:
        paths = list(paths)
        contents = {str(p): p.read_text(encoding="utf-8") if p.exists() else None for p in paths}
        self._write({"call": "sync", "paths": [str(p) for p in paths], "contents": contents})
        if any(p.name == "hang.md" for p in paths):
            self.never.wait(3600)
        return FakeReport(changed=[p.name for p in paths], pages=len(paths))


def main() -> int:
    config_path, record = Path(sys.argv[1]), Path(sys.argv[2])
    configure_logging(1)
    if "SYNCD_TEST_BUSY_STALL" in os.environ:
        service.BUSY_STALL = float(os.environ["SYNCD_TEST_BUSY_STALL"])
    if "SYNCD_TEST_STOP_TIMEOUT" in os.environ:
        service.STOP_TIMEOUT = float(os.environ["SYNCD_TEST_STOP_TIMEOUT"])
    return service.run_daemon(
        config_path, engine_factory=lambda config, state: FakeEngine(config, state, record)
    )


if __name__ == "__main__":
    raise SystemExit(main())
