"""Issue 12, acceptance 4: no document is ever refused for its title (design.md "Note path").

Titles real exports hold (``/var/tmp …``, ``// …``, ``../../../etc/hosts …``) and titles longer
than a file name (300 bytes of ASCII, 88 CJK characters) each give a note inside the vault with
all its highlights, in a real ``syncd once`` process that exits 0; nothing is written outside the
vault (its parent folder is compared before and after), and a second run changes nothing. The
pages are this project's own text (shape 03 of ../shared/real/shapes has the structure).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

LONG_ASCII = ("Notes on Tide Tables, Harbour Clocks and the Slow Art of Waiting " * 5)[:300]
LONG_CJK = "".join("潮汐表与港口的时钟以及等待的艺术"[i % 16] for i in range(88))
# (title, url, category): the page of each case
TITLES = {
    "slash": ("/var/tmp Is Not a Place to Keep Seeds", "https://e.example/seeds", "articles"),
    "double-slash": ("// Tide Tables Explained...", "https://e.example/tides", "tweets"),
    "dotdot": ("../../../etc/hosts and Other Garden Paths", "https://e.example/hosts", "articles"),
    "ascii-300": (LONG_ASCII, "https://e.example/long", "books"),
    "cjk-88": (LONG_CJK, "https://e.example/cjk", "books"),
}
FOLDERS = {"articles": "Articles", "tweets": "Tweets", "books": "Books"}


def page_text(title: str, url: str, category: str) -> str:
    return (
        f"title:: {title} (highlights)\n"
        "author:: [[Mara Quill]]\n"
        f'full-title:: "{title}"\n'
        f"category:: #{category}\n"
        f"url:: {url}\n"
        "\n"
        "- Highlights first synced by [[Readwise]] [[Mar 3rd, 2024]]\n"
        f"\t- The first thing worth keeping. ([View Highlight]({url}/h1))\n"
        f"\t- The second thing worth keeping. ([View Highlight]({url}/h2))\n"
    )


def snapshot(root: Path, skip: set[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            path = Path(dirpath) / name
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def run_once(home: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "syncd", "once", str(home / "graph"), str(home / "vault")]
    cmd += ["--include", "readwise", "--state-dir", str(home / "state")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def note_with_url(vault: Path, url: str) -> Path:
    found = [
        p for p in vault.rglob("*.md") if f"syncd-id: url:{url}\n" in p.read_text(encoding="utf-8")
    ]
    assert len(found) == 1, (url, found)
    return found[0]


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """The graph synced once: (home, the home's files other than vault and state before)."""
    home = tmp_path_factory.mktemp("home")
    pages = home / "graph" / "pages"
    pages.mkdir(parents=True)
    (home / "graph" / "logseq").mkdir()
    (home / "graph" / "logseq" / "config.edn").write_text(
        '{:journal/page-title-format "MMM do, yyyy"\n :file/name-format :triple-lowbar}\n',
        encoding="utf-8",
    )
    for case, (title, url, category) in TITLES.items():
        # Logseq's own file name would be the title's; any name does (title:: names the page)
        (pages / f"{case} (highlights).md").write_text(
            page_text(title, url, category), encoding="utf-8"
        )
    (home / "vault" / ".obsidian").mkdir(parents=True)
    (home / "etc").mkdir()
    (home / "etc" / "hosts").write_text("127.0.0.1 localhost\n", encoding="utf-8")
    before = snapshot(home, {"vault", "state"})
    result = run_once(home)
    assert result.returncode == 0, result.stderr
    assert "failed" not in result.stderr.replace("0 failed", ""), result.stderr
    return home, before


@pytest.mark.parametrize("case", sorted(TITLES))
def test_a_title_gives_a_note_inside_the_vault(
    case: str, synced: tuple[Path, dict[str, bytes]]
) -> None:
    home, _ = synced
    vault = home / "vault"
    title, url, category = TITLES[case]
    note = note_with_url(vault, url)
    assert note.resolve().parent == (vault / "Readwise" / FOLDERS[category]).resolve()
    assert len(note.name.encode("utf-8")) <= 255, note.name
    assert not note.name.startswith("."), note.name
    text = note.read_text(encoding="utf-8")
    assert f"({url}/h1)" in text and f"({url}/h2)" in text  # all highlights
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["full-title"] == title  # the whole title, not the cut one
    assert f"{title} (highlights)" in front["aliases"]  # the page name


def test_long_titles_are_cut_at_a_character_boundary(synced: tuple[Path, dict[str, bytes]]) -> None:
    home, _ = synced
    ascii_note = note_with_url(home / "vault", TITLES["ascii-300"][1])
    cjk_note = note_with_url(home / "vault", TITLES["cjk-88"][1])
    # 255 bytes less ".md" and room for " (99)": 247 bytes of stem at most
    assert LONG_ASCII.startswith(ascii_note.stem.rstrip()) and len(ascii_note.stem) <= 247
    assert LONG_CJK.startswith(cjk_note.stem) and len(cjk_note.stem) == 82  # 246 bytes


def test_path_like_titles_are_text_made_safe(synced: tuple[Path, dict[str, bytes]]) -> None:
    home, _ = synced
    names = {case: note_with_url(home / "vault", TITLES[case][1]).stem for case in TITLES}
    assert names["slash"] == "var-tmp Is Not a Place to Keep Seeds"
    assert names["double-slash"] == "Tide Tables Explained"
    assert names["dotdot"] == "etc-hosts and Other Garden Paths"


def test_nothing_is_written_outside_the_vault(synced: tuple[Path, dict[str, bytes]]) -> None:
    home, before = synced
    assert sorted(p.name for p in home.iterdir()) == ["etc", "graph", "state", "vault"]
    assert snapshot(home, {"vault", "state"}) == before  # graph and ../etc/hosts untouched


def test_a_second_run_changes_nothing(synced: tuple[Path, dict[str, bytes]]) -> None:
    home, _ = synced
    vault_before = snapshot(home / "vault", set())
    again = run_once(home)
    assert again.returncode == 0, again.stderr
    assert "changed 0 notes" in again.stderr, again.stderr
    assert snapshot(home / "vault", set()) == vault_before


def test_titles_that_meet_after_sanitizing_get_unique_names(tmp_path: Path) -> None:
    """``/Seeds``, ``Seeds`` and ``SEEDS?`` make one stem: three notes, names differing
    ignoring case; two 300-byte titles that differ only after the cut: `` (2)`` within 255
    bytes."""
    pages = tmp_path / "graph" / "pages"
    pages.mkdir(parents=True)
    titles = ["/Seeds", "Seeds", "SEEDS?", LONG_CJK + "甲", LONG_CJK + "乙"]
    for n, title in enumerate(titles):
        url = f"https://e.example/same/{n}"
        (pages / f"p{n} (highlights).md").write_text(
            page_text(title, url, "books"), encoding="utf-8"
        )
    (tmp_path / "vault" / ".obsidian").mkdir(parents=True)
    result = run_once(tmp_path)
    assert result.returncode == 0, result.stderr
    notes = [note_with_url(tmp_path / "vault", f"https://e.example/same/{n}") for n in range(5)]
    folded = {n.name.casefold() for n in notes}
    assert len(folded) == 5, notes
    assert all(len(n.name.encode("utf-8")) <= 255 for n in notes)
    assert {n.stem.casefold() for n in notes[:3]} == {"seeds", "seeds (2)", "seeds (3)"}
    assert {n.stem for n in notes[3:]} == {LONG_CJK[:82], LONG_CJK[:82] + " (2)"}
