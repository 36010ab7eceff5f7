"""`potrack token issue | list | revoke`, as an admin at the server's shell uses them, on both databases."""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator

import pytest

import potrack.db.engine as engine_module
from potrack.accounts.tokens import authenticate
from potrack.accounts.user_admin import set_user_active
from potrack.cli import main
from potrack.config import reset_settings
from potrack.db import Database, use_database
from potrack.errors import SignedOut
from potrack.masters.audit_trail import AuditFilter, list_events
from tests.test_cli import Run

TOKEN_RE = re.compile(r'pt_[A-Za-z0-9_-]{40,}')


@pytest.fixture
def potrack(db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    """Run `potrack ARGS…` in this process against the test's database; gives (exit status, stdout, stderr)."""
    monkeypatch.setenv('DATABASE_URL', db.url)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse refusing the arguments
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            opened = engine_module._database
            if opened is not None and opened is not db:
                opened.dispose()
            use_database(db)
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    monkeypatch.undo()
    reset_settings()


def issue(potrack: Run, user: str, name: str) -> str:
    code, out, err = potrack('token', 'issue', '--user', user, '--name', name)
    assert code == 0, err
    return out.strip()


def test_issue_prints_the_token_once_and_it_works(potrack: Run, db: Database, make_user) -> None:
    anita = make_user('anita')
    code, out, err = potrack('token', 'issue', '--user', 'Anita', '--name', 'Line 3 scanner')
    assert code == 0
    assert TOKEN_RE.fullmatch(out.strip()) and out.count('\n') == 1  # the secret alone on stdout: $(…) takes it
    assert err.splitlines()[-1] == (
        'API token 1 "Line 3 scanner" acts as anita. It is shown only this once, below: '
        'copy it now (potrack keeps only its SHA-256).'
    )
    assert authenticate(out.strip(), db=db, cached=False).actor.user_id == anita.user_id


def test_list_shows_every_token_without_its_secret(potrack: Run, make_user) -> None:
    make_user('anita')
    make_user('ravi')
    first = issue(potrack, 'anita', 'scanner')
    second = issue(potrack, 'ravi', 'gateway')
    code, out, err = potrack('token', 'list')
    assert (code, err) == (0, '')
    lines = out.splitlines()
    assert lines[0].split() == ['ID', 'USER', 'LABEL', 'CREATED', '(IST)', 'LAST', 'USED', '(IST)', 'REVOKED', '(IST)']
    assert [line.split()[:3] for line in lines[1:]] == [['2', 'ravi', 'gateway'], ['1', 'anita', 'scanner']]
    assert all(line.split()[-2:] == ['never', 'no'] for line in lines[1:])
    assert first not in out and second not in out and 'pt_' not in out

    code, out, _ = potrack('token', 'list', '--user', 'ANITA')
    assert (code, [line.split()[:3] for line in out.splitlines()[1:]]) == (0, [['1', 'anita', 'scanner']])
    assert potrack('token', 'list', '--user', 'ravi2') == (1, '', 'potrack: There is no user "ravi2".\n')


def test_list_says_when_there_is_none(potrack: Run) -> None:
    assert potrack('token', 'list') == (0, 'no API tokens\n', '')


def test_revoke_stops_the_token_and_says_so(potrack: Run, db: Database, make_user) -> None:
    make_user('anita')
    token = issue(potrack, 'anita', 'scanner')
    code, out, err = potrack('token', 'revoke', '1')
    assert (code, err) == (0, '')
    when = 'at once' if db.is_postgres else 'within 10 seconds'
    assert out == f'revoked API token 1 "scanner" of anita: a running potrack refuses it {when}\n'
    with pytest.raises(SignedOut):
        authenticate(token, db=db, cached=False)
    code, out, _ = potrack('token', 'list')
    assert out.splitlines()[1].split()[-1] != 'no'  # the revoke time
    code, out, err = potrack('token', 'revoke', '1')
    assert (code, err) == (0, '') and out.startswith('API token 1 "scanner" of anita was already revoked on ')


def test_the_audit_trail_shows_the_command_line_and_the_os_account(potrack: Run, admin, make_user) -> None:
    make_user('anita')
    issue(potrack, 'anita', 'scanner')
    potrack('token', 'revoke', '1')
    events = list_events(admin, AuditFilter(entity='api_token')).rows
    assert [(e.action, e.actor_username) for e in events] == [('api_token.revoke', None), ('api_token.issue', None)]
    for event in events:
        assert event.after == {'user': 'anita', 'name': 'scanner', 'via': 'command line', 'os_user': getpass.getuser()}
        assert 'via: command line' in event.changes


@pytest.mark.parametrize(
    ('argv', 'code', 'message'),
    [
        (('token', 'issue', '--user', 'ghost', '--name', 'x'), 1, 'potrack: There is no user "ghost".'),
        (('token', 'issue', '--user', 'admin', '--name', '  '), 1, 'potrack: The token name is required.'),
        (('token', 'revoke', '42'), 1, 'potrack: There is no API token 42.'),
        (
            ('token', 'revoke', 'abc'),
            2,
            "potrack token revoke: argument id: 'abc' is not a token id (see potrack token revoke --help)",
        ),
        (
            ('token', 'issue', '--user', 'admin'),
            2,
            'potrack token issue: the following arguments are required: --name (see potrack token issue --help)',
        ),
        (('token',), 2, 'potrack token: the following arguments are required: ACTION (see potrack token --help)'),
    ],
)
def test_bad_input_is_one_line(potrack: Run, argv: tuple[str, ...], code: int, message: str) -> None:
    assert potrack(*argv) == (code, '', message + '\n')


def test_a_deactivated_user_gets_no_token(potrack: Run, admin, make_user) -> None:
    anita = make_user('anita')
    set_user_active(admin, user_id=anita.user_id, active=False)
    assert potrack('token', 'issue', '--user', 'anita', '--name', 'x') == (
        1,
        '',
        'potrack: The user "anita" is deactivated; reactivate them first.\n',
    )
