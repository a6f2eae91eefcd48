"""The single-instance lock, with real processes: a second one is refused, SIGKILL frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.daemon.lock import InstanceLock, lock_path, read_lock_owner
from syncd.errors import AlreadyRunning

HOLD = """
import sys
from pathlib import Path
from syncd.daemon.lock import InstanceLock
lock = InstanceLock.acquire(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()  # hold the lock until killed or stdin closes
"""

TRY = """
import sys
from pathlib import Path
from syncd.daemon.lock import InstanceLock
from syncd.errors import AlreadyRunning
try:
    InstanceLock.acquire(Path(sys.argv[1]))
except AlreadyRunning as exc:
    print(exc)
    raise SystemExit(75)
print("acquired")
"""


def _holder(state_dir: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _try(state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", TRY, str(state_dir)], capture_output=True, text=True, timeout=60
    )


def test_second_process_is_refused_and_sigkill_frees_the_lock(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    holder = _holder(state_dir)
    try:
        assert read_lock_owner(state_dir) == holder.pid
        second = _try(state_dir)
        assert second.returncode == 75
        assert second.stdout.strip() == (
            f"syncd is already running (pid {holder.pid}) for state directory {state_dir}"
        )
    finally:
        holder.kill()  # SIGKILL: no cleanup code runs in the holder
        holder.wait()
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.stdout.close()
    assert holder.returncode == -signal.SIGKILL
    assert read_lock_owner(state_dir) is None
    third = _try(state_dir)
    assert third.returncode == 0, third.stdout + third.stderr
    assert third.stdout.strip() == "acquired"


def test_lock_in_process(tmp_path: Path) -> None:
    state_dir = tmp_path / "a" / "b"
    lock = InstanceLock.acquire(state_dir)
    assert lock_path(state_dir).read_text() == f"{os.getpid()}\n"
    assert read_lock_owner(state_dir) == os.getpid()
    # another open file description of the same file conflicts, even in one process
    with pytest.raises(AlreadyRunning, match=rf"already running \(pid {os.getpid()}\)"):
        InstanceLock.acquire(state_dir)
    lock.release()
    assert lock_path(state_dir).read_text() == ""  # released: no pid any more
    assert read_lock_owner(state_dir) is None
    assert lock_path(state_dir).exists()  # never unlinked (that would race with a new owner)
    InstanceLock.acquire(state_dir).release()


def test_owner_of_a_never_used_state_dir(tmp_path: Path) -> None:
    assert read_lock_owner(tmp_path / "nothing") is None
