"""``syncd run``: the daemon.

- **main thread**: signals (handlers only set flags and wake it through a pipe), sd_notify,
  observer health, configuration reloads.
- **watchdog threads**: ``QueueingHandler`` puts ``(path, monotonic time)`` on the worker's inbox.
- **worker thread** (``Worker``): the only one that touches the state store and the engine
  (SQLite connections stay on the thread that opened them).

Scans run at start (after the observers are up: nothing changes unseen in between), every
``daemon.rescan_interval`` (monotonic clock: a wall-clock step neither stops nor floods them),
after a reload, and after any sign of lost events. ``WATCHDOG=1`` is sent only while the worker
makes progress, so a worker stuck in one engine call gets the service restarted by systemd.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from syncd import __version__
from syncd.config import Config, load_config
from syncd.daemon import sdnotify
from syncd.daemon.debounce import Debouncer
from syncd.daemon.lock import InstanceLock
from syncd.daemon.logsetup import log_config_error
from syncd.daemon.watcher import (
    LostEventsLogHandler,
    QueueingHandler,
    Watcher,
    install_lost_events_hook,
    remove_lost_events_hook,
)
from syncd.errors import AlreadyRunning, ConfigError, SyncdError
from syncd.state import StateStore, iso
from syncd.vault import prepare_vaults

if TYPE_CHECKING:
    from syncd.sync import SyncEngine as Engine
    from syncd.writer import RunReport

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1  # unexpected failure: systemd restarts the service
EXIT_CONFIG = 2  # invalid configuration: RestartPreventExitStatus
EXIT_ALREADY_RUNNING = 75  # EX_TEMPFAIL, another daemon holds the lock: RestartPreventExitStatus

STATE_FILE = "state.sqlite3"
TICK = 1.0  # longest sleep of the main loop and of the idle worker
SYNC_BATCH = 32  # pages per engine.sync_paths call; SIGTERM waits for at most one batch
MAX_DRAIN = 10_000  # inbox items moved into the debouncer per worker iteration
STOP_TIMEOUT = 20.0  # seconds to wait for the worker at exit (the unit's TimeoutStopSec is 30)
IDLE_STALL = 15.0  # an idle worker that has not looped for this long is stuck
BUSY_STALL = 120.0  # a sync batch, or one page of a scan, taking longer is stuck
HEALTH_INTERVAL = 5.0  # seconds between two observer health checks
STATUS_INTERVAL = 30.0  # STATUS= at least this often (also whenever it changes)
META_INTERVAL = 10.0  # pending count written to state at most this often
START_EXTENSION = 30.0  # EXTEND_TIMEOUT_USEC sent while the first scan makes progress


EngineFactory = Callable[[Config, Any], "Engine"]
StateFactory = Callable[[Path], StateStore]


def default_engine_factory(config: Config, state: Any) -> Engine:
    from syncd.sync import SyncEngine

    return SyncEngine(config, state, retry_backoff=True, settle=config.daemon.settle_seconds)


class _ScanAborted(Exception):
    """Raised from the scan's progress callback to stop a scan between two pages."""


# --- Worker: the one thread that syncs -------------------------------------------------------


class Worker(threading.Thread):
    """Owns the state store and the engine; debounces and syncs paths; runs scans."""

    def __init__(
        self,
        config: Config,
        *,
        engine_factory: EngineFactory,
        state_factory: StateFactory,
        prepare: Callable[[Config, Any], object] = prepare_vaults,
        on_progress: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(name="syncd-worker", daemon=True)
        self.config = config
        self._engine_factory = engine_factory
        self._state_factory = state_factory
        self._prepare = prepare
        self._on_progress = on_progress  # wakes the main loop (READY, STATUS)
        self._inbox: queue.SimpleQueue[tuple[Path, float, bool | None] | None] = queue.SimpleQueue()
        self._stop_requested = False
        self._scan_reasons: list[str] = []
        self._scan_lock = threading.Lock()
        self._reload: tuple[Config, Future[Engine]] | None = None
        self.started: Future[Engine] = Future()
        self.debouncer = Debouncer(config.daemon.settle_seconds)
        # read by the main thread (single assignments of immutable values are atomic)
        self.beat_at = time.monotonic()
        self.busy_since: float | None = None  # set while inside an engine call
        self.crashed = False
        self.pending = 0
        self.scans_done = 0
        self.scanning = False
        self.last_scan_at: str | None = None
        self.last_scan_summary = ""
        self._meta_at = 0.0
        self._meta_pending = -1

    # --- called from other threads -------------------------------------------------------

    def submit(self, path: Path, at: float, writing: bool | None = None) -> None:
        """An event for ``path`` at monotonic time ``at`` (watchdog thread; O(µs)); ``writing``
        as in ``Debouncer.add``."""
        self._inbox.put((path, at, writing))

    def request_scan(self, reason: str) -> None:
        """Ask for a full scan; requests made before it starts are merged into one."""
        with self._scan_lock:
            if reason not in self._scan_reasons:
                self._scan_reasons.append(reason)
        self._inbox.put(None)

    def request_reload(self, config: Config) -> Future[Engine]:
        future: Future[Engine] = Future()
        self._reload = (config, future)
        self._inbox.put(None)
        return future

    def stop(self) -> None:
        """Finish the current batch, then exit (pending paths are left to the next scan)."""
        self._stop_requested = True
        self._inbox.put(None)

    def stopping(self) -> bool:  # a method: mypy keeps no narrowing of a call across calls
        return self._stop_requested

    def healthy(self, now: float) -> bool:
        if not self.is_alive() or self.crashed:
            return False
        busy_since = self.busy_since
        if busy_since is not None:
            return now - busy_since <= BUSY_STALL
        return now - self.beat_at <= IDLE_STALL

    # --- the thread ----------------------------------------------------------------------

    def run(self) -> None:
        try:
            state = self._state_factory(self.config.state_dir / STATE_FILE)
        except BaseException as exc:
            self.started.set_exception(exc)
            return
        try:
            try:
                self._prepare(self.config, state)
                engine = self._engine_factory(self.config, state)
            except BaseException as exc:
                self.started.set_exception(exc)
                return
            self._set_meta(state, "daemon_pid", str(os.getpid()))
            self._set_meta(state, "daemon_started", iso())
            self.started.set_result(engine)
            self._loop(engine, state)
        except BaseException:
            self.crashed = True
            log.critical("the sync worker crashed", exc_info=True)
            self._on_progress()
        finally:
            self._set_meta(state, "pending", "0")  # what is left, the next start rescans
            self._set_meta(state, "daemon_stopped", iso())
            # which daemon the clean stop belongs to (`syncd status`)
            self._set_meta(state, "daemon_stopped_pid", str(os.getpid()))
            try:
                state.close()
            except Exception:
                log.warning("closing the state store failed", exc_info=True)

    def _loop(self, engine: Engine, state: StateStore) -> None:
        while True:
            self.beat_at = time.monotonic()
            self._drain(self._wait_time())
            if self.stopping():
                return
            if self._reload is not None:
                engine = self._do_reload(engine, state)
            reasons = self._take_scan_reasons()
            if reasons:
                self._scan(engine, state, reasons)
                if self.stopping():
                    return
            ready = self.debouncer.pop_ready()
            for start in range(0, len(ready), SYNC_BATCH):
                if self.stopping():
                    return
                self._check_state(state)
                self._sync(engine, ready[start : start + SYNC_BATCH])
            self._publish_pending(state)

    def _wait_time(self) -> float:
        if self._stop_requested or self._reload is not None or self._scan_reasons:
            return 0.0
        deadline = self.debouncer.next_deadline()
        if deadline is None:
            return TICK
        return min(TICK, max(0.0, deadline - time.monotonic()))

    def _drain(self, timeout: float) -> None:
        try:
            item = self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return
        for _ in range(MAX_DRAIN):
            if item is not None:
                self.debouncer.add(*item)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
        if item is not None:
            self.debouncer.add(*item)

    def _take_scan_reasons(self) -> list[str]:
        with self._scan_lock:
            reasons, self._scan_reasons = self._scan_reasons, []
        return reasons

    def _call(self, fn: Callable[[], RunReport]) -> RunReport:
        self.busy_since = time.monotonic()
        try:
            return fn()
        finally:
            self.busy_since = None
            self.beat_at = time.monotonic()

    def _scan_progress(self, phase: str, done: int, total: int) -> None:
        """Called by the engine after each page of a scan, on this thread."""
        self.busy_since = time.monotonic()  # progress: the stall clock starts again
        if self.stopping():
            raise _ScanAborted(f"stopped after {done} of {total} pages")

    @staticmethod
    def _check_state(state: StateStore) -> None:
        """Before each scan and batch: a state database deleted under syncd is put back."""
        try:
            restored = state.restore_if_deleted()
        except SyncdError as exc:
            log.error("%s", exc)
        else:
            if restored:
                log.warning("%s", restored)

    def _scan(self, engine: Engine, state: StateStore, reasons: list[str]) -> None:
        self._check_state(state)
        why = ", ".join(reasons)
        log.debug("full scan (%s)", why)
        self.scanning = True
        self._on_progress()
        try:
            report = self._call(lambda: engine.scan(progress=self._scan_progress))
        except _ScanAborted as exc:
            log.info("full scan (%s) interrupted: %s", why, exc)
            self.last_scan_summary = "interrupted"
        except SyncdError as exc:  # the state store or a vault failed under it: one line
            log.error("full scan (%s) stopped: %s; the next scan completes it", why, exc)
            self.last_scan_summary = "failed"
        except Exception:
            log.exception("full scan (%s) failed", why)
            self.last_scan_summary = "failed"
        else:
            failed = len(report.failures) + len(report.known_failures)
            summary = f"{report.pages} pages, {len(report.changed)} changed, {failed} failed"
            # the engine logs each changed note and each new failure itself (a page that
            # failed before and is unchanged is not read, nor logged again)
            level = logging.INFO if report.changed or report.failures else logging.DEBUG
            log.log(level, "full scan (%s): %s", why, summary)
            self.last_scan_summary = summary
            self._set_meta(state, "last_scan_result", summary)
            self._defer(report)
        finally:
            self.scanning = False
            self.last_scan_at = iso()
            self.scans_done += 1
            self._on_progress()

    def _sync(self, engine: Engine, batch: Sequence[Path]) -> None:
        """Sync settled paths (the engine logs each changed note and each failure)."""
        try:
            self._defer(self._call(lambda: engine.sync_paths(batch)))
        except SyncdError as exc:  # the state store or a vault failed under it: one line
            log.error("sync stopped: %s; the next change or scan retries", exc)
        except Exception:
            if len(batch) == 1:
                log.exception(
                    "%s: sync failed; its next change or the next scan retries it", batch[0]
                )
                return
            for path in batch:  # find the page that breaks the engine; sync the others
                if self.stopping():
                    return
                self._sync(engine, [path])

    def _defer(self, report: RunReport) -> None:
        """The pages the engine did not read as they had not settled wait in the debouncer
        (written to or held open: the sync after they settle reads them)."""
        for path in report.deferred:
            self.debouncer.add(path)

    def _do_reload(self, engine: Engine, state: StateStore) -> Engine:
        assert self._reload is not None
        config, future = self._reload
        self._reload = None
        try:
            self._prepare(config, state)
            new_engine = self._engine_factory(config, state)
        except BaseException as exc:
            future.set_exception(exc)
            return engine
        self.config = config
        self.debouncer.set_settle(config.daemon.settle_seconds)
        future.set_result(new_engine)
        return new_engine

    def _publish_pending(self, state: StateStore) -> None:
        self.pending = len(self.debouncer) + self._inbox.qsize()
        now = time.monotonic()
        if self.pending != self._meta_pending and now - self._meta_at >= META_INTERVAL:
            self._meta_at = now
            self._meta_pending = self.pending
            self._set_meta(state, "pending", str(self.pending))

    @staticmethod
    def _set_meta(state: StateStore, key: str, value: str) -> None:
        try:
            state.set_meta(key, value)
        except Exception as exc:
            log.warning("cannot record %s in the state store: %s", key, exc)


# --- Main thread -----------------------------------------------------------------------------


class _Waker:
    """A self-pipe: signal handlers (via ``signal.set_wakeup_fd``) and other threads wake the
    main loop without locks (a lock taken in a signal handler can deadlock the main thread)."""

    def __init__(self) -> None:
        self._r, self.fd = os.pipe()  # fd: the write end, for signal.set_wakeup_fd
        os.set_blocking(self._r, False)
        os.set_blocking(self.fd, False)

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # pipe full: a wake-up is pending anyway
            os.write(self.fd, b"\0")

    def wait(self, timeout: float) -> None:
        try:
            readable, _, _ = select.select([self._r], [], [], max(0.0, timeout))
        except InterruptedError:
            return
        if readable:
            try:
                while os.read(self._r, 512):
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        os.close(self._r)
        os.close(self.fd)


class Daemon:
    """Runs until SIGTERM/SIGINT; assumes the configuration is loaded and the lock held."""

    def __init__(
        self,
        config_path: Path,
        config: Config,
        *,
        engine_factory: EngineFactory,
        state_factory: StateFactory,
    ) -> None:
        self.config_path = config_path
        self.config = config
        self._engine_factory = engine_factory
        self._state_factory = state_factory
        self._waker = _Waker()
        self._stop = False
        self._hup = False
        self._worker: Worker | None = None
        self._watcher: Watcher | None = None
        self._next_scan_at = 0.0  # monotonic time of the next periodic scan
        self._log_hook: LostEventsLogHandler | None = None
        self._reload: tuple[Config, Future[Engine]] | None = None
        self._ready = False
        self._status = ""
        self._status_at = 0.0
        self._rejected = ""  # why the last reload was rejected (in STATUS= until the next one)

    # --- signals ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._hup = True
        else:
            self._stop = True
        self._waker.wake()

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            log.warning("not on the main thread: signals are not handled")
            return {}
        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            previous[signum] = signal.signal(signum, self._on_signal)
        previous[-1] = signal.set_wakeup_fd(self._waker.fd, warn_on_full_buffer=False)
        return previous

    @staticmethod
    def _restore_signals(previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            if signum == -1:
                signal.set_wakeup_fd(handler)
            else:
                signal.signal(signum, handler)

    # --- run -------------------------------------------------------------------------------

    def run(self) -> int:
        previous = self._install_signals()
        try:
            return self._run()
        finally:
            self._restore_signals(previous)
            if self._log_hook is not None:
                remove_lost_events_hook(self._log_hook)
            self._waker.close()

    def _run(self) -> int:
        worker = Worker(
            self.config,
            engine_factory=self._engine_factory,
            state_factory=self._state_factory,
            on_progress=self._waker.wake,
        )
        self._worker = worker
        worker.start()
        engine, code = self._wait_started(worker)
        if engine is None:
            return code
        try:
            self._log_hook = install_lost_events_hook(worker.request_scan)
            # watch first, then scan: a change during the scan is seen by one or the other
            self._watcher = self._make_watcher(engine, self.config)
            self._watcher.start()
            self._next_scan_at = time.monotonic() + self.config.daemon.rescan_interval
            worker.request_scan("start")
            code = self._main_loop(worker)
        except Exception:
            log.critical("internal error; exiting so that systemd restarts syncd", exc_info=True)
            code = EXIT_FAILURE
        finally:
            self._shutdown(worker)
        return code

    def _wait_started(self, worker: Worker) -> tuple[Engine | None, int]:
        """The worker's engine once the state store is open, or None and the exit status."""
        while not worker.started.done():
            self._waker.wait(TICK)
            if self._stop:
                worker.stop()
                worker.join(STOP_TIMEOUT)
                return None, EXIT_OK
        try:
            return worker.started.result(), EXIT_OK
        except ConfigError as exc:
            log_config_error(exc, "invalid configuration: ")
            code = EXIT_CONFIG
        except SyncdError as exc:
            log.error("cannot start: %s", exc)
            code = EXIT_FAILURE
        except Exception:
            log.exception("cannot start")
            code = EXIT_FAILURE
        worker.join(STOP_TIMEOUT)
        return None, code

    def _make_watcher(self, engine: Engine, config: Config) -> Watcher:
        assert self._worker is not None
        # is_relevant runs on watchdog's thread for every event: SyncEngine's is fast and pure
        handler = QueueingHandler(
            self._worker.submit, engine.is_relevant, on_lost_events=self._worker.request_scan
        )
        return Watcher(
            engine.watched_roots(),
            handler,
            force_polling=config.daemon.polling,
            on_lost_events=self._worker.request_scan,
        )

    def _main_loop(self, worker: Worker) -> int:
        wd_period = sdnotify.watchdog_interval()
        ping_every = wd_period / 2 if wd_period else None
        next_ping = next_health = next_extend = time.monotonic()
        while True:
            self._waker.wait(min(TICK, self._next_scan_at - time.monotonic()))
            now = time.monotonic()
            if self._stop:
                return EXIT_OK
            if not worker.is_alive() or worker.crashed:
                log.critical("the sync worker is gone; exiting so that systemd restarts syncd")
                return EXIT_FAILURE
            if self._hup and self._reload is None:
                self._hup = False
                self._begin_reload(worker)
            if self._reload is not None and self._reload[1].done():
                self._finish_reload(worker)
            healthy = worker.healthy(now)
            if not self._ready:
                if worker.scans_done > 0:
                    self._ready = True
                    sdnotify.ready(self._status_text(worker))
                    watched = self._watcher.describe() if self._watcher is not None else []
                    log.info("ready: %s", "; ".join(watched))
                elif healthy and now >= next_extend:
                    sdnotify.extend_timeout(START_EXTENSION)
                    next_extend = now + START_EXTENSION / 3
            if now >= next_health and self._watcher is not None:
                next_health = now + HEALTH_INTERVAL
                self._watcher.check()
            if now >= self._next_scan_at:
                self._next_scan_at = now + self.config.daemon.rescan_interval
                worker.request_scan("periodic")
            if ping_every is not None and now >= next_ping:
                if healthy:
                    sdnotify.watchdog_ping()
                    next_ping = now + ping_every
                else:
                    log.debug("worker stuck: not pinging the systemd watchdog")
            self._update_status(worker, now)

    def _status_text(self, worker: Worker) -> str:
        if worker.scanning and worker.scans_done == 0:
            head = "first scan in progress"
        elif worker.scanning:
            head = "scanning"
        else:
            head = f"{worker.pending} page(s) pending"
        last = (
            f"last scan {worker.last_scan_at}: {worker.last_scan_summary}"
            if worker.last_scan_at
            else "no scan yet"
        )
        rejected = f"reload rejected ({self._rejected}), running the previous configuration; "
        return f"{rejected if self._rejected else ''}{head}; {last}"

    def _update_status(self, worker: Worker, now: float) -> None:
        text = self._status_text(worker)
        if text != self._status or now - self._status_at >= STATUS_INTERVAL:
            self._status, self._status_at = text, now
            sdnotify.status(text)

    # --- reload ----------------------------------------------------------------------------

    def _begin_reload(self, worker: Worker) -> None:
        sdnotify.reloading()
        log.info("reloading the configuration from %s", self.config_path)
        try:
            config, warnings = load_config(self.config_path)
        except ConfigError as exc:
            log_config_error(exc, _REJECTED)
            self._end_reload(str(exc))
            return
        for warning in warnings:
            log.warning("%s: %s", self.config_path, warning)
        if config.state_dir != self.config.state_dir:
            log.error(
                "reload rejected, keeping the previous configuration: state_dir changed "
                "(%s -> %s); restart syncd to move it",
                self.config.state_dir,
                config.state_dir,
            )
            self._end_reload("state_dir changed: restart syncd to move it")
            return
        self._reload = (config, worker.request_reload(config))

    def _finish_reload(self, worker: Worker) -> None:
        assert self._reload is not None
        config, future = self._reload
        self._reload = None
        try:
            engine = future.result()
        except Exception as exc:
            if isinstance(exc, ConfigError):
                log_config_error(exc, _REJECTED)
            else:
                log.error("%s%s", _REJECTED, exc)
            self._end_reload(str(exc))
            return
        self.config = config
        if self._watcher is not None:
            self._watcher.stop()
        self._watcher = self._make_watcher(engine, config)
        self._watcher.start()
        self._next_scan_at = time.monotonic() + config.daemon.rescan_interval
        worker.request_scan("configuration reloaded")
        log.info("configuration reloaded")
        self._end_reload()

    def _end_reload(self, rejected: str = "") -> None:
        assert self._worker is not None
        self._rejected = rejected
        if self._ready:
            sdnotify.ready(self._status_text(self._worker))
        else:  # READY=1 still waits for the first scan
            sdnotify.status(self._status_text(self._worker))

    # --- stop ------------------------------------------------------------------------------

    def _shutdown(self, worker: Worker) -> None:
        sdnotify.stopping()
        log.info("stopping")
        if self._watcher is not None:
            self._watcher.stop()
        worker.stop()
        worker.join(STOP_TIMEOUT)
        if worker.is_alive():
            log.warning(
                "the current sync did not finish within %.0f s; exiting anyway "
                "(the next start completes it)",
                STOP_TIMEOUT,
            )
        else:
            log.info("stopped")


_REJECTED = "reload rejected, keeping the previous configuration: "


def run_daemon(
    config_path: Path,
    *,
    engine_factory: EngineFactory | None = None,
    state_factory: StateFactory | None = None,
) -> int:
    """``syncd run``: sync until SIGTERM/SIGINT; the process exit status (``EXIT_*``)."""
    try:
        config, warnings = load_config(config_path)
    except ConfigError as exc:
        log_config_error(exc, "invalid configuration: ")
        return EXIT_CONFIG
    for warning in warnings:
        log.warning("%s: %s", config_path, warning)
    try:
        lock = InstanceLock.acquire(config.state_dir)
    except AlreadyRunning as exc:
        log.error("%s", exc)
        return EXIT_ALREADY_RUNNING
    except SyncdError as exc:
        log.error("%s", exc)
        return EXIT_FAILURE
    try:
        log.info("syncd %s starting (pid %d, config %s)", __version__, os.getpid(), config_path)
        daemon = Daemon(
            config_path,
            config,
            engine_factory=engine_factory or default_engine_factory,
            state_factory=state_factory or StateStore.open,
        )
        return daemon.run()
    finally:
        lock.release()
