from __future__ import annotations

import hashlib
import json
import logging
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.errors import SyncdError
from syncd.state import (
    SCHEMA_VERSION,
    DocumentRecord,
    GraphAsset,
    GraphPage,
    NoteBase,
    SourceRecord,
    StateStore,
    pack_highlights,
    text_sha256,
    unpack_highlights,
)

REPO = Path(__file__).resolve().parents[1]
V = "main"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "nested" / "state.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[StateStore]:
    with StateStore.open(db_path) as opened:
        yield opened


def source(sha: str = "a" * 64, **changes: object) -> SourceRecord:
    fields: dict[str, object] = {
        "size": 10,
        "mtime_ns": 1_700_000_000_000_000_000,
        "sha256": sha,
        "doc_id": "https://example.com/a",
        "status": "ok",
        "error": None,
        "note": "Readwise/Articles/A.md",
    }
    fields.update(changes)
    return SourceRecord(**fields)  # type: ignore[arg-type]


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


# --------------------------------------------------------------------------- opening


def test_open_creates_folders_and_sets_pragmas(db_path: Path, store: StateStore) -> None:
    assert db_path.is_file()
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert store.get_meta("schema_version") == str(SCHEMA_VERSION)


def test_new_database_is_private(db_path: Path, store: StateStore) -> None:
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_reopen_keeps_data(db_path: Path) -> None:
    with StateStore.open(db_path) as first:
        first.put_sources(V, {"pages/a.md": source()})
    with StateStore.open(db_path) as second:
        assert second.get_source(V, "pages/a.md") == source()


def test_constructor_is_open(db_path: Path) -> None:
    store = StateStore(db_path)
    store.put_documents(V, {"doc": DocumentRecord("A.md", "1" * 64)})
    store.close()
    with StateStore.open(db_path) as again:
        assert again.get_document(V, "doc") == DocumentRecord("A.md", "1" * 64)


def test_memory_store_touches_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with StateStore(":memory:") as store:
        store.put_sources(V, {"pages/a.md": source()})
        with pytest.raises(RuntimeError), store.transaction():
            store.put_sources(V, {"pages/b.md": source()})
            raise RuntimeError
        assert store.get_source(V, "pages/a.md") == source()
        assert store.get_source(V, "pages/b.md") is None
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert list(tmp_path.iterdir()) == []


def test_garbage_file_is_moved_aside(db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db_path.parent.mkdir(parents=True)
    garbage = b"this is not a database\x00\xff" * 200
    db_path.write_bytes(garbage)
    with caplog.at_level(logging.WARNING, logger="syncd.state"):
        store = StateStore.open(db_path)
    with store:
        store.put_sources(V, {"pages/a.md": source()})
        assert store.get_source(V, "pages/a.md") == source()
    asides = sorted(db_path.parent.glob("state.sqlite3.corrupt-*"))
    assert len(asides) == 1
    assert asides[0].read_bytes() == garbage
    assert asides[0].name[len("state.sqlite3.corrupt-") :].replace("-", "").isdigit()
    assert asides[0].name in caplog.text
    assert integrity(db_path) == "ok"


def test_damaged_pages_are_detected_and_moved_aside(db_path: Path) -> None:
    with StateStore.open(db_path) as store:
        store.add_highlights_many(V, {"doc": {f"h{i}": f"{i:064x}" for i in range(3000)}})
    page_size = 4096
    size = db_path.stat().st_size
    assert size > 4 * page_size
    with db_path.open("r+b") as handle:  # trample pages 2..3, keep the header page intact
        handle.seek(page_size)
        handle.write(b"\xa5" * (2 * page_size))
    with StateStore.open(db_path) as fresh:
        assert fresh.seen_highlights(V, "doc") == {}
        fresh.set_meta("k", "v")
    assert len(list(db_path.parent.glob("state.sqlite3.corrupt-*"))) == 1
    assert integrity(db_path) == "ok"


def test_two_corruptions_in_one_second_keep_both(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    for content in (b"first garbage" * 100, b"second garbage" * 100):
        db_path.write_bytes(content)
        for extra in db_path.parent.glob("state.sqlite3-*"):
            extra.unlink()
        StateStore.open(db_path).close()
    asides = {p.read_bytes() for p in db_path.parent.glob("state.sqlite3.corrupt-*")}
    assert asides == {b"first garbage" * 100, b"second garbage" * 100}


def test_newer_schema_is_refused_not_destroyed(db_path: Path) -> None:
    StateStore.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(SyncdError, match="newer than this syncd") as info:
        StateStore.open(db_path)
    assert "state.sqlite3" in str(info.value)
    assert list(db_path.parent.glob("*.corrupt-*")) == []


def test_unopenable_path_is_an_error_not_corruption(tmp_path: Path) -> None:
    folder = tmp_path / "is-a-folder"
    folder.mkdir()
    with pytest.raises(SyncdError, match="cannot open state database"):
        StateStore.open(folder)
    assert folder.is_dir()
    assert list(tmp_path.glob("*.corrupt-*")) == []


# --------------------------------------------------------------------------- round trips


def test_source_round_trip(store: StateStore) -> None:
    assert store.get_source(V, "pages/a.md") is None
    record = source()
    store.put_sources(V, {"pages/a.md": record})
    assert store.get_source(V, "pages/a.md") == record
    failed = source("b" * 64, status="failed", error="not valid UTF-8", doc_id=None, note=None)
    store.put_sources(V, {"pages/a.md": failed})
    assert store.get_source(V, "pages/a.md") == failed
    assert store.get_source("other-vault", "pages/a.md") is None


def test_source_status_is_checked() -> None:
    with pytest.raises(ValueError, match="status"):
        source(status="done")


def test_document_round_trip(store: StateStore) -> None:
    assert store.get_document(V, "doc") is None
    record = DocumentRecord(note="Readwise/Books/Dune.md", note_sha256="f" * 64)
    store.put_documents(V, {"doc": record})
    assert store.get_document(V, "doc") == record
    moved = DocumentRecord(note="Reading/Dune.md", note_sha256="e" * 64)
    store.put_documents(V, {"doc": moved})
    store.put_documents(V, {"doc2": record})
    assert store.documents(V) == {"doc": moved, "doc2": record}
    assert store.documents("other") == {}


def test_highlights_upsert(store: StateStore) -> None:
    assert store.seen_highlights(V, "doc") == {}
    store.add_highlights_many(V, {"doc": {"h1": "1" * 64, "h2": "2" * 64}})
    store.add_highlights_many(V, {"doc": {"h2": "9" * 64, "h3": "3" * 64}})
    store.add_highlights_many(V, {"other-doc": {"h1": "0" * 64}})
    store.add_highlights_many(V, {"doc": {}})
    assert store.seen_highlights(V, "doc") == {"h1": "1" * 64, "h2": "9" * 64, "h3": "3" * 64}
    assert store.seen_highlights(V, "other-doc") == {"h1": "0" * 64}


def test_note_base_round_trip(store: StateStore) -> None:
    assert store.get_note_base(V, "Page.md") is None
    text = "---\ntitle: x\n---\nBody with ü and 🎉\r\n"
    store.put_note_bases(V, {"Page.md": text})
    base = store.get_note_base(V, "Page.md")
    assert base == NoteBase(sha256=text_sha256(text), text=text)
    assert base is not None
    assert base.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


G = "/graphs/main"


def graph_page(**changes: object) -> GraphPage:
    fields: dict[str, object] = {
        "size": 120,
        "mtime_ns": 1_700_000_000_000_000_001,
        "sha256": "b" * 64,
        "kind": "page",
        "name": "Machine Learning",
        "note": "Logseq/Machine Learning.md",
        "aliases": ("ML", "AI Basics"),
        "block_ids": ("650a7c3e-0000-4a1b-9c2d-1234567890ab",),
        "deps": ("n:deep learning", "b:66d1f0a2-1b2c-4d3e-8f40-5a6b7c8d9e01", "a:x.png"),
        "page_uuid": "650a7c3e-0000-4a1b-9c2d-0000000000aa",
    }
    fields.update(changes)
    return GraphPage(**fields)  # type: ignore[arg-type]


def test_graph_pages_round_trip_in_bulk(db_path: Path) -> None:
    pages = {
        "pages/Machine Learning.md": graph_page(),
        "journals/2023_02_12.md": graph_page(
            kind="journal", name="Feb 12th, 2023", note="2023-02-12.md", aliases=(), deps=()
        ),
        "pages/日本語ページ.md": graph_page(name="日本語ページ", aliases=('言語 "x"',)),
    }
    with StateStore.open(db_path) as store:
        store.put_graph_pages(V, G, pages)
        store.put_graph_pages("other", G, {"pages/X.md": graph_page(name="X")})
        store.put_graph_pages(V, "/graphs/second", {"pages/Y.md": graph_page(name="Y")})
    with StateStore.open(db_path) as store:
        assert store.graph_pages(V, G) == pages
        assert store.graph_page_stamps(V, G) == {
            key: (page.size, page.mtime_ns) for key, page in pages.items()
        }
        assert set(store.graph_pages("other", G)) == {"pages/X.md"}
        assert set(store.graph_pages(V, "/graphs/second")) == {"pages/Y.md"}
        store.delete_graph_pages(V, G, ["pages/Machine Learning.md", "pages/gone.md"])
        assert set(store.graph_pages(V, G)) == {"journals/2023_02_12.md", "pages/日本語ページ.md"}
        # replacing keeps one row per page
        store.put_graph_pages(V, G, {"pages/日本語ページ.md": graph_page(note="")})
        assert store.graph_pages(V, G)["pages/日本語ページ.md"].note == ""


def test_graph_assets_round_trip(store: StateStore) -> None:
    record = GraphAsset(
        size=73, mtime_ns=5, sha256="c" * 64, dest="assets/x.png", dest_sha256="c" * 64
    )
    store.put_graph_asset(V, G, "x.png", record)
    store.put_graph_asset(V, G, "sub/y.pdf", GraphAsset(1, 2, "d" * 64, "assets/sub/y.pdf", ""))
    assert store.graph_assets(V, G)["x.png"] == record
    assert set(store.graph_assets(V, G)) == {"x.png", "sub/y.pdf"}
    assert store.graph_assets(V, "/elsewhere") == {}
    store.delete_graph_asset(V, G, "x.png")
    assert set(store.graph_assets(V, G)) == {"sub/y.pdf"}


def test_a_store_from_before_graph_tables_gains_them_and_keeps_its_data(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "CREATE TABLE note_bases (vault TEXT NOT NULL, note TEXT NOT NULL, "
        "sha256 TEXT NOT NULL, text TEXT NOT NULL, PRIMARY KEY (vault, note));"
        "INSERT INTO note_bases VALUES ('main', 'A.md', 'x', 'old text');"
    )
    conn.close()
    with StateStore.open(db_path) as store:
        assert store.get_note_base(V, "A.md") == NoteBase(sha256="x", text="old text")
        assert store.graph_pages(V, G) == {}
        store.put_graph_pages(V, G, {"pages/A.md": graph_page()})
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert integrity(db_path) == "ok"


def test_bulk_sources_and_note_bases(store: StateStore) -> None:
    store.put_sources(V, {"pages/A.md": source(), "pages/B.md": source(note="B.md", doc_id=None)})
    assert store.get_source(V, "pages/A.md") == source()
    assert store.get_source(V, "pages/B.md") == source(note="B.md", doc_id=None)
    store.put_note_bases(V, {"A.md": "a\n", "B/C.md": "ü\n"})
    assert store.get_note_base(V, "A.md") == NoteBase(text_sha256("a\n"), "a\n")
    assert store.get_note_base(V, "B/C.md") == NoteBase(text_sha256("ü\n"), "ü\n")


def test_a_graph_pages_table_without_page_uuid_gains_the_column(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "CREATE TABLE graph_pages (vault TEXT NOT NULL, graph TEXT NOT NULL, "
        "source TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, "
        "sha256 TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, note TEXT NOT NULL, "
        "aliases TEXT NOT NULL, block_ids TEXT NOT NULL, deps TEXT NOT NULL, "
        "PRIMARY KEY (vault, graph, source)) WITHOUT ROWID;"
        "INSERT INTO graph_pages VALUES "
        "('main', '/graphs/main', 'pages/A.md', 1, 2, 'x', 'page', 'A', 'A.md', '[]', '[]', '[]');"
    )
    conn.close()
    with StateStore.open(db_path) as store:
        old = store.graph_pages(V, G)["pages/A.md"]
        assert (old.name, old.note, old.page_uuid) == ("A", "A.md", "")
        store.put_graph_pages(V, G, {"pages/B.md": graph_page()})
        assert store.graph_pages(V, G)["pages/B.md"] == graph_page()


def test_meta(store: StateStore) -> None:
    assert store.get_meta("last_run") is None
    store.set_meta("last_run", "2024-05-01T10:00:00+00:00")
    store.set_meta("last_run", "2024-05-02T10:00:00+00:00")
    assert store.get_meta("last_run") == "2024-05-02T10:00:00+00:00"
    with pytest.raises(ValueError, match="schema_version"):
        store.set_meta("schema_version", "0")


def test_counts(store: StateStore) -> None:
    assert store.counts(V) == {"documents": 0, "notes": 0}
    store.put_documents(V, {"d1": DocumentRecord("R/A.md", "1" * 64)})
    store.put_documents(V, {"d2": DocumentRecord("R/B.md", "2" * 64)})
    store.put_sources(V, {"pages/a.md": source(note="R/A.md")})
    store.put_sources(V, {"pages/p.md": source(note="Plain.md", doc_id=None)})
    store.put_sources(V, {"pages/x.md": source(status="failed", note=None, error="bad")})
    store.put_note_bases(V, {"Plain.md": "text\n"})
    store.put_documents("other", {"d9": DocumentRecord("R/Z.md", "9" * 64)})
    counts = store.counts(V)
    assert counts == {"documents": 2, "notes": 3}


# --------------------------------------------------------------------------- transactions


def test_transaction_commits_everything_together(db_path: Path, store: StateStore) -> None:
    with StateStore.open(db_path) as reader:
        with store.transaction():
            store.put_sources(V, {"pages/a.md": source()})
            store.put_documents(V, {"doc": DocumentRecord("A.md", "1" * 64)})
            store.add_highlights_many(V, {"doc": {"h1": "1" * 64}})
            # another connection sees nothing until the commit
            assert reader.get_source(V, "pages/a.md") is None
            assert reader.get_document(V, "doc") is None
        assert reader.get_source(V, "pages/a.md") == source()
        assert reader.seen_highlights(V, "doc") == {"h1": "1" * 64}


def test_transaction_rolls_back_on_exception(store: StateStore) -> None:
    store.put_sources(V, {"pages/a.md": source("0" * 64)})
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.put_sources(V, {"pages/a.md": source("1" * 64)})
        store.put_documents(V, {"doc": DocumentRecord("A.md", "1" * 64)})
        store.add_highlights_many(V, {"doc": {"h1": "1" * 64}})
        store.put_note_bases(V, {"A.md": "x"})
        raise RuntimeError("boom")
    assert store.get_source(V, "pages/a.md") == source("0" * 64)
    assert store.get_document(V, "doc") is None
    assert store.seen_highlights(V, "doc") == {}
    assert store.get_note_base(V, "A.md") is None
    store.set_meta("after", "works")  # the connection is usable again
    assert store.get_meta("after") == "works"


def test_nested_transaction_is_a_savepoint(store: StateStore) -> None:
    with store.transaction():
        store.put_documents(V, {"kept": DocumentRecord("K.md", "1" * 64)})
        with pytest.raises(KeyError), store.transaction():
            store.put_documents(V, {"undone": DocumentRecord("U.md", "2" * 64)})
            raise KeyError("inner")
        store.put_documents(V, {"kept2": DocumentRecord("K2.md", "3" * 64)})
    assert set(store.documents(V)) == {"kept", "kept2"}


def test_store_used_from_another_thread(db_path: Path) -> None:
    store = StateStore.open(db_path)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with store.transaction():
                store.put_documents(V, {"doc": DocumentRecord("A.md", "1" * 64)})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert errors == []
    assert store.get_document(V, "doc") == DocumentRecord("A.md", "1" * 64)
    store.close()


# --------------------------------------------------------------------------- crash


CRASH_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from syncd.state import DocumentRecord, StateStore

store = StateStore.open(Path({db!r}))
store._conn.execute("PRAGMA cache_size = 5")  # spill the big batch into the WAL early
for i in range(3):
    with store.transaction():
        doc = DocumentRecord(f"N{{i}}.md", "{{:064x}}".format(i))
        store.put_documents("main", {{f"doc{{i}}": doc}})
        marks = {{f"h{{j}}": "0" * 64 for j in range(200)}}
        store.add_highlights_many("main", {{f"doc{{i}}": marks}})
    print("committed", i, flush=True)
with store.transaction():
    store.put_documents("main", {{"doomed": DocumentRecord("D.md", "f" * 64)}})
    marks = {{f"h{{j}}": "1" * 64 for j in range(20000)}}
    store.add_highlights_many("main", {{"doomed": marks}})
    print("mid-transaction", flush=True)
    sys.stdin.readline()  # wait here until killed
print("not reached", flush=True)
"""


@pytest.mark.slow
def test_sigkill_mid_transaction_leaves_a_consistent_database(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH_CHILD.format(repo=str(REPO), db=str(db_path))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines = []
    try:
        for _ in range(4):
            lines.append(child.stdout.readline().strip())
        wal = db_path.with_name(db_path.name + "-wal")
        assert wal.exists() and wal.stat().st_size > 0  # uncommitted pages reached the WAL
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.stderr is not None
        stderr = child.stderr.read()
        child.stdout.close()
        child.stderr.close()
        assert child.stdin is not None
        child.stdin.close()
    assert lines == ["committed 0", "committed 1", "committed 2", "mid-transaction"], stderr
    assert child.returncode == -signal.SIGKILL

    assert integrity(db_path) == "ok"
    with StateStore.open(db_path) as store:
        assert set(store.documents(V)) == {"doc0", "doc1", "doc2"}
        assert store.get_document(V, "doc2") == DocumentRecord("N2.md", f"{2:064x}")
        assert len(store.seen_highlights(V, "doc1")) == 200
        assert store.get_document(V, "doomed") is None
        assert store.seen_highlights(V, "doomed") == {}
        store.put_documents(V, {"after": DocumentRecord("After.md", "a" * 64)})
    assert list(db_path.parent.glob("*.corrupt-*")) == []


# --------------------------------------------------------------------------- packed highlights


def test_a_schema_1_store_has_its_highlights_packed_on_open(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "CREATE TABLE highlights (vault TEXT NOT NULL, doc_id TEXT NOT NULL, "
        "highlight_id TEXT NOT NULL, sha256 TEXT NOT NULL, "
        "PRIMARY KEY (vault, doc_id, highlight_id)) WITHOUT ROWID;"
        "INSERT INTO highlights VALUES ('main', 'doc', 'url:a', 'sa'), ('main', 'doc', 'b', 'sb'),"
        " ('main', 'other', 'c', 'sc'), ('elsewhere', 'doc', 'd', 'sd');"
    )
    conn.close()
    with StateStore.open(db_path) as store:
        assert store.seen_highlights(V, "doc") == {"url:a": "sa", "b": "sb"}
        assert store.seen_highlights(V, "other") == {"c": "sc"}
        assert store.seen_highlights("elsewhere", "doc") == {"d": "sd"}
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION) == "3"
    conn = sqlite3.connect(db_path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert "highlights" not in tables and "highlight_sets" in tables
    with StateStore.open(db_path) as store:  # opening again changes nothing
        assert store.seen_highlights(V, "doc") == {"url:a": "sa", "b": "sb"}
    assert integrity(db_path) == "ok"


def test_bulk_documents_and_highlights(store: StateStore) -> None:
    store.add_highlights_many(V, {"d1": {"h1": "1", "h2": "2"}})
    store.put_documents(
        V, {"d1": DocumentRecord(note="A.md", note_sha256="x"), "d2": DocumentRecord("B.md", "y")}
    )
    store.add_highlights_many(V, {"d1": {"h2": "9", "h3": "3"}, "d2": {"h1": "é"}, "d3": {}})
    assert store.seen_highlights(V, "d1") == {"h1": "1", "h2": "9", "h3": "3"}
    assert store.seen_highlights(V, "d2") == {"h1": "é"}
    assert store.seen_highlights(V, "d3") == {}
    assert store.get_document(V, "d2") == DocumentRecord(note="B.md", note_sha256="y")
    assert store.documents(V).keys() == {"d1", "d2"}


def test_unreadable_packed_highlights_are_an_error_naming_the_document(
    db_path: Path, store: StateStore
) -> None:
    store.add_highlights_many(V, {"doc": {"h": "1"}})
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE highlight_sets SET data = x'00ff'")
    conn.commit()
    conn.close()
    with pytest.raises(SyncdError, match="highlights of doc are unreadable"):
        store.seen_highlights(V, "doc")


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=80), st.text(max_size=45), max_size=300))
def test_packed_highlights_are_zstd_json_in_their_order(mapping: dict[str, str]) -> None:
    packed = pack_highlights(mapping)
    # one zstd frame of the compact JSON (schema 3; a schema 2 store's zlib is still read)
    assert json.loads(zstandard.ZstdDecompressor().decompress(packed)) == mapping
    assert list(unpack_highlights(packed)) == list(mapping)
    assert unpack_highlights(packed) == mapping


def test_highlights_packed_by_zlib_defaults_still_read(store: StateStore, db_path: Path) -> None:
    # a store written before pack_highlights used a small window
    mapping = {"https://read.readwise.io/read/01h1": "a" * 40, "kindle:12": "b" * 40}
    old = zlib.compress(json.dumps(mapping, separators=(",", ":")).encode(), 1)
    store.add_highlights_many(V, {"doc": {"x": "1"}})
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE highlight_sets SET data = ?", (old,))
    conn.commit()
    conn.close()
    assert store.seen_highlights(V, "doc") == mapping
    # a schema 2 store's zlib set grows into a zstd one, nothing lost
    store.add_highlights_many(V, {"doc": {"url:new": "c" * 40}})
    assert store.seen_highlights(V, "doc") == {**mapping, "url:new": "c" * 40}
    conn = sqlite3.connect(db_path)
    (data,) = conn.execute("SELECT data FROM highlight_sets").fetchone()
    conn.close()
    assert data[:4] == b"\x28\xb5\x2f\xfd"  # zstd's magic number
