"""Issue 13: configurations that would make syncd read its own output, and the smaller
configuration and start-up faults, each with a real ``syncd`` process on real folders.

Finding 4: a vault inside a folder a source reads pages from (or such a folder inside a vault),
after the graph's ``logseq/config.edn``, made the notes come back as garbled duplicate
documents. ``syncd check``, ``syncd once`` and ``syncd run`` now refuse it: exit 2, one line
naming the configuration file, the source, the folders and the reason, nothing written.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability_helpers import (
    WAIT,
    DaemonProcess,
    Home,
    error_lines,
    highlight_url,
    run_syncd,
)

EXIT_USAGE = 2


def second_vault(home: Home, path: Path) -> None:
    """A second vault at ``path`` fed by a graph of its own (graph2/)."""
    (home.root / "graph2" / "pages").mkdir(parents=True)
    text = home.config.read_text("utf-8").replace(
        "daemon:\n",
        f"  - name: second\n    path: {path}\n    sources:\n      - path: {home.root / 'graph2'}\n"
        "daemon:\n",
    )
    home.config.write_text(text, "utf-8")


# name -> (config.edn text or None, what else to set up, what the error line must say)
OVERLAPS = {
    "pages-directory-into-the-vault": (
        '{{:pages-directory "../vault/Articles"}}',
        None,
        ':pages-directory "../vault/Articles" ({root}/vault/Articles) is inside vault "main"',
    ),
    "journals-directory-is-the-vault": (
        '{{:journals-directory "../vault"}}',
        None,
        ':journals-directory "../vault" ({root}/vault) is vault "main"',
    ),
    "absolute-pages-directory-into-the-vault": (
        '{{:pages-directory "{root}/vault/Readwise"}}',
        None,
        ':pages-directory "{root}/vault/Readwise" ({root}/vault/Readwise) is inside vault "main"',
    ),
    "second-vault-inside-the-pages-folder": (
        None,
        "second-vault",
        'its pages folder ({root}/graph/pages) holds vault "second" ({root}/graph/pages/Second)',
    ),
    "pages-folder-a-symlink-into-the-vault": (
        None,
        "symlink",
        'its pages folder ({root}/vault/Readwise) is inside vault "main"',
    ),
}


@pytest.mark.parametrize("case", list(OVERLAPS))
def test_a_vault_overlapping_a_source_page_folder_is_refused(tmp_path: Path, case: str) -> None:
    root = tmp_path.resolve()
    home = Home(root)
    edn, setup, message = OVERLAPS[case]
    if edn is not None:
        (home.graph / "logseq").mkdir()
        (home.graph / "logseq" / "config.edn").write_text(edn.format(root=root), "utf-8")
    if setup == "second-vault":
        second_vault(home, home.pages / "Second")
    if setup == "symlink":
        (home.vault / "Readwise").mkdir()
        home.pages.rmdir()
        home.pages.symlink_to(home.vault / "Readwise")
    else:
        home.put("a1", [1, 2])
    before = home.vault_files()
    for command in ("check", "once", "run"):
        done = run_syncd([command, "-c", str(home.config)], timeout=60)
        assert done.returncode == EXIT_USAGE, (command, done.stderr)
        assert "Traceback" not in done.stderr
        errors = error_lines(done.stderr)
        assert len(errors) == 1, (command, done.stderr)
        assert f"{home.config}: vaults[0].sources[0].path: " in errors[0] or (
            setup == "second-vault" and f"{home.config}: vaults[1].sources[0].path: " in errors[0]
        ), errors
        assert message.format(root=root) in errors[0], errors
        assert "syncd would read the notes it writes as source pages" in errors[0]
    assert home.vault_files() == before  # nothing written
    assert not home.state.exists() or not (home.state / "state.sqlite3").exists()


@pytest.mark.parametrize(
    ("edn", "message"),
    [
        (
            '{:pages-directory "/etc"}',
            ':pages-directory "/etc" is an absolute path, not a folder inside the graph',
        ),
        (
            '{:journals-directory "../elsewhere"}',
            ':journals-directory "../elsewhere" leads out of the graph folder ({root}/graph)',
        ),
    ],
    ids=["absolute", "dot-dot"],
)
def test_a_page_folder_leading_out_of_the_graph_is_refused(
    tmp_path: Path, edn: str, message: str
) -> None:
    root = tmp_path.resolve()
    home = Home(root)
    (root / "elsewhere").mkdir()
    (home.graph / "logseq").mkdir()
    (home.graph / "logseq" / "config.edn").write_text(edn, "utf-8")
    home.put("a1", [1])
    for command in ("check", "once", "run"):
        done = run_syncd([command, "-c", str(home.config)], timeout=60)
        assert done.returncode == EXIT_USAGE, (command, done.stderr)
        assert "Traceback" not in done.stderr
        errors = error_lines(done.stderr)
        assert len(errors) == 1, done.stderr
        expected = f"{root}/graph/logseq/config.edn {message.format(root=root)}"
        assert expected in errors[0], errors
    assert home.vault_files() == {}


def test_source_vault_mode_refuses_a_pages_folder_in_the_vault(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    home = Home(root)
    (home.graph / "logseq").mkdir()
    (home.graph / "logseq" / "config.edn").write_text('{:pages-directory "../vault"}', "utf-8")
    home.put("a1", [1])
    done = run_syncd(["once", str(home.graph), str(home.vault), "--state-dir", str(home.state)])
    assert done.returncode == EXIT_USAGE, done.stderr
    errors = error_lines(done.stderr)
    assert len(errors) == 1, done.stderr
    assert (
        f'SOURCE: its pages folder, {root}/graph/logseq/config.edn :pages-directory "../vault" '
        f'({root}/vault) is vault "vault" ({root}/vault)'
    ) in errors[0]
    assert home.vault_files() == {}


def test_folders_beside_the_page_folders_may_hold_a_vault(tmp_path: Path) -> None:
    """Only the folders syncd reads pages from count: a vault elsewhere in the graph (not in
    pages/ or journals/) is allowed, and a graph with its own page folders set in config.edn
    syncs as before."""
    root = tmp_path.resolve()
    home = Home(root)
    (home.graph / "logseq").mkdir()
    (home.graph / "logseq" / "config.edn").write_text(
        '{:pages-directory "notes" :journals-directory "daily"}', "utf-8"
    )
    (home.graph / "notes").mkdir()
    second_vault(home, home.graph / "Other vault")
    home.put("a1", [1])
    home.page("Document a1").rename(home.graph / "notes" / home.page("Document a1").name)
    done = run_syncd(["check", "-c", str(home.config)])
    assert done.returncode == 0, done.stderr
    done = home.once()
    assert done.returncode == 0, done.stderr
    assert home.note("a1").is_file()


# --- the smaller items of issue 13 ---------------------------------------------------------


def test_a_rescan_interval_below_the_minimum_is_refused(tmp_path: Path) -> None:
    """``rescan_interval: 1ms`` was accepted and kept a core busy scanning."""
    home = Home(tmp_path, rescan="1ms")
    for command in ("check", "run"):
        done = run_syncd([command, "-c", str(home.config)], timeout=60)
        assert done.returncode == EXIT_USAGE, done.stderr
        [line] = error_lines(done.stderr)
        assert f"{home.config}: daemon.rescan_interval: '1ms' is too short: at least 0.5s" in line
    home.write_config(rescan="0.5s")
    assert run_syncd(["check", "-c", str(home.config)]).returncode == 0


def test_syncd_once_refused_by_a_running_daemon_exits_75(tmp_path: Path) -> None:
    """Like a second ``syncd run``: 75 (EX_TEMPFAIL: try again later), not 2 (usage)."""
    home = Home(tmp_path)
    home.put("a1", [1])
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()
        done = home.once()
        assert done.returncode == 75, done.stderr
        [line] = error_lines(done.stderr)
        assert f"syncd is already running (pid {daemon.proc.pid})" in line
        assert "Traceback" not in done.stderr
    finally:
        assert daemon.stop() == 0


def test_a_path_naming_an_unknown_user_is_refused(tmp_path: Path) -> None:
    """``path: ~nosuchuser/...`` made a folder named ``~nosuchuser`` next to the file."""
    home = Home(tmp_path)
    text = home.config.read_text("utf-8").replace(
        f"path: {home.vault}", "path: ~nosuchuser-of-syncd/vault"
    )
    home.config.write_text(text, "utf-8")
    for command in ("check", "once"):
        done = run_syncd([command, "-c", str(home.config)])
        assert done.returncode == EXIT_USAGE, done.stderr
        [line] = error_lines(done.stderr)
        assert "vaults[0].path: no user named 'nosuchuser-of-syncd' on this system" in line
    assert not list(tmp_path.rglob("~*")), "a folder named after the user was made"


def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys silently: the first vault path was dropped."""
    home = Home(tmp_path)
    text = home.config.read_text("utf-8").replace(
        f"    path: {home.vault}\n", f"    path: {home.vault}\n    path: {tmp_path}/other\n"
    )
    home.config.write_text(text, "utf-8")
    done = run_syncd(["check", "-c", str(home.config)])
    assert done.returncode == EXIT_USAGE, done.stderr
    [line] = error_lines(done.stderr)
    assert f"{home.config}: invalid YAML at line 5, column 5: duplicate key 'path' " in line
    assert "(first given at line 4)" in line


def test_merge_keys_are_no_duplicates(tmp_path: Path) -> None:
    home = Home(tmp_path)
    text = home.config.read_text("utf-8").replace(
        "daemon:\n  settle_seconds: 0.1s\n",
        "daemon:\n  <<: {settle_seconds: 0.1s}\n  settle_seconds: 0.2s\n",
    )
    home.config.write_text(text, "utf-8")
    done = run_syncd(["check", "-c", str(home.config)])
    assert done.returncode == 0, done.stderr


def hold_lock(db: Path) -> sqlite3.Connection:
    """Another program (a sqlite3 shell, a backup) holding the write lock of the state. It
    waits for a transaction syncd has open (a daemon just ready may still be recording its
    start), as such a program does, then holds the lock."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=WAIT)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_a_locked_state_database_is_one_clear_line(tmp_path: Path) -> None:
    home = Home(tmp_path, settle="0.05s")
    home.put("a1", [1])
    assert home.once().returncode == 0
    db = home.state / "state.sqlite3"
    home.put("a1", [1, 2])
    conn = hold_lock(db)
    try:
        for command in ("once", "run"):
            done = run_syncd([command, "-c", str(home.config)], timeout=60)
            assert done.returncode == 1, done.stderr
            assert "Traceback" not in done.stderr
            [line] = error_lines(done.stderr)
            assert "database is locked (another program holds a lock on it" in line, line
    finally:
        conn.close()

    # locked while the daemon runs: one line per attempt, no traceback; synced once released
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()
        conn = hold_lock(db)
        try:
            home.put("a1", [1, 2, 3])
            daemon.wait_for(lambda: "another program holds a lock" in daemon.log(), "the error")
        finally:
            conn.close()
        home.put("a1", [1, 2, 3, 4])
        daemon.wait_for(lambda: home.url_counts()[highlight_url("a1", 4)] == 1, "the page synced")
    finally:
        assert daemon.stop() == 0
    assert "Traceback" not in daemon.log()
    assert home.url_counts()[highlight_url("a1", 3)] == 1


def _mounts() -> str | None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare (mount namespaces)"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return None if probe.returncode == 0 else "unshare -m is not permitted here"


@pytest.mark.skipif(_mounts() is not None, reason=str(_mounts()))
def test_a_full_state_disk_is_said_to_be_full(tmp_path: Path) -> None:
    """SQLite says "disk I/O error" when it cannot grow its shared-memory file on a full disk:
    syncd says the disk holding the state folder is full."""
    home = Home(tmp_path)
    for n in range(5):
        home.put(f"d{n}", [1, 2])
    syncd = f"{shlex.quote(sys.executable)} -m syncd once -c {shlex.quote(str(home.config))}"
    more = "".join(
        f"printf '\\t- More ([View Highlight](https://e.org/more{n}))\\n' >> "
        f"{shlex.quote(str(home.page(f'Document d{n}')))}\n"
        for n in range(5)
    )
    script = f"""
        mkdir -p {home.state}
        mount -t tmpfs -o size=2m none {home.state}
        {syncd}; echo "first=$?"
        dd if=/dev/zero of={home.state}/filler bs=1k 2>/dev/null
        {more}
        {syncd}; echo "full=$?"
    """
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert "first=0" in done.stdout and "full=1" in done.stdout, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    [line] = error_lines(done.stderr)
    assert f"the disk holding the state folder is full ({home.state}" in line, line


def test_the_daemon_keeps_its_settings_when_config_edn_turns_to_the_vault(tmp_path: Path) -> None:
    """``logseq/config.edn`` changed under a running daemon to read pages from the vault: one
    error line, the settings read before are kept, the notes are not read back as pages."""
    home = Home(tmp_path, settle="0.05s", rescan="0.5s")
    home.put("a1", [1])
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()
        (home.graph / "logseq").mkdir()
        (home.graph / "logseq" / "config.edn").write_text(
            '{:pages-directory "../vault/Readwise/Articles"}', "utf-8"
        )
        daemon.wait_for(lambda: "keeping the settings read before" in daemon.log(), "the error")
        scans = daemon.count(r"full scan \(periodic\): ")
        daemon.wait_for(
            lambda: daemon.count(r"full scan \(periodic\): ") >= scans + 3, "three more scans"
        )
        home.put("a1", [1, 2])
        daemon.wait_for(lambda: home.url_counts()[highlight_url("a1", 2)] == 1, "the new highlight")
    finally:
        assert daemon.stop() == 0
    [line] = [line for line in daemon.log().splitlines() if "keeping the settings" in line]
    assert 'is inside vault "main"' in line
    assert sorted(home.vault_files()) == ["Readwise/Articles/Document a1.md"]
    assert home.url_counts()[highlight_url("a1", 1)] == 1
