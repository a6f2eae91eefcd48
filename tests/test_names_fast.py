"""Fast paths of syncd.names give what the general rule gives (differential tests)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.names import _DROP, _clean_characters


def reference_clean_characters(text: str) -> str:
    """_clean_characters as first written: every character looked at."""
    out: list[str] = []
    for ch in text:
        if ch in _DROP:
            continue
        if ch.isspace():
            out.append(" ")
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
            continue
        out.append(ch)
    return "".join(out)


def test_every_ascii_character_is_cleaned_as_the_general_rule() -> None:
    for code in range(128):
        ch = chr(code)
        for text in (ch, f"a{ch}b", ch * 3):
            assert _clean_characters(text) == reference_clean_characters(text)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2100)))
def test_clean_characters_is_the_general_rule(text: str) -> None:
    assert _clean_characters(text) == reference_clean_characters(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_clean_characters_of_ascii_is_the_general_rule(text: str) -> None:
    assert _clean_characters(text) == reference_clean_characters(text)
