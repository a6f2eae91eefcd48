#!/usr/bin/env python3
"""syncd benchmark (issue 6): wall time and peak memory of `syncd once`, beside `cp -r`.

    .venv/bin/python bench/run.py                     # 10,000-page graph from gen_graph.py
    .venv/bin/python bench/run.py ~/Logseq            # any Logseq graph (copied, never written)
    .venv/bin/python bench/run.py --repeat 5 --compare-l2o

For `include: readwise` and `include: all`, each repetition works on a fresh copy of the
graph (that copy is timed: it is the `cp -r` figure) and a fresh vault, and measures

  (a) the first `syncd once` into an empty vault,
  (b) a second `syncd once` with nothing changed,
  (c) `syncd once` after `gen_graph.py --grow 0.1` appended highlights to a tenth of the
      Readwise pages, and
  (d) the changed pages alone: the pages (c) saw changed, in their new state, synced from
      scratch into an empty vault (the yardstick of target (c)),

and, with both modes, include: all's (a) against include: readwise's (a) (issue 11: within
1.5 x on the same Readwise-heavy graph).

syncd runs as a child process exactly as a user runs it (`python -m syncd once GRAPH VAULT
--state-dir DIR --include MODE`, default verbosity, stderr to a file). Each child is reaped
with os.wait4, so its wall time, CPU time (user + sys) and peak RSS (ru_maxrss: the largest
of the process and the children it reaped) are its own. "tree" is the peak of the summed PSS
of the process and its descendants (syncd's helper processes), sampled every 50 ms: memory
shared between them (libraries, pages inherited by fork) counts once. Figures are medians
over --repeat runs. SYNCD_HELPERS=N in the environment sets syncd's helper count (0: none).

With --against DIR, the syncd package in DIR (another version's checkout) is measured in the
same sitting: each repetition runs both codes back to back, in turns (this code first in odd
repetitions: with an odd --repeat, once more than the other), so that a host that speeds up
or slows down weighs on both alike; then this code's medians of (a), (b) and (c) are printed
against the other's (issue 11: within 10 %). Not with --compare-l2o.

With --compare-l2o, logseq-to-obsidian 0.2.0 is installed from PyPI into a temporary venv and
timed on the same graph (`logseq-to-obsidian --input GRAPH --output OUT`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
GEN_GRAPH = BENCH / "gen_graph.py"
L2O_SPEC = "logseq-to-obsidian==0.2.0"
MODES = ("readwise", "all")
MIB = 1024 * 1024

# issue 6 targets
TARGET_FIRST_X_CP = 6.0  # (a) <= 6 x cp -r
TARGET_FIRST_X_L2O = 8.0  # (a) at least 8 x faster than logseq-to-obsidian 0.2.0
TARGET_NOOP_S = 0.5  # (b) <= 0.5 s
TARGET_GROW_X_CHANGED = 2.0  # (c) <= (b) + 2 x (d)
TARGET_FIRST_RSS_MIB = 100.0  # peak RSS of (a)
# issue 11 target
TARGET_ALL_X_READWISE = 1.5  # include: all (a) <= 1.5 x include: readwise (a), same graph
TARGET_AGAINST_X = 1.10  # --against: this code's medians within 10 % of the other's (issue 11)


# ------------------------------------------------------------------------------ measuring


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # user + sys seconds of the child (and the children it reaped)
    rss_kib: int  # ru_maxrss
    tree_kib: int  # peak of the summed PSS of the process tree (sampled)
    status: int  # exit status (negative: killed by that signal)
    stderr: str = ""


def _children_of(pid: int) -> list[int]:
    """Descendants of ``pid`` (a scan of /proc; only used by the sampler)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out.extend(kids)
        todo.extend(kids)
    return out


def _pss_kib(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/smaps_rollup").open("rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _TreeSampler(threading.Thread):
    """Samples the summed PSS of a process and its descendants every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.stopped = threading.Event()
        self._rescan_every = 10  # scan /proc for new descendants every 10th sample
        self._kids: list[int] = []

    def run(self) -> None:
        n = 0
        while not self.stopped.is_set():
            if n % self._rescan_every == 0:
                self._kids = _children_of(self.pid)
            n += 1
            total = sum(_pss_kib(p) for p in (self.pid, *self._kids))
            self.peak = max(self.peak, total)
            self.stopped.wait(self.interval)


def measure(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    sample_tree: bool = True,
) -> Sample:
    """Run ``cmd`` as a child, stdout to /dev/null, stderr kept; reap it with wait4.

    Dirty data of earlier steps is flushed first (``sync``): a run that ends with ``syncfs``
    (syncd) would otherwise also pay for writing out the graph ``cp -r`` just copied."""
    os.sync()
    with tempfile.TemporaryFile() as err:
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        full_env = dict(os.environ if env is None else env)
        old_cwd = Path.cwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            start = time.perf_counter()
            pid = os.posix_spawnp(cmd[0], list(cmd), full_env, file_actions=actions)
        finally:
            os.chdir(old_cwd)
        sampler = _TreeSampler(pid) if sample_tree else None
        if sampler is not None:
            sampler.start()
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        if sampler is not None:
            sampler.stopped.set()
            sampler.join()
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    return Sample(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_kib=usage.ru_maxrss,
        tree_kib=max(sampler.peak if sampler else 0, usage.ru_maxrss if not sampler else 0),
        status=code,
        stderr=text,
    )


def summary_line(stderr: str) -> str:
    """syncd's closing line ("N pages, changed C notes (...), ...")."""
    for line in reversed(stderr.splitlines()):
        if " pages, " in line and "changed" in line:
            return line.strip()
    return ""


def last_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output)"


# ------------------------------------------------------------------------------ the graph


def graph_stats(root: Path) -> tuple[int, int, int]:
    """(page files, journal files, bytes) of a Logseq graph."""
    pages = journals = size = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root).parts
        for name in filenames:
            size += (Path(dirpath) / name).stat().st_size
            if name.endswith(".md") and rel[:1] == ("pages",):
                pages += 1
            elif name.endswith(".md") and rel[:1] == ("journals",):
                journals += 1
    return pages, journals, size


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            st = path.stat()
            out[path.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def changed_only_graph(graph: Path, before: dict[str, tuple[int, int]], out: Path) -> int:
    """Copy the files of ``graph`` that differ from ``before`` (and logseq/) into ``out``."""
    after = snapshot(graph)
    changed = [rel for rel, stamp in after.items() if before.get(rel) != stamp]
    for rel in changed:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(graph / rel, target)
    if (graph / "logseq").is_dir() and not (out / "logseq").exists():
        shutil.copytree(graph / "logseq", out / "logseq")
    (out / "pages").mkdir(parents=True, exist_ok=True)
    return len(changed)


def count_notes(vault: Path) -> int:
    n = 0
    for _dirpath, dirnames, filenames in os.walk(vault):
        dirnames[:] = [d for d in dirnames if d != ".obsidian"]
        n += sum(1 for name in filenames if name.endswith(".md"))
    return n


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------------------ runs


@dataclass
class ModeResult:
    mode: str
    first: list[Sample] = field(default_factory=list)
    noop: list[Sample] = field(default_factory=list)
    grow: list[Sample] = field(default_factory=list)
    changed_alone: list[Sample] = field(default_factory=list)
    grown_pages: int = 0
    changed_files: int = 0  # what (c) saw changed in the last repetition
    notes: int = 0
    summaries: dict[str, str] = field(default_factory=dict)
    unavailable: str | None = None


def syncd_cmd(graph: Path, vault: Path, state: Path, mode: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "syncd",
        "once",
        str(graph),
        str(vault),
        "--state-dir",
        str(state),
        "--include",
        mode,
    ]


SYNCD_PATH = [REPO]  # where `python -m syncd` comes from (--syncd-path)


def compile_syncd(root: Path) -> None:
    """Byte-compile the syncd package to measure, as ``pip install`` does for an installed
    syncd (and Python's first import does wherever it may write ``__pycache__``). Without it,
    under ``PYTHONDONTWRITEBYTECODE=1`` every measured run compiles syncd's modules again
    (~65 ms of start-up here) that no installed syncd pays; logseq-to-obsidian, installed by
    pip, is measured compiled too."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(root / "syncd")],
        check=True,
        capture_output=True,
    )


def syncd_env(code: Path | None = None) -> dict[str, str]:
    """The environment of a measured syncd: its package from ``code`` (default: the one
    --syncd-path names)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(code or SYNCD_PATH[0]) + (
        os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else ""
    )
    # `python -m syncd` puts the current folder first on sys.path: run from the repository
    # (as the README says), --syncd-path would be ignored and this checkout measured instead
    env["PYTHONSAFEPATH"] = "1"
    env.pop("SYNCD_CONFIG", None)
    return env


def run_mode(
    mode: str, base: Path, work: Path, repeat: int, cp_samples: list[Sample], grow: float, log: bool
) -> ModeResult:
    result = ModeResult(mode)
    env = syncd_env()
    for rep in range(repeat):
        if not one_repetition(result, base, work / f"{mode}-{rep + 1}", cp_samples, grow, env):
            return result
        if log:
            line = f"  {mode} run {rep + 1}/{repeat}: {progress_line(result, cp_samples[-1])}"
            print(line, file=sys.stderr)
    return result


def progress_line(result: ModeResult, cp: Sample) -> str:
    """The figures of ``result``'s last repetition (and its copy ``cp``), for progress lines."""
    first, after = result.first[-1], result.grow[-1]
    return (
        f"cp {cp.wall:.2f}s, (a) {first.wall:.2f}s {first.rss_kib / 1024:.0f} MiB, "
        f"(b) {result.noop[-1].wall:.2f}s, (c) {after.wall:.2f}s ({result.changed_files} files "
        f"changed), (d) {result.changed_alone[-1].wall:.2f}s"
    )


def one_repetition(
    result: ModeResult,
    base: Path,
    run: Path,
    cp_samples: list[Sample],
    grow: float,
    env: dict[str, str],
) -> bool:
    """One repetition of (a) to (d) in folder ``run``, its samples added to ``result``; False
    (and ``result.unavailable`` says why) when syncd failed."""
    mode = result.mode
    # fresh folders for every repetition, removed only after the last measurement: on
    # ext4, creating thousands of files right after deleting thousands costs several
    # times more (the allocator steps over recently freed inodes), which would charge
    # repetition 2 for the clean-up of repetition 1
    graph, vault, state = run / "graph", run / "vault", run / "state"
    alone, alone_vault, alone_state = run / "changed", run / "cvault", run / "cstate"
    rmtree(run)  # left by an earlier benchmark in the same --workdir
    run.mkdir(parents=True)
    cp = measure(["cp", "-r", str(base), str(graph)])
    if cp.status != 0:
        raise SystemExit(f"cp -r failed: {last_error(cp.stderr)}")
    cp_samples.append(cp)

    def sync(step: str, graph: Path, vault: Path, state: Path, samples: list[Sample]) -> bool:
        """Run ``step`` ((a)-(d)), its sample added to ``samples``; False when syncd failed
        (``result.unavailable`` says why)."""
        sample = measure(syncd_cmd(graph, vault, state, mode), env=env)
        if sample.status != 0:
            result.unavailable = f"({step}) exited {sample.status}: {last_error(sample.stderr)}"
            return False
        result.summaries[step] = summary_line(sample.stderr)
        samples.append(sample)
        return True

    if not sync("a", graph, vault, state, result.first):
        return False
    result.notes = count_notes(vault)
    pages, journals, _ = graph_stats(base)
    if mode == "all" and result.notes < 0.9 * (pages + journals):
        result.unavailable = (
            f"include: all wrote {result.notes:,} notes for {pages:,} pages "
            f"and {journals:,} journals: graph migration is not wired in "
            "yet"
        )
        return False
    if not sync("b", graph, vault, state, result.noop):
        return False

    before = snapshot(graph)
    grown = subprocess.run(
        [sys.executable, str(GEN_GRAPH), str(graph), "--grow", str(grow)],
        check=True,
        capture_output=True,
        text=True,
    )
    result.grown_pages = int(grown.stdout.split()[1])
    result.changed_files = changed_only_graph(graph, before, alone)
    return sync("c", graph, vault, state, result.grow) and sync(
        "d", alone, alone_vault, alone_state, result.changed_alone
    )


def run_l2o(base: Path, work: Path, repeat: int, log: bool) -> list[Sample] | str:
    venv = work / "l2o-venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", L2O_SPEC],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        return f"could not install {L2O_SPEC}: {last_error(str(exc.stderr or exc))}"
    samples: list[Sample] = []
    for rep in range(repeat):
        out = work / f"l2o-out-{rep + 1}"  # fresh each time, removed with the workdir
        rmtree(out)
        sample = measure(
            [str(venv / "bin" / "logseq-to-obsidian"), "--input", str(base), "--output", str(out)]
        )
        if sample.status != 0:
            return f"logseq-to-obsidian exited {sample.status}: {last_error(sample.stderr)}"
        samples.append(sample)
        if log:
            print(
                f"  logseq-to-obsidian run {rep + 1}/{repeat}: {sample.wall:.2f}s "
                f"{sample.rss_kib / 1024:.0f} MiB",
                file=sys.stderr,
            )
    return samples


# ------------------------------------------------------------------------------ reporting


def med(samples: Sequence[Sample], attr: str) -> float:
    return statistics.median(float(getattr(s, attr)) for s in samples)


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "disk": disk_kind(Path(tempfile.gettempdir())),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": dt.date.today().isoformat(),
    }


def disk_kind(path: Path) -> str:
    """File system and device of ``path``, and whether the kernel calls it rotational."""
    try:
        dev = path.stat().st_dev
        major, minor = os.major(dev), os.minor(dev)
        fstype, source = "?", "?"
        best = ""
        for line in Path("/proc/self/mounts").read_text().splitlines():
            src, mnt, typ = line.split()[:3]
            if str(path).startswith(mnt) and len(mnt) > len(best):
                best, fstype, source = mnt, typ, src
        sysdev = Path(f"/sys/dev/block/{major}:{minor}")
        name = sysdev.resolve().name if sysdev.exists() else Path(source).name
        queue = sysdev / "queue" if (sysdev / "queue").exists() else sysdev / ".." / "queue"
        flag = queue / "rotational"
        rota = flag.read_text().strip() if flag.exists() else "?"
        kind = {"0": "non-rotational", "1": "rotational flag set"}.get(rota, "rotational: ?")
        virt = " (virtio)" if name.startswith("vd") else ""
        return f"{fstype} on {name}{virt}, {kind}"
    except OSError:
        return "unknown"


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def report(
    args: argparse.Namespace,
    base: Path,
    stats: tuple[int, int, int],
    cp_samples: list[Sample],
    results: list[ModeResult],
    l2o: list[Sample] | str | None,
) -> dict[str, object]:
    pages, journals, size = stats
    cp = med(cp_samples, "wall")
    info = machine()
    print()
    print(f"graph: {base} ({pages:,} pages + {journals:,} journals, {size / 1e6:.1f} MB)")
    print(
        f"machine: {info['nproc']} CPUs, {info['cpu']}, {info['disk']}; Python {info['python']}, "
        f"Linux {info['kernel']}; {info['date']}"
    )
    print(
        f"medians of {args.repeat} runs; cp -r of the graph: {cp:.3f} s "
        f"(median of {len(cp_samples)} copies)"
    )
    l2o_wall: float | None = None
    if isinstance(l2o, list):
        l2o_wall = med(l2o, "wall")
    header = (
        f"{'include':9} {'run':34} {'wall s':>7} {'x cp':>6} {'CPU s':>6} "
        f"{'RSS MiB':>8} {'tree MiB':>8}  target"
    )
    print()
    print(header)
    print("-" * (len(header) + 40))
    out: dict[str, object] = {
        "machine": info,
        "graph": {"path": str(base), "pages": pages, "journals": journals, "bytes": size},
        "cp_r": cp,
        "modes": {},
    }
    failed: list[str] = []

    def row(mode: str, label: str, samples: list[Sample], target: str, ok: bool | None) -> None:
        wall = med(samples, "wall")
        print(
            f"{mode:9} {label:34} {wall:7.3f} {wall / cp:6.1f} {med(samples, 'cpu'):6.2f} "
            f"{med(samples, 'rss_kib') / 1024:8.1f} {med(samples, 'tree_kib') / 1024:8.1f}  "
            f"{target}  {verdict(ok)}"
        )

    for result in results:
        mode_out: dict[str, object] = {"summaries": result.summaries}
        out["modes"][result.mode] = mode_out  # type: ignore[index]
        if result.unavailable is not None:
            print(f"{result.mode:9} not available: {result.unavailable}")
            mode_out["unavailable"] = result.unavailable
            continue
        first = med(result.first, "wall")
        noop = med(result.noop, "wall")
        grow = med(result.grow, "wall")
        alone = med(result.changed_alone, "wall")
        rss = med(result.first, "rss_kib") / 1024
        limit_cp = TARGET_FIRST_X_CP * cp
        ok_a = first <= limit_cp
        target_a = f"<= {limit_cp:.2f} s (6 x cp)"
        if l2o_wall is not None:
            limit_l2o = l2o_wall / TARGET_FIRST_X_L2O
            target_a += f", <= {limit_l2o:.2f} s (l2o / 8)"
            ok_a = ok_a and first <= limit_l2o
        else:
            target_a += ", l2o / 8: not measured (--compare-l2o)"
        target_a += f", RSS <= {TARGET_FIRST_RSS_MIB:.0f} MiB"
        ok_a = ok_a and rss <= TARGET_FIRST_RSS_MIB
        row(result.mode, f"(a) first run ({result.notes:,} notes)", result.first, target_a, ok_a)
        row(
            result.mode,
            "(b) nothing changed",
            result.noop,
            f"<= {TARGET_NOOP_S:.2f} s",
            noop <= TARGET_NOOP_S,
        )
        limit_c = noop + TARGET_GROW_X_CHANGED * alone
        row(
            result.mode,
            f"(c) after --grow ({result.grown_pages} pages)",
            result.grow,
            f"<= {limit_c:.2f} s ((b) + 2 x (d))",
            grow <= limit_c,
        )
        row(result.mode, "(d) the changed pages alone", result.changed_alone, "(yardstick)", None)
        for name, ok in (("a", ok_a), ("b", noop <= TARGET_NOOP_S), ("c", grow <= limit_c)):
            if not ok:
                failed.append(f"{result.mode} ({name})")
        mode_out.update(
            {
                "notes": result.notes,
                "grown_pages": result.grown_pages,
                "first": [asdict(s) | {"stderr": ""} for s in result.first],
                "noop": [asdict(s) | {"stderr": ""} for s in result.noop],
                "grow": [asdict(s) | {"stderr": ""} for s in result.grow],
                "changed_alone": [asdict(s) | {"stderr": ""} for s in result.changed_alone],
                "medians": {
                    "first": first,
                    "noop": noop,
                    "grow": grow,
                    "changed_alone": alone,
                    "first_rss_mib": rss,
                },
            }
        )
    out["all_vs_readwise"] = all_vs_readwise(results, failed)
    if isinstance(l2o, list):
        wall = med(l2o, "wall")
        print(
            f"{'l2o':9} {'logseq-to-obsidian 0.2.0':34} {wall:7.3f} {wall / cp:6.1f} "
            f"{med(l2o, 'cpu'):6.2f} {med(l2o, 'rss_kib') / 1024:8.1f} "
            f"{med(l2o, 'tree_kib') / 1024:8.1f}  (yardstick of (a))"
        )
        out["l2o"] = {"wall": wall, "rss_mib": med(l2o, "rss_kib") / 1024}
    elif isinstance(l2o, str):
        print(f"l2o       {l2o}")
    print()
    for result in results:
        if result.unavailable is None:
            for key, line in sorted(result.summaries.items()):
                print(f"{result.mode} ({key}) syncd said: {line}")
    print()
    print("targets not met: " + (", ".join(failed) if failed else "none"))
    out["failed"] = failed
    return out


def all_vs_readwise(results: list[ModeResult], failed: list[str]) -> dict[str, object]:
    """Issue 11: include: all's (a) against include: readwise's (a) on the same graph, printed
    as a row (the ratio where other rows show their wall time), added to ``failed`` when not
    met."""
    label = "(a) / include: readwise (a)"
    target = f"<= {TARGET_ALL_X_READWISE:.1f} x (issue 11)"
    first = {r.mode: r.first for r in results if r.unavailable is None and r.first}
    if set(MODES) - first.keys():
        print(f"{'all':9} {label:34} not measured (needs both modes)  {target}  {verdict(None)}")
        return {"ratio": None, "target": TARGET_ALL_X_READWISE, "met": None}
    ratio = med(first["all"], "wall") / med(first["readwise"], "wall")
    ok = ratio <= TARGET_ALL_X_READWISE
    print(f"{'all':9} {label:34} {ratio:7.2f} x{'':31}  {target}  {verdict(ok)}")
    if not ok:
        failed.append("all (a) / readwise (a)")
    return {"ratio": ratio, "target": TARGET_ALL_X_READWISE, "met": ok}


def compare(
    args: argparse.Namespace, base: Path, stats: tuple[int, int, int], work: Path
) -> dict[str, object]:
    """--against: each repetition of each mode runs this code and the other back to back (this
    code first in odd repetitions, the other first in even ones); both reports, then this
    code's medians of (a), (b) and (c) against the other's, within ``TARGET_AGAINST_X``."""
    codes = {"this": SYNCD_PATH[0], "against": args.against}
    cps: dict[str, list[Sample]] = {tag: [] for tag in codes}
    results: dict[str, list[ModeResult]] = {tag: [] for tag in codes}
    for mode in args.mode or MODES:
        pair = {tag: ModeResult(mode) for tag in codes}
        for tag in codes:
            results[tag].append(pair[tag])
        for rep in range(args.repeat):
            for tag in list(codes) if rep % 2 == 0 else list(codes)[::-1]:
                result = pair[tag]
                run = work / f"{mode}-{tag}-{rep + 1}"
                if result.unavailable is not None or not one_repetition(
                    result, base, run, cps[tag], args.grow, syncd_env(codes[tag])
                ):
                    continue
                if not args.quiet:
                    figures = progress_line(result, cps[tag][-1])
                    print(f"  {mode} run {rep + 1}/{args.repeat} {tag}: {figures}", file=sys.stderr)
    out: dict[str, object] = {}
    for tag, code in codes.items():
        print(f"\n=== {tag}: the syncd package in {code}")
        out[tag] = report(args, base, stats, cps[tag], results[tag], None)
    print(f"\n=== this code's medians against the other's (target <= {TARGET_AGAINST_X:.2f} x)")
    ratios: dict[str, float] = {}
    failed: list[str] = []
    for this, other in zip(results["this"], results["against"], strict=True):
        if this.unavailable is not None or other.unavailable is not None:
            print(f"{this.mode:9} not compared: {this.unavailable or other.unavailable}")
            continue
        for label, attr in (("(a)", "first"), ("(b)", "noop"), ("(c)", "grow")):
            mine, theirs = getattr(this, attr), getattr(other, attr)
            ratio = med(mine, "wall") / med(theirs, "wall")
            ratios[f"{this.mode} {label}"] = ratio
            ok = ratio <= TARGET_AGAINST_X
            print(
                f"{this.mode:9} {label} {med(mine, 'wall'):7.3f} s against "
                f"{med(theirs, 'wall'):7.3f} s: {ratio:5.2f} x (CPU {med(mine, 'cpu'):6.2f} "
                f"against {med(theirs, 'cpu'):6.2f} s)  {verdict(ok)}"
            )
            if not ok:
                failed.append(f"{this.mode} {label}")
    print("\nnot within the target: " + (", ".join(failed) if failed else "none"))
    out["ratios"] = ratios
    out["failed"] = failed
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "graph",
        nargs="?",
        type=Path,
        help="a Logseq graph (default: generate one with gen_graph.py)",
    )
    parser.add_argument("--pages", type=int, default=10_000, help="pages of the generated graph")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--compare-l2o", action="store_true", help=f"also install and time {L2O_SPEC}"
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        action="append",
        help="only this include mode (repeatable; default both)",
    )
    parser.add_argument("--grow", type=float, default=0.1, help="fraction for gen_graph --grow")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where copies, vaults and state go (default: a temporary folder, "
        "removed at the end); must be on the file system to measure",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--syncd-path",
        type=Path,
        default=REPO,
        help="the folder holding the syncd package to measure (default: this repository)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="DIR",
        help="also measure the syncd package in DIR (a checkout of another version), each "
        "repetition of both back to back, in turns (a host that speeds up or slows down "
        "during the sitting weighs on both alike), and print this code's medians against it",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-run progress lines")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    SYNCD_PATH[0] = args.syncd_path.resolve()
    compile_syncd(SYNCD_PATH[0])
    if args.against is not None:
        if args.compare_l2o:
            parser.error("--against and --compare-l2o: one comparison at a time")
        if not (args.against / "syncd" / "__init__.py").is_file():
            parser.error(f"--against {args.against}: no syncd package there")
        args.against = args.against.resolve()
        compile_syncd(args.against)

    own_work = args.workdir is None
    work = Path(tempfile.mkdtemp(prefix="syncd-bench-")) if own_work else args.workdir
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.graph is None:
            base = work / "graph"
            if not base.exists():
                print(f"generating a {args.pages:,}-page graph in {base}", file=sys.stderr)
                subprocess.run(
                    [sys.executable, str(GEN_GRAPH), str(base), "--pages", str(args.pages)],
                    check=True,
                )
        else:
            base = args.graph.expanduser().resolve()
            if not (base / "pages").is_dir():
                parser.error(f"{base} has no pages/ folder: not a Logseq graph")
        stats = graph_stats(base)
        if args.against is not None:
            out = compare(args, base, stats, work)
            if args.json is not None:
                args.json.write_text(json.dumps(out, indent=2) + "\n")
            return 0
        cp_samples: list[Sample] = []
        results: list[ModeResult] = []
        for mode in args.mode or MODES:
            if not args.quiet:
                print(f"include: {mode}", file=sys.stderr)
            results.append(
                run_mode(mode, base, work, args.repeat, cp_samples, args.grow, not args.quiet)
            )
        l2o: list[Sample] | str | None = None
        if args.compare_l2o:
            if not args.quiet:
                print(f"{L2O_SPEC}", file=sys.stderr)
            l2o = run_l2o(base, work, args.repeat, not args.quiet)
        if not cp_samples:
            cp_samples = [measure(["cp", "-r", str(base), str(work / "cp")])]
        out = report(args, base, stats, cp_samples, results, l2o)
        if args.json is not None:
            args.json.write_text(json.dumps(out, indent=2) + "\n")
    finally:
        if own_work:
            rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
