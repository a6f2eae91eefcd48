"""The executor: pages planned inline, or in forked helper processes ahead of the writer.

syncd has one writer, the main process. ``Planner.plan`` gives the engine each page's plan
(``syncd.plan.plan_page``) in the order the engine takes them: when a run has many pages to
read, helper processes run that same function ahead of it; else (few pages, one CPU, a dry
run, the daemon) the engine's own process runs it when asked. The engine checks every plan
before it uses one and asks ``Planner.inline`` for a new one where an assumption no longer
holds. This is the only module that knows helpers exist. The pool:

- the helpers are forked, so they start at once with everything imported and inherit what
  the main process knows then; fork is safe only in a single-threaded process, so the pool
  first waits for the vault's file removals and ends their thread
  (``syncd.vault.end_removals``), and refuses to start while any other thread runs (the
  daemon has threads and never starts one);
- at most ``WINDOW`` chunks of tasks are in flight, so memory stays bounded however large
  the graph is;
- a helper dies with its parent (even a SIGKILLed one) and ignores Ctrl-C, which the main
  process handles;
- any failure of the pool turns the helpers off; the writer then does the work itself.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from syncd.plan import PagePlan, PlanContext, PlanTask, plan_page
from syncd.vault import end_removals

if TYPE_CHECKING:  # imported when helpers start (most runs start none)
    from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger(__name__)

MIN_PAGES = 64  # fewer pages to read than this: not worth starting helpers
WINDOW = 16  # chunks in flight (the engine blocks on syncfs and commits: helpers go on)


def worker_count(env: Mapping[str, str] | None = None) -> int:
    """How many helpers ``syncd once`` starts: none on one CPU, else one per CPU, at most two
    (the main process writes and records; more helpers would only wait for it).
    ``SYNCD_HELPERS=N`` in the environment sets it (0: none), for benchmarks and tests."""
    value = (os.environ if env is None else env).get("SYNCD_HELPERS", "").strip()
    if value.isdigit():
        return min(int(value), 8)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(2, cpus) if cpus > 1 else 0


def _helper_init(parent: int, setup: Callable[[], None] | None = None) -> None:
    # Ctrl-C goes to the whole process group: the main process handles it, helpers just end
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A helper must never outlive syncd: a SIGKILLed parent would leave it waiting forever,
    # holding the instance lock it inherited, so the next run could not start. Linux kills
    # it when its parent dies (prctl PR_SET_PDEATHSIG = 1); elsewhere its pipe closing ends it.
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    if setup is not None:
        setup()


class _Indexed(Protocol):
    """A helper's result: which work item it is for."""

    @property
    def index(self) -> int: ...


T = TypeVar("T")  # one task
R = TypeVar("R", bound=_Indexed)  # one result


class HelperPool(Generic[T, R]):
    """Helper processes running ``work(tasks)`` on chunks of ``chunk`` of ``tasks`` (in index
    order), read out in order: ``take(index)`` is the result for work item ``index`` if it was
    prepared, else None (also once the pool failed); results for smaller indexes are dropped.
    A ``ProcessPoolExecutor`` because it notices a dead helper (a ``multiprocessing.Pool``
    waits forever for the task that died with it). ``setup`` runs first in each helper."""

    def __init__(
        self,
        count: int,
        tasks: Iterator[T],
        work: Callable[[list[T]], list[R]],
        chunk: int,
        setup: Callable[[], None] | None = None,
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        end_removals()  # fork is safe only without other threads (module docstring)
        if threading.active_count() != 1 or "fork" not in multiprocessing.get_all_start_methods():
            raise RuntimeError("helpers need fork in a single-threaded process")
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            count,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_helper_init,
            initargs=(os.getpid(), setup),  # forked, not pickled: setup may be a closure
        )
        self._work = work
        self._chunk_size = chunk
        self._tasks = tasks
        self._inflight: deque[Future[list[R]]] = deque()
        self._ready: deque[R] = deque()
        self.handed_out = 0  # results received
        self.used = 0  # results the engine used (it counts them)
        # the helpers fork at the first submit: what they inherit is frozen for their garbage
        # collector, which would otherwise walk (and so copy) the main process's whole heap
        gc.freeze()
        try:
            self._submit()
        finally:
            gc.unfreeze()

    def _submit(self) -> None:
        while self._pool is not None and len(self._inflight) < WINDOW:
            chunk = list(itertools.islice(self._tasks, self._chunk_size))
            if not chunk:
                return
            try:
                self._inflight.append(self._pool.submit(self._work, chunk))
            except Exception:  # a broken pool refuses new work
                log.warning("helper processes failed; going on without them", exc_info=True)
                self.close()
                return

    def take(self, index: int) -> R | None:
        while True:
            while self._ready and self._ready[0].index < index:
                self._ready.popleft()
            if self._ready:
                head = self._ready[0]
                if head.index != index:
                    return None  # this page was not handed out (it looked unchanged)
                self._ready.popleft()
                return head
            if not self._inflight:
                return None
            pending = self._inflight.popleft()
            try:
                results = pending.result()
                self.handed_out += len(results)
                self._ready.extend(results)
            except Exception:
                log.warning("helper processes failed; going on without them", exc_info=True)
                self.close()
                return None
            self._submit()

    def close(self) -> None:
        """Stop the helpers: queued tasks are dropped, a running chunk (a few pages) ends."""
        if self._pool is not None:
            with contextlib.suppress(Exception):
                self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
        self._inflight.clear()
        self._ready.clear()


# Pages per exchange with a helper: each costs the main process, which must keep up with
# both helpers, a future, pickling and a hand-over between threads (~0.3 ms).
PLAN_CHUNK = 32

# What the helpers inherited from the main process when they were forked (set by the pool's
# setup in each helper; never in the main process).
_inherited: PlanContext | None = None


class Planner:
    """The plans of a run's pages, in the order of ``tasks`` (made when handed out, so what a
    task assumes is read as late as possible). ``helpers``: how many helper processes may
    plan ahead; none start for fewer than ``MIN_PAGES`` pages, or when they cannot."""

    def __init__(self, ctx: PlanContext, tasks: Iterator[PlanTask], pages: int, helpers: int):
        self.ctx = ctx
        self._pool: HelperPool[PlanTask, PagePlan] | None = None
        if helpers > 0 and pages >= MIN_PAGES:

            def setup() -> None:
                global _inherited
                _inherited = ctx

            try:
                self._pool = HelperPool(helpers, tasks, _plan_pages, PLAN_CHUNK, setup)
            except (RuntimeError, OSError, ValueError) as exc:
                log.debug("no helper processes: %s", exc)

    def plan(self, task: PlanTask, hinted: Callable[[], PlanTask]) -> PagePlan:
        """The plan of ``task``: a helper's when it made one, else made here on ``hinted()``
        (the task with the note text a Readwise document merges into, as helpers got it)."""
        if self._pool is None:
            return plan_page(self.ctx, hinted(), merge=True)
        made = self._pool.take(task.index)
        if made is not None and made.status != "error":
            self._pool.used += 1
            return made
        return self.inline(task)

    def inline(self, task: PlanTask) -> PagePlan:
        """The plan of ``task`` made here, now, a Readwise document left to the writer to merge:
        where a plan's assumption no longer holds."""
        return plan_page(self.ctx, task, merge=False)

    def close(self) -> None:
        if self._pool is not None:
            log.debug(
                "helpers: %d pages planned, %d used as planned",
                self._pool.handed_out,
                self._pool.used,
            )
            self._pool.close()
            self._pool = None


def _plan_pages(tasks: list[PlanTask]) -> list[PagePlan]:
    """Run in a helper: plan each page; one that fails is planned again by the main process
    (which reports what goes wrong)."""
    ctx = _inherited
    assert ctx is not None
    out: list[PagePlan] = []
    for task in tasks:
        try:
            out.append(plan_page(ctx, task, merge=True))
        except Exception:
            out.append(PagePlan(task.index, "error"))
    return out
