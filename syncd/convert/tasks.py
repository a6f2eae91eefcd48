"""Tasks: markers, priorities, SCHEDULED/DEADLINE (rows T1–T3; T4 drawers are in ``blocks``).

A marker is the first word of a block, followed by a space (``- TODO x``; ``TODO`` elsewhere is
text); it becomes a Markdown task whose status the Tasks plugin understands (``CHECKBOXES``).
``[#A]`` right after the marker and the task's ``SCHEDULED:``/``DEADLINE:`` lines move to the
end of the task line, as Tasks emoji or Dataview fields, in the Tasks plugin's order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from syncd.convert.context import ConvertOptions, TaskStyle

CHECKBOXES = {
    "TODO": "[ ]",
    "LATER": "[ ]",
    "DOING": "[/]",
    "NOW": "[/]",
    "IN-PROGRESS": "[/]",
    "STARTED": "[/]",
    "DONE": "[x]",
    "CANCELED": "[-]",
    "CANCELLED": "[-]",
    "WAITING": "[ ]",
    "WAIT": "[ ]",
}
_MARKERS = "|".join(sorted(CHECKBOXES, key=len, reverse=True))
TASK_RE = re.compile(rf"^(?P<marker>{_MARKERS}) +(?:\[#(?P<priority>[ABC])\] *)?(?P<text>.*)$")
_STAMP = (
    r"(?P<kind>SCHEDULED|DEADLINE):[ \t]*<(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[ \t]+[^\s>\d][^\s>]*)?(?:[ \t]+\d{1,2}:\d{2}(?:-\d{1,2}:\d{2})?)?"
    r"(?:[ \t]+(?P<repeat>(?:\.\+|\+\+|\+)\d+[hdwmy]))?[ \t]*>"
)
STAMP_RE = re.compile(_STAMP)
STAMP_LINE_RE = re.compile(r"^[ \t]*(?:" + re.sub(r"\?P<\w+>", "", _STAMP) + r"[ \t]*)+$")
PRIORITY_EMOJI = {"A": "⏫", "B": "🔼", "C": "🔽"}
PRIORITY_WORDS = {"A": "high", "B": "medium", "C": "low"}
UNITS = {"h": "hour", "d": "day", "w": "week", "m": "month", "y": "year"}


@dataclass(slots=True, unsafe_hash=True)
class Task:
    marker: str
    priority: str | None
    text: str  # the block's first line after the marker and the priority


@dataclass(slots=True, unsafe_hash=True)
class Stamp:
    kind: str  # "SCHEDULED" or "DEADLINE"
    date: str  # ISO
    repeat: str | None  # "every week when done"


def parse_task(first_line: str) -> Task | None:
    """``TODO [#A] write`` -> Task("TODO", "A", "write"); None when not a task."""
    match = TASK_RE.match(first_line)
    return Task(*match.group("marker", "priority", "text")) if match is not None else None


def is_stamp_line(line: str) -> bool:
    return STAMP_LINE_RE.match(line) is not None


def stamps(line: str) -> list[Stamp]:
    return [
        Stamp(m.group("kind"), m.group("date"), recurrence(m.group("repeat")))
        for m in STAMP_RE.finditer(line)
    ]


def recurrence(repeat: str | None) -> str | None:
    """``.+1w`` -> ``every week when done``, ``+2m`` -> ``every 2 months``."""
    match = re.fullmatch(r"(\.\+|\+\+|\+)(\d+)([hdwmy])", repeat or "")
    if match is None:  # no repeater
        return None
    count, unit = int(match.group(2)), UNITS[match.group(3)]
    text = f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return f"{text} when done" if match.group(1) == ".+" else text


def task_line(task: Task, text: str, found: list[Stamp], options: ConvertOptions) -> str:
    """The task's first line: checkbox, converted text, then priority, recurrence and dates."""
    checkbox = CHECKBOXES[task.marker]
    extras: list[str] = []
    if checkbox == "[/]" and options.doing_as_tag:
        checkbox = "[ ]"
        extras.append("#doing")
    dataview = options.task_style is TaskStyle.DATAVIEW
    if task.priority:
        word = PRIORITY_WORDS[task.priority]
        extras.append(f"[priority:: {word}]" if dataview else PRIORITY_EMOJI[task.priority])
    repeat = next((s.repeat for s in found if s.repeat), None)
    if repeat:
        extras.append(f"[repeat:: {repeat}]" if dataview else f"🔁 {repeat}")
    for kind, emoji, field in (("SCHEDULED", "⏳", "scheduled"), ("DEADLINE", "📅", "due")):
        for stamp in found:
            if stamp.kind == kind:
                extras.append(f"[{field}:: {stamp.date}]" if dataview else f"{emoji} {stamp.date}")
                break
    if not extras:
        return f"{checkbox} {text}"
    return " ".join([f"{checkbox} {text}".rstrip(), *extras])
