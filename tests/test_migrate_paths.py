"""syncd.migrate's string-only note path helpers give what PurePosixPath gives; its and
syncd.state's shortcuts give what the general calls give."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import PurePosixPath

from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.migrate import with_note
from syncd.names import note_name, note_path_stem
from syncd.pipeline.page import split_note
from syncd.state import GraphPage, _json_list

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
    assert note_path_stem(note) == path.stem
    assert split_note(note) == ("" if parent == "." else parent, path.stem)


def test_with_note_is_replace() -> None:
    """with_note lists GraphPage's fields; a field added later must be added there too."""
    page = GraphPage(1, 2, "s", "page", "Name", "old.md", ("a",), ("b",), ("n:x",), "u")
    assert [f.name for f in fields(GraphPage)] == [
        "size", "mtime_ns", "sha256", "kind", "name", "note",
        "aliases", "block_ids", "deps", "page_uuid",
    ]  # fmt: skip
    assert with_note(page, "new.md") == replace(page, note="new.md")


@given(st.lists(st.text(max_size=5), max_size=3))
def test_json_list_is_compact_json_dumps(items: list[str]) -> None:
    expected = json.dumps(tuple(items), ensure_ascii=False, separators=(",", ":"))
    assert _json_list(tuple(items)) == expected
