"""Running an export in a worker process, so kiosks keep working while a big workbook (or CSV) is written.

openpyxl, like the csv module's row loop, is pure Python: in a thread it would hold the GIL for
minutes and every kiosk's request would queue behind it. A spawned process has its own interpreter; it
runs at a lower priority, reports its progress through shared counters, and sends back the result or the
refusal. The page polls `poll()` from a timer: nothing ever blocks the event loop or a thread of its pool.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from potrack import errors
from potrack.common.actors import Actor
from potrack.db.engine import Database, database, use_database
from potrack.db.types import utcnow
from potrack.errors import PotrackError
from potrack.reports.excel.data_sheets import Progress
from potrack.reports.excel.workbook import ExportRequest, ExportResult, export_filename, export_workbook, scope_check

log = logging.getLogger(__name__)
EXPORT_DIR_PREFIX = 'potrack-export-'
KEEP_EXPORT_S = 15 * 60  # a finished workbook waits this long for its download, then it is deleted
STALE_EXPORT_S = 2 * 3600  # leftovers of a crashed server are swept after this
MAX_PARALLEL_EXPORTS = 2  # more would take the CPU the kiosks need; the rest wait their turn
# openpyxl first writes each sheet as uncompressed XML to a temporary file (about 250 bytes a movement)
# and zips it at the end. On the database's disk those writes ride along with every journal commit, and
# PostgreSQL's commits (the kiosks' "saved") wait behind them; in RAM they cost nothing to anyone.
SCRATCH_DIR = Path('/dev/shm')  # noqa: S108  (files there are made by NamedTemporaryFile: private names)
SCRATCH_MIN_FREE_BYTES = 2 * 1024**3
WORKER_NICE = 19  # the lowest priority: an export only takes CPU time the kiosks leave over
FAILED_MESSAGE = 'The export failed; nothing was downloaded. Try again, or ask an administrator to check the log.'
_slots = threading.BoundedSemaphore(MAX_PARALLEL_EXPORTS)
_REFUSALS = {
    cls.__name__: cls
    for cls in (errors.InvalidInput, errors.NotAllowed, errors.SignedOut, errors.NotFound, errors.NotSaved)
}


def new_export_path(filename: str) -> Path:
    """A fresh private folder for one workbook (the file keeps its name for the download)."""
    return Path(tempfile.mkdtemp(prefix=EXPORT_DIR_PREFIX)) / filename


def remove_export(path: Path) -> None:
    """Delete a workbook and its folder; only folders this module made."""
    if path.parent.name.startswith(EXPORT_DIR_PREFIX):
        shutil.rmtree(path.parent, ignore_errors=True)


def sweep_exports(max_age_s: float = STALE_EXPORT_S) -> None:
    """Delete export folders older than `max_age_s` (left behind by a restart), and reap ended workers."""
    mp.active_children()
    cutoff = time.time() - max_age_s
    for folder in Path(tempfile.gettempdir()).glob(f'{EXPORT_DIR_PREFIX}*'):
        with contextlib.suppress(OSError):
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)


# What a worker runs: writer(actor, what, path, progress, now, db) -> a result with `path` and `filename`.
# A module-level function, so that the spawned process can import it by name.
Writer = Callable[..., Any]


def write_workbook(
    actor: Actor, request: ExportRequest, path: Path, progress: Progress, now: datetime, db: Database
) -> ExportResult:
    return export_workbook(actor, request, path, progress=progress, now=now, db=db)


class ExportJob:
    """One export: waiting for a slot, running in a worker process, then done or failed."""

    def __init__(
        self, actor: Actor, what: Any, db_url: str, filename: str, now: datetime, writer: Writer = write_workbook
    ) -> None:
        self.path = new_export_path(filename)
        self.state = 'waiting'
        self.error: PotrackError | None = None
        self.result: Any = None  # ExportResult, or what `writer` returns
        context = mp.get_context('spawn')  # never fork a process that runs an event loop and threads
        self._done = context.Value('q', 0, lock=False)  # written by the worker only
        self._total = context.Value('q', -1, lock=False)
        self._inbox, self._outbox = context.Pipe(duplex=False)
        args = (db_url, writer, actor, what, str(self.path), now, self._done, self._total, self._outbox)
        self._process = context.Process(target=_work, args=args, name='potrack-export', daemon=True)

    @property
    def pid(self) -> int | None:
        """The worker's process id once it runs (for monitoring)."""
        return self._process.pid

    @property
    def done(self) -> int:
        return int(self._done.value)

    @property
    def total(self) -> int | None:
        """Movements in the selection, once the worker has counted them."""
        return None if self._total.value < 0 else int(self._total.value)

    @property
    def finished(self) -> bool:
        return self.state in ('done', 'failed', 'cancelled')

    def poll(self) -> str:
        """Advance without blocking: start when a slot is free, collect the outcome when the worker ends."""
        if self.state == 'waiting' and _slots.acquire(blocking=False):
            self._process.start()
            with contextlib.suppress(OSError):  # at once, so even its start-up imports yield to the kiosks
                os.setpriority(os.PRIO_PROCESS, self._process.pid or 0, WORKER_NICE)
            self._outbox.close()  # the worker holds the only writing end now, so its death reads as EOF
            self.state = 'running'
        elif self.state == 'running':
            try:
                message = self._inbox.recv() if self._inbox.poll() else None
            except EOFError:
                message = None
            if message is not None:
                self._collect(message)
            elif not self._process.is_alive():
                log.error('export worker ended without an answer (exit code %s)', self._process.exitcode)
                self._end('failed', PotrackError(FAILED_MESSAGE))
                remove_export(self.path)
        return self.state

    def wait(self, timeout_s: float = 3600.0, interval_s: float = 0.1) -> Any:
        """Block until the export ends (CLI, tests, benchmarks); returns the result or raises the refusal."""
        deadline = time.monotonic() + timeout_s
        while self.poll() not in ('done', 'failed', 'cancelled'):
            if time.monotonic() > deadline:
                self.cancel()
                raise PotrackError('The export took too long and was stopped.')
            time.sleep(interval_s)
        if self.result is None:
            raise self.error or PotrackError(FAILED_MESSAGE)
        return self.result

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the worker process to exit (after `wait`): benchmarks read its resource usage then."""
        if self.state != 'waiting':
            self._process.join(timeout_s)

    def cancel(self) -> None:
        """Stop the worker (the page was closed) and delete what it wrote."""
        if self.finished:
            return
        if self._process.is_alive():
            self._process.terminate()  # SIGTERM: the worker exits cleanly and openpyxl removes its temp files
        self._end('cancelled', None)
        remove_export(self.path)

    def _collect(self, message: tuple[Any, ...]) -> None:
        if message[0] == 'ok':
            self.result = message[1]
            self._end('done', None)
        else:
            _, kind, text, field = message
            self._end('failed', _REFUSALS.get(kind, PotrackError)(text, field=field))
            remove_export(self.path)

    def _end(self, state: str, error: PotrackError | None) -> None:
        if self.state == 'running':
            _slots.release()
            self._process.join(timeout=0)  # never wait on the event loop; sweep_exports reaps it otherwise
        self.state, self.error = state, error


def _roomy(folder: Path) -> bool:
    """True when `folder` is a writable RAM disk with room to spare."""
    try:
        return os.access(folder, os.W_OK) and shutil.disk_usage(folder).free >= SCRATCH_MIN_FREE_BYTES
    except OSError:
        return False


def start_export(actor: Actor, request: ExportRequest, *, db: Database | None = None) -> ExportJob:
    """Refuse now what the export would refuse later, then start writing the workbook in a worker process.

    Raises SignedOut, NotAllowed (a work center asked for is not visible). The job itself may end with
    InvalidInput (too many rows) or NotSaved in `ExportJob.error`.
    """
    db = db or database()
    codes = scope_check(actor, request.flt, db=db)
    sweep_exports()
    now = utcnow()
    job = ExportJob(actor, request, db.url, export_filename(now, codes), now)
    job.poll()
    return job


def _work(
    db_url: str,
    writer: Writer,
    actor: Actor,
    what: Any,
    path: str,
    now: datetime,
    done: Any,
    total: Any,
    outbox: Connection,
) -> None:
    """The worker process: run `writer`, send ('ok', result) or ('refused', kind, message, field)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICE)  # exports wait; kiosks do not
    if _roomy(SCRATCH_DIR):
        tempfile.tempdir = str(SCRATCH_DIR)  # openpyxl's sheet files (this process only); the workbook stays put
    db = Database(db_url, pool_size=1)
    use_database(db)

    def progress(written: int, selected: int) -> None:
        total.value = selected
        done.value = written

    try:
        result = writer(actor, what, Path(path), progress, now, db)
        outbox.send(('ok', result))
    except PotrackError as exc:
        outbox.send(('refused', type(exc).__name__, exc.message, exc.field))
    except Exception:
        log.exception('export for user %d failed', actor.user_id)
        outbox.send(('failed', 'PotrackError', FAILED_MESSAGE, None))
    finally:
        db.dispose()
        outbox.close()
