"""The orders flow plan: the line, the plan, and the movements it yields in time order.

Nothing here writes. `make_line` reads the work centers, who may record at each and the reasons scrap and
rework may give, `make_plan` fixes the release rate, the time span, the first order number and how often
batches are scrapped or reworked (`flow`); replaying a plan (`timeline`, `planned_movements`) yields the
same movements every time, which the writers (real_path, fast_path) then record.
"""

from __future__ import annotations

import random
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import NamedTuple

from sqlalchemy import text
from sqlmodel import col, select

from potrack.db.engine import Database
from potrack.db.models import IN, OUT, REWORK, User, WorkCenter
from potrack.errors import InvalidInput
from potrack.ops.demo.flow import MINUTE, FlowMix, FlowReasons, Step, dispose, flow_reasons
from potrack.ops.demo.operators import OTHER_DEPARTMENT_WEIGHT, SHOP_FLOOR_DEPARTMENTS, DemoOperator
from potrack.timeutil import local_today

DAY = 86_400.0
TARGET_SPAN_S = 28 * DAY  # orders are released over about this long ...
MAX_SPAN_S = 29.5 * DAY  # ... and the first movement is never older than this
ORDER_QTY = (20, 500)
NO_FLOW = FlowMix()
NO_REASONS = FlowReasons()
MAX_GAP_S = 12 * 3600.0  # orders are released at least this often


class Movement(NamedTuple):
    """One planned movement, ready to write; `at` is POSIX seconds (UTC)."""

    at: float
    order_number: str
    work_center_id: int
    movement_type: str
    quantity: int
    user_id: int
    order_seq: int  # 0 for this run's first order, 1 for the next …
    disposition: str | None = None  # an OUT's: sent, scrap or rework
    reason_id: int | None = None  # scrap and rework
    rework_to: int | None = None  # the work center a rework sends its pieces back to
    line_index: int = 0  # the work center's place on the line


@dataclass(frozen=True)
class Line:
    """The work centers orders flow through, in order, and who may record at each."""

    work_center_ids: tuple[int, ...]
    codes: tuple[str, ...]
    candidates: tuple[tuple[tuple[int, ...], tuple[float, ...]], ...]  # per work center: user ids, cumulative weights
    reasons: FlowReasons = NO_REASONS  # what scrap and rework may give as their reason


@dataclass(frozen=True)
class Plan:
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
    mix: FlowMix = NO_FLOW  # how often batches are scrapped or reworked

    def order_number(self, seq: int) -> str:
        return f'{self.prefix}{self.first_number + seq:06d}'


def make_line(db: Database, operators: list[DemoOperator]) -> Line:
    """The active work centers by code, and for each the users that may record there."""
    with db.read() as session:
        wcs = session.exec(select(WorkCenter.id, WorkCenter.code).where(WorkCenter.is_active).order_by(WorkCenter.code))
        wc_rows = [(wc_id, code) for wc_id, code in wcs.all() if wc_id is not None]
        admin_id = session.exec(
            select(User.id).where(User.is_admin, User.is_active).order_by(col(User.id)).limit(1)
        ).first()
        reasons = flow_reasons(session)
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
    return Line(tuple(i for i, _ in wc_rows), tuple(c for _, c in wc_rows), tuple(candidates), reasons)


def _split(rnd: Callable[[], float], total: int, parts: int) -> list[int]:
    """`total` pieces in `parts` (1–3) positive batches."""
    if parts < 2 or total < parts:
        return [total]
    cuts = {1 + int(rnd() * (total - 1)) for _ in range(parts - 1)}
    bounds = [0, *sorted(cuts), total]
    return [b - a for a, b in pairwise(bounds)]


def _order_steps(rnd: Callable[[], float], n_wc: int, mix: FlowMix = NO_FLOW) -> tuple[int, list[Step]]:
    """One order's pieces and whole journey, in time order: (seconds after release, work center index, IN/OUT,
    quantity, disposition ('' for an IN), reason pick).

    At each work center the order comes IN in the batches the previous one sent OUT (the first one
    receives the released material in 1–3 batches), waits in the queue there, and goes OUT in 1–3
    batches, each only once enough pieces have arrived and after some work; the next work center
    receives each batch a little later. So no work center ever receives more than was sent to it, nor
    the first more than the order's pieces. `flow.dispose` decides what becomes of each batch (now and then
    a little scrap, or rework one step back). `rnd` is a `random.Random().random` (fast; plain arithmetic
    instead of randint / uniform, which are several times slower at a million movements).
    """
    lo, hi = ORDER_QTY
    qty = lo + int(rnd() * (hi - lo + 1))
    arrivals: list[tuple[float, int]] = []
    t = 0.0
    for q in _split(rnd, qty, 1 + int(rnd() * 3)):
        arrivals.append((t, q))
        t += (5 + 85 * rnd()) * MINUTE
    steps: list[Step] = []
    for wc in range(n_wc):
        steps.extend((at, wc, IN, q, '', 0) for at, q in arrivals)
        sent: list[tuple[float, int]] = []
        received = needed = i = 0
        ready, last_out = 0.0, arrivals[0][0] + (30 + 690 * rnd()) * MINUTE  # waits in the queue first
        for q in _split(rnd, sum(got for _, got in arrivals), 1 + int(rnd() * 3)):
            needed += q
            while received < needed:
                ready, got = arrivals[i]
                received += got
                i += 1
            last_out = max(last_out, ready) + (20 + 160 * rnd()) * MINUTE  # the work on this batch
            dispose(rnd, mix, wc, q, last_out, steps, sent)
        arrivals = sorted(sent)
    steps.sort()
    return qty, steps


def timeline(
    seed: int,
    movements: int,
    gap_s: float,
    n_wc: int,
    released: list[tuple[int, int, float]] | None = None,
    mix: FlowMix = NO_FLOW,
) -> Iterator[list[tuple[float, int, int, str, int, str, int]]]:
    """Exactly `movements` movements of orders released about every `gap_s`, in time order, in batches.

    Yields lists of (timeline seconds, order index, work center index, IN/OUT, quantity, disposition, reason
    pick). Orders are released in time order and each movement of an order comes after its release, so
    once every order released before a boundary is generated, the pending movements before that boundary
    are final: sort, hand them on, keep the rest. Memory stays bounded by the orders under way, however
    many movements are asked for. Stopping at the count leaves the latest orders part-way down the line.
    `released`: (order index, pieces, timeline seconds) appended for each order as it is released, before any batch that
    holds its movements is yielded (the order book needs the orders first).
    """
    rnd = random.Random(seed).random
    window = max(6 * 3600.0, 200 * gap_s)
    pending: list[tuple[float, int, int, int, str, int, str, int]] = []  # (t, order, step, wc, kind, qty, …)
    order, release, boundary, left = 0, 0.0, 0.0, movements
    while left > 0:
        boundary += window
        while release < boundary:
            qty, steps = _order_steps(rnd, n_wc, mix)
            pending += [
                (release + at, order, step, wc, kind, q, disposition, pick)
                for step, (at, wc, kind, q, disposition, pick) in enumerate(steps)
            ]
            if released is not None:
                released.append((order, qty, release))
            order += 1
            release += gap_s * (0.3 + 1.4 * rnd())
        pending.sort()
        cut = min(bisect_left(pending, (boundary,)), left)
        if cut:
            yield [(t, o, wc, kind, q, d, p) for t, o, _step, wc, kind, q, d, p in pending[:cut]]
            del pending[:cut]
            left -= cut


def _next_order_number(db: Database, prefix: str) -> int:
    """One more than the highest number already used as PREFIX + digits (demo or not), in the ledger or in
    the order book: an earlier run books orders it released but stopped before they moved, and the ledger
    bounds a new run's receipts by their planned pieces."""
    start = len(prefix) + 1
    params: dict[str, object]
    if db.is_postgres:
        cond = 'order_number LIKE :like AND order_number ~ :regex'
        params = {'like': prefix + '%', 'regex': f'^{prefix}[0-9]{{1,15}}$'}
    else:
        cond = 'order_number GLOB :glob AND order_number NOT GLOB :bad AND length(order_number) <= :maxlen'
        params = {'glob': prefix + '[0-9]*', 'bad': prefix + '*[^0-9]*', 'maxlen': len(prefix) + 15}
    highest = 0
    with db.read() as session:
        for table in ('order_balance', 'order_header'):
            sql = f'SELECT MAX(CAST(substr(order_number, {start}) AS BIGINT)) FROM {table} WHERE {cond}'  # noqa: S608
            highest = max(highest, int(session.connection().execute(text(sql), params).scalar() or 0))
    return highest + 1


def make_plan(db: Database, movements: int, seed: int, line: Line) -> Plan:
    """Fix the release rate so the orders cover about TARGET_SPAN_S, and place the last movement minutes ago."""
    n_wc = len(line.work_center_ids)
    mix = FlowMix.of(line.reasons)
    sample = random.Random(seed ^ 0x5EED).random
    per_order = sum(len(_order_steps(sample, n_wc, mix)[1]) for _ in range(400)) / 400
    orders = max(1.0, movements / per_order)
    lifetime = 2 * DAY  # about how long an order takes down the whole line
    # A few orders are always under way, so there is work in progress when the plan stops: with few
    # movements asked for, the orders cover less than TARGET_SPAN_S rather than trickle in days apart.
    gap_s = min(MAX_GAP_S, max(1.0, (TARGET_SPAN_S - lifetime) / orders))
    # A first pass over the same seed finds where the timeline ends, so it can be anchored to now.
    t_end = 0.0
    for batch in timeline(seed, movements, gap_s, n_wc, mix=mix):
        t_end = batch[-1][0]
    scale = min(1.0, MAX_SPAN_S / t_end) if t_end > 0 else 1.0
    prefix = f'PO-{local_today().year}-'
    end_at = time.time() - (1 + 9 * random.Random(seed).random()) * MINUTE
    number = _next_order_number(db, prefix)
    return Plan(seed, movements, gap_s, t_end, end_at, scale, prefix, number, uuid.uuid4().hex[:12], mix)


def span_days(plan: Plan) -> float:
    return plan.t_end * plan.scale / DAY


def planned_movements(
    plan: Plan, line: Line, released: list[tuple[int, int, float]] | None = None
) -> Iterator[list[Movement]]:
    """The planned movements in time order, in batches: real times, order numbers, the user recording each,
    and each OUT's disposition with its reason (and for rework the work center the pieces go back to).
    `released` as for `timeline`."""
    pick = random.Random(plan.seed + 1).random
    wc_ids = line.work_center_ids
    offset, scale = plan.end_at - plan.t_end * plan.scale, plan.scale
    numbers: dict[int, str] = {}
    for batch in timeline(plan.seed, plan.movements, plan.gap_s, len(wc_ids), released, plan.mix):
        made = []
        for t, order, wc, kind, qty, disposition, reason in batch:
            ids, cum = line.candidates[wc]
            user_id = ids[0] if len(ids) == 1 else ids[bisect_right(cum, pick() * cum[-1])]
            number = numbers.get(order)
            if number is None:
                number = numbers[order] = plan.order_number(order)
                numbers.pop(order - 5000, None)  # orders that long ago are finished: keep the dict small
            flow: tuple[str | None, int | None, int | None] = (None, None, None)
            if kind == OUT:
                back = wc_ids[wc - 1] if disposition == REWORK else None
                flow = (disposition, line.reasons.reason_id(disposition, reason), back)
            made.append(Movement(offset + t * scale, number, wc_ids[wc], kind, qty, user_id, order, *flow, wc))
        yield made
