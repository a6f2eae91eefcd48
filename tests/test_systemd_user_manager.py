"""The shipped unit under a real systemd user manager, installed as the README says (issue 14).

Root only (a private mount namespace and a delegated cgroup for the manager): `systemd --user`
runs as an unprivileged user (nobody) in a mount namespace of its own, with a tmpfs on /run
(what PID 1 makes there at boot, and the user's runtime dir) and on /home, where the test's home
folder is bound at /home/syncd-test, so the unit's sandbox (PrivateUsers=yes, ProtectHome=
read-only, PrivateTmp=yes) treats it as a user's home. The checkout and its Python packages are
bound read-only into that home, and ~/.local/bin/syncd runs them, so the unit file is the
shipped one, byte for byte. Only a test drop-in sends the service's output to a file (no
journald runs in the namespace). The test: the unit starts (READY), syncs a page, reloads,
rejects a broken configuration (the reload fails) and a state_dir change (its status line says
so), stops with exit 0; a second vault outside ReadWritePaths= gives one error line, and the
first vault syncs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncd.state import StateStore
from tests.reliability_helpers import readwise_page

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "syncd.service"
SYSTEMD = Path("/usr/lib/systemd/systemd")
INNER = Path("/home/syncd-test")  # the home folder as the manager and the service see it
USER = "nobody"  # the user the manager runs as
PYTHON_HOME = Path(sys.base_prefix).resolve()  # the interpreter, its library and stdlib
WAIT = 60.0  # generous bound for something that must happen; never reached when things work

# Runs as root in a new mount namespace (unshare --mount): the manager's world, then the manager.
MANAGER = r"""
set -eu
mount -t tmpfs -o mode=0755 tmpfs /run
# what PID 1 makes at boot: the sandbox mounts the inaccessible nodes over what it hides,
# and builds a unit's file system view under unit-root
mkdir -p /run/systemd/system /run/systemd/unit-root /run/systemd/inaccessible "$RUNTIME"
cd /run/systemd/inaccessible
touch reg && mkdir dir && mkfifo fifo && mknod chr c 0 0 && mknod blk b 0 0
chmod 0000 reg dir fifo chr blk
cd /
chown "$ID:$ID" "$RUNTIME"
chmod 0700 "$RUNTIME"
mount -t tmpfs -o mode=0755 tmpfs /home
mkdir "$INNER"
mount --bind "$OUTER" "$INNER"
mount --bind -o ro "$REPO" "$INNER/.local/lib/syncd"
mount --bind -o ro "$SITE" "$INNER/.local/lib/site-packages"
if [ -n "$HIDDEN" ]; then  # Python lives where the user cannot go (pyenv in /root): let them
    mkdir /run/python && mount --bind "$PYTHON_HOME" /run/python
    mount -t tmpfs -o mode=0755 tmpfs "$HIDDEN"
    mkdir -p "$PYTHON_HOME" && mount --bind /run/python "$PYTHON_HOME"
fi
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir "/sys/fs/cgroup/$CGROUP"
chown -R "$ID:$ID" "/sys/fs/cgroup/$CGROUP"
echo $$ > "/sys/fs/cgroup/$CGROUP/cgroup.procs"
status=0
HOME="$INNER" XDG_RUNTIME_DIR="$RUNTIME" setpriv --reuid="$ID" --regid="$ID" --clear-groups \
    "$SYSTEMD" --user || status=$?
echo $$ > /sys/fs/cgroup/cgroup.procs
find "/sys/fs/cgroup/$CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || true
exit $status
"""

WRAPPER = """#!/bin/sh
# what `pipx install` puts here: this checkout, its Python and its packages
PYTHONPATH={inner}/.local/lib/syncd:{inner}/.local/lib/site-packages exec {python} -m syncd "$@"
"""

CONFIG = """\
vaults:
  - name: main
    path: ~/Obsidian/Main
    sources:
      - path: ~/Logseq
  - name: other
    path: ~/Documents/Other
    sources:
      - path: ~/Logseq
daemon:
  settle_seconds: 0.2s
{extra}"""


def _closed_folder(path: Path) -> Path | None:
    """The outermost folder above ``path`` that other users cannot enter, if any."""
    return next((f for f in reversed(path.parents) if not f.stat().st_mode & 0o001), None)


def _why_not() -> str | None:
    if sys.platform != "linux" or os.geteuid() != 0:
        return "needs root: the user manager runs in a private mount namespace and cgroup"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"no user named {USER!r} to run the user manager as"
    for tool in ("unshare", "nsenter", "setpriv", "systemctl", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not SYSTEMD.exists():
        return f"{SYSTEMD} is missing (Debian: apt-get install systemd)"
    probe = ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "none", "/mnt"]
    if subprocess.run(probe, capture_output=True, check=False).returncode != 0:
        return "cannot mount in a private mount namespace here (a container without privileges?)"
    if PYTHON_HOME.is_relative_to("/tmp") or PYTHON_HOME.is_relative_to("/var/tmp"):
        return f"Python ({PYTHON_HOME}) is under /tmp, which the unit's PrivateTmp=yes hides"
    return None


WHY_NOT = _why_not()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))


class UserManager:
    """`systemd --user` of ``USER`` for a home folder ``home`` (seen inside as ``INNER``)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.uid = pwd.getpwnam(USER).pw_uid
        self.runtime = f"/run/user/{self.uid}"
        cgroup = f"syncd-test-{uuid.uuid4().hex[:12]}"
        env = {
            **os.environ,
            "RUNTIME": self.runtime,
            "ID": str(self.uid),
            "INNER": str(INNER),
            "OUTER": str(home),
            "REPO": str(REPO),
            "SITE": sysconfig.get_paths()["purelib"],
            "PYTHON_HOME": str(PYTHON_HOME),
            "HIDDEN": str(_closed_folder(PYTHON_HOME) or ""),
            "CGROUP": cgroup,
            "SYSTEMD": str(SYSTEMD),
        }
        self.log = (home.parent / "manager.log").open("wb")
        self.proc = subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--fork",
                "--kill-child",
                "sh",
                "-c",
                MANAGER,
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + WAIT
        state = ""
        while time.monotonic() < deadline and self.proc.poll() is None:
            state = self.ctl("is-system-running").stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.2)
        self.close()
        raise AssertionError(f"user manager not up ({state!r}): {self.manager_log()}")

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """``argv`` run by the user in the manager's mount namespace, in their environment."""
        user = [f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
        return subprocess.run(
            [
                "nsenter",
                f"--target={self.proc.pid}",
                "--mount",
                "--",
                "setpriv",
                *user,
                "env",
                f"HOME={INNER}",
                f"XDG_RUNTIME_DIR={self.runtime}",
                *argv,
            ],
            capture_output=True,
            text=True,
            timeout=WAIT,
        )

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--user", *args)

    def show(self, prop: str) -> str:
        return self.ctl("show", "--value", "-p", prop, "syncd").stdout.strip()

    def explain(self) -> str:
        """What went wrong: the unit's status, the service's output, the manager's log."""
        log = self.home / "syncd.log"
        return "\n".join(
            (
                self.ctl("status", "--no-pager", "syncd").stdout,
                log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)",
                self.manager_log(),
            )
        )

    def manager_log(self) -> str:
        return (self.home.parent / "manager.log").read_text(errors="replace")[-3000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.ctl("exit")
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for folder in (".local/lib/syncd", ".local/lib/site-packages", ".local/bin", "Logseq/pages"):
        (home / folder).mkdir(parents=True)
    wrapper = home / ".local/bin/syncd"
    python = os.path.realpath(sys.executable)
    wrapper.write_text(WRAPPER.format(inner=INNER, python=python), encoding="utf-8")
    wrapper.chmod(0o755)
    for folder in (".config/systemd/user", ".config/syncd", "Obsidian/Main", "Documents/Other"):
        (home / folder).mkdir(parents=True)
    uid = pwd.getpwnam(USER).pw_uid
    for path in (home, *home.rglob("*")):
        os.chown(path, uid, uid)  # the user's home (files written later are read only)
    return home


@pytest.fixture
def manager(home: Path) -> Iterator[UserManager]:
    started = UserManager(home)
    yield started
    started.close()


def _wait(what: str, check: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    text = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
    raise AssertionError(f"{what} within {WAIT} s; the service's log:\n{text}")


def test_the_shipped_unit_under_a_real_user_manager(home: Path, manager: UserManager) -> None:
    log = home / "syncd.log"
    config = home / ".config/syncd/config.yaml"
    # README, "Running as a service": the vault folders exist, the configuration checks
    config.write_text(CONFIG.format(extra=""), encoding="utf-8")
    checked = manager.run(f"{INNER}/.local/bin/syncd", "check")
    assert checked.returncode == 0, checked.stderr
    # ... the unit installed as it ships; only the test's drop-in, for the log (no journald)
    units = home / ".config/systemd/user"
    shutil.copyfile(UNIT, units / "syncd.service")
    (units / "syncd.service.d").mkdir()
    (units / "syncd.service.d/test-log.conf").write_text(
        f"[Service]\nStandardOutput=append:{INNER}/syncd.log\nStandardError=inherit\n",
        encoding="utf-8",
    )
    assert manager.ctl("daemon-reload").returncode == 0
    started = manager.ctl("enable", "--now", "syncd")  # returns once READY=1 arrived
    assert started.returncode == 0, started.stderr + manager.explain()
    assert manager.show("ActiveState") == "active"
    assert manager.show("SubState") == "running"
    assert "last scan" in manager.show("StatusText")
    assert (home / ".local/state/syncd/state.sqlite3").exists()  # ExecStartPre= made it

    # the vault outside ReadWritePaths=: one line naming it and the fix, no traceback
    _wait("the read-only vault reported", lambda: "Documents/Other" in log.read_text(), log)

    # a page written into the graph reaches the first vault
    page = home / "Logseq/pages/Deep Work (highlights).md"
    page.write_text(readwise_page("dw", [1, 2], title="Deep Work"), encoding="utf-8")
    note = home / "Obsidian/Main/Readwise/Articles/Deep Work.md"
    _wait("the note written", note.exists, log)
    assert "Highlight 2 of dw" in note.read_text(encoding="utf-8")
    assert not any((home / "Documents/Other").iterdir())

    # reload: the configuration is checked first, then the daemon re-reads it
    config.write_text(CONFIG.format(extra="  rescan_interval: 20m\n"), encoding="utf-8")
    reloaded = manager.ctl("reload", "syncd")
    assert reloaded.returncode == 0, reloaded.stderr
    _wait("the reload done", lambda: "configuration reloaded" in log.read_text(), log)

    # a broken configuration: the reload fails, the daemon runs on with the previous one
    config.write_text(CONFIG.format(extra="  rescan_interval: [\n"), encoding="utf-8")
    rejected = manager.ctl("reload", "syncd")
    assert rejected.returncode != 0
    assert "failed" in rejected.stderr
    assert "invalid" in log.read_text()  # `syncd check` said why
    assert manager.show("ActiveState") == "active"
    # what only the daemon sees (another state_dir) shows in the unit's status line
    config.write_text(CONFIG.format(extra="state_dir: ~/.local/state/other\n"), encoding="utf-8")
    assert manager.ctl("reload", "syncd").returncode == 0
    _wait("the status line", lambda: "reload rejected" in manager.show("StatusText"), log)
    assert "state_dir changed" in manager.ctl("status", "syncd").stdout
    config.write_text(CONFIG.format(extra=""), encoding="utf-8")

    # still syncing the first vault
    page.write_text(readwise_page("dw", [1, 2, 3], title="Deep Work"), encoding="utf-8")
    _wait("the new highlight", lambda: "Highlight 3 of dw" in note.read_text(), log)

    assert manager.ctl("stop", "syncd").returncode == 0
    assert manager.show("Result") == "success"
    assert manager.show("ExecMainStatus") == "0"
    assert manager.show("NRestarts") == "0"  # never a crash loop

    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text
    refused = [line for line in text.splitlines() if "Documents/Other" in line]
    # once at start, once after the reload that took (a new engine); never once per page
    assert len(refused) == 2, text
    assert f"ReadWritePaths={INNER}/Documents/Other" in refused[0]
    assert "read-only" in refused[0]
    with StateStore.open(home / ".local/state/syncd/state.sqlite3") as state:
        assert len(state.failed_pages("other")) == 1  # `syncd status` counts the vault, once
        assert list(state.failed_pages("other")) == [f"{INNER}/Documents/Other"]
        assert state.failed_pages("main") == {}
