"""Reports of the flow between work centers: pieces in transit, scrapped and reworked, per work center, per
order and per reason, as a manager reads them; and the reports page showing them.

PO-F1, planned 100, route WC001 → WC002 → WC003, all by anita:
WC001  IN 100, OUT 60 sent on (to WC002), OUT 5 scrap (Surface defect), IN 4 back from rework
WC002  IN 40 of the 60, OUT 30 sent on (to WC003), OUT 4 rework back to WC001 (Dimension out of tolerance),
       OUT 2 scrap (Material defect) undone by the admin
WC003  nothing received: 30 on their way
QC-9   (WC005, no route): IN 12, OUT 4 by quinn
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlalchemy import insert, select, update

from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.tables import ORDERS, REASONS, TRANSIT
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, NotAllowed
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.search import MovementFilter
from potrack.ledger.writer import record_movement
from potrack.reports.balances import flow_balances
from potrack.reports.movement_flow import movement_flows
from potrack.reports.scrap import scrap_figures
from potrack.reports.summaries import work_center_summary
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually, sign_in

ORDER, ROUTE = 'PO-F1', 'WC001>WC002>WC003'


@dataclass(frozen=True)
class FlowFloor:
    admin: Actor
    anita: Actor
    quinn: Actor
    wc: dict[str, int]
    reasons: dict[str, int]  # by code
    ids: dict[str, int]  # movement ids by name


@pytest.fixture(autouse=True)
def _indian_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('POTRACK_TIMEZONE', 'Asia/Kolkata')
    reset_settings()
    yield
    reset_settings()


def book(db: Database, number: str, planned: int, route: str) -> None:
    """An order in the book, as an import would put it there."""
    now = utcnow()
    row = {'order_number': number, 'planned_quantity': planned, 'route': route, 'status': 'open'}
    with db.engine.begin() as conn:
        conn.execute(insert(ORDERS).values(**row, source='imported', created_at=now, updated_at=now))


def make_flow_floor(db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> FlowFloor:
    anita, quinn = make_user('anita'), make_user('quinn', 'Quality Control')
    codes = {code: wc(code) for code in ('WC001', 'WC002', 'WC003', 'WC004', 'WC005')}
    with db.engine.connect() as conn:
        reasons = {code: rid for code, rid in conn.execute(select(REASONS.c.code, REASONS.c.id))}
    book(db, ORDER, 100, ROUTE)
    book(db, 'QC-9', 12, '')
    ids: dict[str, int] = {}

    def rec(name: str, code: str, qty: int, kind: str, **flow: object) -> None:
        actor = quinn if code == 'WC005' else anita
        order = 'QC-9' if code == 'WC005' else ORDER
        result = record_movement(
            actor, work_center_id=codes[code], order_number=order, quantity=qty, movement_type=kind, **flow
        )
        ids[name] = result.movement_id

    rec('in1', 'WC001', 100, 'IN')
    rec('sent1', 'WC001', 60, 'OUT', disposition='sent')
    rec('scrap1', 'WC001', 5, 'OUT', disposition='scrap', reason_id=reasons['SURF'])
    rec('in2', 'WC002', 40, 'IN')
    rec('sent2', 'WC002', 30, 'OUT')
    rec('rework2', 'WC002', 4, 'OUT', disposition='rework', reason_id=reasons['DIM'], rework_to=codes['WC001'])
    rec('back1', 'WC001', 4, 'IN')
    rec('scrap2', 'WC002', 2, 'OUT', disposition='scrap', reason_id=reasons['MAT'])
    ids['undo2'] = reverse_movement(admin, movement_id=ids['scrap2'], reason='not scrap after all').movement_id
    rec('qc_in', 'WC005', 12, 'IN')
    rec('qc_out', 'WC005', 4, 'OUT')
    return FlowFloor(admin, anita, quinn, codes, reasons, ids)


@pytest.fixture
def flow(db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> FlowFloor:
    return make_flow_floor(db, admin, make_user, wc)


def age_transit(db: Database, work_center_id: int, hours: float) -> None:
    """Test-only: the pieces on their way to a work center have been waiting this long."""
    with db.engine.begin() as conn:
        conn.execute(
            update(TRANSIT)
            .where(TRANSIT.c.work_center_id == work_center_id)
            .values(pending_since=utcnow() - timedelta(hours=hours))
        )


def test_the_summary_per_work_center_has_scrap_rework_and_transit(db: Database, flow: FlowFloor) -> None:
    rows = {r.code: r for r in work_center_summary(flow.admin, MovementFilter())}
    got = {code: (r.qty_out, r.qty_scrap, r.qty_rework, r.in_transit, r.balance) for code, r in rows.items()}
    assert got == {
        'WC001': (65, 5, 0, 0, 39),
        'WC002': (34, 0, 4, 20, 6),  # the undone scrap of 2 counts as nothing
        'WC003': (0, 0, 0, 30, 0),
        'WC004': (0, 0, 0, 0, 0),
        'WC005': (4, 0, 0, 0, 8),
    }
    # Scrap and rework are of the selection (only IN here: none); what is on the way is as of now.
    ins = {
        r.code: (r.qty_scrap, r.qty_rework, r.in_transit)
        for r in work_center_summary(flow.admin, MovementFilter(movement_type='IN'))
    }
    assert ins['WC001'] == (0, 0, 0) and ins['WC002'] == (0, 0, 20) and ins['WC003'] == (0, 0, 30)
    other = {r.code: r.in_transit for r in work_center_summary(flow.admin, MovementFilter(order='QC', match='prefix'))}
    assert set(other.values()) == {0}  # the order filter applies to the transit too
    assert [r.in_transit for r in work_center_summary(flow.quinn, MovementFilter())] == [0]


def test_balances_per_order_list_what_is_on_its_way_even_where_nothing_came_in_yet(
    db: Database, flow: FlowFloor
) -> None:
    page = flow_balances(flow.admin, sort='work_center', descending=False)
    got = [
        (r.work_center_code, r.order_number, r.qty_in, r.qty_out, r.balance, r.in_transit, r.qty_scrap, r.qty_rework)
        for r in page.rows
    ]
    assert got == [
        ('WC001', ORDER, 104, 65, 39, 0, 5, 0),
        ('WC002', ORDER, 40, 34, 6, 20, 0, 4),
        ('WC003', ORDER, 0, 0, 0, 30, 0, 0),  # sent there, not received: no balance row, still listed
        ('WC005', 'QC-9', 12, 4, 8, 0, 0, 0),
    ]
    assert page.total == 4 and page.old_after_hours == 8
    waiting = page.rows[2]
    assert waiting.last_movement_at is None and waiting.transit_since is not None and not waiting.transit_old
    assert waiting.transit_since.tzinfo is not None
    by_transit = flow_balances(flow.admin, sort='in_transit', descending=True, limit=2)
    assert [(r.work_center_code, r.in_transit) for r in by_transit.rows] == [('WC003', 30), ('WC002', 20)]
    newest_first = flow_balances(flow.admin)  # by the last movement: rows without one come last
    assert newest_first.rows[-1].work_center_code == 'WC003'
    matched = flow_balances(flow.admin, order='F1', match='contains').rows
    assert {r.work_center_code for r in matched} == {'WC001', 'WC002', 'WC003'}


def test_open_means_pieces_there_or_on_their_way(db: Database, flow: FlowFloor, wc: Callable[[str], int]) -> None:
    # WC001 sends all it has on: nothing is left there, and WC002 has more on its way.
    record_movement(flow.anita, work_center_id=wc('WC001'), order_number=ORDER, quantity=39, movement_type='OUT')
    open_rows = {r.work_center_code: r for r in flow_balances(flow.admin).rows}
    assert set(open_rows) == {'WC002', 'WC003', 'WC005'}
    assert open_rows['WC002'].in_transit == 59
    every = {r.work_center_code for r in flow_balances(flow.admin, open_only=False).rows}
    assert every == {'WC001', 'WC002', 'WC003', 'WC005'}


def test_old_transit_is_flagged_by_the_sites_setting(db: Database, flow: FlowFloor) -> None:
    age_transit(db, flow.wc['WC003'], 9)
    age_transit(db, flow.wc['WC002'], 7)
    rows = {r.work_center_code: r for r in flow_balances(flow.admin).rows}
    assert rows['WC003'].transit_old and not rows['WC002'].transit_old
    assert not rows['WC001'].transit_old  # nothing on its way there


def test_balances_stay_within_scope_and_refuse_what_is_not_theirs(db: Database, flow: FlowFloor) -> None:
    assert [r.work_center_code for r in flow_balances(flow.quinn, open_only=False).rows] == ['WC005']
    with pytest.raises(NotAllowed):
        flow_balances(flow.quinn, work_center_ids=[flow.wc['WC003']])
    with pytest.raises(InvalidInput, match='Cannot sort balances'):
        flow_balances(flow.admin, sort='qty_in; DROP TABLE x')


def test_scrap_per_reason_and_work_center_is_net_of_undone_scrap(db: Database, flow: FlowFloor) -> None:
    figures = scrap_figures(flow.admin, MovementFilter())
    assert [(r.code, r.label, r.by_center) for r in figures.scrap] == [
        ('SURF', 'Surface defect', {flow.wc['WC001']: 5}),
        ('MAT', 'Material defect', {flow.wc['WC002']: 0}),  # 2 scrapped, then undone
    ]
    assert [(r.code, r.total) for r in figures.rework] == [('DIM', 4)]
    assert [c.code for c in figures.centers] == ['WC001', 'WC002']
    assert (figures.scrapped, figures.reworked, figures.movements) == (5, 4, 4)
    assert scrap_figures(flow.admin, MovementFilter(work_center_ids=(flow.wc['WC001'],))).reworked == 0
    assert scrap_figures(flow.quinn, MovementFilter()).empty
    assert scrap_figures(flow.admin, MovementFilter(movement_type='IN')).empty


def test_a_page_of_movements_gets_each_outs_disposition(db: Database, flow: FlowFloor) -> None:
    ids = flow.ids
    flows = movement_flows(flow.admin, list(ids.values()))
    assert flows[ids['sent1']].describe() == 'sent on → WC002'
    assert flows[ids['scrap1']].describe() == 'scrap: Surface defect'
    assert flows[ids['rework2']].describe() == 'rework → WC001: Dimension out of tolerance'
    assert flows[ids['undo2']].describe() == 'scrap: Material defect'  # an undo repeats what it undoes
    assert flows[ids['qc_out']].describe() == 'sent on'  # no route: nowhere in particular
    assert ids['in1'] not in flows  # an IN has no disposition
    assert set(movement_flows(flow.quinn, list(ids.values()))) == {ids['qc_out']}  # only what quinn may see
    with pytest.raises(InvalidInput):
        movement_flows(flow.admin, list(range(1001)))


# --- the reports page -------------------------------------------------------------------------------------


@pytest.fixture
def ui_flow(sqlite_db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> FlowFloor:
    return make_flow_floor(sqlite_db, admin, make_user, wc)


def table_rows(user: User, marker: str) -> list[dict]:
    element = user.find(marker=marker).elements.pop()
    assert isinstance(element, ui.table)
    return element.rows


async def test_the_balances_tab_shows_transit_scrap_and_rework(
    user: User, ui_flow: FlowFloor, sqlite_db: Database
) -> None:
    age_transit(sqlite_db, ui_flow.wc['WC003'], 30)
    await sign_in(user, 'anita', TEST_PASSWORD)
    await user.open('/reports?period=all&tab=balances')
    await eventually(lambda: bool(table_rows(user, 'wc-summary')) and bool(table_rows(user, 'order-balances')))
    summary = {r['wc']: (r['scrap'], r['rework'], r['transit']) for r in table_rows(user, 'wc-summary')}
    assert summary['WC001'] == ('5', '0', '0') and summary['WC002'] == ('0', '4', '20')
    assert summary['WC003'] == ('0', '0', '30')
    orders = {r['wc']: r for r in table_rows(user, 'order-balances')}
    assert (orders['WC003']['transit'], orders['WC003']['balance'], orders['WC003']['old']) == ('30', '0', True)
    assert (orders['WC002']['transit'], orders['WC002']['rework'], orders['WC002']['old']) == ('20', '4', False)
    assert orders['WC001']['scrap'] == '5' and orders['WC001']['transit'] == ''
    note = user.find(marker='old-transit-note').elements.pop()
    assert '8 h' in note.text  # type: ignore[attr-defined]


async def test_the_movements_tab_says_what_each_out_did(user: User, ui_flow: FlowFloor) -> None:
    await sign_in(user, 'anita', TEST_PASSWORD)
    await user.open(f'/reports?period=all&order={ORDER}&type=OUT')
    await eventually(lambda: len(table_rows(user, 'movements-table')) == 6)
    flows = {r['id']: r['flow'] for r in table_rows(user, 'movements-table')}
    assert flows[ui_flow.ids['rework2']] == 'rework → WC001: Dimension out of tolerance'
    assert flows[ui_flow.ids['sent2']] == 'sent on → WC003'


async def test_the_charts_tab_draws_the_scrap_per_reason(user: User, ui_flow: FlowFloor) -> None:
    await sign_in(user, 'anita', TEST_PASSWORD)
    await user.open('/reports?period=all&tab=charts')
    await eventually(lambda: bool(user.find(marker='chart-scrap').elements))
    chart = user.find(marker='chart-scrap').elements.pop()
    assert isinstance(chart, ui.echart)
    assert chart.options['yAxis']['data'] == ['Surface defect']  # the undone scrap leaves nothing to draw
    assert [(s['name'], s['data']) for s in chart.options['series']] == [('WC001', [5]), ('WC002', [0])]
    balance = user.find(marker='chart-balance').elements.pop()
    assert [s['name'] for s in balance.options['series']] == ['Balance now', 'In transit to it']  # type: ignore[attr-defined]
