#!/usr/bin/env python3
"""Write gen_graph.py's graph with a share of its pages corrected in pass 2 of `include: all`.

    gen_corrections.py OUT_DIR [--pages N] [--seed S] [--share FRACTION]

Pass 1 of a migration takes a page's facts from its head and its `id::` lines, without
parsing the whole outline; pass 2 parses it and corrects the graph index where the two
disagree. An `id::` in the page properties (row P7: Logseq writes one when someone refers to
the properties block) is such a case: pass 1 counts it as a block id, the full parse as the
page's uuid. On a real 7,000-page Readwise-heavy graph 285 pages were corrected this way;
--share (default 0.05) gives this graph's pages (journals aside) such an `id::`.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def write_graph(out: Path, pages: int, seed: int) -> None:
    spec = importlib.util.spec_from_file_location("gen_graph", BENCH / "gen_graph.py")
    assert spec is not None and spec.loader is not None
    gen_graph = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_graph)
    gen_graph.write_graph(out, pages, seed)


def add_page_ids(out: Path, share: float, seed: int) -> int:
    """Give ``share`` of the pages an ``id::`` page property; how many got one."""
    rng = random.Random(seed + 2)
    added = 0
    for path in sorted((out / "pages").glob("*.md")):
        if rng.random() >= share:
            continue
        first, _, rest = path.read_text(encoding="utf-8").partition("\n")
        page_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        path.write_text(f"{first}\nid:: {page_id}\n{rest}", encoding="utf-8")
        added += 1
    return added


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=7_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--share", type=float, default=0.05)
    args = parser.parse_args()
    write_graph(args.out, args.pages, args.seed)
    print(f"{add_page_ids(args.out, args.share, args.seed)} pages with an id:: page property")


if __name__ == "__main__":
    main()
