"""A page read while it is being written (issue 13 finding 2), and highlights Readwise gives
new links (issue 13, smaller item).

design.md "Writing into the vault": a source page is read only once it has settled (unchanged
for ``settle_seconds``, not open for writing), also by the daemon's scans; a page that changed
while read is read again. A writer can still stop mid-page, so a page's last block without a
location link is provisional: written, but replaced, not duplicated, once the page has it whole
(``syncd.merge.provisional``). A page ending inside its properties is not read (its identity
would be cut). Real processes on real files: ``syncd once`` / ``syncd run`` and a writer
process that holds the page open while it writes it in parts.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncd import pagefile
from tests.reliability_helpers import (
    REPO,
    WAIT,
    DaemonProcess,
    Home,
    highlight_url,
    readwise_page,
)

NOTE = "Readwise/Articles/Document a.md"
# a highlight line of readwise_page("a", ...) as syncd writes it: whole, with its anchor
WHOLE_RE = re.compile(
    r"\t- Highlight (\d+) of a, a sentence worth keeping\. "
    r"\(\[View Highlight\]\(https://read\.readwise\.io/read/a-h(\d{5})\)\) \^rw-[0-9a-f]{12}"
)

# A writer process: it opens PATH (truncating it, as Logseq's writeFile does), writes DATA in
# parts of PART bytes, PAUSE seconds apart, and once at HOLD bytes stops and holds the file open
# until a line comes on its stdin (or HOLD_FOR seconds pass); it prints "held" then.
WRITER = r"""
import sys, time
path, data = sys.argv[1], open(sys.argv[2], "rb").read()
part, pause, hold, hold_for = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
with open(path, "wb") as out:
    at = 0
    while at < len(data):
        end = min(at + part, len(data))
        if at < hold <= end:
            end = hold
        out.write(data[at:end]); out.flush()
        at = end
        if at == hold:
            print("held", flush=True)
            if hold_for == "stdin":
                sys.stdin.readline()
            else:
                time.sleep(float(hold_for))
        else:
            time.sleep(pause)
"""


def page_text(numbers: range) -> str:
    """A Readwise page as the plugin writes it: no newline at its end."""
    return readwise_page("a", list(numbers)).rstrip("\n")


def write_slowly(
    page: Path, text: str, *, part: int, pause: float, hold: int, hold_for: str
) -> subprocess.Popen[str]:
    data = page.parent.parent.parent / f"writer-{time.monotonic_ns()}.bin"
    data.write_bytes(text.encode("utf-8"))
    args = [str(page), str(data), str(part), str(pause), str(hold), hold_for]
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def notes(home: Home) -> list[str]:
    return sorted(
        p.relative_to(home.vault).as_posix()
        for p in home.vault.rglob("*.md")
        if ".obsidian" not in p.parts
    )


def assert_each_highlight_whole_and_once(home: Home, numbers: range) -> None:
    """One note; every highlight of the page in it exactly once, whole; no cut text."""
    assert notes(home) == [NOTE]
    counts = home.url_counts()
    assert counts == {highlight_url("a", n): 1 for n in numbers}, counts
    text = (home.vault / NOTE).read_text("utf-8")
    for line in text.split("\n"):
        if line.startswith("\t- "):
            assert WHOLE_RE.fullmatch(line), f"cut or stray highlight line: {line!r}\n{text}"


def test_a_page_written_in_parts_under_frequent_rescans_gives_each_highlight_once(
    tmp_path: Path,
) -> None:
    """The daemon scans every 0.5 s while a writer process rewrites the page three times in
    small parts, and holds it open, cut inside a highlight, for longer than the settle time:
    no scan and no event reads the page half-written."""
    home = Home(tmp_path, settle="0.3s", rescan="0.5s")
    page = home.page("Document a")
    page.write_text(page_text(range(1, 4)), encoding="utf-8")
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()
        for last in (12, 21, 30):
            text = page_text(range(1, last + 1))
            hold = text.index(f"Highlight {last - 2} of a") + 20  # inside a highlight
            writer = write_slowly(page, text, part=90, pause=0.02, hold=hold, hold_for="1.2")
            assert writer.wait(timeout=WAIT) == 0
        daemon.wait_for(
            lambda: len(home.url_counts()) == 30 and (home.vault / NOTE).exists(), "all 30"
        )
        time.sleep(1.5)  # three more scans: none may add anything
        assert_each_highlight_whole_and_once(home, range(1, 31))
    finally:
        daemon.stop()


@pytest.mark.parametrize(
    "cut",
    ["mid-text", "mid-link", "at-a-line-end-of-a-multi-line-highlight"],
)
def test_once_on_a_page_cut_in_its_last_block_then_completed(tmp_path: Path, cut: str) -> None:
    """``syncd once`` reads a page a writer left cut in its last highlight (settled: nothing
    holds it open); the cut highlight reaches the note, and is replaced, not duplicated, once
    the page has it whole: no cut text stays."""
    home = Home(tmp_path)
    page = home.page("Document a")
    whole = page_text(range(1, 6))
    if cut == "at-a-line-end-of-a-multi-line-highlight":
        # highlight 5 on two lines; the writer stopped after the first one
        whole = whole.replace("Highlight 5 of a, a sentence", "Highlight 5 of a, a sentence\n\t  ")
        whole = whole.replace("\t   worth", "\t  worth")
        at = whole.index("\t  worth")
    elif cut == "mid-link":
        at = whole.index("a-h00005") - 10
    else:
        at = whole.index("Highlight 5 of a") + 14
    page.write_text(whole[:at], encoding="utf-8")
    first = home.once()
    assert first.returncode == 0, first.stderr
    assert "Highlight 5 of" in (home.vault / NOTE).read_text("utf-8")  # kept, provisionally
    page.write_text(whole, encoding="utf-8")
    second = home.once()
    assert second.returncode == 0, second.stderr
    if cut == "at-a-line-end-of-a-multi-line-highlight":
        text = (home.vault / NOTE).read_text("utf-8")
        assert text.count("Highlight 5 of a") == 1, text
        assert home.url_counts() == {highlight_url("a", n): 1 for n in range(1, 6)}
    else:
        assert_each_highlight_whole_and_once(home, range(1, 6))
    assert home.once().returncode == 0
    assert notes(home) == [NOTE]


def test_once_waits_for_a_page_held_open_for_writing(tmp_path: Path) -> None:
    """``syncd once`` started while a writer holds a page open, cut inside a highlight, waits
    for it to be closed and reads it whole: one run, each highlight once, no cut text."""
    home = Home(tmp_path)
    page = home.page("Document a")
    page.write_text(page_text(range(1, 4)), encoding="utf-8")
    assert home.once().returncode == 0
    text = page_text(range(1, 9))
    hold = text.index("Highlight 6 of a") + 20
    writer = write_slowly(page, text, part=4096, pause=0, hold=hold, hold_for="stdin")
    assert writer.stdout is not None and writer.stdin is not None
    assert writer.stdout.readline().strip() == "held"
    log = tmp_path / "once.log"
    with log.open("w") as err:
        once = subprocess.Popen(
            [sys.executable, "-m", "syncd", "once", "-c", str(home.config)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=REPO,
        )
        deadline = time.monotonic() + WAIT
        while once.poll() is None and "being written" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        writer.stdin.write("go\n")
        writer.stdin.flush()
        assert writer.wait(timeout=WAIT) == 0
        assert once.wait(timeout=WAIT) == 0, log.read_text()
    assert_each_highlight_whole_and_once(home, range(1, 9))


def test_a_page_cut_inside_its_properties_makes_no_second_note(tmp_path: Path) -> None:
    """A page a writer left cut inside its properties (its ``url::`` half written: another
    document identity) is not read as a document; once whole, it merges into its note."""
    home = Home(tmp_path)
    page = home.page("Document a")
    whole = page_text(range(1, 4))
    page.write_text(whole, encoding="utf-8")
    assert home.once().returncode == 0
    longer = page_text(range(1, 6))
    at = longer.index("example.org/a") - 3
    page.write_text(longer[:at], encoding="utf-8")
    cut = home.once()
    assert cut.returncode == 0, cut.stderr
    assert notes(home) == [NOTE], cut.stderr
    assert "still being written" in cut.stderr
    page.write_text(longer, encoding="utf-8")
    assert home.once().returncode == 0
    assert_each_highlight_whole_and_once(home, range(1, 6))


def test_highlights_readwise_gives_new_links_are_not_added_again(tmp_path: Path) -> None:
    """The same highlights with new location links (a document Readwise imported again):
    each stays once; its link follows Readwise where the user left the highlight as syncd
    wrote it (merge rule 5), and its anchor stays (links to it keep working); the user's own
    lines stay. A state loss changes nothing of it."""
    home = Home(tmp_path)
    page = home.page("Document a")
    page.write_text(page_text(range(1, 5)), encoding="utf-8")
    assert home.once().returncode == 0
    note = home.vault / NOTE
    before = note.read_text("utf-8")
    anchors = re.findall(r"\^(rw-[0-9a-f]{12})$", before, re.MULTILINE)
    assert len(anchors) == 4
    mine = "\t\t- my own thought on highlight 2"
    line2 = next(x for x in before.split("\n") if "Highlight 2 of a" in x)
    note.write_text(before.replace(line2, f"{line2}\n{mine}"), encoding="utf-8")
    page.write_text(page_text(range(1, 6)).replace("/read/a-h", "/read/b-h"), encoding="utf-8")
    run = home.once()
    assert run.returncode == 0, run.stderr
    text = note.read_text("utf-8")
    for n in range(1, 6):
        assert text.count(f"Highlight {n} of a") == 1, text
        line = next(x for x in text.split("\n") if f"Highlight {n} of a" in x)
        assert f"/read/b-h{n:05d})" in line, line
    assert mine in text
    assert re.findall(r"\^(rw-[0-9a-f]{12})$", text, re.MULTILINE)[:4] == anchors
    assert home.once().returncode == 0
    assert note.read_text("utf-8") == text  # and nothing changes after
    for path in home.state.iterdir():
        path.unlink()  # state lost: the highlights are known from the note
    assert home.once().returncode == 0
    assert note.read_text("utf-8") == text


def test_a_page_written_to_while_it_is_read_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer appends to the page right after syncd's read (the window held open by a
    wrapped ``_read_upto``): the size moved, so the page is read again and its bytes and stat
    are the grown file's; a page that keeps changing gives the stat from before its last
    read (the next run sees it changed)."""
    page = tmp_path / "page.md"
    page.write_bytes(b"- one\n")
    real = pagefile._read_upto
    appends = [b"- two\n"]

    def read_then_append(fd: int, size: int, most: int) -> bytes:
        data = real(fd, size, most)
        if appends:
            with page.open("ab") as out:
                out.write(appends.pop())
        return data

    monkeypatch.setattr(pagefile, "_read_upto", read_then_append)
    got = pagefile.read_page(page, 1 << 20)
    assert got is not None
    assert got[0] == b"- one\n- two\n"
    assert got[1].st_size == len(got[0])
    appends.extend([b"- more\n"] * pagefile.READ_ATTEMPTS)
    got = pagefile.read_page(page, 1 << 20)
    assert got is not None and got[1].st_size == len(got[0]) < page.stat().st_size
