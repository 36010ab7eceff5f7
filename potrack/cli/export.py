"""`potrack export`: what the filters select, as the web page writes it: the workbook, or its Movements as CSV."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from potrack.cli.database import open_database
from potrack.cli.registry import Add

if TYPE_CHECKING:  # the services are imported inside the command, so `potrack --help` starts fast
    from potrack.common.actors import Actor
    from potrack.db.engine import Database
    from potrack.ledger.search import MovementFilter


def cmd_export(args: argparse.Namespace) -> int:
    from potrack.db.types import utcnow
    from potrack.reports.csv_export import csv_filename, export_csv
    from potrack.reports.excel.workbook import (
        ExportRequest,
        actor_by_username,
        export_filename,
        export_workbook,
        scope_check,
    )

    db = open_database()
    actor = actor_by_username(args.user, db=db)
    period = 'custom' if args.date_from or args.date_to else args.period
    flt = _filter(args, actor, period, db)
    now = utcnow()
    out = Path(args.out)
    if out.is_dir():
        name = csv_filename if args.format == 'csv' else export_filename
        out = out / name(now, scope_check(actor, flt, db=db))
    _check_writable(out)
    if args.format == 'csv':
        written = export_csv(actor, flt, out, progress=_progress(), db=db)
        print(f'wrote {written.path}: {written.movements:,} movements')
        return 0
    request = ExportRequest(flt, open_only=not args.all_balances, period=period)
    result = export_workbook(actor, request, out, progress=_progress(), now=now, db=db)
    orders = f', {result.orders:,} orders' if result.orders else ''
    print(f'wrote {result.path}: {result.movements:,} movements, {result.balances:,} balance rows{orders}')
    return 0


def _filter(args: argparse.Namespace, actor: Actor, period: str, db: Database) -> MovementFilter:
    from potrack.reports.filters import build_filter, filter_choices
    from potrack.timeutil import local_today

    codes = tuple(code for item in args.wc for code in item.split(',') if code.strip())
    return build_filter(
        filter_choices(actor, db=db),
        today=local_today(),
        order=args.order,
        match=args.match,
        work_center_codes=codes,
        period=period,
        date_from=args.date_from,
        date_to=args.date_to,
        movement_type=args.type,
        username=args.by,
    )


def _check_writable(out: Path) -> None:
    """Refuse an --out that cannot be written before the export runs, not after a million rows."""
    from potrack.errors import InvalidInput

    folder = out.parent
    if not folder.is_dir():
        raise InvalidInput(f'Cannot write {out}: the folder {folder} does not exist.', field='out')
    try:  # root passes every permission check, yet cannot create a file in /proc: try it
        with tempfile.NamedTemporaryFile(dir=folder, prefix='.potrack-export-'):
            pass
    except OSError as exc:
        raise InvalidInput(f'Cannot write {out}: {exc.strerror or exc}.', field='out') from None


def _progress() -> Callable[[int, int], None]:
    """Progress on stderr, every tenth of the way."""
    shown = [-1]

    def progress(done: int, total: int) -> None:
        step = done * 10 // max(total, 1)
        if step != shown[0]:
            shown[0] = step
            print(f'  {done:,} / {total:,} movements', file=sys.stderr, flush=True)

    return progress


def register(add: Add) -> None:
    p = add('export', cmd_export, 'write an Excel workbook (or a CSV of its movements) of what the filters select')
    p.add_argument('--out', required=True, help='the file to write, or a folder for the default file name')
    p.add_argument(
        '--format',
        choices=['xlsx', 'csv'],
        type=str.lower,
        default='xlsx',
        help='xlsx: the workbook (default); csv: its Movements sheet, UTF-8, for other systems',
    )
    p.add_argument('--user', default='admin', help='export as this user, within what they may see (default admin)')
    p.add_argument('--order', default='', help='order number to search for')
    p.add_argument('--match', choices=['prefix', 'contains', 'exact'], default='prefix')
    p.add_argument(
        '--wc', action='append', default=[], metavar='CODE', help='work center code; repeat or comma-separate'
    )
    p.add_argument(
        '--period', default='all', choices=['today', 'yesterday', 'this-week', 'this-month', 'last-30-days', 'all']
    )
    p.add_argument('--from', dest='date_from', type=date.fromisoformat, metavar='YYYY-MM-DD', help='first local day')
    p.add_argument('--to', dest='date_to', type=date.fromisoformat, metavar='YYYY-MM-DD', help='last local day')
    p.add_argument('--type', choices=['IN', 'OUT'], type=str.upper, help='IN or OUT only (default both)')
    p.add_argument('--by', metavar='USERNAME', help='only movements recorded by this user')
    p.add_argument('--all-balances', action='store_true', help='list closed orders on the Balances sheet too (xlsx)')
