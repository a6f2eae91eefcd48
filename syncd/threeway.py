"""Line-based three-way merge (diff3), pure: merge rule 7 of design.md.

A stretch of lines only one side changed takes that side's lines; one both sides changed the
same way is taken once; one they changed differently is a conflict: no merged text (the caller
keeps the user's note and writes the new version beside it). Stable stretches are the lines of
``base`` that ``difflib.SequenceMatcher`` matches on both sides (as in diff3); edits touching
adjacent lines overlap. Lines keep their ``\\n``, so a merge is byte exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

__all__ = ["merge3", "split_lines"]


def split_lines(text: str) -> list[str]:
    """``text`` cut after every ``\\n``; ``"".join(split_lines(t)) == t``."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def merge3(base: str, ours: str, theirs: str) -> str | None:
    """``ours`` and ``theirs``, both edited from ``base``, merged; None on a conflict."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    b, o, t = split_lines(base), split_lines(ours), split_lines(theirs)
    out: list[str] = []
    bi = oi = ti = 0
    for b_start, b_end, o_start, t_start in _sync_regions(b, o, t):
        o_chunk, t_chunk, b_chunk = o[oi:o_start], t[ti:t_start], b[bi:b_start]
        if o_chunk == t_chunk or t_chunk == b_chunk:
            out.extend(o_chunk)
        elif o_chunk == b_chunk:
            out.extend(t_chunk)
        else:
            return None
        out.extend(b[b_start:b_end])
        bi, oi, ti = b_end, o_start + b_end - b_start, t_start + b_end - b_start
    return "".join(out)


def _sync_regions(
    base: Sequence[str], ours: Sequence[str], theirs: Sequence[str]
) -> list[tuple[int, int, int, int]]:
    """(base start, base end, ours start, theirs start) of the stretches of ``base`` matched
    on both sides, ending with an empty one at the ends."""
    o_matches = SequenceMatcher(None, base, ours, autojunk=False).get_matching_blocks()
    t_matches = SequenceMatcher(None, base, theirs, autojunk=False).get_matching_blocks()
    regions: list[tuple[int, int, int, int]] = []
    oi = ti = 0
    while oi < len(o_matches) and ti < len(t_matches):
        o_base, o_at, o_len = o_matches[oi]
        t_base, t_at, t_len = t_matches[ti]
        start = max(o_base, t_base)
        end = min(o_base + o_len, t_base + t_len)
        if start < end:
            regions.append((start, end, o_at + start - o_base, t_at + start - t_base))
        if o_base + o_len < t_base + t_len:
            oi += 1
        else:
            ti += 1
    regions.append((len(base), len(base), len(ours), len(theirs)))
    return regions
