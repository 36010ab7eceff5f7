"""Rules that hand-made mutants of the core modules broke without any test noticing (issue 17, finding 13).

Each test names the rule as a person meets it and asserts what that person sees: the session that
ends or stays, the refusal and its words, the number that is or is not booked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui import app
from nicegui.testing import User
from sqlalchemy import update

import potrack.db.engine as engine_module
from potrack.accounts.security import token_digest
from potrack.accounts.sessions import validate_session
from potrack.accounts.signin import change_password, sign_in
from potrack.accounts.tokens import authenticate, issue_token
from potrack.accounts.user_admin import set_user_active
from potrack.cli import main
from potrack.common.actors import Actor
from potrack.config import ORDER_NUMBER_MAX_LEN, QUANTITY_MAX, REASON_MAX_LEN, REQUEST_ID_MAX_LEN, reset_settings
from potrack.db import Database, use_database
from potrack.db.models import User as UserRow
from potrack.errors import InvalidInput, NotFound, SignedOut
from potrack.ledger.balances import order_balances
from potrack.ledger.corrections import correct_movement
from potrack.ledger.integrity import check_consistency
from potrack.ledger.reversal import UNDO_REASON, reverse_movement
from potrack.ledger.search import MovementFilter, search_movements
from potrack.ledger.writer import MovementResult, record_movement
from potrack.masters.audit_trail import AuditFilter, list_events
from potrack.masters.catalog import list_work_centers
from potrack.masters.departments import set_department_active
from tests.api_helpers import api, bearer, error_of
from tests.conftest import TEST_PASSWORD
from tests.test_admin_master_services import dept_id

SIGNED_OUT = 'Your session has ended. Please sign in again.'
Run = Callable[..., tuple[int, str, str]]


def _record(
    actor: Actor, wc_id: int, order: str = 'PO-1', quantity: object = 5, kind: str = 'IN', **kw: Any
) -> MovementResult:
    return record_movement(actor, work_center_id=wc_id, order_number=order, quantity=quantity, movement_type=kind, **kw)


def _balances(actor: Actor, order: str) -> list[tuple[str, str, int]]:
    """The balance grid's rows for an order, as (work center, order, balance)."""
    rows = order_balances(actor, order=order, match='exact', open_only=False).rows
    return [(r.work_center_code, r.order_number, r.balance) for r in rows]


def _set_user(db: Database, username: str, **values: object) -> None:
    """Change a user row behind every cache's back, as another instance or an old import would."""
    with db.engine.begin() as conn:
        conn.execute(update(UserRow).where(UserRow.username == username).values(**values))


# --- Sessions -------------------------------------------------------------------------------------------


def test_changing_your_password_signs_out_your_other_browsers_but_not_this_one(db: Database, make_user) -> None:
    make_user('anita')
    here = sign_in('anita', TEST_PASSWORD, source='kiosk-1').token
    elsewhere = sign_in('anita', TEST_PASSWORD, source='kiosk-2').token
    change_password(validate_session(here).actor, current=TEST_PASSWORD, new='Fresh-Start-77', repeat='Fresh-Start-77')
    with pytest.raises(SignedOut, match=SIGNED_OUT):
        validate_session(elsewhere)
    still = validate_session(here)
    assert still.user.username == 'anita' and not still.must_change_password
    assert [w.code for w in list_work_centers(still.actor)] == ['WC001', 'WC002', 'WC003', 'WC004']


def test_a_session_presented_with_another_users_id_is_refused(db: Database, make_user, wc) -> None:
    make_user('anita')
    bob = make_user('bob')
    anitas_session = token_digest(sign_in('anita', TEST_PASSWORD, source='kiosk-1').token)
    forged = Actor(user_id=bob.user_id, session_id=anitas_session)
    with pytest.raises(SignedOut, match=SIGNED_OUT):
        list_work_centers(forged)
    with pytest.raises(SignedOut, match=SIGNED_OUT):
        _record(forged, wc('WC001'))
    assert check_consistency(db).movements == 0
    assert [w.code for w in list_work_centers(Actor(bob.user_id))] == ['WC001', 'WC002', 'WC003', 'WC004']


# --- A deactivated user, by API token or from the command line -------------------------------------------


def remote_client() -> httpx.AsyncClient:
    """A client on another machine: /metrics then trusts the token alone, no service checks the user after it."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, client=('10.1.2.3', 4567)), base_url='http://test')


async def test_a_deactivated_admins_token_no_longer_reads_metrics(user: User, db: Database, admin, make_user) -> None:
    """Refused at once, even when the deactivation comes from another instance whose notice has not arrived:
    nothing after the token check looks at the user again, so that check must not trust its cache."""
    boss = make_user('boss', 'Management', is_admin=True)
    token = issue_token(admin, user_id=boss.user_id, name='prometheus').token
    async with remote_client() as client:
        assert (await client.get('/metrics', headers=bearer(token))).status_code == 200
        _set_user(db, 'boss', is_active=False)
        refused = await client.get('/metrics', headers=bearer(token))
    assert (refused.status_code, refused.text) == (401, 'metrics: loopback address or an admin API token only\n')
    with pytest.raises(SignedOut, match=SIGNED_OUT):
        authenticate(token, cached=False)


async def test_a_token_still_vouched_for_by_the_cache_cannot_book_for_a_deactivated_user(
    user: User, db: Database, admin, make_user, wc
) -> None:
    """The token check is cached for seconds; the ledger's own check of the user is what refuses then."""
    anita = make_user('anita')
    client = api(user, issue_token(admin, user_id=anita.user_id, name='scanner').token)
    movement = {'order_number': 'PO-API-1', 'work_center': 'WC001', 'quantity': 12, 'type': 'IN'}
    assert (await client.post('/api/v1/movements', json=movement)).status_code == 201
    _set_user(db, 'anita', is_active=False)  # the token's cache entry is still fresh
    refused = await client.post('/api/v1/movements', json=movement)
    assert error_of(refused) == (401, 'unauthorized', SIGNED_OUT)
    assert _balances(admin, 'PO-API-1') == [('WC001', 'PO-API-1', 12)]


def test_the_ledger_refuses_a_deactivated_user_acting_without_a_session(db: Database, make_user, wc) -> None:
    """API tokens and the command line act with no browser session: only the user's own flag can stop them."""
    anita = make_user('anita')
    _record(anita, wc('WC001'), quantity=5)
    _set_user(db, 'anita', is_active=False)
    with pytest.raises(SignedOut, match=SIGNED_OUT):
        _record(anita, wc('WC001'), quantity=7)
    assert check_consistency(db).movements == 1


@pytest.fixture
def potrack(db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    """Run `potrack ARGS…` in this process against the test's database; gives (exit status, stdout, stderr)."""
    monkeypatch.setenv('DATABASE_URL', db.url)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
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


def test_the_command_line_does_not_export_as_a_deactivated_user(
    potrack: Run, db: Database, admin, make_user, tmp_path: Path
) -> None:
    anita = make_user('anita')
    assert potrack('export', '--user', 'anita', '--out', str(tmp_path / 'ok.xlsx'))[0] == 0
    set_user_active(admin, user_id=anita.user_id, active=False)
    out = tmp_path / 'refused.xlsx'
    assert potrack('export', '--user', 'anita', '--out', str(out)) == (
        1,
        '',
        'potrack: There is no active user "anita".\n',
    )
    assert not out.exists()


# --- Undo ----------------------------------------------------------------------------------------------


def test_no_undo_from_a_deactivated_department(db: Database, admin, make_user, wc) -> None:
    anita = make_user('anita')
    entry = _record(anita, wc('WC001'), quantity=5)
    set_department_active(admin, department_id=dept_id(db, 'Production'), active=False)
    with pytest.raises(NotFound, match=f'There is no movement #{entry.movement_id} that you can see.'):
        reverse_movement(anita, movement_id=entry.movement_id, reason=UNDO_REASON)
    assert _balances(admin, 'PO-1') == [('WC001', 'PO-1', 5)]


def test_no_undo_for_an_operator_without_a_department(db: Database, admin, make_user, wc) -> None:
    anita = make_user('anita')
    entry = _record(anita, wc('WC001'), quantity=5)
    _set_user(db, 'anita', department_id=None)  # as an imported user row may be: an operator with no department
    with pytest.raises(NotFound, match=f'There is no movement #{entry.movement_id} that you can see.'):
        reverse_movement(anita, movement_id=entry.movement_id, reason=UNDO_REASON)
    assert _balances(admin, 'PO-1') == [('WC001', 'PO-1', 5)]


def test_undo_works_again_once_the_department_is_reactivated(db: Database, admin, make_user, wc) -> None:
    """The other side of the two refusals above: they refuse the department's state, not the operator."""
    anita = make_user('anita')
    entry = _record(anita, wc('WC001'), quantity=5)
    production = dept_id(db, 'Production')
    set_department_active(admin, department_id=production, active=False)
    set_department_active(admin, department_id=production, active=True)
    assert reverse_movement(anita, movement_id=entry.movement_id, reason=UNDO_REASON).balance == 0
    assert _balances(admin, 'PO-1') == [('WC001', 'PO-1', 0)]


# --- Input at its limits ----------------------------------------------------------------------------------


def test_a_request_id_of_the_longest_allowed_length_is_kept_and_one_longer_refused(db: Database, admin, wc) -> None:
    assert REQUEST_ID_MAX_LEN == 64
    longest = 'k' * 63 + 'Z'
    result = _record(admin, wc('WC001'), request_id=f' {longest}\n')
    assert (result.request_id, result.already_recorded) == (longest, False)
    assert _record(admin, wc('WC001'), request_id=longest).already_recorded  # the same key: booked once
    with pytest.raises(InvalidInput) as err:
        _record(admin, wc('WC001'), request_id=longest + 'x')
    assert (err.value.message, err.value.field) == (
        'A request id has 1 to 64 letters, digits or - _ . : characters.',
        'request_id',
    )
    assert _balances(admin, 'PO-1') == [('WC001', 'PO-1', 5)]


def test_the_longest_order_number_is_booked_and_one_longer_refused(db: Database, admin, wc) -> None:
    assert ORDER_NUMBER_MAX_LEN == 40
    longest = 'PO-' + '7' * 37
    assert _record(admin, wc('WC001'), order=f'\t{longest.lower()}\r\n').order_number == longest
    assert _record(admin, wc('WC001'), order='ß' * 20).order_number == 'SS' * 20  # 40 once upper-cased
    for typed, length in ((longest + '8', 41), ('ß' * 21, 42)):
        with pytest.raises(InvalidInput) as err:
            _record(admin, wc('WC001'), order=typed)
        assert (err.value.message, err.value.field) == (
            f'An order number has at most 40 characters; this one has {length}.',
            'order_number',
        )
    assert check_consistency(db).movements == 2


@pytest.mark.parametrize('typed', [QUANTITY_MAX, '1,000,000', ' 1000000\r\n', 1_000_000.0])
def test_the_largest_quantity_is_booked(db: Database, admin, wc, typed: object) -> None:
    assert QUANTITY_MAX == 1_000_000
    assert _record(admin, wc('WC001'), quantity=typed).balance == 1_000_000
    assert _record(admin, wc('WC001'), quantity=1_000_000, kind='OUT').balance == 0


@pytest.mark.parametrize('typed', [QUANTITY_MAX + 1, '1,000,001', '1000001'])
def test_one_more_than_the_largest_quantity_is_refused(db: Database, admin, wc, typed: object) -> None:
    with pytest.raises(InvalidInput) as err:
        _record(admin, wc('WC001'), quantity=typed)
    assert (err.value.message, err.value.field) == (
        'At most 1,000,000 pieces can be recorded at once; 1,000,001 was entered.',
        'quantity',
    )
    assert check_consistency(db).movements == 0


# --- Reasons ---------------------------------------------------------------------------------------------


def _shown_reasons(admin: Actor, order: str) -> tuple[str | None, list[object]]:
    """A reversal's reason where an admin reads it: the movement search, and the audit trail's event."""
    rows = search_movements(admin, MovementFilter(order=order, match='exact')).rows
    reason = next(r.reason for r in rows if r.reverses_id is not None)
    event = list_events(admin, AuditFilter(action='movement.reverse')).rows[0]
    return reason, event.changes


def test_control_characters_never_reach_a_stored_reason(db: Database, admin, wc) -> None:
    """A reason pasted into the corrections dialog with a terminal colour code, a NUL, a tab and a line end."""
    entry = _record(admin, wc('WC002'), order='PO-3', quantity=30)
    correct_movement(admin, movement_id=entry.movement_id, reason='\x1b[31mscanned\x00the\twrong\x7forder\r\n')
    reason, changes = _shown_reasons(admin, 'PO-3')
    assert reason == '[31mscanned the wrong order'
    assert 'reason: [31mscanned the wrong order' in changes


def test_a_reason_of_control_characters_only_is_no_reason(db: Database, admin, wc) -> None:
    entry = _record(admin, wc('WC002'), order='PO-3', quantity=30)
    with pytest.raises(InvalidInput) as err:
        reverse_movement(admin, movement_id=entry.movement_id, reason='\x00\x1b\x7f\x85')
    assert (err.value.message, err.value.field) == ('A reason is required.', 'reason')
    assert _balances(admin, 'PO-3') == [('WC002', 'PO-3', 30)]


def test_the_longest_reason_is_kept_and_one_longer_refused(db: Database, admin, wc) -> None:
    assert REASON_MAX_LEN == 200
    first = _record(admin, wc('WC002'), order='PO-3', quantity=30)
    with pytest.raises(InvalidInput) as err:
        reverse_movement(admin, movement_id=first.movement_id, reason='r' * 201)
    assert (err.value.message, err.value.field) == ('A reason has at most 200 characters; this has 201.', 'reason')
    reverse_movement(admin, movement_id=first.movement_id, reason='r' * 200)
    assert _shown_reasons(admin, 'PO-3')[0] == 'r' * 200
