"""The ledger's write path as an operator and an admin experience it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import (
    ACTIVITY_STEP,
    Department,
    OrderActivity,
    OrderBalance,
    ProductionOrder,
    User,
    WorkCenter,
)
from potrack.errors import Conflict, InsufficientBalance, InvalidInput, NotAllowed, NotFound, SignedOut
from potrack.ledger import writer
from potrack.ledger.balances import order_balances
from potrack.ledger.integrity import check_consistency
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.writer import record_movement
from potrack.ops.upgrade import upgrade
from tests.test_admin_services import heard


def test_in_then_out_updates_the_balance(db: Database, make_user, wc) -> None:
    op = make_user('anita')
    first = record_movement(
        op, work_center_id=wc('WC002'), order_number=' po-2026-0012\r\n', quantity='40', movement_type='in'
    )
    assert (first.order_number, first.movement_type, first.balance) == ('PO-2026-0012', 'IN', 40)
    out = record_movement(op, work_center_id=wc('WC002'), order_number='PO-2026-0012', quantity=15, movement_type='OUT')
    assert (out.qty_in, out.qty_out, out.balance) == (40, 15, 25)
    assert check_consistency(db).consistent


def test_out_above_the_balance_is_refused_with_the_numbers(db: Database, make_user, wc) -> None:
    op = make_user('anita')
    record_movement(op, work_center_id=wc('WC002'), order_number='PO-2026-0012', quantity=40, movement_type='IN')
    with pytest.raises(InsufficientBalance) as err:
        record_movement(op, work_center_id=wc('WC002'), order_number='PO-2026-0012', quantity=50, movement_type='OUT')
    assert err.value.message == 'Only 40 pieces of PO-2026-0012 are at WC002; you tried to send 50.'
    assert (err.value.available, err.value.requested) == (40, 50)
    assert check_consistency(db).movements == 1


def test_out_of_an_unknown_order_says_none_are_there(db: Database, make_user, wc) -> None:
    op = make_user('anita')
    with pytest.raises(InsufficientBalance, match='Only 0 pieces of PO-9 are at WC001; you tried to send 1.'):
        record_movement(op, work_center_id=wc('WC001'), order_number='PO-9', quantity=1, movement_type='OUT')


@pytest.mark.parametrize(
    ('order', 'quantity', 'kind', 'message'),
    [
        ('', 5, 'IN', 'Enter an order number.'),
        ('   ', 5, 'IN', 'Enter an order number.'),
        ('PO 12', 5, 'IN', 'no spaces'),
        ('X' * 41, 5, 'IN', 'at most 40 characters; this one has 41'),
        ('PO-1', 0, 'IN', 'at least 1; 0 was entered'),
        ('PO-1', -3, 'IN', 'at least 1; -3 was entered'),
        ('PO-1', '2.5', 'IN', 'whole number of pieces'),
        ('PO-1', 2.5, 'IN', 'whole number of pieces'),
        ('PO-1', 10**9, 'IN', 'At most 1,000,000 pieces'),
        ('PO-1', '', 'IN', 'Enter the number of pieces.'),
        ('PO-1', True, 'IN', 'Enter the number of pieces.'),
        ('PO-1', 5, 'SIDEWAYS', 'Choose IN or OUT.'),
    ],
)
def test_bad_input_is_refused_and_nothing_written(db: Database, make_user, wc, order, quantity, kind, message) -> None:
    op = make_user('anita')
    with pytest.raises(InvalidInput, match=message):
        record_movement(op, work_center_id=wc('WC001'), order_number=order, quantity=quantity, movement_type=kind)
    assert check_consistency(db).movements == 0


def test_full_width_scanner_input_is_normalized(db: Database, make_user, wc) -> None:
    op = make_user('anita')
    result = record_movement(
        op, work_center_id=wc('WC001'), order_number='\tｐｏ－１２\n', quantity='１２', movement_type='IN'
    )
    assert (result.order_number, result.quantity) == ('PO-12', 12)


def balance_rows(actor: Actor, order: str) -> list[tuple[str, int]]:
    """The balance grid's rows of one order that `actor` sees, as (work center, balance), by work center."""
    rows = order_balances(actor, order=order, match='exact', open_only=False, sort='work_center', descending=False)
    return [(r.work_center_code, r.balance) for r in rows.rows]


def test_operator_cannot_record_at_another_departments_work_center(db: Database, admin: Actor, make_user, wc) -> None:
    qc = make_user('quinn', 'Quality Control')
    with pytest.raises(NotAllowed, match="WC001 Assembly is not one of your department's work centers"):
        record_movement(qc, work_center_id=wc('WC001'), order_number='PO-1', quantity=1, movement_type='IN')
    own = record_movement(qc, work_center_id=wc('WC005'), order_number='PO-1', quantity=1, movement_type='IN')
    assert (own.work_center_code, own.order_number, own.balance, own.already_recorded) == ('WC005', 'PO-1', 1, False)
    assert balance_rows(admin, 'PO-1') == [('WC005', 1)]  # the refused entry left nothing at WC001


def test_admin_records_anywhere(db: Database, admin: Actor, wc) -> None:
    for code in ('WC001', 'WC005'):
        result = record_movement(admin, work_center_id=wc(code), order_number='PO-1', quantity=3, movement_type='IN')
        assert (result.work_center_code, result.balance) == (code, 3)
    assert balance_rows(admin, 'PO-1') == [('WC001', 3), ('WC005', 3)]


def test_inactive_work_center_and_unknown_one_are_refused(db: Database, admin: Actor, wc) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(WorkCenter).where(WorkCenter.code == 'WC003').values(is_active=False))
    with pytest.raises(NotAllowed, match='WC003 Welding is deactivated'):
        record_movement(admin, work_center_id=wc('WC003'), order_number='PO-1', quantity=1, movement_type='IN')
    with pytest.raises(NotFound, match='That work center does not exist.'):
        record_movement(admin, work_center_id=9999, order_number='PO-1', quantity=1, movement_type='IN')


def test_inactive_user_or_department_is_refused(db: Database, make_user, wc) -> None:
    op = make_user('anita')
    with db.engine.begin() as conn:
        conn.execute(update(Department).where(Department.name == 'Production').values(is_active=False))
    with pytest.raises(NotAllowed):
        record_movement(op, work_center_id=wc('WC001'), order_number='PO-1', quantity=1, movement_type='IN')
    with db.engine.begin() as conn:
        conn.execute(update(User).where(User.username == 'anita').values(is_active=False))
    with pytest.raises(SignedOut, match='sign in again'):
        record_movement(op, work_center_id=wc('WC001'), order_number='PO-1', quantity=1, movement_type='IN')


def test_replaying_a_request_five_times_records_once(db: Database, make_user, wc) -> None:
    op = make_user('anita')
    results = [
        record_movement(
            op,
            work_center_id=wc('WC001'),
            order_number='PO-7',
            quantity=5,
            movement_type='IN',
            request_id='kiosk-1-abc',
        )
        for _ in range(5)
    ]
    assert [r.already_recorded for r in results] == [False, True, True, True, True]
    assert len({r.movement_id for r in results}) == 1
    assert results[-1].balance == 5
    assert check_consistency(db).movements == 1


def test_replayed_out_is_not_refused_for_the_balance_it_already_took(db: Database, make_user, wc) -> None:
    op = make_user('anita')
    record_movement(op, work_center_id=wc('WC001'), order_number='PO-7', quantity=5, movement_type='IN')
    kwargs = dict(work_center_id=wc('WC001'), order_number='PO-7', quantity=5, movement_type='OUT', request_id='r-2')
    record_movement(op, **kwargs)
    again = record_movement(op, **kwargs)
    assert again.already_recorded and again.balance == 0


def test_reusing_a_request_id_for_other_content_is_refused(db: Database, make_user, wc) -> None:
    op = make_user('anita')
    record_movement(
        op, work_center_id=wc('WC001'), order_number='PO-7', quantity=5, movement_type='IN', request_id='same-id'
    )
    with pytest.raises(Conflict, match='already used for a different movement'):
        record_movement(
            op, work_center_id=wc('WC001'), order_number='PO-7', quantity=6, movement_type='IN', request_id='same-id'
        )
    with pytest.raises(InvalidInput, match='request id'):
        record_movement(
            op,
            work_center_id=wc('WC001'),
            order_number='PO-7',
            quantity=6,
            movement_type='IN',
            request_id='bad id with spaces',
        )


def test_admin_reverses_a_movement_with_a_reason(db: Database, admin: Actor, wc) -> None:
    m = record_movement(admin, work_center_id=wc('WC002'), order_number='PO-3', quantity=30, movement_type='IN')
    with pytest.raises(InvalidInput, match='A reason is required.'):
        reverse_movement(admin, movement_id=m.movement_id, reason='  ')
    rev = reverse_movement(admin, movement_id=m.movement_id, reason='wrong order scanned')
    assert (rev.quantity, rev.reverses_id, rev.balance) == (-30, m.movement_id, 0)
    with pytest.raises(Conflict, match='already reversed'):
        reverse_movement(admin, movement_id=m.movement_id, reason='again')
    with pytest.raises(Conflict, match='itself a correction'):
        reverse_movement(admin, movement_id=rev.movement_id, reason='undo the undo')
    with pytest.raises(NotFound):
        reverse_movement(admin, movement_id=123456, reason='x')
    assert check_consistency(db).consistent


def test_reversing_an_in_whose_pieces_moved_on_is_refused_with_numbers(db: Database, admin: Actor, wc) -> None:
    m = record_movement(admin, work_center_id=wc('WC002'), order_number='PO-3', quantity=30, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-3', quantity=25, movement_type='OUT')
    with pytest.raises(InsufficientBalance, match=r'only 5 are still there \(25 have been sent on\)'):
        reverse_movement(admin, movement_id=m.movement_id, reason='typo')


def test_operator_undoes_only_own_latest_entry_within_the_window(db: Database, make_user, wc) -> None:
    anita, bob = make_user('anita'), make_user('bob')
    first = record_movement(anita, work_center_id=wc('WC001'), order_number='PO-5', quantity=8, movement_type='IN')
    second = record_movement(anita, work_center_id=wc('WC001'), order_number='PO-5', quantity=2, movement_type='IN')
    with pytest.raises(NotAllowed, match='only undo your own'):
        reverse_movement(bob, movement_id=second.movement_id, reason='undone at kiosk')
    with pytest.raises(NotAllowed, match='Only your latest entry'):
        reverse_movement(anita, movement_id=first.movement_id, reason='undone at kiosk')
    assert reverse_movement(anita, movement_id=second.movement_id, reason='undone at kiosk').balance == 8
    with db.engine.begin() as conn:
        conn.execute(
            update(ProductionOrder)
            .where(ProductionOrder.id == first.movement_id)
            .values(created_at=first.created_at - timedelta(minutes=3))
        )
    with pytest.raises(NotAllowed, match='Undo is possible for 2 minutes'):
        reverse_movement(anita, movement_id=first.movement_id, reason='undone at kiosk')


def test_operator_cannot_reverse_at_another_departments_work_center(db: Database, admin, make_user, wc) -> None:
    m = record_movement(admin, work_center_id=wc('WC005'), order_number='PO-5', quantity=8, movement_type='IN')
    with pytest.raises(NotFound):
        reverse_movement(make_user('anita'), movement_id=m.movement_id, reason='x')


def test_reversal_is_audited(db: Database, admin: Actor, wc) -> None:
    m = record_movement(admin, work_center_id=wc('WC002'), order_number='PO-3', quantity=30, movement_type='IN')
    reverse_movement(admin, movement_id=m.movement_id, reason='wrong order')
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT entity_id, after FROM audit_event WHERE action = 'movement.reverse'")).one()
    assert row[0] == str(m.movement_id) and 'wrong order' in row[1]


def test_a_reversal_also_announces_a_correction_after_commit(db: Database, admin: Actor, wc) -> None:
    with heard(db) as changes:
        m = record_movement(admin, work_center_id=wc('WC002'), order_number='PO-3', quantity=30, movement_type='IN')
    assert [c.kind for c in changes] == ['movement']  # a plain movement leaves the admin tables alone
    with heard(db) as changes:
        reverse_movement(admin, movement_id=m.movement_id, reason='wrong order', request_id='rev-1')
    assert sorted((c.kind, c.order_number) for c in changes) == [('corrections', ''), ('movement', 'PO-3')]
    with heard(db) as changes:  # a replay writes nothing, so announces nothing
        reverse_movement(admin, movement_id=m.movement_id, reason='wrong order', request_id='rev-1')
    assert changes == []
    with heard(db) as changes, pytest.raises(Conflict):  # refused: rolled back, nothing announced
        reverse_movement(admin, movement_id=m.movement_id, reason='again')
    assert changes == []


def test_check_constraint_refuses_a_negative_balance(db: Database, admin: Actor, wc) -> None:
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=3, movement_type='IN')
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("UPDATE order_balance SET qty_out = qty_in + 1 WHERE order_number = 'PO-1'"))
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("UPDATE order_balance SET qty_out = -1, qty_in = 0 WHERE order_number = 'PO-1'"))


def test_check_reports_a_tampered_balance(db: Database, admin: Actor, wc) -> None:
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=3, movement_type='IN')
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE order_balance SET qty_in = 4 WHERE order_number = 'PO-1'"))
    report = check_consistency(db)
    assert not report.consistent
    assert 'order PO-1: balance IN 4 OUT 0, movements IN 3 OUT 0' in report.mismatches[0].describe()


def test_each_orders_newest_time_is_kept_within_a_step_for_searches(
    db: Database, admin: Actor, wc, monkeypatch: pytest.MonkeyPatch
) -> None:
    # order_activity: the time of an order's newest movement, moved on only when a step behind (no row
    # lock per movement); searches add the step. A replay changes nothing; `potrack check` watches it.
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    later = start + ACTIVITY_STEP / 2
    much_later = start + ACTIVITY_STEP * 3
    clock = iter([start, later, much_later, much_later + ACTIVITY_STEP * 2])
    monkeypatch.setattr(writer, 'utcnow', lambda: next(clock))

    def record(center: str, kind: str, request_id: str | None = None) -> None:
        record_movement(
            admin, work_center_id=wc(center), order_number='PO-7', quantity=1, movement_type=kind, request_id=request_id
        )

    def activity() -> datetime | None:
        with db.read() as s:
            row = s.get(OrderActivity, 'PO-7')
            return None if row is None else row.last_movement_at

    record('WC001', 'IN')
    assert activity() == start
    record('WC002', 'IN')  # half a step later: not written again
    assert activity() == start
    record('WC002', 'OUT', 'r-1')  # three steps later, at another work center
    assert activity() == much_later
    record('WC002', 'OUT', 'r-1')  # a replay, two steps later still: changes nothing
    assert activity() == much_later
    assert check_consistency(db).consistent

    newest = f'newest movement {much_later:%Y-%m-%d %H:%M:%S} UTC'
    with db.engine.begin() as conn:
        conn.execute(update(OrderActivity).values(last_movement_at=start))
    assert [m.describe() for m in check_consistency(db).mismatches] == [
        f'order PO-7: activity time {start:%Y-%m-%d %H:%M:%S}, {newest}'
    ]
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM order_activity WHERE order_number = 'PO-7'"))
    assert [m.describe() for m in check_consistency(db).mismatches] == [f'order PO-7: no activity time, {newest}']


def test_sqlite_stores_a_movement_at_a_whole_second_in_the_same_text_as_any_other_time(
    sqlite_db: Database, admin: Actor, wc, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite compares timestamps as text: '08:00:00' sorts before '08:00:00.000000', the text SQLAlchemy
    # writes everywhere else. The write path's own timestamp text (db/compiled.py) must be that one.
    monkeypatch.setattr(writer, 'utcnow', lambda: datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-8', quantity=2, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-8', quantity=1, movement_type='OUT')
    with sqlite_db.engine.connect() as conn:
        stored = conn.execute(
            text(
                'SELECT created_at FROM production_order UNION SELECT last_movement_at FROM order_balance '
                'UNION SELECT last_movement_at FROM order_activity'
            )
        ).scalars()
        assert set(stored) == {'2026-11-02 08:00:00.000000'}


def test_times_recorded_by_an_older_instance_are_caught_up_at_the_next_start(db: Database, admin: Actor, wc) -> None:
    # During a rolling upgrade an instance still on the previous potrack records without order_activity.
    # The migration step at each start moves such times forward, and never moves one back.
    for order in ('PO-OLD-1', 'PO-OLD-2', 'PO-AHEAD'):
        record_movement(admin, work_center_id=wc('WC001'), order_number=order, quantity=2, movement_type='IN')
    later = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    ahead = datetime(2031, 1, 1, tzinfo=UTC)
    with db.engine.begin() as conn:  # what the older instance's movements leave behind
        conn.execute(update(OrderBalance).where(OrderBalance.order_number == 'PO-OLD-1').values(last_movement_at=later))
        conn.execute(text("DELETE FROM order_activity WHERE order_number = 'PO-OLD-2'"))
        conn.execute(
            update(OrderActivity).where(OrderActivity.order_number == 'PO-AHEAD').values(last_movement_at=ahead)
        )
    assert {m.order_number for m in check_consistency(db).mismatches} == {'PO-OLD-1', 'PO-OLD-2'}
    upgrade(db)
    assert check_consistency(db).consistent
    with db.read() as s:
        times = {a.order_number: a.last_movement_at for a in s.exec(select(OrderActivity)).all()}
        balances = {b.order_number: b.last_movement_at for b in s.exec(select(OrderBalance)).all()}
    assert times == {'PO-OLD-1': later, 'PO-OLD-2': balances['PO-OLD-2'], 'PO-AHEAD': ahead}
