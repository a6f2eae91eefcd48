"""File system watching: watchdog events become queued paths, nothing more.

- ``QueueingHandler`` runs on watchdog's single dispatcher thread: O(µs) work, and it never
  raises (one exception kills the dispatcher for good: watchdog#427, #793). Moves count for both
  paths (atomic saves arrive as ``tmp → page``); dotfiles are not skipped (Logseq writes
  ``..___x.md`` for a title starting with ``../``).
- ``Watcher``: one observer per source root, inotify, or polling where inotify misses changes
  (network/FUSE file systems) or cannot be set up (watch limit), or the configuration asks.
- Lost events (a handler error, a dead observer, any WARNING from watchdog's loggers: the only
  sign of an inotify queue overflow in watchdog 7.1) call ``on_lost_events(reason)``: a rescan.
"""

from __future__ import annotations

import copy
import enum
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog import events as wd
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from syncd.vault import is_temp_file

log = logging.getLogger(__name__)

Sink = Callable[[Path, float, "bool | None"], None]  # (path, monotonic time, writing)
LostEvents = Callable[[str], None]

POLL_INTERVAL = 5.0  # seconds between two polls of a tree; each poll stats every file
RETRY_INTERVAL = 60.0  # seconds between two attempts to watch a root that failed

# Events that may mean "this path's content changed or it is gone". Opened/ClosedNoWrite are
# not asked for (syncd's own reads would cause them); DirModified is noise.
EVENT_FILTER: list[type[FileSystemEvent]] = [
    wd.FileCreatedEvent,
    wd.FileModifiedEvent,
    wd.FileClosedEvent,
    wd.FileMovedEvent,
    wd.FileDeletedEvent,
    wd.FileAttribEvent,
    wd.DirCreatedEvent,
    wd.DirMovedEvent,
    wd.DirDeletedEvent,
]
_CONTENT_EVENTS = {"created", "modified", "closed", "deleted", "attrib"}  # wd.EVENT_TYPE_*

# File systems where changes can happen behind the local kernel's back (inotify misses them).
NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "coda",
        "davfs",
        "glusterfs",
        "gpfs",
        "lustre",
        "ncpfs",
        "sshfs",
        "vboxsf",
        "virtiofs",
    }
)


def is_remote_fs(fstype: str) -> bool:
    """True for network and FUSE file systems (``fuse``, ``fuse.sshfs`` ...); ``fuseblk``
    (ntfs-3g, exfat on a local disk) is local: every write goes through this kernel."""
    return fstype in NETWORK_FS or fstype == "fuse" or fstype.startswith("fuse.")


class QueueingHandler(FileSystemEventHandler):
    """Queue the paths of relevant file events; never raise into watchdog."""

    def __init__(
        self,
        sink: Sink,
        is_relevant: Callable[[Path], bool],
        *,
        on_lost_events: LostEvents | None = None,
        clock: Callable[[], float] = time.monotonic,
        close_events: bool = True,
    ) -> None:
        """``close_events``: the observer reports closes (inotify), so a modification means
        "still open for writing" (``writing`` True) until the close arrives. False: polling."""
        super().__init__()
        self._sink = sink
        self._is_relevant = is_relevant
        self._on_lost_events = on_lost_events
        self._clock = clock
        self._close_events = close_events

    def for_polling(self) -> QueueingHandler:
        """The same handler for an observer that reports no closes (``PollingObserver``)."""
        twin = copy.copy(self)
        twin._close_events = False
        return twin

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            self._queue(event)
        except Exception:  # any error here would kill watchdog's dispatcher thread
            try:
                log.exception("error while queueing %s; a rescan will catch up", event)
                if self._on_lost_events is not None:
                    self._on_lost_events("event handler error")
            except Exception:  # logging itself failed; nothing left to do safely
                pass

    def _queue(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            # Moves and copies of folders come with per-file events (watchdog 7.1 simulates them).
            return
        kind = event.event_type
        writing: bool | None = None
        if kind == wd.EVENT_TYPE_MOVED:
            raw_paths: tuple[bytes | str, ...] = (event.src_path, event.dest_path)
            writing = False  # a complete file renamed into place, or the page renamed away
        elif kind in _CONTENT_EVENTS:
            raw_paths = (event.src_path,)
            if kind == wd.EVENT_TYPE_MODIFIED:
                writing = True if self._close_events else None
            elif kind in (wd.EVENT_TYPE_CLOSED, wd.EVENT_TYPE_DELETED):
                writing = False
        else:
            return
        now = self._clock()
        for raw in raw_paths:
            if not raw:
                continue
            path = Path(os.fsdecode(raw))
            if is_temp_file(path.name) or not self._is_relevant(path):
                continue
            self._sink(path, now, writing)


class LostEventsLogHandler(logging.Handler):
    """Calls ``on_lost_events`` for every WARNING or worse that watchdog logs (an inotify
    queue overflow, a watch not rebuilt, a folder the poller cannot read: changes unseen)."""

    def __init__(self, on_lost_events: LostEvents) -> None:
        super().__init__(level=logging.WARNING)
        self._on_lost_events = on_lost_events

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._on_lost_events(f"watchdog: {record.getMessage()}")
        except Exception:
            self.handleError(record)


def install_lost_events_hook(on_lost_events: LostEvents) -> LostEventsLogHandler:
    """Attach a ``LostEventsLogHandler`` to the ``watchdog`` logger; remove it when done."""
    handler = LostEventsLogHandler(on_lost_events)
    logger = logging.getLogger("watchdog")
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    return handler


def remove_lost_events_hook(handler: LostEventsLogHandler) -> None:
    logging.getLogger("watchdog").removeHandler(handler)


# --- Choosing an observer --------------------------------------------------------------------


class WatchMode(enum.Enum):
    INOTIFY = "inotify"
    POLLING = "polling"


@dataclass(slots=True, unsafe_hash=True)
class WatchChoice:
    mode: WatchMode
    reason: str


_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def parse_mountinfo(text: str) -> list[tuple[str, str]]:
    """``(mount point, fstype)`` pairs, in mount order, from ``/proc/self/mountinfo`` lines
    (``id parent maj:min root mountpoint options [optional...] - fstype source opts``)."""
    mounts: list[tuple[str, str]] = []
    for line in text.splitlines():
        before, sep, after = line.partition(" - ")
        fields = before.split()
        rest = after.split()
        if not sep or len(fields) < 5 or not rest:
            continue
        point = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])  # \040: space
        mounts.append((point, rest[0]))
    return mounts


def read_mounts() -> list[tuple[str, str]]:
    """The mounts of this process (none where /proc is not mounted: then inotify is used)."""
    try:
        text = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return []
    return parse_mountinfo(text)


def filesystem_type(path: Path, mounts: Iterable[tuple[str, str]] | None = None) -> str | None:
    """The type of the file system holding ``path`` (the longest, latest matching mount)."""
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for point, fstype in read_mounts() if mounts is None else mounts:
        prefix = point.rstrip("/") + "/"
        if (target == point or target.startswith(prefix) or point == "/") and (
            best is None or len(point) >= best[0]
        ):
            best = (len(point), fstype)
    return None if best is None else best[1]


def _max_user_watches() -> int | None:
    try:
        return int(Path("/proc/sys/fs/inotify/max_user_watches").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None


def count_directories(root: Path, limit: int) -> int:
    """Folders under ``root`` (inotify needs one watch each), counting up to ``limit``."""
    count = 0
    for _dirpath, _dirnames, _files in os.walk(root, followlinks=False):
        count += 1
        if count >= limit:
            break
    return count


def choose_mode(
    root: Path,
    *,
    force_polling: bool,
    mounts: Iterable[tuple[str, str]] | None = None,
    max_watches: int | None = None,
) -> WatchChoice:
    """inotify unless the configuration, the file system or the watch limit rule it out."""
    if force_polling:
        return WatchChoice(WatchMode.POLLING, "daemon.polling is set in the configuration")
    fstype = filesystem_type(root, mounts)
    if fstype is not None and is_remote_fs(fstype):
        return WatchChoice(
            WatchMode.POLLING,
            f"it is on a {fstype} file system, where inotify misses changes made elsewhere",
        )
    limit = _max_user_watches() if max_watches is None else max_watches
    if limit is not None:
        folders = count_directories(root, limit + 1)
        if folders > limit:
            return WatchChoice(
                WatchMode.POLLING,
                f"it has more folders than fs.inotify.max_user_watches ({limit}); raise it with "
                "`sysctl fs.inotify.max_user_watches=524288` to use inotify",
            )
        if folders > limit // 2:
            log.warning(
                "%s: %d folders use most of fs.inotify.max_user_watches (%d); folders beyond the "
                "limit go unwatched (the periodic rescan still sees them)",
                root,
                folders,
                limit,
            )
    return WatchChoice(WatchMode.INOTIFY, f"local {fstype or 'unknown'} file system")


# --- Observers -------------------------------------------------------------------------------


@dataclass(slots=True)
class RootWatch:
    root: Path
    mode: WatchMode | None = None
    reason: str = ""
    observer: BaseObserver | None = None
    retry_at: float = 0.0  # monotonic time of the next attempt when observer is None


class Watcher:
    """One observer per source root, restarted when it dies, retried when it cannot start."""

    def __init__(
        self,
        roots: Iterable[Path],
        handler: FileSystemEventHandler,
        *,
        force_polling: bool = False,
        on_lost_events: LostEvents | None = None,
        poll_interval: float = POLL_INTERVAL,
        retry_interval: float = RETRY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._handler = handler
        self._force_polling = force_polling
        self._on_lost_events = on_lost_events
        self._poll_interval = poll_interval
        self._retry_interval = retry_interval
        self._clock = clock
        self.watches = [RootWatch(root) for root in dict.fromkeys(roots)]

    def start(self) -> None:
        for watch in self.watches:
            self._start(watch, initial=True)

    def _start(self, watch: RootWatch, *, initial: bool) -> bool:
        """Start an observer for ``watch``; False (and a later retry) if the root is unusable."""
        watch.retry_at = self._clock() + self._retry_interval
        if not watch.root.is_dir():
            if initial or watch.mode is not None:
                log.error(
                    "%s: cannot watch, not a folder; retrying every %.0f s",
                    watch.root,
                    self._retry_interval,
                )
            watch.mode = None
            return False
        try:
            choice = choose_mode(watch.root, force_polling=self._force_polling)
        except OSError as exc:
            log.warning("%s: cannot inspect the folder (%s); polling it", watch.root, exc)
            choice = WatchChoice(WatchMode.POLLING, f"cannot inspect the folder: {exc}")
        if choice.mode is WatchMode.INOTIFY:
            try:
                watch.observer = self._launch(watch.root, Observer())
            except FileNotFoundError:
                log.error("%s: folder vanished while starting to watch it", watch.root)
                watch.mode = None
                return False
            except OSError as exc:  # ENOSPC: watch limit, EMFILE: instance limit
                choice = WatchChoice(
                    WatchMode.POLLING,
                    f"inotify cannot watch it ({exc}); raise fs.inotify.max_user_watches / "
                    "max_user_instances to use inotify",
                )
        if choice.mode is WatchMode.POLLING:
            try:
                watch.observer = self._launch(
                    watch.root, PollingObserver(timeout=self._poll_interval), polling=True
                )
            except OSError as exc:
                log.error(
                    "%s: cannot watch: %s; retrying every %.0f s",
                    watch.root,
                    exc,
                    self._retry_interval,
                )
                watch.mode = None
                return False
        watch.mode, watch.reason = choice.mode, choice.reason
        if choice.mode is WatchMode.POLLING:
            log.warning(
                "watching %s by polling every %g s: %s",
                watch.root,
                self._poll_interval,
                choice.reason,
            )
        else:
            log.info("watching %s with inotify (%s)", watch.root, choice.reason)
        return True

    def _launch(self, root: Path, observer: BaseObserver, *, polling: bool = False) -> BaseObserver:
        observer.name = f"syncd-watch {root}"
        handler = self._handler
        if polling and isinstance(handler, QueueingHandler):
            handler = handler.for_polling()  # no close events: modified says nothing more
        observer.schedule(
            handler, root, recursive=True, event_filter=EVENT_FILTER, follow_symlink=False
        )
        try:
            observer.start()
        except BaseException:
            self._halt(observer, 1.0)
            raise
        return observer

    @staticmethod
    def _alive(observer: BaseObserver) -> bool:
        return observer.is_alive() and all(e.is_alive() for e in list(observer.emitters))

    def check(self) -> None:
        """Restart dead observers and retry roots that could not be watched (call it often)."""
        now = self._clock()
        for watch in self.watches:
            if watch.observer is not None:
                if self._alive(watch.observer):
                    continue
                log.warning("%s: the file system watcher stopped; restarting it", watch.root)
                self._halt(watch.observer, 1.0)
                watch.observer = None
                watch.retry_at = now  # restart right away
            if now < watch.retry_at:
                continue
            if self._start(watch, initial=False) and self._on_lost_events is not None:
                self._on_lost_events(f"started watching {watch.root} again")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every observer. Events still queued inside watchdog are dropped (the next
        start's scan covers them)."""
        for watch in self.watches:
            if watch.observer is not None:
                watch.observer.stop()
        deadline = self._clock() + timeout
        for watch in self.watches:
            if watch.observer is not None:
                self._halt(watch.observer, max(0.0, deadline - self._clock()))
                watch.observer = None

    @staticmethod
    def _halt(observer: BaseObserver, timeout: float) -> None:
        try:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout)
        except Exception:  # a half-started observer can fail to stop; it holds no resources we need
            log.debug("stopping an observer failed", exc_info=True)

    def describe(self) -> list[str]:
        return [
            f"{w.root}: {w.mode.value if w.mode and w.observer else 'not watched'}"
            for w in self.watches
        ]
