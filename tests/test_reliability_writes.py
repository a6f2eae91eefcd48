"""Issue 5, acceptance 3: a full sync writes nowhere but the vault and the state directory.

Three independent witnesses, for ``syncd once`` (a first sync and two updates) and ``syncd run``:

1. An audit hook (``sys.addaudithook``, installed before syncd is imported) records every
   file-system event the Python process raises: ``open`` with a writing flag, ``os.rename``
   (also ``os.replace``), ``os.link``, ``os.symlink``, ``os.mkdir``, ``os.remove``,
   ``os.rmdir``, ``os.chmod``, ``os.chown``, ``os.truncate``, ``os.utime``, ``shutil.*`` and
   ``sqlite3.connect``. Every path must lie in the vault or the state directory.
2. Where ``strace`` works, every successful system call that writes to a path (``openat``
   with a writing flag, ``rename*``, ``link*``, ``unlink*``, ``mkdir*``, ``chmod``, ...) made by
   the process and its threads, which also sees what C code does: SQLite's -wal/-shm files and
   the ``renameat2`` syncd calls through ctypes (invisible to audit hooks).
   syncd names a note's files relative to its open folder (``dir_fd``): the hook joins the
   folder's path to the name where the event carries the folder; an ``open`` event does
   not, so a relative name opened for writing must be one of syncd's temp files, whose
   folder strace (``-y``) and the snapshots check.
3. Snapshots (path, size, mtime) of everything else the process could reach and a careless
   program writes to: the graph, ``$HOME``, ``$TMPDIR`` and the working directory are equal
   before and after.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncd.vault import is_temp_file
from tests.reliability_helpers import REPO, WAIT, Home, highlight_url

AUDIT = r"""
import json, os, sys
out_path = sys.argv[1]
events = []
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# event -> (index of a path, index of its dir_fd or None)
PATH_EVENTS = {
    "os.rename": ((0, 2), (1, 3)), "os.link": ((0, 2), (1, 3)), "os.symlink": ((1, 3),),
    "os.mkdir": ((0, 2),), "os.remove": ((0, 1),), "os.rmdir": ((0, 1),),
    "os.chmod": ((0, 2),), "os.chown": ((0, 3),), "os.truncate": ((0, None),),
    "os.utime": ((0, 3),), "shutil.copyfile": ((1, None),), "shutil.copytree": ((1, None),),
    "shutil.move": ((0, None), (1, None)), "shutil.rmtree": ((0, None),),
    "sqlite3.connect": ((0, None),),
}

def name(value, dir_fd=None):
    if isinstance(value, int):
        return None  # a file descriptor: its path was recorded when it was opened
    path = os.fsdecode(value)
    if isinstance(dir_fd, int) and dir_fd >= 0 and not os.path.isabs(path):
        return os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
    return os.path.abspath(path)

def hook(event, args):
    if event == "open":
        path, mode, flags = args
        writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE
        )
        if writing and isinstance(path, (str, bytes)) and not os.path.isabs(os.fsdecode(path)):
            events.append(("open-at", os.fsdecode(path)))  # relative to a folder syncd opened
        elif writing and name(path) is not None:
            events.append((event, name(path)))
    elif event in PATH_EVENTS:
        for index, fd_index in PATH_EVENTS[event]:
            if index < len(args) and args[index] is not None and name(args[index]):
                dir_fd = args[fd_index] if fd_index is not None and fd_index < len(args) else None
                events.append((event, name(args[index], dir_fd)))

out = open(out_path, "w")  # before the hook: this one is the test's
sys.addaudithook(hook)
sys.argv = ["syncd", *sys.argv[2:]]
try:
    from syncd.cli import main
    code = main(sys.argv[1:])
finally:
    json.dump(events, out)
    out.close()
sys.exit(code)
"""

# system calls that change the file system at a path (strace's names)
WRITING_CALLS = {
    "creat", "mkdir", "mkdirat", "rename", "renameat", "renameat2", "link", "linkat",
    "symlink", "symlinkat", "unlink", "unlinkat", "rmdir", "chmod", "fchmodat", "chown",
    "lchown", "fchownat", "truncate", "utime", "utimes", "utimensat", "futimesat", "mknod",
    "mknodat", "setxattr", "lsetxattr", "removexattr", "lremovexattr",
}  # fmt: skip
OPEN_CALLS = {"open", "openat", "openat2"}
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
LINE_RE = re.compile(r"^(?:\[pid\s+)?\d+\]?\s+(\w+)\((.*)\)\s+=\s+(\d+)")
ARG_RE = re.compile(r'(?:(AT_FDCWD|\d+<([^>]*)>),\s*)?"((?:[^"\\]|\\.)*)"')


def strace_available() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=getpid", sys.executable, "-c", "pass"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


STRACE = strace_available()


def strace_writes(trace: Path, cwd: Path) -> list[tuple[str, str]]:
    """(system call, absolute path) for every successful path write in an ``strace -y`` log."""
    found: list[tuple[str, str]] = []
    for line in trace.read_text("utf-8", errors="replace").splitlines():
        match = LINE_RE.match(line)
        if match is None:
            continue
        call, args = match.group(1), match.group(2)
        if call in OPEN_CALLS:
            if not any(flag in args for flag in WRITE_FLAGS):
                continue
        elif call not in WRITING_CALLS:
            continue
        for arg in ARG_RE.finditer(args):
            base = arg.group(2) if arg.group(2) is not None else str(cwd)
            raw = arg.group(3).encode("latin-1", "backslashreplace").decode("unicode_escape")
            found.append((call, os.path.normpath(Path(base) / raw)))
    return found


class Watched:
    """A home plus the places nothing may be written to, with HOME/TMPDIR pointed at them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = Home(root / "user")
        self.user_home = root / "fake-home"
        self.tmpdir = root / "tmpdir"
        self.cwd = root / "cwd"
        for folder in (self.user_home / ".config", self.tmpdir, self.cwd):
            folder.mkdir(parents=True)
            (folder / "existing.txt").write_text("was here\n", "utf-8")
        self.env = {
            **os.environ,
            "HOME": str(self.user_home),
            "TMPDIR": str(self.tmpdir),
            "XDG_CONFIG_HOME": str(self.user_home / ".config"),
            "XDG_STATE_HOME": str(self.user_home / ".local" / "state"),
            "XDG_CACHE_HOME": str(self.user_home / ".cache"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(REPO),
        }
        for name in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC"):
            self.env.pop(name, None)

    def snapshot(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for folder in (self.home.graph, self.user_home, self.tmpdir, self.cwd):
            out[str(folder)] = (0, folder.stat().st_mtime_ns)
            for path in folder.rglob("*"):
                st = path.lstat()
                out[str(path)] = (st.st_size, st.st_mtime_ns)
        return out

    def command(self, name: str, *args: str) -> list[str]:
        """syncd ARGS under the audit hook (and strace where it works)."""
        command = [sys.executable, "-c", AUDIT, str(self.root / f"{name}.audit.json"), *args]
        if STRACE:
            trace = str(self.root / f"{name}.strace")
            command = ["strace", "-f", "-y", "-qq", "-e", "trace=%file", "-o", trace, *command]
        return command

    def allowed(self, path: str) -> bool:
        real = os.path.realpath(path)
        return any(
            real == str(root) or real.startswith(str(root) + os.sep)
            for root in (self.home.vault.resolve(), self.home.state.resolve())
        )

    def writes_outside(self, name: str) -> list[tuple[str, str]]:
        """Recorded writes that are not in the vault or the state dir (the test's own audit
        log excepted: the wrapper opens it before installing the hook)."""
        audit_file = self.root / f"{name}.audit.json"
        audit = [tuple(e) for e in json.loads(audit_file.read_text("utf-8"))]
        assert audit, "the audit hook saw nothing: it is not working"
        writes: list[tuple[str, str]] = [(kind, path) for kind, path in audit]
        if STRACE:
            traced = strace_writes(self.root / f"{name}.strace", self.cwd)
            assert any(self.allowed(path) for _, path in traced), "strace saw nothing"
            writes += [(kind, path) for kind, path in traced if path != str(audit_file)]
        return [
            (kind, path)
            for kind, path in writes
            if not (
                self.allowed(path) or (kind == "open-at" and "/" not in path and is_temp_file(path))
            )
        ]


def test_syncd_once_writes_only_into_the_vault_and_the_state_dir(tmp_path: Path) -> None:
    watched = Watched(tmp_path)
    home = watched.home
    for doc in ("a", "b"):
        home.put(doc, [1, 2])
    for run, change in enumerate((None, "a", "b")):
        if change is not None:
            home.put(change, [1, 2], added=[[3]])
        before = watched.snapshot()
        done = subprocess.run(
            watched.command(f"once-{run}", "once", "-c", str(home.config)),
            capture_output=True,
            text=True,
            cwd=watched.cwd,
            env=watched.env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert watched.writes_outside(f"once-{run}") == []
        assert watched.snapshot() == before, "written outside the vault and the state dir"
    assert home.url_counts()[highlight_url("b", 3)] == 1


@pytest.mark.skipif(not STRACE, reason="strace is not installed or cannot trace here")
def test_strace_sees_what_the_audit_hook_cannot(tmp_path: Path) -> None:
    """The witness itself: strace records SQLite's own files and the ctypes renameat2."""
    watched = Watched(tmp_path)
    watched.home.put("a", [1])
    done = subprocess.run(
        watched.command("probe", "once", "-c", str(watched.home.config)),
        capture_output=True,
        text=True,
        cwd=watched.cwd,
        env=watched.env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    traced = strace_writes(tmp_path / "probe.strace", watched.cwd)
    paths = {path for _, path in traced}
    assert str(watched.home.state / "state.sqlite3-wal") in paths
    note = str(watched.home.note("a"))
    assert any(path == note for call, path in traced if call in ("renameat2", "linkat", "link"))


def test_the_daemon_writes_only_into_the_vault_and_the_state_dir(tmp_path: Path) -> None:
    watched = Watched(tmp_path)
    home = watched.home
    home.put("a", [1, 2])
    before = watched.snapshot()
    log_path = tmp_path / "daemon.log"
    log = log_path.open("w", encoding="utf-8")
    proc = subprocess.Popen(
        watched.command("daemon", "run", "-c", str(home.config)),
        stdout=subprocess.DEVNULL,
        stderr=log,
        cwd=watched.cwd,
        env=watched.env,
    )
    try:
        note = home.note("a")
        deadline = time.monotonic() + WAIT
        while not (note.exists() and " ready: " in log_path.read_text("utf-8")):
            assert proc.poll() is None, log_path.read_text("utf-8")
            assert time.monotonic() < deadline, log_path.read_text("utf-8")
            time.sleep(0.05)
        home.put("a", [1, 2], added=[[3]])  # the one change the test makes outside
        while highlight_url("a", 3) not in note.read_text("utf-8"):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        syncd_pid = proc.pid
        if STRACE:  # strace runs syncd as its child and exits with its status
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            syncd_pid = int(children[0])
        os.kill(syncd_pid, signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert watched.writes_outside("daemon") == []
    after = watched.snapshot()
    page = str(home.page("Document a"))
    after[page] = before[page] = (0, 0)
    assert after == before, "written outside the vault and the state dir"
