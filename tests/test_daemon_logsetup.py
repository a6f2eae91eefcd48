"""Log lines: journald priority prefixes under systemd, timestamps on a terminal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.daemon.logsetup import (
    StampFormatter,
    configure_logging,
    stderr_is_journal,
    syslog_priority,
)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _journal_env(stream_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    st = stream_path.stat()
    monkeypatch.delenv("INVOCATION_ID", raising=False)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")


def test_journal_lines_have_priority_prefixes_and_no_timestamps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "stderr"
    with out.open("w", encoding="utf-8") as stream:
        _journal_env(out, monkeypatch)
        assert stderr_is_journal(stream)
        configure_logging(0, stream=stream)
        log = logging.getLogger("syncd.test")
        log.info("synced %s", "Books/Deep Work.md")
        log.warning("careful")
        log.debug("not shown at verbosity 0")
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            log.exception("scan failed")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["<6>synced Books/Deep Work.md", "<4>careful"]
    assert len(lines) == 3  # the traceback is folded into its record's line
    assert lines[2].startswith("<3>scan failed | Traceback (most recent call last):")
    assert lines[2].endswith("ValueError: bad | value")


def test_terminal_lines_have_timestamps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INVOCATION_ID", raising=False)
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    out = tmp_path / "stderr"
    with out.open("w", encoding="utf-8") as stream:
        configure_logging(1, stream=stream)
        configure_logging(1, stream=stream)  # configuring twice does not duplicate lines
        logging.getLogger("syncd.test").debug("detail")
    (line,) = out.read_text(encoding="utf-8").splitlines()
    date, clock, level, name, message = line.split(" ", 4)
    assert len(date) == 10 and date[4] == "-" and len(clock) == 8 and clock[2] == ":"
    assert (level, name, message) == ("DEBUG", "syncd.test:", "detail")


@given(st.lists(st.floats(min_value=0, max_value=4e9), max_size=20))
def test_a_timestamp_made_once_a_second_is_the_formatters(times: list[float]) -> None:
    """StampFormatter keeps the stamp of the last second: records in any order, several in
    one second, give logging.Formatter's own stamps."""
    cached = StampFormatter(None, "%Y-%m-%d %H:%M:%S")
    plain = logging.Formatter(None, "%Y-%m-%d %H:%M:%S")
    for when in [*times, *times[:3]]:
        record = logging.LogRecord("syncd", logging.INFO, "", 0, "m", None, None)
        record.created = when
        assert cached.formatTime(record, cached.datefmt) == plain.formatTime(record, plain.datefmt)


def test_journal_detection(tmp_path: Path) -> None:
    out = tmp_path / "stderr"
    out.write_text("")
    st = out.stat()
    with out.open("w", encoding="utf-8") as stream:
        assert stderr_is_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        # inherited from a parent whose stderr was the journal, but ours is not
        assert not stderr_is_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})
        assert not stderr_is_journal(stream, {})
        assert stderr_is_journal(stream, {"INVOCATION_ID": "0123abcd"})


def test_priorities() -> None:
    assert [syslog_priority(n) for n in (50, 40, 30, 20, 10, 5)] == [2, 3, 4, 6, 7, 7]
