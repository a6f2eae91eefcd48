"""Per-path debounce: a path is handed over once its file has settled.

A path is *ready* when no event came for it for ``settle`` seconds **and** its
``(size, mtime_ns, ino)`` did not change across a re-check ``recheck`` seconds apart (the first
sample taken ``recheck`` before the settle time ends: a quiet file is ready ``settle`` after its
last event). A file that keeps changing is handed over after ``max_delay`` anyway (a log-like
writer cannot starve it); the engine reads it only once settled, else it comes back here.

Events are hints: the signature decides (a file that is gone is None, ready like any other).
One hint is used where the watcher gives it (inotify, not polling): a file modified and not
closed since is held open by a writer, which may pause longer than ``settle`` between two
writes; its settle time runs from the close (or ``max_delay``), so a page is never read
half-written. Clock and stat are injectable (tested without sleeping); one worker owns it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Signature = tuple[int, int, int]  # (st_size, st_mtime_ns, st_ino)
StatFn = Callable[[Path], "Signature | None"]
Clock = Callable[[], float]


def stat_signature(path: Path) -> Signature | None:
    """``(size, mtime_ns, ino)`` of the file at ``path`` (symlinks followed); None if unreadable."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(slots=True)
class _Entry:
    first_event: float
    last_event: float
    signature: Signature | None = None
    sampled_at: float | None = None  # when ``signature`` was taken; None = not yet
    writing: bool = False  # modified and not closed since: a writer still holds it open

    def sample_valid(self) -> bool:
        return self.sampled_at is not None and self.sampled_at > self.last_event


class Debouncer:
    def __init__(
        self,
        settle: float,
        *,
        recheck: float = 0.25,
        max_delay: float = 30.0,
        clock: Clock = time.monotonic,
        stat: StatFn = stat_signature,
    ) -> None:
        self._recheck_wanted = recheck
        self._max_delay_wanted = max_delay
        self.settle = self.recheck = self.max_delay = 0.0
        self.set_settle(settle)
        self._clock = clock
        self._stat = stat
        self._entries: dict[Path, _Entry] = {}

    def set_settle(self, settle: float) -> None:
        """Change the settle time (a configuration reload); pending paths keep their events."""
        self.settle = settle
        self.recheck = min(self._recheck_wanted, settle)
        self.max_delay = max(self._max_delay_wanted, settle + self.recheck)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, path: Path, at: float | None = None, writing: bool | None = None) -> None:
        """Record an event for ``path`` seen at monotonic time ``at`` (default: now). ``writing``:
        True when the event says a writer has the file open (modified), False when it says the
        writing is over (closed, renamed into place, deleted), None when it says neither. Events
        of one path must be added in the order they happened."""
        now = self._clock() if at is None else at
        entry = self._entries.get(path)
        if entry is None:
            entry = self._entries[path] = _Entry(first_event=now, last_event=now)
        elif now > entry.last_event:
            entry.last_event = now
        if writing is not None:
            entry.writing = writing

    def _due(self, entry: _Entry) -> float:
        """When this entry next needs attention (a sample, a re-check or the hand-over)."""
        overdue = entry.first_event + self.max_delay
        if entry.writing:  # wait for the close event
            return overdue
        if not entry.sample_valid():
            return min(overdue, entry.last_event + self.settle - self.recheck)
        assert entry.sampled_at is not None
        return min(overdue, max(entry.last_event + self.settle, entry.sampled_at + self.recheck))

    def next_deadline(self) -> float | None:
        """The earliest monotonic time at which ``pop_ready`` may have work; None when idle."""
        if not self._entries:
            return None
        return min(self._due(entry) for entry in self._entries.values())

    def pop_ready(self, now: float | None = None) -> list[Path]:
        """Remove and return the paths that have settled, in the order they were first seen."""
        now = self._clock() if now is None else now
        ready: list[Path] = []
        for path, entry in list(self._entries.items()):
            if now < self._due(entry):
                continue
            if now >= entry.first_event + self.max_delay:
                ready.append(path)
                continue
            signature = self._stat(path)
            if entry.sample_valid() and signature == entry.signature:
                ready.append(path)  # due, so settled and re-checked: stable
            else:  # first sample after the last event, or it changed without an event
                entry.signature = signature
                entry.sampled_at = now
                if self.recheck == 0 and now >= entry.last_event + self.settle:
                    ready.append(path)
        for path in ready:
            del self._entries[path]
        return ready
