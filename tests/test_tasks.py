"""Task markers and priorities (rows T1, T2): ``parse_task`` on a block's first line.

The cases were checked against Logseq's parser, mldoc 1.6.0. Where the reference table makes
syncd read a line differently from mldoc (a marker after a heading prefix, a priority without
a marker or other than A/B/C), the expected value is the table's and the comment gives
mldoc's; tests/test_parser_vs_mldoc.py pins mldoc's reading of each in ``KNOWN_DIFFERENCES``.
"""

from __future__ import annotations

import pytest

from syncd.convert.tasks import CHECKBOXES, parse_task
from syncd.logseq.parser import parse_page


def read(line: str) -> tuple[str | None, str | None]:
    """(marker, priority) of the first block of a page whose first bullet is ``- line``."""
    task = parse_task(parse_page(f"- {line}\n- next\n").blocks[0].first_line)
    return (task.marker, task.priority) if task else (None, None)


@pytest.mark.parametrize("marker", CHECKBOXES)
def test_T1_every_marker_followed_by_a_space(marker: str) -> None:
    assert read(f"{marker} call Ann") == (marker, None)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("TODO [#A] call Ann", ("TODO", "A")),
        ("LATER [#B]", ("LATER", "B")),
        ("TODO [#C]x", ("TODO", "C")),
        ("TODO [#A] [#B] x", ("TODO", "A")),
        ("TODO ", ("TODO", None)),  # the space is there, the text is empty
        ("WAITING on Dana", ("WAITING", None)),  # not WAIT + "ING"
        ("WAIT for it", ("WAIT", None)),
        ("IN-PROGRESS x", ("IN-PROGRESS", None)),
        # text, not tasks (mldoc agrees)
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
        # the table, not mldoc
        ("## TODO heading task", (None, None)),  # T1, mldoc: TODO
        ("# NOW [#C] x", (None, None)),  # T1, mldoc: NOW, C
        ("[#A] no marker", (None, None)),  # T2, mldoc: priority A
        ("DONE  [#c]  lower case", ("DONE", None)),  # T2, mldoc: priority c
        ("TODO [#D] x", ("TODO", None)),  # T2, mldoc: priority D
    ],
)
def test_T1_T2_marker_and_priority(line: str, expected: tuple[str | None, str | None]) -> None:
    assert read(line) == expected


def test_T2_a_priority_that_is_not_one_stays_in_the_text() -> None:
    task = parse_task("TODO [#D] x")

    assert task is not None
    assert (task.priority, task.text) == (None, "[#D] x")
