#!/usr/bin/env python3
"""CPU time of the helpers' work alone: every page of a graph planned in one process.

    .venv/bin/python bench/plan_cpu.py GRAPH [--include readwise|all] [--rounds 4]
        [--against DIR ...] [--main]

``syncd once`` is started on a copy of GRAPH as a user runs it, up to the point where the
helpers would start; there, instead, the run's own plan context plans every page in the
process (``plan_page(ctx, task, merge=True)``, what a helper runs), timed with
``time.process_time``, and the process exits. No helper, no writer, no other process shares
the CPU, so the figure moves far less than a whole run's wall time on a busy host (a few
percent, against tens): use it to compare two versions of the per-page work. ``--against
DIR`` times the syncd package in DIR the same way, in turns with this one (DIR may be syncd
0.1.0, whose helpers ran ``prepare.prepare_pages``). The minimum of ``--rounds`` rounds is
printed for each.

cachegrind's instruction counts are no substitute here: under valgrind OpenSSL's SHA-1 runs
without the CPU's SHA instructions (about 6,400 instructions a hash of a Note line, where one
takes 0.37 us here), and it misses what memory costs.

``--main`` times the other part instead: the main process's own work. Every page is planned
first, in the process and untimed (as the helpers would have), then the run goes on as it does
with helpers that planned every page ahead: the writer, the state, the index after the pass,
the exit. The user CPU seconds of that part are the figure (its system time, mostly the file
system's, moves far more: it is left out). syncd 0.1.0's ``ScanHelpers`` is replaced the same
way.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    from bench.run import REPO, compile_syncd, syncd_env
except ImportError:  # run as a script: bench/ itself is first on sys.path
    from run import REPO, compile_syncd, syncd_env  # type: ignore[no-redef]

# Run in the child process: a hook at the executor's start (this code: parallel.Planner;
# syncd 0.1.0: prepare.ScanHelpers) that plans every page there, prints the CPU seconds, exits.
_HOOK = """
import os, runpy, sys, time
def report(seconds):
    sys.stderr.write(f"PLAN_CPU {seconds:.3f}\\n")
    sys.stderr.flush()
    os._exit(0)
try:
    import syncd.parallel as executor
    from syncd.plan import plan_page
    def start(self, ctx, tasks, pages, helpers):
        tasks = list(tasks)
        began = time.process_time()
        for task in tasks:
            plan_page(ctx, task, merge=True)
        report(time.process_time() - began)
    executor.Planner.__init__ = start
except ImportError:  # syncd 0.1.0
    import syncd.prepare as prepare
    def start(self, count, tasks, groups):
        tasks = list(tasks)
        began = time.process_time()
        for params, task in tasks:
            prepare.prepare_pages(params, [task])
        report(time.process_time() - began)
    prepare.ScanHelpers.__init__ = start
sys.argv[0] = "syncd"
runpy.run_module("syncd", run_name="__main__")
"""

# --main: the same places, but every page is planned there untimed (the executor then hands
# out those plans) and the rest of the run, to its exit, is timed
_MAIN_HOOK = """
import atexit, os, resource, runpy, sys
began = []
def planned():
    import gc
    gc.collect()
    gc.freeze()  # (the plans made ahead are no garbage: no collection walks them)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    began.append((usage.ru_utime, usage.ru_stime))
def report():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    user, system = usage.ru_utime - began[0][0], usage.ru_stime - began[0][1]
    sys.stderr.write(f"MAIN_CPU {user:.3f} (system {system:.3f})\\n")
    sys.stderr.flush()
atexit.register(lambda: began and report())
try:
    import syncd.parallel as executor
    from syncd.plan import plan_page
    def start(self, ctx, tasks, pages, helpers):
        self.ctx, self._pool = ctx, None
        self.plans = {task.index: plan_page(ctx, task, merge=True) for task in tasks}
        planned()
    def plan(self, task, hinted):
        made = self.plans.pop(task.index, None) if hasattr(self, "plans") else None
        return made if made is not None and made.status != "error" else self.inline(task)
    executor.Planner.__init__ = start
    executor.Planner.plan = plan
except ImportError:  # syncd 0.1.0
    import syncd.prepare as prepare
    def start(self, count, tasks, groups):
        self.plans = {}
        for params, task in tasks:
            for prepared in prepare.prepare_pages(params, [task]):
                self.plans[prepared.index] = prepared
        self.handed_out, self.used = len(self.plans), 0
        planned()
    prepare.ScanHelpers.__init__ = start
    prepare.ScanHelpers.take = lambda self, index: self.plans.pop(index, None)
    prepare.ScanHelpers.close = lambda self: None
sys.argv[0] = "syncd"
runpy.run_module("syncd", run_name="__main__")
"""


def cpu_seconds(
    package: Path, graph: Path, include: str, work: Path, *, main: bool = False
) -> float:
    """CPU seconds of planning every page of ``graph`` with the syncd package in ``package``
    (``main``: the main process's user CPU seconds after that, to its exit)."""
    env = {**syncd_env(package), "SYNCD_HELPERS": "2"}  # (the hook replaces the helpers)
    vault, state = work / "vault", work / "state"
    shutil.rmtree(vault, ignore_errors=True)
    shutil.rmtree(state, ignore_errors=True)
    argv = ["once", str(graph), str(vault), "--state-dir", str(state), "--include", include]
    hook, mark = (_MAIN_HOOK, "MAIN_CPU ") if main else (_HOOK, "PLAN_CPU ")
    done = subprocess.run(
        [sys.executable, "-c", hook, *argv], env=env, capture_output=True, text=True, check=False
    )
    for line in done.stderr.splitlines():
        if line.startswith(mark) and (done.returncode == 0 or not main):
            return float(line.split()[1])
    raise SystemExit(f"{package}: no figure (exit {done.returncode}):\n{done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("graph", type=Path)
    parser.add_argument("--include", choices=("readwise", "all"), default="readwise")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--against", type=Path, action="append", default=[], metavar="DIR")
    parser.add_argument("--main", action="store_true", help="time the main process's part")
    args = parser.parse_args()
    packages = [REPO, *(path.resolve() for path in args.against)]
    for package in packages:
        compile_syncd(package)
    best: dict[Path, float] = {}
    with tempfile.TemporaryDirectory(prefix="syncd-plan-cpu-") as tmp:
        graph = Path(tmp) / "graph"
        shutil.copytree(args.graph, graph)  # (syncd never writes to it; a copy all the same)
        for round_ in range(1, args.rounds + 1):
            for package in packages:
                seconds = cpu_seconds(package, graph, args.include, Path(tmp), main=args.main)
                best[package] = min(best.get(package, seconds), seconds)
                print(f"round {round_}: {package}: {seconds:.3f} s", flush=True)
    this = best[REPO]
    for package in packages:
        ratio = "" if package == REPO else f"  (this code: {this / best[package]:.2f} x)"
        print(f"min {best[package]:.3f} s  {package}{ratio}")


if __name__ == "__main__":
    main()
