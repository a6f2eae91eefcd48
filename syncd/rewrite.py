"""Inline rewriting of Logseq tokens into Obsidian ones, never inside code (pure).

A line is cut into *text* and *protected* pieces: inline code, the URL part of Markdown
links and images, and autolinks are protected; every inline rule sees only the text pieces.
Fenced code blocks are tracked across lines and left byte for byte (row C1, C2, C3).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from syncd.logseq.dates import format_moment, parse_journal_title

FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
# inline code, a Markdown link/image target "](...)", or a bare URL
_PROTECTED_RE = re.compile(
    r"(`+)(?:.*?[^`])?\1(?!`)|\]\([^)\s]*\)|<https?://[^>\s]*>|https?://[^\s)\]]+"
)
_LINK_RE = re.compile(r"\[\[([^\[\]\n]+?)\]\]")
_HASH_LINK_RE = re.compile(r"(?<![\w#])#\[\[([^\[\]\n]+?)\]\]")
_TAG_CHARS_RE = re.compile(r"[^\w\-/]", re.UNICODE)
_SPACES_RE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class InlineContext:
    """What inline rules need to know about the graph and the vault."""

    journal_title_formats: tuple[str, ...] = ("MMM do, yyyy",)
    daily_note_format: str = "YYYY-MM-DD"  # Obsidian daily notes (moment.js syntax)
    # page name (lower-cased) -> Obsidian link target, for names that changed on the way
    link_targets: Mapping[str, str] = field(default_factory=dict)

    def journal_date(self, name: str) -> date | None:
        return _journal_date(name.strip(), self.journal_title_formats)

    def daily_note(self, day: date) -> str:
        return _daily_note(day, self.daily_note_format)


# Both are pure and see the same few names and days again and again (every [[link]] of every
# block asks whether it is a journal date): cached, with a bound.
@functools.lru_cache(maxsize=8192)
def _journal_date(name: str, formats: tuple[str, ...]) -> date | None:
    return parse_journal_title(name, formats)


@functools.lru_cache(maxsize=8192)
def _daily_note(day: date, fmt: str) -> str:
    return format_moment(day, fmt)


InlineRule = Callable[[str, InlineContext], str]


def obsidian_tag(name: str) -> str | None:
    """``multi word tag`` -> ``multi-word-tag``; None when no valid Obsidian tag results."""
    candidate = _SPACES_RE.sub("-", name.strip())
    candidate = _TAG_CHARS_RE.sub("", candidate).strip("/")
    if not candidate or candidate.replace("_", "").replace("-", "").isdigit():
        return None
    if not any(not ch.isdigit() for ch in candidate):
        return None
    return candidate


def link_to(name: str, ctx: InlineContext) -> str:
    """The Obsidian wikilink for a Logseq page reference ``[[name]]``."""
    day = ctx.journal_date(name)
    if day is not None:
        return f"[[{ctx.daily_note(day)}]]"
    target = ctx.link_targets.get(name.lower())
    if target is not None and target != name:
        return f"[[{target}|{name}]]"
    return f"[[{name}]]"


def rewrite_hash_links(text: str, ctx: InlineContext) -> str:
    """L3: ``#[[multi word]]`` -> ``#multi-word``; a date or an impossible tag becomes a link."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if ctx.journal_date(name) is not None:
            return link_to(name, ctx)
        tag = obsidian_tag(name)
        return f"#{tag}" if tag is not None else link_to(name, ctx)

    if "#[[" not in text:  # the pattern's literal part: nothing to rewrite
        return text
    return _HASH_LINK_RE.sub(one, text)


def rewrite_page_links(text: str, ctx: InlineContext) -> str:
    """L1 + J2: ``[[Feb 12th, 2023]]`` -> ``[[2023-02-12]]``; renamed -> ``[[Target|name]]``."""
    if "[[" not in text:  # the pattern's literal part: nothing to rewrite
        return text
    return _LINK_RE.sub(lambda m: link_to(m.group(1), ctx), text)


_LOGSEQ_HIGHLIGHT_RE = re.compile(r"\^\^(?=\S)(.+?)(?<=\S)\^\^")


def rewrite_highlights(text: str, ctx: InlineContext) -> str:
    """H2: Logseq's ``^^highlight^^`` -> Obsidian's ``==highlight==``."""
    if "^^" not in text:
        return text
    return _LOGSEQ_HIGHLIGHT_RE.sub(r"==\1==", text)


READWISE_RULES: tuple[InlineRule, ...] = (
    rewrite_hash_links,
    rewrite_page_links,
    rewrite_highlights,
)


def contains(text: str, token: str) -> bool:
    """``token in text``, faster where ``token[0]`` is rare: a one-character search is a
    ``memchr``, and ``token`` can only start at or after its first character's first place
    (most lines hold no ``^`` at all, and their first ``[`` is in their location link)."""
    return text.find(token, text.find(token[0])) >= 0


def split_protected(line: str) -> list[tuple[bool, str]]:
    """``line`` as (protected?, piece) pairs; concatenating the pieces gives ``line`` back."""
    if "`" not in line and not contains(line, "](") and not contains(line, "http"):
        # none of _PROTECTED_RE's literals: nothing protected (a **Tags**: line, say)
        return [(False, line)] if line else []
    pieces: list[tuple[bool, str]] = []
    pos = 0
    for match in _PROTECTED_RE.finditer(line):
        if match.start() > pos:
            pieces.append((False, line[pos : match.start()]))
        pieces.append((True, match.group(0)))
        pos = match.end()
    if pos < len(line):
        pieces.append((False, line[pos:]))
    return pieces


# A rule listed here changes nothing in a text that lacks its trigger. A line holding no
# trigger of any of its rules is returned as it is, without cutting it into pieces (most
# lines of a Readwise page have no link at all).
_TRIGGERS: dict[InlineRule, str] = {
    rewrite_hash_links: "[[",
    rewrite_page_links: "[[",
    rewrite_highlights: "^^",
}


def _triggers(rules: Sequence[InlineRule]) -> tuple[str, ...] | None:
    """The triggers of ``rules``; None when one of them has none (it must always run)."""
    return _find_triggers(tuple(rules))


@functools.lru_cache(maxsize=64)  # rule sets are few
def _find_triggers(rules: tuple[InlineRule, ...]) -> tuple[str, ...] | None:
    found: list[str] = []
    for rule in rules:
        trigger = _TRIGGERS.get(rule)
        if trigger is None:
            return None
        if trigger not in found:
            found.append(trigger)
    return tuple(found)


def _untouched(line: str, triggers: tuple[str, ...] | None) -> bool:
    if triggers is None:
        return False
    for trigger in triggers:  # noqa: SIM110 (all() over a generator costs more than the test)
        if contains(line, trigger):
            return False
    return True


def rewrite_line(line: str, rules: Sequence[InlineRule], ctx: InlineContext) -> str:
    if _untouched(line, _triggers(rules)):
        return line
    return _rewrite_line(line, rules, ctx)


def _rewrite_line(line: str, rules: Sequence[InlineRule], ctx: InlineContext) -> str:
    out: list[str] = []
    for protected, piece in split_protected(line):
        if not protected:
            for rule in rules:
                piece = rule(piece, ctx)
        out.append(piece)
    return "".join(out)


def rewrite_lines(
    lines: Iterable[str], rules: Sequence[InlineRule], ctx: InlineContext
) -> list[str]:
    """Apply ``rules`` to every line outside fenced code blocks."""
    triggers = _triggers(rules)
    lines = list(lines)
    if triggers is not None and _untouched(
        lines[0] if len(lines) == 1 else "\n".join(lines), triggers
    ):
        return lines  # no rule has anything to do on any line (code or not)
    out: list[str] = []
    fence: str | None = None
    for line in lines:
        match = FENCE_RE.match(line)
        if fence is not None:
            out.append(line)
            closing = line.strip()
            if match is not None and set(closing) <= {fence[0]} and len(closing) >= len(fence):
                fence = None
            continue
        if match is not None:
            fence = match.group(1)
            out.append(line)
            continue
        out.append(line if _untouched(line, triggers) else _rewrite_line(line, rules, ctx))
    return out
