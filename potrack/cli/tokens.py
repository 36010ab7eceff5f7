"""`potrack token issue | list | revoke`: REST API tokens, from the server's shell.

The shell acts as no potrack user: whoever can run potrack here already holds the database, as
`create-admin` shows. Naming an admin to act as would put a name in the audit trail that nobody
proved, so these actions are audited with no acting user ("system" in the Audit tab), "via: command
line" and the operating-system account that ran the command.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from potrack.cli.database import open_database
from potrack.cli.registry import Add

MAX_TOKEN_ID = 2**31 - 1  # api_token.id is an INTEGER column: a larger number names no token


def cmd_issue(args: argparse.Namespace) -> int:
    from potrack.accounts.tokens import issue_token_from_cli

    db = open_database()
    issued = issue_token_from_cli(args.user, args.name, os_user=os_user(), db=db)
    t = issued.info
    # The secret alone on stdout, so TOKEN=$(potrack token issue …) captures it; the note goes to stderr.
    print(
        f'API token {t.id} "{t.name}" acts as {t.username}. It is shown only this once, below: '
        'copy it now (potrack keeps only its SHA-256).',
        file=sys.stderr,
    )
    print(issued.token)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from potrack.accounts.tokens import list_tokens_from_cli
    from potrack.timeutil import format_local, zone_label

    tokens = list_tokens_from_cli(username=args.user, db=open_database())
    if not tokens:
        print('no API tokens' + (f' for {args.user.strip().lower()}' if args.user else ''))
        return 0
    zone = zone_label()
    rows = [('ID', 'USER', 'LABEL', f'CREATED ({zone})', f'LAST USED ({zone})', f'REVOKED ({zone})')]
    rows += [
        (
            str(t.id),
            t.username,
            t.name,
            format_local(t.created_at),
            format_local(t.last_used_at) or 'never',
            format_local(t.revoked_at) or 'no',
        )
        for t in tokens
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print('  '.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from potrack.accounts.tokens import CACHE_TTL_S, revoke_token_from_cli
    from potrack.db.types import utcnow
    from potrack.timeutil import format_local

    db = open_database()
    started = utcnow()
    t = revoke_token_from_cli(args.id, os_user=os_user(), db=db)
    if t.revoked_at is not None and t.revoked_at < started:
        print(f'API token {t.id} "{t.name}" of {t.username} was already revoked on {format_local(t.revoked_at)}')
        return 0
    # A potrack serving SQLite does not hear this process: its cache of checked tokens runs out instead.
    when = 'at once' if db.is_postgres else f'within {CACHE_TTL_S:g} seconds'
    print(f'revoked API token {t.id} "{t.name}" of {t.username}: a running potrack refuses it {when}')
    return 0


def os_user() -> str | None:
    """The operating-system account running this command, for the audit trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment and none for this uid
        return None


def token_id(text: str) -> int:
    if not (text.strip().isascii() and text.strip().isdigit() and 0 < int(text) <= MAX_TOKEN_ID):
        raise argparse.ArgumentTypeError(f'{text!r} is not a token id')
    return int(text)


def register(add: Add) -> None:
    # ACTION is required, so the group's own function (cmd_list) is never run on its own.
    parent = add('token', cmd_list, 'issue, list or revoke the API tokens other programs use the REST API with')
    actions = parent.add_subparsers(dest='action', metavar='ACTION', required=True)

    def action(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = action('issue', cmd_issue, 'issue a token acting as a user; it is printed once, and only its SHA-256 kept')
    p.add_argument('--user', required=True, metavar='NAME', help='the user the token acts as, seeing what they see')
    p.add_argument('--name', required=True, metavar='LABEL', help='what uses it, e.g. "Line 3 scanner gateway"')
    p = action('list', cmd_list, 'list the tokens (never their secrets), newest first')
    p.add_argument('--user', metavar='NAME', help="only this user's tokens")
    p = action('revoke', cmd_revoke, 'revoke a token: programs using it are refused from then on')
    p.add_argument('id', type=token_id, help='the token id (potrack token list shows it)')
