"""Configuration: YAML file -> frozen dataclasses, every problem reported with its key path.

The dataclasses below are the contract the rest of syncd codes against; ``load_config`` and
``validate`` fill them from ``config.yaml`` (see ``config.example.yaml`` for every key).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


class Include(enum.Enum):
    """Which pages of a Logseq graph a source syncs."""

    READWISE = "readwise"  # only Readwise highlight pages
    ALL = "all"  # every page, journal and asset


@dataclass(frozen=True, slots=True)
class SourceConfig:
    path: Path  # Logseq graph root (pages/, journals/, logseq/config.edn)
    include: Include = Include.READWISE
    into: str = "Readwise"  # folder inside the vault, "" = vault root


@dataclass(frozen=True, slots=True)
class VaultConfig:
    name: str
    path: Path  # vault root (the folder holding .obsidian/)
    sources: tuple[SourceConfig, ...]


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    settle_seconds: float = 2.0
    rescan_interval: float = 15 * 60.0  # seconds
    polling: bool = False  # force watchdog's PollingObserver (network / FUSE folders)


@dataclass(frozen=True, slots=True)
class Config:
    vaults: tuple[VaultConfig, ...]
    state_dir: Path = field(default_factory=lambda: Path("~/.local/state/syncd").expanduser())
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    max_page_bytes: int = 8 * 1024 * 1024  # larger source pages are reported and skipped
    repair_mojibake: bool = True  # "â€”" -> "—" (UTF-8 that was read as cp1252)
    source_file: Path | None = None  # where this configuration was read from
