"""bench/plan_cpu.py: the helpers' work timed in one process, with the run's own plan context
(the figure README "Benchmark" compares between versions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.plan_cpu import REPO, cpu_seconds
from bench.run import GEN_GRAPH

EXAMPLE_GRAPH = REPO / "examples" / "graph"


def test_every_page_is_planned_and_nothing_is_written(tmp_path: Path) -> None:
    seconds = cpu_seconds(REPO, EXAMPLE_GRAPH, "readwise", tmp_path)
    assert seconds > 0
    # the hook replaces the executor: the run ends there, before the writer made a note
    assert not (tmp_path / "vault").exists() or not any((tmp_path / "vault").rglob("*.md"))


def test_a_version_without_the_executor_is_refused_with_its_output(tmp_path: Path) -> None:
    """A package that is no syncd at all gives no figure: the script stops and says why."""
    (tmp_path / "pkg" / "syncd").mkdir(parents=True)
    with pytest.raises(SystemExit, match="no figure"):
        cpu_seconds(tmp_path / "pkg", EXAMPLE_GRAPH, "readwise", tmp_path)


def test_main_part_runs_to_the_end_on_plans_made_first(tmp_path: Path) -> None:
    """--main: every page planned first (untimed), then the rest of the run timed: it makes
    the notes a plain ``syncd once`` makes."""
    graph = tmp_path / "graph"
    gen = [sys.executable, str(GEN_GRAPH), str(graph), "--pages", "150"]
    subprocess.run(gen, check=True, capture_output=True)
    seconds = cpu_seconds(REPO, graph, "readwise", tmp_path, main=True)
    assert seconds > 0
    plain = tmp_path / "plain"
    plain.mkdir()
    argv = ["once", str(graph), str(plain / "vault"), "--state-dir", str(plain / "s")]
    subprocess.run([sys.executable, "-m", "syncd", *argv], check=True, capture_output=True)
    made = sorted(p.relative_to(tmp_path / "vault") for p in (tmp_path / "vault").rglob("*.md"))
    assert made == sorted(p.relative_to(plain / "vault") for p in (plain / "vault").rglob("*.md"))
    assert len(made) > 100
