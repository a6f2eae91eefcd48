"""Configuration: YAML file -> frozen dataclasses, every problem reported with its key path
(``config.example.yaml`` documents every key)."""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import enum
import hashlib
import logging
import math
import os
import posixpath
import re
import stat
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeGuard

import yaml

from syncd.convert.context import ConvertOptions
from syncd.errors import ConfigError, SyncdError

if typing.TYPE_CHECKING:
    from syncd.logseq.graph_config import GraphConfig


class Include(enum.Enum):
    """Which pages of a Logseq graph a source syncs."""

    READWISE = "readwise"  # only Readwise highlight pages
    ALL = "all"  # every page, journal and asset


@dataclass(slots=True, unsafe_hash=True)
class SourceConfig:
    path: Path  # Logseq graph root (pages/, journals/, logseq/config.edn)
    include: Include = Include.READWISE
    into: str = "Readwise"  # folder inside the vault, "" = vault root
    # include: all only: the ALT rows of the syntax map (``convert:`` in the file)
    convert: ConvertOptions = field(default_factory=ConvertOptions)


@dataclass(slots=True, unsafe_hash=True)
class VaultConfig:
    name: str
    path: Path  # vault root (the folder holding .obsidian/)
    sources: tuple[SourceConfig, ...]


@dataclass(slots=True, unsafe_hash=True)
class DaemonConfig:
    settle_seconds: float = 2.0
    rescan_interval: float = 15 * 60.0  # seconds
    polling: bool = False  # force watchdog's PollingObserver (network / FUSE folders)


_MAX_PAGE_BYTES: Final = 8 * 1024 * 1024


@dataclass(slots=True, unsafe_hash=True)
class Config:
    vaults: tuple[VaultConfig, ...]
    state_dir: Path = field(default_factory=lambda: Path("~/.local/state/syncd").expanduser())
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    max_page_bytes: int = _MAX_PAGE_BYTES  # larger source pages are reported and skipped
    repair_mojibake: bool = True  # "â€”" -> "—" (UTF-8 that was read as cp1252)
    source_file: Path | None = None  # where this configuration was read from


# --- Loading and validation ------------------------------------------------------------------

log = logging.getLogger(__name__)

DEFAULT_INTO: Final[Mapping[Include, str]] = {Include.READWISE: "Readwise", Include.ALL: ""}

_TOP_KEYS: Final = ("state_dir", "vaults", "daemon", "max_page_size", "repair_mojibake")
_VAULT_KEYS: Final = ("name", "path", "sources")
_SOURCE_KEYS: Final = ("path", "include", "into", "convert")
_DAEMON_KEYS: Final = ("settle_seconds", "rescan_interval", "polling")
_DAEMON: Final[Mapping[str, float]] = dataclasses.asdict(DaemonConfig())

_MISSING: Final = object()
_T = typing.TypeVar("_T")
_E = typing.TypeVar("_E", bound=enum.Enum)

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN_NUMBER = re.compile(rf"{_NUMBER}")
_DURATION_PART = re.compile(rf"\s*({_NUMBER})\s*(ms|s|m|h|d)\s*")
_DURATION_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_HINT: Final = "use seconds or a number with a unit (500ms, 2s, 15m, 1h30m, 1d)"
# a scan lists every page of every source: a shorter interval only burns CPU
MIN_RESCAN_INTERVAL: Final = 0.5

_SIZE = re.compile(rf"\s*({_NUMBER})\s*([A-Za-z]*)\s*")
_SIZE_UNITS: Final = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_SIZE_HINT: Final = "use a number of bytes or a size with a unit (512KiB, 8MiB, 10MB)"

_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_INTO_FORBIDDEN: Final = '*"\\<>:|?'


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$SYNCD_CONFIG``, else ``$XDG_CONFIG_HOME/syncd/config.yaml`` (XDG default ~/.config)."""
    env = os.environ if env is None else env
    explicit = env.get("SYNCD_CONFIG", "")
    if explicit:
        return Path(_expand_user(explicit, env))
    return _xdg_dir(env, "XDG_CONFIG_HOME", ".config") / "syncd" / "config.yaml"


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/syncd`` (XDG default ~/.local/state)."""
    env = os.environ if env is None else env
    return _xdg_dir(env, "XDG_STATE_HOME", ".local/state") / "syncd"


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``text``: a number of seconds, or "500ms", "2s", "15m", "1h30m", "1d";
    else ValueError (one line, for the user), also for negative numbers."""
    seconds = _parse_duration_text(text) if isinstance(text, str) else float(text)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"invalid duration {text!r}: must be zero or more seconds")
    return seconds


def _parse_duration_text(text: str) -> float:
    stripped = text.strip()
    if _PLAIN_NUMBER.fullmatch(stripped):
        return float(stripped)
    total = 0.0
    pos = 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            break
        total += float(match[1]) * _DURATION_UNITS[match[2]]
        pos = match.end()
    if pos == 0 or pos < len(text):
        raise ValueError(f"invalid duration {text!r}: {_DURATION_HINT}")
    return total


def parse_size(text: str | int | float) -> int:
    """Bytes in ``text``: a number of bytes, or "512KiB", "8MiB", "10MB" (KB = 1000, KiB = 1024);
    else ValueError (one line, for the user), also for zero."""
    if isinstance(text, str):
        match = _SIZE.fullmatch(text)
        unit = match[2].lower() if match else ""
        if match is None or unit not in _SIZE_UNITS:
            raise ValueError(f"invalid size {text!r}: {_SIZE_HINT}")
        size = float(match[1]) * _SIZE_UNITS[unit]
    elif isinstance(text, float) and not text.is_integer():
        raise ValueError(f"invalid size {text!r}: must be a whole number of bytes")
    else:
        size = float(text)
    if not math.isfinite(size) or size < 1:
        raise ValueError(f"invalid size {text!r}: must be at least 1 byte")
    return round(size)


def load_config(path: Path, *, env: Mapping[str, str] | None = None) -> tuple[Config, list[str]]:
    """Read and validate ``path``: (config, ``key.path: message`` warnings), or ConfigError
    listing every problem. Relative paths in the file are relative to its folder."""
    path = path.absolute()
    return validate_mapping(_read_yaml(path), base_dir=path.parent, source_file=path, env=env)


def _read_yaml(path: Path) -> object:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([("", "file not found")], path) from None
    except IsADirectoryError:
        raise ConfigError([("", "is a folder, not a file")], path) from None
    except PermissionError:
        raise ConfigError([("", "file not readable (permission denied)")], path) from None
    except OSError as err:
        raise ConfigError([("", f"file not readable ({err.strerror})")], path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError([("", f"not valid UTF-8 (byte {err.start})")], path) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as err:
        raise ConfigError([("", _yaml_error_message(err))], path) from None
    except RecursionError:  # PyYAML composes nested nodes recursively
        raise ConfigError([("", "invalid YAML: nested too deeply")], path) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load``, but a key given twice in one mapping is an error (PyYAML keeps the
    last one silently: a second ``path:`` would replace the first without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # << merges are meant to repeat keys
            key = self.construct_object(key_node, deep=False)
            try:
                first = seen.get(key)
                seen.setdefault(key, key_node.start_mark.line)
            except TypeError:  # an unhashable key: the constructor reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given at line {first + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def _yaml_error_message(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        what = " ".join(str(err.problem or err.context or "syntax error").split())
        if mark is not None:
            return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}"
        return f"invalid YAML: {what}"
    return "invalid YAML: " + " ".join(str(err).split())


def validate_mapping(
    data: object,
    *,
    base_dir: Path,
    source_file: Path | None,
    env: Mapping[str, str] | None = None,
) -> tuple[Config, list[str]]:
    """Parsed YAML as a Config: (config, warnings), or ConfigError with every problem.
    ``env`` (default ``os.environ``) expands ``$VAR`` and ``~``; sources must exist."""
    if data is None:
        problem = ("", "the configuration is empty; it needs at least a vaults list")
        raise ConfigError([problem], source_file)
    if not isinstance(data, dict):
        problem = ("", f"the top level must be a mapping (vaults: ...), not {_kind(data)}")
        raise ConfigError([problem], source_file)
    checker = _Checker(base_dir.absolute(), os.environ if env is None else env)
    config = checker.config(data, source_file)
    if checker.problems or config is None:
        raise ConfigError(checker.problems, source_file, checker.warnings)
    return config, checker.warnings


def config_for_paths(
    source: Path,
    vault: Path,
    *,
    include: Include = Include.READWISE,
    into: str | None = None,
    state_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The configuration of ``syncd once SOURCE VAULT``, checked as a file's, but the paths as
    the shell expanded them (no ``$VAR``). ``state_dir`` defaults to
    ``$XDG_STATE_HOME/syncd/<sha1(resolved vault path)[:12]>``."""
    env = os.environ if env is None else env
    check = _Checker(Path(), env)
    source_path = _resolve_or_report(source, "SOURCE", check.problems)
    source_path = check.source_path("SOURCE", source_path, None, {})
    vault_path = _resolve_or_report(vault, "VAULT", check.problems)
    if vault_path is not None:
        check.check("VAULT", _vault_problem(vault_path))
    if source_path is not None and vault_path is not None:
        check.check("SOURCE", _nesting_problem(source_path, vault_path))
        if not check.problems:
            vaults = [(vault_path, vault_path.name or "VAULT")]
            for problem in page_folder_problems(
                source_path, vaults, None, check.warnings, "SOURCE"
            ):
                check.problem("SOURCE", problem)
    into_clean, into_problem = _check_into(DEFAULT_INTO[include] if into is None else into)
    check.check("--into", into_problem)
    state: Path | None = None
    if state_dir is not None:
        state = _resolve_or_report(state_dir, "--state-dir", check.problems)
    elif vault_path is not None:
        digest = hashlib.sha1(os.fsencode(vault_path), usedforsecurity=False).hexdigest()
        state = default_state_dir(env) / digest[:12]
    if state is not None and vault_path is not None and _within(state, vault_path):
        check.problem("--state-dir", f"must not be inside the vault ({state})")
    if check.problems or source_path is None or vault_path is None or state is None:
        raise ConfigError(check.problems)
    for text in check.warnings:
        log.warning("%s", text)
    source_cfg = SourceConfig(path=source_path, include=include, into=into_clean)
    name = vault_path.name or "vault"
    vault_cfg = VaultConfig(name=name, path=vault_path, sources=(source_cfg,))
    return Config(vaults=(vault_cfg,), state_dir=state)


# --- helpers shared by the file checker and config_for_paths ---------------------------------


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME", "")
    return Path(home) if home else Path.home()


def _xdg_dir(env: Mapping[str, str], var: str, fallback: str) -> Path:
    value = env.get(var, "")
    if value and Path(value).is_absolute():  # the XDG spec ignores relative values
        return Path(value)
    return _home(env) / fallback


def _expand_user(text: str, env: Mapping[str, str]) -> str:
    if text == "~" or text.startswith("~/"):
        return str(_home(env)) + text[1:]
    if text.startswith("~"):  # ~user/...
        try:
            return str(Path(text).expanduser())
        except RuntimeError:  # no such user: keep the text, the path check reports it
            return text
    return text


def _expand_vars(text: str, env: Mapping[str, str]) -> tuple[str, str | None]:
    """``$VAR`` / ``${VAR}`` replaced from ``env``; the second item names an unset/empty one."""
    problem: str | None = None

    def replace(match: re.Match[str]) -> str:
        nonlocal problem
        name = match[1] or match[2]
        value = env.get(name)
        if not value and problem is None:
            state = "is not set" if value is None else "is empty"
            problem = f"environment variable ${name} {state}"
        return value or ""

    return _ENV_VAR.sub(replace, text), problem


def _resolve_or_report(path: Path, key: str, problems: list[tuple[str, str]]) -> Path | None:
    try:
        return path.absolute().resolve()
    except (OSError, RuntimeError, ValueError) as err:
        problems.append((key, f"cannot resolve the path ({err})"))
        return None


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def _source_problem(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return f"does not exist ({path})"
    except OSError as err:
        return f"cannot be read ({path}: {err.strerror})"
    if not stat.S_ISDIR(mode):
        return f"is not a folder ({path})"
    if not os.access(path, os.R_OK | os.X_OK):
        return f"cannot be read ({path}: permission denied)"
    return None


def _vault_problem(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        parent = path.parent
        if not parent.exists():
            return f"parent folder does not exist ({parent})"
        if not parent.is_dir():
            return f"parent is not a folder ({parent})"
        return None  # a new vault: syncd creates the folder
    except OSError as err:
        return f"cannot be read ({path}: {err.strerror})"
    if not stat.S_ISDIR(mode):
        return f"is a file, not a folder ({path})"
    return None


def _nesting_problem(source: Path, vault: Path) -> str | None:
    if source == vault:
        return f"is the vault folder itself ({source})"
    if _within(source, vault):
        return f"is inside its own vault ({vault})"
    if _within(vault, source):
        return f"contains its own vault ({vault})"
    return None


def _folder_vault_problem(folder: str, path: Path, vault: Path, vault_name: str) -> str | None:
    """Whether a folder syncd reads pages from overlaps a vault it writes notes into."""
    if path == vault:
        how = "is"
    elif _within(path, vault):
        how = "is inside"
    elif _within(vault, path):
        how = "holds"
    else:
        return None
    return (
        f'{folder} {how} vault "{vault_name}" ({vault}): syncd would read the notes '
        "it writes as source pages"
    )


def page_folder_problems(
    source: Path,
    vaults: list[tuple[Path, str]],
    graph: GraphConfig | None = None,
    warnings: list[str] | None = None,
    key: str = "",
) -> list[str]:
    """What is wrong with the folders the graph at ``source`` reads pages from (as its
    ``logseq/config.edn`` sets them; ``graph``: as read already) against ``vaults`` ((resolved
    path, name) pairs): one problem per folder; warnings go to ``warnings``, prefixed with
    ``key``. An unreadable ``config.edn`` gives Logseq's default folders."""
    from syncd.logseq.graph_config import CONFIG_PATH, GraphConfig, load_graph_config

    if graph is None:
        try:
            graph = load_graph_config(source)
        except SyncdError as exc:
            if warnings is not None:
                warnings.append(
                    f"{key}: {exc}; checked Logseq's default pages and journals folders instead"
                )
            graph = GraphConfig()
    problems: list[str] = []
    for name, value in (("pages", graph.pages_directory), ("journals", graph.journals_directory)):
        setting = f'{source / CONFIG_PATH} :{name}-directory "{value}"'
        rel = posixpath.normpath("/".join(part for part in value.split("/") if part) or ".")
        outside = None
        if value.startswith("/"):
            path = Path(os.path.realpath(value))
            outside = "is an absolute path, not a folder inside the graph"
        else:
            path = Path(os.path.realpath(source / rel))
            if rel == ".." or rel.startswith("../"):
                outside = f"leads out of the graph folder ({source})"
        folder = f"its {name} folder{'' if value == name else ', ' + setting} ({path})"
        overlaps = (_folder_vault_problem(folder, path, vault, vname) for vault, vname in vaults)
        problem = next((p for p in overlaps if p is not None), None)
        if problem is None and outside is not None:
            problem = f"{setting} {outside}: syncd reads pages only inside the graph"
        if problem is not None:
            problems.append(problem)
    return problems


def _graph_warning(source: Path) -> str | None:
    if (source / "pages").is_dir() or (source / "journals").is_dir():
        return None
    return f"no pages/ or journals/ folder: is this a Logseq graph root? ({source})"


def _check_into(text: str) -> tuple[str, str | None]:
    """``into`` normalised ("Readwise/", "./Readwise" -> "Readwise"), or a problem."""
    if text.startswith("/"):
        return text, "must be a folder inside the vault, not an absolute path"
    bad = sorted({char for char in text if char in _INTO_FORBIDDEN or ord(char) < 32})
    if bad:
        shown = " ".join(repr(char)[1:-1] for char in bad)
        return text, f"must not contain {shown} (Obsidian rejects these characters)"
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        return text, "must stay inside the vault: '..' is not allowed"
    return "/".join(parts), None


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.date):
        return "a date"
    return type(value).__name__


def _choices(names: list[str]) -> str:
    """The choices as text: ``a, b or c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# option name -> its default (a bool or a member of the option's enum), in declaration order
_CONVERT_DEFAULTS: Final[Mapping[str, Any]] = dataclasses.asdict(ConvertOptions())


def _key(prefix: str, key: object) -> str:
    name = key if isinstance(key, str) else repr(key)
    return f"{prefix}.{name}" if prefix else name


# --- the config file checker -----------------------------------------------------------------


@dataclass(slots=True)
class _VaultDraft:
    key: str  # "vaults[0]"
    name: str | None
    path: Path | None
    config: VaultConfig | None  # None when something in it is invalid


class _Checker:
    """Walks parsed YAML, collecting every problem (key path, message) and warning."""

    def __init__(self, base_dir: Path, env: Mapping[str, str]) -> None:
        self.base_dir = base_dir
        self.env = env
        self.problems: list[tuple[str, str]] = []
        self.warnings: list[str] = []

    # generic helpers

    def problem(self, key: str, message: str) -> None:
        self.problems.append((key, message))

    def unknown_keys(self, prefix: str, data: dict[object, object], known: tuple[str, ...]) -> None:
        for key in data:
            if key in known:
                continue
            close = difflib.get_close_matches(key, known, n=1) if isinstance(key, str) else []
            hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(known)})"
            self.problem(_key(prefix, key), f"unknown key{hint}")

    def typed(self, value: object, kind: type[_T], key: str, expected: str) -> TypeGuard[_T]:
        """Whether ``value`` is a ``kind``; a problem is recorded otherwise."""
        if isinstance(value, kind):
            return True
        if value is None:
            self.problem(key, f"has no value (expected {expected})")
        else:
            self.problem(key, f"must be {expected}, not {_kind(value)}")
        return False

    def required(self, data: dict[object, object], prefix: str, name: str) -> object:
        value = data.get(name, _MISSING)
        if value is _MISSING:
            self.problem(_key(prefix, name), "missing required key")
        return value

    def text(self, key: str, value: object, what: str) -> str | None:
        """Expanded (``$VAR``, ``~``) text, or None after recording a problem."""
        if not self.typed(value, str, key, what):
            return None
        if "\0" in value:
            self.problem(key, "must not contain a NUL character")
            return None
        expanded, problem = _expand_vars(value, self.env)
        if problem is not None:
            self.problem(key, problem)
            return None
        result = _expand_user(expanded, self.env)
        if result.startswith("~") and result != "~" and not result.startswith("~/"):
            user = result[1:].split("/", 1)[0]
            self.problem(
                key,
                f"no user named {user!r} on this system ({result}: ~name is that user's home "
                "folder; write ./~name for a folder with this name)",
            )
            return None
        return result

    def path(self, key: str, value: object) -> Path | None:
        text = None if value is _MISSING else self.text(key, value, "a path")
        if text is None:
            return None
        if not text.strip():
            self.problem(key, "must not be empty")
            return None
        path = Path(text)
        if not path.is_absolute():
            path = self.base_dir / path
        return _resolve_or_report(path, key, self.problems)

    def boolean(self, key: str, value: object, default: bool) -> bool:
        if value is _MISSING or not self.typed(value, bool, key, "true or false"):
            return default
        return value

    def choice(self, key: str, value: object, default: _E) -> _E | None:
        """The member of ``default``'s enum whose value is ``value`` (``default`` when it is
        missing), else None after recording a problem."""
        if value is _MISSING:
            return default
        members = {str(member.value): member for member in type(default)}
        if isinstance(value, str) and value in members:
            return members[value]
        shown = f'"{value}"' if isinstance(value, str) else _kind(value)
        self.problem(key, f"must be {_choices(list(members))}, not {shown}")
        return None

    def parsed(
        self, key: str, value: object, default: _T, parse: Callable[[str | float], _T], what: str
    ) -> _T:
        """``parse(value)`` (a number or text), else ``default`` after recording a problem."""
        if value is _MISSING:
            return default
        if value is None or not isinstance(value, int | float | str) or isinstance(value, bool):
            self.typed(value, str, key, what)
            return default
        try:
            return parse(value)
        except ValueError as err:
            self.problem(key, str(err))
            return default

    def duration(self, daemon: dict[object, object], name: str, minimum: float = 0.0) -> float:
        """``daemon.<name>``; zero is allowed when there is no ``minimum``."""
        key, value, default = f"daemon.{name}", daemon.get(name, _MISSING), _DAEMON[name]
        what = "a duration (seconds, or 500ms, 2s, 15m, 1h30m)"
        seconds = self.parsed(key, value, default, parse_duration, what)
        if seconds == 0 and minimum:
            self.problem(key, "must be longer than zero")
        elif 0 < seconds < minimum:
            self.problem(
                key,
                f"{value!r} is too short: at least {minimum:g}s (each scan lists every page "
                "of every source; 15m is the default)",
            )
            return default
        return seconds

    # sections

    def config(self, data: dict[object, object], source_file: Path | None) -> Config | None:
        self.unknown_keys("", data, _TOP_KEYS)
        state_dir = self.state_dir(data.get("state_dir", _MISSING))
        vaults = self.vaults(self.required(data, "", "vaults"))
        daemon = self.daemon(data.get("daemon", _MISSING))
        max_page_bytes = self.parsed(
            "max_page_size",
            data.get("max_page_size", _MISSING),
            _MAX_PAGE_BYTES,
            parse_size,
            "a size (bytes, or 512KiB, 8MiB)",
        )
        repair = self.boolean("repair_mojibake", data.get("repair_mojibake", _MISSING), True)
        self.cross_checks(vaults, state_dir)
        configs = tuple(draft.config for draft in vaults if draft.config is not None)
        if self.problems or state_dir is None or len(configs) != len(vaults):
            return None
        return Config(
            vaults=configs,
            state_dir=state_dir,
            daemon=daemon,
            max_page_bytes=max_page_bytes,
            repair_mojibake=repair,
            source_file=source_file,
        )

    def state_dir(self, value: object) -> Path | None:
        if value is _MISSING:
            return default_state_dir(self.env)
        path = self.path("state_dir", value)
        if path is not None and path.exists() and not path.is_dir():
            self.problem("state_dir", f"is a file, not a folder ({path})")
        return path

    def daemon(self, value: object) -> DaemonConfig:
        if value is _MISSING or not self.typed(value, dict, "daemon", "a mapping"):
            return DaemonConfig()
        self.unknown_keys("daemon", value, _DAEMON_KEYS)
        settle = self.duration(value, "settle_seconds")
        rescan = self.duration(value, "rescan_interval", MIN_RESCAN_INTERVAL)
        polling = self.boolean("daemon.polling", value.get("polling", _MISSING), False)
        return DaemonConfig(settle_seconds=settle, rescan_interval=rescan, polling=polling)

    def vaults(self, value: object) -> list[_VaultDraft]:
        if value is _MISSING or not self.typed(value, list, "vaults", "a list of vaults"):
            return []
        if not value:
            self.problem("vaults", "must list at least one vault")
        return [self.vault(f"vaults[{index}]", item) for index, item in enumerate(value)]

    def vault(self, key: str, value: object) -> _VaultDraft:
        if not self.typed(value, dict, key, "a mapping with name, path and sources"):
            return _VaultDraft(key, None, None, None)
        self.unknown_keys(key, value, _VAULT_KEYS)
        name = self.vault_name(key, self.required(value, key, "name"))
        path = self.path(f"{key}.path", self.required(value, key, "path"))
        if path is not None:
            self.check(f"{key}.path", _vault_problem(path))
        sources = self.sources(key, self.required(value, key, "sources"), path)
        config = None
        if name is not None and path is not None and sources is not None:
            config = VaultConfig(name=name, path=path, sources=sources)
        return _VaultDraft(key, name, path, config)

    def vault_name(self, key: str, value: object) -> str | None:
        if value is _MISSING or not self.typed(value, str, f"{key}.name", "text"):
            return None
        if not value.strip():
            self.problem(f"{key}.name", "must not be empty")
            return None
        return value

    def sources(
        self, vault_key: str, value: object, vault: Path | None
    ) -> tuple[SourceConfig, ...] | None:
        key = f"{vault_key}.sources"
        if value is _MISSING or not self.typed(value, list, key, "a list of sources"):
            return None
        if not value:
            self.problem(key, "must list at least one source")
            return None
        seen: dict[Path, str] = {}
        configs = [
            self.source(f"{key}[{index}]", item, vault, seen) for index, item in enumerate(value)
        ]
        done = tuple(config for config in configs if config is not None)
        return done if len(done) == len(configs) else None

    def source(
        self, key: str, value: object, vault: Path | None, seen: dict[Path, str]
    ) -> SourceConfig | None:
        if not self.typed(value, dict, key, "a mapping with path, include and into"):
            return None
        self.unknown_keys(key, value, _SOURCE_KEYS)
        path = self.path(f"{key}.path", self.required(value, key, "path"))
        path = self.source_path(f"{key}.path", path, vault, seen)
        include = self.choice(f"{key}.include", value.get("include", _MISSING), Include.READWISE)
        into = self.into(f"{key}.into", value.get("into", _MISSING), include)
        convert = self.convert(f"{key}.convert", value.get("convert", _MISSING), include)
        if path is None or include is None or into is None or convert is None:
            return None
        return SourceConfig(path=path, include=include, into=into, convert=convert)

    def source_path(
        self, key: str, path: Path | None, vault: Path | None, seen: dict[Path, str]
    ) -> Path | None:
        if path is None:
            return None
        problem = _source_problem(path)
        if problem is None and vault is not None:
            problem = _nesting_problem(path, vault)
        if problem is None and path in seen:
            problem = f"same graph as {seen[path]} ({path})"
        seen.setdefault(path, key)
        if problem is not None:
            self.problem(key, problem)
            return None
        warning = _graph_warning(path)
        if warning is not None:
            self.warnings.append(f"{key}: {warning}")
        return path

    def into(self, key: str, value: object, include: Include | None) -> str | None:
        if value is _MISSING:
            return DEFAULT_INTO[include or Include.READWISE]
        if value is None:
            self.problem(key, 'has no value (write into: "" for the vault root)')
            return None
        text = self.text(key, value, "a folder inside the vault")
        if text is None:
            return None
        clean, problem = _check_into(text)
        return self.check(key, problem, clean)

    def convert(self, key: str, value: object, include: Include | None) -> ConvertOptions | None:
        """The ``convert:`` mapping: one key per field of ConvertOptions (enum or boolean)."""
        if value is _MISSING:
            return ConvertOptions()
        if not self.typed(value, dict, key, "a mapping of conversion options"):
            return None
        if include is Include.READWISE:
            self.warnings.append(f"{key}: ignored: only include: all sources convert whole pages")
        self.unknown_keys(key, value, tuple(_CONVERT_DEFAULTS))
        chosen: dict[str, object] = {}
        for name, default in _CONVERT_DEFAULTS.items():
            raw, where = value.get(name, _MISSING), f"{key}.{name}"
            is_bool = isinstance(default, bool)
            chosen[name] = (self.boolean if is_bool else self.choice)(where, raw, default)
        if None in chosen.values():
            return None
        return ConvertOptions(**chosen)  # type: ignore[arg-type]

    def check(self, key: str, problem: str | None, value: str | None = None) -> str | None:
        """Record ``problem`` if any; ``value`` when there was none."""
        if problem is not None:
            self.problem(key, problem)
            return None
        return value

    def cross_checks(self, vaults: list[_VaultDraft], state_dir: Path | None) -> None:
        seen: dict[object, str] = {}
        for draft in vaults:
            for field_, value, clash in (
                ("name", draft.name, 'duplicate vault name "{}" (also {})'),
                ("path", draft.path, "same folder as {1} ({0})"),
            ):
                key = f"{draft.key}.{field_}"
                if value is not None and (field_, value) in seen:
                    self.problem(key, clash.format(value, seen[field_, value]))
                seen.setdefault((field_, value), key)
        if state_dir is not None:
            self.check_state_dir(state_dir, vaults)
        self.check_graph_folders(vaults)

    def check_graph_folders(self, vaults: list[_VaultDraft]) -> None:
        """No vault overlaps a folder any source reads pages from (syncd reading its own
        notes back as pages), after each graph's ``logseq/config.edn``."""
        targets = [(d.path, d.name or d.key) for d in vaults if d.path is not None]
        for draft in vaults:
            for index, source in enumerate(draft.config.sources if draft.config else ()):
                key = f"{draft.key}.sources[{index}].path"
                for problem in page_folder_problems(source.path, targets, None, self.warnings, key):
                    self.problem(key, problem)

    def check_state_dir(self, state_dir: Path, vaults: list[_VaultDraft]) -> None:
        for draft in vaults:
            if draft.path is not None and _within(state_dir, draft.path):
                self.problem("state_dir", f"must not be inside a vault ({draft.key}.path)")
                return
            for index, source in enumerate(draft.config.sources if draft.config else ()):
                if _within(state_dir, source.path):
                    where = f"{draft.key}.sources[{index}].path"
                    self.problem("state_dir", f"must not be inside a source ({where})")
                    return
