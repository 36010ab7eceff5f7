"""`potrack export`: the workbook of what the filters select, as the web page writes it."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from potrack.cli.database import open_database
from potrack.cli.registry import Add


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from potrack.db.types import utcnow
    from potrack.reports.excel.workbook import (
        ExportRequest,
        actor_by_username,
        export_filename,
        export_workbook,
        scope_check,
    )
    from potrack.reports.filters import build_filter, filter_choices
    from potrack.timeutil import local_today

    db = open_database()
    actor = actor_by_username(args.user, db=db)
    period = 'custom' if args.date_from or args.date_to else args.period
    codes = tuple(code for item in args.wc for code in item.split(',') if code.strip())
    flt = build_filter(
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
    now = utcnow()
    out = Path(args.out)
    if out.is_dir():
        out = out / export_filename(now, scope_check(actor, flt, db=db))
    shown = [-1]

    def progress(done: int, total: int) -> None:
        step = done * 10 // max(total, 1)
        if step != shown[0]:
            shown[0] = step
            print(f'  {done:,} / {total:,} movements', file=sys.stderr, flush=True)

    request = ExportRequest(flt, open_only=not args.all_balances, period=period)
    result = export_workbook(actor, request, out, progress=progress, now=now, db=db)
    print(f'wrote {result.path}: {result.movements:,} movements, {result.balances:,} balance rows')
    return 0


def register(add: Add) -> None:
    p = add('export', cmd_export, 'write an Excel workbook of the movements and balances the filters select')
    p.add_argument('--out', required=True, help='the .xlsx file to write, or a folder for the default file name')
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
    p.add_argument('--all-balances', action='store_true', help='list closed orders on the Balances sheet too')
