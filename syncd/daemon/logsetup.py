"""Logging to stderr: readable on a terminal, journald-native under systemd.

Under systemd (stderr is the journal stream named by ``$JOURNAL_STREAM``, or ``$INVOCATION_ID``
is set) each line is ``<N>message``: journald reads the ``<N>`` syslog priority and adds its own
timestamps. A record is always one line (tracebacks are folded), since journald makes every
line of a stream its own entry. Elsewhere lines carry a timestamp and the level name.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from syncd.errors import ConfigError

# logging level -> syslog priority (sd-daemon(3)); below INFO: 7 (debug)
_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
_MARK = "_syncd_handler"


def syslog_priority(levelno: int) -> int:
    return next((priority for level, priority in _PRIORITY if levelno >= level), 7)


def stderr_is_journal(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> bool:
    """True when stderr goes to journald (``$JOURNAL_STREAM`` = its ``dev:ino``) or syncd runs
    as a systemd service (``$INVOCATION_ID``)."""
    env = os.environ if env is None else env
    if env.get("INVOCATION_ID"):
        return True
    journal = env.get("JOURNAL_STREAM", "")
    if not journal:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return journal == f"{st.st_dev}:{st.st_ino}"


class JournalFormatter(logging.Formatter):
    """``<N>message`` on one line; traceback lines folded into it with `` | ``."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"<{syslog_priority(record.levelno)}>" + " | ".join(text.splitlines())


class StampFormatter(logging.Formatter):
    """``logging.Formatter`` that makes a timestamp once a second (its format has no finer
    field): a bulk run logs a line per note, and strftime was a seventh of its cost."""

    _stamp: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._stamp[0]:
            self._stamp = (second, super().formatTime(record, datefmt))
        return self._stamp[1]


def configure_logging(verbosity: int, *, stream: TextIO | None = None) -> None:
    """Log to stderr: WARNING and up for ``verbosity < 0``, INFO for 0, DEBUG for 1 and more
    (watchdog's own chatter only from 2). Calling it again replaces the handler it installed."""
    stream = sys.stderr if stream is None else stream
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = logging.StreamHandler(stream)
    if stderr_is_journal(stream):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s" if verbosity > 0 else None))
    else:
        name = " %(name)s:" if verbosity > 0 else ""
        text = f"%(asctime)s %(levelname)s{name} %(message)s"
        handler.setFormatter(StampFormatter(text, "%Y-%m-%d %H:%M:%S"))
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    chatter = level if verbosity >= 2 else max(level, logging.WARNING)
    logging.getLogger("watchdog").setLevel(chatter)  # overflow warnings pass (LostEventsLogHandler)


def log_config_error(exc: ConfigError, prefix: str = "") -> None:
    """One ERROR line per problem of ``exc``, naming the file and the key."""
    where = f"{exc.path}: " if exc.path else ""
    for key, message in exc.problems:
        logging.getLogger("syncd").error(
            "%s%s%s%s", prefix, where, f"{key}: " if key else "", message
        )
