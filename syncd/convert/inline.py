"""Inline Logseq syntax in one line of text -> Obsidian (pure; rows L1–L6, R1, E1/E2, J2/J3,
Q1, M1–M3, H2, A1–A3, C2/C3: docs/logseq-rows.md).

One scanner (``TOKEN_RE``) cuts the line into tokens, left to right, the way mldoc reads them.
Code, math, HTML, URLs and the label and target of a Markdown link are copied byte for byte
(rows C2, C3); only the reference tokens are rewritten. Every rewrite produces Obsidian syntax
that the scanner copies unchanged when it meets it again (``[[Target|text]]``, ``![[x]]``,
inline code, ``==x==``, valid ``#tags``), so converting the output again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from syncd.convert.context import BlockRefStyle, ConvertContext, TagStyle
from syncd.convert.links import block_target, embed_target, journal_day, wikilink
from syncd.convert.report import Findings, name_key

UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_LABEL = r"(?:[^\[\]\n\\]|\\.|\[\[[^\[\]\n]*\]\]|\[[^\[\]\n]*\])*"
_URL = r"<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*"
_TITLE = r'(?:[ \t]+"[^"\n]*")?'
_TAG_END = "\\s,!?'\":#"

TOKEN_RE = re.compile(
    r"(?P<escape>\\[!-/:-@\[-`{-~])"
    r"|(?P<code>(?<!`)(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`))"
    r"|(?P<dmath>\$\$.+?\$\$)"
    r"|(?P<math>\$(?=[^\s$])[^$\n]*?(?<=[^\s$\\])\$)"
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<html><(?P<htag>[A-Za-z][A-Za-z0-9-]*)\b[^<>\n]*>.*?</(?P=htag)\s*>"
    r"|</?[A-Za-z][A-Za-z0-9-]*\b[^<>\n]*>)"
    r"|(?P<autolink><(?:https?|ftp|file|mailto):[^<>\s]*>)"
    r"|(?P<macro>\{\{(?P<mbody>.*?)\}\})"
    r"|(?P<image>!\[(?P<ialt>" + _LABEL + r")\]\((?P<iurl>" + _URL + r")" + _TITLE + r"\)"
    r"(?P<imeta>\{[^{}\n]*\})?)"
    r"|(?P<link>\[(?P<label>" + _LABEL + r")\]\((?P<url>\[\[[^\[\]\n]+\]\]|\(\(" + UUID + r"\)\)"
    r"|" + _URL + r")" + _TITLE + r"\))"
    r"|(?P<wembed>!\[\[[^\[\]\n]+\]\])"
    r"|(?P<tagref>(?<!\S)#\[\[(?P<tagname>[^\[\]\n]+?)\]\])"
    r"|(?P<ref>\[\[(?P<refname>[^\[\]\n]+?)\]\])"
    r"|(?P<bref>\(\((?P<uuid>" + UUID + r")\)\))"
    r"|(?P<bare>(?:https?|ftp|file)://[^\s<>\[\]()]*(?:\([^\s<>()]*\)[^\s<>\[\]()]*)*)"
    r"|(?P<hashtag>(?<!\S)#(?P<hashname>[^" + _TAG_END + r"\[+](?:(?!\[\[)[^" + _TAG_END + r"])*))"
    r"|(?P<hl>\^\^)"
)
VERBATIM = ("escape", "code", "dmath", "math", "comment", "html", "autolink", "wembed", "bare")

# Where a token of ``TOKEN_RE`` can begin (the first character every alternative consumes; a
# bare URL's whole scheme): all literals, so the regex engine skips other positions in C.
# ``tokens`` tries ``TOKEN_RE`` only there: trying every alternative at every position was
# most of a plain page's conversion.
TOKEN_START_RE = re.compile(r"\\|`|\$|<|\{|!|\[|#|\(|\^|http://|https://|ftp://|file://")

_MACRO_RE = re.compile(r"^\s*(?P<name>[^\s,]+)(?:[\s,]+(?P<args>.*?))?\s*$", re.DOTALL)
_ASSET_RE = re.compile(r"^(?:\.\.?/)*assets/(?P<path>[^?#]+)$")
_SIZE_RE = re.compile(r":(?P<key>height|width)\s+(?P<value>\d+)")
_TAG_OK_RE = re.compile(r"[\w\-/]+")
_TICKS_RE = re.compile(r"`+")
_WIKILINK_RE = re.compile(r"!?\[\[[^\[\]\n]*\]\]")
_OPENERS = {")": "(", "]": "[", "}": "{"}
MEDIA_MACROS = frozenset({"video", "youtube", "vimeo", "tweet", "twitter", "bilibili"})
MAX_MACRO_DEPTH = 5


@dataclass(slots=True)
class InlineEnv:
    """What the inline rules of one page share: the context and the page's findings."""

    ctx: ConvertContext
    findings: Findings
    depth: int = 0  # user macro expansion depth
    ticks: int = 0  # longest backtick run in the line being converted (see inline_code)


def tokens(text: str) -> Iterator[re.Match[str]]:
    """The tokens of ``text``, as ``TOKEN_RE.finditer(text)`` gives them: ``TOKEN_RE`` is
    tried only at the positions ``TOKEN_START_RE`` finds (no token can begin elsewhere;
    its lookbehinds still see the text before), and where it does not match there, from the
    next position on."""
    find, match = TOKEN_START_RE.search, TOKEN_RE.match
    pos = 0
    while (start := find(text, pos)) is not None:
        found = match(text, start.start())
        if found is None:
            pos = start.start() + 1
        else:
            yield found
            pos = found.end()  # never empty: every alternative consumes a character


# --- helpers -----------------------------------------------------------------------------


def _longest_ticks(text: str) -> int:
    if "`" not in text:
        return 0
    return max((len(run) for run in _TICKS_RE.findall(text)), default=0)


def inline_code(text: str, around: int = 0) -> str:
    """``text`` as inline code (Q1, M2: kept verbatim, never parsed again). Its backtick
    fence is longer than any run in ``text`` and than ``around`` (the longest run elsewhere on
    the line), so a stray backtick on the line cannot pair with it."""
    ticks = "`" * (max(_longest_ticks(text), around) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def obsidian_tag_name(name: str) -> str | None:
    """``name`` if it is a valid Obsidian tag as it is (letters, digits, ``_ - /``, one
    character that is not a digit), else None."""
    if not _TAG_OK_RE.fullmatch(name) or name.startswith("/") or name.endswith("/"):
        return None
    if "//" in name or all(ch.isdigit() or ch in "-_/" for ch in name):
        return None
    return name


def multiword_tag(name: str) -> str | None:
    """L3: ``multi word tag`` -> ``multi-word-tag``; None when other characters would have to
    be dropped (``C++ tips``): such a tag becomes a link instead."""
    return obsidian_tag_name(re.sub(r"\s+", "-", name.strip()))


def _split_tag(name: str) -> tuple[str, str]:
    """mldoc's tag ``name`` without what Obsidian and the writer did not mean as part of it:
    trailing dots (``#focus.``) and unbalanced closing brackets (``(see #tag)``)."""
    rest = ""
    while name and (last := name[-1]) in ".)]}":
        if last != "." and name.count(_OPENERS[last]) >= name.count(last):
            break  # a balanced bracket is the tag's
        name, rest = name[:-1], last + rest
    return name, rest


def asset_path(url: str) -> str | None:
    """``../assets/my%20img.png`` -> ``my img.png`` (the path inside ``assets/``), else None."""
    url = url.strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1].strip()
    match = _ASSET_RE.match(url)
    return unquote(match.group("path")) if match is not None else None


def _asset_target(path: str, env: InlineEnv) -> str:
    """The vault location of an asset: for a wikilink the bare file name when the migrator
    copied it under the same name (Obsidian resolves attachments by name), else (and for a
    Markdown link, option ``embed_assets_as_wikilinks`` off) its vault path."""
    env.findings.assets.add(path)
    copied = env.ctx.index.assets.get(path)
    if copied is None:
        env.findings.report("A1", "asset not found in the graph", f"../assets/{path}")
        return path
    if env.ctx.options.embed_assets_as_wikilinks and copied.rsplit("/", 1)[-1] == path:
        return path
    return copied


def _markdown_url(path: str) -> str:
    return f"<{path}>" if any(ch in path for ch in " ()<>") else path


def _size(meta: str | None) -> str:
    """A2: ``{:height 120, :width 200}`` -> ``200x120`` (``200`` with a width only)."""
    if not meta:
        return ""
    found = {m.group("key"): m.group("value") for m in _SIZE_RE.finditer(meta)}
    width, height = found.get("width"), found.get("height")
    if width and height:
        return f"{width}x{height}"
    return width or ""


def split_macro_args(text: str) -> list[str]:
    """``red, [[blue]], "a, b"`` -> ``["red", "[[blue]]", '"a, b"']`` (as mldoc splits)."""
    args: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif not quoted and (
            text.startswith(("[[", "(("), i) or (depth and text.startswith(("]]", "))"), i))
        ):
            depth += 1 if text[i] in "[(" else -1
            current.append(text[i : i + 2])
            i += 2
            continue
        elif ch == "," and not quoted and not depth:
            args.append("".join(current).strip())
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    last = "".join(current).strip()
    if last or args:
        args.append(last)
    return args


def expand_user_macro(template: str, args: list[str]) -> str:
    """``$1``, ``$2``… replaced by the arguments (a missing one stays as written)."""

    def one(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return args[index - 1] if 1 <= index <= len(args) else match.group(0)

    return re.sub(r"\$(\d+)", one, template)


# --- the rules -----------------------------------------------------------------------------


def contains(text: str, token: str) -> bool:
    """``token in text``, faster where ``token[0]`` is rare: a one-character search is a
    ``memchr``, and ``token`` can only start at or after its first character's first place
    (most lines hold no ``^`` at all, and their first ``[`` is in their location link)."""
    return text.find(token, text.find(token[0])) >= 0


def may_rewrite(text: str) -> bool:
    """False when ``text`` holds none of what a rewritten token needs (every other token is
    copied as it is): ``convert_inline`` returns it without cutting it into tokens (most lines
    of a Readwise page: prose and a location link)."""
    return (  # (one-character searches first: a memchr; "^" is rare, "[", "(" are not)
        "#" in text
        or "{" in text
        or "[[" in text
        or "((" in text
        or ("^" in text and "^^" in text)
        or "assets/" in text
    )


def convert_inline(text: str, env: InlineEnv) -> str:
    """One line (or a property value) with every inline Logseq token rewritten."""
    if not may_rewrite(text):  # fast path: tests/test_convert_fast.py
        return text
    outer_ticks = env.ticks
    env.ticks = max(outer_ticks, _longest_ticks(text))
    try:
        return _convert(text, env)
    finally:
        env.ticks = outer_ticks


def _escape_pipes(match: re.Match[str]) -> str:
    return re.sub(r"(?<!\\)\|", r"\\|", match.group(0))


def _convert(text: str, env: InlineEnv) -> str:
    table = text.lstrip().startswith("|")  # a table row: "|" in a link would split the cell
    out: list[str] = []
    markers: list[int] = []  # positions in ``out`` of ^^ highlight markers (H2)
    pos = 0
    for match in tokens(text):
        if match.start() > pos:
            out.append(text[pos : match.start()])
        pos = match.end()
        kind = match.lastgroup
        whole = match.group(0)
        if kind is None or kind in VERBATIM:
            out.append(whole)
        elif kind == "hl":
            markers.append(len(out))
            out.append(whole)
        elif table:
            out.append(_WIKILINK_RE.sub(_escape_pipes, _RULES[kind](match, env)))
        else:
            out.append(_RULES[kind](match, env))
    out.append(text[pos:])
    for first, second in zip(markers[::2], markers[1::2], strict=False):
        out[first] = out[second] = "=="
    return "".join(out)


def _page_ref(match: re.Match[str], env: InlineEnv) -> str:
    """L1, L4, J2: ``[[name]]`` through the index; ``[[a|b]]`` is already Obsidian's."""
    name = match.group("refname")
    return match.group(0) if "|" in name else _link_to(name, env)


def _link_to(name: str, env: InlineEnv, label: str | None = None) -> str:
    env.findings.reference(name)
    whiteboards = env.ctx.index.whiteboards
    if whiteboards and name_key(name) in whiteboards:
        env.findings.report("N8", "link to a whiteboard (not converted)", f"[[{name}]]")
    if label is not None:
        return wikilink(name, env.ctx, label)
    known = env.ctx.links.get(name)  # the same few names recur (tags)
    if known is None:
        known = env.ctx.links[name] = wikilink(name, env.ctx)
    return known


def _tag_ref(match: re.Match[str], env: InlineEnv) -> str:
    """L3: ``#[[multi word]]`` -> ``#multi-word`` (or a link: option, date, impossible tag)."""
    name = match.group("tagname")
    tag = None if env.ctx.options.tag_style is TagStyle.LINK else multiword_tag(name)
    if tag is None or journal_day(name, env.ctx) is not None:
        return _link_to(name, env)
    env.findings.reference(name)
    return f"#{tag}"


def _hashtag(match: re.Match[str], env: InlineEnv) -> str:
    """L2: a valid Obsidian tag stays; ``#v1.2``, ``#2023``, ``#c++`` become links."""
    name, rest = _split_tag(match.group("hashname"))
    if not name:
        return match.group(0)
    if journal_day(name, env.ctx) is None and obsidian_tag_name(name) is not None:
        env.findings.reference(name)
        return f"#{name}{rest}"
    return _link_to(name, env) + rest


def referenced_block(uuid: str, env: InlineEnv) -> str | None:
    """``block_target`` of a block this page refers to, recorded as a dependency of the page
    known or not: the page is converted again when that block moves or gets its ``id::``."""
    env.findings.block_refs.add(uuid.lower())
    return block_target(uuid, env.ctx)


def _block_ref(match: re.Match[str], env: InlineEnv) -> str:
    """R1: ``((uuid))`` -> ``[[Note#^uuid]]`` (``![[…]]`` with the embed option)."""
    uuid = match.group("uuid")
    target = referenced_block(uuid, env)
    if target is None:
        env.findings.report("R1", "block reference to an unknown block", match.group(0))
        return match.group(0)
    bang = "!" if env.ctx.options.block_ref_style is BlockRefStyle.EMBED else ""
    return f"{bang}[[{target}]]"


def _link(match: re.Match[str], env: InlineEnv) -> str:
    """L5 ``[label]([[Page]])``, L6 ``[label](((uuid)))``, A3 ``[label](../assets/x.pdf)``;
    any other Markdown link is copied as it is (C3)."""
    url, label = match.group("url"), match.group("label")
    if url.startswith("[["):
        return _link_to(url[2:-2], env, label or None)
    if url.startswith("(("):
        target = referenced_block(url[2:-2], env)
        if target is None:
            env.findings.report("L6", "block reference to an unknown block", match.group(0))
            return match.group(0)
        return f"[[{target}|{label}]]" if label else f"[[{target}]]"
    path = asset_path(url)
    if path is None:
        return match.group(0)
    target = _asset_target(path, env)
    if not env.ctx.options.embed_assets_as_wikilinks:
        return f"[{label}]({_markdown_url(target)})"
    shown = label.strip()
    if not shown or shown == path.rsplit("/", 1)[-1] or shown == target:
        return f"[[{target}]]"
    return f"[[{target}|{shown}]]"


def _image(match: re.Match[str], env: InlineEnv) -> str:
    """A1 ``![alt](../assets/x.png)`` -> ``![[x.png]]``, A2 ``{:height :width}`` -> ``|WxH``;
    an external image keeps its URL and gets the size as ``![alt|WxH](url)``."""
    url, alt, meta = match.group("iurl"), match.group("ialt"), match.group("imeta")
    size = _size(meta)
    path = asset_path(url)
    if path is None:
        if not size:  # (none without meta)
            return match.group(0)
        whole = match.group(0)[: -len(meta)]
        return f"![{alt}|{size}]" + whole[len(alt) + 3 :]
    target = _asset_target(path, env)
    if not env.ctx.options.embed_assets_as_wikilinks:
        shown = f"{alt}|{size}" if size else alt
        return f"![{shown}]({_markdown_url(target)})"
    return f"![[{target}|{size}]]" if size else f"![[{target}]]"


def _macro(match: re.Match[str], env: InlineEnv) -> str:
    whole = match.group(0)
    parsed = _MACRO_RE.match(match.group("mbody"))
    if parsed is None:
        return whole
    name, args = parsed.group("name"), (parsed.group("args") or "").strip()
    lower = name.lower()
    if lower == "embed":
        return _embed(args, whole, env)
    if lower in MEDIA_MACROS and re.fullmatch(r"https?://\S+", args):
        return f"![]({args})"  # M1
    if lower == "cloze":
        return convert_inline(args, env)  # M3
    if lower == "pdf":
        path = asset_path(args)
        if path is not None:
            return f"![[{_asset_target(path, env)}]]"
        if re.fullmatch(r"https?://\S+", args):
            return f"![]({args})"
    if lower == "query":
        env.findings.report("Q1", "Logseq query (kept as inline code)", whole)
        return inline_code(whole, env.ticks)
    if lower == "renderer":
        env.findings.report("M2", "plugin renderer (kept as inline code)", whole)
        return inline_code(whole, env.ticks)
    template = env.ctx.graph.macro(name)
    if template is not None and env.ctx.options.expand_macros and env.depth < MAX_MACRO_DEPTH:
        expanded = expand_user_macro(template, split_macro_args(args))
        env.depth += 1
        try:
            return convert_inline(expanded, env)
        finally:
            env.depth -= 1
    row = "M1" if lower in MEDIA_MACROS or lower == "youtube-timestamp" else "M3"
    env.findings.report(row, f"{{{{{name}}}}} macro (kept as inline code)", whole)
    return inline_code(whole, env.ticks)


def _embed(args: str, whole: str, env: InlineEnv) -> str:
    """E1 ``{{embed [[Page]]}}`` -> ``![[Page]]``, E2 ``{{embed ((uuid))}}`` ->
    ``![[Note#^uuid]]``, J3 journal pages -> the daily note."""
    page = re.fullmatch(r"\[\[([^\[\]\n]+)\]\]", args)
    if page is not None:
        name = page.group(1)
        env.findings.reference(name)
        if name_key(name) in env.ctx.index.whiteboards:
            env.findings.report("N8", "embedded whiteboard (not converted)", whole)
        return f"![[{embed_target(name, env.ctx)}]]"
    block = re.fullmatch(r"\(\((" + UUID + r")\)\)", args)
    if block is not None:
        target = referenced_block(block.group(1), env)
        if target is None:
            env.findings.report("E2", "embed of an unknown block", whole)
            return whole
        return f"![[{target}]]"
    env.findings.report("E1", "embed of something that is not a page or a block", whole)
    return inline_code(whole, env.ticks)


_RULES = {
    "macro": _macro,
    "image": _image,
    "link": _link,
    "tagref": _tag_ref,
    "ref": _page_ref,
    "bref": _block_ref,
    "hashtag": _hashtag,
}
