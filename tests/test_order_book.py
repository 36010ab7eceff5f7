"""The order book as the floor and the office meet it: unknown orders under each policy, closed orders,
admins' changes (audited), the orders list with its progress, and an existing ledger upgraded into a book."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import func, text
from sqlmodel import select

from potrack.common import site_settings
from potrack.common.actors import Actor
from potrack.config import load_settings, reset_settings
from potrack.db import Database
from potrack.db.migrate import alembic_config
from potrack.db.models import AuditEvent, OrderBalance, OrderHeader, ProductionOrder
from potrack.errors import Conflict, InvalidInput, NotAllowed, OrderNotOpen, UnknownOrder
from potrack.ledger.integrity import check_consistency
from potrack.ledger.writer import record_movement
from potrack.ops.upgrade import upgrade
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from potrack.orders.listing import OrderFilter, get_order, list_orders, look_up


def _policy(db: Database, admin: Actor, policy: str) -> None:
    book.set_unknown_order_policy(admin, policy, db=db)


def _record(op: Actor, wc_id: int, order: str, qty: int = 5, kind: str = 'IN', **kw: object):
    return record_movement(op, work_center_id=wc_id, order_number=order, quantity=qty, movement_type=kind, **kw)


def _counts(db: Database) -> tuple[int, int, int]:
    with db.read() as s:
        return (
            s.exec(select(func.count()).select_from(ProductionOrder)).one(),
            s.exec(select(func.count()).select_from(OrderBalance)).one(),
            s.exec(select(func.count()).select_from(OrderHeader)).one(),
        )


def _audits(db: Database, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_a_new_install_asks_before_starting_an_unknown_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('POTRACK_UNKNOWN_ORDERS', raising=False)
    assert load_settings().unknown_orders == 'confirm'
    with pytest.raises(Exception, match='POTRACK_UNKNOWN_ORDERS must be refuse, confirm or allow'):
        load_settings({'POTRACK_UNKNOWN_ORDERS': 'maybe'})


def test_with_no_policy_chosen_the_configured_default_holds(db: Database, make_user, wc, monkeypatch) -> None:
    monkeypatch.setenv('POTRACK_UNKNOWN_ORDERS', 'confirm')
    reset_settings()
    try:
        assert site_settings.read(site_settings.UNKNOWN_ORDERS, db=db) == 'confirm'
        with pytest.raises(UnknownOrder) as err:
            _record(make_user('anita'), wc('WC001'), 'PO-2026-00010425')
        assert err.value.can_start
    finally:
        monkeypatch.setenv('POTRACK_UNKNOWN_ORDERS', 'allow')
        reset_settings()


def test_refuse_records_nothing_and_says_why(db: Database, admin: Actor, make_user, wc) -> None:
    _policy(db, admin, 'refuse')
    before = _counts(db)
    with pytest.raises(UnknownOrder) as err:
        _record(make_user('anita'), wc('WC001'), 'po-2026-00010425', start_order=True)
    assert err.value.message == (
        'PO-2026-00010425 is not in the order book — check the number or ask the office. Nothing was recorded.'
    )
    assert not err.value.can_start
    assert _counts(db) == before


def test_confirm_needs_one_more_tap_and_the_audit_shows_who(db: Database, admin: Actor, make_user, wc) -> None:
    _policy(db, admin, 'confirm')
    op = make_user('anita')
    with pytest.raises(UnknownOrder, match=r'PO-7 is not in the order book\. Start it here\?') as err:
        _record(op, wc('WC001'), 'PO-7', request_id='e-1')
    assert err.value.can_start and _counts(db)[0] == 0
    result = _record(op, wc('WC001'), 'PO-7', request_id='e-1', start_order=True)
    assert (result.order_number, result.balance) == ('PO-7', 5)
    with db.read() as s:
        header = s.exec(select(OrderHeader).where(OrderHeader.order_number == 'PO-7')).one()
    assert (header.status, header.source, header.created_by_id, header.planned_quantity) == (
        'open',
        'kiosk',
        op.user_id,
        None,
    )
    [event] = [e for e in _audits(db, 'order.create') if e.entity_id == 'PO-7']
    assert event.actor_id == op.user_id and json.loads(event.after or '{}')['policy'] == 'confirm'
    # Once in the book, the next entry needs no confirmation.
    assert _record(op, wc('WC001'), 'PO-7').balance == 10
    assert check_consistency(db).consistent


def test_allow_starts_the_order_quietly_with_its_source(db: Database, admin: Actor, make_user, wc) -> None:
    _policy(db, admin, 'allow')
    _record(make_user('anita'), wc('WC001'), 'PO-8', source='api')
    assert get_order(admin, 'PO-8', db=db).source == 'api'
    assert check_consistency(db).consistent


def test_orders_in_the_book_pass_under_refuse(db: Database, admin: Actor, make_user, wc) -> None:
    _policy(db, admin, 'refuse')
    book.add_order(admin, parse_order_fields(order_number='PO-2026-000104', planned_quantity='40'), db=db)
    assert _record(make_user('anita'), wc('WC001'), ' po-2026-000104\r\n', 25).balance == 25


def test_a_closed_order_takes_nothing_until_reopened(db: Database, admin: Actor, make_user, wc) -> None:
    op = make_user('anita')
    book.add_order(admin, parse_order_fields(order_number='PO-9', planned_quantity=10), db=db)
    saved = _record(op, wc('WC001'), 'PO-9', request_id='k-1')
    book.set_status(admin, 'PO-9', 'closed', 'all 10 shipped', db=db)
    with pytest.raises(OrderNotOpen, match='PO-9 is closed: it takes no new movements, nothing was recorded'):
        _record(op, wc('WC001'), 'PO-9')
    # The same entry sent again (a retry after a lost answer) is the saved one, not a refusal.
    assert _record(op, wc('WC001'), 'PO-9', request_id='k-1').movement_id == saved.movement_id
    with pytest.raises(Conflict, match='PO-9 is already closed'):
        book.set_status(admin, 'PO-9', 'closed', 'again', db=db)
    book.set_status(admin, 'PO-9', 'open', 'one more batch came back', db=db)
    assert _record(op, wc('WC001'), 'PO-9').balance == 10
    reasons = [json.loads(e.after or '{}')['reason'] for e in _audits(db, 'order.reopen')]
    assert reasons == ['one more batch came back']


def test_only_admins_change_the_book_and_the_policy(db: Database, admin: Actor, make_user) -> None:
    op = make_user('anita')
    with pytest.raises(NotAllowed):
        book.add_order(op, parse_order_fields(order_number='PO-1'), db=db)
    with pytest.raises(NotAllowed):
        book.set_unknown_order_policy(op, 'allow', db=db)
    with pytest.raises(InvalidInput, match='choose one of refuse, confirm, allow'):
        book.set_unknown_order_policy(admin, 'sometimes', db=db)


def test_a_policy_change_is_audited(db: Database, admin: Actor) -> None:
    _policy(db, admin, 'refuse')
    _policy(db, admin, 'refuse')  # no change: no second event
    [event] = _audits(db, 'setting.change')
    assert (event.actor_id, json.loads(event.after or '{}')) == (admin.user_id, {'value': 'refuse'})


def test_an_edit_changes_only_what_was_given_and_is_audited(db: Database, admin: Actor) -> None:
    book.add_order(admin, parse_order_fields(order_number='PO-3', product_code='BRK-220', planned_quantity=50), db=db)
    book.edit_order(admin, parse_order_fields(order_number='PO-3', planned_quantity='60', due_date='31.12.2026'), db=db)
    row = get_order(admin, 'PO-3', db=db)
    assert (row.product_code, row.planned_quantity, row.due_date) == ('BRK-220', 60, date(2026, 12, 31))
    [event] = _audits(db, 'order.update')
    assert json.loads(event.before or '{}') == {'due_date': None, 'planned_quantity': 50}


def test_the_list_searches_pages_and_shows_progress(db: Database, admin: Actor, make_user, wc) -> None:
    for n in range(1, 8):
        fields = parse_order_fields(
            order_number=f'PO-2026-{n:04d}',
            product_code='SHF-118' if n % 2 else 'BRK-220',
            product_description='Drive shaft' if n % 2 else 'Brake bracket',
            planned_quantity=100,
            due_date=date(2026, 12, n),
            route='WC001>WC002',
        )
        book.add_order(admin, fields, db=db)
    op = make_user('anita')
    _record(op, wc('WC001'), 'PO-2026-0001', 100)
    _record(op, wc('WC001'), 'PO-2026-0001', 60, 'OUT')
    _record(op, wc('WC002'), 'PO-2026-0001', 60)
    _record(op, wc('WC002'), 'PO-2026-0001', 45, 'OUT')
    page = list_orders(admin, OrderFilter(text='po-2026-000'), offset=0, limit=5, db=db)
    assert (page.total, [r.order_number for r in page.rows]) == (7, [f'PO-2026-{n:04d}' for n in range(1, 6)])
    first = page.rows[0].progress
    assert (first.started, first.wip, first.finished, first.percent(100)) == (100, 55, 45, 45.0)
    assert list_orders(admin, OrderFilter(text='brake', match='contains'), db=db).total == 3
    assert list_orders(admin, OrderFilter(text='brake'), db=db).total == 0  # a prefix of number or product code
    assert list_orders(admin, OrderFilter(text='BRK'), db=db).total == 3
    assert list_orders(admin, OrderFilter(text='%'), db=db).total == 0  # LIKE wildcards are plain characters
    book.set_status(admin, 'PO-2026-0007', 'cancelled', 'customer cancelled', db=db)
    assert list_orders(admin, OrderFilter(status='open'), db=db).total == 6


def test_late_orders_are_open_past_due_and_not_done(db: Database, admin: Actor, make_user, wc) -> None:
    past = date.today() - timedelta(days=3)
    for number in ('PO-L', 'PO-DONE'):
        book.add_order(admin, parse_order_fields(order_number=number, planned_quantity=5, due_date=past), db=db)
    book.add_order(admin, parse_order_fields(order_number='PO-F', due_date=date.today() + timedelta(days=3)), db=db)
    op = make_user('anita')
    _record(op, wc('WC001'), 'PO-DONE', 5)
    _record(op, wc('WC001'), 'PO-DONE', 5, 'OUT')  # every planned piece sent on, none left: done, not late
    _record(op, wc('WC001'), 'PO-L', 5)  # all there, none sent on yet: late
    rows = {r.order_number: r.late for r in list_orders(admin, OrderFilter(), db=db).rows}
    assert rows == {'PO-L': True, 'PO-DONE': False, 'PO-F': False}
    assert [r.order_number for r in list_orders(admin, OrderFilter(late_only=True), db=db).rows] == ['PO-L']


def test_the_kiosk_look_up_says_what_the_policy_will_do(db: Database, admin: Actor, make_user, wc) -> None:
    op = make_user('anita')
    _policy(db, admin, 'refuse')
    unknown = look_up(op, 'po-404', db=db)
    assert (unknown.order, unknown.message) == (
        None,
        'PO-404 is not in the order book — check the number or ask the office.',
    )
    book.add_order(admin, parse_order_fields(order_number='PO-5', product_code='FLG-075', planned_quantity=30), db=db)
    _record(op, wc('WC002'), 'PO-5', 12)
    known = look_up(op, 'PO-5', db=db)
    assert known.order is not None and known.message == ''
    assert (known.order.product_code, known.order.planned_quantity) == ('FLG-075', 30)
    assert [(s.code, s.held) for s in known.order.progress.steps] == [('WC002', 12)]


@pytest.mark.postgres
def test_sixteen_kiosks_starting_one_new_order_make_one_order(pg_db: Database, admin: Actor, make_user, wc) -> None:
    _policy(pg_db, admin, 'confirm')
    op, wc_id = make_user('anita'), wc('WC001')
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def kiosk(i: int) -> None:
        barrier.wait()
        try:
            _record(op, wc_id, 'PO-RACE', 1, request_id=f'race-{i}', start_order=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _counts(pg_db) == (16, 1, 1)
    assert len([e for e in _audits(pg_db, 'order.create') if e.entity_id == 'PO-RACE']) == 1


def test_an_existing_ledger_upgrades_into_a_book_and_checks_green(empty_target: Database) -> None:
    cfg = alembic_config()
    with empty_target.engine.begin() as conn:
        cfg.attributes['connection'] = conn
        command.upgrade(cfg, '0004')
    at = datetime(2026, 11, 1, 8, tzinfo=UTC)
    with empty_target.engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO "user" (username, full_name, password_hash, is_admin, is_active, must_change_password, '
                "failed_signins, created_at) VALUES ('u', '', 'x', true, true, false, 0, :t)"
            ),
            {'t': at},
        )
        conn.execute(
            text(
                'INSERT INTO work_center (code, name, description, is_active, created_at) '
                "VALUES ('WC001', 'A', '', true, :t)"
            ),
            {'t': at},
        )
        for i, order in enumerate(['PO-1', 'PO-1', 'PO-2']):
            conn.execute(
                text(
                    'INSERT INTO production_order (order_number, work_center_id, quantity, movement_type, user_id, '
                    'created_at, request_id) SELECT :o, w.id, 3, \'IN\', u.id, :t, :r FROM work_center w, "user" u'
                ),
                {'o': order, 't': at, 'r': f'r{i}'},
            )
        conn.execute(
            text(
                'INSERT INTO order_balance (work_center_id, order_number, qty_in, qty_out, last_movement_at) '
                'SELECT work_center_id, order_number, SUM(quantity), 0, MAX(created_at) FROM production_order '
                'GROUP BY work_center_id, order_number'
            )
        )
    upgrade(empty_target)
    with empty_target.read() as s:
        rows = {(h.order_number, h.status, h.source, h.planned_quantity) for h in s.exec(select(OrderHeader)).all()}
    assert rows == {('PO-1', 'open', 'history', None), ('PO-2', 'open', 'history', None)}
    assert check_consistency(empty_target).consistent


def test_the_check_finds_a_movement_whose_order_is_not_in_the_book(db: Database, make_user, wc) -> None:
    _record(make_user('anita'), wc('WC001'), 'PO-GONE')
    with db.engine.begin() as conn:  # what an older potrack, still running in a rolling upgrade, leaves
        conn.execute(text("DELETE FROM order_header WHERE order_number = 'PO-GONE'"))
    report = check_consistency(db)
    assert [m.describe() for m in report.mismatches] == ['order PO-GONE: has movements but is not in the order book']
    upgrade(db)  # the next start puts it back, from history
    assert check_consistency(db).consistent
