"""Fast paths of syncd.convert give what the general rule gives (differential tests)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.convert.blocks import block_uuid, drawer_properties
from syncd.convert.links import ANCHOR_ID_RE
from syncd.logseq.model import Block, Property

UUID = "6601e4b7-0c5e-4b2c-9a3e-1f2d3c4b5a69"
LINES = st.sampled_from(
    [
        ":PROPERTIES:",
        "  :properties:  ",
        ":Properties:",
        ":LOGBOOK:",
        ":END:",
        f":id: {UUID}",
        f":ID: {UUID.upper()}",
        f":custom_id: {UUID}",
        ":id: not-a-uuid",
        "```",
        "text with a : colon",
        "see https://example.org/x",
        f"id:: {UUID}",
        "",
    ]
)


def reference_block_uuid(block: Block) -> str | None:
    """block_uuid as first written: block properties, then every drawer entry."""
    for prop in (*block.properties, *drawer_properties(block.lines)):
        if prop.key.lower() == "id":
            value = prop.value.strip().lower()
            return value if ANCHOR_ID_RE.fullmatch(value) else None
    return None


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(LINES, max_size=8),
    props=st.lists(
        st.tuples(st.sampled_from(["id", "ID", "title", "Id"]), st.sampled_from([UUID, "x"])),
        max_size=2,
    ),
)
def test_block_uuid_is_the_general_rule(lines: list[str], props: list[tuple[str, str]]) -> None:
    block = Block(
        depth=0,
        indent="",
        lines=("a block", *lines),
        properties=tuple(Property(k, v, 0) for k, v in props),
        children=(),
        line=1,
    )
    assert block_uuid(block) == reference_block_uuid(block)
