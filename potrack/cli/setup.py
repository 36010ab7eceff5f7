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
    from potrack.accounts.security import check_new_password
    from potrack.accounts.users import normalize_username, set_admin_from_cli

    password = _read_password(args.username, from_stdin=args.password_stdin)
    if password is None:
        return 1
    check_new_password(password, username=normalize_username(args.username))  # before the database is touched
    db = open_database()
    info, created = set_admin_from_cli(args.username, password, db=db)
    verb = 'created admin' if created else 'reset admin'
    print(f'{verb} {info.username}: active, unlocked, may sign in now')
    return 0


def _read_password(username: str, *, from_stdin: bool) -> str | None:
    """The new password, from stdin's first line or asked twice at the terminal; None (said why) if none."""
    stdin = sys.stdin  # None when the shell closed it (<&-)
    if from_stdin:
        try:
            line = stdin.readline() if stdin else ''
        except UnicodeDecodeError:
            return _refused('the password on stdin is not valid text; nothing changed')
        if not line:
            return _refused('no password on stdin (--password-stdin reads its first line); nothing changed')
        return line.rstrip('\r\n')
    if stdin is None or not stdin.isatty():
        return _refused('stdin is not a terminal: to pipe the password in, add --password-stdin; nothing changed')
    try:
        password = getpass.getpass(f'Password for {username}: ')
        if getpass.getpass('Repeat it: ') != password:
            return _refused('the two passwords differ; nothing changed')
    except EOFError:  # Ctrl-D at the prompt
        return _refused('no password given; nothing changed')
    return password


def _refused(reason: str) -> None:
    print(f'potrack: {reason}', file=sys.stderr)
    return None


def register(add: Add) -> None:
    add('serve', cmd_serve, 'serve the web app (the default when no command is given)')
    add('migrate', cmd_migrate, 'upgrade the database schema to the latest version')
    p = add('create-admin', cmd_create_admin, 'create an admin, or reset an existing user to an active admin')
    p.add_argument('username')
    p.add_argument('--password-stdin', action='store_true', help='read the password from the first line of stdin')
