"""Configuration: loading, every problem with its key path, defaults, path expansion."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from syncd.config import (
    Config,
    DaemonConfig,
    Include,
    SourceConfig,
    VaultConfig,
    config_for_paths,
    default_config_path,
    default_state_dir,
    load_config,
    parse_duration,
    parse_size,
    validate_mapping,
)
from syncd.convert.context import (
    BlockPropertyStyle,
    BlockRefStyle,
    ConvertOptions,
    LogbookStyle,
    TagStyle,
    TaskStyle,
)
from syncd.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A resolved folder holding graph/ (a Logseq graph) and conf/ (where config files go)."""
    base = tmp_path.resolve()
    (base / "graph" / "pages").mkdir(parents=True)
    (base / "conf").mkdir()
    return base


@pytest.fixture
def env(root: Path) -> dict[str, str]:
    return {"HOME": str(root / "home"), "XDG_STATE_HOME": str(root / "xdg-state")}


def write(root: Path, text: str, name: str = "config.yaml") -> Path:
    path = root / "conf" / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(root: Path, env: dict[str, str], text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        load_config(write(root, text), env=env)
    return info.value.problems


def one_source(source: str, vault: str = "../vault", extra: str = "") -> str:
    """A one-vault, one-source file (dedented); ``extra`` is a further line of the source."""
    return textwrap.dedent(f"""\
        vaults:
          - name: main
            path: {vault}
            sources:
              - path: {source}
                {extra}
        """)


# --- a good file ---------------------------------------------------------------------------


def test_full_file_fills_every_field(root: Path, env: dict[str, str]) -> None:
    (root / "graph2" / "journals").mkdir(parents=True)
    (root / "vault2").mkdir()
    path = write(
        root,
        f"""\
        state_dir: {root}/state
        vaults:
          - name: main
            path: {root}/vault
            sources:
              - path: {root}/graph
                include: readwise
                into: Reading/Readwise
              - path: {root}/graph2
                include: all
          - name: second
            path: {root}/vault2
            sources:
              - path: {root}/graph
                include: all
                into: Logseq
        daemon:
          settle_seconds: 500ms
          rescan_interval: 1h30m
          polling: true
        max_page_size: 512KiB
        repair_mojibake: false
        """,
    )
    config, warnings = load_config(path, env=env)
    assert warnings == []
    assert config == Config(
        vaults=(
            VaultConfig(
                name="main",
                path=root / "vault",
                sources=(
                    SourceConfig(root / "graph", Include.READWISE, "Reading/Readwise"),
                    SourceConfig(root / "graph2", Include.ALL, ""),
                ),
            ),
            VaultConfig(
                name="second",
                path=root / "vault2",
                sources=(SourceConfig(root / "graph", Include.ALL, "Logseq"),),
            ),
        ),
        state_dir=root / "state",
        daemon=DaemonConfig(settle_seconds=0.5, rescan_interval=5400.0, polling=True),
        max_page_bytes=512 * 1024,
        repair_mojibake=False,
        source_file=path,
    )


def test_minimal_file_gets_the_defaults(root: Path, env: dict[str, str]) -> None:
    config, warnings = load_config(write(root, one_source("../graph")), env=env)
    assert warnings == []
    assert config.state_dir == root / "xdg-state" / "syncd"
    assert config.daemon == DaemonConfig(settle_seconds=2.0, rescan_interval=900.0, polling=False)
    assert config.max_page_bytes == 8 * 1024 * 1024
    assert config.repair_mojibake is True
    assert config.vaults[0].sources == (SourceConfig(root / "graph", Include.READWISE, "Readwise"),)


def test_into_defaults_to_the_vault_root_for_include_all(root: Path, env: dict[str, str]) -> None:
    config, _ = load_config(write(root, one_source("../graph", extra="include: all")), env=env)
    assert config.vaults[0].sources[0].into == ""


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ('""', ""),
        ("Readwise/", "Readwise"),
        ("./Reading//Readwise", "Reading/Readwise"),
        ('"."', ""),
        ("Inbox/Readwise Highlights", "Inbox/Readwise Highlights"),
    ],
)
def test_into_is_normalised(root: Path, env: dict[str, str], written: str, stored: str) -> None:
    config, _ = load_config(write(root, one_source("../graph", extra=f"into: {written}")), env=env)
    assert config.vaults[0].sources[0].into == stored


def test_new_vault_whose_parent_exists_is_accepted(root: Path, env: dict[str, str]) -> None:
    config, _ = load_config(write(root, one_source("../graph", vault="../new-vault")), env=env)
    assert config.vaults[0].path == root / "new-vault"
    assert not (root / "new-vault").exists()  # validation creates nothing


# --- every problem, with its key path -------------------------------------------------------


def test_every_problem_in_one_file_is_reported(root: Path, env: dict[str, str]) -> None:
    (root / "a-file").write_text("x")
    problems = problems_of(
        root,
        env,
        f"""\
        state_dir: [1, 2]
        vaults:
          - name: main
            path: {root}/a-file
            sources:
              - path: {root}/missing
                include: everything
              - path: {root}/graph
                into: /abs
          - path: {root}/vault
            sources: []
          - name: main
            path: {root}/vault
            sources:
              - include: all
        daemon:
          settle_seconds: soon
          rescan_interval: 0
          polling: "yes"
        max_page_size: huge
        repair_mojibake: 1
        """,
    )
    assert problems == [
        ("state_dir", "must be a path, not a list"),
        ("vaults[0].path", f"is a file, not a folder ({root}/a-file)"),
        ("vaults[0].sources[0].path", f"does not exist ({root}/missing)"),
        ("vaults[0].sources[0].include", 'must be readwise or all, not "everything"'),
        ("vaults[0].sources[1].into", "must be a folder inside the vault, not an absolute path"),
        ("vaults[1].name", "missing required key"),
        ("vaults[1].sources", "must list at least one source"),
        ("vaults[2].sources[0].path", "missing required key"),
        (
            "daemon.settle_seconds",
            "invalid duration 'soon': use seconds or a number with a unit "
            "(500ms, 2s, 15m, 1h30m, 1d)",
        ),
        ("daemon.rescan_interval", "must be longer than zero"),
        ("daemon.polling", "must be true or false, not text"),
        (
            "max_page_size",
            "invalid size 'huge': use a number of bytes or a size with a unit (512KiB, 8MiB, 10MB)",
        ),
        ("repair_mojibake", "must be true or false, not a number"),
        ("vaults[2].name", 'duplicate vault name "main" (also vaults[0].name)'),
        ("vaults[2].path", f"same folder as vaults[1].path ({root}/vault)"),
    ]


def test_error_prints_as_one_line_naming_the_file(root: Path, env: dict[str, str]) -> None:
    path = write(root, "vaults: []\ndaemon: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    text = str(info.value)
    assert "\n" not in text
    assert text == (
        f"{path}: invalid configuration: vaults: must list at least one vault; "
        "daemon: must be a mapping, not a number"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state_dir: ~/s\n", [("vaults", "missing required key")]),
        ("vaults:\n", [("vaults", "has no value (expected a list of vaults)")]),
        ("vaults: {name: x}\n", [("vaults", "must be a list of vaults, not a mapping")]),
        (
            "vaults: [main]\n",
            [("vaults[0]", "must be a mapping with name, path and sources, not text")],
        ),
        (
            "vaults:\n  - {}\n",
            [
                ("vaults[0].name", "missing required key"),
                ("vaults[0].path", "missing required key"),
                ("vaults[0].sources", "missing required key"),
            ],
        ),
        (
            "vaults:\n  - {name: 2024, path: '', sources: [x]}\n",
            [
                ("vaults[0].name", "must be text, not a number"),
                ("vaults[0].path", "must not be empty"),
                ("vaults[0].sources[0]", "must be a mapping with path, include and into, not text"),
            ],
        ),
        (
            "vaults:\n  - {name: ' ', path: 3, sources: {path: x}}\n",
            [
                ("vaults[0].name", "must not be empty"),
                ("vaults[0].path", "must be a path, not a number"),
                ("vaults[0].sources", "must be a list of sources, not a mapping"),
            ],
        ),
        ("vaults: []\nstate_dir: ''\n", [("vaults", "must list at least one vault")]),
    ],
)
def test_structure_problems(
    root: Path, env: dict[str, str], text: str, expected: list[tuple[str, str]]
) -> None:
    problems = problems_of(root, env, text)
    assert [p for p in problems if p[0] != "state_dir"] == expected


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ("include: 1", "include", "must be readwise or all, not a number"),
        ("include: READWISE", "include", 'must be readwise or all, not "READWISE"'),
        ("into:", "into", 'has no value (write into: "" for the vault root)'),
        ("into: [a]", "into", "must be a folder inside the vault, not a list"),
        ("into: ../Outside", "into", "must stay inside the vault: '..' is not allowed"),
        ("into: a/../../b", "into", "must stay inside the vault: '..' is not allowed"),
        ("into: /home/x", "into", "must be a folder inside the vault, not an absolute path"),
        ("into: ~/notes", "into", "must be a folder inside the vault, not an absolute path"),
        (
            "into: 'a\\b:c'",
            "into",
            "must not contain : \\\\ (Obsidian rejects these characters)",
        ),
        ("into: $NOPE/x", "into", "environment variable $NOPE is not set"),
    ],
)
def test_source_key_problems(
    root: Path, env: dict[str, str], extra: str, key: str, message: str
) -> None:
    problems = problems_of(root, env, one_source("../graph", extra=extra))
    assert problems == [(f"vaults[0].sources[0].{key}", message)]


def test_source_that_is_a_file_is_refused(root: Path, env: dict[str, str]) -> None:
    (root / "file.md").write_text("- x\n")
    problems = problems_of(root, env, one_source("../file.md"))
    assert problems == [("vaults[0].sources[0].path", f"is not a folder ({root}/file.md)")]


def test_vault_whose_parent_is_missing_is_refused(root: Path, env: dict[str, str]) -> None:
    problems = problems_of(root, env, one_source("../graph", vault="../no/vault"))
    assert problems == [("vaults[0].path", f"parent folder does not exist ({root}/no)")]


def test_vault_whose_parent_is_a_file_is_refused(root: Path, env: dict[str, str]) -> None:
    (root / "file").write_text("x")
    problems = problems_of(root, env, one_source("../graph", vault="../file/vault"))
    assert problems == [("vaults[0].path", f"parent is not a folder ({root}/file)")]


def test_same_graph_twice_in_one_vault_is_refused(root: Path, env: dict[str, str]) -> None:
    text = one_source("../graph") + "      - path: ../graph/\n        include: all\n"
    problems = problems_of(root, env, text)
    assert problems == [
        ("vaults[0].sources[1].path", f"same graph as vaults[0].sources[0].path ({root}/graph)")
    ]


def test_state_dir_inside_a_vault_is_refused(root: Path, env: dict[str, str]) -> None:
    problems = problems_of(root, env, "state_dir: ../vault/.state\n" + one_source("../graph"))
    assert problems == [("state_dir", "must not be inside a vault (vaults[0].path)")]


def test_state_dir_inside_a_source_is_refused(root: Path, env: dict[str, str]) -> None:
    problems = problems_of(root, env, "state_dir: ../graph/.syncd\n" + one_source("../graph"))
    assert problems == [("state_dir", "must not be inside a source (vaults[0].sources[0].path)")]


def test_state_dir_that_is_a_file_is_refused(root: Path, env: dict[str, str]) -> None:
    (root / "state").write_text("x")
    problems = problems_of(root, env, "state_dir: ../state\n" + one_source("../graph"))
    assert problems == [("state_dir", f"is a file, not a folder ({root}/state)")]


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("settle_seconds: -1", "settle_seconds", "invalid duration -1: must be zero or more "
         "seconds"),
        ("settle_seconds: true", "settle_seconds", "must be a duration (seconds, or 500ms, 2s, "
         "15m, 1h30m), not true/false"),
        ("rescan_interval:", "rescan_interval", "has no value (expected a duration (seconds, or "
         "500ms, 2s, 15m, 1h30m))"),
        ("rescan_interval: 15 minutes", "rescan_interval", "invalid duration '15 minutes': use "
         "seconds or a number with a unit (500ms, 2s, 15m, 1h30m, 1d)"),
    ],
)  # fmt: skip
def test_daemon_problems(
    root: Path, env: dict[str, str], text: str, key: str, message: str
) -> None:
    problems = problems_of(root, env, one_source("../graph") + f"daemon:\n  {text}\n")
    assert problems == [(f"daemon.{key}", message)]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "invalid size 0: must be at least 1 byte"),
        ("1.5", "invalid size 1.5: must be a whole number of bytes"),
        ("8 XB", "invalid size '8 XB': use a number of bytes or a size with a unit "
         "(512KiB, 8MiB, 10MB)"),
        ("no", "must be a size (bytes, or 512KiB, 8MiB), not true/false"),
    ],
)  # fmt: skip
def test_max_page_size_problems(root: Path, env: dict[str, str], value: str, message: str) -> None:
    problems = problems_of(root, env, one_source("../graph") + f"max_page_size: {value}\n")
    assert problems == [("max_page_size", message)]


# --- nesting: a source inside its own vault, or the reverse ---------------------------------


def test_source_inside_its_vault_is_refused(root: Path, env: dict[str, str]) -> None:
    (root / "vault" / "graph").mkdir(parents=True)
    problems = problems_of(root, env, one_source("../vault/graph", vault="../vault"))
    assert problems == [("vaults[0].sources[0].path", f"is inside its own vault ({root}/vault)")]


def test_vault_inside_its_source_is_refused(root: Path, env: dict[str, str]) -> None:
    problems = problems_of(root, env, one_source("../graph", vault="../graph/vault"))
    assert problems == [
        ("vaults[0].sources[0].path", f"contains its own vault ({root}/graph/vault)")
    ]


def test_source_that_is_the_vault_is_refused(root: Path, env: dict[str, str]) -> None:
    problems = problems_of(root, env, one_source("../graph", vault="../graph"))
    assert problems == [("vaults[0].sources[0].path", f"is the vault folder itself ({root}/graph)")]


def test_nesting_is_seen_through_symlinks(root: Path, env: dict[str, str]) -> None:
    (root / "vault" / "graph" / "pages").mkdir(parents=True)
    (root / "link").symlink_to(root / "vault" / "graph")
    problems = problems_of(root, env, one_source("../link", vault="../vault"))
    assert problems == [("vaults[0].sources[0].path", f"is inside its own vault ({root}/vault)")]


def test_a_source_of_one_vault_may_hold_another_vault(root: Path, env: dict[str, str]) -> None:
    (root / "graph" / "v2").mkdir()
    text = one_source("../graph") + (
        f"  - name: other\n    path: {root}/graph/v2\n    sources:\n      - path: ../graph2\n"
    )
    (root / "graph2" / "pages").mkdir(parents=True)
    config, _ = load_config(write(root, text), env=env)
    assert [vault.name for vault in config.vaults] == ["main", "other"]


# --- the file itself -------------------------------------------------------------------------


def test_missing_file(root: Path, env: dict[str, str]) -> None:
    path = root / "conf" / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    assert info.value.problems == [("", "file not found")]
    assert str(info.value) == f"{path}: invalid configuration: file not found"


def test_folder_instead_of_file(root: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(root / "conf", env=env)
    assert info.value.problems == [("", "is a folder, not a file")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file(root: Path, env: dict[str, str]) -> None:
    path = write(root, one_source("../graph"))
    path.chmod(0)
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    assert info.value.problems == [("", "file not readable (permission denied)")]


def test_invalid_yaml_names_the_line(root: Path, env: dict[str, str]) -> None:
    path = write(root, "vaults:\n  - name: main\n    path: [oops\n  sources: x\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    assert info.value.problems == [
        ("", "invalid YAML at line 4, column 10: expected ',' or ']', but got ':'")
    ]
    assert "\n" not in str(info.value)


def test_tab_indentation_is_invalid_yaml(root: Path, env: dict[str, str]) -> None:
    path = write(root, "vaults:\n\t- name: main\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    assert info.value.problems == [
        ("", "invalid YAML at line 2, column 1: found character '\\t' that cannot start any token")
    ]


def test_not_utf8(root: Path, env: dict[str, str]) -> None:
    path = root / "conf" / "config.yaml"
    path.write_bytes(b"vaults: []\nname: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    assert info.value.problems == [("", "not valid UTF-8 (byte 20)")]


def test_utf8_bom_is_accepted(root: Path, env: dict[str, str]) -> None:
    path = root / "conf" / "config.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + textwrap.dedent(one_source("../graph")).encode())
    config, _ = load_config(path, env=env)
    assert config.vaults[0].name == "main"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the configuration is empty; it needs at least a vaults list"),
        ("# only a comment\n", "the configuration is empty; it needs at least a vaults list"),
        ("- name: main\n", "the top level must be a mapping (vaults: ...), not a list"),
        ("just text\n", "the top level must be a mapping (vaults: ...), not text"),
    ],
)
def test_top_level_must_be_a_mapping(
    root: Path, env: dict[str, str], text: str, message: str
) -> None:
    assert problems_of(root, env, text) == [("", message)]


# --- warnings ------------------------------------------------------------------------------


def test_unknown_keys_are_errors_naming_the_closest_key(root: Path, env: dict[str, str]) -> None:
    text = f"""\
        colour: blue
        vaults:
          - name: main
            path: ../vault
            icon: x
            sources:
              - path: ../graph
              - path: {root}/graph2
                colour: red
                inlcude: all
        daemon:
          polling: false
          setle_seconds: 3
        """
    (root / "graph2").mkdir()  # no pages/ folder: a warning, reported with the errors
    with pytest.raises(ConfigError) as info:
        load_config(write(root, text), env=env)
    known = "known: state_dir, vaults, daemon, max_page_size, repair_mojibake"
    assert info.value.problems == [
        ("colour", f"unknown key ({known})"),
        ("vaults[0].icon", "unknown key (known: name, path, sources)"),
        ("vaults[0].sources[1].colour", "unknown key (known: path, include, into, convert)"),
        ("vaults[0].sources[1].inlcude", "unknown key (did you mean include?)"),
        ("daemon.setle_seconds", "unknown key (did you mean settle_seconds?)"),
    ]
    assert info.value.warnings == [
        f"vaults[0].sources[1].path: no pages/ or journals/ folder: "
        f"is this a Logseq graph root? ({root}/graph2)"
    ]


def test_source_without_pages_or_journals_is_a_warning(root: Path, env: dict[str, str]) -> None:
    config, warnings = load_config(write(root, one_source("../graph/pages")), env=env)
    assert warnings == [
        "vaults[0].sources[0].path: no pages/ or journals/ folder: "
        f"is this a Logseq graph root? ({root}/graph/pages)"
    ]
    assert config.vaults[0].sources[0].path == root / "graph" / "pages"


# --- paths: ~, environment variables, relative to the file ---------------------------------


def test_tilde_and_environment_variables_expand(root: Path, env: dict[str, str]) -> None:
    home = root / "home"
    (home / "Logseq" / "pages").mkdir(parents=True)
    (home / "Logseq2" / "pages").mkdir(parents=True)
    env = {**env, "VAULTS": str(root), "NAME": "Main"}
    text = """\
        state_dir: ~/state
        vaults:
          - name: main
            path: ${VAULTS}/$NAME
            sources:
              - path: ~/Logseq
                into: $NAME/Readwise
              - path: $HOME/Logseq2
                into: Other
        """
    config, _ = load_config(write(root, text), env=env)
    assert config.state_dir == home / "state"
    assert config.vaults[0].path == root / "Main"
    assert [s.path for s in config.vaults[0].sources] == [home / "Logseq", home / "Logseq2"]
    assert config.vaults[0].sources[0].into == "Main/Readwise"


def test_environment_variables_come_from_os_environ_by_default(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_TEST_GRAPH", str(root / "graph"))
    monkeypatch.setenv("XDG_STATE_HOME", str(root / "xdg"))
    config, _ = load_config(write(root, one_source("$SYNCD_TEST_GRAPH")))
    assert config.vaults[0].sources[0].path == root / "graph"
    assert config.state_dir == root / "xdg" / "syncd"


def test_unset_and_empty_variables_are_problems(root: Path, env: dict[str, str]) -> None:
    env = {**env, "EMPTY": ""}
    text = one_source("${MISSING_GRAPH}/x", vault="$EMPTY/vault")
    assert problems_of(root, env, text) == [
        ("vaults[0].path", "environment variable $EMPTY is empty"),
        ("vaults[0].sources[0].path", "environment variable $MISSING_GRAPH is not set"),
    ]


def test_relative_paths_are_relative_to_the_config_file(
    root: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root / "graph")  # not where the file is
    text = "state_dir: state\n" + one_source("../graph", vault="./vault")
    config, _ = load_config(write(root, text), env=env)
    assert config.state_dir == root / "conf" / "state"
    assert config.vaults[0].path == root / "conf" / "vault"
    assert config.vaults[0].sources[0].path == root / "graph"


def test_relative_config_path_is_made_absolute(
    root: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(root, one_source("../graph"))
    monkeypatch.chdir(root)
    config, _ = load_config(Path("conf/config.yaml"), env=env)
    assert config.source_file == root / "conf" / "config.yaml"
    assert config.vaults[0].sources[0].path == root / "graph"


def test_validate_mapping_without_a_file(root: Path, env: dict[str, str]) -> None:
    data = {"vaults": [{"name": "v", "path": "vault", "sources": [{"path": "graph"}]}]}
    config, warnings = validate_mapping(data, base_dir=root, source_file=None, env=env)
    assert warnings == []
    assert config.source_file is None
    assert config.vaults[0].path == root / "vault"
    with pytest.raises(ConfigError) as info:
        validate_mapping({"vaults": []}, base_dir=root, source_file=None, env=env)
    assert str(info.value) == "invalid configuration: vaults: must list at least one vault"


# --- durations and sizes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (2, 2.0),
        (0, 0.0),
        (1.5, 1.5),
        ("2s", 2.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1h 30m 10s", 5410.0),
        ("500ms", 0.5),
        ("1.5h", 5400.0),
        ("1d", 86400.0),
        ("90", 90.0),
        (" 2.5 ", 2.5),
    ],
)
def test_parse_duration(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "m", "15", "15min", "1H", "1h30", "-5s", "fast", "1e3", "inf", "nan", "s15"]
)
def test_parse_duration_rejects(text: str) -> None:
    if text == "15":
        assert parse_duration(text) == 15.0  # a bare number in a string is seconds
        return
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", [-1, -0.5, float("inf"), float("nan")])
def test_parse_duration_rejects_numbers(value: float) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (1000, 1000),
        (4096.0, 4096),
        ("8MB", 8_000_000),
        ("8MiB", 8 * 1024 * 1024),
        ("512KiB", 512 * 1024),
        ("512 kib", 512 * 1024),
        ("10kb", 10_000),
        ("1GiB", 1024**3),
        ("1.5KiB", 1536),
        ("300", 300),
        ("300B", 300),
    ],
)
def test_parse_size(text: str | int | float, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "8XB", "8 M", "-1", "0", 0, -5, 1.5, "1e6"])
def test_parse_size_rejects(text: str | int | float) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


# --- default locations -----------------------------------------------------------------------


def test_default_config_path() -> None:
    assert default_config_path({"SYNCD_CONFIG": "/etc/s.yaml", "HOME": "/h"}) == Path("/etc/s.yaml")
    assert default_config_path({"SYNCD_CONFIG": "~/s.yaml", "HOME": "/h"}) == Path("/h/s.yaml")
    assert default_config_path({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}) == Path(
        "/x/syncd/config.yaml"
    )
    assert default_config_path({"HOME": "/h"}) == Path("/h/.config/syncd/config.yaml")
    # the XDG spec ignores empty and relative values
    assert default_config_path({"XDG_CONFIG_HOME": "", "HOME": "/h"}) == Path(
        "/h/.config/syncd/config.yaml"
    )
    assert default_config_path({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) == Path(
        "/h/.config/syncd/config.yaml"
    )


def test_default_state_dir() -> None:
    assert default_state_dir({"XDG_STATE_HOME": "/s", "HOME": "/h"}) == Path("/s/syncd")
    assert default_state_dir({"HOME": "/h"}) == Path("/h/.local/state/syncd")


# --- syncd once SOURCE VAULT -----------------------------------------------------------------


def test_config_for_paths_defaults(root: Path, env: dict[str, str]) -> None:
    config = config_for_paths(root / "graph", root / "vault", env=env)
    digest = hashlib.sha1(str(root / "vault").encode()).hexdigest()[:12]
    assert config == Config(
        vaults=(
            VaultConfig(
                name="vault",
                path=root / "vault",
                sources=(SourceConfig(root / "graph", Include.READWISE, "Readwise"),),
            ),
        ),
        state_dir=root / "xdg-state" / "syncd" / digest,
    )


def test_config_for_paths_include_all_writes_at_the_root(root: Path, env: dict[str, str]) -> None:
    config = config_for_paths(root / "graph", root / "vault", include=Include.ALL, env=env)
    assert config.vaults[0].sources[0] == SourceConfig(root / "graph", Include.ALL, "")


def test_config_for_paths_options(
    root: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root)
    config = config_for_paths(
        Path("graph"), Path("vault"), into="Inbox/", state_dir=Path("st"), env=env
    )
    assert config.vaults[0].path == root / "vault"
    assert config.vaults[0].sources[0].path == root / "graph"
    assert config.vaults[0].sources[0].into == "Inbox"
    assert config.state_dir == root / "st"


def test_config_for_paths_state_depends_on_the_resolved_vault(
    root: Path, env: dict[str, str]
) -> None:
    (root / "vault").mkdir()
    (root / "alias").symlink_to(root / "vault")
    one = config_for_paths(root / "graph", root / "vault", env=env)
    same = config_for_paths(root / "graph", root / "alias", env=env)
    other = config_for_paths(root / "graph", root / "vault2", env=env)
    assert one.state_dir == same.state_dir
    assert one.state_dir != other.state_dir
    assert one.state_dir.parent == root / "xdg-state" / "syncd"


@pytest.mark.parametrize(
    ("source", "vault", "expected"),
    [
        ("graph", "graph/vault", ("SOURCE", "contains its own vault ({root}/graph/vault)")),
        ("graph/pages", "graph", ("SOURCE", "is inside its own vault ({root}/graph)")),
        ("graph", "graph", ("SOURCE", "is the vault folder itself ({root}/graph)")),
        ("nope", "vault", ("SOURCE", "does not exist ({root}/nope)")),
        ("graph", "no/vault", ("VAULT", "parent folder does not exist ({root}/no)")),
    ],
)
def test_config_for_paths_refuses(
    root: Path, env: dict[str, str], source: str, vault: str, expected: tuple[str, str]
) -> None:
    with pytest.raises(ConfigError) as info:
        config_for_paths(root / source, root / vault, env=env)
    key, message = expected
    assert info.value.problems == [(key, message.format(root=root))]


def test_config_for_paths_refuses_bad_into_and_state_in_vault(
    root: Path, env: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as info:
        config_for_paths(
            root / "graph", root / "vault", into="../x", state_dir=root / "vault" / "s", env=env
        )
    assert info.value.problems == [
        ("--into", "must stay inside the vault: '..' is not allowed"),
        ("--state-dir", f"must not be inside the vault ({root}/vault/s)"),
    ]


# --- the example file ------------------------------------------------------------------------


def test_example_file_documents_and_loads(root: Path, env: dict[str, str]) -> None:
    """config.example.yaml, placed in a folder with examples/graph, loads without warnings."""
    example = REPO / "config.example.yaml"
    shutil.copy(example, root / "config.yaml")
    (root / "examples" / "graph" / "pages").mkdir(parents=True)
    config, warnings = load_config(root / "config.yaml", env=env)
    assert warnings == []
    assert config == Config(
        vaults=(
            VaultConfig(
                name="demo",
                path=root / "demo-vault",
                sources=(SourceConfig(root / "examples" / "graph", Include.READWISE, "Readwise"),),
            ),
        ),
        state_dir=root / "demo-state",
        daemon=DaemonConfig(),
        source_file=root / "config.yaml",
    )
    text = example.read_text(encoding="utf-8")
    for key in ("state_dir", "vaults", "name", "path", "sources", "include", "into", "daemon",
                "settle_seconds", "rescan_interval", "polling", "max_page_size",
                "repair_mojibake"):  # fmt: skip
        assert f"{key}:" in text
    assert "# include: all options (graph migration)" in text


# --- include: all conversion options (convert:) ----------------------------------------------


def convert_source(body: str, include: str = "all") -> str:
    """A one-source file whose source has ``include`` and the ``convert:`` lines ``body``."""
    lines = textwrap.indent(textwrap.dedent(body), " " * 10)
    return (
        textwrap.dedent("""\
        vaults:
          - name: main
            path: ../vault
            sources:
              - path: ../graph
                include: {include}
                convert:
        """).format(include=include)
        + lines
    )


def test_convert_options_default_to_the_recommended_rows(root: Path, env: dict[str, str]) -> None:
    config, _ = load_config(write(root, one_source("../graph", extra="include: all")), env=env)
    assert config.vaults[0].sources[0].convert == ConvertOptions()


def test_convert_options_are_read(root: Path, env: dict[str, str]) -> None:
    text = convert_source("""\
        tag_style: link
        block_ref_style: embed
        task_style: dataview
        logbook: comment
        block_properties: bracketed
        journal_link_alias: false
        date_properties_as_dates: true
        keep_icon: true
        publish_property: true
        expand_macros: false
        embed_assets_as_wikilinks: false
        """)
    config, warnings = load_config(write(root, text), env=env)
    assert warnings == []
    assert config.vaults[0].sources[0].convert == ConvertOptions(
        tag_style=TagStyle.LINK,
        block_ref_style=BlockRefStyle.EMBED,
        task_style=TaskStyle.DATAVIEW,
        logbook=LogbookStyle.COMMENT,
        block_properties=BlockPropertyStyle.BRACKETED,
        journal_link_alias=False,
        date_properties_as_dates=True,
        keep_icon=True,
        publish_property=True,
        expand_macros=False,
        embed_assets_as_wikilinks=False,
    )


def test_some_convert_options_keep_the_other_defaults(root: Path, env: dict[str, str]) -> None:
    config, _ = load_config(write(root, convert_source("logbook: comment\n")), env=env)
    assert config.vaults[0].sources[0].convert == ConvertOptions(logbook=LogbookStyle.COMMENT)


def test_convert_option_problems_name_their_key(root: Path, env: dict[str, str]) -> None:
    text = convert_source("""\
        tag_style: hashtag
        logbook: 3
        keep_icon: "yes"
        journal_link_alias:
        """)
    key = "vaults[0].sources[0].convert"
    assert problems_of(root, env, text) == [
        (f"{key}.tag_style", 'must be tag or link, not "hashtag"'),
        (f"{key}.logbook", "must be drop or comment, not a number"),
        (f"{key}.journal_link_alias", "has no value (expected true or false)"),
        (f"{key}.keep_icon", "must be true or false, not text"),
    ]


def test_convert_must_be_a_mapping(root: Path, env: dict[str, str]) -> None:
    text = one_source("../graph", extra="convert: [tag_style]")
    assert problems_of(root, env, text) == [
        ("vaults[0].sources[0].convert", "must be a mapping of conversion options, not a list")
    ]


def test_unknown_convert_keys_fail_and_readwise_sources_warn(
    root: Path, env: dict[str, str]
) -> None:
    assert problems_of(root, env, convert_source("tag_styl: link\n")) == [
        ("vaults[0].sources[0].convert.tag_styl", "unknown key (did you mean tag_style?)")
    ]
    _, warnings = load_config(
        write(root, convert_source("tag_style: link\n", include="readwise")), env=env
    )
    assert warnings == [
        "vaults[0].sources[0].convert: ignored: only include: all sources convert whole pages"
    ]


def test_example_file_documents_every_convert_option(root: Path, env: dict[str, str]) -> None:
    """Issue 3 acceptance 6: each ALT option with a one-line comment, values the defaults."""
    text = (REPO / "config.example.yaml").read_text(encoding="utf-8")
    start = text.index("#     sources:\n")
    block = [
        line[len("#     ") :] for line in text[start:].splitlines() if line.startswith("#     ")
    ]
    data = yaml.safe_load("\n".join(block))
    convert = data["sources"][0]["convert"]
    names = [f.name for f in dataclasses.fields(ConvertOptions)]
    assert list(convert) == names
    for name in names:  # the line above each key is its comment
        index = next(i for i, line in enumerate(block) if line.strip().startswith(f"{name}:"))
        assert block[index - 1].strip().startswith("# "), name
    (root / "vault").mkdir()
    data["sources"][0]["path"] = str(root / "graph")
    config, warnings = validate_mapping(
        {"vaults": [{"name": "v", "path": str(root / "vault"), **data}]},
        base_dir=root,
        source_file=None,
        env=env,
    )
    assert warnings == []
    assert config.vaults[0].sources[0].convert == ConvertOptions()
