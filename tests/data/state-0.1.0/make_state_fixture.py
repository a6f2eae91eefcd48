#!/usr/bin/env python3
"""Build the state-compatibility fixture with the syncd RELEASE 0.1.0 (commit 3383b4b).

This script was run once, with syncd installed (not editable) from commit 3383b4b (syncd
0.1.0, the release before issue 11) into a venv of its own::

    R=/tmp/syncd-0.1.0; mkdir $R && git archive 3383b4b syncd pyproject.toml | tar -x -C $R
    python3 -m venv $R/.venv && $R/.venv/bin/pip install -q $R
    $R/.venv/bin/python tests/data/state-0.1.0/make_state_fixture.py

It runs ``python -m syncd once`` of whatever syncd the given interpreter imports (the
release), so do not run it again with a later syncd: the point of the fixture is that the
state directories were written by 0.1.0. ``tests/test_state_compat.py`` reads the result.

What it does, as a user of 0.1.0 would:

1. writes a small Logseq graph (own words): three Readwise pages in the Readwise plugin's
   default layout (a Kindle book with chapter headings, tags and a note; an article with
   View Highlight links and document tags; a tweet thread), two plain pages and a journal;
2. ``syncd once GRAPH vault-readwise --state-dir state-readwise --include readwise`` and
   ``syncd once GRAPH vault-all --state-dir state-all --include all --into ""``;
3. deletes one highlight bullet (with its child blocks) from a note in each vault: the
   book's "salt fog" highlight in vault-readwise, the article's "rollback" highlight in
   vault-all;
4. runs both ``syncd once`` again (0.1.0 records the deletion in its state);
5. checkpoints the SQLite WAL so each ``state.sqlite3`` is self-contained, and writes
   ``mtimes.json`` (every graph and vault file's mtime in ns), since git does not keep
   mtimes and syncd's state records them. (Empty folders, the vaults' ``.obsidian/``, are
   not kept by git either: the test makes them again.)

The graph, vaults and states are built in FIXED_ROOT and then copied here: 0.1.0 records the
graph's absolute path in the state of an ``include: all`` source, so the test puts the copy
back at FIXED_ROOT, where an upgrading user's files would still be.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXED_ROOT = Path("/tmp/syncd-state-0.1.0")
PARTS = ("graph", "vault-readwise", "vault-all", "state-readwise", "state-all")

CONFIG_EDN = """\
{:meta/version 1
 :preferred-format "Markdown"
 :journal/page-title-format "MMM do, yyyy"
 :journal/file-name-format "yyyy_MM_dd"
 :file/name-format :triple-lowbar}
"""

KINDLE = "https://readwise.io/to_kindle?action=open&asin=B0LIGHT042&location="
BOOK = f"""\
title:: The Lighthouse Keeper's Almanac (highlights)
author:: [[Mirela Osterhout]]
full-title:: "The Lighthouse Keeper's Almanac"
category:: #books
![](https://m.media-amazon.com/images/I/LK42almanacX._SY160.jpg)

- Highlights first synced by [[Readwise]] [[Mar 9th, 2024]]
\t- 1. Weather
\t\t- The lamp is the easy part; the log book is the job. ([Location 112]({KINDLE}112))
\t\t- Salt fog eats brass faster than any storm does. ([Location 140]({KINDLE}140))
\t\t\t- **Tags**: #[[maintenance]]
\t\t\t- **Note**: Check the railings on the east stair.
\t- 2. Visitors
\t\t- Every visitor asks how lonely it is, and nobody asks how loud. ([Location 305]({KINDLE}305))
\t\t- A keeper learns the names of ships before those of neighbours. ([Location 341]({KINDLE}341))
"""

ARTICLE = """\
title:: Small Batches, Quiet Releases (highlights)
author:: [[harbor-notes.example]]
full-title:: "Small Batches, Quiet Releases"
category:: #articles
url:: https://harbor-notes.example/small-batches
tags:: #[[release engineering]] #[[habits]]

- Highlights first synced by [[Readwise]] [[Mar 9th, 2024]]
\t- Ship the smallest change that still teaches you something. ([View Highlight](https://read.readwise.io/read/01hsmallbatch0000000000001))
\t- A rollback you never practised is a rumour, not a plan. ([View Highlight](https://read.readwise.io/read/01hsmallbatch0000000000002))
\t\t- **Note**: Practise it on Fridays.
\t- Quiet releases are the ones nobody writes a postmortem about. ([View Highlight](https://read.readwise.io/read/01hsmallbatch0000000000003))
"""

TWEETS = """\
title:: Compost Is a Slow Argume... (highlights)
author:: [[@gardenledger on Twitter]]
full-title:: "Compost Is a Slow Argume..."
category:: #tweets
url:: https://twitter.com/gardenledger/status/1766000000000000001

- Highlights first synced by [[Readwise]] [[Mar 9th, 2024]]
\t- Compost is a slow argument with your kitchen, and the kitchen always wins eventually. 1/ ([View Tweet](https://twitter.com/gardenledger/status/1766000000000000001))
\t\t- **Note**: Thread
\t- Turn it when it smells sweet, leave it when it smells like rain. 2/ ([View Tweet](https://twitter.com/gardenledger/status/1766000000000000002))
"""

TIDE_POOLS = """\
tags:: coast, [[field notes]]

- Tide pools are best two hours after low water.
\t- See [[The Lighthouse Keeper's Almanac (highlights)]] for the keeper's view.
- Things to bring: boots, a jar, patience. #checklist
"""

RELEASE_PLAN = """\
- Cut the release on Thursdays only.
\t- Inspired by [[Small Batches, Quiet Releases (highlights)]]
- Owner: [[Ines Halvorsen]]
"""

JOURNAL = """\
- Walked to the point and back; wind from the west.
- Read more of [[The Lighthouse Keeper's Almanac (highlights)]] #reading
"""

# the highlight deleted by the "user" in each vault (a unique part of its text)
DELETED = {
    "vault-readwise": "Salt fog eats brass",
    "vault-all": "A rollback you never practised",
}


def write_graph(graph: Path) -> None:
    pages = graph / "pages"
    pages.mkdir(parents=True)
    (graph / "journals").mkdir()
    (graph / "logseq").mkdir()
    (graph / "logseq" / "config.edn").write_text(CONFIG_EDN)
    (pages / "The Lighthouse Keeper's Almanac (highlights).md").write_text(BOOK)
    (pages / "Small Batches, Quiet Releases (highlights).md").write_text(ARTICLE)
    (pages / "Compost Is a Slow Argume... (highlights).md").write_text(TWEETS)
    (pages / "Readwise.md").write_text(
        "- On [[Mar 9th, 2024]] at 8:02 AM Readwise synced 9 highlights from 3 books.\n"
    )
    (pages / "Tide Pools.md").write_text(TIDE_POOLS)
    (pages / "Release Plan.md").write_text(RELEASE_PLAN)
    (graph / "journals" / "2024_03_09.md").write_text(JOURNAL)


def syncd_once(root: Path, vault: str, state: str, include: str) -> None:
    cmd = [sys.executable, "-m", "syncd", "once", "graph", vault, "--state-dir", state]
    cmd += ["--include", include] + (["--into", ""] if include == "all" else [])
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}")


def delete_highlight(vault: Path, needle: str) -> Path:
    """Remove the bullet holding ``needle`` and its child blocks, as a user would."""
    (note,) = [p for p in vault.rglob("*.md") if needle in p.read_text(encoding="utf-8")]
    lines = note.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if needle in line)
    depth = len(lines[start]) - len(lines[start].lstrip("\t"))
    end = start + 1
    while end < len(lines) and len(lines[end]) - len(lines[end].lstrip("\t")) > depth:
        end += 1
    note.write_text("".join(lines[:start] + lines[end:]), encoding="utf-8")
    return note


def checkpoint(state: Path) -> None:
    for db in state.glob("*.sqlite3"):
        conn = sqlite3.connect(db)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        for extra in ("-wal", "-shm"):
            side = db.with_name(db.name + extra)
            if side.exists():
                if side.stat().st_size and extra == "-wal":
                    raise SystemExit(f"{side} not empty after the checkpoint")
                side.unlink()


def mtimes(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for part in ("graph", "vault-readwise", "vault-all")
        for p in sorted((root / part).rglob("*"))
        if p.is_file()
    }


def main() -> int:
    shutil.rmtree(FIXED_ROOT, ignore_errors=True)
    FIXED_ROOT.mkdir(parents=True)
    write_graph(FIXED_ROOT / "graph")
    runs = (("vault-readwise", "state-readwise", "readwise"), ("vault-all", "state-all", "all"))
    for vault, state, include in runs:
        (FIXED_ROOT / vault / ".obsidian").mkdir(parents=True)
        syncd_once(FIXED_ROOT, vault, state, include)
    for vault, needle in DELETED.items():
        delete_highlight(FIXED_ROOT / vault, needle)
    for vault, state, include in runs:
        syncd_once(FIXED_ROOT, vault, state, include)
    for vault, needle in DELETED.items():
        for note in (FIXED_ROOT / vault).rglob("*.md"):
            if needle in note.read_text(encoding="utf-8"):
                raise SystemExit(f"0.1.0 brought back the deleted highlight in {note}")
    for _vault, state, _include in runs:
        checkpoint(FIXED_ROOT / state)  # the state folder's (empty) syncd.lock stays, as for a user
    for part in PARTS:
        shutil.rmtree(HERE / part, ignore_errors=True)
        shutil.copytree(FIXED_ROOT / part, HERE / part, symlinks=True)
    (HERE / "mtimes.json").write_text(json.dumps(mtimes(FIXED_ROOT), indent=1) + "\n")
    shutil.rmtree(FIXED_ROOT)
    print(f"fixture written to {HERE} with syncd from {Path(sys.executable).parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
