"""File-system faults (issue 5; daemon-reliability.md §7 rows 3-6, 13, 14, 23) on real files.

Each test ends with the invariant of §7: no user byte lost (notes byte-identical unless syncd
added highlights), no ``.syncd.*.tmp`` left, a clear error line naming the path and the reason.
Faults that need a kernel (disk full, read-only mount, permission denied) use a private mount
namespace (``unshare -m``, as root) or drop capabilities (``setpriv``); they are skipped where
that is impossible.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.reliability_helpers import (
    REPO,
    TEMP_RE,
    DaemonProcess,
    Home,
    engine_for,
    error_lines,
    highlight_url,
    page_failures,
    run_syncd,
)

# --------------------------------------------------------------------------- helpers


def _mounts_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root for a private mount namespace"
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare/mount not installed"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "none", "/mnt"],
        capture_output=True,
        check=False,
    )
    return None if probe.returncode == 0 else "cannot mount in a private namespace here"


def syncd_in_namespace(setup: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run shell ``setup`` then ``syncd ARGS`` in a private mount namespace."""
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "syncd", *args])
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", f"{setup} && exec {command}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


# --------------------------------------------------------------------------- source faults


def test_a_fifo_named_like_a_page_is_refused_without_blocking(tmp_path: Path) -> None:
    """Reading a FIFO blocks until a writer comes: a daemon event for one must not hang the
    worker. Run in a child process with a timeout so a regression fails instead of hanging."""
    home = Home(tmp_path)
    home.put("good", [1, 2])
    fifo = home.pages / "pipe (highlights).md"
    os.mkfifo(fifo)
    child = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(REPO)!r})
        from syncd.config import load_config
        from syncd.state import StateStore
        from syncd.sync import SyncEngine
        config, _ = load_config(Path({str(home.config)!r}))
        engine = SyncEngine(config, StateStore.open(Path({str(home.state / "s.sqlite3")!r})))
        report = engine.sync_paths([Path({str(fifo)!r}), Path({str(home.page("Document good"))!r})])
        print(report.failures)
        print(report.changed)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    failures, changed = done.stdout.splitlines()
    assert "not a regular file" in failures and str(fifo) in failures
    assert "Readwise/Articles/Document good.md" in changed
    # a full scan skips it silently (not a page), and exits 0
    scan = home.once()
    assert scan.returncode == 0, scan.stderr


def test_a_page_removed_between_stat_and_read_is_gone_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = Home(tmp_path)
    page = home.put("a", [1, 2])
    assert home.once().returncode == 0
    note_before = home.note("a").read_bytes()
    page.write_text(page.read_text("utf-8") + "\t- late ([View Highlight](https://x.org/l))\n")

    import syncd.pagefile as pagefile_module

    real_open = os.open

    def open_after_removal(path: object, flags: int, *args: object) -> int:
        if Path(str(path)) == page and page.exists():
            page.unlink()  # the user (or Logseq) deletes the page right now
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(pagefile_module.os, "open", open_after_removal)
    engine, state = engine_for(home)
    with state:
        report = engine.scan()
    assert report.failures == []
    assert home.note("a").read_bytes() == note_before  # rule 6: its note stays


def test_a_page_replaced_while_being_read_ends_with_the_final_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logseq saves by rename: the read sees the old or the new file, and the fingerprint
    recorded is that of the file read, so the next run picks up the final content once."""
    home = Home(tmp_path)
    page = home.put("a", [1, 2])
    assert home.once().returncode == 0
    home.put("a", [1, 2], added=[[3]])  # the version being read
    import syncd.pagefile as pagefile_module

    real_open = os.open

    def open_then_replace(path: object, flags: int, *args: object, **kwargs: object) -> int:
        fd = real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]
        if Path(str(path)) == page:
            replacement = page.with_name(".replacement")
            replacement.write_text(
                home.page("Document a").read_text("utf-8")
                + "- New highlights added [[Mar 9th, 2024]] at 9:09 AM\n"
                + f"\t- Fourth. ([View Highlight]({highlight_url('a', 4)}))\n",
                "utf-8",
            )
            replacement.replace(page)
        return fd

    monkeypatch.setattr(pagefile_module.os, "open", open_then_replace)
    engine, state = engine_for(home)
    with state:
        engine.scan()
    monkeypatch.undo()
    assert home.once().returncode == 0
    counts = home.url_counts()
    for n in (1, 2, 3, 4):
        assert counts[highlight_url("a", n)] == 1, counts


def test_symlink_loops_in_the_source_neither_hang_nor_duplicate(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.put("a", [1])
    (home.pages / "loop").symlink_to(home.pages)  # pages/loop -> pages
    (home.pages / "sub").mkdir()
    (home.pages / "sub" / "up").symlink_to(home.graph)  # pages/sub/up -> graph
    (home.pages / "self.md").symlink_to(home.pages / "self.md")  # ELOOP
    (home.pages / "a.md").symlink_to(home.pages / "b.md")
    (home.pages / "b.md").symlink_to(home.pages / "a.md")
    done = home.once(timeout=60)
    assert done.returncode == 0, done.stderr
    assert home.url_counts() == {highlight_url("a", 1): 1}
    assert list(home.vault_files()) == ["Readwise/Articles/Document a.md"]


# --------------------------------------------------------------------------- vault faults


def test_a_symlink_in_the_vault_leading_outside_is_refused(tmp_path: Path) -> None:
    home = Home(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.md").write_text("not syncd's\n", "utf-8")
    (home.vault / "Readwise").symlink_to(outside)  # vault/Readwise -> outside
    home.put("a", [1])
    done = home.once()
    assert done.returncode == 1
    errors = error_lines(done.stderr)
    assert any("Document a" in e and "outside the vault" in e for e in errors), done.stderr
    assert sorted(p.name for p in outside.rglob("*")) == ["keep.md"]
    assert (outside / "keep.md").read_text("utf-8") == "not syncd's\n"


def test_a_symlinked_note_is_never_written_through(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.put("a", [1])
    assert home.once().returncode == 0
    note = home.note("a")
    outside = tmp_path / "elsewhere.md"
    shutil.copyfile(note, outside)
    note.unlink()
    note.symlink_to(outside)
    before = outside.read_bytes()
    home.put("a", [1], added=[[2]])
    done = home.once()
    assert done.returncode == 1
    assert any("symlink" in line for line in error_lines(done.stderr)), done.stderr
    assert outside.read_bytes() == before
    assert note.is_symlink()


@pytest.mark.parametrize("what", ["marker", "vault"])
def test_a_vanished_vault_fails_closed_and_resumes_when_it_returns(
    tmp_path: Path, what: str
) -> None:
    home = Home(tmp_path)
    home.put("a", [1])
    assert home.once().returncode == 0
    kept = tmp_path / "kept"
    if what == "marker":  # e.g. the mount point is there but the disk is not mounted
        (home.vault / ".obsidian").rename(kept)
    else:
        home.vault.rename(kept)
    home.put("a", [1], added=[[2]])
    home.put("b", [1])

    # an engine already running (the daemon) sees it too: nothing written, one clear error
    engine, state = engine_for(home)
    with state:
        report = engine.scan()
        assert report.changed == []
        assert [path for path, _ in report.failures] == [str(home.vault)]
        assert "unmounted or moved" in report.failures[0][1]
    listing = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))

    done = home.once()  # a new run refuses to start
    assert done.returncode != 0
    assert str(home.vault) in done.stderr and ".obsidian" in done.stderr, done.stderr
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert after == listing, "something was written while the vault was gone"

    if what == "marker":
        kept.rename(home.vault / ".obsidian")
    else:
        kept.rename(home.vault)
    engine, state = engine_for(home)
    with state:
        report = engine.scan()
    assert report.failures == []
    counts = home.url_counts()
    assert counts == {
        highlight_url("a", 1): 1,
        highlight_url("a", 2): 1,
        highlight_url("b", 1): 1,
    }, counts


def test_the_daemon_start_refuses_a_vault_without_its_marker(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.put("a", [1])
    assert home.once().returncode == 0
    shutil.rmtree(home.vault / ".obsidian")
    done = run_syncd(["run", "-c", str(home.config)], timeout=60)
    assert done.returncode == 1  # systemd restarts it (Restart=on-failure) until it is back
    assert ".obsidian" in done.stderr and str(home.vault) in done.stderr, done.stderr
    assert not (home.vault / ".obsidian").exists()


# --------------------------------------------------------------------------- kernel faults

needs_mounts = pytest.mark.skipif(_mounts_available() is not None, reason=str(_mounts_available()))


def big_page(home: Home, doc: str, count: int) -> None:
    filler = "words to fill the disk " * 20
    home.put(doc, list(range(count)))
    text = home.page(f"Document {doc}").read_text("utf-8")
    home.page(f"Document {doc}").write_text(text.replace("a sentence worth keeping", filler))


def assert_each_page_complete_once(home: Home, vault: Path) -> None:
    counts: dict[str, int] = {}
    for note in vault.rglob("*.md"):
        for url in re.findall(r"\]\((https://[^)\s]+)\)\)", note.read_text("utf-8")):
            counts[url] = counts.get(url, 0) + 1
    for page in home.pages.glob("*.md"):
        for url in re.findall(r"\]\((https://[^)\s]+)\)\)", page.read_text("utf-8")):
            assert counts.get(url) == 1, (page.name, url, counts.get(url))


@needs_mounts
def test_disk_full_in_the_vault_keeps_every_note_whole_and_the_next_run_completes(
    tmp_path: Path,
) -> None:
    """A 512 KiB tmpfs as the vault: the run fills it, the pages that do not fit fail with
    ENOSPC (named), every note is either as it was or complete, no temp file is left; after
    the disk grows, the next run completes with every highlight exactly once."""
    home = Home(tmp_path)
    for doc in ("a", "b"):
        home.put(doc, [1, 2])
    staged = tmp_path / "later"
    staged.mkdir()
    later = Home(staged)
    for doc in ("a", "b"):
        later.put(doc, [1, 2], added=[[3, 4]])
    for n in range(30):
        big_page(later, f"big{n:02d}", 40)
    out = tmp_path / "out"
    out.mkdir()
    syncd = f"{shlex.quote(sys.executable)} -m syncd once -c {shlex.quote(str(home.config))}"
    script = f"""
        set -u
        mount -t tmpfs -o size=512k none {home.vault}
        mkdir {home.vault}/.obsidian
        {syncd}; echo "first=$?"
        cp -a {home.vault} {out}/before
        cp {later.pages}/* {home.pages}/
        {syncd} 2> {out}/full.stderr; echo "full=$?"
        cp -a {home.vault} {out}/full
        mount -o remount,size=64m {home.vault}
        {syncd}; echo "final=$?"
        cp -a {home.vault} {out}/final
    """
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert "first=0" in done.stdout and "final=0" in done.stdout, (done.stdout, done.stderr)
    assert "full=1" in done.stdout, done.stdout
    stderr = (out / "full.stderr").read_text("utf-8")
    enospc = page_failures(stderr)
    assert enospc and all("No space left on device" in line for line in enospc), stderr
    assert "Traceback" not in stderr
    before = {p.relative_to(out / "before"): p.read_bytes() for p in (out / "before").rglob("*.md")}
    assert len(before) == 2
    for path in (out / "full").rglob("*"):
        assert not TEMP_RE.match(path.name), path
    for rel, data in before.items():  # as it was, or complete
        now = (out / "full" / rel).read_bytes()
        if now != data:
            assert now.decode("utf-8").count(highlight_url(rel.stem.split()[-1], 4)) == 1
    # the final run: every page complete, each highlight exactly once
    shutil.rmtree(home.vault)
    shutil.copytree(out / "final", home.vault)
    assert_each_page_complete_once(home, home.vault)


@needs_mounts
def test_disk_full_under_the_state_store_stops_the_run_cleanly(tmp_path: Path) -> None:
    """The state folder fills up: the run stops with one line (no traceback), exit 1, notes
    written so far are kept; with space again, the next run completes without duplicates."""
    home = Home(tmp_path)
    for n in range(60):
        big_page(home, f"d{n:02d}", 15)
    syncd = f"{shlex.quote(sys.executable)} -m syncd once -c {shlex.quote(str(home.config))}"
    script = f"""
        mkdir -p {home.state}
        mount -t tmpfs -o size=96k none {home.state}
        {syncd}; echo "full=$?"
        mount -o remount,size=64m {home.state}
        {syncd}; echo "final=$?"
    """
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert "full=1" in done.stdout and "final=0" in done.stdout, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    stopped = [line for line in done.stderr.splitlines() if "run stopped" in line]
    assert len(stopped) == 1 and "database or disk is full" in stopped[0], done.stderr
    assert home.temp_files() == []
    assert_each_page_complete_once(home, home.vault)


@needs_mounts
def test_a_read_only_vault_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    """The vault, not each page, is named (issue 14: a vault outside the unit's
    ``ReadWritePaths=`` gave one error per page)."""
    home = Home(tmp_path)
    home.put("a", [1])
    assert home.once().returncode == 0
    home.put("a", [1], added=[[2]])
    home.put("b", [1])
    before = home.vault_files()
    setup = f"mount --bind {home.vault} {home.vault} && mount -o remount,ro,bind {home.vault}"
    done = syncd_in_namespace(setup, ["once", "-c", str(home.config)])
    assert done.returncode == 1, done.stderr
    [line] = page_failures(done.stderr)
    assert line.startswith(f"{home.vault}: vault folder is on a read-only file system"), line
    assert f"ReadWritePaths={home.vault}" in line
    assert "Traceback" not in done.stderr
    assert home.vault_files() == before
    assert home.once().returncode == 0  # writable again: the pending pages are synced
    assert_each_page_complete_once(home, home.vault)


def test_permission_denied_in_the_vault_and_on_a_page(tmp_path: Path) -> None:
    """A vault folder syncd may not write (0555) and a page it may not read (0000): each is
    one failure naming the path; everything else is synced. As root, the capabilities that
    bypass permissions are dropped with setpriv."""
    home = Home(tmp_path)
    home.put("a", [1])
    home.put("b", [1])
    assert home.once().returncode == 0
    home.put("a", [1], added=[[2]])
    home.put("b", [1], added=[[2]])
    home.put("c", [1])
    locked = home.vault / "Readwise" / "Articles"
    unreadable = home.page("Document c")
    before = home.vault_files()
    command = [sys.executable, "-m", "syncd", "once", "-c", str(home.config)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv: permissions cannot be made to bite")
        drop = "-dac_override,-dac_read_search,-fowner"
        command = ["setpriv", f"--bounding-set={drop}", "--", *command]
    locked.chmod(0o555)
    unreadable.chmod(0o000)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=REPO, timeout=120, check=False
        )
    finally:
        locked.chmod(0o755)
        unreadable.chmod(0o644)
    assert done.returncode == 1, done.stderr
    failed = sorted(page_failures(done.stderr))
    assert len(failed) == 3, done.stderr
    assert all("Permission denied" in line for line in failed), failed
    assert any(str(unreadable) in line for line in failed)
    assert home.vault_files() == before
    assert home.temp_files() == []
    assert home.once().returncode == 0
    assert_each_page_complete_once(home, home.vault)


def test_the_running_daemon_fails_closed_and_resumes_when_the_vault_returns(
    tmp_path: Path,
) -> None:
    home = Home(tmp_path, settle="0.05s", rescan="0.5s")
    home.put("a", [1])
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()
        assert home.url_counts()[highlight_url("a", 1)] == 1
        marker = home.vault / ".obsidian"
        marker.rename(tmp_path / "obsidian-away")  # the disk behind the vault went away
        home.put("a", [1], added=[[2]])
        home.put("b", [1])
        daemon.wait_for(
            lambda: daemon.count(r"vault has no \.obsidian/ folder") == 1, "the refusal"
        )
        scans = daemon.count(r"full scan \(periodic\):")
        daemon.wait_for(
            lambda: daemon.count(r"full scan \(periodic\):") >= scans + 2, "two more scans"
        )
        # said once while its reason stays (issue 14: not a line per scan), refused at each
        assert daemon.count(r"vault has no \.obsidian/ folder") == 1
        assert home.url_counts()[highlight_url("a", 2)] == 0
        assert not home.note("b").exists()
        (tmp_path / "obsidian-away").rename(marker)  # back: the next scan syncs what waited
        daemon.wait_for(
            lambda: (
                home.url_counts()[highlight_url("b", 1)] == 1
                and home.url_counts()[highlight_url("a", 2)] == 1
            ),
            "the sync after the vault returned",
        )
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert daemon.proc.returncode == 0
    assert home.url_counts()[highlight_url("a", 1)] == 1


@needs_mounts
@pytest.mark.parametrize("existing", [False, True], ids=["new-state", "existing-state"])
def test_a_read_only_state_folder_is_one_clear_error(tmp_path: Path, existing: bool) -> None:
    home = Home(tmp_path)
    home.put("a", [1])
    home.state.mkdir()
    if existing:
        assert home.once().returncode == 0
        home.put("a", [1], added=[[2]])
    before = home.vault_files()
    setup = f"mount --bind {home.state} {home.state} && mount -o remount,ro,bind {home.state}"
    for command in ("once", "run"):
        done = syncd_in_namespace(setup, [command, "-c", str(home.config)])
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        errors = error_lines(done.stderr)
        assert len(errors) == 1 and "read-only file system" in errors[0].lower(), done.stderr
        assert str(home.state) in errors[0]
    assert home.vault_files() == before
