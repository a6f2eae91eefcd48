"""The command line tells the truth (issue 14): ``syncd`` run as a real process, on a real
pseudo-terminal (``pty``) where a terminal matters and in a real shell pipeline for ``| head``.

- ``--dry-run`` on a vault that does not exist yet says what it would create, exit 0, and
  writes nothing; a vault that lost its ``.obsidian/`` after syncd wrote into it is refused.
- An unknown configuration key is an error (exit 2) naming the closest known key, reported
  together with the file's warnings.
- ``syncd status [--json]`` works without a configuration file; its counts agree with its
  lists; times are local (docs/status-json.md is the schema).
- ``| head -1`` ends the output quietly; the progress bar is on the terminal only, one line,
  with log lines above it, never in a pipe or the journal.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import struct
import subprocess
import sys
import termios
from pathlib import Path

from reliability_helpers import REPO, readwise_page

SYNCD = [sys.executable, "-m", "syncd"]
TIMESTAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
BAR = re.compile(r"graph: pages: +\d+%\|[^|]*\| (\d+)/(\d+) \[")


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    """No configuration file, state in tmp: as a new user's ``syncd once SOURCE VAULT``."""
    env = {k: v for k, v in os.environ.items() if k not in {"JOURNAL_STREAM", "INVOCATION_ID"}}
    env.pop("SYNCD_CONFIG", None)
    env |= {"XDG_STATE_HOME": str(tmp / "xdg-state"), "XDG_CONFIG_HOME": str(tmp / "xdg-cfg")}
    return env | extra


def graph(tmp: Path, pages: int, bad: int = 0) -> Path:
    root = tmp / "graph"
    (root / "pages").mkdir(parents=True, exist_ok=True)
    for i in range(pages):
        page = root / "pages" / f"Document {i:04d} (highlights).md"
        page.write_text(readwise_page(f"{i:04d}", [1, 2, 3]), "utf-8")
    for i in range(bad):  # not UTF-8: a failure with a reason, listed by status
        page = root / "pages" / f"Broken {i:04d} (highlights).md"
        page.write_bytes(readwise_page(f"b{i:04d}", [1]).encode() + b"\t- caf\xe9\n")
    return root


def syncd(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SYNCD, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# ------------------------------------------------------------------------------- dry run


def test_dry_run_on_a_new_vault_says_what_it_would_create_and_writes_nothing(
    tmp_path: Path,
) -> None:
    source = graph(tmp_path, 3)
    env = env_for(tmp_path)
    before = tree(tmp_path)
    for extra in (["--dry-run"], ["--dry-run", "--diff"]):
        done = syncd(["once", *extra, str(source), str(tmp_path / "new vault")], env)
        assert done.returncode == 0, done.stderr
        assert "would create new vault" in done.stderr
        assert "would create Readwise/Articles/Document 0002.md" in done.stderr
        assert "would change 3 notes (3 new" in done.stderr
        assert tree(tmp_path) == before  # no vault, no state folder
    assert "+++ b/Readwise/Articles/Document 0000.md" in done.stdout


def test_a_vault_that_lost_its_marker_is_still_refused(tmp_path: Path) -> None:
    source, vault, env = graph(tmp_path, 2), tmp_path / "vault", env_for(tmp_path)
    assert syncd(["once", str(source), str(vault)], env).returncode == 0
    (vault / ".obsidian").rmdir()  # unmounted, moved: the folder syncd wrote into is not it
    for extra in ([], ["--dry-run"]):
        done = syncd(["once", *extra, str(source), str(vault)], env)
        assert done.returncode == 2, done.stderr
        assert "unmounted or moved?" in done.stderr
    assert not (vault / ".obsidian").exists()


# ------------------------------------------------------------------------- configuration


def test_an_unknown_key_is_an_error_naming_the_closest_key(tmp_path: Path) -> None:
    source = graph(tmp_path, 1)
    (tmp_path / "other").mkdir()  # no pages/: a warning, reported with the error
    config = tmp_path / "config.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\nvaults:\n  - name: main\n"
        f"    path: {tmp_path / 'vault'}\n    sources:\n      - path: {source}\n"
        "        includes: all\n"
        f"      - path: {tmp_path / 'other'}\n",
        "utf-8",
    )
    before = tree(tmp_path)
    for command in ("check", "once"):
        done = syncd([command, "-c", str(config)], env_for(tmp_path))
        assert done.returncode == 2, done.stderr
        errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
        assert errors == [
            f"{errors[0][:20]}ERROR {config}: vaults[0].sources[0].includes: unknown key "
            "(did you mean include?)"
        ], done.stderr
        assert f"WARNING {config}: vaults[0].sources[1].path: no pages/" in done.stderr
        assert tree(tmp_path) == before


# -------------------------------------------------------------------------------- status


def test_status_json_without_a_configuration_after_once_source_vault(tmp_path: Path) -> None:
    source, vault = graph(tmp_path, 4, bad=2), tmp_path / "vault"
    env = env_for(tmp_path, TZ="Asia/Kolkata")  # +05:30 all year: local times are visible
    assert syncd(["once", str(source), str(vault)], env).returncode == 1  # the two bad pages
    done = syncd(["status", "--json"], env)
    assert done.returncode == 0, done.stderr
    [state] = json.loads(done.stdout)["states"]
    assert state["exists"] is True
    assert state["state"].startswith(str(tmp_path / "xdg-state" / "syncd"))
    assert state["daemon"]["running"] is False and state["daemon"]["pid"] is None
    assert state["last_run"].endswith("+05:30"), state["last_run"]
    assert "6 pages" in state["last_run_result"]
    [main] = state["vaults"]
    assert main["name"] == "vault" and main["path"] == str(vault)
    assert (main["documents"], main["notes"], main["pages"]) == (4, 4, 4)  # the synced ones
    assert main["sources"] == [{"path": str(source), "documents": 4, "notes": 4, "pages": 4}]
    assert main["failed"] == len(main["failures"]) == 2  # the count is the list's length
    for failure, name in zip(main["failures"], ("Broken 0000", "Broken 0001"), strict=True):
        assert failure["page"].endswith(f"{name} (highlights).md")
        assert "not valid UTF-8" in failure["reason"]
        assert failure["since"].endswith("+05:30")

    text = syncd(["status"], env)
    assert text.returncode == 0, text.stderr
    assert f"vault vault ({vault}): 4 documents, 4 notes, 4 pages, 2 failed" in text.stdout
    assert f"  source {source}: 4 documents, 4 notes, 4 pages" in text.stdout
    assert len(re.findall(r"failed since \S+\+05:30: .*Broken", text.stdout)) == 2


def test_status_without_any_state_says_so(tmp_path: Path) -> None:
    done = syncd(["status", "--json"], env_for(tmp_path))
    assert done.returncode == 0, done.stderr
    [state] = json.loads(done.stdout)["states"]
    assert state == {
        "state": str(tmp_path / "xdg-state" / "syncd" / "state.sqlite3"),
        "exists": False,
        "daemon": {"running": False, "pid": None},
        "vaults": [],
    }


# ---------------------------------------------------------------------------------- pipes


def pipeline(command: str, env: dict[str, str]) -> tuple[int, str, str]:
    """``command | head -1`` in a real shell: (syncd's exit status, head's output, stderr)."""
    syncd_cmd = shlex.join(SYNCD)
    script = f'{syncd_cmd} {command} | head -1; echo "syncd exit ${{PIPESTATUS[0]}}" >&2'
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )
    exit_line = done.stderr.strip().splitlines()[-1]
    return int(exit_line.split()[-1]), done.stdout, done.stderr


def test_output_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    # enough output to fill the pipe (64 KiB) long before syncd is done writing
    source, vault, env = graph(tmp_path, 150), tmp_path / "vault", env_for(tmp_path)
    code, out, err = pipeline(f"once --diff -q {source} {vault}", env)
    assert (code, out) == (0, "--- a/Readwise/Articles/Document 0000.md\n"), err
    assert "Traceback" not in err and "Broken pipe" not in err, err
    for _ in range(3):  # the summary goes to stderr even when stdout's reader left (it was lost)
        code, out, err = pipeline(f"once --dry-run --diff {source} {tmp_path / 'new'}", env)
        assert code == 0 and len(out.splitlines()) == 1, err
        assert "150 pages, would change 150 notes (150 new" in err, err
    graph(tmp_path, 0, bad=400)
    assert syncd(["once", str(source), str(vault)], env).returncode == 1
    for command in ("status", "status --json"):
        code, out, err = pipeline(command, env)
        assert code == 0 and len(out.splitlines()) == 1, err
        assert "Traceback" not in err and "Broken pipe" not in err, err


# ------------------------------------------------------------------------- progress bar


def on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run syncd with stderr on a real pseudo-terminal (80x24); what the terminal got."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    if env.get("JOURNAL_STREAM") == "pty":  # journald names its stream by device and inode
        st = os.fstat(slave)
        env = env | {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    proc = subprocess.Popen(
        [*SYNCD, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
        cwd=REPO,
    )
    os.close(slave)
    received = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    return proc.wait(timeout=120), received.decode()


def screen_lines(output: str) -> list[str]:
    """What each terminal line shows at the end: a carriage return goes back to column 0
    and what follows overwrites what was there."""
    lines = []
    for raw in output.replace("\r\n", "\n").split("\n"):
        shown = ""
        for part in raw.split("\r"):
            shown = part + shown[len(part) :]
        lines.append(shown.rstrip())
    return [line for line in lines if line]


def test_the_progress_bar_stays_on_one_line_below_the_log_lines(tmp_path: Path) -> None:
    source, env = graph(tmp_path, 300), env_for(tmp_path)
    code, output = on_a_terminal(["once", str(source), str(tmp_path / "vault")], env)
    assert code == 0, output
    assert "\r" in output and BAR.search(output), output[-2000:]
    for segment in re.split(r"[\r\n]+", output):  # every drawing of the bar fits the line
        if BAR.search(segment):
            assert len(segment) <= 80 and BAR.fullmatch(segment[: BAR.search(segment).end()])
    lines = screen_lines(output)
    created = [line for line in lines if "INFO created" in line and "new vault" not in line]
    assert len(created) == 300
    for line in lines:  # no log line glued onto a bar, no bar in a log line
        assert re.match(TIMESTAMP + r"INFO ", line) or BAR.match(line) or "300 pages" in line, line
    assert [BAR.match(line).groups() for line in lines if BAR.match(line)] == [("300", "300")]


def test_quiet_wipes_the_bar_when_done(tmp_path: Path) -> None:
    source, env = graph(tmp_path, 300), env_for(tmp_path)
    code, output = on_a_terminal(["once", "-q", str(source), str(tmp_path / "vault")], env)
    assert code == 0, output
    assert BAR.search(output), output  # shown while it runs
    assert screen_lines(output) == []  # and gone after: -q prints nothing when all is well


def test_no_bar_in_a_pipe_or_the_journal(tmp_path: Path) -> None:
    source, env = graph(tmp_path, 300), env_for(tmp_path)
    piped = syncd(["once", str(source), str(tmp_path / "vault1")], env)
    assert piped.returncode == 0, piped.stderr
    assert "\r" not in piped.stderr and "%|" not in piped.stderr
    assert len(piped.stderr.splitlines()) == 302  # vault created, 300 notes, summary

    journal = env | {"JOURNAL_STREAM": "pty"}  # stderr is journald's stream (on a terminal here)
    code, output = on_a_terminal(["once", str(source), str(tmp_path / "vault2")], journal)
    assert code == 0, output
    assert "%|" not in output
    notes = [line for line in output.splitlines() if line.startswith("<6>created ")]
    assert len([line for line in notes if "new vault" not in line]) == 300
