"""The numbers of an order at each of its work centers, read from the ledger's derived tables.

order_balance (received, sent out, of which scrapped and sent back) and order_transit (sent to a work
center, not yet received) are exact in the ledger's write transaction; this module only reads them,
for a whole page of orders in one statement, and says in SQL when an order is done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, func, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session

from potrack.common.routes import route_codes
from potrack.db.tables import BALANCES, CENTERS, TRANSIT


@dataclass(frozen=True)
class StepPieces:
    """One work center's numbers for one order."""

    work_center_id: int | None  # None: a route code that names no work center (renamed since)
    code: str
    name: str
    qty_in: int = 0  # received here
    qty_out: int = 0  # gone out from here: sent on, scrapped or sent back for rework
    qty_scrap: int = 0
    qty_rework: int = 0
    in_transit: int = 0  # sent to this work center and not yet received
    transit_received: int = 0  # of qty_in: what came in out of transit
    transit_since: datetime | None = None  # when the pieces now in transit to it began to wait
    on_route: bool = True  # False: a work center the order's route does not name
    shown: bool = True  # False: not one of the reader's work centers; its numbers are left out (zeros)
    transit_old: bool = False  # in transit longer than the site's TRANSIT_OLD_HOURS

    @property
    def held(self) -> int:
        """Work in progress here."""
        return self.qty_in - self.qty_out

    @property
    def sent_on(self) -> int:
        return self.qty_out - self.qty_scrap - self.qty_rework


def steps_by_order(
    session: Session, numbers: list[str], routes: Mapping[str, str] | None = None
) -> dict[str, list[StepPieces]]:
    """Each order's work centers with their numbers, by order number (one statement for all of them).

    With `routes` (order number → route), every step of each route is there too, reached or not.
    """
    if not numbers:
        return {}
    routes = routes or {}
    codes = sorted({code for route in routes.values() for code in route_codes(route)})
    found: dict[str, dict[int, StepPieces]] = defaultdict(dict)
    centers: dict[str, tuple[int, str]] = {}
    for kind, number, wc_id, code, name, a, b, c, d, since in session.connection().execute(_query(numbers, codes)):
        if kind == 'c':
            centers[code] = (wc_id, name)
            continue
        known = found[number].get(wc_id) or StepPieces(wc_id, code, name)
        if kind == 'b':
            known = replace(known, qty_in=int(a), qty_out=int(b), qty_scrap=int(c), qty_rework=int(d))
        else:
            known = replace(known, in_transit=int(a) - int(b), transit_received=int(b), transit_since=since)
        found[number][wc_id] = known
    result = {number: list(steps.values()) for number, steps in found.items()}
    for number, route in routes.items():
        steps = result.setdefault(number, [])
        present = {s.code for s in steps}
        for code in route_codes(route):
            if code not in present:
                present.add(code)
                wc_id, name = centers.get(code, (None, ''))
                steps.append(StepPieces(wc_id, code, name))
    return result


def _query(numbers: list[str], codes: list[str]) -> Any:
    """Transit rows, balance rows and the route's work centers as one UNION ALL; its first leg gives the
    columns their types (pending_since's time zone on SQLite)."""
    b, t, wc = BALANCES, TRANSIT, CENTERS
    zero = literal_column('0')
    legs = [
        select(literal_column("'t'"), t.c.order_number, wc.c.id, wc.c.code, wc.c.name)
        .add_columns(t.c.qty_sent, t.c.qty_received, zero, zero, t.c.pending_since)
        .join(wc, wc.c.id == t.c.work_center_id)
        .where(t.c.order_number.in_(numbers)),
        select(literal_column("'b'"), b.c.order_number, wc.c.id, wc.c.code, wc.c.name)
        .add_columns(b.c.qty_in, b.c.qty_out, b.c.qty_scrap, b.c.qty_rework, null())
        .join(wc, wc.c.id == b.c.work_center_id)
        .where(b.c.order_number.in_(numbers)),
    ]
    if codes:
        legs.append(
            select(literal_column("'c'"), literal_column("''"), wc.c.id, wc.c.code, wc.c.name)
            .add_columns(zero, zero, zero, zero, null())
            .where(wc.c.code.in_(codes))
        )
    return union_all(*legs)


def is_last_step(route: Any, code: Any) -> Any:
    """SQL: `code` is the last step of `route` ('WC001>WC002': WC002)."""
    tail = func.substr(route, func.length(route) - func.length(code))
    return or_(route == code, tail == literal_column("'>'", String()).concat(code))


def done_condition(orders: Any) -> Any:
    """`progress.is_done` as an SQL condition on a row of `orders` (order_header): for the "late only" filter
    and the demo's closing of done orders. One look at the order's balance rows (an aggregate without
    GROUP BY gives one row, kept by HAVING) and one at its transit rows."""
    b = BALANCES
    sent_on = b.c.qty_out - b.c.qty_scrap - b.c.qty_rework
    # Finished: sent on from the route's last step; without a route, from the work center that sent most.
    finished = func.max(
        case(
            (orders.c.route == '', sent_on),
            (is_last_step(orders.c.route, CENTERS.c.code), sent_on),
            else_=0,
        )
    )
    sums = (
        select(func.count())  # an aggregate to select: SQLite refuses HAVING without one
        .select_from(b.join(CENTERS, CENTERS.c.id == b.c.work_center_id))
        .where(b.c.order_number == orders.c.order_number)
        .having(
            and_(
                func.sum(b.c.qty_in - b.c.qty_out) == 0,
                finished + func.sum(b.c.qty_scrap) >= orders.c.planned_quantity,
            )
        )
    )
    moving = select(TRANSIT.c.order_number).where(
        TRANSIT.c.order_number == orders.c.order_number, TRANSIT.c.qty_sent > TRANSIT.c.qty_received
    )
    return and_(orders.c.planned_quantity.is_not(None), sums.exists(), ~moving.exists())
