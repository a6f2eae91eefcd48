"""Shared fixtures: real folders for graphs, vaults and state; golden-file updating."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.convert.context import ConvertContext, ConvertOptions, GraphIndex, InlineContext
from syncd.logseq.graph_config import GraphConfig

DATA = Path(__file__).parent / "data"
READWISE_SAMPLES = DATA / "readwise"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/**/expected.md from the current output (review the diff!)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def readwise_context(
    journal_title_formats: tuple[str, ...],
    daily_note_format: str = "YYYY-MM-DD",
    *,
    graph_config: GraphConfig | None = None,
    index: GraphIndex | None = None,
    options: ConvertOptions | None = None,
) -> ConvertContext:
    """The context Readwise notes are rendered with (``migrate._Run.readwise_ctx``), with
    defaults: no index (every link keeps its name), default options."""
    return ConvertContext(
        graph=graph_config or GraphConfig(),
        index=index or GraphIndex(),
        options=options or ConvertOptions(),
        inline=InlineContext(tuple(journal_title_formats), daily_note_format),
        page_name="",
    )


class Workspace:
    """A Logseq graph, an Obsidian vault and a state folder side by side in tmp_path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.graph = root / "graph"
        self.pages = self.graph / "pages"
        self.vault = root / "vault"
        self.state = root / "state"
        self.pages.mkdir(parents=True)
        (self.vault / ".obsidian").mkdir(parents=True)

    def put_pages(self, folder: Path) -> None:
        """Make the graph's pages/ an exact copy of ``folder`` (a Readwise sync snapshot)."""
        for old in self.pages.iterdir():
            old.unlink()
        for page in folder.iterdir():
            shutil.copy2(page, self.pages / page.name)

    def sync(self, *extra: str) -> int:
        from syncd.cli import main

        return main(
            ["once", str(self.graph), str(self.vault), "--state-dir", str(self.state), "-q", *extra]
        )

    def notes(self) -> dict[str, str]:
        return {
            p.relative_to(self.vault).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(self.vault.rglob("*.md"))
        }

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        """Every file under the vault with its bytes and mtime."""
        return {
            p.relative_to(self.vault).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(self.vault.rglob("*"))
            if p.is_file()
        }


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    yield Workspace(tmp_path)
