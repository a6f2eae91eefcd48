"""Logseq journal dates: date-fns formats (Logseq's journal titles and file names, from
``logseq/config.edn``; Readwise's header dates, rows J1, J2) and moment.js formats (Obsidian's
Daily Notes). English names only.

Parsing is stricter than date-fns and Logseq, so that page names that merely look like dates
do not become daily-note links: the whole text must match; ``yyyy`` is four digits, ``MM``/``dd``
two, ``M``/``d``/``do`` one or two; ``yy`` 00-69 is 2000-2069, 70-99 1970-1999 (no clock);
impossible dates (Feb 30) are rejected. Lenient where a hand-edited link still names the day:
``do`` accepts any suffix (``2th``), case does not matter, and a weekday name is not checked
against the date (a user who edits the digits rarely fixes the weekday; the numbers decide).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

DEFAULT_TITLE_FORMAT = "MMM do, yyyy"
DEFAULT_FILE_NAME_FORMAT = "yyyy_MM_dd"

# Logseq itself always recognises these besides the configured format
# (logseq.common.util.date-time/safe-journal-title-formatters).
LOGSEQ_FALLBACK_TITLE_FORMATS: tuple[str, ...] = (DEFAULT_TITLE_FORMAT, "yyyy-MM-dd", "yyyy_MM_dd")

# The journal title formats Logseq offers in its settings (frontend.common.date/
# journal-title-formatters, in Logseq's order) plus "yyyy-MM-dd EEE". Readwise writes header dates
# in whichever of these the user had when it synced. Order matters where two formats read the
# same text differently ("05-04-2023": dd-MM-yyyy comes before MM-dd-yyyy, as in Logseq);
# callers put the graph's own format first (see journal_title_formats).
_WEEKDAY_DATES = ("dd-MM-yyyy", "dd.MM.yyyy", "MM/dd/yyyy", "yyyy/MM/dd")
COMMON_TITLE_FORMATS: tuple[str, ...] = (
    "do MMM yyyy",
    "do MMMM yyyy",
    "MMM do, yyyy",
    "MMMM do, yyyy",
    *(f"{day}, {dmy}" for day in ("E", "EEE", "EEEE") for dmy in _WEEKDAY_DATES),
    "dd-MM-yyyy",
    "MM/dd/yyyy",
    "MM-dd-yyyy",
    "MM_dd_yyyy",
    "yyyy/MM/dd",
    "yyyy-MM-dd",
    "yyyy-MM-dd EEE",
    "yyyy-MM-dd EEEE",
    "yyyy_MM_dd",
    "yyyyMMdd",
    "yyyy年MM月dd日",
)

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_MONTH_BY_NAME: dict[str, int] = {
    **{name.lower(): number for number, name in enumerate(MONTHS, start=1)},
    **{name[:3].lower(): number for number, name in enumerate(MONTHS, start=1)},
    "sept": 9,
}


def _alternation(names: Iterable[str]) -> str:
    # longest first, so "September" is not cut at "Sep"
    return "|".join(sorted({re.escape(n) for n in names}, key=lambda n: (-len(n), n)))


_MONTH_ABBR_RE = _alternation([m[:3] for m in MONTHS] + ["Sept"])
_MONTH_ANY_RE = _alternation(list(MONTHS) + [m[:3] for m in MONTHS] + ["Sept"])
_WEEKDAY_ANY_RE = _alternation(list(WEEKDAYS) + [w[:3] for w in WEEKDAYS])

# token -> (field, regex); field is "year", "year2", "month", "day" or "weekday"
_PARSE_TOKENS: dict[str, tuple[str, str]] = {
    "yyyy": ("year", r"\d{4}"),
    "y": ("year", r"\d{1,4}"),
    "yy": ("year2", r"\d{2}"),
    "MMMM": ("month", _MONTH_ANY_RE),
    "MMM": ("month", _MONTH_ABBR_RE),
    "MM": ("month", r"\d{2}"),
    "M": ("month", r"\d{1,2}"),
    "do": ("day", r"\d{1,2}"),  # the suffix is matched after the group
    "dd": ("day", r"\d{2}"),
    "d": ("day", r"\d{1,2}"),
    "EEEE": ("weekday", _WEEKDAY_ANY_RE),
    "EEE": ("weekday", _WEEKDAY_ANY_RE),
    "EE": ("weekday", _WEEKDAY_ANY_RE),
    "E": ("weekday", _WEEKDAY_ANY_RE),
}

_LATIN = re.compile(r"[A-Za-z]")
_ASCII_DIGIT_RE = re.compile(r"[0-9]")
_DATE_FNS_ORDINALS = frozenset("yYQqMLwIdDecihHKkmsSaBbtTGxXOoPp")


_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


def ordinal(n: int) -> str:
    """``1`` -> ``"1st"``, ``11`` -> ``"11th"``, ``22`` -> ``"22nd"`` (English, as date-fns)."""
    suffix = "th" if 10 <= n % 100 <= 20 else _SUFFIXES.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(slots=True, unsafe_hash=True)
class DateFormat:
    """A compiled date-fns pattern (:func:`compile_format`); ``tokens``: ``(token, literal)``
    pairs, ``token`` ``""`` for literal text."""

    pattern: str
    tokens: tuple[tuple[str, str], ...]
    regex: re.Pattern[str]
    can_parse: bool  # the pattern has a year, a month and a day (else parse() is always None)

    def format(self, d: date) -> str:
        """``compile_format("MMM do, yyyy").format(date(2023, 2, 12))`` -> ``"Feb 12th, 2023"``."""
        values = _moment_values(d)
        return "".join(values[_AS_MOMENT[tok]] if tok else lit for tok, lit in self.tokens)

    def parse(self, text: str) -> date | None:
        """The date ``text`` spells in this format (whole text), or None."""
        if not self.can_parse:
            return None
        match = self.regex.fullmatch(text)
        if match is None:
            return None
        values: dict[str, int] = {}
        for index, (tok, _) in enumerate(self.tokens):
            if not tok:
                continue
            field, _regex = _PARSE_TOKENS[tok]
            if field == "weekday":
                continue  # checked by the regex, not against the date (see module docstring)
            raw = match.group(f"t{index}")
            value = _field_value(field, raw)
            if field == "year2":
                field = "year"
            if values.setdefault(field, value) != value:
                return None  # the same field twice with different values
        try:
            return date(values["year"], values["month"], values["day"])
        except ValueError:
            return None


def _field_value(field: str, raw: str) -> int:
    if field == "month" and not raw.isdigit():
        return _MONTH_BY_NAME[raw.lower()]
    value = int(raw)
    if field == "year2":
        return 2000 + value if value < 70 else 1900 + value
    return value


def _tokenize(fmt: str) -> list[tuple[str, str]]:
    """Split a date-fns pattern the way date-fns does; raise ValueError on unknown letters."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch == "'":
            if fmt.startswith("''", i):
                tokens.append(("", "'"))
                i += 2
                continue
            j, text = i + 1, []
            while j < n:
                if fmt.startswith("''", j):
                    text.append("'")
                    j += 2
                elif fmt[j] == "'":
                    break
                else:
                    text.append(fmt[j])
                    j += 1
            tokens.append(("", "".join(text)))
            i = j + 1  # an unterminated quote runs to the end, as in date-fns
            continue
        if _LATIN.fullmatch(ch):
            if fmt.startswith("o", i + 1) and ch in _DATE_FNS_ORDINALS:
                run = fmt[i : i + 2]  # date-fns reads "do", "Mo", "yo"... as one token
            else:
                j = i
                while j < n and fmt[j] == ch:
                    j += 1
                run = fmt[i:j]
            if run not in _PARSE_TOKENS:
                raise ValueError(f"unsupported token {run!r} in date format {fmt!r}")
            tokens.append((run, ""))
            i += len(run)
            continue
        tokens.append(("", ch))
        i += 1
    # merge adjacent literals
    merged: list[tuple[str, str]] = []
    for tok, lit in tokens:
        if not tok and merged and not merged[-1][0]:
            merged[-1] = ("", merged[-1][1] + lit)
        else:
            merged.append((tok, lit))
    return merged


@functools.lru_cache(maxsize=256)
def compile_format(fmt: str) -> DateFormat:
    """Compile a date-fns pattern (cached). Raises ValueError for unsupported tokens."""
    tokens = _tokenize(fmt)
    parts: list[str] = []
    for index, (tok, lit) in enumerate(tokens):
        if tok:
            parts.append(f"(?P<t{index}>{_PARSE_TOKENS[tok][1]})")
            if tok == "do":
                parts.append("(?:st|nd|rd|th)")
        else:
            parts.append(re.escape(lit))
    regex = re.compile("".join(parts), re.IGNORECASE | re.ASCII)
    fields = {_PARSE_TOKENS[tok][0] for tok, _ in tokens if tok}
    can_parse = {"month", "day"} <= fields and bool(fields & {"year", "year2"})
    return DateFormat(pattern=fmt, tokens=tuple(tokens), regex=regex, can_parse=can_parse)


def journal_title_formats(configured: str) -> tuple[str, ...]:
    """The formats Logseq tries for a journal title: the graph's own, then its fallbacks."""
    seen: dict[str, None] = {}
    for fmt in (configured, *LOGSEQ_FALLBACK_TITLE_FORMATS):
        if fmt.strip():
            seen.setdefault(fmt, None)
    return tuple(seen)


def parse_journal_title(text: str, formats: Sequence[str]) -> date | None:
    """The date of the first of ``formats`` that reads ``text`` (stripped, NFC), else None."""
    if not _ASCII_DIGIT_RE.search(text):
        return None  # every format that parses has a day and a year: ASCII digits
    text = unicodedata.normalize("NFC", text.strip())
    for fmt in formats:
        found = compile_format(fmt).parse(text)
        if found is not None:
            return found
    return None


# --- Obsidian side: moment.js ---------------------------------------------------------------

_MOMENT_TOKENS = (
    r"Mo|MM?M?M?|Do|DDDo|DD?D?D?|ddd?d?|do?|w[ow]?|W[oW]?|Qo?|N{1,5}|YYYYYY|YYYYY|YYYY|YY|"
    r"y{2,4}|yo?|gg(?:ggg?)?|GG(?:GGG?)?|e|E|a|A|hh?|HH?|kk?|mm?|ss?|S{1,9}|x|X|zz?|ZZ?"
)
# moment's own tokenizer: [literal], an optionally backslash-escaped token, or any one character
_MOMENT_TOKEN = re.compile(rf"\[[^\[]*\]|(\\)?({_MOMENT_TOKENS}|.)", re.DOTALL)
_MOMENT_UNSUPPORTED = re.compile(
    r"N{1,5}|YYYYYY|YYYYY|y{2,4}|yo?|gg(?:ggg?)?|GGGGG|w[ow]?|a|A|hh?|HH?|kk?|mm?|ss?|S{1,9}|"
    r"x|X|zz?|ZZ?"
)


# each date-fns token as the moment token that writes the same ("year": date-fns' unpadded y)
_AS_MOMENT = {"yyyy": "YYYY", "yy": "YY", "y": "year", "do": "Do", "dd": "DD", "d": "D"}
_AS_MOMENT |= {"EEEE": "dddd", "EEE": "ddd", "EE": "ddd", "E": "ddd"}
_AS_MOMENT |= {token: token for token in ("MMMM", "MMM", "MM", "M")}


def _moment_values(d: date) -> dict[str, str]:
    """What each supported moment token writes for ``d`` (and "year", see ``_AS_MOMENT``)."""
    iso_year, iso_week, iso_weekday = d.isocalendar()
    sunday_based = (d.weekday() + 1) % 7  # moment's "d": Sunday = 0
    day_of_year = d.timetuple().tm_yday
    quarter = (d.month - 1) // 3 + 1
    return {
        "YYYY": f"{d.year:04d}",
        "YY": f"{d.year % 100:02d}",
        "Y": f"{d.year:04d}",
        "Q": str(quarter),
        "Qo": ordinal(quarter),
        "MMMM": MONTHS[d.month - 1],
        "MMM": MONTHS[d.month - 1][:3],
        "MM": f"{d.month:02d}",
        "Mo": ordinal(d.month),
        "M": str(d.month),
        "DDDD": f"{day_of_year:03d}",
        "DDDo": ordinal(day_of_year),
        "DDD": str(day_of_year),
        "DD": f"{d.day:02d}",
        "Do": ordinal(d.day),
        "D": str(d.day),
        "dddd": WEEKDAYS[d.weekday()],
        "ddd": WEEKDAYS[d.weekday()][:3],
        "dd": WEEKDAYS[d.weekday()][:2],
        "do": ordinal(sunday_based),
        "d": str(sunday_based),
        "e": str(sunday_based),  # locale weekday; the en locale starts weeks on Sunday
        "E": str(iso_weekday),
        "WW": f"{iso_week:02d}",
        "Wo": ordinal(iso_week),
        "W": str(iso_week),
        "GGGG": f"{iso_year:04d}",
        "GG": f"{iso_year % 100:02d}",
        "year": str(d.year),
    }


def format_moment(d: date, fmt: str = "YYYY-MM-DD") -> str:
    """Format ``d`` with a moment.js pattern, as Obsidian's Daily Notes plugin does: the tokens
    of ``_moment_values``, ``[literal]`` and ``\\TOKEN`` (an escaped token is printed as is);
    other characters are copied, as moment does (``/`` makes subfolders in Daily Notes). Tokens
    that make no sense in a date-only note name (hours, am/pm, locale weeks, eras, time zones)
    raise ValueError rather than produce a wrong name."""
    out: list[str] = []
    values = _moment_values(d)
    for match in _MOMENT_TOKEN.finditer(fmt):
        escaped, tok = match.group(1), match.group(2)
        if tok is None:  # [literal]
            out.append(match.group(0)[1:-1])
            continue
        if escaped:
            out.append(tok)
            continue
        value = values.get(tok)
        if value is not None:
            out.append(value)
        elif _MOMENT_UNSUPPORTED.fullmatch(tok):
            raise ValueError(f"moment token {tok!r} in {fmt!r} is not supported for dates")
        else:
            out.append(tok)  # not a moment token: printed as is
    return "".join(out)
