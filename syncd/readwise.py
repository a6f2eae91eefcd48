"""Readwise pages: recognise them and read them as documents of highlights (pure).

A Readwise page (readwise-format.md §a.2) is a Logseq page with Readwise's properties and
header blocks (``Highlights first synced by …`` / ``New highlights added …``) whose children
are highlights, optionally grouped under heading blocks, each with ``**Tags**:`` and
``**Note**:`` children. Recognition goes by that shape, never by the file name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import NewType

from syncd.logseq.model import Block, Page
from syncd.logseq.parser import unescape_markdown

DocumentId = NewType("DocumentId", str)
HighlightId = NewType("HighlightId", str)

# the phrases that open a Readwise header bullet ("Highlights first synced by [[Readwise]] …")
HEADER_PHRASES = ("Highlights first synced by", "New highlights added", "Highlights synced by")
# (also after a leading "* ", as a page the plugin reset writes it, and after "#"s: the older
# "## Highlights first synced by #Readwise" form)
HEADER_RE = re.compile(
    r"^(?:\*\s+)?(?:#{1,6}\s+)?(?:" + "|".join(map(re.escape, HEADER_PHRASES)) + r")\b",
    re.IGNORECASE,
)
# ([Location 305](https://…)) or ([View Highlight](…)) at the very end of a highlight
LOCATION_LINK_RE = re.compile(r"\s*\(\[([^\]\n]*)\]\((\S+?)\)\)\s*$")
# the same, faster (it runs on every block): no leading \s* (a pattern starting with a literal
# is found by a fast scan), and a greedy URL (the same match, as only whitespace may follow
# its "))")
_LOCATION_LINK_CORE_RE = re.compile(r"\(\[([^\]\n]*)\]\((\S+)\)\)\s*$")
# (Page 12) / (Location 305) without a link
LOCATION_LABEL_RE = re.compile(
    r"\s*\(((?:Page|Location|Loc\.?|Time|Chapter)\s+[^()\n]{1,40})\)\s*$"
)
ASIN_RE = re.compile(r"[?&]asin=([A-Za-z0-9]{10})\b")
ATTRIBUTE_RE = re.compile(
    r"^(?:\*\*|__)?(?P<kind>Tags?|Notes?)(?:\*\*|__)?\s*:(?:\*\*|__)?\s", re.IGNORECASE
)
ANCHOR_PREFIX = "rw-"
BLOCK_PREFIX = "block:"  # + the id it would have as a highlight: a block that is not one
CATEGORY_FOLDERS = {
    "books": "Books",
    "articles": "Articles",
    "tweets": "Tweets",
    "podcasts": "Podcasts",
    "supplementals": "Supplementals",
}
KNOWN_CATEGORIES = frozenset(CATEGORY_FOLDERS)
OTHER_FOLDER = "Other"  # the folder of a document whose category is none of Readwise's


@dataclass(slots=True, unsafe_hash=True)
class Item:
    """A highlight, or a heading grouping highlights, as it appears in the outline."""

    id: HighlightId
    block: Block  # as parsed, Logseq syntax
    attributes: tuple[Block, ...]  # **Tags**: / **Note**: children, in order
    children: tuple[Item, ...]
    location_url: str | None
    text_key: str  # normalized text (identity fallback and edit detection)
    is_heading: bool
    # the id it was known by before: the URL alone when the URL now repeats with other text;
    # its text id when its location sits in a block of its own (syncd < issue 12 read it so)
    alternate_id: HighlightId | None = None
    # not a highlight: a block of the page kept as written (a ``- -`` group, a user's own
    # block, a ref to a highlight): no ^rw- anchor, never deduplicated
    is_block: bool = False
    # blocks after it, at its depth, that belong to it: its location link in a block of its
    # own, a ``tags::`` block between it and that link (design.md "Highlight identity")
    trailing: tuple[Block, ...] = ()

    anchor: str = field(init=False, repr=False, compare=False)  # anchor_for(id), once

    def __post_init__(self) -> None:
        self.anchor = anchor_for(self.id)

    def walk(self) -> list[Item]:
        out: list[Item] = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


@dataclass(slots=True, unsafe_hash=True)
class Section:
    """A top-level block: a Readwise header with its highlights, or another top-level block
    (``header`` is then None and the block itself is the only item)."""

    header: Block | None
    items: tuple[Item, ...]


@dataclass(slots=True, unsafe_hash=True)
class Document:
    id: DocumentId
    page_name: str  # the Logseq page name (title:: or the decoded file name)
    title: str  # page name without " (highlights)"
    category: str  # books, articles, … (lower case), another name as written, "" when absent
    author: str  # without [[ ]] ("" when empty)
    full_title: str
    page: Page
    sections: tuple[Section, ...]
    # the names the category value holds besides the category (``#tweets. [[Gardening]]``:
    # Gardening), for the note's tags
    category_tags: tuple[str, ...] = ()
    # a highlight's ``id::`` (lower-cased) -> its anchor: a ((ref)) to it on the page
    # becomes a link to that anchor
    anchors: Mapping[str, str] = field(default_factory=dict)

    def items(self) -> list[Item]:
        out: list[Item] = []
        for section in self.sections:
            for item in section.items:
                out.extend(item.walk())
        return out


def highlight_ids(
    url: str | None, label: str | None, text: str, repeated: Container[str]
) -> tuple[HighlightId, HighlightId | None]:
    """(id, alternate id) of a highlight that is not a heading (design.md): its location
    URL; where that URL repeats on the page with other text, the URL and its text, the URL
    alone being the alternate (how it was known before the repeat); without a URL, its
    text and location label."""
    if url is None:
        return HighlightId(f"text:{text}|{label}" if label else f"text:{text}"), None
    if url in repeated:
        return HighlightId(f"url:{url}|{text}"), HighlightId(f"url:{url}")
    return HighlightId(f"url:{url}"), None


def anchor_for(highlight_id: str) -> str:
    digest = hashlib.sha1(highlight_id.encode("utf-8")).hexdigest()[:12]
    return ANCHOR_PREFIX + digest


_LINK_VALUE_RE = re.compile(r"\[\[(.*)\]\]")
_TAG_VALUE_RE = re.compile(r"#\[\[(.*)\]\]|#(\S+)")
HIGHLIGHTS_SUFFIX_RE = re.compile(r"\s*\(highlights\)\s*$", re.IGNORECASE)


def unquote_value(value: str) -> str:
    """``"Sessions \\#79"`` -> ``Sessions #79``; ``[[X]]`` -> ``X``; ``#tweets`` -> ``tweets``."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace("\\#", "#")  # quoted: text, not a link or a tag
    if "\\#" in value:
        return value.replace("\\#", "#")  # an escaped # is no tag: "\\#hashtag"
    link = _LINK_VALUE_RE.fullmatch(value)
    if link is not None:
        return link.group(1).strip()
    tag = _TAG_VALUE_RE.fullmatch(value)
    if tag is not None:
        return (tag.group(1) or tag.group(2) or "").strip()
    return value


_ESCAPED_DASH_RE = re.compile(r"(^|\s)\\-")


# ASCII whitespace but " " (what str.split() splits at besides the space)
_ASCII_OTHER_SPACE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"


def normalize_text(text: str) -> str:
    """Identity form of highlight text: NFC, ``\\-`` as ``-``, whitespace collapsed."""
    if not text.isascii():  # ASCII text is NFC already
        text = unicodedata.normalize("NFC", text)
    if "\\" in text and "\\-" in text:  # the one-character test is a memchr: fast
        text = _ESCAPED_DASH_RE.sub(r"\1-", text)
    if text[:1] == " " or text[-1:] == " " or "  " in text:
        return " ".join(text.split())
    # no other whitespace either: already collapsed. Printable text holds no whitespace but
    # " " (the others are control characters or separators); for ASCII text the check is
    # that deleting the other ASCII whitespace deletes nothing (faster than isprintable)
    if text.isascii():
        raw = text.encode("ascii")
        if len(raw.translate(None, _ASCII_OTHER_SPACE)) == len(raw):
            return text
    elif text.isprintable():
        return text
    return " ".join(text.split())


def is_header(block: Block) -> bool:
    return block.depth == 0 and bool(HEADER_RE.match(block.first_line))


# what every HEADER_RE match contains (same alternatives, same IGNORECASE): a page without
# it has no header block
_HEADER_PHRASE_RE = re.compile("|".join(map(re.escape, HEADER_PHRASES)), re.IGNORECASE)
# what each HEADER_PHRASES holds lower-cased, for ASCII text ("synced by" is in two; a test
# checks every phrase holds one)
_LOWER_HEADER_PHRASES = ("synced by", "new highlights added")


def could_be_readwise_page(text: str) -> bool:
    """False when the page ``text`` cannot be a Readwise page (a necessary condition of
    ``is_readwise_page(parse_page(text))`` at a tenth of the parse's cost): it has no
    ``category::`` property, no Readwise property with a location link, and no header phrase
    (under IGNORECASE: plain lower-casing is enough for ASCII text only, as other text may
    pair "ı" with "i" or "ſ" with "s")."""
    low = text.lower()
    if "category" in low:
        return True
    if "([" in text and ("author::" in low or "url::" in low or "media::" in low):
        return True  # Readwise properties and maybe a location link
    if text.isascii():  # then IGNORECASE pairs only ASCII letters: the lower-cased phrases
        return any(phrase in low for phrase in _LOWER_HEADER_PHRASES)
    return _HEADER_PHRASE_RE.search(text) is not None


# a Readwise location link: its label (View Highlight, View Tweet), or its URL's host (Kindle
# Location/Page links go through readwise.io/to_kindle; Snipd)
_READWISE_LABEL_RE = re.compile(r"^View (?:Highlight|Tweet)\b", re.IGNORECASE)
_READWISE_URL_RE = re.compile(r"readwise\.io/|snipd\.com/", re.IGNORECASE)
# page properties Readwise writes for a document
DOCUMENT_PROPERTIES = ("author", "url", "category", "media")
SYNCD_ID_KEY = "syncd-id"  # the key of a note syncd wrote (note.ID_KEY)


def has_readwise_links(page: Page) -> bool:
    """Whether a block of ``page`` ends with a Readwise location link."""
    for block in page.walk():
        url, label, _rest = _split_block(block)
        if url is not None and (
            (label is not None and _READWISE_LABEL_RE.match(label)) or _READWISE_URL_RE.search(url)
        ):
            return True
    return False


def is_syncd_note(page: Page) -> bool:
    """A note syncd wrote: ``syncd-id`` in its YAML front matter (a ``syncd-id::`` page
    property is a Logseq page's text, which never names the note: tests/
    test_reliability_hostile.py)."""
    head = page.preamble
    if not head or head[0].strip() != "---":
        return False
    for line in head[1:]:
        if line.strip() == "---":
            return False
        if line.startswith(SYNCD_ID_KEY + ":"):
            return True
    return False


def _preamble_header(page: Page) -> bool:
    """A Readwise header written as a line before the first bullet (the older
    ``## Highlights first synced by #Readwise`` form, a page the plugin reset)."""
    return any(HEADER_RE.match(line.strip()) for line in page.preamble)


def is_readwise_page(page: Page, name: str = "") -> bool:
    """True for a Readwise document page (design.md "Readwise documents"): a header block
    (or header line before the first bullet), or Readwise's page properties with its
    location links; never ``Readwise.md`` (``name`` "Readwise") nor a note syncd wrote."""
    if is_syncd_note(page) or name.casefold() == "readwise":
        return False
    if any(is_header(block) for block in page.blocks) or _preamble_header(page):
        return True
    category = document_category(page)[0]  # the one reading of category::/media::
    has_meta = page.property_value("full-title") is not None or page.property_value("author")
    if category in KNOWN_CATEGORIES and has_meta:
        return True
    if any(page.property_value(key) for key in DOCUMENT_PROPERTIES):
        return has_readwise_links(page)
    return False


def may_look_like_readwise(text: str) -> bool:
    """False when ``not_taken_reason`` has nothing to say of page ``text`` (decided without
    parsing it): ``could_be_readwise_page``, or a Readwise location link's URL or label."""
    if could_be_readwise_page(text):
        return True
    if "([" not in text:
        return False
    low = text.lower()
    return any(hint in low for hint in ("readwise.io/", "snipd.com/", "([view ", "([location "))


def not_taken_reason(page: Page, name: str) -> str | None:
    """Why a page that looks like a Readwise page is not taken as one (None: it does not look
    like one); asked of a page ``is_readwise_page`` refused, counted in the run's report."""
    if is_syncd_note(page):
        return "a note syncd wrote (syncd-id), never a source page"
    if name.casefold() == "readwise":
        return "Readwise's sync notifications page, not a document"
    category = document_category(page)[0]
    if category in KNOWN_CATEGORIES:
        return f"category:: {category} without author::, full-title:: or a Readwise header"
    if has_readwise_links(page):
        return "Readwise location links without a Readwise header or author::/url::"
    return None


# Block properties Logseq itself adds to a highlight (a user referencing or folding it); any
# other ``key:: value`` line in a highlight is Readwise text (a highlight may well start with
# "Note:: …") and must never be dropped.
INTERNAL_BLOCK_PROPERTIES = frozenset(
    {"id", "collapsed", "heading", "background-color", "ls-type", "hl-type", "hl-page", "hl-color"}
)


def highlight_lines(block: Block) -> tuple[str, ...]:
    """The block's lines as Readwise wrote them: only Logseq's internal properties removed."""
    dropped = {p.index for p in block.properties if p.key.lower() in INTERNAL_BLOCK_PROPERTIES}
    if not dropped:
        return block.lines
    return tuple(line for i, line in enumerate(block.lines) if i not in dropped)


def _split_location(last: str) -> tuple[str | None, str | None, str]:
    """(location URL, location label, the line without its location suffix) of a block's
    last line: what ``LOCATION_LINK_RE`` / ``LOCATION_LABEL_RE`` find and remove."""
    if not last.rstrip().endswith(")"):
        return None, None, last  # both patterns end in ")" and optional whitespace
    match = _LOCATION_LINK_CORE_RE.search(last)
    if match is not None:
        # LOCATION_LINK_RE's match starts where the whitespace before this one starts
        # (rstrip() strips what isspace() calls whitespace, as that pattern's \s does)
        url = match.group(2)
        if "\\" in url:
            url = url.replace("\\-", "-")
        return url, match.group(1), last[: match.start()].rstrip()
    label = LOCATION_LABEL_RE.search(last)
    if label is not None:
        return None, label.group(1), last[: label.start()]
    return None, None, last


def _locate(block: Block) -> tuple[str | None, str | None, str]:
    """(location URL, location label, the highlight text without its location suffix,
    normalized)."""
    url, label, rest = _split_block(block)
    return url, label, normalize_text(rest)


def _split_block(block: Block) -> tuple[str | None, str | None, str]:
    """(location URL, location label, the highlight's text without its location suffix,
    not normalized yet)."""
    lines = highlight_lines(block) if block.properties else block.lines
    if len(lines) == 1:  # most highlights: one line, nothing to join
        return _split_location(lines[0])
    if not lines:
        return None, None, ""
    parts = list(lines)
    url, label, parts[-1] = _split_location(parts[-1])
    return url, label, "\n".join(parts)


def is_attribute(block: Block) -> bool:
    return not block.children and attribute_line(block.first_line)


def attribute_line(text: str) -> bool:
    """A ``**Note**:``/``**Tags**:`` line (``ATTRIBUTE_RE``, which only a first *, _, N or T
    can start: a faster first test)."""
    return text[:1] in "*_NnTt" and ATTRIBUTE_RE.match(text) is not None


def document_names(page: Page, page_name: str) -> tuple[str, str, str, str]:
    """(page name, title, author, full title) of a Readwise page: what its page properties
    say, ``page_name`` (from the file name) when it has no ``title::``."""
    name = unquote_value(page.property_value("title") or "") or page_name
    title = HIGHLIGHTS_SUFFIX_RE.sub("", name).strip() or name
    author = unquote_value(page.property_value("author") or "")
    full_title = unquote_value(page.property_value("full-title") or "") or title
    return name, title, author, full_title


# a name in a category value: #[[multi word]] or [[link]], #tag, or plain text up to a comma
_CATEGORY_NAME_RE = re.compile(r"#?\[\[([^\[\]\n]+)\]\]|#([^\s,#\[\]]+)|([^,#\[\]]+)")
# what ends a sentence, not a tag (``#tweets.``) or a plain name (``books;``)
_NAME_PUNCTUATION = ".,;:!?)}'\"" + "\u3002\uff0c"


def category_property(page: Page) -> tuple[str, str] | None:
    """(key, value) of the page property that names a Readwise page's category:
    ``category::``, else ``media::`` (older exports); None when neither has a value."""
    for key in ("category", "media"):
        value = (page.property_value(key) or "").strip()
        if value:
            return key, value
    return None


def document_category(page: Page) -> tuple[str, tuple[str, ...]]:
    """(category, the other names) of a Readwise page (design.md "Note path"): the first
    Readwise category (books, articles, tweets, podcasts, supplementals) among the names the
    ``category::`` (else ``media::``) value holds, else its first name as written; every
    other name of the value goes to the note's tags. ``#tweets. [[Gardening]]`` gives
    ``("tweets", ("Gardening",))``; ``[[Books: Fiction]]`` gives ``("Books: Fiction", ())``."""
    found = category_property(page)
    if found is None:
        return "", ()
    names = category_names(found[1])
    if not names:
        return "", ()
    first = next((n for n in names if n.lower() in KNOWN_CATEGORIES), names[0])
    category = first.lower() if first.lower() in KNOWN_CATEGORIES else first
    rest: list[str] = []
    for name in names:
        if name is not first and name.lower() != category.lower() and name not in rest:
            rest.append(name)
    return category, tuple(rest)


def category_names(value: str) -> list[str]:
    """The names a category value holds, in order: ``#tag``, ``#[[multi word]]``,
    ``[[link]]`` and plain text between commas, without the punctuation that ends a
    sentence (``#tweets.``); a name of punctuation only is no name. A quoted value is one
    name (``"Books: Fiction"``)."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1].replace("\\#", "#").strip().rstrip(_NAME_PUNCTUATION).strip()
        return [inner] if inner else []
    names: list[str] = []
    for match in _CATEGORY_NAME_RE.finditer(value.replace("\\#", "#")):
        text = match.group(1) or match.group(2) or match.group(3) or ""
        name = text.strip().rstrip(_NAME_PUNCTUATION).strip()
        if any(ch.isalnum() for ch in name):
            names.append(name)
    return names


def category_folder(category: str) -> str:
    """The folder a document of ``category`` goes into (``Document.category``, or a
    category value as ``document_category`` reads it): Books, Articles, Tweets, Podcasts,
    Supplementals, else Other. Never a name a user wrote: no ``:``, ``#``, ``[``, a reserved
    or a hidden folder comes from a category."""
    return CATEGORY_FOLDERS.get(category.strip().lower(), OTHER_FOLDER)


def document_url(page: Page) -> str:
    """The ``url::`` of a Readwise page as the document's address: Readwise's
    ``\\-`` escaping removed (readwise-format.md §a.4); "" when it has none."""
    return unescape_markdown((page.property_value("url") or "").strip())


def canonical_document_id(doc_id: str) -> str:
    """A document id as ``document_identity`` makes it now: an id stored by an earlier
    syncd from an escaped ``url::`` (``url:https://green\\-thumb…``) finds its document
    (state and note frontmatter written before the escaping was removed)."""
    if doc_id.startswith("url:") and "\\" in doc_id:
        return "url:" + unescape_markdown(doc_id[4:])
    return doc_id


# a block of nothing but block refs and block embeds: the user's own, never a highlight
_REFS_ONLY_RE = re.compile(
    r"(?:\s*(?:\(\([0-9a-fA-F-]{36}\)\)|\{\{embed\s+\(\([0-9a-fA-F-]{36}\)\)\s*\}\}))+\s*"
)
_WORD_RE = re.compile(r"[^\W_]")  # a letter or a digit


def is_separator(text: str) -> bool:
    """``-``, ``---``, ``*``, an empty bullet: no letter or digit, a group and not a highlight."""
    return not text[:1].isalnum() and _WORD_RE.search(text) is None  # (isalnum: [^\W_])


def _is_property_block(block: Block) -> bool:
    """A block of ``key:: value`` lines only (``tags:: [[x]]`` as a block of its own)."""
    return bool(block.properties) and len(block.properties) == len(block.lines)


def _goes_with_highlight(block: Block) -> bool:
    """A leaf that belongs to the highlight before it among its siblings when it follows one:
    a ``**Tags**:``/``**Note**:`` line or a ``tags::`` block (design.md "Highlight identity")."""
    return not block.children and (is_attribute(block) or _is_property_block(block))


def document_from_page(page: Page, page_name: str) -> Document:
    """Read a Readwise page as a document: every block of the page (design.md
    "Losslessness"); ``page_name`` (from the file name) when it has no ``title::``.
    Highlights get identities (``highlight_ids``); a block holding only a location link is
    the location of the highlight before it (previous sibling, else parent) and is written
    with it. Other blocks stay as they are, at their depth (``Item.is_block``): ``- -``
    groups, blocks of refs, and every block without a location outside a header's section."""
    # (url, label, normalized text) of every block with a location, computed once (keyed by
    # identity: blocks are values); make_item locates the others
    located: dict[int, tuple[str | None, str | None, str]] = {}
    owners: dict[int, Block] = {}  # id(location-only block) -> the block it belongs to
    lent: dict[int, tuple[Block, str | None, str | None]] = {}  # owner's first owned location

    def scan(blocks: tuple[Block, ...], parent: Block | None) -> None:
        before: Block | None = None  # the text block before, among these siblings
        for block in blocks:
            if len(block.lines) == 1 and not block.properties:  # _split_block, most blocks
                url, label, rest = _split_location(block.lines[0])
            else:
                url, label, rest = _split_block(block)
            if url is not None or label is not None:
                text = normalize_text(rest)
                located[id(block)] = (url, label, text)
                if not text and not block.children:  # a location link alone
                    owner = before if before is not None else parent
                    if owner is not None:
                        owners[id(block)] = owner
                        if id(owner) not in located and id(owner) not in lent:
                            lent[id(owner)] = (owner, url, label)
                    continue
            elif before is not None and _goes_with_highlight(block):
                continue  # between a highlight and its location link
            if block.depth == 0 and is_header(block):
                before = None
            else:
                before = block if _WORD_RE.search(block.first_line) else None
            if block.children:
                scan(block.children, before)

    scan(page.blocks, None)

    # URL -> its first text, and the URLs found with another text too: a re-synced
    # duplicate repeats URL and text, two highlights sharing a location repeat the URL only
    first_text: dict[str, str] = {}
    repeated: set[str] = set()
    urls: list[str] = []  # every location URL, in page order (for the document identity)
    for key, (url, _label, text) in located.items():
        if url is None:
            continue
        urls.append(url)
        if key not in owners and first_text.setdefault(url, text) != text:
            repeated.add(url)
    # the text id a highlight with its location in a block of its own was known by before
    previously: dict[int, HighlightId] = {}
    for key, (owner, url, label) in lent.items():
        text = _locate(owner)[2]
        located[key] = (url, label, text)
        kids = any(not is_attribute(c) for c in owner.children)  # its link block was one
        previously[key] = HighlightId(f"heading:{text}" if kids else f"text:{text}")
        if url is not None and first_text.setdefault(url, text) != text:
            repeated.add(url)

    seen: set[str] = set()

    def make_item(block: Block, outside: bool) -> Item | None:
        key = id(block)
        url, label, text = located.get(key) or _locate(block)
        kids: list[Block] = []
        attributes: tuple[Block, ...] = ()
        if block.children:  # most highlights have none, or one **Tags**: attribute
            found: list[Block] = []
            for child in block.children:
                mine = owners.get(id(child)) is block or is_attribute(child)
                (found if mine else kids).append(child)
            attributes = tuple(found)
        unlocated = url is None and label is None
        is_heading = unlocated and bool(kids)
        if is_heading:
            hid, alternate = HighlightId(f"heading:{text}"), None
        else:
            hid, alternate = highlight_ids(url, label, text, repeated)
        if alternate is None:
            alternate = previously.get(key)
        children = make_items(tuple(kids), outside) if kids else ()
        if (unlocated and (outside or is_separator(text))) or _REFS_ONLY_RE.fullmatch(text):
            # ids of their own (a highlight with the same text is another thing); the id
            # it had as a highlight before is its alternate (a note written before has it)
            bid = HighlightId(BLOCK_PREFIX + hid)
            return Item(bid, block, attributes, children, url, text, is_heading, hid, True)
        if hid in seen:
            # a re-synced duplicate: keep the first occurrence only, but new highlights
            # nested under a repeated heading still count
            if children and is_heading:
                return Item(hid, block, attributes, children, url, text, True, alternate)
            return None
        seen.add(hid)
        return Item(hid, block, attributes, children, url, text, is_heading, alternate)

    def make_items(blocks: tuple[Block, ...], outside: bool) -> tuple[Item, ...]:
        out: list[Item] = []
        dropped = False  # the block before was a duplicate: what belongs to it goes too
        for block in blocks:
            last = out[-1] if out and not dropped else None
            owner = owners.get(id(block))
            if owner is not None or (
                (dropped or (last is not None and not last.is_block and not last.is_heading))
                and _goes_with_highlight(block)
            ):
                if last is not None and (owner is None or last.block is owner):
                    out[-1] = replace(last, trailing=(*last.trailing, block))
                    continue
                if dropped:
                    continue
            item = make_item(block, outside)
            dropped = item is None
            if item is not None:
                out.append(item)
        return tuple(out)

    sections: list[Section] = []
    loose: list[Block] = []  # top-level blocks between headers
    for block in (*page.blocks, None):
        if block is not None and not is_header(block):
            loose.append(block)
            continue
        if loose:
            sections.extend(
                Section(header=None, items=(i,)) for i in make_items(tuple(loose), True)
            )
            loose = []
        if block is not None:
            sections.append(Section(header=block, items=make_items(block.children, False)))

    doc = named_document(page, page_name, urls, tuple(sections))
    anchors = {
        uuid.strip().lower(): item.anchor
        for item in doc.items()
        if not item.is_block and (uuid := item.block.property_value("id"))
    }
    return replace(doc, anchors=anchors) if anchors else doc


def named_document(
    page: Page, page_name: str, urls: Iterable[str], sections: tuple[Section, ...]
) -> Document:
    """The document of a Readwise page with ``sections``: its names (``document_names``) and
    its identity (``document_identity``, from ``urls``: the page's location URLs in page
    order)."""
    name, title, author, full_title = document_names(page, page_name)
    category, category_tags = document_category(page)
    return Document(
        id=document_identity(page, full_title, author, urls),
        page_name=name,
        title=title,
        category=category,
        author=author,
        full_title=full_title,
        page=page,
        sections=sections,
        category_tags=category_tags,
    )


def document_identity(page: Page, full_title: str, author: str, urls: Iterable[str]) -> DocumentId:
    """url, else Kindle ASIN from location links, else full title + author (design.md).
    ``urls``: the page's location URLs in page order."""
    url = document_url(page)
    if url:
        return DocumentId(f"url:{url}")
    for found in urls:
        asin = ASIN_RE.search(found)
        if asin is not None:
            return DocumentId(f"asin:{asin.group(1).upper()}")
    return DocumentId(f"title+author:{full_title}|{author}")
