"""The one writer: notes into the vault, state after they are durable (I/O edge).

Every note goes through :class:`Writer` (``sync_document``, ``finish_readwise``,
``write_note``). It commits the pages' state in batches once the notes written so far are
durable (one ``syncfs`` per batch in bulk runs), so the next run repairs a crash at any point
(merging is idempotent). What the engines stage for the state reaches the commit as a ``Stager``.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Protocol, cast

from syncd.config import Config
from syncd.convert.context import ConvertContext
from syncd.errors import ConcurrentModification, SyncdError
from syncd.merge import merge_document
from syncd.names import note_stem, unique_name
from syncd.note import ID_KEY, frontmatter_items, preamble_body
from syncd.pipeline.page import join_path
from syncd.plan import Prepared
from syncd.readwise import Document, canonical_document_id, category_folder
from syncd.state import DocumentRecord, SourceRecord, StateStore, text_sha256, unpack_highlights
from syncd.vault import MARKER, FileStamp, Vault, frontmatter_value
from syncd.yamlout import dump_frontmatter

log = logging.getLogger(__name__)

BATCH_PAGES = 1024  # pages per state commit in bulk runs


@dataclass
class MigrationReport:
    """What a graph migration did, and everything it could not carry over."""

    pages: int = 0  # plain pages converted and written (or found up to date)
    journals: int = 0
    readwise: int = 0  # Readwise pages merged
    assets: int = 0  # asset files copied
    merged: list[str] = field(default_factory=list)  # notes three-way merged with user edits
    conflicts: list[str] = field(default_factory=list)  # conflict copies written
    unsupported: list[tuple[str, str]] = field(default_factory=list)  # (page, what)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source file, why)
    # what the rules dropped (docs/logseq-rows.md: each with its reason) -> how often
    dropped: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "dropped")

    def lines(self) -> list[str]:
        """The report as text lines (empty when nothing was migrated or found)."""
        if not self:
            return []
        out = [
            f"migration: {self.pages} pages, {self.journals} journals, {self.readwise} Readwise "
            f"pages converted, {self.assets} assets copied, {len(self.merged)} merged with "
            f"vault edits, {len(self.conflicts)} conflict copies"
        ]
        out += [f"  merged with your edits: {note}" for note in self.merged]
        out += [f"  conflict copy (your note kept): {note}" for note in self.conflicts]
        if self.unsupported:
            out.append(f"no Obsidian equivalent ({len(self.unsupported)}):")
            out += [f"  {page}: {what}" for page, what in sorted(self.unsupported)]
        if self.dropped:
            counts = ", ".join(f"{what} {n}" for what, n in sorted(self.dropped.items()))
            out.append(f"dropped by the rules (docs/logseq-rows.md): {counts}")
        if self.skipped:
            out.append(f"not migrated ({len(self.skipped)}):")
            out += [f"  {source}: {why}" for source, why in sorted(self.skipped)]
        return out


@dataclass
class RunReport:
    """What a run did; the CLI turns it into output and an exit status."""

    changed: list[str] = field(default_factory=list)  # vault notes written (would be, dry run)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (source path, reason)
    # pages that failed before and are unchanged since: not read again, not logged (the CLI
    # prints them; the daemon reported them when they failed), (source path, reason)
    known_failures: list[tuple[str, str]] = field(default_factory=list)
    pages: int = 0  # source pages looked at
    unchanged: int = 0  # pages skipped because state says nothing changed
    diffs: list[str] = field(default_factory=list)
    notes_created: int = 0
    highlights_added: int = 0
    # (source page, why): pages that look like Readwise pages but are not taken as documents
    not_readwise: list[tuple[str, str]] = field(default_factory=list)
    # pages not read because they had not settled (the daemon reads them once they have)
    deferred: list[Path] = field(default_factory=list)
    migration: MigrationReport = field(default_factory=MigrationReport)  # include: all sources


@dataclass(slots=True, unsafe_hash=True)
class ReadwiseHint:
    """What a page that went into a note last run is planned with: its document, that note
    (path, text and stamp as read then) and its recorded highlights (packed; None: none)."""

    doc_id: str
    note: str
    text: str
    stamp: FileStamp
    packed: bytes | None


class RetryMerge(Exception):
    """``finish_readwise``'s write found the note changed under it: merge the document into
    ``note`` as it is now (``sync_document(..., retry=note)``)."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


@dataclass(slots=True, unsafe_hash=True)
class _Written:
    """A note written in this run: created by it, its stamp after the last write (None: dry
    run), its text before the run (``--diff`` only) and its diff's place in the report."""

    created: bool
    stamp: FileStamp | None
    before: str
    diff: int


@dataclass(slots=True, unsafe_hash=True)
class _Pending:
    """State to commit once the notes written since the last commit are durable."""

    vault: str
    source: str
    record: SourceRecord
    doc_id: str | None = None
    note: str | None = None
    note_sha: str | None = None
    highlights: Mapping[str, str] = field(default_factory=dict)
    packed: bytes = b""  # more highlights, as pack_highlights made them (in the plan)
    base: bytes | None = None  # packed is the whole set, made from these stored bytes


@dataclass
class _Batch:
    """What one commit records for one vault."""

    sources: dict[str, SourceRecord] = field(default_factory=dict)
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    highlights: dict[str, dict[str, str]] = field(default_factory=dict)
    # highlights of documents with one packed item only, still packed (state.pack_highlights)
    packed: dict[str, bytes] = field(default_factory=dict)
    bases: dict[str, bytes] = field(default_factory=dict)  # _Pending.base of those


@dataclass(slots=True, unsafe_hash=True)
class NoteHome:
    """Where a source's notes go: its vault (by name) and the folder inside it."""

    vault: str
    into: str


class Stager(Protocol):
    """What a graph engine stages for the state store, written inside the writer's commit."""

    def pending_count(self) -> int: ...
    def has_state(self) -> bool: ...
    def write_state(self, state: StateStore) -> None: ...


class Writer:
    """The only writer of notes and state (see the module docstring)."""

    def __init__(
        self,
        config: Config,
        state: StateStore,
        *,
        dry_run: bool,
        diff: bool,
        bulk: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.state = state
        self.dry_run = dry_run
        self.diff = diff
        self.bulk = bulk
        self.clock = clock
        self.vaults = {v.name: Vault(v.path) for v in config.vaults}
        self.new_vaults: set[str] = set()  # a dry run's vaults to be created: not closed
        self.stagers: list[Stager] = []
        self._pending: list[_Pending] = []
        self._pending_docs: dict[tuple[str, str], _Pending] = {}
        # vault -> syncd-id -> the notes carrying it (walk order); kept across runs (the
        # vault keeps each note's frontmatter value with its stamp), walked again once per
        # run and when a note it names is not there any more
        self._id_index: dict[str, dict[str, list[str]]] = {}
        self._ids_current: set[str] = set()  # vaults whose _id_index was walked in this run
        # (vault name, note) -> the text a refused finish_readwise write had merged into
        self._refused: dict[tuple[str, str], str] = {}
        # notes of _pending_docs, lower-cased, per vault (_claimed without a scan of them all)
        self._claimed_notes: dict[str, set[str]] = {}
        # vault -> doc_id -> record during a run: read in one query when first needed, and
        # kept up to date by commit (documents change only through it)
        self._known_documents: dict[str, dict[str, DocumentRecord]] | None = None
        # (vault root, note) -> what this run wrote there, and the pages merged into it in
        # this run (start_run clears both)
        self._this_run: dict[tuple[str, str], _Written] = {}
        self._merged_into: dict[tuple[str, str], set[str]] = {}

    def forget_note_ids(self) -> None:
        """Walk the vault for its ``syncd-id``s again when next needed (a new run)."""
        self._ids_current.clear()

    def readwise_hint(self, vault_name: str, previous: SourceRecord | None) -> ReadwiseHint | None:
        """What a plan merges a page into: the readable note it went into last run, or None."""
        if previous is None or previous.status == "failed" or not previous.doc_id:
            return None
        current = None
        with contextlib.suppress(SyncdError, OSError):
            current = self.vaults[vault_name].read_text(previous.note) if previous.note else None
        if current is None:
            return None
        packed = self.state.highlight_data(vault_name, previous.doc_id)
        return ReadwiseHint(previous.doc_id, cast(str, previous.note), *current, packed)

    def finish_readwise(
        self,
        home: NoteHome,
        key: str,
        fingerprint: SourceRecord,
        prep: Prepared,
        hint: ReadwiseHint | None,
        report: RunReport,
        taken: Callable[[str], bool] | None = None,
    ) -> str | None:
        """Write and queue a plan's ``readwise`` result for page ``key``: the note's path, or
        None (nothing done) when ``sync_document`` would merge something else now (the note or
        its highlights are not ``hint``'s, it is deleted or held by an earlier page of this
        batch). ``taken``: paths held by others."""
        vault_name = home.vault
        vault = self.vaults[vault_name]
        if (vault_name, prep.doc_id) in self._pending_docs:
            return None  # an earlier page of this batch holds the same document
        record = self.get_document(vault_name, prep.doc_id)
        known_note = record.note if record is not None else None
        # the highlights recorded now, as stored (compared with the hint's without unpacking)
        packed = self.state.highlight_data(vault_name, prep.doc_id) if record else None
        merged = hint if hint is not None and prep.hinted else None
        current: tuple[str, FileStamp] | None
        if merged is not None and merged.note == known_note and prep.changed:
            # the note as the plan merged into it, not read again: the write below is a
            # compare-and-swap on its stamp, so a note changed since fails it (then the page
            # is done here, from what the note holds now)
            note, current = merged.note, (merged.text, merged.stamp)
        else:
            note, current = self._locate_by(
                home, vault, prep.doc_id, prep.title, prep.folder, known_note, taken, prep.stem
            )
        if current is None and known_note is not None:
            return None  # the user deleted the note: only new highlights come back
        existing = current[0] if current is not None else None
        merged_into = merged.text if merged is not None else None
        if existing != merged_into or (
            merged is not None and existing is not None and packed != merged.packed
        ):
            return None  # merged into another text than the note holds now
        self._merged_into.setdefault((str(vault.root), note), set()).add(key)
        written = False
        if prep.changed:
            try:
                self._write_counted(
                    vault, note, prep.data, prep.added, prep.updated, current, report
                )
            except ConcurrentModification as exc:
                # the note changed under the write: the caller merges the document into what
                # is there now (sync_document's retry), as sync_document does itself
                if existing is not None:
                    self._refused[(vault_name, note)] = existing
                raise RetryMerge(note) from exc
            written = True
        self.queue_document(
            vault_name,
            key,
            replace(fingerprint, doc_id=prep.doc_id, status="ok", error=None, note=note),
            note,
            prep.data_sha256 if written else None,
            current,
            {},
            prep.packed,
            # (hinted: the whole set, made from what the state holds: ``packed`` above)
            merged.packed if merged is not None else None,
        )
        return note

    def fail(self, path: Path, reason: str, report: RunReport) -> None:
        """Report a page that cannot be synced (logged, counted)."""
        log.error("%s: %s", path, reason)
        report.failures.append((str(path), reason))
        if not self.dry_run:
            self.commit()

    def flush(self, *, force: bool = False) -> None:
        """Commit when a batch is full (``force``: whatever is pending)."""
        # a page staged by its migration and queued here is one page: counted once
        waiting = max(len(self._pending), sum(m.pending_count() for m in self.stagers))
        if force or waiting >= BATCH_PAGES or not self.bulk:
            self.commit()

    def commit(self) -> None:
        """Make the notes written so far durable, then record them, in one transaction."""
        for vault in self.vaults.values():
            vault.end_batch()  # the next batch checks its folders again
        stagers = [m for m in self.stagers if m.has_state()]
        if not self._pending and not stagers:
            return
        if self.bulk:
            for vault in self.vaults.values():
                if vault.root.is_dir():
                    vault.syncfs()
        with self.state.transaction():
            for stager in stagers:
                stager.write_state(self.state)
            # three statements per vault, not three per page; a later item for the same
            # page or document replaces an earlier one, as one statement each would
            batches: dict[str, _Batch] = {}
            for item in self._pending:
                batch = batches.setdefault(item.vault, _Batch())
                batch.sources[item.source] = item.record
                if item.doc_id is not None and item.note is not None:
                    record = DocumentRecord(note=item.note, note_sha256=item.note_sha or "")
                    batch.documents[item.doc_id] = record
                    _add_highlights(batch, item)
            for vault_name, batch in batches.items():
                self.state.put_sources(vault_name, batch.sources)
                self.state.put_documents(vault_name, batch.documents)
                self.state.add_highlights_many(
                    vault_name, batch.highlights, batch.packed, batch.bases
                )
        if self._known_documents is not None:
            for vault_name, batch in batches.items():
                if vault_name in self._known_documents:
                    self._known_documents[vault_name].update(batch.documents)
        self._pending.clear()
        self._pending_docs.clear()
        self._claimed_notes.clear()

    def get_document(self, vault_name: str, doc_id: str) -> DocumentRecord | None:
        if self._known_documents is None:
            return self.state.get_document(vault_name, doc_id)
        known = self._known_documents.get(vault_name)
        if known is None:
            known = self._known_documents[vault_name] = self.state.documents(vault_name)
        return known.get(doc_id)

    def queue(self, item: _Pending) -> None:
        if self.dry_run:
            return
        self._pending.append(item)
        if item.doc_id is not None:
            self._pending_docs[(item.vault, item.doc_id)] = item
            if item.note is not None:
                self._claimed_notes.setdefault(item.vault, set()).add(item.note.lower())
        if not self.bulk:
            self.commit()

    def keep_documents(self, keep: bool) -> None:
        """While ``keep`` (a migration run): document records are read in one query per vault
        and kept current by ``commit`` (their only writer), not one query per Readwise page."""
        self._known_documents = {} if keep else None

    def find_readwise_note(self, vault_name: str, doc_id: str) -> str | None:
        """The note of a Readwise document: where the state says, else the vault note whose
        frontmatter carries its id (moved, or written before the state was lost)."""
        record = self.get_document(vault_name, doc_id)
        if record is not None:
            return record.note
        return self._find_by_id(vault_name, self.vaults[vault_name], doc_id)

    def sync_document(
        self,
        home: NoteHome,
        path: Path,
        key: str,
        doc: Document,
        fingerprint: SourceRecord,
        report: RunReport,
        ctx: ConvertContext,
        taken: Callable[[str], bool] | None = None,
        *,
        again: bool = False,
        retry: str | None = None,
        place: tuple[str, str] | None = None,
    ) -> str:
        """Merge ``doc`` (page ``key`` at ``path``) into its note; the note's vault path.
        ``taken``: note paths held by others. ``again``: merged earlier in this run: a note
        this run created (untouched since) is made anew. ``retry``: the note
        ``finish_readwise`` found changed under its write. ``place``: (folder in ``into``,
        stem) of a new note, when not its category folder and title."""
        vault_name = home.vault
        vault = self.vaults[vault_name]
        pending = self._pending_docs.get((vault_name, doc.id))
        known_note: str | None = None
        if pending is not None:
            seen = dict(self.state.seen_highlights(vault_name, doc.id))
            if pending.packed:  # a new note's record, as its plan packed it
                seen.update(unpack_highlights(pending.packed))
            seen.update(pending.highlights)
            known_note = pending.note
        else:
            record = self.get_document(vault_name, doc.id)
            known_note = record.note if record is not None else None
            # highlights are recorded only together with their document (commit): a document
            # without a record has none, and a new one needs no query for them
            seen = dict(self.state.seen_highlights(vault_name, doc.id)) if record else {}

        attempts = 3
        remembered: dict[str, str] = {}  # highlights of a note gone under a write (rule 4)
        gone = False
        if retry is not None:
            log.info("%s changed while syncing; merging again", retry)
            before = self._refused.pop((vault_name, retry), None)
            note, current = self._relocate(home, vault, doc, retry)
            attempts = 2
            if current is None:
                gone = True
                if before is not None:
                    remembered = _held(before, doc, seen, ctx)
                    seen = {**seen, **remembered}
        else:
            folder, stem = place if place is not None else (category_folder(doc.category), None)
            note, current = self._locate_by(
                home, vault, str(doc.id), doc.title, folder, known_note, taken, stem
            )
        self._merged_into.setdefault((str(vault.root), note), set()).add(key)
        fresh = False
        if again and current is not None and self._created_here(vault, note, current[1], key):
            # a note this run created and nobody touched since: made anew (with what the
            # graph index says now), not merged into
            fresh = True
            seen = {}
        deleted = current is None and (known_note is not None or gone)
        written = False
        for attempt in range(attempts):
            if current is not None and not fresh:
                existing: str | None = current[0]
            else:
                # a note the user deleted comes back only for highlights never written
                existing = _skeleton(doc, ctx) if deleted else None
            result = merge_document(existing, doc, seen, ctx)
            if not result.changed or (deleted and not result.added):
                break
            try:
                counts = len(result.added), len(result.updated)
                self._write_counted(vault, note, result.text, *counts, current, report)
                written = True
                break
            except ConcurrentModification:
                if attempt == attempts - 1:
                    raise
                log.info("%s changed while syncing; merging again", note)
                before_text = existing
                note, current = self._relocate(home, vault, doc, note)
                self._merged_into.setdefault((str(vault.root), note), set()).add(key)
                if current is None and not deleted:
                    # the user deleted the note while syncd merged into it: it comes back
                    # for the highlights new in this merge only (rule 4, rule 9)
                    deleted = True
                    if before_text is not None:
                        remembered = _held(before_text, doc, seen, ctx)
                        seen = {**seen, **remembered}
        self.queue_document(
            vault_name,
            key,
            replace(fingerprint, doc_id=str(doc.id), status="ok", error=None, note=note),
            note,
            text_sha256(result.text) if written else None,
            current,
            {**remembered, **result.record} if remembered else result.record,
        )
        return note

    def queue_document(
        self,
        vault_name: str,
        key: str,
        done: SourceRecord,
        note: str,
        written_sha: str | None,
        current: tuple[str, FileStamp] | None,
        highlights: Mapping[str, str],
        packed: bytes = b"",
        base: bytes | None = None,
    ) -> None:
        """Queue the state of a synced document page (``done``: its source record).
        ``written_sha``: of the text written (None: the note is ``current`` or absent); the
        highlights (``packed``: with a ``base``, the whole set made from those stored bytes)
        count only for a note that exists."""
        note_sha = written_sha
        if note_sha is None and current is not None:
            note_sha = text_sha256(current[0])
        keep = note_sha is not None
        self.queue(
            _Pending(
                vault_name,
                key,
                done,
                doc_id=done.doc_id,
                note=note,
                note_sha=note_sha,
                highlights=dict(highlights) if keep else {},
                packed=packed if keep else b"",
                base=base,
            )
        )

    def _write_counted(
        self,
        vault: Vault,
        note: str,
        text: str | bytes,
        added: int,
        updated: int,
        current: tuple[str, FileStamp] | None,
        report: RunReport,
    ) -> None:
        """Write a merged document's note, logged with the highlights it adds and changes."""
        extra = (
            f" (+{added} highlights, {updated} changed)" if updated else f" (+{added} highlights)"
        )
        again = (str(vault.root), note) in self._this_run
        self.write_note(vault, note, text, current, report, extra)
        if not again:  # (written again in this run: its highlights were counted)
            report.highlights_added += added

    def write_note(
        self,
        vault: Vault,
        note: str,
        text: str | bytes,
        current: tuple[str, FileStamp] | None,
        report: RunReport,
        detail: str = "",
    ) -> None:
        """Write ``text`` as ``note`` (compare-and-swap on ``current``'s stamp; None: create);
        counted, diffed and logged (dry run: nothing written). A note written again in the run
        is counted once, its diff from before the run."""
        key = (str(vault.root), note)
        earlier = self._this_run.get(key)
        before_run = earlier.before if earlier is not None else (current[0] if current else "")
        if self.diff:
            before = before_run
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            diff = "".join(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"a/{note}",
                    tofile=f"b/{note}",
                )
            )
            if earlier is not None:
                report.diffs[earlier.diff] = diff
            else:
                report.diffs.append(diff)
        created = current is None if earlier is None else earlier.created
        verb = "created" if created else "updated"
        say = log.info if earlier is None else log.debug
        stamp: FileStamp | None = None
        if self.dry_run:
            say("would %s %s%s", {"created": "create", "updated": "update"}[verb], note, detail)
        else:
            stamp = vault.write_atomic(
                note,
                text,
                expected=current[1] if current is not None else None,
                create_only=current is None,
                durable=not self.bulk,
            )
            say("%s %s%s", verb, note, detail)
        if earlier is None:
            report.changed.append(note)
            if created:
                report.notes_created += 1
        self._this_run[key] = _Written(
            created,
            stamp,
            before_run if self.diff else "",
            earlier.diff if earlier is not None else len(report.diffs) - 1,
        )

    def start_run(self) -> None:
        """A new run: notes written from now on are counted, listed and diffed anew."""
        self._this_run.clear()
        self._merged_into.clear()
        self._refused.clear()

    def _created_here(self, vault: Vault, note: str, stamp: FileStamp, page: str) -> bool:
        """Whether this run created ``note`` from page ``page`` alone and nobody touched it
        since (``stamp``: as read now)."""
        written = self._this_run.get((str(vault.root), note))
        return (
            written is not None
            and written.created
            and written.stamp is not None
            and (written.stamp.ino, written.stamp.size, written.stamp.mtime_ns)
            == (stamp.ino, stamp.size, stamp.mtime_ns)
            and self._merged_into.get((str(vault.root), note)) == {page}
        )

    def _locate_by(
        self,
        home: NoteHome,
        vault: Vault,
        doc_id: str,
        title: str,
        folder_name: str,
        known: str | None,
        taken_elsewhere: Callable[[str], bool] | None = None,
        stem: str | None = None,
    ) -> tuple[str, tuple[str, FileStamp] | None]:
        """(note path of document ``doc_id``, its text and stamp; None: to be created as
        ``stem``, default ``note_stem(title)``, in ``folder_name`` of ``into``)."""
        if known is not None:
            current = vault.read_text(known)
            if current is not None:
                return known, current
        found = self._find_moved(home.vault, vault, doc_id, title, stem, walk=known is not None)
        if found is not None:
            if known is not None:
                log.info("note for %s moved: %s -> %s", title, known, found[0])
            return found
        if known is not None:
            return known, None  # deleted by the user; recreated only for new highlights
        folder = join_path(home.into, folder_name)  # (both normalised: config, category)
        if stem is None:
            stem = note_stem(title)

        def taken(candidate: str) -> bool:
            path = f"{folder}/{candidate}.md" if folder else f"{candidate}.md"
            return (
                vault.exists_ci(folder, candidate + ".md")
                or self._claimed(home.vault, path)
                or (taken_elsewhere is not None and taken_elsewhere(path))
            )

        name = unique_name(stem, taken)
        return (f"{folder}/{name}.md" if folder else f"{name}.md"), None

    def _claimed(self, vault_name: str, note: str) -> bool:
        """Whether a note not committed yet already has this path (case-insensitively)."""
        return note.lower() in self._claimed_notes.get(vault_name, ())

    def _relocate(
        self, home: NoteHome, vault: Vault, doc: Document, note: str
    ) -> tuple[str, tuple[str, FileStamp] | None]:
        """Where the note of ``doc`` is after a write to ``note`` was refused (rule 9): there,
        or where its ``syncd-id`` is now (the vault walked again); (``note``, None): deleted."""
        doc_id = str(doc.id)
        current = vault.read_text(note)
        if current is not None and note_id(current[0]) == doc_id:
            return note, current
        self._ids_current.discard(home.vault)
        found = self._find_moved(home.vault, vault, doc_id, doc.title, None, walk=True)
        if found is not None:
            log.info("note for %s moved while syncing: %s -> %s", doc.title, note, found[0])
            return found
        return note, current

    def _find_moved(
        self,
        vault_name: str,
        vault: Vault,
        doc_id: str,
        title: str,
        stem: str | None,
        *,
        walk: bool,
    ) -> tuple[str, tuple[str, FileStamp]] | None:
        """The note carrying ``doc_id`` and its text and stamp, or None. The vault is walked
        again when this run's index is wrong (``walk``: or has none); a walk can miss a note
        moved across it, so with ``walk`` "nowhere" takes two walks."""
        walks = 1 if vault_name not in self._ids_current else 0
        while True:
            moved = self._find_by_id(vault_name, vault, doc_id, title, stem)
            if moved is not None:
                try:
                    current = vault.read_text(moved)
                except SyncdError as exc:
                    log.warning("%s (skipped while looking for moved notes)", exc)
                    current = None
                if current is not None and note_id(current[0]) == doc_id:
                    return moved, current
            elif not walk:
                return None
            if walks >= (2 if walk else 1):
                return None
            self._ids_current.discard(vault_name)
            walks += 1

    def _find_by_id(
        self,
        vault_name: str,
        vault: Vault,
        doc_id: str,
        title: str = "",
        stem: str | None = None,
    ) -> str | None:
        """The vault note whose ``syncd-id`` is ``doc_id``, as last walked in this run; of
        several (a copy keeps the id), the one with the document's file name, else the first."""
        if vault_name not in self._ids_current:
            index: dict[str, list[str]] = {}
            for note, raw in vault.frontmatter_values(ID_KEY).items():
                if raw:
                    index.setdefault(_doc_id(raw), []).append(note)
            self._id_index[vault_name] = index
            self._ids_current.add(vault_name)
        notes = self._id_index[vault_name].get(doc_id)
        if not notes:
            return None
        if len(notes) > 1:
            own = stem if stem is not None else note_stem(title)
            for note in notes:
                if PurePosixPath(note).stem == own:
                    return note
        return notes[0]


def note_id(text: str) -> str | None:
    """The ``syncd-id`` in the frontmatter of note ``text`` (as ``_find_by_id`` reads it)."""
    raw = frontmatter_value(text, ID_KEY)
    return _doc_id(raw) if raw else None


def _held(text: str, doc: Document, seen: Mapping[str, str], ctx: ConvertContext) -> dict[str, str]:
    """The highlights of ``doc`` the note ``text`` held (besides ``seen``), as the state
    records them: what a note the user deleted must not bring back (rule 4)."""
    result = merge_document(text, doc, seen, ctx)
    added = set(result.added)
    return {k: v for k, v in result.record.items() if k not in added and k not in seen}


def _add_highlights(batch: _Batch, item: _Pending) -> None:
    """Add a document page's highlights to its batch (a later item updates an earlier one's);
    packed ones stay packed while they are the document's only ones (a ``base`` comes first:
    ``finish_readwise`` leaves a pending document to ``sync_document``)."""
    doc_id = item.doc_id
    assert doc_id is not None
    if item.packed and doc_id not in batch.highlights and doc_id not in batch.packed:
        batch.packed[doc_id] = item.packed
        if item.base is not None:
            batch.bases[doc_id] = item.base
        return
    mapping = dict(item.highlights)
    if item.packed:
        mapping.update(unpack_highlights(item.packed))
    if not mapping:
        return
    earlier = batch.packed.pop(doc_id, None)
    batch.bases.pop(doc_id, None)
    if earlier is not None:
        batch.highlights[doc_id] = unpack_highlights(earlier)
    batch.highlights.setdefault(doc_id, {}).update(mapping)


def vault_unavailable(root: Path) -> str | None:
    """Why syncd must not write into the vault at ``root`` now (no folder or marker: an
    unmounted disk is no empty vault to fill; a read-only file system), or None."""
    existing = next((folder for folder in (root, *root.parents) if folder.exists()), root)
    with contextlib.suppress(OSError):
        if os.statvfs(existing).f_flag & os.ST_RDONLY:
            return (
                "vault folder is on a read-only file system; nothing written, retried next run "
                f"(syncd's systemd unit: add ReadWritePaths={root} with `systemctl --user edit "
                "syncd`, then restart syncd)"
            )
    if not root.is_dir():
        return "vault folder is missing (unmounted or moved?); nothing written, retried next run"
    if not (root / MARKER).is_dir():
        return (
            f"vault has no {MARKER}/ folder (unmounted or moved?); nothing written, "
            "retried next run"
        )
    return None


def _doc_id(raw: str) -> str:
    """The document id of a raw ``syncd-id`` value (YAML-quoted or plain; canonical)."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        try:
            raw = str(json.loads(raw))
        except ValueError:
            raw = raw[1:-1]
    elif len(raw) >= 2 and raw[0] == raw[-1] == "'":
        raw = raw[1:-1].replace("''", "'")
    return canonical_document_id(raw)


def _skeleton(doc: Document, ctx: ConvertContext) -> str:
    preamble = preamble_body(doc.page, ctx)
    body = "\n".join(preamble) + "\n" if preamble else ""
    return dump_frontmatter(frontmatter_items(doc, ctx)) + body
