"""Issue 13: configurations that would make syncd read its own output, and the smaller
configuration and start-up faults, each with a real ``syncd`` process on real folders.

Finding 4: a vault inside a folder a source reads pages from (or such a folder inside a vault),
after the graph's ``logseq/config.edn``, made the notes come back as garbled duplicate
documents. ``syncd check``, ``syncd once`` and ``syncd run`` now refuse it: exit 2, one line
naming the configuration file, the source, the folders and the reason, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability_helpers import Home, error_lines, run_syncd

EXIT_USAGE = 2


def second_vault(home: Home, path: Path) -> None:
    """A second vault at ``path`` fed by a graph of its own (graph2/)."""
    (home.root / "graph2" / "pages").mkdir(parents=True)
    text = home.config.read_text("utf-8").replace(
        "daemon:\n",
        f"  - name: second\n    path: {path}\n    sources:\n      - path: {home.root / 'graph2'}\n"
        "daemon:\n",
    )
    home.config.write_text(text, "utf-8")


# name -> (config.edn text or None, what else to set up, what the error line must say)
OVERLAPS = {
    "pages-directory-into-the-vault": (
        '{{:pages-directory "../vault/Articles"}}',
        None,
        ':pages-directory "../vault/Articles" ({root}/vault/Articles) is inside vault "main"',
    ),
    "journals-directory-is-the-vault": (
        '{{:journals-directory "../vault"}}',
        None,
        ':journals-directory "../vault" ({root}/vault) is vault "main"',
    ),
    "absolute-pages-directory-into-the-vault": (
        '{{:pages-directory "{root}/vault/Readwise"}}',
        None,
        ':pages-directory "{root}/vault/Readwise" ({root}/vault/Readwise) is inside vault "main"',
    ),
    "second-vault-inside-the-pages-folder": (
        None,
        "second-vault",
        'its pages folder ({root}/graph/pages) holds vault "second" ({root}/graph/pages/Second)',
    ),
    "pages-folder-a-symlink-into-the-vault": (
        None,
        "symlink",
        'its pages folder ({root}/vault/Readwise) is inside vault "main"',
    ),
}


@pytest.mark.parametrize("case", list(OVERLAPS))
def test_a_vault_overlapping_a_source_page_folder_is_refused(tmp_path: Path, case: str) -> None:
    root = tmp_path.resolve()
    home = Home(root)
    edn, setup, message = OVERLAPS[case]
    if edn is not None:
        (home.graph / "logseq").mkdir()
        (home.graph / "logseq" / "config.edn").write_text(edn.format(root=root), "utf-8")
    if setup == "second-vault":
        second_vault(home, home.pages / "Second")
    if setup == "symlink":
        (home.vault / "Readwise").mkdir()
        home.pages.rmdir()
        home.pages.symlink_to(home.vault / "Readwise")
    else:
        home.put("a1", [1, 2])
    before = home.vault_files()
    for command in ("check", "once", "run"):
        done = run_syncd([command, "-c", str(home.config)], timeout=60)
        assert done.returncode == EXIT_USAGE, (command, done.stderr)
        assert "Traceback" not in done.stderr
        errors = error_lines(done.stderr)
        assert len(errors) == 1, (command, done.stderr)
        assert f"{home.config}: vaults[0].sources[0].path: " in errors[0] or (
            setup == "second-vault" and f"{home.config}: vaults[1].sources[0].path: " in errors[0]
        ), errors
        assert message.format(root=root) in errors[0], errors
        assert "syncd would read the notes it writes as source pages" in errors[0]
    assert home.vault_files() == before  # nothing written
    assert not home.state.exists() or not (home.state / "state.sqlite3").exists()


@pytest.mark.parametrize(
    ("edn", "message"),
    [
        (
            '{:pages-directory "/etc"}',
            ':pages-directory "/etc" is an absolute path, not a folder inside the graph',
        ),
        (
            '{:journals-directory "../elsewhere"}',
            ':journals-directory "../elsewhere" leads out of the graph folder ({root}/graph)',
        ),
    ],
    ids=["absolute", "dot-dot"],
)
def test_a_page_folder_leading_out_of_the_graph_is_refused(
    tmp_path: Path, edn: str, message: str
) -> None:
    root = tmp_path.resolve()
    home = Home(root)
    (root / "elsewhere").mkdir()
    (home.graph / "logseq").mkdir()
    (home.graph / "logseq" / "config.edn").write_text(edn, "utf-8")
    home.put("a1", [1])
    for command in ("check", "once", "run"):
        done = run_syncd([command, "-c", str(home.config)], timeout=60)
        assert done.returncode == EXIT_USAGE, (command, done.stderr)
        assert "Traceback" not in done.stderr
        errors = error_lines(done.stderr)
        assert len(errors) == 1, done.stderr
        expected = f"{root}/graph/logseq/config.edn {message.format(root=root)}"
        assert expected in errors[0], errors
    assert home.vault_files() == {}


def test_source_vault_mode_refuses_a_pages_folder_in_the_vault(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    home = Home(root)
    (home.graph / "logseq").mkdir()
    (home.graph / "logseq" / "config.edn").write_text('{:pages-directory "../vault"}', "utf-8")
    home.put("a1", [1])
    done = run_syncd(["once", str(home.graph), str(home.vault), "--state-dir", str(home.state)])
    assert done.returncode == EXIT_USAGE, done.stderr
    errors = error_lines(done.stderr)
    assert len(errors) == 1, done.stderr
    assert (
        f'SOURCE: its pages folder, {root}/graph/logseq/config.edn :pages-directory "../vault" '
        f'({root}/vault) is vault "vault" ({root}/vault)'
    ) in errors[0]
    assert home.vault_files() == {}


def test_folders_beside_the_page_folders_may_hold_a_vault(tmp_path: Path) -> None:
    """Only the folders syncd reads pages from count: a vault elsewhere in the graph (not in
    pages/ or journals/) is allowed, and a graph with its own page folders set in config.edn
    syncs as before."""
    root = tmp_path.resolve()
    home = Home(root)
    (home.graph / "logseq").mkdir()
    (home.graph / "logseq" / "config.edn").write_text(
        '{:pages-directory "notes" :journals-directory "daily"}', "utf-8"
    )
    (home.graph / "notes").mkdir()
    second_vault(home, home.graph / "Other vault")
    home.put("a1", [1])
    home.page("Document a1").rename(home.graph / "notes" / home.page("Document a1").name)
    done = run_syncd(["check", "-c", str(home.config)])
    assert done.returncode == 0, done.stderr
    done = home.once()
    assert done.returncode == 0, done.stderr
    assert home.note("a1").is_file()
