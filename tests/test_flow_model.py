"""Random sequences of IN, OUT sent on, scrap, rework and undo through the ledger, against a plain-Python model
of the flow: every answer (saved or refused) and every balance and transit figure as the model says, and
`potrack check` green at the end. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import FlowReason, OrderBalance, OrderHeader, OrderTransit
from potrack.errors import BeyondTransit, InsufficientBalance
from potrack.ledger.integrity import check_consistency
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.writer import record_movement

STEPS = ('WC001', 'WC002', 'WC003')
PLANNED = 12
RUNS = itertools.count()


@dataclass
class Model:
    """The flow as a person would do the sums: per step received, sent out, scrapped, reworked; per step the
    pieces sent to it and received from that transit."""

    held_in: list[int] = field(default_factory=lambda: [0] * len(STEPS))
    out: list[int] = field(default_factory=lambda: [0] * len(STEPS))
    scrap: list[int] = field(default_factory=lambda: [0] * len(STEPS))
    rework: list[int] = field(default_factory=lambda: [0] * len(STEPS))
    sent_to: list[int] = field(default_factory=lambda: [0] * len(STEPS))
    taken: list[int] = field(default_factory=lambda: [0] * len(STEPS))

    def receive(self, step: int, qty: int) -> int | None:
        """Pieces taken from transit, or None: refused."""
        take = min(qty, self.sent_to[step] - self.taken[step])
        extra = qty - take
        room = PLANNED - (self.held_in[step] - self.taken[step]) if step == 0 else 0
        if extra > room:
            return None
        self.held_in[step] += qty
        self.taken[step] += take
        return take

    def send(self, step: int, qty: int, kind: str, target: int | None) -> bool:
        if qty > self.held_in[step] - self.out[step]:
            return False
        self.out[step] += qty
        if kind == 'scrap':
            self.scrap[step] += qty
        elif kind == 'rework':
            self.rework[step] += qty
            assert target is not None
            self.sent_to[target] += qty
        elif step + 1 < len(STEPS):
            self.sent_to[step + 1] += qty
        return True


@dataclass(frozen=True)
class Done:
    movement_id: int
    step: int
    kind: str  # 'IN', 'sent', 'scrap', 'rework'
    qty: int
    to: int | None  # the step its pieces went to in transit (OUT), or None
    take: int  # an IN's pieces from transit


class FlowMachine(RuleBasedStateMachine):
    db: Database
    admin: Actor
    ids: dict[str, int]
    reasons: dict[str, int]

    @initialize()
    def new_order(self) -> None:
        self.order = f'PO-MODEL-{next(RUNS)}'
        self.db.write(
            lambda s: s.add(
                OrderHeader(order_number=self.order, planned_quantity=PLANNED, route='>'.join(STEPS), source='typed')
            )
        )
        self.model = Model()
        self.done: list[Done] = []
        self.undone: set[int] = set()

    def _record(self, step: int, qty: int, kind: str, **kw: object) -> object:
        return record_movement(
            self.admin,
            work_center_id=self.ids[STEPS[step]],
            order_number=self.order,
            quantity=qty,
            movement_type=kind,
            db=self.db,
            **kw,
        )

    @rule(step=st.integers(0, 2), qty=st.integers(1, 6))
    def receive(self, step: int, qty: int) -> None:
        expected = Model(**{k: list(v) for k, v in vars(self.model).items()}).receive(step, qty)
        try:
            result = self._record(step, qty, 'IN')
        except BeyondTransit:
            assert expected is None, f'refused an IN of {qty} at {STEPS[step]} the model takes'
            return
        assert expected is not None, f'took an IN of {qty} at {STEPS[step]} the model refuses'
        assert result.transit_qty == self.model.receive(step, qty)  # type: ignore[attr-defined]
        self.done.append(Done(result.movement_id, step, 'IN', qty, None, result.transit_qty))  # type: ignore[attr-defined]

    @rule(step=st.integers(0, 2), qty=st.integers(1, 6), kind=st.sampled_from(['sent', 'sent', 'scrap', 'rework']))
    def send(self, step: int, qty: int, kind: str) -> None:
        if kind == 'rework' and step == 0:
            kind = 'scrap'  # nothing comes before the first step
        target = step - 1 if kind == 'rework' else None
        kw: dict[str, object] = {'disposition': kind}
        if kind != 'sent':
            kw['reason_id'] = self.reasons['DIM']
        if target is not None:
            kw['rework_to'] = self.ids[STEPS[target]]
        possible = qty <= self.model.held_in[step] - self.model.out[step]
        try:
            result = self._record(step, qty, 'OUT', **kw)
        except InsufficientBalance:
            assert not possible
            return
        assert possible and self.model.send(step, qty, kind, target)
        to = target if kind == 'rework' else (step + 1 if kind == 'sent' and step + 1 < len(STEPS) else None)
        self.done.append(Done(result.movement_id, step, kind, qty, to, 0))  # type: ignore[attr-defined]

    @rule(data=st.data())
    def undo(self, data: st.DataObject) -> None:
        open_ones = [d for d in self.done if d.movement_id not in self.undone]
        if not open_ones:
            return
        d = data.draw(st.sampled_from(open_ones))
        m = self.model
        if d.kind == 'IN':
            possible = d.qty <= m.held_in[d.step] - m.out[d.step]
        else:
            possible = d.to is None or m.sent_to[d.to] - d.qty >= m.taken[d.to]
        try:
            reverse_movement(self.admin, movement_id=d.movement_id, reason='model undo', db=self.db)
        except InsufficientBalance:
            assert not possible, f'refused an undo of {d} the model allows'
            return
        assert possible, f'undid {d} the model refuses'
        self.undone.add(d.movement_id)
        if d.kind == 'IN':
            m.held_in[d.step] -= d.qty
            m.taken[d.step] -= d.take
            return
        m.out[d.step] -= d.qty
        if d.kind == 'scrap':
            m.scrap[d.step] -= d.qty
        if d.kind == 'rework':
            m.rework[d.step] -= d.qty
        if d.to is not None:
            m.sent_to[d.to] -= d.qty

    @invariant()
    def figures_match_the_model(self) -> None:
        if not hasattr(self, 'model'):
            return
        with self.db.read() as s:
            for i, code in enumerate(STEPS):
                b = s.get(OrderBalance, (self.ids[code], self.order))
                got = (0, 0, 0, 0) if b is None else (b.qty_in, b.qty_out, b.qty_scrap, b.qty_rework)
                m = self.model
                assert got == (m.held_in[i], m.out[i], m.scrap[i], m.rework[i]), code
                t = s.get(OrderTransit, (self.order, self.ids[code]))
                assert ((0, 0) if t is None else (t.qty_sent, t.qty_received)) == (m.sent_to[i], m.taken[i]), code

    def teardown(self) -> None:
        report = check_consistency(self.db)
        assert report.consistent, [x.describe() for x in report.mismatches]


@pytest.mark.parametrize('examples', [25])
def test_random_flows_match_the_model(db: Database, admin: Actor, wc, examples: int) -> None:
    with db.read() as s:
        reasons = {r.code: r.id or 0 for r in s.exec(select(FlowReason)).all()}
    FlowMachine.db, FlowMachine.admin, FlowMachine.reasons = db, admin, reasons
    FlowMachine.ids = {code: wc(code) for code in STEPS}
    run_state_machine_as_test(
        FlowMachine,
        settings=settings(
            max_examples=examples if not db.is_postgres else examples // 2,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
