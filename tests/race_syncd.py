"""Run the real ``syncd`` (``once`` or ``run``) with a pause point in its note writes, for
tests/test_reliability_relocate.py.

    python tests/race_syncd.py ARGS...

Everything is real except ``Vault.write_atomic``, which, on syncd's first write to the vault
path named by SYNCD_TEST_RACE_NOTE (after syncd has read and merged the note, before its
compare-and-swap), does what a user would do right then, given by SYNCD_TEST_RACE:

- ``rename:NEW`` / ``move:NEW``: the note is renamed/moved to the vault path NEW;
- ``delete``: the note is deleted;
- ``folder:OLD:NEW``: the vault folder OLD is moved to NEW.

and appends one line per action to SYNCD_TEST_RACE_RECORD (when set), so the test sees that
the window was hit. Later writes go through untouched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from syncd.cli import main
from syncd.vault import Vault

_real_write = Vault.write_atomic
_done: list[str] = []


def user_acts(vault: Path, action: str, note: str) -> None:
    """Do ``action`` (see the module docstring) to ``note`` in ``vault``."""
    kind, _, rest = action.partition(":")
    if kind == "save":
        with (vault / note).open("a", encoding="utf-8") as handle:
            handle.write("A line the user typed while syncd was merging.\n")
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
    else:
        raise ValueError(f"unknown SYNCD_TEST_RACE {action!r}")


def _raced_write(self: Vault, rel: str, text: object, **kwargs: object) -> object:
    actions = os.environ["SYNCD_TEST_RACE"].split(";")
    if len(_done) < len(actions) and rel == os.environ["SYNCD_TEST_RACE_NOTE"]:
        action = actions[len(_done)]
        _done.append(rel)
        user_acts(self.root, action, rel)
        record = os.environ.get("SYNCD_TEST_RACE_RECORD")
        if record:
            with Path(record).open("a", encoding="utf-8") as handle:
                handle.write(f"{action} {rel}\n")
    return _real_write(self, rel, text, **kwargs)  # type: ignore[arg-type]


if __name__ == "__main__":
    Vault.write_atomic = _raced_write  # type: ignore[method-assign,assignment]
    raise SystemExit(main(sys.argv[1:]))
