"""Totals of a movement search (count, IN, OUT) added up from the ledger's tallies (tallies.py), not counted.

Counting every movement a filter selects took 100-200 ms at a million movements, whatever the query: the
totals line of a broad search read the whole month. The tallies give the same numbers from far fewer rows:

- no order filter, or a prefix every order has (a year's `PO-2026-` in a ledger of that year alone): the
  hour rows of the scope's work centers, whole hours inside the date range, and the movements of the
  part-hours at its ends (local midnight in India is at half past the hour in UTC) counted one by one;
- an order filter: the (work center, order) pairs it selects. A pair whose oldest and newest movements lie
  inside the range counts whole; a pair the range's ends cut through is counted movement by movement, one
  index range each; a pair outside is not read.

A search by user is counted movement by movement: no tally is kept per user. Every way gives the numbers of
the plain count over the same conditions (tests/test_search_totals.py checks a sweep against it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, case, exists, false, func, literal, or_, select, true

from potrack.db.models import IN, OUT
from potrack.db.tables import BALANCES, HOURS
from potrack.db.tables import MOVEMENTS as PO
from potrack.ledger.balances import order_filter, order_needle
from potrack.ledger.newest_first import prefix_outside, prefix_range
from potrack.ledger.tallies import hour_of
from potrack.timeutil import day_range_utc

if TYPE_CHECKING:  # search imports this module; its types are needed for annotations only
    from potrack.ledger.search import MovementFilter, Selection

HOUR = timedelta(hours=1)
# A pair a range's end cuts through costs an index probe, about as much as this many matching movements cost
# a plain count (bench/queries.py at a million movements: 10-15 µs against 0.35). Past that share of cut pairs
# the matches are counted instead: a range cutting through the middle of a prefix's block of orders.
CUT_PAIR_COST = 40


@dataclass(frozen=True)
class MovementTotals:
    count: int = 0
    qty_in: int = 0
    qty_out: int = 0

    @property
    def net(self) -> int:
        return self.qty_in - self.qty_out


def plain_totals(conn: Connection, where: list[Any]) -> MovementTotals:
    """Count and sum every movement the conditions select."""
    count, q_in, q_out = conn.execute(select(*_movement_sums()).where(*where)).one()
    return MovementTotals(int(count), int(q_in), int(q_out))


def search_totals(conn: Connection, flt: MovementFilter, selection: Selection) -> MovementTotals:
    """The totals of the movements `flt` selects within `selection` (its scope and conditions)."""
    if flt.user_id is not None:
        return plain_totals(conn, selection.where)
    start, end = day_range_utc(flt.date_from, flt.date_to)
    postgres = conn.dialect.name == 'postgresql'
    if selection.order is None or not order_needle(flt.order) or _every_order(conn, flt, postgres):
        return _from_hours(conn, flt, selection, start, end)
    return _from_pairs(conn, flt, selection, start, end, postgres)


def _every_order(conn: Connection, flt: MovementFilter, postgres: bool) -> bool:
    """Whether a prefix selects every order there is (then it filters nothing): two index probes."""
    if flt.match != 'prefix':
        return False
    outside = prefix_outside(BALANCES.c.order_number, flt.order, postgres)
    return not conn.execute(select(or_(*(exists().where(c) for c in outside)))).scalar_one()


def _from_hours(
    conn: Connection, flt: MovementFilter, selection: Selection, start: datetime | None, end: datetime | None
) -> MovementTotals:
    whole_from = None if start is None else hour_of(start + HOUR - timedelta(microseconds=1))  # the hour at or after
    whole_to = None if end is None else hour_of(end)
    if whole_from is not None and whole_to is not None and whole_from >= whole_to:  # no whole hour: a short range
        return plain_totals(conn, _without_order(selection))
    hours = select(*_tally_sums(HOURS, flt)).where(HOURS.c.work_center_id.in_(selection.ids))
    if whole_from is not None:
        hours = hours.where(HOURS.c.hour >= whole_from)
    if whole_to is not None:
        hours = hours.where(HOURS.c.hour < whole_to)
    ends = []
    if start is not None and start < whole_from:  # type: ignore[operator]  # set together with start
        ends.append(and_(PO.c.created_at >= start, PO.c.created_at < whole_from))
    if end is not None and whole_to < end:  # type: ignore[operator]  # set together with end
        ends.append(and_(PO.c.created_at >= whole_to, PO.c.created_at < end))
    tallied = hours.subquery('tallied')
    if not ends:
        return _total(conn.execute(select(tallied)).one())
    edges = select(*_movement_sums()).where(*_without_order(selection), or_(*ends)).subquery('edges')
    return _total(conn.execute(select(tallied, edges).select_from(tallied.join(edges, true()))).one())


def _from_pairs(
    conn: Connection,
    flt: MovementFilter,
    selection: Selection,
    start: datetime | None,
    end: datetime | None,
    postgres: bool,
) -> MovementTotals:
    b = BALANCES
    if flt.match == 'prefix':
        selects = prefix_range(b.c.order_number, flt.order, postgres)
    else:
        selects = order_filter(b.c.order_number, flt.order, flt.match)
    pairs = [b.c.work_center_id.in_(selection.ids), selects]
    inside = []
    if start is not None:
        pairs.append(b.c.last_movement_at >= start)  # pairs wholly before the range are not read
        inside.append(b.c.first_movement_at >= start)
    if end is not None:
        pairs.append(b.c.first_movement_at < end)  # nor those wholly after it
        inside.append(b.c.last_movement_at < end)
    if not inside:
        return _total(conn.execute(select(*_tally_sums(b, flt)).where(*pairs)).one())
    # A pair without its oldest time (left so by an older potrack until the next start counts it) is not
    # taken whole: its movements are counted.
    whole = func.coalesce(and_(*inside), false())
    row = conn.execute(
        select(
            *(column.filter(whole) for column in _tally_sums(b, flt, literal_zero=False)),
            func.count().filter(~whole),
            func.coalesce(func.sum(b.c.moves_in + b.c.moves_out), 0),
        ).where(*pairs)
    ).one()
    totals, cut, moves = _total(row[:3]), int(row[3]), int(row[4])
    if not cut:
        return totals
    if cut * CUT_PAIR_COST > moves:  # the range's ends cut through most of it: counting the matches is cheaper
        return plain_totals(conn, selection.where)
    return _plus(totals, _total(conn.execute(_cut_pairs_counted(selection, and_(*pairs, ~whole), postgres)).one()))


def _cut_pairs_counted(selection: Selection, cut: Any, postgres: bool) -> Any:
    """Count and sum the movements in the range of the pairs `cut` selects, pair by pair through the index on
    (order_number, created_at): on PostgreSQL as a LATERAL subquery (as a plain join its planner read the
    range's movements whole and hashed them), on SQLite as a join (its planner goes pair by pair)."""
    b = BALANCES
    if not postgres:
        same_pair = and_(b.c.work_center_id == PO.c.work_center_id, b.c.order_number == PO.c.order_number)
        return select(*_movement_sums()).select_from(PO.join(b, same_pair)).where(cut, *selection.others)
    pair = select(b.c.work_center_id, b.c.order_number).where(cut).subquery('cut')
    counted = (
        select(*_movement_sums())
        .where(PO.c.order_number == pair.c.order_number, PO.c.work_center_id == pair.c.work_center_id)
        .where(*selection.others)
        .lateral('counted')
    )
    sums = [func.coalesce(func.sum(column), 0) for column in counted.c]
    return select(*sums).select_from(pair.join(counted, true()))


def _without_order(selection: Selection) -> list[Any]:
    return selection.others  # scope, dates, type (a search by user is counted plainly, before this)


def _movement_sums() -> list[Any]:
    qty, kind = PO.c.quantity, PO.c.movement_type
    return [
        func.count(),
        func.coalesce(func.sum(case((kind == IN, qty), else_=0)), 0),
        func.coalesce(func.sum(case((kind == OUT, qty), else_=0)), 0),
    ]


def _tally_sums(table: Any, flt: MovementFilter, *, literal_zero: bool = True) -> list[Any]:
    """Count, IN and OUT of a tally table's rows, as the movement type asks (IN, OUT or both). A side the type
    leaves out is a literal 0, or with `literal_zero` False a sum of nothing (for an aggregate FILTER)."""
    c, kind = table.c, flt.movement_type
    moves = c.moves_in if kind == IN else c.moves_out if kind == OUT else c.moves_in + c.moves_out
    nothing = literal(0) if literal_zero else func.sum(literal(0))
    return [
        func.sum(moves),
        nothing if kind == OUT else func.sum(c.qty_in),
        nothing if kind == IN else func.sum(c.qty_out),
    ]


def _total(row: Any) -> MovementTotals:
    """The sums of a row of one or two groups of (count, IN, OUT) side by side (a sum of no rows: 0)."""
    values = [int(v or 0) for v in row]
    return MovementTotals(sum(values[0::3]), sum(values[1::3]), sum(values[2::3]))


def _plus(a: MovementTotals, b: MovementTotals) -> MovementTotals:
    return MovementTotals(a.count + b.count, a.qty_in + b.qty_in, a.qty_out + b.qty_out)
