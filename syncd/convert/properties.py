"""Page properties -> YAML frontmatter items (rows P1–P13).

Values follow Logseq's own reading (graph-parser ``text/parse-property``, 0.10.x):

1. keys in ``:ignored-page-references-keywords`` and values wrapped in ``"…"`` are literal
   text (P2c; the outer quotes go);
2. otherwise the references in the value count: ``[[x]]``, ``#x``, ``#[[x y]]``; for ``alias``,
   ``aliases``, ``tags`` and the keys of ``:property/separated-by-commas`` the plain text
   between them is also split at commas (P2b, P3, P4) — URLs, code and links never are (P2e);
3. a value with no reference is ``true``/``false`` (a YAML boolean) or digits (a number, P2d),
   else the text.

A value made only of references becomes a quoted link (one) or a list of links (several, P2);
a value with other text keeps the whole text, its links rewritten (P2a). Journal references
point at the daily note (P2f). ``tags`` become a list of Obsidian tags (P3), ``alias`` an
``aliases`` list (P4); the internal keys are dropped (P6–P12). YAML quoting is left to
``yamlout``, which quotes whatever a YAML reader could misread (P13's ``category: #tweets``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from syncd.convert.context import ConvertContext
from syncd.convert.inline import (
    InlineEnv,
    _split_tag,
    multiword_tag,
    obsidian_tag_name,
    referenced_block,
    tokens,
)
from syncd.convert.links import journal_day, page_target, property_link, wikilink
from syncd.convert.report import dropped_key, name_key
from syncd.logseq.graph_config import GraphConfig
from syncd.logseq.model import Page, Property
from syncd.yamlout import Value

# P6–P12: keys Logseq uses for its own features (graph-parser property.cljs: the hidden and
# the editable built-ins), dropped from the frontmatter and from block properties
INTERNAL_KEYS = frozenset(
    {
        "id",
        "custom-id",
        "custom_id",
        "collapsed",
        "filters",
        "icon",
        "public",
        "title",
        "heading",
        "background-color",
        "background_color",
        "created-at",
        "updated-at",
        "last-modified-at",
        "created_at",
        "last_modified_at",
        "query-table",
        "query-properties",
        "query-sort-by",
        "query-sort-desc",
        "ls-type",
        "hl-type",
        "hl-page",
        "hl-stamp",
        "hl-color",
        "hl-value",
        "template",
        "template-including-parent",
        "exclude-from-graph-view",
        "macro",
        "filetags",
        "todo",
        "doing",
        "now",
        "later",
        "done",
    }
)
INTERNAL_PREFIXES = ("logseq.", "card-")
# values Logseq keeps as written (no references): the unparsed built-ins
RAW_KEYS = frozenset({"title", "icon", "template", "filters", "id", "custom-id", "macro"})
COMMA_KEYS = frozenset({"alias", "aliases", "tags"})
DATE_KEYS = frozenset({"created", "date", "published", "updated", "modified"})
MAX_SAFE_INT = 2**53 - 1  # js-yaml (Obsidian) reads bigger numbers inexactly
_COMMAS = re.compile(r"[,，]")


def is_internal(key: str, graph: GraphConfig | None = None) -> bool:
    key = key.lower()
    if key in INTERNAL_KEYS or key.startswith(INTERNAL_PREFIXES):
        return True
    return graph is not None and key in graph.block_hidden_properties


def wrapped_in_quotes(value: str) -> bool:
    return len(value) >= 2 and value.startswith('"') and value.endswith('"')


def value_refs(value: str, comma: bool) -> tuple[list[str], bool]:
    """The page names a value refers to, in order, and whether the value is made of nothing
    else (apart from spaces and commas). With ``comma``, plain text between the references is
    split at commas into names too (Logseq's ``extract-refs-by-commas``)."""
    names: list[str] = []
    only_refs = True
    pos = 0

    def plain(text: str) -> None:
        nonlocal only_refs
        if comma:
            names.extend(part.strip() for part in _COMMAS.split(text) if part.strip())
        elif _COMMAS.sub("", text).strip():
            only_refs = False

    for match in tokens(value):
        plain(value[pos : match.start()])
        pos = match.end()
        kind = match.lastgroup
        if kind == "ref" and "|" not in match.group("refname"):
            names.append(match.group("refname").strip())
        elif kind == "tagref":
            names.append(match.group("tagname").strip())
        elif kind == "hashtag":
            name, rest = _split_tag(match.group("hashname"))
            names.append(name)
            plain(rest)
        else:
            only_refs = False
    plain(value[pos:])
    return [n for n in names if n], only_refs and bool(names)


def _text_links(value: str, env: InlineEnv) -> str:
    """P2a: the text as written, only its ``[[links]]`` and ``((refs))`` pointed at notes."""
    out: list[str] = []
    pos = 0
    for match in tokens(value):
        out.append(value[pos : match.start()])
        pos = match.end()
        kind = match.lastgroup
        if kind == "ref" and "|" not in match.group("refname"):
            env.findings.reference(match.group("refname"))
            out.append(wikilink(match.group("refname"), env.ctx))
        elif kind == "bref":
            target = referenced_block(match.group("uuid"), env)
            out.append(f"[[{target}]]" if target else match.group(0))
        else:
            if kind == "tagref":
                env.findings.reference(match.group("tagname"))
            out.append(match.group(0))
    out.append(value[pos:])
    return "".join(out)


def _number_or_bool(value: str) -> Value | None:
    if value in ("true", "false"):
        return value == "true"
    if re.fullmatch(r"\d+", value) and (value == "0" or not value.startswith("0")):
        number = int(value)
        return number if number <= MAX_SAFE_INT else None
    return None


def property_value(key: str, raw: str, env: InlineEnv) -> Value:
    """The frontmatter value of an ordinary page property (P2–P2f, P13)."""
    ctx = env.ctx
    value = raw.strip()
    lower = key.lower()
    if wrapped_in_quotes(value):
        return value[1:-1]  # P2c
    if lower in ctx.graph.ignored_page_reference_keywords or lower in RAW_KEYS:
        return value
    comma = lower in COMMA_KEYS or lower in ctx.graph.separated_by_commas
    names, only_refs = value_refs(value, comma)
    for name in names:
        env.findings.reference(name)
    if names and comma:  # P2b
        if ctx.options.comma_values_as_links:
            return [property_link(name, ctx) for name in names]
        return [_plain_name(name, ctx) for name in names]
    if names and only_refs:  # P2, P2f, P13
        if len(names) == 1:
            day = journal_day(names[0], ctx)
            if day is not None and ctx.options.date_properties_as_dates and lower in DATE_KEYS:
                return day
            return property_link(names[0], ctx)
        return [property_link(name, ctx) for name in names]
    typed = None if names else _number_or_bool(value)  # P2d
    # P2a: the text with its links; P2e: URLs and plain text as written
    return typed if typed is not None else _text_links(value, env)


def _plain_name(name: str, ctx: ConvertContext) -> str:
    target, journal = page_target(name, ctx)
    return target if journal else name


def sanitize_tag(name: str) -> str | None:
    """P3: ``b c`` -> ``b-c``, ``v1.2`` -> ``v1-2``; None when nothing valid is left."""
    candidate = re.sub(r"[^\w/]+", "-", name.strip())
    candidate = re.sub(r"-{2,}", "-", candidate).strip("-/")
    candidate = re.sub(r"/{2,}", "/", candidate)
    return obsidian_tag_name(candidate)


def property_names(prop_value: str, graph: GraphConfig) -> list[str]:
    """The names listed by an ``alias``/``tags`` value (comma semantics, references and text)."""
    value = prop_value.strip()
    if not value:
        return []  # (most pages: no tags::, no alias::)
    if wrapped_in_quotes(value):
        value = value[1:-1]
        return [value.strip()] if value.strip() else []
    names, _ = value_refs(value, comma=True)
    return names


def _dedupe(names: Iterable[str]) -> list[str]:
    first: dict[str, str] = {}
    for name in names:
        first.setdefault(name_key(name), name)
    return list(first.values())


def page_aliases(page: Page, graph: GraphConfig) -> tuple[str, ...]:
    """The ``alias::``/``aliases::`` names of a page, as written, in order (for the index)."""
    names: list[str] = []
    for prop in page.properties:
        if prop.key.lower() in ("alias", "aliases"):
            names.extend(property_names(prop.value, graph))
    return tuple(_dedupe(names))


def _epoch_date(value: str) -> date | None:
    """P11 ALT: ``created-at:: 1693400000000`` (epoch milliseconds) -> its UTC date."""
    if not re.fullmatch(r"\d{9,16}", value.strip()):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def page_frontmatter(page: Page, env: InlineEnv) -> list[tuple[str, Value]]:
    """The frontmatter items of a page, in the order its properties are written."""
    ctx = env.ctx
    props = _merged(page.properties)
    spellings: dict[str, set[str]] = {}
    for prop in page.properties:
        spellings.setdefault(prop.key.lower(), set()).add(prop.key)
    items: dict[str, Value] = {}
    tags: list[str] = []
    tag_links: list[str] = []
    aliases: list[str] = []
    for prop in props:
        lower = prop.key.lower()
        key = prop.key if len(spellings[lower]) == 1 else lower
        value = prop.value.strip()
        if not value:  # P12
            continue
        if lower in ("alias", "aliases"):
            items.setdefault("aliases", [])
            aliases.extend(property_names(value, ctx.graph))
        elif lower == "tags":
            items.setdefault("tags", [])
            items.setdefault(TAG_LINKS_KEY, [])
            found, links = name_tags(property_names(value, ctx.graph), env)
            tags.extend(found)
            tag_links.extend(links)
        elif lower == "title":
            if ctx.options.keep_title:
                items[key] = value
            items.setdefault("aliases", [])
        elif lower == "public":
            if ctx.options.publish_property:
                items["publish"] = value == "true"
            else:
                env.findings.drop("public::")
        elif lower == "icon":
            if ctx.options.keep_icon:
                items[key] = value
            else:
                env.findings.drop("icon::")
        elif lower in ("created-at", "updated-at"):
            day = _epoch_date(value) if ctx.options.timestamps_as_dates else None
            if day is not None:
                items["created" if lower == "created-at" else "updated"] = day
            else:
                env.findings.drop(f"{lower}::")
        elif is_internal(lower):
            what = dropped_key(lower)
            if what is not None:
                env.findings.drop(what)
        else:
            items[key] = property_value(key, value, env)
    name = ctx.page_name.strip()
    if name and name_key(name) in ctx.index.names and journal_day(name, ctx) is None:
        aliases.append(name)  # P5/N2/N4: kept by _own_aliases when the note's name differs
    lists: dict[str, Value] = {
        "aliases": _own_aliases(aliases, ctx),
        "tags": _dedupe(tags),
        TAG_LINKS_KEY: _dedupe(tag_links),
    }
    if lists["aliases"]:
        items.setdefault("aliases", [])
    # the list keys where they were first written, and only when not empty
    return [(key, lists.get(key, item)) for key, item in items.items() if lists.get(key, True)]


def _merged(props: Iterable[Property]) -> list[Property]:
    """One property per key (case-insensitive); a later value wins, the first place stays."""
    order: dict[str, Property] = {}
    for prop in props:
        lower = prop.key.lower()
        if lower in ("alias", "aliases", "tags"):
            order[f"{lower}\0{prop.index}"] = prop  # list keys accumulate
        elif lower in order:
            order[lower] = Property(order[lower].key, prop.value, order[lower].index)
        else:
            order[lower] = prop
    return list(order.values())


TAG_LINKS_KEY = "tag-links"


def name_tags(names: Iterable[str], env: InlineEnv) -> tuple[list[str], list[str]]:
    """P3: (tags, tag links) of the names of a ``tags::`` value. A name that is a tag once its
    spaces are dashes is one (as L3); any other (``C++ tips``) would lose characters: its
    sanitized tag (``C-tips``) and a link to it under ``tag-links``."""
    tags: list[str] = []
    links: list[str] = []
    for name in names:
        env.findings.reference(name)
        tag = multiword_tag(name)
        if tag is None:
            tag = sanitize_tag(name)
            links.append(property_link(name, env.ctx))
        if tag is not None:
            tags.append(tag)
    return _dedupe(tags), _dedupe(links)


def _own_aliases(aliases: list[str], ctx: ConvertContext) -> list[str]:
    """P4: drop aliases the index gives to another note (claimed by two pages) and the
    page's own name."""
    own_name = name_key(ctx.page_name)
    own_target = ctx.index.names.get(own_name)
    out: list[str] = []
    for alias in _dedupe(aliases):
        key = name_key(alias)
        if key == own_name:  # useful only when the file name had to differ (P5)
            stem = own_target.rsplit("/", 1)[-1] if own_target else alias
            if name_key(stem) != name_key(alias.rsplit("/", 1)[-1]):
                out.append(alias)
            continue
        if own_target is not None and ctx.index.names.get(key) != own_target:
            continue
        out.append(alias)
    return out
