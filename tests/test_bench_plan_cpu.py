"""bench/plan_cpu.py: the helpers' work timed in one process, with the run's own plan context
(the figure README "Benchmark" compares between versions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.plan_cpu import REPO, plan_seconds

EXAMPLE_GRAPH = REPO / "examples" / "graph"


def test_every_page_is_planned_and_nothing_is_written(tmp_path: Path) -> None:
    seconds = plan_seconds(REPO, EXAMPLE_GRAPH, "readwise", tmp_path)
    assert seconds > 0
    # the hook replaces the executor: the run ends there, before the writer made a note
    assert not (tmp_path / "vault").exists() or not any((tmp_path / "vault").rglob("*.md"))


def test_a_version_without_the_executor_is_refused_with_its_output(tmp_path: Path) -> None:
    """A package that is no syncd at all gives no figure: the script stops and says why."""
    (tmp_path / "pkg" / "syncd").mkdir(parents=True)
    with pytest.raises(SystemExit, match="no figure"):
        plan_seconds(tmp_path / "pkg", EXAMPLE_GRAPH, "readwise", tmp_path)
