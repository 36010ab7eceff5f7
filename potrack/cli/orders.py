"""`potrack import-orders FILE`: the ERP's order file into the order book, as an admin, from the server's shell.

The same service as Admin → Orders → Import: every problem by line and nothing written, or every order
saved in one transaction. Exit status 1 when the file has problems, so a scheduled import can tell.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from potrack.cli.database import open_database
from potrack.cli.registry import Add

if TYPE_CHECKING:  # the services are imported inside the command, so `potrack --help` starts fast
    from potrack.orders.importing import ImportOutcome

PROBLEMS_SHOWN = 1_000  # a terminal is no place for more; the first ones tell what to fix
CHANGES_SHOWN = 200


def cmd_import_orders(args: argparse.Namespace) -> int:
    from potrack.orders.import_sheet import check_size
    from potrack.orders.importing import import_orders
    from potrack.reports.excel.workbook import actor_by_username

    path = Path(args.file)
    check_size(path.stat().st_size)  # before reading it: a file far too big costs nothing
    db = open_database()
    actor = actor_by_username(args.as_user, db=db)
    outcome = import_orders(
        actor, path.read_bytes(), path.name, mapping=dict(args.column) or None, dry_run=args.dry_run, db=db
    )
    _print(outcome, dry_run=args.dry_run)
    return 1 if outcome.problems else 0


def _print(outcome: ImportOutcome, *, dry_run: bool) -> None:
    from potrack.orders.importing import describe_change

    parsed = outcome.file
    if parsed.description:
        print(f'{parsed.filename}: {parsed.description}, {parsed.lines:,} lines of orders', file=sys.stderr)
    for problem in outcome.problems[:PROBLEMS_SHOWN]:
        print(problem)
    if len(outcome.problems) > PROBLEMS_SHOWN:
        print(f'… and {len(outcome.problems) - PROBLEMS_SHOWN:,} more problems')
    if outcome.report is not None:
        updated = [f'  updated {describe_change(c)}' for c in outcome.report.updated]
        kept = [f'  closed or cancelled, left as it is: {describe_change(c)}' for c in outcome.report.not_open]
        skipped = [
            f'  line {row.line}: {row.fields.order_number} is {row.status} in the file, not imported'
            for row in outcome.not_open_in_file
        ]
        lines = updated + kept + skipped
        for line in lines[:CHANGES_SHOWN]:
            print(line)
        if len(lines) > CHANGES_SHOWN:
            print(f'  … and {len(lines) - CHANGES_SHOWN:,} more')
    print(f'dry run, nothing written. {outcome.summary}' if dry_run and not outcome.problems else outcome.summary)


def column_choice(text: str) -> tuple[str, str]:
    """`--column FIELD=HEADER`: read FIELD from the column headed HEADER (an empty HEADER: do not read it)."""
    from potrack.orders.import_columns import LABELS

    name, sep, header = text.partition('=')
    name = name.strip()
    if not sep or name not in LABELS:
        raise argparse.ArgumentTypeError(f'{text!r} is not FIELD=HEADER with FIELD one of {", ".join(LABELS)}')
    return name, header.strip()


def register(add: Add) -> None:
    p = add(
        'import-orders',
        cmd_import_orders,
        'import the ERP order file (.xlsx or .csv): new orders created, open ones updated, all or nothing',
    )
    p.add_argument('file', metavar='FILE', help='the .xlsx or .csv file; its headers on line 1')
    p.add_argument('--dry-run', action='store_true', help='check the file and say what would change; write nothing')
    p.add_argument(
        '--as', dest='as_user', default='admin', metavar='USER', help='the admin it is recorded as (default admin)'
    )
    p.add_argument(
        '--column',
        action='append',
        type=column_choice,
        default=[],
        metavar='FIELD=HEADER',
        help='read FIELD from the column headed HEADER, when potrack does not recognize the header; repeatable',
    )
