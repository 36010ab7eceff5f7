"""A newest-first search by order-number prefix picks its plan (ledger/newest_first.py): read the prefix's
few orders and sort, walk from the newest match, or walk from the end of the range. Whichever it picks,
a user must see exactly the rows of the plain query: the newest matches in scope, newest first.

A block-numbered ledger is recorded once per database; hypothesis then sweeps prefixes × date ranges ×
pages × scopes, with the plan's thresholds pushed both ways so that every plan answers every search.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.tables import MOVEMENTS as PO
from potrack.ledger import newest_first, writer
from potrack.ledger.search import MovementFilter, search_movements
from potrack.ledger.writer import record_movement
from potrack.timeutil import day_range_utc, to_local

START = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
ORDERS = 24  # in blocks of numbers, each order moved over a few days from its own start
CODES = ('WC001', 'WC002', 'WC003', 'WC005')
PLANNER_SEES = {'WC001', 'WC002', 'WC003'}  # of CODES: Production sees WC001–WC004


@dataclass(frozen=True)
class Ledger:
    actors: dict[str, Actor]
    numbers: list[str]
    rows: list[tuple[int, datetime, str, str]]  # id, created_at, order number, work center code
    days: list[date]  # local days from the first movement's to the last's


def _clock(order: int, step: int) -> datetime:
    # Order n starts 18 hours after order n-1; its steps follow hours apart, the third stepped back a little.
    return START + timedelta(hours=18 * order + 7 * step - (11 if step == 2 else 0), minutes=order)


@pytest.fixture
def ledger(db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> Ledger:
    numbers = [f'PO-26-{block}{n:02d}' for block in (1, 2, 3) for n in range(ORDERS // 3)]
    plan = [(i, number, step) for i, number in enumerate(numbers) for step in range(1 + i % 4)]
    clock = iter(_clock(i, step) for i, _, step in plan)
    with patch.object(writer, 'utcnow', lambda: next(clock)):
        for _, number, step in plan:
            record_movement(
                admin,
                work_center_id=wc(CODES[step]),
                order_number=number,
                quantity=1 + step,
                movement_type='IN',
            )
    codes = {wc(code): code for code in CODES}
    with db.read() as s:
        rows = [
            (r.id, r.created_at, r.order_number, codes[r.work_center_id]) for r in s.connection().execute(select(*PO.c))
        ]
    first, last = (to_local(min(r[1] for r in rows)).date(), to_local(max(r[1] for r in rows)).date())
    days = [first + timedelta(days=n) for n in range(-1, (last - first).days + 2)]
    return Ledger({'admin': admin, 'planner': make_user('planner', 'Production')}, numbers, rows, days)


def _expected(ledger: Ledger, flt: MovementFilter, searcher: str, offset: int, limit: int) -> list[int]:
    """The plain query, in Python: matches in scope and range, newest first (ties by id), one page."""
    start, end = day_range_utc(flt.date_from, flt.date_to)
    matches = [
        (at, id_)
        for id_, at, number, code in ledger.rows
        if number.startswith(flt.order.upper())
        and (searcher == 'admin' or code in PLANNER_SEES)
        and (start is None or at >= start)
        and (end is None or at < end)
    ]
    return [id_ for _, id_ in sorted(matches, reverse=True)][offset : offset + limit]


@st.composite
def searches(draw: st.DrawFn, ledger: Ledger) -> tuple[MovementFilter, str, int, int]:
    number = draw(st.sampled_from([*ledger.numbers, 'PO-26-999', 'PO-27-']))
    prefix = number[: draw(st.integers(0, len(number)))]
    day = st.none() | st.sampled_from(ledger.days)
    date_from, date_to = draw(day), draw(day)
    if date_from and date_to and date_from > date_to:
        date_from, date_to = date_to, date_from
    flt = MovementFilter(order=prefix.lower() if draw(st.booleans()) else prefix, date_from=date_from, date_to=date_to)
    return (
        flt,
        draw(st.sampled_from(['admin', 'planner'])),
        draw(st.sampled_from([0, 2])),
        draw(st.sampled_from([1, 3, 500])),
    )


@pytest.mark.parametrize(
    ('sort_max_orders', 'probe_rows'),
    [(10_000, 2000), (0, 2000), (0, 1)],
    ids=['sort-by-prefix', 'walk-or-probe', 'walk-from-newest-match'],
)
def test_every_plan_returns_the_rows_of_the_plain_query(ledger: Ledger, sort_max_orders: int, probe_rows: int) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(search=searches(ledger))
    def check(search: tuple[MovementFilter, str, int, int]) -> None:
        flt, searcher, offset, limit = search
        page = search_movements(ledger.actors[searcher], flt, offset=offset, limit=limit)
        assert [r.id for r in page.rows] == _expected(ledger, flt, searcher, offset, limit)
        assert page.totals.count == len(_expected(ledger, flt, searcher, 0, 10_000))

    with (
        patch.object(newest_first, 'SORT_MAX_ORDERS', sort_max_orders),
        patch.object(newest_first, 'RECENT_PROBE_ROWS', probe_rows),
    ):
        check()
        if probe_rows == 1:  # the walk from the newest match: a narrower scope's, from the recent orders alone
            # (a window over all of them), or from every balance row of the prefix (a window too short to decide)
            for window in (timedelta(days=60), timedelta(0)):
                with patch.object(newest_first, 'RECENT_WINDOW', window):
                    check()


def test_a_narrow_scopes_newest_match_may_be_of_an_order_long_quiet(
    db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]
) -> None:
    # PO-QUIET-1 was last seen in the planner's scope 6 hours after PO-QUIET-2 was; PO-QUIET-2 then moved on,
    # out of that scope, 20 hours later. Among the orders active lately (PO-QUIET-2 alone) the scope's newest
    # match is far older than the window: the bound must come from every order of the prefix.
    planner = make_user('planner', 'Production')
    moves = [('PO-QUIET-2', 'WC001', -6), ('PO-QUIET-1', 'WC001', 0), ('PO-QUIET-2', 'WC005', 20)]
    clock = iter(START + timedelta(hours=h) for _, _, h in moves)
    with patch.object(writer, 'utcnow', lambda: next(clock)):
        for number, code, _ in moves:
            record_movement(admin, work_center_id=wc(code), order_number=number, quantity=1, movement_type='IN')
    with patch.object(newest_first, 'SORT_MAX_ORDERS', 0), patch.object(newest_first, 'RECENT_PROBE_ROWS', 1):
        page = search_movements(planner, MovementFilter(order='PO-QUIET-'), limit=2)
    assert [r.order_number for r in page.rows] == ['PO-QUIET-1', 'PO-QUIET-2']
