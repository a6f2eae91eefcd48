"""The fast paths of syncd.readwise give exactly what the plain regular expressions give."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.readwise import (
    LOCATION_LABEL_RE,
    LOCATION_LINK_RE,
    _split_location,
    normalize_text,
)

# characters that matter to the patterns, plus some that do not
ALPHABET = st.sampled_from([*"([])\\- \t\u00a0\u2003abc:/.?=Location Page12", "View"])
LINES = st.lists(ALPHABET, max_size=40).map("".join)


def reference_split(last: str) -> tuple[str | None, str | None, str]:
    """What location_of and text_of did before the fast path (the regexes alone)."""
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
