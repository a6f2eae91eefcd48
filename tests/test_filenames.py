"""syncd.logseq.filenames: page names from file names (rows N1, N2, N3, N6) and back (a.5)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.logseq.filenames import journal_date_from_file, page_name_from_file

# Logseq's sanitizer (frontend.util.fs/tri-lb-file-name-sanity): what syncd reads back
_PERCENT_XX = re.compile(r"%([0-9A-Fa-f]{2})")
_RESERVED_RUN = re.compile(r'[:*?"<>|#\\]+')
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)


def file_stem_for_page(name: str) -> str:
    """The file stem Logseq writes for page ``name`` with ``:triple-lowbar`` (no ``.md``).

    Logseq's ``tri-lb-file-name-sanity``: strip one leading and one trailing ``/``, NFC;
    ``%XX`` look-alikes get their ``%`` escaped as ``%25``; runs of ``: * ? " < > | # \\`` are
    percent-encoded; a Windows device name or a trailing ``.`` gets a ``/`` appended;
    ``___``, ``_/``, ``/_`` have their ``_`` escaped as ``%5F``; finally ``/`` -> ``___``.
    A title starting with ``../`` therefore gives a dotfile (``..___x``), as in Logseq 0.10
    (some later Logseq builds write ``%2E`` for a leading dot; both decode the same).
    """
    if name.startswith("/"):
        name = name[1:]
    if name.endswith("/"):
        name = name[:-1]
    name = unicodedata.normalize("NFC", name)
    name = _PERCENT_XX.sub(lambda m: "%25" + m.group(1), name)
    name = _RESERVED_RUN.sub(lambda m: _encode_reserved(m.group(0)), name)
    if name in _WINDOWS_RESERVED or name.endswith("."):
        name += "/"
    name = name.replace("___", "%5F%5F%5F").replace("_/", "%5F/").replace("/_", "/%5F")
    return name.replace("/", "___")


def _encode_reserved(run: str) -> str:
    # encodeURIComponent of ASCII punctuation, plus "*" which it leaves alone
    return "".join(f"%{ord(ch):02X}" for ch in run)


# (row id, file stem, format, page name)
NAME_CASES = [
    # N1: triple-lowbar namespaces
    ("N1", "a___b___c", "triple-lowbar", "a/b/c"),
    ("N1-sample", "Projects___Syncd___Design", "triple-lowbar", "Projects/Syncd/Design"),
    ("N1-empty-segments", "a______b", "triple-lowbar", "a/b"),
    ("N1-boundary-slashes", "___a___", "triple-lowbar", "a"),
    ("N1-escaped-lowbars", "a%5F%5F%5Fb", "triple-lowbar", "a___b"),
    ("N1-lowbar-before-slash", "a%5F___b", "triple-lowbar", "a_/b"),
    ("N1-dotfile", "..___..___x (highlights)", "triple-lowbar", "../../x (highlights)"),
    ("N1-dot-is-literal", "v1.2 notes.draft", "triple-lowbar", "v1.2 notes.draft"),
    (
        "N1-readwise-dots",
        "Ted Chiang Is a Great Wr... (highlights)",
        "triple-lowbar",
        "Ted Chiang Is a Great Wr... (highlights)",
    ),
    # N2: percent-encoding
    ("N2-slash", "Areas%2FHealth", "triple-lowbar", "Areas/Health"),
    ("N2-slash-lower-case", "Areas%2fHealth", "triple-lowbar", "Areas/Health"),
    ("N2-colon", "a%3Ab", "triple-lowbar", "a:b"),
    (
        "N2-readwise",
        "AWS%3A How…VPC%3F (highlights)",
        "triple-lowbar",
        "AWS: How…VPC? (highlights)",
    ),
    ("N2-reserved", "%22q%22 %3C%3E %7C %23tag %5C %2A", "triple-lowbar", '"q" <> | #tag \\ *'),
    ("N2-percent", "100%25", "triple-lowbar", "100%"),
    ("N2-percent-once", "%252F", "triple-lowbar", "%2F"),
    ("N2-stray-percent", "100% sure", "triple-lowbar", "100% sure"),
    ("N2-not-hex", "%zz%4", "triple-lowbar", "%zz%4"),
    ("N2-non-ascii-escape-kept", "%C3%BCber", "triple-lowbar", "%C3%BCber"),
    ("N2-legacy-slash", "Areas%2FHealth", "legacy", "Areas/Health"),
    ("N2-legacy-utf8", "%C3%9Cbersicht", "legacy", "Übersicht"),
    ("N2-legacy-stray-percent", "100% sure%3A", "legacy", "100% sure%3A"),
    ("N2-legacy-bad-utf8", "caf%C3 %3A", "legacy", "caf%C3 %3A"),
    ("N2-legacy-triple-lowbar-literal", "a___b", "legacy", "a___b"),
    # N3: the legacy dot rule, applied conservatively
    ("N3", "a.b", "legacy", "a/b"),
    ("N3-deep", "Areas.Health.Sleep", "legacy", "Areas/Health/Sleep"),
    (
        "N3-readwise-ellipsis",
        "Ted Chiang Is a Great Wr... (highlights)",
        "legacy",
        "Ted Chiang Is a Great Wr... (highlights)",
    ),
    ("N3-space-after-dot", "Mr. Smith", "legacy", "Mr. Smith"),
    ("N3-space-before-dot", "end .net", "legacy", "end .net"),
    ("N3-double-dot", "a..b", "legacy", "a..b"),
    ("N3-leading-dot", ".hidden", "legacy", ".hidden"),
    ("N3-trailing-dot", "the end.", "legacy", "the end."),
    ("N3-version-number", "v1.2", "legacy", "v1.2"),
    ("N3-decimal-kept-namespace-split", "Software.Python 3.11", "legacy", "Software/Python 3.11"),
    ("N3-dotted-date", "2023.01.05", "legacy", "2023.01.05"),
    ("N3-all-or-nothing", "Books.Mr. Smith", "legacy", "Books.Mr. Smith"),
    ("N3-percent-era-dots-literal", "node.js%2FIntro", "legacy", "node.js/Intro"),
    ("N3-encoded-dot-is-literal", "a%2Eb.c", "legacy", "a.b/c"),
    ("N3-not-in-triple-lowbar", "a.b", "triple-lowbar", "a.b"),
    # N6: unicode, NFC
    ("N6", "日本語ページ", "triple-lowbar", "日本語ページ"),
    ("N6-nfd", "U\u0308bersicht", "triple-lowbar", "Übersicht"),
    ("N6-nfd-legacy", "U\u0308bersicht.Notes", "legacy", "Übersicht/Notes"),
    ("N5-contents", "contents", "triple-lowbar", "contents"),
    ("empty", "", "triple-lowbar", ""),
]


@pytest.mark.parametrize(
    ("stem", "fmt", "expected"), [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES]
)
def test_page_name_from_file(stem: str, fmt: str, expected: str) -> None:
    assert page_name_from_file(stem, fmt) == expected


# every page file of the sample graph (../shared/samples/logseq-graph, :triple-lowbar)
SAMPLE_PAGES = {
    "Areas%2FHealth": "Areas/Health",
    "How to Take Smart Notes (highlights)": "How to Take Smart Notes (highlights)",
    "Machine Learning": "Machine Learning",
    "Projects___Syncd": "Projects/Syncd",
    "Projects___Syncd___Design": "Projects/Syncd/Design",
    "Syntax Tour": "Syntax Tour",
    "Ted Chiang Is a Great Wr... (highlights)": "Ted Chiang Is a Great Wr... (highlights)",
    "Zettelkasten Method": "Zettelkasten Method",
    "contents": "contents",
    "日本語ページ": "日本語ページ",
}


@pytest.mark.parametrize(("stem", "expected"), sorted(SAMPLE_PAGES.items()))
def test_sample_graph_file_names(stem: str, expected: str) -> None:
    assert page_name_from_file(stem, "triple-lowbar") == expected


def test_unknown_format_raises() -> None:
    with pytest.raises(ValueError, match="file name format"):
        page_name_from_file("a", "double-lowbar")


# (case id, page name, file stem Logseq writes)
STEM_CASES = [
    ("a5-readwise-reserved", "AWS: How…VPC? (highlights)", "AWS%3A How…VPC%3F (highlights)"),
    ("a5-namespace", "Readwise/Highlights/X", "Readwise___Highlights___X"),
    ("a5-dotfile", "../../x (highlights)", "..___..___x (highlights)"),
    ("boundary-slashes", "/a/b/", "a___b"),
    ("reserved-run", 'a:*?"<>|#\\b', "a%3A%2A%3F%22%3C%3E%7C%23%5Cb"),
    ("percent-lookalike", "100%25 and %zz", "100%2525 and %zz"),
    ("windows-device", "CON", "CON___"),
    ("windows-device-case", "con", "con"),
    ("trailing-dot", "the end.", "the end.___"),
    ("triple-lowbar", "a___b", "a%5F%5F%5Fb"),
    ("four-lowbars", "a____b", "a%5F%5F%5F_b"),
    ("lowbar-slash", "a_/b", "a%5F___b"),
    ("slash-lowbar", "a/_b", "a___%5Fb"),
    ("nfc", "U\u0308bersicht", "Übersicht"),
    ("plain", "Machine Learning", "Machine Learning"),
]


@pytest.mark.parametrize(
    ("name", "stem"), [c[1:] for c in STEM_CASES], ids=[c[0] for c in STEM_CASES]
)
def test_file_stem_for_page(name: str, stem: str) -> None:
    assert file_stem_for_page(name) == stem
    assert page_name_from_file(stem, "triple-lowbar") == unicodedata.normalize(
        "NFC", name.strip("/")
    )


@pytest.mark.parametrize(
    ("stem", "fmt", "expected"),
    [
        ("2023_02_12", "yyyy_MM_dd", date(2023, 2, 12)),  # J1, sample graph
        ("2024_08_30", "yyyy_MM_dd", date(2024, 8, 30)),  # J1, sample graph
        ("2023-02-12", "yyyy-MM-dd", date(2023, 2, 12)),
        ("20230212", "yyyyMMdd", date(2023, 2, 12)),
        ("2023年02月12日", "yyyy年MM月dd日", date(2023, 2, 12)),
        ("2023-02-12", "yyyy_MM_dd", None),  # other format than configured
        ("2023_02_30", "yyyy_MM_dd", None),
        ("2023_02_12 (conflict)", "yyyy_MM_dd", None),
        ("Machine Learning", "yyyy_MM_dd", None),
    ],
)
def test_journal_date_from_file(stem: str, fmt: str, expected: date | None) -> None:
    assert journal_date_from_file(stem, fmt) == expected


# --- round trip ------------------------------------------------------------------------------

# pieces that exercise every rule of the sanitizer, mixed with arbitrary characters
_PIECES = [*'/_%.:*?"<>|#\\ aAfF059ü', "%25", "%2F", "___", "CON", "\u0308", "..", "%C3"]
_NAMES = (
    st.lists(
        st.one_of(st.sampled_from(_PIECES), st.characters(codec="utf-8")),
        max_size=20,
    )
    .map("".join)
    .filter(lambda n: not n.startswith("/") and not n.endswith("/") and "//" not in n)
)


@settings(derandomize=True, deadline=None, max_examples=500)
@given(name=_NAMES)
@example(name="a_/_b")
@example(name="CON")
@example(name="x.")
@example(name="%2525")
@example(name="__/__")
@example(name="../x")
@example(name="U\u0308bersicht")
def test_round_trip(name: str) -> None:
    stem = file_stem_for_page(name)
    assert "/" not in stem
    assert page_name_from_file(stem, "triple-lowbar") == unicodedata.normalize("NFC", name)


def test_empty_namespace_segments_are_dropped_not_round_tripped() -> None:
    # Logseq's make-valid-namespaces: "a//b" is not a valid page name; it reads back as "a/b"
    assert page_name_from_file(file_stem_for_page("a//b"), "triple-lowbar") == "a/b"
