"""The flow's invariants, for `potrack check` (integrity.check_consistency):

- every balance row's qty_scrap and qty_rework equal the sums of its scrap and rework OUTs;
- every transit row equals its movements: qty_sent = qty_opening + what OUTs put in transit to its work
  center, qty_received = what INs there took out of it; pending_since is set exactly when something is
  in transit (the CHECK constraint already refuses a negative transit);
- the receipts at a later step of a route that took in more than was sent there (each flagged in the
  audit trail when it was recorded) stay within the largest over-receipt tolerance the site has had (the
  audit trail keeps each change of it). Receipts bounded by nothing (recorded before the flow was tracked,
  or before the order had a route) are not flagged, and not counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from potrack.common.routes import route_codes

FLOW_SUMS_SQL = """
WITH sums AS (
    SELECT work_center_id, order_number,
           SUM(CASE WHEN disposition = 'scrap' THEN quantity ELSE 0 END) AS scrap,
           SUM(CASE WHEN disposition = 'rework' THEN quantity ELSE 0 END) AS rework
    FROM production_order WHERE movement_type = 'OUT' GROUP BY work_center_id, order_number
)
SELECT b.work_center_id, b.order_number, b.qty_scrap, b.qty_rework, COALESCE(s.scrap, 0), COALESCE(s.rework, 0)
FROM order_balance b LEFT JOIN sums s ON s.work_center_id = b.work_center_id AND s.order_number = b.order_number
WHERE b.qty_scrap <> COALESCE(s.scrap, 0) OR b.qty_rework <> COALESCE(s.rework, 0)
ORDER BY 1, 2
"""

# Full outer join emulated with a UNION so it runs on SQLite too.
TRANSIT_SQL = """
WITH sent AS (
    SELECT to_work_center_id AS work_center_id, order_number, SUM(transit_qty) AS qty
    FROM production_order WHERE movement_type = 'OUT' AND to_work_center_id IS NOT NULL
    GROUP BY to_work_center_id, order_number
), taken AS (
    SELECT work_center_id, order_number, SUM(transit_qty) AS qty
    FROM production_order WHERE movement_type = 'IN' AND transit_qty <> 0
    GROUP BY work_center_id, order_number
), moved AS (
    SELECT COALESCE(s.work_center_id, t.work_center_id) AS work_center_id,
           COALESCE(s.order_number, t.order_number) AS order_number,
           COALESCE(s.qty, 0) AS sent, COALESCE(t.qty, 0) AS taken
    FROM sent s LEFT JOIN taken t ON t.work_center_id = s.work_center_id AND t.order_number = s.order_number
    UNION ALL
    SELECT t.work_center_id, t.order_number, 0, t.qty
    FROM taken t LEFT JOIN sent s ON t.work_center_id = s.work_center_id AND t.order_number = s.order_number
    WHERE s.work_center_id IS NULL
)
SELECT r.work_center_id, r.order_number, r.qty_sent, r.qty_received, r.qty_opening + COALESCE(m.sent, 0),
       COALESCE(m.taken, 0)
FROM order_transit r LEFT JOIN moved m ON m.work_center_id = r.work_center_id AND m.order_number = r.order_number
WHERE r.qty_sent <> r.qty_opening + COALESCE(m.sent, 0) OR r.qty_received <> COALESCE(m.taken, 0)
   OR (r.pending_since IS NULL) <> (r.qty_sent = r.qty_received)
UNION ALL
SELECT m.work_center_id, m.order_number, NULL, NULL, m.sent, m.taken
FROM moved m LEFT JOIN order_transit r ON m.work_center_id = r.work_center_id AND m.order_number = r.order_number
WHERE r.work_center_id IS NULL AND (m.sent <> 0 OR m.taken <> 0)
ORDER BY 1, 2
"""

# Per (order, work center) of a routed order: what its receipts flagged as over-receipts (steps.audit_flag), net
# of their reversals, took in beyond what came in transit, and what was sent there in all. A receipt beyond
# transit that is not flagged was bounded by nothing: recorded before the flow was tracked, before the
# order had a route, or off the route where the site allows it.
OVER_SQL = """
WITH flagged AS (SELECT entity_id FROM audit_event WHERE action = 'movement.over_receipt')
SELECT h.order_number, h.route, w.code, COALESCE(r.qty_sent, 0), SUM(p.quantity - p.transit_qty)
FROM production_order p
JOIN order_header h ON h.order_number = p.order_number AND h.route <> ''
JOIN work_center w ON w.id = p.work_center_id
LEFT JOIN order_transit r ON r.order_number = p.order_number AND r.work_center_id = p.work_center_id
WHERE p.movement_type = 'IN' AND (
    CAST(p.id AS VARCHAR(20)) IN (SELECT entity_id FROM flagged)
    OR CAST(p.reverses_id AS VARCHAR(20)) IN (SELECT entity_id FROM flagged)
)
GROUP BY h.order_number, h.route, w.code, r.qty_sent
HAVING SUM(p.quantity - p.transit_qty) > 0
ORDER BY 1, 3
"""


@dataclass(frozen=True)
class FlowMismatch:
    """A balance row's scrap or rework figure that is not the sum of its movements."""

    work_center_id: int
    order_number: str
    stored_scrap: int
    stored_rework: int
    ledger_scrap: int
    ledger_rework: int

    def describe(self) -> str:
        return (
            f'work center {self.work_center_id} order {self.order_number}: balance scrap {self.stored_scrap} '
            f'rework {self.stored_rework}, movements scrap {self.ledger_scrap} rework {self.ledger_rework}'
        )


@dataclass(frozen=True)
class TransitMismatch:
    work_center_id: int
    order_number: str
    stored_sent: int | None  # None: no transit row
    stored_received: int | None
    ledger_sent: int
    ledger_received: int

    def describe(self) -> str:
        stored = (
            'no transit row'
            if self.stored_sent is None
            else f'transit row sent {self.stored_sent} received {self.stored_received}'
        )
        return (
            f'transit to work center {self.work_center_id} of order {self.order_number}: {stored}, '
            f'movements sent {self.ledger_sent} received {self.ledger_received} (or its pending time is wrong)'
        )


@dataclass(frozen=True)
class OverReceipt:
    order_number: str
    code: str
    sent: int
    beyond: int
    allowed: int

    def describe(self) -> str:
        return (
            f'order {self.order_number} at {self.code}: received {self.beyond} beyond the {self.sent} sent there; '
            f'the over-receipt tolerance allows {self.allowed}'
        )


def flow_findings(conn: Connection, limit: int) -> list[FlowMismatch | TransitMismatch | OverReceipt]:
    """The first `limit` breaks of the flow's invariants."""
    found: list[FlowMismatch | TransitMismatch | OverReceipt] = [
        FlowMismatch(*r) for r in conn.execute(text(FLOW_SUMS_SQL + f' LIMIT {int(limit)}'))
    ]
    if len(found) < limit:
        found += [TransitMismatch(*r) for r in conn.execute(text(TRANSIT_SQL + f' LIMIT {int(limit - len(found))}'))]
    if len(found) < limit:
        found += _over_receipts(conn)[: limit - len(found)]
    return found


def _setting(conn: Connection, key: str, default: str) -> str:
    value = conn.execute(text('SELECT value FROM site_setting WHERE key = :key'), {'key': key}).scalar_one_or_none()
    return default if value is None else str(value)


def _largest_tolerance(conn: Connection) -> int:
    """The over-receipt tolerance now, or the largest it has been: a receipt inside the tolerance of its day
    stays right when an admin lowers it later."""
    values = [_setting(conn, 'over_receipt_pct', '0')]
    changes = conn.execute(
        text(
            "SELECT before, after FROM audit_event WHERE action = 'setting.change' AND entity = 'setting' "
            "AND entity_id = 'over_receipt_pct'"
        )
    )
    for before, after in changes:
        values += [json.loads(side).get('value', '0') for side in (before, after) if side]
    return max(int(v) for v in values if str(v).isdigit())


def _over_receipts(conn: Connection) -> list[FlowMismatch | TransitMismatch | OverReceipt]:
    tolerance = _largest_tolerance(conn)
    found: list[Any] = []
    for order, route, code, sent, beyond in conn.execute(text(OVER_SQL)):
        steps = route_codes(route)
        if code not in steps or steps[0] == code:  # off the route: the site's choice; first step: the plan
            continue
        allowed = int(sent) * tolerance // 100
        if int(beyond) > allowed:
            found.append(OverReceipt(order, code, int(sent), int(beyond), allowed))
    return found
