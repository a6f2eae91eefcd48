"""One test per supported row of logseq-to-obsidian.md: a Logseq page in, the exact Obsidian
note out (frontmatter and body), and a second conversion of the output changes nothing.

Rows handled by the migrator (file names J1, N1–N8, asset copying) are tested with it; rows
that are deliberately not supported are listed in docs/logseq-rows.md.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from syncd.convert.context import (
    BlockPropertyStyle,
    BlockRefStyle,
    ConvertContext,
    ConvertOptions,
    GraphIndex,
    InlineContext,
    LogbookStyle,
    TagStyle,
    TaskStyle,
)
from syncd.convert.page import (
    ConvertedNote,
    convert_page,
    page_aliases,
    page_block_ids,
    page_uuid,
    render_note,
)
from syncd.logseq.dates import journal_title_formats
from syncd.logseq.graph_config import GraphConfig
from syncd.logseq.parser import parse_page

UUID = "650a7c3e-0000-4a1b-9c2d-1234567890ab"
PAGE_UUID = "66d1f0a2-1b2c-4d3e-8f40-5a6b7c8d9e01"
NAMES = {
    "test page": "Test Page",
    "machine learning": "Machine Learning",
    "ml": "Machine Learning",
    "projects/syncd/design": "Projects/Syncd/Design",
    "design notes": "Design Notes",
    "client/server: a refresher": "Client/Server - A Refresher",
    "a:b": "a-b",
}
INDEX = GraphIndex(
    names=NAMES,
    aliases={"ml": "Machine Learning"},
    blocks={UUID: "Design Notes"},
    assets={
        "x.png": "assets/x.png",
        "paper.pdf": "assets/paper.pdf",
        "img 1.png": "assets/img 1.png",
    },
    page_uuids={PAGE_UUID: "Design Notes"},
    whiteboards=frozenset({"my board"}),
)


def convert(
    text: str,
    *,
    options: ConvertOptions | None = None,
    graph: GraphConfig | None = None,
    index: GraphIndex = INDEX,
    page: str = "Test Page",
    daily: str = "YYYY-MM-DD",
) -> ConvertedNote:
    graph = graph or GraphConfig()
    ctx = ConvertContext(
        graph=graph,
        index=index,
        options=options or ConvertOptions(),
        inline=InlineContext(
            journal_title_formats=journal_title_formats(graph.journal_title_format),
            daily_note_format=daily,
        ),
        page_name=page,
    )
    return convert_page(parse_page(text), ctx, source=text)


def check(text: str, expected: str, **kw: object) -> ConvertedNote:
    """Convert ``text``, compare with ``expected``, and check the output is a fixpoint."""
    converted = convert(text, **kw)  # type: ignore[arg-type]
    assert render_note(converted) == expected
    again = convert(converted.body, **kw)  # type: ignore[arg-type]
    assert again.body == converted.body, "a second conversion changed the body"
    return converted


def rows(converted: ConvertedNote) -> list[str]:
    return [item.row for item in converted.unsupported]


# --- 1. page properties ----------------------------------------------------------------------


def test_P1_page_properties_become_frontmatter() -> None:
    check(
        "type:: book\nfull-title:: Deep Work\ndocument_tags:: x y\n\n- body\n",
        "---\ntype: book\nfull-title: Deep Work\ndocument_tags: x y\n---\n- body\n",
    )


def test_P1_mixed_case_duplicate_keys_are_lower_cased_last_wins() -> None:
    check("Type:: a\ntype:: b\n\n- x\n", "---\ntype: b\n---\n- x\n")


def test_P1a_first_bullet_properties_become_frontmatter() -> None:
    check(
        "- type:: meeting\n  status:: done\n- notes\n",
        "---\ntype: meeting\nstatus: done\n---\n- notes\n",
    )


def test_P2_refs_become_quoted_links() -> None:
    check(
        "people:: [[Ann]], [[Bob]]\nowner:: [[Dana]]\ntopics:: #a #b\n\n- x\n",
        '---\npeople:\n  - "[[Ann]]"\n  - "[[Bob]]"\nowner: "[[Dana]]"\n'
        'topics:\n  - "[[a]]"\n  - "[[b]]"\n---\n- x\n',
    )


def test_P2_alias_ref_in_value_points_at_the_canonical_note() -> None:
    check("topic:: [[ML]]\n\n- x\n", '---\ntopic: "[[Machine Learning|ML]]"\n---\n- x\n')


def test_P2a_comma_text_kept_whole() -> None:
    check(
        "description:: text with [[GraphQL]], commas, #hashtag and [[ML]]\n"
        "colors:: red, green, blue\n\n- x\n",
        '---\ndescription: "text with [[GraphQL]], commas, #hashtag and [[Machine Learning|ML]]"\n'
        "colors: red, green, blue\n---\n- x\n",
    )


def test_P2b_separated_by_commas_key_becomes_list() -> None:
    graph = GraphConfig(separated_by_commas=frozenset({"people", "related"}))
    check(
        "people:: Ann, [[Bob Smith]], Chloé\nrelated:: [[Deep Learning]]\n\n- x\n",
        '---\npeople:\n  - "[[Ann]]"\n  - "[[Bob Smith]]"\n  - "[[Chloé]]"\n'
        'related:\n  - "[[Deep Learning]]"\n---\n- x\n',
        graph=graph,
    )


def test_P2b_alt_plain_strings() -> None:
    graph = GraphConfig(separated_by_commas=frozenset({"people"}))
    check(
        "people:: Ann, [[Bob Smith]]\n\n- x\n",
        "---\npeople:\n  - Ann\n  - Bob Smith\n---\n- x\n",
        graph=graph,
        options=ConvertOptions(comma_values_as_links=False),
    )


def test_P2c_quoted_value_is_literal() -> None:
    check(
        'full-title:: "How to Read: A Guide, [[not a ref]]"\n\n- x\n',
        '---\nfull-title: "How to Read: A Guide, [[not a ref]]"\n---\n- x\n',
    )


def test_P2d_integers_and_booleans_keep_their_type() -> None:
    converted = check(
        "rating:: 5\nfinished:: true\ndraft:: false\nzip:: 01234\nbig:: 99999999999999999999\n"
        "\n- x\n",
        '---\nrating: 5\nfinished: true\ndraft: false\nzip: "01234"\nbig: "99999999999999999999"\n'
        "---\n- x\n",
    )
    assert converted.frontmatter[0] == ("rating", 5)


def test_P2e_url_is_one_plain_string() -> None:
    graph = GraphConfig(separated_by_commas=frozenset({"source"}))
    check(
        "url:: https://example.com/a,b?x=1#frag\nsource:: https://example.com/c,d\n\n- x\n",
        "---\nurl: https://example.com/a,b?x=1#frag\nsource: https://example.com/c,d\n---\n- x\n",
        graph=graph,
    )


def test_P2f_journal_ref_in_value_links_the_daily_note() -> None:
    check(
        "created:: [[Feb 12th, 2023]]\n\n- x\n",
        '---\ncreated: "[[2023-02-12]]"\n---\n- x\n',
    )


def test_P2f_alt_date_keys_become_dates() -> None:
    converted = check(
        "created:: [[Feb 12th, 2023]]\nseen:: [[Feb 13th, 2023]]\n\n- x\n",
        '---\ncreated: 2023-02-12\nseen: "[[2023-02-13]]"\n---\n- x\n',
        options=ConvertOptions(date_properties_as_dates=True),
    )
    assert converted.frontmatter[0] == ("created", date(2023, 2, 12))


def test_P2_ignored_page_references_keywords_stay_raw_text() -> None:
    graph = GraphConfig(ignored_page_reference_keywords=frozenset({"source-title"}))
    check(
        "source-title:: [[X]], [[ML]]\n\n- x\n",
        '---\nsource-title: "[[X]], [[ML]]"\n---\n- x\n',
        graph=graph,
    )


def test_P3_tags_become_a_sanitized_list() -> None:
    """A name that is no tag as written (v1.2, 2023: no valid form) is kept as a link too."""
    converted = check(
        "tags:: a, [[b c]], #d, v1.2, 2023\n\n- x\n",
        "---\ntags:\n  - a\n  - b-c\n  - d\n  - v1-2\n"
        'tag-links:\n  - "[[v1.2]]"\n  - "[[2023]]"\n---\n- x\n',
    )
    assert rows(converted) == []  # nothing dropped


def test_P4_aliases_list_and_links_to_aliases() -> None:
    converted = check(
        "alias:: ML, [[AI Basics]]\n\n- see [[ml]]\n",
        "---\naliases:\n  - ML\n  - AI Basics\n---\n- see [[Machine Learning|ml]]\n",
        index=replace(INDEX, names={**NAMES, "ai basics": "Machine Learning"}),
        page="Machine Learning",
    )
    assert page_aliases(parse_page("alias:: ML, [[AI Basics]]\n"), GraphConfig()) == (
        "ML",
        "AI Basics",
    )
    assert "ml" in converted.references


def test_P4_alias_claimed_by_another_page_is_dropped() -> None:
    check(
        "aliases:: ML, Mine\n\n- x\n",
        "---\naliases:\n  - Mine\n---\n- x\n",
        index=replace(INDEX, names={**NAMES, "mine": "Test Page"}),
    )


def test_P5_title_sanitized_name_goes_to_aliases() -> None:
    check(
        "title:: Client/Server: A Refresher\n\n- x\n",
        '---\naliases:\n  - "Client/Server: A Refresher"\n---\n- x\n',
        page="Client/Server: A Refresher",
    )
    check("title:: Machine Learning\n\n- x\n", "- x\n", page="Machine Learning")


def test_P5_alt_keep_title() -> None:
    check(
        "title:: Machine Learning\n\n- x\n",
        "---\ntitle: Machine Learning\n---\n- x\n",
        page="Machine Learning",
        options=ConvertOptions(keep_title=True),
    )


def test_P6_public_dropped_or_publish() -> None:
    check("public:: true\n\n- x\n", "- x\n")
    check(
        "public:: true\n\n- x\n",
        "---\npublish: true\n---\n- x\n",
        options=ConvertOptions(publish_property=True),
    )


def test_P7_page_id_dropped_and_indexed() -> None:
    text = f"id:: {PAGE_UUID}\ntype:: x\n\n- see (({PAGE_UUID}))\n"
    check(text, "---\ntype: x\n---\n- see [[Design Notes]]\n")
    assert page_uuid(parse_page(text)) == PAGE_UUID


def test_P8_collapsed_dropped() -> None:
    check("collapsed:: true\nstatus:: active\n\n- x\n", "---\nstatus: active\n---\n- x\n")


def test_P9_filters_dropped() -> None:
    check('filters:: {"readwise" true}\n\n- x\n', "- x\n")


def test_P10_icon_dropped_or_kept() -> None:
    check("icon:: 🗃\n\n- x\n", "- x\n")
    check("icon:: 🗃\n\n- x\n", "---\nicon: 🗃\n---\n- x\n", options=ConvertOptions(keep_icon=True))


def test_P11_internal_keys_dropped() -> None:
    check(
        "heading:: 2\nbackground-color:: red\nlogseq.order-list-type:: number\nhl-page:: 3\n"
        "ls-type:: annotation\nquery-table:: true\ntemplate:: t\nexclude-from-graph-view:: true\n"
        "created-at:: 1693400000000\nkept:: yes\n\n- x\n",
        '---\nkept: "yes"\n---\n- x\n',
    )


def test_P11_alt_timestamps_become_dates() -> None:
    check(
        "created-at:: 1693400000000\nupdated-at:: 1700000000000\n\n- x\n",
        "---\ncreated: 2023-08-30\nupdated: 2023-11-14\n---\n- x\n",
        options=ConvertOptions(timestamps_as_dates=True),
    )


def test_P12_empty_value_dropped() -> None:
    check("empty::\nother:: 1\n\n- x\n", "---\nother: 1\n---\n- x\n")


def test_P13_readwise_page_shape() -> None:
    check(
        "title:: Ted Chiang (highlights)\nauthor:: [[@AndrewLampinen on Twitter]]\n"
        'full-title:: "Ted Chiang Is a Great Wr..."\ncategory:: #tweets\n'
        "url:: https://twitter.com/x/status/1\ndocument_tags:: [[a]] [[b]]\n\n"
        "- Highlights first synced by [[Readwise]] [[Feb 12th, 2023]]\n",
        '---\nauthor: "[[@AndrewLampinen on Twitter]]"\nfull-title: Ted Chiang Is a Great Wr...\n'
        'category: "[[tweets]]"\nurl: https://twitter.com/x/status/1\n'
        'document_tags:\n  - "[[a]]"\n  - "[[b]]"\n---\n'
        "- Highlights first synced by [[Readwise]] [[2023-02-12|Feb 12th, 2023]]\n",
        page="Ted Chiang (highlights)",
    )


# --- 2. blocks -------------------------------------------------------------------------------


def test_B1_block_properties_stay_inline_fields() -> None:
    check(
        "- Design decision\n  decided-by:: [[Dana]], [[ML]]\n  collapsed:: true\n"
        "\t- child\n\t  status:: accepted\n",
        "- Design decision\n  decided-by:: [[Dana]], [[Machine Learning|ML]]\n"
        "\t- child\n\t  status:: accepted\n",
    )


def test_B1_alt_bracketed_fields() -> None:
    check(
        "- Design decision\n  status:: accepted\n",
        "- Design decision\n  [status:: accepted]\n",
        options=ConvertOptions(block_properties=BlockPropertyStyle.BRACKETED),
    )


def test_B1_config_hidden_block_properties_dropped() -> None:
    check(
        "- x\n  secret:: 1\n  shown:: 2\n",
        "- x\n  shown:: 2\n",
        graph=GraphConfig(block_hidden_properties=frozenset({"secret"})),
    )


def test_B2_block_id_becomes_anchor() -> None:
    converted = check(
        f"- Design decision\n  id:: {UUID}\n  status:: accepted\n",
        f"- Design decision ^{UUID}\n  status:: accepted\n",
    )
    assert converted.block_ids == {UUID}
    assert page_block_ids(parse_page(f"- a\n  id:: {UUID.upper()}\n")) == (UUID,)


DATA_DIR = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    "text",
    [
        f"- a\n  ID:: {UUID}\n",
        f"- a\n  :PROPERTIES:\n  :ID: {UUID}\n  :END:\n",
        f"- a\n  :properties:\n  :id: {UUID}\n  :end:\n",
        "- no ids here\n  uuid:: not one\n",
        "- nothing\n",
        *(p.read_text("utf-8") for p in sorted(DATA_DIR.rglob("*.md"))[:200]),
    ],
)
def test_B2_block_ids_read_without_a_walk_when_the_text_has_no_id(text: str) -> None:
    """page_block_ids' shortcut (no ``id::``/``:id:`` in the text: no walk) gives what the
    walk gives."""
    page = parse_page(text)
    assert page_block_ids(page, text) == page_block_ids(page)


def test_B2_anchor_after_a_closing_fence_gets_its_own_line() -> None:
    check(
        f"- Code:\n  ```python\n  x = 1\n  ```\n  id:: {UUID}\n",
        f"- Code:\n  ```python\n  x = 1\n  ```\n  ^{UUID}\n",
    )


def test_B2_anchor_after_html_gets_a_line_of_its_own_below_a_blank_line() -> None:
    """An ``^id`` on an HTML line, or right below it, is part of the HTML block (CommonMark
    runs it to a blank line): Obsidian would find no block id (logseq-docs' changelog_06)."""
    check(
        f'- **Clip**\n  id:: {UUID}\n  <div><iframe src="https://v.example/1"></iframe></div>\n',
        f'- **Clip**\n  <div><iframe src="https://v.example/1"></iframe></div>\n\n  ^{UUID}\n',
    )


def test_B2_anchor_on_multi_line_block_goes_on_its_last_text_line() -> None:
    check(
        f"\t- first line\n\t  id:: {UUID}\n\t  second line\n",
        f"\t- first line\n\t  second line ^{UUID}\n",
    )


def test_B3_heading_property_adds_hashes_once() -> None:
    check(
        "- ## Goals\n  heading:: 2\n- Plan\n  heading:: 3\n\t- Auto\n\t  heading:: true\n",
        "- ## Goals\n- ### Plan\n\t- ## Auto\n",
    )


def test_B4_heading_inside_bullet_kept() -> None:
    check("- # Heading\n\t- text\n", "- # Heading\n\t- text\n")


def test_B5_multi_line_block_kept() -> None:
    check(
        "- first line\n  second line with [[ML]]\n\n  after a blank\n",
        "- first line\n  second line with [[Machine Learning|ML]]\n\n  after a blank\n",
    )


def test_B6_numbered_list() -> None:
    check(
        "- Steps\n\t- First\n\t  logseq.order-list-type:: number\n"
        "\t\t- detail\n\t- Second\n\t  logseq.order-list-type:: number\n"
        "\t  more text\n- After\n",
        "- Steps\n\t1. First\n\t\t- detail\n\t2. Second\n\t   more text\n- After\n",
    )


def test_B7_quote_block() -> None:
    check(
        "- #+BEGIN_QUOTE\n  A quote with [[ML]].\n\n  Second paragraph.\n  #+END_QUOTE\n"
        "- Intro\n  #+BEGIN_QUOTE\n  inside\n  #+END_QUOTE\n",
        "- > A quote with [[Machine Learning|ML]].\n  >\n  > Second paragraph.\n"
        "- Intro\n  > inside\n",
    )


def test_B8_admonitions_become_callouts() -> None:
    check(
        "- #+BEGIN_TIP\n  A tip.\n  #+END_TIP\n- #+BEGIN_PINNED\n  Pinned.\n  #+END_PINNED\n"
        "- #+BEGIN_WARNING\n  Careful.\n  #+END_WARNING\n",
        "- > [!tip]\n  > A tip.\n- > [!note]\n  > Pinned.\n- > [!warning]\n  > Careful.\n",
    )


def test_B9_src_example_comment_blocks() -> None:
    check(
        "- #+BEGIN_SRC python\n  x = [[not a link]]\n  #+END_SRC\n"
        "- #+BEGIN_EXAMPLE\n  #tag stays\n  #+END_EXAMPLE\n"
        "- #+BEGIN_COMMENT\n  hidden [[ML]]\n  #+END_COMMENT\n",
        "- ```python\n  x = [[not a link]]\n  ```\n- ```\n  #tag stays\n  ```\n"
        "- %%\n  hidden [[ML]]\n  %%\n",
    )


def test_B10_advanced_query_kept_verbatim_and_reported() -> None:
    converted = check(
        "- #+BEGIN_QUERY\n"
        '  {:title "Tasks" :query [:find (pull ?b [*]) :where [?b :block/marker]]}\n'
        "  #+END_QUERY\n",
        "- > [!info] Logseq query (not converted)\n  ```clojure\n"
        '  {:title "Tasks" :query [:find (pull ?b [*]) :where [?b :block/marker]]}\n  ```\n',
    )
    assert rows(converted) == ["B10"]


# --- 3. links, tags, references, embeds ------------------------------------------------------


def test_L1_page_links_through_the_index() -> None:
    converted = check(
        "- [[Machine Learning]], [[machine learning]], [[ML]], [[a:b]], [[Nowhere]]\n",
        "- [[Machine Learning]], [[machine learning]], [[Machine Learning|ML]], [[a-b|a:b]], "
        "[[Nowhere]]\n",
    )
    assert converted.references == {"machine learning", "ml", "a:b", "nowhere"}


def test_L1_links_in_table_rows_escape_the_pipe() -> None:
    check(
        "- | [[ML]] | #v1.2 | ![a](../assets/x.png){:width 5} |\n  | --- | --- | --- |\n",
        "- | [[Machine Learning\\|ML]] | [[v1.2]] | ![[x.png\\|5]] |\n  | --- | --- | --- |\n",
    )


def test_L2_tag_ends_before_a_link() -> None:
    check("- #tag[[ML]] x\n", "- #tag[[Machine Learning|ML]] x\n")


def test_L2_tags_valid_kept_invalid_become_links() -> None:
    check(
        "- #inbox #v1.2 #2023 #c++ #focus. (see #todo) a#b #FF0000 #日本語\n",
        "- #inbox [[v1.2]] [[2023]] [[c++]] #focus. (see #todo) a#b #FF0000 #日本語\n",
    )


def test_L3_multiword_tag() -> None:
    check(
        "- #[[to read]] #[[C++ tips]] #[[ML]]\n",
        "- #to-read [[C++ tips]] #ML\n",
    )


def test_L3_alt_tags_as_links() -> None:
    check(
        "- #[[to read]] #[[ML]]\n",
        "- [[to read]] [[Machine Learning|ML]]\n",
        options=ConvertOptions(tag_style=TagStyle.LINK),
    )


def test_L4_namespaces() -> None:
    check(
        "- [[Projects/Syncd/Design]] and #[[Areas/Health]] and [[Client/Server: A Refresher]]\n",
        "- [[Projects/Syncd/Design]] and #Areas/Health and "
        "[[Client/Server - A Refresher|Client/Server: A Refresher]]\n",
    )


def test_L5_labelled_page_link() -> None:
    check(
        "- [learn more]([[Machine Learning]]) and [that]([[ML]])\n",
        "- [[Machine Learning|learn more]] and [[Machine Learning|that]]\n",
    )


def test_L6_labelled_block_ref() -> None:
    check(
        f"- [see quote]((({UUID})))\n",
        f"- [[Design Notes#^{UUID}|see quote]]\n",
    )


def test_R1_block_ref() -> None:
    converted = check(
        f"- Key quote: (({UUID}))\n- Unknown: ((00000000-0000-4000-8000-000000000000))\n",
        f"- Key quote: [[Design Notes#^{UUID}]]\n"
        "- Unknown: ((00000000-0000-4000-8000-000000000000))\n",
    )
    # the unknown block counts too: the page is converted again once it gets its id::
    assert converted.block_refs == {UUID, "00000000-0000-4000-8000-000000000000"}
    assert rows(converted) == ["R1"]


def test_R1_alt_block_ref_as_embed() -> None:
    check(
        f"- (({UUID}))\n",
        f"- ![[Design Notes#^{UUID}]]\n",
        options=ConvertOptions(block_ref_style=BlockRefStyle.EMBED),
    )


def test_E1_page_embed() -> None:
    check(
        "- {{embed [[Projects/Syncd/Design]]}}\n- {{embed [[ML]]}}\n",
        "- ![[Projects/Syncd/Design]]\n- ![[Machine Learning]]\n",
    )


def test_E2_block_embed() -> None:
    check(f"- {{{{embed (({UUID}))}}}}\n", f"- ![[Design Notes#^{UUID}]]\n")


def test_Q1_simple_query_kept_as_inline_code_and_reported() -> None:
    converted = check(
        "- Query: {{query (and [[Readwise]] (task TODO))}}\n",
        "- Query: `{{query (and [[Readwise]] (task TODO))}}`\n",
    )
    assert rows(converted) == ["Q1"]
    assert "readwise" not in converted.references


def test_M1_video_and_tweet_macros_become_embeds() -> None:
    check(
        "- {{video https://www.youtube.com/watch?v=dQw4w9WgXcQ}}\n"
        "- {{tweet https://twitter.com/x/status/1}} {{youtube https://youtu.be/a}}\n",
        "- ![](https://www.youtube.com/watch?v=dQw4w9WgXcQ)\n"
        "- ![](https://twitter.com/x/status/1) ![](https://youtu.be/a)\n",
    )


def test_M2_renderer_kept_as_inline_code_and_reported() -> None:
    converted = check("- {{renderer :wordcount_}}\n", "- `{{renderer :wordcount_}}`\n")
    assert rows(converted) == ["M2"]


def test_M3_cloze_user_macros_and_others() -> None:
    graph = GraphConfig(macros=(("poem", "Rose is $1, violet's $2."),))
    converted = check(
        "- {{cloze Logseq uses [[ML]]}} #card\n- {{poem red, [[blue]]}}\n"
        "- {{namespace Projects}}\n",
        "- Logseq uses [[Machine Learning|ML]] #card\n- Rose is red, violet's [[blue]].\n"
        "- `{{namespace Projects}}`\n",
        graph=graph,
    )
    assert rows(converted) == ["M3"]


def test_M3_user_macros_kept_when_not_expanded() -> None:
    graph = GraphConfig(macros=(("poem", "Rose is $1"),))
    check(
        "- {{poem red}}\n",
        "- `{{poem red}}`\n",
        graph=graph,
        options=ConvertOptions(expand_macros=False),
    )


# --- 4. tasks --------------------------------------------------------------------------------


def test_T1_todo_and_later() -> None:
    check(
        "- TODO Write\n- LATER Someday\n- later TODO is text\n",
        "- [ ] Write\n- [ ] Someday\n- later TODO is text\n",
    )


def test_T1_a_marker_on_a_later_line_is_text() -> None:
    check("- call Ann\n  TODO [#A] later\n", "- call Ann\n  TODO [#A] later\n")


def test_T1a_doing_and_now() -> None:
    check("- DOING a\n- NOW b\n- IN-PROGRESS c\n", "- [/] a\n- [/] b\n- [/] c\n")
    check("- NOW b\n", "- [ ] b #doing\n", options=ConvertOptions(doing_as_tag=True))


def test_T1b_done() -> None:
    check("- DONE Finished\n", "- [x] Finished\n")


def test_T1c_canceled() -> None:
    check("- CANCELED a\n- CANCELLED b\n", "- [-] a\n- [-] b\n")


def test_T1d_waiting() -> None:
    check("- WAITING on [[Dana]]\n- WAIT b\n", "- [ ] on [[Dana]]\n- [ ] b\n")


def test_T2_priorities() -> None:
    check(
        "- TODO [#A] high\n- LATER [#B] mid\n- TODO [#C] low\n- [#A] not a task\n",
        "- [ ] high ⏫\n- [ ] mid 🔼\n- [ ] low 🔽\n- [#A] not a task\n",
    )


def test_T2_alt_dataview_priority() -> None:
    check(
        "- TODO [#A] high\n",
        "- [ ] high [priority:: high]\n",
        options=ConvertOptions(task_style=TaskStyle.DATAVIEW),
    )


def test_T3_scheduled_and_deadline() -> None:
    check(
        f"- TODO [#A] Write the converter\n  SCHEDULED: <2024-09-01 Sun>\n"
        f"  DEADLINE: <2024-09-15 Sun 10:00 .+1w>\n  id:: {UUID}\n"
        "- Not a task\n  SCHEDULED: <2024-09-01 Sun>\n",
        "- [ ] Write the converter ⏫ 🔁 every week when done ⏳ 2024-09-01 📅 2024-09-15"
        f" ^{UUID}\n- Not a task\n  SCHEDULED: <2024-09-01 Sun>\n",
    )


def test_T3_alt_dataview_dates() -> None:
    check(
        "- TODO x\n  SCHEDULED: <2024-09-01 Sun +2d>\n  DEADLINE: <2024-09-15 Sun>\n",
        "- [ ] x [repeat:: every 2 days] [scheduled:: 2024-09-01] [due:: 2024-09-15]\n",
        options=ConvertOptions(task_style=TaskStyle.DATAVIEW),
    )


LOGBOOK = (
    "- DOING Review\n  :LOGBOOK:\n"
    "  CLOCK: [2024-08-30 Fri 09:00:00]--[2024-08-30 Fri 10:30:00] =>  01:30:00\n  :END:\n"
)


def test_T4_logbook_dropped() -> None:
    check(LOGBOOK, "- [/] Review\n")


def test_T4_alt_logbook_in_comment() -> None:
    check(
        LOGBOOK,
        "- [/] Review\n  %%\n  :LOGBOOK:\n"
        "  CLOCK: [2024-08-30 Fri 09:00:00]--[2024-08-30 Fri 10:30:00] =>  01:30:00\n"
        "  :END:\n  %%\n",
        options=ConvertOptions(logbook=LogbookStyle.COMMENT),
    )


def test_T4_properties_drawer_read_as_properties() -> None:
    check(
        f"- x\n  :PROPERTIES:\n  :custom_id: {UUID}\n  :owner: [[ML]]\n  :END:\n",
        f"- x ^{UUID}\n  owner:: [[Machine Learning|ML]]\n",
    )


# --- 5. journals -----------------------------------------------------------------------------


def test_J2_journal_link_default_title_format() -> None:
    check(
        "- [[Feb 12th, 2023]] and #[[Feb 13th, 2023]] and [[2023-02-14]]\n",
        "- [[2023-02-12|Feb 12th, 2023]] and [[2023-02-13|Feb 13th, 2023]] and [[2023-02-14]]\n",
    )


def test_J2_journal_link_custom_title_format() -> None:
    graph = GraphConfig(journal_title_format="EEE, dd.MM.yyyy")
    check(
        "- met on [[Mon, 13.02.2023]], not [[Feb 12th, 2023]] or [[13.02.2023]]\n",
        "- met on [[Journal/2023/02-13|Mon, 13.02.2023]], not "
        "[[Journal/2023/02-12|Feb 12th, 2023]] or [[13.02.2023]]\n",
        graph=graph,
        daily="[Journal]/YYYY/MM-DD",
    )


def test_J2_alt_journal_links_without_text() -> None:
    check(
        "- [[Feb 12th, 2023]]\n",
        "- [[2023-02-12]]\n",
        options=ConvertOptions(journal_link_alias=False),
    )


def test_J3_journal_embeds_and_block_refs() -> None:
    check(
        f"- {{{{embed [[Feb 12th, 2023]]}}}}\n- [day]([[Feb 12th, 2023]]) (({UUID}))\n",
        f"- ![[2023-02-12]]\n- [[2023-02-12|day]] [[Design Notes#^{UUID}]]\n",
        index=replace(INDEX, blocks={UUID: "Design Notes"}),
    )


# --- 6. assets -------------------------------------------------------------------------------


def test_A1_image_asset_becomes_wikilink_embed() -> None:
    converted = check(
        "- ![diagram](../assets/x.png) ![](https://example.com/y.png) "
        "![a](../assets/img%201.png)\n",
        "- ![[x.png]] ![](https://example.com/y.png) ![[img 1.png]]\n",
    )
    assert converted.assets == {"x.png", "img 1.png"}


def test_A1_alt_markdown_embed_with_vault_path() -> None:
    check(
        "- ![diagram](../assets/x.png) ![a](../assets/img%201.png)\n",
        "- ![diagram](assets/x.png) ![a](<assets/img 1.png>)\n",
        options=ConvertOptions(embed_assets_as_wikilinks=False),
    )


def test_A1_missing_asset_reported() -> None:
    converted = check("- ![](../assets/gone.png)\n", "- ![[gone.png]]\n")
    assert rows(converted) == ["A1"]


def test_A2_image_size() -> None:
    check(
        "- ![d](../assets/x.png){:height 120, :width 200} ![d](../assets/x.png){:width 50}\n",
        "- ![[x.png|200x120]] ![[x.png|50]]\n",
    )


def test_A3_pdf_links_and_embeds() -> None:
    check(
        "- [paper](../assets/paper.pdf) ![paper](../assets/paper.pdf) "
        "[paper.pdf](../assets/paper.pdf) {{pdf ../assets/paper.pdf}}\n",
        "- [[paper.pdf|paper]] ![[paper.pdf]] [[paper.pdf]] ![[paper.pdf]]\n",
    )


def test_A4_pdf_highlight_blocks_reported() -> None:
    converted = check(
        f"- a highlighted sentence\n  ls-type:: annotation\n  hl-page:: 3\n  hl-color:: yellow\n"
        f"  id:: {UUID}\n",
        f"- a highlighted sentence ^{UUID}\n",
        page="hls__paper_1",
    )
    assert set(rows(converted)) == {"A4"}


# --- 7. inline formatting and code -----------------------------------------------------------


def test_H1_obsidian_highlight_unchanged() -> None:
    check("- ==obsidian style==\n", "- ==obsidian style==\n")


def test_H2_logseq_highlight() -> None:
    check(
        "- ^^logseq [[ML]] style^^ and ^^unpaired\n",
        "- ==logseq [[Machine Learning|ML]] style== and ^^unpaired\n",
    )


def test_H3_markdown_formatting_unchanged() -> None:
    text = (
        "- **b** *i* _i_ ~~s~~ [text](https://x.com/a_(b)) <br> $x^2$ $$\\sum [[x]]$$ [^1]\n"
        "- | a | b |\n  | --- | --- |\n  | 1 | 2 |\n"
    )
    check(text, text)


def test_C1_fenced_code_untouched() -> None:
    text = (
        "- Code block:\n  ```python\n"
        f"  # [[not a link]] and (({UUID})) #tag ^^x^^ {{{{embed [[ML]]}}}}\n"
        '  TODO = "key:: value"\n  id:: not-a-property\n  ```\n'
        "- ```\n  - TODO inside a fence\n  ```\n"
    )
    check(text, text)


def test_C1_B7_B9_a_fence_line_inside_a_begin_block_opens_no_code() -> None:
    """mldoc: inside ``#+BEGIN_X`` … ``#+END_X`` nothing else opens, so the ```` ``` ```` in
    the block is text of the block, and the fence after it opens the code (C1). Syncd used to
    pair the two fences: the block was not converted and the code was (a link rewritten).

    The output is no fixpoint: read again with mldoc's rule, ``> ```` pairs with the fence
    after it (Obsidian ends that fence with the quote, as mldoc ended it with the block)."""
    text = (
        "- a\n  #+BEGIN_QUOTE\n  ```\n  #+END_QUOTE\n  ```\n  [[ML]] #tag\n  ```\n"
        "- b\n  #+BEGIN_SRC\n  ```\n  #+END_SRC\n  ```\n  [[ML]]\n  ```\n"
    )

    assert render_note(convert(text)) == (
        "- a\n  > ```\n  ```\n  [[ML]] #tag\n  ```\n"
        "- b\n  ````\n  ```\n  ````\n  ```\n  [[ML]]\n  ```\n"
    )


def test_C2_inline_code_untouched() -> None:
    text = f"- Inline `[[not a link]]`, ``#not-a-tag ` (({UUID}))`` and `{{{{embed [[ML]]}}}}`\n"
    check(text, text)


def test_C3_link_labels_urls_and_html_untouched() -> None:
    text = (
        "- [label [[ML]]](https://x.com/[[ML]]) <span>[[ML]] #tag</span> <!-- [[ML]] --> "
        "https://x.com/#anchor <https://x.com/((a))>\n"
    )
    check(text, text)


# --- reports and whole pages -----------------------------------------------------------------


def test_N8_links_to_whiteboards_reported() -> None:
    converted = check("- [[My Board]] {{embed [[my board]]}}\n", "- [[My Board]] ![[my board]]\n")
    assert rows(converted) == ["N8", "N8"]


def test_preamble_text_kept_and_converted() -> None:
    check(
        "title:: Test Page\n![](https://img/cover.png)\nauthor:: [[Ann]]\n\nIntro [[ML]]\n\n- x\n",
        '---\nauthor: "[[Ann]]"\n---\n![](https://img/cover.png)\n\nIntro [[Machine Learning|ML]]\n'
        "\n- x\n",
    )


def test_render_without_frontmatter_and_empty_page() -> None:
    assert render_note(convert("")) == ""
    assert render_note(convert("- only\n")) == "- only\n"


def test_outline_indentation_kept_byte_for_byte() -> None:
    text = "- a\n    - four spaces\n      continuation\n  - two spaces\n\t\t- tabs\n-\n"
    check(text, text)


def test_canonical_layout_without_source() -> None:
    page = parse_page("- TODO a\n\t- b [[ML]]\n\t  more\n")
    ctx = ConvertContext(GraphConfig(), INDEX, ConvertOptions(), InlineContext(), "Test Page")
    assert convert_page(page, ctx).body == "- [ ] a\n\t- b [[Machine Learning|ML]]\n\t  more\n"


SAMPLE_GRAPH_PAGES = [
    "Plain link [[Readwise]], tag #inbox, multi-word #[[to read]], namespaced #[[Projects/Syncd]]",
    f"Aliased [the design]([[Projects/Syncd/Design]]) and block ref (({UUID}))",
    "Cloze: {{cloze Logseq uses outlines}} #card",
]


@pytest.mark.parametrize("line", SAMPLE_GRAPH_PAGES)
def test_sample_lines_are_fixpoints(line: str) -> None:
    first = convert(f"- {line}\n")
    assert convert(first.body).body == first.body


# --- issue 12: real exports ------------------------------------------------------------------


def test_B4_unbulleted_heading_with_children_gets_a_bullet() -> None:
    """Shape 02: a heading written without ``- `` starts a block (mldoc); with TAB-indented
    children it is bulleted, so Obsidian does not read the outline as an indented code block;
    its continuation lines and ``id::`` stay its own, the links in its children stay live."""
    check(
        f"## [[ML]] plans\nid:: {UUID}\nsecond line\n\t- child [[Test Page]] #t\n\t\t- deeper\n"
        "- a bullet\n### no children\n",
        f"- ## [[Machine Learning|ML]] plans\n  second line ^{UUID}\n"
        "\t- child [[Test Page]] #t\n\t\t- deeper\n- a bullet\n### no children\n",
    )


def test_B4_unbulleted_heading_after_page_properties() -> None:
    check(
        "type:: doc\n\n## Usage\n\t- step one\n\t  collapsed:: true\n",
        "---\ntype: doc\n---\n- ## Usage\n\t- step one\n",
    )


def test_B4_heading_inside_code_stays_code() -> None:
    check(
        "- code:\n  ```\n## not a block\n\t- x\n  ```\n",
        "- code:\n  ```\n## not a block\n\t- x\n  ```\n",
    )


def test_P5_yaml_front_matter_title_names_the_page() -> None:
    """Shape 08: ``---`` / ``title: X`` / ``---`` at the top is read like ``title::``."""
    page = parse_page("---\ntitle: Reading Log\ntype: list\n---\n\n- first\n")
    assert page.property_value("title") == "Reading Log"
    assert page.front_matter == 4
    check(
        "---\ntitle: Reading Log\ntype: list\n---\n\n- first\n", "---\ntype: list\n---\n- first\n"
    )


def test_P5_yaml_front_matter_not_simple_stays_text() -> None:
    page = parse_page("---\ntitle: X\n  - nested\n---\n- a\n")
    assert page.front_matter == 0 and page.property_value("title") is None


def test_L1_page_named_like_a_file_links_with_md() -> None:
    """Shape 07: Obsidian reads ``[[tasks.json]]`` as an attachment; a known page named so is
    linked as ``[[tasks.json.md|tasks.json]]``; an unknown name and ``Mr. Crane`` stay."""
    index = replace(INDEX, names={**NAMES, "tasks.json": "tasks.json", "mr. crane": "Mr. Crane"})
    check(
        "- [[tasks.json]] [[Mr. Crane]] [[other.txt]]\n",
        "- [[tasks.json.md|tasks.json]] [[Mr. Crane]] [[other.txt]]\n",
        index=index,
    )


def test_B1_drops_are_counted() -> None:
    """docs/logseq-rows.md "What the rules drop": each drop counted for the run's summary."""
    converted = check(
        "icon:: 🌱\n\n- a\n  collapsed:: true\n  card-repeats:: 2\n  card-ease-factor:: 2.5\n"
        "  :LOGBOOK:\n  CLOCK: [2024-01-01 Mon 10:00]--[2024-01-01 Mon 10:05] =>  00:05:00\n"
        "  :END:\n",
        "- a\n",
    )
    assert dict(converted.dropped) == {
        "icon::": 1,
        "collapsed::": 1,
        "card-*::": 2,
        ":LOGBOOK: drawer": 1,
    }
