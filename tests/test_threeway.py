"""The line-based three-way merge of merge rule 7 (syncd/threeway.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.threeway import merge3, split_lines

PROPS = settings(derandomize=True, deadline=None, max_examples=300)

# arbitrary lines, including duplicates, blank lines and a missing final newline
any_text = st.lists(st.sampled_from(["a", "b", "", "- x", "\t- y", "---", "ü"]), max_size=12).map(
    lambda lines: "\n".join(lines)
) | st.text(alphabet="ab\n\t -", max_size=30)


@PROPS
@given(base=any_text, ours=any_text)
def test_both_sides_equal_gives_that_side(base: str, ours: str) -> None:
    assert merge3(base, ours, ours) == ours


@PROPS
@given(base=any_text, theirs=any_text)
def test_only_theirs_changed_gives_theirs(base: str, theirs: str) -> None:
    assert merge3(base, base, theirs) == theirs


@PROPS
@given(base=any_text, ours=any_text)
def test_only_ours_changed_gives_ours(base: str, ours: str) -> None:
    assert merge3(base, ours, base) == ours


@PROPS
@given(text=any_text)
def test_split_lines_round_trips(text: str) -> None:
    assert "".join(split_lines(text)) == text
    assert all(line.endswith("\n") for line in split_lines(text)[:-1])


# Non-overlapping edits: a base of distinct lines; each side edits its own stretches, and at
# least one untouched line separates any edit of one side from any edit of the other.


@st.composite
def separated_edits(draw: st.DrawFn) -> tuple[str, str, str, str]:
    n = draw(st.integers(min_value=3, max_value=14))
    base = [f"line {i}\n" for i in range(n)]
    # which side owns each line: 0 nobody, 1 ours, 2 theirs; owners are separated by a 0
    owners = draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n))
    for i in range(1, n):
        if owners[i] and owners[i - 1] and owners[i] != owners[i - 1]:
            owners[i] = 0
    ours: list[str] = []
    theirs: list[str] = []
    expected: list[str] = []
    for i, line in enumerate(base):
        action = draw(st.sampled_from(["replace", "delete", "insert"]))
        if owners[i] == 0:
            ours.append(line)
            theirs.append(line)
            expected.append(line)
            continue
        edited = {
            "replace": [f"edited {i}\n"],
            "delete": [],
            "insert": [f"new {i}\n", line],
        }[action]
        if owners[i] == 1:
            ours.extend(edited)
            theirs.append(line)
        else:
            ours.append(line)
            theirs.extend(edited)
        expected.extend(edited)
    return "".join(base), "".join(ours), "".join(theirs), "".join(expected)


@PROPS
@given(case=separated_edits())
def test_non_overlapping_edits_are_both_kept(case: tuple[str, str, str, str]) -> None:
    base, ours, theirs, expected = case
    assert merge3(base, ours, theirs) == expected


@PROPS
@given(
    before=st.lists(st.sampled_from(["p\n", "q\n", "\n"]), max_size=4),
    after=st.lists(st.sampled_from(["r\n", "s\n", "\n"]), max_size=4),
    mine=st.text(alphabet="xyz", min_size=1, max_size=8),
    yours=st.text(alphabet="XYZ", min_size=1, max_size=8),
)
def test_different_edits_of_one_line_conflict(
    before: list[str], after: list[str], mine: str, yours: str
) -> None:
    base = "".join([*before, "the contested line\n", *after])
    ours = "".join([*before, f"{mine}\n", *after])
    theirs = "".join([*before, f"{yours}\n", *after])
    assert merge3(base, ours, theirs) is None


def test_user_edits_and_source_changes_merge() -> None:
    base = "---\ntags: [a]\n---\n- one\n- two\n- three\n"
    user = "---\ntags: [a]\n---\nMy own intro.\n\n- one\n- two, as I see it\n- three\n"
    source = "---\ntags: [a, b]\n---\n- one\n- two\n- three\n- four\n"
    assert merge3(base, user, source) == (
        "---\ntags: [a, b]\n---\nMy own intro.\n\n- one\n- two, as I see it\n- three\n- four\n"
    )


def test_insertions_at_the_same_place_conflict() -> None:
    # both appended at the end: never a guess at the order
    assert merge3("x\n", "x\nmine\n", "x\ntheirs\n") is None


def test_same_insertion_on_both_sides_is_taken_once() -> None:
    assert merge3("a\nb\n", "a\nnew\nb\n", "a\nnew\nb\n") == "a\nnew\nb\n"
    assert merge3("a\nb\nc\nd\n", "a\nX\nc\nd\n", "a\nX\nc\nD\n") == "a\nX\nc\nD\n"


def test_missing_final_newline_is_kept() -> None:
    assert merge3("a\nb\nc", "A\nb\nc", "a\nb\nC") == "A\nb\nC"
