"""The real write path: every planned movement through the ledger, as a kiosk would, then backdated.

The ledger stamps each movement with the time it is recorded; `_backdate` (demo only) then moves the
demo's own new rows to their planned times in one transaction: the movements, their balance rows, their
orders' activity times and their transit rows (when the pieces were last sent, and since when they wait,
replayed by `flow.TransitTracker` over the same plan).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import bindparam, case, update
from sqlmodel import Session

from potrack.common.actors import Actor
from potrack.db.engine import Database
from potrack.db.tables import ACTIVITY, BALANCES, MOVEMENTS, TRANSIT
from potrack.db.types import UTCDateTime
from potrack.ledger.tallies import rebuild_tallies
from potrack.ledger.writer import record_movement
from potrack.ops.demo.book import book_released
from potrack.ops.demo.flow import TransitTracker
from potrack.ops.demo.orders import Line, Movement, Plan, planned_movements
from potrack.ops.demo.progress import elapsed


def load_real(db: Database, plan: Plan, line: Line, out: Callable[[str], None]) -> int:
    """Record every movement through the ledger, in time order, then backdate them. Returns the order count."""
    started = time.monotonic()
    made: list[tuple[int, float]] = []  # movement id, planned time
    latest: dict[tuple[int, str], tuple[float, int]] = {}  # (work center, order) → its last planned time, user
    transit = TransitTracker(len(line.work_center_ids), keep_all=True)
    orders = 0
    step = max(1, plan.movements // 10)
    ledger_log = logging.getLogger('potrack.ledger')
    level = ledger_log.level
    ledger_log.setLevel(logging.WARNING)  # one log line per demo movement helps nobody
    released: list[tuple[int, int, float]] = []
    i = 0
    try:
        for batch in planned_movements(plan, line, released):
            with db.engine.begin() as conn:  # the orders first: the demo's site refuses unknown orders
                book_released(conn, plan, line, released)
            for mv in batch:
                i += 1
                _record(db, plan, mv, i, made, latest)
                if mv.disposition is None:
                    transit.receive(mv.order_seq, mv.line_index, mv.quantity)
                else:
                    transit.send(mv.order_seq, mv.line_index, mv.disposition, mv.quantity, mv.at)
                orders = max(orders, mv.order_seq + 1)
                if i % step == 0 or i == plan.movements:
                    out(f'  recorded {i:,} / {plan.movements:,} ({100 * i // plan.movements}%), {elapsed(started)}')
    finally:
        ledger_log.setLevel(level)
    sent = [
        (plan.order_number(order), line.work_center_ids[wc], since, last) for order, wc, since, last in transit.times()
    ]
    _backdate(db, made, latest, sent)
    out(
        f'  backdated {len(made):,} movements, {len(latest):,} balance rows and {len(sent):,} transit rows '
        'to their planned times'
    )
    return orders


def _record(
    db: Database,
    plan: Plan,
    mv: Movement,
    i: int,
    made: list[tuple[int, float]],
    latest: dict[tuple[int, str], tuple[float, int]],
) -> None:
    result = record_movement(
        Actor(mv.user_id),
        work_center_id=mv.work_center_id,
        order_number=mv.order_number,
        quantity=mv.quantity,
        movement_type=mv.movement_type,
        disposition=mv.disposition,
        reason_id=mv.reason_id,
        rework_to=mv.rework_to,
        request_id=f'demo-{plan.token}-{i:08d}',
        db=db,
    )
    made.append((result.movement_id, mv.at))
    latest[(mv.work_center_id, mv.order_number)] = (mv.at, mv.user_id)


def _backdate(
    db: Database,
    made: list[tuple[int, float]],
    latest: dict[tuple[int, str], tuple[float, int]],
    sent: list[tuple[str, int, float | None, float]],
) -> None:
    """DEMO ONLY — nothing else in potrack ever edits the ledger.

    The ledger stamps each movement with the time it was recorded, i.e. all within the last minute.
    For a believable history this one transaction moves the demo's own new rows to their planned
    times: production_order.created_at by id, order_balance.last_movement_at / last_user_id to
    the latest planned movement of each (work center, order), and order_transit's last_sent_at and
    pending_since (`sent`: order, work center, since when pieces wait or None, last sent) as the plan
    has them, and the tallies recounted at the new times. Quantities are not touched, so every balance and
    transit row still equals the sums of its movements, and a transit row waits exactly when pieces are on
    their way.
    """
    movements, balances, activity = MOVEMENTS, BALANCES, ACTIVITY
    at_type = UTCDateTime()

    def unit(session: Session) -> None:
        conn = session.connection()
        if made:
            conn.execute(
                update(movements)
                .where(movements.c.id == bindparam('b_id'))
                .values(created_at=bindparam('b_at', type_=at_type)),
                [{'b_id': mid, 'b_at': _utc(at)} for mid, at in made],
            )
        if latest:
            conn.execute(
                update(balances)
                .where(
                    balances.c.work_center_id == bindparam('b_wc'),
                    balances.c.order_number == bindparam('b_order'),
                )
                .values(last_movement_at=bindparam('b_at', type_=at_type), last_user_id=bindparam('b_user')),
                [
                    {'b_wc': wc, 'b_order': order, 'b_at': _utc(at), 'b_user': user}
                    for (wc, order), (at, user) in latest.items()
                ],
            )
            # Each demo order's activity time back to its newest planned movement (only moved forward elsewhere).
            newest: dict[str, float] = {}
            for (_, order), (at, _) in latest.items():
                newest[order] = max(at, newest.get(order, at))
            conn.execute(
                update(activity)
                .where(activity.c.order_number == bindparam('b_order'))
                .values(last_movement_at=bindparam('b_at', type_=at_type)),
                [{'b_order': order, 'b_at': _utc(at)} for order, at in newest.items()],
            )
        if sent:
            waiting = TRANSIT.c.qty_sent > TRANSIT.c.qty_received
            conn.execute(
                update(TRANSIT)
                .where(TRANSIT.c.order_number == bindparam('b_order'), TRANSIT.c.work_center_id == bindparam('b_wc'))
                .values(
                    last_sent_at=bindparam('b_last', type_=at_type),
                    pending_since=case((waiting, bindparam('b_since', type_=at_type)), else_=None),
                ),
                [
                    {
                        'b_order': order,
                        'b_wc': wc,
                        'b_last': _utc(last),
                        'b_since': _utc(last if since is None else since),
                    }
                    for order, wc, since, last in sent
                ],
            )
        if made:  # the tallies counted the movements at the times they were recorded
            rebuild_tallies(conn)

    db.write(unit)


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
