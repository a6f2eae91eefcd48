"""A source page's bytes, read with the checks a page needs (I/O edge): every page is read
here (``syncd.plan.plan_page``, wherever it runs), so every path refuses the same pages with
the same reasons, safe against the file changing between the stat and the read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from syncd.errors import PageError

READ_ATTEMPTS = 3  # reads of a page that keeps changing while it is read


def check_page_stat(path: str | Path, st: os.stat_result, limit: int) -> None:
    """Refuse what is not a page before reading it: a FIFO, a socket or a device named
    ``*.md`` (reading a FIFO would block the worker forever), or a file over the limit."""
    if not stat.S_ISREG(st.st_mode):
        raise PageError("not a regular file (a FIFO, socket or device named like a page)", path)
    if st.st_size > limit:
        raise PageError(
            f"page too large ({st.st_size} bytes; the limit is {limit}, "
            "set max_page_size to raise it)",
            path,
        )


def read_page(path: str | Path, limit: int) -> tuple[bytes, os.stat_result] | None:
    """The page's bytes and the stat of the very file they came from; None when it is gone.
    Opened without blocking and checked through its descriptor (a page swapped for a FIFO or
    grown past the limit after the first stat is refused); one written to while read is read
    again, up to ``READ_ATTEMPTS`` times (a cut last block is ``merge.provisional``'s)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):  # as reading a folder through a file object says
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        for attempt in range(READ_ATTEMPTS):
            check_page_stat(path, st, limit)
            data = _read_upto(fd, st.st_size, limit + 1)
            after = os.fstat(fd)  # written to while read: read again, from its start
            if (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns):
                break
            if attempt == READ_ATTEMPTS - 1:
                break  # the stat from before this read: the next run sees a change
            st = after
            os.lseek(fd, 0, os.SEEK_SET)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while being read
        raise PageError(
            f"page too large (over {limit} bytes; set max_page_size to raise the limit)", path
        )
    return data, st


def _read_upto(fd: int, size: int, most: int) -> bytes:
    """The file's bytes up to its end or ``most`` bytes, for a file of ``size`` bytes: one
    read of ``size + 1`` (``read(most)`` allocates 8 MiB per page), up to an empty read or a
    short one that has all ``size`` bytes (the end of a regular file)."""
    parts: list[bytes] = []
    got = 0
    want = min(size + 1, most)
    while want > 0:
        chunk = os.read(fd, want)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
        if len(chunk) < want and got >= size:
            break
        want = min(most - got, 1 << 20)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def open_for_writing(root: Path) -> set[str]:
    """The files under ``root`` (relative, resolved) a process holds open for writing, as
    ``/proc/*/fd`` shows them (not other users' processes, nor a symlinked folder's pages)."""
    prefix = os.path.realpath(root) + os.sep
    found: set[str] = set()
    try:
        procs = [entry.path for entry in os.scandir("/proc") if entry.name.isdigit()]
    except OSError:
        return found
    for proc in procs:
        try:
            fds = [entry.name for entry in os.scandir(f"{proc}/fd")]
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{proc}/fd/{fd}")  # noqa: PTH115 (a str: fast)
                if not target.startswith(prefix) or target[len(prefix) :] in found:
                    continue
                info = Path(f"{proc}/fdinfo/{fd}").read_text("ascii")
                flags = next(
                    int(ln.split()[1], 8) for ln in info.splitlines() if ln[:6] == "flags:"
                )
            except (OSError, StopIteration, ValueError):
                continue
            if flags & os.O_ACCMODE != os.O_RDONLY:
                found.add(target[len(prefix) :])
    return found
