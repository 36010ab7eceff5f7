"""What managers and operators read back: totals per work center, balances per order, the movement search.

One small floor is recorded through the real write path before each test:

    WC001 Assembly   PO-1001 IN 50, OUT 20 (anita)       PO-1002 IN 10, OUT 10 (bob)   → 30 pieces, 1 open order
    WC002 Machining  PO-1001 IN 20 (anita)                                                → 20 pieces, 1 open order
    WC003 Welding    PO_1 IN 5, POX1 IN 7 (admin)                                         → 12 pieces, 2 open orders
    WC004 Painting   PO-1003 IN 3 (anita), reversed by the admin                          →  0 pieces
    WC005 QC         QC-7 IN 12, OUT 4 (quinn, Quality Control)                           →  8 pieces, 1 open order

anita and bob work in Production (WC001–WC004), quinn in Quality Control (WC005 only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from potrack.accounts.security import token_digest
from potrack.accounts.sessions import create_session, end_session
from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import Department, ProductionOrder, User, WorkCenter
from potrack.errors import InvalidInput, NotAllowed, SignedOut
from potrack.ledger import writer
from potrack.ledger.balances import order_balances, work_center_totals
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.search import MovementFilter, iter_movements, search_movements
from potrack.ledger.writer import record_movement

SCOPE_MESSAGE = 'You may not see one of the work centers asked for.'


@dataclass(frozen=True)
class Floor:
    admin: Actor
    anita: Actor
    bob: Actor
    quinn: Actor
    wc: dict[str, int]
    ids: dict[str, int]  # movement ids by a short name


@pytest.fixture
def floor(db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> Floor:
    anita, bob, quinn = make_user('anita'), make_user('bob'), make_user('quinn', 'Quality Control')
    codes = {code: wc(code) for code in ('WC001', 'WC002', 'WC003', 'WC004', 'WC005')}
    ids: dict[str, int] = {}

    def rec(name: str, actor: Actor, code: str, order: str, qty: int, kind: str) -> None:
        result = record_movement(
            actor, work_center_id=codes[code], order_number=order, quantity=qty, movement_type=kind
        )
        ids[name] = result.movement_id

    rec('wc1_in', anita, 'WC001', 'PO-1001', 50, 'IN')
    rec('wc1_out', anita, 'WC001', 'PO-1001', 20, 'OUT')
    rec('wc2_in', anita, 'WC002', 'PO-1001', 20, 'IN')
    rec('bob_in', bob, 'WC001', 'PO-1002', 10, 'IN')
    rec('bob_out', bob, 'WC001', 'PO-1002', 10, 'OUT')
    rec('underscore', admin, 'WC003', 'PO_1', 5, 'IN')
    rec('x', admin, 'WC003', 'POX1', 7, 'IN')
    rec('qc_in', quinn, 'WC005', 'QC-7', 12, 'IN')
    rec('qc_out', quinn, 'WC005', 'QC-7', 4, 'OUT')
    rec('wrong', anita, 'WC004', 'PO-1003', 3, 'IN')
    ids['reversal'] = reverse_movement(admin, movement_id=ids['wrong'], reason='wrong order scanned').movement_id
    return Floor(admin, anita, bob, quinn, codes, ids)


def totals_table(rows) -> list[tuple[str, str, int, int, int, int]]:  # type: ignore[no-untyped-def]
    return [(r.code, r.name, r.qty_in, r.qty_out, r.balance, r.open_orders) for r in rows]


def balance_keys(page) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(r.work_center_code, r.order_number) for r in page.rows]


def orders_of(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.order_number for r in page.rows]


# ---------------------------------------------------------------------------------------------------------------
# Totals per work center


def test_admin_sees_in_out_balance_and_open_orders_of_every_work_center(db: Database, floor: Floor) -> None:
    assert totals_table(work_center_totals(floor.admin)) == [
        ('WC001', 'Assembly', 60, 30, 30, 1),
        ('WC002', 'Machining', 20, 0, 20, 1),
        ('WC003', 'Welding', 12, 0, 12, 2),
        ('WC004', 'Painting', 0, 0, 0, 0),
        ('WC005', 'Quality Control', 12, 4, 8, 1),
    ]
    rows = work_center_totals(floor.admin, work_center_ids=[floor.wc['WC003'], floor.wc['WC001']])
    assert [r.code for r in rows] == ['WC001', 'WC003']


def test_quality_control_operator_gets_only_wc005_and_is_refused_others(db: Database, floor: Floor) -> None:
    assert totals_table(work_center_totals(floor.quinn)) == [('WC005', 'Quality Control', 12, 4, 8, 1)]
    assert totals_table(work_center_totals(floor.quinn, work_center_ids=[floor.wc['WC005']])) == [
        ('WC005', 'Quality Control', 12, 4, 8, 1)
    ]
    with pytest.raises(NotAllowed) as err:
        work_center_totals(floor.quinn, work_center_ids=[floor.wc['WC001']])
    assert err.value.message == SCOPE_MESSAGE
    with pytest.raises(NotAllowed, match=SCOPE_MESSAGE):
        work_center_totals(floor.quinn, work_center_ids=[floor.wc['WC005'], floor.wc['WC001']])


def test_a_deactivated_work_center_still_shows_its_history(db: Database, floor: Floor) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(WorkCenter).where(WorkCenter.code == 'WC003').values(is_active=False))
    welding = next(r for r in work_center_totals(floor.admin) if r.code == 'WC003')
    assert (welding.is_active, welding.qty_in, welding.balance, welding.open_orders) == (False, 12, 12, 2)
    production = work_center_totals(floor.anita)
    assert [(r.code, r.is_active) for r in production] == [
        ('WC001', True),
        ('WC002', True),
        ('WC003', False),
        ('WC004', True),
    ]


def test_balances_refuse_a_deactivated_user_and_an_ended_session_and_hide_a_deactivated_department(
    db: Database, floor: Floor
) -> None:
    # The scope is read in one statement with the user and the session (common/actors.visible_centers).
    with db.read() as s:
        user = s.get(User, floor.anita.user_id)
        assert user is not None
        token = create_session(s, user, 'password')
        s.commit()
    browser = Actor(floor.anita.user_id, token_digest(token))
    assert [r.code for r in work_center_totals(browser)] == ['WC001', 'WC002', 'WC003', 'WC004']
    end_session(token, db=db)
    with pytest.raises(SignedOut):
        work_center_totals(browser)
    with pytest.raises(SignedOut):
        order_balances(browser)
    with db.engine.begin() as conn:
        conn.execute(update(Department).where(Department.name == 'Quality Control').values(is_active=False))
        conn.execute(update(User).where(User.id == floor.bob.user_id).values(is_active=False))
    assert work_center_totals(floor.quinn) == []  # a deactivated department's work centers are nobody's
    assert work_center_totals(floor.admin)[-1].code == 'WC005'  # an admin still sees them
    with pytest.raises(SignedOut):
        work_center_totals(floor.bob)


def test_a_user_without_a_department_sees_no_work_center(db: Database, floor: Floor, make_user) -> None:
    loner = make_user('loner', None)
    assert work_center_totals(loner) == []
    page = order_balances(loner)
    assert (page.rows, page.total) == ([], 0)
    assert search_movements(loner, MovementFilter()).rows == []


# ---------------------------------------------------------------------------------------------------------------
# Balances per order


def test_open_balances_newest_first_with_who_moved_them_last(db: Database, floor: Floor) -> None:
    page = order_balances(floor.admin)
    assert (page.total, page.offset, page.limit) == (5, 0, 100)
    assert balance_keys(page) == [
        ('WC005', 'QC-7'),
        ('WC003', 'POX1'),
        ('WC003', 'PO_1'),
        ('WC002', 'PO-1001'),
        ('WC001', 'PO-1001'),
    ]
    qc = page.rows[0]
    assert (qc.qty_in, qc.qty_out, qc.balance) == (12, 4, 8)
    assert (qc.last_username, qc.last_user_name, qc.last_user_department) == ('quinn', 'Quinn', 'Quality Control')
    assert qc.last_movement_at is not None and qc.last_movement_at.tzinfo is not None
    assert (page.rows[1].last_username, page.rows[1].last_user_name, page.rows[1].last_user_department) == (
        'admin',
        'Administrator',
        'Management',
    )
    assert (page.rows[3].last_username, page.rows[3].last_user_department) == ('anita', 'Production')


def test_closed_orders_appear_when_open_only_is_off(db: Database, floor: Floor) -> None:
    page = order_balances(floor.admin, open_only=False)
    assert page.total == 7
    closed = {(r.work_center_code, r.order_number): r for r in page.rows if r.balance == 0}
    assert set(closed) == {('WC001', 'PO-1002'), ('WC004', 'PO-1003')}
    assert (closed['WC001', 'PO-1002'].qty_in, closed['WC001', 'PO-1002'].qty_out) == (10, 10)
    assert closed['WC001', 'PO-1002'].last_username == 'bob'
    reversed_row = closed['WC004', 'PO-1003']
    assert (reversed_row.qty_in, reversed_row.qty_out, reversed_row.last_username) == (0, 0, 'admin')


# What a person types, how it is matched, and the orders found (all balances, sorted by order number).
ORDER_SEARCHES = {
    ('po-100', 'prefix'): ['PO-1001', 'PO-1001', 'PO-1002', 'PO-1003'],
    ('  PO-1001 ', 'prefix'): ['PO-1001', 'PO-1001'],
    ('100', 'prefix'): [],
    ('100', 'contains'): ['PO-1001', 'PO-1001', 'PO-1002', 'PO-1003'],
    ('-7', 'contains'): ['QC-7'],
    ('po-1001', 'exact'): ['PO-1001', 'PO-1001'],
    ('PO-100', 'exact'): [],
    ('PO_1', 'exact'): ['PO_1'],
    # '_' and '%' are characters of the order number, never LIKE wildcards
    ('PO_', 'prefix'): ['PO_1'],
    ('PO_1', 'prefix'): ['PO_1'],
    ('O_1', 'contains'): ['PO_1'],
    ('_', 'contains'): ['PO_1'],
    ('PO%', 'prefix'): [],
    ('%', 'contains'): [],
    ('P%1', 'contains'): [],
}


def test_order_search_by_prefix_contains_and_exact(db: Database, floor: Floor) -> None:
    found = {}
    for text, match in ORDER_SEARCHES:
        page = order_balances(
            floor.admin, order=text, match=match, open_only=False, sort='order_number', descending=False
        )
        assert page.total == len(page.rows)
        found[text, match] = orders_of(page)
    assert found == ORDER_SEARCHES


def test_a_slash_in_the_order_number_is_searched_literally(db: Database, floor: Floor) -> None:
    record_movement(
        floor.admin, work_center_id=floor.wc['WC002'], order_number='wo/26/5', quantity=4, movement_type='IN'
    )
    assert orders_of(order_balances(floor.admin, order='O/26/', match='contains')) == ['WO/26/5']
    assert orders_of(order_balances(floor.admin, order='wo/', match='prefix')) == ['WO/26/5']
    assert orders_of(order_balances(floor.admin, order='WO/26/5', match='exact')) == ['WO/26/5']


def test_balances_page_by_page(db: Database, floor: Floor) -> None:
    def page(offset: int, limit: int):  # type: ignore[no-untyped-def]
        return order_balances(
            floor.admin, order='PO-', open_only=False, sort='order_number', descending=False, offset=offset, limit=limit
        )

    first, second, beyond = page(0, 3), page(3, 3), page(9, 3)
    assert balance_keys(first) == [('WC001', 'PO-1001'), ('WC002', 'PO-1001'), ('WC001', 'PO-1002')]
    assert balance_keys(second) == [('WC004', 'PO-1003')]
    assert beyond.rows == []
    assert (first.total, second.total, beyond.total) == (4, 4, 4)
    assert (second.offset, second.limit) == (3, 3)
    for offset, limit in [(-1, 10), (0, 0), (0, 1001)]:
        with pytest.raises(InvalidInput) as err:
            page(offset, limit)
        assert err.value.message == 'A page holds 1 to 1000 rows and starts at row 0 or later.'


def test_balances_sorted_by_numbers(db: Database, floor: Floor) -> None:
    def column(sort: str, descending: bool) -> list[int]:
        return [getattr(r, sort) for r in order_balances(floor.admin, sort=sort, descending=descending).rows]

    assert column('balance', descending=True) == [30, 20, 8, 7, 5]
    assert column('balance', descending=False) == [5, 7, 8, 20, 30]
    assert column('qty_in', descending=False) == [5, 7, 12, 20, 50]
    assert column('qty_out', descending=True) == [20, 4, 0, 0, 0]


def test_balances_sorted_by_work_center_order_and_time(db: Database, floor: Floor) -> None:
    by_wc = order_balances(floor.admin, sort='work_center', descending=False).rows
    assert [r.work_center_code for r in by_wc] == ['WC001', 'WC002', 'WC003', 'WC003', 'WC005']
    by_order = order_balances(floor.admin, order='PO-', open_only=False, sort='order_number', descending=True).rows
    assert [r.order_number for r in by_order] == ['PO-1003', 'PO-1002', 'PO-1001', 'PO-1001']
    oldest_first = order_balances(floor.admin, sort='last_movement_at', descending=False)
    assert balance_keys(oldest_first) == list(reversed(balance_keys(order_balances(floor.admin))))


def test_operator_sees_balances_of_own_departments_work_centers_only(db: Database, floor: Floor) -> None:
    assert balance_keys(order_balances(floor.quinn, open_only=False)) == [('WC005', 'QC-7')]
    assert orders_of(order_balances(floor.quinn, order='PO', open_only=False)) == []
    production = order_balances(floor.anita, open_only=False)
    assert {r.work_center_code for r in production.rows} == {'WC001', 'WC002', 'WC003', 'WC004'}
    assert production.total == 6
    with pytest.raises(NotAllowed, match=SCOPE_MESSAGE):
        order_balances(floor.quinn, work_center_ids=[floor.wc['WC001']])


# ---------------------------------------------------------------------------------------------------------------
# Searching movements


def test_whole_ledger_newest_first_with_net_totals(db: Database, floor: Floor) -> None:
    page = search_movements(floor.admin, MovementFilter())
    ids = [r.id for r in page.rows]
    assert ids == sorted(floor.ids.values(), reverse=True)
    assert [r.created_at for r in page.rows] == sorted((r.created_at for r in page.rows), reverse=True)
    # the reversal of IN 3 counts as IN -3: totals are what is really there
    assert (page.totals.count, page.totals.qty_in, page.totals.qty_out, page.totals.net) == (11, 104, 34, 70)
    assert page.totals.net == sum(r.balance for r in work_center_totals(floor.admin))


def test_a_movement_row_says_who_did_what_where(db: Database, floor: Floor) -> None:
    rows = search_movements(floor.admin, MovementFilter(order='QC-7', match='exact')).rows
    out, came_in = rows
    assert (out.movement_type, out.quantity, out.order_number) == ('OUT', 4, 'QC-7')
    assert (out.work_center_code, out.work_center_name, out.work_center_id) == (
        'WC005',
        'Quality Control',
        floor.wc['WC005'],
    )
    assert (out.username, out.user_full_name, out.department_name, out.user_id) == (
        'quinn',
        'Quinn',
        'Quality Control',
        floor.quinn.user_id,
    )
    assert (came_in.movement_type, came_in.quantity, came_in.reverses_id, came_in.reason) == ('IN', 12, None, None)
    assert out.created_at.tzinfo is not None


def test_a_reversal_shows_as_a_negative_row_and_reduces_the_totals(db: Database, floor: Floor) -> None:
    page = search_movements(floor.admin, MovementFilter(work_center_ids=(floor.wc['WC004'],)))
    reversal, original = page.rows
    assert (reversal.movement_type, reversal.quantity, reversal.reverses_id, reversal.reason) == (
        'IN',
        -3,
        floor.ids['wrong'],
        'wrong order scanned',
    )
    assert (original.id, original.quantity, original.username) == (floor.ids['wrong'], 3, 'anita')
    assert (page.totals.count, page.totals.qty_in, page.totals.qty_out, page.totals.net) == (2, 0, 0, 0)


def test_search_by_order_and_type_with_totals(db: Database, floor: Floor) -> None:
    # filter → (orders found, newest first; count, IN, OUT, net of the whole selection)
    expected = {
        MovementFilter(order='po-100'): (
            ['PO-1003', 'PO-1003', 'PO-1002', 'PO-1002', 'PO-1001', 'PO-1001', 'PO-1001'],
            (7, 80, 30, 50),
        ),
        MovementFilter(order='1001', match='contains'): (['PO-1001', 'PO-1001', 'PO-1001'], (3, 70, 20, 50)),
        MovementFilter(order='PO_1'): (['PO_1'], (1, 5, 0, 5)),
        MovementFilter(order='_', match='contains'): (['PO_1'], (1, 5, 0, 5)),
        MovementFilter(order='PO%'): ([], (0, 0, 0, 0)),
        MovementFilter(order='pox1', match='exact'): (['POX1'], (1, 7, 0, 7)),
        MovementFilter(movement_type='OUT'): (['QC-7', 'PO-1002', 'PO-1001'], (3, 0, 34, -34)),
        MovementFilter(order='PO-1001', movement_type='IN'): (['PO-1001', 'PO-1001'], (2, 70, 0, 70)),
    }
    found = {}
    for flt in expected:
        page = search_movements(floor.admin, flt)
        t = page.totals
        found[flt] = ([r.order_number for r in page.rows], (t.count, t.qty_in, t.qty_out, t.net))
    assert found == expected


def test_search_by_work_center_and_by_user(db: Database, floor: Floor) -> None:
    assembly = search_movements(floor.admin, MovementFilter(work_center_ids=(floor.wc['WC001'],)))
    assert {r.work_center_code for r in assembly.rows} == {'WC001'}
    assert (assembly.totals.count, assembly.totals.qty_in, assembly.totals.qty_out) == (4, 60, 30)
    two = search_movements(floor.admin, MovementFilter(work_center_ids=(floor.wc['WC001'], floor.wc['WC005'])))
    assert two.totals.count == 6
    bobs = search_movements(floor.admin, MovementFilter(user_id=floor.bob.user_id))
    assert [(r.username, r.movement_type, r.quantity) for r in bobs.rows] == [('bob', 'OUT', 10), ('bob', 'IN', 10)]
    assert bobs.totals.net == 0
    anitas_outs = search_movements(floor.admin, MovementFilter(user_id=floor.anita.user_id, movement_type='OUT'))
    assert [r.id for r in anitas_outs.rows] == [floor.ids['wc1_out']]


def test_unknown_match_type_and_sort_are_refused_with_a_message(db: Database, admin: Actor) -> None:
    refusals = {
        'fuzzy match': lambda: order_balances(admin, order='PO', match='fuzzy'),
        'fuzzy search': lambda: search_movements(admin, MovementFilter(order='PO', match='fuzzy')),
        'balance sort': lambda: order_balances(admin, sort='colour'),
        'movement sort': lambda: search_movements(admin, MovementFilter(), sort='mood'),
        'type': lambda: search_movements(admin, MovementFilter(movement_type='SIDEWAYS')),
    }
    messages = {}
    for name, attempt in refusals.items():
        with pytest.raises(InvalidInput) as err:
            attempt()
        messages[name] = err.value.message
    assert messages == {
        'fuzzy match': 'Search the order number by prefix, contains or exact.',
        'fuzzy search': 'Search the order number by prefix, contains or exact.',
        'balance sort': "Cannot sort balances by 'colour'.",
        'movement sort': "Cannot sort movements by 'mood'.",
        'type': 'Choose IN, OUT or both.',
    }


def test_movements_page_by_page_with_totals_of_the_whole_selection(db: Database, floor: Floor) -> None:
    pages = [search_movements(floor.admin, MovementFilter(), offset=offset, limit=4) for offset in (0, 4, 8, 12)]
    assert [len(p.rows) for p in pages] == [4, 4, 3, 0]
    seen = [r.id for p in pages for r in p.rows]
    assert seen == sorted(floor.ids.values(), reverse=True)
    for p in pages[:3]:
        assert (p.totals.count, p.totals.qty_in, p.totals.qty_out, p.totals.net) == (11, 104, 34, 70)
    with pytest.raises(InvalidInput, match='A page holds 1 to 1000 rows'):
        search_movements(floor.admin, MovementFilter(), limit=0)


def _stamp(db: Database, movement_id: int, moment: datetime) -> None:
    """Test-only: the ledger stamps 'now'; put one movement at a chosen instant."""
    with db.engine.begin() as conn:
        conn.execute(update(ProductionOrder).where(ProductionOrder.id == movement_id).values(created_at=moment))


def test_dates_are_indian_calendar_days(db: Database, floor: Floor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('POTRACK_TIMEZONE', 'Asia/Kolkata')  # the default, whatever the shell running the tests says
    reset_settings()
    late = floor.ids['underscore']  # 14 Mar 2024, 23:59 IST
    midnight = floor.ids['x']  # 15 Mar 2024, 00:00 IST sharp
    early = floor.ids['qc_in']  # 15 Mar 2024, 00:01 IST, still 14 Mar in UTC
    _stamp(db, late, datetime(2024, 3, 14, 18, 29, tzinfo=UTC))
    _stamp(db, midnight, datetime(2024, 3, 14, 18, 30, tzinfo=UTC))
    _stamp(db, early, datetime(2024, 3, 14, 18, 31, tzinfo=UTC))

    def ids(date_from: date | None, date_to: date | None) -> list[int]:
        return [r.id for r in search_movements(floor.admin, MovementFilter(date_from=date_from, date_to=date_to)).rows]

    assert ids(date(2024, 3, 14), date(2024, 3, 14)) == [late]
    assert ids(date(2024, 3, 15), date(2024, 3, 15)) == [early, midnight]
    assert ids(date(2024, 3, 14), date(2024, 3, 15)) == [early, midnight, late]
    assert ids(date(2024, 3, 13), date(2024, 3, 13)) == []
    assert ids(None, date(2024, 3, 14)) == [late]
    assert len(ids(date(2024, 3, 15), None)) == 10  # everything except the 14th
    row = search_movements(floor.admin, MovementFilter(order='QC-7', date_to=date(2024, 3, 15))).rows[0]
    assert row.created_at == datetime(2024, 3, 14, 18, 31, tzinfo=UTC)


def test_a_start_date_after_the_end_date_is_refused(db: Database, floor: Floor) -> None:
    flt = MovementFilter(date_from=date(2024, 3, 15), date_to=date(2024, 3, 14))
    with pytest.raises(InvalidInput) as err:
        search_movements(floor.admin, flt)
    assert err.value.message == 'The start date is after the end date.'
    assert err.value.field == 'date_from'
    with pytest.raises(InvalidInput, match=r'The start date is after the end date\.'):
        list(iter_movements(floor.admin, flt))


def test_an_operator_never_finds_another_departments_movements(db: Database, floor: Floor) -> None:
    everything = search_movements(floor.quinn, MovementFilter())
    assert {r.work_center_code for r in everything.rows} == {'WC005'}
    assert (everything.totals.count, everything.totals.qty_in, everything.totals.qty_out) == (2, 12, 4)
    assert search_movements(floor.quinn, MovementFilter(order='PO', match='contains')).rows == []
    assert search_movements(floor.quinn, MovementFilter(user_id=floor.anita.user_id)).rows == []
    assert list(iter_movements(floor.quinn, MovementFilter(order='PO-1001'))) == []
    production = search_movements(floor.anita, MovementFilter())
    assert 'WC005' not in {r.work_center_code for r in production.rows}
    assert production.totals.count == 9


def test_an_operator_asking_for_a_hidden_work_center_is_refused(db: Database, floor: Floor) -> None:
    for requested in [(floor.wc['WC001'],), (floor.wc['WC005'], floor.wc['WC001'])]:
        with pytest.raises(NotAllowed) as err:
            search_movements(floor.quinn, MovementFilter(work_center_ids=requested))
        assert err.value.message == SCOPE_MESSAGE
        with pytest.raises(NotAllowed, match=SCOPE_MESSAGE):
            list(iter_movements(floor.quinn, MovementFilter(work_center_ids=requested)))


def test_iter_movements_yields_the_whole_selection_in_the_search_order(db: Database, floor: Floor) -> None:
    everything = [r.id for r in iter_movements(floor.admin, MovementFilter(), batch=2)]
    assert everything == sorted(floor.ids.values(), reverse=True)
    flt = MovementFilter(order='PO-1001', work_center_ids=(floor.wc['WC001'],))
    streamed = list(iter_movements(floor.admin, flt, batch=1))
    assert streamed == search_movements(floor.admin, flt, limit=1000).rows
    assert [(r.movement_type, r.quantity) for r in streamed] == [('OUT', 20), ('IN', 50)]


@pytest.mark.parametrize('searcher', ['admin', 'planner'])
@pytest.mark.parametrize('limit', [1, 2, 3, 500])
def test_newest_first_by_prefix_finds_every_match_however_old_or_out_of_clock_order(
    db: Database,
    admin: Actor,
    make_user: Callable[..., Actor],
    wc: Callable[[str], int],
    monkeypatch: pytest.MonkeyPatch,
    limit: int,
    searcher: str,
) -> None:
    # The search starts its walk at the newest movement time of the prefix's orders (with slack, probe
    # first): it must return exactly the newest matches, for an old block and a clock stepped back. An
    # admin sees every work center (the time comes from order_activity), a planner of Production four of
    # five (from the balance rows of those four).
    start = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    plan = [
        ('BLK-1', 'IN', timedelta(0)),
        ('BLK-2', 'IN', timedelta(hours=1)),
        ('BLK-2', 'OUT', timedelta(minutes=50)),  # the clock stepped back 10 minutes
        *[(f'NEW-{n}', 'IN', timedelta(days=5, minutes=n)) for n in range(6)],  # newer, other orders
        ('BLK-1', 'OUT', timedelta(minutes=30)),
    ]
    clock = iter(start + offset for _, _, offset in plan)
    monkeypatch.setattr(writer, 'utcnow', lambda: next(clock))
    for order, kind, _ in plan:
        record_movement(admin, work_center_id=wc('WC001'), order_number=order, quantity=1, movement_type=kind)
    monkeypatch.undo()
    actor = admin if searcher == 'admin' else make_user('planner', 'Production')
    page = search_movements(actor, MovementFilter(order='blk-'), limit=limit, with_totals=False)
    expected = sorted(
        ((start + offset, order, kind) for order, kind, offset in plan if order.startswith('BLK')), reverse=True
    )
    assert [(r.created_at, r.order_number, r.movement_type) for r in page.rows] == expected[:limit]
