"""Run the real ``syncd`` (``once`` or ``run``) with a pause point in its note writes, for
tests/test_reliability_relocate.py and tests/test_reliability_window.py.

    python tests/race_syncd.py ARGS...

Everything is real. On syncd's first write to the vault path named by SYNCD_TEST_RACE_NOTE,
at the pause point SYNCD_TEST_RACE_AT, the user does what SYNCD_TEST_RACE says. Pause points:

- ``write`` (the default): ``Vault.write_atomic`` is entered (syncd has read and merged the
  note, before its compare-and-swap);
- ``rename``: right before the system call that puts the temp file in the note's place (an
  audit hook sees ``os.rename``; ``renameat2``, called through ctypes, which raises no audit
  event, is wrapped), after every check;
- ``temp``: right before the temp file is created (the note's folder checked and opened);
- ``folder``: right before the note's folder is opened (``open`` of a folder named like it;
  its path checked).

(the audit hook ones need SYNCD_TEST_RACE_VAULT, the vault folder). The user's actions:

- ``rename:NEW`` / ``move:NEW``: the note is renamed/moved to the vault path NEW;
- ``delete``: the note is deleted;
- ``folder:OLD:NEW``: the vault folder OLD is moved to NEW;
- ``symlink:FOLDER:TARGET``: the vault folder FOLDER is moved aside (to ``FOLDER (moved)``)
  and a symlink to TARGET (outside the vault) put in its place;
- ``save``: a line is appended to the note in place (as Obsidian saves);
- ``open-save``: the note is opened for appending, and the line written through that
  handle (then closed) only at syncd's next call on a temp file (``open`` or removal of a
  ``.syncd.`` name; at ``rename``: after the exchange and every check of it).

and appends one line per action to SYNCD_TEST_RACE_RECORD (when set), so the test sees that
the window was hit. Later writes go through untouched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import syncd.vault
from syncd.cli import main
from syncd.vault import Vault

_real_write = Vault.write_atomic
_done: list[str] = []
_handles: list[int] = []  # opened by ``open-save``, written at syncd's next temp file call
USER_LINE = b"A line the user typed while syncd was merging.\n"


def user_acts(vault: Path, action: str, note: str) -> None:
    """Do ``action`` (see the module docstring) to ``note`` in ``vault``."""
    kind, _, rest = action.partition(":")
    if kind == "save":
        with (vault / note).open("ab") as handle:
            handle.write(USER_LINE)
    elif kind == "open-save":
        _handles.append(os.open(vault / note, os.O_WRONLY | os.O_APPEND))
    elif kind in ("rename", "move"):
        target = vault / rest
        target.parent.mkdir(parents=True, exist_ok=True)
        (vault / note).rename(target)
    elif kind == "delete":
        (vault / note).unlink()
    elif kind == "folder":
        old, _, new = rest.partition(":")
        (vault / new).parent.mkdir(parents=True, exist_ok=True)
        (vault / old).rename(vault / new)
    elif kind == "symlink":
        folder, _, target = rest.partition(":")
        (vault / folder).rename(vault / f"{folder} (moved)")
        (vault / folder).symlink_to(target, target_is_directory=True)
    else:
        raise ValueError(f"unknown SYNCD_TEST_RACE {action!r}")


def _act(vault: Path, rel: str) -> None:
    """The user's next action on ``rel`` (the note of SYNCD_TEST_RACE_NOTE), if any left."""
    actions = os.environ["SYNCD_TEST_RACE"].split(";")
    if len(_done) < len(actions) and rel == os.environ["SYNCD_TEST_RACE_NOTE"]:
        action = actions[len(_done)]
        _done.append(rel)
        user_acts(vault, action, rel)
        record = os.environ.get("SYNCD_TEST_RACE_RECORD")
        if record:
            with Path(record).open("a", encoding="utf-8") as handle:
                handle.write(f"{action} {rel}\n")


def _raced_write(self: Vault, rel: str, text: object, **kwargs: object) -> object:
    _act(self.root, rel)
    return _real_write(self, rel, text, **kwargs)  # type: ignore[arg-type]


def _at_pause_point(at: str, name: str, folder: str, event: str, args: tuple[Any, ...]) -> bool:
    """Whether audit ``event`` is pause point ``at`` for the note file ``name`` in ``folder``."""
    if at == "rename" and event == "os.rename":
        return Path(os.fsdecode(args[1])).name == name
    if event != "open" or not isinstance(args[0], str | bytes):
        return False
    base = Path(os.fsdecode(args[0])).name
    if at == "temp":
        return base.startswith(f".syncd.{name}.")
    return at == "folder" and base == folder and bool((args[2] or 0) & os.O_DIRECTORY)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if (
        _handles
        and event in ("open", "os.remove")
        and isinstance(args[0], str | bytes)
        and Path(os.fsdecode(args[0])).name.startswith(".syncd.")
    ):
        handle = _handles.pop()
        os.write(handle, USER_LINE)
        os.close(handle)
    note = os.environ["SYNCD_TEST_RACE_NOTE"]
    folder, _, name = note.rpartition("/")
    at = os.environ["SYNCD_TEST_RACE_AT"]
    if event in ("open", "os.rename") and _at_pause_point(
        at, name, folder.rpartition("/")[2], event, args
    ):
        _act(Path(os.environ["SYNCD_TEST_RACE_VAULT"]), note)


if __name__ == "__main__":
    if os.environ.get("SYNCD_TEST_RACE_AT", "write") == "write":
        Vault.write_atomic = _raced_write  # type: ignore[method-assign,assignment]
    else:
        sys.addaudithook(_audit)
    real_renameat2 = syncd.vault._libc_renameat2()
    if os.environ.get("SYNCD_TEST_RACE_AT") == "rename" and real_renameat2 is not None:

        def renameat2(fd: int, old: bytes, new_fd: int, new: bytes, flags: int) -> int:
            if flags != 1:  # (RENAME_NOREPLACE creates a note: no note to act on)
                note = os.environ["SYNCD_TEST_RACE_NOTE"]
                if os.fsdecode(new) == note.rpartition("/")[2]:
                    _act(Path(os.environ["SYNCD_TEST_RACE_VAULT"]), note)
            return real_renameat2(fd, old, new_fd, new, flags)

        syncd.vault._libc_renameat2 = lambda: renameat2  # type: ignore[assignment]
    raise SystemExit(main(sys.argv[1:]))
