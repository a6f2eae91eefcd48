"""Issue acceptance 5: every note's frontmatter passes ``tests/tools/obsidian_check.mjs``.

The checker reads a vault the way Obsidian does (js-yaml 4 for frontmatter, remark for the
body). Vaults checked: the samples (v1, then v2), the real export, every golden input (each in
a vault of its own, checked together), and pages whose titles, authors and properties are made
to trip YAML up. Besides frontmatter errors, everything else the checker reports is pinned:
the only errors allowed are unresolved links to what a Readwise-only vault does not hold (the
author's page, ``[[Readwise]]``, daily notes); there are no warnings (Logseq residue) and no
invalid tags; Obsidian sees every ``^rw-`` anchor as a block id; and the values Obsidian reads
(and a YAML 1.1 reader, PyYAML, reads) are exactly the source's.

Needs node >= 18 and ``cd tests/tools && npm ci`` (test.sh does that); skips without them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.cli import main
from tests.conftest import DATA, READWISE_SAMPLES

TOOLS = Path(__file__).parent / "tools"
GOLDEN = Path(__file__).parent / "golden" / "readwise"
NODE_MODULES = TOOLS / "node_modules"
NEEDED = (
    "js-yaml",
    "unified",
    "remark-parse",
    "remark-gfm",
    "remark-frontmatter",
    "@portaljs/remark-wiki-link",
)
DAILY_NOTE = re.compile(r"\d{4}-\d{2}-\d{2}")
ANCHOR = re.compile(r"\^(rw-[0-9a-f]{12})[ \t]*$", re.MULTILINE)


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (obsidian_check.mjs needs node >= 18)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    if major < 18:
        pytest.skip(f"node {version.stdout.strip()} is too old (obsidian_check.mjs needs >= 18)")
    missing = [m for m in NEEDED if not (NODE_MODULES / m / "package.json").is_file()]
    if missing:
        pytest.skip(f"node modules missing ({', '.join(missing)}): run `cd tests/tools && npm ci`")
    return node


@pytest.fixture(autouse=True)
def _needs_node() -> None:
    node_or_skip()  # before any syncing


def obsidian_check(vault: Path) -> dict[str, Any]:
    node = node_or_skip()
    done = subprocess.run(
        [node, str(TOOLS / "obsidian_check.mjs"), str(vault), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OBSIDIAN_CHECK_NODE_MODULES": str(NODE_MODULES)},
    )
    assert done.returncode in (0, 1), done.stderr  # 1: it found errors (judged below)
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def sync(graph: Path, vault: Path, state: Path) -> int:
    return main(["once", str(graph), str(vault), "--state-dir", str(state), "-q"])


def graph_with(root: Path, pages: list[Path]) -> Path:
    """A fresh graph whose pages/ holds copies of ``pages``."""
    folder = root / "pages"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for page in pages:
        shutil.copyfile(page, folder / page.name)
    return root


def front(text: str) -> str:
    assert text.startswith("---\n"), "note without frontmatter"
    return text[4 : text.index("\n---\n", 4) + 1]


def assert_clean(vault: Path, report: dict[str, Any], notes: int) -> None:
    """No frontmatter error, nothing reported but links a Readwise-only vault cannot resolve."""
    summary = report["summary"]
    assert summary["notes"] == notes
    assert summary["frontmatter_parse_failures"] == []
    assert summary["invalid_frontmatter_tags"] == []
    for note in report["notes"]:
        where = note["note"]
        assert note["frontmatter"] == {"ok": True}, where
        assert [e for e in note["errors"] if e["kind"].startswith("frontmatter")] == [], where
        props = note["properties"]
        author = str(props.get("author", {}).get("value", ""))
        allowed = {"Readwise", author[2:-2]} if author else {"Readwise"}
        for error in note["errors"]:
            assert error["kind"] == "unresolved-link", (where, error)
            target = error["detail"][2:-2]
            if error["where"] == "frontmatter:tag-links":
                continue  # a name that is no Obsidian tag links to its page (row P3)
            assert target in allowed or DAILY_NOTE.fullmatch(target), (where, error)
        assert note["warnings"] == [], where
        # the types Obsidian infers (a text that looks like a date is inferred as one)
        for key in ("full-title", "category", "syncd-id", "author", "url", "summary"):
            if key in props or key in ("full-title", "category", "syncd-id"):
                kind = "date" if DAILY_NOTE.fullmatch(str(props[key]["value"])) else "text"
                assert props[key]["type"] == kind, (where, key, props[key])
        for key in ("tags", "aliases"):
            if key in props:
                assert props[key]["type"] == "list", (where, key, props[key])
        if author:
            assert re.fullmatch(r"\[\[[^\[\]|]+\]\]", author), (where, author)
        # every highlight anchor is a block id to Obsidian (its links [[note#^rw-…]] work)
        text = (vault / where).read_text("utf-8")
        anchors = ANCHOR.findall(text)
        assert sorted(b for b in note["block_ids"] if b.startswith("rw-")) == sorted(anchors)
        # a YAML 1.1 reader agrees
        assert isinstance(yaml.safe_load(front(text)), dict), where


def test_samples_v1_then_v2(tmp_path: Path) -> None:
    graph, vault, state = tmp_path / "graph", tmp_path / "vault", tmp_path / "state"
    graph_with(graph, sorted((READWISE_SAMPLES / "v1" / "pages").iterdir()))
    assert sync(graph, vault, state) == 0
    assert_clean(vault, obsidian_check(vault), notes=9)
    graph_with(graph, sorted((READWISE_SAMPLES / "v2" / "pages").iterdir()))
    assert sync(graph, vault, state) == 0
    report = obsidian_check(vault)
    assert_clean(vault, report, notes=10)
    # the frontmatter tags of the sample, as Obsidian reads them
    assert {"checklists", "process", "safety-culture"} <= set(report["summary"]["tags"])


def test_real_export(tmp_path: Path) -> None:
    graph, vault = tmp_path / "graph", tmp_path / "vault"
    graph_with(graph, sorted((DATA / "readwise-real" / "pages").iterdir()))
    assert sync(graph, vault, tmp_path / "state") == 0
    report = obsidian_check(vault)
    assert_clean(vault, report, notes=1)
    (note,) = report["notes"]
    assert note["properties"]["author"]["value"] == "[[@AndrewLampinen on Twitter]]"


def test_golden_inputs(tmp_path: Path) -> None:
    """Each golden case (before.md first, where there is one) synced into a vault of its own;
    the vaults sit side by side in one folder, which the checker reads at once."""
    cases = sorted(p for p in GOLDEN.iterdir() if (p / "input.md").is_file())
    assert len(cases) >= 10
    everything = tmp_path / "vaults"
    everything.mkdir()
    for case in cases:
        graph, state = tmp_path / "graphs" / case.name, tmp_path / "states" / case.name
        for step in ("before.md", "input.md"):
            if (case / step).is_file():
                page = graph / "pages" / f"{case.name}.md"
                page.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(case / step, page)
                assert sync(graph, everything / case.name, state) == 0, (case.name, step)
    assert_clean(everything, obsidian_check(everything), notes=len(cases))


# Titles, authors and property values YAML could misread, and characters YAML does not allow
# raw (DEL, C1 controls, U+FFFE) or a YAML 1.1 reader takes for line breaks (NEL, U+2028).
HOSTILE_TITLES = (
    "Key: value # not a comment",
    "- starts with a dash",
    "[Looks like a flow list]",
    "{looks: like a mapping}",
    "@at & *star !bang %percent |pipe >gt",
    "yes",
    "2024-01-02",
    "1e3",
    "null",
    'It\'s "quoted"',
    "#hashtag",
    "? question",
    "ends with a colon:",
    "Tab\tinside",
    "C1 \x9d control",
    "DEL \x7f char",
    "NEL \x85 next line",
    "Line \u2028 separator",
    "Nonchar \ufffe inside",
    "emoji 😀 and 한국어",
)
HOSTILE_AUTHORS = ("@x: y #z", "Null", "O'Brien", "yes", "Author\x9d")


def hostile_page(n: int, title: str) -> str:
    author = HOSTILE_AUTHORS[n % len(HOSTILE_AUTHORS)]
    escaped = title.replace("#", "\\#")  # as Readwise writes property values
    return (
        f"title:: {title} (highlights)\n"
        f"author:: [[{author}]]\n"
        f'full-title:: "{escaped}"\n'
        "category:: #articles\n"
        f"url:: https://example.org/hostile/{n}\n"
        f'summary:: "{escaped}"\n'
        "\n"
        "- Highlights first synced by [[Readwise]] [[Feb 5th, 2024]]\n"
        f"\t- Highlight {n}. ([View Highlight](https://read.readwise.io/read/hostile{n}))\n"
    )


def test_hostile_frontmatter_values_come_back_exactly(tmp_path: Path) -> None:
    graph, vault = tmp_path / "graph", tmp_path / "vault"
    pages = graph / "pages"
    pages.mkdir(parents=True)
    for n, title in enumerate(HOSTILE_TITLES):
        (pages / f"hostile {n} (highlights).md").write_text(hostile_page(n, title), "utf-8")
    assert sync(graph, vault, tmp_path / "state") == 0
    report = obsidian_check(vault)
    assert_clean(vault, report, notes=len(HOSTILE_TITLES))
    for note in report["notes"]:
        props = note["properties"]
        n = int(props["syncd-id"]["value"].rsplit("/", 1)[1])
        title, author = HOSTILE_TITLES[n], HOSTILE_AUTHORS[n % len(HOSTILE_AUTHORS)]
        expected = {
            "full-title": title,
            "author": f"[[{author}]]",
            "summary": title,
            "aliases": [f"{title} (highlights)"],
        }
        obsidian = {key: props[key]["value"] for key in expected}
        assert obsidian == expected, note["note"]
        python = yaml.safe_load(front((vault / note["note"]).read_text("utf-8")))
        assert {key: python[key] for key in expected} == expected, note["note"]
