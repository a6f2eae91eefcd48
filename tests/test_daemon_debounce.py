"""The per-path debouncer, on a fake monotonic clock (no sleeping)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.daemon.debounce import Debouncer, Signature, stat_signature

STEP = 0.05  # how often the fake worker polls


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _run(
    debouncer: Debouncer,
    clock: FakeClock,
    until: float,
    actions: dict[float, object] | None = None,
) -> list[tuple[float, Path]]:
    """Advance the clock in STEPs, doing ``actions`` (callables keyed by time offset) and
    collecting ``(offset, path)`` for every path that becomes ready."""
    start = clock.now
    pending = sorted((actions or {}).items())
    ready: list[tuple[float, Path]] = []
    steps = round(until / STEP)
    for i in range(steps + 1):
        offset = round(i * STEP, 6)
        clock.now = start + offset
        while pending and pending[0][0] <= offset + 1e-9:
            action = pending.pop(0)[1]
            assert callable(action)
            action()
        ready += [(offset, p) for p in debouncer.pop_ready()]
    return ready


def test_slow_writer_gives_one_ready_event_with_the_final_content(tmp_path: Path) -> None:
    clock = FakeClock()
    debouncer = Debouncer(2.0, recheck=0.25, clock=clock)
    page = tmp_path / "pages" / "Book.md"
    page.parent.mkdir()
    chunks = [f"- highlight {n}\n" for n in range(7)]
    seen_at_ready: list[str] = []

    def write(n: int) -> object:
        def action() -> None:
            with page.open("a", encoding="utf-8") as out:
                out.write(chunks[n])
            debouncer.add(page)  # the event the watcher would queue

        return action

    # seven writes over 3 s (one every 0.5 s)
    actions = {n * 0.5: write(n) for n in range(7)}
    ready = _run(debouncer, clock, 8.0, actions)
    assert [p for _, p in ready] == [page]
    offset = ready[0][0]
    assert 3.0 + 2.0 <= offset <= 3.0 + 2.0 + STEP  # settle after the last write, no later
    seen_at_ready.append(page.read_text(encoding="utf-8"))
    assert seen_at_ready == ["".join(chunks)]
    assert len(debouncer) == 0


def test_change_without_event_delays_until_stable() -> None:
    clock = FakeClock()
    sig: dict[Path, Signature | None] = {Path("/g/a.md"): (1, 1, 7)}
    debouncer = Debouncer(1.0, recheck=0.2, clock=clock, stat=lambda p: sig[p])
    path = Path("/g/a.md")

    def grow() -> None:  # a write the observer did not report (e.g. between two polls)
        sig[path] = (2, 2, 7)

    debouncer.add(path)
    ready = _run(debouncer, clock, 3.0, {0.9: grow})
    # sampled at 0.8, changed at 0.9: re-sampled at 1.0, stable at 1.2
    assert ready == [(1.2, path)]


def test_events_reset_the_settle_time_and_order_is_first_seen() -> None:
    clock = FakeClock()
    debouncer = Debouncer(1.0, recheck=0.1, clock=clock, stat=lambda p: (1, 1, 1))
    a, b = Path("/g/a.md"), Path("/g/b.md")
    debouncer.add(b)
    debouncer.add(a)
    ready = _run(debouncer, clock, 3.0, {0.5: lambda: debouncer.add(b)})
    assert ready == [(1.0, a), (1.5, b)]


def test_both_ready_at_once_keep_first_seen_order() -> None:
    clock = FakeClock()
    debouncer = Debouncer(1.0, recheck=0.1, clock=clock, stat=lambda p: None)
    paths = [Path(f"/g/{n}.md") for n in (3, 1, 2)]
    for path in paths:
        debouncer.add(path)
    clock.now += 0.9
    assert debouncer.pop_ready() == []  # first sample
    clock.now += 0.1
    assert debouncer.pop_ready() == paths


def test_deleted_file_becomes_ready(tmp_path: Path) -> None:
    clock = FakeClock()
    debouncer = Debouncer(0.5, recheck=0.1, clock=clock)
    gone = tmp_path / "gone.md"
    debouncer.add(gone)
    assert _run(debouncer, clock, 1.0) == [(0.5, gone)]


def test_continuous_writer_is_handed_over_after_max_delay() -> None:
    clock = FakeClock()
    debouncer = Debouncer(2.0, max_delay=10.0, clock=clock, stat=lambda p: None)
    path = Path("/g/log.md")
    actions: dict[float, object] = {
        round(t * 0.5, 6): (lambda: debouncer.add(path)) for t in range(0, 41)
    }
    ready = _run(debouncer, clock, 25.0, actions)
    # handed over while still being written; the events after that bring it back once more
    # (at the max delay again: the writer stops at 20 s, which that hand-over includes)
    assert ready == [(10.0, path), (20.5, path)]


def test_open_writer_waits_for_the_close_however_long_its_pauses() -> None:
    clock = FakeClock()
    debouncer = Debouncer(0.3, recheck=0.1, max_delay=30.0, clock=clock, stat=lambda p: (1, 1, 1))
    path = Path("/g/slow.md")
    # one writer keeps the file open: writes 0.5 s apart (longer than the settle time)
    actions: dict[float, object] = {
        t * 0.5: (lambda: debouncer.add(path, writing=True)) for t in range(0, 7)
    }
    actions[3.2] = lambda: debouncer.add(path, writing=False)  # closed
    ready = _run(debouncer, clock, 6.0, actions)
    assert ready == [(3.5, path)]  # settled from the close on, not from a pause
    assert debouncer.next_deadline() is None


def test_writer_hints_none_keep_the_state_and_a_never_closed_file_is_handed_over() -> None:
    clock = FakeClock()
    debouncer = Debouncer(0.3, recheck=0.1, max_delay=5.0, clock=clock, stat=lambda p: (1, 1, 1))
    path = Path("/g/open.md")
    actions: dict[float, object] = {
        0.0: lambda: debouncer.add(path, writing=True),
        0.5: lambda: debouncer.add(path),  # an attribute change: still open
    }
    assert _run(debouncer, clock, 6.0, actions) == [(5.0, path)]  # max_delay, not forever


def test_next_deadline() -> None:
    clock = FakeClock()
    debouncer = Debouncer(2.0, recheck=0.25, clock=clock, stat=lambda p: (1, 1, 1))
    assert debouncer.next_deadline() is None
    debouncer.add(Path("/g/a.md"))
    assert debouncer.next_deadline() == pytest.approx(clock.now + 1.75)  # first sample
    clock.now += 1.75
    assert debouncer.pop_ready() == []
    assert debouncer.next_deadline() == pytest.approx(clock.now + 0.25)  # hand-over
    clock.now += 0.25
    assert debouncer.pop_ready() == [Path("/g/a.md")]
    assert debouncer.next_deadline() is None


def test_late_event_timestamps_do_not_move_time_backwards() -> None:
    clock = FakeClock()
    debouncer = Debouncer(1.0, recheck=0.1, clock=clock, stat=lambda p: (1, 1, 1))
    path = Path("/g/a.md")
    debouncer.add(path, at=clock.now + 0.5)
    debouncer.add(path, at=clock.now)  # an older event drained later
    assert _run(debouncer, clock, 3.0) == [(1.5, path)]


def test_set_settle_applies_to_pending_paths() -> None:
    clock = FakeClock()
    debouncer = Debouncer(5.0, recheck=0.2, clock=clock, stat=lambda p: (1, 1, 1))
    debouncer.add(Path("/g/a.md"))
    debouncer.set_settle(1.0)
    assert _run(debouncer, clock, 2.0) == [(1.0, Path("/g/a.md"))]


def test_zero_settle() -> None:
    clock = FakeClock()
    debouncer = Debouncer(0.0, clock=clock, stat=lambda p: (1, 1, 1))
    debouncer.add(Path("/g/a.md"))
    assert debouncer.pop_ready() == [Path("/g/a.md")]


def test_stat_signature(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    assert stat_signature(page) is None
    page.write_bytes(b"abc")
    st = page.stat()
    assert stat_signature(page) == (3, st.st_mtime_ns, st.st_ino)
