"""Command line: ``syncd once | run | status | check`` (design.md "Command line"). Exit
statuses: ``EPILOG``; with 1 the other pages were synced, with 2 and 75 nothing was written."""

from __future__ import annotations

# Only what parsing the command line needs is imported here (``syncd --version`` stays fast);
# each command imports the rest.
import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncd import __version__

if TYPE_CHECKING:
    from syncd.config import Config
    from syncd.writer import RunReport

log = logging.getLogger("syncd")

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_BUSY = 75  # EX_TEMPFAIL: another syncd (the daemon) holds the state folder; as `syncd run`

DESCRIPTION = """\
syncd keeps an Obsidian vault fed from Logseq. Readwise highlight pages in a Logseq graph
become Obsidian notes; every later Readwise sync adds its new highlights exactly once and
never touches what you wrote in the vault. With `include: all` it migrates a whole graph.
"""

EPILOG = """\
examples:
  syncd once ~/Logseq ~/Obsidian/Main            Readwise pages -> ~/Obsidian/Main/Readwise/
  syncd once ~/Logseq ~/Obsidian/Main --include all --into ""   migrate the whole graph
  syncd once --dry-run --diff                    what the configured sync would change
  syncd check                                    validate ~/.config/syncd/config.yaml
  syncd run                                      the daemon (systemd runs this)

configuration: -c FILE, else $SYNCD_CONFIG, else $XDG_CONFIG_HOME/syncd/config.yaml
(config.example.yaml documents every key). Exit status: 0 ok, 1 some pages failed,
2 usage or configuration error, 75 the daemon holds the state folder (try again later).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncd",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"syncd {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-c", "--config", type=Path, metavar="FILE", help="configuration file (see above)"
    )
    common.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    once = sub.add_parser(
        "once",
        parents=[common],
        help="one pass over every source, then exit",
        description="Sync every source once and exit. With SOURCE and VAULT no configuration "
        "file is needed: SOURCE is a Logseq graph folder (holding pages/), VAULT an Obsidian "
        "vault folder (created if missing).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  syncd once ~/Logseq ~/Obsidian/Main\n"
        "  syncd once -c config.yaml --vault main --dry-run --diff\n",
    )
    once.add_argument("source", nargs="?", type=Path, help="Logseq graph folder")
    once.add_argument("vault", nargs="?", type=Path, help="Obsidian vault folder")
    once.add_argument("--vault", dest="vault_name", metavar="NAME", help="only this vault")
    once.add_argument(
        "--include",
        choices=["readwise", "all"],  # config.Include (not imported: --version stays fast)
        help="with SOURCE VAULT: readwise pages only (default) or every page",
    )
    once.add_argument(
        "--into",
        metavar="DIR",
        help='with SOURCE VAULT: folder inside the vault (default "Readwise"; "" = root)',
    )
    once.add_argument(
        "--state-dir", type=Path, metavar="DIR", help="with SOURCE VAULT: where state lives"
    )
    once.add_argument(
        "--dry-run",
        action="store_true",
        help="write nothing (not even state); say what would change",
    )
    once.add_argument("--diff", action="store_true", help="also print a unified diff per note")

    sub.add_parser(
        "run",
        parents=[common],
        help="the daemon, in the foreground (systemd runs this)",
        description="Watch every source and keep the vaults in sync until SIGTERM. SIGHUP "
        "reloads the configuration.",
    )
    status = sub.add_parser(
        "status",
        parents=[common],
        help="documents, notes, last run, failures, daemon",
        description="Show what syncd knows: per vault and per source the documents, notes "
        "and pages, the pages that failed, the last run, and whether the daemon is running "
        "(times are local). Without a configuration file it reads every state in the default "
        "state folder (what `syncd once SOURCE VAULT` left).",
    )
    status.add_argument(
        "--json", action="store_true", help="print JSON (docs/status-json.md: the schema)"
    )
    sub.add_parser(
        "check",
        parents=[common],
        help="validate the configuration, list every problem",
        description="Validate the configuration and list every problem with its key path. "
        "Exit 0 when it is usable, 2 otherwise.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from syncd.daemon.logsetup import configure_logging, log_config_error
    from syncd.errors import ConfigError, SyncdError

    configure_logging(-1 if args.quiet else args.verbose)
    try:
        if args.command == "once":
            with _lean_log_records():
                return cmd_once(args, parser)
        if args.command == "run":
            from syncd.daemon.service import run_daemon

            return run_daemon(_config_path(args))
        if args.command == "status":
            return cmd_status(args)
        return cmd_check(args)
    except ConfigError as exc:
        for warning in exc.warnings:
            log.warning("%s%s", f"{exc.path}: " if exc.path else "", warning)
        log_config_error(exc)
        return EXIT_USAGE
    except SyncdError as exc:  # e.g. a state folder that cannot be created: one line, no trace
        log.error("%s", exc)
        return EXIT_FAILURES
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130


@contextlib.contextmanager
def _reader_may_leave() -> Iterator[None]:
    """Around what goes to stdout: a reader that stops reading (``| head``) ends the output
    quietly, the command's exit status unchanged (what is left goes to /dev/null)."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextlib.contextmanager
def _lean_log_records() -> Iterator[None]:
    """``syncd once`` logs a line per note: leave out of its log records what no log line of
    syncd shows (thread, process, the caller's file and line), as the logging HOWTO's
    "Optimization" section describes; 11 -> 7 us a line. Restored afterwards."""
    lean: dict[str, object] = {"logThreads": False, "logProcesses": False, "_srcfile": None}
    lean["logMultiprocessing"] = False
    saved = {name: getattr(logging, name) for name in lean}
    vars(logging).update(lean)
    try:
        yield
    finally:
        vars(logging).update(saved)


def _config_path(args: argparse.Namespace) -> Path:
    from syncd.config import default_config_path

    return Path(args.config) if args.config else default_config_path()


def _load(args: argparse.Namespace) -> Config:
    from syncd.config import load_config

    path = _config_path(args)
    config, warnings = load_config(path)
    for warning in warnings:
        log.warning("%s: %s", path, warning)
    return config


def cmd_check(args: argparse.Namespace) -> int:
    config = _load(args)
    sources = sum(len(v.sources) for v in config.vaults)
    print(f"{config.source_file}: OK ({len(config.vaults)} vault(s), {sources} source(s))")
    return EXIT_OK


def cmd_once(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import dataclasses

    from syncd.config import Include, config_for_paths
    from syncd.errors import ConfigError

    if (args.source is None) != (args.vault is None):
        parser.error("give both SOURCE and VAULT, or neither (then the configuration is used)")
    if args.source is not None:
        if args.config is not None or args.vault_name is not None:
            parser.error("SOURCE VAULT cannot be combined with -c/--config or --vault")
        include = Include(args.include) if args.include else Include.READWISE
        config = config_for_paths(
            args.source, args.vault, include=include, into=args.into, state_dir=args.state_dir
        )
    else:
        if args.include or args.into is not None or args.state_dir is not None:
            parser.error("--include, --into and --state-dir go with SOURCE VAULT")
        config = _load(args)
    if args.vault_name is not None:
        chosen = tuple(v for v in config.vaults if v.name == args.vault_name)
        if not chosen:
            names = ", ".join(v.name for v in config.vaults)
            raise ConfigError([("--vault", f"no vault named {args.vault_name!r} (have: {names})")])
        config = dataclasses.replace(config, vaults=chosen)
    return run_once(config, dry_run=args.dry_run, diff=args.diff, quiet=args.quiet)


def run_once(config: Config, *, dry_run: bool, diff: bool, quiet: bool = False) -> int:
    import time

    from syncd.errors import AlreadyRunning, SyncdError
    from syncd.parallel import worker_count
    from syncd.state import StateStore, iso
    from syncd.sync import SyncEngine
    from syncd.vault import prepare_vaults

    state_path = config.state_dir / "state.sqlite3"
    # with --dry-run nothing at all is written: read the state if there is one, else none
    state = StateStore.open_snapshot(state_path) if dry_run else StateStore.open(state_path)
    with state:
        lock = None
        try:
            # a vault folder that is not there yet is created (a dry run says it would be);
            # one that lost its .obsidian/ after syncd wrote into it is refused (unmounted?)
            new_vaults = prepare_vaults(config, state, dry_run=dry_run)
            if not dry_run:
                from syncd.daemon.lock import InstanceLock

                lock = InstanceLock.acquire(config.state_dir)
        except AlreadyRunning as exc:  # nothing wrong with the command: try again later
            log.error("%s; stop it or let it sync (it watches the same sources)", exc)
            return EXIT_BUSY
        except SyncdError as exc:
            log.error("%s", exc)
            return EXIT_USAGE
        try:
            # the migration report (include: all) is printed below, not logged
            engine = SyncEngine(
                config, state, dry_run=dry_run, diff=diff, log_report=False, workers=worker_count()
            )
            if dry_run:
                engine.writer.new_vaults = new_vaults
            started = time.monotonic()
            with _progress_bars(leave=not quiet) as progress:
                report = engine.scan(progress=progress)
            if not dry_run:
                state.set_meta("last_run", iso())
                state.set_meta("last_run_result", _summary(report, time.monotonic() - started))
                state.set_meta(
                    "vault_paths", json.dumps({v.name: str(v.path) for v in config.vaults})
                )
        except SyncdError as exc:
            # the state store or a vault's file system failed under the whole run (disk full,
            # I/O error): the notes already written stay, and are recognised by the next run
            log.error("run stopped: %s; notes written so far are kept, the next run completes", exc)
            return EXIT_FAILURES
        finally:
            if lock is not None:
                lock.release()
    for path, reason in report.known_failures:  # not read again: said here, once per run
        log.error("%s: %s", path, reason)
    with _reader_may_leave():
        for text in report.diffs:
            sys.stdout.write(text)
    if not quiet:  # (on stderr: said even when stdout's reader left early)
        print(_summary(report, time.monotonic() - started, dry_run=dry_run), file=sys.stderr)
        with _reader_may_leave():
            for line in report.migration.lines():
                print(line)
    return EXIT_FAILURES if report.failures or report.known_failures else EXIT_OK


def _summary(report: RunReport, seconds: float, *, dry_run: bool = False) -> str:
    verb = "would change" if dry_run else "changed"
    return (
        f"{report.pages} pages, {verb} {len(report.changed)} notes "
        f"({report.notes_created} new, +{report.highlights_added} highlights), "
        f"{report.unchanged} unchanged, {len(report.failures) + len(report.known_failures)} "
        f"failed, {seconds:.2f}s"
        + (
            f", {len(report.not_readwise)} pages like Readwise pages not taken (-v lists them)"
            if report.not_readwise
            else ""
        )
    )


@contextlib.contextmanager
def _progress_bars(*, leave: bool) -> Iterator[Any]:
    """On a terminal (stderr, not the journal): a tqdm bar per phase of the run, named after
    it, with the log lines printed above it (``logging_redirect_tqdm``); ``leave`` False (-q):
    each bar is wiped when its phase ends. Elsewhere no bar: yields None."""
    from syncd.daemon.logsetup import stderr_is_journal

    if not sys.stderr.isatty() or stderr_is_journal():
        yield None
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    bars: dict[str, tqdm[Any]] = {}

    def progress(phase: str, done: int, total: int) -> None:
        bar = bars.get(phase)
        if bar is None:
            for old in bars.values():
                old.close()
            bar = bars[phase] = tqdm(total=total, desc=phase, unit="page", leave=leave)
        bar.update(done - bar.n)

    with logging_redirect_tqdm():
        try:
            yield progress
        finally:
            for bar in bars.values():
                bar.close()


def cmd_status(args: argparse.Namespace) -> int:
    from syncd.config import default_config_path, default_state_dir

    if args.config is not None or default_config_path().exists():
        config = _load(args)
        named = {v.name: str(v.path) for v in config.vaults}
        report = [_state_status(config.state_dir, named)]
    else:  # no configuration: every state `syncd once` or `syncd run` left in the default place
        home = default_state_dir()
        dirs = [d.parent for d in sorted(home.glob("*/state.sqlite3"))]
        dirs = [d for d in [home, *dirs] if (d / "state.sqlite3").exists()] or [home]
        report = [_state_status(d, None) for d in dirs]
    with _reader_may_leave():
        if args.json:
            print(json.dumps({"states": report}, indent=2, ensure_ascii=False))
        else:
            for entry in report:
                print("\n".join(_status_lines(entry)))
    return EXIT_OK


def _local(iso: str | None) -> str | None:
    """A time syncd stored (ISO 8601, UTC) in the local time zone."""
    from datetime import datetime

    if iso:
        with contextlib.suppress(ValueError):  # (not a time: as it is)
            return datetime.fromisoformat(iso).astimezone().isoformat(timespec="seconds")
    return iso


def _state_status(state_dir: Path, named: dict[str, str] | None) -> dict[str, Any]:
    """What ``syncd status --json`` says about one state folder (docs/status-json.md);
    ``named``: the configured vaults (name -> path), else those the state knows."""
    from syncd.daemon.lock import read_lock_owner
    from syncd.state import StateStore

    state_path = state_dir / "state.sqlite3"
    pid = read_lock_owner(state_dir)
    entry: dict[str, Any] = {"state": str(state_path), "exists": state_path.exists()}
    if not entry["exists"]:
        entry["daemon"] = {"running": pid is not None, "pid": pid}
        entry["vaults"] = []
        return entry
    with StateStore.open(state_path) as state:
        meta = state.get_meta
        if named is None:
            paths = json.loads(meta("vault_paths") or "{}")
            named = {name: paths.get(name) for name in state.vault_names()}
        vaults = []
        for name, path in named.items():
            sources = state.source_counts(name)
            failed = state.failed_pages(name)
            vaults.append(
                {
                    "name": name,
                    "path": path,
                    **state.counts(name),
                    "pages": sum(s["pages"] for s in sources.values()),
                    "failed": len(failed),
                    "sources": [{"path": p, **counts} for p, counts in sources.items()],
                    "failures": [
                        {"page": page, "reason": f.reason, "since": _local(f.since)}
                        for page, f in sorted(failed.items())
                    ],
                }
            )
        stopped_clean = meta("daemon_stopped") is not None and (
            meta("daemon_stopped_pid") == meta("daemon_pid")
        )
        entry["daemon"] = {
            "running": pid is not None,
            "pid": pid if pid is not None else _int(meta("daemon_pid")),
            "started": _local(meta("daemon_started")),
            "stopped": _local(meta("daemon_stopped")) if stopped_clean else None,
            "pending": _int(meta("pending")) if pid is not None else None,
            "last_scan": _local(meta("last_scan")),
            "last_scan_result": meta("last_scan_result"),
        }
        entry["last_run"] = _local(meta("last_run"))
        entry["last_run_result"] = meta("last_run_result")
    entry["vaults"] = vaults
    return entry


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def _status_lines(entry: dict[str, Any]) -> list[str]:
    """``syncd status`` as text: the JSON's facts, one line each."""
    daemon = entry["daemon"]
    pid = daemon["pid"]
    started = daemon.get("started")
    if daemon["running"]:
        lines = [f"daemon: running (pid {pid}{f', since {started}' if started else ''})"]
        if daemon.get("pending") is not None:
            lines.append(f"  pages pending: {daemon['pending']}")
    elif pid is None:
        lines = ["daemon: not running (never started on this state directory)"]
    elif daemon["stopped"] is not None:
        lines = [f"daemon: not running (pid {pid} stopped {daemon['stopped']})"]
    else:  # killed, crashed or the machine went down: the next start rescans
        lines = [
            f"daemon: not running (pid {pid} started {started or '?'} "
            "and did not stop cleanly; the next start rescans everything)"
        ]
    if not entry["exists"]:
        lines.append(f"state: none yet ({entry['state']}); run `syncd once` or `syncd run`")
        return lines
    lines.append(f"state: {entry['state']}")
    scan = daemon["last_scan"]
    if scan or daemon["running"]:
        result = f" ({daemon['last_scan_result']})" if scan and daemon["last_scan_result"] else ""
        scan = f"{scan}{result}" if scan else "none yet (the first scan is running)"
        lines.append(f"{'  ' if daemon['running'] else ''}last scan: {scan}")
    if entry["last_run"]:
        lines.append(f"last `syncd once`: {entry['last_run']} ({entry['last_run_result'] or '?'})")
    for vault in entry["vaults"]:
        where = f" ({vault['path']})" if vault["path"] else ""
        lines.append(f"vault {vault['name']}{where}: {_counts(vault)}, {vault['failed']} failed")
        for source in vault["sources"]:
            lines.append(f"  source {source['path']}: {_counts(source)}")
        for failure in vault["failures"]:
            lines.append(
                f"  failed since {failure['since']}: {failure['page']}: {failure['reason']}"
            )
    return lines


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{counts[k]} {k}" for k in ("documents", "notes", "pages"))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
