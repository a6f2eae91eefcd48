"""The fast paths of syncd.readwise give exactly what the plain regular expressions give."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.logseq.parser import parse_page
from syncd.readwise import (
    LOCATION_LABEL_RE,
    LOCATION_LINK_RE,
    _split_location,
    could_be_readwise_page,
    is_readwise_page,
    normalize_text,
)

# characters that matter to the patterns, plus some that do not
ALPHABET = st.sampled_from([*"([])\\- \t\u00a0\u2003abc:/.?=Location Page12", "View"])
LINES = st.lists(ALPHABET, max_size=40).map("".join)


def reference_split(last: str) -> tuple[str | None, str | None, str]:
    """What _split_location gives, by the regexes alone (the code before its fast path)."""
    match = LOCATION_LINK_RE.search(last)
    if match is not None:
        url, label = match.group(2).replace("\\-", "-"), match.group(1)
    else:
        found = LOCATION_LABEL_RE.search(last)
        url, label = (None, found.group(1)) if found is not None else (None, None)
    stripped = LOCATION_LINK_RE.sub("", last)
    rest = LOCATION_LABEL_RE.sub("", stripped) if stripped == last else stripped
    return url, label, rest


@settings(max_examples=3000, deadline=None)
@given(LINES)
@example("A highlight. ([Location 305](https://readwise.io/to_kindle?asin=B0X&location=305))")
@example("text  \t([View Highlight](https://read.readwise.io/read/01h))  ")
@example("two ([a](x([b](y)) links")
@example("two ([a](x ([b](y))")
@example("text (Page 12)")
@example("text (Location 12) ([View](u))")
@example("([only](link))")
@example("\u2003([x](y))\u00a0")
def test_split_location_matches_the_regexes(line: str) -> None:
    assert _split_location(line) == reference_split(line)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"\\- \tab\n\u00a0é\x1c\x85\u2028\u3000\x0b", "e\u0301", "  "]),
        max_size=30,
    ).map("".join)
)
@example("\\-dash at start and \\-after space, but not a\\-b")
@example("plain words")
@example(" lead")
@example("trail ")
@example("two  spaces")
def test_normalize_text_matches_the_plain_substitution(text: str) -> None:
    expected = " ".join(re.sub(r"(^|\s)\\-", r"\1-", unicodedata.normalize("NFC", text)).split())
    assert normalize_text(text) == expected


# --- could_be_readwise_page: a necessary condition of is_readwise_page, without a parse ------

PAGE_PIECES = st.sampled_from(
    [
        "- ",
        "\t- ",
        "  - ",
        "\n",
        "# ",
        "## ",
        "Highlights first synced by [[Readwise]]",
        "hIGHLIGHTS SYNCED BY",
        "New Highlights Added [[Nov 1st, 2026]]",
        "Highlights ſynced by",  # a long s: IGNORECASE matches it to "s"
        "Hıghlights first synced by",  # a dotless i: IGNORECASE matches it to "i"
        "Highlights first synced byx",
        "category:: #books",
        "CATEGORY:: articles",
        "Category:: [[podcasts]]",
        "categorY::tweets",
        "author:: [[A]]",
        "full-title:: T",
        "title:: X",
        "id:: 6543a1b2-0000-4000-8000-000000000000",
        "text ",
        "::",
        "İ",
        "K",
        "ſ",
    ]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(PAGE_PIECES, max_size=14).map("".join))
@example("category:: #books\nauthor:: [[A]]\n\n- text\n")
@example("CATEGORY:: articles\nfull-title:: T\n")
@example("- categorY::tweets\n  author:: [[A]]\n")
@example("- Highlights first synced by [[Readwise]]\n\t- a\n")
@example("- ## New highlights added x\n")
@example("- Hıghlights first synced by [[Readwise]]\n")
@example("- HIGHLIGHTS FIRST SYNCED BY [[Readwise]]\n")
def test_could_be_readwise_page_holds_for_every_readwise_page(text: str) -> None:
    if is_readwise_page(parse_page(text)):
        assert could_be_readwise_page(text)


def test_could_be_readwise_page_is_false_for_a_plain_page() -> None:
    """The shortcut does something: an ordinary page is told apart without a parse."""
    text = "tags:: a, b\nalias:: x\n\n- Some text with [[A Book (highlights)]] #tag\n"
    assert not is_readwise_page(parse_page(text))
    assert not could_be_readwise_page(text)


def test_every_header_phrase_holds_a_lower_cased_phrase_could_be_readwise_page_looks_for() -> None:
    from syncd.readwise import _LOWER_HEADER_PHRASES, HEADER_PHRASES

    for phrase in HEADER_PHRASES:
        assert any(part in phrase.lower() for part in _LOWER_HEADER_PHRASES), phrase
