from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

import syncd.vault
from syncd.errors import ConcurrentModification, PageError, VaultWriteError
from syncd.failures import is_transient
from syncd.names import sanitize_title, unique_name
from syncd.vault import FileStamp, Vault, is_temp_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    vault_root = tmp_path / "vault"
    (vault_root / ".obsidian").mkdir(parents=True)
    return vault_root


@pytest.fixture
def vault(root: Path) -> Vault:
    return Vault(root)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if is_temp_file(p.name)]


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# --------------------------------------------------------------------------- resolve


def test_resolve_plain_path(vault: Vault, root: Path) -> None:
    assert vault.resolve("Readwise/Books/A.md") == root.resolve() / "Readwise/Books/A.md"
    assert vault.resolve("./A.md") == root.resolve() / "A.md"


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../x.md", "'..'"),
        ("a/../../x.md", "'..'"),
        ("a/..", "'..'"),
        ("a\\..\\x.md", "backslash"),
        ("a\0b.md", "NUL"),
        (".", "vault folder itself"),
    ],
)
def test_resolve_refuses(vault: Vault, rel: str, reason: str) -> None:
    with pytest.raises(VaultWriteError, match="refused") as info:
        vault.resolve(rel)
    assert reason in str(info.value)
    assert info.value.path is not None


def test_a_link_swapped_for_a_folder_while_resolved_is_a_transient_refusal(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``realpath`` saw a symlink (lstat) that was a folder again when it read it (readlink:
    EINVAL), as when a user swaps a folder and a link under a running sync: the vault refuses
    the write (a transient failure, tried again), not the page (found by
    test_reliability_window.py's folder swaps, 1 run in 30 under load)."""
    (root / "Real").mkdir()
    (root / "Books").symlink_to(root / "Real", target_is_directory=True)

    def swapped(path: object, *args: object, **kwargs: object) -> str:
        raise OSError(errno.EINVAL, "Invalid argument", str(path))

    monkeypatch.setattr(os, "readlink", swapped)
    with pytest.raises(VaultWriteError, match="folder changed: Invalid argument") as info:
        vault.resolve("Books/x.md")
    assert info.value.path == root / "Books/x.md"
    assert is_transient(info.value)


def test_symlinked_folder_leading_outside_is_refused(
    vault: Vault, root: Path, outside: Path
) -> None:
    (root / "Books").symlink_to(outside, target_is_directory=True)
    with pytest.raises(VaultWriteError, match="outside the vault"):
        vault.resolve("Books/x.md")
    with pytest.raises(VaultWriteError, match="outside the vault"):
        vault.write_atomic("Books/x.md", "pwned\n", expected=None)
    with pytest.raises(VaultWriteError, match="outside the vault"):
        vault.write_atomic("Books/deeper/x.md", "pwned\n", expected=None)
    assert list(outside.iterdir()) == []


def test_symlinked_ancestor_leading_outside_is_refused(
    vault: Vault, root: Path, outside: Path
) -> None:
    (outside / "inner").mkdir()
    (root / "A").mkdir()
    (root / "A" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(VaultWriteError, match="outside the vault"):
        vault.write_atomic("A/link/inner/new/x.md", "pwned\n", expected=None)
    assert [p.name for p in outside.rglob("*")] == ["inner"]


def test_symlinked_note_leading_outside_is_refused(vault: Vault, root: Path, outside: Path) -> None:
    target = outside / "target.md"
    target.write_text("secret\n")
    (root / "evil.md").symlink_to(target)
    with pytest.raises(VaultWriteError, match="symlink points outside"):
        vault.resolve("evil.md")
    with pytest.raises(VaultWriteError, match="outside"):
        vault.read_text("evil.md")
    with pytest.raises(VaultWriteError):
        vault.write_atomic("evil.md", "pwned\n", expected=None)
    assert target.read_text() == "secret\n"
    assert (root / "evil.md").is_symlink()


def test_symlinked_note_inside_is_read_but_never_written(vault: Vault, root: Path) -> None:
    (root / "real.md").write_text("real\n")
    (root / "alias.md").symlink_to(root / "real.md")
    read = vault.read_text("alias.md")
    assert read is not None
    text, stamp = read
    assert text == "real\n"
    with pytest.raises(VaultWriteError, match="symlink"):
        vault.write_atomic("alias.md", "new\n", expected=stamp)
    assert (root / "alias.md").is_symlink()
    assert (root / "real.md").read_text() == "real\n"
    assert temp_files(root) == []


def test_symlinked_folder_inside_the_vault_is_allowed(vault: Vault, root: Path) -> None:
    (root / "Real").mkdir()
    (root / "Link").symlink_to(root / "Real", target_is_directory=True)
    vault.write_atomic("Link/n.md", "hello\n", expected=None)
    assert (root / "Real" / "n.md").read_text() == "hello\n"
    assert (root / "Link").is_symlink()


def test_vault_root_reached_through_a_symlink(tmp_path: Path, root: Path) -> None:
    link = tmp_path / "vault-link"
    link.symlink_to(root, target_is_directory=True)
    vault = Vault(link)
    vault.write_atomic("n.md", "x\n", expected=None)
    assert (root / "n.md").read_text() == "x\n"


# --------------------------------------------------------------------------- read_text


def test_read_missing_note(vault: Vault) -> None:
    assert vault.read_text("nope.md") is None
    assert vault.read_text("no/folder/nope.md") is None


def test_read_keeps_bom_and_crlf(vault: Vault, root: Path) -> None:
    raw = "\ufeff---\r\ntitle: x\r\n---\r\nbody\r\n".encode()
    (root / "n.md").write_bytes(raw)
    read = vault.read_text("n.md")
    assert read is not None
    text, stamp = read
    assert text.encode("utf-8") == raw
    assert stamp == FileStamp.from_stat((root / "n.md").stat())
    vault.write_atomic("n.md", text, expected=stamp)
    assert (root / "n.md").read_bytes() == raw


def test_read_invalid_utf8_names_the_file(vault: Vault, root: Path) -> None:
    (root / "bad.md").write_bytes(b"ok \xff\xfe broken")
    with pytest.raises(PageError, match="not valid UTF-8") as info:
        vault.read_text("bad.md")
    assert info.value.path == root.resolve() / "bad.md"
    assert "bad.md" in str(info.value)


def test_read_folder_is_an_error(vault: Vault, root: Path) -> None:
    (root / "dir.md").mkdir()
    with pytest.raises(VaultWriteError, match="folder"):
        vault.read_text("dir.md")


def test_read_fifo_does_not_hang(vault: Vault, root: Path) -> None:
    os.mkfifo(root / "pipe.md")
    with pytest.raises(VaultWriteError, match="not a regular file"):
        vault.read_text("pipe.md")


# --------------------------------------------------------------------------- write_atomic


def test_create_new_note(vault: Vault, root: Path) -> None:
    stamp = vault.write_atomic("Readwise/Books/A.md", "# A\n", expected=None, create_only=True)
    note = root / "Readwise" / "Books" / "A.md"
    assert note.read_text() == "# A\n"
    assert stat.S_IMODE(note.stat().st_mode) == 0o644
    assert stamp == FileStamp.from_stat(os.lstat(note))
    assert note.stat().st_nlink == 1
    assert temp_files(root) == []


def test_create_without_create_only(vault: Vault, root: Path) -> None:
    stamp = vault.write_atomic("B.md", "b\n", expected=None)
    assert (root / "B.md").read_text() == "b\n"
    assert stamp == FileStamp.from_stat(os.lstat(root / "B.md"))


def test_replace_with_matching_stamp(vault: Vault, root: Path) -> None:
    vault.write_atomic("n.md", "one\n", expected=None)
    read = vault.read_text("n.md")
    assert read is not None
    new_stamp = vault.write_atomic("n.md", read[0] + "two\n", expected=read[1])
    assert (root / "n.md").read_text() == "one\ntwo\n"
    assert vault.read_text("n.md") == ("one\ntwo\n", new_stamp)


def test_mode_is_preserved(vault: Vault, root: Path) -> None:
    note = root / "n.md"
    note.write_text("old\n")
    note.chmod(0o640)
    read = vault.read_text("n.md")
    assert read is not None
    vault.write_atomic("n.md", "new\n", expected=read[1])
    assert stat.S_IMODE(note.stat().st_mode) == 0o640
    assert note.read_text() == "new\n"


def test_cas_mismatch_keeps_the_users_edit(vault: Vault, root: Path) -> None:
    note = root / "n.md"
    note.write_text("v1\n")
    read = vault.read_text("n.md")
    assert read is not None
    note.write_text("v1\nuser edit that is longer\n")  # the user saves in between
    with pytest.raises(ConcurrentModification, match="changed on disk") as info:
        vault.write_atomic("n.md", "v1\nsyncd\n", expected=read[1])
    assert info.value.path == root.resolve() / "n.md"
    assert note.read_text() == "v1\nuser edit that is longer\n"
    assert temp_files(root) == []


def test_cas_detects_atomic_save_by_another_program(vault: Vault, root: Path) -> None:
    note = root / "n.md"
    note.write_text("v1\n")
    read = vault.read_text("n.md")
    assert read is not None
    replacement = root / "other.tmp"
    replacement.write_text("v2\n")  # same size, new inode
    replacement.replace(note)
    with pytest.raises(ConcurrentModification):
        vault.write_atomic("n.md", "v3\n", expected=read[1])
    assert note.read_text() == "v2\n"


def test_cas_edit_right_before_replace(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user saves while syncd writes its temp file: the re-check just before rename sees it."""
    note = root / "n.md"
    note.write_text("v1\n")
    read = vault.read_text("n.md")
    assert read is not None
    real_fsync = os.fsync

    def fsync_then_user_edit(fd: int) -> None:
        real_fsync(fd)
        if not note.read_text().startswith("user"):
            note.write_text("user wins\n")

    monkeypatch.setattr(os, "fsync", fsync_then_user_edit)
    with pytest.raises(ConcurrentModification):
        vault.write_atomic("n.md", "syncd\n", expected=read[1])
    assert note.read_text() == "user wins\n"
    vault.end_batch()  # (syncd's version, swapped back, is retired off the writing thread)
    assert temp_files(root) == []


def test_expected_none_but_note_exists(vault: Vault, root: Path) -> None:
    (root / "n.md").write_text("mine\n")
    with pytest.raises(ConcurrentModification, match="appeared"):
        vault.write_atomic("n.md", "syncd\n", expected=None)
    assert (root / "n.md").read_text() == "mine\n"


def test_expected_stamp_but_note_was_removed(vault: Vault, root: Path) -> None:
    (root / "n.md").write_text("x\n")
    read = vault.read_text("n.md")
    assert read is not None
    (root / "n.md").unlink()
    with pytest.raises(ConcurrentModification, match="removed"):
        vault.write_atomic("n.md", "syncd\n", expected=read[1])
    assert not (root / "n.md").exists()


def test_create_only_collision(vault: Vault, root: Path) -> None:
    (root / "n.md").write_text("mine\n")
    with pytest.raises(ConcurrentModification):
        vault.write_atomic("n.md", "syncd\n", expected=None, create_only=True)
    assert (root / "n.md").read_text() == "mine\n"
    assert temp_files(root) == []


def test_create_only_note_appears_during_the_write(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the first check and the link another program creates the note: link refuses."""
    note = root / "n.md"
    real_fsync = os.fsync

    def fsync_then_other_creates(fd: int) -> None:
        real_fsync(fd)
        if not note.exists():
            note.write_text("other device\n")

    monkeypatch.setattr(os, "fsync", fsync_then_other_creates)
    with pytest.raises(ConcurrentModification, match="appeared"):
        vault.write_atomic("n.md", "syncd\n", expected=None, create_only=True)
    assert note.read_text() == "other device\n"
    assert temp_files(root) == []


def no_rename_noreplace(monkeypatch: pytest.MonkeyPatch, code: int = errno.EINVAL) -> None:
    """Make renameat2(RENAME_NOREPLACE) fail with ``code`` (EINVAL: a file system without it)."""

    def renameat2(*args: object) -> int:
        ctypes.set_errno(code)
        return -1

    monkeypatch.setattr(syncd.vault, "_libc_renameat2", lambda: renameat2)


def test_create_only_without_rename_noreplace_links(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_rename_noreplace(monkeypatch)
    linked: list[object] = []
    real_link = os.link

    def link(src: str, dst: str, **kwargs: object) -> None:
        linked.append(dst)
        real_link(src, dst, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", link)
    vault.write_atomic("n.md", "x\n", expected=None, create_only=True)
    assert (root / "n.md").read_text() == "x\n"
    assert linked == ["n.md"]  # (relative to the open folder)
    assert temp_files(root) == []
    (root / "m.md").write_text("mine\n")
    with pytest.raises(ConcurrentModification, match="appeared"):
        vault.write_atomic("m.md", "syncd\n", expected=None, create_only=True)
    assert (root / "m.md").read_text() == "mine\n"
    assert temp_files(root) == []


def test_create_only_without_hard_links_falls_back(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    no_rename_noreplace(monkeypatch)
    monkeypatch.setattr(os, "link", no_links)
    vault.write_atomic("n.md", "x\n", expected=None, create_only=True)
    assert (root / "n.md").read_text() == "x\n"
    assert temp_files(root) == []


def enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("target", ["replace", "fsync", "write", "link", "renameat2"])
def test_injected_disk_full_keeps_original_and_removes_temp(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    note = root / "n.md"
    note.write_text("original\n")
    read = vault.read_text("n.md")
    assert read is not None
    if target == "renameat2":
        no_rename_noreplace(monkeypatch, errno.ENOSPC)
    elif target == "replace":  # (the rename where there is no exchange-rename)
        no_rename_noreplace(monkeypatch)
        monkeypatch.setattr(os, target, enospc)
    else:
        monkeypatch.setattr(os, target, enospc)
    if target == "link":
        no_rename_noreplace(monkeypatch)
    if target in ("link", "renameat2"):  # used for new notes only
        with pytest.raises(VaultWriteError, match="No space left") as info:
            vault.write_atomic("new.md", "x\n", expected=None, create_only=True)
        assert not (root / "new.md").exists()
        assert "new.md" in str(info.value)
    else:
        with pytest.raises(VaultWriteError, match="No space left on device") as info:
            vault.write_atomic("n.md", "new content\n", expected=read[1])
        assert "n.md" in str(info.value)
        assert "ENOSPC" in str(info.value)
    assert not isinstance(info.value, ConcurrentModification)
    assert note.read_text() == "original\n"
    assert temp_files(root) == []


def test_unencodable_text_is_refused_before_touching_disk(vault: Vault, root: Path) -> None:
    with pytest.raises(VaultWriteError, match="UTF-8"):
        vault.write_atomic("n.md", "lone \udcff surrogate", expected=None)
    assert not (root / "n.md").exists()
    assert temp_files(root) == []


def test_refuses_to_write_over_a_folder(vault: Vault, root: Path) -> None:
    (root / "n.md").mkdir()
    with pytest.raises(VaultWriteError, match="not a regular file"):
        vault.write_atomic("n.md", "x\n", expected=None)
    assert (root / "n.md").is_dir()


def test_parent_that_is_a_file(vault: Vault, root: Path) -> None:
    (root / "Books").write_text("a file\n")
    with pytest.raises(VaultWriteError):
        vault.write_atomic("Books/n.md", "x\n", expected=None)
    assert (root / "Books").read_text() == "a file\n"


def test_missing_vault_root_is_not_created(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "unmounted")
    with pytest.raises(VaultWriteError, match="vault folder is missing"):
        vault.write_atomic("Readwise/n.md", "x\n", expected=None)
    assert not (tmp_path / "unmounted").exists()


def test_long_name_gets_a_hashed_temp_name(vault: Vault, root: Path) -> None:
    stem = sanitize_title("ü" * 200)  # 240 bytes
    name = stem + ".md"
    assert len(name.encode()) == 243
    seen: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        seen.extend(p.name for p in temp_files(root))
        real_fsync(fd)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fsync", spy)
        vault.write_atomic(name, "x\n", expected=None, create_only=True)
    assert (root / name).read_text() == "x\n"
    assert seen and all(len(n.encode()) < 255 for n in seen)


def test_durable_false_then_syncfs(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    for i in range(3):
        vault.write_atomic(f"F/n{i}.md", f"{i}\n", expected=None, durable=False)
    assert calls == []
    vault.syncfs()
    assert sorted(p.name for p in (root / "F").iterdir()) == ["n0.md", "n1.md", "n2.md"]
    vault.write_atomic("F/n9.md", "9\n", expected=None)
    assert len(calls) >= 2  # the file and its folder


def test_a_bulk_replace_frees_the_old_file_off_the_writing_thread(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exchange-rename leaves the replaced note's old file under the temp name; a
    background thread retires it (removes that name), at the latest when the batch ends; so
    does a durable write (the daemon's). The note is replaced as ever, no temp file is left."""
    N = 3 * syncd.vault._HANDFUL + 1  # the thread starts mid-batch; the rest at end_batch
    removed: list[str] = []
    real_retire = syncd.vault._retire

    def spy(folder: syncd.vault._Dir, tmp: str, name: str, kept: tuple[int, int, int]) -> None:
        removed.append(tmp)
        real_retire(folder, tmp, name, kept)

    monkeypatch.setattr(syncd.vault, "_retire", spy)
    stamps = [vault.write_atomic(f"F/n{i}.md", f"{i}\n", expected=None) for i in range(N)]
    for i, stamp in enumerate(stamps):
        stamps[i] = vault.write_atomic(f"F/n{i}.md", f"{i} again\n", expected=stamp, durable=False)
    vault.end_batch()
    assert len(removed) == N and all(is_temp_file(name) for name in removed)
    assert temp_files(root) == []
    assert [(root / "F" / f"n{i}.md").read_text() for i in range(N)] == [
        f"{i} again\n" for i in range(N)
    ]
    vault.write_atomic("F/n0.md", "durable\n", expected=stamps[0])
    vault.end_batch()
    assert len(removed) == N + 1 and (root / "F" / "n0.md").read_text() == "durable\n"
    assert temp_files(root) == [] and list((root / "F").glob("*conflict*")) == []


def test_removals_end_their_thread_before_helpers_fork(vault: Vault, root: Path) -> None:
    """syncd.parallel forks helpers only from a process with no other thread: a bulk run's
    removals are waited for and their thread ended first (end_removals)."""
    stamp = vault.write_atomic("n.md", "one\n", expected=None)
    vault.write_atomic("n.md", "two\n", expected=stamp, durable=False)
    syncd.vault.end_removals()
    assert not [t for t in threading.enumerate() if t.name.startswith("syncd-remove")]
    assert temp_files(root) == [] and (root / "n.md").read_text() == "two\n"


def test_an_old_file_name_left_by_a_crash_is_swept_and_the_note_stays(
    vault: Vault, root: Path
) -> None:
    """A kill between the link aside and its removal leaves a temp-named hard link: the next
    run's sweep removes that name only."""
    vault.write_atomic("n.md", "the note\n", expected=None)
    os.link(root / "n.md", root / ".syncd.n.md.4242-7.tmp")
    assert vault.sweep_temp_files() == 1
    assert temp_files(root) == [] and (root / "n.md").read_text() == "the note\n"
    assert (root / "n.md").stat().st_nlink == 1


def test_a_bulk_replace_without_hard_links_is_a_plain_replace(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamp = vault.write_atomic("n.md", "one\n", expected=None)

    def refuse(src: str, dst: str, **kwargs: object) -> None:
        raise PermissionError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", refuse)
    vault.write_atomic("n.md", "two\n", expected=stamp, durable=False)
    vault.end_batch()
    assert (root / "n.md").read_text() == "two\n" and temp_files(root) == []


def test_a_bulk_replace_of_a_changed_note_links_nothing_aside(vault: Vault, root: Path) -> None:
    stamp = vault.write_atomic("n.md", "one\n", expected=None)
    (root / "n.md").write_text("the user's\n")
    with pytest.raises(ConcurrentModification):
        vault.write_atomic("n.md", "two\n", expected=stamp, durable=False)
    vault.end_batch()
    assert (root / "n.md").read_text() == "the user's\n" and temp_files(root) == []


def test_temp_file_is_beside_the_note_and_ignored(
    vault: Vault, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Path] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        seen.extend(temp_files(root))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    vault.write_atomic("A/Title.md", "---\nk: v\n---\n", expected=None)
    assert len(seen) >= 1
    tmp = seen[0]
    assert tmp.parent == root.resolve() / "A"
    assert tmp.name.startswith(".syncd.Title.md.")
    assert tmp.name.endswith(".tmp")
    assert is_temp_file(str(tmp))
    assert vault.frontmatter_values("k") == {"A/Title.md": "v"}


def _can_write_despite_chmod(folder: Path) -> bool:
    probe = folder / "probe"
    try:
        probe.write_text("x")
    except PermissionError:
        return False
    probe.unlink()
    return True


def test_read_only_folder(vault: Vault, root: Path) -> None:
    folder = root / "RO"
    folder.mkdir()
    note = folder / "n.md"
    note.write_text("original\n")
    read = vault.read_text("RO/n.md")
    assert read is not None
    folder.chmod(0o555)
    try:
        if _can_write_despite_chmod(folder):
            pytest.skip("running as root: chmod 0555 does not stop writes (see the next test)")
        with pytest.raises(VaultWriteError, match="Permission denied") as info:
            vault.write_atomic("RO/n.md", "new\n", expected=read[1])
        assert "n.md" in str(info.value)
        assert note.read_text() == "original\n"
        assert temp_files(root) == []
    finally:
        folder.chmod(0o755)


def test_read_only_folder_as_root_without_dac_override(root: Path) -> None:
    """As root, drop the capabilities that bypass permissions so chmod 0555 bites."""
    if os.geteuid() != 0:
        pytest.skip("not root: test_read_only_folder covers this")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) not installed")
    folder = root / "RO"
    folder.mkdir()
    (folder / "n.md").write_text("original\n")
    folder.chmod(0o555)
    child = CHILD_PRELUDE.format(repo=str(REPO), root=str(root)) + textwrap.dedent(
        """
        text, stamp = vault.read_text("RO/n.md")
        for rel, expected in (("RO/n.md", stamp), ("RO/new.md", None), ("RO/Sub/x.md", None)):
            try:
                vault.write_atomic(rel, "new\\n", expected=expected)
            except VaultWriteError as exc:
                print("ERROR", exc)
        """
    )
    drop = "-dac_override,-dac_read_search,-fowner"
    try:
        result = subprocess.run(
            ["setpriv", f"--bounding-set={drop}", "--", sys.executable, "-c", child],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        folder.chmod(0o755)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    assert all("Permission denied [EACCES]" in line for line in lines), lines
    assert "RO/n.md" in lines[0] and "RO/new.md" in lines[1] and "RO/Sub" in lines[2]
    assert (folder / "n.md").read_text() == "original\n"
    assert sorted(p.name for p in folder.iterdir()) == ["n.md"]


CHILD_PRELUDE = """
import os, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from syncd.errors import VaultWriteError
from syncd.vault import Vault, is_temp_file
root = Path({root!r})
vault = Vault(root)
"""


def _run_in_mount_namespace(setup: str, child: str) -> subprocess.CompletedProcess[str]:
    """Run shell ``setup`` then Python ``child`` in a private mount namespace (root only)."""
    script = f"{setup} && exec {sys.executable} -c {shlex.quote(child)}"
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )


def _mounts_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root for a private mount namespace"
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare/mount not installed"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "none", "/mnt"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return "cannot mount in a private namespace here"
    return None


def test_read_only_bind_mount(root: Path) -> None:
    reason = _mounts_available()
    if reason:
        pytest.skip(reason)
    note = root / "n.md"
    note.write_text("original\n")
    child = CHILD_PRELUDE.format(repo=str(REPO), root=str(root)) + textwrap.dedent(
        """
        text, stamp = vault.read_text("n.md")
        try:
            vault.write_atomic("n.md", "new\\n", expected=stamp)
        except VaultWriteError as exc:
            print("ERROR", exc)
        try:
            vault.write_atomic("Sub/new.md", "new\\n", expected=None)
        except VaultWriteError as exc:
            print("ERROR", exc)
        """
    )
    setup = f"mount --bind {root} {root} && mount -o remount,ro,bind {root}"
    result = _run_in_mount_namespace(setup, child)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert "n.md: cannot write note: Read-only file system [EROFS]" in lines[0]
    assert "Sub" in lines[1] and "EROFS" in lines[1]
    assert note.read_text() == "original\n"
    assert not (root / "Sub").exists()
    assert temp_files(root) == []


def test_real_disk_full_on_a_small_tmpfs(tmp_path: Path) -> None:
    reason = _mounts_available()
    if reason:
        pytest.skip(reason)
    mnt = tmp_path / "small"
    mnt.mkdir()
    child = CHILD_PRELUDE.format(repo=str(REPO), root=str(mnt)) + textwrap.dedent(
        """
        (root / "n.md").write_text("original\\n")
        text, stamp = vault.read_text("n.md")
        try:
            vault.write_atomic("n.md", "x" * 2_000_000, expected=stamp)
        except VaultWriteError as exc:
            print("ERROR", exc)
        print("CONTENT", (root / "n.md").read_text().strip())
        print("TEMPS", [n for n in os.listdir(root) if is_temp_file(n)])
        """
    )
    setup = f"mount -t tmpfs -o size=256k none {mnt}"
    result = _run_in_mount_namespace(setup, child)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "ENOSPC" in lines[0] and "n.md" in lines[0]
    assert lines[1] == "CONTENT original"
    assert lines[2] == "TEMPS []"


# --------------------------------------------------------------------------- names in folders


def test_exists_ci_ignores_case_and_normalization(vault: Vault, root: Path) -> None:
    (root / "Books").mkdir()
    (root / "Books" / "Café Society.md").write_text("x")
    nfd = unicodedata.normalize("NFD", "CAFÉ society.MD")
    assert vault.exists_ci("Books", "café society.md")
    assert vault.exists_ci("Books", nfd)
    assert not vault.exists_ci("Books", "Cafe Society.md")
    assert not vault.exists_ci("Missing", "x.md")
    assert not vault.exists_ci("", "café society.md")
    assert vault.exists_ci("", ".obsidian")


def test_exists_ci_sees_our_writes_and_others(vault: Vault, root: Path) -> None:
    (root / "F").mkdir()
    assert not vault.exists_ci("F", "a.md")  # caches the empty listing
    vault.write_atomic("F/A.md", "x\n", expected=None, create_only=True)
    assert vault.exists_ci("F", "a.md")
    (root / "F" / "B.md").write_text("by the user\n")
    assert vault.exists_ci("F", "b.md")
    (root / "F" / "B.md").unlink()
    assert not vault.exists_ci("F", "b.md")


def test_unique_name_with_the_vault(vault: Vault, root: Path) -> None:
    (root / "Books").mkdir()
    (root / "Books" / "dune.md").write_text("x")
    (root / "Books" / "DUNE (2).md").write_text("x")

    def taken(folder: str) -> Callable[[str], bool]:
        return lambda stem: vault.exists_ci(folder, stem + ".md")

    assert unique_name("Dune", taken("Books")) == "Dune (3)"
    assert unique_name("Dune", taken("Articles")) == "Dune"


def test_is_temp_file() -> None:
    assert is_temp_file(".syncd.Note.md.ab12cd34.tmp")
    assert is_temp_file("/vault/Books/.syncd.Note.md.ab12cd34.tmp")
    assert is_temp_file("C:\\vault\\.syncd.x.tmp")
    assert not is_temp_file(".syncd.tmp.md")
    assert not is_temp_file("Note.md")
    assert not is_temp_file("syncd.Note.tmp")


# --------------------------------------------------------------------------- sweep and listing


def test_sweep_temp_files(vault: Vault, root: Path) -> None:
    (root / "A" / "B").mkdir(parents=True)
    stale = [root / ".syncd.x.md.1.tmp", root / "A" / "B" / ".syncd.y.md.2.tmp"]
    for path in stale:
        path.write_text("partial")
    keep = [root / "A" / ".syncd.notes.md", root / "A" / "n.md", root / "A" / "x.tmp"]
    for path in keep:
        path.write_text("keep")
    assert vault.sweep_temp_files() == 2
    assert not any(p.exists() for p in stale)
    assert all(p.read_text() == "keep" for p in keep)
    assert vault.sweep_temp_files() == 0


def test_sweep_respects_age(vault: Vault, root: Path) -> None:
    old = root / ".syncd.old.md.1.tmp"
    new = root / ".syncd.new.md.2.tmp"
    old.write_text("x")
    new.write_text("x")
    st = old.stat()
    os.utime(old, (st.st_atime - 7200, st.st_mtime - 7200))
    assert vault.sweep_temp_files(older_than_seconds=3600) == 1
    assert not old.exists()
    assert new.exists()


def test_sweep_does_not_follow_symlinks(vault: Vault, root: Path, outside: Path) -> None:
    foreign = outside / ".syncd.foreign.md.1.tmp"
    foreign.write_text("not ours to delete")
    (root / "Out").symlink_to(outside, target_is_directory=True)
    assert vault.sweep_temp_files() == 0
    assert foreign.exists()


def test_the_notes_of_frontmatter_values(vault: Vault, root: Path, outside: Path) -> None:
    files = [
        "a.md",
        "Z/b.md",
        "Z/c.txt",
        "Z/Deep/d.md",
        ".obsidian/workspace.md",
        ".trash/old.md",
        "Z/.trash/nested-trash.md",
        "Z/.syncd.b.md.123.tmp",
        "Z/.syncd.weird.md",
        ".hidden/e.md",
    ]
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\nk: 1\n---\n")
    (outside / "o.md").write_text("---\nk: 1\n---\n")
    (root / "Out").symlink_to(outside, target_is_directory=True)
    (root / "link.md").symlink_to(root / "a.md")
    # A folder's files (sorted) come before its subfolders (sorted): deterministic order.
    assert list(vault.frontmatter_values("k")) == [
        "a.md",
        ".hidden/e.md",
        "Z/.syncd.weird.md",
        "Z/b.md",
        "Z/Deep/d.md",
    ]


def test_tree_outside_untouched_by_everything(vault: Vault, root: Path, outside: Path) -> None:
    (outside / "keep.md").write_text("keep\n")
    before = tree(outside)
    (root / "Out").symlink_to(outside, target_is_directory=True)
    (root / "out.md").symlink_to(outside / "keep.md")
    for rel in ("Out/keep.md", "Out/new.md", "out.md", "Out/x/y.md"):
        with pytest.raises(VaultWriteError):
            vault.write_atomic(rel, "pwned\n", expected=None)
    vault.sweep_temp_files()
    assert tree(outside) == before


KILL_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from syncd.vault import Vault
vault = Vault(Path({root!r}))
size = 1 << 20
for i in range(1_000_000):
    current = vault.read_text("big.md")
    letter = "ab"[i % 2]
    vault.write_atomic("big.md", letter * size, expected=current[1] if current else None)
    print("wrote", letter, flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_writes_leaves_old_or_new_note(root: Path) -> None:
    """A crash at any point leaves the whole old or the whole new note, and a temp to sweep."""
    for rounds in (1, 2, 3, 5, 8):
        child = subprocess.Popen(
            [sys.executable, "-c", KILL_CHILD.format(repo=str(REPO), root=str(root))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stderr is not None
        try:
            for _ in range(rounds):
                assert child.stdout.readline().startswith("wrote"), child.stderr.read()
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
            child.stderr.close()
        data = (root / "big.md").read_bytes()
        assert len(data) == 1 << 20
        assert data in (b"a" * (1 << 20), b"b" * (1 << 20))
        Vault(root).sweep_temp_files()
        assert temp_files(root) == []


def test_a_file_is_copied_in_through_the_same_atomic_write(
    vault: Vault, root: Path, tmp_path: Path
) -> None:
    """Attachments go through write_atomic too (one atomic writer): streamed, larger than one
    chunk, never over a file that appeared meanwhile, a compare-and-swap when replacing."""
    source = tmp_path / "picture.bin"
    data = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB and a bit: several chunks
    source.write_bytes(data)
    assert vault.file_digest("assets/picture.bin") is None
    vault.write_atomic("assets/picture.bin", source, expected=None, create_only=True)
    assert (root / "assets" / "picture.bin").read_bytes() == data
    assert temp_files(root / "assets") == []
    there = vault.file_digest("assets/picture.bin")
    assert there is not None
    digest, stamp = there
    assert digest == hashlib.sha256(data).hexdigest()
    with pytest.raises(ConcurrentModification):  # it exists now: create_only refuses
        vault.write_atomic("assets/picture.bin", source, expected=None, create_only=True)
    (root / "assets" / "picture.bin").write_bytes(b"the user's own")
    with pytest.raises(ConcurrentModification):  # changed since the digest was taken
        vault.write_atomic("assets/picture.bin", source, expected=stamp)
    assert (root / "assets" / "picture.bin").read_bytes() == b"the user's own"
    assert temp_files(root / "assets") == []


def test_file_digest_of_a_folder_is_not_a_file_digest(vault: Vault, root: Path) -> None:
    (root / "assets" / "sub").mkdir(parents=True)
    there = vault.file_digest("assets/sub")
    assert there is not None and there[0] == "not-a-file"
