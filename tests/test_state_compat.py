"""An existing state directory from syncd 0.1.0 keeps working after the upgrade (issue 11).

``tests/data/state-0.1.0/`` holds a graph, two vaults and their state directories exactly as
syncd 0.1.0 (commit 3383b4b) left them (``make_state_fixture.py`` there made them, with that
release): vault-readwise (``include: readwise``) and vault-all (``include: all``), in each of
which the user deleted one highlight after the first sync and 0.1.0 ran again. This test runs
the CURRENT syncd on a copy and checks behaviour only (notes on disk, exit status), never the
state's tables, so it keeps working while the state schema evolves (merge rules 4, 7, 8).

0.1.0 records the graph's absolute path for an ``include: all`` source, so the copy goes back
where the fixture was made (``FIXED_ROOT``), as an upgrading user's files would still be; a
lock keeps two test runs on one machine from sharing it.
"""

from __future__ import annotations

import difflib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.cli import main

FIXTURE = Path(__file__).parent / "data" / "state-0.1.0"
FIXED_ROOT = Path("/tmp/syncd-state-0.1.0")  # make_state_fixture.FIXED_ROOT
PARTS = ("graph", "vault-readwise", "vault-all", "state-readwise", "state-all")
VAULTS = {"vault-readwise": ("state-readwise", "readwise"), "vault-all": ("state-all", "all")}
# what the user deleted in each vault (make_state_fixture.DELETED)
DELETED = {
    "vault-readwise": "Salt fog eats brass",
    "vault-all": "A rollback you never practised",
}
BOOK = "graph/pages/The Lighthouse Keeper's Almanac (highlights).md"
ARTICLE = "graph/pages/Small Batches, Quiet Releases (highlights).md"
PLAIN = "graph/pages/Tide Pools.md"
# a highlight's location link: Kindle, Reader, tweet
LOCATION = re.compile(
    r"\((https://(?:readwise\.io/to_kindle|read\.readwise\.io/read/|twitter\.com/)[^)\s]*)\)"
)
NEW_BOOK = (
    "The fog horn is a promise kept in the worst weather.",
    "https://readwise.io/to_kindle?action=open&asin=B0LIGHT042&location=512",
)
NEW_ARTICLE = (
    "Release notes are written for the person on call, not for the launch.",
    "https://read.readwise.io/read/01hsmallbatch0000000000004",
)

Snapshot = dict[str, tuple[bytes, int]]


@pytest.fixture
def upgraded() -> Iterator[Path]:
    """The 0.1.0 fixture at FIXED_ROOT, every file's mtime as 0.1.0 left it."""
    if not (FIXTURE / "state-all" / "state.sqlite3").exists():
        pytest.fail("tests/data/state-0.1.0 is incomplete (make_state_fixture.py)")
    try:
        lock = FIXED_ROOT.with_name(FIXED_ROOT.name + ".lock").open("w")
    except OSError as exc:
        pytest.skip(f"cannot use {FIXED_ROOT}: {exc}")
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(FIXED_ROOT, ignore_errors=True)
        for part in PARTS:
            shutil.copytree(FIXTURE / part, FIXED_ROOT / part)
        for vault in VAULTS:
            (FIXED_ROOT / vault / ".obsidian").mkdir(exist_ok=True)  # git keeps no empty folder
        stamps: dict[str, int] = json.loads((FIXTURE / "mtimes.json").read_text())
        for rel, mtime_ns in stamps.items():
            os.utime(FIXED_ROOT / rel, ns=(mtime_ns, mtime_ns))
        try:
            yield FIXED_ROOT
        finally:
            shutil.rmtree(FIXED_ROOT, ignore_errors=True)


def sync(root: Path, vault: str) -> int:
    state, include = VAULTS[vault]
    args = ["once", str(root / "graph"), str(root / vault), "--state-dir", str(root / state)]
    return main([*args, "--include", include, *(["--into", ""] if include == "all" else []), "-q"])


def snapshot(vault: Path) -> Snapshot:
    return {
        p.relative_to(vault).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(vault.rglob("*"))
        if p.is_file()
    }


def changed(before: Snapshot, after: Snapshot) -> set[str]:
    return {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}


def note_with(vault: Path, needle: str) -> list[str]:
    return [
        p.relative_to(vault).as_posix()
        for p in sorted(vault.rglob("*.md"))
        if needle in p.read_text(encoding="utf-8")
    ]


def append_highlight(page: Path, text: str, url: str, link: str) -> None:
    """What the Readwise plugin does on a later sync: a new header block and its highlight."""
    with page.open("a", encoding="utf-8") as out:
        out.write(
            f"- New highlights added [[Mar 16th, 2024]] at 7:05 PM\n\t- {text} ([{link}]({url}))\n"
        )


def added_lines(old: bytes, new: bytes) -> list[str]:
    """The lines of ``new`` that are not in ``old``; fails when a line of ``old`` is gone."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(
        a=old.decode().splitlines(), b=new.decode().splitlines(), autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), (tag, matcher.a[i1:i2], matcher.b[j1:j2])
        if tag == "insert":
            out.extend(matcher.b[j1:j2])
    return out


def assert_deleted_stays_deleted(root: Path) -> None:
    for vault, needle in DELETED.items():
        assert note_with(root / vault, needle) == [], f"{vault}: {needle!r} came back"


def test_a_state_from_0_1_0_keeps_working(upgraded: Path) -> None:
    root = upgraded
    # the fixture is what it claims to be: the deleted highlights are gone, the others there
    for vault, needle in DELETED.items():
        assert note_with(root / vault, needle) == []
        assert note_with(root / vault, "Quiet releases are the ones nobody writes") != []

    # 1. the upgrade: the first run of today's syncd changes no note (bytes and mtimes), and
    # the highlight the user deleted under 0.1.0 does not come back (rules 4, 8)
    before = {vault: snapshot(root / vault) for vault in VAULTS}
    for vault in VAULTS:
        assert sync(root, vault) == 0
    assert {vault: changed(before[vault], snapshot(root / vault)) for vault in VAULTS} == {
        "vault-readwise": set(),
        "vault-all": set(),
    }
    assert_deleted_stays_deleted(root)

    # 2. Readwise appends a highlight to the book and one to the article: exactly those
    # arrive, in both vaults, and only the two notes change (rule 2); the book holds the
    # highlight deleted in vault-readwise, the article the one deleted in vault-all
    append_highlight(root / BOOK, *NEW_BOOK, "Location 512")
    append_highlight(root / ARTICLE, *NEW_ARTICLE, "View Highlight")
    before = {vault: snapshot(root / vault) for vault in VAULTS}
    for vault in VAULTS:
        assert sync(root, vault) == 0
        after = snapshot(root / vault)
        book = note_with(root / vault, "The lamp is the easy part")
        article = note_with(root / vault, "Ship the smallest change")
        assert len(book) == len(article) == 1
        assert changed(before[vault], after) == {book[0], article[0]}
        for note, (text, url) in ((book[0], NEW_BOOK), (article[0], NEW_ARTICLE)):
            new = after[note][0].decode()
            added = added_lines(before[vault][note][0], after[note][0])
            assert [LOCATION.findall(line) for line in added if LOCATION.search(line)] == [[url]]
            assert new.count(text) == 1 and new.count(url) == 1
    assert_deleted_stays_deleted(root)

    # 3. include: all: a plain page the user changed in Logseq rewrites its note (rule 7),
    # and nothing else changes; the readwise vault does not hold plain pages
    plain = root / PLAIN
    plain.write_text(
        plain.read_text().replace("boots, a jar, patience", "boots, a jar, a tide table")
    )
    before = {vault: snapshot(root / vault) for vault in VAULTS}
    for vault in VAULTS:
        assert sync(root, vault) == 0
    assert changed(before["vault-readwise"], snapshot(root / "vault-readwise")) == set()
    assert changed(before["vault-all"], snapshot(root / "vault-all")) == {"Tide Pools.md"}
    tide = (root / "vault-all" / "Tide Pools.md").read_text()
    assert "boots, a jar, a tide table" in tide and "patience" not in tide
    assert_deleted_stays_deleted(root)

    # and the run after that changes nothing (rule 8)
    before = {vault: snapshot(root / vault) for vault in VAULTS}
    for vault in VAULTS:
        assert sync(root, vault) == 0
        assert changed(before[vault], snapshot(root / vault)) == set()
