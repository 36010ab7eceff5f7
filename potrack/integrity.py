"""The ledger's invariant: every balance row equals the sums of its movements, and none is negative."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from potrack.db.engine import Database, database

# Full outer join emulated with a UNION so it runs on SQLite too.
MISMATCH_SQL = """
WITH sums AS (
    SELECT work_center_id, order_number,
           SUM(CASE WHEN movement_type = 'IN' THEN quantity ELSE 0 END) AS qty_in,
           SUM(CASE WHEN movement_type = 'OUT' THEN quantity ELSE 0 END) AS qty_out
    FROM production_order GROUP BY work_center_id, order_number
)
SELECT b.work_center_id, b.order_number, b.qty_in, b.qty_out, COALESCE(s.qty_in, 0), COALESCE(s.qty_out, 0)
FROM order_balance b LEFT JOIN sums s
  ON s.work_center_id = b.work_center_id AND s.order_number = b.order_number
WHERE b.qty_in <> COALESCE(s.qty_in, 0) OR b.qty_out <> COALESCE(s.qty_out, 0)
   OR b.qty_out < 0 OR b.qty_out > b.qty_in
UNION ALL
SELECT s.work_center_id, s.order_number, NULL, NULL, s.qty_in, s.qty_out
FROM sums s LEFT JOIN order_balance b
  ON s.work_center_id = b.work_center_id AND s.order_number = b.order_number
WHERE b.work_center_id IS NULL AND (s.qty_in <> 0 OR s.qty_out <> 0)
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class Mismatch:
    work_center_id: int
    order_number: str
    balance_in: int | None
    balance_out: int | None
    ledger_in: int
    ledger_out: int

    def describe(self) -> str:
        stored = 'no balance row' if self.balance_in is None else f'balance IN {self.balance_in} OUT {self.balance_out}'
        return (
            f'work center {self.work_center_id} order {self.order_number}: {stored}, '
            f'movements IN {self.ledger_in} OUT {self.ledger_out}'
        )


@dataclass(frozen=True)
class CheckReport:
    balance_rows: int
    movements: int
    mismatches: list[Mismatch]

    @property
    def consistent(self) -> bool:
        return not self.mismatches


def check_consistency(db: Database | None = None, *, limit: int = 20) -> CheckReport:
    """Compare every order_balance row with the sums of its movements; the first `limit` mismatches."""
    db = db or database()
    with db.read() as session:
        conn = session.connection()
        rows = conn.execute(text(MISMATCH_SQL + f' LIMIT {int(limit)}')).all()
        balance_rows = conn.execute(text('SELECT COUNT(*) FROM order_balance')).scalar_one()
        movements = conn.execute(text('SELECT COUNT(*) FROM production_order')).scalar_one()
    return CheckReport(int(balance_rows), int(movements), [Mismatch(*r) for r in rows])
