"""The CSV export: the Movements of what the report's filters select, for other systems (an ERP upload, a BI tool).

Exactly the workbook's Movements sheet: its header (`movement_titles`) and its rows, from the same
server-side cursor (`movement_rows`), so a million rows never sit in memory. Written by the `csv` module
in Excel's dialect, UTF-8 with a byte-order mark (without it Excel reads the file as the local code page).
Times are the site zone's wall clock, named in the header; text is cleaned and kept from becoming a
formula by the workbook's own rule (`excel.cells`). No nicegui: the page runs it as an export job in a
worker process (`start_csv_export`), the CLI calls `export_csv` directly.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlmodel import Session

from potrack.common.actors import Actor
from potrack.config import settings
from potrack.db.engine import Database, database
from potrack.db.tables import MOVEMENTS
from potrack.db.types import utcnow
from potrack.ledger.search import MovementFilter, movement_conditions
from potrack.reports.excel.cells import FORMULA_START, clean_text
from potrack.reports.excel.data_sheets import PROGRESS_EVERY, Progress, movement_rows, movement_titles
from potrack.reports.excel.job import ExportJob, sweep_exports
from potrack.reports.excel.workbook import export_filename, scope_check

log = logging.getLogger(__name__)
DIALECT = csv.excel  # comma, CRLF, quotes only where needed: what Excel and most importers expect
# UTF-8, with the byte-order mark written first by hand: the 'utf-8-sig' codec's encoder is Python code
# called on every row, a tenth of a large export's time.
ENCODING = 'utf-8'
BOM = '\ufeff'
TEXT_MARK = "'"  # the CSV form of the workbook's quotePrefix: Excel keeps what follows as text
PART_SUFFIX = '.part'  # written under this name, renamed when complete: no reader ever sees half a file
HOUR, SECOND = timedelta(hours=1), timedelta(seconds=1)
ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class CsvResult:
    path: Path
    filename: str
    movements: int


class ExportStopped(Exception):
    """The person who asked for the export stopped it (or left the page)."""


def csv_filename(now: datetime, work_center_codes: tuple[str, ...] = ()) -> str:
    """The workbook's file name (`export_filename`) with `.csv` for `.xlsx`."""
    return str(Path(export_filename(now, work_center_codes)).with_suffix('.csv'))


def csv_text(value: str | None) -> str | None:
    """Text that a spreadsheet opens as this text: cleaned like a workbook cell, and marked as text where
    it would start a formula (`= + - @`, tab, CR first)."""
    if value is None:
        return None
    value = clean_text(value)
    return TEXT_MARK + value if value.startswith(FORMULA_START) else value


class LocalTimes:
    """Aware UTC moments as the site zone's wall clock, `2026-03-05 23:59:00` (read as a time by Excel and
    importers alike; seconds cut, as on the workbook's cells).

    The zone is `settings().tz`, as in the workbook, but pytz costs microseconds a call and a big export has
    a million rows in time order: an hour whose first and last second share one UTC offset (every hour but
    the one of a clock change) converts by that offset.
    """

    def __init__(self, tz: Any) -> None:
        self.tz = tz
        self.start = self.end = datetime.min.replace(tzinfo=UTC)  # the hour `offset` holds for: none yet
        self.offset: timedelta | None = None

    def __call__(self, moment: datetime) -> str:
        if not self.start <= moment < self.end:
            self.start = moment.replace(minute=0, second=0, microsecond=0)
            self.end = self.start + HOUR
            first, last = (m.astimezone(self.tz).utcoffset() for m in (self.start, self.end - SECOND))
            self.offset = first if first == last else None
        local = moment.astimezone(self.tz) if self.offset is None else moment + self.offset
        return local.isoformat(' ', 'seconds')[:19]  # without the offset: the header names the zone


class _Texts(dict[str | None, str | None]):
    """`csv_text` of values that repeat (codes, names, types), each worked out once: a hit is a dict lookup."""

    def __missing__(self, value: str | None) -> str | None:
        text = self[value] = csv_text(value)
        return text


def _line_maker(tz: Any) -> Callable[[Any], tuple[Any, ...]]:
    """Turns a `movement_rows` row into a CSV line; numbers stay numbers (a reversal's -3 is no formula).
    The flow columns (disposition, the work center sent to, the reason's label) come last, so a system that
    reads the columns by position before them reads what it always did."""
    local = LocalTimes(tz)
    few = _Texts().__getitem__

    def line(r: Any) -> tuple[Any, ...]:
        return (
            local(r[0]),
            csv_text(r[1]),
            few(r[2]),
            few(r[3]),
            few(r[4]),
            r[5],
            few(r[6]),
            few(r[7]),
            few(r[8]),
            r[9],
            csv_text(r[10]),
            r[11],
            few(r[12]),
            few(r[13]),
            few(r[14]),
        )

    return line


def _write(out: TextIO, rows: Iterator[Any], total: int, progress: Progress | None, stop: ShouldStop | None) -> int:
    out.write(BOM)
    writer = csv.writer(out, dialect=DIALECT)
    writer.writerow(movement_titles())
    line = _line_maker(settings().tz)
    count = 0
    while batch := list(islice(rows, PROGRESS_EVERY)):
        if stop is not None and stop():
            raise ExportStopped
        writer.writerows(map(line, batch))
        count += len(batch)
        if progress:
            progress(count, total)
    if progress and not count:
        progress(0, total)
    return count


def _count(session: Session, where: list[Any]) -> int:
    return int(session.execute(select(func.count()).select_from(MOVEMENTS).where(*where)).scalar_one())


def export_csv(
    actor: Actor,
    flt: MovementFilter,
    path: Path,
    *,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    db: Database | None = None,
) -> CsvResult:
    """Write the Movements that `flt` selects, within the actor's scope, to `path` as CSV, newest first.

    Raises SignedOut, NotAllowed (a work center asked for is not visible), InvalidInput (filters), NotSaved
    (database unreachable), ExportStopped (`should_stop` said so); on any of them `path` is left untouched.
    """
    db = db or database()
    part = path.with_name(path.name + PART_SUFFIX)
    try:
        with db.read() as session:
            where = movement_conditions(session, actor, flt)  # the refusals, before any file exists
            total = 0 if where is None else _count(session, where)
            if progress:
                progress(0, total)
            rows = movement_rows(session, actor, flt)
            with part.open('w', encoding=ENCODING, newline='') as out:  # newline='': the dialect ends lines
                count = _write(out, rows, total, progress, should_stop)
        part.replace(path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return CsvResult(path, path.name, count)


def write_csv(
    actor: Actor, flt: MovementFilter, path: Path, progress: Progress, now: datetime, db: Database
) -> CsvResult:
    """`export_csv` as an export job's worker runs it (excel.job.ExportJob); Stop ends the worker process."""
    return export_csv(actor, flt, path, progress=progress, db=db)


def start_csv_export(actor: Actor, flt: MovementFilter, *, db: Database | None = None) -> ExportJob:
    """Refuse now what the export would refuse later, then start writing the CSV in a worker process.

    Like the workbook (excel.job): the csv module's row loop is Python, and in a thread it would share the
    GIL with the event loop (kiosk entries ~3x slower while a million rows are written). Raises SignedOut,
    NotAllowed (a work center asked for is not visible); the job may end with InvalidInput or NotSaved in
    `ExportJob.error`.
    """
    db = db or database()
    codes = scope_check(actor, flt, db=db)
    sweep_exports()
    now = utcnow()
    job = ExportJob(actor, flt, db.url, csv_filename(now, codes), now, writer=write_csv)
    job.poll()
    return job
