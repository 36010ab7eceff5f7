"""How far an order has come along its route, as the orders page, the detail page and the kiosk read it.

PO-P1, planned 100, route WC001 > WC002 > WC003, recorded through the ledger:

    WC001  IN 100, sent on 60, scrap 5 (DIM)            then IN 4 (the rework coming back)
    WC002  IN 50 of the 60 sent (10 still on the way), sent on 30, rework 4 back to WC001 (SURF)
    WC003  IN 30, sent on 28 (finished), scrap 2 (MAT)

Started 100 (104 received at WC001, 4 of them came back), 55 in progress (39 + 16 + 0), 10 on the way,
7 scrapped, 4 reworked, 28 finished: a yield of 28 %.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select, update

from potrack.common import site_settings
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import FlowReason
from potrack.db.tables import TRANSIT
from potrack.db.types import utcnow
from potrack.ledger.writer import record_movement
from potrack.masters.work_centers import update_work_center
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from potrack.orders.listing import OrderFilter, get_order, list_orders, look_up
from potrack.orders.route_steps import RouteStep

ROUTE = 'WC001>WC002>WC003'


def reason(db: Database, code: str) -> int:
    with db.read() as s:
        return s.exec(select(FlowReason.id).where(FlowReason.code == code)).scalar_one()


@pytest.fixture
def move(current_db: Database, admin: Actor, wc: Callable[[str], int]) -> Callable[..., None]:
    """`move(code, order, qty, kind, …)` records through the ledger (as the admin, or `actor`)."""

    def record(code: str, order: str, qty: int, kind: str = 'IN', actor: Actor | None = None, **kw: object) -> None:
        if 'reason' in kw:
            kw['reason_id'] = reason(current_db, str(kw.pop('reason')))
        if 'rework_to' in kw:
            kw['rework_to'] = wc(str(kw['rework_to']))
        record_movement(
            actor or admin, work_center_id=wc(code), order_number=order, quantity=qty, movement_type=kind, **kw
        )

    return record


def add(admin: Actor, number: str, planned: int, route: str = ROUTE, due: date | None = None) -> None:
    book.add_order(admin, parse_order_fields(order_number=number, planned_quantity=planned, route=route, due_date=due))


@pytest.fixture
def po_p1(admin: Actor, move: Callable[..., None]) -> None:
    add(admin, 'PO-P1', 100)
    move('WC001', 'PO-P1', 100)
    move('WC001', 'PO-P1', 60, 'OUT')
    move('WC001', 'PO-P1', 5, 'OUT', disposition='scrap', reason='DIM')
    move('WC002', 'PO-P1', 50)
    move('WC002', 'PO-P1', 30, 'OUT')
    move('WC002', 'PO-P1', 4, 'OUT', disposition='rework', reason='SURF', rework_to='WC001')
    move('WC001', 'PO-P1', 4)
    move('WC003', 'PO-P1', 30)
    move('WC003', 'PO-P1', 28, 'OUT')
    move('WC003', 'PO-P1', 2, 'OUT', disposition='scrap', reason='MAT')


def numbers(step) -> tuple:  # type: ignore[no-untyped-def]
    return (step.code, step.in_transit, step.qty_in, step.held, step.qty_scrap, step.qty_rework, step.sent_on)


def test_each_route_step_and_the_whole_order_add_up(db: Database, admin: Actor, po_p1: None) -> None:
    p = get_order(admin, 'PO-P1').progress
    assert [numbers(s) for s in p.steps] == [
        # code, on the way to it, received, there now, scrapped, sent back, sent on
        ('WC001', 0, 104, 39, 5, 0, 60),
        ('WC002', 10, 50, 16, 0, 4, 30),
        ('WC003', 0, 30, 0, 2, 0, 28),
    ]
    assert (p.started, p.wip, p.in_transit, p.scrapped, p.reworked, p.finished) == (100, 55, 10, 7, 4, 28)
    assert (p.yield_percent, p.percent(100), p.closable(100)) == (28.0, 28.0, False)


def test_a_route_step_not_reached_yet_is_there_with_its_name(db: Database, admin: Actor, move) -> None:
    add(admin, 'PO-P2', 10)
    move('WC001', 'PO-P2', 10)
    move('WC001', 'PO-P2', 4, 'OUT')
    p = get_order(admin, 'PO-P2').progress
    assert [(s.code, s.name, s.in_transit, s.qty_in) for s in p.steps] == [
        ('WC001', 'Assembly', 0, 10),
        ('WC002', 'Machining', 4, 0),
        ('WC003', 'Welding', 0, 0),
    ]
    assert (p.started, p.wip, p.in_transit, p.finished, p.yield_percent) == (10, 6, 4, 0, 0.0)


def test_finished_or_scrapped_with_nothing_left_is_done_and_never_late(db: Database, admin: Actor, move) -> None:
    past = date.today() - timedelta(days=2)
    add(admin, 'PO-D1', 10, 'WC001>WC002', due=past)
    move('WC001', 'PO-D1', 10)
    move('WC001', 'PO-D1', 8, 'OUT')
    move('WC001', 'PO-D1', 2, 'OUT', disposition='scrap', reason='SETUP')
    row = get_order(admin, 'PO-D1')
    # 2 scrapped, 8 on the way to WC002: nothing finished yet, so late.
    assert (row.late, row.progress.closable(10), row.progress.in_transit) == (True, False, 8)
    move('WC002', 'PO-D1', 8)
    move('WC002', 'PO-D1', 6, 'OUT')
    row = get_order(admin, 'PO-D1')
    assert (row.progress.finished, row.progress.wip, row.late) == (6, 2, True)  # 2 still at WC002
    move('WC002', 'PO-D1', 2, 'OUT')
    row = get_order(admin, 'PO-D1')
    assert (row.progress.finished, row.progress.scrapped, row.late, row.progress.closable(10)) == (8, 2, False, True)
    late = list_orders(admin, OrderFilter(late_only=True)).rows
    assert 'PO-D1' not in [r.order_number for r in late]  # the SQL rule agrees with the row's


def test_the_late_filter_and_each_row_agree(db: Database, admin: Actor, po_p1: None, move) -> None:
    past = date.today() - timedelta(days=1)
    for number, route in (('PO-L1', ROUTE), ('PO-L2', ''), ('PO-L3', 'WC002')):
        add(admin, number, 5, route, due=past)
    book.edit_order(admin, parse_order_fields(order_number='PO-P1', due_date=past))
    move('WC001', 'PO-L1', 5)
    move('WC001', 'PO-L1', 5, 'OUT')  # on the way to WC002: late
    move('WC003', 'PO-L2', 5)
    move('WC003', 'PO-L2', 5, 'OUT')  # no route: what its work center sent on counts, done
    move('WC002', 'PO-L3', 5)
    move('WC002', 'PO-L3', 5, 'OUT')  # a one-step route: finished, done
    rows = list_orders(admin, OrderFilter()).rows
    late = {r.order_number for r in rows if r.late}
    assert late == {'PO-P1', 'PO-L1'}
    assert {r.order_number for r in list_orders(admin, OrderFilter(late_only=True)).rows} == late


def test_a_department_sees_its_part_of_the_route(db: Database, admin: Actor, make_user, move) -> None:
    quinn = make_user('quinn', 'Quality Control')  # sees WC005 only
    add(admin, 'PO-Q1', 20, 'WC001>WC002>WC005')
    for code in ('WC001', 'WC002'):
        move(code, 'PO-Q1', 20)
        move(code, 'PO-Q1', 20, 'OUT')
    move('WC005', 'PO-Q1', 12, actor=quinn)
    move('WC005', 'PO-Q1', 10, 'OUT', actor=quinn)
    p = get_order(quinn, 'PO-Q1').progress
    assert [(s.code, s.shown, s.qty_in, s.in_transit) for s in p.steps] == [
        ('WC001', False, 0, 0),  # on the route, its numbers not quinn's to see
        ('WC002', False, 0, 0),
        ('WC005', True, 12, 8),
    ]
    assert (p.started, p.wip, p.in_transit, p.finished) == (12, 2, 8, 10)
    everyone = get_order(admin, 'PO-Q1').progress
    assert (everyone.started, everyone.wip, everyone.in_transit, everyone.finished) == (20, 2, 8, 10)


def test_transit_waiting_longer_than_the_setting_is_old(db: Database, admin: Actor, po_p1: None, wc) -> None:
    site_settings.change(admin, key=site_settings.TRANSIT_OLD_HOURS, value='2')
    assert [s.transit_old for s in get_order(admin, 'PO-P1').progress.steps] == [False, False, False]
    with db.engine.begin() as conn:
        conn.execute(
            update(TRANSIT)
            .where(TRANSIT.c.order_number == 'PO-P1', TRANSIT.c.work_center_id == wc('WC002'))
            .values(pending_since=utcnow() - timedelta(hours=3))
        )
    steps = get_order(admin, 'PO-P1').progress.steps
    assert [s.transit_old for s in steps] == [False, True, False]


def test_the_kiosk_look_up_gives_the_route_for_rework(db: Database, admin: Actor, make_user, wc) -> None:
    add(admin, 'PO-K1', 10, 'WC001>WC002>WC004')
    found = look_up(make_user('anita'), 'po-k1')
    assert found.route == (
        RouteStep(wc('WC001'), 'WC001', 'Assembly'),
        RouteStep(wc('WC002'), 'WC002', 'Machining'),
        RouteStep(wc('WC004'), 'WC004', 'Painting'),
    )
    update_work_center(admin, work_center_id=wc('WC004'), code='WC044', name='Painting')
    assert look_up(admin, 'PO-K1').route[-1] == RouteStep(None, 'WC004', '')  # a renamed code names none
    assert look_up(admin, 'PO-NEW').route == ()


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, 'before_cursor_execute', count)
    try:
        yield seen
    finally:
        event.remove(db.engine, 'before_cursor_execute', count)


def test_a_page_of_orders_reads_its_progress_in_one_statement(db: Database, admin: Actor, po_p1: None, move) -> None:
    for n in range(20):
        add(admin, f'PO-M{n:02d}', 10)
        move('WC001', f'PO-M{n:02d}', 10)
        move('WC001', f'PO-M{n:02d}', 3, 'OUT')
    with statements(db) as seen:
        page = list_orders(admin, OrderFilter(), limit=50)
    assert page.total == 21 and all(len(r.progress.steps) == 3 for r in page.rows)
    progress_reads = [s for s in seen if 'order_transit' in s or 'order_balance' in s]
    assert len(progress_reads) == 1, progress_reads
