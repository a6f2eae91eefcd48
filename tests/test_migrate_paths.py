"""syncd.migrate's string-only note path helpers give what PurePosixPath gives."""

from __future__ import annotations

from pathlib import PurePosixPath

from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.migrate import _split_note, note_name, note_stem

PATHS = st.text(alphabet="ab./ é-", max_size=14)


@settings(max_examples=3000)
@given(PATHS)
@example("")
@example(".")
@example("..")
@example("a/..")
@example("./a.md")
@example("/a/b.md")
@example("a//b.md")
@example("a/./b.md")
@example("a/b/")
@example("a/.")
@example(".md")
@example("a.")
@example("Books/Some Title.md")
@example("2024/01/2024-01-02.md")
def test_note_path_helpers_are_pure_posix_path(note: str) -> None:
    path = PurePosixPath(note)
    parent = str(path.parent)
    assert note_name(note) == path.name
    assert note_stem(note) == path.stem
    assert _split_note(note) == ("" if parent == "." else parent, path.stem)
