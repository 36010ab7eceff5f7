"""Where a newest-first search by order-number prefix starts its walk: at the newest match, not at now.

search_movements asks for the bound; it only removes rows newer than every match, so results are
unchanged and a search for an old block of orders reads about as many rows as it returns.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import TIMESTAMP, Interval, Select, and_, case, cast, func, literal, literal_column
from sqlmodel import Session, select

from potrack.common.work_center_codes import all_work_center_ids
from potrack.db.engine import Database
from potrack.db.models import ACTIVITY_STEP
from potrack.db.tables import ACTIVITY, BALANCES
from potrack.db.tables import MOVEMENTS as PO
from potrack.ledger.balances import order_filter, order_needle

if TYPE_CHECKING:  # search imports this module; its types are needed for annotations only
    from potrack.ledger.search import MovementFilter, Selection

# Slack added to the newest movement time of the orders a prefix selects (see newest_first_bound): a
# clock stepped back between two movements of an order must not hide the earlier one; and order_activity
# lags by up to ACTIVITY_STEP.
BOUND_SLACK = timedelta(minutes=15) + ACTIVITY_STEP
# How many of the newest movements newest_first_bound looks at to see whether a prefix is common there.
RECENT_PROBE_ROWS = 2000


def newest_first_bound(
    session: Session, db: Database, flt: MovementFilter, selection: Selection, wanted: int
) -> Any | None:
    """For a newest-first search by order-number prefix: `created_at <= t`, t at the newest match, or None.

    Order numbers are given out in sequence, so a prefix selects a block of orders from the same days.
    Sorting by created_at with a LIMIT, PostgreSQL walks the created_at index from now backwards and
    filters, expecting matches spread evenly over time; for a block a few weeks old it reads most of
    the ledger before the first match (0.25–0.6 s at a million movements). The newest movement of those
    orders is in order_activity (one row per order) and order_balance (one per work center and order),
    written in the same transaction as each movement and found through their order-number indexes
    (_newest_balance); starting the walk there reads about as many rows as it returns. The condition
    only removes rows newer than every match, so results are unchanged; without such a row it is left out.

    Reading those rows costs time in proportion to the orders the prefix selects, so it is
    skipped when the walk's first RECENT_PROBE_ROWS rows (the filter without the order number) already
    hold the `wanted` matches: then the walk stops within them anyway (a broad prefix such as "PO-").
    """
    if flt.match != 'prefix' or selection.order is None:
        return None
    postgres = session.connection().dialect.name == 'postgresql'
    probe = _recent_hits(flt, selection) if wanted <= RECENT_PROBE_ROWS else None
    newest = _newest_balance(flt, selection, postgres, all_work_center_ids(db))
    if postgres:
        # One statement with the rows: both subqueries run once, before the walk (InitPlans), and the
        # balance rows are read only when the probe falls short. Two round trips fewer per search.
        infinity = cast(literal_column("'infinity'"), TIMESTAMP(timezone=True))
        bound = func.coalesce(newest.scalar_subquery() + literal(BOUND_SLACK, Interval()), infinity)
        if probe is not None:
            bound = case((probe.scalar_subquery() >= wanted, infinity), else_=bound)
        return PO.c.created_at <= bound
    if probe is not None and session.connection().execute(probe).scalar_one() >= wanted:
        return None
    newest_at = session.connection().execute(newest).scalar_one()
    return None if newest_at is None else PO.c.created_at <= newest_at + BOUND_SLACK


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
    """
    if every_wc and selection.ids >= every_wc:
        activity = _prefix_range(ACTIVITY.c.order_number, flt.order, postgres)
        return select(func.max(ACTIVITY.c.last_movement_at)).where(activity)
    return select(func.max(BALANCES.c.last_movement_at)).where(
        _prefix_range(BALANCES.c.order_number, flt.order, postgres), BALANCES.c.work_center_id.in_(selection.ids)
    )


def _prefix_range(column: Any, text: str, postgres: bool) -> Any:
    """The order-number prefix as a range of the text_pattern_ops index on PostgreSQL: the same rows as
    LIKE 'prefix%', without LIKE re-checked on each of them (a fifth of the bound's time at 50,000 rows)."""
    needle = order_needle(text)
    last = ord(needle[-1]) if needle else 0
    if not postgres or not needle or last >= 0xD7FF:  # past there the next code point may not be a character
        return order_filter(column, text, 'prefix')
    # Byte order of UTF-8 is code point order, so every text starting with the needle lies in between.
    return and_(column.op('~>=~')(needle), column.op('~<~')(needle[:-1] + chr(last + 1)))
