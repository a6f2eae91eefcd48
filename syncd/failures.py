"""Source pages whose sync failed, remembered with their fingerprint (design.md "Writing into
the vault"): one is not read again while its size and mtime (or, only the mtime moved, its
hash and reason) are those it failed with and syncd's version and settings stand. A transient
failure (permission, space, I/O, the vault refusing a write) is tried again even unchanged,
after a backoff doubling from ``FIRST_RETRY`` to ``LONGEST_WAIT``. Synced or gone: forgotten.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path

from syncd.errors import VaultWriteError
from syncd.pipeline.page import FoundFile
from syncd.state import FailedPage, StateStore, iso

log = logging.getLogger(__name__)

FIRST_RETRY = 30.0  # seconds before a transient failure is tried again, doubled each time
LONGEST_WAIT = 3600.0  # the backoff's ceiling

TRANSIENT_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EIO,
        errno.EROFS,
        errno.EAGAIN,
        errno.EBUSY,
        errno.ENOMEM,
        errno.ETIMEDOUT,
        errno.ESTALE,
        errno.EINTR,
        errno.ENFILE,
        errno.EMFILE,
        errno.ENOLCK,
    }
)


def is_transient(exc: BaseException) -> bool:
    """Whether a failure says nothing about the page: the vault refused the write, or an OS
    error that goes away (permission, space, I/O) anywhere in its chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, VaultWriteError):
            return True
        if isinstance(current, OSError) and current.errno in TRANSIENT_ERRNOS:
            return True
        current = current.__cause__ or current.__context__
    return False


def backoff(attempts: int) -> float:
    """Seconds before a transient failure ``attempts`` times in a row is tried again."""
    return float(min(FIRST_RETRY * 2 ** max(0, min(attempts, 20) - 1), LONGEST_WAIT))


def _fingerprint(path: Path, max_bytes: int) -> tuple[int, int, str] | None:
    """(size, mtime_ns, sha256) of the page at ``path`` ("": unreadable or over ``max_bytes``),
    or None when it is gone."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError:
        return (-1, -1, "")
    digest = ""
    if stat.S_ISREG(st.st_mode) and st.st_size <= max_bytes:
        try:
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            digest = ""
    return st.st_size, st.st_mtime_ns, digest


class FailedPages:
    """The failed pages of one graph feeding one vault (keys: graph-relative paths)."""

    def __init__(
        self,
        state: StateStore,
        vault_name: str,
        root: Path,
        *,
        dry_run: bool,
        clock: Callable[[], datetime],
        now: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.vault_name = vault_name
        self.root = root
        self.dry_run = dry_run
        self.clock = clock
        self.now = now
        self.records: dict[str, FailedPage] = {}
        self.settings = ""
        # the daemon waits before it tries a transient failure again; ``syncd once``, run
        # by a user who may just have fixed the cause, tries it at once
        self.backoff = False

    def path(self, key: str) -> str:
        return str(self.root / key)

    def load(self, settings: str) -> None:
        """Read this graph's records (a run starts); ``settings``: what else a page's outcome
        depends on (a failure recorded under others is tried again)."""
        self.settings = settings
        prefix = str(self.root).rstrip(os.sep) + os.sep
        self.records = {
            source[len(prefix) :]: record
            for source, record in self.state.failed_pages(self.vault_name).items()
            if source.startswith(prefix)
        }

    def pass_over(
        self,
        pages: Mapping[str, FoundFile],
        candidates: set[str],
        gone: Iterable[str],
        known: list[tuple[str, str]],
    ) -> set[str]:
        """The ``candidates`` not to read in this run (failed, unchanged since, not due), each
        added to ``known`` as (path, reason); the records of pages ``gone`` are forgotten."""
        self.forget(gone)
        if not self.records:
            return set()
        now = self.now()
        skip: set[str] = set()
        for key in sorted(candidates & self.records.keys()):
            record, found = self.records[key], pages.get(key)
            if found is None or (found.size, found.mtime_ns) != (record.size, record.mtime_ns):
                continue
            if record.settings != self.settings or (
                record.transient and (not self.backoff or record.due(now, LONGEST_WAIT))
            ):
                continue
            skip.add(key)
            known.append(
                (str(found.path), f"{record.reason} (failed {record.since}, {_when(record)})")
            )
        return skip

    def record(self, key: str, reason: str, exc: BaseException | None, max_bytes: int) -> bool:
        """Remember that page ``key`` failed with ``reason``; False: the failure recorded
        before on the same bytes (only the mtime moved), nothing new to report."""
        if self.dry_run:
            return True
        path = self.root / key
        now = self.fingerprint(path, max_bytes)
        if now is None:
            self.forget([key])
            return True
        size, mtime_ns, digest = now
        transient = exc is not None and is_transient(exc)
        before = self.records.get(key)
        same = (
            before is not None
            and before.reason == reason
            and before.transient == transient
            and before.settings == self.settings
            and (
                (before.size, before.mtime_ns) == (size, mtime_ns)
                or (bool(digest) and before.sha256 == digest)
            )
        )
        attempts = before.attempts + 1 if same and before is not None else 1
        since = before.since if same and before is not None else iso(self.clock())
        record = FailedPage(
            size=size,
            mtime_ns=mtime_ns,
            sha256=digest,
            reason=reason,
            transient=transient,
            attempts=attempts,
            since=since,
            retry_at=self.now() + backoff(attempts) if transient else 0.0,
            settings=self.settings,
        )
        self.records[key] = record
        self.state.put_failed_page(self.vault_name, self.path(key), record)
        return not same or transient

    fingerprint = staticmethod(_fingerprint)

    def forget(self, keys: Iterable[str]) -> None:
        """The pages ``keys`` are synced or gone: their failures are over."""
        done = [key for key in keys if key in self.records]
        if not done:
            return
        for key in done:
            del self.records[key]
        if not self.dry_run:
            self.state.delete_failed_pages(self.vault_name, [self.path(key) for key in done])


def record_vault(
    state: StateStore, name: str, root: Path, reason: str | None, since: str = ""
) -> None:
    """Vault ``name`` (at ``root``) closed for ``reason`` since ``since``: one failure under its
    folder; None: open again."""
    if reason is None:
        state.delete_failed_pages(name, [str(root)])
    else:
        record = FailedPage(-1, -1, "", reason, True, 1, since, 0.0, "")
        state.put_failed_page(name, str(root), record)


def _when(record: FailedPage) -> str:
    if not record.transient:
        return "unchanged since: read again when it changes"
    return f"tried again after {round(backoff(record.attempts))} s"
