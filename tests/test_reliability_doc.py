"""docs/reliability.md names, for every fault, the tests that show it: each name must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
REF_RE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[([^\]`]+)\])?`")


def test_every_test_named_in_docs_reliability_exists() -> None:
    refs = REF_RE.findall(DOC.read_text("utf-8"))
    assert len(refs) > 80, len(refs)
    missing = []
    for file, name, case in refs:
        source = ROOT / file
        text = source.read_text("utf-8") if source.is_file() else ""
        if not re.search(rf"^(?:async )?def {name}\(", text, flags=re.MULTILINE):
            missing.append(f"{file}::{name}")
        elif case and f'"{case}"' not in text:
            missing.append(f"{file}::{name}[{case}]")
    assert missing == []


def test_every_reliability_test_is_named_in_docs_reliability() -> None:
    text = DOC.read_text("utf-8")
    named = {(file, name) for file, name, _ in REF_RE.findall(text)}
    files = [*sorted(ROOT.glob("tests/test_reliability_*.py")), ROOT / "tests" / "test_soak.py"]
    unnamed = []
    for source in files:
        file = source.relative_to(ROOT).as_posix()
        if source.name == "test_reliability_doc.py":
            continue
        for name in re.findall(r"^def (test_\w+)\(", source.read_text("utf-8"), re.MULTILINE):
            # the table-driven files are described by their tables
            if (file, name) not in named and f"`{name}" not in text:
                unnamed.append(f"{file}::{name}")
    assert unnamed == []
