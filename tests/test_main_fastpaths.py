"""The main process's fast paths against the general ones they stand for.

- ``read_page`` reads a page with ``os.read`` of its size instead of ``read(limit + 1)`` on
  a file object: same bytes, same refusals.
- ``Vault.write_atomic`` checks and opens a note's folder once per batch: a folder removed,
  moved or swapped for a symlink during the batch is treated as the general path treats it.
- ``Vault._split``'s shortcut for plain paths gives what the full checks give.
- A helper sends a new note's highlights packed; the state records what the mappings give.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.convert.context import ConvertOptions, GraphIndex, InlineContext
from syncd.errors import PageError, VaultWriteError
from syncd.logseq.dates import compile_format
from syncd.logseq.filenames import page_name_from_file
from syncd.logseq.graph_config import GraphConfig
from syncd.logseq.parser import parse_page
from syncd.merge import merge_document
from syncd.names import note_stem
from syncd.pagefile import check_page_stat, read_page
from syncd.pipeline.page import PAGE, READWISE, FoundFile, PageWork, VaultLayout
from syncd.plan import PlanContext, PlanTask, plan_page
from syncd.readwise import document_from_page, is_readwise_page
from syncd.state import SourceRecord, StateStore, pack_highlights, unpack_highlights
from syncd.vault import Vault, is_temp_file
from syncd.writer import _add_highlights, _Batch, _Pending
from tests.conftest import readwise_context

DATA = Path(__file__).parent / "data" / "readwise"


# ---------------------------------------------------------------------------- read_page


def reference_read_page(path: Path, limit: int) -> tuple[bytes, os.stat_result] | None:
    """read_page as it was (a file object's read(limit + 1))."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        check_page_stat(path, st, limit)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise PageError(f"page too large (over {limit} bytes)", path)
    return data, st


def outcome(read: object, path: Path, limit: int) -> object:
    try:
        got = read(path, limit)  # type: ignore[operator]
    except PageError as exc:
        return ("PageError", str(exc.message).split(" (")[0])
    except OSError as exc:
        return ("OSError", exc.strerror)
    if got is None:
        return None
    data, st = got
    return data, st.st_ino, st.st_size


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 3000), limit=st.integers(1, 3000))
def test_read_page_reads_what_a_file_object_reads(
    tmp_path_factory: pytest.TempPathFactory, size: int, limit: int
) -> None:
    path = tmp_path_factory.getbasetemp() / "read-page.md"
    path.write_bytes(bytes(i % 251 for i in range(size)))
    assert outcome(read_page, path, limit) == outcome(reference_read_page, path, limit)


def test_read_page_refusals_are_the_same(tmp_path: Path) -> None:
    folder = tmp_path / "folder.md"
    folder.mkdir()
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * (2 << 20))  # more than one read of 1 MiB after the first
    for path, limit in ((folder, 100), (fifo, 100), (tmp_path / "gone.md", 100), (big, 3 << 20)):
        assert outcome(read_page, path, limit) == outcome(reference_read_page, path, limit)
    assert outcome(read_page, folder, 100) == ("OSError", "Is a directory")


def test_read_page_of_a_file_that_grew_after_its_stat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes appended between the fstat and the read are read as well, up to the limit."""
    path = tmp_path / "p.md"
    path.write_bytes(b"a" * 100)
    real_fstat = os.fstat

    def fstat_then_grow(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        if stat.S_ISREG(result.st_mode) and result.st_size == 100:
            with path.open("ab") as handle:
                handle.write(b"b" * 50)
        return result

    monkeypatch.setattr(os, "fstat", fstat_then_grow)
    got = read_page(path, 1000)
    assert got is not None and got[0] == b"a" * 100 + b"b" * 50
    path.write_bytes(b"a" * 100)
    with pytest.raises(PageError, match="too large"):
        read_page(path, 120)


# --------------------------------------------------------------------------- the vault


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    root = tmp_path / "vault"
    (root / ".obsidian").mkdir(parents=True)
    return Vault(root)


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if is_temp_file(p.name)]


def test_notes_of_one_batch_share_the_checked_folder(vault: Vault) -> None:
    for n in range(5):
        vault.write_atomic(
            f"Books/n{n}.md", f"{n}\n", expected=None, create_only=True, durable=False
        )
    assert list(vault._dirs) == ["Books"]
    assert vault.exists_ci("Books", "N3.MD") and not vault.exists_ci("Books", "n9.md")
    vault.end_batch()
    assert vault._dirs == {}
    assert sorted(p.name for p in (vault.root / "Books").iterdir()) == [
        f"n{n}.md" for n in range(5)
    ]
    assert temp_files(vault.root) == []


def test_a_folder_removed_during_the_batch_is_made_again(vault: Vault) -> None:
    vault.write_atomic("Books/a.md", "a\n", expected=None, create_only=True)
    for note in (vault.root / "Books").iterdir():
        note.unlink()
    (vault.root / "Books").rmdir()
    vault.write_atomic("Books/b.md", "b\n", expected=None, create_only=True)
    assert (vault.root / "Books" / "b.md").read_text() == "b\n"


def test_a_folder_moved_during_the_batch_gets_no_more_notes(vault: Vault) -> None:
    vault.write_atomic("Books/a.md", "a\n", expected=None, create_only=True)
    (vault.root / "Books").rename(vault.root / "Moved")
    vault.write_atomic("Books/b.md", "b\n", expected=None, create_only=True)
    assert (vault.root / "Books" / "b.md").read_text() == "b\n"
    assert sorted(p.name for p in (vault.root / "Moved").iterdir()) == ["a.md"]


def test_a_folder_swapped_for_a_symlink_out_of_the_vault_is_refused(
    vault: Vault, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    vault.write_atomic("Books/a.md", "a\n", expected=None, create_only=True)
    assert not vault.exists_ci("Books", "b.md")
    (vault.root / "Books").rename(tmp_path / "away")
    (vault.root / "Books").symlink_to(outside, target_is_directory=True)
    with pytest.raises(VaultWriteError, match="outside the vault"):
        vault.write_atomic("Books/b.md", "b\n", expected=None, create_only=True)
    assert list(outside.iterdir()) == []
    assert list((tmp_path / "away").iterdir()) == [tmp_path / "away" / "a.md"]


def test_a_note_that_became_a_symlink_is_refused_as_before(vault: Vault, tmp_path: Path) -> None:
    target = tmp_path / "secret.md"
    target.write_text("secret\n")
    vault.write_atomic("Books/a.md", "a\n", expected=None, create_only=True)
    (vault.root / "Books" / "evil.md").symlink_to(target)
    with pytest.raises(VaultWriteError, match="symlink points outside"):
        vault.write_atomic("Books/evil.md", "x\n", expected=None, create_only=True)
    (vault.root / "Books" / "inside.md").symlink_to(vault.root / "Books" / "a.md")
    with pytest.raises(VaultWriteError, match="the note is a symlink"):
        vault.write_atomic("Books/inside.md", "x\n", expected=None, create_only=True)
    assert target.read_text() == "secret\n"
    assert temp_files(vault.root) == []


def test_listing_of_an_open_folder_sees_other_writers(vault: Vault) -> None:
    vault.write_atomic("Books/a.md", "a\n", expected=None, create_only=True)
    assert not vault.exists_ci("Books", "B.md")
    (vault.root / "Books" / "b.md").write_text("someone else\n")
    assert vault.exists_ci("Books", "B.md")
    vault.write_atomic("Books/c.md", "c\n", expected=None, create_only=True)
    assert vault.exists_ci("Books", "c.md") and vault.exists_ci("Books", "b.md")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab./\\\0 ", max_size=12))
def test_split_shortcut_is_the_general_path(rel: str) -> None:
    vault = Vault(Path("/nonexistent-vault"))

    def general(text: str) -> object:
        try:
            # the checks below the shortcut, run on their own
            if not text or "\0" in text or "\\" in text or text.startswith("/"):
                raise VaultWriteError("refused", Path("/"))
            parts = [p for p in text.split("/") if p not in ("", ".")]
            if ".." in parts or not parts:
                raise VaultWriteError("refused", Path("/"))
            return parts
        except VaultWriteError:
            return "refused"

    try:
        got: object = vault._split(rel)
    except VaultWriteError:
        got = "refused"
    assert got == general(rel)


# --------------------------------------------------------------------------- helpers' results


def test_what_a_helper_sends_is_the_merge_result(tmp_path: Path) -> None:
    """What a helper plans for a Readwise page's new note is merge_document(None, doc, {})'s
    result, as the engine needs it: UTF-8 bytes, their hash, the file stem, counts, packed
    highlights; a plain page of an include: readwise source gets no note."""
    graph = GraphConfig()
    work = PageWork(
        graph=graph,
        journal_title=compile_format(graph.journal_title_format),
        repair_mojibake=True,
        max_page_bytes=1 << 20,
        into="",
        layout=VaultLayout(),
        kinds=frozenset({READWISE}),
    )
    readwise = readwise_context(InlineContext().journal_title_formats, graph_config=graph)
    ctx = PlanContext(work, GraphIndex(), ConvertOptions(), InlineContext(), readwise)
    pages = sorted((DATA / "v1" / "pages").glob("*.md"))
    readwise = 0
    for index, page in enumerate(pages):
        found = FoundFile(f"pages/{page.name}", str(page), 0, 0, PAGE)
        plan = plan_page(ctx, PlanTask(index, found), merge=True)
        assert plan.status == "ok" and plan.index == index and plan.doc is None
        parsed = parse_page(page.read_text("utf-8"))
        if not is_readwise_page(parsed):
            assert plan.kind == PAGE and not plan.planned and plan.readwise is None
            continue
        readwise += 1
        got = plan.readwise
        assert got is not None and plan.kind == READWISE
        doc = document_from_page(parsed, page_name_from_file(page.stem, graph.file_name_format))
        full = merge_document(None, doc, {}, ctx.readwise)
        assert got.doc_id == plan.doc_id == str(doc.id) and not got.hinted
        assert got.data == full.text.encode("utf-8")
        assert got.data_sha256 == hashlib.sha256(got.data).hexdigest()
        assert got.stem == note_stem(doc.title)
        assert got.changed == full.changed
        assert (got.added, got.updated) == (len(full.added), len(full.updated))
        if full.record:
            assert unpack_highlights(got.packed) == dict(full.record)
            assert got.packed == pack_highlights(full.record)
        else:
            assert got.packed == b""
    assert readwise > 3


mappings = st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(["1", "2", "3"]), max_size=4)


@settings(max_examples=200, deadline=None)
@given(
    stored=st.dictionaries(st.sampled_from(["d1", "d2"]), mappings, max_size=2),
    items=st.lists(
        st.tuples(
            st.sampled_from(["d1", "d2", "d3"]),
            mappings,
            st.sampled_from(["mapping", "packed", "whole"]),
        ),
        max_size=5,
    ),
)
def test_packed_highlights_are_recorded_as_the_mappings_would_be(
    stored: dict[str, dict[str, str]], items: list[tuple[str, dict[str, str], str]]
) -> None:
    """A batch's items, some with their highlights packed (as a helper sends a new note's),
    some with the whole set packed from what the state holds (as a helper sends a note it
    merged into: ``base`` is the stored bytes it started from), record in the state exactly
    what the same items with plain mappings record."""
    record = SourceRecord(1, 1, "x", None, "ok", None, None)
    results = []
    for packed_ones in (True, False):
        with StateStore(":memory:") as state:
            state.add_highlights_many("v", stored)
            batch = _Batch()
            batched: list[tuple[str, str]] = []
            for doc_id, mapping, how in items:
                how = how if packed_ones and mapping else "mapping"
                if how == "whole" and any(d == doc_id for d, _ in batched):
                    how = "packed"  # (a document already in the batch is merged by the engine)
                batched.append((doc_id, how))
                base = state.highlight_data("v", doc_id) if how == "whole" else None
                whole = {**state.seen_highlights("v", doc_id), **mapping}
                item = _Pending(
                    "v",
                    f"{doc_id}.md",
                    record,
                    doc_id=doc_id,
                    note=f"{doc_id}.md",
                    highlights=mapping if how == "mapping" else {},
                    packed=b""
                    if how == "mapping"
                    else pack_highlights(whole if how == "whole" else mapping),
                    base=base,
                )
                _add_highlights(batch, item)
            state.add_highlights_many("v", batch.highlights, batch.packed, batch.bases)
            results.append(
                {d: list(state.seen_highlights("v", d).items()) for d in ("d1", "d2", "d3")}
            )
    assert results[0] == results[1]
