"""A new note for a plain Readwise page, made straight from the page's lines (pure).

Nearly every Readwise page has one plain shape: page properties, header bullets, one-line
highlights and their Note/Tags children. For such a page ``create_plain`` gives exactly what
the general path gives for a new note (``parse_page``, ``document_from_page``, then
``merge.merge_document`` with no note) without building a ``Block`` or an ``Item`` per
highlight; any other page gets None and takes the general path. Its docstring is the proof
that both are equal; tests/test_create_plain.py checks it on generated pages.
"""

from __future__ import annotations

import hashlib

from syncd.logseq.model import Block, Page
from syncd.logseq.parser import BULLET_RE, _preamble_properties
from syncd.merge import MergeResult
from syncd.note import (
    frontmatter_items,
    preamble_body,
    render_attributes,
    render_block_tree,
    render_header,
    render_own,
)
from syncd.readwise import (
    ATTRIBUTE_RE,
    HEADER_RE,
    Document,
    Item,
    Section,
    _split_location,
    anchor_for,
    highlight_ids,
    named_document,
    normalize_text,
)
from syncd.rewrite import InlineContext
from syncd.yamlout import dump_frontmatter


def create_plain(
    text: str, page_name: str, ctx: InlineContext
) -> tuple[Document, MergeResult] | None:
    """``merge_document(None, doc, {}, ctx)`` with ``doc = document_from_page(parse_page(text),
    page_name)``, for the shape of nearly every Readwise page, without building a ``Block``
    or an ``Item`` per highlight; None for any other page (the caller takes the general path).

    The shape (checked line by line; anything else gives None): no ```` ``` ````, ``~~~`` or
    ``#+`` anywhere (so no code or ``#+BEGIN`` block), page properties and text before the
    first bullet, then only
    - ``- HEADER`` lines (``HEADER_RE``: "Highlights first synced by …"),
    - ``\\t- TEXT`` highlight lines after a header,
    - ``\\t\\t- **Note**: …`` / ``**Tags**: …`` lines after a highlight (``ATTRIBUTE_RE``),
    where no bullet line holds ``::`` and the text after ``- `` is not empty and does not
    start with a space or a TAB.

    Why it equals the general path: on such text ``parse_page`` makes the lines before the
    first bullet the preamble, each header a depth-0 ``Block`` of one line and no properties
    (no ``::``; not properties-only, so the page properties are the preamble's), each
    highlight a one-line depth-1 child of the header before it, each attribute line a
    one-line depth-2 child of the highlight before it (no continuation line: every line is a
    bullet; ``BULLET_RE`` gives exactly the text after ``- `` as it does not start with
    whitespace). ``document_from_page`` then sees headers only at the top, so every section
    has a header and its items are the highlights; an attribute line is an attribute
    (``is_attribute``: no children, ``ATTRIBUTE_RE``), so no highlight has other children or
    is a heading. Below, its first pass (location URLs in walk order: header, highlight, its
    attributes, …) and ``make_item``'s identity rules are followed step by step, and
    ``merge._create``'s rendering with an empty plan: a highlight is emitted unless its id was seen
    or its text is empty, with ``render_own``'s one-line rendering where it applies, else
    ``render_own`` itself on the ``Item`` the general path would have built (the same for an
    attribute and ``render_block_tree``). tests/test_create_plain.py compares both paths on
    generated pages; the returned ``Document`` has the page's names and identity, its page
    properties and preamble, but no blocks and no sections (the note is made already).
    """
    # (each first test is a one-character search: fast; the rare page with it pays more)
    if ("`" in text and "```" in text) or ("~" in text and "~~~" in text):
        return None
    if "+" in text and "#+" in text:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    bullet = BULLET_RE.match
    start = 0
    while start < len(lines) and bullet(lines[start]) is None:
        start += 1
    # One pass over the bullets: the shape, and document_from_page's first pass (every
    # block's location, in walk order: header, highlight, its attributes, next highlight).
    # sections: (header text, line number, index of its first highlight in ``heads``);
    # highlight i: heads[i], numbers[i], spots[i] = (url, label, normalized text), cleans[i],
    # attributes[i] = the (text, line number) of its attribute lines
    sections: list[tuple[str, int, int]] = []
    heads: list[str] = []
    numbers: list[int] = []
    spots: list[tuple[str | None, str | None, str]] = []
    attributes: list[list[tuple[str, int]]] = []
    cleans: list[str] = []  # normalize_text of each highlight's text, location included
    first_text: dict[str, str] = {}
    repeated: set[str] = set()
    urls: list[str] = []
    attribute_match = ATTRIBUTE_RE.match
    header_match = HEADER_RE.match
    split = _split_location
    normalize = normalize_text
    number = start
    for line in lines[start:]:
        number += 1
        if line[:3] == "\t- ":
            head = line[3:]
            if not sections or not head or head[0] in " \t":
                return None
            depth = 1
        elif line[:4] == "\t\t- ":
            head = line[4:]
            if not heads or not head or head[0] in " \t" or not attribute_match(head):
                return None
            depth = 2
        elif line[:2] == "- ":
            head = line[2:]
            if not head or head[0] in " \t" or not header_match(head):
                return None
            depth = 0
        else:
            return None
        colon = head.find(":")
        if colon >= 0 and head[colon + 1 : colon + 2] == ":":
            return None  # may be a property line (PROPERTY_RE: a key without ":", "::")
        if depth == 1:
            url, label, rest = split(head)
            clean = normalize(head)  # what render_own's one-line rendering hashes
            if rest is head:  # no location suffix
                spot_text = clean
            elif clean is head and head.isascii():
                # ASCII text normalize_text leaves as it is has no "\\-" at its start or after
                # whitespace, no whitespace but single spaces between words; ``rest`` is its
                # start, cut before whitespace or "(" and right-stripped, so neither has it
                spot_text = rest
            else:
                spot_text = normalize(rest)
            heads.append(head)
            cleans.append(clean)
            numbers.append(number)
            spots.append((url, label, spot_text))
            attributes.append([])
        else:
            if depth == 2:
                attributes[-1].append((head, number))
            else:
                sections.append((head, number, len(heads)))
            if not head.rstrip().endswith(")"):
                continue  # no location (split's first test, most of these lines)
            url, label, rest = split(head)
            if url is None:
                continue
            spot_text = normalize(rest)
        if url is not None:
            urls.append(url)
            if first_text.setdefault(url, spot_text) != spot_text:
                repeated.add(url)
    if not sections:
        return None

    preamble = lines[:start]
    page = Page(properties=_preamble_properties(preamble), preamble=tuple(preamble), blocks=())
    doc = named_document(page, page_name, urls, ())

    # make_item's identities and merge._create's rendering (a new note: the plan knows nothing)
    seen: set[str] = set()
    record: dict[str, str] = {}
    added: list[str] = []
    body: list[str] = []
    preamble_text = preamble_body(page, ctx)
    if preamble_text:
        body.extend([*preamble_text, ""])
    sha1 = hashlib.sha1
    ends = [first for _header, _number, first in sections[1:]] + [len(heads)]
    for (header, number, first), end in zip(sections, ends, strict=True):
        header_block = Block(0, "", (header,), (), (), number)
        body.extend(render_header(Section(header_block, ()), ctx))
        for index in range(first, end):
            url, label, item_text = spots[index]
            hid, alternate = highlight_ids(url, label, item_text, repeated)
            if hid in seen or not item_text:
                continue  # a re-synced duplicate or an empty highlight: no item
            seen.add(hid)
            head = heads[index]
            if "^" not in head and "`" not in head and "~" not in head and "[[" not in head:
                # render_own's one-line rendering
                stripped = head.rstrip()
                anchor = anchor_for(hid)
                body.append(f"\t- {stripped} ^{anchor}" if stripped else f"\t- ^{anchor}")
                sha = sha1(cleans[index].encode("utf-8")).hexdigest()
                for attr, at in attributes[index]:
                    if "^" not in attr and "[[" not in attr:  # _block_lines: as it is
                        body.append(f"\t\t- {attr}".rstrip())
                    else:
                        attr_block = Block(2, "\t\t", (attr,), (), (), at)
                        body.extend(render_block_tree(attr_block, 2, ctx))
            else:
                item = Item(
                    hid,
                    Block(1, "\t", (head,), (), (), numbers[index]),
                    tuple(Block(2, "\t\t", (attr,), (), (), at) for attr, at in attributes[index]),
                    (),
                    url,
                    item_text,
                    False,
                    alternate,
                )
                own, sha = render_own(item, 1, ctx)
                body.extend(own)
                body.extend(render_attributes(item, 1, ctx))
            record[hid] = sha
            added.append(hid)
    text = dump_frontmatter(frontmatter_items(doc)) + "\n".join(body) + "\n"
    return doc, MergeResult(text=text, changed=True, added=tuple(added), record=record)
