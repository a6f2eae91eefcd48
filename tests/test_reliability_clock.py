"""The wall clock steps under a running daemon (NTP, a suspended laptop, a wrong RTC).

The daemon runs as a real process under libfaketime (Debian package ``faketime``): the offset
it reads is changed while it runs (``FAKETIME_TIMESTAMP_FILE``, read at every call). As in a
real NTP step only the wall clock (CLOCK_REALTIME) moves: CLOCK_MONOTONIC and the file times
the kernel keeps are left alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability_helpers import DaemonProcess, Home

LIBFAKETIME = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))
PERIODIC = r"full scan \(periodic\): "


@pytest.mark.skipif(not LIBFAKETIME, reason="libfaketime not installed (apt-get install faketime)")
def test_periodic_scans_keep_their_interval_across_wall_clock_steps(tmp_path: Path) -> None:
    home = Home(tmp_path, rescan="0.5s")
    home.put("a", [1])
    offset = tmp_path / "faketime"
    offset.write_text("+0\n", encoding="utf-8")
    env = {
        "LD_PRELOAD": str(LIBFAKETIME[0]),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "NO_FAKE_STAT": "1",
    }
    daemon = DaemonProcess(home, tmp_path / "daemon.log", env)
    try:
        daemon.wait_ready()
        daemon.wait_for(lambda: daemon.count(PERIODIC) >= 2, "two periodic scans")
        for step, doc in (("-3600", "b"), ("+86400", "c")):  # back 1 h, then forward 1 day
            offset.write_text(f"{step}\n", encoding="utf-8")
            more = daemon.count(PERIODIC) + 3
            # the scans go on (the wall-clock schedule stopped for the hour stepped back)
            daemon.wait_for(lambda n=more: daemon.count(PERIODIC) >= n, f"scans after {step}")
            home.put(doc, [1])  # and a change is still synced once settled
            daemon.wait_for(home.note(doc).is_file, f"the note of a page written after {step}")
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert " ERROR " not in daemon.log()
