"""Issue 4 acceptance with the real engine: ``syncd run`` as a subprocess, its vault compared
byte for byte with what ``syncd once`` makes of the same input.

Each test binds the notify socket systemd would (so READY=1 tells when the start scan is done
and STOPPING=1 is seen on SIGTERM), writes a configuration with a short settle time, and kills
the daemon in a ``finally``. Every wait polls with a deadline; nothing sleeps for a fixed time
longer than a writer's pauses.

1. v1 then v2 of tests/data/readwise into a watched graph, v2 once by atomic rename and once
   by in-place writes in chunks: the vault equals ``syncd once``'s; SIGTERM → exit 0 quickly.
2. A page written slowly (one open file, writes over 3 s): merged once, never from a part.
3. Changes the watcher never saw (made before start; made while the daemon was SIGSTOPped and
   the inotify queue overflowed) are picked up by the start scan / the reconcile scan.
4. SIGKILL during a burst of 1,000 page changes (new pages, then updates); after a restart
   the vault equals an uninterrupted run, no temp file, no highlight twice.
5. A second daemon on the same state directory exits 75 at once, an invalid configuration
   exits 2; both statuses are in the unit's RestartPreventExitStatus.
Also: ``syncd status`` while the daemon runs.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from syncd.cli import main as syncd_main

DATA = Path(__file__).parent / "data" / "readwise"
UNIT = Path(__file__).resolve().parents[1] / "systemd" / "syncd.service"
WAIT = 30.0  # bound for something that must happen; never reached when things work
SETTLE = 0.3
HIGHLIGHT_URL_RE = re.compile(r"\((https://[^)\s]+)\)\)\s*$", re.MULTILINE)
TEMP_RE = re.compile(r"^\.syncd\..*\.tmp$")


# --------------------------------------------------------------------------- helpers


class Notify:
    """The service manager's end of $NOTIFY_SOCKET. Like systemd it reads all the time (on a
    thread): an AF_UNIX datagram queue holds only net.unix.max_dgram_qlen (10) messages, and a
    sender blocks when it is full."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.fields: list[str] = []
        self._changed = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed:
            try:
                message = self.sock.recv(65536).decode()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._changed:
                self.fields.extend(message.split("\n"))
                self._changed.notify_all()

    def wait_for(self, field: str, timeout: float = WAIT) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: field in self.fields, timeout):
                raise AssertionError(f"no {field} within {timeout} s; got {self.fields}")

    def reset(self) -> None:
        with self._changed:
            self.fields.clear()

    def close(self) -> None:
        self._closed = True
        self._reader.join(1.0)
        self.sock.close()


@pytest.fixture
def notify() -> Iterator[Notify]:
    # AF_UNIX paths are limited to 108 bytes: a short folder, not tmp_path
    with tempfile.TemporaryDirectory(prefix="sdn") as folder:
        listener = Notify(Path(folder) / "notify")
        try:
            yield listener
        finally:
            listener.close()


class Setup:
    """A graph, a vault and a state folder for the daemon, and the same for ``syncd once``."""

    def __init__(self, root: Path, *, rescan: str = "1h") -> None:
        self.root = root
        self.graph = root / "graph"
        self.pages = self.graph / "pages"
        self.vault = root / "vault"
        self.config = root / "config.yaml"
        self.pages.mkdir(parents=True)
        (self.vault / ".obsidian").mkdir(parents=True)
        self._write_config(self.config, self.graph, self.vault, root / "state", rescan)
        # the reference: `syncd once` over the same inputs, in order
        self.ref_graph = root / "ref-graph"
        self.ref_vault = root / "ref-vault"
        self.ref_config = root / "ref-config.yaml"
        (self.ref_graph / "pages").mkdir(parents=True)
        (self.ref_vault / ".obsidian").mkdir(parents=True)
        self._write_config(
            self.ref_config, self.ref_graph, self.ref_vault, root / "ref-state", rescan
        )

    @staticmethod
    def _write_config(path: Path, graph: Path, vault: Path, state: Path, rescan: str) -> None:
        path.write_text(
            f"""\
state_dir: {state}
vaults:
  - name: main
    path: {vault}
    sources:
      - path: {graph}
        include: readwise
        into: Readwise
daemon:
  settle_seconds: {SETTLE}
  rescan_interval: {rescan}
""",
            encoding="utf-8",
        )

    def expect(self, pages: dict[str, bytes]) -> dict[str, bytes]:
        """Put ``pages`` into the reference graph, run ``syncd once``: the vault it gives."""
        for name, data in pages.items():
            (self.ref_graph / "pages" / name).write_bytes(data)
        assert syncd_main(["once", "-c", str(self.ref_config), "-q"]) == 0
        return vault_files(self.ref_vault)

    def expect_later(self, *inputs: dict[str, bytes]) -> list[Future[dict[str, bytes]]]:
        """``expect`` for each input in turn, by a ``syncd once`` process per input, while the
        test goes on (the reference and the daemon share nothing)."""

        def run(pages: dict[str, bytes]) -> dict[str, bytes]:
            for name, data in pages.items():
                (self.ref_graph / "pages" / name).write_bytes(data)
            done = subprocess.run(
                [sys.executable, "-m", "syncd", "once", "-c", str(self.ref_config), "-q"],
                capture_output=True,
                text=True,
                timeout=10 * WAIT,
            )
            assert done.returncode == 0, done.stderr
            return vault_files(self.ref_vault)

        executor = ThreadPoolExecutor(max_workers=1)  # one at a time, in order
        try:
            return [executor.submit(run, pages) for pages in inputs]
        finally:
            executor.shutdown(wait=False)

    def start(self, notify: Notify, *args: str) -> Syncd:
        return Syncd(self.config, notify, self.root / f"daemon-{time.monotonic_ns()}.log", args)


def vault_files(vault: Path) -> dict[str, bytes]:
    """Every file of a vault but Obsidian's own folder, by relative path. A file gone between
    the listing and its read (a replaced note's old version, freed under a temp name by the
    daemon a moment after the new one is in place) is left out: the caller polls again."""
    found: dict[str, bytes] = {}
    for p in sorted(vault.rglob("*")):
        if not p.is_file() or ".obsidian" in p.relative_to(vault).parts:
            continue
        try:
            found[p.relative_to(vault).as_posix()] = p.read_bytes()
        except FileNotFoundError:
            continue
    return found


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def wait_until(what: str, check: Callable[[], bool], proc: Syncd, timeout: float = WAIT) -> float:
    """Poll ``check`` until it holds; the seconds it took."""
    started = time.monotonic()
    while not check():
        assert proc.proc.poll() is None, f"daemon exited while waiting for {what}:\n{proc.log}"
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s\n{proc.log}")
        time.sleep(0.02)
    return time.monotonic() - started


def diff_vaults(got: dict[str, bytes], want: dict[str, bytes]) -> str:
    lines = [f"missing: {name}" for name in sorted(want.keys() - got.keys())]
    lines += [f"extra: {name}" for name in sorted(got.keys() - want.keys())]
    lines += [
        f"differs: {name}" for name in sorted(want) if name in got and got[name] != want[name]
    ]
    return "\n".join(lines)


class Syncd:
    """``python -m syncd run -c CONFIG [ARGS]`` with its stderr in a file."""

    def __init__(self, config: Path, notify: Notify, log: Path, args: Sequence[str] = ()) -> None:
        self.log_path = log
        self.notify = notify
        notify.reset()
        env = {**os.environ, "NOTIFY_SOCKET": str(notify.path)}
        for name in ("WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "INVOCATION_ID"):
            env.pop(name, None)
        with log.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "syncd", "run", "-c", str(config), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def written(self) -> Counter[str]:
        """How often each note was created or updated, from the log."""
        found = re.findall(r" INFO (?:created|updated) (.+?) \(\+\d+ highlights", self.log)
        return Counter(found)

    def ready(self) -> None:
        self.notify.wait_for("READY=1")

    def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit status and the seconds until the process was gone."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=WAIT)
        took = time.monotonic() - started
        self.notify.wait_for("STOPPING=1", timeout=1.0)  # sent before exiting: already here
        return code, took

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def running() -> Iterator[list[Syncd]]:
    """Every daemon a test starts; killed at the end whatever happened."""
    started: list[Syncd] = []
    try:
        yield started
    finally:
        for daemon in started:
            if daemon.proc.poll() is None:
                daemon.proc.send_signal(signal.SIGCONT)  # in case it was stopped
            daemon.kill()


def _start(setup: Setup, notify: Notify, running: list[Syncd]) -> Syncd:
    daemon = setup.start(notify)
    running.append(daemon)
    return daemon


# --------------------------------------------------------------------------- 1


def _atomic_write(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.part-{os.getpid()}")
    with temp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    temp.replace(path)


def _chunked_write(path: Path, data: bytes, chunks: int, pause: float) -> None:
    """In place: truncate, then ``chunks`` writes with a flush and a pause after each."""
    size = -(-len(data) // chunks)
    with path.open("wb") as out:
        for start in range(0, len(data), size):
            out.write(data[start : start + size])
            out.flush()
            time.sleep(pause)


@pytest.mark.parametrize("how", ["atomic-rename", "in-place-chunks"])
def test_v1_then_v2_matches_syncd_once(
    tmp_path: Path, notify: Notify, running: list[Syncd], how: str
) -> None:
    setup = Setup(tmp_path)
    v1, v2 = snapshot(DATA / "v1" / "pages"), snapshot(DATA / "v2" / "pages")
    want_v1 = setup.expect(v1)
    want_v2 = setup.expect(v2)
    assert want_v1 != want_v2

    daemon = _start(setup, notify, running)
    daemon.ready()
    assert vault_files(setup.vault) == {}

    for name, data in v1.items():
        (setup.pages / name).write_bytes(data)
    wait_until("v1 synced", lambda: vault_files(setup.vault) == want_v1, daemon)

    changed = {name: data for name, data in v2.items() if v1.get(name) != data}
    assert len(changed) >= 8  # 7 pages grew, 1 is new
    for name, data in changed.items():
        if how == "atomic-rename":
            _atomic_write(setup.pages / name, data)
        else:  # pauses shorter than the settle time: the daemon must wait for the last one
            _chunked_write(setup.pages / name, data, chunks=4, pause=SETTLE / 6)
    wait_until("v2 synced", lambda: vault_files(setup.vault) == want_v2, daemon)

    got = vault_files(setup.vault)
    assert got == want_v2, diff_vaults(got, want_v2)
    code, took = daemon.stop()
    assert code == 0, daemon.log
    assert took < 5.0
    assert "STOPPING=1" in notify.fields
    assert vault_files(setup.vault) == want_v2
    # 9 notes written for v1, 8 for v2 (7 grew, 1 new), each once: no partial page merged
    written = daemon.written()
    assert max(written.values()) == 2 and sum(written.values()) == 9 + 8, written
    print(f"{how}: SIGTERM -> exit 0 in {took:.2f} s")


# --------------------------------------------------------------------------- 2


def test_slow_writer_is_merged_once_with_its_complete_content(
    tmp_path: Path, notify: Notify, running: list[Syncd]
) -> None:
    setup = Setup(tmp_path)
    v1, v2 = snapshot(DATA / "v1" / "pages"), snapshot(DATA / "v2" / "pages")
    page = "The Orchard Ledger (highlights).md"
    note = "Readwise/Books/The Orchard Ledger.md"
    want_v1 = setup.expect(v1)
    want_v2 = setup.expect({page: v2[page]})
    for name, data in v1.items():
        (setup.pages / name).write_bytes(data)
    daemon = _start(setup, notify, running)
    daemon.ready()  # the start scan synced v1
    assert vault_files(setup.vault) == want_v1

    # One writer keeps the page open and writes it in 7 parts over 3 s, each flushed; every
    # pause is longer than the settle time, and the cuts fall inside highlights.
    data = v2[page]
    seen: list[bytes] = []
    cuts = [len(data) * k // 7 for k in range(8)]
    with (setup.pages / page).open("wb") as out:
        for start, end in itertools.pairwise(cuts):
            out.write(data[start:end])
            out.flush()
            pause_end = time.monotonic() + 0.5
            while time.monotonic() < pause_end:  # watch the note while the page is written
                current = (setup.vault / note).read_bytes()
                if not seen or seen[-1] != current:
                    seen.append(current)
                time.sleep(0.01)
    took = wait_until(
        "the page synced", lambda: (setup.vault / note).read_bytes() == want_v2[note], daemon
    )
    wait_until("the update logged", lambda: daemon.written()[note] >= 2, daemon)  # after the write
    assert seen == [want_v1[note]], "the note changed while its page was still being written"
    assert daemon.written()[note] == 2, daemon.log  # created by the start scan, updated once
    # every highlight of the final page is in the note exactly once
    urls = HIGHLIGHT_URL_RE.findall(data.decode("utf-8"))
    text = want_v2[note].decode("utf-8")
    assert urls and all(text.count(url) == 1 for url in urls)
    # (the note's old version, under a temp name until freed a moment after the swap, goes)
    wait_until("the vault as v2 made it", lambda: vault_files(setup.vault) == want_v2, daemon)
    print(f"slow writer: note durable {took:.2f} s after the close (settle {SETTLE} s)")
    code, _ = daemon.stop()
    assert code == 0


# --------------------------------------------------------------------------- 3


def test_a_change_made_while_stopped_is_synced_by_the_start_scan(
    tmp_path: Path, notify: Notify, running: list[Syncd]
) -> None:
    setup = Setup(tmp_path)
    v1, v2 = snapshot(DATA / "v1" / "pages"), snapshot(DATA / "v2" / "pages")
    want_v1 = setup.expect(v1)
    want_v2 = setup.expect(v2)
    for name, data in v1.items():
        (setup.pages / name).write_bytes(data)
    first = _start(setup, notify, running)
    first.ready()
    assert vault_files(setup.vault) == want_v1  # READY=1 comes after the start scan
    assert first.stop()[0] == 0

    for name, data in v2.items():  # no daemon is watching
        (setup.pages / name).write_bytes(data)
    second = _start(setup, notify, running)
    second.ready()
    got = vault_files(setup.vault)
    assert got == want_v2, diff_vaults(got, want_v2)  # done by the start scan, before READY
    assert "full scan (start): 11 pages, 8 changed, 0 failed" in second.log
    assert second.stop()[0] == 0


def _max_queued_events() -> int:
    return int(Path("/proc/sys/fs/inotify/max_queued_events").read_text(encoding="ascii"))


@pytest.mark.skipif(
    not Path("/proc/sys/fs/inotify/max_queued_events").exists() or _max_queued_events() > 1_000_000,
    reason="needs Linux inotify with a queue that can be filled quickly",
)
def test_changes_lost_in_an_inotify_overflow_are_synced_by_the_reconcile_scan(
    tmp_path: Path, notify: Notify, running: list[Syncd]
) -> None:
    setup = Setup(tmp_path)  # periodic rescans every hour: only the overflow can trigger one
    v1, v2 = snapshot(DATA / "v1" / "pages"), snapshot(DATA / "v2" / "pages")
    want_v1 = setup.expect(v1)
    want_v2 = setup.expect(v2)
    for name, data in v1.items():
        (setup.pages / name).write_bytes(data)
    # -vv: a scan that finds nothing left to do logs its line at debug level
    daemon = setup.start(notify, "-vv")
    running.append(daemon)
    daemon.ready()
    assert vault_files(setup.vault) == want_v1

    # Suspend the daemon (a laptop lid, a starved process), then fill the kernel's inotify
    # queue with more events than it holds: writes alternating between two files outside
    # pages/ (identical consecutive events would be merged into one). The page changes come
    # after that, so the kernel drops their events: the watcher never sees them.
    daemon.proc.send_signal(signal.SIGSTOP)
    try:
        noise = [os.open(setup.graph / f"noise-{n}.txt", os.O_WRONLY | os.O_CREAT) for n in (0, 1)]
        try:
            for i in range(_max_queued_events() + 1000):
                os.write(noise[i % 2], b"x")
        finally:
            for fd in noise:
                os.close(fd)
        for name, data in v2.items():
            if v1.get(name) != data:
                (setup.pages / name).write_bytes(data)
    finally:
        daemon.proc.send_signal(signal.SIGCONT)

    # The overflow warning makes syncd scan the graph. Watchdog 7.1.0 lost the page events: the
    # scan syncs all 8 changed pages. Watchdog 7.1.1 and later also replay what changed below
    # the watches they rebuild, so the scan may find some or all of them synced already.
    scan_line = re.compile(
        r"full scan \(watchdog: Inotify queue overflowed[^)]*\): 11 pages, [0-8] changed, 0 failed"
    )
    took = wait_until("the reconcile scan", lambda: bool(scan_line.search(daemon.log)), daemon)
    assert "Inotify queue overflowed; filesystem events were lost" in daemon.log
    wait_until("the vault of v2", lambda: vault_files(setup.vault) == want_v2, daemon)
    got = vault_files(setup.vault)
    assert got == want_v2, diff_vaults(got, want_v2)
    print(f"overflow: vault reconciled {took:.2f} s after SIGCONT")
    assert daemon.stop()[0] == 0


# --------------------------------------------------------------------------- 4

BURST = 1000


def generated_page(i: int, highlights: int) -> tuple[str, bytes]:
    """A deterministic Readwise article page with ``highlights`` highlights."""
    title = f"Generated Article {i:04d}"
    lines = [
        f"title:: {title} (highlights)",
        f"author:: [[Author {i % 37}]]",
        f'full-title:: "{title}"',
        "category:: #articles",
        f"url:: https://gen.example.com/articles/{i}",
        "",
        "- Highlights first synced by [[Readwise]] [[May 20th, 2024]]",
    ]
    for h in range(highlights):
        if h == 2:
            lines.append("- New highlights added [[Jul 8th, 2024]] at 7:45 AM")
        words = " ".join(f"w{(i * 7 + h * 13 + k) % 101}" for k in range(12))
        lines.append(
            f"\t- Highlight {h} of article {i}: {words}. "
            f"([View Highlight](https://read.readwise.io/read/g{i:04d}h{h:02d}))"
        )
    return f"{title} (highlights).md", "\n".join(lines).encode("utf-8")


def _check_no_duplicates(vault: Path) -> None:
    for note in vault.rglob("*.md"):
        urls = HIGHLIGHT_URL_RE.findall(note.read_text(encoding="utf-8"))
        duplicated = [url for url, n in Counter(urls).items() if n > 1]
        assert not duplicated, f"{note}: {duplicated}"


def _kill_mid_burst(daemon: Syncd, verb: str, at_least: int) -> int:
    """SIGKILL once ``at_least`` notes were ``verb`` (created/updated); how many were."""
    pattern = re.compile(rf" INFO {verb} ")
    wait_until(
        f"{at_least} notes {verb}",
        lambda: len(pattern.findall(daemon.log)) >= at_least,
        daemon,
    )
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait(timeout=WAIT)
    return len(pattern.findall(daemon.log))


def test_sigkill_during_a_burst_of_1000_changes_then_restart(
    tmp_path: Path, notify: Notify, running: list[Syncd]
) -> None:
    setup = Setup(tmp_path)
    first = dict(generated_page(i, 2) for i in range(BURST))
    second = dict(generated_page(i, 4) for i in range(BURST))
    reference = setup.expect_later(first, second)  # the uninterrupted history
    timings: list[str] = []
    for step, (verb, pages) in enumerate((("created", first), ("updated", second))):
        t0 = time.monotonic()
        daemon = _start(setup, notify, running)
        daemon.ready()
        t1 = time.monotonic()
        for name, data in pages.items():  # 1,000 pages new or changed at once
            (setup.pages / name).write_bytes(data)
        done = _kill_mid_burst(daemon, verb, at_least=BURST // 5)
        timings.append(f"start {t1 - t0:.2f} s, kill {time.monotonic() - t1:.2f} s after the burst")
        assert done < BURST, f"the burst was over before the kill ({done} notes {verb})"

        started = time.monotonic()
        restarted = _start(setup, notify, running)
        restarted.ready()  # the start scan repairs what the kill left
        timings.append(
            f"{verb}: killed after {done}/{BURST}, repaired in {time.monotonic() - started:.2f} s"
        )
        want = reference[step].result(timeout=10 * WAIT)
        assert len(want) == BURST
        got = vault_files(setup.vault)
        assert got == want, diff_vaults(got, want)
        assert not [p for p in setup.vault.rglob("*") if TEMP_RE.match(p.name)]
        _check_no_duplicates(setup.vault)
        assert restarted.stop()[0] == 0
    print("; ".join(timings))


# --------------------------------------------------------------------------- 5


def _unit_prevented_statuses() -> set[int]:
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if line.startswith("RestartPreventExitStatus="):
            return {int(code) for code in line.partition("=")[2].split()}
    raise AssertionError("no RestartPreventExitStatus= in the unit")


def test_second_instance_and_invalid_configuration_exit_with_their_own_status(
    tmp_path: Path, notify: Notify, running: list[Syncd]
) -> None:
    setup = Setup(tmp_path)
    daemon = _start(setup, notify, running)
    daemon.ready()
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}

    started = time.monotonic()
    second = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "-c", str(setup.config)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=env,
    )
    took = time.monotonic() - started
    assert second.returncode == 75, second.stderr
    assert (
        f"syncd is already running (pid {daemon.proc.pid}) for state directory "
        f"{tmp_path / 'state'}" in second.stderr
    )
    assert daemon.proc.poll() is None  # the first one is unaffected

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        f"state_dir: {tmp_path / 'other-state'}\nvaults:\n  - name: main\n"
        "daemon:\n  settle_seconds: soon\n",
        encoding="utf-8",
    )
    invalid = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "-c", str(broken)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=env,
    )
    assert invalid.returncode == 2, invalid.stderr
    assert "vaults[0].path" in invalid.stderr and "daemon.settle_seconds" in invalid.stderr
    assert not (tmp_path / "other-state").exists()

    assert {75, 2} <= _unit_prevented_statuses()  # systemd does not restart into either
    print(f"second instance exited 75 in {took:.2f} s")
    assert daemon.stop()[0] == 0


# --------------------------------------------------------------------------- status


def _status(config: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "status", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_status_reports_the_running_daemon(
    tmp_path: Path, notify: Notify, running: list[Syncd]
) -> None:
    setup = Setup(tmp_path)
    for name, data in snapshot(DATA / "v1" / "pages").items():
        (setup.pages / name).write_bytes(data)
    bad = setup.pages / "Latin-1 (highlights).md"
    bad.write_bytes(
        b"title:: Latin-1 (highlights)\ncategory:: #articles\nurl:: https://e.example/x\n\n"
        b"- Highlights first synced by [[Readwise]] [[May 20th, 2024]]\n"
        b"\t- caf\xe9 au lait. ([View Highlight](https://read.readwise.io/read/esc1))\n"
    )
    daemon = _start(setup, notify, running)
    daemon.ready()

    # the worker records the pending count on its first loop after the start scan
    wait_until("pending recorded", lambda: "pages pending" in _status(setup.config), daemon)
    out = _status(setup.config)
    assert f"daemon: running (pid {daemon.proc.pid}, since " in out
    assert "pages pending: 0" in out
    assert re.search(r"last scan: \S+ \(11 pages, 9 changed, 1 failed\)", out), out
    assert "vault main" in out and "9 documents" in out
    assert f"{bad}: not valid UTF-8" in out

    assert daemon.stop()[0] == 0
    out = _status(setup.config)
    assert "daemon: not running (pid " in out and "stopped " in out
    assert "pending" not in out

    # a daemon that died without stopping (SIGKILL, power loss) is reported as such
    daemon = _start(setup, notify, running)
    daemon.ready()
    daemon.kill()
    out = _status(setup.config)
    assert f"daemon: not running (pid {daemon.proc.pid} " in out
    assert "did not stop cleanly" in out
