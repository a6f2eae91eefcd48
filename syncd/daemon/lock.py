"""One daemon per state directory: an ``flock`` on ``<state_dir>/syncd.lock``.

The kernel drops an ``flock`` when its holder dies, even by SIGKILL, so there is no stale
pid-file logic: the pid written into the file is only there for messages and ``syncd status``.
Do not put a state directory on NFS/SMB (``flock`` is not reliable there).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from pathlib import Path

from syncd.errors import AlreadyRunning, SyncdError

log = logging.getLogger(__name__)

LOCK_NAME = "syncd.lock"


def lock_path(state_dir: Path) -> Path:
    return state_dir / LOCK_NAME


class InstanceLock:
    """An exclusive, non-blocking lock held for the life of a process that writes state."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_dir: Path) -> InstanceLock:
        path = lock_path(state_dir)
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise SyncdError(f"cannot open the lock file: {exc.strerror}", path) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                pid = _read_pid(path)
                who = f"pid {pid}" if pid is not None else "pid unknown"
                raise AlreadyRunning(
                    f"syncd is already running ({who}) for state directory {state_dir}"
                ) from exc
            raise SyncdError(f"cannot lock: {exc.strerror}", path) from exc
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:  # the lock is what matters; the pid is informational
            log.warning("%s: cannot write the pid: %s", path, exc.strerror)
        log.debug("%s: locked by pid %d", path, os.getpid())
        return cls(fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        # Leave the file in place: unlinking a lock file races with a new instance opening it.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


def read_lock_owner(state_dir: Path) -> int | None:
    """Pid of the live process holding the lock on ``state_dir``, or None when nobody holds it."""
    path = lock_path(state_dir)
    try:
        st = path.stat()
    except OSError:
        return None
    held = _held_per_proc_locks(st)
    if held is None:  # /proc/locks unreadable: probe (may, for an instant, block a starting daemon)
        held = _held_per_probe(path)
    if not held:
        return None
    return _read_pid(path)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def _held_per_proc_locks(st: os.stat_result) -> bool | None:
    """Whether /proc/locks lists an flock on this inode; None if /proc/locks cannot be read."""
    try:
        text = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    wanted = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    for line in text.splitlines():
        # "1: FLOCK  ADVISORY  WRITE 4170 fe:00:2146634 0 EOF" (a "->" marks a blocked waiter)
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK" or "->" in fields:
            continue
        parts = fields[5].split(":")
        if len(parts) != 3:
            continue
        try:
            found = (int(parts[0], 16), int(parts[1], 16), int(parts[2]))
        except ValueError:
            continue
        if found == wanted:
            return True
    return False


def _held_per_probe(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops a probe lock we may have taken
    return False
