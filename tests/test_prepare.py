"""Helper processes (syncd.prepare on syncd.helper_pool) change nothing but speed: with and
without them a run writes the same notes and records the same state, including every case
where the engine has to drop a helper's result and do the page itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from syncd import helper_pool, prepare
from syncd.config import config_for_paths
from syncd.convert.context import readwise_context
from syncd.helper_pool import HelperPool, helper_count
from syncd.prepare import (
    PageTask,
    Prepared,
    SourceParams,
    prepare_page,
)
from syncd.state import StateStore, unpack_highlights
from syncd.sync import RunReport, SyncEngine

DATA = Path(__file__).parent / "data" / "readwise"
PAGES = 90  # more than syncd.helper_pool.MIN_PAGES changed pages, so `syncd once` uses helpers


def make_graph(root: Path, version: str = "v1", extra: int = PAGES) -> Path:
    """The v1 (or v2) sample pages plus ``extra`` generated Readwise pages, a duplicate
    document, a page with NUL bytes and one whose title would leave the vault."""
    pages = root / "pages"
    shutil.copytree(DATA / version / "pages", pages, dirs_exist_ok=True)
    grow = version == "v2"
    for n in range(extra):
        lines = [
            f"title:: Generated {n} (highlights)",
            f"author:: [[Author {n % 7}]]",
            f'full-title:: "Generated {n}"',
            f"category:: #{('books', 'articles', 'tweets', 'podcasts')[n % 4]}",
            f"url:: https://example.org/doc/{n}",
            "",
            "- Highlights first synced by [[Readwise]] [[Aug 1st, 2023]]",
        ]
        for h in range(1 + n % 5):
            lines.append(
                f"\t- Highlight {h} of {n}, see [[Topic {h}]]. ([View Highlight](https://r.example/{n}/{h}))"
            )
            if h % 2:
                lines.append(f"\t\t- **Note**: a note on {h}")
        if grow and n % 3 == 0:
            lines.append("- New highlights added [[Nov 1st, 2026]] at 9:15 AM")
            lines.append(f"\t- Added later to {n}. ([View Highlight](https://r.example/{n}/new))")
        (pages / f"Generated {n} (highlights).md").write_text("\n".join(lines) + "\n")
    # the same document twice: the second page must merge into the first page's note
    (pages / "Generated 0 again (highlights).md").write_text(
        (pages / "Generated 0 (highlights).md").read_text().replace("Highlight 0 of 0", "Other")
    )
    (pages / "Nul (highlights).md").write_bytes(
        b"title:: Nul (highlights)\ncategory:: #books\n\x00\n"
    )
    (pages / "Escape (highlights).md").write_text(
        "title:: ../Escape (highlights)\ncategory:: #articles\nauthor:: [[X]]\n\n"
        "- Highlights first synced by [[Readwise]] [[May 20th, 2024]]\n"
        "\t- A line. ([View Highlight](https://read.readwise.io/read/esc1))\n"
    )
    return root


def run_once(
    graph: Path, vault: Path, state: Path, helpers: int
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SYNCD_HELPERS=str(helpers))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "syncd",
            "once",
            str(graph),
            str(vault),
            "--state-dir",
            str(state),
            "-v",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".obsidian" not in p.parts
    }


def state_rows(state: Path) -> dict[str, object]:
    with StateStore.open(state / "state.sqlite3") as store:
        (vault,) = {name for (name,) in store._all("SELECT DISTINCT vault FROM sources", ())}
        documents = store.documents(vault)
        return {
            "sources": store.all_sources(vault),
            "documents": documents,
            "highlights": {doc: store.seen_highlights(vault, doc) for doc in documents},
        }


def failures(stderr: str) -> list[str]:
    return sorted(line.split(" ERROR ", 1)[1] for line in stderr.splitlines() if " ERROR " in line)


def test_helpers_write_the_same_notes_and_state(tmp_path: Path) -> None:
    graph = make_graph(tmp_path / "graph")
    results = {}
    for helpers in (0, 2):
        vault, state = tmp_path / f"h{helpers}" / "vault", tmp_path / f"h{helpers}" / "state"
        vault.parent.mkdir()
        first = run_once(graph, vault, state, helpers)
        assert first.returncode == 1, first.stderr  # the two broken pages
        results[helpers] = [first]
    assert "helpers:" not in results[0][0].stderr
    used = re.search(r"helpers: (\d+) pages prepared, (\d+) used", results[2][0].stderr)
    assert used is not None, results[2][0].stderr
    assert int(used.group(1)) == len(list((graph / "pages").iterdir()))
    assert int(used.group(2)) >= PAGES
    # v2 of the sample and new highlights on a third of the generated pages: merges
    make_graph(graph, "v2")
    for helpers in (0, 2):
        vault, state = tmp_path / f"h{helpers}" / "vault", tmp_path / f"h{helpers}" / "state"
        # the user edits a note and deletes another one between the runs
        edited = vault / "Readwise" / "Books" / "Generated 4.md"
        edited.write_text(edited.read_text().replace("Highlight 0 of 4", "Highlight 0 of 4 (mine)"))
        (vault / "Readwise" / "Articles" / "Generated 1.md").unlink()
        results[helpers].append(run_once(graph, vault, state, helpers))
    used = re.search(r"helpers: (\d+) pages prepared, (\d+) used", results[2][1].stderr)
    assert used is not None and int(used.group(2)) > 0, results[2][1].stderr
    assert tree(tmp_path / "h0" / "vault") == tree(tmp_path / "h2" / "vault")
    assert state_rows(tmp_path / "h0" / "state") == state_rows(tmp_path / "h2" / "state")
    for serial, helped in zip(results[0], results[2], strict=True):
        assert serial.returncode == helped.returncode == 1
        assert failures(serial.stderr) == failures(helped.stderr) != []
    notes = tree(tmp_path / "h2" / "vault")
    assert "Highlight 0 of 4 (mine)" in notes["Readwise/Books/Generated 4.md"].decode()
    assert "Added later to 3." in notes["Readwise/Podcasts/Generated 3.md"].decode()
    assert "Readwise/Articles/Generated 1.md" not in notes  # deleted: no new highlight for it


def test_without_helpers_nothing_changes_either(tmp_path: Path) -> None:
    """SYNCD_HELPERS=0 switches them off; a second run with nothing changed starts none."""
    graph = make_graph(tmp_path / "graph")
    vault, state = tmp_path / "vault", tmp_path / "state"
    assert run_once(graph, vault, state, 0).returncode == 1
    again = run_once(graph, vault, state, 2)
    assert "helpers:" not in again.stderr  # nothing to read: no helper started
    assert "changed 0 notes" in again.stderr


def test_prepare_page_outcomes(tmp_path: Path) -> None:
    params = SourceParams("triple-lowbar", readwise_context(()), 1 << 20, True)
    page = make_graph(tmp_path / "graph", extra=1) / "pages" / "Generated 0 (highlights).md"
    made = prepare_page(params, PageTask(3, str(page), None))
    assert made.kind == "readwise" and made.index == 3
    assert made.doc_id == "url:https://example.org/doc/0" and made.folder == "Books"
    assert not made.hinted and made.changed and made.data and made.packed
    same = prepare_page(params, PageTask(4, str(page), made.sha256))
    assert same.kind == "same" and not same.data
    # merging into the note text the engine found: nothing new
    recorded = unpack_highlights(made.packed)
    hinted = prepare_page(
        params, PageTask(5, str(page), None, made.doc_id, made.data.decode(), recorded)
    )
    assert hinted.hinted and not hinted.changed and hinted.data == made.data
    assert hinted.record == {} and hinted.added == 0 and hinted.packed == b""  # nothing new
    # a hint for another document is not used
    other = prepare_page(params, PageTask(6, str(page), None, "url:other", "x", {}))
    assert not other.hinted and other.data == made.data
    assert prepare_page(params, PageTask(7, str(tmp_path / "gone.md"), None)).kind == "gone"
    readme = tmp_path / "graph" / "pages" / "Readwise.md"
    assert prepare_page(params, PageTask(8, str(readme), None)).kind == "other"
    nul = tmp_path / "graph" / "pages" / "Nul (highlights).md"
    assert prepare_page(params, PageTask(9, str(nul), None)).kind == "error"


def test_a_result_merged_into_another_text_is_not_used(tmp_path: Path) -> None:
    """The note changed after the page was handed out: the engine does the page itself."""
    graph = make_graph(tmp_path / "graph", extra=1)
    vault = tmp_path / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    config = config_for_paths(graph, vault, state_dir=tmp_path / "state")
    with StateStore.open_memory() as state:
        engine = SyncEngine(config, state)
        engine.scan()
        source = engine._sources[0]
        page = graph / "pages" / "Generated 0 (highlights).md"
        key = source.key(page)
        previous = state.get_source(config.vaults[0].name, key)
        assert previous is not None and previous.doc_id is not None
        stale = Prepared(
            0,
            "readwise",
            previous.size,
            previous.mtime_ns,
            previous.sha256,
            doc_id=previous.doc_id,
            title="Generated 0",
            folder="Books",
            hinted=True,  # merged into a note text the engine did not hand out
            changed=True,
            data=b"never written",
        )
        before = (vault / "Readwise" / "Books" / "Generated 0.md").read_text()
        assert not engine._use_prepared(source, key, previous, stale, RunReport())
        assert (vault / "Readwise" / "Books" / "Generated 0.md").read_text() == before
        failed = Prepared(1, "error")
        assert not engine._use_prepared(source, key, previous, failed, RunReport())


def test_a_note_edited_after_its_page_was_handed_out_keeps_the_edit(tmp_path: Path) -> None:
    """The engine does not read a hinted note again before writing the helper's merge into
    it: the write's compare-and-swap on the stamp read at hand-out catches the user's edit
    made in between, nothing is written, and the page is merged into the edited note."""
    graph = make_graph(tmp_path / "graph", extra=1)
    vault = tmp_path / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    config = config_for_paths(graph, vault, state_dir=tmp_path / "state")
    note = vault / "Readwise" / "Books" / "Generated 0.md"
    with StateStore.open_memory() as state:
        engine = SyncEngine(config, state)
        engine.scan()
        source = engine._sources[0]
        page = graph / "pages" / "Generated 0 (highlights).md"
        page.write_text(
            page.read_text()
            + "- New highlights added [[Nov 1st, 2026]] at 9:15 AM\n"
            + "\t- Added later. ([View Highlight](https://r.example/0/new))\n"
        )
        key = source.key(page)
        previous = state.get_source(source.vault_name, key)
        hint = engine.readwise_hint(source.vault_name, previous)
        assert hint is not None and hint.note == "Readwise/Books/Generated 0.md"
        params = SourceParams("triple-lowbar", readwise_context(()), 1 << 20, True)
        task = PageTask(0, str(page), None, hint.doc_id, hint.text, hint.seen)
        prep = prepare_page(params, task)
        assert prep.hinted and prep.changed and b"Added later" in prep.data

        note.write_text(note.read_text() + "\nmy own line\n")  # the user, meanwhile
        assert engine._finish_readwise(source, key, prep, hint, RunReport()) is None
        assert "my own line" in note.read_text() and "Added later" not in note.read_text()

        engine.scan()
        assert "my own line" in note.read_text() and "Added later" in note.read_text()


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"SYNCD_HELPERS": "0"}, 0), ({"SYNCD_HELPERS": "3"}, 3), ({"SYNCD_HELPERS": "99"}, 8)],
)
def test_helper_count_from_the_environment(env: dict[str, str], expected: int) -> None:
    assert helper_count(env) == expected


def test_helper_count_by_cpus() -> None:
    count = helper_count({})
    cpus = len(os.sched_getaffinity(0))
    assert count == (0 if cpus == 1 else 2)


REAL_PREPARE_PAGES = prepare.prepare_pages


def dies_on_the_third_chunk(params: SourceParams, tasks: list[PageTask]) -> list[Prepared]:
    """prepare_pages in a helper killed while on the third chunk (as by SIGKILL: no
    exception, no result)."""
    if any(t.index >= 2 * helper_pool.CHUNK for t in tasks):
        os._exit(3)
    return REAL_PREPARE_PAGES(params, tasks)


def test_a_helper_that_dies_turns_the_helpers_off_instead_of_hanging(tmp_path: Path) -> None:
    """A helper killed mid-task (OOM killer, say): the engine gets None for the rest and
    does those pages itself; nothing waits for the lost task."""
    if threading.active_count() != 1:
        pytest.skip("helpers fork only in a single-threaded process")
    graph = make_graph(tmp_path / "graph", extra=20)
    params = SourceParams("triple-lowbar", readwise_context(()), 1 << 20, True)
    pages = sorted((graph / "pages").glob("Generated *"))
    tasks = iter([(params, PageTask(i, str(path), None)) for i, path in enumerate(pages)])
    helpers = HelperPool(2, tasks, dies_on_the_third_chunk)
    try:
        got = [helpers.take(i) for i in range(len(pages))]
    finally:
        helpers.close()
    # results that came back before the helper died are used; from the first lost one on,
    # the engine is told to do the pages itself (which chunk is lost first is a race)
    lost = got.index(None)
    assert lost <= 2 * helper_pool.CHUNK
    assert all(
        p is not None and p.kind == "readwise" and p.index == i for i, p in enumerate(got[:lost])
    )
    assert all(p is None for p in got[lost:])
