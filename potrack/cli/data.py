"""Commands on the ledger's data: demo, check."""

from __future__ import annotations

import argparse

from potrack.cli.database import open_database
from potrack.cli.registry import Add


def cmd_demo(args: argparse.Namespace) -> int:
    from potrack.ops.demo.loader import run_demo

    db = open_database()
    run_demo(db, movements=args.movements, fast=args.fast, out=print)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from potrack.ledger.integrity import check_consistency

    db = open_database(provision=False)
    report = check_consistency(db)
    if report.consistent:
        print(f'consistent: {report.balance_rows} balance rows match {report.movements} movements; none negative')
        print(f'flow: {report.transit_rows} transit rows match what was sent and received; scrap and rework agree')
        return 0
    print(f'INCONSISTENT: {len(report.mismatches)} mismatch(es) found (first ones below)')
    for m in report.mismatches:
        print('  ' + m.describe())
    return 1


def movement_count(text: str) -> int:
    """`--movements`: checked while the arguments are read, so a bad count never touches the database."""
    from potrack.ops.demo.loader import MAX_MOVEMENTS

    try:
        count = int(text.replace(',', '').replace('_', ''))
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_MOVEMENTS:
        raise argparse.ArgumentTypeError(f'{text!r} is not a whole number from 0 to {MAX_MOVEMENTS:,}')
    return count


def register(add: Add) -> None:
    p = add('demo', cmd_demo, 'load demo data: orders flowing WC001→WC005 over 30 days, one operator per department')
    p.add_argument('--movements', type=movement_count, default=2000, help='how many movements to create (default 2000)')
    p.add_argument(
        '--fast',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='bulk-load instead of the real write path (default: on for 100,000 or more)',
    )
    add(
        'check',
        cmd_check,
        "verify that every balance equals the sums of its movements, none is negative, and every order's"
        ' last-movement time (where newest-first searches start) is current; exit 1 and the first mismatches if not',
    )
