"""Hostile input (issue 5): malformed pages, vault notes and configurations, table-driven.

Three tables, each row an input with its expected outcome and message:

- ``PAGES``: source pages. All of them sit in one graph and one real ``syncd once`` process
  syncs it: the bad ones are reported one line each (``failed: <path>: <reason>``), every other
  page is synced, the process survives, its peak RSS stays under ``RSS_BOUND_MIB`` (measured
  with ``getrusage(RUSAGE_CHILDREN)`` in a wrapper process), and a second run changes nothing.
- ``NOTES``: vault notes the merge must update (the document gains a highlight). Each note is
  damaged or edited in a hostile way after the first sync; after the second sync every byte of
  it is still there, the new highlight is in it exactly once (or the note is left untouched
  with a reason), and no old highlight came back twice.
- ``CONFIGS``: ``syncd check`` and ``syncd once`` on a broken configuration exit 2 with a
  message naming the file (and the key), and write nothing.

Expected outcomes are written out per row; docs/reliability.md summarises them.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from syncd.merge import split_frontmatter
from syncd.readwise import anchor_for
from tests.reliability_helpers import (
    URL_RE,
    Home,
    error_lines,
    highlight_line,
    highlight_url,
    page_failures,
    readwise_page,
    run_measured,
    run_syncd,
)

pytestmark = pytest.mark.slow

SYNCED, FAILED, SKIPPED = "synced", "failed", "skipped"
MAX_PAGE_SIZE = 32 * 1024 * 1024
RSS_BOUND_MIB = 1024  # generous: the largest input is a 10 MB page; measured ~270 MiB
ARTICLES = "Readwise/Articles"


# =========================================================================== pages


@dataclass(frozen=True)
class Run:
    """One ``syncd once`` process over a prepared home."""

    home: Home
    stderr: str
    returncode: int
    peak_kib: int  # its peak resident set size
    counts: Counter[str]  # highlight URL -> occurrences in the vault after the run


@dataclass(frozen=True)
class NotesRun:
    run: Run
    damaged: dict[str, bytes]  # case id -> the note's bytes right after the damage


@dataclass(frozen=True)
class PageCase:
    id: str
    files: dict[str, bytes]  # file name in pages/ -> content (None-like cases build below)
    outcome: str  # SYNCED, FAILED or SKIPPED (not a Readwise page: ignored, no error)
    message: str = ""  # FAILED: the reason printed after the page's path
    check: Callable[[Home], None] | None = None  # SYNCED: more than "each highlight once"


def page(
    doc: str, body: list[str], *, title: str | None = None, props: list[str] | None = None
) -> bytes:
    name = title if title is not None else f"Hostile {doc}"
    lines = [
        f"title:: {name} (highlights)",
        "author:: [[Somebody]]",
        "category:: #articles",
        f"url:: https://example.org/{doc}",
        *(props or []),
        "",
        "- Highlights first synced by [[Readwise]] [[Feb 5th, 2024]]",
        *body,
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def hl(doc: str, n: int, text: str | None = None, depth: int = 1) -> str:
    return highlight_line(doc, n, text, depth)


def frontmatter_of(text: str) -> dict[str, object]:
    head, _ = split_frontmatter(text)
    data = yaml.safe_load(head.strip().strip("-"))
    assert isinstance(data, dict), head
    return data


def only_note(home: Home, stem_contains: str) -> Path:
    found = [p for p in home.vault.rglob("*.md") if stem_contains in p.name]
    assert len(found) == 1, (stem_contains, found)
    return found[0]


def note_of(home: Home, doc: str) -> Path:
    """The note whose frontmatter says syncd-id: url:https://example.org/<doc>."""
    wanted = f"syncd-id: url:https://example.org/{doc}\n"
    found = [p for p in home.vault.rglob("*.md") if wanted in p.read_text("utf-8", "replace")]
    assert len(found) == 1, (doc, found)
    return found[0]


def check_text_kept(doc: str, fragment: str) -> Callable[[Home], None]:
    def check(home: Home) -> None:
        assert fragment in note_of(home, doc).read_text("utf-8")

    return check


def check_five_mb_line(home: Home) -> None:
    note = note_of(home, "five-mb-line")
    assert note.stat().st_size > 5_000_000
    assert "lorem [[ipsum]] lorem [[ipsum]] lorem" in note.read_text("utf-8")


def check_100k(home: Home) -> None:
    text = note_of(home, "100k-highlights").read_text("utf-8")
    anchors = re.findall(r"\^(rw-[0-9a-f]{12})$", text, flags=re.MULTILINE)
    assert len(anchors) == len(set(anchors)) == 100_000


def check_control_title(home: Home) -> None:
    note = note_of(home, "title-control-chars")
    assert all(ch.isprintable() for ch in note.name), note.name
    assert frontmatter_of(note.read_text("utf-8"))["full-title"] == CONTROL_TITLE


def check_escape_title(home: Home) -> None:
    """A title that reads like a path is text made safe, never refused (design.md)."""
    note = note_of(home, "escape")
    assert note.name == "x.md" and note.parent.name == "Articles", note
    assert frontmatter_of(note.read_text("utf-8"))["full-title"] == "../../x"


def check_long_title(home: Home) -> None:
    """300 bytes of title: the note's name cut at a character boundary, the title kept."""
    note = note_of(home, "t300")
    assert len(note.name.encode("utf-8")) <= 255 and note.stem == "한" * 82, note.name
    assert frontmatter_of(note.read_text("utf-8"))["full-title"] == "한" * 100


def check_reserved_name(home: Home) -> None:
    assert note_of(home, "title-windows-reserved").name == "CON_.md"


def check_case_duplicates(home: Home) -> None:
    upper, lower = note_of(home, "case-a"), note_of(home, "case-b")
    assert upper != lower and upper.parent == lower.parent
    assert upper.name.casefold() != lower.name.casefold()


def check_nfc_nfd(home: Home) -> None:
    first, second = note_of(home, "nfc"), note_of(home, "nfd")
    fold = [unicodedata.normalize("NFC", p.name).casefold() for p in (first, second)]
    assert fold[0] != fold[1], (first, second)


def check_same_document(home: Home) -> None:
    note = note_of(home, "same-doc")
    for n in (1, 2, 3):
        assert note.read_text("utf-8").count(highlight_url("same-doc", n)) == 1


def check_property_keys(home: Home) -> None:
    text = note_of(home, "hostile-keys").read_text("utf-8")
    data = frontmatter_of(text)
    assert data["syncd-id"] == "url:https://example.org/hostile-keys"
    assert text.count("syncd-id:") == 1
    assert data["[bad"] == "one" and data["*alias"] == "two" and data["#c"] == "d"
    assert data["null"] == "n" and data["key"] == "*ref"


def check_property_values(home: Home) -> None:
    data = frontmatter_of(note_of(home, "hostile-values").read_text("utf-8"))
    assert data["extra"] == "key: value # not a comment"
    assert data["at"] == "@handle"
    assert data["brackets"] == "[[unclosed"


def check_fake_anchor(home: Home) -> None:
    assert note_of(home, "fake-anchor").read_text("utf-8").count(FAKE_B) == 1


def check_no_cr(home: Home) -> None:
    assert "\r" not in note_of(home, "bom-crlf").read_text("utf-8")


def check_mojibake(home: Home) -> None:
    text = note_of(home, "mojibake").read_text("utf-8")
    assert "a dash — here" in text and "â€”" not in text


def check_dotfile(home: Home) -> None:
    assert not note_of(home, "dotfile").name.startswith(".")


def check_bidi(home: Home) -> None:
    assert "\u202e" not in note_of(home, "bidi-title").name


def check_properties_only(home: Home) -> None:
    assert "syncd-id:" in note_of(home, "properties-only").read_text("utf-8")


def check_10k_properties(home: Home) -> None:
    data = frontmatter_of(note_of(home, "10k-properties").read_text("utf-8"))
    assert data["k9999"] == "value 9999"


CONTROL_TITLE = "Bell\x07 and \x1b[31mred\x1b[0m"
FAKE_B = highlight_url("fake-anchor", 2)
LONG_LINE = "lorem [[ipsum]] " * 350_000  # 5.6 MB on one line


def _fake_anchor_page() -> bytes:
    # the first highlight's text has a line ending in the anchor syncd gives the second one
    fake = anchor_for(f"url:{FAKE_B}")
    return (
        page(
            "fake-anchor",
            [
                "\t- The first line of a quote",
                f"\t  that ends like an anchor ^{fake}",
                f"\t  and goes on. ([View Highlight]({highlight_url('fake-anchor', 1)}))",
            ],
        )
        + b"- New highlights added [[Mar 1st, 2024]] at 9:00 AM\n"
        + (hl("fake-anchor", 2) + "\n").encode()
    )


def _pages() -> list[PageCase]:
    cases = [
        PageCase("truncated-properties", {"Truncated.md": b"title:: Truncated (highli"}, SKIPPED),
        PageCase(
            "truncated-mid-highlight",
            {"Cut (highlights).md": page("cut", [hl("cut", 1)])[:-1] + b"\n\t- The last was cu"},
            SYNCED,
            check=check_text_kept("cut", "The last was cu"),
        ),
        PageCase(
            "properties-without-values",
            {"Bare (highlights).md": page("bare", [hl("bare", 1)], props=["tags::", "summary::"])},
            SYNCED,
        ),
        PageCase(
            "unbalanced-brackets-title",
            {"Unb (highlights).md": page("unbalanced-title", [], title="Unbalanced [[ Title")},
            SYNCED,
            check=lambda home: only_note(home, "Unbalanced"),
        ),
        PageCase(
            "unbalanced-brackets-text",
            {
                "Unbt (highlights).md": page(
                    "unbalanced-text", [hl("unbalanced-text", 1, "a [[dangling and ]] stray #[[")]
                )
            },
            SYNCED,
            check=check_text_kept("unbalanced-text", "a [[dangling and ]] stray #[["),
        ),
        PageCase(
            "five-mb-line",
            {"Long (highlights).md": page("five-mb-line", [hl("five-mb-line", 1, LONG_LINE)])},
            SYNCED,
            check=check_five_mb_line,
        ),
        PageCase(
            "nul-bytes",
            {"Nul (highlights).md": page("nul", [hl("nul", 1, "a\x00b")])},
            FAILED,
            "binary file, not a text page (contains NUL bytes)",
        ),
        PageCase(
            "invalid-utf8",
            {"Latin1 (highlights).md": page("latin1", [hl("latin1", 1)]) + b"\t- caf\xe9\n"},
            FAILED,
            "not valid UTF-8 (byte 0xe9 at offset",
        ),
        PageCase(
            "nesting-1000",
            {
                "Deep (highlights).md": page(
                    "deep", [hl("deep", n, f"level {n}", depth=n) for n in range(1, 1001)]
                )
            },
            FAILED,
            "outline nested too deeply to process",
        ),
        PageCase(
            "nesting-150",
            {
                "Deep150 (highlights).md": page(
                    "deep150", [hl("deep150", n, f"level {n}", depth=n) for n in range(1, 151)]
                )
            },
            SYNCED,
        ),
        PageCase(
            "100k-highlights",
            {
                "Many (highlights).md": page(
                    "100k-highlights", [hl("100k-highlights", n) for n in range(100_000)]
                )
            },
            SYNCED,
            check=check_100k,
        ),
        # an empty page is no error (design.md "Writing into the vault"; issue 12, shape 04)
        PageCase("empty", {"Empty (highlights).md": b""}, SKIPPED),
        PageCase("whitespace-only", {"Blank (highlights).md": b" \n\t\n\r\n"}, SKIPPED),
        PageCase(
            "title-escape",
            {"..___..___x (highlights).md": page("escape", [hl("escape", 1)], title="../../x")},
            SYNCED,
            check=check_escape_title,
        ),
        PageCase(
            "title-300-bytes",
            {"Long title (highlights).md": page("t300", [hl("t300", 1)], title="한" * 100)},
            SYNCED,
            check=check_long_title,
        ),
        PageCase(
            "title-control-chars",
            {"Ctl (highlights).md": page("title-control-chars", [], title=CONTROL_TITLE)},
            SYNCED,
            check=check_control_title,
        ),
        PageCase(
            "title-windows-reserved",
            {"CON (highlights).md": page("title-windows-reserved", [], title="CON")},
            SYNCED,
            check=check_reserved_name,
        ),
        PageCase(
            "title-empty",
            {"Untitled (highlights).md": page("title-empty", [hl("title-empty", 1)], title="")},
            SYNCED,
        ),
        PageCase(
            "case-only-duplicate-titles",
            {
                "Case Title (highlights).md": page("case-a", [hl("case-a", 1)], title="Case Title"),
                "case title (highlights).md": page("case-b", [hl("case-b", 1)], title="case title"),
            },
            SYNCED,
            check=check_case_duplicates,
        ),
        PageCase(
            "nfc-vs-nfd-titles",
            {
                "Cafe NFC (highlights).md": page(
                    "nfc", [hl("nfc", 1)], title=unicodedata.normalize("NFC", "Café Notes")
                ),
                "Cafe NFD (highlights).md": page(
                    "nfd", [hl("nfd", 1)], title=unicodedata.normalize("NFD", "Café Notes")
                ),
            },
            SYNCED,
            check=check_nfc_nfd,
        ),
        PageCase(
            "one-document-two-pages",
            {
                "Same A (highlights).md": page("same-doc", [hl("same-doc", 1), hl("same-doc", 2)]),
                "Same B (highlights).md": page(
                    "same-doc", [hl("same-doc", 2), hl("same-doc", 3)], title="Renamed"
                ),
            },
            SYNCED,
            check=check_same_document,
        ),
        PageCase(
            "hostile-property-keys",
            {
                "Keys (highlights).md": page(
                    "hostile-keys",
                    [hl("hostile-keys", 1)],
                    props=[
                        "[bad:: one",
                        "*alias:: two",
                        "syncd-id:: hijack",
                        "&x:: y",
                        "!!python/object:: z",
                        "#c:: d",
                        "null:: n",
                        "key:: *ref",
                        "Key:: duplicate, case only",
                        '"q:: x',
                    ],
                )
            },
            SYNCED,
            check=check_property_keys,
        ),
        PageCase(
            "hostile-property-values",
            {
                "Values (highlights).md": page(
                    "hostile-values",
                    [hl("hostile-values", 1)],
                    props=[
                        'summary:: "unterminated',
                        "tags:: #[[a tag]] #b ]] [[",
                        "extra:: key: value # not a comment",
                        "at:: @handle",
                        "brackets:: [[unclosed",
                    ],
                )
            },
            SYNCED,
            check=check_property_values,
        ),
        PageCase(
            "text-that-looks-like-an-anchor",
            {"Fake (highlights).md": _fake_anchor_page()},
            SYNCED,
            check=check_fake_anchor,
        ),
        PageCase(
            "unclosed-code-fence",
            {
                "Fence (highlights).md": page(
                    "fence",
                    [
                        "\t- Code follows",
                        "\t  ```python",
                        "\t  - not a bullet",
                        f"\t  ([View Highlight]({highlight_url('fence', 1)}))",
                        hl("fence", 2),
                    ],
                )
            },
            SYNCED,
        ),
        PageCase(
            "properties-only",
            {
                "Props (highlights).md": (
                    b"category:: #articles\nfull-title:: Props only\n"
                    b"url:: https://example.org/properties-only\n"
                )
            },
            SYNCED,
            check=check_properties_only,
        ),
        PageCase("header-without-highlights", {"Hdr (highlights).md": page("hdr", [])}, SYNCED),
        PageCase(
            "resync-duplicates",
            {"Dup (highlights).md": page("dup", [hl("dup", 1), hl("dup", 2), hl("dup", 1)])},
            SYNCED,
        ),
        PageCase(
            "bom-and-crlf",
            {
                "Crlf (highlights).md": b"\xef\xbb\xbf"
                + page("bom-crlf", [hl("bom-crlf", 1)]).replace(b"\n", b"\r\n")
            },
            SYNCED,
            check=check_no_cr,
        ),
        PageCase(
            "mojibake",
            {"Moji (highlights).md": page("mojibake", [hl("mojibake", 1, "a dash â€” here")])},
            SYNCED,
            check=check_mojibake,
        ),
        PageCase(
            "10k-line-highlight",
            {
                "Lines (highlights).md": page(
                    "lines",
                    [
                        "\t- start",
                        *(f"\t  line {n}" for n in range(10_000)),
                        f"\t  end ([View Highlight]({highlight_url('lines', 1)}))",
                    ],
                )
            },
            SYNCED,
        ),
        PageCase(
            "10k-properties",
            {
                "Kprops (highlights).md": page(
                    "10k-properties",
                    [hl("10k-properties", 1)],
                    props=[f"k{n}:: value {n}" for n in range(10_000)],
                )
            },
            SYNCED,
            check=check_10k_properties,
        ),
        PageCase(
            "dotfile-page-name",
            {".dot (highlights).md": page("dotfile", [hl("dotfile", 1)], title=".dot")},
            SYNCED,
            check=check_dotfile,
        ),
        PageCase(
            "bidi-and-zero-width-title",
            {"Bidi (highlights).md": page("bidi-title", [], title="\u202eevil\u200b txt")},
            SYNCED,
            check=check_bidi,
        ),
        PageCase(
            "mixed-tabs-and-spaces",
            {
                "Mixed (highlights).md": page(
                    "mixed",
                    [hl("mixed", 1), "  " + hl("mixed", 2, depth=1), " \t" + hl("mixed", 3)],
                )
            },
            SYNCED,
        ),
        PageCase(
            "readwise-notifications-page",
            {"Readwise.md": b"- [[Feb 5th, 2024]] Readwise synced 3 highlights from 1 book\n"},
            SKIPPED,
        ),
        PageCase("plain-logseq-page", {"Groceries.md": b"- eggs\n- [[milk]]\n"}, SKIPPED),
    ]
    return cases


PAGES = _pages()
# built on disk by the fixture, not as bytes
SPECIAL_PAGES = (
    PageCase(
        "over-size-limit",
        {"Huge (highlights).md": b""},
        FAILED,
        f"page too large ({MAX_PAGE_SIZE + 1} bytes; the limit is {MAX_PAGE_SIZE}",
    ),
    PageCase("folder-named-like-a-page", {"Folder (highlights).md": b""}, SKIPPED),
)


def test_the_page_table_is_big_enough() -> None:
    assert len(PAGES) + len(SPECIAL_PAGES) >= 30
    assert len({case.id for case in (*PAGES, *SPECIAL_PAGES)}) == len(PAGES) + len(SPECIAL_PAGES)


def _expected_urls(case: PageCase) -> set[str]:
    urls: set[str] = set()
    for data in case.files.values():
        urls.update(URL_RE.findall(data.decode("utf-8", "replace")))
    return urls


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = Home(tmp_path_factory.mktemp("hostile-pages"))
    home.write_config(extra=f"max_page_size: {MAX_PAGE_SIZE}\n")
    for case in PAGES:
        for name, data in case.files.items():
            (home.pages / name).write_bytes(data)
    with (home.pages / "Huge (highlights).md").open("wb") as sparse:
        sparse.truncate(MAX_PAGE_SIZE + 1)  # refused by its size, before a byte is read
    (home.pages / "Folder (highlights).md").mkdir()
    done, peak_kib = run_measured(["once", "-c", str(home.config)])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return Run(home, done.stderr, done.returncode, peak_kib, home.url_counts())


def _failure_lines(stderr: str) -> list[str]:
    return page_failures(stderr)


@pytest.mark.parametrize("case", [*PAGES, *SPECIAL_PAGES], ids=lambda c: c.id)
def test_hostile_page(case: PageCase, hostile_run: Run) -> None:
    home, stderr = hostile_run.home, hostile_run.stderr
    failures = _failure_lines(stderr)
    for name in case.files:
        path = home.pages / name
        mine = [line for line in failures if line.startswith(f"{path}: ")]
        if case.outcome == FAILED:
            assert len(mine) == 1, (name, failures)
            assert case.message in mine[0], mine[0]
        else:
            assert mine == [], mine
    counts = hostile_run.counts
    if case.outcome == SYNCED:
        for url in _expected_urls(case):
            assert counts[url] == 1, (url, counts[url])
        if case.check is not None:
            case.check(home)
    if case.outcome == FAILED:
        for url in _expected_urls(case):
            assert counts[url] == 0, url


def test_hostile_pages_run_as_a_whole(hostile_run: Run) -> None:
    home, stderr, peak_kib = hostile_run.home, hostile_run.stderr, hostile_run.peak_kib
    expected_failed = sum(len(c.files) for c in (*PAGES, *SPECIAL_PAGES) if c.outcome == FAILED)
    assert hostile_run.returncode == 1  # some pages failed, every other one was synced
    assert len(_failure_lines(stderr)) == expected_failed, _failure_lines(stderr)
    assert f"{expected_failed} failed" in stderr
    assert peak_kib < RSS_BOUND_MIB * 1024, f"peak RSS {peak_kib // 1024} MiB"
    assert home.temp_files() == []
    # a second run: the bad pages are reported again (unchanged: from the record, not read
    # again, issue 13 finding 6), nothing else changes
    before = home.vault_files()
    again, _ = run_measured(["once", "-c", str(home.config)])
    assert again.returncode == 1
    known = re.compile(r" \(failed \S+, unchanged since: read again when it changes\)$")
    assert all(known.search(line) for line in _failure_lines(again.stderr))
    assert sorted(known.sub("", line) for line in _failure_lines(again.stderr)) == sorted(
        _failure_lines(stderr)
    )
    assert home.vault_files() == before
    print(f"hostile pages: peak RSS {peak_kib // 1024} MiB for {len(PAGES)} rows")


def test_text_that_looks_like_an_anchor_never_hides_a_later_highlight(tmp_path: Path) -> None:
    """A highlight whose text has a line ending in ``^rw-<12 hex>`` (the anchor syncd will give
    a later highlight) must not make that later highlight look already written."""
    home = Home(tmp_path)
    first = _fake_anchor_page().split(b"- New highlights added")[0]
    home.page("Fake").write_bytes(first)
    assert home.once().returncode == 0
    home.page("Fake").write_bytes(_fake_anchor_page())
    assert home.once().returncode == 0
    assert home.url_counts()[FAKE_B] == 1
    text = note_of(home, "fake-anchor").read_text("utf-8")
    assert "that ends like an anchor" in text  # the quote itself is kept


def test_unreadable_notes_elsewhere_in_the_vault_block_nothing(tmp_path: Path) -> None:
    """A note that is not UTF-8, a FIFO and a folder named like notes sit in the vault while
    syncd looks for moved notes (for every new document, and for a note the user moved): they
    are passed over, and every page is synced."""
    home = Home(tmp_path)
    home.put("moved", [1])
    assert home.once().returncode == 0
    moved = home.vault / "Elsewhere" / "Moved by me.md"
    moved.parent.mkdir()
    home.note("moved").rename(moved)
    (home.vault / "latin1.md").write_bytes(b"caf\xe9 au lait\n")
    os.mkfifo(home.vault / "pipe.md")
    (home.vault / "folder.md").mkdir()
    home.put("moved", [1], added=[[2]])
    home.put("new", [1])
    done = run_syncd(["once", "-c", str(home.config)], timeout=60)
    assert done.returncode == 0, done.stderr
    # (only frontmatters are read to find ids since issue 13: a note without one, a FIFO and
    # a folder are passed over without being read, so no warning is needed for them)
    assert moved.read_text("utf-8").count(highlight_url("moved", 2)) == 1
    assert home.note("new").is_file()
    assert (home.vault / "latin1.md").read_bytes() == b"caf\xe9 au lait\n"


# =========================================================================== vault notes


@dataclass(frozen=True)
class NoteCase:
    id: str
    damage: Callable[[Path], None]  # applied to the note after the first sync
    outcome: str  # SYNCED (new highlight merged in) or FAILED (note left as it is)
    message: str = ""
    check: Callable[[Path, bytes, bytes], None] | None = None  # (note, damaged, after)


def edit_text(change: Callable[[str], str]) -> Callable[[Path], None]:
    def damage(note: Path) -> None:
        note.write_text(change(note.read_text("utf-8")), "utf-8", newline="")

    return damage


def edit_bytes(change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(note: Path) -> None:
        note.write_bytes(change(note.read_bytes()))

    return damage


def replace_head(new_head: str) -> Callable[[Path], None]:
    def change(text: str) -> str:
        head, body = split_frontmatter(text)
        ident = re.search(r"^syncd-id:.*$", head, flags=re.MULTILINE)
        assert ident is not None
        return new_head.replace("@ID@", ident.group(0)) + body

    return edit_text(change)


ALIAS_BOMB = (
    "---\n"
    + "".join(
        f"{c}: &{c} [" + ",".join([f"*{p}"] * 9 if p else ['"lol"'] * 9) + "]\n"
        for p, c in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
    )
    + "bomb: *i\n@ID@\n---\n"
)
INVALID_YAML = "---\nbroken: [unclosed\n\tbad indent: : :\n@ID@\n---\n"


def to_folder(note: Path) -> None:
    note.unlink()
    note.mkdir()
    (note / "inside.txt").write_text("mine\n", "utf-8")


def to_fifo(note: Path) -> None:
    note.unlink()
    os.mkfifo(note)


def copy_note(note: Path) -> None:
    shutil.copyfile(note, note.with_name("Copy of the note.md"))


def strip_anchors(text: str) -> str:
    return re.sub(r" \^rw-[0-9a-f]{12}$", "", text, flags=re.MULTILINE)


def make_read_only(note: Path) -> None:
    note.chmod(0o444)


def check_mode_kept(note: Path, damaged: bytes, after: bytes) -> None:
    assert stat.S_IMODE(note.stat().st_mode) == 0o444


def check_head_kept(note: Path, damaged: bytes, after: bytes) -> None:
    head, _ = split_frontmatter(damaged.decode("utf-8"))
    assert head and after.decode("utf-8").startswith(head)


def check_prefix_kept(note: Path, damaged: bytes, after: bytes) -> None:
    assert after.startswith(damaged.split(b"- Highlights first synced")[0])


def check_copy_untouched(note: Path, damaged: bytes, after: bytes) -> None:
    copy = note.with_name("Copy of the note.md")
    assert copy.read_bytes() == damaged  # the copy is the user's; not updated, not removed


NOTES = (
    NoteCase("yaml-alias-bomb", replace_head(ALIAS_BOMB), SYNCED, check=check_head_kept),
    NoteCase("invalid-yaml", replace_head(INVALID_YAML), SYNCED, check=check_head_kept),
    NoteCase(
        "body-starts-with-a-rule",
        edit_text(lambda t: "---\n\nBetween two rules.\n\n---\n" + split_frontmatter(t)[1]),
        SYNCED,
        check=check_prefix_kept,
    ),
    NoteCase(
        "unclosed-frontmatter",
        edit_text(lambda t: t.replace("\n---\n- Highlights", "\n- Highlights", 1)),
        SYNCED,
    ),
    NoteCase(
        "frontmatter-is-a-list",
        replace_head("---\n- one\n- two\n---\n"),
        SYNCED,
        check=check_head_kept,
    ),
    NoteCase(
        "invalid-utf8-note",
        edit_bytes(lambda b: b + b"caf\xe9\n"),
        FAILED,
        "note is not valid UTF-8 (byte",
    ),
    NoteCase("nul-in-note", edit_text(lambda t: t + "user\x00text\n"), SYNCED),
    NoteCase("crlf-note", edit_text(lambda t: t.replace("\n", "\r\n")), SYNCED),
    NoteCase("bom-note", edit_bytes(lambda b: b"\xef\xbb\xbf" + b), SYNCED),
    NoteCase("emptied-note", edit_text(lambda t: ""), SYNCED),
    NoteCase("note-became-a-folder", to_folder, FAILED, "is a folder, not a note"),
    NoteCase("note-became-a-fifo", to_fifo, FAILED, "refused: not a regular file"),
    NoteCase("huge-note", edit_text(lambda t: t + ("my own words " * 8 + "\n") * 200_000), SYNCED),
    NoteCase(
        "deep-user-nesting",
        edit_text(lambda t: t + "".join("\t" * d + f"- mine {d}\n" for d in range(1000))),
        SYNCED,
    ),
    NoteCase(
        "highlights-in-a-code-fence",
        edit_text(lambda t: t.replace("- Highlights", "```\n- Highlights", 1) + "```\n"),
        SYNCED,
    ),
    NoteCase("copied-note", copy_note, SYNCED, check=check_copy_untouched),
    NoteCase(
        "syncd-id-edited",
        edit_text(lambda t: re.sub(r"^syncd-id:.*$", "syncd-id: mine", t, flags=re.MULTILINE)),
        SYNCED,
    ),
    NoteCase("anchors-removed", edit_text(strip_anchors), SYNCED),
    NoteCase("read-only-mode", make_read_only, SYNCED, check=check_mode_kept),
    NoteCase(
        "unbalanced-brackets-and-backticks",
        edit_text(lambda t: t + "[[open and ``` and `tick\n"),
        SYNCED,
    ),
)


def note_doc(case: NoteCase) -> str:
    return f"note-{case.id}"


def _lines_in_order(inner: list[str], outer: list[str]) -> bool:
    remaining = iter(outer)
    return all(line in remaining for line in inner)


@pytest.fixture(scope="module")
def notes_run(tmp_path_factory: pytest.TempPathFactory) -> NotesRun:
    home = Home(tmp_path_factory.mktemp("hostile-notes"))
    for case in NOTES:
        home.put(note_doc(case), [1, 2])
    first = run_syncd(["once", "-c", str(home.config)])
    assert first.returncode == 0, first.stderr
    damaged: dict[str, bytes] = {}
    for case in NOTES:
        note = home.note(note_doc(case))
        case.damage(note)
        damaged[case.id] = note.read_bytes() if note.is_file() and not note.is_fifo() else b""
        home.put(note_doc(case), [1, 2], added=[[3]])
    done, peak_kib = run_measured(["once", "-c", str(home.config)], timeout=120)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return NotesRun(Run(home, done.stderr, done.returncode, peak_kib, home.url_counts()), damaged)


@pytest.mark.parametrize("case", NOTES, ids=lambda c: c.id)
def test_hostile_note(case: NoteCase, notes_run: NotesRun) -> None:
    home, stderr, damaged = notes_run.run.home, notes_run.run.stderr, notes_run.damaged
    doc = note_doc(case)
    note = home.note(doc)
    failures = [line for line in _failure_lines(stderr) if f"Document {doc} " in line]
    if case.outcome == FAILED:
        assert len(failures) == 1 and case.message in failures[0], failures
        if note.is_file() and not note.is_fifo():
            assert note.read_bytes() == damaged[case.id]  # left exactly as it was
        assert notes_run.run.counts[highlight_url(doc, 3)] == 0
        return
    assert failures == [], failures
    after = note.read_bytes()
    before_text = damaged[case.id].decode("utf-8")
    after_text = after.decode("utf-8")
    # every line the user had is still there, in order
    assert _lines_in_order(before_text.split("\n"), after_text.split("\n"))
    assert after_text.count(highlight_url(doc, 3)) == 1  # the new highlight, once
    for n in (1, 2):  # old highlights neither duplicated nor brought back
        assert after_text.count(highlight_url(doc, n)) == before_text.count(highlight_url(doc, n))
    if case.check is not None:
        case.check(note, damaged[case.id], after)


def test_hostile_notes_run_as_a_whole(notes_run: NotesRun) -> None:
    home, stderr, peak_kib = notes_run.run.home, notes_run.run.stderr, notes_run.run.peak_kib
    assert notes_run.run.returncode == 1
    failed = [c for c in NOTES if c.outcome == FAILED]
    assert len(_failure_lines(stderr)) == len(failed), _failure_lines(stderr)
    assert peak_kib < RSS_BOUND_MIB * 1024, f"peak RSS {peak_kib // 1024} MiB"
    assert home.temp_files() == []


# =========================================================================== configurations


@dataclass(frozen=True)
class ConfigCase:
    id: str
    content: bytes | None  # None: the case builds its own path (a folder, a missing file)
    message: str  # on stderr, after the file's path


BASE = (
    "state_dir: ./state\n"
    "vaults:\n"
    "  - name: main\n"
    "    path: ./vault\n"
    "    sources:\n"
    "      - path: ./graph\n"
)
BOMB = "".join(
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 9 if p else ['"lol"'] * 9) + "]\n"
    for p, c in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)

CONFIGS = (
    ConfigCase("yaml-syntax", b"vaults: [\n", "invalid YAML at line"),
    ConfigCase(
        "alias-bomb-as-a-value",
        (BOMB + BASE.replace("path: ./vault", "path: *i")).encode(),
        "vaults[0].path: must be a path, not a list",
    ),
    ConfigCase(
        "alias-bomb-under-an-unknown-key",
        (BOMB + BASE + "junk: *i\n").encode(),
        "junk: unknown key",
    ),
    ConfigCase(
        "nesting-2000",
        ("deep:\n" + "".join("  " * i + "- \n" for i in range(2000))).encode(),
        "invalid YAML: nested too deeply",
    ),
    ConfigCase(
        "flow-nesting-1000",
        ("deep: " + "[" * 1000 + "]" * 1000 + "\n").encode(),
        "invalid YAML: nested too deeply",
    ),
    ConfigCase("not-a-mapping", b"- a\n- b\n", "the top level must be a mapping"),
    ConfigCase("invalid-utf8", b"vaults: \xff\n", "not valid UTF-8 (byte 8)"),
    ConfigCase("nul-byte", BASE.encode() + b"\x00\n", "unacceptable character #x0000"),
    ConfigCase("empty", b"", "the configuration is empty"),
    ConfigCase(
        "vault-is-a-file",
        BASE.replace("path: ./vault", "path: ./afile").encode(),
        "vaults[0].path: is a file, not a folder",
    ),
    ConfigCase(
        "source-inside-the-vault",
        BASE.replace("path: ./graph", "path: ./vault/graph").encode(),
        "vaults[0].sources[0].path: is inside its own vault",
    ),
    ConfigCase(
        "state-inside-the-vault",
        BASE.replace("state_dir: ./state", "state_dir: ./vault/.state").encode(),
        "state_dir: must not be inside a vault",
    ),
    ConfigCase(
        "tab-indentation",
        BASE.replace("    path: ./vault", "\tpath: ./vault").encode(),
        "found character '\\t' that cannot start any token",
    ),
    ConfigCase(
        "bad-durations-and-sizes",
        (BASE + "max_page_size: lots\ndaemon:\n  settle_seconds: -1\n").encode(),
        "daemon.settle_seconds: invalid duration -1",
    ),
    ConfigCase("config-is-a-folder", None, "is a folder, not a file"),
    ConfigCase("config-missing", None, "file not found"),
)


@pytest.mark.parametrize("case", CONFIGS, ids=lambda c: c.id)
def test_hostile_configuration(case: ConfigCase, tmp_path: Path) -> None:
    (tmp_path / "graph" / "pages").mkdir(parents=True)
    (tmp_path / "vault" / ".obsidian").mkdir(parents=True)
    (tmp_path / "vault" / "graph" / "pages").mkdir(parents=True)
    (tmp_path / "graph" / "pages" / "A (highlights).md").write_text(
        readwise_page("a", [1]), "utf-8"
    )
    (tmp_path / "afile").write_text("x", "utf-8")
    config = tmp_path / "config.yaml"
    if case.content is not None:
        config.write_bytes(case.content)
    elif case.id == "config-is-a-folder":
        config.mkdir()
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))

    check, peak_kib = run_measured(["check", "-c", str(config)], timeout=60)
    assert "Traceback" not in check.stderr, check.stderr
    assert check.returncode == 2, check.stderr
    lines = [line for line in check.stderr.splitlines() if case.message in line]
    assert lines and str(config) in lines[0], check.stderr
    assert peak_kib < RSS_BOUND_MIB * 1024

    once = run_syncd(["once", "-c", str(config)], timeout=60)
    assert "Traceback" not in once.stderr, once.stderr
    assert once.returncode == 2, once.stderr
    assert any(case.message in line for line in error_lines(once.stderr)), once.stderr
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert after == before, "a refused configuration wrote something"
