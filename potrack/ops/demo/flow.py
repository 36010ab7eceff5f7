"""The flow in the demo's plan: now and then a few pieces scrapped, now and then a few sent back one step for
rework (and brought forward again), and the pieces in transit as the ledger keeps them.

`dispose` plans what becomes of one OUT batch, inside `orders._order_steps`; `TransitTracker` replays the
ledger's transit bookkeeping (ledger/flow.py) over the planned movements in time order, so the bulk path
can write each movement's flow columns and both paths can put the transit rows' times on the planned
clock. `FlowReasons` are the admin-kept reasons the demo picks from: with none of a kind, the demo makes
none of that kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from potrack.db.models import IN, OUT, REWORK, SCRAP, SENT, FlowReason

MINUTE = 60.0
SCRAP_SHARE = 0.015  # of OUT batches, this share has a few pieces scrapped ...
SCRAP_PART = 20  # ... at most a twentieth of the batch (at least one piece)
REWORK_SHARE = 0.01  # of OUT batches after the first step, this share sends a few pieces back one step ...
REWORK_PART = 10  # ... at most a tenth of the batch (at least one piece)
PICKS = 1 << 20  # a batch's reason is picks % len(reasons): the plan never depends on the reasons' count

# A planned movement of one order: (seconds after release, work center index, IN/OUT, quantity,
# disposition ('' for an IN), reason pick).
Step = tuple[float, int, str, int, str, int]


@dataclass(frozen=True)
class FlowReasons:
    """The active reasons the demo may give, by code: for scrap, and for rework."""

    scrap: tuple[int, ...] = ()
    rework: tuple[int, ...] = ()

    def reason_id(self, disposition: str, pick: int) -> int | None:
        ids = self.scrap if disposition == SCRAP else self.rework if disposition == REWORK else ()
        return ids[pick % len(ids)] if ids else None


def flow_reasons(session: Session) -> FlowReasons:
    def of(kind: str) -> tuple[int, ...]:
        query = (
            select(FlowReason.id)
            .where(col(FlowReason.is_active), or_(col(FlowReason.kind) == kind, col(FlowReason.kind) == 'both'))
            .order_by(FlowReason.code)
        )
        return tuple(i for i in session.exec(query).all() if i is not None)

    return FlowReasons(of(SCRAP), of(REWORK))


@dataclass(frozen=True)
class FlowMix:
    """How often the plan scraps and reworks: part of the plan, so replaying it yields the same movements."""

    scrap_share: float = 0.0
    rework_share: float = 0.0

    @classmethod
    def of(cls, reasons: FlowReasons) -> FlowMix:
        return cls(SCRAP_SHARE if reasons.scrap else 0.0, REWORK_SHARE if reasons.rework else 0.0)


def dispose(
    rnd: Callable[[], float],
    mix: FlowMix,
    wc: int,
    qty: int,
    at: float,
    steps: list[Step],
    sent: list[tuple[float, int]],
) -> None:
    """An OUT batch of `qty` pieces at work center `wc` (an index of the line), ready at `at`: the planned
    movements (into `steps`) and the arrivals at the next work center (into `sent`).

    Mostly all `qty` are sent on. Now and then a few are scrapped a few minutes later. Now and then (after the
    first step) a few go back to the step before for rework: received there, reworked and sent on again,
    received here again and sent on after the rest.
    """
    roll = rnd()
    if qty >= 2 and roll < mix.scrap_share:
        bad = min(qty - 1, 1 + int(rnd() * max(1, qty // SCRAP_PART)))
        steps.append((at + (1 + 9 * rnd()) * MINUTE, wc, OUT, bad, SCRAP, int(rnd() * PICKS)))
        qty -= bad
    elif qty >= 2 and wc > 0 and roll < mix.scrap_share + mix.rework_share:
        back = min(qty - 1, 1 + int(rnd() * max(1, qty // REWORK_PART)))
        steps.append((at, wc, OUT, back, REWORK, int(rnd() * PICKS)))
        there = at + (2 + 43 * rnd()) * MINUTE  # carried back
        redone = there + (20 + 160 * rnd()) * MINUTE  # reworked at the step before
        here = redone + (2 + 43 * rnd()) * MINUTE
        onward = here + (10 + 50 * rnd()) * MINUTE  # looked at again here
        steps += [
            (there, wc - 1, IN, back, '', 0),
            (redone, wc - 1, OUT, back, SENT, 0),
            (here, wc, IN, back, '', 0),
            (onward, wc, OUT, back, SENT, 0),
        ]
        sent.append((onward + (2 + 43 * rnd()) * MINUTE, back))
        qty -= back
    steps.append((at, wc, OUT, qty, SENT, 0))
    sent.append((at + (2 + 43 * rnd()) * MINUTE, qty))


class TransitTracker:
    """The ledger's transit rows, replayed over planned movements in time order (per order and receiving
    work center index): what each movement puts into transit or takes out of it, and the rows' times.

    Each row is [pieces in transit, since when (None: nothing), last sent at, last sender's index]. With
    `keep_all` False a row is forgotten once nothing is in transit (the bulk path keeps memory flat).
    """

    def __init__(self, n_wc: int, *, keep_all: bool) -> None:
        self.n_wc = n_wc
        self.keep_all = keep_all
        self.rows: dict[tuple[int, int], list[Any]] = {}

    def send(self, order: int, wc: int, disposition: str, qty: int, at: float) -> int | None:
        """An OUT: the index of the work center its pieces go to in transit, or None (scrap, finished)."""
        if disposition == SCRAP:
            return None
        to = wc + 1 if disposition == SENT else wc - 1
        if not 0 <= to < self.n_wc:
            return None
        row = self.rows.setdefault((order, to), [0, None, at, wc])
        if row[0] <= 0:
            row[1] = at  # the transit rises above nothing
        row[0] += qty
        row[2], row[3] = at, wc
        return to

    def receive(self, order: int, wc: int, qty: int) -> int:
        """An IN: how many of its pieces it takes out of transit (the ledger takes all it can)."""
        key = (order, wc)
        row = self.rows.get(key)
        if row is None or row[0] <= 0:
            return 0
        take = min(qty, row[0])
        row[0] -= take
        if not row[0]:
            row[1] = None
            if not self.keep_all:
                del self.rows[key]
        return take

    def pending(self) -> list[tuple[int, int, float]]:
        """(order, work center index, since) of every row with pieces still in transit."""
        return [(order, wc, row[1]) for (order, wc), row in self.rows.items() if row[0] > 0]

    def times(self) -> list[tuple[int, int, float | None, float]]:
        """(order, work center index, since or None, last sent at) of every row kept."""
        return [(order, wc, row[1], row[2]) for (order, wc), row in self.rows.items()]
