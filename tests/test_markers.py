"""Task markers and priorities, as mldoc 1.6.0 reads them from a block's first line."""

from __future__ import annotations

import pytest

from syncd.logseq.markers import MARKERS, task_marker, task_priority
from syncd.logseq.parser import parse_page


def first_block(line: str) -> tuple[str | None, str | None]:
    block = parse_page(f"- {line}\n- next\n").blocks[0]
    return task_marker(block), task_priority(block)


@pytest.mark.parametrize("marker", MARKERS)
def test_every_marker_followed_by_a_space(marker: str) -> None:
    assert first_block(f"{marker} call Ann") == (marker, None)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("TODO [#A] call Ann", ("TODO", "A")),
        ("DONE  [#c]  twice spaced", ("DONE", "c")),
        ("LATER [#B]", ("LATER", "B")),
        ("TODO ", ("TODO", None)),  # the space is there, the text is empty
        ("[#A] no marker", (None, "A")),
        ("## TODO heading task", ("TODO", None)),
        ("# NOW [#C] x", ("NOW", "C")),
        ("WAITING on Dana", ("WAITING", None)),  # not WAIT + "ING"
        ("WAIT for it", ("WAIT", None)),
        ("IN-PROGRESS x", ("IN-PROGRESS", None)),
        # text, not tasks
        ("todo x", (None, None)),
        ("TODOx", (None, None)),
        ("TODO\tx", (None, None)),
        ("TODO\u00a0x", (None, None)),
        ("DONE: x", (None, None)),
        ("**TODO** x", (None, None)),
        ("#TODO x", (None, None)),
        ("call Ann TODO", (None, None)),
        ("TODO", (None, None)),  # a bare marker (mldoc: only at the very end of the file)
        ("x [#A]", (None, None)),
        ("TODO [#AB] x", ("TODO", None)),
        ("[#é] x", (None, None)),
    ],
)
def test_marker_and_priority(line: str, expected: tuple[str | None, str | None]) -> None:
    assert first_block(line) == expected


def test_only_the_first_line_counts() -> None:
    block = parse_page("- call Ann\n  TODO [#A] later\n").blocks[0]

    assert (task_marker(block), task_priority(block)) == (None, None)
