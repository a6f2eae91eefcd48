"""syncd.logseq.dates: date-fns journal formats (rows J1, J2) and moment.js daily-note names."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.logseq.dates import (
    COMMON_TITLE_FORMATS,
    LOGSEQ_FALLBACK_TITLE_FORMATS,
    compile_format,
    format_moment,
    journal_title_formats,
    ordinal,
    parse_journal_title,
)

# (row id, date-fns format, text Logseq/Readwise writes, date)
PARSE_CASES = [
    ("J1-file-default", "yyyy_MM_dd", "2023_02_12", date(2023, 2, 12)),
    ("J1-file-dashes", "yyyy-MM-dd", "2024-08-30", date(2024, 8, 30)),
    ("J2-default", "MMM do, yyyy", "Feb 12th, 2023", date(2023, 2, 12)),
    ("J2-readwise-new-highlights", "MMM do, yyyy", "Sep 2nd, 2024", date(2024, 9, 2)),
    ("J2-long-month", "MMMM do, yyyy", "October 19th, 2023", date(2023, 10, 19)),
    ("J2-weekday-dashes", "EEEE, dd-MM-yyyy", "Monday, 31-10-2022", date(2022, 10, 31)),
    ("J2-weekday-dots", "EEE, dd.MM.yyyy", "Sun, 12.02.2023", date(2023, 2, 12)),
    ("J2-day-first", "do MMM yyyy", "1st Mar 2021", date(2021, 3, 1)),
    ("J2-iso", "yyyy-MM-dd", "2023-01-17", date(2023, 1, 17)),
    ("J2-slashes", "yyyy/MM/dd", "2023/01/17", date(2023, 1, 17)),
    ("J2-us", "MM/dd/yyyy", "01/17/2023", date(2023, 1, 17)),
    ("J2-E-us", "E, MM/dd/yyyy", "Tue, 01/17/2023", date(2023, 1, 17)),
    ("J2-eu", "dd-MM-yyyy", "17-01-2023", date(2023, 1, 17)),
    ("J2-compact", "yyyyMMdd", "20230117", date(2023, 1, 17)),
    ("J2-cjk", "yyyy年MM月dd日", "2023年01月17日", date(2023, 1, 17)),
    ("lower-case-names", "MMM do, yyyy", "feb 12TH, 2023", date(2023, 2, 12)),
    ("upper-case-weekday", "EEEE, dd-MM-yyyy", "MONDAY, 31-10-2022", date(2022, 10, 31)),
    ("sept-alias", "MMM do, yyyy", "Sept 2nd, 2024", date(2024, 9, 2)),
    ("MMMM-accepts-abbr", "MMMM do, yyyy", "Oct 19th, 2023", date(2023, 10, 19)),
    ("EEE-accepts-full", "EEE, dd.MM.yyyy", "Sunday, 12.02.2023", date(2023, 2, 12)),
    ("weekday-contradicts-date", "EEEE, dd-MM-yyyy", "Tuesday, 31-10-2022", date(2022, 10, 31)),
    ("wrong-ordinal-suffix", "MMM do, yyyy", "Feb 2th, 2023", date(2023, 2, 2)),
    ("unpadded", "M/d/yyyy", "2/5/2023", date(2023, 2, 5)),
    ("unpadded-two-digits", "M/d/yyyy", "12/25/2023", date(2023, 12, 25)),
    ("leap-day", "yyyy-MM-dd", "2024-02-29", date(2024, 2, 29)),
    ("yy-2000s", "dd.MM.yy", "05.03.23", date(2023, 3, 5)),
    ("yy-1900s", "dd.MM.yy", "05.03.85", date(1985, 3, 5)),
    ("y-unpadded", "d MMM y", "5 Mar 2023", date(2023, 3, 5)),
    ("quoted-literal", "'Day' d 'of' MMMM yyyy", "Day 5 of March 2023", date(2023, 3, 5)),
    ("escaped-quote", "d MMM ''yy", "5 Mar '23", date(2023, 3, 5)),
    ("repeated-field-agrees", "yyyy-MM-dd (d)", "2023-03-05 (5)", date(2023, 3, 5)),
]


@pytest.mark.parametrize(
    ("fmt", "text", "expected"), [c[1:] for c in PARSE_CASES], ids=[c[0] for c in PARSE_CASES]
)
def test_parse(fmt: str, text: str, expected: date) -> None:
    assert compile_format(fmt).parse(text) == expected


REJECT_CASES = [
    ("feb-30", "MMM do, yyyy", "Feb 30th, 2023"),
    ("feb-29-non-leap", "yyyy-MM-dd", "2023-02-29"),
    ("month-13", "yyyy-MM-dd", "2023-13-01"),
    ("day-0", "yyyy-MM-dd", "2023-01-00"),
    ("trailing-space", "MMM do, yyyy", "Feb 12th, 2023 "),
    ("trailing-text", "yyyy-MM-dd", "2023-02-12x"),
    ("leading-text", "yyyy-MM-dd", "x2023-02-12"),
    ("missing-ordinal-suffix", "MMM do, yyyy", "Feb 12, 2023"),
    ("unpadded-for-MM-dd", "yyyy-MM-dd", "2023-2-12"),
    ("two-digit-year-for-yyyy", "MMM do, yyyy", "Feb 12th, 23"),
    ("not-a-month", "MMM do, yyyy", "Fbr 12th, 2023"),
    ("full-month-for-MMM", "MMM do, yyyy", "February 12th, 2023"),
    ("not-a-weekday", "EEEE, dd-MM-yyyy", "Funday, 31-10-2022"),
    ("us-order-for-eu-format", "MM/dd/yyyy", "17/01/2023"),
    ("other-separator", "yyyy-MM-dd", "2023/02/12"),
    ("empty", "yyyy-MM-dd", ""),
    ("non-ascii-digits", "yyyy-MM-dd", "٢٠٢٣-٠٢-١٢"),
    ("repeated-field-disagrees", "yyyy-MM-dd (d)", "2023-03-05 (6)"),
    ("plain-page-name", "MMM do, yyyy", "Machine Learning"),
]


@pytest.mark.parametrize(
    ("fmt", "text"), [c[1:] for c in REJECT_CASES], ids=[c[0] for c in REJECT_CASES]
)
def test_parse_rejects(fmt: str, text: str) -> None:
    assert compile_format(fmt).parse(text) is None


FORMAT_CASES = [
    ("J2-default", "MMM do, yyyy", date(2023, 2, 12), "Feb 12th, 2023"),
    ("J2-long", "MMMM do, yyyy", date(2023, 10, 19), "October 19th, 2023"),
    ("J2-weekday", "EEEE, dd-MM-yyyy", date(2022, 10, 31), "Monday, 31-10-2022"),
    ("J2-E", "E, MM/dd/yyyy", date(2023, 1, 17), "Tue, 01/17/2023"),
    ("J2-EE", "EE dd.MM.yyyy", date(2023, 1, 17), "Tue 17.01.2023"),
    ("J1", "yyyy_MM_dd", date(2023, 2, 12), "2023_02_12"),
    ("compact", "yyyyMMdd", date(2023, 2, 1), "20230201"),
    ("unpadded", "M/d/y", date(2023, 2, 1), "2/1/2023"),
    ("yy", "dd.MM.yy", date(2005, 3, 5), "05.03.05"),
    ("small-year-padded", "yyyy-MM-dd", date(33, 4, 5), "0033-04-05"),
    ("quoted", "'Week of' MMM d", date(2023, 2, 1), "Week of Feb 1"),
    ("escaped-quote", "d MMM ''yy", date(2023, 3, 5), "5 Mar '23"),
    ("quote-inside-quoted", "'it''s' yyyy", date(2023, 3, 5), "it's 2023"),
    ("unterminated-quote", "yyyy 'rest", date(2023, 3, 5), "2023 rest"),
    ("cjk", "yyyy年MM月dd日", date(2023, 1, 7), "2023年01月07日"),
    ("may-is-short", "MMM do", date(2023, 5, 3), "May 3rd"),
]


@pytest.mark.parametrize(
    ("fmt", "d", "expected"), [c[1:] for c in FORMAT_CASES], ids=[c[0] for c in FORMAT_CASES]
)
def test_format(fmt: str, d: date, expected: str) -> None:
    assert compile_format(fmt).format(d) == expected


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (31, "31st"),
    ],
)
def test_ordinal_days_format_and_parse(day: int, text: str) -> None:
    d = date(2023, 1, day)
    fmt = compile_format("MMM do, yyyy")
    assert ordinal(day) == text
    assert fmt.format(d) == f"Jan {text}, 2023"
    assert fmt.parse(f"Jan {text}, 2023") == d


@pytest.mark.parametrize(
    "fmt", ["YYYY-MM-DD", "yyyy-MM-dd HH:mm", "Mo yyyy", "yyyy-Q", "DD.MM.yyyy", "yyy-MM-dd"]
)
def test_unsupported_tokens_raise(fmt: str) -> None:
    with pytest.raises(ValueError, match="unsupported token"):
        compile_format(fmt)


def test_format_without_year_never_parses() -> None:
    fmt = compile_format("MMM do")
    assert fmt.can_parse is False
    assert fmt.format(date(2023, 2, 12)) == "Feb 12th"
    assert fmt.parse("Feb 12th") is None
    assert compile_format("MMM do, yyyy").can_parse is True


def test_compile_is_cached() -> None:
    assert compile_format("MMM do, yyyy") is compile_format("MMM do, yyyy")


def test_tokens_split_like_date_fns() -> None:
    assert compile_format("EEE, dd.MM.yyyy").tokens == (
        ("EEE", ""),
        ("", ", "),
        ("dd", ""),
        ("", "."),
        ("MM", ""),
        ("", "."),
        ("yyyy", ""),
    )
    assert compile_format("do 'of' MMMM").tokens == (
        ("do", ""),
        ("", " of "),
        ("MMMM", ""),
    )


def test_common_title_formats_cover_what_users_are_seen_with() -> None:
    seen = [
        "MMM do, yyyy",
        "MMMM do, yyyy",
        "EEEE, dd-MM-yyyy",
        "EEE, dd.MM.yyyy",
        "do MMM yyyy",
        "yyyy-MM-dd",
        "yyyy/MM/dd",
        "yyyy_MM_dd",
        "dd-MM-yyyy",
        "MM/dd/yyyy",
        "E, MM/dd/yyyy",
        "yyyyMMdd",
    ]
    assert set(seen) <= set(COMMON_TITLE_FORMATS)
    assert len(set(COMMON_TITLE_FORMATS)) == len(COMMON_TITLE_FORMATS)
    assert all(compile_format(f).can_parse for f in COMMON_TITLE_FORMATS)
    # Logseq leaves dd.MM.yyyy out: it reads "2022.10" style names as dates
    assert "dd.MM.yyyy" not in COMMON_TITLE_FORMATS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Feb 12th, 2023", date(2023, 2, 12)),  # J2 default
        ("Monday, 31-10-2022", date(2022, 10, 31)),  # Readwise with EEEE, dd-MM-yyyy
        ("2023-01-17", date(2023, 1, 17)),
        ("October 19th, 2023", date(2023, 10, 19)),
        ("  Sep 2nd, 2024  ", date(2024, 9, 2)),  # stripped
        ("2023年01月17日", date(2023, 1, 17)),
        ("Machine Learning", None),
        ("Readwise", None),
        ("2022.10", None),
        ("", None),
    ],
)
def test_parse_journal_title_with_common_formats(text: str, expected: date | None) -> None:
    assert parse_journal_title(text, COMMON_TITLE_FORMATS) == expected


def test_parse_journal_title_first_format_wins() -> None:
    assert parse_journal_title("05-04-2023", ["dd-MM-yyyy", "MM-dd-yyyy"]) == date(2023, 4, 5)
    assert parse_journal_title("05-04-2023", ["MM-dd-yyyy", "dd-MM-yyyy"]) == date(2023, 5, 4)
    # the common list reads it day-first, as Logseq's list does
    assert parse_journal_title("05-04-2023", COMMON_TITLE_FORMATS) == date(2023, 4, 5)


def test_parse_journal_title_only_given_formats() -> None:
    assert parse_journal_title("Feb 12th, 2023", ["yyyy-MM-dd"]) is None
    assert parse_journal_title("Feb 12th, 2023", []) is None


def test_parse_journal_title_normalises_nfd() -> None:
    # macOS may hand back decomposed text; the format's literal is composed
    fmt = "'M\u00e4rz' d, yyyy-MM"
    assert parse_journal_title("Ma\u0308rz 5, 2023-03", [fmt]) == date(2023, 3, 5)


def test_journal_title_formats_like_logseq() -> None:
    assert journal_title_formats("EEE, dd.MM.yyyy") == (
        "EEE, dd.MM.yyyy",
        "MMM do, yyyy",
        "yyyy-MM-dd",
        "yyyy_MM_dd",
    )
    assert journal_title_formats("MMM do, yyyy") == LOGSEQ_FALLBACK_TITLE_FORMATS
    assert journal_title_formats("  ") == LOGSEQ_FALLBACK_TITLE_FORMATS


MOMENT_CASES = [
    ("obsidian-default", "YYYY-MM-DD", date(2023, 2, 12), "2023-02-12"),
    ("subfolders", "YYYY/MM/YYYY-MM-DD", date(2023, 2, 12), "2023/02/2023-02-12"),
    ("long", "dddd, MMMM Do YYYY", date(2023, 2, 12), "Sunday, February 12th 2023"),
    ("short", "ddd D MMM YY", date(2023, 2, 5), "Sun 5 Feb 23"),
    ("unpadded", "M/D/YYYY", date(2023, 2, 5), "2/5/2023"),
    ("min-weekday", "dd", date(2023, 2, 6), "Mo"),
    ("weekday-numbers", "d E", date(2023, 2, 12), "0 7"),
    ("bracket-literal", "[Journal]/YYYY-MM-DD", date(2023, 2, 12), "Journal/2023-02-12"),
    ("bracket-with-tokens", "YYYY [Week] WW", date(2023, 2, 12), "2023 Week 06"),
    ("iso-week-year", "GGGG-[W]WW", date(2021, 1, 1), "2020-W53"),
    ("quarter", "YYYY-[Q]Q", date(2023, 8, 1), "2023-Q3"),
    ("day-of-year", "YYYY-DDDD", date(2023, 2, 1), "2023-032"),
    ("escaped-token", "\\YYYY YYYY", date(2023, 2, 1), "YYYY 2023"),
    ("non-token-letters", "YYYY-MM-DDT", date(2023, 2, 1), "2023-02-01T"),
    ("unclosed-bracket", "[YYYY", date(2023, 2, 1), "[2023"),
    ("small-year", "YYYY", date(33, 1, 1), "0033"),
    ("ordinal-month", "Mo", date(2023, 2, 1), "2nd"),
]


@pytest.mark.parametrize(
    ("fmt", "d", "expected"), [c[1:] for c in MOMENT_CASES], ids=[c[0] for c in MOMENT_CASES]
)
def test_format_moment(fmt: str, d: date, expected: str) -> None:
    assert format_moment(d, fmt) == expected


def test_format_moment_default_is_obsidian_default() -> None:
    assert format_moment(date(2023, 2, 12)) == "2023-02-12"


@pytest.mark.parametrize("fmt", ["YYYY-MM-DD HH:mm", "gggg-[W]ww", "X", "YYYY-MM-DD A"])
def test_format_moment_rejects_time_and_locale_week_tokens(fmt: str) -> None:
    with pytest.raises(ValueError, match="not supported"):
        format_moment(date(2023, 2, 12), fmt)


# --- properties ------------------------------------------------------------------------------

DATES = st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31))


@settings(derandomize=True, deadline=None, max_examples=300)
@given(d=DATES, fmt=st.sampled_from(COMMON_TITLE_FORMATS))
def test_common_formats_round_trip(d: date, fmt: str) -> None:
    compiled = compile_format(fmt)
    assert compiled.parse(compiled.format(d)) == d


@settings(derandomize=True, deadline=None)
@given(d=DATES)
def test_every_common_format_round_trips(d: date) -> None:
    for fmt in COMMON_TITLE_FORMATS:
        compiled = compile_format(fmt)
        assert compiled.parse(compiled.format(d)) == d, fmt


@settings(derandomize=True, deadline=None)
@given(
    d=st.dates(min_value=date(1970, 1, 1), max_value=date(2069, 12, 31)),
    fmt=st.sampled_from(["dd.MM.yy", "M/d/yy", "yy-MM-dd EEEE"]),
)
def test_two_digit_year_round_trips_inside_pivot(d: date, fmt: str) -> None:
    compiled = compile_format(fmt)
    assert compiled.parse(compiled.format(d)) == d


@settings(derandomize=True, deadline=None)
@given(d=st.dates())
def test_iso_formats_agree(d: date) -> None:
    assert compile_format("yyyy-MM-dd").format(d) == format_moment(d) == d.isoformat()
    assert format_moment(d, "GGGG-WW-E") == "{:04d}-{:02d}-{}".format(*d.isocalendar())
