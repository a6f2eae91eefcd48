"""Writing into the vault: only inside its folder, atomically, never over a user's edit.

Paths are vault-relative POSIX text, checked to stay inside the vault (``Vault.resolve``).
``Vault.write_atomic`` writes a temp file beside the note and renames it into place without
clobbering (new notes), or exchanges it with the note and checks that the version displaced is
the one the caller read (compare-and-swap with no window). A replace keeps the permission bits,
not the inode, links, xattrs or creation time; the mtime is new on purpose (how Obsidian sees
a change). Stamps compare ``(ino, size, mtime_ns, ctime_ns)``: on FAT (2 s ticks) a same-size
edit within one tick is invisible, so callers that care compare content hashes as well.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import hashlib
import logging
import os
import queue
import signal
import stat
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from syncd.errors import ConcurrentModification, PageError, SyncdError, VaultWriteError
from syncd.names import conflict_copy_paths, fold_name

if TYPE_CHECKING:
    from syncd.config import Config
    from syncd.state import StateStore

log = logging.getLogger(__name__)

TEMP_PREFIX = ".syncd."
TEMP_SUFFIX = ".tmp"
NEW_NOTE_MODE = 0o644
SKIPPED_FOLDERS = frozenset({".obsidian", ".trash", ".git"})
FRONTMATTER_LIMIT = 64 * 1024  # bytes of a note read to find its frontmatter's keys, at most
_MAX_OPEN_DIRS = 64  # folders kept open by write_atomic at most; then they are checked again
_TEMP_TRIES = 100
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_TEMP_NAME_PART = 150  # bytes of the note name kept in a temp name; longer ones are hashed
_DIR_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})
_LINK_UNSUPPORTED = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV})
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# the file system (or kernel) has no such renameat2 flag
_RENAME_FLAGS_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP})


MARKER = ".obsidian"  # the folder that makes a folder an Obsidian vault


def prepare_vaults(config: Config, state: StateStore | None, *, dry_run: bool = False) -> set[str]:
    """Before a run's first write: create missing vault folders with their ``.obsidian/``
    marker; refuse a vault whose marker vanished after syncd wrote notes into it (it may be
    unmounted: notes would scatter into the mount point). The vaults created (``dry_run``: to
    be created, nothing is)."""
    new: set[str] = set()
    for vault in config.vaults:
        marker = vault.path / MARKER
        if marker.is_dir():
            continue
        had_notes = state is not None and state.counts(vault.name).get("documents", 0) > 0
        if had_notes:
            raise SyncdError(
                f"vault {vault.name!r} has no {MARKER}/ folder although syncd wrote notes "
                "into it before; is it unmounted or moved? Nothing was written",
                vault.path,
            )
        fresh = not vault.path.exists()
        new.add(vault.name)
        if dry_run:
            if fresh:
                log.info("would create new vault %s", vault.path)
            continue
        try:
            marker.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno != errno.EROFS:
                raise
            new.discard(vault.name)
            continue  # the run reports it: one line per vault (writer.vault_unavailable)
        if fresh:
            log.info("created new vault %s", vault.path)
    return new


@dataclass(slots=True, unsafe_hash=True)
class FileStamp:
    """What ``os.stat`` says about one version of a file; equal stamps mean "not touched"."""

    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def from_stat(cls, st: os.stat_result) -> FileStamp:
        return cls(ino=st.st_ino, size=st.st_size, mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns)


_Stamp = tuple[int, int, int, int]  # a folder's (ino, size, mtime_ns, ctime_ns)


@dataclass(slots=True)
class _Listing:
    """A folder's names, folded for case/normalization-insensitive lookup, and its stat
    (kept current by syncd's own writes, re-read when anything else changed the folder)."""

    stamp: _Stamp
    folded: set[str]


@dataclass(slots=True, unsafe_hash=True)
class _Dir:
    """A vault folder checked by ``Vault.resolve``, opened (``fd``) for one batch, and the
    (dev, ino) it had then."""

    path: str
    fd: int = -1
    dev: int = 0
    ino: int = 0

    def at(self, name: str) -> Path:
        return Path(self.path, name)


def is_temp_file(name: str) -> bool:
    """True for syncd's own temp files (a bare name or a path), so watchers can ignore them."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.startswith(TEMP_PREFIX) and base.endswith(TEMP_SUFFIX)


class Vault:
    """One Obsidian vault folder. Not thread-safe: one writer thread uses it (design.md)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self._root_str = str(self.root)
        self._listings: dict[str, _Listing] = {}
        self._root_id: tuple[int, int] | None = None  # (st_dev, st_ino) of the vault folder
        self._dirs: dict[str, _Dir] = {}  # vault-relative folder -> opened in this batch
        self._temp_counter = 0
        self._remover = _Remover()
        # frontmatter key -> note -> (its stamp, the key's value) (frontmatter_values)
        self._heads: dict[str, dict[str, tuple[_Stamp, str | None]]] = {}

    def __repr__(self) -> str:
        return f"Vault({self._root_str!r})"

    # ----------------------------------------------------------------------------- paths

    def resolve(self, rel: str) -> Path:
        """Absolute path of the vault-relative POSIX path ``rel`` (existing folders resolved).
        Refused (``VaultWriteError``): empty or absolute paths, ``..``, backslashes, NUL, and a
        path whose folders or last component (symlinks followed) lead outside the vault."""
        parts = self._split(rel)
        parent = self._plain_folder(parts[:-1])
        try:  # (realpath raises where a link is swapped for a folder between lstat and readlink)
            if parent is None:
                lexical = self.root.joinpath(*parts)
                parent = os.path.realpath(lexical.parent)
                if not self._inside(parent):
                    raise VaultWriteError(
                        f"refused: folder resolves outside the vault ({parent})", lexical
                    )
            path = Path(parent, parts[-1])
            if path.is_symlink():
                target = os.path.realpath(path)
                if not self._inside(target) or target == self._root_str:
                    reason = f"refused: symlink points outside the vault ({target})"
                    raise VaultWriteError(reason, path)
        except OSError as exc:  # the vault changed under it: refused now, tried again later
            raise VaultWriteError(f"folder changed: {_reason(exc)}", self.root / rel) from exc
        return path

    def _plain_folder(self, parts: list[str]) -> str | None:
        """The vault folder ``parts`` when no symlink is on the way (then no ``realpath``, a
        stat of every folder from ``/``, is needed); None: ask ``realpath``."""
        try:
            st = self.root.stat()
            if self._root_id is None:
                self._root_id = (st.st_dev, st.st_ino)
            elif (st.st_dev, st.st_ino) != self._root_id:
                return None
            current = self._root_str
            for part in parts:
                current = f"{current}/{part}"
                if not stat.S_ISDIR(os.lstat(current).st_mode):
                    return None  # a symlink (or not a folder): realpath decides
        except OSError:
            return None  # missing folders: realpath keeps the part that does not exist
        return current

    def _split(self, rel: str) -> list[str]:
        if rel and rel[0] != "/" and "\0" not in rel and "\\" not in rel:
            parts = rel.split("/")
            if "" not in parts and "." not in parts and ".." not in parts:
                return parts  # the common case: what the checks below keep, unchanged
        shown = self.root / rel  # an absolute rel shows as itself
        if not rel:
            raise VaultWriteError("refused: empty note path", shown)
        if "\0" in rel:
            raise VaultWriteError(f"refused: NUL character in note path {rel!r}", shown)
        if "\\" in rel:
            raise VaultWriteError(f"refused: backslash in note path {rel!r}", shown)
        if rel.startswith("/"):
            raise VaultWriteError(f"refused: absolute note path {rel!r}", shown)
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise VaultWriteError(f"refused: '..' in note path {rel!r}", shown)
        if not parts:
            raise VaultWriteError(f"refused: {rel!r} names the vault folder itself", shown)
        return parts

    def _inside(self, real: str) -> bool:
        return real == self._root_str or real.startswith(self._root_str.rstrip("/") + "/")

    def _folder(self, rel_dir: str) -> Path:
        """Absolute path of a vault folder ("" or "." is the vault root), checked like resolve."""
        if rel_dir.strip("/") in ("", "."):
            return self.root
        return self.resolve(rel_dir)

    # ----------------------------------------------------------------------------- reading

    def read_text(self, rel: str) -> tuple[str, FileStamp] | None:
        """The note's text (a BOM and CRLF stay) and its stamp, taken before reading (a write
        racing the read fails the later compare-and-swap); None when there is no such note."""
        path = self.resolve(rel)
        try:
            # O_NONBLOCK: a FIFO named like a note must not hang the daemon; regular files
            # read normally with it.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as handle:
                st = os.fstat(handle.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise VaultWriteError("refused: not a regular file", path)
                data = handle.read()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError as exc:
            raise VaultWriteError("is a folder, not a note", path) from exc
        except OSError as exc:
            raise VaultWriteError(f"cannot read note: {_reason(exc)}", path) from exc
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PageError(f"note is not valid UTF-8 (byte {exc.start})", path) from exc
        return text, FileStamp.from_stat(st)

    def exists_ci(self, rel_dir: str, name: str) -> bool:
        """Whether ``rel_dir`` holds file ``name`` ignoring case and NFC/NFD (``unique_name``);
        listings are cached per folder while its stat stands (syncd's writes update them)."""
        folded = fold_name(name)
        if rel_dir in self._dirs:  # a key is a checked folder path: what the line below gives
            key = rel_dir
        else:
            key = "" if rel_dir.strip("/") in ("", ".") else "/".join(self._split(rel_dir))
        folder, st = self._open_folder(key)
        if folder is not None and st is not None:
            # the folder write_atomic opened in this batch: one stat, no path check
            listing = self._listings.get(folder.path)
            if listing is None or listing.stamp != _dir_stamp(st):
                listing = self._read_listing(folder.path, _dir_stamp(st), folder.fd)
            return listing is not None and folded in listing.folded
        listing = self._listing(self._folder(rel_dir))
        return listing is not None and folded in listing.folded

    def _listing(self, folder: Path) -> _Listing | None:
        key = str(folder)
        try:
            st = folder.stat()
        except (FileNotFoundError, NotADirectoryError):
            self._listings.pop(key, None)
            return None
        except OSError as exc:
            raise VaultWriteError(f"cannot list folder: {_reason(exc)}", folder) from exc
        stamp = _dir_stamp(st)
        cached = self._listings.get(key)
        if cached is not None and cached.stamp == stamp:
            return cached
        return self._read_listing(key, stamp, key)

    def _read_listing(self, key: str, stamp: _Stamp, where: str | int) -> _Listing | None:
        """List the folder ``where`` (a path or an open folder) into the cache as ``key``."""
        try:
            with os.scandir(where) as entries:
                names = [entry.name for entry in entries]
        except NotADirectoryError:
            return None
        except OSError as exc:
            raise VaultWriteError(f"cannot list folder: {_reason(exc)}", Path(key)) from exc
        listing = _Listing(stamp, {fold_name(n) for n in names})
        self._listings[key] = listing
        return listing

    def frontmatter_values(self, key: str) -> dict[str, str]:
        """Note -> the raw value of the top-level frontmatter key ``key``, for every ``.md``
        file that has it (not in ``SKIPPED_FOLDERS``, no symlink, no temp file; a folder's files
        sorted, then its subfolders). Only frontmatters are read, and kept with their stamps: a
        later call reads only the notes changed since (one ``lstat`` each)."""
        cache = self._heads.setdefault(key, {})
        found: dict[str, str] = {}
        seen: set[str] = set()
        for rel, st in self._walk_notes():
            seen.add(rel)
            stamp = _dir_stamp(st)
            cached = cache.get(rel)
            if cached is None or cached[0] != stamp:
                cached = cache[rel] = (stamp, top_level_value(self._frontmatter_at(rel), key))
            if cached[1] is not None:
                found[rel] = cached[1]
        for rel in [r for r in cache if r not in seen]:
            del cache[rel]
        return found

    def _frontmatter_at(self, rel: str) -> bytes | None:
        """The note's frontmatter (``frontmatter_of``), read no further; None: none."""
        try:
            path = self.resolve(rel)
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except (OSError, VaultWriteError):
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = b""
            while len(data) < FRONTMATTER_LIMIT:
                chunk = os.read(fd, min(4096, FRONTMATTER_LIMIT - len(data)))
                if not chunk:
                    break
                data += chunk
                if not data.startswith(b"---"[: len(data)]) or (
                    len(data) >= 5 and not data.startswith((b"---\n", b"---\r\n"))
                ):
                    return None
                head = frontmatter_of(data, complete=False)
                if head is not None:
                    return head
        except OSError:
            return None
        finally:
            os.close(fd)
        return frontmatter_of(data, complete=True)

    def _walk_notes(self) -> Iterator[tuple[str, os.stat_result]]:
        """Every note (``frontmatter_values``) with its ``lstat``."""
        stack = [("", self._root_str)]
        while stack:
            prefix, where = stack.pop()
            try:
                with os.scandir(where) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            folders = []
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if entry.name not in SKIPPED_FOLDERS:
                        folders.append(entry.name)
                elif (
                    stat.S_ISREG(st.st_mode)
                    and entry.name.endswith(".md")
                    and not is_temp_file(entry.name)
                ):
                    yield prefix + entry.name, st
            for name in reversed(folders):
                stack.append((f"{prefix}{name}/", f"{where}/{name}"))

    # ----------------------------------------------------------------------------- writing

    def file_digest(self, rel: str) -> tuple[str, FileStamp] | None:
        """The SHA-256 of vault file ``rel`` ("not-a-file": not a regular file) and its stamp
        taken before reading; None when there is none."""
        path = self.resolve(rel)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise VaultWriteError(f"cannot read file: {_reason(exc)}", path) from exc
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return "not-a-file", FileStamp.from_stat(st)
        with os.fdopen(fd, "rb") as handle:
            return file_sha256(handle), FileStamp.from_stat(st)

    def write_atomic(
        self,
        rel: str,
        text: str | bytes | Path,
        *,
        expected: FileStamp | None,
        create_only: bool = False,
        durable: bool = True,
    ) -> FileStamp:
        """Replace (or create) note ``rel`` with ``text`` (or the file at a Path) atomically;
        its new stamp. ``expected``: ``read_text``'s stamp (None: the note must not exist); a
        note changed since, or there before a ``create_only`` write, is left as it is
        (``ConcurrentModification``). ``durable=False``: no fsyncs (bulk runs ``syncfs``). The
        folder is opened once per batch (``_open_dir``), the note named relative to it."""
        parts = self._split(rel)
        name = parts[-1]
        key = "/".join(parts[:-1])
        folder, st = self._open_folder(key)
        if folder is None or st is None:
            folder = self._open_dir(rel, key, durable, create=expected is None)
            before = _fdir_stamp_or_none(folder.fd)
        else:
            before = _dir_stamp(st)
        data = _encoded(text, folder, name)
        try:
            current = _lstat_at_or_none(name, folder.fd)
        except OSError as exc:
            raise VaultWriteError(f"cannot write note: {_reason(exc)}", folder.at(name)) from exc
        if current is not None and stat.S_ISLNK(current.st_mode):
            self.resolve(rel)  # a symlink leading out is refused as such
        _check_current(folder, name, current, expected, create_only)
        mode = NEW_NOTE_MODE if current is None else stat.S_IMODE(current.st_mode)
        listing = self._listings.get(folder.path)
        stamp = self._write_temp_and_commit(
            folder, name, data, mode, expected, create_only, durable
        )
        if listing is not None:
            self._note_written(folder, name, listing, before)
        return stamp

    def _open_folder(self, key: str) -> tuple[_Dir | None, os.stat_result | None]:
        """The folder opened for vault folder ``key`` in this batch and its stat, if it is
        still the directory at that path; else (None, None), and it is forgotten."""
        folder = self._dirs.get(key)
        if folder is None:
            return None, None
        try:
            st = os.lstat(folder.path)  # a symlink put in its place is another inode
        except OSError:
            st = None
        if st is None or st.st_ino != folder.ino or st.st_dev != folder.dev:
            del self._dirs[key]
            self._remover.wait()  # (it may still remove names in that folder)
            with contextlib.suppress(OSError):
                os.close(folder.fd)
            return None, None
        return folder, st

    def _open_dir(self, rel: str, key: str, durable: bool, *, create: bool) -> _Dir:
        """Open the folder of note ``rel`` (``key``) for this batch: its path is checked
        (``resolve``), then each folder is opened from the vault down with ``O_NOFOLLOW``
        (missing ones created when ``create``), so a folder swapped for a symlink at any moment
        cannot lead a write out."""
        if len(self._dirs) >= _MAX_OPEN_DIRS:
            self.end_batch()
        real = self.resolve(rel).parent
        where = self.root
        try:
            fd = os.open(self._root_str, _DIR_FLAGS)
        except OSError as exc:
            missing = "vault folder is missing (not created by syncd)"
            why = missing if exc.errno == errno.ENOENT else f"cannot open folder: {_reason(exc)}"
            raise VaultWriteError(why, where) from exc
        try:
            for part in real.relative_to(self.root).parts:
                where = where / part
                try:
                    sub = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise ConcurrentModification(
                            "note was removed or moved since syncd read it", where
                        ) from None
                    _make_folder(fd, part, where, durable)
                    sub = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = sub
            st = os.fstat(fd)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise VaultWriteError(
                    "refused: not a folder (a symlink or file put in its place)", where
                ) from exc
            raise VaultWriteError(f"cannot open folder: {_reason(exc)}", where) from exc
        except SyncdError:
            os.close(fd)
            raise
        folder = self._dirs[key] = _Dir(str(real), fd, st.st_dev, st.st_ino)
        return folder

    def end_batch(self) -> None:
        """Forget the folders ``write_atomic`` opened (the next write checks its path again),
        once the versions it displaced are retired; at every state commit and run end."""
        self._remover.wait()
        dirs, self._dirs = self._dirs, {}
        for folder in dirs.values():
            with contextlib.suppress(OSError):
                os.close(folder.fd)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.end_batch()

    def _write_temp_and_commit(
        self,
        folder: _Dir,
        name: str,
        data: bytes | Path,
        mode: int,
        expected: FileStamp | None,
        create_only: bool,
        durable: bool,
    ) -> FileStamp:
        tmp: str | None = None
        fd = -1
        try:
            fd, tmp = self._create_temp(folder, name)
            _write_all(fd, data)
            os.fchmod(fd, mode)
            if durable:
                os.fsync(fd)
            ours = os.fstat(fd) if expected is not None else None  # (the exchange's check)
            if create_only and _rename_no_clobber(folder, tmp, name):
                pass  # one system call where the file system has renameat2(RENAME_NOREPLACE)
            elif create_only and _link_no_clobber(folder, tmp, name):
                os.unlink(tmp, dir_fd=folder.fd)
            elif ours is not None and _rename_at2(folder, tmp, name, _RENAME_EXCHANGE):
                # the note's version displaced by the exchange is at ``tmp`` now: the one
                # syncd read (retired off this thread), or a save the user made since (put
                # back, merged again; syncd's version, at ``tmp`` then, is the one retired)
                displaced, tmp, kept = tmp, None, _key(ours)
                try:
                    kept = _check_displaced(folder, displaced, name, cast("FileStamp", expected))
                finally:
                    self._remover.remove(folder, displaced, name, kept)
            else:  # no exchange-rename here: the last check and the rename are two calls
                current = _lstat_at_or_none(name, folder.fd)
                _check_current(folder, name, current, expected, create_only)
                os.replace(tmp, name, src_dir_fd=folder.fd, dst_dir_fd=folder.fd)
            tmp = None
            stamp = FileStamp.from_stat(os.fstat(fd))
            if durable:
                _fsync_fd(folder.fd)
            return stamp
        except ConcurrentModification:
            raise
        except OSError as exc:
            raise VaultWriteError(f"cannot write note: {_reason(exc)}", folder.at(name)) from exc
        finally:
            if fd >= 0:
                os.close(fd)
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=folder.fd)

    def _create_temp(self, folder: _Dir, name: str) -> tuple[int, str]:
        """A new temp file for ``name`` in ``folder``, ``.syncd.<name>.<pid>-<n>.tmp`` (a long
        name hashed), made with ``O_EXCL``: a name an earlier process left is skipped."""
        raw = name.encode("utf-8")
        part = name if len(raw) <= _MAX_TEMP_NAME_PART else hashlib.sha256(raw).hexdigest()
        for _ in range(_TEMP_TRIES):
            self._temp_counter += 1
            tmp = f"{TEMP_PREFIX}{part}.{os.getpid()}-{self._temp_counter}{TEMP_SUFFIX}"
            with contextlib.suppress(FileExistsError):
                return os.open(tmp, _TEMP_FLAGS, 0o600, dir_fd=folder.fd), tmp
        raise FileExistsError(errno.EEXIST, "no free temp file name", folder.at(name))

    def _note_written(
        self, folder: _Dir, name: str, listing: _Listing, before: _Stamp | None
    ) -> None:
        """Keep the cached listing of the note's folder current after our own write."""
        after = _fdir_stamp_or_none(folder.fd)
        if before != listing.stamp or after is None:
            self._listings.pop(folder.path, None)  # somebody else changed it too: re-read
            return
        listing.stamp = after
        listing.folded.add(fold_name(name))

    # ----------------------------------------------------------------------------- upkeep

    def sweep_temp_files(self, older_than_seconds: float = 0) -> int:
        """Remove the temp files a crash left in the vault (none being written, or of a safe
        age); how many."""
        removed = 0
        now = time.time()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            for name in filenames:
                if not is_temp_file(name):
                    continue
                full = Path(dirpath) / name
                try:
                    st = full.lstat()
                    if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < older_than_seconds:
                        continue
                    full.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    log.warning("cannot remove temp file %s: %s", full, _reason(exc))
                    continue
                log.info("removed stale temp file %s", full)
                removed += 1
        return removed

    def syncfs(self) -> None:
        """Flush the vault's whole file system to disk (after writes with ``durable=False``)."""
        func = _libc("syncfs", ctypes.c_int)
        if func is None:
            os.sync()
            return
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise VaultWriteError(f"cannot flush vault: {_reason(exc)}", self.root) from exc
        try:
            if func(fd) != 0:
                code = ctypes.get_errno()
                raise VaultWriteError(f"cannot flush vault: {os.strerror(code)}", self.root)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------------- helpers


def _check_current(
    folder: _Dir,
    name: str,
    current: os.stat_result | None,
    expected: FileStamp | None,
    create_only: bool,
) -> None:
    if current is not None and stat.S_ISLNK(current.st_mode):
        raise VaultWriteError("refused: the note is a symlink", folder.at(name))
    if current is not None and not stat.S_ISREG(current.st_mode):
        raise VaultWriteError("refused: not a regular file", folder.at(name))
    if create_only or expected is None:
        if current is not None:
            raise ConcurrentModification(
                "note appeared on disk before syncd created it", folder.at(name)
            )
        return
    if current is None:
        raise ConcurrentModification(
            "note was removed or moved since syncd read it", folder.at(name)
        )
    if FileStamp.from_stat(current) != expected:
        raise ConcurrentModification("note changed on disk since syncd read it", folder.at(name))


def _check_displaced(folder: _Dir, tmp: str, name: str, expected: FileStamp) -> _Key:
    """After the exchange-rename: the version displaced (now ``tmp``) must be the one syncd
    read (``expected``, but its ctime: a rename changes it); its key. Else the user saved in
    the window: the exchange is undone and ``ConcurrentModification`` makes the caller merge
    again."""
    st = _lstat_at_or_none(tmp, folder.fd)
    read = (expected.ino, expected.size, expected.mtime_ns)
    if st is not None and stat.S_ISREG(st.st_mode) and _key(st) == read:
        return read
    try:
        _rename_at2(folder, tmp, name, _RENAME_EXCHANGE)
    except ConcurrentModification:  # syncd's version gone meanwhile: the user's goes back
        _rename_no_clobber(folder, tmp, name)
        raise
    raise ConcurrentModification("note changed on disk since syncd read it", folder.at(name))


_Key = tuple[int, int, int]  # a version of a note untouched since: ino, size, mtime_ns
_Retiree = tuple[_Dir, str, str, _Key]  # _retire's arguments


def _key(st: os.stat_result) -> _Key:
    return (st.st_ino, st.st_size, st.st_mtime_ns)  # (a rename changes the ctime)


def _retire(folder: _Dir, tmp: str, name: str, kept: _Key) -> None:
    """Remove ``tmp``, a version of note ``name`` an exchange-rename took out of its place,
    once nobody has it open for writing (a read lease is granted, held while it is checked and
    removed) and it is still ``kept``. Else a save through a handle opened while it was the
    note landed in it, or may yet: it is kept as a conflict copy. No leases: ``kept`` decides."""
    fd = -1
    try:
        fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder.fd)
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)  # a lease break: not SIGIO (fatal)
        for wait in _LEASE_WAITS:
            time.sleep(wait)
            try:
                fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
                break
            except OSError as exc:
                if exc.errno != errno.EAGAIN:  # no leases here (or not the owner)
                    break
        else:
            kept = (-1, -1, -1)  # still open for writing: it is kept
        if _key(os.fstat(fd)) == kept:
            os.unlink(tmp, dir_fd=folder.fd)
            return
        when = datetime.now().astimezone()
        for copy in conflict_copy_paths(name, when):
            with contextlib.suppress(FileExistsError, ConcurrentModification):
                if _rename_no_clobber(folder, tmp, copy) or _link_no_clobber(folder, tmp, copy):
                    log.warning("%s: saved while syncd replaced it; kept as %s", name, copy)
                    return
    except OSError as exc:
        log.debug("cannot remove %s (the next run's sweep does): %s", tmp, _reason(exc))
    finally:
        if fd >= 0:
            os.close(fd)  # (and the lease with it)


_LEASE_WAITS = (0, 0.001, 0.004, 0.016, 0.064, 0.256)  # seconds before each lease attempt


def frontmatter_of(data: bytes, *, complete: bool) -> bytes | None:
    """The frontmatter at the start of ``data`` (a note's first bytes), both ``---`` lines
    included; None when ``data`` has no closing line yet (``complete``: ``data`` is all there
    is: then an unclosed frontmatter up to its last whole line) or does not begin with one."""
    if not data.startswith((b"---\n", b"---\r\n")):
        return None
    start = data.index(b"\n") + 1
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            break
        if data[start:end].rstrip(b" \t\r") == b"---":
            return data[: end + 1]
        start = end + 1
    return data[:start] if complete else None


def top_level_value(head: bytes | None, key: str) -> str | None:
    """The value of the first top-level ``key:`` line of frontmatter ``head``, stripped."""
    prefix = f"{key}:".encode()
    for line in head.split(b"\n")[1:] if head is not None else ():
        if line.startswith(prefix):
            return line[len(prefix) :].strip().decode("utf-8", errors="replace")
    return None


def frontmatter_value(text: str, key: str) -> str | None:
    """``key``'s value in the frontmatter of note ``text``, as ``frontmatter_values`` reads it."""
    data = text[:FRONTMATTER_LIMIT].encode("utf-8", errors="replace")
    return top_level_value(frontmatter_of(data, complete=True), key)


def _encoded(text: str | bytes | Path, folder: _Dir, name: str) -> bytes | Path:
    if isinstance(text, bytes | Path):
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise VaultWriteError(
            f"text is not encodable as UTF-8 ({exc.reason})", folder.at(name)
        ) from exc


def _lstat_at_or_none(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return None


def _dir_stamp(st: os.stat_result) -> _Stamp:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _fdir_stamp_or_none(fd: int) -> _Stamp | None:
    try:
        return _dir_stamp(os.fstat(fd))
    except OSError:
        return None


class _Remover:
    """Retires displaced versions (``_retire``) on a thread of its own: freeing them overlaps
    the writing, and a save in flight into one has landed by then. They go over in handfuls
    (a queue operation per file costs more than it saves). ``wait``: all handed over so far
    are retired (or left to the next sweep) and the thread has ended."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[list[_Retiree] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._handful: list[_Retiree] = []

    def remove(self, folder: _Dir, tmp: str, name: str, kept: _Key) -> None:
        if not self._handful:
            _REMOVERS.add(self)  # end_removals waits for it from now on
        self._handful.append((folder, tmp, name, kept))
        if len(self._handful) >= _HANDFUL:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="syncd-remove", daemon=True)
            self._thread.start()
        self._queue.put(self._handful)
        self._handful = []

    def _run(self) -> None:
        while (versions := self._queue.get()) is not None:
            for version in versions:
                _retire(*version)

    def wait(self) -> None:
        if self._handful:
            self._hand_over()
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
        _REMOVERS.discard(self)


_HANDFUL = 16  # versions handed to the removing thread at a time

_REMOVERS: weakref.WeakSet[_Remover] = weakref.WeakSet()  # those with removals to wait for


def end_removals() -> None:
    """Wait for every vault's removals and end their threads (HelperPool forks only a
    process with no other thread)."""
    for remover in list(_REMOVERS):
        remover.wait()


def file_sha256(handle: BinaryIO) -> str:
    """The SHA-256 of what is left to read in ``handle``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def _write_all(fd: int, data: bytes | Path) -> None:
    if isinstance(data, Path):
        with data.open("rb") as source:
            while chunk := source.read(1 << 20):
                _write_all(fd, chunk)
        return
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _rename_no_clobber(folder: _Dir, tmp: str, name: str) -> bool:
    """Rename ``tmp`` to ``name`` in ``folder`` unless ``name`` exists (``RENAME_NOREPLACE``:
    atomic, no temp name left by a crash); False where there is no such rename."""
    try:
        return _rename_at2(folder, tmp, name, _RENAME_NOREPLACE)
    except FileExistsError as exc:
        raise ConcurrentModification(
            "note appeared on disk before syncd created it", folder.at(name)
        ) from exc


def _rename_at2(folder: _Dir, old: str, new: str, flags: int) -> bool:
    """``renameat2`` of ``old`` to ``new`` in ``folder``; False where the C library or the file
    system has no such rename. ``new`` missing for an exchange: ``ConcurrentModification``."""
    func = _libc_renameat2()
    if func is None:
        return False
    if func(folder.fd, os.fsencode(old), folder.fd, os.fsencode(new), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in _RENAME_FLAGS_UNSUPPORTED:
        log.debug("no renameat2 (flags %d) on %s", flags, folder.path)
        return False
    if code == errno.ENOENT and flags == _RENAME_EXCHANGE:
        raise ConcurrentModification(
            "note was removed or moved since syncd read it", folder.at(new)
        )
    raise OSError(code, os.strerror(code), str(folder.at(new)))


def _link_no_clobber(folder: _Dir, tmp: str, name: str) -> bool:
    """Hard-link ``tmp`` to ``name`` in ``folder``; False when the file system has none."""
    try:
        os.link(tmp, name, src_dir_fd=folder.fd, dst_dir_fd=folder.fd, follow_symlinks=False)
    except FileExistsError as exc:
        raise ConcurrentModification(
            "note appeared on disk before syncd created it", folder.at(name)
        ) from exc
    except OSError as exc:
        if exc.errno in _LINK_UNSUPPORTED:
            log.debug("no hard links on %s (%s); create by rename", folder.path, _reason(exc))
            return False
        raise
    return True


def _make_folder(dir_fd: int, name: str, where: Path, durable: bool) -> None:
    """Create folder ``name`` in the open folder ``dir_fd`` (``where``, for messages)."""
    try:
        os.mkdir(name, dir_fd=dir_fd)
    except FileExistsError:
        return
    except OSError as exc:
        raise VaultWriteError(f"cannot create folder: {_reason(exc)}", where) from exc
    log.debug("created folder %s", where)
    if durable:
        _fsync_fd(dir_fd)


def _fsync_fd(fd: int) -> None:
    """fsync an open folder (where the file system can)."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _DIR_FSYNC_UNSUPPORTED:
            raise


def _reason(exc: OSError) -> str:
    if exc.errno is not None:
        return f"{os.strerror(exc.errno)} [{errno.errorcode.get(exc.errno, exc.errno)}]"
    return str(exc)


@functools.cache
def _libc_renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """``renameat2(2)`` (glibc 2.28+), or None where there is none."""
    c_int, c_char_p = ctypes.c_int, ctypes.c_char_p
    return _libc("renameat2", c_int, c_char_p, c_int, c_char_p, ctypes.c_uint)


@functools.cache
def _libc(name: str, *argtypes: type[ctypes._SimpleCData[Any]]) -> Callable[..., int] | None:
    """Function ``name`` of the C library (Linux), or None where there is none."""
    try:
        func = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    func.argtypes = list(argtypes)
    func.restype = ctypes.c_int
    return cast("Callable[..., int]", func)
