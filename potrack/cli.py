"""The `potrack` command."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable, Sequence

from potrack.config import ConfigError, reset_settings, settings
from potrack.errors import PotrackError


def _open_database(migrate: bool = True, provision: bool = True):  # type: ignore[no-untyped-def]
    """The configured database, migrated and provisioned; exits with one line when it cannot be reached."""
    from potrack.db import Database, use_database
    from potrack.db.migrate import upgrade
    from potrack.db.provision import provision as provision_db

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
    from potrack.accounts import set_admin_from_cli

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
    from potrack.demo import run_demo

    db = _open_database()
    run_demo(db, movements=args.movements, fast=args.fast, out=print)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from potrack.integrity import check_consistency

    db = _open_database(provision=False)
    report = check_consistency(db)
    if report.consistent:
        print(f'consistent: {report.balance_rows} balance rows match {report.movements} movements; none negative')
        return 0
    print(f'INCONSISTENT: {len(report.mismatches)} mismatch(es) found (first ones below)')
    for m in report.mismatches:
        print('  ' + m.describe())
    return 1


def cmd_serve(args: argparse.Namespace) -> int:
    from potrack.app import configure_logging, serve

    configure_logging()
    serve()
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
