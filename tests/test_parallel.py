"""Helper processes (syncd.parallel, the executor) change nothing but speed: with and
without them, and with helpers whose every plan is refused, a run writes the same notes and
records the same state, first run and later ones, in both include modes. (The equivalence
test of the executor's fast path; tests/test_helpers_same_notes.py runs the command line.)"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd import parallel
from syncd.config import Include, config_for_paths
from syncd.parallel import MIN_PAGES, HelperPool, worker_count
from syncd.plan import PagePlan, PlanTask
from syncd.state import StateStore
from syncd.sync import SyncEngine
from syncd.writer import RunReport
from tests.conftest import DATA

SAMPLE = DATA / "logseq-graph"
READWISE = DATA / "readwise" / "v1" / "pages"
CLOCK = datetime(2024, 9, 1, 12, 30, 45, tzinfo=UTC)
MTIME = 1_700_000_000_000_000_000

pytestmark = pytest.mark.skipif(
    threading.active_count() != 1, reason="helpers fork only in a single-threaded process"
)


def make_graph(root: Path) -> Path:
    """The sample graph, the Readwise sample pages and generated pages that link to each
    other by name, alias and block ref; one whose id:: sits in a code block (its pass-1 facts
    are corrected by the full parse, which replaces the index), a page Readwise by its header
    line only, a journal, a page that is not UTF-8."""
    graph = root / "graph"
    shutil.copytree(SAMPLE, graph)
    pages = graph / "pages"
    for path in READWISE.iterdir():
        shutil.copy(path, pages / path.name)
    (pages / "Zzz code id.md").write_text(
        "- a block\n- ```\n  id:: 11111111-2222-3333-4444-555555555555\n  ```\n"
        "- see [[Topic 3]] and ((66666666-7777-8888-9999-000000000003))\n"
    )
    for n in range(MIN_PAGES + 10):
        lines = [f"alias:: Topic {n} alias", "tags:: generated", ""]
        lines.append(f"- Topic {n} links [[Topic {(n + 1) % 80}]] and [[Topic {n // 2} alias]]")
        lines.append(f"  id:: 66666666-7777-8888-9999-{n:012d}")
        lines.append(f"- refers to ((66666666-7777-8888-9999-{(n * 7) % 80:012d}))")
        lines.append("\t- TODO a task [[Aug 1st, 2023]]")
        (pages / f"Topic {n}.md").write_text("\n".join(lines) + "\n")
    for n in range(12):
        lines = [
            f"title:: Generated {n} (highlights)",
            f"author:: [[Author {n % 3}]]",
            f"category:: #{('books', 'articles', 'tweets')[n % 3]}",
            f"url:: https://example.org/doc/{n}",
            "",
            "- Highlights first synced by [[Readwise]] [[Aug 1st, 2023]]",
            f"\t- Highlight of {n}, see [[Topic {n}]]. ([View Highlight](https://r.example/{n}))",
        ]
        (pages / f"Generated {n} (highlights).md").write_text("\n".join(lines) + "\n")
    (pages / "Header only.md").write_text(
        "- Highlights first synced by [[Readwise]] [[Aug 1st, 2023]]\n\t- just a highlight\n"
    )
    (pages / "Latin1.md").write_bytes(b"- caf\xe9\n")
    (graph / "journals").mkdir(exist_ok=True)
    (graph / "journals" / "2023_08_01.md").write_text(
        "- met [[Topic 1]] ((66666666-7777-8888-9999-000000000002))\n"
    )
    for path in graph.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(MTIME, MTIME))  # the same stamps in every copy
    return graph


def run(graph: Path, vault: Path, state: Path, helpers: int, include: Include) -> RunReport:
    (vault / ".obsidian").mkdir(parents=True, exist_ok=True)
    config = config_for_paths(graph, vault, include=include, state_dir=state)
    with StateStore.open(state / "state.sqlite3") as store:
        engine = SyncEngine(config, store, clock=lambda: CLOCK, log_report=False, workers=helpers)
        return engine.scan()


def vault_files(vault: Path) -> dict[str, bytes]:
    return {
        p.relative_to(vault).as_posix(): p.read_bytes()
        for p in sorted(vault.rglob("*"))
        if p.is_file()
    }


def state_rows(state: Path, root: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, without the run's timestamps, ``root`` written as ROOT."""
    con = sqlite3.connect(state / "state.sqlite3")
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        rows = {}
        for table in tables:
            got = sorted(
                (
                    tuple(v.replace(str(root), "ROOT") if isinstance(v, str) else v for v in r)
                    for r in con.execute(f"SELECT * FROM {table}")
                ),
                key=repr,
            )
            if table == "meta":
                got = [r for r in got if not str(r[0]).startswith("last_")]
            if table == "failures":
                got = sorted((r[1:4] for r in got), key=repr)
            rows[table] = got
        return rows
    finally:
        con.close()


def grow(graph: Path) -> None:
    """New highlights on some Readwise pages, a line more on many pages, an alias renamed,
    a page gone, a new page."""
    pages = graph / "pages"
    for n in (1, 4, 7):
        path = pages / f"Generated {n} (highlights).md"
        with path.open("a") as handle:
            handle.write("- New highlights added [[Nov 1st, 2026]] at 9:15 AM\n")
            handle.write(f"\t- Added later to {n}. ([View Highlight](https://r.example/{n}/new))\n")
    for n in range(MIN_PAGES + 10):
        with (pages / f"Topic {n}.md").open("a") as handle:
            handle.write(f"- one more line, see [[Topic {n + 1}]]\n")
    topic = pages / "Topic 5.md"
    topic.write_text(topic.read_text().replace("Topic 5 alias", "Fifth topic"))
    (pages / "Topic 9.md").unlink()
    (pages / "Brand new.md").write_text("- links [[Topic 2]] and [[Fifth topic]]\n")
    for path in pages.iterdir():
        os.utime(path, ns=(MTIME, MTIME + 1_000_000_000))


def two_runs(
    tmp_path: Path, helpers: int, name: str, include: Include
) -> list[tuple[dict[str, bytes], object]]:
    """A first run, a second (nothing changed), a third after ``grow``: vault and state.
    Each run's (pages planned by helpers, used as planned) goes to ``USED``."""
    root = tmp_path / name
    graph = make_graph(root)
    vault, state = root / "vault", root / "state"
    out = []
    for step in range(3):
        if step == 2:
            grow(graph)
        with _count_used() as used:
            report = run(graph, vault, state, helpers, include)
        USED.append(used)
        if step == 1:
            assert report.changed == []
        out.append((vault_files(vault), state_rows(state, root)))
    return out


USED: list[list[tuple[int, int]]] = []


@contextlib.contextmanager
def _count_used() -> Iterator[list[tuple[int, int]]]:
    """(planned, used) from the executor's debug line, while the block runs."""
    found: list[tuple[int, int]] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            match = re.match(r"helpers: (\d+) pages planned, (\d+) used", record.getMessage())
            if match:
                found.append((int(match.group(1)), int(match.group(2))))

    logger = logging.getLogger("syncd.parallel")
    handler, level = Catch(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield found
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


MODES = pytest.mark.parametrize("include", [Include.ALL, Include.READWISE], ids=str)


@MODES
def test_helpers_change_nothing_but_speed(tmp_path: Path, include: Include) -> None:
    alone = two_runs(tmp_path, 0, "alone", include)
    USED.clear()
    helped = two_runs(tmp_path, 2, "helped", include)
    for (files_a, rows_a), (files_h, rows_h) in zip(alone, helped, strict=True):
        assert files_h == files_a
        assert rows_h == rows_a
    first, second, third = USED
    # every page of the first run is planned by a helper and its plan used, but for the page
    # that is not UTF-8: the main process plans it again and reports it; the plain pages
    # whose notes depend on what the run added to the index are converted again after the
    # pass, by helpers forked then (include: all; a Readwise note is never converted again);
    # the second run plans nothing; in the third the Readwise pages that grew are merged
    # into their notes' text as the helpers got it
    (planned, used), *again = first
    assert planned >= MIN_PAGES and used == planned - 1
    if include is Include.ALL:
        [(planned, used)] = again
        assert planned >= MIN_PAGES and used == planned
    else:
        assert again == []
    assert second == []
    [(planned, used)] = third
    assert planned >= MIN_PAGES and used == planned - 1


def refuse_every_plan(tasks: list[PlanTask]) -> list[PagePlan]:
    """What a helper sends when every page went wrong there."""
    return [PagePlan(task.index, "error") for task in tasks]


@MODES
def test_plans_that_cannot_be_used_are_made_again_by_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, include: Include
) -> None:
    """Helpers whose every plan is refused: the pages are done as without helpers."""
    alone = two_runs(tmp_path, 0, "alone", include)
    monkeypatch.setattr(parallel, "_plan_pages", refuse_every_plan)  # forked as is
    USED.clear()
    refused = two_runs(tmp_path, 2, "refused", include)
    for (files_a, rows_a), (files_r, rows_r) in zip(alone, refused, strict=True):
        assert files_r == files_a
        assert rows_r == rows_a
    for planned, used in USED[0]:  # the pass, and (include: all) the pages converted again
        assert planned >= MIN_PAGES and used == 0
    assert len(USED[0]) == (2 if include is Include.ALL else 1)


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"SYNCD_HELPERS": "0"}, 0), ({"SYNCD_HELPERS": "3"}, 3), ({"SYNCD_HELPERS": "99"}, 8)],
)
def test_helper_count_from_the_environment(env: dict[str, str], expected: int) -> None:
    assert worker_count(env) == expected


def test_helper_count_by_cpus() -> None:
    count = worker_count({})
    cpus = len(os.sched_getaffinity(0))
    assert count == (0 if cpus == 1 else 2)


def square_or_die(tasks: list[int]) -> list[Squared]:
    """Work whose helper is killed on the third chunk (as by SIGKILL: no exception, no
    result)."""
    if any(task >= 2 * CHUNK for task in tasks):
        os._exit(3)
    return [Squared(task, task * task) for task in tasks]


CHUNK = 8


class Squared:
    def __init__(self, index: int, value: int) -> None:
        self.index = index
        self.value = value


def test_a_helper_that_dies_turns_the_helpers_off_instead_of_hanging() -> None:
    """A helper killed mid-task (OOM killer, say): the engine gets None for the rest and
    does those pages itself; nothing waits for the lost task."""
    helpers: HelperPool[int, Squared] = HelperPool(2, iter(range(10 * CHUNK)), square_or_die, CHUNK)
    try:
        got = [helpers.take(i) for i in range(10 * CHUNK)]
    finally:
        helpers.close()
    # results that came back before the helper died are used; from the first lost one on,
    # the engine is told to do the pages itself (which chunk is lost first is a race)
    lost = got.index(None)
    assert lost <= 2 * CHUNK
    assert all(p is not None and p.value == i * i for i, p in enumerate(got[:lost]))
    assert all(p is None for p in got[lost:])


def test_tasks_and_plans_travel_as_tuples_of_their_fields(tmp_path: Path) -> None:
    """What goes between the processes pickles as its class and field values (the C pickler:
    a slots dataclass otherwise pickles through Python code) and comes back equal."""
    import pickle
    import pickletools

    from syncd.pipeline.page import FoundFile
    from syncd.plan import Prepared

    found = FoundFile("pages/a.md", str(tmp_path / "a.md"), 3, MTIME, "page")
    prepared = Prepared("url:x", "T", "Books", "T", False, True, b"x", "0" * 64, 1, 0, b"z")
    sent = [
        PlanTask(4, found, "ab", "url:x", "note", b"seen"),
        PagePlan(4, "ok", 3, MTIME, "ab", "readwise", "T", aliases=("t",), readwise=prepared),
    ]
    for value in sent:
        assert value.__reduce__()[1][0] == 4  # the fields, not a Python-level state
    data = pickle.dumps(sent)
    assert "BUILD" not in {op.name for op, _arg, _pos in pickletools.genops(data)}
    assert pickle.loads(data) == sent
