"""Readwise notes go through the same Logseq -> Obsidian rules as any page (syncd.convert), with
the context the engine gives: issue 11's four disagreements, each with its expected Obsidian
output and the row of logseq-to-obsidian.md it follows, and what the deleted Readwise rule set
(the rewrite module, deleted) specified that still applies."""

from __future__ import annotations

from syncd.convert.context import ConvertContext, GraphIndex
from syncd.convert.page import convert_page, render_note
from syncd.logseq.parser import parse_page
from syncd.merge import merge_document
from syncd.readwise import document_from_page
from tests.conftest import readwise_context

UUID = "6543a1b2-0000-4000-8000-000000000000"
HEAD = (
    "title:: Some Book (highlights)\nauthor:: [[A. Writer]]\ncategory:: #books\n{props}\n"
    "- Highlights first synced by [[Readwise]]\n"
)


def note(highlight: str, ctx: ConvertContext, props: str = "") -> str:
    """The new note of a Readwise page holding ``highlight``."""
    page = parse_page(HEAD.format(props=props) + f"\t- {highlight} ([View Highlight](u))\n")
    doc = document_from_page(page, "Some Book (highlights)")
    created = merge_document(None, doc, {}, ctx)
    assert not merge_document(created.text, doc, dict(created.record), ctx).changed  # rule 8
    return created.text


def body_line(text: str) -> str:
    """The highlight's line, without its ^rw- anchor."""
    line = next(x for x in text.split("\n") if "View Highlight" in x)
    return line.rsplit(" ^rw-", 1)[0]


def graph_note(text: str, ctx: ConvertContext) -> str:
    """What include: all's converter gives for a plain page with ``text``."""
    return render_note(convert_page(parse_page(text), ctx, text))


CTX = readwise_context(("MMM do, yyyy",))


def test_L3_an_impossible_tag_becomes_a_link_as_in_graph_notes() -> None:
    assert body_line(note("tips: #[[C++ tips]]", CTX)) == (
        "\t- tips: [[C++ tips]] ([View Highlight](u))"
    )
    assert graph_note("- tips: #[[C++ tips]]\n", CTX) == "- tips: [[C++ tips]]\n"
    # a multi-word tag that can be one stays a tag
    assert body_line(note("#[[multi word]]", CTX)) == "\t- #multi-word ([View Highlight](u))"


def test_P3_every_tag_name_is_kept_and_no_character_dropped() -> None:
    text = note("x", CTX, props="tags:: #[[C++ tips]], plain one, [[x y]], #2023")
    assert "tags:\n  - C-tips\n  - plain-one\n  - x-y\n" in text
    assert 'tag-links:\n  - "[[C++ tips]]"\n  - "[[2023]]"\n' in text
    # graph notes read the same names the same way
    page = "tags:: #[[C++ tips]], plain one, [[x y]], #2023\n\n- x\n"
    assert graph_note(page, CTX).startswith(
        "---\ntags:\n  - C-tips\n  - plain-one\n  - x-y\n"
        'tag-links:\n  - "[[C++ tips]]"\n  - "[[2023]]"\n---\n'
    )


def test_R1_a_block_ref_known_to_the_index_becomes_a_link() -> None:
    ctx = readwise_context(("MMM do, yyyy",), index=GraphIndex(blocks={UUID: "Other"}))
    assert body_line(note(f"see (({UUID}))", ctx)) == (
        f"\t- see [[Other#^{UUID}]] ([View Highlight](u))"
    )
    # unknown to the index (include: readwise has none yet): kept as written
    assert body_line(note(f"see (({UUID}))", CTX)) == f"\t- see (({UUID})) ([View Highlight](u))"


def test_J2_journal_links_take_the_vaults_daily_note_format() -> None:
    ctx = readwise_context(("MMM do, yyyy",), "DD.MM.YYYY")
    assert body_line(note("on [[Feb 12th, 2023]]", ctx)) == (
        "\t- on [[12.02.2023.md|Feb 12th, 2023]] ([View Highlight](u))"
    )
    assert graph_note("- on [[Feb 12th, 2023]]\n", ctx) == (
        "- on [[12.02.2023.md|Feb 12th, 2023]]\n"
    )


def test_what_the_old_rule_set_specified_still_holds() -> None:
    """H2 highlights, J2 in the default format, P4 renamed targets, C2 code left alone."""
    ctx = readwise_context(("MMM do, yyyy",), index=GraphIndex(names={"old name": "New Name"}))
    assert body_line(note("on [[Feb 12th, 2023]] ^^hi^^", ctx)) == (
        "\t- on [[2023-02-12|Feb 12th, 2023]] ==hi== ([View Highlight](u))"
    )
    assert body_line(note("#[[old name]] [[old name]]", ctx)) == (
        "\t- #old-name [[New Name|old name]] ([View Highlight](u))"
    )
    assert body_line(note("`[[code]]` [[old name]]", ctx)) == (
        "\t- `[[code]]` [[New Name|old name]] ([View Highlight](u))"
    )
