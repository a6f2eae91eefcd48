"""syncd.rewrite: lines without a rule's trigger are returned untouched, and that shortcut
gives exactly what rewriting them piece by piece gives."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.rewrite import (
    FENCE_RE,
    READWISE_RULES,
    InlineContext,
    InlineRule,
    _rewrite_line,
    rewrite_line,
    rewrite_lines,
)

CTX = InlineContext(link_targets={"old name": "New Name"})
PIECES = st.sampled_from(
    ["[[", "]]", "#", "^^", "`", "](", ")", "http://x.y/", " ", "a", "Feb 12th, 2023", "old name"]
)
LINES = st.lists(PIECES, max_size=16).map("".join)


@settings(max_examples=2000, deadline=None)
@given(LINES)
@example("plain text with no link at all")
@example("see [[Feb 12th, 2023]] and #[[multi word]] and ^^this^^")
@example("`[[code]]` [[old name]]")
@example("```^^[[^^")
def test_shortcut_matches_rewriting_piece_by_piece(line: str) -> None:
    assert rewrite_line(line, READWISE_RULES, CTX) == _rewrite_line(line, READWISE_RULES, CTX)
    # rewrite_lines leaves a fence line (and what follows it) as it is
    expected = line if FENCE_RE.match(line) else _rewrite_line(line, READWISE_RULES, CTX)
    assert rewrite_lines([line], READWISE_RULES, CTX) == [expected]


def test_a_rule_without_a_trigger_always_runs() -> None:
    def shout(text: str, ctx: InlineContext) -> str:
        return text.upper()

    rules: tuple[InlineRule, ...] = (*READWISE_RULES, shout)
    assert rewrite_line("no link here", rules, CTX) == "NO LINK HERE"
    assert rewrite_lines(["no link", "```", "code", "```"], rules, CTX) == [
        "NO LINK",
        "```",
        "code",
        "```",
    ]


def test_links_are_still_rewritten() -> None:
    assert rewrite_line("on [[Feb 12th, 2023]] ^^hi^^", READWISE_RULES, CTX) == (
        "on [[2023-02-12]] ==hi=="
    )
    assert rewrite_line("#[[old name]] [[old name]]", READWISE_RULES, CTX) == (
        "#old-name [[New Name|old name]]"
    )
