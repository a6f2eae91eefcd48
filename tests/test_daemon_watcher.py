"""The watcher with real watchdog observers on tmp_path, plus observer selection rules."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)
from watchdog.observers.polling import PollingObserver

from syncd.daemon import watcher as watcher_module
from syncd.daemon.watcher import (
    QueueingHandler,
    Watcher,
    WatchMode,
    choose_mode,
    filesystem_type,
    install_lost_events_hook,
    is_remote_fs,
    parse_mountinfo,
    remove_lost_events_hook,
)

WAIT = 20.0  # generous bound for an event to arrive; never reached when things work


class Events:
    """Collects what the handler queues, and the lost-event reports."""

    def __init__(self) -> None:
        self.paths: queue.Queue[Path] = queue.Queue()
        self.lost: list[str] = []
        self.hints: list[tuple[Path, bool | None]] = []  # (path, writing) in arrival order

    def sink(self, path: Path, at: float, writing: bool | None) -> None:
        assert at <= time.monotonic()
        self.hints.append((path, writing))
        self.paths.put(path)

    def wait_for(self, wanted: Path) -> list[Path]:
        """Every path queued up to and including ``wanted``."""
        seen: list[Path] = []
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                path = self.paths.get(timeout=0.1)
            except queue.Empty:
                continue
            seen.append(path)
            if path == wanted:
                return seen
        raise AssertionError(f"{wanted} never queued; saw {seen}")


def _alive(watch: Watcher) -> bool:
    """Every root has a running observer."""
    return all(w.observer is not None and Watcher._alive(w.observer) for w in watch.watches)


def md_only(path: Path) -> bool:
    return path.suffix == ".md"


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def start_watcher(events: Events) -> Iterator[Callable[..., Watcher]]:
    started: list[Watcher] = []

    def start(
        root: Path, is_relevant: Callable[[Path], bool] = md_only, **kwargs: object
    ) -> Watcher:
        handler = QueueingHandler(events.sink, is_relevant, on_lost_events=events.lost.append)
        w = Watcher([root], handler, on_lost_events=events.lost.append, **kwargs)  # type: ignore[arg-type]
        w.start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def test_atomic_rename_save_is_seen_as_the_destination(
    tmp_path: Path, events: Events, start_watcher: Callable[..., Watcher]
) -> None:
    watch = start_watcher(tmp_path)
    assert watch.watches[0].mode is WatchMode.INOTIFY
    page = tmp_path / "pages" / "Book.md"
    page.parent.mkdir()
    tmp = page.parent / ".Book.md.x7Gq2.tmp"  # an editor's temp name, not a page
    tmp.write_text("- new highlight\n", encoding="utf-8")
    tmp.replace(page)
    seen = events.wait_for(page)
    assert tmp not in seen


def test_logseq_dotfile_page_is_seen(
    tmp_path: Path, events: Events, start_watcher: Callable[..., Watcher]
) -> None:
    start_watcher(tmp_path)
    page = tmp_path / "..___x.md"  # Logseq's file name for the title "../x"
    page.write_text("- a\n", encoding="utf-8")
    events.wait_for(page)


def test_syncd_temp_files_are_ignored(
    tmp_path: Path, events: Events, start_watcher: Callable[..., Watcher]
) -> None:
    start_watcher(tmp_path, is_relevant=lambda p: True)  # the handler itself must filter
    temp = tmp_path / ".syncd.Note.md.k2j4.tmp"
    temp.write_text("x", encoding="utf-8")
    temp.replace(tmp_path / "Note.md")
    marker = tmp_path / "marker.md"
    marker.write_text("x", encoding="utf-8")
    seen = events.wait_for(marker)
    assert temp not in seen
    assert tmp_path / "Note.md" in seen


def test_handler_exception_does_not_kill_the_observer(
    tmp_path: Path, events: Events, start_watcher: Callable[..., Watcher]
) -> None:
    def is_relevant(path: Path) -> bool:
        if path.name == "boom.md":
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "a bug in a predicate")
        return path.suffix == ".md"

    watch = start_watcher(tmp_path, is_relevant=is_relevant)
    (tmp_path / "boom.md").write_text("x", encoding="utf-8")
    after = tmp_path / "after.md"
    after.write_text("x", encoding="utf-8")
    events.wait_for(after)
    assert _alive(watch)
    assert "event handler error" in events.lost  # a lost event means a rescan


def test_polling_when_configured(
    tmp_path: Path, events: Events, start_watcher: Callable[..., Watcher]
) -> None:
    watch = start_watcher(tmp_path, force_polling=True, poll_interval=0.1)
    assert watch.watches[0].mode is WatchMode.POLLING
    assert isinstance(watch.watches[0].observer, PollingObserver)
    page = tmp_path / "p.md"
    page.write_text("x", encoding="utf-8")
    events.wait_for(page)


def test_inotify_failure_falls_back_to_polling(
    tmp_path: Path,
    events: Events,
    start_watcher: Callable[..., Watcher],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    class NoInotify(PollingObserver):
        def start(self) -> None:
            raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher_module, "Observer", NoInotify)
    with caplog.at_level(logging.INFO, logger="syncd.daemon.watcher"):
        watch = start_watcher(tmp_path, poll_interval=0.1)
    assert watch.watches[0].mode is WatchMode.POLLING
    assert "inotify watch limit reached" in caplog.text
    page = tmp_path / "p.md"
    page.write_text("x", encoding="utf-8")
    events.wait_for(page)


def test_dead_observer_is_restarted_with_a_rescan(
    tmp_path: Path, events: Events, start_watcher: Callable[..., Watcher]
) -> None:
    watch = start_watcher(tmp_path)
    old = watch.watches[0].observer
    assert old is not None
    old.stop()
    old.join(WAIT)
    assert not _alive(watch)
    watch.check()
    assert _alive(watch) and watch.watches[0].observer is not old
    assert any("started watching" in reason for reason in events.lost)
    page = tmp_path / "p.md"
    page.write_text("x", encoding="utf-8")
    events.wait_for(page)


def test_missing_root_is_retried(tmp_path: Path, events: Events) -> None:
    now = [0.0]
    root = tmp_path / "graph"
    handler = QueueingHandler(events.sink, md_only)
    watch = Watcher(
        [root], handler, on_lost_events=events.lost.append, retry_interval=60, clock=lambda: now[0]
    )
    watch.start()
    try:
        assert watch.watches[0].observer is None
        root.mkdir()
        watch.check()
        assert watch.watches[0].observer is None  # not before the retry interval
        now[0] = 61.0
        watch.check()
        assert _alive(watch)
        assert events.lost == [f"started watching {root} again"]
        page = root / "p.md"
        page.write_text("x", encoding="utf-8")
        events.wait_for(page)
    finally:
        watch.stop()


def test_handler_filters_event_kinds(events: Events) -> None:
    handler = QueueingHandler(events.sink, md_only, clock=lambda: 0.0)
    handler.dispatch(FileOpenedEvent("/g/a.md"))  # reading is not a change
    handler.dispatch(FileCreatedEvent("/g/b.txt"))  # not relevant
    handler.dispatch(FileMovedEvent("/g/old.md", "/g/new.md"))
    handler.dispatch(FileCreatedEvent(b"/g/bytes.md"))
    queued = [events.paths.get_nowait() for _ in range(events.paths.qsize())]
    assert queued == [Path("/g/old.md"), Path("/g/new.md"), Path("/g/bytes.md")]


def test_handler_tells_whether_a_writer_holds_the_file(events: Events) -> None:
    handler = QueueingHandler(events.sink, md_only, clock=lambda: 0.0)
    handler.dispatch(FileModifiedEvent("/g/a.md"))  # written, still open
    handler.dispatch(FileClosedEvent("/g/a.md"))  # the writer closed it
    handler.dispatch(FileCreatedEvent("/g/b.md"))  # says nothing about writers
    handler.dispatch(FileMovedEvent("/g/.b.md.tmp", "/g/b.md"))  # complete file renamed in
    handler.dispatch(FileDeletedEvent("/g/c.md"))
    assert events.hints == [
        (Path("/g/a.md"), True),
        (Path("/g/a.md"), False),
        (Path("/g/b.md"), None),
        (Path("/g/b.md"), False),
        (Path("/g/c.md"), False),
    ]
    # the polling observer reports no closes: a modification must not mean "still open"
    events.hints.clear()
    handler.for_polling().dispatch(FileModifiedEvent("/g/a.md"))
    assert events.hints == [(Path("/g/a.md"), None)]


def test_inotify_reports_an_open_writer_until_it_closes(
    tmp_path: Path, events: Events, start_watcher: Callable[..., Watcher]
) -> None:
    start_watcher(tmp_path)
    page = tmp_path / "slow.md"
    with page.open("w", encoding="utf-8") as out:
        out.write("- part one")
        out.flush()
        events.wait_for(page)
        deadline = time.monotonic() + WAIT
        while (page, True) not in events.hints and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (page, True) in events.hints
        assert (page, False) not in events.hints  # not closed yet
    events.wait_for(page)
    deadline = time.monotonic() + WAIT
    while events.hints[-1] != (page, False) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert events.hints[-1] == (page, False)  # IN_CLOSE_WRITE came last


def test_polling_observer_gets_the_polling_handler(
    tmp_path: Path, events: Events, start_watcher: Callable[..., Watcher]
) -> None:
    start_watcher(tmp_path, force_polling=True, poll_interval=0.1)
    page = tmp_path / "p.md"
    page.write_text("x", encoding="utf-8")
    events.wait_for(page)
    page.write_text("xy", encoding="utf-8")
    deadline = time.monotonic() + WAIT
    while len(events.hints) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(writing is not True for _, writing in events.hints), events.hints


def test_watchdog_overflow_warning_requests_a_rescan() -> None:
    lost: list[str] = []
    hook = install_lost_events_hook(lost.append)
    try:
        # what watchdog 7.1 logs on IN_Q_OVERFLOW (its only signal of lost events)
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost"
        )
        logging.getLogger("watchdog.observers.inotify_c").debug("in-event noise")
    finally:
        remove_lost_events_hook(hook)
    assert lost == ["watchdog: Inotify queue overflowed; filesystem events were lost"]


MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /home/u/nas rw - nfs4 server:/export rw
41 40 0:51 / /home/u/nas/local\040disk rw - ext4 /dev/sdb1 rw
42 27 0:52 / /home/u/remote rw,nosuid - fuse.sshfs u@host:/ rw
43 27 0:53 / /media/usb rw - fuseblk /dev/sdc1 rw
"""


@pytest.mark.parametrize(
    ("path", "fstype", "mode"),
    [
        ("/home/u/Logseq", "ext4", WatchMode.INOTIFY),
        ("/home/u/nas/Logseq", "nfs4", WatchMode.POLLING),
        ("/home/u/nas/local disk/Logseq", "ext4", WatchMode.INOTIFY),
        ("/home/u/nasty", "ext4", WatchMode.INOTIFY),
        ("/home/u/remote/graph", "fuse.sshfs", WatchMode.POLLING),
        ("/media/usb/graph", "fuseblk", WatchMode.INOTIFY),
    ],
)
def test_choose_mode_by_file_system(path: str, fstype: str, mode: WatchMode) -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert filesystem_type(Path(path), mounts) == fstype
    choice = choose_mode(Path(path), force_polling=False, mounts=mounts, max_watches=1 << 20)
    assert choice.mode is mode
    if mode is WatchMode.POLLING:
        assert fstype in choice.reason


def test_choose_mode_forced_and_by_watch_limit(tmp_path: Path) -> None:
    mounts = [("/", "ext4")]
    forced = choose_mode(tmp_path, force_polling=True, mounts=mounts)
    assert forced.mode is WatchMode.POLLING and "daemon.polling" in forced.reason
    for n in range(5):
        (tmp_path / f"d{n}").mkdir()
    small = choose_mode(tmp_path, force_polling=False, mounts=mounts, max_watches=3)
    assert small.mode is WatchMode.POLLING and "max_user_watches" in small.reason
    enough = choose_mode(tmp_path, force_polling=False, mounts=mounts, max_watches=100)
    assert enough.mode is WatchMode.INOTIFY


def test_remote_file_systems() -> None:
    assert all(is_remote_fs(t) for t in ("nfs", "cifs", "smb3", "fuse", "fuse.rclone", "9p"))
    assert not any(is_remote_fs(t) for t in ("ext4", "btrfs", "xfs", "tmpfs", "fuseblk"))
