"""``run_daemon`` as a real process (tests/daemon_fake_engine.py: everything real but the engine).

A test binds the notify socket systemd would, and checks the daemon's side of the protocol:
READY=1 after the first scan, RELOADING=1 / READY=1 on SIGHUP, STOPPING=1 and exit 0 on SIGTERM,
WATCHDOG=1 only while the worker makes progress; exit 2 for a broken configuration and 75 for a
second instance. Tests with the real engine (vault contents) live elsewhere.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncd.daemon.lock import read_lock_owner
from syncd.state import StateStore

CHILD = Path(__file__).resolve().parent / "daemon_fake_engine.py"
WAIT = 30.0  # generous bound for something that must happen; never reached when things work


class Notify:
    """The service manager's end of $NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []

    def next(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            message = self.sock.recv(65536).decode()
        except TimeoutError:
            return None
        self.messages.append(message)
        return message

    def wait_for(self, field: str, timeout: float = WAIT) -> str:
        """The next message holding the line ``field`` (others are kept in ``messages``)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.next(left)
            if message is not None and field in message.split("\n"):
                return message
        raise AssertionError(f"no {field} within {timeout} s; got {self.messages}")

    def drain(self, seconds: float) -> list[str]:
        """Everything received during the next ``seconds``."""
        got: list[str] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            message = self.next(left)
            if message is not None:
                got.append(message)
        return got


class Daemon:
    def __init__(self, root: Path, notify: Notify, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.config = root / "config.yaml"
        self.record = root / "record.jsonl"
        self.stderr_path = root / f"stderr-{time.monotonic_ns()}.log"
        self.notify = notify
        self._stderr = self.stderr_path.open("w", encoding="utf-8")
        child_env = {**os.environ, "NOTIFY_SOCKET": str(notify.path), **(env or {})}
        for name in ("WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "INVOCATION_ID"):
            if not env or name not in env:
                child_env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(self.config), str(self.record)],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=child_env,
        )

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8")

    def calls(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        lines = self.record.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def wait_synced(self, page: Path) -> dict[str, Any]:
        """The sync_paths call that included ``page``."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for call in self.calls():
                if call["call"] == "sync" and str(page) in call["paths"]:
                    return call
            assert self.proc.poll() is None, self.stderr
            time.sleep(0.05)
        raise AssertionError(f"{page} never synced; calls: {self.calls()}\n{self.stderr}")

    def scans(self) -> int:
        return sum(1 for call in self.calls() if call["call"] == "scan")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


@pytest.fixture
def notify() -> Iterator[Notify]:
    # AF_UNIX paths are limited to 108 bytes: a short folder, not tmp_path
    with tempfile.TemporaryDirectory(prefix="sdn") as folder:
        listener = Notify(Path(folder) / "notify")
        yield listener
        listener.sock.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "graph" / "pages").mkdir(parents=True)
    (tmp_path / "vault" / ".obsidian").mkdir(parents=True)
    (tmp_path / "graph" / "pages" / "Existing.md").write_text("- old\n", encoding="utf-8")
    _write_config(tmp_path)
    return tmp_path


def _write_config(root: Path, settle: str = "0.2s", rescan: str = "1h") -> None:
    (root / "config.yaml").write_text(
        f"""\
state_dir: {root / "state"}
vaults:
  - name: main
    path: {root / "vault"}
    sources:
      - path: {root / "graph"}
daemon:
  settle_seconds: {settle}
  rescan_interval: {rescan}
""",
        encoding="utf-8",
    )


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.close()


def _start(root: Path, notify: Notify, daemons: list[Daemon], **env: str) -> Daemon:
    daemon = Daemon(root, notify, env)
    daemons.append(daemon)
    return daemon


def test_ready_sync_reload_second_instance_and_stop(
    root: Path, notify: Notify, daemons: list[Daemon]
) -> None:
    daemon = _start(root, notify, daemons)
    ready = notify.wait_for("READY=1")
    assert daemon.scans() == 1  # READY=1 comes after the first full scan
    assert any(line.startswith("STATUS=") for line in ready.split("\n"))

    # an atomic save (temp file + rename) reaches the engine as the page, with its content
    pages = root / "graph" / "pages"
    page = pages / "Deep Work.md"
    temp = pages / ".Deep Work.md.Xa81.tmp"
    temp.write_text("- highlight one\n- highlight two\n", encoding="utf-8")
    temp.replace(page)
    call = daemon.wait_synced(page)
    assert call["contents"][str(page)] == "- highlight one\n- highlight two\n"
    assert str(temp) not in call["paths"]

    # Logseq's name for a title starting with "../"
    dotfile = pages / "..___x.md"
    dotfile.write_text("- a\n", encoding="utf-8")
    daemon.wait_synced(dotfile)

    # a second daemon on the same state directory exits at once with its own status
    second = subprocess.run(
        [sys.executable, str(CHILD), str(daemon.config), str(root / "record2.jsonl")],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"},
    )
    assert second.returncode == 75, second.stderr
    assert (
        f"syncd is already running (pid {daemon.proc.pid}) for state directory {root / 'state'}"
        in second.stderr
    )
    assert not (root / "record2.jsonl").exists()

    # SIGHUP: RELOADING=1, then READY=1 with the new configuration, and a rescan
    scans = daemon.scans()
    _write_config(root, settle="0.3s")
    daemon.signal(signal.SIGHUP)
    reloading = notify.wait_for("RELOADING=1")
    assert any(line.startswith("MONOTONIC_USEC=") for line in reloading.split("\n"))
    notify.wait_for("READY=1")
    deadline = time.monotonic() + WAIT
    while daemon.scans() == scans and time.monotonic() < deadline:
        time.sleep(0.05)
    assert daemon.scans() == scans + 1
    assert "configuration reloaded" in daemon.stderr

    assert read_lock_owner(root / "state") == daemon.proc.pid
    daemon.signal(signal.SIGTERM)
    notify.wait_for("STOPPING=1")
    assert daemon.proc.wait(timeout=5) == 0
    assert read_lock_owner(root / "state") is None
    with StateStore.open(root / "state" / "state.sqlite3") as state:
        assert state.get_meta("daemon_pid") == str(daemon.proc.pid)
        assert state.get_meta("daemon_stopped") is not None
        # the last scan is the one after the reload
        assert state.get_meta("last_scan_result") == "3 pages, 0 changed, 0 failed"


def test_periodic_rescan_runs_every_interval(
    root: Path, notify: Notify, daemons: list[Daemon]
) -> None:
    _write_config(root, rescan="1s")
    daemon = _start(root, notify, daemons)
    notify.wait_for("READY=1")
    deadline = time.monotonic() + WAIT
    while daemon.scans() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert daemon.scans() >= 3, daemon.stderr  # the start scan and two periodic ones
    assert "periodic" in daemon.stderr
    daemon.signal(signal.SIGINT)  # Ctrl-C in a terminal: the same clean stop
    notify.wait_for("STOPPING=1")
    assert daemon.proc.wait(timeout=5) == 0


def test_broken_config_exits_2(root: Path, notify: Notify, daemons: list[Daemon]) -> None:
    (root / "config.yaml").write_text("vaults:\n  - name: main\n", encoding="utf-8")
    daemon = _start(root, notify, daemons)
    assert daemon.proc.wait(timeout=WAIT) == 2
    assert "vaults[0].path" in daemon.stderr
    assert not (root / "state").exists()  # nothing written, not even the lock
    assert notify.drain(0) == []


def test_reload_with_a_broken_config_keeps_the_old_one(
    root: Path, notify: Notify, daemons: list[Daemon]
) -> None:
    daemon = _start(root, notify, daemons)
    notify.wait_for("READY=1")
    (root / "config.yaml").write_text("daemon: [unclosed\n", encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    notify.wait_for("RELOADING=1")
    ready = notify.wait_for("READY=1")
    assert "reload rejected, keeping the previous configuration" in daemon.stderr
    # systemd shows it: `systemctl --user status syncd` prints the STATUS= line
    status = next(line for line in ready.split("\n") if line.startswith("STATUS="))
    assert status.startswith("STATUS=reload rejected (")
    assert "invalid YAML" in status and "running the previous configuration" in status
    page = root / "graph" / "pages" / "After.md"
    page.write_text("- still syncing\n", encoding="utf-8")
    daemon.wait_synced(page)
    _write_config(root)  # fixed: the next reload clears the status line
    daemon.signal(signal.SIGHUP)
    notify.wait_for("RELOADING=1")
    assert "reload rejected" not in notify.wait_for("READY=1")
    daemon.signal(signal.SIGTERM)
    notify.wait_for("STOPPING=1")
    assert daemon.proc.wait(timeout=5) == 0


def test_watchdog_pings_stop_when_the_worker_is_stuck(
    root: Path, notify: Notify, daemons: list[Daemon]
) -> None:
    daemon = _start(
        root,
        notify,
        daemons,
        WATCHDOG_USEC="400000",  # ping every 0.2 s while healthy
        SYNCD_TEST_BUSY_STALL="1",  # one engine call longer than 1 s counts as stuck
        SYNCD_TEST_STOP_TIMEOUT="1",
    )
    notify.wait_for("READY=1")
    notify.wait_for("WATCHDOG=1")
    stuck = root / "graph" / "pages" / "hang.md"
    stuck.write_text("- the engine never returns from this page\n", encoding="utf-8")
    daemon.wait_synced(stuck)
    notify.drain(1.5)  # pings may continue until the stall limit is reached
    later = notify.drain(2.0)
    assert "WATCHDOG=1" not in "\n".join(later).split("\n")
    assert daemon.proc.poll() is None  # systemd, not syncd, decides to restart it
    daemon.signal(signal.SIGTERM)
    notify.wait_for("STOPPING=1")
    assert daemon.proc.wait(timeout=5) == 0  # the stuck sync is abandoned after 1 s
    assert "did not finish" in daemon.stderr
