"""syncd.logseq.graph_config: the EDN reader and the settings of reference section 8."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import edn_format
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.errors import SyncdError
from syncd.logseq.graph_config import (
    EdnError,
    GraphConfig,
    Keyword,
    Symbol,
    load_graph_config,
    parse_graph_config,
    read_edn,
)

DATA = Path(__file__).parent / "data"
K = Keyword


# --- the EDN reader --------------------------------------------------------------------------

READ_CASES = [
    ("map", "{:a 1 :b 2}", {K("a"): 1, K("b"): 2}),
    ("commas-are-space", "{:a 1, :b 2,}", {K("a"): 1, K("b"): 2}),
    ("namespaced-keyword", ":file/name-format", K("file/name-format")),
    ("keyword-two-slashes", ":a/b/c", K("a/b/c")),
    ("keyword-starting-with-digit", "[:14d :7d-after :-14d]", (K("14d"), K("7d-after"), K("-14d"))),
    ("auto-resolved-keyword", "::local", K("local")),
    (
        "datalog-symbols",
        "[?h $ >= <= * pull]",
        tuple(map(Symbol, ["?h", "$", ">=", "<=", "*", "pull"])),
    ),
    (
        "list-is-tuple",
        "(fn [r] (pprint r))",
        (Symbol("fn"), (Symbol("r"),), (Symbol("pprint"), Symbol("r"))),
    ),
    ("set", '#{"NOW" "DOING"}', frozenset({"NOW", "DOING"})),
    ("empty-collections", "[{} [] () #{}]", ({}, (), (), frozenset())),
    ("scalars", "[nil true false]", (None, True, False)),
    ("integers", "[0 -3 +4 12N 0x1F]", (0, -3, 4, 12, 31)),
    ("floats", "[1.5 -2e3 1.5M 7.]", (1.5, -2000.0, 1.5, 7.0)),
    ("ratio", "1/4", 0.25),
    ("string-escapes", r'"a\tb\nc\"d\\e\u00e9"', 'a\tb\nc"d\\eé'),
    ("string-with-comment-chars", '"; not a comment #_ [ {"', "; not a comment #_ [ {"),
    ("multiline-string", '"line 1\nline 2"', "line 1\nline 2"),
    ("emoji", '{:title "🔨 NOW"}', {K("title"): "🔨 NOW"}),
    (
        "characters",
        r"[\a \space \newline \tab \u00e9 \( \, \o101]",
        ("a", " ", "\n", "\t", "é", "(", ",", "A"),
    ),
    ("comment", ';; heading\n{:a 1 ; trailing [ { "\n}', {K("a"): 1}),
    ("shebang-comment", "#! comment\n:x", K("x")),
    ("discard", "{:a 1 #_ :b #_ 2}", {K("a"): 1}),
    ("double-discard-map-entry", "{:a 1 #_#_ :b 2 :c 3}", {K("a"): 1, K("c"): 3}),
    ("discard-collection", "[1 #_ {:x [1 2]} 2]", (1, 2)),
    ("discard-before-close", "[1 #_ 2]", (1,)),
    ("trailing-discard", "{:a 1} #_ {:b 2}", {K("a"): 1}),
    ("regex-literal", r'{:ignore [#"\.DS_Store$"]}', {K("ignore"): (r"\.DS_Store$",)}),
    ("tagged-inst", '#inst "2020-01-01"', "2020-01-01"),
    ("tagged-unknown", "#js {:a 1}", {K("a"): 1}),
    ("tagged-namespaced", "#foo/bar [1 2]", (1, 2)),
    ("symbolic-inf", "##Inf", math.inf),
    ("metadata-dropped", "^:private [1]", (1,)),
    ("metadata-map-dropped", '^{:doc "x"} sym', Symbol("sym")),
    ("vector-as-key", "{[1 2] :v}", {(1, 2): K("v")}),
    ("map-as-key-frozen", "{{:a 1} :v}", {((K("a"), 1),): K("v")}),
    ("map-in-set-frozen", "#{{:a 1}}", frozenset({((K("a"), 1),)})),
    ("quote-char-is-symbol", "'x", Symbol("'x")),
    ("leading-whitespace", "\n\n  {:a 1}\n", {K("a"): 1}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in READ_CASES], ids=[c[0] for c in READ_CASES]
)
def test_read_edn(text: str, expected: object) -> None:
    assert read_edn(text) == expected


ERROR_CASES = [
    ("unclosed-map", "{:a 1", "unclosed '{'", 1, 1),
    ("unclosed-string", '{:a "x}', "unterminated string", 1, 5),
    ("mismatched", "[1 2)", "expected ']', found ')'", 1, 5),
    ("odd-map", "{:a}", "even number", 1, 1),
    ("two-forms", "{} {}", "more than one top-level form", 1, 4),
    ("stray-closer", "}", "expected a form, found '}'", 1, 1),
    ("reader-conditional", "#?(:clj 1)", "unsupported reader macro #?", 1, 1),
    ("bad-escape", r'"\q"', "invalid escape", 1, 2),
    ("bad-number", "[1x]", "invalid number '1x'", 1, 2),
    ("bad-char", r"\spaces", "invalid character literal", 1, 1),
    ("empty", "", "unexpected end of input", 1, 1),
    ("only-comment", ";; nothing", "unexpected end of input", 1, 11),
    ("discard-nothing", "{:a 1 #_}", "form to discard", 1, 9),
    ("empty-keyword", "[:]", "empty keyword", 1, 2),
    ("unknown-symbolic", "##Foo", "##Foo", 1, 1),
    ("position-on-later-line", '{:a 1\n :b "ok"\n :c [1 2}', "expected ']'", 3, 9),
]


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [c[1:] for c in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
def test_read_edn_errors(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(EdnError) as info:
        read_edn(text)
    assert message in info.value.reason
    assert (info.value.line, info.value.column) == (line, column)
    assert isinstance(info.value, SyncdError)
    assert "\n" not in str(info.value)


def test_read_edn_nesting_too_deep_is_an_error() -> None:
    with pytest.raises(EdnError, match="nested too deeply"):
        read_edn("[" * 5000 + "]" * 5000)


def test_duplicate_key_last_wins_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="syncd.logseq.graph_config"):
        assert read_edn("{:a 1\n :a 2}") == {K("a"): 2}
    assert "duplicate key :a" in caplog.text


def test_default_config_reads_with_structure() -> None:
    data = read_edn((DATA / "config_default.edn").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    assert data[K("file/name-format")] == K("triple-lowbar")
    assert data[K("default-templates")] == {K("journals"): ""}
    journals = data[K("default-queries")][K("journals")]
    assert [q[K("title")] for q in journals] == ["🔨 NOW", "📅 NEXT"]
    assert journals[0][K("inputs")] == (K("14d"), K("today"))
    assert journals[1][K("inputs")] == (K("today"), K("7d-after"))
    query = journals[0][K("query")]
    assert query[:2] == (K("find"), (Symbol("pull"), Symbol("?h"), (Symbol("*"),)))
    # the commented-out keys stay out
    assert K("journal/page-title-format") not in data
    assert K("hidden") in data and data[K("hidden")] == ()


# edn_format is a second, independent reader: on data it can write and read, both agree.

_NAMES = st.from_regex(r"[a-z][a-z0-9?!*-]{0,8}(/[a-z][a-z0-9-]{0,6})?", fullmatch=True)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(st.characters(codec="utf-8"), max_size=20),
    _NAMES.map(edn_format.Keyword),
)
_HASHABLE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.text(max_size=5),
    _NAMES.map(edn_format.Keyword),
)
_EDN = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.frozensets(_HASHABLE, max_size=4),
        st.dictionaries(_NAMES.map(edn_format.Keyword), children, max_size=4),
    ),
    max_leaves=20,
)


def _from_edn_format(value: object) -> object:
    if isinstance(value, edn_format.Keyword):
        return Keyword(value.name)
    if isinstance(value, edn_format.Symbol):
        return Symbol(value.name)
    if isinstance(value, Mapping):
        return {_from_edn_format(k): _from_edn_format(v) for k, v in value.items()}
    if isinstance(value, frozenset):
        return frozenset(_from_edn_format(v) for v in value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_from_edn_format(v) for v in value)
    return value


@settings(derandomize=True, deadline=None, max_examples=200)
@given(value=_EDN)
def test_agrees_with_edn_format(value: object) -> None:
    text = edn_format.dumps(value)
    assert read_edn(text) == _from_edn_format(edn_format.loads(text))


def test_agrees_with_edn_format_on_real_files() -> None:
    for name in ("config_default.edn", "config_sample.edn"):
        text = (DATA / name).read_text(encoding="utf-8")
        assert read_edn(text) == _from_edn_format(edn_format.loads(text)), name


# --- GraphConfig -----------------------------------------------------------------------------


def test_sample_graph_config() -> None:
    config = parse_graph_config((DATA / "config_sample.edn").read_text(encoding="utf-8"))
    assert config == GraphConfig(
        file_name_format="triple-lowbar",
        journal_title_format="MMM do, yyyy",
        journal_file_format="yyyy_MM_dd",
        separated_by_commas=frozenset({"related"}),
    )


def test_default_logseq_config_gives_logseq_defaults() -> None:
    config = parse_graph_config((DATA / "config_default.edn").read_text(encoding="utf-8"))
    assert config == GraphConfig()
    assert config.file_name_format == "triple-lowbar"


def test_every_setting_read() -> None:
    text = """
    {:meta/version 1
     :preferred-format "Org"
     :journal/page-title-format "EEE, dd.MM.yyyy"
     :journal/file-name-format "yyyy-MM-dd"
     :file/name-format :legacy
     :pages-directory "notes"
     :journals-directory "daily"
     :whiteboards-directory "boards"
     :hidden ["/archived" "/test.md" "../assets/archived"]
     :property/separated-by-commas #{:Related :people}
     :ignored-page-references-keywords #{:author :website}
     :block-hidden-properties #{:public :icon}
     :macros {"poem" "Rose is $1, violet's $2." :ytb "{{video https://youtu.be/$1}}"}
     :export/bullet-indentation :two-spaces}
    """
    config = parse_graph_config(text)
    assert config == GraphConfig(
        file_name_format="legacy",
        journal_title_format="EEE, dd.MM.yyyy",
        journal_file_format="yyyy-MM-dd",
        pages_directory="notes",
        journals_directory="daily",
        whiteboards_directory="boards",
        hidden=("/archived", "/test.md", "../assets/archived"),
        separated_by_commas=frozenset({"related", "people"}),
        ignored_page_reference_keywords=frozenset({"author", "website"}),
        block_hidden_properties=frozenset({"public", "icon"}),
        macros=(("poem", "Rose is $1, violet's $2."), ("ytb", "{{video https://youtu.be/$1}}")),
    )
    assert config.macro("poem") == "Rose is $1, violet's $2."
    assert config.macro("missing") is None
    assert hash(config) == hash(parse_graph_config(text))  # hashable, macros included


FILE_NAME_FORMAT_CASES = [
    ("N3-key-absent", "{:meta/version 1}", "legacy"),
    ("N1-triple-lowbar", "{:file/name-format :triple-lowbar}", "triple-lowbar"),
    ("legacy-explicit", "{:file/name-format :legacy}", "legacy"),
    ("string-value", '{:file/name-format "triple-lowbar"}', "triple-lowbar"),
    ("key-discarded", "{:meta/version 1 #_#_ :file/name-format :triple-lowbar}", "legacy"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [c[1:] for c in FILE_NAME_FORMAT_CASES],
    ids=[c[0] for c in FILE_NAME_FORMAT_CASES],
)
def test_file_name_format(text: str, expected: str) -> None:
    assert parse_graph_config(text).file_name_format == expected


def test_unknown_file_name_format_is_legacy_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="syncd.logseq.graph_config"):
        config = parse_graph_config("{:file/name-format :double-lowbar}")
    assert config.file_name_format == "legacy"
    assert "double-lowbar" in caplog.text


def test_old_date_formatter_key() -> None:
    config = parse_graph_config('{:date-formatter "yyyy-MM-dd"}')
    assert config.journal_title_format == "yyyy-MM-dd"
    both = parse_graph_config(
        '{:date-formatter "yyyy-MM-dd" :journal/page-title-format "do MMM yyyy"}'
    )
    assert both.journal_title_format == "do MMM yyyy"


def test_bad_values_fall_back_with_warnings(caplog: pytest.LogCaptureFixture) -> None:
    text = """{:file/name-format :triple-lowbar
      :journal/page-title-format "YYYY-MM-DD"
      :journal/file-name-format 12
      :pages-directory ""
      :hidden 3
      :property/separated-by-commas #{:related 7}
      :macros ["not" "a map"]}"""
    with caplog.at_level(logging.WARNING, logger="syncd.logseq.graph_config"):
        config = parse_graph_config(text, path=Path("/g/logseq/config.edn"))
    assert config.journal_title_format == "MMM do, yyyy"
    assert config.journal_file_format == "yyyy_MM_dd"
    assert config.pages_directory == "pages"
    assert config.hidden == ()
    assert config.separated_by_commas == frozenset({"related"})
    assert config.macros == ()
    for key in (
        "journal/page-title-format",
        "journal/file-name-format",
        "pages-directory",
        "hidden",
        "macros",
    ):
        assert f":{key}" in caplog.text, key
    assert "/g/logseq/config.edn" in caplog.text


def test_single_string_hidden_is_one_path() -> None:
    assert parse_graph_config('{:hidden "/archived"}').hidden == ("/archived",)


@pytest.mark.parametrize("text", ["", "   \n", ";; only a comment\n;; and another\n"])
def test_empty_file_is_like_no_file(text: str) -> None:
    assert parse_graph_config(text) == GraphConfig()


def test_unreadable_edn_names_the_file() -> None:
    path = Path("/graph/logseq/config.edn")
    with pytest.raises(SyncdError) as info:
        parse_graph_config('{:a 1\n :b "x"\n :c [1 2}', path=path)
    message = str(info.value)
    assert message.startswith(f"{path}: not valid EDN")
    assert "line 3" in message
    assert "\n" not in message
    assert info.value.path == path


@pytest.mark.parametrize("text", ["[1 2]", ":file/name-format", '"config"'])
def test_config_must_be_a_map(text: str) -> None:
    with pytest.raises(SyncdError, match="one map"):
        parse_graph_config(text, path=Path("c.edn"))


def test_default_is_modern_and_logseq_like() -> None:
    config = GraphConfig()
    assert config.file_name_format == "triple-lowbar"
    assert config.journal_title_format == "MMM do, yyyy"
    assert config.journal_file_format == "yyyy_MM_dd"
    assert (config.pages_directory, config.journals_directory, config.whiteboards_directory) == (
        "pages",
        "journals",
        "whiteboards",
    )


def test_load_missing_file_gives_default(tmp_path: Path) -> None:
    assert load_graph_config(tmp_path) == GraphConfig()
    (tmp_path / "logseq").mkdir()
    assert load_graph_config(tmp_path) == GraphConfig()


def test_load_reads_the_file(tmp_path: Path) -> None:
    (tmp_path / "logseq").mkdir()
    (tmp_path / "logseq" / "config.edn").write_bytes(
        '\ufeff{:journal/page-title-format "EEEE, dd-MM-yyyy"}\r\n'.encode()
    )
    config = load_graph_config(tmp_path)
    assert config.journal_title_format == "EEEE, dd-MM-yyyy"
    assert config.file_name_format == "legacy"


def test_load_sample_graph_copy(tmp_path: Path) -> None:
    (tmp_path / "logseq").mkdir()
    (tmp_path / "logseq" / "config.edn").write_bytes((DATA / "config_sample.edn").read_bytes())
    config = load_graph_config(tmp_path)
    assert config.file_name_format == "triple-lowbar"
    assert config.separated_by_commas == frozenset({"related"})


def test_load_broken_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "logseq" / "config.edn"
    path.parent.mkdir()
    path.write_text("{:a", encoding="utf-8")
    with pytest.raises(SyncdError) as info:
        load_graph_config(tmp_path)
    assert info.value.path == path
    assert str(path) in str(info.value)


def test_load_non_utf8_names_it(tmp_path: Path) -> None:
    path = tmp_path / "logseq" / "config.edn"
    path.parent.mkdir()
    path.write_bytes(b'{:hidden ["\xff"]}')
    with pytest.raises(SyncdError, match="not UTF-8") as info:
        load_graph_config(tmp_path)
    assert info.value.path == path


def test_load_unreadable_path_names_it(tmp_path: Path) -> None:
    path = tmp_path / "logseq" / "config.edn"
    path.mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(SyncdError) as info:
        load_graph_config(tmp_path)
    assert info.value.path == path
