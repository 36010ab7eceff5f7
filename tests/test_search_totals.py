"""Search totals come from the ledger's tallies (ledger/totals.py): whole hours, whole (work center, order)
pairs, and the movements a range's ends cut through. Whichever way a filter takes, a user must see the
numbers of the plain count: every match in scope, IN and OUT net of reversals.

A ledger of orders moved over several days, at minutes on both sides of the half hour (local midnight in
India is at half past the hour in UTC), with OUTs and reversals, is recorded once per database; hypothesis
then sweeps order filters × date ranges × movement types × users × scopes against a count in Python.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from unittest.mock import patch

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.migrate import alembic_config
from potrack.db.tables import MOVEMENTS as PO
from potrack.ledger import totals, writer
from potrack.ledger.integrity import check_consistency
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.search import MovementFilter, movement_totals, search_movements
from potrack.ledger.writer import record_movement
from potrack.ops.upgrade import upgrade
from potrack.timeutil import day_range_utc, to_local

START = datetime(2026, 11, 1, 17, 10, tzinfo=UTC)
CODES = ('WC001', 'WC002', 'WC005')
PLANNER_SEES = {'WC001', 'WC002'}  # of CODES: Production sees WC001–WC004


@dataclass(frozen=True)
class Row:
    at: datetime
    number: str
    code: str
    kind: str
    qty: int
    user: int


@dataclass(frozen=True)
class Ledger:
    actors: dict[str, Actor]
    numbers: list[str]
    rows: list[Row]
    days: list[date]


@pytest.fixture
def ledger(db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> Ledger:
    planner = make_user('planner', 'Production')
    numbers = [f'PO-26-{block}{n:02d}' for block in (1, 2) for n in range(6)]
    # Order i starts 9 h 20 min after order i-1; each step at a work center is an IN, then an OUT 50 minutes
    # later (a half hour boundary between them in IST for some), then the next work center 5 hours on.
    clock: list[datetime] = []
    steps = []
    for i, number in enumerate(numbers):
        for step in range(1 + i % 3):
            at = START + timedelta(hours=9 * i + 5 * step, minutes=20 * i)
            who = planner if CODES[step] in PLANNER_SEES and i % 2 else admin
            steps.append((who, number, CODES[step], 'IN', 3 + step, at))
            steps.append((who, number, CODES[step], 'OUT', 1, at + timedelta(minutes=50)))
    clock = [s[5] for s in steps]
    ids = []
    ticks = iter(clock)
    with patch.object(writer, 'utcnow', lambda: next(ticks)):
        for who, number, code, kind, qty, _ in steps:
            ids.append(
                record_movement(who, work_center_id=wc(code), order_number=number, quantity=qty, movement_type=kind)
            )
    # Two OUTs reversed (a negative quantity at the reversal's own time), hours after them.
    reversed_at = iter([START + timedelta(days=2, minutes=35), START + timedelta(days=3, hours=2, minutes=5)])
    with patch.object(writer, 'utcnow', lambda: next(reversed_at)):
        for result in (ids[1], ids[3]):
            reverse_movement(admin, movement_id=result.movement_id, reason='miscounted')
    codes = {wc(code): code for code in CODES}
    with db.read() as s:
        rows = [
            Row(r.created_at, r.order_number, codes[r.work_center_id], r.movement_type, r.quantity, r.user_id)
            for r in s.connection().execute(select(*PO.c))
        ]
    first, last = to_local(min(r.at for r in rows)).date(), to_local(max(r.at for r in rows)).date()
    days = [first + timedelta(days=n) for n in range(-1, (last - first).days + 2)]
    return Ledger({'admin': admin, 'planner': planner}, numbers, rows, days)


def _expected(ledger: Ledger, flt: MovementFilter, searcher: str) -> tuple[int, int, int]:
    """The plain count, in Python: matches in scope, range, type and user; IN and OUT net of reversals."""
    start, end = day_range_utc(flt.date_from, flt.date_to)
    needle = flt.order.upper()
    matches = {
        'prefix': lambda n: n.startswith(needle),
        'contains': lambda n: needle in n,
        'exact': lambda n: not needle or n == needle,
    }[flt.match]
    rows = [
        r
        for r in ledger.rows
        if matches(r.number)
        and (searcher == 'admin' or r.code in PLANNER_SEES)
        and (start is None or r.at >= start)
        and (end is None or r.at < end)
        and (flt.movement_type is None or r.kind == flt.movement_type)
        and (flt.user_id is None or r.user == flt.user_id)
    ]
    return (
        len(rows),
        sum(r.qty for r in rows if r.kind == 'IN'),
        sum(r.qty for r in rows if r.kind == 'OUT'),
    )


@st.composite
def searches(draw: st.DrawFn, ledger: Ledger) -> tuple[MovementFilter, str]:
    number = draw(st.sampled_from([*ledger.numbers, 'PO-27-']))
    match = draw(st.sampled_from(['prefix', 'prefix', 'contains', 'exact']))
    cut = draw(st.integers(0, len(number)))
    order = number[cut:] if match == 'contains' else number if match == 'exact' else number[:cut]
    day = st.none() | st.sampled_from(ledger.days)
    date_from, date_to = draw(day), draw(day)
    if date_from and date_to and date_from > date_to:
        date_from, date_to = date_to, date_from
    user = draw(st.sampled_from([None, None, None, 'admin', 'planner']))
    flt = MovementFilter(
        order=order,
        match=match,
        date_from=date_from,
        date_to=date_to,
        movement_type=draw(st.sampled_from([None, 'IN', 'OUT'])),
        user_id=None if user is None else ledger.actors[user].user_id,
    )
    return flt, draw(st.sampled_from(['admin', 'planner']))


@pytest.mark.parametrize('cut_pair_cost', [0, 10**9], ids=['probe-cut-pairs', 'count'])
def test_totals_from_the_tallies_are_the_plain_count(ledger: Ledger, db: Database, cut_pair_cost: int) -> None:
    assert check_consistency(db).consistent  # the tallies the ledger kept agree with it

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(searches(ledger))
    def sweep(search: tuple[MovementFilter, str]) -> None:
        flt, searcher = search
        totals = movement_totals(ledger.actors[searcher], flt, db=db)
        assert (totals.count, totals.qty_in, totals.qty_out) == _expected(ledger, flt, searcher), flt
        page = search_movements(ledger.actors[searcher], flt, limit=5, db=db)
        assert page.totals == totals

    with patch.object(totals, 'CUT_PAIR_COST', cut_pair_cost):  # pairs cut by a range's end: probed, or counted
        sweep()


def test_a_prefix_every_order_has_and_no_filter_count_the_same(ledger: Ledger, db: Database) -> None:
    admin = ledger.actors['admin']
    for days in [(None, None), (ledger.days[1], ledger.days[2]), (ledger.days[2], None), (None, ledger.days[3])]:
        every = movement_totals(admin, MovementFilter(order='PO-26-', date_from=days[0], date_to=days[1]), db=db)
        none = movement_totals(admin, MovementFilter(date_from=days[0], date_to=days[1]), db=db)
        assert every == none
        assert (every.count, every.qty_in, every.qty_out) == _expected(
            ledger, MovementFilter(date_from=days[0], date_to=days[1]), 'admin'
        )


def test_tallies_lost_by_an_older_instance_are_rebuilt_at_the_next_start(ledger: Ledger, db: Database) -> None:
    # During a rolling upgrade an instance still on the previous potrack records without the tallies.
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE order_balance SET moves_in = 0, first_movement_at = NULL WHERE order_number LIKE 'PO-26-1%'")
        )
        conn.execute(text('DELETE FROM movement_hour WHERE moves_out > 0'))
    found = [m.describe() for m in check_consistency(db).mismatches]
    assert any('order PO-26-1' in f and 'tally' in f for f in found)
    assert any(' hour ' in f for f in found)
    upgrade(db)
    assert check_consistency(db).consistent
    assert movement_totals(ledger.actors['admin'], MovementFilter(), db=db).count == len(ledger.rows)


def test_a_ledger_from_before_the_tallies_gets_them_at_the_upgrade(ledger: Ledger, db: Database) -> None:
    cfg = alembic_config()
    with db.engine.begin() as conn:  # back to the schema before the tallies, movements and balances kept
        cfg.attributes['connection'] = conn
        command.downgrade(cfg, '0008')
    upgrade(db)  # migration 0009, then the catch-up counts them from the ledger
    assert check_consistency(db).consistent
    for searcher in ('admin', 'planner'):
        flt = MovementFilter(order='PO-26-1', date_from=ledger.days[2])
        totals = movement_totals(ledger.actors[searcher], flt, db=db)
        assert (totals.count, totals.qty_in, totals.qty_out) == _expected(ledger, flt, searcher)


def test_a_movement_recorded_while_totals_are_added_up_is_not_counted_twice(
    ledger: Ledger, db: Database, admin: Actor, wc: Callable[[str], int]
) -> None:
    # The pairs are read, then those a range's end cuts through are probed: a movement committed in between
    # turns a pair read whole into one cut, whose movements the probe would count again. One snapshot.
    # Up to 3 Nov (IST): PO-26-101's pair at WC001 is cut (its OUT was reversed on 4 Nov), PO-26-100's is whole
    # until the movement below.
    flt = MovementFilter(order='PO-26-1', date_to=date(2026, 11, 3))
    expected = _expected(ledger, flt, 'admin')
    probe = totals._cut_pairs_counted

    def racing(*args: object) -> object:
        record_movement(admin, work_center_id=wc('WC001'), order_number='PO-26-100', quantity=1, movement_type='IN')
        return probe(*args)  # type: ignore[arg-type]

    with patch.object(totals, 'CUT_PAIR_COST', 0), patch.object(totals, '_cut_pairs_counted', racing):
        got = movement_totals(ledger.actors['admin'], flt, db=db)
    assert (got.count, got.qty_in, got.qty_out) == expected


@pytest.mark.postgres
def test_tallies_counted_anew_while_kiosks_record_lose_and_double_nothing(
    pg_db: Database, admin: Actor, wc: Callable[[str], int]
) -> None:
    # A start that finds the tallies off counts them anew while the other instances keep recording: the writers
    # wait for it, and no movement's count is lost to it or added twice.
    centers = [wc(code) for code in ('WC001', 'WC002', 'WC003')]
    stop = threading.Event()
    failures: list[BaseException] = []

    def kiosk(n: int) -> None:
        try:
            for i in range(40):
                if stop.is_set():
                    return
                order = f'PO-RACE-{n}{i % 4}'
                record_movement(
                    admin, work_center_id=centers[i % 3], order_number=order, quantity=1, movement_type='IN'
                )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=kiosk, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            with pg_db.engine.begin() as conn:
                conn.execute(text('UPDATE order_balance SET moves_in = 0'))  # off: the next start counts anew
            upgrade(pg_db)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not failures
    upgrade(pg_db)  # the last round's tampering, if a writer came after it, counted once more
    report = check_consistency(pg_db)
    assert report.consistent, [m.describe() for m in report.mismatches]
    assert movement_totals(admin, MovementFilter(order='PO-RACE-'), db=pg_db).count == report.movements
