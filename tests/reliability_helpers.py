"""Shared pieces of the reliability tests (tests/test_reliability_*.py, tests/test_soak.py).

A ``Home`` is a folder holding a Logseq graph, an Obsidian vault, a state folder and a
configuration file, as a user would have them; ``syncd`` runs on it as a real process.
Readwise pages are generated here (``readwise_page``), in the shape the Readwise plugin writes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from syncd.config import load_config
from syncd.state import StateStore
from syncd.sync import SyncEngine

REPO = Path(__file__).resolve().parents[1]
TEMP_RE = re.compile(r"^\.syncd\..*\.tmp$")
URL_RE = re.compile(r"\]\((https://[^)\s]+)\)\)")
ANCHOR_RE = re.compile(r"\^(rw-[0-9a-f]{12})\s*$", re.MULTILINE)
SYNCD_ID_RE = re.compile(r"^syncd-id:\s*(.+?)\s*$", re.MULTILINE)


def highlight_url(doc: str, n: int) -> str:
    return f"https://read.readwise.io/read/{doc}-h{n:05d}"


def highlight_line(doc: str, n: int, text: str | None = None, depth: int = 1) -> str:
    body = text if text is not None else f"Highlight {n} of {doc}, a sentence worth keeping."
    return "\t" * depth + f"- {body} ([View Highlight]({highlight_url(doc, n)}))"


def readwise_page(
    doc: str,
    numbers: Sequence[int],
    *,
    title: str | None = None,
    added: Sequence[Sequence[int]] = (),
    extra_properties: Sequence[str] = (),
) -> str:
    """A Readwise article page: highlights ``numbers`` in the first block, then one
    ``New highlights added`` block per entry of ``added``."""
    name = title if title is not None else f"Document {doc}"
    lines = [
        f"title:: {name} (highlights)",
        "author:: [[Some Author]]",
        f'full-title:: "{name}"',
        "category:: #articles",
        f"url:: https://example.org/{doc}",
        *extra_properties,
        "",
        "- Highlights first synced by [[Readwise]] [[Feb 5th, 2024]]",
        *(highlight_line(doc, n) for n in numbers),
    ]
    for index, block in enumerate(added, start=1):
        lines.append(f"- New highlights added [[Mar {index}th, 2024]] at 9:{index % 60:02d} AM")
        lines.extend(highlight_line(doc, n) for n in block)
    return "\n".join(lines) + "\n"


class Home:
    """graph/, vault/ (with .obsidian/), state/ and config.yaml side by side in ``root``."""

    def __init__(self, root: Path, *, settle: str = "0.1s", rescan: str = "1h") -> None:
        self.root = root
        self.graph = root / "graph"
        self.pages = self.graph / "pages"
        self.vault = root / "vault"
        self.state = root / "state"
        self.config = root / "config.yaml"
        self.pages.mkdir(parents=True, exist_ok=True)
        (self.vault / ".obsidian").mkdir(parents=True, exist_ok=True)
        self.write_config(settle=settle, rescan=rescan)

    def write_config(self, *, settle: str = "0.1s", rescan: str = "1h", extra: str = "") -> None:
        self.config.write_text(
            f"state_dir: {self.state}\n"
            f"{extra}"
            "vaults:\n"
            "  - name: main\n"
            f"    path: {self.vault}\n"
            "    sources:\n"
            f"      - path: {self.graph}\n"
            "        include: readwise\n"
            "        into: Readwise\n"
            "daemon:\n"
            f"  settle_seconds: {settle}\n"
            f"  rescan_interval: {rescan}\n",
            encoding="utf-8",
        )

    def page(self, name: str) -> Path:
        return self.pages / f"{name} (highlights).md"

    def put(self, doc: str, numbers: Sequence[int], **kwargs: object) -> Path:
        path = self.page(f"Document {doc}")
        path.write_text(readwise_page(doc, numbers, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
        return path

    def note(self, doc: str, folder: str = "Readwise/Articles") -> Path:
        return self.vault / folder / f"Document {doc}.md"

    def once(self, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run_syncd(["once", "-c", str(self.config), *extra], timeout=timeout)

    def vault_files(self) -> dict[str, bytes]:
        return {
            p.relative_to(self.vault).as_posix(): p.read_bytes()
            for p in sorted(self.vault.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }

    def temp_files(self) -> list[Path]:
        return [p for p in self.vault.rglob("*") if TEMP_RE.match(p.name)]

    def url_counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for path in self.vault.rglob("*.md"):
            if path.is_file() and ".obsidian" not in path.parts:
                counts.update(URL_RE.findall(path.read_text("utf-8", errors="replace")))
        return counts


def run_syncd(
    args: Sequence[str], *, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if " ERROR " in line or line.startswith(("failed:", "ERROR", "<3>"))
    ]


_MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
sys.stderr.write("\\nPEAK_RSS_KIB=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def run_measured(
    args: Sequence[str], *, timeout: float = 300
) -> tuple[subprocess.CompletedProcess[str], int]:
    """``syncd ARGS`` in a fresh child, and that child's peak RSS in KiB.

    A small wrapper process runs syncd and reads ``getrusage(RUSAGE_CHILDREN)``, so the figure
    is syncd's alone (the test process's own children would be counted in ours).
    """
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "syncd", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )
    head, _, peak = done.stderr.rpartition("\nPEAK_RSS_KIB=")
    done.stderr = head
    return done, int(peak.strip())


WAIT = 60.0  # bound for something that must happen; never reached when things work


class DaemonProcess:
    """``python -m syncd run -c CONFIG -v`` with its log in a file (``env``: added variables)."""

    def __init__(
        self,
        home: Home,
        log_path: Path,
        env: dict[str, str] | None = None,
        program: tuple[str, ...] = ("-m", "syncd"),
    ) -> None:
        """``program``: what python runs (``tests/race_syncd.py``: syncd with pause points)."""
        self.home = home
        self.log_path = log_path
        self._log = log_path.open("a", encoding="utf-8")
        self._offset = log_path.stat().st_size
        skip = ("NOTIFY_SOCKET", "JOURNAL_STREAM")
        self.proc = subprocess.Popen(
            [sys.executable, *program, "run", "-c", str(home.config), "-v"],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            cwd=REPO,
            env={**{k: v for k, v in os.environ.items() if k not in skip}, **(env or {})},
        )

    def log(self) -> str:
        """What this process logged (the file may hold earlier processes' lines too)."""
        with self.log_path.open(encoding="utf-8", errors="replace") as handle:
            handle.seek(self._offset)
            return handle.read()

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}) waiting for {what}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout} s:\n{self.log()[-3000:]}")
            time.sleep(0.02)

    def wait_ready(self) -> None:
        self.wait_for(lambda: " ready: " in self.log(), "ready")

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log()))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT)
        self._log.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(timeout=WAIT)
        self._log.close()
        return code


def engine_for(home: Home, *, bulk: bool = True) -> tuple[SyncEngine, StateStore]:
    """The sync engine on ``home`` in this process (for tests that inject faults)."""
    config, _ = load_config(home.config)
    state = StateStore.open(home.state / "state.sqlite3")
    return SyncEngine(config, state, bulk=bulk), state


_ERROR_RE = re.compile(r"(?:^|\s)ERROR (?:[\w.]+: )?(/.*)$")


def page_failures(stderr: str) -> list[str]:
    """``<path>: <reason>`` of every error line naming a path (one per failed page)."""
    found = []
    for line in stderr.splitlines():
        match = _ERROR_RE.search(line)
        if match is not None:
            found.append(match.group(1))
    return found
