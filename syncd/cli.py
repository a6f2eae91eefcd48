"""Command line: ``syncd once | run | status | check`` (design.md "Command line").

Exit status: 0 all good; 1 some pages failed (the others were still synced, each failure
printed with its path and reason); 2 usage or configuration error (nothing written); 75
another syncd (the daemon) holds the state folder (nothing written; try again later).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from syncd import __version__
from syncd.config import (
    Config,
    Include,
    config_for_paths,
    default_config_path,
    load_config,
)
from syncd.errors import AlreadyRunning, ConfigError, SyncdError
from syncd.parallel import worker_count
from syncd.state import StateStore
from syncd.sync import SyncEngine
from syncd.vault import prepare_vaults
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
        choices=[i.value for i in Include],
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
    sub.add_parser(
        "status",
        parents=[common],
        help="documents, notes, last run, failures, daemon",
        description="Show what syncd knows: per vault the documents and notes, the last run, "
        "recent failures, and whether the daemon is running.",
    )
    sub.add_parser(
        "check",
        parents=[common],
        help="validate the configuration, list every problem",
        description="Validate the configuration and list every problem with its key path. "
        "Exit 0 when it is usable, 2 otherwise.",
    )
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    from syncd.daemon.logsetup import configure_logging as setup

    setup(-1 if quiet else verbose)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
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
        _print_config_error(exc)
        return EXIT_USAGE
    except SyncdError as exc:  # e.g. a state folder that cannot be created: one line, no trace
        log.error("%s", exc)
        return EXIT_FAILURES
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130


@contextlib.contextmanager
def _lean_log_records() -> Iterator[None]:
    """``syncd once`` logs a line per note: leave out of its log records what no log line of
    syncd shows (thread, process, the caller's file and line), as the logging HOWTO's
    "Optimization" section describes; 11 -> 7 us a line. Restored afterwards."""
    saved = (
        logging.logThreads,
        logging.logProcesses,
        logging.logMultiprocessing,
        logging._srcfile,
    )
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    try:
        yield
    finally:
        (
            logging.logThreads,
            logging.logProcesses,
            logging.logMultiprocessing,
            logging._srcfile,
        ) = saved


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config) if args.config else default_config_path()


def _print_config_error(exc: ConfigError) -> None:
    where = f"{exc.path}: " if exc.path else ""
    for key, message in exc.problems:
        log.error("%s%s%s", where, f"{key}: " if key else "", message)


def _load(args: argparse.Namespace) -> Config:
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
    state_path = config.state_dir / "state.sqlite3"
    # with --dry-run nothing at all is written: read the state if there is one, else none
    state = StateStore.open_snapshot(state_path) if dry_run else StateStore.open(state_path)
    with state:
        try:
            if not dry_run:
                prepare_vaults(config, state)
                from syncd.daemon.lock import InstanceLock

                lock = InstanceLock.acquire(config.state_dir)
            else:
                lock = None
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
            progress = _Progress(sys.stderr) if (sys.stderr.isatty() and not quiet) else None
            started = time.monotonic()
            report = engine.scan(progress=progress)
            if progress is not None:
                progress.close()
            if not dry_run:
                state.set_meta("last_run", _now_iso())
                state.set_meta("last_run_result", _summary(report, time.monotonic() - started))
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
    for text in report.diffs:
        sys.stdout.write(text)
    if not quiet:
        print(_summary(report, time.monotonic() - started, dry_run=dry_run), file=sys.stderr)
        for line in report.migration.lines():
            print(line)
    return EXIT_FAILURES if report.failures or report.known_failures else EXIT_OK


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


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


class _Progress:
    """A one-line progress bar on a terminal (stderr), redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if total < 20 or (now - self.last < 0.1 and done != total):
            return
        self.last = now
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} pages")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def cmd_status(args: argparse.Namespace) -> int:
    config = _load(args)
    state_path = config.state_dir / "state.sqlite3"
    from syncd.daemon.lock import read_lock_owner

    pid = read_lock_owner(config.state_dir)
    if not state_path.exists():
        print(f"daemon: {f'running (pid {pid})' if pid else 'not running'}")
        print(f"state: none yet ({state_path}); run `syncd once` or `syncd run`")
        return EXIT_OK
    with StateStore.open(state_path) as state:
        meta = {key: state.get_meta(key) for key in _STATUS_META}
        for line in _daemon_lines(pid, meta):
            print(line)
        if meta["last_run"]:
            print(f"last `syncd once`: {meta['last_run']} ({meta['last_run_result'] or '?'})")
        for vault in config.vaults:
            counts = state.counts(vault.name)
            summary = ", ".join(f"{n} {k}" for k, n in counts.items())
            print(f"vault {vault.name} ({vault.path}): {summary}")
            # the pages counted as failed, each once (the failure log holds every attempt)
            for source, failed in sorted(state.failed_pages(vault.name).items()):
                print(f"  failed since {failed.since}: {source}: {failed.reason}")
    return EXIT_OK


_STATUS_META = (
    "daemon_pid",
    "daemon_started",
    "daemon_stopped",
    "daemon_stopped_pid",
    "pending",
    "last_scan",
    "last_scan_result",
    "last_run",
    "last_run_result",
)


def _daemon_lines(pid: int | None, meta: dict[str, str | None]) -> list[str]:
    """What ``syncd status`` says about the daemon, from the lock and the keys it records."""
    started, stopped = meta["daemon_started"], meta["daemon_stopped"]
    scan = meta["last_scan"]
    if scan and meta["last_scan_result"]:
        scan = f"{scan} ({meta['last_scan_result']})"
    if pid is not None:
        since = f", since {started}" if started and meta["daemon_pid"] == str(pid) else ""
        lines = [f"daemon: running (pid {pid}{since})"]
        if meta["pending"] is not None:
            lines.append(f"  pages pending: {meta['pending']}")
        lines.append(f"  last scan: {scan or 'none yet (the first scan is running)'}")
        return lines
    if meta["daemon_pid"] is None:
        lines = ["daemon: not running (never started on this state directory)"]
    elif stopped is not None and meta["daemon_stopped_pid"] == meta["daemon_pid"]:
        lines = [f"daemon: not running (pid {meta['daemon_pid']} stopped {stopped})"]
    else:  # killed, crashed or the machine went down: the next start rescans
        lines = [
            f"daemon: not running (pid {meta['daemon_pid']} started {started or '?'} "
            "and did not stop cleanly; the next start rescans everything)"
        ]
    if scan:
        lines.append(f"last scan: {scan}")
    return lines


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
