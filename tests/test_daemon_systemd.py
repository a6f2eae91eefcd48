"""The systemd user unit: `systemd-analyze verify` prints nothing, exit codes match the code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.daemon import service

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "syncd.service"


def _settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_unit_settings_match_the_daemon() -> None:
    settings = _settings(UNIT.read_text(encoding="utf-8"))
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert settings["ExecStart"] == ["%h/.local/bin/syncd run"]
    assert settings["Restart"] == ["on-failure"]
    prevented = {int(code) for code in settings["RestartPreventExitStatus"][0].split()}
    assert prevented == {service.EXIT_CONFIG, service.EXIT_ALREADY_RUNNING}
    assert settings["PrivateUsers"] == ["yes"]  # sandboxing in user units on systemd <= 252
    # StateDirectory= means ~/.config/syncd in a user unit before systemd 254: not used; the
    # state folder is made (outside the sandbox) and made writable explicitly
    assert "StateDirectory" not in settings
    assert settings["ExecStartPre"] == ["+/bin/mkdir -p -m 0700 %h/.local/state/syncd"]
    assert "-%h/.local/state/syncd" in settings["ReadWritePaths"][0].split()
    # a configuration `syncd check` rejects fails the reload before the daemon hears of it
    assert settings["ExecReload"] == ["%h/.local/bin/syncd check", "/bin/kill -HUP $MAINPID"]
    stop_timeout = int(re.sub(r"s$", "", settings["TimeoutStopSec"][0]))
    assert stop_timeout > service.STOP_TIMEOUT  # syncd gives up on a stuck sync first


def _verify(unit_text: str, folder: Path) -> tuple[int, str]:
    # The commands must name an executable that exists here, or verify complains about it.
    text = unit_text.replace("%h/.local/bin/syncd", sys.executable)
    unit = folder / "syncd.service"
    unit.write_text(text, encoding="utf-8")
    runtime = folder / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},  # user mode needs one
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_analyze_verify_prints_nothing(tmp_path: Path) -> None:
    # The exit status is 0 even for unknown keys and bad values: any output is a failure.
    assert _verify(UNIT.read_text(encoding="utf-8"), tmp_path) == (0, "")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_analyze_verify_would_catch_a_typo(tmp_path: Path) -> None:
    broken = UNIT.read_text(encoding="utf-8").replace("Restart=on-failure", "Restart=sometimes")
    _, output = _verify(broken, tmp_path)
    assert "sometimes" in output
