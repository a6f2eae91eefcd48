"""Properties of the page converter on generated pages (hypothesis, derandomized).

Pages mix prose full of Logseq syntax with fenced code, inline code and Markdown link URLs
that contain the same syntax. Whatever the converter does to the prose, the code and the URLs
come out byte for byte (rows C1–C3), and converting the output again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.convert.context import ConvertContext, ConvertOptions, GraphIndex, InlineContext
from syncd.convert.page import convert_page
from syncd.logseq.dates import journal_title_formats
from syncd.logseq.graph_config import GraphConfig
from syncd.logseq.parser import parse_page

UUID = "650a7c3e-0000-4a1b-9c2d-1234567890ab"
CTX = ConvertContext(
    graph=GraphConfig(macros=(("m", "<$1>"),)),
    index=GraphIndex(
        names={"x": "X Note", "ml": "Machine Learning", "a b": "A B"},
        blocks={UUID: "X Note"},
        assets={"x.png": "assets/x.png"},
    ),
    options=ConvertOptions(),
    inline=InlineContext(journal_title_formats=journal_title_formats("MMM do, yyyy")),
    page_name="Generated",
)

LOGSEQ = [
    "[[x]]",
    "[[ML]]",
    "[[Feb 12th, 2023]]",
    f"(({UUID}))",
    "#tag",
    "#v1.2",
    "#[[a b]]",
    "TODO",
    "DONE",
    "key:: value",
    f"id:: {UUID}",
    "{{embed [[x]]}}",
    "{{query (task TODO)}}",
    "{{m arg}}",
    "{{cloze hidden}}",
    "^^h^^",
    "==h==",
    "[l]([[x]])",
    f"[l](((({UUID}))))",
    "![i](../assets/x.png){:width 20}",
    "#+BEGIN_QUOTE",
    ":LOGBOOK:",
    "SCHEDULED: <2024-09-01 Sun>",
    "$x$",
    "**b**",
]
URL_PARTS = ["[[x]]", "#tag", "^^h^^", "TODO", "key::value", "{{m}}", "%5B%5B", "a_b"]

logseq = st.sampled_from(LOGSEQ)
plain = st.text(alphabet="abcxyz .,-", min_size=1, max_size=6)
prose = st.lists(st.one_of(logseq, plain), max_size=5).map(" ".join)
payload = st.lists(st.one_of(logseq, plain), min_size=1, max_size=5).map(" ".join)
url = st.lists(st.sampled_from(URL_PARTS), min_size=1, max_size=4).map("/".join)
marker = st.sampled_from(["", "TODO ", "DONE [#A] ", "LATER "])


@dataclass(frozen=True)
class Generated:
    text: str
    kept: tuple[str, ...]  # exact snippets that must appear in the output


@st.composite
def pages(draw: st.DrawFn) -> Generated:
    lines = ["- start"]
    kept: list[str] = []
    depth = 0
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        depth = draw(st.integers(min_value=0, max_value=depth + 1))
        indent = "\t" * depth
        kind = draw(st.sampled_from(["inline", "url", "fence", "fence-first"]))
        head = f"{draw(marker)}w {draw(prose)}".rstrip()
        if kind == "inline":
            code = f"`{draw(payload)}`"
            lines.append(f"{indent}- {head} {code} {draw(prose)}".rstrip())
            kept.append(code)
        elif kind == "url":
            target = f"](https://example.com/{draw(url)})"
            lines.append(f"{indent}- {head} [label{target} {draw(prose)}".rstrip())
            kept.append(target)
        else:
            body = draw(st.lists(payload, min_size=1, max_size=3))
            lang = draw(st.sampled_from(["", "python", "clojure"]))
            if kind == "fence":
                lines.append(f"{indent}- {head}")
                fence = [f"{indent}  ```{lang}", *(f"{indent}  {b}" for b in body)]
            else:
                fence = [f"{indent}- ```{lang}", *(f"{indent}  {b}" for b in body)]
            fence.append(f"{indent}  ```")
            lines.extend(fence)
            kept.append("\n".join(fence[1:]))
        if draw(st.booleans()):
            lines.append(f"{indent}  w {draw(prose)}".rstrip())
    return Generated("\n".join(lines) + "\n", tuple(kept))


def convert(text: str) -> str:
    return convert_page(parse_page(text), CTX, source=text).body


@settings(derandomize=True, max_examples=300, deadline=None)
@given(pages())
def test_code_and_urls_are_never_rewritten(page: Generated) -> None:
    out = convert(page.text)
    for snippet in page.kept:
        assert snippet in out, f"{snippet!r} changed:\n{out}"


@settings(derandomize=True, max_examples=300, deadline=None)
@given(pages())
def test_output_is_a_fixpoint(page: Generated) -> None:
    out = convert(page.text)
    assert convert(out) == out


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(logseq, plain, st.sampled_from(["`", "[", "]", "(", ")", "{", "}"])), max_size=12
    ).map(" ".join)
)
def test_any_line_converts_to_a_fixpoint(line: str) -> None:
    out = convert(f"- w {line}\n")
    assert convert(out) == out
