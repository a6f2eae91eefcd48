"""The graph-wide index of a whole-graph migration (pure): page names and aliases -> link
targets (first page in key order wins a clash; page names win over aliases), block uuids and
page-properties uuids -> link targets, asset copies, whiteboard names. A link target is the
bare note stem unless another note of the graph has the same folded stem (then the path
without ``.md``). Dependency keys: ``"n:<name>"``, ``"b:<uuid>"``, ``"a:<asset>"``;
``dependents`` says which pages depend on them.

``GraphIndexer`` holds the index of a run and updates it in place for the pages whose facts
change (never rebuilt per page, design.md), returning the keys whose target moved
(``tests/test_index.py`` checks it against a full build). Its ``index`` is a view of its own
dicts, so a conversion started later sees the new targets.

>>> from types import SimpleNamespace as P
>>> a = P(kind="page", name="A", note="x/A.md", aliases=("Alpha",), block_ids=(), page_uuid="")
>>> live = GraphIndexer({"pages/a.md": a}, {})
>>> sorted(live.index.names.items())
[('a', 'A'), ('alpha', 'A')]
>>> b = P(kind="page", name="B", note="y/a.md", aliases=(), block_ids=(), page_uuid="")
>>> sorted(live.update_many({"pages/b.md": b}))  # a second "a" stem: both become paths
['n:a', 'n:alpha', 'n:b']
>>> sorted(live.index.names.items())
[('a', 'x/A'), ('alpha', 'x/A'), ('b', 'y/a')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol

from syncd.convert.context import GraphIndex
from syncd.convert.report import name_key
from syncd.names import fold_name, note_path_stem

PAGE = "page"
JOURNAL = "journal"
READWISE = "readwise"

__all__ = [
    "JOURNAL",
    "PAGE",
    "READWISE",
    "GraphIndexer",
    "IndexFacts",
    "dependents",
    "deps_of",
    "name_key",
]


class IndexFacts(Protocol):
    """What the index reads of a page (``syncd.state.GraphPage`` has it)."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def note(self) -> str: ...  # "" when the page has no note: it is not in the index
    @property
    def aliases(self) -> tuple[str, ...]: ...
    @property
    def block_ids(self) -> tuple[str, ...]: ...
    @property
    def page_uuid(self) -> str: ...


class DependentFacts(IndexFacts, Protocol):
    @property
    def deps(self) -> tuple[str, ...]: ...


def dependents(pages: Mapping[str, DependentFacts], changed: set[str]) -> set[str]:
    """Pages whose note text depends on one of the ``changed`` keys (Readwise notes never:
    syncd only adds new highlights to them)."""
    if not changed:
        return set()
    return {
        key
        for key, page in pages.items()
        if page.kind in (PAGE, JOURNAL) and page.note and not changed.isdisjoint(page.deps)
    }


def deps_of(
    references: Iterable[str],
    block_refs: Iterable[str],
    assets: Iterable[str],
    name: str,
    aliases: Iterable[str],
) -> tuple[str, ...]:
    """What a note's text depends on besides its page: the names it links to (``references``)
    and its own ``name`` and ``aliases`` (whose targets decide its ``aliases:``), the blocks it
    refers to, the assets it shows."""
    names = {*references, name, *aliases}
    deps = {"n:" + name_key(name) for name in names if name.strip()}
    deps.update("b:" + uuid.lower() for uuid in block_refs)
    deps.update("a:" + path for path in assets)
    return tuple(sorted(deps))


class _Claims(NamedTuple):  # (a tuple: built and compared for every page of the graph)
    """What one page with a note puts into the index: the keys it competes for."""

    note: str
    stem: str  # note_path_stem(note): its link target while no other note has its leaf
    leaf: str  # folded note stem (two notes sharing it are linked by path)
    name: str  # name_key of its page name (even "")
    title: str  # its page name as written (an alias's canonical name)
    aliases: tuple[str, ...]  # non-empty name keys of its aliases
    # its page uuid, and a Readwise page's block ids: a Readwise note anchors its highlights
    # with syncd's own ^rw- ids, so a ref to one of its blocks links to the whole note
    page_uuids: tuple[str, ...]
    blocks: tuple[str, ...]  # block ids of a page or journal


def _claims(page: IndexFacts | None) -> _Claims | None:
    if page is None or not page.note:
        return None
    ids = page.block_ids  # (most pages have no block ids and no aliases)
    lowered = tuple(dict.fromkeys(uuid.lower() for uuid in ids)) if ids else ()
    readwise = page.kind == READWISE
    uuids = (page.page_uuid,) if page.page_uuid else ()
    stem = note_path_stem(page.note)
    aliases = page.aliases
    return _Claims(
        page.note,
        stem,
        fold_name(stem),
        name_key(page.name),
        page.name,
        tuple(dict.fromkeys(k for a in aliases if (k := name_key(a)))) if aliases else (),
        tuple(dict.fromkeys(uuids + lowered)) if readwise else uuids,
        () if readwise else lowered,
    )


class GraphIndexer:
    """The index of ``pages``, ``assets`` and ``whiteboards``, kept up to date as they change.
    For each key it holds who claims it (pages by key), so a change re-decides only the keys
    the changed pages claim, and those of the pages whose link target flips because a folded
    note stem became shared or unique."""

    def __init__(
        self,
        pages: Mapping[str, IndexFacts] | None = None,
        assets: Mapping[str, str] | None = None,
        whiteboards: Iterable[str] = (),
    ) -> None:
        self._claims: dict[str, _Claims] = {}
        self._targets: dict[str, str] = {}
        self._leaves: dict[str, set[str]] = {}
        self._by_name: dict[str, set[str]] = {}
        self._by_alias: dict[str, set[str]] = {}
        self._by_page_uuid: dict[str, set[str]] = {}
        self._by_block: dict[str, set[str]] = {}
        self._names: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._blocks: dict[str, str] = {}
        self._page_uuids: dict[str, str] = {}
        self._assets: dict[str, str] = dict(assets or {})
        self.index = self._view(frozenset(name_key(name) for name in whiteboards))
        self.update_many(pages or {})

    def _view(self, whiteboards: frozenset[str]) -> GraphIndex:
        return GraphIndex(
            names=self._names,
            aliases=self._aliases,
            blocks=self._blocks,
            assets=self._assets,
            page_uuids=self._page_uuids,
            whiteboards=whiteboards,
        )

    def update_many(self, pages: Mapping[str, IndexFacts | None]) -> set[str]:
        """Pages ``pages`` now have these facts (None: gone). The dependency keys whose target
        moved from before to after all of them (one that moves and moves back is not in it)."""
        names: set[str] = set()  # name keys to decide again
        uuids: set[str] = set()  # uuid keys to decide again
        leaves: dict[str, int] = {}  # folded stem -> how many notes had it before
        retarget: set[str] = set()  # pages whose link target may have changed
        for key, page in pages.items():
            old = self._claims.get(key)
            new = _claims(page)
            if old == new:
                continue
            for claims, add in ((old, False), (new, True)):
                if claims is None:
                    continue
                members = self._leaves.setdefault(claims.leaf, set())
                leaves.setdefault(claims.leaf, len(members))
                (members.add if add else members.discard)(key)
                names.update((claims.name,), claims.aliases)
                uuids.update(claims.page_uuids, claims.blocks)
                _claim(self._by_name, (claims.name,), key, add)
                _claim(self._by_alias, claims.aliases, key, add)
                _claim(self._by_page_uuid, claims.page_uuids, key, add)
                _claim(self._by_block, claims.blocks, key, add)
            if new is None:
                del self._claims[key]
                self._targets.pop(key, None)
            else:
                self._claims[key] = new
                retarget.add(key)
        for leaf, before in leaves.items():
            members = self._leaves[leaf]
            if (before > 1) != (len(members) > 1):
                retarget |= members  # the stem became shared or unique: all its notes flip
            if not members:
                del self._leaves[leaf]
        for key in retarget:
            claims = self._claims[key]
            target = claims.stem
            if len(self._leaves[claims.leaf]) > 1:  # another note has its folded stem
                target = claims.note.removesuffix(".md")  # so the path, without .md
            if self._targets.get(key) != target:
                self._targets[key] = target
                names.update((claims.name,), claims.aliases)
                uuids.update(claims.page_uuids, claims.blocks)
        moved = {"n:" + k for k in names if self._decide_name(k)}
        moved.update("b:" + k for k in uuids if self._decide_uuid(k))
        return moved

    def _decide_name(self, key: str) -> bool:
        """Set ``names[key]`` and ``aliases[key]`` from their claims; whether they changed."""
        before = (self._names.get(key), self._aliases.get(key))
        owners = self._by_name.get(key)
        if owners:
            self._names[key] = self._targets[min(owners)]
            self._aliases.pop(key, None)
        elif owners := self._by_alias.get(key):
            first = min(owners)
            self._names[key] = self._targets[first]
            self._aliases[key] = self._claims[first].title
        else:
            self._names.pop(key, None)
            self._aliases.pop(key, None)
        return before != (self._names.get(key), self._aliases.get(key))

    def _decide_uuid(self, key: str) -> bool:
        """Set ``blocks[key]`` and ``page_uuids[key]`` from their claims; whether they
        changed."""
        before = (self._blocks.get(key), self._page_uuids.get(key))
        for claimed, targets in (
            (self._by_block, self._blocks),
            (self._by_page_uuid, self._page_uuids),
        ):
            owners = claimed.get(key)
            if owners:
                targets[key] = self._targets[min(owners)]
            else:
                targets.pop(key, None)
        return before != (self._blocks.get(key), self._page_uuids.get(key))

    def set_assets(self, assets: Mapping[str, str]) -> set[str]:
        """The asset copies are now ``assets``; the "a:" keys that moved."""
        moved = {
            "a:" + k
            for k in self._assets.keys() | assets.keys()
            if self._assets.get(k) != assets.get(k)
        }
        if moved:
            self._assets.clear()
            self._assets.update(assets)
        return moved

    def set_whiteboards(self, whiteboards: Iterable[str]) -> set[str]:
        """The whiteboards are now those named ``whiteboards``; the "n:" keys that moved.
        (``index`` is then a new view: its whiteboards are a frozenset.)"""
        boards = frozenset(name_key(name) for name in whiteboards)
        moved = {"n:" + name for name in self.index.whiteboards ^ boards}
        if moved:
            self.index = self._view(boards)
        return moved


def _claim(claimed: dict[str, set[str]], keys: Iterable[str], page: str, add: bool) -> None:
    """Page ``page`` claims (``add``) or gives up ``keys`` in ``claimed``."""
    for key in keys:
        if add:
            claimed.setdefault(key, set()).add(page)
        else:
            owners = claimed[key]
            owners.discard(page)
            if not owners:
                del claimed[key]
