"""Report aggregates against a small floor with known times: totals per work center, flow per IST day, presets.

WC001 Assembly   PO-1001 IN 50 at 5 Mar 23:59 IST, OUT 20 at 6 Mar 00:01 IST (anita)
WC002 Machining  PO-1001 IN 20 at 6 Mar 10:00 IST (anita)
WC003 Welding    PO-2002 IN 7 at 7 Mar 09:00 IST (admin)
WC004 Painting   PO-1003 IN 3 at 7 Mar 08:00 IST (anita), reversed at 08:30 IST by the admin
WC005 QC         QC-7 IN 12 at 6 Mar 12:00 IST, OUT 4 at 7 Mar 12:00 IST (quinn, Quality Control)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import pytz
from sqlalchemy import update

from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import ProductionOrder
from potrack.errors import InvalidInput, NotAllowed
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.search import MovementFilter, search_movements
from potrack.ledger.tallies import rebuild_tallies
from potrack.ledger.writer import record_movement
from potrack.reports.filters import filter_choices, period_range
from potrack.reports.summaries import daily_flow, work_center_summary

IST = pytz.timezone('Asia/Kolkata')
MAR = {day: date(2026, 3, day) for day in range(1, 32)}


def ist(day: int, hour: int, minute: int) -> datetime:
    return IST.localize(datetime(2026, 3, day, hour, minute)).astimezone(UTC)


@dataclass(frozen=True)
class Floor:
    admin: Actor
    anita: Actor
    quinn: Actor
    wc: dict[str, int]
    ids: dict[str, int]


@pytest.fixture(autouse=True)
def _indian_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('POTRACK_TIMEZONE', 'Asia/Kolkata')  # the default, whatever the shell says
    reset_settings()
    yield
    reset_settings()


def stamp(db: Database, movement_id: int, moment: datetime) -> None:
    """Test-only: the ledger stamps 'now'; put one movement at a chosen instant (and count the tallies anew,
    which counted it at its first time)."""
    with db.engine.begin() as conn:
        conn.execute(update(ProductionOrder).where(ProductionOrder.id == movement_id).values(created_at=moment))
        rebuild_tallies(conn)


@pytest.fixture
def floor(db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> Floor:
    anita, quinn = make_user('anita'), make_user('quinn', 'Quality Control')
    codes = {code: wc(code) for code in ('WC001', 'WC002', 'WC003', 'WC004', 'WC005')}
    ids: dict[str, int] = {}

    def rec(name: str, actor: Actor, code: str, order: str, qty: int, kind: str, at: datetime) -> None:
        result = record_movement(
            actor, work_center_id=codes[code], order_number=order, quantity=qty, movement_type=kind
        )
        ids[name] = result.movement_id
        stamp(db, result.movement_id, at)

    rec('late', anita, 'WC001', 'PO-1001', 50, 'IN', ist(5, 23, 59))
    rec('early', anita, 'WC001', 'PO-1001', 20, 'OUT', ist(6, 0, 1))
    rec('wc2', anita, 'WC002', 'PO-1001', 20, 'IN', ist(6, 10, 0))
    rec('weld', admin, 'WC003', 'PO-2002', 7, 'IN', ist(7, 9, 0))
    rec('wrong', anita, 'WC004', 'PO-1003', 3, 'IN', ist(7, 8, 0))
    ids['reversal'] = reverse_movement(admin, movement_id=ids['wrong'], reason='wrong order').movement_id
    stamp(db, ids['reversal'], ist(7, 8, 30))
    rec('qc_in', quinn, 'WC005', 'QC-7', 12, 'IN', ist(6, 12, 0))
    rec('qc_out', quinn, 'WC005', 'QC-7', 4, 'OUT', ist(7, 12, 0))
    return Floor(admin, anita, quinn, codes, ids)


def test_presets_are_local_calendar_days_and_weeks_start_on_monday() -> None:
    wednesday = date(2026, 3, 11)
    assert period_range('today', wednesday) == (wednesday, wednesday)
    assert period_range('yesterday', wednesday) == (MAR[10], MAR[10])
    assert period_range('this-week', wednesday) == (MAR[9], wednesday)
    assert period_range('this-week', MAR[9]) == (MAR[9], MAR[9])
    assert period_range('this-month', wednesday) == (MAR[1], wednesday)
    assert period_range('last-30-days', wednesday) == (date(2026, 2, 10), wednesday)
    assert period_range('all', wednesday) == (None, None)
    assert period_range('custom', wednesday, MAR[2], MAR[4]) == (MAR[2], MAR[4])
    with pytest.raises(InvalidInput, match='Choose a period'):
        period_range('fortnight', wednesday)


def test_entries_at_2359_and_0001_ist_fall_on_different_days(db: Database, floor: Floor) -> None:
    def totals(first: date, last: date) -> tuple[int, int, int, int]:
        t = search_movements(
            floor.admin, MovementFilter(work_center_ids=(floor.wc['WC001'],), date_from=first, date_to=last)
        )
        return t.totals.count, t.totals.qty_in, t.totals.qty_out, t.totals.net

    assert totals(MAR[5], MAR[5]) == (1, 50, 0, 50)
    assert totals(MAR[6], MAR[6]) == (1, 0, 20, -20)
    assert totals(MAR[5], MAR[6]) == (2, 50, 20, 30)
    flow = daily_flow(floor.admin, MovementFilter(work_center_ids=(floor.wc['WC001'],)))
    assert flow.days == [MAR[5], MAR[6]]
    assert [(f.code, f.qty_in, f.qty_out) for f in flow.work_centers] == [('WC001', [50, 0], [0, 20])]


def test_daily_flow_per_work_center_covers_every_day_of_the_range(db: Database, floor: Floor) -> None:
    flow = daily_flow(floor.admin, MovementFilter(date_from=MAR[4], date_to=MAR[8]))
    assert flow.days == [MAR[4], MAR[5], MAR[6], MAR[7], MAR[8]]
    assert {f.code: (f.qty_in, f.qty_out) for f in flow.work_centers} == {
        'WC001': ([0, 50, 0, 0, 0], [0, 0, 20, 0, 0]),
        'WC002': ([0, 0, 20, 0, 0], [0, 0, 0, 0, 0]),
        'WC003': ([0, 0, 0, 7, 0], [0, 0, 0, 0, 0]),
        'WC004': ([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]),  # 3 IN and its reversal (−3) on the same day
        'WC005': ([0, 0, 12, 0, 0], [0, 0, 0, 4, 0]),
    }
    assert not flow.empty


def test_daily_flow_follows_the_filters_and_the_scope(db: Database, floor: Floor) -> None:
    outs = daily_flow(floor.admin, MovementFilter(movement_type='OUT'))
    assert outs.days == [MAR[6], MAR[7]]
    assert [(f.code, f.qty_out) for f in outs.work_centers] == [('WC001', [20, 0]), ('WC005', [0, 4])]
    mine = daily_flow(floor.quinn, MovementFilter())
    assert [f.code for f in mine.work_centers] == ['WC005']
    by_anita = daily_flow(floor.admin, MovementFilter(user_id=floor.anita.user_id, order='PO-1001', match='exact'))
    assert [f.code for f in by_anita.work_centers] == ['WC001', 'WC002']
    nothing = daily_flow(floor.admin, MovementFilter(order='NOPE'))
    assert nothing.empty and nothing.days == []
    with pytest.raises(NotAllowed):
        daily_flow(floor.quinn, MovementFilter(work_center_ids=(floor.wc['WC001'],)))


def test_a_very_wide_range_is_cut_to_the_days_with_data(db: Database, floor: Floor) -> None:
    flow = daily_flow(floor.admin, MovementFilter(date_from=date(2020, 1, 1), date_to=date(2030, 1, 1)))
    assert flow.days == [MAR[5], MAR[6], MAR[7]]


def summary_table(rows) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(r.code, r.movements, r.qty_in, r.qty_out, r.net, r.balance, r.open_orders, r.last_username) for r in rows]


def test_summary_per_work_center_sums_the_selection_and_shows_the_balance_now(db: Database, floor: Floor) -> None:
    assert summary_table(work_center_summary(floor.admin, MovementFilter())) == [
        ('WC001', 2, 50, 20, 30, 30, 1, 'anita'),
        ('WC002', 1, 20, 0, 20, 20, 1, 'anita'),
        ('WC003', 1, 7, 0, 7, 7, 1, 'admin'),
        ('WC004', 2, 0, 0, 0, 0, 0, 'admin'),
        ('WC005', 2, 12, 4, 8, 8, 1, 'quinn'),
    ]
    # One IST day: the selection shrinks, the balance now does not.
    assert summary_table(work_center_summary(floor.admin, MovementFilter(date_from=MAR[6], date_to=MAR[6])))[:2] == [
        ('WC001', 1, 0, 20, -20, 30, 1, 'anita'),
        ('WC002', 1, 20, 0, 20, 20, 1, 'anita'),
    ]
    # The order filter applies to both.
    rows = work_center_summary(floor.admin, MovementFilter(order='qc', match='prefix'))
    assert [(r.code, r.movements, r.balance, r.last_username) for r in rows] == [
        ('WC001', 0, 0, None),
        ('WC002', 0, 0, None),
        ('WC003', 0, 0, None),
        ('WC004', 0, 0, None),
        ('WC005', 2, 8, 'quinn'),
    ]
    assert rows[4].last_movement_at is not None and rows[4].last_movement_at.tzinfo is not None


def test_an_operator_summary_holds_only_their_work_centers(db: Database, floor: Floor) -> None:
    assert summary_table(work_center_summary(floor.quinn, MovementFilter())) == [('WC005', 2, 12, 4, 8, 8, 1, 'quinn')]
    with pytest.raises(NotAllowed, match='You may not see one of the work centers asked for.'):
        work_center_summary(floor.quinn, MovementFilter(work_center_ids=(floor.wc['WC005'], floor.wc['WC001'])))


def test_filter_choices_offer_what_the_person_may_see(db: Database, floor: Floor) -> None:
    everything = filter_choices(floor.admin)
    assert [c.code for c in everything.work_centers] == ['WC001', 'WC002', 'WC003', 'WC004', 'WC005']
    assert {'admin', 'anita', 'quinn'} <= {u.username for u in everything.users}
    qc = filter_choices(floor.quinn)
    assert [c.code for c in qc.work_centers] == ['WC005']
    names = {u.username for u in qc.users}
    assert {'admin', 'quinn'} <= names and 'anita' not in names  # Production does not work at WC005


def test_dates_of_a_custom_range_are_checked(db: Database, floor: Floor) -> None:
    with pytest.raises(InvalidInput, match='The start date is after the end date.'):
        daily_flow(floor.admin, MovementFilter(date_from=MAR[7], date_to=MAR[6]))
    assert daily_flow(floor.admin, MovementFilter(date_from=MAR[7] + timedelta(days=30))).empty
