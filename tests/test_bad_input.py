"""Issue acceptance 6: bad pages are reported one by one, everything else is synced.

One real ``syncd once -c config.yaml`` process runs over a graph holding the sample pages plus
one page of each kind of bad input. It must exit 1, name every bad file with its reason on
stderr, write every good page's note exactly as a run without the bad pages does, and write
nothing outside the vault (the vault's parent folder is compared before and after, apart from
the vault and the state folder). A second run reports the bad pages again (they are retried)
and changes nothing else; once a bad page is repaired, it is synced.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DATA, READWISE_SAMPLES

MAX_PAGE_SIZE = 16 * 1024  # bytes; every good page is smaller, HUGE is larger
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def readwise_page(title: str, url: str) -> str:
    return (
        f"title:: {title} (highlights)\n"
        "author:: [[Someone]]\n"
        f'full-title:: "{title}"\n'
        "category:: #articles\n"
        f"url:: {url}\n"
        "\n"
        "- Highlights first synced by [[Readwise]] [[Feb 5th, 2024]]\n"
        f"\t- A highlight of {title[:20]}. ([View Highlight]({url}/h1))\n"
    )


@dataclass(frozen=True)
class Bad:
    name: str  # file name in pages/
    data: bytes
    reason: str  # what the line naming the file must say


BAD = (
    Bad(
        "Undecodable (highlights).md",
        readwise_page("Undecodable", "https://e.org/undecodable").encode()
        + b"\t- caf\xe9 au lait, Latin-1 in a UTF-8 page ([View Highlight](https://e.org/u2))\n",
        "not valid UTF-8",
    ),
    Bad("Cover.md", PNG, "binary file"),
    Bad(
        "Huge (highlights).md",
        (
            readwise_page("Huge", "https://e.org/huge")
            + "".join(
                f"\t- Line {n} {'x' * 90} ([View Highlight](https://e.org/huge/{n}))\n"
                for n in range(200)
            )
        ).encode(),
        "too large",
    ),
)
# (a title like ../../x or of 300 bytes is no bad input: it gives a note, design.md "Note
# path"; tests/test_names_titles.py)


class Home:
    """The vault's parent folder: config, graph, vault and state side by side."""

    def __init__(self, root: Path, *, with_bad: bool) -> None:
        self.root = root
        self.graph = root / "graph"
        self.pages = self.graph / "pages"
        self.vault = root / "vault"
        self.state = root / "state"
        self.config = root / "config.yaml"
        self.pages.mkdir(parents=True)
        (self.vault / ".obsidian").mkdir(parents=True)
        for folder in (READWISE_SAMPLES / "v2" / "pages", DATA / "readwise-real" / "pages"):
            for page in folder.iterdir():
                shutil.copyfile(page, self.pages / page.name)
        if with_bad:
            for bad in BAD:
                (self.pages / bad.name).write_bytes(bad.data)
        self.config.write_text(
            "state_dir: ./state\n"
            f"max_page_size: {MAX_PAGE_SIZE}\n"
            "vaults:\n"
            "  - name: main\n"
            "    path: ./vault\n"
            "    sources:\n"
            "      - path: ./graph\n"
            "        include: readwise\n"
            "        into: Readwise\n",
            "utf-8",
        )

    def sync(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "syncd", "once", "-c", str(self.config)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def outside(self) -> dict[str, tuple[bytes | None, int]]:
        """Everything under the vault's parent folder but the vault and the state folder."""
        out: dict[str, tuple[bytes | None, int]] = {}
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if rel.parts[0] in ("vault", "state"):
                continue
            data = path.read_bytes() if path.is_file() else None
            out[rel.as_posix()] = (data, path.lstat().st_mtime_ns)
        return out

    def vault_files(self) -> dict[str, tuple[bytes, int]]:
        return {
            p.relative_to(self.vault).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(self.vault.rglob("*"))
            if p.is_file()
        }


def failure_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line]


def check_reports(stderr: str) -> None:
    """Every bad file is named with its reason; every failure line names a bad file."""
    for bad in BAD:
        naming = [line for line in stderr.splitlines() if bad.name in line]
        assert naming, f"{bad.name} is not reported:\n{stderr}"
        for line in naming:
            assert bad.reason in line, f"{bad.name}: reason missing in {line!r}"
        assert len(naming) == 1, f"one line per bad file, got {naming}"
    for line in failure_lines(stderr):
        named = [bad.name for bad in BAD if bad.name in line]
        assert len(named) == 1, f"a failure line naming no bad file (or several): {line!r}"
    assert f"{len(BAD)} failed" in stderr


@pytest.fixture(scope="module")
def expected_notes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The notes of the good pages alone."""
    home = Home(tmp_path_factory.mktemp("good-only"), with_bad=False)
    done = home.sync()
    assert done.returncode == 0, done.stderr
    return {name: data for name, (data, _) in home.vault_files().items()}


def test_bad_pages_are_reported_and_skipped(
    tmp_path: Path, expected_notes: dict[str, bytes]
) -> None:
    home = Home(tmp_path / "home", with_bad=True)
    outside = home.outside()

    first = home.sync()
    assert first.returncode == 1, first.stderr
    check_reports(first.stderr)
    notes = home.vault_files()
    assert {name: data for name, (data, _) in notes.items()} == expected_notes
    assert len(expected_notes) == 11  # ten sample documents and the real tweet thread
    assert home.outside() == outside, "something was written outside the vault"
    assert not list(tmp_path.rglob("x*")), "the ../../x title reached the file system"

    second = home.sync()
    assert second.returncode == 1, second.stderr
    check_reports(second.stderr)  # retried, and still bad
    assert home.vault_files() == notes, "the second run changed the vault"
    assert home.outside() == outside


def test_a_repaired_page_is_synced_on_the_next_run(tmp_path: Path) -> None:
    home = Home(tmp_path / "home", with_bad=True)
    assert home.sync().returncode == 1
    bad = BAD[0]
    (home.pages / bad.name).write_bytes(bad.data.decode("utf-8", errors="replace").encode())
    again = home.sync()
    assert again.returncode == 1
    assert bad.name not in again.stderr
    assert f"{len(BAD) - 1} failed" in again.stderr
    assert (home.vault / "Readwise" / "Articles" / "Undecodable.md").is_file()
