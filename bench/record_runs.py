"""Running bench/record.py's phases: each worker's plan of orders, and phases that alternate in rounds.

Phases compared with each other take turns, so that a change in the machine's load (other engineers'
tests on a shared machine) affects every side alike: on one connection operation by operation, from
threads in ROUNDS alternating blocks. Each stops at its share of the phase's time limit, so a run is
bounded however slow the machine is; each round's time per operation is kept, so a ratio can be shown
with its spread over the rounds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common import Timings, backend_cpu_s

ORDERS_PER_WORKER = 50
ROUNDS = 8
WARM_OPS = 20  # untimed, per connection: the first calls prepare statements and fill caches (whole cycles)

# (order number, IN/OUT, quantity, step): `step` indexes the work centers the bench records at (its route).
Op = Callable[[str, str, int, int], None]
Maker = Callable[[], Op]  # one op (its own connection, for the raw ones) per thread


@dataclass(frozen=True)
class Plan:
    """A worker's operations: `moves` (IN/OUT, quantity, step) one after the other on one order, then the
    same on the next of its ORDERS_PER_WORKER orders, and round again.

    Each worker's moves of an order follow its own earlier ones (an OUT its IN, a receipt the sending), so
    none can be refused, however the workers interleave.
    """

    name: str
    moves: tuple[tuple[str, int, int], ...]

    @property
    def cycle(self) -> int:
        return len(self.moves)

    def move(self, i: int, prefix: str) -> tuple[str, str, int, int]:
        """The i-th operation of the worker whose orders start with `prefix`."""
        kind, qty, step = self.moves[i % self.cycle]
        return f'{prefix}-{(i // self.cycle) % ORDERS_PER_WORKER:03d}', kind, qty, step


# Issue 14's plan: IN 2 then OUT 1 of an order at one work center.
IN_OUT = Plan('IN 2, OUT 1 at WC001', (('IN', 2, 0), ('OUT', 1, 0)))
# Issue 15's: along the route's first two steps, every move checked by the flow: the first step's IN is
# bounded by the planned quantity, each OUT is sent on into transit, the second step's IN is taken out of it.
FLOW = Plan(
    'IN 2 at WC001, OUT 1 sent on to WC002, IN 1 at WC002 out of transit, OUT 1 sent on to WC003',
    (('IN', 2, 0), ('OUT', 1, 0), ('IN', 1, 1), ('OUT', 1, 1)),
)


def op_plan(i: int, prefix: str) -> tuple[str, str, int]:
    """IN_OUT's i-th operation, without its step (bench/api.py records at WC001 only)."""
    order, kind, qty, _ = IN_OUT.move(i, prefix)
    return order, kind, qty


def prefixes(key: str, threads: int) -> list[str]:
    """Every order-number prefix the phases of `key` use (a Plan adds the order's -NNN)."""
    return [f'{key}-WARM', f'{key}-SEQ'] + [f'{key}-{kind}{n}' for kind in ('TW', 'T') for n in range(threads)]


def order_numbers(key: str, threads: int, plan: Plan = IN_OUT) -> list[str]:
    return [plan.move(plan.cycle * k, prefix)[0] for prefix in prefixes(key, threads) for k in range(ORDERS_PER_WORKER)]


def run_ops(
    op: Op, prefix: str, start: int, count: int, latencies: list[float], deadline: float, plan: Plan = IN_OUT
) -> None:
    for i in range(start, start + count):
        if time.perf_counter() > deadline:
            return
        move = plan.move(i, prefix)
        t0 = time.perf_counter()
        op(*move)
        latencies.append(time.perf_counter() - t0)


@dataclass
class Series(Timings):
    """Timings gathered over the rounds, with each round's seconds per operation, and the CPU the server
    processes of the side's connections used (PostgreSQL; 0 when not measured)."""

    per_round: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0

    @property
    def ms_per_op(self) -> float:
        return self.wall_s / self.ops * 1000 if self.ops else float('inf')

    @property
    def server_ms_per_op(self) -> float:
        return self.server_cpu_s / self.ops * 1000 if self.ops else 0.0

    def add(self, latencies: list[float], wall_s: float, cpu_s: float, server_s: float = 0.0) -> None:
        self.latencies.extend(latencies)
        self.wall_s += wall_s
        self.cpu_s += cpu_s
        self.server_cpu_s += server_s
        if latencies:
            self.per_round.append(wall_s / len(latencies))


def round_ratios(top: Series, bottom: Series) -> list[float]:
    """top ÷ bottom time per operation, round by round."""
    return [t / b for t, b in zip(top.per_round, bottom.per_round, strict=False) if b]


def sequential(
    phases: dict[str, tuple[str, Op]],
    ops: int,
    max_seconds: float,
    plan: Plan = IN_OUT,
    backends: dict[str, list[int]] | None = None,
) -> dict[str, Series]:
    """Each phase (key → (label, op)) on its one connection, their operations taking turns one by one; warm-up
    untimed. Split in ROUNDS for the spread; stops after `max_seconds` per phase. `backends`: each phase's
    server process, whose CPU is read at the rounds' ends."""
    for key, (_, op) in phases.items():
        run_ops(op, f'{key}-WARM', 0, WARM_OPS, [], float('inf'), plan)
    result = {key: Series(label, []) for key, (label, _) in phases.items()}
    per_round = max(plan.cycle, ops // ROUNDS // plan.cycle * plan.cycle)  # whole cycles: a round starts one
    deadline = time.perf_counter() + max_seconds * len(phases)
    pids = backends or {}
    for r in range(ROUNDS):
        spent: dict[str, tuple[list[float], float]] = {key: ([], 0.0) for key in phases}  # latencies, CPU s
        server = {key: backend_cpu_s(pids.get(key, ())) for key in phases}
        for i in range(r * per_round, (r + 1) * per_round):
            if time.perf_counter() > deadline and i % plan.cycle == 0:  # never inside an order's cycle
                break
            turn = list(phases.items())
            # Neither side always goes first, for every kind of move: the order flips each move and each cycle.
            first = (i + i // plan.cycle) % 2 == 0
            for key, (_, op) in turn if first else reversed(turn):
                latencies, cpu_s = spent[key]
                cpu = time.process_time()
                run_ops(op, f'{key}-SEQ', i, 1, latencies, float('inf'), plan)
                spent[key] = (latencies, cpu_s + time.process_time() - cpu)
        for key, (latencies, cpu_s) in spent.items():
            result[key].add(latencies, sum(latencies), cpu_s, backend_cpu_s(pids.get(key, ())) - server[key])
    return result


def threaded(
    phases: dict[str, tuple[str, Maker]],
    threads: int,
    ops: int,
    max_seconds: float,
    plan: Plan = IN_OUT,
    backends: Callable[[], list[int]] | None = None,
) -> dict[str, Series]:
    """Each phase from `threads` workers (each its own op and orders) started together, alternating in ROUNDS
    blocks. A worker stopped by the time limit inside an order's cycle goes on from there in the next round.
    `backends`: the server processes of every connection of the phases, whose CPU over a block is its phase's
    (the other phases' connections are idle meanwhile)."""
    made = {key: [make() for _ in range(threads)] for key, (_, make) in phases.items()}
    for key, ops_made in made.items():
        for n, op in enumerate(ops_made):
            run_ops(op, f'{key}-TW{n}', 0, 4, [], float('inf'), plan)
    result = {key: Series(label, []) for key, (label, _) in phases.items()}
    done = {key: [0] * threads for key in made}  # each worker's next operation
    per_thread = max(2, ops // threads // ROUNDS)
    for r in range(ROUNDS):
        turn = list(made.items())
        for key, ops_made in turn if r % 2 == 0 else reversed(turn):  # neither side always goes first
            pids = backends() if backends else []
            block = (done[key], per_thread, max_seconds / ROUNDS)
            server = backend_cpu_s(pids)
            _threaded_block(ops_made, key, block, plan, result[key])
            result[key].server_cpu_s += backend_cpu_s(pids) - server
    return result


def _threaded_block(
    ops_made: list[Op], key: str, block: tuple[list[int], int, float], plan: Plan, into: Series
) -> None:
    """One round: worker n runs the plan's operations done[n] … done[n] + count - 1, or until the time is up
    (`block`: done, count, seconds)."""
    done, count, max_seconds = block
    lists: list[list[float]] = [[] for _ in ops_made]
    barrier = threading.Barrier(len(ops_made) + 1)
    errors: list[BaseException] = []
    deadline = float('inf')  # set below, before the workers pass the barrier

    def worker(n: int) -> None:
        barrier.wait()
        try:
            run_ops(ops_made[n], f'{key}-T{n}', done[n], count, lists[n], deadline, plan)
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(len(ops_made))]
    for w in workers:
        w.start()
    deadline = time.perf_counter() + max_seconds
    started, cpu = time.perf_counter(), time.process_time()
    barrier.wait()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    for n, latencies in enumerate(lists):
        done[n] += len(latencies)
    into.add([x for lst in lists for x in lst], time.perf_counter() - started, time.process_time() - cpu)
