"""How a newest-first search by order-number prefix reads the ledger: the plan is chosen from what the
prefix selects, never left to PostgreSQL's guess about where in time the matches lie.

Order numbers are given out in sequence, so a prefix selects a block of orders from the same few days.
Sorting by created_at with a LIMIT, PostgreSQL walks the created_at index from the end of the range
backwards and filters, expecting matches spread evenly over time; for a block a few weeks old it reads
most of the ledger before the first match. Told only part of the truth (a bound it cannot see into, as
an InitPlan), it misjudges the other way and sorts every row of the range (0.6 s at 100,000 movements).
So the search learns, in one short statement before the rows, which of two plans fits, and hands the
planner plain values:

- a prefix of few orders (SORT_MAX_ORDERS at most, counted in order_activity): every match through the
  `(order_number, created_at)` index, then a top-N sort (2,000 matches: 5 ms, where the walk took 40–130);
- more orders: the walk, from the newest match on (a literal `created_at <= t`, t from order_activity
  or the balance rows), unless the newest RECENT_PROBE_ROWS rows of the range already hold the matches
  wanted (a broad prefix such as "PO-"): then the walk stops within them anyway.

The bound only removes rows newer than every match and the sort only changes how the same order is
reached, so results are those of the plain query either way (tests/test_search_plan.py checks a sweep).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Interval, Select, and_, case, func, literal, literal_column, not_, true
from sqlmodel import Session, select

from potrack.common.work_center_codes import all_work_center_ids
from potrack.db.engine import Database
from potrack.db.models import ACTIVITY_STEP
from potrack.db.tables import ACTIVITY, BALANCES
from potrack.db.tables import MOVEMENTS as PO
from potrack.ledger.balances import order_filter, order_needle

if TYPE_CHECKING:  # search imports this module; its types are needed for annotations only
    from potrack.ledger.search import MovementFilter, Selection

# Slack added to the newest movement time of the orders a prefix selects (see newest_first_plan): a
# clock stepped back between two movements of an order must not hide the earlier one; and order_activity
# lags by up to ACTIVITY_STEP.
BOUND_SLACK = timedelta(minutes=15) + ACTIVITY_STEP
# How many of the newest movements newest_first_plan looks at to see whether a prefix is common there.
RECENT_PROBE_ROWS = 2000
# Up to this many orders (about 20 movements each) a prefix's matches are read whole and sorted: at a
# million movements 100 orders sort in 5 ms where the walk from their newest match takes 12, and 1,000
# orders in 25 where the walk takes 6–9 (bench/queries.py, the sweep).
SORT_MAX_ORDERS = 200
# How far back from a prefix's newest activity a scope of some work centers looks for its newest match first.
RECENT_WINDOW = timedelta(hours=12)


@dataclass(frozen=True)
class NewestFirst:
    """How the rows query of a newest-first search reads: an extra condition, and whether to sort."""

    bound: Any | None = None  # `created_at <= t` with t a plain value, or None
    by_prefix: bool = False  # read every match through the order-number index and sort them


def newest_first_plan(
    session: Session, db: Database, flt: MovementFilter, selection: Selection, wanted: int
) -> NewestFirst:
    """The plan of a newest-first search for the `wanted` newest rows (see the module docstring).

    One short statement before the rows: the prefix's orders counted up to SORT_MAX_ORDERS + 1 and, when
    there are more, the probe of the newest rows and, when it falls short, the newest match's time. The
    time comes back as a value for the rows query: as a subquery of it (an InitPlan, unknown when the
    query is planned) it was estimated at a third of the range, and the planner sorted the whole range.
    """
    if flt.match != 'prefix' or selection.order is None:
        return NewestFirst()
    conn = session.connection()
    postgres = conn.dialect.name == 'postgresql'
    orders = _orders_upto(flt, postgres).scalar_subquery()
    many = orders > SORT_MAX_ORDERS
    if wanted <= RECENT_PROBE_ROWS:
        many = and_(many, _recent_hits(flt, selection).scalar_subquery() < wanted)
    newest = _newest_balance(flt, selection, postgres, all_work_center_ids(db)).scalar_subquery()
    # CASE, so that PostgreSQL runs the probe and the newest time (InitPlans) only when they decide.
    few, newest_at = conn.execute(select(orders <= SORT_MAX_ORDERS, case((many, newest)))).one()
    if few:
        return NewestFirst(by_prefix=True)
    return NewestFirst() if newest_at is None else NewestFirst(bound=PO.c.created_at <= newest_at + BOUND_SLACK)


def newest_first_rows(session: Session, plan: NewestFirst, selection: Selection) -> tuple[list[Any], Any]:
    """The WHERE conditions and the sort key of the rows query under `plan` (the same rows, the same order).

    On PostgreSQL a by-prefix plan sorts by the times as an expression no index provides, and asks for
    the scope's work centers as one no index answers either: the planner then reads the matches through
    the order-number index and sorts them, rather than walking the created_at index or intersecting the
    prefix's 2,000 index entries with the 200,000 of one work center (12 ms of a 15 ms search).
    """
    if plan.bound is not None:
        return [*selection.where, plan.bound], PO.c.created_at
    if not plan.by_prefix or session.connection().dialect.name != 'postgresql':
        return selection.where, PO.c.created_at
    unindexed = (PO.c.work_center_id + 0).in_(sorted(selection.ids))  # in place of others[0], the scope
    return [unindexed, selection.order, *selection.others[1:]], PO.c.created_at + literal_column(
        "INTERVAL '0 s'", Interval()
    )


def _orders_upto(flt: MovementFilter, postgres: bool) -> Select[Any]:
    """How many orders the prefix selects, counted up to SORT_MAX_ORDERS + 1 (an index-only scan)."""
    some = (
        select(ACTIVITY.c.order_number)
        .where(prefix_range(ACTIVITY.c.order_number, flt.order, postgres))
        .limit(SORT_MAX_ORDERS + 1)
        .subquery()
    )
    return select(func.count()).select_from(some)


def _recent_hits(flt: MovementFilter, selection: Selection) -> Select[Any]:
    """How many of the RECENT_PROBE_ROWS newest movements of the filter match the order number."""
    recent = (
        select(PO.c.order_number)
        .where(*selection.others)
        .order_by(PO.c.created_at.desc())
        .limit(RECENT_PROBE_ROWS)
        .subquery()
    )
    return select(func.count()).select_from(recent).where(order_filter(recent.c.order_number, flt.order, flt.match))


def _newest_balance(flt: MovementFilter, selection: Selection, postgres: bool, every_wc: frozenset[int]) -> Select[Any]:
    """The newest movement time (ACTIVITY_STEP early at most) among the orders the prefix selects in scope.

    A scope of every work center (`every_wc`, possibly a moment old) reads order_activity: one index entry
    per order, where order_balance has one per (work center, order): 10,000 entries against 50,000 for a
    10,000-order prefix (6–9 ms → 1.5 ms). Its time lags by up to ACTIVITY_STEP (in the bound's slack).
    Should a work center created a moment ago be counted in, the bound can only come out later, which
    costs time, never a match. A narrower scope reads the balance rows of its own work centers: an order's
    newest movement elsewhere could be days later than in this scope, and the walk would start there.

    It reads those of the orders active within RECENT_WINDOW of the prefix's newest activity first (a few
    hundred): when their newest in scope is no older than the window's start plus ACTIVITY_STEP, no order
    left out can have a later one (its activity, at most a step behind its movements, would be in the
    window), and that is the answer. Only otherwise every balance row of the prefix is read (12 ms for a
    10,000-order prefix, one work center's rows among 50,000, on a slow machine).
    """
    in_activity = prefix_range(ACTIVITY.c.order_number, flt.order, postgres)
    if every_wc and selection.ids >= every_wc:
        return select(func.max(ACTIVITY.c.last_movement_at)).where(in_activity)
    scope = BALANCES.c.work_center_id.in_(selection.ids)
    newest = func.max(BALANCES.c.last_movement_at)
    every = select(newest).where(prefix_range(BALANCES.c.order_number, flt.order, postgres), scope)
    if not postgres:  # SQLite keeps times as text, with no interval arithmetic; and its ledgers are small
        return every
    window = literal(RECENT_WINDOW, Interval())
    starts = select((func.max(ACTIVITY.c.last_movement_at) - window).label('since')).where(in_activity).cte('w')
    since = select(starts.c.since).scalar_subquery()
    recent = select(ACTIVITY.c.order_number).where(in_activity, ACTIVITY.c.last_movement_at >= since).subquery('r')
    # LATERAL: order by order through the index. As a semi-join the planner, not knowing how few orders the
    # window holds, hashed them and read the scope's balance rows whole (30 ms).
    per_order = select(newest.label('at')).where(BALANCES.c.order_number == recent.c.order_number, scope).lateral()
    latest = func.max(per_order.c.at)
    late_enough = latest >= since + literal(ACTIVITY_STEP, Interval())
    quick = select(latest).select_from(recent.join(per_order, true())).having(late_enough)
    # COALESCE: the full read runs only when the quick one says nothing.
    return select(func.coalesce(quick.scalar_subquery(), every.scalar_subquery()))


def prefix_range(column: Any, text: str, postgres: bool) -> Any:
    """The order-number prefix as a range of the text_pattern_ops index on PostgreSQL: the same rows as
    LIKE 'prefix%', without LIKE re-checked on each of them (a fifth of the bound's time at 50,000 rows)."""
    bounds = _prefix_bounds(text, postgres)
    if bounds is None:
        return order_filter(column, text, 'prefix')
    return and_(column.op('~>=~')(bounds[0]), column.op('~<~')(bounds[1]))


def prefix_outside(column: Any, text: str, postgres: bool) -> list[Any]:
    """Conditions that together select the order numbers outside the prefix: on PostgreSQL the two sides of
    prefix_range's range, each one index probe; elsewhere the prefix's condition negated."""
    bounds = _prefix_bounds(text, postgres)
    if bounds is None:
        return [not_(order_filter(column, text, 'prefix'))]
    return [column.op('~<~')(bounds[0]), column.op('~>=~')(bounds[1])]


def _prefix_bounds(text: str, postgres: bool) -> tuple[str, str] | None:
    """[low, high) of the texts starting with the prefix, in PostgreSQL's text_pattern_ops order; None where
    there is no such range to use (SQLite, an empty prefix, or one ending past U+D7FF, after which the next
    code point may not be a character)."""
    needle = order_needle(text)
    last = ord(needle[-1]) if needle else 0
    if not postgres or not needle or last >= 0xD7FF:
        return None
    # Byte order of UTF-8 is code point order, so every text starting with the needle lies in between.
    return needle, needle[:-1] + chr(last + 1)
