"""Golden graphs: the structures real exports showed, as small graphs in the project's own words.

Each folder of tests/golden/shapes/ is one case (issue 12, acceptance 2). It holds

  graph/               a Logseq graph (pages/, journals/, logseq/config.edn where needed)
  modes                one line per run: ``readwise`` or ``all`` (``all`` runs with --into "")
  expected-<mode>/     the vault syncd must write, byte for byte (``.obsidian`` left out)
  README.md            what the case shows and which case of ../shared/real/shapes it mirrors

The case runs ``syncd once`` as a user does (a real process), must exit 0, must write exactly
the expected tree, and a second run must change nothing. Nothing is written beside the vault.
Regenerate with ``pytest tests/test_shapes.py --update-golden`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHAPES = Path(__file__).parent / "golden" / "shapes"
CASES = sorted(p.parent.name for p in SHAPES.glob("*/modes"))
RUNS = [
    (case, mode)
    for case in CASES
    for mode in (SHAPES / case / "modes").read_text(encoding="utf-8").split()
]


def tree(root: Path) -> dict[str, bytes]:
    """Every file below root (``.obsidian`` left out), by its relative path."""
    found: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".obsidian"]
        for name in filenames:
            path = Path(dirpath) / name
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def sync(graph: Path, vault: Path, state: Path, mode: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "syncd", "once", str(graph), str(vault)]
    cmd += ["--include", mode, "--state-dir", str(state)]
    if mode == "all":
        cmd += ["--into", ""]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("case", "mode"), RUNS, ids=[f"{c}-{m}" for c, m in RUNS])
def test_shape(case: str, mode: str, tmp_path: Path, update_golden: bool) -> None:
    folder = SHAPES / case
    graph = tmp_path / "graph"
    shutil.copytree(folder / "graph", graph)
    vault = tmp_path / "box" / "vault"
    vault.mkdir(parents=True)
    state = tmp_path / "state"

    first = sync(graph, vault, state, mode)
    assert first.returncode == 0, first.stderr
    written = tree(vault)
    assert written, f"{case}: no note written\n{first.stderr}"
    assert sorted(p.name for p in vault.parent.iterdir()) == ["vault"], "wrote beside the vault"

    expected_dir = folder / f"expected-{mode}"
    if update_golden or not expected_dir.exists():
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in written.items():
            target = expected_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    expected = tree(expected_dir)
    assert sorted(written) == sorted(expected)
    for rel, data in expected.items():
        assert written[rel].decode() == data.decode(), rel

    second = sync(graph, vault, state, mode)
    assert second.returncode == 0, second.stderr
    assert tree(vault) == written, "a second run changed the vault"
