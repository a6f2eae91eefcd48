from __future__ import annotations

import doctest
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd import names
from syncd.errors import VaultWriteError
from syncd.names import is_reserved_stem, sanitize_title, unique_name

FORBIDDEN = set('/\\:*?"<>|#^[]')


def test_module_examples() -> None:
    result = doctest.testmod(names)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Thinking, Fast and Slow", "Thinking, Fast and Slow"),
        ("Title: Subtitle", "Title - Subtitle"),
        ("a:b", "a-b"),
        ("AC/DC", "AC-DC"),
        ("a\\b", "a-b"),
        ("What is it?", "What is it"),
        ('Say "hi"', "Say 'hi'"),
        ("a*b<c>d", "abcd"),
        ("x | y", "x - y"),
        ("Issue #5 ^block", "Issue 5 block"),
        ("[[Link]] text", "((Link)) text"),
        ("../../x", "x"),
        ("../../.bashrc", "bashrc"),
        ("/etc/passwd", "etc-passwd"),
        ("..", "Untitled"),
        (".hidden", "hidden"),
        ("Note.", "Note"),
        ("Note . . .", "Note"),
        ("  spaced   out\ttitle\n", "spaced out title"),
        ("line\u2028sep\u00a0nbsp", "line sep nbsp"),
        ("nul\x00byte\x07bell\x1b", "nulbytebell"),
        ("\u202eexe.jpg", "exe.jpg"),
        ("\ufeffBOM title", "BOM title"),
        ("", "Untitled"),
        ("   ", "Untitled"),
        ("?*<>", "Untitled"),
        ("-1 degrees", "-1 degrees"),
        ("日本語ページ", "日本語ページ"),
        ("Emoji 🎉 party", "Emoji 🎉 party"),
    ],
)
def test_sanitize_examples(title: str, expected: str) -> None:
    assert sanitize_title(title) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("CON", "CON_"),
        ("con", "con_"),
        ("Nul", "Nul_"),
        ("AUX.txt", "AUX_.txt"),
        ("com1.tar.gz", "com1_.tar.gz"),
        ("LPT9", "LPT9_"),
        ("COM¹", "COM¹_"),
        ("prn .md", "prn_ .md"),
        ("CONSOLE", "CONSOLE"),
        ("COM0", "COM0"),
        ("Icon", "Icon"),
    ],
)
def test_windows_reserved_names_get_a_suffix(title: str, expected: str) -> None:
    result = sanitize_title(title)
    assert result == expected
    assert not is_reserved_stem(result)
    assert not is_reserved_stem(result + " (2)")


def test_nfd_input_gives_nfc_stem() -> None:
    nfd = unicodedata.normalize("NFD", "Übersicht café")
    assert nfd != "Übersicht café"
    assert sanitize_title(nfd) == "Übersicht café"


def test_a_title_of_zero_width_characters_gets_a_visible_name() -> None:
    """Issue 13: a title of zero-width characters only gave an invisible file name. Joiners
    inside a visible title stay (emoji sequences, Persian words need them)."""
    assert sanitize_title("\u200b\u200c\u200d\u2060") == "Untitled"
    assert sanitize_title(" \u200b ") == "Untitled"
    assert sanitize_title("\U0001f469\u200d\U0001f4bb notes") == "\U0001f469\u200d\U0001f4bb notes"
    assert sanitize_title("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645") == (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )


def test_truncates_on_character_boundary() -> None:
    title = "é" * 200  # 400 bytes
    result = sanitize_title(title, max_bytes=241)
    assert len(result.encode("utf-8")) == 240  # 120 characters, the half character dropped
    assert result == "é" * 120


def test_truncation_does_not_leave_trailing_space_or_dot() -> None:
    title = "a" * 30 + " . " + "b" * 30
    result = sanitize_title(title, max_bytes=32)
    assert result == "a" * 30


def test_truncation_keeps_reserved_rule_and_limit() -> None:
    result = sanitize_title("CON.txt" + "x" * 50, max_bytes=16)
    assert result == "CON_.txtxxxxxxxx"
    assert len(result.encode("utf-8")) == 16
    assert not is_reserved_stem(result)


def test_tiny_max_bytes_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        sanitize_title("x", max_bytes=4)


def test_deterministic() -> None:
    title = "Some: weird/ title?? with \u00e9 and CON"
    assert len({sanitize_title(title) for _ in range(5)}) == 1


@settings(derandomize=True, max_examples=400)
@given(st.text(max_size=400), st.integers(min_value=16, max_value=300))
def test_properties_of_any_title(title: str, max_bytes: int) -> None:
    result = sanitize_title(title, max_bytes=max_bytes)
    assert result
    assert not (set(result) & FORBIDDEN)
    assert all(unicodedata.category(ch) not in ("Cc", "Cs") for ch in result)
    assert len(result.encode("utf-8")) <= max_bytes
    assert result == unicodedata.normalize("NFC", result)
    assert not result.startswith((".", " "))
    assert not result.endswith((".", " "))
    assert "  " not in result
    assert not is_reserved_stem(result)
    assert result not in (".", "..")
    assert sanitize_title(result, max_bytes=max_bytes) == result  # idempotent


def test_unique_name_free_stem_is_kept() -> None:
    assert unique_name("Book", lambda _: False) == "Book"


def test_unique_name_counts_up_from_two() -> None:
    taken = {"book", "book (2)", "book (3)"}
    assert unique_name("Book", lambda c: c.casefold() in taken) == "Book (4)"


def test_unique_name_asks_in_order() -> None:
    asked: list[str] = []

    def taken(candidate: str) -> bool:
        asked.append(candidate)
        return len(asked) < 3

    assert unique_name("X", taken) == "X (3)"
    assert asked == ["X", "X (2)", "X (3)"]


def test_unique_name_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names, "MAX_UNIQUE_TRIES", 5)
    with pytest.raises(VaultWriteError, match="no free file name"):
        unique_name("X", lambda _: True)
