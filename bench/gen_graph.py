#!/usr/bin/env python3
# A verbatim copy of ../shared/bench/gen_graph.py (the graph must stay the same).
# ruff: noqa: E501, SIM905
"""Write a synthetic, deterministic Logseq graph for benchmarks.

Most pages look like Readwise's Logseq export (page properties, a
"Highlights first synced by" block, highlights with notes and tags);
a share are ordinary Logseq pages and journals (links, tags, tasks,
block references, properties, code).

    gen_graph.py OUT_DIR [--pages N] [--seed S] [--grow FRACTION]

--grow appends a "New highlights added" block to that fraction of the
Readwise pages of an existing graph in OUT_DIR, the way a later
Readwise sync does, instead of writing a new graph.
"""
from __future__ import annotations

import argparse
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

WORDS = (
    "memory model learning language attention gradient structure theory "
    "practice reading writing garden note link graph index habit focus "
    "system design tradeoff evidence claim method result sample bias "
    "vault sync daemon export highlight source author chapter idea river "
    "stone window lantern market winter signal noise pattern"
).split()
CATEGORIES = ["books", "articles", "tweets", "podcasts"]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def logseq_date(d: date) -> str:
    return f"{MONTHS[d.month - 1]} {ordinal(d.day)}, {d.year}"


def sentence(rng: random.Random, lo: int = 8, hi: int = 40) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def highlight(rng: random.Random, category: str, doc_id: int, n: int) -> list[str]:
    text = " ".join(sentence(rng) for _ in range(rng.randint(1, 3)))
    if category == "tweets":
        link = f"([View Tweet](https://twitter.com/user{doc_id}/status/{10**15 + doc_id * 1000 + n}))"
    elif category == "books":
        link = f"([Location {100 + n * 37}](https://readwise.io/to_kindle?action=open&asin=B0{doc_id:08d}&location={100 + n * 37}))"
    else:
        link = f"([View Highlight](https://read.readwise.io/read/01h{doc_id:06d}{n:05d}))"
    lines = [f"\t- {text} {link}"]
    if rng.random() < 0.25:
        lines.append(f"\t\t- **Note**: {sentence(rng, 4, 15)}")
    if rng.random() < 0.15:
        tags = " ".join(f"[[{rng.choice(WORDS)}]]" for _ in range(rng.randint(1, 3)))
        lines.append(f"\t\t- **Tags**: {tags}")
    return lines


def readwise_page(rng: random.Random, doc_id: int) -> tuple[str, str]:
    category = rng.choice(CATEGORIES)
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7))).title()
    author = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
    synced = date(2021, 1, 1) + timedelta(days=rng.randint(0, 1400))
    props = [
        f"title:: {title} (highlights)",
        f"author:: [[{author}]]",
        f'full-title:: "{title}"',
        f"category:: #{category}",
    ]
    if category != "books":
        props.append(f"url:: https://example.org/{doc_id}/{title.lower().replace(' ', '-')}")
    count = max(1, int(rng.lognormvariate(2.7, 0.9)))
    body = [f"- Highlights first synced by [[Readwise]] [[{logseq_date(synced)}]]"]
    for n in range(count):
        body.extend(highlight(rng, category, doc_id, n))
    name = f"{title} (highlights)"
    return name, "\n".join(props) + "\n\n" + "\n".join(body) + "\n"


def plain_page(rng: random.Random, page_id: int, names: list[str]) -> tuple[str, str]:
    name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {page_id}"
    lines = [f"tags:: {rng.choice(WORDS)}, {rng.choice(WORDS)}", f"alias:: {name.lower()} alias", ""]
    for _ in range(rng.randint(3, 25)):
        kind = rng.random()
        target = rng.choice(names) if names else "Index"
        if kind < 0.3:
            lines.append(f"- {sentence(rng)} See [[{target}]] and #{rng.choice(WORDS)}")
        elif kind < 0.45:
            lines.append(f"- TODO {sentence(rng, 3, 10)}")
        elif kind < 0.55:
            lines.append(f"- {sentence(rng)}\n  id:: {uuid.UUID(int=rng.getrandbits(128))}")
        elif kind < 0.6:
            lines.append("- ```python\n  x = '[[not a link]]'\n  ```")
        else:
            lines.append(f"- {sentence(rng)}\n\t- {sentence(rng)} #[[{rng.choice(WORDS)} {rng.choice(WORDS)}]]")
    return name, "\n".join(lines) + "\n"


def write_graph(out: Path, pages: int, seed: int) -> None:
    rng = random.Random(seed)
    (out / "pages").mkdir(parents=True, exist_ok=True)
    (out / "journals").mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    used: set[str] = set()
    written, i = 0, 0
    while written < pages:
        i += 1
        roll = rng.random()
        if roll < 0.05:
            day = date(2010, 1, 1) + timedelta(days=i)
            path = out / "journals" / f"{day:%Y_%m_%d}.md"
            target = rng.choice(names) if names else "Index"
            path.write_text(f"- Met about [[{target}]]\n- DONE {sentence(rng, 3, 8)}\n", encoding="utf-8")
            written += 1
            continue
        name, text = readwise_page(rng, i) if roll < 0.85 else plain_page(rng, i, names)
        if name.lower() in used:
            continue
        used.add(name.lower())
        names.append(name)
        # Logseq's default :file/name-format :triple-lowbar
        (out / "pages" / (name.replace("/", "___") + ".md")).write_text(text, encoding="utf-8")
        written += 1


def grow_graph(out: Path, fraction: float, seed: int) -> int:
    rng = random.Random(seed + 1)
    grown = 0
    for path in sorted((out / "pages").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if "Highlights first synced by" not in text or rng.random() >= fraction:
            continue
        category = text.split("category:: #", 1)[1].split("\n", 1)[0]
        doc_id = 900000 + grown
        new = [f"- New highlights added [[{logseq_date(date(2026, 11, 1))}]] at 9:15 AM"]
        for n in range(rng.randint(1, 8)):
            new.extend(highlight(rng, category, doc_id, n))
        path.write_text(text + "\n".join(new) + "\n", encoding="utf-8")
        grown += 1
    return grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--grow", type=float, default=None)
    args = parser.parse_args()
    if args.grow is not None:
        print(f"grew {grow_graph(args.out, args.grow, args.seed)} pages")
    else:
        write_graph(args.out, args.pages, args.seed)


if __name__ == "__main__":
    main()
