"""The flow between work centers through the ledger, on SQLite and PostgreSQL: routes, pieces in transit,
receipts bounded by what was sent, scrap and rework with reasons, undo, `potrack check`, the migration."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import select

from potrack.common import site_settings
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.migrate import alembic_config
from potrack.db.models import AuditEvent, FlowReason, OrderBalance, OrderHeader, OrderTransit
from potrack.errors import BeyondTransit, InvalidInput
from potrack.ledger.flow_check import TransitMismatch
from potrack.ledger.integrity import check_consistency
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.transit import incoming, transit_by_work_center
from potrack.ledger.writer import MovementResult, record_movement
from potrack.ops.upgrade import upgrade

ORDER = 'PO-FLOW-1'
ROUTE = 'WC001>WC002>WC003>WC004'


@pytest.fixture
def flow(db: Database, admin: Actor, wc: Callable[[str], int]) -> Callable[..., MovementResult]:
    """An order planned for 100 pieces along ROUTE; `flow(code, qty, kind, **kw)` records as the admin."""
    db.write(lambda s: s.add(OrderHeader(order_number=ORDER, planned_quantity=100, route=ROUTE, source='typed')))

    def record(code: str, qty: int, kind: str = 'IN', order: str = ORDER, **kw: object) -> MovementResult:
        return record_movement(
            admin, work_center_id=wc(code), order_number=order, quantity=qty, movement_type=kind, db=db, **kw
        )

    return record


def _reason(db: Database, code: str) -> int:
    with db.read() as s:
        return s.exec(select(FlowReason.id).where(FlowReason.code == code)).one() or 0


def _transit(db: Database, wc_id: int, order: str = ORDER) -> tuple[int, int]:
    with db.read() as s:
        row = s.get(OrderTransit, (order, wc_id))
        return (0, 0) if row is None else (row.qty_sent, row.qty_received)


def _balance(db: Database, wc_id: int, order: str = ORDER) -> tuple[int, int, int, int]:
    with db.read() as s:
        row = s.get(OrderBalance, (wc_id, order))
        return (0, 0, 0, 0) if row is None else (row.qty_in, row.qty_out, row.qty_scrap, row.qty_rework)


def _setting(db: Database, admin: Actor, key: str, value: str) -> None:
    site_settings.change(admin, key=key, value=value, db=db)


def test_sent_on_pieces_are_in_transit_and_bound_the_next_receipt(db, admin, wc, flow) -> None:
    flow('WC001', 100)
    sent = flow('WC001', 40, 'OUT')
    assert (sent.disposition, sent.to_work_center_code, sent.transit_qty) == ('sent', 'WC002', 40)
    waiting = incoming(admin, wc('WC002'), db=db)
    assert [(r.order_number, r.quantity, r.from_code, r.is_old) for r in waiting.rows] == [(ORDER, 40, 'WC001', False)]
    assert transit_by_work_center(admin, db=db)[wc('WC002')].quantity == 40
    assert flow('WC002', 36).transit_qty == 36
    with pytest.raises(BeyondTransit) as refused:
        flow('WC002', 40)
    assert refused.value.message == (
        f'Only 4 more pieces of {ORDER} are on their way to WC002 (from WC001): 40 sent, 36 received; '
        'you tried to receive 40.'
    )
    assert _balance(db, wc('WC002'))[:2] == (36, 0)  # the refusal wrote nothing
    flow('WC002', 4)
    assert incoming(admin, wc('WC002'), db=db).rows == []  # all received: nothing waits
    assert _transit(db, wc('WC002')) == (40, 40)
    assert check_consistency(db).consistent


def test_the_first_step_receives_at_most_the_planned_quantity(db, admin, wc, flow) -> None:
    flow('WC001', 70)
    with pytest.raises(BeyondTransit) as refused:
        flow('WC001', 40)
    assert refused.value.message == (
        f'{ORDER} is planned for 100 pieces and WC001 has received 70 of them: at most 30 more can come in; '
        'you tried to receive 40.'
    )
    _setting(db, admin, site_settings.OVER_RECEIPT_PCT, '5')
    result = flow('WC001', 35)  # 105 of 100: inside 5 %, flagged
    assert result.flag == 'over_receipt'
    with db.read() as s:
        flagged = s.exec(select(AuditEvent).where(AuditEvent.action == 'movement.over_receipt')).all()
    assert [e.entity_id for e in flagged] == [str(result.movement_id)]


def test_over_receipt_tolerance_is_a_share_of_what_was_sent(db, admin, wc, flow) -> None:
    _setting(db, admin, site_settings.OVER_RECEIPT_PCT, '10')
    flow('WC001', 100)
    flow('WC001', 40, 'OUT')
    with pytest.raises(BeyondTransit, match='With the 10 % over-receipt tolerance, at most 44 can be received'):
        flow('WC002', 45)
    assert flow('WC002', 44).flag == 'over_receipt'
    assert _transit(db, wc('WC002')) == (40, 40)
    assert check_consistency(db).consistent
    _setting(db, admin, site_settings.OVER_RECEIPT_PCT, '0')  # a receipt inside the tolerance of its day stays right
    assert check_consistency(db).consistent
    with db.engine.begin() as conn:  # 4 more received than the largest tolerance allowed: `check` says so
        conn.execute(text("UPDATE production_order SET quantity = 48 WHERE transit_qty = 40 AND movement_type = 'IN'"))
        conn.execute(text('UPDATE order_balance SET qty_in = 48 WHERE work_center_id = :wc'), {'wc': wc('WC002')})
        conn.execute(text('UPDATE movement_hour SET qty_in = 48 WHERE work_center_id = :wc'), {'wc': wc('WC002')})
    assert [m.describe() for m in check_consistency(db).mismatches] == [
        f'order {ORDER} at WC002: received 8 beyond the 40 sent there; the over-receipt tolerance allows 4'
    ]


def test_scrap_needs_a_reason_and_its_undo_returns_the_pieces(db, admin, wc, flow) -> None:
    flow('WC001', 50)
    with pytest.raises(InvalidInput, match='Choose why these pieces are scrapped') as missing:
        flow('WC001', 2, 'OUT', disposition='scrap')
    assert missing.value.field == 'reason'
    scrapped = flow('WC001', 2, 'OUT', disposition='scrap', reason_id=_reason(db, 'SURF'))
    assert (scrapped.disposition, scrapped.transit_qty, scrapped.balance) == ('scrap', 0, 48)
    assert _balance(db, wc('WC001')) == (50, 2, 2, 0)
    assert _transit(db, wc('WC002')) == (0, 0)
    reverse_movement(admin, movement_id=scrapped.movement_id, reason='wrong button', db=db)
    assert _balance(db, wc('WC001')) == (50, 0, 0, 0)
    assert check_consistency(db).consistent


def test_rework_goes_back_in_transit_to_an_earlier_step(db, admin, wc, flow) -> None:
    flow('WC001', 20)
    flow('WC001', 20, 'OUT')
    flow('WC002', 20)
    flow('WC002', 20, 'OUT')
    flow('WC003', 20)
    dim = _reason(db, 'DIM')
    with pytest.raises(InvalidInput, match=r'earlier step of the route .*WC001, WC002') as wrong:
        flow('WC003', 3, 'OUT', disposition='rework', reason_id=dim, rework_to=wc('WC004'))
    assert wrong.value.field == 'rework_to'
    with pytest.raises(InvalidInput, match='That reason is not one for rework; choose another.'):
        flow('WC003', 3, 'OUT', disposition='rework', reason_id=_reason(db, 'MAT'), rework_to=wc('WC001'))
    back = flow('WC003', 3, 'OUT', disposition='rework', reason_id=dim, rework_to=wc('WC001'))
    assert (back.to_work_center_code, back.transit_qty) == ('WC001', 3)
    assert [(r.quantity, r.from_code, r.is_rework) for r in incoming(admin, wc('WC001'), db=db).rows] == [
        (3, 'WC003', True)
    ]
    # WC001 has received 20 of 100 planned: the 3 coming back come first, and the plan is not used up by them.
    assert flow('WC001', 3).transit_qty == 3
    assert _balance(db, wc('WC003')) == (20, 3, 0, 3)
    assert check_consistency(db).consistent


def test_an_undone_send_is_refused_once_the_next_step_received_it(db, admin, wc, flow) -> None:
    flow('WC001', 50)
    first = flow('WC001', 30, 'OUT')
    second = flow('WC001', 10, 'OUT')
    reverse_movement(admin, movement_id=second.movement_id, reason='typo', db=db)  # not received yet: fine
    assert _transit(db, wc('WC002')) == (30, 0)
    flow('WC002', 25)
    with pytest.raises(BeyondTransit) as refused:
        reverse_movement(admin, movement_id=first.movement_id, reason='typo', db=db)
    assert refused.value.message == (
        f'Cannot undo sending 30 pieces of {ORDER} to WC002: WC002 has already received 25 of the 30 sent to it. '
        'Correct that receipt at WC002 first.'
    )
    assert _balance(db, wc('WC001'))[:2] == (50, 30)
    received = flow('WC002', 5)
    reverse_movement(admin, movement_id=received.movement_id, reason='miscount', db=db)  # back in transit
    assert _transit(db, wc('WC002')) == (30, 25)
    assert [r.quantity for r in incoming(admin, wc('WC002'), db=db).rows] == [5]
    assert check_consistency(db).consistent


def test_receipts_off_the_route_are_refused_or_flagged(db, admin, wc, flow) -> None:
    with pytest.raises(BeyondTransit, match=f'WC005 is not on the route of {ORDER} '):
        flow('WC005', 5)
    _setting(db, admin, site_settings.OFF_ROUTE, 'allow')
    assert flow('WC005', 5).flag == 'off_route'


def test_an_order_without_a_route_moves_as_before(db, admin, wc, flow) -> None:
    flow('WC003', 500, order='PO-FREE')
    out = flow('WC003', 200, 'OUT', order='PO-FREE')
    assert (out.disposition, out.to_work_center_id, out.transit_qty) == ('sent', None, 0)
    flow('WC004', 999, order='PO-FREE')
    assert check_consistency(db).consistent


def test_a_replayed_receipt_is_already_recorded_not_refused(db, admin, wc, flow) -> None:
    flow('WC001', 10)
    flow('WC001', 10, 'OUT')
    first = flow('WC002', 10, request_id='rcv-1')
    again = flow('WC002', 10, request_id='rcv-1')  # transit is used up now, but this is the same entry
    assert (again.already_recorded, again.movement_id) == (True, first.movement_id)


def test_check_finds_a_transit_row_that_does_not_match_its_movements(db, admin, wc, flow) -> None:
    flow('WC001', 10)
    flow('WC001', 10, 'OUT')
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE order_transit SET qty_sent = 12 WHERE order_number = 'PO-FLOW-1'"))
    found = check_consistency(db).mismatches
    assert [type(m) for m in found] == [TransitMismatch]
    assert 'transit row sent 12 received 0, movements sent 10 received 0' in found[0].describe()


def test_a_running_order_keeps_moving_after_the_upgrade(empty_target: Database) -> None:
    """Migration 0007: balances stay, what the route's steps sent and the next did not receive is in transit."""
    cfg = alembic_config()
    with empty_target.engine.begin() as conn:
        cfg.attributes['connection'] = conn
        command.upgrade(cfg, '0006')
    at = datetime(2026, 11, 1, 8, tzinfo=UTC)
    with empty_target.engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO "user" (username, full_name, password_hash, is_admin, is_active, must_change_password, '
                "created_at) VALUES ('u', '', 'x', true, true, false, :t)"
            ),
            {'t': at},
        )
        for code in ('WC001', 'WC002', 'WC003'):
            conn.execute(
                text(
                    'INSERT INTO work_center (code, name, description, is_active, created_at) '
                    "VALUES (:c, 'A', '', true, :t)"
                ),
                {'c': code, 't': at},
            )
        conn.execute(
            text(
                'INSERT INTO order_header (order_number, product_code, product_description, planned_quantity, route, '
                "status, source, notes, created_at, updated_at) VALUES ('PO-1', '', '', 50, 'WC001>WC002>WC003', "
                "'open', 'typed', '', :t, :t)"
            ),
            {'t': at},
        )
        # PO-2's route names WC002 twice, as routes could before 0007 checked them: it counts at its first place.
        conn.execute(
            text(
                'INSERT INTO order_header (order_number, product_code, product_description, planned_quantity, route, '
                "status, source, notes, created_at, updated_at) VALUES ('PO-2', '', '', 50, 'WC001>WC002>WC003>WC002', "
                "'open', 'typed', '', :t, :t)"
            ),
            {'t': at},
        )
        moves = [('PO-1', 'WC001', 'IN', 50), ('PO-1', 'WC001', 'OUT', 30), ('PO-1', 'WC002', 'IN', 20)]
        moves += [
            ('PO-2', code, kind, qty) for code, qty in (('WC001', 10), ('WC002', 4), ('WC003', 8)) for kind in 'IO'
        ]
        for i, (order, code, kind, qty) in enumerate(moves):
            conn.execute(
                text(
                    'INSERT INTO production_order (order_number, work_center_id, quantity, movement_type, user_id, '
                    'created_at, request_id) SELECT :o, w.id, :q, :k, u.id, :t, :r FROM work_center w, "user" u '
                    'WHERE w.code = :c'
                ),
                {'o': order, 'q': qty, 'k': 'IN' if kind in ('IN', 'I') else 'OUT', 't': at, 'r': f'r{i}', 'c': code},
            )
        conn.execute(
            text(
                'INSERT INTO order_balance (work_center_id, order_number, qty_in, qty_out, last_movement_at) '
                "SELECT work_center_id, order_number, SUM(CASE WHEN movement_type = 'IN' THEN quantity ELSE 0 END), "
                "SUM(CASE WHEN movement_type = 'OUT' THEN quantity ELSE 0 END), MAX(created_at) FROM production_order "
                'GROUP BY work_center_id, order_number'
            )
        )
        user_id = conn.execute(text('SELECT id FROM "user"')).scalar_one()
        wc2 = conn.execute(text("SELECT id FROM work_center WHERE code = 'WC002'")).scalar_one()
    upgrade(empty_target)
    with empty_target.read() as s:
        opening = s.exec(select(OrderTransit)).all()
    found = sorted((t.order_number, t.work_center_id, t.qty_sent, t.qty_opening, t.qty_received) for t in opening)
    assert found == [('PO-1', wc2, 10, 10, 0), ('PO-2', wc2, 6, 6, 0)]
    assert check_consistency(empty_target).consistent
    entry = {'work_center_id': wc2, 'order_number': 'PO-1', 'movement_type': 'IN', 'db': empty_target}
    with pytest.raises(BeyondTransit, match='Only 10 pieces of PO-1 were sent to WC002 \\(from WC001\\)'):
        record_movement(Actor(user_id), quantity=11, **entry)
    record_movement(Actor(user_id), quantity=10, **entry)
    assert check_consistency(empty_target).consistent


def test_a_finished_order_closes_by_itself_when_the_site_says_so(db, admin, wc, flow) -> None:
    _setting(db, admin, site_settings.AUTO_CLOSE, 'on')
    for code in ('WC001', 'WC002', 'WC003', 'WC004'):
        flow(code, 99 if code == 'WC001' else 98)
        if code == 'WC001':
            flow(code, 1, 'OUT', disposition='scrap', reason_id=_reason(db, 'SETUP'))
        flow(code, 98, 'OUT')  # from WC004, the last step: finished
        assert _status(db) == 'open'  # 98 finished + 1 scrapped of 100 planned
    flow('WC001', 1)  # the last planned piece
    flow('WC001', 1, 'OUT', disposition='scrap', reason_id=_reason(db, 'SETUP'))
    assert _status(db) == 'closed'
    with db.read() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == 'order.close')).one()
    assert json.loads(event.after or '{}')['reason'].startswith('finished')


def _status(db: Database) -> str:
    with db.read() as s:
        return s.exec(select(OrderHeader.status).where(OrderHeader.order_number == ORDER)).one()


def test_pieces_are_not_sent_to_a_deactivated_step(db, admin, wc, flow) -> None:
    flow('WC001', 20)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE work_center SET is_active = false WHERE code = 'WC002'"))
    with pytest.raises(InvalidInput, match='The next step of PO-FLOW-1, WC002, is deactivated'):
        flow('WC001', 5, 'OUT')
    assert _balance(db, wc('WC001'))[:2] == (20, 0)


def test_a_route_naming_a_step_twice_counts_it_at_its_first_place(db, admin, wc, flow) -> None:
    """Routes saved before they were checked may name a work center twice; the flow reads its first place."""
    flow('WC001', 10, order='PO-TWICE')  # not in the book yet: started under 'allow', no route
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE order_header SET route = 'WC001>WC002>WC003>WC002>WC004' WHERE order_number = 'PO-TWICE'")
        )
    flow('WC001', 10, 'OUT', order='PO-TWICE')
    flow('WC002', 10, order='PO-TWICE')
    assert flow('WC002', 10, 'OUT', order='PO-TWICE').to_work_center_code == 'WC003'
    flow('WC003', 10, order='PO-TWICE')
    assert flow('WC003', 10, 'OUT', order='PO-TWICE').to_work_center_code == 'WC004'


def test_replays_are_already_recorded_whatever_changed_since(db, admin, wc, flow) -> None:
    flow('WC001', 10)
    scrap = flow('WC001', 2, 'OUT', disposition='scrap', reason_id=_reason(db, 'MAT'), request_id='scrap-1')
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE flow_reason SET is_active = false WHERE code = 'MAT'"))
    again = flow('WC001', 2, 'OUT', disposition='scrap', reason_id=_reason(db, 'MAT'), request_id='scrap-1')
    assert (again.already_recorded, again.movement_id) == (True, scrap.movement_id)
    with pytest.raises(InvalidInput, match='That reason is no longer in the list; choose another.'):
        flow('WC001', 2, 'OUT', disposition='scrap', reason_id=_reason(db, 'MAT'))
    # An OUT recorded before the flow was tracked (no disposition), sent again under its request id.
    legacy = flow('WC001', 3, 'OUT', request_id='before-0007')
    with db.engine.begin() as conn:
        conn.execute(
            text(
                'UPDATE production_order SET disposition = NULL, to_work_center_id = NULL, transit_qty = 0 '
                "WHERE request_id = 'before-0007'"
            )
        )
    assert flow('WC001', 3, 'OUT', request_id='before-0007').movement_id == legacy.movement_id


def test_a_failing_close_never_reaches_the_person_whose_entry_is_saved(db, admin, wc, flow, monkeypatch) -> None:
    from potrack.errors import NotSaved
    from potrack.ledger import closing

    def busy(*_: object) -> bool:
        raise NotSaved('too busy')

    monkeypatch.setattr(closing, '_close_if_done', busy)
    _setting(db, admin, site_settings.AUTO_CLOSE, 'on')
    flow('WC001', 5)
    assert flow('WC001', 5, 'OUT', disposition='scrap', reason_id=_reason(db, 'SETUP')).quantity == 5
    assert _status(db) == 'open'


def test_pieces_sent_on_before_the_order_had_a_route_arrive_once_it_has_one(db, admin, wc, flow) -> None:
    flow('WC001', 50, order='PO-LATE')  # not in the book: started without a route
    flow('WC001', 30, 'OUT', order='PO-LATE')  # sent on, to nowhere yet
    flow('WC002', 5, order='PO-LATE')
    with db.engine.begin() as conn:  # the ERP's file brings the route now
        conn.execute(text("UPDATE order_header SET route = 'WC001>WC002' WHERE order_number = 'PO-LATE'"))
    assert flow('WC002', 20, order='PO-LATE').transit_qty == 20  # 30 sent, 5 received before: 25 on their way
    with pytest.raises(BeyondTransit, match='Only 5 more pieces of PO-LATE are on their way to WC002 \\(from WC001\\)'):
        flow('WC002', 6, order='PO-LATE')
    assert _transit(db, wc('WC002'), 'PO-LATE') == (25, 20)
    with db.read() as s:
        opened = s.exec(select(AuditEvent).where(AuditEvent.action == 'order.transit_opened')).one()
    assert json.loads(opened.after or '{}') == {'work_center': 'WC002', 'from': 'WC001', 'pieces': 25}
    assert check_consistency(db).consistent
