"""Issue acceptance 2: the Readwise sample (v1, then v2) into an empty vault.

MANIFEST.json says what must hold: one note per document, every highlight probe exactly
once in its note's body, the expected frontmatter values, no note for Readwise.md, and a
second run of v2 changes nothing (no bytes, no mtimes).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.convert.inline import multiword_tag
from tests.conftest import READWISE_SAMPLES, Workspace

MANIFEST: dict[str, Any] = json.loads((READWISE_SAMPLES / "MANIFEST.json").read_text("utf-8"))
DOCS = {d["doc_id"]: d for d in MANIFEST["documents"]}


def split_note(text: str) -> tuple[dict[str, Any], str]:
    assert text.startswith("---\n"), "note has no frontmatter"
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]), text[end + 5 :]


def count_probe(body: str, probe: str) -> int:
    """Occurrences of ``probe`` not followed by a letter or digit (MANIFEST convention)."""
    return sum(
        1
        for m in re.finditer(re.escape(probe), body)
        if m.end() == len(body) or not body[m.end()].isalnum()
    )


def semantic(value: Any) -> Any:
    if isinstance(value, list):
        return [semantic(v) for v in value]
    text = str(value).strip().strip('"')
    text = text.replace("\\#", "#")
    if text.startswith("[[") and text.endswith("]]"):
        text = text[2:-2]
    return text.lstrip("#")


def notes_by_identity(ws: Workspace) -> dict[str, tuple[str, dict[str, Any], str]]:
    found: dict[str, tuple[str, dict[str, Any], str]] = {}
    for path, text in ws.notes().items():
        meta, body = split_note(text)
        key = meta["syncd-id"]
        assert key not in found, f"two notes for {key}: {found[key][0]} and {path}"
        found[key] = (path, meta, body)
    return found


@pytest.fixture
def synced(ws: Workspace) -> Workspace:
    ws.put_pages(READWISE_SAMPLES / "v1" / "pages")
    assert ws.sync() == 0
    ws.put_pages(READWISE_SAMPLES / "v2" / "pages")
    assert ws.sync() == 0
    return ws


def test_one_note_per_document_and_none_for_readwise_md(synced: Workspace) -> None:
    notes = notes_by_identity(synced)
    assert set(notes) == {d["identity"]["key"] for d in MANIFEST["documents"]}
    assert len(synced.notes()) == MANIFEST["document_count"]
    assert not any(Path(p).stem == "Readwise" for p in synced.notes())


@pytest.mark.parametrize("doc_id", sorted(DOCS))
def test_every_probe_exactly_once(synced: Workspace, doc_id: str) -> None:
    doc = DOCS[doc_id]
    _, _, body = notes_by_identity(synced)[doc["identity"]["key"]]
    for highlight in doc["highlights"]:
        assert count_probe(body, highlight["probe"]) == 1, highlight
        if highlight.get("note_probe"):
            assert count_probe(body, highlight["note_probe"]) == 1, highlight


@pytest.mark.parametrize("doc_id", sorted(DOCS))
def test_expected_frontmatter(synced: Workspace, doc_id: str) -> None:
    doc = DOCS[doc_id]
    path, meta, body = notes_by_identity(synced)[doc["identity"]["key"]]
    for key, expected in doc["expected_frontmatter"].items():
        if key == "tags":
            # Obsidian tags cannot hold spaces (row P3): "safety culture" -> "safety-culture"
            expected = [multiword_tag(tag) for tag in expected]
        assert semantic(meta[key]) == expected, (path, key)
    assert meta["author"] == f"[[{doc['expected_frontmatter']['author']}]]"
    assert Path(path).stem == sanitize_expected(doc["expected_title"])
    assert doc["title_property"] in meta["aliases"]
    if doc["cover_image"]:
        assert count_probe(body, doc["cover_image"]) == 1


def sanitize_expected(title: str) -> str:
    from syncd.names import sanitize_title

    return sanitize_title(title)


def test_category_folders(synced: Workspace) -> None:
    for doc in MANIFEST["documents"]:
        path, _, _ = notes_by_identity(synced)[doc["identity"]["key"]]
        assert path.split("/")[:2] == ["Readwise", doc["category"].capitalize()], path


def test_running_v2_again_writes_nothing(synced: Workspace) -> None:
    before = synced.snapshot()
    assert synced.sync() == 0
    assert synced.snapshot() == before


def test_v2_straight_into_an_empty_vault_gives_the_same_highlights(ws: Workspace) -> None:
    """A first sync of the later snapshot: the re-sync glitch (P10) adds nothing twice."""
    ws.put_pages(READWISE_SAMPLES / "v2" / "pages")
    assert ws.sync() == 0
    notes = notes_by_identity(ws)
    for doc in MANIFEST["documents"]:
        _, _, body = notes[doc["identity"]["key"]]
        for highlight in doc["highlights"]:
            assert count_probe(body, highlight["probe"]) == 1, (doc["doc_id"], highlight)
