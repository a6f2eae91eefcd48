"""Task markers and priorities of a block, read the way Logseq's parser (mldoc) reads them (pure).

The model has no marker field: a block's marker is the first word of its first line, so it is
derived here. Rules (logseq-to-obsidian.md §4 and §11, checked against mldoc 1.6.0):

- markers: ``TODO DOING DONE LATER NOW WAITING WAIT CANCELED CANCELLED IN-PROGRESS STARTED``,
  upper case only, at the very start of the first line (after an optional ``#``…``######``
  heading prefix) and followed by a space: ``TODO`` followed by a tab, a no-break space or
  ``:`` is text, and so are ``todo``, ``**TODO**`` and ``#TODO``;
- priority: ``[#X]`` (``X`` one printable ASCII character, in practice ``A``/``B``/``C``)
  right after the marker and its spaces, or at the start of the first line when there is no
  marker; anywhere else ``[#A]`` is text.

One case reads differently: a block whose whole text is a bare marker (``- TODO``) is a task
for mldoc only when it is the very last thing in the file (no line end follows). Here a marker
always needs the space, so ``- TODO`` is never a task.
"""

from __future__ import annotations

import re

from syncd.logseq.model import Block

__all__ = ["MARKERS", "task_marker", "task_priority"]

MARKERS: tuple[str, ...] = (
    "TODO",
    "DOING",
    "DONE",
    "LATER",
    "NOW",
    "WAITING",
    "WAIT",
    "CANCELED",
    "CANCELLED",
    "IN-PROGRESS",
    "STARTED",
)

# longest first, so WAITING is not read as WAIT + "ING"
_MARKER_ALT = "|".join(re.escape(m) for m in sorted(MARKERS, key=len, reverse=True))
_TASK_RE = re.compile(
    rf"^(?:#+[ \t]+)?(?:(?P<marker>{_MARKER_ALT}) +)?(?:\[#(?P<priority>[ -~])\])?"
)


def task_marker(block: Block) -> str | None:
    """``"TODO"`` for ``- TODO [#A] call Ann``; None when the block is not a task."""
    match = _TASK_RE.match(block.first_line)
    return match.group("marker") if match else None


def task_priority(block: Block) -> str | None:
    """``"A"`` for ``- TODO [#A] call Ann`` (and for ``- [#A] call Ann``); None without one."""
    match = _TASK_RE.match(block.first_line)
    return match.group("priority") if match else None
