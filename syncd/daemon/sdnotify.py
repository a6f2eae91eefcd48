"""sd_notify(3) without dependencies: one AF_UNIX datagram to ``$NOTIFY_SOCKET`` per message.

Every function is a no-op (returning False) when ``$NOTIFY_SOCKET`` is unset, i.e. when syncd
does not run under systemd with ``Type=notify``, and none of them ever raises.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)

_warned: set[str] = set()


def notify(*fields: str) -> bool:
    """Send ``fields`` (``"READY=1"``, ``"STATUS=..."``) as one message; True if it was sent."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address or not fields:
        return False
    if address[0] == "@":  # abstract namespace
        target = "\0" + address[1:]
    elif address[0] == "/":
        target = address
    else:  # vsock:... and other transports syncd does not need
        _warn_once(address, "unsupported NOTIFY_SOCKET address %r; not notifying systemd", address)
        return False
    payload = "\n".join(fields).encode("utf-8", errors="replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(target)
            sock.sendall(payload)
    except OSError as exc:
        _warn_once(address, "cannot notify systemd at %s: %s", address, exc)
        return False
    return True


def _warn_once(key: str, msg: str, *args: object) -> None:
    if key in _warned:
        log.debug(msg, *args)
    else:
        _warned.add(key)
        log.warning(msg, *args)


def _status_field(text: str) -> str:
    return "STATUS=" + " ".join(text.splitlines())


def ready(status: str | None = None) -> bool:
    return notify("READY=1", *([_status_field(status)] if status is not None else []))


def status(text: str) -> bool:
    return notify(_status_field(text))


def reloading() -> bool:
    """``RELOADING=1`` + ``MONOTONIC_USEC`` (needed by ``Type=notify-reload``, harmless before)."""
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={usec}")


def stopping() -> bool:
    return notify("STOPPING=1")


def watchdog_ping() -> bool:
    return notify("WATCHDOG=1")


def extend_timeout(seconds: float) -> bool:
    """Ask systemd for ``seconds`` more before start-up (or stop) times out."""
    return notify(f"EXTEND_TIMEOUT_USEC={max(1, int(seconds * 1_000_000))}")


def watchdog_interval() -> float | None:
    """The ``WatchdogSec=`` period in seconds (ping at half of it) if it applies to this
    process, else None: a ``$WATCHDOG_PID`` must be ours (children inherit the variables)."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    pid = os.environ.get("WATCHDOG_PID", "")
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000
