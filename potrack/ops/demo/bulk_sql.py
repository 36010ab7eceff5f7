"""The statements of the demo's bulk path (fast_path) that build the derived rows from the movements it
loaded: balances (with scrap and rework) and transit rows, from the ledger's sums, in the load's transaction.
PostgreSQL and SQLite run the same text but for the "latest row's value" of a group, which each says its
own way. Parameters are named as SQLAlchemy's text() names them (`:first_id`); `for_psycopg2` turns them
into the driver's own for a raw cursor.
"""

from __future__ import annotations

import re

# The balances of every (work center, order) pair with a movement newer than :first_id (the rows just
# loaded), from the sums of its movements. Only the new rows are grouped (one range scan, no join); a
# pair that had a balance row already is recomputed from all its movements in the DO UPDATE, so the
# result never depends on what that row held. `WHERE` is needed by SQLite before ON CONFLICT in an
# INSERT … SELECT; PostgreSQL runs the same text.
_BALANCES = """
INSERT INTO order_balance (work_center_id, order_number, qty_in, qty_out, qty_scrap, qty_rework,
                           last_movement_at, last_user_id)
SELECT p.work_center_id, p.order_number,
       SUM(CASE WHEN p.movement_type = 'IN' THEN p.quantity ELSE 0 END),
       SUM(CASE WHEN p.movement_type = 'OUT' THEN p.quantity ELSE 0 END),
       SUM(CASE WHEN p.disposition = 'scrap' THEN p.quantity ELSE 0 END),
       SUM(CASE WHEN p.disposition = 'rework' THEN p.quantity ELSE 0 END),
       MAX(p.created_at),
       {last_user_p}
FROM production_order p
WHERE p.id > :first_id
GROUP BY p.work_center_id, p.order_number
ON CONFLICT (work_center_id, order_number) DO UPDATE SET
    (qty_in, qty_out, qty_scrap, qty_rework, last_movement_at, last_user_id) = (
        SELECT SUM(CASE WHEN q.movement_type = 'IN' THEN q.quantity ELSE 0 END),
               SUM(CASE WHEN q.movement_type = 'OUT' THEN q.quantity ELSE 0 END),
               SUM(CASE WHEN q.disposition = 'scrap' THEN q.quantity ELSE 0 END),
               SUM(CASE WHEN q.disposition = 'rework' THEN q.quantity ELSE 0 END),
               MAX(q.created_at),
               {last_user_q}
        FROM production_order q
        WHERE q.work_center_id = excluded.work_center_id AND q.order_number = excluded.order_number
    )
"""
# The transit rows of every (order, receiving work center) pair that a new movement sent pieces to (an OUT's
# to_work_center_id) or took pieces from (an IN's own work center), from the sums of transit_qty; as for the
# balances, a pair that had a row already is recomputed from all its movements (on top of its opening
# transit, which no movement sent). The latest sender and time come from the latest OUT of the pair.
_TRANSIT = """
INSERT INTO order_transit (order_number, work_center_id, qty_sent, qty_received, qty_opening,
                           last_from_id, last_sent_at)
SELECT p.order_number, COALESCE(p.to_work_center_id, p.work_center_id),
       SUM(CASE WHEN p.movement_type = 'OUT' THEN p.transit_qty ELSE 0 END),
       SUM(CASE WHEN p.movement_type = 'IN' THEN p.transit_qty ELSE 0 END),
       0,
       {last_from_p},
       MAX(CASE WHEN p.movement_type = 'OUT' THEN p.created_at END)
FROM production_order p
WHERE p.id > :first_id AND p.transit_qty <> 0
GROUP BY p.order_number, COALESCE(p.to_work_center_id, p.work_center_id)
ON CONFLICT (order_number, work_center_id) DO UPDATE SET
    (qty_sent, qty_received, last_from_id, last_sent_at) = (
        SELECT order_transit.qty_opening + SUM(CASE WHEN q.movement_type = 'OUT' THEN q.transit_qty ELSE 0 END),
               SUM(CASE WHEN q.movement_type = 'IN' THEN q.transit_qty ELSE 0 END),
               COALESCE({last_from_q}, order_transit.last_from_id),
               COALESCE(MAX(CASE WHEN q.movement_type = 'OUT' THEN q.created_at END), order_transit.last_sent_at)
        FROM production_order q
        WHERE q.order_number = excluded.order_number AND q.transit_qty <> 0
          AND COALESCE(q.to_work_center_id, q.work_center_id) = excluded.work_center_id
    )
"""
# Rows whose pieces wait get a time (the latest send; `fast_path._waiting_since` then puts the plan's own on those
# still waiting at the end), rows with nothing on the way lose theirs; every other row keeps its time.
PENDING_SINCE = """
UPDATE order_transit
SET pending_since = CASE WHEN qty_sent > qty_received THEN last_sent_at END
WHERE (qty_sent > qty_received) <> (pending_since IS NOT NULL)
"""
WAITING_SINCE = """
UPDATE order_transit SET pending_since = :since
WHERE order_number = :o AND work_center_id = :wc AND pending_since IS NOT NULL
"""
# The user of each pair's latest movement. SQLite: a bare column next to a single MAX() comes from the
# row holding that maximum (documented SQLite behaviour).
_LAST_USER_PG = '(ARRAY_AGG({t}.user_id ORDER BY {t}.created_at DESC, {t}.id DESC))[1]'
_LAST_USER_SQLITE = '{t}.user_id'
# The sender of each transit pair's latest OUT; on SQLite the same bare-column rule, the MAX() being the
# latest OUT's time (an IN's is NULL there).
_OUTS_ONLY = "FILTER (WHERE {t}.movement_type = 'OUT')"
_LAST_FROM_PG = '(ARRAY_AGG({t}.work_center_id ORDER BY {t}.created_at DESC, {t}.id DESC) ' + _OUTS_ONLY + ')[1]'
_LAST_FROM_SQLITE = '{t}.work_center_id'


def balances_sql(postgres: bool) -> str:
    last_user = _LAST_USER_PG if postgres else _LAST_USER_SQLITE
    return _BALANCES.format(last_user_p=last_user.format(t='p'), last_user_q=last_user.format(t='q'))


def transit_sql(postgres: bool) -> str:
    last_from = _LAST_FROM_PG if postgres else _LAST_FROM_SQLITE
    return _TRANSIT.format(last_from_p=last_from.format(t='p'), last_from_q=last_from.format(t='q'))


def for_psycopg2(sql: str) -> str:
    """`:name` parameters as psycopg2's `%(name)s`."""
    return re.sub(r'(?<![:\w]):(\w+)', r'%(\1)s', sql)
