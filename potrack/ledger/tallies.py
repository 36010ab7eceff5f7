"""The ledger's tallies: what search totals add up instead of counting every movement that matches.

Two, both written by the ledger in the movement's own transaction (statements.py), so they are exact:

- per (work center, order), in its order_balance row: how many IN and OUT movements (reversals included),
  with the oldest and newest movement times; the row's qty_in and qty_out are already the quantities. A pair
  whose movements all lie inside a date range counts whole; only the pairs a range's ends cut through are
  counted movement by movement (totals.py).
- per (work center, hour in UTC), in movement_hour: the same numbers for every movement of that hour. Totals
  with no order filter add up whole hours (5 work centers × a month: a few thousand rows, against a million
  movements), and count only the movements of the part-hours at a range's ends (local midnight in India is
  at half past the hour in UTC).

The demo's bulk load and the migration that brought the tallies fill them from the ledger with the
statements below; `check_consistency` compares them with the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, bindparam, cast, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from potrack.db.models import IN
from potrack.db.tables import BALANCES, HOURS

# PostgreSQL: a movement's hour row is one of this many, by its id, so that writers at one work center in the
# same hour rarely wait on each other's row lock until their commit (8 writers: about one wait in 16 movements).
HOUR_SHARDS = 16
_NUMBERS = ('moves_in', 'moves_out', 'qty_in', 'qty_out')


def hour_of(at: datetime) -> datetime:
    """The UTC hour a movement at `at` is tallied in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def tally_params(values: dict[str, Any]) -> dict[str, Any]:
    """The tally's parameters of a movement (its columns in `values`), for the write path's statements."""
    into_in = values['movement_type'] == IN
    quantity = values['quantity']
    return {
        'n_in': 1 if into_in else 0,
        'n_out': 0 if into_in else 1,
        'h_qty_in': quantity if into_in else 0,
        'h_qty_out': 0 if into_in else quantity,
        'hour': hour_of(values['created_at']),
    }


def pair_tally_set(postgres: bool) -> dict[str, Any]:
    """The SET of a balance row's UPDATE that adds a movement (`at`) to the pair's tally."""
    at = bindparam('at', type_=BALANCES.c.last_movement_at.type)
    if postgres:  # LEAST and GREATEST pass over a NULL (a row the entry inserted a moment ago)
        oldest, newest = func.least(BALANCES.c.first_movement_at, at), func.greatest(BALANCES.c.last_movement_at, at)
    else:  # SQLite's two-argument min and max: NULL if either is; times compare as their stored text
        oldest = func.min(func.coalesce(BALANCES.c.first_movement_at, at), at)
        newest = func.max(func.coalesce(BALANCES.c.last_movement_at, at), at)
    return {
        'moves_in': BALANCES.c.moves_in + bindparam('n_in', type_=BigInteger),
        'moves_out': BALANCES.c.moves_out + bindparam('n_out', type_=BigInteger),
        'first_movement_at': oldest,
        'last_movement_at': newest,
    }


def hour_upsert(postgres: bool, movement: Any = None) -> Any:
    """Add a movement to its hour's row, inserted for the hour's first. PostgreSQL: from the CTE `movement` of
    the inserted movement (none: nothing added), its shard from the id; SQLite: shard 0."""
    hour = bindparam('hour', type_=HOURS.c.hour.type)
    params = ('n_in', 'n_out', 'h_qty_in', 'h_qty_out')
    if postgres:  # PREPARE types a parameter by its first use: the casts say what each is
        numbers = [cast(bindparam(name, type_=BigInteger), BigInteger) for name in params]
        shard = func.mod(movement.c.id, HOUR_SHARDS)  # mod(), not %: the PREPARE text goes through the driver
        row = select(cast(bindparam('wc', type_=Integer), Integer), cast(hour, hour.type), shard)
        statement = pg_insert(HOURS).from_select(
            ['work_center_id', 'hour', 'shard', *_NUMBERS], row.add_columns(*numbers).select_from(movement)
        )
    else:
        values = {name: bindparam(param, type_=BigInteger) for name, param in zip(_NUMBERS, params, strict=True)}
        statement = sqlite_insert(HOURS).values(
            work_center_id=bindparam('wc'), hour=hour, shard=literal(0, Integer), **values
        )
    return statement.on_conflict_do_update(
        index_elements=['work_center_id', 'hour', 'shard'],
        set_={name: HOURS.c[name] + statement.excluded[name] for name in _NUMBERS},
    )


# From the ledger itself: the hour rows of the movements with an id above :first_id added to those there are
# (a bulk load: 0 for all), and every pair's tally recomputed from its movements. `{hour}` and `{shard}`
# differ by dialect; the texts run on both, as the demo's bulk statements do (ops/demo/bulk_sql.py).
_ADD_HOURS = """
INSERT INTO movement_hour (work_center_id, hour, shard, moves_in, moves_out, qty_in, qty_out)
SELECT work_center_id, {hour}, {shard},
       SUM(CASE WHEN movement_type = 'IN' THEN 1 ELSE 0 END),
       SUM(CASE WHEN movement_type = 'OUT' THEN 1 ELSE 0 END),
       SUM(CASE WHEN movement_type = 'IN' THEN quantity ELSE 0 END),
       SUM(CASE WHEN movement_type = 'OUT' THEN quantity ELSE 0 END)
FROM production_order
WHERE id > :first_id
GROUP BY 1, 2, 3
ON CONFLICT (work_center_id, hour, shard) DO UPDATE SET
    moves_in = movement_hour.moves_in + excluded.moves_in,
    moves_out = movement_hour.moves_out + excluded.moves_out,
    qty_in = movement_hour.qty_in + excluded.qty_in,
    qty_out = movement_hour.qty_out + excluded.qty_out
"""
_HOUR = {
    # date_trunc of a timestamptz cuts in the session's zone; the UTC hour is cut from the UTC wall time.
    True: "date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    # SQLite keeps '2026-12-07 17:42:36.123456' (UTC): the hour is its first 13 characters, padded as stored.
    False: "substr(created_at, 1, 13) || ':00:00.000000'",
}
_SHARD = {True: f'mod(id, {HOUR_SHARDS})', False: '0'}  # mod(), not %: a psycopg2 cursor runs it too
# The counts and the oldest and newest times of pairs, from all their movements (a pair with none keeps zeros).
_PAIR_COUNTS = """SELECT work_center_id, order_number,
             SUM(CASE WHEN movement_type = 'IN' THEN 1 ELSE 0 END) AS n_in,
             SUM(CASE WHEN movement_type = 'OUT' THEN 1 ELSE 0 END) AS n_out,
             MIN(created_at) AS oldest, MAX(created_at) AS newest
      FROM production_order {movements}
      GROUP BY work_center_id, order_number"""
_PAIRS = (
    """
UPDATE order_balance SET moves_in = s.n_in, moves_out = s.n_out, first_movement_at = s.oldest,
                         last_movement_at = s.newest
FROM ("""
    + _PAIR_COUNTS
    + """) AS s
WHERE order_balance.work_center_id = s.work_center_id AND order_balance.order_number = s.order_number {pairs}
"""
)
_SINCE = """WHERE (work_center_id, order_number) IN (
          SELECT work_center_id, order_number FROM production_order WHERE id > :first_id)"""


def pairs_sql(movements: str = _SINCE, pairs: str = '') -> str:
    """The statement that counts pairs' tallies anew: by default those with a movement above :first_id;
    `movements` (a WHERE on production_order) and `pairs` (an AND on order_balance) say otherwise."""
    return _PAIRS.format(movements=movements, pairs=pairs)


def tally_sql(postgres: bool) -> tuple[str, str]:
    """The statements that tally the movements with an id above :first_id (a bulk load's): their hours added,
    their pairs counted anew from all their movements."""
    return _ADD_HOURS.format(hour=_HOUR[postgres], shard=_SHARD[postgres]), pairs_sql()


def rebuild_tallies(conn: Connection) -> None:
    """Both tallies anew from the ledger, in `conn`'s transaction: the migration that brought them, and the
    demo after it moved its movements' times. Seconds at a million movements, writers held back meanwhile."""
    postgres = conn.dialect.name == 'postgresql'
    if postgres:  # see WRITERS_OUT
        conn.exec_driver_sql(WRITERS_OUT)
    conn.exec_driver_sql('DELETE FROM movement_hour')
    for sql in tally_sql(postgres):
        conn.execute(text(sql), {'first_id': 0})


def catch_up_tallies(conn: Connection) -> None:
    """Rebuild the tallies when they do not count every movement: after the migration that brought them
    (empty), and after a rolling upgrade, during which instances of an older potrack recorded movements
    without them. Run at each start (integrity.catch_up); the check reads the ledger's count once. On
    PostgreSQL a rebuild holds back the running instances' writes until it commits (10 s at a million
    movements)."""
    if _counts_differ(conn):
        if conn.dialect.name == 'postgresql':  # the writers out first, then a look whether it still differs
            conn.exec_driver_sql(WRITERS_OUT)
        if _counts_differ(conn):
            rebuild_tallies(conn)


# PostgreSQL: no movement may commit while the tallies are counted anew (its counts would be lost, or counted
# twice). SHARE ROW EXCLUSIVE waits for the writers in flight and holds back new ones until the commit; the two
# tables in the order every writer takes them (its balance row first, then the hour), so no deadlock.
WRITERS_OUT = 'LOCK TABLE order_balance, movement_hour IN SHARE ROW EXCLUSIVE MODE'
# One statement, so one snapshot: counts taken apart would differ whenever a movement committed in between.
_COUNTS = """
SELECT (SELECT COUNT(*) FROM production_order),
       (SELECT COALESCE(SUM(moves_in + moves_out), 0) FROM movement_hour),
       (SELECT COALESCE(SUM(moves_in + moves_out), 0) FROM order_balance)
"""


def _counts_differ(conn: Connection) -> bool:
    movements, hours, pairs = conn.exec_driver_sql(_COUNTS).one()
    return not movements == hours == pairs


# The pairs whose tally differs from their movements, and the hours whose rows (all shards) differ from theirs.
# A pair's times need only hold its movements between them: totals take a pair whole only when both lie inside
# the range, so a time too early or too late costs a count of its movements, never a wrong total. (The ledger
# keeps them exact; a balance's newest time set later by hand, as a test of the activity catch-up does, is no
# error here.)
_PAIR_FINDINGS = (
    """
SELECT b.work_center_id, b.order_number, b.moves_in, b.moves_out, b.first_movement_at, b.last_movement_at,
       COALESCE(s.n_in, 0), COALESCE(s.n_out, 0), s.oldest, s.newest
FROM order_balance b LEFT JOIN (
    """
    + _PAIR_COUNTS.format(movements='')
    + """
) s ON s.work_center_id = b.work_center_id AND s.order_number = b.order_number
WHERE b.moves_in <> COALESCE(s.n_in, 0) OR b.moves_out <> COALESCE(s.n_out, 0)
   OR (s.oldest IS NOT NULL AND (b.first_movement_at IS NULL OR b.first_movement_at > s.oldest
                                 OR b.last_movement_at IS NULL OR b.last_movement_at < s.newest))
ORDER BY b.order_number, b.work_center_id
LIMIT :limit
"""
)
_HOUR_FINDINGS = """
WITH kept AS (
    SELECT work_center_id, hour, SUM(moves_in) AS n_in, SUM(moves_out) AS n_out,
           SUM(qty_in) AS q_in, SUM(qty_out) AS q_out
    FROM movement_hour GROUP BY work_center_id, hour
), counted AS (
    SELECT work_center_id, {hour} AS hour,
           SUM(CASE WHEN movement_type = 'IN' THEN 1 ELSE 0 END) AS n_in,
           SUM(CASE WHEN movement_type = 'OUT' THEN 1 ELSE 0 END) AS n_out,
           SUM(CASE WHEN movement_type = 'IN' THEN quantity ELSE 0 END) AS q_in,
           SUM(CASE WHEN movement_type = 'OUT' THEN quantity ELSE 0 END) AS q_out
    FROM production_order GROUP BY 1, 2
), every AS (
    SELECT work_center_id, hour FROM kept UNION SELECT work_center_id, hour FROM counted
)
SELECT e.work_center_id, e.hour, k.n_in, k.n_out, k.q_in, k.q_out, c.n_in, c.n_out, c.q_in, c.q_out
FROM every e
LEFT JOIN kept k ON k.work_center_id = e.work_center_id AND k.hour = e.hour
LEFT JOIN counted c ON c.work_center_id = e.work_center_id AND c.hour = e.hour
WHERE COALESCE(k.n_in, 0) <> COALESCE(c.n_in, 0) OR COALESCE(k.n_out, 0) <> COALESCE(c.n_out, 0)
   OR COALESCE(k.q_in, 0) <> COALESCE(c.q_in, 0) OR COALESCE(k.q_out, 0) <> COALESCE(c.q_out, 0)
ORDER BY e.work_center_id, e.hour
LIMIT :limit
"""


@dataclass(frozen=True)
class TallyMismatch:
    """A pair's or an hour's tally that differs from the movements it stands for."""

    where: str
    stored: tuple[Any, ...]
    counted: tuple[Any, ...]

    def describe(self) -> str:
        return f'{self.where}: tally {self.stored}, movements {self.counted}'


def tally_findings(conn: Connection, limit: int) -> list[TallyMismatch]:
    """Up to `limit` pairs, then hours, whose tallies differ from the ledger (for check_consistency)."""
    found = [
        TallyMismatch(f'work center {r[0]} order {r[1]}', _plain(r[2:6]), _plain(r[6:10]))
        for r in conn.execute(text(_PAIR_FINDINGS), {'limit': limit})
    ]
    if len(found) < limit:
        hours = text(_HOUR_FINDINGS.format(hour=_HOUR[conn.dialect.name == 'postgresql']))
        found += [
            TallyMismatch(f'work center {r[0]} hour {r[1]} UTC', _plain(r[2:6]), _plain(r[6:10]))
            for r in conn.execute(hours, {'limit': limit - len(found)})
        ]
    return found


def _plain(values: Any) -> tuple[Any, ...]:
    """Sums as ints (PostgreSQL's SUM of a bigint is a numeric), times as they came."""
    return tuple(int(v) if isinstance(v, Decimal) else v for v in values)
