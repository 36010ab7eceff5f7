"""Importing the ERP's order file: read it, show what it would do, then save all of it or nothing.

An admin's action, checked here. The file is read (import_file) before the transaction begins, so the
book is locked only while saving. New orders are created, open ones updated, closed and cancelled ones
left as they are and listed. A line whose status column says closed or cancelled is never saved: potrack
does not open a finished order, and it does not close one on a file's say-so (the order book does that,
with a reason). The column mapping an import used is remembered for the site.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from potrack.common import site_settings
from potrack.common.actors import Actor, require_admin
from potrack.db.engine import Database, database
from potrack.db.models import ORDER_OPEN, SiteSetting
from potrack.live.announce import ORDERS, write_announced
from potrack.orders.import_columns import LABELS
from potrack.orders.import_file import ImportRow, ParsedFile, Problem, Progress, parse_order_file
from potrack.orders.route_checks import route_problems
from potrack.orders.saving import OrderChange, SaveReport, save_orders

log = logging.getLogger(__name__)

SAVE_CHUNK = 1_000  # orders per save_orders call: the progress a person sees while saving
_SETTING_MAX_LEN: int = SiteSetting.__table__.c.value.type.length  # type: ignore[attr-defined]


@dataclass
class ImportOutcome:
    """What an import found and did: the file read, and what saving did (or, before saving, would do)."""

    file: ParsedFile
    report: SaveReport | None = None  # None while the file has problems
    saved: bool = False
    not_open_in_file: list[ImportRow] = field(default_factory=list)  # status closed/cancelled: not saved
    parse_s: float = 0.0
    save_s: float = 0.0

    @property
    def problems(self) -> list[Problem]:
        return self.file.problems

    @property
    def summary(self) -> str:
        """One sentence: the problems' count, or what was (or would be) saved."""
        if self.problems:
            count = len(self.problems)
            return f'{count:,} problem{"s" if count != 1 else ""} in {self.file.filename}: nothing was imported.'
        assert self.report is not None
        done = self.report.summary
        if self.not_open_in_file:
            done += f', {len(self.not_open_in_file)} closed or cancelled in the file not imported'
        return f'Imported {self.file.filename}: {done}.' if self.saved else f'Importing would give: {done}.'


def preview_import(
    actor: Actor,
    data: bytes,
    filename: str,
    mapping: Mapping[str, str | None] | None = None,
    db: Database | None = None,
) -> ImportOutcome:
    """An admin reads an order file: its problems by line, or what importing it would change. Writes nothing.

    Raises NotAllowed, SignedOut, NotSaved (the database did not answer).
    """
    return import_orders(actor, data, filename, mapping, dry_run=True, db=db)


def import_orders(
    actor: Actor,
    data: bytes,
    filename: str,
    mapping: Mapping[str, str | None] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    db: Database | None = None,
) -> ImportOutcome:
    """An admin imports an order file in one transaction: every order of it, or, with any problem, none.

    `mapping`: field -> header, for columns potrack does not recognize (None: do not read that field);
    without it, the site's remembered mapping. `dry_run`: only say what would change.
    Raises NotAllowed, SignedOut, NotSaved (nothing was written).
    """
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        remembered = _remembered(session)
    started = time.perf_counter()
    parsed = parse_order_file(data, filename, mapping, remembered, progress)
    if parsed.rows:  # also beside other problems: a person sees every problem of the file at once
        _check_routes(db, parsed)
    outcome = ImportOutcome(parsed, parse_s=time.perf_counter() - started)
    if not parsed.ok:
        return outcome
    to_save = [row for row in parsed.rows if row.status in (None, ORDER_OPEN)]
    outcome.not_open_in_file = [row for row in parsed.rows if row.status not in (None, ORDER_OPEN)]
    started = time.perf_counter()
    if dry_run:
        with db.read() as session:
            outcome.report = _save(session, actor, to_save, dry_run=True, progress=progress)
    else:
        remember = _remember(parsed, remembered)

        def unit(session: Session) -> SaveReport:
            report = _save(session, actor, to_save, dry_run=False, progress=progress)
            if remember is not None:
                site_settings.put(session, actor_id=actor.user_id, key=site_settings.IMPORT_COLUMNS, value=remember)
            return report

        outcome.report = write_announced(db, unit, ORDERS)
        outcome.saved = True
        log.info('user %s imported %s: %s', actor.user_id, filename, outcome.report.summary)
    outcome.save_s = time.perf_counter() - started
    return outcome


def describe_change(change: OrderChange) -> str:
    """'PO-7: planned quantity 100 → 120, due date 2026-12-01 → 2026-12-15', for a list a person reads."""
    parts = [f'{LABELS.get(name, name)} {_value(old)} → {_value(new)}' for name, (old, new) in change.changes.items()]
    return f'{change.order_number}: {", ".join(parts)}'


def _save(
    session: Session, actor: Actor, rows: Sequence[ImportRow], *, dry_run: bool, progress: Progress | None
) -> SaveReport:
    """save_orders in chunks, in the caller's transaction, telling `progress` after each."""
    user = require_admin(session, actor)  # again, inside the transaction: the actor may have lost the right
    report = SaveReport()
    for start in range(0, len(rows), SAVE_CHUNK):
        chunk = [row.fields for row in rows[start : start + SAVE_CHUNK]]
        part = save_orders(session, actor_id=user.id, orders=chunk, source='imported', dry_run=dry_run)
        report.created += part.created
        report.updated += part.updated
        report.unchanged += part.unchanged
        report.not_open += part.not_open
        if not dry_run:
            session.flush()  # in the database now, so a failure later undoes written rows, not pending ones
        if progress is not None:
            progress('saving', min(start + SAVE_CHUNK, len(rows)), len(rows))
    return report


def _check_routes(db: Database, parsed: ParsedFile) -> None:
    """A problem on each line whose route names a code that is no work center (one read for the file)."""
    routed = [row for row in parsed.rows if row.fields.route]
    with db.read() as session:
        found = route_problems(session, [row.fields.route or '' for row in routed])
    parsed.problems.extend(Problem(row.line, problem) for row, problem in zip(routed, found, strict=True) if problem)
    parsed.problems.sort(key=lambda p: p.line or 0)


def _remembered(session: Session) -> dict[str, str]:
    text = site_settings.get(session, site_settings.IMPORT_COLUMNS)
    try:
        value = json.loads(text)
    except ValueError:
        log.warning('the remembered import columns are not JSON, ignored: %r', text[:80])
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _remember(parsed: ParsedFile, remembered: Mapping[str, str]) -> str | None:
    """The site's mapping after this import (its choices added to the earlier ones), or None: no change.

    Only headers potrack does not recognize by itself are kept; when they no longer fit the setting,
    this file's choices alone are kept, and when even those do not fit, nothing new is remembered.
    """
    chosen = parsed.columns.chosen
    merged = {**remembered, **chosen}
    if merged == remembered:
        return None
    for candidate in (merged, chosen):
        text = json.dumps(candidate, ensure_ascii=False, sort_keys=True, separators=(',', ':'))
        if len(text) <= _SETTING_MAX_LEN:
            return text
    log.info('the columns of %s are too long to remember (%d headers)', parsed.filename, len(chosen))
    return None


def _value(value: Any) -> str:
    if value is None or value == '':
        return '(none)'
    return value.isoformat() if hasattr(value, 'isoformat') else str(value)
