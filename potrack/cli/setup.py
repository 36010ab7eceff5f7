"""Commands that set a site up: serve, migrate, create-admin."""

from __future__ import annotations

import argparse
import getpass
import sys

from potrack.cli.database import open_database
from potrack.cli.registry import Add
from potrack.config import settings


def cmd_serve(args: argparse.Namespace) -> int:
    from potrack.app import configure_logging, serve

    configure_logging()
    serve(open_database())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from potrack.db.migrate import current_revision

    db = open_database(provision=False)
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
    db = open_database()
    info, created = set_admin_from_cli(args.username, password, db=db)
    verb = 'created admin' if created else 'reset admin'
    print(f'{verb} {info.username}: active, unlocked, may sign in now')
    return 0


def register(add: Add) -> None:
    add('serve', cmd_serve, 'serve the web app (the default when no command is given)')
    add('migrate', cmd_migrate, 'upgrade the database schema to the latest version')
    p = add('create-admin', cmd_create_admin, 'create an admin, or reset an existing user to an active admin')
    p.add_argument('username')
    p.add_argument('--password-stdin', action='store_true', help='read the password from the first line of stdin')
