"""Line-based three-way merge (diff3), pure: merge rule 7 of design.md.

``merge3(base, ours, theirs)`` combines two descendants of ``base``: a stretch of lines that
only one side changed takes that side's lines; a stretch both sides changed the same way is
taken once; a stretch both changed differently is a *conflict* and no merged text is given
(the caller keeps the user's note and writes the new version beside it).

Stable stretches are found as in diff3 (and bzr's merge3): the lines of ``base`` that
``difflib.SequenceMatcher`` matches on *both* sides. Edits are only merged when at least one
unchanged line separates them; two edits touching adjacent lines count as overlapping.

Lines are split on ``\\n`` only and keep their ends, so ``"".join`` of the pieces gives the
text back byte for byte (a last line without a newline stays without one).

>>> merge3("a\\nb\\nc\\n", "A\\nb\\nc\\n", "a\\nb\\nC\\n").text
'A\\nb\\nC\\n'
>>> merge3("a\\n", "x\\n", "y\\n").conflicts
1
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

__all__ = ["ThreeWay", "merge3", "split_lines"]


@dataclass(frozen=True, slots=True)
class ThreeWay:
    """The outcome: ``text`` is the merged text, or None when ``conflicts`` > 0."""

    text: str | None
    conflicts: int

    @property
    def clean(self) -> bool:
        return self.conflicts == 0


@dataclass(frozen=True, slots=True)
class _Sync:
    """A stretch of lines equal in all three texts: [base_start, base_end) etc."""

    base_start: int
    base_end: int
    ours_start: int
    ours_end: int
    theirs_start: int
    theirs_end: int


def split_lines(text: str) -> list[str]:
    """``text`` cut after every ``\\n``; ``"".join(split_lines(t)) == t``."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def merge3(base: str, ours: str, theirs: str) -> ThreeWay:
    """Merge ``ours`` and ``theirs``, both edited from ``base``.

    ``merge3(b, x, x) == x``, ``merge3(b, b, y) == y``, ``merge3(b, x, b) == x``; edits to
    stretches separated by an unchanged line are both kept; different edits of one stretch
    are a conflict.
    """
    if ours == theirs:
        return ThreeWay(ours, 0)
    if ours == base:
        return ThreeWay(theirs, 0)
    if theirs == base:
        return ThreeWay(ours, 0)
    b, o, t = split_lines(base), split_lines(ours), split_lines(theirs)
    out: list[str] = []
    conflicts = 0
    for kind, chunk in _regions(b, o, t):
        if kind == "conflict":
            conflicts += 1
        else:
            out.extend(chunk)
    if conflicts:
        return ThreeWay(None, conflicts)
    return ThreeWay("".join(out), 0)


def _regions(
    base: Sequence[str], ours: Sequence[str], theirs: Sequence[str]
) -> Iterator[tuple[str, Sequence[str]]]:
    """("same" | "ours" | "theirs" | "unchanged" | "conflict", lines) in order."""
    bi = oi = ti = 0
    for sync in _sync_regions(base, ours, theirs):
        o_chunk = ours[oi : sync.ours_start]
        t_chunk = theirs[ti : sync.theirs_start]
        b_chunk = base[bi : sync.base_start]
        if o_chunk or t_chunk:
            if o_chunk == t_chunk:
                yield "same", o_chunk
            elif o_chunk == b_chunk:
                yield "theirs", t_chunk
            elif t_chunk == b_chunk:
                yield "ours", o_chunk
            else:
                yield "conflict", o_chunk
        if sync.base_end > sync.base_start:
            yield "unchanged", base[sync.base_start : sync.base_end]
        bi, oi, ti = sync.base_end, sync.ours_end, sync.theirs_end


def _matches(base: Sequence[str], other: Sequence[str]) -> list[tuple[int, int, int]]:
    matcher = SequenceMatcher(None, base, other, autojunk=False)
    return [(m.a, m.b, m.size) for m in matcher.get_matching_blocks()]


def _sync_regions(base: Sequence[str], ours: Sequence[str], theirs: Sequence[str]) -> list[_Sync]:
    """Stretches of ``base`` matched on both sides, ending with an empty sentinel."""
    o_matches = _matches(base, ours)
    t_matches = _matches(base, theirs)
    regions: list[_Sync] = []
    oi = ti = 0
    while oi < len(o_matches) and ti < len(t_matches):
        o_base, o_at, o_len = o_matches[oi]
        t_base, t_at, t_len = t_matches[ti]
        start = max(o_base, t_base)
        end = min(o_base + o_len, t_base + t_len)
        if start < end:
            o_sub = o_at + (start - o_base)
            t_sub = t_at + (start - t_base)
            length = end - start
            regions.append(_Sync(start, end, o_sub, o_sub + length, t_sub, t_sub + length))
        if o_base + o_len < t_base + t_len:
            oi += 1
        else:
            ti += 1
    regions.append(_Sync(len(base), len(base), len(ours), len(ours), len(theirs), len(theirs)))
    return regions
