"""Issue 13 finding 6: a bad page was read and logged again at every scan, for ever (one ERROR
line per rescan per page), and ``syncd status`` said "0 failed" while listing them.

Now a failed page is remembered with its fingerprint (size, mtime, hash): it is read again when
it changes (an mtime that moved over the same bytes is no change), and a transient failure
(permission, disk full, I/O, the vault refusing a write) is tried again after a backoff in the
daemon, at once by ``syncd once``. ``syncd status`` counts the failed pages it lists.
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.config import load_config
from syncd.errors import PageError, VaultWriteError
from syncd.failures import FIRST_RETRY, backoff, is_transient
from syncd.state import StateStore
from syncd.sync import SyncEngine
from tests.reliability_helpers import (
    REPO,
    DaemonProcess,
    Home,
    highlight_url,
    page_failures,
    readwise_page,
    run_syncd,
)

SCAN_DONE = r"full scan \(periodic\): "


def bad_page(home: Home, doc: str, extra: bytes = b"") -> Path:
    """A Readwise page that is not UTF-8 (a permanent failure: its bytes are bad)."""
    path = home.page(f"Document {doc}")
    path.write_bytes(readwise_page(doc, [1]).encode() + b"\t- caf\xe9 " + extra + b"\n")
    return path


def status(home: Home) -> str:
    done = run_syncd(["status", "-c", str(home.config)])
    assert done.returncode == 0, done.stderr
    return done.stdout


def error_lines_naming(log: str, path: Path) -> list[str]:
    return [line for line in log.splitlines() if " ERROR " in line and str(path) in line]


def test_the_daemon_reports_a_bad_page_once_and_reads_it_again_when_it_changes(
    tmp_path: Path,
) -> None:
    home = Home(tmp_path, settle="0.05s", rescan="0.5s")
    home.put("good", [1, 2])
    bad = bad_page(home, "bad")
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()
        daemon.wait_for(lambda: daemon.count(SCAN_DONE) >= 6, "six periodic scans")
        assert len(error_lines_naming(daemon.log(), bad)) == 1, daemon.log()
        assert "not valid UTF-8" in error_lines_naming(daemon.log(), bad)[0]
        shown = status(home)
        assert "1 failed" in shown, shown
        assert len([line for line in shown.splitlines() if str(bad) in line]) == 1, shown

        # only the mtime moves (touch, a sync tool): the same bytes are no change
        os.utime(bad, ns=(bad.stat().st_atime_ns, bad.stat().st_mtime_ns + 5_000_000_000))
        scans = daemon.count(SCAN_DONE)
        daemon.wait_for(lambda: daemon.count(SCAN_DONE) >= scans + 3, "three more scans")
        assert len(error_lines_naming(daemon.log(), bad)) == 1, daemon.log()

        # changed, still bad: reported once more
        bad_page(home, "bad", extra=b"more")
        daemon.wait_for(
            lambda: len(error_lines_naming(daemon.log(), bad)) == 2, "the changed page's error"
        )
        scans = daemon.count(SCAN_DONE)
        daemon.wait_for(lambda: daemon.count(SCAN_DONE) >= scans + 3, "three more scans")
        assert len(error_lines_naming(daemon.log(), bad)) == 2, daemon.log()

        # repaired: synced, and no longer counted as failed
        home.put("bad", [1, 2])
        daemon.wait_for(lambda: home.note("bad").is_file(), "the repaired page's note")
        daemon.wait_for(lambda: "0 failed" in status(home), "status: 0 failed")
        assert str(bad) not in status(home)
    finally:
        assert daemon.stop() == 0
    assert home.url_counts()[highlight_url("bad", 2)] == 1


def test_syncd_once_names_an_unchanged_bad_page_without_reading_it_again(
    tmp_path: Path,
) -> None:
    home = Home(tmp_path)
    home.put("good", [1])
    bad = bad_page(home, "bad")
    first = home.once()
    assert first.returncode == 1, first.stderr
    [line] = page_failures(first.stderr)
    assert line.startswith(f"{bad}: not valid UTF-8"), line
    assert "1 failed" in first.stderr

    second = home.once()  # still exit 1 and named, from the record: the page is not read
    assert second.returncode == 1, second.stderr
    [line] = page_failures(second.stderr)
    assert line.startswith(f"{bad}: not valid UTF-8"), line
    assert "unchanged since: read again when it changes" in line
    assert "1 failed" in second.stderr
    assert "1 failed" in status(home)

    home.put("bad", [1])  # repaired: synced at once
    third = home.once()
    assert third.returncode == 0, third.stderr
    assert home.note("bad").is_file()
    assert "0 failed" in status(home)


def test_a_bad_page_is_read_again_when_the_settings_change(tmp_path: Path) -> None:
    """A page refused as too large is synced once ``max_page_size`` allows it, unchanged."""
    home = Home(tmp_path)
    home.put("big", list(range(1, 60)))
    home.write_config(extra="max_page_size: 1KiB\n")
    first = home.once()
    assert first.returncode == 1 and "page too large" in first.stderr, first.stderr
    home.write_config(extra="max_page_size: 1MiB\n")
    second = home.once()
    assert second.returncode == 0, second.stderr
    assert home.url_counts()[highlight_url("big", 59)] == 1


def test_a_deleted_bad_page_is_no_longer_counted(tmp_path: Path) -> None:
    home = Home(tmp_path)
    bad = bad_page(home, "bad")
    assert home.once().returncode == 1
    assert "1 failed" in status(home)
    bad.unlink()
    assert home.once().returncode == 0
    assert "0 failed" in status(home)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), True),
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EIO, "Input/output error"), True),
        (VaultWriteError("refused: folder leads outside the vault (/x)"), True),
        (PageError("not valid UTF-8 (byte 0xe9 at offset 3)"), False),
        (RecursionError(), False),
    ],
    ids=["eacces", "enospc", "eio", "vault-refused", "undecodable", "too-deep"],
)
def test_which_failures_are_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_a_wrapped_os_error_is_transient() -> None:
    try:
        try:
            raise OSError(errno.EIO, "Input/output error")
        except OSError as inner:
            raise VaultWriteError("cannot write note: Input/output error [EIO]") from inner
    except VaultWriteError as exc:
        assert is_transient(exc)
    assert [backoff(n) for n in (1, 2, 3, 12, 40)] == [30.0, 60.0, 120.0, 3600.0, 3600.0]


def test_a_transient_failure_is_retried_after_a_backoff_in_the_daemon(tmp_path: Path) -> None:
    """The daemon's engine (``retry_backoff``): a page the vault refuses (its folder is a
    symlink leading out) is tried again after 30 s, then 60 s, not at every scan; ``syncd
    once`` tries it at once; once the vault is fixed the page is synced."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    outside = tmp_path / "outside"
    outside.mkdir()
    (home.vault / "Readwise").mkdir()
    (home.vault / "Readwise" / "Articles").symlink_to(outside)
    config, _ = load_config(home.config)
    clock = [1_000_000.0]
    with StateStore.open(home.state / "state.sqlite3") as state:
        engine = SyncEngine(config, state, retry_backoff=True, clock=lambda: datetime.now(UTC))
        for source in engine._sources:
            source.failed.now = lambda: clock[0]

        def scan_at(seconds: float) -> tuple[int, int]:
            clock[0] = 1_000_000.0 + seconds
            report = engine.scan()
            return len(report.failures), len(report.known_failures)

        assert scan_at(0) == (1, 0)  # tried, failed, reported
        assert scan_at(1) == (0, 1)  # passed over: the wait is not over
        assert scan_at(FIRST_RETRY - 1) == (0, 1)
        assert scan_at(FIRST_RETRY + 1) == (1, 0)  # tried again, failed again: 60 s now
        assert scan_at(FIRST_RETRY + 50) == (0, 1)
        assert scan_at(FIRST_RETRY + 62) == (1, 0)
        [record] = [r for p, r in state.failed_pages("main").items() if "Document a" in p]
        assert "outside the vault" in record.reason and record.attempts == 3
        # syncd once does not wait: the user may just have fixed the cause
        once = SyncEngine(config, state)
        for source in once._sources:
            source.failed.now = lambda: clock[0]
        assert len(once.scan().failures) == 1
        (home.vault / "Readwise" / "Articles").unlink()
        assert scan_at(FIRST_RETRY + 63) == (0, 1)  # (the daemon still waits)
        assert scan_at(10_000) == (0, 0)  # tried again: synced
        assert state.failed_pages("main") == {}
    assert home.url_counts()[highlight_url("a", 2)] == 1
    assert not list(outside.iterdir())


def test_status_lists_each_failed_page_once(tmp_path: Path) -> None:
    home = Home(tmp_path)
    bad = [bad_page(home, name) for name in ("b1", "b2")]
    for _ in range(3):
        assert home.once().returncode == 1
    shown = status(home)
    assert re.search(r"\b2 failed\b", shown), shown
    for path in bad:
        assert len([line for line in shown.splitlines() if str(path) in line]) == 1, shown


def test_a_write_error_names_the_note_that_refused(tmp_path: Path) -> None:
    """Issue 13 (smaller item): the line named the source page only."""
    home = Home(tmp_path)
    page = home.put("a", [1])
    (home.vault / "Readwise").mkdir()
    folder = home.vault / "Readwise" / "Articles"
    folder.write_text("a file where the note's folder goes\n", encoding="utf-8")
    done = home.once()
    assert done.returncode == 1, done.stderr
    [line] = page_failures(done.stderr)
    # the folder that refused is named (a file stands where the note's folder goes)
    assert line.startswith(f"{page}: {folder}: refused: not a folder"), line


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)
def test_a_read_only_vault_is_one_line_and_the_other_vaults_sync(tmp_path: Path) -> None:
    """Issue 14: a vault the systemd unit leaves read-only gave one error per page, named the
    pages, and `syncd status` said "0 failed"."""
    home = Home(tmp_path)
    for doc in ("a", "b", "c"):
        home.put(doc, [1])
    other = tmp_path / "other"
    (other / ".obsidian").mkdir(parents=True)
    vault = f"  - name: other\n    path: {other}\n    sources:\n      - path: {home.graph}\n"
    home.config.write_text(home.config.read_text().replace("daemon:", vault + "daemon:"))
    once = f"{shlex.quote(sys.executable)} -m syncd once -c {shlex.quote(str(home.config))}"
    read_only = f"mount --bind {other} {other} && mount -o remount,ro,bind {other} {other}"
    for _ in range(2):
        done = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", f"{read_only} && {once}"],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        assert done.returncode == 1, done.stderr
        [line] = [line for line in done.stderr.splitlines() if str(other) in line]
        assert "read-only" in line and f"ReadWritePaths={other}" in line, line
        assert "Traceback" not in done.stderr
        assert home.note("c").is_file()  # the first vault synced
        assert not (other / "Readwise").exists()
        shown = status(home)
        assert re.search(rf"vault other \({re.escape(str(other))}\): .*\b1 failed\b", shown), shown
        assert len([line for line in shown.splitlines() if str(other) in line]) == 2, shown
    assert home.once().returncode == 0  # writable again: synced, and no longer counted
    assert (other / "Readwise" / "Articles" / "Document c.md").is_file()
    assert re.search(r"vault other .*\b0 failed\b", status(home)), status(home)
