"""Demo data: one operator per department, and orders flowing down the line over the last 30 days.

`run_demo` is what `potrack demo` runs. It creates (or resets) a demo operator per active department
and prints their passwords, then adds exactly the number of movements asked for: orders of 20–500
pieces released at the first work center of the line (the active work centers by code, WC001…WC005
when provisioned), coming IN in batches, going OUT in batches to the next work center, minutes to hours
apart. The movements are planned in time order and end a few minutes ago, so the latest orders are
only part-way down the line: that is the work in progress the balances show.

Two ways to write them:

- the real path (default below FAST_THRESHOLD movements) records every movement through
  `ledger.record_movement`, exactly as a kiosk would, then backdates the rows it made to their planned
  times in one demo-only transaction;
- the fast path bulk-loads the ledger (PostgreSQL COPY, SQLite executemany) and builds the balances of
  the touched (work center, order) pairs from the ledger sums, all in one transaction.

Either way `integrity.check_consistency` holds afterwards, and it is checked before the summary.
The fast path assumes nobody else records movements of the demo's brand-new orders meanwhile.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate, chain, pairwise
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, text, update
from sqlmodel import Session, col, select

from potrack.accounts import security
from potrack.accounts.users import end_sessions, insert_user
from potrack.common import audit
from potrack.common.actors import Actor
from potrack.db.engine import Database
from potrack.db.models import (
    IN,
    OUT,
    Department,
    OrderBalance,
    User,
    WorkCenter,
    WorkCenterDepartment,
)
from potrack.db.tables import ACTIVITY, BALANCES, MOVEMENTS
from potrack.db.types import UTCDateTime
from potrack.errors import InvalidInput, PotrackError
from potrack.ledger.integrity import catch_up_activity, check_consistency
from potrack.ledger.writer import record_movement
from potrack.ops.provision import DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, default_password_active
from potrack.timeutil import local_today

FAST_THRESHOLD = 100_000
MAX_MOVEMENTS = 10_000_000
MINUTE = 60.0
DAY = 86_400.0
TARGET_SPAN_S = 28 * DAY  # orders are released over about this long ...
MAX_SPAN_S = 29.5 * DAY  # ... and the first movement is never older than this
ORDER_QTY = (20, 500)
MAX_GAP_S = 12 * 3600.0  # orders are released at least this often
# Departments that staff the stations do most of the entries; the others (engineering, management …)
# may see the same work centers and now and then record something too.
SHOP_FLOOR_DEPARTMENTS = {'production': 10.0, 'quality control': 10.0}
OTHER_DEPARTMENT_WEIGHT = 1.0
COPY_COLUMNS = 'order_number, work_center_id, quantity, movement_type, user_id, created_at, request_id'

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOperator:
    user_id: int
    username: str
    password: str
    department: str
    work_center_ids: tuple[int, ...]
    work_center_codes: tuple[str, ...]


class Movement(NamedTuple):
    """One planned movement, ready to write; `at` is POSIX seconds (UTC)."""

    at: float
    order_number: str
    work_center_id: int
    movement_type: str
    quantity: int
    user_id: int
    order_seq: int  # 0 for this run's first order, 1 for the next …


@dataclass(frozen=True)
class _Line:
    """The work centers orders flow through, in order, and who may record at each."""

    work_center_ids: tuple[int, ...]
    codes: tuple[str, ...]
    candidates: tuple[tuple[tuple[int, ...], tuple[float, ...]], ...]  # per work center: user ids, cumulative weights


@dataclass(frozen=True)
class _Plan:
    """Everything that fixes the planned movements: replaying it yields the same movements again."""

    seed: int
    movements: int
    gap_s: float  # mean time between two order releases
    t_end: float  # timeline time of the last movement
    end_at: float  # POSIX time the last movement is placed at
    scale: float  # timeline seconds → real seconds (≤ 1, only to keep within MAX_SPAN_S)
    prefix: str
    first_number: int
    token: str  # makes this run's request ids unique

    def order_number(self, seq: int) -> str:
        return f'{self.prefix}{self.first_number + seq:06d}'


def run_demo(
    db: Database, *, movements: int, fast: bool | None, out: Callable[[str], None], seed: int | None = None
) -> None:
    """Create the demo operators and add exactly `movements` movements; print what a newcomer needs.

    `fast=None` bulk-loads when `movements >= FAST_THRESHOLD`. Raises InvalidInput for a count out of
    range and PotrackError when the consistency check fails afterwards (it should never).
    """
    if not 0 <= movements <= MAX_MOVEMENTS:
        raise InvalidInput(f'Ask for 0 to {MAX_MOVEMENTS:,} demo movements.', field='movements')
    bulk = movements >= FAST_THRESHOLD if fast is None else fast
    started = time.monotonic()
    operators = _demo_operators(db)
    _print_operators(db, operators, out)
    if movements == 0:
        return
    line = _line(db, operators)
    plan = _make_plan(db, movements, seed if seed is not None else random.SystemRandom().randrange(2**63), line)
    how = 'bulk load' if bulk else 'the ledger write path'
    out(
        f'Adding {movements:,} movements through {how}: orders from {plan.order_number(0)} on, '
        f'flowing {" → ".join(line.codes)} over the last {_span_days(plan):.0f} days.'
    )
    orders = _load_bulk(db, plan, line, out) if bulk else _load_real(db, plan, line, out)
    _summary(db, plan, orders, time.monotonic() - started, out)


# --- demo operators ------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    chars = [c if c.isascii() and c.isalnum() else '-' for c in name.strip().lower()]
    return '-'.join(part for part in ''.join(chars).split('-') if part)[:35].strip('-') or 'dept'


def _demo_operators(db: Database) -> list[DemoOperator]:
    """One active operator per active department, with a fresh password (created or reset)."""

    def unit(session: Session) -> list[DemoOperator]:
        made: list[DemoOperator] = []
        departments = session.exec(select(Department).where(Department.is_active).order_by(Department.name)).all()
        for dept in departments:
            assert dept.id is not None
            username = f'demo-{_slug(dept.name)}'
            password = security.generate_password()
            user = session.exec(select(User).where(func.lower(User.username) == username)).first()
            if user is None:
                user = insert_user(
                    session,
                    username=username,
                    password=password,
                    full_name=f'Demo Operator ({dept.name})',
                    department_id=dept.id,
                    must_change_password=False,
                )
            else:
                # Reset it so the password printed below is the one that works.
                user.password_hash = security.hash_password(password)
                user.department_id, user.is_admin, user.is_active = dept.id, False, True
                user.must_change_password, user.failed_signins, user.locked_until = False, 0, None
                session.add(user)
                session.flush()
                assert user.id is not None
                end_sessions(session, user.id, 'password reset')
                audit.record(
                    session,
                    actor_id=None,
                    action='user.reset_password',
                    entity='user',
                    entity_id=user.id,
                    after={'by': 'potrack demo', 'department_id': dept.id},
                )
            assert user.id is not None
            wcs = session.exec(
                select(WorkCenter.id, WorkCenter.code)
                .join(WorkCenterDepartment, col(WorkCenterDepartment.work_center_id) == WorkCenter.id)
                .where(WorkCenterDepartment.department_id == dept.id, WorkCenter.is_active)
                .order_by(WorkCenter.code)
            ).all()
            made.append(
                DemoOperator(
                    user.id,
                    user.username,
                    password,
                    dept.name,
                    tuple(wc_id for wc_id, _ in wcs if wc_id is not None),
                    tuple(code for _, code in wcs),
                )
            )
        return made

    return db.write(unit)


def _print_operators(db: Database, operators: list[DemoOperator], out: Callable[[str], None]) -> None:
    rows = [('username', 'password', 'department', 'work centers')]
    rows += [(o.username, o.password, o.department, ' '.join(o.work_center_codes) or '-') for o in operators]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out(f'{len(operators)} demo operators, one per department; each sees its department’s work centers:')
    for i, r in enumerate(rows):
        out('  ' + '  '.join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            out('  ' + '  '.join('-' * w for w in widths))
    with db.read() as session:
        admins = session.exec(select(User.username).where(User.is_admin, User.is_active).order_by(User.username)).all()
    if default_password_active(db):
        out(
            f'Administrator: {DEFAULT_ADMIN} / {DEFAULT_ADMIN_PASSWORD} — you must choose a new password '
            'at the first sign-in; admins see every work center.'
        )
    elif admins:
        out(
            f'Administrator(s): {", ".join(admins)} with the password you set '
            '(forgotten? `potrack create-admin NAME` resets it); admins see every work center.'
        )
    else:
        out('No active administrator: create one with `potrack create-admin NAME`.')


# --- planning --------------------------------------------------------------------------------------------


def _line(db: Database, operators: list[DemoOperator]) -> _Line:
    """The active work centers by code, and for each the users that may record there."""
    with db.read() as session:
        wcs = session.exec(select(WorkCenter.id, WorkCenter.code).where(WorkCenter.is_active).order_by(WorkCenter.code))
        wc_rows = [(wc_id, code) for wc_id, code in wcs.all() if wc_id is not None]
        admin_id = session.exec(
            select(User.id).where(User.is_admin, User.is_active).order_by(col(User.id)).limit(1)
        ).first()
    if not wc_rows:
        raise InvalidInput('There is no active work center to put demo orders through.')
    candidates = []
    for wc_id, code in wc_rows:
        users = [o for o in operators if wc_id in o.work_center_ids]
        weights = [SHOP_FLOOR_DEPARTMENTS.get(o.department.lower(), OTHER_DEPARTMENT_WEIGHT) for o in users]
        ids = [o.user_id for o in users]
        if not ids:  # no demo operator's department sees it: an administrator records there
            if admin_id is None:
                raise InvalidInput(f'Nobody may record at {code}: link it to a department first.')
            ids, weights = [admin_id], [1.0]
        candidates.append((tuple(ids), tuple(accumulate(weights))))
    return _Line(tuple(i for i, _ in wc_rows), tuple(c for _, c in wc_rows), tuple(candidates))


def _split(rnd: Callable[[], float], total: int, parts: int) -> list[int]:
    """`total` pieces in `parts` (1–3) positive batches."""
    if parts < 2 or total < parts:
        return [total]
    cuts = {1 + int(rnd() * (total - 1)) for _ in range(parts - 1)}
    bounds = [0, *sorted(cuts), total]
    return [b - a for a, b in pairwise(bounds)]


def _order_steps(rnd: Callable[[], float], n_wc: int) -> list[tuple[float, int, str, int]]:
    """One order's whole journey: (seconds after release, work center index, IN/OUT, quantity), in time order.

    At each work center the order comes IN in the batches the previous one sent OUT (the first one
    receives the released material in 1–3 batches), waits in the queue there, and goes OUT in 1–3
    batches, each only once enough pieces have arrived and after some work; the next work center
    receives each batch a little later. `rnd` is a `random.Random().random` (fast; plain arithmetic
    instead of randint / uniform, which are several times slower at a million movements).
    """
    lo, hi = ORDER_QTY
    qty = lo + int(rnd() * (hi - lo + 1))
    arrivals: list[tuple[float, int]] = []
    t = 0.0
    for q in _split(rnd, qty, 1 + int(rnd() * 3)):
        arrivals.append((t, q))
        t += (5 + 85 * rnd()) * MINUTE
    steps: list[tuple[float, int, str, int]] = []
    for wc in range(n_wc):
        steps.extend((at, wc, IN, q) for at, q in arrivals)
        sent: list[tuple[float, int]] = []
        received = needed = i = 0
        ready, last_out = 0.0, arrivals[0][0] + (30 + 690 * rnd()) * MINUTE  # waits in the queue first
        for q in _split(rnd, qty, 1 + int(rnd() * 3)):
            needed += q
            while received < needed:
                ready, got = arrivals[i]
                received += got
                i += 1
            last_out = max(last_out, ready) + (20 + 160 * rnd()) * MINUTE  # the work on this batch
            steps.append((last_out, wc, OUT, q))
            sent.append((last_out + (2 + 43 * rnd()) * MINUTE, q))  # carried to the next work center
        arrivals = sent
    steps.sort()
    return steps


def _timeline(seed: int, movements: int, gap_s: float, n_wc: int) -> Iterator[list[tuple[float, int, int, str, int]]]:
    """Exactly `movements` movements of orders released about every `gap_s`, in time order, in batches.

    Yields lists of (timeline seconds, order index, work center index, IN/OUT, quantity). Orders are
    released in time order and each movement of an order comes after its release, so once every order
    released before a boundary is generated, the pending movements before that boundary are final: sort,
    hand them on, keep the rest. Memory stays bounded by the orders under way, however many movements
    are asked for. Stopping at the count leaves the latest orders part-way down the line.
    """
    rnd = random.Random(seed).random
    window = max(6 * 3600.0, 200 * gap_s)
    pending: list[tuple[float, int, int, int, str, int]] = []  # (t, order, step, wc, kind, qty)
    order, release, boundary, left = 0, 0.0, 0.0, movements
    while left > 0:
        boundary += window
        while release < boundary:
            pending += [
                (release + offset, order, step, wc, kind, qty)
                for step, (offset, wc, kind, qty) in enumerate(_order_steps(rnd, n_wc))
            ]
            order += 1
            release += gap_s * (0.3 + 1.4 * rnd())
        pending.sort()
        cut = min(bisect_left(pending, (boundary,)), left)
        if cut:
            yield [(t, o, wc, kind, qty) for t, o, _step, wc, kind, qty in pending[:cut]]
            del pending[:cut]
            left -= cut


def _next_order_number(db: Database, prefix: str) -> int:
    """One more than the highest number already used as PREFIX + digits (demo or not)."""
    start = len(prefix) + 1
    if db.is_postgres:
        cond = 'order_number LIKE :like AND order_number ~ :regex'
        params = {'like': prefix + '%', 'regex': f'^{prefix}[0-9]{{1,15}}$'}
    else:
        cond = 'order_number GLOB :glob AND order_number NOT GLOB :bad AND length(order_number) <= :maxlen'
        params = {'glob': prefix + '[0-9]*', 'bad': prefix + '*[^0-9]*', 'maxlen': len(prefix) + 15}
    sql = f'SELECT MAX(CAST(substr(order_number, {start}) AS BIGINT)) FROM order_balance WHERE {cond}'  # noqa: S608
    with db.read() as session:
        highest = session.connection().execute(text(sql), params).scalar()
    return int(highest or 0) + 1


def _make_plan(db: Database, movements: int, seed: int, line: _Line) -> _Plan:
    """Fix the release rate so the orders cover about TARGET_SPAN_S, and place the last movement minutes ago."""
    n_wc = len(line.work_center_ids)
    sample = random.Random(seed ^ 0x5EED).random
    per_order = sum(len(_order_steps(sample, n_wc)) for _ in range(400)) / 400
    orders = max(1.0, movements / per_order)
    lifetime = 2 * DAY  # about how long an order takes down the whole line
    # A few orders are always under way, so there is work in progress when the plan stops: with few
    # movements asked for, the orders cover less than TARGET_SPAN_S rather than trickle in days apart.
    gap_s = min(MAX_GAP_S, max(1.0, (TARGET_SPAN_S - lifetime) / orders))
    # A first pass over the same seed finds where the timeline ends, so it can be anchored to now.
    t_end = 0.0
    for batch in _timeline(seed, movements, gap_s, n_wc):
        t_end = batch[-1][0]
    scale = min(1.0, MAX_SPAN_S / t_end) if t_end > 0 else 1.0
    prefix = f'PO-{local_today().year}-'
    end_at = time.time() - (1 + 9 * random.Random(seed).random()) * MINUTE
    return _Plan(
        seed, movements, gap_s, t_end, end_at, scale, prefix, _next_order_number(db, prefix), uuid.uuid4().hex[:12]
    )


def _span_days(plan: _Plan) -> float:
    return plan.t_end * plan.scale / DAY


def _movements(plan: _Plan, line: _Line) -> Iterator[list[Movement]]:
    """The planned movements in time order, in batches: real times, order numbers, the user recording each."""
    pick = random.Random(plan.seed + 1).random
    wc_ids = line.work_center_ids
    offset, scale = plan.end_at - plan.t_end * plan.scale, plan.scale
    numbers: dict[int, str] = {}
    for batch in _timeline(plan.seed, plan.movements, plan.gap_s, len(wc_ids)):
        made = []
        for t, order, wc, kind, qty in batch:
            ids, cum = line.candidates[wc]
            user_id = ids[0] if len(ids) == 1 else ids[bisect_right(cum, pick() * cum[-1])]
            number = numbers.get(order)
            if number is None:
                number = numbers[order] = plan.order_number(order)
                numbers.pop(order - 5000, None)  # orders that long ago are finished: keep the dict small
            made.append(Movement(offset + t * scale, number, wc_ids[wc], kind, qty, user_id, order))
        yield made


# --- the real write path ---------------------------------------------------------------------------------


def _load_real(db: Database, plan: _Plan, line: _Line, out: Callable[[str], None]) -> int:
    """Record every movement through the ledger, in time order, then backdate them. Returns the order count."""
    started = time.monotonic()
    made: list[tuple[int, float]] = []  # movement id, planned time
    latest: dict[tuple[int, str], tuple[float, int]] = {}  # (work center, order) → its last planned time, user
    orders = 0
    step = max(1, plan.movements // 10)
    ledger_log = logging.getLogger('potrack.ledger')
    level = ledger_log.level
    ledger_log.setLevel(logging.WARNING)  # one log line per demo movement helps nobody
    try:
        for i, mv in enumerate(chain.from_iterable(_movements(plan, line)), 1):
            result = record_movement(
                Actor(mv.user_id),
                work_center_id=mv.work_center_id,
                order_number=mv.order_number,
                quantity=mv.quantity,
                movement_type=mv.movement_type,
                request_id=f'demo-{plan.token}-{i:08d}',
                db=db,
            )
            made.append((result.movement_id, mv.at))
            latest[(mv.work_center_id, mv.order_number)] = (mv.at, mv.user_id)
            orders = max(orders, mv.order_seq + 1)
            if i % step == 0 or i == plan.movements:
                out(f'  recorded {i:,} / {plan.movements:,} ({100 * i // plan.movements}%), {_elapsed(started)}')
    finally:
        ledger_log.setLevel(level)
    _backdate(db, made, latest)
    out(f'  backdated {len(made):,} movements and {len(latest):,} balance rows to their planned times')
    return orders


def _backdate(db: Database, made: list[tuple[int, float]], latest: dict[tuple[int, str], tuple[float, int]]) -> None:
    """DEMO ONLY — nothing else in potrack ever edits the ledger.

    The ledger stamps each movement with the time it was recorded, i.e. all within the last minute.
    For a believable history this one transaction moves the demo's own new rows to their planned
    times: production_order.created_at by id, and order_balance.last_movement_at / last_user_id to
    the latest planned movement of each (work center, order). Quantities are not touched, so every
    balance still equals the sums of its movements.
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

    db.write(unit)


# --- the fast bulk path ----------------------------------------------------------------------------------

# The balances of every (work center, order) pair with a movement newer than :first_id (the rows just
# loaded), from the sums of its movements. Only the new rows are grouped (one range scan, no join); a
# pair that had a balance row already is recomputed from all its movements in the DO UPDATE, so the
# result never depends on what that row held. `WHERE` is needed by SQLite before ON CONFLICT in an
# INSERT … SELECT; PostgreSQL runs the same text.
_UPSERT_BALANCES = """
INSERT INTO order_balance (work_center_id, order_number, qty_in, qty_out, last_movement_at, last_user_id)
SELECT p.work_center_id, p.order_number,
       SUM(CASE WHEN p.movement_type = 'IN' THEN p.quantity ELSE 0 END),
       SUM(CASE WHEN p.movement_type = 'OUT' THEN p.quantity ELSE 0 END),
       MAX(p.created_at),
       {last_user_p}
FROM production_order p
WHERE p.id > :first_id
GROUP BY p.work_center_id, p.order_number
ON CONFLICT (work_center_id, order_number) DO UPDATE SET
    (qty_in, qty_out, last_movement_at, last_user_id) = (
        SELECT SUM(CASE WHEN q.movement_type = 'IN' THEN q.quantity ELSE 0 END),
               SUM(CASE WHEN q.movement_type = 'OUT' THEN q.quantity ELSE 0 END),
               MAX(q.created_at),
               {last_user_q}
        FROM production_order q
        WHERE q.work_center_id = excluded.work_center_id AND q.order_number = excluded.order_number
    )
"""
# The user of each pair's latest movement. SQLite: a bare column next to a single MAX() comes from the
# row holding that maximum (documented SQLite behaviour).
_LAST_USER_PG = '(ARRAY_AGG({t}.user_id ORDER BY {t}.created_at DESC, {t}.id DESC))[1]'
_LAST_USER_SQLITE = '{t}.user_id'


def _upsert_sql(last_user: str) -> str:
    return _UPSERT_BALANCES.format(last_user_p=last_user.format(t='p'), last_user_q=last_user.format(t='q'))


def _bulk_batches(plan: _Plan, line: _Line, *, postgres: bool) -> Iterator[tuple[list[Any], int]]:
    """The planned movements as rows to bulk-load, in time order, one timeline batch at a time.

    Yields (rows, orders so far). PostgreSQL: COPY text lines of COPY_COLUMNS; SQLite: tuples of them.
    Times are written as text the database reads directly: timestamptz with +00 for PostgreSQL, naive
    UTC 'YYYY-MM-DD HH:MM:SS.ffffff' as UTCDateTime stores it in SQLite. This is `_movements` done
    inline, and the date part is formatted once per minute: at a million rows the Python per row is
    what the load time is made of.
    """
    pick = random.Random(plan.seed + 1).random
    wc_ids = line.work_center_ids
    candidates = line.candidates
    offset, scale = plan.end_at - plan.t_end * plan.scale, plan.scale
    suffix = '+00' if postgres else ''
    rid = f'demo-{plan.token}-'  # + a zero-padded counter: appends at the end of the unique index
    minute_at, minute_text = -1, ''
    number, number_of = '', -1
    counter, orders = 0, 0
    for batch in _timeline(plan.seed, plan.movements, plan.gap_s, len(wc_ids)):
        rows: list[Any] = []
        for t, order, wc, kind, qty in batch:
            counter += 1
            ids, cum = candidates[wc]
            user_id = ids[0] if len(ids) == 1 else ids[bisect_right(cum, pick() * cum[-1])]
            if order != number_of:
                number, number_of = plan.order_number(order), order
                orders = max(orders, order + 1)
            at = offset + t * scale
            whole = int(at)
            minute, sec = divmod(whole, 60)
            if minute != minute_at:
                minute_at = minute
                minute_text = datetime.fromtimestamp(minute * 60, UTC).strftime('%Y-%m-%d %H:%M:')
            stamp = f'{minute_text}{sec:02d}.{int((at - whole) * 1_000_000):06d}{suffix}'
            if postgres:
                rows.append(f'{number}\t{wc_ids[wc]}\t{qty}\t{kind}\t{user_id}\t{stamp}\t{rid}{counter:08d}\n')
            else:
                rows.append((number, wc_ids[wc], qty, kind, user_id, stamp, f'{rid}{counter:08d}'))
        yield rows, orders


def _load_bulk(db: Database, plan: _Plan, line: _Line, out: Callable[[str], None]) -> int:
    """Bulk-load the planned movements and build their balances in one transaction. Returns the order count."""
    started = time.monotonic()
    progress = _Progress(plan.movements, started, out)
    if db.is_postgres:
        orders = _load_bulk_postgres(db, plan, line, progress)
    else:
        orders = _load_bulk_sqlite(db, plan, line, progress)
    with db.engine.begin() as conn:  # the new orders' activity times, from the balances just built
        catch_up_activity(conn)
    out(f'  built the balances and committed, {_elapsed(started)}')
    if db.is_postgres:
        _vacuum_analyze(db)
        out(f'  vacuumed and analyzed the tables, {_elapsed(started)}')
    return orders


class _Progress:
    """Says how far the load is, every tenth."""

    def __init__(self, total: int, started: float, out: Callable[[str], None]) -> None:
        self.total, self.started, self.out = total, started, out
        self.done = self.said = 0

    def add(self, rows: int) -> None:
        self.done += rows
        tenth = 10 * self.done // self.total
        if tenth > self.said:
            self.said = tenth
            self.out(f'  loaded {self.done:,} / {self.total:,} ({10 * tenth}%), {_elapsed(self.started)}')


class _CopySource:
    """A file for `copy_expert` to read from, filled batch by batch as PostgreSQL asks for more.

    One COPY streams all rows: the server parses and indexes a batch while Python makes the next one
    (a COPY per chunk would leave each side idle while the other works), and memory holds one batch.
    """

    def __init__(self, batches: Iterator[tuple[list[str], int]], progress: _Progress) -> None:
        self.batches, self.progress = batches, progress
        self.orders = 0

    def read(self, size: int = -1) -> str:
        for lines, orders in self.batches:
            self.orders = orders
            if lines:
                self.progress.add(len(lines))
                return ''.join(lines)
        return ''

    def readline(self, size: int = -1) -> str:  # part of the file protocol psycopg2 checks for
        return self.read(size)


def _load_bulk_postgres(db: Database, plan: _Plan, line: _Line, progress: _Progress) -> int:
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        # Demo bulk load only: one long transaction, beyond the app's statement timeout.
        cur.execute('SET LOCAL statement_timeout = 0')
        cur.execute("SET LOCAL work_mem = '128MB'")
        cur.execute('SELECT COALESCE(MAX(id), 0) FROM production_order')
        first_id = cur.fetchone()[0]
        source = _CopySource(_bulk_batches(plan, line, postgres=True), progress)
        cur.copy_expert(f'COPY production_order ({COPY_COLUMNS}) FROM STDIN', source, size=1 << 20)
        progress.out(f'  COPY finished, {_elapsed(progress.started)}')
        cur.execute(
            _upsert_sql(_LAST_USER_PG).replace(':first_id', '%(first_id)s'),
            {'first_id': first_id},
        )
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    return source.orders


def _vacuum_analyze(db: Database) -> None:
    """Fresh statistics (and a visibility map, as autovacuum would make soon) so plans fit the new data."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level='AUTOCOMMIT')
        conn.exec_driver_sql('SET statement_timeout = 0')
        conn.exec_driver_sql('VACUUM (ANALYZE) production_order')
        conn.exec_driver_sql('VACUUM (ANALYZE) order_balance')
        conn.exec_driver_sql('VACUUM (ANALYZE) order_activity')
        conn.exec_driver_sql('RESET statement_timeout')


def _load_bulk_sqlite(db: Database, plan: _Plan, line: _Line, progress: _Progress) -> int:
    insert = f'INSERT INTO production_order ({COPY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)'  # noqa: S608

    def unit(session: Session) -> int:
        progress.done = progress.said = 0
        orders = 0
        conn = session.connection()
        first_id = conn.exec_driver_sql('SELECT COALESCE(MAX(id), 0) FROM production_order').scalar_one()
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for rows, orders in _bulk_batches(plan, line, postgres=False):  # noqa: B007 - the last count is kept
                cur.executemany(insert, rows)
                progress.add(len(rows))
        finally:
            cur.close()
        progress.out(f'  inserted, {_elapsed(progress.started)}')
        conn.execute(text(_upsert_sql(_LAST_USER_SQLITE)), {'first_id': first_id})
        return orders

    return db.write(unit)


# --- the end -------------------------------------------------------------------------------------------


def _summary(db: Database, plan: _Plan, orders: int, seconds: float, out: Callable[[str], None]) -> None:
    report = check_consistency(db)
    with db.read() as session:
        open_pairs, wip = session.exec(
            select(func.count(), func.coalesce(func.sum(OrderBalance.qty_in - OrderBalance.qty_out), 0)).where(
                col(OrderBalance.qty_in) > col(OrderBalance.qty_out)
            )
        ).one()
    last = plan.order_number(orders - 1) if orders else plan.order_number(0)
    out(
        f'Added {plan.movements:,} movements of {orders:,} orders ({plan.order_number(0)} … {last}) in {seconds:.1f} s.'
    )
    out(
        f'The ledger holds {report.movements:,} movements and {report.balance_rows:,} balance rows; '
        f'{int(wip):,} pieces are in progress in {int(open_pairs):,} (work center, order) pairs.'
    )
    if not report.consistent:
        for m in report.mismatches:
            out('  ' + m.describe())
        raise PotrackError(
            f'The demo data is inconsistent: {len(report.mismatches)} balance(s) or order time(s) '
            f'differ from the ledger.'
        )
    out('Consistency check: every balance equals the sums of its movements; none is negative.')


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _elapsed(started: float) -> str:
    return f'{time.monotonic() - started:.1f} s'
