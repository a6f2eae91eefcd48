"""Issue 12, acceptance 5: ``include: all`` on the project's sample graph (examples/graph, the
README's demo) keeps every Readwise page's name; links to it resolve; ``readwise_layout:
category`` in the source's ``convert:`` options gives the category folders of ``include:
readwise``. Also shape 04: an empty page is no failure in either mode."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from syncd.pipeline.page import page_note_path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "graph"


def run(tmp: Path, name: str, include: str, layout: str | None = None) -> Path:
    vault = tmp / f"vault-{name}"
    (vault / ".obsidian").mkdir(parents=True)
    convert = f"        convert:\n          readwise_layout: {layout}\n" if layout else ""
    config = tmp / f"{name}.yaml"
    config.write_text(
        f"state_dir: {tmp / ('state-' + name)}\n"
        "vaults:\n"
        "  - name: main\n"
        f"    path: {vault}\n"
        "    sources:\n"
        f"      - path: {tmp / 'graph'}\n"
        f"        include: {include}\n"
        '        into: ""\n' + convert,
        encoding="utf-8",
    )
    for attempt in (1, 2):
        done = subprocess.run(
            [sys.executable, "-m", "syncd", "once", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        if attempt == 2:
            assert "changed 0 notes" in done.stderr + done.stdout
    return vault


def notes(vault: Path) -> set[str]:
    return {
        p.relative_to(vault).as_posix() for p in vault.rglob("*.md") if ".obsidian" not in p.parts
    }


def readwise_pages(graph: Path) -> dict[str, str]:
    """page file -> page name (``title::``), for the Readwise pages of the graph."""
    found = {}
    for page in (graph / "pages").glob("*.md"):
        text = page.read_text(encoding="utf-8")
        if "Highlights first synced by" in text:
            title = next(
                line[7:].strip() for line in text.splitlines() if line.startswith("title::")
            )
            found[page.name] = title
    return found


def test_include_all_keeps_readwise_page_names_and_links_resolve(tmp_path: Path) -> None:
    graph = tmp_path / "graph"
    shutil.copytree(EXAMPLE, graph)
    pages = readwise_pages(graph)
    assert len(pages) >= 10
    (graph / "journals").mkdir()
    links = "".join(f"- read [[{name}]]\n" for name in sorted(pages.values()))
    (graph / "journals" / "2026_01_02.md").write_text(links, encoding="utf-8")
    (graph / "pages" / "Empty Shelf.md").write_bytes(b"")  # shape 04: no failure

    vault = run(tmp_path, "all", "all")
    written = notes(vault)
    for name in pages.values():  # the page name as any page's (namespace folders, N1)
        assert page_note_path(name, "") in written, (name, sorted(written))
        assert f"{name}.md" in written or "/" in name or ":" in name
    assert not any(p.split("/")[0] in {"Books", "Articles", "Tweets"} for p in written)
    assert (vault / "Empty Shelf.md").read_bytes() == b""
    # every link of the journal reaches a note: its target (before "|") is a note's path
    journal = (vault / "2026-01-02.md").read_text(encoding="utf-8")
    stems = {p.removesuffix(".md") for p in written} | {Path(p).stem for p in written}
    for line in journal.splitlines():
        target = line.split("[[", 1)[1].split("]]", 1)[0].split("|", 1)[0]
        assert target.removesuffix(".md") in stems, (target, sorted(written))


def test_readwise_layout_category_gives_the_category_folders(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "graph")
    (tmp_path / "graph" / "pages" / "Empty Shelf.md").write_bytes(b"")  # ignored in readwise
    by_category = notes(run(tmp_path, "category", "all", "category"))
    readwise = notes(run(tmp_path, "readwise", "readwise"))
    assert readwise  # Books/, Articles/, Tweets/ ... at the root (into: "")
    assert {p.split("/")[0] for p in readwise} >= {"Books", "Articles", "Tweets"}
    assert by_category - {"Readwise.md", "Empty Shelf.md"} == readwise
