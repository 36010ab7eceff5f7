"""The `potrack` command."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date

from potrack.config import ConfigError, reset_settings, settings
from potrack.errors import PotrackError


def _open_database(migrate: bool = True, provision: bool = True):  # type: ignore[no-untyped-def]
    """The configured database, migrated and provisioned; exits with one line when it cannot be reached."""
    from potrack.db import Database, use_database
    from potrack.ops.provision import provision as provision_db
    from potrack.ops.upgrade import upgrade

    try:
        db = Database()
    except OSError as exc:  # an SQLite file whose folder cannot be created
        raise SystemExit(
            f'potrack: cannot reach the database {settings().database_label()} ({exc.strerror or exc})'
        ) from None
    if not db.ping():
        raise SystemExit(f'potrack: cannot reach the database {settings().database_label()}')
    use_database(db)
    if migrate:
        upgrade(db)
    if provision:
        provision_db(db)
    return db


def cmd_migrate(args: argparse.Namespace) -> int:
    from potrack.db.migrate import current_revision

    db = _open_database(provision=False)
    print(f'database {settings().database_label()} is at schema revision {current_revision(db)}')
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from potrack.accounts.users import set_admin_from_cli

    if args.password_stdin:
        password = sys.stdin.readline().rstrip('\r\n')
    else:
        password = getpass.getpass(f'Password for {args.username}: ')
        if getpass.getpass('Repeat it: ') != password:
            print('potrack: the two passwords differ; nothing changed', file=sys.stderr)
            return 1
    db = _open_database()
    info, created = set_admin_from_cli(args.username, password, db=db)
    verb = 'created admin' if created else 'reset admin'
    print(f'{verb} {info.username}: active, unlocked, may sign in now')
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from potrack.ops.demo.loader import run_demo

    db = _open_database()
    run_demo(db, movements=args.movements, fast=args.fast, out=print)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from potrack.ledger.integrity import check_consistency

    db = _open_database(provision=False)
    report = check_consistency(db)
    if report.consistent:
        print(f'consistent: {report.balance_rows} balance rows match {report.movements} movements; none negative')
        return 0
    print(f'INCONSISTENT: {len(report.mismatches)} mismatch(es) found (first ones below)')
    for m in report.mismatches:
        print('  ' + m.describe())
    return 1


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

    db = _open_database()
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


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from potrack.ops.backup import backup

    db = _open_database(migrate=False, provision=False)
    counts = backup(db, Path(args.out))
    print(f'wrote {Path(args.out).resolve()}: ' + ', '.join(f'{n:,} {t}' for t, n in counts.items()))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from potrack.ops.backup import restore

    db = _open_database(migrate=False, provision=False)
    result = restore(db, Path(args.file), force=args.force)
    print(f'restored {args.file} into {settings().database_label()}')
    print('  ' + ', '.join(f'{n:,} {t}' for t, n in result.counts.items()))
    if not result.check.consistent:
        print(f'INCONSISTENT: {len(result.check.mismatches)} mismatch(es); run potrack check for details')
        return 1
    print(f'consistent: {result.check.balance_rows} balance rows match {result.check.movements} movements')
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from potrack.app import configure_logging, serve

    configure_logging()
    serve(_open_database())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='potrack', description='Production order tracking for factories.')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    add('serve', cmd_serve, 'serve the web app (the default when no command is given)')
    add('migrate', cmd_migrate, 'upgrade the database schema to the latest version')
    p = add('create-admin', cmd_create_admin, 'create an admin, or reset an existing user to an active admin')
    p.add_argument('username')
    p.add_argument('--password-stdin', action='store_true', help='read the password from the first line of stdin')
    p = add('demo', cmd_demo, 'load demo data: orders flowing WC001→WC005 over 30 days, one operator per department')
    p.add_argument('--movements', type=int, default=2000, help='how many movements to create (default 2000)')
    p.add_argument(
        '--fast',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='bulk-load instead of the real write path (default: on for 100,000 or more)',
    )
    add('check', cmd_check, 'verify that every balance equals the sums of its movements')
    p = add('backup', cmd_backup, 'write a backup of the whole database (SQLite copy or pg_dump custom format)')
    p.add_argument('--out', required=True, help='the backup file to write (replaced only when complete)')
    p = add('restore', cmd_restore, 'replace the database with a backup, then count and check it (stop potrack first)')
    p.add_argument('file', help='a file written by potrack backup')
    p.add_argument('--force', action='store_true', help='overwrite a database that already has data')
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s %(message)s')
    logging.getLogger('alembic').setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    reset_settings()
    try:
        settings()
        return int(getattr(args, 'func', cmd_serve)(args))
    except ConfigError as exc:
        print(f'potrack: {exc}', file=sys.stderr)
        return 2
    except PotrackError as exc:
        print(f'potrack: {exc.message}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
