"""Golden files: a Readwise page in, the Obsidian note out, byte for byte.

Each folder of tests/golden/readwise/ holds ``input.md`` (the Logseq page as Readwise's plugin
writes it), optionally ``before.md`` (an earlier sync of the same page, merged first), and
``expected.md``. Every case also checks that a second pass changes nothing.
Regenerate with ``pytest tests/test_golden.py --update-golden`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.logseq.dates import COMMON_TITLE_FORMATS
from syncd.logseq.parser import parse_page
from syncd.merge import merge_document
from syncd.readwise import Document, document_from_page
from syncd.textio import decode_page
from tests.conftest import readwise_context

GOLDEN = Path(__file__).parent / "golden" / "readwise"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.md").exists())
CTX = readwise_context(("MMM do, yyyy", *COMMON_TITLE_FORMATS))


def load(path: Path) -> Document:
    page = parse_page(decode_page(path.read_bytes(), path))
    return document_from_page(page, path.parent.name)


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, update_golden: bool) -> None:
    folder = GOLDEN / case
    seen: dict[str, str] = {}
    note: str | None = None
    if (folder / "before.md").exists():
        first = merge_document(None, load(folder / "before.md"), seen, CTX)
        note = first.text
        seen.update(first.record)
    doc = load(folder / "input.md")
    result = merge_document(note, doc, seen, CTX)
    seen.update(result.record)
    expected_path = folder / "expected.md"
    if update_golden or not expected_path.exists():
        expected_path.write_text(result.text, encoding="utf-8")
    assert result.text == expected_path.read_text(encoding="utf-8")

    again = merge_document(result.text, doc, seen, CTX)
    assert not again.changed, "a second pass changed the note"
    assert again.text == result.text
