"""One rule set for both modes (issue 11, acceptance 2).

Every Readwise page of the real exports in ``../shared/real/readwise-pages/`` (skipped when
``../shared`` is absent) and of the project's own samples (examples/graph, tests/data, the
golden inputs) is synced through ``include: readwise`` and through ``include: all``; the two
notes of each document (matched by ``syncd-id`` in the frontmatter) must have byte-identical
bodies, the text after the frontmatter. Paths and frontmatter may differ (with
``include: all`` a page keeps its Logseq name and folder; rows P1-P3 of
``../shared/reference/logseq-to-obsidian.md`` govern the properties).

Each graph runs twice: into vaults without settings, and into vaults whose
``.obsidian/daily-notes.json`` names a daily-note format (a setting read for every source).
Before issue 11 (syncd 0.1.0, 3383b4b) the two modes differed in 9 of these 14 cases: an
alias link (``[[ML]]`` vs ``[[Machine Learning|ML]]``), a dot-file page synced in one mode
only, and daily-notes.json read with ``include: all`` only.
"""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from syncd.cli import main

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real" / "readwise-pages"
DATA = REPO / "tests" / "data"
GOLDEN = REPO / "tests" / "golden" / "readwise"
GRAPHS = {
    "real-readwise-pages": REAL,
    "examples-graph": REPO / "examples" / "graph",
    "readwise-v1": DATA / "readwise" / "v1",
    "readwise-v2": DATA / "readwise" / "v2",
    "readwise-real": DATA / "readwise-real",
    "logseq-graph": DATA / "logseq-graph",
    "golden-inputs": GOLDEN,
}


def make_graph(name: str, root: Path) -> Path:
    """A copy of the graph ``name`` in ``root`` (the golden inputs become one page each)."""
    graph = root / "graph"
    source = GRAPHS[name]
    if name == "golden-inputs":
        (graph / "pages").mkdir(parents=True)
        for case in sorted(source.iterdir()):
            if (case / "input.md").exists():
                shutil.copy(case / "input.md", graph / "pages" / f"{case.name}.md")
    else:
        shutil.copytree(source, graph)
    return graph


def split_note(text: str) -> tuple[dict[str, object], str]:
    """(frontmatter, body) of a note; a note without frontmatter has an empty one."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 4)
    assert end != -1, f"unterminated frontmatter: {text[:200]!r}"
    meta = yaml.safe_load(text[4 : end + 1]) or {}
    assert isinstance(meta, dict)
    return meta, text[end + len("\n---\n") :]


def bodies_by_id(vault: Path) -> dict[str, tuple[str, str]]:
    """syncd-id -> (note path, body) for every note syncd wrote as a Readwise document."""
    out: dict[str, tuple[str, str]] = {}
    for path in sorted(vault.rglob("*.md")):
        meta, body = split_note(path.read_text(encoding="utf-8"))
        if "syncd-id" in meta:
            doc = str(meta["syncd-id"])
            assert doc not in out, f"two notes for {doc}: {out[doc][0]}, {path}"
            out[doc] = (path.relative_to(vault).as_posix(), body)
    return out


def sync(graph: Path, vault: Path, state: Path, include: str) -> int:
    """``include: all`` with ``readwise_layout: category``: Readwise notes where ``include:
    readwise`` puts them, so a link to one (a user's ref to a highlight) reads the same in
    both modes; by default ``include: all`` keeps the page names (issue 12), and such links
    follow the notes (tests/test_include_all_readwise.py)."""
    if include == "readwise":
        args = ["once", str(graph), str(vault), "--state-dir", str(state), "--include", include]
        return main([*args, "-q"])
    config = state.parent / f"{state.name}.yaml"
    config.write_text(
        f"state_dir: {json.dumps(str(state))}\n"
        "vaults:\n"
        "  - name: main\n"
        f"    path: {json.dumps(str(vault))}\n"
        "    sources:\n"
        f"      - path: {json.dumps(str(graph))}\n"
        "        include: all\n"
        '        into: ""\n'
        "        convert:\n"
        "          readwise_layout: category\n",
        encoding="utf-8",
    )
    return main(["once", "-c", str(config), "-q"])


def differences(readwise: dict[str, tuple[str, str]], every: dict[str, tuple[str, str]]) -> str:
    """What differs between the two modes' notes, readably (empty: nothing)."""
    out: list[str] = []
    for doc in sorted(readwise.keys() | every.keys()):
        if doc not in every:
            out.append(f"{doc}: only with include: readwise ({readwise[doc][0]})")
        elif doc not in readwise:
            out.append(f"{doc}: only with include: all ({every[doc][0]})")
        elif readwise[doc][1] != every[doc][1]:
            diff = difflib.unified_diff(
                readwise[doc][1].splitlines(),
                every[doc][1].splitlines(),
                f"readwise/{readwise[doc][0]}",
                f"all/{every[doc][0]}",
                n=0,
                lineterm="",
            )
            out.append("\n".join(list(diff)[:12]))
    return "\n".join(out)


# the vault's own settings, read for every source (design.md "Logseq -> Obsidian rewriting")
SETTINGS = {
    "no-settings": {},
    "daily-notes": {"daily-notes.json": '{"format": "DD.MM.YYYY", "folder": "Daily"}\n'},
}
CASES = [
    pytest.param(name, settings, id=f"{name}-{settings}")
    for name in sorted(GRAPHS)
    for settings in SETTINGS
]


@pytest.mark.parametrize(("name", "settings"), CASES)
def test_both_modes_write_the_same_note_bodies(
    name: str, settings: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not GRAPHS[name].exists():
        pytest.skip(f"{GRAPHS[name]} is absent (../shared is not next to the repository)")
    monkeypatch.setenv("SYNCD_HELPERS", "0")  # in-process: no helper forked off pytest
    graph = make_graph(name, tmp_path)
    notes: dict[str, dict[str, tuple[str, str]]] = {}
    for include in ("readwise", "all"):
        vault = tmp_path / include
        (vault / ".obsidian").mkdir(parents=True)
        for file, text in SETTINGS[settings].items():
            (vault / ".obsidian" / file).write_text(text)
        sync(graph, vault, tmp_path / f"{include}-state", include)
        notes[include] = bodies_by_id(vault)
    assert notes["readwise"], "no Readwise note at all: the graph is not what this test needs"
    assert differences(notes["readwise"], notes["all"]) == ""
