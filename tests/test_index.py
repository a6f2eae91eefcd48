"""The graph index (``syncd.convert.index``): ``GraphIndexer`` updates the index for the
pages whose facts changed instead of building it again (issue 11). The equivalence test: for
random sequences of changes, the updated index equals ``build_index`` (below: the definition,
the whole index built from every page's facts) over the new facts, and the keys it says moved
are ``index_changes`` between the two full builds.

Rows: L1 (links to a note by its name, or by its path when two notes share the name, and
``[[Target|alias]]``), L4 (namespace folders), N6 (NFC names), N7 (first page wins a clash),
R1 (``((uuid))`` -> the note holding the block), P7 (a page-properties uuid -> the note).
"""

from __future__ import annotations

import doctest
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.convert import index as index_module
from syncd.convert.context import GraphIndex
from syncd.convert.index import GraphIndexer, dependents, name_key
from syncd.names import fold_name, note_path_stem
from syncd.state import GraphPage


def _page(name: str, note: str, **kw: Any) -> GraphPage:
    return GraphPage(1, 1, "x", kw.pop("kind", "page"), name, note, **kw)


# ------------------------------------------------------------------------------ the definition


def build_index(
    pages: Mapping[str, GraphPage], assets: Mapping[str, str], whiteboards: Iterable[str] = ()
) -> GraphIndex:
    """The index from every page's facts (first page in key order wins a clash; page names
    win over aliases; a Readwise page's block ids link to its whole note), the asset copies
    and the whiteboard names. A target is the bare stem unless another note shares it."""
    notes = sorted((key, page) for key, page in pages.items() if page.note)
    leaves = Counter(fold_name(note_path_stem(page.note)) for _, page in notes)

    def target(note: str) -> str:
        if leaves[fold_name(note_path_stem(note))] < 2:
            return note_path_stem(note)
        return note.removesuffix(".md")

    names: dict[str, str] = {}
    aliases: dict[str, str] = {}
    blocks: dict[str, str] = {}
    page_uuids: dict[str, str] = {}
    for _, page in notes:
        names.setdefault(name_key(page.name), target(page.note))
    for _, page in notes:
        for alias in page.aliases:
            if (lowered := name_key(alias)) and lowered not in names:
                names[lowered] = target(page.note)
                aliases[lowered] = page.name
        if page.page_uuid:
            page_uuids.setdefault(page.page_uuid, target(page.note))
        for uuid in page.block_ids:
            found = page_uuids if page.kind == "readwise" else blocks
            found.setdefault(uuid.lower(), target(page.note))
    boards = frozenset(name_key(name) for name in whiteboards)
    return GraphIndex(names, aliases, blocks, dict(assets), page_uuids, boards)


def index_changes(old: GraphIndex, new: GraphIndex) -> set[str]:
    """The dependency keys ("n:", "b:", "a:") whose target differs between two indexes."""
    changed = {"n:" + name for name in old.whiteboards ^ new.whiteboards}
    for prefix, maps in (
        ("n:", ("names", "aliases")),
        ("b:", ("blocks", "page_uuids")),
        ("a:", ("assets",)),
    ):
        for m in maps:
            a, b = getattr(old, m), getattr(new, m)
            changed.update(prefix + k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    return changed


# ------------------------------------------------------------------------------ GraphIndexer


def test_module_examples() -> None:
    result = doctest.testmod(index_module)
    assert result.attempted > 0
    assert result.failed == 0


def test_targets_aliases_and_blocks() -> None:
    pages = {
        "pages/a.md": _page("Design", "Projects/Design.md", aliases=("Plan",), block_ids=("u1",)),
        "pages/b.md": _page("Other/Design", "Other/Design.md"),
        "pages/c.md": _page("ML", "Machine Learning.md", aliases=("Design", "AI")),
        "pages/r.md": _page(
            "Book (highlights)", "Books/Book.md", kind="readwise", block_ids=("u2",)
        ),
    }
    index = GraphIndexer(pages, {"x.png": "assets/x.png"}, ["Board"]).index
    assert index.names["design"] == "Projects/Design"  # two notes named Design: the path
    assert index.names["ml"] == "Machine Learning"
    assert index.names["ai"] == "Machine Learning"
    assert index.aliases == {"plan": "Design", "ai": "ML"}  # "Design" is a page: no alias
    assert index.blocks == {"u1": "Projects/Design"}
    assert index.page_uuids == {"u2": "Book"}  # Readwise notes anchor with ^rw- ids
    assert index.whiteboards == frozenset({"board"})


def test_moved_keys_and_dependents() -> None:
    a = {"a": _page("A", "A.md"), "b": _page("B", "B.md", deps=("n:a2",)),
         "c": _page("C", "C.md", deps=("n:a",))}  # fmt: skip
    live = GraphIndexer(a, {})
    moved = live.update_many({"a": _page("A", "A.md", aliases=("A2",))})
    assert moved == {"n:a2"}
    assert dependents(a, moved) == {"b"}
    assert live.update_many({"a": _page("A", "A.md", aliases=("A2",))}) == set()


def test_a_note_moving_changes_the_targets_of_the_notes_sharing_its_stem() -> None:
    """L1/L4: ``b`` moving next to ``a``'s stem makes *both* link by path; moving away
    again gives ``a`` its bare name back, though ``a``'s facts never changed."""
    pages = {"pages/a.md": _page("A", "x/Note.md"), "pages/b.md": _page("B", "B.md")}
    live = GraphIndexer(pages, {})
    assert live.update_many({"pages/b.md": _page("B", "y/note.md")}) == {"n:a", "n:b"}
    assert dict(live.index.names) == {"a": "x/Note", "b": "y/note"}
    assert live.update_many({"pages/b.md": _page("B", "B.md")}) == {"n:a", "n:b"}
    assert dict(live.index.names) == {"a": "Note", "b": "B"}


def test_the_first_page_in_key_order_wins_and_names_beat_aliases() -> None:
    """N7: a name two pages claim goes to the first by key; an alias yields to a page name,
    and takes over again when that page goes."""
    live = GraphIndexer({"pages/b.md": _page("Y", "Y.md", aliases=("X",))}, {})
    assert dict(live.index.aliases) == {"x": "Y"}
    assert live.update_many({"pages/c.md": _page("X", "X.md")}) == {"n:x"}
    assert dict(live.index.names) == {"x": "X", "y": "Y"} and not live.index.aliases
    assert live.update_many({"pages/a.md": _page("x", "other/Z.md")}) == {"n:x"}
    assert live.index.names["x"] == "Z"
    assert live.update_many({"pages/a.md": None}) == {"n:x"}
    assert live.update_many({"pages/c.md": None}) == {"n:x"}
    assert dict(live.index.aliases) == {"x": "Y"}


def test_the_view_is_live_and_unchanged_facts_change_nothing() -> None:
    live = GraphIndexer({"pages/a.md": _page("A", "A.md", block_ids=("u1",))}, {})
    view = live.index
    assert live.update_many({"pages/a.md": _page("A", "A.md", block_ids=("U1",))}) == set()
    assert live.update_many(
        {"pages/a.md": _page("A", "A.md", kind="readwise", block_ids=("u1",))}
    ) == {"b:u1"}
    assert dict(view.blocks) == {} and dict(view.page_uuids) == {"u1": "A"}  # R1, P7


def test_assets_and_whiteboards() -> None:
    live = GraphIndexer({}, {"x.png": "assets/x.png"}, ["Board"])
    assert live.set_assets({"x.png": "assets/x.png"}) == set()
    assert live.set_assets({"y.png": "assets/y.png"}) == {"a:x.png", "a:y.png"}
    assert live.set_whiteboards(["board"]) == set()
    assert live.set_whiteboards(["Other"]) == {"n:board", "n:other"}
    assert live.index == build_index({}, {"y.png": "assets/y.png"}, ["Other"])


# ------------------------------------------------------------------------------ the property

KEYS = ("pages/a.md", "pages/b.md", "pages/c.md", "journals/2024_01_01.md", "pages/e.md")
NAMES = ("A", "a ", "B", "Ä", "A\u0308", "x/y", "", "Alias")
ALIASES = ("A", "alias", "", " b ", "Ä", "C")
# stems that fold together (case, NFC/NFD, ß/ss) in different folders, and a note without .md
NOTES = (
    "A.md",
    "x/A.md",
    "y/a.md",
    "B.md",
    "x/Strasse.md",
    "y/straße.md",
    "Ä.md",
    "z/A\u0308.md",
    "C",
)
UUIDS = ("u1", "U1", "u2", "u3", "")

facts = st.builds(
    _page,
    name=st.sampled_from(NAMES),
    note=st.sampled_from(("", *NOTES)),
    kind=st.sampled_from(("page", "journal", "readwise")),
    aliases=st.lists(st.sampled_from(ALIASES), max_size=3).map(tuple),
    block_ids=st.lists(st.sampled_from(UUIDS), max_size=3).map(tuple),
    page_uuid=st.sampled_from(UUIDS),
)
change = st.tuples(st.sampled_from(KEYS), st.none() | facts)
graphs = st.dictionaries(st.sampled_from(KEYS), facts, max_size=len(KEYS))


@settings(max_examples=400, deadline=None)
@given(start=graphs, changes=st.lists(change, max_size=12))
def test_updating_page_by_page_equals_building_again(
    start: dict[str, GraphPage], changes: list[tuple[str, GraphPage | None]]
) -> None:
    """Adds, removals, renames, alias and block id moves, kind changes and note moves that
    make folded stems shared or unique: after each, the index is ``build_index`` of the new
    facts and the moved keys are ``index_changes`` between the two builds."""
    live = GraphIndexer(start, {"x.png": "assets/x.png"}, ["Board"])
    pages = dict(start)
    before = build_index(pages, {"x.png": "assets/x.png"}, ["Board"])
    assert live.index == before
    for key, page in changes:
        if page is None:
            pages.pop(key, None)
        else:
            pages[key] = page
        after = build_index(pages, {"x.png": "assets/x.png"}, ["Board"])
        moved = live.update_many({key: page})
        assert live.index == after
        assert moved == index_changes(before, after)
        before = after


@settings(max_examples=300, deadline=None)
@given(start=graphs, new=graphs)
def test_updating_many_pages_at_once_equals_building_again(
    start: dict[str, GraphPage], new: dict[str, GraphPage]
) -> None:
    """One batch from one graph to another (a run's pass 1 against the last run's facts)."""
    live = GraphIndexer(start, {})
    moved = live.update_many({key: new.get(key) for key in start.keys() | new.keys()})
    assert live.index == build_index(new, {})
    assert moved == index_changes(build_index(start, {}), build_index(new, {}))
