"""Generated Readwise pages for the property tests of a new note (tests/test_merge_create.py:
the create path against a shortcut-free rendering; tests/test_plan.py: plan_page's fast path
against the general path): Readwise's shape (page properties, headers, one-line highlights with
``**Note**:`` / ``**Tags**:`` children) with adversarial text in every line, and lines outside
the shape."""

from __future__ import annotations

from hypothesis import strategies as st

from syncd.readwise import ATTRIBUTE_RE

TOKENS = [
    "[[", "]]", "[[page]]", "#[[multi word]]", "[[Feb 12th, 2023]]", "[[old name]]", "#tag",
    "^^", "^^hi^^", "^", "^rw-0123456789ab", " ^rw-0123456789ab", "rw-", "`", "`code [[x]]`",
    "```", "~~~", "~", "((6543a1b2-0000-4000-8000-000000000000))", "key:: value", "id:: x",
    "::", ":", "#+BEGIN_QUOTE", "#+", "([View Highlight](https://read.readwise.io/read/01h))",
    "(Location 12)", "](", "https://x.y/z", "<https://a.b>", "\\-", "-", "- ", " ", "  ", "\t",
    "\u00a0", "\u2003", "\x0b", "\x1f", "\x85", "\r", "\ufeff", "e\u0301", "é", "word",
    "Word.", "[", "]", "(", ")", "))", "#", "*", "**Tags**:", "**Note**:", "\x7f",
]  # fmt: skip
# without what sends a page to the general path, so that most generated pages of the shape
# take the fast path (the full token list tests the fallbacks)
USUAL = [t for t in TOKENS if not any(bad in t for bad in ("::", "```", "~~~", "#+"))]
TEXT = (
    st.integers(0, 9)
    .flatmap(lambda pick: st.lists(st.sampled_from(TOKENS if pick == 0 else USUAL), max_size=10))
    .map("".join)
)
# location suffixes: a few URLs (so that some repeat), odd ones among them
URLS = [
    "https://read.readwise.io/read/01h",
    "https://read.readwise.io/read/02h",
    "https://www.amazon.com/dp/B00TEST?asin=B0CXZ12345&location=12",
    "kindle://book?action=open&asin=B0CXZ12345&location=7",
    "https://x.y/a\\-b",
    "https://x.y/(paren)",
    "https://x.y/))",
    "u",
]
SUFFIX = st.one_of(
    st.just(""),
    st.builds(
        lambda space, label, url, tail: f"{space}([{label}]({url})){tail}",
        st.sampled_from(["", " ", "  ", "\t", "\u00a0"]),
        st.sampled_from(["View Highlight", "Location 305", "", "a[b", "[[x"]),
        st.sampled_from(URLS),
        st.sampled_from(["", " ", "\t", "\u2003"]),
    ),
    st.sampled_from([" (Location 12)", " (Page 3) ", "(Time 0:12)", " (Chapter two)"]),
)
# mostly a highlight starts with a word (else the general path takes the page)
# (or with what makes a one-line block a property: "id:: x" is a highlight without text)
LEAD = st.integers(0, 19).flatmap(
    lambda pick: st.sampled_from(
        ["id:: x", "collapsed:: true", "key:: v", "hl-page:: 3", "a::", "a:b::c", "Note:: "]
        if pick == 0
        else ["W", "é", "Word ", "[[", "^", "#", "(", "`", "*", "-", "\\-", "", " ", "~", "tags: "]
    )
)
HIGHLIGHT = st.builds(lambda lead, text, suffix: lead + text + suffix, LEAD, TEXT, SUFFIX)
HEADERS = [
    "Highlights first synced by [[Readwise]] [[Feb 13th, 2023]]",
    "New highlights added [[Mar 1st, 2023]] at 10:05 AM",
    "## Highlights synced by [[Readwise]]",
    "highlights first synced by [[old name]] ([x](https://read.readwise.io/read/01h))",
]
ATTRIBUTE = st.builds(
    lambda kind, text: kind + text,
    st.sampled_from(
        ["**Note**: ", "**Tags**: ", "Note: ", "__Tags__: ", "**Notes**:\t", "tags: ", "TAG: "]
    ),
    TEXT,
)
# lines outside the usual shape (continuations, deeper children, fences, properties...)
ODD_LINES = [
    "",
    "  continued text",
    "\t  continued",
    "\t\t\t- deeper child",
    "\t\t- a child that is no attribute",
    "- a top-level block",
    "\t- id:: 6543a1b2-0000-4000-8000-000000000000",
    "\t- collapsed:: true",
    "\t  id:: 6543a1b2-0000-4000-8000-000000000000",
    "\t-",
    "\t- ",
    "\t-  two spaces",
    "\t-\ttab",
    "    - spaces for indent",
    "\t- ```",
    "\t- ~~~",
    "\t- #+BEGIN_QUOTE",
    "\t- #+END_QUOTE",
    "-",
    "\t\t-",
]
PROPERTIES = [
    "title:: Some Book (highlights)",
    "title:: Odd ../name",
    "author:: [[Language Sync]]",
    "author:: ",
    'full-title:: "Some Book: A \\#1 Story"',
    "category:: #books",
    "category:: #podcasts",
    "category:: [[articles]]",
    "url:: https://example.org/x",
    "url:: ",
    "tags:: [[a b]], #c",
    "alias:: Other Name",
    "aliases:: [[Third Name]], fourth",
    "id:: 6543A1B2-0000-4000-8000-00000000abcd",
    'summary:: "quoted"',
    "syncd-id:: hijack",
    "ключ:: значение",
    "document_note:: n",
]
PREAMBLE = st.lists(
    st.one_of(
        st.sampled_from(PROPERTIES),
        st.sampled_from(["", "![](https://img.example/x.jpg)", " ", "text", "x::y", "#tag"]),
        # an unbulleted heading starts a block in parse_page: no preamble line
        st.sampled_from(["# Heading", "## Highlights first synced by [[Readwise]]"]),
    ),
    max_size=8,
)

# a YAML front matter block before the page properties (parse_page reads its key: value lines
# as page properties, syncd-id: among them marks a note syncd wrote)
FRONT_MATTER = st.sampled_from(
    [
        [],
        ["---", "title: Front Title", "author: Someone Else", "---"],
        ["---", "syncd-id: title+author:X|Y", "---"],
        ["---", "full-title: Quoted: yes", "category: books", "---", ""],
        ["---", "just a line of text", "---"],
        ["---", "title: never closed"],
    ]
)


@st.composite
def plain_pages(draw: st.DrawFn) -> tuple[str, bool]:
    """A page of the shape (lines outside it only if ``odd``), and whether it has no line
    outside the shape."""
    odd = draw(st.integers(0, 3)) == 0
    front = draw(FRONT_MATTER)
    preamble = draw(PREAMBLE)
    lines = [*front, *preamble]
    in_shape = "syncd-id: title+author:X|Y" not in front  # a note syncd wrote: no source
    in_shape = in_shape and not any(line[:2] in ("# ", "##") for line in preamble)  # a block
    for _ in range(draw(st.integers(1, 3))):
        lines.append("- " + draw(st.sampled_from(HEADERS)))
        for _ in range(draw(st.integers(0, 6))):
            text = draw(st.one_of(HIGHLIGHT, st.sampled_from(["Same text.", "Same text. "])))
            lines.append("\t- " + text)
            if not text or text[0] in " \t" or ATTRIBUTE_RE.match(text):
                in_shape = False  # (an attribute line there goes with the highlight before it)
            for _ in range(draw(st.integers(0, 2))):
                lines.append("\t\t- " + draw(ATTRIBUTE))
            if odd and draw(st.integers(0, 4)) == 0:
                lines.append(draw(st.sampled_from(ODD_LINES)))
                in_shape = False
    end = draw(st.sampled_from(["\n", "\n", "\n", "", "\n\n"]))
    if end == "\n\n":
        in_shape = False
    return "\n".join(lines) + end, in_shape
