"""The state store: what syncd has seen and written, in one SQLite file outside the vault.

WAL mode with ``synchronous=FULL``: a committed transaction survives a crash of the process, the
OS or the power. The store is rebuildable: a damaged file is moved aside on open
(``<name>.corrupt-<time>``) and the next full scan fills a fresh one. The daemon opens it in its
main thread and hands it to the worker (``check_same_thread=False``): one thread at a time uses
it. Methods take the vault name first (one store serves several vaults); note paths are
vault-relative POSIX text.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import operator
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args

import orjson
import zstandard

from syncd.errors import SyncdError
from syncd.readwise import canonical_document_id

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 2: highlights packed per document (highlight_sets); 3: zstd, not zlib
_IN_LIMIT = 500  # values in one "IN (...)" of a query (SQLite allows at least 999)
MEMORY = ":memory:"

SourceStatus = Literal["ok", "failed", "skipped"]
Row = Any  # a result row (a tuple); column types are fixed by the schema below
_STATUSES: frozenset[str] = frozenset(get_args(SourceStatus))

# SQLite result codes meaning "this file is damaged or is not a database".
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

# the notes syncd knows it wrote in vault :v (``syncd status`` counts them)
_VAULT_NOTES = (
    "SELECT note FROM documents WHERE vault = :v UNION SELECT note FROM note_bases "
    "WHERE vault = :v UNION SELECT note FROM sources WHERE vault = :v AND note IS NOT NULL"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sources (
    vault    TEXT NOT NULL,
    source   TEXT NOT NULL,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256   TEXT NOT NULL,
    doc_id   TEXT,
    status   TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
    error    TEXT,
    note     TEXT,
    PRIMARY KEY (vault, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
    vault       TEXT NOT NULL,
    doc_id      TEXT NOT NULL,
    note        TEXT NOT NULL,
    note_sha256 TEXT NOT NULL,
    PRIMARY KEY (vault, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_by_note ON documents (vault, note);
CREATE TABLE IF NOT EXISTS highlight_sets (
    vault  TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (vault, doc_id)
);
CREATE TABLE IF NOT EXISTS note_bases (
    vault  TEXT NOT NULL,
    note   TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    text   TEXT NOT NULL,
    PRIMARY KEY (vault, note)
);
CREATE TABLE IF NOT EXISTS graph_pages (
    vault     TEXT NOT NULL,
    graph     TEXT NOT NULL,
    source    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    note      TEXT NOT NULL,
    aliases   TEXT NOT NULL,
    block_ids TEXT NOT NULL,
    deps      TEXT NOT NULL,
    page_uuid TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (vault, graph, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS graph_assets (
    vault       TEXT NOT NULL,
    graph       TEXT NOT NULL,
    asset       TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    dest        TEXT NOT NULL,
    dest_sha256 TEXT NOT NULL,
    PRIMARY KEY (vault, graph, asset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS failed_pages (
    vault     TEXT NOT NULL,
    source    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    reason    TEXT NOT NULL,
    transient INTEGER NOT NULL,
    attempts  INTEGER NOT NULL,
    since     TEXT NOT NULL,
    retry_at  REAL NOT NULL,
    settings  TEXT NOT NULL,
    PRIMARY KEY (vault, source)
) WITHOUT ROWID;
"""


@dataclass(slots=True, unsafe_hash=True)
class SourceRecord:
    """The fingerprint of one source page when syncd last looked at it, and the outcome."""

    size: int
    mtime_ns: int
    sha256: str
    doc_id: str | None
    status: SourceStatus
    error: str | None
    note: str | None  # vault-relative path of the note it went into

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"unknown source status {self.status!r}")


@dataclass(slots=True, unsafe_hash=True)
class DocumentRecord:
    """Where a Readwise document lives in the vault, and the hash of the note syncd left."""

    note: str  # vault-relative path
    note_sha256: str  # sha256 of the note bytes syncd last wrote (or saw right after writing)


@dataclass(slots=True, unsafe_hash=True)
class NoteBase:
    """The version of a plain note syncd last wrote: the base of a three-way merge."""

    sha256: str  # of text.encode("utf-8")
    text: str


def _json_list(items: tuple[str, ...]) -> str:
    """``items`` as a JSON list (compact; an empty tuple, most pages' aliases and block ids,
    without a call)."""
    return orjson.dumps(items).decode("utf-8") if items else "[]"


@dataclass(slots=True, unsafe_hash=True)
class GraphPage:
    """What the last migration learned about one page of an ``include: all`` graph: while its
    fingerprint matches, the page is not read again and these facts stand in for it."""

    size: int
    mtime_ns: int
    sha256: str
    kind: str  # "page", "journal" or "readwise"
    name: str  # the page name as Logseq shows it (journals: their title)
    note: str  # vault-relative path of its note ("" when it has none, e.g. a name collision)
    aliases: tuple[str, ...] = ()
    block_ids: tuple[str, ...] = ()  # lower-case uuids of its blocks that have an id::
    # what its note's text depends on besides the page itself: "n:<lower-cased page name>",
    # "b:<block uuid>", "a:<asset path>" (syncd.migrate rewrites the note when one changes)
    deps: tuple[str, ...] = ()
    page_uuid: str = ""  # lower-case id:: of its page-properties block (row P7), "" if none


@dataclass(slots=True, unsafe_hash=True)
class GraphAsset:
    """A file of a graph's ``assets/`` folder and the vault copy syncd made of it."""

    size: int
    mtime_ns: int
    sha256: str  # of the source file
    dest: str  # vault-relative path of the copy
    dest_sha256: str  # of the bytes syncd wrote there


@dataclass(slots=True, unsafe_hash=True)
class FailedPage:
    """A source page whose last sync failed, with its fingerprint then (``syncd.failures``)."""

    size: int
    mtime_ns: int
    sha256: str  # "" when the page could not be read
    reason: str
    transient: bool
    attempts: int  # failures in a row with this fingerprint and kind
    since: str  # ISO 8601: the first of those failures
    retry_at: float  # Unix time; transient failures only
    settings: str  # what else the outcome depended on (syncd's version, the settings)

    def due(self, now: float, longest_wait: float) -> bool:
        """Whether an unchanged page is tried again at ``now`` (a clock stepped back by more
        than the longest wait does not postpone it)."""
        return self.transient and (now >= self.retry_at or self.retry_at - now > longest_wait)


def text_sha256(text: str) -> str:
    """The hash stored for a note's text (of its UTF-8 bytes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StateStore:
    """The SQLite state of one state directory. ``StateStore(path)`` is ``open(path)``;
    ``StateStore(":memory:")`` is a throwaway store that touches no file."""

    def __init__(self, path: Path | str) -> None:
        self._depth = 0  # nesting of transaction(): 0 = none, 1 = BEGIN, >1 = savepoints
        if str(path) == MEMORY:
            self.path = Path(MEMORY)
            self._conn = sqlite3.connect(MEMORY, isolation_level=None, check_same_thread=False)
            _ensure_schema(self._conn, self.path)
            self._fd: int | None = None
        else:
            self.path = Path(path).expanduser()
            self._conn, self._fd = _open_or_rebuild(self.path), _open_fd(self.path)

    # ----------------------------------------------------------------------------- lifecycle

    @classmethod
    def open(cls, path: Path) -> StateStore:
        """Open (or create) the store; a damaged file is moved aside and a fresh one made."""
        return cls(path)

    @classmethod
    def open_snapshot(cls, path: Path) -> StateStore:
        """An in-memory copy of the store at ``path`` that writes not a byte next to it
        (``--dry-run``); none readable: empty."""
        store = cls(MEMORY)
        path = Path(path).expanduser()
        if not path.is_file():
            return store
        with tempfile.TemporaryDirectory(prefix="syncd-dry-run-") as tmp:
            copy = Path(tmp) / "state.sqlite3"
            try:
                shutil.copyfile(path, copy)
                wal = path.with_name(path.name + "-wal")
                if wal.is_file():
                    shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
                source = sqlite3.connect(copy)
                try:
                    source.backup(store._conn)
                finally:
                    source.close()
            except (OSError, sqlite3.Error) as exc:
                log.warning("%s: state not readable for a dry run (%s); assuming none", path, exc)
                store._conn.close()
                store = cls(MEMORY)
        return store

    def close(self) -> None:
        self._conn.close()  # before the fd: closing it drops SQLite's POSIX locks on the file
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def restore_if_deleted(self) -> str | None:
        """If the database file was deleted (or replaced) while open, write the open database
        back to its path (a file there is moved aside); the line to log, or None."""
        if self._fd is None or os.fstat(self._fd).st_nlink > 0:
            return None
        copy = self.path.with_name(self.path.name + ".restore")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            copy.unlink(missing_ok=True)
            os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            self._conn.execute("VACUUM INTO ?", (str(copy),))  # a consistent copy, WAL included
            self.close()
            for suffix in ("-wal", "-shm"):  # the deleted database's: never to meet the copy
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            aside = _move_aside(self.path, "replaced") if self.path.exists() else None
            copy.replace(self.path)
            self._conn, self._fd = _open_or_rebuild(self.path), _open_fd(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise SyncdError(
                f"state database deleted while open, not restored: {exc}", self.path
            ) from exc
        kept = f" (the file found there is kept as {aside.name})" if aside else ""
        return f"state database {self.path} was deleted while open; restored it{kept}"

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all (``BEGIN IMMEDIATE``: the write
        lock up front); nested calls are savepoints."""
        rollback: tuple[str, ...]
        if self._depth == 0:
            begin, commit, rollback = "BEGIN IMMEDIATE", "COMMIT", ("ROLLBACK",)
        else:
            name = f"sp{self._depth}"
            begin, commit = f"SAVEPOINT {name}", f"RELEASE {name}"
            rollback = (f"ROLLBACK TO {name}", f"RELEASE {name}")
        self._execute(begin)
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            self._quietly(rollback)
            raise
        self._depth -= 1
        try:
            self._execute(commit)
        except SyncdError:
            self._quietly(rollback)
            raise

    def _quietly(self, statements: tuple[str, ...]) -> None:
        for statement in statements:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute(statement)

    # ----------------------------------------------------------------------------- sources

    def get_source(self, vault: str, source: str) -> SourceRecord | None:
        row = self._one(
            "SELECT size, mtime_ns, sha256, doc_id, status, error, note FROM sources "
            "WHERE vault = ? AND source = ?",
            (vault, source),
        )
        return None if row is None else SourceRecord(*row)

    def put_sources(self, vault: str, records: Mapping[str, SourceRecord]) -> None:
        """Record pages' source records (source -> record) in one statement."""
        rows = [(vault, source, *_values(r)) for source, r in records.items()]
        self._put("sources", "source, size, mtime_ns, sha256, doc_id, status, error, note", rows)

    def source_stamps(self, vault: str) -> dict[str, tuple[int, int, str]]:
        """Source page -> (size, mtime_ns, status), for every page of the vault (a scan)."""
        rows = self._all(
            "SELECT source, size, mtime_ns, status FROM sources WHERE vault = ?", (vault,)
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    # ----------------------------------------------------------------------------- documents

    def get_document(self, vault: str, doc_id: str) -> DocumentRecord | None:
        row = self._one(
            "SELECT note, note_sha256 FROM documents WHERE vault = ? AND doc_id = ?",
            (vault, doc_id),
        )
        return None if row is None else DocumentRecord(*row)

    def put_documents(self, vault: str, records: Mapping[str, DocumentRecord]) -> None:
        """Record documents (doc_id -> record) in one statement."""
        rows = [(vault, doc_id, r.note, r.note_sha256) for doc_id, r in records.items()]
        self._put("documents", "doc_id, note, note_sha256", rows)

    def documents(self, vault: str) -> dict[str, DocumentRecord]:
        rows = self._all(
            "SELECT doc_id, note, note_sha256 FROM documents WHERE vault = ? ORDER BY doc_id",
            (vault,),
        )
        return {row[0]: DocumentRecord(*row[1:]) for row in rows}

    # ----------------------------------------------------------------------------- highlights

    # A document's highlights are one row (compressed JSON): a row per highlight scattered
    # over one big index made SQLite rewrite most of it at every commit.

    def seen_highlights(self, vault: str, doc_id: str) -> dict[str, str]:
        """Highlight id → sha256 of the highlight text syncd last wrote, for one document."""
        data = self.highlight_data(vault, doc_id)
        return {} if data is None else self.unpack_seen(data, doc_id)

    def highlight_data(self, vault: str, doc_id: str) -> bytes | None:
        """A document's highlights as stored (packed; None: none): equal bytes, equal sets."""
        row = self._one(
            "SELECT data FROM highlight_sets WHERE vault = ? AND doc_id = ?", (vault, doc_id)
        )
        return None if row is None else bytes(row[0])

    def add_highlights_many(
        self,
        vault: str,
        docs: Mapping[str, Mapping[str, str]],
        packed: Mapping[str, bytes] | None = None,
        bases: Mapping[str, bytes] | None = None,
    ) -> None:
        """Insert or update documents' highlights (doc_id -> highlight id -> text sha256).
        ``packed``: other documents' highlights as a plan packed them, stored as they are where
        the state holds none yet or still ``bases[doc_id]`` (the whole set made from those)."""
        packed = packed or {}
        bases = bases or {}
        with self.transaction():
            wanted = [doc_id for doc_id, m in docs.items() if m]
            stored = self._highlight_sets(vault, [*wanted, *packed])
            rows: list[tuple[object, ...]] = []
            for doc_id, data in packed.items():
                before = stored.get(doc_id)
                if before is not None and before != bases.get(doc_id):
                    merged = self.unpack_seen(before, doc_id)
                    merged.update(self.unpack_seen(data, doc_id))
                    data = pack_highlights(merged)
                rows.append((vault, doc_id, data))
            for doc_id in wanted:
                before = stored.get(doc_id)
                merged = {} if before is None else self.unpack_seen(before, doc_id)
                merged.update(docs[doc_id])
                rows.append((vault, doc_id, pack_highlights(merged)))
            self._put("highlight_sets", "doc_id, data", rows)

    def _highlight_sets(self, vault: str, doc_ids: list[str]) -> dict[str, bytes]:
        """doc_id -> packed highlights of ``doc_ids`` (one query per ``_IN_LIMIT`` ids)."""
        found: dict[str, bytes] = {}
        for start in range(0, len(doc_ids), _IN_LIMIT):
            part = doc_ids[start : start + _IN_LIMIT]
            marks = ", ".join("?" * len(part))
            rows = self._all(
                f"SELECT doc_id, data FROM highlight_sets WHERE vault = ? AND doc_id IN ({marks})",
                (vault, *part),
            )
            found.update((row[0], row[1]) for row in rows)
        return found

    def unpack_seen(self, data: bytes, doc_id: str) -> dict[str, str]:
        """Document ``doc_id``'s highlights stored as ``data`` (unreadable: ``SyncdError``)."""
        try:
            return unpack_highlights(data)
        except ValueError as exc:
            raise SyncdError(
                f"state database error: the highlights of {doc_id} are unreadable ({exc})",
                self.path,
            ) from exc

    # ----------------------------------------------------------------------------- note bases

    def get_note_base(self, vault: str, note: str) -> NoteBase | None:
        row = self._one(
            "SELECT sha256, text FROM note_bases WHERE vault = ? AND note = ?", (vault, note)
        )
        return None if row is None else NoteBase(*row)

    def put_note_bases(self, vault: str, texts: Mapping[str, str]) -> None:
        """Record the bases of notes (note -> text) in one statement."""
        rows = [(vault, note, text_sha256(text), text) for note, text in texts.items()]
        self._put("note_bases", "note, sha256, text", rows)

    # ----------------------------------------------------------------------------- graphs

    def graph_pages(self, vault: str, graph: str) -> dict[str, GraphPage]:
        """Every page recorded for the graph at ``graph`` (its root path), by source key."""
        rows = self._all(
            "SELECT source, size, mtime_ns, sha256, kind, name, note, aliases, block_ids, deps, "
            "page_uuid FROM graph_pages WHERE vault = ? AND graph = ?",
            (vault, graph),
        )
        # every row's JSON lists parsed in one call (a call per column costs more than parsing)
        lists = [*map(tuple, orjson.loads("[" + ",".join(c for r in rows for c in r[7:10]) + "]"))]
        return {
            r[0]: GraphPage(*r[1:7], *lists[3 * i : 3 * i + 3], *r[10:]) for i, r in enumerate(rows)
        }

    def graph_page_stamps(self, vault: str, graph: str) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of every page recorded for ``graph`` (a cheap "anything new?")."""
        rows = self._all(
            "SELECT source, size, mtime_ns FROM graph_pages WHERE vault = ? AND graph = ?",
            (vault, graph),
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    def put_graph_pages(self, vault: str, graph: str, pages: Mapping[str, GraphPage]) -> None:
        """Insert or replace the facts of several pages (source key -> facts)."""
        rows = [
            (vault, graph, source, *_values(p)[:6], *map(_json_list, _values(p)[6:9]), p.page_uuid)
            for source, p in pages.items()
        ]
        self._put(
            "graph_pages",
            "graph, source, size, mtime_ns, sha256, kind, name, note, aliases, block_ids, deps, "
            "page_uuid",
            rows,
        )

    def delete_graph_pages(self, vault: str, graph: str, sources: Iterable[str]) -> None:
        self._delete("graph_pages", "graph, source", [(vault, graph, s) for s in sources])

    def graph_assets(self, vault: str, graph: str) -> dict[str, GraphAsset]:
        """Every asset copied from the graph at ``graph``, by its path under ``assets/``."""
        rows = self._all(
            "SELECT asset, size, mtime_ns, sha256, dest, dest_sha256 FROM graph_assets "
            "WHERE vault = ? AND graph = ?",
            (vault, graph),
        )
        return {row[0]: GraphAsset(*row[1:]) for row in rows}

    def put_graph_asset(self, vault: str, graph: str, asset: str, record: GraphAsset) -> None:
        row = (vault, graph, asset, *_values(record))
        self._put("graph_assets", "graph, asset, size, mtime_ns, sha256, dest, dest_sha256", [row])

    def delete_graph_asset(self, vault: str, graph: str, asset: str) -> None:
        self._delete("graph_assets", "graph, asset", [(vault, graph, asset)])

    # ----------------------------------------------------------------------------- status

    def set_meta(self, key: str, value: str) -> None:
        if key == "schema_version":
            raise ValueError("schema_version is managed by the state store")
        with self.transaction():
            self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def failed_pages(self, vault: str) -> dict[str, FailedPage]:
        """Source page (its path) -> the record of its failure, for the pages of ``vault``
        whose last sync failed."""
        rows = self._all(
            "SELECT source, size, mtime_ns, sha256, reason, transient, attempts, since, "
            "retry_at, settings FROM failed_pages WHERE vault = ?",
            (vault,),
        )
        return {
            r[0]: FailedPage(r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8], r[9])
            for r in rows
        }

    def put_failed_page(self, vault: str, source: str, record: FailedPage) -> None:
        columns = "source, size, mtime_ns, sha256, reason, transient, attempts, since, retry_at"
        self._put("failed_pages", f"{columns}, settings", [(vault, source, *_values(record))])

    def delete_failed_pages(self, vault: str, sources: Iterable[str]) -> None:
        """Forget the failures of ``sources`` (synced now, or gone)."""
        self._delete("failed_pages", "source", [(vault, source) for source in sources])

    def counts(self, vault: str) -> dict[str, int]:
        """For ``syncd status``: ``documents`` and ``notes`` (distinct paths syncd wrote)."""
        row = self._one(
            f"SELECT (SELECT COUNT(*) FROM documents WHERE vault = :v), "
            f"(SELECT COUNT(*) FROM ({_VAULT_NOTES}))",
            {"v": vault},
        )
        assert row is not None
        return {"documents": row[0], "notes": row[1]}

    def vault_names(self) -> list[str]:
        """The vaults this store knows (``syncd status`` without a configuration)."""
        rows = self._all(
            "SELECT vault FROM graph_pages UNION SELECT vault FROM documents "
            "UNION SELECT vault FROM failed_pages ORDER BY vault",
            (),
        )
        return [r[0] for r in rows]

    def source_counts(self, vault: str) -> dict[str, dict[str, int]]:
        """For ``syncd status``: per graph folder its ``documents``, ``notes`` and ``pages``."""
        rows = self._all(
            "SELECT graph, SUM(kind = 'readwise'), "
            f"COUNT(DISTINCT CASE WHEN note IN ({_VAULT_NOTES}) THEN note END), COUNT(*) "
            "FROM graph_pages WHERE vault = :v GROUP BY graph ORDER BY graph",
            {"v": vault},
        )
        return {r[0]: {"documents": r[1], "notes": r[2], "pages": r[3]} for r in rows}

    # ----------------------------------------------------------------------------- plumbing

    def _put(self, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        """INSERT OR REPLACE ``rows`` of ``vault`` and ``columns`` into ``table``."""
        marks = ", ".join("?" * (columns.count(",") + 2))
        with self.transaction():
            sql = f"INSERT OR REPLACE INTO {table} (vault, {columns}) VALUES ({marks})"
            self._execute(sql, rows, many=True)

    def _delete(self, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        """DELETE the rows of ``table`` whose vault and ``columns`` are one of ``rows``."""
        where = " AND ".join(f"{c} = ?" for c in ("vault", *columns.split(", ")))
        if rows:
            with self.transaction():
                self._execute(f"DELETE FROM {table} WHERE {where}", rows, many=True)

    def _execute(self, sql: str, params: Any = (), *, many: bool = False) -> sqlite3.Cursor:
        try:
            return (self._conn.executemany if many else self._conn.execute)(sql, params)
        except sqlite3.Error as exc:
            raise SyncdError(f"state database error: {explain(exc, self.path)}", self.path) from exc

    def _one(self, sql: str, params: tuple[object, ...] | dict[str, object]) -> Row | None:
        return self._execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple[object, ...] | dict[str, object]) -> list[Row]:
        return self._execute(sql, params).fetchall()


# --------------------------------------------------------------------------------- opening


def _open_or_rebuild(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SyncdError(f"cannot create state folder: {exc.strerror}", path.parent) from exc
    try:
        return _connect(path)
    except _Damaged as damaged:
        aside = _move_aside(path)
        log.warning(
            "state database %s is damaged (%s); moved it to %s and starting a fresh one "
            "(the next full scan rebuilds it)",
            path,
            damaged,
            aside,
        )
    try:
        return _connect(path)
    except _Damaged as again:
        raise SyncdError(f"fresh state database unusable: {again}", path) from again


def _open_fd(path: Path) -> int:
    """An fd of the database file for ``restore_if_deleted`` (its ``st_nlink``); closed after
    the connection (closing an fd of a file drops the process's locks on it)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise SyncdError(f"cannot open state database: {exc.strerror}", path) from exc


class _Damaged(Exception):
    """The database file is damaged or not SQLite: ``str()`` says how."""


def _connect(path: Path) -> sqlite3.Connection:
    """Open, configure and check the database; ``_Damaged`` when it is corrupt or not SQLite."""
    if not path.exists():
        # State holds copies of notes: readable by the user only. SQLite gives -wal/-shm
        # files the database file's permissions.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:  # a read-only or full state folder, no permission
            raise SyncdError(f"cannot create state database: {exc.strerror}", path) from exc
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    except sqlite3.Error as exc:
        raise SyncdError(f"cannot open state database: {exc}", path) from exc
    try:
        _configure(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection, path: Path) -> None:
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("state database %s: journal_mode is %s, not wal", path, mode)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise _Damaged("quick_check: " + "; ".join(str(p) for p in problems[:3]))
        _ensure_schema(conn, path)
    except sqlite3.DatabaseError as exc:
        if _is_damage(exc):
            raise _Damaged(str(exc)) from exc
        raise SyncdError(
            f"cannot open state database: {explain(exc, path)}{_unwritable(path)}", path
        ) from exc


_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_FULL = 5, 6, 10, 13
_FULL_BELOW = 1024 * 1024  # bytes free under which an I/O error is taken for a full disk


def explain(exc: sqlite3.Error, path: Path) -> str:
    """SQLite's message for ``exc`` with what it means: a lock another program holds, a full
    disk (often "disk I/O error")."""
    text = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    lowered = text.lower()
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in lowered:
        return (
            f"{text} (another program holds a lock on it, e.g. a sqlite3 shell or a backup; "
            "syncd waited 5 s: close it and try again)"
        )
    if primary in (_SQLITE_IOERR, _SQLITE_FULL) or "disk i/o error" in lowered:
        try:
            st = os.statvfs(path.parent)
        except OSError:
            return text
        if st.f_bavail * st.f_frsize < _FULL_BELOW:
            return f"the disk holding the state folder is full ({path.parent}; SQLite: {text})"
    return text


def _unwritable(path: Path) -> str:
    """Why SQLite could not open ``path`` for writing, as its folder says ("" if not)."""
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return " (read-only file system)"
    except OSError:
        return ""
    if not os.access(path.parent, os.W_OK):
        return " (the state folder is not writable: permission denied)"
    return ""


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def _ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        _add_missing_columns(conn)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise SyncdError(
                f"state database has schema {row[0]}, newer than this syncd ({SCHEMA_VERSION}); "
                "upgrade syncd or move the file away",
                path,
            )
        _pack_highlight_rows(conn)
        _unescape_document_ids(conn)
        if row is not None and int(row[0]) < SCHEMA_VERSION:
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


# Columns added to a table after it first shipped: (table, column, declaration). Stores made
# before get them on open (ALTER TABLE ... ADD COLUMN; existing rows take the default).
_ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("graph_pages", "page_uuid", "TEXT NOT NULL DEFAULT ''"),
)


def _pack_highlight_rows(conn: sqlite3.Connection) -> None:
    """Schema 1 kept a row per highlight (table ``highlights``): pack them per document into
    ``highlight_sets`` and drop the old table (in the caller's transaction)."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'highlights'"
    ).fetchone()
    if found is None:
        return
    docs: dict[tuple[str, str], dict[str, str]] = {}
    for vault, doc_id, hid, digest in conn.execute(
        "SELECT vault, doc_id, highlight_id, sha256 FROM highlights"
    ):
        docs.setdefault((vault, doc_id), {})[hid] = digest
    conn.executemany(
        "INSERT OR REPLACE INTO highlight_sets (vault, doc_id, data) VALUES (?, ?, ?)",
        [(vault, doc_id, pack_highlights(m)) for (vault, doc_id), m in docs.items()],
    )
    conn.execute("DROP TABLE highlights")
    log.info("state database: %d documents' highlights packed (schema 2)", len(docs))


_IDS_UNESCAPED = "document_ids_unescaped"  # meta key: _unescape_document_ids has run


def _unescape_document_ids(conn: sqlite3.Connection) -> None:
    """Document ids an earlier syncd made from an escaped ``url::`` (``url:https://a\\-b``)
    made canonical, once per database (where the new id is recorded too, the old is left)."""
    if conn.execute("SELECT 1 FROM meta WHERE key = ?", (_IDS_UNESCAPED,)).fetchone():
        return
    escaped = "doc_id LIKE 'url:%' AND instr(doc_id, '\\') > 0"
    moved = 0
    for table in ("documents", "highlight_sets", "sources"):
        rows = conn.execute(f"SELECT DISTINCT doc_id FROM {table} WHERE {escaped}").fetchall()
        for (old,) in rows:
            new = canonical_document_id(old)
            if new != old:
                conn.execute(
                    f"UPDATE OR IGNORE {table} SET doc_id = ? WHERE doc_id = ?", (new, old)
                )
                moved += table == "documents"
    conn.execute("INSERT INTO meta (key, value) VALUES (?, '1')", (_IDS_UNESCAPED,))
    if moved:
        log.info("state database: %d document ids without Readwise's \\- escaping", moved)


def pack_highlights(mapping: Mapping[str, str]) -> bytes:
    """A document's highlights (id -> text hash) as stored: their compact JSON (orjson: a third
    of the json module's time), zstd level 1 (three times zlib's speed at level 1, and smaller;
    schema 2 stores hold zlib: still read)."""
    text = orjson.dumps(mapping if type(mapping) is dict else dict(mapping))
    return _zstd(threading.get_ident())[0].compress(text)


def unpack_highlights(data: bytes) -> dict[str, str]:
    """The mapping ``pack_highlights`` packed (in its order); ValueError when it is not one."""
    try:
        zstd = data[:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame's magic number, else zlib's
        value = orjson.loads(
            _zstd(threading.get_ident())[1].decompress(data) if zstd else zlib.decompress(data)
        )
    except (zlib.error, zstandard.ZstdError, UnicodeDecodeError, TypeError) as exc:
        raise ValueError(str(exc)) from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError("not a mapping of text to text")
    return value


@functools.cache  # a thread's zstd contexts, made once (they cost more than a use)
def _zstd(_thread: int) -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    return zstandard.ZstdCompressor(level=1), zstandard.ZstdDecompressor()


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, column, declaration in _ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _move_aside(path: Path, why: str = "corrupt") -> Path:
    """Rename the database (and its -wal/-shm) to ``<name>.<why>-<YYYYMMDD-HHMMSS>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.{why}-{stamp}")
    n = 2
    while aside.exists():
        aside = path.with_name(f"{path.name}.{why}-{stamp}-{n}")
        n += 1
    try:
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                extra.rename(aside.with_name(aside.name + suffix))
    except OSError as exc:
        raise SyncdError(f"state database ({why}) cannot be moved aside: {exc}", path) from exc
    return aside


def iso(when: datetime | None = None) -> str:
    """``when`` (default: now) as the state records times: ISO 8601, to the second."""
    return (when or datetime.now(UTC)).isoformat(timespec="seconds")


def _values(record: Any) -> tuple[Any, ...]:
    """A record's fields in order: the columns after the key in its table."""
    return _GETTERS[type(record)](record)


_GETTERS = {
    cls: operator.attrgetter(*(f.name for f in fields(cls)))
    for cls in (SourceRecord, GraphPage, GraphAsset, FailedPage)
}
